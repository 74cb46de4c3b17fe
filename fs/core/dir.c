/*
 * flockerfs — directories: the hashed entry table, loading a directory
 * from its object (with the journal overlay), and opendir/readdir.
 */
#include "fs/core/core_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "flocker/log.h"

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

int fl_dir_entry(struct fl_core *c, struct fl_dir *d, const char *name, struct fl_dentry **de,
		 struct fl_inode **ip)
{
	*de = fl_dir_find(d, name);
	if (!*de)
		return -ENOENT;
	return fl_ino_get_entry(c, (*de)->ino, ip);
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

/* Reads directory ino's entries into a new fl_dir, without the core lock. */
static int dir_read(struct fl_core *c, uint64_t ino, struct fl_dir **out)
{
	struct dir_load dl = {NULL, 0, ino};
	char oid[FL_OID_LEN];
	bool more;
	int ret;

	*out = NULL;
	dl.d = fl_dir_new();
	if (!dl.d)
		return -ENOMEM;
	fl_oid_dir(oid, ino);
	ret = c->st->ops->omap_list(c->st, oid, NULL, UINT32_MAX, dir_load_cb, &dl, &more);
	if (ret == 1)
		ret = dl.err;
	if (ret && ret != -ENOENT) {
		fl_dir_free(dl.d);
		return ret;
	}
	*out = dl.d;
	return ret;
}

/*
 * Installs d, read without the lock (ret: what the read returned, 0 or
 * -ENOENT), as ino's directory, if it is still wanted: a directory not
 * loaded has no change in memory (every change loads it first, and a loaded
 * one stays), so what was read is all of it.  Takes d over.
 */
static int dir_install(struct fl_core *c, uint64_t ino, struct fl_dir *d, int ret)
{
	struct fl_inode *ip = fl_ino_find(c, ino);

	if (!ip || ip->dir || ip->deleted || !S_ISDIR(ip->r.mode)) {
		fl_dir_free(d);
		return 0; /* another thread loaded it, or it went */
	}
	if (ret == -ENOENT && c->overlay && overlay_has(c, ino))
		ret = 0; /* made since the checkpoint: its object comes with the next one */
	if (ret == -ENOENT && ip->r.nlink > 0) {
		char oid[FL_OID_LEN];

		fl_oid_dir(oid, ino);
		fl_err("directory object %s is missing", oid);
		ret = -EIO;
	} else {
		ret = 0;
	}
	if (!ret && c->overlay)
		ret = fl_overlay_dir(c, ino, d);
	if (ret) {
		fl_dir_free(d);
		return ret;
	}
	ip->dir = d;
	return 0;
}

int fl_dir_get(struct fl_core *c, struct fl_inode *ip, struct fl_dir **out)
{
	uint64_t ino = ip->r.ino;
	struct fl_dir *d;
	int ret;

	if (!S_ISDIR(ip->r.mode))
		return -ENOTDIR;
	if (ip->dir) {
		*out = ip->dir;
		return 0;
	}
	fl_core_unlock(c);
	ret = dir_read(c, ino, &d);
	fl_core_lock(c);
	if (d)
		ret = dir_install(c, ino, d, ret);
	return ret ? ret : FL_RESTART;
}

/*
 * Loads directory ino's entries (if not loaded yet) without the core lock
 * held while RADOS answers: a directory of n entries takes n / 1024 omap
 * pages.  For operations that start with a directory and hold nothing else
 * (lookup, opendir, readdir); the caller gets its inode again after.  Two
 * threads may load the same directory: the first installs it, the second's
 * copy goes.  On any failure it leaves the load to fl_dir_get.
 */
void fl_dir_prefetch(struct fl_core *c, uint64_t ino)
{
	struct fl_inode *ip = fl_ino_find(c, ino);
	struct fl_dir *d;
	int ret;

	if (!ip || ip->dir || !S_ISDIR(ip->r.mode))
		return;
	fl_core_unlock(c);
	ret = dir_read(c, ino, &d);
	fl_core_lock(c);
	if (d && ret == 0)
		dir_install(c, ino, d, ret);
	else
		fl_dir_free(d);
}

/* Under c->lock: directory ino, read ahead and loaded (begun again on
 * FL_RESTART): 0 with *ip and *d, or a negative errno. */
static int dir_load(struct fl_core *c, uint64_t ino, struct fl_inode **ip, struct fl_dir **d)
{
	int ret;

	fl_dir_prefetch(c, ino);
	do {
		ret = fl_ino_get(c, ino, ip);
		if (!ret)
			ret = fl_dir_get(c, *ip, d);
	} while (ret == FL_RESTART);
	return ret;
}

int fl_core_opendir(struct fl_core *c, uint64_t ino)
{
	struct fl_inode *ip;
	struct fl_dir *d;
	int ret;

	fl_core_lock(c);
	ret = dir_load(c, ino, &ip, &d);
	fl_core_unlock(c);
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

	fl_core_lock(c);
	ret = dir_load(c, ino, &ip, &d);
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
			uint64_t cookie = de->cookie;

			ret = fl_ino_get_entry(c, de->ino, &eip);
			if (ret == FL_RESTART) {
				/* a shard load let go of the lock: the directory may have
				 * changed (de freed, d->order compacted).  This entry again
				 * if it is still there, else the one after it. */
				ip = fl_ino_find(c, ino);
				ret = 0;
				if (!ip || !ip->dir)
					goto out;
				d = ip->dir;
				i = dir_seek(d, cookie - 1) - 1; /* the loop's i++ lands on it */
				continue;
			}
			if (ret)
				goto out;
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
	fl_core_unlock(c);
	return ret;
}
