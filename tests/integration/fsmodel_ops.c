/*
 * fsmodel - the random operations, each on both trees (see fsmodel.c).
 */
#include "fsmodel.h"

/* ---- operations -------------------------------------------------------------------------------
 */

#define TWO(call_v, call_r, what)                                                                  \
	do {                                                                                       \
		long long rv_, rr_;                                                                \
		int ev_, er_;                                                                      \
		errno = 0;                                                                         \
		rv_ = (long long)(call_v);                                                         \
		ev_ = errno;                                                                       \
		errno = 0;                                                                         \
		rr_ = (long long)(call_r);                                                         \
		er_ = errno;                                                                       \
		same((what), rv_, ev_, rr_, er_);                                                  \
	} while (0)

/* Opens rel on both sides (fv, fr) with flags and mode; the answers must match. */
static void open_both(const char *rel, int flags, mode_t mode, int *fv, int *fr, const char *what)
{
	int ev, er;

	*fv = open(P(0, 0, rel), flags, mode);
	ev = errno;
	*fr = open(P(1, 0, rel), flags, mode);
	er = errno;
	same(what, *fv < 0 ? -1 : 0, ev, *fr < 0 ? -1 : 0, er);
}

/*
 * pread of len bytes at off on both sides (fv, fr): the answers (call) and
 * the bytes must match; what names the read in a failure.
 */
static void pread_both(int fv, int fr, size_t len, off_t off, const char *call, const char *what)
{
	ssize_t nv, nr;
	int ev, er;

	errno = 0;
	nv = pread(fv, cbuf[0], len, off);
	ev = errno;
	errno = 0;
	nr = pread(fr, cbuf[1], len, off);
	er = errno;
	same(call, nv, ev, nr, er);
	if (nv > 0 && memcmp(cbuf[0], cbuf[1], (size_t)nv)) {
		for (ssize_t i = 0; i < nv; i++)
			if (cbuf[0][i] != cbuf[1][i])
				fail("%s: byte at offset %lld is 0x%02x on the volume, 0x%02x on the "
				     "reference",
				     what, (long long)(off + i), cbuf[0][i], cbuf[1][i]);
	}
}

void op_create(void)
{
	char rel[PATH_MAX];
	int flags = O_WRONLY | O_CREAT | O_NONBLOCK;
	mode_t mode = rand_mode(false);
	int fv, fr;

	if (!can_grow())
		return;
	gen_path(rel, sizeof(rel));
	if (chance(50))
		flags |= O_EXCL;
	if (chance(20))
		flags |= O_TRUNC;
	log_op("create %s %s mode 0%o", rel, flag_str(flags), (unsigned)mode);
	log_target(rel);
	if (flags & O_TRUNC)
		mtime_forget_path(rel);
	open_both(rel, flags, mode, &fv, &fr, "open(O_CREAT)");
	log_target(rel);
	if (fv >= 0)
		TWO(close(fv), 0, "close");
	if (fr >= 0)
		close(fr);
	scan_dirty = true;
}

/* A new directory (dir) or fifo with a random mode at a random new path. */
static void op_mknode(bool dir)
{
	char rel[PATH_MAX];
	mode_t mode = rand_mode(dir);

	if (!can_grow())
		return;
	gen_path(rel, sizeof(rel));
	if (dir && chance(70))
		mode |= 0700; /* keep most directories usable */
	log_op("%s %s 0%o", dir ? "mkdir" : "mkfifo", rel, (unsigned)mode);
	if (dir)
		TWO(mkdir(P(0, 0, rel), mode), mkdir(P(1, 0, rel), mode), "mkdir");
	else
		TWO(mkfifo(P(0, 0, rel), mode), mkfifo(P(1, 0, rel), mode), "mkfifo");
	log_target(rel);
	scan_dirty = true;
}

void op_mkdir(void)
{
	op_mknode(true);
}

/* Writes len bytes at off through freshly opened descriptors. */
void op_write(void)
{
	char rel[PATH_MAX];
	int flags = O_WRONLY | O_NONBLOCK | (chance(10) ? O_APPEND : 0);
	size_t len;
	off_t off;
	int fv, fr;
	struct stat st;

	rescan();
	snprintf(rel, sizeof(rel), "%s", pick_existing(S_IFREG));
	if (lstat(P(1, 0, rel), &st) < 0)
		st.st_size = 0;
	len = rand_len();
	off = rand_off(st.st_size);
	if (over_budget() || st.st_size > BIG_LIMIT) {
		/* Over budget: overwrite inside the file only. */
		if (st.st_size == 0)
			return;
		off = (off_t)rnd((uint64_t)st.st_size);
		if ((off_t)len > st.st_size - off)
			len = (size_t)(st.st_size - off);
		flags &= ~O_APPEND;
	}
	prepare_data(len);
	log_op("write %s %s off %lld len %zu", rel, flag_str(flags), (long long)off, len);
	log_target(rel);
	mtime_forget_path(rel);
	open_both(rel, flags, 0, &fv, &fr, "open for write");
	if (fv >= 0) {
		TWO(pwrite(fv, wbuf, len, off), pwrite(fr, wbuf, len, off), "pwrite");
		TWO(close(fv), close(fr), "close after write");
	} else if (fr >= 0) {
		close(fr);
	}
	scan_dirty = true;
}

void op_bigwrite(void)
{
	char rel[PATH_MAX];
	off_t off = 4 * GiB + (off_t)rnd(64 * MiB);
	unsigned char b = (unsigned char)(1 + rnd(255));
	int fv, fr;

	rescan();
	if (n_big >= 2)
		return;
	snprintf(rel, sizeof(rel), "%s", pick_existing(S_IFREG));
	log_op("bigwrite %s 1 byte 0x%02x at %lld", rel, b, (long long)off);
	log_target(rel);
	mtime_forget_path(rel);
	open_both(rel, O_WRONLY | O_NONBLOCK, 0, &fv, &fr, "open for bigwrite");
	if (fv >= 0) {
		TWO(pwrite(fv, &b, 1, off), pwrite(fr, &b, 1, off), "pwrite beyond 4 GiB");
		TWO(close(fv), close(fr), "close");
	} else if (fr >= 0) {
		close(fr);
	}
	scan_dirty = true;
}

static off_t rand_size(off_t cur)
{
	unsigned r = (unsigned)rnd(100);

	if (r < 15)
		return 0;
	if (r < 45)
		return cur > 0 ? (off_t)rnd((uint64_t)cur) : 0;
	if (over_budget())
		return cur / 2;
	if (r < 60)
		return cur + (off_t)rnd(64 * KiB);
	if (r < 62 && n_big < 2)
		return 4 * GiB + (off_t)rnd(GiB);
	if (over_budget())
		return cur / 2;
	return (off_t)rnd(FILE_SPAN);
}

void op_truncate(void)
{
	char rel[PATH_MAX];
	struct stat st;
	off_t size;

	rescan();
	snprintf(rel, sizeof(rel), "%s", pick_existing(S_IFREG));
	if (lstat(P(1, 0, rel), &st) < 0)
		st.st_size = 0;
	size = rand_size(st.st_size);
	log_op("truncate %s %lld", rel, (long long)size);
	log_target(rel);
	mtime_forget_path(rel);
	TWO(truncate(P(0, 0, rel), size), truncate(P(1, 0, rel), size), "truncate");
	scan_dirty = true;
}

void op_rename(void)
{
	char src[PATH_MAX], dst[PATH_MAX];

	rescan();
	snprintf(src, sizeof(src), "%s", pick_existing(chance(30) ? S_IFDIR : 0));
	if (chance(15)) {
		/* into its own subtree (fails for directories) */
		char sub[PATH_MAX];

		snprintf(sub, sizeof(sub), "%s", pick_existing(S_IFDIR));
		if (chance(50) || strncmp(sub, src, strlen(src)) != 0)
			pathf(dst, sizeof(dst), "%s/%s", src, names[rnd(NNAMES)]);
		else
			pathf(dst, sizeof(dst), "%s/%s", sub, names[rnd(NNAMES)]);
	} else {
		any_path(dst, sizeof(dst), 40);
	}
	log_op("rename %s -> %s", src, dst);
	log_target(src);
	log_target(dst);
	TWO(rename(P(0, 0, src), P(0, 1, dst)), rename(P(1, 0, src), P(1, 1, dst)), "rename");
	scan_dirty = true;
}

void op_rename2(void)
{
	char src[PATH_MAX], dst[PATH_MAX];
	unsigned flags = chance(50) ? RENAME_EXCHANGE : RENAME_NOREPLACE;

	rescan();
	snprintf(src, sizeof(src), "%s", pick_existing(0));
	any_path(dst, sizeof(dst), flags == RENAME_EXCHANGE ? 85 : 40);
	log_op("renameat2 %s -> %s %s", src, dst,
	       flags == RENAME_EXCHANGE ? "RENAME_EXCHANGE" : "RENAME_NOREPLACE");
	log_target(src);
	log_target(dst);
	TWO(renameat2(AT_FDCWD, P(0, 0, src), AT_FDCWD, P(0, 1, dst), flags),
	    renameat2(AT_FDCWD, P(1, 0, src), AT_FDCWD, P(1, 1, dst), flags), "renameat2");
	scan_dirty = true;
}

void op_link(void)
{
	char src[PATH_MAX], dst[PATH_MAX];

	if (!can_grow())
		return;
	snprintf(src, sizeof(src), "%s", pick_existing(chance(70) ? S_IFREG : 0));
	any_path(dst, sizeof(dst), 15);
	log_op("link %s -> %s", src, dst);
	log_target(src);
	log_target(dst);
	TWO(link(P(0, 0, src), P(0, 1, dst)), link(P(1, 0, src), P(1, 1, dst)), "link");
	log_target(dst);
	scan_dirty = true;
}

/* rmdir (dir) of a mostly existing directory, or unlink of a mostly existing path. */
static void op_remove(bool dir)
{
	char rel[PATH_MAX];

	if (dir && chance(85))
		snprintf(rel, sizeof(rel), "%s", pick_existing(S_IFDIR));
	else
		any_path(rel, sizeof(rel), dir ? 50 : 90);
	log_op("%s %s", dir ? "rmdir" : "unlink", rel);
	log_target(rel);
	if (dir)
		TWO(rmdir(P(0, 0, rel)), rmdir(P(1, 0, rel)), "rmdir");
	else
		TWO(unlink(P(0, 0, rel)), unlink(P(1, 0, rel)), "unlink");
	scan_dirty = true;
}

void op_unlink(void)
{
	op_remove(false);
}

void op_rmdir(void)
{
	op_remove(true);
}

void op_symlink(void)
{
	char rel[PATH_MAX], target[1100];

	if (!can_grow())
		return;
	any_path(rel, sizeof(rel), 10);
	switch (rnd(5)) {
	case 0:
		snprintf(target, sizeof(target), "%s", names[rnd(NNAMES)]);
		break;
	case 1:
		snprintf(target, sizeof(target), "../%s", names[rnd(NNAMES)]);
		break;
	case 2: {
		/* Relative to the symlink's own directory: as many ups as it is deep. */
		const char *t = pick_existing(0);
		size_t n = 0;
		int ups = 0;

		for (const char *c = rel; *c; c++)
			if (*c == '/')
				ups++;
		if (ups > PAD_UPS - 2) {
			snprintf(target, sizeof(target), "%s", names[rnd(NNAMES)]);
			break;
		}
		for (int i = 0; i < ups; i++)
			n += (size_t)snprintf(target + n, sizeof(target) - n, "../");
		pathf(target + n, sizeof(target) - n, "%s", t);
		break;
	}
	case 3: {
		/* Printable noise without dots, so it never climbs out of the tree. */
		size_t len = 1 + rnd(1000);

		for (size_t i = 0; i < len; i++) {
			target[i] = (char)('!' + rnd(94));
			if (target[i] == '.')
				target[i] = '_';
		}
		target[len] = 0;
		break;
	}
	default:
		pathf(target, sizeof(target), "%s", rel); /* loops to itself */
		break;
	}
	log_op("symlink %s -> %.80s%s", rel, target, strlen(target) > 80 ? "..." : "");
	TWO(symlink(target, P(0, 0, rel)), symlink(target, P(1, 0, rel)), "symlink");
	log_target(rel);
	scan_dirty = true;
}

void op_mkfifo(void)
{
	op_mknode(false);
}

void op_chmod(void)
{
	char rel[PATH_MAX];
	mode_t mode = (mode_t)rnd(010000);

	any_path(rel, sizeof(rel), 90);
	log_op("chmod %s 0%o", rel, (unsigned)mode);
	log_target(rel);
	TWO(chmod(P(0, 0, rel), mode), chmod(P(1, 0, rel), mode), "chmod");
}

void op_chown(void)
{
	static const uint32_t ids[] = {0, 65534, 65533, 1000, 4000000000U, (uint32_t)-1};
	char rel[PATH_MAX];
	uid_t uid = ids[rnd(6)];
	gid_t gid = ids[rnd(6)];
	bool nofollow = chance(50);

	any_path(rel, sizeof(rel), 90);
	log_op("%s %s %d:%d", nofollow ? "lchown" : "chown", rel, (int)uid, (int)gid);
	log_target(rel);
	if (nofollow)
		TWO(lchown(P(0, 0, rel), uid, gid), lchown(P(1, 0, rel), uid, gid), "lchown");
	else
		TWO(chown(P(0, 0, rel), uid, gid), chown(P(1, 0, rel), uid, gid), "chown");
}

static void rand_time(struct timespec *ts)
{
	unsigned r = (unsigned)rnd(100);

	if (r < 10) {
		ts->tv_sec = 0;
		ts->tv_nsec = UTIME_OMIT;
	} else if (r < 15) {
		ts->tv_sec = 0;
		ts->tv_nsec = UTIME_NOW;
	} else {
		ts->tv_sec = (time_t)rnd(r < 90 ? 2000000000ULL : 8000000000ULL);
		ts->tv_nsec = (long)rnd(1000000000);
	}
}

static const char *ts_str(const struct timespec *ts, int slot)
{
	static char buf[2][40];

	if (ts->tv_nsec == UTIME_OMIT)
		return "UTIME_OMIT";
	if (ts->tv_nsec == UTIME_NOW)
		return "UTIME_NOW";
	snprintf(buf[slot], sizeof(buf[slot]), "%lld.%09ld", (long long)ts->tv_sec, ts->tv_nsec);
	return buf[slot];
}

void op_utimens(void)
{
	char rel[PATH_MAX];
	struct timespec ts[2];
	int flags = chance(40) ? AT_SYMLINK_NOFOLLOW : 0;
	long long rv, rr;
	int ev, er;

	any_path(rel, sizeof(rel), 90);
	rand_time(&ts[0]);
	rand_time(&ts[1]);
	log_op("utimensat %s atime %s mtime %s%s", rel, ts_str(&ts[0], 0), ts_str(&ts[1], 1),
	       flags ? " AT_SYMLINK_NOFOLLOW" : "");
	log_target(rel);
	errno = 0;
	rv = utimensat(AT_FDCWD, P(0, 0, rel), ts, flags);
	ev = errno;
	errno = 0;
	rr = utimensat(AT_FDCWD, P(1, 0, rel), ts, flags);
	er = errno;
	same("utimensat", rv, ev, rr, er);
	if (rr == 0 && ts[1].tv_nsec != UTIME_OMIT && ts[1].tv_nsec != UTIME_NOW) {
		struct stat st;
		int r = flags ? lstat(P(1, 0, rel), &st) : stat(P(1, 0, rel), &st);

		if (r == 0)
			mtime_set(st.st_ino, ts[1]);
	}
}

static const char *const xnames[] = {"user.a", "user.b", "user.c",
				     "user.a_rather_long_attribute_name"};

void op_setxattr(void)
{
	char rel[PATH_MAX];
	const char *name = xnames[rnd(4)];
	size_t len = rnd(101);
	int flags = chance(60) ? 0 : chance(50) ? XATTR_CREATE : XATTR_REPLACE;
	bool follow = chance(40);

	any_path(rel, sizeof(rel), 90);
	fill_random(len);
	log_op("%ssetxattr %s %s len %zu flags %d", follow ? "" : "l", rel, name, len, flags);
	log_target(rel);
	if (follow)
		TWO(setxattr(P(0, 0, rel), name, wbuf, len, flags),
		    setxattr(P(1, 0, rel), name, wbuf, len, flags), "setxattr");
	else
		TWO(lsetxattr(P(0, 0, rel), name, wbuf, len, flags),
		    lsetxattr(P(1, 0, rel), name, wbuf, len, flags), "lsetxattr");
}

void op_removexattr(void)
{
	char rel[PATH_MAX];
	const char *name = xnames[rnd(4)];
	bool follow = chance(40);

	any_path(rel, sizeof(rel), 90);
	log_op("%sremovexattr %s %s", follow ? "" : "l", rel, name);
	log_target(rel);
	if (follow)
		TWO(removexattr(P(0, 0, rel), name), removexattr(P(1, 0, rel), name),
		    "removexattr");
	else
		TWO(lremovexattr(P(0, 0, rel), name), lremovexattr(P(1, 0, rel), name),
		    "lremovexattr");
}

void op_read_path(void)
{
	char rel[PATH_MAX];
	struct stat st;
	size_t len = rand_len();
	off_t off;
	int fv, fr;

	rescan();
	snprintf(rel, sizeof(rel), "%s", pick_existing(S_IFREG));
	if (lstat(P(1, 0, rel), &st) < 0)
		st.st_size = 0;
	if (len > CBUF_SIZE)
		len = CBUF_SIZE;
	off = (off_t)rnd((uint64_t)st.st_size + 1);
	log_op("read %s off %lld len %zu", rel, (long long)off, len);
	log_target(rel);
	open_both(rel, O_RDONLY | O_NONBLOCK, 0, &fv, &fr, "open for read");
	if (fv >= 0) {
		char what[PATH_MAX + 16];

		snprintf(what, sizeof(what), "read %s", rel);
		pread_both(fv, fr, len, off, "pread", what);
		TWO(close(fv), close(fr), "close after read");
	} else if (fr >= 0) {
		close(fr);
	}
}

/* ---- descriptor operations ------------------------------------------------------------------- */

void op_open(void)
{
	static const int acc[] = {O_RDWR, O_RDWR, O_RDWR, O_RDONLY, O_WRONLY};
	char rel[PATH_MAX];
	struct ofd *o = NULL;
	int flags;

	for (int i = 0; i < MAX_FDS; i++)
		if (!fds[i].used) {
			o = &fds[i];
			break;
		}
	if (!o)
		return;
	flags = acc[rnd(5)] | O_NONBLOCK;
	if (chance(15))
		flags |= O_APPEND;
	if (chance(20) && can_grow()) {
		flags |= O_CREAT;
		gen_path(rel, sizeof(rel));
	} else {
		rescan();
		snprintf(rel, sizeof(rel), "%s", pick_existing(S_IFREG));
	}
	if (chance(5) && (flags & O_ACCMODE) != O_RDONLY)
		flags |= O_TRUNC;
	log_op("open fd%d %s %s", (int)(o - fds), rel, flag_str(flags));
	log_target(rel);
	if (flags & O_TRUNC)
		mtime_forget_path(rel);
	/* close-on-exec: the commands fsmodel runs start mount daemons, which
	 * would keep the volume busy with these */
	open_both(rel, flags | O_CLOEXEC, 0644, &o->fd[0], &o->fd[1], "open");
	if (o->fd[1] >= 0)
		log_target_fd(o->fd[1]);
	if (o->fd[0] >= 0) {
		o->used = true;
		o->flags = flags;
		snprintf(o->path, sizeof(o->path), "%s", rel);
	}
	scan_dirty = true;
}

void op_close(void)
{
	struct ofd *o = pick_fd();

	if (!o)
		return;
	log_op("close fd%d (%s)", (int)(o - fds), o->path);
	log_target_fd(o->fd[1]);
	TWO(close(o->fd[0]), close(o->fd[1]), "close");
	o->used = false;
}

void op_fwrite(void)
{
	struct ofd *o = pick_fd();
	struct stat st;
	size_t len;
	off_t off;

	if (!o)
		return;
	if (fstat(o->fd[1], &st) < 0)
		st.st_size = 0;
	len = rand_len();
	off = rand_off(st.st_size);
	rescan();
	if (over_budget() || st.st_size > 2 * FILE_SPAN) {
		if (st.st_size == 0)
			return;
		off = (off_t)rnd((uint64_t)st.st_size);
		if ((off_t)len > st.st_size - off)
			len = (size_t)(st.st_size - off);
	}
	prepare_data(len);
	log_op("pwrite fd%d (%s) off %lld len %zu", (int)(o - fds), o->path, (long long)off, len);
	log_target_fd(o->fd[1]);
	mtime_forget_fd(o->fd[1]);
	TWO(pwrite(o->fd[0], wbuf, len, off), pwrite(o->fd[1], wbuf, len, off), "pwrite on fd");
	scan_dirty = true;
}

void op_fread(void)
{
	struct ofd *o = pick_fd();
	struct stat st;
	size_t len = rand_len();
	off_t off;
	char what[PATH_MAX + 32];

	if (!o)
		return;
	if (fstat(o->fd[1], &st) < 0)
		st.st_size = 0;
	if (len > CBUF_SIZE)
		len = CBUF_SIZE;
	off = (off_t)rnd((uint64_t)st.st_size + 1);
	log_op("pread fd%d (%s) off %lld len %zu", (int)(o - fds), o->path, (long long)off, len);
	log_target_fd(o->fd[1]);
	snprintf(what, sizeof(what), "pread fd%d (%s)", (int)(o - fds), o->path);
	pread_both(o->fd[0], o->fd[1], len, off, "pread on fd", what);
}

void op_ftruncate(void)
{
	struct ofd *o = pick_fd();
	struct stat st;
	off_t size;

	if (!o)
		return;
	if (fstat(o->fd[1], &st) < 0)
		st.st_size = 0;
	rescan();
	size = rand_size(st.st_size);
	log_op("ftruncate fd%d (%s) %lld", (int)(o - fds), o->path, (long long)size);
	log_target_fd(o->fd[1]);
	mtime_forget_fd(o->fd[1]);
	TWO(ftruncate(o->fd[0], size), ftruncate(o->fd[1], size), "ftruncate");
	scan_dirty = true;
}

void op_fstat(void)
{
	struct ofd *o = pick_fd();
	struct stat sv, sr;
	char what[PATH_MAX + 40];

	if (!o)
		return;
	log_op("fstat fd%d (%s)", (int)(o - fds), o->path);
	log_target_fd(o->fd[1]);
	TWO(fstat(o->fd[0], &sv), fstat(o->fd[1], &sr), "fstat");
	snprintf(what, sizeof(what), "fstat fd%d (%s)", (int)(o - fds), o->path);
	fail_ino = sr.st_ino;
	compare_stat(what, &sv, &sr);
	fail_ino = 0;
}

void op_fchmod(void)
{
	struct ofd *o = pick_fd();
	mode_t mode = (mode_t)rnd(010000);

	if (!o)
		return;
	log_op("fchmod fd%d (%s) 0%o", (int)(o - fds), o->path, (unsigned)mode);
	log_target_fd(o->fd[1]);
	TWO(fchmod(o->fd[0], mode), fchmod(o->fd[1], mode), "fchmod");
}

void op_fsync(void)
{
	struct ofd *o = pick_fd();
	bool data = chance(50);

	if (!o)
		return;
	log_op("%s fd%d (%s)", data ? "fdatasync" : "fsync", (int)(o - fds), o->path);
	log_target_fd(o->fd[1]);
	if (data)
		TWO(fdatasync(o->fd[0]), fdatasync(o->fd[1]), "fdatasync");
	else
		TWO(fsync(o->fd[0]), fsync(o->fd[1]), "fsync");
}

void op_fallocate(void)
{
	static const int modes[] = {0, FALLOC_FL_KEEP_SIZE,
				    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE};
	struct ofd *o = pick_fd();
	int mode = modes[rnd(4)];
	struct stat st;
	off_t off, len;

	if (!o)
		return;
	if (fstat(o->fd[1], &st) < 0)
		st.st_size = 0;
	rescan();
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		off = (off_t)rnd((uint64_t)st.st_size + 1);
		len = 1 + (off_t)rnd(2 * MiB);
	} else {
		if (over_budget() || st.st_size > FILE_SPAN)
			return;
		off = (off_t)rnd(FILE_SPAN);
		len = 1 + (off_t)rnd(MiB);
	}
	log_op("fallocate fd%d (%s) mode %d off %lld len %lld", (int)(o - fds), o->path, mode,
	       (long long)off, (long long)len);
	log_target_fd(o->fd[1]);
	mtime_forget_fd(o->fd[1]);
	TWO(fallocate(o->fd[0], mode, off, len), fallocate(o->fd[1], mode, off, len), "fallocate");
	scan_dirty = true;
}
