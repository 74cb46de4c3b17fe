/*
 * flockerctl bench — a benchmark of any mounted directory, with plain POSIX
 * calls only (in the spirit of "juicefs bench"):
 *
 *   big file   written sequentially in 1 MiB write(2)s then fsync(2)ed, and
 *              read back in 1 MiB read(2)s with cold caches;
 *   small files of 4 KiB each, in one directory: created, written and closed;
 *              stat'ed; listed with readdir; unlinked.
 *
 *   flockerctl bench DIR [--json] [--quick] [--big-size SIZE] [--files N] [--threads N]
 *
 * Everything happens in a new directory DIR/flockerctl-bench.<pid>, removed
 * at the end, also after an error or SIGINT/SIGTERM.  With N threads the big
 * size is split over N files (one per thread) and the small files are dealt
 * out round robin; readdir always runs in one thread (one directory).
 *
 * Cold caches: before the read phase each big file gets
 * posix_fadvise(POSIX_FADV_DONTNEED); as root, the file system is synced
 * and /proc/sys/vm/drop_caches gets "3", before the read and again before
 * stat and readdir (so these reach the file system, not the kernel's dentry
 * and inode caches).  The output says which was done.  Caches inside a FUSE
 * daemon are not the kernel's to drop: remount for that.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cluster/cli/bench.h"
#include "fs/util/mountinfo.h"
#include "fs/volume/volume.h" /* fl_parse_size */

#define PROG		   "flockerctl: bench"
#define IO_SIZE		   (1u << 20) /* big file write(2)/read(2) size */
#define SMALL_SIZE	   4096u      /* bytes per small file */
#define MAX_THREADS	   64u
#define MAX_FILES	   10000000ull
#define DEFAULT_BIG	   (1ull << 30)
#define DEFAULT_FILES	   10000ull
#define QUICK_BIG	   (128ull << 20)
#define QUICK_FILES	   1000ull
#define PROGRESS_NS	   100000000L /* progress line refresh */
#define DROP_CACHES_PATH   "/proc/sys/vm/drop_caches"
#define SMALL_NAME_FMT	   "f%07" PRIu64
#define BIG_NAME_FMT	   "big.%u"
#define SMALL_DIR_NAME	   "small"
#define BENCH_DIR_NAME_FMT "flockerctl-bench.%ld"

enum phase {
	PH_BIG_WRITE,
	PH_BIG_READ,
	PH_CREATE,
	PH_STAT,
	PH_READDIR,
	PH_UNLINK,
	PH_COUNT,
};

static const struct phase_def {
	const char *key;   /* JSON key */
	const char *title; /* human table */
	const char *unit;  /* of the rate */
	bool bytes;	   /* count is bytes (else operations) */
} phase_defs[PH_COUNT] = {
	[PH_BIG_WRITE] = {"big_write", "write big file", "MiB/s", true},
	[PH_BIG_READ] = {"big_read", "read big file", "MiB/s", true},
	[PH_CREATE] = {"small_create", "create small files", "files/s", false},
	[PH_STAT] = {"small_stat", "stat small files", "files/s", false},
	[PH_READDIR] = {"small_readdir", "readdir", "entries/s", false},
	[PH_UNLINK] = {"small_unlink", "unlink small files", "files/s", false},
};

struct result {
	bool done;
	uint64_t count; /* bytes or operations */
	unsigned threads;
	double secs;
};

struct bench {
	/* options */
	const char *dir;
	bool json, tty;
	unsigned threads;
	uint64_t big_size; /* total, over all threads; 0: no big file phases */
	uint64_t files;	   /* 0: no small file phases */

	/* derived and state */
	uint64_t big_per_thread; /* bytes in each big file */
	char fstype[64];
	char base[4096];       /* the bench directory */
	int base_fd, small_fd; /* -1 when not open */
	bool drop_ok;	       /* drop_caches was written */
	char drop_how[256];    /* how caches were dropped before reads */
	struct result res[PH_COUNT];
	bool header_printed;

	/* shared with the workers of a phase */
	atomic_uint_fast64_t progress;
	atomic_uint running;
	atomic_bool failed;
	pthread_mutex_t err_lock;
	char err[768]; /* the first error, guarded by err_lock */
};

struct worker {
	struct bench *b;
	unsigned id;
	char *buf; /* IO_SIZE bytes of this thread's data */
	struct timespec end;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

static bool stopping(struct bench *b)
{
	return interrupted || atomic_load(&b->failed);
}

/* Records the first error of a phase; later ones are dropped. */
__attribute__((format(printf, 2, 3))) static void fail(struct bench *b, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&b->err_lock);
	if (!b->err[0]) {
		va_start(ap, fmt);
		vsnprintf(b->err, sizeof(b->err), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&b->err_lock);
	atomic_store(&b->failed, true);
}

static double ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static bool ts_after(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

static void fmt_bytes(uint64_t n, char *buf, size_t len)
{
	if (n >= (1ull << 30) && n % (1ull << 30) == 0)
		snprintf(buf, len, "%" PRIu64 " GiB", n >> 30);
	else if (n >= (1ull << 20))
		snprintf(buf, len, "%.0f MiB", (double)n / (1 << 20));
	else
		snprintf(buf, len, "%.0f KiB", (double)n / 1024);
}

/* ---------- the workers ---------- */

/* Fills buf with bytes that no file system can compress or skip as zeros. */
static void fill_random(char *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + i, &x, 8);
	}
}

static void worker_done(struct worker *w)
{
	clock_gettime(CLOCK_MONOTONIC, &w->end);
	atomic_fetch_sub(&w->b->running, 1);
}

static void *big_write(void *arg)
{
	struct worker *w = arg;
	struct bench *b = w->b;
	char name[32];
	uint64_t done = 0, blk = 0;
	int fd;

	snprintf(name, sizeof(name), BIG_NAME_FMT, w->id);
	fd = openat(b->base_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fail(b, "cannot create %s/%s: %s", b->base, name, strerror(errno));
		goto out;
	}
	while (done < b->big_per_thread && !stopping(b)) {
		size_t want = IO_SIZE, off = 0;

		if (b->big_per_thread - done < want)
			want = (size_t)(b->big_per_thread - done);
		memcpy(w->buf, &blk, sizeof(blk)); /* every block differs */
		blk++;
		while (off < want) {
			ssize_t n = write(fd, w->buf + off, want - off);

			if (n < 0 && errno == EINTR && !interrupted)
				continue;
			if (n <= 0) {
				fail(b, "cannot write %s/%s at offset %" PRIu64 ": %s", b->base,
				     name, done + off, n < 0 ? strerror(errno) : "wrote nothing");
				goto out_close;
			}
			off += (size_t)n;
		}
		done += want;
		atomic_fetch_add(&b->progress, want);
	}
	if (!stopping(b) && fsync(fd) < 0)
		fail(b, "cannot fsync %s/%s: %s", b->base, name, strerror(errno));
out_close:
	if (close(fd) < 0 && !stopping(b))
		fail(b, "cannot close %s/%s: %s", b->base, name, strerror(errno));
out:
	worker_done(w);
	return NULL;
}

static void *big_read(void *arg)
{
	struct worker *w = arg;
	struct bench *b = w->b;
	char name[32];
	uint64_t done = 0;
	int fd;

	snprintf(name, sizeof(name), BIG_NAME_FMT, w->id);
	fd = openat(b->base_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail(b, "cannot open %s/%s: %s", b->base, name, strerror(errno));
		goto out;
	}
	while (!stopping(b)) {
		ssize_t n = read(fd, w->buf, IO_SIZE);

		if (n < 0 && errno == EINTR && !interrupted)
			continue;
		if (n < 0) {
			fail(b, "cannot read %s/%s at offset %" PRIu64 ": %s", b->base, name, done,
			     strerror(errno));
			break;
		}
		if (n == 0)
			break;
		done += (uint64_t)n;
		atomic_fetch_add(&b->progress, (uint64_t)n);
	}
	if (!stopping(b) && done != b->big_per_thread)
		fail(b, "read %" PRIu64 " bytes of %s/%s, wrote %" PRIu64, done, b->base, name,
		     b->big_per_thread);
	close(fd);
out:
	worker_done(w);
	return NULL;
}

/* A step that failed on small file name: "cannot WHAT DIR/small/NAME: WHY". */
static int small_fail(struct bench *b, const char *what, const char *name, const char *why)
{
	fail(b, "cannot %s %s/%s/%s: %s", what, b->base, SMALL_DIR_NAME, name, why);
	return -1;
}

/* One small file's step of a phase: 0, or -1 once it called fail(). */
typedef int (*small_op)(struct worker *w, uint64_t i, const char *name);

/* Runs op on this worker's share of the small files (every threads-th one). */
static void *small_each(struct worker *w, small_op op)
{
	struct bench *b = w->b;
	uint64_t i;
	char name[32];

	for (i = w->id; i < b->files && !stopping(b); i += b->threads) {
		snprintf(name, sizeof(name), SMALL_NAME_FMT, i);
		if (op(w, i, name))
			break;
		atomic_fetch_add(&b->progress, 1);
	}
	worker_done(w);
	return NULL;
}

static int create_one(struct worker *w, uint64_t i, const char *name)
{
	struct bench *b = w->b;
	ssize_t n;
	int fd;

	fd = openat(b->small_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return small_fail(b, "create", name, strerror(errno));
	memcpy(w->buf, &i, sizeof(i));
	n = write(fd, w->buf, SMALL_SIZE);
	if (n != (ssize_t)SMALL_SIZE) {
		small_fail(b, "write", name, n < 0 ? strerror(errno) : "short write");
		close(fd);
		return -1;
	}
	if (close(fd) < 0)
		return small_fail(b, "close", name, strerror(errno));
	return 0;
}

static int stat_one(struct worker *w, uint64_t i, const char *name)
{
	struct bench *b = w->b;
	struct stat st;

	(void)i;
	if (fstatat(b->small_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return small_fail(b, "stat", name, strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_size != SMALL_SIZE) {
		fail(b, "%s/%s/%s has size %jd, wrote %u", b->base, SMALL_DIR_NAME, name,
		     (intmax_t)st.st_size, SMALL_SIZE);
		return -1;
	}
	return 0;
}

static int unlink_one(struct worker *w, uint64_t i, const char *name)
{
	(void)i;
	if (unlinkat(w->b->small_fd, name, 0) < 0)
		return small_fail(w->b, "unlink", name, strerror(errno));
	return 0;
}

static void *small_create(void *arg)
{
	return small_each(arg, create_one);
}

static void *small_stat(void *arg)
{
	return small_each(arg, stat_one);
}

static void *small_unlink(void *arg)
{
	return small_each(arg, unlink_one);
}

static void *small_readdir(void *arg)
{
	struct worker *w = arg;
	struct bench *b = w->b;
	uint64_t n = 0;
	struct dirent *de;
	DIR *d;
	int fd = openat(b->small_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || !(d = fdopendir(fd))) {
		fail(b, "cannot open directory %s/%s: %s", b->base, SMALL_DIR_NAME,
		     strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	errno = 0;
	while (!stopping(b) && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			n++;
			atomic_fetch_add(&b->progress, 1);
		}
		errno = 0;
	}
	if (errno)
		fail(b, "cannot read directory %s/%s: %s", b->base, SMALL_DIR_NAME,
		     strerror(errno));
	else if (!stopping(b) && n != b->files)
		fail(b, "directory %s/%s lists %" PRIu64 " entries, created %" PRIu64, b->base,
		     SMALL_DIR_NAME, n, b->files);
	closedir(d);
out:
	worker_done(w);
	return NULL;
}

/* ---------- phases ---------- */

static void print_header(struct bench *b)
{
	char big[32];

	if (b->json || b->header_printed)
		return;
	b->header_printed = true;
	fmt_bytes(b->big_size, big, sizeof(big));
	printf("benchmark of %s (%s), %u thread%s\n", b->dir, b->fstype, b->threads,
	       b->threads == 1 ? "" : "s");
	if (b->big_size)
		printf("  big file:    %s in %u MiB writes, then fsync\n", big, IO_SIZE >> 20);
	if (b->files)
		printf("  small files: %" PRIu64 " of %u KiB in one directory\n", b->files,
		       SMALL_SIZE >> 10);
	printf("  cold caches: %s\n\n", b->drop_how);
	printf("%-20s %20s %10s %11s\n", "PHASE", "RESULT", "TIME", "PER OP");
	fflush(stdout);
}

static void print_row(struct bench *b, enum phase ph)
{
	const struct result *r = &b->res[ph];
	const struct phase_def *d = &phase_defs[ph];
	double rate = r->secs > 0 ? (double)r->count / r->secs : 0;
	char per[32] = "";

	if (b->json)
		return;
	print_header(b);
	if (d->bytes) {
		rate /= 1 << 20;
	} else if (r->count) {
		/* latency seen by one thread */
		snprintf(per, sizeof(per), "%.3f ms",
			 r->secs * 1e3 * r->threads / (double)r->count);
	}
	printf("%-20s %10.1f %-9s %8.2f s %11s\n", d->title, rate, d->unit, r->secs, per);
	fflush(stdout);
}

static void show_progress(struct bench *b, enum phase ph, uint64_t total)
{
	uint64_t p = atomic_load(&b->progress);
	const struct phase_def *d = &phase_defs[ph];

	if (d->bytes)
		fprintf(stderr, "\r\033[K%s: %3u%% (%" PRIu64 "/%" PRIu64 " MiB)", d->title,
			total ? (unsigned)(p * 100 / total) : 100, p >> 20, total >> 20);
	else
		fprintf(stderr, "\r\033[K%s: %3u%% (%" PRIu64 "/%" PRIu64 ")", d->title,
			total ? (unsigned)(p * 100 / total) : 100, p, total);
}

/*
 * Runs fn in nthreads threads; the phase lasts from before the first thread
 * starts until the last one ends.  Returns 0, or -EIO after an error (b->err
 * says which) or -EINTR after a signal.
 */
static int run_phase(struct bench *b, enum phase ph, unsigned nthreads, uint64_t total,
		     void *(*fn)(void *), char **bufs)
{
	struct worker w[MAX_THREADS];
	pthread_t th[MAX_THREADS];
	struct timespec t0, end;
	unsigned i, started = 0;
	int ret;

	atomic_store(&b->progress, 0);
	atomic_store(&b->running, nthreads);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	end = t0;
	for (i = 0; i < nthreads; i++) {
		w[i] = (struct worker){.b = b, .id = i, .buf = bufs[i]};
		ret = pthread_create(&th[i], NULL, fn, &w[i]);
		if (ret) {
			fail(b, "cannot start a thread: %s", strerror(ret));
			atomic_fetch_sub(&b->running, nthreads - i);
			break;
		}
		started++;
	}
	if (b->tty) {
		while (atomic_load(&b->running) > 0) {
			struct timespec ts = {0, PROGRESS_NS};

			show_progress(b, ph, total);
			nanosleep(&ts, NULL);
		}
		fprintf(stderr, "\r\033[K");
	}
	for (i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		if (ts_after(&w[i].end, &end))
			end = w[i].end;
	}
	if (stopping(b))
		return interrupted ? -EINTR : -EIO;
	b->res[ph] = (struct result){.done = true,
				     .count = atomic_load(&b->progress),
				     .threads = nthreads,
				     .secs = ts_diff(&t0, &end)};
	print_row(b, ph);
	return 0;
}

/* Writes "3" to drop_caches after syncing this file system; false if not possible. */
static bool drop_kernel_caches(struct bench *b, char *why, size_t whylen)
{
	int fd;

	if (geteuid() != 0) {
		snprintf(why, whylen, "not root");
		return false;
	}
	syncfs(b->base_fd);
	fd = open(DROP_CACHES_PATH, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "3\n", 2) != 2) {
		snprintf(why, whylen, "cannot write %s: %s", DROP_CACHES_PATH, strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	close(fd);
	return true;
}

/* Decides how caches are dropped, once, before anything runs (the header says it). */
static void probe_drop(struct bench *b)
{
	char why[200] = "";

	b->drop_ok = drop_kernel_caches(b, why, sizeof(why));
	if (b->drop_ok)
		snprintf(b->drop_how, sizeof(b->drop_how),
			 "posix_fadvise(DONTNEED) on the big files; syncfs + %s before read, "
			 "stat and readdir",
			 DROP_CACHES_PATH);
	else
		snprintf(b->drop_how, sizeof(b->drop_how),
			 "posix_fadvise(DONTNEED) on the big files only (%.100s: %s skipped; stat "
			 "and readdir are warm)",
			 why, DROP_CACHES_PATH);
}

/* Drops cached pages of the big files, and the kernel's caches when allowed. */
static void drop_caches(struct bench *b)
{
	char name[32];
	unsigned i;

	for (i = 0; b->big_size && i < b->threads; i++) {
		int fd;

		snprintf(name, sizeof(name), BIG_NAME_FMT, i);
		fd = openat(b->base_fd, name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* the read phase reports it */
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
	if (b->drop_ok) {
		char why[200];

		drop_kernel_caches(b, why, sizeof(why));
	}
}

/* ---------- setup and cleanup ---------- */

/* The type of the mount holding DIR ("unknown" if not found). */
static void find_fstype(struct bench *b, dev_t dev)
{
	struct fl_mountinfo m;

	snprintf(b->fstype, sizeof(b->fstype), "%s",
		 fl_mountinfo_of_dev(dev, &m) == 1 ? m.fstype : "unknown");
}

/* Removes what this run made; complains (and returns -1) about what stays. */
static int cleanup(struct bench *b)
{
	char name[32];
	unsigned i;
	int ret = 0;

	if (b->small_fd >= 0) {
		int fd = openat(b->small_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *de;

		if (d) {
			while ((de = readdir(d)))
				if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
					unlinkat(b->small_fd, de->d_name, 0);
			closedir(d);
		} else if (fd >= 0) {
			close(fd);
		}
		close(b->small_fd);
		b->small_fd = -1;
	}
	if (b->base_fd >= 0) {
		if (unlinkat(b->base_fd, SMALL_DIR_NAME, AT_REMOVEDIR) < 0 && errno != ENOENT) {
			fprintf(stderr, "%s: cannot remove %s/%s: %s\n", PROG, b->base,
				SMALL_DIR_NAME, strerror(errno));
			ret = -1;
		}
		for (i = 0; i < b->threads; i++) {
			snprintf(name, sizeof(name), BIG_NAME_FMT, i);
			if (unlinkat(b->base_fd, name, 0) < 0 && errno != ENOENT) {
				fprintf(stderr, "%s: cannot remove %s/%s: %s\n", PROG, b->base,
					name, strerror(errno));
				ret = -1;
			}
		}
		close(b->base_fd);
		b->base_fd = -1;
		if (rmdir(b->base) < 0) {
			fprintf(stderr, "%s: cannot remove %s: %s\n", PROG, b->base,
				strerror(errno));
			ret = -1;
		}
	}
	return ret;
}

static int setup(struct bench *b)
{
	struct stat st;
	int n, ret;

	if (stat(b->dir, &st) < 0) {
		ret = -errno;
		fprintf(stderr, "%s: cannot use %s: %s\n", PROG, b->dir, strerror(-ret));
		return ret;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "%s: cannot use %s: not a directory\n", PROG, b->dir);
		return -ENOTDIR;
	}
	find_fstype(b, st.st_dev);
	n = snprintf(b->base, sizeof(b->base), "%s/" BENCH_DIR_NAME_FMT, b->dir, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(b->base)) {
		fprintf(stderr, "%s: cannot use %s: path too long\n", PROG, b->dir);
		return -ENAMETOOLONG;
	}
	if (mkdir(b->base, 0755) < 0) {
		ret = -errno;
		fprintf(stderr, "%s: cannot create %s: %s\n", PROG, b->base, strerror(-ret));
		return ret;
	}
	b->base_fd = open(b->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->base_fd < 0) {
		ret = -errno;
		fprintf(stderr, "%s: cannot open %s: %s\n", PROG, b->base, strerror(-ret));
		rmdir(b->base);
		return ret;
	}
	if (!b->files)
		return 0;
	if (mkdirat(b->base_fd, SMALL_DIR_NAME, 0755) < 0 ||
	    (b->small_fd = openat(b->base_fd, SMALL_DIR_NAME, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
		    0) {
		ret = -errno;
		fprintf(stderr, "%s: cannot create %s/%s: %s\n", PROG, b->base, SMALL_DIR_NAME,
			strerror(-ret));
		cleanup(b);
		return ret;
	}
	return 0;
}

/* ---------- output ---------- */

static void print_json(struct bench *b)
{
	json_t *o = json_object(), *res = json_object();
	int ph;

	json_object_set_new(o, "dir", json_string(b->dir));
	json_object_set_new(o, "fs_type", json_string(b->fstype));
	json_object_set_new(o, "threads", json_integer(b->threads));
	json_object_set_new(o, "big_size", json_integer((json_int_t)b->big_size));
	json_object_set_new(o, "io_size", json_integer(IO_SIZE));
	json_object_set_new(o, "small_files", json_integer((json_int_t)b->files));
	json_object_set_new(o, "small_size", json_integer(SMALL_SIZE));
	json_object_set_new(o, "drop_caches", json_boolean(b->drop_ok));
	json_object_set_new(o, "cold_caches", json_string(b->drop_how));
	for (ph = 0; ph < PH_COUNT; ph++) {
		const struct result *r = &b->res[ph];
		double rate = r->secs > 0 ? (double)r->count / r->secs : 0;
		json_t *p;

		if (!r->done)
			continue;
		p = json_object();
		json_object_set_new(p, "seconds", json_real(r->secs));
		json_object_set_new(p, "threads", json_integer(r->threads));
		if (phase_defs[ph].bytes) {
			json_object_set_new(p, "bytes", json_integer((json_int_t)r->count));
			json_object_set_new(p, "mib_per_s", json_real(rate / (1 << 20)));
		} else {
			json_object_set_new(p, "ops", json_integer((json_int_t)r->count));
			json_object_set_new(p, "ops_per_s", json_real(rate));
			if (r->count)
				json_object_set_new(
					p, "ms_per_op",
					json_real(r->secs * 1e3 * r->threads / (double)r->count));
		}
		json_object_set_new(res, phase_defs[ph].key, p);
	}
	json_object_set_new(o, "results", res);
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
	printf("\n");
	json_decref(o);
}

/* ---------- the command ---------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: flockerctl bench DIR [--json] [--quick] [--big-size SIZE] [--files N] "
		"[--threads N]\n"
		"\n"
		"Benchmarks the file system holding DIR with plain POSIX calls, in a new\n"
		"directory DIR/flockerctl-bench.<pid> that is removed afterwards:\n"
		"  big file     sequential write in 1 MiB writes then fsync, then a read back\n"
		"               with cold caches (MiB/s)\n"
		"  small files  4 KiB files in one directory: create+write+close, stat,\n"
		"               readdir, unlink (files/s)\n"
		"\n"
		"options:\n"
		"  --big-size SIZE  bytes of big file data, split over the threads\n"
		"                   (default 1G; 0 skips the big file)\n"
		"  --files N        number of small files (default %llu; 0 skips them)\n"
		"  --threads N      parallel workers, 1 to %u (default 1)\n"
		"  --quick          --big-size 128M --files %llu unless given\n"
		"  --json           machine-readable results on stdout\n"
		"\n"
		"Caches are dropped before the reads with posix_fadvise, and as root with\n"
		"/proc/sys/vm/drop_caches as well; a progress line goes to stderr when it\n"
		"is a terminal.\n",
		DEFAULT_FILES, MAX_THREADS, QUICK_FILES);
}

static int parse_count(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

enum { OPT_BIG_SIZE = 256, OPT_FILES, OPT_THREADS, OPT_QUICK, OPT_JSON };

static const struct option bench_opts[] = {
	{"big-size", required_argument, NULL, OPT_BIG_SIZE},
	{"files", required_argument, NULL, OPT_FILES},
	{"threads", required_argument, NULL, OPT_THREADS},
	{"quick", no_argument, NULL, OPT_QUICK},
	{"json", no_argument, NULL, OPT_JSON},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* argv[0] is "bench".  0, or -EINVAL with the reason on stderr. */
static int parse_args(struct bench *b, int argc, char **argv)
{
	bool quick = false, big_given = false, files_given = false;
	uint64_t v;
	int c;

	opterr = 0;
	optind = 0; /* GNU: start afresh (flockerctl may have parsed before) */
	while ((c = getopt_long(argc, argv, ":h", bench_opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_JSON:
			b->json = true;
			break;
		case OPT_QUICK:
			quick = true;
			break;
		case OPT_BIG_SIZE:
			if (fl_parse_size(optarg, &b->big_size)) {
				fprintf(stderr, "%s: invalid --big-size '%s': use e.g. 1G, 256M\n",
					PROG, optarg);
				return -EINVAL;
			}
			big_given = true;
			break;
		case OPT_FILES:
			if (parse_count(optarg, MAX_FILES, &b->files)) {
				fprintf(stderr, "%s: invalid --files '%s': use 0 to %llu\n", PROG,
					optarg, MAX_FILES);
				return -EINVAL;
			}
			files_given = true;
			break;
		case OPT_THREADS:
			if (parse_count(optarg, MAX_THREADS, &v) || v == 0) {
				fprintf(stderr, "%s: invalid --threads '%s': use 1 to %u\n", PROG,
					optarg, MAX_THREADS);
				return -EINVAL;
			}
			b->threads = (unsigned)v;
			break;
		case ':':
			fprintf(stderr, "%s: option '%s' needs a value\n", PROG, argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, "%s: unknown option '%s'\n", PROG, argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return -EINVAL;
	}
	b->dir = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", PROG, argv[optind]);
		return -EINVAL;
	}
	if (!big_given)
		b->big_size = quick ? QUICK_BIG : DEFAULT_BIG;
	if (!files_given)
		b->files = quick ? QUICK_FILES : DEFAULT_FILES;
	/* whole 1 MiB writes in every file */
	b->big_per_thread = (b->big_size + b->threads - 1) / b->threads;
	b->big_per_thread = (b->big_per_thread + IO_SIZE - 1) / IO_SIZE * IO_SIZE;
	b->big_size = b->big_per_thread * b->threads;
	return 0;
}

/* Every phase in order; 0, or the failing phase's negative errno. */
static int run_all(struct bench *b, char **bufs)
{
	int ret;

	if (b->big_size) {
		if ((ret = run_phase(b, PH_BIG_WRITE, b->threads, b->big_size, big_write, bufs)))
			return ret;
		drop_caches(b);
		if ((ret = run_phase(b, PH_BIG_READ, b->threads, b->big_size, big_read, bufs)))
			return ret;
	}
	if (b->files) {
		if ((ret = run_phase(b, PH_CREATE, b->threads, b->files, small_create, bufs)))
			return ret;
		if (b->drop_ok)
			drop_caches(b);
		if ((ret = run_phase(b, PH_STAT, b->threads, b->files, small_stat, bufs)))
			return ret;
		if (b->drop_ok)
			drop_caches(b);
		if ((ret = run_phase(b, PH_READDIR, 1, b->files, small_readdir, bufs)))
			return ret;
		if ((ret = run_phase(b, PH_UNLINK, b->threads, b->files, small_unlink, bufs)))
			return ret;
	}
	return 0;
}

int fl_bench_cmd(int argc, char **argv)
{
	struct bench b = {.threads = 1, .base_fd = -1, .small_fd = -1};
	struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
	char *bufs[MAX_THREADS] = {NULL};
	unsigned i;
	int rc = 1;

	pthread_mutex_init(&b.err_lock, NULL);
	if (parse_args(&b, argc, argv))
		return 2;
	b.tty = isatty(STDERR_FILENO);
	for (i = 0; i < b.threads; i++) {
		bufs[i] = aligned_alloc(4096, IO_SIZE);
		if (!bufs[i]) {
			fprintf(stderr, "%s: out of memory\n", PROG);
			goto out_free;
		}
		fill_random(bufs[i], IO_SIZE, (uint64_t)getpid() * MAX_THREADS + i);
	}
	if (setup(&b))
		goto out_free;
	/* no SA_RESTART: a signal ends the phase, then the files are removed */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	probe_drop(&b);
	print_header(&b);
	if (run_all(&b, bufs)) {
		if (interrupted)
			fprintf(stderr, "%s: interrupted by signal %d; removing %s\n", PROG,
				(int)interrupted, b.base);
		else
			fprintf(stderr, "%s: %s\n", PROG, b.err);
		cleanup(&b);
		rc = interrupted ? 128 + (int)interrupted : 1;
		goto out_signals;
	}
	if (cleanup(&b) == 0)
		rc = 0;
	if (b.json)
		print_json(&b);
out_signals:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
out_free:
	for (i = 0; i < b.threads; i++)
		free(bufs[i]);
	pthread_mutex_destroy(&b.err_lock);
	return rc;
}
