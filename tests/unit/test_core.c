/*
 * Unit tests of the filesystem core on the in-memory store: namespace
 * operations, data, persistence across clean unmounts, and journal replay
 * after an abandoned (crashed) mount.
 */
#include "test_core.h"

struct fl_store *base;
const struct fl_cred root_cred = {0, 0};
CHECK_DEFINE_COUNT();

struct fl_core *mount_vol_opts(const char *name, struct fl_volume **vp,
			       const struct fl_core_opts *o)
{
	struct fl_core *c = NULL;
	char err[512] = "";
	int ret;

	ret = fl_volume_open(base, name, vp, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "open: %s\n", err);
		exit(1);
	}
	if (!o->ro) {
		ret = fl_volume_lock(*vp, 30, false, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "lock: %s\n", err);
			exit(1);
		}
	}
	ret = fl_core_mount(*vp, o, &c, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "mount: %s\n", err);
		exit(1);
	}
	return c;
}

struct fl_core *mount_vol_ms(const char *name, struct fl_volume **vp, bool ro, unsigned commit_ms)
{
	struct fl_core_opts o = {.ro = ro, .commit_ms = commit_ms};

	return mount_vol_opts(name, vp, &o);
}

struct fl_core *mount_vol(const char *name, struct fl_volume **vp, bool ro)
{
	return mount_vol_ms(name, vp, ro, 50);
}

void umount_vol(struct fl_core *c, struct fl_volume *v)
{
	EQ(fl_core_unmount(c), 0);
	fl_volume_close(v);
}

void check_fsck_at(const char *name, uint64_t want_damage, int line)
{
	struct fl_fsck_opts o = {0};
	struct fl_fsck_report r;
	char err[256] = "";
	int ret = fl_fsck(base, name, &o, &r, err, sizeof(err));

	if (ret || r.damage != want_damage) {
		failed++;
		fprintf(stderr, "FAIL %s:%d: fsck %s: ret %d (%s), damage %llu (want %llu): %s\n",
			__FILE__, line, name, ret, err, (unsigned long long)r.damage,
			(unsigned long long)want_damage, r.first_problem);
	} else {
		passed++;
	}
}

/* Volume name holds no data object and fsck finds nothing. */
void check_empty(const char *name)
{
	EQ(vol_objects(name), 0);
	check_fsck(name, 0);
}

/* Unlinks name (inode ino) from the root, releases it if open, forgets it. */
void unlink_forget(struct fl_core *c, const char *name, uint64_t ino, bool open)
{
	EQ(fl_core_unlink(c, 1, name), 0);
	if (open)
		EQ(fl_core_release(c, ino), 0);
	fl_core_forget(c, ino, 1);
}

/* Mounts volume vol again, unlinks the closed file name (inode ino) from
 * the root, unmounts and checks that the volume is empty. */
void remount_unlink_check_empty(const char *vol, const char *name, uint64_t ino)
{
	struct fl_volume *v;
	struct fl_core *c = mount_vol(vol, &v, false);

	unlink_forget(c, name, ino, false);
	umount_vol(c, v);
	check_empty(vol);
}

uint64_t lookup(struct fl_core *c, uint64_t parent, const char *name)
{
	struct stat st;

	if (fl_core_lookup(c, parent, name, &st))
		return 0;
	return st.st_ino;
}

static void test_namespace(void)
{
	struct fl_volume *v;
	struct fl_core *c = mount_vol("ns", &v, false);
	struct stat st, st2;
	uint64_t d1, d2, f1;
	char buf[64];

	EQ(fl_core_mkdir(c, 1, "d1", 0755, &root_cred, &st), 0);
	d1 = st.st_ino;
	EQ(st.st_nlink, 2);
	EQ(fl_core_mkdir(c, 1, "d1", 0755, &root_cred, &st), -EEXIST);
	EQ(fl_core_mkdir(c, d1, "d2", 0700, &root_cred, &st), 0);
	d2 = st.st_ino;
	EQ(fl_core_getattr(c, d1, &st), 0);
	EQ(st.st_nlink, 3);
	EQ(fl_core_getattr(c, 1, &st), 0);
	EQ(st.st_nlink, 3);
	EQ(fl_core_create(c, d2, "f1", 0644, O_RDWR, &root_cred, &st), 0);
	f1 = st.st_ino;
	EQ(fl_core_write(c, f1, 0, "hello", 5), 5);
	EQ(fl_core_release(c, f1), 0);
	EQ(fl_core_link(c, f1, d1, "f1link", &st), 0);
	EQ(st.st_nlink, 2);
	EQ(fl_core_link(c, d2, d1, "dirlink", &st), -EPERM);
	EQ(fl_core_symlink(c, d1, "sym", "d2/f1", &root_cred, &st), 0);
	EQ(fl_core_readlink(c, st.st_ino, buf, sizeof(buf)), 5);
	CHECK(!strcmp(buf, "d2/f1"), "readlink %s", buf);
	EQ(fl_core_rmdir(c, d1, "d2"), -ENOTEMPTY);
	EQ(fl_core_unlink(c, d1, "d2"), -EISDIR);
	EQ(fl_core_rmdir(c, d1, "f1link"), -ENOTDIR);
	/* rename into own subtree */
	EQ(fl_core_rename(c, 1, "d1", d2, "x", 0), -EINVAL);
	/* rename replacing a file */
	EQ(fl_core_mknod(c, d1, "other", S_IFREG | 0600, 0, &root_cred, &st), 0);
	EQ(fl_core_rename(c, d1, "f1link", d1, "other", 0), 0);
	EQ(fl_core_lookup(c, d1, "other", &st), 0);
	EQ(st.st_ino, f1);
	EQ(st.st_nlink, 2);
	EQ(fl_core_rename(c, d1, "other", d1, "sym", RENAME_NOREPLACE), -EEXIST);
	EQ(fl_core_rename(c, d1, "other", d1, "sym", RENAME_EXCHANGE), 0);
	EQ(fl_core_lookup(c, d1, "sym", &st), 0);
	EQ(st.st_ino, f1);
	/* dir over non-empty dir / file over dir */
	EQ(fl_core_mkdir(c, 1, "empty", 0755, &root_cred, &st), 0);
	EQ(fl_core_mkdir(c, 1, "d3", 0755, &root_cred, &st), 0);
	EQ(fl_core_rename(c, 1, "d3", 1, "d1", 0), -ENOTEMPTY);
	EQ(fl_core_rename(c, d1, "sym", 1, "d3", 0), -EISDIR);
	EQ(fl_core_rename(c, 1, "d3", d1, "sym", 0), -ENOTDIR);
	/* move a dir across parents: link counts */
	EQ(fl_core_rename(c, 1, "d3", d1, "d3", 0), 0);
	EQ(fl_core_getattr(c, 1, &st), 0);
	EQ(st.st_nlink, 4); /* d1 and empty */
	EQ(fl_core_getattr(c, d1, &st2), 0);
	EQ(st2.st_nlink, 4);
	/* long names */
	memset(buf, 'a', 63);
	buf[63] = '\0';
	{
		char longname[300];

		memset(longname, 'n', 255);
		longname[255] = '\0';
		EQ(fl_core_mknod(c, 1, longname, S_IFREG | 0644, 0, &root_cred, &st), 0);
		longname[255] = 'n';
		longname[256] = '\0';
		EQ(fl_core_mknod(c, 1, longname, S_IFREG | 0644, 0, &root_cred, &st),
		   -ENAMETOOLONG);
	}
	umount_vol(c, v);

	/* everything is there after a clean remount */
	c = mount_vol("ns", &v, false);
	d1 = lookup(c, 1, "d1");
	CHECK(d1 != 0, "d1 after remount");
	d2 = lookup(c, d1, "d2");
	CHECK(d2 != 0, "d2 after remount");
	f1 = lookup(c, d2, "f1");
	CHECK(f1 != 0, "f1 after remount");
	EQ(fl_core_getattr(c, f1, &st), 0);
	EQ(st.st_size, 5);
	EQ(st.st_nlink, 2);
	EQ(fl_core_open(c, f1, O_RDONLY), 0);
	memset(buf, 0, sizeof(buf));
	EQ(fl_core_read(c, f1, 0, sizeof(buf), buf), 5);
	CHECK(!memcmp(buf, "hello", 5), "content %s", buf);
	EQ(fl_core_release(c, f1), 0);
	EQ(fl_core_getattr(c, d1, &st), 0);
	EQ(st.st_nlink, 4);
	{
		uint64_t e = lookup(c, 1, "empty");

		CHECK(e != 0, "empty dir after remount");
		EQ(fl_core_opendir(c, e), 0);
	}
	umount_vol(c, v);
	check_fsck("ns", 0);
}

static void test_readdir_cb_count(void);

static int rd_cb(void *arg, const char *name, const struct stat *st, uint64_t next)
{
	struct rd *r = arg;

	(void)st;
	if (r->n >= 64)
		return 1;
	snprintf(r->names[r->n], 32, "%s", name);
	r->offs[r->n++] = next;
	return 0;
}

static void test_readdir_cb_count(void)
{
	struct fl_volume *v;
	struct fl_core *c = mount_vol("rd", &v, false);
	struct stat st;
	struct rd r = {0}, r2 = {0};
	char name[32];
	int i, seen = 0;

	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "f%02d", i);
		EQ(fl_core_mknod(c, 1, name, S_IFREG | 0644, 0, &root_cred, &st), 0);
	}
	EQ(fl_core_readdir(c, 1, 0, false, rd_cb, &r), 0);
	EQ(r.n, 22);
	/* resume from the 10th entry after removing some earlier and later ones */
	EQ(fl_core_unlink(c, 1, "f01"), 0);
	EQ(fl_core_unlink(c, 1, "f15"), 0);
	EQ(fl_core_mknod(c, 1, "new", S_IFREG | 0644, 0, &root_cred, &st), 0);
	EQ(fl_core_readdir(c, 1, r.offs[9], false, rd_cb, &r2), 0);
	for (i = 0; i < r2.n; i++) {
		if (!strcmp(r2.names[i], "f15"))
			CHECK(0, "removed entry seen");
		if (!strncmp(r2.names[i], "f0", 2) && r2.names[i][2] < '8')
			CHECK(0, "entry seen twice: %s", r2.names[i]);
		seen++;
	}
	EQ(seen, 12); /* f08..f19 minus f15, plus new */
	umount_vol(c, v);
}

static void test_enospc(void)
{
	struct fl_volume *v;
	struct fl_core *c;
	struct stat st;
	char err[256], *buf = calloc(1, 1 << 20);
	int i;
	ssize_t r = 0;

	EQ(fl_volume_create(base, "small", 4 << 20, 0, err, sizeof(err)), 0);
	c = mount_vol("small", &v, false);
	EQ(fl_core_create(c, 1, "f", 0644, O_RDWR, &root_cred, &st), 0);
	for (i = 0; i < 8; i++) {
		r = fl_core_write(c, st.st_ino, (uint64_t)i << 20, buf, 1 << 20);
		if (r < 0)
			break;
	}
	EQ(r, -ENOSPC);
	EQ(i, 4);
	{
		struct statvfs sv;

		EQ(fl_core_statfs(c, &sv), 0);
		EQ(sv.f_blocks * sv.f_frsize, 4 << 20);
		EQ(sv.f_bfree, 0);
	}
	EQ(fl_core_release(c, st.st_ino), 0);
	EQ(fl_core_unlink(c, 1, "f"), 0);
	fl_core_forget(c, st.st_ino, 1);
	EQ(fl_core_syncfs(c), 0);
	umount_vol(c, v);
	free(buf);
}

/* ---- no thread holds the core lock while it waits for RADOS ---- */

struct held_op {
	struct fl_core *c;
	int kind; /* 0: getattr of ino; 1: rmdir name in the root; 2: meanwhile's ops */
	uint64_t ino;
	const char *name;
	int ret;
	volatile int done;
};

static void *held_op_thread(void *arg)
{
	struct held_op *h = arg;
	struct stat st;
	char buf[16] = "meanwhile";

	if (h->kind == 0) {
		h->ret = fl_core_getattr(h->c, h->ino, &st);
		if (!h->ret && st.st_ino != h->ino)
			h->ret = -EINVAL;
	} else if (h->kind == 1) {
		h->ret = fl_core_rmdir(h->c, 1, h->name);
	} else {
		/* an inode already in memory: stat, a lookup, a write, a read */
		h->ret = fl_core_getattr(h->c, h->ino, &st);
		if (!h->ret && lookup(h->c, 1, h->name) != h->ino)
			h->ret = -ENOENT;
		if (!h->ret && fl_core_write(h->c, h->ino, 0, buf, 9) != 9)
			h->ret = -EIO;
		if (!h->ret && fl_core_read(h->c, h->ino, 0, 9, buf) != 9)
			h->ret = -EIO;
	}
	h->done = 1;
	return NULL;
}

struct rdplus {
	unsigned n, bad;
	char seen[2048];
};

static int rdplus_cb(void *arg, const char *name, const struct stat *st, uint64_t next)
{
	struct rdplus *r = arg;
	int i;

	(void)next;
	r->n++;
	if (name[0] == 'f' && sscanf(name + 1, "%d", &i) == 1 && i >= 0 && i < 2048) {
		if (r->seen[i]++ || !st->st_nlink)
			r->bad++; /* twice, or without its attributes */
	}
	return 0;
}

/* Waits up to ms for h to finish: true if it did. */
static bool held_op_finishes(struct held_op *h, unsigned ms)
{
	unsigned t;

	for (t = 0; t < ms && !h->done; t += 10)
		usleep(10 * 1000);
	return h->done;
}

/*
 * One thread's load (an inode-table shard, a directory) waits in the store;
 * meanwhile another thread's operations on an inode already in memory must
 * finish.  With the lock held across the load they waited for it: here the
 * store holds the load until they finish, or for 10 s (not a latency
 * bound: they need milliseconds, and with the lock held across the load
 * they would wait for ever), then lets it go, so that the test fails
 * rather than hangs.
 */
static void test_load_without_lock(void)
{
	struct held_op a = {0}, a2 = {0}, b = {0};
	struct fl_volume *v;
	struct fl_core *c = mount_vol("shardwait", &v, false);
	char name[32], oid[FL_OID_LEN];
	uint64_t first = 0, far = 0, far2 = 0, sub;
	struct stat st;
	pthread_t ta, ta2, tb;
	int i;

	/* files in two inode-table shards, and an empty directory */
	for (i = 0; i < (1 << FL_ITAB_SHARD_BITS) + 8; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		EQ(fl_core_create(c, 1, name, 0600, O_RDWR, &root_cred, &st), 0);
		EQ(fl_core_release(c, st.st_ino), 0);
		if (i == 0)
			first = st.st_ino;
		if (st.st_ino >> FL_ITAB_SHARD_BITS != first >> FL_ITAB_SHARD_BITS) {
			far2 = far;
			far = st.st_ino;
		}
	}
	EQ(fl_core_mkdir(c, 1, "sub", 0700, &root_cred, &st), 0);
	sub = st.st_ino;
	umount_vol(c, v);
	CHECK(far && far2, "no inode outside the root's shard");

	/* a fresh mount has loaded the root's shard and directory only */
	c = mount_vol("shardwait", &v, false);
	fl_oid_itab(oid, far >> FL_ITAB_SHARD_BITS);
	EQ(fl_mem_hold_omap_list(base, oid), 0);
	a = (struct held_op){.c = c, .kind = 0, .ino = far};
	a2 = (struct held_op){.c = c, .kind = 0, .ino = far2};
	b = (struct held_op){.c = c, .kind = 2, .ino = first, .name = "f0"};
	EQ(pthread_create(&ta, NULL, held_op_thread, &a), 0);
	EQ(fl_mem_held_wait(base, 1, 10000), 0); /* a's shard load waits in the store */
	/* a second reader of the same shard waits for a's load, not in the store */
	EQ(pthread_create(&ta2, NULL, held_op_thread, &a2), 0);
	EQ(pthread_create(&tb, NULL, held_op_thread, &b), 0);
	CHECK(held_op_finishes(&b, 10000),
	      "an operation on a loaded inode waited for a shard load");
	CHECK(!a.done && !a2.done, "the held shard load did not wait");
	EQ(fl_mem_hold_omap_list(base, NULL), 0);
	pthread_join(ta, NULL);
	pthread_join(ta2, NULL);
	pthread_join(tb, NULL);
	EQ(a.ret, 0);
	EQ(a2.ret, 0);
	EQ(b.ret, 0);

	/* the same with a directory first reached by rmdir (not by lookup) */
	fl_oid_dir(oid, sub);
	EQ(fl_mem_hold_omap_list(base, oid), 0);
	a = (struct held_op){.c = c, .kind = 1, .name = "sub"};
	b = (struct held_op){.c = c, .kind = 2, .ino = first, .name = "f0"};
	EQ(pthread_create(&ta, NULL, held_op_thread, &a), 0);
	EQ(fl_mem_held_wait(base, 1, 10000), 0);
	EQ(pthread_create(&tb, NULL, held_op_thread, &b), 0);
	CHECK(held_op_finishes(&b, 10000),
	      "an operation on a loaded inode waited for a directory load");
	EQ(fl_mem_hold_omap_list(base, NULL), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	EQ(a.ret, 0);
	EQ(b.ret, 0);
	EQ(fl_core_lookup(c, 1, "sub", &st), -ENOENT);
	EQ(fl_core_getattr(c, far, &st), 0);
	umount_vol(c, v);

	/* readdirplus reaching an unloaded shard midway: every entry once */
	{
		struct rdplus *r = calloc(1, sizeof(*r));

		c = mount_vol("shardwait", &v, false);
		EQ(fl_core_readdir(c, 1, 0, true, rdplus_cb, r), 0);
		EQ(r->n, (1 << FL_ITAB_SHARD_BITS) + 8 + 2);
		EQ(r->bad, 0);
		free(r);
		umount_vol(c, v);
	}
	check_fsck("shardwait", 0);
}

/* ---------- appends whose record flies with their data ---------- */

/* A file "f" of 8 KiB (fsync'd: its orphan mark and record durable), kept
 * open, then `more` bytes appended at 8 KiB and fsync'd; returns its ino. */
static uint64_t append_synced(struct fl_core *c, const char *name, const char *buf, size_t more)
{
	struct stat st;
	uint64_t f;

	EQ(fl_core_create(c, 1, name, 0600, O_RDWR, &root_cred, &st), 0);
	f = st.st_ino;
	EQ(fl_core_write(c, f, 0, buf, 8192), 8192);
	EQ(fl_core_fsync(c, f, false), 0);
	EQ(fl_core_write(c, f, 8192, buf + 8192, more), (long long)more);
	EQ(fl_core_fsync(c, f, false), 0);
	return f;
}

static void check_prefix(struct fl_core *c, uint64_t f, const char *buf, uint64_t size, int line)
{
	static char rd[FL_DEFAULT_BLOCK_SIZE + 65536];
	struct stat st;

	if (fl_core_getattr(c, f, &st) || (uint64_t)st.st_size != size) {
		failed++;
		fprintf(stderr, "FAIL %s:%d: size %lld, want %llu\n", __FILE__, line,
			(long long)st.st_size, (unsigned long long)size);
		return;
	}
	if (fl_core_read(c, f, 0, size, rd) != (ssize_t)size || memcmp(rd, buf, size)) {
		failed++;
		fprintf(stderr, "FAIL %s:%d: content of the first %llu bytes\n", __FILE__, line,
			(unsigned long long)size);
		return;
	}
	passed++;
}

/*
 * The record of an append goes out with its data, not after it, and names
 * the object lengths its size needs.  A crash that loses the data but not
 * the record (the object edited back here) is replayed with the size it
 * had before the append, whichever of its objects is short (all of an
 * append or none of it).  An append whose objects are all there keeps its
 * size.  fsck is clean after
 * each (the trim at mount removes what lies past the size).
 */
static void test_append_record_with_data(void)
{
	static char buf[FL_DEFAULT_BLOCK_SIZE + 65536];
	const uint64_t bs = FL_DEFAULT_BLOCK_SIZE;
	struct fl_volume *v;
	struct fl_core *c;
	char oid[FL_OID_LEN];
	uint64_t f, g, h, k2;
	size_t i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (char)('a' + i % 23);
	c = mount_vol("appdep", &v, false);
	f = append_synced(c, "f", buf, 8192);  /* 16 KiB in object 0 */
	g = append_synced(c, "g", buf, bs);    /* to 4 MiB + 8 KiB: objects 0, 1 */
	h = append_synced(c, "h", buf, bs);    /* the same */
	k2 = append_synced(c, "k", buf, 8192); /* untouched: keeps its size */
	fl_core_abandon(c);
	/* the data ops lost, the records durable */
	fl_oid_data(oid, f, 0);
	EQ(v->st->ops->truncate(v->st, oid, 8192), 0);
	fl_oid_data(oid, g, 1);
	EQ(v->st->ops->remove(v->st, oid), 0);
	fl_oid_data(oid, h, 0);
	EQ(v->st->ops->truncate(v->st, oid, 8192), 0);
	fl_volume_close(v);

	c = mount_vol("appdep", &v, false);
	check_prefix(c, f, buf, 8192, __LINE__);
	check_prefix(c, g, buf, 8192, __LINE__);
	check_prefix(c, h, buf, 8192, __LINE__);
	check_prefix(c, k2, buf, 16384, __LINE__);
	umount_vol(c, v);
	check_fsck("appdep", 0);
	c = mount_vol("appdep", &v, false);
	check_prefix(c, h, buf, 8192, __LINE__); /* and after a clean unmount */
	umount_vol(c, v);
}

/*
 * The object trim of a shrinking truncate fails (its RADOS ops fail, the new
 * size is already durable): the objects keep bytes past the size, and a
 * later extension must not show them.  The truncate reports the error; the
 * file extended again reads zeros past the cut, before and after a remount,
 * and fsck is clean.
 */
static void test_shrink_trim_fails(void)
{
	static char buf[16384], rd[16384], want[16384];
	struct fl_volume *v;
	struct fl_core *c;
	char prefix[FL_OID_LEN];
	struct stat a = {0}, st;
	uint64_t f;

	memset(buf, 'x', sizeof(buf));
	memcpy(want, buf, 4096);
	memset(want + 4096, 0, sizeof(want) - 4096);
	c = mount_vol("trimfail", &v, false);
	EQ(fl_core_create(c, 1, "f", 0600, O_RDWR, &root_cred, &st), 0);
	f = st.st_ino;
	EQ(fl_core_write(c, f, 0, buf, sizeof(buf)), (long long)sizeof(buf));
	EQ(fl_core_fsync(c, f, false), 0);
	snprintf(prefix, sizeof(prefix), "data.%016" PRIx64 ".", f);
	fl_mem_inject_error_on(v->st, EIO, 100, prefix);
	a.st_size = 4096;
	EQ(fl_core_setattr(c, f, &a, FL_SET_SIZE, &st), -EIO);
	fl_mem_inject_error(v->st, 0, 0);
	a.st_size = sizeof(buf);
	EQ(fl_core_setattr(c, f, &a, FL_SET_SIZE, &st), 0);
	EQ(fl_core_read(c, f, 0, sizeof(rd), rd), (long long)sizeof(rd));
	EQ(memcmp(rd, want, sizeof(rd)), 0);
	EQ(fl_core_release(c, f), 0);
	umount_vol(c, v);
	check_fsck("trimfail", 0);
	c = mount_vol("trimfail", &v, false);
	EQ(fl_core_read(c, f, 0, sizeof(rd), rd), (long long)sizeof(rd));
	EQ(memcmp(rd, want, sizeof(rd)), 0);
	umount_vol(c, v);
}

struct unmount_job {
	struct fl_core *c;
	int ret;
	volatile bool done;
};

static void *unmount_thread(void *arg)
{
	struct unmount_job *j = arg;

	j->ret = fl_core_unmount(j->c);
	j->done = true;
	return NULL;
}

/*
 * The store fails (E2BIG, as for a transaction too big, or EIO) from some op
 * of an fsync of an append on: whatever the op, the fsync answers, the
 * unmount ends with the volume's error (a bounded wait: the test fails
 * rather than hangs, 60 s being far more than the milliseconds it needs),
 * and what an fsync acknowledged is there after the next mount.
 */
static void test_commit_errors_end(void)
{
	static char buf[32768];
	const int errs[] = {E2BIG, EIO};
	unsigned e, n, t;

	memset(buf, 'q', sizeof(buf));
	for (e = 0; e < 2; e++)
		for (n = 1; n <= 4; n++) {
			struct unmount_job j = {0};
			struct fl_volume *v;
			struct stat st;
			pthread_t th;
			uint64_t f;
			int r;

			j.c = mount_vol("cmterr", &v, false);
			char name[16];

			snprintf(name, sizeof(name), "f%u.%u", e, n);
			EQ(fl_core_create(j.c, 1, name, 0600, O_RDWR, &root_cred, &st), 0);
			f = st.st_ino;
			EQ(fl_core_write(j.c, f, 0, buf, 8192), 8192);
			EQ(fl_core_fsync(j.c, f, false), 0);
			EQ(fl_core_write(j.c, f, 8192, buf, 8192), 8192);
			fl_mem_inject_error(v->st, errs[e], (int)n);
			r = fl_core_fsync(j.c, f, false);
			EQ(fl_core_release(j.c, f), 0);
			EQ(pthread_create(&th, NULL, unmount_thread, &j), 0);
			for (t = 0; t < 6000 && !j.done; t++)
				usleep(10 * 1000);
			if (!j.done) {
				fprintf(stderr,
					"FAIL %s:%d: unmount after a store error %d (%u ops) "
					"still waits after 60 s\n",
					__FILE__, __LINE__, errs[e], n);
				_exit(1);
			}
			pthread_join(th, NULL);
			fl_mem_inject_error(v->st, 0, 0);
			fl_volume_close(v);
			j.c = mount_vol("cmterr", &v, false);
			EQ(fl_core_getattr(j.c, f, &st), 0);
			if (r == 0) /* acknowledged: never lost */
				CHECK(st.st_size == 16384, "size %lld after an acknowledged fsync",
				      (long long)st.st_size);
			else
				CHECK(st.st_size == 8192 || st.st_size == 16384, "size %lld",
				      (long long)st.st_size);
			umount_vol(j.c, v);
			check_fsck("cmterr", 0);
		}
}

int main(void)
{
	char err[256];
	const char *vols[] = {"ns",	  "data",   "crash",	"rd",	    "grow",	 "purge",
			      "ovl",	  "ra",	    "smallmem", "dmax",	    "sparse",	 "maxsize",
			      "mapcrash", "dsync",  "werr",	"fsckro",   "shardwait", "scatter",
			      "bigrec",	  "appdep", "cmterr",	"trimfail", NULL};
	int i;

	fl_log_init("test_core", getenv("TEST_DEBUG") ? LOG_DEBUG : LOG_WARNING);
	base = fl_mem_open();
	for (i = 0; vols[i]; i++)
		if (fl_volume_create(base, vols[i], 0, 0, err, sizeof(err))) {
			fprintf(stderr, "create %s: %s\n", vols[i], err);
			return 1;
		}
	test_volumes();
	test_expired_lease_fences();
	test_namespace();
	test_data();
	test_crash_replay();
	test_grow_then_crash();
	test_purge_batches();
	test_sparse_cost();
	test_max_size();
	test_limit_sparse();
	test_map_after_crash();
	test_purge_rounds();
	test_scattered_cost();
	test_writeback_big_records();
	test_size_after_overlapping_flush();
	test_readdir_cb_count();
	test_enospc();
	test_werr();
	test_fsck_readonly();
	test_small_file_memory();
	test_dirty_max_is_memory();
	test_readahead();
	test_fdatasync_data_only();
	test_load_without_lock();
	test_append_record_with_data();
	test_commit_errors_end();
	test_shrink_trim_fails();
	fl_store_close(base);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
