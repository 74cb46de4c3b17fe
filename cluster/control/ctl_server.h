/*
 * flockerfs — flocker-control's core: agent sessions on the agent port,
 * node liveness, and lease arbitration (acquire, moves, fencing).  The
 * operator API (api.c) and the program (control_main.c) sit on top.
 *
 * Agent protocol (frames of include/flocker/proto.h; every request gets a
 * "reply" with the same id and a body {"err": 0 or -errno, "msg": text, ...}):
 *
 *   agent -> control
 *     hello      {node, host, rados_addr, mounts}  -> {node_uuid, lease_s, heartbeat_s, tag}
 *     heartbeat  {mounts}                           -> {now}
 *     acquire    {volume}                           -> {volume: V}  (may take until the
 *                holder answers an unmount, or is fenced)
 *     release    {volume}                           -> {}
 *     create     {volume, size [, from]}            -> {volume: V}  (from: "VOL" or
 *                "VOL@SNAP", a clone; may wait for VOL's writer to take the snapshot)
 *     remove     {volume}                           -> {}
 *     get        {volume}                           -> {volume: V}
 *     list       {}                                 -> {volumes: [V...]}
 *   control -> agent (push)
 *     unmount    {volume, uuid}                     -> {} or err -EBUSY with a message
 *
 *   mounts: [{uuid, name, users, path, addr, dead}]  (users: containers using it; addr:
 *           the RADOS address of the mount.flockerfs process; dead: why the agent found
 *           the mount dead, "" or absent while it serves)
 *   V: {name, uuid, size_limit, created, bytes_used, holder, holder_uuid, deleted
 *       [, parent, snapshots]}  (get and create: a clone's "VOL@SNAP" or "", and the
 *       number of the volume's snapshots)
 *
 * The first frame must be hello; the node's name and uuid come from its
 * certificate, never from the frame.  A second connection of a node replaces
 * the first.  A node is alive while its last heartbeat is younger than
 * lease_s; a new leader counts every known node as alive from its start.
 * The holder of a lease is gone once it is not alive, or disconnected and
 * silent for a heartbeat interval; even then its lease is taken only when
 * the volume's writer lock is not its mount daemon's, or that daemon does
 * not answer a probe (a RADOS notify on the volume's super object) within
 * 1 s with a lock renewal younger than its lease: an agent restart never
 * costs a running container its volume.
 *
 * Sessions, liveness and the state run on one libevent loop.  RADOS calls
 * that can wait long run on worker threads (struct fl_job): the probe of
 * a silent holder's mount daemon (up to 1 s), its fencing (blocklist, lock
 * break) and the deletion of purged volumes' objects; their results come
 * back to the loop, which alone changes the state.  So do the write of a
 * node's record at its hello and disconnect (fl_state_node_seen_async: the
 * hello is answered once it is written) and the registry reads of an agent's
 * request; a session whose request waits for its read holds its next
 * requests back (heartbeats and replies excepted), so they still take
 * effect in the order they came.  The lease writes of acquires (agents' and
 * the API's moves) and of agents' releases go out on a worker too, one
 * guarded write at a time in the order asked, each checked against the state
 * the earlier ones left (fl_state_lease_put_async).  So does the RADOS work
 * of creating, cloning and removing volumes and of snapshots (ctl_voljob.h).
 * A slow cluster thus never holds up other nodes' heartbeats.  The other
 * configuration writes (the API's, lease expiry, the trash; each first waits
 * for the lease write on a worker) and the API's registry reads still run on
 * the loop.
 */
#ifndef FLOCKER_CTL_SERVER_H
#define FLOCKER_CTL_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "cluster/control/ctl_state.h"
#include "cluster/net/tls.h"

#define FL_CTL_LEASE_S	   5
#define FL_CTL_HEARTBEAT_S 1
#define FL_CTL_ACQUIRE_S   30 /* longest wait of an acquire for a holder's answer */
#define FL_CTL_MOUNTS_MAX  4096

struct fl_ctl_opts {
	const char *certs; /* directory with ca.crt, control.crt, control.key */
	const char *bind;  /* address to listen on; NULL: all */
	unsigned api_port, agent_port;
	unsigned lease_s, heartbeat_s;
	unsigned purge_s; /* trash purge and lease expiry interval; 0: 60 */
};

struct fl_mount_rep {
	char uuid[37];
	char name[FL_VOLNAME_MAX + 1];
	uint32_t users;
	char path[256];
	char addr[128];
	char dead[256]; /* why the node says this mount is dead (its daemon died), "" */
};

struct fl_sess;

/* What control knows of a node beyond ctl.nodes: liveness and its mounts. */
struct fl_node_live {
	char uuid[37];
	char name[64];
	char host[64];	      /* the agent's host name (lock cookies carry it) */
	char rados_addr[128]; /* the agent's own RADOS client */
	struct fl_sess *sess; /* current connection, or NULL */
	double last_hb;	      /* monotonic seconds of its last frame */
	struct fl_mount_rep *mounts;
	size_t nmounts;
	struct fl_node_live *next;
};

struct fl_acq;
struct fl_worker;

/*
 * Blocking work handed to the worker thread: work() runs there and may use
 * only the RADOS pool and what the job carries; done() runs on the loop
 * afterwards (and frees the job).  A few workers run jobs in parallel.  When
 * control stops, done() runs with cancelled set (work may not have run).
 */
struct fl_job {
	void (*work)(struct fl_job *j);
	void (*done)(struct fl_job *j);
	bool cancelled;
	struct fl_job *next;
};

struct fl_ctl {
	struct event_base *base;
	struct fl_state *state;
	struct fl_ctl_opts o;
	SSL_CTX *agent_ctx;
	struct evconnlistener *agent_lev;
	struct fl_sess *sessions;
	struct fl_node_live *nodes;
	struct fl_acq *acqs;
	struct event *tick; /* once a second: liveness, acquires waiting, lease expiry */
	struct fl_worker *worker;
	double started;
	uint64_t nframes;
	int64_t last_purge;
};

/* Starts serving agents on o->agent_port.  The state is borrowed. */
int fl_ctl_new(struct event_base *base, struct fl_state *state, const struct fl_ctl_opts *o,
	       struct fl_ctl **out, char *err, size_t errlen);
void fl_ctl_free(struct fl_ctl *c);

double fl_now_mono(void);
/* Queues j for the worker thread (never fails: the queue is a list). */
void fl_job_submit(struct fl_ctl *c, struct fl_job *j);

/* --- used by the API --- */
struct fl_node_live *fl_ctl_node(struct fl_ctl *c, const char *uuid);
bool fl_ctl_node_alive(struct fl_ctl *c, const struct fl_node_live *n);
/* The node using volume uuid (a mount with users > 0), or NULL. */
const struct fl_mount_rep *fl_ctl_mount_of(struct fl_node_live *n, const char *uuid);

/*
 * Asks for the lease of a volume for a node (an agent's acquire, an API move
 * or lease): granted at once when free; from an idle live holder after it
 * unmounted; from a dead holder after fencing; refused (-EBUSY, msg naming
 * the holder and since when) when the holder uses it.  done runs exactly
 * once, maybe before fl_ctl_acquire returns; msg is valid during the call.
 */
typedef void (*fl_acq_done)(void *arg, int err, const char *msg);
struct fl_acq_req {
	const char *uuid, *name; /* the volume */
	const char *node, *node_name;
	uint32_t kind;	     /* enum fl_lease_kind */
	int64_t expires;     /* operator leases: unix seconds, 0 none */
	uint64_t expect_tag; /* 0: none */
};
void fl_ctl_acquire(struct fl_ctl *c, const struct fl_acq_req *r, fl_acq_done done, void *arg);

/* Removal with the control-level check (a node using it); then fl_state_ds_remove. */
int fl_ctl_remove(struct fl_ctl *c, const char *uuid, uint64_t expect_tag, char *err,
		  size_t errlen);
/* The control-level check alone: -EBUSY while a live node uses it or acquires it. */
int fl_ctl_remove_check(struct fl_ctl *c, const char *uuid, char *err, size_t errlen);

#endif
