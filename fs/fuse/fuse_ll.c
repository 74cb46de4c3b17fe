/*
 * flockerfs — the FUSE low-level adapter: turns kernel requests into core
 * calls and core errnos into replies.  Nothing here knows about RADOS.
 */
#define FUSE_USE_VERSION 314
#include "fs/fuse/fuse_ll.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "flocker/log.h"
#include "fs/fuse/mount_metrics.h"

static struct fl_core *core_of(fuse_req_t req)
{
	return ((struct fl_fuse *)fuse_req_userdata(req))->core;
}

static void fill_entry(struct fl_core *c, struct fuse_entry_param *e, const struct stat *st)
{
	double t = fl_core_attr_timeout(c);

	memset(e, 0, sizeof(*e));
	e->ino = st->st_ino;
	e->generation = 1;
	e->attr = *st;
	e->attr_timeout = t;
	e->entry_timeout = t;
}

static void reply_entry(fuse_req_t req, int ret, const struct stat *st)
{
	struct fuse_entry_param e;

	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	fill_entry(core_of(req), &e, st);
	fuse_reply_entry(req, &e);
}

static void cred_of(fuse_req_t req, struct fl_cred *cr)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	cr->uid = ctx->uid;
	cr->gid = ctx->gid;
}

/*
 * No lseek handler on purpose: with the writeback cache the kernel knows a
 * file's size before we do, and its generic SEEK_DATA/SEEK_HOLE (the whole
 * file is data) is right where ours could answer ENXIO for cached data.
 */
/* No flush handler either: the kernel then stops sending FLUSH at every close
 * (with the writeback cache it writes dirty pages back before that anyway). */
static void ll_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fl_fuse *f = userdata;

	conn->max_write = 1u << 20;
	/* The kernel sets the mount's readahead to the smaller of this and what
	 * read_ahead_kb says when the reply arrives (mount.flockerfs wrote it
	 * before serving INIT): answering less would cut it. */
	conn->max_readahead = f->readahead ? f->readahead : 4u << 20;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	conn->time_gran = 1;
	if (!f->ro && f->writeback && (conn->capable & FUSE_CAP_WRITEBACK_CACHE))
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	if (conn->capable & FUSE_CAP_ASYNC_DIO)
		conn->want |= FUSE_CAP_ASYNC_DIO;
	/* no getlk/setlk/flock: the kernel keeps locks itself, right for one writer host */
	conn->want &= ~(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
	conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
	/* the kernel applies the umask; setuid/setgid bits are cleared by the kernel too */
	conn->want &= ~FUSE_CAP_DONT_MASK;
}

static void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct stat st;
	int ret = fl_core_lookup(core_of(req), parent, name, &st);

	if (ret == -ENOENT) {
		/* a negative entry the kernel may cache until something is created */
		struct fuse_entry_param e;

		memset(&e, 0, sizeof(e));
		e.entry_timeout = fl_core_attr_timeout(core_of(req));
		fuse_reply_entry(req, &e);
		return;
	}
	reply_entry(req, ret, &st);
}

static void ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fl_core_forget(core_of(req), ino, nlookup);
	fuse_reply_none(req);
}

static void ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	size_t i;

	for (i = 0; i < count; i++)
		fl_core_forget(core_of(req), forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

/* The reply to getattr and setattr: the error of ret, else st. */
static void reply_attr(fuse_req_t req, int ret, const struct stat *st)
{
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_attr(req, st, fl_core_attr_timeout(core_of(req)));
}

static void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	reply_attr(req, fl_core_getattr(core_of(req), ino, &st), &st);
}

/* FUSE_SET_ATTR_* and the core's FL_SET_* for each */
static const int set_attr_bits[][2] = {{FUSE_SET_ATTR_MODE, FL_SET_MODE},
				       {FUSE_SET_ATTR_UID, FL_SET_UID},
				       {FUSE_SET_ATTR_GID, FL_SET_GID},
				       {FUSE_SET_ATTR_SIZE, FL_SET_SIZE},
				       {FUSE_SET_ATTR_ATIME, FL_SET_ATIME},
				       {FUSE_SET_ATTR_MTIME, FL_SET_MTIME},
				       {FUSE_SET_ATTR_ATIME_NOW, FL_SET_ATIME_NOW},
				       {FUSE_SET_ATTR_MTIME_NOW, FL_SET_MTIME_NOW},
				       {FUSE_SET_ATTR_CTIME, FL_SET_CTIME}};

static void ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct stat st;
	int mask = 0;
	size_t i;

	(void)fi;
	for (i = 0; i < sizeof(set_attr_bits) / sizeof(set_attr_bits[0]); i++)
		if (to_set & set_attr_bits[i][0])
			mask |= set_attr_bits[i][1];
	reply_attr(req, fl_core_setattr(core_of(req), ino, attr, mask, &st), &st);
}

static void ll_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[FL_SYMLINK_MAX + 1];
	ssize_t n = fl_core_readlink(core_of(req), ino, buf, sizeof(buf));

	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_readlink(req, buf);
}

static void ll_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct fl_cred cr;
	struct stat st;

	cred_of(req, &cr);
	reply_entry(req, fl_core_mknod(core_of(req), parent, name, mode, rdev, &cr, &st), &st);
}

static void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fl_cred cr;
	struct stat st;

	cred_of(req, &cr);
	reply_entry(req, fl_core_mkdir(core_of(req), parent, name, mode, &cr, &st), &st);
}

static void ll_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct fl_cred cr;
	struct stat st;

	cred_of(req, &cr);
	reply_entry(req, fl_core_symlink(core_of(req), parent, name, link, &cr, &st), &st);
}

static void ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct stat st;

	reply_entry(req, fl_core_link(core_of(req), ino, newparent, newname, &st), &st);
}

static void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, -fl_core_unlink(core_of(req), parent, name));
}

static void ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, -fl_core_rmdir(core_of(req), parent, name));
}

static void ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	fuse_reply_err(req, -fl_core_rename(core_of(req), parent, name, newparent, newname, flags));
}

static void set_open_flags(fuse_req_t req, struct fuse_file_info *fi)
{
	struct fl_fuse *f = fuse_req_userdata(req);

	fi->keep_cache = !f->ro;
	if (!f->ro && (fi->flags & O_ACCMODE) != O_RDONLY && fl_core_want_direct_io(f->core))
		fi->direct_io = 1; /* near the size limit: ENOSPC must reach write(2) */
}

/* An open file's handle (fi->fh): the write-back error sequence it saw last,
 * so that each open file is told of an error once (fl_core_werr_check). */
struct fl_fh {
	uint64_t werr_seen;
};

static struct fl_fh *fh_of(const struct fuse_file_info *fi)
{
	return (struct fl_fh *)(uintptr_t)fi->fh;
}

/* Gives fi its handle; false (and the open undone) when out of memory. */
static bool fh_new(struct fl_core *c, uint64_t ino, struct fuse_file_info *fi)
{
	struct fl_fh *h = malloc(sizeof(*h));

	if (!h) {
		fl_core_release(c, ino);
		return false;
	}
	h->werr_seen = fl_core_werr_sample(c, ino);
	fi->fh = (uintptr_t)h;
	return true;
}

static void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int ret = fl_core_open(core_of(req), ino, fi->flags);

	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	if (!fh_new(core_of(req), ino, fi)) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	set_open_flags(req, fi);
	if (fuse_reply_open(req, fi) == -ENOENT) {
		free(fh_of(fi));
		fl_core_release(core_of(req), ino); /* the opener was interrupted */
	}
}

static void ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	struct fl_cred cr;
	struct stat st;
	int ret;

	cred_of(req, &cr);
	ret = fl_core_create(core_of(req), parent, name, mode, fi->flags, &cr, &st);
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	fill_entry(core_of(req), &e, &st);
	if (!fh_new(core_of(req), st.st_ino, fi)) {
		fl_core_forget(core_of(req), st.st_ino, 1);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	set_open_flags(req, fi);
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		free(fh_of(fi));
		fl_core_release(core_of(req), st.st_ino);
	}
}

static void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fl_core *c = core_of(req); /* req is gone once answered */
	char *buf = malloc(size ? size : 1);
	const void *data;
	void *ref;
	ssize_t n;

	(void)fi;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* a sequential reader's request is answered straight from the object
	 * read ahead: one copy less */
	n = fl_core_read_ref(c, ino, (uint64_t)off, size, buf, &data, &ref);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, data, (size_t)n);
	if (n > 0)
		fl_mm_read_bytes((uint64_t)n);
	fl_core_read_put(c, ref);
	free(buf);
}

static void ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	ssize_t n;

	(void)fi;
	n = fl_core_write(core_of(req), ino, (uint64_t)off, buf, size);
	if (n > 0)
		fl_mm_write_bytes((uint64_t)n);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	free(fh_of(fi));
	fuse_reply_err(req, -fl_core_release(core_of(req), ino));
}

static void ll_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct fl_core *c = core_of(req);
	int ret = fl_core_fsync(c, ino, datasync);
	int r = fh_of(fi) ? fl_core_werr_check(c, ino, &fh_of(fi)->werr_seen) : 0;

	fuse_reply_err(req, ret ? -ret : -r);
}

static void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int ret = fl_core_opendir(core_of(req), ino);

	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	fi->cache_readdir = 0;
	fi->keep_cache = 0;
	fuse_reply_open(req, fi);
}

struct dirbuf {
	fuse_req_t req;
	char *buf;
	size_t size, used;
	bool plus;
};

static int dir_fill(void *arg, const char *name, const struct stat *st, uint64_t next)
{
	struct dirbuf *db = arg;
	size_t n;

	if (db->plus) {
		struct fuse_entry_param e;

		fill_entry(core_of(db->req), &e, st);
		if (!strcmp(name, ".") || !strcmp(name, "..") || st->st_mode == 0)
			e.ino = 0; /* no lookup reference for these (nor for corrupt entries) */
		n = fuse_add_direntry_plus(db->req, db->buf + db->used, db->size - db->used, name,
					   &e, (off_t)next);
	} else {
		n = fuse_add_direntry(db->req, db->buf + db->used, db->size - db->used, name, st,
				      (off_t)next);
	}
	if (n > db->size - db->used)
		return 1;
	db->used += n;
	return 0;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
	struct dirbuf db = {req, malloc(size ? size : 1), size, 0, plus};
	int ret;

	if (!db.buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ret = fl_core_readdir(core_of(req), ino, (uint64_t)off, plus, dir_fill, &db);
	if (ret && db.used == 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_buf(req, db.buf, db.used);
	free(db.buf);
}

static void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)fi;
	do_readdir(req, ino, size, off, false);
}

static void ll_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	(void)fi;
	do_readdir(req, ino, size, off, true);
}

static void ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void ll_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	/* a directory's entries are journal records: make every change durable */
	fuse_reply_err(req, -fl_core_syncfs(core_of(req)));
}

static void ll_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;
	int ret = fl_core_statfs(core_of(req), &sv);

	(void)ino;
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_statfs(req, &sv);
}

static void ll_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	fuse_reply_err(req, -fl_core_setxattr(core_of(req), ino, name, value, size, flags));
}

/* getxattr of name, or listxattr (name NULL): the bytes, or with size 0
 * only their count. */
static void xattr_get(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	char *buf = size ? malloc(size) : NULL;
	ssize_t n;

	if (size && !buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (name)
		n = fl_core_getxattr(core_of(req), ino, name, buf, size);
	else
		n = fl_core_listxattr(core_of(req), ino, buf, size);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void ll_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	xattr_get(req, ino, name, size);
}

static void ll_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	xattr_get(req, ino, NULL, size);
}

static void ll_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	fuse_reply_err(req, -fl_core_removexattr(core_of(req), ino, name));
}

static void ll_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
			 struct fuse_file_info *fi)
{
	(void)fi;
	if (offset < 0 || length <= 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	fuse_reply_err(req, -fl_core_fallocate(core_of(req), ino, mode, (uint64_t)offset,
					       (uint64_t)length));
}

static const struct fuse_lowlevel_ops ll_ops = {
	.init = ll_init,
	.lookup = ll_lookup,
	.forget = ll_forget,
	.forget_multi = ll_forget_multi,
	.getattr = ll_getattr,
	.setattr = ll_setattr,
	.readlink = ll_readlink,
	.mknod = ll_mknod,
	.mkdir = ll_mkdir,
	.symlink = ll_symlink,
	.link = ll_link,
	.unlink = ll_unlink,
	.rmdir = ll_rmdir,
	.rename = ll_rename,
	.open = ll_open,
	.create = ll_create,
	.read = ll_read,
	.write = ll_write,
	.release = ll_release,
	.fsync = ll_fsync,
	.opendir = ll_opendir,
	.readdir = ll_readdir,
	.readdirplus = ll_readdirplus,
	.releasedir = ll_releasedir,
	.fsyncdir = ll_fsyncdir,
	.statfs = ll_statfs,
	.setxattr = ll_setxattr,
	.getxattr = ll_getxattr,
	.listxattr = ll_listxattr,
	.removexattr = ll_removexattr,
	.fallocate = ll_fallocate,
};

struct fuse_session *fl_fuse_session_new(struct fuse_args *args, struct fl_fuse *f)
{
	return fuse_session_new(args, &ll_ops, sizeof(ll_ops), f);
}
