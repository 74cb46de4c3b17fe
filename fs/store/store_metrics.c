/* flockerfs — the store's metrics layer (see store_metrics.h). */
#include "fs/store/store_metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* A new op in struct fl_batch_ops must be forwarded here: this breaks the build until it is. */
_Static_assert(sizeof(struct fl_batch_ops) == 8 * sizeof(void (*)(void)),
	       "store_metrics.c wraps every batch op: add the new one");

enum op {
	OP_READ,
	OP_WRITE,
	OP_WRITE_FULL,
	OP_APPEND,
	OP_REMOVE,
	OP_TRUNCATE,
	OP_STAT,
	OP_OMAP_LIST,
	OP_OMAP_GET,
	OP_OMAP_UPDATE,
	OP_LIST_OBJECTS,
	OP_LOCK,
	OP_UNLOCK,
	OP_LIST_LOCKERS,
	OP_BREAK_LOCK,
	OP_SELF_ADDR,
	OP_BLOCKLIST,
	OP_WATCH,
	OP_WATCH_CHECK,
	OP_UNWATCH,
	OP_NOTIFY,
	OP_BATCH_WRITE,
	OP_BATCH_READ,
	OP_BATCH_REMOVE,
	OP_N
};

static const char *const op_names[OP_N] = {
	"read",	       "write",	       "write_full", "append",	    "remove",	     "truncate",
	"stat",	       "omap_list",    "omap_get",   "omap_update", "list_objects",  "lock",
	"unlock",      "list_lockers", "break_lock", "self_addr",   "blocklist_add", "watch",
	"watch_check", "unwatch",      "notify",     "batch_write", "batch_read",    "batch_remove",
};

static struct fl_metrics *reg;
static const struct fl_store_ops *orig;
static struct fl_store_ops inst;
static struct fl_metric *_Atomic lat[OP_N], *_Atomic errs[OP_N];
static struct fl_metric *wb_lat, *wb_bytes, *commit_lat;

static struct fl_metric *series(struct fl_metric *_Atomic *slot, enum op op, bool err)
{
	struct fl_metric *s = atomic_load_explicit(slot, memory_order_acquire);
	const char *l[2] = {"op", op_names[op]};

	if (s)
		return s;
	/* made once; a race makes the same series twice over, which is one */
	if (err)
		s = fl_metrics_counter(reg, "flockerfs_rados_op_errors_total",
				       "RADOS ops that failed (not counting the answers ENOENT, "
				       "EEXIST, EBUSY, ECANCELED), by op.",
				       l, 1);
	else
		s = fl_metrics_histogram(reg, "flockerfs_rados_op_duration_seconds",
					 "RADOS op latency by op; a batch is one op, from its "
					 "first submission to the end of its wait.",
					 l, 1, fl_metrics_latency_ns, fl_metrics_latency_ns_n,
					 1e-9);
	atomic_store_explicit(slot, s, memory_order_release);
	return s;
}

static void done(enum op op, uint64_t t0, long r)
{
	fl_metric_observe(series(&lat[op], op, false), fl_metrics_now_ns() - t0);
	if (r < 0 && r != -ENOENT && r != -EEXIST && r != -EBUSY && r != -ECANCELED)
		fl_metric_add(series(&errs[op], op, true), 1);
}

#define TIMED(op, call)                                                                            \
	do {                                                                                       \
		uint64_t t0 = fl_metrics_now_ns();                                                 \
		r = call;                                                                          \
		done(op, t0, (long)r);                                                             \
	} while (0)

static struct fl_store *m_clone_ns(struct fl_store *st, const char *ns)
{
	struct fl_store *c = orig->clone_ns(st, ns);

	if (c && c->ops == orig)
		c->ops = &inst;
	return c;
}

static ssize_t m_read(struct fl_store *st, const char *oid, uint64_t off, size_t len, void *buf)
{
	ssize_t r;

	TIMED(OP_READ, orig->read(st, oid, off, len, buf));
	return r;
}

static int m_write(struct fl_store *st, const char *oid, uint64_t off, const void *buf, size_t len)
{
	int r;

	TIMED(OP_WRITE, orig->write(st, oid, off, buf, len));
	return r;
}

static int m_write_full(struct fl_store *st, const char *oid, const void *buf, size_t len)
{
	int r;

	TIMED(OP_WRITE_FULL, orig->write_full(st, oid, buf, len));
	return r;
}

static int m_append(struct fl_store *st, const char *oid, const void *buf, size_t len)
{
	uint64_t t0 = fl_metrics_now_ns();
	int r = orig->append(st, oid, buf, len);

	done(OP_APPEND, t0, r);
	if (!r && !strncmp(oid, "jrnl.", 5))
		fl_metric_observe(commit_lat, fl_metrics_now_ns() - t0);
	return r;
}

static int m_remove(struct fl_store *st, const char *oid)
{
	int r;

	TIMED(OP_REMOVE, orig->remove(st, oid));
	return r;
}

static int m_truncate(struct fl_store *st, const char *oid, uint64_t size)
{
	int r;

	TIMED(OP_TRUNCATE, orig->truncate(st, oid, size));
	return r;
}

static int m_stat(struct fl_store *st, const char *oid, uint64_t *size)
{
	int r;

	TIMED(OP_STAT, orig->stat(st, oid, size));
	return r;
}

static int m_omap_list(struct fl_store *st, const char *oid, const char *start_after, unsigned max,
		       fl_omap_cb cb, void *arg, bool *more)
{
	int r;

	TIMED(OP_OMAP_LIST, orig->omap_list(st, oid, start_after, max, cb, arg, more));
	return r;
}

static int m_omap_get(struct fl_store *st, const char *oid, const char *const *keys, size_t n,
		      fl_omap_cb cb, void *arg)
{
	int r;

	TIMED(OP_OMAP_GET, orig->omap_get(st, oid, keys, n, cb, arg));
	return r;
}

static int m_omap_update(struct fl_store *st, const char *oid, const struct fl_kv *set, size_t nset,
			 const char *const *rm, size_t nrm, const struct fl_omap_cmp *cmp,
			 size_t ncmp)
{
	int r;

	TIMED(OP_OMAP_UPDATE, orig->omap_update(st, oid, set, nset, rm, nrm, cmp, ncmp));
	return r;
}

static int m_list_objects(struct fl_store *st, const char *prefix, fl_oid_cb cb, void *arg)
{
	int r;

	TIMED(OP_LIST_OBJECTS, orig->list_objects(st, prefix, cb, arg));
	return r;
}

static int m_lock_exclusive(struct fl_store *st, const char *oid, const char *name,
			    const char *cookie, const char *desc, unsigned duration_s, bool renew)
{
	int r;

	TIMED(OP_LOCK, orig->lock_exclusive(st, oid, name, cookie, desc, duration_s, renew));
	return r;
}

static int m_unlock(struct fl_store *st, const char *oid, const char *name, const char *cookie)
{
	int r;

	TIMED(OP_UNLOCK, orig->unlock(st, oid, name, cookie));
	return r;
}

static int m_list_lockers(struct fl_store *st, const char *oid, const char *name,
			  struct fl_locker *out, int max, char *desc, size_t desclen)
{
	int r;

	TIMED(OP_LIST_LOCKERS, orig->list_lockers(st, oid, name, out, max, desc, desclen));
	return r;
}

static int m_break_lock(struct fl_store *st, const char *oid, const char *name, const char *client,
			const char *cookie)
{
	int r;

	TIMED(OP_BREAK_LOCK, orig->break_lock(st, oid, name, client, cookie));
	return r;
}

static int m_self_addr(struct fl_store *st, char *buf, size_t len)
{
	int r;

	TIMED(OP_SELF_ADDR, orig->self_addr(st, buf, len));
	return r;
}

static int m_blocklist_add(struct fl_store *st, const char *addr, unsigned expire_s)
{
	int r;

	TIMED(OP_BLOCKLIST, orig->blocklist_add(st, addr, expire_s));
	return r;
}

static int m_watch(struct fl_store *st, const char *oid, fl_watch_reply reply, void *arg,
		   uint64_t *handle)
{
	int r;

	TIMED(OP_WATCH, orig->watch(st, oid, reply, arg, handle));
	return r;
}

static int m_watch_check(struct fl_store *st, uint64_t handle)
{
	int r;

	TIMED(OP_WATCH_CHECK, orig->watch_check(st, handle));
	return r;
}

static int m_unwatch(struct fl_store *st, uint64_t handle)
{
	int r;

	TIMED(OP_UNWATCH, orig->unwatch(st, handle));
	return r;
}

static int m_notify(struct fl_store *st, const char *oid, unsigned timeout_ms, fl_notify_ack_cb cb,
		    void *arg)
{
	int r;

	/* a watcher that does not answer is an answer here, not a RADOS error */
	uint64_t t0 = fl_metrics_now_ns();

	r = orig->notify(st, oid, timeout_ms, cb, arg);
	done(OP_NOTIFY, t0, r == -ETIMEDOUT ? 0 : r);
	return r;
}

/* ---------- batches ---------- */

struct mbatch {
	struct fl_batch b;
	struct fl_batch *in;
	uint64_t t0;
	uint64_t bytes;
	bool writes, reads;
};

static struct mbatch *mb_of(struct fl_batch *b)
{
	return (struct mbatch *)b;
}

static void mb_write(struct fl_batch *b, const char *oid, uint64_t off, const void *buf, size_t len)
{
	struct mbatch *m = mb_of(b);

	m->writes = true;
	m->bytes += len;
	m->in->ops->write(m->in, oid, off, buf, len);
}

static void mb_writev(struct fl_batch *b, const char *oid, const uint64_t *offs,
		      const void *const *bufs, const size_t *lens, size_t n)
{
	struct mbatch *m = mb_of(b);
	size_t i;

	m->writes = true;
	for (i = 0; i < n; i++)
		m->bytes += lens[i];
	m->in->ops->writev(m->in, oid, offs, bufs, lens, n);
}

static void mb_remove(struct fl_batch *b, const char *oid)
{
	mb_of(b)->in->ops->remove(mb_of(b)->in, oid);
}

static void mb_truncate(struct fl_batch *b, const char *oid, uint64_t size)
{
	mb_of(b)->in->ops->truncate(mb_of(b)->in, oid, size);
}

static void mb_zero(struct fl_batch *b, const char *oid, uint64_t off, uint64_t len)
{
	mb_of(b)->in->ops->zero(mb_of(b)->in, oid, off, len);
}

static void mb_read(struct fl_batch *b, const char *oid, uint64_t off, size_t len, void *buf,
		    ssize_t *got)
{
	struct mbatch *m = mb_of(b);

	m->reads = true;
	m->in->ops->read(m->in, oid, off, len, buf, got);
}

static int mb_wait(struct fl_batch *b)
{
	struct mbatch *m = mb_of(b);
	enum op op = m->writes ? OP_BATCH_WRITE : m->reads ? OP_BATCH_READ : OP_BATCH_REMOVE;
	int r = m->in->ops->wait(m->in);
	uint64_t ns = fl_metrics_now_ns() - m->t0;

	done(op, m->t0, r);
	if (m->writes && !r) {
		fl_metric_observe(wb_lat, ns);
		fl_metric_add(wb_bytes, m->bytes);
	}
	free(m);
	return r;
}

static bool mb_done(struct fl_batch *b)
{
	return mb_of(b)->in->ops->done(mb_of(b)->in);
}

static const struct fl_batch_ops mb_ops = FL_BATCH_OPS(mb);

static struct fl_batch *m_batch_new(struct fl_store *st)
{
	struct fl_batch *in = orig->batch_new(st);
	struct mbatch *m;

	if (!in)
		return NULL;
	m = fl_batch_alloc(sizeof(*m), &mb_ops);
	if (!m)
		return in; /* not counted, still right */
	m->in = in;
	m->t0 = fl_metrics_now_ns();
	return &m->b;
}

/* an op the store lacks stays NULL */
#define SET(f)                                                                                     \
	do {                                                                                       \
		if (orig->f)                                                                       \
			inst.f = m_##f;                                                            \
	} while (0)

int fl_store_metrics(struct fl_store *st, struct fl_metrics *m)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	int ret = 0;

	pthread_mutex_lock(&lock);
	if (st->ops == &inst) {
		ret = m == reg ? 0 : -EINVAL;
		goto out;
	}
	if (orig && (st->ops != orig || m != reg)) {
		ret = -EINVAL;
		goto out;
	}
	if (!orig) {
		wb_lat = fl_metrics_histogram(m, "flockerfs_writeback_duration_seconds",
					      "Write-back latency: one batch of dirty data "
					      "written to RADOS.",
					      NULL, 0, fl_metrics_latency_ns,
					      fl_metrics_latency_ns_n, 1e-9);
		wb_bytes = fl_metrics_counter(m, "flockerfs_writeback_bytes_total",
					      "File data bytes written back to RADOS.", NULL, 0);
		commit_lat = fl_metrics_histogram(
			m, "flockerfs_journal_commit_duration_seconds",
			"Journal commit latency: one append of pending records to the journal.",
			NULL, 0, fl_metrics_latency_ns, fl_metrics_latency_ns_n, 1e-9);
		if (!wb_lat || !wb_bytes || !commit_lat) {
			ret = -ENOMEM;
			goto out;
		}
		reg = m;
		orig = st->ops;
		inst = *orig;
		SET(clone_ns);
		SET(read);
		SET(write);
		SET(write_full);
		SET(append);
		SET(remove);
		SET(truncate);
		SET(stat);
		SET(omap_list);
		SET(omap_get);
		SET(omap_update);
		SET(list_objects);
		SET(lock_exclusive);
		SET(unlock);
		SET(list_lockers);
		SET(break_lock);
		SET(self_addr);
		SET(blocklist_add);
		SET(watch);
		SET(watch_check);
		SET(unwatch);
		SET(notify);
		SET(batch_new);
	}
	st->ops = &inst;
out:
	pthread_mutex_unlock(&lock);
	return ret;
}
