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
	ret = dir_for_change(c, parent, &dip, &d);
	if (ret)
		return ret;
	if (fl_dir_find(d, name))
		return -EEXIST;
	ip = fl_inode_new(c, mode, cr, dip, &ret);
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
	fl_core_unlock(c);
	return ret;
}

ssize_t fl_core_readlink(struct fl_core *c, uint64_t ino, char *buf, size_t len)
{
	struct fl_inode *ip;
	ssize_t ret;
	int r;

	fl_core_lock(c);
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
	ret = dir_for_change(c, parent, &dip, &d);
	if (ret)
		goto out;
	de = fl_dir_find(d, name);
	if (!de) {
		ret = -ENOENT;
		goto out;
	}
	ret = fl_ino_get_entry(c, de->ino, &ip);
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
	fl_core_lock(c);
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
	ret = fl_ino_get_entry(c, sino, &sip);
	if (ret)
		goto out;
	nde = fl_dir_find(npd, newname);
	if (nde) {
		dino = nde->ino;
		dtype = nde->type;
		ret = fl_ino_get_entry(c, dino, &dip);
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
			ret = fl_dir_get(c, dip, &dd);
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

	fl_now_real(&ts);
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
			fl_unlinked(c, dip, &t);
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
		fl_purge_schedule(c, dip);
out:
	fl_core_unlock(c);
	return ret;
}
