/*
 * Unit tests of the journal (fs/core/journal.c): replay after a crash, fdatasync on the in-memory
 * store (program test_core, main in test_core.c).
 */
#include "test_core.h"

void test_crash_replay(void)
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

/*
 * A block written into a hole below a durable size, then a crash before the
 * record naming it is journaled: the mount's listing finds the object and
 * the block map names it again, so a later purge leaves nothing behind.
 */
void test_map_after_crash(void)
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
	remount_unlink_check_empty("mapcrash", "h", f);
}

/*
 * A file grown by truncate, then written below its new size: the flusher
 * must not send that data before the grown size is durable, or a crash in
 * between leaves bytes past the end of the file with no orphan mark to trim
 * them (a later extension would show them instead of zeros).  commit_ms is
 * long, so only what the write-back itself waits for reaches the journal.
 */
void test_grow_then_crash(void)
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
void test_fdatasync_data_only(void)
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
