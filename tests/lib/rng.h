/*
 * flockerfs tests — the pseudo-random numbers of the test programs: a
 * xorshift64 generator, the same sequence for the same seed everywhere.
 */
#ifndef FLOCKER_TESTS_LIB_RNG_H
#define FLOCKER_TESTS_LIB_RNG_H

#include <stdint.h>

/* The next number of the generator whose state is *s (never 0). */
static inline uint64_t xorshift64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#endif
