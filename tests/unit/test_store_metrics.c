/*
 * flockerfs — the store's metrics layer (fs/store/store_metrics.c): the
 * whole storage contract still holds through it (the conformance checks on
 * a wrapped mem store and its clones), and it counts what it says: ops by
 * kind, failures but not the answers ENOENT/EEXIST/EBUSY/ECANCELED, batches
 * of writes as write-backs with their bytes, journal appends as commits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/store/store_metrics.h"
#include "fs/util/metrics.h"
#include "store_conformance.h"
#include "tests/check.h"

struct want {
	const char *name;
	const char *op; /* NULL: no op label */
	double value;
	int found;
};

static int find_cb(void *arg, const struct fl_metric_sample *s)
{
	struct want *w = arg;
	char op[64] = "";

	if (strcmp(s->name, w->name))
		return 0;
	if (fl_metrics_label(s->labels, "op", op, sizeof(op)) < 0)
		return 0;
	if (w->op ? strcmp(op, w->op) : op[0] != '\0')
		return 0;
	w->value = s->value;
	w->found++;
	return 0;
}

/* The value of name{op} in m's text, -1 when absent. */
static double value(struct fl_metrics *m, const char *name, const char *op)
{
	struct want w = {name, op, -1, 0};
	struct fl_buf b;

	fl_buf_init(&b, 1 << 22);
	CHECK_EQ(fl_metrics_write(m, &b), 0);
	CHECK_EQ(fl_metrics_parse(b.data ? b.data : "", b.len, find_cb, &w, NULL), 0);
	fl_buf_free(&b);
	return w.found ? w.value : -1;
}

int main(void)
{
	struct fl_metrics *m = fl_metrics_new(), *other;
	struct fl_store *root = fl_mem_open(), *st, *peer, *victim, *fencer;
	const uint64_t offs[2] = {0, 8192};
	const size_t lens[2] = {4096, 100};
	char buf[8192] = {0};
	const void *bufs[2] = {buf, buf};
	struct fl_batch *b;
	uint64_t size;

	if (!m || !root) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	CHECK_EQ(fl_store_metrics(root, m), 0);
	CHECK_EQ(fl_store_metrics(root, m), 0); /* twice: still one layer */
	other = fl_metrics_new();
	CHECK_EQ(fl_store_metrics(root, other), -EINVAL); /* another registry */
	fl_metrics_free(other);
	/* clones are wrapped too: the contract through the layer */
	st = root->ops->clone_ns(root, "conf");
	peer = root->ops->clone_ns(root, "conf");
	victim = root->ops->clone_ns(root, "fence");
	fencer = root->ops->clone_ns(root, "fence");
	CHECK(st && peer && victim && fencer);
	CHECK(st->ops == root->ops);
	check_failures += store_conformance(st, peer, "conf");
	check_failures += store_conformance_fence(victim, fencer);
	CHECK(value(m, "flockerfs_rados_op_duration_seconds_count", "omap_update") > 0);
	CHECK(value(m, "flockerfs_rados_op_duration_seconds_count", "lock") > 0);
	CHECK(value(m, "flockerfs_rados_op_duration_seconds_count", "batch_write") > 0);

	{
		struct fl_store *s2 = root->ops->clone_ns(root, "counts");
		double reads = value(m, "flockerfs_rados_op_duration_seconds_count", "read");
		double rerr = value(m, "flockerfs_rados_op_errors_total", "read");
		double wb = value(m, "flockerfs_writeback_duration_seconds_count", NULL);
		double wbytes = value(m, "flockerfs_writeback_bytes_total", NULL);
		double commits = value(m, "flockerfs_journal_commit_duration_seconds_count", NULL);

		/* a missing object is an answer, not a failure */
		CHECK(s2->ops->read(s2, "nothing", 0, 10, buf) == -ENOENT);
		CHECK(s2->ops->stat(s2, "nothing", &size) == -ENOENT);
		CHECK(value(m, "flockerfs_rados_op_duration_seconds_count", "read") == reads + 1);
		CHECK(value(m, "flockerfs_rados_op_errors_total", "read") == rerr);
		/* an injected failure is one */
		fl_mem_inject_error(s2, -EIO, 1);
		CHECK(s2->ops->read(s2, "nothing", 0, 10, buf) == -EIO);
		CHECK(value(m, "flockerfs_rados_op_errors_total", "read") ==
		      (rerr < 0 ? 1 : rerr + 1));
		/* a batch of writes is a write-back, with its bytes */
		b = fl_batch_new(s2);
		CHECK(b != NULL);
		if (b) {
			b->ops->writev(b, "data.1", offs, bufs, lens, 2);
			b->ops->write(b, "data.2", 0, buf, 1000);
			CHECK_EQ(fl_batch_wait(b), 0);
		}
		CHECK(value(m, "flockerfs_writeback_duration_seconds_count", NULL) == wb + 1);
		CHECK(value(m, "flockerfs_writeback_bytes_total", NULL) == wbytes + 5196);
		/* an append to a journal segment is a commit; to another object not */
		CHECK_EQ(s2->ops->append(s2, "jrnl.0000000000000001", buf, 10), 0);
		CHECK_EQ(s2->ops->append(s2, "other", buf, 10), 0);
		CHECK(value(m, "flockerfs_journal_commit_duration_seconds_count", NULL) ==
		      commits + 1);
		store_clean_ns(s2);
		fl_store_close(s2);
	}
	fl_store_close(st);
	fl_store_close(peer);
	fl_store_close(victim);
	fl_store_close(fencer);
	fl_store_close(root);
	fl_metrics_free(m);
	return check_report("test_store_metrics");
}
