/*
 * flockerfs — record codec tests: journal transactions and frames (see test_record.c).
 */
#include "test_record.h"

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
	rec_jop_dent(&ops[1], FL_JOP_DENT_SET, 1, longname, 42, S_IFREG);
	rec_jop_dent(&ops[2], FL_JOP_DENT_DEL, 1, "old", 0, 0);
	rec_jop_ino(&ops[3], FL_JOP_INODE_DEL, 41);
	rec_jop_ino(&ops[4], FL_JOP_ORPHAN_ADD, UINT64_MAX);
	rec_jop_ino(&ops[5], FL_JOP_ORPHAN_DEL, 40);
}

/* A one-op transaction with a DENT_SET named name[0..nlen). */
static int decode_named_op(const char *name, size_t nlen, uint32_t kind)
{
	struct fl_jtxn t = {0};
	struct fl_jop op = {0};
	struct mp m;
	int rc;

	rec_jop_dent(&op, kind, 1, name, 2, S_IFDIR);
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
void test_jtxn_deps(void)
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

void test_jtxn(void)
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
		rec_jop_dent(&ops[k], FL_JOP_DENT_SET, k, longname, UINT64_MAX - k, S_IFLNK);
	}
	t.ops = ops;
	t.nops = FL_JOPS_MAX;
	t.tid = t.next_ino = t.used_bytes = t.inodes = UINT64_MAX;
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

/*
 * An INODE_PUT op with unknown keys in the op and the inode maps (ino 77, a
 * fifo); with dup_ino the inode's key 1 comes twice.
 */
static void pack_odd_inode_op(msgpack_packer *pk, bool dup_ino)
{
	unsigned k;

	msgpack_pack_map(pk, 3);
	pk_key(pk, 0), msgpack_pack_nil(pk); /* reserved key 0 ignored in ops */
	pk_key(pk, 1), msgpack_pack_uint64(pk, FL_JOP_INODE_PUT);
	pk_key(pk, 3);
	msgpack_pack_map(pk, dup_ino ? 17 : 16);
	pk_key(pk, 12), pk_ts(pk, &(struct timespec){.tv_sec = 5, .tv_nsec = 6});
	pk_key(pk, 0), msgpack_pack_uint64(pk, 1);
	pk_key(pk, 2), msgpack_pack_uint64(pk, S_IFIFO | 0600);
	pk_key(pk, 1), msgpack_pack_uint64(pk, 77);
	for (k = 3; k <= 8; k++)
		pk_key(pk, k), msgpack_pack_uint64(pk, k);
	pk_key(pk, 31), msgpack_pack_map(pk, 1), msgpack_pack_map(pk, 0), msgpack_pack_array(pk, 1),
		msgpack_pack_map(pk, 0);
	for (k = 9; k <= 11; k++)
		pk_key(pk, k), pk_ts(pk, &(struct timespec){.tv_sec = -(long)k});
	if (dup_ino)
		pk_key(pk, 1), msgpack_pack_uint64(pk, 1);
	pk_key(pk, 99), msgpack_pack_bin_with_body(pk, "zz", 2);
	pk_key(pk, 1 << 20), msgpack_pack_int64(pk, INT64_MIN);
}

/* The keys after the ops of that transaction: 4 to 0. */
static void pack_odd_txn_keys(msgpack_packer *pk)
{
	pk_key(pk, 4), msgpack_pack_uint64(pk, 3);
	pk_key(pk, 3), msgpack_pack_uint64(pk, 2);
	pk_key(pk, 2), msgpack_pack_uint64(pk, 1);
	pk_key(pk, 1), msgpack_pack_uint64(pk, 0);
	pk_key(pk, 0), msgpack_pack_uint64(pk, 1);
}

/* Unknown keys inside nested maps of a hand-built transaction. */
void test_nested_unknown(void)
{
	struct fl_jtxn d;
	struct mp m;

	mp_init(&m);
	msgpack_pack_map(&m.pk, 7);
	pk_str(&m.pk, "future", 6), msgpack_pack_array(&m.pk, 2), msgpack_pack_map(&m.pk, 1),
		pk_key(&m.pk, 1), msgpack_pack_array(&m.pk, 0), pk_str(&m.pk, "", 0);
	pk_key(&m.pk, 5), msgpack_pack_array(&m.pk, 2);
	pack_odd_inode_op(&m.pk, true);
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
	pack_odd_txn_keys(&m.pk);
	CHECK_RC(fl_jtxn_decode(m.sb.data, m.sb.size, &d), -EIO); /* inode key 1 twice */

	/* Same without the duplicate inode key. */
	mp_reset(&m);
	msgpack_pack_map(&m.pk, 6);
	pk_key(&m.pk, 5), msgpack_pack_array(&m.pk, 1);
	pack_odd_inode_op(&m.pk, false);
	pack_odd_txn_keys(&m.pk);
	CHECK_RC(fl_jtxn_decode(m.sb.data, m.sb.size, &d), 0);
	CHECK(d.nops == 1 && d.ops[0].kind == FL_JOP_INODE_PUT && d.ops[0].inode.ino == 77 &&
	      d.ops[0].ino == 77 && d.ops[0].inode.mode == (S_IFIFO | 0600) &&
	      d.ops[0].inode.uid == 3 && d.ops[0].inode.generation == 8 &&
	      d.ops[0].inode.btime.tv_nsec == 6 && d.ops[0].inode.atime.tv_sec == -9 &&
	      d.next_ino == 1 && d.inodes == 3);
	fl_jtxn_free(&d);
	mp_done(&m);
}

void test_frames(void)
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
