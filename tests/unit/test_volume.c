/*
 * Unit tests of volumes (fs/volume/): create, open, leases, fsck on the in-memory store (program
 * test_core, main in test_core.c).
 */
#include "test_core.h"
#include "tests/lib/count_cb.h"

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
void test_fsck_readonly(void)
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

void test_volumes(void)
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

static int count_writer_records(struct fl_volume *v)
{
	const char *keys[1] = {"writer"};
	int n = 0, ret = v->st->ops->omap_get(v->st, FL_OID_SUPER, keys, 1, count_kv_cb, &n);

	return ret ? ret : n;
}

/* A writer whose lease ran out is fenced by the next one even though the lock
 * itself no longer names it; a writer that released cleanly is not. */
void test_expired_lease_fences(void)
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
