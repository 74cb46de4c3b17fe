/*
 * flockerfs — on-RADOS records: msgpack codecs, journal frames, CRC-32C and
 * object names.  The formats are described in fs/format/FORMAT.md; keep the two in
 * step.
 *
 * Decoding happens in three steps:
 *   1. mp_prescan() walks the raw bytes once without allocating: exactly one
 *      complete object, nesting depth <= MP_DEPTH_MAX, and no container
 *      announcing more elements than bytes are left.  msgpack-c allocates a
 *      container's element array from its announced count before it has
 *      seen the elements, so without this step a 5-byte input could ask for
 *      gigabytes.  After it, the zone holds at most one msgpack_object
 *      (24 bytes) per input byte.
 *   2. msgpack_unpack_next() builds the object tree (strings and binaries
 *      point into the input, nothing is copied).
 *   3. A per-record function picks the known keys out of the map, checks
 *      each one's type and bounds, and copies into the caller's struct.
 * Every failure path leaves the output zeroed (and freed).
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

#include "flocker/record.h"
#include "fs/format/record_int.h"
#include "fs/util/uuid.h"

/* Deepest container nesting accepted (msgpack-c's own limit is 32). */
#define MP_DEPTH_MAX 16

/* Key numbers; see fs/format/FORMAT.md. */
enum { K_VERSION = 0 };

enum {
	SB_UUID = 1,
	SB_NAME = 2,
	SB_BLOCK_SIZE = 3,
	SB_SIZE_LIMIT = 4,
	SB_CREATED = 5,
	SB_NEXT_INO = 6,
	SB_JTAIL = 7,
	SB_USED_BYTES = 8,
	SB_INODES = 9,
	SB_SHARD_BITS = 10,
	SB_SNAP_SEQ = 11,
	SB_NKEYS
};

enum { VR_UUID = 1, VR_CREATED = 2, VR_SIZE_LIMIT = 3, VR_NKEYS };
enum { PR_UUID = 1, PR_SNAP_ID = 2, PR_SNAP = 3, PR_NAME = 4, PR_CREATED = 5, PR_NKEYS };

enum { DE_INO = 1, DE_TYPE = 2, DE_NKEYS };

enum {
	TR_UUID = 1,
	TR_NAME = 2,
	TR_REG = 3,
	TR_REMOVED = 4,
	TR_PURGE_AT = 5,
	TR_STATE = 6,
	TR_STATE_SINCE = 7,
	TR_HOST = 8,
	TR_REMOVED_NS = 9,
	TR_NKEYS
};

enum {
	IN_INO = 1,
	IN_MODE = 2,
	IN_UID = 3,
	IN_GID = 4,
	IN_NLINK = 5,
	IN_SIZE = 6,
	IN_RDEV = 7,
	IN_GENERATION = 8,
	IN_ATIME = 9,
	IN_MTIME = 10,
	IN_CTIME = 11,
	IN_BTIME = 12,
	IN_SYMLINK = 13,
	IN_XATTRS = 14,
	IN_BMAP = 16, /* 15: left free (tests use it as a future field) */
	IN_NKEYS
};

enum { JT_TID = 1, JT_NEXT_INO = 2, JT_USED_BYTES = 3, JT_INODES = 4, JT_OPS = 5, JT_NKEYS };

/* Journal op maps carry no version of their own: key 0 is reserved. */
enum { OP_KIND = 1, OP_INO = 2, OP_INODE = 3, OP_NAME = 4, OP_DENT = 5, OP_NKEYS };

/* ------------------------------------------------------------------ */
/* Shared validity rules (encoders refuse what decoders would reject). */

static bool ftype_valid(uint32_t type)
{
	switch (type) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFLNK:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		return true;
	default:
		return false;
	}
}

static bool mode_valid(uint32_t mode)
{
	return (mode & ~(uint32_t)(S_IFMT | 07777)) == 0 && ftype_valid(mode & S_IFMT);
}

static bool volname_valid_n(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > FL_VOLNAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];
		bool alnum =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (alnum)
			continue;
		if (i > 0 && (c == '_' || c == '.' || c == '-'))
			continue;
		return false;
	}
	return true;
}

int fl_volname_valid(const char *name)
{
	if (!name)
		return 0;
	return volname_valid_n(name, strnlen(name, FL_VOLNAME_MAX + 1)) ? 1 : 0;
}

/* A directory entry name: 1..FL_NAME_MAX bytes, no '/' or NUL, not "." or "..". */
static bool dname_valid(const char *s, size_t len)
{
	if (len < 1 || len > FL_NAME_MAX)
		return false;
	if (memchr(s, '/', len) || memchr(s, '\0', len))
		return false;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	return true;
}

static bool ts_valid(const struct timespec *ts)
{
	return ts->tv_nsec >= 0 && ts->tv_nsec <= 999999999L;
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Checks a whole xattr array: count, each name and value, the byte total
 * and duplicate names.  0, -EINVAL (invalid) or -ENOMEM.
 */
static int xattrs_check(const struct fl_xattr *x, uint32_t n)
{
	const char **names;
	uint64_t total = 0;
	uint32_t k;
	int rc = 0;

	if (n == 0)
		return 0;
	if (n > FL_XATTRS_MAX || !x)
		return -EINVAL;
	for (k = 0; k < n; k++) {
		size_t nlen;

		if (!x[k].name)
			return -EINVAL;
		nlen = strnlen(x[k].name, FL_XATTR_NAME_MAX + 1);
		if (nlen < 1 || nlen > FL_XATTR_NAME_MAX)
			return -EINVAL;
		if (x[k].vlen > FL_XATTR_VAL_MAX || (x[k].vlen && !x[k].value))
			return -EINVAL;
		total += nlen + x[k].vlen;
	}
	if (total > FL_XATTRS_BYTES)
		return -EINVAL;
	if (n == 1)
		return 0;
	names = malloc(n * sizeof(*names));
	if (!names)
		return -ENOMEM;
	for (k = 0; k < n; k++)
		names[k] = x[k].name;
	qsort(names, n, sizeof(*names), cmp_strp);
	for (k = 1; k < n; k++) {
		if (strcmp(names[k - 1], names[k]) == 0) {
			rc = -EINVAL;
			break;
		}
	}
	free(names);
	return rc;
}

/* Runs sorted, disjoint, not adjacent, non-empty, without overflow. */
static int bmap_check(const struct fl_brange *m, uint32_t n)
{
	uint32_t k;

	if (n > FL_BMAP_MAX || (n && !m))
		return -EINVAL;
	for (k = 0; k < n; k++) {
		if (!m[k].count || m[k].first > UINT64_MAX - m[k].count)
			return -EINVAL;
		if (k && m[k].first <= m[k - 1].first + m[k - 1].count)
			return -EINVAL;
	}
	return 0;
}

static int inode_check(const struct fl_inode_rec *i)
{
	if (!mode_valid(i->mode))
		return -EINVAL;
	if (i->has_bmap ? bmap_check(i->bmap, i->nbmap) : i->nbmap != 0)
		return -EINVAL;
	if (!ts_valid(&i->atime) || !ts_valid(&i->mtime) || !ts_valid(&i->ctime) ||
	    !ts_valid(&i->btime))
		return -EINVAL;
	if (S_ISLNK(i->mode)) {
		size_t l;

		if (!i->symlink)
			return -EINVAL;
		l = strnlen(i->symlink, FL_SYMLINK_MAX + 1);
		if (l < 1 || l > FL_SYMLINK_MAX)
			return -EINVAL;
	} else if (i->symlink) {
		return -EINVAL;
	}
	return xattrs_check(i->xattrs, i->nxattrs);
}

/* ------------------------------------------------------------------ */
/* Encoding: a msgpack_packer whose sink appends to a capped fl_buf. */

static int enc_sink(void *data, const char *p, size_t n)
{
	struct enc *e = data;
	int rc;

	if (e->err)
		return e->err;
	if (n > (size_t)FL_REC_MAX - (e->out->len - e->start))
		rc = -E2BIG;
	else
		rc = fl_buf_append(e->out, p, n);
	if (rc < 0)
		e->err = rc;
	return rc;
}

void enc_begin(struct enc *e, struct fl_buf *out)
{
	e->out = out;
	e->start = out->len;
	e->err = 0;
	msgpack_packer_init(&e->pk, e, enc_sink);
}

/* Returns the encoder's result; on failure the buffer is rolled back. */
int enc_end(struct enc *e)
{
	if (e->err) {
		e->out->len = e->start;
		if (e->out->data)
			e->out->data[e->start] = '\0';
	}
	return e->err;
}

/* A packing call failing without the sink having failed: call it -EIO. */
static void enc_check(struct enc *e, int rc)
{
	if (rc != 0 && !e->err)
		e->err = -EIO;
}

void put_map(struct enc *e, size_t n)
{
	enc_check(e, msgpack_pack_map(&e->pk, n));
}

static void put_array(struct enc *e, size_t n)
{
	enc_check(e, msgpack_pack_array(&e->pk, n));
}

void put_u64(struct enc *e, unsigned key, uint64_t v)
{
	enc_check(e, msgpack_pack_uint64(&e->pk, key));
	enc_check(e, msgpack_pack_uint64(&e->pk, v));
}

void put_i64(struct enc *e, unsigned key, int64_t v)
{
	enc_check(e, msgpack_pack_uint64(&e->pk, key));
	enc_check(e, msgpack_pack_int64(&e->pk, v));
}

void put_str(struct enc *e, unsigned key, const char *s, size_t len)
{
	enc_check(e, msgpack_pack_uint64(&e->pk, key));
	enc_check(e, msgpack_pack_str_with_body(&e->pk, s, len));
}

static void put_bin(struct enc *e, unsigned key, const void *p, size_t len)
{
	enc_check(e, msgpack_pack_uint64(&e->pk, key));
	enc_check(e, msgpack_pack_bin_with_body(&e->pk, p, len));
}

static void put_ts(struct enc *e, unsigned key, const struct timespec *ts)
{
	enc_check(e, msgpack_pack_uint64(&e->pk, key));
	put_array(e, 2);
	enc_check(e, msgpack_pack_int64(&e->pk, (int64_t)ts->tv_sec));
	enc_check(e, msgpack_pack_uint32(&e->pk, (uint32_t)ts->tv_nsec));
}

void put_version(struct enc *e)
{
	put_u64(e, K_VERSION, FL_FORMAT_VERSION);
}

int fl_super_encode(const struct fl_super_rec *s, struct fl_buf *out)
{
	struct enc e;
	size_t nlen;

	nlen = strnlen(s->name, sizeof(s->name));
	if (!fl_uuid_valid_n(s->uuid, strnlen(s->uuid, sizeof(s->uuid))) ||
	    !volname_valid_n(s->name, nlen) || s->block_size == 0 ||
	    (s->block_size & (s->block_size - 1)) != 0 || s->itab_shard_bits > 63)
		return -EINVAL;

	enc_begin(&e, out);
	/* snap_seq only once a snapshot was taken: older supers stay byte for byte */
	put_map(&e, s->snap_seq ? SB_NKEYS : SB_SNAP_SEQ);
	put_version(&e);
	put_str(&e, SB_UUID, s->uuid, 36);
	put_str(&e, SB_NAME, s->name, nlen);
	put_u64(&e, SB_BLOCK_SIZE, s->block_size);
	put_u64(&e, SB_SIZE_LIMIT, s->size_limit);
	put_i64(&e, SB_CREATED, s->created);
	put_u64(&e, SB_NEXT_INO, s->next_ino);
	put_u64(&e, SB_JTAIL, s->jtail);
	put_u64(&e, SB_USED_BYTES, s->used_bytes);
	put_u64(&e, SB_INODES, s->inodes);
	put_u64(&e, SB_SHARD_BITS, s->itab_shard_bits);
	if (s->snap_seq)
		put_u64(&e, SB_SNAP_SEQ, s->snap_seq);
	return enc_end(&e);
}

int fl_volreg_encode(const struct fl_volreg_rec *r, struct fl_buf *out)
{
	struct enc e;

	if (!fl_uuid_valid_n(r->uuid, strnlen(r->uuid, sizeof(r->uuid))))
		return -EINVAL;
	enc_begin(&e, out);
	put_map(&e, VR_NKEYS);
	put_version(&e);
	put_str(&e, VR_UUID, r->uuid, 36);
	put_i64(&e, VR_CREATED, r->created);
	put_u64(&e, VR_SIZE_LIMIT, r->size_limit);
	return enc_end(&e);
}

int fl_parent_encode(const struct fl_parent_rec *r, struct fl_buf *out)
{
	size_t sl = strnlen(r->snap, sizeof(r->snap)), nl = strnlen(r->name, sizeof(r->name));
	struct enc e;

	if (!fl_uuid_valid_n(r->uuid, strnlen(r->uuid, sizeof(r->uuid))) ||
	    !volname_valid_n(r->snap, sl) || !volname_valid_n(r->name, nl))
		return -EINVAL;
	enc_begin(&e, out);
	put_map(&e, PR_NKEYS);
	put_version(&e);
	put_str(&e, PR_UUID, r->uuid, 36);
	put_u64(&e, PR_SNAP_ID, r->snap_id);
	put_str(&e, PR_SNAP, r->snap, sl);
	put_str(&e, PR_NAME, r->name, nl);
	put_i64(&e, PR_CREATED, r->created);
	return enc_end(&e);
}

/* The dirent body, shared by the record and DENT_SET journal ops. */
/* What fl_trash_rec_decode accepts; 0 or -EINVAL. */
static int trash_check(const struct fl_trash_rec *t)
{
	struct fl_volreg_rec r;

	if (!fl_uuid_valid_n(t->uuid, strnlen(t->uuid, sizeof(t->uuid))) ||
	    !volname_valid_n(t->name, strnlen(t->name, sizeof(t->name))) || t->reg_len < 1 ||
	    t->reg_len > FL_TRASH_REG_MAX || t->state > FL_TRASH_PURGING ||
	    t->removed_ns > 999999999 || strnlen(t->host, sizeof(t->host)) > FL_TRASH_HOST_MAX)
		return -EINVAL;
	/* the kept registry value must name this very volume */
	if (fl_volreg_decode(t->reg, t->reg_len, &r) < 0 || strcmp(r.uuid, t->uuid) != 0)
		return -EINVAL;
	return 0;
}

int fl_trash_rec_encode(const struct fl_trash_rec *t, struct fl_buf *out)
{
	struct enc e;
	int rc;

	rc = trash_check(t);
	if (rc < 0)
		return rc;
	enc_begin(&e, out);
	put_map(&e, TR_NKEYS);
	put_version(&e);
	put_str(&e, TR_UUID, t->uuid, 36);
	put_str(&e, TR_NAME, t->name, strlen(t->name));
	put_bin(&e, TR_REG, t->reg, t->reg_len);
	put_i64(&e, TR_REMOVED, t->removed);
	put_i64(&e, TR_PURGE_AT, t->purge_at);
	put_u64(&e, TR_STATE, t->state);
	put_i64(&e, TR_STATE_SINCE, t->state_since);
	put_str(&e, TR_HOST, t->host, strlen(t->host));
	put_u64(&e, TR_REMOVED_NS, t->removed_ns);
	/* cannot happen with the bounds above (about 1.3 KiB at most); the decoder's limit */
	if (!e.err && out->len - e.start > FL_TRASH_REC_MAX)
		e.err = -E2BIG;
	return enc_end(&e);
}

static void enc_dirent(struct enc *e, const struct fl_dirent_rec *d)
{
	put_map(e, DE_NKEYS);
	put_version(e);
	put_u64(e, DE_INO, d->ino);
	put_u64(e, DE_TYPE, d->type);
}

int fl_dirent_encode(const struct fl_dirent_rec *d, struct fl_buf *out)
{
	struct enc e;

	if (!ftype_valid(d->type))
		return -EINVAL;
	enc_begin(&e, out);
	enc_dirent(&e, d);
	return enc_end(&e);
}

/* The inode body (already checked), shared by the record and INODE_PUT ops. */
static void enc_inode(struct enc *e, const struct fl_inode_rec *i)
{
	size_t nkeys = IN_BTIME + 1;
	uint32_t k;

	if (i->symlink)
		nkeys++;
	if (i->nxattrs)
		nkeys++;
	if (i->has_bmap)
		nkeys++;
	put_map(e, nkeys);
	put_version(e);
	put_u64(e, IN_INO, i->ino);
	put_u64(e, IN_MODE, i->mode);
	put_u64(e, IN_UID, i->uid);
	put_u64(e, IN_GID, i->gid);
	put_u64(e, IN_NLINK, i->nlink);
	put_u64(e, IN_SIZE, i->size);
	put_u64(e, IN_RDEV, i->rdev);
	put_u64(e, IN_GENERATION, i->generation);
	put_ts(e, IN_ATIME, &i->atime);
	put_ts(e, IN_MTIME, &i->mtime);
	put_ts(e, IN_CTIME, &i->ctime);
	put_ts(e, IN_BTIME, &i->btime);
	if (i->symlink)
		put_str(e, IN_SYMLINK, i->symlink, strlen(i->symlink));
	if (i->nxattrs) {
		enc_check(e, msgpack_pack_uint64(&e->pk, IN_XATTRS));
		put_array(e, i->nxattrs);
		for (k = 0; k < i->nxattrs && !e->err; k++) {
			const struct fl_xattr *x = &i->xattrs[k];

			put_array(e, 2);
			enc_check(e, msgpack_pack_str_with_body(&e->pk, x->name, strlen(x->name)));
			enc_check(e, msgpack_pack_bin_with_body(&e->pk, x->value, x->vlen));
		}
	}
	if (i->has_bmap) {
		/* flat: first, count, first, count, ... */
		enc_check(e, msgpack_pack_uint64(&e->pk, IN_BMAP));
		put_array(e, (size_t)i->nbmap * 2);
		for (k = 0; k < i->nbmap && !e->err; k++) {
			enc_check(e, msgpack_pack_uint64(&e->pk, i->bmap[k].first));
			enc_check(e, msgpack_pack_uint64(&e->pk, i->bmap[k].count));
		}
	}
}

int fl_inode_encode(const struct fl_inode_rec *i, struct fl_buf *out)
{
	struct enc e;
	int rc;

	rc = inode_check(i);
	if (rc < 0)
		return rc;
	enc_begin(&e, out);
	enc_inode(&e, i);
	return enc_end(&e);
}

static int jop_check(const struct fl_jop *op)
{
	switch (op->kind) {
	case FL_JOP_INODE_PUT:
		return inode_check(&op->inode);
	case FL_JOP_INODE_DEL:
	case FL_JOP_ORPHAN_ADD:
	case FL_JOP_ORPHAN_DEL:
		return 0;
	case FL_JOP_DENT_SET:
		if (!ftype_valid(op->dent.type))
			return -EINVAL;
		/* fall through */
	case FL_JOP_DENT_DEL:
		if (!op->name || !dname_valid(op->name, strnlen(op->name, FL_NAME_MAX + 1)))
			return -EINVAL;
		return 0;
	default:
		return -EINVAL;
	}
}

static void enc_jop(struct enc *e, const struct fl_jop *op)
{
	switch (op->kind) {
	case FL_JOP_INODE_PUT:
		put_map(e, 2);
		put_u64(e, OP_KIND, op->kind);
		enc_check(e, msgpack_pack_uint64(&e->pk, OP_INODE));
		enc_inode(e, &op->inode);
		break;
	case FL_JOP_INODE_DEL:
	case FL_JOP_ORPHAN_ADD:
	case FL_JOP_ORPHAN_DEL:
		put_map(e, 2);
		put_u64(e, OP_KIND, op->kind);
		put_u64(e, OP_INO, op->ino);
		break;
	case FL_JOP_DENT_SET:
		put_map(e, 4);
		put_u64(e, OP_KIND, op->kind);
		put_u64(e, OP_INO, op->ino);
		put_str(e, OP_NAME, op->name, strlen(op->name));
		enc_check(e, msgpack_pack_uint64(&e->pk, OP_DENT));
		enc_dirent(e, &op->dent);
		break;
	case FL_JOP_DENT_DEL:
		put_map(e, 3);
		put_u64(e, OP_KIND, op->kind);
		put_u64(e, OP_INO, op->ino);
		put_str(e, OP_NAME, op->name, strlen(op->name));
		break;
	}
}

int fl_jtxn_encode(const struct fl_jtxn *t, struct fl_buf *out)
{
	struct enc e;
	uint32_t k;
	int rc;

	if (t->nops > FL_JOPS_MAX || (t->nops && !t->ops))
		return -EINVAL;
	for (k = 0; k < t->nops; k++) {
		rc = jop_check(&t->ops[k]);
		if (rc < 0)
			return rc;
	}
	enc_begin(&e, out);
	put_map(&e, JT_NKEYS);
	put_version(&e);
	put_u64(&e, JT_TID, t->tid);
	put_u64(&e, JT_NEXT_INO, t->next_ino);
	put_u64(&e, JT_USED_BYTES, t->used_bytes);
	put_u64(&e, JT_INODES, t->inodes);
	enc_check(&e, msgpack_pack_uint64(&e.pk, JT_OPS));
	put_array(&e, t->nops);
	for (k = 0; k < t->nops && !e.err; k++)
		enc_jop(&e, &t->ops[k]);
	return enc_end(&e);
}

/* ------------------------------------------------------------------ */
/* Decoding. */

static uint64_t rd_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	unsigned k;

	for (k = 0; k < n; k++)
		v = (v << 8) | p[k];
	return v;
}

/*
 * Structural walk of p[0..len): exactly one complete msgpack object, nesting
 * at most MP_DEPTH_MAX deep, every container's element count no larger than
 * the bytes left (each element takes at least one byte).  0 or -EIO.
 */
static int mp_prescan(const uint8_t *p, size_t len)
{
	uint64_t owed[MP_DEPTH_MAX + 1]; /* elements still owed per open level */
	int top = 0;
	size_t off = 0;

	owed[0] = 1;
	while (top >= 0) {
		unsigned hdr = 0;  /* bytes of length/count field after the tag */
		uint64_t skip = 0; /* payload bytes after the header */
		uint64_t cnt = 0;  /* child elements of a container */
		bool container = false, is_map = false;
		uint8_t b;

		if (owed[top] == 0) {
			top--;
			continue;
		}
		owed[top]--;
		if (off >= len)
			return -EIO;
		b = p[off++];

		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
			/* fixint, nil, bool */
		} else if (b <= 0x8f) {
			container = is_map = true;
			cnt = b & 0x0f;
		} else if (b <= 0x9f) {
			container = true;
			cnt = b & 0x0f;
		} else if (b <= 0xbf) {
			skip = b & 0x1f;
		} else {
			switch (b) {
			case 0xc4: /* bin8 */
			case 0xd9: /* str8 */
				hdr = 1;
				break;
			case 0xc5:
			case 0xda:
				hdr = 2;
				break;
			case 0xc6:
			case 0xdb:
				hdr = 4;
				break;
			case 0xc7: /* ext8: length, type byte, data */
				hdr = 1;
				skip = 1;
				break;
			case 0xc8:
				hdr = 2;
				skip = 1;
				break;
			case 0xc9:
				hdr = 4;
				skip = 1;
				break;
			case 0xca: /* float32 */
			case 0xce: /* uint32 */
			case 0xd2: /* int32 */
				skip = 4;
				break;
			case 0xcb:
			case 0xcf:
			case 0xd3:
				skip = 8;
				break;
			case 0xcc:
			case 0xd0:
				skip = 1;
				break;
			case 0xcd:
			case 0xd1:
				skip = 2;
				break;
			case 0xd4: /* fixext 1, 2, 4, 8, 16 (+ type byte) */
				skip = 2;
				break;
			case 0xd5:
				skip = 3;
				break;
			case 0xd6:
				skip = 5;
				break;
			case 0xd7:
				skip = 9;
				break;
			case 0xd8:
				skip = 17;
				break;
			case 0xdc:
				container = true;
				hdr = 2;
				break;
			case 0xdd:
				container = true;
				hdr = 4;
				break;
			case 0xde:
				container = is_map = true;
				hdr = 2;
				break;
			case 0xdf:
				container = is_map = true;
				hdr = 4;
				break;
			default: /* 0xc1: never used */
				return -EIO;
			}
		}

		if (hdr) {
			uint64_t v;

			if (hdr > len - off)
				return -EIO;
			v = rd_be(p + off, hdr);
			off += hdr;
			if (container)
				cnt = v;
			else
				skip += v;
		}
		if (skip > len - off)
			return -EIO;
		off += (size_t)skip;
		if (container) {
			if (is_map)
				cnt *= 2;
			if (cnt == 0)
				continue;
			if (cnt > len - off || top >= MP_DEPTH_MAX)
				return -EIO;
			owed[++top] = cnt;
		}
	}
	return off == len ? 0 : -EIO;
}

/*
 * Parses p[0..len) into u; the root must be a map, len at most max (<=
 * FL_REC_MAX).  Always destroy u.
 */
int dec_open(msgpack_unpacked *u, const void *p, size_t len, size_t max,
	     const msgpack_object **root)
{
	msgpack_unpack_return ret;
	size_t off = 0;

	msgpack_unpacked_init(u);
	if (!p || len == 0 || len > max || len > FL_REC_MAX)
		return -EIO;
	if (mp_prescan(p, len) < 0)
		return -EIO;
	ret = msgpack_unpack_next(u, p, len, &off);
	if (ret == MSGPACK_UNPACK_NOMEM_ERROR)
		return -ENOMEM;
	if (ret != MSGPACK_UNPACK_SUCCESS || off != len)
		return -EIO;
	if (u->data.type != MSGPACK_OBJECT_MAP)
		return -EIO;
	*root = &u->data;
	return 0;
}

/*
 * Picks keys 0..nkeys-1 out of map o into f[]; other keys (any type) are
 * skipped.  A known key given twice is -EIO.
 */
int dec_fields(const msgpack_object *o, const msgpack_object **f, unsigned nkeys)
{
	uint32_t k;

	if (o->type != MSGPACK_OBJECT_MAP)
		return -EIO;
	memset(f, 0, nkeys * sizeof(*f));
	for (k = 0; k < o->via.map.size; k++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[k];
		uint64_t key;

		if (kv->key.type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			continue;
		key = kv->key.via.u64;
		if (key >= nkeys)
			continue;
		if (f[key])
			return -EIO;
		f[key] = &kv->val;
	}
	return 0;
}

int get_u64(const msgpack_object *o, uint64_t max, uint64_t *v)
{
	if (!o || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
		return -EIO;
	*v = o->via.u64;
	return 0;
}

static int get_u32(const msgpack_object *o, uint32_t *v)
{
	uint64_t x;

	if (get_u64(o, UINT32_MAX, &x) < 0)
		return -EIO;
	*v = (uint32_t)x;
	return 0;
}

int get_i64(const msgpack_object *o, int64_t *v)
{
	if (!o)
		return -EIO;
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (o->via.u64 > INT64_MAX)
			return -EIO;
		*v = (int64_t)o->via.u64;
		return 0;
	}
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*v = o->via.i64;
		return 0;
	}
	return -EIO;
}

int get_version(const msgpack_object *o, uint32_t *v)
{
	uint64_t x;

	if (get_u64(o, FL_FORMAT_VERSION, &x) < 0 || x < 1)
		return -EIO;
	*v = (uint32_t)x;
	return 0;
}

/* A str whose length is in [min, max]; points into the input. */
int get_str(const msgpack_object *o, size_t min, size_t max, const char **s, size_t *len)
{
	if (!o || o->type != MSGPACK_OBJECT_STR)
		return -EIO;
	if (o->via.str.size < min || o->via.str.size > max)
		return -EIO;
	*s = o->via.str.ptr;
	*len = o->via.str.size;
	return 0;
}

/* A bin whose length is in [min, max]; points into the input. */
static int get_bin(const msgpack_object *o, size_t min, size_t max, const char **p, size_t *len)
{
	if (!o || o->type != MSGPACK_OBJECT_BIN)
		return -EIO;
	if (o->via.bin.size < min || o->via.bin.size > max)
		return -EIO;
	*p = o->via.bin.ptr;
	*len = o->via.bin.size;
	return 0;
}

static int get_uuid(const msgpack_object *o, char out[37])
{
	const char *s;
	size_t len;

	if (get_str(o, 36, 36, &s, &len) < 0 || !fl_uuid_valid_n(s, len))
		return -EIO;
	memcpy(out, s, 36);
	out[36] = '\0';
	return 0;
}

static int get_ts(const msgpack_object *o, struct timespec *ts)
{
	int64_t sec;
	uint64_t nsec;

	if (!o || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2)
		return -EIO;
	if (get_i64(&o->via.array.ptr[0], &sec) < 0 ||
	    get_u64(&o->via.array.ptr[1], 999999999, &nsec) < 0)
		return -EIO;
	if ((int64_t)(time_t)sec != sec)
		return -EIO;
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = (long)nsec;
	return 0;
}

/* NUL-terminated heap copy of s[0..len); NULL on ENOMEM. */
static char *dup_n(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

int fl_super_decode(const void *p, size_t len, struct fl_super_rec *s)
{
	const msgpack_object *f[SB_NKEYS], *root;
	msgpack_unpacked u;
	const char *name;
	size_t nlen;
	uint64_t bs, bits;
	int rc;

	memset(s, 0, sizeof(*s));
	rc = dec_open(&u, p, len, FL_REC_MAX, &root);
	if (rc < 0)
		goto out;
	rc = -EIO;
	if (dec_fields(root, f, SB_NKEYS) < 0 || get_version(f[K_VERSION], &s->version) < 0 ||
	    get_uuid(f[SB_UUID], s->uuid) < 0 ||
	    get_str(f[SB_NAME], 1, FL_VOLNAME_MAX, &name, &nlen) < 0 ||
	    !volname_valid_n(name, nlen) || get_u64(f[SB_BLOCK_SIZE], UINT32_MAX, &bs) < 0 ||
	    bs == 0 || (bs & (bs - 1)) != 0 ||
	    get_u64(f[SB_SIZE_LIMIT], UINT64_MAX, &s->size_limit) < 0 ||
	    get_i64(f[SB_CREATED], &s->created) < 0 ||
	    get_u64(f[SB_NEXT_INO], UINT64_MAX, &s->next_ino) < 0 ||
	    get_u64(f[SB_JTAIL], UINT64_MAX, &s->jtail) < 0 ||
	    get_u64(f[SB_USED_BYTES], UINT64_MAX, &s->used_bytes) < 0 ||
	    get_u64(f[SB_INODES], UINT64_MAX, &s->inodes) < 0 ||
	    get_u64(f[SB_SHARD_BITS], 63, &bits) < 0 ||
	    (f[SB_SNAP_SEQ] && get_u64(f[SB_SNAP_SEQ], UINT64_MAX, &s->snap_seq) < 0))
		goto out;
	memcpy(s->name, name, nlen);
	s->name[nlen] = '\0';
	s->block_size = (uint32_t)bs;
	s->itab_shard_bits = (uint32_t)bits;
	rc = 0;
out:
	msgpack_unpacked_destroy(&u);
	if (rc < 0)
		memset(s, 0, sizeof(*s));
	return rc;
}

int fl_volreg_decode(const void *p, size_t len, struct fl_volreg_rec *r)
{
	const msgpack_object *f[VR_NKEYS], *root;
	msgpack_unpacked u;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = dec_open(&u, p, len, FL_REC_MAX, &root);
	if (rc < 0)
		goto out;
	rc = -EIO;
	if (dec_fields(root, f, VR_NKEYS) < 0 || get_version(f[K_VERSION], &r->version) < 0 ||
	    get_uuid(f[VR_UUID], r->uuid) < 0 || get_i64(f[VR_CREATED], &r->created) < 0 ||
	    get_u64(f[VR_SIZE_LIMIT], UINT64_MAX, &r->size_limit) < 0)
		goto out;
	rc = 0;
out:
	msgpack_unpacked_destroy(&u);
	if (rc < 0)
		memset(r, 0, sizeof(*r));
	return rc;
}

/* A flatten removes the record: no "flattened" mark. */
int fl_parent_decode(const void *p, size_t len, struct fl_parent_rec *r)
{
	const msgpack_object *f[PR_NKEYS], *root;
	const char *snap, *name;
	size_t sl, nl;
	msgpack_unpacked u;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = dec_open(&u, p, len, FL_REC_MAX, &root);
	if (rc < 0)
		goto out;
	rc = -EIO;
	if (dec_fields(root, f, PR_NKEYS) < 0 || get_version(f[K_VERSION], &r->version) < 0 ||
	    get_uuid(f[PR_UUID], r->uuid) < 0 ||
	    get_u64(f[PR_SNAP_ID], UINT64_MAX, &r->snap_id) < 0 ||
	    get_str(f[PR_SNAP], 1, FL_VOLNAME_MAX, &snap, &sl) < 0 || !volname_valid_n(snap, sl) ||
	    get_str(f[PR_NAME], 1, FL_VOLNAME_MAX, &name, &nl) < 0 || !volname_valid_n(name, nl) ||
	    get_i64(f[PR_CREATED], &r->created) < 0)
		goto out;
	memcpy(r->snap, snap, sl);
	r->snap[sl] = '\0';
	memcpy(r->name, name, nl);
	r->name[nl] = '\0';
	rc = 0;
out:
	msgpack_unpacked_destroy(&u);
	if (rc < 0)
		memset(r, 0, sizeof(*r));
	return rc;
}

/*
 * Version, uuid, name and the registry value are required; the rest was
 * always written but reads as 0 (or "") when missing, as it always did.
 */
int fl_trash_rec_decode(const void *p, size_t len, struct fl_trash_rec *t)
{
	const msgpack_object *f[TR_NKEYS], *root;
	struct fl_volreg_rec r;
	msgpack_unpacked u;
	const char *name, *reg, *host = "";
	size_t nlen, rlen, hlen = 0;
	uint64_t state = 0, ns = 0;
	int rc;

	memset(t, 0, sizeof(*t));
	rc = dec_open(&u, p, len, FL_TRASH_REC_MAX, &root);
	if (rc < 0)
		goto out;
	rc = -EIO;
	if (dec_fields(root, f, TR_NKEYS) < 0 || get_version(f[K_VERSION], &t->version) < 0 ||
	    get_uuid(f[TR_UUID], t->uuid) < 0 ||
	    get_str(f[TR_NAME], 1, FL_VOLNAME_MAX, &name, &nlen) < 0 ||
	    !volname_valid_n(name, nlen) ||
	    get_bin(f[TR_REG], 1, FL_TRASH_REG_MAX, &reg, &rlen) < 0 ||
	    (f[TR_REMOVED] && get_i64(f[TR_REMOVED], &t->removed) < 0) ||
	    (f[TR_PURGE_AT] && get_i64(f[TR_PURGE_AT], &t->purge_at) < 0) ||
	    (f[TR_STATE] && get_u64(f[TR_STATE], FL_TRASH_PURGING, &state) < 0) ||
	    (f[TR_STATE_SINCE] && get_i64(f[TR_STATE_SINCE], &t->state_since) < 0) ||
	    (f[TR_HOST] && get_str(f[TR_HOST], 0, FL_TRASH_HOST_MAX, &host, &hlen) < 0) ||
	    (hlen && memchr(host, '\0', hlen)) ||
	    (f[TR_REMOVED_NS] && get_u64(f[TR_REMOVED_NS], 999999999, &ns) < 0))
		goto out;
	/* the kept registry value must name this very volume */
	rc = fl_volreg_decode(reg, rlen, &r);
	if (rc == 0 && strcmp(r.uuid, t->uuid) != 0)
		rc = -EIO;
	if (rc < 0)
		goto out;
	memcpy(t->name, name, nlen);
	memcpy(t->reg, reg, rlen);
	t->reg_len = rlen;
	if (hlen)
		memcpy(t->host, host, hlen);
	t->state = (uint32_t)state;
	t->removed_ns = (uint32_t)ns;
	rc = 0;
out:
	msgpack_unpacked_destroy(&u);
	if (rc < 0)
		memset(t, 0, sizeof(*t));
	return rc;
}

static int dec_dirent(const msgpack_object *o, struct fl_dirent_rec *d)
{
	const msgpack_object *f[DE_NKEYS];
	uint32_t version;

	memset(d, 0, sizeof(*d));
	if (dec_fields(o, f, DE_NKEYS) < 0 || get_version(f[K_VERSION], &version) < 0 ||
	    get_u64(f[DE_INO], UINT64_MAX, &d->ino) < 0 || get_u32(f[DE_TYPE], &d->type) < 0 ||
	    !ftype_valid(d->type)) {
		memset(d, 0, sizeof(*d));
		return -EIO;
	}
	return 0;
}

int fl_dirent_decode(const void *p, size_t len, struct fl_dirent_rec *d)
{
	const msgpack_object *root;
	msgpack_unpacked u;
	int rc;

	memset(d, 0, sizeof(*d));
	rc = dec_open(&u, p, len, FL_REC_MAX, &root);
	if (rc == 0)
		rc = dec_dirent(root, d);
	msgpack_unpacked_destroy(&u);
	return rc;
}

void fl_inode_rec_free(struct fl_inode_rec *i)
{
	uint32_t k;

	if (!i)
		return;
	if (i->xattrs) {
		for (k = 0; k < i->nxattrs; k++) {
			free(i->xattrs[k].name);
			free(i->xattrs[k].value);
		}
		free(i->xattrs);
	}
	free(i->symlink);
	free(i->bmap);
	memset(i, 0, sizeof(*i));
}

int fl_inode_rec_copy(struct fl_inode_rec *dst, const struct fl_inode_rec *src)
{
	uint32_t k;

	*dst = *src;
	dst->symlink = NULL;
	dst->xattrs = NULL;
	dst->nxattrs = 0;
	dst->bmap = NULL;
	dst->nbmap = 0;
	if (src->nbmap && src->bmap) {
		dst->bmap = malloc(src->nbmap * sizeof(*dst->bmap));
		if (!dst->bmap)
			goto nomem;
		memcpy(dst->bmap, src->bmap, src->nbmap * sizeof(*dst->bmap));
		dst->nbmap = src->nbmap;
	}
	if (src->symlink) {
		dst->symlink = strdup(src->symlink);
		if (!dst->symlink)
			goto nomem;
	}
	if (src->nxattrs && src->xattrs) {
		dst->xattrs = calloc(src->nxattrs, sizeof(*dst->xattrs));
		if (!dst->xattrs)
			goto nomem;
		dst->nxattrs = src->nxattrs;
		for (k = 0; k < src->nxattrs; k++) {
			const struct fl_xattr *sx = &src->xattrs[k];
			struct fl_xattr *dx = &dst->xattrs[k];

			if (sx->name) {
				dx->name = strdup(sx->name);
				if (!dx->name)
					goto nomem;
			}
			dx->vlen = sx->vlen;
			if (sx->vlen && sx->value) {
				dx->value = malloc(sx->vlen);
				if (!dx->value)
					goto nomem;
				memcpy(dx->value, sx->value, sx->vlen);
			}
		}
	}
	return 0;
nomem:
	fl_inode_rec_free(dst);
	return -ENOMEM;
}

static int dec_xattrs(const msgpack_object *o, struct fl_inode_rec *i)
{
	uint64_t total = 0;
	uint32_t n, k;
	int rc;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > FL_XATTRS_MAX)
		return -EIO;
	n = o->via.array.size;
	if (n == 0)
		return 0;
	i->xattrs = calloc(n, sizeof(*i->xattrs));
	if (!i->xattrs)
		return -ENOMEM;
	i->nxattrs = n;
	for (k = 0; k < n; k++) {
		const msgpack_object *e = &o->via.array.ptr[k], *v;
		struct fl_xattr *x = &i->xattrs[k];
		const char *name;
		size_t nlen;

		if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 2)
			return -EIO;
		v = &e->via.array.ptr[1];
		if (get_str(&e->via.array.ptr[0], 1, FL_XATTR_NAME_MAX, &name, &nlen) < 0 ||
		    memchr(name, '\0', nlen) || v->type != MSGPACK_OBJECT_BIN ||
		    v->via.bin.size > FL_XATTR_VAL_MAX)
			return -EIO;
		total += nlen + v->via.bin.size;
		if (total > FL_XATTRS_BYTES)
			return -EIO;
		x->name = dup_n(name, nlen);
		if (!x->name)
			return -ENOMEM;
		if (v->via.bin.size) {
			x->value = malloc(v->via.bin.size);
			if (!x->value)
				return -ENOMEM;
			memcpy(x->value, v->via.bin.ptr, v->via.bin.size);
			x->vlen = v->via.bin.size;
		}
	}
	rc = xattrs_check(i->xattrs, n); /* duplicate names */
	if (rc == -EINVAL)
		rc = -EIO;
	return rc;
}

static int dec_bmap(const msgpack_object *o, struct fl_inode_rec *i)
{
	uint32_t n, k;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size % 2 ||
	    o->via.array.size > 2 * FL_BMAP_MAX)
		return -EIO;
	i->has_bmap = true;
	n = o->via.array.size / 2;
	if (!n)
		return 0;
	i->bmap = calloc(n, sizeof(*i->bmap));
	if (!i->bmap)
		return -ENOMEM;
	i->nbmap = n;
	for (k = 0; k < n; k++)
		if (get_u64(&o->via.array.ptr[2 * k], UINT64_MAX, &i->bmap[k].first) < 0 ||
		    get_u64(&o->via.array.ptr[2 * k + 1], UINT64_MAX, &i->bmap[k].count) < 0)
			return -EIO;
	return bmap_check(i->bmap, n) ? -EIO : 0;
}

static int dec_inode(const msgpack_object *o, struct fl_inode_rec *i)
{
	const msgpack_object *f[IN_NKEYS];
	uint32_t version;
	int rc = -EIO;

	memset(i, 0, sizeof(*i));
	if (dec_fields(o, f, IN_NKEYS) < 0 || get_version(f[K_VERSION], &version) < 0 ||
	    get_u64(f[IN_INO], UINT64_MAX, &i->ino) < 0 || get_u32(f[IN_MODE], &i->mode) < 0 ||
	    !mode_valid(i->mode) || get_u32(f[IN_UID], &i->uid) < 0 ||
	    get_u32(f[IN_GID], &i->gid) < 0 || get_u32(f[IN_NLINK], &i->nlink) < 0 ||
	    get_u64(f[IN_SIZE], UINT64_MAX, &i->size) < 0 ||
	    get_u64(f[IN_RDEV], UINT64_MAX, &i->rdev) < 0 ||
	    get_u64(f[IN_GENERATION], UINT64_MAX, &i->generation) < 0 ||
	    get_ts(f[IN_ATIME], &i->atime) < 0 || get_ts(f[IN_MTIME], &i->mtime) < 0 ||
	    get_ts(f[IN_CTIME], &i->ctime) < 0 || get_ts(f[IN_BTIME], &i->btime) < 0)
		goto fail;
	if (S_ISLNK(i->mode)) {
		const char *s;
		size_t len;

		if (get_str(f[IN_SYMLINK], 1, FL_SYMLINK_MAX, &s, &len) < 0 || memchr(s, '\0', len))
			goto fail;
		i->symlink = dup_n(s, len);
		if (!i->symlink) {
			rc = -ENOMEM;
			goto fail;
		}
	} else if (f[IN_SYMLINK]) {
		goto fail;
	}
	if (f[IN_XATTRS]) {
		rc = dec_xattrs(f[IN_XATTRS], i);
		if (rc < 0)
			goto fail;
	}
	if (f[IN_BMAP]) {
		rc = dec_bmap(f[IN_BMAP], i);
		if (rc < 0)
			goto fail;
	}
	return 0;
fail:
	fl_inode_rec_free(i);
	return rc;
}

int fl_inode_decode(const void *p, size_t len, struct fl_inode_rec *i)
{
	const msgpack_object *root;
	msgpack_unpacked u;
	int rc;

	memset(i, 0, sizeof(*i));
	rc = dec_open(&u, p, len, FL_REC_MAX, &root);
	if (rc == 0)
		rc = dec_inode(root, i);
	msgpack_unpacked_destroy(&u);
	return rc;
}

void fl_jtxn_free(struct fl_jtxn *t)
{
	uint32_t k;

	if (!t)
		return;
	if (t->ops) {
		for (k = 0; k < t->nops; k++) {
			fl_inode_rec_free(&t->ops[k].inode);
			free(t->ops[k].name);
		}
		free(t->ops);
	}
	memset(t, 0, sizeof(*t));
}

/* Decodes one op into a zeroed *op; on failure *op may hold heap parts. */
static int dec_jop(const msgpack_object *o, struct fl_jop *op)
{
	const msgpack_object *f[OP_NKEYS];
	unsigned want; /* bit per key the kind requires (and allows) */
	const char *name;
	size_t nlen;
	unsigned k;

	if (dec_fields(o, f, OP_NKEYS) < 0 || get_u32(f[OP_KIND], &op->kind) < 0)
		return -EIO;
	switch (op->kind) {
	case FL_JOP_INODE_PUT:
		want = 1u << OP_INODE;
		break;
	case FL_JOP_INODE_DEL:
	case FL_JOP_ORPHAN_ADD:
	case FL_JOP_ORPHAN_DEL:
		want = 1u << OP_INO;
		break;
	case FL_JOP_DENT_SET:
		want = 1u << OP_INO | 1u << OP_NAME | 1u << OP_DENT;
		break;
	case FL_JOP_DENT_DEL:
		want = 1u << OP_INO | 1u << OP_NAME;
		break;
	default:
		return -EIO;
	}
	for (k = OP_KIND + 1; k < OP_NKEYS; k++) {
		if (!f[k] != !(want & (1u << k)))
			return -EIO;
	}
	if (f[OP_INO] && get_u64(f[OP_INO], UINT64_MAX, &op->ino) < 0)
		return -EIO;
	if (f[OP_NAME]) {
		if (get_str(f[OP_NAME], 1, FL_NAME_MAX, &name, &nlen) < 0 ||
		    !dname_valid(name, nlen))
			return -EIO;
		op->name = dup_n(name, nlen);
		if (!op->name)
			return -ENOMEM;
	}
	if (f[OP_DENT] && dec_dirent(f[OP_DENT], &op->dent) < 0)
		return -EIO;
	if (f[OP_INODE]) {
		int rc = dec_inode(f[OP_INODE], &op->inode);

		if (rc < 0)
			return rc;
		op->ino = op->inode.ino; /* as the writer sets it; not stored twice */
	}
	return 0;
}

int fl_jtxn_decode(const void *p, size_t len, struct fl_jtxn *t)
{
	const msgpack_object *f[JT_NKEYS], *root, *ops;
	msgpack_unpacked u;
	uint32_t k, n;
	int rc;

	memset(t, 0, sizeof(*t));
	rc = dec_open(&u, p, len, FL_REC_MAX, &root);
	if (rc < 0)
		goto out;
	rc = -EIO;
	if (dec_fields(root, f, JT_NKEYS) < 0 || get_version(f[K_VERSION], &t->version) < 0 ||
	    get_u64(f[JT_TID], UINT64_MAX, &t->tid) < 0 ||
	    get_u64(f[JT_NEXT_INO], UINT64_MAX, &t->next_ino) < 0 ||
	    get_u64(f[JT_USED_BYTES], UINT64_MAX, &t->used_bytes) < 0 ||
	    get_u64(f[JT_INODES], UINT64_MAX, &t->inodes) < 0)
		goto out;
	ops = f[JT_OPS];
	if (!ops || ops->type != MSGPACK_OBJECT_ARRAY || ops->via.array.size > FL_JOPS_MAX)
		goto out;
	n = ops->via.array.size;
	if (n) {
		t->ops = calloc(n, sizeof(*t->ops));
		if (!t->ops) {
			rc = -ENOMEM;
			goto out;
		}
		t->nops = n;
		for (k = 0; k < n; k++) {
			rc = dec_jop(&ops->via.array.ptr[k], &t->ops[k]);
			if (rc < 0)
				goto out;
		}
	}
	rc = 0;
out:
	msgpack_unpacked_destroy(&u);
	if (rc < 0)
		fl_jtxn_free(t);
	return rc;
}

/* ------------------------------------------------------------------ */
/* CRC-32C (Castagnoli), reflected polynomial 0x82f63b78, one table lookup
 * per byte.  Table entry i is the CRC of byte i alone (generated once with
 * the bitwise definition; tests/unit/test_record.c recomputes it). */

static const uint32_t crc32c_table[256] = {
	0x00000000u, 0xf26b8303u, 0xe13b70f7u, 0x1350f3f4u, 0xc79a971fu, 0x35f1141cu, 0x26a1e7e8u,
	0xd4ca64ebu, 0x8ad958cfu, 0x78b2dbccu, 0x6be22838u, 0x9989ab3bu, 0x4d43cfd0u, 0xbf284cd3u,
	0xac78bf27u, 0x5e133c24u, 0x105ec76fu, 0xe235446cu, 0xf165b798u, 0x030e349bu, 0xd7c45070u,
	0x25afd373u, 0x36ff2087u, 0xc494a384u, 0x9a879fa0u, 0x68ec1ca3u, 0x7bbcef57u, 0x89d76c54u,
	0x5d1d08bfu, 0xaf768bbcu, 0xbc267848u, 0x4e4dfb4bu, 0x20bd8edeu, 0xd2d60dddu, 0xc186fe29u,
	0x33ed7d2au, 0xe72719c1u, 0x154c9ac2u, 0x061c6936u, 0xf477ea35u, 0xaa64d611u, 0x580f5512u,
	0x4b5fa6e6u, 0xb93425e5u, 0x6dfe410eu, 0x9f95c20du, 0x8cc531f9u, 0x7eaeb2fau, 0x30e349b1u,
	0xc288cab2u, 0xd1d83946u, 0x23b3ba45u, 0xf779deaeu, 0x05125dadu, 0x1642ae59u, 0xe4292d5au,
	0xba3a117eu, 0x4851927du, 0x5b016189u, 0xa96ae28au, 0x7da08661u, 0x8fcb0562u, 0x9c9bf696u,
	0x6ef07595u, 0x417b1dbcu, 0xb3109ebfu, 0xa0406d4bu, 0x522bee48u, 0x86e18aa3u, 0x748a09a0u,
	0x67dafa54u, 0x95b17957u, 0xcba24573u, 0x39c9c670u, 0x2a993584u, 0xd8f2b687u, 0x0c38d26cu,
	0xfe53516fu, 0xed03a29bu, 0x1f682198u, 0x5125dad3u, 0xa34e59d0u, 0xb01eaa24u, 0x42752927u,
	0x96bf4dccu, 0x64d4cecfu, 0x77843d3bu, 0x85efbe38u, 0xdbfc821cu, 0x2997011fu, 0x3ac7f2ebu,
	0xc8ac71e8u, 0x1c661503u, 0xee0d9600u, 0xfd5d65f4u, 0x0f36e6f7u, 0x61c69362u, 0x93ad1061u,
	0x80fde395u, 0x72966096u, 0xa65c047du, 0x5437877eu, 0x4767748au, 0xb50cf789u, 0xeb1fcbadu,
	0x197448aeu, 0x0a24bb5au, 0xf84f3859u, 0x2c855cb2u, 0xdeeedfb1u, 0xcdbe2c45u, 0x3fd5af46u,
	0x7198540du, 0x83f3d70eu, 0x90a324fau, 0x62c8a7f9u, 0xb602c312u, 0x44694011u, 0x5739b3e5u,
	0xa55230e6u, 0xfb410cc2u, 0x092a8fc1u, 0x1a7a7c35u, 0xe811ff36u, 0x3cdb9bddu, 0xceb018deu,
	0xdde0eb2au, 0x2f8b6829u, 0x82f63b78u, 0x709db87bu, 0x63cd4b8fu, 0x91a6c88cu, 0x456cac67u,
	0xb7072f64u, 0xa457dc90u, 0x563c5f93u, 0x082f63b7u, 0xfa44e0b4u, 0xe9141340u, 0x1b7f9043u,
	0xcfb5f4a8u, 0x3dde77abu, 0x2e8e845fu, 0xdce5075cu, 0x92a8fc17u, 0x60c37f14u, 0x73938ce0u,
	0x81f80fe3u, 0x55326b08u, 0xa759e80bu, 0xb4091bffu, 0x466298fcu, 0x1871a4d8u, 0xea1a27dbu,
	0xf94ad42fu, 0x0b21572cu, 0xdfeb33c7u, 0x2d80b0c4u, 0x3ed04330u, 0xccbbc033u, 0xa24bb5a6u,
	0x502036a5u, 0x4370c551u, 0xb11b4652u, 0x65d122b9u, 0x97baa1bau, 0x84ea524eu, 0x7681d14du,
	0x2892ed69u, 0xdaf96e6au, 0xc9a99d9eu, 0x3bc21e9du, 0xef087a76u, 0x1d63f975u, 0x0e330a81u,
	0xfc588982u, 0xb21572c9u, 0x407ef1cau, 0x532e023eu, 0xa145813du, 0x758fe5d6u, 0x87e466d5u,
	0x94b49521u, 0x66df1622u, 0x38cc2a06u, 0xcaa7a905u, 0xd9f75af1u, 0x2b9cd9f2u, 0xff56bd19u,
	0x0d3d3e1au, 0x1e6dcdeeu, 0xec064eedu, 0xc38d26c4u, 0x31e6a5c7u, 0x22b65633u, 0xd0ddd530u,
	0x0417b1dbu, 0xf67c32d8u, 0xe52cc12cu, 0x1747422fu, 0x49547e0bu, 0xbb3ffd08u, 0xa86f0efcu,
	0x5a048dffu, 0x8ecee914u, 0x7ca56a17u, 0x6ff599e3u, 0x9d9e1ae0u, 0xd3d3e1abu, 0x21b862a8u,
	0x32e8915cu, 0xc083125fu, 0x144976b4u, 0xe622f5b7u, 0xf5720643u, 0x07198540u, 0x590ab964u,
	0xab613a67u, 0xb831c993u, 0x4a5a4a90u, 0x9e902e7bu, 0x6cfbad78u, 0x7fab5e8cu, 0x8dc0dd8fu,
	0xe330a81au, 0x115b2b19u, 0x020bd8edu, 0xf0605beeu, 0x24aa3f05u, 0xd6c1bc06u, 0xc5914ff2u,
	0x37faccf1u, 0x69e9f0d5u, 0x9b8273d6u, 0x88d28022u, 0x7ab90321u, 0xae7367cau, 0x5c18e4c9u,
	0x4f48173du, 0xbd23943eu, 0xf36e6f75u, 0x0105ec76u, 0x12551f82u, 0xe03e9c81u, 0x34f4f86au,
	0xc69f7b69u, 0xd5cf889du, 0x27a40b9eu, 0x79b737bau, 0x8bdcb4b9u, 0x988c474du, 0x6ae7c44eu,
	0xbe2da0a5u, 0x4c4623a6u, 0x5f16d052u, 0xad7d5351u,
};

uint32_t fl_crc32c(uint32_t crc, const void *p, size_t len)
{
	const uint8_t *b = p;

	crc = ~crc;
	while (len--)
		crc = crc32c_table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ------------------------------------------------------------------ */
/* Journal frames. */

static void wr_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t rd_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int fl_jframe_put(struct fl_buf *out, const void *payload, size_t plen)
{
	uint8_t hdr[FL_JFRAME_HDR];
	size_t start = out->len;
	int rc;

	if (plen > FL_REC_MAX)
		return -E2BIG;
	if (plen && !payload)
		return -EINVAL;
	wr_le32(hdr, FL_JFRAME_MAGIC);
	wr_le32(hdr + 4, (uint32_t)plen);
	wr_le32(hdr + 8, fl_crc32c(0, payload, plen));
	/* Reserve the whole frame first so that a failure appends nothing. */
	if (out->len > out->max || FL_JFRAME_HDR + plen > out->max - out->len)
		return -E2BIG;
	rc = fl_buf_append(out, hdr, sizeof(hdr));
	if (rc == 0)
		rc = fl_buf_append(out, payload, plen);
	if (rc < 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	return rc;
}

ssize_t fl_jframe_next(const void *p, size_t len, const void **payload, size_t *plen)
{
	const uint8_t *b = p;
	uint32_t n;
	size_t k;

	*payload = NULL;
	*plen = 0;
	if (len == 0)
		return 0;
	if (len < 4 || rd_le32(b) != FL_JFRAME_MAGIC) {
		/* Not a frame: fine only if the rest is zero padding. */
		for (k = 0; k < len; k++) {
			if (b[k])
				return -EIO;
		}
		return 0;
	}
	if (len < FL_JFRAME_HDR)
		return -EIO;
	n = rd_le32(b + 4);
	if (n > FL_REC_MAX || n > len - FL_JFRAME_HDR)
		return -EIO;
	if (fl_crc32c(0, b + FL_JFRAME_HDR, n) != rd_le32(b + 8))
		return -EIO;
	*payload = b + FL_JFRAME_HDR;
	*plen = n;
	return (ssize_t)(FL_JFRAME_HDR + n);
}

/* ------------------------------------------------------------------ */
/* Object names. */

void fl_oid_dir(char out[FL_OID_LEN], uint64_t ino)
{
	snprintf(out, FL_OID_LEN, "dir.%016" PRIx64, ino);
}

void fl_oid_itab(char out[FL_OID_LEN], uint64_t shard)
{
	snprintf(out, FL_OID_LEN, "itab.%08" PRIx64, shard);
}

void fl_oid_data(char out[FL_OID_LEN], uint64_t ino, uint64_t index)
{
	snprintf(out, FL_OID_LEN, "data.%016" PRIx64 ".%08" PRIx64, ino, index);
}

void fl_oid_jrnl(char out[FL_OID_LEN], uint64_t seq)
{
	snprintf(out, FL_OID_LEN, "jrnl.%016" PRIx64, seq);
}

void fl_ino_key(char out[17], uint64_t ino)
{
	snprintf(out, 17, "%016" PRIx64, ino);
}

/* n lowercase hex digits at s; 0 or -EINVAL. */
static int parse_hex(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	size_t k;

	for (k = 0; k < n; k++) {
		char c = s[k];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return -EINVAL;
		x = x << 4 | d;
	}
	*v = x;
	return 0;
}

/*
 * Exactly what fl_oid_data() prints: "data." 16 hex digits "." then the
 * index in 8 hex digits, or 9..16 digits without a leading zero (%08 is a
 * minimum width: indexes >= 2^32 print wider).
 */
int fl_oid_parse_data(const char *oid, uint64_t *ino, uint64_t *index)
{
	uint64_t i, x;
	size_t n;

	if (!oid || strncmp(oid, "data.", 5) != 0)
		return -EINVAL;
	oid += 5;
	if (strnlen(oid, 17) < 17 || oid[16] != '.' || parse_hex(oid, 16, &i) < 0)
		return -EINVAL;
	oid += 17;
	n = strnlen(oid, 17);
	if (n < 8 || n > 16 || (n > 8 && oid[0] == '0') || parse_hex(oid, n, &x) < 0)
		return -EINVAL;
	*ino = i;
	*index = x;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The block map of a regular file (see record.h). */

bool fl_bmap_has(const struct fl_inode_rec *i, uint64_t index)
{
	uint32_t lo = 0, hi = i->nbmap;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct fl_brange *r = &i->bmap[mid];

		if (index < r->first)
			hi = mid;
		else if (index - r->first >= r->count)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* Joins run k with run k + 1 (over the gap between them). */
static void bmap_join(struct fl_inode_rec *i, uint32_t k)
{
	i->bmap[k].count = i->bmap[k + 1].first + i->bmap[k + 1].count - i->bmap[k].first;
	memmove(&i->bmap[k + 1], &i->bmap[k + 2], (i->nbmap - k - 2) * sizeof(*i->bmap));
	i->nbmap--;
}

int fl_bmap_add(struct fl_inode_rec *i, uint64_t index)
{
	uint32_t k;

	i->has_bmap = true;
	if (fl_bmap_has(i, index))
		return 0;
	for (k = 0; k < i->nbmap && i->bmap[k].first < index; k++)
		;
	/* k: the first run after index */
	if (k > 0 && i->bmap[k - 1].first + i->bmap[k - 1].count == index) {
		i->bmap[k - 1].count++;
		if (k < i->nbmap && i->bmap[k].first == index + 1)
			bmap_join(i, k - 1);
		return 0;
	}
	if (k < i->nbmap && i->bmap[k].first == index + 1) {
		i->bmap[k].first--;
		i->bmap[k].count++;
		return 0;
	}
	if (i->nbmap == FL_BMAP_MAX) {
		/* one run too many: join the two closest ones, then place index */
		uint64_t best = UINT64_MAX;
		uint32_t j, bj = 0;

		for (j = 0; j + 1 < i->nbmap; j++) {
			uint64_t gap = i->bmap[j + 1].first - (i->bmap[j].first + i->bmap[j].count);

			if (gap < best) {
				best = gap;
				bj = j;
			}
		}
		bmap_join(i, bj);
		if (fl_bmap_has(i, index))
			return 0;
		return fl_bmap_add(i, index);
	}
	{
		struct fl_brange *n = realloc(i->bmap, (i->nbmap + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		i->bmap = n;
	}
	memmove(&i->bmap[k + 1], &i->bmap[k], (i->nbmap - k) * sizeof(*i->bmap));
	i->bmap[k].first = index;
	i->bmap[k].count = 1;
	i->nbmap++;
	return 0;
}

void fl_bmap_cut(struct fl_inode_rec *i, uint64_t first)
{
	while (i->nbmap) {
		struct fl_brange *r = &i->bmap[i->nbmap - 1];

		if (r->first >= first) {
			i->nbmap--;
		} else {
			if (r->first + r->count > first)
				r->count = first - r->first;
			break;
		}
	}
	if (!i->nbmap) {
		free(i->bmap);
		i->bmap = NULL;
	}
}

int fl_bmap_del(struct fl_inode_rec *i, uint64_t first, uint64_t count)
{
	uint64_t end = first + count;
	uint32_t k;

	if (!count)
		return 0;
	if (end < first)
		end = UINT64_MAX;
	for (k = 0; k < i->nbmap; k++) {
		struct fl_brange *r = &i->bmap[k];
		uint64_t rend = r->first + r->count;

		if (rend <= first || r->first >= end)
			continue;
		if (r->first < first && rend > end) {
			/* a hole in the middle of one run: one run more */
			struct fl_brange *n;

			if (i->nbmap == FL_BMAP_MAX)
				return 0;
			n = realloc(i->bmap, (i->nbmap + 1) * sizeof(*n));
			if (!n)
				return -ENOMEM;
			i->bmap = n;
			r = &i->bmap[k];
			memmove(&i->bmap[k + 1], &i->bmap[k], (i->nbmap - k) * sizeof(*n));
			i->nbmap++;
			r->count = first - r->first;
			i->bmap[k + 1].first = end;
			i->bmap[k + 1].count = rend - end;
			return 0;
		}
		if (r->first >= first && rend <= end) {
			memmove(&i->bmap[k], &i->bmap[k + 1], (i->nbmap - k - 1) * sizeof(*r));
			i->nbmap--;
			k--;
		} else if (r->first < first) {
			r->count = first - r->first;
		} else {
			r->count = rend - end;
			r->first = end;
		}
	}
	if (!i->nbmap) {
		free(i->bmap);
		i->bmap = NULL;
	}
	return 0;
}

uint64_t fl_bmap_blocks(const struct fl_inode_rec *i)
{
	uint64_t n = 0;
	uint32_t k;

	for (k = 0; k < i->nbmap; k++)
		n += i->bmap[k].count;
	return n;
}

uint64_t fl_block_used(uint64_t idx, uint64_t size, uint32_t bs)
{
	uint64_t start;

	if (!size || idx > (size - 1) / bs)
		return 0;
	start = idx * bs;
	return size - start >= bs ? bs : ((size - start) + 4095) & ~(uint64_t)4095;
}

uint64_t fl_bmap_used(const struct fl_inode_rec *i, uint64_t size, uint32_t bs)
{
	uint64_t used = 0, nblk, k;

	if (!size || !bs)
		return 0;
	nblk = (size - 1) / bs + 1; /* blocks below size */
	for (k = 0; k < i->nbmap; k++) {
		const struct fl_brange *r = &i->bmap[k];
		uint64_t end = r->first + r->count;

		if (r->first >= nblk)
			break;
		if (end >= nblk) {
			/* the last block below size may be partial */
			used += (nblk - 1 - r->first) * bs + fl_block_used(nblk - 1, size, bs);
			break;
		}
		used += r->count * bs;
	}
	return used;
}
