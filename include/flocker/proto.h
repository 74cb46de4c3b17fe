/*
 * flockerfs — the control protocol's frames (flocker-control <-> flocker-agent).
 *
 * On the wire (inside TLS 1.3) a frame is
 *
 *   u32 length (big endian) | msgpack map {"type": str, "id": uint, "body": map}
 *
 * type names the message ("hello", "heartbeat", "acquire", "unmount", "reply",
 * ...; 1..FL_FRAME_TYPE_MAX bytes of [a-z0-9_.]), id pairs a reply with its
 * request (each side numbers its own requests; a "reply" carries the id of
 * the request it answers), body is a map (nil reads as an empty map).
 * Unknown keys of the frame map are skipped.  Both sides may send requests:
 * the agent asks (acquire, release, ...), control pushes (unmount).
 *
 * The decoder is bounded: a payload over FL_FRAME_MAX bytes, nesting deeper
 * than FL_FRAME_DEPTH_MAX, more than FL_FRAME_NODES_MAX values, a string over
 * FL_FRAME_STR_MAX bytes, ext types, non-scalar map keys, trailing bytes or a
 * truncated value are refused before anything is allocated for them.
 * Errors (exact errnos, tested):
 *   -EMSGSIZE  length prefix or payload over FL_FRAME_MAX
 *   -ELOOP     nesting deeper than FL_FRAME_DEPTH_MAX
 *   -E2BIG     more than FL_FRAME_NODES_MAX values, or a string over FL_FRAME_STR_MAX
 *   -EBADMSG   anything else malformed: truncated, garbage, trailing bytes, wrong types
 *   -ENOMEM    out of memory
 *
 * Decoded values (struct fl_pv) live in one allocation owned by the message:
 * every pointer into a message is valid until fl_msg_free.  Strings are
 * NUL-terminated copies (they may also contain NULs: use n for the length).
 */
#ifndef FLOCKER_PROTO_H
#define FLOCKER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "flocker/buf.h"

#define FL_FRAME_HDR	   4
#define FL_FRAME_MAX	   (4u << 20) /* payload bytes */
#define FL_FRAME_DEPTH_MAX 8	      /* the frame map is depth 1, its body depth 2 */
#define FL_FRAME_NODES_MAX 65536      /* values in one frame, keys included */
#define FL_FRAME_STR_MAX   65536      /* one string or binary */
#define FL_FRAME_TYPE_MAX  32

/* Default ports of flocker-control. */
#define FL_API_PORT   4523
#define FL_AGENT_PORT 4524

enum fl_pv_type {
	FL_PV_NIL = 0,
	FL_PV_BOOL,
	FL_PV_INT, /* negative integers only: non-negative ones decode as FL_PV_UINT */
	FL_PV_UINT,
	FL_PV_FLOAT,
	FL_PV_STR,
	FL_PV_BIN,
	FL_PV_ARRAY,
	FL_PV_MAP,
};

/* One decoded value.  Maps hold 2*n kids: key, value, key, value, ... */
struct fl_pv {
	enum fl_pv_type type;
	uint32_t n; /* STR/BIN: bytes; ARRAY: elements; MAP: pairs */
	union {
		bool b;
		int64_t i;
		uint64_t u;
		double f;
		const char *s; /* STR and BIN, NUL-terminated */
		const struct fl_pv *kids;
	} v;
};

struct fl_msg {
	char type[FL_FRAME_TYPE_MAX + 1];
	uint64_t id;
	const struct fl_pv *body; /* always a MAP (possibly empty) */
	void *mem;		  /* owned: nodes and strings */
};

/*
 * Stream framing: looks at the avail bytes received so far.  Returns 0 and
 * sets *total to the whole frame's size (header included) when a complete
 * frame is there, 1 when more bytes are needed, -EMSGSIZE when the announced
 * length is over FL_FRAME_MAX (the connection should be closed).
 */
int fl_frame_check(const void *p, size_t avail, size_t *total);

/* Decodes one frame payload (without the 4-byte header).  On failure *m is zeroed. */
int fl_msg_decode(const void *p, size_t len, struct fl_msg *m);

struct evbuffer;
/*
 * Reads the whole frames waiting in a connection's input, one at a time:
 * on_msg gets each decoded message (freed when it returns) and returns
 * nonzero to stop reading (it closed the connection).  Returns 0 once the
 * next frame is not all there or on_msg stopped; -EMSGSIZE for a frame over
 * FL_FRAME_MAX, -ENOMEM, or the decoder's error for a frame it cannot read
 * (drained): the caller closes the connection.
 */
int fl_frame_read(struct evbuffer *in, int (*on_msg)(void *arg, struct fl_msg *m), void *arg);
/* Decodes any single bounded msgpack value (records kept in RADOS); *mem must be freed. */
int fl_pv_decode(const void *p, size_t len, const struct fl_pv **out, void **mem);
void fl_msg_free(struct fl_msg *m);

/* Accessors: NULL or an error for a missing key or a wrong type. */
const struct fl_pv *fl_pv_get(const struct fl_pv *map, const char *key);
const struct fl_pv *fl_pv_geti(const struct fl_pv *map, uint64_t key);
const char *fl_pv_str(const struct fl_pv *v); /* NULL unless STR */
/* "" when the key is missing or not a string; never NULL. */
const char *fl_pv_get_str(const struct fl_pv *map, const char *key);
int fl_pv_u64(const struct fl_pv *v, uint64_t *out); /* 0 or -EINVAL */
int fl_pv_i64(const struct fl_pv *v, int64_t *out);  /* 0 or -EINVAL (or -ERANGE) */
/* dflt when missing; -EINVAL on a wrong type. */
int fl_pv_get_u64(const struct fl_pv *map, const char *key, uint64_t dflt, uint64_t *out);
bool fl_pv_get_bool(const struct fl_pv *map, const char *key, bool dflt);

/*
 * Encoding: fl_frame_begin starts a frame in e (header placeholder, frame map,
 * type, id, and a body map of body_n pairs); the caller packs exactly body_n
 * pairs with e->pk (msgpack_pack_* or the helpers below); fl_frame_end patches
 * the length and returns 0, -EMSGSIZE if the payload is over FL_FRAME_MAX, or
 * the first packing error.  e->buf holds the frame; free it with fl_frame_enc_free.
 */
struct fl_frame_enc {
	struct fl_buf buf;
	msgpack_packer pk;
	size_t start; /* offset of this frame's header in buf */
	int err;      /* first error of a write into buf */
};

void fl_frame_enc_init(struct fl_frame_enc *e);
void fl_frame_enc_free(struct fl_frame_enc *e);
int fl_frame_begin(struct fl_frame_enc *e, const char *type, uint64_t id, uint32_t body_n);
int fl_frame_end(struct fl_frame_enc *e);

/* A plain msgpack encoder into a capped buffer (records kept in RADOS). */
void fl_pk_init(struct fl_frame_enc *e, size_t max);

void fl_pk_str(msgpack_packer *pk, const char *s);
void fl_pk_kv_str(msgpack_packer *pk, const char *key, const char *val);
void fl_pk_kv_u64(msgpack_packer *pk, const char *key, uint64_t val);
void fl_pk_kv_i64(msgpack_packer *pk, const char *key, int64_t val);
void fl_pk_kv_bool(msgpack_packer *pk, const char *key, bool val);

/* Packs a decoded value again (canonical msgpack); 0 or -EINVAL for a bad tree. */
int fl_pv_pack(msgpack_packer *pk, const struct fl_pv *v);
/* Structural equality of two decoded values. */
bool fl_pv_equal(const struct fl_pv *a, const struct fl_pv *b);

/* Validity of a message type name. */
bool fl_frame_type_valid(const char *s, size_t len);

#endif
