/*
 * flockerfs — flocker-control's registry (see ctl_state.h): removing volumes
 * (at once or to the trash), restoring them from the trash, and the purge of
 * the trash once an entry's time is up.
 */
#include "cluster/control/ctl_state.h"
#include "cluster/control/ctl_server.h"
#include "cluster/control/ctl_state_priv.h"
#include "cluster/control/ctl_state_rec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flocker/log.h"
#include "flocker/proto.h"
#include "fs/volume/volume.h"

/* Writes trash entry t alone: fl_state_commit's 0 or error. */
int fl_state_trash_put(struct fl_state *s, const struct fl_trash *t)
{
	struct fl_frame_enc *e;
	struct txn x;
	int ret;

	fl_txn_init(&x);
	e = fl_txn_set(&x, PFX_TRASH, t->uuid);
	ret = fl_txn_set_done(&x, fl_state_enc_trash(t, e));
	if (!ret)
		ret = fl_state_commit(s, &x, 0);
	fl_txn_free(&x);
	return ret;
}

int fl_state_trash_commit_ds(struct fl_state *s, struct fl_trash *t, struct fl_ds *d)
{
	struct fl_frame_enc *e;
	struct txn x;
	int ret;

	snprintf(d->uuid, sizeof(d->uuid), "%s", t->uuid);
	snprintf(d->name, sizeof(d->name), "%s", t->name);
	d->maximum_size = t->reg.size_limit;
	d->created = t->reg.created;
	d->metadata = t->metadata;
	fl_txn_init(&x);
	e = fl_txn_set(&x, PFX_DS, t->uuid);
	ret = fl_txn_set_done(&x, fl_state_enc_ds(d, e));
	if (!ret)
		ret = fl_txn_rm(&x, PFX_TRASH, t->uuid);
	if (!ret)
		ret = fl_state_commit(s, &x, 0);
	fl_txn_free(&x);
	if (ret)
		d->metadata = NULL;
	else
		t->metadata = NULL; /* now d's */
	return ret;
}

static int ds_remove(struct fl_state *s, const char *uuid, uint64_t expect_tag, bool check_writer,
		     char *err, size_t errlen)
{
	struct fl_trash t = {0};
	struct fl_frame_enc *e;
	const struct fl_ds *d;
	char name[FL_VOLNAME_MAX + 1];
	struct txn x;
	int ret;

	fl_txn_init(&x);
	if (expect_tag && expect_tag != s->tag) {
		ret = -ESTALE;
		fl_seterr(err, errlen, "cannot remove dataset %s: %s", uuid, fl_state_why(ret));
		goto out;
	}
	ret = fl_state_volume_by_uuid(s, uuid, name, &t.reg);
	if (ret == -ENOENT) {
		fl_seterr(err, errlen, "no such dataset: %s%s", uuid,
			  fl_karr_find(TRASH(s), uuid) >= 0 ? " (it is in the trash)" : "");
		goto out;
	}
	if (ret) {
		fl_seterr(err, errlen, "cannot read the volume registry: %s", strerror(-ret));
		goto out;
	}
	if (check_writer) {
		ret = fl_state_writer_check(s->pool, name, err, errlen);
		if (ret)
			goto out;
	}
	snprintf(t.uuid, sizeof(t.uuid), "%s", uuid);
	snprintf(t.name, sizeof(t.name), "%s", name);
	t.removed = time(NULL);
	t.purge_at = t.removed + (int64_t)s->ttl;
	d = fl_state_ds(s, uuid);
	t.metadata = d && d->metadata ? strdup(d->metadata) : NULL;
	e = fl_txn_set(&x, PFX_TRASH, uuid);
	ret = fl_txn_set_done(&x, fl_state_enc_trash(&t, e));
	if (!ret)
		ret = fl_txn_rm(&x, PFX_DS, uuid);
	if (!ret)
		ret = fl_txn_rm(&x, PFX_LEASE, uuid);
	if (!ret)
		ret = fl_state_commit(s, &x, 0);
	if (ret) {
		fl_seterr(err, errlen, "cannot move volume %s to the trash: %s", name,
			  fl_state_why(ret));
		goto out;
	}
	fl_karr_rm(DS(s), uuid);
	fl_karr_rm(LEASES(s), uuid);
	ret = fl_state_reg_change(s, name, &t.reg, true);
	if (ret == -ECANCELED)
		ret = 0; /* the name changed hands meanwhile: nothing of ours to drop */
	if (ret)
		fl_warn("volume %s is in the trash but its name stays taken until the next "
			"start: %s",
			name, strerror(-ret));
	ret = fl_karr_take(TRASH(s), &t);
out:
	fl_trash_clear(&t);
	fl_txn_free(&x);
	return ret;
}

int fl_state_ds_remove(struct fl_state *s, const char *uuid, uint64_t expect_tag, char *err,
		       size_t errlen)
{
	return ds_remove(s, uuid, expect_tag, true, err, errlen);
}

int fl_state_ds_trash(struct fl_state *s, const char *uuid, uint64_t expect_tag, char *err,
		      size_t errlen)
{
	return ds_remove(s, uuid, expect_tag, false, err, errlen);
}

/* Best effort: the superblock carries the name too (shown by inspect). */
static void rename_super(struct fl_state *s, const char *name)
{
	struct fl_volume *v = NULL;
	char err[256];

	if (fl_volume_open(s->pool, name, &v, err, sizeof(err)))
		return;
	if (fl_volume_lock(v, 10, false, err, sizeof(err)) == 0) {
		snprintf(v->super.name, sizeof(v->super.name), "%s", name);
		if (fl_volume_write_super(v))
			fl_warn("volume %s: cannot rename its superblock", name);
	}
	fl_volume_close(v);
}

/* What fl_state_ds_restore checks first: the tag, the trash entry (*tp), not
 * being purged, and its name (*namep: new_name or its own) valid and free. */
static int restore_check(struct fl_state *s, const char *uuid, const char *new_name,
			 uint64_t expect_tag, struct fl_trash **tp, const char **namep, char *err,
			 size_t errlen)
{
	struct fl_volreg_rec r;
	struct fl_trash *t;
	const char *name;
	ssize_t i;
	int ret;

	if (expect_tag && expect_tag != s->tag) {
		ret = -ESTALE;
		fl_seterr(err, errlen, "cannot restore dataset %s: %s", uuid, fl_state_why(ret));
		return ret;
	}
	i = fl_karr_find(TRASH(s), uuid);
	if (i < 0) {
		ret = -ENOENT;
		fl_seterr(err, errlen, "dataset %s is not in the trash", uuid);
		return ret;
	}
	*tp = t = &s->trash[i];
	if (!strcmp(s->purging, uuid)) {
		ret = -EBUSY;
		fl_seterr(err, errlen,
			  "cannot restore volume %s: it is being purged from the trash", t->name);
		return ret;
	}
	*namep = name = new_name && *new_name ? new_name : t->name;
	if (!fl_volname_valid(name)) {
		ret = -EINVAL;
		fl_seterr(err, errlen, "invalid volume name '%s'", name);
		return ret;
	}
	ret = fl_state_volume_by_name(s, name, &r);
	if (ret == 0) {
		ret = -EEXIST;
		fl_seterr(
			err, errlen,
			"cannot restore volume %s: the name is taken by volume %s; restore it under another name",
			name, r.uuid);
		return ret;
	}
	if (ret != -ENOENT) {
		fl_seterr(err, errlen, "cannot read the volume registry: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

int fl_state_ds_restore(struct fl_state *s, const char *uuid, const char *new_name,
			uint64_t expect_tag, char *err, size_t errlen)
{
	struct fl_trash *t;
	struct fl_trash copy = {0};
	struct fl_ds d = {0};
	const char *name;
	int ret;

	fl_state_wq_drain(s);
	ret = restore_check(s, uuid, new_name, expect_tag, &t, &name, err, errlen);
	if (ret)
		goto out;
	/* step 1: mark it, so a crash before step 3 is repaired at the next start */
	copy = *t;
	copy.metadata = NULL;
	snprintf(copy.name, sizeof(copy.name), "%s", name);
	copy.restoring = true;
	copy.metadata = t->metadata ? strdup(t->metadata) : NULL;
	ret = fl_state_trash_put(s, &copy);
	if (ret) {
		fl_seterr(err, errlen, "cannot restore volume %s: %s", name, fl_state_why(ret));
		goto out;
	}
	ret = fl_karr_take(TRASH(s), &copy);
	if (ret)
		goto out;
	t = fl_karr_get(TRASH(s), uuid);
	/* step 2: the name, if still free */
	ret = fl_state_reg_change(s, name, &t->reg, false);
	if (ret) {
		t->restoring = false;
		fl_state_trash_put(s, t);
		if (ret == -ECANCELED) {
			ret = -EEXIST;
			fl_seterr(err, errlen,
				  "cannot restore volume %s: the name was taken meanwhile", name);
		} else {
			fl_seterr(err, errlen, "cannot restore volume %s: %s", name,
				  strerror(-ret));
		}
		goto out;
	}
	/* step 3: a dataset again */
	ret = fl_state_trash_commit_ds(s, t, &d);
	if (ret) {
		fl_seterr(err, errlen, "volume %s is back but still listed in the trash: %s", name,
			  fl_state_why(ret));
		goto out;
	}
	fl_karr_rm(TRASH(s), uuid);
	ret = fl_karr_take(DS(s), &d);
	rename_super(s, name);
out:
	fl_ds_clear(&d);
	fl_trash_clear(&copy);
	return ret;
}

static int purge_cb(void *arg, const char *oid)
{
	struct fl_store *st = arg;
	int ret = st->ops->remove(st, oid);

	return ret == -ENOENT ? 0 : ret;
}

int fl_state_purge_next(struct fl_state *s, int64_t now, char *uuid, char *name)
{
	struct fl_volreg_rec r;
	size_t i;

	if (s->purging[0])
		return 0;
	for (i = 0; i < s->ntrash; i++) {
		struct fl_trash *t = &s->trash[i];

		if (t->restoring || t->purge_at > now)
			continue;
		/* never purge what the registry names (a repair may be pending) */
		if (fl_state_volume_by_name(s, t->name, &r) == 0 && !strcmp(r.uuid, t->uuid))
			continue;
		snprintf(s->purging, sizeof(s->purging), "%s", t->uuid);
		snprintf(uuid, 37, "%s", t->uuid);
		snprintf(name, FL_VOLNAME_MAX + 1, "%s", t->name);
		return 1;
	}
	return 0;
}

int fl_state_purge_objects(struct fl_store *pool, const char *uuid)
{
	struct fl_store *vs;
	char ns[48];
	int ret;

	snprintf(ns, sizeof(ns), "vol.%s", uuid);
	vs = pool->ops->clone_ns(pool, ns);
	if (!vs)
		return -ENOMEM;
	ret = vs->ops->list_objects(vs, NULL, purge_cb, vs);
	fl_store_close(vs);
	return ret;
}

int fl_state_purge_done(struct fl_state *s, const char *uuid, int result)
{
	ssize_t i = fl_karr_find(TRASH(s), uuid);
	struct txn x;
	char name[FL_VOLNAME_MAX + 1];
	int ret;

	if (!strcmp(s->purging, uuid))
		s->purging[0] = '\0';
	if (result || i < 0)
		return result;
	snprintf(name, sizeof(name), "%s", s->trash[i].name);
	fl_txn_init(&x);
	ret = fl_txn_rm(&x, PFX_TRASH, uuid);
	if (!ret)
		ret = fl_state_commit(s, &x, 0);
	fl_txn_free(&x);
	if (ret)
		return ret;
	fl_notice("volume %s (%s) purged from the trash", name, uuid);
	fl_karr_rm(TRASH(s), uuid);
	return 0;
}

int fl_state_purge(struct fl_state *s, int64_t now)
{
	char uuid[37], name[FL_VOLNAME_MAX + 1];
	int n = 0, ret;

	while (fl_state_purge_next(s, now, uuid, name) == 1) {
		ret = fl_state_purge_done(s, uuid, fl_state_purge_objects(s->pool, uuid));
		if (ret)
			return ret;
		n++;
	}
	return n;
}
