/* libFuzzer harness: fl_trash_rec_decode, with an encode/decode round trip. */
#include <errno.h>
#include <stdio.h>

#include "fuzz.h"

/* what decodes keeps the record's promises */
static void trash_promises(const struct fl_trash_rec *a, size_t size)
{
	struct fl_volreg_rec r;

	FUZZ_ASSERT(size <= FL_TRASH_REC_MAX);
	FUZZ_ASSERT(fl_volname_valid(a->name) && strlen(a->uuid) == 36);
	FUZZ_ASSERT(a->reg_len >= 1 && a->reg_len <= FL_TRASH_REG_MAX);
	FUZZ_ASSERT(fl_volreg_decode(a->reg, a->reg_len, &r) == 0 && strcmp(r.uuid, a->uuid) == 0);
	FUZZ_ASSERT(a->state <= FL_TRASH_PURGING && a->removed_ns <= 999999999);
	FUZZ_ASSERT(strnlen(a->host, sizeof(a->host)) <= FL_TRASH_HOST_MAX);
}

/* the encoding writes the optional keys an old record may lack: it may be longer */
FUZZ_CODEC_HARNESS(struct fl_trash_rec, fl_trash_rec, rec_eq_trash, FL_TRASH_REC_MAX,
		   FUZZ_NO_RELEASE, trash_promises, 0)
