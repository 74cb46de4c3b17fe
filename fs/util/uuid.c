#include "fs/util/uuid.h"

#include <string.h>

#include <uuid/uuid.h>

void fl_uuid_new(char *out)
{
	uuid_t u;

	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}

bool fl_uuid_valid_n(const char *s, size_t len)
{
	char buf[FL_UUID_LEN + 1];
	uuid_t u;
	size_t i;

	if (len != FL_UUID_LEN)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	for (i = 0; i < len; i++)
		if (buf[i] >= 'A' && buf[i] <= 'F')
			return false;
	return uuid_parse(buf, u) == 0;
}

bool fl_uuid_valid(const char *s)
{
	return fl_uuid_valid_n(s, strnlen(s, FL_UUID_LEN + 1));
}
