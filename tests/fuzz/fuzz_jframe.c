/*
 * libFuzzer harness: a whole journal segment.  Walks the frames with
 * fl_jframe_next as replay does, checks each frame re-frames to the same
 * bytes, and decodes each payload as a transaction (with the round trip).
 *
 * Input: one mode byte, then the segment.  With bit 0 of the mode set, the
 * CRC of every well-formed frame header is recomputed first, so that
 * mutated payloads get past the checksum and reach the jtxn decoder; with
 * it clear the segment is walked as given (CRC mismatches included).
 */
#include <errno.h>
#include <stdio.h>

#include "fuzz.h"

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void fix_crcs(uint8_t *p, size_t size)
{
	size_t off = 0;

	while (size - off >= FL_JFRAME_HDR && get_le32(p + off) == FL_JFRAME_MAGIC) {
		uint32_t n = get_le32(p + off + 4);

		if (n > size - off - FL_JFRAME_HDR)
			break;
		put_le32(p + off + 8, fl_crc32c(0, p + off + FL_JFRAME_HDR, n));
		off += FL_JFRAME_HDR + n;
	}
}

static void walk(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off <= size) {
		const void *payload = (const void *)1;
		size_t plen = 12345;
		struct fl_buf again;
		ssize_t n;

		n = fl_jframe_next(data + off, size - off, &payload, &plen);
		if (n <= 0) {
			FUZZ_ASSERT(n == 0 || n == -EIO);
			FUZZ_ASSERT(n != 0 || fuzz_all_zero(data + off, size - off));
			break;
		}
		FUZZ_ASSERT((size_t)n <= size - off && (size_t)n == FL_JFRAME_HDR + plen);
		FUZZ_ASSERT((const uint8_t *)payload == data + off + FL_JFRAME_HDR);

		fl_buf_init(&again, FL_JFRAME_HDR + (size_t)FL_REC_MAX);
		FUZZ_ASSERT(fl_jframe_put(&again, payload, plen) == 0);
		FUZZ_ASSERT(again.len == (size_t)n &&
			    memcmp(again.data, data + off, again.len) == 0);
		fl_buf_free(&again);

		fuzz_jtxn_roundtrip(payload, plen);
		off += (size_t)n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (size == 0)
		return 0;
	if (!(data[0] & 1)) {
		walk(data + 1, size - 1);
		return 0;
	}
	copy = malloc(size - 1 + (size == 1)); /* exact size: ASan sees overreads */
	FUZZ_ASSERT(copy != NULL);
	memcpy(copy, data + 1, size - 1);
	fix_crcs(copy, size - 1);
	walk(copy, size - 1);
	free(copy);
	return 0;
}
