/*
 * flockerfs — the write gate (include/flocker/store.h, fl_gate_wrap): a
 * store that forwards every op to the handle it wraps, and can hold back
 * write-class ops while a snapshot is taken.
 *
 * A snapshot needs a moment with no write of this client in flight and
 * none starting: a write that reaches an OSD after the snapshot with the old
 * snap context saves no clone, so it would show through into the snapshot.
 * fl_gate_close waits for the writes in flight to end and holds back new
 * ones; fl_gate_reopen lets them go.  A write op counts from its call to its
 * return; a batch from its first write-class op to fl_batch_wait.  A thread
 * that already has a write or a batch open is never held back (it could
 * not finish what the gate waits for); the core fills and waits each batch
 * on one thread.
 */
#include "flocker/store.h"
#include "fs/util/fmt.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct gate {
	struct fl_store base;
	struct fl_store *in;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	unsigned inflight; /* write ops and write batches open */
	bool closed;
};

struct gate_batch {
	struct fl_batch base;
	struct gate *g;
	struct fl_batch *in;
	bool entered;
};

static const struct fl_store_ops gate_ops;
static const struct fl_batch_ops gate_batch_ops;

/* writes and write batches this thread has open, over all gates */
static __thread unsigned gate_depth;

static struct gate *g_of(struct fl_store *st)
{
	return (struct gate *)st;
}

static void g_enter(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	while (g->closed && gate_depth == 0)
		pthread_cond_wait(&g->cond, &g->mu);
	g->inflight++;
	pthread_mutex_unlock(&g->mu);
	gate_depth++;
}

static void g_leave(struct gate *g)
{
	gate_depth--;
	pthread_mutex_lock(&g->mu);
	if (--g->inflight == 0)
		pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->mu);
}

struct fl_store *fl_gate_wrap(struct fl_store *in)
{
	struct gate *g;

	if (!in)
		return NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->base.ops = &gate_ops;
	g->in = in;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cond, NULL);
	return &g->base;
}

bool fl_gate_is(struct fl_store *st)
{
	return st && st->ops == &gate_ops;
}

struct fl_store *fl_gate_inner(struct fl_store *st)
{
	return st && st->ops == &gate_ops ? g_of(st)->in : st;
}

int fl_gate_close(struct fl_store *st, unsigned timeout_ms)
{
	struct gate *g = g_of(st);
	struct timespec until;
	int r = 0;

	if (st->ops != &gate_ops)
		return -EINVAL;
	clock_gettime(CLOCK_REALTIME, &until);
	fl_ts_add_ms(&until, (long)timeout_ms);
	pthread_mutex_lock(&g->mu);
	if (g->closed) {
		pthread_mutex_unlock(&g->mu);
		return -EBUSY;
	}
	g->closed = true;
	while (g->inflight && r == 0)
		r = pthread_cond_timedwait(&g->cond, &g->mu, &until);
	if (g->inflight) {
		g->closed = false;
		pthread_cond_broadcast(&g->cond);
		r = -ETIMEDOUT;
	} else {
		r = 0;
	}
	pthread_mutex_unlock(&g->mu);
	return r;
}

void fl_gate_reopen(struct fl_store *st)
{
	struct gate *g = g_of(st);

	if (st->ops != &gate_ops)
		return;
	pthread_mutex_lock(&g->mu);
	g->closed = false;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->mu);
}

static void g_close(struct fl_store *st)
{
	struct gate *g = g_of(st);

	fl_store_close(g->in);
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cond);
	free(g);
}

static struct fl_store *g_clone_ns(struct fl_store *st, const char *ns)
{
	return g_of(st)->in->ops->clone_ns(g_of(st)->in, ns);
}

#define IN(st) (g_of(st)->in)
/* A write-class op: counted in flight for its whole call. */
#define GATED(st, call)                                                                            \
	do {                                                                                       \
		struct gate *g_ = g_of(st);                                                        \
		int r_;                                                                            \
		g_enter(g_);                                                                       \
		r_ = (call);                                                                       \
		g_leave(g_);                                                                       \
		return r_;                                                                         \
	} while (0)

static ssize_t g_read(struct fl_store *st, const char *oid, uint64_t off, size_t len, void *buf)
{
	return IN(st)->ops->read(IN(st), oid, off, len, buf);
}

static int g_write(struct fl_store *st, const char *oid, uint64_t off, const void *buf, size_t len)
{
	GATED(st, IN(st)->ops->write(IN(st), oid, off, buf, len));
}

static int g_write_full(struct fl_store *st, const char *oid, const void *buf, size_t len)
{
	GATED(st, IN(st)->ops->write_full(IN(st), oid, buf, len));
}

static int g_append(struct fl_store *st, const char *oid, const void *buf, size_t len)
{
	GATED(st, IN(st)->ops->append(IN(st), oid, buf, len));
}

static int g_remove(struct fl_store *st, const char *oid)
{
	GATED(st, IN(st)->ops->remove(IN(st), oid));
}

static int g_truncate(struct fl_store *st, const char *oid, uint64_t size)
{
	GATED(st, IN(st)->ops->truncate(IN(st), oid, size));
}

static int g_stat(struct fl_store *st, const char *oid, uint64_t *size)
{
	return IN(st)->ops->stat(IN(st), oid, size);
}

static int g_omap_list(struct fl_store *st, const char *oid, const char *start_after, unsigned max,
		       fl_omap_cb cb, void *arg, bool *more)
{
	return IN(st)->ops->omap_list(IN(st), oid, start_after, max, cb, arg, more);
}

static int g_omap_get(struct fl_store *st, const char *oid, const char *const *keys, size_t n,
		      fl_omap_cb cb, void *arg)
{
	return IN(st)->ops->omap_get(IN(st), oid, keys, n, cb, arg);
}

static int g_omap_update(struct fl_store *st, const char *oid, const struct fl_kv *set, size_t nset,
			 const char *const *rm, size_t nrm, const struct fl_omap_cmp *cmp,
			 size_t ncmp)
{
	GATED(st, IN(st)->ops->omap_update(IN(st), oid, set, nset, rm, nrm, cmp, ncmp));
}

static int g_list_objects(struct fl_store *st, const char *prefix, fl_oid_cb cb, void *arg)
{
	return IN(st)->ops->list_objects(IN(st), prefix, cb, arg);
}

static int g_lock_exclusive(struct fl_store *st, const char *oid, const char *name,
			    const char *cookie, const char *desc, unsigned duration_s, bool renew)
{
	GATED(st, IN(st)->ops->lock_exclusive(IN(st), oid, name, cookie, desc, duration_s, renew));
}

static int g_unlock(struct fl_store *st, const char *oid, const char *name, const char *cookie)
{
	GATED(st, IN(st)->ops->unlock(IN(st), oid, name, cookie));
}

static int g_list_lockers(struct fl_store *st, const char *oid, const char *name,
			  struct fl_locker *out, int max, char *desc, size_t desclen)
{
	return IN(st)->ops->list_lockers(IN(st), oid, name, out, max, desc, desclen);
}

static int g_break_lock(struct fl_store *st, const char *oid, const char *name, const char *client,
			const char *cookie)
{
	GATED(st, IN(st)->ops->break_lock(IN(st), oid, name, client, cookie));
}

static int g_self_addr(struct fl_store *st, char *buf, size_t len)
{
	return IN(st)->ops->self_addr(IN(st), buf, len);
}

static int g_blocklist_add(struct fl_store *st, const char *addr, unsigned expire_s)
{
	return IN(st)->ops->blocklist_add(IN(st), addr, expire_s);
}

static int g_watch(struct fl_store *st, const char *oid, fl_watch_reply reply, void *arg,
		   uint64_t *handle)
{
	return IN(st)->ops->watch(IN(st), oid, reply, arg, handle);
}

static int g_watch_check(struct fl_store *st, uint64_t handle)
{
	return IN(st)->ops->watch_check(IN(st), handle);
}

static int g_unwatch(struct fl_store *st, uint64_t handle)
{
	return IN(st)->ops->unwatch(IN(st), handle);
}

static int g_notify(struct fl_store *st, const char *oid, unsigned timeout_ms, fl_notify_ack_cb cb,
		    void *arg)
{
	return IN(st)->ops->notify(IN(st), oid, timeout_ms, cb, arg);
}

static int g_watch_req(struct fl_store *st, const char *oid, fl_watch_req cb, void *arg,
		       uint64_t *handle)
{
	return IN(st)->ops->watch_req(IN(st), oid, cb, arg, handle);
}

static int g_notify_ack(struct fl_store *st, uint64_t handle, uint64_t notify_id, const void *buf,
			size_t len)
{
	return IN(st)->ops->notify_ack(IN(st), handle, notify_id, buf, len);
}

static int g_notify_data(struct fl_store *st, const char *oid, const void *data, size_t len,
			 unsigned timeout_ms, fl_notify_ack_cb cb, void *arg)
{
	return IN(st)->ops->notify_data(IN(st), oid, data, len, timeout_ms, cb, arg);
}

static int g_snap_create(struct fl_store *st, uint64_t *snapid)
{
	return IN(st)->ops->snap_create(IN(st), snapid);
}

static int g_snap_remove(struct fl_store *st, uint64_t snapid)
{
	return IN(st)->ops->snap_remove(IN(st), snapid);
}

static int g_set_write_ctx(struct fl_store *st, uint64_t seq, const uint64_t *snaps, size_t n)
{
	return IN(st)->ops->set_write_ctx(IN(st), seq, snaps, n);
}

static int g_set_read_snap(struct fl_store *st, uint64_t snapid)
{
	return IN(st)->ops->set_read_snap(IN(st), snapid);
}

static int g_snap_rollback(struct fl_store *st, const char *oid, uint64_t snapid)
{
	GATED(st, IN(st)->ops->snap_rollback(IN(st), oid, snapid));
}

/* --- batches --- */

static struct fl_batch *g_batch_new(struct fl_store *st)
{
	struct gate_batch *b = fl_batch_alloc(sizeof(*b), &gate_batch_ops);

	if (!b)
		return NULL;
	b->in = fl_batch_new(IN(st));
	if (!b->in) {
		free(b);
		return NULL;
	}
	b->g = g_of(st);
	return &b->base;
}

static struct fl_batch *gb_in(struct fl_batch *fb, bool write)
{
	struct gate_batch *b = (struct gate_batch *)fb;

	if (write && !b->entered) {
		g_enter(b->g);
		b->entered = true;
	}
	return b->in;
}

static void gb_write(struct fl_batch *fb, const char *oid, uint64_t off, const void *buf,
		     size_t len)
{
	struct fl_batch *in = gb_in(fb, true);

	in->ops->write(in, oid, off, buf, len);
}

static void gb_writev(struct fl_batch *fb, const char *oid, const uint64_t *offs,
		      const void *const *bufs, const size_t *lens, size_t n)
{
	struct fl_batch *in = gb_in(fb, true);

	in->ops->writev(in, oid, offs, bufs, lens, n);
}

static void gb_remove(struct fl_batch *fb, const char *oid)
{
	struct fl_batch *in = gb_in(fb, true);

	in->ops->remove(in, oid);
}

static void gb_truncate(struct fl_batch *fb, const char *oid, uint64_t size)
{
	struct fl_batch *in = gb_in(fb, true);

	in->ops->truncate(in, oid, size);
}

static void gb_zero(struct fl_batch *fb, const char *oid, uint64_t off, uint64_t len)
{
	struct fl_batch *in = gb_in(fb, true);

	in->ops->zero(in, oid, off, len);
}

static void gb_read(struct fl_batch *fb, const char *oid, uint64_t off, size_t len, void *buf,
		    ssize_t *got)
{
	struct fl_batch *in = gb_in(fb, false);

	in->ops->read(in, oid, off, len, buf, got);
}

static int gb_wait(struct fl_batch *fb)
{
	struct gate_batch *b = (struct gate_batch *)fb;
	int r = fl_batch_wait(b->in);

	if (b->entered)
		g_leave(b->g);
	free(b);
	return r;
}

static bool gb_done(struct fl_batch *fb)
{
	struct gate_batch *b = (struct gate_batch *)fb;

	return b->in->ops->done(b->in);
}

static const struct fl_batch_ops gate_batch_ops = FL_BATCH_OPS(gb);

static const struct fl_store_ops gate_ops = FL_STORE_OPS(g);
