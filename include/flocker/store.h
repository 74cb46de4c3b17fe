/*
 * flockerfs — the storage interface the filesystem core talks to.
 *
 * The core never calls librados directly: it sees a store bound to one
 * RADOS pool and one namespace.  Two implementations exist:
 *   fs/store/store_rados.c  real RADOS (librados)
 *   fs/store/store_mem.c    an in-process map, for unit tests and fuzzers
 *
 * Conventions (librados's own): every int function returns 0 or a negative
 * errno; ssize_t functions return a byte count or a negative errno.  A
 * missing object is -ENOENT.  Pointers passed in are borrowed for the call
 * only, except buffers given to a batch (see below).
 *
 * Thread safety: a store may be used from many threads at once.
 */
#ifndef FLOCKER_STORE_H
#define FLOCKER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

struct fl_store;
struct fl_batch;

/* omap iteration callback: return 0 to go on, anything else stops and is returned. */
typedef int (*fl_omap_cb)(void *arg, const char *key, const void *val, size_t len);
/* object listing callback: the same contract. */
typedef int (*fl_oid_cb)(void *arg, const char *oid);

struct fl_kv {
	const char *key;
	const void *val;
	size_t len;
};

/* One holder of an advisory lock, as rados_list_lockers reports it. */
struct fl_locker {
	char client[64]; /* "client.4123" */
	char cookie[128];
	char addr[128]; /* "v1:127.0.0.1:0/123456" */
};

/* One guarded omap/xattr compare for a conditional write (rados_write_op_omap_cmp). */
struct fl_omap_cmp {
	const char *key;
	const void *val; /* NULL with len 0: the key must be absent (compares to empty) */
	size_t len;
};

/* Fills buf (cap bytes) with the answer to a notify on a watched object; returns its length. */
typedef size_t (*fl_watch_reply)(void *arg, char *buf, size_t cap);
/* One watcher's answer to a notify. */
typedef void (*fl_notify_ack_cb)(void *arg, const void *buf, size_t len);
/* A notify with its payload, for a watch_req watcher: it answers with notify_ack,
 * once, from any thread, before the notifier's timeout.  Runs on a store thread
 * that also completes I/O: it must not wait for I/O of the store. */
typedef void (*fl_watch_req)(void *arg, uint64_t notify_id, const void *data, size_t len);

struct fl_store_ops {
	void (*close)(struct fl_store *st);
	/* A new handle on the same connection and pool, in namespace ns.  It starts with
	 * this handle's write context and read snapshot. */
	struct fl_store *(*clone_ns)(struct fl_store *st, const char *ns);

	ssize_t (*read)(struct fl_store *st, const char *oid, uint64_t off, size_t len, void *buf);
	int (*write)(struct fl_store *st, const char *oid, uint64_t off, const void *buf,
		     size_t len);
	int (*write_full)(struct fl_store *st, const char *oid, const void *buf, size_t len);
	int (*append)(struct fl_store *st, const char *oid, const void *buf, size_t len);
	int (*remove)(struct fl_store *st, const char *oid);
	int (*truncate)(struct fl_store *st, const char *oid, uint64_t size);
	int (*stat)(struct fl_store *st, const char *oid, uint64_t *size);

	/* Keys strictly after start_after (NULL: from the start), in key order, at most max;
	 * *more tells whether keys remain.  Implementations page internally as needed. */
	int (*omap_list)(struct fl_store *st, const char *oid, const char *start_after,
			 unsigned max, fl_omap_cb cb, void *arg, bool *more);
	/* Values of the given keys; missing keys are simply not reported. */
	int (*omap_get)(struct fl_store *st, const char *oid, const char *const *keys, size_t n,
			fl_omap_cb cb, void *arg);
	/* One atomic op on one object: set nset keys, remove nrm keys; creates the object.
	 * With ncmp > 0, each compare must hold first or nothing is written (-ECANCELED). */
	int (*omap_update)(struct fl_store *st, const char *oid, const struct fl_kv *set,
			   size_t nset, const char *const *rm, size_t nrm,
			   const struct fl_omap_cmp *cmp, size_t ncmp);

	/* Objects in this namespace, with names starting with prefix (NULL: all). */
	int (*list_objects)(struct fl_store *st, const char *prefix, fl_oid_cb cb, void *arg);

	/* Exclusive advisory lock "name" on oid.  duration_s 0 = no expiry.
	 * -EBUSY when someone else holds it; -EEXIST when this handle (same cookie) does. */
	int (*lock_exclusive)(struct fl_store *st, const char *oid, const char *name,
			      const char *cookie, const char *desc, unsigned duration_s,
			      bool renew);
	int (*unlock)(struct fl_store *st, const char *oid, const char *name, const char *cookie);
	/* Fills up to max lockers; returns their count (may exceed max) and the lock's tag/desc. */
	int (*list_lockers)(struct fl_store *st, const char *oid, const char *name,
			    struct fl_locker *out, int max, char *desc, size_t desclen);
	int (*break_lock)(struct fl_store *st, const char *oid, const char *name,
			  const char *client, const char *cookie);
	/* This client's own address, as other clients see it ("v1:ip:port/nonce"). */
	int (*self_addr)(struct fl_store *st, char *buf, size_t len);
	/* Fence a client by address for expire_s seconds (0 = Ceph's default). */
	int (*blocklist_add)(struct fl_store *st, const char *addr, unsigned expire_s);

	/* Watches oid: every notify to it is answered at once (from a store thread) with
	 * what reply writes.  *handle is for watch_check and unwatch.  -EOPNOTSUPP when the
	 * store has no watches. */
	int (*watch)(struct fl_store *st, const char *oid, fl_watch_reply reply, void *arg,
		     uint64_t *handle);
	/* 0 while the watch is registered, else a negative errno (watch again). */
	int (*watch_check)(struct fl_store *st, uint64_t handle);
	/* Ends a watch; no reply runs after it returns. */
	int (*unwatch)(struct fl_store *st, uint64_t handle);
	/* Notifies oid's watchers and waits up to timeout_ms: cb runs for each answer.
	 * 0 when every watcher answered, -ETIMEDOUT when some did not. */
	int (*notify)(struct fl_store *st, const char *oid, unsigned timeout_ms,
		      fl_notify_ack_cb cb, void *arg);

	/* Batches: many independent ops in flight at once (RADOS aio). */
	struct fl_batch *(*batch_new)(struct fl_store *st);

	/* --- self-managed snapshots (pool-wide ids, as RADOS's) --- */
	/* Allocates a new self-managed snapshot id in the pool
	 * (rados_ioctx_selfmanaged_snap_create). */
	int (*snap_create)(struct fl_store *st, uint64_t *snapid);
	/* Frees it (rados_ioctx_selfmanaged_snap_remove): the OSDs trim its clones later. */
	int (*snap_remove)(struct fl_store *st, uint64_t snapid);
	/* Every write of this handle (and its batches) from now on carries this snap
	 * context: seq = the newest snap id ever taken, snaps = live ids newest first.
	 * A batch op carries the context set when the op was added. */
	int (*set_write_ctx)(struct fl_store *st, uint64_t seq, const uint64_t *snaps, size_t n);
	/* Reads of this handle see objects as of snapid (FL_SNAP_HEAD: live); while a
	 * snapshot is set, every write op returns -EROFS. */
	int (*set_read_snap)(struct fl_store *st, uint64_t snapid);
	/* oid back to its state at snapid (removed when it did not exist then). */
	int (*snap_rollback)(struct fl_store *st, const char *oid, uint64_t snapid);

	/* Watch and notify with payloads and answers that may come later (watch_check
	 * and unwatch take the handle too).  -EOPNOTSUPP when the store has no watches. */
	int (*watch_req)(struct fl_store *st, const char *oid, fl_watch_req cb, void *arg,
			 uint64_t *handle);
	int (*notify_ack)(struct fl_store *st, uint64_t handle, uint64_t notify_id, const void *buf,
			  size_t len);
	/* notify with a payload (notify sends "probe"). */
	int (*notify_data)(struct fl_store *st, const char *oid, const void *data, size_t len,
			   unsigned timeout_ms, fl_notify_ack_cb cb, void *arg);
};

#define FL_SNAP_HEAD UINT64_MAX /* "no snapshot": the live objects */

struct fl_store {
	const struct fl_store_ops *ops;
};

/*
 * A batch collects ops on possibly different objects and sends them at once.
 * Buffers given to a batch's write ops must stay valid until fl_batch_wait
 * returns.
 * Ops in one batch have no order between them: never put two ops on the same
 * object range in one batch.  fl_batch_wait waits for all, frees the batch and
 * returns 0 or the first negative errno (-ENOENT of a remove is not an error).
 */
struct fl_batch_ops {
	void (*write)(struct fl_batch *b, const char *oid, uint64_t off, const void *buf,
		      size_t len);
	/* Several extents of one object in one atomic op. */
	void (*writev)(struct fl_batch *b, const char *oid, const uint64_t *offs,
		       const void *const *bufs, const size_t *lens, size_t n);
	void (*remove)(struct fl_batch *b, const char *oid);
	void (*truncate)(struct fl_batch *b, const char *oid, uint64_t size);
	/* Zero a range (punch a hole); a missing object stays missing. */
	void (*zero)(struct fl_batch *b, const char *oid, uint64_t off, uint64_t len);
	/* Read into buf; *got receives the byte count (0 if the object is missing). */
	void (*read)(struct fl_batch *b, const char *oid, uint64_t off, size_t len, void *buf,
		     ssize_t *got);
	int (*wait)(struct fl_batch *b);
	/* True when every op sent has ended: wait would not block.  A store
	 * that runs its ops in wait says true. */
	bool (*done)(struct fl_batch *b);
};

struct fl_batch {
	const struct fl_batch_ops *ops;
};

/* The ops of a store type whose functions are named P_close ... P_notify_data
 * (every op of struct fl_store_ops, in its order). */
#define FL_STORE_OPS(P)                                                                            \
	{                                                                                          \
		.close = P##_close, .clone_ns = P##_clone_ns, .read = P##_read,                    \
		.write = P##_write, .write_full = P##_write_full, .append = P##_append,            \
		.remove = P##_remove, .truncate = P##_truncate, .stat = P##_stat,                  \
		.omap_list = P##_omap_list, .omap_get = P##_omap_get,                              \
		.omap_update = P##_omap_update, .list_objects = P##_list_objects,                  \
		.lock_exclusive = P##_lock_exclusive, .unlock = P##_unlock,                        \
		.list_lockers = P##_list_lockers, .break_lock = P##_break_lock,                    \
		.self_addr = P##_self_addr, .blocklist_add = P##_blocklist_add,                    \
		.watch = P##_watch, .watch_check = P##_watch_check, .unwatch = P##_unwatch,        \
		.notify = P##_notify, .batch_new = P##_batch_new, .snap_create = P##_snap_create,  \
		.snap_remove = P##_snap_remove, .set_write_ctx = P##_set_write_ctx,                \
		.set_read_snap = P##_set_read_snap, .snap_rollback = P##_snap_rollback,            \
		.watch_req = P##_watch_req, .notify_ack = P##_notify_ack,                          \
		.notify_data = P##_notify_data,                                                    \
	}

/* The ops of a batch type whose functions are named P_write ... P_done. */
#define FL_BATCH_OPS(P)                                                                            \
	{                                                                                          \
		.write = P##_write, .writev = P##_writev, .remove = P##_remove,                    \
		.truncate = P##_truncate, .zero = P##_zero, .read = P##_read, .wait = P##_wait,    \
		.done = P##_done,                                                                  \
	}

/* For stores: a zeroed batch of size bytes, a struct that begins with its
 * struct fl_batch, with ops set; NULL without memory. */
static inline void *fl_batch_alloc(size_t size, const struct fl_batch_ops *ops)
{
	struct fl_batch *b = calloc(1, size);

	if (b)
		b->ops = ops;
	return b;
}

/* The three calls every user of a store makes; the others go through ops. */
static inline void fl_store_close(struct fl_store *st)
{
	if (st)
		st->ops->close(st);
}

static inline struct fl_batch *fl_batch_new(struct fl_store *st)
{
	return st->ops->batch_new(st);
}

static inline int fl_batch_wait(struct fl_batch *b)
{
	return b->ops->wait(b);
}

/* --- RADOS implementation (fs/store/store_rados.c) --- */

struct fl_rados_opts {
	const char *conf;   /* ceph.conf path; NULL: CEPH_CONF / defaults */
	const char *id;	    /* client id without "client."; NULL: CEPH_ARGS or "admin" */
	const char *pool;   /* default "flocker" */
	const char *ns;	    /* namespace; NULL: default namespace */
	unsigned timeout_s; /* connect timeout (rados_mon_op_timeout/osd_op_timeout); 0: 30 */
};

/* Connect and open the pool.  On failure returns NULL and writes one line to err. */
struct fl_store *fl_rados_open(const struct fl_rados_opts *opts, char *err, size_t errlen);

/* --- the write gate (fs/store/store_gate.c) --- */

/* A store forwarding every op to in (owned: closed with it), whose write-class
 * ops and write batches fl_gate_close can hold back.  NULL on ENOMEM. */
struct fl_store *fl_gate_wrap(struct fl_store *in);
bool fl_gate_is(struct fl_store *st);
/* The handle a gate wraps (st itself when it is no gate). */
struct fl_store *fl_gate_inner(struct fl_store *st);
/* Waits up to timeout_ms for the writes in flight to end, then holds back new ones
 * (but those of a thread with a write open) until fl_gate_reopen.  -ETIMEDOUT
 * (gate left open), -EBUSY (already closed), -EINVAL (no gate). */
int fl_gate_close(struct fl_store *st, unsigned timeout_ms);
void fl_gate_reopen(struct fl_store *st);

/* --- in-memory implementation (fs/store/store_mem.c) --- */

/* A fresh empty store.  Clones share the same data, separated by namespace. */
struct fl_store *fl_mem_open(void);
/* Fault injection for tests: the next n ops fail with err (0 turns it off). */
void fl_mem_inject_error(struct fl_store *st, int err, int n);
/* The same, counting only batch ops on objects whose name starts with prefix. */
void fl_mem_inject_error_on(struct fl_store *st, int err, int n, const char *prefix);
/* Ops the store (and its clones) ran so far, counted as fault injection counts them. */
uint64_t fl_mem_op_count(struct fl_store *st);
/* Every batch of the store (and its clones) sleeps usec before it runs; 0 turns it off. */
void fl_mem_delay_batches(struct fl_store *st, unsigned usec);
/* Every omap_list of an object whose name starts with prefix (of the store
 * and its clones) waits, once entered, until the hold changes: another
 * prefix, or NULL, which lets them all go.  0 or -ENOMEM. */
int fl_mem_hold_omap_list(struct fl_store *st, const char *prefix);
/* Waits until at least n omap_lists wait in a hold: 0, or -ETIMEDOUT. */
int fl_mem_held_wait(struct fl_store *st, unsigned n, unsigned timeout_ms);

#endif
