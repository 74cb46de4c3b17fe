/*
 * flockerfs unit tests — CHECK(cond, fmt, ...): counts a pass, or counts a
 * failure and prints where, the condition and the message.  The test
 * prints passed and failed at the end.
 */
#ifndef FLOCKER_UNIT_CHECK_H
#define FLOCKER_UNIT_CHECK_H

#include <stdio.h>

static int passed, failed;

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
