/* libFuzzer harness: fl_dirent_decode, with an encode/decode round trip. */
#include "fuzz.h"

FUZZ_RECORD_HARNESS(struct fl_dirent_rec, fl_dirent, rec_eq_dirent)
