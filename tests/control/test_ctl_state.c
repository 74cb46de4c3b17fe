/*
 * Unit test of flocker-control's registry (cluster/control/ctl_state.c) on the
 * in-memory store: datasets, the configuration tag and its guard, a second
 * leader fencing the first, the trash (remove, name reuse, restore, purge),
 * leases and their conditions, nodes, and the repair of a removal that a
 * crash interrupted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/control/ctl_state.h"
#include "flocker/record.h"
#include "fs/volume/volume.h"

static char err[512];

/* a failed check ends the test, with the last error message */
#define CHECK_ON_FAILURE() (fprintf(stderr, "last error: %s\n", err), abort())
#include "tests/check.h"

int main(void)
{
	struct fl_store *pool = fl_mem_open();
	struct fl_state *s = NULL, *s2 = NULL;
	struct fl_ds d;
	struct fl_volreg_rec r;
	struct fl_lease l = {0}, l2;
	const struct fl_lease *lp;
	const struct fl_trash *t;
	char id1[37], id2[37], name[FL_VOLNAME_MAX + 1];
	uint64_t tag;

	CHECK(pool);
	CHECK_EQ(fl_state_open(pool, NULL, 3600, &s, err, sizeof(err)), 0);
	CHECK_EQ(fl_state_tag(s), 2); /* created at 1, claimed by this leader */

	/* datasets are volumes */
	CHECK_EQ(fl_state_ds_create(s, "vol-a", 1 << 30, "{\"owner\":\"x\"}", NULL, 0, &d, err,
				    sizeof(err)),
		 0);
	snprintf(id1, sizeof(id1), "%s", d.uuid);
	CHECK(d.metadata && strstr(d.metadata, "owner"));
	fl_ds_clear(&d);
	CHECK_EQ(fl_state_volume_by_name(s, "vol-a", &r), 0);
	CHECK(!strcmp(r.uuid, id1) && r.size_limit == 1u << 30);
	CHECK_EQ(fl_state_volume_by_uuid(s, id1, name, &r), 0);
	CHECK(!strcmp(name, "vol-a"));
	CHECK(fl_state_ds(s, id1));
	CHECK_EQ(fl_state_tag(s), 3);
	CHECK_EQ(fl_state_ds_create(s, "vol-a", 0, NULL, NULL, 0, NULL, err, sizeof(err)), -EEXIST);
	CHECK_EQ(fl_state_ds_create(s, "vol-b", 0, NULL, NULL, 2, NULL, err, sizeof(err)), -ESTALE);
	CHECK_EQ(fl_state_volume_by_name(s, "vol-b", &r), -ENOENT);
	printf("ok datasets: create, lookups, exists, stale tag refused before anything is made\n");

	/* leases: conditional on the current one */
	snprintf(l.uuid, sizeof(l.uuid), "%s", id1);
	snprintf(l.node, sizeof(l.node), "11111111-1111-4111-8111-111111111111");
	snprintf(l.node_name, sizeof(l.node_name), "host-a");
	l.since = time(NULL);
	l.kind = FL_LEASE_AGENT;
	CHECK_EQ(fl_state_lease_put(s, &l, NULL, true, 0, err, sizeof(err)), 0);
	CHECK(!strcmp(fl_state_ds(s, id1)->primary, l.node));
	l2 = l;
	snprintf(l2.node, sizeof(l2.node), "22222222-2222-4222-8222-222222222222");
	CHECK_EQ(fl_state_lease_put(s, &l2, NULL, true, 0, err, sizeof(err)), -EAGAIN);
	CHECK_EQ(fl_state_lease_put(s, &l2, &l2, true, 0, err, sizeof(err)), -EAGAIN);
	CHECK_EQ(fl_state_lease_put(s, &l2, &l, true, 0, err, sizeof(err)), 0);
	lp = fl_state_lease(s, id1);
	CHECK(lp && !strcmp(lp->node, l2.node));
	CHECK_EQ(fl_state_lease_del(s, id1, &l, 0, err, sizeof(err)), -EAGAIN);
	/* an expired operator lease goes */
	l2.kind = FL_LEASE_OPERATOR;
	l2.expires = time(NULL) - 1;
	CHECK_EQ(fl_state_lease_put(s, &l2, fl_state_lease(s, id1), false, 0, err, sizeof(err)), 0);
	CHECK_EQ(fl_state_expire_leases(s, time(NULL)), 1);
	CHECK(!fl_state_lease(s, id1));
	CHECK_EQ(fl_state_lease_put(s, &l, NULL, false, 0, err, sizeof(err)), 0);
	printf("ok leases: set only over the lease expected, released only if unchanged, operator leases expire\n");

	/* nodes */
	CHECK_EQ(fl_state_node_seen(s, l.node, "host-a", "10.0.0.1", "hosta", 100), 0);
	CHECK_EQ(fl_state_node_seen(s, l.node, "host-a", "10.0.0.2", "hosta", 200), 0);
	CHECK(fl_state_node(s, l.node)->first_seen == 100 &&
	      fl_state_node(s, l.node)->last_seen == 200);
	CHECK(fl_state_node_by_name(s, "host-a"));

	/* a second leader loads everything and fences the first */
	tag = fl_state_tag(s);
	CHECK_EQ(fl_state_open(pool, NULL, 3600, &s2, err, sizeof(err)), 0);
	CHECK(fl_state_tag(s2) == tag + 1);
	CHECK(fl_state_ds(s2, id1) && fl_state_lease(s2, id1));
	CHECK(!strcmp(fl_state_node(s2, l.node)->addr, "10.0.0.2"));
	CHECK_EQ(fl_state_lease_del(s, id1, NULL, 0, err, sizeof(err)), -ECANCELED);
	CHECK(fl_state_fenced(s));
	CHECK(fl_state_lease(s2, id1));
	fl_state_free(s);
	s = s2;
	printf("ok a new leader loads everything and bumps the tag: the old one's next write fails and fences it\n");

	/* remove to the trash: the name is free at once */
	CHECK_EQ(fl_state_ds_remove(s, id1, 0, err, sizeof(err)), 0);
	CHECK(!fl_state_ds(s, id1) && !fl_state_lease(s, id1));
	t = fl_state_trash(s, id1);
	CHECK(t && !strcmp(t->name, "vol-a") && t->purge_at >= t->removed + 3600);
	CHECK_EQ(fl_state_volume_by_name(s, "vol-a", &r), -ENOENT);
	CHECK_EQ(fl_state_ds_remove(s, id1, 0, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "trash"));
	CHECK_EQ(fl_state_ds_create(s, "vol-a", 0, NULL, NULL, 0, &d, err, sizeof(err)), 0);
	snprintf(id2, sizeof(id2), "%s", d.uuid);
	fl_ds_clear(&d);
	CHECK(strcmp(id1, id2));
	CHECK_EQ(fl_state_ds_restore(s, id1, NULL, 0, err, sizeof(err)), -EEXIST);
	CHECK(fl_state_trash(s, id1) && !fl_state_trash(s, id1)->restoring);
	CHECK_EQ(fl_state_ds_restore(s, id1, "vol-a-old", 0, err, sizeof(err)), 0);
	CHECK_EQ(fl_state_volume_by_name(s, "vol-a-old", &r), 0);
	CHECK(!strcmp(r.uuid, id1) && !fl_state_trash(s, id1));
	CHECK(fl_state_ds(s, id1) && strstr(fl_state_ds(s, id1)->metadata, "owner"));
	printf("ok remove: to the trash, name reusable at once; restore refuses a taken name, takes a new one, keeps metadata\n");

	/* a removal interrupted after the trash write, before the registry: repaired on load */
	CHECK_EQ(fl_state_ds_remove(s, id2, 0, err, sizeof(err)), 0);
	{
		struct fl_store *reg = pool->ops->clone_ns(pool, FL_REG_NS);
		struct fl_buf b;
		struct fl_kv kv;

		fl_buf_init(&b, FL_REC_MAX);
		CHECK_EQ(fl_volreg_encode(&fl_state_trash(s, id2)->reg, &b), 0);
		kv.key = "vol-a";
		kv.val = b.data;
		kv.len = b.len;
		CHECK_EQ(reg->ops->omap_update(reg, FL_REG_OID, &kv, 1, NULL, 0, NULL, 0), 0);
		fl_buf_free(&b);
		fl_store_close(reg);
	}
	CHECK_EQ(fl_state_volume_by_name(s, "vol-a", &r), 0);
	fl_state_free(s);
	CHECK_EQ(fl_state_open(pool, NULL, 3600, &s, err, sizeof(err)), 0);
	CHECK_EQ(fl_state_volume_by_name(s, "vol-a", &r), -ENOENT);
	CHECK(fl_state_trash(s, id2));
	printf("ok a removal cut short by a crash is finished when the next leader loads\n");

	/* purge after the TTL: the volume's objects go, and the entry */
	CHECK_EQ(fl_state_purge(s, time(NULL)), 0);
	CHECK(fl_state_trash(s, id2));
	/* while its objects are being deleted (off control's loop), no restore */
	{
		char pu[37], pn[FL_VOLNAME_MAX + 1];

		CHECK_EQ(fl_state_purge_next(s, time(NULL) + 3601, pu, pn), 1);
		CHECK(!strcmp(pu, id2) && !strcmp(pn, "vol-a"));
		CHECK_EQ(fl_state_purge_next(s, time(NULL) + 3601, pu, pn), 0);
		CHECK_EQ(fl_state_ds_restore(s, id2, "vol-c", 0, err, sizeof(err)), -EBUSY);
		CHECK(strstr(err, "being purged"));
		CHECK_EQ(fl_state_purge_done(s, id2, -EIO), -EIO);
		CHECK(fl_state_trash(s, id2));
	}
	printf("ok a volume being purged cannot be restored; a failed purge keeps its trash entry\n");
	CHECK_EQ(fl_state_purge(s, time(NULL) + 3601), 1);
	CHECK(!fl_state_trash(s, id2));
	{
		struct fl_store *vs;
		char ns[48];

		snprintf(ns, sizeof(ns), "vol.%s", id2);
		vs = pool->ops->clone_ns(pool, ns);
		CHECK_EQ(vs->ops->stat(vs, FL_OID_SUPER, NULL), -ENOENT);
		fl_store_close(vs);
	}
	printf("ok the trash is purged after its TTL, objects and entry\n");

	/* removal refused while a writer holds the volume */
	{
		struct fl_volume *v = NULL;

		CHECK_EQ(fl_volume_open(pool, "vol-a-old", &v, err, sizeof(err)), 0);
		CHECK_EQ(fl_volume_lock(v, 30, false, err, sizeof(err)), 0);
		CHECK_EQ(fl_state_ds_remove(s, id1, 0, err, sizeof(err)), -EBUSY);
		CHECK(strstr(err, "mounted read-write"));
		fl_volume_close(v);
		CHECK_EQ(fl_state_ds_remove(s, id1, 0, err, sizeof(err)), 0);
	}
	printf("ok removal refused while mounted read-write\n");

	/* another namespace is another configuration */
	CHECK_EQ(fl_state_open(pool, "ctl.other", 0, &s2, err, sizeof(err)), 0);
	CHECK_EQ(fl_state_tag(s2), 2);
	CHECK(!fl_state_trash(s2, id1));
	fl_state_free(s2);

	fl_state_free(s);
	fl_store_close(pool);
	printf("test_ctl_state: all checks passed\n");
	return 0;
}
