/*
 * flockerfs — the RADOS store (include/flocker/store.h) on librados 16.2.
 *
 * One connection (rados_t) is shared, refcounted, by a handle and its
 * clones; each handle has its own ioctx bound to one namespace.  librados is
 * thread-safe, so handles need no lock of their own.
 *
 * What Ceph 16.2 really does, measured (tests/integration/test_store_rados.c):
 *  - rados_conf_parse_env() does not apply --id/--name from CEPH_ARGS: the
 *    client name is fixed at rados_create() time, so we read it ourselves;
 *  - rados_read() of 0 bytes reads the whole object (-ERANGE): here a stat;
 *  - a 0-byte write past EOF extends the object but leaves a stale data
 *    digest, and the next whole-object read marks the object unfound and
 *    blocks forever: here a 0-byte write only creates the object;
 *  - a blocklisted client gets -ESHUTDOWN (Ceph's EBLOCKLISTED) for every op;
 *  - rados_write_op_omap_cmp on a missing object fails with -ENOENT, and
 *    omap_rm_keys too: omap_update starts with an idempotent create, which the
 *    OSD discards with the rest of the op when a compare fails (-ECANCELED);
 *    a missing key compares as an empty value;
 *  - one write op sets or removes thousands of omap keys (tested: 5000); the
 *    1024 limit (osd_max_omap_entries_per_request) only caps omap reads;
 *  - zero of a range reaching EOF truncates the object to its start;
 *  - self-managed snapshots cover data, omap and xattrs (locks); a write
 *    carrying an older snap context saves no clone; a removed object that
 *    still has clones is listed by rados_nobjects_list (stat: -ENOENT);
 *    rollback removes an object made after the snapshot and brings back one
 *    removed since; writes at a read snapshot get -EROFS from librados, but
 *    rollback does not, so the store refuses it;
 *  - the locker address rados_list_lockers reports is "v1:ip:port/nonce",
 *    while rados_getaddrs says "ip:port/nonce": self_addr answers the former.
 */
#include "flocker/store.h"
#include "fs/store/omap_util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <rados/librados.h>

#define R_IO_CHUNK	  (64u << 20) /* below osd_max_write_size (90 MiB) */
#define R_OMAP_PAGE	  1024u	      /* osd_max_omap_entries_per_request */
#define R_BATCH_INFLIGHT  64u	      /* ops in flight per batch */
#define R_DEFAULT_POOL	  "flocker"
#define R_DEFAULT_TIMEOUT 30u
#define R_LOCKERS_MAXBUF  (1u << 20)

struct rconn {
	rados_t cluster;
	int refs; /* handles on this connection; atomic */
};

struct rstore {
	struct fl_store base;
	struct rconn *conn;
	rados_ioctx_t io;
	/* what clone_ns hands on: the write context and the read snapshot */
	uint64_t read_snap; /* FL_SNAP_HEAD: live */
	uint64_t wseq;
	uint64_t *wsnaps;
	size_t nwsnaps;
};

static const struct fl_store_ops rados_ops;

static struct rstore *rs_of(struct fl_store *st)
{
	return (struct rstore *)st;
}

static void conn_put(struct rconn *c)
{
	if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		rados_shutdown(c->cluster);
		free(c);
	}
}

/* --- opening --- */

/* strerror, lowercased for git-style messages. */
static void err_text(int err, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(err < 0 ? -err : err));
	if (len && buf[0])
		buf[0] = (char)tolower((unsigned char)buf[0]);
}

/*
 * The client name from CEPH_ARGS ("--id x", "--id=x", "-i x", "--user x",
 * "--name client.x", "-n client.x"), as "client.x"; 0, or -ENOENT if absent.
 */
static int name_from_env(char *out, size_t len)
{
	const char *env = getenv("CEPH_ARGS");
	char *copy, *tok, *save = NULL;
	bool want_id = false, want_name = false;
	int r = -ENOENT;

	if (!env)
		return -ENOENT;
	copy = strdup(env);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		const char *val = NULL;
		bool is_id = false;

		if (want_id || want_name) {
			val = tok;
			is_id = want_id;
			want_id = want_name = false;
		} else if (!strcmp(tok, "--id") || !strcmp(tok, "-i") || !strcmp(tok, "--user")) {
			want_id = true;
		} else if (!strcmp(tok, "--name") || !strcmp(tok, "-n")) {
			want_name = true;
		} else if (!strncmp(tok, "--id=", 5)) {
			val = tok + 5;
			is_id = true;
		} else if (!strncmp(tok, "--user=", 7)) {
			val = tok + 7;
			is_id = true;
		} else if (!strncmp(tok, "--name=", 7)) {
			val = tok + 7;
		}
		if (!val || !*val)
			continue;
		/* the last one given wins */
		if ((size_t)snprintf(out, len, "%s%s", is_id ? "client." : "", val) < len)
			r = 0;
	}
	free(copy);
	return r;
}

/*
 * The ceph client named name (id: the same without "client."), configured
 * but not connected: conf_path as given (NULL: CEPH_CONF, then the usual
 * places; conf: the file that means, for messages), CEPH_ARGS, timeouts.
 * 0, or a negative errno with err set; *cluster (to shut down) is NULL when
 * no client was made.
 */
static int client_new(const char *name, const char *id, const char *conf_path, const char *conf,
		      unsigned timeout, rados_t *cluster, char *err, size_t errlen)
{
	char num[32], why[320];
	int r = rados_create2(cluster, "ceph", name, 0);

	if (r < 0) {
		*cluster = NULL;
		err_text(r, why, sizeof(why));
		snprintf(err, errlen, "cannot create a ceph client (id %s): %s", id, why);
		return r;
	}
	r = rados_conf_read_file(*cluster, conf_path);
	if (r < 0 && conf) {
		err_text(r, why, sizeof(why));
		snprintf(err, errlen, "cannot read ceph config %s: %s", conf, why);
		return r;
	}
	r = rados_conf_parse_env(*cluster, NULL);
	if (r < 0) {
		err_text(r, why, sizeof(why));
		snprintf(err, errlen, "cannot parse CEPH_ARGS: %s", why);
		return r;
	}
	/*
	 * Bound connecting and mon commands (blocklisting); no OSD op timeout,
	 * which would turn slow ops into failures.
	 */
	snprintf(num, sizeof(num), "%u", timeout);
	if (rados_conf_set(*cluster, "client_mount_timeout", num) < 0 ||
	    rados_conf_set(*cluster, "rados_mon_op_timeout", num) < 0) {
		snprintf(err, errlen, "cannot set the ceph client timeouts");
		return -EINVAL;
	}
	return 0;
}

struct fl_store *fl_rados_open(const struct fl_rados_opts *opts, char *err, size_t errlen)
{
	static const struct fl_rados_opts defaults;
	const char *conf, *pool, *id;
	char name[256], why[320];
	struct rconn *conn = NULL;
	struct rstore *rs = NULL;
	rados_t cluster = NULL;
	rados_ioctx_t io = NULL;
	unsigned timeout;
	int r;

	if (!opts)
		opts = &defaults;
	if (err && errlen)
		err[0] = '\0';
	conf = opts->conf ? opts->conf : getenv("CEPH_CONF");
	if (conf && !*conf)
		conf = NULL;
	pool = opts->pool ? opts->pool : R_DEFAULT_POOL;
	timeout = opts->timeout_s ? opts->timeout_s : R_DEFAULT_TIMEOUT;
	if (opts->id) {
		snprintf(name, sizeof(name), "client.%s", opts->id);
	} else if (name_from_env(name, sizeof(name)) < 0) {
		snprintf(name, sizeof(name), "client.admin");
	}
	id = !strncmp(name, "client.", 7) ? name + 7 : name;

	r = client_new(name, id, opts->conf, conf, timeout, &cluster, err, errlen);
	if (r < 0)
		goto out_err;
	r = rados_connect(cluster);
	if (r < 0) {
		err_text(r, why, sizeof(why));
		if (r == -ENOENT)
			snprintf(why, sizeof(why), "no key for %s or no monitor address found",
				 name);
		snprintf(err, errlen, "cannot connect to the ceph cluster (conf %s, id %s): %s",
			 conf ? conf : "default", id, why);
		goto out_err;
	}
	r = rados_ioctx_create(cluster, pool, &io);
	if (r < 0) {
		io = NULL;
		err_text(r, why, sizeof(why));
		if (r == -ENOENT)
			snprintf(err, errlen, "pool %s does not exist", pool);
		else
			snprintf(err, errlen, "cannot open pool %s: %s", pool, why);
		goto out_err;
	}
	rados_ioctx_set_namespace(io, opts->ns);

	conn = calloc(1, sizeof(*conn));
	rs = calloc(1, sizeof(*rs));
	if (!conn || !rs) {
		snprintf(err, errlen, "cannot open pool %s: out of memory", pool);
		goto out_err;
	}
	conn->cluster = cluster;
	conn->refs = 1;
	rs->base.ops = &rados_ops;
	rs->conn = conn;
	rs->io = io;
	rs->read_snap = FL_SNAP_HEAD;
	return &rs->base;

out_err:
	free(rs);
	free(conn);
	if (io)
		rados_ioctx_destroy(io);
	if (cluster)
		rados_shutdown(cluster);
	return NULL;
}

static void r_close(struct fl_store *st)
{
	struct rstore *rs = rs_of(st);

	rados_aio_flush(rs->io);
	rados_ioctx_destroy(rs->io);
	conn_put(rs->conn);
	free(rs->wsnaps);
	free(rs);
}

static int r_set_write_ctx(struct fl_store *st, uint64_t seq, const uint64_t *snaps, size_t n);
static int r_set_read_snap(struct fl_store *st, uint64_t snapid);

static struct fl_store *r_clone_ns(struct fl_store *st, const char *ns)
{
	struct rstore *rs = rs_of(st), *nrs;
	rados_ioctx_t io;

	nrs = calloc(1, sizeof(*nrs));
	if (!nrs)
		return NULL;
	if (rados_ioctx_create2(rs->conn->cluster, rados_ioctx_get_id(rs->io), &io) < 0) {
		free(nrs);
		return NULL;
	}
	rados_ioctx_set_namespace(io, ns);
	__atomic_add_fetch(&rs->conn->refs, 1, __ATOMIC_ACQ_REL);
	nrs->base.ops = &rados_ops;
	nrs->conn = rs->conn;
	nrs->io = io;
	nrs->read_snap = FL_SNAP_HEAD;
	if ((rs->nwsnaps || rs->wseq) &&
	    r_set_write_ctx(&nrs->base, rs->wseq, rs->wsnaps, rs->nwsnaps) < 0) {
		r_close(&nrs->base);
		return NULL;
	}
	if (rs->read_snap != FL_SNAP_HEAD && r_set_read_snap(&nrs->base, rs->read_snap) < 0) {
		r_close(&nrs->base);
		return NULL;
	}
	return &nrs->base;
}

/* --- data --- */

static int r_stat(struct fl_store *st, const char *oid, uint64_t *size)
{
	uint64_t sz;
	time_t mtime;
	int r = rados_stat(rs_of(st)->io, oid, &sz, &mtime);

	if (r == 0 && size)
		*size = sz;
	return r;
}

static ssize_t r_read(struct fl_store *st, const char *oid, uint64_t off, size_t len, void *buf)
{
	struct rstore *rs = rs_of(st);
	size_t done = 0;

	/* a 0-byte rados_read reads the whole object; still report a missing one */
	if (len == 0)
		return r_stat(st, oid, NULL);
	while (done < len) {
		size_t n = len - done > R_IO_CHUNK ? R_IO_CHUNK : len - done;
		int r = rados_read(rs->io, oid, (char *)buf + done, n, off + done);

		if (r < 0)
			return r;
		done += (size_t)r;
		if ((size_t)r < n)
			break;
	}
	return (ssize_t)done;
}

/*
 * A 0-byte write only creates the object.  A real one past EOF would extend
 * the object, but in 16.2 leaves a stale data digest: the next whole-object
 * read then marks the object unfound and blocks forever.
 */
static int create_only(struct rstore *rs, const char *oid)
{
	rados_write_op_t op = rados_create_write_op();
	int r;

	if (!op)
		return -ENOMEM;
	rados_write_op_create(op, LIBRADOS_CREATE_IDEMPOTENT, NULL);
	r = rados_write_op_operate(op, rs->io, oid, NULL, 0);
	rados_release_write_op(op);
	return r;
}

/* Writes len bytes at off (append: at the end) in chunks the OSD takes; 0
 * bytes only create the object. */
static int write_chunks(struct rstore *rs, const char *oid, bool append, uint64_t off,
			const void *buf, size_t len)
{
	size_t done = 0;

	if (len == 0)
		return create_only(rs, oid);
	do {
		size_t n = len - done > R_IO_CHUNK ? R_IO_CHUNK : len - done;
		const char *p = (const char *)buf + done;
		int r = append ? rados_append(rs->io, oid, p, n)
			       : rados_write(rs->io, oid, p, n, off + done);

		if (r < 0)
			return r;
		done += n;
	} while (done < len);
	return 0;
}

static int r_write(struct fl_store *st, const char *oid, uint64_t off, const void *buf, size_t len)
{
	return write_chunks(rs_of(st), oid, false, off, buf, len);
}

static int r_write_full(struct fl_store *st, const char *oid, const void *buf, size_t len)
{
	struct rstore *rs = rs_of(st);
	size_t n = len > R_IO_CHUNK ? R_IO_CHUNK : len;
	int r = rados_write_full(rs->io, oid, buf, n);

	/* past osd_max_write_size this is no longer atomic */
	if (r == 0 && n < len)
		r = r_write(st, oid, n, (const char *)buf + n, len - n);
	return r;
}

static int r_append(struct fl_store *st, const char *oid, const void *buf, size_t len)
{
	return write_chunks(rs_of(st), oid, true, 0, buf, len);
}

static int r_remove(struct fl_store *st, const char *oid)
{
	return rados_remove(rs_of(st)->io, oid);
}

static int r_truncate(struct fl_store *st, const char *oid, uint64_t size)
{
	return rados_trunc(rs_of(st)->io, oid, size);
}

/* --- omap --- */

/*
 * One omap read of oid: the values of the n keys when keys, else at most
 * max after 'after' (*page_more: more follow).  *op and *it are to release
 * when set, whatever the outcome.  0 or a negative errno.
 */
static int omap_page(struct rstore *rs, const char *oid, const char *const *keys, size_t n,
		     const char *after, unsigned max, unsigned char *page_more, rados_read_op_t *op,
		     rados_omap_iter_t *it)
{
	int prval = 0, r;

	*op = rados_create_read_op();
	if (!*op)
		return -ENOMEM;
	if (keys)
		rados_read_op_omap_get_vals_by_keys(*op, keys, n, it, &prval);
	else
		rados_read_op_omap_get_vals2(*op, after, NULL, max, it, page_more, &prval);
	r = rados_read_op_operate(*op, rs->io, oid, 0);
	return r ? r : prval;
}

static int r_omap_list(struct fl_store *st, const char *oid, const char *start_after, unsigned max,
		       fl_omap_cb cb, void *arg, bool *more)
{
	struct rstore *rs = rs_of(st);
	rados_read_op_t op = NULL;
	rados_omap_iter_t it = NULL;
	char *after = NULL;
	unsigned left = max;
	bool left_over = false;
	int r = 0;

	for (;;) {
		unsigned want = left > R_OMAP_PAGE ? R_OMAP_PAGE : left;
		unsigned char page_more = 0;
		unsigned got = 0, size;
		const char *last = NULL;
		char *key, *val;
		size_t klen, vlen;

		/* max 0: ask for one key, only to answer *more */
		r = omap_page(rs, oid, NULL, 0, after ? after : start_after, want ? want : 1,
			      &page_more, &op, &it);
		if (r < 0)
			goto out;
		size = rados_omap_iter_size(it);
		if (left == 0) {
			left_over = size > 0;
			goto out;
		}
		while (!(r = rados_omap_get_next2(it, &key, &val, &klen, &vlen)) && key) {
			got++;
			left--;
			last = key;
			r = cb(arg, key, val ? val : "", vlen); /* librados: NULL if empty */
			if (r) {
				left_over = got < size || page_more;
				goto out;
			}
		}
		if (r < 0)
			goto out;
		if (!page_more || got == 0) {
			left_over = page_more;
			goto out;
		}
		if (left == 0) {
			left_over = true;
			goto out;
		}
		free(after);
		after = strdup(last);
		if (!after) {
			r = -ENOMEM;
			goto out;
		}
		rados_omap_get_end(it);
		it = NULL;
		rados_release_read_op(op);
		op = NULL;
	}
out:
	if (more)
		*more = left_over;
	/* the iterator exists from get_vals2 on, whatever the op's outcome */
	if (it)
		rados_omap_get_end(it);
	if (op)
		rados_release_read_op(op);
	free(after);
	return r;
}

static int r_omap_get(struct fl_store *st, const char *oid, const char *const *keys, size_t n,
		      fl_omap_cb cb, void *arg)
{
	struct rstore *rs = rs_of(st);
	rados_read_op_t op = NULL;
	rados_omap_iter_t it = NULL;
	const char **sorted;
	size_t m = 0, i = 0;
	int r = 0;

	/* sorted and unique, so the answer is in key order across chunks */
	sorted = fl_keys_sorted_unique(keys, n, &m);
	if (!sorted)
		return -ENOMEM;
	/* one request even for no key: a missing object is still -ENOENT */
	do {
		size_t cnt = m - i > R_OMAP_PAGE ? R_OMAP_PAGE : m - i;
		char *key, *val;
		size_t klen, vlen;

		r = omap_page(rs, oid, sorted + i, cnt, NULL, 0, NULL, &op, &it);
		if (r < 0)
			goto out;
		while (!(r = rados_omap_get_next2(it, &key, &val, &klen, &vlen)) && key) {
			r = cb(arg, key, val ? val : "", vlen); /* librados: NULL if empty */
			if (r)
				goto out;
		}
		if (r < 0)
			goto out;
		rados_omap_get_end(it);
		it = NULL;
		rados_release_read_op(op);
		op = NULL;
		i += cnt;
	} while (i < m);
out:
	if (it)
		rados_omap_get_end(it);
	if (op)
		rados_release_read_op(op);
	free(sorted);
	return r;
}

static int r_omap_update(struct fl_store *st, const char *oid, const struct fl_kv *set, size_t nset,
			 const char *const *rm, size_t nrm, const struct fl_omap_cmp *cmp,
			 size_t ncmp)
{
	struct rstore *rs = rs_of(st);
	rados_write_op_t op = NULL;
	const char **keys = NULL, **vals = NULL;
	size_t *lens = NULL;
	int r, cmp_rv = 0;

	if (nset) {
		keys = malloc(nset * sizeof(*keys));
		vals = malloc(nset * sizeof(*vals));
		lens = malloc(nset * sizeof(*lens));
		if (!keys || !vals || !lens) {
			r = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < nset; i++) {
			keys[i] = set[i].key;
			vals[i] = set[i].len ? set[i].val : "";
			lens[i] = set[i].len;
		}
	}
	op = rados_create_write_op();
	if (!op) {
		r = -ENOMEM;
		goto out;
	}
	/*
	 * The create comes first: omap_cmp and omap_rm_keys fail with -ENOENT on
	 * a missing object.  A failed compare discards the create with the rest.
	 * Sets and removals are one op however many keys (unlike omap reads).
	 */
	rados_write_op_create(op, LIBRADOS_CREATE_IDEMPOTENT, NULL);
	for (size_t i = 0; i < ncmp; i++)
		rados_write_op_omap_cmp(op, cmp[i].key, LIBRADOS_CMPXATTR_OP_EQ,
					cmp[i].len ? cmp[i].val : "", cmp[i].len, &cmp_rv);
	if (nset)
		rados_write_op_omap_set(op, keys, vals, lens, nset);
	if (nrm)
		rados_write_op_omap_rm_keys(op, rm, nrm);
	r = rados_write_op_operate(op, rs->io, oid, NULL, 0);
	if (r < 0 && cmp_rv == -ECANCELED)
		r = -ECANCELED;
out:
	if (op)
		rados_release_write_op(op);
	free(keys);
	free(vals);
	free(lens);
	return r;
}

/* --- listing --- */

static int r_list_objects(struct fl_store *st, const char *prefix, fl_oid_cb cb, void *arg)
{
	struct rstore *rs = rs_of(st);
	size_t plen = prefix ? strlen(prefix) : 0;
	rados_list_ctx_t ctx;
	char *name = NULL;
	size_t cap = 0;
	int r;

	r = rados_nobjects_list_open(rs->io, &ctx);
	if (r < 0)
		return r;
	for (;;) {
		const char *entry;
		size_t elen;

		r = rados_nobjects_list_next2(ctx, &entry, NULL, NULL, &elen, NULL, NULL);
		if (r == -ENOENT) {
			r = 0;
			break;
		}
		if (r < 0)
			break;
		/* names with a NUL cannot be C strings: not ours */
		if (memchr(entry, '\0', elen) || elen < plen ||
		    (plen && memcmp(entry, prefix, plen)))
			continue;
		/* a copy: the callback may use the store */
		if (elen + 1 > cap) {
			char *nn = realloc(name, elen + 1);

			if (!nn) {
				r = -ENOMEM;
				break;
			}
			name = nn;
			cap = elen + 1;
		}
		memcpy(name, entry, elen);
		name[elen] = '\0';
		r = cb(arg, name);
		if (r)
			break;
	}
	rados_nobjects_list_close(ctx);
	free(name);
	return r;
}

/* --- locks --- */

static int r_lock_exclusive(struct fl_store *st, const char *oid, const char *name,
			    const char *cookie, const char *desc, unsigned duration_s, bool renew)
{
	struct timeval tv = {.tv_sec = duration_s};

	return rados_lock_exclusive(rs_of(st)->io, oid, name, cookie, desc ? desc : "",
				    duration_s ? &tv : NULL,
				    renew ? LIBRADOS_LOCK_FLAG_MAY_RENEW : 0);
}

static int r_unlock(struct fl_store *st, const char *oid, const char *name, const char *cookie)
{
	return rados_unlock(rs_of(st)->io, oid, name, cookie);
}

static int r_break_lock(struct fl_store *st, const char *oid, const char *name, const char *client,
			const char *cookie)
{
	return rados_break_lock(rs_of(st)->io, oid, name, client, cookie);
}

/*
 * A bounded decoder for the reply of cls_lock's "get_info", the only way to
 * read a locker's description (rados_list_lockers does not report it).
 * Ceph encoding, little-endian: structs start with version, compat and a
 * u32 length; strings are a u32 length and the bytes.
 */
struct dec {
	const unsigned char *p, *end;
};

static int d_take(struct dec *d, size_t n, const unsigned char **out)
{
	if ((size_t)(d->end - d->p) < n)
		return -EIO;
	if (out)
		*out = d->p;
	d->p += n;
	return 0;
}

static int d_u32(struct dec *d, uint32_t *v)
{
	const unsigned char *b;

	if (d_take(d, 4, &b))
		return -EIO;
	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return 0;
}

static int d_str(struct dec *d, const unsigned char **s, uint32_t *len)
{
	if (d_u32(d, len))
		return -EIO;
	return d_take(d, *len, s);
}

/* Enters a struct: *in decodes its body; d moves past it. */
static int d_struct(struct dec *d, struct dec *in)
{
	uint32_t len;

	if (d_take(d, 2, NULL) || d_u32(d, &len) || (size_t)(d->end - d->p) < len)
		return -EIO;
	in->p = d->p;
	in->end = d->p + len;
	d->p += len;
	return 0;
}

/* The description of the locker with this cookie, from a get_info reply. */
static int decode_lock_desc(const unsigned char *buf, size_t len, const char *cookie, char *desc,
			    size_t desclen)
{
	struct dec d = {buf, buf + len}, reply, id, info, addr;
	const unsigned char *s, *ds, *marker;
	uint32_t n, slen, dlen;

	if (d_struct(&d, &reply) || d_u32(&reply, &n))
		return -EIO;
	for (uint32_t i = 0; i < n; i++) {
		/* locker_id_t: entity_name_t (u8 type, u64 num), cookie */
		if (d_struct(&reply, &id) || d_take(&id, 9, NULL) || d_str(&id, &s, &slen))
			return -EIO;
		/* locker_info_t: utime_t expiration, entity_addr_t, description */
		if (d_struct(&reply, &info) || d_take(&info, 8, NULL) || d_take(&info, 1, &marker))
			return -EIO;
		if (*marker == 1) {
			if (d_struct(&info, &addr))
				return -EIO;
		} else if (*marker == 0) {
			/* legacy: u32 0 (first byte taken), nonce, sockaddr_storage */
			if (d_take(&info, 3 + 4 + 128, NULL))
				return -EIO;
		} else {
			return -EIO;
		}
		if (d_str(&info, &ds, &dlen))
			return -EIO;
		if (slen == strlen(cookie) && !memcmp(s, cookie, slen)) {
			if (desclen)
				snprintf(desc, desclen, "%.*s", (int)dlen, (const char *)ds);
			return 0;
		}
	}
	return -ENOENT;
}

static int lock_desc(struct rstore *rs, const char *oid, const char *name, const char *cookie,
		     char *desc, size_t desclen)
{
	size_t nlen = strlen(name), inlen = 2 + 4 + 4 + nlen, outlen = 4096;
	unsigned char *in = NULL, *out = NULL;
	int r;

	in = malloc(inlen);
	if (!in)
		return -ENOMEM;
	/* cls_lock_get_info_op: struct v1 compat 1 { string name } */
	in[0] = 1;
	in[1] = 1;
	for (int i = 0; i < 4; i++) {
		in[2 + i] = (unsigned char)((4 + nlen) >> (8 * i));
		in[6 + i] = (unsigned char)(nlen >> (8 * i));
	}
	memcpy(in + 10, name, nlen);
	for (;;) {
		unsigned char *nout = realloc(out, outlen);

		if (!nout) {
			r = -ENOMEM;
			goto out;
		}
		out = nout;
		r = rados_exec(rs->io, oid, "lock", "get_info", (const char *)in, inlen,
			       (char *)out, outlen);
		if (r != -ERANGE || outlen >= R_LOCKERS_MAXBUF)
			break;
		outlen *= 4;
	}
	if (r >= 0)
		r = decode_lock_desc(out, (size_t)r, cookie, desc, desclen);
out:
	free(in);
	free(out);
	return r;
}

/* --- watch and notify --- */

struct rwatch {
	struct rstore *rs;
	fl_watch_reply reply;
	fl_watch_req req; /* instead of reply: the callback answers itself */
	void *arg;
	uint64_t cookie;
	char oid[];
};

static void r_watch_cb(void *arg, uint64_t notify_id, uint64_t handle, uint64_t notifier_id,
		       void *data, size_t data_len)
{
	struct rwatch *w = arg;
	char buf[512];
	size_t n;

	(void)notifier_id;
	if (w->req) {
		w->req(w->arg, notify_id, data, data_len);
		return;
	}
	n = w->reply(w->arg, buf, sizeof(buf));
	rados_notify_ack(w->rs->io, w->oid, notify_id, handle, buf, (int)(n < sizeof(buf) ? n : 0));
}

static void r_watch_err(void *arg, uint64_t cookie, int err)
{
	(void)arg;
	(void)cookie;
	(void)err; /* watch_check says so; the owner watches again */
}

static int watch_any(struct fl_store *st, const char *oid, fl_watch_reply reply, fl_watch_req req,
		     void *arg, uint64_t *handle)
{
	size_t n = strlen(oid) + 1;
	struct rwatch *w = malloc(sizeof(*w) + n);
	int r;

	if (!w)
		return -ENOMEM;
	w->rs = rs_of(st);
	w->reply = reply;
	w->req = req;
	w->arg = arg;
	memcpy(w->oid, oid, n);
	r = rados_watch2(w->rs->io, oid, &w->cookie, r_watch_cb, r_watch_err, w);
	if (r < 0) {
		free(w);
		return r;
	}
	*handle = (uint64_t)(uintptr_t)w;
	return 0;
}

static int r_watch(struct fl_store *st, const char *oid, fl_watch_reply reply, void *arg,
		   uint64_t *handle)
{
	return watch_any(st, oid, reply, NULL, arg, handle);
}

static int r_watch_req(struct fl_store *st, const char *oid, fl_watch_req cb, void *arg,
		       uint64_t *handle)
{
	return watch_any(st, oid, NULL, cb, arg, handle);
}

static int r_notify_ack(struct fl_store *st, uint64_t handle, uint64_t notify_id, const void *buf,
			size_t len)
{
	struct rwatch *w = (struct rwatch *)(uintptr_t)handle;

	if (len > INT_MAX)
		return -EINVAL;
	return rados_notify_ack(rs_of(st)->io, w->oid, notify_id, w->cookie, buf, (int)len);
}

static int r_watch_check(struct fl_store *st, uint64_t handle)
{
	struct rwatch *w = (struct rwatch *)(uintptr_t)handle;
	int r = rados_watch_check(rs_of(st)->io, w->cookie);

	return r < 0 ? r : 0;
}

static int r_unwatch(struct fl_store *st, uint64_t handle)
{
	struct rwatch *w = (struct rwatch *)(uintptr_t)handle;
	int r = rados_unwatch2(rs_of(st)->io, w->cookie);

	/* no callback may still be running with w */
	rados_watch_flush(rs_of(st)->conn->cluster);
	free(w);
	return r;
}

static int r_notify_data(struct fl_store *st, const char *oid, const void *data, size_t dlen,
			 unsigned timeout_ms, fl_notify_ack_cb cb, void *arg)
{
	char *reply = NULL;
	size_t len = 0;
	int r = dlen > INT_MAX ? -EINVAL
			       : rados_notify2(rs_of(st)->io, oid, data, (int)dlen, timeout_ms,
					       &reply, &len);
	struct dec d = {(const unsigned char *)reply, (const unsigned char *)reply + len};
	const unsigned char *p;
	uint32_t n, blen;

	if (r < 0 && r != -ETIMEDOUT)
		goto out;
	/* le32 acks, {le64 gid, le64 cookie, le32 len, bytes}*, le32 timeouts, ... */
	if (!reply || d_u32(&d, &n))
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		if (d_take(&d, 16, NULL) || d_u32(&d, &blen) || d_take(&d, blen, &p))
			break;
		cb(arg, p, blen);
	}
out:
	if (reply)
		rados_buffer_free(reply);
	return r < 0 ? r : 0;
}

static int r_notify(struct fl_store *st, const char *oid, unsigned timeout_ms, fl_notify_ack_cb cb,
		    void *arg)
{
	return r_notify_data(st, oid, "probe", 5, timeout_ms, cb, arg);
}

/* Copies the i-th of the NUL-separated strings in buf[len] ("" if there is none). */
static void copy_nth(char *dst, size_t dstlen, const char *buf, size_t len, size_t i)
{
	size_t pos = 0;

	while (i-- > 0 && pos < len)
		pos += strnlen(buf + pos, len - pos) + 1;
	if (pos >= len)
		snprintf(dst, dstlen, "%s", "");
	else
		snprintf(dst, dstlen, "%.*s", (int)strnlen(buf + pos, len - pos), buf + pos);
}

static int r_list_lockers(struct fl_store *st, const char *oid, const char *name,
			  struct fl_locker *out, int max, char *desc, size_t desclen)
{
	struct rstore *rs = rs_of(st);
	size_t tcap = 256, ccap = 1024, kcap = 1024, acap = 1024;
	size_t tlen = 0, clen = 0, klen = 0, alen = 0;
	char *tag = NULL, *clients = NULL, *cookies = NULL, *addrs = NULL;
	ssize_t n;
	int exclusive, r;

	if (desc && desclen)
		desc[0] = '\0';
	for (int tries = 0;; tries++) {
		char *t = realloc(tag, tcap), *c = realloc(clients, ccap);
		char *k, *a;

		if (t)
			tag = t;
		if (c)
			clients = c;
		k = realloc(cookies, kcap);
		if (k)
			cookies = k;
		a = realloc(addrs, acap);
		if (a)
			addrs = a;
		if (!t || !c || !k || !a) {
			r = -ENOMEM;
			goto out;
		}
		tlen = tcap;
		clen = ccap;
		klen = kcap;
		alen = acap;
		n = rados_list_lockers(rs->io, oid, name, &exclusive, tag, &tlen, clients, &clen,
				       cookies, &klen, addrs, &alen);
		if (n != -ERANGE)
			break;
		/* the sizes needed were filled in; lockers may come and go meanwhile */
		if (tries == 4 || tlen > R_LOCKERS_MAXBUF || clen > R_LOCKERS_MAXBUF ||
		    klen > R_LOCKERS_MAXBUF || alen > R_LOCKERS_MAXBUF) {
			r = -ERANGE;
			goto out;
		}
		tcap = tlen > tcap ? tlen : tcap;
		ccap = clen > ccap ? clen : ccap;
		kcap = klen > kcap ? klen : kcap;
		acap = alen > acap ? alen : acap;
	}
	if (n < 0) {
		r = (int)n;
		goto out;
	}
	if (n > INT_MAX)
		n = INT_MAX;
	if (tlen > tcap)
		tlen = tcap;
	if (clen > ccap)
		clen = ccap;
	if (klen > kcap)
		klen = kcap;
	if (alen > acap)
		alen = acap;
	for (ssize_t i = 0; i < n && i < max; i++) {
		copy_nth(out[i].client, sizeof(out[i].client), clients, clen, (size_t)i);
		copy_nth(out[i].cookie, sizeof(out[i].cookie), cookies, klen, (size_t)i);
		copy_nth(out[i].addr, sizeof(out[i].addr), addrs, alen, (size_t)i);
	}
	if (desc && desclen && n > 0) {
		char cookie0[1024];

		/* the first holder's description, else the lock's tag */
		copy_nth(cookie0, sizeof(cookie0), cookies, klen, 0);
		if (lock_desc(rs, oid, name, cookie0, desc, desclen) < 0)
			copy_nth(desc, desclen, tag, tlen, 0);
	}
	r = (int)n;
out:
	free(tag);
	free(clients);
	free(cookies);
	free(addrs);
	return r;
}

/* --- fencing --- */

static int r_self_addr(struct fl_store *st, char *buf, size_t len)
{
	char *addrs = NULL;
	const char *p;
	size_t n;
	int r;

	r = rados_getaddrs(rs_of(st)->conn->cluster, &addrs);
	if (r < 0)
		return r;
	n = fl_ceph_addr_first(addrs, &p);
	/* the form lockers show (and rados_blocklist_add takes) */
	if (n == 0)
		r = -EIO;
	else if ((size_t)snprintf(buf, len, "v1:%.*s", (int)n, p) >= len)
		r = -ERANGE;
	rados_buffer_free(addrs);
	return r;
}

static int r_blocklist_add(struct fl_store *st, const char *addr, unsigned expire_s)
{
	char one[256];
	const char *p = addr;
	size_t n;

	/* the mon takes "v1:ip:port/nonce" or "ip:port/nonce", not a "[...]" vector */
	if (*p == '[') {
		p++;
		n = strcspn(p, ",]");
	} else {
		n = strlen(p);
	}
	if (n == 0 || n >= sizeof(one))
		return -EINVAL;
	memcpy(one, p, n);
	one[n] = '\0';
	return rados_blocklist_add(rs_of(st)->conn->cluster, one, expire_s);
}

/* --- batches: aio, at most R_BATCH_INFLIGHT ops in flight --- */

enum rop_kind {
	ROP_WRITE,
	ROP_READ,
	ROP_ENOENT_OK, /* remove, zero: a missing object is fine */
};

struct rop {
	rados_completion_t c;
	rados_write_op_t wop; /* released once complete */
	enum rop_kind kind;
	ssize_t *got;
};

struct rbatch {
	struct fl_batch base;
	struct rstore *rs;
	struct rop ring[R_BATCH_INFLIGHT]; /* in flight: count from head */
	unsigned head, count;
	int err;
};

static void rb_note(struct rbatch *b, int r)
{
	if (r < 0 && !b->err)
		b->err = r;
}

static void rop_release(struct rop *op)
{
	if (op->c)
		rados_aio_release(op->c);
	if (op->wop)
		rados_release_write_op(op->wop);
	memset(op, 0, sizeof(*op));
}

/* Waits for the oldest op in flight. */
static void rb_reap(struct rbatch *b)
{
	struct rop *op = &b->ring[b->head];
	int r;

	rados_aio_wait_for_complete(op->c);
	r = rados_aio_get_return_value(op->c);
	if (r == -ENOENT && op->kind != ROP_WRITE)
		r = 0;
	if (op->kind == ROP_READ && op->got)
		*op->got = r;
	rb_note(b, r);
	rop_release(op);
	b->head = (b->head + 1) % R_BATCH_INFLIGHT;
	b->count--;
}

/* A slot with a fresh completion, or NULL (the error is noted). */
static struct rop *rb_slot(struct rbatch *b, enum rop_kind kind, ssize_t *got)
{
	struct rop *op;

	if (b->count == R_BATCH_INFLIGHT)
		rb_reap(b);
	op = &b->ring[(b->head + b->count) % R_BATCH_INFLIGHT];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->got = got;
	if (rados_aio_create_completion2(NULL, NULL, &op->c) < 0) {
		op->c = NULL;
		rb_note(b, -ENOMEM);
		if (got)
			*got = -ENOMEM;
		return NULL;
	}
	return op;
}

/* Puts a submitted op in flight, or releases it if submitting failed. */
static void rb_submitted(struct rbatch *b, struct rop *op, int r)
{
	if (r < 0) {
		if (op->kind == ROP_READ && op->got)
			*op->got = r;
		rb_note(b, r);
		rop_release(op);
		return;
	}
	b->count++;
}

/* Submits a prepared write op in a slot. */
static void rb_write_op(struct rbatch *b, struct rop *op, const char *oid)
{
	int r = rados_aio_write_op_operate(op->wop, b->rs->io, op->c, oid, NULL, 0);

	rb_submitted(b, op, r);
}

/* A slot with a new write op (rb_write_op sends it), or NULL (the batch
 * then holds the error). */
static struct rop *rb_slot_wop(struct rbatch *b, enum rop_kind kind)
{
	struct rop *op = rb_slot(b, kind, NULL);

	if (!op)
		return NULL;
	op->wop = rados_create_write_op();
	if (!op->wop) {
		rb_submitted(b, op, -ENOMEM);
		return NULL;
	}
	return op;
}

static void rb_writev(struct fl_batch *fb, const char *oid, const uint64_t *offs,
		      const void *const *bufs, const size_t *lens, size_t n);

static void rb_write(struct fl_batch *fb, const char *oid, uint64_t off, const void *buf,
		     size_t len)
{
	struct rbatch *b = (struct rbatch *)fb;
	size_t done = 0;

	if (len == 0) {
		rb_writev(fb, oid, &off, &buf, &len, 1);
		return;
	}
	do {
		size_t n = len - done > R_IO_CHUNK ? R_IO_CHUNK : len - done;
		struct rop *op = rb_slot(b, ROP_WRITE, NULL);

		if (!op)
			return;
		rb_submitted(b, op,
			     rados_aio_write(b->rs->io, oid, op->c, (const char *)buf + done, n,
					     off + done));
		done += n;
	} while (done < len);
}

static void rb_writev(struct fl_batch *fb, const char *oid, const uint64_t *offs,
		      const void *const *bufs, const size_t *lens, size_t n)
{
	struct rbatch *b = (struct rbatch *)fb;
	struct rop *op;

	if (n == 0)
		return;
	op = rb_slot_wop(b, ROP_WRITE);
	if (!op)
		return;
	/* 0-byte extents only create the object (see create_only) */
	rados_write_op_create(op->wop, LIBRADOS_CREATE_IDEMPOTENT, NULL);
	for (size_t i = 0; i < n; i++)
		if (lens[i])
			rados_write_op_write(op->wop, bufs[i], lens[i], offs[i]);
	rb_write_op(b, op, oid);
}

static void rb_remove(struct fl_batch *fb, const char *oid)
{
	struct rbatch *b = (struct rbatch *)fb;
	struct rop *op = rb_slot(b, ROP_ENOENT_OK, NULL);

	if (op)
		rb_submitted(b, op, rados_aio_remove(b->rs->io, oid, op->c));
}

static void rb_truncate(struct fl_batch *fb, const char *oid, uint64_t size)
{
	struct rbatch *b = (struct rbatch *)fb;
	struct rop *op = rb_slot_wop(b, ROP_WRITE);

	if (!op)
		return;
	rados_write_op_truncate(op->wop, size);
	rb_write_op(b, op, oid);
}

static void rb_zero(struct fl_batch *fb, const char *oid, uint64_t off, uint64_t len)
{
	struct rbatch *b = (struct rbatch *)fb;
	struct rop *op;

	/* nothing to do, and the OSD asserts on a 0-length zero */
	if (len == 0)
		return;
	op = rb_slot_wop(b, ROP_ENOENT_OK);
	if (!op)
		return;
	rados_write_op_assert_exists(op->wop);
	rados_write_op_zero(op->wop, off, len);
	rb_write_op(b, op, oid);
}

static void rb_read(struct fl_batch *fb, const char *oid, uint64_t off, size_t len, void *buf,
		    ssize_t *got)
{
	struct rbatch *b = (struct rbatch *)fb;
	struct rop *op;

	/* a 0-byte rados_aio_read would read the whole object */
	if (len == 0) {
		if (got)
			*got = 0;
		return;
	}
	if (len > R_IO_CHUNK * 2u)
		len = R_IO_CHUNK * 2u; /* an object holds at most 128 MiB */
	op = rb_slot(b, ROP_READ, got);
	if (op)
		rb_submitted(b, op, rados_aio_read(b->rs->io, oid, op->c, buf, len, off));
}

static int rb_wait(struct fl_batch *fb)
{
	struct rbatch *b = (struct rbatch *)fb;
	int err;

	while (b->count)
		rb_reap(b);
	err = b->err;
	free(b);
	return err;
}

static bool rb_done(struct fl_batch *fb)
{
	struct rbatch *b = (struct rbatch *)fb;
	unsigned i;

	for (i = 0; i < b->count; i++)
		if (!rados_aio_is_complete(b->ring[(b->head + i) % R_BATCH_INFLIGHT].c))
			return false;
	return true;
}

static const struct fl_batch_ops rados_batch_ops = FL_BATCH_OPS(rb);

static struct fl_batch *r_batch_new(struct fl_store *st)
{
	struct rbatch *b = fl_batch_alloc(sizeof(*b), &rados_batch_ops);

	if (!b)
		return NULL;
	b->rs = rs_of(st);
	return &b->base;
}

/* --- self-managed snapshots --- */

static int r_snap_create(struct fl_store *st, uint64_t *snapid)
{
	rados_snap_t id;
	int r = rados_ioctx_selfmanaged_snap_create(rs_of(st)->io, &id);

	if (r == 0)
		*snapid = id;
	return r;
}

static int r_snap_remove(struct fl_store *st, uint64_t snapid)
{
	return rados_ioctx_selfmanaged_snap_remove(rs_of(st)->io, snapid);
}

static int r_set_write_ctx(struct fl_store *st, uint64_t seq, const uint64_t *snaps, size_t n)
{
	struct rstore *rs = rs_of(st);
	rados_snap_t *ids = NULL;
	uint64_t *keep = NULL;
	int r;

	if (n > INT_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (snaps[i] > seq || (i && snaps[i] >= snaps[i - 1]))
			return -EINVAL; /* newest first, none above seq */
	if (n) {
		ids = malloc(n * sizeof(*ids));
		keep = malloc(n * sizeof(*keep));
		if (!ids || !keep) {
			free(ids);
			free(keep);
			return -ENOMEM;
		}
		for (size_t i = 0; i < n; i++)
			ids[i] = keep[i] = snaps[i];
	}
	r = rados_ioctx_selfmanaged_snap_set_write_ctx(rs->io, seq, ids, (int)n);
	free(ids);
	if (r < 0) {
		free(keep);
		return r;
	}
	free(rs->wsnaps);
	rs->wsnaps = keep;
	rs->nwsnaps = n;
	rs->wseq = seq;
	return 0;
}

static int r_set_read_snap(struct fl_store *st, uint64_t snapid)
{
	struct rstore *rs = rs_of(st);

	/* librados's head is CEPH_NOSNAP (-2); it answers -EROFS to writes at a snapshot */
	rados_ioctx_snap_set_read(rs->io, snapid == FL_SNAP_HEAD ? LIBRADOS_SNAP_HEAD : snapid);
	rs->read_snap = snapid;
	return 0;
}

static int r_snap_rollback(struct fl_store *st, const char *oid, uint64_t snapid)
{
	/* librados would roll back from a handle reading at a snapshot */
	if (rs_of(st)->read_snap != FL_SNAP_HEAD)
		return -EROFS;
	return rados_ioctx_selfmanaged_snap_rollback(rs_of(st)->io, oid, snapid);
}

static const struct fl_store_ops rados_ops = FL_STORE_OPS(r);
