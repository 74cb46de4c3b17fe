/*
 * flockerfs — the operations that change names: mknod, mkdir, symlink,
 * create, link, readlink, unlink, rmdir and rename.
 *
 * Each runs under core->lock and records its change as one journal
 * transaction before it returns.
 */
#include "fs/core/core_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flocker/log.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

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

/* Loads a directory for a change: returns the inode and its dir. */
static int dir_for_change(struct fl_core *c, uint64_t ino, struct fl_inode **ipp,
			  struct fl_dir **dp)
{
	int ret = fl_core_writable(c);

	if (ret)
		return ret;
	ret = fl_ino_get(c, ino, ipp);
	if (ret)
		return ret;
	ret = fl_dir_get(c, *ipp, dp);
	if (ret)
		return ret;
	if ((*ipp)->r.nlink == 0)
		return -ENOENT; /* removed directory, still someone's cwd */
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
again:
	ret = dir_for_change(c, parent, &dip, &d);
	if (ret == FL_RESTART)
		goto again;
	if (ret)
		return ret;
	if (fl_dir_find(d, name))
		return -EEXIST;
	ip = fl_inode_new(c, mode, cr, dip, &ret);
	if (!ip && ret == FL_RESTART)
		goto again;
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
	fl_itab_remove(c, ip);
	c->inodes--;
	fl_inode_free(ip);
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
	fl_core_lock(c);
	ret = make_node(c, parent, name, mode, rdev, NULL, cr, st, NULL);
	fl_core_unlock(c);
	return ret;
}

int fl_core_mkdir(struct fl_core *c, uint64_t parent, const char *name, mode_t mode,
		  const struct fl_cred *cr, struct stat *st)
{
	int ret;

	fl_core_lock(c);
	ret = make_node(c, parent, name, S_IFDIR | (mode & 07777), 0, NULL, cr, st, NULL);
	fl_core_unlock(c);
	return ret;
}

int fl_core_symlink(struct fl_core *c, uint64_t parent, const char *name, const char *target,
		    const struct fl_cred *cr, struct stat *st)
{
	int ret;

	if (strlen(target) > FL_SYMLINK_MAX)
		return -ENAMETOOLONG;
	fl_core_lock(c);
	ret = make_node(c, parent, name, S_IFLNK | 0777, 0, target, cr, st, NULL);
	fl_core_unlock(c);
	return ret;
}

int fl_core_create(struct fl_core *c, uint64_t parent, const char *name, mode_t mode, int flags,
		   const struct fl_cred *cr, struct stat *st)
{
	struct fl_inode *ip;
	int ret;

	fl_core_lock(c);
	ret = make_node(c, parent, name, S_IFREG | (mode & 07777), 0, NULL, cr, st, &ip);
	if (!ret)
		ip->nopen++;
	fl_core_unlock(c);
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
	fl_core_lock(c);
again:
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
	fl_now_real(&ts);
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
	if (ret == FL_RESTART)
		goto again;
	fl_core_unlock(c);
	return ret;
}

ssize_t fl_core_readlink(struct fl_core *c, uint64_t ino, char *buf, size_t len)
{
	struct fl_inode *ip;
	ssize_t ret;

	fl_core_lock(c);
	ret = fl_ino_load(c, ino, false, &ip);
	if (ret)
		goto out;
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
	fl_core_unlock(c);
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
	fl_core_lock(c);
again:
	ret = dir_for_change(c, parent, &dip, &d);
	if (ret)
		goto out;
	ret = fl_dir_entry(c, d, name, &de, &ip);
	if (ret)
		goto out;
	if (isdir) {
		if (!S_ISDIR(ip->r.mode)) {
			ret = -ENOTDIR;
			goto out;
		}
		ret = fl_dir_get(c, ip, &sd);
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
	fl_now_real(&ts);
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
	fl_unlinked(c, ip, &t);
	fl_ino_ck(c, dip);
	fl_ino_ck(c, ip);
	ret = fl_txn_commit(c, &t, NULL);
	fl_purge_schedule(c, ip);
out:
	if (ret == FL_RESTART)
		goto again;
	fl_core_unlock(c);
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

/* The two names of a rename, what they hold and their directories. */
struct rename_op {
	uint64_t parent, newparent;
	const char *name, *newname;
	unsigned flags;
	struct fl_inode *pip, *npip, *sip, *dip; /* dip: the target, if any */
	struct fl_dentry *de, *nde;
	struct fl_dir *pd, *npd;
	uint64_t sino, dino;
	uint32_t stype, dtype;
};

/* Finds both names and checks that the rename may go ahead: 0, 1 when
 * there is nothing to do (two names of one inode), or a negative errno. */
static int rename_check(struct fl_core *c, struct rename_op *r)
{
	struct fl_dir *dd;
	int ret;

	/* a start over (FL_RESTART) finds everything again */
	r->dip = NULL;
	r->nde = NULL;
	r->dino = 0;
	r->dtype = 0;
	ret = dir_for_change(c, r->parent, &r->pip, &r->pd);
	if (ret)
		return ret;
	ret = dir_for_change(c, r->newparent, &r->npip, &r->npd);
	if (ret)
		return ret;
	ret = fl_dir_entry(c, r->pd, r->name, &r->de, &r->sip);
	if (ret)
		return ret;
	r->sino = r->de->ino;
	r->stype = r->de->type;
	r->nde = fl_dir_find(r->npd, r->newname);
	if (r->nde) {
		r->dino = r->nde->ino;
		r->dtype = r->nde->type;
		ret = fl_ino_get_entry(c, r->dino, &r->dip);
		if (ret)
			return ret;
	}
	if (r->flags & RENAME_EXCHANGE) {
		if (!r->nde)
			return -ENOENT;
	} else if (r->nde && (r->flags & RENAME_NOREPLACE)) {
		return -EEXIST;
	}
	if (r->nde && r->dino == r->sino)
		return 1; /* two names of one inode: nothing to do */
	if (S_ISDIR(r->stype) && r->newparent != r->parent && is_within(c, r->newparent, r->sino))
		return -EINVAL;
	if ((r->flags & RENAME_EXCHANGE) && S_ISDIR(r->dtype) && r->newparent != r->parent &&
	    is_within(c, r->parent, r->dino))
		return -EINVAL;
	if (r->nde && !(r->flags & RENAME_EXCHANGE)) {
		if (S_ISDIR(r->stype)) {
			if (!S_ISDIR(r->dtype))
				return -ENOTDIR;
			ret = fl_dir_get(c, r->dip, &dd);
			if (ret)
				return ret;
			if (dd->count)
				return -ENOTEMPTY;
		} else if (S_ISDIR(r->dtype)) {
			return -EISDIR;
		}
	}
	return 0;
}

/* RENAME_EXCHANGE: the two entries swap their inodes. */
static void rename_exchange(struct fl_core *c, struct rename_op *r, struct fl_txn *t,
			    const struct timespec *ts)
{
	r->nde->ino = r->sino;
	r->nde->type = r->stype;
	r->de->ino = r->dino;
	r->de->type = r->dtype;
	fl_txn_dent(t, r->parent, r->name, r->dino, r->dtype);
	fl_txn_dent(t, r->newparent, r->newname, r->sino, r->stype);
	if (r->parent != r->newparent) {
		if (S_ISDIR(r->stype) && !S_ISDIR(r->dtype)) {
			r->pip->r.nlink--;
			r->npip->r.nlink++;
			r->pd->nsubdirs--;
			r->npd->nsubdirs++;
		} else if (!S_ISDIR(r->stype) && S_ISDIR(r->dtype)) {
			r->pip->r.nlink++;
			r->npip->r.nlink--;
			r->pd->nsubdirs++;
			r->npd->nsubdirs--;
		}
	}
	if (S_ISDIR(r->stype))
		r->sip->parent = r->newparent;
	if (S_ISDIR(r->dtype))
		r->dip->parent = r->parent;
	r->dip->r.ctime = *ts;
	fl_txn_inode(t, r->dip);
	fl_ino_ck(c, r->dip);
}

/* A plain rename: the target, if any, loses its name; the source moves. */
static int rename_move(struct fl_core *c, struct rename_op *r, struct fl_txn *t,
		       const struct timespec *ts)
{
	int ret;

	if (r->nde) {
		fl_dir_remove(r->npd, r->nde);
		if (S_ISDIR(r->dtype)) {
			r->dip->r.nlink = 0;
			r->npip->r.nlink--;
		} else {
			r->dip->r.nlink--;
		}
		r->dip->r.ctime = *ts;
		fl_txn_inode(t, r->dip);
		fl_unlinked(c, r->dip, t);
		fl_ino_ck(c, r->dip);
	}
	fl_dir_remove(r->pd, r->de);
	ret = fl_dir_insert(r->npd, r->newname, r->sino, r->stype);
	if (ret) {
		fl_err("out of memory in rename: the volume goes read-only");
		c->error = ret;
		return ret;
	}
	fl_txn_undent(t, r->parent, r->name);
	fl_txn_dent(t, r->newparent, r->newname, r->sino, r->stype);
	if (S_ISDIR(r->stype)) {
		r->sip->parent = r->newparent;
		if (r->parent != r->newparent) {
			r->pip->r.nlink--;
			r->npip->r.nlink++;
		}
	}
	return 0;
}

int fl_core_rename(struct fl_core *c, uint64_t parent, const char *name, uint64_t newparent,
		   const char *newname, unsigned flags)
{
	struct rename_op r = {.parent = parent,
			      .newparent = newparent,
			      .name = name,
			      .newname = newname,
			      .flags = flags};
	struct fl_txn t = {.n = 0};
	struct timespec ts;
	int ret;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	ret = check_name(newname);
	if (ret)
		return ret;
	fl_core_lock(c);
	do
		ret = rename_check(c, &r);
	while (ret == FL_RESTART);
	if (ret) {
		ret = ret == 1 ? 0 : ret;
		goto out;
	}

	fl_now_real(&ts);
	if (flags & RENAME_EXCHANGE) {
		rename_exchange(c, &r, &t, &ts);
	} else {
		ret = rename_move(c, &r, &t, &ts);
		if (ret)
			goto out;
	}
	r.sip->r.ctime = ts;
	touch_dir(r.pip, &ts);
	touch_dir(r.npip, &ts);
	fl_txn_inode(&t, r.sip);
	fl_txn_inode(&t, r.pip);
	if (r.npip != r.pip)
		fl_txn_inode(&t, r.npip);
	fl_dir_ck(c, r.pip, name);
	fl_dir_ck(c, r.npip, newname);
	fl_ino_ck(c, r.sip);
	fl_ino_ck(c, r.pip);
	fl_ino_ck(c, r.npip);
	ret = fl_txn_commit(c, &t, NULL);
	if (r.dip)
		fl_purge_schedule(c, r.dip);
out:
	fl_core_unlock(c);
	return ret;
}
