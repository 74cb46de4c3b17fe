/*
 * flockerfs — uuids (libuuid), always in the lowercase 8-4-4-4-12 form: the
 * only form flockerfs writes, and the only one its decoders accept.
 */
#ifndef FLOCKER_UUID_H
#define FLOCKER_UUID_H

#include <stdbool.h>
#include <stddef.h>

#define FL_UUID_LEN 36 /* without the NUL */

/* A new random (version 4) uuid in out (FL_UUID_LEN + 1 bytes). */
void fl_uuid_new(char *out);
/* Is s[0..len) a uuid in the lowercase form?  s need not be NUL-terminated. */
bool fl_uuid_valid_n(const char *s, size_t len);
/* The same for a NUL-terminated string. */
bool fl_uuid_valid(const char *s);

#endif
