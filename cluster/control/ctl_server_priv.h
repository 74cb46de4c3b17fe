/*
 * flockerfs — what the pieces of flocker-control's core share (private to
 * cluster/control): agent sessions and acquires in progress.
 *   ctl_server.c  nodes, liveness, agent sessions and their requests, start/stop
 *   ctl_lease.c   lease arbitration (acquire, unmount push, probe and fence),
 *                 the removal check, the tick
 */
#ifndef FLOCKER_CTL_SERVER_PRIV_H
#define FLOCKER_CTL_SERVER_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "cluster/control/ctl_server.h"
#include "flocker/proto.h"

#define SESS_OUT_MAX   (64u << 20) /* queued output before a slow agent is dropped */
#define HANDSHAKE_S    10
#define PUSH_TIMEOUT_S 20
#define PROBE_MS       1000 /* how long a silent node's mount daemon has to answer */
#define WATCH_GAP_MS   1000 /* a probe nobody watched is asked again after this */
#define SESS_QUEUE_MAX 64   /* requests held while one of the session's waits for RADOS */

/* A request that waits for the one before it (struct fl_sess, busy). */
struct sess_req {
	struct fl_msg m;
	struct sess_req *next;
};

struct fl_sess {
	struct fl_ctl *c;
	struct bufferevent *bev;
	uint64_t serial;
	struct fl_peer peer;
	char addr[64];
	bool established, hello;
	struct fl_node_live *node;
	uint64_t next_id;
	/*
	 * Requests of one session take effect in the order they came: while one
	 * waits for a RADOS call on a worker (busy), the next ones wait in q
	 * (heartbeats and replies, which touch no RADOS, are served at once);
	 * resume runs them from the loop once it is done.
	 */
	bool busy;
	struct sess_req *q, **q_tail;
	unsigned nq;
	struct event *resume;
	struct fl_sess *next;
};

enum acq_state {
	ACQ_NEW,
	ACQ_QUEUED,
	ACQ_PUSHED,
	ACQ_WAIT_HOLDER,
	ACQ_CHECKING, /* the worker probes (and maybe fences) a silent holder */
	ACQ_WRITING,  /* the lease's write is out (fl_state_lease_put_async) */
	ACQ_DONE
};

struct acq_check;

struct fl_acq {
	struct fl_ctl *c;
	char uuid[37], name[FL_VOLNAME_MAX + 1];
	char node[37], node_name[64];
	uint32_t kind;
	int64_t expires;
	uint64_t expect_tag;
	fl_acq_done done;
	void *arg;
	enum acq_state st;
	double deadline;
	uint64_t push_sess, push_id; /* the unmount we wait for */
	char pushed_to[37];
	double pushed_at;
	bool unmount_ok;	 /* pushed_to agreed to give the volume up */
	struct acq_check *check; /* while ACQ_CHECKING */
	struct event *kick;
	struct fl_acq *next;
};

/* --- ctl_server.c --- */
/*
 * Is the holder of a lease still there to be asked?  Connected and heard
 * from within the lease, or disconnected for less than a heartbeat interval.
 */
bool fl_ctl_holder_present(struct fl_ctl *c, const struct fl_node_live *n);
/* The node's report of volume uuid, used or not, or NULL. */
const struct fl_mount_rep *fl_ctl_mount_any(struct fl_node_live *n, const char *uuid);
/* src (NULL: "") into dst, cut to cap. */
void fl_ctl_copy_field(char *dst, size_t cap, const char *src);
/* Queues the encoded frame on the session: 0, e's error, -ENOBUFS (too much
 * queued already) or -ENOMEM. */
int fl_sess_send(struct fl_sess *s, struct fl_frame_enc *e);

/* --- ctl_lease.c --- */
/* Runs the acquire's next step from the loop, never from inside a caller. */
void fl_acq_kick(struct fl_acq *a);
/* The holder's answer to the unmount pushed for a. */
void fl_acq_push_answer(struct fl_acq *a, int err, const char *msg);
/* Once a second (c->tick): acquires' timeouts, lease expiry, the trash purge. */
void fl_ctl_tick_cb(evutil_socket_t fd, short what, void *arg);

#endif
