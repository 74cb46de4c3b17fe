/* libFuzzer harness: fl_trash_rec_decode, with an encode/decode round trip. */
#include <errno.h>
#include <stdio.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_trash_rec a, b;
	struct fl_volreg_rec r;
	struct fl_buf e1, e2;
	int rc;

	rc = fl_trash_rec_decode(data, size, &a);
	if (rc != 0) {
		FUZZ_ASSERT(rc == -EIO || rc == -ENOMEM);
		FUZZ_ASSERT(fuzz_all_zero(&a, sizeof(a)));
		return 0;
	}
	/* what decodes keeps the record's promises */
	FUZZ_ASSERT(size <= FL_TRASH_REC_MAX);
	FUZZ_ASSERT(fl_volname_valid(a.name) && strlen(a.uuid) == 36);
	FUZZ_ASSERT(a.reg_len >= 1 && a.reg_len <= FL_TRASH_REG_MAX);
	FUZZ_ASSERT(fl_volreg_decode(a.reg, a.reg_len, &r) == 0 && strcmp(r.uuid, a.uuid) == 0);
	FUZZ_ASSERT(a.state <= FL_TRASH_PURGING && a.removed_ns <= 999999999);
	FUZZ_ASSERT(strnlen(a.host, sizeof(a.host)) <= FL_TRASH_HOST_MAX);
	fl_buf_init(&e1, FL_TRASH_REC_MAX);
	fl_buf_init(&e2, FL_TRASH_REC_MAX);
	FUZZ_ASSERT(fl_trash_rec_encode(&a, &e1) == 0);
	FUZZ_ASSERT(fl_trash_rec_decode(e1.data, e1.len, &b) == 0);
	FUZZ_ASSERT(rec_eq_trash(&a, &b));
	FUZZ_ASSERT(fl_trash_rec_encode(&b, &e2) == 0);
	FUZZ_ASSERT(fuzz_same_bytes(&e1, &e2));
	fl_buf_free(&e1);
	fl_buf_free(&e2);
	return 0;
}
