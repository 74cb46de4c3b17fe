/*
 * flockerfs — the layered store (fs/store/store_layer.h).
 *
 * What the layer knows about each object it met is kept in a hash table
 * (struct lent): whether the child has it, whether the parent can supply
 * it (no when whited out, beyond the inode bound, or looked up and
 * missing), and whether a copy-up of it is running (other threads wait for
 * it on l->cv).  What is learned about the parent never goes stale: the
 * parent is read at a snapshot.  "The child lacks it" is remembered only by
 * the writer (the handle holding the volume's lock on super): a reader beside a
 * writer in another process must look again.
 *
 * One mutex (l->mu) guards the table; store calls run without it.
 */
#include "fs/store/store_layer.h"
#include "fs/store/store_layer_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flocker/buf.h"

#define LAYER_ATOMIC_KEYS 1024		/* omap keys copied up in one op */
#define LAYER_ATOMIC_DATA (64ull << 20) /* data written whole in one op (R_IO_CHUNK) */
#define LAYER_OMAP_PAGE	  1024
#define LAYER_READ_CHUNK  (4u << 20)

static const struct fl_store_ops layer_ops;

struct layer *layer_of(struct fl_store *st)
{
	return (struct layer *)st;
}

/* --- the table --- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ull;
	}
	return h;
}

static void tab_free(struct ltab *t)
{
	for (size_t i = 0; i < t->nb; i++) {
		struct lent *e = t->b[i];

		while (e) {
			struct lent *n = e->next;

			free(e);
			e = n;
		}
	}
	free(t->b);
	t->b = NULL;
	t->nb = t->n = 0;
}

static int tab_grow(struct ltab *t)
{
	size_t nb = t->nb ? t->nb * 2 : 1024;
	struct lent **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < t->nb; i++) {
		struct lent *e = t->b[i];

		while (e) {
			struct lent *n = e->next;
			size_t k = hash_str(e->oid) & (nb - 1);

			e->next = b[k];
			b[k] = e;
			e = n;
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
	return 0;
}

static struct lent *tab_find(struct ltab *t, const char *oid)
{
	struct lent *e;

	if (!t->nb)
		return NULL;
	for (e = t->b[hash_str(oid) & (t->nb - 1)]; e; e = e->next)
		if (!strcmp(e->oid, oid))
			return e;
	return NULL;
}

/* The entry of oid, made if missing; NULL only when memory runs out. */
static struct lent *tab_get(struct ltab *t, const char *oid)
{
	struct lent *e = tab_find(t, oid);
	size_t len, k;

	if (e)
		return e;
	if (t->n >= t->nb * 2 && tab_grow(t))
		return NULL;
	len = strlen(oid);
	e = calloc(1, sizeof(*e) + len + 1);
	if (!e)
		return NULL;
	memcpy(e->oid, oid, len + 1);
	k = hash_str(oid) & (t->nb - 1);
	e->next = t->b[k];
	t->b[k] = e;
	t->n++;
	return e;
}

/* --- what is known --- */

/* Objects of the volume itself: never read through, never copied up. */
static bool local_oid(const char *oid)
{
	static const char *const names[] = {"super",	     FL_OID_PARENT, FL_OID_WHITEOUT,
					    FL_OID_CHILDREN, "snaps",	    FL_OID_COPYUPS};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(oid, names[i]))
			return true;
	return false;
}

/* Objects of the layer's own bookkeeping, hidden from listings. */
static bool hidden_oid(const char *oid)
{
	return !strcmp(oid, FL_OID_PARENT) || !strcmp(oid, FL_OID_WHITEOUT) ||
	       !strcmp(oid, FL_OID_COPYUPS);
}

/* data.<16 hex>.* or dir.<16 hex>: the inode number, else false. */
static bool oid_ino(const char *oid, uint64_t *ino)
{
	const char *p;
	uint64_t v = 0;
	int i;

	if (!strncmp(oid, "data.", 5))
		p = oid + 5;
	else if (!strncmp(oid, "dir.", 4))
		p = oid + 4;
	else
		return false;
	for (i = 0; i < 16; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (d < 0)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	if (p[16] != '\0' && p[16] != '.')
		return false;
	*ino = v;
	return true;
}

/* Under mu: the parent cannot supply oid (whited out, local, beyond the bound, known missing). */
static bool parent_lacks_locked(struct layer *l, const char *oid, struct lent *e)
{
	uint64_t ino;

	if (local_oid(oid))
		return true;
	if (e && (e->wo || e->parent == K_NO))
		return true;
	return l->ino_bound && oid_ino(oid, &ino) && ino >= l->ino_bound;
}

/*
 * Under mu: the child is known to lack a usable copy of oid.  Only the
 * writer trusts what it learned: the child changes under a reader.  The
 * data objects the child had at open were listed, so for the writer a data
 * object it never met is one the child lacks.
 */
static bool child_lacks_locked(struct layer *l, const char *oid, struct lent *e)
{
	if (e && e->partial)
		return true;
	if (!l->writer)
		return false;
	if (e && e->child != K_UNKNOWN)
		return e->child == K_NO;
	return l->listed && !strncmp(oid, "data.", 5);
}

void layer_note(struct layer *l, const char *oid, int child, int parent)
{
	struct lent *e;

	pthread_mutex_lock(&l->mu);
	e = tab_get(&l->t, oid);
	if (e) {
		if (child != K_UNKNOWN)
			e->child = (uint8_t)child;
		if (parent != K_UNKNOWN)
			e->parent = (uint8_t)parent;
	}
	pthread_mutex_unlock(&l->mu);
}

enum route layer_route_read(struct layer *l, const char *oid)
{
	struct lent *e;
	bool cl, pl;
	bool cy;

	if (local_oid(oid))
		return R_CHILD;
	pthread_mutex_lock(&l->mu);
	e = tab_find(&l->t, oid);
	pl = parent_lacks_locked(l, oid, e);
	cl = child_lacks_locked(l, oid, e);
	cy = e && e->child == K_YES && !e->partial;
	pthread_mutex_unlock(&l->mu);
	if (cy || pl)
		return cl && pl ? R_NONE : R_CHILD;
	return cl ? R_PARENT : R_CHILD_THEN_PARENT;
}

/* After the child answered -ENOENT (or a read went to the parent): go on with the parent? */
static bool parent_may(struct layer *l, const char *oid)
{
	struct lent *e;
	bool pl;

	pthread_mutex_lock(&l->mu);
	e = tab_find(&l->t, oid);
	pl = parent_lacks_locked(l, oid, e);
	pthread_mutex_unlock(&l->mu);
	return !pl;
}

/* --- copy-up --- */

struct kvs {
	struct fl_kv *kv;
	size_t n, cap;
	char *last;
};

static void kvs_free(struct kvs *k)
{
	for (size_t i = 0; i < k->n; i++) {
		free((char *)k->kv[i].key);
		free((void *)k->kv[i].val);
	}
	free(k->kv);
	k->kv = NULL;
	k->n = k->cap = 0;
}

static int kvs_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct kvs *k = arg;
	char *kc, *vc;

	if (fl_grow(&k->kv, &k->cap, k->n, sizeof(*k->kv), 64))
		return -ENOMEM;
	kc = strdup(key);
	vc = malloc(len ? len : 1);
	if (!kc || !vc) {
		free(kc);
		free(vc);
		return -ENOMEM;
	}
	if (len)
		memcpy(vc, val, len);
	k->kv[k->n].key = kc;
	k->kv[k->n].val = vc;
	k->kv[k->n].len = len;
	k->last = kc;
	k->n++;
	return 0;
}

/* Every omap pair of oid in st. */
static int omap_all(struct fl_store *st, const char *oid, struct kvs *k)
{
	bool more = true;
	int r;

	while (more) {
		const char *after = k->n ? k->kv[k->n - 1].key : NULL;

		r = st->ops->omap_list(st, oid, after, LAYER_OMAP_PAGE, kvs_cb, k, &more);
		if (r)
			return r;
	}
	return 0;
}

static int read_all(struct fl_store *st, const char *oid, uint64_t size, char *buf)
{
	uint64_t done = 0;

	while (done < size) {
		size_t n =
			size - done > LAYER_READ_CHUNK ? LAYER_READ_CHUNK : (size_t)(size - done);
		ssize_t got = st->ops->read(st, oid, done, n, buf + done);

		if (got < 0)
			return (int)got;
		if (got == 0)
			break; /* shrank meanwhile: the parent is a snapshot, so it cannot */
		done += (uint64_t)got;
	}
	if (done < size)
		memset(buf + done, 0, size - done);
	return 0;
}

static int copyups_mark(struct layer *l, const char *oid, bool set)
{
	struct fl_kv kv = {oid, "", 0};
	const char *rm[1] = {oid};

	if (set)
		return l->child->ops->omap_update(l->child, FL_OID_COPYUPS, &kv, 1, NULL, 0, NULL,
						  0);
	return l->child->ops->omap_update(l->child, FL_OID_COPYUPS, NULL, 0, rm, 1, NULL, 0);
}

/* Copies the parent's oid into the child: 0, -ENOENT (the parent lacks it), or an error. */
static int copy_up(struct layer *l, const char *oid)
{
	struct fl_store *p = l->parent, *c = l->child;
	struct kvs k = {0};
	char *data = NULL;
	uint64_t size;
	int r;

	pthread_mutex_lock(&l->mu);
	l->n_pstats++;
	pthread_mutex_unlock(&l->mu);
	r = p->ops->stat(p, oid, &size);
	if (r)
		return r;
	data = malloc(size ? size : 1);
	if (!data)
		return -ENOMEM;
	r = read_all(p, oid, size, data);
	if (r)
		goto out;
	r = omap_all(p, oid, &k);
	if (r)
		goto out;
	if (k.n == 0 && size <= LAYER_ATOMIC_DATA) {
		/* one op: a 0-byte write creates the object */
		r = size ? c->ops->write_full(c, oid, data, size) : c->ops->write(c, oid, 0, "", 0);
	} else if (size == 0 && k.n <= LAYER_ATOMIC_KEYS) {
		r = c->ops->omap_update(c, oid, k.kv, k.n, NULL, 0, NULL, 0);
	} else {
		/* several ops: announced, so a crash leaves no half copy that reads as whole */
		r = copyups_mark(l, oid, true);
		if (r)
			goto out;
		r = c->ops->remove(c, oid);
		if (r && r != -ENOENT)
			goto out;
		r = size ? c->ops->write_full(c, oid, data, size) : c->ops->write(c, oid, 0, "", 0);
		for (size_t i = 0; !r && i < k.n; i += LAYER_ATOMIC_KEYS) {
			size_t n = k.n - i > LAYER_ATOMIC_KEYS ? LAYER_ATOMIC_KEYS : k.n - i;

			r = c->ops->omap_update(c, oid, k.kv + i, n, NULL, 0, NULL, 0);
		}
		if (r)
			goto out;
		r = copyups_mark(l, oid, false);
		if (r)
			goto out;
	}
	if (!r) {
		pthread_mutex_lock(&l->mu);
		l->n_copyups++;
		pthread_mutex_unlock(&l->mu);
	}
out:
	/* a failed copy-up of several ops stays announced: the next writer cleans it */
	kvs_free(&k);
	free(data);
	return r;
}

/* Under mu: wait until nobody decides about oid, then claim it.  NULL: -ENOMEM. */
static struct lent *claim(struct layer *l, const char *oid)
{
	struct lent *e;

	for (;;) {
		e = tab_get(&l->t, oid);
		if (!e || !e->busy)
			break;
		pthread_cond_wait(&l->cv, &l->mu);
	}
	if (e)
		e->busy = true;
	return e;
}

void layer_unclaim(struct layer *l, struct lent *e)
{
	pthread_mutex_lock(&l->mu);
	e->busy = false;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

/*
 * The first write of the writer (the holder of the volume's lock): half
 * copy-ups a crash left are removed (they read from the parent until the
 * next write copies them again).  Others leave them: a writer may be at work.
 */
static int become_writer(struct layer *l)
{
	struct kvs k = {0};
	int r = 0;

	pthread_mutex_lock(&l->mu);
	if (l->recovered || !l->writer) {
		pthread_mutex_unlock(&l->mu);
		return 0;
	}
	pthread_mutex_unlock(&l->mu);
	r = omap_all(l->child, FL_OID_COPYUPS, &k);
	if (r == -ENOENT)
		r = 0;
	for (size_t i = 0; !r && i < k.n; i++) {
		r = l->child->ops->remove(l->child, k.kv[i].key);
		if (r == -ENOENT)
			r = 0;
		if (!r)
			r = copyups_mark(l, k.kv[i].key, false);
		if (!r) {
			struct lent *e;

			pthread_mutex_lock(&l->mu);
			e = tab_get(&l->t, k.kv[i].key);
			if (e) {
				e->partial = false;
				e->child = K_NO;
			}
			pthread_mutex_unlock(&l->mu);
		}
	}
	kvs_free(&k);
	if (!r) {
		pthread_mutex_lock(&l->mu);
		l->recovered = true;
		pthread_mutex_unlock(&l->mu);
	}
	return r;
}

/* The writer's claim on oid before a write-class op or a remove; returns
 * with mu held on success, or 0 with *ep NULL (nothing held) for an object
 * that is the child's alone. */
static int claim_for_write(struct layer *l, const char *oid, struct lent **ep)
{
	int r;

	*ep = NULL;
	if (local_oid(oid))
		return 0;
	r = become_writer(l);
	if (r)
		return r;
	pthread_mutex_lock(&l->mu);
	*ep = claim(l, oid);
	if (!*ep) {
		pthread_mutex_unlock(&l->mu);
		return -ENOMEM;
	}
	return 0;
}

/*
 * Before a write-class op on oid: if only the parent has it, copy it up.
 * Afterwards the op may run on the child.
 */
int layer_prep_write(struct layer *l, const char *oid)
{
	struct lent *e;
	uint64_t size;
	uint8_t child;
	int r;

	r = claim_for_write(l, oid, &e);
	if (r || !e)
		return r;
	if ((e->child == K_YES && !e->partial) || parent_lacks_locked(l, oid, e)) {
		e->busy = false;
		pthread_cond_broadcast(&l->cv);
		pthread_mutex_unlock(&l->mu);
		return 0;
	}
	child = child_lacks_locked(l, oid, e) ? K_NO : e->child;
	pthread_mutex_unlock(&l->mu);
	if (child != K_NO) {
		r = l->child->ops->stat(l->child, oid, &size);
		if (r == 0) {
			layer_note(l, oid, K_YES, K_UNKNOWN);
			goto out;
		}
		if (r != -ENOENT)
			goto out;
	}
	r = copy_up(l, oid);
	if (r == 0) {
		layer_note(l, oid, K_YES, K_YES);
		pthread_mutex_lock(&l->mu);
		e->partial = false; /* copied whole again */
		pthread_mutex_unlock(&l->mu);
	} else if (r == -ENOENT) {
		layer_note(l, oid, K_NO, K_NO);
		r = 0;
	}
out:
	layer_unclaim(l, e);
	return r;
}

void layer_note_created(struct layer *l, const char *oid, int r)
{
	if (!r && !local_oid(oid))
		layer_note(l, oid, K_YES, K_UNKNOWN);
}

/*
 * Before removing oid: a whiteout when the parent has it.  *via_parent: the
 * object existed through the parent (the remove then succeeds even if the
 * child lacks it).
 */
int layer_prep_remove(struct layer *l, const char *oid, bool *via_parent, struct lent **claimed)
{
	struct lent *e;
	struct fl_kv kv = {oid, "", 0};
	uint64_t size;
	bool lacks, known;
	int r;

	*via_parent = false;
	*claimed = NULL;
	r = claim_for_write(l, oid, &e);
	if (r || !e)
		return r;
	lacks = parent_lacks_locked(l, oid, e);
	known = e->parent == K_YES;
	l->n_pstats += !lacks && !known;
	pthread_mutex_unlock(&l->mu);
	*claimed = e;
	if (lacks)
		return 0;
	if (!known) {
		r = l->parent->ops->stat(l->parent, oid, &size);
		if (r == -ENOENT) {
			layer_note(l, oid, K_UNKNOWN, K_NO);
			return 0;
		}
		if (r)
			return r;
	}
	r = l->child->ops->omap_update(l->child, FL_OID_WHITEOUT, &kv, 1, NULL, 0, NULL, 0);
	if (r)
		return r;
	pthread_mutex_lock(&l->mu);
	e->wo = true;
	e->parent = K_NO;
	pthread_mutex_unlock(&l->mu);
	*via_parent = true;
	return 0;
}

void layer_done_remove(struct layer *l, struct lent *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&l->mu);
	e->child = K_NO;
	e->partial = false;
	pthread_mutex_unlock(&l->mu);
	layer_unclaim(l, e);
}

/* --- ops --- */

static void layer_close(struct fl_store *st)
{
	struct layer *l = layer_of(st);

	fl_store_close(l->child);
	fl_store_close(l->parent);
	tab_free(&l->t);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

static struct fl_store *layer_clone_ns(struct fl_store *st, const char *ns)
{
	struct layer *l = layer_of(st);

	return l->child->ops->clone_ns(l->child, ns);
}

/* The arguments of a read-class op: read, stat, omap_get or omap_list. */
struct read_args {
	enum { RD_READ, RD_STAT, RD_OMAP_GET, RD_OMAP_LIST } op;
	uint64_t off; /* read */
	size_t len;
	void *buf;
	uint64_t *size;		 /* stat */
	const char *start_after; /* omap_list */
	unsigned max;
	bool *more;
	const char *const *keys; /* omap_get */
	size_t n;
	fl_omap_cb cb; /* omap_get and omap_list */
	void *arg;
};

static ssize_t read_on(struct fl_store *st, const char *oid, const struct read_args *a)
{
	switch (a->op) {
	case RD_READ:
		return st->ops->read(st, oid, a->off, a->len, a->buf);
	case RD_STAT:
		return st->ops->stat(st, oid, a->size);
	case RD_OMAP_GET:
		return st->ops->omap_get(st, oid, a->keys, a->n, a->cb, a->arg);
	default:
		return st->ops->omap_list(st, oid, a->start_after, a->max, a->cb, a->arg, a->more);
	}
}

/*
 * A read-class op: the child's when it may have oid, else the parent's.  What
 * it learns is noted: where oid is missing, and for read and stat where it is.
 */
static ssize_t layer_read_op(struct fl_store *st, const char *oid, const struct read_args *a)
{
	struct layer *l = layer_of(st);
	enum route rt = layer_route_read(l, oid);
	bool data = a->op == RD_READ || a->op == RD_STAT;
	ssize_t r;

	if (rt == R_NONE)
		return -ENOENT;
	if (rt != R_PARENT) {
		r = read_on(l->child, oid, a);
		if (r != -ENOENT || rt == R_CHILD) {
			if (r >= 0 && data && !local_oid(oid))
				layer_note(l, oid, K_YES, K_UNKNOWN);
			return r;
		}
		layer_note(l, oid, K_NO, K_UNKNOWN);
		if (!parent_may(l, oid))
			return -ENOENT;
	}
	r = read_on(l->parent, oid, a);
	if (r == -ENOENT)
		layer_note(l, oid, K_UNKNOWN, K_NO);
	else if (a->op == RD_STAT)
		layer_note(l, oid, K_UNKNOWN, r == 0 ? K_YES : K_UNKNOWN);
	return r;
}

static ssize_t layer_read(struct fl_store *st, const char *oid, uint64_t off, size_t len, void *buf)
{
	struct read_args a = {.op = RD_READ, .off = off, .len = len, .buf = buf};

	return layer_read_op(st, oid, &a);
}

static int layer_stat(struct fl_store *st, const char *oid, uint64_t *size)
{
	struct read_args a = {.op = RD_STAT, .size = size};

	return (int)layer_read_op(st, oid, &a);
}

static int layer_omap_list(struct fl_store *st, const char *oid, const char *start_after,
			   unsigned max, fl_omap_cb cb, void *arg, bool *more)
{
	struct read_args a = {.op = RD_OMAP_LIST,
			      .start_after = start_after,
			      .max = max,
			      .cb = cb,
			      .arg = arg,
			      .more = more};

	return (int)layer_read_op(st, oid, &a);
}

static int layer_omap_get(struct fl_store *st, const char *oid, const char *const *keys, size_t n,
			  fl_omap_cb cb, void *arg)
{
	struct read_args a = {.op = RD_OMAP_GET, .keys = keys, .n = n, .cb = cb, .arg = arg};

	return (int)layer_read_op(st, oid, &a);
}

static int layer_write(struct fl_store *st, const char *oid, uint64_t off, const void *buf,
		       size_t len)
{
	struct layer *l = layer_of(st);
	int r = layer_prep_write(l, oid);

	if (!r)
		r = l->child->ops->write(l->child, oid, off, buf, len);
	layer_note_created(l, oid, r);
	return r;
}

static int layer_write_full(struct fl_store *st, const char *oid, const void *buf, size_t len)
{
	struct layer *l = layer_of(st);
	int r = layer_prep_write(l, oid); /* the omap stays: copy it up too */

	if (!r)
		r = l->child->ops->write_full(l->child, oid, buf, len);
	layer_note_created(l, oid, r);
	return r;
}

static int layer_append(struct fl_store *st, const char *oid, const void *buf, size_t len)
{
	struct layer *l = layer_of(st);
	int r = layer_prep_write(l, oid);

	if (!r)
		r = l->child->ops->append(l->child, oid, buf, len);
	layer_note_created(l, oid, r);
	return r;
}

static int layer_truncate(struct fl_store *st, const char *oid, uint64_t size)
{
	struct layer *l = layer_of(st);
	int r = layer_prep_write(l, oid);

	return r ? r : l->child->ops->truncate(l->child, oid, size);
}

static int layer_remove(struct fl_store *st, const char *oid)
{
	struct layer *l = layer_of(st);
	struct lent *e;
	bool via_parent;
	int r = layer_prep_remove(l, oid, &via_parent, &e);

	if (!r) {
		r = l->child->ops->remove(l->child, oid);
		if (r == -ENOENT && via_parent)
			r = 0;
	}
	if (!r || r == -ENOENT)
		layer_done_remove(l, e);
	else if (e)
		layer_unclaim(l, e);
	return r;
}

static int layer_omap_update(struct fl_store *st, const char *oid, const struct fl_kv *set,
			     size_t nset, const char *const *rm, size_t nrm,
			     const struct fl_omap_cmp *cmp, size_t ncmp)
{
	struct layer *l = layer_of(st);
	int r = layer_prep_write(l, oid);

	if (!r)
		r = l->child->ops->omap_update(l->child, oid, set, nset, rm, nrm, cmp, ncmp);
	layer_note_created(l, oid, r);
	return r;
}

/* --- listing: union minus whiteouts --- */

struct list_ctx {
	struct layer *l;
	struct ltab seen;
	fl_oid_cb cb;
	void *arg;
	bool parent_side;
};

static int list_cb(void *arg, const char *oid)
{
	struct list_ctx *x = arg;
	struct lent *e;
	bool skip;

	if (!x->parent_side) {
		if (hidden_oid(oid))
			return 0;
		if (!tab_get(&x->seen, oid))
			return -ENOMEM;
		return x->cb(x->arg, oid);
	}
	if (local_oid(oid) || tab_find(&x->seen, oid))
		return 0;
	pthread_mutex_lock(&x->l->mu);
	e = tab_find(&x->l->t, oid);
	skip = e && e->wo;
	pthread_mutex_unlock(&x->l->mu);
	return skip ? 0 : x->cb(x->arg, oid);
}

static int layer_list_objects(struct fl_store *st, const char *prefix, fl_oid_cb cb, void *arg)
{
	struct layer *l = layer_of(st);
	struct list_ctx x = {l, {0}, cb, arg, false};
	int r;

	r = l->child->ops->list_objects(l->child, prefix, list_cb, &x);
	if (!r) {
		x.parent_side = true;
		r = l->parent->ops->list_objects(l->parent, prefix, list_cb, &x);
	}
	tab_free(&x.seen);
	return r;
}

/* --- locks, watches: the child's (locks are never copied up) --- */

static int layer_lock_exclusive(struct fl_store *st, const char *oid, const char *name,
				const char *cookie, const char *desc, unsigned duration_s,
				bool renew)
{
	struct layer *l = layer_of(st);
	int r = 0;

	if (!local_oid(oid))
		r = layer_prep_write(l, oid);
	if (!r)
		r = l->child->ops->lock_exclusive(l->child, oid, name, cookie, desc, duration_s,
						  renew);
	layer_note_created(l, oid, r);
	/* the volume's lock (on super): from now on this handle alone changes the child */
	if (!strcmp(oid, "super") && (r == 0 || r == -EEXIST)) {
		pthread_mutex_lock(&l->mu);
		l->writer = true;
		pthread_mutex_unlock(&l->mu);
	}
	return r;
}

static int layer_unlock(struct fl_store *st, const char *oid, const char *name, const char *cookie)
{
	struct layer *l = layer_of(st);
	int r = l->child->ops->unlock(l->child, oid, name, cookie);

	if (!strcmp(oid, "super") && r == 0) {
		pthread_mutex_lock(&l->mu);
		l->writer = false;
		pthread_mutex_unlock(&l->mu);
	}
	return r;
}

static int layer_list_lockers(struct fl_store *st, const char *oid, const char *name,
			      struct fl_locker *out, int max, char *desc, size_t desclen)
{
	struct layer *l = layer_of(st);
	uint64_t size;
	int r = l->child->ops->list_lockers(l->child, oid, name, out, max, desc, desclen);

	if (r != -ENOENT || local_oid(oid))
		return r;
	/* the object exists through the parent: it has no locks here */
	r = layer_stat(st, oid, &size);
	if (desc && desclen)
		desc[0] = '\0';
	return r ? r : 0;
}

static int layer_break_lock(struct fl_store *st, const char *oid, const char *name,
			    const char *client, const char *cookie)
{
	struct layer *l = layer_of(st);

	return l->child->ops->break_lock(l->child, oid, name, client, cookie);
}

static int layer_self_addr(struct fl_store *st, char *buf, size_t len)
{
	struct layer *l = layer_of(st);

	return l->child->ops->self_addr(l->child, buf, len);
}

static int layer_blocklist_add(struct fl_store *st, const char *addr, unsigned expire_s)
{
	struct layer *l = layer_of(st);

	return l->child->ops->blocklist_add(l->child, addr, expire_s);
}

static int layer_watch(struct fl_store *st, const char *oid, fl_watch_reply reply, void *arg,
		       uint64_t *handle)
{
	struct layer *l = layer_of(st);

	return l->child->ops->watch(l->child, oid, reply, arg, handle);
}

static int layer_watch_check(struct fl_store *st, uint64_t handle)
{
	struct layer *l = layer_of(st);

	return l->child->ops->watch_check(l->child, handle);
}

static int layer_unwatch(struct fl_store *st, uint64_t handle)
{
	struct layer *l = layer_of(st);

	return l->child->ops->unwatch(l->child, handle);
}

static int layer_notify(struct fl_store *st, const char *oid, unsigned timeout_ms,
			fl_notify_ack_cb cb, void *arg)
{
	struct layer *l = layer_of(st);

	return l->child->ops->notify(l->child, oid, timeout_ms, cb, arg);
}

/* --- snapshots: the child's (the parent is read at its own snapshot, never written) --- */

static int load_keys(struct layer *l, const char *oid, bool partial);
static int list_child_data(struct layer *l);

/* After oid changed behind the layer's back: look again whether the child has it. */
static void forget_child(struct layer *l, const char *oid)
{
	uint64_t size;
	int r = l->child->ops->stat(l->child, oid, &size);

	layer_note(l, oid, r == 0 ? K_YES : r == -ENOENT ? K_NO : K_UNKNOWN, K_UNKNOWN);
}

/* Reads what the pool says of the layer into the table: whiteouts, copy-ups,
 * the child's data objects. */
static int learn(struct layer *l)
{
	int r = load_keys(l, FL_OID_WHITEOUT, false);

	if (!r)
		r = load_keys(l, FL_OID_COPYUPS, true);
	if (!r)
		r = list_child_data(l);
	return r;
}

/* What was learned no longer holds (the child is read at another point in
 * time).  Not while other ops run on the layer. */
static int relearn(struct layer *l)
{
	int r;

	pthread_mutex_lock(&l->mu);
	tab_free(&l->t);
	r = tab_grow(&l->t);
	pthread_mutex_unlock(&l->mu);
	return r ? r : learn(l);
}

static int layer_snap_create(struct fl_store *st, uint64_t *snapid)
{
	struct layer *l = layer_of(st);

	return l->child->ops->snap_create(l->child, snapid);
}

static int layer_snap_remove(struct fl_store *st, uint64_t snapid)
{
	struct layer *l = layer_of(st);

	return l->child->ops->snap_remove(l->child, snapid);
}

static int layer_set_write_ctx(struct fl_store *st, uint64_t seq, const uint64_t *snaps, size_t n)
{
	struct layer *l = layer_of(st);

	return l->child->ops->set_write_ctx(l->child, seq, snaps, n);
}

static int layer_set_read_snap(struct fl_store *st, uint64_t snapid)
{
	struct layer *l = layer_of(st);
	int r = l->child->ops->set_read_snap(l->child, snapid);

	return r ? r : relearn(l);
}

/* oid back to snapid in the child; the whiteouts too, so that what the
 * child lacked then reads through as it did then. */
static int layer_snap_rollback(struct fl_store *st, const char *oid, uint64_t snapid)
{
	struct layer *l = layer_of(st);
	bool again;
	int r;

	pthread_mutex_lock(&l->mu);
	again = l->rolled_to != snapid;
	l->rolled_to = snapid;
	pthread_mutex_unlock(&l->mu);
	if (again) {
		r = l->child->ops->snap_rollback(l->child, FL_OID_WHITEOUT, snapid);
		if (!r || r == -ENOENT)
			r = l->child->ops->snap_rollback(l->child, FL_OID_COPYUPS, snapid);
		if (r && r != -ENOENT)
			return r;
		r = relearn(l);
		if (r)
			return r;
	}
	r = l->child->ops->snap_rollback(l->child, oid, snapid);
	if (!r)
		forget_child(l, oid);
	return r;
}

static int layer_watch_req(struct fl_store *st, const char *oid, fl_watch_req cb, void *arg,
			   uint64_t *handle)
{
	struct layer *l = layer_of(st);

	return l->child->ops->watch_req(l->child, oid, cb, arg, handle);
}

static int layer_notify_ack(struct fl_store *st, uint64_t handle, uint64_t notify_id,
			    const void *buf, size_t len)
{
	struct layer *l = layer_of(st);

	return l->child->ops->notify_ack(l->child, handle, notify_id, buf, len);
}

static int layer_notify_data(struct fl_store *st, const char *oid, const void *data, size_t len,
			     unsigned timeout_ms, fl_notify_ack_cb cb, void *arg)
{
	struct layer *l = layer_of(st);

	return l->child->ops->notify_data(l->child, oid, data, len, timeout_ms, cb, arg);
}

static const struct fl_store_ops layer_ops = FL_STORE_OPS(layer);

/* --- opening, flattening --- */

struct load_ctx {
	struct layer *l;
	bool partial;
	int err;
};

static int load_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct load_ctx *x = arg;
	struct lent *e = tab_get(&x->l->t, key);

	(void)val;
	(void)len;
	if (!e)
		return -ENOMEM;
	if (x->partial) {
		e->partial = true;
	} else {
		e->wo = true;
		e->parent = K_NO;
	}
	return 0;
}

static int load_keys(struct layer *l, const char *oid, bool partial)
{
	struct load_ctx x = {l, partial, 0};
	struct kvs k = {0};
	int r = omap_all(l->child, oid, &k);

	if (r == -ENOENT)
		return 0;
	for (size_t i = 0; !r && i < k.n; i++)
		r = load_cb(&x, k.kv[i].key, NULL, 0);
	kvs_free(&k);
	return r;
}

static int listed_cb(void *arg, const char *oid)
{
	struct layer *l = arg;
	struct lent *e = tab_get(&l->t, oid);

	if (!e)
		return -ENOMEM;
	if (e->child == K_UNKNOWN)
		e->child = K_YES;
	return 0;
}

/* One listing of the child's data objects: the writer then needs no look-up per object. */
static int list_child_data(struct layer *l)
{
	int r = l->child->ops->list_objects(l->child, "data.", listed_cb, l);

	l->listed = r == 0;
	return r;
}

struct fl_store *fl_layer_open(struct fl_store *child, struct fl_store *parent)
{
	struct layer *l = calloc(1, sizeof(*l));
	int r;

	if (!l) {
		errno = ENOMEM;
		return NULL;
	}
	l->base.ops = &layer_ops;
	l->child = child;
	l->parent = parent;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	l->rolled_to = FL_SNAP_HEAD;
	r = tab_grow(&l->t);
	if (!r)
		r = learn(l);
	if (r) {
		tab_free(&l->t);
		pthread_cond_destroy(&l->cv);
		pthread_mutex_destroy(&l->mu);
		free(l);
		errno = -r;
		return NULL;
	}
	return &l->base;
}

bool fl_is_layer(const struct fl_store *st)
{
	return st && st->ops == &layer_ops;
}

void fl_layer_set_ino_bound(struct fl_store *st, uint64_t next_ino)
{
	struct layer *l = layer_of(st);

	pthread_mutex_lock(&l->mu);
	l->ino_bound = next_ino;
	pthread_mutex_unlock(&l->mu);
}

struct fl_store *fl_layer_child(struct fl_store *st)
{
	return layer_of(st)->child;
}

struct fl_store *fl_layer_parent(struct fl_store *st)
{
	return layer_of(st)->parent;
}

int fl_layer_copy_up(struct fl_store *st, const char *oid)
{
	struct layer *l = layer_of(st);
	uint64_t before, after;
	int r;

	pthread_mutex_lock(&l->mu);
	before = l->n_copyups;
	pthread_mutex_unlock(&l->mu);
	r = layer_prep_write(l, oid);
	if (r)
		return r;
	pthread_mutex_lock(&l->mu);
	after = l->n_copyups;
	pthread_mutex_unlock(&l->mu);
	return after != before;
}

static int names_cb(void *arg, const char *oid)
{
	return fl_strv_add(arg, oid);
}

long fl_layer_copy_up_all(struct fl_store *st,
			  void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg)
{
	struct layer *l = layer_of(st);
	struct fl_strv nm = {0};
	long copied = 0;
	int r;

	/* what the parent has that is not whited out; copy_up skips what the child has */
	r = l->parent->ops->list_objects(l->parent, NULL, names_cb, &nm);
	for (size_t i = 0; !r && i < nm.n; i++) {
		r = fl_layer_copy_up(st, nm.v[i]);
		if (r > 0)
			copied++;
		r = r < 0 ? r : 0;
		if (progress)
			progress(arg, i + 1, nm.n);
	}
	fl_strv_free(&nm);
	return r ? r : copied;
}

void fl_layer_stats(struct fl_store *st, uint64_t *copyups, uint64_t *parent_stats)
{
	struct layer *l = layer_of(st);

	pthread_mutex_lock(&l->mu);
	if (copyups)
		*copyups = l->n_copyups;
	if (parent_stats)
		*parent_stats = l->n_pstats;
	pthread_mutex_unlock(&l->mu);
}
