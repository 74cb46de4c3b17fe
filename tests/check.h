/*
 * flockerfs — the checks of the C test programs.
 *
 * Unlike assert() they check in every build type (NDEBUG or not).  A failed
 * check prints where and what, then runs CHECK_ON_FAILURE(): by default it
 * counts in check_failures (per translation unit) and the test goes on; a
 * test whose later steps cannot run after a failure defines
 * CHECK_ON_FAILURE() as abort() (and its own cleanup) before including this.
 * main ends with `return check_report("test_x");`.  A test program of
 * several files defines CHECK_SHARED_COUNT before including this in each
 * of them, and CHECK_DEFINE_COUNT() in the file of main: one count for all.
 */
#ifndef FLOCKER_TESTS_CHECK_H
#define FLOCKER_TESTS_CHECK_H

#include <stdio.h>
#include <string.h>

#ifdef CHECK_SHARED_COUNT
extern int check_failures;
#define CHECK_DEFINE_COUNT() int check_failures
#else
static int check_failures;
#endif

#ifndef CHECK_ON_FAILURE
#define CHECK_ON_FAILURE() (check_failures++)
#endif

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			CHECK_ON_FAILURE();                                                        \
		}                                                                                  \
	} while (0)

/* Integers (and errno returns) compared as long long. */
#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ != b_) {                                                                    \
			fprintf(stderr, "%s:%d: %s is %lld, expected %s (%lld)\n", __FILE__,       \
				__LINE__, #a, a_, #b, b_);                                         \
			CHECK_ON_FAILURE();                                                        \
		}                                                                                  \
	} while (0)

#define CHECK_RC(expr, want) CHECK_EQ(expr, want)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (strcmp(a_, b_)) {                                                              \
			fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__,        \
				__LINE__, #a, a_, b_);                                             \
			CHECK_ON_FAILURE();                                                        \
		}                                                                                  \
	} while (0)

#define CHECK_PREFIX(s, p)                                                                         \
	do {                                                                                       \
		const char *s_ = (s), *p_ = (p);                                                   \
		if (strncmp(s_, p_, strlen(p_))) {                                                 \
			fprintf(stderr, "%s:%d: %s is \"%s\", expected to start with \"%s\"\n",    \
				__FILE__, __LINE__, #s, s_, p_);                                   \
			CHECK_ON_FAILURE();                                                        \
		}                                                                                  \
	} while (0)

/* main's exit status: 0, or 1 after saying how many checks failed. */
static inline int check_report(const char *test)
{
	if (check_failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", test, check_failures);
		return 1;
	}
	printf("%s: all checks passed\n", test);
	return 0;
}

#endif
