/* libFuzzer harness: fl_snap_decode, with an encode/decode round trip. */
#include <errno.h>
#include <stdio.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_snap_rec a, b;
	struct fl_buf e1, e2;
	int rc;

	rc = fl_snap_decode(data, size, &a);
	if (rc != 0) {
		FUZZ_ASSERT(rc == -EIO || rc == -ENOMEM);
		FUZZ_ASSERT(fuzz_all_zero(&a, sizeof(a)));
		return 0;
	}
	/* what decodes keeps the record's promises */
	FUZZ_ASSERT(size <= FL_SNAP_REC_MAX);
	FUZZ_ASSERT(a.id >= 1 && a.id <= FL_SNAP_ID_MAX);
	FUZZ_ASSERT(a.state <= FL_SNAP_REMOVING && a.created_ns <= 999999999);
	FUZZ_ASSERT(strnlen(a.host, sizeof(a.host)) <= FL_SNAP_HOST_MAX);
	fl_buf_init(&e1, FL_SNAP_REC_MAX);
	fl_buf_init(&e2, FL_SNAP_REC_MAX);
	FUZZ_ASSERT(fl_snap_encode(&a, &e1) == 0);
	FUZZ_ASSERT(e1.len <= size);
	FUZZ_ASSERT(fl_snap_decode(e1.data, e1.len, &b) == 0);
	FUZZ_ASSERT(rec_eq_snap(&a, &b));
	FUZZ_ASSERT(fl_snap_encode(&b, &e2) == 0);
	FUZZ_ASSERT(fuzz_same_bytes(&e1, &e2));
	fl_buf_free(&e1);
	fl_buf_free(&e2);
	return 0;
}
