/* flockerfs — the standalone volume trash (see trash.h). */
#include "fs/volume/trash.h"
#include "fs/volume/snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flocker/log.h"
#include "fs/util/fmt.h"
#include "fs/volume/clone.h"
#include "fs/volume/volume.h"

static bool uuid_ok(const char *s, size_t len)
{
	size_t i;
	bool ok = len == 36;

	for (i = 0; ok && i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			ok = s[i] == '-';
		else
			ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
	}
	return ok;
}

/* ------------------------------------------------------------------ */
/* Entries and their records (the codec is fl_trash_rec_*, fs/format/record.c) */

static int entry_encode(const struct fl_trash_entry *t, struct fl_buf *out)
{
	struct fl_trash_rec r = {.version = FL_FORMAT_VERSION};

	memcpy(r.uuid, t->uuid, sizeof(r.uuid));
	memcpy(r.name, t->name, sizeof(r.name));
	if (t->reg_len > sizeof(r.reg))
		return -EINVAL;
	memcpy(r.reg, t->reg_raw, t->reg_len);
	r.reg_len = t->reg_len;
	r.removed = t->removed;
	r.removed_ns = t->removed_ns;
	r.purge_at = t->purge_at;
	r.state = t->state;
	r.state_since = t->state_since;
	memcpy(r.host, t->host, sizeof(r.host));
	return fl_trash_rec_encode(&r, out);
}

/* 0, or -EIO (-ENOMEM) with t zeroed. */
static int entry_decode(const void *p, size_t len, struct fl_trash_entry *t)
{
	struct fl_trash_rec r;
	int ret;

	memset(t, 0, sizeof(*t));
	ret = fl_trash_rec_decode(p, len, &r);
	if (ret)
		return ret;
	/* the decoder checked that the registry value decodes, naming r.uuid */
	ret = fl_volreg_decode(r.reg, r.reg_len, &t->reg);
	if (ret)
		return ret;
	memcpy(t->uuid, r.uuid, sizeof(t->uuid));
	memcpy(t->name, r.name, sizeof(t->name));
	memcpy(t->reg_raw, r.reg, r.reg_len);
	t->reg_len = r.reg_len;
	t->removed = r.removed;
	t->removed_ns = r.removed_ns;
	t->purge_at = r.purge_at;
	t->state = r.state;
	t->state_since = r.state_since;
	memcpy(t->host, r.host, sizeof(t->host));
	return 0;
}

/* ------------------------------------------------------------------ */
/* RADOS side */

struct raw_get {
	unsigned char *buf;
	size_t max, len;
	int ret; /* 0: not found, 1: found, -E2BIG: too big */
};

static int raw_get_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct raw_get *g = arg;

	(void)key;
	if (len > g->max) {
		g->ret = -E2BIG;
	} else {
		memcpy(g->buf, val, len);
		g->len = len;
		g->ret = 1;
	}
	return 0;
}

/* The raw value of key in oid: 0, -ENOENT if missing, -EIO if oversized. */
static int omap_get_raw(struct fl_store *reg, const char *oid, const char *key, void *buf,
			size_t max, size_t *len)
{
	struct raw_get g = {buf, max, 0, 0};
	const char *keys[1] = {key};
	int ret = reg->ops->omap_get(reg, oid, keys, 1, raw_get_cb, &g);

	if (ret)
		return ret;
	if (g.ret == 0)
		return -ENOENT;
	if (g.ret < 0)
		return -EIO;
	*len = g.len;
	return 0;
}

/* Does the registry name this uuid under name?  1 yes, 0 no, or a negative errno. */
static int reg_names(struct fl_store *reg, const char *name, const char *uuid)
{
	unsigned char raw[FL_TRASH_REG_MAX];
	struct fl_volreg_rec r;
	size_t len;
	int ret = omap_get_raw(reg, FL_REG_OID, name, raw, sizeof(raw), &len);

	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	if (fl_volreg_decode(raw, len, &r))
		return 0; /* a corrupt entry names nothing we know */
	return strcmp(r.uuid, uuid) == 0;
}

/* The entry of uuid with its raw record; -ENOENT, -EIO if corrupt. */
static int trash_get(struct fl_store *reg, const char *uuid, struct fl_trash_entry *t,
		     struct fl_buf *raw)
{
	char buf[FL_TRASH_REC_MAX];
	size_t len;
	int ret = omap_get_raw(reg, FL_TRASH_OID, uuid, buf, sizeof(buf), &len);

	if (ret)
		return ret;
	if (entry_decode(buf, len, t))
		return -EIO;
	fl_buf_reset(raw);
	return fl_buf_append(raw, buf, len);
}

/* Replaces the entry's record by t, if it is still old (NULL: if absent). */
static int trash_put(struct fl_store *reg, const struct fl_trash_entry *t, const struct fl_buf *old)
{
	struct fl_omap_cmp cmp = {t->uuid, old ? old->data : NULL, old ? old->len : 0};
	struct fl_buf b;
	struct fl_kv kv;
	int ret;

	fl_buf_init(&b, FL_TRASH_REC_MAX);
	ret = entry_encode(t, &b);
	if (ret)
		goto out;
	kv.key = t->uuid;
	kv.val = b.data;
	kv.len = b.len;
	ret = reg->ops->omap_update(reg, FL_TRASH_OID, &kv, 1, NULL, 0, &cmp, 1);
out:
	fl_buf_free(&b);
	return ret;
}

/* Drops the entry if its record is still old. */
static int trash_del(struct fl_store *reg, const char *uuid, const struct fl_buf *old)
{
	struct fl_omap_cmp cmp = {uuid, old->data, old->len};
	const char *rm[1] = {uuid};

	return reg->ops->omap_update(reg, FL_TRASH_OID, NULL, 0, rm, 1, &cmp, 1);
}

/* Step 1 of a restore (restoring) or of a purge: t's entry, still as raw,
 * marked so since now; *mraw: the marked entry as written.  -ECANCELED with
 * err set when the entry changed meanwhile, another negative errno without. */
static int trash_mark(struct fl_store *reg, const struct fl_trash_entry *t,
		      const struct fl_buf *raw, bool restoring, int64_t now, struct fl_buf *mraw,
		      char *err, size_t errlen)
{
	struct fl_trash_entry mark = *t;
	int ret;

	mark.state = restoring ? FL_TRASH_RESTORING : FL_TRASH_PURGING;
	mark.state_since = now;
	ret = trash_put(reg, &mark, raw);
	if (ret == -ECANCELED)
		fl_seterr(
			err, errlen,
			"cannot %s volume %s: its trash entry changed meanwhile (%s elsewhere?)%s",
			restoring ? "restore" : "purge", t->name,
			restoring ? "purged or restored" : "restored or purged",
			restoring ? ": retry" : "");
	if (ret)
		return ret;
	return entry_encode(&mark, mraw);
}

/* The trash entry of volume name (t->reg read), moved now by this host. */
static void trash_entry_fill(struct fl_trash_entry *t, const char *name, uint64_t ttl_s)
{
	struct timespec now;

	snprintf(t->uuid, sizeof(t->uuid), "%s", t->reg.uuid);
	snprintf(t->name, sizeof(t->name), "%s", name);
	clock_gettime(CLOCK_REALTIME, &now);
	t->removed = now.tv_sec;
	t->removed_ns = (uint32_t)now.tv_nsec;
	t->purge_at = t->removed + (int64_t)(ttl_s ? ttl_s : FL_TRASH_TTL_S);
	t->state = FL_TRASH_IN;
	if (gethostname(t->host, sizeof(t->host) - 1) < 0)
		t->host[0] = '\0';
	t->host[strcspn(t->host, "|")] = '\0';
}

/* Adds t to the trash; a leftover entry of its uuid is an interrupted move:
 * replaced. */
static int trash_put_new(struct fl_store *reg, const struct fl_trash_entry *t)
{
	int ret = trash_put(reg, t, NULL);

	if (ret == -ECANCELED) {
		const char *rm_stale[1] = {t->uuid};

		ret = reg->ops->omap_update(reg, FL_TRASH_OID, NULL, 0, rm_stale, 1, NULL, 0);
		if (!ret)
			ret = trash_put(reg, t, NULL);
	}
	return ret;
}

int fl_trash_move(struct fl_store *base, const char *name, uint64_t ttl_s,
		  struct fl_trash_entry *out, char *err, size_t errlen)
{
	struct fl_store *reg = NULL;
	struct fl_volume *v = NULL;
	struct fl_trash_entry t = {0};
	struct fl_omap_cmp cmp;
	const char *rm[1] = {name};
	int ret;

	ret = fl_volname_check(name, err, errlen);
	if (ret)
		return ret;
	ret = fl_reg_open(base, &reg);
	if (ret)
		goto out_err;
	ret = omap_get_raw(reg, FL_REG_OID, name, t.reg_raw, sizeof(t.reg_raw), &t.reg_len);
	if (ret == -ENOENT) {
		fl_seterr(err, errlen, "no such volume: %s", name);
		goto out;
	}
	if (ret)
		goto out_err;
	/* works on a damaged volume too: only the registry entry must be readable */
	if (fl_volreg_decode(t.reg_raw, t.reg_len, &t.reg)) {
		fl_seterr(err, errlen, "registry entry of volume %s is corrupt", name);
		ret = -EIO;
		goto out;
	}
	/*
	 * Refused while a writer holds it.  No lock of our own: taken from a
	 * long-lived client (the agent), a writer record it failed to clear
	 * would get that client fenced by the next mount.  A mount racing
	 * with the move keeps working on a volume in the trash, which a purge
	 * refuses while it is held.  The superblock may be damaged: only the
	 * lock on it is read.
	 */
	v = calloc(1, sizeof(*v));
	ret = v ? fl_volns_open(base, t.reg.uuid, &v->st) : -ENOMEM;
	if (ret)
		goto out_err;
	ret = fl_volume_remove_held(v, name, "it is in use on",
				    ": stop the containers using it there first", err, errlen);
	if (ret > 0) {
		ret = -EBUSY;
		goto out;
	}
	if (ret < 0)
		goto out_err;
	trash_entry_fill(&t, name, ttl_s);
	ret = trash_put_new(reg, &t);
	if (ret)
		goto out_err;
	cmp.key = name;
	cmp.val = t.reg_raw;
	cmp.len = t.reg_len;
	ret = reg->ops->omap_update(reg, FL_REG_OID, NULL, 0, rm, 1, &cmp, 1);
	if (ret) {
		/* the name changed hands meanwhile: nothing of ours to move */
		const char *undo[1] = {t.uuid};

		reg->ops->omap_update(reg, FL_TRASH_OID, NULL, 0, undo, 1, NULL, 0);
		if (ret == -ECANCELED) {
			fl_seterr(
				err, errlen,
				"cannot remove volume %s: it changed meanwhile (removed and created again elsewhere?): retry",
				name);
			goto out;
		}
		goto out_err;
	}
	fl_notice("volume %s (%s) moved to the trash", name, t.uuid);
	if (out)
		*out = t;
	goto out;
out_err:
	fl_seterr(err, errlen, "cannot move volume %s to the trash: %s", name, strerror(-ret));
out:
	if (v && !v->st)
		free(v);
	else
		fl_volume_close(v);
	fl_store_close(reg);
	return ret;
}

struct list_ctx {
	struct fl_store *reg;
	int (*cb)(void *arg, const struct fl_trash_entry *e);
	void *arg;
	int stopped;
};

static int list_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct list_ctx *l = arg;
	struct fl_trash_entry t;

	if (entry_decode(val, len, &t) || strcmp(t.uuid, key)) {
		fl_warn("trash entry %.40s is corrupt, skipped", key);
		return 0;
	}
	if (reg_names(l->reg, t.name, t.uuid) == 1)
		return 0; /* live: a move or restore that did not finish */
	l->stopped = l->cb(l->arg, &t);
	return l->stopped;
}

int fl_trash_list(struct fl_store *base, int (*cb)(void *arg, const struct fl_trash_entry *e),
		  void *arg)
{
	struct list_ctx l = {NULL, cb, arg, 0};
	bool more = true;
	int ret;

	ret = fl_reg_open(base, &l.reg);
	if (ret)
		return ret;
	ret = l.reg->ops->omap_list(l.reg, FL_TRASH_OID, NULL, UINT32_MAX, list_cb, &l, &more);
	if (ret == -ENOENT)
		ret = 0;
	fl_store_close(l.reg);
	return ret;
}

struct find_ctx {
	const char *name;
	struct fl_trash_entry *best;
	bool found;
};

static int find_cb(void *arg, const struct fl_trash_entry *t)
{
	struct find_ctx *f = arg;

	if (!strcmp(t->name, f->name) &&
	    (!f->found || t->removed > f->best->removed ||
	     (t->removed == f->best->removed && t->removed_ns > f->best->removed_ns))) {
		*f->best = *t;
		f->found = true;
	}
	return 0;
}

int fl_trash_find(struct fl_store *base, const char *ref, struct fl_trash_entry *out, char *err,
		  size_t errlen)
{
	struct find_ctx f = {ref, out, false};
	struct fl_store *reg = NULL;
	struct fl_buf raw;
	int ret;

	fl_buf_init(&raw, FL_TRASH_REC_MAX);
	ret = -ENOENT;
	if (uuid_ok(ref, strlen(ref))) {
		ret = fl_reg_open(base, &reg);
		if (ret)
			goto out;
		ret = trash_get(reg, ref, out, &raw);
		if (ret == 0 && reg_names(reg, out->name, out->uuid) == 1)
			ret = -ENOENT;
	}
	if (ret == -ENOENT) {
		/* a name (which may look like a uuid) */
		ret = fl_trash_list(base, find_cb, &f);
		if (!ret && !f.found)
			ret = -ENOENT;
	}
	if (ret == -ENOENT)
		fl_seterr(err, errlen,
			  "volume %s is not in the trash: flockerctl volume list --trash lists it",
			  ref);
	else if (ret)
		fl_seterr(err, errlen, "cannot read the trash: %s", strerror(-ret));
out:
	fl_buf_free(&raw);
	fl_store_close(reg);
	return ret;
}

/* Best effort: the superblock carries the name too (shown by inspect). */
static void rename_super(struct fl_store *base, const char *name)
{
	struct fl_volume *v = NULL;

	if (fl_volume_open(base, name, &v, NULL, 0))
		return;
	if (strcmp(v->super.name, name) && fl_volume_lock(v, 10, false, NULL, 0) == 0) {
		snprintf(v->super.name, sizeof(v->super.name), "%s", name);
		if (fl_volume_write_super(v))
			fl_warn("volume %s: cannot write its new name into its superblock", name);
	}
	fl_volume_close(v);
}

/* Reads t's trash entry again, raw too (for a compare-and-swap): -ENOENT,
 * with a message, when it went meanwhile. */
static int trash_reread(struct fl_store *reg, const char *ref, struct fl_trash_entry *t,
			struct fl_buf *raw, char *err, size_t errlen)
{
	int ret = trash_get(reg, t->uuid, t, raw);

	if (ret == -ENOENT)
		fl_seterr(err, errlen,
			  "volume %s is not in the trash any more (purged or restored meanwhile)",
			  ref);
	return ret;
}

/* 0 if no volume has name; -EEXIST (with a message) if one has. */
static int name_free(struct fl_store *reg, const char *name, char *err, size_t errlen)
{
	unsigned char cur[FL_TRASH_REG_MAX];
	size_t curlen;
	char taken[37] = "";
	int ret;

	ret = omap_get_raw(reg, FL_REG_OID, name, cur, sizeof(cur), &curlen);
	if (ret == 0) {
		struct fl_volreg_rec r;

		if (fl_volreg_decode(cur, curlen, &r) == 0)
			snprintf(taken, sizeof(taken), "%s", r.uuid);
		fl_seterr(
			err, errlen,
			"cannot restore volume %s: the name is taken by volume %s; restore it under another name (--as NEW-NAME)",
			name, taken[0] ? taken : "?");
		return -EEXIST;
	}
	return ret == -ENOENT ? 0 : ret;
}

/* Registers t's volume under name, if the name is still free (-ECANCELED if not). */
static int name_put(struct fl_store *reg, const char *name, const struct fl_trash_entry *t)
{
	struct fl_omap_cmp cmp;
	struct fl_kv kv;

	kv.key = name;
	kv.val = t->reg_raw;
	kv.len = t->reg_len;
	cmp.key = name;
	cmp.val = NULL;
	cmp.len = 0;
	return reg->ops->omap_update(reg, FL_REG_OID, &kv, 1, NULL, 0, &cmp, 1);
}

int fl_trash_restore(struct fl_store *base, const char *ref, const char *new_name,
		     struct fl_trash_entry *out, char *err, size_t errlen)
{
	struct fl_trash_entry t;
	struct fl_store *reg = NULL;
	struct fl_buf raw, mraw;
	const char *name;
	int ret;

	fl_buf_init(&raw, FL_TRASH_REC_MAX);
	fl_buf_init(&mraw, FL_TRASH_REC_MAX);
	ret = fl_trash_find(base, ref, &t, err, errlen);
	if (ret)
		goto out;
	name = new_name && *new_name ? new_name : t.name;
	ret = fl_volname_check(name, err, errlen);
	if (ret)
		goto out;
	ret = fl_reg_open(base, &reg);
	if (ret)
		goto out_err;
	ret = trash_reread(reg, ref, &t, &raw, err, errlen);
	if (ret == -ENOENT)
		goto out;
	if (ret)
		goto out_err;
	if (t.state == FL_TRASH_PURGING) {
		fl_seterr(err, errlen, "cannot restore volume %s (%s): it is being purged", t.name,
			  t.uuid);
		ret = -EBUSY;
		goto out;
	}
	ret = name_free(reg, name, err, errlen);
	if (ret == -EEXIST)
		goto out;
	if (ret)
		goto out_err;
	/* step 1: mark it, so that no purge starts meanwhile */
	ret = trash_mark(reg, &t, &raw, true, time(NULL), &mraw, err, errlen);
	if (ret == -ECANCELED)
		goto out;
	if (ret)
		goto out_err;
	/* step 2: the name, if still free, with the registry value as it was */
	ret = name_put(reg, name, &t);
	if (ret) {
		if (trash_put(reg, &t, &mraw))
			fl_warn("volume %s: cannot clear its restore mark", t.name);
		if (ret == -ECANCELED) {
			fl_seterr(err, errlen,
				  "cannot restore volume %s: the name was taken meanwhile", name);
			ret = -EEXIST;
			goto out;
		}
		goto out_err;
	}
	/* step 3: out of the trash (failing that, the entry is stale and ignored) */
	if (trash_del(reg, t.uuid, &mraw))
		fl_warn("volume %s is back but its trash entry stays until the next purge", name);
	if (strcmp(name, t.name))
		rename_super(base, name);
	fl_notice("volume %s (%s) restored from the trash%s%s", name, t.uuid,
		  strcmp(name, t.name) ? ", formerly " : "", strcmp(name, t.name) ? t.name : "");
	if (out)
		*out = t;
	goto out;
out_err:
	fl_seterr(err, errlen, "cannot restore volume %s: %s", ref, strerror(-ret));
out:
	fl_buf_free(&raw);
	fl_buf_free(&mraw);
	fl_store_close(reg);
	return ret;
}

#define RM_BATCH 1024 /* removes sent together (64 in flight on RADOS) */

struct rm_ctx {
	struct fl_store *st;
	const bool *stop;
	uint64_t n;
	struct fl_batch *b; /* removes sent, not yet waited for */
	unsigned nb;
};

/* Waits for the removes in flight; n counts them (one already gone included). */
static int rm_flush(struct rm_ctx *r)
{
	int ret;

	if (!r->b)
		return 0;
	ret = fl_batch_wait(r->b);
	r->b = NULL;
	if (ret == 0)
		r->n += r->nb;
	r->nb = 0;
	return ret;
}

/* Each object the listing finds goes in a batch: the purge costs one listing
 * and the objects that exist, 64 removes in flight at a time. */
static int rm_cb(void *arg, const char *oid)
{
	struct rm_ctx *r = arg;

	if (r->stop && __atomic_load_n(r->stop, __ATOMIC_RELAXED))
		return -EINTR;
	if (!r->b) {
		r->b = fl_batch_new(r->st);
		if (!r->b)
			return -ENOMEM;
	}
	r->b->ops->remove(r->b, oid);
	if (++r->nb == RM_BATCH)
		return rm_flush(r);
	return 0;
}

/* Removes every object of st unless *stop: 0, -EINTR when stopped, or a
 * negative errno; *n counts the objects removed. */
static int rm_all(struct fl_store *st, const bool *stop, uint64_t *n)
{
	struct rm_ctx r = {st, stop, 0, NULL, 0};
	int ret = st->ops->list_objects(st, NULL, rm_cb, &r);
	int r2 = rm_flush(&r);

	*n = r.n;
	return ret ? ret : r2;
}

/* Purges the entry t (raw: its record as read). */
static int purge_one(struct fl_store *base, struct fl_store *reg, struct fl_trash_entry *t,
		     struct fl_buf *raw, const bool *stop, char *err, size_t errlen)
{
	struct fl_volume v = {0};
	struct fl_holder h;
	struct fl_buf mraw;
	int64_t now = time(NULL);
	uint64_t nobj = 0;
	int ret, live;

	fl_buf_init(&mraw, FL_TRASH_REC_MAX);
	live = reg_names(reg, t->name, t->uuid);
	if (live == 1) {
		/* a move or restore that did not finish: the volume is live */
		trash_del(reg, t->uuid, raw);
		fl_seterr(
			err, errlen,
			"volume %s (%s) is not in the trash: it is live (a move to the trash or a restore did not finish); its stale trash entry is dropped",
			t->name, t->uuid);
		ret = -ENOENT;
		goto out;
	}
	if (live < 0) {
		ret = live;
		goto out_err;
	}
	if (t->state == FL_TRASH_RESTORING && now - t->state_since < FL_TRASH_STALE_S) {
		fl_seterr(err, errlen, "cannot purge volume %s (%s): it is being restored", t->name,
			  t->uuid);
		ret = -EBUSY;
		goto out;
	}
	ret = fl_volns_open(base, t->uuid, &v.st);
	if (ret)
		goto out_err;
	ret = fl_volume_holder(&v, &h);
	if (ret > 0) {
		fl_seterr(
			err, errlen,
			"cannot purge volume %s (%s): host %s (pid %ld) still has it mounted read-write: unmount it there first",
			t->name, t->uuid, h.host, h.pid);
		ret = -EBUSY;
		goto out;
	}
	ret = fl_clone_children(v.st, NULL, NULL);
	if (ret > 0) {
		fl_seterr(err, errlen,
			  "cannot purge volume %s (%s): %d clone(s) read from its snapshots; "
			  "flatten or remove them first",
			  t->name, t->uuid, ret);
		ret = -EBUSY;
		goto out;
	}
	if (ret < 0)
		goto out_err;
	ret = fl_clone_unlink(base, v.st);
	if (ret && ret != -ENOENT)
		goto out_err;
	/* step 1: the mark (restores refuse it from now on) */
	if (t->state != FL_TRASH_PURGING) {
		ret = trash_mark(reg, t, raw, false, now, &mraw, err, errlen);
		if (ret == -ECANCELED)
			goto out;
		if (ret)
			goto out_err;
	} else {
		ret = fl_buf_append(&mraw, raw->data, raw->len);
		if (ret)
			goto out_err;
	}
	/* step 2: its snapshots (their ids are in an object), every object; step 3: the entry */
	snprintf(v.super.name, sizeof(v.super.name), "%s", t->name);
	ret = fl_snap_remove_all(&v, err, errlen);
	if (ret)
		goto out;
	ret = rm_all(v.st, stop, &nobj);
	if (ret == -EINTR) {
		fl_seterr(err, errlen, "purge of volume %s interrupted; the next purge finishes it",
			  t->name);
		goto out;
	}
	if (ret)
		goto out_err;
	ret = trash_del(reg, t->uuid, &mraw);
	if (ret == -ECANCELED || ret == -ENOENT)
		ret = 0; /* another purger finished first */
	if (ret)
		goto out_err;
	fl_notice("volume %s (%s) purged from the trash: %" PRIu64 " objects deleted", t->name,
		  t->uuid, nobj);
	goto out;
out_err:
	fl_seterr(err, errlen, "cannot purge volume %s: %s", t->name, strerror(-ret));
out:
	fl_store_close(v.st);
	fl_buf_free(&mraw);
	return ret;
}

int fl_trash_purge(struct fl_store *base, const char *ref, const bool *stop, char *err,
		   size_t errlen)
{
	struct fl_store *reg = NULL;
	struct fl_trash_entry t;
	struct fl_buf raw;
	int ret;

	fl_buf_init(&raw, FL_TRASH_REC_MAX);
	ret = fl_trash_find(base, ref, &t, err, errlen);
	if (ret)
		goto out;
	ret = fl_reg_open(base, &reg);
	if (ret) {
		fl_seterr(err, errlen, "cannot purge volume %s: out of memory", ref);
		goto out;
	}
	ret = trash_reread(reg, ref, &t, &raw, err, errlen);
	if (ret == -ENOENT)
		goto out;
	if (ret) {
		fl_seterr(err, errlen, "cannot purge volume %s: %s", ref, strerror(-ret));
		goto out;
	}
	ret = purge_one(base, reg, &t, &raw, stop, err, errlen);
out:
	fl_store_close(reg);
	fl_buf_free(&raw);
	return ret;
}

struct due {
	char uuid[37];
	struct due *next;
};

struct due_ctx {
	int64_t now;
	struct due *head;
	int ret;
};

static int due_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct due_ctx *d = arg;
	struct fl_trash_entry t;
	struct due *n;

	if (entry_decode(val, len, &t) || strcmp(t.uuid, key) || t.purge_at > d->now)
		return 0;
	n = calloc(1, sizeof(*n));
	if (!n) {
		d->ret = -ENOMEM;
		return -ENOMEM;
	}
	memcpy(n->uuid, t.uuid, sizeof(n->uuid));
	n->next = d->head;
	d->head = n;
	return 0;
}

int fl_trash_purge_expired(struct fl_store *base, int64_t now, const bool *stop, unsigned *npurged)
{
	struct due_ctx d = {now, NULL, 0};
	struct fl_store *reg;
	struct fl_trash_entry t;
	struct fl_buf raw;
	struct due *n;
	bool more = true;
	char err[512];
	int ret;

	if (npurged)
		*npurged = 0;
	ret = fl_reg_open(base, &reg);
	if (ret)
		return ret;
	fl_buf_init(&raw, FL_TRASH_REC_MAX);
	/* collect first: purging changes the omap being listed */
	ret = reg->ops->omap_list(reg, FL_TRASH_OID, NULL, UINT32_MAX, due_cb, &d, &more);
	if (ret == -ENOENT)
		ret = 0;
	if (d.ret)
		ret = d.ret;
	while ((n = d.head)) {
		d.head = n->next;
		if (!ret && !(stop && __atomic_load_n(stop, __ATOMIC_RELAXED)) &&
		    trash_get(reg, n->uuid, &t, &raw) == 0 && t.purge_at <= now) {
			err[0] = '\0';
			if (purge_one(base, reg, &t, &raw, stop, err, sizeof(err)) == 0) {
				if (npurged)
					(*npurged)++;
			} else {
				fl_warn("trash: %s", err);
			}
		}
		free(n);
	}
	fl_buf_free(&raw);
	fl_store_close(reg);
	return ret;
}
