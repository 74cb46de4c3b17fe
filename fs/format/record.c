/*
 * flockerfs — on-RADOS records: the msgpack codecs.  Journal frames and
 * CRC-32C are in jframe.c, object names in oid.c, the block map in bmap.c.
 * The formats are described in fs/format/FORMAT.md; keep the two in step.
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
enum {
	OP_KIND = 1,
	OP_INO = 2,
	OP_INODE = 3,
	OP_NAME = 4,
	OP_DENT = 5,
	OP_GROW_FROM = 6,
	OP_DEPS = 7,
	OP_NKEYS
};

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
	    (s->block_size & (s->block_size - 1)) != 0 || s->itab_shard_bits > 63 ||
	    s->version > FL_SUPER_VERSION)
		return -EINVAL;

	enc_begin(&e, out);
	/* snap_seq only once a snapshot was taken: older supers stay byte for byte */
	put_map(&e, s->snap_seq ? SB_NKEYS : SB_SNAP_SEQ);
	put_u64(&e, K_VERSION, s->version ? s->version : FL_FORMAT_VERSION);
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

size_t fl_inode_enc_max(const struct fl_inode_rec *i)
{
	/* the map, the version and 12 scalar fields: a key byte and at most
	 * 9 bytes each, 4 timestamps of 16 more; str/bin/array headers are at
	 * most 5 bytes */
	size_t n = 1 + 13 * 10 + 4 * 16;
	uint32_t k;

	if (i->symlink)
		n += 6 + strlen(i->symlink);
	if (i->nxattrs)
		n += 6;
	for (k = 0; k < i->nxattrs; k++)
		n += 1 + 5 + strlen(i->xattrs[k].name) + 5 + i->xattrs[k].vlen;
	if (i->has_bmap)
		n += 6 + (size_t)i->nbmap * 18;
	return n;
}

static int jop_check(const struct fl_jop *op)
{
	switch (op->kind) {
	case FL_JOP_INODE_PUT:
		if (op->ndeps > FL_JDEPS_MAX || (op->ndeps && !op->deps))
			return -EINVAL;
		for (uint32_t k = 0; k < op->ndeps; k++)
			if (!op->deps[k].len)
				return -EINVAL;
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
		put_map(e, op->ndeps ? 4 : 2);
		put_u64(e, OP_KIND, op->kind);
		enc_check(e, msgpack_pack_uint64(&e->pk, OP_INODE));
		enc_inode(e, &op->inode);
		if (op->ndeps) {
			/* flat: index, length, index, length, ... */
			put_u64(e, OP_GROW_FROM, op->grow_from);
			enc_check(e, msgpack_pack_uint64(&e->pk, OP_DEPS));
			put_array(e, (size_t)op->ndeps * 2);
			for (uint32_t k = 0; k < op->ndeps && !e->err; k++) {
				enc_check(e, msgpack_pack_uint64(&e->pk, op->deps[k].index));
				enc_check(e, msgpack_pack_uint64(&e->pk, op->deps[k].len));
			}
		}
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
/* What a msgpack tag byte announces. */
struct mp_tag {
	unsigned hdr;  /* bytes of length/count field after the tag */
	uint64_t skip; /* payload bytes after the header */
	uint64_t cnt;  /* child elements of a container */
	bool container, is_map;
};

/* Classifies tag byte b into t (zeroed first): 0, or -EIO for 0xc1. */
static int mp_tag(uint8_t b, struct mp_tag *t)
{
	memset(t, 0, sizeof(*t));
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
		/* fixint, nil, bool */
	} else if (b <= 0x8f) {
		t->container = t->is_map = true;
		t->cnt = b & 0x0f;
	} else if (b <= 0x9f) {
		t->container = true;
		t->cnt = b & 0x0f;
	} else if (b <= 0xbf) {
		t->skip = b & 0x1f;
	} else {
		switch (b) {
		case 0xc4: /* bin8 */
		case 0xd9: /* str8 */
			t->hdr = 1;
			break;
		case 0xc5:
		case 0xda:
			t->hdr = 2;
			break;
		case 0xc6:
		case 0xdb:
			t->hdr = 4;
			break;
		case 0xc7: /* ext8: length, type byte, data */
			t->hdr = 1;
			t->skip = 1;
			break;
		case 0xc8:
			t->hdr = 2;
			t->skip = 1;
			break;
		case 0xc9:
			t->hdr = 4;
			t->skip = 1;
			break;
		case 0xca: /* float32 */
		case 0xce: /* uint32 */
		case 0xd2: /* int32 */
			t->skip = 4;
			break;
		case 0xcb:
		case 0xcf:
		case 0xd3:
			t->skip = 8;
			break;
		case 0xcc:
		case 0xd0:
			t->skip = 1;
			break;
		case 0xcd:
		case 0xd1:
			t->skip = 2;
			break;
		case 0xd4: /* fixext 1, 2, 4, 8, 16 (+ type byte) */
			t->skip = 2;
			break;
		case 0xd5:
			t->skip = 3;
			break;
		case 0xd6:
			t->skip = 5;
			break;
		case 0xd7:
			t->skip = 9;
			break;
		case 0xd8:
			t->skip = 17;
			break;
		case 0xdc:
			t->container = true;
			t->hdr = 2;
			break;
		case 0xdd:
			t->container = true;
			t->hdr = 4;
			break;
		case 0xde:
			t->container = t->is_map = true;
			t->hdr = 2;
			break;
		case 0xdf:
			t->container = t->is_map = true;
			t->hdr = 4;
			break;
		default: /* 0xc1: never used */
			return -EIO;
		}
	}
	return 0;
}

static int mp_prescan(const uint8_t *p, size_t len)
{
	uint64_t owed[MP_DEPTH_MAX + 1]; /* elements still owed per open level */
	int top = 0;
	size_t off = 0;

	owed[0] = 1;
	while (top >= 0) {
		struct mp_tag t;

		if (owed[top] == 0) {
			top--;
			continue;
		}
		owed[top]--;
		if (off >= len)
			return -EIO;
		if (mp_tag(p[off++], &t))
			return -EIO;
		if (t.hdr) {
			uint64_t v;

			if (t.hdr > len - off)
				return -EIO;
			v = rd_be(p + off, t.hdr);
			off += t.hdr;
			if (t.container)
				t.cnt = v;
			else
				t.skip += v;
		}
		if (t.skip > len - off)
			return -EIO;
		off += (size_t)t.skip;
		if (t.container) {
			if (t.is_map)
				t.cnt *= 2;
			if (t.cnt == 0)
				continue;
			if (t.cnt > len - off || top >= MP_DEPTH_MAX)
				return -EIO;
			owed[++top] = t.cnt;
		}
	}
	return off == len ? 0 : -EIO;
}

/*
 * Parses p[0..len) into u; the root must be a map, len at most max (<=
 * FL_REC_MAX).  Always destroy u.
 */
static int dec_open(msgpack_unpacked *u, const void *p, size_t len, size_t max,
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
static int dec_fields(const msgpack_object *o, const msgpack_object **f, unsigned nkeys)
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

/* Decodes the map o into rec (size bytes) by d: rec is zeroed first, and
 * released (and zeroed) again on failure. */
int dec_nested(const struct dec_spec *d, const msgpack_object *o, void *rec, size_t size)
{
	const msgpack_object *f[DEC_KEYS_MAX];
	uint32_t version;
	int rc = -EIO;

	memset(rec, 0, size);
	if (d->nkeys <= DEC_KEYS_MAX && dec_fields(o, f, d->nkeys) == 0 &&
	    get_version(f[K_VERSION], &version) == 0 &&
	    version <= (d->version_max ? d->version_max : FL_FORMAT_VERSION)) {
		if (d->version_at >= 0)
			memcpy((char *)rec + d->version_at, &version, sizeof(version));
		rc = d->body(f, rec);
	}
	if (rc < 0) {
		if (d->release)
			d->release(rec);
		memset(rec, 0, size);
	}
	return rc;
}

/* Decodes the record p[0..len) (at most d->max bytes) into rec by d. */
int dec_record(const struct dec_spec *d, const void *p, size_t len, void *rec, size_t size)
{
	const msgpack_object *root;
	msgpack_unpacked u;
	int rc;

	memset(rec, 0, size);
	rc = dec_open(&u, p, len, d->max, &root);
	if (rc == 0)
		rc = dec_nested(d, root, rec, size);
	msgpack_unpacked_destroy(&u);
	return rc;
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

/* Any version 1..FL_SUPER_VERSION (the highest of any record); each decoder
 * checks its own bound (dec_spec.version_max). */
int get_version(const msgpack_object *o, uint32_t *v)
{
	uint64_t x;

	if (get_u64(o, FL_SUPER_VERSION, &x) < 0 || x < 1)
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

static int super_body(const msgpack_object **f, void *rec)
{
	struct fl_super_rec *s = rec;
	const char *name;
	size_t nlen;
	uint64_t bs, bits;

	if (get_uuid(f[SB_UUID], s->uuid) < 0 ||
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
		return -EIO;
	memcpy(s->name, name, nlen);
	s->name[nlen] = '\0';
	s->block_size = (uint32_t)bs;
	s->itab_shard_bits = (uint32_t)bits;
	return 0;
}

int fl_super_decode(const void *p, size_t len, struct fl_super_rec *rec)
{
	static const struct dec_spec spec = {
		FL_REC_MAX, SB_NKEYS, offsetof(struct fl_super_rec, version),
		super_body, NULL,     FL_SUPER_VERSION};

	return dec_record(&spec, p, len, rec, sizeof(*rec));
}

static int volreg_body(const msgpack_object **f, void *rec)
{
	struct fl_volreg_rec *r = rec;

	if (get_uuid(f[VR_UUID], r->uuid) < 0 || get_i64(f[VR_CREATED], &r->created) < 0 ||
	    get_u64(f[VR_SIZE_LIMIT], UINT64_MAX, &r->size_limit) < 0)
		return -EIO;
	return 0;
}

DEC_RECORD(fl_volreg_decode, struct fl_volreg_rec, FL_REC_MAX, VR_NKEYS, volreg_body, NULL)

static int parent_body(const msgpack_object **f, void *rec)
{
	struct fl_parent_rec *r = rec;
	const char *snap, *name;
	size_t sl, nl;

	if (get_uuid(f[PR_UUID], r->uuid) < 0 ||
	    get_u64(f[PR_SNAP_ID], UINT64_MAX, &r->snap_id) < 0 ||
	    get_str(f[PR_SNAP], 1, FL_VOLNAME_MAX, &snap, &sl) < 0 || !volname_valid_n(snap, sl) ||
	    get_str(f[PR_NAME], 1, FL_VOLNAME_MAX, &name, &nl) < 0 || !volname_valid_n(name, nl) ||
	    get_i64(f[PR_CREATED], &r->created) < 0)
		return -EIO;
	memcpy(r->snap, snap, sl);
	r->snap[sl] = '\0';
	memcpy(r->name, name, nl);
	r->name[nl] = '\0';
	return 0;
}

/* A flatten removes the record: no "flattened" mark. */
DEC_RECORD(fl_parent_decode, struct fl_parent_rec, FL_REC_MAX, PR_NKEYS, parent_body, NULL)

static int trash_body(const msgpack_object **f, void *rec)
{
	struct fl_trash_rec *t = rec;
	struct fl_volreg_rec r;
	const char *name, *reg, *host = "";
	size_t nlen, rlen, hlen = 0;
	uint64_t state = 0, ns = 0;
	int rc;

	if (get_uuid(f[TR_UUID], t->uuid) < 0 ||
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
		return -EIO;
	/* the kept registry value must name this very volume */
	rc = fl_volreg_decode(reg, rlen, &r);
	if (rc == 0 && strcmp(r.uuid, t->uuid) != 0)
		rc = -EIO;
	if (rc < 0)
		return rc;
	memcpy(t->name, name, nlen);
	memcpy(t->reg, reg, rlen);
	t->reg_len = rlen;
	if (hlen)
		memcpy(t->host, host, hlen);
	t->state = (uint32_t)state;
	t->removed_ns = (uint32_t)ns;
	return 0;
}

/*
 * Version, uuid, name and the registry value are required; the rest was
 * always written but reads as 0 (or "") when missing, as it always did.
 */
DEC_RECORD(fl_trash_rec_decode, struct fl_trash_rec, FL_TRASH_REC_MAX, TR_NKEYS, trash_body, NULL)

static int dirent_body(const msgpack_object **f, void *rec)
{
	struct fl_dirent_rec *d = rec;

	if (get_u64(f[DE_INO], UINT64_MAX, &d->ino) < 0 || get_u32(f[DE_TYPE], &d->type) < 0 ||
	    !ftype_valid(d->type))
		return -EIO;
	return 0;
}

static const struct dec_spec dirent_spec = {FL_REC_MAX, DE_NKEYS, -1, dirent_body, NULL, 0};

int fl_dirent_decode(const void *p, size_t len, struct fl_dirent_rec *d)
{
	return dec_record(&dirent_spec, p, len, d, sizeof(*d));
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

static int inode_body(const msgpack_object **f, void *rec)
{
	struct fl_inode_rec *i = rec;
	int rc;

	if (get_u64(f[IN_INO], UINT64_MAX, &i->ino) < 0 || get_u32(f[IN_MODE], &i->mode) < 0 ||
	    !mode_valid(i->mode) || get_u32(f[IN_UID], &i->uid) < 0 ||
	    get_u32(f[IN_GID], &i->gid) < 0 || get_u32(f[IN_NLINK], &i->nlink) < 0 ||
	    get_u64(f[IN_SIZE], UINT64_MAX, &i->size) < 0 ||
	    get_u64(f[IN_RDEV], UINT64_MAX, &i->rdev) < 0 ||
	    get_u64(f[IN_GENERATION], UINT64_MAX, &i->generation) < 0 ||
	    get_ts(f[IN_ATIME], &i->atime) < 0 || get_ts(f[IN_MTIME], &i->mtime) < 0 ||
	    get_ts(f[IN_CTIME], &i->ctime) < 0 || get_ts(f[IN_BTIME], &i->btime) < 0)
		return -EIO;
	if (S_ISLNK(i->mode)) {
		const char *s;
		size_t len;

		if (get_str(f[IN_SYMLINK], 1, FL_SYMLINK_MAX, &s, &len) < 0 || memchr(s, '\0', len))
			return -EIO;
		i->symlink = dup_n(s, len);
		if (!i->symlink)
			return -ENOMEM;
	} else if (f[IN_SYMLINK]) {
		return -EIO;
	}
	if (f[IN_XATTRS]) {
		rc = dec_xattrs(f[IN_XATTRS], i);
		if (rc < 0)
			return rc;
	}
	return f[IN_BMAP] ? dec_bmap(f[IN_BMAP], i) : 0;
}

static void inode_release(void *rec)
{
	fl_inode_rec_free(rec);
}

static const struct dec_spec inode_spec = {FL_REC_MAX, IN_NKEYS, -1, inode_body, inode_release, 0};

int fl_inode_decode(const void *p, size_t len, struct fl_inode_rec *i)
{
	return dec_record(&inode_spec, p, len, i, sizeof(*i));
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
			free(t->ops[k].deps);
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
		if (f[OP_DEPS] || f[OP_GROW_FROM]) /* optional, both or neither */
			want |= 1u << OP_DEPS | 1u << OP_GROW_FROM;
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
	if (f[OP_DENT] && dec_nested(&dirent_spec, f[OP_DENT], &op->dent, sizeof(op->dent)) < 0)
		return -EIO;
	if (f[OP_DEPS]) {
		const msgpack_object *d = f[OP_DEPS];
		uint32_t n;

		if (get_u64(f[OP_GROW_FROM], UINT64_MAX, &op->grow_from) < 0 ||
		    d->type != MSGPACK_OBJECT_ARRAY || d->via.array.size % 2 ||
		    d->via.array.size == 0 || d->via.array.size > 2 * FL_JDEPS_MAX)
			return -EIO;
		n = d->via.array.size / 2;
		op->deps = calloc(n, sizeof(*op->deps));
		if (!op->deps)
			return -ENOMEM;
		op->ndeps = n;
		for (k = 0; k < n; k++)
			if (get_u64(&d->via.array.ptr[2 * k], UINT64_MAX, &op->deps[k].index) < 0 ||
			    get_u64(&d->via.array.ptr[2 * k + 1], UINT64_MAX, &op->deps[k].len) <
				    0 ||
			    !op->deps[k].len)
				return -EIO;
	}
	if (f[OP_INODE]) {
		int rc = dec_nested(&inode_spec, f[OP_INODE], &op->inode, sizeof(op->inode));

		if (rc < 0)
			return rc;
		op->ino = op->inode.ino; /* as the writer sets it; not stored twice */
	}
	return 0;
}

static int jtxn_body(const msgpack_object **f, void *rec)
{
	struct fl_jtxn *t = rec;
	const msgpack_object *ops = f[JT_OPS];
	uint32_t k, n;
	int rc;

	if (get_u64(f[JT_TID], UINT64_MAX, &t->tid) < 0 ||
	    get_u64(f[JT_NEXT_INO], UINT64_MAX, &t->next_ino) < 0 ||
	    get_u64(f[JT_USED_BYTES], UINT64_MAX, &t->used_bytes) < 0 ||
	    get_u64(f[JT_INODES], UINT64_MAX, &t->inodes) < 0)
		return -EIO;
	if (!ops || ops->type != MSGPACK_OBJECT_ARRAY || ops->via.array.size > FL_JOPS_MAX)
		return -EIO;
	n = ops->via.array.size;
	if (n == 0)
		return 0;
	t->ops = calloc(n, sizeof(*t->ops));
	if (!t->ops)
		return -ENOMEM;
	t->nops = n;
	for (k = 0; k < n; k++) {
		rc = dec_jop(&ops->via.array.ptr[k], &t->ops[k]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void jtxn_release(void *rec)
{
	fl_jtxn_free(rec);
}

DEC_RECORD(fl_jtxn_decode, struct fl_jtxn, FL_REC_MAX, JT_NKEYS, jtxn_body, jtxn_release)
