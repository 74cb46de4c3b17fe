/*
 * flockerfs — unit tests for the on-RADOS record codecs (fs/format/record.c).
 *
 * A second, independent packer here writes each record exactly as
 * fs/format/FORMAT.md describes it; valid records must encode to the same bytes,
 * and invalid ones (which the real encoders refuse) are built with it to
 * check that every decoder rejection is exactly -EIO.
 */
#include "test_record.h"

const char UUID[] = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
CHECK_DEFINE_COUNT();

/* ------------------------------------------------------------------ */
/* Scratch msgpack output on an sbuffer. */

void mp_init(struct mp *m)
{
	msgpack_sbuffer_init(&m->sb);
	msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
}

void mp_reset(struct mp *m)
{
	msgpack_sbuffer_clear(&m->sb);
}

void mp_done(struct mp *m)
{
	msgpack_sbuffer_destroy(&m->sb);
}

void pk_key(msgpack_packer *pk, uint64_t k)
{
	msgpack_pack_uint64(pk, k);
}

void pk_str(msgpack_packer *pk, const char *s, size_t len)
{
	msgpack_pack_str_with_body(pk, s, len);
}

void pk_ts(msgpack_packer *pk, const struct timespec *ts)
{
	msgpack_pack_array(pk, 2);
	msgpack_pack_int64(pk, ts->tv_sec);
	msgpack_pack_uint64(pk, (uint64_t)ts->tv_nsec);
}

/* The independent packers: fs/format/FORMAT.md, key by key, no validation. */

/* Writes the keys f[0..n) and their values (the map header is the caller's). */
void pk_fields(msgpack_packer *pk, const struct field *f, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++) {
		pk_key(pk, f[k].key);
		switch (f[k].kind) {
		case FK_UINT:
			msgpack_pack_uint64(pk, f[k].u);
			break;
		case FK_INT:
			msgpack_pack_int64(pk, f[k].i);
			break;
		case FK_STR:
			pk_str(pk, f[k].s, f[k].len);
			break;
		case FK_TS:
			pk_ts(pk, f[k].ts);
			break;
		}
	}
}

/* A map of the n keys f[0..n). */
void pk_map(msgpack_packer *pk, const struct field *f, size_t n)
{
	msgpack_pack_map(pk, n);
	pk_fields(pk, f, n);
}

/* with_snap_seq: key 11 (snap_seq) too, written once a snapshot was taken */
void raw_super_keys(msgpack_packer *pk, const struct fl_super_rec *s, bool with_snap_seq)
{
	const struct field f[] = {FLD_U(0, 1),
				  FLD_S(1, s->uuid),
				  FLD_S(2, s->name),
				  FLD_U(3, s->block_size),
				  FLD_U(4, s->size_limit),
				  FLD_I(5, s->created),
				  FLD_U(6, s->next_ino),
				  FLD_U(7, s->jtail),
				  FLD_U(8, s->used_bytes),
				  FLD_U(9, s->inodes),
				  FLD_U(10, s->itab_shard_bits),
				  FLD_U(11, s->snap_seq)};

	pk_map(pk, f, with_snap_seq ? 12 : 11);
}

void raw_super(msgpack_packer *pk, const struct fl_super_rec *s)
{
	raw_super_keys(pk, s, false);
}

/* host_len may differ from strlen(host) (a NUL inside) */
void raw_snap(msgpack_packer *pk, uint64_t id, int64_t created, uint64_t ns, uint64_t state,
	      const char *host, size_t host_len)
{
	const struct field f[] = {FLD_U(0, 1),	FLD_U(1, id),	 FLD_I(2, created),
				  FLD_U(3, ns), FLD_U(4, state), FLD_SN(5, host, host_len)};

	pk_map(pk, f, 6);
}

void raw_volreg(msgpack_packer *pk, const struct fl_volreg_rec *r)
{
	const struct field f[] = {FLD_U(0, 1), FLD_S(1, r->uuid), FLD_I(2, r->created),
				  FLD_U(3, r->size_limit)};

	pk_map(pk, f, 4);
}

void raw_parent(msgpack_packer *pk, const struct fl_parent_rec *r)
{
	const struct field f[] = {FLD_U(0, 1),	     FLD_S(1, r->uuid), FLD_U(2, r->snap_id),
				  FLD_S(3, r->snap), FLD_S(4, r->name), FLD_I(5, r->created)};

	pk_map(pk, f, 6);
}

void raw_dirent(msgpack_packer *pk, const struct fl_dirent_rec *d)
{
	const struct field f[] = {FLD_U(0, 1), FLD_U(1, d->ino), FLD_U(2, d->type)};

	pk_map(pk, f, 3);
}

/* The 13 keys every inode has (0 to 12: version to btime). */
static void raw_inode_base(msgpack_packer *pk, const struct fl_inode_rec *i)
{
	const struct field f[] = {
		FLD_U(0, 1),	     FLD_U(1, i->ino),	   FLD_U(2, i->mode),
		FLD_U(3, i->uid),    FLD_U(4, i->gid),	   FLD_U(5, i->nlink),
		FLD_U(6, i->size),   FLD_U(7, i->rdev),	   FLD_U(8, i->generation),
		FLD_T(9, &i->atime), FLD_T(10, &i->mtime), FLD_T(11, &i->ctime),
		FLD_T(12, &i->btime)};

	pk_fields(pk, f, 13);
}

/*
 * A hand-made inode map of nkeys keys, begun with keys 0 to 12: version 1,
 * ino, mode, 0 for uid to generation and ts for the four times; the caller
 * writes the other nkeys - 13.
 */
void raw_inode_plain(msgpack_packer *pk, uint32_t nkeys, uint64_t ino, uint32_t mode,
		     const struct timespec *ts)
{
	struct fl_inode_rec i;

	memset(&i, 0, sizeof(i));
	i.ino = ino;
	i.mode = mode;
	i.atime = i.mtime = i.ctime = i.btime = *ts;
	msgpack_pack_map(pk, nkeys);
	raw_inode_base(pk, &i);
}

/* nx: how many xattrs to write (may differ from i->nxattrs); symlink written when non-NULL. */
static void raw_inode_n(msgpack_packer *pk, const struct fl_inode_rec *i, uint32_t nx)
{
	uint32_t k;

	msgpack_pack_map(pk, 13 + (i->symlink ? 1 : 0) + (nx ? 1 : 0) + (i->has_bmap ? 1 : 0));
	raw_inode_base(pk, i);
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

void raw_inode(msgpack_packer *pk, const struct fl_inode_rec *i)
{
	raw_inode_n(pk, i, i->nxattrs);
}

/* name_len: bytes of op->name to write (names with NUL inside); SIZE_MAX = strlen. */
void raw_jop(msgpack_packer *pk, const struct fl_jop *op, size_t name_len)
{
	bool set = op->kind == FL_JOP_DENT_SET;
	bool named = set || op->kind == FL_JOP_DENT_DEL;

	if (name_len == SIZE_MAX && op->name)
		name_len = strlen(op->name);
	msgpack_pack_map(pk, 2 + (named ? 1 : 0) + (set ? 1 : 0));
	pk_key(pk, 1), msgpack_pack_uint64(pk, op->kind);
	if (op->kind == FL_JOP_INODE_PUT)
		pk_key(pk, 3), raw_inode(pk, &op->inode);
	else
		pk_key(pk, 2), msgpack_pack_uint64(pk, op->ino);
	if (named)
		pk_key(pk, 4), pk_str(pk, op->name, name_len);
	if (set)
		pk_key(pk, 5), raw_dirent(pk, &op->dent);
}

void raw_jtxn_hdr(msgpack_packer *pk, const struct fl_jtxn *t, uint32_t nops)
{
	const struct field f[] = {FLD_U(0, 1), FLD_U(1, t->tid), FLD_U(2, t->next_ino),
				  FLD_U(3, t->used_bytes), FLD_U(4, t->inodes)};

	msgpack_pack_map(pk, 6);
	pk_fields(pk, f, 5);
	pk_key(pk, 5), msgpack_pack_array(pk, nops);
}

void raw_jtxn(msgpack_packer *pk, const struct fl_jtxn *t)
{
	uint32_t k;

	raw_jtxn_hdr(pk, t, t->nops);
	for (k = 0; k < t->nops; k++)
		raw_jop(pk, &t->ops[k], SIZE_MAX);
}

/* ------------------------------------------------------------------ */
/* Fixtures. */

void mk_super(struct fl_super_rec *s)
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

void mk_volreg(struct fl_volreg_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->version = FL_FORMAT_VERSION;
	strcpy(r->uuid, UUID);
	r->created = 1700000001;
	r->size_limit = 1ull << 40;
}

void mk_inode(struct fl_inode_rec *i, uint32_t mode)
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
void mk_inode_runs(struct fl_inode_rec *i, uint32_t n)
{
	mk_inode(i, S_IFREG | 0644);
	i->has_bmap = true;
	i->bmap = calloc(n, sizeof(*i->bmap));
	CHECK(i->bmap != NULL);
	i->nbmap = n;
}

/* Heap copy of exactly len bytes so that ASan sees any read past the end. */
void *dup_bytes(const void *p, size_t len)
{
	void *d = malloc(len ? len : 1);

	if (!d) {
		perror("malloc");
		exit(2);
	}
	memcpy(d, p, len);
	return d;
}

int dec_super(const void *p, size_t n, void *o)
{
	return fl_super_decode(p, n, o);
}

int dec_snap(const void *p, size_t n, void *o)
{
	return fl_snap_decode(p, n, o);
}

int dec_volreg(const void *p, size_t n, void *o)
{
	return fl_volreg_decode(p, n, o);
}

int dec_dirent(const void *p, size_t n, void *o)
{
	return fl_dirent_decode(p, n, o);
}

int dec_inode(const void *p, size_t n, void *o)
{
	int rc = fl_inode_decode(p, n, o);

	fl_inode_rec_free(o);
	return rc;
}

int dec_jtxn(const void *p, size_t n, void *o)
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

int decode_any(decoder_fn fn, const void *p, size_t n)
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
void check_truncations(decoder_fn fn, const void *p, size_t len, size_t step)
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

/* ------------------------------------------------------------------ */
/* Map surgery on a valid encoding, for the generic rejection tests. */

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

const struct edit NO_EDIT = {-1, -1, W_NIL, -1, false, false};

/* Re-packs the map in[0..len) with the edit applied; returns 0 or -1 if not a map. */
int remap(const void *in, size_t len, struct mp *out, const struct edit *ed)
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
bool key_present(const void *enc, size_t len, uint64_t key)
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

/* The edit ed of enc[0..len) (packed on m) must be refused (-EIO); why names it. */
static void check_edit_refused(const char *what, const char *why, decoder_fn fn, const void *enc,
			       size_t len, const struct edit *ed, struct mp *m)
{
	CHECK(remap(enc, len, m, ed) == 0);
	if (decode_any(fn, m->sb.data, m->sb.size) != -EIO) {
		fprintf(stderr, "%s: %s accepted\n", what, why);
		check_failures++;
	}
}

/*
 * The generic rejections for one valid encoding: every known key with a
 * wrong type, each required key missing, each known key duplicated,
 * trailing bytes, every truncation, and version 0 / 2 / huge.
 */
void check_rejections_v(const char *what, decoder_fn fn, const void *enc, size_t len,
			unsigned nkeys, uint64_t optional_mask, int64_t version_max)
{
	struct mp m;
	struct edit ed;
	unsigned key;
	int w;
	char *tail;
	char why[64];

	mp_init(&m);
	CHECK_RC(decode_any(fn, enc, len), 0);

	for (key = 0; key < nkeys; key++) {
		if (!key_present(enc, len, key))
			continue;
		for (w = 0; w < W_COUNT; w++) {
			ed = NO_EDIT;
			ed.repl = key;
			ed.w = (enum wrong)w;
			snprintf(why, sizeof(why), "key %u with wrong type %d", key, w);
			check_edit_refused(what, why, fn, enc, len, &ed, &m);
		}
		ed = NO_EDIT;
		ed.dup = key;
		snprintf(why, sizeof(why), "duplicate key %u", key);
		check_edit_refused(what, why, fn, enc, len, &ed, &m);
		if (optional_mask & (1ull << key))
			continue;
		ed = NO_EDIT;
		ed.drop = key;
		snprintf(why, sizeof(why), "missing required key %u", key);
		check_edit_refused(what, why, fn, enc, len, &ed, &m);
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
void check_rejections(const char *what, decoder_fn fn, const void *enc, size_t len, unsigned nkeys,
		      uint64_t optional_mask)
{
	check_rejections_v(what, fn, enc, len, nkeys, optional_mask, FL_FORMAT_VERSION);
}

/* Not-a-map and structural garbage: the same for every decoder. */
void check_garbage(decoder_fn fn)
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
int decode_with_nesting(decoder_fn fn, const void *enc, size_t len, int depth)
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
