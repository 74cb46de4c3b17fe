/*
 * libFuzzer harness for the control protocol's frame decoder
 * (cluster/net/proto.c): the input is a byte stream as a peer would send it.
 * Frames are cut with fl_frame_check and decoded with fl_msg_decode exactly
 * as flocker-control and flocker-agent do; a decoded frame is packed again,
 * decoded again and must be equal, and its packing must be stable.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flocker/proto.h"
#include "tests/fuzz/fuzz_assert.h"

static void roundtrip(const struct fl_msg *m)
{
	struct fl_frame_enc e1, e2;
	struct fl_msg m2;
	const struct fl_pv *k;
	uint32_t i;

	fl_frame_enc_init(&e1);
	FUZZ_ASSERT(fl_frame_begin(&e1, m->type, m->id, m->body->n) == 0);
	for (i = 0; i < m->body->n * 2; i++) {
		k = &m->body->v.kids[i];
		FUZZ_ASSERT(fl_pv_pack(&e1.pk, k) == 0);
	}
	FUZZ_ASSERT(fl_frame_end(&e1) == 0 || e1.err == -EMSGSIZE);
	if (e1.err) {
		fl_frame_enc_free(&e1);
		return;
	}
	FUZZ_ASSERT(fl_msg_decode(e1.buf.data + FL_FRAME_HDR, e1.buf.len - FL_FRAME_HDR, &m2) == 0);
	FUZZ_ASSERT(!strcmp(m->type, m2.type) && m->id == m2.id);
	FUZZ_ASSERT(fl_pv_equal(m->body, m2.body));
	fl_frame_enc_init(&e2);
	FUZZ_ASSERT(fl_frame_begin(&e2, m2.type, m2.id, m2.body->n) == 0);
	for (i = 0; i < m2.body->n * 2; i++)
		FUZZ_ASSERT(fl_pv_pack(&e2.pk, &m2.body->v.kids[i]) == 0);
	FUZZ_ASSERT(fl_frame_end(&e2) == 0);
	FUZZ_ASSERT(e1.buf.len == e2.buf.len && !memcmp(e1.buf.data, e2.buf.data, e1.buf.len));
	fl_msg_free(&m2);
	fl_frame_enc_free(&e1);
	fl_frame_enc_free(&e2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 0, total = 0;
	struct fl_msg m;
	int ret;

	/* the first byte also tries the input as one bare payload */
	if (size > 0 && (data[0] & 1)) {
		ret = fl_msg_decode(data + 1, size - 1, &m);
		FUZZ_ASSERT(ret == 0 || ret == -EBADMSG || ret == -ELOOP || ret == -E2BIG ||
			    ret == -EMSGSIZE || ret == -ENOMEM);
		if (ret == 0) {
			roundtrip(&m);
			fl_msg_free(&m);
		}
	}
	while (pos < size) {
		ret = fl_frame_check(data + pos, size - pos, &total);
		if (ret)
			break; /* needs more bytes, or the connection would be closed */
		FUZZ_ASSERT(total >= FL_FRAME_HDR && total <= size - pos);
		ret = fl_msg_decode(data + pos + FL_FRAME_HDR, total - FL_FRAME_HDR, &m);
		FUZZ_ASSERT(ret == 0 || ret == -EBADMSG || ret == -ELOOP || ret == -E2BIG ||
			    ret == -ENOMEM);
		if (ret)
			break; /* a bad frame closes the connection */
		roundtrip(&m);
		fl_msg_free(&m);
		pos += total;
	}
	return 0;
}
