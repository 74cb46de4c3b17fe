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

/* Parses p[0..len) into u (bounded, see record.c); the root must be a map of at
 * most max bytes.  Always destroy u. */
int dec_open(msgpack_unpacked *u, const void *p, size_t len, size_t max,
	     const msgpack_object **root);
/* Picks keys 0..nkeys-1 of map o into f[] (NULL: absent); a key twice is -EIO. */
int dec_fields(const msgpack_object *o, const msgpack_object **f, unsigned nkeys);
int get_u64(const msgpack_object *o, uint64_t max, uint64_t *v);
int get_i64(const msgpack_object *o, int64_t *v);
/* A str whose length is in [min, max]; points into the input. */
int get_str(const msgpack_object *o, size_t min, size_t max, const char **s, size_t *len);
int get_version(const msgpack_object *o, uint32_t *v);

#endif
