/*
 * flockerfs — record codec tests: the superblock, snapshots, the volume registry,
 * parents, dirents, object ids and volume names (see test_record.c).
 */
#include "test_record.h"

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

/* The start of a superblock test: the sample superblock, the buffer and the packer. */
static void super_begin(struct fl_super_rec *s, struct fl_buf *b, struct mp *m)
{
	fl_buf_init(b, FL_REC_MAX);
	mp_init(m);
	mk_super(s);
}

void test_super(void)
{
	struct fl_super_rec s, d;
	struct fl_buf b;
	struct mp m;

	super_begin(&s, &b, &m);
	CHECK_SAME_BYTES(super, &s, &d, b, m);
	check_rejections_v("super", dec_super, b.data, b.len, 11, 0, FL_SUPER_VERSION);
	check_garbage(dec_super);
	CHECK_RC(decode_with_nesting(dec_super, b.data, b.len, 12), 0);
	CHECK_RC(decode_with_nesting(dec_super, b.data, b.len, 40), -EIO);

	/* Edge values. */
	memset(s.name, 'n', FL_VOLNAME_MAX);
	s.name[FL_VOLNAME_MAX] = '\0';
	s.block_size = 1u << 31;
	s.created = INT64_MIN;
	s.size_limit = s.next_ino = s.jtail = s.used_bytes = s.inodes = UINT64_MAX;
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
void test_super_snap_seq(void)
{
	struct fl_super_rec s, d;
	struct fl_buf b;
	struct mp m;

	super_begin(&s, &b, &m);
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

void test_snap(void)
{
	struct fl_snap_rec r, d;
	struct fl_buf b;
	struct mp m;
	char host[FL_SNAP_HOST_MAX + 2];

	fl_buf_init(&b, FL_REC_MAX);
	mp_init(&m);
	rec_snap_typical(&r);
	r.version = FL_FORMAT_VERSION;
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
	rec_snap_edge(&r);
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

void test_parent(void)
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

void test_volreg(void)
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

void test_dirent(void)
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

void test_oids(void)
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

void test_volname(void)
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

/* The superblock's version: 1 as before (0 in the struct writes 1), 2 for a
 * volume whose maps may pass FL_BMAP_MAX_V1 runs; 3 is refused both ways,
 * and no other record takes version 2 (check_rejections). */
void test_super_version(void)
{
	struct fl_super_rec s, d;
	struct fl_buf b;
	struct mp m;

	super_begin(&s, &b, &m);
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
