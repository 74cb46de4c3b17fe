/*
 * flockerfs — the namespace: the inode table, attributes, open files and
 * the data entry points, and mount/unmount of the whole filesystem.
 * Directories are in dir.c, the operations on names in namei.c, extended
 * attributes in xattr.c, unlinked inodes and their purge in purge.c.
 *
 * Every operation runs under core->lock, changes the in-memory tree and
 * records the change as one journal transaction before it returns; the
 * transaction becomes durable at the next group commit (or at fsync).
 */
#include "fs/core/core_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flocker/log.h"
#include "fs/util/fmt.h"

/* ---------- inode table ---------- */

static uint64_t ino_hash(uint64_t ino)
{
	ino ^= ino >> 33;
	ino *= 0xff51afd7ed558ccdULL;
	ino ^= ino >> 33;
	return ino;
}

struct fl_inode *fl_ino_find(struct fl_core *c, uint64_t ino)
{
	struct fl_inode *ip = c->itab[ino_hash(ino) & c->imask];

	while (ip && ip->r.ino != ino)
		ip = ip->hnext;
	return ip;
}

static void itab_grow(struct fl_core *c)
{
	uint64_t nsize = (c->imask + 1) * 2, i;
	struct fl_inode **n = calloc(nsize, sizeof(*n));

	if (!n)
		return; /* keep the longer chains */
	for (i = 0; i <= c->imask; i++) {
		struct fl_inode *ip = c->itab[i], *next;

		for (; ip; ip = next) {
			uint64_t h = ino_hash(ip->r.ino) & (nsize - 1);

			next = ip->hnext;
			ip->hnext = n[h];
			n[h] = ip;
		}
	}
	free(c->itab);
	c->itab = n;
	c->imask = nsize - 1;
}

static void itab_insert(struct fl_core *c, struct fl_inode *ip)
{
	uint64_t h;

	if (c->icount > c->imask)
		itab_grow(c);
	h = ino_hash(ip->r.ino) & c->imask;
	ip->hnext = c->itab[h];
	c->itab[h] = ip;
	c->icount++;
}

void fl_itab_remove(struct fl_core *c, struct fl_inode *ip)
{
	struct fl_inode **pp = &c->itab[ino_hash(ip->r.ino) & c->imask];

	while (*pp && *pp != ip)
		pp = &(*pp)->hnext;
	if (*pp) {
		*pp = ip->hnext;
		c->icount--;
	}
}

void fl_inode_free(struct fl_inode *ip)
{
	free(ip->jmap);
	free(ip->deps);
	fl_inode_rec_free(&ip->r);
	fl_dir_free(ip->dir);
	free(ip);
}

void fl_core_free_deleted(struct fl_core *c, struct fl_inode *ip)
{
	fl_itab_remove(c, ip);
	fl_data_drop(c, ip);
	fl_inode_free(ip);
}

/* An inode read from a record: a record from before block maps gets the map
 * that covers every block below its size (what such a record promises), and
 * its usage is what the volume's counters already hold for it. */
static void inode_loaded(struct fl_core *c, struct fl_inode *ip)
{
	ip->jsize = ip->r.size;
	if (!S_ISREG(ip->r.mode))
		return;
	if (!ip->r.has_bmap) {
		ip->r.has_bmap = true;
		if (ip->r.size) {
			ip->r.bmap = malloc(sizeof(*ip->r.bmap));
			if (ip->r.bmap) {
				ip->r.bmap[0].first = 0;
				ip->r.bmap[0].count = (ip->r.size - 1) / c->bsize + 1;
				ip->r.nbmap = 1;
			} else {
				c->error = -ENOMEM; /* cannot know its objects: stop changes */
			}
		}
	}
	ip->used = ip->jused = fl_bmap_used(&ip->r, ip->r.size, c->bsize);
}

struct shard_load {
	struct fl_inode_rec *recs; /* decoded without the lock */
	size_t n, cap;
	int err;
};

static int shard_load_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct shard_load *sl = arg;
	struct fl_inode_rec r = {0};

	if (fl_inode_decode(val, len, &r)) {
		fl_err("inode record %s is corrupt", key);
		return 0; /* the inode reads as -EIO when used */
	}
	if (sl->n == sl->cap) {
		size_t ncap = sl->cap ? sl->cap * 2 : 64;
		struct fl_inode_rec *n = realloc(sl->recs, ncap * sizeof(*n));

		if (!n) {
			fl_inode_rec_free(&r);
			sl->err = -ENOMEM;
			return 1;
		}
		sl->recs = n;
		sl->cap = ncap;
	}
	sl->recs[sl->n++] = r;
	return 0;
}

/* Puts an inode made from r (taken over) in the table, under the lock. */
static int inode_install(struct fl_core *c, struct fl_inode_rec *r)
{
	struct fl_inode *ip = calloc(1, sizeof(*ip));

	if (!ip) {
		fl_inode_rec_free(r);
		return -ENOMEM;
	}
	ip->r = *r;
	memset(r, 0, sizeof(*r));
	inode_loaded(c, ip);
	itab_insert(c, ip);
	return 0;
}

/*
 * Installs, under the lock, the records a shard load read without it.  An
 * inode already in memory is newer than its record and stays as it is; so
 * does one the journal a read-only mount replayed says is deleted.  (No
 * change reaches the inodes of a shard before it is loaded, and a loaded
 * shard is never loaded again, so the table cannot hold a newer state the
 * records would miss.)
 */
static int shard_install(struct fl_core *c, uint64_t shard, struct shard_load *sl)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < sl->n; i++) {
		struct fl_inode_rec *r = &sl->recs[i];
		bool deleted = false;

		if (ret || fl_ino_find(c, r->ino) ||
		    (c->overlay && fl_overlay_inode(c, r->ino, r, &deleted) == 0 && deleted)) {
			fl_inode_rec_free(r);
			continue;
		}
		ret = inode_install(c, r);
	}
	if (ret == 0 && c->overlay) {
		/* inodes created since the checkpoint live only in the journal */
		uint64_t lo = shard << FL_ITAB_SHARD_BITS, hi = lo + (1u << FL_ITAB_SHARD_BITS);

		for (i = lo; i < hi && i < c->next_ino && !ret; i++) {
			struct fl_inode_rec r = {0};
			bool deleted = false;

			if (fl_ino_find(c, i) || fl_overlay_inode(c, i, &r, &deleted) || deleted) {
				fl_inode_rec_free(&r);
				continue;
			}
			ret = inode_install(c, &r);
		}
	}
	return ret;
}

enum { SHARD_UNLOADED, SHARD_LOADING, SHARD_LOADED };

/*
 * Makes sure every inode of the shard holding ino is in memory: 0 when it
 * already is.  Otherwise it lists the shard's omap with the core lock let go
 * (no thread holds the lock while RADOS answers), or waits for the thread
 * that is listing it, and returns FL_RESTART, or a negative errno.
 */
static int shard_load(struct fl_core *c, uint64_t ino)
{
	uint64_t shard = ino >> FL_ITAB_SHARD_BITS;
	struct shard_load sl = {NULL, 0, 0, 0};
	char oid[FL_OID_LEN];
	bool more = false;
	size_t i;
	int ret;

	if (shard >= c->nshards) {
		uint64_t n = shard * 2 + 16;
		uint8_t *ns = realloc(c->shard_state, n * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		memset(ns + c->nshards, SHARD_UNLOADED, (n - c->nshards) * sizeof(*ns));
		c->shard_state = ns;
		c->nshards = n;
	}
	if (c->shard_state[shard] == SHARD_LOADED)
		return 0;
	if (c->shard_state[shard] == SHARD_LOADING) {
		while (c->shard_state[shard] == SHARD_LOADING)
			pthread_cond_wait(&c->cond, &c->lock);
		return FL_RESTART;
	}
	c->shard_state[shard] = SHARD_LOADING;
	fl_core_unlock(c);
	fl_oid_itab(oid, shard);
	ret = c->st->ops->omap_list(c->st, oid, NULL, UINT32_MAX, shard_load_cb, &sl, &more);
	fl_core_lock(c);
	if (ret == -ENOENT)
		ret = 0;
	if (ret == 1)
		ret = sl.err;
	if (ret == 0)
		ret = shard_install(c, shard, &sl);
	for (i = 0; i < sl.n; i++)
		fl_inode_rec_free(&sl.recs[i]);
	free(sl.recs);
	/* c->shard_state may have moved meanwhile: index it again */
	c->shard_state[shard] = ret ? SHARD_UNLOADED : SHARD_LOADED;
	pthread_cond_broadcast(&c->cond);
	if (ret) {
		fl_err("cannot load inode table shard %s: %s", oid, strerror(-ret));
		return ret;
	}
	return FL_RESTART;
}

int fl_ino_get(struct fl_core *c, uint64_t ino, struct fl_inode **out)
{
	struct fl_inode *ip = fl_ino_find(c, ino);
	int ret;

	if (!ip) {
		ret = shard_load(c, ino);
		if (ret)
			return ret;
		ip = fl_ino_find(c, ino);
	}
	if (!ip || ip->deleted)
		return -ENOENT;
	*out = ip;
	return 0;
}

int fl_ino_load(struct fl_core *c, uint64_t ino, bool for_write, struct fl_inode **out)
{
	int ret;

	do {
		ret = for_write ? fl_core_writable(c) : 0;
		if (ret)
			return ret;
		ret = fl_ino_get(c, ino, out);
	} while (ret == FL_RESTART);
	return ret;
}

int fl_ino_commit(struct fl_core *c, struct fl_inode *ip)
{
	struct fl_txn t = {.n = 0};

	fl_txn_inode(&t, ip);
	fl_ino_ck(c, ip);
	return fl_txn_commit(c, &t, NULL);
}

/* Inode named by a directory entry: a missing one means damage. */
int fl_ino_get_entry(struct fl_core *c, uint64_t ino, struct fl_inode **out)
{
	int ret;

	if (ino == 0)
		return -EIO; /* a corrupt entry, logged when its directory was read */
	ret = fl_ino_get(c, ino, out);

	if (ret == -ENOENT) {
		fl_err("directory entry points to inode %" PRIu64 " which does not exist", ino);
		ret = -EIO;
	}
	return ret;
}

void fl_ino_ck(struct fl_core *c, struct fl_inode *ip)
{
	if (!ip->ck_dirty) {
		ip->ck_dirty = true;
		ip->ck_next = c->ck_inodes;
		c->ck_inodes = ip;
	}
}

void fl_fill_stat(struct fl_core *c, const struct fl_inode *ip, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ip->r.ino;
	st->st_mode = ip->r.mode;
	st->st_nlink = ip->r.nlink;
	st->st_uid = ip->r.uid;
	st->st_gid = ip->r.gid;
	st->st_rdev = ip->r.rdev;
	st->st_size = (off_t)ip->r.size;
	if (S_ISDIR(ip->r.mode))
		st->st_size = 4096;
	else if (S_ISLNK(ip->r.mode) && ip->r.symlink)
		st->st_size = (off_t)strlen(ip->r.symlink);
	st->st_blksize = 1 << 20;
	/* regular files: the blocks that hold data, not the size (sparse files) */
	st->st_blocks = (blkcnt_t)((S_ISREG(ip->r.mode) ? ip->used : fl_round4k(ip->r.size)) / 512);
	if (S_ISDIR(ip->r.mode))
		st->st_blocks = 8;
	st->st_atim = ip->r.atime;
	st->st_mtim = ip->r.mtime;
	st->st_ctim = ip->r.ctime;
	(void)c;
}

/* ---------- helpers for operations ---------- */

int fl_core_space_for(struct fl_core *c, uint64_t add)
{
	uint64_t lim = c->v->super.size_limit;

	if (lim && c->used_bytes + add > lim)
		return -ENOSPC;
	return 0;
}

struct fl_inode *fl_inode_new(struct fl_core *c, mode_t mode, const struct fl_cred *cr,
			      const struct fl_inode *dir, int *err)
{
	struct fl_inode *ip;
	uint64_t ino = c->next_ino;
	int ret;

	ret = shard_load(c, ino);
	if (ret) {
		*err = ret;
		return NULL;
	}
	ip = calloc(1, sizeof(*ip));
	if (!ip) {
		*err = -ENOMEM;
		return NULL;
	}
	c->next_ino++;
	ip->r.ino = ino;
	ip->r.mode = mode;
	ip->r.uid = cr->uid;
	ip->r.gid = cr->gid;
	if (dir->r.mode & S_ISGID) {
		ip->r.gid = dir->r.gid;
		if (S_ISDIR(mode))
			ip->r.mode |= S_ISGID;
	}
	ip->r.nlink = S_ISDIR(mode) ? 2 : 1;
	ip->r.has_bmap = S_ISREG(mode);
	fl_now_real(&ip->r.ctime);
	ip->r.atime = ip->r.mtime = ip->r.btime = ip->r.ctime;
	ip->r.generation = 1;
	itab_insert(c, ip);
	c->inodes++;
	return ip;
}

/* Bytes of blocks [first, first + count) below size. */
static uint64_t run_used(uint64_t first, uint64_t count, uint64_t size, uint32_t bs)
{
	uint64_t nblk, end;

	if (!size || !count)
		return 0;
	nblk = (size - 1) / bs + 1;
	end = first + count < first ? UINT64_MAX : first + count;
	if (first >= nblk)
		return 0;
	if (end < nblk)
		return count * bs;
	return (nblk - 1 - first) * bs + fl_block_used(nblk - 1, size, bs);
}

uint64_t fl_file_used(struct fl_core *c, const struct fl_inode *ip, uint64_t size, uint64_t lo,
		      uint64_t hi)
{
	uint64_t used, range = 0;
	const struct fl_dblock *b;
	uint32_t k;

	if (!S_ISREG(ip->r.mode))
		return 0;
	used = fl_bmap_used(&ip->r, size, c->bsize);
	if (hi > lo) {
		/* the range, less what the map has of it */
		range = run_used(lo, hi - lo, size, c->bsize);
		for (k = 0; k < ip->r.nbmap; k++) {
			const struct fl_brange *r = &ip->r.bmap[k];
			uint64_t a = r->first > lo ? r->first : lo;
			uint64_t e = r->first + r->count < hi ? r->first + r->count : hi;

			if (a < e)
				range -= run_used(a, e - a, size, c->bsize);
		}
	}
	/* dirty blocks outside the map, each once */
	for (b = ip->blocks; b; b = b->next) {
		if ((!b->dirty && !b->flying) || fl_bmap_has(&ip->r, b->index))
			continue;
		if (b->index >= lo && b->index < hi)
			range -= fl_block_used(b->index, size, c->bsize);
		used += fl_block_used(b->index, size, c->bsize);
	}
	return used + range;
}

void fl_core_reaccount(struct fl_core *c, struct fl_inode *ip)
{
	uint64_t u;

	if (!S_ISREG(ip->r.mode) || ip->space_freed)
		return;
	u = fl_file_used(c, ip, ip->r.size, 0, 0);
	c->used_bytes = c->used_bytes >= ip->used ? c->used_bytes - ip->used : 0;
	c->used_bytes += u;
	ip->used = u;
}

void fl_space_release(struct fl_core *c, struct fl_inode *ip)
{
	if (!S_ISREG(ip->r.mode) || ip->r.nlink || ip->nopen || ip->space_freed)
		return;
	c->used_bytes = c->used_bytes >= ip->used ? c->used_bytes - ip->used : 0;
	ip->used = 0;
	ip->space_freed = true;
}

void fl_map_save(struct fl_inode *ip)
{
	if (ip->jmap_saved || !S_ISREG(ip->r.mode))
		return;
	ip->jmap = NULL;
	ip->njmap = 0;
	if (ip->r.nbmap) {
		ip->jmap = malloc(ip->r.nbmap * sizeof(*ip->jmap));
		if (!ip->jmap)
			return; /* the checkpoint writes the newer map: only counters may differ */
		memcpy(ip->jmap, ip->r.bmap, ip->r.nbmap * sizeof(*ip->jmap));
		ip->njmap = ip->r.nbmap;
	}
	ip->jmap_saved = true;
}

void fl_core_jaccount(struct fl_core *c, struct fl_inode *ip)
{
	uint64_t j;

	if (!S_ISREG(ip->r.mode))
		return;
	free(ip->jmap);
	ip->jmap = NULL;
	ip->njmap = 0;
	ip->jmap_saved = false;
	j = fl_bmap_used(&ip->r, ip->jsize, c->bsize);
	c->jused_bytes = c->jused_bytes >= ip->jused ? c->jused_bytes - ip->jused : 0;
	c->jused_bytes += j;
	ip->jused = j;
}

void fl_set_jsize(struct fl_core *c, struct fl_inode *ip, uint64_t jsize)
{
	ip->jsize = jsize;
	fl_core_reaccount(c, ip);
}

int fl_bmap_copy_from(const struct fl_inode *ip, uint64_t first, struct fl_brange **out,
		      uint32_t *n)
{
	uint32_t k, m = 0;

	*out = NULL;
	*n = 0;
	for (k = 0; k < ip->r.nbmap; k++)
		if (ip->r.bmap[k].first + ip->r.bmap[k].count > first)
			m++;
	if (!m)
		return 0;
	*out = malloc(m * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (k = 0; k < ip->r.nbmap; k++) {
		struct fl_brange r = ip->r.bmap[k];

		if (r.first + r.count <= first)
			continue;
		if (r.first < first) {
			r.count -= first - r.first;
			r.first = first;
		}
		(*out)[(*n)++] = r;
	}
	return 0;
}

void fl_core_wait_ms(struct fl_core *c, pthread_cond_t *cond, long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	fl_ts_add_ms(&ts, ms);
	pthread_cond_timedwait(cond, &c->lock, &ts);
}

/* ---------- public operations ---------- */

int fl_core_lookup(struct fl_core *c, uint64_t parent, const char *name, struct stat *st)
{
	struct fl_inode *dip, *ip;
	struct fl_dentry *de;
	struct fl_dir *d;
	int ret;

	if (strlen(name) > FL_NAME_MAX)
		return -ENAMETOOLONG;
	fl_core_lock(c);
	fl_dir_prefetch(c, parent);
again:
	ret = fl_ino_get(c, parent, &dip);
	if (ret)
		goto out;
	ret = fl_dir_get(c, dip, &d);
	if (ret)
		goto out;
	ret = fl_dir_entry(c, d, name, &de, &ip);
	if (ret)
		goto out;
	if (S_ISDIR(ip->r.mode))
		ip->parent = parent;
	ip->nlookup++;
	fl_fill_stat(c, ip, st);
out:
	if (ret == FL_RESTART)
		goto again;
	fl_core_unlock(c);
	return ret;
}

void fl_core_forget(struct fl_core *c, uint64_t ino, uint64_t n)
{
	struct fl_inode *ip;

	fl_core_lock(c);
	ip = fl_ino_find(c, ino);
	if (ip) {
		ip->nlookup = ip->nlookup > n ? ip->nlookup - n : 0;
		fl_purge_schedule(c, ip);
	}
	fl_core_unlock(c);
}

int fl_core_getattr(struct fl_core *c, uint64_t ino, struct stat *st)
{
	struct fl_inode *ip;
	int ret;

	fl_core_lock(c);
	ret = fl_ino_load(c, ino, false, &ip);
	if (!ret)
		fl_fill_stat(c, ip, st);
	fl_core_unlock(c);
	return ret;
}

/* Truncates or extends a regular file, data first; the caller journals the inode. */
static int set_size(struct fl_core *c, struct fl_inode *ip, uint64_t nsize,
		    const struct timespec *ts)
{
	uint64_t osize = ip->r.size;
	int ret;

	if (!S_ISREG(ip->r.mode))
		return S_ISDIR(ip->r.mode) ? -EISDIR : -EINVAL;
	if (nsize > FL_FILE_MAX)
		return -EFBIG;
	if (nsize > osize) {
		/* a sparse size uses nothing: only a partial last block grows */
		uint64_t u = fl_file_used(c, ip, nsize, 0, 0);

		ret = fl_core_space_for(c, u > ip->used ? u - ip->used : 0);
		if (!ret)
			ret = fl_core_trim_stale(c, ip); /* the new bytes read as zeros */
		if (ret)
			return ret;
	}
	if (nsize < osize) {
		/* Shrinking: the bytes that stay go first, then the new size together
		 * with an orphan mark (durable), then the objects are trimmed; a
		 * crash in between leaves the old bytes past the size, which the
		 * next mount trims. */
		struct fl_txn t = {.n = 0};
		uint64_t tid = 0;

		ret = fl_data_flush(c, ip, NULL);
		if (ret)
			return ret;
		osize = ip->r.size > osize ? ip->r.size : osize;
		ip->r.size = nsize;
		fl_set_jsize(c, ip, nsize);
		ip->r.mtime = ip->r.ctime = *ts;
		fl_txn_inode(&t, ip);
		fl_ino_ck(c, ip);
		if (!ip->trim_mark && ip->r.nlink) {
			fl_txn_simple(&t, FL_JOP_ORPHAN_ADD, ip->r.ino);
			ip->trim_mark = true;
			fl_orph_note(c, ip->r.ino);
		}
		ret = fl_txn_commit(c, &t, &tid);
		if (!ret)
			ret = fl_journal_wait(c, tid);
		if (ret)
			return ret;
		ret = fl_data_truncate(c, ip, osize, nsize);
		if (ret) {
			/* The objects may keep bytes past the durable size: as after a
			 * crash, they are trimmed before anything extends the file
			 * (fl_core_trim_stale) and no block counts as absent. */
			ip->scan_trim = true;
			return ret;
		}
		fl_data_touch(c, ip); /* the flusher drops the mark once it is closed */
	} else if (nsize > osize) {
		/* growing: what was written goes before the size that covers it */
		ret = fl_data_truncate(c, ip, osize, nsize);
		if (ret)
			return ret;
		ip->r.size = nsize;
		fl_set_jsize(c, ip, nsize);
	}
	ip->r.mtime = ip->r.ctime = *ts;
	return 0;
}

#define FL_SET_TIMES                                                                               \
	(FL_SET_ATIME | FL_SET_MTIME | FL_SET_ATIME_NOW | FL_SET_MTIME_NOW | FL_SET_CTIME)

static void set_times(struct fl_inode *ip, const struct stat *a, int mask,
		      const struct timespec *ts)
{
	if (mask & FL_SET_ATIME_NOW)
		ip->r.atime = *ts;
	else if (mask & FL_SET_ATIME)
		ip->r.atime = a->st_atim;
	if (mask & FL_SET_MTIME_NOW)
		ip->r.mtime = *ts;
	else if (mask & FL_SET_MTIME)
		ip->r.mtime = a->st_mtim;
	if (mask & FL_SET_CTIME)
		ip->r.ctime = a->st_ctim;
	else
		ip->r.ctime = *ts;
}

int fl_core_setattr(struct fl_core *c, uint64_t ino, const struct stat *a, int mask,
		    struct stat *out)
{
	struct fl_inode *ip;
	struct timespec ts;
	int ret;

	fl_core_lock(c);
	ret = fl_ino_load(c, ino, true, &ip);
	if (ret)
		goto out;
	fl_now_real(&ts);
	if (S_ISREG(ip->r.mode) && !(mask & ~FL_SET_TIMES)) {
		/* times only (the kernel's writeback cache sends its mtime before
		 * every fsync): recorded by the next write-back, which fsync waits
		 * for; fdatasync, which does not promise them, waits for nothing */
		set_times(ip, a, mask, &ts);
		ip->attr_dirty = true;
		fl_data_touch(c, ip);
		fl_fill_stat(c, ip, out);
		goto out;
	}
	if (mask & FL_SET_SIZE) {
		ret = set_size(c, ip, (uint64_t)a->st_size, &ts);
		if (ret)
			goto out;
	}
	if (mask & FL_SET_MODE)
		ip->r.mode = (ip->r.mode & S_IFMT) | (a->st_mode & 07777);
	if (mask & FL_SET_UID)
		ip->r.uid = a->st_uid;
	if (mask & FL_SET_GID)
		ip->r.gid = a->st_gid;
	set_times(ip, a, mask, &ts);
	ret = fl_ino_commit(c, ip);
	if (!ret)
		fl_fill_stat(c, ip, out);
out:
	fl_core_unlock(c);
	return ret;
}

int fl_core_open(struct fl_core *c, uint64_t ino, int flags)
{
	struct fl_inode *ip;
	int ret;

	fl_core_lock(c);
	ret = fl_ino_load(c, ino, false, &ip);
	if (ret)
		goto out;
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) {
		ret = fl_core_writable(c);
		if (ret)
			goto out;
	}
	if (S_ISDIR(ip->r.mode) && (flags & O_ACCMODE) != O_RDONLY) {
		ret = -EISDIR;
		goto out;
	}
	if ((flags & O_TRUNC) && S_ISREG(ip->r.mode) && ip->r.size) {
		/* the kernel hands O_TRUNC to open (atomic_o_trunc) */
		struct timespec ts;

		fl_now_real(&ts);
		ret = set_size(c, ip, 0, &ts);
		if (ret)
			goto out;
		ret = fl_ino_commit(c, ip);
		if (ret)
			goto out;
	}
	ip->nopen++;
out:
	fl_core_unlock(c);
	return ret;
}

int fl_core_release(struct fl_core *c, uint64_t ino)
{
	struct fl_inode *ip;
	uint64_t tid = 0;
	int ret = 0;

	fl_core_lock(c);
	ip = fl_ino_find(c, ino);
	if (ip) {
		if (ip->nopen == 1 && ip->r.nlink == 0) {
			/* the last handle of an unlinked file: its data goes, once a
			 * write-back in flight has ended.  Still counted open while
			 * waiting, so the purge cannot free the inode meanwhile. */
			fl_data_wait_flush(c, ip);
			if (ip->nopen == 1 && ip->r.nlink == 0)
				fl_data_drop(c, ip);
		}
		if (ip->nopen)
			ip->nopen--;
		if (ip->nopen == 0)
			fl_ra_drop(c, ip);
		if (ip->nopen == 0 && ip->r.nlink == 0)
			ip->werr = 0;	 /* the file is gone, and its errors with it */
		fl_space_release(c, ip); /* and its space, if that was its last handle */
		if (ip->nopen == 0 && ip->trim_mark && ip->r.nlink)
			fl_data_touch(c, ip);
		fl_purge_schedule(c, ip);
	}
	(void)tid;
	fl_core_unlock(c);
	return ret;
}

ssize_t fl_core_read_ref(struct fl_core *c, uint64_t ino, uint64_t off, size_t len, void *buf,
			 const void **data, void **ref)
{
	struct fl_inode *ip;
	ssize_t ret;
	int r;

	*ref = NULL;
	*data = buf;
	fl_core_lock(c);
	r = fl_ino_load(c, ino, false, &ip);
	if (r)
		ret = r;
	else if (S_ISDIR(ip->r.mode))
		ret = -EISDIR;
	else
		ret = fl_data_read_ref(c, ip, off, len, buf, data, ref);
	fl_core_unlock(c);
	return ret;
}

void fl_core_read_put(struct fl_core *c, void *ref)
{
	if (!ref)
		return;
	fl_core_lock(c);
	fl_ra_put(c, ref);
	fl_core_unlock(c);
}

ssize_t fl_core_read(struct fl_core *c, uint64_t ino, uint64_t off, size_t len, void *buf)
{
	const void *data;
	void *ref;
	ssize_t n = fl_core_read_ref(c, ino, off, len, buf, &data, &ref);

	if (n > 0 && data != buf)
		memcpy(buf, data, (size_t)n);
	fl_core_read_put(c, ref);
	return n;
}

ssize_t fl_core_write(struct fl_core *c, uint64_t ino, uint64_t off, const void *buf, size_t len)
{
	struct fl_inode *ip;
	ssize_t ret;
	int r;

	fl_core_lock(c);
	do {
		r = fl_core_writable(c);
		if (!r)
			r = fl_ino_get(c, ino, &ip);
	} while (r == FL_RESTART);
	if (r)
		ret = r;
	else
		ret = fl_data_write(c, ip, off, buf, len); /* EFBIG past FL_FILE_MAX */
	fl_core_unlock(c);
	return ret;
}

void fl_werr_set(struct fl_core *c, struct fl_inode *ip, int err)
{
	/* a full pool keeps its name, for the program to act on; the rest is EIO */
	ip->werr = err == -ENOSPC || err == -EDQUOT ? err : -EIO;
	ip->werr_seq++;
	ip->werr_seen = false;
	c->werr_unseen = true;
}

/* The write-back error of ip for a handle that saw sequence *since last
 * (advanced), or with since NULL for whoever asks first (only if nobody was
 * told yet).  Either way the error counts as seen. */
static int werr_take(struct fl_inode *ip, uint64_t *since)
{
	int ret = 0;

	if (!ip->werr)
		return 0;
	if (since) {
		if (*since != ip->werr_seq)
			ret = ip->werr;
		*since = ip->werr_seq;
	} else if (!ip->werr_seen) {
		ret = ip->werr;
	}
	if (ret)
		ip->werr_seen = true;
	return ret;
}

/* The first write-back error of a file that still has a name and that no
 * fsync reported yet; every such error counts as seen afterwards. */
static int werr_unseen(struct fl_core *c)
{
	uint64_t i;
	int ret = 0;

	if (!c->werr_unseen)
		return 0;
	for (i = 0; i <= c->imask; i++) {
		struct fl_inode *ip;

		for (ip = c->itab[i]; ip; ip = ip->hnext)
			if (ip->werr && !ip->werr_seen && ip->r.nlink) {
				if (!ret)
					ret = ip->werr;
				ip->werr_seen = true;
			}
	}
	c->werr_unseen = false;
	return ret;
}

uint64_t fl_core_werr_sample(struct fl_core *c, uint64_t ino)
{
	struct fl_inode *ip;
	uint64_t s = 0;

	fl_core_lock(c);
	ip = fl_ino_find(c, ino);
	if (ip) /* an error nobody was told of goes to the next opener, as in Linux */
		s = (uint32_t)(ip->werr && !ip->werr_seen ? ip->werr_seq - 1 : ip->werr_seq);
	fl_core_unlock(c);
	return s;
}

int fl_core_werr_check(struct fl_core *c, uint64_t ino, uint64_t *since)
{
	struct fl_inode *ip;
	int ret = 0;

	fl_core_lock(c);
	ip = fl_ino_find(c, ino);
	if (ip)
		ret = werr_take(ip, since);
	fl_core_unlock(c);
	return ret;
}

int fl_core_fsync(struct fl_core *c, uint64_t ino, bool datasync)
{
	struct fl_inode *ip;
	uint64_t tid = 0;
	int ret;

	fl_core_lock(c);
	if (c->o.ro) {
		fl_core_unlock(c);
		return 0;
	}
	ret = fl_ino_load(c, ino, false, &ip);
	if (ret)
		goto out;
	/* fdatasync of a regular file: its data, and of its metadata only what
	 * reading the data back needs (the record that created it, its size);
	 * times ride with the flusher's next record.  An overwrite within the
	 * durable size is then one RADOS write and no journal append. */
	datasync = datasync && S_ISREG(ip->r.mode);
	ret = datasync ? fl_data_flush_data(c, ip, &tid) : fl_data_flush(c, ip, &tid);
	ip = fl_ino_find(c, ino);
	if (ip) {
		int r = werr_take(ip, NULL);

		if (!ret)
			ret = r;
	}
	if (ret)
		goto out;
	if (datasync && ip) {
		uint64_t need = tid > ip->dtid ? tid : ip->dtid;

		if (c->dir_dtid > need)
			need = c->dir_dtid; /* a parent's rename, say: the path must stay */

		fl_debug("fdatasync inode %" PRIu64 ": %s", ino,
			 need > c->committed_tid ? "waits for the journal" : "data only");
		ret = fl_journal_wait(c, need);
	} else {
		/* metadata of the inode (and of everything before it) must be durable too */
		ret = fl_journal_wait(c, c->next_tid - 1);
	}
out:
	fl_core_unlock(c);
	return ret;
}

uint64_t fl_core_dirty_mem(struct fl_core *c)
{
	uint64_t n;

	fl_core_lock(c);
	n = c->dirty_mem;
	fl_core_unlock(c);
	return n;
}

int fl_core_syncfs(struct fl_core *c)
{
	uint64_t tid = 0;
	int ret, r;

	fl_core_lock(c);
	if (c->o.ro) {
		fl_core_unlock(c);
		return 0;
	}
	ret = fl_data_flush_all(c, &tid);
	if (!ret)
		ret = fl_journal_wait(c, c->next_tid - 1);
	r = werr_unseen(c);
	if (!ret)
		ret = r;
	fl_core_unlock(c);
	return ret;
}

int fl_core_fallocate(struct fl_core *c, uint64_t ino, int mode, uint64_t off, uint64_t len)
{
	struct fl_inode *ip;
	int ret;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;
	if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (off + len < off || off + len > FL_FILE_MAX)
		return -EFBIG;
	fl_core_lock(c);
	ret = fl_ino_load(c, ino, true, &ip);
	if (ret)
		goto out;
	if (!S_ISREG(ip->r.mode)) {
		ret = S_ISDIR(ip->r.mode) ? -EISDIR : -ENODEV;
		goto out;
	}
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		uint64_t end = off + len > ip->r.size ? ip->r.size : off + len;

		if (off < end)
			ret = fl_data_punch(c, ip, off, end - off);
		goto out;
	}
	if (len) {
		/* Nothing is reserved (objects are made by writes), but a range
		 * that could not be written now fails now: its blocks count as if
		 * written, against the size limit. */
		uint64_t nsize = off + len > ip->r.size ? off + len : ip->r.size;
		uint64_t u =
			fl_file_used(c, ip, nsize, off / c->bsize, (off + len - 1) / c->bsize + 1);

		ret = fl_core_space_for(c, u > ip->used ? u - ip->used : 0);
		if (ret)
			goto out;
	}
	if (off + len > ip->r.size) {
		uint64_t nsize = off + len;

		ret = fl_core_trim_stale(c, ip);
		if (ret || (mode & FALLOC_FL_KEEP_SIZE))
			goto out;
		/* Extending: flush first so the size never exposes unwritten data. */
		ret = fl_data_truncate(c, ip, ip->r.size, nsize);
		if (ret)
			goto out;
		ip->r.size = nsize;
		fl_set_jsize(c, ip, nsize);
		fl_now_real(&ip->r.ctime);
		ret = fl_ino_commit(c, ip);
	}
out:
	fl_core_unlock(c);
	return ret;
}

int fl_core_statfs(struct fl_core *c, struct statvfs *sv)
{
	uint64_t lim, used;

	fl_core_lock(c);
	lim = c->v->super.size_limit;
	used = c->used_bytes;
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = 4096;
	sv->f_frsize = 4096;
	if (!lim)
		lim = used + (1ULL << 50); /* unlimited: show a petabyte free */
	sv->f_blocks = lim / 4096;
	sv->f_bfree = sv->f_bavail = used >= lim ? 0 : (lim - used) / 4096;
	sv->f_files = c->inodes + (1ULL << 32);
	sv->f_ffree = sv->f_favail = 1ULL << 32;
	sv->f_namemax = FL_NAME_MAX;
	fl_core_unlock(c);
	return 0;
}

bool fl_core_want_direct_io(struct fl_core *c)
{
	uint64_t lim = c->v->super.size_limit;
	bool near;

	fl_core_lock(c);
	near = lim && c->used_bytes + c->o.dirty_max + (64u << 20) > lim;
	fl_core_unlock(c);
	return near;
}

double fl_core_attr_timeout(struct fl_core *c)
{
	return c->o.ro ? 1.0 : 86400.0;
}

int fl_core_error(struct fl_core *c)
{
	int e;

	fl_core_lock(c);
	e = c->error;
	fl_core_unlock(c);
	return e;
}

void fl_core_usage(struct fl_core *c, uint64_t *used, uint64_t *inodes)
{
	fl_core_lock(c);
	*used = c->used_bytes;
	*inodes = c->inodes;
	fl_core_unlock(c);
}

void fl_core_set_error(struct fl_core *c, int err)
{
	fl_core_lock(c);
	if (!c->error)
		c->error = err;
	pthread_cond_broadcast(&c->cond);
	fl_core_unlock(c);
}

/* ---------- open / close of the whole filesystem ---------- */

static void core_free(struct fl_core *c)
{
	uint64_t i;

	if (!c)
		return;
	for (i = 0; c->itab && i <= c->imask; i++) {
		struct fl_inode *ip = c->itab[i], *next;

		for (; ip; ip = next) {
			next = ip->hnext;
			fl_data_drop(c, ip);
			fl_inode_free(ip);
		}
	}
	fl_overlay_free(c);
	free(c->itab);
	free(c->shard_state);
	free(c->ck_dirs);
	free(c->ck_deleted);
	free(c->ck_orph_add);
	free(c->ck_rmdirs);
	free(c->purge);
	fl_buf_free(&c->jpending);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	pthread_cond_destroy(&c->space_cond);
	free(c);
}

/* The options left 0 take their defaults (FL_RA_OFF: no read-ahead). */
static void opts_defaults(struct fl_core_opts *o)
{
	if (!o->dirty_max)
		o->dirty_max = 64u << 20;
	if (!o->ra_objects)
		o->ra_objects = 4;
	else if (o->ra_objects == FL_RA_OFF)
		o->ra_objects = 0;
	if (!o->ra_max)
		o->ra_max = 64u << 20;
	if (!o->ra_window)
		o->ra_window = 16u << 20;
	if (!o->commit_ms)
		o->commit_ms = 1000;
	if (!o->checkpoint_s)
		o->checkpoint_s = 30;
}

int fl_core_mount(struct fl_volume *v, const struct fl_core_opts *o, struct fl_core **out,
		  char *err, size_t errlen)
{
	struct fl_core *c = calloc(1, sizeof(*c));
	struct fl_inode *root;
	size_t i;
	int ret;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	pthread_cond_init(&c->space_cond, NULL);
	c->v = v;
	if (!o->ro && !fl_gate_is(v->st)) {
		/* every write of the writer passes a gate a snapshot can close (freeze.c) */
		struct fl_store *g = fl_gate_wrap(v->st);

		if (!g) {
			core_free(c);
			return -ENOMEM;
		}
		v->st = g;
	}
	c->st = v->st;
	c->o = *o;
	opts_defaults(&c->o);
	c->imask = 1023;
	c->itab = calloc(c->imask + 1, sizeof(*c->itab));
	if (!c->itab) {
		ret = -ENOMEM;
		goto out_err;
	}
	c->bsize = v->super.block_size;
	c->next_ino = v->super.next_ino;
	c->used_bytes = c->jused_bytes = v->super.used_bytes;
	c->inodes = v->super.inodes;
	fl_buf_init(&c->jpending, 64u << 20);
	ret = fl_journal_replay(c, err, errlen);
	if (ret)
		goto out_err;
	fl_core_lock(c);
	do {
		ret = fl_ino_get(c, FL_ROOT_INO, &root);
		if (!ret) {
			struct fl_dir *d;

			root->nlookup = 1; /* the kernel's reference to the root, never forgotten */
			root->parent = FL_ROOT_INO;
			ret = fl_dir_get(c, root, &d);
		}
	} while (ret == FL_RESTART);
	/* Inodes on the orphan list: a crash may have left data past their
	 * size.  Marked before any request can reach them, then trimmed all
	 * at once (fl_purge_trim_listed); the commit thread purges them. */
	for (i = 0; !ret && i < c->npurge; i++) {
		uint64_t ino = c->purge[i] & ~FL_PURGE_SCAN;
		struct fl_inode *ip;
		int r;

		r = fl_ino_load(c, ino, false, &ip);
		if (r == 0) {
			ip->trim_mark = ip->scan_trim = true;
			ip->orphan = !ip->r.nlink;
		} else if (r != -ENOENT) {
			fl_warn("volume %s: orphan inode %" PRIu64
				" cannot be read (%s): left on the orphan list",
				v->super.name, ino, strerror(-r));
		}
	}
	if (!ret)
		fl_purge_trim_listed(c); /* no other thread runs yet */
	fl_core_unlock(c);
	if (ret) {
		snprintf(err, errlen, "cannot read the root directory of volume %s: %s",
			 v->super.name, strerror(-ret));
		goto out_err;
	}
	ret = fl_journal_start(c);
	if (!ret && !c->o.ro)
		ret = fl_data_start(c);
	if (ret) {
		snprintf(err, errlen, "cannot start the journal threads: %s", strerror(-ret));
		fl_journal_stop(c);
		goto out_err;
	}
	*out = c;
	return 0;
out_err:
	core_free(c);
	return ret;
}

void fl_core_abandon(struct fl_core *c)
{
	fl_core_lock(c);
	c->abandon = true;
	fl_core_unlock(c);
	fl_data_stop(c);
	fl_journal_stop(c);
	core_free(c);
}

int fl_core_unmount(struct fl_core *c)
{
	uint64_t tid = 0;
	int ret = 0;

	if (!c)
		return 0;
	if (!c->o.ro) {
		fl_core_lock(c);
		ret = fl_data_flush_all(c, &tid);
		if (!ret)
			ret = fl_journal_wait(c, c->next_tid - 1);
		fl_core_unlock(c);
	}
	fl_data_stop(c);
	fl_journal_stop(c); /* purges orphans and checkpoints */
	if (!ret)
		ret = c->error;
	core_free(c);
	return ret;
}
