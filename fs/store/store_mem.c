/*
 * flockerfs — the in-memory store (include/flocker/store.h).
 *
 * A stand-in for RADOS in unit tests and fuzzers.  It reproduces what
 * Ceph 16.2 really does, as measured by tests/integration/test_store_rados.c
 * running the same conformance body (tests/unit/store_conformance.c):
 *
 *  - objects hold bytes (at most 128 MiB, osd_max_object_size: -EFBIG past
 *    it), an omap sorted byte-wise (strcmp order, like std::string) and locks;
 *  - a 0-byte write only creates the object (the RADOS store does so to avoid
 *    a Ceph 16.2 bug, see store_rados.c); truncate of a missing object is a
 *    no-op that leaves it missing;
 *  - fault injection (fl_mem_inject_error) counts every op but close,
 *    clone_ns, self_addr and batch_new; each op in a batch counts once;
 *    fl_mem_inject_error_on fails only batch ops on objects of a name prefix;
 *  - zero (batch only) of a range reaching EOF truncates the object to the
 *    start of the range, as the OSD does; a missing object stays missing;
 *  - omap compares treat a missing key as an empty value;
 *  - locks follow cls_lock: the holder is (client, cookie); expired lockers
 *    vanish; taking a lock creates the object;
 *  - a blocklisted handle gets -ESHUTDOWN (Ceph's EBLOCKLISTED) for every op;
 *  - fl_mem_delay_batches makes every batch wait before it runs (a slow OSD);
 *  - fl_mem_hold_omap_list holds omap listings of some objects until the
 *    test lets them go (an OSD that does not answer yet);
 *  - self-managed snapshots: see store_mem_snap.c.
 *
 * Where it differs from RADOS on purpose: every handle, clones included, is
 * its own client (own "client.N" name and address), so tests can play two
 * hosts with one store.  With RADOS, clones share the connection, so they
 * share the lock identity and are fenced together.
 *
 * Batches run when fl_batch_wait is called, in a shuffled order, so callers
 * that read buffers before waiting, or that rely on order inside a batch,
 * fail in unit tests rather than on a cluster.  Reads, half of them at
 * random, run when sent instead: a caller that keeps what a read returned
 * while the object changes sees stale bytes here too.
 *
 * One mutex per store (shared by clones) guards everything; callbacks run
 * without it, on copies, so they may call back into the store.
 */
#include "flocker/buf.h"
#include "flocker/store.h"
#include "fs/store/omap_util.h"
#include "fs/store/store_mem_priv.h"
#include "fs/util/fmt.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#define MEM_MAX_OBJECT_SIZE	(128ULL << 20) /* osd_max_object_size */
#define MEM_EBLOCKLISTED	ESHUTDOWN      /* Ceph's EBLOCKLISTED on Linux */
#define MEM_BLOCKLIST_DEFAULT_S 3600u	       /* mon_osd_blocklist_default_expire */
#define MEM_FIRST_GID		4100u

static const struct fl_store_ops mem_ops;

static struct mem_store *mem_of(struct fl_store *st)
{
	return (struct mem_store *)st;
}

uint32_t sh_rand(struct mem_shared *sh)
{
	uint32_t x = sh->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	sh->rng = x;
	return x;
}

static struct timespec now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

static bool ts_zero(const struct timespec *t)
{
	return t->tv_sec == 0 && t->tv_nsec == 0;
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void mlocker_free(struct mlocker *lk)
{
	if (!lk)
		return;
	free(lk->client);
	free(lk->cookie);
	free(lk->addr);
	free(lk->desc);
	free(lk);
}

static void mlock_free(struct mlock *l)
{
	while (l->lockers) {
		struct mlocker *n = l->lockers->next;

		mlocker_free(l->lockers);
		l->lockers = n;
	}
	free(l->name);
	free(l);
}

void mobj_free(void *p)
{
	struct mobj *o = p;

	if (!o)
		return;
	while (o->locks) {
		struct mlock *n = o->locks->next;

		mlock_free(o->locks);
		o->locks = n;
	}
	t_free(o->omap, NULL);
	free(o->data);
	free(o);
}

static void ns_free(void *p)
{
	t_free(p, mobj_free);
}

static void sh_free(struct mem_shared *sh)
{
	t_free(sh->nss, ns_free);
	msnap_free_shared(sh);
	while (sh->blocks) {
		struct mblock *n = sh->blocks->next;

		free(sh->blocks->addr);
		free(sh->blocks);
		sh->blocks = n;
	}
	free(sh->hold_prefix);
	pthread_cond_destroy(&sh->hold_cond);
	pthread_mutex_destroy(&sh->mu);
	free(sh);
}

/* A new tree node with a copy of key; val is taken over. */
struct tnode *tnode_new(struct mem_shared *sh, const char *key, void *val, size_t len)
{
	struct tnode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->key = strdup(key);
	if (!n->key) {
		free(n);
		return NULL;
	}
	n->val = val;
	n->len = len;
	n->prio = sh_rand(sh);
	return n;
}

/* A new zeroed value of size bytes under key in the tree of namespace node ns;
 * NULL on ENOMEM. */
void *tnode_add_new(struct mem_shared *sh, struct tnode *ns, const char *key, size_t size)
{
	void *v = calloc(1, size);
	struct tnode *n = v ? tnode_new(sh, key, v, 0) : NULL;

	if (!n) {
		free(v);
		return NULL;
	}
	ns->val = t_insert(ns->val, n);
	return v;
}

/* The object tree root of namespace ns, or NULL; with create, makes it (-ENOMEM). */
struct tnode *ns_node(struct mem_shared *sh, const char *ns, bool create)
{
	struct tnode *n = t_find(sh->nss, ns);

	if (n || !create)
		return n;
	n = tnode_new(sh, ns, NULL, 0);
	if (!n)
		return NULL;
	sh->nss = t_insert(sh->nss, n);
	return n;
}

struct mobj *obj_find(struct mem_store *ms, const char *oid)
{
	struct tnode *ns = ns_node(ms->sh, ms->ns, false);
	struct tnode *o;

	if (!ns)
		return NULL;
	o = t_find(ns->val, oid);
	return o ? o->val : NULL;
}

struct mobj *obj_get(struct mem_store *ms, const char *oid, bool create)
{
	struct tnode *ns;
	struct mobj *o = obj_find(ms, oid);

	if (o || !create)
		return o;
	ns = ns_node(ms->sh, ms->ns, true);
	if (!ns)
		return NULL;
	return tnode_add_new(ms->sh, ns, oid, sizeof(*o));
}

void obj_delete(struct mem_store *ms, const char *oid)
{
	struct tnode *ns = ns_node(ms->sh, ms->ns, false);
	struct tnode *n = NULL;

	if (!ns)
		return;
	ns->val = t_remove(ns->val, oid, &n);
	if (n)
		t_free(n, mobj_free);
}

/* "[v2:1.2.3.4:0/5,v1:...]" or "v1:1.2.3.4:0/5" -> "1.2.3.4:0/5" (the first address). */
static int addr_normalize(const char *in, char *out, size_t len)
{
	const char *p;
	size_t n = fl_ceph_addr_first(in, &p);

	/* the blocklist needs ip:port/nonce */
	if (n == 0 || !memchr(p, ':', n) || !memchr(p, '/', n) || n >= len)
		return -EINVAL;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

static bool is_blocklisted(struct mem_store *ms)
{
	struct mem_shared *sh = ms->sh;
	struct timespec now = now_mono();
	struct mblock **pp = &sh->blocks;

	while (*pp) {
		struct mblock *b = *pp;

		if (ts_before(&b->expire, &now)) {
			*pp = b->next;
			free(b->addr);
			free(b);
			continue;
		}
		if (!strcmp(b->addr, ms->norm_addr))
			return true;
		pp = &b->next;
	}
	return false;
}

/* Takes the store lock for one op on object oid (NULL: not a batch op); on
 * failure returns the op's error unlocked. */
int mem_enter_oid(struct mem_store *ms, const char *oid)
{
	struct mem_shared *sh = ms->sh;
	size_t plen = strlen(sh->inject_prefix);
	int r = 0;

	pthread_mutex_lock(&sh->mu);
	sh->ops++;
	if (is_blocklisted(ms)) {
		r = -MEM_EBLOCKLISTED;
	} else if (sh->inject_n > 0 && (!plen || (oid && !strncmp(oid, sh->inject_prefix, plen)))) {
		sh->inject_n--;
		r = sh->inject_err;
	}
	if (r)
		pthread_mutex_unlock(&sh->mu);
	return r;
}

int mem_enter(struct mem_store *ms)
{
	return mem_enter_oid(ms, NULL);
}

void mem_leave(struct mem_store *ms)
{
	pthread_mutex_unlock(&ms->sh->mu);
}

/* mem_enter for a write-class op on oid: refused at a snapshot, saves a clone if due. */
static int mem_enter_w(struct mem_store *ms, const char *oid)
{
	int r = mem_enter(ms);

	if (r)
		return r;
	r = msnap_before_write(ms, oid, ms->wctx);
	if (r)
		mem_leave(ms);
	return r;
}

/* --- data --- */

int check_extent(uint64_t off, uint64_t len)
{
	if (off >= MEM_MAX_OBJECT_SIZE || len > MEM_MAX_OBJECT_SIZE ||
	    off + len > MEM_MAX_OBJECT_SIZE)
		return -EFBIG;
	return 0;
}

int obj_reserve(struct mobj *o, uint64_t size)
{
	size_t cap;
	unsigned char *d;

	if (size <= o->cap)
		return 0;
	cap = o->cap ? o->cap : 4096;
	while (cap < size)
		cap *= 2;
	d = realloc(o->data, cap);
	if (!d)
		return -ENOMEM;
	o->data = d;
	o->cap = cap;
	return 0;
}

/* Sets the size, zero-filling growth. */
static int obj_resize(struct mobj *o, uint64_t size)
{
	int r;

	if (size > o->size) {
		r = obj_reserve(o, size);
		if (r)
			return r;
		memset(o->data + o->size, 0, size - o->size);
	}
	o->size = size;
	return 0;
}

int do_write(struct mem_store *ms, const char *oid, uint64_t off, const void *buf, size_t len)
{
	struct mobj *o;
	int r = len ? check_extent(off, len) : 0;

	if (r)
		return r;
	o = obj_get(ms, oid, true);
	if (!o)
		return -ENOMEM;
	/* a 0-byte write only creates the object, as the RADOS store does */
	if (len == 0)
		return 0;
	if (off + len > o->size) {
		r = obj_resize(o, off + len);
		if (r)
			return r;
	}
	if (len)
		memcpy(o->data + off, buf, len);
	return 0;
}

ssize_t do_read(struct mem_store *ms, const char *oid, uint64_t off, size_t len, void *buf)
{
	struct mobj *o = msnap_view(ms, oid);
	uint64_t n;

	if (!o)
		return -ENOENT;
	if (off >= o->size)
		return 0;
	n = o->size - off;
	if (n > len)
		n = len;
	memcpy(buf, o->data + off, n);
	return (ssize_t)n;
}

int do_truncate(struct mem_store *ms, const char *oid, uint64_t size)
{
	struct mobj *o;

	if (size >= MEM_MAX_OBJECT_SIZE) /* the OSD refuses even exactly the maximum */
		return -EFBIG;
	o = obj_find(ms, oid);
	if (!o)
		return 0; /* the OSD: "object dne, truncate is a no-op" */
	return obj_resize(o, size);
}

void do_zero(struct mem_store *ms, const char *oid, uint64_t off, uint64_t len)
{
	struct mobj *o = obj_find(ms, oid);

	if (!o || len == 0 || off >= o->size)
		return;
	if (off + len >= o->size || off + len < off)
		o->size = off; /* the OSD turns it into a truncate */
	else
		memset(o->data + off, 0, len);
}

static ssize_t mem_read(struct fl_store *st, const char *oid, uint64_t off, size_t len, void *buf)
{
	struct mem_store *ms = mem_of(st);
	ssize_t r = mem_enter(ms);

	if (r)
		return r;
	r = do_read(ms, oid, off, len, buf);
	mem_leave(ms);
	return r;
}

/* Replaces the object's bytes with buf. */
static int do_write_full(struct mem_store *ms, const char *oid, const void *buf, size_t len)
{
	struct mobj *o;
	int r = check_extent(0, len);

	if (r)
		return r;
	o = obj_get(ms, oid, true);
	if (!o)
		return -ENOMEM;
	r = obj_reserve(o, len);
	if (r)
		return r;
	if (len)
		memcpy(o->data, buf, len);
	o->size = len;
	return 0;
}

/* How the ops that put bytes into an object place them. */
enum put_how {
	PUT_AT,	    /* at off */
	PUT_APPEND, /* at the end */
	PUT_FULL,   /* the whole object */
};

static int mem_put(struct fl_store *st, const char *oid, enum put_how how, uint64_t off,
		   const void *buf, size_t len)
{
	struct mem_store *ms = mem_of(st);
	struct mobj *o;
	int r = mem_enter_w(ms, oid);

	if (r)
		return r;
	if (how == PUT_FULL) {
		r = do_write_full(ms, oid, buf, len);
	} else {
		o = how == PUT_APPEND ? obj_find(ms, oid) : NULL;
		r = do_write(ms, oid, o ? o->size : off, buf, len);
	}
	mem_leave(ms);
	return r;
}

static int mem_write(struct fl_store *st, const char *oid, uint64_t off, const void *buf,
		     size_t len)
{
	return mem_put(st, oid, PUT_AT, off, buf, len);
}

static int mem_write_full(struct fl_store *st, const char *oid, const void *buf, size_t len)
{
	return mem_put(st, oid, PUT_FULL, 0, buf, len);
}

static int mem_append(struct fl_store *st, const char *oid, const void *buf, size_t len)
{
	return mem_put(st, oid, PUT_APPEND, 0, buf, len);
}

static int mem_remove(struct fl_store *st, const char *oid)
{
	struct mem_store *ms = mem_of(st);
	int r = mem_enter_w(ms, oid);

	if (r)
		return r;
	if (obj_find(ms, oid))
		obj_delete(ms, oid);
	else
		r = -ENOENT;
	mem_leave(ms);
	return r;
}

static int mem_truncate(struct fl_store *st, const char *oid, uint64_t size)
{
	struct mem_store *ms = mem_of(st);
	int r = mem_enter_w(ms, oid);

	if (r)
		return r;
	r = do_truncate(ms, oid, size);
	mem_leave(ms);
	return r;
}

static int mem_stat(struct fl_store *st, const char *oid, uint64_t *size)
{
	struct mem_store *ms = mem_of(st);
	struct mobj *o;
	int r = mem_enter(ms);

	if (r)
		return r;
	o = msnap_view(ms, oid);
	if (o && size)
		*size = o->size;
	mem_leave(ms);
	return o ? 0 : -ENOENT;
}

/* --- omap --- */

/* Copies of key/value pairs, handed to callbacks once the lock is dropped. */
struct kvcopy {
	char *key;
	void *val;
	size_t len;
};

static void kv_free(struct kvcopy *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].val);
	}
	free(kv);
}

static int kv_copy(struct kvcopy *kv, const struct tnode *n)
{
	kv->key = strdup(n->key);
	kv->val = malloc(n->len ? n->len : 1);
	kv->len = n->len;
	if (!kv->key || !kv->val)
		return -ENOMEM;
	memcpy(kv->val, n->val, n->len);
	return 0;
}

static int kv_deliver(const struct kvcopy *kv, size_t n, size_t *done, fl_omap_cb cb, void *arg)
{
	size_t i;
	int r = 0;

	for (i = 0; i < n && !r; i++)
		r = cb(arg, kv[i].key, kv[i].val, kv[i].len);
	*done = i;
	return r;
}

/* Waits while the test holds omap listings of objects named like oid. */
static void hold_wait(struct mem_shared *sh, const char *oid)
{
	pthread_mutex_lock(&sh->mu);
	if (sh->hold_prefix && !strncmp(oid, sh->hold_prefix, strlen(sh->hold_prefix))) {
		sh->held++;
		pthread_cond_broadcast(&sh->hold_cond);
		while (sh->hold_prefix && !strncmp(oid, sh->hold_prefix, strlen(sh->hold_prefix)))
			pthread_cond_wait(&sh->hold_cond, &sh->mu);
		sh->held--;
	}
	pthread_mutex_unlock(&sh->mu);
}

static int mem_omap_list(struct fl_store *st, const char *oid, const char *start_after,
			 unsigned max, fl_omap_cb cb, void *arg, bool *more)
{
	struct mem_store *ms = mem_of(st);
	struct kvcopy *kv = NULL;
	struct tnode *n;
	struct mobj *o;
	size_t cnt = 0, cap = 0, done = 0;
	bool left = false;
	int r;

	hold_wait(ms->sh, oid);
	r = mem_enter(ms);
	if (r)
		return r;
	o = msnap_view(ms, oid);
	if (!o) {
		r = -ENOENT;
		goto out_unlock;
	}
	for (n = t_after(o->omap, start_after); n; n = t_after(o->omap, n->key)) {
		if (cnt == max) {
			left = true;
			break;
		}
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct kvcopy *nkv = realloc(kv, ncap * sizeof(*kv));

			if (!nkv) {
				r = -ENOMEM;
				goto out_unlock;
			}
			memset(nkv + cap, 0, (ncap - cap) * sizeof(*kv));
			kv = nkv;
			cap = ncap;
		}
		r = kv_copy(&kv[cnt++], n);
		if (r)
			goto out_unlock;
	}
	mem_leave(ms);
	r = kv_deliver(kv, cnt, &done, cb, arg);
	if (more)
		*more = left || done < cnt;
	goto out;

out_unlock:
	mem_leave(ms);
out:
	kv_free(kv, cap);
	return r;
}

static int mem_omap_get(struct fl_store *st, const char *oid, const char *const *keys, size_t n,
			fl_omap_cb cb, void *arg)
{
	struct mem_store *ms = mem_of(st);
	struct kvcopy *kv = NULL;
	const char **sorted = NULL;
	size_t m, cnt = 0, done;
	struct mobj *o;
	int r = mem_enter(ms);

	if (r)
		return r;
	o = msnap_view(ms, oid);
	if (!o) {
		r = -ENOENT;
		goto out_unlock;
	}
	/* RADOS answers in key order, each key once */
	sorted = fl_keys_sorted_unique(keys, n, &m);
	kv = calloc(n ? n : 1, sizeof(*kv));
	if (!sorted || !kv) {
		r = -ENOMEM;
		goto out_unlock;
	}
	for (size_t i = 0; i < m; i++) {
		struct tnode *t;

		t = t_find(o->omap, sorted[i]);
		if (!t)
			continue;
		r = kv_copy(&kv[cnt++], t);
		if (r)
			goto out_unlock;
	}
	mem_leave(ms);
	r = kv_deliver(kv, cnt, &done, cb, arg);
	goto out;

out_unlock:
	mem_leave(ms);
out:
	if (kv)
		kv_free(kv, n);
	free(sorted);
	return r;
}

static bool omap_cmp_holds(const struct mobj *o, const struct fl_omap_cmp *c)
{
	const struct tnode *t = o ? t_find(o->omap, c->key) : NULL;
	size_t have = t ? t->len : 0;

	/* a missing key compares as an empty value */
	if (have != c->len)
		return false;
	return have == 0 || !memcmp(t->val, c->val, have);
}

static int omap_set_one(struct mem_store *ms, struct mobj *o, const struct fl_kv *kv)
{
	struct tnode *t = t_find(o->omap, kv->key);
	void *v = malloc(kv->len ? kv->len : 1);

	if (!v)
		return -ENOMEM;
	if (kv->len)
		memcpy(v, kv->val, kv->len);
	if (t) {
		free(t->val);
		t->val = v;
		t->len = kv->len;
		return 0;
	}
	t = tnode_new(ms->sh, kv->key, v, kv->len);
	if (!t) {
		free(v);
		return -ENOMEM;
	}
	o->omap = t_insert(o->omap, t);
	return 0;
}

static int mem_omap_update(struct fl_store *st, const char *oid, const struct fl_kv *set,
			   size_t nset, const char *const *rm, size_t nrm,
			   const struct fl_omap_cmp *cmp, size_t ncmp)
{
	struct mem_store *ms = mem_of(st);
	struct mobj *o;
	int r = mem_enter_w(ms, oid);

	if (r)
		return r;
	o = obj_find(ms, oid);
	for (size_t i = 0; i < ncmp; i++) {
		if (!omap_cmp_holds(o, &cmp[i])) {
			r = -ECANCELED;
			goto out;
		}
	}
	o = obj_get(ms, oid, true);
	if (!o) {
		r = -ENOMEM;
		goto out;
	}
	/* set then remove, in the order RADOS applies them; a later set of a key wins */
	for (size_t i = 0; i < nset; i++) {
		r = omap_set_one(ms, o, &set[i]);
		if (r)
			goto out;
	}
	for (size_t i = 0; i < nrm; i++) {
		struct tnode *t = NULL;

		o->omap = t_remove(o->omap, rm[i], &t);
		if (t)
			t_free(t, NULL);
	}
out:
	mem_leave(ms);
	return r;
}

/* --- listing --- */

static int mem_list_objects(struct fl_store *st, const char *prefix, fl_oid_cb cb, void *arg)
{
	struct mem_store *ms = mem_of(st);
	size_t plen = prefix ? strlen(prefix) : 0;
	struct fl_strv names = {0}; /* copies: the callbacks may use the store */
	struct tnode *ns, *n;
	int r = mem_enter(ms);

	if (r)
		return r;
	ns = ns_node(ms->sh, ms->ns, false);
	/* names with the prefix sort from the prefix itself on, contiguously */
	n = NULL;
	if (ns && prefix)
		n = t_find(ns->val, prefix);
	if (ns && !n)
		n = t_after(ns->val, prefix);
	for (; n; n = t_after(ns->val, n->key)) {
		if (plen && strncmp(n->key, prefix, plen))
			break;
		r = fl_strv_add(&names, n->key);
		if (r)
			break;
	}
	if (!r)
		r = msnap_list_removed(ms, prefix, &names);
	mem_leave(ms);
	for (size_t i = 0; i < names.n && !r; i++)
		r = cb(arg, names.v[i]);
	fl_strv_free(&names);
	return r;
}

/* --- locks (cls_lock semantics) --- */

static struct mlock *lock_find(struct mobj *o, const char *name)
{
	struct mlock *l;

	for (l = o->locks; l; l = l->next)
		if (!strcmp(l->name, name))
			break;
	return l;
}

static void lock_expire(struct mlock *l)
{
	struct timespec now = now_mono();
	struct mlocker **pp = &l->lockers;

	while (*pp) {
		struct mlocker *lk = *pp;

		if (!ts_zero(&lk->expire) && ts_before(&lk->expire, &now)) {
			*pp = lk->next;
			mlocker_free(lk);
		} else {
			pp = &lk->next;
		}
	}
}

static struct mlocker **locker_find(struct mlock *l, const char *client, const char *cookie)
{
	struct mlocker **pp;

	for (pp = &l->lockers; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->client, client) && !strcmp((*pp)->cookie, cookie))
			break;
	return pp;
}

static int mem_lock_exclusive(struct fl_store *st, const char *oid, const char *name,
			      const char *cookie, const char *desc, unsigned duration_s, bool renew)
{
	struct mem_store *ms = mem_of(st);
	struct mlocker *lk = NULL, **pp;
	struct mlock *l;
	struct mobj *o;
	int r = mem_enter_w(ms, oid);

	if (r)
		return r;
	o = obj_get(ms, oid, true); /* cls_lock writes an xattr: creates the object */
	if (!o) {
		r = -ENOMEM;
		goto out;
	}
	l = lock_find(o, name);
	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l || !(l->name = strdup(name))) {
			free(l);
			r = -ENOMEM;
			goto out;
		}
		l->next = o->locks;
		o->locks = l;
	}
	lock_expire(l);
	pp = locker_find(l, ms->client, cookie);
	if (*pp) {
		if (!renew) {
			r = -EEXIST;
			goto out;
		}
		lk = *pp; /* renewing: replaced below */
		*pp = lk->next;
		mlocker_free(lk);
		lk = NULL;
	}
	if (l->lockers) {
		r = -EBUSY;
		goto out;
	}
	lk = calloc(1, sizeof(*lk));
	if (!lk) {
		r = -ENOMEM;
		goto out;
	}
	lk->client = strdup(ms->client);
	lk->cookie = strdup(cookie);
	lk->addr = strdup(ms->addr);
	lk->desc = strdup(desc ? desc : "");
	if (!lk->client || !lk->cookie || !lk->addr || !lk->desc) {
		mlocker_free(lk);
		r = -ENOMEM;
		goto out;
	}
	if (duration_s) {
		lk->expire = now_mono();
		lk->expire.tv_sec += duration_s;
	}
	lk->next = l->lockers;
	l->lockers = lk;
out:
	mem_leave(ms);
	return r;
}

static int unlock_as(struct mem_store *ms, const char *oid, const char *name, const char *client,
		     const char *cookie)
{
	struct mlocker **pp, *lk;
	struct mlock *l;
	struct mobj *o;
	int r = mem_enter_w(ms, oid);

	if (r)
		return r;
	o = obj_find(ms, oid);
	l = o ? lock_find(o, name) : NULL;
	if (!l) {
		r = -ENOENT;
		goto out;
	}
	lock_expire(l);
	pp = locker_find(l, client, cookie);
	if (!*pp) {
		r = -ENOENT;
		goto out;
	}
	lk = *pp;
	*pp = lk->next;
	mlocker_free(lk);
out:
	mem_leave(ms);
	return r;
}

static int mem_unlock(struct fl_store *st, const char *oid, const char *name, const char *cookie)
{
	struct mem_store *ms = mem_of(st);

	return unlock_as(ms, oid, name, ms->client, cookie);
}

static int mem_break_lock(struct fl_store *st, const char *oid, const char *name,
			  const char *client, const char *cookie)
{
	const char *p = client;

	/* librados parses the client as an entity name: "client.<number>" */
	if (strncmp(p, "client.", 7) || !p[7] || strspn(p + 7, "0123456789") != strlen(p + 7))
		return -EINVAL;
	return unlock_as(mem_of(st), oid, name, client, cookie);
}

static void copy_str(char *dst, size_t len, const char *src)
{
	if (len)
		snprintf(dst, len, "%s", src);
}

static int mem_list_lockers(struct fl_store *st, const char *oid, const char *name,
			    struct fl_locker *out, int max, char *desc, size_t desclen)
{
	struct mem_store *ms = mem_of(st);
	struct mlocker *lk;
	struct mlock *l;
	struct mobj *o;
	int r = mem_enter(ms), cnt = 0;

	if (r)
		return r;
	if (desc && desclen)
		desc[0] = '\0';
	o = msnap_view(ms, oid);
	if (!o) {
		r = -ENOENT;
		goto out;
	}
	l = lock_find(o, name);
	if (l)
		lock_expire(l);
	for (lk = l ? l->lockers : NULL; lk; lk = lk->next, cnt++) {
		if (cnt == 0 && desc)
			copy_str(desc, desclen, lk->desc);
		if (cnt >= max)
			continue;
		copy_str(out[cnt].client, sizeof(out[cnt].client), lk->client);
		copy_str(out[cnt].cookie, sizeof(out[cnt].cookie), lk->cookie);
		copy_str(out[cnt].addr, sizeof(out[cnt].addr), lk->addr);
	}
	r = cnt;
out:
	mem_leave(ms);
	return r;
}

static int mem_self_addr(struct fl_store *st, char *buf, size_t len)
{
	struct mem_store *ms = mem_of(st);

	if (strlen(ms->addr) >= len)
		return -ERANGE;
	memcpy(buf, ms->addr, strlen(ms->addr) + 1);
	return 0;
}

static int mem_blocklist_add(struct fl_store *st, const char *addr, unsigned expire_s)
{
	struct mem_store *ms = mem_of(st);
	struct mem_shared *sh = ms->sh;
	char norm[64];
	struct mblock *b;
	int r;

	/* blocklisting is a mon command: it works even for a blocklisted client */
	r = addr_normalize(addr, norm, sizeof(norm));
	if (r)
		return r;
	pthread_mutex_lock(&sh->mu);
	if (sh->inject_n > 0) {
		sh->inject_n--;
		r = sh->inject_err;
		goto out;
	}
	for (b = sh->blocks; b; b = b->next)
		if (!strcmp(b->addr, norm))
			break;
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b || !(b->addr = strdup(norm))) {
			free(b);
			r = -ENOMEM;
			goto out;
		}
		b->next = sh->blocks;
		sh->blocks = b;
	}
	b->expire = now_mono();
	b->expire.tv_sec += expire_s ? expire_s : MEM_BLOCKLIST_DEFAULT_S;
out:
	pthread_mutex_unlock(&sh->mu);
	return r;
}

/* --- handles --- */

static struct fl_store *mem_new_handle(struct mem_shared *sh, const char *ns)
{
	struct mem_store *ms = calloc(1, sizeof(*ms));
	uint32_t gid, nonce;

	if (!ms)
		return NULL;
	ms->ns = strdup(ns ? ns : "");
	if (!ms->ns) {
		free(ms);
		return NULL;
	}
	ms->base.ops = &mem_ops;
	ms->sh = sh;
	ms->read_snap = FL_SNAP_HEAD;
	pthread_mutex_lock(&sh->mu);
	sh->refs++;
	gid = sh->next_gid++;
	nonce = sh_rand(sh);
	pthread_mutex_unlock(&sh->mu);
	snprintf(ms->client, sizeof(ms->client), "client.%" PRIu32, gid);
	snprintf(ms->norm_addr, sizeof(ms->norm_addr), "127.0.0.1:0/%" PRIu32, nonce);
	snprintf(ms->addr, sizeof(ms->addr), "v1:%s", ms->norm_addr);
	return &ms->base;
}

static void mem_close(struct fl_store *st)
{
	struct mem_store *ms = mem_of(st);
	struct mem_shared *sh = ms->sh;
	bool last;

	pthread_mutex_lock(&sh->mu);
	last = --sh->refs == 0;
	pthread_mutex_unlock(&sh->mu);
	if (last)
		sh_free(sh);
	msnapc_put(ms->wctx);
	free(ms->ns);
	free(ms);
}

static struct fl_store *mem_clone_ns(struct fl_store *st, const char *ns)
{
	struct mem_store *ms = mem_of(st);
	struct fl_store *c = mem_new_handle(ms->sh, ns);

	if (c) {
		pthread_mutex_lock(&ms->sh->mu);
		mem_of(c)->wctx = msnapc_get(ms->wctx);
		mem_of(c)->read_snap = ms->read_snap;
		pthread_mutex_unlock(&ms->sh->mu);
	}
	return c;
}

struct fl_store *fl_mem_open(void)
{
	struct mem_shared *sh = calloc(1, sizeof(*sh));
	struct fl_store *st;
	struct timespec ts;

	if (!sh)
		return NULL;
	if (pthread_mutex_init(&sh->mu, NULL)) {
		free(sh);
		return NULL;
	}
	if (pthread_cond_init(&sh->hold_cond, NULL)) {
		pthread_mutex_destroy(&sh->mu);
		free(sh);
		return NULL;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	sh->rng = (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec ^ (uint32_t)(uintptr_t)sh;
	if (!sh->rng)
		sh->rng = 0x9e3779b9u;
	sh->next_gid = MEM_FIRST_GID;
	st = mem_new_handle(sh, NULL);
	if (!st)
		sh_free(sh);
	return st;
}

void fl_mem_inject_error(struct fl_store *st, int err, int n)
{
	fl_mem_inject_error_on(st, err, n, "");
}

void fl_mem_inject_error_on(struct fl_store *st, int err, int n, const char *prefix)
{
	struct mem_shared *sh = mem_of(fl_gate_inner(st))->sh;

	pthread_mutex_lock(&sh->mu);
	sh->inject_err = err > 0 ? -err : err;
	sh->inject_n = err && n > 0 ? n : 0;
	snprintf(sh->inject_prefix, sizeof(sh->inject_prefix), "%s", prefix ? prefix : "");
	pthread_mutex_unlock(&sh->mu);
}

uint64_t fl_mem_op_count(struct fl_store *st)
{
	struct mem_shared *sh = mem_of(fl_gate_inner(st))->sh;
	uint64_t n;

	pthread_mutex_lock(&sh->mu);
	n = sh->ops;
	pthread_mutex_unlock(&sh->mu);
	return n;
}

void fl_mem_delay_batches(struct fl_store *st, unsigned usec)
{
	struct mem_shared *sh = mem_of(fl_gate_inner(st))->sh;

	pthread_mutex_lock(&sh->mu);
	sh->batch_delay_us = usec;
	pthread_mutex_unlock(&sh->mu);
}

int fl_mem_hold_omap_list(struct fl_store *st, const char *prefix)
{
	struct mem_shared *sh = mem_of(fl_gate_inner(st))->sh;
	char *p = prefix ? strdup(prefix) : NULL;

	if (prefix && !p)
		return -ENOMEM;
	pthread_mutex_lock(&sh->mu);
	free(sh->hold_prefix);
	sh->hold_prefix = p;
	pthread_cond_broadcast(&sh->hold_cond);
	pthread_mutex_unlock(&sh->mu);
	return 0;
}

int fl_mem_held_wait(struct fl_store *st, unsigned n, unsigned timeout_ms)
{
	struct mem_shared *sh = mem_of(fl_gate_inner(st))->sh;
	struct timespec ts;
	int r = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	fl_ts_add_ms(&ts, (long)timeout_ms);
	pthread_mutex_lock(&sh->mu);
	while (sh->held < n && !r)
		r = pthread_cond_timedwait(&sh->hold_cond, &sh->mu, &ts);
	r = sh->held >= n ? 0 : -ETIMEDOUT;
	pthread_mutex_unlock(&sh->mu);
	return r;
}

/* No watches in memory: probes of a writer say so, and callers fall back. */
static int mem_watch(struct fl_store *st, const char *oid, fl_watch_reply reply, void *arg,
		     uint64_t *handle)
{
	(void)st;
	(void)oid;
	(void)reply;
	(void)arg;
	*handle = 0;
	return -EOPNOTSUPP;
}

static int mem_watch_check(struct fl_store *st, uint64_t handle)
{
	(void)st;
	(void)handle;
	return -EOPNOTSUPP;
}

static int mem_unwatch(struct fl_store *st, uint64_t handle)
{
	(void)st;
	(void)handle;
	return 0;
}

static int mem_notify(struct fl_store *st, const char *oid, unsigned timeout_ms,
		      fl_notify_ack_cb cb, void *arg)
{
	(void)st;
	(void)oid;
	(void)timeout_ms;
	(void)cb;
	(void)arg;
	return -EOPNOTSUPP;
}

static int mem_watch_req(struct fl_store *st, const char *oid, fl_watch_req cb, void *arg,
			 uint64_t *handle)
{
	(void)cb;
	return mem_watch(st, oid, NULL, arg, handle);
}

static int mem_notify_ack(struct fl_store *st, uint64_t handle, uint64_t notify_id, const void *buf,
			  size_t len)
{
	(void)st, (void)handle, (void)notify_id, (void)buf, (void)len;
	return -EOPNOTSUPP;
}

static int mem_notify_data(struct fl_store *st, const char *oid, const void *data, size_t len,
			   unsigned timeout_ms, fl_notify_ack_cb cb, void *arg)
{
	(void)data, (void)len;
	return mem_notify(st, oid, timeout_ms, cb, arg);
}

static const struct fl_store_ops mem_ops = FL_STORE_OPS(mem);
