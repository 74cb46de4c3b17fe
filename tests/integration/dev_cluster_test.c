/*
 * dev_cluster_test - talk to the cluster of contrib/dev-cluster.sh through
 * librados, the way flockerfs does.
 *
 *   dev_cluster_test write NAME DATA    write DATA as object NAME (whole object)
 *   dev_cluster_test read NAME EXPECT   read object NAME, fail unless it is EXPECT
 *   dev_cluster_test check              prove that the key can do what flockerfs
 *                                       needs: omap, exclusive locks (cls_lock),
 *                                       watch/notify, listing all namespaces,
 *                                       self-managed snapshots, pool stats and
 *                                       blocklisting another client
 *
 * Objects go to pool "flocker" (or $FLOCKER_POOL), namespace "dev_cluster_test".
 * The cluster comes from $CEPH_CONF. The client id comes from --id, --user
 * or --name in $CEPH_ARGS: librados itself ignores those three there (it
 * parses only config options from CEPH_ARGS), so a program must pick them out
 * before rados_create(); see ceph_id_from_env(). Exit status: 0 success,
 * 1 failure, 2 usage.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rados/librados.h>

#define PROG	  "dev_cluster_test"
#define NSPACE	  "dev_cluster_test"
#define CHECK_OID "check.object"

/* What the OSDs answer a blocklisted client (Ceph's EBLOCKLISTED). */
#ifndef EBLOCKLISTED
#define EBLOCKLISTED ESHUTDOWN
#endif

static const char *pool_name(void)
{
	const char *p = getenv("FLOCKER_POOL");

	return p && *p ? p : "flocker";
}

/* Split off the next blank-separated word of *cur; sets *len, returns it or NULL. */
static const char *next_word(const char **cur, size_t *len)
{
	const char *p = *cur, *start;

	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (!*p)
		return NULL;
	start = p;
	while (*p && *p != ' ' && *p != '\t' && *p != '\n')
		p++;
	*len = (size_t)(p - start);
	*cur = p;
	return start;
}

static bool word_is(const char *w, size_t len, const char *s)
{
	return strlen(s) == len && !memcmp(w, s, len);
}

static bool word_starts(const char *w, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && !memcmp(w, prefix, n);
}

/*
 * Copy the client id named in $CEPH_ARGS (--id X, --id=X, --user X,
 * --name client.X, -n client.X, --name=client.X; the last one wins) into buf.
 * Returns 1 when found, 0 when $CEPH_ARGS names none, -ENAMETOOLONG when the
 * id does not fit in len bytes with its NUL.
 */
static int ceph_id_from_env(char *buf, size_t len)
{
	const char *cur = getenv("CEPH_ARGS"), *w;
	size_t wlen;
	int found = 0;

	if (!cur)
		return 0;
	while ((w = next_word(&cur, &wlen))) {
		bool is_name = false;

		if (word_is(w, wlen, "--name") || word_is(w, wlen, "-n")) {
			is_name = true;
			w = next_word(&cur, &wlen);
			if (!w)
				break;
		} else if (word_is(w, wlen, "--id") || word_is(w, wlen, "--user")) {
			w = next_word(&cur, &wlen);
			if (!w)
				break;
		} else if (word_starts(w, wlen, "--id=")) {
			w += 5, wlen -= 5;
		} else if (word_starts(w, wlen, "--user=")) {
			w += 7, wlen -= 7;
		} else if (word_starts(w, wlen, "--name=")) {
			w += 7, wlen -= 7;
			is_name = true;
		} else {
			continue;
		}
		if (is_name) {
			if (!word_starts(w, wlen, "client."))
				continue;
			w += 7, wlen -= 7;
		}
		if (wlen >= len)
			return -ENAMETOOLONG;
		memcpy(buf, w, wlen);
		buf[wlen] = '\0';
		found = 1;
	}
	return found;
}

static int cluster_connect(rados_t *out)
{
	char id[128];
	rados_t cluster = NULL;
	int r;

	r = ceph_id_from_env(id, sizeof(id));
	if (r < 0) {
		fprintf(stderr, PROG ": cannot read the client id from CEPH_ARGS: %s\n",
			strerror(-r));
		return r;
	}
	r = rados_create(&cluster, r ? id : NULL);
	if (r < 0) {
		fprintf(stderr, PROG ": cannot create a rados handle: %s\n", strerror(-r));
		return r;
	}
	/* NULL: the default search, which starts with $CEPH_CONF. */
	r = rados_conf_read_file(cluster, NULL);
	if (r < 0) {
		fprintf(stderr, PROG ": cannot read ceph conf %s: %s\n",
			getenv("CEPH_CONF") ? getenv("CEPH_CONF") : "(default)", strerror(-r));
		goto out_err;
	}
	r = rados_conf_parse_env(cluster, NULL);
	if (r < 0) {
		fprintf(stderr, PROG ": cannot parse CEPH_ARGS: %s\n", strerror(-r));
		goto out_err;
	}
	r = rados_conf_set(cluster, "client_mount_timeout", "30");
	if (r < 0)
		goto out_err;
	r = rados_connect(cluster);
	if (r < 0) {
		fprintf(stderr, PROG ": cannot connect to the cluster: %s\n", strerror(-r));
		goto out_err;
	}
	*out = cluster;
	return 0;

out_err:
	rados_shutdown(cluster);
	return r;
}

static int open_pool(rados_t cluster, rados_ioctx_t *io)
{
	int r = rados_ioctx_create(cluster, pool_name(), io);

	if (r < 0) {
		fprintf(stderr, PROG ": cannot open pool %s: %s\n", pool_name(), strerror(-r));
		return r;
	}
	rados_ioctx_set_namespace(*io, NSPACE);
	return 0;
}

static int cmd_write(const char *name, const char *data)
{
	rados_t cluster;
	rados_ioctx_t io;
	int r;

	r = cluster_connect(&cluster);
	if (r < 0)
		return 1;
	r = open_pool(cluster, &io);
	if (r < 0)
		goto out;
	r = rados_write_full(io, name, data, strlen(data));
	if (r < 0)
		fprintf(stderr, PROG ": cannot write object %s: %s\n", name, strerror(-r));
	rados_ioctx_destroy(io);
out:
	rados_shutdown(cluster);
	return r < 0 ? 1 : 0;
}

static int cmd_read(const char *name, const char *expect)
{
	size_t len = strlen(expect);
	rados_t cluster;
	rados_ioctx_t io;
	char *buf;
	int r;

	buf = malloc(len + 2);
	if (!buf)
		return 1;
	r = cluster_connect(&cluster);
	if (r < 0)
		goto out_free;
	r = open_pool(cluster, &io);
	if (r < 0)
		goto out_shutdown;
	/* Ask for one byte more than expected, to catch a longer object. */
	r = rados_read(io, name, buf, len + 1, 0);
	if (r < 0) {
		fprintf(stderr, PROG ": cannot read object %s: %s\n", name, strerror(-r));
	} else if ((size_t)r != len || memcmp(buf, expect, len) != 0) {
		fprintf(stderr, PROG ": object %s holds '%.*s' (%d bytes), expected '%s'\n", name,
			r, buf, r, expect);
		r = -EIO;
	}
	rados_ioctx_destroy(io);
out_shutdown:
	rados_shutdown(cluster);
out_free:
	free(buf);
	return r < 0 ? 1 : 0;
}

/* --- check ---------------------------------------------------------------- */

static int fail(const char *what, int r)
{
	fprintf(stderr, PROG ": check failed: %s: %s (%d)\n", what, strerror(-r), r);
	return r < 0 ? r : -EIO;
}

static int check_omap(rados_ioctx_t io)
{
	const char *keys[] = {"alpha", "beta"};
	const char *vals[] = {"1", "22"};
	const size_t lens[] = {1, 2};
	rados_write_op_t wop = rados_create_write_op();
	rados_read_op_t rop = rados_create_read_op();
	rados_omap_iter_t iter = NULL;
	unsigned char more = 0;
	int rval = 0, r, n = 0;
	char *key, *val;
	size_t vlen;

	rados_write_op_create(wop, LIBRADOS_CREATE_IDEMPOTENT, NULL);
	rados_write_op_omap_set(wop, keys, vals, lens, 2);
	r = rados_write_op_operate(wop, io, CHECK_OID, NULL, 0);
	if (r < 0) {
		r = fail("omap set", r);
		goto out;
	}
	rados_read_op_omap_get_vals2(rop, NULL, NULL, 10, &iter, &more, &rval);
	r = rados_read_op_operate(rop, io, CHECK_OID, 0);
	if (r < 0 || rval < 0) {
		r = fail("omap get", r < 0 ? r : rval);
		goto out;
	}
	while (rados_omap_get_next(iter, &key, &val, &vlen) == 0 && key) {
		if (n < 2 &&
		    (strcmp(key, keys[n]) || vlen != lens[n] || memcmp(val, vals[n], vlen)))
			break;
		n++;
	}
	if (n != 2) {
		r = fail("omap get returned other keys than were set", -EIO);
		goto out;
	}
	printf("ok omap set/get\n");
out:
	if (iter)
		rados_omap_get_end(iter);
	rados_release_read_op(rop);
	rados_release_write_op(wop);
	return r;
}

static int check_lock(rados_ioctx_t io, rados_ioctx_t other)
{
	struct timeval dur = {.tv_sec = 30};
	char tag[64], clients[256], cookies[256], addrs[256];
	size_t tag_len = sizeof(tag), clients_len = sizeof(clients);
	size_t cookies_len = sizeof(cookies), addrs_len = sizeof(addrs);
	int exclusive = 0, r;
	ssize_t n;

	r = rados_lock_exclusive(io, CHECK_OID, "flocker", "cookie-1", "dev cluster check", &dur,
				 0);
	if (r < 0)
		return fail("lock exclusive", r);
	r = rados_lock_exclusive(other, CHECK_OID, "flocker", "cookie-2", "second", &dur, 0);
	if (r != -EBUSY) {
		r = fail("a second exclusive lock did not fail with EBUSY", r < 0 ? r : -EIO);
		goto out_unlock;
	}
	n = rados_list_lockers(io, CHECK_OID, "flocker", &exclusive, tag, &tag_len, clients,
			       &clients_len, cookies, &cookies_len, addrs, &addrs_len);
	if (n != 1 || !exclusive || strcmp(cookies, "cookie-1")) {
		r = fail("list lockers", n < 0 ? (int)n : -EIO);
		goto out_unlock;
	}
	printf("ok exclusive lock held by %s at %s; second locker got EBUSY\n", clients, addrs);
	r = 0;
out_unlock:
	if (rados_unlock(io, CHECK_OID, "flocker", "cookie-1") < 0 && r == 0)
		r = fail("unlock", -EIO);
	return r;
}

struct notice {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	rados_ioctx_t io;
	int seen;
};

static void on_notify(void *arg, uint64_t notify_id, uint64_t handle, uint64_t notifier_id,
		      void *data, size_t data_len)
{
	struct notice *n = arg;

	/* counted before the ack: the notifier may return, and look, as soon as
	 * the ack reaches the OSD */
	pthread_mutex_lock(&n->lock);
	n->seen++;
	pthread_cond_signal(&n->cond);
	pthread_mutex_unlock(&n->lock);
	rados_notify_ack(n->io, CHECK_OID, notify_id, handle, "ack", 3);
}

static void on_watch_error(void *arg, uint64_t cookie, int err)
{
	fprintf(stderr, PROG ": watch error: %s\n", strerror(-err));
}

static int check_watch(rados_ioctx_t io, rados_ioctx_t other)
{
	struct notice n = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, io, 0};
	char *reply = NULL;
	size_t reply_len = 0;
	uint64_t handle;
	int r;

	r = rados_watch3(io, CHECK_OID, &handle, on_notify, on_watch_error, 30, &n);
	if (r < 0)
		return fail("watch", r);
	r = rados_notify2(other, CHECK_OID, "hello", 5, 10000, &reply, &reply_len);
	if (r < 0) {
		r = fail("notify", r);
		goto out;
	}
	pthread_mutex_lock(&n.lock);
	r = n.seen == 1 ? 0 : fail("the watcher did not see the notify", -EIO);
	pthread_mutex_unlock(&n.lock);
	if (r == 0)
		printf("ok watch/notify\n");
out:
	rados_buffer_free(reply);
	rados_unwatch2(io, handle);
	return r;
}

static int check_list_all(rados_t cluster)
{
	rados_list_ctx_t ctx;
	rados_ioctx_t io;
	const char *entry, *key, *nspace;
	int r, found = 0;

	r = rados_ioctx_create(cluster, pool_name(), &io);
	if (r < 0)
		return fail("open pool for listing", r);
	rados_ioctx_set_namespace(io, LIBRADOS_ALL_NSPACES);
	r = rados_nobjects_list_open(io, &ctx);
	if (r < 0) {
		r = fail("list all namespaces", r);
		goto out;
	}
	while ((r = rados_nobjects_list_next(ctx, &entry, &key, &nspace)) == 0) {
		if (!strcmp(entry, CHECK_OID) && !strcmp(nspace, NSPACE))
			found = 1;
	}
	rados_nobjects_list_close(ctx);
	if (r != -ENOENT) {
		r = fail("list all namespaces", r);
		goto out;
	}
	r = found ? 0 : fail("listing all namespaces missed " NSPACE "/" CHECK_OID, -ENOENT);
	if (r == 0)
		printf("ok list across namespaces\n");
out:
	rados_ioctx_destroy(io);
	return r;
}

static int check_snap_and_stat(rados_t cluster, rados_ioctx_t io)
{
	struct rados_pool_stat_t ps;
	struct rados_cluster_stat_t cs;
	rados_snap_t snap;
	int r;

	r = rados_ioctx_selfmanaged_snap_create(io, &snap);
	if (r < 0)
		return fail("self-managed snapshot create", r);
	r = rados_ioctx_selfmanaged_snap_remove(io, snap);
	if (r < 0)
		return fail("self-managed snapshot remove", r);
	printf("ok self-managed snapshot %llu created and removed\n", (unsigned long long)snap);
	r = rados_ioctx_pool_stat(io, &ps);
	if (r < 0)
		return fail("pool stat", r);
	r = rados_cluster_stat(cluster, &cs);
	if (r < 0)
		return fail("cluster stat", r);
	printf("ok pool stat (%llu objects), cluster stat (%llu KiB free)\n",
	       (unsigned long long)ps.num_objects, (unsigned long long)cs.kb_avail);
	return 0;
}

/* Fence the second client as a new volume owner fences a dead one. */
static int check_blocklist(rados_t cluster, rados_t victim, rados_ioctx_t victim_io)
{
	char *addrs = NULL;
	time_t deadline;
	int r;

	r = rados_getaddrs(victim, &addrs);
	if (r < 0)
		return fail("getaddrs", r);
	r = rados_blocklist_add(cluster, addrs, 120);
	if (r < 0) {
		r = fail("blocklist add", r);
		goto out;
	}
	/* The OSDs learn the new map shortly after the mon commits it. */
	deadline = time(NULL) + 30;
	do {
		r = rados_write_full(victim_io, "fenced.object", "x", 1);
		if (r == -EBLOCKLISTED)
			break;
		usleep(200 * 1000);
	} while (time(NULL) < deadline);
	if (r != -EBLOCKLISTED) {
		r = fail("a blocklisted client could still write", r < 0 ? r : -EIO);
		goto out;
	}
	printf("ok blocklisted %s; its writes fail with EBLOCKLISTED\n", addrs);
	r = 0;
out:
	rados_buffer_free(addrs);
	return r;
}

/* A client of the check: its connection and its ioctx on the pool (NULL until made). */
struct client {
	rados_t cluster;
	rados_ioctx_t io;
};

static int client_open(struct client *c)
{
	int r = cluster_connect(&c->cluster);

	return r < 0 ? r : open_pool(c->cluster, &c->io);
}

static void client_close(struct client *c)
{
	if (c->io)
		rados_ioctx_destroy(c->io);
	if (c->cluster)
		rados_shutdown(c->cluster);
}

static int check_write(rados_ioctx_t io)
{
	int r = rados_write_full(io, CHECK_OID, "check", 5);

	return r < 0 ? fail("write", r) : 0;
}

static int check_remove(rados_ioctx_t io)
{
	int r = rados_remove(io, CHECK_OID);

	return r < 0 ? fail("remove", r) : 0;
}

/* Two clients: a checks, b holds the other lock, watches and is blocklisted.
 * The checks stop at the first that fails. */
static int cmd_check(void)
{
	struct client a = {0}, b = {0};
	bool ok;

	ok = client_open(&a) >= 0 && client_open(&b) >= 0 && check_write(a.io) >= 0 &&
	     check_omap(a.io) >= 0 && check_lock(a.io, b.io) >= 0 && check_watch(a.io, b.io) >= 0 &&
	     check_list_all(a.cluster) >= 0 && check_snap_and_stat(a.cluster, a.io) >= 0 &&
	     check_blocklist(a.cluster, b.cluster, b.io) >= 0 && check_remove(a.io) >= 0;
	client_close(&b);
	client_close(&a);
	return ok ? 0 : 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " write NAME DATA | read NAME EXPECT | check\n");
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "write"))
		return cmd_write(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "read"))
		return cmd_read(argv[2], argv[3]);
	if (argc == 2 && !strcmp(argv[1], "check"))
		return cmd_check();
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
