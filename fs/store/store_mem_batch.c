/*
 * flockerfs — batches of the in-memory store (include/flocker/store.h):
 * queued, then run at fl_batch_wait in a shuffled order (see store_mem.c).
 */
#include "fs/store/store_mem_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flocker/buf.h"

enum bop_type { BOP_WRITE, BOP_WRITEV, BOP_REMOVE, BOP_TRUNCATE, BOP_ZERO, BOP_READ };

struct bop {
	enum bop_type type;
	char *oid;
	uint64_t off, len;
	const void *wbuf;
	void *rbuf;
	ssize_t *got;
	/* writev: copies of the caller's arrays (the buffers stay borrowed) */
	uint64_t *offs;
	const void **bufs;
	size_t *lens;
	size_t n;
	bool ran; /* a read run when sent; r is its result */
	int r;
	struct msnapc *ctx; /* the handle's write context when the op was added */
};

struct mem_batch {
	struct fl_batch base;
	struct mem_store *ms;
	struct bop *ops;
	size_t n, cap;
	int err; /* first error while queueing */
};

static struct bop *bop_add(struct mem_batch *b, enum bop_type type, const char *oid)
{
	struct bop *op;

	if (fl_grow(&b->ops, &b->cap, b->n, sizeof(*b->ops), 16))
		goto out_nomem;
	op = &b->ops[b->n];
	memset(op, 0, sizeof(*op));
	op->type = type;
	op->oid = strdup(oid);
	if (!op->oid)
		goto out_nomem;
	pthread_mutex_lock(&b->ms->sh->mu);
	op->ctx = msnapc_get(b->ms->wctx);
	pthread_mutex_unlock(&b->ms->sh->mu);
	b->n++;
	return op;

out_nomem:
	if (!b->err)
		b->err = -ENOMEM;
	return NULL;
}

static void mb_write(struct fl_batch *fb, const char *oid, uint64_t off, const void *buf,
		     size_t len)
{
	struct bop *op = bop_add((struct mem_batch *)fb, BOP_WRITE, oid);

	if (!op)
		return;
	op->off = off;
	op->len = len;
	op->wbuf = buf;
}

static void mb_writev(struct fl_batch *fb, const char *oid, const uint64_t *offs,
		      const void *const *bufs, const size_t *lens, size_t n)
{
	struct mem_batch *b = (struct mem_batch *)fb;
	struct bop *op = bop_add(b, BOP_WRITEV, oid);

	if (!op)
		return;
	op->n = n;
	op->offs = malloc((n ? n : 1) * sizeof(*op->offs));
	op->bufs = malloc((n ? n : 1) * sizeof(*op->bufs));
	op->lens = malloc((n ? n : 1) * sizeof(*op->lens));
	if (!op->offs || !op->bufs || !op->lens) {
		op->n = 0;
		if (!b->err)
			b->err = -ENOMEM;
		return;
	}
	memcpy(op->offs, offs, n * sizeof(*offs));
	memcpy(op->bufs, bufs, n * sizeof(*bufs));
	memcpy(op->lens, lens, n * sizeof(*lens));
}

static void mb_remove(struct fl_batch *fb, const char *oid)
{
	bop_add((struct mem_batch *)fb, BOP_REMOVE, oid);
}

static void mb_truncate(struct fl_batch *fb, const char *oid, uint64_t size)
{
	struct bop *op = bop_add((struct mem_batch *)fb, BOP_TRUNCATE, oid);

	if (op)
		op->off = size;
}

static void mb_zero(struct fl_batch *fb, const char *oid, uint64_t off, uint64_t len)
{
	struct bop *op = bop_add((struct mem_batch *)fb, BOP_ZERO, oid);

	if (!op)
		return;
	op->off = off;
	op->len = len;
}

static int bop_run(struct mem_store *ms, struct bop *op);

static void mb_read(struct fl_batch *fb, const char *oid, uint64_t off, size_t len, void *buf,
		    ssize_t *got)
{
	struct mem_batch *b = (struct mem_batch *)fb;
	struct bop *op = bop_add(b, BOP_READ, oid);

	if (!op) {
		if (got)
			*got = b->err;
		return;
	}
	op->off = off;
	op->len = len;
	op->rbuf = buf;
	op->got = got;
	/* RADOS may serve a read any time between sending and completion: half
	 * the reads run now (callers that keep a read's bytes while the object
	 * changes see old ones), half in wait (callers that look at the buffer
	 * before waiting see nothing) */
	pthread_mutex_lock(&b->ms->sh->mu);
	op->ran = sh_rand(b->ms->sh) % 2;
	pthread_mutex_unlock(&b->ms->sh->mu);
	if (op->ran) {
		op->r = mem_enter_oid(b->ms, op->oid);
		if (!op->r) {
			op->r = bop_run(b->ms, op);
			mem_leave(b->ms);
		} else if (got) {
			*got = op->r;
		}
	}
}

static int bop_run(struct mem_store *ms, struct bop *op)
{
	ssize_t got;
	int r;

	if (op->type != BOP_READ) {
		r = msnap_before_write(ms, op->oid, op->ctx);
		if (r)
			return r;
	}
	switch (op->type) {
	case BOP_WRITE:
		return do_write(ms, op->oid, op->off, op->wbuf, op->len);
	case BOP_WRITEV:
		/* atomic: check every extent before touching the object */
		for (size_t i = 0; i < op->n; i++) {
			r = op->lens[i] ? check_extent(op->offs[i], op->lens[i]) : 0;
			if (r)
				return r;
		}
		if (!obj_get(ms, op->oid, true))
			return -ENOMEM;
		for (size_t i = 0; i < op->n; i++) {
			r = do_write(ms, op->oid, op->offs[i], op->bufs[i], op->lens[i]);
			if (r)
				return r;
		}
		return 0;
	case BOP_REMOVE:
		if (obj_find(ms, op->oid))
			obj_delete(ms, op->oid);
		return 0;
	case BOP_TRUNCATE:
		return do_truncate(ms, op->oid, op->off);
	case BOP_ZERO:
		do_zero(ms, op->oid, op->off, op->len);
		return 0;
	case BOP_READ:
		got = do_read(ms, op->oid, op->off, op->len, op->rbuf);
		if (got == -ENOENT)
			got = 0;
		if (op->got)
			*op->got = got;
		return got < 0 ? (int)got : 0;
	}
	return -EINVAL;
}

static int mb_wait(struct fl_batch *fb)
{
	struct mem_batch *b = (struct mem_batch *)fb;
	struct mem_store *ms = b->ms;
	int err = b->err;
	unsigned delay;
	size_t i;

	pthread_mutex_lock(&ms->sh->mu);
	delay = ms->sh->batch_delay_us;
	pthread_mutex_unlock(&ms->sh->mu);
	if (delay)
		usleep(delay); /* a slow OSD, for tests of what runs meanwhile */
	/* no order inside a batch: shuffle */
	pthread_mutex_lock(&ms->sh->mu);
	for (i = b->n; i > 1; i--) {
		size_t j = sh_rand(ms->sh) % i;
		struct bop t = b->ops[i - 1];

		b->ops[i - 1] = b->ops[j];
		b->ops[j] = t;
	}
	pthread_mutex_unlock(&ms->sh->mu);
	for (i = 0; i < b->n; i++) {
		struct bop *op = &b->ops[i];
		int r = op->ran ? op->r : mem_enter_oid(ms, op->oid);

		if (op->ran) {
			/* done when sent */
		} else if (!r) {
			r = bop_run(ms, op);
			mem_leave(ms);
		} else if (op->type == BOP_READ && op->got) {
			*op->got = r;
		}
		if (r && !err)
			err = r;
	}
	for (i = 0; i < b->n; i++) {
		free(b->ops[i].oid);
		msnapc_put(b->ops[i].ctx);
		free(b->ops[i].offs);
		free(b->ops[i].bufs);
		free(b->ops[i].lens);
	}
	free(b->ops);
	free(b);
	return err;
}

static bool mb_done(struct fl_batch *fb)
{
	struct mem_batch *b = (struct mem_batch *)fb;
	bool done;

	/* the ops run in wait and never block, but an OSD takes its time: say
	 * "not yet" at random, so that callers also meet ops still in flight */
	pthread_mutex_lock(&b->ms->sh->mu);
	done = sh_rand(b->ms->sh) % 2;
	pthread_mutex_unlock(&b->ms->sh->mu);
	return done;
}

static const struct fl_batch_ops mem_batch_ops = FL_BATCH_OPS(mb);

struct fl_batch *mem_batch_new(struct fl_store *st)
{
	struct mem_batch *b = fl_batch_alloc(sizeof(*b), &mem_batch_ops);

	if (!b)
		return NULL;
	b->ms = (struct mem_store *)st;
	return &b->base;
}
