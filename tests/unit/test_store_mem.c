/*
 * flockerfs — the in-memory store: the shared conformance checks, then what
 * only the mem store has (fault injection, handles as separate clients).
 */
#include "store_conformance.h"
#include "tests/check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/lib/count_cb.h"

static void test_inject(struct fl_store *root)
{
	struct fl_store *a = root->ops->clone_ns(root, "inj"),
			*b = root->ops->clone_ns(root, "inj");
	struct fl_batch *batch;
	uint64_t size;
	char buf[4];
	ssize_t got = 1;

	CHECK(a && b);
	if (!a || !b)
		goto out;
	CHECK_EQ(a->ops->write(a, "x", 0, "abc", 3), 0);

	/* the next n ops of any clone fail */
	fl_mem_inject_error(a, -EIO, 2);
	CHECK_EQ(b->ops->read(b, "x", 0, 3, buf), -EIO);
	CHECK_EQ(a->ops->omap_update(a, "x", NULL, 0, NULL, 0, NULL, 0), -EIO);
	CHECK_EQ(a->ops->stat(a, "x", &size), 0);
	/* positive errnos are taken as negative ones; 0 turns it off */
	fl_mem_inject_error(a, ENOSPC, 1);
	CHECK_EQ(a->ops->write(a, "y", 0, "abc", 3), -ENOSPC);
	CHECK_EQ(a->ops->stat(a, "y", &size), -ENOENT);
	fl_mem_inject_error(a, EIO, 5);
	fl_mem_inject_error(a, 0, 5);
	CHECK_EQ(a->ops->stat(a, "x", &size), 0);

	/* in a batch, each op counts */
	fl_mem_inject_error(a, -EIO, 1);
	batch = fl_batch_new(a);
	batch->ops->read(batch, "x", 0, 3, buf, &got);
	CHECK_EQ(fl_batch_wait(batch), -EIO);
	CHECK_EQ(got, -EIO);
	batch = fl_batch_new(a);
	batch->ops->read(batch, "x", 0, 3, buf, &got);
	CHECK_EQ(fl_batch_wait(batch), 0);
	CHECK_EQ(got, 3);
out:
	fl_store_close(a);
	fl_store_close(b);
}

static void test_handles(void)
{
	struct fl_store *one = fl_mem_open(), *two = fl_mem_open(), *c1, *c2, *dflt;
	char a1[128], a2[128], buf[4];
	int n = 0;

	CHECK(one && two);
	if (!one || !two)
		goto out;
	/* stores are separate; clones share by namespace; NULL is "" */
	CHECK_EQ(one->ops->write(one, "x", 0, "1", 1), 0);
	CHECK_EQ(two->ops->read(two, "x", 0, 1, buf), -ENOENT);
	dflt = one->ops->clone_ns(one, "");
	c1 = one->ops->clone_ns(one, "ns");
	c2 = c1->ops->clone_ns(c1, "ns");
	CHECK(dflt && c1 && c2);
	if (!dflt || !c1 || !c2)
		goto out_clones;
	CHECK_EQ(dflt->ops->read(dflt, "x", 0, 1, buf), 1);
	CHECK_EQ(c1->ops->read(c1, "x", 0, 1, buf), -ENOENT);
	CHECK_EQ(c1->ops->write(c1, "y", 0, "2", 1), 0);
	CHECK_EQ(c2->ops->read(c2, "y", 0, 1, buf), 1);
	CHECK_EQ(one->ops->list_objects(one, NULL, count_oid_cb, &n), 0);
	CHECK_EQ(n, 1);

	/* every mem handle is its own client: own address, own fence */
	CHECK_EQ(c1->ops->self_addr(c1, a1, sizeof(a1)), 0);
	CHECK_EQ(c2->ops->self_addr(c2, a2, sizeof(a2)), 0);
	CHECK(strcmp(a1, a2) != 0);
	CHECK_EQ(c1->ops->lock_exclusive(c1, "y", "L", "c", "", 0, false), 0);
	CHECK_EQ(c2->ops->lock_exclusive(c2, "y", "L", "c", "", 0, false), -EBUSY);
	/* "[v2:...,v1:...]" vectors are taken, as their first address */
	{
		char vec[200];

		snprintf(vec, sizeof(vec), "[%s,v1:10.0.0.1:0/1]", a1);
		CHECK_EQ(c2->ops->blocklist_add(c2, vec, 0), 0);
	}
	CHECK_EQ(c1->ops->write(c1, "y", 0, "3", 1), -ESHUTDOWN);
	CHECK_EQ(c2->ops->write(c2, "y", 0, "4", 1), 0);
	CHECK_EQ(c1->ops->blocklist_add(c1, "v1:10.0.0.2:0/7", 1), 0);

	/* the last handle frees the store, whichever it is */
	fl_store_close(one);
	one = NULL;
	CHECK_EQ(c2->ops->read(c2, "y", 0, 1, buf), 1);
	CHECK_EQ(buf[0], '4');
out_clones:
	fl_store_close(dflt);
	fl_store_close(c1);
	fl_store_close(c2);
out:
	fl_store_close(one);
	fl_store_close(two);
}

int main(void)
{
	struct fl_store *root = fl_mem_open(), *st, *peer, *victim, *fencer;

	if (!root) {
		fprintf(stderr, "cannot open a mem store\n");
		return 1;
	}
	st = root->ops->clone_ns(root, "conf");
	peer = root->ops->clone_ns(root, "conf");
	victim = root->ops->clone_ns(root, "fence");
	fencer = root->ops->clone_ns(root, "fence");
	if (!st || !peer || !victim || !fencer) {
		fprintf(stderr, "cannot clone a mem store\n");
		return 1;
	}
	check_failures += store_conformance(st, peer, "conf");
	check_failures += store_conformance_fence(victim, fencer);
	check_failures += store_conformance_snap(st, "conf");
	test_inject(root);
	test_handles();
	fl_store_close(st);
	fl_store_close(peer);
	fl_store_close(victim);
	fl_store_close(fencer);
	fl_store_close(root);
	return check_report("test_store_mem");
}
