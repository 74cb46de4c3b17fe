/*
 * flockerfs fuzz harnesses — shared declarations and round-trip checks.
 *
 * Every harness defines LLVMFuzzerTestOneInput.  Built with
 * -fsanitize=fuzzer it is a libFuzzer target; linked with replay_main.c it
 * replays a saved corpus as an ordinary test.  A decoded input is encoded
 * again and decoded again: the two records must be equal and the second
 * encoding byte-identical to the first (encodings are canonical), otherwise
 * abort().
 */
#ifndef FLOCKER_FUZZ_H
#define FLOCKER_FUZZ_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_assert.h"
#include "rec_eq.h"

static inline int fuzz_all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t k;

	for (k = 0; k < n; k++) {
		if (b[k])
			return 0;
	}
	return 1;
}

static inline int fuzz_same_bytes(const struct fl_buf *a, const struct fl_buf *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/*
 * The whole harness of a record codec: decode; a rejected input is -EIO or
 * -ENOMEM and leaves the record zeroed; an accepted one keeps the record's
 * promises (promises(&rec, size) asserts them) and round-trips (encode,
 * decode, compare, encode again), its encoding no longer than the input when
 * shorter.  release(&rec) frees what a decoded record holds.
 */
#define FUZZ_CODEC_HARNESS(rec_type, codec, eq, max, release, promises, shorter)                   \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                               \
	{                                                                                          \
		rec_type a, b;                                                                     \
		struct fl_buf e1, e2;                                                              \
		int rc;                                                                            \
                                                                                                   \
		rc = codec##_decode(data, size, &a);                                               \
		if (rc != 0) {                                                                     \
			FUZZ_ASSERT(rc == -EIO || rc == -ENOMEM);                                  \
			FUZZ_ASSERT(fuzz_all_zero(&a, sizeof(a)));                                 \
			release(&a);                                                               \
			return 0;                                                                  \
		}                                                                                  \
		promises(&a, size);                                                                \
		fl_buf_init(&e1, max);                                                             \
		fl_buf_init(&e2, max);                                                             \
		FUZZ_ASSERT(codec##_encode(&a, &e1) == 0);                                         \
		FUZZ_ASSERT(!(shorter) || e1.len <= size);                                         \
		FUZZ_ASSERT(codec##_decode(e1.data, e1.len, &b) == 0);                             \
		FUZZ_ASSERT(eq(&a, &b));                                                           \
		FUZZ_ASSERT(codec##_encode(&b, &e2) == 0);                                         \
		FUZZ_ASSERT(fuzz_same_bytes(&e1, &e2));                                            \
		release(&a);                                                                       \
		release(&b);                                                                       \
		fl_buf_free(&e1);                                                                  \
		fl_buf_free(&e2);                                                                  \
		return 0;                                                                          \
	}

#define FUZZ_NO_RELEASE(rec)	    ((void)(rec))
#define FUZZ_NO_PROMISES(rec, size) ((void)(rec), (void)(size))

/* A plain record (no memory of its own, no promises beyond its codec's).
 * Use: FUZZ_RECORD_HARNESS(struct fl_dirent_rec, fl_dirent, rec_eq_dirent) */
#define FUZZ_RECORD_HARNESS(rec_type, codec, eq)                                                   \
	FUZZ_CODEC_HARNESS(rec_type, codec, eq, FL_REC_MAX, FUZZ_NO_RELEASE, FUZZ_NO_PROMISES, 1)

/*
 * Decode, and for a valid jtxn: encode, decode, compare, encode again.
 * Shared by fuzz_jtxn and fuzz_jframe.
 */
static inline void fuzz_jtxn_roundtrip(const uint8_t *data, size_t size)
{
	struct fl_jtxn a, b;
	struct fl_buf e1, e2;
	int rc;

	rc = fl_jtxn_decode(data, size, &a);
	if (rc != 0) {
		FUZZ_ASSERT(rc == -EIO || rc == -ENOMEM);
		FUZZ_ASSERT(a.ops == NULL && a.nops == 0 && fuzz_all_zero(&a, sizeof(a)));
		fl_jtxn_free(&a);
		return;
	}
	fl_buf_init(&e1, FL_REC_MAX);
	fl_buf_init(&e2, FL_REC_MAX);
	FUZZ_ASSERT(fl_jtxn_encode(&a, &e1) == 0);
	FUZZ_ASSERT(e1.len <= size);
	FUZZ_ASSERT(fl_jtxn_decode(e1.data, e1.len, &b) == 0);
	FUZZ_ASSERT(rec_eq_jtxn(&a, &b));
	FUZZ_ASSERT(fl_jtxn_encode(&b, &e2) == 0);
	FUZZ_ASSERT(fuzz_same_bytes(&e1, &e2));
	fl_jtxn_free(&a);
	fl_jtxn_free(&b);
	fl_buf_free(&e1);
	fl_buf_free(&e2);
}

#endif
