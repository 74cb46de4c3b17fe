/*
 * flockerfs — flocker-control's volume jobs: see ctl_voljob.h.
 */
#include "cluster/control/ctl_voljob.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flocker/log.h"
#include "fs/volume/clone.h"
#include "fs/volume/volume.h"

struct fl_vj *fl_vj_new(struct fl_ctl *c, enum fl_vj_kind kind, void (*done)(struct fl_vj *vj),
			void *arg)
{
	struct fl_vj *vj = calloc(1, sizeof(*vj));

	if (!vj)
		return NULL;
	vj->c = c;
	vj->pool = fl_state_pool(c->state);
	vj->kind = kind;
	vj->done = done;
	vj->arg = arg;
	return vj;
}

void fl_vj_free(struct fl_vj *vj)
{
	if (!vj)
		return;
	free(vj->metadata);
	free(vj->snaps);
	free(vj);
}

/* ------------------------------------------------------------------ */
/* on a worker: only vj->pool */

/* The registry view of an open volume, and its parent when it is a clone. */
static int read_volume(struct fl_vj *vj)
{
	struct fl_volume *v = NULL;
	struct fl_parent_rec pr;
	int ret;

	ret = fl_volume_open(vj->pool, vj->name, &v, vj->msg, sizeof(vj->msg));
	if (ret)
		return ret;
	if (vj->kind == FL_VJ_CREATE) {
		memset(&vj->reg, 0, sizeof(vj->reg));
		snprintf(vj->reg.uuid, sizeof(vj->reg.uuid), "%s", v->super.uuid);
		vj->reg.created = v->super.created;
		vj->reg.size_limit = v->super.size_limit;
	}
	vj->bytes_used = v->super.used_bytes;
	vj->parent[0] = '\0';
	if (fl_clone_parent(v->st, &pr) > 0)
		snprintf(vj->parent, sizeof(vj->parent), "%s@%s", pr.name, pr.snap);
	fl_volume_close(v);
	return 0;
}

static int take_snap(struct fl_vj *vj, const char *vol, const char *snap)
{
	struct fl_snap_opts o = {.takeover = false, .timeout_ms = FL_VJ_SNAP_WAIT_MS};

	return fl_snap_create(vj->pool, vol, snap, &o, &vj->res, vj->msg, sizeof(vj->msg));
}

static int do_clone(struct fl_vj *vj)
{
	char vol[FL_VOLNAME_MAX + 1], snap[FL_VOLNAME_MAX + 1], e2[256];
	int at = fl_snap_parse(vj->from, vol, sizeof(vol), snap, sizeof(snap)), ret;

	if (at < 0) {
		fl_seterr(vj->msg, sizeof(vj->msg),
			  "invalid from '%.140s' for volume %s: use VOL or VOL@SNAP", vj->from,
			  vj->name);
		return -EINVAL;
	}
	if (!at) {
		/* taken here, not by fl_volume_clone: control waits for a writer only so long */
		snprintf(snap, sizeof(snap), "clone-%.80s-%lld", vj->name, (long long)time(NULL));
		ret = take_snap(vj, vol, snap);
		if (ret)
			return ret;
		vj->made_snap = true;
	}
	ret = fl_volume_clone(vj->pool, vol, snap, vj->name, NULL, 0, vj->msg, sizeof(vj->msg));
	if (ret && vj->made_snap && fl_snap_remove(vj->pool, vol, snap, e2, sizeof(e2)))
		fl_warn("snapshot %s@%s, taken for clone %s, stays: %s", vol, snap, vj->name, e2);
	return ret;
}

static int list_cb(void *arg, const char *name, const struct fl_snap_rec *r)
{
	struct fl_vj *vj = arg;
	struct fl_vj_snap *n;

	if (vj->kind == FL_VJ_INFO) {
		vj->nsnaps_total++;
		return 0;
	}
	n = realloc(vj->snaps, (vj->nsnaps + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	vj->snaps = n;
	snprintf(n[vj->nsnaps].name, sizeof(n[vj->nsnaps].name), "%s", name);
	n[vj->nsnaps].rec = *r;
	vj->nsnaps++;
	return 0;
}

static void vj_work(struct fl_job *j)
{
	struct fl_vj *vj = (struct fl_vj *)j;
	int ret = 0;

	switch (vj->kind) {
	case FL_VJ_CREATE:
		if (vj->from[0])
			ret = do_clone(vj);
		else
			ret = fl_volume_create(vj->pool, vj->name, vj->size, 0, vj->msg,
					       sizeof(vj->msg));
		if (!ret) {
			ret = read_volume(vj);
			if (ret)
				fl_seterr(vj->msg, sizeof(vj->msg),
					  "cannot read volume %s after creating it: %s", vj->name,
					  strerror(-ret));
		}
		break;
	case FL_VJ_REMOVE:
		ret = fl_state_writer_check(vj->pool, vj->name, vj->msg, sizeof(vj->msg));
		break;
	case FL_VJ_SNAP_CREATE:
		ret = take_snap(vj, vj->name, vj->snap);
		break;
	case FL_VJ_SNAP_LIST:
		ret = fl_snap_list(vj->pool, vj->name, list_cb, vj, vj->msg, sizeof(vj->msg));
		break;
	case FL_VJ_SNAP_REMOVE:
		ret = fl_snap_remove(vj->pool, vj->name, vj->snap, vj->msg, sizeof(vj->msg));
		break;
	case FL_VJ_INFO:
		ret = read_volume(vj);
		if (!ret)
			ret = fl_snap_list(vj->pool, vj->name, list_cb, vj, vj->msg,
					   sizeof(vj->msg));
		break;
	}
	if (ret && !vj->msg[0])
		fl_seterr(vj->msg, sizeof(vj->msg), "volume %s: %s", vj->name, strerror(-ret));
	vj->err = ret;
}

/* ------------------------------------------------------------------ */
/* back on the loop */

static void vj_done(struct fl_job *j)
{
	struct fl_vj *vj = (struct fl_vj *)j;
	struct fl_state *s = vj->c->state;
	int ret;

	if (j->cancelled) {
		vj->err = -ESHUTDOWN;
		fl_seterr(vj->msg, sizeof(vj->msg), "flocker-control is stopping: volume %s",
			  vj->name);
	} else if (!vj->err && vj->kind == FL_VJ_CREATE) {
		/* the volume exists: its record is written whatever the tag did meanwhile */
		ret = fl_state_ds_add(s, vj->name, &vj->reg,
				      vj->from[0] ? vj->reg.size_limit : vj->size, vj->metadata,
				      vj->primary[0] ? vj->primary : NULL, NULL, vj->msg,
				      sizeof(vj->msg));
		vj->err = ret;
		if (vj->made_snap)
			fl_notice("snapshot %s for clone %s taken %s%s (writers waited %lld ms)",
				  vj->parent, vj->name,
				  vj->res.by_writer ? "by its writer on host " : "directly",
				  vj->res.by_writer ? vj->res.writer : "",
				  (long long)vj->res.frozen_ms);
	} else if (!vj->err && vj->kind == FL_VJ_REMOVE) {
		ret = fl_ctl_remove_check(vj->c, vj->uuid, vj->msg, sizeof(vj->msg));
		if (!ret)
			ret = fl_state_ds_trash(s, vj->uuid, vj->expect_tag, vj->msg,
						sizeof(vj->msg));
		vj->err = ret;
	}
	vj->done(vj);
}

void fl_vj_submit(struct fl_vj *vj)
{
	vj->job.work = vj_work;
	vj->job.done = vj_done;
	fl_job_submit(vj->c, &vj->job);
}
