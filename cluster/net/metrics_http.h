/*
 * flockerfs — a plain HTTP listener for Prometheus: GET /metrics answers
 * with the text exposition that gen writes, from a thread and an event base
 * of its own (a slow scrape never holds the program's event loop, and the
 * program's loop never holds a scrape).  Other paths are 404, other methods
 * 405.  flocker-agent and flocker-control use it for --metrics ADDR:PORT.
 */
#ifndef FLOCKER_METRICS_HTTP_H
#define FLOCKER_METRICS_HTTP_H

#include <stddef.h>

#include "flocker/buf.h"

#define FL_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct fl_metrics_http;

/* Appends the exposition text to out; 0 or a negative errno (answered 500).
 * Runs in the listener's thread. */
typedef int (*fl_metrics_gen)(void *arg, struct fl_buf *out);

/* Splits "HOST:PORT", "[V6]:PORT" or ":PORT" (every address); 0 or -EINVAL. */
int fl_metrics_addr_parse(const char *addr, char *host, size_t hostlen, unsigned *port);

/* Binds addr and serves it; on failure one line in err.  0 or a negative errno. */
int fl_metrics_http_start(const char *addr, fl_metrics_gen gen, void *arg,
			  struct fl_metrics_http **out, char *err, size_t errlen);
/* Stops serving (waits for a scrape in progress) and frees h; NULL is fine. */
void fl_metrics_http_stop(struct fl_metrics_http *h);

#endif
