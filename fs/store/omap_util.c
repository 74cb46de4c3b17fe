/*
 * flockerfs — object, omap and address helpers the stores and their users share (omap_util.h).
 */
#include "fs/store/omap_util.h"
#include "flocker/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **fl_keys_sorted_unique(const char *const *keys, size_t n, size_t *m)
{
	const char **sorted = malloc((n ? n : 1) * sizeof(*sorted));

	*m = 0;
	if (!sorted)
		return NULL;
	if (n)
		memcpy(sorted, keys, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_str);
	for (size_t j = 0; j < n; j++)
		if (*m == 0 || strcmp(sorted[j], sorted[*m - 1]))
			sorted[(*m)++] = sorted[j];
	return sorted;
}

struct get1 {
	void *val;
	size_t len;
};

static int get1_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct get1 *g = arg;

	(void)key;
	g->val = malloc(len ? len : 1);
	if (!g->val)
		return -ENOMEM;
	if (len)
		memcpy(g->val, val, len);
	g->len = len;
	return 0;
}

int fl_omap_get1(struct fl_store *st, const char *oid, const char *key, void **val, size_t *len)
{
	struct get1 g = {0};
	const char *keys[1] = {key};
	int ret = st->ops->omap_get(st, oid, keys, 1, get1_cb, &g);

	if (!ret && !g.val)
		ret = -ENOENT;
	if (ret) {
		free(g.val);
		return ret;
	}
	*val = g.val;
	*len = g.len;
	return 0;
}

size_t fl_ceph_addr_first(const char *in, const char **start)
{
	const char *p = in;

	if (*p == '[')
		p++;
	if (!strncmp(p, "v1:", 3) || !strncmp(p, "v2:", 3))
		p += 3;
	else if (!strncmp(p, "any:", 4))
		p += 4;
	*start = p;
	return strcspn(p, ",]");
}

int fl_obj_read_all(struct fl_store *st, const char *oid, uint64_t max, char **data, size_t *len)
{
	uint64_t size;
	ssize_t n;
	int ret;

	*data = NULL;
	ret = st->ops->stat(st, oid, &size);
	if (ret)
		return ret;
	if (size > max)
		return -EIO;
	*data = malloc(size ? size : 1);
	if (!*data)
		return -ENOMEM;
	n = size ? st->ops->read(st, oid, 0, size, *data) : 0;
	if (n < 0) {
		free(*data);
		*data = NULL;
		return (int)n;
	}
	*len = (size_t)n;
	return 0;
}
