/*
 * Unit tests of file data (fs/core/data.c, fs/core/readahead.c): writes, sparse
 * and scattered files, limits, purge, write-back errors, memory on the in-memory store (program
 * test_core, main in test_core.c).
 */
#include "test_core.h"

void test_data(void)
{
	struct fl_volume *v;
	struct fl_core *c = mount_vol("data", &v, false);
	struct stat st;
	uint64_t f;
	char *buf = malloc(9 << 20), *rd = malloc(9 << 20);
	size_t i;

	for (i = 0; i < (9u << 20); i++)
		buf[i] = (char)(i * 7 + 3);
	EQ(fl_core_create(c, 1, "big", 0644, O_RDWR, &root_cred, &st), 0);
	f = st.st_ino;
	/* 9 MiB in 1 MiB pieces across three 4 MiB blocks, plus overlapping rewrites */
	for (i = 0; i < 9; i++)
		EQ(fl_core_write(c, f, i << 20, buf + (i << 20), 1 << 20), 1 << 20);
	EQ(fl_core_write(c, f, 4000000, buf + 4000000, 500000), 500000);
	EQ(fl_core_fsync(c, f, false), 0);
	memset(rd, 0, 9 << 20);
	EQ(fl_core_read(c, f, 0, 9 << 20, rd), 9 << 20);
	CHECK(!memcmp(rd, buf, 9 << 20), "9 MiB read back");
	/* hole far away */
	EQ(fl_core_write(c, f, 5ULL << 30, "x", 1), 1);
	EQ(fl_core_getattr(c, f, &st), 0);
	EQ(st.st_size, (5LL << 30) + 1);
	EQ(fl_core_read(c, f, (5ULL << 30) - 10, 11, rd), 11);
	CHECK(!memcmp(rd, "\0\0\0\0\0\0\0\0\0\0x", 11), "hole then x");
	/* shrink then grow: the old bytes are gone */
	{
		struct stat a = {.st_size = 100};

		EQ(fl_core_setattr(c, f, &a, FL_SET_SIZE, &st), 0);
		a.st_size = 5000;
		EQ(fl_core_setattr(c, f, &a, FL_SET_SIZE, &st), 0);
		EQ(fl_core_read(c, f, 0, 5000, rd), 5000);
		CHECK(!memcmp(rd, buf, 100), "first 100 kept");
		for (i = 100; i < 5000 && rd[i] == 0; i++)
			;
		EQ(i, 5000);
	}
	/* punch a hole */
	EQ(fl_core_write(c, f, 0, buf, 8192), 8192);
	EQ(fl_core_fallocate(c, f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1000, 2000), 0);
	EQ(fl_core_read(c, f, 0, 8192, rd), 8192);
	CHECK(!memcmp(rd, buf, 1000) && !memcmp(rd + 3000, buf + 3000, 5192), "around the hole");
	for (i = 1000; i < 3000 && rd[i] == 0; i++)
		;
	EQ(i, 3000);
	/* dirty bytes cut by a truncate and split by a punch, then written
	 * back: the dirty memory count comes back to nothing */
	EQ(fl_core_write(c, f, 0, buf, 3 << 20), 3 << 20);
	EQ(fl_core_fallocate(c, f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096,
			     (2 << 20) - 4096),
	   0);
	{
		struct stat a = {.st_size = 1 << 20};

		EQ(fl_core_setattr(c, f, &a, FL_SET_SIZE, &st), 0);
	}
	EQ(fl_core_write(c, f, 100, buf, 5000), 5000);
	EQ(fl_core_syncfs(c), 0);
	EQ(fl_core_dirty_mem(c), 0);
	{
		struct stat a = {.st_size = 8192};

		EQ(fl_core_setattr(c, f, &a, FL_SET_SIZE, &st), 0);
	}
	EQ(fl_core_write(c, f, 0, buf, 8192), 8192); /* as it was: 8 KiB, the hole punched */
	EQ(fl_core_fallocate(c, f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1000, 2000), 0);
	EQ(fl_core_release(c, f), 0);
	umount_vol(c, v);

	c = mount_vol("data", &v, false);
	f = lookup(c, 1, "big");
	EQ(fl_core_getattr(c, f, &st), 0);
	EQ(st.st_size, 8192);
	EQ(fl_core_read(c, f, 0, 9000, rd), 8192);
	CHECK(!memcmp(rd, buf, 1000) && !memcmp(rd + 3000, buf + 3000, 5192), "after remount");
	/* open(O_TRUNC) truncates, durably */
	EQ(fl_core_open(c, f, O_RDWR | O_TRUNC), 0);
	EQ(fl_core_getattr(c, f, &st), 0);
	EQ(st.st_size, 0);
	EQ(fl_core_release(c, f), 0);
	umount_vol(c, v);
	c = mount_vol("data", &v, false);
	f = lookup(c, 1, "big");
	EQ(fl_core_getattr(c, f, &st), 0);
	EQ(st.st_size, 0);
	umount_vol(c, v);
	free(buf);
	free(rd);
	check_fsck("data", 0);
}

struct fsync_arg {
	struct fl_core *c;
	uint64_t ino;
	int ret;
};

static void *fsync_thread(void *arg)
{
	struct fsync_arg *a = arg;

	a->ret = fl_core_fsync(a->c, a->ino, false);
	return NULL;
}

/*
 * A write lands while a write-back of the same file is in flight; that
 * write-back journals the size it wrote, and the next fsync writes the rest:
 * its new size must reach the journal before fsync returns, even though the
 * first write-back already journaled "the size changed by writes".
 */
void test_size_after_overlapping_flush(void)
{
	struct fl_volume *v;
	struct fl_core *c = mount_vol_ms("ovl", &v, false, 60000);
	struct fsync_arg a = {.c = c};
	char buf[4000];
	struct stat st;
	pthread_t th;

	memset(buf, 'o', sizeof(buf));
	EQ(fl_core_create(c, 1, "o", 0600, O_RDWR, &root_cred, &st), 0);
	a.ino = st.st_ino;
	EQ(fl_core_write(c, a.ino, 0, buf, 3000), 3000);
	fl_mem_delay_batches(base, 300 * 1000);
	EQ(pthread_create(&th, NULL, fsync_thread, &a), 0);
	usleep(100 * 1000); /* the write-back of 3000 bytes is in flight */
	EQ(fl_core_write(c, a.ino, 3000, buf, 1000), 1000);
	pthread_join(th, NULL);
	EQ(a.ret, 0);
	fl_mem_delay_batches(base, 0);
	EQ(fl_core_fsync(c, a.ino, false), 0);
	fl_core_abandon(c);
	fl_volume_close(v);

	c = mount_vol("ovl", &v, false);
	EQ(fl_core_getattr(c, lookup(c, 1, "o"), &st), 0);
	EQ(st.st_size, 4000);
	umount_vol(c, v);
	check_fsck("ovl", 0);
}

static int count_objs_cb(void *arg, const char *oid)
{
	(void)oid;
	(*(unsigned *)arg)++;
	return 0;
}

/* Data objects of volume name (after an unmount). */
unsigned vol_objects(const char *name)
{
	struct fl_volume *v2;
	unsigned n = 0;
	char err[256];

	EQ(fl_volume_open(base, name, &v2, err, sizeof(err)), 0);
	EQ(v2->st->ops->list_objects(v2->st, "data.", count_objs_cb, &n), 0);
	fl_volume_close(v2);
	return n;
}

/* The superblock's version as the volume's store holds it. */
static uint32_t vol_super_version(const char *name)
{
	struct fl_volume *v2;
	struct fl_super_rec sb = {0};
	char err[256];

	EQ(fl_volume_open(base, name, &v2, err, sizeof(err)), 0);
	EQ(fl_volume_read_super(v2->st, &sb), 0);
	fl_volume_close(v2);
	return sb.version;
}

#define TIB (1ull << 40)

/* A sparse file of size 1 TiB with data in its first and last block. */
static uint64_t sparse_file(struct fl_core *c, const char *name)
{
	struct stat st;

	EQ(fl_core_create(c, 1, name, 0600, O_RDWR, &root_cred, &st), 0);
	EQ(fl_core_write(c, st.st_ino, 0, "first", 5), 5);
	EQ(fl_core_write(c, st.st_ino, TIB - 4, "last", 4), 4);
	EQ(fl_core_fsync(c, st.st_ino, false), 0);
	return st.st_ino;
}

/*
 * Unmounts volume name after its files were unlinked: the unlinks and the
 * purge cost fewer than max_ops store ops since ops0, no data object is
 * left and fsck finds nothing.
 */
static void check_purged(struct fl_core *c, struct fl_volume *v, const char *name, uint64_t ops0,
			 uint64_t max_ops, const char *what)
{
	uint64_t ops;

	umount_vol(c, v);
	ops = fl_mem_op_count(base) - ops0;
	CHECK(ops < max_ops, "unlink and purge of %s: %" PRIu64 " store ops", what, ops);
	check_empty(name);
}

/*
 * Unlink, truncate to zero and a hole punched over a 1 TiB sparse file cost
 * the objects that exist (two), not the 262,144 blocks below its size: the
 * store's op count says so.  st_blocks and the volume's usage count the two
 * blocks, and the purge leaves no object behind.
 */
void test_sparse_cost(void)
{
	struct fl_volume *v;
	struct fl_core *c = mount_vol("sparse", &v, false);
	struct stat st, a = {0};
	uint64_t f, g, h, used, inodes, ops;
	char rd[8];

	f = sparse_file(c, "f");
	EQ(fl_core_getattr(c, f, &st), 0);
	EQ(st.st_size, TIB);
	EQ(st.st_blocks, 2 * (4 << 20) / 512); /* two 4 MiB blocks, not 1 TiB */
	fl_core_usage(c, &used, &inodes);
	EQ(used, 2 * (4 << 20));
	EQ(fl_core_read(c, f, TIB - 4, 8, rd), 4);
	CHECK(!memcmp(rd, "last", 4), "last block lost");

	/* truncate to zero: the two objects, and the record */
	g = sparse_file(c, "g");
	ops = fl_mem_op_count(base);
	a.st_size = 0;
	EQ(fl_core_setattr(c, g, &a, FL_SET_SIZE, &st), 0);
	ops = fl_mem_op_count(base) - ops;
	CHECK(ops < 20, "truncate to 0 of a 1 TiB sparse file: %" PRIu64 " store ops", ops);
	EQ(st.st_blocks, 0);

	/* a 1 TiB hole: the two objects */
	h = sparse_file(c, "h");
	ops = fl_mem_op_count(base);
	EQ(fl_core_fallocate(c, h, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, TIB), 0);
	ops = fl_mem_op_count(base) - ops;
	CHECK(ops < 20, "a 1 TiB hole in a sparse file: %" PRIu64 " store ops", ops);
	EQ(fl_core_getattr(c, h, &st), 0);
	EQ(st.st_size, TIB);
	EQ(st.st_blocks, 0);
	EQ(fl_core_read(c, h, TIB - 4, 4, rd), 4);
	CHECK(!memcmp(rd, "\0\0\0\0", 4), "the hole reads as data");

	/* unlink: the purge (by the commit thread, then the unmount) */
	EQ(fl_core_syncfs(c), 0);
	ops = fl_mem_op_count(base);
	unlink_forget(c, "f", f, true);
	unlink_forget(c, "g", g, true);
	unlink_forget(c, "h", h, true);
	/* two deletes, the journal, a checkpoint: far from 262,144 deletes */
	check_purged(c, v, "sparse", ops, 200, "1 TiB sparse files");
}

/*
 * A file of 300 scattered pieces, one every 64 MiB (more runs than the 32
 * a map held before superblock version 2): st_blocks counts exactly their
 * blocks, a read of a hole between them asks the store nothing, and the
 * purge after the unlink removes the 300 objects and no more (a map merged
 * at 32 runs named some 4,000 blocks more).
 */
void test_scattered_cost(void)
{
	struct fl_volume *v;
	struct fl_core *c = mount_vol("scatter", &v, false);
	struct stat st;
	uint64_t f, ops;
	char rd[4096], zero[4096] = {0};
	unsigned i;

	EQ(fl_core_create(c, 1, "f", 0600, O_RDWR, &root_cred, &st), 0);
	f = st.st_ino;
	for (i = 0; i < 300; i++)
		EQ(fl_core_write(c, f, (uint64_t)i << 26, "piece", 5), 5);
	EQ(fl_core_fsync(c, f, false), 0);
	EQ(fl_core_getattr(c, f, &st), 0);
	EQ(st.st_blocks, (299ull * (4 << 20) + 4096) / 512); /* the last block: one page */
	ops = fl_mem_op_count(base);
	EQ(fl_core_read(c, f, 8 << 20, sizeof(rd), rd), sizeof(rd));
	EQ(fl_mem_op_count(base) - ops, 0); /* a hole the map knows of */
	CHECK(!memcmp(rd, zero, sizeof(rd)), "a hole reads as data");
	EQ(fl_core_read(c, f, 7ull << 26, 5, rd), 5);
	CHECK(!memcmp(rd, "piece", 5), "piece 7 lost");
	EQ(fl_core_release(c, f), 0);
	umount_vol(c, v);
	EQ(vol_super_version("scatter"), FL_SUPER_VERSION);
	check_fsck("scatter", 0);

	c = mount_vol("scatter", &v, false);
	ops = fl_mem_op_count(base);
	unlink_forget(c, "f", f, false);
	/* 300 deletes, the journal, a checkpoint */
	check_purged(c, v, "scatter", ops, 300 + 200, "300 scattered pieces");
}

/*
 * One write-back of three files whose records hold nearly 1 MiB of xattrs
 * each: their records do not fit one journal transaction (FL_REC_MAX), so
 * the write-back journals them in several, and the volume stays writable.
 */
void test_writeback_big_records(void)
{
	struct fl_volume *v;
	struct fl_core *c = mount_vol("bigrec", &v, false);
	static char val[FL_XATTR_VAL_MAX];
	uint64_t f[3];
	struct stat st;
	char name[32];
	unsigned i, k;

	memset(val, 'x', sizeof(val));
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "big%u", i);
		EQ(fl_core_create(c, 1, name, 0600, O_RDWR, &root_cred, &st), 0);
		f[i] = st.st_ino;
		for (k = 0; k < 14; k++) { /* 14 x 64 KiB: 896 KiB */
			snprintf(name, sizeof(name), "user.v%u", k);
			EQ(fl_core_setxattr(c, f[i], name, val, sizeof(val), 0), 0);
		}
	}
	EQ(fl_core_syncfs(c), 0);
	for (i = 0; i < 3; i++)
		EQ(fl_core_write(c, f[i], 0, "data", 4), 4);
	EQ(fl_core_syncfs(c), 0); /* one write-back of the three */
	EQ(fl_core_write(c, f[0], 4, "more", 4), 4);
	EQ(fl_core_syncfs(c), 0);
	for (i = 0; i < 3; i++)
		EQ(fl_core_release(c, f[i]), 0);
	umount_vol(c, v);
	c = mount_vol("bigrec", &v, false);
	EQ(fl_core_getattr(c, f[0], &st), 0);
	EQ(st.st_size, 8);
	EQ(fl_core_getattr(c, f[2], &st), 0);
	EQ(st.st_size, 4);
	umount_vol(c, v);
	check_fsck("bigrec", 0);
}

/*
 * Writes and sizes near the largest file size (2^63 - 1, the kernel's for
 * FUSE): a write reaching past it is cut short, one starting at it gets
 * EFBIG, as do a truncate and an fallocate past it; the record survives a
 * remount, fsck is clean, and the purge costs the one object.
 */
void test_max_size(void)
{
	const uint64_t max = INT64_MAX;
	struct fl_volume *v;
	struct fl_core *c = mount_vol("maxsize", &v, false);
	struct stat st, a = {0};
	uint64_t f, ops;
	char rd[4];

	EQ(fl_core_create(c, 1, "m", 0600, O_RDWR, &root_cred, &st), 0);
	f = st.st_ino;
	EQ(fl_core_write(c, f, max - 2, "abcd", 4), 2);
	EQ(fl_core_write(c, f, max, "x", 1), -EFBIG);
	EQ(fl_core_write(c, f, max + 10, "x", 1), -EFBIG);
	EQ(fl_core_write(c, f, UINT64_MAX - 1, "xy", 2), -EFBIG);
	a.st_size = (off_t)max; /* the largest size itself is fine */
	EQ(fl_core_setattr(c, f, &a, FL_SET_SIZE, &st), 0);
	EQ(fl_core_fallocate(c, f, 0, max - 1, 2), -EFBIG);
	EQ(fl_core_fallocate(c, f, 0, UINT64_MAX - 1, 2), -EFBIG);
	EQ(fl_core_getattr(c, f, &st), 0);
	EQ(st.st_size, (long long)max);
	EQ(st.st_blocks, (4 << 20) / 512); /* the one block that holds data */
	EQ(fl_core_fsync(c, f, false), 0);
	EQ(fl_core_release(c, f), 0);
	fl_core_forget(c, f, 1);
	umount_vol(c, v);

	c = mount_vol("maxsize", &v, false);
	f = lookup(c, 1, "m");
	EQ(fl_core_getattr(c, f, &st), 0);
	EQ(st.st_size, (long long)max);
	EQ(fl_core_read(c, f, max - 2, 4, rd), 2);
	CHECK(rd[0] == 'a' && rd[1] == 'b', "bytes at the end lost");
	ops = fl_mem_op_count(base);
	unlink_forget(c, "m", f, false);
	check_purged(c, v, "maxsize", ops, 200, "a file of size 2^63-1");
}

/*
 * The size limit counts blocks that hold data, not sizes: a 1 PB sparse size
 * fits a 16 MiB volume, writes fail with ENOSPC once their blocks do not
 * fit, and an fallocate of a range that could not be written fails at once.
 */
void test_limit_sparse(void)
{
	struct fl_volume *v;
	struct fl_core *c;
	struct stat st, a = {0};
	struct statvfs sv;
	char err[256], *buf = calloc(1, 1 << 20);
	uint64_t f, used, inodes;
	int i;

	EQ(fl_volume_create(base, "limited", 16 << 20, 0, err, sizeof(err)), 0);
	c = mount_vol("limited", &v, false);
	EQ(fl_core_create(c, 1, "s", 0644, O_RDWR, &root_cred, &st), 0);
	f = st.st_ino;
	a.st_size = 999999999999999LL;
	EQ(fl_core_setattr(c, f, &a, FL_SET_SIZE, &st), 0);
	fl_core_usage(c, &used, &inodes);
	EQ(used, 0);
	EQ(fl_core_statfs(c, &sv), 0);
	EQ(sv.f_bfree, (16 << 20) / 4096);
	/* four 4 MiB blocks far apart fill it (each counts whole) */
	for (i = 0; i < 4; i++)
		EQ(fl_core_write(c, f, (uint64_t)i * TIB, buf, 4096), 4096);
	EQ(fl_core_write(c, f, 5 * TIB, buf, 4096), -ENOSPC);
	/* within blocks that hold data there is room */
	EQ(fl_core_write(c, f, 4096, buf, 1 << 20), 1 << 20);
	EQ(fl_core_fallocate(c, f, 0, 7 * TIB, 1 << 20), -ENOSPC);
	EQ(fl_core_fallocate(c, f, 0, 0, 1 << 20), 0);
	EQ(fl_core_statfs(c, &sv), 0);
	EQ(sv.f_bfree, 0);
	EQ(fl_core_fsync(c, f, false), 0);
	fl_core_usage(c, &used, &inodes);
	EQ(used, 16 << 20);
	EQ(fl_core_release(c, f), 0);
	fl_core_forget(c, f, 1);
	umount_vol(c, v);
	{
		struct fl_volume *v2;

		EQ(fl_volume_open(base, "limited", &v2, err, sizeof(err)), 0);
		EQ(v2->super.used_bytes, 16 << 20); /* what volume inspect shows */
		fl_volume_close(v2);
	}
	check_fsck("limited", 0);
	free(buf);
}

#define BS64K 65536ull

/* more runs than a block map keeps */
#define SCATTER_RUNS (FL_BMAP_MAX + 60)

/*
 * A file of many objects (64 KiB blocks) with more separate runs than a
 * block map keeps (they merge): fsck finds every object inside the map, a
 * truncate and a punch remove what they should, and the purge, over several
 * rounds of 1,024 objects, leaves nothing behind.
 */
void test_purge_rounds(void)
{
	struct fl_volume *v;
	struct fl_core *c;
	struct stat st, a = {0};
	char err[256], buf[16];
	uint64_t f, i;
	unsigned before;

	EQ(fl_volume_create(base, "rounds", 0, 65536, err, sizeof(err)), 0);
	c = mount_vol("rounds", &v, false);
	memset(buf, 'r', sizeof(buf));
	EQ(fl_core_create(c, 1, "many", 0600, O_RDWR, &root_cred, &st), 0);
	f = st.st_ino;
	for (i = 0; i < 2500; i++) /* one run of 2,500 objects */
		EQ(fl_core_write(c, f, i * BS64K, buf, 10), 10);
	for (i = 0; i + 1 < FL_BMAP_MAX_V1; i++) /* with the run above: what version 1 holds */
		EQ(fl_core_write(c, f, (3000 + 7 * i) * BS64K, buf, 10), 10);
	EQ(fl_core_fsync(c, f, false), 0);
	EQ(fl_core_syncfs(c), 0);
	EQ(vol_super_version("rounds"), 1);
	for (i = 0; i < SCATTER_RUNS; i++) /* runs of one, 7 blocks apart: merged */
		EQ(fl_core_write(c, f, (3000 + 7 * i) * BS64K, buf, 10), 10);
	EQ(fl_core_fsync(c, f, false), 0);
	EQ(fl_core_release(c, f), 0);
	umount_vol(c, v);
	check_fsck("rounds", 0);
	before = vol_objects("rounds");
	EQ(before, 2500 + SCATTER_RUNS);
	/* a map of more runs than version 1 allows: the superblock says 2 */
	EQ(vol_super_version("rounds"), FL_SUPER_VERSION);

	c = mount_vol("rounds", &v, false);
	EQ(fl_core_open(c, f, O_RDWR), 0);
	/* keeps half the runs, cuts the next one */
	a.st_size = (3000 + 7 * (SCATTER_RUNS / 2)) * BS64K + 5;
	EQ(fl_core_setattr(c, f, &a, FL_SET_SIZE, &st), 0);
	EQ(fl_core_fallocate(c, f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100 * BS64K,
			     200 * BS64K + 10),
	   0);
	EQ(fl_core_release(c, f), 0);
	umount_vol(c, v);
	check_fsck("rounds", 0);
	EQ(vol_objects("rounds"), 2500 - 200 + SCATTER_RUNS / 2 + 1);

	remount_unlink_check_empty("rounds", "many", f);
}

/* Unlinked files are purged in batches: none of their data objects remain,
 * some still open at the unlink go when closed, and the volume checks clean. */
void test_purge_batches(void)
{
	struct fl_volume *v;
	struct fl_core *c = mount_vol("purge", &v, false);
	uint64_t inos[700];
	unsigned i, nobj = 0;
	char name[16];
	struct stat st;

	for (i = 0; i < 700; i++) {
		snprintf(name, sizeof(name), "p%u", i);
		EQ(fl_core_create(c, 1, name, 0600, O_RDWR, &root_cred, &st), 0);
		inos[i] = st.st_ino;
		EQ(fl_core_write(c, inos[i], 0, name, strlen(name)), (long long)strlen(name));
		if (i % 7 == 0) /* a file of two objects (4 MiB blocks) */
			EQ(fl_core_write(c, inos[i], 5u << 20, "x", 1), 1);
	}
	EQ(fl_core_syncfs(c), 0);
	for (i = 0; i < 700; i++) {
		snprintf(name, sizeof(name), "p%u", i);
		EQ(fl_core_unlink(c, 1, name), 0);
		if (i >= 10) { /* the kernel forgets the others; the first 10 stay open */
			fl_core_release(c, inos[i]);
			fl_core_forget(c, inos[i], 1);
		}
	}
	EQ(fl_core_syncfs(c), 0);
	for (i = 0; i < 10; i++) {
		fl_core_release(c, inos[i]);
		fl_core_forget(c, inos[i], 1);
	}
	umount_vol(c, v);
	{
		struct fl_volume *v2;
		char err[256];

		EQ(fl_volume_open(base, "purge", &v2, err, sizeof(err)), 0);
		EQ(v2->st->ops->list_objects(v2->st, "data.", count_objs_cb, &nobj), 0);
		EQ(nobj, 0);
		fl_volume_close(v2);
	}
	check_fsck("purge", 0);
}

/* fsync through an open handle, as the FUSE adapter does it. */
static int fsync_fh(struct fl_core *c, uint64_t ino, uint64_t *seen)
{
	int ret = fl_core_fsync(c, ino, false);
	int r = fl_core_werr_check(c, ino, seen);

	return ret ? ret : r;
}

/* Waits until the flusher has written back everything (dirty data 1 s old). */
static void wait_written_back(struct fl_core *c)
{
	int i;

	for (i = 0; i < 200 && fl_core_dirty_mem(c); i++)
		usleep(50000);
	EQ(fl_core_dirty_mem(c), 0);
}

/* Writes n bytes at 0 of a new file, fsynced: later writes below n need no
 * journal record before their data, so the data write is the next store op. */
static uint64_t werr_file(struct fl_core *c, const char *name, const char *buf, size_t n)
{
	struct stat st;

	EQ(fl_core_create(c, 1, name, 0644, O_RDWR, &root_cred, &st), 0);
	EQ(fl_core_write(c, st.st_ino, 0, buf, n), (ssize_t)n);
	EQ(fl_core_fsync(c, st.st_ino, false), 0);
	return st.st_ino;
}

/* Write-back errors reach the file they belong to, as Linux's errseq: every
 * open handle is told once; an error already reported, or of a file since
 * removed, fails no later fsync or syncfs (the unmount helper's flush). */
void test_werr(void)
{
	struct fl_volume *v;
	struct fl_core *c;
	char buf[8192];
	uint64_t f, g, h, k, sa, sb, sc, sd;

	memset(buf, 'w', sizeof(buf));
	c = mount_vol("werr", &v, false);
	f = werr_file(c, "f", buf, sizeof(buf));
	sa = fl_core_werr_sample(c, f);
	EQ(fl_core_open(c, f, O_RDWR), 0);
	sb = fl_core_werr_sample(c, f);
	EQ(fl_core_write(c, f, 0, buf, 4096), 4096);
	fl_mem_inject_error(v->st, ENOSPC, 1);
	EQ(fsync_fh(c, f, &sa), -ENOSPC); /* the write-back of this fsync */
	EQ(fsync_fh(c, f, &sa), 0);	  /* told once */
	EQ(fsync_fh(c, f, &sb), -ENOSPC); /* the other open file is told too */
	EQ(fsync_fh(c, f, &sb), 0);
	sc = fl_core_werr_sample(c, f); /* opened after it was reported */
	EQ(fsync_fh(c, f, &sc), 0);
	EQ(fl_core_syncfs(c), 0); /* reported to its writer: not the volume's */
	EQ(fl_core_fsync(c, f, false), 0);

	/* a background write-back fails and the file is removed unreported */
	g = werr_file(c, "g", buf, sizeof(buf));
	EQ(fl_core_write(c, g, 0, buf, 100), 100);
	fl_mem_inject_error(v->st, EIO, 1);
	wait_written_back(c);
	EQ(fl_core_release(c, g), 0);
	EQ(fl_core_unlink(c, 1, "g"), 0);
	fl_core_forget(c, g, 1);
	EQ(fl_core_syncfs(c), 0); /* the file is gone, and its error with it */

	/* unreported, on a file that lives: the next opener is told, once */
	h = werr_file(c, "h", buf, sizeof(buf));
	EQ(fl_core_release(c, h), 0);
	EQ(fl_core_open(c, h, O_RDWR), 0);
	EQ(fl_core_write(c, h, 0, buf, 100), 100);
	EQ(fl_core_release(c, h), 0);
	fl_mem_inject_error(v->st, EIO, 1);
	wait_written_back(c);
	EQ(fl_core_open(c, h, O_RDWR), 0);
	sd = fl_core_werr_sample(c, h);
	EQ(fsync_fh(c, h, &sd), -EIO);
	EQ(fsync_fh(c, h, &sd), 0);
	EQ(fl_core_syncfs(c), 0);
	EQ(fl_core_release(c, h), 0);

	/* ... or the volume's flush, once, when no handle asked */
	k = werr_file(c, "k", buf, sizeof(buf));
	EQ(fl_core_write(c, k, 0, buf, 100), 100);
	fl_mem_inject_error(v->st, EIO, 1);
	wait_written_back(c);
	EQ(fl_core_syncfs(c), -EIO);
	EQ(fl_core_syncfs(c), 0);
	EQ(fl_core_fsync(c, k, false), 0);
	EQ(fl_core_release(c, k), 0);
	EQ(fl_core_release(c, f), 0);
	EQ(fl_core_release(c, f), 0);
	umount_vol(c, v);
	check_fsck("werr", 0);
}

/* Bytes the allocator has handed out, over all arenas (0 where malloc is not
 * glibc's, as under AddressSanitizer). */
static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* Small files written whole in one request each, as an untar does, must cost
 * about their size while dirty: a buffer the size of a block for each held
 * 4 MiB per file (peak RSS 294 MiB in the bench's untar). */
void test_small_file_memory(void)
{
	enum { NFILES = 32, FSIZE = 256 << 10 };
	struct fl_volume *v;
	struct fl_core *c = mount_vol("smallmem", &v, false);
	char *buf = malloc(FSIZE), name[32];
	uint64_t ino[NFILES];
	size_t before, after;
	struct stat st;
	int i;

	memset(buf, 'u', FSIZE);
	before = heap_in_use();
	for (i = 0; i < NFILES; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		EQ(fl_core_create(c, 1, name, 0644, O_RDWR, &root_cred, &st), 0);
		ino[i] = st.st_ino;
		EQ(fl_core_write(c, ino[i], 0, buf, FSIZE), FSIZE);
	}
	after = heap_in_use();
	if (!before && !after) {
		printf("test_small_file_memory: skipped, the allocator reports no figures "
		       "(sanitizer build)\n");
	} else {
		/* the data once dirty, once more if already copied into the
		 * in-memory store, plus metadata */
		CHECK(after - before < 3u * NFILES * FSIZE, "%zu KiB allocated for %d KiB written",
		      (after - before) >> 10, NFILES * FSIZE >> 10);
	}
	for (i = 0; i < NFILES; i++)
		EQ(fl_core_release(c, ino[i]), 0);
	EQ(fl_core_syncfs(c), 0);
	EQ(fl_core_dirty_mem(c), 0); /* the accounting came back to nothing */
	umount_vol(c, v);
	free(buf);
	check_fsck("smallmem", 0);
}

/* dirty_max bounds memory, not just the bytes written: files of 1 MiB, each
 * written in one request (which gets a buffer for the whole 4 MiB block),
 * must not hold four times dirty_max.  The in-memory store keeps what was
 * written back: at most all of it. */
void test_dirty_max_is_memory(void)
{
	enum { NFILES = 40, FSIZE = 1 << 20, DMAX = 16 << 20 };
	struct fl_core_opts o = {.commit_ms = 50, .dirty_max = DMAX};
	struct fl_volume *v;
	struct fl_core *c;
	char *buf = malloc(FSIZE), name[32];
	size_t before, peak = 0, now;
	uint64_t dmem, dmem_peak = 0;
	struct stat st;
	int i;

	memset(buf, 'm', FSIZE);
	c = mount_vol_opts("dmax", &v, &o);
	before = heap_in_use();
	for (i = 0; i < NFILES; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		EQ(fl_core_create(c, 1, name, 0644, O_RDWR, &root_cred, &st), 0);
		EQ(fl_core_write(c, st.st_ino, 0, buf, FSIZE), FSIZE);
		EQ(fl_core_release(c, st.st_ino), 0);
		now = heap_in_use();
		if (now > peak)
			peak = now;
		dmem = fl_core_dirty_mem(c);
		if (dmem > dmem_peak)
			dmem_peak = dmem;
	}
	/* one write may pass the limit by a block */
	CHECK(dmem_peak <= DMAX + (4u << 20), "dirty memory %" PRIu64 " KiB", dmem_peak >> 10);
	if (before || peak)
		CHECK(peak - before <= (size_t)NFILES * FSIZE + DMAX + (8u << 20),
		      "heap grew by %zu KiB for %d KiB written, dirty_max %d KiB",
		      (peak - before) >> 10, NFILES * FSIZE >> 10, DMAX >> 10);
	else
		printf("test_dirty_max_is_memory: heap check skipped, the allocator reports no "
		       "figures (sanitizer build)\n");
	EQ(fl_core_syncfs(c), 0);
	EQ(fl_core_dirty_mem(c), 0);
	umount_vol(c, v);
	free(buf);
	check_fsck("dmax", 0);
}

/* ---------- object readahead (fs/core/readahead.c) ---------- */

#define RA_MIB	 (1u << 20)
#define RA_FILE	 40u /* MiB: ten 4 MiB objects */
#define RA_GENS	 6u
#define RA_READS 4u

/* Reads 1 MiB pieces first..end-1 of the file in requests as the kernel would, each
 * through fl_core_read_ref; checks every byte against want (NULL: each
 * piece uniform, a generation written).  Returns the requests answered in
 * place. */
static unsigned ra_pass(struct fl_core *c, uint64_t f, const char *want, unsigned first,
			unsigned end, unsigned step)
{
	char *buf = malloc(RA_MIB);
	unsigned i, inplace = 0;

	for (i = first; i < end; i += step) {
		const void *data;
		void *ref;
		ssize_t n = fl_core_read_ref(c, f, (uint64_t)i * RA_MIB, RA_MIB, buf, &data, &ref);
		const unsigned char *d = data;
		size_t k;

		EQ(n, RA_MIB);
		if (n != RA_MIB) {
			fl_core_read_put(c, ref);
			break;
		}
		if (ref)
			inplace++;
		if (want) {
			CHECK(!memcmp(data, want + (size_t)i * RA_MIB, RA_MIB), "piece %u", i);
		} else {
			for (k = 1; k < RA_MIB && d[k] == d[0]; k++)
				;
			CHECK(k == RA_MIB && d[0] <= RA_GENS, "piece %u uniform (%u, byte %zu)", i,
			      d[0], k);
		}
		fl_core_read_put(c, ref);
	}
	free(buf);
	return inplace;
}

struct ra_arg {
	struct fl_core *c;
	uint64_t f;
	unsigned first;
};

static void *ra_reader(void *arg)
{
	struct ra_arg *a = arg;
	unsigned g;

	for (g = 0; g < 3 * RA_GENS; g++)
		ra_pass(a->c, a->f, NULL, a->first, RA_FILE, RA_READS);
	return NULL;
}

void test_readahead(void)
{
	struct fl_volume *v;
	struct fl_core *c = mount_vol("ra", &v, false);
	char *img = malloc((size_t)RA_FILE * RA_MIB);
	pthread_t th[RA_READS];
	struct ra_arg args[RA_READS];
	struct stat st;
	unsigned i, g;
	uint64_t f;

	for (i = 0; i < RA_FILE * RA_MIB; i++)
		img[i] = (char)(i * 13 + i / 4096);
	EQ(fl_core_create(c, 1, "seq", 0644, O_RDWR, &root_cred, &st), 0);
	f = st.st_ino;
	for (i = 0; i < RA_FILE; i++)
		EQ(fl_core_write(c, f, (uint64_t)i * RA_MIB, img + (size_t)i * RA_MIB, RA_MIB),
		   RA_MIB);
	EQ(fl_core_fsync(c, f, false), 0);
	/* a sequential reader is soon answered from whole objects read ahead */
	i = ra_pass(c, f, img, 0, RA_FILE, 1);
	CHECK(i >= RA_FILE - 8, "%u of %u requests answered in place", i, RA_FILE);
	/* dirty data over a block read ahead: its requests are copied and overlaid */
	memset(img + 21 * RA_MIB + 5, 'd', 3000);
	EQ(fl_core_write(c, f, 21 * RA_MIB + 5, img + 21 * RA_MIB + 5, 3000), 3000);
	ra_pass(c, f, img, 0, RA_FILE, 1);
	/* written back: the objects changed, what was read ahead is dropped */
	EQ(fl_core_fsync(c, f, false), 0);
	ra_pass(c, f, img, 0, RA_FILE, 1);
	/* objects read ahead, not yet asked for, change under the reader: the
	 * reads in flight are not used (repeated: a read in flight may be served
	 * when sent or later) */
	for (g = 0; g < 24; g++) {
		EQ(fl_core_release(c, f), 0); /* drops what was read ahead */
		EQ(fl_core_open(c, f, O_RDWR), 0);
		ra_pass(c, f, img, 0, 16, 1); /* objects 0-3 asked for, 4-5 read ahead */
		for (i = 16; i < 28; i++) {
			memset(img + i * RA_MIB + 7 * g, 'a' + (int)g, 100);
			EQ(fl_core_write(c, f, i * RA_MIB + 7 * g, img + i * RA_MIB + 7 * g, 100),
			   100);
		}
		EQ(fl_core_fsync(c, f, false), 0);
		ra_pass(c, f, img, 16, RA_FILE, 1);
	}
	/* a request answered in place keeps what it had while the file changes */
	{
		char *buf = malloc(RA_MIB), *copy = malloc(RA_MIB);
		const void *data;
		void *ref;

		ra_pass(c, f, img, 0, 12, 1); /* a new sequential run */
		EQ(fl_core_read_ref(c, f, 12 * RA_MIB, RA_MIB, buf, &data, &ref), RA_MIB);
		CHECK(ref != NULL, "13th request in place");
		memcpy(copy, data, RA_MIB);
		EQ(fl_core_write(c, f, 12 * RA_MIB, "zzzz", 4), 4);
		EQ(fl_core_fsync(c, f, false), 0);
		CHECK(!memcmp(data, copy, RA_MIB), "pinned bytes unchanged");
		fl_core_read_put(c, ref);
		memcpy(img + 12 * RA_MIB, "zzzz", 4);
		ra_pass(c, f, img, 0, RA_FILE, 1);
		free(buf);
		free(copy);
	}
	/* shrink and grow: the bytes past the cut read as zeros */
	{
		struct stat a = {.st_size = 10 * RA_MIB + 3};

		EQ(fl_core_setattr(c, f, &a, FL_SET_SIZE, &st), 0);
		a.st_size = RA_FILE * RA_MIB;
		EQ(fl_core_setattr(c, f, &a, FL_SET_SIZE, &st), 0);
		memset(img + 10 * RA_MIB + 3, 0, (RA_FILE - 10) * RA_MIB - 3);
		ra_pass(c, f, img, 0, RA_FILE, 1);
		EQ(fl_core_fsync(c, f, false), 0);
		ra_pass(c, f, img, 0, RA_FILE, 1);
	}
	/* readers in parallel (as the kernel's readahead requests) while a writer
	 * rewrites the file in whole generations: every 1 MiB piece read is one
	 * generation, never a mix */
	for (i = 0; i < RA_FILE; i++) {
		memset(img, 0, RA_MIB);
		EQ(fl_core_write(c, f, (uint64_t)i * RA_MIB, img, RA_MIB), RA_MIB);
	}
	EQ(fl_core_fsync(c, f, false), 0);
	for (i = 0; i < RA_READS; i++) {
		args[i] = (struct ra_arg){c, f, i};
		pthread_create(&th[i], NULL, ra_reader, &args[i]);
	}
	for (g = 1; g <= RA_GENS; g++) {
		memset(img, (int)g, RA_MIB);
		for (i = 0; i < RA_FILE; i++)
			EQ(fl_core_write(c, f, (uint64_t)i * RA_MIB, img, RA_MIB), RA_MIB);
		if (g % 2)
			EQ(fl_core_fsync(c, f, false), 0);
	}
	for (i = 0; i < RA_READS; i++)
		pthread_join(th[i], NULL);
	EQ(fl_core_release(c, f), 0);
	umount_vol(c, v);
	free(img);
	check_fsck("ra", 0);
}
