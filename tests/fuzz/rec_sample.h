/*
 * flockerfs tests — sample records that tests/unit/test_record*.c checks and
 * tests/fuzz/gen_corpus.c writes as seeds: the same values in both, and
 * the journal ops both build.
 */
#ifndef FLOCKER_TEST_REC_SAMPLE_H
#define FLOCKER_TEST_REC_SAMPLE_H

#include <string.h>

#include "flocker/record.h"

/* A typical snapshot record: id 4 of host-a (version 0: the caller's). */
static inline void rec_snap_typical(struct fl_snap_rec *sn)
{
	memset(sn, 0, sizeof(*sn));
	sn->id = 4;
	sn->created = 1700000000;
	sn->created_ns = 123456789;
	strcpy(sn->host, "host-a");
}

/* Every field of a snapshot record at its bound; the longest host. */
static inline void rec_snap_edge(struct fl_snap_rec *sn)
{
	sn->id = FL_SNAP_ID_MAX;
	sn->created = INT64_MIN;
	sn->created_ns = 999999999;
	sn->state = FL_SNAP_REMOVING;
	memset(sn->host, 'h', FL_SNAP_HOST_MAX);
	sn->host[FL_SNAP_HOST_MAX] = '\0';
}

/* A journal op on a directory entry: DENT_SET (the entry names inode ino
 * of type type) or DENT_DEL (ino and type unused) of name in directory dir. */
static inline void rec_jop_dent(struct fl_jop *op, uint32_t kind, uint64_t dir, const char *name,
				uint64_t ino, uint32_t type)
{
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->ino = dir;
	op->name = (char *)name;
	op->dent.ino = ino;
	op->dent.type = type;
}

/* A journal op on inode number ino alone: INODE_DEL, ORPHAN_ADD, ORPHAN_DEL. */
static inline void rec_jop_ino(struct fl_jop *op, uint32_t kind, uint64_t ino)
{
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->ino = ino;
}

#endif
