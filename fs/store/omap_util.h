/*
 * flockerfs — object, omap and address helpers the stores and their users share.
 */
#ifndef FLOCKER_OMAP_UTIL_H
#define FLOCKER_OMAP_UTIL_H

#include <stddef.h>
#include <stdint.h>

struct fl_store;

/*
 * keys sorted byte-wise (strcmp, RADOS's order), each once, as an omap get
 * answers them: a new array (free it) of *m pointers borrowed from keys,
 * with room for at least one; NULL without memory.
 */
const char **fl_keys_sorted_unique(const char *const *keys, size_t n, size_t *m);

/*
 * The value of key in the omap of oid: a copy in *val (free it) of *len
 * bytes.  0, -ENOENT when the object or the key is missing, or another
 * negative errno.
 */
int fl_omap_get1(struct fl_store *st, const char *oid, const char *key, void **val, size_t *len);

/*
 * Reads object oid of st whole: a new buffer in *data (free it; NULL on
 * failure) of *len bytes.  0, -EIO when it is larger than max bytes, -ENOENT
 * when it does not exist, or another negative errno.
 */
int fl_obj_read_all(struct fl_store *st, const char *oid, uint64_t max, char **data, size_t *len);

/*
 * The first address of a Ceph address vector "[v2:a,v1:b]" or of "v1:a",
 * without its type ("v1:", "v2:", "any:"): *start points at it in in, and the
 * length is returned.
 */
size_t fl_ceph_addr_first(const char *in, const char **start);

#endif
