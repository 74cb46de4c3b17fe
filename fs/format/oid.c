/*
 * flockerfs — the names of the objects of a volume (see FORMAT.md).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "flocker/record.h"

/* ------------------------------------------------------------------ */
/* Object names. */

void fl_oid_dir(char out[FL_OID_LEN], uint64_t ino)
{
	snprintf(out, FL_OID_LEN, "dir.%016" PRIx64, ino);
}

void fl_oid_itab(char out[FL_OID_LEN], uint64_t shard)
{
	snprintf(out, FL_OID_LEN, "itab.%08" PRIx64, shard);
}

void fl_oid_data(char out[FL_OID_LEN], uint64_t ino, uint64_t index)
{
	snprintf(out, FL_OID_LEN, "data.%016" PRIx64 ".%08" PRIx64, ino, index);
}

void fl_oid_jrnl(char out[FL_OID_LEN], uint64_t seq)
{
	snprintf(out, FL_OID_LEN, "jrnl.%016" PRIx64, seq);
}

void fl_ino_key(char out[17], uint64_t ino)
{
	snprintf(out, 17, "%016" PRIx64, ino);
}

/* n lowercase hex digits at s; 0 or -EINVAL. */
static int parse_hex(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	size_t k;

	for (k = 0; k < n; k++) {
		char c = s[k];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return -EINVAL;
		x = x << 4 | d;
	}
	*v = x;
	return 0;
}

/*
 * Exactly what fl_oid_data() prints: "data." 16 hex digits "." then the
 * index in 8 hex digits, or 9..16 digits without a leading zero (%08 is a
 * minimum width: indexes >= 2^32 print wider).
 */
int fl_oid_parse_data(const char *oid, uint64_t *ino, uint64_t *index)
{
	uint64_t i, x;
	size_t n;

	if (!oid || strncmp(oid, "data.", 5) != 0)
		return -EINVAL;
	oid += 5;
	if (strnlen(oid, 17) < 17 || oid[16] != '.' || parse_hex(oid, 16, &i) < 0)
		return -EINVAL;
	oid += 17;
	n = strnlen(oid, 17);
	if (n < 8 || n > 16 || (n > 8 && oid[0] == '0') || parse_hex(oid, n, &x) < 0)
		return -EINVAL;
	*ino = i;
	*index = x;
	return 0;
}
