/* libFuzzer harness: fl_parent_decode, with an encode/decode round trip. */
#include "fuzz.h"

FUZZ_RECORD_HARNESS(struct fl_parent_rec, fl_parent, rec_eq_parent)
