/*
 * fsmodel - model-based random exerciser: applies the same random operations
 * to a directory on the filesystem under test and to a reference directory
 * (tmpfs), and checks that both answer alike and end up alike.
 *
 *   fsmodel --seed S --ops N --dir VOLDIR --ref REFDIR [--check-every K]
 *           [--remount-cmd 'CMD'] [--remount-every M] [--verbose]
 *
 * Every operation runs on both trees; return values and errnos must match.
 * Every K operations (default 200) and at the end the two trees are
 * compared whole: names, types, sizes (not of directories), modes, owners,
 * link counts, hard-link structure, mtimes that were set explicitly,
 * symlink targets, file contents and user.* xattrs.  Atime, ctime,
 * st_blocks and directory sizes legitimately differ and are not compared.
 *
 * With --remount-cmd, every M operations (default 1000) and at the end all
 * descriptors are closed, CMD runs through system(3) (it must unmount VOLDIR
 * and mount it again, with a new process) and the trees are compared again.
 *
 * With --snap-cmd, every M operations (--snap-every, default 1000) a
 * snapshot event: a snapshot taken (the reference copied into a frozen copy
 * below --snap-dir) and checked, all snapshots checked again, a clone made,
 * changed and checked, or a rollback (see "snapshots" below for CMD's verbs).
 *
 * The random generator is splitmix64 seeded with S, so a run is repeatable
 * given the same seed and the same kind of reference filesystem.  On the
 * first difference fsmodel prints the seed, the operation number and the
 * last operations, and exits 1.  Output ends with
 *
 *   fsmodel: N ops, N compares, N remounts, seed S
 *   N passed, N failed            (passed = successful tree compares)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <linux/falloc.h>
#include <linux/fs.h>

#define KiB (1024LL)
#define MiB (1024LL * 1024)
#define GiB (1024LL * 1024 * 1024)

#define MAX_FDS	    8
#define MAX_ENTRIES 300	       /* above this, creating operations are skipped */
#define DATA_BUDGET (32 * MiB) /* allocated bytes in the reference tree */
#define SIZE_BUDGET (32 * MiB) /* sum of file sizes below BIG_LIMIT, per name */
#define FILE_SPAN   (8 * MiB)  /* ordinary writes stay below this offset */
#define BIG_LIMIT   (64 * MiB) /* files above this are compared by extents */
#define LOG_RING    4096       /* operations kept for the failure report */
#define LOG_SHOW    24	       /* shown in full */
#define LOG_LINE    400
#define MAX_DEPTH   40

/* ---- random numbers --------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(uint64_t n)
{
	return n ? rng_next() % n : 0;
}

/* True with probability pct percent. */
static bool chance(unsigned pct)
{
	return rnd(100) < pct;
}

/* ---- run state ------------------------------------------------------------------------------ */

static const char *root[2]; /* [0] volume under test, [1] reference, as given */
/*
 * The trees live PAD levels below the given directories, so that relative
 * symlinks with ".." that climb out of the tree (after a rename moved them
 * up) still land in identical directories on both sides.
 */
#define PAD	"m/m/m/m/m/m/m/m"
#define PAD_UPS 8
static char work[2][PATH_MAX];
static uint64_t seed;
static unsigned long op_no, n_ops, n_compares, n_remounts;
static bool verbose;
struct logent {
	char text[LOG_LINE];
	ino_t ino[4]; /* reference inodes the operation touched */
	int n_ino;
};

static struct logent *oplog;
static unsigned long oplog_n;
static ino_t fail_ino; /* reference inode of the entry being compared */

static void summary(unsigned long failed)
{
	printf("fsmodel: %lu ops, %lu compares, %lu remounts, seed %" PRIu64 "\n", op_no,
	       n_compares, n_remounts, seed);
	printf("%lu passed, %lu failed\n", n_compares, failed);
	fflush(stdout);
}

static void __attribute__((format(printf, 1, 2))) log_op(const char *fmt, ...)
{
	struct logent *e = &oplog[oplog_n % LOG_RING];
	char *line = e->text;
	va_list ap;
	int n;

	e->n_ino = 0;
	n = snprintf(line, LOG_LINE, "#%lu ", op_no);
	va_start(ap, fmt);
	vsnprintf(line + n, LOG_LINE - (size_t)n, fmt, ap);
	va_end(ap);
	oplog_n++;
}

/* Appends to the current log line. */
static void __attribute__((format(printf, 1, 2))) log_more(const char *fmt, ...)
{
	char *line;
	size_t len;
	va_list ap;

	if (!oplog_n)
		return;
	line = oplog[(oplog_n - 1) % LOG_RING].text;
	len = strlen(line);
	va_start(ap, fmt);
	vsnprintf(line + len, LOG_LINE - len, fmt, ap);
	va_end(ap);
	if (verbose)
		printf("%s\n", line);
}

static const char *ename(int e)
{
	static char buf[2][32];
	static int k;
	const char *s = strerrorname_np(e);

	if (s)
		return s;
	k ^= 1;
	snprintf(buf[k], sizeof(buf[k]), "errno %d", e);
	return buf[k];
}

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	unsigned long first = oplog_n > LOG_SHOW ? oplog_n - LOG_SHOW : 0;
	unsigned long oldest = oplog_n > LOG_RING ? oplog_n - LOG_RING : 0;
	va_list ap;

	fflush(stdout);
	printf("fsmodel: FAILED at op %lu of %lu, seed %" PRIu64 ": ", op_no, n_ops, seed);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\nfsmodel: volume %s, reference %s\nfsmodel: last operations:\n", root[0], root[1]);
	for (unsigned long i = first; i < oplog_n; i++)
		printf("  %s\n", oplog[i % LOG_RING].text);
	if (fail_ino) {
		unsigned long shown = 0, start = oplog_n;

		/* The most recent 100 operations on that inode, oldest first. */
		while (start > oldest && shown < 100) {
			struct logent *e = &oplog[(start - 1) % LOG_RING];

			for (int k = 0; k < e->n_ino; k++)
				if (e->ino[k] == fail_ino) {
					shown++;
					break;
				}
			start--;
		}
		printf("fsmodel: operations on that entry (reference inode %llu) among the last %lu:\n",
		       (unsigned long long)fail_ino, oplog_n - oldest);
		for (unsigned long i = start; i < oplog_n; i++) {
			struct logent *e = &oplog[i % LOG_RING];

			for (int k = 0; k < e->n_ino; k++)
				if (e->ino[k] == fail_ino) {
					printf("  %s\n", e->text);
					break;
				}
		}
	}
	printf("fsmodel: reproduce with --seed %" PRIu64 " --ops %lu\n", seed, n_ops);
	summary(1);
	exit(1);
}

static void die(const char *what)
{
	fail("%s: %s", what, strerror(errno));
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("malloc");
	return p;
}

/* snprintf that reports truncation instead of silently cutting a path. */
static void __attribute__((format(printf, 3, 4))) pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		buf[len - 1] = 0; /* truncated: the operation then fails alike on both sides */
}

/* Full path of rel on side s; slot lets one operation hold several paths. */
static const char *P(int s, int slot, const char *rel)
{
	static char buf[2][3][PATH_MAX + 64];

	pathf(buf[s][slot], sizeof(buf[s][slot]), "%s%s%s", work[s], *rel ? "/" : "", rel);
	return buf[s][slot];
}

static void mtime_forget_ino(ino_t ino);

/* Forgets the explicit mtime of what rel names on the reference (following symlinks). */
static void mtime_forget_path(const char *rel)
{
	struct stat st;

	if (stat(P(1, 2, rel), &st) == 0)
		mtime_forget_ino(st.st_ino);
}

/* Notes that the current operation touches reference inode ino. */
static void log_ino(ino_t ino)
{
	struct logent *e;

	if (!oplog_n || !ino)
		return;
	e = &oplog[(oplog_n - 1) % LOG_RING];
	for (int k = 0; k < e->n_ino; k++)
		if (e->ino[k] == ino)
			return;
	if (e->n_ino < 4)
		e->ino[e->n_ino++] = ino;
}

/* Notes the reference inode(s) behind rel: the entry, and a symlink's target. */
static void log_target(const char *rel)
{
	struct stat st;

	if (lstat(P(1, 2, rel), &st) < 0)
		return;
	log_ino(st.st_ino);
	if (S_ISLNK(st.st_mode) && stat(P(1, 2, rel), &st) == 0)
		log_ino(st.st_ino);
}

static unsigned long n_unlinked_fd_ops; /* descriptor operations on unlinked files */

static void log_target_fd(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0) {
		log_ino(st.st_ino);
		if (st.st_nlink == 0)
			n_unlinked_fd_ops++;
	}
}

/* Per kind of operation: calls that succeeded and that failed (alike). */
static int cur_kind = -1;
static unsigned long kind_ok[64], kind_err[64];

/* Compares the results of one call on both sides. */
static void same(const char *what, long long rv, int ev, long long rr, int er)
{
	if (cur_kind >= 0) {
		if (rr < 0)
			kind_err[cur_kind]++;
		else
			kind_ok[cur_kind]++;
	}
	if (rv < 0 || rr < 0)
		log_more(" = %lld%s%s / %lld%s%s", rv, rv < 0 ? " " : "", rv < 0 ? ename(ev) : "",
			 rr, rr < 0 ? " " : "", rr < 0 ? ename(er) : "");
	else
		log_more(" = %lld", rv);
	if ((rv != rr || (rv == -1 && ev != er)) && oplog_n)
		fail_ino = oplog[(oplog_n - 1) % LOG_RING].n_ino
				   ? oplog[(oplog_n - 1) % LOG_RING].ino[0]
				   : 0;
	if (rv != rr || (rv == -1 && ev != er))
		fail("%s: volume returned %lld (%s), reference %lld (%s)", what, rv,
		     rv == -1 ? ename(ev) : "ok", rr, rr == -1 ? ename(er) : "ok");
}

/* ---- the reference tree as a list of entries ----------------------------------------------------
 */

struct entry {
	char path[PATH_MAX];
	mode_t mode;
	off_t size;
	int depth;
};

static struct entry *ents;
static size_t n_ents, cap_ents, n_dirs, n_big;
static long long ref_bytes, ref_apparent;
static bool scan_dirty = true;

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path, ((const struct entry *)b)->path);
}

static void scan_dir(const char *rel, int depth)
{
	char full[PATH_MAX + 64];
	struct dirent *de;
	DIR *d;

	if (depth > MAX_DEPTH)
		return;
	pathf(full, sizeof(full), "%s%s%s", work[1], *rel ? "/" : "", rel);
	d = opendir(full);
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct entry *e;
		struct stat st;
		char sub[PATH_MAX];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "",
				     de->d_name) >= sizeof(sub) - 16)
			continue;
		if (lstat(P(1, 0, sub), &st) < 0)
			continue;
		if (n_ents == cap_ents) {
			cap_ents = cap_ents ? cap_ents * 2 : 256;
			ents = realloc(ents, cap_ents * sizeof(*ents));
			if (!ents)
				die("realloc");
		}
		e = &ents[n_ents++];
		strcpy(e->path, sub);
		e->mode = st.st_mode;
		e->size = st.st_size;
		e->depth = depth + 1;
		ref_bytes += (long long)st.st_blocks * 512;
		if (S_ISREG(st.st_mode) && st.st_size > BIG_LIMIT)
			n_big++;
		else if (S_ISREG(st.st_mode))
			ref_apparent += st.st_size;
		if (S_ISDIR(st.st_mode)) {
			n_dirs++;
			scan_dir(sub, depth + 1);
		}
	}
	closedir(d);
}

/*
 * Refreshes the entry list when the tree changed, at most every 8 operations
 * (the list only steers the choice of names; a stale one costs nothing).
 */
static unsigned long last_scan;

static void rescan_now(void)
{
	n_ents = n_dirs = n_big = 0;
	ref_bytes = ref_apparent = 0;
	scan_dir("", 0);
	if (n_ents)
		qsort(ents, n_ents, sizeof(*ents), cmp_entry);
	scan_dirty = false;
	last_scan = op_no;
}

static void rescan(void)
{
	if (scan_dirty && (op_no - last_scan >= 8 || !ents))
		rescan_now();
}

/* ---- choosing names -------------------------------------------------------------------------- */

static const char *const names[] = {"a", "b", "c", "d",		  "e",		 "f",  "g",
				    "h", "i", "j", "long_name_0", "long_name_1", "x y"};
#define NNAMES (sizeof(names) / sizeof(names[0]))

/* An existing entry; with want != 0 prefer entries of that type (S_IFDIR, ...). */
static const char *pick_existing(mode_t want)
{
	rescan();
	if (!n_ents)
		return names[rnd(NNAMES)];
	if (want) {
		for (int tries = 0; tries < 20; tries++) {
			struct entry *e = &ents[rnd(n_ents)];

			if ((e->mode & S_IFMT) == want)
				return e->path;
		}
	}
	return ents[rnd(n_ents)].path;
}

/* A path in an existing directory (or, rarely, below a non-directory or missing one). */
static const char *gen_path(char *buf, size_t len)
{
	const char *parent = "";
	const char *name = names[rnd(NNAMES)];

	rescan();
	if (chance(8)) {
		parent = chance(50) ? pick_existing(0) : names[rnd(NNAMES)];
	} else if (n_dirs && chance(75)) {
		for (int tries = 0; tries < 30; tries++) {
			struct entry *e = &ents[rnd(n_ents)];

			if (S_ISDIR(e->mode) && e->depth < 4) {
				parent = e->path;
				break;
			}
		}
	}
	pathf(buf, len, "%s%s%s", parent, *parent ? "/" : "", name);
	return buf;
}

/* Either an existing entry or a new path. */
static const char *any_path(char *buf, size_t len, unsigned pct_existing)
{
	if (chance(pct_existing)) {
		snprintf(buf, len, "%s", pick_existing(0));
		return buf;
	}
	return gen_path(buf, len);
}

/* True when files may not grow: the tree holds enough data already. */
static bool over_budget(void)
{
	rescan();
	return ref_bytes > DATA_BUDGET || ref_apparent > SIZE_BUDGET;
}

static bool can_grow(void)
{
	rescan();
	return n_ents < MAX_ENTRIES;
}

static mode_t rand_mode(bool dir)
{
	static const mode_t common[] = {0644, 0600, 0755, 0700, 0777, 0444, 0};

	if (chance(70))
		return common[rnd(sizeof(common) / sizeof(common[0]))];
	return (mode_t)rnd(dir ? 07777 : 0777) & (dir ? 07777 : 0777);
}

/* ---- data -------------------------------------------------------------------------------------
 */

static unsigned char *wbuf;    /* 4 MiB of write data */
static unsigned char *cbuf[2]; /* compare buffers, 1 MiB each */
#define WBUF_SIZE (4 * MiB)
#define CBUF_SIZE (1 * MiB)

static void fill_random(size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = rng_next();
		size_t n = len - i < 8 ? len - i : 8;

		memcpy(wbuf + i, &v, n);
	}
	/* Some writes are runs of zeros or of one byte, which sparse files must tell apart. */
}

static size_t rand_len(void)
{
	unsigned r = (unsigned)rnd(100);

	if (r < 50)
		return 1 + rnd(4096);
	if (r < 85)
		return 1 + rnd(64 * KiB);
	if (r < 97)
		return 1 + rnd(MiB);
	return 1 + rnd(WBUF_SIZE);
}

static off_t rand_off(off_t size)
{
	unsigned r = (unsigned)rnd(100);

	if (r < 30 || size == 0)
		return (off_t)rnd(size + 1);
	if (r < 50)
		return size;
	if (r < 70)
		return (off_t)((rnd(FILE_SPAN / (4 * MiB)) + 1) * 4 * MiB -
			       rnd(8192)); /* near a 4 MiB boundary */
	return (off_t)rnd(FILE_SPAN);
}

static void prepare_data(size_t len)
{
	unsigned r = (unsigned)rnd(10);

	if (r == 0)
		memset(wbuf, 0, len);
	else if (r == 1)
		memset(wbuf, (int)rnd(256), len);
	else
		fill_random(len);
}

/* ---- explicitly set mtimes ------------------------------------------------------------------ */

struct mtime_rec {
	ino_t ino; /* reference inode */
	struct timespec mtime;
	bool seen; /* found in the tree since the last compare */
};

static struct mtime_rec *mrec;
static size_t n_mrec, cap_mrec;

static void mtime_set(ino_t ino, struct timespec ts)
{
	for (size_t i = 0; i < n_mrec; i++) {
		if (mrec[i].ino == ino) {
			mrec[i].mtime = ts;
			return;
		}
	}
	if (n_mrec == cap_mrec) {
		cap_mrec = cap_mrec ? cap_mrec * 2 : 64;
		mrec = realloc(mrec, cap_mrec * sizeof(*mrec));
		if (!mrec)
			die("realloc");
	}
	mrec[n_mrec].ino = ino;
	mrec[n_mrec].mtime = ts;
	mrec[n_mrec].seen = true;
	n_mrec++;
}

/*
 * The explicit mtime of reference inode ino, if the reference still shows it
 * (any later change of the reference mtime makes the record stale).
 */
static bool mtime_off; /* comparing a snapshot with a frozen copy: its inodes are others */

static bool mtime_expected(const struct stat *ref, struct timespec *out)
{
	if (mtime_off)
		return false;
	for (size_t i = 0; i < n_mrec; i++) {
		if (mrec[i].ino == ref->st_ino) {
			if (mrec[i].mtime.tv_sec == ref->st_mtim.tv_sec &&
			    mrec[i].mtime.tv_nsec == ref->st_mtim.tv_nsec) {
				mrec[i].seen = true;
				*out = mrec[i].mtime;
				return true;
			}
			mrec[i] = mrec[--n_mrec]; /* stale for good */
			return false;
		}
	}
	return false;
}

/*
 * Forgets the explicit mtime of the reference inode behind path rel (or fd):
 * operations on file contents may update mtime even when nothing changes
 * (ext4 does on a truncate to the same size, tmpfs does not).
 */
static void mtime_forget_ino(ino_t ino)
{
	for (size_t i = 0; i < n_mrec; i++)
		if (mrec[i].ino == ino)
			mrec[i] = mrec[--n_mrec];
}

static void mtime_forget_fd(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0)
		mtime_forget_ino(st.st_ino);
}

/* Drops the records of inodes no tree compare found since the last prune. */
static void mtime_prune(void)
{
	for (size_t i = 0; i < n_mrec;) {
		if (!mrec[i].seen) {
			mrec[i] = mrec[--n_mrec];
			continue;
		}
		mrec[i].seen = false;
		i++;
	}
}

/* ---- open descriptors ----------------------------------------------------------------------- */

struct ofd {
	bool used;
	int fd[2];
	int flags;
	char path[PATH_MAX];
};

static struct ofd fds[MAX_FDS];

static int n_open(void)
{
	int n = 0;

	for (int i = 0; i < MAX_FDS; i++)
		n += fds[i].used;
	return n;
}

static struct ofd *pick_fd(void)
{
	int n = n_open(), k;

	if (!n)
		return NULL;
	k = (int)rnd((uint64_t)n);
	for (int i = 0; i < MAX_FDS; i++)
		if (fds[i].used && k-- == 0)
			return &fds[i];
	return NULL;
}

static void close_all(void)
{
	for (int i = 0; i < MAX_FDS; i++) {
		if (!fds[i].used)
			continue;
		log_op("close fd%d (%s) for remount", i, fds[i].path);
		log_target_fd(fds[i].fd[1]);
		same("close", close(fds[i].fd[0]), errno, 0, 0);
		close(fds[i].fd[1]);
		fds[i].used = false;
	}
}

static const char *flag_str(int flags)
{
	static char buf[100];

	snprintf(buf, sizeof(buf), "%s%s%s%s%s",
		 (flags & O_ACCMODE) == O_RDONLY   ? "O_RDONLY"
		 : (flags & O_ACCMODE) == O_WRONLY ? "O_WRONLY"
						   : "O_RDWR",
		 flags & O_CREAT ? "|O_CREAT" : "", flags & O_EXCL ? "|O_EXCL" : "",
		 flags & O_TRUNC ? "|O_TRUNC" : "", flags & O_APPEND ? "|O_APPEND" : "");
	return buf;
}

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

static void op_create(void)
{
	char rel[PATH_MAX];
	int flags = O_WRONLY | O_CREAT | O_NONBLOCK;
	mode_t mode = rand_mode(false);
	int fv, fr, ev, er;

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
	fv = open(P(0, 0, rel), flags, mode);
	ev = errno;
	fr = open(P(1, 0, rel), flags, mode);
	er = errno;
	same("open(O_CREAT)", fv < 0 ? -1 : 0, ev, fr < 0 ? -1 : 0, er);
	log_target(rel);
	if (fv >= 0)
		TWO(close(fv), 0, "close");
	if (fr >= 0)
		close(fr);
	scan_dirty = true;
}

static void op_mkdir(void)
{
	char rel[PATH_MAX];
	mode_t mode = rand_mode(true);

	if (!can_grow())
		return;
	gen_path(rel, sizeof(rel));
	if (chance(70))
		mode |= 0700; /* keep most directories usable */
	log_op("mkdir %s 0%o", rel, (unsigned)mode);
	TWO(mkdir(P(0, 0, rel), mode), mkdir(P(1, 0, rel), mode), "mkdir");
	log_target(rel);
	scan_dirty = true;
}

/* Writes len bytes at off through freshly opened descriptors. */
static void op_write(void)
{
	char rel[PATH_MAX];
	int flags = O_WRONLY | O_NONBLOCK | (chance(10) ? O_APPEND : 0);
	size_t len;
	off_t off;
	int fv, fr, ev, er;
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
	fv = open(P(0, 0, rel), flags);
	ev = errno;
	fr = open(P(1, 0, rel), flags);
	er = errno;
	same("open for write", fv < 0 ? -1 : 0, ev, fr < 0 ? -1 : 0, er);
	if (fv >= 0) {
		TWO(pwrite(fv, wbuf, len, off), pwrite(fr, wbuf, len, off), "pwrite");
		TWO(close(fv), close(fr), "close after write");
	} else if (fr >= 0) {
		close(fr);
	}
	scan_dirty = true;
}

static void op_bigwrite(void)
{
	char rel[PATH_MAX];
	off_t off = 4 * GiB + (off_t)rnd(64 * MiB);
	unsigned char b = (unsigned char)(1 + rnd(255));
	int fv, fr, ev, er;

	rescan();
	if (n_big >= 2)
		return;
	snprintf(rel, sizeof(rel), "%s", pick_existing(S_IFREG));
	log_op("bigwrite %s 1 byte 0x%02x at %lld", rel, b, (long long)off);
	log_target(rel);
	mtime_forget_path(rel);
	fv = open(P(0, 0, rel), O_WRONLY | O_NONBLOCK);
	ev = errno;
	fr = open(P(1, 0, rel), O_WRONLY | O_NONBLOCK);
	er = errno;
	same("open for bigwrite", fv < 0 ? -1 : 0, ev, fr < 0 ? -1 : 0, er);
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

static void op_truncate(void)
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

static void op_rename(void)
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

static void op_rename2(void)
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

static void op_link(void)
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

static void op_unlink(void)
{
	char rel[PATH_MAX];

	any_path(rel, sizeof(rel), 90);
	log_op("unlink %s", rel);
	log_target(rel);
	TWO(unlink(P(0, 0, rel)), unlink(P(1, 0, rel)), "unlink");
	scan_dirty = true;
}

static void op_rmdir(void)
{
	char rel[PATH_MAX];

	if (chance(85))
		snprintf(rel, sizeof(rel), "%s", pick_existing(S_IFDIR));
	else
		any_path(rel, sizeof(rel), 50);
	log_op("rmdir %s", rel);
	log_target(rel);
	TWO(rmdir(P(0, 0, rel)), rmdir(P(1, 0, rel)), "rmdir");
	scan_dirty = true;
}

static void op_symlink(void)
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

static void op_mkfifo(void)
{
	char rel[PATH_MAX];
	mode_t mode = rand_mode(false);

	if (!can_grow())
		return;
	gen_path(rel, sizeof(rel));
	log_op("mkfifo %s 0%o", rel, (unsigned)mode);
	TWO(mkfifo(P(0, 0, rel), mode), mkfifo(P(1, 0, rel), mode), "mkfifo");
	log_target(rel);
	scan_dirty = true;
}

static void op_chmod(void)
{
	char rel[PATH_MAX];
	mode_t mode = (mode_t)rnd(010000);

	any_path(rel, sizeof(rel), 90);
	log_op("chmod %s 0%o", rel, (unsigned)mode);
	log_target(rel);
	TWO(chmod(P(0, 0, rel), mode), chmod(P(1, 0, rel), mode), "chmod");
}

static void op_chown(void)
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

static void op_utimens(void)
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

static void op_setxattr(void)
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

static void op_removexattr(void)
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

static void op_read_path(void)
{
	char rel[PATH_MAX];
	struct stat st;
	size_t len = rand_len();
	off_t off;
	int fv, fr, ev, er;

	rescan();
	snprintf(rel, sizeof(rel), "%s", pick_existing(S_IFREG));
	if (lstat(P(1, 0, rel), &st) < 0)
		st.st_size = 0;
	if (len > CBUF_SIZE)
		len = CBUF_SIZE;
	off = (off_t)rnd((uint64_t)st.st_size + 1);
	log_op("read %s off %lld len %zu", rel, (long long)off, len);
	log_target(rel);
	fv = open(P(0, 0, rel), O_RDONLY | O_NONBLOCK);
	ev = errno;
	fr = open(P(1, 0, rel), O_RDONLY | O_NONBLOCK);
	er = errno;
	same("open for read", fv < 0 ? -1 : 0, ev, fr < 0 ? -1 : 0, er);
	if (fv >= 0) {
		ssize_t nv, nr;

		errno = 0;
		nv = pread(fv, cbuf[0], len, off);
		ev = errno;
		errno = 0;
		nr = pread(fr, cbuf[1], len, off);
		er = errno;
		same("pread", nv, ev, nr, er);
		if (nv > 0 && memcmp(cbuf[0], cbuf[1], (size_t)nv)) {
			for (ssize_t i = 0; i < nv; i++)
				if (cbuf[0][i] != cbuf[1][i])
					fail("read %s: byte at offset %lld is 0x%02x on the volume, "
					     "0x%02x on the reference",
					     rel, (long long)(off + i), cbuf[0][i], cbuf[1][i]);
		}
		TWO(close(fv), close(fr), "close after read");
	} else if (fr >= 0) {
		close(fr);
	}
}

/* ---- descriptor operations ------------------------------------------------------------------- */

static void op_open(void)
{
	static const int acc[] = {O_RDWR, O_RDWR, O_RDWR, O_RDONLY, O_WRONLY};
	char rel[PATH_MAX];
	struct ofd *o = NULL;
	int flags, ev, er;

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
	o->fd[0] = open(P(0, 0, rel), flags | O_CLOEXEC, 0644);
	ev = errno;
	o->fd[1] = open(P(1, 0, rel), flags | O_CLOEXEC, 0644);
	er = errno;
	same("open", o->fd[0] < 0 ? -1 : 0, ev, o->fd[1] < 0 ? -1 : 0, er);
	if (o->fd[1] >= 0)
		log_target_fd(o->fd[1]);
	if (o->fd[0] >= 0) {
		o->used = true;
		o->flags = flags;
		snprintf(o->path, sizeof(o->path), "%s", rel);
	}
	scan_dirty = true;
}

static void op_close(void)
{
	struct ofd *o = pick_fd();

	if (!o)
		return;
	log_op("close fd%d (%s)", (int)(o - fds), o->path);
	log_target_fd(o->fd[1]);
	TWO(close(o->fd[0]), close(o->fd[1]), "close");
	o->used = false;
}

static void op_fwrite(void)
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

static void op_fread(void)
{
	struct ofd *o = pick_fd();
	struct stat st;
	size_t len = rand_len();
	off_t off;
	ssize_t nv, nr;
	int ev, er;

	if (!o)
		return;
	if (fstat(o->fd[1], &st) < 0)
		st.st_size = 0;
	if (len > CBUF_SIZE)
		len = CBUF_SIZE;
	off = (off_t)rnd((uint64_t)st.st_size + 1);
	log_op("pread fd%d (%s) off %lld len %zu", (int)(o - fds), o->path, (long long)off, len);
	log_target_fd(o->fd[1]);
	errno = 0;
	nv = pread(o->fd[0], cbuf[0], len, off);
	ev = errno;
	errno = 0;
	nr = pread(o->fd[1], cbuf[1], len, off);
	er = errno;
	same("pread on fd", nv, ev, nr, er);
	if (nv > 0 && memcmp(cbuf[0], cbuf[1], (size_t)nv)) {
		for (ssize_t i = 0; i < nv; i++)
			if (cbuf[0][i] != cbuf[1][i])
				fail("pread fd%d (%s): byte at offset %lld is 0x%02x on the volume, "
				     "0x%02x on the reference",
				     (int)(o - fds), o->path, (long long)(off + i), cbuf[0][i],
				     cbuf[1][i]);
	}
}

static void op_ftruncate(void)
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

static void compare_stat(const char *what, const struct stat *v, const struct stat *r);

static void op_fstat(void)
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

static void op_fchmod(void)
{
	struct ofd *o = pick_fd();
	mode_t mode = (mode_t)rnd(010000);

	if (!o)
		return;
	log_op("fchmod fd%d (%s) 0%o", (int)(o - fds), o->path, (unsigned)mode);
	log_target_fd(o->fd[1]);
	TWO(fchmod(o->fd[0], mode), fchmod(o->fd[1], mode), "fchmod");
}

static void op_fsync(void)
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

static void op_fallocate(void)
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

/* ---- comparing trees ---------------------------------------------------------------------- */

struct inomap {
	ino_t *a, *b;
	size_t n, cap;
};

static struct inomap links;

/* Records that reference inode r corresponds to volume inode v; false on conflict. */
static bool inomap_check(struct inomap *m, ino_t v, ino_t r, ino_t *other)
{
	for (size_t i = 0; i < m->n; i++) {
		if (m->a[i] == v || m->b[i] == r) {
			if (m->a[i] == v && m->b[i] == r)
				return true;
			*other = m->a[i] == v ? m->b[i] : m->a[i];
			return false;
		}
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->a = realloc(m->a, m->cap * sizeof(ino_t));
		m->b = realloc(m->b, m->cap * sizeof(ino_t));
		if (!m->a || !m->b)
			die("realloc");
	}
	m->a[m->n] = v;
	m->b[m->n] = r;
	m->n++;
	return true;
}

static void compare_stat(const char *what, const struct stat *v, const struct stat *r)
{
	struct timespec mt;

	if ((v->st_mode & S_IFMT) != (r->st_mode & S_IFMT))
		fail("%s: type 0%o on the volume, 0%o on the reference", what,
		     (unsigned)(v->st_mode & S_IFMT), (unsigned)(r->st_mode & S_IFMT));
	if (v->st_mode != r->st_mode)
		fail("%s: mode 0%o on the volume, 0%o on the reference", what, (unsigned)v->st_mode,
		     (unsigned)r->st_mode);
	if (v->st_uid != r->st_uid || v->st_gid != r->st_gid)
		fail("%s: owner %u:%u on the volume, %u:%u on the reference", what,
		     (unsigned)v->st_uid, (unsigned)v->st_gid, (unsigned)r->st_uid,
		     (unsigned)r->st_gid);
	if (v->st_nlink != r->st_nlink)
		fail("%s: nlink %lu on the volume, %lu on the reference", what,
		     (unsigned long)v->st_nlink, (unsigned long)r->st_nlink);
	if (!S_ISDIR(r->st_mode) && v->st_size != r->st_size)
		fail("%s: size %lld on the volume, %lld on the reference", what,
		     (long long)v->st_size, (long long)r->st_size);
	if ((S_ISCHR(r->st_mode) || S_ISBLK(r->st_mode)) && v->st_rdev != r->st_rdev)
		fail("%s: rdev differs", what);
	if (mtime_expected(r, &mt) &&
	    (v->st_mtim.tv_sec != mt.tv_sec || v->st_mtim.tv_nsec != mt.tv_nsec))
		fail("%s: mtime %lld.%09ld on the volume, explicitly set to %lld.%09ld", what,
		     (long long)v->st_mtim.tv_sec, v->st_mtim.tv_nsec, (long long)mt.tv_sec,
		     mt.tv_nsec);
}

static void compare_range(const char *rel, int fv, int fr, off_t off, off_t len)
{
	while (len > 0) {
		size_t n = len < CBUF_SIZE ? (size_t)len : CBUF_SIZE;
		ssize_t a = pread(fv, cbuf[0], n, off), b = pread(fr, cbuf[1], n, off);

		if (a != b)
			fail("%s: read of %zu bytes at %lld returned %zd (%s) on the volume, %zd on "
			     "the reference",
			     rel, n, (long long)off, a, a < 0 ? ename(errno) : "ok", b);
		if (a <= 0)
			return;
		if (memcmp(cbuf[0], cbuf[1], (size_t)a)) {
			for (ssize_t i = 0; i < a; i++)
				if (cbuf[0][i] != cbuf[1][i])
					fail("%s: byte at offset %lld is 0x%02x on the volume, 0x%02x "
					     "on the reference",
					     rel, (long long)(off + i), cbuf[0][i], cbuf[1][i]);
		}
		off += a;
		len -= a;
	}
}

static void compare_contents(const char *rel, off_t size)
{
	int fv = open(P(0, 2, rel), O_RDONLY | O_NONBLOCK);
	int fr = open(P(1, 2, rel), O_RDONLY | O_NONBLOCK);

	if (fv < 0 || fr < 0)
		fail("%s: cannot open for comparing: volume %s, reference %s", rel,
		     fv < 0 ? ename(errno) : "ok", fr < 0 ? "failed" : "ok");
	if (size <= BIG_LIMIT) {
		compare_range(rel, fv, fr, 0, size);
	} else {
		/* Data extents of the reference in full, a few windows of its holes. */
		off_t pos = 0;
		uint64_t s = seed ^ (n_compares * 0x9e3779b97f4a7c15ULL);

		while (pos < size) {
			off_t d = lseek(fr, pos, SEEK_DATA), h;

			if (d < 0)
				break;
			h = lseek(fr, d, SEEK_HOLE);
			if (h < 0)
				h = size;
			compare_range(rel, fv, fr, d, h - d);
			pos = h;
		}
		for (int i = 0; i < 8; i++) {
			off_t w;

			s = s * 6364136223846793005ULL + 1442695040888963407ULL;
			w = (off_t)((s >> 11) % (uint64_t)size);
			compare_range(rel, fv, fr, w, 64 * KiB);
		}
		compare_range(rel, fv, fr, size > 64 * KiB ? size - 64 * KiB : 0, 64 * KiB);
	}
	close(fv);
	close(fr);
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted user.* names of path on side s, as a NUL-separated list in buf. */
static size_t user_xattrs(int s, const char *rel, char *buf, size_t cap, char **names_out,
			  size_t *n_out)
{
	ssize_t n = llistxattr(P(s, 2, rel), buf, cap);
	size_t k = 0;

	if (n < 0)
		fail("%s: llistxattr failed on the %s: %s", rel, s ? "reference" : "volume",
		     ename(errno));
	for (ssize_t off = 0; off < n; off += (ssize_t)strlen(buf + off) + 1)
		if (!strncmp(buf + off, "user.", 5) && k < 64)
			names_out[k++] = buf + off;
	if (k)
		qsort(names_out, k, sizeof(char *), cmp_cstr);
	*n_out = k;
	return (size_t)n;
}

static void compare_xattrs(const char *rel)
{
	static char lv[8192], lr[8192], vv[65536], vr[65536];
	char *nv[64], *nr[64];
	size_t kv, kr;

	user_xattrs(0, rel, lv, sizeof(lv), nv, &kv);
	user_xattrs(1, rel, lr, sizeof(lr), nr, &kr);
	for (size_t i = 0; i < kv || i < kr; i++) {
		ssize_t a, b;

		if (i >= kv || i >= kr || strcmp(nv[i], nr[i]))
			fail("%s: user xattrs differ: volume has %zu (%s...), reference %zu (%s...)",
			     rel, kv, kv ? nv[i < kv ? i : 0] : "-", kr,
			     kr ? nr[i < kr ? i : 0] : "-");
		a = lgetxattr(P(0, 2, rel), nv[i], vv, sizeof(vv));
		b = lgetxattr(P(1, 2, rel), nr[i], vr, sizeof(vr));
		if (a != b || (a > 0 && memcmp(vv, vr, (size_t)a)))
			fail("%s: xattr %s: volume value of %zd bytes, reference %zd bytes%s", rel,
			     nv[i], a, b, a == b ? " with different contents" : "");
	}
}

static char **list_dir(int s, const char *rel, size_t *n)
{
	DIR *d = opendir(P(s, 2, rel));
	struct dirent *de;
	char **v = NULL;
	size_t cap = 0;

	*n = 0;
	if (!d)
		fail("%s: opendir on the %s: %s", *rel ? rel : "(root)", s ? "reference" : "volume",
		     ename(errno));
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				die("realloc");
		}
		v[(*n)++] = strdup(de->d_name);
	}
	if (errno)
		fail("%s: readdir on the %s: %s", *rel ? rel : "(root)", s ? "reference" : "volume",
		     ename(errno));
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_cstr);
	return v;
}

static void compare_dir(const char *rel, int depth)
{
	size_t nv, nr;
	char **v = list_dir(0, rel, &nv), **r = list_dir(1, rel, &nr);

	for (size_t i = 0, j = 0; i < nv || j < nr;) {
		int c = i >= nv ? 1 : j >= nr ? -1 : strcmp(v[i], r[j]);

		if (c < 0)
			fail("%s%s%s: only on the volume", rel, *rel ? "/" : "", v[i]);
		if (c > 0)
			fail("%s%s%s: only on the reference", rel, *rel ? "/" : "", r[j]);
		if (i + 1 < nv && !strcmp(v[i], v[i + 1]))
			fail("%s%s%s: listed twice on the volume", rel, *rel ? "/" : "", v[i]);
		i++;
		j++;
	}
	for (size_t i = 0; i < nv; i++) {
		char sub[PATH_MAX];
		struct stat sv, sr;
		ino_t other = 0;

		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", v[i]);
		if (lstat(P(0, 2, sub), &sv) < 0)
			fail("%s: lstat on the volume: %s", sub, ename(errno));
		if (lstat(P(1, 2, sub), &sr) < 0)
			fail("%s: lstat on the reference: %s", sub, ename(errno));
		fail_ino = sr.st_ino;
		compare_stat(sub, &sv, &sr);
		if (!S_ISDIR(sr.st_mode) && !inomap_check(&links, sv.st_ino, sr.st_ino, &other))
			fail("%s: hard links differ: this name shares an inode with another name "
			     "on one side only",
			     sub);
		if (S_ISLNK(sr.st_mode)) {
			char tv[PATH_MAX + 1], tr[PATH_MAX + 1];
			ssize_t a = readlink(P(0, 2, sub), tv, sizeof(tv) - 1);
			ssize_t b = readlink(P(1, 2, sub), tr, sizeof(tr) - 1);

			if (a != b || (a > 0 && memcmp(tv, tr, (size_t)a)))
				fail("%s: symlink targets differ (%zd and %zd bytes)", sub, a, b);
		} else if (S_ISREG(sr.st_mode)) {
			compare_contents(sub, sr.st_size);
		}
		compare_xattrs(sub);
		fail_ino = 0;
		if (S_ISDIR(sr.st_mode) && depth < MAX_DEPTH)
			compare_dir(sub, depth + 1);
	}
	for (size_t i = 0; i < nv; i++)
		free(v[i]);
	for (size_t i = 0; i < nr; i++)
		free(r[i]);
	free(v);
	free(r);
}

static void compare_trees(const char *when)
{
	log_op("compare trees (%s)", when);
	log_more(" ...");
	links.n = 0;
	compare_dir("", 0);
	n_compares++;
	if (!mtime_off)
		mtime_prune();
	log_more(" ok");
}

/* Runs cmd through system(); fails the run, naming what, unless it exits 0. */
static void run_or_fail(const char *what, const char *cmd)
{
	int st;

	fflush(stdout);
	log_op("%s: %s", what, cmd);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail("%s command failed (%s %d): %s", what,
		     st == -1	     ? "system error"
		     : WIFEXITED(st) ? "exit status"
				     : "signal",
		     st == -1	     ? errno
		     : WIFEXITED(st) ? WEXITSTATUS(st)
				     : WTERMSIG(st),
		     cmd);
	log_more(" ok");
}

static void remount(const char *cmd)
{
	close_all();
	run_or_fail("remount", cmd);
	n_remounts++;
	compare_trees("after remount");
}

static void one_op(void);

/* ---- snapshots, clones, rollback ----------------------------------------------------------- */

/*
 * With --snap-cmd, every --snap-every operations one snapshot event, in a
 * fixed cycle (which snapshot it concerns is random):
 *   take       CMD snap NAME; the reference is copied whole (cp -a) into a
 *              frozen copy; then checked as below
 *   check all  each snapshot: CMD mount NAME DIR (read-only VOL@NAME), the
 *              tree compared with its frozen copy, a create refused with
 *              EROFS, CMD umount NAME DIR, CMD fsck NAME (VOL@NAME clean)
 *   clone      CMD clone NAME CLONE DIR (a new volume from VOL@NAME, mounted
 *              read-write at DIR) compared with a copy of the frozen copy;
 *              then the clone and the volume each take random operations
 *              against their own reference, both compared, the clone again
 *              after the volume's; the snapshot checked; CMD unclone CLONE DIR
 *              (unmount, fsck, remove)
 *   rollback   CMD rollback NAME (the volume unmounted, rolled back, mounted
 *              again: a rollback is refused while it is mounted read-write);
 *              the reference becomes the frozen copy; trees compared
 * At most MAX_SNAPS snapshots live at once (CMD rmsnap NAME removes the
 * oldest beyond).  At the end every snapshot is checked once more.
 */
#define MAX_SNAPS 4
#define CLONE_OPS 300 /* random operations on a clone, and on the volume meanwhile */

struct snap {
	char name[32];
	char frozen[PATH_MAX]; /* the reference as it was, copied */
};

static const char *snap_cmd;
static char snap_dir[PATH_MAX];
static struct snap snaps[MAX_SNAPS];
static int n_snaps;
static unsigned long n_snap_events, n_snap_checks, n_clones, n_rollbacks;
static unsigned snap_serial;

static void __attribute__((format(printf, 1, 2))) run(const char *fmt, ...)
{
	char cmd[3 * PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	run_or_fail("run", cmd);
}

/* Compares the tree below vol with the one below ref (both given roots, PAD below). */
static void compare_roots(const char *vol, const char *ref, const char *when)
{
	char save[2][PATH_MAX];

	memcpy(save, work, sizeof(save));
	pathf(work[0], sizeof(work[0]), "%s/%s", vol, PAD);
	pathf(work[1], sizeof(work[1]), "%s/%s", ref, PAD);
	mtime_off = true;
	compare_trees(when);
	mtime_off = false;
	memcpy(work, save, sizeof(save));
}

static void snap_check(struct snap *sn, const char *when)
{
	char mnt[PATH_MAX], what[200], probe[PATH_MAX + 16];
	int fd;

	pathf(mnt, sizeof(mnt), "%s/mnt-%s", snap_dir, sn->name);
	if (mkdir(mnt, 0755) < 0 && errno != EEXIST)
		die("mkdir (snapshot mount point)");
	run("%s mount %s '%s'", snap_cmd, sn->name, mnt);
	snprintf(what, sizeof(what), "snapshot %s %s", sn->name, when);
	compare_roots(mnt, sn->frozen, what);
	pathf(probe, sizeof(probe), "%s/%s/new", mnt, PAD);
	fd = open(probe, O_CREAT | O_WRONLY, 0644);
	if (fd >= 0 || errno != EROFS)
		fail("snapshot %s: creating a file in its read-only mount gave %s, not EROFS",
		     sn->name, fd >= 0 ? "success" : ename(errno));
	run("%s umount %s '%s'", snap_cmd, sn->name, mnt);
	rmdir(mnt);
	run("%s fsck %s", snap_cmd, sn->name);
	n_snap_checks++;
}

static void snap_remove(int i)
{
	run("%s rmsnap %s", snap_cmd, snaps[i].name);
	run("rm -rf --one-file-system '%s'", snaps[i].frozen);
	snaps[i] = snaps[--n_snaps];
}

static void snap_take(void)
{
	struct snap *sn;

	if (n_snaps == MAX_SNAPS) {
		int oldest = 0;

		for (int i = 1; i < n_snaps; i++)
			if (strtoul(snaps[i].name + 1, NULL, 10) <
			    strtoul(snaps[oldest].name + 1, NULL, 10))
				oldest = i;
		snap_remove(oldest);
	}
	sn = &snaps[n_snaps];
	snprintf(sn->name, sizeof(sn->name), "s%u", ++snap_serial);
	pathf(sn->frozen, sizeof(sn->frozen), "%s/frozen-%s", snap_dir, sn->name);
	if (mkdir(sn->frozen, 0755) < 0)
		die("mkdir (frozen copy)");
	/* descriptors stay open: what they wrote must be in the snapshot all the same */
	run("%s snap %s", snap_cmd, sn->name);
	run("cp -a '%s/.' '%s/'", root[1], sn->frozen);
	n_snaps++;
	snap_check(sn, "just taken");
}

/* Runs n random operations on the tree pair vol/ref (roots, PAD below). */
static void ops_on(const char *vol, const char *ref, int n)
{
	char save[2][PATH_MAX];
	struct mtime_rec *save_m = mrec;
	size_t save_n = n_mrec, save_cap = cap_mrec;

	close_all();
	memcpy(save, work, sizeof(save));
	pathf(work[0], sizeof(work[0]), "%s/%s", vol, PAD);
	pathf(work[1], sizeof(work[1]), "%s/%s", ref, PAD);
	mrec = NULL;
	n_mrec = cap_mrec = 0;
	scan_dirty = true;
	last_scan = op_no - 8;
	for (int k = 0; k < n; k++)
		one_op();
	compare_trees("clone, after its own operations");
	close_all();
	free(mrec);
	mrec = save_m;
	n_mrec = save_n;
	cap_mrec = save_cap;
	memcpy(work, save, sizeof(save));
	scan_dirty = true;
	last_scan = op_no - 8;
}

static void snap_clone(struct snap *sn)
{
	char mnt[PATH_MAX], ref[PATH_MAX], name[32], what[200];

	snprintf(name, sizeof(name), "c%lu", ++n_clones);
	pathf(mnt, sizeof(mnt), "%s/clone-mnt", snap_dir);
	pathf(ref, sizeof(ref), "%s/clone-ref", snap_dir);
	if ((mkdir(mnt, 0755) < 0 && errno != EEXIST) || mkdir(ref, 0755) < 0)
		die("mkdir (clone)");
	run("cp -a '%s/.' '%s/'", sn->frozen, ref);
	run("%s clone %s %s '%s'", snap_cmd, sn->name, name, mnt);
	snprintf(what, sizeof(what), "clone %s of snapshot %s, new", name, sn->name);
	compare_roots(mnt, ref, what);
	log_op("clone %s: %d operations on it", name, CLONE_OPS);
	ops_on(mnt, ref, CLONE_OPS);
	log_op("volume: %d operations while clone %s exists", CLONE_OPS, name);
	for (int k = 0; k < CLONE_OPS; k++)
		one_op();
	compare_trees("volume, after its clone changed");
	close_all();
	snprintf(what, sizeof(what), "clone %s after the volume changed", name);
	compare_roots(mnt, ref, what);
	snap_check(sn, "after a clone of it changed");
	run("%s unclone %s '%s'", snap_cmd, name, mnt);
	rmdir(mnt);
	run("rm -rf --one-file-system '%s'", ref);
}

static void snap_rollback(struct snap *sn)
{
	close_all();
	run("%s rollback %s", snap_cmd, sn->name);
	/* the reference goes back too: its tree replaced by the frozen copy */
	run("rm -rf --one-file-system '%s/m'", root[1]);
	run("cp -a '%s/.' '%s/'", sn->frozen, root[1]);
	n_mrec = 0;
	scan_dirty = true;
	last_scan = op_no - 8;
	n_rollbacks++;
	compare_trees("after rollback");
}

static void snap_event(void)
{
	unsigned long kind = n_snap_events++ % 4;
	struct snap *sn;

	if (!n_snaps || kind == 0) {
		snap_take();
		return;
	}
	sn = &snaps[rnd((uint64_t)n_snaps)];
	if (kind == 1) {
		for (int i = 0; i < n_snaps; i++)
			snap_check(&snaps[i], "after churn");
	} else if (kind == 2) {
		snap_clone(sn);
	} else {
		snap_rollback(sn);
	}
}

/* ---- main -------------------------------------------------------------------------------------
 */

struct opdef {
	const char *name;
	void (*fn)(void);
	unsigned weight;
};

static const struct opdef ops[] = {
	{"create", op_create, 8},
	{"mkdir", op_mkdir, 5},
	{"write", op_write, 10},
	{"bigwrite", op_bigwrite, 0},
	{"truncate", op_truncate, 4},
	{"rename", op_rename, 8},
	{"renameat2", op_rename2, 3},
	{"link", op_link, 4},
	{"unlink", op_unlink, 6},
	{"rmdir", op_rmdir, 3},
	{"symlink", op_symlink, 3},
	{"mkfifo", op_mkfifo, 1},
	{"chmod", op_chmod, 3},
	{"chown", op_chown, 3},
	{"utimensat", op_utimens, 3},
	{"setxattr", op_setxattr, 3},
	{"removexattr", op_removexattr, 2},
	{"read", op_read_path, 3},
	{"open", op_open, 4},
	{"close", op_close, 3},
	{"pwrite", op_fwrite, 6},
	{"pread", op_fread, 4},
	{"ftruncate", op_ftruncate, 2},
	{"fstat", op_fstat, 3},
	{"fchmod", op_fchmod, 1},
	{"fsync", op_fsync, 1},
	{"fallocate", op_fallocate, 2},
};

#define NOPS (sizeof(ops) / sizeof(ops[0]))

static void one_op(void)
{
	unsigned total = 0, r;

	/* One operation in 400 writes a byte beyond 4 GiB. */
	if (rnd(400) == 0) {
		cur_kind = 3;
		op_bigwrite();
		cur_kind = -1;
		return;
	}
	for (size_t i = 0; i < NOPS; i++)
		total += ops[i].weight;
	r = (unsigned)rnd(total);
	for (size_t i = 0; i < NOPS; i++) {
		if (r < ops[i].weight) {
			cur_kind = (int)i;
			ops[i].fn();
			cur_kind = -1;
			return;
		}
		r -= ops[i].weight;
	}
}

/* One line: how many calls of each kind succeeded / failed alike. */
static void print_mix(void)
{
	printf("fsmodel: calls ok/failed alike:");
	for (size_t i = 0; i < NOPS; i++)
		printf(" %s %lu/%lu", ops[i].name, kind_ok[i], kind_err[i]);
	printf("\nfsmodel: %lu descriptor operations on unlinked files\n", n_unlinked_fd_ops);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fsmodel --seed S --ops N --dir VOLDIR --ref REFDIR [--check-every K]\n"
		"               [--remount-cmd 'CMD'] [--remount-every M]\n"
		"               [--snap-cmd 'CMD' --snap-dir DIR [--snap-every M]] [--verbose]\n");
}

static bool parse_num(const char *s, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return !errno && *s && !*end;
}

static bool empty_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	bool empty = true;

	if (!d)
		return false;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = false;
	closedir(d);
	return empty;
}

int main(int argc, char **argv)
{
	unsigned long long check_every = 200, remount_every = 1000, snap_every = 1000, v;
	const char *remount_cmd = NULL;
	bool have_seed = false, have_ops = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--verbose")) {
			verbose = true;
			continue;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		}
		if (!val) {
			usage(stderr);
			return 2;
		}
		i++;
		if (!strcmp(a, "--seed") && parse_num(val, &v)) {
			seed = v;
			have_seed = true;
		} else if (!strcmp(a, "--ops") && parse_num(val, &v)) {
			n_ops = (unsigned long)v;
			have_ops = true;
		} else if (!strcmp(a, "--dir")) {
			root[0] = val;
		} else if (!strcmp(a, "--ref")) {
			root[1] = val;
		} else if (!strcmp(a, "--check-every") && parse_num(val, &v) && v > 0) {
			check_every = v;
		} else if (!strcmp(a, "--remount-cmd")) {
			remount_cmd = val;
		} else if (!strcmp(a, "--remount-every") && parse_num(val, &v) && v > 0) {
			remount_every = v;
		} else if (!strcmp(a, "--snap-cmd")) {
			snap_cmd = val;
		} else if (!strcmp(a, "--snap-dir")) {
			snprintf(snap_dir, sizeof(snap_dir), "%s", val);
		} else if (!strcmp(a, "--snap-every") && parse_num(val, &v) && v > 0) {
			snap_every = v;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!have_seed || !have_ops || !root[0] || !root[1] || (snap_cmd && !snap_dir[0])) {
		usage(stderr);
		return 2;
	}
	for (int s = 0; s < 2; s++) {
		if (!empty_dir(root[s])) {
			fprintf(stderr, "fsmodel: %s must be an existing empty directory\n",
				root[s]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);
	for (int s = 0; s < 2; s++) {
		char *p;

		if ((size_t)snprintf(work[s], sizeof(work[s]), "%s/%s", root[s], PAD) >=
		    sizeof(work[s]) - 256) {
			fprintf(stderr, "fsmodel: directory name too long: %s\n", root[s]);
			return 2;
		}
		for (p = work[s] + strlen(root[s]) + 1;; p++) {
			if (*p == '/' || !*p) {
				char c = *p;

				*p = 0;
				if (mkdir(work[s], 0755) < 0 && errno != EEXIST) {
					fprintf(stderr, "fsmodel: mkdir %s: %s\n", work[s],
						strerror(errno));
					return 2;
				}
				*p = c;
				if (!c)
					break;
			}
		}
	}
	rng_state = seed;
	wbuf = xmalloc(WBUF_SIZE);
	oplog = calloc(LOG_RING, sizeof(*oplog));
	if (!oplog)
		die("calloc");
	cbuf[0] = xmalloc(CBUF_SIZE);
	cbuf[1] = xmalloc(CBUF_SIZE);
	printf("fsmodel: seed %" PRIu64
	       ", %lu ops, volume %s, reference %s, compare every %llu%s\n",
	       seed, n_ops, root[0], root[1], check_every,
	       remount_cmd ? (snap_cmd ? ", with remounts and snapshots" : ", with remounts")
	       : snap_cmd  ? ", with snapshots"
			   : "");
	for (op_no = 1; op_no <= n_ops; op_no++) {
		one_op();
		if (op_no % check_every == 0)
			compare_trees("periodic");
		if (remount_cmd && op_no % remount_every == 0 && op_no < n_ops)
			remount(remount_cmd);
		if (snap_cmd && op_no % snap_every == 0 && op_no < n_ops)
			snap_event();
	}
	op_no = n_ops;
	compare_trees("final");
	if (remount_cmd)
		remount(remount_cmd);
	close_all();
	for (int i = 0; i < n_snaps; i++)
		snap_check(&snaps[i], "at the end");
	print_mix();
	if (snap_cmd)
		printf("fsmodel: %lu snapshot events: %u snapshots taken, %lu snapshot checks, %lu "
		       "clones, %lu rollbacks\n",
		       n_snap_events, snap_serial, n_snap_checks, n_clones, n_rollbacks);
	summary(0);
	return 0;
}
