/*
 * test_control - the lease areas: leases, slow_rados, reconnect_storm,
 * watch_gap, failover (see test_control.c).
 */
#include "test_control.h"
#include "tests/lib/count_cb.h"

/* ------------------------------------------------------------------ */

/*
 * The start of a two-node area: ct_init(area), certificates for host-a and
 * host-b, control started with the options extra, and their simulated
 * agents a and b (not connected yet).
 */
static void start_two_hosts(const char *area, struct ct_control *c, const char *const *extra,
			    struct ct_sim *a, struct ct_sim *b)
{
	ct_init(area);
	ct_node_cert("host-a");
	ct_node_cert("host-b");
	ct_control_start(c, 0, 0, true, extra);
	ct_sim_init(a, "host-a");
	ct_sim_init(b, "host-b");
}

/* The end of a two-node area: the agents freed, control stopped, the area passed. */
static int end_two_hosts(const char *area, struct ct_control *c, struct ct_sim *a, struct ct_sim *b)
{
	ct_sim_free(a);
	ct_sim_free(b);
	ct_control_kill(c, SIGTERM);
	printf("test_control %s: all checks passed\n", area);
	return 0;
}

struct racer {
	struct ct_sim *s;
	const char *vol;
	pthread_barrier_t *bar;
	int ret;
	char msg[256];
};

static void *race_thread(void *p)
{
	struct racer *r = p;
	const char *kv[] = {"volume", r->vol, NULL};

	pthread_barrier_wait(r->bar);
	r->ret = ct_sim_call(r->s, "acquire", kv, 20000, r->msg, sizeof(r->msg), NULL);
	/* the winner keeps answering pushes as "in use" while the loser finishes */
	ct_sim_pump(r->s, 500);
	return NULL;
}

int test_leases(void)
{
	struct ct_control c;
	struct ct_sim a, b;
	struct pump pb;
	char v[64], uuid[37], msg[512], addr[128], err[512];
	const char *extra[] = {"--lease", "4", "--heartbeat", "1", NULL};
	struct fl_store *st_a, *st_b;
	struct fl_volume *va = NULL;
	struct fl_holder h;
	double t0, end;
	int round, wins, ret;

	start_two_hosts("leases", &c, extra, &a, &b);
	CHECK_EQ(ct_sim_connect(&a, c.agent_port), 0);
	CHECK_EQ(ct_sim_connect(&b, c.agent_port), 0);

	/* two nodes asking at the same instant: exactly one wins, every time */
	for (round = 0; round < 8; round++) {
		struct racer ra = {0}, rb = {0};
		pthread_barrier_t bar;
		pthread_t ta, tb;
		char n[16];
		const char *kv[] = {"volume", v, NULL};

		snprintf(n, sizeof(n), "race%d", round);
		vname(v, sizeof(v), n);
		CHECK_EQ(ct_sim_call(&a, "create", kv, 20000, msg, sizeof(msg), uuid), 0);
		pthread_barrier_init(&bar, NULL, 2);
		ra.s = &a;
		rb.s = &b;
		ra.vol = rb.vol = v;
		ra.bar = rb.bar = &bar;
		a.unmount_answer = b.unmount_answer = -EBUSY;
		pthread_create(&ta, NULL, race_thread, &ra);
		pthread_create(&tb, NULL, race_thread, &rb);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		pthread_barrier_destroy(&bar);
		/* keep both nodes alive for the next round */
		CHECK_EQ(ct_sim_heartbeat(&a, 5000), 0);
		CHECK_EQ(ct_sim_heartbeat(&b, 5000), 0);
		wins = (ra.ret == 0) + (rb.ret == 0);
		if (wins != 1)
			fprintf(stderr, "round %d: a %d (%s), b %d (%s)\n", round, ra.ret, ra.msg,
				rb.ret, rb.msg);
		CHECK_EQ(wins, 1);
		CHECK(ra.ret == 0 ? rb.ret == -EBUSY : ra.ret == -EBUSY);
		if (!strstr(ra.ret ? ra.msg : rb.msg, ra.ret ? "host-b" : "host-a"))
			fprintf(stderr, "round %d: a %d (%s), b %d (%s)\n", round, ra.ret, ra.msg,
				rb.ret, rb.msg);
		CHECK(strstr(ra.ret ? ra.msg : rb.msg, ra.ret ? "host-b" : "host-a"));
	}
	printf("ok 8 rounds of two nodes acquiring one volume at once: exactly one wins, the other is told who holds it\n");

	/* an idle holder gives the volume up on request */
	vname(v, sizeof(v), "handoff");
	{
		const char *kv[] = {"volume", v, NULL};

		CHECK_EQ(ct_sim_call(&a, "create", kv, 20000, msg, sizeof(msg), uuid), 0);
		CHECK_EQ(ct_sim_call(&a, "acquire", kv, 5000, msg, sizeof(msg), NULL), 0);
		a.unmount_answer = 0;
		a.pushes = 0;
		pump_start(&pb, &a);
		CHECK_EQ(ct_sim_call(&b, "acquire", kv, 20000, msg, sizeof(msg), NULL), 0);
		pump_stop(&pb);
		CHECK_EQ(a.pushes, 1);
		CHECK_EQ(ct_sim_heartbeat(&a, 5000), 0);
	}
	printf("ok a live idle holder unmounts on request and the other node gets the volume\n");

	/* a dead holder is fenced */
	vname(v, sizeof(v), "dead");
	{
		const char *kv[] = {"volume", v, NULL};

		CHECK_EQ(ct_sim_call(&a, "create", kv, 20000, msg, sizeof(msg), uuid), 0);
		CHECK_EQ(ct_sim_call(&a, "acquire", kv, 5000, msg, sizeof(msg), NULL), 0);
		/* node a "mounts" it: its own RADOS client takes the writer lock */
		st_a = ct_rados();
		CHECK_EQ(fl_volume_open(st_a, v, &va, err, sizeof(err)), 0);
		CHECK_EQ(fl_volume_lock(va, 60, false, err, sizeof(err)), 0);
		CHECK_EQ(st_a->ops->self_addr(st_a, addr, sizeof(addr)), 0);
		snprintf(a.mounts[0].uuid, sizeof(a.mounts[0].uuid), "%s", uuid);
		snprintf(a.mounts[0].name, sizeof(a.mounts[0].name), "%s", v);
		snprintf(a.mounts[0].addr, sizeof(a.mounts[0].addr), "%s", addr);
		a.mounts[0].users = 1;
		a.nmounts = 1;
		CHECK_EQ(ct_sim_heartbeat(&a, 5000), 0);
		t0 = ct_now();
		/* alive and using it: refused, naming it and since when */
		CHECK_EQ(ct_sim_call(&b, "acquire", kv, 5000, msg, sizeof(msg), NULL), -EBUSY);
		CHECK(strstr(msg, "in use on node host-a since"));
		printf("ok refused while the holder is alive and uses it: %s\n", msg);
		/* a stops heartbeating (frozen, partitioned); b keeps asking */
		end = ct_now() + 30;
		do {
			ct_sleep_ms(500);
			CHECK_EQ(ct_sim_heartbeat(&b, 5000), 0);
			ret = ct_sim_call(&b, "acquire", kv, 20000, msg, sizeof(msg), NULL);
		} while (ret == -EBUSY && ct_now() < end);
		CHECK_EQ(ret, 0);
		printf("ok granted %.1f s after the holder's last heartbeat (lease 4 s)\n",
		       ct_now() - t0);
		CHECK(ct_now() - t0 >= 3.5);
		/* the dead holder's RADOS client is blocklisted: its writes fail */
		end = ct_now() + 30;
		do {
			ret = st_a->ops->write_full(st_a, "ctltest.fenced", "x", 1);
			if (ret != -ESHUTDOWN)
				ct_sleep_ms(200);
		} while (ret != -ESHUTDOWN && ct_now() < end);
		CHECK_EQ(ret, -ESHUTDOWN);
		/* and its lock is gone: another client can take the volume */
		st_b = ct_rados();
		{
			struct fl_volume *vb = NULL;

			CHECK_EQ(fl_volume_open(st_b, v, &vb, err, sizeof(err)), 0);
			CHECK(fl_volume_holder(vb, &h) == 0 || strcmp(h.addr, addr));
			CHECK_EQ(fl_volume_lock(vb, 30, false, err, sizeof(err)), 0);
			fl_volume_close(vb);
		}
		fl_store_close(st_b);
		printf("ok the dead holder's RADOS client %s is blocklisted (its writes fail) and its lock broken\n",
		       addr);
		va->locked = false; /* its lock was broken: nothing to release */
		fl_volume_close(va);
		fl_store_close(st_a);
	}
	return end_two_hosts("leases", &c, &a, &b);
}

/* ------------------------------------------------------------------ */

/* A mount daemon that holds the writer lock and watches, but never answers in time. */
static size_t mute_reply(void *arg, char *buf, size_t cap)
{
	(void)arg;
	(void)buf;
	(void)cap;
	ct_sleep_ms(1500); /* past control's 1 s probe */
	return 0;
}

struct hb_meter {
	struct ct_sim *s;
	volatile int stop;
	pthread_t th;
	double worst, sum;
	int n, failed;
};

static void *hb_thread(void *p)
{
	struct hb_meter *m = p;
	double t0, took;

	while (!m->stop) {
		t0 = ct_now();
		if (ct_sim_heartbeat(m->s, 10000))
			m->failed++;
		took = ct_now() - t0;
		m->sum += took;
		m->n++;
		if (took > m->worst)
			m->worst = took;
		ct_sleep_ms(100);
	}
	return NULL;
}

struct acquirer {
	struct ct_sim s;
	char vol[64];
	int ret;
	char msg[512];
	double took;
	pthread_t th;
};

static void *acquirer_thread(void *p)
{
	struct acquirer *q = p;
	const char *kv[] = {"volume", q->vol, NULL};
	double t0 = ct_now();

	q->ret = ct_sim_call(&q->s, "acquire", kv, 30000, q->msg, sizeof(q->msg), NULL);
	q->took = ct_now() - t0;
	return NULL;
}

#define SLOW_N 3

/*
 * Node s's mount daemon of volume name (uuid), on its own RADOS client st:
 * holds the writer lock, renews it, answers probes; s's heartbeat reports
 * the mount.  The volume in *v.
 */
static void holder_mount(struct ct_sim *s, struct fl_store *st, const char *name, const char *uuid,
			 struct fl_volume **v)
{
	char addr[128], err[512];

	CHECK_EQ(fl_volume_open(st, name, v, err, sizeof(err)), 0);
	CHECK_EQ(fl_volume_lock(*v, 60, false, err, sizeof(err)), 0);
	CHECK_EQ(fl_volume_watch(*v), 0);
	CHECK_EQ(st->ops->self_addr(st, addr, sizeof(addr)), 0);
	snprintf(s->mounts[0].uuid, sizeof(s->mounts[0].uuid), "%s", uuid);
	snprintf(s->mounts[0].name, sizeof(s->mounts[0].name), "%s", name);
	snprintf(s->mounts[0].addr, sizeof(s->mounts[0].addr), "%s", addr);
	s->mounts[0].users = 1;
	s->nmounts = 1;
	CHECK_EQ(ct_sim_heartbeat(s, 5000), 0);
}

/*
 * A reconnect storm while RADOS is slow: every hello writes the node's record
 * (ctl.nodes).  Control's RADOS client gets each OSD reply late (Ceph's own
 * ms_inject_delay_*: up to STORM_DELAY s, at random), as on a loaded cluster,
 * and STORM_N agents connect at once, as after a failover.  The heartbeats of
 * a node already connected must still be answered at once: the writes run
 * off the event loop.
 */
#define STORM_N	    16
#define STORM_DELAY "0.3"

struct stormer {
	struct ct_sim s;
	int ret;
	double took;
	unsigned port;
	char vol[64];
	pthread_t th;
};

static void *stormer_tls_thread(void *p)
{
	struct stormer *x = p;

	x->ret = ct_sim_connect_tls(&x->s, x->port);
	return NULL;
}

/* Each storm agent takes a volume of its own and gives it back. */
static void *stormer_lease_thread(void *p)
{
	struct stormer *x = p;
	const char *kv[] = {"volume", x->vol, NULL};
	char msg[512];
	double t0 = ct_now();

	x->ret = ct_sim_call(&x->s, "acquire", kv, 20000, msg, sizeof(msg), NULL);
	if (!x->ret)
		x->ret = ct_sim_call(&x->s, "release", kv, 20000, msg, sizeof(msg), NULL);
	if (x->ret)
		fprintf(stderr, "%s: %s\n", x->vol, msg);
	x->took = ct_now() - t0;
	return NULL;
}

static void *stormer_hello_thread(void *p)
{
	struct stormer *x = p;
	double t0 = ct_now();

	x->ret = ct_sim_hello(&x->s);
	x->took = ct_now() - t0;
	return NULL;
}

/*
 * The STORM_N stormers run fn all at once while hb measures the heartbeats
 * (its counts start afresh); hb stops 0.3 s after the last answer.  Returns
 * the seconds until every stormer was answered; failures add to *failed.
 */
static double storm_run(struct stormer *x, void *(*fn)(void *), struct hb_meter *hb, int *failed)
{
	double t0, took;
	int i;

	hb->worst = hb->sum = 0;
	hb->n = 0;
	t0 = ct_now();
	for (i = 0; i < STORM_N; i++)
		pthread_create(&x[i].th, NULL, fn, &x[i]);
	for (i = 0; i < STORM_N; i++) {
		pthread_join(x[i].th, NULL);
		if (x[i].ret)
			(*failed)++;
	}
	took = ct_now() - t0;
	ct_sleep_ms(300);
	hb->stop = 1;
	pthread_join(hb->th, NULL);
	return took;
}

void test_reconnect_storm(void)
{
	struct ct_control c;
	struct ct_sim h;
	struct stormer x[STORM_N];
	struct hb_meter hb = {0};
	struct fl_store *st, *ns;
	const char *extra[] = {"--lease", "6", "--heartbeat", "1", NULL};
	const char *old = getenv("CEPH_ARGS");
	char args[512], name[32];
	double storm;
	bool more = true;
	int i, nrec = 0, failed = 0;

	ct_node_cert("host-h2");
	for (i = 0; i < STORM_N; i++) {
		snprintf(name, sizeof(name), "host-s%d", i);
		ct_node_cert(name);
	}
	/* the slow replies are control's alone: the test's own clients are not slowed */
	snprintf(args, sizeof(args),
		 "%s --ms_inject_delay_type=osd --ms_inject_delay_max=" STORM_DELAY
		 " --ms_inject_delay_probability=1",
		 old ? old : "");
	old = old ? strdup(old) : NULL;
	setenv("CEPH_ARGS", args, 1);
	ct_control_start(&c, 0, 0, true, extra);
	if (old)
		setenv("CEPH_ARGS", old, 1);
	else
		unsetenv("CEPH_ARGS");
	free((void *)old);
	ct_sim_init(&h, "host-h2");
	CHECK_EQ(ct_sim_connect(&h, c.agent_port), 0);
	hb.s = &h;
	pthread_create(&hb.th, NULL, hb_thread, &hb);
	/* the TLS handshakes first (CPU on the loop, not RADOS), then the hellos at once */
	for (i = 0; i < STORM_N; i++) {
		snprintf(name, sizeof(name), "host-s%d", i);
		ct_sim_init(&x[i].s, name);
		x[i].port = c.agent_port;
		pthread_create(&x[i].th, NULL, stormer_tls_thread, &x[i]);
	}
	for (i = 0; i < STORM_N; i++) {
		pthread_join(x[i].th, NULL);
		CHECK_EQ(x[i].ret, 0);
	}
	ct_sleep_ms(1000);
	printf("heartbeats before the storm (TLS handshakes included): worst answer %.3f s over "
	       "%d\n",
	       hb.worst, hb.n);
	storm = storm_run(x, stormer_hello_thread, &hb, &failed);
	printf("reconnect storm of %d agents, control's RADOS replies delayed up to %s s: all "
	       "hellos answered after %.2f s (%d failed)\n",
	       STORM_N, STORM_DELAY, storm, failed);
	printf("heartbeats of node host-h2 during the storm: worst answer %.3f s, mean %.3f s "
	       "over %d (failed %d)\n",
	       hb.worst, hb.n ? hb.sum / hb.n : 0.0, hb.n, hb.failed);
	CHECK_EQ(failed, 0);
	CHECK_EQ(hb.failed, 0);
	/* a heartbeat is answered in a few ms; the storm's writes on the loop held it
	 * for seconds (STORM_N writes one after another).  0.5 s leaves room for a
	 * loaded test machine. */
	CHECK(hb.worst < 0.5);
	/* every hello was answered only once its node's record was in RADOS */
	st = ct_rados();
	ns = st->ops->clone_ns(st, ct.state_ns);
	CHECK(ns != NULL);
	CHECK_EQ(ns->ops->omap_list(ns, FL_CTL_NODES_OID, NULL, UINT32_MAX, count_kv_cb, &nrec,
				    &more),
		 0);
	printf("ctl.nodes holds %d records\n", nrec);
	CHECK(nrec >= STORM_N + 1);
	printf("ok heartbeats answered in time during a reconnect storm of %d agents on slow "
	       "RADOS; every node's record was written before its hello was answered\n",
	       STORM_N);

	/* then each agent acquires a volume of its own and releases it, all at once:
	 * registry reads and guarded lease writes, on slow RADOS too */
	for (i = 0; i < STORM_N; i++) {
		char err[512];

		snprintf(name, sizeof(name), "storm%d", i);
		vname(x[i].vol, sizeof(x[i].vol), name);
		CHECK_EQ(fl_volume_create(st, x[i].vol, 0, 0, err, sizeof(err)), 0);
	}
	hb.stop = 0;
	hb.worst = hb.sum = 0;
	hb.n = hb.failed = 0;
	pthread_create(&hb.th, NULL, hb_thread, &hb);
	ct_sleep_ms(300);
	storm = storm_run(x, stormer_lease_thread, &hb, &failed);
	printf("%d acquires and releases at once on slow RADOS: all answered after %.2f s (%d "
	       "failed); heartbeats of node host-h2 meanwhile: worst answer %.3f s, mean %.3f s "
	       "over %d (failed %d)\n",
	       STORM_N, storm, failed, hb.worst, hb.n ? hb.sum / hb.n : 0.0, hb.n, hb.failed);
	CHECK_EQ(failed, 0);
	CHECK_EQ(hb.failed, 0);
	CHECK(hb.worst < 0.5);
	printf("ok heartbeats answered in time while %d agents took and gave back leases\n",
	       STORM_N);
	fl_store_close(ns);
	fl_store_close(st);
	for (i = 0; i < STORM_N; i++)
		ct_sim_free(&x[i].s);
	ct_sim_free(&h);
	ct_control_kill(&c, SIGTERM);
}

int test_slow_rados(void)
{
	struct ct_control c;
	struct ct_sim a, h;
	struct acquirer q[SLOW_N];
	struct hb_meter hb = {0};
	struct fl_store *st[SLOW_N], *st_h;
	struct fl_volume *va[SLOW_N], *vh = NULL;
	uint64_t wh[SLOW_N];
	char v[64], w[64], uuid[37], msg[512], addr[128], err[512], name[32];
	const char *extra[] = {"--lease", "4", "--heartbeat", "1", NULL};
	json_t *j;
	int i, stc;

	ct_init("slow_rados");
	ct_node_cert("host-a");
	ct_node_cert("host-h");
	for (i = 0; i < SLOW_N; i++) {
		snprintf(name, sizeof(name), "host-b%d", i);
		ct_node_cert(name);
	}
	ct_control_start(&c, 0, 0, true, extra);
	ct_sim_init(&a, "host-a");
	ct_sim_init(&h, "host-h");
	CHECK_EQ(ct_sim_connect(&a, c.agent_port), 0);
	CHECK_EQ(ct_sim_connect(&h, c.agent_port), 0);

	/* node h: a healthy holder whose mount daemon answers probes */
	vname(w, sizeof(w), "healthy");
	{
		const char *kv[] = {"volume", w, NULL};

		CHECK_EQ(ct_sim_call(&h, "create", kv, 20000, msg, sizeof(msg), uuid), 0);
		CHECK_EQ(ct_sim_call(&h, "acquire", kv, 5000, msg, sizeof(msg), NULL), 0);
	}
	st_h = ct_rados();
	holder_mount(&h, st_h, w, uuid, &vh);

	/* node a: SLOW_N volumes, each mounted by its own RADOS client that never answers */
	for (i = 0; i < SLOW_N; i++) {
		const char *kv[] = {"volume", v, NULL};

		snprintf(name, sizeof(name), "mute%d", i);
		vname(v, sizeof(v), name);
		snprintf(q[i].vol, sizeof(q[i].vol), "%s", v);
		CHECK_EQ(ct_sim_call(&a, "create", kv, 20000, msg, sizeof(msg), uuid), 0);
		CHECK_EQ(ct_sim_call(&a, "acquire", kv, 5000, msg, sizeof(msg), NULL), 0);
		st[i] = ct_rados();
		CHECK_EQ(fl_volume_open(st[i], v, &va[i], err, sizeof(err)), 0);
		CHECK_EQ(fl_volume_lock(va[i], 60, false, err, sizeof(err)), 0);
		CHECK_EQ(va[i]->st->ops->watch(va[i]->st, FL_OID_SUPER, mute_reply, NULL, &wh[i]),
			 0);
		CHECK_EQ(st[i]->ops->self_addr(st[i], addr, sizeof(addr)), 0);
		snprintf(a.mounts[i].uuid, sizeof(a.mounts[i].uuid), "%s", uuid);
		snprintf(a.mounts[i].name, sizeof(a.mounts[i].name), "%s", v);
		snprintf(a.mounts[i].addr, sizeof(a.mounts[i].addr), "%s", addr);
		a.mounts[i].users = 1;
	}
	a.nmounts = SLOW_N;
	CHECK_EQ(ct_sim_heartbeat(&a, 5000), 0);

	/* h heartbeats all along (every 0.1 s) and times each answer */
	hb.s = &h;
	pthread_create(&hb.th, NULL, hb_thread, &hb);
	/* a goes silent; past its lease, SLOW_N nodes ask for its volumes at once */
	ct_sim_close(&a);
	ct_sleep_ms(5500);
	for (i = 0; i < SLOW_N; i++) {
		snprintf(name, sizeof(name), "host-b%d", i);
		ct_sim_init(&q[i].s, name);
		CHECK_EQ(ct_sim_connect(&q[i].s, c.agent_port), 0);
	}
	printf("heartbeats before the probes: worst answer %.3f s over %d\n", hb.worst, hb.n);
	hb.worst = hb.sum = 0;
	hb.n = 0;
	for (i = 0; i < SLOW_N; i++)
		pthread_create(&q[i].th, NULL, acquirer_thread, &q[i]);
	for (i = 0; i < SLOW_N; i++)
		pthread_join(q[i].th, NULL);
	ct_sleep_ms(300);
	hb.stop = 1;
	pthread_join(hb.th, NULL);
	for (i = 0; i < SLOW_N; i++) {
		printf("acquire of %s (silent holder, mute mount daemon): %d after %.2f s%s%s\n",
		       q[i].vol, q[i].ret, q[i].took, q[i].ret ? ": " : "",
		       q[i].ret ? q[i].msg : "");
		CHECK_EQ(q[i].ret, 0);
	}
	printf("heartbeats of node host-h during %d probes of 1 s each: worst answer %.3f s, "
	       "mean %.3f s over %d (failed %d)\n",
	       SLOW_N, hb.worst, hb.n ? hb.sum / hb.n : 0.0, hb.n, hb.failed);
	CHECK_EQ(hb.failed, 0);
	/* a heartbeat is answered in a few ms; a probe on the loop held it 1 s or more.
	 * 0.5 s leaves room for a loaded test machine. */
	CHECK(hb.worst < 0.5);
	printf("ok heartbeats answered in time while %d silent holders were probed and fenced\n",
	       SLOW_N);

	/* the healthy node kept its volume and its RADOS client */
	{
		const char *kv[] = {"volume", w, NULL};

		CHECK_EQ(ct_sim_call(&q[0].s, "acquire", kv, 20000, msg, sizeof(msg), NULL),
			 -EBUSY);
		CHECK(strstr(msg, "in use on node host-h"));
	}
	CHECK_EQ(st_h->ops->write_full(st_h, "ctltest.healthy", "x", 1), 0);
	CHECK_EQ(fl_volume_renew(vh), 0);
	j = api_json(&c, "GET", "/v1/configuration/leases", NULL, NULL, &stc, NULL);
	CHECK_EQ(stc, 200);
	{
		size_t k;
		json_t *l;
		int mine = 0;

		json_array_foreach(j, k, l)
		{
			if (!strcmp(jstr(l, "node"), "host-h"))
				mine++;
		}
		CHECK_EQ(mine, 1);
	}
	json_decref(j);
	printf("ok the healthy node host-h was not fenced: its lease, its lock and its RADOS client stand\n");

	for (i = 0; i < SLOW_N; i++) {
		va[i]->st->ops->unwatch(va[i]->st, wh[i]);
		va[i]->locked = false; /* fenced: its lock was broken */
		fl_volume_close(va[i]);
		fl_store_close(st[i]);
		ct_sim_free(&q[i].s);
	}
	fl_volume_close(vh);
	fl_store_close(st_h);
	ct_sim_free(&a);
	ct_sim_free(&h);
	ct_control_kill(&c, SIGTERM);
	test_reconnect_storm();
	printf("test_control slow_rados: all checks passed\n");
	return 0;
}

/* ------------------------------------------------------------------ */

struct rewatcher {
	struct fl_volume *v;
	int ret;
	pthread_t th;
};

/* What the mount daemon does once it sees its watch broken (within 0.5 s). */
static void *rewatch_thread(void *p)
{
	struct rewatcher *w = p;

	ct_sleep_ms(300);
	w->ret = fl_volume_watch(w->v);
	return NULL;
}

int test_watch_gap(void)
{
	struct ct_control c;
	struct ct_sim a, b;
	struct fl_store *st;
	struct fl_volume *vw = NULL;
	struct rewatcher rw = {0};
	char v[64], uuid[37], msg[512];
	const char *extra[] = {"--lease", "4", "--heartbeat", "1", NULL};
	const char *kv[] = {"volume", v, NULL};
	int ret;

	start_two_hosts("watch_gap", &c, extra, &a, &b);
	CHECK_EQ(ct_sim_connect(&a, c.agent_port), 0);
	vname(v, sizeof(v), "gap");
	CHECK_EQ(ct_sim_call(&a, "create", kv, 20000, msg, sizeof(msg), uuid), 0);
	CHECK_EQ(ct_sim_call(&a, "acquire", kv, 5000, msg, sizeof(msg), NULL), 0);
	/* a's mount daemon: holds the writer lock, renews it, answers probes */
	st = ct_rados();
	holder_mount(&a, st, v, uuid, &vw);
	/* a's agent stops (a restart); past the lease, b asks for the volume just as the
	 * daemon's watch breaks: the probe finds nobody watching */
	ct_sim_close(&a);
	ct_sleep_ms(5500);
	CHECK_EQ(ct_sim_connect(&b, c.agent_port), 0);
	CHECK_EQ(fl_volume_renew(vw), 0);
	CHECK_EQ(vw->st->ops->unwatch(vw->st, vw->watch), 0);
	vw->watching = false;
	rw.v = vw;
	pthread_create(&rw.th, NULL, rewatch_thread, &rw);
	ret = ct_sim_call(&b, "acquire", kv, 20000, msg, sizeof(msg), NULL);
	pthread_join(rw.th, NULL);
	CHECK_EQ(rw.ret, 0);
	printf("acquire while the writer's watch was gone for 0.3 s: %d (%s)\n", ret, msg);
	CHECK_EQ(ret, -EBUSY);
	CHECK(strstr(msg, "answers and renewed its lock"));
	/* the writer was not fenced: it still writes and renews */
	CHECK_EQ(st->ops->write_full(st, "ctltest.gap", "x", 1), 0);
	CHECK_EQ(fl_volume_renew(vw), 0);
	printf("ok a probe in the watch gap does not fence the live writer: control asked again\n");
	fl_volume_close(vw);
	fl_store_close(st);
	return end_two_hosts("watch_gap", &c, &a, &b);
}

/* ------------------------------------------------------------------ */

/* How many datasets c lists whose name starts with prefix and that are not
 * deleted; the configuration tag into tag (NULL: not wanted). */
static int count_named(struct ct_control *c, const char *prefix, char *tag)
{
	json_t *arr, *d;
	size_t i;
	int n = 0, st;

	arr = api_json(c, "GET", "/v1/configuration/datasets", NULL, NULL, &st, tag);
	json_array_foreach(arr, i, d)
	{
		if (!strncmp(jstr(json_object_get(d, "metadata"), "name"), prefix,
			     strlen(prefix)) &&
		    json_is_false(json_object_get(d, "deleted")))
			n++;
	}
	json_decref(arr);
	return n;
}

/* Unix seconds of the first line of log path that contains needle (its ISO UTC stamp), or 0. */
static double log_stamp(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	struct tm tm;
	double t = 0, frac;
	int y, mo, d, h, mi;
	double sec;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, needle))
			continue;
		if (sscanf(line, "%d-%d-%dT%d:%d:%lf", &y, &mo, &d, &h, &mi, &sec) != 6)
			break;
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = y - 1900;
		tm.tm_mon = mo - 1;
		tm.tm_mday = d;
		tm.tm_hour = h;
		tm.tm_min = mi;
		frac = sec - (int)sec;
		tm.tm_sec = (int)sec;
		t = (double)timegm(&tm) + frac;
		break;
	}
	fclose(f);
	return t;
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int test_failover(void)
{
	struct ct_control c1, c2, c3;
	struct ct_sim a;
	char v[80], body[256], msg[256], tag1[32], tag2[32], pfx[64];
	/* the default --leader-lease: its takeover time is reported */
	const char *e1[] = {"--instance", "ctl-one", "--lease", "6", "--heartbeat", "1", NULL};
	const char *e2[] = {"--instance", "ctl-two", "--lease", "6", "--heartbeat", "1", NULL};
	json_t *j;
	double t0, took, wall0, lock_at, lead_at;
	int st, i, ret;

	ct_init("failover");
	ct_node_cert("host-a");
	ct_control_start(&c1, 0, 0, true, e1);
	/* the standby: same ports (it listens only once it leads) */
	ct_control_start(&c2, c1.api_port, c1.agent_port, false, e2);
	ct_sleep_ms(1500);
	snprintf(pfx, sizeof(pfx), "%s-d", ct.prefix);
	for (i = 0; i < 5; i++) {
		snprintf(body, sizeof(body), "{\"metadata\": {\"name\": \"%s%d\"}}", pfx, i);
		CHECK_EQ(api_status(&c1, "POST", "/v1/configuration/datasets", body), 201);
	}
	ct_sim_init(&a, "host-a");
	CHECK_EQ(ct_sim_connect(&a, c1.agent_port), 0);
	snprintf(v, sizeof(v), "%s0", pfx);
	{
		const char *kv[] = {"volume", v, NULL};

		CHECK_EQ(ct_sim_call(&a, "acquire", kv, 5000, msg, sizeof(msg), NULL), 0);
	}
	CHECK_EQ(count_named(&c1, pfx, tag1), 5);

	/* kill -9 the leader: the standby takes over without anyone's help */
	t0 = ct_now();
	wall0 = wall_now();
	ct_control_kill(&c1, SIGKILL);
	CHECK(ct_control_wait_api(&c2, 30));
	took = ct_now() - t0;
	/* where the time goes: the lock lapses (the last renewal + the lease), the standby's
	 * next try takes it, the state loads and the ports open, the first API answer */
	lock_at = log_stamp(c2.log, "took the leader lock");
	lead_at = log_stamp(c2.log, "leader: agents on");
	printf("ok standby took over %.1f s after kill -9 of the leader (default leader lease): "
	       "lock taken after %.2f s, serving after %.2f s, API answered after %.2f s\n",
	       took, lock_at ? lock_at - wall0 : -1.0, lead_at ? lead_at - wall0 : -1.0, took);
	CHECK(took < 4 + 4);
	CHECK_EQ(count_named(&c2, pfx, tag2), 5);
	CHECK(strtoull(tag2, NULL, 10) > strtoull(tag1, NULL, 10));
	j = api_json(&c2, "GET", "/v1/configuration/leases", NULL, NULL, &st, NULL);
	CHECK_EQ(json_array_size(j), 1);
	CHECK(!strcmp(jstr(json_array_get(j, 0), "node"), "host-a"));
	json_decref(j);
	printf("ok nothing lost: 5 datasets and the lease; the new leader bumped the tag (%s -> %s)\n",
	       tag1, tag2);

	/* the agent reconnects (same address) and keeps its lease */
	ret = ct_sim_heartbeat(&a, 2000);
	CHECK(ret != 0); /* the old connection died with the old leader */
	while ((ret = ct_sim_connect(&a, c2.agent_port)) != 0 && wall_now() - wall0 < 20)
		ct_sleep_ms(250);
	CHECK_EQ(ret, 0);
	printf("the simulated agent (trying every 0.25 s) was back %.2f s after the kill\n",
	       wall_now() - wall0);
	{
		const char *kv[] = {"volume", v, NULL};

		CHECK_EQ(ct_sim_call(&a, "acquire", kv, 5000, msg, sizeof(msg), NULL), 0);
	}
	printf("ok the agent reconnected and still holds its lease\n");

	/* kill -9 and restart in place (same instance): the dead lock is broken at once */
	ct_control_kill(&c2, SIGKILL);
	t0 = ct_now();
	ct_control_start(&c3, c2.api_port, c2.agent_port, true, e2);
	took = ct_now() - t0;
	printf("ok a restarted control service led %.1f s after kill -9 of the last one\n", took);
	CHECK(took < 4);
	CHECK_EQ(count_named(&c3, pfx, NULL), 5);

	/* SIGTERM releases the lock: a standby leads at once */
	ct_control_start(&c1, c3.api_port, c3.agent_port, false, e1);
	ct_sleep_ms(1500);
	t0 = ct_now();
	ct_control_kill(&c3, SIGTERM);
	CHECK(ct_control_wait_api(&c1, 20));
	took = ct_now() - t0;
	printf("ok after SIGTERM of the leader the standby led in %.1f s\n", took);
	CHECK(took < 3);
	CHECK_EQ(count_named(&c1, pfx, NULL), 5);
	ct_sim_free(&a);
	ct_control_kill(&c1, SIGTERM);
	printf("test_control failover: all checks passed\n");
	return 0;
}
