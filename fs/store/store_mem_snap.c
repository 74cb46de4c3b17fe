/*
 * flockerfs — self-managed snapshots of the in-memory store, a model of
 * what RADOS does (tests/integration/test_store_snap.c checks the same
 * behaviour on Ceph 16.2):
 *
 *  - snapshot ids come from one counter per store, shared by its clones (a
 *    pool's, in RADOS); removed ids are remembered and never read again;
 *  - per object, a snap set: seq (the newest write context it was written
 *    with) and clones oldest first, each a frozen copy of data, omap and
 *    locks (xattrs) covering the snapshots in (first, id];
 *  - a write-class op whose context seq is above the object's seq first saves
 *    the head as a clone, when the head exists and the context names a live
 *    snapshot in between; the object's seq becomes the context's.  A write
 *    with an older context saves nothing;
 *  - a read at snapshot S sees the clone covering S; else, when the object's
 *    seq is below S, the head (the object has not changed since); else nothing
 *    (created after S, or removed before it);
 *  - a removed head keeps its snap set, so its clones stay readable;
 *  - writes on a handle reading at a snapshot fail with -EROFS;
 *  - listing objects shows the heads and the removed heads that still have
 *    clones (Ceph 16.2 lists those too: a stat of them says -ENOENT),
 *    whatever the read snapshot;
 *  - snapshot handles refuse rollback with -EROFS (librados would roll back).
 */
#include "fs/store/store_mem_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flocker/buf.h"

struct mclone {
	struct mclone *next;
	uint64_t first, id; /* covers snapshots in (first, id] */
	struct mobj *copy;
};

struct msnapset {
	uint64_t seq;
	struct mclone *clones; /* oldest first */
};

static void snapset_free(void *p)
{
	struct msnapset *ss = p;

	while (ss && ss->clones) {
		struct mclone *n = ss->clones->next;

		mobj_free(ss->clones->copy);
		free(ss->clones);
		ss->clones = n;
	}
	free(ss);
}

static void snss_free(void *p)
{
	t_free(p, snapset_free);
}

void msnap_free_shared(struct mem_shared *sh)
{
	t_free(sh->snss, snss_free);
	sh->snss = NULL;
	free(sh->snap_removed);
	sh->snap_removed = NULL;
}

struct msnapc *msnapc_get(struct msnapc *c)
{
	if (c)
		__atomic_add_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
	return c;
}

void msnapc_put(struct msnapc *c)
{
	if (c && __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(c);
}

static bool snap_removed(const struct mem_shared *sh, uint64_t id)
{
	for (size_t i = 0; i < sh->nsnap_removed; i++)
		if (sh->snap_removed[i] == id)
			return true;
	return false;
}

static bool snap_live(const struct mem_shared *sh, uint64_t id)
{
	return id > 0 && id < sh->snap_next && !snap_removed(sh, id);
}

static struct msnapset *snapset_find(struct mem_store *ms, const char *oid, bool create)
{
	struct tnode *ns = t_find(ms->sh->snss, ms->ns), *n;
	struct msnapset *ss;

	if (!ns && create) {
		ns = tnode_new(ms->sh, ms->ns, NULL, 0);
		if (!ns)
			return NULL;
		ms->sh->snss = t_insert(ms->sh->snss, ns);
	}
	if (!ns)
		return NULL;
	n = t_find(ns->val, oid);
	if (n || !create)
		return n ? n->val : NULL;
	return tnode_add_new(ms->sh, ns, oid, sizeof(*ss));
}

static int omap_copy(struct mem_shared *sh, struct tnode **dst, const struct tnode *t)
{
	while (t) {
		void *v = malloc(t->len ? t->len : 1);
		struct tnode *n;
		int r;

		if (!v)
			return -ENOMEM;
		memcpy(v, t->val, t->len);
		n = tnode_new(sh, t->key, v, t->len);
		if (!n) {
			free(v);
			return -ENOMEM;
		}
		*dst = t_insert(*dst, n);
		r = omap_copy(sh, dst, t->l);
		if (r)
			return r;
		t = t->r;
	}
	return 0;
}

static char *dup_or_null(const char *s, bool *fail)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*fail = true;
	return d;
}

static int locks_copy(struct mlock **dst, const struct mlock *l)
{
	for (; l; l = l->next) {
		struct mlock *nl = calloc(1, sizeof(*nl));
		bool fail = false;

		if (!nl)
			return -ENOMEM;
		nl->next = *dst;
		*dst = nl;
		nl->name = dup_or_null(l->name, &fail);
		for (const struct mlocker *k = l->lockers; k; k = k->next) {
			struct mlocker *nk = calloc(1, sizeof(*nk));

			if (!nk)
				return -ENOMEM;
			nk->next = nl->lockers;
			nl->lockers = nk;
			nk->client = dup_or_null(k->client, &fail);
			nk->cookie = dup_or_null(k->cookie, &fail);
			nk->addr = dup_or_null(k->addr, &fail);
			nk->desc = dup_or_null(k->desc, &fail);
			nk->expire = k->expire;
		}
		if (fail)
			return -ENOMEM;
	}
	return 0;
}

/* A frozen copy of an object: data, omap and locks. */
static struct mobj *mobj_copy(struct mem_shared *sh, const struct mobj *o)
{
	struct mobj *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (obj_reserve(c, o->size) || omap_copy(sh, &c->omap, o->omap) ||
	    locks_copy(&c->locks, o->locks)) {
		mobj_free(c);
		return NULL;
	}
	if (o->size)
		memcpy(c->data, o->data, o->size);
	c->size = o->size;
	return c;
}

/* The state of oid at snapshot s: *o is the object or NULL (absent then). */
static int view_at(struct mem_store *ms, const char *oid, uint64_t s, struct mobj **o)
{
	struct msnapset *ss;

	*o = NULL;
	if (!snap_live(ms->sh, s))
		return -ENOENT;
	ss = snapset_find(ms, oid, false);
	if (ss) {
		for (struct mclone *c = ss->clones; c; c = c->next)
			if (c->first < s && s <= c->id) {
				*o = c->copy;
				return 0;
			}
		if (ss->seq >= s)
			return 0;
	}
	*o = obj_find(ms, oid);
	return 0;
}

struct mobj *msnap_view(struct mem_store *ms, const char *oid)
{
	struct mobj *o;

	if (ms->read_snap == FL_SNAP_HEAD)
		return obj_find(ms, oid);
	view_at(ms, oid, ms->read_snap, &o);
	return o;
}

int msnap_before_write(struct mem_store *ms, const char *oid, const struct msnapc *ctx)
{
	struct msnapset *ss;
	struct mobj *head;
	bool covered = false;

	if (ms->read_snap != FL_SNAP_HEAD)
		return -EROFS;
	if (!ctx || ctx->seq == 0)
		return 0;
	ss = snapset_find(ms, oid, true);
	if (!ss)
		return -ENOMEM;
	if (ctx->seq <= ss->seq)
		return 0;
	for (size_t i = 0; i < ctx->n; i++)
		if (ctx->snaps[i] > ss->seq && ctx->snaps[i] <= ctx->seq &&
		    !snap_removed(ms->sh, ctx->snaps[i]))
			covered = true;
	head = obj_find(ms, oid);
	if (head && covered) {
		struct mclone *c = calloc(1, sizeof(*c)), **pp;

		if (!c)
			return -ENOMEM;
		c->copy = mobj_copy(ms->sh, head);
		if (!c->copy) {
			free(c);
			return -ENOMEM;
		}
		c->first = ss->seq;
		c->id = ctx->seq;
		for (pp = &ss->clones; *pp; pp = &(*pp)->next)
			;
		*pp = c;
	}
	ss->seq = ctx->seq;
	return 0;
}

static int list_removed(struct mem_store *ms, const struct tnode *t, const char *prefix,
			struct fl_strv *names)
{
	size_t plen = prefix ? strlen(prefix) : 0;

	for (; t; t = t->r) {
		const struct msnapset *ss = t->val;
		int r = list_removed(ms, t->l, prefix, names);

		if (r)
			return r;
		if (!ss->clones || (plen && strncmp(t->key, prefix, plen)) || obj_find(ms, t->key))
			continue;
		r = fl_strv_add(names, t->key);
		if (r)
			return r;
	}
	return 0;
}

int msnap_list_removed(struct mem_store *ms, const char *prefix, struct fl_strv *names)
{
	struct tnode *ns = t_find(ms->sh->snss, ms->ns);

	return ns ? list_removed(ms, ns->val, prefix, names) : 0;
}

int mem_snap_create(struct fl_store *st, uint64_t *snapid)
{
	struct mem_store *ms = (struct mem_store *)st;
	int r = mem_enter(ms);

	if (r)
		return r;
	if (ms->sh->snap_next == 0)
		ms->sh->snap_next = 1;
	*snapid = ms->sh->snap_next++;
	mem_leave(ms);
	return 0;
}

/* Drops the clones of ss that cover no live snapshot any more (the OSD's trim). */
static void snapset_trim(struct mem_shared *sh, struct msnapset *ss)
{
	struct mclone **pp = &ss->clones;

	while (*pp) {
		struct mclone *c = *pp;
		bool live = false;

		for (uint64_t s = c->first + 1; s <= c->id && !live; s++)
			live = snap_live(sh, s);
		if (live) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		mobj_free(c->copy);
		free(c);
	}
}

static void trim_tree(struct mem_shared *sh, struct tnode *t, bool objects)
{
	for (; t; t = t->r) {
		trim_tree(sh, t->l, objects);
		if (objects)
			snapset_trim(sh, t->val);
		else
			trim_tree(sh, t->val, true);
	}
}

int mem_snap_remove(struct fl_store *st, uint64_t snapid)
{
	struct mem_store *ms = (struct mem_store *)st;
	struct mem_shared *sh = ms->sh;
	uint64_t *n;
	int r = mem_enter(ms);

	if (r)
		return r;
	if (!snap_live(sh, snapid)) {
		r = -ENOENT;
		goto out;
	}
	n = realloc(sh->snap_removed, (sh->nsnap_removed + 1) * sizeof(*n));
	if (!n) {
		r = -ENOMEM;
		goto out;
	}
	sh->snap_removed = n;
	n[sh->nsnap_removed++] = snapid;
	trim_tree(sh, sh->snss, false);
out:
	mem_leave(ms);
	return r;
}

int mem_set_write_ctx(struct fl_store *st, uint64_t seq, const uint64_t *snaps, size_t n)
{
	struct mem_store *ms = (struct mem_store *)st;
	struct msnapc *c, *old;

	for (size_t i = 0; i < n; i++)
		if (snaps[i] > seq || (i && snaps[i] >= snaps[i - 1]))
			return -EINVAL; /* newest first, none above seq */
	c = malloc(sizeof(*c) + n * sizeof(c->snaps[0]));
	if (!c)
		return -ENOMEM;
	c->refs = 1;
	c->seq = seq;
	c->n = n;
	if (n)
		memcpy(c->snaps, snaps, n * sizeof(c->snaps[0]));
	pthread_mutex_lock(&ms->sh->mu);
	old = ms->wctx;
	ms->wctx = c;
	pthread_mutex_unlock(&ms->sh->mu);
	msnapc_put(old);
	return 0;
}

int mem_set_read_snap(struct fl_store *st, uint64_t snapid)
{
	struct mem_store *ms = (struct mem_store *)st;

	pthread_mutex_lock(&ms->sh->mu);
	ms->read_snap = snapid;
	pthread_mutex_unlock(&ms->sh->mu);
	return 0;
}

int mem_snap_rollback(struct fl_store *st, const char *oid, uint64_t snapid)
{
	struct mem_store *ms = (struct mem_store *)st;
	struct mobj *then, *head;
	struct tnode *ns, *node;
	int r = mem_enter(ms);

	if (r)
		return r;
	if (ms->read_snap != FL_SNAP_HEAD) {
		r = -EROFS;
		goto out;
	}
	if (!snap_live(ms->sh, snapid)) {
		r = -ENOENT;
		goto out;
	}
	r = msnap_before_write(ms, oid, ms->wctx);
	if (r)
		goto out;
	r = view_at(ms, oid, snapid, &then);
	if (r)
		goto out;
	head = obj_find(ms, oid);
	if (then == head)
		goto out;
	if (!then) {
		obj_delete(ms, oid);
		goto out;
	}
	then = mobj_copy(ms->sh, then);
	if (!then) {
		r = -ENOMEM;
		goto out;
	}
	ns = ns_node(ms->sh, ms->ns, true);
	node = ns ? t_find(ns->val, oid) : NULL;
	if (node) {
		mobj_free(node->val);
		node->val = then;
	} else if (ns && (node = tnode_new(ms->sh, oid, then, 0))) {
		ns->val = t_insert(ns->val, node);
	} else {
		mobj_free(then);
		r = -ENOMEM;
	}
out:
	mem_leave(ms);
	return r;
}
