/*
 * Unit tests of the filesystem core on the in-memory store: namespace
 * operations, data, persistence across clean unmounts, and journal replay
 * after an abandoned (crashed) mount.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <linux/fs.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs/core/core.h"
#include "flocker/log.h"
#include "flocker/record.h"
#include "flocker/store.h"
#include "fs/volume/fsck.h"
#include "fs/volume/volume.h"

#include "unit_check.h"

#define EQ(a, b)                                                                                   \
	CHECK((long long)(a) == (long long)(b), "got %lld, want %lld", (long long)(a),             \
	      (long long)(b))

static struct fl_store *base;
static const struct fl_cred root_cred = {0, 0};

static struct fl_core *mount_vol_opts(const char *name, struct fl_volume **vp,
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

static struct fl_core *mount_vol_ms(const char *name, struct fl_volume **vp, bool ro,
				    unsigned commit_ms)
{
	struct fl_core_opts o = {.ro = ro, .commit_ms = commit_ms};

	return mount_vol_opts(name, vp, &o);
}

static struct fl_core *mount_vol(const char *name, struct fl_volume **vp, bool ro)
{
	return mount_vol_ms(name, vp, ro, 50);
}

static void umount_vol(struct fl_core *c, struct fl_volume *v)
{
	EQ(fl_core_unmount(c), 0);
	fl_volume_close(v);
}

static void check_fsck_at(const char *name, uint64_t want_damage, int line)
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

#define check_fsck(name, want) check_fsck_at(name, want, __LINE__)

static uint64_t lookup(struct fl_core *c, uint64_t parent, const char *name)
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

static void test_data(void)
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

static void test_crash_replay(void)
{
	struct fl_volume *v;
	struct fl_core *c = mount_vol("crash", &v, false);
	struct stat st;
	uint64_t f, d;
	char rd[16];

	EQ(fl_core_mkdir(c, 1, "dir", 0755, &root_cred, &st), 0);
	d = st.st_ino;
	EQ(fl_core_create(c, d, "synced", 0600, O_RDWR, &root_cred, &st), 0);
	f = st.st_ino;
	EQ(fl_core_write(c, f, 0, "durable!", 8), 8);
	EQ(fl_core_fsync(c, f, false), 0);
	EQ(fl_core_setxattr(c, f, "user.k", "v", 1, 0), 0);
	EQ(fl_core_rename(c, d, "synced", 1, "moved", 0), 0);
	EQ(fl_core_syncfs(c), 0);
	/* open and unlinked at the crash: an orphan to purge at the next mount */
	EQ(fl_core_unlink(c, 1, "moved"), 0);
	EQ(fl_core_syncfs(c), 0);
	EQ(fl_core_create(c, d, "second", 0600, O_RDWR, &root_cred, &st), 0);
	EQ(fl_core_write(c, st.st_ino, 0, "abc", 3), 3);
	EQ(fl_core_fsync(c, st.st_ino, false), 0);
	fl_core_abandon(c);
	fl_volume_close(v); /* releases the lock; the journal is all that remains */

	c = mount_vol("crash", &v, false);
	d = lookup(c, 1, "dir");
	CHECK(d != 0, "dir replayed");
	EQ(lookup(c, 1, "moved"), 0);
	EQ(lookup(c, d, "synced"), 0);
	f = lookup(c, d, "second");
	CHECK(f != 0, "second replayed");
	EQ(fl_core_read(c, f, 0, sizeof(rd), rd), 3);
	CHECK(!memcmp(rd, "abc", 3), "second content");
	umount_vol(c, v);

	/* segments a daemon killed mid-checkpoint left below the tail go at the
	 * next checkpoint */
	c = mount_vol("crash", &v, false);
	{
		uint64_t tail = v->super.jtail, sz;
		char oid[FL_OID_LEN];
		unsigned k;

		CHECK(tail >= 3, "journal tail %" PRIu64, tail);
		for (k = 1; k <= 2 && k <= tail; k++) {
			fl_oid_jrnl(oid, tail - k);
			EQ(v->st->ops->write_full(v->st, oid, "stale", 5), 0);
		}
		EQ(fl_core_mkdir(c, 1, "after", 0755, &root_cred, &st), 0);
		umount_vol(c, v);
		c = mount_vol("crash", &v, false);
		for (k = 1; k <= 2 && k <= tail; k++) {
			fl_oid_jrnl(oid, tail - k);
			EQ(v->st->ops->stat(v->st, oid, &sz), -ENOENT);
		}
		EQ(fl_core_rmdir(c, 1, "after"), 0);
		umount_vol(c, v);
	}

	/* read-only mount sees the same */
	c = mount_vol("crash", &v, true);
	d = lookup(c, 1, "dir");
	CHECK(lookup(c, d, "second") != 0, "ro sees second");
	EQ(fl_core_mkdir(c, 1, "x", 0755, &root_cred, &st), -EROFS);
	EQ(fl_core_unmount(c), 0);
	fl_volume_close(v);
	check_fsck("crash", 0);
}

static void test_readdir_cb_count(void);

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
static void test_size_after_overlapping_flush(void)
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
static unsigned vol_objects(const char *name)
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
 * Unlink, truncate to zero and a hole punched over a 1 TiB sparse file cost
 * the objects that exist (two), not the 262,144 blocks below its size: the
 * store's op count says so.  st_blocks and the volume's usage count the two
 * blocks, and the purge leaves no object behind.
 */
static void test_sparse_cost(void)
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
	EQ(fl_core_unlink(c, 1, "f"), 0);
	EQ(fl_core_release(c, f), 0);
	fl_core_forget(c, f, 1);
	EQ(fl_core_unlink(c, 1, "g"), 0);
	EQ(fl_core_release(c, g), 0);
	fl_core_forget(c, g, 1);
	EQ(fl_core_unlink(c, 1, "h"), 0);
	EQ(fl_core_release(c, h), 0);
	fl_core_forget(c, h, 1);
	umount_vol(c, v);
	ops = fl_mem_op_count(base) - ops;
	/* two deletes, the journal, a checkpoint: far from 262,144 deletes */
	CHECK(ops < 200, "unlink and purge of 1 TiB sparse files: %" PRIu64 " store ops", ops);
	EQ(vol_objects("sparse"), 0);
	check_fsck("sparse", 0);
}

/*
 * A file of 300 scattered pieces, one every 64 MiB (more runs than the 32
 * a map held before superblock version 2): st_blocks counts exactly their
 * blocks, a read of a hole between them asks the store nothing, and the
 * purge after the unlink removes the 300 objects and no more (a map merged
 * at 32 runs named some 4,000 blocks more).
 */
static void test_scattered_cost(void)
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
	EQ(fl_core_unlink(c, 1, "f"), 0);
	fl_core_forget(c, f, 1);
	umount_vol(c, v);
	ops = fl_mem_op_count(base) - ops;
	/* 300 deletes, the journal, a checkpoint */
	CHECK(ops < 300 + 200, "unlink and purge of 300 scattered pieces: %" PRIu64 " store ops",
	      ops);
	EQ(vol_objects("scatter"), 0);
	check_fsck("scatter", 0);
}

/*
 * One write-back of three files whose records hold nearly 1 MiB of xattrs
 * each: their records do not fit one journal transaction (FL_REC_MAX), so
 * the write-back journals them in several, and the volume stays writable.
 */
static void test_writeback_big_records(void)
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
static void test_max_size(void)
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
	EQ(fl_core_unlink(c, 1, "m"), 0);
	fl_core_forget(c, f, 1);
	umount_vol(c, v);
	ops = fl_mem_op_count(base) - ops;
	CHECK(ops < 200, "unlink of a file of size 2^63-1: %" PRIu64 " store ops", ops);
	EQ(vol_objects("maxsize"), 0);
	check_fsck("maxsize", 0);
}

/*
 * The size limit counts blocks that hold data, not sizes: a 1 PB sparse size
 * fits a 16 MiB volume, writes fail with ENOSPC once their blocks do not
 * fit, and an fallocate of a range that could not be written fails at once.
 */
static void test_limit_sparse(void)
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

/*
 * A block written into a hole below a durable size, then a crash before the
 * record naming it is journaled: the mount's listing finds the object and
 * the block map names it again, so a later purge leaves nothing behind.
 */
static void test_map_after_crash(void)
{
	struct fl_volume *v;
	struct fl_core *c = mount_vol_ms("mapcrash", &v, false, 60000);
	struct stat st, a = {0};
	uint64_t f;
	char rd[4];

	EQ(fl_core_create(c, 1, "h", 0600, O_RDWR, &root_cred, &st), 0);
	f = st.st_ino;
	a.st_size = 100 << 20;
	EQ(fl_core_setattr(c, f, &a, FL_SET_SIZE, &st), 0);
	EQ(fl_core_fsync(c, f, false), 0);
	EQ(fl_core_write(c, f, 50 << 20, "hole", 4), 4);
	usleep(2500 * 1000); /* the flusher writes it back (age 1 s) */
	fl_core_abandon(c);
	fl_volume_close(v);
	/* the object is outside the durable map (the record that maps it waits
	 * for the 60 s commit) but the file is on the orphan list: not damage,
	 * work the next mount does */
	check_fsck("mapcrash", 0);

	c = mount_vol("mapcrash", &v, false);
	f = lookup(c, 1, "h");
	EQ(fl_core_getattr(c, f, &st), 0);
	EQ(st.st_size, 100 << 20);
	EQ(fl_core_read(c, f, 50 << 20, 4, rd), 4);
	if (st.st_blocks) /* the write reached RADOS before the crash */
		CHECK(!memcmp(rd, "hole", 4), "data lost");
	umount_vol(c, v);
	check_fsck("mapcrash", 0);
	c = mount_vol("mapcrash", &v, false);
	EQ(fl_core_unlink(c, 1, "h"), 0);
	fl_core_forget(c, f, 1);
	umount_vol(c, v);
	EQ(vol_objects("mapcrash"), 0);
	check_fsck("mapcrash", 0);
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
static void test_purge_rounds(void)
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

	c = mount_vol("rounds", &v, false);
	EQ(fl_core_unlink(c, 1, "many"), 0);
	fl_core_forget(c, f, 1);
	umount_vol(c, v);
	EQ(vol_objects("rounds"), 0);
	check_fsck("rounds", 0);
}

/* Unlinked files are purged in batches: none of their data objects remain,
 * some still open at the unlink go when closed, and the volume checks clean. */
static void test_purge_batches(void)
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

/*
 * A file grown by truncate, then written below its new size: the flusher
 * must not send that data before the grown size is durable, or a crash in
 * between leaves bytes past the end of the file with no orphan mark to trim
 * them (a later extension would show them instead of zeros).  commit_ms is
 * long, so only what the write-back itself waits for reaches the journal.
 */
static void test_grow_then_crash(void)
{
	struct fl_volume *v;
	struct fl_core *c = mount_vol_ms("grow", &v, false, 60000);
	struct stat st, a = {0};
	char buf[3000], rd[16];
	uint64_t f;

	memset(buf, 'b', sizeof(buf));
	EQ(fl_core_create(c, 1, "g", 0600, O_RDWR, &root_cred, &st), 0);
	f = st.st_ino;
	EQ(fl_core_write(c, f, 0, buf, 100), 100);
	EQ(fl_core_fsync(c, f, false), 0);
	a.st_size = 100000;
	EQ(fl_core_setattr(c, f, &a, FL_SET_SIZE, &st), 0);
	EQ(fl_core_write(c, f, 70000, buf, sizeof(buf)), (long long)sizeof(buf));
	usleep(2500 * 1000); /* the flusher writes it back (age 1 s) */
	fl_core_abandon(c);
	fl_volume_close(v);

	c = mount_vol("grow", &v, false);
	f = lookup(c, 1, "g");
	EQ(fl_core_getattr(c, f, &st), 0);
	CHECK(st.st_size == 100 || st.st_size == 100000, "size %lld", (long long)st.st_size);
	if (st.st_size == 100) {
		/* extending again must show zeros where the lost write was */
		a.st_size = 80000;
		EQ(fl_core_setattr(c, f, &a, FL_SET_SIZE, &st), 0);
		EQ(fl_core_read(c, f, 70000, sizeof(rd), rd), (long long)sizeof(rd));
		CHECK(rd[0] == 0 && rd[15] == 0, "stale bytes %02x past the old end",
		      (unsigned char)rd[0]);
	}
	umount_vol(c, v);
	check_fsck("grow", 0);
}

struct rd {
	int n;
	char names[64][32];
	uint64_t offs[64];
};

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

/* A digest of every object of a volume's namespace: names, bytes, omaps. */
struct ns_digest {
	struct fl_store *st;
	uint64_t h;
	unsigned objects;
};

static void fnv(uint64_t *h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		*h = (*h ^ *b++) * 1099511628211ull;
}

static int digest_kv(void *arg, const char *key, const void *val, size_t len)
{
	uint64_t *h = arg;

	fnv(h, key, strlen(key) + 1);
	fnv(h, val, len);
	return 0;
}

static int digest_obj(void *arg, const char *oid)
{
	struct ns_digest *d = arg;
	uint64_t size = 0;
	char *buf;
	bool more;

	d->objects++;
	fnv(&d->h, oid, strlen(oid) + 1);
	if (d->st->ops->stat(d->st, oid, &size) == 0 && (buf = malloc(size + 1))) {
		ssize_t n = size ? d->st->ops->read(d->st, oid, 0, size, buf) : 0;

		fnv(&d->h, &size, sizeof(size));
		if (n > 0)
			fnv(&d->h, buf, (size_t)n);
		free(buf);
	}
	d->st->ops->omap_list(d->st, oid, NULL, UINT32_MAX, digest_kv, &d->h, &more);
	return 0;
}

static uint64_t ns_digest(const char *name, unsigned *objects)
{
	struct ns_digest d = {NULL, 14695981039346656037ull, 0};
	struct fl_volume *v;
	char err[256];

	if (fl_volume_open(base, name, &v, err, sizeof(err))) {
		fprintf(stderr, "open %s: %s\n", name, err);
		exit(1);
	}
	d.st = v->st;
	v->st->ops->list_objects(v->st, NULL, digest_obj, &d);
	fl_volume_close(v);
	*objects = d.objects;
	return d.h;
}

/* fsck without --repair writes nothing: on a volume whose writer died with
 * a journal to replay and a file unlinked while open, it replays in memory,
 * finds no damage, counts the orphan the next mount purges, and leaves every
 * object as it was; --repair then applies it all. */
static void test_fsck_readonly(void)
{
	struct fl_fsck_opts ro = {0}, rw = {.repair = true};
	struct fl_fsck_report r;
	struct fl_volume *v;
	struct fl_core *c = mount_vol("fsckro", &v, false);
	struct stat st;
	uint64_t d, f, h1, h2;
	unsigned n1, n2;
	char err[256] = "", buf[5000];

	memset(buf, 'r', sizeof(buf));
	EQ(fl_core_mkdir(c, 1, "dir", 0755, &root_cred, &st), 0);
	d = st.st_ino;
	EQ(fl_core_create(c, d, "kept", 0600, O_RDWR, &root_cred, &st), 0);
	EQ(fl_core_write(c, st.st_ino, 0, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	EQ(fl_core_fsync(c, st.st_ino, false), 0);
	EQ(fl_core_release(c, st.st_ino), 0);
	EQ(fl_core_create(c, 1, "open", 0600, O_RDWR, &root_cred, &st), 0);
	f = st.st_ino;
	EQ(fl_core_write(c, f, 0, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	EQ(fl_core_fsync(c, f, false), 0);
	EQ(fl_core_unlink(c, 1, "open"), 0); /* still open at the crash */
	EQ(fl_core_rename(c, d, "kept", 1, "moved", 0), 0);
	EQ(fl_core_mkdir(c, d, "sub", 0755, &root_cred, &st), 0);
	EQ(fl_core_syncfs(c), 0);
	fl_core_abandon(c);
	fl_volume_close(v); /* the journal and the orphan list are all that remain */

	h1 = ns_digest("fsckro", &n1);
	EQ(fl_fsck(base, "fsckro", &ro, &r, err, sizeof(err)), 0);
	EQ(r.damage, 0);
	CHECK(r.read_only, "read_only not set");
	CHECK(r.journal_replayed > 0, "journal_replayed %" PRIu64, r.journal_replayed);
	EQ(r.orphans_pending, 1);
	EQ(r.data_pending, 1);
	EQ(r.directories, 3);
	h2 = ns_digest("fsckro", &n2);
	EQ(n2, n1);
	CHECK(h1 == h2, "fsck without --repair changed the volume's objects");

	EQ(fl_fsck(base, "fsckro", &rw, &r, err, sizeof(err)), 0);
	EQ(r.damage, 0);
	h2 = ns_digest("fsckro", &n2);
	CHECK(h1 != h2, "fsck --repair did not apply the journal");
	EQ(fl_fsck(base, "fsckro", &ro, &r, err, sizeof(err)), 0);
	EQ(r.damage, 0);
	EQ(r.orphans_pending, 0);
	EQ(r.journal_replayed, 0);

	/* a live writer: refused, and nothing taken */
	c = mount_vol("fsckro", &v, false);
	EQ(fl_fsck(base, "fsckro", &ro, &r, err, sizeof(err)), -EBUSY);
	CHECK(strstr(err, "held read-write") != NULL, "err: %s", err);
	EQ(fl_core_lookup(c, 1, "moved", &st), 0);
	umount_vol(c, v);
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
static void test_werr(void)
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
static void test_small_file_memory(void)
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
static void test_dirty_max_is_memory(void)
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

static void test_volumes(void)
{
	char err[256] = "";
	struct fl_volume *v, *v2;

	EQ(fl_volume_create(base, "bad/name", 0, 0, err, sizeof(err)), -EINVAL);
	EQ(fl_volume_create(base, "dup", 0, 0, err, sizeof(err)), 0);
	EQ(fl_volume_create(base, "dup", 0, 0, err, sizeof(err)), -EEXIST);
	CHECK(strstr(err, "exists") != NULL, "%s", err);
	EQ(fl_volume_open(base, "nope", &v, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "no such volume") != NULL, "%s", err);
	EQ(fl_volume_open(base, "dup", &v, err, sizeof(err)), 0);
	EQ(fl_volume_open(base, "dup", &v2, err, sizeof(err)), 0);
	EQ(fl_volume_lock(v, 30, false, err, sizeof(err)), 0);
	/* same host, live pid (ours): refused, and the message names the holder */
	EQ(fl_volume_lock(v2, 30, false, err, sizeof(err)), -EBUSY);
	CHECK(strstr(err, "held read-write by host") != NULL, "%s", err);
	EQ(fl_volume_remove(base, "dup", err, sizeof(err)), -EBUSY);
	fl_volume_close(v2);
	fl_volume_close(v);
	EQ(fl_volume_remove(base, "dup", err, sizeof(err)), 0);
	EQ(fl_volume_open(base, "dup", &v, err, sizeof(err)), -ENOENT);
}

static int count_cb(void *arg, const char *key, const void *val, size_t len)
{
	(void)key;
	(void)val;
	(void)len;
	++*(int *)arg;
	return 0;
}

static int count_writer_records(struct fl_volume *v)
{
	const char *keys[1] = {"writer"};
	int n = 0, ret = v->st->ops->omap_get(v->st, FL_OID_SUPER, keys, 1, count_cb, &n);

	return ret ? ret : n;
}

/* A writer whose lease ran out is fenced by the next one even though the lock
 * itself no longer names it; a writer that released cleanly is not. */
static void test_expired_lease_fences(void)
{
	struct fl_volume *v, *v2, *v3;
	char err[256], buf[8];

	EQ(fl_volume_create(base, "lease", 0, 0, err, sizeof(err)), 0);
	EQ(fl_volume_open(base, "lease", &v, err, sizeof(err)), 0);
	EQ(fl_volume_open(base, "lease", &v2, err, sizeof(err)), 0);
	EQ(fl_volume_lock(v, 1, false, err, sizeof(err)), 0);
	usleep(1300 * 1000); /* v is "frozen" past its lease */
	EQ(fl_volume_lock(v2, 30, false, err, sizeof(err)), 0);
	/* v woke up: every op of its client now fails as a blocklisted one */
	EQ(v->st->ops->write(v->st, "data.0000000000000002.00000000", 0, "x", 1), -ESHUTDOWN);
	EQ(fl_volume_renew(v), -ESHUTDOWN);
	v->locked = false; /* it cannot release anything any more */
	fl_volume_close(v);
	EQ(fl_volume_open(base, "lease", &v3, err, sizeof(err)), 0);
	EQ(count_writer_records(v3), 1);
	fl_volume_close(v2); /* clean: the writer record goes, nobody fences v2 */
	EQ(count_writer_records(v3), 0);
	EQ(fl_volume_lock(v3, 30, false, err, sizeof(err)), 0);
	EQ(count_writer_records(v3), 1);
	CHECK(v3->st->ops->read(v3->st, FL_OID_SUPER, 0, sizeof(buf), buf) > 0, "%s",
	      "the new writer cannot read its superblock");
	fl_volume_close(v3);
	/* removing a volume whose writer's lease ran out fences that writer */
	EQ(fl_volume_open(base, "lease", &v, err, sizeof(err)), 0);
	EQ(fl_volume_lock(v, 1, false, err, sizeof(err)), 0);
	usleep(1300 * 1000);
	EQ(fl_volume_remove(base, "lease", err, sizeof(err)), 0);
	EQ(v->st->ops->write(v->st, "data.0000000000000002.00000000", 0, "x", 1), -ESHUTDOWN);
	v->locked = false;
	fl_volume_close(v);
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

static void test_readahead(void)
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

struct jsum {
	struct fl_store *st;
	uint64_t bytes;
};

static int jsum_cb(void *arg, const char *oid)
{
	struct jsum *j = arg;
	uint64_t sz = 0;

	if (!j->st->ops->stat(j->st, oid, &sz))
		j->bytes += sz;
	return 0;
}

/* Bytes in the volume's journal segments: grows only by a journal append. */
static uint64_t journal_bytes(struct fl_volume *v)
{
	struct jsum j = {v->st, 0};

	EQ(v->st->ops->list_objects(v->st, "jrnl.", jsum_cb, &j), 0);
	return j.bytes;
}

/* fdatasync of an overwrite inside the durable size writes the data object
 * and appends nothing to the journal (the times the kernel sets before it
 * ride with a later record); one that grows the file, or an fsync, appends
 * the record; after a crash the data and the durable size are there. */
static void test_fdatasync_data_only(void)
{
	struct fl_volume *v;
	struct fl_core *c = mount_vol_ms("dsync", &v, false, 60000);
	struct stat st, a = {0};
	char buf[8192], rd[8192], oid[FL_OID_LEN];
	uint64_t f, g, h, j0, j1;
	int i;

	memset(buf, 'p', sizeof(buf));
	EQ(fl_core_create(c, 1, "wal", 0600, O_RDWR, &root_cred, &st), 0);
	f = st.st_ino;
	for (i = 0; i < 8; i++)
		EQ(fl_core_write(c, f, (uint64_t)i * sizeof(buf), buf, sizeof(buf)),
		   (long long)sizeof(buf));
	EQ(fl_core_fsync(c, f, false), 0);
	j0 = journal_bytes(v);
	CHECK(j0 > 0, "journal empty after fsync");

	/* overwrite + the kernel's mtime/ctime + fdatasync: data only */
	for (i = 0; i < 3; i++) {
		memset(buf, 'a' + i, sizeof(buf));
		EQ(fl_core_write(c, f, 8192 * (uint64_t)(i + 1), buf, sizeof(buf)),
		   (long long)sizeof(buf));
		a.st_mtim.tv_sec = a.st_ctim.tv_sec = 1000 + i;
		EQ(fl_core_setattr(c, f, &a, FL_SET_MTIME | FL_SET_CTIME, &st), 0);
		EQ(fl_core_fsync(c, f, true), 0);
	}
	j1 = journal_bytes(v);
	EQ(j1, j0);
	fl_oid_data(oid, f, 0);
	EQ(v->st->ops->read(v->st, oid, 3 * 8192, sizeof(rd), rd), (long long)sizeof(rd));
	CHECK(rd[0] == 'c' && rd[8191] == 'c', "data object holds %02x, want 'c'",
	      (unsigned char)rd[0]);

	/* growing: the size record is journaled before fdatasync returns */
	EQ(fl_core_write(c, f, 65536, buf, 100), 100);
	EQ(fl_core_fsync(c, f, true), 0);
	j1 = journal_bytes(v);
	CHECK(j1 > j0, "no journal append for a grown file's fdatasync (%llu bytes)",
	      (unsigned long long)j1);

	/* a rename before it: fdatasync waits for the name, so that the file
	 * it acknowledges is found where the program last put it */
	EQ(fl_core_create(c, 1, "seg", 0600, O_RDWR, &root_cred, &st), 0);
	g = st.st_ino;
	EQ(fl_core_write(c, g, 0, buf, sizeof(buf)), (long long)sizeof(buf));
	EQ(fl_core_fsync(c, g, false), 0);
	EQ(fl_core_rename(c, 1, "seg", 1, "seg2", 0), 0);
	j1 = journal_bytes(v);
	EQ(fl_core_write(c, g, 0, buf, 100), 100);
	EQ(fl_core_fsync(c, g, true), 0);
	CHECK(journal_bytes(v) > j1, "fdatasync after a rename left the rename in memory");
	j1 = journal_bytes(v);

	/* a rename of a parent directory before it: the file keeps its path */
	{
		uint64_t d;

		EQ(fl_core_mkdir(c, 1, "pg", 0700, &root_cred, &st), 0);
		d = st.st_ino;
		EQ(fl_core_create(c, d, "xlog", 0600, O_RDWR, &root_cred, &st), 0);
		h = st.st_ino;
		EQ(fl_core_write(c, h, 0, buf, sizeof(buf)), (long long)sizeof(buf));
		EQ(fl_core_fsync(c, h, false), 0);
		j1 = journal_bytes(v);
		EQ(fl_core_rename(c, 1, "pg", 1, "pg.moved", 0), 0);
		EQ(fl_core_write(c, h, 0, buf, 100), 100); /* an overwrite: data only */
		EQ(fl_core_fsync(c, h, true), 0);
		CHECK(journal_bytes(v) > j1,
		      "fdatasync after a rename of the file's parent left the rename in memory");
	}
	j1 = journal_bytes(v);

	/* fsync makes the times durable too */
	a.st_mtim.tv_sec = a.st_ctim.tv_sec = 5000;
	EQ(fl_core_setattr(c, f, &a, FL_SET_MTIME | FL_SET_CTIME, &st), 0);
	EQ(fl_core_fsync(c, f, false), 0);
	CHECK(journal_bytes(v) > j1, "no journal append for fsync after a times change");
	memset(buf, 'z', sizeof(buf));
	EQ(fl_core_write(c, f, 0, buf, sizeof(buf)), (long long)sizeof(buf));
	EQ(fl_core_fsync(c, f, true), 0);
	fl_core_abandon(c);
	fl_volume_close(v);

	c = mount_vol("dsync", &v, false);
	f = lookup(c, 1, "wal");
	EQ(fl_core_getattr(c, f, &st), 0);
	EQ(st.st_size, 65536 + 100);
	CHECK(st.st_mtim.tv_sec >= 5000, "mtime %lld: the fsync before did not make it durable",
	      (long long)st.st_mtim.tv_sec);
	EQ(fl_core_read(c, f, 0, sizeof(rd), rd), (long long)sizeof(rd));
	CHECK(rd[0] == 'z' && rd[8191] == 'z', "fdatasynced bytes lost: %02x",
	      (unsigned char)rd[0]);
	EQ(fl_core_read(c, f, 3 * 8192, sizeof(rd), rd), (long long)sizeof(rd));
	CHECK(rd[0] == 'c', "fdatasynced bytes lost at 24K: %02x", (unsigned char)rd[0]);
	CHECK(lookup(c, 1, "seg2") != 0 && lookup(c, 1, "seg") == 0,
	      "the rename before an fdatasync is lost");
	h = lookup(c, 1, "pg.moved");
	CHECK(h != 0 && lookup(c, h, "xlog") != 0 && lookup(c, 1, "pg") == 0,
	      "the rename of the parent before an fdatasync is lost: the file left its path");
	umount_vol(c, v);
	check_fsck("dsync", 0);
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
	const char *vols[] = {"ns",	  "data",   "crash",	"rd",	  "grow",      "purge",
			      "ovl",	  "ra",	    "smallmem", "dmax",	  "sparse",    "maxsize",
			      "mapcrash", "dsync",  "werr",	"fsckro", "shardwait", "scatter",
			      "bigrec",	  "appdep", "cmterr",	NULL};
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
	fl_store_close(base);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
