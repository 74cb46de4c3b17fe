/*
 * flockerfs — conformance checks of the storage contract, shared by the mem
 * and RADOS store tests (see store_conformance.h).
 */
#include "store_conformance.h"
#include "flocker/buf.h"
#include "tests/check.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MiB (1024u * 1024u)

/* Short names for the ops. */
#define S_READ(s, ...)	      (s)->ops->read((s), __VA_ARGS__)
#define S_WRITE(s, ...)	      (s)->ops->write((s), __VA_ARGS__)
#define S_WRITE_FULL(s, ...)  (s)->ops->write_full((s), __VA_ARGS__)
#define S_APPEND(s, ...)      (s)->ops->append((s), __VA_ARGS__)
#define S_REMOVE(s, ...)      (s)->ops->remove((s), __VA_ARGS__)
#define S_TRUNCATE(s, ...)    (s)->ops->truncate((s), __VA_ARGS__)
#define S_STAT(s, ...)	      (s)->ops->stat((s), __VA_ARGS__)
#define S_OMAP_LIST(s, ...)   (s)->ops->omap_list((s), __VA_ARGS__)
#define S_OMAP_GET(s, ...)    (s)->ops->omap_get((s), __VA_ARGS__)
#define S_OMAP_UPDATE(s, ...) (s)->ops->omap_update((s), __VA_ARGS__)
#define S_LIST(s, ...)	      (s)->ops->list_objects((s), __VA_ARGS__)
#define S_LOCK(s, ...)	      (s)->ops->lock_exclusive((s), __VA_ARGS__)
#define S_UNLOCK(s, ...)      (s)->ops->unlock((s), __VA_ARGS__)
#define S_LOCKERS(s, ...)     (s)->ops->list_lockers((s), __VA_ARGS__)
#define S_BREAK(s, ...)	      (s)->ops->break_lock((s), __VA_ARGS__)
#define S_SELF_ADDR(s, ...)   (s)->ops->self_addr((s), __VA_ARGS__)
#define S_BLOCKLIST(s, ...)   (s)->ops->blocklist_add((s), __VA_ARGS__)

static unsigned char pattern(uint64_t i, unsigned seed)
{
	return (unsigned char)(i * 31u + seed * 7u + (i >> 9));
}

static void fill(unsigned char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern(i, seed);
}

static bool all_zero(const unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i])
			return false;
	return true;
}

static int64_t size_of(struct fl_store *st, const char *oid)
{
	uint64_t size = 0;
	int r = S_STAT(st, oid, &size);

	return r < 0 ? r : (int64_t)size;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* --- data --- */

static void test_data(struct fl_store *st)
{
	unsigned char buf[64], *big, *back;
	const size_t bigsz = 4 * MiB;
	int64_t size;

	CHECK_EQ(S_READ(st, "d.none", 0, 10, buf), -ENOENT);
	CHECK_EQ(S_READ(st, "d.none", 0, 0, buf), -ENOENT);
	CHECK_EQ(size_of(st, "d.none"), -ENOENT);
	CHECK_EQ(S_REMOVE(st, "d.none"), -ENOENT);

	CHECK_EQ(S_WRITE(st, "d.a", 0, "hello", 5), 0);
	memset(buf, 'x', sizeof(buf));
	CHECK_EQ(S_READ(st, "d.a", 0, 100, buf), 5);
	CHECK(!memcmp(buf, "hello", 5));
	/* partial reads at EOF */
	CHECK_EQ(S_READ(st, "d.a", 3, 10, buf), 2);
	CHECK(!memcmp(buf, "lo", 2));
	CHECK_EQ(S_READ(st, "d.a", 5, 10, buf), 0);
	CHECK_EQ(S_READ(st, "d.a", 1000, 10, buf), 0);
	CHECK_EQ(S_READ(st, "d.a", 0, 0, buf), 0);
	CHECK_EQ(size_of(st, "d.a"), 5);

	/* a hole reads as zeros */
	CHECK_EQ(S_WRITE(st, "d.a", 10, "world", 5), 0);
	CHECK_EQ(size_of(st, "d.a"), 15);
	CHECK_EQ(S_READ(st, "d.a", 0, sizeof(buf), buf), 15);
	CHECK(!memcmp(buf, "hello\0\0\0\0\0world", 15));

	CHECK_EQ(S_APPEND(st, "d.a", "!!", 2), 0);
	CHECK_EQ(size_of(st, "d.a"), 17);
	CHECK_EQ(S_READ(st, "d.a", 15, 5, buf), 2);
	CHECK(!memcmp(buf, "!!", 2));
	CHECK_EQ(S_APPEND(st, "d.app", "xy", 2), 0);
	CHECK_EQ(size_of(st, "d.app"), 2);

	/* write_full replaces the data */
	CHECK_EQ(S_WRITE_FULL(st, "d.a", "ab", 2), 0);
	CHECK_EQ(size_of(st, "d.a"), 2);
	CHECK_EQ(S_READ(st, "d.a", 0, sizeof(buf), buf), 2);
	CHECK(!memcmp(buf, "ab", 2));

	/* truncate grows with zeros and shrinks; a missing object stays missing */
	CHECK_EQ(S_TRUNCATE(st, "d.a", 6), 0);
	memset(buf, 'x', sizeof(buf));
	CHECK_EQ(S_READ(st, "d.a", 0, sizeof(buf), buf), 6);
	CHECK(!memcmp(buf, "ab\0\0\0\0", 6));
	CHECK_EQ(S_TRUNCATE(st, "d.a", 1), 0);
	CHECK_EQ(size_of(st, "d.a"), 1);
	CHECK_EQ(S_TRUNCATE(st, "d.none", 10), 0);
	CHECK_EQ(size_of(st, "d.none"), -ENOENT);

	/*
	 * A 0-byte write (or append) creates the object and changes nothing
	 * else.  (A raw RADOS one past EOF wedges the object: see store_rados.c;
	 * the whole-object reads below would then block forever.)
	 */
	CHECK_EQ(S_WRITE(st, "d.z", 100, "", 0), 0);
	CHECK_EQ(size_of(st, "d.z"), 0);
	CHECK_EQ(S_WRITE(st, "d.z", 0, "abc", 3), 0);
	CHECK_EQ(S_WRITE(st, "d.z", 100, "", 0), 0);
	CHECK_EQ(S_APPEND(st, "d.z", "", 0), 0);
	CHECK_EQ(S_APPEND(st, "d.z0", "", 0), 0);
	CHECK_EQ(size_of(st, "d.z0"), 0);
	CHECK_EQ(size_of(st, "d.z"), 3);
	CHECK_EQ(S_READ(st, "d.z", 0, sizeof(buf), buf), 3);
	CHECK_EQ(S_WRITE(st, "d.z", 128ull * MiB, "", 0), 0);
	CHECK_EQ(S_READ(st, "d.z", 0, sizeof(buf), buf), 3);

	/* osd_max_object_size, 128 MiB */
	CHECK_EQ(S_WRITE(st, "d.big", 128ull * MiB, "x", 1), -EFBIG);
	CHECK_EQ(size_of(st, "d.big"), -ENOENT);
	CHECK_EQ(S_TRUNCATE(st, "d.a", 128ull * MiB), -EFBIG);
	CHECK_EQ(size_of(st, "d.a"), 1);

	/* a full block */
	big = malloc(bigsz);
	back = malloc(bigsz);
	if (!big || !back) {
		CHECK(!"out of memory");
		goto out;
	}
	fill(big, bigsz, 1);
	CHECK_EQ(S_WRITE_FULL(st, "d.block", big, bigsz), 0);
	memset(back, 0, bigsz);
	CHECK_EQ(S_READ(st, "d.block", 0, bigsz, back), (ssize_t)bigsz);
	CHECK(!memcmp(big, back, bigsz));
	fill(big, bigsz, 2);
	CHECK_EQ(S_WRITE(st, "d.block", 1000, big, bigsz - 2000), 0);
	CHECK_EQ(S_READ(st, "d.block", 1000, bigsz, back), (ssize_t)(bigsz - 1000));
	CHECK(!memcmp(big, back, bigsz - 2000));
	size = size_of(st, "d.block");
	CHECK_EQ(size, (int64_t)bigsz);

	CHECK_EQ(S_REMOVE(st, "d.a"), 0);
	CHECK_EQ(size_of(st, "d.a"), -ENOENT);
	CHECK_EQ(S_READ(st, "d.a", 0, 10, buf), -ENOENT);
	CHECK_EQ(S_REMOVE(st, "d.a"), -ENOENT);
out:
	free(big);
	free(back);
}

/* --- omap --- */

#define NKEYS 3000

struct kvlog {
	size_t n, cap;
	char **keys;
	unsigned char **vals;
	size_t *lens;
	size_t stop_at; /* 0: never; else return stop_ret at this call */
	int stop_ret;
};

static void kvlog_reset(struct kvlog *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->keys[i]);
		free(l->vals[i]);
	}
	l->n = 0;
	l->stop_at = 0;
	l->stop_ret = 0;
}

static void kvlog_free(struct kvlog *l)
{
	kvlog_reset(l);
	free(l->keys);
	free(l->vals);
	free(l->lens);
	memset(l, 0, sizeof(*l));
}

static int kvlog_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct kvlog *l = arg;

	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 256;
		char **k = realloc(l->keys, ncap * sizeof(*k));
		unsigned char **v;
		size_t *ln;

		if (k)
			l->keys = k;
		v = realloc(l->vals, ncap * sizeof(*v));
		if (v)
			l->vals = v;
		ln = realloc(l->lens, ncap * sizeof(*ln));
		if (ln)
			l->lens = ln;
		if (!k || !v || !ln)
			return -ENOMEM;
		l->cap = ncap;
	}
	l->keys[l->n] = strdup(key);
	l->vals[l->n] = malloc(len ? len : 1);
	if (!l->keys[l->n] || !l->vals[l->n])
		return -ENOMEM;
	if (len)
		memcpy(l->vals[l->n], val, len);
	CHECK(val != NULL);
	l->lens[l->n] = len;
	l->n++;
	if (l->stop_at && l->n == l->stop_at)
		return l->stop_ret;
	return 0;
}

static void key_name(char *buf, size_t len, unsigned i)
{
	snprintf(buf, len, "o.%05u", i);
}

/* Value i: i % 17 bytes, NULs included. */
static size_t val_of(unsigned i, unsigned char *buf)
{
	size_t len = i % 17;

	for (size_t j = 0; j < len; j++)
		buf[j] = (unsigned char)(i + j * 13);
	return len;
}

static bool val_is(const struct kvlog *l, size_t at, unsigned i)
{
	unsigned char want[32];
	size_t len = val_of(i, want);

	return l->lens[at] == len && !memcmp(l->vals[at], want, len);
}

/* Checks that l holds keys first..first+n-1 of the NKEYS set, in order. */
static bool kvlog_is_range(const struct kvlog *l, unsigned first, unsigned n)
{
	char key[32];

	if (l->n != n)
		return false;
	for (unsigned i = 0; i < n; i++) {
		key_name(key, sizeof(key), first + i);
		if (strcmp(l->keys[i], key) || !val_is(l, i, first + i))
			return false;
	}
	return true;
}

static int set_keys(struct fl_store *st, const char *oid, unsigned first, unsigned n)
{
	struct fl_kv *kv = calloc(n, sizeof(*kv));
	char(*keys)[16] = calloc(n, sizeof(*keys));
	unsigned char(*vals)[32] = calloc(n, sizeof(*vals));
	int r = -ENOMEM;

	if (kv && keys && vals) {
		for (unsigned i = 0; i < n; i++) {
			key_name(keys[i], sizeof(keys[i]), first + i);
			kv[i].key = keys[i];
			kv[i].val = vals[i];
			kv[i].len = val_of(first + i, vals[i]);
		}
		r = S_OMAP_UPDATE(st, oid, kv, n, NULL, 0, NULL, 0);
	}
	free(kv);
	free(keys);
	free(vals);
	return r;
}

static int rm_keys(struct fl_store *st, const char *oid, unsigned first, unsigned n)
{
	const char **rm = calloc(n, sizeof(*rm));
	char(*keys)[16] = calloc(n, sizeof(*keys));
	int r = -ENOMEM;

	if (rm && keys) {
		for (unsigned i = 0; i < n; i++) {
			key_name(keys[i], sizeof(keys[i]), first + i);
			rm[i] = keys[i];
		}
		r = S_OMAP_UPDATE(st, oid, NULL, 0, rm, n, NULL, 0);
	}
	free(rm);
	free(keys);
	return r;
}

static void test_omap_list(struct fl_store *st, struct kvlog *l)
{
	char after[32];
	unsigned pages = 0, seen = 0;
	bool more = true;

	CHECK_EQ(set_keys(st, "o.map", 0, NKEYS), 0);
	CHECK_EQ(size_of(st, "o.map"), 0);

	/* page by 100 */
	after[0] = '\0';
	while (more && pages < 100) {
		kvlog_reset(l);
		more = false;
		CHECK_EQ(S_OMAP_LIST(st, "o.map", pages ? after : NULL, 100, kvlog_cb, l, &more),
			 0);
		CHECK(l->n <= 100);
		CHECK(kvlog_is_range(l, seen, (unsigned)l->n));
		CHECK_EQ(more, seen + l->n < NKEYS);
		if (!l->n)
			break;
		seen += (unsigned)l->n;
		snprintf(after, sizeof(after), "%s", l->keys[l->n - 1]);
		pages++;
	}
	CHECK_EQ(seen, NKEYS);
	CHECK_EQ(pages, NKEYS / 100);

	/* more than one RADOS page in one call */
	kvlog_reset(l);
	CHECK_EQ(S_OMAP_LIST(st, "o.map", NULL, 5000, kvlog_cb, l, &more), 0);
	CHECK(kvlog_is_range(l, 0, NKEYS));
	CHECK_EQ(more, false);
	kvlog_reset(l);
	CHECK_EQ(S_OMAP_LIST(st, "o.map", NULL, NKEYS, kvlog_cb, l, &more), 0);
	CHECK(kvlog_is_range(l, 0, NKEYS));
	CHECK_EQ(more, false);
	kvlog_reset(l);
	CHECK_EQ(S_OMAP_LIST(st, "o.map", NULL, 1500, kvlog_cb, l, &more), 0);
	CHECK(kvlog_is_range(l, 0, 1500));
	CHECK_EQ(more, true);
	kvlog_reset(l);
	key_name(after, sizeof(after), 1499);
	CHECK_EQ(S_OMAP_LIST(st, "o.map", after, 1500, kvlog_cb, l, &more), 0);
	CHECK(kvlog_is_range(l, 1500, 1500));
	CHECK_EQ(more, false);
	kvlog_reset(l);
	key_name(after, sizeof(after), NKEYS - 1);
	more = true;
	CHECK_EQ(S_OMAP_LIST(st, "o.map", after, 10, kvlog_cb, l, &more), 0);
	CHECK_EQ(l->n, 0);
	CHECK_EQ(more, false);

	/* max 0 only answers *more */
	kvlog_reset(l);
	CHECK_EQ(S_OMAP_LIST(st, "o.map", NULL, 0, kvlog_cb, l, &more), 0);
	CHECK_EQ(l->n, 0);
	CHECK_EQ(more, true);
	CHECK_EQ(S_OMAP_LIST(st, "o.map", after, 0, kvlog_cb, l, &more), 0);
	CHECK_EQ(more, false);

	/* start_after need not be a key */
	kvlog_reset(l);
	CHECK_EQ(S_OMAP_LIST(st, "o.map", "o.00010x", 3, kvlog_cb, l, NULL), 0);
	CHECK(kvlog_is_range(l, 11, 3));

	/* the callback stops the listing, its value is returned */
	kvlog_reset(l);
	l->stop_at = 5;
	l->stop_ret = 7;
	CHECK_EQ(S_OMAP_LIST(st, "o.map", NULL, 100, kvlog_cb, l, &more), 7);
	CHECK_EQ(l->n, 5);
	CHECK_EQ(more, true);
}

static void test_omap_get(struct fl_store *st, struct kvlog *l)
{
	const char *some[] = {"o.00005", "o.02999", "nope", "o.00005", "o.00001"};
	const char **many;
	char(*names)[16];
	unsigned n = 2600;

	kvlog_reset(l);
	CHECK_EQ(S_OMAP_GET(st, "o.map", some, 5, kvlog_cb, l), 0);
	CHECK_EQ(l->n, 3);
	if (l->n == 3) {
		CHECK_STR(l->keys[0], "o.00001");
		CHECK_STR(l->keys[1], "o.00005");
		CHECK_STR(l->keys[2], "o.02999");
		CHECK(val_is(l, 0, 1) && val_is(l, 1, 5) && val_is(l, 2, 2999));
	}
	kvlog_reset(l);
	CHECK_EQ(S_OMAP_GET(st, "o.map", some, 0, kvlog_cb, l), 0);
	CHECK_EQ(l->n, 0);

	/* more keys than one RADOS request: reversed, with missing ones */
	many = calloc(n, sizeof(*many));
	names = calloc(n, sizeof(*names));
	if (!many || !names) {
		CHECK(!"out of memory");
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		if (i < 2500)
			key_name(names[i], sizeof(names[i]), 2499 - i);
		else
			snprintf(names[i], sizeof(names[i]), "o.%05ux", i);
		many[i] = names[i];
	}
	kvlog_reset(l);
	CHECK_EQ(S_OMAP_GET(st, "o.map", many, n, kvlog_cb, l), 0);
	CHECK(kvlog_is_range(l, 0, 2500));
	kvlog_reset(l);
	l->stop_at = 1500;
	l->stop_ret = 3;
	CHECK_EQ(S_OMAP_GET(st, "o.map", many, n, kvlog_cb, l), 3);
	CHECK_EQ(l->n, 1500);
out:
	free(many);
	free(names);
}

static void test_omap_update(struct fl_store *st, struct kvlog *l)
{
	/* byte-wise key order, like std::string */
	static const char *const order[] = {"B", "a", "a b", "a\x7f", "a\xff", "\xc3\xa9"};
	struct fl_kv kv[6];
	const char *rm[2];
	bool more;

	for (int i = 0; i < 6; i++) {
		kv[i].key = order[5 - i];
		kv[i].val = "v";
		kv[i].len = 1;
	}
	CHECK_EQ(S_OMAP_UPDATE(st, "o.order", kv, 6, NULL, 0, NULL, 0), 0);
	kvlog_reset(l);
	CHECK_EQ(S_OMAP_LIST(st, "o.order", NULL, 100, kvlog_cb, l, NULL), 0);
	CHECK_EQ(l->n, 6);
	for (size_t i = 0; i < l->n && i < 6; i++)
		CHECK_STR(l->keys[i], order[i]);

	/* set and remove in one op: sets first, then removals; a later set wins */
	kv[0] = (struct fl_kv){"x", "1", 1};
	kv[1] = (struct fl_kv){"y", "1", 1};
	kv[2] = (struct fl_kv){"y", "22", 2};
	rm[0] = "x";
	rm[1] = "never-there";
	CHECK_EQ(S_OMAP_UPDATE(st, "o.mix", kv, 3, rm, 2, NULL, 0), 0);
	kvlog_reset(l);
	CHECK_EQ(S_OMAP_LIST(st, "o.mix", NULL, 100, kvlog_cb, l, NULL), 0);
	CHECK_EQ(l->n, 1);
	if (l->n == 1) {
		CHECK_STR(l->keys[0], "y");
		CHECK(l->lens[0] == 2 && !memcmp(l->vals[0], "22", 2));
	}

	/* removals alone, or nothing at all, still create the object */
	CHECK_EQ(S_OMAP_UPDATE(st, "o.rmonly", NULL, 0, rm, 1, NULL, 0), 0);
	CHECK_EQ(size_of(st, "o.rmonly"), 0);
	CHECK_EQ(S_OMAP_UPDATE(st, "o.empty", NULL, 0, NULL, 0, NULL, 0), 0);
	CHECK_EQ(size_of(st, "o.empty"), 0);

	/* thousands of keys in one atomic op */
	CHECK_EQ(set_keys(st, "o.5000", 0, 5000), 0);
	kvlog_reset(l);
	CHECK_EQ(S_OMAP_LIST(st, "o.5000", NULL, 6000, kvlog_cb, l, &more), 0);
	CHECK(kvlog_is_range(l, 0, 5000));
	CHECK_EQ(rm_keys(st, "o.5000", 0, 5000), 0);
	kvlog_reset(l);
	CHECK_EQ(S_OMAP_LIST(st, "o.5000", NULL, 6000, kvlog_cb, l, &more), 0);
	CHECK_EQ(l->n, 0);
	CHECK_EQ(more, false);

	/* removing most keys of a big omap */
	CHECK_EQ(rm_keys(st, "o.map", 0, 1000), 0);
	kvlog_reset(l);
	CHECK_EQ(S_OMAP_LIST(st, "o.map", NULL, 5000, kvlog_cb, l, NULL), 0);
	CHECK(kvlog_is_range(l, 1000, NKEYS - 1000));
}

static int omap_val(struct fl_store *st, const char *oid, const char *key, char *buf, size_t len)
{
	struct kvlog l = {0};
	int r = S_OMAP_GET(st, oid, &key, 1, kvlog_cb, &l);

	if (r == 0 && l.n == 1)
		snprintf(buf, len, "%.*s", (int)l.lens[0], (const char *)l.vals[0]);
	else if (r == 0)
		r = -ENOENT;
	kvlog_free(&l);
	return r;
}

static void test_omap_cmp(struct fl_store *st)
{
	struct fl_kv v1 = {"v", "1", 1}, v2 = {"v", "2", 1}, w = {"w", "W", 1};
	struct fl_kv both[2] = {{"v", "9", 1}, {"w", "W", 1}};
	struct fl_kv x = {"x", "X", 1}, e = {"e", "", 0};
	struct fl_omap_cmp absent_v = {"v", NULL, 0}, is1 = {"v", "1", 1}, is2 = {"v", "2", 1};
	struct fl_omap_cmp absent_x = {"x", NULL, 0}, absent_e = {"e", NULL, 0};
	struct fl_omap_cmp is2x = {"v", "2x", 2};
	struct fl_omap_cmp two[2];
	const char *rm_v = "v";
	char val[16];

	/* "absent" on a missing object holds, and creates it */
	CHECK_EQ(S_OMAP_UPDATE(st, "o.cas", &v1, 1, NULL, 0, &absent_v, 1), 0);
	CHECK_EQ(omap_val(st, "o.cas", "v", val, sizeof(val)), 0);
	CHECK_STR(val, "1");
	/* a failed compare writes nothing: neither sets nor removals */
	CHECK_EQ(S_OMAP_UPDATE(st, "o.cas", both, 2, NULL, 0, &absent_v, 1), -ECANCELED);
	CHECK_EQ(S_OMAP_UPDATE(st, "o.cas", NULL, 0, &rm_v, 1, &absent_v, 1), -ECANCELED);
	CHECK_EQ(omap_val(st, "o.cas", "w", val, sizeof(val)), -ENOENT);
	CHECK_EQ(omap_val(st, "o.cas", "v", val, sizeof(val)), 0);
	CHECK_STR(val, "1");
	/* compare and swap */
	CHECK_EQ(S_OMAP_UPDATE(st, "o.cas", &v2, 1, NULL, 0, &is1, 1), 0);
	CHECK_EQ(S_OMAP_UPDATE(st, "o.cas", &v1, 1, NULL, 0, &is1, 1), -ECANCELED);
	CHECK_EQ(S_OMAP_UPDATE(st, "o.cas", &v1, 1, NULL, 0, &is2x, 1), -ECANCELED);
	CHECK_EQ(omap_val(st, "o.cas", "v", val, sizeof(val)), 0);
	CHECK_STR(val, "2");
	/* every compare must hold */
	two[0] = is2;
	two[1] = absent_x;
	CHECK_EQ(S_OMAP_UPDATE(st, "o.cas", &x, 1, NULL, 0, two, 2), 0);
	CHECK_EQ(S_OMAP_UPDATE(st, "o.cas", &w, 1, NULL, 0, two, 2), -ECANCELED);
	two[1] = (struct fl_omap_cmp){"x", "X", 1};
	CHECK_EQ(S_OMAP_UPDATE(st, "o.cas", &w, 1, &rm_v, 1, two, 2), 0);
	CHECK_EQ(omap_val(st, "o.cas", "w", val, sizeof(val)), 0);
	CHECK_EQ(omap_val(st, "o.cas", "v", val, sizeof(val)), -ENOENT);
	/* a failed compare on a missing object leaves it missing */
	CHECK_EQ(S_OMAP_UPDATE(st, "o.cas.none", &v1, 1, NULL, 0, &is1, 1), -ECANCELED);
	CHECK_EQ(size_of(st, "o.cas.none"), -ENOENT);
	/* RADOS compares a missing key as an empty value: "absent" holds for "" too */
	CHECK_EQ(S_OMAP_UPDATE(st, "o.cas", &e, 1, NULL, 0, NULL, 0), 0);
	CHECK_EQ(S_OMAP_UPDATE(st, "o.cas", &v1, 1, NULL, 0, &absent_e, 1), 0);
}

/* Compare-and-swap counter from several threads and two clients. */
#define CAS_THREADS 4
#define CAS_ROUNDS  25

struct cas_arg {
	struct fl_store *st;
	int errors;
	int retries;
};

static int last_val_cb(void *arg, const char *key, const void *val, size_t len)
{
	char *out = arg;

	(void)key;
	snprintf(out, 24, "%.*s", (int)(len < 23 ? len : 23), (const char *)val);
	return 0;
}

static void *cas_thread(void *p)
{
	struct cas_arg *a = p;
	const char *key = "n";

	for (int i = 0; i < CAS_ROUNDS;) {
		char old[24] = "", neu[24];
		struct fl_omap_cmp cmp = {"n", NULL, 0};
		struct fl_kv kv = {"n", neu, 0};
		int r = a->st->ops->omap_get(a->st, "o.counter", &key, 1, last_val_cb, old);

		if (r < 0 && r != -ENOENT) {
			a->errors++;
			return NULL;
		}
		if (old[0]) {
			cmp.val = old;
			cmp.len = strlen(old);
		}
		snprintf(neu, sizeof(neu), "%ld", strtol(old[0] ? old : "0", NULL, 10) + 1);
		kv.len = strlen(neu);
		r = a->st->ops->omap_update(a->st, "o.counter", &kv, 1, NULL, 0, &cmp, 1);
		if (r == -ECANCELED) {
			a->retries++;
			continue;
		}
		if (r < 0) {
			a->errors++;
			return NULL;
		}
		i++;
	}
	return NULL;
}

static void test_omap_threads(struct fl_store *st, struct fl_store *peer)
{
	pthread_t th[CAS_THREADS];
	struct cas_arg args[CAS_THREADS];
	char val[24] = "";
	int started = 0;

	for (int i = 0; i < CAS_THREADS; i++) {
		args[i] = (struct cas_arg){i % 2 ? peer : st, 0, 0};
		if (pthread_create(&th[i], NULL, cas_thread, &args[i]) == 0)
			started++;
		else
			break;
	}
	CHECK_EQ(started, CAS_THREADS);
	for (int i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(args[i].errors, 0);
	}
	CHECK_EQ(omap_val(st, "o.counter", "n", val, sizeof(val)), 0);
	CHECK_EQ(strtol(val, NULL, 10), started * CAS_ROUNDS);
}

static void test_omap(struct fl_store *st, struct fl_store *peer)
{
	struct kvlog l = {0};
	const char *key = "k";
	struct fl_omap_cmp absent = {"k", NULL, 0};

	CHECK_EQ(S_OMAP_LIST(st, "o.none", NULL, 10, kvlog_cb, &l, NULL), -ENOENT);
	CHECK_EQ(S_OMAP_GET(st, "o.none", &key, 1, kvlog_cb, &l), -ENOENT);
	CHECK_EQ(S_OMAP_GET(st, "o.none", &key, 0, kvlog_cb, &l), -ENOENT);
	CHECK_EQ(l.n, 0);
	/* an object without omap keys lists nothing */
	CHECK_EQ(S_WRITE(st, "o.plain", 0, "x", 1), 0);
	CHECK_EQ(S_OMAP_LIST(st, "o.plain", NULL, 10, kvlog_cb, &l, NULL), 0);
	CHECK_EQ(S_OMAP_GET(st, "o.plain", &key, 1, kvlog_cb, &l), 0);
	CHECK_EQ(S_OMAP_UPDATE(st, "o.plain", NULL, 0, NULL, 0, &absent, 1), 0);
	CHECK_EQ(l.n, 0);

	/* data ops keep the omap; remove drops it */
	{
		struct fl_kv kv = {"k", "v", 1};
		char val[8];

		CHECK_EQ(S_OMAP_UPDATE(st, "o.data", &kv, 1, NULL, 0, NULL, 0), 0);
		CHECK_EQ(S_WRITE_FULL(st, "o.data", "data", 4), 0);
		CHECK_EQ(S_TRUNCATE(st, "o.data", 0), 0);
		CHECK_EQ(size_of(st, "o.data"), 0);
		CHECK_EQ(omap_val(st, "o.data", "k", val, sizeof(val)), 0);
		CHECK_EQ(S_REMOVE(st, "o.data"), 0);
		CHECK_EQ(S_OMAP_LIST(st, "o.data", NULL, 10, kvlog_cb, &l, NULL), -ENOENT);
	}

	test_omap_list(st, &l);
	test_omap_get(st, &l);
	test_omap_update(st, &l);
	test_omap_cmp(st);
	test_omap_threads(st, peer);
	kvlog_free(&l);
}

/* --- listing and namespaces --- */

int names_cb(void *arg, const char *oid)
{
	struct names *nm = arg;

	if (nm->n < 64)
		snprintf(nm->list[nm->n], sizeof(nm->list[0]), "%s", oid);
	nm->n++;
	if (nm->stop_after && (int)nm->n == nm->stop_after)
		return 9;
	return 0;
}

bool names_has(const struct names *nm, const char *oid)
{
	for (size_t i = 0; i < nm->n && i < 64; i++)
		if (!strcmp(nm->list[i], oid))
			return true;
	return false;
}

static void test_list(struct fl_store *st, const char *ns)
{
	struct names nm = {0};
	struct fl_store *iso, *again;
	char iso_ns[256], buf[16];

	CHECK_EQ(S_WRITE(st, "l.a1", 0, "1", 1), 0);
	CHECK_EQ(S_WRITE(st, "l.a2", 0, "2", 1), 0);
	CHECK_EQ(S_WRITE(st, "l.b1", 0, "3", 1), 0);
	CHECK_EQ(S_WRITE(st, "lx", 0, "4", 1), 0);
	CHECK_EQ(S_LIST(st, "l.a", names_cb, &nm), 0);
	CHECK_EQ(nm.n, 2);
	CHECK(names_has(&nm, "l.a1") && names_has(&nm, "l.a2"));
	memset(&nm, 0, sizeof(nm));
	CHECK_EQ(S_LIST(st, "l.", names_cb, &nm), 0);
	CHECK_EQ(nm.n, 3);
	memset(&nm, 0, sizeof(nm));
	CHECK_EQ(S_LIST(st, "l.a1", names_cb, &nm), 0);
	CHECK_EQ(nm.n, 1);
	memset(&nm, 0, sizeof(nm));
	CHECK_EQ(S_LIST(st, NULL, names_cb, &nm), 0);
	CHECK(nm.n >= 4 && names_has(&nm, "lx") && names_has(&nm, "l.b1"));
	memset(&nm, 0, sizeof(nm));
	nm.stop_after = 1;
	CHECK_EQ(S_LIST(st, "l.", names_cb, &nm), 9);
	CHECK_EQ(nm.n, 1);

	/* namespaces are isolated */
	snprintf(iso_ns, sizeof(iso_ns), "%s.iso", ns);
	iso = st->ops->clone_ns(st, iso_ns);
	CHECK(iso != NULL);
	if (!iso)
		return;
	CHECK_EQ(S_READ(iso, "l.a1", 0, sizeof(buf), buf), -ENOENT);
	memset(&nm, 0, sizeof(nm));
	CHECK_EQ(S_LIST(iso, NULL, names_cb, &nm), 0);
	CHECK_EQ(nm.n, 0);
	CHECK_EQ(S_WRITE_FULL(iso, "l.a1", "iso", 3), 0);
	CHECK_EQ(S_READ(st, "l.a1", 0, sizeof(buf), buf), 1);
	CHECK(buf[0] == '1');
	memset(&nm, 0, sizeof(nm));
	CHECK_EQ(S_LIST(iso, NULL, names_cb, &nm), 0);
	CHECK_EQ(nm.n, 1);
	/* a clone back into ns sees ns */
	again = iso->ops->clone_ns(iso, ns);
	CHECK(again != NULL);
	if (again) {
		CHECK_EQ(S_READ(again, "l.a1", 0, sizeof(buf), buf), 1);
		CHECK(buf[0] == '1');
		fl_store_close(again);
	}
	CHECK_EQ(store_clean_ns(iso), 0);
	fl_store_close(iso);
}

/* --- locks --- */

static void test_locks(struct fl_store *st, struct fl_store *peer)
{
	struct fl_locker lk[4];
	char desc[64], addr[128], client[64];
	int n;

	CHECK_EQ(S_SELF_ADDR(st, addr, sizeof(addr)), 0);
	CHECK_EQ(S_LOCKERS(st, "k.obj", "L", lk, 4, desc, sizeof(desc)), -ENOENT);
	CHECK_EQ(S_UNLOCK(st, "k.obj", "L", "c1"), -ENOENT);

	/* taking a lock creates the object */
	CHECK_EQ(S_LOCK(st, "k.obj", "L", "c1", "d1", 0, false), 0);
	CHECK_EQ(size_of(st, "k.obj"), 0);
	CHECK_EQ(S_LOCK(st, "k.obj", "L", "c1", "d1", 0, false), -EEXIST);
	CHECK_EQ(S_LOCK(st, "k.obj", "L", "c1", "d2", 0, true), 0);
	CHECK_EQ(S_LOCK(st, "k.obj", "L", "c2", "d1", 0, false), -EBUSY);
	CHECK_EQ(S_LOCK(st, "k.obj", "L", "c2", "d1", 0, true), -EBUSY);
	CHECK_EQ(S_LOCK(peer, "k.obj", "L", "c1", "d1", 0, false), -EBUSY);
	CHECK_EQ(S_LOCK(peer, "k.obj", "L", "c1", "d1", 0, true), -EBUSY);
	/* another lock name on the same object is another lock */
	CHECK_EQ(S_LOCK(peer, "k.obj", "M", "c1", "dm", 0, false), 0);

	memset(lk, 0, sizeof(lk));
	n = S_LOCKERS(peer, "k.obj", "L", lk, 4, desc, sizeof(desc));
	CHECK_EQ(n, 1);
	CHECK_STR(lk[0].cookie, "c1");
	CHECK(!strncmp(lk[0].client, "client.", 7) && lk[0].client[7]);
	CHECK_STR(lk[0].addr, addr);
	CHECK_STR(desc, "d2"); /* renewing replaced the description */
	snprintf(client, sizeof(client), "%s", lk[0].client);
	CHECK_EQ(S_LOCKERS(peer, "k.obj", "L", lk, 0, NULL, 0), 1);
	CHECK_EQ(S_LOCKERS(peer, "k.obj", "none", lk, 4, desc, sizeof(desc)), 0);
	CHECK_STR(desc, "");

	/* only the holder unlocks; anyone breaks */
	CHECK_EQ(S_UNLOCK(peer, "k.obj", "L", "c1"), -ENOENT);
	CHECK_EQ(S_BREAK(peer, "k.obj", "L", "garbage", "c1"), -EINVAL);
	CHECK_EQ(S_BREAK(peer, "k.obj", "L", client, "c9"), -ENOENT);
	CHECK_EQ(S_BREAK(peer, "k.obj", "L", client, "c1"), 0);
	CHECK_EQ(S_LOCKERS(peer, "k.obj", "L", lk, 4, desc, sizeof(desc)), 0);
	CHECK_EQ(S_BREAK(peer, "k.obj", "L", client, "c1"), -ENOENT);
	CHECK_EQ(S_LOCK(peer, "k.obj", "L", "c1", "d3", 0, false), 0);
	CHECK_EQ(S_UNLOCK(st, "k.obj", "L", "c1"), -ENOENT);
	CHECK_EQ(S_UNLOCK(peer, "k.obj", "L", "c1"), 0);
	CHECK_EQ(S_UNLOCK(peer, "k.obj", "L", "c1"), -ENOENT);
	CHECK_EQ(S_UNLOCK(peer, "k.obj", "M", "c1"), 0);
	/* renew of a free lock takes it */
	CHECK_EQ(S_LOCK(st, "k.obj", "L", "c5", "d5", 0, true), 0);
	CHECK_EQ(S_UNLOCK(st, "k.obj", "L", "c5"), 0);

	/* expiry */
	CHECK_EQ(S_LOCK(st, "k.exp", "L", "c1", "short", 1, false), 0);
	CHECK_EQ(S_LOCK(peer, "k.exp", "L", "c2", "next", 0, false), -EBUSY);
	sleep_ms(2200);
	CHECK_EQ(S_LOCK(peer, "k.exp", "L", "c2", "next", 0, false), 0);
	memset(lk, 0, sizeof(lk));
	CHECK_EQ(S_LOCKERS(st, "k.exp", "L", lk, 4, desc, sizeof(desc)), 1);
	CHECK_STR(lk[0].cookie, "c2");
	CHECK_STR(desc, "next");
	CHECK_EQ(S_UNLOCK(st, "k.exp", "L", "c1"), -ENOENT);
	CHECK_EQ(S_UNLOCK(peer, "k.exp", "L", "c2"), 0);
}

/* --- batches --- */

#define NB    100
#define BSIZE (64u * 1024u)

static void test_batch(struct fl_store *st)
{
	unsigned char *data = malloc((size_t)NB * BSIZE), *back = malloc((size_t)NB * BSIZE);
	ssize_t got[NB + 2];
	unsigned char small[16], tail[8192];
	struct fl_batch *b;
	char oid[32];

	if (!data || !back) {
		CHECK(!"out of memory");
		goto out;
	}
	b = fl_batch_new(st);
	CHECK_EQ(fl_batch_wait(b), 0);

	/* writes, then reads (more than fit in flight at once) */
	b = fl_batch_new(st);
	for (unsigned i = 0; i < NB; i++) {
		snprintf(oid, sizeof(oid), "b.%03u", i);
		fill(data + (size_t)i * BSIZE, BSIZE, i + 10);
		b->ops->write(b, oid, 0, data + (size_t)i * BSIZE, BSIZE);
	}
	CHECK_EQ(fl_batch_wait(b), 0);
	memset(back, 0, (size_t)NB * BSIZE);
	b = fl_batch_new(st);
	for (unsigned i = 0; i < NB; i++) {
		snprintf(oid, sizeof(oid), "b.%03u", i);
		got[i] = -1;
		b->ops->read(b, oid, 0, BSIZE, back + (size_t)i * BSIZE, &got[i]);
	}
	got[NB] = -1;
	b->ops->read(b, "b.none", 0, sizeof(small), small, &got[NB]);
	got[NB + 1] = -1;
	b->ops->read(b, "b.000", BSIZE - 4096, sizeof(tail), tail, &got[NB + 1]);
	CHECK_EQ(fl_batch_wait(b), 0);
	for (unsigned i = 0; i < NB; i++)
		CHECK_EQ(got[i], BSIZE);
	CHECK(!memcmp(data, back, (size_t)NB * BSIZE));
	CHECK_EQ(got[NB], 0);
	CHECK_EQ(got[NB + 1], 4096);
	CHECK(!memcmp(tail, data + BSIZE - 4096, 4096));

	/* several extents of one object in one op */
	{
		const uint64_t offs[3] = {0, 10, 100};
		const void *const bufs[3] = {"aaa", "bbb", "c"};
		const size_t lens[3] = {3, 3, 1};
		unsigned char v[128];

		b = fl_batch_new(st);
		b->ops->writev(b, "b.v", offs, bufs, lens, 3);
		CHECK_EQ(fl_batch_wait(b), 0);
		CHECK_EQ(S_READ(st, "b.v", 0, sizeof(v), v), 101);
		CHECK(!memcmp(v, "aaa\0\0\0\0\0\0\0bbb", 13) && all_zero(v + 13, 87) &&
		      v[100] == 'c');
	}

	/* 0-byte writes and extents only create the object */
	{
		const uint64_t offs[2] = {500, 0};
		const void *const bufs[2] = {"", "xy"};
		const size_t lens[2] = {0, 2};

		b = fl_batch_new(st);
		b->ops->write(b, "b.z0", 100, "", 0);
		b->ops->write(b, "b.v", 500, "", 0);
		b->ops->writev(b, "b.z1", offs, bufs, lens, 1);
		b->ops->writev(b, "b.z2", offs, bufs, lens, 2);
		CHECK_EQ(fl_batch_wait(b), 0);
		CHECK_EQ(size_of(st, "b.z0"), 0);
		CHECK_EQ(size_of(st, "b.z1"), 0);
		CHECK_EQ(size_of(st, "b.z2"), 2);
		CHECK_EQ(S_READ(st, "b.v", 0, sizeof(tail), tail), 101);
		CHECK_EQ(size_of(st, "b.v"), 101);
	}

	/* truncate, zero: a missing object stays missing */
	b = fl_batch_new(st);
	b->ops->truncate(b, "b.000", 1000);
	b->ops->truncate(b, "b.none2", 1000);
	b->ops->zero(b, "b.001", 100, 100);
	b->ops->zero(b, "b.002", BSIZE - 4096, 8192);
	b->ops->zero(b, "b.003", BSIZE, 100);
	b->ops->zero(b, "b.004", 0, 0);
	b->ops->zero(b, "b.none3", 0, 100);
	CHECK_EQ(fl_batch_wait(b), 0);
	CHECK_EQ(size_of(st, "b.000"), 1000);
	CHECK_EQ(size_of(st, "b.none2"), -ENOENT);
	CHECK_EQ(size_of(st, "b.none3"), -ENOENT);
	CHECK_EQ(size_of(st, "b.001"), BSIZE);
	CHECK_EQ(S_READ(st, "b.001", 0, BSIZE, back), BSIZE);
	CHECK(!memcmp(back, data + BSIZE, 100) && all_zero(back + 100, 100) &&
	      !memcmp(back + 200, data + BSIZE + 200, BSIZE - 200));
	/* zeroing up to or past EOF truncates there, as the OSD does */
	CHECK_EQ(size_of(st, "b.002"), BSIZE - 4096);
	CHECK_EQ(size_of(st, "b.003"), BSIZE);
	CHECK_EQ(size_of(st, "b.004"), BSIZE);

	/* removes; a missing object is no error */
	b = fl_batch_new(st);
	for (unsigned i = 0; i < NB; i += 2) {
		snprintf(oid, sizeof(oid), "b.%03u", i);
		b->ops->remove(b, oid);
	}
	b->ops->remove(b, "b.none");
	CHECK_EQ(fl_batch_wait(b), 0);
	for (unsigned i = 0; i < NB; i++) {
		snprintf(oid, sizeof(oid), "b.%03u", i);
		CHECK_EQ(size_of(st, oid) >= 0, i % 2 == 1);
	}
out:
	free(data);
	free(back);
}

/* --- the whole contract --- */

int store_conformance(struct fl_store *st, struct fl_store *peer, const char *ns)
{
	int before = check_failures;

	CHECK_EQ(store_clean_ns(st), 0);
	test_data(st);
	test_omap(st, peer);
	test_list(st, ns);
	test_locks(st, peer);
	test_batch(st);
	CHECK_EQ(store_clean_ns(st), 0);
	return check_failures - before;
}

int store_conformance_fence(struct fl_store *victim, struct fl_store *fencer)
{
	struct fl_kv kv = {"k", "v", 1};
	struct fl_locker lk[2];
	char addr[128], tiny[4], buf[8];
	struct fl_batch *b;
	ssize_t got = 1;
	int before = check_failures;

	CHECK_EQ(S_SELF_ADDR(victim, tiny, sizeof(tiny)), -ERANGE);
	CHECK_EQ(S_SELF_ADDR(victim, addr, sizeof(addr)), 0);
	CHECK(!strncmp(addr, "v1:", 3) && strchr(addr, '/'));
	CHECK_EQ(S_SELF_ADDR(fencer, buf, sizeof(buf)), -ERANGE);
	CHECK_EQ(S_WRITE_FULL(victim, "f.data", "before", 6), 0);
	CHECK_EQ(S_LOCK(victim, "f.lock", "L", "c1", "victim", 0, false), 0);
	memset(lk, 0, sizeof(lk));
	CHECK_EQ(S_LOCKERS(fencer, "f.lock", "L", lk, 2, NULL, 0), 1);
	CHECK_STR(lk[0].addr, addr);

	CHECK_EQ(S_BLOCKLIST(fencer, "garbage", 60), -EINVAL);
	/* the form list_lockers shows is what blocklist_add takes */
	CHECK_EQ(S_BLOCKLIST(fencer, lk[0].addr, 600), 0);
	/* the new owner's first op makes the OSD catch up with the blocklist */
	CHECK_EQ(S_BREAK(fencer, "f.lock", "L", lk[0].client, "c1"), 0);
	CHECK_EQ(S_LOCK(fencer, "f.lock", "L", "c2", "fencer", 0, false), 0);

	CHECK_EQ(S_WRITE_FULL(victim, "f.data", "after", 5), -ESHUTDOWN);
	CHECK_EQ(S_READ(victim, "f.data", 0, sizeof(buf), buf), -ESHUTDOWN);
	CHECK_EQ(S_OMAP_UPDATE(victim, "f.data", &kv, 1, NULL, 0, NULL, 0), -ESHUTDOWN);
	CHECK_EQ(S_LOCK(victim, "f.lock", "L", "c1", "victim", 0, true), -ESHUTDOWN);
	b = fl_batch_new(victim);
	b->ops->write(b, "f.data", 0, "x", 1);
	b->ops->read(b, "f.data", 0, sizeof(buf), buf, &got);
	CHECK_EQ(fl_batch_wait(b), -ESHUTDOWN);
	CHECK_EQ(got, -ESHUTDOWN);

	/* the fencer is fine, the data is what it was */
	CHECK_EQ(S_READ(fencer, "f.data", 0, sizeof(buf), buf), 6);
	CHECK(!memcmp(buf, "before", 6));
	CHECK_EQ(S_UNLOCK(fencer, "f.lock", "L", "c2"), 0);
	CHECK_EQ(store_clean_ns(fencer), 0);
	return check_failures - before;
}

/* --- cleaning up --- */

static int collect_cb(void *arg, const char *oid)
{
	return fl_strv_add(arg, oid);
}

int store_clean_ns(struct fl_store *st)
{
	struct fl_strv oids = {0};
	int r = S_LIST(st, NULL, collect_cb, &oids);

	for (size_t i = 0; i < oids.n; i++) {
		int rr = S_REMOVE(st, oids.v[i]);

		if (rr < 0 && rr != -ENOENT && !r)
			r = rr;
	}
	fl_strv_free(&oids);
	return r;
}
