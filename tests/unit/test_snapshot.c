/*
 * flockerfs — snapshots on the mem store (fs/volume/snapshot.c,
 * fs/core/freeze.c, the model in fs/store/store_mem_snap.c):
 *   - an unmounted volume: snapshot, churn, the snapshot reads as before
 *     (core mounted read-only at it, fsck clean), list, remove, clones refuse;
 *   - a live read-write core under a write load: everything acknowledged
 *     before the snapshot (fdatasync'd or only written) is in it, nothing
 *     acknowledged after it returned; the appended log at the snapshot is a
 *     whole prefix of what the writer wrote.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flocker/log.h"
#include "flocker/record.h"
#include "flocker/store.h"
#include "fs/core/core.h"
#include "fs/core/core_int.h"
#include "fs/volume/fsck.h"
#include "fs/volume/snapshot.h"
#include "fs/volume/volume.h"
#include "tests/check.h"

static struct fl_store *base;
static const struct fl_cred root_cred = {0, 0};

static struct fl_core *mount_at(const char *vol, const char *snap, bool ro, struct fl_volume **vp)
{
	struct fl_core_opts o = {.ro = ro, .commit_ms = 50};
	struct fl_core *c = NULL;
	char err[512] = "";

	if (fl_volume_open(base, vol, vp, err, sizeof(err)) ||
	    (snap && fl_snap_open_at(*vp, snap, err, sizeof(err))) ||
	    (!ro && fl_volume_lock(*vp, 30, false, err, sizeof(err))) ||
	    fl_core_mount(*vp, &o, &c, err, sizeof(err))) {
		fprintf(stderr, "mount %s@%s: %s\n", vol, snap ? snap : "", err);
		exit(1);
	}
	return c;
}

static void umount_at(struct fl_core *c, struct fl_volume *v)
{
	CHECK_EQ(fl_core_unmount(c), 0);
	fl_volume_close(v);
}

static uint64_t put_file(struct fl_core *c, const char *name, const void *buf, size_t len)
{
	struct stat st;
	int r = fl_core_create(c, 1, name, 0644, O_RDWR, &root_cred, &st);

	if (r == -EEXIST) {
		struct stat a = {.st_size = 0};

		CHECK_EQ(fl_core_lookup(c, 1, name, &st), 0);
		CHECK_EQ(fl_core_setattr(c, st.st_ino, &a, FL_SET_SIZE, &st), 0);
	} else {
		CHECK_EQ(r, 0);
	}
	CHECK_EQ(fl_core_write(c, st.st_ino, 0, buf, len), (ssize_t)len);
	return st.st_ino;
}

/* The file's bytes (malloc'd, *len), or NULL when there is no such file. */
static char *get_file(struct fl_core *c, const char *name, size_t *len)
{
	struct stat st;
	char *buf;

	if (fl_core_lookup(c, 1, name, &st))
		return NULL;
	buf = malloc((size_t)st.st_size + 1);
	for (off_t off = 0; off < st.st_size;) {
		ssize_t n = fl_core_read(c, st.st_ino, (uint64_t)off, (size_t)(st.st_size - off),
					 buf + off);

		if (n <= 0) {
			CHECK(!"short read");
			break;
		}
		off += n;
	}
	buf[st.st_size] = '\0';
	*len = (size_t)st.st_size;
	return buf;
}

static bool file_is(struct fl_core *c, const char *name, const char *want)
{
	size_t len;
	char *got = get_file(c, name, &len);
	bool ok = got && len == strlen(want) && !memcmp(got, want, len);

	if (!ok)
		fprintf(stderr, "%s is \"%s\", expected \"%s\"\n", name, got ? got : "(none)",
			want);
	free(got);
	return ok;
}

static void check_fsck_clean(const char *name)
{
	struct fl_fsck_opts o = {0};
	struct fl_fsck_report r;
	char err[512] = "";
	int ret = fl_fsck(base, name, &o, &r, err, sizeof(err));

	if (ret || r.damage)
		fprintf(stderr, "fsck %s: %d (%s), damage %" PRIu64 ": %s\n", name, ret, err,
			r.damage, r.first_problem);
	CHECK(ret == 0 && r.damage == 0);
}

static int count_cb(void *arg, const char *name, const struct fl_snap_rec *r)
{
	(void)name;
	CHECK(r->id > 0 && r->state == FL_SNAP_OK);
	(*(int *)arg)++;
	return 0;
}

static void test_unmounted(void)
{
	struct fl_snap_result res, res2;
	struct fl_volume *v;
	struct fl_core *c;
	struct fl_snap_rec r;
	struct fl_kv child = {"s1/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "", 0};
	char err[512] = "";
	int n = 0;

	CHECK_EQ(fl_volume_create(base, "cold", 0, 65536, err, sizeof(err)), 0);
	c = mount_at("cold", NULL, false, &v);
	put_file(c, "a", "one", 3);
	put_file(c, "gone", "gone", 4);
	umount_at(c, v);

	CHECK_EQ(fl_snap_create(base, "cold", "bad/name", NULL, &res, err, sizeof(err)), -EINVAL);
	CHECK_EQ(fl_snap_create(base, "cold", "s1", NULL, &res, err, sizeof(err)), 0);
	CHECK(!res.by_writer && res.rec.id > 0);
	CHECK_EQ(fl_snap_create(base, "cold", "s1", NULL, &res2, err, sizeof(err)), -EEXIST);
	CHECK(strstr(err, "already exists") != NULL);

	/* churn: the head changes, the snapshot does not */
	c = mount_at("cold", NULL, false, &v);
	put_file(c, "a", "two, longer", 11);
	put_file(c, "b", "new", 3);
	CHECK_EQ(fl_core_unlink(c, 1, "gone"), 0);
	umount_at(c, v);

	c = mount_at("cold", "s1", true, &v);
	CHECK(file_is(c, "a", "one"));
	CHECK(file_is(c, "gone", "gone"));
	CHECK(!get_file(c, "b", &(size_t){0}));
	CHECK_EQ(fl_core_write(c, 1, 0, "x", 1), -EROFS);
	umount_at(c, v);
	c = mount_at("cold", NULL, true, &v);
	CHECK(file_is(c, "a", "two, longer"));
	CHECK(file_is(c, "b", "new"));
	umount_at(c, v);
	check_fsck_clean("cold@s1");
	check_fsck_clean("cold");

	CHECK_EQ(fl_snap_list(base, "cold", count_cb, &n, err, sizeof(err)), 0);
	CHECK_EQ(n, 1);
	/* a clone reads from it: refused */
	CHECK_EQ(fl_volume_open(base, "cold", &v, err, sizeof(err)), 0);
	CHECK_EQ(v->st->ops->omap_update(v->st, FL_OID_CHILDREN, &child, 1, NULL, 0, NULL, 0), 0);
	CHECK_EQ(fl_snap_remove(base, "cold", "s1", err, sizeof(err)), -EBUSY);
	CHECK(strstr(err, "0f1e2d3c") != NULL);
	CHECK_EQ(v->st->ops->omap_update(v->st, FL_OID_CHILDREN, NULL, 0,
					 (const char *const[]){child.key}, 1, NULL, 0),
		 0);
	fl_volume_close(v);
	CHECK_EQ(fl_snap_remove(base, "cold", "s1", err, sizeof(err)), 0);
	CHECK_EQ(fl_snap_remove(base, "cold", "s1", err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "no such snapshot: cold@s1") != NULL);
	CHECK_EQ(fl_volume_open(base, "cold", &v, err, sizeof(err)), 0);
	CHECK_EQ(fl_snap_lookup(v, "s1", &r), -ENOENT);
	CHECK_EQ(fl_snap_open_at(v, "s1", err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "no such snapshot") != NULL);
	fl_volume_close(v);
	n = 0;
	CHECK_EQ(fl_snap_list(base, "cold", count_cb, &n, err, sizeof(err)), 0);
	CHECK_EQ(n, 0);
	check_fsck_clean("cold");

	/* rollback: refused while mounted read-write; then the volume as it was */
	{
		uint64_t nobj = 0;

		CHECK_EQ(fl_snap_create(base, "cold", "r1", NULL, &res, err, sizeof(err)), 0);
		c = mount_at("cold", NULL, false, &v);
		put_file(c, "a", "three", 5);
		put_file(c, "c", "made after r1", 13);
		CHECK_EQ(fl_core_unlink(c, 1, "b"), 0);
		CHECK_EQ(fl_snap_rollback(base, "cold", "r1", &nobj, err, sizeof(err)), -EBUSY);
		CHECK(strstr(err, "held read-write by host") != NULL);
		umount_at(c, v);
		CHECK_EQ(fl_snap_create(base, "cold", "r2", NULL, &res, err, sizeof(err)), 0);
		CHECK_EQ(fl_snap_rollback(base, "cold", "nope", &nobj, err, sizeof(err)), -ENOENT);
		CHECK_EQ(fl_snap_rollback(base, "cold", "r1", &nobj, err, sizeof(err)), 0);
		CHECK(nobj > 0);
		c = mount_at("cold", NULL, false, &v);
		CHECK(file_is(c, "a", "two, longer"));
		CHECK(file_is(c, "b", "new"));
		CHECK(!get_file(c, "c", &(size_t){0}));
		put_file(c, "d", "after the rollback", 18);
		umount_at(c, v);
		check_fsck_clean("cold");
		/* the snapshot taken after r1 stays */
		c = mount_at("cold", "r2", true, &v);
		CHECK(file_is(c, "a", "three"));
		CHECK(file_is(c, "c", "made after r1"));
		umount_at(c, v);
		check_fsck_clean("cold@r2");
	}

	/* a removed volume takes its snapshots along */
	CHECK_EQ(fl_snap_create(base, "cold", "s2", NULL, &res, err, sizeof(err)), 0);
	CHECK_EQ(fl_volume_remove(base, "cold", err, sizeof(err)), 0);
}

/* --- a live core under a write load --- */

#define REC 512

struct loader {
	struct fl_core *c;
	uint64_t ino;
	uint64_t acked; /* records acknowledged; atomic */
	bool stop;	/* atomic */
};

static void rec_fill(char *buf, uint64_t i)
{
	memset(buf, (int)('a' + i % 26), REC);
	snprintf(buf, REC, "record %020" PRIu64 "|", i);
}

static void *load_thread(void *arg)
{
	struct loader *l = arg;
	char buf[REC];

	for (uint64_t i = 0; !__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE); i++) {
		rec_fill(buf, i);
		if (fl_core_write(l->c, l->ino, i * REC, buf, REC) != REC)
			break;
		__atomic_store_n(&l->acked, i + 1, __ATOMIC_RELEASE);
		/* a steady writer, not one that outruns every flush (the mem store
		 * takes no time) */
		usleep(20);
	}
	return NULL;
}

static void test_live(void)
{
	struct fl_freeze_stats stats;
	struct fl_volume *v;
	struct fl_core *c;
	struct fl_snap_rec r;
	struct loader l = {0};
	struct stat st;
	pthread_t t;
	char err[512] = "", host[] = "test-host", buf[REC];
	uint64_t before, after, ino;
	size_t len;
	char *log;

	CHECK_EQ(fl_volume_create(base, "live", 0, 65536, err, sizeof(err)), 0);
	c = mount_at("live", NULL, false, &v);
	ino = put_file(c, "synced", "synced-1", 8);
	CHECK_EQ(fl_core_fsync(c, ino, true), 0);
	put_file(c, "unsynced", "written, never synced", 21);
	CHECK_EQ(fl_core_mkdir(c, 1, "dir", 0755, &root_cred, &st), 0);
	fl_core_forget(c, st.st_ino, 1); /* as the kernel does, before the rmdir below */
	CHECK_EQ(fl_core_create(c, 1, "log", 0644, O_RDWR, &root_cred, &st), 0);
	l.c = c;
	l.ino = st.st_ino;
	CHECK_EQ(pthread_create(&t, NULL, load_thread, &l), 0);
	while (__atomic_load_n(&l.acked, __ATOMIC_ACQUIRE) < 2000)
		usleep(1000);

	before = __atomic_load_n(&l.acked, __ATOMIC_ACQUIRE);
	CHECK_EQ(fl_snap_take_mounted(v, c, "live1", host, &r, &stats, err, sizeof(err)), 0);
	after = __atomic_load_n(&l.acked, __ATOMIC_ACQUIRE);
	printf("live snapshot: %" PRIu64 " records acknowledged before, %" PRIu64
	       " after; sync %lld ms, writers held %lld ms (flush %lld, drain %lld, take %lld)\n",
	       before, after, (long long)stats.sync_ms, (long long)stats.frozen_ms,
	       (long long)stats.flush_ms, (long long)stats.drain_ms, (long long)stats.take_ms);
	CHECK_EQ(fl_snap_take_mounted(v, c, "live1", host, &r, &stats, err, sizeof(err)), -EEXIST);

	/* churn after the snapshot */
	while (__atomic_load_n(&l.acked, __ATOMIC_ACQUIRE) < after + 2000)
		usleep(1000);
	__atomic_store_n(&l.stop, true, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	put_file(c, "synced", "synced-2 changed", 16);
	CHECK_EQ(fl_core_unlink(c, 1, "unsynced"), 0);
	CHECK_EQ(fl_core_rmdir(c, 1, "dir"), 0);
	put_file(c, "later", "after the snapshot", 18);
	umount_at(c, v);

	/* the snapshot: all that was acknowledged before, none of what came after */
	c = mount_at("live", "live1", true, &v);
	CHECK(file_is(c, "synced", "synced-1"));
	CHECK(file_is(c, "unsynced", "written, never synced"));
	CHECK_EQ(fl_core_lookup(c, 1, "dir", &st), 0);
	CHECK(!get_file(c, "later", &len));
	log = get_file(c, "log", &len);
	CHECK(log != NULL && len % REC == 0);
	if (log) {
		uint64_t n = len / REC;

		printf("live snapshot holds %" PRIu64 " records\n", n);
		CHECK(n >= before && n <= after);
		for (uint64_t i = 0; i < n; i++) {
			rec_fill(buf, i);
			if (memcmp(log + i * REC, buf, REC)) {
				CHECK(!"record differs");
				fprintf(stderr, "record %" PRIu64 " differs\n", i);
				break;
			}
		}
	}
	free(log);
	umount_at(c, v);
	check_fsck_clean("live@live1");
	check_fsck_clean("live");

	/* the writer context survives a new mount: another snapshot, more churn */
	c = mount_at("live", NULL, false, &v);
	CHECK_EQ(fl_snap_take_mounted(v, c, "live2", host, &r, &stats, err, sizeof(err)), 0);
	put_file(c, "later", "changed again", 13);
	umount_at(c, v);
	c = mount_at("live", "live2", true, &v);
	CHECK(file_is(c, "later", "after the snapshot"));
	CHECK(!get_file(c, "unsynced", &len));
	umount_at(c, v);
	c = mount_at("live", "live1", true, &v);
	CHECK(!get_file(c, "later", &len));
	umount_at(c, v);
	check_fsck_clean("live@live2");
}

static struct fl_fsck_report fsck_of(const char *name)
{
	struct fl_fsck_opts o = {0};
	struct fl_fsck_report r;
	char err[512] = "";

	CHECK_EQ(fl_fsck(base, name, &o, &r, err, sizeof(err)), 0);
	return r;
}

static void put_rec(struct fl_volume *v, const char *key, const void *val, size_t len)
{
	struct fl_kv kv = {key, val, len};

	CHECK_EQ(v->st->ops->omap_update(v->st, FL_OID_SNAPS, &kv, 1, NULL, 0, NULL, 0), 0);
}

static void rm_rec(struct fl_volume *v, const char *key)
{
	CHECK_EQ(v->st->ops->omap_update(v->st, FL_OID_SNAPS, NULL, 0, (const char *const[]){key},
					 1, NULL, 0),
		 0);
}

/*
 * fsck and the "snaps" records: a writer killed after a snapshot, before its
 * checkpoint wrote super.snap_seq, leaves objects RADOS still lists (removed
 * since the snapshot) and a check must not take them for stray objects; bad
 * records (undecodable, invalid name, a shared id, a snapshot that does not
 * read) are damage, a good volume is clean and counts its snapshots.
 */
static void test_fsck_snaps(void)
{
	struct fl_snap_result res;
	struct fl_snap_rec r;
	struct fl_fsck_report rep;
	struct fl_volume *v;
	struct fl_core *c;
	struct fl_buf b;
	char err[512] = "", big[300000];

	CHECK_EQ(fl_volume_create(base, "fsnap", 0, 65536, err, sizeof(err)), 0);
	c = mount_at("fsnap", NULL, false, &v);
	memset(big, 'x', sizeof(big));
	put_file(c, "big", big, sizeof(big));
	put_file(c, "keep", "keep", 4);
	umount_at(c, v);
	CHECK_EQ(fl_snap_create(base, "fsnap", "s1", NULL, &res, err, sizeof(err)), 0);
	c = mount_at("fsnap", NULL, false, &v);
	CHECK_EQ(fl_core_unlink(c, 1, "big"), 0);
	umount_at(c, v);
	rep = fsck_of("fsnap");
	CHECK(rep.damage == 0 && rep.snapshots == 1);
	/* the superblock as a writer killed before its checkpoint leaves it */
	CHECK_EQ(fl_volume_open(base, "fsnap", &v, err, sizeof(err)), 0);
	CHECK_EQ(fl_volume_lock(v, 30, false, err, sizeof(err)), 0);
	v->super.snap_seq = 0;
	CHECK_EQ(fl_volume_write_super(v), 0);
	fl_volume_close(v);
	rep = fsck_of("fsnap");
	if (rep.damage)
		fprintf(stderr, "fsck fsnap with snap_seq 0: %s\n", rep.first_problem);
	CHECK(rep.damage == 0 && rep.snapshots == 1);
	check_fsck_clean("fsnap@s1");

	CHECK_EQ(fl_volume_open(base, "fsnap", &v, err, sizeof(err)), 0);
	CHECK_EQ(fl_snap_lookup(v, "s1", &r), 0);
	/* an undecodable record */
	put_rec(v, "junk", "\x01\x02", 2);
	rep = fsck_of("fsnap");
	CHECK(rep.bad_snapshots == 1 && rep.damage == 1 && strstr(rep.first_problem, "junk"));
	rm_rec(v, "junk");
	/* a record under an invalid name, one sharing s1's id */
	fl_buf_init(&b, FL_SNAP_REC_MAX);
	CHECK_EQ(fl_snap_encode(&r, &b), 0);
	put_rec(v, "-bad name", b.data, b.len);
	rep = fsck_of("fsnap");
	CHECK(rep.bad_snapshots == 1 && strstr(rep.first_problem, "invalid name"));
	rm_rec(v, "-bad name");
	put_rec(v, "twin", b.data, b.len);
	rep = fsck_of("fsnap");
	CHECK(rep.bad_snapshots == 1 && strstr(rep.first_problem, "share"));
	rm_rec(v, "twin");
	rep = fsck_of("fsnap");
	CHECK(rep.damage == 0);
	fl_buf_free(&b);
	fl_volume_close(v);
	/* a record whose RADOS snapshot is gone: s1's record back after its removal */
	CHECK_EQ(fl_snap_remove(base, "fsnap", "s1", err, sizeof(err)), 0);
	CHECK_EQ(fl_volume_open(base, "fsnap", &v, err, sizeof(err)), 0);
	fl_buf_init(&b, FL_SNAP_REC_MAX);
	CHECK_EQ(fl_snap_encode(&r, &b), 0);
	put_rec(v, "s1", b.data, b.len);
	fl_buf_free(&b);
	rep = fsck_of("fsnap");
	if (rep.bad_snapshots != 1)
		fprintf(stderr, "fsck fsnap, removed snapshot's record: %" PRIu64 " bad: %s\n",
			rep.bad_snapshots, rep.first_problem);
	CHECK(rep.bad_snapshots == 1 && strstr(rep.first_problem, "cannot be read"));
	rm_rec(v, "s1");
	fl_volume_close(v);
	CHECK_EQ(fl_volume_remove(base, "fsnap", err, sizeof(err)), 0);

	/* a directory removed while in use (the kernel holds a reference), its
	 * removal checkpointed: it waits on
	 * the orphan list without its object, in the snapshot too */
	{
		struct stat st;

		CHECK_EQ(fl_volume_create(base, "odir", 0, 65536, err, sizeof(err)), 0);
		c = mount_at("odir", NULL, false, &v);
		CHECK_EQ(fl_core_mkdir(c, 1, "d", 0755, &root_cred, &st), 0);
		CHECK_EQ(fl_core_syncfs(c), 0);
		CHECK_EQ(fl_core_rmdir(c, 1, "d"), 0);
		CHECK_EQ(fl_checkpoint(c), 0);
		CHECK_EQ(fl_snap_take_mounted(v, c, "open", "test", &r, NULL, err, sizeof(err)), 0);
		check_fsck_clean("odir@open");
		fl_core_forget(c, st.st_ino, 1); /* mkdir's lookup reference */
		umount_at(c, v);
		check_fsck_clean("odir");
		CHECK_EQ(fl_volume_remove(base, "odir", err, sizeof(err)), 0);
	}
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	fl_log_init("test_snapshot", LOG_WARNING);
	base = fl_mem_open();
	if (!base)
		return 1;
	test_unmounted();
	test_live();
	test_fsck_snaps();
	fl_store_close(base);
	return check_report("test_snapshot");
}
