/*
 * flockerfs — flocker-control's API routes whose RADOS work runs on the
 * worker threads (ctl_voljob.h): dataset creation (clones included) and
 * removal, and /v1/configuration/snapshots (see api.h).  Each request gets
 * exactly one reply, when its job is done.
 */
#include "cluster/control/api_priv.h"

#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "cluster/control/ctl_voljob.h"
#include "flocker/log.h"
#include "fs/util/uuid.h"
#include "fs/volume/volume.h"

/* The request a job answers. */
struct api_job {
	struct fl_api *a;
	struct evhttp_request *req;
};

static struct fl_vj *new_job(struct fl_api *a, struct evhttp_request *req, enum fl_vj_kind kind,
			     const char *name, void (*done)(struct fl_vj *vj))
{
	struct api_job *x = calloc(1, sizeof(*x));
	struct fl_vj *vj = x ? fl_vj_new(fl_api_ctl(a), kind, done, x) : NULL;

	if (!vj) {
		free(x);
		fl_api_reply_err(a, req, 500, "out of memory");
		return NULL;
	}
	x->a = a;
	x->req = req;
	snprintf(vj->name, sizeof(vj->name), "%s", name);
	return vj;
}

/* Replies the job's error when it has one: true then (and the job is freed). */
static bool job_failed(struct fl_vj *vj)
{
	struct api_job *x = vj->arg;

	if (!vj->err)
		return false;
	fl_api_reply_err(x->a, x->req, fl_api_http_status(vj->err), "%s",
			 vj->msg[0] ? vj->msg : strerror(-vj->err));
	free(x);
	fl_vj_free(vj);
	return true;
}

static void job_free(struct fl_vj *vj)
{
	free(vj->arg);
	fl_vj_free(vj);
}

/* ------------------------------------------------------------------ */
/* datasets */

static void ds_create_done(struct fl_vj *vj)
{
	struct api_job *x = vj->arg;
	json_t *j;

	if (job_failed(vj))
		return;
	j = fl_api_dataset_json(x->a, vj->name, &vj->reg);
	if (vj->parent[0])
		json_object_set_new(j, "parent", json_string(vj->parent));
	fl_notice("dataset %s (%s) created%s%s", vj->name, vj->reg.uuid,
		  vj->parent[0] ? " as a clone of " : "", vj->parent);
	fl_api_reply_json(x->a, x->req, 201, j);
	job_free(vj);
}

void fl_api_ds_create(struct fl_api *a, struct evhttp_request *req, const struct fl_api_ds_req *r,
		      const char *primary_uuid, uint64_t tag)
{
	struct fl_ctl *c = fl_api_ctl(a);
	char err[512] = "";
	struct fl_vj *vj;
	int ret;

	/* the tag is checked now: the record written after the work is the volume's own */
	ret = fl_state_ds_check(c->state, r->name, r->metadata, tag, err, sizeof(err));
	if (ret) {
		fl_api_reply_err(a, req, fl_api_http_status(ret), "%s", err);
		return;
	}
	vj = new_job(a, req, FL_VJ_CREATE, r->name, ds_create_done);
	if (!vj)
		return;
	vj->size = r->maximum_size;
	vj->expect_tag = tag;
	if (r->has_from)
		snprintf(vj->from, sizeof(vj->from), "%s", r->from);
	if (primary_uuid && *primary_uuid)
		snprintf(vj->primary, sizeof(vj->primary), "%s", primary_uuid);
	if (r->metadata && !(vj->metadata = strdup(r->metadata))) {
		fl_api_reply_err(a, req, 500, "out of memory");
		job_free(vj);
		return;
	}
	fl_vj_submit(vj);
}

static void ds_remove_done(struct fl_vj *vj)
{
	struct api_job *x = vj->arg;
	const struct fl_trash *t;

	if (job_failed(vj))
		return;
	t = fl_state_trash(fl_api_ctl(x->a)->state, vj->uuid);
	fl_notice("dataset %s (%s) moved to the trash", vj->name, vj->uuid);
	fl_api_reply_json(x->a, x->req, 200, t ? fl_api_trash_json(t) : json_object());
	job_free(vj);
}

void fl_api_ds_remove(struct fl_api *a, struct evhttp_request *req, const char *uuid, uint64_t tag)
{
	struct fl_ctl *c = fl_api_ctl(a);
	struct fl_volreg_rec reg;
	char err[512] = "", name[FL_VOLNAME_MAX + 1];
	struct fl_vj *vj;
	int ret;

	ret = fl_state_volume_by_uuid(c->state, uuid, name, &reg);
	if (ret == -ENOENT) {
		fl_api_reply_err(a, req, 404, "no such dataset: %s%s", uuid,
				 fl_state_trash(c->state, uuid) ? " (it is in the trash)" : "");
		return;
	}
	if (ret) {
		fl_api_reply_err(a, req, 500, "cannot read the volume registry: %s",
				 strerror(-ret));
		return;
	}
	ret = fl_ctl_remove_check(c, uuid, err, sizeof(err));
	if (ret) {
		fl_api_reply_err(a, req, fl_api_http_status(ret), "%s", err);
		return;
	}
	vj = new_job(a, req, FL_VJ_REMOVE, name, ds_remove_done);
	if (!vj)
		return;
	snprintf(vj->uuid, sizeof(vj->uuid), "%s", uuid);
	vj->expect_tag = tag;
	fl_vj_submit(vj);
}

/* ------------------------------------------------------------------ */
/* snapshots */

static json_t *snap_json(const char *uuid, const char *vol, const char *name,
			 const struct fl_snap_rec *r)
{
	json_t *j = json_object();

	json_object_set_new(j, "dataset_id", json_string(uuid));
	json_object_set_new(j, "volume", json_string(vol));
	json_object_set_new(j, "name", json_string(name));
	json_object_set_new(j, "snapshot_id", json_integer((json_int_t)r->id));
	json_object_set_new(j, "created", json_integer(r->created));
	json_object_set_new(j, "created_ns", json_integer(r->created_ns));
	json_object_set_new(j, "host", json_string(r->host));
	json_object_set_new(j, "state",
			    json_string(r->state == FL_SNAP_OK ? "ok" : "being removed"));
	return j;
}

/* The volume of a dataset id or a name: 0 with name and uuid, or a reply was sent. */
static int resolve(struct fl_api *a, struct evhttp_request *req, const char *id, const char *vol,
		   char name[FL_VOLNAME_MAX + 1], char uuid[37])
{
	struct fl_ctl *c = fl_api_ctl(a);
	struct fl_volreg_rec reg;
	int ret;

	if (id) {
		ret = fl_state_volume_by_uuid(c->state, id, name, &reg);
	} else {
		ret = fl_state_volume_by_name(c->state, vol, &reg);
		snprintf(name, FL_VOLNAME_MAX + 1, "%s", vol);
	}
	if (ret == -ENOENT) {
		fl_api_reply_err(a, req, 404, "no such dataset: %s", id ? id : vol);
		return ret;
	}
	if (ret) {
		fl_api_reply_err(a, req, 500, "cannot read the volume registry: %s",
				 strerror(-ret));
		return ret;
	}
	snprintf(uuid, 37, "%s", reg.uuid);
	return 0;
}

static void snap_list_done(struct fl_vj *vj)
{
	struct api_job *x = vj->arg;
	json_t *arr;
	size_t i;

	if (job_failed(vj))
		return;
	arr = json_array();
	for (i = 0; i < vj->nsnaps; i++)
		json_array_append_new(
			arr, snap_json(vj->uuid, vj->name, vj->snaps[i].name, &vj->snaps[i].rec));
	fl_api_reply_json(x->a, x->req, 200, arr);
	job_free(vj);
}

static void get_snapshots(struct fl_api *a, struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
	struct evkeyvalq kv;
	const char *id = NULL, *vol = NULL;
	char name[FL_VOLNAME_MAX + 1], uuid[37];
	struct fl_vj *vj;
	struct evkeyval *e;
	bool bad = false;

	TAILQ_INIT(&kv);
	if (q && evhttp_parse_query_str(q, &kv)) {
		fl_api_reply_err(a, req, 400, "malformed query string");
		return;
	}
	TAILQ_FOREACH(e, &kv, next)
	{
		if (!strcmp(e->key, "dataset_id") && !id)
			id = e->value;
		else if (!strcmp(e->key, "volume") && !vol)
			vol = e->value;
		else
			bad = true;
	}
	if (bad || !id == !vol || (id && !fl_uuid_valid(id)) || (vol && !fl_volname_valid(vol))) {
		fl_api_reply_err(
			a, req, 400,
			"list the snapshots of one dataset: ?dataset_id=UUID or ?volume=NAME");
		goto out;
	}
	if (resolve(a, req, id, vol, name, uuid))
		goto out;
	vj = new_job(a, req, FL_VJ_SNAP_LIST, name, snap_list_done);
	if (!vj)
		goto out;
	snprintf(vj->uuid, sizeof(vj->uuid), "%s", uuid);
	fl_vj_submit(vj);
out:
	evhttp_clear_headers(&kv);
}

static void snap_create_done(struct fl_vj *vj)
{
	struct api_job *x = vj->arg;
	json_t *j;

	if (job_failed(vj))
		return;
	j = snap_json(vj->uuid, vj->name, vj->snap, &vj->res.rec);
	json_object_set_new(j, "by_writer", json_boolean(vj->res.by_writer));
	json_object_set_new(j, "writer",
			    vj->res.by_writer ? json_string(vj->res.writer) : json_null());
	json_object_set_new(j, "frozen_ms",
			    vj->res.frozen_ms >= 0 ? json_integer(vj->res.frozen_ms) : json_null());
	fl_notice("snapshot %s@%s taken%s%s", vj->name, vj->snap,
		  vj->res.by_writer ? " by its writer " : "",
		  vj->res.by_writer ? vj->res.writer : "");
	fl_api_reply_json(x->a, x->req, 201, j);
	job_free(vj);
}

static int parse_snapshot_any(const char *body, size_t len, void *out, char *err, size_t errlen)
{
	return fl_api_parse_snapshot(body, len, out, err, errlen);
}

static void post_snapshots(struct fl_api *a, struct evhttp_request *req)
{
	struct fl_api_snap_req r;
	char name[FL_VOLNAME_MAX + 1], uuid[37];
	struct fl_vj *vj;
	uint64_t tag;

	if (!fl_api_request(a, req, &tag, parse_snapshot_any, &r))
		return;
	if (resolve(a, req, r.has_id ? r.dataset_id : NULL, r.volume, name, uuid))
		return;
	vj = new_job(a, req, FL_VJ_SNAP_CREATE, name, snap_create_done);
	if (!vj)
		return;
	snprintf(vj->uuid, sizeof(vj->uuid), "%s", uuid);
	snprintf(vj->snap, sizeof(vj->snap), "%s", r.name);
	fl_vj_submit(vj);
}

static void snap_remove_done(struct fl_vj *vj)
{
	struct api_job *x = vj->arg;

	if (job_failed(vj))
		return;
	fl_notice("snapshot %s@%s removed", vj->name, vj->snap);
	fl_api_reply_json(x->a, x->req, 200,
			  json_pack("{s:s,s:s,s:s}", "dataset_id", vj->uuid, "volume", vj->name,
				    "name", vj->snap));
	job_free(vj);
}

/* DELETE /v1/configuration/snapshots/<dataset id>/<snapshot name> */
static void delete_snapshot(struct fl_api *a, struct evhttp_request *req, const char *rest)
{
	const char *slash = strchr(rest, '/');
	char id[37], name[FL_VOLNAME_MAX + 1], uuid[37], snap[FL_VOLNAME_MAX + 1];
	struct fl_vj *vj;
	uint64_t tag;

	if (!slash || slash - rest != 36 || strlen(slash + 1) > FL_VOLNAME_MAX) {
		fl_api_reply_err(a, req, 404,
				 "not a snapshot: use /v1/configuration/snapshots/"
				 "<dataset id>/<snapshot name>");
		return;
	}
	memcpy(id, rest, 36);
	id[36] = '\0';
	snprintf(snap, sizeof(snap), "%s", slash + 1);
	if (!fl_uuid_valid(id) || !fl_volname_valid(snap)) {
		fl_api_reply_err(a, req, 404,
				 "not a snapshot: use /v1/configuration/snapshots/"
				 "<dataset id>/<snapshot name>");
		return;
	}
	if (!fl_api_precondition(a, req, &tag))
		return;
	if (resolve(a, req, id, NULL, name, uuid))
		return;
	vj = new_job(a, req, FL_VJ_SNAP_REMOVE, name, snap_remove_done);
	if (!vj)
		return;
	snprintf(vj->uuid, sizeof(vj->uuid), "%s", uuid);
	snprintf(vj->snap, sizeof(vj->snap), "%s", snap);
	fl_vj_submit(vj);
}

void fl_api_snap_route(struct fl_api *a, struct evhttp_request *req, enum evhttp_cmd_type m,
		       const char *p)
{
	const char *rest = p + strlen("/v1/configuration/snapshots");

	if (!*rest) {
		if (m == EVHTTP_REQ_GET)
			get_snapshots(a, req);
		else if (m == EVHTTP_REQ_POST)
			post_snapshots(a, req);
		else
			fl_api_reply_err(a, req, 405, "use GET or POST");
	} else if (m == EVHTTP_REQ_DELETE) {
		delete_snapshot(a, req, rest + 1);
	} else {
		fl_api_reply_err(a, req, 405, "use DELETE");
	}
}
