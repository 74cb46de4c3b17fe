/*
 * flockerfs — the Docker volume plugin: Docker's legacy plugin protocol
 * (VolumeDriver) over a unix socket, served by libevent's evhttp.
 *
 *   POST /Plugin.Activate            -> {"Implements": ["VolumeDriver"]}
 *   POST /VolumeDriver.Capabilities  -> {"Capabilities": {"Scope": "global"}}
 *   POST /VolumeDriver.Create   {"Name", "Opts"}  -> {"Err"}
 *   POST /VolumeDriver.Remove   {"Name"}          -> {"Err"}
 *   POST /VolumeDriver.Mount    {"Name", "ID"}    -> {"Mountpoint", "Err"}
 *   POST /VolumeDriver.Unmount  {"Name", "ID"}    -> {"Err"}
 *   POST /VolumeDriver.Path     {"Name"}          -> {"Mountpoint", "Err"}
 *   POST /VolumeDriver.Get      {"Name"}          -> {"Volume": {...}, "Err"}
 *   POST /VolumeDriver.List                       -> {"Volumes": [...], "Err"}
 *
 * Replies carry Content-Type application/vnd.docker.plugins.v1+json.  A
 * failed operation is HTTP 200 with {"Err": "..."} (Docker's convention);
 * a request that is not one (unknown endpoint, method other than POST,
 * malformed JSON, wrong field types, body over FL_DOCKER_MAX_BODY or nested
 * deeper than FL_DOCKER_MAX_DEPTH) is a 4xx with {"Err": "..."}.  Input
 * libevent rejects before the plugin sees a request (not HTTP, headers over
 * 8 KiB, bodies over 1 MiB) gets libevent's own 400/413 page.
 *
 * Time bound: every request is answered within FL_DOCKER_REPLY_BOUND_S
 * seconds, under Docker's shortest plugin timeout (60 s).  Operations run in
 * a pool of worker threads so the event loop keeps serving; one that takes
 * longer gets an Err reply at the bound and goes on in the background (a
 * Mount that succeeds after Docker was told it failed is released again).
 */
#ifndef FLOCKER_DOCKER_H
#define FLOCKER_DOCKER_H

#include <stdbool.h>
#include <stddef.h>

#include "plugin/agent.h"
#include "flocker/record.h"

#define FL_DOCKER_MAX_BODY	(64 * 1024)
#define FL_DOCKER_MAX_DEPTH	8
#define FL_DOCKER_MAX_OPTS	32
#define FL_DOCKER_OPT_KEY_MAX	64
#define FL_DOCKER_OPT_VAL_MAX	1024
#define FL_DOCKER_ID_MAX	128
#define FL_DOCKER_REPLY_BOUND_S 50
#define FL_DOCKER_WORKERS	4
#define FL_DOCKER_QUEUE_MAX	64
#define FL_DOCKER_CONTENT_TYPE	"application/vnd.docker.plugins.v1+json"

struct event_base;
struct fl_docker;

enum fl_docker_op {
	FL_DOCKER_ACTIVATE,
	FL_DOCKER_CAPABILITIES,
	FL_DOCKER_CREATE,
	FL_DOCKER_REMOVE,
	FL_DOCKER_MOUNT,
	FL_DOCKER_UNMOUNT,
	FL_DOCKER_PATH,
	FL_DOCKER_GET,
	FL_DOCKER_LIST,
};

/* A parsed request.  keys/vals are owned: fl_docker_req_free. */
struct fl_docker_req {
	enum fl_docker_op op;
	char name[FL_VOLNAME_MAX + 1]; /* a valid volume name for the ops that take one */
	char id[FL_DOCKER_ID_MAX + 1]; /* Mount, Unmount: non-empty */
	size_t nopts;		       /* Create's Opts */
	char *keys[FL_DOCKER_MAX_OPTS];
	char *vals[FL_DOCKER_MAX_OPTS];
};

/*
 * Parses one request: the URI path and the body.  Pure: no I/O, no global
 * state, so the fuzzer calls it directly.  Returns 0 with *req filled, or
 * the HTTP status to answer with and one line in err: 200 for a request
 * Docker may legitimately send that cannot be done (an invalid volume name,
 * too many options: Docker shows the Err), 400 malformed, 404 unknown
 * endpoint, 413 body too large.  *req needs fl_docker_req_free either way.
 */
int fl_docker_parse(const char *path, const void *body, size_t len, struct fl_docker_req *req,
		    char *err, size_t errlen);
void fl_docker_req_free(struct fl_docker_req *req);
/* "Create", "Mount", ... */
const char *fl_docker_op_name(enum fl_docker_op op);
/* {"Err": msg} as a malloc'ed string; bytes that are not printable ASCII become '?'.
 * NULL only without memory. */
char *fl_docker_err_body(const char *msg);

struct fl_docker_opts {
	const char *socket_path; /* required */
	unsigned workers;	 /* 0: FL_DOCKER_WORKERS */
	unsigned reply_bound_s;	 /* 0: FL_DOCKER_REPLY_BOUND_S */
};

/*
 * Listens on the unix socket (mode 0660; a stale socket file is replaced,
 * a live one refused) and serves Docker's requests from base's loop with
 * agent's operations.  base must have been made with threads enabled
 * (evthread_use_pthreads before event_base_new).  Borrows base and agent
 * until fl_docker_stop.  *out is the caller's.
 */
int fl_docker_start(struct event_base *base, struct fl_agent *agent, const struct fl_docker_opts *o,
		    struct fl_docker **out, char *err, size_t errlen);
/*
 * Stops serving, from the loop's thread with the loop stopped: closes the
 * socket and removes its file, drops queued requests (Docker retries them
 * when its connection closes), waits up to wait_s for operations in
 * progress and frees d.  Returns 0, or -EBUSY when operations still run
 * after wait_s: then d is left allocated and the agent must not be freed
 * (the caller exits).
 */
int fl_docker_stop(struct fl_docker *d, unsigned wait_s);

#endif
