/*
 * flockerfs — flocker-control's operator API: HTTPS + JSON with client
 * certificates (role "user"), a subset of Flocker's v1 API.
 *
 *   GET    /v1/version
 *   GET    /v1/configuration/datasets        every dataset (volume), trashed ones with
 *                                            "deleted": true
 *   POST   /v1/configuration/datasets        {"metadata": {"name": N, ...},
 *                                             "maximum_size": B, "primary": NODE} -> 201
 *                                            with "from": "VOL" or "VOL@SNAP" (no
 *                                            maximum_size): a clone of VOL at snapshot
 *                                            SNAP, or at one taken for it (by VOL's writer
 *                                            when it is mounted read-write)
 *   POST   /v1/configuration/datasets/<id>   {"primary": NODE}: a move (the lease goes to
 *                                            NODE: at once if free, after the holder unmounts
 *                                            if idle, after fencing if dead; 409 if in use);
 *                                            {"deleted": false [, "metadata": {"name": N}]}:
 *                                            restore from the trash
 *   DELETE /v1/configuration/datasets/<id>   to the trash (restorable for the trash TTL)
 *   GET    /v1/state/datasets                what the agents report mounted, and where
 *   GET    /v1/state/nodes                   nodes, alive or not
 *   GET    /v1/configuration/leases
 *   POST   /v1/configuration/leases          {"dataset_id": ID, "node_uuid": NODE,
 *                                             "expires": SECONDS or null} -> 201
 *   DELETE /v1/configuration/leases/<id>
 *   GET    /v1/configuration/snapshots?dataset_id=ID (or ?volume=NAME)
 *                                            the dataset's snapshots, oldest first
 *   POST   /v1/configuration/snapshots       {"dataset_id": ID or "volume": NAME,
 *                                             "name": SNAP} -> 201; taken by the volume's
 *                                            writer when it is mounted read-write (504 if
 *                                            that writer does not answer within 30 s)
 *   DELETE /v1/configuration/snapshots/<id>/<name>   (409 while clones of it exist)
 *
 * Volume creation, clones, removal and snapshots run their RADOS work on
 * control's worker threads (ctl_voljob.h); the reply comes when it is done.
 *
 * NODE is a node uuid or a node name.  Every response carries
 * X-Configuration-Tag; a write with X-If-Configuration-Matches that no longer
 * matches gets 412 and changes nothing.  Errors are {"description": "..."}
 * with 400 (bad request), 404, 405, 409 (conflict: exists, in use), 412, 413
 * (body over FL_API_BODY_MAX), 500, 503 (not the leader any more).
 */
#ifndef FLOCKER_API_H
#define FLOCKER_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "cluster/control/ctl_server.h"

#define FL_API_BODY_MAX	 65536
#define FL_API_DEPTH_MAX 8
#define FL_API_META_KEYS 64
#define FL_API_META_VAL	 1024

struct fl_api;

int fl_api_new(struct event_base *base, struct fl_ctl *ctl, const char *certs, const char *bind,
	       unsigned port, struct fl_api **out, char *err, size_t errlen);
void fl_api_free(struct fl_api *a);

/*
 * Request bodies, parsed with bounds (size, nesting depth, metadata keys and
 * value lengths, types).  0, or -EINVAL with a message for the client in err.
 * Fuzzed by tests/control/fuzz_api.c.
 */
struct fl_api_ds_req {
	bool has_primary, has_size, has_deleted, has_name, has_id;
	char primary[64];
	uint64_t maximum_size;
	bool deleted;
	char name[129];
	char dataset_id[37];
	char *metadata; /* owned JSON object text (without "name"), NULL when absent */
	bool has_from;
	char from[2 * FL_VOLNAME_MAX + 2]; /* a clone's source: "VOL" or "VOL@SNAP" */
};
int fl_api_parse_dataset(const char *body, size_t len, struct fl_api_ds_req *out, char *err,
			 size_t errlen);
void fl_api_ds_req_clear(struct fl_api_ds_req *r);

struct fl_api_lease_req {
	char dataset_id[37];
	char node[64];
	bool expires_null;
	double expires; /* seconds from now, when not null */
};
int fl_api_parse_lease(const char *body, size_t len, struct fl_api_lease_req *out, char *err,
		       size_t errlen);

/* A snapshot request: {"dataset_id": ID} or {"volume": NAME}, and "name". */
struct fl_api_snap_req {
	bool has_id, has_volume, has_name;
	char dataset_id[37];
	char volume[FL_VOLNAME_MAX + 1];
	char name[FL_VOLNAME_MAX + 1];
};
int fl_api_parse_snapshot(const char *body, size_t len, struct fl_api_snap_req *out, char *err,
			  size_t errlen);

/* Nesting depth of JSON text, strings skipped; -E2BIG past max (bounded pre-scan). */
int fl_json_depth(const char *p, size_t len, int max);

#endif
