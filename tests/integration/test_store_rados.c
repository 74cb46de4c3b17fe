/*
 * flockerfs — the RADOS store against a real cluster: the shared
 * conformance checks (tests/unit/store_conformance.c), fencing by blocklist,
 * then what only RADOS has (opening errors, clones sharing a connection,
 * writes past osd_max_write_size).
 *
 * The cluster comes from the environment (CEPH_CONF, CEPH_ARGS), as
 * contrib/dev-cluster.sh env prints it.  Everything happens in a namespace of
 * its own, "test.<pid>.<time>", removed at the end.
 */
#include "store_conformance.h"
#include "tests/check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void test_open_errors(const char *ns)
{
	const char *conf = getenv("CEPH_CONF");
	char err[512], want[512], tmpconf[] = "/tmp/flocker-test-conf.XXXXXX";
	struct fl_rados_opts o = {.ns = ns};
	char *saved = getenv("CEPH_ARGS") ? strdup(getenv("CEPH_ARGS")) : NULL;
	time_t t0;
	FILE *f;
	int fd;

	o.pool = "flocker-no-such-pool";
	CHECK(fl_rados_open(&o, err, sizeof(err)) == NULL);
	CHECK_PREFIX(err, "pool flocker-no-such-pool does not exist");
	o.pool = NULL;

	o.conf = "/nonexistent/ceph.conf";
	CHECK(fl_rados_open(&o, err, sizeof(err)) == NULL);
	CHECK_PREFIX(err, "cannot read ceph config /nonexistent/ceph.conf: ");
	o.conf = NULL;

	o.id = "no-such-user";
	CHECK(fl_rados_open(&o, err, sizeof(err)) == NULL);
	snprintf(want, sizeof(want),
		 "cannot connect to the ceph cluster (conf %s, id no-such-user): ",
		 conf ? conf : "default");
	CHECK_PREFIX(err, want);
	o.id = NULL;

	/* the id comes from CEPH_ARGS when not given */
	setenv("CEPH_ARGS", "--foo --id=another-user", 1);
	CHECK(fl_rados_open(&o, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "id another-user)") != NULL);
	if (saved)
		setenv("CEPH_ARGS", saved, 1);
	else
		unsetenv("CEPH_ARGS");

	/* no monitor answers: the timeout bounds connecting */
	fd = mkstemp(tmpconf);
	CHECK(fd >= 0);
	if (fd < 0)
		goto out;
	f = fdopen(fd, "w");
	if (f) {
		fprintf(f, "[global]\nmon host = v2:127.0.0.1:9\nauth client required = none\n");
		fclose(f);
	}
	o.conf = tmpconf;
	o.timeout_s = 3;
	t0 = time(NULL);
	CHECK(fl_rados_open(&o, err, sizeof(err)) == NULL);
	snprintf(want, sizeof(want), "cannot connect to the ceph cluster (conf %s, id ", tmpconf);
	CHECK_PREFIX(err, want);
	CHECK(strstr(err, ": connection timed out") != NULL);
	CHECK(time(NULL) - t0 < 30);
	unlink(tmpconf);
out:
	free(saved);
}

/* Clones share the connection, hence the lock identity and the address. */
static void test_clone_identity(struct fl_store *st, const char *ns)
{
	struct fl_store *c = st->ops->clone_ns(st, ns);
	char a1[128], a2[128];

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_EQ(st->ops->self_addr(st, a1, sizeof(a1)), 0);
	CHECK_EQ(c->ops->self_addr(c, a2, sizeof(a2)), 0);
	CHECK(!strcmp(a1, a2));
	CHECK_EQ(st->ops->lock_exclusive(st, "c.lock", "L", "c1", "", 0, false), 0);
	CHECK_EQ(c->ops->lock_exclusive(c, "c.lock", "L", "c1", "", 0, false), -EEXIST);
	CHECK_EQ(c->ops->lock_exclusive(c, "c.lock", "L", "c2", "", 0, false), -EBUSY);
	CHECK_EQ(c->ops->unlock(c, "c.lock", "L", "c1"), 0);
	CHECK_EQ(c->ops->remove(c, "c.lock"), 0);
	/* the connection outlives the handle that opened it */
	fl_store_close(c);
}

/* Past osd_max_write_size (90 MiB) writes and reads are split. */
static void test_huge(struct fl_store *st)
{
	const size_t len = 100u << 20;
	unsigned char *buf = malloc(len), *back = malloc(len);
	uint64_t size = 0;

	if (!buf || !back) {
		CHECK(!"out of memory");
		goto out;
	}
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 7 + (i >> 20));
	CHECK_EQ(st->ops->write_full(st, "h.huge", buf, len), 0);
	CHECK_EQ(st->ops->stat(st, "h.huge", &size), 0);
	CHECK_EQ(size, len);
	memset(back, 0, len);
	CHECK_EQ(st->ops->read(st, "h.huge", 0, len, back), (ssize_t)len);
	CHECK(!memcmp(buf, back, len));
	CHECK_EQ(st->ops->remove(st, "h.huge"), 0);
out:
	free(buf);
	free(back);
}

int main(void)
{
	struct fl_store *st = NULL, *peer = NULL, *victim = NULL, *fencer = NULL;
	struct fl_rados_opts o = {0};
	char ns[128], fence_ns[160], err[512];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!getenv("CEPH_CONF") && access("/etc/ceph/ceph.conf", R_OK)) {
		printf("skipped: no ceph cluster (CEPH_CONF unset and no /etc/ceph/ceph.conf)\n");
		return 77;
	}
	snprintf(ns, sizeof(ns), "test.%d.%ld", (int)getpid(), (long)time(NULL));
	snprintf(fence_ns, sizeof(fence_ns), "%s.fence", ns);
	o.ns = ns;
	st = fl_rados_open(&o, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "test_store_rados: %s\n", err);
		return 1;
	}
	peer = fl_rados_open(&o, err, sizeof(err));
	if (!peer) {
		fprintf(stderr, "test_store_rados: %s\n", err);
		check_failures++;
		goto out;
	}

	check_failures += store_conformance(st, peer, ns);
	check_failures += store_conformance_snap(st, ns);
	test_clone_identity(st, ns);
	test_huge(st);
	test_open_errors(ns);

	/* last: the victim's whole connection is fenced */
	o.ns = fence_ns;
	victim = fl_rados_open(&o, err, sizeof(err));
	fencer = st->ops->clone_ns(st, fence_ns);
	CHECK(victim && fencer);
	if (victim && fencer)
		check_failures += store_conformance_fence(victim, fencer);
out:
	if (fencer)
		CHECK_EQ(store_clean_ns(fencer), 0);
	CHECK_EQ(store_clean_ns(st), 0);
	fl_store_close(victim);
	fl_store_close(fencer);
	fl_store_close(peer);
	fl_store_close(st);
	if (check_failures) {
		fprintf(stderr, "test_store_rados: %d checks failed (namespace %s)\n",
			check_failures, ns);
		return 1;
	}
	printf("test_store_rados: all checks passed (namespace %s)\n", ns);
	return 0;
}
