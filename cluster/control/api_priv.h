/*
 * flockerfs — what api.c shares with api_snap.c (private to cluster/control).
 */
#ifndef FLOCKER_API_PRIV_H
#define FLOCKER_API_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/http.h>
#include <jansson.h>

#include "cluster/control/api.h"

/* --- api.c --- */
struct fl_ctl *fl_api_ctl(struct fl_api *a);
/* Sends code with j (stolen) as the body; each request gets exactly one reply. */
void fl_api_reply_json(struct fl_api *a, struct evhttp_request *req, int code, json_t *j);
void fl_api_reply_err(struct fl_api *a, struct evhttp_request *req, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* HTTP status of a negative errno. */
int fl_api_http_status(int err);
/* X-If-Configuration-Matches: false after a 412 was sent; *tag 0 when absent. */
bool fl_api_precondition(struct fl_api *a, struct evhttp_request *req, uint64_t *tag);
/* A parser of one kind of request body (fl_api_parse_dataset and its kin). */
typedef int (*fl_api_parse_fn)(const char *body, size_t len, void *out, char *err, size_t errlen);
/* The precondition, then the body parsed into out: false after an error reply
 * (412, 413, 500 or 400), true with out filled (the caller clears it). */
bool fl_api_request(struct fl_api *a, struct evhttp_request *req, uint64_t *tag,
		    fl_api_parse_fn parse, void *out);
json_t *fl_api_dataset_json(struct fl_api *a, const char *name, const struct fl_volreg_rec *r);
json_t *fl_api_trash_json(const struct fl_trash *t);

/* --- api_snap.c: the routes whose RADOS work runs on a worker --- */
/* POST /v1/configuration/datasets, checked: a volume or a clone (r->from). */
void fl_api_ds_create(struct fl_api *a, struct evhttp_request *req, const struct fl_api_ds_req *r,
		      const char *primary_uuid, uint64_t tag);
/* DELETE /v1/configuration/datasets/<uuid>, precondition checked. */
void fl_api_ds_remove(struct fl_api *a, struct evhttp_request *req, const char *uuid, uint64_t tag);
/* /v1/configuration/snapshots[/...] (p: the path, one trailing slash dropped). */
void fl_api_snap_route(struct fl_api *a, struct evhttp_request *req, enum evhttp_cmd_type m,
		       const char *p);

#endif
