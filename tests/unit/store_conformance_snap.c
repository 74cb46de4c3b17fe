/*
 * flockerfs — conformance checks of self-managed snapshots (see
 * store_conformance.h): run on the mem store and on Ceph 16.2, so the
 * model in fs/store/store_mem_snap.c agrees with RADOS.
 */
#include "store_conformance.h"
#include "tests/check.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool listed(struct fl_store *st, const char *oid)
{
	struct names nm = {0};

	CHECK_EQ(st->ops->list_objects(st, "s.", names_cb, &nm), 0);
	return names_has(&nm, oid);
}

struct omap_val {
	char val[32];
	int found;
};

static int omap_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct omap_val *v = arg;

	(void)key;
	snprintf(v->val, sizeof(v->val), "%.*s", (int)len, (const char *)val); /* short texts */
	v->found++;
	return 0;
}

/* The value of key in oid's omap: "" with *found 0 when absent. */
static int omap_one(struct fl_store *st, const char *oid, const char *key, char *out, size_t len)
{
	struct omap_val v = {.found = 0};
	const char *keys[1] = {key};
	int r = st->ops->omap_get(st, oid, keys, 1, omap_cb, &v);

	if (r)
		return r;
	snprintf(out, len, "%s", v.found ? v.val : "");
	return v.found;
}

static bool content_is(struct fl_store *st, const char *oid, const char *want)
{
	char buf[64];
	ssize_t n = st->ops->read(st, oid, 0, sizeof(buf) - 1, buf);

	if (n < 0) {
		fprintf(stderr, "read %s: %zd\n", oid, n);
		return false;
	}
	buf[n] = '\0';
	if (strcmp(buf, want))
		fprintf(stderr, "%s holds \"%s\", expected \"%s\"\n", oid, buf, want);
	return !strcmp(buf, want);
}

int store_conformance_snap(struct fl_store *st, const char *ns)
{
	struct fl_store *w = st->ops->clone_ns(st, ns), *r = st->ops->clone_ns(st, ns);
	struct fl_store *old = st->ops->clone_ns(st, ns), *rc = NULL;
	struct fl_kv kv1 = {"k1", "v1", 2}, kv2[2] = {{"k1", "v2", 2}, {"k2", "new", 3}};
	struct fl_locker lk[2];
	struct fl_batch *b;
	uint64_t id = 0, id2 = 0, size;
	char val[32];
	int before = check_failures;

	if (!w || !r || !old) {
		CHECK(!"cannot clone the store");
		goto out;
	}
	CHECK_EQ(store_clean_ns(st), 0);

	/* before the snapshot: data, omap, a lock (an xattr in RADOS) */
	CHECK_EQ(w->ops->write_full(w, "s.data", "before", 6), 0);
	CHECK_EQ(w->ops->omap_update(w, "s.data", &kv1, 1, NULL, 0, NULL, 0), 0);
	CHECK_EQ(w->ops->lock_exclusive(w, "s.data", "L", "c1", "held", 0, false), 0);
	CHECK_EQ(w->ops->write_full(w, "s.gone", "gone", 4), 0);
	CHECK_EQ(w->ops->write_full(w, "s.same", "same", 4), 0);
	CHECK_EQ(w->ops->write_full(w, "s.batch", "batch0", 6), 0);
	CHECK_EQ(w->ops->write_full(w, "s.oldctx", "old0", 4), 0);

	CHECK_EQ(w->ops->snap_create(w, &id), 0);
	CHECK(id != 0 && id != FL_SNAP_HEAD);
	CHECK_EQ(w->ops->set_write_ctx(w, id, &id, 1), 0);
	/* snaps newest first, none above seq */
	CHECK_EQ(w->ops->set_write_ctx(w, id - 1, &id, 1), -EINVAL);

	/* after it */
	CHECK_EQ(w->ops->write_full(w, "s.data", "after!!", 7), 0);
	CHECK_EQ(w->ops->omap_update(w, "s.data", kv2, 2, NULL, 0, NULL, 0), 0);
	CHECK_EQ(w->ops->unlock(w, "s.data", "L", "c1"), 0);
	CHECK_EQ(w->ops->remove(w, "s.gone"), 0);
	CHECK_EQ(w->ops->write_full(w, "s.new", "new", 3), 0);
	b = fl_batch_new(w);
	b->ops->write(b, "s.batch", 0, "BATCH1", 6);
	CHECK_EQ(fl_batch_wait(b), 0);
	/* a handle still on the old (empty) context saves no clone */
	CHECK_EQ(old->ops->write_full(old, "s.oldctx", "old1", 4), 0);

	/* the head */
	CHECK(content_is(st, "s.data", "after!!"));
	CHECK_EQ(omap_one(st, "s.data", "k2", val, sizeof(val)), 1);
	CHECK_EQ(st->ops->stat(st, "s.gone", NULL), -ENOENT);

	/* at the snapshot */
	CHECK_EQ(r->ops->set_read_snap(r, id), 0);
	CHECK(content_is(r, "s.data", "before"));
	CHECK_EQ(omap_one(r, "s.data", "k1", val, sizeof(val)), 1);
	CHECK_STR(val, "v1");
	CHECK_EQ(omap_one(r, "s.data", "k2", val, sizeof(val)), 0);
	memset(lk, 0, sizeof(lk));
	CHECK_EQ(r->ops->list_lockers(r, "s.data", "L", lk, 2, NULL, 0), 1);
	CHECK_EQ(st->ops->list_lockers(st, "s.data", "L", lk, 2, NULL, 0), 0);
	CHECK(content_is(r, "s.gone", "gone"));
	CHECK(content_is(r, "s.same", "same"));
	CHECK(content_is(r, "s.batch", "batch0"));
	CHECK(content_is(r, "s.oldctx", "old1"));
	CHECK_EQ(r->ops->stat(r, "s.new", NULL), -ENOENT);
	CHECK_EQ(r->ops->stat(r, "s.data", &size), 0);
	CHECK_EQ(size, 6);
	/* a clone of a snapshot handle reads at the snapshot too */
	rc = r->ops->clone_ns(r, ns);
	CHECK(rc && content_is(rc, "s.data", "before"));

	/* listing shows the heads, and removed ones that have clones, whatever
	 * the read snapshot (Ceph 16.2) */
	CHECK(listed(st, "s.gone"));
	CHECK(listed(st, "s.new"));
	CHECK(listed(r, "s.gone"));
	CHECK(listed(r, "s.new"));
	CHECK(!listed(st, "s.never"));

	/* nothing is written at a snapshot */
	CHECK_EQ(r->ops->write(r, "s.data", 0, "x", 1), -EROFS);
	CHECK_EQ(r->ops->write_full(r, "s.data", "x", 1), -EROFS);
	CHECK_EQ(r->ops->omap_update(r, "s.data", &kv1, 1, NULL, 0, NULL, 0), -EROFS);
	CHECK_EQ(r->ops->remove(r, "s.same"), -EROFS);
	CHECK_EQ(r->ops->truncate(r, "s.same", 1), -EROFS);
	b = fl_batch_new(r);
	b->ops->write(b, "s.same", 0, "x", 1);
	CHECK_EQ(fl_batch_wait(b), -EROFS);
	CHECK(content_is(st, "s.same", "same"));

	/* a second snapshot, then rollback of everything to the first */
	CHECK_EQ(w->ops->snap_create(w, &id2), 0);
	CHECK(id2 > id);
	{
		uint64_t snaps[2] = {id2, id};

		CHECK_EQ(w->ops->set_write_ctx(w, id2, snaps, 2), 0);
	}
	CHECK_EQ(w->ops->write_full(w, "s.data", "third", 5), 0);
	CHECK_EQ(w->ops->snap_rollback(w, "s.data", id), 0);
	CHECK_EQ(w->ops->snap_rollback(w, "s.gone", id), 0);
	CHECK_EQ(w->ops->snap_rollback(w, "s.new", id), 0);
	CHECK_EQ(r->ops->snap_rollback(r, "s.same", id), -EROFS);
	CHECK(content_is(st, "s.data", "before"));
	CHECK_EQ(omap_one(st, "s.data", "k1", val, sizeof(val)), 1);
	CHECK_STR(val, "v1");
	CHECK_EQ(omap_one(st, "s.data", "k2", val, sizeof(val)), 0);
	CHECK_EQ(st->ops->list_lockers(st, "s.data", "L", lk, 2, NULL, 0), 1);
	CHECK(content_is(st, "s.gone", "gone"));
	CHECK_EQ(st->ops->stat(st, "s.new", NULL), -ENOENT);
	/* the second snapshot still holds what was before the rollback */
	CHECK_EQ(r->ops->set_read_snap(r, id2), 0);
	CHECK(content_is(r, "s.data", "after!!"));
	CHECK_EQ(r->ops->stat(r, "s.gone", NULL), -ENOENT);
	CHECK(content_is(r, "s.new", "new"));

	/* back to the head */
	CHECK_EQ(r->ops->set_read_snap(r, FL_SNAP_HEAD), 0);
	CHECK(content_is(r, "s.data", "before"));
	CHECK_EQ(r->ops->write(r, "s.x", 0, "x", 1), 0);
out:
	if (w) {
		CHECK_EQ(w->ops->set_write_ctx(w, 0, NULL, 0), 0);
		CHECK_EQ(w->ops->unlock(w, "s.data", "L", "c1"), 0);
		if (id)
			CHECK_EQ(w->ops->snap_remove(w, id), 0);
		if (id2)
			CHECK_EQ(w->ops->snap_remove(w, id2), 0);
		CHECK_EQ(store_clean_ns(w), 0);
	}
	fl_store_close(rc);
	fl_store_close(old);
	fl_store_close(r);
	fl_store_close(w);
	return check_failures - before;
}
