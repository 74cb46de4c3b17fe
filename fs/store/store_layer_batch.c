/*
 * flockerfs — the layered store's batches (fs/store/store_layer.h): each
 * write-class op is prepared (copied up, whited out) as it is queued and
 * runs in a batch of the child; a read that may be in either is read from
 * both, and the child's answer decides at wait.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "flocker/buf.h"
#include "fs/store/store_layer_priv.h"

/* A read whose object may be in either: both read, the child's answer decides at wait. */
struct lread {
	char *oid;
	void *buf, *pbuf;
	size_t len;
	ssize_t *got;
	ssize_t cgot, pgot;
};

struct layer_batch {
	struct fl_batch base;
	struct layer *l;
	struct fl_batch *cb, *pb; /* pb made when first needed */
	struct lread *rd;
	size_t nrd, caprd;
	int err; /* first error of a copy-up or whiteout while queueing */
};

static void lb_fail(struct layer_batch *b, int r)
{
	if (r && !b->err)
		b->err = r;
}

/* Prepares oid for a write-class op; false (the error kept) when the op cannot run. */
static bool lb_prep(struct layer_batch *b, const char *oid)
{
	int r = layer_prep_write(b->l, oid);

	lb_fail(b, r);
	return r == 0;
}

static struct fl_batch *lb_parent(struct layer_batch *b)
{
	if (!b->pb) {
		b->pb = fl_batch_new(b->l->parent);
		if (!b->pb)
			lb_fail(b, -ENOMEM);
	}
	return b->pb;
}

static void lb_write(struct fl_batch *fb, const char *oid, uint64_t off, const void *buf,
		     size_t len)
{
	struct layer_batch *b = (struct layer_batch *)fb;

	if (!lb_prep(b, oid))
		return;
	b->cb->ops->write(b->cb, oid, off, buf, len);
	layer_note_created(b->l, oid, 0);
}

static void lb_writev(struct fl_batch *fb, const char *oid, const uint64_t *offs,
		      const void *const *bufs, const size_t *lens, size_t n)
{
	struct layer_batch *b = (struct layer_batch *)fb;

	if (!lb_prep(b, oid))
		return;
	b->cb->ops->writev(b->cb, oid, offs, bufs, lens, n);
	layer_note_created(b->l, oid, 0);
}

static void lb_remove(struct fl_batch *fb, const char *oid)
{
	struct layer_batch *b = (struct layer_batch *)fb;
	struct lent *e;
	bool via_parent;
	int r = layer_prep_remove(b->l, oid, &via_parent, &e);

	if (r) {
		if (e)
			layer_unclaim(b->l, e);
		lb_fail(b, r);
		return;
	}
	b->cb->ops->remove(b->cb, oid);
	/* the whiteout is durable; the child's copy goes at wait (-ENOENT is no error) */
	layer_done_remove(b->l, e);
}

static void lb_truncate(struct fl_batch *fb, const char *oid, uint64_t size)
{
	struct layer_batch *b = (struct layer_batch *)fb;

	if (!lb_prep(b, oid))
		return;
	b->cb->ops->truncate(b->cb, oid, size);
}

static void lb_zero(struct fl_batch *fb, const char *oid, uint64_t off, uint64_t len)
{
	struct layer_batch *b = (struct layer_batch *)fb;

	if (!lb_prep(b, oid))
		return;
	b->cb->ops->zero(b->cb, oid, off, len);
}

static void lb_read(struct fl_batch *fb, const char *oid, uint64_t off, size_t len, void *buf,
		    ssize_t *got)
{
	struct layer_batch *b = (struct layer_batch *)fb;
	enum route rt = layer_route_read(b->l, oid);
	struct fl_batch *pb;
	struct lread *rd;

	if (rt == R_NONE) {
		if (got)
			*got = 0;
		return;
	}
	if (rt == R_CHILD) {
		b->cb->ops->read(b->cb, oid, off, len, buf, got);
		return;
	}
	pb = lb_parent(b);
	if (!pb) {
		if (got)
			*got = -ENOMEM;
		return;
	}
	if (rt == R_PARENT) {
		pb->ops->read(pb, oid, off, len, buf, got);
		return;
	}
	if (fl_grow(&b->rd, &b->caprd, b->nrd, sizeof(*b->rd), 16))
		goto nomem;
	rd = &b->rd[b->nrd];
	memset(rd, 0, sizeof(*rd));
	rd->oid = strdup(oid);
	rd->pbuf = malloc(len ? len : 1);
	if (!rd->oid || !rd->pbuf) {
		free(rd->oid);
		free(rd->pbuf);
		goto nomem;
	}
	rd->buf = buf;
	rd->len = len;
	rd->got = got;
	b->nrd++;
	b->cb->ops->read(b->cb, oid, off, len, buf, &rd->cgot);
	pb->ops->read(pb, oid, off, len, rd->pbuf, &rd->pgot);
	return;
nomem:
	lb_fail(b, -ENOMEM);
	if (got)
		*got = -ENOMEM;
}

static int lb_wait(struct fl_batch *fb)
{
	struct layer_batch *b = (struct layer_batch *)fb;
	struct layer *l = b->l;
	int err = b->err, r;

	r = fl_batch_wait(b->cb);
	err = err ? err : r;
	if (b->pb) {
		r = fl_batch_wait(b->pb);
		err = err ? err : r;
	}
	for (size_t i = 0; i < b->nrd; i++) {
		struct lread *rd = &b->rd[i];
		ssize_t res = rd->cgot;
		uint64_t size;

		if (rd->cgot == 0) {
			/* nothing from the child: missing there, or a hole or EOF there? */
			r = l->child->ops->stat(l->child, rd->oid, &size);
			if (r == -ENOENT) {
				layer_note(l, rd->oid, K_NO, rd->pgot == 0 ? K_UNKNOWN : K_YES);
				res = rd->pgot;
				if (res > 0)
					memcpy(rd->buf, rd->pbuf, (size_t)res);
			} else if (r) {
				res = r;
				err = err ? err : r;
			}
		} else if (rd->cgot > 0) {
			layer_note(l, rd->oid, K_YES, K_UNKNOWN);
		}
		if (rd->got)
			*rd->got = res;
		free(rd->oid);
		free(rd->pbuf);
	}
	free(b->rd);
	free(b);
	return err;
}

static bool lb_done(struct fl_batch *fb)
{
	struct layer_batch *b = (struct layer_batch *)fb;

	return b->cb->ops->done(b->cb) && (!b->pb || b->pb->ops->done(b->pb));
}

static const struct fl_batch_ops layer_batch_ops = FL_BATCH_OPS(lb);

struct fl_batch *layer_batch_new(struct fl_store *st)
{
	struct layer *l = layer_of(st);
	struct layer_batch *b = fl_batch_alloc(sizeof(*b), &layer_batch_ops);

	if (!b)
		return NULL;
	b->l = l;
	b->cb = fl_batch_new(l->child);
	if (!b->cb) {
		free(b);
		return NULL;
	}
	return &b->base;
}
