/* flockerfs — flocker-agent's metrics (see agent_metrics.h). */
#include "plugin/agent_metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flocker/buf.h"
#include "flocker/log.h"
#include "fs/util/metrics.h"
#include "fs/util/mountinfo.h"

/* a mount daemon that does not answer within this is left out of the scrape */
#define FETCH_TIMEOUT_MS 1000

static const char *const op_names[FL_AM_NOPS] = {"create",  "remove", "mount",
						 "unmount", "get",    "list"};

static struct fl_metrics *reg;
static struct fl_metric *lat[FL_AM_NOPS], *errs[FL_AM_NOPS], *mounts, *fetch_errs;

int fl_am_init(const char *mode)
{
	const char *ml[2] = {"mode", mode};
	size_t i;

	reg = fl_metrics_new();
	if (!reg)
		return -ENOMEM;
	fl_metric_set(fl_metrics_gauge(reg, "flocker_agent_info",
				       "1, with the agent's mode (standalone or cluster).", ml, 1),
		      1);
	for (i = 0; i < FL_AM_NOPS; i++) {
		const char *l[2] = {"op", op_names[i]};

		lat[i] = fl_metrics_histogram(reg, "flocker_agent_op_duration_seconds",
					      "Docker volume requests by kind (mount and unmount "
					      "include mount.flockerfs and the unmount's flush).",
					      l, 1, fl_metrics_latency_ns, fl_metrics_latency_ns_n,
					      1e-9);
		errs[i] = fl_metrics_counter(reg, "flocker_agent_op_errors_total",
					     "Docker volume requests that failed, by kind.", l, 1);
		if (!lat[i] || !errs[i])
			goto fail;
	}
	mounts = fl_metrics_gauge(reg, "flocker_agent_mounts",
				  "flockerfs mounts on this host at the last scrape.", NULL, 0);
	fetch_errs = fl_metrics_counter(reg, "flocker_agent_mount_metrics_errors_total",
					"Scrapes of a mount daemon's metrics that failed (no "
					"answer within 1 s, or text that does not parse).",
					NULL, 0);
	if (mounts && fetch_errs)
		return 0;
fail:
	fl_am_free();
	return -ENOMEM;
}

void fl_am_free(void)
{
	fl_metrics_free(reg);
	reg = NULL;
}

void fl_am_op(enum fl_am_op op, uint64_t t0, int ret)
{
	if (!reg || op >= FL_AM_NOPS)
		return;
	fl_metric_observe(lat[op], fl_metrics_now_ns() - t0);
	if (ret)
		fl_metric_add(errs[op], 1);
}

struct scrape {
	struct fl_buf *texts; /* one per flockerfs mount; empty when it did not answer */
	size_t n, cap;
};

static int mount_cb(void *arg, const struct fl_mountinfo *m)
{
	struct scrape *s = arg;
	struct fl_buf *t;
	int ret;

	if (strcmp(m->fstype, "fuse.flockerfs"))
		return 0;
	if (fl_grow(&s->texts, &s->cap, s->n, sizeof(*s->texts), 16))
		return -ENOMEM;
	t = &s->texts[s->n++];
	fl_buf_init(t, FL_METRICS_TEXT_MAX);
	ret = fl_metrics_fetch(m->dev, FETCH_TIMEOUT_MS, t);
	if (!ret && fl_metrics_parse(t->data ? t->data : "", t->len, NULL, NULL, NULL))
		ret = -EBADMSG;
	if (ret) {
		fl_debug("metrics: cannot read the metrics of the mount at %s: %s", m->target,
			 strerror(-ret));
		if (ret != -ENOENT)
			fl_metric_add(fetch_errs, 1);
		fl_buf_free(t);
	}
	return 0;
}

int fl_am_gen(void *arg, struct fl_buf *out)
{
	struct fl_metrics_merge *mg = NULL;
	struct scrape s = {0};
	struct fl_buf own;
	size_t i;
	int ret;

	(void)arg;
	if (!reg)
		return -EINVAL;
	ret = fl_mountinfo_each(mount_cb, &s);
	if (ret < 0)
		fl_warn("metrics: cannot read the mount table: %s", strerror(-ret));
	fl_metric_set(mounts, (int64_t)s.n);
	/* the agent's own families first, then the mounts' */
	fl_buf_init(&own, FL_METRICS_TEXT_MAX);
	ret = fl_metrics_write(reg, &own);
	mg = ret ? NULL : fl_metrics_merge_new();
	if (!ret && !mg)
		ret = -ENOMEM;
	if (!ret)
		ret = fl_metrics_merge_add(mg, own.data ? own.data : "", own.len);
	for (i = 0; !ret && i < s.n; i++)
		if (s.texts[i].len)
			ret = fl_metrics_merge_add(mg, s.texts[i].data, s.texts[i].len);
	if (!ret)
		ret = fl_metrics_merge_write(mg, out);
	fl_metrics_merge_free(mg);
	for (i = 0; i < s.n; i++)
		fl_buf_free(&s.texts[i]);
	free(s.texts);
	fl_buf_free(&own);
	return ret;
}
