/*
 * Load on one flocker-control (loopback only, bounded in time):
 *
 *   loadgen [--agents 100] [--ops-per-min 1000] [--seconds 50]
 *
 * Starts a control service (its own --state-ns), connects N simulated agents
 * (one node certificate each, TLS 1.3, frames), each sending a heartbeat
 * with a mounts report every heartbeat interval (2 s), and runs volume
 * operations at the given rate, spread over the agents: each volume goes
 * create -> acquire -> release -> remove (to the trash), so the rate counts
 * every step.  Prints p50/p99/max latency per operation and of heartbeats,
 * control's CPU (utime+stime over the run) and its peak RSS, as markdown.
 * Exit 1 if an operation failed or a heartbeat went unanswered.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "cluster/net/ca.h"
#include "ctltest.h"
#include "cluster/net/tls.h"

enum op { OP_CREATE, OP_ACQUIRE, OP_RELEASE, OP_REMOVE, OP_HEARTBEAT, OP_N };
static const char *const op_names[OP_N] = {"create", "acquire", "release", "remove (trash)",
					   "heartbeat"};

struct samples {
	double *v;
	size_t n, cap;
	unsigned failed;
};

static struct samples lat[OP_N];

static void add_sample(enum op o, double s)
{
	struct samples *x = &lat[o];

	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 1024;
		x->v = realloc(x->v, x->cap * sizeof(double));
		CHECK(x->v);
	}
	x->v[x->n++] = s;
}

struct pending {
	uint64_t id;
	enum op op;
	double t0;
	int vol; /* index into vols, -1 for heartbeats */
};

struct agent {
	int idx;
	char name[32];
	SSL_CTX *ctx;
	struct bufferevent *bev;
	bool ready;
	uint64_t next_id;
	struct pending pend[64];
	int npend;
	int nmounts; /* reported in heartbeats */
};

enum vstate {
	V_FREE,
	V_CREATING,
	V_CREATED,
	V_ACQUIRING,
	V_ACQUIRED,
	V_RELEASING,
	V_RELEASED,
	V_REMOVING
};

struct vol {
	char name[64];
	enum vstate st;
	int agent;
};

static struct event_base *base;
static struct agent *agents;
static int nagents = 100, ops_per_min = 1000, seconds = 50;
static struct vol *vols;
static int nvols, vol_seq, rr;
static unsigned hb_s = 2;
static double t_start, t_end;
static unsigned issued;

static int send_req(struct agent *a, const char *type, enum op o, int vol, const char *volume)
{
	struct fl_frame_enc e;
	uint64_t id = a->next_id++;
	int ret, i;

	if (a->npend == 64)
		return -EBUSY;
	fl_frame_enc_init(&e);
	if (!strcmp(type, "hello")) {
		fl_frame_begin(&e, type, id, 2);
		fl_pk_kv_str(&e.pk, "node", a->name);
		fl_pk_kv_str(&e.pk, "host", "loadgen");
	} else if (o == OP_HEARTBEAT) {
		fl_frame_begin(&e, type, id, 1);
		fl_pk_str(&e.pk, "mounts");
		msgpack_pack_array(&e.pk, (uint32_t)a->nmounts);
		for (i = 0; i < a->nmounts; i++) {
			char n[48];

			snprintf(n, sizeof(n), "load-mount-%d-%d", a->idx, i);
			msgpack_pack_map(&e.pk, 5);
			fl_pk_kv_str(&e.pk, "uuid", "00000000-0000-4000-8000-000000000000");
			fl_pk_kv_str(&e.pk, "name", n);
			fl_pk_kv_u64(&e.pk, "users", 0);
			fl_pk_kv_str(&e.pk, "path", "/simulated");
			fl_pk_kv_str(&e.pk, "addr", "");
		}
	} else {
		fl_frame_begin(&e, type, id, 1);
		fl_pk_kv_str(&e.pk, "volume", volume);
	}
	ret = fl_frame_end(&e);
	if (!ret)
		ret = bufferevent_write(a->bev, e.buf.data, e.buf.len) ? -ENOMEM : 0;
	fl_frame_enc_free(&e);
	if (ret)
		return ret;
	a->pend[a->npend].id = id;
	a->pend[a->npend].op = o;
	a->pend[a->npend].t0 = ct_now();
	a->pend[a->npend].vol = vol;
	a->npend++;
	return 0;
}

static void on_reply(struct agent *a, const struct fl_msg *m)
{
	int64_t err = 0;
	int i;

	for (i = 0; i < a->npend; i++) {
		struct pending p = a->pend[i];

		if (p.id != m->id)
			continue;
		a->pend[i] = a->pend[--a->npend];
		fl_pv_i64(fl_pv_get(m->body, "err"), &err);
		if (p.vol == -2) { /* hello */
			a->ready = err == 0;
			return;
		}
		if (err) {
			lat[p.op].failed++;
			fprintf(stderr, "%s on %s failed: %s\n", op_names[p.op], a->name,
				fl_pv_get_str(m->body, "msg"));
		} else if (ct_now() < t_end) {
			add_sample(p.op, ct_now() - p.t0);
		}
		if (p.vol >= 0) {
			struct vol *v = &vols[p.vol];

			switch (v->st) {
			case V_CREATING:
				v->st = err ? V_FREE : V_CREATED;
				break;
			case V_ACQUIRING:
				v->st = err ? V_CREATED : V_ACQUIRED;
				break;
			case V_RELEASING:
				v->st = V_RELEASED;
				break;
			case V_REMOVING:
				v->st = V_FREE;
				break;
			default:
				break;
			}
		}
		return;
	}
}

static int on_msg(void *arg, struct fl_msg *m)
{
	if (!strcmp(m->type, "reply"))
		on_reply(arg, m);
	return 0;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	CHECK(fl_frame_read(bufferevent_get_input(bev), on_msg, arg) == 0);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct agent *a = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		send_req(a, "hello", OP_HEARTBEAT, -2, NULL);
		/* hello replies are not timed: fix the pending entry's op */
		return;
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
		fprintf(stderr, "agent %s lost its connection\n", a->name);
		lat[OP_HEARTBEAT].failed++;
		a->ready = false;
	}
}

static void hb_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)fd;
	(void)what;
	if (a->ready)
		send_req(a, "heartbeat", OP_HEARTBEAT, -1, NULL);
}

static struct event **hb;

/* Starts an agent's heartbeats at its own offset in the interval. */
static void hb_start_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	struct timeval tv = {hb_s, 0};

	hb_cb(fd, what, arg);
	event_add(hb[a->idx], &tv);
}

/* One volume operation: the next step of some volume, or a new volume. */
static void op_cb(evutil_socket_t fd, short what, void *arg)
{
	static const int order[] = {V_RELEASED, V_ACQUIRED, V_CREATED};
	struct agent *a;
	int i, k, pick = -1;

	(void)fd;
	(void)what;
	(void)arg;
	if (ct_now() >= t_end) {
		event_base_loopbreak(base);
		return;
	}
	for (k = 0; k < 3 && pick < 0; k++)
		for (i = 0; i < nvols; i++)
			if ((int)vols[i].st == order[k]) {
				pick = i;
				break;
			}
	issued++;
	if (pick < 0) {
		for (i = 0; i < nvols && vols[i].st != V_FREE; i++)
			;
		if (i == nvols) {
			vols = realloc(vols, (size_t)(nvols + 1) * sizeof(*vols));
			CHECK(vols);
			nvols++;
		}
		pick = i;
		snprintf(vols[pick].name, sizeof(vols[pick].name), "%s-l%d", ct.prefix, vol_seq++);
		vols[pick].agent = rr++ % nagents;
		a = &agents[vols[pick].agent];
		vols[pick].st = V_CREATING;
		send_req(a, "create", OP_CREATE, pick, vols[pick].name);
		return;
	}
	a = &agents[vols[pick].agent];
	switch (vols[pick].st) {
	case V_CREATED:
		vols[pick].st = V_ACQUIRING;
		send_req(a, "acquire", OP_ACQUIRE, pick, vols[pick].name);
		break;
	case V_ACQUIRED:
		vols[pick].st = V_RELEASING;
		send_req(a, "release", OP_RELEASE, pick, vols[pick].name);
		break;
	default:
		vols[pick].st = V_REMOVING;
		send_req(a, "remove", OP_REMOVE, pick, vols[pick].name);
		break;
	}
}

static int cmp_d(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

static double pct(struct samples *s, double p)
{
	size_t i;

	if (!s->n)
		return 0;
	i = (size_t)(p * (double)(s->n - 1) + 0.5);
	return s->v[i] * 1000;
}

static int proc_cpu(pid_t pid, unsigned long long *ticks, long *rss_kb)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	*ticks = ut + st;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f) {
		while (fgets(buf, sizeof(buf), f))
			if (sscanf(buf, "VmHWM: %ld", rss_kb) == 1)
				break;
		fclose(f);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"agents", required_argument, NULL, 'a'},
					   {"ops-per-min", required_argument, NULL, 'o'},
					   {"seconds", required_argument, NULL, 's'},
					   {NULL, 0, NULL, 0}};
	struct ct_control c;
	struct event *op_ev, **starters;
	struct timeval tv;
	char hbs[16];
	const char *extra[] = {"--heartbeat", hbs, "--lease", "10", "--trash-ttl", "30s", NULL};
	unsigned long long t0_ticks = 0, t1_ticks = 0;
	long rss = 0;
	double t0, wall, setup;
	int i, k, ready, rc = 0;
	unsigned failed = 0;

	while ((i = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (i == 'a')
			nagents = atoi(optarg);
		else if (i == 'o')
			ops_per_min = atoi(optarg);
		else if (i == 's')
			seconds = atoi(optarg);
		else
			return 2;
	}
	if (nagents < 1 || nagents > 1000 || ops_per_min < 1 || seconds < 5 || seconds > 60) {
		fprintf(stderr, "loadgen: --agents 1..1000, --ops-per-min >= 1, --seconds 5..60\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(hbs, sizeof(hbs), "%u", hb_s);
	ct_init("load");
	setup = ct_now();
	for (i = 0; i < nagents; i++) {
		char n[32];

		snprintf(n, sizeof(n), "load-%03d", i);
		ct_node_cert(n);
	}
	ct_control_start(&c, 0, 0, true, extra);
	CHECK(proc_cpu(c.pid, &t0_ticks, &rss) == 0);
	base = event_base_new();
	agents = calloc((size_t)nagents, sizeof(*agents));
	hb = calloc((size_t)nagents, sizeof(*hb));
	starters = calloc((size_t)nagents, sizeof(*starters));
	CHECK(base && agents && hb && starters);
	for (i = 0; i < nagents; i++) {
		struct agent *a = &agents[i];
		char b[64], err[512];
		SSL *ssl;

		a->idx = i;
		a->next_id = 1;
		a->nmounts = i % 3;
		snprintf(a->name, sizeof(a->name), "load-%03d", i);
		snprintf(b, sizeof(b), "node-%s", a->name);
		a->ctx = fl_tls_client_ctx(ct.certs, b, FL_ROLE_CONTROL, err, sizeof(err));
		CHECK(a->ctx);
		ssl = SSL_new(a->ctx);
		a->bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
							BEV_OPT_CLOSE_ON_FREE);
		CHECK(a->bev);
		bufferevent_openssl_set_allow_dirty_shutdown(a->bev, 1);
		bufferevent_setcb(a->bev, read_cb, NULL, event_cb, a);
		bufferevent_enable(a->bev, EV_READ | EV_WRITE);
		CHECK(bufferevent_socket_connect_hostname(a->bev, NULL, AF_INET, "127.0.0.1",
							  (int)c.agent_port) == 0);
	}
	/* wait for every hello */
	t0 = ct_now();
	do {
		tv.tv_sec = 0;
		tv.tv_usec = 100000;
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
		for (ready = 0, k = 0; k < nagents; k++)
			ready += agents[k].ready;
	} while (ready < nagents && ct_now() - t0 < 30);
	CHECK_EQ(ready, nagents);
	printf("loadgen: %d agents connected in %.1f s (setup %.1f s)\n", nagents, ct_now() - t0,
	       ct_now() - setup);

	/* the run */
	CHECK(proc_cpu(c.pid, &t0_ticks, &rss) == 0);
	t_start = ct_now();
	t_end = t_start + seconds;
	for (i = 0; i < nagents; i++) {
		/* spread the heartbeats over the interval, as independent hosts would */
		long us = (long)i * 1000000L * (long)hb_s / nagents;

		hb[i] = event_new(base, -1, EV_PERSIST, hb_cb, &agents[i]);
		starters[i] = event_new(base, -1, 0, hb_start_cb, &agents[i]);
		tv.tv_sec = us / 1000000;
		tv.tv_usec = us % 1000000;
		event_add(starters[i], &tv);
	}
	op_ev = event_new(base, -1, EV_PERSIST, op_cb, NULL);
	tv.tv_sec = 0;
	tv.tv_usec = 60L * 1000000L / ops_per_min;
	if (tv.tv_usec >= 1000000) {
		tv.tv_sec = tv.tv_usec / 1000000;
		tv.tv_usec %= 1000000;
	}
	event_add(op_ev, &tv);
	event_base_dispatch(base);
	/* let the last replies in */
	tv.tv_sec = 2;
	tv.tv_usec = 0;
	event_del(op_ev);
	for (i = 0; i < nagents; i++) {
		event_del(hb[i]);
		event_del(starters[i]);
	}
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	wall = ct_now() - t_start;
	CHECK(proc_cpu(c.pid, &t1_ticks, &rss) == 0);

	printf("\n### %d agents, %d volume operations a minute, %d s (loopback)\n\n", nagents,
	       ops_per_min, seconds);
	printf("| operation | count | p50 ms | p99 ms | max ms | failed |\n");
	printf("|---|---:|---:|---:|---:|---:|\n");
	for (k = 0; k < OP_N; k++) {
		struct samples *s = &lat[k];

		qsort(s->v, s->n, sizeof(double), cmp_d);
		printf("| %s | %zu | %.2f | %.2f | %.2f | %u |\n", op_names[k], s->n, pct(s, 0.5),
		       pct(s, 0.99), s->n ? s->v[s->n - 1] * 1000 : 0, s->failed);
		failed += s->failed;
	}
	{
		struct samples all = {0};

		for (k = 0; k < OP_HEARTBEAT; k++)
			for (size_t j = 0; j < lat[k].n; j++) {
				if (all.n == all.cap) {
					all.cap = all.cap ? all.cap * 2 : 1024;
					all.v = realloc(all.v, all.cap * sizeof(double));
					CHECK(all.v);
				}
				all.v[all.n++] = lat[k].v[j];
			}
		qsort(all.v, all.n, sizeof(double), cmp_d);
		printf("| all volume operations | %zu | %.2f | %.2f | %.2f | |\n", all.n,
		       pct(&all, 0.5), pct(&all, 0.99), all.n ? all.v[all.n - 1] * 1000 : 0);
		printf("\nvolume operations issued: %u in %.1f s (%.0f a minute); heartbeats: %zu "
		       "(%.1f a second)\n",
		       issued, wall, issued * 60.0 / wall, lat[OP_HEARTBEAT].n,
		       (double)lat[OP_HEARTBEAT].n / wall);
		free(all.v);
	}
	printf("flocker-control CPU: %.1f%% of one core (%.2f s user+system over %.1f s); peak RSS "
	       "%ld MiB\n",
	       100.0 * (double)(t1_ticks - t0_ticks) / (double)sysconf(_SC_CLK_TCK) / wall,
	       (double)(t1_ticks - t0_ticks) / (double)sysconf(_SC_CLK_TCK), wall, rss / 1024);
	if (failed || lat[OP_HEARTBEAT].n < (size_t)(nagents * (seconds / (int)hb_s - 1))) {
		fprintf(stderr, "loadgen: %u failures, %zu heartbeats answered\n", failed,
			lat[OP_HEARTBEAT].n);
		rc = 1;
	}
	for (i = 0; i < nagents; i++) {
		event_free(hb[i]);
		event_free(starters[i]);
		bufferevent_free(agents[i].bev);
		SSL_CTX_free(agents[i].ctx);
	}
	event_free(op_ev);
	event_base_free(base);
	ct_control_kill(&c, SIGTERM);
	free(hb);
	free(starters);
	free(agents);
	free(vols);
	for (k = 0; k < OP_N; k++)
		free(lat[k].v);
	return rc;
}
