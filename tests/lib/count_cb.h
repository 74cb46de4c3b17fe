/*
 * flockerfs tests — callbacks of the store's listing calls that only count.
 */
#ifndef FLOCKER_TESTS_LIB_COUNT_CB_H
#define FLOCKER_TESTS_LIB_COUNT_CB_H

#include <stddef.h>

/* For omap_get and omap_list: one more record in *(int *)arg. */
static inline int count_kv_cb(void *arg, const char *key, const void *val, size_t len)
{
	(void)key;
	(void)val;
	(void)len;
	++*(int *)arg;
	return 0;
}

/* For list_objects: one more object in *(int *)arg. */
static inline int count_oid_cb(void *arg, const char *oid)
{
	(void)oid;
	++*(int *)arg;
	return 0;
}

#endif
