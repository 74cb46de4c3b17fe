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
#include "fsmodel.h"

/* ---- random numbers --------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t rnd(uint64_t n)
{
	return n ? rng_next() % n : 0;
}

/* True with probability pct percent. */
bool chance(unsigned pct)
{
	return rnd(100) < pct;
}

/* ---- run state ------------------------------------------------------------------------------ */

const char *root[2]; /* [0] volume under test, [1] reference, as given */
/*
 * The trees live PAD levels below the given directories, so that relative
 * symlinks with ".." that climb out of the tree (after a rename moved them
 * up) still land in identical directories on both sides.
 */
char work[2][PATH_MAX];
uint64_t seed;
unsigned long op_no, n_ops, n_compares, n_remounts;
static bool verbose;
struct logent {
	char text[LOG_LINE];
	ino_t ino[4]; /* reference inodes the operation touched */
	int n_ino;
};

static struct logent *oplog;
static unsigned long oplog_n;
ino_t fail_ino; /* reference inode of the entry being compared */

static void summary(unsigned long failed)
{
	printf("fsmodel: %lu ops, %lu compares, %lu remounts, seed %" PRIu64 "\n", op_no,
	       n_compares, n_remounts, seed);
	printf("%lu passed, %lu failed\n", n_compares, failed);
	fflush(stdout);
}

void __attribute__((format(printf, 1, 2))) log_op(const char *fmt, ...)
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
void __attribute__((format(printf, 1, 2))) log_more(const char *fmt, ...)
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

const char *ename(int e)
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

void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
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

void die(const char *what)
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

/* Room for one more element in arr, of which n of *cap are used (the first time: first). */
void *grow(void *arr, size_t n, size_t *cap, size_t size, size_t first)
{
	if (n < *cap)
		return arr;
	*cap = *cap ? *cap * 2 : first;
	arr = realloc(arr, *cap * size);
	if (!arr)
		die("realloc");
	return arr;
}

/* snprintf that reports truncation instead of silently cutting a path. */
void __attribute__((format(printf, 3, 4))) pathf(char *buf, size_t len, const char *fmt, ...)
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
const char *P(int s, int slot, const char *rel)
{
	static char buf[2][3][PATH_MAX + 64];

	pathf(buf[s][slot], sizeof(buf[s][slot]), "%s%s%s", work[s], *rel ? "/" : "", rel);
	return buf[s][slot];
}

static void mtime_forget_ino(ino_t ino);

/* Forgets the explicit mtime of what rel names on the reference (following symlinks). */
void mtime_forget_path(const char *rel)
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
void log_target(const char *rel)
{
	struct stat st;

	if (lstat(P(1, 2, rel), &st) < 0)
		return;
	log_ino(st.st_ino);
	if (S_ISLNK(st.st_mode) && stat(P(1, 2, rel), &st) == 0)
		log_ino(st.st_ino);
}

static unsigned long n_unlinked_fd_ops; /* descriptor operations on unlinked files */

void log_target_fd(int fd)
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
void same(const char *what, long long rv, int ev, long long rr, int er)
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

static struct entry *ents;
size_t n_ents, cap_ents, n_dirs, n_big;
static long long ref_bytes, ref_apparent;
bool scan_dirty = true;

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
		ents = grow(ents, n_ents, &cap_ents, sizeof(*ents), 256);
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
unsigned long last_scan;

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

void rescan(void)
{
	if (scan_dirty && (op_no - last_scan >= 8 || !ents))
		rescan_now();
}

/* ---- choosing names -------------------------------------------------------------------------- */

const char *const names[] = {"a", "b", "c", "d",	   "e",		  "f",	"g",
			     "h", "i", "j", "long_name_0", "long_name_1", "x y"};
_Static_assert(sizeof(names) / sizeof(names[0]) == NNAMES, "NNAMES counts the names");

/* An existing entry; with want != 0 prefer entries of that type (S_IFDIR, ...). */
const char *pick_existing(mode_t want)
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
const char *gen_path(char *buf, size_t len)
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
const char *any_path(char *buf, size_t len, unsigned pct_existing)
{
	if (chance(pct_existing)) {
		snprintf(buf, len, "%s", pick_existing(0));
		return buf;
	}
	return gen_path(buf, len);
}

/* True when files may not grow: the tree holds enough data already. */
bool over_budget(void)
{
	rescan();
	return ref_bytes > DATA_BUDGET || ref_apparent > SIZE_BUDGET;
}

bool can_grow(void)
{
	rescan();
	return n_ents < MAX_ENTRIES;
}

mode_t rand_mode(bool dir)
{
	static const mode_t common[] = {0644, 0600, 0755, 0700, 0777, 0444, 0};

	if (chance(70))
		return common[rnd(sizeof(common) / sizeof(common[0]))];
	return (mode_t)rnd(dir ? 07777 : 0777) & (dir ? 07777 : 0777);
}

/* ---- data -------------------------------------------------------------------------------------
 */

unsigned char *wbuf;	/* 4 MiB of write data */
unsigned char *cbuf[2]; /* compare buffers, 1 MiB each */
#define WBUF_SIZE (4 * MiB)

void fill_random(size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = rng_next();
		size_t n = len - i < 8 ? len - i : 8;

		memcpy(wbuf + i, &v, n);
	}
	/* Some writes are runs of zeros or of one byte, which sparse files must tell apart. */
}

size_t rand_len(void)
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

off_t rand_off(off_t size)
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

void prepare_data(size_t len)
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

struct mtime_rec *mrec;
size_t n_mrec, cap_mrec;

void mtime_set(ino_t ino, struct timespec ts)
{
	for (size_t i = 0; i < n_mrec; i++) {
		if (mrec[i].ino == ino) {
			mrec[i].mtime = ts;
			return;
		}
	}
	mrec = grow(mrec, n_mrec, &cap_mrec, sizeof(*mrec), 64);
	mrec[n_mrec].ino = ino;
	mrec[n_mrec].mtime = ts;
	mrec[n_mrec].seen = true;
	n_mrec++;
}

/*
 * The explicit mtime of reference inode ino, if the reference still shows it
 * (any later change of the reference mtime makes the record stale).
 */
bool mtime_off; /* comparing a snapshot with a frozen copy: its inodes are others */

bool mtime_expected(const struct stat *ref, struct timespec *out)
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

void mtime_forget_fd(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0)
		mtime_forget_ino(st.st_ino);
}

/* Drops the records of inodes no tree compare found since the last prune. */
void mtime_prune(void)
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

struct ofd fds[MAX_FDS];

static int n_open(void)
{
	int n = 0;

	for (int i = 0; i < MAX_FDS; i++)
		n += fds[i].used;
	return n;
}

struct ofd *pick_fd(void)
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

void close_all(void)
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

const char *flag_str(int flags)
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

void one_op(void)
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
