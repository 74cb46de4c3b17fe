/*
 * flockerfs unit tests — CHECK(cond, fmt, ...): counts a pass, or counts a
 * failure and prints where, the condition and the message.  The test
 * prints passed and failed at the end.  A test program of several files
 * defines CHECK_SHARED_COUNT before including this in each of them, and
 * CHECK_DEFINE_COUNT() in the file of main: one count for all.
 */
#ifndef FLOCKER_UNIT_CHECK_H
#define FLOCKER_UNIT_CHECK_H

#include <stdio.h>

#ifdef CHECK_SHARED_COUNT
extern int passed, failed;
#define CHECK_DEFINE_COUNT() int passed, failed
#else
static int passed, failed;
#endif

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (cond) {                                                                        \
			passed++;                                                                  \
		} else {                                                                           \
			failed++;                                                                  \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fprintf(stderr, "\n");                                                     \
		}                                                                                  \
	} while (0)

#endif
