/*
 * flockerfs — growable byte buffer with a hard size cap (curl's dynbuf habit).
 * A buffer that would pass its cap fails with -E2BIG and keeps what it had.
 */
#ifndef FLOCKER_BUF_H
#define FLOCKER_BUF_H

#include <stddef.h>

struct fl_buf {
	char *data; /* owned; NULL until the first append */
	size_t len;
	size_t cap; /* allocated bytes */
	size_t max; /* hard cap on len */
};

void fl_buf_init(struct fl_buf *b, size_t max);
void fl_buf_free(struct fl_buf *b);  /* frees data, leaves an empty buffer */
void fl_buf_reset(struct fl_buf *b); /* len = 0, keeps memory */
int fl_buf_append(struct fl_buf *b, const void *p, size_t n); /* 0, -E2BIG or -ENOMEM */
/*
 * Room for one more element in the array *arrp (a T **) of *cap elements of
 * elem bytes, n of them used: the array doubles (first elements when empty).
 * 0, or -ENOMEM with the array as it was.
 */
int fl_grow(void *arrp, size_t *cap, size_t n, size_t elem, size_t first);

/* A growing list of strings, each a copy it owns. */
struct fl_strv {
	char **v;
	size_t n, cap;
};
/* Appends a copy of s: 0, or -ENOMEM with the list as it was. */
int fl_strv_add(struct fl_strv *sv, const char *s);
/* Frees the strings and the array: the list is empty again. */
void fl_strv_free(struct fl_strv *sv);
int fl_buf_printf(struct fl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
