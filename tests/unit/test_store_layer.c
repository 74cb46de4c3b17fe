/*
 * flockerfs — the layered store (fs/store/store_layer.c) on mem stores:
 * the store contract through a layer, then every op kind on objects the
 * child only, the parent only, both, or neither has, and whited-out ones;
 * copy-ups of omap objects; crash-like states; the caches; threads.
 */
#include "fs/store/store_layer.h"
#include "store_conformance.h"
#include "tests/check.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct fl_store *root;
static unsigned ns_seq;

struct env {
	struct fl_store *p, *c; /* plain handles on the parent's and child's namespaces */
	struct fl_store *l;	/* the layer (over its own two handles) */
	char pns[32], cns[32];
};

static struct fl_store *layer_on(struct env *e)
{
	struct fl_store *c = root->ops->clone_ns(root, e->cns),
			*p = root->ops->clone_ns(root, e->pns);
	struct fl_store *l = c && p ? fl_layer_open(c, p) : NULL;

	if (!l) {
		fl_store_close(c);
		fl_store_close(p);
	}
	return l;
}

static int put_omap(struct fl_store *st, const char *oid, const char *key, const char *val)
{
	struct fl_kv kv = {key, val, strlen(val)};

	return st->ops->omap_update(st, oid, &kv, 1, NULL, 0, NULL, 0);
}

/*
 * Parent: pd (data), po (omap k1 k2), pb (data + omap), both (data "parent"),
 * gone (data, whited out in the child), big (3000 keys), data.<ino 5>.0.
 * Child: co (data), both (data "child"), whiteout of gone.
 */
static void env_init(struct env *e)
{
	char key[16];

	ns_seq++;
	snprintf(e->pns, sizeof(e->pns), "p%u", ns_seq);
	snprintf(e->cns, sizeof(e->cns), "c%u", ns_seq);
	e->p = root->ops->clone_ns(root, e->pns);
	e->c = root->ops->clone_ns(root, e->cns);
	CHECK_EQ(e->p->ops->write(e->p, "pd", 0, "parentdata", 10), 0);
	CHECK_EQ(put_omap(e->p, "po", "k1", "v1"), 0);
	CHECK_EQ(put_omap(e->p, "po", "k2", "v2"), 0);
	CHECK_EQ(e->p->ops->write(e->p, "pb", 0, "bytes", 5), 0);
	CHECK_EQ(put_omap(e->p, "pb", "m", "x"), 0);
	CHECK_EQ(e->p->ops->write(e->p, "both", 0, "parent", 6), 0);
	CHECK_EQ(e->p->ops->write(e->p, "gone", 0, "ghost", 5), 0);
	for (int i = 0; i < 3000; i++) {
		snprintf(key, sizeof(key), "key%05d", i);
		CHECK_EQ(put_omap(e->p, "big", key, key), 0);
	}
	CHECK_EQ(e->p->ops->write(e->p, "data.0000000000000005.00000000", 0, "five", 4), 0);
	CHECK_EQ(e->p->ops->write(e->p, "super", 0, "psuper", 6), 0);
	CHECK_EQ(e->c->ops->write(e->c, "co", 0, "childonly", 9), 0);
	CHECK_EQ(e->c->ops->write(e->c, "both", 0, "child", 5), 0);
	CHECK_EQ(put_omap(e->c, FL_OID_WHITEOUT, "gone", ""), 0);
	CHECK_EQ(e->c->ops->write(e->c, "super", 0, "csuper", 6), 0);
	e->l = layer_on(e);
	CHECK(e->l != NULL);
}

static void env_free(struct env *e)
{
	fl_store_close(e->l);
	store_clean_ns(e->p);
	store_clean_ns(e->c);
	fl_store_close(e->p);
	fl_store_close(e->c);
}

/* The object's bytes as a string ("" if empty, "ENOENT" if missing). */
static const char *rd(struct fl_store *st, const char *oid)
{
	static char buf[256];
	ssize_t n = st->ops->read(st, oid, 0, sizeof(buf) - 1, buf);

	if (n < 0)
		snprintf(buf, sizeof(buf), "%s", n == -ENOENT ? "ENOENT" : "ERR");
	else
		buf[n] = '\0';
	return buf;
}

struct okv {
	char s[512];
};

static int okv_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct okv *o = arg;
	size_t n = strlen(o->s);

	snprintf(o->s + n, sizeof(o->s) - n, "%s=%.*s;", key, (int)len, (const char *)val);
	return 0;
}

/* The omap as "k=v;k=v;" (first 100 keys), or "ENOENT". */
static const char *om(struct fl_store *st, const char *oid)
{
	static struct okv o;
	bool more;
	int r;

	o.s[0] = '\0';
	r = st->ops->omap_list(st, oid, NULL, 100, okv_cb, &o, &more);
	if (r)
		snprintf(o.s, sizeof(o.s), "%s", r == -ENOENT ? "ENOENT" : "ERR");
	return o.s;
}

static bool has_key(struct fl_store *st, const char *oid, const char *key)
{
	struct okv o = {{0}};
	const char *keys[1] = {key};

	return st->ops->omap_get(st, oid, keys, 1, okv_cb, &o) == 0 && o.s[0];
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The listing, sorted, as "a,b,c,". */
static const char *ls(struct fl_store *st, const char *prefix)
{
	static char out[1024];
	struct names nm = {0};
	char *v[64];
	size_t n;

	CHECK_EQ(st->ops->list_objects(st, prefix, names_cb, &nm), 0);
	for (n = 0; n < nm.n && n < 64; n++)
		v[n] = nm.list[n];
	qsort(v, n, sizeof(v[0]), cmp_str);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strncat(out, v[i], sizeof(out) - strlen(out) - 2);
		strcat(out, ",");
	}
	return out;
}

static void test_conformance(void)
{
	struct fl_store *c1 = root->ops->clone_ns(root, "lconf"),
			*p1 = root->ops->clone_ns(root, "lconf.parent"),
			*c2 = root->ops->clone_ns(root, "lconf"),
			*p2 = root->ops->clone_ns(root, "lconf.parent");
	struct fl_store *a = fl_layer_open(c1, p1), *b = fl_layer_open(c2, p2);

	CHECK(a && b);
	if (a && b)
		check_failures += store_conformance(a, b, "lconf");
	fl_store_close(a);
	fl_store_close(b);
}

static void test_reads(void)
{
	struct env e;
	uint64_t size = 0;

	env_init(&e);
	CHECK_STR(rd(e.l, "pd"), "parentdata");
	CHECK_STR(rd(e.l, "co"), "childonly");
	CHECK_STR(rd(e.l, "both"), "child");
	CHECK_STR(rd(e.l, "gone"), "ENOENT");
	CHECK_STR(rd(e.l, "none"), "ENOENT");
	CHECK_STR(rd(e.l, "super"), "csuper");
	CHECK_STR(om(e.l, "po"), "k1=v1;k2=v2;");
	CHECK_STR(om(e.l, "pb"), "m=x;");
	CHECK_STR(om(e.l, "gone"), "ENOENT");
	CHECK_EQ(e.l->ops->stat(e.l, "gone", &size), -ENOENT);
	CHECK_EQ(e.l->ops->stat(e.l, "pd", &size), 0);
	CHECK_EQ(size, 10);
	CHECK_EQ(e.l->ops->stat(e.l, "both", &size), 0);
	CHECK_EQ(size, 5);
	CHECK(has_key(e.l, "po", "k2"));
	CHECK(!has_key(e.l, "po", "k3"));
	/* union minus whiteouts; super once; the layer's bookkeeping hidden */
	CHECK_STR(ls(e.l, NULL), "big,both,co,data.0000000000000005.00000000,pb,pd,po,super,");
	CHECK_STR(ls(e.l, "p"), "pb,pd,po,");
	/* reading wrote nothing */
	CHECK_STR(ls(e.c, NULL), "both,co,super,whiteouts,");
	/* list_lockers of an object seen through the parent: none, and no error */
	{
		struct fl_locker lk[1];

		CHECK_EQ(e.l->ops->list_lockers(e.l, "pd", "L", lk, 1, NULL, 0), 0);
		CHECK_EQ(e.l->ops->list_lockers(e.l, "gone", "L", lk, 1, NULL, 0), -ENOENT);
	}
	env_free(&e);
}

/* Every write-class op on an object only the parent has: copied up, then applied. */
static void test_copy_up_ops(void)
{
	struct env e;
	struct fl_kv kv = {"k3", "v3", 2};
	const char *rm[1] = {"k1"};
	struct fl_omap_cmp cmp = {"k2", "v2", 2};
	uint64_t cu;

	env_init(&e);
	CHECK_EQ(e.l->ops->write(e.l, "pd", 0, "P", 1), 0);
	CHECK_STR(rd(e.l, "pd"), "Parentdata");
	CHECK_STR(rd(e.c, "pd"), "Parentdata");
	CHECK_STR(rd(e.p, "pd"), "parentdata");

	CHECK_EQ(e.l->ops->omap_update(e.l, "po", &kv, 1, rm, 1, &cmp, 1), 0);
	CHECK_STR(om(e.l, "po"), "k2=v2;k3=v3;");
	CHECK_STR(om(e.p, "po"), "k1=v1;k2=v2;");
	/* a compare is checked against the copy */
	cmp.val = "no";
	cmp.len = 2;
	CHECK_EQ(e.l->ops->omap_update(e.l, "pb", &kv, 1, NULL, 0, &cmp, 1), -ECANCELED);
	CHECK_STR(om(e.l, "pb"), "m=x;");

	/* data + omap: both copied; write_full keeps the omap */
	CHECK_EQ(e.l->ops->write_full(e.l, "pb", "new", 3), 0);
	CHECK_STR(rd(e.l, "pb"), "new");
	CHECK_STR(om(e.l, "pb"), "m=x;");
	CHECK_STR(rd(e.p, "pb"), "bytes");

	CHECK_EQ(e.p->ops->write(e.p, "ap", 0, "abc", 3), 0);
	CHECK_EQ(e.l->ops->append(e.l, "ap", "def", 3), 0);
	CHECK_STR(rd(e.l, "ap"), "abcdef");
	CHECK_EQ(e.p->ops->write(e.p, "tr", 0, "abcdef", 6), 0);
	CHECK_EQ(e.l->ops->truncate(e.l, "tr", 2), 0);
	CHECK_STR(rd(e.l, "tr"), "ab");
	CHECK_STR(rd(e.p, "tr"), "abcdef");
	CHECK_EQ(e.p->ops->write(e.p, "lk", 0, "lock", 4), 0);
	CHECK_EQ(e.l->ops->lock_exclusive(e.l, "lk", "L", "c", "", 0, false), 0);
	CHECK_STR(rd(e.c, "lk"), "lock");
	CHECK_EQ(e.l->ops->unlock(e.l, "lk", "L", "c"), 0);

	/* 3000 keys: several ops, announced and struck out */
	CHECK_EQ(put_omap(e.l, "big", "key99999", "z"), 0);
	{
		uint64_t n = 0;
		struct okv o = {{0}};
		const char *keys[3] = {"key00000", "key02999", "key99999"};

		CHECK_EQ(e.c->ops->omap_get(e.c, "big", keys, 3, okv_cb, &o), 0);
		CHECK_STR(o.s, "key00000=key00000;key02999=key02999;key99999=z;");
		CHECK_EQ(e.c->ops->stat(e.c, FL_OID_COPYUPS, &n), 0);
		CHECK_STR(om(e.c, FL_OID_COPYUPS), "");
	}
	/* write on a parent-only object, in a batch: writev, zero */
	{
		struct fl_batch *b = fl_batch_new(e.l);
		uint64_t offs[2] = {0, 4};
		const void *bufs[2] = {"X", "Y"};
		size_t lens[2] = {1, 1};

		CHECK_EQ(e.p->ops->write(e.p, "wv", 0, "abcdefgh", 8), 0);
		CHECK_EQ(e.p->ops->write(e.p, "zr", 0, "abcdefgh", 8), 0);
		CHECK_EQ(e.p->ops->write(e.p, "bt", 0, "abcdefgh", 8), 0);
		b->ops->writev(b, "wv", offs, bufs, lens, 2);
		b->ops->zero(b, "zr", 2, 2);
		b->ops->truncate(b, "bt", 3);
		b->ops->write(b, "pd", 9, "!", 1);
		CHECK_EQ(fl_batch_wait(b), 0);
		CHECK_STR(rd(e.l, "wv"), "XbcdYfgh");
		CHECK(!memcmp(rd(e.l, "zr"), "ab\0\0efgh", 8));
		CHECK_STR(rd(e.l, "bt"), "abc");
		CHECK_STR(rd(e.l, "pd"), "Parentdat!");
		CHECK_STR(rd(e.p, "wv"), "abcdefgh");
		CHECK_STR(rd(e.p, "zr"), "abcdefgh");
	}
	/* child-only and both: no copy-up */
	fl_layer_stats(e.l, &cu, NULL);
	CHECK_EQ(e.l->ops->write(e.l, "both", 0, "C", 1), 0);
	CHECK_EQ(e.l->ops->write(e.l, "co", 0, "C", 1), 0);
	CHECK_EQ(e.l->ops->write(e.l, "fresh", 0, "new", 3), 0);
	{
		uint64_t cu2;

		fl_layer_stats(e.l, &cu2, NULL);
		CHECK_EQ(cu2, cu);
	}
	CHECK_STR(rd(e.l, "both"), "Child");
	CHECK_STR(rd(e.p, "both"), "parent");
	CHECK_STR(rd(e.l, "fresh"), "new");
	CHECK_STR(rd(e.p, "fresh"), "ENOENT");
	env_free(&e);
}

static void test_removes(void)
{
	struct env e;
	struct fl_store *again;

	env_init(&e);
	/* parent only: a whiteout, then gone; the parent keeps it */
	CHECK_EQ(e.l->ops->remove(e.l, "pd"), 0);
	CHECK_STR(rd(e.l, "pd"), "ENOENT");
	CHECK(has_key(e.c, FL_OID_WHITEOUT, "pd"));
	CHECK_STR(rd(e.p, "pd"), "parentdata");
	CHECK_EQ(e.l->ops->remove(e.l, "pd"), -ENOENT);
	/* re-created: no copy-up, the child's copy wins */
	CHECK_EQ(e.l->ops->write(e.l, "pd", 2, "xy", 2), 0);
	CHECK(!memcmp(rd(e.l, "pd"), "\0\0xy", 4));
	CHECK_EQ(e.l->ops->remove(e.l, "pd"), 0);
	CHECK_STR(rd(e.l, "pd"), "ENOENT");
	/* omap object: gone with its keys */
	CHECK_EQ(e.l->ops->remove(e.l, "po"), 0);
	CHECK_STR(om(e.l, "po"), "ENOENT");
	CHECK_EQ(put_omap(e.l, "po", "k9", "v9"), 0);
	CHECK_STR(om(e.l, "po"), "k9=v9;");
	/* both: whiteout and the child's copy removed */
	CHECK_EQ(e.l->ops->remove(e.l, "both"), 0);
	CHECK_STR(rd(e.l, "both"), "ENOENT");
	CHECK_STR(rd(e.c, "both"), "ENOENT");
	CHECK_STR(rd(e.p, "both"), "parent");
	/* child only: no whiteout */
	CHECK_EQ(e.l->ops->remove(e.l, "co"), 0);
	CHECK(!has_key(e.c, FL_OID_WHITEOUT, "co"));
	CHECK_STR(rd(e.l, "co"), "ENOENT");
	/* neither; whited out already */
	CHECK_EQ(e.l->ops->remove(e.l, "none"), -ENOENT);
	CHECK_EQ(e.l->ops->remove(e.l, "gone"), -ENOENT);
	/* batch remove of a parent-only object */
	{
		struct fl_batch *b = fl_batch_new(e.l);

		b->ops->remove(b, "pb");
		b->ops->remove(b, "none2");
		CHECK_EQ(fl_batch_wait(b), 0);
		CHECK_STR(rd(e.l, "pb"), "ENOENT");
		CHECK(has_key(e.c, FL_OID_WHITEOUT, "pb"));
	}
	CHECK_STR(ls(e.l, NULL), "big,data.0000000000000005.00000000,po,super,");
	/* another layer on the same namespaces sees the whiteouts */
	again = layer_on(&e);
	CHECK(again != NULL);
	if (again) {
		CHECK_STR(rd(again, "pb"), "ENOENT");
		CHECK_STR(rd(again, "both"), "ENOENT");
		CHECK_STR(om(again, "po"), "k9=v9;");
		CHECK_STR(ls(again, NULL), "big,data.0000000000000005.00000000,po,super,");
		fl_store_close(again);
	}
	env_free(&e);
}

static void test_batch_reads(void)
{
	struct env e;
	char b1[16], b2[16], b3[16], b4[16], b5[16], b6[16];
	ssize_t g1 = -1, g2 = -1, g3 = -1, g4 = -1, g5 = -1, g6 = -1;
	struct fl_batch *b;

	env_init(&e);
	/* the child's copy is shorter than the parent's: its EOF wins */
	CHECK_EQ(e.p->ops->write(e.p, "short", 0, "longparent", 10), 0);
	CHECK_EQ(e.c->ops->write(e.c, "short", 0, "s", 1), 0);
	for (int round = 0; round < 2; round++) {
		b = fl_batch_new(e.l);
		b->ops->read(b, "pd", 0, sizeof(b1), b1, &g1);
		b->ops->read(b, "co", 0, sizeof(b2), b2, &g2);
		b->ops->read(b, "both", 0, sizeof(b3), b3, &g3);
		b->ops->read(b, "gone", 0, sizeof(b4), b4, &g4);
		b->ops->read(b, "none", 0, sizeof(b5), b5, &g5);
		b->ops->read(b, "short", 4, sizeof(b6), b6, &g6);
		CHECK_EQ(fl_batch_wait(b), 0);
		CHECK_EQ(g1, 10);
		CHECK(!memcmp(b1, "parentdata", 10));
		CHECK_EQ(g2, 9);
		CHECK(!memcmp(b2, "childonly", 9));
		CHECK_EQ(g3, 5);
		CHECK(!memcmp(b3, "child", 5));
		CHECK_EQ(g4, 0);
		CHECK_EQ(g5, 0);
		CHECK_EQ(g6, 0);
		/* second round: what the first learned (as a writer) */
		CHECK_EQ(e.l->ops->write(e.l, "w", 0, "w", 1), 0);
	}
	env_free(&e);
}

/* A copy-up written but the op not; a several-op copy-up cut short; a whiteout without its remove.
 */
static void test_crash_states(void)
{
	struct env e;
	struct fl_store *l2;
	char key[16];

	env_init(&e);
	/* whole copy in the child, op lost: reads the copy (same bytes), next op applies */
	CHECK_EQ(e.c->ops->write(e.c, "pd", 0, "parentdata", 10), 0);
	CHECK_STR(rd(e.l, "pd"), "parentdata");
	CHECK_EQ(e.l->ops->write(e.l, "pd", 0, "Q", 1), 0);
	CHECK_STR(rd(e.l, "pd"), "Qarentdata");

	/* half a copy of big (announced): readers see the parent's; the writer redoes it */
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "key%05d", i);
		CHECK_EQ(put_omap(e.c, "big", key, "half"), 0);
	}
	CHECK_EQ(put_omap(e.c, FL_OID_COPYUPS, "big", ""), 0);
	l2 = layer_on(&e);
	CHECK(l2 != NULL);
	if (!l2)
		goto out;
	CHECK_STR(om(e.c, "big"), "key00000=half;key00001=half;key00002=half;key00003=half;"
				  "key00004=half;key00005=half;key00006=half;key00007=half;"
				  "key00008=half;key00009=half;");
	CHECK(!strncmp(om(l2, "big"), "key00000=key00000;", 18));
	CHECK_EQ(put_omap(l2, "big", "new", "n"), 0);
	{
		struct okv o = {{0}};
		const char *keys[3] = {"key00001", "key02999", "new"};

		CHECK_EQ(l2->ops->omap_get(l2, "big", keys, 3, okv_cb, &o), 0);
		CHECK_STR(o.s, "key00001=key00001;key02999=key02999;new=n;");
	}
	CHECK_STR(om(e.c, FL_OID_COPYUPS), "");

	/* whiteout written, remove not: the child's copy still wins; the remove then works */
	CHECK_EQ(e.c->ops->write(e.c, "half", 0, "h", 1), 0);
	CHECK_EQ(e.p->ops->write(e.p, "half", 0, "H", 1), 0);
	CHECK_EQ(put_omap(e.c, FL_OID_WHITEOUT, "half", ""), 0);
	fl_store_close(l2);
	l2 = layer_on(&e);
	if (!l2)
		goto out;
	CHECK_STR(rd(l2, "half"), "h");
	CHECK_EQ(l2->ops->remove(l2, "half"), 0);
	CHECK_STR(rd(l2, "half"), "ENOENT");
	fl_store_close(l2);

	/* the writer (lock on super) removes half copies at its first write */
	CHECK_EQ(put_omap(e.c, "po", "k1", "half"), 0);
	CHECK_EQ(put_omap(e.c, FL_OID_COPYUPS, "po", ""), 0);
	l2 = layer_on(&e);
	if (!l2)
		goto out;
	CHECK_STR(om(l2, "po"), "k1=v1;k2=v2;");
	CHECK_EQ(l2->ops->lock_exclusive(l2, "super", "L", "c", "", 0, false), 0);
	CHECK_EQ(l2->ops->write(l2, "other", 0, "o", 1), 0);
	CHECK_STR(om(e.c, "po"), "ENOENT");
	CHECK_STR(om(e.c, FL_OID_COPYUPS), "");
	CHECK_STR(om(l2, "po"), "k1=v1;k2=v2;");
	CHECK_EQ(l2->ops->unlock(l2, "super", "L", "c"), 0);
	fl_store_close(l2);
out:
	env_free(&e);
}

/* A failed copy-up changes nothing; the op then succeeds on retry. */
static void test_faults(void)
{
	struct env e;
	int r;

	env_init(&e);
	for (int n = 1; n <= 8; n++) {
		char oid[16];

		snprintf(oid, sizeof(oid), "f%d", n);
		CHECK_EQ(put_omap(e.p, oid, "a", "1"), 0);
		CHECK_EQ(e.p->ops->write(e.p, oid, 0, "data", 4), 0);
		fl_mem_inject_error(e.p, -EIO, n);
		r = e.l->ops->write(e.l, oid, 0, "D", 1);
		fl_mem_inject_error(e.p, 0, 0);
		if (r) {
			CHECK_EQ(r, -EIO);
			CHECK_STR(rd(e.p, oid), "data");
		}
		CHECK_EQ(e.l->ops->write(e.l, oid, 0, "D", 1), 0);
		CHECK_STR(rd(e.l, oid), "Data");
		CHECK_STR(om(e.l, oid), "a=1;");
		CHECK_STR(rd(e.p, oid), "data");
	}
	env_free(&e);
}

/* No look-up per op: one copy-up for many writes, none for new inodes. */
static void test_caches(void)
{
	struct env e;
	uint64_t cu, ps, cu2, ps2;

	env_init(&e);
	fl_layer_set_ino_bound(e.l, 5);
	fl_layer_stats(e.l, &cu, &ps);
	for (int i = 0; i < 100; i++)
		CHECK_EQ(e.l->ops->write(e.l, "pd", (uint64_t)i, "z", 1), 0);
	fl_layer_stats(e.l, &cu2, &ps2);
	CHECK_EQ(cu2 - cu, 1);
	CHECK_EQ(ps2 - ps, 1);
	/* ino 5 >= the bound: the parent's (impossible) object is never seen */
	CHECK_STR(rd(e.l, "data.0000000000000005.00000000"), "ENOENT");
	for (int i = 0; i < 100; i++) {
		char oid[64];

		snprintf(oid, sizeof(oid), "data.%016x.%08x", 5 + i % 3, i);
		CHECK_EQ(e.l->ops->write(e.l, oid, 0, "n", 1), 0);
	}
	CHECK_EQ(e.l->ops->remove(e.l, "data.0000000000000006.00000001"), 0);
	fl_layer_stats(e.l, &cu, &ps);
	CHECK_EQ(cu, cu2);
	CHECK_EQ(ps, ps2);
	/* a new object below the bound: one look-up, then known */
	for (int i = 0; i < 10; i++)
		CHECK_EQ(e.l->ops->write(e.l, "data.0000000000000004.00000000", 0, "o", 1), 0);
	fl_layer_stats(e.l, &cu2, &ps2);
	CHECK_EQ(ps2 - ps, 1);
	env_free(&e);
}

struct wthread {
	struct fl_store *l;
	int id;
};

static void *writer_thread(void *p)
{
	struct wthread *w = p;
	char c = (char)('A' + w->id);

	for (int i = 0; i < 50; i++) {
		char oid[16];

		snprintf(oid, sizeof(oid), "t%d", i);
		if (w->l->ops->write(w->l, oid, (uint64_t)w->id, &c, 1))
			return (void *)1;
	}
	return NULL;
}

/* Threads writing the same parent-only objects: one copy-up each, no write lost. */
static void test_threads(void)
{
	struct env e;
	pthread_t th[8];
	struct wthread w[8];
	uint64_t cu0, cu;

	env_init(&e);
	for (int i = 0; i < 50; i++) {
		char oid[16];

		snprintf(oid, sizeof(oid), "t%d", i);
		CHECK_EQ(e.p->ops->write(e.p, oid, 0, "........", 8), 0);
	}
	fl_layer_stats(e.l, &cu0, NULL);
	for (int i = 0; i < 8; i++) {
		w[i].l = e.l;
		w[i].id = i;
		pthread_create(&th[i], NULL, writer_thread, &w[i]);
	}
	for (int i = 0; i < 8; i++) {
		void *ret;

		pthread_join(th[i], &ret);
		CHECK(ret == NULL);
	}
	fl_layer_stats(e.l, &cu, NULL);
	CHECK_EQ(cu - cu0, 50);
	for (int i = 0; i < 50; i++) {
		char oid[16];

		snprintf(oid, sizeof(oid), "t%d", i);
		CHECK_STR(rd(e.l, oid), "ABCDEFGH");
	}
	env_free(&e);
}

static void progress(void *arg, uint64_t done, uint64_t total)
{
	uint64_t *last = arg;

	CHECK(done <= total);
	*last = done;
}

static void test_copy_up_all(void)
{
	struct env e;
	uint64_t last = 0;
	long n;

	env_init(&e);
	CHECK_EQ(e.l->ops->remove(e.l, "po"), 0);
	n = fl_layer_copy_up_all(e.l, progress, &last);
	/* pd pb big data.5 (not: both, gone, po, super) */
	CHECK_EQ(n, 4);
	CHECK(last > 0);
	CHECK_STR(ls(e.c, NULL),
		  "big,both,co,data.0000000000000005.00000000,layer.copyups,pb,pd,super,"
		  "whiteouts,");
	CHECK_STR(rd(e.c, "pd"), "parentdata");
	CHECK_STR(om(e.c, "pb"), "m=x;");
	CHECK_STR(rd(e.c, "both"), "child");
	CHECK_EQ(fl_layer_copy_up_all(e.l, NULL, NULL), 0);
	env_free(&e);
}

/* The parent read at a snapshot: later changes of the parent do not show. */
static void test_parent_snapshot(void)
{
	struct env e;
	struct fl_store *c, *p, *l;
	uint64_t id, seq;

	env_init(&e);
	CHECK_EQ(e.p->ops->snap_create(e.p, &id), 0);
	seq = id;
	CHECK_EQ(e.p->ops->set_write_ctx(e.p, seq, &id, 1), 0);
	CHECK_EQ(e.p->ops->write(e.p, "pd", 0, "CHANGED", 7), 0);
	CHECK_EQ(e.p->ops->remove(e.p, "po"), 0);
	CHECK_EQ(e.p->ops->write(e.p, "later", 0, "l", 1), 0);
	c = root->ops->clone_ns(root, e.cns);
	p = root->ops->clone_ns(root, e.pns);
	CHECK_EQ(p->ops->set_read_snap(p, id), 0);
	l = fl_layer_open(c, p);
	CHECK(l != NULL);
	if (!l)
		goto out;
	CHECK_STR(rd(l, "pd"), "parentdata");
	CHECK_STR(om(l, "po"), "k1=v1;k2=v2;");
	CHECK_STR(rd(l, "later"), "ENOENT");
	/* copy-up takes the snapshot's state */
	CHECK_EQ(l->ops->write(l, "pd", 0, "x", 1), 0);
	CHECK_STR(rd(l, "pd"), "xarentdata");
	CHECK_EQ(put_omap(l, "po", "k3", "v3"), 0);
	CHECK_STR(om(l, "po"), "k1=v1;k2=v2;k3=v3;");
	CHECK_STR(rd(e.p, "pd"), "CHANGEData");

	/* the clone's own snapshot: read at it, the child is as it was, whiteouts too */
	{
		uint64_t cid;
		struct fl_store *c2 = root->ops->clone_ns(root, e.cns),
				*p2 = root->ops->clone_ns(root, e.pns), *l2;

		CHECK_EQ(l->ops->snap_create(l, &cid), 0);
		CHECK_EQ(l->ops->set_write_ctx(l, cid, &cid, 1), 0);
		CHECK_EQ(l->ops->remove(l, "pb"), 0);
		CHECK_EQ(l->ops->write(l, "pd", 0, "y", 1), 0);
		CHECK_STR(rd(l, "pb"), "ENOENT");
		CHECK_EQ(p2->ops->set_read_snap(p2, id), 0);
		l2 = fl_layer_open(c2, p2);
		CHECK(l2 != NULL);
		if (l2) {
			CHECK_EQ(l2->ops->set_read_snap(l2, cid), 0);
			CHECK_STR(rd(l2, "pb"), "bytes");
			CHECK_STR(rd(l2, "pd"), "xarentdata");
			CHECK_EQ(l2->ops->write(l2, "pd", 0, "z", 1), -EROFS);
			fl_store_close(l2);
		}
	}
	fl_store_close(l);
out:
	env_free(&e);
}

/* The writer (it took the lock on super) knows the child's data objects from
 * the listing at open: one op per read of an unchanged object, no look-up. */
static void test_writer_listing(void)
{
	const char *d0 = "data.0000000000000002.00000000", *d1 = "data.0000000000000002.00000001";
	struct env e;
	uint64_t ops, ps;
	char b0[16], b1[16];
	ssize_t g0 = -1, g1 = -1;
	struct fl_batch *b;

	env_init(&e);
	fl_store_close(e.l);
	CHECK_EQ(e.c->ops->write(e.c, d0, 0, "child", 5), 0);
	CHECK_EQ(e.p->ops->write(e.p, d0, 0, "parent", 6), 0);
	CHECK_EQ(e.p->ops->write(e.p, d1, 0, "p1", 2), 0);
	e.l = layer_on(&e);
	CHECK(e.l != NULL);
	if (!e.l)
		goto out;
	CHECK_EQ(e.l->ops->lock_exclusive(e.l, "super", "L", "c", "", 0, false), 0);
	ops = fl_mem_op_count(root);
	CHECK_STR(rd(e.l, d1), "p1");
	CHECK_EQ(fl_mem_op_count(root) - ops, 1);
	CHECK_STR(rd(e.l, d0), "child");
	b = fl_batch_new(e.l);
	b->ops->read(b, d0, 0, sizeof(b0), b0, &g0);
	b->ops->read(b, d1, 0, sizeof(b1), b1, &g1);
	ops = fl_mem_op_count(root);
	CHECK_EQ(fl_batch_wait(b), 0);
	CHECK_EQ(fl_mem_op_count(root) - ops <= 2, 1);
	CHECK_EQ(g0, 5);
	CHECK(!memcmp(b0, "child", 5));
	CHECK_EQ(g1, 2);
	CHECK(!memcmp(b1, "p1", 2));
	/* a write to the child's own object copies nothing; one it lacks is copied up */
	fl_layer_stats(e.l, NULL, &ps);
	CHECK_EQ(e.l->ops->write(e.l, d0, 0, "C", 1), 0);
	CHECK_EQ(e.l->ops->write(e.l, d1, 1, "X", 1), 0);
	CHECK_STR(rd(e.l, d0), "Child");
	CHECK_STR(rd(e.l, d1), "pX");
	CHECK_STR(rd(e.p, d1), "p1");
	CHECK_EQ(e.l->ops->unlock(e.l, "super", "L", "c"), 0);
out:
	env_free(&e);
}

int main(void)
{
	root = fl_mem_open();
	if (!root) {
		fprintf(stderr, "cannot open a mem store\n");
		return 1;
	}
	test_conformance();
	test_reads();
	test_copy_up_ops();
	test_removes();
	test_batch_reads();
	test_crash_states();
	test_faults();
	test_caches();
	test_threads();
	test_copy_up_all();
	test_parent_snapshot();
	test_writer_listing();
	fl_store_close(root);
	return check_report("test_store_layer");
}
