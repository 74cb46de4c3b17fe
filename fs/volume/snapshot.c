/*
 * flockerfs — snapshots of volumes (fs/volume/snapshot.h).
 */
#include "fs/volume/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flocker/buf.h"
#include "flocker/log.h"
#include "fs/core/core.h"
#include "fs/store/omap_util.h"

#define SNAP_LOCK_LEASE_S 10
#define SNAP_DEFAULT_WAIT 60000u
#define SNAP_REQ_CREATE	  "req snap-create"

struct snap_ent {
	char name[FL_VOLNAME_MAX + 1];
	struct fl_snap_rec r;
};

struct snap_list {
	struct snap_ent *e;
	size_t n, cap;
	int bad; /* an undecodable record */
	char bad_name[FL_VOLNAME_MAX + 1];
	char last[FL_VOLNAME_MAX + 1]; /* the last key seen, for paging */
	bool last_long;		       /* ... was longer than a name: stop there */
};

static void host_name(char *buf, size_t len)
{
	snprintf(buf, len, "localhost");
	gethostname(buf, len - 1);
	buf[len - 1] = '\0';
}

int fl_snap_parse(const char *spec, char *vol, size_t vollen, char *snap, size_t snaplen)
{
	const char *at = strchr(spec, '@');
	size_t n = at ? (size_t)(at - spec) : strlen(spec);

	if (n >= vollen)
		return -EINVAL;
	memcpy(vol, spec, n);
	vol[n] = '\0';
	if (!at) {
		if (snaplen)
			snap[0] = '\0';
		return 0;
	}
	if (strlen(at + 1) >= snaplen)
		return -EINVAL;
	snprintf(snap, snaplen, "%s", at + 1);
	return 1;
}

static int list_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct snap_list *l = arg;
	struct snap_ent *e;

	if (fl_grow(&l->e, &l->cap, l->n, sizeof(*l->e), 16))
		return -ENOMEM;
	e = &l->e[l->n];
	l->last_long = strlen(key) > FL_VOLNAME_MAX;
	snprintf(l->last, sizeof(l->last), "%.128s", key);
	if (l->last_long || fl_snap_decode(val, len, &e->r) < 0) {
		if (!l->bad++)
			snprintf(l->bad_name, sizeof(l->bad_name), "%.128s", key);
		return 0;
	}
	snprintf(e->name, sizeof(e->name), "%s", key);
	l->n++;
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	const struct snap_ent *x = a, *y = b;

	return x->r.id < y->r.id ? -1 : x->r.id > y->r.id;
}

/* Every record of the volume, by id; -EIO when one does not decode. */
static int snaps_load(struct fl_store *st, struct snap_list *l)
{
	bool more = true;
	int ret = 0;

	memset(l, 0, sizeof(*l));
	while (more && !ret && !l->last_long) {
		ret = st->ops->omap_list(st, FL_OID_SNAPS, l->last[0] ? l->last : NULL, 512,
					 list_cb, l, &more);
		if (ret == -ENOENT) {
			ret = 0;
			break;
		}
	}
	if (!ret && l->bad)
		ret = -EIO;
	if (!ret && l->n > 1)
		qsort(l->e, l->n, sizeof(*l->e), cmp_id);
	return ret;
}

/* The context: seq and ids newest first (extra, if not 0, added as the newest). */
static int ctx_set(struct fl_store *st, const struct snap_list *l, uint64_t seq, uint64_t extra)
{
	uint64_t *ids = malloc((l->n + 1) * sizeof(*ids));
	size_t n = 0;
	int ret;

	if (!ids)
		return -ENOMEM;
	if (extra)
		ids[n++] = extra;
	for (size_t i = l->n; i-- > 0;) {
		if (n && ids[n - 1] == l->e[i].r.id)
			continue;
		ids[n++] = l->e[i].r.id;
	}
	for (size_t i = 0; i < n; i++)
		if (ids[i] > seq)
			seq = ids[i];
	ret = (seq || n) ? st->ops->set_write_ctx(st, seq, ids, n) : 0;
	free(ids);
	return ret;
}

int fl_snap_apply_ctx(struct fl_volume *v, char *err, size_t errlen)
{
	struct snap_list l;
	int ret = snaps_load(v->st, &l);

	if (ret == -EIO)
		fl_seterr(err, errlen, "volume %s: snapshot record %s is damaged (flockerctl fsck)",
			  v->super.name, l.bad_name);
	else if (ret)
		fl_seterr(err, errlen, "volume %s: cannot read its snapshots: %s", v->super.name,
			  strerror(-ret));
	if (!ret) {
		ret = ctx_set(v->st, &l, v->super.snap_seq, 0);
		if (ret)
			fl_seterr(err, errlen, "volume %s: cannot set its snapshot context: %s",
				  v->super.name, strerror(-ret));
	}
	free(l.e);
	return ret;
}

static int lookup_st(struct fl_store *st, const char *snap, struct fl_snap_rec *r)
{
	void *val;
	size_t len;
	int ret = fl_omap_get1(st, FL_OID_SNAPS, snap, &val, &len);

	if (ret)
		return ret;
	ret = fl_snap_decode(val, len, r) < 0 ? -EIO : 0;
	free(val);
	return ret;
}

int fl_snap_lookup(struct fl_volume *v, const char *snap, struct fl_snap_rec *r)
{
	return lookup_st(v->st, snap, r);
}

/* Writes the record of snap; with create, only if there is none (-EEXIST). */
static int record_put(struct fl_store *st, const char *snap, const struct fl_snap_rec *r,
		      bool create, const struct fl_snap_rec *old)
{
	struct fl_buf b, ob;
	struct fl_kv kv;
	struct fl_omap_cmp cmp = {snap, NULL, 0};
	int ret;

	fl_buf_init(&b, FL_SNAP_REC_MAX);
	fl_buf_init(&ob, FL_SNAP_REC_MAX);
	ret = fl_snap_encode(r, &b);
	if (!ret && old) {
		ret = fl_snap_encode(old, &ob);
		cmp.val = ob.data;
		cmp.len = ob.len;
	}
	if (!ret) {
		kv.key = snap;
		kv.val = b.data;
		kv.len = b.len;
		ret = st->ops->omap_update(st, FL_OID_SNAPS, &kv, 1, NULL, 0, &cmp,
					   create || old ? 1 : 0);
		if (ret == -ECANCELED)
			ret = create ? -EEXIST : -EAGAIN;
	}
	fl_buf_free(&b);
	fl_buf_free(&ob);
	return ret;
}

struct take {
	const char *snap, *host;
	const char *volname;
	uint64_t seq;
	uint64_t id; /* allocated by new_id() */
	struct fl_snap_rec rec;
	char *err;
	size_t errlen;
};

static int new_id(struct take *t, struct fl_store *st)
{
	int ret = st->ops->snap_create(st, &t->id);

	if (ret)
		fl_seterr(t->err, t->errlen, "cannot create a RADOS snapshot of volume %s: %s",
			  t->volname, strerror(-ret));
	return ret;
}

/*
 * Nothing of this writer is in flight: the context that names the new id on
 * st (before any write: one with the old context would show through), then
 * the record.  A name taken meanwhile gives the id back (the caller's job).
 *
 * The id itself is allocated before the freeze (a monitor round trip, the
 * longest step): what a snapshot holds is decided by the context switch, not
 * by the allocation.  A write with the old context between the two changes
 * the head object without a clone; the first write with the new context
 * clones the head as it is then, so the snapshot is the state at the switch.
 */
static int take_new(void *arg, struct fl_store *st)
{
	struct take *t = arg;
	struct snap_list l;
	struct timespec now;
	uint64_t id = t->id;
	int ret = snaps_load(st, &l);

	if (ret) {
		fl_seterr(t->err, t->errlen, "cannot read the snapshots of volume %s: %s",
			  t->volname, strerror(-ret));
		goto out;
	}
	ret = ctx_set(st, &l, t->seq, id);
	if (ret) {
		fl_seterr(t->err, t->errlen, "cannot set the snapshot context of volume %s: %s",
			  t->volname, strerror(-ret));
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	memset(&t->rec, 0, sizeof(t->rec));
	t->rec.version = FL_FORMAT_VERSION;
	t->rec.id = id;
	t->rec.created = now.tv_sec;
	t->rec.created_ns = (uint32_t)now.tv_nsec;
	t->rec.state = FL_SNAP_OK;
	snprintf(t->rec.host, sizeof(t->rec.host), "%.63s", t->host);
	ret = record_put(st, t->snap, &t->rec, true, NULL);
	if (ret == 0)
		goto out;
	if (ret == -EEXIST)
		fl_seterr(t->err, t->errlen, "snapshot %s@%s already exists", t->volname, t->snap);
	else
		fl_seterr(t->err, t->errlen, "cannot write the record of snapshot %s@%s: %s",
			  t->volname, t->snap, strerror(-ret));
	ctx_set(st, &l, t->seq, 0);
out:
	free(l.e);
	return ret;
}

static int check_name(const char *vol, const char *snap, char *err, size_t errlen)
{
	if (!fl_volname_valid(snap)) {
		fl_seterr(err, errlen,
			  "invalid snapshot name \"%s\": 1-%d characters [a-zA-Z0-9_.-], starting "
			  "with a letter or digit",
			  snap, FL_VOLNAME_MAX);
		return -EINVAL;
	}
	(void)vol;
	return 0;
}

int fl_snap_take_mounted(struct fl_volume *v, struct fl_core *c, const char *snap, const char *host,
			 struct fl_snap_rec *out, struct fl_freeze_stats *stats, char *err,
			 size_t errlen)
{
	struct take t = {
		.snap = snap, .host = host, .volname = v->super.name, .err = err, .errlen = errlen};
	struct fl_snap_rec r;
	int ret = check_name(v->super.name, snap, err, errlen);

	if (ret)
		return ret;
	ret = fl_snap_lookup(v, snap, &r);
	if (ret == 0) {
		fl_seterr(err, errlen, "snapshot %s@%s already exists", v->super.name, snap);
		return -EEXIST;
	}
	if (ret != -ENOENT) {
		fl_seterr(err, errlen, "cannot read the snapshots of volume %s: %s", v->super.name,
			  strerror(-ret));
		return ret;
	}
	t.seq = __atomic_load_n(&v->super.snap_seq, __ATOMIC_RELAXED);
	ret = new_id(&t, v->st);
	if (ret)
		return ret;
	err[0] = '\0';
	ret = fl_core_freeze_run(c, take_new, &t, 0, stats);
	if (ret) {
		v->st->ops->snap_remove(v->st, t.id);
		if (!err[0])
			fl_seterr(err, errlen, "cannot freeze volume %s for a snapshot: %s",
				  v->super.name, strerror(-ret));
		return ret;
	}
	/* written by the next checkpoint; the context comes from the records anyway */
	__atomic_store_n(&v->super.snap_seq, t.rec.id, __ATOMIC_RELAXED);
	if (out)
		*out = t.rec;
	return 0;
}

/* The volume is ours (locked): snapshot it directly. */
static int take_unmounted(struct fl_volume *v, const char *snap, struct fl_snap_rec *out, char *err,
			  size_t errlen)
{
	char host[64];
	struct take t = {
		.snap = snap, .host = host, .volname = v->super.name, .err = err, .errlen = errlen};
	int ret;

	host_name(host, sizeof(host));
	/* the super under the lock: a writer may have checkpointed since the open */
	ret = fl_volume_reload_super(v);
	if (ret) {
		fl_seterr(err, errlen, "cannot read the superblock of volume %s: %s", v->super.name,
			  strerror(-ret));
		return ret;
	}
	t.seq = v->super.snap_seq;
	ret = new_id(&t, v->st);
	if (ret)
		return ret;
	ret = take_new(&t, v->st);
	if (ret) {
		v->st->ops->snap_remove(v->st, t.id);
		return ret;
	}
	v->super.snap_seq = t.rec.id;
	ret = fl_volume_write_super(v);
	if (ret) /* the snapshot stands: the context comes from the records */
		fl_warn("volume %s: cannot record snap_seq %" PRIu64 " in the superblock: %s",
			v->super.name, t.rec.id, strerror(-ret));
	*out = t.rec;
	return 0;
}

/* Parses the writer's answer "ok ID FROZEN_MS SYNC_MS" or "err ERRNO MESSAGE". */
static int parse_answer(const char *ans, struct fl_snap_result *res, char *err, size_t errlen)
{
	unsigned long long id;
	long long frozen, sync;
	int e, n = 0;

	if (sscanf(ans, "ok %llu %lld %lld", &id, &frozen, &sync) == 3) {
		res->rec.id = id;
		res->frozen_ms = frozen;
		res->sync_ms = sync;
		return 0;
	}
	if (sscanf(ans, "err %d %n", &e, &n) == 1 && e > 0) {
		fl_seterr(err, errlen, "%s", ans + n);
		return -e;
	}
	fl_seterr(err, errlen, "unexpected answer from the writer: %.100s", ans);
	return -EPROTO;
}

int fl_snap_create(struct fl_store *base, const char *vol, const char *snap,
		   const struct fl_snap_opts *o, struct fl_snap_result *res, char *err,
		   size_t errlen)
{
	struct fl_snap_opts dflt = {0};
	struct fl_volume *v = NULL;
	struct fl_snap_rec r;
	struct fl_holder h;
	struct timespec t0, t1;
	char lerr[512], req[512], ans[512], host[64];
	unsigned wait;
	int ret;

	if (!o)
		o = &dflt;
	wait = o->timeout_ms ? o->timeout_ms : SNAP_DEFAULT_WAIT;
	memset(res, 0, sizeof(*res));
	res->frozen_ms = res->sync_ms = -1;
	ret = check_name(vol, snap, err, errlen);
	if (ret)
		return ret;
	ret = fl_volume_open(base, vol, &v, err, errlen);
	if (ret)
		return ret;
	ret = fl_snap_lookup(v, snap, &r);
	if (ret == 0) {
		fl_seterr(err, errlen, "snapshot %s@%s already exists", vol, snap);
		ret = -EEXIST;
		goto out;
	}
	if (ret != -ENOENT) {
		fl_seterr(err, errlen, "cannot read the snapshots of volume %s: %s", vol,
			  strerror(-ret));
		goto out;
	}
	ret = fl_volume_lock(v, SNAP_LOCK_LEASE_S, o->takeover, lerr, sizeof(lerr));
	if (ret == 0) {
		ret = take_unmounted(v, snap, &res->rec, err, errlen);
		goto out;
	}
	if (ret != -EBUSY) {
		fl_seterr(err, errlen, "%s", lerr);
		goto out;
	}
	/* a live writer holds it: it takes the snapshot */
	ret = fl_volume_holder(v, &h);
	if (ret <= 0) {
		fl_seterr(err, errlen, "%s", lerr);
		ret = ret ? ret : -EAGAIN;
		goto out;
	}
	host_name(host, sizeof(host));
	snprintf(req, sizeof(req), SNAP_REQ_CREATE "\n%s\n%s", snap, host);
	snprintf(res->writer, sizeof(res->writer), "%s (pid %ld)", h.host, h.pid);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = fl_volume_request(v, req, wait, ans, sizeof(ans));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ret < 0) {
		fl_seterr(err, errlen, "cannot ask the writer of volume %s (host %s, pid %ld): %s",
			  vol, h.host, h.pid, strerror(-ret));
		goto out;
	}
	if (ret == 0) {
		fl_seterr(err, errlen,
			  "cannot snapshot volume %s: its writer on host %s (pid %ld) did not "
			  "answer (waited %.1f s; --takeover fences it and snapshots it "
			  "directly)",
			  vol, h.host, h.pid,
			  (double)(t1.tv_sec - t0.tv_sec) +
				  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		ret = -ETIMEDOUT;
		goto out;
	}
	res->by_writer = true;
	ret = parse_answer(ans, res, err, errlen);
	if (!ret) {
		ret = fl_snap_lookup(v, snap, &res->rec);
		if (ret)
			fl_seterr(err, errlen,
				  "the writer of volume %s took snapshot %s but its record cannot "
				  "be read: %s",
				  vol, snap, strerror(-ret));
	}
out:
	fl_volume_close(v);
	return ret;
}

int fl_snap_list(struct fl_store *base, const char *vol, fl_snap_list_cb cb, void *arg, char *err,
		 size_t errlen)
{
	struct fl_volume *v = NULL;
	struct snap_list l = {0};
	int ret = fl_volume_open(base, vol, &v, err, errlen);

	if (ret)
		return ret;
	ret = snaps_load(v->st, &l);
	if (ret == -EIO)
		fl_seterr(err, errlen, "volume %s: snapshot record %s is damaged", vol, l.bad_name);
	else if (ret)
		fl_seterr(err, errlen, "cannot read the snapshots of volume %s: %s", vol,
			  strerror(-ret));
	for (size_t i = 0; !ret && i < l.n; i++)
		ret = cb(arg, l.e[i].name, &l.e[i].r);
	free(l.e);
	fl_volume_close(v);
	return ret;
}

/* A clone of snap, if any: 1 and its uuid in child, 0, or a negative errno. */
struct child_find {
	const char *prefix;
	char child[64];
	bool found;
};

static int child_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct child_find *f = arg;
	size_t n = strlen(f->prefix);

	(void)val;
	(void)len;
	if (!strncmp(key, f->prefix, n)) {
		snprintf(f->child, sizeof(f->child), "%s", key + n);
		f->found = true;
	}
	return 1;
}

static int has_child(struct fl_store *st, const char *snap, char *child, size_t len)
{
	char prefix[FL_VOLNAME_MAX + 2];
	struct child_find f = {prefix, "", false};
	bool more;
	int ret;

	snprintf(prefix, sizeof(prefix), "%s/", snap);
	ret = st->ops->omap_list(st, FL_OID_CHILDREN, prefix, 1, child_cb, &f, &more);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return ret;
	if (f.found)
		snprintf(child, len, "%s", f.child);
	return f.found ? 1 : 0;
}

/* Finishes the removal of a snapshot: state 1, the RADOS snapshot, the record. */
static int remove_one(struct fl_store *st, const char *vol, const char *snap,
		      const struct fl_snap_rec *r, char *err, size_t errlen)
{
	struct fl_snap_rec mark = *r;
	const char *rm[1] = {snap};
	int ret = 0;

	if (r->state != FL_SNAP_REMOVING) {
		mark.state = FL_SNAP_REMOVING;
		ret = record_put(st, snap, &mark, false, r);
		if (ret) {
			fl_seterr(err, errlen, "cannot mark snapshot %s@%s for removal: %s", vol,
				  snap, strerror(-ret));
			return ret;
		}
	}
	ret = st->ops->snap_remove(st, r->id);
	if (ret && ret != -ENOENT) {
		fl_seterr(err, errlen, "cannot remove RADOS snapshot %" PRIu64 " of %s@%s: %s",
			  r->id, vol, snap, strerror(-ret));
		return ret;
	}
	ret = st->ops->omap_update(st, FL_OID_SNAPS, NULL, 0, rm, 1, NULL, 0);
	if (ret)
		fl_seterr(err, errlen, "cannot delete the record of snapshot %s@%s: %s", vol, snap,
			  strerror(-ret));
	return ret;
}

int fl_snap_remove(struct fl_store *base, const char *vol, const char *snap, char *err,
		   size_t errlen)
{
	struct fl_volume *v = NULL;
	struct fl_snap_rec r;
	char child[64];
	int ret = fl_volume_open(base, vol, &v, err, errlen);

	if (ret)
		return ret;
	ret = fl_snap_lookup(v, snap, &r);
	if (ret == -ENOENT) {
		fl_seterr(err, errlen, "no such snapshot: %s@%s", vol, snap);
		goto out;
	}
	if (ret) {
		fl_seterr(err, errlen, "cannot read snapshot %s@%s: %s", vol, snap, strerror(-ret));
		goto out;
	}
	ret = has_child(v->st, snap, child, sizeof(child));
	if (ret > 0) {
		fl_seterr(err, errlen,
			  "cannot remove snapshot %s@%s: clone %s (and maybe others) reads from "
			  "it (remove or flatten its clones first)",
			  vol, snap, child);
		ret = -EBUSY;
		goto out;
	}
	if (ret < 0) {
		fl_seterr(err, errlen, "cannot read the clones of snapshot %s@%s: %s", vol, snap,
			  strerror(-ret));
		goto out;
	}
	ret = remove_one(v->st, vol, snap, &r, err, errlen);
out:
	fl_volume_close(v);
	return ret;
}

static int any_cb(void *arg, const char *key, const void *val, size_t len)
{
	(void)val;
	(void)len;
	snprintf(arg, 160, "%s", key);
	return 1;
}

int fl_snap_remove_all(struct fl_volume *v, char *err, size_t errlen)
{
	struct snap_list l;
	char child[160] = "";
	bool more;
	int ret = v->st->ops->omap_list(v->st, FL_OID_CHILDREN, NULL, 1, any_cb, child, &more);

	if (ret < 0 && ret != -ENOENT) {
		fl_seterr(err, errlen, "cannot read the clones of volume %s: %s", v->super.name,
			  strerror(-ret));
		return ret;
	}
	if (child[0]) {
		fl_seterr(err, errlen,
			  "volume %s has clones (%s): remove or flatten them before its snapshots "
			  "go",
			  v->super.name, child);
		return -EBUSY;
	}
	ret = snaps_load(v->st, &l);

	if (ret && ret != -EIO) {
		fl_seterr(err, errlen, "cannot read the snapshots of volume %s: %s", v->super.name,
			  strerror(-ret));
		free(l.e);
		return ret;
	}
	ret = 0;
	for (size_t i = 0; !ret && i < l.n; i++)
		ret = remove_one(v->st, v->super.name, l.e[i].name, &l.e[i].r, err, errlen);
	free(l.e);
	return ret;
}

static int rb_list_cb(void *arg, const char *oid)
{
	if (!strcmp(oid, FL_OID_SNAPS) || !strcmp(oid, FL_OID_CHILDREN) ||
	    !strcmp(oid, FL_OID_SUPER))
		return 0;
	return fl_strv_add(arg, oid);
}

static int lockers_break_all(struct fl_store *st)
{
	struct fl_locker lk[8];
	int n = st->ops->list_lockers(st, FL_OID_SUPER, FL_LOCK_NAME, lk, 8, NULL, 0);

	for (int i = 0; i < n && i < 8; i++)
		st->ops->break_lock(st, FL_OID_SUPER, FL_LOCK_NAME, lk[i].client, lk[i].cookie);
	return n < 0 ? n : 0;
}

int fl_snap_rollback(struct fl_store *base, const char *vol, const char *snap, uint64_t *objects,
		     char *err, size_t errlen)
{
	struct fl_volume *v = NULL;
	struct fl_snap_rec r;
	struct fl_strv l = {0};
	const char *rm[1] = {"writer"};
	uint64_t seq;
	char lerr[512];
	int ret = fl_volume_open(base, vol, &v, err, errlen);

	*objects = 0;
	if (ret)
		return ret;
	ret = fl_snap_lookup(v, snap, &r);
	if (ret) {
		fl_seterr(err, errlen,
			  ret == -ENOENT ? "no such snapshot: %s@%s"
					 : "cannot read "
					   "snapshot %s@%s",
			  vol, snap);
		goto out;
	}
	if (r.state != FL_SNAP_OK) {
		fl_seterr(err, errlen, "snapshot %s@%s is being removed", vol, snap);
		ret = -ENOENT;
		goto out;
	}
	ret = fl_volume_lock(v, 120, false, lerr, sizeof(lerr));
	if (ret) {
		fl_seterr(err, errlen, "cannot roll volume %s back: %s", vol, lerr);
		goto out;
	}
	ret = fl_volume_reload_super(v);
	seq = v->super.snap_seq;
	if (!ret)
		ret = v->st->ops->list_objects(v->st, NULL, rb_list_cb, &l);
	for (size_t i = 0; !ret && i < l.n; i++) {
		ret = v->st->ops->snap_rollback(v->st, l.v[i], r.id);
		if (ret == -ENOENT)
			ret = 0;
		else if (!ret)
			(*objects)++;
		if (ret)
			fl_seterr(err, errlen, "cannot roll %s of volume %s back: %s", l.v[i], vol,
				  strerror(-ret));
	}
	if (ret) {
		if (!err[0])
			fl_seterr(err, errlen, "cannot list the objects of volume %s: %s", vol,
				  strerror(-ret));
		goto out;
	}
	/* super last: its data as then, snap_seq as now; the lock state it had then
	 * (a writer's lock, its writer record) goes, and so does ours */
	ret = v->st->ops->snap_rollback(v->st, FL_OID_SUPER, r.id);
	if (!ret)
		ret = fl_volume_reload_super(v);
	if (!ret) {
		if (v->super.snap_seq < seq)
			v->super.snap_seq = seq;
		ret = fl_volume_write_super(v);
	}
	if (!ret)
		ret = v->st->ops->omap_update(v->st, FL_OID_SUPER, NULL, 0, rm, 1, NULL, 0);
	if (!ret)
		ret = lockers_break_all(v->st);
	v->locked = false;
	if (ret)
		fl_seterr(err, errlen, "cannot roll the superblock of volume %s back: %s", vol,
			  strerror(-ret));
	else
		(*objects)++;
out:
	fl_strv_free(&l);
	fl_volume_close(v);
	return ret;
}

int fl_snap_open_at(struct fl_volume *v, const char *snap, char *err, size_t errlen)
{
	struct fl_snap_rec r;
	char name[FL_VOLNAME_MAX + 1];
	int ret = fl_snap_lookup(v, snap, &r);

	snprintf(name, sizeof(name), "%s", v->super.name);
	if (ret == -ENOENT) {
		fl_seterr(err, errlen, "no such snapshot: %s@%s", name, snap);
		return ret;
	}
	if (ret) {
		fl_seterr(err, errlen, "cannot read snapshot %s@%s: %s", name, snap,
			  strerror(-ret));
		return ret;
	}
	if (r.state != FL_SNAP_OK) {
		fl_seterr(err, errlen, "snapshot %s@%s is being removed", name, snap);
		return -ENOENT;
	}
	ret = v->st->ops->set_read_snap(v->st, r.id);
	if (!ret)
		ret = fl_volume_reload_super(v);
	if (ret)
		fl_seterr(err, errlen, "cannot read the superblock of snapshot %s@%s: %s", name,
			  snap, strerror(-ret));
	return ret;
}

/* --- the writer's request server --- */

struct fl_snap_server {
	struct fl_volume *v;
	struct fl_core *c;
	char *mountpoint;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop, busy, have;
	uint64_t notify_id;
	char req[512];
};

static void on_request(void *arg, uint64_t notify_id, const char *req, size_t len)
{
	struct fl_snap_server *s = arg;
	char ans[64];
	bool take;

	pthread_mutex_lock(&s->mu);
	take = !s->busy && !s->have && !s->stop && len < sizeof(s->req);
	if (take) {
		memcpy(s->req, req, len);
		s->req[len] = '\0';
		s->notify_id = notify_id;
		s->have = true;
		pthread_cond_signal(&s->cond);
	}
	pthread_mutex_unlock(&s->mu);
	if (!take) {
		int n = snprintf(ans, sizeof(ans), "err %d another snapshot is being taken", EBUSY);

		fl_volume_answer(s->v, notify_id, ans, (size_t)n);
	}
}

static void serve_one(struct fl_snap_server *s, uint64_t notify_id, char *req)
{
	struct fl_freeze_stats st = {0};
	struct fl_snap_rec r;
	char err[400], ans[512], *snap, *host;
	int ret, n;

	snap = strchr(req, '\n');
	host = snap ? strchr(snap + 1, '\n') : NULL;
	if (strncmp(req, SNAP_REQ_CREATE "\n", strlen(SNAP_REQ_CREATE) + 1) || !host) {
		n = snprintf(ans, sizeof(ans), "err %d unknown request", EINVAL);
		fl_volume_answer(s->v, notify_id, ans, (size_t)n);
		return;
	}
	*snap++ = '\0';
	*host++ = '\0';
	fl_notice("volume %s: snapshot %s requested by %s", s->v->super.name, snap, host);
	if (s->mountpoint) {
		/* the kernel's dirty pages into the core (outside the freeze: their
		 * write-back would wait for the thaw) */
		int fd = open(s->mountpoint, O_RDONLY | O_DIRECTORY);

		if (fd < 0 || syncfs(fd))
			fl_warn("volume %s: syncfs of %s before snapshot %s: %s", s->v->super.name,
				s->mountpoint, snap, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	ret = fl_snap_take_mounted(s->v, s->c, snap, host, &r, &st, err, sizeof(err));
	if (ret) {
		fl_err("volume %s: snapshot %s requested by %s: %s", s->v->super.name, snap, host,
		       err);
		n = snprintf(ans, sizeof(ans), "err %d %s", -ret, err);
	} else {
		fl_notice("volume %s: snapshot %s (id %" PRIu64 ") for %s: sync %lld ms, writers "
			  "held %lld ms (flush %lld, drain %lld, switch %lld)",
			  s->v->super.name, snap, r.id, host, (long long)st.sync_ms,
			  (long long)st.frozen_ms, (long long)st.flush_ms, (long long)st.drain_ms,
			  (long long)st.take_ms);
		n = snprintf(ans, sizeof(ans), "ok %" PRIu64 " %lld %lld", r.id,
			     (long long)st.frozen_ms, (long long)st.sync_ms);
	}
	fl_volume_answer(s->v, notify_id, ans, n > 0 && (size_t)n < sizeof(ans) ? (size_t)n : 0);
}

static void *serve_thread(void *arg)
{
	struct fl_snap_server *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		uint64_t id;
		char req[512];

		while (!s->have && !s->stop)
			pthread_cond_wait(&s->cond, &s->mu);
		if (s->stop)
			break;
		s->have = false;
		s->busy = true;
		id = s->notify_id;
		memcpy(req, s->req, sizeof(req));
		pthread_mutex_unlock(&s->mu);
		serve_one(s, id, req);
		pthread_mutex_lock(&s->mu);
		s->busy = false;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int fl_snap_serve(struct fl_volume *v, struct fl_core *c, const char *mountpoint,
		  struct fl_snap_server **out)
{
	struct fl_snap_server *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return -ENOMEM;
	if (mountpoint && !(s->mountpoint = strdup(mountpoint))) {
		free(s);
		return -ENOMEM;
	}
	s->v = v;
	s->c = c;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (pthread_create(&s->thread, NULL, serve_thread, s)) {
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cond);
		free(s->mountpoint);
		free(s);
		return -EAGAIN;
	}
	fl_volume_serve(v, on_request, s);
	*out = s;
	return 0;
}

void fl_snap_serve_stop(struct fl_snap_server *s)
{
	if (!s)
		return;
	fl_volume_serve(s->v, NULL, NULL);
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cond);
	free(s->mountpoint);
	free(s);
}
