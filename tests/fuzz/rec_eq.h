/*
 * flockerfs tests — field-by-field equality of decoded records, shared by
 * the fuzz harnesses (round-trip checks) and tests/unit/test_record.c.
 * Each returns 1 when equal.  Only the fields a record's kind carries are
 * compared (a journal op's unused fields are ignored by the encoder).
 */
#ifndef FLOCKER_TEST_REC_EQ_H
#define FLOCKER_TEST_REC_EQ_H

#include <string.h>
#include <sys/types.h>

#include "flocker/record.h"

static inline int rec_eq_str(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static inline int rec_eq_ts(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static inline int rec_eq_super(const struct fl_super_rec *a, const struct fl_super_rec *b)
{
	return a->version == b->version && strcmp(a->uuid, b->uuid) == 0 &&
	       strcmp(a->name, b->name) == 0 && a->block_size == b->block_size &&
	       a->size_limit == b->size_limit && a->created == b->created &&
	       a->next_ino == b->next_ino && a->jtail == b->jtail &&
	       a->used_bytes == b->used_bytes && a->inodes == b->inodes &&
	       a->itab_shard_bits == b->itab_shard_bits && a->snap_seq == b->snap_seq;
}

static inline int rec_eq_snap(const struct fl_snap_rec *a, const struct fl_snap_rec *b)
{
	return a->version == b->version && a->id == b->id && a->created == b->created &&
	       a->created_ns == b->created_ns && a->state == b->state &&
	       strcmp(a->host, b->host) == 0;
}

static inline int rec_eq_volreg(const struct fl_volreg_rec *a, const struct fl_volreg_rec *b)
{
	return a->version == b->version && strcmp(a->uuid, b->uuid) == 0 &&
	       a->created == b->created && a->size_limit == b->size_limit;
}

static inline int rec_eq_parent(const struct fl_parent_rec *a, const struct fl_parent_rec *b)
{
	return a->version == b->version && strcmp(a->uuid, b->uuid) == 0 &&
	       a->snap_id == b->snap_id && strcmp(a->snap, b->snap) == 0 &&
	       strcmp(a->name, b->name) == 0 && a->created == b->created;
}

static inline int rec_eq_trash(const struct fl_trash_rec *a, const struct fl_trash_rec *b)
{
	return a->version == b->version && strcmp(a->uuid, b->uuid) == 0 &&
	       strcmp(a->name, b->name) == 0 && a->reg_len == b->reg_len &&
	       a->reg_len <= sizeof(a->reg) && memcmp(a->reg, b->reg, a->reg_len) == 0 &&
	       a->removed == b->removed && a->removed_ns == b->removed_ns &&
	       a->purge_at == b->purge_at && a->state == b->state &&
	       a->state_since == b->state_since && strcmp(a->host, b->host) == 0;
}

static inline int rec_eq_dirent(const struct fl_dirent_rec *a, const struct fl_dirent_rec *b)
{
	return a->ino == b->ino && a->type == b->type;
}

static inline int rec_eq_inode(const struct fl_inode_rec *a, const struct fl_inode_rec *b)
{
	uint32_t k;

	if (a->ino != b->ino || a->mode != b->mode || a->uid != b->uid || a->gid != b->gid ||
	    a->nlink != b->nlink || a->size != b->size || a->rdev != b->rdev ||
	    a->generation != b->generation || !rec_eq_ts(&a->atime, &b->atime) ||
	    !rec_eq_ts(&a->mtime, &b->mtime) || !rec_eq_ts(&a->ctime, &b->ctime) ||
	    !rec_eq_ts(&a->btime, &b->btime) || !rec_eq_str(a->symlink, b->symlink) ||
	    a->nxattrs != b->nxattrs || a->has_bmap != b->has_bmap || a->nbmap != b->nbmap)
		return 0;
	for (k = 0; k < a->nbmap; k++)
		if (a->bmap[k].first != b->bmap[k].first || a->bmap[k].count != b->bmap[k].count)
			return 0;
	for (k = 0; k < a->nxattrs; k++) {
		const struct fl_xattr *x = &a->xattrs[k], *y = &b->xattrs[k];

		if (!rec_eq_str(x->name, y->name) || x->vlen != y->vlen)
			return 0;
		if (x->vlen && memcmp(x->value, y->value, x->vlen) != 0)
			return 0;
	}
	return 1;
}

static inline int rec_eq_jop(const struct fl_jop *a, const struct fl_jop *b)
{
	if (a->kind != b->kind)
		return 0;
	switch (a->kind) {
	case FL_JOP_INODE_PUT:
		return rec_eq_inode(&a->inode, &b->inode);
	case FL_JOP_INODE_DEL:
	case FL_JOP_ORPHAN_ADD:
	case FL_JOP_ORPHAN_DEL:
		return a->ino == b->ino;
	case FL_JOP_DENT_SET:
		return a->ino == b->ino && rec_eq_str(a->name, b->name) &&
		       rec_eq_dirent(&a->dent, &b->dent);
	case FL_JOP_DENT_DEL:
		return a->ino == b->ino && rec_eq_str(a->name, b->name);
	default:
		return 0;
	}
}

static inline int rec_eq_jtxn(const struct fl_jtxn *a, const struct fl_jtxn *b)
{
	uint32_t k;

	if (a->version != b->version || a->tid != b->tid || a->next_ino != b->next_ino ||
	    a->used_bytes != b->used_bytes || a->inodes != b->inodes || a->nops != b->nops)
		return 0;
	for (k = 0; k < a->nops; k++) {
		if (!rec_eq_jop(&a->ops[k], &b->ops[k]))
			return 0;
	}
	return 1;
}

#endif
