/*
 * flockerfs — what the files of test_record share: the second packer, the
 * sample records and the rejection checks (test_record.c), and one test
 * function per record kind (test_record_volume.c: superblock, snapshots,
 * registry, parents, dirents, object ids and names; test_record_inode.c:
 * inodes and block maps; test_record_journal.c: transactions and frames).
 */
#ifndef FLOCKER_TESTS_TEST_RECORD_H
#define FLOCKER_TESTS_TEST_RECORD_H

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
#include "../fuzz/rec_sample.h"
#define CHECK_SHARED_COUNT /* one count for the files of test_record */
#include "tests/check.h"

struct mp {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

/* One key of a record map and its value, for the table-driven packers. */
enum field_kind { FK_UINT, FK_INT, FK_STR, FK_TS };

struct field {
	uint64_t key;
	enum field_kind kind;
	uint64_t u;    /* FK_UINT */
	int64_t i;     /* FK_INT */
	const char *s; /* FK_STR: s[0..len), NULs inside allowed */
	size_t len;
	const struct timespec *ts; /* FK_TS */
};

#define FLD_U(k, v)                                                                                \
	{                                                                                          \
		.key = (k), .kind = FK_UINT, .u = (v)                                              \
	}
#define FLD_I(k, v)                                                                                \
	{                                                                                          \
		.key = (k), .kind = FK_INT, .i = (v)                                               \
	}
#define FLD_SN(k, v, n)                                                                            \
	{                                                                                          \
		.key = (k), .kind = FK_STR, .s = (v), .len = (n)                                   \
	}
#define FLD_S(k, v) FLD_SN(k, v, strlen(v))
#define FLD_T(k, v)                                                                                \
	{                                                                                          \
		.key = (k), .kind = FK_TS, .ts = (v)                                               \
	}

/* Decodes with every record decoder and returns a bitmask of those returning 0. */
typedef int (*decoder_fn)(const void *, size_t, void *);

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

enum wrong { W_NIL, W_TRUE, W_FLOAT, W_MAP, W_BIN, W_COUNT };

struct edit {
	int64_t drop; /* key to leave out, or -1 */
	int64_t repl; /* key whose value becomes a wrong value, or -1 */
	enum wrong w;
	int64_t dup; /* key to write twice, or -1 */
	bool extras; /* add unknown keys */
	bool extras_first;
};

extern const char UUID[];
void mp_init(struct mp *m);
void mp_reset(struct mp *m);
void mp_done(struct mp *m);
void pk_key(msgpack_packer *pk, uint64_t k);
void pk_str(msgpack_packer *pk, const char *s, size_t len);
void pk_ts(msgpack_packer *pk, const struct timespec *ts);
void pk_fields(msgpack_packer *pk, const struct field *f, size_t n);
void pk_map(msgpack_packer *pk, const struct field *f, size_t n);
void raw_inode_plain(msgpack_packer *pk, uint32_t nkeys, uint64_t ino, uint32_t mode,
		     const struct timespec *ts);
void raw_super_keys(msgpack_packer *pk, const struct fl_super_rec *s, bool with_snap_seq);
void raw_super(msgpack_packer *pk, const struct fl_super_rec *s);
void raw_snap(msgpack_packer *pk, uint64_t id, int64_t created, uint64_t ns, uint64_t state,
	      const char *host, size_t host_len);
void raw_volreg(msgpack_packer *pk, const struct fl_volreg_rec *r);
void raw_parent(msgpack_packer *pk, const struct fl_parent_rec *r);
void raw_dirent(msgpack_packer *pk, const struct fl_dirent_rec *d);
void raw_inode(msgpack_packer *pk, const struct fl_inode_rec *i);
void raw_jop(msgpack_packer *pk, const struct fl_jop *op, size_t name_len);
void raw_jtxn_hdr(msgpack_packer *pk, const struct fl_jtxn *t, uint32_t nops);
void raw_jtxn(msgpack_packer *pk, const struct fl_jtxn *t);
void mk_super(struct fl_super_rec *s);
void mk_volreg(struct fl_volreg_rec *r);
void mk_inode(struct fl_inode_rec *i, uint32_t mode);
void mk_inode_runs(struct fl_inode_rec *i, uint32_t n);
void *dup_bytes(const void *p, size_t len);
int dec_super(const void *p, size_t n, void *o);
int dec_snap(const void *p, size_t n, void *o);
int dec_volreg(const void *p, size_t n, void *o);
int dec_dirent(const void *p, size_t n, void *o);
int dec_inode(const void *p, size_t n, void *o);
int dec_jtxn(const void *p, size_t n, void *o);
int decode_any(decoder_fn fn, const void *p, size_t n);
void check_truncations(decoder_fn fn, const void *p, size_t len, size_t step);
extern const struct edit NO_EDIT;
int remap(const void *in, size_t len, struct mp *out, const struct edit *ed);
bool key_present(const void *enc, size_t len, uint64_t key);
void check_rejections_v(const char *what, decoder_fn fn, const void *enc, size_t len,
			unsigned nkeys, uint64_t optional_mask, int64_t version_max);
void check_rejections(const char *what, decoder_fn fn, const void *enc, size_t len, unsigned nkeys,
		      uint64_t optional_mask);
void check_garbage(decoder_fn fn);
int decode_with_nesting(decoder_fn fn, const void *enc, size_t len, int depth);
void test_super(void);
void test_super_snap_seq(void);
void test_snap(void);
void test_parent(void);
void test_volreg(void);
void test_dirent(void);
void mk_xattrs_full(struct fl_inode_rec *i);
void test_inode(void);
void test_jtxn(void);
void test_jtxn_deps(void);
void test_nested_unknown(void);
void test_frames(void);
void test_oids(void);
void test_volname(void);
void test_bmap(void);
void test_bmap_many(void);
void test_super_version(void);

#endif
