/*
 * flockerfs — control protocol frames: a bounded msgpack decoder and the
 * frame encoder (see include/flocker/proto.h).
 *
 * Decoding takes two passes over the bytes.  The first (scan) allocates
 * nothing: it checks the structure, the depth, every length against the
 * bytes left, and counts values and string bytes.  The second (build) fills
 * one allocation sized from those counts, so memory is bounded by the input's
 * size, whatever a container claims to hold.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "flocker/proto.h"

struct cur {
	const unsigned char *p, *end;
};

struct scan_tot {
	size_t nodes;
	size_t strbytes; /* string and binary bytes plus one NUL each */
};

struct arena {
	struct fl_pv *nodes;
	size_t next, nnodes;
	char *str;
	size_t strpos, strcap;
};

static int take(struct cur *c, size_t n, const unsigned char **out)
{
	if ((size_t)(c->end - c->p) < n)
		return -EBADMSG;
	*out = c->p;
	c->p += n;
	return 0;
}

static uint64_t be(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* One msgpack header: its kind, and n = length, count or the scalar's raw bits. */
enum hkind { H_NIL, H_BOOL, H_UINT, H_INT, H_F32, H_F64, H_STR, H_BIN, H_ARRAY, H_MAP };

struct hdr {
	enum hkind kind;
	uint64_t n;
	bool b;
};

/* A header whose length, count or value is in the w bytes after its tag. */
static int read_sized(struct cur *c, struct hdr *h, enum hkind kind, size_t w)
{
	const unsigned char *q;
	int ret;

	ret = take(c, w, &q);
	if (ret)
		return ret;
	h->kind = kind;
	h->n = be(q, w);
	return 0;
}

/* The tags that hold their value or length in the tag byte itself: 1 if t
 * is one of them (h set), else 0. */
static int read_fixed(unsigned char t, struct hdr *h)
{
	if (t <= 0x7f) {
		h->kind = H_UINT;
		h->n = t;
	} else if (t >= 0xe0) {
		h->kind = H_INT;
		h->n = (uint64_t)(int64_t)(int8_t)t;
	} else if (t <= 0x8f) {
		h->kind = H_MAP;
		h->n = t & 0x0f;
	} else if (t <= 0x9f) {
		h->kind = H_ARRAY;
		h->n = t & 0x0f;
	} else if (t <= 0xbf) {
		h->kind = H_STR;
		h->n = t & 0x1f;
	} else if (t == 0xc0) {
		h->kind = H_NIL;
		h->n = 0;
	} else if (t == 0xc2 || t == 0xc3) {
		h->kind = H_BOOL;
		h->b = t == 0xc3;
		h->n = 0;
	} else {
		return 0;
	}
	return 1;
}

static int read_hdr(struct cur *c, struct hdr *h)
{
	const unsigned char *q;
	unsigned char t;
	int ret;

	ret = take(c, 1, &q);
	if (ret)
		return ret;
	t = q[0];
	h->b = false;
	if (read_fixed(t, h))
		return 0;
	switch (t) {
	case 0xc4:
	case 0xc5:
	case 0xc6:
		return read_sized(c, h, H_BIN, (size_t)1 << (t - 0xc4));
	case 0xca:
	case 0xcb:
		return read_sized(c, h, t == 0xca ? H_F32 : H_F64, t == 0xca ? 4 : 8);
	case 0xcc:
	case 0xcd:
	case 0xce:
	case 0xcf:
		return read_sized(c, h, H_UINT, (size_t)1 << (t - 0xcc));
	case 0xd0:
	case 0xd1:
	case 0xd2:
	case 0xd3: {
		size_t w = (size_t)1 << (t - 0xd0);
		uint64_t raw;

		ret = read_sized(c, h, H_UINT, w);
		if (ret)
			return ret;
		raw = h->n;
		/* sign-extend from w bytes */
		if (w < 8 && (raw >> (w * 8 - 1)) & 1)
			raw |= ~(uint64_t)0 << (w * 8);
		h->kind = (int64_t)raw < 0 ? H_INT : H_UINT;
		h->n = raw;
		return 0;
	}
	case 0xd9:
	case 0xda:
	case 0xdb:
		return read_sized(c, h, H_STR, (size_t)1 << (t - 0xd9));
	case 0xdc:
	case 0xdd:
		return read_sized(c, h, H_ARRAY, t == 0xdc ? 2 : 4);
	case 0xde:
	case 0xdf:
		return read_sized(c, h, H_MAP, t == 0xde ? 2 : 4);
	default:
		/* 0xc1 (never used), ext and fixext */
		return -EBADMSG;
	}
}

static int scan(struct cur *c, unsigned depth, bool is_key, struct scan_tot *t)
{
	struct hdr h;
	const unsigned char *q;
	uint64_t k, kids;
	int ret;

	ret = read_hdr(c, &h);
	if (ret)
		return ret;
	if (++t->nodes > FL_FRAME_NODES_MAX)
		return -E2BIG;
	if (is_key && h.kind != H_STR && h.kind != H_UINT && h.kind != H_INT)
		return -EBADMSG;
	switch (h.kind) {
	case H_STR:
	case H_BIN:
		if (h.n > FL_FRAME_STR_MAX)
			return -E2BIG;
		ret = take(c, (size_t)h.n, &q);
		if (ret)
			return ret;
		t->strbytes += (size_t)h.n + 1;
		return 0;
	case H_ARRAY:
	case H_MAP:
		if (depth + 1 > FL_FRAME_DEPTH_MAX)
			return -ELOOP;
		kids = h.kind == H_MAP ? h.n * 2 : h.n;
		if (h.n > FL_FRAME_NODES_MAX || kids > FL_FRAME_NODES_MAX - t->nodes)
			return -E2BIG;
		/* every value takes at least one byte */
		if (kids > (uint64_t)(c->end - c->p))
			return -EBADMSG;
		for (k = 0; k < kids; k++) {
			ret = scan(c, depth + 1, h.kind == H_MAP && k % 2 == 0, t);
			if (ret)
				return ret;
		}
		return 0;
	default:
		return 0;
	}
}

static struct fl_pv *reserve(struct arena *a, size_t n)
{
	struct fl_pv *p;

	/* cannot fail after a successful scan; checked anyway */
	if (n > a->nnodes - a->next)
		return NULL;
	p = a->nodes + a->next;
	a->next += n;
	return p;
}

static int build(struct cur *c, struct arena *a, struct fl_pv *out)
{
	struct fl_pv *kids;
	struct hdr h;
	const unsigned char *q;
	uint64_t k, nk;
	int ret;

	ret = read_hdr(c, &h);
	if (ret)
		return ret;
	memset(out, 0, sizeof(*out));
	switch (h.kind) {
	case H_NIL:
		out->type = FL_PV_NIL;
		return 0;
	case H_BOOL:
		out->type = FL_PV_BOOL;
		out->v.b = h.b;
		return 0;
	case H_UINT:
		out->type = FL_PV_UINT;
		out->v.u = h.n;
		return 0;
	case H_INT:
		out->type = FL_PV_INT;
		out->v.i = (int64_t)h.n;
		return 0;
	case H_F32: {
		uint32_t bits = (uint32_t)h.n;
		float f;

		memcpy(&f, &bits, sizeof(f));
		out->type = FL_PV_FLOAT;
		out->v.f = f;
		return 0;
	}
	case H_F64:
		out->type = FL_PV_FLOAT;
		memcpy(&out->v.f, &h.n, sizeof(out->v.f));
		return 0;
	case H_STR:
	case H_BIN:
		ret = take(c, (size_t)h.n, &q);
		if (ret)
			return ret;
		if ((size_t)h.n + 1 > a->strcap - a->strpos)
			return -EBADMSG;
		out->type = h.kind == H_STR ? FL_PV_STR : FL_PV_BIN;
		out->n = (uint32_t)h.n;
		memcpy(a->str + a->strpos, q, (size_t)h.n);
		a->str[a->strpos + h.n] = '\0';
		out->v.s = a->str + a->strpos;
		a->strpos += (size_t)h.n + 1;
		return 0;
	case H_ARRAY:
	case H_MAP:
		nk = h.kind == H_MAP ? h.n * 2 : h.n;
		kids = reserve(a, (size_t)nk);
		if (!kids)
			return -EBADMSG;
		out->type = h.kind == H_MAP ? FL_PV_MAP : FL_PV_ARRAY;
		out->n = (uint32_t)h.n;
		out->v.kids = kids;
		for (k = 0; k < nk; k++) {
			ret = build(c, a, &kids[k]);
			if (ret)
				return ret;
		}
		return 0;
	}
	return -EBADMSG;
}

int fl_pv_decode(const void *p, size_t len, const struct fl_pv **out, void **mem)
{
	struct scan_tot t = {0, 0};
	struct cur c = {p, (const unsigned char *)p + len};
	struct arena a = {0};
	void *m = NULL;
	int ret;

	*out = NULL;
	*mem = NULL;
	if (len > FL_FRAME_MAX)
		return -EMSGSIZE;
	if (len == 0)
		return -EBADMSG;
	ret = scan(&c, 0, false, &t);
	if (ret)
		goto out;
	if (c.p != c.end) {
		ret = -EBADMSG; /* trailing bytes */
		goto out;
	}
	m = malloc(t.nodes * sizeof(struct fl_pv) + t.strbytes + 1);
	if (!m) {
		ret = -ENOMEM;
		goto out;
	}
	a.nodes = m;
	a.nnodes = t.nodes;
	a.str = (char *)m + t.nodes * sizeof(struct fl_pv);
	a.strcap = t.strbytes + 1;
	c.p = p;
	a.next = 1;
	ret = build(&c, &a, &a.nodes[0]);
	if (ret)
		goto out;
	*out = &a.nodes[0];
	*mem = m;
	m = NULL;
out:
	free(m);
	return ret;
}

static const struct fl_pv empty_map = {.type = FL_PV_MAP, .n = 0, .v.kids = NULL};

bool fl_frame_type_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > FL_FRAME_TYPE_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
		      ch == '.'))
			return false;
	}
	return true;
}

int fl_msg_decode(const void *p, size_t len, struct fl_msg *m)
{
	const struct fl_pv *root = NULL, *type, *id, *body;
	void *mem = NULL;
	int ret;

	memset(m, 0, sizeof(*m));
	ret = fl_pv_decode(p, len, &root, &mem);
	if (ret)
		goto out;
	ret = -EBADMSG;
	if (root->type != FL_PV_MAP)
		goto out;
	type = fl_pv_get(root, "type");
	id = fl_pv_get(root, "id");
	body = fl_pv_get(root, "body");
	if (!type || type->type != FL_PV_STR || !fl_frame_type_valid(type->v.s, type->n))
		goto out;
	if (!id || id->type != FL_PV_UINT)
		goto out;
	if (body && body->type == FL_PV_NIL)
		body = NULL;
	if (body && body->type != FL_PV_MAP)
		goto out;
	memcpy(m->type, type->v.s, type->n);
	m->type[type->n] = '\0';
	m->id = id->v.u;
	m->body = body ? body : &empty_map;
	m->mem = mem;
	mem = NULL;
	ret = 0;
out:
	free(mem);
	return ret;
}

void fl_msg_free(struct fl_msg *m)
{
	if (!m)
		return;
	free(m->mem);
	memset(m, 0, sizeof(*m));
}

int fl_frame_check(const void *p, size_t avail, size_t *total)
{
	const unsigned char *b = p;
	uint32_t len;

	if (avail < FL_FRAME_HDR)
		return 1;
	len = (uint32_t)be(b, 4);
	if (len > FL_FRAME_MAX)
		return -EMSGSIZE;
	if (avail < FL_FRAME_HDR + (size_t)len)
		return 1;
	*total = FL_FRAME_HDR + (size_t)len;
	return 0;
}

int fl_frame_read(struct evbuffer *in, int (*on_msg)(void *arg, struct fl_msg *m), void *arg)
{
	struct fl_msg m;
	size_t avail, total;
	unsigned char *p;
	int ret;

	for (;;) {
		avail = evbuffer_get_length(in);
		if (avail < FL_FRAME_HDR)
			return 0;
		p = evbuffer_pullup(in, FL_FRAME_HDR);
		ret = fl_frame_check(p, avail, &total);
		if (ret == 1)
			return 0;
		if (ret < 0)
			return ret;
		p = evbuffer_pullup(in, (ssize_t)total);
		if (!p)
			return -ENOMEM;
		ret = fl_msg_decode(p + FL_FRAME_HDR, total - FL_FRAME_HDR, &m);
		evbuffer_drain(in, total);
		if (ret)
			return ret;
		ret = on_msg(arg, &m);
		fl_msg_free(&m);
		if (ret)
			return 0;
	}
}

/* --- accessors --- */

const struct fl_pv *fl_pv_get(const struct fl_pv *map, const char *key)
{
	size_t klen, i;

	if (!map || map->type != FL_PV_MAP)
		return NULL;
	klen = strlen(key);
	for (i = 0; i < map->n; i++) {
		const struct fl_pv *k = &map->v.kids[2 * i];

		if (k->type == FL_PV_STR && k->n == klen && !memcmp(k->v.s, key, klen))
			return &map->v.kids[2 * i + 1];
	}
	return NULL;
}

const struct fl_pv *fl_pv_geti(const struct fl_pv *map, uint64_t key)
{
	size_t i;

	if (!map || map->type != FL_PV_MAP)
		return NULL;
	for (i = 0; i < map->n; i++) {
		const struct fl_pv *k = &map->v.kids[2 * i];

		if (k->type == FL_PV_UINT && k->v.u == key)
			return &map->v.kids[2 * i + 1];
	}
	return NULL;
}

const char *fl_pv_str(const struct fl_pv *v)
{
	return v && v->type == FL_PV_STR ? v->v.s : NULL;
}

const char *fl_pv_get_str(const struct fl_pv *map, const char *key)
{
	const char *s = fl_pv_str(fl_pv_get(map, key));

	return s ? s : "";
}

int fl_pv_u64(const struct fl_pv *v, uint64_t *out)
{
	if (!v || v->type != FL_PV_UINT)
		return -EINVAL;
	*out = v->v.u;
	return 0;
}

int fl_pv_i64(const struct fl_pv *v, int64_t *out)
{
	if (!v)
		return -EINVAL;
	if (v->type == FL_PV_INT) {
		*out = v->v.i;
		return 0;
	}
	if (v->type == FL_PV_UINT) {
		if (v->v.u > INT64_MAX)
			return -ERANGE;
		*out = (int64_t)v->v.u;
		return 0;
	}
	return -EINVAL;
}

int fl_pv_get_u64(const struct fl_pv *map, const char *key, uint64_t dflt, uint64_t *out)
{
	const struct fl_pv *v = fl_pv_get(map, key);

	if (!v || v->type == FL_PV_NIL) {
		*out = dflt;
		return 0;
	}
	return fl_pv_u64(v, out);
}

bool fl_pv_get_bool(const struct fl_pv *map, const char *key, bool dflt)
{
	const struct fl_pv *v = fl_pv_get(map, key);

	return v && v->type == FL_PV_BOOL ? v->v.b : dflt;
}

/* --- encoding --- */

static int enc_write(void *data, const char *buf, size_t len)
{
	struct fl_frame_enc *e = data;
	int ret;

	if (e->err)
		return e->err;
	ret = fl_buf_append(&e->buf, buf, len);
	if (ret)
		e->err = ret == -E2BIG ? -EMSGSIZE : ret;
	return e->err;
}

void fl_pk_init(struct fl_frame_enc *e, size_t max)
{
	fl_buf_init(&e->buf, max);
	msgpack_packer_init(&e->pk, e, enc_write);
	e->start = 0;
	e->err = 0;
}

void fl_frame_enc_init(struct fl_frame_enc *e)
{
	fl_pk_init(e, FL_FRAME_HDR + FL_FRAME_MAX);
}

void fl_frame_enc_free(struct fl_frame_enc *e)
{
	fl_buf_free(&e->buf);
	e->err = 0;
}

void fl_pk_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

void fl_pk_kv_str(msgpack_packer *pk, const char *key, const char *val)
{
	fl_pk_str(pk, key);
	fl_pk_str(pk, val ? val : "");
}

void fl_pk_kv_u64(msgpack_packer *pk, const char *key, uint64_t val)
{
	fl_pk_str(pk, key);
	msgpack_pack_uint64(pk, val);
}

void fl_pk_kv_i64(msgpack_packer *pk, const char *key, int64_t val)
{
	fl_pk_str(pk, key);
	msgpack_pack_int64(pk, val);
}

void fl_pk_kv_bool(msgpack_packer *pk, const char *key, bool val)
{
	fl_pk_str(pk, key);
	if (val)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

int fl_frame_begin(struct fl_frame_enc *e, const char *type, uint64_t id, uint32_t body_n)
{
	static const char zero[FL_FRAME_HDR];

	if (!fl_frame_type_valid(type, strlen(type)))
		return -EINVAL;
	e->start = e->buf.len;
	if (enc_write(e, zero, sizeof(zero)))
		return e->err;
	msgpack_pack_map(&e->pk, 3);
	fl_pk_kv_str(&e->pk, "type", type);
	fl_pk_kv_u64(&e->pk, "id", id);
	fl_pk_str(&e->pk, "body");
	msgpack_pack_map(&e->pk, body_n);
	return e->err;
}

int fl_frame_end(struct fl_frame_enc *e)
{
	size_t plen;
	unsigned char *h;

	if (e->err)
		return e->err;
	plen = e->buf.len - e->start - FL_FRAME_HDR;
	if (plen > FL_FRAME_MAX)
		return -EMSGSIZE;
	h = (unsigned char *)e->buf.data + e->start;
	h[0] = (unsigned char)(plen >> 24);
	h[1] = (unsigned char)(plen >> 16);
	h[2] = (unsigned char)(plen >> 8);
	h[3] = (unsigned char)plen;
	return 0;
}

int fl_pv_pack(msgpack_packer *pk, const struct fl_pv *v)
{
	uint32_t k, nk;
	int ret;

	switch (v->type) {
	case FL_PV_NIL:
		return msgpack_pack_nil(pk);
	case FL_PV_BOOL:
		return v->v.b ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	case FL_PV_INT:
		return msgpack_pack_int64(pk, v->v.i);
	case FL_PV_UINT:
		return msgpack_pack_uint64(pk, v->v.u);
	case FL_PV_FLOAT:
		return msgpack_pack_double(pk, v->v.f);
	case FL_PV_STR:
		ret = msgpack_pack_str(pk, v->n);
		return ret ? ret : msgpack_pack_str_body(pk, v->v.s, v->n);
	case FL_PV_BIN:
		ret = msgpack_pack_bin(pk, v->n);
		return ret ? ret : msgpack_pack_bin_body(pk, v->v.s, v->n);
	case FL_PV_ARRAY:
	case FL_PV_MAP:
		if (v->type == FL_PV_MAP) {
			ret = msgpack_pack_map(pk, v->n);
			nk = v->n * 2;
		} else {
			ret = msgpack_pack_array(pk, v->n);
			nk = v->n;
		}
		for (k = 0; !ret && k < nk; k++)
			ret = fl_pv_pack(pk, &v->v.kids[k]);
		return ret;
	}
	return -EINVAL;
}

bool fl_pv_equal(const struct fl_pv *a, const struct fl_pv *b)
{
	uint32_t k, nk;

	if (a->type != b->type)
		return false;
	switch (a->type) {
	case FL_PV_NIL:
		return true;
	case FL_PV_BOOL:
		return a->v.b == b->v.b;
	case FL_PV_INT:
		return a->v.i == b->v.i;
	case FL_PV_UINT:
		return a->v.u == b->v.u;
	case FL_PV_FLOAT:
		return !memcmp(&a->v.f, &b->v.f, sizeof(a->v.f)) ||
		       (a->v.f != a->v.f && b->v.f != b->v.f);
	case FL_PV_STR:
	case FL_PV_BIN:
		return a->n == b->n && !memcmp(a->v.s, b->v.s, a->n);
	case FL_PV_ARRAY:
	case FL_PV_MAP:
		if (a->n != b->n)
			return false;
		nk = a->type == FL_PV_MAP ? a->n * 2 : a->n;
		for (k = 0; k < nk; k++)
			if (!fl_pv_equal(&a->v.kids[k], &b->v.kids[k]))
				return false;
		return true;
	}
	return false;
}
