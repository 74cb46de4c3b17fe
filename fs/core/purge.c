/*
 * flockerfs — unlinked inodes: the orphan list, and the purge of their
 * data objects once nothing references them (and, at mount, of what a
 * crash left past a file's size).
 */
#include "fs/core/core_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flocker/log.h"

void fl_purge_schedule(struct fl_core *c, struct fl_inode *ip)
{
	if (!ip->orphan || ip->nlookup || ip->nopen || ip->r.nlink)
		return;
	if (c->npurge == c->purge_cap) {
		size_t ncap = c->purge_cap ? c->purge_cap * 2 : 16;
		uint64_t *n = realloc(c->purge, ncap * sizeof(*n));

		if (!n)
			return; /* stays an orphan: purged at the next mount */
		c->purge = n;
		c->purge_cap = ncap;
	}
	ip->orphan = false; /* queued once */
	c->purge[c->npurge++] = ip->r.ino;
	pthread_cond_broadcast(&c->cond);
}

void fl_orph_note(struct fl_core *c, uint64_t ino)
{
	if (c->n_orph_add == c->orph_add_cap) {
		size_t ncap = c->orph_add_cap ? c->orph_add_cap * 2 : 16;
		uint64_t *n = realloc(c->ck_orph_add, ncap * sizeof(*n));

		if (!n)
			return; /* the journal keeps the truth; the key is fixed at the next mount
				 */
		c->ck_orph_add = n;
		c->orph_add_cap = ncap;
	}
	c->ck_orph_add[c->n_orph_add++] = ino;
}

struct scan_ctx {
	char prefix[FL_OID_LEN];
	uint64_t first; /* objects of this index and above go */
	uint64_t *idx;	/* every index found, those below first too */
	size_t n, cap;
};

static int scan_cb(void *arg, const char *oid)
{
	struct scan_ctx *s = arg;
	uint64_t ino, index;

	if (fl_oid_parse_data(oid, &ino, &index) || strncmp(oid, s->prefix, strlen(s->prefix)))
		return 0;
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		uint64_t *n = realloc(s->idx, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->idx = n;
		s->cap = ncap;
	}
	s->idx[s->n++] = index;
	return 0;
}

/* Removes every data object of ino past size, and the bytes past size in the
 * object holding it: what an interrupted write-back may have left.  Without
 * c->lock; lists the whole namespace, so it runs only after a crash.  The
 * indices of the objects that stay go to *keep (*nkeep of them; the caller
 * frees it), for the file's block map. */
static int trim_beyond(struct fl_core *c, uint64_t ino, uint64_t size, uint64_t **keep,
		       size_t *nkeep)
{
	struct scan_ctx s = {.first = (size + c->bsize - 1) / c->bsize};
	struct fl_batch *b;
	char oid[FL_OID_LEN];
	size_t i, k = 0;
	int ret;

	*keep = NULL;
	*nkeep = 0;
	fl_oid_data(oid, ino, 0);
	snprintf(s.prefix, sizeof(s.prefix), "%.*s", (int)(strrchr(oid, '.') - oid + 1), oid);
	ret = c->st->ops->list_objects(c->st, s.prefix, scan_cb, &s);
	if (ret)
		goto out;
	b = fl_batch_new(c->st);
	if (!b) {
		ret = -ENOMEM;
		goto out;
	}
	if (size % c->bsize) {
		fl_oid_data(oid, ino, size / c->bsize);
		b->ops->truncate(b, oid, size % c->bsize);
	}
	for (i = 0; i < s.n; i++) {
		if (s.idx[i] < s.first) {
			s.idx[k++] = s.idx[i];
			continue;
		}
		fl_oid_data(oid, ino, s.idx[i]);
		b->ops->remove(b, oid);
	}
	fl_debug("inode %" PRIu64 ": trim %zu listed objects past %" PRIu64, ino, s.n - k, size);
	ret = fl_batch_wait(b);
out:
	if (!ret) {
		*keep = s.idx;
		*nkeep = k;
	} else {
		free(s.idx);
	}
	return ret;
}

/* Adds listed objects to ip's block map (they exist: the map must cover them). */
static void map_listed(struct fl_inode *ip, const uint64_t *idx, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (fl_bmap_has(&ip->r, idx[i]))
			continue;
		fl_map_save(ip);
		if (fl_bmap_add(&ip->r, idx[i]) == 0)
			ip->map_dirty = true;
	}
}

/* Journals the end of a purged inode into t: gone from the table at the next
 * checkpoint, off the orphan list, out of the counters. */
static void purge_forget(struct fl_core *c, struct fl_inode *ip, struct fl_txn *t)
{
	uint64_t ino = ip->r.ino;

	fl_txn_simple(t, FL_JOP_INODE_DEL, ino);
	fl_txn_simple(t, FL_JOP_ORPHAN_DEL, ino);
	if (S_ISREG(ip->r.mode)) {
		/* usage counts regular files only */
		fl_map_save(ip);
		fl_bmap_cut(&ip->r, 0);
		fl_set_jsize(c, ip, 0);
		fl_core_jaccount(c, ip); /* goes with the INODE_DEL */
	}
	if (c->inodes)
		c->inodes--;
	if (S_ISDIR(ip->r.mode)) {
		if (c->n_rmdirs == c->rmdirs_cap) {
			size_t ncap = c->rmdirs_cap ? c->rmdirs_cap * 2 : 16;
			uint64_t *n = realloc(c->ck_rmdirs, ncap * sizeof(*n));

			if (n) {
				c->ck_rmdirs = n;
				c->rmdirs_cap = ncap;
			}
		}
		if (c->n_rmdirs < c->rmdirs_cap)
			c->ck_rmdirs[c->n_rmdirs++] = ino;
	}
	/* the checkpoint removes its itab key and frees it */
	ip->deleted = true;
	ip->orphan = ip->trim_mark = false;
	fl_orph_note(c, ino);
	fl_ino_ck(c, ip);
}

#define PURGE_BATCH	 512  /* unlinked inodes purged in one round */
#define PURGE_BATCH_OBJS 1024 /* data objects removed in one round: the journal waits meanwhile */

/* Is ip an unlinked inode nobody references, whose purge needs no listing? */
static bool purge_plain(const struct fl_inode *ip)
{
	return !ip->deleted && !ip->r.nlink && !ip->nlookup && !ip->nopen && !ip->scan_trim &&
	       !ip->flushing;
}

/* Objects of one inode to remove in a purge round. */
struct purge_job {
	struct fl_inode *ip;
	uint64_t ino, cut; /* its map keeps the blocks below cut */
	struct fl_brange *runs;
	uint32_t nruns;
};

/* Takes at most *budget blocks from the top of ip's map into j. */
static int purge_take(struct fl_inode *ip, uint64_t *budget, struct purge_job *j)
{
	uint64_t left = *budget, cut = UINT64_MAX;
	uint32_t k;
	int ret;

	j->ip = ip;
	j->ino = ip->r.ino;
	if (!S_ISREG(ip->r.mode) || !ip->r.nbmap) {
		j->cut = 0;
		return 0;
	}
	/* the lowest block the budget reaches, from the top down */
	for (k = ip->r.nbmap; k-- > 0 && left;) {
		const struct fl_brange *r = &ip->r.bmap[k];

		if (r->count <= left) {
			left -= r->count;
			cut = r->first;
		} else {
			cut = r->first + r->count - left;
			left = 0;
		}
	}
	j->cut = cut;
	ret = fl_bmap_copy_from(ip, cut, &j->runs, &j->nruns);
	if (!ret)
		*budget = left;
	return ret;
}

/* Removes the data objects of a round's jobs in one batch (without the lock). */
static int purge_remove(struct fl_core *c, const struct purge_job *jobs, size_t n, uint64_t *objs)
{
	struct fl_batch *b = fl_batch_new(c->st);
	size_t i;

	if (!b)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		uint32_t r;

		for (r = 0; r < jobs[i].nruns; r++) {
			uint64_t x, last = jobs[i].runs[r].first + jobs[i].runs[r].count;
			char oid[FL_OID_LEN];

			for (x = jobs[i].runs[r].first; x < last; x++) {
				fl_oid_data(oid, jobs[i].ino, x);
				b->ops->remove(b, oid);
				(*objs)++;
			}
		}
	}
	return fl_batch_wait(b);
}

/* Once a round's objects are gone: cuts the maps, requeues what is left of
 * a larger file, and journals the removal of the inodes that are done. */
static int purge_journal(struct fl_core *c, const struct purge_job *jobs, size_t n)
{
	struct fl_txn t = {.n = 0};
	size_t i;
	int ret = 0;

	for (i = 0; i < n && !ret; i++) {
		struct fl_inode *ip = jobs[i].ip;

		if (!purge_plain(ip))
			continue; /* referenced again meanwhile (cannot happen without a name) */
		if (S_ISREG(ip->r.mode)) {
			fl_map_save(ip);
			fl_bmap_cut(&ip->r, jobs[i].cut);
			fl_core_reaccount(c, ip);
		}
		if (ip->r.nbmap) {
			/* the rest in a later round: the orphan list keeps it meanwhile */
			if (c->npurge < c->purge_cap)
				c->purge[c->npurge++] = ip->r.ino;
			else
				ip->orphan = true; /* purged at the next mount */
			continue;
		}
		if (t.n + 2 > FL_JOPS_MAX) {
			ret = fl_txn_commit(c, &t, NULL);
			t.n = 0;
		}
		purge_forget(c, ip, &t);
	}
	if (!ret && t.n)
		ret = fl_txn_commit(c, &t, NULL);
	return ret;
}

/*
 * One purge round, by the commit thread with the lock and nothing pending in
 * the journal (so every unlink it acts on is durable).  Unlinked inodes that
 * nobody references go in batches: the objects of their block maps (never
 * more than PURGE_BATCH_OBJS a round: a larger file goes in several rounds,
 * from its top, with commits between them) are removed in one RADOS batch,
 * built and sent without the lock, then their removal is journaled, a few
 * transactions for the lot.  Anything else (listed at mount, still in use,
 * already gone) goes alone through fl_core_purge_one.
 */
void fl_core_purge_round(struct fl_core *c)
{
	struct purge_job *jobs = NULL;
	uint64_t budget = PURGE_BATCH_OBJS, objs = 0;
	size_t n = 0, i, k;
	int ret = 0;

	jobs = calloc(PURGE_BATCH, sizeof(*jobs));
	while (c->npurge && n < PURGE_BATCH && budget) {
		uint64_t e = c->purge[c->npurge - 1];
		struct fl_inode *ip = (e & FL_PURGE_SCAN) ? NULL : fl_ino_find(c, e);

		if (!ip || !purge_plain(ip) || !jobs) {
			if (n)
				break; /* this round's batch first */
			c->npurge--;
			ret = fl_core_purge_one(c, e);
			if (ret)
				fl_warn("cannot clean up orphan inode %" PRIu64
					": %s; kept on the orphan list for the next mount",
					e & ~FL_PURGE_SCAN, strerror(-ret));
			free(jobs);
			return;
		}
		c->npurge--;
		for (k = 0; k < n && jobs[k].ip != ip; k++)
			;
		if (k < n)
			continue;    /* queued twice */
		fl_data_drop(c, ip); /* its write-back ends first */
		if (!purge_plain(ip))
			continue; /* referenced again while its write-back ended */
		ret = purge_take(ip, &budget, &jobs[n]);
		if (ret) {
			ip->orphan = true; /* out of memory: purged at the next mount */
			break;
		}
		ip->flushing = true; /* nobody else touches it while it goes */
		n++;
	}
	if (!n) {
		free(jobs);
		return;
	}
	/* built and sent without the lock: a batch waits for RADOS once it has
	 * as many ops in flight as it allows */
	fl_core_unlock(c);
	ret = purge_remove(c, jobs, n, &objs);
	fl_core_lock(c);
	for (i = 0; i < n; i++) {
		jobs[i].ip->flushing = false;
		jobs[i].ip->dseq++;
	}
	pthread_cond_broadcast(&c->cond);
	if (ret) {
		fl_warn("cannot remove the data of %zu orphan inodes: %s; kept on the orphan list for the next mount",
			n, strerror(-ret));
		goto out;
	}
	ret = purge_journal(c, jobs, n);
	fl_debug("purged %zu orphan inodes (%" PRIu64 " data objects): %d", n, objs, ret);
out:
	for (i = 0; i < n; i++)
		free(jobs[i].runs);
	free(jobs);
}

/* A file listed on the orphan list at mount: a crash may have left objects,
 * or bytes of one, past its size.  Trims them with its write-backs held off,
 * before anything can extend the file over them; the write-back drops the
 * mark once the file is closed and clean.  Called with the lock. */
int fl_core_trim_stale(struct fl_core *c, struct fl_inode *ip)
{
	uint64_t size, *keep = NULL;
	size_t nkeep = 0;
	int ret;

	if (!ip->scan_trim)
		return 0;
	fl_data_wait_flush(c, ip);
	if (!ip->scan_trim)
		return 0; /* another thread did it meanwhile */
	ip->flushing = true;
	size = ip->jsize;
	fl_core_unlock(c);
	ret = S_ISREG(ip->r.mode) ? trim_beyond(c, ip->r.ino, size, &keep, &nkeep) : 0;
	fl_core_lock(c);
	if (!ret && S_ISREG(ip->r.mode)) {
		fl_map_save(ip);
		fl_bmap_cut(&ip->r, (size + c->bsize - 1) / c->bsize);
		map_listed(ip, keep, nkeep);
		fl_core_reaccount(c, ip);
	}
	free(keep);
	ip->flushing = false;
	ip->dseq++;
	pthread_cond_broadcast(&c->cond);
	if (ret) {
		fl_err("cannot trim data past the end of inode %" PRIu64 ": %s", ip->r.ino,
		       strerror(-ret));
		return ret;
	}
	ip->scan_trim = false;
	fl_data_touch(c, ip);
	return 0;
}

/* The inodes of the orphan list at mount, for one listing of the data objects. */
struct listed {
	uint64_t ino, first; /* objects of this index and above go */
	uint64_t cut;	     /* the one below is cut to this many bytes (0: left alone) */
	struct fl_inode *ip; /* objects below first join its block map */
};

struct listed_ctx {
	const struct listed *l;
	size_t n;
	struct fl_batch *b;
	uint64_t removed;
};

static int cmp_listed(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static int listed_cb(void *arg, const char *oid)
{
	struct listed_ctx *x = arg;
	struct listed key;
	const struct listed *hit;
	uint64_t index;

	if (fl_oid_parse_data(oid, &key.ino, &index))
		return 0;
	hit = bsearch(&key, x->l, x->n, sizeof(*x->l), cmp_listed);
	if (!hit)
		return 0;
	if (index >= hit->first) {
		x->b->ops->remove(x->b, oid);
		x->removed++;
		return 0;
	}
	if (hit->cut && index + 1 == hit->first)
		x->b->ops->truncate(x->b, oid, hit->cut); /* only objects that exist */
	map_listed(hit->ip, &index, 1);			  /* no other thread runs yet */
	return 0;
}

/*
 * At mount, before anything runs: the regular files on the orphan list may
 * have objects, or bytes of one, past their size (a crash during a
 * write-back or a truncate), and unlinked ones all their objects.  One
 * listing of the data objects finds them all, one batch trims them; the
 * purge that follows needs no listing of its own.  On failure the inodes
 * keep scan_trim and are trimmed one by one later.
 */
void fl_purge_trim_listed(struct fl_core *c)
{
	struct listed_ctx x = {0};
	struct listed *l = NULL;
	size_t i, n = 0;
	int ret;

	if (!c->npurge)
		return;
	l = calloc(c->npurge, sizeof(*l));
	x.b = l ? fl_batch_new(c->st) : NULL;
	if (!x.b) {
		free(l);
		return;
	}
	for (i = 0; i < c->npurge; i++) {
		struct fl_inode *ip = fl_ino_find(c, c->purge[i] & ~FL_PURGE_SCAN);

		if (!ip || !ip->scan_trim || !S_ISREG(ip->r.mode))
			continue;
		l[n].ino = ip->r.ino;
		l[n].ip = ip;
		l[n].first = ip->r.nlink ? (ip->jsize + c->bsize - 1) / c->bsize : 0;
		l[n].cut = ip->r.nlink ? ip->jsize % c->bsize : 0;
		n++;
	}
	qsort(l, n, sizeof(*l), cmp_listed);
	x.l = l;
	x.n = n;
	ret = n ? c->st->ops->list_objects(c->st, "data.", listed_cb, &x) : 0;
	{
		int r = fl_batch_wait(x.b);

		ret = ret ? ret : r;
	}
	if (ret) {
		fl_warn("volume %s: cannot trim the data of %zu files on the orphan list: %s; "
			"trying again one by one",
			c->v->super.name, n, strerror(-ret));
	} else {
		for (i = 0; i < c->npurge; i++) {
			struct fl_inode *ip = fl_ino_find(c, c->purge[i] & ~FL_PURGE_SCAN);

			if (!ip)
				continue;
			ip->scan_trim = false;
			if (S_ISREG(ip->r.mode)) {
				/* what the listing found is the map now */
				fl_map_save(ip);
				fl_bmap_cut(&ip->r, ip->r.nlink
							    ? (ip->jsize + c->bsize - 1) / c->bsize
							    : 0);
				fl_core_reaccount(c, ip);
			}
		}
		if (n)
			fl_notice("volume %s: %zu files on the orphan list, %" PRIu64
				  " data objects past their end removed",
				  c->v->super.name, n, x.removed);
	}
	free(l);
}

/* Purges one orphan: its data, then its inode.  An inode that still has
 * links was on the list for a write-back in flight: its data past its size
 * is trimmed instead.  Called by the commit thread with the lock. */
int fl_core_purge_one(struct fl_core *c, uint64_t entry)
{
	uint64_t ino = entry & ~FL_PURGE_SCAN;
	struct fl_txn t = {.n = 0};
	struct fl_inode *ip;
	int ret;

	ret = fl_ino_load(c, ino, false, &ip);
	if (!ret)
		fl_debug("purge %s inode %" PRIu64 ": nlink %u, lookups %" PRIu64
			 ", open %u, size %" PRIu64 " journaled %" PRIu64,
			 (entry & FL_PURGE_SCAN) ? "listed" : "unlinked", ino, ip->r.nlink,
			 (uint64_t)ip->nlookup, (unsigned)ip->nopen, ip->r.size, ip->jsize);
	if (ret == -ENOENT) {
		/* already gone: only the list entry remains */
		fl_txn_simple(&t, FL_JOP_ORPHAN_DEL, ino);
		fl_orph_note(c, ino);
		return fl_txn_commit(c, &t, NULL);
	}
	if (ret)
		return ret;
	if (ip->r.nlink) {
		ret = fl_core_trim_stale(c, ip);
		if (ret || !ip->trim_mark || ip->nopen || ip->dirty_bytes || ip->flushing ||
		    ip->jsize != ip->r.size)
			return ret; /* the write-back drops the mark */
		ip->trim_mark = false;
		if (ip->map_dirty) {
			/* objects found by the listing: the map that names them
			 * goes with the end of the mark */
			ip->map_dirty = false;
			fl_txn_inode(&t, ip);
			fl_ino_ck(c, ip);
		}
		fl_txn_simple(&t, FL_JOP_ORPHAN_DEL, ino);
		fl_orph_note(c, ino);
		return fl_txn_commit(c, &t, NULL);
	}
	if (ip->nlookup || ip->nopen) {
		ip->orphan = true; /* purged when the last reference goes */
		return 0;
	}
	fl_data_drop(c, ip);
	if (S_ISREG(ip->r.mode) && (ip->r.nbmap || ip->scan_trim)) {
		struct fl_brange *runs = NULL;
		uint64_t *keep = NULL;
		size_t nkeep = 0;
		uint32_t nruns = 0;
		bool scan = ip->scan_trim;

		ret = scan ? 0 : fl_bmap_copy_from(ip, 0, &runs, &nruns);
		if (ret)
			return ret;
		fl_core_unlock(c);
		ret = scan ? trim_beyond(c, ino, 0, &keep, &nkeep)
			   : fl_data_remove_runs(c, ino, runs, nruns);
		fl_core_lock(c);
		free(runs);
		free(keep);
		if (ret)
			return ret;
		ip = fl_ino_find(c, ino);
		if (ip) {
			fl_map_save(ip);
			fl_bmap_cut(&ip->r, 0);
			fl_core_reaccount(c, ip);
		}
	}
	ip = fl_ino_find(c, ino);
	if (!ip || ip->deleted || ip->r.nlink || ip->nlookup || ip->nopen)
		return 0;
	purge_forget(c, ip, &t);
	return fl_txn_commit(c, &t, NULL);
}

/* Marks an inode whose link count fell to zero; t gets the orphan record. */
void fl_unlinked(struct fl_core *c, struct fl_inode *ip, struct fl_txn *t)
{
	if (ip->r.nlink)
		return;
	ip->orphan = true;
	if (!ip->trim_mark)
		fl_txn_simple(t, FL_JOP_ORPHAN_ADD, ip->r.ino);
	fl_orph_note(c, ip->r.ino);
	fl_space_release(c, ip); /* not open: its space is free now */
}
