/*
 * flockerfs — record codec tests: inodes and their block maps (see test_record.c).
 */
#include "test_record.h"

/* Fills 1024 xattrs whose name + value bytes total exactly FL_XATTRS_BYTES. */
void mk_xattrs_full(struct fl_inode_rec *i)
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

void test_inode(void)
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
	i.mode = S_IFCHR | 07777;
	i.uid = i.gid = i.nlink = UINT32_MAX;
	i.ino = i.size = i.rdev = i.generation = UINT64_MAX;
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
		raw_inode_plain(&m.pk, 14, 1, S_IFLNK | 0777, &i.mtime);
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
			raw_inode_plain(&m.pk, 14, 1, S_IFREG | 0600, &i.mtime);
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
		raw_inode_plain(&m.pk, 14, 42, S_IFREG | 0644, &i.mtime);
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

/* The block map: its encoding, what decode refuses, and the run arithmetic. */
void test_bmap(void)
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
void test_bmap_many(void)
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
