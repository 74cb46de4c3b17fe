/*
 * flockerfs — flocker-agent's metrics: its own (Docker's requests by kind,
 * with mount and unmount durations) and every flockerfs mount's on this
 * host, read from each mount daemon's socket (fs/fuse/mount_metrics.h) at
 * every scrape and merged into one text: each family once, each mount's
 * series labelled volume="NAME" by its daemon.
 */
#ifndef FLOCKER_AGENT_METRICS_H
#define FLOCKER_AGENT_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "flocker/buf.h"

enum fl_am_op {
	FL_AM_CREATE,
	FL_AM_REMOVE,
	FL_AM_MOUNT,
	FL_AM_UNMOUNT,
	FL_AM_GET,
	FL_AM_LIST,
	FL_AM_NOPS
};

/* Makes the registry (mode: "standalone" or "cluster"); 0 or -ENOMEM.  The
 * hooks do nothing before it. */
int fl_am_init(const char *mode);
void fl_am_free(void);
/* One agent call of kind op that started at t0 (fl_metrics_now_ns) and returned ret. */
void fl_am_op(enum fl_am_op op, uint64_t t0, int ret);
/* The whole text: the agent's metrics and every mount's.  For fl_metrics_http_start. */
int fl_am_gen(void *arg, struct fl_buf *out);

#endif
