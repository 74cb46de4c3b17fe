/* libFuzzer harness: fl_jtxn_decode, with an encode/decode round trip. */
#include <errno.h>
#include <stdio.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_jtxn_roundtrip(data, size);
	return 0;
}
