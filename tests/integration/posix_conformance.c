/*
 * posix_conformance - POSIX behaviour checks for a mounted filesystem.
 *
 *   posix_conformance [--only GROUP[,GROUP...]] [--list] [--keep] DIR
 *
 * Runs every check inside a new subdirectory of DIR (DIR/posix.<pid>), one
 * subdirectory per group of checks.  Must run as root: unprivileged checks
 * fork children that switch to uids 65534 and 65533 with setgroups,
 * setresgid and setresuid.  Every assertion prints one TAP line:
 *
 *   ok N - group: description
 *   not ok N - group: description: expected X, got Y (ERRNO)
 *
 * and the run ends with "1..N" and the plain line "N passed, N failed".  Exit
 * status 0 when nothing failed, 1 otherwise, 2 for usage errors and 77 when
 * the machine cannot run the checks (not root).
 *
 * Every group runs in its own child process with a time limit, so a crash
 * or a hang in one group is reported as a failure and the next group runs.
 * The directory of a group that passed is removed; a failed one is kept
 * for inspection (all of them with --keep).
 *
 * With FLOCKER_TEST_SIZE_LIMIT=<bytes> in the environment, group "enospc"
 * checks the volume size limit: statvfs shows it and writing past it fails
 * with ENOSPC at write(), fsync() or close().  Without it that group is not
 * run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <linux/falloc.h>
#include <linux/fs.h>

#define KiB (1024LL)
#define MiB (1024LL * 1024)
#define GiB (1024LL * 1024 * 1024)

/* The two unprivileged users of the checks, and groups they may belong to. */
#define U1   65534
#define U2   65533
#define G1   65534
#define G2   65533
#define GX   4242 /* a supplementary group given to U1 in some checks */
#define GY   4243
#define GOUT 4244 /* a group no test user belongs to */

#define GROUP_TIMEOUT_S 600

/* Counters shared by the runner, the group processes and their children. */
struct shared {
	unsigned long next;
	unsigned long passed;
	unsigned long failed;
};

static struct shared *sh;
static const char *cur_group = "main";

static void emit(const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, s, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		s += n;
		len -= (size_t)n;
	}
}

static void __attribute__((format(printf, 1, 2))) note(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	memcpy(line, "# ", 2);
	va_start(ap, fmt);
	n = vsnprintf(line + 2, sizeof(line) - 3, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n += 2;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	emit(line, (size_t)n);
}

static const char *ename(int e)
{
	static char buf[32];
	const char *s = e ? strerrorname_np(e) : "no error";

	if (s)
		return s;
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

/* Records one assertion; detail says what went wrong when !pass. */
static void result(bool pass, const char *detail, const char *fmt, va_list ap)
{
	char desc[512], line[1200];
	unsigned long n = __atomic_add_fetch(&sh->next, 1, __ATOMIC_SEQ_CST);
	int len;

	vsnprintf(desc, sizeof(desc), fmt, ap);
	if (pass) {
		__atomic_add_fetch(&sh->passed, 1, __ATOMIC_SEQ_CST);
		len = snprintf(line, sizeof(line), "ok %lu - %s: %s\n", n, cur_group, desc);
	} else {
		__atomic_add_fetch(&sh->failed, 1, __ATOMIC_SEQ_CST);
		len = snprintf(line, sizeof(line), "not ok %lu - %s: %s: %s\n", n, cur_group, desc,
			       detail);
	}
	if (len < 0)
		return;
	if (len >= (int)sizeof(line)) {
		len = (int)sizeof(line) - 1;
		line[len - 1] = '\n';
	}
	emit(line, (size_t)len);
}

static void __attribute__((format(printf, 3, 4))) t_ok(long long r, int e, const char *fmt, ...)
{
	char detail[128];
	va_list ap;

	snprintf(detail, sizeof(detail), "expected success, got %lld (%s)", r, ename(e));
	va_start(ap, fmt);
	result(r >= 0, detail, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 5, 6)))
t_err(long long r, int e, int want1, int want2, const char *fmt, ...)
{
	char detail[160];
	bool pass = r == -1 && (e == want1 || e == want2);
	va_list ap;

	if (r != -1)
		snprintf(detail, sizeof(detail), "expected -1 (%s%s%s), got %lld", ename(want1),
			 want2 != want1 ? " or " : "", want2 != want1 ? ename(want2) : "", r);
	else {
		char w[64];

		snprintf(w, sizeof(w), "%s", ename(want1));
		snprintf(detail, sizeof(detail), "expected -1 (%s%s%s), got -1 (%s)", w,
			 want2 != want1 ? " or " : "", want2 != want1 ? ename(want2) : "",
			 ename(e));
	}
	va_start(ap, fmt);
	result(pass, detail, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 3, 4)))
t_eq(long long got, long long want, const char *fmt, ...)
{
	int e = errno; /* of the call that produced got, when it failed */
	char detail[160];
	va_list ap;

	if (got == -1 && want != -1)
		snprintf(detail, sizeof(detail), "expected %lld, got -1 (%s)", want, ename(e));
	else
		snprintf(detail, sizeof(detail), "expected %lld, got %lld", want, got);
	va_start(ap, fmt);
	result(got == want, detail, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 3, 4)))
t_mode(unsigned long got, unsigned long want, const char *fmt, ...)
{
	char detail[128];
	va_list ap;

	snprintf(detail, sizeof(detail), "expected mode 0%lo, got 0%lo", want, got);
	va_start(ap, fmt);
	result(got == want, detail, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 3, 4)))
t_true(bool cond, const char *what, const char *fmt, ...)
{
	char detail[300];
	va_list ap;

	snprintf(detail, sizeof(detail), "expected %s", what);
	va_start(ap, fmt);
	result(cond, detail, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 3, 4)))
t_str(const char *got, const char *want, const char *fmt, ...)
{
	char detail[400];
	va_list ap;

	snprintf(detail, sizeof(detail), "expected \"%.150s\", got \"%.150s\"", want,
		 got ? got : "(null)");
	va_start(ap, fmt);
	result(got && !strcmp(got, want), detail, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 4, 5)))
t_mem(const void *got, const void *want, size_t len, const char *fmt, ...)
{
	const unsigned char *g = got, *w = want;
	char detail[160] = "";
	bool pass = true;
	va_list ap;

	for (size_t i = 0; i < len; i++) {
		if (g[i] != w[i]) {
			snprintf(detail, sizeof(detail),
				 "contents differ at byte %zu of %zu: expected 0x%02x, got 0x%02x",
				 i, len, w[i], g[i]);
			pass = false;
			break;
		}
	}
	va_start(ap, fmt);
	result(pass, detail, fmt, ap);
	va_end(ap);
}

/* Explicit failure or success with a free-form detail. */
static void __attribute__((format(printf, 3, 4)))
t_res(bool pass, const char *detail, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	result(pass, detail, fmt, ap);
	va_end(ap);
}

/*
 * The macros take the call itself, so that errno is read right after it.
 * CHECK_OK also accepts a variable holding a result whose errno is current.
 */
#define CHECK_OK(expr, ...)                                                                        \
	do {                                                                                       \
		long long r_ = (long long)(expr);                                                  \
		t_ok(r_, errno, __VA_ARGS__);                                                      \
	} while (0)
#define CHECK_ERR(expr, e, ...)                                                                    \
	do {                                                                                       \
		long long r_ = (long long)(expr);                                                  \
		t_err(r_, errno, (e), (e), __VA_ARGS__);                                           \
	} while (0)
#define CHECK_ERR2(expr, e1, e2, ...)                                                              \
	do {                                                                                       \
		long long r_ = (long long)(expr);                                                  \
		t_err(r_, errno, (e1), (e2), __VA_ARGS__);                                         \
	} while (0)
#define CHECK_EQ(got, want, ...)   t_eq((long long)(got), (long long)(want), __VA_ARGS__)
#define CHECK(cond, ...)	   t_true((cond), #cond, __VA_ARGS__)
#define CHECK_MODE(got, want, ...) t_mode((unsigned long)(got), (unsigned long)(want), __VA_ARGS__)

/* ---- helpers ------------------------------------------------------------------------- */

static void die(const char *what)
{
	char buf[300];

	snprintf(buf, sizeof(buf), "%s: %s (%s)", what, strerror(errno), ename(errno));
	note("fatal in group %s: %s", cur_group, buf);
	exit(3);
}

/* Byte at absolute offset off of the test pattern with seed s. */
static unsigned char pat_byte(uint64_t s, uint64_t off)
{
	uint64_t z = (off >> 3) * 0x9e3779b97f4a7c15ULL + s * 0xbf58476d1ce4e5b9ULL;

	z = (z ^ (z >> 31)) * 0x94d049bb133111ebULL;
	z ^= z >> 29;
	return (unsigned char)(z >> ((off & 7) * 8));
}

static void pat_fill(unsigned char *buf, size_t len, uint64_t s, uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pat_byte(s, off + i);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("malloc");
	return p;
}

/*
 * All len bytes at off through pwrite (write) or pread, going on after EINTR
 * and short transfers: the bytes moved (fewer only at the end of the file),
 * or -1 with errno.  buf is only read when is_write.
 */
static ssize_t pio_all(int fd, void *buf, size_t len, off_t off, bool is_write)
{
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = is_write ? pwrite(fd, p + done, len - done, off + (off_t)done)
				     : pread(fd, p + done, len - done, off + (off_t)done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static ssize_t pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	return pio_all(fd, (void *)buf, len, off, true);
}

static ssize_t pread_all(int fd, void *buf, size_t len, off_t off)
{
	return pio_all(fd, buf, len, off, false);
}

/* Creates (or truncates) path with mode and contents; 0 or -1 with errno. */
static int mkfile(const char *path, mode_t mode, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	int e;

	if (fd < 0)
		return -1;
	if (len && pwrite_all(fd, data, len, 0) != (ssize_t)len) {
		e = errno;
		close(fd);
		errno = e ? e : EIO;
		return -1;
	}
	return close(fd);
}

static int mkfile_str(const char *path, const char *s)
{
	return mkfile(path, 0644, s, strlen(s));
}

/* Reads up to cap-1 bytes of path into buf as a string; length or -1. */
static ssize_t slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;
	int e;

	if (fd < 0)
		return -1;
	n = pread_all(fd, buf, cap - 1, 0);
	e = errno;
	close(fd);
	errno = e;
	if (n < 0)
		return -1;
	buf[n] = 0;
	return n;
}

/* Checks that path holds exactly the string want. */
static void check_content(const char *path, const char *want, const char *what)
{
	char buf[4096];
	ssize_t n = slurp(path, buf, sizeof(buf));

	if (n < 0) {
		t_ok(-1, errno, "%s: read %s", what, path);
		return;
	}
	t_str(buf, want, "%s: %s holds the expected data", what, path);
}

/* Checks that [off, off+len) of fd holds pattern s; returns true on success. */
static bool check_pattern(int fd, off_t off, size_t len, uint64_t s, const char *what)
{
	size_t chunk = 1 << 20;
	unsigned char *buf = xmalloc(chunk), *want = xmalloc(chunk);
	bool pass = true;
	char detail[200] = "";

	for (size_t done = 0; done < len && pass;) {
		size_t n = len - done < chunk ? len - done : chunk;
		ssize_t r = pread_all(fd, buf, n, off + (off_t)done);

		if (r != (ssize_t)n) {
			snprintf(detail, sizeof(detail), "short read at %lld: %zd of %zu (%s)",
				 (long long)(off + (off_t)done), r, n,
				 r < 0 ? ename(errno) : "EOF");
			pass = false;
			break;
		}
		if (s == 0)
			memset(want, 0, n);
		else
			pat_fill(want, n, s, (uint64_t)(off + (off_t)done));
		for (size_t i = 0; i < n; i++) {
			if (buf[i] != want[i]) {
				snprintf(detail, sizeof(detail),
					 "byte at offset %lld: expected 0x%02x, got 0x%02x",
					 (long long)(off + (off_t)(done + i)), want[i], buf[i]);
				pass = false;
				break;
			}
		}
		done += n;
	}
	t_res(pass, detail, "%s", what);
	free(buf);
	free(want);
	return pass;
}

static long long fsize(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return -1;
	return st.st_size;
}

static ino_t ino_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return 0;
	return st.st_ino;
}

static nlink_t nlink_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return (nlink_t)-1;
	return st.st_nlink;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return (mode_t)-1;
	return st.st_mode;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static long long ts_ns(struct timespec ts)
{
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts_ns(ts);
}

/* Lets the clock move past the timestamp granularity of the filesystem. */
static void nap(void)
{
	struct timespec ts = {0, 30 * 1000 * 1000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void msleep(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Removes everything below the directory fd dfd (closes dfd); works past PATH_MAX. */
static int rm_below(int dfd)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int ret = 0, left = 1;

	if (!d) {
		close(dfd);
		return -1;
	}
	for (int pass = 0; pass < 5 && left; pass++) {
		left = 0;
		ret = 0;
		rewinddir(d);
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			left++;
			if (unlinkat(dfd, de->d_name, 0) == 0)
				continue;
			if (errno == EISDIR || errno == EPERM) {
				int sub = openat(dfd, de->d_name,
						 O_RDONLY | O_DIRECTORY | O_NOFOLLOW);

				if (sub < 0 || rm_below(sub) < 0 ||
				    unlinkat(dfd, de->d_name, AT_REMOVEDIR) < 0)
					ret = -1;
			} else if (errno != ENOENT) {
				ret = -1;
			}
		}
	}
	closedir(d);
	return ret;
}

static int rm_rf(const char *path)
{
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);

	if (dfd < 0)
		return errno == ENOENT ? 0 : -1;
	if (rm_below(dfd) < 0)
		return -1;
	return rmdir(path);
}

/*
 * Forks a child that runs as uid/gid with the given supplementary groups.
 * Returns the pid in the parent and 0 in the child; a child that cannot
 * switch reports a failure and exits.
 */
static pid_t child_as(uid_t uid, gid_t gid, const gid_t *groups, int ngroups)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid > 0)
		return pid;
	if (setgroups((size_t)ngroups, groups) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		t_ok(-1, errno, "switch to uid %u gid %u", (unsigned)uid, (unsigned)gid);
		_exit(1);
	}
	return 0;
}

static pid_t child_u(uid_t uid)
{
	gid_t g = uid;

	return child_as(uid, uid, &g, 1);
}

/* Waits for a child of child_as() or fork(); a crash counts as a failure. */
static void wait_child(pid_t pid, const char *what)
{
	int status;
	char detail[100];

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			t_ok(-1, errno, "waitpid for %s", what);
			return;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	if (WIFSIGNALED(status))
		snprintf(detail, sizeof(detail), "killed by signal %d", WTERMSIG(status));
	else
		snprintf(detail, sizeof(detail), "exit status %d", WEXITSTATUS(status));
	t_res(false, detail, "child process for %s finished cleanly", what);
}

/* A pipe used to order steps between a parent and a child. */
struct gate {
	int fd[2];
};

static void gate_init(struct gate *g)
{
	if (pipe(g->fd) < 0)
		die("pipe");
}

static void gate_open(struct gate *g)
{
	char c = 1;

	if (write(g->fd[1], &c, 1) != 1)
		die("gate write");
}

static bool gate_wait(struct gate *g)
{
	char c;

	return read(g->fd[0], &c, 1) == 1;
}

static void gate_close(struct gate *g)
{
	close(g->fd[0]);
	close(g->fd[1]);
}

static void make_name(char *buf, size_t len, char c)
{
	memset(buf, c, len);
	buf[len] = 0;
}

/* ---- lookup ---------------------------------------------------------------------------- */

static void g_lookup(void)
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

static void g_create_open(void)
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

/* ---- O_APPEND ------------------------------------------------------------------------------- */

static void g_append(void)
{
	char buf[64];
	int fd, fd2;
	unsigned char *big;

	fd = open("a", O_RDWR | O_CREAT | O_APPEND, 0644);
	CHECK_OK(fd, "open O_APPEND");
	if (fd < 0)
		return;
	CHECK_EQ(write(fd, "abc", 3), 3, "append abc");
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0, "seek to 0");
	CHECK_EQ(write(fd, "def", 3), 3, "append def after seeking to 0");
	check_content("a", "abcdef", "O_APPEND ignores the file offset");
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 6, "offset is at the end after an append");
	CHECK_EQ(pwrite(fd, "gh", 2, 0), 2, "pwrite on an O_APPEND descriptor");
	check_content("a", "abcdefgh", "pwrite with O_APPEND appends (Linux)");
	fd2 = open("a", O_WRONLY | O_APPEND);
	CHECK_OK(fd2, "second O_APPEND descriptor");
	if (fd2 >= 0) {
		CHECK_EQ(write(fd2, "12", 2), 2, "append through the second");
		CHECK_EQ(write(fd, "34", 2), 2, "append through the first");
		CHECK_EQ(write(fd2, "56", 2), 2, "append through the second again");
		check_content("a", "abcdefgh123456", "interleaved appends through two descriptors");
		close(fd2);
	}
	fd2 = open("a", O_WRONLY);
	if (fd2 >= 0) {
		CHECK_EQ(pwrite(fd2, "XXXXXXXXXXXXXXXXXXXX", 20, 0), 20,
			 "plain write extends the file to 20");
		CHECK_EQ(write(fd, "!", 1), 1, "append after another descriptor extended it");
		check_content("a", "XXXXXXXXXXXXXXXXXXXX!", "append lands at the new end");
		CHECK_OK(ftruncate(fd2, 5), "ftruncate to 5");
		CHECK_EQ(write(fd, "?", 1), 1, "append after truncation");
		check_content("a", "XXXXX?", "append lands at the truncated end");
		close(fd2);
	}
	close(fd);
	memset(buf, 0, sizeof(buf));
	big = xmalloc(3 * MiB);
	pat_fill(big, 3 * MiB, 7, 0);
	fd = open("big", O_WRONLY | O_CREAT | O_APPEND, 0644);
	CHECK_OK(fd, "open big O_APPEND");
	if (fd >= 0) {
		bool okw = true;

		for (int i = 0; i < 3; i++)
			if (write(fd, big + i * MiB, MiB) != MiB)
				okw = false;
		CHECK(okw, "three appends of 1 MiB");
		close(fd);
		CHECK_EQ(fsize("big"), 3 * MiB, "size after three 1 MiB appends");
		fd = open("big", O_RDONLY);
		if (fd >= 0) {
			check_pattern(fd, 0, 3 * MiB, 7, "appended data reads back");
			close(fd);
		}
	}
	free(big);
}

/* ---- mkdir and rmdir --------------------------------------------------------------------- */

static void g_mkdir_rmdir(void)
{
	struct stat st;
	char path[4096];

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
	CHECK_OK(mkfile_str("d/file", "x"), "create d/file");
	CHECK_ERR(rmdir("d"), ENOTEMPTY, "rmdir of a directory with a file");
	CHECK_OK(unlink("d/file"), "unlink d/file");
	CHECK_OK(mkdir("d/sub", 0755), "mkdir d/sub");
	CHECK_ERR(rmdir("d"), ENOTEMPTY, "rmdir of a directory with a subdirectory");
	CHECK_OK(rmdir("d/sub"), "rmdir d/sub");
	CHECK_OK(symlink("x", "d/l"), "symlink in d");
	CHECK_ERR(rmdir("d"), ENOTEMPTY, "rmdir of a directory with a symlink");
	CHECK_OK(unlink("d/l"), "unlink d/l");
	CHECK_OK(mkfifo("d/p", 0644), "fifo in d");
	CHECK_ERR(rmdir("d"), ENOTEMPTY, "rmdir of a directory with a fifo");
	CHECK_OK(unlink("d/p"), "unlink d/p");
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

static void g_nlink_dirs(void)
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

/* ---- chmod, chown -------------------------------------------------------------------------- */

static void g_chmod_chown(void)
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

static void g_suid_clear(void)
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

/* ---- truncate ------------------------------------------------------------------------------- */

static void g_truncate(void)
{
	unsigned char *buf = xmalloc(9 * MiB);
	struct stat st;
	long long m0, c0;
	int fd;

	pat_fill(buf, 1000, 11, 0);
	CHECK_OK(mkfile("f", 0644, buf, 1000), "create 1000 bytes");
	CHECK_OK(truncate("f", 500), "truncate to 500");
	CHECK_EQ(fsize("f"), 500, "size after shrinking");
	CHECK_OK(truncate("f", 2000), "truncate to 2000");
	CHECK_EQ(fsize("f"), 2000, "size after growing");
	fd = open("f", O_RDWR);
	CHECK_OK(fd, "open f");
	if (fd >= 0) {
		check_pattern(fd, 0, 500, 11, "data below the shrink point survives");
		check_pattern(fd, 500, 1500, 0, "shrink then grow reads zeros, not old data");
		CHECK_OK(ftruncate(fd, 10 * MiB), "ftruncate to 10 MiB");
		CHECK_OK(fstat(fd, &st), "fstat");
		CHECK_EQ(st.st_size, 10 * MiB, "size after ftruncate");
		check_pattern(fd, 10 * MiB - 4096, 4096, 0, "grown tail reads zeros");
		CHECK_EQ(pread(fd, buf, 10, 10 * MiB), 0, "read at EOF returns 0");
		CHECK_OK(ftruncate(fd, 10 * MiB), "ftruncate to the same size");
		CHECK_EQ(fsize("f"), 10 * MiB, "same-size truncate keeps the size");
		CHECK_OK(ftruncate(fd, 0), "ftruncate to 0");
		CHECK_EQ(fsize("f"), 0, "size 0");
		CHECK_EQ(pread(fd, buf, 10, 0), 0, "empty after truncate to 0");

		/* Truncate into the middle of a large block, grow, check the tail is zero. */
		pat_fill(buf, 8 * MiB, 12, 0);
		CHECK_EQ(pwrite_all(fd, buf, 8 * MiB, 0), 8 * MiB, "write 8 MiB");
		CHECK_OK(fsync(fd), "fsync");
		CHECK_OK(ftruncate(fd, 4 * MiB + 123), "truncate to 4 MiB + 123");
		CHECK_OK(ftruncate(fd, 9 * MiB), "grow to 9 MiB");
		check_pattern(fd, 0, 4 * MiB + 123, 12, "data below the cut survives");
		check_pattern(fd, 4 * MiB + 123, 5 * MiB - 123, 0,
			      "everything after the cut reads zeros");
		CHECK_OK(ftruncate(fd, 4 * MiB - 1), "truncate just below 4 MiB");
		CHECK_EQ(pwrite(fd, "Z", 1, 6 * MiB), 1, "write a byte at 6 MiB");
		check_pattern(fd, 4 * MiB - 1, 2 * MiB + 1, 0, "hole between cut and new byte");
		CHECK_EQ(pread(fd, buf, 1, 6 * MiB), 1, "read the byte at 6 MiB");
		CHECK_EQ(buf[0], 'Z', "the byte at 6 MiB");

		CHECK_OK(fstat(fd, &st), "fstat");
		m0 = ts_ns(st.st_mtim);
		c0 = ts_ns(st.st_ctim);
		nap();
		CHECK_OK(ftruncate(fd, 100), "ftruncate for times");
		CHECK_OK(fstat(fd, &st), "fstat");
		CHECK(ts_ns(st.st_mtim) > m0, "truncate updates mtime");
		CHECK(ts_ns(st.st_ctim) > c0, "truncate updates ctime");
		close(fd);
	}
	CHECK_ERR(truncate("missing", 0), ENOENT, "truncate a missing file");
	CHECK_OK(mkdir("d", 0755), "mkdir d");
	CHECK_ERR(truncate("d", 0), EISDIR, "truncate a directory");
	CHECK_ERR(truncate("f", -1), EINVAL, "truncate to a negative size");
	fd = open("f", O_RDONLY);
	if (fd >= 0) {
		CHECK_ERR(ftruncate(fd, 0), EINVAL, "ftruncate on a read-only descriptor");
		close(fd);
	}
	fd = open("d", O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		CHECK_ERR(ftruncate(fd, 0), EINVAL, "ftruncate on a directory");
		close(fd);
	}
	CHECK_OK(symlink("f", "lf"), "symlink");
	CHECK_OK(truncate("lf", 7), "truncate through a symlink");
	CHECK_EQ(fsize("f"), 7, "truncate through a symlink changes the target");
	free(buf);
}

/* ---- timestamps -------------------------------------------------------------------------------
 */

static void g_times(void)
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
	CHECK_OK(stat("g", &st2), "stat g");
	CHECK(ts_ns(st2.st_ctim) > ts_ns(st.st_ctim), "link updates the inode's ctime");
	st = st2;
	nap();
	CHECK_OK(unlink("g2"), "unlink g2");
	CHECK_OK(stat("g", &st2), "stat g");
	CHECK(ts_ns(st2.st_ctim) > ts_ns(st.st_ctim), "unlinking one name updates ctime");
	st = st2;
	nap();
	CHECK_OK(setxattr("g", "user.t", "v", 1, 0), "setxattr");
	CHECK_OK(stat("g", &st2), "stat g");
	CHECK(ts_ns(st2.st_ctim) > ts_ns(st.st_ctim), "setxattr updates ctime");
	CHECK_EQ(ts_ns(st2.st_mtim), ts_ns(st.st_mtim), "setxattr leaves mtime");

	/* Permissions around utimensat. */
	CHECK_OK(mkfile_str("other_rw", "x"), "create other_rw");
	CHECK_OK(chown("other_rw", U2, G2), "owned by uid %d", U2);
	CHECK_OK(chmod("other_rw", 0666), "world-writable");
	CHECK_OK(mkfile_str("other_ro", "x"), "create other_ro");
	CHECK_OK(chown("other_ro", U2, G2), "owned by uid %d", U2);
	CHECK_OK(chmod("other_ro", 0644), "not writable by others");
	CHECK_OK(mkfile_str("own", "x"), "create own");
	CHECK_OK(chown("own", U1, G1), "owned by uid %d", U1);
	CHECK_OK(chmod("own", 0444), "read-only for its owner");
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

/* ---- mknod ------------------------------------------------------------------------------------
 */

static void g_mknod(void)
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

static void g_socket(void)
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

static void g_symlink(void)
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

static void g_link(void)
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

static void g_unlink_open(void)
{
	struct stat st;
	char buf[64];
	int fd, fd2;

	fd = open("f", O_RDWR | O_CREAT, 0644);
	CHECK_OK(fd, "create f");
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

static void g_rename(void)
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

static void g_renameat2(void)
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

/* ---- readdir helpers ---------------------------------------------------------------------------
 */

struct names {
	char **v;
	unsigned char *type;
	ino_t *ino;
	size_t n, cap;
};

static void names_add(struct names *l, const char *s, unsigned char t, ino_t ino)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		l->type = realloc(l->type, l->cap);
		l->ino = realloc(l->ino, l->cap * sizeof(*l->ino));
		if (!l->v || !l->type || !l->ino)
			die("realloc");
	}
	l->v[l->n] = strdup(s);
	if (!l->v[l->n])
		die("strdup");
	l->type[l->n] = t;
	l->ino[l->n] = ino;
	l->n++;
}

static void names_free(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->type);
	free(l->ino);
	memset(l, 0, sizeof(*l));
}

static size_t names_count(const struct names *l, const char *s)
{
	size_t c = 0;

	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			c++;
	return c;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Number of names that occur more than once. */
static size_t names_dups(const struct names *l)
{
	char **s = xmalloc((l->n + 1) * sizeof(*s));
	size_t d = 0;

	if (l->n) {
		memcpy(s, l->v, l->n * sizeof(*s));
		qsort(s, l->n, sizeof(*s), cmp_str);
	}
	for (size_t i = 1; i < l->n; i++)
		if (!strcmp(s[i], s[i - 1]))
			d++;
	free(s);
	return d;
}

/* Reads a whole directory with readdir(3); -1 with errno on failure. */
static int read_dir(const char *path, struct names *out)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int e;

	if (!d)
		return -1;
	errno = 0;
	while ((de = readdir(d)))
		names_add(out, de->d_name, de->d_type, de->d_ino);
	e = errno;
	closedir(d);
	errno = e;
	return e ? -1 : 0;
}

struct ldirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Reads a directory with getdents64 and a buffer of bufsize bytes. */
static int read_dir_getdents(const char *path, size_t bufsize, struct names *out, int *calls)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY);
	char *buf = xmalloc(bufsize);
	long n;

	*calls = 0;
	if (fd < 0) {
		free(buf);
		return -1;
	}
	while ((n = syscall(SYS_getdents64, fd, buf, bufsize)) > 0) {
		(*calls)++;
		for (long off = 0; off < n;) {
			struct ldirent64 *de = (struct ldirent64 *)(buf + off);

			names_add(out, de->d_name, de->d_type, (ino_t)de->d_ino);
			off += de->d_reclen;
		}
		if (*calls > 1000000)
			break;
	}
	close(fd);
	free(buf);
	return n < 0 ? -1 : 0;
}

/* ---- readdir ----------------------------------------------------------------------------------
 */

static void g_readdir(void)
{
	struct names l = {0};
	char name[300];
	bool okc = true, okt = true, oki = true;
	int calls;

	CHECK_OK(mkdir("empty", 0755), "mkdir empty");
	CHECK_OK(read_dir("empty", &l), "read an empty directory");
	CHECK_EQ(l.n, 2, "empty directory has two entries");
	CHECK_EQ(names_count(&l, ".") + names_count(&l, ".."), 2, "they are . and ..");
	for (size_t i = 0; i < l.n; i++)
		if (!strcmp(l.v[i], "."))
			CHECK_EQ(l.ino[i], ino_of("empty"), "d_ino of . is the directory");
	names_free(&l);

	CHECK_OK(mkdir("mix", 0755), "mkdir mix");
	for (int i = 0; i < 300 && okc; i++) {
		snprintf(name, sizeof(name), "mix/f%03d", i);
		okc = mkfile(name, 0644, NULL, 0) == 0;
	}
	for (int i = 0; i < 20 && okc; i++) {
		snprintf(name, sizeof(name), "mix/d%02d", i);
		okc = mkdir(name, 0755) == 0;
	}
	for (int i = 0; i < 10 && okc; i++) {
		snprintf(name, sizeof(name), "mix/l%02d", i);
		okc = symlink("f000", name) == 0;
	}
	if (okc)
		okc = mkfifo("mix/fifo", 0644) == 0;
	CHECK(okc, "create 300 files, 20 directories, 10 symlinks and a fifo");
	CHECK_OK(read_dir("mix", &l), "read the mixed directory");
	CHECK_EQ(l.n, 333, "333 entries including . and ..");
	CHECK_EQ(names_dups(&l), 0, "no entry returned twice");
	for (size_t i = 0; i < l.n; i++) {
		unsigned char want;
		mode_t m;

		if (!strcmp(l.v[i], ".") || !strcmp(l.v[i], ".."))
			continue;
		snprintf(name, sizeof(name), "mix/%s", l.v[i]);
		m = mode_of(name);
		want = S_ISREG(m)    ? DT_REG
		       : S_ISDIR(m)  ? DT_DIR
		       : S_ISLNK(m)  ? DT_LNK
		       : S_ISFIFO(m) ? DT_FIFO
				     : DT_UNKNOWN;
		if (l.type[i] != want && l.type[i] != DT_UNKNOWN) {
			okt = false;
			note("d_type of %s is %d, expected %d", l.v[i], l.type[i], want);
		}
		if (l.ino[i] != ino_of(name)) {
			oki = false;
			note("d_ino of %s is %llu, lstat says %llu", l.v[i],
			     (unsigned long long)l.ino[i], (unsigned long long)ino_of(name));
		}
	}
	CHECK(okt, "d_type matches the file type (or DT_UNKNOWN)");
	CHECK(oki, "d_ino matches st_ino");
	okc = true;
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "f%03d", i);
		if (names_count(&l, name) != 1)
			okc = false;
	}
	CHECK(okc, "every file listed exactly once");
	names_free(&l);

	CHECK_OK(read_dir_getdents("mix", 256, &l, &calls), "getdents64 with a 256-byte buffer");
	CHECK_EQ(l.n, 333, "small-buffer listing has all 333 entries");
	CHECK_EQ(names_dups(&l), 0, "small-buffer listing has no duplicates");
	CHECK(calls > 10, "small buffer needed many calls");
	names_free(&l);
	{
		int ffd = open("mix/f000", O_RDONLY);

		CHECK_ERR(syscall(SYS_getdents64, ffd, name, sizeof(name)), ENOTDIR,
			  "getdents64 on a regular file");
		if (ffd >= 0)
			close(ffd);
	}

	/* telldir / seekdir / rewinddir on an unchanged directory */
	{
		DIR *d = opendir("mix");
		struct names a = {0}, b = {0}, c = {0};
		struct dirent *de;
		long pos0, pos;
		int i;

		CHECK(d != NULL, "opendir mix");
		if (d) {
			pos0 = telldir(d);
			for (i = 0; i < 100 && (de = readdir(d)); i++)
				names_add(&c, de->d_name, 0, 0);
			pos = telldir(d);
			while ((de = readdir(d)))
				names_add(&a, de->d_name, 0, 0);
			seekdir(d, pos);
			while ((de = readdir(d)))
				names_add(&b, de->d_name, 0, 0);
			CHECK_EQ(a.n, 233, "rest of the listing after 100 entries");
			okc = a.n == b.n;
			for (size_t k = 0; okc && k < a.n; k++)
				okc = !strcmp(a.v[k], b.v[k]);
			CHECK(okc, "seekdir to a telldir position repeats the same entries");
			seekdir(d, pos0);
			okc = true;
			for (size_t k = 0; k < c.n && okc; k++) {
				de = readdir(d);
				okc = de && !strcmp(de->d_name, c.v[k]);
			}
			CHECK(okc, "seekdir to the first position restarts the listing");
			CHECK_OK(mkfile("mix/new-entry", 0644, NULL, 0), "add an entry");
			rewinddir(d);
			names_free(&a);
			while ((de = readdir(d)))
				names_add(&a, de->d_name, 0, 0);
			CHECK_EQ(a.n, 334, "rewinddir sees the added entry");
			CHECK_EQ(names_count(&a, "new-entry"), 1, "new entry listed once");
			closedir(d);
		}
		names_free(&a);
		names_free(&b);
		names_free(&c);
	}
	CHECK(opendir("mix/f000") == NULL && errno == ENOTDIR,
	      "opendir of a file fails with ENOTDIR");
	CHECK(opendir("nonexistent") == NULL && errno == ENOENT,
	      "opendir of a missing name fails with ENOENT");

	/* A big directory with long names. */
	CHECK_OK(mkdir("big", 0755), "mkdir big");
	okc = true;
	for (int i = 0; i < 2000 && okc; i++) {
		int n = snprintf(name, sizeof(name), "big/%05d-", i);

		memset(name + n, 'a' + i % 26, 200);
		name[n + 200] = 0;
		okc = mkfile(name, 0644, NULL, 0) == 0;
	}
	CHECK(okc, "create 2000 files with 206-byte names");
	CHECK_OK(read_dir("big", &l), "read the big directory");
	CHECK_EQ(l.n, 2002, "2000 entries plus . and ..");
	CHECK_EQ(names_dups(&l), 0, "no duplicates in the big directory");
	okc = true;
	for (size_t i = 0; i < l.n; i++)
		if (strcmp(l.v[i], ".") && strcmp(l.v[i], "..") && strlen(l.v[i]) != 206)
			okc = false;
	CHECK(okc, "long names come back whole");
	names_free(&l);
	CHECK_OK(read_dir_getdents("big", 512, &l, &calls), "getdents64 of big with 512 bytes");
	CHECK_EQ(l.n, 2002, "small-buffer listing of the big directory");
	names_free(&l);
}

/* ---- readdir while the directory changes ---------------------------------------------------- */

static int mkname(char *buf, size_t len, const char *dir, char kind, int i)
{
	return snprintf(buf, len, "%s/%c%04d", dir, kind, i);
}

static void g_readdir_mutation(void)
{
	char name[300];
	bool okc = true;

	/* A: entries added and removed during one pass. */
	CHECK_OK(mkdir("m", 0755), "mkdir m");
	for (int i = 0; i < 200 && okc; i++) {
		mkname(name, sizeof(name), "m", 'S', i);
		okc = mkfile(name, 0644, NULL, 0) == 0;
	}
	for (int i = 0; i < 100 && okc; i++) {
		mkname(name, sizeof(name), "m", 'V', i);
		okc = mkfile(name, 0644, NULL, 0) == 0;
	}
	CHECK(okc, "create 200 stable and 100 volatile entries");
	{
		DIR *d = opendir("m");
		int seen_s[200] = {0}, seen_v[100] = {0}, seen_n[200] = {0};
		int dots = 0, other = 0, read_n = 0, vdel = 0, nadd = 0;
		struct dirent *de;

		CHECK(d != NULL, "opendir m");
		while (d && (de = readdir(d)) && read_n < 10000) {
			int k = atoi(de->d_name + 1);

			read_n++;
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				dots++;
			else if (de->d_name[0] == 'S' && k >= 0 && k < 200)
				seen_s[k]++;
			else if (de->d_name[0] == 'V' && k >= 0 && k < 100)
				seen_v[k]++;
			else if (de->d_name[0] == 'N' && k >= 0 && k < 200)
				seen_n[k]++;
			else
				other++;
			if (read_n % 10 == 0) {
				for (int j = 0; j < 3 && vdel < 100; j++) {
					mkname(name, sizeof(name), "m", 'V', vdel++);
					if (unlink(name) < 0)
						die("unlink volatile");
				}
				for (int j = 0; j < 3 && nadd < 200; j++) {
					mkname(name, sizeof(name), "m", 'N', nadd++);
					if (mkfile(name, 0644, NULL, 0) < 0)
						die("create new");
				}
			}
		}
		if (d)
			closedir(d);
		okc = true;
		for (int i = 0; i < 200; i++)
			if (seen_s[i] != 1) {
				okc = false;
				note("stable entry S%04d seen %d times", i, seen_s[i]);
			}
		CHECK(okc, "stable entries seen exactly once while others come and go");
		okc = true;
		for (int i = 0; i < 100; i++)
			okc = okc && seen_v[i] <= 1;
		for (int i = 0; i < 200; i++)
			okc = okc && seen_n[i] <= 1;
		CHECK(okc, "removed and added entries seen at most once");
		CHECK_EQ(dots, 2, ". and .. seen once each");
		CHECK_EQ(other, 0, "no unknown names");
		CHECK(vdel > 0 && nadd > 0, "the directory changed during the pass");
	}

	/* B: every entry unlinked right after readdir returns it (rm -r). */
	CHECK_OK(mkdir("r", 0755), "mkdir r");
	okc = true;
	for (int i = 0; i < 500 && okc; i++) {
		mkname(name, sizeof(name), "r", 'F', i);
		okc = mkfile(name, 0644, NULL, 0) == 0;
	}
	CHECK(okc, "create 500 entries");
	{
		DIR *d = opendir("r");
		int seen[500] = {0}, n = 0;
		bool okd = true;
		struct dirent *de;

		while (d && (de = readdir(d)) && n < 5000) {
			int k = atoi(de->d_name + 1);

			if (de->d_name[0] == '.')
				continue;
			n++;
			if (k >= 0 && k < 500)
				seen[k]++;
			snprintf(name, sizeof(name), "r/%s", de->d_name);
			if (unlink(name) < 0)
				okd = false;
		}
		if (d)
			closedir(d);
		okc = true;
		for (int i = 0; i < 500; i++)
			okc = okc && seen[i] == 1;
		CHECK(okd, "unlink each entry as it is returned");
		CHECK(okc, "all 500 entries seen exactly once while unlinking them");
		CHECK_OK(rmdir("r"), "directory empty afterwards");
	}

	/* C: telldir positions stay valid after entries are removed and added. */
	CHECK_OK(mkdir("k", 0755), "mkdir k");
	okc = true;
	for (int i = 0; i < 200 && okc; i++) {
		mkname(name, sizeof(name), "k", 'S', i);
		okc = mkfile(name, 0644, NULL, 0) == 0;
		mkname(name, sizeof(name), "k", 'V', i);
		okc = okc && mkfile(name, 0644, NULL, 0) == 0;
	}
	CHECK(okc, "create 200 stable and 200 volatile entries");
	{
		DIR *d = opendir("k");
		struct names order = {0};
		long pos[500];
		struct dirent *de;
		size_t n = 0;

		CHECK(d != NULL, "opendir k");
		while (d && n < 500 && (de = readdir(d))) {
			names_add(&order, de->d_name, 0, 0);
			pos[n++] = telldir(d);
		}
		CHECK_EQ(n, 402, "first pass lists 402 entries");
		for (int i = 0; i < 200; i++) {
			mkname(name, sizeof(name), "k", 'V', i);
			if (unlink(name) < 0)
				die("unlink");
			if (i < 50) {
				mkname(name, sizeof(name), "k", 'N', i);
				if (mkfile(name, 0644, NULL, 0) < 0)
					die("create");
			}
		}
		{
			size_t samples[] = {0, 1, 37, 100, 201, 333, n > 2 ? n - 2 : 0};

			for (size_t s = 0; d && s < sizeof(samples) / sizeof(samples[0]); s++) {
				size_t at = samples[s];
				struct names rest = {0};
				bool good = true;

				if (at >= n)
					continue;
				seekdir(d, pos[at]);
				while ((de = readdir(d)) && rest.n < 5000)
					names_add(&rest, de->d_name, 0, 0);
				for (size_t j = 0; j < n; j++) {
					size_t c;

					if (order.v[j][0] != 'S')
						continue;
					c = names_count(&rest, order.v[j]);
					if ((j > at && c != 1) || (j <= at && c != 0)) {
						good = false;
						note("after seekdir to position %zu: %s seen %zu times",
						     at, order.v[j], c);
						break;
					}
				}
				good = good && names_dups(&rest) == 0;
				CHECK(good,
				      "seekdir to the position after entry %zu: later stable entries once, "
				      "earlier ones never",
				      at);
				names_free(&rest);
			}
		}
		if (d)
			closedir(d);
		names_free(&order);
	}

	/* D: adding entries during a pass still terminates. */
	CHECK_OK(mkdir("grow", 0755), "mkdir grow");
	for (int i = 0; i < 50; i++) {
		mkname(name, sizeof(name), "grow", 'S', i);
		if (mkfile(name, 0644, NULL, 0) < 0)
			die("create");
	}
	{
		DIR *d = opendir("grow");
		int n = 0, added = 0, seen_s = 0;
		struct dirent *de;

		while (d && (de = readdir(d)) && n < 100000) {
			n++;
			if (de->d_name[0] == 'S')
				seen_s++;
			if (added < 1000) {
				mkname(name, sizeof(name), "grow", 'N', added++);
				if (mkfile(name, 0644, NULL, 0) < 0)
					die("create");
			}
		}
		if (d)
			closedir(d);
		CHECK(n < 100000, "a pass over a growing directory terminates");
		CHECK_EQ(seen_s, 50, "all original entries of a growing directory seen");
	}
}

/* ---- file data --------------------------------------------------------------------------------
 */

/* splitmix64, for reproducible random offsets. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void g_data(void)
{
	const size_t size = 12 * MiB;
	unsigned char *model = xmalloc(size), *buf = xmalloc(size);
	uint64_t rs = 42;
	size_t model_len = 0;
	bool okw = true;
	int fd;

	/* A hole before the first byte. */
	fd = open("hole", O_RDWR | O_CREAT, 0644);
	CHECK_OK(fd, "create hole");
	if (fd >= 0) {
		CHECK_EQ(pwrite(fd, "X", 1, MiB), 1, "write one byte at 1 MiB");
		CHECK_EQ(fsize("hole"), MiB + 1, "size 1 MiB + 1");
		check_pattern(fd, 0, MiB, 0, "the hole reads zeros");
		CHECK_EQ(pwrite(fd, "", 0, 5 * MiB), 0, "zero-length write");
		CHECK_EQ(fsize("hole"), MiB + 1, "zero-length write beyond EOF keeps the size");
		CHECK_EQ(pread(fd, buf, 100, MiB), 1, "read across EOF is short");
		CHECK_EQ(pread(fd, buf, 100, MiB + 1), 0, "read at EOF returns 0");
		CHECK_EQ(pread(fd, buf, 100, 100 * MiB), 0, "read far beyond EOF returns 0");
		close(fd);
	}

	/* 10 MiB written in odd-sized pieces, read back in other odd sizes. */
	pat_fill(model, 10 * MiB, 5, 0);
	fd = open("seq", O_RDWR | O_CREAT, 0644);
	CHECK_OK(fd, "create seq");
	if (fd >= 0) {
		for (size_t off = 0; off < 10 * MiB && okw;) {
			size_t n = 12345;

			if (n > 10 * MiB - off)
				n = 10 * MiB - off;
			okw = write(fd, model + off, n) == (ssize_t)n;
			off += n;
		}
		CHECK(okw, "write 10 MiB in 12345-byte pieces");
		CHECK_EQ(fsize("seq"), 10 * MiB, "size 10 MiB");
		okw = true;
		for (size_t off = 0; off < 10 * MiB && okw; off += 65537) {
			size_t n = 65537;

			if (n > 10 * MiB - off)
				n = 10 * MiB - off;
			okw = pread(fd, buf + off, n, (off_t)off) == (ssize_t)n;
		}
		CHECK(okw, "read 10 MiB in 65537-byte pieces");
		t_mem(buf, model, 10 * MiB, "10 MiB read back");
		pat_fill(model + 4 * MiB - 100, 200, 6, 0);
		CHECK_EQ(pwrite(fd, model + 4 * MiB - 100, 200, 4 * MiB - 100), 200,
			 "overwrite across the 4 MiB boundary");
		pat_fill(model + 8 * MiB - 1, 2, 7, 0);
		CHECK_EQ(pwrite(fd, model + 8 * MiB - 1, 2, 8 * MiB - 1), 2,
			 "overwrite 2 bytes across the 8 MiB boundary");
		CHECK_EQ(pread_all(fd, buf, 10 * MiB, 0), 10 * MiB, "read all");
		t_mem(buf, model, 10 * MiB, "overwrites across block boundaries");
		close(fd);
	}
	fd = open("seq", O_RDONLY);
	if (fd >= 0) {
		CHECK_EQ(pread_all(fd, buf, 10 * MiB, 0), 10 * MiB, "read all after reopening");
		t_mem(buf, model, 10 * MiB, "data after close and reopen");
		close(fd);
	}

	/* Random writes mirrored in memory. */
	memset(model, 0, size);
	fd = open("rand", O_RDWR | O_CREAT, 0644);
	CHECK_OK(fd, "create rand");
	if (fd >= 0) {
		okw = true;
		for (int i = 0; i < 300 && okw; i++) {
			size_t off = rng_next(&rs) % (size - 300 * KiB);
			size_t len = 1 + rng_next(&rs) % (256 * KiB);

			if (i % 50 == 49) {
				size_t nl = rng_next(&rs) % size;

				okw = ftruncate(fd, (off_t)nl) == 0;
				if (nl < model_len)
					memset(model + nl, 0, model_len - nl);
				model_len = nl;
				continue;
			}
			pat_fill(model + off, len, 100 + (uint64_t)i, off);
			okw = pwrite_all(fd, model + off, len, (off_t)off) == (ssize_t)len;
			if (off + len > model_len)
				model_len = off + len;
		}
		CHECK(okw, "300 random writes and truncates");
		CHECK_EQ(fsize("rand"), model_len, "size after random writes");
		CHECK_EQ(pread_all(fd, buf, model_len, 0), (ssize_t)model_len, "read back");
		t_mem(buf, model, model_len, "random writes read back");
		close(fd);
	}

	/* readv / writev */
	fd = open("vec", O_RDWR | O_CREAT, 0644);
	if (fd >= 0) {
		struct iovec iov[3] = {
			{(void *)"one ", 4}, {(void *)"two ", 4}, {(void *)"three", 5}};
		char a[4], b[9];
		struct iovec rv[2] = {{a, 4}, {b, 9}};

		CHECK_EQ(writev(fd, iov, 3), 13, "writev of three pieces");
		CHECK_EQ(preadv(fd, rv, 2, 0), 13, "preadv into two pieces");
		t_mem(a, "one ", 4, "first piece");
		t_mem(b, "two three", 9, "second piece");
		close(fd);
	}

	/* O_SYNC and O_DSYNC writes. */
	fd = open("sync", O_RDWR | O_CREAT | O_SYNC, 0644);
	CHECK_OK(fd, "open O_SYNC");
	if (fd >= 0) {
		CHECK_EQ(write(fd, "synced", 6), 6, "O_SYNC write");
		close(fd);
	}
	fd = open("sync", O_RDWR | O_DSYNC);
	if (fd >= 0) {
		CHECK_EQ(pwrite(fd, "S", 1, 0), 1, "O_DSYNC write");
		close(fd);
	}
	check_content("sync", "Synced", "O_SYNC and O_DSYNC data");

	/* Two processes write interleaved stripes of one file at the same time. */
	fd = open("stripes", O_RDWR | O_CREAT, 0644);
	if (fd >= 0) {
		pid_t pid;
		const size_t stripe = 64 * KiB, count = 64;

		pat_fill(model, stripe * count, 9, 0);
		pid = fork();
		if (pid == 0) {
			int cfd = open("stripes", O_WRONLY);

			for (size_t i = 1; i < count; i += 2)
				if (cfd < 0 || pwrite_all(cfd, model + i * stripe, stripe,
							  (off_t)(i * stripe)) != (ssize_t)stripe)
					_exit(1);
			close(cfd);
			_exit(0);
		}
		okw = true;
		for (size_t i = 0; i < count; i += 2)
			if (pwrite_all(fd, model + i * stripe, stripe, (off_t)(i * stripe)) !=
			    (ssize_t)stripe)
				okw = false;
		wait_child(pid, "striped writer");
		CHECK(okw, "parent wrote its stripes");
		CHECK_EQ(fsize("stripes"), stripe * count, "size after concurrent stripes");
		check_pattern(fd, 0, stripe * count, 9, "stripes from two processes");
		close(fd);
	}

	/* copy_file_range within the filesystem. */
	{
		int in = open("seq", O_RDONLY),
		    out = open("copy", O_RDWR | O_CREAT | O_TRUNC, 0644);

		if (in >= 0 && out >= 0) {
			loff_t io = 0, oo = 0;
			ssize_t total = 0, n;

			while (total < 10 * MiB &&
			       (n = copy_file_range(in, &io, out, &oo, (size_t)(10 * MiB - total),
						    0)) > 0)
				total += n;
			CHECK_EQ(total, 10 * MiB, "copy_file_range copies 10 MiB");
			CHECK_EQ(pread_all(out, buf, 10 * MiB, 0), 10 * MiB, "read the copy");
			pat_fill(model, 10 * MiB, 5, 0);
			pat_fill(model + 4 * MiB - 100, 200, 6, 0);
			pat_fill(model + 8 * MiB - 1, 2, 7, 0);
			t_mem(buf, model, 10 * MiB, "copy matches the source");
		}
		if (in >= 0)
			close(in);
		if (out >= 0)
			close(out);
	}
	free(model);
	free(buf);
}

/* ---- files beyond 4 GiB ------------------------------------------------------------------------
 */

static void g_bigfile(void)
{
	unsigned char buf[8192], want[8192];
	struct stat st;
	int fd;

	fd = open("big", O_RDWR | O_CREAT, 0644);
	CHECK_OK(fd, "create big");
	if (fd < 0)
		return;
	CHECK_EQ(pwrite(fd, "\xab", 1, 5 * GiB), 1, "write 1 byte at 5 GiB");
	CHECK_OK(fstat(fd, &st), "fstat");
	CHECK_EQ(st.st_size, 5 * GiB + 1, "size 5 GiB + 1");
	CHECK_EQ(pread(fd, buf, 1, 5 * GiB), 1, "read the byte at 5 GiB");
	CHECK_EQ(buf[0], 0xab, "byte at 5 GiB");
	check_pattern(fd, 0, 8192, 0, "zeros at the start of the hole");
	check_pattern(fd, 4 * GiB - 4096, 8192, 0, "zeros around 4 GiB");
	check_pattern(fd, 5 * GiB - 8192, 8192, 0, "zeros just below 5 GiB");
	check_pattern(fd, 2 * GiB - 3, 6, 0, "zeros around 2 GiB");
	CHECK_EQ(lseek(fd, 0, SEEK_END), 5 * GiB + 1, "lseek SEEK_END beyond 4 GiB");
	pat_fill(want, sizeof(want), 31, 4 * GiB - 4096);
	CHECK_EQ(pwrite_all(fd, want, sizeof(want), 4 * GiB - 4096), (ssize_t)sizeof(want),
		 "write 8 KiB across 4 GiB");
	check_pattern(fd, 4 * GiB - 4096, 8192, 31, "data across 4 GiB");
	check_pattern(fd, 4 * GiB + 4096, 4096, 0, "zeros after that data");
	close(fd);
	fd = open("big", O_RDWR);
	CHECK_OK(fd, "reopen big");
	if (fd < 0)
		return;
	CHECK_EQ(pread(fd, buf, 2, 5 * GiB), 1, "byte at 5 GiB after reopening");
	CHECK_EQ(buf[0], 0xab, "byte at 5 GiB still 0xab");
	check_pattern(fd, 4 * GiB - 4096, 8192, 31, "data across 4 GiB after reopening");
	CHECK_EQ(fsize("big"), 5 * GiB + 1, "stat size after reopening");
	CHECK_OK(ftruncate(fd, 4 * GiB + 10), "truncate to 4 GiB + 10");
	CHECK_EQ(fsize("big"), 4 * GiB + 10, "size 4 GiB + 10");
	CHECK_EQ(pread(fd, buf, 1, 5 * GiB), 0, "nothing at 5 GiB after the truncate");
	CHECK_OK(ftruncate(fd, 5 * GiB + 1), "grow back to 5 GiB + 1");
	CHECK_EQ(pread(fd, buf, 1, 5 * GiB), 1, "read at 5 GiB after growing");
	CHECK_EQ(buf[0], 0, "the old byte at 5 GiB is gone");
	check_pattern(fd, 4 * GiB, 10, 31, "data below the cut at 4 GiB + 10");
	check_pattern(fd, 4 * GiB + 10, 4086, 0, "zeros from the cut on");
	{
		int afd = open("big", O_WRONLY | O_APPEND);

		if (afd >= 0) {
			CHECK_EQ(write(afd, "end", 3), 3, "append beyond 5 GiB");
			close(afd);
		}
		CHECK_EQ(fsize("big"), 5 * GiB + 4, "size after append");
		CHECK_EQ(pread(fd, buf, 3, 5 * GiB + 1), 3, "read the appended bytes");
		t_mem(buf, "end", 3, "appended bytes beyond 5 GiB");
	}
	CHECK_OK(fsync(fd), "fsync the big file");
	close(fd);
	CHECK_OK(truncate("big", 6 * GiB), "truncate a path to 6 GiB");
	CHECK_EQ(fsize("big"), 6 * GiB, "size 6 GiB");
	CHECK_OK(unlink("big"), "unlink the big file");
}

/* ---- fallocate ---------------------------------------------------------------------------------
 */

static void g_fallocate(void)
{
	unsigned char *buf = xmalloc(8 * MiB);
	struct stat st;
	int fd;

	fd = open("f", O_RDWR | O_CREAT, 0644);
	CHECK_OK(fd, "create f");
	if (fd < 0) {
		free(buf);
		return;
	}
	CHECK_OK(fallocate(fd, 0, 0, MiB), "fallocate 1 MiB");
	CHECK_OK(fstat(fd, &st), "fstat");
	CHECK_EQ(st.st_size, MiB, "fallocate extends the size");
	check_pattern(fd, 0, MiB, 0, "allocated range reads zeros");
	CHECK_OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, MiB, MiB), "fallocate KEEP_SIZE beyond EOF");
	CHECK_EQ(fsize("f"), MiB, "KEEP_SIZE keeps the size");
	CHECK_EQ(pread(fd, buf, 10, MiB), 0, "nothing readable beyond EOF");
	CHECK_OK(fallocate(fd, 0, 3 * MiB, MiB), "fallocate beyond EOF with a gap");
	CHECK_EQ(fsize("f"), 4 * MiB, "size after fallocate with a gap");
	check_pattern(fd, MiB, 3 * MiB, 0, "gap and new range read zeros");

	pat_fill(buf, 8 * MiB, 41, 0);
	CHECK_EQ(pwrite_all(fd, buf, 8 * MiB, 0), 8 * MiB, "write 8 MiB");
	CHECK_OK(fallocate(fd, 0, 0, 2 * MiB), "fallocate over existing data");
	check_pattern(fd, 0, 8 * MiB, 41, "fallocate keeps existing data");
	CHECK_EQ(fsize("f"), 8 * MiB, "fallocate inside the file keeps the size");
	CHECK_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100000, 200000),
		 "punch a hole");
	CHECK_EQ(fsize("f"), 8 * MiB, "punching keeps the size");
	check_pattern(fd, 0, 100000, 41, "data before the hole");
	check_pattern(fd, 100000, 200000, 0, "punched range reads zeros");
	check_pattern(fd, 300000, 100000, 41, "data after the hole");
	CHECK_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4 * MiB - 5000, 10000),
		 "punch across 4 MiB");
	check_pattern(fd, 4 * MiB - 6000, 1000, 41, "data before the boundary hole");
	check_pattern(fd, 4 * MiB - 5000, 10000, 0, "hole across 4 MiB reads zeros");
	check_pattern(fd, 4 * MiB + 5000, 1000, 41, "data after the boundary hole");
	CHECK_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 7 * MiB, 4 * MiB),
		 "punch past EOF");
	CHECK_EQ(fsize("f"), 8 * MiB, "punch past EOF keeps the size");
	check_pattern(fd, 7 * MiB, MiB, 0, "tail punched");
	check_pattern(fd, 5 * MiB, MiB, 41, "untouched middle");
	CHECK_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 8 * MiB),
		 "punch the whole file");
	check_pattern(fd, 0, 8 * MiB, 0, "whole file reads zeros");
	CHECK_EQ(pwrite(fd, "after", 5, 100), 5, "write into a punched range");
	CHECK_EQ(pread(fd, buf, 5, 100), 5, "read it back");
	t_mem(buf, "after", 5, "data written into a punched range");
	CHECK_ERR(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096), EOPNOTSUPP,
		  "PUNCH_HOLE without KEEP_SIZE");
	CHECK_ERR(fallocate(fd, 0, 0, 0), EINVAL, "fallocate of length 0");
	CHECK_ERR(fallocate(fd, 0, -1, 10), EINVAL, "fallocate at a negative offset");
	close(fd);
	fd = open("f", O_RDONLY);
	if (fd >= 0) {
		CHECK_ERR(fallocate(fd, 0, 0, 4096), EBADF, "fallocate on a read-only descriptor");
		close(fd);
	}
	free(buf);
}

/* ---- SEEK_DATA / SEEK_HOLE ---------------------------------------------------------------------
 */

static void g_seek_data(void)
{
	unsigned char buf[5000];
	off_t r;
	int fd;

	fd = open("f", O_RDWR | O_CREAT, 0644);
	CHECK_OK(fd, "create f");
	if (fd < 0)
		return;
	CHECK_ERR(lseek(fd, 0, SEEK_DATA), ENXIO, "SEEK_DATA in an empty file");
	CHECK_ERR(lseek(fd, 0, SEEK_HOLE), ENXIO, "SEEK_HOLE in an empty file");
	memset(buf, 'd', sizeof(buf));
	CHECK_EQ(pwrite(fd, buf, 5000, 0), 5000, "write 5000 bytes");
	CHECK_EQ(lseek(fd, 0, SEEK_DATA), 0, "SEEK_DATA at written data returns the offset");
	CHECK_EQ(lseek(fd, 1234, SEEK_DATA), 1234, "SEEK_DATA inside data returns the offset");
	CHECK_EQ(lseek(fd, 0, SEEK_HOLE), 5000, "SEEK_HOLE in a fully written file gives its size");
	CHECK_ERR(lseek(fd, 5000, SEEK_DATA), ENXIO, "SEEK_DATA at EOF");
	CHECK_ERR(lseek(fd, 9000, SEEK_DATA), ENXIO, "SEEK_DATA after EOF");
	CHECK_ERR(lseek(fd, 5000, SEEK_HOLE), ENXIO, "SEEK_HOLE at EOF");
	CHECK_OK(ftruncate(fd, 10 * MiB), "extend to 10 MiB");
	CHECK_EQ(pwrite(fd, buf, 4096, 6 * MiB), 4096, "write 4 KiB at 6 MiB");
	r = lseek(fd, 0, SEEK_HOLE);
	CHECK(r >= 5000 && r <= 10 * MiB,
	      "SEEK_HOLE after data is past the data and within the size");
	r = lseek(fd, 100, SEEK_HOLE);
	CHECK(r >= 5000 && r <= 10 * MiB, "SEEK_HOLE from inside data");
	r = lseek(fd, 5 * MiB, SEEK_DATA);
	CHECK(r >= 5 * MiB && r <= 6 * MiB, "SEEK_DATA from a hole finds data no later than it is");
	CHECK_EQ(lseek(fd, 6 * MiB + 100, SEEK_DATA), 6 * MiB + 100, "SEEK_DATA inside later data");
	r = lseek(fd, 6 * MiB + 100, SEEK_HOLE);
	CHECK(r >= 6 * MiB + 4096 && r <= 10 * MiB, "SEEK_HOLE after the later data");
	r = lseek(fd, 8 * MiB, SEEK_HOLE);
	CHECK(r >= 8 * MiB && r <= 10 * MiB, "SEEK_HOLE in the trailing hole");
	r = lseek(fd, 8 * MiB, SEEK_DATA);
	CHECK(r == -1 ? errno == ENXIO : (r >= 8 * MiB && r < 10 * MiB),
	      "SEEK_DATA in the trailing hole gives ENXIO or an offset inside the file");
	CHECK_ERR(lseek(fd, 10 * MiB, SEEK_DATA), ENXIO, "SEEK_DATA at the new EOF");
	CHECK_ERR(lseek(fd, 10 * MiB, SEEK_HOLE), ENXIO, "SEEK_HOLE at the new EOF");
	close(fd);
}

/* ---- statfs -----------------------------------------------------------------------------------
 */

static void g_statfs(void)
{
	struct statvfs v, v2;
	struct statfs s;
	int fd;

	CHECK_OK(statvfs(".", &v), "statvfs");
	CHECK_EQ(v.f_namemax, 255, "f_namemax is 255");
	CHECK(v.f_bsize > 0, "f_bsize positive");
	CHECK(v.f_frsize > 0, "f_frsize positive");
	CHECK(v.f_blocks > 0, "f_blocks positive");
	CHECK(v.f_bfree <= v.f_blocks, "f_bfree <= f_blocks");
	CHECK(v.f_bavail <= v.f_bfree, "f_bavail <= f_bfree");
	CHECK(v.f_ffree <= v.f_files, "f_ffree <= f_files");
	CHECK(v.f_favail <= v.f_files, "f_favail <= f_files");
	CHECK_OK(statfs(".", &s), "statfs");
	CHECK_EQ(s.f_namelen, 255, "statfs f_namelen is 255");
	CHECK_EQ(s.f_frsize, v.f_frsize, "statfs and statvfs agree on the fragment size");
	fd = open(".", O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		CHECK_OK(fstatvfs(fd, &v2), "fstatvfs");
		CHECK_EQ(v2.f_frsize, v.f_frsize, "fstatvfs agrees with statvfs");
		CHECK_EQ(v2.f_namemax, 255, "fstatvfs f_namemax");
		close(fd);
	}
	CHECK_OK(mkfile_str("f", "x"), "create f");
	CHECK_OK(statvfs("f", &v2), "statvfs of a file path");
	CHECK_EQ(v2.f_namemax, 255, "statvfs through a file path");
	CHECK_ERR(statvfs("missing", &v2), ENOENT, "statvfs of a missing path");
}

/* ---- fsync and friends -------------------------------------------------------------------------
 */

static void g_sync(void)
{
	int fd, dfd;

	fd = open("f", O_RDWR | O_CREAT, 0644);
	CHECK_OK(fd, "create f");
	if (fd < 0)
		return;
	CHECK_EQ(write(fd, "data", 4), 4, "write");
	CHECK_OK(fsync(fd), "fsync");
	CHECK_EQ(write(fd, "more", 4), 4, "write more");
	CHECK_OK(fdatasync(fd), "fdatasync");
	CHECK_OK(syncfs(fd), "syncfs");
	CHECK_OK(ftruncate(fd, 2), "truncate");
	CHECK_OK(fdatasync(fd), "fdatasync after truncate");
	CHECK_OK(fsync(fd), "fsync without changes");
	CHECK_OK(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER),
		 "sync_file_range");
	CHECK_OK(close(fd), "close after fsync");
	fd = open("f", O_RDONLY);
	if (fd >= 0) {
		CHECK_OK(fsync(fd), "fsync on a read-only descriptor");
		close(fd);
	}
	dfd = open(".", O_RDONLY | O_DIRECTORY);
	CHECK_OK(dfd, "open the directory");
	if (dfd >= 0) {
		CHECK_OK(fsync(dfd), "fsync a directory");
		CHECK_OK(fdatasync(dfd), "fdatasync a directory");
		CHECK_OK(syncfs(dfd), "syncfs through a directory");
		close(dfd);
	}
	sync();
	fd = open("g", O_RDWR | O_CREAT, 0644);
	if (fd >= 0) {
		CHECK_EQ(write(fd, "x", 1), 1, "write g");
		CHECK_OK(unlink("g"), "unlink g");
		CHECK_OK(fsync(fd), "fsync an unlinked file");
		CHECK_OK(close(fd), "close an unlinked file");
	}
	check_content("f", "da", "contents after syncs");
}

/* ---- mmap --------------------------------------------------------------------------------------
 */

static void g_mmap(void)
{
	const size_t len = 256 * KiB;
	unsigned char *buf = xmalloc(len);
	unsigned char *m;
	int fd;

	pat_fill(buf, len, 51, 0);
	CHECK_OK(mkfile("f", 0644, buf, len), "create 256 KiB");
	fd = open("f", O_RDWR);
	CHECK_OK(fd, "open f");
	if (fd < 0) {
		free(buf);
		return;
	}
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED, "mmap MAP_SHARED read-write");
	if (m != MAP_FAILED) {
		t_mem(m, buf, len, "mapped contents equal the file");
		memcpy(m + 1000, "mapped write", 12);
		CHECK_OK(msync(m, len, MS_SYNC), "msync");
		CHECK_EQ(pread(fd, buf, 12, 1000), 12, "pread after a mapped write");
		t_mem(buf, "mapped write", 12, "write through the mapping is visible to read");
		CHECK_EQ(pwrite(fd, "via write", 9, 5000), 9, "pwrite");
		t_mem(m + 5000, "via write", 9, "pwrite is visible through the mapping");
		CHECK_OK(munmap(m, len), "munmap");
	}
	close(fd);
	fd = open("f", O_RDONLY);
	if (fd >= 0) {
		CHECK_EQ(pread(fd, buf, 12, 1000), 12, "read after reopening");
		t_mem(buf, "mapped write", 12, "mapped write persisted in the file");
		m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		CHECK(m != MAP_FAILED, "mmap MAP_PRIVATE read-only");
		if (m != MAP_FAILED) {
			t_mem(m + 5000, "via write", 9, "private mapping shows the file");
			munmap(m, len);
		}
		close(fd);
	}
	free(buf);
}

/* ---- extended attributes -------------------------------------------------------------------- */

/* True when the listxattr buffer of n bytes holds name exactly once. */
static int list_count(const char *list, ssize_t n, const char *name)
{
	int c = 0;

	for (ssize_t off = 0; off < n; off += (ssize_t)strlen(list + off) + 1)
		if (!strcmp(list + off, name))
			c++;
	return c;
}

static int list_count_prefix(const char *list, ssize_t n, const char *prefix)
{
	int c = 0;

	for (ssize_t off = 0; off < n; off += (ssize_t)strlen(list + off) + 1)
		if (!strncmp(list + off, prefix, strlen(prefix)))
			c++;
	return c;
}

static void g_xattr(void)
{
	char list[8192], val[70000], name[300];
	unsigned char bin[256];
	ssize_t n;

	CHECK_OK(mkfile_str("f", "x"), "create f");
	n = listxattr("f", list, sizeof(list));
	CHECK(n >= 0 && list_count_prefix(list, n, "user.") == 0, "a new file has no user xattrs");
	CHECK_OK(setxattr("f", "user.color", "blue", 4, 0), "setxattr user.color");
	n = getxattr("f", "user.color", val, sizeof(val));
	CHECK_EQ(n, 4, "getxattr length");
	t_mem(val, "blue", 4, "getxattr value");
	CHECK_EQ(getxattr("f", "user.color", NULL, 0), 4,
		 "getxattr with size 0 returns the length");
	CHECK_ERR(getxattr("f", "user.color", val, 3), ERANGE, "getxattr into a small buffer");
	CHECK_ERR(setxattr("f", "user.color", "red", 3, XATTR_CREATE), EEXIST,
		  "XATTR_CREATE on an existing attribute");
	CHECK_ERR(setxattr("f", "user.shape", "round", 5, XATTR_REPLACE), ENODATA,
		  "XATTR_REPLACE on a missing attribute");
	CHECK_OK(setxattr("f", "user.color", "green!", 6, XATTR_REPLACE), "XATTR_REPLACE");
	n = getxattr("f", "user.color", val, sizeof(val));
	CHECK_EQ(n, 6, "replaced value length");
	t_mem(val, "green!", 6, "replaced value");
	CHECK_OK(setxattr("f", "user.shape", "round", 5, XATTR_CREATE),
		 "XATTR_CREATE of a new one");
	CHECK_OK(setxattr("f", "user.empty", "", 0, 0), "empty value");
	CHECK_EQ(getxattr("f", "user.empty", val, sizeof(val)), 0, "empty value has length 0");
	for (int i = 0; i < 256; i++)
		bin[i] = (unsigned char)i;
	CHECK_OK(setxattr("f", "user.bin", bin, 256, 0), "binary value with NUL bytes");
	CHECK_EQ(getxattr("f", "user.bin", val, sizeof(val)), 256, "binary value length");
	t_mem(val, bin, 256, "binary value preserved");
	CHECK_ERR(getxattr("f", "user.missing", val, sizeof(val)), ENODATA,
		  "getxattr of a missing name");
	n = listxattr("f", list, sizeof(list));
	CHECK_OK(n, "listxattr");
	CHECK_EQ(list_count(list, n, "user.color"), 1, "list has user.color");
	CHECK_EQ(list_count(list, n, "user.shape"), 1, "list has user.shape");
	CHECK_EQ(list_count(list, n, "user.empty"), 1, "list has user.empty");
	CHECK_EQ(list_count(list, n, "user.bin"), 1, "list has user.bin");
	CHECK_EQ(list_count_prefix(list, n, "user."), 4, "list has four user attributes");
	CHECK_EQ(listxattr("f", NULL, 0), n, "listxattr with size 0 returns the length");
	CHECK_ERR(listxattr("f", list, (size_t)n - 1), ERANGE, "listxattr into a small buffer");
	CHECK_OK(removexattr("f", "user.shape"), "removexattr");
	CHECK_ERR(getxattr("f", "user.shape", val, sizeof(val)), ENODATA,
		  "removed attribute is gone");
	CHECK_ERR(removexattr("f", "user.shape"), ENODATA, "removexattr of a missing name");
	n = listxattr("f", list, sizeof(list));
	CHECK_EQ(list_count(list, n, "user.shape"), 0, "removed attribute not listed");
	CHECK_EQ(list_count_prefix(list, n, "user."), 3, "three left");

	/* Value sizes. */
	memset(val, 'v', sizeof(val));
	CHECK_OK(setxattr("f", "user.k1", val, 1000, 0), "1000-byte value");
	CHECK_EQ(getxattr("f", "user.k1", list, sizeof(list)), 1000, "1000-byte value length");
	{
		int r;
		int e;

		CHECK_OK(mkfile_str("g", "x"), "create g");
		r = setxattr("g", "user.big", val, 65536, 0);
		e = errno;
		if (r == 0) {
			CHECK_EQ(getxattr("g", "user.big", val, sizeof(val)), 65536,
				 "64 KiB value reads back");
		} else {
			t_err(r, e, ENOSPC, E2BIG,
			      "64 KiB value is stored or refused as too large for this filesystem");
		}
	}
	CHECK_ERR(setxattr("f", "user.huge", val, 65537, 0), E2BIG, "value over 64 KiB");
	name[0] = 0;
	strcpy(name, "user.");
	memset(name + 5, 'n', 250);
	name[255] = 0;
	CHECK_OK(setxattr("f", name, "l", 1, 0), "255-byte attribute name");
	CHECK_EQ(getxattr("f", name, val, sizeof(val)), 1, "255-byte name reads back");
	n = listxattr("f", list, sizeof(list));
	CHECK_EQ(list_count(list, n, name), 1, "255-byte name listed");
	name[255] = 'n';
	name[256] = 0;
	CHECK_ERR(setxattr("f", name, "l", 1, 0), ERANGE, "256-byte attribute name");
	CHECK_ERR(getxattr("f", name, val, sizeof(val)), ERANGE, "getxattr of a 256-byte name");

	/* Many attributes. */
	{
		bool okx = true;

		CHECK_OK(mkfile_str("many", "x"), "create many");
		for (int i = 0; i < 40 && okx; i++) {
			snprintf(name, sizeof(name), "user.a%02d", i);
			okx = setxattr("many", name, name, strlen(name), XATTR_CREATE) == 0;
		}
		CHECK(okx, "40 attributes on one file");
		n = listxattr("many", list, sizeof(list));
		CHECK_EQ(list_count_prefix(list, n, "user.a"), 40, "all 40 listed");
		okx = true;
		for (int i = 0; i < 40 && okx; i++) {
			snprintf(name, sizeof(name), "user.a%02d", i);
			n = getxattr("many", name, val, sizeof(val));
			okx = n == (ssize_t)strlen(name) && !memcmp(val, name, (size_t)n);
		}
		CHECK(okx, "each of the 40 has its own value");
	}

	/* Directories, links, renames, open descriptors. */
	CHECK_OK(mkdir("d", 0755), "mkdir d");
	CHECK_OK(setxattr("d", "user.dir", "yes", 3, 0), "xattr on a directory");
	CHECK_EQ(getxattr("d", "user.dir", val, sizeof(val)), 3, "directory xattr reads back");
	CHECK_OK(link("f", "d/flink"), "hard link");
	CHECK_EQ(getxattr("d/flink", "user.color", val, sizeof(val)), 6,
		 "xattrs shared by hard links");
	CHECK_OK(rename("f", "d/renamed"), "rename");
	CHECK_EQ(getxattr("d/renamed", "user.color", val, sizeof(val)), 6, "xattrs survive rename");
	{
		int fd = open("d/renamed", O_RDWR);

		if (fd >= 0) {
			CHECK_OK(fsetxattr(fd, "user.fd", "1", 1, 0), "fsetxattr");
			CHECK_EQ(fgetxattr(fd, "user.fd", val, sizeof(val)), 1, "fgetxattr");
			n = flistxattr(fd, list, sizeof(list));
			CHECK_EQ(list_count(list, n, "user.fd"), 1, "flistxattr");
			CHECK_OK(fremovexattr(fd, "user.fd"), "fremovexattr");
			CHECK_OK(unlink("d/renamed"), "unlink one name");
			CHECK_OK(unlink("d/flink"), "unlink the other name");
			CHECK_OK(fsetxattr(fd, "user.gone", "1", 1, 0),
				 "fsetxattr on an unlinked file");
			CHECK_EQ(fgetxattr(fd, "user.color", val, sizeof(val)), 6,
				 "fgetxattr on an unlinked file");
			close(fd);
		}
	}
	CHECK_OK(symlink("d", "sl"), "symlink");
	CHECK_ERR(lsetxattr("sl", "user.x", "1", 1, 0), EPERM, "user xattr on a symlink");
	CHECK_ERR(lgetxattr("sl", "user.x", val, sizeof(val)), ENODATA,
		  "get user xattr of a symlink");
	CHECK_EQ(getxattr("sl", "user.dir", val, sizeof(val)), 3, "getxattr follows symlinks");
	CHECK_OK(mkfifo("fifo", 0644), "mkfifo");
	CHECK_ERR(setxattr("fifo", "user.x", "1", 1, 0), EPERM, "user xattr on a fifo");
	CHECK_ERR(getxattr("missing", "user.x", val, sizeof(val)), ENOENT,
		  "getxattr of a missing file");

	/* trusted.* as root */
	CHECK_OK(mkfile_str("t", "x"), "create t");
	CHECK_OK(setxattr("t", "trusted.flocker", "secret", 6, 0), "root sets trusted.flocker");
	CHECK_EQ(getxattr("t", "trusted.flocker", val, sizeof(val)), 6,
		 "root reads trusted.flocker");
	t_mem(val, "secret", 6, "trusted value");
	n = listxattr("t", list, sizeof(list));
	CHECK_EQ(list_count(list, n, "trusted.flocker"), 1, "root lists trusted.flocker");
	CHECK_ERR(setxattr("t", "trusted.flocker", "x", 1, XATTR_CREATE), EEXIST,
		  "XATTR_CREATE on an existing trusted attribute");
	CHECK_ERR(setxattr("t", "trusted.other", "x", 1, XATTR_REPLACE), ENODATA,
		  "XATTR_REPLACE on a missing trusted attribute");
	CHECK_OK(setxattr("t", "user.flocker", "public", 6, 0),
		 "user attribute of the same suffix");
	CHECK_EQ(getxattr("t", "trusted.flocker", val, sizeof(val)), 6,
		 "namespaces are separate (trusted)");
	CHECK_EQ(getxattr("t", "user.flocker", val, sizeof(val)), 6,
		 "namespaces are separate (user)");
	t_mem(val, "public", 6, "user value differs from trusted value");
	CHECK_OK(chmod("t", 0644), "chmod t 0644");
	CHECK_OK(mkfile_str("priv", "x"), "create priv");
	CHECK_OK(chmod("priv", 0600), "chmod priv 0600");
	CHECK_OK(setxattr("priv", "user.p", "1", 1, 0), "user xattr on priv");
	CHECK_OK(mkdir("sticky", 01777), "mkdir sticky");
	CHECK_OK(chmod("sticky", 01777), "chmod sticky 01777");

	{
		pid_t pid = child_u(U1);

		if (pid == 0) {
			CHECK_ERR(getxattr("t", "trusted.flocker", val, sizeof(val)), ENODATA,
				  "unprivileged getxattr of trusted.*");
			CHECK_ERR(setxattr("t", "trusted.mine", "1", 1, 0), EPERM,
				  "unprivileged setxattr of trusted.*");
			CHECK_EQ(getxattr("t", "user.flocker", val, sizeof(val)), 6,
				 "unprivileged read of a user xattr with read permission");
			CHECK_ERR(setxattr("t", "user.flocker", "x", 1, 0), EACCES,
				  "user xattr write without write permission");
			CHECK_ERR(removexattr("t", "user.flocker"), EACCES,
				  "user xattr removal without write permission");
			CHECK_ERR(getxattr("priv", "user.p", val, sizeof(val)), EACCES,
				  "user xattr read without read permission");
			CHECK_ERR(setxattr("sticky", "user.s", "1", 1, 0), EPERM,
				  "user xattr on another's sticky directory");
			_exit(0);
		}
		wait_child(pid, "unprivileged xattrs");
	}
	CHECK_OK(removexattr("t", "trusted.flocker"), "root removes trusted.flocker");
	CHECK_ERR(getxattr("t", "trusted.flocker", val, sizeof(val)), ENODATA, "trusted removed");
}

/* ---- flock --------------------------------------------------------------------------------------
 */

static void g_flock(void)
{
	struct gate g1, g2;
	int fd, fd2;
	pid_t pid;

	CHECK_OK(mkfile_str("f", "lock"), "create f");
	fd = open("f", O_RDWR);
	if (fd < 0)
		die("open");
	CHECK_OK(flock(fd, LOCK_EX), "parent takes LOCK_EX");
	pid = fork();
	if (pid == 0) {
		int cfd = open("f", O_RDWR);

		CHECK_ERR(flock(cfd, LOCK_EX | LOCK_NB), EWOULDBLOCK,
			  "child: LOCK_EX conflicts with another process's LOCK_EX");
		CHECK_ERR(flock(cfd, LOCK_SH | LOCK_NB), EWOULDBLOCK,
			  "child: LOCK_SH conflicts with LOCK_EX");
		_exit(0);
	}
	wait_child(pid, "flock child");
	fd2 = open("f", O_RDWR);
	CHECK_ERR(flock(fd2, LOCK_EX | LOCK_NB), EWOULDBLOCK,
		  "a second open file description of the same process conflicts too");
	CHECK_OK(flock(fd, LOCK_UN), "parent unlocks");
	CHECK_OK(flock(fd2, LOCK_EX | LOCK_NB), "lock free after unlock");
	CHECK_OK(flock(fd2, LOCK_UN), "unlock");
	CHECK_OK(flock(fd, LOCK_SH), "parent takes LOCK_SH");
	pid = fork();
	if (pid == 0) {
		int cfd = open("f", O_RDWR);

		CHECK_OK(flock(cfd, LOCK_SH | LOCK_NB), "child: shared locks coexist");
		CHECK_ERR(flock(cfd, LOCK_EX | LOCK_NB), EWOULDBLOCK,
			  "child: upgrade blocked by another shared holder");
		_exit(0);
	}
	wait_child(pid, "flock shared child");
	CHECK_OK(flock(fd, LOCK_EX | LOCK_NB), "upgrade to LOCK_EX once alone");
	CHECK_OK(close(fd), "close releases the lock");
	CHECK_OK(flock(fd2, LOCK_EX | LOCK_NB), "lock free after close");
	CHECK_OK(flock(fd2, LOCK_UN), "unlock");

	/* A blocking LOCK_EX waits for the holder. */
	gate_init(&g1);
	gate_init(&g2);
	pid = fork();
	if (pid == 0) {
		int cfd = open("f", O_RDWR);

		if (flock(cfd, LOCK_EX) < 0)
			_exit(1);
		gate_open(&g1); /* holding */
		gate_wait(&g2); /* parent tried */
		msleep(200);
		flock(cfd, LOCK_UN);
		_exit(0);
	}
	gate_wait(&g1);
	CHECK_ERR(flock(fd2, LOCK_EX | LOCK_NB), EWOULDBLOCK, "child holds LOCK_EX");
	gate_open(&g2);
	{
		long long t0 = now_ns();

		CHECK_OK(flock(fd2, LOCK_EX), "blocking LOCK_EX");
		CHECK(now_ns() - t0 >= 100000000LL, "blocking LOCK_EX waited for the holder");
	}
	wait_child(pid, "flock blocking child");
	gate_close(&g1);
	gate_close(&g2);
	close(fd2);
}

/* ---- fcntl record locks ------------------------------------------------------------------------
 */

static int setlk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = len;
	return fcntl(fd, cmd, &fl);
}

static void g_fcntl_lock(void)
{
	struct gate g1, g2;
	pid_t pid, parent = getpid();
	int fd, fd2;

	CHECK_OK(mkfile_str("f", "0123456789"), "create f");
	fd = open("f", O_RDWR);
	if (fd < 0)
		die("open");
	CHECK_OK(setlk(fd, F_SETLK, F_WRLCK, 0, 100), "parent write-locks [0,100)");
	pid = fork();
	if (pid == 0) {
		int cfd = open("f", O_RDWR);
		struct flock fl;

		CHECK_ERR2(setlk(cfd, F_SETLK, F_WRLCK, 50, 10), EAGAIN, EACCES,
			   "child: overlapping write lock refused");
		CHECK_ERR2(setlk(cfd, F_SETLK, F_RDLCK, 0, 10), EAGAIN, EACCES,
			   "child: overlapping read lock refused");
		CHECK_OK(setlk(cfd, F_SETLK, F_WRLCK, 100, 100), "child: adjacent range is free");
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		fl.l_start = 10;
		fl.l_len = 1;
		CHECK_OK(fcntl(cfd, F_GETLK, &fl), "child: F_GETLK");
		CHECK_EQ(fl.l_type, F_WRLCK, "F_GETLK reports a write lock");
		CHECK_EQ(fl.l_pid, parent, "F_GETLK reports the holder's pid");
		CHECK_EQ(fl.l_start, 0, "F_GETLK reports the start");
		CHECK_EQ(fl.l_len, 100, "F_GETLK reports the length");
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		fl.l_start = 300;
		fl.l_len = 10;
		CHECK_OK(fcntl(cfd, F_GETLK, &fl), "child: F_GETLK on a free range");
		CHECK_EQ(fl.l_type, F_UNLCK, "free range reports F_UNLCK");
		_exit(0);
	}
	wait_child(pid, "fcntl lock child");
	CHECK_OK(setlk(fd, F_SETLK, F_UNLCK, 0, 100), "parent unlocks");
	CHECK_OK(setlk(fd, F_SETLK, F_RDLCK, 0, 100), "parent read-locks");
	pid = fork();
	if (pid == 0) {
		int cfd = open("f", O_RDWR);

		CHECK_OK(setlk(cfd, F_SETLK, F_RDLCK, 0, 100), "child: read locks coexist");
		CHECK_ERR2(setlk(cfd, F_SETLK, F_WRLCK, 0, 1), EAGAIN, EACCES,
			   "child: write lock refused under a read lock");
		_exit(0);
	}
	wait_child(pid, "fcntl read lock child");

	/* Closing any descriptor of the file drops the process's locks. */
	CHECK_OK(setlk(fd, F_SETLK, F_WRLCK, 0, 0), "parent locks the whole file");
	pid = fork();
	if (pid == 0) {
		int cfd = open("f", O_RDWR);

		CHECK_ERR2(setlk(cfd, F_SETLK, F_WRLCK, GiB, 1), EAGAIN, EACCES,
			   "child: a whole-file lock covers offsets past EOF");
		_exit(0);
	}
	wait_child(pid, "whole-file lock child");
	fd2 = open("f", O_RDONLY);
	close(fd2);
	pid = fork();
	if (pid == 0) {
		int cfd = open("f", O_RDWR);

		CHECK_OK(setlk(cfd, F_SETLK, F_WRLCK, 0, 0),
			 "child: closing another descriptor released the parent's locks");
		_exit(0);
	}
	wait_child(pid, "lock after close child");

	/* F_SETLKW waits. */
	gate_init(&g1);
	gate_init(&g2);
	pid = fork();
	if (pid == 0) {
		int cfd = open("f", O_RDWR);

		if (setlk(cfd, F_SETLK, F_WRLCK, 0, 10) < 0)
			_exit(1);
		gate_open(&g1);
		gate_wait(&g2);
		msleep(200);
		setlk(cfd, F_SETLK, F_UNLCK, 0, 10);
		msleep(100000);
		_exit(0);
	}
	gate_wait(&g1);
	CHECK_ERR2(setlk(fd, F_SETLK, F_WRLCK, 5, 1), EAGAIN, EACCES, "child holds [0,10)");
	gate_open(&g2);
	{
		long long t0 = now_ns();

		CHECK_OK(setlk(fd, F_SETLKW, F_WRLCK, 5, 1), "F_SETLKW");
		CHECK(now_ns() - t0 >= 100000000LL, "F_SETLKW waited for the holder");
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	gate_close(&g1);
	gate_close(&g2);
	CHECK_OK(setlk(fd, F_SETLK, F_UNLCK, 0, 0), "unlock everything");

	/* Open file description locks between two processes. */
	CHECK_OK(setlk(fd, F_OFD_SETLK, F_WRLCK, 0, 10), "OFD write lock");
	pid = fork();
	if (pid == 0) {
		int cfd = open("f", O_RDWR);

		CHECK_ERR2(setlk(cfd, F_OFD_SETLK, F_WRLCK, 5, 1), EAGAIN, EACCES,
			   "child: OFD lock conflicts");
		CHECK_OK(setlk(cfd, F_OFD_SETLK, F_WRLCK, 10, 1), "child: OFD lock beside it");
		_exit(0);
	}
	wait_child(pid, "OFD lock child");
	close(fd);
}

/* ---- ownership of new inodes, setgid directories -------------------------------------------- */

static void g_ownership(void)
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
		CHECK_OK(stat("udir", &st), "stat");
		CHECK_EQ(st.st_uid, U1, "new directory uid");
		CHECK_EQ(st.st_gid, G1, "new directory gid");
		CHECK_OK(symlink("plain", "ulink"), "uid %d symlink", U1);
		CHECK_OK(lstat("ulink", &st), "lstat");
		CHECK_EQ(st.st_uid, U1, "new symlink uid");
		CHECK_EQ(st.st_gid, G1, "new symlink gid");
		CHECK_OK(mkfifo("ufifo", 0644), "uid %d mkfifo", U1);
		CHECK_OK(lstat("ufifo", &st), "lstat");
		CHECK_EQ(st.st_uid, U1, "new fifo uid");
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

static void g_perms(void)
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
	CHECK_OK(mkfile_str("f600", "x"), "create f600");
	CHECK_OK(chown("f600", U2, G2), "owned by uid %d", U2);
	CHECK_OK(chmod("f600", 0600), "chmod 0600");
	CHECK_OK(mkfile_str("f644", "x"), "create f644");
	CHECK_OK(chown("f644", U2, G2), "owned by uid %d", U2);
	CHECK_OK(mkfile_str("f064", "x"), "create f064");
	CHECK_OK(chown("f064", U1, G1), "owned by uid %d", U1);
	CHECK_OK(chmod("f064", 0064), "chmod 0064");
	CHECK_OK(mkfile_str("f640g", "x"), "create f640g");
	CHECK_OK(chown("f640g", U2, GX), "owned by uid %d group %d", U2, GX);
	CHECK_OK(chmod("f640g", 0640), "chmod 0640");
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

static void g_sticky(void)
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

/* ---- names --------------------------------------------------------------------------------------
 */

static void g_names(void)
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

/* ---- the volume size limit ----------------------------------------------------------------------
 */

static long long free_bytes(void)
{
	struct statvfs v;

	if (statvfs(".", &v) < 0)
		return -1;
	return (long long)v.f_bfree * (long long)v.f_frsize;
}

static void g_enospc(void)
{
	const char *env = getenv("FLOCKER_TEST_SIZE_LIMIT");
	long long limit = env ? strtoll(env, NULL, 0) : 0;
	const size_t chunk = MiB;
	unsigned char *buf = xmalloc(chunk);
	long long total = 0, target, free0, free1, used;
	const char *where = NULL;
	char detail[300];
	struct statvfs v;
	int fd, err = 0;

	if (limit <= 0) {
		t_res(false, "FLOCKER_TEST_SIZE_LIMIT is not a positive number",
		      "size limit given");
		free(buf);
		return;
	}
	pat_fill(buf, chunk, 61, 0);
	CHECK_OK(statvfs(".", &v), "statvfs");
	{
		long long total_bytes = (long long)v.f_blocks * (long long)v.f_frsize;
		long long diff = total_bytes > limit ? total_bytes - limit : limit - total_bytes;

		snprintf(detail, sizeof(detail),
			 "f_blocks %llu * f_frsize %lu = %lld bytes, limit %lld (off by %lld)",
			 (unsigned long long)v.f_blocks, (unsigned long)v.f_frsize, total_bytes,
			 limit, diff);
		t_res(diff <= limit / 100, detail, "statvfs size equals the limit within 1%%");
		CHECK(v.f_bfree <= v.f_blocks, "f_bfree <= f_blocks");
		CHECK(v.f_bavail <= v.f_bfree, "f_bavail <= f_bfree");
	}

	/* Space accounting follows writes and deletes. */
	used = limit >= 32 * MiB ? 8 * MiB : limit / 4;
	free0 = free_bytes();
	fd = open("acct", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK_OK(fd, "create acct");
	if (fd >= 0) {
		bool okw = true;

		for (long long off = 0; off < used && okw; off += (long long)chunk)
			okw = pwrite_all(fd, buf, chunk, off) == (ssize_t)chunk;
		CHECK(okw, "write %lld bytes", used);
		CHECK_OK(fsync(fd), "fsync");
		close(fd);
		{
			int dfd = open(".", O_RDONLY | O_DIRECTORY);

			CHECK_OK(syncfs(dfd), "syncfs");
			if (dfd >= 0)
				close(dfd);
		}
		free1 = free_bytes();
		snprintf(detail, sizeof(detail), "free bytes went from %lld to %lld", free0, free1);
		t_res(free0 - free1 >= used / 2, detail,
		      "free space drops after writing %lld bytes", used);
		CHECK_OK(unlink("acct"), "unlink acct");
		{
			int dfd = open(".", O_RDONLY | O_DIRECTORY);
			long long f = free_bytes();

			for (int i = 0; i < 300 && f < free0 - used / 4; i++) {
				if (dfd >= 0)
					syncfs(dfd);
				msleep(100);
				f = free_bytes();
			}
			if (dfd >= 0)
				close(dfd);
			snprintf(detail, sizeof(detail), "free bytes %lld, before writing %lld", f,
				 free0);
			t_res(f >= free0 - used / 4, detail,
			      "free space comes back after unlink (within 30 s)");
		}
	}

	/* Fill past the limit. */
	target = limit + limit / 8 + 4 * MiB;
	fd = open("fill", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK_OK(fd, "create fill");
	if (fd < 0) {
		free(buf);
		return;
	}
	while (total < target) {
		ssize_t n = write(fd, buf, chunk);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			where = "write()";
			err = errno;
			break;
		}
		total += n;
	}
	if (!where && fsync(fd) < 0) {
		where = "fsync()";
		err = errno;
	}
	if (close(fd) < 0 && !where) {
		where = "close()";
		err = errno;
	}
	if (!where)
		snprintf(detail, sizeof(detail),
			 "%lld bytes written, fsync and close succeeded: no error at all", total);
	else
		snprintf(detail, sizeof(detail), "%s failed with %s after %lld bytes", where,
			 ename(err), total);
	t_res(where && err == ENOSPC, detail,
	      "writing %lld bytes with a %lld-byte limit fails with ENOSPC (%s)", target, limit,
	      where ? where : "no error");
	note("ENOSPC reported at %s after %lld bytes written", where ? where : "(nowhere)", total);
	if (where && !strcmp(where, "write()")) {
		snprintf(detail, sizeof(detail), "write() accepted %lld bytes, limit %lld", total,
			 limit);
		t_res(total <= limit + limit / 50 + (long long)chunk, detail,
		      "write() accepts no more than the limit");
		t_res(total >= limit / 2, detail, "write() accepts at least half the limit");
	}
	CHECK_OK(unlink("fill"), "unlink fill");

	/* Space is usable again. */
	{
		int dfd = open(".", O_RDONLY | O_DIRECTORY);
		int ok = -1, e = 0;

		for (int i = 0; i < 300 && ok < 0; i++) {
			if (dfd >= 0)
				syncfs(dfd);
			fd = open("again", O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd >= 0) {
				if (pwrite_all(fd, buf, chunk, 0) == (ssize_t)chunk &&
				    fsync(fd) == 0)
					ok = 0;
				else
					e = errno;
				if (close(fd) < 0 && ok == 0) {
					ok = -1;
					e = errno;
				}
			} else {
				e = errno;
			}
			if (ok < 0)
				msleep(100);
		}
		errno = e;
		CHECK_OK(ok, "after deleting the big file, 1 MiB can be written and synced again");
		if (dfd >= 0)
			close(dfd);
	}
	CHECK_OK(mkdir("dir-after", 0755), "mkdir after ENOSPC");
	CHECK_OK(mkfile_str("dir-after/f", "fine"), "create after ENOSPC");
	check_content("dir-after/f", "fine", "filesystem works after ENOSPC");
	free(buf);
}

/* ---- runner -------------------------------------------------------------------------------------
 */

struct tgroup {
	const char *name;
	void (*fn)(void);
};

static const struct tgroup groups[] = {
	{"lookup", g_lookup},
	{"create_open", g_create_open},
	{"append", g_append},
	{"mkdir_rmdir", g_mkdir_rmdir},
	{"nlink_dirs", g_nlink_dirs},
	{"chmod_chown", g_chmod_chown},
	{"suid_clear", g_suid_clear},
	{"truncate", g_truncate},
	{"times", g_times},
	{"mknod", g_mknod},
	{"socket", g_socket},
	{"symlink", g_symlink},
	{"link", g_link},
	{"unlink_open", g_unlink_open},
	{"rename", g_rename},
	{"renameat2", g_renameat2},
	{"readdir", g_readdir},
	{"readdir_mutation", g_readdir_mutation},
	{"data", g_data},
	{"bigfile", g_bigfile},
	{"fallocate", g_fallocate},
	{"seek_data", g_seek_data},
	{"statfs", g_statfs},
	{"sync", g_sync},
	{"mmap", g_mmap},
	{"xattr", g_xattr},
	{"flock", g_flock},
	{"fcntl_lock", g_fcntl_lock},
	{"ownership", g_ownership},
	{"perms", g_perms},
	{"sticky", g_sticky},
	{"names", g_names},
	{"enospc", g_enospc},
};

#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

static bool selected(const char *only, const char *name)
{
	size_t len = strlen(name);

	if (!only)
		return true;
	for (const char *p = only; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n == len && !strncmp(p, name, n))
			return true;
		p += n + (end ? 1 : 0);
	}
	return false;
}

static void run_group(const struct tgroup *g, const char *base, bool keep)
{
	unsigned long failed0 = sh->failed;
	char dir[PATH_MAX];
	int status;
	pid_t pid;

	cur_group = g->name;
	if (snprintf(dir, sizeof(dir), "%s/%s", base, g->name) >= (int)sizeof(dir)) {
		t_res(false, "path too long", "group directory path fits");
		return;
	}
	if (mkdir(dir, 0777) < 0 || chmod(dir, 0777) < 0) {
		t_ok(-1, errno, "create the group directory %s", dir);
		return;
	}
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		setpgid(0, 0);
		if (chdir(dir) < 0)
			die("chdir");
		umask(022);
		alarm(GROUP_TIMEOUT_S);
		g->fn();
		_exit(0);
	}
	setpgid(pid, pid);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	kill(-pid, SIGKILL); /* stragglers of the group */
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		char detail[120];

		if (WIFSIGNALED(status))
			snprintf(detail, sizeof(detail), "killed by signal %d (%s)",
				 WTERMSIG(status),
				 WTERMSIG(status) == SIGALRM ? "time limit"
							     : strsignal(WTERMSIG(status)));
		else
			snprintf(detail, sizeof(detail), "exit status %d", WEXITSTATUS(status));
		t_res(false, detail, "group ran to completion");
	}
	if (sh->failed == failed0 && !keep) {
		if (rm_rf(dir) < 0)
			note("cannot remove %s: %s", dir, strerror(errno));
	} else if (sh->failed != failed0) {
		note("group %s failed; its files are kept in %s", g->name, dir);
	}
	cur_group = "main";
}

static void usage(FILE *f)
{
	fprintf(f, "usage: posix_conformance [--only GROUP[,GROUP...]] [--list] [--keep] DIR\n"
		   "Runs POSIX checks in a new subdirectory of DIR (as root).\n"
		   "FLOCKER_TEST_SIZE_LIMIT=<bytes> enables the size limit (ENOSPC) checks.\n");
}

int main(int argc, char **argv)
{
	const char *only = NULL, *dir = NULL;
	bool keep = false;
	char base[PATH_MAX], line[128];
	int len;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			only = argv[++i];
		} else if (!strcmp(argv[i], "--keep")) {
			keep = true;
		} else if (!strcmp(argv[i], "--list")) {
			for (size_t k = 0; k < NGROUPS; k++)
				printf("%s\n", groups[k].name);
			return 0;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-' || dir) {
			usage(stderr);
			return 2;
		} else {
			dir = argv[i];
		}
	}
	if (!dir) {
		usage(stderr);
		return 2;
	}
	if (only) {
		for (const char *p = only; *p;) {
			const char *end = strchr(p, ',');
			size_t n = end ? (size_t)(end - p) : strlen(p);
			bool known = false;

			for (size_t k = 0; k < NGROUPS; k++)
				if (strlen(groups[k].name) == n && !strncmp(groups[k].name, p, n))
					known = true;
			if (!known) {
				fprintf(stderr,
					"posix_conformance: unknown group in --only: %.*s\n",
					(int)n, p);
				return 2;
			}
			p += n + (end ? 1 : 0);
		}
	}
	if (geteuid() != 0) {
		printf("1..0 # SKIP posix_conformance must run as root (it switches to uids %d and "
		       "%d for the permission checks)\n",
		       U1, U2);
		return 77;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("posix_conformance: mmap");
		return 1;
	}
	memset(sh, 0, sizeof(*sh));
	umask(022);
	signal(SIGPIPE, SIG_IGN);
	if (snprintf(base, sizeof(base), "%s/posix.%d", dir, (int)getpid()) >= (int)sizeof(base)) {
		fprintf(stderr, "posix_conformance: directory name too long\n");
		return 2;
	}
	if (mkdir(base, 0755) < 0 || chmod(base, 0755) < 0) {
		fprintf(stderr, "posix_conformance: cannot create %s: %s\n", base, strerror(errno));
		return 1;
	}
	note("posix_conformance in %s", base);
	for (size_t k = 0; k < NGROUPS; k++) {
		if (!selected(only, groups[k].name))
			continue;
		if (groups[k].fn == g_enospc && !getenv("FLOCKER_TEST_SIZE_LIMIT")) {
			note("group enospc not run: FLOCKER_TEST_SIZE_LIMIT is not set");
			continue;
		}
		run_group(&groups[k], base, keep);
	}
	if (sh->failed == 0 && !keep)
		rmdir(base);
	len = snprintf(line, sizeof(line), "1..%lu\n%lu passed, %lu failed\n", sh->next, sh->passed,
		       sh->failed);
	emit(line, (size_t)len);
	return sh->failed ? 1 : 0;
}
