/*
 * flockerfs — unit tests for the on-RADOS record codecs (fs/format/record.c).
 *
 * A second, independent packer here writes each record exactly as
 * fs/format/FORMAT.md describes it; valid records must encode to the same bytes,
 * and invalid ones (which the real encoders refuse) are built with it to
 * check that every decoder rejection is exactly -EIO.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <msgpack.h>

#include "../fuzz/rec_eq.h" /* includes flocker/record.h */
#include "tests/check.h"

static const char UUID[] = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

/* ------------------------------------------------------------------ */
/* Scratch msgpack output on an sbuffer. */

struct mp {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static void mp_init(struct mp *m)
{
	msgpack_sbuffer_init(&m->sb);
	msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
}

static void mp_reset(struct mp *m)
{
	msgpack_sbuffer_clear(&m->sb);
}

static void mp_done(struct mp *m)
{
	msgpack_sbuffer_destroy(&m->sb);
}

static void pk_key(msgpack_packer *pk, uint64_t k)
{
	msgpack_pack_uint64(pk, k);
}

static void pk_str(msgpack_packer *pk, const char *s, size_t len)
{
	msgpack_pack_str_with_body(pk, s, len);
}

static void pk_ts(msgpack_packer *pk, const struct timespec *ts)
{
	msgpack_pack_array(pk, 2);
	msgpack_pack_int64(pk, ts->tv_sec);
	msgpack_pack_uint64(pk, (uint64_t)ts->tv_nsec);
}

/* The independent packers: fs/format/FORMAT.md, key by key, no validation. */

/* with_snap_seq: key 11 (snap_seq) too, written once a snapshot was taken */
static void raw_super_keys(msgpack_packer *pk, const struct fl_super_rec *s, bool with_snap_seq)
{
	msgpack_pack_map(pk, with_snap_seq ? 12 : 11);
	pk_key(pk, 0), msgpack_pack_uint64(pk, 1);
	pk_key(pk, 1), pk_str(pk, s->uuid, strlen(s->uuid));
	pk_key(pk, 2), pk_str(pk, s->name, strlen(s->name));
	pk_key(pk, 3), msgpack_pack_uint64(pk, s->block_size);
	pk_key(pk, 4), msgpack_pack_uint64(pk, s->size_limit);
	pk_key(pk, 5), msgpack_pack_int64(pk, s->created);
	pk_key(pk, 6), msgpack_pack_uint64(pk, s->next_ino);
	pk_key(pk, 7), msgpack_pack_uint64(pk, s->jtail);
	pk_key(pk, 8), msgpack_pack_uint64(pk, s->used_bytes);
	pk_key(pk, 9), msgpack_pack_uint64(pk, s->inodes);
	pk_key(pk, 10), msgpack_pack_uint64(pk, s->itab_shard_bits);
	if (with_snap_seq)
		pk_key(pk, 11), msgpack_pack_uint64(pk, s->snap_seq);
}

static void raw_super(msgpack_packer *pk, const struct fl_super_rec *s)
{
	raw_super_keys(pk, s, false);
}

/* host_len may differ from strlen(host) (a NUL inside) */
static void raw_snap(msgpack_packer *pk, uint64_t id, int64_t created, uint64_t ns, uint64_t state,
		     const char *host, size_t host_len)
{
	msgpack_pack_map(pk, 6);
	pk_key(pk, 0), msgpack_pack_uint64(pk, 1);
	pk_key(pk, 1), msgpack_pack_uint64(pk, id);
	pk_key(pk, 2), msgpack_pack_int64(pk, created);
	pk_key(pk, 3), msgpack_pack_uint64(pk, ns);
	pk_key(pk, 4), msgpack_pack_uint64(pk, state);
	pk_key(pk, 5), pk_str(pk, host, host_len);
}

static void raw_volreg(msgpack_packer *pk, const struct fl_volreg_rec *r)
{
	msgpack_pack_map(pk, 4);
	pk_key(pk, 0), msgpack_pack_uint64(pk, 1);
	pk_key(pk, 1), pk_str(pk, r->uuid, strlen(r->uuid));
	pk_key(pk, 2), msgpack_pack_int64(pk, r->created);
	pk_key(pk, 3), msgpack_pack_uint64(pk, r->size_limit);
}

static void raw_parent(msgpack_packer *pk, const struct fl_parent_rec *r)
{
	msgpack_pack_map(pk, 6);
	pk_key(pk, 0), msgpack_pack_uint64(pk, 1);
	pk_key(pk, 1), pk_str(pk, r->uuid, strlen(r->uuid));
	pk_key(pk, 2), msgpack_pack_uint64(pk, r->snap_id);
	pk_key(pk, 3), pk_str(pk, r->snap, strlen(r->snap));
	pk_key(pk, 4), pk_str(pk, r->name, strlen(r->name));
	pk_key(pk, 5), msgpack_pack_int64(pk, r->created);
}

static void raw_dirent(msgpack_packer *pk, const struct fl_dirent_rec *d)
{
	msgpack_pack_map(pk, 3);
	pk_key(pk, 0), msgpack_pack_uint64(pk, 1);
	pk_key(pk, 1), msgpack_pack_uint64(pk, d->ino);
	pk_key(pk, 2), msgpack_pack_uint64(pk, d->type);
}

/* nx: how many xattrs to write (may differ from i->nxattrs); symlink written when non-NULL. */
static void raw_inode_n(msgpack_packer *pk, const struct fl_inode_rec *i, uint32_t nx)
{
	uint32_t k;

	msgpack_pack_map(pk, 13 + (i->symlink ? 1 : 0) + (nx ? 1 : 0) + (i->has_bmap ? 1 : 0));
	pk_key(pk, 0), msgpack_pack_uint64(pk, 1);
	pk_key(pk, 1), msgpack_pack_uint64(pk, i->ino);
	pk_key(pk, 2), msgpack_pack_uint64(pk, i->mode);
	pk_key(pk, 3), msgpack_pack_uint64(pk, i->uid);
	pk_key(pk, 4), msgpack_pack_uint64(pk, i->gid);
	pk_key(pk, 5), msgpack_pack_uint64(pk, i->nlink);
	pk_key(pk, 6), msgpack_pack_uint64(pk, i->size);
	pk_key(pk, 7), msgpack_pack_uint64(pk, i->rdev);
	pk_key(pk, 8), msgpack_pack_uint64(pk, i->generation);
	pk_key(pk, 9), pk_ts(pk, &i->atime);
	pk_key(pk, 10), pk_ts(pk, &i->mtime);
	pk_key(pk, 11), pk_ts(pk, &i->ctime);
	pk_key(pk, 12), pk_ts(pk, &i->btime);
	if (i->symlink)
		pk_key(pk, 13), pk_str(pk, i->symlink, strlen(i->symlink));
	if (nx) {
		pk_key(pk, 14);
		msgpack_pack_array(pk, nx);
		for (k = 0; k < nx; k++) {
			msgpack_pack_array(pk, 2);
			pk_str(pk, i->xattrs[k].name, strlen(i->xattrs[k].name));
			msgpack_pack_bin_with_body(pk, i->xattrs[k].value, i->xattrs[k].vlen);
		}
	}
	if (i->has_bmap) {
		pk_key(pk, 16);
		msgpack_pack_array(pk, 2 * i->nbmap);
		for (k = 0; k < i->nbmap; k++) {
			msgpack_pack_uint64(pk, i->bmap[k].first);
			msgpack_pack_uint64(pk, i->bmap[k].count);
		}
	}
}

static void raw_inode(msgpack_packer *pk, const struct fl_inode_rec *i)
{
	raw_inode_n(pk, i, i->nxattrs);
}

/* name_len: bytes of op->name to write (names with NUL inside); SIZE_MAX = strlen. */
static void raw_jop(msgpack_packer *pk, const struct fl_jop *op, size_t name_len)
{
	if (name_len == SIZE_MAX && op->name)
		name_len = strlen(op->name);
	switch (op->kind) {
	case FL_JOP_INODE_PUT:
		msgpack_pack_map(pk, 2);
		pk_key(pk, 1), msgpack_pack_uint64(pk, op->kind);
		pk_key(pk, 3), raw_inode(pk, &op->inode);
		break;
	case FL_JOP_DENT_SET:
		msgpack_pack_map(pk, 4);
		pk_key(pk, 1), msgpack_pack_uint64(pk, op->kind);
		pk_key(pk, 2), msgpack_pack_uint64(pk, op->ino);
		pk_key(pk, 4), pk_str(pk, op->name, name_len);
		pk_key(pk, 5), raw_dirent(pk, &op->dent);
		break;
	case FL_JOP_DENT_DEL:
		msgpack_pack_map(pk, 3);
		pk_key(pk, 1), msgpack_pack_uint64(pk, op->kind);
		pk_key(pk, 2), msgpack_pack_uint64(pk, op->ino);
		pk_key(pk, 4), pk_str(pk, op->name, name_len);
		break;
	default:
		msgpack_pack_map(pk, 2);
		pk_key(pk, 1), msgpack_pack_uint64(pk, op->kind);
		pk_key(pk, 2), msgpack_pack_uint64(pk, op->ino);
		break;
	}
}

static void raw_jtxn_hdr(msgpack_packer *pk, const struct fl_jtxn *t, uint32_t nops)
{
	msgpack_pack_map(pk, 6);
	pk_key(pk, 0), msgpack_pack_uint64(pk, 1);
	pk_key(pk, 1), msgpack_pack_uint64(pk, t->tid);
	pk_key(pk, 2), msgpack_pack_uint64(pk, t->next_ino);
	pk_key(pk, 3), msgpack_pack_uint64(pk, t->used_bytes);
	pk_key(pk, 4), msgpack_pack_uint64(pk, t->inodes);
	pk_key(pk, 5), msgpack_pack_array(pk, nops);
}

static void raw_jtxn(msgpack_packer *pk, const struct fl_jtxn *t)
{
	uint32_t k;

	raw_jtxn_hdr(pk, t, t->nops);
	for (k = 0; k < t->nops; k++)
		raw_jop(pk, &t->ops[k], SIZE_MAX);
}

/* ------------------------------------------------------------------ */
/* Fixtures. */

static void mk_super(struct fl_super_rec *s)
{
	memset(s, 0, sizeof(*s));
	s->version = FL_FORMAT_VERSION;
	strcpy(s->uuid, UUID);
	strcpy(s->name, "volume-1");
	s->block_size = 4 << 20;
	s->size_limit = 10ull << 30;
	s->created = 1700000000;
	s->next_ino = 2;
	s->jtail = 0;
	s->used_bytes = 12345;
	s->inodes = 1;
	s->itab_shard_bits = 10;
}

static void mk_volreg(struct fl_volreg_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->version = FL_FORMAT_VERSION;
	strcpy(r->uuid, UUID);
	r->created = 1700000001;
	r->size_limit = 1ull << 40;
}

static void mk_inode(struct fl_inode_rec *i, uint32_t mode)
{
	memset(i, 0, sizeof(*i));
	i->ino = 42;
	i->mode = mode;
	i->uid = 1000;
	i->gid = 100;
	i->nlink = 1;
	i->size = 4096;
	i->generation = 7;
	i->atime.tv_sec = 1700000000;
	i->atime.tv_nsec = 1;
	i->mtime.tv_sec = 1700000002;
	i->ctime.tv_sec = 1700000003;
	i->ctime.tv_nsec = 999999999;
	i->btime.tv_sec = -1;
	i->btime.tv_nsec = 500;
}

/* A regular file's record with a map of n runs (zeroed: the caller fills them). */
static void mk_inode_runs(struct fl_inode_rec *i, uint32_t n)
{
	mk_inode(i, S_IFREG | 0644);
	i->has_bmap = true;
	i->bmap = calloc(n, sizeof(*i->bmap));
	CHECK(i->bmap != NULL);
	i->nbmap = n;
}

/* Heap copy of exactly len bytes so that ASan sees any read past the end. */
static void *dup_bytes(const void *p, size_t len)
{
	void *d = malloc(len ? len : 1);

	if (!d) {
		perror("malloc");
		exit(2);
	}
	memcpy(d, p, len);
	return d;
}

/* Decodes with every record decoder and returns a bitmask of those returning 0. */
typedef int (*decoder_fn)(const void *, size_t, void *);

static int dec_super(const void *p, size_t n, void *o)
{
	return fl_super_decode(p, n, o);
}

static int dec_snap(const void *p, size_t n, void *o)
{
	return fl_snap_decode(p, n, o);
}

static int dec_volreg(const void *p, size_t n, void *o)
{
	return fl_volreg_decode(p, n, o);
}

static int dec_dirent(const void *p, size_t n, void *o)
{
	return fl_dirent_decode(p, n, o);
}

static int dec_inode(const void *p, size_t n, void *o)
{
	int rc = fl_inode_decode(p, n, o);

	fl_inode_rec_free(o);
	return rc;
}

static int dec_jtxn(const void *p, size_t n, void *o)
{
	int rc = fl_jtxn_decode(p, n, o);

	fl_jtxn_free(o);
	return rc;
}

union any_rec {
	struct fl_super_rec s;
	struct fl_snap_rec sn;
	struct fl_volreg_rec v;
	struct fl_dirent_rec d;
	struct fl_inode_rec i;
	struct fl_jtxn t;
	struct fl_parent_rec p;
};

static int decode_any(decoder_fn fn, const void *p, size_t n)
{
	union any_rec r;
	void *copy = dup_bytes(p, n);
	int rc;

	memset(&r, 0xa5, sizeof(r));
	rc = fn(copy, n, &r);
	free(copy);
	return rc;
}

/* Every strict prefix of an encoding must be -EIO. */
static void check_truncations(decoder_fn fn, const void *p, size_t len, size_t step)
{
	size_t l;
	int bad = 0;

	for (l = 0; l < len; l += (l < 64 ? 1 : step)) {
		int rc = decode_any(fn, p, l);

		if (rc != -EIO && bad++ < 5)
			fprintf(stderr, "truncation to %zu of %zu bytes: rc %d\n", l, len, rc);
	}
	CHECK(bad == 0);
}

/*
 * The three checks every record kind repeats, on the test's buffer b and
 * packer m (struct fl_buf, struct mp) for kind K (super, volreg, inode...):
 *   CHECK_REENCODE    rec encodes, and decodes (into *out) equal to it
 *   CHECK_SAME_BYTES  the same, and the encoding is what the independent
 *                     packer writes
 *   CHECK_REFUSED     the encoder refuses rec (-EINVAL) and the decoder
 *                     its independent packing (-EIO)
 * Macros, so that a failed check names the line of the case.
 */
#define CHECK_REENCODE(K, rec, out, b)                                                             \
	do {                                                                                       \
		fl_buf_reset(&(b));                                                                \
		CHECK_RC(fl_##K##_encode(rec, &(b)), 0);                                           \
		CHECK_RC(fl_##K##_decode((b).data, (b).len, out), 0);                              \
		CHECK(rec_eq_##K(rec, out));                                                       \
	} while (0)

#define CHECK_SAME_BYTES(K, rec, out, b, m)                                                        \
	do {                                                                                       \
		memset(out, 0x5a, sizeof(*(out)));                                                 \
		CHECK_REENCODE(K, rec, out, b);                                                    \
		mp_reset(&(m));                                                                    \
		raw_##K(&(m).pk, rec);                                                             \
		CHECK((b).len == (m).sb.size && memcmp((b).data, (m).sb.data, (b).len) == 0);      \
	} while (0)

#define CHECK_REFUSED(K, rec, b, m)                                                                \
	do {                                                                                       \
		fl_buf_reset(&(b));                                                                \
		CHECK_RC(fl_##K##_encode(rec, &(b)), -EINVAL);                                     \
		mp_reset(&(m));                                                                    \
		raw_##K(&(m).pk, rec);                                                             \
		CHECK_RC(decode_any(dec_##K, (m).sb.data, (m).sb.size), -EIO);                     \
	} while (0)

/* ------------------------------------------------------------------ */
/* Map surgery on a valid encoding, for the generic rejection tests. */

enum wrong { W_NIL, W_TRUE, W_FLOAT, W_MAP, W_BIN, W_COUNT };

static void pack_wrong(msgpack_packer *pk, enum wrong w)
{
	switch (w) {
	case W_NIL:
		msgpack_pack_nil(pk);
		break;
	case W_TRUE:
		msgpack_pack_true(pk);
		break;
	case W_FLOAT:
		msgpack_pack_double(pk, 1.5);
		break;
	case W_MAP:
		msgpack_pack_map(pk, 0);
		break;
	default:
		msgpack_pack_bin_with_body(pk, "x", 1);
		break;
	}
}

/* Unknown keys of all sorts, with nested values: a future version's fields. */
static unsigned pack_extras(msgpack_packer *pk)
{
	static const char blob[300] = {1, 2, 3};

	pk_key(pk, 15), msgpack_pack_array(pk, 3), msgpack_pack_nil(pk), msgpack_pack_true(pk),
		msgpack_pack_map(pk, 1), pk_str(pk, "k", 1), msgpack_pack_array(pk, 2),
		msgpack_pack_int64(pk, -5), msgpack_pack_map(pk, 0);
	pk_key(pk, 1000), msgpack_pack_map(pk, 2), pk_key(pk, 0), pk_str(pk, "zero", 4),
		pk_key(pk, 1), msgpack_pack_array(pk, 1), msgpack_pack_array(pk, 1),
		msgpack_pack_array(pk, 1), msgpack_pack_double(pk, 2.5);
	pk_key(pk, UINT64_MAX), msgpack_pack_bin_with_body(pk, blob, sizeof(blob));
	msgpack_pack_int64(pk, -1), pk_str(pk, "negative key", 12);
	pk_str(pk, "name", 4), msgpack_pack_uint64(pk, 1);
	msgpack_pack_nil(pk), msgpack_pack_ext_with_body(pk, "abcd", 4, 7);
	msgpack_pack_array(pk, 2), pk_key(pk, 1), pk_key(pk, 2), msgpack_pack_false(pk);
	pk_key(pk, 99), msgpack_pack_float(pk, 0.25f);
	return 8;
}

struct edit {
	int64_t drop; /* key to leave out, or -1 */
	int64_t repl; /* key whose value becomes a wrong value, or -1 */
	enum wrong w;
	int64_t dup; /* key to write twice, or -1 */
	bool extras; /* add unknown keys */
	bool extras_first;
};

static const struct edit NO_EDIT = {-1, -1, W_NIL, -1, false, false};

/* Re-packs the map in[0..len) with the edit applied; returns 0 or -1 if not a map. */
static int remap(const void *in, size_t len, struct mp *out, const struct edit *ed)
{
	msgpack_unpacked u;
	size_t off = 0;
	uint32_t k, n = 0;
	unsigned extra = 0;
	int rc = -1;

	mp_reset(out);
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, in, len, &off) != MSGPACK_UNPACK_SUCCESS ||
	    u.data.type != MSGPACK_OBJECT_MAP)
		goto out;
	for (k = 0; k < u.data.via.map.size; k++) {
		const msgpack_object *key = &u.data.via.map.ptr[k].key;
		bool hit = key->type == MSGPACK_OBJECT_POSITIVE_INTEGER;

		if (hit && (int64_t)key->via.u64 == ed->drop)
			continue;
		n++;
		if (hit && (int64_t)key->via.u64 == ed->dup)
			n++;
	}
	if (ed->extras)
		extra = 8;
	msgpack_pack_map(&out->pk, n + extra);
	if (ed->extras && ed->extras_first)
		pack_extras(&out->pk);
	for (k = 0; k < u.data.via.map.size; k++) {
		const msgpack_object_kv *kv = &u.data.via.map.ptr[k];
		bool hit = kv->key.type == MSGPACK_OBJECT_POSITIVE_INTEGER;
		int64_t key = hit ? (int64_t)kv->key.via.u64 : -2;

		if (key == ed->drop)
			continue;
		msgpack_pack_object(&out->pk, kv->key);
		if (key == ed->repl)
			pack_wrong(&out->pk, ed->w);
		else
			msgpack_pack_object(&out->pk, kv->val);
		if (key == ed->dup) {
			msgpack_pack_object(&out->pk, kv->key);
			msgpack_pack_object(&out->pk, kv->val);
		}
	}
	if (ed->extras && !ed->extras_first)
		pack_extras(&out->pk);
	rc = 0;
out:
	msgpack_unpacked_destroy(&u);
	return rc;
}

/* Whether the map enc[0..len) has the unsigned key `key`. */
static bool key_present(const void *enc, size_t len, uint64_t key)
{
	msgpack_unpacked u;
	size_t off = 0;
	bool found = false;
	uint32_t k;

	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, enc, len, &off) == MSGPACK_UNPACK_SUCCESS &&
	    u.data.type == MSGPACK_OBJECT_MAP) {
		for (k = 0; k < u.data.via.map.size; k++) {
			const msgpack_object *o = &u.data.via.map.ptr[k].key;

			found |= o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 == key;
		}
	}
	msgpack_unpacked_destroy(&u);
	return found;
}

/*
 * The generic rejections for one valid encoding: every known key with a
 * wrong type, each required key missing, each known key duplicated,
 * trailing bytes, every truncation, and version 0 / 2 / huge.
 */
static void check_rejections_v(const char *what, decoder_fn fn, const void *enc, size_t len,
			       unsigned nkeys, uint64_t optional_mask, int64_t version_max)
{
	struct mp m;
	struct edit ed;
	unsigned key;
	int w;
	char *tail;

	mp_init(&m);
	CHECK_RC(decode_any(fn, enc, len), 0);

	for (key = 0; key < nkeys; key++) {
		if (!key_present(enc, len, key))
			continue;
		for (w = 0; w < W_COUNT; w++) {
			ed = NO_EDIT;
			ed.repl = key;
			ed.w = (enum wrong)w;
			CHECK(remap(enc, len, &m, &ed) == 0);
			if (decode_any(fn, m.sb.data, m.sb.size) != -EIO) {
				fprintf(stderr, "%s: key %u with wrong type %d accepted\n", what,
					key, w);
				check_failures++;
			}
		}
		ed = NO_EDIT;
		ed.dup = key;
		CHECK(remap(enc, len, &m, &ed) == 0);
		if (decode_any(fn, m.sb.data, m.sb.size) != -EIO) {
			fprintf(stderr, "%s: duplicate key %u accepted\n", what, key);
			check_failures++;
		}
		if (optional_mask & (1ull << key))
			continue;
		ed = NO_EDIT;
		ed.drop = key;
		CHECK(remap(enc, len, &m, &ed) == 0);
		if (decode_any(fn, m.sb.data, m.sb.size) != -EIO) {
			fprintf(stderr, "%s: missing required key %u accepted\n", what, key);
			check_failures++;
		}
	}

	/* Unknown keys before or after the known ones change nothing. */
	ed = NO_EDIT;
	ed.extras = true;
	CHECK(remap(enc, len, &m, &ed) == 0);
	CHECK_RC(decode_any(fn, m.sb.data, m.sb.size), 0);
	ed.extras_first = true;
	CHECK(remap(enc, len, &m, &ed) == 0);
	CHECK_RC(decode_any(fn, m.sb.data, m.sb.size), 0);

	/* Versions: 0, the highest the record knows + 1, huge, negative. */
	{
		const int64_t bad[] = {0, version_max + 1, 1000, -1};
		size_t b;

		for (b = 0; b < sizeof(bad) / sizeof(bad[0]) + 1; b++) {
			msgpack_unpacked u;
			size_t off = 0;
			uint32_t k;

			msgpack_unpacked_init(&u);
			CHECK(msgpack_unpack_next(&u, enc, len, &off) == MSGPACK_UNPACK_SUCCESS);
			mp_reset(&m);
			msgpack_pack_map(&m.pk, u.data.via.map.size);
			for (k = 0; k < u.data.via.map.size; k++) {
				const msgpack_object_kv *kv = &u.data.via.map.ptr[k];

				msgpack_pack_object(&m.pk, kv->key);
				if (kv->key.type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
				    kv->key.via.u64 == 0) {
					if (b < sizeof(bad) / sizeof(bad[0]))
						msgpack_pack_int64(&m.pk, bad[b]);
					else
						msgpack_pack_uint64(&m.pk, UINT64_MAX);
				} else {
					msgpack_pack_object(&m.pk, kv->val);
				}
			}
			msgpack_unpacked_destroy(&u);
			if (decode_any(fn, m.sb.data, m.sb.size) != -EIO) {
				fprintf(stderr, "%s: bad version #%zu accepted\n", what, b);
				check_failures++;
			}
		}
	}

	/* Trailing bytes, even a single nil or zero byte. */
	tail = malloc(len + 4);
	CHECK(tail != NULL);
	memcpy(tail, enc, len);
	tail[len] = (char)0xc0;
	CHECK_RC(decode_any(fn, tail, len + 1), -EIO);
	tail[len] = 0;
	CHECK_RC(decode_any(fn, tail, len + 1), -EIO);
	memcpy(tail + len, "\x81\x00\x01", 3);
	CHECK_RC(decode_any(fn, tail, len + 3), -EIO);
	free(tail);

	check_truncations(fn, enc, len, len > 4096 ? 997 : 1);
	mp_done(&m);
}

/* check_rejections_v for a record of versions 1..FL_FORMAT_VERSION. */
static void check_rejections(const char *what, decoder_fn fn, const void *enc, size_t len,
			     unsigned nkeys, uint64_t optional_mask)
{
	check_rejections_v(what, fn, enc, len, nkeys, optional_mask, FL_FORMAT_VERSION);
}

/* Not-a-map and structural garbage: the same for every decoder. */
static void check_garbage(decoder_fn fn)
{
	static const struct {
		const char *bytes;
		size_t len;
	} cases[] = {
		{"\x90", 1},	 /* empty array */
		{"\x91\x01", 2}, /* array */
		{"\x01", 1},	 /* int */
		{"\xa3"
		 "abc",
		 4},					     /* str */
		{"\xc0", 1},				     /* nil */
		{"\xc1", 1},				     /* never-used byte */
		{"\x80", 1},				     /* empty map: no version */
		{"\x81\x00\x01\xc1", 4},		     /* map then never-used byte */
		{"\xdf\xff\xff\xff\xff", 5},		     /* map32 announcing 4G pairs */
		{"\x82\x00\x01\x05\xdd\xff\xff\xff\xff", 9}, /* array32 announcing 4G elements */
		{"\x81\x00\xdb\xff\xff\xff\xff", 7},	     /* str32 longer than the input */
		{"\x81\x00\xc6\x7f\xff\xff\xff", 7},	     /* bin32 longer than the input */
		{"\x81\x63\xc9\xff\xff\xff\xff\x01", 8},     /* ext32 longer than the input */
	};
	size_t k;
	char *big;

	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		int rc = decode_any(fn, cases[k].bytes, cases[k].len);

		if (rc != -EIO) {
			fprintf(stderr, "garbage case %zu: rc %d\n", k, rc);
			check_failures++;
		}
	}
	CHECK_RC(fn("", 0, &(union any_rec){0}), -EIO);
	CHECK_RC(fn(NULL, 0, &(union any_rec){0}), -EIO);

	/* Longer than FL_REC_MAX: -EIO before looking at it. */
	big = calloc(1, (size_t)FL_REC_MAX + 1);
	CHECK(big != NULL);
	CHECK_RC(decode_any(fn, big, (size_t)FL_REC_MAX + 1), -EIO);
	free(big);

	/* Nesting: 12 levels in an unknown key are fine only for a valid record, so
	 * just check deep nesting is refused cleanly. */
	{
		struct mp m;
		int d;

		mp_init(&m);
		msgpack_pack_map(&m.pk, 2);
		pk_key(&m.pk, 0), msgpack_pack_uint64(&m.pk, 1);
		pk_key(&m.pk, 500);
		for (d = 0; d < 100; d++)
			msgpack_pack_array(&m.pk, 1);
		msgpack_pack_nil(&m.pk);
		CHECK_RC(decode_any(fn, m.sb.data, m.sb.size), -EIO);
		mp_done(&m);
	}
}

/* A valid encoding plus an unknown key holding `depth` nested arrays. */
static int decode_with_nesting(decoder_fn fn, const void *enc, size_t len, int depth)
{
	msgpack_unpacked u;
	struct mp m;
	size_t off = 0;
	uint32_t k;
	int d, rc;

	mp_init(&m);
	msgpack_unpacked_init(&u);
	msgpack_unpack_next(&u, enc, len, &off);
	msgpack_pack_map(&m.pk, u.data.via.map.size + 1);
	for (k = 0; k < u.data.via.map.size; k++) {
		msgpack_pack_object(&m.pk, u.data.via.map.ptr[k].key);
		msgpack_pack_object(&m.pk, u.data.via.map.ptr[k].val);
	}
	pk_key(&m.pk, 77);
	for (d = 0; d < depth; d++)
		msgpack_pack_array(&m.pk, 1);
	msgpack_pack_uint64(&m.pk, 3);
	rc = decode_any(fn, m.sb.data, m.sb.size);
	msgpack_unpacked_destroy(&u);
	mp_done(&m);
	return rc;
}

/* ------------------------------------------------------------------ */

static void test_crc32c(void)
{
	static const char check[] = "123456789";
	uint8_t data[1000];
	uint32_t k, c, whole;
	size_t n;

	CHECK(fl_crc32c(0, check, 9) == 0xE3069283u);
	CHECK(fl_crc32c(0, "", 0) == 0);
	CHECK(fl_crc32c(0, NULL, 0) == 0);
	/* 32 bytes of zeros / of 0xff: the iSCSI (RFC 3720 B.4) vectors. */
	memset(data, 0, 32);
	CHECK(fl_crc32c(0, data, 32) == 0x8A9136AAu);
	memset(data, 0xff, 32);
	CHECK(fl_crc32c(0, data, 32) == 0x62A8AB43u);

	/* Against the bitwise definition, and chaining. */
	for (n = 0; n < sizeof(data); n++)
		data[n] = (uint8_t)(n * 7 + (n >> 3));
	for (n = 0; n <= sizeof(data); n += 37) {
		c = 0xffffffffu;
		for (k = 0; k < n; k++) {
			int b;

			c ^= data[k];
			for (b = 0; b < 8; b++)
				c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		}
		CHECK(fl_crc32c(0, data, n) == ~c);
	}
	whole = fl_crc32c(0, data, sizeof(data));
	CHECK(fl_crc32c(fl_crc32c(0, data, 333), data + 333, sizeof(data) - 333) == whole);
}

/*
 * A super packed by hand: version 1, uuid UUID, name "v", block size 4096
 * and 1 in keys 4 to 10, but for key `key`: a string of slen bytes (str, or
 * 'a' repeated when str is NULL) if slen, else the integer u (-u if neg).
 */
struct super_key {
	const char *what;
	unsigned key;
	const char *str;
	size_t slen;
	uint64_t u;
	bool neg;
	int rc; /* what the decoder must return */
};

static const struct super_key super_by_hand[] = {
	{"uuid of 37 characters", 1, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f00", 37, 0, false, -EIO},
	{"name of FL_VOLNAME_MAX + 1", 2, NULL, FL_VOLNAME_MAX + 1, 0, false, -EIO},
	{"name of FL_VOLNAME_MAX", 2, NULL, FL_VOLNAME_MAX, 0, false, 0},
	{"block size 0", 3, NULL, 0, 0, false, -EIO},
	{"block size 3", 3, NULL, 0, 3, false, -EIO},
	{"block size 4097", 3, NULL, 0, 4097, false, -EIO},
	{"block size 2^32", 3, NULL, 0, 1ull << 32, false, -EIO},
	{"size limit -1", 4, NULL, 0, 1, true, -EIO},
	{"created beyond INT64_MAX", 5, NULL, 0, (uint64_t)INT64_MAX + 1, false, -EIO},
};

static void pack_super_with(struct mp *m, const struct super_key *c)
{
	static char fill[FL_VOLNAME_MAX + 1];
	unsigned k;

	memset(fill, 'a', sizeof(fill));
	mp_reset(m);
	msgpack_pack_map(&m->pk, 11);
	for (k = 0; k <= 10; k++) {
		pk_key(&m->pk, k);
		if (k == c->key && c->slen)
			pk_str(&m->pk, c->str ? c->str : fill, c->slen);
		else if (k == c->key && c->neg)
			msgpack_pack_int64(&m->pk, -(int64_t)c->u);
		else if (k == c->key)
			msgpack_pack_uint64(&m->pk, c->u);
		else if (k == 1)
			pk_str(&m->pk, UUID, 36);
		else if (k == 2)
			pk_str(&m->pk, "v", 1);
		else
			msgpack_pack_uint64(&m->pk, k == 3 ? 4096 : 1);
	}
}

static void test_super(void)
{
	struct fl_super_rec s, d;
	struct fl_buf b;
	struct mp m;

	fl_buf_init(&b, FL_REC_MAX);
	mp_init(&m);

	mk_super(&s);
	CHECK_SAME_BYTES(super, &s, &d, b, m);
	check_rejections_v("super", dec_super, b.data, b.len, 11, 0, FL_SUPER_VERSION);
	check_garbage(dec_super);
	CHECK_RC(decode_with_nesting(dec_super, b.data, b.len, 12), 0);
	CHECK_RC(decode_with_nesting(dec_super, b.data, b.len, 40), -EIO);

	/* Edge values. */
	memset(s.name, 'n', FL_VOLNAME_MAX);
	s.name[FL_VOLNAME_MAX] = '\0';
	s.block_size = 1u << 31;
	s.size_limit = UINT64_MAX;
	s.created = INT64_MIN;
	s.next_ino = UINT64_MAX;
	s.jtail = UINT64_MAX;
	s.used_bytes = UINT64_MAX;
	s.inodes = UINT64_MAX;
	s.itab_shard_bits = 63;
	CHECK_REENCODE(super, &s, &d, b);
	s.created = INT64_MAX;
	s.block_size = 1;
	s.itab_shard_bits = 0;
	s.name[0] = '0';
	CHECK_REENCODE(super, &s, &d, b);

	/* Encoder refuses what the decoder would refuse; the decoder refuses it too. */
	{
		static const char *bad_uuids[] = {
			"0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0", /* upper case */
			"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f",	/* 35 */
			"0f1e2d3c04b5a-6978-8796-a5b4c3d2e1f0", /* dash misplaced */
			"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1g0", /* not hex */
			"",
		};
		static const char *bad_names[] = {"",	 "-a",	".a",  "_a",
						  "a b", "a/b", "a:b", "\xc3\xa9"};
		size_t k;

		for (k = 0; k < sizeof(bad_uuids) / sizeof(bad_uuids[0]); k++) {
			mk_super(&s);
			snprintf(s.uuid, sizeof(s.uuid), "%s", bad_uuids[k]);
			CHECK_REFUSED(super, &s, b, m);
			CHECK(b.len == 0);
		}
		for (k = 0; k < sizeof(bad_names) / sizeof(bad_names[0]); k++) {
			mk_super(&s);
			snprintf(s.name, sizeof(s.name), "%s", bad_names[k]);
			CHECK_REFUSED(super, &s, b, m);
		}
		/* Block size not a power of two, zero; shard bits 64. */
		{
			static const uint32_t bad_bs[] = {0, 3, 4097};

			for (k = 0; k < sizeof(bad_bs) / sizeof(bad_bs[0]); k++) {
				mk_super(&s);
				s.block_size = bad_bs[k];
				fl_buf_reset(&b);
				CHECK_RC(fl_super_encode(&s, &b), -EINVAL);
			}
			mk_super(&s);
			s.itab_shard_bits = 64;
			CHECK_REFUSED(super, &s, b, m);
		}
		/* What the struct cannot hold, and bad block sizes: packed by hand. */
		for (k = 0; k < sizeof(super_by_hand) / sizeof(super_by_hand[0]); k++) {
			pack_super_with(&m, &super_by_hand[k]);
			if (decode_any(dec_super, m.sb.data, m.sb.size) != super_by_hand[k].rc) {
				fprintf(stderr, "super packed by hand: %s: not %d\n",
					super_by_hand[k].what, super_by_hand[k].rc);
				check_failures++;
			}
		}
	}

	/* Output zeroed on error. */
	{
		struct fl_super_rec z;

		memset(&z, 0, sizeof(z));
		memset(&d, 0x77, sizeof(d));
		CHECK_RC(fl_super_decode("\x80", 1, &d), -EIO);
		CHECK(memcmp(&d, &z, sizeof(z)) == 0);
	}

	/* Encoder and the buffer cap: -E2BIG, buffer untouched. */
	{
		struct fl_buf small;

		mk_super(&s);
		fl_buf_init(&small, 10);
		CHECK_RC(fl_buf_append(&small, "abc", 3), 0);
		CHECK_RC(fl_super_encode(&s, &small), -E2BIG);
		CHECK(small.len == 3 && memcmp(small.data, "abc", 3) == 0);
		fl_buf_free(&small);
		/* Appending after existing content works. */
		fl_buf_init(&small, FL_REC_MAX);
		CHECK_RC(fl_buf_append(&small, "xyz", 3), 0);
		CHECK_RC(fl_super_encode(&s, &small), 0);
		CHECK_RC(fl_super_decode(small.data + 3, small.len - 3, &d), 0);
		CHECK(rec_eq_super(&s, &d));
		fl_buf_free(&small);
	}

	mp_done(&m);
	fl_buf_free(&b);
}

/* Key 11 of super: absent (0) until the first snapshot, then kept. */
static void test_super_snap_seq(void)
{
	struct fl_super_rec s, d;
	struct fl_buf b;
	struct mp m;

	fl_buf_init(&b, FL_REC_MAX);
	mp_init(&m);
	mk_super(&s);
	s.snap_seq = 0;
	CHECK_RC(fl_super_encode(&s, &b), 0);
	raw_super(&m.pk, &s); /* 11 keys: an older super, byte for byte */
	CHECK(b.len == m.sb.size && memcmp(b.data, m.sb.data, b.len) == 0);
	fl_buf_reset(&b);
	mp_reset(&m);
	s.snap_seq = 7;
	CHECK_RC(fl_super_encode(&s, &b), 0);
	raw_super_keys(&m.pk, &s, true);
	CHECK(b.len == m.sb.size && memcmp(b.data, m.sb.data, b.len) == 0);
	memset(&d, 0x5a, sizeof(d));
	CHECK_RC(fl_super_decode(b.data, b.len, &d), 0);
	CHECK(rec_eq_super(&s, &d) && d.snap_seq == 7);
	check_rejections_v("super+snap_seq", dec_super, b.data, b.len, 12, 1ull << 11,
			   FL_SUPER_VERSION);
	s.snap_seq = UINT64_MAX;
	fl_buf_reset(&b);
	CHECK_RC(fl_super_encode(&s, &b), 0);
	CHECK_RC(fl_super_decode(b.data, b.len, &d), 0);
	CHECK_EQ(d.snap_seq, UINT64_MAX);
	mp_done(&m);
	fl_buf_free(&b);
}

static void test_snap(void)
{
	struct fl_snap_rec r, d;
	struct fl_buf b;
	struct mp m;
	char host[FL_SNAP_HOST_MAX + 2];

	fl_buf_init(&b, FL_REC_MAX);
	mp_init(&m);
	memset(&r, 0, sizeof(r));
	r.version = FL_FORMAT_VERSION;
	r.id = 4;
	r.created = 1700000000;
	r.created_ns = 123456789;
	strcpy(r.host, "host-a");
	CHECK_RC(fl_snap_encode(&r, &b), 0);
	raw_snap(&m.pk, 4, 1700000000, 123456789, 0, "host-a", 6);
	CHECK(b.len == m.sb.size && memcmp(b.data, m.sb.data, b.len) == 0);
	memset(&d, 0x5a, sizeof(d));
	CHECK_RC(fl_snap_decode(b.data, b.len, &d), 0);
	CHECK(rec_eq_snap(&r, &d) && d.version == 1);
	check_rejections("snap", dec_snap, b.data, b.len, 6, 0);
	check_garbage(dec_snap);
	CHECK_RC(decode_with_nesting(dec_snap, b.data, b.len, 12), 0);
	CHECK_RC(decode_with_nesting(dec_snap, b.data, b.len, 40), -EIO);

	/* edge values */
	r.id = FL_SNAP_ID_MAX;
	r.created = INT64_MIN;
	r.created_ns = 999999999;
	r.state = FL_SNAP_REMOVING;
	memset(r.host, 'h', FL_SNAP_HOST_MAX);
	r.host[FL_SNAP_HOST_MAX] = '\0';
	CHECK_REENCODE(snap, &r, &d, b);
	r.host[0] = '\0';
	r.id = 1;
	r.created = INT64_MAX;
	CHECK_REENCODE(snap, &r, &d, b);

	/* refused by both: id 0 and RADOS's own ids, a bad state, ns, host */
	{
		static const struct {
			uint64_t id, ns, state;
			size_t hlen;
		} bad[] = {
			{0, 0, 0, 1},	       {FL_SNAP_ID_MAX + 1, 0, 0, 1},
			{UINT64_MAX, 0, 0, 1}, {1, 1000000000, 0, 1},
			{1, 0, 2, 1},	       {1, 0, 0, FL_SNAP_HOST_MAX + 1},
		};

		memset(host, 'x', sizeof(host));
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			memset(&r, 0, sizeof(r));
			r.id = bad[i].id;
			r.created_ns = (uint32_t)bad[i].ns;
			r.state = (uint32_t)bad[i].state;
			memcpy(r.host, host, bad[i].hlen < sizeof(r.host) ? bad[i].hlen : 0);
			fl_buf_reset(&b);
			if (bad[i].hlen < sizeof(r.host))
				CHECK_RC(fl_snap_encode(&r, &b), -EINVAL);
			mp_reset(&m);
			raw_snap(&m.pk, bad[i].id, 0, bad[i].ns, bad[i].state, host, bad[i].hlen);
			CHECK_RC(decode_any(dec_snap, m.sb.data, m.sb.size), -EIO);
		}
		/* a NUL inside the host */
		mp_reset(&m);
		raw_snap(&m.pk, 1, 0, 0, 0, "ab\0c", 4);
		CHECK_RC(decode_any(dec_snap, m.sb.data, m.sb.size), -EIO);
		/* longer than FL_SNAP_REC_MAX, with an unknown key */
		{
			static char big[FL_SNAP_REC_MAX];

			mp_reset(&m);
			msgpack_pack_map(&m.pk, 7);
			pk_key(&m.pk, 0), msgpack_pack_uint64(&m.pk, 1);
			pk_key(&m.pk, 1), msgpack_pack_uint64(&m.pk, 1);
			pk_key(&m.pk, 2), msgpack_pack_int64(&m.pk, 0);
			pk_key(&m.pk, 3), msgpack_pack_uint64(&m.pk, 0);
			pk_key(&m.pk, 4), msgpack_pack_uint64(&m.pk, 0);
			pk_key(&m.pk, 5), pk_str(&m.pk, "", 0);
			pk_key(&m.pk, 40), msgpack_pack_bin_with_body(&m.pk, big, sizeof(big));
			CHECK_RC(decode_any(dec_snap, m.sb.data, m.sb.size), -EIO);
		}
	}
	mp_done(&m);
	fl_buf_free(&b);
}

static int dec_parent(const void *p, size_t n, void *o)
{
	return fl_parent_decode(p, n, o);
}

static void test_parent(void)
{
	struct fl_parent_rec r, d;
	struct fl_buf b;
	struct mp m;

	fl_buf_init(&b, FL_REC_MAX);
	mp_init(&m);
	memset(&r, 0, sizeof(r));
	r.version = FL_FORMAT_VERSION;
	strcpy(r.uuid, UUID);
	r.snap_id = 7;
	strcpy(r.snap, "clone-copy-1700000000");
	strcpy(r.name, "volume-1");
	r.created = 1700000002;
	CHECK_SAME_BYTES(parent, &r, &d, b, m);
	check_rejections("parent", dec_parent, b.data, b.len, 6, 0);
	check_garbage(dec_parent);

	/* names follow the volume name rule */
	strcpy(r.snap, "-bad");
	CHECK_REFUSED(parent, &r, b, m);
	strcpy(r.snap, "s");
	r.name[0] = '\0';
	CHECK_REFUSED(parent, &r, b, m);
	mp_done(&m);
	fl_buf_free(&b);
}

static void test_volreg(void)
{
	struct fl_volreg_rec r, d;
	struct fl_buf b;
	struct mp m;

	fl_buf_init(&b, FL_REC_MAX);
	mp_init(&m);
	mk_volreg(&r);
	CHECK_SAME_BYTES(volreg, &r, &d, b, m);
	check_rejections("volreg", dec_volreg, b.data, b.len, 4, 0);
	check_garbage(dec_volreg);

	r.created = INT64_MIN;
	r.size_limit = UINT64_MAX;
	CHECK_REENCODE(volreg, &r, &d, b);
	r.created = 0;
	r.size_limit = 0;
	CHECK_REENCODE(volreg, &r, &d, b);

	r.uuid[0] = 'A';
	CHECK_REFUSED(volreg, &r, b, m);
	mp_done(&m);
	fl_buf_free(&b);
}

static void test_dirent(void)
{
	static const uint32_t types[] = {S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR,
					 S_IFBLK, S_IFIFO, S_IFSOCK};
	static const uint32_t bad_types[] = {0, S_IFREG | 0644, 0170000, 0160000, 1};
	struct fl_dirent_rec de, d;
	struct fl_buf b;
	struct mp m;
	size_t k;

	fl_buf_init(&b, FL_REC_MAX);
	mp_init(&m);
	for (k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
		de.ino = k == 0 ? UINT64_MAX : k;
		de.type = types[k];
		CHECK_SAME_BYTES(dirent, &de, &d, b, m);
	}
	check_rejections("dirent", dec_dirent, b.data, b.len, 3, 0);
	check_garbage(dec_dirent);
	for (k = 0; k < sizeof(bad_types) / sizeof(bad_types[0]); k++) {
		de.ino = 5;
		de.type = bad_types[k];
		CHECK_REFUSED(dirent, &de, b, m);
	}
	mp_done(&m);
	fl_buf_free(&b);
}

/* Fills 1024 xattrs whose name + value bytes total exactly FL_XATTRS_BYTES. */
static void mk_xattrs_full(struct fl_inode_rec *i)
{
	uint32_t k;

	i->nxattrs = FL_XATTRS_MAX;
	i->xattrs = calloc(FL_XATTRS_MAX, sizeof(*i->xattrs));
	for (k = 0; k < FL_XATTRS_MAX; k++) {
		struct fl_xattr *x = &i->xattrs[k];
		size_t nlen;

		x->name = malloc(FL_XATTR_NAME_MAX + 1);
		if (k == 0) {
			memset(x->name, 'N', FL_XATTR_NAME_MAX);
			x->name[FL_XATTR_NAME_MAX] = '\0';
		} else {
			snprintf(x->name, FL_XATTR_NAME_MAX + 1, "user.attr%04u", (unsigned)k);
		}
		nlen = strlen(x->name);
		x->vlen = (uint32_t)(FL_XATTRS_BYTES / FL_XATTRS_MAX - nlen);
		if (k == 1) { /* an empty value; give its bytes to the next one */
			x->vlen = 0;
			continue;
		}
		if (k == 2)
			x->vlen += (uint32_t)(FL_XATTRS_BYTES / FL_XATTRS_MAX -
					      strlen("user.attr0001"));
		x->value = malloc(x->vlen);
		memset(x->value, (int)k, x->vlen);
	}
}

static void test_inode(void)
{
	struct fl_inode_rec i, d, c;
	struct fl_buf b;
	struct mp m;
	uint64_t total;
	uint32_t k;
	char *target;

	fl_buf_init(&b, FL_REC_MAX);
	mp_init(&m);

	/* Plain file, no xattrs. */
	mk_inode(&i, S_IFREG | 0644);
	CHECK_SAME_BYTES(inode, &i, &d, b, m);
	CHECK(d.symlink == NULL && d.xattrs == NULL);
	fl_inode_rec_free(&d);
	check_rejections("inode", dec_inode, b.data, b.len, 15, 1ull << 13 | 1ull << 14);
	check_garbage(dec_inode);
	CHECK(!d.has_bmap); /* a record without the map (written before it existed) */

	/* Big integers and timestamp bounds. */
	i.ino = UINT64_MAX;
	i.mode = S_IFCHR | 07777;
	i.uid = UINT32_MAX;
	i.gid = UINT32_MAX;
	i.nlink = UINT32_MAX;
	i.size = UINT64_MAX;
	i.rdev = UINT64_MAX;
	i.generation = UINT64_MAX;
	i.atime.tv_sec = INT64_MIN;
	i.atime.tv_nsec = 0;
	i.mtime.tv_sec = INT64_MAX;
	i.mtime.tv_nsec = 999999999;
	i.ctime.tv_sec = 0;
	i.ctime.tv_nsec = 0;
	CHECK_REENCODE(inode, &i, &d, b);
	fl_inode_rec_free(&d);

	/* Nanoseconds out of range: encoder -EINVAL, decoder -EIO. */
	mk_inode(&i, S_IFREG | 0600);
	i.mtime.tv_nsec = 1000000000;
	CHECK_REFUSED(inode, &i, b, m);
	i.mtime.tv_nsec = -1;
	CHECK_RC(fl_inode_encode(&i, &b), -EINVAL);
	mp_reset(&m);
	raw_inode(&m.pk, &i);
	CHECK_RC(decode_any(dec_inode, m.sb.data, m.sb.size), -EIO);
	/* Timestamp arrays of the wrong shape. */
	{
		static const int shapes[] = {0, 1, 3};
		size_t s;

		for (s = 0; s < 3; s++) {
			int e;

			mk_inode(&i, S_IFREG | 0600);
			mp_reset(&m);
			msgpack_pack_map(&m.pk, 13);
			pk_key(&m.pk, 0), msgpack_pack_uint64(&m.pk, 1);
			pk_key(&m.pk, 1), msgpack_pack_uint64(&m.pk, 1);
			pk_key(&m.pk, 2), msgpack_pack_uint64(&m.pk, S_IFREG | 0600);
			for (k = 3; k <= 8; k++)
				pk_key(&m.pk, k), msgpack_pack_uint64(&m.pk, 0);
			pk_key(&m.pk, 9), msgpack_pack_array(&m.pk, (size_t)shapes[s]);
			for (e = 0; e < shapes[s]; e++)
				msgpack_pack_uint64(&m.pk, 1);
			for (k = 10; k <= 12; k++)
				pk_key(&m.pk, k), pk_ts(&m.pk, &i.mtime);
			CHECK_RC(decode_any(dec_inode, m.sb.data, m.sb.size), -EIO);
		}
	}

	/* Bad modes. */
	{
		static const uint32_t bad_modes[] = {0644, 0170644, S_IFREG | 010000, 0xffffffffu,
						     S_IFREG | 0644 | 0200000};

		for (k = 0; k < 5; k++) {
			mk_inode(&i, bad_modes[k]);
			CHECK_REFUSED(inode, &i, b, m);
		}
	}

	/* Symlinks: 1 and FL_SYMLINK_MAX bytes; too long; missing; on a non-link; with NUL. */
	target = malloc(FL_SYMLINK_MAX + 2);
	memset(target, 't', FL_SYMLINK_MAX + 1);
	target[FL_SYMLINK_MAX] = '\0';
	mk_inode(&i, S_IFLNK | 0777);
	i.symlink = target;
	CHECK_REENCODE(inode, &i, &d, b);
	fl_inode_rec_free(&d);
	check_rejections("symlink inode", dec_inode, b.data, b.len, 15, 1ull << 14);
	target[FL_SYMLINK_MAX] = 't';
	target[FL_SYMLINK_MAX + 1] = '\0';
	CHECK_REFUSED(inode, &i, b, m);
	i.symlink = (char *)"x";
	CHECK_REENCODE(inode, &i, &d, b);
	fl_inode_rec_free(&d);
	i.symlink = (char *)"";
	CHECK_RC(fl_inode_encode(&i, &b), -EINVAL);
	mp_reset(&m);
	raw_inode(&m.pk, &i);
	CHECK_RC(decode_any(dec_inode, m.sb.data, m.sb.size), -EIO);
	i.symlink = NULL;
	CHECK_RC(fl_inode_encode(&i, &b), -EINVAL);
	mp_reset(&m);
	raw_inode(&m.pk, &i);
	CHECK_RC(decode_any(dec_inode, m.sb.data, m.sb.size), -EIO);
	mk_inode(&i, S_IFREG | 0644);
	i.symlink = (char *)"target";
	CHECK_RC(fl_inode_encode(&i, &b), -EINVAL);
	mp_reset(&m);
	raw_inode(&m.pk, &i);
	CHECK_RC(decode_any(dec_inode, m.sb.data, m.sb.size), -EIO);
	{
		mk_inode(&i, S_IFLNK | 0777);
		mp_reset(&m);
		msgpack_pack_map(&m.pk, 14);
		pk_key(&m.pk, 0), msgpack_pack_uint64(&m.pk, 1);
		pk_key(&m.pk, 1), msgpack_pack_uint64(&m.pk, 1);
		pk_key(&m.pk, 2), msgpack_pack_uint64(&m.pk, S_IFLNK | 0777);
		for (k = 3; k <= 8; k++)
			pk_key(&m.pk, k), msgpack_pack_uint64(&m.pk, 0);
		for (k = 9; k <= 12; k++)
			pk_key(&m.pk, k), pk_ts(&m.pk, &i.mtime);
		pk_key(&m.pk, 13), pk_str(&m.pk, "a\0b", 3);
		CHECK_RC(decode_any(dec_inode, m.sb.data, m.sb.size), -EIO);
	}
	free(target);

	/* 1024 xattrs, exactly FL_XATTRS_BYTES, a 255-byte name, an empty value. */
	mk_inode(&i, S_IFDIR | 02755);
	mk_xattrs_full(&i);
	total = 0;
	for (k = 0; k < i.nxattrs; k++)
		total += strlen(i.xattrs[k].name) + i.xattrs[k].vlen;
	CHECK(total == FL_XATTRS_BYTES);
	CHECK_SAME_BYTES(inode, &i, &d, b, m);
	CHECK(d.nxattrs == FL_XATTRS_MAX && d.xattrs[1].vlen == 0 && d.xattrs[1].value == NULL);
	fl_inode_rec_free(&d);
	CHECK(d.xattrs == NULL && d.nxattrs == 0);
	check_rejections("inode+xattrs", dec_inode, b.data, b.len, 15, 1ull << 13 | 1ull << 14);

	/* Deep copy, independent of the source. */
	CHECK_RC(fl_inode_rec_copy(&c, &i), 0);
	CHECK(rec_eq_inode(&i, &c));
	CHECK(c.xattrs != i.xattrs && c.xattrs[5].name != i.xattrs[5].name);
	((char *)c.xattrs[5].value)[0] ^= 1;
	CHECK(!rec_eq_inode(&i, &c));
	fl_inode_rec_free(&c);

	/* One byte over the total. */
	i.xattrs[3].vlen++;
	i.xattrs[3].value = realloc(i.xattrs[3].value, i.xattrs[3].vlen);
	fl_buf_reset(&b);
	CHECK_RC(fl_inode_encode(&i, &b), -EINVAL);
	CHECK(b.len == 0);
	mp_reset(&m);
	raw_inode(&m.pk, &i);
	CHECK_RC(decode_any(dec_inode, m.sb.data, m.sb.size), -EIO);
	i.xattrs[3].vlen--;

	/* Duplicate names. */
	{
		char *saved = i.xattrs[700].name;

		i.xattrs[700].name = i.xattrs[100].name;
		CHECK_REFUSED(inode, &i, b, m);
		i.xattrs[700].name = saved;
	}
	/* Name of 256 bytes; empty name. */
	{
		char *saved = i.xattrs[0].name;
		char longname[FL_XATTR_NAME_MAX + 2];

		memset(longname, 'L', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		i.xattrs[0].name = longname;
		CHECK_RC(fl_inode_encode(&i, &b), -EINVAL);
		mp_reset(&m);
		raw_inode(&m.pk, &i);
		CHECK_RC(decode_any(dec_inode, m.sb.data, m.sb.size), -EIO);
		i.xattrs[0].name = (char *)"";
		CHECK_RC(fl_inode_encode(&i, &b), -EINVAL);
		mp_reset(&m);
		raw_inode(&m.pk, &i);
		CHECK_RC(decode_any(dec_inode, m.sb.data, m.sb.size), -EIO);
		i.xattrs[0].name = saved;
	}
	fl_inode_rec_free(&i);

	/* 1025 xattrs (small ones). */
	mk_inode(&i, S_IFREG | 0644);
	i.xattrs = calloc(FL_XATTRS_MAX + 1, sizeof(*i.xattrs));
	i.nxattrs = FL_XATTRS_MAX + 1;
	for (k = 0; k < i.nxattrs; k++) {
		i.xattrs[k].name = malloc(16);
		snprintf(i.xattrs[k].name, 16, "u.%u", (unsigned)k);
	}
	CHECK_REFUSED(inode, &i, b, m);
	i.nxattrs = FL_XATTRS_MAX;
	CHECK_RC(fl_inode_encode(&i, &b), 0);
	i.nxattrs = FL_XATTRS_MAX + 1;
	fl_inode_rec_free(&i);

	/* Value of FL_XATTR_VAL_MAX, then one more; value as str, name as bin. */
	mk_inode(&i, S_IFREG | 0644);
	i.xattrs = calloc(1, sizeof(*i.xattrs));
	i.nxattrs = 1;
	i.xattrs[0].name = strdup("trusted.big");
	i.xattrs[0].vlen = FL_XATTR_VAL_MAX;
	i.xattrs[0].value = calloc(1, FL_XATTR_VAL_MAX + 1);
	CHECK_REENCODE(inode, &i, &d, b);
	fl_inode_rec_free(&d);
	i.xattrs[0].vlen++;
	CHECK_RC(fl_inode_encode(&i, &b), -EINVAL);
	mp_reset(&m);
	raw_inode(&m.pk, &i);
	CHECK_RC(decode_any(dec_inode, m.sb.data, m.sb.size), -EIO);
	i.xattrs[0].vlen = 3;
	{
		/* xattr entries of the wrong shape */
		static const int variant_count = 6;
		int v;

		for (v = 0; v < variant_count; v++) {
			mp_reset(&m);
			msgpack_pack_map(&m.pk, 14);
			pk_key(&m.pk, 0), msgpack_pack_uint64(&m.pk, 1);
			pk_key(&m.pk, 1), msgpack_pack_uint64(&m.pk, 1);
			pk_key(&m.pk, 2), msgpack_pack_uint64(&m.pk, S_IFREG | 0600);
			for (k = 3; k <= 8; k++)
				pk_key(&m.pk, k), msgpack_pack_uint64(&m.pk, 0);
			for (k = 9; k <= 12; k++)
				pk_key(&m.pk, k), pk_ts(&m.pk, &i.mtime);
			pk_key(&m.pk, 14), msgpack_pack_array(&m.pk, 1);
			switch (v) {
			case 0: /* value as str */
				msgpack_pack_array(&m.pk, 2), pk_str(&m.pk, "a", 1),
					pk_str(&m.pk, "v", 1);
				break;
			case 1: /* name as bin */
				msgpack_pack_array(&m.pk, 2);
				msgpack_pack_bin_with_body(&m.pk, "a", 1);
				msgpack_pack_bin_with_body(&m.pk, "v", 1);
				break;
			case 2: /* 3 elements */
				msgpack_pack_array(&m.pk, 3), pk_str(&m.pk, "a", 1);
				msgpack_pack_bin_with_body(&m.pk, "v", 1), msgpack_pack_nil(&m.pk);
				break;
			case 3: /* a map instead of a pair */
				msgpack_pack_map(&m.pk, 1), pk_str(&m.pk, "a", 1);
				msgpack_pack_bin_with_body(&m.pk, "v", 1);
				break;
			case 4: /* NUL in the name */
				msgpack_pack_array(&m.pk, 2), pk_str(&m.pk, "a\0b", 3);
				msgpack_pack_bin_with_body(&m.pk, "v", 1);
				break;
			default: /* xattrs as a map */
				m.sb.size--;
				msgpack_pack_map(&m.pk, 0);
				break;
			}
			CHECK_RC(decode_any(dec_inode, m.sb.data, m.sb.size), -EIO);
		}
	}
	fl_inode_rec_free(&i);

	/* Empty xattrs array decodes as none; freeing a zeroed record is fine. */
	{
		mk_inode(&i, S_IFREG | 0644);
		mp_reset(&m);
		msgpack_pack_map(&m.pk, 14);
		pk_key(&m.pk, 0), msgpack_pack_uint64(&m.pk, 1);
		pk_key(&m.pk, 1), msgpack_pack_uint64(&m.pk, 42);
		pk_key(&m.pk, 2), msgpack_pack_uint64(&m.pk, S_IFREG | 0644);
		for (k = 3; k <= 8; k++)
			pk_key(&m.pk, k), msgpack_pack_uint64(&m.pk, 0);
		for (k = 9; k <= 12; k++)
			pk_key(&m.pk, k), pk_ts(&m.pk, &i.mtime);
		pk_key(&m.pk, 14), msgpack_pack_array(&m.pk, 0);
		CHECK_RC(fl_inode_decode(m.sb.data, m.sb.size, &d), 0);
		CHECK(d.nxattrs == 0 && d.xattrs == NULL);
		fl_inode_rec_free(&d);
		memset(&d, 0, sizeof(d));
		fl_inode_rec_free(&d);
		fl_inode_rec_free(NULL);
	}

	/* On error the output is zeroed. */
	memset(&d, 0x44, sizeof(d));
	CHECK_RC(fl_inode_decode("\x81\x00\x01", 3, &d), -EIO);
	CHECK(d.symlink == NULL && d.xattrs == NULL && d.nxattrs == 0 && d.ino == 0);

	mp_done(&m);
	fl_buf_free(&b);
}

/* A transaction using every op kind. */
static void mk_jtxn(struct fl_jtxn *t, struct fl_jop *ops, char *longname)
{
	memset(t, 0, sizeof(*t));
	memset(ops, 0, 6 * sizeof(*ops));
	t->version = FL_FORMAT_VERSION;
	t->tid = 99;
	t->next_ino = 1000;
	t->used_bytes = 1ull << 33;
	t->inodes = 17;
	t->ops = ops;
	t->nops = 6;
	ops[0].kind = FL_JOP_INODE_PUT;
	mk_inode(&ops[0].inode, S_IFREG | 0644);
	ops[1].kind = FL_JOP_DENT_SET;
	ops[1].ino = 1;
	ops[1].name = longname;
	ops[1].dent.ino = 42;
	ops[1].dent.type = S_IFREG;
	ops[2].kind = FL_JOP_DENT_DEL;
	ops[2].ino = 1;
	ops[2].name = (char *)"old";
	ops[3].kind = FL_JOP_INODE_DEL;
	ops[3].ino = 41;
	ops[4].kind = FL_JOP_ORPHAN_ADD;
	ops[4].ino = UINT64_MAX;
	ops[5].kind = FL_JOP_ORPHAN_DEL;
	ops[5].ino = 40;
}

/* A one-op transaction with a DENT_SET named name[0..nlen). */
static int decode_named_op(const char *name, size_t nlen, uint32_t kind)
{
	struct fl_jtxn t = {0};
	struct fl_jop op = {0};
	struct mp m;
	int rc;

	op.kind = kind;
	op.ino = 1;
	op.name = (char *)name;
	op.dent.ino = 2;
	op.dent.type = S_IFDIR;
	t.tid = 1;
	mp_init(&m);
	raw_jtxn_hdr(&m.pk, &t, 1);
	raw_jop(&m.pk, &op, nlen);
	rc = decode_any(dec_jtxn, m.sb.data, m.sb.size);
	mp_done(&m);
	return rc;
}

/* An INODE_PUT with an append's deps (keys 6 and 7): decoded as encoded,
 * encoded again byte for byte; refused when out of bounds. */
static void test_jtxn_deps(void)
{
	struct fl_jdep deps[FL_JDEPS_MAX + 1];
	struct fl_jtxn t = {0}, d = {0};
	struct fl_jop op = {0};
	struct fl_buf b, b2;
	uint32_t k;

	fl_buf_init(&b, FL_REC_MAX);
	fl_buf_init(&b2, FL_REC_MAX);
	for (k = 0; k <= FL_JDEPS_MAX; k++) {
		deps[k].index = UINT64_MAX - k;
		deps[k].len = 8192 + k;
	}
	t.version = FL_FORMAT_VERSION;
	t.tid = 7;
	t.ops = &op;
	t.nops = 1;
	op.kind = FL_JOP_INODE_PUT;
	mk_inode(&op.inode, S_IFREG | 0600);
	op.grow_from = 123456;
	op.deps = deps;
	op.ndeps = 2;
	CHECK_RC(fl_jtxn_encode(&t, &b), 0);
	CHECK_RC(fl_jtxn_decode(b.data, b.len, &d), 0);
	CHECK(d.nops == 1 && d.ops[0].grow_from == 123456 && d.ops[0].ndeps == 2 &&
	      d.ops[0].deps[1].index == UINT64_MAX - 1 && d.ops[0].deps[1].len == 8193);
	CHECK_RC(fl_jtxn_encode(&d, &b2), 0);
	CHECK(b.len == b2.len && !memcmp(b.data, b2.data, b.len));
	fl_jtxn_free(&d);
	/* the most deps an op carries, and one more */
	op.ndeps = FL_JDEPS_MAX;
	fl_buf_reset(&b);
	CHECK_RC(fl_jtxn_encode(&t, &b), 0);
	CHECK_RC(fl_jtxn_decode(b.data, b.len, &d), 0);
	CHECK(d.nops == 1 && d.ops[0].ndeps == FL_JDEPS_MAX);
	fl_jtxn_free(&d);
	op.ndeps = FL_JDEPS_MAX + 1;
	fl_buf_reset(&b);
	CHECK_RC(fl_jtxn_encode(&t, &b), -EINVAL);
	op.ndeps = 1;
	deps[0].len = 0; /* an object of no bytes names nothing */
	CHECK_RC(fl_jtxn_encode(&t, &b), -EINVAL);
	fl_inode_rec_free(&op.inode);
	fl_buf_free(&b);
	fl_buf_free(&b2);
}

static void test_jtxn(void)
{
	struct fl_jtxn t, d;
	struct fl_jop ops[FL_JOPS_MAX + 1];
	char longname[FL_NAME_MAX + 2];
	struct fl_buf b;
	struct mp m;
	uint32_t k;

	fl_buf_init(&b, FL_REC_MAX);
	mp_init(&m);
	memset(longname, 'x', FL_NAME_MAX);
	longname[FL_NAME_MAX] = '\0';

	mk_jtxn(&t, ops, longname);
	CHECK_SAME_BYTES(jtxn, &t, &d, b, m);
	fl_jtxn_free(&d);
	CHECK(d.ops == NULL && d.nops == 0);
	check_rejections("jtxn", dec_jtxn, b.data, b.len, 6, 0);
	check_garbage(dec_jtxn);
	CHECK_RC(decode_with_nesting(dec_jtxn, b.data, b.len, 10), 0);
	CHECK_RC(decode_with_nesting(dec_jtxn, b.data, b.len, 33), -EIO);

	/* Each op's own map: wrong types, missing and extra keys. */
	for (k = 0; k < 6; k++) {
		struct fl_jtxn one = t;
		struct fl_buf ob;
		msgpack_unpacked u;
		struct mp opm, full;
		size_t off = 0;
		unsigned key, nk = 6;
		int w;

		one.ops = &ops[k];
		one.nops = 1;
		fl_buf_init(&ob, FL_REC_MAX);
		CHECK_RC(fl_jtxn_encode(&one, &ob), 0);
		/* Isolate the op map: decode, and work on the op object. */
		msgpack_unpacked_init(&u);
		CHECK(msgpack_unpack_next(&u, ob.data, ob.len, &off) == MSGPACK_UNPACK_SUCCESS);
		mp_init(&opm);
		mp_init(&full);
		for (key = 0; key < u.data.via.map.size; key++) {
			if (u.data.via.map.ptr[key].key.via.u64 == 5)
				msgpack_pack_object(&opm.pk,
						    u.data.via.map.ptr[key].val.via.array.ptr[0]);
		}
		for (key = 0; key < nk; key++) {
			bool present = key_present(opm.sb.data, opm.sb.size, key);

			for (w = -2; w < W_COUNT && present; w++) {
				struct edit ed = NO_EDIT;
				struct mp em;
				int rc;

				if (w == -2)
					ed.drop = key;
				else if (w == -1)
					ed.dup = key;
				else
					ed.repl = key, ed.w = (enum wrong)w;
				mp_init(&em);
				CHECK(remap(opm.sb.data, opm.sb.size, &em, &ed) == 0);
				mp_reset(&full);
				raw_jtxn_hdr(&full.pk, &t, 1);
				msgpack_sbuffer_write(&full.sb, em.sb.data, em.sb.size);
				rc = decode_any(dec_jtxn, full.sb.data, full.sb.size);
				if (rc != -EIO) {
					fprintf(stderr, "jop kind %u key %u edit %d: rc %d\n",
						ops[k].kind, key, w, rc);
					check_failures++;
				}
				mp_done(&em);
			}
			/* A known key the kind does not carry is -EIO. */
			if (key != 0 && !present) {
				struct edit ed = NO_EDIT;
				struct mp em;

				mp_init(&em);
				CHECK(remap(opm.sb.data, opm.sb.size, &em, &ed) == 0);
				/* bump the fixmap count and append the key */
				em.sb.data[0]++;
				pk_key(&em.pk, key);
				if (key == 2)
					msgpack_pack_uint64(&em.pk, 5);
				else if (key == 3)
					raw_inode(&em.pk, &ops[0].inode);
				else if (key == 4)
					pk_str(&em.pk, "n", 1);
				else
					raw_dirent(&em.pk, &ops[1].dent);
				mp_reset(&full);
				raw_jtxn_hdr(&full.pk, &t, 1);
				msgpack_sbuffer_write(&full.sb, em.sb.data, em.sb.size);
				if (decode_any(dec_jtxn, full.sb.data, full.sb.size) != -EIO) {
					fprintf(stderr, "jop kind %u accepts extra key %u\n",
						ops[k].kind, key);
					check_failures++;
				}
				mp_done(&em);
			}
		}
		/* Unknown keys inside the op map are skipped. */
		{
			struct edit ed = NO_EDIT;
			struct mp em;
			struct fl_jtxn dd;

			ed.extras = true;
			mp_init(&em);
			CHECK(remap(opm.sb.data, opm.sb.size, &em, &ed) == 0);
			mp_reset(&full);
			raw_jtxn_hdr(&full.pk, &t, 1);
			msgpack_sbuffer_write(&full.sb, em.sb.data, em.sb.size);
			CHECK_RC(fl_jtxn_decode(full.sb.data, full.sb.size, &dd), 0);
			CHECK(rec_eq_jtxn(&one, &dd));
			fl_jtxn_free(&dd);
			mp_done(&em);
		}
		mp_done(&opm);
		mp_done(&full);
		msgpack_unpacked_destroy(&u);
		fl_buf_free(&ob);
	}

	/* Unknown kinds. */
	{
		static const uint32_t kinds[] = {0, 7, 100};

		for (k = 0; k < 3; k++) {
			ops[3].kind = kinds[k];
			CHECK_REFUSED(jtxn, &t, b, m);
		}
		ops[3].kind = FL_JOP_INODE_DEL;
	}

	/* Names in DENT ops. */
	CHECK_RC(decode_named_op("a", 1, FL_JOP_DENT_SET), 0);
	CHECK_RC(decode_named_op("...", 3, FL_JOP_DENT_SET), 0);
	CHECK_RC(decode_named_op(longname, FL_NAME_MAX, FL_JOP_DENT_DEL), 0);
	{
		static const struct {
			const char *s;
			size_t n;
		} bad[] = {{"", 0},  {".", 1},	  {"..", 2}, {"a/b", 3},
			   {"/", 1}, {"a\0b", 3}, {"\0", 1}};
		char over[FL_NAME_MAX + 2];
		size_t j;

		for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			CHECK_RC(decode_named_op(bad[j].s, bad[j].n, FL_JOP_DENT_SET), -EIO);
			CHECK_RC(decode_named_op(bad[j].s, bad[j].n, FL_JOP_DENT_DEL), -EIO);
			if (bad[j].n == strlen(bad[j].s)) {
				struct fl_jtxn one = t;
				struct fl_jop op = ops[1];

				op.name = (char *)bad[j].s;
				one.ops = &op;
				one.nops = 1;
				fl_buf_reset(&b);
				CHECK_RC(fl_jtxn_encode(&one, &b), -EINVAL);
			}
		}
		memset(over, 'o', FL_NAME_MAX + 1);
		over[FL_NAME_MAX + 1] = '\0';
		CHECK_RC(decode_named_op(over, FL_NAME_MAX + 1, FL_JOP_DENT_SET), -EIO);
		ops[2].name = over;
		fl_buf_reset(&b);
		CHECK_RC(fl_jtxn_encode(&t, &b), -EINVAL);
		ops[2].name = NULL;
		CHECK_RC(fl_jtxn_encode(&t, &b), -EINVAL);
		ops[2].name = (char *)"old";
	}

	/* Bad nested records. */
	ops[1].dent.type = 0;
	CHECK_REFUSED(jtxn, &t, b, m);
	ops[1].dent.type = S_IFREG;
	ops[0].inode.atime.tv_nsec = 1000000000;
	CHECK_RC(fl_jtxn_encode(&t, &b), -EINVAL);
	mp_reset(&m);
	raw_jtxn(&m.pk, &t);
	CHECK_RC(decode_any(dec_jtxn, m.sb.data, m.sb.size), -EIO);
	ops[0].inode.atime.tv_nsec = 0;

	/* Empty transaction; FL_JOPS_MAX ops; one more. */
	t.nops = 0;
	fl_buf_reset(&b);
	CHECK_RC(fl_jtxn_encode(&t, &b), 0);
	CHECK_RC(fl_jtxn_decode(b.data, b.len, &d), 0);
	CHECK(rec_eq_jtxn(&t, &d) && d.ops == NULL);
	fl_jtxn_free(&d);
	for (k = 0; k <= FL_JOPS_MAX; k++) {
		memset(&ops[k], 0, sizeof(ops[k]));
		ops[k].kind = FL_JOP_DENT_SET;
		ops[k].ino = k;
		ops[k].name = longname;
		ops[k].dent.ino = UINT64_MAX - k;
		ops[k].dent.type = S_IFLNK;
	}
	t.ops = ops;
	t.nops = FL_JOPS_MAX;
	t.tid = UINT64_MAX;
	t.next_ino = UINT64_MAX;
	t.used_bytes = UINT64_MAX;
	t.inodes = UINT64_MAX;
	CHECK_REENCODE(jtxn, &t, &d, b);
	fl_jtxn_free(&d);
	check_truncations(dec_jtxn, b.data, b.len, 7);
	t.nops = FL_JOPS_MAX + 1;
	CHECK_REFUSED(jtxn, &t, b, m);

	/* A transaction bigger than FL_REC_MAX: -E2BIG, buffer untouched. */
	{
		struct fl_inode_rec big;

		mk_inode(&big, S_IFREG | 0644);
		mk_xattrs_full(&big);
		for (k = 0; k < 3; k++) {
			memset(&ops[k], 0, sizeof(ops[k]));
			ops[k].kind = FL_JOP_INODE_PUT;
			ops[k].inode = big; /* borrowed: the encoder does not free */
		}
		t.nops = 3;
		fl_buf_reset(&b);
		CHECK_RC(fl_buf_append(&b, "keep", 4), 0);
		CHECK_RC(fl_jtxn_encode(&t, &b), -E2BIG);
		CHECK(b.len == 4 && memcmp(b.data, "keep", 4) == 0);
		t.nops = 1;
		CHECK_RC(fl_jtxn_encode(&t, &b), 0);
		CHECK_RC(fl_jtxn_decode(b.data + 4, b.len - 4, &d), 0);
		CHECK(rec_eq_jtxn(&t, &d));
		fl_jtxn_free(&d);
		fl_inode_rec_free(&big);
	}

	/* Error output is zeroed and freeable; a partly decoded txn leaks nothing
	 * (the last op is bad after a good INODE_PUT with xattrs). */
	{
		struct fl_inode_rec xi;
		struct fl_jop two[2];

		mk_inode(&xi, S_IFLNK | 0777);
		xi.symlink = (char *)"somewhere";
		memset(two, 0, sizeof(two));
		two[0].kind = FL_JOP_INODE_PUT;
		two[0].inode = xi;
		two[1].kind = FL_JOP_DENT_SET;
		two[1].ino = 1;
		two[1].name = (char *)"..";
		two[1].dent.type = S_IFREG;
		t.ops = two;
		t.nops = 2;
		mp_reset(&m);
		raw_jtxn(&m.pk, &t);
		memset(&d, 0x22, sizeof(d));
		CHECK_RC(fl_jtxn_decode(m.sb.data, m.sb.size, &d), -EIO);
		CHECK(d.ops == NULL && d.nops == 0 && d.tid == 0);
		fl_jtxn_free(&d);
	}

	mp_done(&m);
	fl_buf_free(&b);
}

/* Unknown keys inside nested maps of a hand-built transaction. */
static void test_nested_unknown(void)
{
	struct fl_jtxn d;
	struct mp m;
	unsigned k;

	mp_init(&m);
	msgpack_pack_map(&m.pk, 7);
	pk_str(&m.pk, "future", 6), msgpack_pack_array(&m.pk, 2), msgpack_pack_map(&m.pk, 1),
		pk_key(&m.pk, 1), msgpack_pack_array(&m.pk, 0), pk_str(&m.pk, "", 0);
	pk_key(&m.pk, 5), msgpack_pack_array(&m.pk, 2);
	{
		/* op 1: INODE_PUT with unknown keys in the op and the inode */
		msgpack_pack_map(&m.pk, 3);
		pk_key(&m.pk, 0), msgpack_pack_nil(&m.pk); /* reserved key 0 ignored in ops */
		pk_key(&m.pk, 1), msgpack_pack_uint64(&m.pk, FL_JOP_INODE_PUT);
		pk_key(&m.pk, 3);
		msgpack_pack_map(&m.pk, 17);
		pk_key(&m.pk, 12), pk_ts(&m.pk, &(struct timespec){.tv_sec = 5, .tv_nsec = 6});
		pk_key(&m.pk, 0), msgpack_pack_uint64(&m.pk, 1);
		pk_key(&m.pk, 2), msgpack_pack_uint64(&m.pk, S_IFIFO | 0600);
		pk_key(&m.pk, 1), msgpack_pack_uint64(&m.pk, 77);
		for (k = 3; k <= 8; k++)
			pk_key(&m.pk, k), msgpack_pack_uint64(&m.pk, k);
		pk_key(&m.pk, 31), msgpack_pack_map(&m.pk, 1), msgpack_pack_map(&m.pk, 0),
			msgpack_pack_array(&m.pk, 1), msgpack_pack_map(&m.pk, 0);
		for (k = 9; k <= 11; k++)
			pk_key(&m.pk, k), pk_ts(&m.pk, &(struct timespec){.tv_sec = -(long)k});
		pk_key(&m.pk, 1), msgpack_pack_uint64(&m.pk, 1);
		pk_key(&m.pk, 99), msgpack_pack_bin_with_body(&m.pk, "zz", 2);
		pk_key(&m.pk, 1 << 20), msgpack_pack_int64(&m.pk, INT64_MIN);
	}
	{
		/* op 2: DENT_SET with unknown keys in the op and the nested dirent */
		msgpack_pack_map(&m.pk, 5);
		pk_key(&m.pk, 5), msgpack_pack_map(&m.pk, 4), pk_key(&m.pk, 2),
			msgpack_pack_uint64(&m.pk, S_IFDIR), pk_key(&m.pk, 9),
			msgpack_pack_array(&m.pk, 1), pk_key(&m.pk, 0),
			msgpack_pack_uint64(&m.pk, 1), pk_key(&m.pk, 1),
			msgpack_pack_uint64(&m.pk, 78);
		pk_key(&m.pk, 4), pk_str(&m.pk, "dir", 3);
		pk_key(&m.pk, 6), msgpack_pack_true(&m.pk);
		pk_key(&m.pk, 2), msgpack_pack_uint64(&m.pk, 1);
		pk_key(&m.pk, 1), msgpack_pack_uint64(&m.pk, FL_JOP_DENT_SET);
	}
	pk_key(&m.pk, 4), msgpack_pack_uint64(&m.pk, 3);
	pk_key(&m.pk, 3), msgpack_pack_uint64(&m.pk, 2);
	pk_key(&m.pk, 2), msgpack_pack_uint64(&m.pk, 1);
	pk_key(&m.pk, 1), msgpack_pack_uint64(&m.pk, 0);
	pk_key(&m.pk, 0), msgpack_pack_uint64(&m.pk, 1);
	CHECK_RC(fl_jtxn_decode(m.sb.data, m.sb.size, &d), -EIO); /* inode key 1 twice */

	/* Same without the duplicate inode key. */
	mp_reset(&m);
	msgpack_pack_map(&m.pk, 6);
	pk_key(&m.pk, 5), msgpack_pack_array(&m.pk, 1);
	msgpack_pack_map(&m.pk, 3);
	pk_key(&m.pk, 0), msgpack_pack_nil(&m.pk);
	pk_key(&m.pk, 1), msgpack_pack_uint64(&m.pk, FL_JOP_INODE_PUT);
	pk_key(&m.pk, 3);
	msgpack_pack_map(&m.pk, 16);
	pk_key(&m.pk, 12), pk_ts(&m.pk, &(struct timespec){.tv_sec = 5, .tv_nsec = 6});
	pk_key(&m.pk, 0), msgpack_pack_uint64(&m.pk, 1);
	pk_key(&m.pk, 2), msgpack_pack_uint64(&m.pk, S_IFIFO | 0600);
	pk_key(&m.pk, 1), msgpack_pack_uint64(&m.pk, 77);
	for (k = 3; k <= 8; k++)
		pk_key(&m.pk, k), msgpack_pack_uint64(&m.pk, k);
	pk_key(&m.pk, 31), msgpack_pack_map(&m.pk, 1), msgpack_pack_map(&m.pk, 0),
		msgpack_pack_array(&m.pk, 1), msgpack_pack_map(&m.pk, 0);
	for (k = 9; k <= 11; k++)
		pk_key(&m.pk, k), pk_ts(&m.pk, &(struct timespec){.tv_sec = -(long)k});
	pk_key(&m.pk, 99), msgpack_pack_bin_with_body(&m.pk, "zz", 2);
	pk_key(&m.pk, 1 << 20), msgpack_pack_int64(&m.pk, INT64_MIN);
	pk_key(&m.pk, 4), msgpack_pack_uint64(&m.pk, 3);
	pk_key(&m.pk, 3), msgpack_pack_uint64(&m.pk, 2);
	pk_key(&m.pk, 2), msgpack_pack_uint64(&m.pk, 1);
	pk_key(&m.pk, 1), msgpack_pack_uint64(&m.pk, 0);
	pk_key(&m.pk, 0), msgpack_pack_uint64(&m.pk, 1);
	CHECK_RC(fl_jtxn_decode(m.sb.data, m.sb.size, &d), 0);
	CHECK(d.nops == 1 && d.ops[0].kind == FL_JOP_INODE_PUT && d.ops[0].inode.ino == 77 &&
	      d.ops[0].ino == 77 && d.ops[0].inode.mode == (S_IFIFO | 0600) &&
	      d.ops[0].inode.uid == 3 && d.ops[0].inode.generation == 8 &&
	      d.ops[0].inode.btime.tv_nsec == 6 && d.ops[0].inode.atime.tv_sec == -9 &&
	      d.next_ino == 1 && d.inodes == 3);
	fl_jtxn_free(&d);
	mp_done(&m);
}

static void test_frames(void)
{
	struct fl_buf seg, small;
	const void *pl;
	size_t plen, off, cut;
	ssize_t n;
	char *copy;
	static const char a[] = "first payload", bb[] = "second";
	uint8_t hdr[FL_JFRAME_HDR];

	fl_buf_init(&seg, 1 << 20);
	CHECK_RC(fl_jframe_put(&seg, a, sizeof(a)), 0);
	CHECK(seg.len == FL_JFRAME_HDR + sizeof(a));
	/* Little-endian header fields. */
	CHECK(memcmp(seg.data, "\x31\x4a\x4c\x46", 4) == 0);
	CHECK((uint8_t)seg.data[4] == sizeof(a) && seg.data[5] == 0 && seg.data[6] == 0);
	{
		uint32_t c = fl_crc32c(0, a, sizeof(a));

		CHECK((uint8_t)seg.data[8] == (c & 0xff) && (uint8_t)seg.data[11] == c >> 24);
	}
	CHECK_RC(fl_jframe_put(&seg, bb, sizeof(bb)), 0);
	CHECK_RC(fl_jframe_put(&seg, NULL, 0), 0);
	{
		static const char zeros[100];

		CHECK_RC(fl_buf_append(&seg, zeros, sizeof(zeros)), 0);
	}

	/* Walk it. */
	copy = dup_bytes(seg.data, seg.len);
	off = 0;
	n = fl_jframe_next(copy, seg.len, &pl, &plen);
	CHECK(n == (ssize_t)(FL_JFRAME_HDR + sizeof(a)) && plen == sizeof(a) &&
	      memcmp(pl, a, plen) == 0);
	off += (size_t)n;
	n = fl_jframe_next(copy + off, seg.len - off, &pl, &plen);
	CHECK(n == (ssize_t)(FL_JFRAME_HDR + sizeof(bb)) && plen == sizeof(bb) &&
	      memcmp(pl, bb, plen) == 0);
	off += (size_t)n;
	n = fl_jframe_next(copy + off, seg.len - off, &pl, &plen);
	CHECK(n == FL_JFRAME_HDR && plen == 0);
	off += (size_t)n;
	CHECK_RC(fl_jframe_next(copy + off, seg.len - off, &pl, &plen), 0);
	CHECK_RC(fl_jframe_next(copy + off, 0, &pl, &plen), 0);
	CHECK_RC(fl_jframe_next(copy + off, 1, &pl, &plen), 0);
	CHECK_RC(fl_jframe_next(copy, 0, &pl, &plen), 0);
	free(copy);

	/* Torn first frame: every cut inside it is -EIO. */
	for (cut = 1; cut < FL_JFRAME_HDR + sizeof(a); cut++) {
		copy = dup_bytes(seg.data, cut);
		n = fl_jframe_next(copy, cut, &pl, &plen);
		if (n != -EIO) {
			fprintf(stderr, "torn frame cut at %zu: %zd\n", cut, n);
			check_failures++;
		}
		free(copy);
	}

	/* Corruptions. */
	copy = dup_bytes(seg.data, seg.len);
	copy[FL_JFRAME_HDR + 3] ^= 0x10; /* payload bit */
	CHECK_RC(fl_jframe_next(copy, seg.len, &pl, &plen), -EIO);
	copy[FL_JFRAME_HDR + 3] ^= 0x10;
	copy[9] ^= 1; /* crc */
	CHECK_RC(fl_jframe_next(copy, seg.len, &pl, &plen), -EIO);
	copy[9] ^= 1;
	copy[0] = 0x32; /* magic */
	CHECK_RC(fl_jframe_next(copy, seg.len, &pl, &plen), -EIO);
	copy[0] = 0; /* zero magic, but not all zero */
	CHECK_RC(fl_jframe_next(copy, seg.len, &pl, &plen), -EIO);
	copy[0] = 0x31;
	copy[4] = (char)0xff; /* length past the end */
	CHECK_RC(fl_jframe_next(copy, seg.len, &pl, &plen), -EIO);
	free(copy);
	/* Garbage after padding. */
	copy = dup_bytes(seg.data, seg.len);
	copy[seg.len - 1] = 1;
	off = 2 * FL_JFRAME_HDR + sizeof(a) + sizeof(bb) + FL_JFRAME_HDR;
	CHECK_RC(fl_jframe_next(copy + off, seg.len - off, &pl, &plen), -EIO);
	CHECK_RC(fl_jframe_next(copy + off, seg.len - off - 1, &pl, &plen), 0);
	free(copy);
	/* A short non-zero tail. */
	CHECK_RC(fl_jframe_next("\x31\x4a", 2, &pl, &plen), -EIO);
	CHECK_RC(fl_jframe_next("\x31\x4a\x4c\x46\x00", 5, &pl, &plen), -EIO);

	/* Length above FL_REC_MAX even with enough bytes. */
	{
		size_t big = FL_JFRAME_HDR + (size_t)FL_REC_MAX + 1;
		uint8_t *p = calloc(1, big);
		uint32_t l = FL_REC_MAX + 1, c;

		CHECK(p != NULL);
		c = fl_crc32c(0, p + FL_JFRAME_HDR, l);
		memcpy(p, "\x31\x4a\x4c\x46", 4);
		p[4] = (uint8_t)l, p[5] = (uint8_t)(l >> 8), p[6] = (uint8_t)(l >> 16);
		p[7] = (uint8_t)(l >> 24);
		p[8] = (uint8_t)c, p[9] = (uint8_t)(c >> 8), p[10] = (uint8_t)(c >> 16);
		p[11] = (uint8_t)(c >> 24);
		CHECK_RC(fl_jframe_next(p, big, &pl, &plen), -EIO);
		/* and exactly FL_REC_MAX is fine */
		l = FL_REC_MAX;
		c = fl_crc32c(0, p + FL_JFRAME_HDR, l);
		p[4] = (uint8_t)l, p[5] = (uint8_t)(l >> 8), p[6] = (uint8_t)(l >> 16);
		p[7] = (uint8_t)(l >> 24);
		p[8] = (uint8_t)c, p[9] = (uint8_t)(c >> 8), p[10] = (uint8_t)(c >> 16);
		p[11] = (uint8_t)(c >> 24);
		CHECK_RC(fl_jframe_next(p, big, &pl, &plen), (ssize_t)(FL_JFRAME_HDR + FL_REC_MAX));
		free(p);
	}

	/* fl_jframe_put against the cap: nothing appended on failure. */
	fl_buf_init(&small, 30);
	CHECK_RC(fl_jframe_put(&small, "0123456789", 10), 0);
	CHECK(small.len == 22);
	CHECK_RC(fl_jframe_put(&small, "x", 1), -E2BIG);
	CHECK(small.len == 22);
	fl_buf_free(&small);
	fl_buf_init(&small, (size_t)FL_REC_MAX * 2);
	copy = calloc(1, (size_t)FL_REC_MAX + 1);
	CHECK_RC(fl_jframe_put(&small, copy, (size_t)FL_REC_MAX + 1), -E2BIG);
	CHECK(small.len == 0);
	free(copy);
	fl_buf_free(&small);

	/* A frame holding a real transaction. */
	{
		struct fl_jtxn t = {0}, d;
		struct fl_buf rec;

		memset(hdr, 0, sizeof(hdr));
		t.tid = 5;
		fl_buf_init(&rec, FL_REC_MAX);
		CHECK_RC(fl_jtxn_encode(&t, &rec), 0);
		fl_buf_reset(&seg);
		CHECK_RC(fl_jframe_put(&seg, rec.data, rec.len), 0);
		n = fl_jframe_next(seg.data, seg.len, &pl, &plen);
		CHECK(n == (ssize_t)seg.len);
		CHECK_RC(fl_jtxn_decode(pl, plen, &d), 0);
		CHECK(d.tid == 5);
		fl_jtxn_free(&d);
		fl_buf_free(&rec);
	}
	fl_buf_free(&seg);
}

static void test_oids(void)
{
	char oid[FL_OID_LEN], key[17];
	uint64_t ino, idx;

	fl_oid_dir(oid, 1);
	CHECK(strcmp(oid, "dir.0000000000000001") == 0);
	fl_oid_dir(oid, UINT64_MAX);
	CHECK(strcmp(oid, "dir.ffffffffffffffff") == 0);
	fl_oid_itab(oid, 0xab);
	CHECK(strcmp(oid, "itab.000000ab") == 0);
	fl_oid_itab(oid, 0x123456789ull);
	CHECK(strcmp(oid, "itab.123456789") == 0);
	fl_oid_data(oid, 0xdeadbeef, 3);
	CHECK(strcmp(oid, "data.00000000deadbeef.00000003") == 0);
	fl_oid_jrnl(oid, 0x10);
	CHECK(strcmp(oid, "jrnl.0000000000000010") == 0);
	fl_ino_key(key, 0xABCDEFull);
	CHECK(strcmp(key, "0000000000abcdef") == 0);
	fl_ino_key(key, UINT64_MAX);
	CHECK(strcmp(key, "ffffffffffffffff") == 0);

	/* Parse what fl_oid_data prints, for small and huge indexes. */
	{
		static const uint64_t v[][2] = {{0, 0},
						{1, 0xffffffffull},
						{UINT64_MAX, 0x100000000ull},
						{0x0123456789abcdefull, UINT64_MAX}};
		size_t k;

		for (k = 0; k < 4; k++) {
			fl_oid_data(oid, v[k][0], v[k][1]);
			CHECK_RC(fl_oid_parse_data(oid, &ino, &idx), 0);
			CHECK(ino == v[k][0] && idx == v[k][1]);
		}
	}
	{
		static const char *bad[] = {
			"",
			"data.",
			"data.00000000deadbeef",
			"data.00000000deadbeef.",
			"data.00000000deadbeef.0000003",   /* 7 digits */
			"data.00000000deadbeef.000000003", /* 9 digits, leading zero */
			"data.00000000DEADBEEF.00000003",  /* upper case */
			"data.00000000deadbeef.0000000A",
			"data.0000000deadbeef.00000003",   /* 15 digits */
			"data.000000000deadbeef.00000003", /* 17 digits */
			"data.00000000deadbeef.00000003 ", /* trailing */
			"data.00000000deadbeef.00000003.",
			"data.00000000deadbeef.12345678901234567", /* 17 digits */
			"data.00000000deadbeef_00000003",
			"Data.00000000deadbeef.00000003",
			"data.+0000000deadbeef.00000003",
			"data.00000000deadbeef.-0000003",
			"dir.0000000000000001",
			"xdata.00000000deadbeef.00000003",
		};
		size_t k;

		for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			ino = idx = 12345;
			if (fl_oid_parse_data(bad[k], &ino, &idx) != -EINVAL) {
				fprintf(stderr, "oid \"%s\" parsed\n", bad[k]);
				check_failures++;
			}
			CHECK(ino == 12345 && idx == 12345);
		}
		CHECK_RC(fl_oid_parse_data(NULL, &ino, &idx), -EINVAL);
	}
	CHECK_RC(fl_oid_parse_data("data.00000000deadbeef.00000003", &ino, &idx), 0);
	CHECK(ino == 0xdeadbeef && idx == 3);
	CHECK_RC(fl_oid_parse_data("data.00000000deadbeef.123456789", &ino, &idx), 0);
	CHECK(idx == 0x123456789ull);
}

static void test_volname(void)
{
	char name[FL_VOLNAME_MAX + 2];
	static const char *good[] = {"a", "0", "Z", "volume-1", "a_b.c-d", "A.", "x--", "9_"};
	static const char *bad[] = {"",	     "-a",   ".a",  "_a",  "a b",
				    "a/b",   "a\tb", "a:b", "a@b", "\xc3\xa9t\xc3\xa9",
				    "a\xff", " a",   "a\n"};
	size_t k;

	for (k = 0; k < sizeof(good) / sizeof(good[0]); k++)
		CHECK(fl_volname_valid(good[k]) == 1);
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		if (fl_volname_valid(bad[k]) != 0) {
			fprintf(stderr, "volume name \"%s\" accepted\n", bad[k]);
			check_failures++;
		}
	}
	CHECK(fl_volname_valid(NULL) == 0);
	memset(name, 'v', FL_VOLNAME_MAX);
	name[FL_VOLNAME_MAX] = '\0';
	CHECK(fl_volname_valid(name) == 1);
	name[FL_VOLNAME_MAX] = 'v';
	name[FL_VOLNAME_MAX + 1] = '\0';
	CHECK(fl_volname_valid(name) == 0);
}

/* The block map: its encoding, what decode refuses, and the run arithmetic. */
static void test_bmap(void)
{
	struct fl_brange runs[3] = {{0, 2}, {10, 1}, {UINT64_MAX - 5, 5}};
	struct fl_inode_rec i, d;
	struct fl_buf b;
	struct mp m;
	uint64_t k;

	fl_buf_init(&b, FL_REC_MAX);
	mp_init(&m);
	mk_inode(&i, S_IFREG | 0644);
	i.has_bmap = true;
	i.bmap = runs;
	i.nbmap = 3;
	CHECK_RC(fl_inode_encode(&i, &b), 0);
	raw_inode(&m.pk, &i);
	CHECK(b.len == m.sb.size && memcmp(b.data, m.sb.data, b.len) == 0);
	CHECK_RC(fl_inode_decode(b.data, b.len, &d), 0);
	CHECK(rec_eq_inode(&i, &d));
	fl_inode_rec_free(&d);
	check_rejections("inode with block map", dec_inode, b.data, b.len, 17,
			 1ull << 13 | 1ull << 14 | 1ull << 16);
	/* an empty map is a map */
	i.nbmap = 0;
	fl_buf_reset(&b);
	CHECK_RC(fl_inode_encode(&i, &b), 0);
	CHECK_RC(fl_inode_decode(b.data, b.len, &d), 0);
	CHECK(d.has_bmap && d.nbmap == 0 && d.bmap == NULL);
	fl_inode_rec_free(&d);
	/* bad maps: encoder -EINVAL, decoder -EIO */
	{
		struct fl_brange bad[4][2] = {
			{{5, 1}, {2, 1}}, /* unsorted */
			{{0, 4}, {3, 1}}, /* overlapping */
			{{0, 4}, {4, 1}}, /* adjacent: one run */
			{{0, 0}, {9, 1}}, /* empty */
		};
		struct fl_brange wrap[1] = {{UINT64_MAX, 2}};
		int t;

		for (t = 0; t < 5; t++) {
			i.bmap = t < 4 ? bad[t] : wrap;
			i.nbmap = t < 4 ? 2 : 1;
			fl_buf_reset(&b);
			CHECK_RC(fl_inode_encode(&i, &b), -EINVAL);
			mp_reset(&m);
			raw_inode(&m.pk, &i);
			CHECK_RC(decode_any(dec_inode, m.sb.data, m.sb.size), -EIO);
		}
	}
	/* more runs than FL_BMAP_MAX, and an odd array */
	{
		struct fl_brange *many = calloc(FL_BMAP_MAX + 1, sizeof(*many));

		CHECK(many != NULL);
		for (k = 0; k <= FL_BMAP_MAX; k++) {
			many[k].first = 2 * k;
			many[k].count = 1;
		}
		i.bmap = many;
		i.nbmap = FL_BMAP_MAX + 1;
		fl_buf_reset(&b);
		CHECK_RC(fl_inode_encode(&i, &b), -EINVAL);
		mp_reset(&m);
		raw_inode(&m.pk, &i);
		CHECK_RC(decode_any(dec_inode, m.sb.data, m.sb.size), -EIO);
		i.nbmap = FL_BMAP_MAX;
		fl_buf_reset(&b);
		CHECK_RC(fl_inode_encode(&i, &b), 0);
		CHECK_RC(fl_inode_decode(b.data, b.len, &d), 0);
		CHECK(rec_eq_inode(&i, &d));
		fl_inode_rec_free(&d);
		free(many);
	}
	mp_reset(&m);
	i.has_bmap = false;
	i.nbmap = 0;
	raw_inode(&m.pk, &i);
	/* the array by hand: 3 numbers */
	{
		struct mp o;

		mp_init(&o);
		msgpack_pack_map(&o.pk, 14);
		msgpack_sbuffer_write(&o.sb, m.sb.data + 1, m.sb.size - 1); /* the 13 fields */
		pk_key(&o.pk, 16);
		msgpack_pack_array(&o.pk, 3);
		msgpack_pack_uint64(&o.pk, 1);
		msgpack_pack_uint64(&o.pk, 1);
		msgpack_pack_uint64(&o.pk, 1);
		CHECK_RC(decode_any(dec_inode, o.sb.data, o.sb.size), -EIO);
		mp_done(&o);
	}

	/* arithmetic: add, merge at the cap, cut, del, used */
	memset(&d, 0, sizeof(d));
	d.mode = S_IFREG | 0644;
	CHECK_RC(fl_bmap_add(&d, 5), 0);
	CHECK_RC(fl_bmap_add(&d, 7), 0);
	CHECK_RC(fl_bmap_add(&d, 6), 0); /* joins 5 and 7 */
	CHECK(d.has_bmap && d.nbmap == 1 && d.bmap[0].first == 5 && d.bmap[0].count == 3);
	CHECK_RC(fl_bmap_add(&d, 4), 0);
	CHECK(d.nbmap == 1 && d.bmap[0].first == 4 && d.bmap[0].count == 4);
	CHECK(fl_bmap_has(&d, 4) && fl_bmap_has(&d, 7) && !fl_bmap_has(&d, 8) &&
	      !fl_bmap_has(&d, 3));
	for (k = 0; k < 2 * FL_BMAP_MAX; k++)
		CHECK_RC(fl_bmap_add(&d, 1000 + 3 * k + (k > 10 ? 100 : 0)), 0);
	CHECK(d.nbmap == FL_BMAP_MAX);
	for (k = 0; k < 2 * FL_BMAP_MAX; k++) /* merged runs over-approximate */
		CHECK(fl_bmap_has(&d, 1000 + 3 * k + (k > 10 ? 100 : 0)));
	CHECK(fl_bmap_has(&d, 4));
	fl_bmap_cut(&d, 6);
	CHECK(d.nbmap == 1 && d.bmap[0].first == 4 && d.bmap[0].count == 2);
	CHECK_RC(fl_bmap_add(&d, 100), 0);
	CHECK_RC(fl_bmap_add(&d, 101), 0);
	CHECK_RC(fl_bmap_add(&d, 102), 0);
	CHECK(fl_bmap_blocks(&d) == 5);
	CHECK_RC(fl_bmap_del(&d, 101, 1), 0); /* a hole inside a run */
	CHECK(d.nbmap == 3 && fl_bmap_has(&d, 100) && !fl_bmap_has(&d, 101) &&
	      fl_bmap_has(&d, 102));
	CHECK_RC(fl_bmap_del(&d, 0, 101), 0);
	CHECK(d.nbmap == 1 && d.bmap[0].first == 102);
	/* used: blocks of 1 MiB below the size, the last one by 4 KiB pages */
	CHECK(fl_bmap_used(&d, 102ull << 20, 1u << 20) == 0);
	CHECK(fl_bmap_used(&d, (102ull << 20) + 1, 1u << 20) == 4096);
	CHECK(fl_bmap_used(&d, 1ull << 40, 1u << 20) == 1u << 20);
	fl_bmap_cut(&d, 0);
	CHECK(d.nbmap == 0 && d.bmap == NULL && fl_bmap_used(&d, 1ull << 40, 1u << 20) == 0);
	fl_inode_rec_free(&d);
	fl_buf_free(&b);
	mp_done(&m);
}

/* A small deterministic generator for the map tests. */
static uint64_t lcg_next(uint64_t *x)
{
	*x = *x * 6364136223846793005ull + 1442695040888963407ull;
	return *x >> 33;
}

/* Is the map of d exactly ref[0..n) below n (and empty from n on up to n + 8)? */
static bool bmap_matches(const struct fl_inode_rec *d, const unsigned char *ref, uint64_t n)
{
	uint64_t x, blocks = 0;

	for (x = 0; x < n; x++) {
		if (fl_bmap_has(d, x) != (ref[x] != 0))
			return false;
		blocks += ref[x] != 0;
	}
	for (x = n; x < n + 8; x++)
		if (fl_bmap_has(d, x))
			return false;
	return fl_bmap_blocks(d) == blocks;
}

/* Encodes d and decodes it again: a valid map (sorted, disjoint, not
 * adjacent) that survives unchanged, in at most fl_inode_enc_max bytes. */
static void check_bmap_roundtrip(const struct fl_inode_rec *d)
{
	struct fl_inode_rec e;
	struct fl_buf b;

	fl_buf_init(&b, FL_REC_MAX);
	CHECK_RC(fl_inode_encode(d, &b), 0);
	CHECK(b.len <= fl_inode_enc_max(d));
	CHECK_RC(fl_inode_decode(b.data, b.len, &e), 0);
	CHECK(rec_eq_inode(d, &e));
	fl_inode_rec_free(&e);
	fl_buf_free(&b);
}

/* Thousands of runs: the map is exact up to FL_BMAP_MAX runs and merges
 * past it; records an older binary wrote (at most FL_BMAP_MAX_V1 runs)
 * decode and encode as before. */
static void test_bmap_many(void)
{
	const uint64_t n = 4 * FL_BMAP_MAX;
	unsigned char *ref = calloc(n, 1);
	struct fl_inode_rec d, e;
	struct fl_buf b;
	struct mp m;
	uint64_t k, x = 42, before;
	uint32_t maxruns = 0;

	CHECK(ref != NULL);
	fl_buf_init(&b, FL_REC_MAX);
	mp_init(&m);

	/* every other index below 2 * FL_BMAP_MAX, in a scattered order:
	 * FL_BMAP_MAX runs of one block, nothing merged */
	mk_inode(&d, S_IFREG | 0644);
	for (k = 0; k < FL_BMAP_MAX; k++) {
		uint64_t idx = 2 * ((k * 2654435761ull) % FL_BMAP_MAX);

		CHECK_RC(fl_bmap_add(&d, idx), 0);
		ref[idx] = 1;
	}
	CHECK(d.has_bmap && d.nbmap == FL_BMAP_MAX);
	CHECK(bmap_matches(&d, ref, n));
	d.size = n << 22;
	check_bmap_roundtrip(&d);
	CHECK(fl_bmap_used(&d, d.size, 4u << 20) == (uint64_t)FL_BMAP_MAX << 22);

	/* one run more: the two closest runs (the first pair, all gaps being
	 * one block) join over their gap; every block stays named */
	CHECK_RC(fl_bmap_add(&d, n - 3), 0);
	CHECK(d.nbmap == FL_BMAP_MAX);
	CHECK(d.bmap[0].first == 0 && d.bmap[0].count == 3);
	CHECK(fl_bmap_has(&d, 1) && fl_bmap_has(&d, n - 3) && !fl_bmap_has(&d, 3));
	ref[n - 3] = 1;
	for (k = 0; k < n; k++)
		if (ref[k] && !fl_bmap_has(&d, k))
			break;
	CHECK(k == n); /* an over-approximation, never less */
	CHECK(fl_bmap_blocks(&d) == FL_BMAP_MAX + 2);
	check_bmap_roundtrip(&d);
	/* one more, a block past the last run: that run grows over the gap
	 * (one block), no two runs join */
	CHECK_RC(fl_bmap_add(&d, n - 1), 0);
	CHECK(d.nbmap == FL_BMAP_MAX && d.bmap[0].count == 3);
	CHECK(d.bmap[FL_BMAP_MAX - 1].first == n - 3 && d.bmap[FL_BMAP_MAX - 1].count == 3);
	CHECK(fl_bmap_blocks(&d) == FL_BMAP_MAX + 4);
	/* and one a block before the first run of the second half: that run
	 * grows down (right neighbour) */
	CHECK_RC(fl_bmap_add(&d, n - 5), 0);
	CHECK(d.nbmap == FL_BMAP_MAX && d.bmap[FL_BMAP_MAX - 1].first == n - 5 &&
	      d.bmap[FL_BMAP_MAX - 1].count == 5);
	check_bmap_roundtrip(&d);

	/* a hole over many runs at once; a hole inside a run of a full map
	 * is kept (one run more would pass FL_BMAP_MAX) */
	before = d.nbmap;
	CHECK_RC(fl_bmap_del(&d, 101, 1000), 0); /* odd..odd: runs 102, 104, ..., 1100 */
	CHECK(d.nbmap == before - 500);
	CHECK(fl_bmap_has(&d, 100) && !fl_bmap_has(&d, 102) && !fl_bmap_has(&d, 1100) &&
	      fl_bmap_has(&d, 1102));
	check_bmap_roundtrip(&d);
	fl_inode_rec_free(&d);

	/* a model: random adds, holes and cuts while the map stays below
	 * FL_BMAP_MAX runs, checked against a plain array of blocks */
	memset(ref, 0, n);
	mk_inode(&d, S_IFREG | 0644);
	for (k = 0; k < 40000; k++) {
		uint64_t r = lcg_next(&x) % 100, at = lcg_next(&x) % n;

		if (d.nbmap > maxruns)
			maxruns = d.nbmap;
		if (d.nbmap >= FL_BMAP_MAX - 2) {
			/* an add or a hole may make one run more: stay exact */
			at = n / 2 + at / 2;
			fl_bmap_cut(&d, at);
			memset(ref + at, 0, n - at);
		} else if (r < 75) {
			CHECK_RC(fl_bmap_add(&d, at), 0);
			ref[at] = 1;
		} else if (r < 99) {
			uint64_t len = 1 + lcg_next(&x) % 8;

			CHECK_RC(fl_bmap_del(&d, at, len), 0);
			memset(ref + at, 0, at + len > n ? n - at : len);
		} else {
			at += n / 2; /* cuts high, or the map would stay small */
			fl_bmap_cut(&d, at);
			if (at < n)
				memset(ref + at, 0, n - at);
		}
		if (k % 4000 == 0 && !bmap_matches(&d, ref, n)) {
			fprintf(stderr, "block map differs from the model after %" PRIu64 " ops\n",
				k);
			check_failures++;
			break;
		}
	}
	CHECK(bmap_matches(&d, ref, n));
	CHECK(maxruns > FL_BMAP_MAX / 2); /* the model reached thousands of runs */
	check_bmap_roundtrip(&d);
	fl_inode_rec_free(&d);

	/* the largest map: FL_BMAP_MAX runs with 9-byte numbers, within the
	 * bound, and one run more is refused both ways (test_bmap) */
	mk_inode_runs(&d, FL_BMAP_MAX);
	for (k = 0; k < FL_BMAP_MAX; k++) {
		d.bmap[k].first = (1ull << 40) + k * (1ull << 33);
		d.bmap[k].count = 1ull << 32;
	}
	fl_buf_reset(&b);
	CHECK_RC(fl_inode_encode(&d, &b), 0);
	CHECK(b.len <= fl_inode_enc_max(&d) && b.len > (size_t)FL_BMAP_MAX * 18);
	CHECK(b.len < 80u << 10);
	CHECK_RC(fl_inode_decode(b.data, b.len, &e), 0);
	CHECK(rec_eq_inode(&d, &e));
	fl_inode_rec_free(&e);
	fl_inode_rec_free(&d);

	/* what an older binary wrote: FL_BMAP_MAX_V1 runs, packed by hand as
	 * FORMAT.md says; decodes, and encodes to the same bytes */
	mk_inode_runs(&d, FL_BMAP_MAX_V1);
	for (k = 0; k < FL_BMAP_MAX_V1; k++) {
		d.bmap[k].first = k * 1000 + 7;
		d.bmap[k].count = k + 1;
	}
	mp_reset(&m);
	raw_inode(&m.pk, &d);
	CHECK_RC(fl_inode_decode(m.sb.data, m.sb.size, &e), 0);
	CHECK(rec_eq_inode(&d, &e));
	fl_buf_reset(&b);
	CHECK_RC(fl_inode_encode(&e, &b), 0);
	CHECK(b.len == m.sb.size && memcmp(b.data, m.sb.data, b.len) == 0);
	fl_inode_rec_free(&e);
	fl_inode_rec_free(&d);

	free(ref);
	fl_buf_free(&b);
	mp_done(&m);
}

/* The superblock's version: 1 as before (0 in the struct writes 1), 2 for a
 * volume whose maps may pass FL_BMAP_MAX_V1 runs; 3 is refused both ways,
 * and no other record takes version 2 (check_rejections). */
static void test_super_version(void)
{
	struct fl_super_rec s, d;
	struct fl_buf b;
	struct mp m;

	fl_buf_init(&b, FL_REC_MAX);
	mp_init(&m);
	mk_super(&s);
	raw_super(&m.pk, &s);
	s.version = 0;
	CHECK_RC(fl_super_encode(&s, &b), 0);
	CHECK(b.len == m.sb.size && memcmp(b.data, m.sb.data, b.len) == 0);
	s.version = 2;
	fl_buf_reset(&b);
	CHECK_RC(fl_super_encode(&s, &b), 0);
	/* map header, key 0, then the version: the one byte that differs */
	CHECK(b.len == m.sb.size && b.data[2] == 2 && m.sb.data[2] == 1 &&
	      memcmp(b.data + 3, m.sb.data + 3, b.len - 3) == 0);
	CHECK_RC(fl_super_decode(b.data, b.len, &d), 0);
	CHECK(d.version == 2 && rec_eq_super(&s, &d));
	s.version = FL_SUPER_VERSION + 1;
	fl_buf_reset(&b);
	CHECK_RC(fl_super_encode(&s, &b), -EINVAL);
	CHECK(b.len == 0);
	fl_buf_free(&b);
	mp_done(&m);
}

int main(void)
{
	test_crc32c();
	test_super();
	test_super_snap_seq();
	test_snap();
	test_volreg();
	test_parent();
	test_dirent();
	test_inode();
	test_bmap();
	test_bmap_many();
	test_super_version();
	test_jtxn();
	test_jtxn_deps();
	test_nested_unknown();
	test_frames();
	test_oids();
	test_volname();
	return check_report("test_record");
}
