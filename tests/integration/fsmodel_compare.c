/*
 * fsmodel - comparing the two trees; snapshots, clones and rollback (see
 * fsmodel.c).
 */
#include "fsmodel.h"

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

void compare_stat(const char *what, const struct stat *v, const struct stat *r)
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
		v = grow(v, *n, &cap, sizeof(*v), 32);
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

void compare_trees(const char *when)
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

void remount(const char *cmd)
{
	close_all();
	run_or_fail("remount", cmd);
	n_remounts++;
	compare_trees("after remount");
}

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
#define CLONE_OPS 300 /* random operations on a clone, and on the volume meanwhile */

const char *snap_cmd;
char snap_dir[PATH_MAX];
struct snap snaps[MAX_SNAPS];
int n_snaps;
unsigned long n_snap_events, n_snap_checks, n_clones, n_rollbacks;
unsigned snap_serial;

void __attribute__((format(printf, 1, 2))) run(const char *fmt, ...)
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

void snap_check(struct snap *sn, const char *when)
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

void snap_event(void)
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
