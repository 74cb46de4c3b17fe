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
#include "posix_conformance.h"

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

void __attribute__((format(printf, 1, 2))) note(const char *fmt, ...)
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

const char *ename(int e)
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

void __attribute__((format(printf, 3, 4))) t_ok(long long r, int e, const char *fmt, ...)
{
	char detail[128];
	va_list ap;

	snprintf(detail, sizeof(detail), "expected success, got %lld (%s)", r, ename(e));
	va_start(ap, fmt);
	result(r >= 0, detail, fmt, ap);
	va_end(ap);
}

void __attribute__((format(printf, 5, 6)))
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

void __attribute__((format(printf, 3, 4))) t_eq(long long got, long long want, const char *fmt, ...)
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

void __attribute__((format(printf, 3, 4)))
t_mode(unsigned long got, unsigned long want, const char *fmt, ...)
{
	char detail[128];
	va_list ap;

	snprintf(detail, sizeof(detail), "expected mode 0%lo, got 0%lo", want, got);
	va_start(ap, fmt);
	result(got == want, detail, fmt, ap);
	va_end(ap);
}

void __attribute__((format(printf, 3, 4))) t_true(bool cond, const char *what, const char *fmt, ...)
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

void __attribute__((format(printf, 4, 5)))
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
void __attribute__((format(printf, 3, 4)))
t_res(bool pass, const char *detail, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	result(pass, detail, fmt, ap);
	va_end(ap);
}

/* ---- helpers ------------------------------------------------------------------------- */

void die(const char *what)
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

void pat_fill(unsigned char *buf, size_t len, uint64_t s, uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pat_byte(s, off + i);
}

void *xmalloc(size_t n)
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

ssize_t pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	return pio_all(fd, (void *)buf, len, off, true);
}

ssize_t pread_all(int fd, void *buf, size_t len, off_t off)
{
	return pio_all(fd, buf, len, off, false);
}

/* Creates (or truncates) path with mode and contents; 0 or -1 with errno. */
int mkfile(const char *path, mode_t mode, const void *data, size_t len)
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

int mkfile_str(const char *path, const char *s)
{
	return mkfile(path, 0644, s, strlen(s));
}

/* Opens path read-write, created with mode 0644: one check; -1 if it failed. */
int create_rw(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT, 0644);

	CHECK_OK(fd, "create %s", path);
	return fd;
}

/* Creates path holding "x", owned by uid:gid, with mode (why: mode's point): three checks. */
void mkfile_owned(const char *path, uid_t uid, gid_t gid, mode_t mode, const char *why)
{
	CHECK_OK(mkfile_str(path, "x"), "create %s", path);
	CHECK_OK(chown(path, uid, gid), "%s owned by uid %d group %d", path, (int)uid, (int)gid);
	CHECK_OK(chmod(path, mode), "chmod %s %04o: %s", path, (unsigned)mode, why);
}

/* Reads up to cap-1 bytes of path into buf as a string; length or -1. */
ssize_t slurp(const char *path, char *buf, size_t cap)
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
void check_content(const char *path, const char *want, const char *what)
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
bool check_pattern(int fd, off_t off, size_t len, uint64_t s, const char *what)
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

long long fsize(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return -1;
	return st.st_size;
}

ino_t ino_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return 0;
	return st.st_ino;
}

nlink_t nlink_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return (nlink_t)-1;
	return st.st_nlink;
}

mode_t mode_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return (mode_t)-1;
	return st.st_mode;
}

bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

long long ts_ns(struct timespec ts)
{
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts_ns(ts);
}

/* Lets the clock move past the timestamp granularity of the filesystem. */
void nap(void)
{
	struct timespec ts = {0, 30 * 1000 * 1000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void msleep(int ms)
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
pid_t child_as(uid_t uid, gid_t gid, const gid_t *groups, int ngroups)
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

pid_t child_u(uid_t uid)
{
	gid_t g = uid;

	return child_as(uid, uid, &g, 1);
}

/* Waits for a child of child_as() or fork(); a crash counts as a failure. */
void wait_child(pid_t pid, const char *what)
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

void gate_init(struct gate *g)
{
	if (pipe(g->fd) < 0)
		die("pipe");
}

void gate_open(struct gate *g)
{
	char c = 1;

	if (write(g->fd[1], &c, 1) != 1)
		die("gate write");
}

bool gate_wait(struct gate *g)
{
	char c;

	return read(g->fd[0], &c, 1) == 1;
}

void gate_close(struct gate *g)
{
	close(g->fd[0]);
	close(g->fd[1]);
}

void make_name(char *buf, size_t len, char c)
{
	memset(buf, c, len);
	buf[len] = 0;
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
