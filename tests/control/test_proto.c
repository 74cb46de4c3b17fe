/*
 * Unit test of the control protocol's frames (cluster/net/proto.c): round trips,
 * and every limit of the bounded decoder with its exact errno: oversize
 * frames, deep nesting, too many values, long strings, wrong types,
 * truncation, trailing bytes.
 *
 *   test_proto                   run the checks
 *   test_proto --seeds DIR       write seed inputs for the fuzz_frame corpus
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flocker/proto.h"

/* a failed check ends the test: later steps build on earlier ones */
#define CHECK_ON_FAILURE() abort()
#include "tests/check.h"

/* A frame like an agent's heartbeat. */
static void make_heartbeat(struct fl_frame_enc *e)
{
	fl_frame_enc_init(e);
	CHECK_EQ(fl_frame_begin(e, "heartbeat", 42, 3), 0);
	fl_pk_kv_str(&e->pk, "node", "host-a");
	fl_pk_kv_u64(&e->pk, "seq", 7);
	fl_pk_str(&e->pk, "mounts");
	msgpack_pack_array(&e->pk, 2);
	msgpack_pack_map(&e->pk, 2);
	fl_pk_kv_str(&e->pk, "volume", "volume-1");
	fl_pk_kv_i64(&e->pk, "users", -3);
	msgpack_pack_map(&e->pk, 1);
	fl_pk_kv_bool(&e->pk, "busy", true);
	CHECK_EQ(fl_frame_end(e), 0);
}

static void test_roundtrip(void)
{
	struct fl_frame_enc e;
	struct fl_msg m;
	const struct fl_pv *mounts, *m0;
	size_t total = 0;
	uint64_t u;
	int64_t i;

	make_heartbeat(&e);
	CHECK_EQ(fl_frame_check(e.buf.data, e.buf.len, &total), 0);
	CHECK_EQ(total, e.buf.len);
	CHECK_EQ(fl_frame_check(e.buf.data, e.buf.len - 1, &total), 1);
	CHECK_EQ(fl_frame_check(e.buf.data, 3, &total), 1);
	CHECK_EQ(fl_msg_decode(e.buf.data + 4, e.buf.len - 4, &m), 0);
	CHECK(!strcmp(m.type, "heartbeat"));
	CHECK_EQ(m.id, 42);
	CHECK(!strcmp(fl_pv_get_str(m.body, "node"), "host-a"));
	CHECK(!strcmp(fl_pv_get_str(m.body, "missing"), ""));
	CHECK_EQ(fl_pv_get_u64(m.body, "seq", 0, &u), 0);
	CHECK_EQ(u, 7);
	CHECK_EQ(fl_pv_get_u64(m.body, "nope", 9, &u), 0);
	CHECK_EQ(u, 9);
	CHECK_EQ(fl_pv_get_u64(m.body, "node", 0, &u), -EINVAL);
	mounts = fl_pv_get(m.body, "mounts");
	CHECK(mounts && mounts->type == FL_PV_ARRAY && mounts->n == 2);
	m0 = &mounts->v.kids[0];
	CHECK(!strcmp(fl_pv_get_str(m0, "volume"), "volume-1"));
	CHECK_EQ(fl_pv_i64(fl_pv_get(m0, "users"), &i), 0);
	CHECK_EQ(i, -3);
	CHECK_EQ(fl_pv_u64(fl_pv_get(m0, "users"), &u), -EINVAL);
	CHECK(fl_pv_get_bool(&mounts->v.kids[1], "busy", false));
	fl_msg_free(&m);
	fl_frame_enc_free(&e);

	/* two frames back to back in one buffer */
	fl_frame_enc_init(&e);
	CHECK_EQ(fl_frame_begin(&e, "ping", 1, 0), 0);
	CHECK_EQ(fl_frame_end(&e), 0);
	total = e.buf.len;
	CHECK_EQ(fl_frame_begin(&e, "reply", 1, 1), 0);
	fl_pk_kv_u64(&e.pk, "err", 0);
	CHECK_EQ(fl_frame_end(&e), 0);
	{
		size_t t1 = 0, t2 = 0;

		CHECK_EQ(fl_frame_check(e.buf.data, e.buf.len, &t1), 0);
		CHECK_EQ(t1, total);
		CHECK_EQ(fl_frame_check(e.buf.data + t1, e.buf.len - t1, &t2), 0);
		CHECK_EQ(t1 + t2, e.buf.len);
		CHECK_EQ(fl_msg_decode(e.buf.data + t1 + 4, t2 - 4, &m), 0);
		CHECK(!strcmp(m.type, "reply"));
		fl_msg_free(&m);
	}
	/* invalid type names are refused by the encoder */
	CHECK_EQ(fl_frame_begin(&e, "Bad Type", 1, 0), -EINVAL);
	CHECK_EQ(fl_frame_begin(&e, "", 1, 0), -EINVAL);
	fl_frame_enc_free(&e);
}

/* Raw payload builder: a frame map whose body the caller writes with pk. */
static void raw_frame(struct fl_frame_enc *e, const char *type)
{
	fl_pk_init(e, 64u << 20);
	msgpack_pack_map(&e->pk, 3);
	fl_pk_kv_str(&e->pk, "type", type);
	fl_pk_kv_u64(&e->pk, "id", 5);
	fl_pk_str(&e->pk, "body");
}

static int decode_buf(const struct fl_buf *b)
{
	struct fl_msg m;
	int ret = fl_msg_decode(b->data, b->len, &m);

	if (ret == 0)
		fl_msg_free(&m);
	else
		CHECK(m.mem == NULL && m.body == NULL);
	return ret;
}

/* Decodes the frame built in e, then frees e: the decoder's return. */
static int decode_enc(struct fl_frame_enc *e)
{
	int ret = decode_buf(&e->buf);

	fl_frame_enc_free(e);
	return ret;
}

/* A body {"s": a string of len bytes}, decoded. */
static int decode_str_body(size_t len)
{
	struct fl_frame_enc e;
	size_t k;

	raw_frame(&e, "str");
	msgpack_pack_map(&e.pk, 1);
	fl_pk_str(&e.pk, "s");
	msgpack_pack_str(&e.pk, len);
	for (k = 0; k < len; k++)
		msgpack_pack_str_body(&e.pk, "x", 1);
	return decode_enc(&e);
}

static void test_nesting(void)
{
	struct fl_frame_enc e;
	int depth, k;

	/* frame map = level 1, body = level 2, then nested arrays */
	for (depth = 2; depth <= FL_FRAME_DEPTH_MAX + 2; depth++) {
		raw_frame(&e, "deep");
		msgpack_pack_map(&e.pk, 1);
		fl_pk_str(&e.pk, "x");
		for (k = 2; k < depth; k++)
			msgpack_pack_array(&e.pk, 1);
		msgpack_pack_nil(&e.pk);
		CHECK_EQ(decode_enc(&e), depth <= FL_FRAME_DEPTH_MAX ? 0 : -ELOOP);
	}
	/* thousands of levels: refused without recursing through them */
	raw_frame(&e, "deep");
	for (k = 0; k < 100000; k++)
		msgpack_pack_array(&e.pk, 1);
	msgpack_pack_nil(&e.pk);
	CHECK_EQ(decode_enc(&e), -ELOOP);
}

static void test_sizes(void)
{
	struct fl_frame_enc e;
	unsigned char hdr[8];
	size_t total;
	char *big;
	int k;

	/* announced length over the limit: the stream must be closed */
	hdr[0] = (unsigned char)((FL_FRAME_MAX + 1) >> 24);
	hdr[1] = (unsigned char)((FL_FRAME_MAX + 1) >> 16);
	hdr[2] = (unsigned char)((FL_FRAME_MAX + 1) >> 8);
	hdr[3] = (unsigned char)(FL_FRAME_MAX + 1);
	CHECK_EQ(fl_frame_check(hdr, 4, &total), -EMSGSIZE);
	memset(hdr, 0xff, 4);
	CHECK_EQ(fl_frame_check(hdr, 4, &total), -EMSGSIZE);

	/* a payload over the limit is refused by the encoder and the decoder */
	big = malloc(FL_FRAME_MAX + 16);
	CHECK(big);
	memset(big, 'a', FL_FRAME_MAX + 15);
	big[FL_FRAME_MAX + 15] = '\0';
	fl_frame_enc_init(&e);
	CHECK_EQ(fl_frame_begin(&e, "big", 1, 1), 0);
	fl_pk_kv_str(&e.pk, "data", big);
	CHECK_EQ(fl_frame_end(&e), -EMSGSIZE);
	fl_frame_enc_free(&e);
	{
		struct fl_msg m;

		CHECK_EQ(fl_msg_decode(big, FL_FRAME_MAX + 1, &m), -EMSGSIZE);
	}
	free(big);

	/* one string over FL_FRAME_STR_MAX; exactly FL_FRAME_STR_MAX is fine */
	CHECK_EQ(decode_str_body(FL_FRAME_STR_MAX + 1), -E2BIG);
	CHECK_EQ(decode_str_body(FL_FRAME_STR_MAX), 0);

	/* too many values */
	raw_frame(&e, "many");
	msgpack_pack_map(&e.pk, 1);
	fl_pk_str(&e.pk, "a");
	msgpack_pack_array(&e.pk, FL_FRAME_NODES_MAX);
	for (k = 0; k < FL_FRAME_NODES_MAX; k++)
		msgpack_pack_nil(&e.pk);
	CHECK_EQ(decode_enc(&e), -E2BIG);

	/* many small arrays, each fine, together too many */
	raw_frame(&e, "many");
	msgpack_pack_map(&e.pk, 1);
	fl_pk_str(&e.pk, "a");
	msgpack_pack_array(&e.pk, 1000);
	for (k = 0; k < 1000; k++) {
		msgpack_pack_array(&e.pk, 100);
		for (int j = 0; j < 100; j++)
			msgpack_pack_true(&e.pk);
	}
	CHECK_EQ(decode_enc(&e), -E2BIG);

	/* a container announcing more elements than bytes left: refused before allocating */
	{
		static const unsigned char a32[] = {0xdd, 0x00, 0x01, 0xff, 0xff};
		static const unsigned char a16[] = {0xdc, 0x03, 0xe8, 0xc0};
		static const unsigned char m32[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
		struct fl_msg m;

		CHECK_EQ(fl_msg_decode(a32, sizeof(a32), &m), -E2BIG);
		CHECK_EQ(fl_msg_decode(a16, sizeof(a16), &m), -EBADMSG);
		CHECK_EQ(fl_msg_decode(m32, sizeof(m32), &m), -E2BIG);
	}
}

static void test_types(void)
{
	struct fl_frame_enc e;
	struct fl_msg m;

	/* the top level must be a map */
	fl_pk_init(&e, 1024);
	msgpack_pack_array(&e.pk, 3);
	fl_pk_str(&e.pk, "hello");
	msgpack_pack_uint64(&e.pk, 1);
	msgpack_pack_map(&e.pk, 0);
	CHECK_EQ(decode_enc(&e), -EBADMSG);

	/* type must be a valid string */
	fl_pk_init(&e, 1024);
	msgpack_pack_map(&e.pk, 2);
	fl_pk_str(&e.pk, "type");
	msgpack_pack_uint64(&e.pk, 3);
	fl_pk_kv_u64(&e.pk, "id", 1);
	CHECK_EQ(decode_enc(&e), -EBADMSG);

	fl_pk_init(&e, 1024);
	msgpack_pack_map(&e.pk, 2);
	fl_pk_kv_str(&e.pk, "type", "Hello World");
	fl_pk_kv_u64(&e.pk, "id", 1);
	CHECK_EQ(decode_enc(&e), -EBADMSG);

	/* id must be an unsigned integer */
	fl_pk_init(&e, 1024);
	msgpack_pack_map(&e.pk, 2);
	fl_pk_kv_str(&e.pk, "type", "hello");
	fl_pk_kv_str(&e.pk, "id", "1");
	CHECK_EQ(decode_enc(&e), -EBADMSG);

	fl_pk_init(&e, 1024);
	msgpack_pack_map(&e.pk, 2);
	fl_pk_kv_str(&e.pk, "type", "hello");
	fl_pk_kv_i64(&e.pk, "id", -1);
	CHECK_EQ(decode_enc(&e), -EBADMSG);

	/* missing id */
	fl_pk_init(&e, 1024);
	msgpack_pack_map(&e.pk, 1);
	fl_pk_kv_str(&e.pk, "type", "hello");
	CHECK_EQ(decode_enc(&e), -EBADMSG);

	/* body must be a map; nil and missing read as an empty map; unknown keys skipped */
	raw_frame(&e, "hello");
	msgpack_pack_array(&e.pk, 0);
	CHECK_EQ(decode_enc(&e), -EBADMSG);

	fl_pk_init(&e, 1024);
	msgpack_pack_map(&e.pk, 4);
	fl_pk_kv_str(&e.pk, "type", "hello");
	fl_pk_kv_u64(&e.pk, "id", 9);
	fl_pk_str(&e.pk, "body");
	msgpack_pack_nil(&e.pk);
	fl_pk_kv_str(&e.pk, "future", "ignored");
	CHECK_EQ(fl_msg_decode(e.buf.data, e.buf.len, &m), 0);
	CHECK(m.body && m.body->type == FL_PV_MAP && m.body->n == 0);
	CHECK_EQ(m.id, 9);
	fl_msg_free(&m);
	fl_frame_enc_free(&e);

	/* map keys must be strings or integers */
	raw_frame(&e, "hello");
	msgpack_pack_map(&e.pk, 1);
	msgpack_pack_array(&e.pk, 0);
	msgpack_pack_nil(&e.pk);
	CHECK_EQ(decode_enc(&e), -EBADMSG);

	/* ext types are refused */
	raw_frame(&e, "hello");
	msgpack_pack_map(&e.pk, 1);
	fl_pk_str(&e.pk, "x");
	msgpack_pack_ext(&e.pk, 1, 1);
	msgpack_pack_ext_body(&e.pk, "z", 1);
	CHECK_EQ(decode_enc(&e), -EBADMSG);

	/* 0xc1 is never used */
	{
		static const unsigned char c1[] = {0xc1};

		CHECK_EQ(fl_msg_decode(c1, 1, &m), -EBADMSG);
		CHECK_EQ(fl_msg_decode(c1, 0, &m), -EBADMSG);
	}
}

static void test_truncation(void)
{
	struct fl_frame_enc e;
	struct fl_msg m;
	size_t cut;
	char *copy;

	make_heartbeat(&e);
	/* every strict prefix of the payload is malformed, never a crash */
	for (cut = 0; cut < e.buf.len - 4; cut++) {
		copy = malloc(cut ? cut : 1);
		CHECK(copy);
		memcpy(copy, e.buf.data + 4, cut);
		CHECK_EQ(fl_msg_decode(copy, cut, &m), -EBADMSG);
		free(copy);
	}
	/* and trailing bytes after a whole value too */
	copy = malloc(e.buf.len - 3);
	CHECK(copy);
	memcpy(copy, e.buf.data + 4, e.buf.len - 4);
	copy[e.buf.len - 4] = (char)0xc0;
	CHECK_EQ(fl_msg_decode(copy, e.buf.len - 3, &m), -EBADMSG);
	free(copy);
	fl_frame_enc_free(&e);
}

static void test_numbers(void)
{
	struct fl_frame_enc e;
	const struct fl_pv *v;
	void *mem;
	int64_t i;
	uint64_t u;

	fl_pk_init(&e, 1024);
	msgpack_pack_array(&e.pk, 7);
	msgpack_pack_int64(&e.pk, INT64_MIN);
	msgpack_pack_uint64(&e.pk, UINT64_MAX);
	msgpack_pack_int8(&e.pk, -1);
	msgpack_pack_int16(&e.pk, -300);
	msgpack_pack_double(&e.pk, 1.5);
	msgpack_pack_float(&e.pk, 2.25f);
	msgpack_pack_bin(&e.pk, 3);
	msgpack_pack_bin_body(&e.pk, "a\0b", 3);
	CHECK_EQ(fl_pv_decode(e.buf.data, e.buf.len, &v, &mem), 0);
	CHECK(v->type == FL_PV_ARRAY && v->n == 7);
	CHECK_EQ(fl_pv_i64(&v->v.kids[0], &i), 0);
	CHECK(i == INT64_MIN);
	CHECK_EQ(fl_pv_u64(&v->v.kids[1], &u), 0);
	CHECK(u == UINT64_MAX);
	CHECK_EQ(fl_pv_i64(&v->v.kids[1], &i), -ERANGE);
	CHECK_EQ(fl_pv_i64(&v->v.kids[2], &i), 0);
	CHECK_EQ(i, -1);
	CHECK_EQ(fl_pv_i64(&v->v.kids[3], &i), 0);
	CHECK_EQ(i, -300);
	CHECK(v->v.kids[4].type == FL_PV_FLOAT && v->v.kids[4].v.f == 1.5);
	CHECK(v->v.kids[5].type == FL_PV_FLOAT && v->v.kids[5].v.f == 2.25);
	CHECK(v->v.kids[6].type == FL_PV_BIN && v->v.kids[6].n == 3 &&
	      !memcmp(v->v.kids[6].v.s, "a\0b", 3));
	free(mem);
	fl_frame_enc_free(&e);
}

static int write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return -1;
	fwrite(p, 1, n, f);
	return fclose(f);
}

static int write_seeds(const char *dir)
{
	struct fl_frame_enc e;
	int rc = 0;

	make_heartbeat(&e);
	rc |= write_file(dir, "seed-heartbeat", e.buf.data, e.buf.len);
	fl_frame_enc_free(&e);

	fl_frame_enc_init(&e);
	fl_frame_begin(&e, "acquire", 3, 2);
	fl_pk_kv_str(&e.pk, "volume", "volume-1");
	fl_pk_kv_u64(&e.pk, "size", 10737418240ull);
	fl_frame_end(&e);
	fl_frame_begin(&e, "reply", 3, 2);
	fl_pk_kv_i64(&e.pk, "err", -16);
	fl_pk_kv_str(&e.pk, "msg", "volume volume-1 is in use on node host-a since 12:03");
	fl_frame_end(&e);
	rc |= write_file(dir, "seed-two-frames", e.buf.data, e.buf.len);
	fl_frame_enc_free(&e);

	raw_frame(&e, "deep");
	msgpack_pack_map(&e.pk, 1);
	fl_pk_str(&e.pk, "x");
	for (int k = 0; k < 7; k++)
		msgpack_pack_array(&e.pk, 1);
	msgpack_pack_nil(&e.pk);
	{
		struct fl_buf f;
		unsigned char h[4];

		fl_buf_init(&f, 1 << 20);
		h[0] = (unsigned char)(e.buf.len >> 24);
		h[1] = (unsigned char)(e.buf.len >> 16);
		h[2] = (unsigned char)(e.buf.len >> 8);
		h[3] = (unsigned char)e.buf.len;
		fl_buf_append(&f, h, 4);
		fl_buf_append(&f, e.buf.data, e.buf.len);
		rc |= write_file(dir, "seed-deep", f.data, f.len);
		fl_buf_free(&f);
	}
	fl_frame_enc_free(&e);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--seeds"))
		return write_seeds(argv[2]);
	test_roundtrip();
	test_nesting();
	test_sizes();
	test_types();
	test_truncation();
	test_numbers();
	printf("test_proto: all checks passed\n");
	return 0;
}
