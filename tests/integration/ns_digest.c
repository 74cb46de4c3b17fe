/*
 * ns_digest — one line per object of a RADOS namespace: name, size, object
 * version, and digests of its bytes, omap and xattrs (the writer lock lives
 * in an xattr).  Two runs print the same lines only if nothing changed.
 *
 *   ns_digest POOL NAMESPACE
 *
 * The cluster comes from CEPH_CONF and the client from CEPH_ARGS ("--id X").
 * Output is sorted by object name; exit 0, or 1 with a message.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rados/librados.h>

struct obj {
	char *line;
};

static void fnv(uint64_t *h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		*h = (*h ^ *b++) * 1099511628211ull;
}

static const char *client_id(void)
{
	const char *a = getenv("CEPH_ARGS"), *p;
	static char id[64] = "admin";

	if (a && (p = strstr(a, "--id")) != NULL) {
		p += 4;
		while (*p == ' ' || *p == '=')
			p++;
		snprintf(id, sizeof(id), "%.*s", (int)strcspn(p, " "), p);
	}
	return id;
}

/* Digest of every omap key and value, paged. */
static int omap_digest(rados_ioctx_t io, const char *oid, uint64_t *h, unsigned *n)
{
	char after[1024] = "";
	unsigned char more = 1;

	while (more) {
		rados_read_op_t op = rados_create_read_op();
		rados_omap_iter_t it;
		int rv = 0, r;
		char *k, *v;
		size_t vl;

		rados_read_op_omap_get_vals2(op, after, "", 512, &it, &more, &rv);
		r = rados_read_op_operate(op, io, oid, 0);
		if (r == 0 && rv == 0) {
			while (rados_omap_get_next(it, &k, &v, &vl) == 0 && k) {
				fnv(h, k, strlen(k) + 1);
				fnv(h, v, vl);
				(*n)++;
				snprintf(after, sizeof(after), "%s", k);
			}
			rados_omap_get_end(it);
		}
		rados_release_read_op(op);
		if (r < 0)
			return r;
		if (rv < 0)
			return rv;
	}
	return 0;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct obj *)a)->line, ((const struct obj *)b)->line);
}

int main(int argc, char **argv)
{
	rados_t cl;
	rados_ioctx_t io;
	rados_list_ctx_t lc;
	struct obj *objs = NULL;
	size_t n = 0, cap = 0, i;
	const char *entry;
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: ns_digest POOL NAMESPACE\n");
		return 1;
	}
	if ((r = rados_create(&cl, client_id())) < 0 || (r = rados_conf_read_file(cl, NULL)) < 0 ||
	    (r = rados_connect(cl)) < 0 || (r = rados_ioctx_create(cl, argv[1], &io)) < 0) {
		fprintf(stderr, "ns_digest: cannot reach pool %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	rados_ioctx_set_namespace(io, argv[2]);
	r = rados_nobjects_list_open(io, &lc);
	if (r < 0) {
		fprintf(stderr, "ns_digest: cannot list %s: %s\n", argv[2], strerror(-r));
		return 1;
	}
	while (rados_nobjects_list_next(lc, &entry, NULL, NULL) == 0) {
		uint64_t size = 0, hd = 14695981039346656037ull, ho = hd, hx = hd, ver;
		unsigned nkeys = 0;
		time_t mtime = 0;
		rados_xattrs_iter_t xi;
		const char *xn, *xv;
		size_t xl;
		char *buf, line[2048];

		if (rados_stat(io, entry, &size, &mtime) < 0) {
			fprintf(stderr, "ns_digest: cannot stat %s\n", entry);
			return 1;
		}
		ver = rados_get_last_version(io);
		buf = malloc(size ? size : 1);
		if (!buf)
			return 1;
		r = size ? rados_read(io, entry, buf, size, 0) : 0;
		if (r < 0) {
			fprintf(stderr, "ns_digest: cannot read %s: %s\n", entry, strerror(-r));
			return 1;
		}
		fnv(&hd, buf, (size_t)r);
		free(buf);
		r = omap_digest(io, entry, &ho, &nkeys);
		if (r < 0) {
			fprintf(stderr, "ns_digest: cannot read the omap of %s: %s\n", entry,
				strerror(-r));
			return 1;
		}
		if (rados_getxattrs(io, entry, &xi) == 0) {
			while (rados_getxattrs_next(xi, &xn, &xv, &xl) == 0 && xn) {
				fnv(&hx, xn, strlen(xn) + 1);
				fnv(&hx, xv, xl);
			}
			rados_getxattrs_end(xi);
		}
		snprintf(line, sizeof(line),
			 "%s size=%" PRIu64 " version=%" PRIu64 " mtime=%lld data=%016" PRIx64
			 " omap=%u:%016" PRIx64 " xattrs=%016" PRIx64,
			 entry, size, ver, (long long)mtime, hd, nkeys, ho, hx);
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			objs = realloc(objs, cap * sizeof(*objs));
			if (!objs)
				return 1;
		}
		objs[n++].line = strdup(line);
	}
	rados_nobjects_list_close(lc);
	if (n)
		qsort(objs, n, sizeof(*objs), cmp_line);
	for (i = 0; i < n; i++) {
		printf("%s\n", objs[i].line);
		free(objs[i].line);
	}
	free(objs);
	rados_ioctx_destroy(io);
	rados_shutdown(cl);
	return 0;
}
