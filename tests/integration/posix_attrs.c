/*
 * posix_conformance - the checks of attributes: modes and owners, setuid clearing, timestamps,
 * ownership of new inodes, permissions, sticky directories (groups run by posix_conformance.c).
 */
#include "posix_conformance.h"

/* ---- chmod, chown -------------------------------------------------------------------------- */

void g_chmod_chown(void)
{
	struct stat st;
	long long c0, m0;
	int fd;

	CHECK_OK(mkfile_str("f", "data"), "create f");
	CHECK_OK(chmod("f", 0600), "chmod 0600");
	CHECK_MODE(mode_of("f"), S_IFREG | 0600, "mode after chmod 0600");
	CHECK_OK(chmod("f", 07777), "chmod 07777 as root");
	CHECK_MODE(mode_of("f"), S_IFREG | 07777, "all mode bits stored");
	CHECK_OK(chmod("f", 0), "chmod 0");
	CHECK_MODE(mode_of("f"), S_IFREG, "mode 0 stored");
	fd = open("f", O_RDWR);
	CHECK_OK(fd, "root opens a mode 0 file");
	if (fd >= 0) {
		CHECK_OK(fchmod(fd, 0640), "fchmod 0640");
		CHECK_OK(fstat(fd, &st), "fstat");
		CHECK_MODE(st.st_mode, S_IFREG | 0640, "mode after fchmod");
		CHECK_OK(fchown(fd, 1001, 1002), "fchown");
		CHECK_OK(fstat(fd, &st), "fstat");
		CHECK_EQ(st.st_uid, 1001, "uid after fchown");
		CHECK_EQ(st.st_gid, 1002, "gid after fchown");
		close(fd);
	}
	CHECK_OK(mkdir("d", 0755), "mkdir d");
	CHECK_OK(chmod("d", 0700), "chmod a directory");
	CHECK_MODE(mode_of("d"), S_IFDIR | 0700, "directory mode after chmod");
	CHECK_OK(chmod("d", 03755), "chmod a directory with setgid and sticky");
	CHECK_MODE(mode_of("d"), S_IFDIR | 03755, "directory setgid and sticky stored");
	CHECK_OK(symlink("f", "lf"), "symlink lf -> f");
	CHECK_OK(chmod("lf", 0604), "chmod through a symlink");
	CHECK_MODE(mode_of("f"), S_IFREG | 0604, "chmod through a symlink changes the target");
	CHECK(S_ISLNK(mode_of("lf")), "symlink unchanged by chmod");
	CHECK_ERR(chmod("missing", 0644), ENOENT, "chmod of a missing name");

	CHECK_OK(chown("f", 1234, 5678), "chown to 1234:5678");
	CHECK_OK(stat("f", &st), "stat");
	CHECK_EQ(st.st_uid, 1234, "uid after chown");
	CHECK_EQ(st.st_gid, 5678, "gid after chown");
	CHECK_OK(chown("f", (uid_t)-1, 42), "chown with uid -1");
	CHECK_OK(stat("f", &st), "stat");
	CHECK_EQ(st.st_uid, 1234, "uid -1 leaves the owner");
	CHECK_EQ(st.st_gid, 42, "gid changed alone");
	CHECK_OK(chown("f", 77, (gid_t)-1), "chown with gid -1");
	CHECK_OK(stat("f", &st), "stat");
	CHECK_EQ(st.st_uid, 77, "uid changed alone");
	CHECK_EQ(st.st_gid, 42, "gid -1 leaves the group");
	CHECK_OK(chown("f", 4000000000U, 4000000001U), "chown to ids above 2^31");
	CHECK_OK(stat("f", &st), "stat");
	CHECK_EQ(st.st_uid, 4000000000U, "uid above 2^31 stored");
	CHECK_EQ(st.st_gid, 4000000001U, "gid above 2^31 stored");
	CHECK_OK(lchown("lf", 300, 301), "lchown a symlink");
	CHECK_OK(lstat("lf", &st), "lstat");
	CHECK_EQ(st.st_uid, 300, "symlink uid after lchown");
	CHECK_EQ(st.st_gid, 301, "symlink gid after lchown");
	CHECK_OK(stat("f", &st), "stat target");
	CHECK_EQ(st.st_uid, 4000000000U, "lchown leaves the target alone");
	CHECK_OK(chown("lf", 500, 501), "chown through a symlink");
	CHECK_OK(stat("f", &st), "stat target");
	CHECK_EQ(st.st_uid, 500, "chown through a symlink changes the target");
	CHECK_OK(lstat("lf", &st), "lstat");
	CHECK_EQ(st.st_uid, 300, "chown through a symlink leaves the symlink");
	CHECK_OK(chown("d", 600, 601), "chown a directory");
	CHECK_OK(stat("d", &st), "stat");
	CHECK_EQ(st.st_uid, 600, "directory uid after chown");
	CHECK_MODE(st.st_mode, S_IFDIR | 03755, "chown keeps setgid and sticky on directories");

	CHECK_OK(stat("f", &st), "stat");
	c0 = ts_ns(st.st_ctim);
	m0 = ts_ns(st.st_mtim);
	nap();
	CHECK_OK(chmod("f", 0644), "chmod for ctime");
	CHECK_OK(stat("f", &st), "stat");
	CHECK(ts_ns(st.st_ctim) > c0, "chmod updates ctime");
	CHECK_EQ(ts_ns(st.st_mtim), m0, "chmod leaves mtime");
	c0 = ts_ns(st.st_ctim);
	nap();
	CHECK_OK(chown("f", 1, 1), "chown for ctime");
	CHECK_OK(stat("f", &st), "stat");
	CHECK(ts_ns(st.st_ctim) > c0, "chown updates ctime");
	CHECK_EQ(ts_ns(st.st_mtim), m0, "chown leaves mtime");
}

/* ---- setuid/setgid clearing ------------------------------------------------------------- */

void g_suid_clear(void)
{
	pid_t pid;

	CHECK_OK(mkfile_str("a", "x"), "create a");
	CHECK_OK(chmod("a", 06755), "chmod 06755");
	CHECK_OK(chown("a", 1, 1), "root chowns a setuid/setgid file");
	CHECK_MODE(mode_of("a"), S_IFREG | 0755, "chown clears setuid and setgid (group-exec)");
	CHECK_OK(mkfile_str("b", "x"), "create b");
	CHECK_OK(chmod("b", 04700), "chmod 04700");
	CHECK_OK(chown("b", 2, (gid_t)-1), "chown uid only");
	CHECK_MODE(mode_of("b"), S_IFREG | 0700, "chown clears setuid");
	CHECK_OK(mkfile_str("c", "x"), "create c");
	CHECK_OK(chmod("c", 02745), "chmod 02745 (setgid without group exec)");
	CHECK_OK(chown("c", 3, 3), "root chowns it");
	CHECK_MODE(mode_of("c"), S_IFREG | 02745,
		   "setgid without group exec survives root's chown");
	CHECK_OK(mkdir("d", 02755), "mkdir d");
	CHECK_OK(chmod("d", 02755), "chmod d 02755");
	CHECK_OK(chown("d", 4, 4), "chown a setgid directory");
	CHECK_MODE(mode_of("d"), S_IFDIR | 02755, "chown keeps setgid on a directory");

	CHECK_OK(mkfile_str("w", "x"), "create w");
	CHECK_OK(chmod("w", 06777), "chmod 06777");
	CHECK_OK(mkfile_str("r", "x"), "create r");
	CHECK_OK(chmod("r", 06777), "chmod 06777");
	CHECK_OK(mkfile_str("u", "x"), "create u");
	CHECK_OK(chmod("u", 04766), "chmod 04766");
	pid = child_u(U1);
	if (pid == 0) {
		int fd = open("w", O_WRONLY);

		CHECK_OK(fd, "uid %d opens a world-writable setuid file", U1);
		if (fd >= 0) {
			CHECK_EQ(write(fd, "yy", 2), 2, "uid %d writes it", U1);
			close(fd);
		}
		fd = open("u", O_WRONLY | O_APPEND);
		if (fd >= 0) {
			CHECK_EQ(write(fd, "y", 1), 1, "uid %d appends to a setuid file", U1);
			close(fd);
		}
		_exit(0);
	}
	wait_child(pid, "unprivileged write");
	CHECK_MODE(mode_of("w"), S_IFREG | 0777, "write by non-root clears setuid and setgid");
	CHECK_MODE(mode_of("u"), S_IFREG | 0766, "append by non-root clears setuid");
	{
		int fd = open("r", O_WRONLY);

		CHECK_OK(fd, "root opens r");
		if (fd >= 0) {
			CHECK_EQ(write(fd, "zz", 2), 2, "root writes r");
			close(fd);
		}
		CHECK_MODE(mode_of("r"), S_IFREG | 06777, "write by root keeps setuid and setgid");
	}
}

/*
 * After a change to path: stat it (one check) and check that its ctime moved
 * past before's; before becomes the new stat.
 */
static void check_ctime_moved(const char *path, struct stat *before, const char *what)
{
	struct stat now;

	CHECK_OK(stat(path, &now), "stat %s", path);
	CHECK(ts_ns(now.st_ctim) > ts_ns(before->st_ctim), "%s", what);
	*before = now;
}

/* ---- timestamps -------------------------------------------------------------------------------
 */

void g_times(void)
{
	struct timespec ts[2];
	struct stat st, st2;
	long long before, after, c0, m0;
	int fd;

	CHECK_OK(mkfile_str("f", "data"), "create f");
	ts[0].tv_sec = 1000000000;
	ts[0].tv_nsec = 123456789;
	ts[1].tv_sec = 1234567890;
	ts[1].tv_nsec = 987654321;
	CHECK_OK(utimensat(AT_FDCWD, "f", ts, 0), "utimensat with explicit times");
	CHECK_OK(stat("f", &st), "stat");
	CHECK_EQ(st.st_atim.tv_sec, 1000000000, "atime seconds");
	CHECK_EQ(st.st_atim.tv_nsec, 123456789, "atime nanoseconds");
	CHECK_EQ(st.st_mtim.tv_sec, 1234567890, "mtime seconds");
	CHECK_EQ(st.st_mtim.tv_nsec, 987654321, "mtime nanoseconds");
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = 4102444800LL; /* 2100-01-01 */
	ts[1].tv_nsec = 1;
	CHECK_OK(utimensat(AT_FDCWD, "f", ts, 0), "utimensat mtime after 2038, atime omitted");
	CHECK_OK(stat("f", &st), "stat");
	CHECK_EQ(st.st_mtim.tv_sec, 4102444800LL, "mtime after 2038 stored");
	CHECK_EQ(st.st_mtim.tv_nsec, 1, "mtime nanosecond 1 stored");
	CHECK_EQ(st.st_atim.tv_sec, 1000000000, "UTIME_OMIT keeps atime");
	CHECK_EQ(st.st_atim.tv_nsec, 123456789, "UTIME_OMIT keeps atime nanoseconds");
	ts[0].tv_sec = 5;
	ts[0].tv_nsec = 999999999;
	ts[1].tv_nsec = UTIME_OMIT;
	CHECK_OK(utimensat(AT_FDCWD, "f", ts, 0), "utimensat atime only");
	CHECK_OK(stat("f", &st), "stat");
	CHECK_EQ(st.st_atim.tv_sec, 5, "small atime stored");
	CHECK_EQ(st.st_atim.tv_nsec, 999999999, "atime nanoseconds 999999999");
	CHECK_EQ(st.st_mtim.tv_sec, 4102444800LL, "UTIME_OMIT keeps mtime");
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_OMIT;
	CHECK_OK(utimensat(AT_FDCWD, "f", ts, 0), "utimensat with both omitted");
	CHECK_OK(stat("f", &st2), "stat");
	CHECK_EQ(ts_ns(st2.st_mtim), ts_ns(st.st_mtim), "both omitted: mtime unchanged");
	CHECK_EQ(ts_ns(st2.st_atim), ts_ns(st.st_atim), "both omitted: atime unchanged");
	before = now_ns();
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_NOW;
	CHECK_OK(utimensat(AT_FDCWD, "f", ts, 0), "utimensat mtime UTIME_NOW");
	after = now_ns();
	CHECK_OK(stat("f", &st), "stat");
	CHECK(ts_ns(st.st_mtim) >= before - 50000000LL && ts_ns(st.st_mtim) <= after + 50000000LL,
	      "UTIME_NOW sets mtime to the current time");
	CHECK_EQ(st.st_atim.tv_sec, 5, "atime omitted with UTIME_NOW mtime");
	before = now_ns();
	CHECK_OK(utimensat(AT_FDCWD, "f", NULL, 0), "utimensat(NULL)");
	after = now_ns();
	CHECK_OK(stat("f", &st), "stat");
	CHECK(ts_ns(st.st_mtim) >= before - 50000000LL && ts_ns(st.st_mtim) <= after + 50000000LL,
	      "utimensat(NULL) sets mtime to now");
	CHECK(ts_ns(st.st_atim) >= before - 50000000LL && ts_ns(st.st_atim) <= after + 50000000LL,
	      "utimensat(NULL) sets atime to now");
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = 1000000000;
	ts[1].tv_nsec = 0;
	CHECK_ERR(utimensat(AT_FDCWD, "f", ts, 0), EINVAL, "tv_nsec of 1e9 is invalid");
	ts[0].tv_nsec = -5;
	CHECK_ERR(utimensat(AT_FDCWD, "f", ts, 0), EINVAL, "negative tv_nsec is invalid");
	CHECK_ERR(utimensat(AT_FDCWD, "missing", NULL, 0), ENOENT, "utimensat on a missing name");

	fd = open("f", O_RDWR);
	if (fd >= 0) {
		ts[0].tv_sec = 111;
		ts[0].tv_nsec = 222;
		ts[1].tv_sec = 333;
		ts[1].tv_nsec = 444;
		CHECK_OK(futimens(fd, ts), "futimens");
		CHECK_OK(fstat(fd, &st), "fstat");
		CHECK_EQ(ts_ns(st.st_atim), 111000000222LL, "atime after futimens");
		CHECK_EQ(ts_ns(st.st_mtim), 333000000444LL, "mtime after futimens");
		c0 = ts_ns(st.st_ctim);
		m0 = ts_ns(st.st_mtim);
		CHECK(c0 > 1000000000000000000LL, "ctime is the current time, not the one set");
		nap();
		CHECK_EQ(pwrite(fd, "more", 4, 4), 4, "write");
		CHECK_OK(fstat(fd, &st), "fstat");
		CHECK(ts_ns(st.st_mtim) > m0, "write updates mtime");
		CHECK(ts_ns(st.st_ctim) > c0, "write updates ctime");
		m0 = ts_ns(st.st_mtim);
		c0 = ts_ns(st.st_ctim);
		nap();
		{
			char b[8];

			CHECK_EQ(pread(fd, b, 8, 0), 8, "read");
		}
		CHECK_OK(fstat(fd, &st), "fstat");
		CHECK_EQ(ts_ns(st.st_mtim), m0, "read leaves mtime");
		CHECK_EQ(ts_ns(st.st_ctim), c0, "read leaves ctime");
		nap();
		ts[0].tv_sec = 1;
		ts[0].tv_nsec = 0;
		ts[1] = ts[0];
		CHECK_OK(futimens(fd, ts), "futimens again");
		CHECK_OK(fstat(fd, &st), "fstat");
		CHECK(ts_ns(st.st_ctim) > c0, "setting times updates ctime");
		close(fd);
	}

	/* Symlink times with AT_SYMLINK_NOFOLLOW. */
	CHECK_OK(symlink("f", "lf"), "symlink");
	CHECK_OK(stat("f", &st2), "stat target");
	ts[0].tv_sec = 200;
	ts[0].tv_nsec = 2;
	ts[1].tv_sec = 300;
	ts[1].tv_nsec = 3;
	CHECK_OK(utimensat(AT_FDCWD, "lf", ts, AT_SYMLINK_NOFOLLOW),
		 "utimensat AT_SYMLINK_NOFOLLOW on a symlink");
	CHECK_OK(lstat("lf", &st), "lstat");
	CHECK_EQ(ts_ns(st.st_mtim), 300000000003LL, "symlink mtime set");
	CHECK_OK(stat("f", &st), "stat target");
	CHECK_EQ(ts_ns(st.st_mtim), ts_ns(st2.st_mtim), "target mtime untouched");

	/* Directory times follow changes to entries. */
	CHECK_OK(mkdir("d", 0755), "mkdir d");
	CHECK_OK(mkdir("e", 0755), "mkdir e");
	CHECK_OK(stat("d", &st), "stat d");
	nap();
	CHECK_OK(mkfile_str("d/x", "x"), "create d/x");
	CHECK_OK(stat("d", &st2), "stat d");
	CHECK(ts_ns(st2.st_mtim) > ts_ns(st.st_mtim), "creating an entry updates dir mtime");
	CHECK(ts_ns(st2.st_ctim) > ts_ns(st.st_ctim), "creating an entry updates dir ctime");
	st = st2;
	nap();
	CHECK_OK(mkdir("d/sub", 0755), "mkdir d/sub");
	CHECK_OK(stat("d", &st2), "stat d");
	CHECK(ts_ns(st2.st_mtim) > ts_ns(st.st_mtim), "mkdir updates parent mtime");
	st = st2;
	CHECK_OK(stat("e", &st2), "stat e");
	nap();
	CHECK_OK(rename("d/x", "e/x"), "rename d/x e/x");
	{
		struct stat d2, e2;

		CHECK_OK(stat("d", &d2), "stat d");
		CHECK_OK(stat("e", &e2), "stat e");
		CHECK(ts_ns(d2.st_mtim) > ts_ns(st.st_mtim), "rename updates source dir mtime");
		CHECK(ts_ns(e2.st_mtim) > ts_ns(st2.st_mtim), "rename updates target dir mtime");
		st2 = e2;
	}
	nap();
	CHECK_OK(unlink("e/x"), "unlink e/x");
	CHECK_OK(stat("e", &st), "stat e");
	CHECK(ts_ns(st.st_mtim) > ts_ns(st2.st_mtim), "unlink updates dir mtime");

	/* ctime on link changes and xattr changes. */
	CHECK_OK(mkfile_str("g", "g"), "create g");
	CHECK_OK(stat("g", &st), "stat g");
	nap();
	CHECK_OK(link("g", "g2"), "link g g2");
	check_ctime_moved("g", &st, "link updates the inode's ctime");
	nap();
	CHECK_OK(unlink("g2"), "unlink g2");
	check_ctime_moved("g", &st, "unlinking one name updates ctime");
	nap();
	CHECK_OK(setxattr("g", "user.t", "v", 1, 0), "setxattr");
	st2 = st;
	check_ctime_moved("g", &st, "setxattr updates ctime");
	CHECK_EQ(ts_ns(st.st_mtim), ts_ns(st2.st_mtim), "setxattr leaves mtime");

	/* Permissions around utimensat. */
	mkfile_owned("other_rw", U2, G2, 0666, "world-writable");
	mkfile_owned("other_ro", U2, G2, 0644, "not writable by others");
	mkfile_owned("own", U1, G1, 0444, "read-only for its owner");
	{
		pid_t pid = child_u(U1);

		if (pid == 0) {
			struct timespec t2[2] = {{10, 0}, {20, 0}};

			CHECK_ERR(utimensat(AT_FDCWD, "other_rw", t2, 0), EPERM,
				  "non-owner cannot set explicit times");
			CHECK_OK(utimensat(AT_FDCWD, "other_rw", NULL, 0),
				 "non-owner with write permission may set times to now");
			CHECK_ERR(utimensat(AT_FDCWD, "other_ro", NULL, 0), EACCES,
				  "non-owner without write permission cannot set times to now");
			CHECK_OK(utimensat(AT_FDCWD, "own", t2, 0),
				 "owner sets explicit times without write permission");
			_exit(0);
		}
		wait_child(pid, "utimensat permissions");
	}
	CHECK_OK(stat("own", &st), "stat own");
	CHECK_EQ(st.st_mtim.tv_sec, 20, "owner's explicit mtime stored");
}

/* ---- ownership of new inodes, setgid directories -------------------------------------------- */

/* (l)stat of path (one check, "stat" or "lstat"), then its owner: "WHAT uid"
 * against uid and "WHAT gid" against gid, each unless -1. */
static void check_ids(const char *path, bool nofollow, long uid, long gid, const char *what)
{
	struct stat st;

	if (nofollow)
		CHECK_OK(lstat(path, &st), "lstat");
	else
		CHECK_OK(stat(path, &st), "stat");
	if (uid != -1)
		CHECK_EQ(st.st_uid, uid, "%s uid", what);
	if (gid != -1)
		CHECK_EQ(st.st_gid, gid, "%s gid", what);
}

void g_ownership(void)
{
	struct stat st;
	pid_t pid;

	CHECK_OK(mkdir("sg", 0777), "mkdir sg");
	CHECK_OK(chown("sg", 0, GX), "chown sg to group %d", GX);
	CHECK_OK(chmod("sg", 02777), "chmod sg 02777");
	CHECK_MODE(mode_of("sg"), S_IFDIR | 02777, "setgid directory mode");
	CHECK_OK(mkfile_str("sg/byroot", "r"), "root creates a file in sg");
	CHECK_OK(stat("sg/byroot", &st), "stat");
	CHECK_EQ(st.st_gid, GX, "file in a setgid directory gets its group");
	CHECK_EQ(st.st_uid, 0, "and root's uid");
	CHECK_OK(mkdir("sg/rootdir", 0755), "root mkdir in sg");
	CHECK_OK(stat("sg/rootdir", &st), "stat");
	CHECK_EQ(st.st_gid, GX, "subdirectory gets the group");
	CHECK_MODE(st.st_mode, S_IFDIR | 02755, "subdirectory inherits the setgid bit");

	pid = child_u(U1);
	if (pid == 0) {
		int fd;

		fd = open("plain", O_RDWR | O_CREAT | O_EXCL, 0644);
		CHECK_OK(fd, "uid %d creates a file", U1);
		if (fd >= 0) {
			CHECK_OK(fstat(fd, &st), "fstat");
			CHECK_EQ(st.st_uid, U1, "new file owned by the caller's uid");
			CHECK_EQ(st.st_gid, G1, "new file has the caller's gid");
			close(fd);
		}
		CHECK_OK(mkdir("udir", 0755), "uid %d mkdir", U1);
		check_ids("udir", false, U1, G1, "new directory");
		CHECK_OK(symlink("plain", "ulink"), "uid %d symlink", U1);
		check_ids("ulink", true, U1, G1, "new symlink");
		CHECK_OK(mkfifo("ufifo", 0644), "uid %d mkfifo", U1);
		check_ids("ufifo", true, U1, -1, "new fifo");
		CHECK_OK(link("plain", "plain-link"), "uid %d link", U1);
		CHECK_OK(lstat("plain-link", &st), "lstat");
		CHECK_EQ(st.st_uid, U1, "link keeps the owner");

		fd = open("sg/user", O_RDWR | O_CREAT | O_EXCL, 0644);
		CHECK_OK(fd, "uid %d creates in the setgid directory", U1);
		if (fd >= 0)
			close(fd);
		CHECK_OK(stat("sg/user", &st), "stat");
		CHECK_EQ(st.st_uid, U1, "owner is the caller");
		CHECK_EQ(st.st_gid, GX, "group is the directory's");
		CHECK_OK(mkdir("sg/udir", 0777), "uid %d mkdir in the setgid directory", U1);
		CHECK_OK(stat("sg/udir", &st), "stat");
		CHECK_EQ(st.st_gid, GX, "subdirectory group from the setgid parent");
		CHECK_MODE(st.st_mode, S_IFDIR | 02755, "subdirectory carries the setgid bit");
		CHECK_OK(mkfile_str("sg/udir/deep", "d"), "create deeper");
		CHECK_OK(stat("sg/udir/deep", &st), "stat");
		CHECK_EQ(st.st_gid, GX, "group passed down two levels");
		CHECK_OK(symlink("x", "sg/usym"), "symlink in the setgid directory");
		CHECK_OK(lstat("sg/usym", &st), "lstat");
		CHECK_EQ(st.st_gid, GX, "symlink group from the setgid parent");
		fd = open("sg/sgid-file", O_RDWR | O_CREAT | O_EXCL, 02755);
		if (fd >= 0)
			close(fd);
		CHECK_OK(stat("sg/sgid-file", &st), "stat");
		CHECK_MODE(st.st_mode, S_IFREG | 0755,
			   "setgid bit dropped on a file created by a non-member of its group");
		_exit(0);
	}
	wait_child(pid, "ownership child");
	CHECK_OK(rename("plain", "sg/moved"), "rename a file into the setgid directory");
	CHECK_OK(stat("sg/moved", &st), "stat");
	CHECK_EQ(st.st_gid, G1, "rename does not change the group");

	/* chown and chmod rules for unprivileged owners. */
	CHECK_OK(mkfile_str("owned", "x"), "create owned");
	CHECK_OK(chown("owned", U1, G1), "chown owned to uid %d", U1);
	CHECK_OK(mkfile_str("notmine", "x"), "create notmine");
	CHECK_OK(chown("notmine", U2, G2), "chown notmine to uid %d", U2);
	CHECK_OK(mkfile_str("foreign-group", "x"), "create foreign-group");
	CHECK_OK(chown("foreign-group", U1, GOUT), "owned by uid %d, group %d", U1, GOUT);
	{
		gid_t groups[] = {G1, GX};

		pid = child_as(U1, G1, groups, 2);
	}
	if (pid == 0) {
		CHECK_OK(chown("owned", (uid_t)-1, GX), "owner chgrp to a group it belongs to");
		CHECK_OK(stat("owned", &st), "stat");
		CHECK_EQ(st.st_gid, GX, "group changed");
		CHECK_ERR(chown("owned", (uid_t)-1, GOUT), EPERM,
			  "owner chgrp to a group it does not belong to");
		CHECK_ERR(chown("owned", U2, (gid_t)-1), EPERM, "owner gives the file away");
		CHECK_OK(chown("owned", U1, (gid_t)-1), "owner chown to itself");
		CHECK_ERR(chown("notmine", (uid_t)-1, G1), EPERM, "chgrp of another's file");
		CHECK_ERR(chmod("notmine", 0777), EPERM, "chmod of another's file");
		CHECK_OK(chmod("owned", 02755), "owner sets setgid with a group it belongs to");
		CHECK_MODE(mode_of("owned"), S_IFREG | 02755, "setgid kept for a member");
		CHECK_OK(chmod("foreign-group", 02755),
			 "owner chmod 02755, file in a foreign group");
		CHECK_MODE(mode_of("foreign-group"), S_IFREG | 0755,
			   "setgid silently dropped for a non-member");
		CHECK_OK(chmod("owned", 04711), "owner sets setuid");
		CHECK_MODE(mode_of("owned"), S_IFREG | 04711, "setuid kept for the owner");
		{
			int fd = open("supp", O_RDWR | O_CREAT, 0644);

			if (fd >= 0)
				close(fd);
			CHECK_OK(stat("supp", &st), "stat");
			CHECK_EQ(st.st_gid, G1,
				 "new file gets the effective gid, not a supplementary one");
		}
		_exit(0);
	}
	wait_child(pid, "chown rules child");
}

/* ---- permission checks ---------------------------------------------------------------------- */

void g_perms(void)
{
	pid_t pid;

	CHECK_OK(mkdir("priv", 0700), "mkdir priv");
	CHECK_OK(mkfile_str("priv/f", "secret"), "create priv/f");
	CHECK_OK(chown("priv", U2, G2), "priv owned by uid %d", U2);
	CHECK_OK(chown("priv/f", U2, G2), "priv/f owned by uid %d", U2);
	CHECK_OK(mkdir("ro", 0755), "mkdir ro");
	CHECK_OK(mkfile_str("ro/f", "readable"), "create ro/f");
	CHECK_OK(chown("ro", U2, G2), "ro owned by uid %d", U2);
	CHECK_OK(chown("ro/f", U2, G2), "ro/f owned by uid %d", U2);
	CHECK_OK(mkdir("wx", 0311), "mkdir wx (0311)");
	CHECK_OK(chown("wx", U1, G1), "wx owned by uid %d", U1);
	CHECK_OK(chmod("wx", 0311), "chmod wx 0311");
	CHECK_OK(mkfile_str("wx/known", "k"), "create wx/known");
	CHECK_OK(mkdir("nox", 0755), "mkdir nox");
	CHECK_OK(mkfile_str("nox/f", "f"), "create nox/f");
	CHECK_OK(chown("nox", U1, G1), "nox owned by uid %d", U1);
	CHECK_OK(chmod("nox", 0644), "chmod nox 0644 (no search)");
	mkfile_owned("f600", U2, G2, 0600, "only its owner reads it");
	CHECK_OK(mkfile_str("f644", "x"), "create f644");
	CHECK_OK(chown("f644", U2, G2), "owned by uid %d", U2);
	mkfile_owned("f064", U1, G1, 0064, "its owner has no bits");
	mkfile_owned("f640g", U2, GX, 0640, "its group reads it");
	CHECK_OK(mkfile_str("f000", "x"), "create f000");
	CHECK_OK(chmod("f000", 0), "chmod 0");
	CHECK_OK(mkdir("outer", 0700), "mkdir outer (root, 0700)");
	CHECK_OK(mkdir("outer/inner", 0777), "mkdir outer/inner");
	CHECK_OK(chmod("outer/inner", 0777), "chmod inner 0777");
	CHECK_OK(mkdir("shared", 0777), "mkdir shared");
	CHECK_OK(chmod("shared", 0777), "chmod shared 0777");
	CHECK_OK(mkfile_str("shared/others", "x"), "root file in shared");

	pid = child_u(U1);
	if (pid == 0) {
		struct stat st;
		char buf[16];

		CHECK_ERR(stat("priv/f", &st), EACCES, "lookup in another user's 0700 directory");
		CHECK(opendir("priv") == NULL && errno == EACCES,
		      "opendir of another user's 0700 directory fails with EACCES");
		CHECK_ERR(open("priv/new", O_RDWR | O_CREAT, 0644), EACCES,
			  "create in another user's 0700 directory");
		CHECK_ERR(open("priv/f", O_RDONLY), EACCES,
			  "open in another user's 0700 directory");
		CHECK_OK(stat("ro/f", &st), "lookup in a 0755 directory");
		check_content("ro/f", "readable", "read a 0644 file of another user");
		CHECK_ERR(open("ro/new", O_RDWR | O_CREAT, 0644), EACCES,
			  "create in another user's 0755 directory");
		CHECK_ERR(mkdir("ro/newdir", 0755), EACCES,
			  "mkdir in another user's 0755 directory");
		CHECK_ERR(unlink("ro/f"), EACCES, "unlink in another user's 0755 directory");
		CHECK_ERR(rename("ro/f", "ro/g"), EACCES,
			  "rename in another user's 0755 directory");
		CHECK_ERR(symlink("x", "ro/sym"), EACCES,
			  "symlink in another user's 0755 directory");
		CHECK_OK(mkfile_str("u1file", "u"), "create an own file");
		CHECK_ERR(link("u1file", "ro/link"), EACCES,
			  "link into another user's 0755 directory");
		CHECK(opendir("wx") == NULL && errno == EACCES,
		      "listing a 0311 directory fails with EACCES");
		CHECK_OK(stat("wx/known", &st), "lookup of a known name in a 0311 directory");
		CHECK_OK(mkfile_str("wx/mine", "m"), "create in a 0311 directory");
		CHECK_ERR(stat("nox/f", &st), EACCES,
			  "lookup in a directory without search permission");
		{
			DIR *d = opendir("nox");

			CHECK(d != NULL,
			      "opendir of a readable directory without search permission");
			if (d)
				closedir(d);
		}
		CHECK_ERR(open("f600", O_RDONLY), EACCES, "read another user's 0600 file");
		CHECK_ERR(open("f600", O_WRONLY), EACCES, "write another user's 0600 file");
		CHECK_ERR(open("f644", O_WRONLY), EACCES, "write another user's 0644 file");
		CHECK_ERR(open("f644", O_RDONLY | O_TRUNC), EACCES,
			  "O_TRUNC on another user's file");
		CHECK_ERR(truncate("f644", 0), EACCES, "truncate another user's 0644 file");
		CHECK_OK(access("f644", R_OK), "access R_OK of a 0644 file");
		CHECK_ERR(access("f644", W_OK), EACCES, "access W_OK of another user's 0644 file");
		CHECK_ERR(open("f064", O_RDONLY), EACCES,
			  "owner class applies to the owner even when others may read");
		CHECK_ERR(open("f640g", O_RDONLY), EACCES, "read a 0640 file of a foreign group");
		CHECK_ERR(open("f000", O_RDONLY), EACCES, "read a mode 0 file");
		CHECK_ERR(stat("outer/inner", &st), EACCES,
			  "search permission needed on every level");
		CHECK_OK(unlink("shared/others"), "delete another's file in a writable directory");
		(void)buf;
		_exit(0);
	}
	wait_child(pid, "uid 65534 permission child");

	pid = child_u(U2);
	if (pid == 0) {
		struct stat st;

		CHECK_OK(stat("priv/f", &st), "owner looks up in its 0700 directory");
		check_content("priv/f", "secret", "owner reads its file");
		CHECK_OK(mkfile_str("priv/new", "n"), "owner creates in its 0700 directory");
		CHECK_OK(open("f064", O_RDONLY) >= 0 ? 0 : -1, "other class may read a 0064 file");
		_exit(0);
	}
	wait_child(pid, "uid 65533 permission child");

	{
		gid_t groups[] = {G1, GX};

		pid = child_as(U1, G1, groups, 2);
	}
	if (pid == 0) {
		int fd = open("f640g", O_RDONLY);

		CHECK_OK(fd, "group member reads a 0640 file");
		if (fd >= 0)
			close(fd);
		CHECK_ERR(open("f640g", O_WRONLY), EACCES, "group member cannot write a 0640 file");
		_exit(0);
	}
	wait_child(pid, "group member child");

	{
		int fd = open("f000", O_RDWR);
		struct stat st;

		CHECK_OK(fd, "root opens a mode 0 file read-write");
		if (fd >= 0)
			close(fd);
		CHECK_OK(stat("priv/f", &st), "root looks up in any directory");
	}
}

/* ---- sticky directories ------------------------------------------------------------------------
 */

void g_sticky(void)
{
	pid_t pid;

	CHECK_OK(mkdir("st", 01777), "mkdir st");
	CHECK_OK(chmod("st", 01777), "chmod st 01777");
	CHECK_MODE(mode_of("st"), S_IFDIR | 01777, "sticky directory mode");
	pid = child_u(U2);
	if (pid == 0) {
		CHECK_OK(mkfile_str("st/a", "a"), "uid %d creates st/a", U2);
		CHECK_OK(mkfile_str("st/a2", "a2"), "uid %d creates st/a2", U2);
		CHECK_OK(mkfile_str("st/a3", "a3"), "uid %d creates st/a3", U2);
		CHECK_OK(mkdir("st/adir", 0777), "uid %d creates st/adir", U2);
		CHECK_OK(chmod("st/a", 0666), "uid %d makes st/a world-writable", U2);
		_exit(0);
	}
	wait_child(pid, "sticky setup child");
	pid = child_u(U1);
	if (pid == 0) {
		CHECK_ERR2(unlink("st/a"), EPERM, EACCES,
			   "unlink another user's file in a sticky dir");
		CHECK_ERR2(rename("st/a", "st/b"), EPERM, EACCES,
			   "rename another user's file in a sticky dir");
		CHECK_ERR2(rmdir("st/adir"), EPERM, EACCES,
			   "rmdir another user's directory in a sticky dir");
		CHECK_OK(mkfile_str("st/mine", "m"), "create own file in the sticky dir");
		CHECK_ERR2(rename("st/mine", "st/a"), EPERM, EACCES,
			   "rename over another user's file in a sticky dir");
		{
			int fd = open("st/a", O_WRONLY);

			CHECK_OK(fd, "write access to another's world-writable file still works");
			if (fd >= 0)
				close(fd);
		}
		CHECK_OK(rename("st/mine", "st/mine2"), "rename own file in the sticky dir");
		CHECK_OK(unlink("st/mine2"), "unlink own file in the sticky dir");
		CHECK_OK(mkdir("st2", 01777), "uid %d mkdir st2", U1);
		CHECK_OK(chmod("st2", 01777), "chmod st2 01777");
		_exit(0);
	}
	wait_child(pid, "sticky child");
	CHECK(exists("st/a") && exists("st/adir"), "refused operations left the entries");
	pid = child_u(U2);
	if (pid == 0) {
		CHECK_OK(unlink("st/a"), "the owner unlinks its file");
		CHECK_OK(mkfile_str("st2/x", "x"), "uid %d creates in st2", U2);
		_exit(0);
	}
	wait_child(pid, "sticky owner child");
	pid = child_u(U1);
	if (pid == 0) {
		CHECK_OK(unlink("st2/x"), "the directory's owner unlinks others' files");
		_exit(0);
	}
	wait_child(pid, "sticky directory owner child");
	CHECK_OK(unlink("st/a2"), "root unlinks in a sticky directory");
	CHECK_OK(rename("st/a3", "st/a4"), "root renames in a sticky directory");
}
