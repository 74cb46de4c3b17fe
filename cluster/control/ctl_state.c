/*
 * flockerfs — flocker-control's registry in RADOS (see ctl_state.h): the cache
 * and its loading, guarded writes, the volume registry, volumes' creation,
 * leases and node records.  The trash is in ctl_state_trash.c, the writes
 * handed to worker threads in ctl_state_async.c.
 */
#include "cluster/control/ctl_state.h"
#include "cluster/control/ctl_server.h"
#include "cluster/control/ctl_state_priv.h"
#include "cluster/control/ctl_state_rec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flocker/buf.h"
#include "flocker/log.h"
#include "flocker/proto.h"
#include "fs/util/uuid.h"
#include "fs/volume/volume.h"
#include "fs/util/fmt.h"

void fl_ds_clear(struct fl_ds *d)
{
	free(d->metadata);
	memset(d, 0, sizeof(*d));
}

void fl_trash_clear(struct fl_trash *t)
{
	free(t->metadata);
	memset(t, 0, sizeof(*t));
}

bool fl_lease_equal(const struct fl_lease *a, const struct fl_lease *b)
{
	return !strcmp(a->uuid, b->uuid) && !strcmp(a->node, b->node) &&
	       !strcmp(a->node_name, b->node_name) && a->since == b->since &&
	       a->expires == b->expires && a->kind == b->kind;
}

/* ------------------------------------------------------------------ */
/* the cache */

void fl_karr_clear_ds(void *d)
{
	fl_ds_clear(d);
}

void fl_karr_clear_trash(void *t)
{
	fl_trash_clear(t);
}

static void *karr_at(struct karr a, size_t i)
{
	return (char *)*a.v + i * a.size;
}

/* The index of the record with this uuid, or -1. */
ssize_t fl_karr_find(struct karr a, const char *uuid)
{
	size_t i;

	for (i = 0; i < *a.n; i++)
		if (!strcmp((const char *)karr_at(a, i) + a.key_off, uuid))
			return (ssize_t)i;
	return -1;
}

/* Adds rec, or replaces the record with its uuid; takes ownership of rec's
 * heap parts.  0 or -ENOMEM (rec then still owns them). */
int fl_karr_put(struct karr a, const void *rec)
{
	ssize_t i = fl_karr_find(a, (const char *)rec + a.key_off);

	if (i >= 0) {
		if (a.clear)
			a.clear(karr_at(a, (size_t)i));
	} else {
		if (fl_grow(a.v, a.cap, *a.n, a.size, 16))
			return -ENOMEM;
		i = (ssize_t)(*a.n)++;
	}
	memcpy(karr_at(a, (size_t)i), rec, a.size);
	return 0;
}

/* fl_karr_put, and rec emptied when the array took it (its heap parts are the
 * array's then): clearing rec afterwards is always right. */
int fl_karr_take(struct karr a, void *rec)
{
	int ret = fl_karr_put(a, rec);

	if (!ret)
		memset(rec, 0, a.size);
	return ret;
}

/* The record with this uuid, or NULL. */
void *fl_karr_get(struct karr a, const char *uuid)
{
	ssize_t i = fl_karr_find(a, uuid);

	return i >= 0 ? karr_at(a, (size_t)i) : NULL;
}

void fl_karr_rm(struct karr a, const char *uuid)
{
	ssize_t i = fl_karr_find(a, uuid);

	if (i < 0)
		return;
	if (a.clear)
		a.clear(karr_at(a, (size_t)i));
	if ((size_t)i != --*a.n)
		memcpy(karr_at(a, (size_t)i), karr_at(a, *a.n), a.size);
}

/* Clears every record of a; with release, frees the array too. */
static void karr_empty(struct karr a, bool release)
{
	size_t i;

	for (i = 0; a.clear && i < *a.n; i++)
		a.clear(karr_at(a, i));
	*a.n = 0;
	if (release) {
		free(*a.v);
		*a.v = NULL;
		*a.cap = 0;
	}
}

static void cache_clear(struct fl_state *s, bool release)
{
	karr_empty(DS(s), release);
	karr_empty(LEASES(s), release);
	karr_empty(TRASH(s), release);
	karr_empty(NODES(s), release);
}

/* ------------------------------------------------------------------ */
/* loading */

struct load_ctx {
	struct fl_state *s;
	bool have_tag;
	int ret;
};

static int dec_ds(const char *uuid, const void *p, size_t len, void *out)
{
	return fl_state_dec_ds(uuid, p, len, out);
}

static int dec_lease(const char *uuid, const void *p, size_t len, void *out)
{
	return fl_state_dec_lease(uuid, p, len, out);
}

static int dec_trash(const char *uuid, const void *p, size_t len, void *out)
{
	return fl_state_dec_trash(uuid, p, len, out);
}

static int dec_node(const char *uuid, const void *p, size_t len, void *out)
{
	return fl_state_dec_node(uuid, p, len, out);
}

/* Decodes the record of uuid into a: 1 when it is corrupt (or uuid is not
 * one), else fl_karr_put's 0 or -ENOMEM. */
static int load_rec(struct karr a, const char *uuid, const void *val, size_t len,
		    int (*dec)(const char *uuid, const void *p, size_t len, void *out))
{
	union {
		struct fl_ds d;
		struct fl_lease l;
		struct fl_trash t;
		struct fl_node_rec n;
	} rec;
	int ret;

	if (!fl_uuid_valid(uuid) || dec(uuid, val, len, &rec))
		return 1;
	ret = fl_karr_put(a, &rec);
	if (ret && a.clear)
		a.clear(&rec);
	return ret;
}

static int load_config_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct load_ctx *c = arg;
	struct fl_state *s = c->s;
	int ret = 0;

	if (!strcmp(key, KEY_TAG)) {
		char num[32], *end;

		if (len == 0 || len >= sizeof(num))
			goto bad;
		memcpy(num, val, len);
		num[len] = '\0';
		errno = 0;
		s->tag = strtoull(num, &end, 10);
		if (errno || *end || s->tag == 0)
			goto bad;
		c->have_tag = true;
		return 0;
	}
	if (!strncmp(key, PFX_DS, strlen(PFX_DS)))
		ret = load_rec(DS(s), key + strlen(PFX_DS), val, len, dec_ds);
	else if (!strncmp(key, PFX_LEASE, strlen(PFX_LEASE)))
		ret = load_rec(LEASES(s), key + strlen(PFX_LEASE), val, len, dec_lease);
	else if (!strncmp(key, PFX_TRASH, strlen(PFX_TRASH)))
		ret = load_rec(TRASH(s), key + strlen(PFX_TRASH), val, len, dec_trash);
	/* unknown keys: a newer version's, left alone */
	if (ret > 0)
		goto bad;
	return ret;
bad:
	fl_warn("control configuration entry %s is corrupt, ignored", key);
	return 0;
}

static int load_nodes_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct load_ctx *c = arg;
	int ret = load_rec(NODES(c->s), key, val, len, dec_node);

	if (ret > 0) {
		fl_warn("control node entry %s is corrupt, ignored", key);
		return 0;
	}
	return ret;
}

static int load(struct fl_state *s, bool *have_tag)
{
	struct load_ctx c = {s, false, 0};
	bool more = true;
	int ret;

	cache_clear(s, false);
	s->tag = 0;
	ret = s->ns->ops->omap_list(s->ns, FL_CTL_CONFIG_OID, NULL, UINT32_MAX, load_config_cb, &c,
				    &more);
	if (ret && ret != -ENOENT)
		return ret;
	*have_tag = c.have_tag;
	ret = s->ns->ops->omap_list(s->ns, FL_CTL_NODES_OID, NULL, UINT32_MAX, load_nodes_cb, &c,
				    &more);
	if (ret && ret != -ENOENT)
		return ret;
	return 0;
}

/* ------------------------------------------------------------------ */
/* guarded writes */

void fl_txn_init(struct txn *t)
{
	memset(t, 0, sizeof(*t));
}

void fl_txn_free(struct txn *t)
{
	size_t i;

	for (i = 0; i < t->nset; i++)
		fl_frame_enc_free(&t->enc[i]);
}

/* The encoder for the next set; the caller fills it and calls fl_txn_set_done. */
struct fl_frame_enc *fl_txn_set(struct txn *t, const char *pfx, const char *uuid)
{
	if (t->nset == TXN_MAX)
		return NULL;
	snprintf(t->setkey[t->nset], sizeof(t->setkey[0]), "%s%s", pfx, uuid);
	return &t->enc[t->nset];
}

int fl_txn_set_done(struct txn *t, int enc_ret)
{
	struct fl_frame_enc *e = &t->enc[t->nset];

	t->nset++;
	if (enc_ret)
		return enc_ret;
	t->set[t->nset - 1].key = t->setkey[t->nset - 1];
	t->set[t->nset - 1].val = e->buf.data;
	t->set[t->nset - 1].len = e->buf.len;
	return 0;
}

int fl_txn_rm(struct txn *t, const char *pfx, const char *uuid)
{
	if (t->nrm == TXN_MAX)
		return -E2BIG;
	snprintf(t->rmkey[t->nrm], sizeof(t->rmkey[0]), "%s%s", pfx, uuid);
	t->rm[t->nrm] = t->rmkey[t->nrm];
	t->nrm++;
	return 0;
}

/*
 * One atomic write of ctl.config: the transaction plus tag+1, if the tag is
 * still the one we know.  -ESTALE when expect_tag does not match.
 */
int fl_state_commit(struct fl_state *s, struct txn *t, uint64_t expect_tag)
{
	struct fl_kv set[TXN_MAX + 1];
	struct fl_omap_cmp cmp;
	char oldtag[24], newtag[24];
	int ret;

	fl_state_wq_drain(s); /* the tag of the write on a worker, if any, first */
	if (s->fenced)
		return -ECANCELED;
	if (expect_tag && expect_tag != s->tag)
		return -ESTALE;
	memcpy(set, t->set, t->nset * sizeof(set[0]));
	snprintf(oldtag, sizeof(oldtag), "%" PRIu64, s->tag);
	snprintf(newtag, sizeof(newtag), "%" PRIu64, s->tag + 1);
	set[t->nset].key = KEY_TAG;
	set[t->nset].val = newtag;
	set[t->nset].len = strlen(newtag);
	cmp.key = KEY_TAG;
	cmp.val = oldtag;
	cmp.len = strlen(oldtag);
	ret = s->ns->ops->omap_update(s->ns, FL_CTL_CONFIG_OID, set, t->nset + 1, t->rm, t->nrm,
				      &cmp, 1);
	if (ret == -ECANCELED) {
		fl_err("the control configuration was changed by another control service: "
		       "this one is no longer the leader");
		s->fenced = true;
		return ret;
	}
	if (ret)
		return ret;
	s->tag++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* registry */

int fl_state_volume_by_name(struct fl_state *s, const char *name, struct fl_volreg_rec *r)
{
	if (!fl_volname_valid(name))
		return -ENOENT;
	return fl_volreg_lookup(s->reg, name, r);
}

struct reg_find {
	const char *uuid;
	char *name;
	struct fl_volreg_rec *r;
	bool found;
};

static int reg_find_cb(void *arg, const char *name, const struct fl_volreg_rec *r)
{
	struct reg_find *f = arg;

	if (strcmp(r->uuid, f->uuid))
		return 0;
	snprintf(f->name, FL_VOLNAME_MAX + 1, "%s", name);
	*f->r = *r;
	f->found = true;
	return 1;
}

int fl_state_volumes(struct fl_state *s, fl_state_vol_cb cb, void *arg)
{
	return fl_volume_list(s->pool, cb, arg);
}

int fl_state_volume_by_uuid(struct fl_state *s, const char *uuid, char *name,
			    struct fl_volreg_rec *r)
{
	struct reg_find f = {uuid, name, r, false};
	ssize_t i = fl_karr_find(DS(s), uuid);
	int ret;

	/* the dataset record names it: one lookup instead of a scan */
	if (i >= 0 && fl_state_volume_by_name(s, s->ds[i].name, r) == 0 && !strcmp(r->uuid, uuid)) {
		snprintf(name, FL_VOLNAME_MAX + 1, "%s", s->ds[i].name);
		return 0;
	}
	ret = fl_volume_list(s->pool, reg_find_cb, &f);
	if (ret < 0)
		return ret;
	return f.found ? 0 : -ENOENT;
}

/* Registers name -> r while name is free (del false), or unregisters name
 * while its entry is still r (del true); -ECANCELED when it is not so. */
int fl_state_reg_change(struct fl_state *s, const char *name, const struct fl_volreg_rec *r,
			bool del)
{
	struct fl_buf b;
	struct fl_kv kv;
	struct fl_omap_cmp cmp = {name, NULL, 0};
	const char *rm[1] = {name};
	int ret;

	fl_buf_init(&b, FL_REC_MAX);
	ret = fl_volreg_encode(r, &b);
	if (!ret && del) {
		cmp.val = b.data;
		cmp.len = b.len;
		ret = s->reg->ops->omap_update(s->reg, FL_REG_OID, NULL, 0, rm, 1, &cmp, 1);
	} else if (!ret) {
		kv.key = name;
		kv.val = b.data;
		kv.len = b.len;
		ret = s->reg->ops->omap_update(s->reg, FL_REG_OID, &kv, 1, NULL, 0, &cmp, 1);
	}
	fl_buf_free(&b);
	return ret;
}

/* ------------------------------------------------------------------ */

/* Finishes or rolls back removals and restores a crash interrupted. */
static int reconcile(struct fl_state *s)
{
	size_t i = 0;
	int ret = 0;

	while (i < s->ntrash && !ret) {
		struct fl_trash *t = &s->trash[i];
		struct fl_volreg_rec r;
		bool named =
			fl_state_volume_by_name(s, t->name, &r) == 0 && !strcmp(r.uuid, t->uuid);

		if (named && !t->restoring) {
			fl_notice("volume %s (%s): finishing its move to the trash", t->name,
				  t->uuid);
			ret = fl_state_reg_change(s, t->name, &r, true);
			if (ret == -ECANCELED)
				ret = 0;
			i++;
		} else if (named && t->restoring) {
			struct fl_ds d = {0};

			fl_notice("volume %s (%s): finishing its restore", t->name, t->uuid);
			ret = fl_state_trash_commit_ds(s, t, &d);
			if (!ret) {
				fl_karr_rm(TRASH(s), d.uuid);
				ret = fl_karr_put(DS(s), &d);
				if (ret)
					fl_ds_clear(&d);
			}
		} else if (!named && t->restoring) {
			t->restoring = false;
			ret = fl_state_trash_put(s, t);
			i++;
		} else {
			i++;
		}
	}
	return ret;
}

int fl_state_open(struct fl_store *pool, const char *ns, uint64_t trash_ttl_s,
		  struct fl_state **out, char *err, size_t errlen)
{
	struct fl_state *s = calloc(1, sizeof(*s));
	struct txn x;
	bool have_tag = false;
	int ret;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->pool = pool;
	s->ttl = trash_ttl_s ? trash_ttl_s : FL_TRASH_TTL_S;
	s->ns = pool->ops->clone_ns(pool, ns ? ns : FL_CTL_NS);
	s->reg = pool->ops->clone_ns(pool, FL_REG_NS);
	if (!s->ns || !s->reg) {
		ret = -ENOMEM;
		goto out_err;
	}
	ret = load(s, &have_tag);
	if (ret) {
		fl_seterr(err, errlen, "cannot read the control configuration: %s", strerror(-ret));
		goto out_err;
	}
	if (!have_tag) {
		/* a new cluster: the tag starts at 1 (a missing key compares as empty) */
		struct fl_kv kv = {KEY_TAG, "1", 1};
		struct fl_omap_cmp cmp = {KEY_TAG, NULL, 0};

		ret = s->ns->ops->omap_update(s->ns, FL_CTL_CONFIG_OID, &kv, 1, NULL, 0, &cmp, 1);
		if (ret && ret != -ECANCELED) {
			fl_seterr(err, errlen, "cannot create the control configuration: %s",
				  strerror(-ret));
			goto out_err;
		}
		ret = load(s, &have_tag);
		if (!ret && !have_tag)
			ret = -EIO;
		if (ret) {
			fl_seterr(err, errlen, "cannot read the control configuration: %s",
				  strerror(-ret));
			goto out_err;
		}
	}
	/* claim it: a write of a previous leader now fails its guard */
	fl_txn_init(&x);
	ret = fl_state_commit(s, &x, 0);
	if (ret) {
		fl_seterr(err, errlen, "cannot take over the control configuration: %s",
			  ret == -ECANCELED ? "another control service is writing it"
					    : strerror(-ret));
		goto out_err;
	}
	ret = reconcile(s);
	if (ret) {
		fl_seterr(err, errlen, "cannot repair the trash: %s", strerror(-ret));
		goto out_err;
	}
	*out = s;
	return 0;
out_err:
	fl_state_free(s);
	return ret;
}

void fl_state_free(struct fl_state *s)
{
	if (!s)
		return;
	fl_state_node_wr_free_all(s);
	fl_state_wq_free_all(s);
	cache_clear(s, true);
	fl_store_close(s->ns);
	fl_store_close(s->reg);
	free(s);
}

bool fl_state_fenced(const struct fl_state *s)
{
	return s->fenced;
}

uint64_t fl_state_tag(const struct fl_state *s)
{
	return s->tag;
}

struct fl_store *fl_state_pool(struct fl_state *s)
{
	return s->pool;
}

/* The getters take a const state; the cache's arrays are the state's own. */
const struct fl_ds *fl_state_ds(const struct fl_state *s, const char *uuid)
{
	return fl_karr_get(DS((struct fl_state *)s), uuid);
}

const struct fl_lease *fl_state_lease(const struct fl_state *s, const char *uuid)
{
	return fl_karr_get(LEASES((struct fl_state *)s), uuid);
}

const struct fl_trash *fl_state_trash(const struct fl_state *s, const char *uuid)
{
	return fl_karr_get(TRASH((struct fl_state *)s), uuid);
}

const struct fl_node_rec *fl_state_node(const struct fl_state *s, const char *uuid)
{
	return fl_karr_get(NODES((struct fl_state *)s), uuid);
}

const struct fl_node_rec *fl_state_node_by_name(const struct fl_state *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nnodes; i++)
		if (!strcmp(s->nodes[i].name, name))
			return &s->nodes[i];
	return NULL;
}

const struct fl_lease *fl_state_lease_at(const struct fl_state *s, size_t i)
{
	return i < s->nleases ? &s->leases[i] : NULL;
}

const struct fl_trash *fl_state_trash_at(const struct fl_state *s, size_t i)
{
	return i < s->ntrash ? &s->trash[i] : NULL;
}

const struct fl_node_rec *fl_state_node_at(const struct fl_state *s, size_t i)
{
	return i < s->nnodes ? &s->nodes[i] : NULL;
}

/* ------------------------------------------------------------------ */
/* changes */

const char *fl_state_why(int ret)
{
	switch (ret) {
	case -ESTALE:
		return "the configuration changed since the tag given";
	case -ECANCELED:
		return "another control service changed the configuration";
	default:
		return strerror(-ret);
	}
}

int fl_state_ds_create(struct fl_state *s, const char *name, uint64_t maximum_size,
		       const char *metadata, const char *primary, uint64_t expect_tag,
		       struct fl_ds *out, char *err, size_t errlen)
{
	struct fl_volreg_rec r;
	int ret;

	if (out)
		memset(out, 0, sizeof(*out));
	ret = fl_state_ds_check(s, name, metadata, expect_tag, err, errlen);
	if (ret)
		return ret;
	ret = fl_volume_create(s->pool, name, maximum_size, 0, err, errlen);
	if (ret)
		return ret;
	ret = fl_state_volume_by_name(s, name, &r);
	if (ret) {
		fl_seterr(err, errlen, "cannot read volume %s after creating it: %s", name,
			  strerror(-ret));
		return ret;
	}
	return fl_state_ds_add(s, name, &r, maximum_size, metadata, primary, out, err, errlen);
}

int fl_state_ds_check(struct fl_state *s, const char *name, const char *metadata,
		      uint64_t expect_tag, char *err, size_t errlen)
{
	if (expect_tag && expect_tag != s->tag) {
		fl_seterr(err, errlen, "cannot create volume %s: %s", name, fl_state_why(-ESTALE));
		return -ESTALE;
	}
	if (s->fenced) {
		fl_seterr(err, errlen, "cannot create volume %s: %s", name,
			  fl_state_why(-ECANCELED));
		return -ECANCELED;
	}
	if (metadata && strlen(metadata) > FL_CTL_META_MAX) {
		fl_seterr(err, errlen, "cannot create volume %s: metadata over %d bytes", name,
			  FL_CTL_META_MAX);
		return -E2BIG;
	}
	return 0;
}

int fl_state_ds_add(struct fl_state *s, const char *name, const struct fl_volreg_rec *r,
		    uint64_t maximum_size, const char *metadata, const char *primary,
		    struct fl_ds *out, char *err, size_t errlen)
{
	struct fl_ds d = {0};
	struct fl_frame_enc *e;
	struct txn x;
	int ret;

	if (out)
		memset(out, 0, sizeof(*out));
	snprintf(d.uuid, sizeof(d.uuid), "%s", r->uuid);
	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.primary, sizeof(d.primary), "%s", primary ? primary : "");
	d.maximum_size = maximum_size;
	d.created = r->created;
	if (metadata && strcmp(metadata, "{}")) {
		d.metadata = strdup(metadata);
		if (!d.metadata)
			return -ENOMEM;
	}
	fl_txn_init(&x);
	e = fl_txn_set(&x, PFX_DS, d.uuid);
	ret = fl_txn_set_done(&x, fl_state_enc_ds(&d, e));
	if (!ret)
		ret = fl_state_commit(s, &x, 0);
	fl_txn_free(&x);
	if (ret) {
		fl_seterr(err, errlen, "volume %s was created but its dataset record was not: %s",
			  name, fl_state_why(ret));
		fl_ds_clear(&d);
		return ret;
	}
	if (out) {
		*out = d;
		out->metadata = d.metadata ? strdup(d.metadata) : NULL;
	}
	ret = fl_karr_put(DS(s), &d);
	if (ret)
		fl_ds_clear(&d);
	return ret;
}

int fl_state_writer_check(struct fl_store *pool, const char *name, char *err, size_t errlen)
{
	struct fl_volume *v = NULL;
	struct fl_holder h;
	int ret;

	ret = fl_volume_open(pool, name, &v, err, errlen);
	if (ret)
		return ret;
	ret = fl_volume_holder(v, &h);
	if (ret > 0) {
		char since[32];

		fl_fmt_time_utc(h.since, since, sizeof(since));
		fl_seterr(
			err, errlen,
			"cannot remove volume %s: mounted read-write by host %s (pid %ld) since %s",
			name, h.host, h.pid, since);
		ret = -EBUSY;
		goto out;
	}
	if (ret < 0) {
		fl_seterr(err, errlen, "cannot read the lock of volume %s: %s", name,
			  strerror(-ret));
		goto out;
	}
	ret = 0;
out:
	fl_volume_close(v);
	return ret;
}

int fl_state_ds_set_primary(struct fl_state *s, const char *uuid, const char *name,
			    const char *primary, uint64_t expect_tag, char *err, size_t errlen)
{
	const struct fl_ds *cur = (fl_state_wq_drain(s), fl_state_ds(s, uuid));
	struct fl_volreg_rec r;
	struct fl_ds d = {0};
	struct fl_frame_enc *e;
	struct txn x;
	int ret;

	fl_txn_init(&x);
	if (cur) {
		d = *cur;
		d.metadata = cur->metadata ? strdup(cur->metadata) : NULL;
	} else {
		snprintf(d.uuid, sizeof(d.uuid), "%s", uuid);
		snprintf(d.name, sizeof(d.name), "%s", name);
		if (fl_state_volume_by_name(s, name, &r) == 0) {
			d.maximum_size = r.size_limit;
			d.created = r.created;
		}
	}
	snprintf(d.primary, sizeof(d.primary), "%s", primary ? primary : "");
	e = fl_txn_set(&x, PFX_DS, uuid);
	ret = fl_txn_set_done(&x, fl_state_enc_ds(&d, e));
	if (!ret)
		ret = fl_state_commit(s, &x, expect_tag);
	if (ret) {
		fl_seterr(err, errlen, "cannot change dataset %s: %s", uuid, fl_state_why(ret));
		goto out;
	}
	ret = fl_karr_take(DS(s), &d);
out:
	fl_ds_clear(&d);
	fl_txn_free(&x);
	return ret;
}

int fl_state_lease_put(struct fl_state *s, const struct fl_lease *l, const struct fl_lease *old,
		       bool set_primary, uint64_t expect_tag, char *err, size_t errlen)
{
	const struct fl_lease *cur = (fl_state_wq_drain(s), fl_state_lease(s, l->uuid));
	const struct fl_ds *dcur;
	struct fl_ds d = {0};
	struct fl_frame_enc *e;
	struct txn x;
	int ret;

	fl_txn_init(&x);
	if ((old == NULL) != (cur == NULL) || (old && !fl_lease_equal(old, cur))) {
		fl_seterr(err, errlen, "the lease of dataset %s changed meanwhile", l->uuid);
		ret = -EAGAIN;
		goto out;
	}
	e = fl_txn_set(&x, PFX_LEASE, l->uuid);
	ret = fl_txn_set_done(&x, fl_state_enc_lease(l, e));
	dcur = fl_state_ds(s, l->uuid);
	if (!ret && set_primary && dcur) {
		d = *dcur;
		d.metadata = dcur->metadata ? strdup(dcur->metadata) : NULL;
		snprintf(d.primary, sizeof(d.primary), "%s", l->node);
		e = fl_txn_set(&x, PFX_DS, l->uuid);
		ret = fl_txn_set_done(&x, fl_state_enc_ds(&d, e));
	}
	if (!ret)
		ret = fl_state_commit(s, &x, expect_tag);
	if (ret) {
		fl_seterr(err, errlen, "cannot set the lease of dataset %s: %s", l->uuid,
			  fl_state_why(ret));
		goto out;
	}
	ret = fl_karr_put(LEASES(s), l);
	if (!ret && set_primary && dcur) {
		ret = fl_karr_take(DS(s), &d);
	}
out:
	fl_ds_clear(&d);
	fl_txn_free(&x);
	return ret;
}

int fl_state_lease_del(struct fl_state *s, const char *uuid, const struct fl_lease *old,
		       uint64_t expect_tag, char *err, size_t errlen)
{
	const struct fl_lease *cur = (fl_state_wq_drain(s), fl_state_lease(s, uuid));
	struct txn x;
	int ret;

	if (!cur) {
		fl_seterr(err, errlen, "dataset %s has no lease", uuid);
		return -ENOENT;
	}
	if (old && !fl_lease_equal(old, cur)) {
		fl_seterr(err, errlen, "the lease of dataset %s changed meanwhile", uuid);
		return -EAGAIN;
	}
	fl_txn_init(&x);
	ret = fl_txn_rm(&x, PFX_LEASE, uuid);
	if (!ret)
		ret = fl_state_commit(s, &x, expect_tag);
	fl_txn_free(&x);
	if (ret) {
		fl_seterr(err, errlen, "cannot release the lease of dataset %s: %s", uuid,
			  fl_state_why(ret));
		return ret;
	}
	fl_karr_rm(LEASES(s), uuid);
	return 0;
}

int fl_state_expire_leases(struct fl_state *s, int64_t now)
{
	size_t i = 0;
	int n = 0, ret;

	fl_state_wq_drain(s);
	while (i < s->nleases) {
		struct fl_lease l = s->leases[i];

		if (l.kind == FL_LEASE_OPERATOR && l.expires && l.expires <= now) {
			ret = fl_state_lease_del(s, l.uuid, &l, 0, NULL, 0);
			if (ret)
				return ret;
			n++;
			continue; /* the array shifted */
		}
		i++;
	}
	return n;
}

/* A node's record as of a hello or disconnect at now: cur (if known) updated. */
void fl_state_node_rec_fill(struct fl_node_rec *n, const struct fl_node_rec *cur, const char *uuid,
			    const char *name, const char *addr, const char *host, int64_t now)
{
	if (cur)
		*n = *cur;
	else
		n->first_seen = now;
	snprintf(n->uuid, sizeof(n->uuid), "%s", uuid);
	snprintf(n->name, sizeof(n->name), "%s", name);
	if (addr)
		snprintf(n->addr, sizeof(n->addr), "%s", addr);
	if (host)
		snprintf(n->host, sizeof(n->host), "%s", host);
	n->last_seen = now;
}

int fl_state_node_seen(struct fl_state *s, const char *uuid, const char *name, const char *addr,
		       const char *host, int64_t now)
{
	const struct fl_node_rec *cur = fl_state_node(s, uuid);
	struct fl_node_rec n = {0};
	struct fl_frame_enc e;
	struct fl_kv kv;
	int ret;

	fl_state_node_rec_fill(&n, cur, uuid, name, addr, host, now);
	ret = fl_state_enc_node(&n, &e);
	if (!ret) {
		kv.key = n.uuid;
		kv.val = e.buf.data;
		kv.len = e.buf.len;
		ret = s->ns->ops->omap_update(s->ns, FL_CTL_NODES_OID, &kv, 1, NULL, 0, NULL, 0);
	}
	fl_frame_enc_free(&e);
	if (!ret)
		ret = fl_karr_put(NODES(s), &n);
	return ret;
}
