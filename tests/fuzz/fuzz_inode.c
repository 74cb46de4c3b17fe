/*
 * libFuzzer harness: fl_inode_decode, with an encode/decode round trip and a
 * deep copy that must compare equal.
 */
#include <errno.h>
#include <stdio.h>

#include "fuzz.h"

static void inode_copies(const struct fl_inode_rec *a, size_t size)
{
	struct fl_inode_rec c;

	(void)size;
	FUZZ_ASSERT(fl_inode_rec_copy(&c, a) == 0);
	FUZZ_ASSERT(rec_eq_inode(a, &c));
	fl_inode_rec_free(&c);
}

FUZZ_CODEC_HARNESS(struct fl_inode_rec, fl_inode, rec_eq_inode, FL_REC_MAX, fl_inode_rec_free,
		   inode_copies, 1)
