/*
 * flockerfs — flocker-control's metrics, served by --metrics ADDR:PORT
 * (cluster/net/metrics_http.h) on plain HTTP, apart from the API: the API
 * wants a user certificate for every request, which a Prometheus server
 * would need too; the counts carry no secret.  A standby serves them too
 * (flocker_control_leader 0).  The hooks are atomic adds and do nothing
 * before fl_cm_init.
 */
#ifndef FLOCKER_CTL_METRICS_H
#define FLOCKER_CTL_METRICS_H

#include <stdbool.h>

#include "flocker/buf.h"

struct evhttp_request;
struct fl_state;
struct fl_ctl;

int fl_cm_init(void);
void fl_cm_free(void);
/* This instance leads now (true) or is a standby (false). */
void fl_cm_leader(bool leading);
/* Samples the registry's and the agents' counts (the leader's loop, every renewal). */
void fl_cm_state(struct fl_state *s, struct fl_ctl *c);
/* An acquire's end: granted (0), refused because someone uses the volume
 * (-EBUSY), or failed. */
void fl_cm_lease(int err);
/* A lease taken from another node: how is "idle" (it unmounted when told)
 * or "fenced" (it was gone; its writer was blocklisted). */
void fl_cm_takeover(const char *how);
/* An API request starts, and is answered with code (every reply goes
 * through one function; the start rides in the request's input headers). */
void fl_cm_api_begin(struct evhttp_request *req);
void fl_cm_api_end(struct evhttp_request *req, int code);
/* For fl_metrics_http_start. */
int fl_cm_gen(void *arg, struct fl_buf *out);

#endif
