/*
 * flockerctl volume clone VOL[@SNAP] NEW, volume flatten NAME (fs/volume/clone.h).
 */
#include "cluster/cli/clone_cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flocker/record.h"
#include "fs/volume/clone.h"

#define EXIT_FAILED 1

int fl_clone_cmd(struct fl_store *st, const char *from, const char *name, bool json)
{
	char parent[FL_VOLNAME_MAX + 1], snap[FL_VOLNAME_MAX + 1] = "", err[512] = "";
	const char *at = strchr(from, '@');
	struct timespec t0, t1;
	double secs;
	int ret;

	if (at) {
		if ((size_t)(at - from) > FL_VOLNAME_MAX || strlen(at + 1) > FL_VOLNAME_MAX ||
		    !at[1]) {
			fprintf(stderr, "flockerctl: invalid volume@snapshot '%s'\n", from);
			return EXIT_FAILED;
		}
		snprintf(parent, sizeof(parent), "%.*s", (int)(at - from), from);
	} else {
		snprintf(parent, sizeof(parent), "%s", from);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = fl_volume_clone(st, parent, at ? at + 1 : NULL, name, snap, sizeof(snap), err,
			      sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ret) {
		fprintf(stderr, "flockerctl: %s\n", err);
		return EXIT_FAILED;
	}
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (json)
		printf("{\"name\": \"%s\", \"parent\": \"%s\", \"snapshot\": \"%s\", "
		       "\"seconds\": %.3f}\n",
		       name, parent, snap, secs);
	else
		printf("created volume %s, a clone of %s@%s%s (%.2f s)\n", name, parent, snap,
		       at ? "" : " (snapshot taken now)", secs);
	return 0;
}

struct bar {
	bool tty;
	time_t last;
};

static void bar_cb(void *arg, uint64_t done, uint64_t total)
{
	struct bar *b = arg;
	time_t now = time(NULL);
	unsigned width = 40, fill;

	if (!b->tty || (done != total && now == b->last && done % 64))
		return;
	b->last = now;
	fill = total ? (unsigned)(done * width / total) : width;
	fprintf(stderr, "\rflatten [%.*s%*s] %" PRIu64 "/%" PRIu64 " objects", (int)fill,
		"########################################", (int)(width - fill), "", done, total);
	if (done == total)
		fprintf(stderr, "\n");
}

int fl_flatten_cmd(struct fl_store *st, const char *name, bool json)
{
	struct bar b = {isatty(2) && !json, 0};
	char err[512] = "";
	int ret = fl_volume_flatten(st, name, bar_cb, &b, err, sizeof(err));

	if (ret) {
		if (b.tty)
			fprintf(stderr, "\n");
		fprintf(stderr, "flockerctl: %s\n", err);
		return EXIT_FAILED;
	}
	if (json)
		printf("{\"name\": \"%s\", \"flattened\": true}\n", name);
	else
		printf("volume %s flattened: it no longer reads from its parent\n", name);
	return 0;
}

int fl_clone_describe(struct fl_store *vst, char *buf, size_t len)
{
	struct fl_parent_rec pr;
	int ret = fl_clone_parent(vst, &pr);

	if (ret > 0)
		snprintf(buf, len, "%s@%s", pr.name, pr.snap);
	else if (len)
		buf[0] = '\0';
	return ret;
}
