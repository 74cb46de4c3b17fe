/* libFuzzer harness: fl_volreg_decode, with an encode/decode round trip. */
#include "fuzz.h"

FUZZ_RECORD_HARNESS(struct fl_volreg_rec, fl_volreg, rec_eq_volreg)
