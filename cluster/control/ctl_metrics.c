/* flockerfs — flocker-control's metrics (see ctl_metrics.h). */
#include "cluster/control/ctl_metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "cluster/control/ctl_server.h"
#include "cluster/control/ctl_state.h"
#include "fs/util/metrics.h"

#define START_HEADER "X-Flocker-Metrics-Start"

static struct fl_metrics *reg;
static struct fl_metric *leader, *changes, *nodes, *connected, *leases, *mounts, *grants, *refusals,
	*lease_errs, *take_idle, *take_fenced, *api_lat[4];

static const char *const methods[4] = {"GET", "POST", "DELETE", "other"};

/* The plain series: no labels, registered from one table. */
static const struct {
	struct fl_metric **m;
	bool gauge; /* else a counter */
	const char *name, *help;
} plain[] = {
	{&leader, true, "flocker_control_leader", "1 while this instance leads, 0 as a standby."},
	{&changes, false, "flocker_control_leader_changes_total",
	 "Times this instance took the leader lock."},
	{&nodes, true, "flocker_control_nodes", "Nodes in the registry (leader)."},
	{&connected, true, "flocker_control_nodes_connected",
	 "Nodes whose agent is connected and heard within the lease (leader)."},
	{&leases, true, "flocker_control_leases", "Leases held (leader)."},
	{&mounts, true, "flocker_control_mounts", "Mounts the agents report (leader)."},
	{&grants, false, "flocker_control_lease_grants_total", "Lease requests granted."},
	{&refusals, false, "flocker_control_lease_refusals_total",
	 "Lease requests refused because another node uses the volume."},
	{&lease_errs, false, "flocker_control_lease_errors_total",
	 "Lease requests that failed otherwise (no longer the leader, a stale tag, RADOS "
	 "errors)."},
};

int fl_cm_init(void)
{
	const char *idle[2] = {"how", "idle"}, *fenced[2] = {"how", "fenced"};
	size_t i;

	reg = fl_metrics_new();
	if (!reg)
		return -ENOMEM;
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		*plain[i].m =
			plain[i].gauge
				? fl_metrics_gauge(reg, plain[i].name, plain[i].help, NULL, 0)
				: fl_metrics_counter(reg, plain[i].name, plain[i].help, NULL, 0);
		if (!*plain[i].m)
			goto fail;
	}
	take_idle = fl_metrics_counter(reg, "flocker_control_takeovers_total",
				       "Leases taken from another node: idle (it unmounted when "
				       "told) or fenced (it was gone and was blocklisted).",
				       idle, 1);
	take_fenced = fl_metrics_counter(reg, "flocker_control_takeovers_total", NULL, fenced, 1);
	for (i = 0; i < 4; i++) {
		const char *l[2] = {"method", methods[i]};

		api_lat[i] =
			fl_metrics_histogram(reg, "flocker_control_api_request_duration_seconds",
					     "Operators' API requests: latency to the reply.", l, 1,
					     fl_metrics_latency_ns, fl_metrics_latency_ns_n, 1e-9);
		if (!api_lat[i])
			goto fail;
	}
	if (take_idle && take_fenced)
		return 0;
fail:
	fl_cm_free();
	return -ENOMEM;
}

void fl_cm_free(void)
{
	size_t i;

	fl_metrics_free(reg);
	reg = NULL;
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		*plain[i].m = NULL;
	take_idle = take_fenced = NULL;
	for (i = 0; i < 4; i++)
		api_lat[i] = NULL;
}

void fl_cm_leader(bool leading)
{
	if (!reg)
		return;
	fl_metric_set(leader, leading);
	if (leading)
		fl_metric_add(changes, 1);
	else
		fl_cm_state(NULL, NULL);
}

void fl_cm_state(struct fl_state *s, struct fl_ctl *c)
{
	int64_t nn = 0, nc = 0, nl = 0, nm = 0;
	struct fl_node_live *n;

	if (!reg)
		return;
	while (s && fl_state_node_at(s, (size_t)nn))
		nn++;
	while (s && fl_state_lease_at(s, (size_t)nl))
		nl++;
	for (n = c ? c->nodes : NULL; n; n = n->next) {
		if (fl_ctl_node_alive(c, n))
			nc++;
		nm += (int64_t)n->nmounts;
	}
	fl_metric_set(nodes, nn);
	fl_metric_set(connected, nc);
	fl_metric_set(leases, nl);
	fl_metric_set(mounts, nm);
}

void fl_cm_lease(int err)
{
	fl_metric_add(!err ? grants : err == -EBUSY ? refusals : lease_errs, 1);
}

void fl_cm_takeover(const char *how)
{
	fl_metric_add(how && how[0] == 'f' ? take_fenced : take_idle, 1);
}

void fl_cm_api_begin(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	char v[32];

	if (!reg || !h)
		return;
	/* a client's own header of that name is not ours */
	evhttp_remove_header(h, START_HEADER);
	snprintf(v, sizeof(v), "%" PRIu64, fl_metrics_now_ns());
	evhttp_add_header(h, START_HEADER, v);
}

void fl_cm_api_end(struct evhttp_request *req, int code)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	const char *v = h ? evhttp_find_header(h, START_HEADER) : NULL;
	char cs[8];
	int i;

	if (!reg || !v)
		return;
	i = m == EVHTTP_REQ_GET ? 0 : m == EVHTTP_REQ_POST ? 1 : m == EVHTTP_REQ_DELETE ? 2 : 3;
	fl_metric_observe(api_lat[i], fl_metrics_now_ns() - strtoull(v, NULL, 10));
	snprintf(cs, sizeof(cs), "%d", code);
	/* by status code: a handful of series, made the first time each is seen */
	fl_metric_add(fl_metrics_counter(reg, "flocker_control_api_requests_total",
					 "Operators' API requests by status code.",
					 (const char *[]){"code", cs}, 1),
		      1);
	evhttp_remove_header(h, START_HEADER);
}

int fl_cm_gen(void *arg, struct fl_buf *out)
{
	(void)arg;
	return reg ? fl_metrics_write(reg, out) : -EINVAL;
}
