/*
 * flockerfs — clones (fs/volume/clone.h).
 *
 * Order of the writes that make a clone, so that a crash at any point
 * leaves nothing that reads as a volume with a missing parent:
 *   1. the parent's `children` key (the snapshot now stays),
 *   2. the clone's `parent`, then its `super` (in a namespace no registry
 *      entry names yet),
 *   3. the registry entry (guarded: the name must still be free).
 * A failure removes what was written, in reverse.  A crash leaves at most
 * an unnamed namespace and a `children` key naming a uuid the registry does
 * not know (fsck of the parent reports it).
 */
#include "fs/volume/clone.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flocker/log.h"
#include "fs/store/store_layer.h"
#include "fs/util/uuid.h"
#include "fs/volume/snapshot.h"
#include "fs/volume/volume.h"

/* --- snapshots: fs/volume/snapshot.c --- */

/* A new snapshot snap of volume vol: its RADOS snap id. */
static int snap_take(struct fl_store *base, const char *vol, const char *snap, uint64_t *id,
		     char *err, size_t errlen)
{
	struct fl_snap_opts o = {0};
	struct fl_snap_result res;
	int ret = fl_snap_create(base, vol, snap, &o, &res, err, errlen);

	if (!ret)
		*id = res.rec.id;
	return ret;
}

/* The RADOS snap id of vol@snap: -ENOENT (err says so) when there is none. */
static int snap_find(struct fl_store *base, const char *vol, const char *snap, uint64_t *id,
		     char *err, size_t errlen)
{
	struct fl_volume *v = NULL;
	struct fl_snap_rec r;
	int ret = fl_volume_open(base, vol, &v, err, errlen);

	if (ret)
		return ret;
	ret = fl_snap_lookup(v, snap, &r);
	if (ret == -ENOENT || (!ret && r.state != FL_SNAP_OK)) {
		fl_seterr(err, errlen, "no snapshot %s of volume %s%s", snap, vol,
			  ret ? "" : " (being removed)");
		ret = -ENOENT;
	} else if (ret) {
		fl_seterr(err, errlen, "cannot read snapshot %s@%s: %s", vol, snap, strerror(-ret));
	} else {
		*id = r.id;
	}
	fl_volume_close(v);
	return ret;
}

/* Makes h read at snapshot id. */
static int read_at(struct fl_store *h, uint64_t id)
{
	return id == FL_SNAP_HEAD ? 0 : h->ops->set_read_snap(h, id);
}

/* --- helpers --- */

/* The registry entry of name: 0, -ENOENT, or another negative errno. */
static int reg_get(struct fl_store *base, const char *name, struct fl_volreg_rec *r)
{
	struct fl_store *reg;
	int ret = fl_reg_open(base, &reg);

	if (ret)
		return ret;
	ret = fl_volreg_lookup(reg, name, r);
	fl_store_close(reg);
	return ret;
}

int fl_clone_parent(struct fl_store *vst, struct fl_parent_rec *r)
{
	char *buf;
	ssize_t n = fl_rec_read(vst, FL_OID_PARENT, &buf);
	int ret;

	if (n < 0)
		return n == -ENOENT ? 0 : (int)n;
	ret = fl_parent_decode(buf, (size_t)n, r) ? -EIO : 1;
	free(buf);
	return ret;
}

static void child_key(char *out, size_t len, const char *snap, const char *uuid)
{
	snprintf(out, len, "%s/%s", snap, uuid);
}

/* --- opening a clone --- */

/*
 * A handle on volume uuid's namespace reading at snap id; itself layered
 * when that volume is a clone (depth counts the levels).  *next_ino gets the
 * volume's next_ino at the snapshot.
 */
/*
 * Is the journal of a volume read at a snapshot empty from its tail on?  Only
 * then is super.next_ino a bound on its inodes: a live writer's snapshot has
 * the inodes made since its last checkpoint in the journal alone.  A clone's
 * segment may be read through from its parent: not known, so not empty.
 */
static bool journal_empty(struct fl_store *h, const struct fl_super_rec *s, bool is_clone)
{
	char oid[FL_OID_LEN];
	uint64_t size = 0;
	int r;

	fl_oid_jrnl(oid, s->jtail);
	r = h->ops->stat(h, oid, &size);
	return (r == 0 && size == 0) || (r == -ENOENT && !is_clone);
}

static struct fl_store *open_at(struct fl_store *base, const char *uuid, uint64_t id,
				unsigned depth, uint64_t *next_ino, int *ret)
{
	struct fl_store *h, *pp = NULL, *l;
	struct fl_parent_rec pr;
	struct fl_super_rec s;
	uint64_t bound = 0;

	if (depth >= FL_CLONE_DEPTH_MAX) {
		*ret = -ELOOP;
		return NULL;
	}
	*ret = fl_volns_open(base, uuid, &h);
	if (*ret)
		return NULL;
	*ret = read_at(h, id);
	if (*ret)
		goto fail;
	*ret = fl_volume_read_super(h, &s);
	if (*ret)
		goto fail;
	*ret = fl_clone_parent(h, &pr);
	if (*ret < 0)
		goto fail;
	*next_ino = journal_empty(h, &s, *ret > 0) ? s.next_ino : 0;
	if (*ret == 0)
		return h;
	pp = open_at(base, pr.uuid, pr.snap_id, depth + 1, &bound, ret);
	if (!pp)
		goto fail;
	l = fl_layer_open(h, pp);
	if (!l) {
		*ret = -errno;
		goto fail;
	}
	fl_layer_set_ino_bound(l, bound); /* 0 (none) unless known: see journal_empty */
	*ret = 0;
	return l;
fail:
	fl_store_close(pp);
	fl_store_close(h);
	return NULL;
}

int fl_clone_wrap(struct fl_store *base, struct fl_volume *v, char *err, size_t errlen)
{
	struct fl_parent_rec pr;
	struct fl_store *pp, *l;
	uint64_t bound = 0;
	int ret = fl_clone_parent(v->st, &pr);

	if (ret < 0) {
		fl_seterr(err, errlen, "cannot read the parent record of volume %s: %s",
			  v->super.name, strerror(-ret));
		return ret;
	}
	if (ret == 0)
		return 0;
	pp = open_at(base, pr.uuid, pr.snap_id, 1, &bound, &ret);
	if (!pp) {
		fl_seterr(err, errlen, "cannot open %s@%s, the parent of volume %s: %s", pr.name,
			  pr.snap, v->super.name, strerror(-ret));
		return ret;
	}
	l = fl_layer_open(v->st, pp);
	if (!l) {
		ret = -errno;
		fl_store_close(pp);
		fl_seterr(err, errlen, "cannot open the layers of clone %s: %s", v->super.name,
			  strerror(-ret));
		return ret;
	}
	/*
	 * A bound only when the snapshot's journal is empty (journal_empty): a
	 * snapshot taken by a mounted writer has journal records of inodes newer
	 * than its superblock's next_ino, whose objects are in the parent too.
	 */
	fl_layer_set_ino_bound(l, bound);
	v->st = l;
	return 0;
}

/* --- making one --- */

/* Before a clone: the names are valid, parent exists (*pr: its registry
 * entry) and name is free.  0, or a negative errno with err set. */
static int clone_check(struct fl_store *base, const char *parent, const char *snap,
		       const char *name, struct fl_volreg_rec *pr, char *err, size_t errlen)
{
	struct fl_volreg_rec r;
	int ret = fl_volname_check(name, err, errlen);

	if (ret)
		return ret;
	if (snap && !fl_volname_valid(snap)) {
		fl_seterr(err, errlen, "invalid snapshot name '%s'", snap);
		return -EINVAL;
	}
	ret = reg_get(base, parent, pr);
	if (ret == -ENOENT) {
		fl_seterr(err, errlen, "cannot clone %s: no such volume", parent);
		return ret;
	}
	if (ret == 0)
		ret = reg_get(base, name, &r);
	if (ret == 0) {
		fl_seterr(err, errlen, "cannot create volume %s: it exists (uuid %s)", name,
			  r.uuid);
		return -EEXIST;
	}
	if (ret != -ENOENT) {
		fl_seterr(err, errlen, "cannot clone %s%s%s as %s: %s", parent, snap ? "@" : "",
			  snap ? snap : "", name, strerror(-ret));
		return ret;
	}
	return 0;
}

/* The clone's link to its parent (registry entry pr) at snapshot id, named
 * sname, encoded into b. */
static int link_encode(const struct fl_volreg_rec *pr, uint64_t id, const char *sname,
		       const char *parent, int64_t created, struct fl_buf *b)
{
	struct fl_parent_rec link = {0};

	link.version = FL_FORMAT_VERSION;
	memcpy(link.uuid, pr->uuid, sizeof(link.uuid));
	link.snap_id = id;
	snprintf(link.snap, sizeof(link.snap), "%s", sname);
	snprintf(link.name, sizeof(link.name), "%s", parent);
	link.created = created;
	return fl_parent_encode(&link, b);
}

int fl_volume_clone(struct fl_store *base, const char *parent, const char *snap, const char *name,
		    char *snap_out, size_t snap_len, char *err, size_t errlen)
{
	struct fl_store *pst = NULL, *pat = NULL, *cst = NULL, *reg = NULL;
	struct fl_volreg_rec pr = {0}, r = {0};
	struct fl_super_rec s;
	struct fl_kv kv;
	struct fl_buf b;
	char sname[FL_VOLNAME_MAX + 1], key[FL_VOLNAME_MAX + 48];
	uint64_t id, bound = 0;
	bool keyed = false, made = false;
	int ret;

	fl_buf_init(&b, FL_REC_MAX);
	ret = clone_check(base, parent, snap, name, &pr, err, errlen);
	if (ret)
		goto out;
	if (snap) {
		snprintf(sname, sizeof(sname), "%s", snap);
		ret = snap_find(base, parent, sname, &id, err, errlen);
	} else {
		snprintf(sname, sizeof(sname), "clone-%.*s-%lld", FL_VOLNAME_MAX - 32, name,
			 (long long)time(NULL));
		ret = snap_take(base, parent, sname, &id, err, errlen);
	}
	if (ret)
		goto out;
	if (snap_out)
		snprintf(snap_out, snap_len, "%s", sname);

	/* the parent as of the snapshot: its superblock becomes the clone's */
	pat = open_at(base, pr.uuid, id, 1, &bound, &ret);
	if (!pat) {
		fl_seterr(err, errlen, "cannot read %s@%s: %s", parent, sname, strerror(-ret));
		goto out;
	}
	ret = fl_volume_read_super(pat, &s);
	if (ret) {
		fl_seterr(err, errlen, "cannot read the superblock of %s@%s: %s", parent, sname,
			  strerror(-ret));
		goto out;
	}

	memset(&r, 0, sizeof(r));
	r.version = FL_FORMAT_VERSION;
	fl_uuid_new(r.uuid);
	r.created = time(NULL);
	r.size_limit = s.size_limit;

	/* 1. the snapshot stays while this key exists */
	ret = fl_volns_open(base, pr.uuid, &pst);
	if (ret)
		goto out_err;
	child_key(key, sizeof(key), sname, r.uuid);
	kv.key = key;
	kv.val = "";
	kv.len = 0;
	ret = pst->ops->omap_update(pst, FL_OID_CHILDREN, &kv, 1, NULL, 0, NULL, 0);
	if (ret)
		goto out_err;
	keyed = true;

	/* 2. the clone's own objects: parent, then super */
	ret = fl_volns_open(base, r.uuid, &cst);
	if (ret)
		goto out_err;
	ret = link_encode(&pr, id, sname, parent, r.created, &b);
	if (ret)
		goto out_err;
	made = true;
	ret = cst->ops->write_full(cst, FL_OID_PARENT, b.data, b.len);
	if (ret)
		goto out_err;
	memcpy(s.uuid, r.uuid, sizeof(s.uuid));
	snprintf(s.name, sizeof(s.name), "%s", name);
	s.created = r.created;
	s.snap_seq = 0; /* the clone's own snapshots start here */
	ret = fl_super_write(cst, &s);
	if (ret)
		goto out_err;

	/* 3. the name */
	ret = fl_reg_open(base, &reg);
	if (ret)
		goto out_err;
	ret = fl_volreg_claim(reg, name, &r, &b, err, errlen);
	if (ret == -EEXIST)
		goto out_undo;
	if (ret)
		goto out_err;
	goto out;

out_err:
	fl_seterr(err, errlen, "cannot clone %s@%s as %s: %s", parent, snap ? snap : sname, name,
		  strerror(-ret));
out_undo:
	if (made) {
		cst->ops->remove(cst, FL_OID_SUPER);
		cst->ops->remove(cst, FL_OID_PARENT);
	}
	if (keyed) {
		const char *rm[1] = {key};

		pst->ops->omap_update(pst, FL_OID_CHILDREN, NULL, 0, rm, 1, NULL, 0);
	}
out:
	fl_store_close(reg);
	fl_store_close(cst);
	fl_store_close(pst);
	fl_store_close(pat);
	fl_buf_free(&b);
	return ret;
}

/* --- links --- */

struct keys_ctx {
	int (*cb)(void *arg, const char *key);
	void *arg;
	int n;
	char last[FL_VOLNAME_MAX + 48];
};

static int keys_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct keys_ctx *x = arg;

	(void)val;
	(void)len;
	x->n++;
	snprintf(x->last, sizeof(x->last), "%s", key);
	return x->cb ? x->cb(x->arg, key) : 0;
}

int fl_clone_children(struct fl_store *vst, int (*cb)(void *arg, const char *key), void *arg)
{
	struct keys_ctx x = {cb, arg, 0, ""};
	bool more = true;
	int ret;

	while (more) {
		ret = vst->ops->omap_list(vst, FL_OID_CHILDREN, x.n ? x.last : NULL, 1024, keys_cb,
					  &x, &more);
		if (ret == -ENOENT)
			return 0;
		if (ret)
			return ret;
	}
	return x.n;
}

int fl_clone_unlink(struct fl_store *base, struct fl_store *vst)
{
	struct fl_store *plain = fl_is_layer(vst) ? fl_layer_child(vst) : vst, *pst;
	struct fl_parent_rec pr;
	struct fl_super_rec s;
	char key[FL_VOLNAME_MAX + 48];
	const char *rm[1] = {key};
	int ret = fl_clone_parent(plain, &pr);

	if (ret <= 0)
		return ret;
	ret = fl_volume_read_super(plain, &s);
	if (ret)
		return ret;
	ret = fl_volns_open(base, pr.uuid, &pst);
	if (ret)
		return ret;
	child_key(key, sizeof(key), pr.snap, s.uuid);
	ret = pst->ops->omap_update(pst, FL_OID_CHILDREN, NULL, 0, rm, 1, NULL, 0);
	fl_store_close(pst);
	return ret;
}

/* --- flatten --- */

int fl_volume_flatten(struct fl_store *base, const char *name,
		      void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg,
		      char *err, size_t errlen)
{
	struct fl_volume *v = NULL;
	struct fl_parent_rec pr;
	struct fl_store *c;
	long n;
	int ret;

	ret = fl_volume_open(base, name, &v, err, errlen);
	if (ret)
		return ret;
	if (!fl_is_layer(v->st)) {
		fl_seterr(err, errlen, "cannot flatten volume %s: it is not a clone", name);
		ret = -EINVAL;
		goto out;
	}
	c = fl_layer_child(v->st);
	ret = fl_clone_parent(c, &pr);
	if (ret <= 0) {
		ret = ret ? ret : -EINVAL;
		goto out_err;
	}
	/* its snapshots were taken while it read through: they still do */
	{
		struct keys_ctx x = {NULL, NULL, 0, ""};
		bool more;

		ret = c->ops->omap_list(c, FL_OID_SNAPS, NULL, 1, keys_cb, &x, &more);
		if (ret && ret != -ENOENT)
			goto out_err;
		if (x.n) {
			fl_seterr(err, errlen,
				  "cannot flatten volume %s: its snapshots (%s%s) read from %s@%s "
				  "too; remove them first",
				  name, x.last, more ? ", ..." : "", pr.name, pr.snap);
			ret = -EBUSY;
			goto out;
		}
	}
	ret = fl_volume_lock(v, 0, false, err, errlen);
	if (ret == -EBUSY) {
		char held[512];

		snprintf(held, sizeof(held), "%s", err);
		fl_seterr(err, errlen, "cannot flatten volume %s: %s", name, held);
		goto out;
	}
	if (ret)
		goto out;
	n = fl_layer_copy_up_all(v->st, progress, arg);
	if (n < 0) {
		ret = (int)n;
		goto out_err;
	}
	/* the link goes first: from here on the volume stands alone */
	ret = c->ops->remove(c, FL_OID_PARENT);
	if (ret)
		goto out_err;
	ret = c->ops->remove(c, FL_OID_WHITEOUT);
	if (ret && ret != -ENOENT)
		goto out_err;
	ret = c->ops->remove(c, FL_OID_COPYUPS);
	if (ret && ret != -ENOENT)
		goto out_err;
	{
		struct fl_store *pst;
		char key[FL_VOLNAME_MAX + 48];
		const char *rk[1] = {key};

		ret = fl_volns_open(base, pr.uuid, &pst);
		if (ret)
			goto out_err;
		child_key(key, sizeof(key), pr.snap, v->super.uuid);
		ret = pst->ops->omap_update(pst, FL_OID_CHILDREN, NULL, 0, rk, 1, NULL, 0);
		fl_store_close(pst);
		if (ret)
			goto out_err;
	}
	fl_info("volume %s flattened: %ld objects copied from %s@%s", name, n, pr.name, pr.snap);
	ret = 0;
	goto out;
out_err:
	fl_seterr(err, errlen, "cannot flatten volume %s: %s", name, strerror(-ret));
out:
	fl_volume_close(v);
	return ret;
}
