/* libFuzzer harness: fl_snap_decode, with an encode/decode round trip. */
#include <errno.h>
#include <stdio.h>

#include "fuzz.h"

/* what decodes keeps the record's promises */
static void snap_promises(const struct fl_snap_rec *a, size_t size)
{
	FUZZ_ASSERT(size <= FL_SNAP_REC_MAX);
	FUZZ_ASSERT(a->id >= 1 && a->id <= FL_SNAP_ID_MAX);
	FUZZ_ASSERT(a->state <= FL_SNAP_REMOVING && a->created_ns <= 999999999);
	FUZZ_ASSERT(strnlen(a->host, sizeof(a->host)) <= FL_SNAP_HOST_MAX);
}

FUZZ_CODEC_HARNESS(struct fl_snap_rec, fl_snap, rec_eq_snap, FL_SNAP_REC_MAX, FUZZ_NO_RELEASE,
		   snap_promises, 1)
