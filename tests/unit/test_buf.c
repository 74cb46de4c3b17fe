/*
 * flockerfs — unit tests for struct fl_buf (fs/util/buf.c): the hard cap, the
 * unchanged-on-failure promise, growth and printf.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flocker/buf.h"
#include "tests/check.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* The buffer's visible state, to check that failures change nothing. */
struct snap {
	char *data;
	size_t len, cap;
	char bytes[64];
};

static void take(struct snap *s, const struct fl_buf *b)
{
	s->data = b->data;
	s->len = b->len;
	s->cap = b->cap;
	memset(s->bytes, 0, sizeof(s->bytes));
	if (b->data)
		memcpy(s->bytes, b->data, b->len < sizeof(s->bytes) ? b->len : sizeof(s->bytes));
}

static int same(const struct snap *s, const struct fl_buf *b)
{
	struct snap now;

	take(&now, b);
	return now.data == s->data && now.len == s->len && now.cap == s->cap &&
	       memcmp(now.bytes, s->bytes, sizeof(s->bytes)) == 0;
}

static void test_cap(void)
{
	struct fl_buf b;
	struct snap s;

	fl_buf_init(&b, 10);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0 && b.max == 10);
	CHECK_RC(fl_buf_append(&b, "", 0), 0);
	CHECK_RC(fl_buf_append(&b, NULL, 0), 0);
	CHECK_RC(fl_buf_append(&b, "0123456", 7), 0);
	CHECK(b.len == 7 && memcmp(b.data, "0123456", 7) == 0);
	take(&s, &b);
	CHECK_RC(fl_buf_append(&b, "abcd", 4), -E2BIG);
	CHECK(same(&s, &b));
	CHECK_RC(fl_buf_append(&b, "abc", 3), 0); /* exactly the cap */
	CHECK(b.len == 10 && memcmp(b.data, "0123456abc", 10) == 0);
	CHECK(b.data[10] == '\0');
	take(&s, &b);
	CHECK_RC(fl_buf_append(&b, "x", 1), -E2BIG);
	CHECK(same(&s, &b));
	CHECK_RC(fl_buf_append(&b, "", 0), 0);
	CHECK_RC(fl_buf_printf(&b, "%s", ""), 0);
	CHECK_RC(fl_buf_printf(&b, "%d", 1), -E2BIG);
	CHECK(same(&s, &b));
	CHECK_RC(fl_buf_append(&b, "x", SIZE_MAX), -E2BIG); /* no overflow in the check */
	CHECK(same(&s, &b));
	fl_buf_free(&b);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0 && b.max == 10);

	/* A zero cap refuses everything but nothing. */
	fl_buf_init(&b, 0);
	CHECK_RC(fl_buf_append(&b, "a", 1), -E2BIG);
	CHECK(b.data == NULL && b.len == 0);
	CHECK_RC(fl_buf_printf(&b, "a"), -E2BIG);
	CHECK_RC(fl_buf_printf(&b, "%s", ""), 0);
	CHECK(b.len == 0);
	fl_buf_free(&b);
}

static void test_growth(void)
{
	struct fl_buf b;
	size_t k, changes = 0, last_cap = 0;
	char *expect;

	fl_buf_init(&b, 1 << 20);
	expect = malloc(1 << 20);
	CHECK(expect != NULL);
	for (k = 0; k < (1 << 20); k++) {
		char c = (char)('a' + k % 26);

		expect[k] = c;
		if (fl_buf_append(&b, &c, 1) != 0) {
			CHECK(0);
			break;
		}
		if (b.cap != last_cap) {
			changes++;
			last_cap = b.cap;
		}
	}
	CHECK(b.len == 1 << 20 && memcmp(b.data, expect, b.len) == 0);
	CHECK(changes <= 20);	       /* geometric growth: about log2(1M / 64) */
	CHECK(b.cap <= (1 << 20) + 1); /* never far beyond the cap */
	CHECK_RC(fl_buf_append(&b, "z", 1), -E2BIG);

	/* reset keeps the memory. */
	{
		char *data = b.data;
		size_t cap = b.cap;

		fl_buf_reset(&b);
		CHECK(b.len == 0 && b.data == data && b.cap == cap && b.data[0] == '\0');
		CHECK_RC(fl_buf_append(&b, "again", 5), 0);
		CHECK(b.data == data && strcmp(b.data, "again") == 0);
	}
	fl_buf_free(&b);
	fl_buf_free(&b); /* twice is harmless */
	free(expect);
}

static void test_printf(void)
{
	struct fl_buf b;
	struct snap s;
	char big[1000];

	fl_buf_init(&b, 100);
	CHECK_RC(fl_buf_printf(&b, "%s-%d", "vol", 7), 0);
	CHECK(b.len == 5 && strcmp(b.data, "vol-7") == 0);
	CHECK_RC(fl_buf_printf(&b, "/%05x", 0xab), 0);
	CHECK(strcmp(b.data, "vol-7/000ab") == 0 && b.len == 11);
	/* Larger than what is allocated so far: the second vsnprintf pass. */
	memset(big, 'q', 80);
	big[80] = '\0';
	CHECK_RC(fl_buf_printf(&b, "%s", big), 0);
	CHECK(b.len == 91 && b.data[91] == '\0' && b.data[90] == 'q');
	take(&s, &b);
	CHECK_RC(fl_buf_printf(&b, "%s", "0123456789"), -E2BIG); /* 101 > 100 */
	CHECK(same(&s, &b) && b.data[b.len] == '\0');
	CHECK_RC(fl_buf_printf(&b, "%s", "012345678"), 0); /* exactly 100 */
	CHECK(b.len == 100 && b.data[100] == '\0');
	fl_buf_free(&b);

	/* Fits in the allocation but not under the cap. */
	fl_buf_init(&b, 70);
	CHECK_RC(fl_buf_append(&b, "abc", 3), 0);
	CHECK(b.cap >= 64);
	take(&s, &b);
	memset(big, 'r', 68);
	big[68] = '\0';
	CHECK_RC(fl_buf_printf(&b, "%s", big), -E2BIG);
	CHECK(same(&s, &b) && b.data[3] == '\0');
	big[67] = '\0';
	CHECK_RC(fl_buf_printf(&b, "%s", big), 0);
	CHECK(b.len == 70);
	fl_buf_free(&b);
}

static void test_nomem(void)
{
#ifndef UNDER_ASAN
	struct fl_buf b;
	struct snap s;

	fl_buf_init(&b, SIZE_MAX);
	CHECK_RC(fl_buf_append(&b, "abc", 3), 0);
	take(&s, &b);
	/* realloc of ~8 EiB fails before the source is touched. */
	CHECK_RC(fl_buf_append(&b, "x", SIZE_MAX / 2), -ENOMEM);
	CHECK(same(&s, &b));
	CHECK_RC(fl_buf_append(&b, "x", SIZE_MAX - 3), -ENOMEM); /* no room for the NUL */
	CHECK(same(&s, &b));
	fl_buf_free(&b);
#else
	printf("test_buf: -ENOMEM case skipped under AddressSanitizer\n");
#endif
}

int main(void)
{
	test_cap();
	test_growth();
	test_printf();
	test_nomem();
	return check_report("test_buf");
}
