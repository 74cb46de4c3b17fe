/*
 * flockerfs — the namespace: inodes, directories and the POSIX operations.
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
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "flocker/log.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

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

static void itab_remove(struct fl_core *c, struct fl_inode *ip)
{
	struct fl_inode **pp = &c->itab[ino_hash(ip->r.ino) & c->imask];

	while (*pp && *pp != ip)
		pp = &(*pp)->hnext;
	if (*pp) {
		*pp = ip->hnext;
		c->icount--;
	}
}

static void inode_free(struct fl_inode *ip)
{
	free(ip->jmap);
	fl_inode_rec_free(&ip->r);
	fl_dir_free(ip->dir);
	free(ip);
}

void fl_core_free_deleted(struct fl_core *c, struct fl_inode *ip)
{
	itab_remove(c, ip);
	fl_data_drop(c, ip);
	inode_free(ip);
}

struct shard_load {
	struct fl_core *c;
	int err;
};

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

static int shard_load_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct shard_load *sl = arg;
	struct fl_inode *ip;
	struct fl_inode_rec r = {0};
	bool deleted = false;

	if (fl_inode_decode(val, len, &r)) {
		fl_err("inode record %s is corrupt", key);
		return 0; /* the inode reads as -EIO when used */
	}
	if (fl_ino_find(sl->c, r.ino)) {
		fl_inode_rec_free(&r);
		return 0;
	}
	if (sl->c->overlay && fl_overlay_inode(sl->c, r.ino, &r, &deleted) == 0 && deleted) {
		fl_inode_rec_free(&r);
		return 0;
	}
	ip = calloc(1, sizeof(*ip));
	if (!ip) {
		fl_inode_rec_free(&r);
		sl->err = -ENOMEM;
		return 1;
	}
	ip->r = r;
	inode_loaded(sl->c, ip);
	itab_insert(sl->c, ip);
	return 0;
}

/* Makes sure every inode of the shard holding ino is in memory. */
static int shard_load(struct fl_core *c, uint64_t ino)
{
	uint64_t shard = ino >> FL_ITAB_SHARD_BITS;
	struct shard_load sl = {c, 0};
	char oid[FL_OID_LEN];
	bool more = false;
	int ret;

	if (shard >= c->nshards) {
		uint64_t n = shard * 2 + 16;
		bool *ns = realloc(c->shard_loaded, n * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		memset(ns + c->nshards, 0, (n - c->nshards) * sizeof(*ns));
		c->shard_loaded = ns;
		c->nshards = n;
	}
	if (c->shard_loaded[shard])
		return 0;
	fl_oid_itab(oid, shard);
	ret = c->st->ops->omap_list(c->st, oid, NULL, UINT32_MAX, shard_load_cb, &sl, &more);
	if (ret == -ENOENT)
		ret = 0;
	if (ret == 1)
		ret = sl.err;
	if (ret == 0 && c->overlay) {
		/* inodes created since the checkpoint live only in the journal */
		uint64_t i, lo = shard << FL_ITAB_SHARD_BITS, hi = lo + (1u << FL_ITAB_SHARD_BITS);

		for (i = lo; i < hi && i < c->next_ino; i++) {
			struct fl_inode_rec r = {0};
			bool deleted = false;
			struct fl_inode *ip;

			if (fl_ino_find(c, i) || fl_overlay_inode(c, i, &r, &deleted) || deleted)
				continue;
			ip = calloc(1, sizeof(*ip));
			if (!ip) {
				fl_inode_rec_free(&r);
				return -ENOMEM;
			}
			ip->r = r;
			inode_loaded(c, ip);
			itab_insert(c, ip);
		}
	}
	if (ret == 0)
		c->shard_loaded[shard] = true;
	else
		fl_err("cannot load inode table shard %s: %s", oid, strerror(-ret));
	return ret;
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

/* Inode named by a directory entry: a missing one means damage. */
static int ino_get_entry(struct fl_core *c, uint64_t ino, struct fl_inode **out)
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

static void now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
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

/* ---------- directories ---------- */

static uint32_t name_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

struct fl_dir *fl_dir_new(void)
{
	struct fl_dir *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->hmask = 15;
	d->htab = calloc(16, sizeof(*d->htab));
	if (!d->htab) {
		free(d);
		return NULL;
	}
	d->next_cookie = 3; /* 1 and 2 are "." and ".." */
	return d;
}

void fl_dir_free(struct fl_dir *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->norder; i++)
		free(d->order[i]);
	for (i = 0; i < d->nck; i++)
		free(d->ck_names[i]);
	free(d->ck_names);
	free(d->order);
	free(d->htab);
	free(d);
}

struct fl_dentry *fl_dir_find(struct fl_dir *d, const char *name)
{
	size_t n = strlen(name);
	uint32_t h = name_hash(name, n);
	struct fl_dentry *de = d->htab[h & d->hmask];

	for (; de; de = de->hnext)
		if (de->hash == h && de->namelen == n && !memcmp(de->name, name, n))
			return de;
	return NULL;
}

static void dir_rehash(struct fl_dir *d)
{
	uint32_t nsize = (d->hmask + 1) * 2, i;
	struct fl_dentry **n = calloc(nsize, sizeof(*n));

	if (!n)
		return;
	for (i = 0; i <= d->hmask; i++) {
		struct fl_dentry *de = d->htab[i], *next;

		for (; de; de = next) {
			next = de->hnext;
			de->hnext = n[de->hash & (nsize - 1)];
			n[de->hash & (nsize - 1)] = de;
		}
	}
	free(d->htab);
	d->htab = n;
	d->hmask = nsize - 1;
}

static void dir_compact(struct fl_dir *d)
{
	size_t i, j = 0;

	for (i = 0; i < d->norder; i++)
		if (d->order[i]) {
			d->order[i]->oidx = (uint32_t)j;
			d->order[j++] = d->order[i];
		}
	d->norder = j;
	d->order_dead = 0;
}

int fl_dir_insert(struct fl_dir *d, const char *name, uint64_t ino, uint32_t type)
{
	size_t n = strlen(name);
	struct fl_dentry *de;

	if (d->order_dead > 64 && d->order_dead > d->norder / 2)
		dir_compact(d);
	if (d->norder == d->order_cap) {
		size_t ncap = d->order_cap ? d->order_cap * 2 : 16;
		struct fl_dentry **no = realloc(d->order, ncap * sizeof(*no));

		if (!no)
			return -ENOMEM;
		d->order = no;
		d->order_cap = ncap;
	}
	de = malloc(sizeof(*de) + n + 1);
	if (!de)
		return -ENOMEM;
	memcpy(de->name, name, n + 1);
	de->namelen = (uint16_t)n;
	de->hash = name_hash(name, n);
	de->ino = ino;
	de->type = type;
	de->cookie = d->next_cookie++;
	if (d->count >= d->hmask)
		dir_rehash(d);
	de->hnext = d->htab[de->hash & d->hmask];
	d->htab[de->hash & d->hmask] = de;
	de->oidx = (uint32_t)d->norder;
	d->order[d->norder++] = de;
	d->count++;
	if (S_ISDIR(type))
		d->nsubdirs++;
	return 0;
}

/* Index in d->order of the first entry with cookie > off. */
static size_t dir_seek(struct fl_dir *d, uint64_t off)
{
	size_t lo = 0, hi = d->norder;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, k = mid;

		/* skip holes to find a cookie to compare with */
		while (k < hi && !d->order[k])
			k++;
		if (k == hi) {
			hi = mid;
			continue;
		}
		if (d->order[k]->cookie <= off)
			lo = k + 1;
		else
			hi = mid;
	}
	return lo;
}

void fl_dir_remove(struct fl_dir *d, struct fl_dentry *de)
{
	struct fl_dentry **pp = &d->htab[de->hash & d->hmask];
	size_t i;

	while (*pp && *pp != de)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = de->hnext;
	/* by its index, not dir_seek: removing a directory's entries in the
	 * order they were made leaves a run of holes that every seek would
	 * walk (quadratic for rm -r of a huge directory) */
	i = de->oidx;
	if (i >= d->norder || d->order[i] != de)
		for (i = dir_seek(d, de->cookie - 1); i < d->norder && d->order[i] != de; i++)
			;
	if (i < d->norder) {
		d->order[i] = NULL;
		d->order_dead++;
	}
	if (S_ISDIR(de->type))
		d->nsubdirs--;
	d->count--;
	free(de);
	/* holes stay under half of the table, so readdir's seeks stay short */
	if (d->order_dead > 64 && d->order_dead > d->norder / 2)
		dir_compact(d);
}

/* Puts a directory on the checkpoint's list: its object is written even with no names. */
void fl_dir_ck_list(struct fl_core *c, struct fl_inode *dip)
{
	struct fl_dir *d = dip->dir;

	if (d->ck_listed)
		return;
	if (c->nck_dirs == c->ck_dirs_cap) {
		size_t ncap = c->ck_dirs_cap ? c->ck_dirs_cap * 2 : 16;
		struct fl_inode **n = realloc(c->ck_dirs, ncap * sizeof(*n));

		if (!n)
			return;
		c->ck_dirs = n;
		c->ck_dirs_cap = ncap;
	}
	c->ck_dirs[c->nck_dirs++] = dip;
	d->ck_listed = true;
}

void fl_dir_ck(struct fl_core *c, struct fl_inode *dip, const char *name)
{
	struct fl_dir *d = dip->dir;
	char *dup = strdup(name);

	if (!dup)
		return; /* the journal still has it; a later checkpoint skips nothing it needs */
	if (d->nck == d->ck_cap) {
		size_t ncap = d->ck_cap ? d->ck_cap * 2 : 8;
		char **n = realloc(d->ck_names, ncap * sizeof(*n));

		if (!n) {
			free(dup);
			return;
		}
		d->ck_names = n;
		d->ck_cap = ncap;
	}
	d->ck_names[d->nck++] = dup;
	fl_dir_ck_list(c, dip);
}

struct dir_load {
	struct fl_dir *d;
	int err;
	uint64_t dir;
};

static int dir_load_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct dir_load *dl = arg;
	struct fl_dirent_rec r;

	if (fl_dirent_decode(val, len, &r)) {
		/* kept as a poisoned entry: EIO when used; flockerctl fsck --repair removes it */
		fl_err("directory %" PRIu64
		       ": entry '%s' is corrupt; it reads as EIO until flockerctl fsck --repair",
		       dl->dir, key);
		r.ino = 0;
		r.type = 0;
	}
	if (fl_dir_insert(dl->d, key, r.ino, r.type)) {
		dl->err = -ENOMEM;
		return 1;
	}
	return 0;
}

/* Does the journal a read-only mount replayed in memory record inode ino? */
static bool overlay_has(struct fl_core *c, uint64_t ino)
{
	struct fl_inode_rec r = {0};
	bool deleted = false;
	bool has = fl_overlay_inode(c, ino, &r, &deleted) == 0 && !deleted;

	fl_inode_rec_free(&r);
	return has;
}

static int dir_get(struct fl_core *c, struct fl_inode *ip, struct fl_dir **out)
{
	struct dir_load dl = {NULL, 0, ip->r.ino};
	char oid[FL_OID_LEN];
	bool more;
	int ret;

	if (!S_ISDIR(ip->r.mode))
		return -ENOTDIR;
	if (ip->dir) {
		*out = ip->dir;
		return 0;
	}
	dl.d = fl_dir_new();
	if (!dl.d)
		return -ENOMEM;
	fl_oid_dir(oid, ip->r.ino);
	ret = c->st->ops->omap_list(c->st, oid, NULL, UINT32_MAX, dir_load_cb, &dl, &more);
	if (ret == 1)
		ret = dl.err;
	if (ret == -ENOENT && c->overlay && overlay_has(c, ip->r.ino))
		ret = 0; /* made since the checkpoint: its object comes with the next one */
	if (ret == -ENOENT && ip->r.nlink > 0) {
		fl_err("directory object %s is missing", oid);
		ret = -EIO;
	}
	if (!ret && c->overlay)
		ret = fl_overlay_dir(c, ip->r.ino, dl.d);
	if (ret) {
		fl_dir_free(dl.d);
		return ret;
	}
	ip->dir = dl.d;
	*out = dl.d;
	return 0;
}

/*
 * Loads directory ino's entries (if not loaded yet) without the core lock
 * held while RADOS answers: a directory of n entries takes n / 1024 omap
 * pages.  For operations that start with a directory and hold nothing else
 * (lookup, opendir, readdir); the caller gets its inode again after.  Two
 * threads may load the same directory: the first installs it, the second's
 * copy goes.  A directory not loaded has no change in memory, so the listing
 * sees all of it.  On any failure it leaves the load to dir_get.
 */
static void dir_prefetch(struct fl_core *c, uint64_t ino)
{
	struct fl_inode *ip = fl_ino_find(c, ino);
	struct dir_load dl = {NULL, 0, ino};
	char oid[FL_OID_LEN];
	bool more;
	int ret;

	if (!ip || ip->dir || !S_ISDIR(ip->r.mode))
		return;
	dl.d = fl_dir_new();
	if (!dl.d)
		return;
	fl_oid_dir(oid, ino);
	pthread_mutex_unlock(&c->lock);
	ret = c->st->ops->omap_list(c->st, oid, NULL, UINT32_MAX, dir_load_cb, &dl, &more);
	pthread_mutex_lock(&c->lock);
	ip = fl_ino_find(c, ino);
	if (!ret && ip && !ip->dir && !ip->deleted && c->overlay)
		ret = fl_overlay_dir(c, ino, dl.d);
	if (ret || !ip || ip->dir || ip->deleted) {
		fl_dir_free(dl.d);
		return;
	}
	ip->dir = dl.d;
}

/* ---------- helpers for operations ---------- */

static int check_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0)
		return -ENOENT;
	if (n > FL_NAME_MAX)
		return -ENAMETOOLONG;
	if (strchr(name, '/'))
		return -EINVAL;
	return 0;
}

static int writable(struct fl_core *c)
{
	if (c->o.ro)
		return -EROFS;
	fl_core_freeze_wait(c);
	if (c->error)
		return -EIO;
	return 0;
}

/* Loads a directory for a change: returns the inode and its dir. */
static int dir_for_change(struct fl_core *c, uint64_t ino, struct fl_inode **ipp,
			  struct fl_dir **dp)
{
	int ret = writable(c);

	if (ret)
		return ret;
	ret = fl_ino_get(c, ino, ipp);
	if (ret)
		return ret;
	ret = dir_get(c, *ipp, dp);
	if (ret)
		return ret;
	if ((*ipp)->r.nlink == 0)
		return -ENOENT; /* removed directory, still someone's cwd */
	return 0;
}

int fl_core_space_for(struct fl_core *c, uint64_t add)
{
	uint64_t lim = c->v->super.size_limit;

	if (lim && c->used_bytes + add > lim)
		return -ENOSPC;
	return 0;
}

static struct fl_inode *inode_new(struct fl_core *c, mode_t mode, const struct fl_cred *cr,
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
	now(&ip->r.ctime);
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

	if (!S_ISREG(ip->r.mode))
		return;
	u = fl_file_used(c, ip, ip->r.size, 0, 0);
	c->used_bytes = c->used_bytes >= ip->used ? c->used_bytes - ip->used : 0;
	c->used_bytes += u;
	ip->used = u;
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

static void touch_dir(struct fl_inode *dip, const struct timespec *ts)
{
	dip->r.mtime = dip->r.ctime = *ts;
}

/* Common tail of mknod/mkdir/symlink/create: link ip into dip under name. */
static int link_new(struct fl_core *c, struct fl_inode *dip, const char *name, struct fl_inode *ip,
		    uint64_t *tid)
{
	struct fl_txn t = {.n = 0};
	int ret;

	ret = fl_dir_insert(dip->dir, name, ip->r.ino, ip->r.mode & S_IFMT);
	if (ret)
		return ret;
	if (S_ISDIR(ip->r.mode)) {
		struct fl_dir *d = fl_dir_new();

		if (!d) {
			fl_dir_remove(dip->dir, fl_dir_find(dip->dir, name));
			return -ENOMEM;
		}
		ip->dir = d;
		ip->parent = dip->r.ino;
		dip->r.nlink++;
		fl_dir_ck_list(c, ip); /* its (empty) object must exist */
	}
	touch_dir(dip, &ip->r.ctime);
	fl_txn_inode(&t, ip);
	fl_txn_inode(&t, dip);
	fl_txn_dent(&t, dip->r.ino, name, ip->r.ino, ip->r.mode & S_IFMT);
	fl_dir_ck(c, dip, name);
	fl_ino_ck(c, ip);
	fl_ino_ck(c, dip);
	ip->nlookup++;
	return fl_txn_commit(c, &t, tid);
}

static int make_node(struct fl_core *c, uint64_t parent, const char *name, mode_t mode, dev_t rdev,
		     const char *target, const struct fl_cred *cr, struct stat *st,
		     struct fl_inode **out)
{
	struct fl_inode *dip, *ip;
	struct fl_dir *d;
	int ret;

	ret = check_name(name);
	if (ret)
		return ret;
	ret = dir_for_change(c, parent, &dip, &d);
	if (ret)
		return ret;
	if (fl_dir_find(d, name))
		return -EEXIST;
	ip = inode_new(c, mode, cr, dip, &ret);
	if (!ip)
		return ret;
	ip->r.rdev = rdev;
	if (target) {
		ip->r.symlink = strdup(target);
		if (!ip->r.symlink) {
			ret = -ENOMEM;
			goto out_free;
		}
		ip->r.size = ip->jsize = strlen(target);
	}
	ret = link_new(c, dip, name, ip, NULL);
	if (ret)
		return ret; /* the journal failed: the volume is now broken anyway */
	fl_fill_stat(c, ip, st);
	if (out)
		*out = ip;
	return 0;
out_free:
	itab_remove(c, ip);
	c->inodes--;
	inode_free(ip);
	return ret;
}

/* ---------- open / close ---------- */

static void lock_core(struct fl_core *c)
{
	pthread_mutex_lock(&c->lock);
}

static void unlock_core(struct fl_core *c)
{
	pthread_mutex_unlock(&c->lock);
}

static void schedule_purge(struct fl_core *c, struct fl_inode *ip)
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
	struct fl_txn t = {.n = 0};
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
	unlock_core(c);
	{
		struct fl_batch *b = fl_batch_new(c->st);

		if (!b)
			ret = -ENOMEM;
		for (i = 0; b && i < n; i++) {
			uint32_t r;

			for (r = 0; r < jobs[i].nruns; r++) {
				uint64_t x, last = jobs[i].runs[r].first + jobs[i].runs[r].count;
				char oid[FL_OID_LEN];

				for (x = jobs[i].runs[r].first; x < last; x++) {
					fl_oid_data(oid, jobs[i].ino, x);
					b->ops->remove(b, oid);
					objs++;
				}
			}
		}
		if (b)
			ret = fl_batch_wait(b);
	}
	lock_core(c);
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
	fl_debug("purged %zu orphan inodes (%" PRIu64 " data objects): %d", n, objs, ret);
out:
	for (i = 0; i < n; i++)
		free(jobs[i].runs);
	free(jobs);
}

void fl_core_wait_ms(struct fl_core *c, pthread_cond_t *cond, long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(cond, &c->lock, &ts);
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
	unlock_core(c);
	ret = S_ISREG(ip->r.mode) ? trim_beyond(c, ip->r.ino, size, &keep, &nkeep) : 0;
	lock_core(c);
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
static void trim_listed(struct fl_core *c)
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

	ret = fl_ino_get(c, ino, &ip);
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
		unlock_core(c);
		ret = scan ? trim_beyond(c, ino, 0, &keep, &nkeep)
			   : fl_data_remove_runs(c, ino, runs, nruns);
		lock_core(c);
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
static void unlinked(struct fl_core *c, struct fl_inode *ip, struct fl_txn *t)
{
	if (ip->r.nlink)
		return;
	ip->orphan = true;
	if (!ip->trim_mark)
		fl_txn_simple(t, FL_JOP_ORPHAN_ADD, ip->r.ino);
	fl_orph_note(c, ip->r.ino);
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
	lock_core(c);
	dir_prefetch(c, parent);
	ret = fl_ino_get(c, parent, &dip);
	if (ret)
		goto out;
	ret = dir_get(c, dip, &d);
	if (ret)
		goto out;
	de = fl_dir_find(d, name);
	if (!de) {
		ret = -ENOENT;
		goto out;
	}
	ret = ino_get_entry(c, de->ino, &ip);
	if (ret)
		goto out;
	if (S_ISDIR(ip->r.mode))
		ip->parent = parent;
	ip->nlookup++;
	fl_fill_stat(c, ip, st);
out:
	unlock_core(c);
	return ret;
}

void fl_core_forget(struct fl_core *c, uint64_t ino, uint64_t n)
{
	struct fl_inode *ip;

	lock_core(c);
	ip = fl_ino_find(c, ino);
	if (ip) {
		ip->nlookup = ip->nlookup > n ? ip->nlookup - n : 0;
		schedule_purge(c, ip);
	}
	unlock_core(c);
}

int fl_core_getattr(struct fl_core *c, uint64_t ino, struct stat *st)
{
	struct fl_inode *ip;
	int ret;

	lock_core(c);
	ret = fl_ino_get(c, ino, &ip);
	if (!ret)
		fl_fill_stat(c, ip, st);
	unlock_core(c);
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
		if (!ret)
			ret = fl_data_truncate(c, ip, osize, nsize);
		if (ret)
			return ret;
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
	struct fl_txn t = {.n = 0};
	struct fl_inode *ip;
	struct timespec ts;
	int ret;

	lock_core(c);
	ret = writable(c);
	if (ret)
		goto out;
	ret = fl_ino_get(c, ino, &ip);
	if (ret)
		goto out;
	now(&ts);
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
	fl_txn_inode(&t, ip);
	fl_ino_ck(c, ip);
	ret = fl_txn_commit(c, &t, NULL);
	if (!ret)
		fl_fill_stat(c, ip, out);
out:
	unlock_core(c);
	return ret;
}

int fl_core_mknod(struct fl_core *c, uint64_t parent, const char *name, mode_t mode, dev_t rdev,
		  const struct fl_cred *cr, struct stat *st)
{
	int ret;

	if (S_ISDIR(mode) || S_ISLNK(mode))
		return -EINVAL;
	if (!(mode & S_IFMT))
		mode |= S_IFREG;
	lock_core(c);
	ret = make_node(c, parent, name, mode, rdev, NULL, cr, st, NULL);
	unlock_core(c);
	return ret;
}

int fl_core_mkdir(struct fl_core *c, uint64_t parent, const char *name, mode_t mode,
		  const struct fl_cred *cr, struct stat *st)
{
	int ret;

	lock_core(c);
	ret = make_node(c, parent, name, S_IFDIR | (mode & 07777), 0, NULL, cr, st, NULL);
	unlock_core(c);
	return ret;
}

int fl_core_symlink(struct fl_core *c, uint64_t parent, const char *name, const char *target,
		    const struct fl_cred *cr, struct stat *st)
{
	int ret;

	if (strlen(target) > FL_SYMLINK_MAX)
		return -ENAMETOOLONG;
	lock_core(c);
	ret = make_node(c, parent, name, S_IFLNK | 0777, 0, target, cr, st, NULL);
	unlock_core(c);
	return ret;
}

int fl_core_create(struct fl_core *c, uint64_t parent, const char *name, mode_t mode, int flags,
		   const struct fl_cred *cr, struct stat *st)
{
	struct fl_inode *ip;
	int ret;

	lock_core(c);
	ret = make_node(c, parent, name, S_IFREG | (mode & 07777), 0, NULL, cr, st, &ip);
	if (!ret)
		ip->nopen++;
	unlock_core(c);
	(void)flags;
	return ret;
}

int fl_core_link(struct fl_core *c, uint64_t ino, uint64_t newparent, const char *newname,
		 struct stat *st)
{
	struct fl_txn t = {.n = 0};
	struct fl_inode *dip, *ip;
	struct fl_dir *d;
	struct timespec ts;
	int ret;

	ret = check_name(newname);
	if (ret)
		return ret;
	lock_core(c);
	ret = dir_for_change(c, newparent, &dip, &d);
	if (ret)
		goto out;
	ret = fl_ino_get(c, ino, &ip);
	if (ret)
		goto out;
	if (S_ISDIR(ip->r.mode)) {
		ret = -EPERM;
		goto out;
	}
	if (ip->r.nlink == 0) {
		ret = -ENOENT;
		goto out;
	}
	if (ip->r.nlink >= 65000) {
		ret = -EMLINK;
		goto out;
	}
	if (fl_dir_find(d, newname)) {
		ret = -EEXIST;
		goto out;
	}
	ret = fl_dir_insert(d, newname, ino, ip->r.mode & S_IFMT);
	if (ret)
		goto out;
	now(&ts);
	ip->r.nlink++;
	ip->r.ctime = ts;
	touch_dir(dip, &ts);
	ip->nlookup++;
	fl_txn_inode(&t, ip);
	fl_txn_inode(&t, dip);
	fl_txn_dent(&t, dip->r.ino, newname, ino, ip->r.mode & S_IFMT);
	fl_dir_ck(c, dip, newname);
	fl_ino_ck(c, ip);
	fl_ino_ck(c, dip);
	ret = fl_txn_commit(c, &t, NULL);
	if (!ret)
		fl_fill_stat(c, ip, st);
out:
	unlock_core(c);
	return ret;
}

ssize_t fl_core_readlink(struct fl_core *c, uint64_t ino, char *buf, size_t len)
{
	struct fl_inode *ip;
	ssize_t ret;
	int r;

	lock_core(c);
	r = fl_ino_get(c, ino, &ip);
	if (r) {
		ret = r;
		goto out;
	}
	if (!S_ISLNK(ip->r.mode) || !ip->r.symlink) {
		ret = -EINVAL;
		goto out;
	}
	ret = (ssize_t)strlen(ip->r.symlink);
	if ((size_t)ret >= len)
		ret = (ssize_t)len - 1;
	memcpy(buf, ip->r.symlink, (size_t)ret);
	buf[ret] = '\0';
out:
	unlock_core(c);
	return ret;
}

static int remove_entry(struct fl_core *c, uint64_t parent, const char *name, bool isdir)
{
	struct fl_txn t = {.n = 0};
	struct fl_inode *dip, *ip;
	struct fl_dentry *de;
	struct fl_dir *d, *sd;
	struct timespec ts;
	int ret;

	if (!strcmp(name, "."))
		return isdir ? -EINVAL : -EISDIR;
	if (!strcmp(name, ".."))
		return isdir ? -ENOTEMPTY : -EISDIR;
	lock_core(c);
	ret = dir_for_change(c, parent, &dip, &d);
	if (ret)
		goto out;
	de = fl_dir_find(d, name);
	if (!de) {
		ret = -ENOENT;
		goto out;
	}
	ret = ino_get_entry(c, de->ino, &ip);
	if (ret)
		goto out;
	if (isdir) {
		if (!S_ISDIR(ip->r.mode)) {
			ret = -ENOTDIR;
			goto out;
		}
		ret = dir_get(c, ip, &sd);
		if (ret)
			goto out;
		if (sd->count) {
			ret = -ENOTEMPTY;
			goto out;
		}
	} else if (S_ISDIR(ip->r.mode)) {
		ret = -EISDIR;
		goto out;
	}
	now(&ts);
	fl_dir_remove(d, de);
	fl_txn_undent(&t, parent, name);
	fl_dir_ck(c, dip, name);
	touch_dir(dip, &ts);
	if (isdir) {
		dip->r.nlink--;
		ip->r.nlink = 0;
	} else {
		ip->r.nlink--;
	}
	ip->r.ctime = ts;
	fl_txn_inode(&t, dip);
	fl_txn_inode(&t, ip);
	unlinked(c, ip, &t);
	fl_ino_ck(c, dip);
	fl_ino_ck(c, ip);
	ret = fl_txn_commit(c, &t, NULL);
	schedule_purge(c, ip);
out:
	unlock_core(c);
	return ret;
}

int fl_core_unlink(struct fl_core *c, uint64_t parent, const char *name)
{
	return remove_entry(c, parent, name, false);
}

int fl_core_rmdir(struct fl_core *c, uint64_t parent, const char *name)
{
	return remove_entry(c, parent, name, true);
}

/* Is dir a or one of its ancestors the inode anc? */
static bool is_within(struct fl_core *c, uint64_t a, uint64_t anc)
{
	int depth = 0;

	while (depth++ < 4096) {
		struct fl_inode *ip;

		if (a == anc)
			return true;
		if (a == FL_ROOT_INO)
			return false;
		ip = fl_ino_find(c, a);
		if (!ip || !ip->parent)
			return false;
		a = ip->parent;
	}
	return true; /* a loop: refuse */
}

int fl_core_rename(struct fl_core *c, uint64_t parent, const char *name, uint64_t newparent,
		   const char *newname, unsigned flags)
{
	struct fl_txn t = {.n = 0};
	struct fl_inode *pip, *npip, *sip, *dip = NULL;
	struct fl_dentry *de, *nde;
	struct fl_dir *pd, *npd, *dd;
	struct timespec ts;
	uint64_t sino, dino = 0;
	uint32_t stype, dtype = 0;
	int ret;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	ret = check_name(newname);
	if (ret)
		return ret;
	lock_core(c);
	ret = dir_for_change(c, parent, &pip, &pd);
	if (ret)
		goto out;
	ret = dir_for_change(c, newparent, &npip, &npd);
	if (ret)
		goto out;
	de = fl_dir_find(pd, name);
	if (!de) {
		ret = -ENOENT;
		goto out;
	}
	sino = de->ino;
	stype = de->type;
	ret = ino_get_entry(c, sino, &sip);
	if (ret)
		goto out;
	nde = fl_dir_find(npd, newname);
	if (nde) {
		dino = nde->ino;
		dtype = nde->type;
		ret = ino_get_entry(c, dino, &dip);
		if (ret)
			goto out;
	}
	if (flags & RENAME_EXCHANGE) {
		if (!nde) {
			ret = -ENOENT;
			goto out;
		}
	} else if (nde && (flags & RENAME_NOREPLACE)) {
		ret = -EEXIST;
		goto out;
	}
	if (nde && dino == sino) {
		ret = 0; /* two names of one inode: nothing to do */
		goto out;
	}
	if (S_ISDIR(stype) && newparent != parent && is_within(c, newparent, sino)) {
		ret = -EINVAL;
		goto out;
	}
	if ((flags & RENAME_EXCHANGE) && S_ISDIR(dtype) && newparent != parent &&
	    is_within(c, parent, dino)) {
		ret = -EINVAL;
		goto out;
	}
	if (nde && !(flags & RENAME_EXCHANGE)) {
		if (S_ISDIR(stype)) {
			if (!S_ISDIR(dtype)) {
				ret = -ENOTDIR;
				goto out;
			}
			ret = dir_get(c, dip, &dd);
			if (ret)
				goto out;
			if (dd->count) {
				ret = -ENOTEMPTY;
				goto out;
			}
		} else if (S_ISDIR(dtype)) {
			ret = -EISDIR;
			goto out;
		}
	}

	now(&ts);
	if (flags & RENAME_EXCHANGE) {
		nde->ino = sino;
		nde->type = stype;
		de->ino = dino;
		de->type = dtype;
		fl_txn_dent(&t, parent, name, dino, dtype);
		fl_txn_dent(&t, newparent, newname, sino, stype);
		if (parent != newparent) {
			if (S_ISDIR(stype) && !S_ISDIR(dtype)) {
				pip->r.nlink--;
				npip->r.nlink++;
				pd->nsubdirs--;
				npd->nsubdirs++;
			} else if (!S_ISDIR(stype) && S_ISDIR(dtype)) {
				pip->r.nlink++;
				npip->r.nlink--;
				pd->nsubdirs++;
				npd->nsubdirs--;
			}
		}
		if (S_ISDIR(stype))
			sip->parent = newparent;
		if (S_ISDIR(dtype))
			dip->parent = parent;
		dip->r.ctime = ts;
		fl_txn_inode(&t, dip);
		fl_ino_ck(c, dip);
	} else {
		if (nde) {
			fl_dir_remove(npd, nde);
			if (S_ISDIR(dtype)) {
				dip->r.nlink = 0;
				npip->r.nlink--;
			} else {
				dip->r.nlink--;
			}
			dip->r.ctime = ts;
			fl_txn_inode(&t, dip);
			unlinked(c, dip, &t);
			fl_ino_ck(c, dip);
		}
		fl_dir_remove(pd, de);
		ret = fl_dir_insert(npd, newname, sino, stype);
		if (ret) {
			fl_err("out of memory in rename: the volume goes read-only");
			c->error = ret;
			goto out;
		}
		fl_txn_undent(&t, parent, name);
		fl_txn_dent(&t, newparent, newname, sino, stype);
		if (S_ISDIR(stype)) {
			sip->parent = newparent;
			if (parent != newparent) {
				pip->r.nlink--;
				npip->r.nlink++;
			}
		}
	}
	sip->r.ctime = ts;
	touch_dir(pip, &ts);
	touch_dir(npip, &ts);
	fl_txn_inode(&t, sip);
	fl_txn_inode(&t, pip);
	if (npip != pip)
		fl_txn_inode(&t, npip);
	fl_dir_ck(c, pip, name);
	fl_dir_ck(c, npip, newname);
	fl_ino_ck(c, sip);
	fl_ino_ck(c, pip);
	fl_ino_ck(c, npip);
	ret = fl_txn_commit(c, &t, NULL);
	if (dip)
		schedule_purge(c, dip);
out:
	unlock_core(c);
	return ret;
}

int fl_core_open(struct fl_core *c, uint64_t ino, int flags)
{
	struct fl_inode *ip;
	int ret;

	lock_core(c);
	ret = fl_ino_get(c, ino, &ip);
	if (ret)
		goto out;
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) {
		ret = writable(c);
		if (ret)
			goto out;
	}
	if (S_ISDIR(ip->r.mode) && (flags & O_ACCMODE) != O_RDONLY) {
		ret = -EISDIR;
		goto out;
	}
	if ((flags & O_TRUNC) && S_ISREG(ip->r.mode) && ip->r.size) {
		/* the kernel hands O_TRUNC to open (atomic_o_trunc) */
		struct fl_txn t = {.n = 0};
		struct timespec ts;

		now(&ts);
		ret = set_size(c, ip, 0, &ts);
		if (ret)
			goto out;
		fl_txn_inode(&t, ip);
		fl_ino_ck(c, ip);
		ret = fl_txn_commit(c, &t, NULL);
		if (ret)
			goto out;
	}
	ip->nopen++;
out:
	unlock_core(c);
	return ret;
}

int fl_core_release(struct fl_core *c, uint64_t ino)
{
	struct fl_inode *ip;
	uint64_t tid = 0;
	int ret = 0;

	lock_core(c);
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
			ip->werr = 0; /* the file is gone, and its errors with it */
		if (ip->nopen == 0 && ip->trim_mark && ip->r.nlink)
			fl_data_touch(c, ip);
		schedule_purge(c, ip);
	}
	(void)tid;
	unlock_core(c);
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
	lock_core(c);
	r = fl_ino_get(c, ino, &ip);
	if (r)
		ret = r;
	else if (S_ISDIR(ip->r.mode))
		ret = -EISDIR;
	else
		ret = fl_data_read_ref(c, ip, off, len, buf, data, ref);
	unlock_core(c);
	return ret;
}

void fl_core_read_put(struct fl_core *c, void *ref)
{
	if (!ref)
		return;
	lock_core(c);
	fl_ra_put(c, ref);
	unlock_core(c);
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

	lock_core(c);
	r = writable(c);
	if (!r)
		r = fl_ino_get(c, ino, &ip);
	if (r)
		ret = r;
	else
		ret = fl_data_write(c, ip, off, buf, len); /* EFBIG past FL_FILE_MAX */
	unlock_core(c);
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

	lock_core(c);
	ip = fl_ino_find(c, ino);
	if (ip) /* an error nobody was told of goes to the next opener, as in Linux */
		s = (uint32_t)(ip->werr && !ip->werr_seen ? ip->werr_seq - 1 : ip->werr_seq);
	unlock_core(c);
	return s;
}

int fl_core_werr_check(struct fl_core *c, uint64_t ino, uint64_t *since)
{
	struct fl_inode *ip;
	int ret = 0;

	lock_core(c);
	ip = fl_ino_find(c, ino);
	if (ip)
		ret = werr_take(ip, since);
	unlock_core(c);
	return ret;
}

int fl_core_fsync(struct fl_core *c, uint64_t ino, bool datasync)
{
	struct fl_inode *ip;
	uint64_t tid = 0;
	int ret;

	lock_core(c);
	if (c->o.ro) {
		unlock_core(c);
		return 0;
	}
	ret = fl_ino_get(c, ino, &ip);
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
	unlock_core(c);
	return ret;
}

uint64_t fl_core_dirty_mem(struct fl_core *c)
{
	uint64_t n;

	lock_core(c);
	n = c->dirty_mem;
	unlock_core(c);
	return n;
}

int fl_core_syncfs(struct fl_core *c)
{
	uint64_t tid = 0;
	int ret, r;

	lock_core(c);
	if (c->o.ro) {
		unlock_core(c);
		return 0;
	}
	ret = fl_data_flush_all(c, &tid);
	if (!ret)
		ret = fl_journal_wait(c, c->next_tid - 1);
	r = werr_unseen(c);
	if (!ret)
		ret = r;
	unlock_core(c);
	return ret;
}

int fl_core_fallocate(struct fl_core *c, uint64_t ino, int mode, uint64_t off, uint64_t len)
{
	struct fl_txn t = {.n = 0};
	struct fl_inode *ip;
	int ret;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;
	if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (off + len < off || off + len > FL_FILE_MAX)
		return -EFBIG;
	lock_core(c);
	ret = writable(c);
	if (ret)
		goto out;
	ret = fl_ino_get(c, ino, &ip);
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
		now(&ip->r.ctime);
		fl_txn_inode(&t, ip);
		fl_ino_ck(c, ip);
		ret = fl_txn_commit(c, &t, NULL);
	}
out:
	unlock_core(c);
	return ret;
}

int fl_core_opendir(struct fl_core *c, uint64_t ino)
{
	struct fl_inode *ip;
	struct fl_dir *d;
	int ret;

	lock_core(c);
	dir_prefetch(c, ino);
	ret = fl_ino_get(c, ino, &ip);
	if (!ret)
		ret = dir_get(c, ip, &d);
	unlock_core(c);
	return ret;
}

int fl_core_readdir(struct fl_core *c, uint64_t ino, uint64_t off, bool plus, fl_dir_cb cb,
		    void *arg)
{
	struct fl_inode *ip, *eip;
	struct fl_dir *d;
	struct stat st;
	size_t i;
	int ret;

	lock_core(c);
	dir_prefetch(c, ino);
	ret = fl_ino_get(c, ino, &ip);
	if (ret)
		goto out;
	ret = dir_get(c, ip, &d);
	if (ret)
		goto out;
	if (off < 1) {
		fl_fill_stat(c, ip, &st);
		if (cb(arg, ".", &st, 1))
			goto out;
		off = 1;
	}
	if (off < 2) {
		struct fl_inode *pip = fl_ino_find(c, ip->parent ? ip->parent : FL_ROOT_INO);

		memset(&st, 0, sizeof(st));
		if (pip)
			fl_fill_stat(c, pip, &st);
		else
			st.st_ino = ip->parent, st.st_mode = S_IFDIR;
		if (cb(arg, "..", &st, 2))
			goto out;
		off = 2;
	}
	if (ip->r.nlink == 0)
		goto out;
	for (i = dir_seek(d, off); i < d->norder; i++) {
		struct fl_dentry *de = d->order[i];

		if (!de)
			continue;
		memset(&st, 0, sizeof(st));
		st.st_ino = de->ino ? de->ino : FL_BAD_INO;
		st.st_mode = de->type;
		if (plus && de->ino) {
			ret = ino_get_entry(c, de->ino, &eip);
			if (ret)
				goto out;
			/* the load may have changed d->order: find our place again */
			if (d->order[i] != de) {
				i = dir_seek(d, de->cookie - 1);
				continue;
			}
			fl_fill_stat(c, eip, &st);
			if (S_ISDIR(eip->r.mode))
				eip->parent = ino;
		}
		if (cb(arg, de->name, &st, de->cookie))
			break;
		if (plus && de->ino)
			eip->nlookup++;
	}
out:
	unlock_core(c);
	return ret;
}

int fl_core_statfs(struct fl_core *c, struct statvfs *sv)
{
	uint64_t lim, used;

	lock_core(c);
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
	unlock_core(c);
	return 0;
}

/* ---------- xattrs ---------- */

static int xattr_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > FL_XATTR_NAME_MAX)
		return n ? -ERANGE : -EINVAL;
	if (!strncmp(name, "user.", 5) || !strncmp(name, "trusted.", 8) ||
	    !strncmp(name, "security.", 9))
		return 0;
	return -EOPNOTSUPP;
}

static struct fl_xattr *xattr_find(struct fl_inode *ip, const char *name)
{
	uint32_t i;

	for (i = 0; i < ip->r.nxattrs; i++)
		if (!strcmp(ip->r.xattrs[i].name, name))
			return &ip->r.xattrs[i];
	return NULL;
}

static size_t xattr_bytes(const struct fl_inode *ip)
{
	size_t n = 0;
	uint32_t i;

	for (i = 0; i < ip->r.nxattrs; i++)
		n += strlen(ip->r.xattrs[i].name) + ip->r.xattrs[i].vlen;
	return n;
}

int fl_core_setxattr(struct fl_core *c, uint64_t ino, const char *name, const void *val, size_t len,
		     int flags)
{
	struct fl_txn t = {.n = 0};
	struct fl_inode *ip;
	struct fl_xattr *x;
	void *copy = NULL;
	int ret = xattr_name_ok(name);

	if (ret)
		return ret;
	if (len > FL_XATTR_VAL_MAX)
		return -E2BIG;
	lock_core(c);
	ret = writable(c);
	if (ret)
		goto out;
	ret = fl_ino_get(c, ino, &ip);
	if (ret)
		goto out;
	x = xattr_find(ip, name);
	if (x && (flags & XATTR_CREATE)) {
		ret = -EEXIST;
		goto out;
	}
	if (!x && (flags & XATTR_REPLACE)) {
		ret = -ENODATA;
		goto out;
	}
	if (xattr_bytes(ip) + len + strlen(name) - (x ? x->vlen + strlen(name) : 0) >
		    FL_XATTRS_BYTES ||
	    (!x && ip->r.nxattrs >= FL_XATTRS_MAX)) {
		ret = -ENOSPC;
		goto out;
	}
	if (len) {
		copy = malloc(len);
		if (!copy) {
			ret = -ENOMEM;
			goto out;
		}
		memcpy(copy, val, len);
	}
	if (!x) {
		struct fl_xattr *n = realloc(ip->r.xattrs, (ip->r.nxattrs + 1) * sizeof(*n));
		char *nm = strdup(name);

		if (!n || !nm) {
			if (n)
				ip->r.xattrs = n;
			free(nm);
			free(copy);
			ret = -ENOMEM;
			goto out;
		}
		ip->r.xattrs = n;
		x = &n[ip->r.nxattrs++];
		x->name = nm;
		x->value = NULL;
	}
	free(x->value);
	x->value = copy;
	x->vlen = (uint32_t)len;
	now(&ip->r.ctime);
	fl_txn_inode(&t, ip);
	fl_ino_ck(c, ip);
	ret = fl_txn_commit(c, &t, NULL);
out:
	unlock_core(c);
	return ret;
}

ssize_t fl_core_getxattr(struct fl_core *c, uint64_t ino, const char *name, void *buf, size_t len)
{
	struct fl_inode *ip;
	struct fl_xattr *x;
	ssize_t ret;
	int r = xattr_name_ok(name);

	if (r)
		return r == -EOPNOTSUPP ? -ENODATA : r;
	lock_core(c);
	r = fl_ino_get(c, ino, &ip);
	if (r) {
		ret = r;
		goto out;
	}
	x = xattr_find(ip, name);
	if (!x) {
		ret = -ENODATA;
		goto out;
	}
	ret = x->vlen;
	if (len) {
		if (len < x->vlen)
			ret = -ERANGE;
		else if (x->vlen)
			memcpy(buf, x->value, x->vlen);
	}
out:
	unlock_core(c);
	return ret;
}

ssize_t fl_core_listxattr(struct fl_core *c, uint64_t ino, char *buf, size_t len)
{
	struct fl_inode *ip;
	size_t need = 0;
	ssize_t ret;
	uint32_t i;
	int r;

	lock_core(c);
	r = fl_ino_get(c, ino, &ip);
	if (r) {
		ret = r;
		goto out;
	}
	for (i = 0; i < ip->r.nxattrs; i++)
		need += strlen(ip->r.xattrs[i].name) + 1;
	ret = (ssize_t)need;
	if (len) {
		char *p = buf;

		if (len < need) {
			ret = -ERANGE;
			goto out;
		}
		for (i = 0; i < ip->r.nxattrs; i++) {
			size_t n = strlen(ip->r.xattrs[i].name) + 1;

			memcpy(p, ip->r.xattrs[i].name, n);
			p += n;
		}
	}
out:
	unlock_core(c);
	return ret;
}

int fl_core_removexattr(struct fl_core *c, uint64_t ino, const char *name)
{
	struct fl_txn t = {.n = 0};
	struct fl_inode *ip;
	struct fl_xattr *x;
	int ret = xattr_name_ok(name);

	if (ret)
		return ret == -EOPNOTSUPP ? -ENODATA : ret;
	lock_core(c);
	ret = writable(c);
	if (ret)
		goto out;
	ret = fl_ino_get(c, ino, &ip);
	if (ret)
		goto out;
	x = xattr_find(ip, name);
	if (!x) {
		ret = -ENODATA;
		goto out;
	}
	free(x->name);
	free(x->value);
	*x = ip->r.xattrs[--ip->r.nxattrs];
	now(&ip->r.ctime);
	fl_txn_inode(&t, ip);
	fl_ino_ck(c, ip);
	ret = fl_txn_commit(c, &t, NULL);
out:
	unlock_core(c);
	return ret;
}

bool fl_core_want_direct_io(struct fl_core *c)
{
	uint64_t lim = c->v->super.size_limit;
	bool near;

	lock_core(c);
	near = lim && c->used_bytes + c->o.dirty_max + (64u << 20) > lim;
	unlock_core(c);
	return near;
}

double fl_core_attr_timeout(struct fl_core *c)
{
	return c->o.ro ? 1.0 : 86400.0;
}

int fl_core_error(struct fl_core *c)
{
	int e;

	lock_core(c);
	e = c->error;
	unlock_core(c);
	return e;
}

void fl_core_usage(struct fl_core *c, uint64_t *used, uint64_t *inodes)
{
	lock_core(c);
	*used = c->used_bytes;
	*inodes = c->inodes;
	unlock_core(c);
}

void fl_core_set_error(struct fl_core *c, int err)
{
	lock_core(c);
	if (!c->error)
		c->error = err;
	pthread_cond_broadcast(&c->cond);
	unlock_core(c);
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
			inode_free(ip);
		}
	}
	fl_overlay_free(c);
	free(c->itab);
	free(c->shard_loaded);
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
	if (!c->o.dirty_max)
		c->o.dirty_max = 64u << 20;
	if (!c->o.ra_objects)
		c->o.ra_objects = 4;
	else if (c->o.ra_objects == FL_RA_OFF)
		c->o.ra_objects = 0;
	if (!c->o.ra_max)
		c->o.ra_max = 64u << 20;
	if (!c->o.ra_window)
		c->o.ra_window = 16u << 20;
	if (!c->o.commit_ms)
		c->o.commit_ms = 1000;
	if (!c->o.checkpoint_s)
		c->o.checkpoint_s = 30;
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
	lock_core(c);
	ret = fl_ino_get(c, FL_ROOT_INO, &root);
	if (!ret) {
		struct fl_dir *d;

		root->nlookup = 1; /* the kernel's reference to the root, never forgotten */
		root->parent = FL_ROOT_INO;
		ret = dir_get(c, root, &d);
	}
	/* Inodes on the orphan list: a crash may have left data past their
	 * size.  Marked before any request can reach them, then trimmed all
	 * at once (trim_listed); the commit thread purges them. */
	for (i = 0; !ret && i < c->npurge; i++) {
		uint64_t ino = c->purge[i] & ~FL_PURGE_SCAN;
		struct fl_inode *ip;
		int r = fl_ino_get(c, ino, &ip);

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
		trim_listed(c); /* no other thread runs yet */
	unlock_core(c);
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
	lock_core(c);
	c->abandon = true;
	unlock_core(c);
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
		lock_core(c);
		ret = fl_data_flush_all(c, &tid);
		if (!ret)
			ret = fl_journal_wait(c, c->next_tid - 1);
		unlock_core(c);
	}
	fl_data_stop(c);
	fl_journal_stop(c); /* purges orphans and checkpoints */
	if (!ret)
		ret = c->error;
	core_free(c);
	return ret;
}
