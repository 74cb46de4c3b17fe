/*
 * flockerctl stats DIR — the metrics of the flockerfs mount at DIR, read from
 * its daemon's metrics socket (fs/fuse/mount_metrics.h): a table for people,
 * --json for programs, --raw for the exposition text as Prometheus reads it.
 * Histograms are shown as their count and mean; --raw has the buckets.
 */
#include "cluster/cli/stats.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/util/metrics.h"
#include "fs/util/mountinfo.h"

#define PROG "flockerctl stats"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: flockerctl stats DIR [--json | --raw]\n"
		"\n"
		"The metrics of the flockerfs mount at DIR, from its daemon: FUSE requests by\n"
		"kind with their mean latency, bytes read and written, dirty bytes, write-back,\n"
		"journal commit and RADOS latencies, lease renewals, fencing.  Histograms show\n"
		"their count and mean.  --json: the same as JSON; --raw: the Prometheus text\n"
		"exposition, as flocker-agent's /metrics serves it.\n");
}

struct view {
	bool json;
	json_t *arr;
	char volume[256];
	/* the last _sum of a histogram, for its _count that follows */
	char sum_name[256];
	char sum_labels[1024];
	double sum;
};

/* The labels without volume, as k=v,k2=v2 (for the table), or as a JSON object. */
static int show_labels(const char *labels, char *out, size_t len, json_t *obj)
{
	const char *c = labels;
	char n[128], v[256];
	size_t o = 0;
	int r;

	out[0] = '\0';
	while ((r = fl_metrics_labels_next(&c, n, sizeof(n), v, sizeof(v))) == 1) {
		if (!strcmp(n, "volume"))
			continue;
		if (obj)
			json_object_set_new(obj, n, json_string(v));
		if (o < len)
			o += (size_t)snprintf(out + o, len - o, "%s%s=%s", o ? "," : "", n, v);
	}
	return r;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static void fmt_value(const char *name, double v, char *out, size_t len)
{
	if (ends_with(name, "_duration_seconds"))
		snprintf(out, len, "%.3f ms", v * 1e3);
	else if (v == (double)(long long)v)
		snprintf(out, len, "%lld", (long long)v);
	else
		snprintf(out, len, "%g", v);
}

static int sample_cb(void *arg, const struct fl_metric_sample *s)
{
	struct view *vw = arg;
	bool hist = !strcmp(s->type, "histogram");
	char labels[512], val[64], mean[64];
	json_t *lab = vw->json ? json_object() : NULL;

	if (!vw->volume[0])
		fl_metrics_label(s->labels, "volume", vw->volume, sizeof(vw->volume));
	if (hist && ends_with(s->name, "_bucket"))
		goto out;
	if (hist && ends_with(s->name, "_sum")) {
		snprintf(vw->sum_name, sizeof(vw->sum_name), "%s", s->family);
		snprintf(vw->sum_labels, sizeof(vw->sum_labels), "%s", s->labels);
		vw->sum = s->value;
		goto out;
	}
	if (show_labels(s->labels, labels, sizeof(labels), lab) < 0)
		goto out;
	if (hist) {
		double sum = !strcmp(vw->sum_name, s->family) && !strcmp(vw->sum_labels, s->labels)
				     ? vw->sum
				     : 0;

		if (vw->json) {
			json_array_append_new(vw->arr, json_pack("{s:s, s:o, s:f, s:f}", "name",
								 s->family, "labels", lab, "count",
								 s->value, "sum", sum));
			lab = NULL;
		} else {
			fmt_value(s->family, s->value ? sum / s->value : 0, mean, sizeof(mean));
			snprintf(val, sizeof(val), "%.0f", s->value);
			printf("%-44s %-22s %12s  mean %s\n", s->family, labels, val, mean);
		}
		goto out;
	}
	if (vw->json) {
		json_array_append_new(vw->arr, json_pack("{s:s, s:o, s:f}", "name", s->name,
							 "labels", lab, "value", s->value));
		lab = NULL;
	} else {
		fmt_value(s->name, s->value, val, sizeof(val));
		printf("%-44s %-22s %12s\n", s->name, labels, val);
	}
out:
	json_decref(lab);
	return 0;
}

int fl_stats_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"raw", no_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct view vw = {0};
	struct fl_mountinfo mi;
	char path[PATH_MAX];
	struct fl_buf text;
	bool raw = false;
	unsigned line = 0;
	int opt, ret, rc = 1;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			vw.json = true;
			break;
		case 'r':
			raw = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "%s: unknown option %s\n", PROG, argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || (raw && vw.json)) {
		usage(stderr);
		return 2;
	}
	if (!realpath(argv[optind], path)) {
		fprintf(stderr, "%s: cannot use %s: %s\n", PROG, argv[optind], strerror(errno));
		return 1;
	}
	ret = fl_mountinfo_at(path, &mi);
	if (ret != 1 || strcmp(mi.fstype, "fuse.flockerfs")) {
		fprintf(stderr, "%s: %s is not a flockerfs mount point\n", PROG, path);
		return 1;
	}
	fl_buf_init(&text, FL_METRICS_TEXT_MAX);
	ret = fl_metrics_fetch(mi.dev, 5000, &text);
	if (ret) {
		fprintf(stderr, "%s: cannot read the metrics of the mount at %s: %s%s\n", PROG,
			path, strerror(-ret),
			ret == -ENOENT	 ? " (its daemon has no metrics socket: an older "
					   "mount.flockerfs, or it is gone)"
			: ret == -EACCES ? " (the socket is root's)"
					 : "");
		goto out;
	}
	if (raw) {
		fwrite(text.data ? text.data : "", 1, text.len, stdout);
		rc = 0;
		goto out;
	}
	if (vw.json)
		vw.arr = json_array();
	else
		printf("%-44s %-22s %12s\n", "METRIC", "LABELS", "VALUE");
	ret = fl_metrics_parse(text.data ? text.data : "", text.len, sample_cb, &vw, &line);
	if (ret) {
		fprintf(stderr, "%s: the metrics of the mount at %s do not parse (line %u)\n", PROG,
			path, line);
		goto out;
	}
	if (vw.json) {
		json_t *o = json_pack("{s:s, s:s, s:o}", "volume", vw.volume, "mountpoint", path,
				      "metrics", vw.arr);

		vw.arr = NULL;
		json_dumpf(o, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(o);
	}
	rc = 0;
out:
	json_decref(vw.arr);
	fl_buf_free(&text);
	return rc;
}
