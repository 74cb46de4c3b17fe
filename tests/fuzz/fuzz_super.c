/* libFuzzer harness: fl_super_decode, with an encode/decode round trip. */
#include "fuzz.h"

FUZZ_RECORD_HARNESS(struct fl_super_rec, fl_super, rec_eq_super)
