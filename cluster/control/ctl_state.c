/*
 * flockerfs — flocker-control's registry in RADOS (see ctl_state.h).
 */
#include "cluster/control/ctl_state.h"
#include "cluster/control/ctl_server.h"
#include "cluster/control/ctl_state_rec.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flocker/log.h"
#include "flocker/proto.h"
#include "fs/util/uuid.h"
#include "fs/volume/volume.h"
#include "fs/util/fmt.h"

#define KEY_TAG	  "tag"
#define PFX_DS	  "ds."
#define PFX_LEASE "lease."
#define PFX_TRASH "trash."
#define TXN_MAX	  6

struct fl_state {
	struct fl_store *pool; /* borrowed */
	struct fl_store *ns;   /* owned: the control's namespace (FL_CTL_NS by default) */
	struct fl_store *reg;  /* owned: the volume registry's namespace FL_REG_NS */
	uint64_t tag;
	uint64_t ttl;
	bool fenced;
	struct fl_ds *ds;
	size_t nds, cds;
	struct fl_lease *leases;
	size_t nleases, cleases;
	struct fl_trash *trash;
	size_t ntrash, ctrash;
	struct fl_node_rec *nodes;
	size_t nnodes, cnodes;
	char purging[37];	/* the trash entry whose objects are being deleted, "" none */
	fl_state_submit submit; /* NULL: jobs run inline */
	void *submit_arg;
	struct node_wr *node_wrs;  /* nodes whose record is being written */
	struct wop *wq, **wq_tail; /* guarded writes waiting to go out, in order */
	struct wop *wq_inflight;   /* the one on a worker, or NULL */
};

static void wq_drain(struct fl_state *s);

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

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

/*
 * The four arrays of the cache hold records keyed by their uuid member, in no
 * order.  A struct karr names one of them (array, count, capacity) with its
 * record size and how to free a record's heap parts.
 */
struct karr {
	void **v;
	size_t *n, *cap;
	size_t size, key_off;
	void (*clear)(void *rec);
};

#define KARR(s, f, type, clr)                                                                      \
	((struct karr){(void **)&(s)->f, &(s)->n##f, &(s)->c##f, sizeof(type),                     \
		       offsetof(type, uuid), clr})

static void clear_ds(void *d)
{
	fl_ds_clear(d);
}

static void clear_trash(void *t)
{
	fl_trash_clear(t);
}

#define DS(s)	  KARR(s, ds, struct fl_ds, clear_ds)
#define LEASES(s) KARR(s, leases, struct fl_lease, NULL)
#define TRASH(s)  KARR(s, trash, struct fl_trash, clear_trash)
#define NODES(s)  KARR(s, nodes, struct fl_node_rec, NULL)

static void *karr_at(struct karr a, size_t i)
{
	return (char *)*a.v + i * a.size;
}

/* The index of the record with this uuid, or -1. */
static ssize_t karr_find(struct karr a, const char *uuid)
{
	size_t i;

	for (i = 0; i < *a.n; i++)
		if (!strcmp((const char *)karr_at(a, i) + a.key_off, uuid))
			return (ssize_t)i;
	return -1;
}

/* Adds rec, or replaces the record with its uuid; takes ownership of rec's
 * heap parts.  0 or -ENOMEM (rec then still owns them). */
static int karr_put(struct karr a, const void *rec)
{
	ssize_t i = karr_find(a, (const char *)rec + a.key_off);

	if (i >= 0) {
		if (a.clear)
			a.clear(karr_at(a, (size_t)i));
	} else {
		if (grow(a.v, a.cap, *a.n, a.size))
			return -ENOMEM;
		i = (ssize_t)(*a.n)++;
	}
	memcpy(karr_at(a, (size_t)i), rec, a.size);
	return 0;
}

/* karr_put, and rec emptied when the array took it (its heap parts are the
 * array's then): clearing rec afterwards is always right. */
static int karr_take(struct karr a, void *rec)
{
	int ret = karr_put(a, rec);

	if (!ret)
		memset(rec, 0, a.size);
	return ret;
}

/* The record with this uuid, or NULL. */
static void *karr_get(struct karr a, const char *uuid)
{
	ssize_t i = karr_find(a, uuid);

	return i >= 0 ? karr_at(a, (size_t)i) : NULL;
}

static void karr_rm(struct karr a, const char *uuid)
{
	ssize_t i = karr_find(a, uuid);

	if (i < 0)
		return;
	if (a.clear)
		a.clear(karr_at(a, (size_t)i));
	if ((size_t)i != --*a.n)
		memcpy(karr_at(a, (size_t)i), karr_at(a, *a.n), a.size);
}

static void karr_empty(struct karr a)
{
	size_t i;

	for (i = 0; a.clear && i < *a.n; i++)
		a.clear(karr_at(a, i));
	*a.n = 0;
}

static void cache_clear(struct fl_state *s)
{
	karr_empty(DS(s));
	karr_empty(LEASES(s));
	karr_empty(TRASH(s));
	karr_empty(NODES(s));
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
 * one), else karr_put's 0 or -ENOMEM. */
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
	ret = karr_put(a, &rec);
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

	cache_clear(s);
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

struct txn {
	struct fl_kv set[TXN_MAX];
	char setkey[TXN_MAX][48];
	struct fl_frame_enc enc[TXN_MAX];
	size_t nset;
	char rmkey[TXN_MAX][48];
	const char *rm[TXN_MAX];
	size_t nrm;
};

static void txn_init(struct txn *t)
{
	memset(t, 0, sizeof(*t));
}

static void txn_free(struct txn *t)
{
	size_t i;

	for (i = 0; i < t->nset; i++)
		fl_frame_enc_free(&t->enc[i]);
}

/* The encoder for the next set; the caller fills it and calls txn_set_done. */
static struct fl_frame_enc *txn_set(struct txn *t, const char *pfx, const char *uuid)
{
	if (t->nset == TXN_MAX)
		return NULL;
	snprintf(t->setkey[t->nset], sizeof(t->setkey[0]), "%s%s", pfx, uuid);
	return &t->enc[t->nset];
}

static int txn_set_done(struct txn *t, int enc_ret)
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

static int txn_rm(struct txn *t, const char *pfx, const char *uuid)
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
static int commit(struct fl_state *s, struct txn *t, uint64_t expect_tag)
{
	struct fl_kv set[TXN_MAX + 1];
	struct fl_omap_cmp cmp;
	char oldtag[24], newtag[24];
	int ret;

	wq_drain(s); /* the tag of the write on a worker, if any, first */
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
	ssize_t i = karr_find(DS(s), uuid);
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
static int reg_change(struct fl_state *s, const char *name, const struct fl_volreg_rec *r, bool del)
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
			ret = reg_change(s, t->name, &r, true);
			if (ret == -ECANCELED)
				ret = 0;
			i++;
		} else if (named && t->restoring) {
			struct txn x;
			struct fl_ds d = {0};
			struct fl_frame_enc *e;

			fl_notice("volume %s (%s): finishing its restore", t->name, t->uuid);
			snprintf(d.uuid, sizeof(d.uuid), "%s", t->uuid);
			snprintf(d.name, sizeof(d.name), "%s", t->name);
			d.maximum_size = t->reg.size_limit;
			d.created = t->reg.created;
			d.metadata = t->metadata;
			txn_init(&x);
			e = txn_set(&x, PFX_DS, t->uuid);
			ret = txn_set_done(&x, fl_state_enc_ds(&d, e));
			if (!ret)
				ret = txn_rm(&x, PFX_TRASH, t->uuid);
			if (!ret)
				ret = commit(s, &x, 0);
			txn_free(&x);
			if (!ret) {
				t->metadata = NULL; /* now d's */
				karr_rm(TRASH(s), d.uuid);
				ret = karr_put(DS(s), &d);
				if (ret)
					fl_ds_clear(&d);
			}
		} else if (!named && t->restoring) {
			struct txn x;
			struct fl_frame_enc *e;

			t->restoring = false;
			txn_init(&x);
			e = txn_set(&x, PFX_TRASH, t->uuid);
			ret = txn_set_done(&x, fl_state_enc_trash(t, e));
			if (!ret)
				ret = commit(s, &x, 0);
			txn_free(&x);
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
	txn_init(&x);
	ret = commit(s, &x, 0);
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

static void node_wr_free_all(struct fl_state *s);
static void wq_free_all(struct fl_state *s);

void fl_state_free(struct fl_state *s)
{
	if (!s)
		return;
	node_wr_free_all(s);
	wq_free_all(s);
	cache_clear(s);
	free(s->ds);
	free(s->leases);
	free(s->trash);
	free(s->nodes);
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
	return karr_get(DS((struct fl_state *)s), uuid);
}

const struct fl_lease *fl_state_lease(const struct fl_state *s, const char *uuid)
{
	return karr_get(LEASES((struct fl_state *)s), uuid);
}

const struct fl_trash *fl_state_trash(const struct fl_state *s, const char *uuid)
{
	return karr_get(TRASH((struct fl_state *)s), uuid);
}

const struct fl_node_rec *fl_state_node(const struct fl_state *s, const char *uuid)
{
	return karr_get(NODES((struct fl_state *)s), uuid);
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

static const char *why(int ret)
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
		fl_seterr(err, errlen, "cannot create volume %s: %s", name, why(-ESTALE));
		return -ESTALE;
	}
	if (s->fenced) {
		fl_seterr(err, errlen, "cannot create volume %s: %s", name, why(-ECANCELED));
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
	txn_init(&x);
	e = txn_set(&x, PFX_DS, d.uuid);
	ret = txn_set_done(&x, fl_state_enc_ds(&d, e));
	if (!ret)
		ret = commit(s, &x, 0);
	txn_free(&x);
	if (ret) {
		fl_seterr(err, errlen, "volume %s was created but its dataset record was not: %s",
			  name, why(ret));
		fl_ds_clear(&d);
		return ret;
	}
	if (out) {
		*out = d;
		out->metadata = d.metadata ? strdup(d.metadata) : NULL;
	}
	ret = karr_put(DS(s), &d);
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

static int ds_remove(struct fl_state *s, const char *uuid, uint64_t expect_tag, bool check_writer,
		     char *err, size_t errlen)
{
	struct fl_trash t = {0};
	struct fl_frame_enc *e;
	const struct fl_ds *d;
	char name[FL_VOLNAME_MAX + 1];
	struct txn x;
	int ret;

	txn_init(&x);
	if (expect_tag && expect_tag != s->tag) {
		ret = -ESTALE;
		fl_seterr(err, errlen, "cannot remove dataset %s: %s", uuid, why(ret));
		goto out;
	}
	ret = fl_state_volume_by_uuid(s, uuid, name, &t.reg);
	if (ret == -ENOENT) {
		fl_seterr(err, errlen, "no such dataset: %s%s", uuid,
			  karr_find(TRASH(s), uuid) >= 0 ? " (it is in the trash)" : "");
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
	e = txn_set(&x, PFX_TRASH, uuid);
	ret = txn_set_done(&x, fl_state_enc_trash(&t, e));
	if (!ret)
		ret = txn_rm(&x, PFX_DS, uuid);
	if (!ret)
		ret = txn_rm(&x, PFX_LEASE, uuid);
	if (!ret)
		ret = commit(s, &x, 0);
	if (ret) {
		fl_seterr(err, errlen, "cannot move volume %s to the trash: %s", name, why(ret));
		goto out;
	}
	karr_rm(DS(s), uuid);
	karr_rm(LEASES(s), uuid);
	ret = reg_change(s, name, &t.reg, true);
	if (ret == -ECANCELED)
		ret = 0; /* the name changed hands meanwhile: nothing of ours to drop */
	if (ret)
		fl_warn("volume %s is in the trash but its name stays taken until the next "
			"start: %s",
			name, strerror(-ret));
	ret = karr_take(TRASH(s), &t);
out:
	fl_trash_clear(&t);
	txn_free(&x);
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
		fl_seterr(err, errlen, "cannot restore dataset %s: %s", uuid, why(ret));
		return ret;
	}
	i = karr_find(TRASH(s), uuid);
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
	struct fl_frame_enc *e;
	const char *name;
	struct txn x;
	int ret;

	txn_init(&x);
	wq_drain(s);
	ret = restore_check(s, uuid, new_name, expect_tag, &t, &name, err, errlen);
	if (ret)
		goto out;
	/* step 1: mark it, so a crash before step 3 is repaired at the next start */
	copy = *t;
	copy.metadata = NULL;
	snprintf(copy.name, sizeof(copy.name), "%s", name);
	copy.restoring = true;
	copy.metadata = t->metadata ? strdup(t->metadata) : NULL;
	e = txn_set(&x, PFX_TRASH, uuid);
	ret = txn_set_done(&x, fl_state_enc_trash(&copy, e));
	if (!ret)
		ret = commit(s, &x, 0);
	txn_free(&x);
	txn_init(&x);
	if (ret) {
		fl_seterr(err, errlen, "cannot restore volume %s: %s", name, why(ret));
		goto out;
	}
	ret = karr_take(TRASH(s), &copy);
	if (ret)
		goto out;
	t = karr_get(TRASH(s), uuid);
	/* step 2: the name, if still free */
	ret = reg_change(s, name, &t->reg, false);
	if (ret) {
		int ret2;

		t->restoring = false;
		e = txn_set(&x, PFX_TRASH, uuid);
		ret2 = txn_set_done(&x, fl_state_enc_trash(t, e));
		if (!ret2)
			commit(s, &x, 0);
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
	snprintf(d.uuid, sizeof(d.uuid), "%s", uuid);
	snprintf(d.name, sizeof(d.name), "%s", name);
	d.maximum_size = t->reg.size_limit;
	d.created = t->reg.created;
	d.metadata = t->metadata ? strdup(t->metadata) : NULL;
	e = txn_set(&x, PFX_DS, uuid);
	ret = txn_set_done(&x, fl_state_enc_ds(&d, e));
	if (!ret)
		ret = txn_rm(&x, PFX_TRASH, uuid);
	if (!ret)
		ret = commit(s, &x, 0);
	if (ret) {
		fl_seterr(err, errlen, "volume %s is back but still listed in the trash: %s", name,
			  why(ret));
		goto out;
	}
	karr_rm(TRASH(s), uuid);
	ret = karr_take(DS(s), &d);
	rename_super(s, name);
out:
	fl_ds_clear(&d);
	fl_trash_clear(&copy);
	txn_free(&x);
	return ret;
}

int fl_state_ds_set_primary(struct fl_state *s, const char *uuid, const char *name,
			    const char *primary, uint64_t expect_tag, char *err, size_t errlen)
{
	const struct fl_ds *cur = (wq_drain(s), fl_state_ds(s, uuid));
	struct fl_volreg_rec r;
	struct fl_ds d = {0};
	struct fl_frame_enc *e;
	struct txn x;
	int ret;

	txn_init(&x);
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
	e = txn_set(&x, PFX_DS, uuid);
	ret = txn_set_done(&x, fl_state_enc_ds(&d, e));
	if (!ret)
		ret = commit(s, &x, expect_tag);
	if (ret) {
		fl_seterr(err, errlen, "cannot change dataset %s: %s", uuid, why(ret));
		goto out;
	}
	ret = karr_take(DS(s), &d);
out:
	fl_ds_clear(&d);
	txn_free(&x);
	return ret;
}

int fl_state_lease_put(struct fl_state *s, const struct fl_lease *l, const struct fl_lease *old,
		       bool set_primary, uint64_t expect_tag, char *err, size_t errlen)
{
	const struct fl_lease *cur = (wq_drain(s), fl_state_lease(s, l->uuid));
	const struct fl_ds *dcur;
	struct fl_ds d = {0};
	struct fl_frame_enc *e;
	struct txn x;
	int ret;

	txn_init(&x);
	if ((old == NULL) != (cur == NULL) || (old && !fl_lease_equal(old, cur))) {
		fl_seterr(err, errlen, "the lease of dataset %s changed meanwhile", l->uuid);
		ret = -EAGAIN;
		goto out;
	}
	e = txn_set(&x, PFX_LEASE, l->uuid);
	ret = txn_set_done(&x, fl_state_enc_lease(l, e));
	dcur = fl_state_ds(s, l->uuid);
	if (!ret && set_primary && dcur) {
		d = *dcur;
		d.metadata = dcur->metadata ? strdup(dcur->metadata) : NULL;
		snprintf(d.primary, sizeof(d.primary), "%s", l->node);
		e = txn_set(&x, PFX_DS, l->uuid);
		ret = txn_set_done(&x, fl_state_enc_ds(&d, e));
	}
	if (!ret)
		ret = commit(s, &x, expect_tag);
	if (ret) {
		fl_seterr(err, errlen, "cannot set the lease of dataset %s: %s", l->uuid, why(ret));
		goto out;
	}
	ret = karr_put(LEASES(s), l);
	if (!ret && set_primary && dcur) {
		ret = karr_take(DS(s), &d);
	}
out:
	fl_ds_clear(&d);
	txn_free(&x);
	return ret;
}

int fl_state_lease_del(struct fl_state *s, const char *uuid, const struct fl_lease *old,
		       uint64_t expect_tag, char *err, size_t errlen)
{
	const struct fl_lease *cur = (wq_drain(s), fl_state_lease(s, uuid));
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
	txn_init(&x);
	ret = txn_rm(&x, PFX_LEASE, uuid);
	if (!ret)
		ret = commit(s, &x, expect_tag);
	txn_free(&x);
	if (ret) {
		fl_seterr(err, errlen, "cannot release the lease of dataset %s: %s", uuid,
			  why(ret));
		return ret;
	}
	karr_rm(LEASES(s), uuid);
	return 0;
}

int fl_state_expire_leases(struct fl_state *s, int64_t now)
{
	size_t i = 0;
	int n = 0, ret;

	wq_drain(s);
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
	ssize_t i = karr_find(TRASH(s), uuid);
	struct txn x;
	char name[FL_VOLNAME_MAX + 1];
	int ret;

	if (!strcmp(s->purging, uuid))
		s->purging[0] = '\0';
	if (result || i < 0)
		return result;
	snprintf(name, sizeof(name), "%s", s->trash[i].name);
	txn_init(&x);
	ret = txn_rm(&x, PFX_TRASH, uuid);
	if (!ret)
		ret = commit(s, &x, 0);
	txn_free(&x);
	if (ret)
		return ret;
	fl_notice("volume %s (%s) purged from the trash", name, uuid);
	karr_rm(TRASH(s), uuid);
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

/* A node's record as of a hello or disconnect at now: cur (if known) updated. */
static void node_rec_fill(struct fl_node_rec *n, const struct fl_node_rec *cur, const char *uuid,
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

	node_rec_fill(&n, cur, uuid, name, addr, host, now);
	ret = fl_state_enc_node(&n, &e);
	if (!ret) {
		kv.key = n.uuid;
		kv.val = e.buf.data;
		kv.len = e.buf.len;
		ret = s->ns->ops->omap_update(s->ns, FL_CTL_NODES_OID, &kv, 1, NULL, 0, NULL, 0);
	}
	fl_frame_enc_free(&e);
	if (!ret)
		ret = karr_put(NODES(s), &n);
	return ret;
}

/* ------------------------------------------------------------------ */
/* node records off the loop */

void fl_state_set_runner(struct fl_state *s, fl_state_submit submit, void *arg)
{
	s->submit = submit;
	s->submit_arg = arg;
}

static void run_job(struct fl_state *s, struct fl_job *j)
{
	if (s->submit) {
		s->submit(s->submit_arg, j);
		return;
	}
	j->cancelled = false;
	j->work(j);
	j->done(j);
}

struct node_waiter {
	fl_state_done done;
	void *arg;
	struct node_waiter *next;
};

/*
 * One node's record writes: at most one in flight (job != NULL); the callers
 * since it started wait in "next" and get the write that follows it, which
 * carries the cache's record as it is then.
 */
struct node_wr {
	char uuid[37];
	struct node_job *job;	 /* the write in flight, or NULL */
	struct node_waiter *cur; /* satisfied by the write in flight */
	struct node_waiter *next, **next_tail;
	bool again; /* a change since the write in flight began */
	struct node_wr *link;
};

struct node_job {
	struct fl_job job;
	struct fl_state *s;
	struct node_wr *w;
	struct fl_store *ns; /* the work uses only this (thread safe) */
	char key[37];
	struct fl_frame_enc e;
	int ret;
};

static void waiters_call(struct node_waiter *list, int err)
{
	struct node_waiter *x;

	while ((x = list)) {
		list = x->next;
		if (x->done)
			x->done(x->arg, err);
		free(x);
	}
}

static void node_wr_unlink(struct fl_state *s, struct node_wr *w)
{
	struct node_wr **pp;

	for (pp = &s->node_wrs; *pp; pp = &(*pp)->link) {
		if (*pp == w) {
			*pp = w->link;
			break;
		}
	}
	free(w);
}

static void node_wr_work(struct fl_job *j)
{
	struct node_job *nj = (struct node_job *)j;
	struct fl_kv kv = {nj->key, nj->e.buf.data, nj->e.buf.len};

	nj->ret = nj->ns->ops->omap_update(nj->ns, FL_CTL_NODES_OID, &kv, 1, NULL, 0, NULL, 0);
}

static void node_wr_start(struct fl_state *s, struct node_wr *w);

static void node_wr_done(struct fl_job *j)
{
	struct node_job *nj = (struct node_job *)j;
	struct fl_state *s = nj->s;
	struct node_wr *w = nj->w;
	struct node_waiter *cur = w->cur;
	bool cancelled = j->cancelled;
	int ret = cancelled ? -ESHUTDOWN : nj->ret;

	w->job = NULL;
	w->cur = NULL;
	fl_frame_enc_free(&nj->e);
	free(nj); /* j with it */
	if (ret && ret != -ESHUTDOWN)
		fl_warn("cannot record node %s: %s", w->uuid, strerror(-ret));
	if (cancelled) {
		/* the control stops: what is queued will not be written */
		struct node_waiter *next = w->next;

		node_wr_unlink(s, w);
		waiters_call(cur, ret);
		waiters_call(next, ret);
		return;
	}
	if (w->again)
		node_wr_start(s, w);
	else
		node_wr_unlink(s, w);
	waiters_call(cur, ret);
}

/* Writes the cached record of w's node; the waiters so far wait for this write. */
static void node_wr_start(struct fl_state *s, struct node_wr *w)
{
	const struct fl_node_rec *n = fl_state_node(s, w->uuid);
	struct node_job *nj = calloc(1, sizeof(*nj));
	int ret = -ENOMEM;

	w->cur = w->next;
	w->next = NULL;
	w->next_tail = &w->next;
	w->again = false;
	if (nj && n) {
		ret = fl_state_enc_node(n, &nj->e);
		if (ret)
			fl_frame_enc_free(&nj->e);
	}
	if (ret) {
		struct node_waiter *cur = w->cur;

		free(nj);
		node_wr_unlink(s, w);
		waiters_call(cur, ret);
		return;
	}
	nj->job.work = node_wr_work;
	nj->job.done = node_wr_done;
	nj->s = s;
	nj->w = w;
	nj->ns = s->ns;
	snprintf(nj->key, sizeof(nj->key), "%s", n->uuid);
	w->job = nj;
	run_job(s, &nj->job);
}

void fl_state_node_seen_async(struct fl_state *s, const char *uuid, const char *name,
			      const char *addr, const char *host, int64_t now, fl_state_done done,
			      void *arg)
{
	const struct fl_node_rec *cur = fl_state_node(s, uuid);
	struct fl_node_rec n = {0};
	struct node_waiter *x = calloc(1, sizeof(*x));
	struct node_wr *w;

	node_rec_fill(&n, cur, uuid, name, addr, host, now);
	for (w = s->node_wrs; w && strcmp(w->uuid, n.uuid); w = w->link)
		;
	if (!w && (w = calloc(1, sizeof(*w)))) {
		snprintf(w->uuid, sizeof(w->uuid), "%s", n.uuid);
		w->next_tail = &w->next;
		w->link = s->node_wrs;
		s->node_wrs = w;
	}
	if (!x || !w || karr_put(NODES(s), &n)) {
		free(x);
		if (w && !w->job)
			node_wr_unlink(s, w);
		if (done)
			done(arg, -ENOMEM);
		return;
	}
	x->done = done;
	x->arg = arg;
	*w->next_tail = x;
	w->next_tail = &x->next;
	w->again = true;
	if (!w->job)
		node_wr_start(s, w);
}

static void node_wr_free_all(struct fl_state *s)
{
	struct node_wr *w;

	/* only after the workers stopped: no write in flight points here */
	while ((w = s->node_wrs)) {
		s->node_wrs = w->link;
		waiters_call(w->cur, -ESHUTDOWN);
		waiters_call(w->next, -ESHUTDOWN);
		free(w);
	}
}

/* ------------------------------------------------------------------ */
/* guarded lease writes off the loop */

enum { WOP_PUT, WOP_RELEASE };

/*
 * One guarded write of ctl.config handed to a worker.  Ordering: the writes
 * go out one at a time, in the order they were asked for; each is checked
 * (its preconditions and the tag it compares) against the cache as every
 * earlier one left it, when it goes out, never when it is asked for.  A
 * synchronous change (the API's) first waits for the write on a worker and
 * applies it (wq_drain), then checks and writes itself; so the result is
 * always that of running the changes one after another on the loop.
 */
struct wop {
	struct fl_job job;
	struct fl_state *s;
	int kind;
	struct fl_lease l, old;
	bool has_old, set_primary;
	uint64_t expect_tag;
	char node[37];
	fl_state_wdone done;
	void *arg;
	/* made when it goes out */
	struct txn x;
	struct fl_ds d;
	bool has_d, noop;
	struct fl_kv set[TXN_MAX + 1];
	char newtag[24], oldtag[24];
	struct fl_omap_cmp cmp;
	struct fl_store *ns;
	int ret;
	char msg[256];
	/* the worker says when the write is back; the loop applies it once */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool finished, applied;
	struct wop *next;
};

static void wop_free(struct wop *w)
{
	txn_free(&w->x);
	fl_ds_clear(&w->d);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}

/* On the loop: the checks and the transaction, as the synchronous calls make them. */
static int wop_prepare(struct fl_state *s, struct wop *w)
{
	const struct fl_lease *cur = fl_state_lease(s, w->l.uuid);
	const struct fl_ds *dcur;
	struct fl_frame_enc *e;
	int ret;

	txn_init(&w->x);
	if (s->fenced)
		return -ECANCELED;
	if (w->expect_tag && w->expect_tag != s->tag)
		return -ESTALE;
	if (w->kind == WOP_RELEASE) {
		if (!cur || strcmp(cur->node, w->node) || cur->kind != FL_LEASE_AGENT) {
			w->noop = true; /* not the node's: nothing to drop */
			return 0;
		}
		ret = txn_rm(&w->x, PFX_LEASE, w->l.uuid);
	} else {
		if ((!w->has_old) != (cur == NULL) ||
		    (w->has_old && !fl_lease_equal(&w->old, cur))) {
			snprintf(w->msg, sizeof(w->msg),
				 "the lease of dataset %s changed meanwhile", w->l.uuid);
			return -EAGAIN;
		}
		e = txn_set(&w->x, PFX_LEASE, w->l.uuid);
		ret = txn_set_done(&w->x, fl_state_enc_lease(&w->l, e));
		dcur = fl_state_ds(s, w->l.uuid);
		if (!ret && w->set_primary && dcur) {
			w->d = *dcur;
			w->d.metadata = dcur->metadata ? strdup(dcur->metadata) : NULL;
			snprintf(w->d.primary, sizeof(w->d.primary), "%s", w->l.node);
			w->has_d = true;
			e = txn_set(&w->x, PFX_DS, w->l.uuid);
			ret = txn_set_done(&w->x, fl_state_enc_ds(&w->d, e));
		}
	}
	if (ret)
		return ret;
	memcpy(w->set, w->x.set, w->x.nset * sizeof(w->set[0]));
	snprintf(w->oldtag, sizeof(w->oldtag), "%" PRIu64, s->tag);
	snprintf(w->newtag, sizeof(w->newtag), "%" PRIu64, s->tag + 1);
	w->set[w->x.nset].key = KEY_TAG;
	w->set[w->x.nset].val = w->newtag;
	w->set[w->x.nset].len = strlen(w->newtag);
	w->cmp.key = KEY_TAG;
	w->cmp.val = w->oldtag;
	w->cmp.len = strlen(w->oldtag);
	w->ns = s->ns;
	return 0;
}

static void wop_work(struct fl_job *j)
{
	struct wop *w = (struct wop *)j;
	int ret = w->ns->ops->omap_update(w->ns, FL_CTL_CONFIG_OID, w->set, w->x.nset + 1, w->x.rm,
					  w->x.nrm, &w->cmp, 1);

	pthread_mutex_lock(&w->mu);
	w->ret = ret;
	w->finished = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* On the loop, once: the cache follows the write. */
static void wop_apply(struct fl_state *s, struct wop *w)
{
	if (w->applied)
		return;
	w->applied = true;
	if (w->ret == -ECANCELED) {
		fl_err("the control configuration was changed by another control service: "
		       "this one is no longer the leader");
		s->fenced = true;
	}
	if (w->ret) {
		snprintf(w->msg, sizeof(w->msg), "cannot %s the lease of dataset %s: %s",
			 w->kind == WOP_PUT ? "set" : "release", w->l.uuid, why(w->ret));
		return;
	}
	s->tag++;
	if (w->kind == WOP_RELEASE) {
		karr_rm(LEASES(s), w->l.uuid);
		return;
	}
	if (karr_put(LEASES(s), &w->l))
		w->ret = -ENOMEM;
	if (!w->ret && w->has_d)
		karr_take(DS(s), &w->d);
}

static void wq_pump(struct fl_state *s);

static void wq_finish(struct wop *w, int ret)
{
	if (w->done)
		w->done(w->arg, ret, ret ? w->msg : NULL);
	wop_free(w);
}

static void wop_done(struct fl_job *j)
{
	struct wop *w = (struct wop *)j;
	struct fl_state *s = w->s;
	struct wop *q;
	bool finished;

	pthread_mutex_lock(&w->mu);
	finished = w->finished;
	pthread_mutex_unlock(&w->mu);
	if (finished)
		wop_apply(s, w); /* unless wq_drain did */
	if (s->wq_inflight == w)
		s->wq_inflight = NULL;
	if (j->cancelled) {
		/* the control stops: what waits will not go out */
		snprintf(w->msg, sizeof(w->msg), "the control service is stopping");
		wq_finish(w, -ESHUTDOWN);
		while ((q = s->wq)) {
			s->wq = q->next;
			snprintf(q->msg, sizeof(q->msg), "the control service is stopping");
			wq_finish(q, -ESHUTDOWN);
		}
		s->wq_tail = &s->wq;
		return;
	}
	wq_finish(w, w->ret);
	wq_pump(s);
}

/* Sends the next waiting write out, or answers those that need no write. */
static void wq_pump(struct fl_state *s)
{
	struct wop *w;
	int ret;

	while (!s->wq_inflight && (w = s->wq)) {
		s->wq = w->next;
		if (!s->wq)
			s->wq_tail = &s->wq;
		ret = wop_prepare(s, w);
		if (ret || w->noop) {
			if (ret && !w->msg[0])
				snprintf(w->msg, sizeof(w->msg),
					 "cannot change the lease of dataset %s: %s", w->l.uuid,
					 why(ret));
			wq_finish(w, ret);
			continue;
		}
		w->job.work = wop_work;
		w->job.done = wop_done;
		s->wq_inflight = w;
		run_job(s, &w->job);
		return;
	}
}

/* A synchronous change waits for the write on a worker and applies it first. */
static void wq_drain(struct fl_state *s)
{
	struct wop *w = s->wq_inflight;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	while (!w->finished)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	wop_apply(s, w);
	s->wq_inflight = NULL; /* its done() still answers its caller, later */
}

static void wq_free_all(struct fl_state *s)
{
	struct wop *w;

	/* only after the workers stopped (their done() emptied the queue) */
	while ((w = s->wq)) {
		s->wq = w->next;
		wq_finish(w, -ESHUTDOWN);
	}
}

static struct wop *wop_new(struct fl_state *s, int kind, const char *uuid, fl_state_wdone done,
			   void *arg)
{
	struct wop *w = calloc(1, sizeof(*w));

	if (!w) {
		done(arg, -ENOMEM, "out of memory");
		return NULL;
	}
	w->s = s;
	w->kind = kind;
	w->done = done;
	w->arg = arg;
	snprintf(w->l.uuid, sizeof(w->l.uuid), "%s", uuid);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	return w;
}

static void wq_add(struct fl_state *s, struct wop *w)
{
	if (!s->wq_tail)
		s->wq_tail = &s->wq;
	*s->wq_tail = w;
	s->wq_tail = &w->next;
	wq_pump(s);
}

void fl_state_lease_put_async(struct fl_state *s, const struct fl_lease *l,
			      const struct fl_lease *old, bool set_primary, uint64_t expect_tag,
			      fl_state_wdone done, void *arg)
{
	struct wop *w = wop_new(s, WOP_PUT, l->uuid, done, arg);

	if (!w)
		return;
	w->l = *l;
	if (old) {
		w->old = *old;
		w->has_old = true;
	}
	w->set_primary = set_primary;
	w->expect_tag = expect_tag;
	wq_add(s, w);
}

void fl_state_lease_release_async(struct fl_state *s, const char *uuid, const char *node,
				  fl_state_wdone done, void *arg)
{
	struct wop *w = wop_new(s, WOP_RELEASE, uuid, done, arg);

	if (!w)
		return;
	snprintf(w->node, sizeof(w->node), "%s", node);
	wq_add(s, w);
}
