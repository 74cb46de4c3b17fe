/*
 * flockerfs — growable byte buffer with a hard size cap.
 *
 * Invariants: len <= max; len < cap whenever data != NULL, and data[len] is
 * always a NUL byte, so text built with fl_buf_printf() can be used as a C
 * string.  A failed append leaves data, len and cap exactly as they were.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flocker/buf.h"

#define FL_BUF_MIN_ALLOC 64

void fl_buf_init(struct fl_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void fl_buf_free(struct fl_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void fl_buf_reset(struct fl_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* Make room for n more bytes plus the terminator; 0, -E2BIG or -ENOMEM. */
static int buf_reserve(struct fl_buf *b, size_t n)
{
	size_t need, ncap;
	char *p;

	if (b->len > b->max || n > b->max - b->len)
		return -E2BIG;
	need = b->len + n;
	if (need == SIZE_MAX)
		return -ENOMEM; /* no room for the terminator */
	need++;
	if (b->data && need <= b->cap)
		return 0;

	ncap = b->cap ? b->cap : FL_BUF_MIN_ALLOC;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	/* Never allocate far beyond what the cap can ever use. */
	if (b->max < SIZE_MAX && ncap > b->max + 1)
		ncap = b->max + 1 > need ? b->max + 1 : need;

	p = realloc(b->data, ncap);
	if (!p)
		return -ENOMEM;
	if (!b->data)
		p[0] = '\0';
	b->data = p;
	b->cap = ncap;
	return 0;
}

int fl_buf_append(struct fl_buf *b, const void *p, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	rc = buf_reserve(b, n);
	if (rc < 0)
		return rc;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int fl_buf_printf(struct fl_buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n, rc;

	room = b->data ? b->cap - b->len : 0;
	va_start(ap, fmt);
	n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		if (b->data)
			b->data[b->len] = '\0';
		return -EINVAL;
	}
	if ((size_t)n < room) {
		/* It fit, but the cap may still forbid it. */
		if ((size_t)n > b->max - b->len) {
			b->data[b->len] = '\0';
			return -E2BIG;
		}
		b->len += (size_t)n;
		return 0;
	}
	/* vsnprintf may have scribbled past len: put the terminator back. */
	if (b->data)
		b->data[b->len] = '\0';
	rc = buf_reserve(b, (size_t)n);
	if (rc < 0)
		return rc;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len) {
		b->data[b->len] = '\0';
		return -EINVAL;
	}
	b->len += (size_t)n;
	return 0;
}

int fl_grow(void *arrp, size_t *cap, size_t n, size_t elem, size_t first)
{
	void *a, *na;
	size_t nc;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : first;
	if (nc <= *cap || nc > SIZE_MAX / elem)
		return -ENOMEM;
	memcpy(&a, arrp, sizeof(a));
	na = realloc(a, nc * elem);
	if (!na)
		return -ENOMEM;
	memcpy(arrp, &na, sizeof(na));
	*cap = nc;
	return 0;
}

int fl_strv_add(struct fl_strv *sv, const char *s)
{
	char *c;

	if (fl_grow(&sv->v, &sv->cap, sv->n, sizeof(*sv->v), 256))
		return -ENOMEM;
	c = strdup(s);
	if (!c)
		return -ENOMEM;
	sv->v[sv->n++] = c;
	return 0;
}

void fl_strv_free(struct fl_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}
