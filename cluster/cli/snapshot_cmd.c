/*
 * flockerctl snapshot create|list|remove (cluster/cli/snapshot_cmd.h).
 */
#include "cluster/cli/snapshot_cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "fs/volume/snapshot.h"
#include "fs/util/fmt.h"

#define X_OK_	 0
#define X_FAILED 1
#define X_USAGE	 2

static struct fl_store *connect_to(const struct fl_snapcmd *c)
{
	char err[512] = "";
	struct fl_store *st = fl_rados_open(c->ro, err, sizeof(err));

	if (!st)
		fprintf(stderr, "flockerctl: %s\n", err);
	return st;
}

/* argc checked (the usage said otherwise) and the pool connected: the store,
 * or NULL with *code the exit code. */
static struct fl_store *open_for(const struct fl_snapcmd *c, int argc, const char *usage, int *code)
{
	if (c->argc != argc) {
		fprintf(stderr, "usage: flockerctl %s\n", usage);
		*code = X_USAGE;
		return NULL;
	}
	*code = X_FAILED;
	return connect_to(c);
}

/* Closes st after a call: X_OK_, or X_FAILED with its failure said. */
static int close_said(struct fl_store *st, int ret, const char *err)
{
	fl_store_close(st);
	if (!ret)
		return X_OK_;
	fprintf(stderr, "flockerctl: %s\n", err[0] ? err : strerror(-ret));
	return X_FAILED;
}

static void fmt_created(const struct fl_snap_rec *r, char *buf, size_t len)
{
	fl_fmt_time_utc(r->created, buf, len);
}

int fl_snapcmd_create(const struct fl_snapcmd *c)
{
	struct fl_snap_opts o = {.takeover = c->takeover};
	struct fl_snap_result res;
	struct fl_store *st;
	struct timespec t0, t1;
	char err[512] = "";
	double ms;
	int ret;

	st = open_for(c, 2, "snapshot create VOLUME SNAPSHOT [--takeover] [--json]", &ret);
	if (!st)
		return ret;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = fl_snap_create(st, c->argv[0], c->argv[1], &o, &res, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (close_said(st, ret, err))
		return X_FAILED;
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1000.0 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	if (c->json) {
		json_t *j = json_pack("{s:s, s:s, s:I, s:b, s:f}", "volume", c->argv[0], "snapshot",
				      c->argv[1], "id", (json_int_t)res.rec.id, "by_writer",
				      res.by_writer, "seconds", ms / 1000.0);

		if (res.by_writer) {
			json_object_set_new(j, "writer", json_string(res.writer));
			json_object_set_new(j, "writers_held_ms", json_integer(res.frozen_ms));
			json_object_set_new(j, "sync_ms", json_integer(res.sync_ms));
		}
		json_dumpf(j, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(j);
	} else if (res.by_writer) {
		printf("created snapshot %s@%s (id %" PRIu64
		       ") in %.0f ms, taken by its writer %s: "
		       "writers held %lld ms\n",
		       c->argv[0], c->argv[1], res.rec.id, ms, res.writer,
		       (long long)res.frozen_ms);
	} else {
		printf("created snapshot %s@%s (id %" PRIu64 ") in %.0f ms\n", c->argv[0],
		       c->argv[1], res.rec.id, ms);
	}
	return X_OK_;
}

struct list_ctx {
	json_t *arr;
	int n;
};

static int list_cb(void *arg, const char *name, const struct fl_snap_rec *r)
{
	struct list_ctx *l = arg;
	char when[32];

	fmt_created(r, when, sizeof(when));
	if (l->arr) {
		json_array_append_new(
			l->arr, json_pack("{s:s, s:I, s:s, s:I, s:s, s:s}", "name", name, "id",
					  (json_int_t)r->id, "created", when, "created_unix",
					  (json_int_t)r->created, "host", r->host, "state",
					  r->state == FL_SNAP_OK ? "ok" : "being removed"));
	} else {
		if (l->n == 0)
			printf("%-32s %8s  %-20s  %-20s %s\n", "NAME", "ID", "CREATED", "HOST",
			       "STATE");
		printf("%-32s %8" PRIu64 "  %-20s  %-20s %s\n", name, r->id, when,
		       r->host[0] ? r->host : "-", r->state == FL_SNAP_OK ? "ok" : "being removed");
	}
	l->n++;
	return 0;
}

int fl_snapcmd_list(const struct fl_snapcmd *c)
{
	struct list_ctx l = {c->json ? json_array() : NULL, 0};
	struct fl_store *st;
	char err[512] = "";
	int ret;

	st = open_for(c, 1, "snapshot list VOLUME [--json]", &ret);
	if (!st) {
		json_decref(l.arr);
		return ret;
	}
	ret = fl_snap_list(st, c->argv[0], list_cb, &l, err, sizeof(err));
	if (close_said(st, ret, err)) {
		json_decref(l.arr);
		return X_FAILED;
	}
	if (l.arr) {
		json_dumpf(l.arr, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(l.arr);
	} else if (l.n == 0) {
		printf("no snapshots of volume %s\n", c->argv[0]);
	}
	return X_OK_;
}

int fl_snapcmd_remove(const struct fl_snapcmd *c)
{
	struct fl_store *st;
	char err[512] = "";
	int ret;

	st = open_for(c, 2, "snapshot remove VOLUME SNAPSHOT", &ret);
	if (!st)
		return ret;
	ret = fl_snap_remove(st, c->argv[0], c->argv[1], err, sizeof(err));
	if (close_said(st, ret, err))
		return X_FAILED;
	if (!c->json)
		printf("removed snapshot %s@%s\n", c->argv[0], c->argv[1]);
	return X_OK_;
}

int fl_snapcmd_rollback(const struct fl_snapcmd *c)
{
	struct fl_store *st;
	char err[512] = "";
	uint64_t n = 0;
	int ret;

	st = open_for(c, 2, "volume rollback NAME SNAPSHOT", &ret);
	if (!st)
		return ret;
	ret = fl_snap_rollback(st, c->argv[0], c->argv[1], &n, err, sizeof(err));
	if (close_said(st, ret, err))
		return X_FAILED;
	if (!c->json)
		printf("rolled volume %s back to snapshot %s (%" PRIu64 " objects)\n", c->argv[0],
		       c->argv[1], n);
	return X_OK_;
}
