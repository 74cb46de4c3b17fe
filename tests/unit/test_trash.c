/*
 * Unit tests of the standalone trash (fs/volume/trash.c) on the in-memory store:
 * move, list, find by name and uuid, restore (also under another name and
 * onto a taken name), purge by hand and by time, a move refused while a
 * writer holds the volume, the stale entry a crash between two steps
 * leaves, and the record codec (fl_trash_rec_*, fs/format/record.c) on valid,
 * truncated, oversized and random input and on records the first trash.c wrote.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flocker/log.h"
#include "flocker/store.h"
#include "fs/volume/trash.h"
#include "fs/volume/volume.h"

#include "unit_check.h"

#define EQ(a, b)                                                                                   \
	CHECK((long long)(a) == (long long)(b), "got %lld, want %lld (%s)", (long long)(a),        \
	      (long long)(b), err)

static char err[512];

static int count_cb(void *arg, const struct fl_trash_entry *e)
{
	(void)e;
	(*(int *)arg)++;
	return 0;
}

static int trash_count(struct fl_store *base)
{
	int n = 0;

	EQ(fl_trash_list(base, count_cb, &n), 0);
	return n;
}

static int obj_cb(void *arg, const char *oid)
{
	(void)oid;
	(*(int *)arg)++;
	return 0;
}

/* Objects in the namespace of uuid. */
static int objects(struct fl_store *base, const char *uuid)
{
	char ns[48];
	struct fl_store *st;
	int n = 0;

	snprintf(ns, sizeof(ns), "vol.%s", uuid);
	st = base->ops->clone_ns(base, ns);
	st->ops->list_objects(st, NULL, obj_cb, &n);
	fl_store_close(st);
	return n;
}

static void uuid_of(struct fl_store *base, const char *name, char out[37])
{
	struct fl_volume *v = NULL;

	out[0] = '\0';
	if (fl_volume_open(base, name, &v, err, sizeof(err)) == 0)
		snprintf(out, 37, "%s", v->super.uuid);
	fl_volume_close(v);
}

/* A data object in the volume, to see that it survives the trash. */
static void put_data(struct fl_store *base, const char *uuid, const char *text)
{
	char ns[48];
	struct fl_store *st;

	snprintf(ns, sizeof(ns), "vol.%s", uuid);
	st = base->ops->clone_ns(base, ns);
	EQ(st->ops->write_full(st, "data.2.0", text, strlen(text)), 0);
	fl_store_close(st);
}

static bool has_data(struct fl_store *base, const char *uuid, const char *text)
{
	char ns[48], buf[64] = "";
	struct fl_store *st;
	ssize_t n;

	snprintf(ns, sizeof(ns), "vol.%s", uuid);
	st = base->ops->clone_ns(base, ns);
	n = st->ops->read(st, "data.2.0", 0, sizeof(buf) - 1, buf);
	fl_store_close(st);
	return n == (ssize_t)strlen(text) && !memcmp(buf, text, (size_t)n);
}

/*
 * Two records as the first trash.c (its own msgpack codec) wrote them: the
 * entry of test_codec, then the same with an empty host, state purging and
 * extreme times.  The codec in record.c must read and write them unchanged.
 * Both begin with the same 96 bytes, OLD_REC_HEAD.
 */
#define OLD_REC_HEAD                                                                               \
	"\x8a\x00\x01\x01\xd9\x24\x30\x31\x32\x33\x61\x62\x63\x64\x2d\x30"                         \
	"\x30\x30\x30\x2d\x34\x30\x30\x30\x2d\x38\x30\x30\x30\x2d\x30\x30"                         \
	"\x30\x30\x30\x30\x30\x30\x62\x65\x65\x66\x02\xa5\x76\x6f\x6c\x2d"                         \
	"\x31\x03\xc4\x36\x84\x00\x01\x01\xd9\x24\x30\x31\x32\x33\x61\x62"                         \
	"\x63\x64\x2d\x30\x30\x30\x30\x2d\x34\x30\x30\x30\x2d\x38\x30\x30"                         \
	"\x30\x2d\x30\x30\x30\x30\x30\x30\x30\x30\x62\x65\x65\x66\x02\xce"
static const unsigned char old_rec_a[] =
	OLD_REC_HEAD "\x65\x53\xf1\x00\x03\xce\x40\x00\x00\x00\x04\xce\x65\x53\xf1\x64"
		     "\x05\xfb\x06\x01\x07\xce\x65\x53\xf1\xc8\x08\xa6\x68\x6f\x73\x74"
		     "\x2d\x61\x09\xce\x3b\x9a\xc9\xff";
static const unsigned char old_rec_b[] =
	OLD_REC_HEAD "\x65\x53\xf1\x00\x03\xce\x40\x00\x00\x00\x04\xd3\x80\x00\x00\x00"
		     "\x00\x00\x00\x00\x05\xcf\x7f\xff\xff\xff\xff\xff\xff\xff\x06\x02"
		     "\x07\x00\x08\xa0\x09\x00";

static void test_codec(void)
{
	struct fl_trash_rec t = {0}, d;
	struct fl_volreg_rec r = {.version = 1, .created = 1700000000, .size_limit = 1 << 30}, dr;
	struct fl_buf b, reg;
	size_t i, n;
	unsigned seed = 1;

	snprintf(r.uuid, sizeof(r.uuid), "0123abcd-0000-4000-8000-00000000beef");
	fl_buf_init(&reg, 4096);
	EQ(fl_volreg_encode(&r, &reg), 0);
	memcpy(t.reg, reg.data, reg.len);
	t.reg_len = reg.len;
	snprintf(t.uuid, sizeof(t.uuid), "%s", r.uuid);
	snprintf(t.name, sizeof(t.name), "vol-1");
	snprintf(t.host, sizeof(t.host), "host-a");
	t.removed = 1700000100;
	t.purge_at = -5;
	t.state = FL_TRASH_RESTORING;
	t.state_since = 1700000200;
	t.removed_ns = 999999999;
	fl_buf_init(&b, FL_TRASH_REC_MAX);
	EQ(fl_trash_rec_encode(&t, &b), 0);
	EQ(fl_trash_rec_decode(b.data, b.len, &d), 0);
	CHECK(d.version == 1 && !strcmp(d.uuid, t.uuid) && !strcmp(d.name, "vol-1") &&
		      !strcmp(d.host, "host-a") && d.removed == t.removed &&
		      d.removed_ns == t.removed_ns && d.purge_at == -5 && d.state == 1 &&
		      d.state_since == t.state_since && d.reg_len == t.reg_len &&
		      !memcmp(d.reg, t.reg, t.reg_len) &&
		      fl_volreg_decode(d.reg, d.reg_len, &dr) == 0 && dr.size_limit == (1 << 30),
	      "round trip");

	/* the wire format did not change */
	CHECK(b.len == sizeof(old_rec_a) - 1 && !memcmp(b.data, old_rec_a, b.len),
	      "encoding differs from the first trash.c's");
	EQ(fl_trash_rec_decode(old_rec_b, sizeof(old_rec_b) - 1, &d), 0);
	CHECK(d.host[0] == '\0' && d.state == FL_TRASH_PURGING && d.removed == INT64_MIN &&
		      d.purge_at == INT64_MAX && d.state_since == 0 && d.removed_ns == 0,
	      "old record b");
	fl_buf_reset(&b);
	EQ(fl_trash_rec_encode(&d, &b), 0);
	CHECK(b.len == sizeof(old_rec_b) - 1 && !memcmp(b.data, old_rec_b, b.len),
	      "record b written back differently");
	fl_buf_reset(&b);
	EQ(fl_trash_rec_encode(&t, &b), 0);

	/* the encoder refuses what the decoder would */
	d = t;
	d.state = 3;
	EQ(fl_trash_rec_encode(&d, &b), -EINVAL);
	d = t;
	d.removed_ns = 1000000000;
	EQ(fl_trash_rec_encode(&d, &b), -EINVAL);
	d = t;
	d.uuid[35] = '0'; /* the registry value names another volume */
	EQ(fl_trash_rec_encode(&d, &b), -EINVAL);
	d = t;
	d.reg_len = 0;
	EQ(fl_trash_rec_encode(&d, &b), -EINVAL);
	d = t;
	snprintf(d.name, sizeof(d.name), "-x");
	EQ(fl_trash_rec_encode(&d, &b), -EINVAL);
	CHECK(b.len == sizeof(old_rec_a) - 1, "a refused record appends nothing");

	/* every truncation fails cleanly, leaving the output zeroed */
	for (n = 0; n < b.len; n++) {
		memset(&d, 0xa5, sizeof(d));
		CHECK(fl_trash_rec_decode(b.data, n, &d) == -EIO && d.uuid[0] == '\0' &&
			      d.reg_len == 0 && d.removed == 0,
		      "truncated at %zu", n);
	}
	/* trailing garbage */
	fl_buf_append(&b, "x", 1);
	EQ(fl_trash_rec_decode(b.data, b.len, &d), -EIO);
	b.len--;
	/* longer than FL_TRASH_REC_MAX, even if well-formed */
	{
		static unsigned char big[FL_TRASH_REC_MAX + 64];
		size_t pad = sizeof(big) - b.len - 4;

		memcpy(big, b.data, b.len);
		big[0]++; /* fixmap: one more entry, a str of pad bytes */
		big[b.len] = 0x1f;
		big[b.len + 1] = 0xda;
		big[b.len + 2] = (unsigned char)(pad >> 8);
		big[b.len + 3] = (unsigned char)pad;
		EQ(fl_trash_rec_decode(big, sizeof(big), &d), -EIO);
		EQ(fl_trash_rec_decode(big, FL_TRASH_REC_MAX, &d), -EIO); /* truncated */
	}
	/* an unknown key (a nested array) is skipped */
	{
		unsigned char ext[FL_TRASH_REC_MAX];

		memcpy(ext, b.data, b.len);
		ext[0]++; /* fixmap: one more entry */
		memcpy(ext + b.len, "\x1f\x92\x01\xa1z", 5);
		EQ(fl_trash_rec_decode(ext, b.len + 5, &d), 0);
		/* a map announcing 2^32-1 entries, a str longer than the input */
		EQ(fl_trash_rec_decode("\xdf\xff\xff\xff\xff", 5, &d), -EIO);
		memcpy(ext + b.len, "\x1f\xdb\xff\xff\xff\xff", 6);
		EQ(fl_trash_rec_decode(ext, b.len + 6, &d), -EIO);
		/* deep nesting in an unknown key */
		memcpy(ext, b.data, b.len);
		ext[0]++;
		ext[b.len] = 0x1f;
		memset(ext + b.len + 1, 0x91, 40);
		ext[b.len + 41] = 0x01;
		EQ(fl_trash_rec_decode(ext, b.len + 42, &d), -EIO);
		/* a known key twice */
		memcpy(ext, b.data, b.len);
		ext[0]++;
		memcpy(ext + b.len, "\x06\x00", 2);
		EQ(fl_trash_rec_decode(ext, b.len + 2, &d), -EIO);
		/* version 2 is not this format */
		memcpy(ext, b.data, b.len);
		CHECK(ext[1] == 0x00 && ext[2] == 0x01, "version first");
		ext[2] = 0x02;
		EQ(fl_trash_rec_decode(ext, b.len, &d), -EIO);
	}
	/* random mutations never crash, and what decodes is sane */
	for (i = 0; i < 20000; i++) {
		unsigned char m[FL_TRASH_REC_MAX];
		size_t len = b.len, k;

		memcpy(m, b.data, len);
		for (k = 0; k < 1 + i % 4; k++) {
			seed = seed * 1103515245 + 12345;
			m[(seed >> 8) % len] = (unsigned char)(seed >> 16);
		}
		if (fl_trash_rec_decode(m, len, &d) == 0)
			CHECK(fl_volname_valid(d.name) && strlen(d.uuid) == 36 &&
				      d.state <= FL_TRASH_PURGING &&
				      fl_volreg_decode(d.reg, d.reg_len, &dr) == 0 &&
				      !strcmp(dr.uuid, d.uuid),
			      "mutation %zu decoded to nonsense", i);
	}
	fl_buf_free(&b);
	fl_buf_free(&reg);
}

static void test_trash(void)
{
	struct fl_store *base = fl_mem_open();
	struct fl_trash_entry t, t2;
	struct fl_volume *v = NULL;
	char u1[37], u2[37], u3[37];
	unsigned n;

	/* move: the name goes, the data stays */
	EQ(fl_volume_create(base, "t1", 1 << 20, 0, err, sizeof(err)), 0);
	uuid_of(base, "t1", u1);
	put_data(base, u1, "first");
	EQ(fl_trash_move(base, "t1", 100, &t, err, sizeof(err)), 0);
	CHECK(!strcmp(t.uuid, u1) && !strcmp(t.name, "t1") && t.purge_at == t.removed + 100,
	      "entry of the move");
	EQ(fl_volume_open(base, "t1", &v, err, sizeof(err)), -ENOENT);
	EQ(trash_count(base), 1);
	CHECK(has_data(base, u1, "first"), "the data stays in the trash");
	EQ(fl_trash_move(base, "t1", 100, NULL, err, sizeof(err)), -ENOENT);
	EQ(fl_trash_move(base, "no/such", 100, NULL, err, sizeof(err)), -EINVAL);

	/* the name again, removed again: two entries; the name picks the later */
	EQ(fl_volume_create(base, "t1", 0, 0, err, sizeof(err)), 0);
	uuid_of(base, "t1", u2);
	put_data(base, u2, "second");
	EQ(fl_trash_move(base, "t1", 100, NULL, err, sizeof(err)), 0);
	EQ(trash_count(base), 2);
	EQ(fl_trash_find(base, "t1", &t, err, sizeof(err)), 0);
	CHECK(!strcmp(t.uuid, u2), "the name finds the later entry");
	EQ(fl_trash_find(base, u1, &t, err, sizeof(err)), 0);
	CHECK(!strcmp(t.uuid, u1), "a uuid finds its entry");
	EQ(fl_trash_find(base, "nope", &t, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "not in the trash") != NULL, "message: %s", err);

	/* restore by name: the later one, data intact; the earlier one finds its name taken */
	EQ(fl_trash_restore(base, "t1", NULL, &t, err, sizeof(err)), 0);
	uuid_of(base, "t1", u3);
	CHECK(!strcmp(u3, u2) && has_data(base, u2, "second"), "restored the later t1");
	EQ(trash_count(base), 1);
	EQ(fl_trash_restore(base, u1, NULL, NULL, err, sizeof(err)), -EEXIST);
	CHECK(strstr(err, "the name is taken by volume") && strstr(err, u2), "message: %s", err);
	EQ(fl_trash_restore(base, u1, "bad/name", NULL, err, sizeof(err)), -EINVAL);
	EQ(fl_trash_restore(base, u1, "t1-old", NULL, err, sizeof(err)), 0);
	EQ(fl_volume_open(base, "t1-old", &v, err, sizeof(err)), 0);
	CHECK(v && !strcmp(v->super.uuid, u1) && !strcmp(v->super.name, "t1-old") &&
		      v->super.size_limit == 1 << 20,
	      "restored under a new name, size limit kept, superblock renamed");
	fl_volume_close(v);
	v = NULL;
	CHECK(has_data(base, u1, "first"), "its data too");
	EQ(trash_count(base), 0);

	/* a writer holds it: refused, and nothing moves */
	EQ(fl_volume_open(base, "t1", &v, err, sizeof(err)), 0);
	EQ(fl_volume_lock(v, 30, false, err, sizeof(err)), 0);
	EQ(fl_trash_move(base, "t1", 100, NULL, err, sizeof(err)), -EBUSY);
	CHECK(strstr(err, "in use on host") != NULL, "message: %s", err);
	EQ(trash_count(base), 0);
	fl_volume_close(v);
	v = NULL;

	/* purge by hand: every object goes */
	EQ(fl_trash_move(base, "t1-old", 100, NULL, err, sizeof(err)), 0);
	CHECK(objects(base, u1) > 0, "objects before the purge");
	EQ(fl_trash_purge(base, "t1-old", NULL, err, sizeof(err)), 0);
	EQ(objects(base, u1), 0);
	EQ(trash_count(base), 0);
	EQ(fl_trash_purge(base, "t1-old", NULL, err, sizeof(err)), -ENOENT);
	EQ(fl_trash_restore(base, u1, NULL, NULL, err, sizeof(err)), -ENOENT);

	/* purge by time: only what is due */
	EQ(fl_trash_move(base, "t1", 100, &t, err, sizeof(err)), 0);
	EQ(fl_volume_create(base, "t2", 0, 0, err, sizeof(err)), 0);
	EQ(fl_trash_move(base, "t2", 1000, &t2, err, sizeof(err)), 0);
	EQ(fl_trash_purge_expired(base, t.removed + 99, NULL, &n), 0);
	EQ(n, 0);
	EQ(fl_trash_purge_expired(base, t.removed + 100, NULL, &n), 0);
	EQ(n, 1);
	EQ(objects(base, u2), 0);
	EQ(trash_count(base), 1);
	{
		bool stop = true;

		/* a stopped purge leaves the entry, marked, for the next one */
		EQ(fl_trash_purge(base, "t2", &stop, err, sizeof(err)), -EINTR);
		EQ(fl_trash_find(base, "t2", &t, err, sizeof(err)), 0);
		EQ(t.state, FL_TRASH_PURGING);
		EQ(fl_trash_restore(base, "t2", NULL, NULL, err, sizeof(err)), -EBUSY);
		EQ(fl_trash_purge(base, "t2", NULL, err, sizeof(err)), 0);
		EQ(trash_count(base), 0);
	}

	/* a crash between the entry and the registry: the volume counts as live */
	EQ(fl_volume_create(base, "t3", 0, 0, err, sizeof(err)), 0);
	uuid_of(base, "t3", u3);
	put_data(base, u3, "third");
	EQ(fl_trash_move(base, "t3", 100, &t, err, sizeof(err)), 0);
	{
		struct fl_store *reg = base->ops->clone_ns(base, FL_REG_NS);
		struct fl_kv kv = {"t3", t.reg_raw, t.reg_len};

		EQ(reg->ops->omap_update(reg, FL_REG_OID, &kv, 1, NULL, 0, NULL, 0), 0);
		fl_store_close(reg);
	}
	EQ(trash_count(base), 0);
	EQ(fl_trash_purge(base, u3, NULL, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "not in the trash") != NULL, "message: %s", err);
	EQ(fl_trash_restore(base, "t3", NULL, NULL, err, sizeof(err)), -ENOENT);
	CHECK(has_data(base, u3, "third"), "a live volume is never purged");
	EQ(fl_trash_purge_expired(base, t.purge_at + 1, NULL, &n), 0);
	EQ(n, 0);
	CHECK(has_data(base, u3, "third"), "not by time either");
	EQ(fl_trash_move(base, "t3", 100, NULL, err, sizeof(err)), 0);
	EQ(trash_count(base), 1);
	fl_store_close(base);
}

int main(void)
{
	fl_log_init("test_trash", LOG_ERR);
	test_codec();
	test_trash();
	printf("test_trash: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
