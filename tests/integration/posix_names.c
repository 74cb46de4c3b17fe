/*
 * posix_conformance - the checks of names: lookup, create and open, mkdir and rmdir, link counts,
 * mknod, sockets, symlinks, hard links, unlink and rename, names (groups run by
 * posix_conformance.c).
 */
#include "posix_conformance.h"

/* ---- lookup ---------------------------------------------------------------------------- */

void g_lookup(void)
{
	struct stat st, st2;
	ino_t inos[50];
	bool distinct = true;
	char name[32];

	CHECK_OK(mkfile_str("f", "data"), "create f");
	CHECK_OK(mkdir("d", 0755), "mkdir d");
	CHECK_OK(stat("f", &st), "stat existing file");
	CHECK(S_ISREG(st.st_mode), "stat of a file says regular file");
	CHECK_ERR(stat("nonexistent", &st), ENOENT, "stat of a missing name");
	CHECK_ERR(stat("f/x", &st), ENOTDIR, "lookup below a regular file");
	CHECK_ERR(stat("f/", &st), ENOTDIR, "regular file with a trailing slash");
	CHECK_ERR(stat("", &st), ENOENT, "stat of the empty path");
	CHECK_ERR(stat("d/missing/x", &st), ENOENT, "lookup below a missing directory");
	CHECK_OK(stat("d/../f", &st2), "lookup through ..");
	CHECK_EQ(st2.st_ino, st.st_ino, "d/../f is f");
	CHECK_OK(stat("d/.", &st2), "stat d/.");
	CHECK_OK(stat("d", &st), "stat d");
	CHECK_EQ(st2.st_ino, st.st_ino, "d/. is d");
	CHECK_OK(stat("d/..", &st2), "stat d/..");
	CHECK_OK(stat(".", &st), "stat .");
	CHECK_EQ(st2.st_ino, st.st_ino, "d/.. is the parent");
	CHECK_EQ(st2.st_dev, st.st_dev, "same st_dev in one filesystem");
	CHECK_OK(stat("f", &st), "stat f again");
	CHECK_OK(stat("f", &st2), "stat f a third time");
	CHECK_EQ(st2.st_ino, st.st_ino, "inode number stable across lookups");
	CHECK(st.st_blksize > 0, "st_blksize is positive");
	CHECK_OK(access("f", F_OK), "access F_OK of an existing file");
	CHECK_ERR(access("nonexistent", F_OK), ENOENT, "access F_OK of a missing name");
	CHECK_OK(mkfile_str("Case", "x"), "create Case");
	CHECK_ERR(stat("case", &st), ENOENT, "names are case-sensitive");
	CHECK_ERR(stat("CASE", &st), ENOENT, "names are case-sensitive (upper)");
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "many%d", i);
		if (mkfile(name, 0644, NULL, 0) < 0)
			die("create many");
		inos[i] = ino_of(name);
	}
	for (int i = 0; i < 50 && distinct; i++)
		for (int j = i + 1; j < 50; j++)
			if (inos[i] == inos[j] || inos[i] == 0)
				distinct = false;
	CHECK(distinct, "50 new files have 50 distinct inode numbers");
	{
		int fd = open("d", O_RDONLY | O_DIRECTORY);

		CHECK_OK(fd, "open a directory with O_DIRECTORY");
		if (fd >= 0) {
			CHECK_OK(fstat(fd, &st), "fstat directory fd");
			CHECK(S_ISDIR(st.st_mode), "fstat of a directory fd says directory");
			close(fd);
		}
		CHECK_ERR(open("f", O_RDONLY | O_DIRECTORY), ENOTDIR,
			  "O_DIRECTORY on a regular file");
	}
}

/* ---- create and open flags ------------------------------------------------------------------ */

void g_create_open(void)
{
	struct stat st;
	char buf[64];
	int fd;
	long long t0;

	fd = open("f", O_RDWR | O_CREAT | O_EXCL, 0640);
	CHECK_OK(fd, "O_CREAT|O_EXCL creates a new file");
	if (fd < 0)
		return;
	CHECK_OK(fstat(fd, &st), "fstat the new file");
	CHECK_MODE(st.st_mode, S_IFREG | 0640, "new file mode is 0640 (umask 022)");
	CHECK_EQ(st.st_size, 0, "new file is empty");
	CHECK_EQ(st.st_nlink, 1, "new file has one link");
	CHECK_EQ(st.st_uid, 0, "new file owned by root");
	CHECK_EQ(st.st_gid, getegid(), "new file has the creator's group");
	CHECK_EQ(read(fd, buf, sizeof(buf)), 0, "read of an empty file returns 0");
	CHECK_EQ(write(fd, "hello world", 11), 11, "write 11 bytes");
	CHECK_EQ(pread(fd, buf, 5, 6), 5, "pread 5 bytes at offset 6");
	t_mem(buf, "world", 5, "pread returns what was written");
	CHECK_EQ(lseek(fd, 0, SEEK_END), 11, "lseek SEEK_END gives the size");
	CHECK_EQ(lseek(fd, 3, SEEK_SET), 3, "lseek SEEK_SET");
	CHECK_EQ(read(fd, buf, 4), 4, "read after lseek");
	t_mem(buf, "lo w", 4, "read after lseek returns the right bytes");
	CHECK_OK(close(fd), "close");

	CHECK_ERR(open("f", O_RDWR | O_CREAT | O_EXCL, 0644), EEXIST,
		  "O_CREAT|O_EXCL on an existing file");
	fd = open("f", O_RDWR | O_CREAT, 0600);
	CHECK_OK(fd, "O_CREAT without O_EXCL opens an existing file");
	if (fd >= 0) {
		CHECK_OK(fstat(fd, &st), "fstat");
		CHECK_EQ(st.st_size, 11, "O_CREAT keeps existing contents");
		CHECK_MODE(st.st_mode, S_IFREG | 0640, "O_CREAT keeps the existing mode");
		close(fd);
	}
	CHECK_OK(stat("f", &st), "stat before O_TRUNC");
	t0 = ts_ns(st.st_mtim);
	nap();
	fd = open("f", O_WRONLY | O_TRUNC);
	CHECK_OK(fd, "open with O_TRUNC");
	if (fd >= 0) {
		CHECK_OK(fstat(fd, &st), "fstat after O_TRUNC");
		CHECK_EQ(st.st_size, 0, "O_TRUNC empties the file");
		CHECK(ts_ns(st.st_mtim) > t0, "O_TRUNC updates mtime");
		CHECK_ERR(read(fd, buf, 1), EBADF, "read on an O_WRONLY descriptor");
		close(fd);
	}
	fd = open("f", O_RDONLY);
	CHECK_OK(fd, "open O_RDONLY");
	if (fd >= 0) {
		CHECK_ERR(write(fd, "x", 1), EBADF, "write on an O_RDONLY descriptor");
		close(fd);
	}
	CHECK_ERR(open("missing", O_RDONLY), ENOENT, "open of a missing file without O_CREAT");
	CHECK_ERR(open("nodir/f", O_RDWR | O_CREAT, 0644), ENOENT,
		  "O_CREAT in a missing directory");
	CHECK_ERR(open("f/x", O_RDWR | O_CREAT, 0644), ENOTDIR, "O_CREAT below a regular file");
	CHECK_OK(mkdir("d", 0755), "mkdir d");
	CHECK_ERR(open("d", O_WRONLY), EISDIR, "open a directory O_WRONLY");
	CHECK_ERR(open("d", O_RDWR), EISDIR, "open a directory O_RDWR");
	CHECK_ERR(open("d", O_WRONLY | O_CREAT, 0644), EISDIR, "O_CREAT on an existing directory");
	CHECK_ERR(open("newfile/", O_WRONLY | O_CREAT, 0644), EISDIR,
		  "O_CREAT of a name with a trailing slash");
	CHECK_OK(symlink("f", "lnk"), "symlink lnk -> f");
	CHECK_ERR(open("lnk", O_RDONLY | O_NOFOLLOW), ELOOP, "O_NOFOLLOW on a symlink");
	CHECK_ERR(open("lnk", O_RDWR | O_CREAT | O_EXCL, 0644), EEXIST,
		  "O_CREAT|O_EXCL on a symlink");
	CHECK_OK(symlink("target", "dangling"), "dangling symlink");
	CHECK_ERR(open("dangling", O_RDWR | O_CREAT | O_EXCL, 0644), EEXIST,
		  "O_CREAT|O_EXCL on a dangling symlink");
	CHECK(!exists("target"), "O_EXCL did not create the symlink target");
	fd = open("dangling", O_RDWR | O_CREAT, 0644);
	CHECK_OK(fd, "O_CREAT through a dangling symlink");
	if (fd >= 0)
		close(fd);
	CHECK(exists("target") && S_ISREG(mode_of("target")),
	      "O_CREAT through a dangling symlink creates its target");
	CHECK(S_ISLNK(mode_of("dangling")), "the symlink stays a symlink");

	fd = open("mode0", O_RDWR | O_CREAT | O_EXCL, 0);
	CHECK_OK(fd, "create with mode 0");
	if (fd >= 0) {
		CHECK_EQ(write(fd, "x", 1), 1, "the creating open may write despite mode 0");
		close(fd);
	}
	CHECK_MODE(mode_of("mode0"), S_IFREG, "mode 0 file has mode 0");
	umask(0);
	fd = open("m777", O_RDWR | O_CREAT | O_EXCL, 0777);
	umask(022);
	CHECK_OK(fd, "create with mode 0777 and umask 0");
	if (fd >= 0)
		close(fd);
	CHECK_MODE(mode_of("m777"), S_IFREG | 0777, "umask 0 keeps mode 0777");
	fd = open("suid", O_RDWR | O_CREAT | O_EXCL, 04755);
	CHECK_OK(fd, "create with mode 04755");
	if (fd >= 0)
		close(fd);
	CHECK_MODE(mode_of("suid"), S_IFREG | 04755, "root may create setuid files");
	fd = creat("creat", 0600);
	CHECK_OK(fd, "creat()");
	if (fd >= 0) {
		CHECK_ERR(read(fd, buf, 1), EBADF, "creat() opens write-only");
		close(fd);
	}
	{
		int fd1 = open("two", O_RDWR | O_CREAT, 0644);
		int fd2 = open("two", O_RDWR);

		CHECK(fd1 >= 0 && fd2 >= 0, "two descriptors for one file");
		if (fd1 >= 0 && fd2 >= 0) {
			CHECK_EQ(write(fd1, "abcdef", 6), 6, "write through the first");
			CHECK_EQ(read(fd2, buf, 6), 6, "read through the second");
			t_mem(buf, "abcdef", 6, "the second sees the first's data");
			CHECK_EQ(lseek(fd2, 0, SEEK_CUR), 6, "independent offsets");
			CHECK_EQ(lseek(fd1, 0, SEEK_CUR), 6,
				 "first offset advanced by its own write");
		}
		if (fd1 >= 0)
			close(fd1);
		if (fd2 >= 0)
			close(fd2);
	}
}

/* ---- mkdir and rmdir --------------------------------------------------------------------- */

/* A file, directory, symlink or fifo (type) at path. */
static int make_node(const char *path, mode_t type)
{
	switch (type) {
	case S_IFDIR:
		return mkdir(path, 0755);
	case S_IFLNK:
		return symlink("x", path);
	case S_IFIFO:
		return mkfifo(path, 0644);
	default:
		return mkfile_str(path, "x");
	}
}

void g_mkdir_rmdir(void)
{
	static const struct {
		const char *path, *what;
		mode_t type;
	} inside[] = {
		{"d/file", "a file", S_IFREG},
		{"d/sub", "a subdirectory", S_IFDIR},
		{"d/l", "a symlink", S_IFLNK},
		{"d/p", "a fifo", S_IFIFO},
	};
	struct stat st;
	char path[4096];
	size_t k;

	CHECK_OK(mkdir("d", 0755), "mkdir");
	CHECK_OK(stat("d", &st), "stat new directory");
	CHECK_MODE(st.st_mode, S_IFDIR | 0755, "new directory mode");
	CHECK_EQ(st.st_nlink, 2, "new directory has two links");
	CHECK_EQ(st.st_uid, 0, "new directory owned by root");
	CHECK_ERR(mkdir("d", 0755), EEXIST, "mkdir of an existing directory");
	CHECK_OK(mkfile_str("f", "x"), "create f");
	CHECK_ERR(mkdir("f", 0755), EEXIST, "mkdir over a file");
	CHECK_OK(symlink("nowhere", "sl"), "dangling symlink");
	CHECK_ERR(mkdir("sl", 0755), EEXIST, "mkdir over a dangling symlink");
	CHECK_ERR(mkdir("missing/x", 0755), ENOENT, "mkdir in a missing directory");
	CHECK_ERR(mkdir("f/x", 0755), ENOTDIR, "mkdir below a file");
	CHECK_OK(mkdir("m", 0777), "mkdir 0777");
	CHECK_MODE(mode_of("m"), S_IFDIR | 0755, "mkdir applies the umask");
	CHECK_OK(mkdir("s", 01777), "mkdir 01777");
	CHECK_MODE(mode_of("s"), S_IFDIR | 01755, "mkdir keeps the sticky bit");
	CHECK_OK(mkdir("slash/", 0755), "mkdir with a trailing slash");
	CHECK(S_ISDIR(mode_of("slash")), "trailing-slash mkdir made a directory");
	for (k = 0; k < sizeof(inside) / sizeof(inside[0]); k++) {
		const char *p = inside[k].path;

		CHECK_OK(make_node(p, inside[k].type), "create %s", p);
		CHECK_ERR(rmdir("d"), ENOTEMPTY, "rmdir of a directory with %s", inside[k].what);
		CHECK_OK(inside[k].type == S_IFDIR ? rmdir(p) : unlink(p), "remove %s", p);
	}
	CHECK_ERR(rmdir("f"), ENOTDIR, "rmdir of a file");
	CHECK_ERR(rmdir("missing"), ENOENT, "rmdir of a missing name");
	CHECK_ERR(rmdir("."), EINVAL, "rmdir .");
	CHECK_ERR(rmdir("d/."), EINVAL, "rmdir d/.");
	CHECK_ERR(rmdir("d/.."), ENOTEMPTY, "rmdir d/..");
	CHECK_ERR(unlink("d"), EISDIR, "unlink of a directory");
	CHECK_OK(symlink("d", "dl"), "symlink to a directory");
	CHECK_ERR(rmdir("dl"), ENOTDIR, "rmdir of a symlink to a directory");
	CHECK_OK(rmdir("d"), "rmdir of an empty directory");
	CHECK_ERR(stat("d", &st), ENOENT, "removed directory is gone");
	CHECK_OK(mkdir("d", 0700), "mkdir again with the same name");
	CHECK_MODE(mode_of("d"), S_IFDIR | 0700, "recreated directory has the new mode");
	CHECK_EQ(nlink_of("d"), 2, "recreated directory is empty");
	CHECK_OK(rmdir("slash/"), "rmdir with a trailing slash");

	/* 64 levels of nesting */
	{
		bool okm = true, okr = true;
		size_t len = 0;

		path[0] = 0;
		for (int i = 0; i < 64 && okm; i++) {
			len += (size_t)snprintf(path + len, sizeof(path) - len, "%slevel%02d",
						i ? "/" : "", i);
			if (mkdir(path, 0755) < 0)
				okm = false;
		}
		CHECK(okm, "mkdir 64 nested levels");
		CHECK_OK(mkfile_str(strcat(path, "/leaf"), "deep"), "create a file 64 levels deep");
		check_content(path, "deep", "deep file");
		CHECK_OK(unlink(path), "unlink the deep file");
		*strrchr(path, '/') = 0;
		for (int i = 63; i >= 0 && okr; i--) {
			if (rmdir(path) < 0)
				okr = false;
			char *sl = strrchr(path, '/');
			if (sl)
				*sl = 0;
		}
		CHECK(okr, "rmdir 64 nested levels from the bottom");
		CHECK(!exists("level00"), "nested tree is gone");
	}
}

/* ---- directory link counts ------------------------------------------------------------ */

void g_nlink_dirs(void)
{
	CHECK_EQ(nlink_of("."), 2, "empty test directory has nlink 2");
	CHECK_OK(mkdir("p", 0755), "mkdir p");
	CHECK_OK(mkdir("q", 0755), "mkdir q");
	CHECK_EQ(nlink_of("."), 4, "parent nlink 2 + 2 subdirectories");
	CHECK_OK(mkdir("p/a", 0755), "mkdir p/a");
	CHECK_OK(mkdir("p/b", 0755), "mkdir p/b");
	CHECK_OK(mkdir("p/c", 0755), "mkdir p/c");
	CHECK_EQ(nlink_of("p"), 5, "p has nlink 2 + 3");
	CHECK_OK(mkfile_str("p/f1", "x"), "file in p");
	CHECK_OK(symlink("f1", "p/l"), "symlink in p");
	CHECK_OK(mkfifo("p/fifo", 0644), "fifo in p");
	CHECK_EQ(nlink_of("p"), 5, "files, symlinks and fifos do not count");
	CHECK_OK(rmdir("p/c"), "rmdir p/c");
	CHECK_EQ(nlink_of("p"), 4, "rmdir decrements the parent's nlink");
	CHECK_OK(rename("p/b", "q/b"), "move p/b to q/b");
	CHECK_EQ(nlink_of("p"), 3, "source parent loses a link");
	CHECK_EQ(nlink_of("q"), 3, "target parent gains a link");
	CHECK_OK(mkdir("q/e", 0755), "mkdir q/e");
	CHECK_EQ(nlink_of("q"), 4, "q has two subdirectories");
	CHECK_OK(rename("p/a", "q/e"), "move p/a over the empty q/e");
	CHECK_EQ(nlink_of("p"), 2, "source parent of a replacing rename");
	CHECK_EQ(nlink_of("q"), 4, "target parent keeps its count when a directory is replaced");
	CHECK_OK(rename("p/f1", "q/f1"), "move a file");
	CHECK_EQ(nlink_of("p"), 2, "moving a file leaves the source nlink");
	CHECK_EQ(nlink_of("q"), 4, "moving a file leaves the target nlink");
	CHECK_OK(rename("q/b", "q/b2"), "rename a directory within its parent");
	CHECK_EQ(nlink_of("q"), 4, "rename within the parent keeps nlink");
	CHECK_OK(mkdir("q/b2/deep", 0755), "mkdir q/b2/deep");
	CHECK_EQ(nlink_of("q/b2"), 3, "q/b2 has one subdirectory");
	CHECK_OK(renameat2(AT_FDCWD, "q/b2", AT_FDCWD, "p/fifo", RENAME_EXCHANGE),
		 "exchange a directory with a fifo in another directory");
	CHECK_EQ(nlink_of("p"), 3, "exchange: directory arrived in p");
	CHECK_EQ(nlink_of("q"), 3, "exchange: directory left q");
	CHECK_OK(renameat2(AT_FDCWD, "p/fifo", AT_FDCWD, "q/e", RENAME_EXCHANGE),
		 "exchange two directories across parents");
	CHECK_EQ(nlink_of("p"), 3, "exchanging two directories keeps p's nlink");
	CHECK_EQ(nlink_of("q"), 3, "exchanging two directories keeps q's nlink");
	CHECK_EQ(nlink_of("q/e"), 3, "a moved directory keeps its own nlink");
	for (int i = 0; i < 20; i++) {
		char n[32];

		snprintf(n, sizeof(n), "p/many%d", i);
		if (mkdir(n, 0755) < 0)
			die("mkdir many");
	}
	CHECK_EQ(nlink_of("p"), 23, "p with 21 subdirectories");
	CHECK_EQ(nlink_of("."), 4, "test directory still has 2 subdirectories");
}

/* ---- mknod ------------------------------------------------------------------------------------
 */

void g_mknod(void)
{
	struct stat st;
	char buf[16];
	int rfd, wfd;
	pid_t pid;

	CHECK_OK(mkfifo("p", 0644), "mkfifo");
	CHECK_OK(lstat("p", &st), "lstat fifo");
	CHECK_MODE(st.st_mode, S_IFIFO | 0644, "fifo mode");
	CHECK_EQ(st.st_size, 0, "fifo size 0");
	CHECK_ERR(open("p", O_WRONLY | O_NONBLOCK), ENXIO,
		  "open fifo for writing without a reader");
	rfd = open("p", O_RDONLY | O_NONBLOCK);
	CHECK_OK(rfd, "open fifo for reading, non-blocking");
	if (rfd >= 0) {
		wfd = open("p", O_WRONLY | O_NONBLOCK);
		CHECK_OK(wfd, "open fifo for writing with a reader");
		if (wfd >= 0) {
			CHECK_EQ(write(wfd, "hello", 5), 5, "write into the fifo");
			CHECK_EQ(read(rfd, buf, sizeof(buf)), 5, "read from the fifo");
			t_mem(buf, "hello", 5, "fifo passes the data");
			close(wfd);
		}
		close(rfd);
	}
	CHECK_ERR(mkfifo("p", 0644), EEXIST, "mkfifo over an existing name");

	CHECK_OK(mknod("chr", S_IFCHR | 0600, makedev(1, 7)), "mknod char device");
	CHECK_OK(lstat("chr", &st), "lstat char device");
	CHECK(S_ISCHR(st.st_mode), "char device type");
	CHECK_MODE(st.st_mode & 07777, 0600, "char device mode");
	CHECK_EQ(major(st.st_rdev), 1, "char device major");
	CHECK_EQ(minor(st.st_rdev), 7, "char device minor");
	CHECK_OK(mknod("blk", S_IFBLK | 0640, makedev(259, 65539)), "mknod block device");
	CHECK_OK(lstat("blk", &st), "lstat block device");
	CHECK(S_ISBLK(st.st_mode), "block device type");
	CHECK_EQ(major(st.st_rdev), 259, "block device major 259");
	CHECK_EQ(minor(st.st_rdev), 65539, "block device minor 65539");
	CHECK_OK(mknod("sock", S_IFSOCK | 0755, 0), "mknod socket");
	CHECK(S_ISSOCK(mode_of("sock")), "socket type");
	CHECK_OK(mknod("reg", S_IFREG | 0600, 0), "mknod regular file");
	CHECK_MODE(mode_of("reg"), S_IFREG | 0600, "mknod S_IFREG makes a regular file");
	CHECK_EQ(fsize("reg"), 0, "mknod regular file is empty");
	CHECK_OK(mknod("reg0", 0600, 0), "mknod with type 0");
	CHECK_MODE(mode_of("reg0"), S_IFREG | 0600, "type 0 makes a regular file");
	CHECK_ERR(mknod("chr", S_IFCHR | 0600, makedev(1, 3)), EEXIST,
		  "mknod over an existing name");
	CHECK_ERR(mknod("dir", S_IFDIR | 0755, 0), EPERM, "mknod cannot make a directory");
	CHECK_OK(link("chr", "chr2"), "hard link to a device node");
	CHECK_OK(lstat("chr2", &st), "lstat link");
	CHECK_EQ(st.st_rdev, makedev(1, 7), "link shares rdev");
	CHECK_EQ(st.st_nlink, 2, "device node with two links");
	CHECK_OK(rename("blk", "blk2"), "rename a block device");
	CHECK_OK(lstat("blk2", &st), "lstat renamed device");
	CHECK_EQ(st.st_rdev, makedev(259, 65539), "rename keeps rdev");
	CHECK_OK(unlink("chr"), "unlink a device node");
	CHECK_OK(unlink("p"), "unlink a fifo");

	pid = child_u(U1);
	if (pid == 0) {
		CHECK_ERR(mknod("uchr", S_IFCHR | 0600, makedev(1, 3)), EPERM,
			  "unprivileged mknod of a char device");
		CHECK_ERR(mknod("ublk", S_IFBLK | 0600, makedev(7, 0)), EPERM,
			  "unprivileged mknod of a block device");
		CHECK_OK(mkfifo("ufifo", 0600), "unprivileged mkfifo");
		_exit(0);
	}
	wait_child(pid, "unprivileged mknod");
	CHECK_OK(lstat("ufifo", &st), "lstat unprivileged fifo");
	CHECK_EQ(st.st_uid, U1, "unprivileged fifo owner");
}

/* ---- AF_UNIX socket files ----------------------------------------------------------------------
 */

void g_socket(void)
{
	struct sockaddr_un sa;
	int s, c, a;
	char buf[8];

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, "sock");
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s < 0)
		die("socket");
	CHECK_OK(bind(s, (struct sockaddr *)&sa, sizeof(sa)), "bind a unix socket");
	CHECK(S_ISSOCK(mode_of("sock")), "bound name is a socket");
	CHECK_OK(listen(s, 4), "listen");
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (c < 0)
		die("socket");
	CHECK_OK(connect(c, (struct sockaddr *)&sa, sizeof(sa)), "connect through the socket file");
	a = accept(s, NULL, NULL);
	CHECK_OK(a, "accept");
	if (a >= 0) {
		CHECK_EQ(write(c, "ping", 4), 4, "send through the socket");
		CHECK_EQ(read(a, buf, 4), 4, "receive");
		t_mem(buf, "ping", 4, "data passes the socket");
		close(a);
	}
	close(c);
	{
		int s2 = socket(AF_UNIX, SOCK_STREAM, 0);

		CHECK_ERR(bind(s2, (struct sockaddr *)&sa, sizeof(sa)), EADDRINUSE,
			  "bind to an existing socket file");
		close(s2);
	}
	close(s);
	CHECK_OK(rename("sock", "sock2"), "rename a socket file");
	CHECK(S_ISSOCK(mode_of("sock2")), "renamed socket is a socket");
	CHECK_OK(unlink("sock2"), "unlink a socket file");
	{
		int d = socket(AF_UNIX, SOCK_DGRAM, 0);

		strcpy(sa.sun_path, "dgram");
		CHECK_OK(bind(d, (struct sockaddr *)&sa, sizeof(sa)), "bind a datagram socket");
		CHECK(S_ISSOCK(mode_of("dgram")), "datagram socket file");
		close(d);
	}
}

/* ---- symlinks ----------------------------------------------------------------------------------
 */

void g_symlink(void)
{
	char buf[8192], target[8192];
	struct stat st, st2;
	ssize_t n;

	CHECK_OK(mkfile_str("target-file", "tdata"), "create target-file");
	CHECK_OK(symlink("target-file", "l"), "symlink");
	CHECK_OK(lstat("l", &st), "lstat symlink");
	CHECK(S_ISLNK(st.st_mode), "lstat says symlink");
	CHECK_MODE(st.st_mode & 07777, 0777, "symlink mode 0777");
	CHECK_EQ(st.st_size, 11, "symlink size is the target length");
	CHECK_EQ(st.st_nlink, 1, "symlink nlink 1");
	CHECK(st.st_ino != ino_of("target-file"), "symlink has its own inode");
	n = readlink("l", buf, sizeof(buf));
	CHECK_EQ(n, 11, "readlink length");
	t_mem(buf, "target-file", 11, "readlink contents");
	CHECK_EQ(readlink("l", buf, 4), 4, "readlink into a small buffer truncates");
	t_mem(buf, "targ", 4, "truncated readlink contents");
	CHECK_ERR(readlink("target-file", buf, sizeof(buf)), EINVAL, "readlink of a regular file");
	CHECK_ERR(readlink("missing", buf, sizeof(buf)), ENOENT, "readlink of a missing name");
	CHECK_ERR(symlink("x", "l"), EEXIST, "symlink over an existing name");
	CHECK_ERR(symlink("x", "target-file"), EEXIST, "symlink over an existing file");
	CHECK_OK(stat("l", &st2), "stat through the symlink");
	CHECK_EQ(st2.st_ino, ino_of("target-file"), "stat follows the symlink");
	check_content("l", "tdata", "open through a symlink");
	CHECK_OK(symlink("nothing-here", "dangling"), "dangling symlink");
	CHECK_ERR(stat("dangling", &st), ENOENT, "stat of a dangling symlink");
	CHECK_OK(lstat("dangling", &st), "lstat of a dangling symlink");
	CHECK_OK(symlink("loop2", "loop1"), "symlink loop1 -> loop2");
	CHECK_OK(symlink("loop1", "loop2"), "symlink loop2 -> loop1");
	CHECK_ERR(stat("loop1", &st), ELOOP, "symlink loop");
	CHECK_OK(symlink("self", "self"), "self-referencing symlink");
	CHECK_ERR(open("self", O_RDONLY), ELOOP, "open a self-referencing symlink");
	CHECK_ERR(symlink("", "empty"), ENOENT, "symlink with an empty target");

	CHECK_OK(mkdir("d", 0755), "mkdir d");
	CHECK_OK(mkfile_str("d/inner", "inner"), "create d/inner");
	CHECK_OK(symlink("d", "ld"), "symlink to a directory");
	check_content("ld/inner", "inner", "path through a directory symlink");
	CHECK_OK(stat("ld/.", &st), "stat ld/.");
	CHECK_EQ(st.st_ino, ino_of("d"), "ld/. is d");
	CHECK_OK(symlink("../target-file", "d/up"), "relative symlink with ..");
	check_content("d/up", "tdata", "relative symlink resolves from its directory");
	CHECK_OK(symlink("d/inner", "chain1"), "chain1 -> d/inner");
	CHECK_OK(symlink("chain1", "chain2"), "chain2 -> chain1");
	check_content("chain2", "inner", "chain of symlinks");

	/* Targets up to PATH_MAX - 1. */
	for (int i = 0; i < 4095; i++)
		target[i] = (i % 50 == 49) ? '/' : (char)('a' + i % 26);
	target[4095] = 0;
	CHECK_OK(symlink(target, "long"), "symlink with a 4095-byte target");
	n = readlink("long", buf, sizeof(buf));
	CHECK_EQ(n, 4095, "4095-byte target length");
	t_mem(buf, target, 4095, "4095-byte target contents");
	CHECK_EQ(fsize("long"), 4095, "size of a symlink with a 4095-byte target");
	target[4095] = 'x';
	target[4096] = 0;
	CHECK_ERR(symlink(target, "toolong"), ENAMETOOLONG, "symlink with a 4096-byte target");
	{
		const char *odd = "with space/new\nline/tab\t/\xc3\xa9t\xc3\xa9/\xff\xfe/end";

		CHECK_OK(symlink(odd, "odd"), "symlink with unusual bytes in the target");
		n = readlink("odd", buf, sizeof(buf));
		CHECK_EQ(n, (ssize_t)strlen(odd), "unusual target length");
		t_mem(buf, odd, strlen(odd), "unusual target preserved");
	}
	CHECK_OK(rename("l", "l2"), "rename a symlink");
	n = readlink("l2", buf, sizeof(buf));
	CHECK_EQ(n, 11, "renamed symlink keeps its target");
	CHECK_OK(unlink("l2"), "unlink a symlink");
	check_content("target-file", "tdata", "unlinking a symlink leaves its target");
	{
		int dfd = open("d", O_RDONLY | O_DIRECTORY);

		CHECK_OK(dfd, "open d");
		if (dfd >= 0) {
			CHECK_OK(symlinkat("inner", dfd, "at"), "symlinkat");
			n = readlinkat(dfd, "at", buf, sizeof(buf));
			CHECK_EQ(n, 5, "readlinkat");
			close(dfd);
		}
	}
}

/* ---- hard links -------------------------------------------------------------------------------
 */

void g_link(void)
{
	struct stat st, st2;
	char name[64];
	bool okl = true;
	int fd;

	CHECK_OK(mkdir("a", 0755), "mkdir a");
	CHECK_OK(mkdir("b", 0755), "mkdir b");
	CHECK_OK(mkfile_str("a/f", "original"), "create a/f");
	CHECK_OK(link("a/f", "b/g"), "link across directories");
	CHECK_OK(stat("a/f", &st), "stat a/f");
	CHECK_OK(stat("b/g", &st2), "stat b/g");
	CHECK_EQ(st.st_ino, st2.st_ino, "both names have one inode");
	CHECK_EQ(st.st_nlink, 2, "nlink 2 through the first name");
	CHECK_EQ(st2.st_nlink, 2, "nlink 2 through the second name");
	fd = open("b/g", O_WRONLY | O_TRUNC);
	if (fd >= 0) {
		CHECK_EQ(write(fd, "changed", 7), 7, "write through the second name");
		close(fd);
	}
	check_content("a/f", "changed", "first name sees the write");
	CHECK_OK(link("a/f", "a/h"), "third link");
	CHECK_EQ(nlink_of("b/g"), 3, "nlink 3");
	CHECK_OK(unlink("a/f"), "unlink the first name");
	CHECK_EQ(nlink_of("b/g"), 2, "nlink 2 after unlink");
	check_content("b/g", "changed", "data survives unlinking one name");
	CHECK_OK(rename("a/h", "b/g"), "rename one link over another link of the same inode");
	CHECK(exists("a/h") && exists("b/g"), "rename between links of one inode does nothing");
	CHECK_EQ(nlink_of("b/g"), 2, "nlink unchanged by that rename");
	CHECK_ERR(link("a", "dirlink"), EPERM, "link to a directory");
	CHECK_ERR(link("a/h", "b/g"), EEXIST, "link over an existing name");
	CHECK_ERR(link("missing", "x"), ENOENT, "link from a missing name");
	CHECK_ERR(link("a/h", "missing/x"), ENOENT, "link into a missing directory");
	CHECK_ERR(link("a/h", "a/h/x"), ENOTDIR, "link below a file");
	CHECK_OK(symlink("a/h", "sym"), "symlink sym -> a/h");
	CHECK_OK(linkat(AT_FDCWD, "sym", AT_FDCWD, "symlink-link", 0),
		 "linkat of a symlink without AT_SYMLINK_FOLLOW");
	CHECK(S_ISLNK(mode_of("symlink-link")), "the new name is the symlink itself");
	CHECK_EQ(ino_of("symlink-link"), ino_of("sym"), "links the symlink's inode");
	CHECK_EQ(nlink_of("sym"), 2, "symlink has two links");
	CHECK_OK(linkat(AT_FDCWD, "sym", AT_FDCWD, "followed", AT_SYMLINK_FOLLOW),
		 "linkat with AT_SYMLINK_FOLLOW");
	CHECK_EQ(ino_of("followed"), ino_of("a/h"), "AT_SYMLINK_FOLLOW links the target");
	CHECK_EQ(nlink_of("a/h"), 3, "target has three links");
	CHECK_OK(mkfifo("fifo", 0600), "mkfifo");
	CHECK_OK(link("fifo", "b/fifo"), "link to a fifo");
	CHECK_EQ(nlink_of("fifo"), 2, "fifo with two links");

	CHECK_OK(mkfile_str("many", "m"), "create many");
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "%s/many%d", i % 2 ? "a" : "b", i);
		if (link("many", name) < 0)
			okl = false;
	}
	CHECK(okl, "100 more links");
	CHECK_EQ(nlink_of("many"), 101, "nlink 101");
	okl = true;
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "%s/many%d", i % 2 ? "a" : "b", i);
		if (unlink(name) < 0)
			okl = false;
	}
	CHECK(okl, "unlink the 100 links");
	CHECK_EQ(nlink_of("many"), 1, "nlink back to 1");

	CHECK_OK(unlink("a/h"), "unlink a/h");
	CHECK_OK(rename("a", "c"), "rename a directory holding one link");
	CHECK_EQ(nlink_of("followed"), 2, "links elsewhere unaffected by a directory rename");
	check_content("b/g", "changed", "data after all link changes");
}

/* ---- unlink and rename of open files ------------------------------------------------------------
 */

void g_unlink_open(void)
{
	struct stat st;
	char buf[64];
	int fd, fd2;

	fd = create_rw("f");
	if (fd < 0)
		return;
	CHECK_EQ(write(fd, "hello", 5), 5, "write hello");
	CHECK_OK(unlink("f"), "unlink the open file");
	CHECK_ERR(stat("f", &st), ENOENT, "name is gone");
	CHECK_OK(fstat(fd, &st), "fstat after unlink");
	CHECK_EQ(st.st_nlink, 0, "unlinked open file has nlink 0");
	CHECK_EQ(st.st_size, 5, "size kept");
	CHECK_EQ(pread(fd, buf, 5, 0), 5, "read after unlink");
	t_mem(buf, "hello", 5, "data readable after unlink");
	CHECK_EQ(pwrite(fd, " world", 6, 5), 6, "write after unlink");
	CHECK_EQ(pread(fd, buf, 11, 0), 11, "read back");
	t_mem(buf, "hello world", 11, "data written after unlink readable");
	CHECK_OK(ftruncate(fd, 3), "ftruncate after unlink");
	CHECK_OK(fstat(fd, &st), "fstat");
	CHECK_EQ(st.st_size, 3, "size after ftruncate of an unlinked file");
	CHECK_OK(fchmod(fd, 0600), "fchmod after unlink");
	CHECK_OK(fstat(fd, &st), "fstat");
	CHECK_MODE(st.st_mode, S_IFREG | 0600, "mode after fchmod of an unlinked file");
	CHECK_OK(fsync(fd), "fsync an unlinked file");
	CHECK_OK(close(fd), "close the unlinked file");
	CHECK_OK(mkfile_str("f", "new"), "recreate the name");
	check_content("f", "new", "new file under the old name");

	fd = open("g", O_RDWR | O_CREAT, 0644);
	fd2 = open("g", O_RDONLY);
	CHECK(fd >= 0 && fd2 >= 0, "two descriptors on g");
	if (fd >= 0 && fd2 >= 0) {
		CHECK_EQ(write(fd, "abc", 3), 3, "write abc");
		CHECK_OK(unlink("g"), "unlink g");
		CHECK_OK(close(fd), "close the first descriptor");
		CHECK_EQ(pread(fd2, buf, 3, 0), 3, "read through the second");
		t_mem(buf, "abc", 3, "data alive until the last close");
		CHECK_OK(mkfile_str("g", "xyz"), "recreate g");
		CHECK_EQ(pread(fd2, buf, 3, 0), 3, "old descriptor still reads");
		t_mem(buf, "abc", 3, "old descriptor sees the old file");
		CHECK_OK(fstat(fd2, &st), "fstat old");
		CHECK(st.st_ino != ino_of("g"), "new file has a different inode");
		close(fd2);
	}

	CHECK_OK(mkfile_str("t", "old target"), "create target t");
	CHECK_OK(mkfile_str("s", "source"), "create source s");
	fd = open("t", O_RDWR);
	CHECK_OK(fd, "open t");
	if (fd >= 0) {
		CHECK_OK(rename("s", "t"), "rename s over the open t");
		CHECK_OK(fstat(fd, &st), "fstat replaced file");
		CHECK_EQ(st.st_nlink, 0, "replaced open file has nlink 0");
		CHECK_EQ(pread(fd, buf, 10, 0), 10, "read the replaced file");
		t_mem(buf, "old target", 10, "replaced file keeps its data");
		CHECK_EQ(pwrite(fd, "OLD", 3, 0), 3, "write to the replaced file");
		check_content("t", "source", "the name shows the new file");
		close(fd);
	}
	check_content("t", "source", "the name still shows the new file after close");

	/* A large unlinked file stays fully readable. */
	{
		unsigned char *big = xmalloc(8 * MiB);

		pat_fill(big, 8 * MiB, 21, 0);
		fd = open("big", O_RDWR | O_CREAT, 0644);
		if (fd >= 0) {
			CHECK_EQ(pwrite_all(fd, big, 8 * MiB, 0), 8 * MiB, "write 8 MiB");
			CHECK_OK(unlink("big"), "unlink the 8 MiB file");
			check_pattern(fd, 0, 8 * MiB, 21, "8 MiB readable after unlink");
			close(fd);
		}
		free(big);
	}

	/* Rename of an open file keeps the descriptor working. */
	fd = open("mv", O_RDWR | O_CREAT, 0644);
	if (fd >= 0) {
		CHECK_OK(mkdir("sub", 0755), "mkdir sub");
		CHECK_OK(rename("mv", "sub/moved"), "rename the open file into sub");
		CHECK_EQ(write(fd, "moved", 5), 5, "write after rename");
		close(fd);
		check_content("sub/moved", "moved", "data written after rename under the new name");
	}

	/* A file with two links, one unlinked while open. */
	CHECK_OK(mkfile_str("two", "2"), "create two");
	CHECK_OK(link("two", "two-b"), "second link");
	fd = open("two", O_RDONLY);
	if (fd >= 0) {
		CHECK_OK(unlink("two"), "unlink one of two links");
		CHECK_OK(fstat(fd, &st), "fstat");
		CHECK_EQ(st.st_nlink, 1, "open file keeps one link");
		close(fd);
	}

	/* Directory removed while open. */
	CHECK_OK(mkdir("rd", 0755), "mkdir rd");
	{
		int dfd = open("rd", O_RDONLY | O_DIRECTORY);

		CHECK_OK(dfd, "open rd");
		if (dfd >= 0) {
			char dbuf[4096];

			CHECK_OK(rmdir("rd"), "rmdir the open directory");
			CHECK_OK(fstat(dfd, &st), "fstat removed directory");
			CHECK_EQ(st.st_nlink, 0, "removed directory has nlink 0");
			CHECK_ERR(syscall(SYS_getdents64, dfd, dbuf, sizeof(dbuf)), ENOENT,
				  "reading a removed directory");
			CHECK_ERR(openat(dfd, "x", O_RDWR | O_CREAT, 0644), ENOENT,
				  "creating in a removed directory");
			close(dfd);
		}
	}
}

/* ---- rename ------------------------------------------------------------------------------------
 */

void g_rename(void)
{
	struct stat st;
	ino_t ino;

	CHECK_OK(mkfile_str("a", "A"), "create a");
	ino = ino_of("a");
	CHECK_OK(rename("a", "b"), "rename a to b");
	CHECK(!exists("a"), "old name gone");
	check_content("b", "A", "new name has the data");
	CHECK_EQ(ino_of("b"), ino, "rename keeps the inode number");
	CHECK_OK(mkdir("d1", 0755), "mkdir d1");
	CHECK_OK(mkdir("d2", 0755), "mkdir d2");
	CHECK_OK(rename("b", "d1/x"), "rename into a directory");
	CHECK_OK(rename("d1/x", "d2/y"), "rename across directories");
	check_content("d2/y", "A", "file moved across directories");
	CHECK_EQ(ino_of("d2/y"), ino, "inode kept across directories");
	CHECK_OK(mkfile_str("d1/victim", "victim"), "create d1/victim");
	CHECK_OK(link("d1/victim", "victim-link"), "second link to the victim");
	CHECK_OK(rename("d2/y", "d1/victim"), "rename over an existing file");
	check_content("d1/victim", "A", "target replaced");
	CHECK(!exists("d2/y"), "source gone after replacing");
	CHECK_EQ(nlink_of("victim-link"), 1, "replaced inode lost one link");
	check_content("victim-link", "victim", "replaced inode's other name keeps its data");
	CHECK_OK(rename("d1/victim", "d1/victim"), "rename to itself");
	CHECK(exists("d1/victim"), "rename to itself keeps the file");
	CHECK_ERR(rename("missing", "z"), ENOENT, "rename a missing name");
	CHECK_ERR(rename("d1/victim", "missing/z"), ENOENT, "rename into a missing directory");
	CHECK_ERR(rename("d1/victim", "victim-link/z"), ENOTDIR, "rename below a file");
	CHECK_OK(mkdir("e", 0755), "mkdir e");
	CHECK_ERR(rename("d1/victim", "e"), EISDIR, "rename a file over a directory");
	CHECK_ERR(rename("e", "d1/victim"), ENOTDIR, "rename a directory over a file");
	CHECK_OK(mkdir("full", 0755), "mkdir full");
	CHECK_OK(mkfile_str("full/f", "x"), "fill it");
	CHECK_ERR(rename("e", "full"), ENOTEMPTY, "rename a directory over a non-empty one");
	CHECK_OK(mkdir("empty", 0755), "mkdir empty");
	CHECK_OK(mkfile_str("e/inside", "in"), "file inside e");
	CHECK_OK(rename("e", "empty"), "rename a directory over an empty directory");
	check_content("empty/inside", "in", "contents moved with the directory");
	CHECK(!exists("e"), "old directory name gone");
	CHECK_ERR(rename("d1/victim", "newname/"), ENOTDIR,
		  "rename a file to a name with a trailing slash");
	CHECK_ERR(rename("d1/victim/", "newname"), ENOTDIR, "rename a file named with a slash");
	CHECK_OK(rename("empty/", "moved/"), "rename directories named with trailing slashes");
	CHECK(S_ISDIR(mode_of("moved")), "directory renamed with slashes");
	CHECK_ERR2(rename(".", "dot"), EBUSY, EINVAL, "rename .");
	CHECK_ERR2(rename("moved/.", "dot"), EBUSY, EINVAL, "rename moved/.");
	CHECK_OK(symlink("moved", "sl"), "symlink to a directory");
	CHECK_ERR(rename("sl", "d2"), EISDIR, "rename a symlink over a directory");
	CHECK_ERR(rename("d2", "sl"), ENOTDIR, "rename a directory over a symlink");
	CHECK(S_ISLNK(mode_of("sl")), "the symlink stays");

	/* Own subtree. */
	CHECK_OK(mkdir("p", 0755), "mkdir p");
	CHECK_OK(mkdir("p/c", 0755), "mkdir p/c");
	CHECK_ERR(rename("p", "p/x"), EINVAL, "rename a directory into itself");
	CHECK_ERR(rename("p", "p/c/x"), EINVAL, "rename a directory into its own subtree");
	CHECK_ERR(rename("p", "p/c"), EINVAL, "rename a directory over its own child");
	CHECK_ERR(rename("p/c", "p"), ENOTEMPTY, "rename a directory over its parent");
	CHECK(S_ISDIR(mode_of("p/c")), "tree unchanged after refused renames");

	/* ".." follows a moved directory. */
	CHECK_OK(mkdir("p/c/g", 0755), "mkdir p/c/g");
	CHECK_OK(mkfile_str("p/c/g/leaf", "leaf"), "create leaf");
	CHECK_OK(mkdir("q", 0755), "mkdir q");
	CHECK_OK(rename("p/c", "q/c2"), "move a subtree");
	CHECK_OK(stat("q/c2/..", &st), "stat q/c2/..");
	CHECK_EQ(st.st_ino, ino_of("q"), ".. of the moved directory is its new parent");
	check_content("q/c2/g/leaf", "leaf", "subtree contents after the move");
	CHECK_OK(stat("q/c2/g/../..", &st), "stat q/c2/g/../..");
	CHECK_EQ(st.st_ino, ino_of("q"), "path through .. after the move");
	CHECK(!exists("p/c"), "old subtree name gone");

	/* Many renames in one directory. */
	{
		bool okr = true;
		char a[32], b[32];

		for (int i = 0; i < 100; i++) {
			snprintf(a, sizeof(a), "r%d", i);
			if (mkfile(a, 0644, a, strlen(a)) < 0)
				okr = false;
		}
		for (int i = 0; i < 100; i++) {
			snprintf(a, sizeof(a), "r%d", i);
			snprintf(b, sizeof(b), "q/R%d", 99 - i);
			if (rename(a, b) < 0)
				okr = false;
		}
		CHECK(okr, "100 files renamed into q");
		okr = true;
		for (int i = 0; i < 100; i++) {
			char buf[32];

			snprintf(a, sizeof(a), "r%d", i);
			snprintf(b, sizeof(b), "q/R%d", 99 - i);
			if (slurp(b, buf, sizeof(buf)) < 0 || strcmp(buf, a) || exists(a))
				okr = false;
		}
		CHECK(okr, "each renamed file holds its own data");
	}

	/* A directory open while renamed stays usable. */
	{
		int dfd;

		CHECK_OK(mkdir("od", 0755), "mkdir od");
		dfd = open("od", O_RDONLY | O_DIRECTORY);
		if (dfd >= 0) {
			CHECK_OK(rename("od", "q/od2"), "rename an open directory");
			CHECK_OK(mkfile_str("q/od2/x", "x"), "create in it by its new name");
			CHECK_OK(faccessat(dfd, "x", F_OK, 0), "the open descriptor sees it");
			close(dfd);
		}
	}
}

/* ---- renameat2 ------------------------------------------------------------------------------- */

void g_renameat2(void)
{
	ino_t ia, ib;

	CHECK_OK(mkfile_str("a", "AAA"), "create a");
	CHECK_OK(mkfile_str("b", "BBB"), "create b");
	CHECK_ERR(renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_NOREPLACE), EEXIST,
		  "RENAME_NOREPLACE onto an existing file");
	check_content("b", "BBB", "target untouched by a refused RENAME_NOREPLACE");
	CHECK_OK(renameat2(AT_FDCWD, "a", AT_FDCWD, "c", RENAME_NOREPLACE),
		 "RENAME_NOREPLACE onto a new name");
	check_content("c", "AAA", "RENAME_NOREPLACE moved the file");
	CHECK(!exists("a"), "RENAME_NOREPLACE removed the old name");
	CHECK_OK(mkdir("dd", 0755), "mkdir dd");
	CHECK_ERR(renameat2(AT_FDCWD, "c", AT_FDCWD, "dd", RENAME_NOREPLACE), EEXIST,
		  "RENAME_NOREPLACE onto a directory");
	CHECK_OK(symlink("nowhere", "dl"), "dangling symlink");
	CHECK_ERR(renameat2(AT_FDCWD, "c", AT_FDCWD, "dl", RENAME_NOREPLACE), EEXIST,
		  "RENAME_NOREPLACE onto a dangling symlink");

	ia = ino_of("b");
	ib = ino_of("c");
	CHECK_OK(renameat2(AT_FDCWD, "b", AT_FDCWD, "c", RENAME_EXCHANGE),
		 "RENAME_EXCHANGE two files");
	check_content("b", "AAA", "exchange: b has c's data");
	check_content("c", "BBB", "exchange: c has b's data");
	CHECK_EQ(ino_of("c"), ia, "exchange swapped inodes (c)");
	CHECK_EQ(ino_of("b"), ib, "exchange swapped inodes (b)");
	CHECK_ERR(renameat2(AT_FDCWD, "b", AT_FDCWD, "nothing", RENAME_EXCHANGE), ENOENT,
		  "RENAME_EXCHANGE with a missing target");
	CHECK_ERR(renameat2(AT_FDCWD, "nothing", AT_FDCWD, "b", RENAME_EXCHANGE), ENOENT,
		  "RENAME_EXCHANGE with a missing source");
	CHECK_ERR(renameat2(AT_FDCWD, "b", AT_FDCWD, "c", RENAME_EXCHANGE | RENAME_NOREPLACE),
		  EINVAL, "RENAME_EXCHANGE|RENAME_NOREPLACE");

	CHECK_OK(mkdir("p1", 0755), "mkdir p1");
	CHECK_OK(mkdir("p2", 0755), "mkdir p2");
	CHECK_OK(mkdir("p1/dir", 0755), "mkdir p1/dir");
	CHECK_OK(mkfile_str("p1/dir/in", "in"), "file in p1/dir");
	CHECK_OK(mkfile_str("p2/file", "file"), "create p2/file");
	CHECK_OK(renameat2(AT_FDCWD, "p1/dir", AT_FDCWD, "p2/file", RENAME_EXCHANGE),
		 "exchange a directory and a file across directories");
	CHECK(S_ISDIR(mode_of("p2/file")), "directory now at p2/file");
	CHECK(S_ISREG(mode_of("p1/dir")), "file now at p1/dir");
	check_content("p2/file/in", "in", "directory contents follow");
	check_content("p1/dir", "file", "file contents follow");
	CHECK_EQ(nlink_of("p1"), 2, "p1 lost a subdirectory");
	CHECK_EQ(nlink_of("p2"), 3, "p2 gained a subdirectory");
	{
		struct stat st;

		CHECK_OK(stat("p2/file/..", &st), "stat ..");
		CHECK_EQ(st.st_ino, ino_of("p2"), ".. of an exchanged directory");
	}
	CHECK_OK(mkdir("p1/other", 0755), "mkdir p1/other");
	CHECK_OK(mkfile_str("p1/other/o", "o"), "file in p1/other");
	CHECK_OK(renameat2(AT_FDCWD, "p1/other", AT_FDCWD, "p2/file", RENAME_EXCHANGE),
		 "exchange two non-empty directories");
	check_content("p1/other/in", "in", "first directory's contents");
	check_content("p2/file/o", "o", "second directory's contents");
	CHECK_OK(mkdir("p1/other/child", 0755), "mkdir p1/other/child");
	CHECK_ERR(renameat2(AT_FDCWD, "p1/other", AT_FDCWD, "p1/other/child", RENAME_EXCHANGE),
		  EINVAL, "exchange a directory with its own child");
	CHECK_ERR(renameat2(AT_FDCWD, "p1/other/child", AT_FDCWD, "p1/other", RENAME_EXCHANGE),
		  EINVAL, "exchange a directory with its parent");
	CHECK_OK(renameat2(AT_FDCWD, "b", AT_FDCWD, "b", RENAME_EXCHANGE), "exchange with itself");
	check_content("b", "AAA", "exchange with itself changes nothing");
	CHECK_OK(mkdir("nr", 0755), "mkdir nr");
	CHECK_OK(renameat2(AT_FDCWD, "nr", AT_FDCWD, "p2/nr", RENAME_NOREPLACE),
		 "RENAME_NOREPLACE of a directory");
	CHECK(S_ISDIR(mode_of("p2/nr")), "directory moved with RENAME_NOREPLACE");
	CHECK_OK(symlink("b", "sb"), "symlink sb -> b");
	CHECK_OK(renameat2(AT_FDCWD, "sb", AT_FDCWD, "c", RENAME_EXCHANGE),
		 "exchange a symlink and a file");
	CHECK(S_ISLNK(mode_of("c")), "symlink now at c");
	check_content("sb", "BBB", "file now at sb");
}

/* ---- names --------------------------------------------------------------------------------------
 */

void g_names(void)
{
	char n255[300], n255b[300], n256[300], path[700], buf[300];
	struct names l = {0};

	make_name(n255, 255, 'a');
	make_name(n255b, 255, 'b');
	make_name(n256, 256, 'c');
	CHECK_OK(mkfile_str(n255, "long"), "create a 255-byte name");
	CHECK_OK(access(n255, F_OK), "look up a 255-byte name");
	check_content(n255, "long", "255-byte name");
	CHECK_OK(rename(n255, n255b), "rename to another 255-byte name");
	CHECK_OK(link(n255b, n255), "link with a 255-byte name");
	CHECK_OK(read_dir(".", &l), "list the directory");
	CHECK_EQ(names_count(&l, n255), 1, "255-byte name listed");
	CHECK_EQ(names_count(&l, n255b), 1, "second 255-byte name listed");
	names_free(&l);
	CHECK_OK(unlink(n255), "unlink a 255-byte name");
	make_name(n255, 255, 'd');
	CHECK_OK(mkdir(n255, 0755), "mkdir with a 255-byte name");
	snprintf(path, sizeof(path), "%s/%s", n255, n255b);
	CHECK_OK(symlink(n255b, path), "symlink with a 255-byte name in a 255-byte directory");
	CHECK_EQ(readlink(path, buf, sizeof(buf)), 255, "readlink of it");

	CHECK_ERR(open(n256, O_RDWR | O_CREAT, 0644), ENAMETOOLONG, "create a 256-byte name");
	CHECK_ERR(mkdir(n256, 0755), ENAMETOOLONG, "mkdir a 256-byte name");
	CHECK_ERR(symlink("x", n256), ENAMETOOLONG, "symlink named with 256 bytes");
	CHECK_ERR(link(n255b, n256), ENAMETOOLONG, "link to a 256-byte name");
	CHECK_ERR(rename(n255b, n256), ENAMETOOLONG, "rename to a 256-byte name");
	CHECK_ERR(mknod(n256, S_IFIFO | 0644, 0), ENAMETOOLONG, "mkfifo a 256-byte name");
	{
		struct stat st;

		CHECK_ERR(stat(n256, &st), ENAMETOOLONG, "look up a 256-byte name");
	}
	CHECK_ERR(unlink(n256), ENAMETOOLONG, "unlink a 256-byte name");
	CHECK_ERR(rmdir(n256), ENAMETOOLONG, "rmdir a 256-byte name");
	CHECK_OK(symlink(n256, "to-long"), "a symlink target may hold a 256-byte component");
	CHECK_EQ(readlink("to-long", buf, sizeof(buf)), 256, "readlink of that target");
	CHECK_ERR(open("to-long", O_RDONLY), ENAMETOOLONG, "following it fails with ENAMETOOLONG");

	/* Unusual bytes. */
	{
		static const char *const odd[] = {
			"h\xc3\xa9llo w\xc3\xb6rld \xe2\x98\x83",
			"with space",
			"new\nline",
			"tab\there",
			"-rf",
			"...",
			".hidden",
			"\x01\x02\x1f",
			"\xff\xfe\x80",
			"back\\slash",
			"q\"uote'",
			"*?[glob]",
			"#hash",
			"%percent",
			"colon:semi;",
		};
		size_t nodd = sizeof(odd) / sizeof(odd[0]);
		bool okn = true;

		CHECK_OK(mkdir("odd", 0755), "mkdir odd");
		for (size_t i = 0; i < nodd; i++) {
			snprintf(path, sizeof(path), "odd/%s", odd[i]);
			if (mkfile(path, 0644, odd[i], strlen(odd[i])) < 0) {
				okn = false;
				note("cannot create odd name %zu: %s", i, strerror(errno));
			}
		}
		CHECK(okn, "create %zu files with unusual bytes in their names", nodd);
		CHECK_OK(read_dir("odd", &l), "list them");
		CHECK_EQ(l.n, nodd + 2, "all listed");
		okn = true;
		for (size_t i = 0; i < nodd; i++) {
			char c[64];

			snprintf(path, sizeof(path), "odd/%s", odd[i]);
			if (names_count(&l, odd[i]) != 1 || slurp(path, c, sizeof(c)) < 0 ||
			    strcmp(c, odd[i]))
				okn = false;
		}
		CHECK(okn, "each unusual name listed once and opens its own file");
		names_free(&l);
	}
	CHECK_ERR(mkdir(".", 0755), EEXIST, "mkdir .");
	CHECK_ERR(mkdir("..", 0755), EEXIST, "mkdir ..");
	CHECK_ERR(open("..", O_WRONLY | O_CREAT, 0644), EISDIR, "create ..");

	/* A path longer than PATH_MAX. */
	{
		int dfd = open(".", O_RDONLY | O_DIRECTORY);
		char comp[201], *longpath = xmalloc(8192);
		size_t len = 0;
		bool okd = true;

		make_name(comp, 200, 'p');
		for (int i = 0; i < 25 && okd; i++) {
			int nfd;

			okd = mkdirat(dfd, comp, 0755) == 0;
			nfd = openat(dfd, comp, O_RDONLY | O_DIRECTORY);
			close(dfd);
			dfd = nfd;
			okd = okd && dfd >= 0;
			len += (size_t)snprintf(longpath + len, 8192 - len, "%s%s", i ? "/" : "",
						comp);
		}
		CHECK(okd, "build 25 levels of 200-byte names with *at calls");
		{
			int ffd = openat(dfd, "bottom", O_RDWR | O_CREAT, 0644);

			CHECK_OK(ffd, "create a file at the bottom");
			if (ffd >= 0)
				close(ffd);
		}
		CHECK_ERR(access(longpath, F_OK), ENAMETOOLONG, "a path over PATH_MAX");
		if (dfd >= 0)
			close(dfd);
		free(longpath);
	}
}
