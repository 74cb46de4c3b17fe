/*
 * flockerfs — clones (fs/volume/clone.c) on the in-memory store, through
 * the filesystem core: what a clone shows, that its changes stay its own,
 * clones of clones, fsck, flatten, and the links that keep a parent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "flocker/log.h"
#include "flocker/record.h"
#include "fs/core/core.h"
#include "fs/store/store_layer.h"
#include "fs/volume/clone.h"
#include "fs/volume/fsck.h"
#include "fs/volume/snapshot.h"
#include "fs/volume/volume.h"
#include "tests/check.h"
#include "tests/lib/count_cb.h"

static struct fl_store *base;
static const struct fl_cred root_cred = {0, 0};

static struct fl_core *mount_vol(const char *name, struct fl_volume **vp, bool ro)
{
	struct fl_core_opts o = {.ro = ro, .commit_ms = 50};
	struct fl_core *c = NULL;
	char err[512] = "";

	if (fl_volume_open(base, name, vp, err, sizeof(err)) ||
	    (!ro && fl_volume_lock(*vp, 30, false, err, sizeof(err))) ||
	    fl_core_mount(*vp, &o, &c, err, sizeof(err))) {
		fprintf(stderr, "cannot mount %s: %s\n", name, err);
		exit(1);
	}
	return c;
}

static void umount_vol(struct fl_core *c, struct fl_volume *v)
{
	CHECK_EQ(fl_core_unmount(c), 0);
	fl_volume_close(v);
}

static uint64_t ino_of(struct fl_core *c, uint64_t dir, const char *name)
{
	struct stat st;

	return fl_core_lookup(c, dir, name, &st) ? 0 : st.st_ino;
}

static uint64_t put_file(struct fl_core *c, uint64_t dir, const char *name, const void *buf,
			 size_t len)
{
	struct stat st;

	CHECK_EQ(fl_core_create(c, dir, name, S_IFREG | 0644, O_RDWR, &root_cred, &st), 0);
	CHECK_EQ(fl_core_write(c, st.st_ino, 0, buf, len), (ssize_t)len);
	CHECK_EQ(fl_core_release(c, st.st_ino), 0);
	return st.st_ino;
}

/* Does file dir/name hold exactly buf? */
static bool holds(struct fl_core *c, uint64_t dir, const char *name, const void *buf, size_t len)
{
	uint64_t ino = ino_of(c, dir, name);
	char *got;
	ssize_t n;
	bool ok;

	if (!ino || fl_core_open(c, ino, O_RDONLY))
		return false;
	got = malloc(len + 1);
	n = fl_core_read(c, ino, 0, len + 1, got);
	ok = n == (ssize_t)len && !memcmp(got, buf, len);
	free(got);
	fl_core_release(c, ino);
	return ok;
}

static void fsck_clean(const char *name, const char *want_parent)
{
	struct fl_fsck_opts o = {0};
	struct fl_fsck_report r;
	char err[256] = "";

	CHECK_EQ(fl_fsck(base, name, &o, &r, err, sizeof(err)), 0);
	CHECK_EQ(r.damage, 0);
	if (r.damage)
		fprintf(stderr, "fsck %s: %s\n", name, r.first_problem);
	CHECK_PREFIX(r.parent, want_parent);
	if (!*want_parent)
		CHECK_STR(r.parent, "");
}

static int objects_of(const char *name)
{
	struct fl_volume *v;
	struct fl_store *plain;
	char err[256];
	int n = 0;

	if (fl_volume_open(base, name, &v, err, sizeof(err)))
		return -1;
	plain = fl_is_layer(v->st) ? fl_layer_child(v->st) : v->st;
	plain->ops->list_objects(plain, NULL, count_oid_cb, &n);
	fl_volume_close(v);
	return n;
}

static void progress(void *arg, uint64_t done, uint64_t total)
{
	uint64_t *last = arg;

	CHECK(done <= total);
	*last = done;
}

/*
 * A snapshot taken by a live writer right after it made files: their inodes
 * are in its journal only (super.next_ino is written by the next checkpoint).
 * A clone of it reads them through all the same.
 */
static void test_live_snapshot(const char *big, size_t len)
{
	struct fl_snap_rec rec;
	struct fl_volume *v;
	struct fl_core *c;
	char err[512] = "";
	struct stat st;

	CHECK_EQ(fl_volume_create(base, "livepar", 0, 65536, err, sizeof(err)), 0);
	c = mount_vol("livepar", &v, false);
	put_file(c, FL_ROOT_INO, "old", "before", 6);
	umount_vol(c, v);
	c = mount_vol("livepar", &v, false);
	put_file(c, FL_ROOT_INO, "new", big, len);
	CHECK_EQ(fl_core_mkdir(c, FL_ROOT_INO, "newdir", 0755, &root_cred, &st), 0);
	put_file(c, st.st_ino, "inner", "inner", 5);
	CHECK_EQ(fl_snap_take_mounted(v, c, "hot", "test", &rec, NULL, err, sizeof(err)), 0);
	umount_vol(c, v);
	CHECK_EQ(fl_volume_clone(base, "livepar", "hot", "livecl", NULL, 0, err, sizeof(err)), 0);
	/* the parent makes objects after the snapshot: not the clone's */
	c = mount_vol("livepar", &v, false);
	put_file(c, FL_ROOT_INO, "later", big, len);
	CHECK_EQ(fl_core_mkdir(c, FL_ROOT_INO, "laterdir", 0755, &root_cred, &st), 0);
	put_file(c, st.st_ino, "x", "x", 1);
	umount_vol(c, v);
	c = mount_vol("livecl", &v, true);
	CHECK(holds(c, FL_ROOT_INO, "old", "before", 6));
	CHECK(holds(c, FL_ROOT_INO, "new", big, len));
	CHECK(holds(c, ino_of(c, FL_ROOT_INO, "newdir"), "inner", "inner", 5));
	umount_vol(c, v);
	fsck_clean("livecl", "livepar@hot");
	CHECK_EQ(fl_volume_remove(base, "livecl", err, sizeof(err)), 0);
	CHECK_EQ(fl_snap_remove(base, "livepar", "hot", err, sizeof(err)), 0);
	CHECK_EQ(fl_volume_remove(base, "livepar", err, sizeof(err)), 0);
}

int main(void)
{
	static char big[300000], small_big[1000];
	char err[512] = "", snap[160] = "", snap2[160] = "";
	struct fl_volume *v;
	struct fl_core *c;
	uint64_t d, last = 0;
	struct stat st;

	fl_log_init("test_clone", LOG_WARNING);
	base = fl_mem_open();
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + i / 4096);
	memcpy(small_big, big, sizeof(small_big));

	CHECK_EQ(fl_volume_create(base, "par", 0, 65536, err, sizeof(err)), 0);
	c = mount_vol("par", &v, false);
	put_file(c, FL_ROOT_INO, "a", "hello", 5);
	put_file(c, FL_ROOT_INO, "untouched", "same", 4);
	put_file(c, FL_ROOT_INO, "big", big, sizeof(big));
	CHECK_EQ(fl_core_mkdir(c, FL_ROOT_INO, "d", 0755, &root_cred, &st), 0);
	put_file(c, st.st_ino, "f", "in d", 4);
	umount_vol(c, v);

	/* bad names, missing parent, existing name */
	CHECK_EQ(fl_volume_clone(base, "par", NULL, "-x", NULL, 0, err, sizeof(err)), -EINVAL);
	CHECK_EQ(fl_volume_clone(base, "nope", NULL, "x", NULL, 0, err, sizeof(err)), -ENOENT);
	CHECK_EQ(fl_volume_clone(base, "par", NULL, "par", NULL, 0, err, sizeof(err)), -EEXIST);

	/* a clone costs two objects, whatever the parent holds */
	CHECK_EQ(fl_volume_clone(base, "par", NULL, "cl", snap, sizeof(snap), err, sizeof(err)), 0);
	CHECK_PREFIX(snap, "clone-cl-");
	CHECK_EQ(objects_of("cl"), 2);

	c = mount_vol("cl", &v, false);
	CHECK(holds(c, FL_ROOT_INO, "a", "hello", 5));
	CHECK(holds(c, FL_ROOT_INO, "big", big, sizeof(big)));
	d = ino_of(c, FL_ROOT_INO, "d");
	CHECK(holds(c, d, "f", "in d", 4));
	/* change the clone: overwrite, remove, create, truncate, rename */
	{
		uint64_t a = ino_of(c, FL_ROOT_INO, "a"), b = ino_of(c, FL_ROOT_INO, "big");
		struct stat at = {0};

		CHECK_EQ(fl_core_open(c, a, O_RDWR), 0);
		CHECK_EQ(fl_core_write(c, a, 0, "HELLO", 5), 5);
		CHECK_EQ(fl_core_release(c, a), 0);
		CHECK_EQ(fl_core_unlink(c, d, "f"), 0);
		put_file(c, FL_ROOT_INO, "new", "fresh", 5);
		at.st_size = sizeof(small_big);
		CHECK_EQ(fl_core_setattr(c, b, &at, FL_SET_SIZE, &st), 0);
		CHECK_EQ(fl_core_rename(c, FL_ROOT_INO, "new", d, "moved", 0), 0);
	}
	umount_vol(c, v);
	fsck_clean("cl", "par@clone-cl-");

	/* the parent did not change */
	c = mount_vol("par", &v, true);
	CHECK(holds(c, FL_ROOT_INO, "a", "hello", 5));
	CHECK(holds(c, FL_ROOT_INO, "big", big, sizeof(big)));
	d = ino_of(c, FL_ROOT_INO, "d");
	CHECK(holds(c, d, "f", "in d", 4));
	CHECK_EQ(ino_of(c, FL_ROOT_INO, "new"), 0);
	umount_vol(c, v);
	fsck_clean("par", "");

	/* the parent changes: the clone reads it at the snapshot */
	c = mount_vol("par", &v, false);
	{
		uint64_t u = ino_of(c, FL_ROOT_INO, "untouched");

		CHECK_EQ(fl_core_open(c, u, O_RDWR), 0);
		CHECK_EQ(fl_core_write(c, u, 0, "DIFF", 4), 4);
		CHECK_EQ(fl_core_release(c, u), 0);
		CHECK_EQ(fl_core_unlink(c, FL_ROOT_INO, "a"), 0);
		put_file(c, FL_ROOT_INO, "late", "late", 4);
	}
	umount_vol(c, v);

	/* the clone after a remount */
	c = mount_vol("cl", &v, true);
	CHECK(fl_is_layer(v->st));
	CHECK(holds(c, FL_ROOT_INO, "a", "HELLO", 5));
	CHECK(holds(c, FL_ROOT_INO, "big", small_big, sizeof(small_big)));
	CHECK(holds(c, FL_ROOT_INO, "untouched", "same", 4));
	CHECK_EQ(ino_of(c, FL_ROOT_INO, "late"), 0);
	d = ino_of(c, FL_ROOT_INO, "d");
	CHECK_EQ(ino_of(c, d, "f"), 0);
	CHECK(holds(c, d, "moved", "fresh", 5));
	umount_vol(c, v);

	/* a parent with clones stays */
	CHECK_EQ(fl_volume_remove(base, "par", err, sizeof(err)), -EBUSY);
	CHECK(strstr(err, "clone") != NULL);

	/* a clone of the clone */
	CHECK_EQ(fl_volume_clone(base, "cl", NULL, "cl2", snap2, sizeof(snap2), err, sizeof(err)),
		 0);
	c = mount_vol("cl2", &v, false);
	CHECK(holds(c, FL_ROOT_INO, "a", "HELLO", 5));
	CHECK(holds(c, FL_ROOT_INO, "big", small_big, sizeof(small_big)));
	put_file(c, FL_ROOT_INO, "only2", "2", 1);
	/* flatten is refused while mounted read-write, naming the holder */
	CHECK_EQ(fl_volume_flatten(base, "cl2", NULL, NULL, err, sizeof(err)), -EBUSY);
	CHECK(strstr(err, "held read-write") != NULL);
	umount_vol(c, v);
	fsck_clean("cl2", "cl@clone-cl2-");
	CHECK_EQ(fl_volume_flatten(base, "par", NULL, NULL, err, sizeof(err)), -EINVAL);

	/* cl's snapshot (cl2's parent) reads through par: no flatten of cl while it exists */
	CHECK_EQ(fl_volume_flatten(base, "cl", progress, &last, err, sizeof(err)), -EBUSY);
	CHECK(strstr(err, "snapshots") != NULL);
	CHECK_EQ(fl_snap_remove(base, "cl", snap2, err, sizeof(err)), -EBUSY);
	CHECK_EQ(fl_volume_flatten(base, "cl2", progress, &last, err, sizeof(err)), 0);
	fsck_clean("cl2", "");
	CHECK_EQ(fl_snap_remove(base, "cl", snap2, err, sizeof(err)), 0);

	/* flatten cl: it stands alone, par can go */
	CHECK_EQ(fl_volume_flatten(base, "cl", progress, &last, err, sizeof(err)), 0);
	CHECK(last > 0);
	fsck_clean("cl", "");
	CHECK_EQ(fl_volume_remove(base, "par", err, sizeof(err)), 0);
	c = mount_vol("cl", &v, true);
	CHECK(!fl_is_layer(v->st));
	CHECK(holds(c, FL_ROOT_INO, "a", "HELLO", 5));
	CHECK(holds(c, FL_ROOT_INO, "big", small_big, sizeof(small_big)));
	umount_vol(c, v);
	c = mount_vol("cl2", &v, true);
	CHECK(holds(c, FL_ROOT_INO, "only2", "2", 1));
	CHECK(holds(c, FL_ROOT_INO, "a", "HELLO", 5));
	umount_vol(c, v);
	CHECK_EQ(fl_volume_remove(base, "cl2", err, sizeof(err)), 0);
	CHECK_EQ(fl_volume_remove(base, "cl", err, sizeof(err)), 0);
	test_live_snapshot(big, sizeof(big));

	fl_store_close(base);
	return check_report("test_clone");
}
