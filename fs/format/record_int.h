/*
 * flockerfs — the codec helpers of fs/format/record.c, for the record
 * codecs kept in files of their own (record_snap.c).  See record.c.
 */
#ifndef FLOCKER_RECORD_INT_H
#define FLOCKER_RECORD_INT_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "flocker/buf.h"

/* Key 0 of every record: the format version. */
#define REC_K_VERSION 0

/* Encoding: a msgpack_packer whose sink appends to a capped fl_buf. */
struct enc {
	msgpack_packer pk;
	struct fl_buf *out;
	size_t start; /* out->len when the record began */
	int err;      /* first error; every later write is a no-op */
};

void enc_begin(struct enc *e, struct fl_buf *out);
/* Returns the encoder's result; on failure the buffer is rolled back. */
int enc_end(struct enc *e);
void put_map(struct enc *e, size_t n);
void put_u64(struct enc *e, unsigned key, uint64_t v);
void put_i64(struct enc *e, unsigned key, int64_t v);
void put_str(struct enc *e, unsigned key, const char *s, size_t len);
void put_version(struct enc *e);

/*
 * One record's decoder: its size limit, its keys 0..nkeys-1 (at most
 * DEC_KEYS_MAX; others are skipped, a known key twice is -EIO), where the
 * record keeps the version (key 0, required; -1: checked, not kept), body
 * reading the other fields f[] (NULL where absent) into the zeroed record,
 * release freeing what body allocated (NULL: nothing) when it fails, and the
 * highest version it accepts (0: FL_FORMAT_VERSION).
 */
#define DEC_KEYS_MAX 32
struct dec_spec {
	size_t max;
	unsigned nkeys;
	ptrdiff_t version_at;
	int (*body)(const msgpack_object **f, void *rec);
	void (*release)(void *rec);
	uint32_t version_max;
};

/* Parses p[0..len) (bounded, see record.c; the root must be a map of at most
 * d->max bytes) and decodes it into rec by d.  On failure rec is zeroed. */
int dec_record(const struct dec_spec *d, const void *p, size_t len, void *rec, size_t size);
/* The same for a map inside a record. */
int dec_nested(const struct dec_spec *d, const msgpack_object *o, void *rec, size_t size);

/* int FN(const void *p, size_t len, TYPE *rec): the public decoder of a
 * record whose version is rec->version. */
#define DEC_RECORD(fn, type, max, nkeys, body, release)                                            \
	int fn(const void *p, size_t len, type *rec)                                               \
	{                                                                                          \
		static const struct dec_spec spec = {max,  nkeys,   offsetof(type, version),       \
						     body, release, 0};                            \
		return dec_record(&spec, p, len, rec, sizeof(*rec));                               \
	}
int get_u64(const msgpack_object *o, uint64_t max, uint64_t *v);
int get_i64(const msgpack_object *o, int64_t *v);
/* A str whose length is in [min, max]; points into the input. */
int get_str(const msgpack_object *o, size_t min, size_t max, const char **s, size_t *len);
int get_version(const msgpack_object *o, uint32_t *v);

#endif
