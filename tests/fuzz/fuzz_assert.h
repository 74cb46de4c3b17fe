/*
 * flockerfs fuzz harnesses — what every harness shares, the record codecs'
 * (fuzz.h) and the others' (tests/control, tests/docker): the entry point
 * libFuzzer calls, and the check that abort()s so the fuzzer reports the input.
 */
#ifndef FLOCKER_FUZZ_ASSERT_H
#define FLOCKER_FUZZ_ASSERT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* abort() with a note: the fuzzer reports the input. */
#define FUZZ_ASSERT(cond)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", #cond, __FILE__,        \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
