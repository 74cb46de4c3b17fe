/*
 * flockerfs — the metadata journal, its commit thread, checkpoints and replay.
 *
 * Transactions are framed into core->jpending under core->lock; the commit
 * thread appends the whole buffer to the current segment "jrnl.<seq>" in one
 * RADOS append (group commit).  A checkpoint rolls to a new segment, writes
 * the changed directory entries and inodes to their omaps, then moves the
 * superblock's journal tail past the old segments and removes them.  Replay
 * applies every segment from the tail; it is idempotent, since each record
 * carries whole values, never deltas.  An append's record, sent while its
 * data was in flight, names the object lengths its size needs: replay stats
 * them, and the size goes back to the one before the append unless all of
 * it landed (rp_check_deps).
 */
#include "fs/core/core_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "flocker/log.h"
#include "fs/store/omap_util.h"

#define SEG_ROLL_BYTES (8u << 20)
#define CKPT_JBYTES    (32u << 20)
#define PENDING_HIGH   (16u << 20)

/* ---------- building transactions ---------- */

static struct fl_jop *txn_add(struct fl_txn *t, uint32_t kind)
{
	struct fl_jop *op;

	if (t->n >= FL_JOPS_MAX) {
		fl_crit("journal transaction overflow: %u ops", t->n);
		abort();
	}
	op = &t->ops[t->n];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	t->ip[t->n] = NULL;
	t->n++;
	return op;
}

void fl_txn_inode(struct fl_txn *t, struct fl_inode *ip)
{
	struct fl_jop *op = txn_add(t, FL_JOP_INODE_PUT);

	op->ino = ip->r.ino;
	t->ip[t->n - 1] = ip;
}

void fl_txn_dent(struct fl_txn *t, uint64_t dir, const char *name, uint64_t ino, uint32_t type)
{
	struct fl_jop *op = txn_add(t, FL_JOP_DENT_SET);

	op->ino = dir;
	op->name = (char *)name; /* borrowed until commit */
	op->dent.ino = ino;
	op->dent.type = type;
}

void fl_txn_undent(struct fl_txn *t, uint64_t dir, const char *name)
{
	struct fl_jop *op = txn_add(t, FL_JOP_DENT_DEL);

	op->ino = dir;
	op->name = (char *)name;
}

void fl_txn_simple(struct fl_txn *t, uint32_t kind, uint64_t ino)
{
	txn_add(t, kind)->ino = ino;
}

static void now_mono(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static int64_t ms_since(const struct timespec *a)
{
	struct timespec b;

	now_mono(&b);
	return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

/* The debug log names every transaction: "txn T: I<ino>=<size> D<ino> +<ino> -<ino> E<dir>/<name>
 * X<dir>/<name>" (inode put with its journaled size, inode delete, orphan mark added, removed,
 * entry set, entry removed). */
static void trace_txn(const struct fl_core *c, const struct fl_txn *t)
{
	char line[1024];
	size_t off = 0;
	uint32_t i;

	for (i = 0; i < t->n && off < sizeof(line) - 64; i++) {
		const struct fl_jop *op = &t->ops[i];
		int n = 0;

		switch (op->kind) {
		case FL_JOP_INODE_PUT:
			n = snprintf(line + off, sizeof(line) - off, " I%" PRIu64 "=%" PRIu64,
				     op->ino, t->ip[i] ? t->ip[i]->jsize : 0);
			break;
		case FL_JOP_INODE_DEL:
			n = snprintf(line + off, sizeof(line) - off, " D%" PRIu64, op->ino);
			break;
		case FL_JOP_ORPHAN_ADD:
		case FL_JOP_ORPHAN_DEL:
			n = snprintf(line + off, sizeof(line) - off, " %c%" PRIu64,
				     op->kind == FL_JOP_ORPHAN_ADD ? '+' : '-', op->ino);
			break;
		default:
			n = snprintf(line + off, sizeof(line) - off, " %c%" PRIu64 "/%.24s",
				     op->kind == FL_JOP_DENT_SET ? 'E' : 'X', op->ino,
				     op->name ? op->name : "");
		}
		if (n > 0)
			off += (size_t)n < sizeof(line) - off ? (size_t)n : 0;
	}
	line[off] = 0;
	fl_debug("txn %" PRIu64 ":%s", c->next_tid, line);
}

int fl_txn_commit(struct fl_core *c, struct fl_txn *t, uint64_t *tid)
{
	struct fl_jtxn j;
	struct fl_buf enc;
	uint32_t i;
	int ret;

	if (c->error)
		return -EIO;
	if (t->n == 0)
		return 0;
	fl_journal_room(c);
	for (i = 0; i < t->n; i++) {
		struct fl_inode *ip = t->ip[i];

		if (t->ops[i].kind == FL_JOP_ORPHAN_ADD) {
			struct fl_inode *mp = fl_ino_find(c, t->ops[i].ino);

			if (mp)
				mp->mark_tid = c->next_tid;
		}

		if (t->ops[i].kind == FL_JOP_DENT_SET) {
			/* a name of the file: fdatasync waits for it too, so that the
			 * file it acknowledges is found where it was (a create's or a
			 * rename's record) */
			struct fl_inode *np = fl_ino_find(c, t->ops[i].dent.ino);

			if (np)
				np->dtid = c->next_tid;
			if ((t->ops[i].dent.type & S_IFMT) == S_IFDIR)
				c->dir_dtid = c->next_tid;
		}
		if (ip) {
			t->ops[i].inode = ip->r; /* shallow: encoded right now */
			t->ops[i].inode.size = ip->jsize;
			/* an append in flight: its size holds only with its data */
			t->ops[i].deps = ip->deps;
			t->ops[i].ndeps = ip->ndeps;
			t->ops[i].grow_from = ip->grow_from;
			if (ip->r.nbmap > FL_BMAP_MAX_V1)
				c->super_step = true;
			ip->jtid = c->next_tid;
			fl_core_jaccount(c, ip); /* the counter below includes it */
			/* fdatasync waits only for records that a read of the data
			 * needs: the first one (a create) and size changes; the
			 * times that writes change ride along later */
			if (!ip->put_seen || ip->put_size != ip->jsize)
				ip->dtid = c->next_tid;
			ip->put_seen = true;
			ip->put_size = ip->jsize;
		}
	}
	if (fl_log_level >= LOG_DEBUG)
		trace_txn(c, t);
	j = (struct fl_jtxn){.version = FL_FORMAT_VERSION,
			     .tid = c->next_tid,
			     .next_ino = c->next_ino,
			     .used_bytes = c->jused_bytes,
			     .inodes = c->inodes,
			     .ops = t->ops,
			     .nops = t->n};
	fl_buf_init(&enc, FL_REC_MAX);
	ret = fl_jtxn_encode(&j, &enc);
	if (!ret) {
		if (c->jpending.len == 0)
			now_mono(&c->pending_since);
		ret = fl_jframe_put(&c->jpending, enc.data, enc.len);
	}
	fl_buf_free(&enc);
	if (ret) {
		fl_err("cannot journal a change (%u ops): %s; the volume goes read-only", t->n,
		       strerror(-ret));
		c->error = -EIO;
		pthread_cond_broadcast(&c->cond);
		return -EIO;
	}
	if (tid)
		*tid = c->next_tid;
	c->next_tid++;
	if (c->jpending.len > (1u << 20))
		pthread_cond_broadcast(&c->cond);
	return 0;
}

/*
 * Before the first record of more than FL_BMAP_MAX_V1 runs reaches RADOS:
 * the superblock says version 2 (FL_SUPER_VERSION), so that a binary that
 * knows only version 1 refuses the volume instead of reading such a record
 * as corrupt (and stopping its journal replay there).  One way: the volume
 * stays at version 2.  The commit thread (or the unmount's checkpoint),
 * without c->lock, as plan_write.
 */
static int step_super(struct fl_core *c)
{
	uint32_t old = c->v->super.version;
	int ret;

	if (old >= FL_SUPER_VERSION)
		return 0;
	c->v->super.version = FL_SUPER_VERSION;
	ret = fl_volume_write_super(c->v);
	if (ret) {
		c->v->super.version = old;
		fl_err("cannot write the superblock of volume %s at version %d: %s",
		       c->v->super.name, FL_SUPER_VERSION, strerror(-ret));
		return ret;
	}
	fl_notice("volume %s: superblock at version %d (a file maps more than %d runs of "
		  "blocks): binaries that know only version 1 refuse the volume from now on",
		  c->v->super.name, FL_SUPER_VERSION, FL_BMAP_MAX_V1);
	return 0;
}

/* Appends what is pending.  Called by the commit thread with c->lock held; drops it. */
static int commit_pending(struct fl_core *c)
{
	struct fl_buf b = c->jpending;
	uint64_t last = c->next_tid - 1, seg = c->jseg;
	char oid[FL_OID_LEN];
	bool step;
	int ret;

	if (b.len == 0 || c->error)
		return c->error;
	fl_buf_init(&c->jpending, b.max);
	c->commit_now = false;
	step = c->super_step;
	pthread_mutex_unlock(&c->lock);
	fl_oid_jrnl(oid, seg);
	ret = step ? step_super(c) : 0;
	if (!ret)
		ret = c->st->ops->append(c->st, oid, b.data, b.len);
	pthread_mutex_lock(&c->lock);
	if (ret) {
		fl_err("cannot append to journal %s: %s; the volume goes read-only", oid,
		       strerror(-ret));
		c->error = -EIO;
	} else {
		fl_debug("journal: durable up to txn %" PRIu64 " (segment %" PRIu64 ")", last, seg);
		c->committed_tid = last;
		c->jseg_bytes += b.len;
		c->jbytes_since_ckpt += b.len;
		if (c->jseg_bytes >= SEG_ROLL_BYTES) {
			c->jseg++;
			c->jseg_bytes = 0;
		}
	}
	fl_buf_free(&b);
	pthread_cond_broadcast(&c->cond);
	return ret ? -EIO : 0;
}

void fl_journal_room(struct fl_core *c)
{
	/* back-pressure: the commit thread is behind */
	while (c->jpending.len > PENDING_HIGH && !c->error) {
		c->commit_now = true;
		pthread_cond_broadcast(&c->cond);
		pthread_cond_wait(&c->cond, &c->lock);
	}
}

int fl_journal_wait(struct fl_core *c, uint64_t tid)
{
	while (c->committed_tid < tid && !c->error) {
		c->commit_now = true;
		pthread_cond_broadcast(&c->cond);
		pthread_cond_wait(&c->cond, &c->lock);
	}
	return c->committed_tid >= tid ? 0 : -EIO;
}

/* ---------- checkpoint ---------- */

struct ck_obj {
	char oid[FL_OID_LEN];
	struct fl_kv *set;
	size_t nset, capset;
	char **rm;
	size_t nrm, caprm;
};

struct ck_plan {
	struct ck_obj *objs;
	size_t n, cap;
	uint64_t *rmobjs; /* dir objects to remove */
	size_t nrmobjs, caprmobjs;
	uint64_t newseg, oldtail;
	struct fl_super_rec super;
	bool super_step; /* an itab record of more than FL_BMAP_MAX_V1 runs */
};

static struct ck_obj *plan_obj(struct ck_plan *p, const char *oid)
{
	struct ck_obj *o;

	if (p->n && !strcmp(p->objs[p->n - 1].oid, oid))
		return &p->objs[p->n - 1];
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 16;
		struct ck_obj *n = realloc(p->objs, ncap * sizeof(*n));

		if (!n)
			return NULL;
		p->objs = n;
		p->cap = ncap;
	}
	o = &p->objs[p->n++];
	memset(o, 0, sizeof(*o));
	snprintf(o->oid, sizeof(o->oid), "%s", oid);
	return o;
}

static int obj_set(struct ck_obj *o, const char *key, struct fl_buf *val)
{
	char *k;

	if (o->nset == o->capset) {
		size_t ncap = o->capset ? o->capset * 2 : 16;
		struct fl_kv *n = realloc(o->set, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		o->set = n;
		o->capset = ncap;
	}
	k = strdup(key);
	if (!k)
		return -ENOMEM;
	o->set[o->nset].key = k;
	o->set[o->nset].val = val->data; /* takes the buffer */
	o->set[o->nset].len = val->len;
	o->nset++;
	val->data = NULL;
	val->len = val->cap = 0;
	return 0;
}

static int obj_rm(struct ck_obj *o, const char *key)
{
	char *k;

	if (o->nrm == o->caprm) {
		size_t ncap = o->caprm ? o->caprm * 2 : 16;
		char **n = realloc(o->rm, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		o->rm = n;
		o->caprm = ncap;
	}
	k = strdup(key);
	if (!k)
		return -ENOMEM;
	o->rm[o->nrm++] = k;
	return 0;
}

static void plan_free(struct ck_plan *p)
{
	size_t i, j;

	for (i = 0; i < p->n; i++) {
		for (j = 0; j < p->objs[i].nset; j++) {
			free((char *)p->objs[i].set[j].key);
			free((void *)p->objs[i].set[j].val);
		}
		for (j = 0; j < p->objs[i].nrm; j++)
			free(p->objs[i].rm[j]);
		free(p->objs[i].set);
		free(p->objs[i].rm);
	}
	free(p->objs);
	free(p->rmobjs);
}

static int cmp_ino(const void *a, const void *b)
{
	const struct fl_inode *x = *(struct fl_inode *const *)a, *y = *(struct fl_inode *const *)b;

	return x->r.ino < y->r.ino ? -1 : x->r.ino > y->r.ino;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Encodes one inode as the journal would (size = jsize). */
static int enc_inode(const struct fl_inode *ip, struct fl_buf *b)
{
	struct fl_inode_rec r = ip->r;

	r.size = ip->jsize;
	if (ip->jmap_saved) {
		/* the map as journaled: the one the usage counter counts */
		r.bmap = ip->jmap;
		r.nbmap = ip->njmap;
	}
	return fl_inode_encode(&r, b);
}

/* Snapshot of everything changed since the last checkpoint; under c->lock. */
/* The changed entries of one directory (sorted; each name once); frees the
 * list of changed names. */
static int plan_dir(struct ck_plan *p, struct fl_inode *dip, struct fl_buf *b)
{
	struct fl_dir *d = dip->dir;
	char oid[FL_OID_LEN];
	struct ck_obj *o;
	size_t k;
	int ret = 0;

	d->ck_listed = false;
	if (dip->deleted || dip->r.nlink == 0)
		goto out;
	fl_oid_dir(oid, dip->r.ino);
	o = plan_obj(p, oid);
	if (!o) {
		ret = -ENOMEM;
		goto out;
	}
	if (d->nck)
		qsort(d->ck_names, d->nck, sizeof(char *), cmp_str);
	for (k = 0; k < d->nck && !ret; k++) {
		struct fl_dentry *de;

		if (k && !strcmp(d->ck_names[k], d->ck_names[k - 1]))
			continue;
		de = fl_dir_find(d, d->ck_names[k]);
		if (de && de->ino == 0)
			continue; /* a corrupt entry stays as it is on disk */
		if (de) {
			struct fl_dirent_rec r = {de->ino, de->type};

			fl_buf_reset(b);
			ret = fl_dirent_encode(&r, b);
			if (!ret)
				ret = obj_set(o, de->name, b);
		} else {
			ret = obj_rm(o, d->ck_names[k]);
		}
	}
out:
	for (k = 0; k < d->nck; k++)
		free(d->ck_names[k]);
	d->nck = 0;
	return ret;
}

/* The orphan list: the present state of every inode named since the last
 * checkpoint. */
static int plan_orphans(struct fl_core *c, struct ck_plan *p, struct fl_buf *b)
{
	struct ck_obj *o = plan_obj(p, FL_OID_ORPHAN);
	char key[17];
	size_t i;
	int ret = 0;

	if (!o)
		ret = -ENOMEM;
	if (c->n_orph_add)
		qsort(c->ck_orph_add, c->n_orph_add, sizeof(uint64_t), cmp_u64);
	for (i = 0; o && i < c->n_orph_add && !ret; i++) {
		struct fl_inode *oip = fl_ino_find(c, c->ck_orph_add[i]);

		if (i && c->ck_orph_add[i] == c->ck_orph_add[i - 1])
			continue;
		fl_ino_key(key, c->ck_orph_add[i]);
		if (oip && !oip->deleted && (oip->r.nlink == 0 || oip->trim_mark)) {
			fl_buf_reset(b);
			ret = fl_buf_append(b, "-", 1);
			ret = ret ? ret : obj_set(o, key, b);
		} else {
			ret = obj_rm(o, key);
		}
	}
	return ret;
}

static int plan_build(struct fl_core *c, struct ck_plan *p)
{
	struct fl_inode **arr = NULL, *ip, *next;
	size_t n = 0, i;
	char oid[FL_OID_LEN], key[17];
	struct fl_buf b;
	int ret = 0;

	fl_buf_init(&b, FL_REC_MAX);
	for (ip = c->ck_inodes; ip; ip = ip->ck_next)
		n++;
	arr = malloc((n ? n : 1) * sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	n = 0;
	for (ip = c->ck_inodes; ip; ip = next) {
		next = ip->ck_next;
		ip->ck_dirty = false;
		arr[n++] = ip;
	}
	c->ck_inodes = NULL;
	if (n)
		qsort(arr, n, sizeof(*arr), cmp_ino);
	for (i = 0; i < n && !ret; i++) {
		struct ck_obj *o;

		ip = arr[i];
		fl_oid_itab(oid, ip->r.ino >> FL_ITAB_SHARD_BITS);
		fl_ino_key(key, ip->r.ino);
		o = plan_obj(p, oid);
		if (!o) {
			ret = -ENOMEM;
			break;
		}
		if (ip->deleted) {
			ret = obj_rm(o, key);
		} else {
			if ((ip->jmap_saved ? ip->njmap : ip->r.nbmap) > FL_BMAP_MAX_V1)
				p->super_step = true;
			fl_buf_reset(&b);
			ret = enc_inode(ip, &b);
			if (!ret)
				ret = obj_set(o, key, &b);
		}
	}
	/* directories */
	for (i = 0; i < c->nck_dirs && !ret; i++)
		ret = plan_dir(p, c->ck_dirs[i], &b);
	c->nck_dirs = 0;
	/* orphans: the present state of every inode named since the last checkpoint */
	if (!ret && c->n_orph_add)
		ret = plan_orphans(c, p, &b);
	c->n_orph_add = 0;
	p->rmobjs = c->ck_rmdirs;
	p->nrmobjs = c->n_rmdirs;
	c->ck_rmdirs = NULL;
	c->n_rmdirs = c->rmdirs_cap = 0;
	/* deleted inodes leave memory now: nothing references them any more */
	for (i = 0; i < n; i++) {
		ip = arr[i];
		if (ip->deleted)
			fl_core_free_deleted(c, ip);
	}
	free(arr);
	fl_buf_free(&b);
	p->super = c->v->super;
	p->super.next_ino = c->next_ino;
	p->super.used_bytes = c->jused_bytes;
	p->super.inodes = c->inodes;
	return ret;
}

static int plan_write(struct fl_core *c, struct ck_plan *p)
{
	size_t i;
	uint64_t s;
	char oid[FL_OID_LEN];
	int ret = 0;

	if (p->super_step) {
		ret = step_super(c); /* journaled before, so done already but for a fault */
		if (ret)
			return ret;
	}
	for (i = 0; i < p->n && !ret; i++) {
		struct ck_obj *o = &p->objs[i];

		ret = c->st->ops->omap_update(c->st, o->oid, o->set, o->nset,
					      (const char *const *)o->rm, o->nrm, NULL, 0);
		if (ret)
			fl_err("checkpoint: cannot update %s: %s", o->oid, strerror(-ret));
	}
	for (i = 0; i < p->nrmobjs && !ret; i++) {
		fl_oid_dir(oid, p->rmobjs[i]);
		ret = c->st->ops->remove(c->st, oid);
		if (ret == -ENOENT)
			ret = 0;
	}
	if (ret)
		return ret;
	p->super.jtail = p->newseg;
	if (p->super.version < c->v->super.version)
		p->super.version = c->v->super.version; /* stepped after plan_build */
	{
		struct fl_super_rec old = c->v->super;

		c->v->super = p->super;
		ret = fl_volume_write_super(c->v);
		if (ret) {
			c->v->super = old;
			fl_err("checkpoint: cannot write the superblock: %s", strerror(-ret));
			return ret;
		}
	}
	for (s = p->oldtail; s < p->newseg; s++) {
		fl_oid_jrnl(oid, s);
		c->st->ops->remove(c->st, oid);
	}
	/* A daemon killed in the loop above left segments just below the old
	 * tail, which no later checkpoint would name: remove them now, down to
	 * the first one that is gone (one extra round trip when none are left). */
	for (s = p->oldtail; s > 0 && p->oldtail - s < 4096; s--) {
		fl_oid_jrnl(oid, s - 1);
		if (c->st->ops->remove(c->st, oid))
			break;
	}
	return 0;
}

/* Called by the commit thread (or at unmount) without c->lock. */
int fl_checkpoint(struct fl_core *c)
{
	struct ck_plan p = {0};
	int ret;

	pthread_mutex_lock(&c->lock);
	if (c->o.ro || c->error) {
		pthread_mutex_unlock(&c->lock);
		return c->error;
	}
	/* an append in flight with its record: the inode table must not get a
	 * size its data may never back (the journal's record says what it
	 * needs; the table could not).  Its data lands without this thread,
	 * and no other starts meanwhile (data.c append_only). */
	c->ckpt_waiting = true;
	while (c->nfast && !c->error)
		pthread_cond_wait(&c->cond, &c->lock);
	c->ckpt_waiting = false;
	if (c->error) {
		pthread_mutex_unlock(&c->lock);
		return c->error;
	}
	p.oldtail = c->v->super.jtail;
	if (c->jseg_bytes || c->jpending.len) {
		c->jseg++;
		c->jseg_bytes = 0;
	}
	p.newseg = c->jseg;
	ret = plan_build(c, &p);
	c->jbytes_since_ckpt = 0;
	clock_gettime(CLOCK_MONOTONIC, &c->last_ckpt);
	/* what the snapshot saw must be durable before the omaps show it */
	if (!ret)
		ret = commit_pending(c);
	pthread_mutex_unlock(&c->lock);
	if (!ret)
		ret = plan_write(c, &p);
	plan_free(&p);
	if (ret) {
		pthread_mutex_lock(&c->lock);
		fl_err("checkpoint failed: %s; the volume goes read-only, the journal keeps every change",
		       strerror(-ret));
		c->error = -EIO;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
	}
	return ret;
}

/* ---------- the commit thread ---------- */

static void *commit_thread(void *arg)
{
	struct fl_core *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		bool ckpt_due;

		ckpt_due = !c->o.ro && !c->error &&
			   (c->jbytes_since_ckpt >= CKPT_JBYTES ||
			    (ms_since(&c->last_ckpt) >= (int64_t)c->o.checkpoint_s * 1000 &&
			     (c->ck_inodes || c->nck_dirs)));
		if (c->abandon)
			break;
		if (c->error && c->jpending.len) {
			/* nothing more reaches RADOS: drop it, waiters see the error */
			fl_buf_reset(&c->jpending);
			pthread_cond_broadcast(&c->cond);
		}
		if (c->jpending.len &&
		    (c->commit_now || c->stop || c->npurge || c->jpending.len > (1u << 20) ||
		     ms_since(&c->pending_since) >= c->o.commit_ms)) {
			commit_pending(c);
			continue;
		}
		/* a purge deletes data: only once the unlink that allows it is durable,
		 * i.e. with nothing pending (the branch above commits first) */
		if (c->npurge && !c->error && !c->jpending.len) {
			fl_core_purge_round(c);
			continue;
		}
		if (ckpt_due) {
			pthread_mutex_unlock(&c->lock);
			fl_checkpoint(c);
			pthread_mutex_lock(&c->lock);
			continue;
		}
		if (c->stop)
			break;
		fl_core_wait_ms(c, &c->cond, 100);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int fl_core_worker_start(struct fl_core *c, pthread_t *t, void *(*fn)(void *), bool *started)
{
	int ret = -pthread_create(t, NULL, fn, c);

	if (!ret)
		*started = true;
	return ret;
}

void fl_core_worker_stop(struct fl_core *c, pthread_t t, bool *stop, bool *started)
{
	if (!*started)
		return;
	pthread_mutex_lock(&c->lock);
	*stop = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(t, NULL);
	*started = false;
}

int fl_journal_start(struct fl_core *c)
{
	clock_gettime(CLOCK_MONOTONIC, &c->last_ckpt);
	return fl_core_worker_start(c, &c->thread, commit_thread, &c->thread_started);
}

void fl_journal_stop(struct fl_core *c)
{
	if (!c->thread_started)
		return;
	fl_core_worker_stop(c, c->thread, &c->stop, &c->thread_started);
	if (!c->o.ro && !c->abandon)
		fl_checkpoint(c);
}

/* ---------- replay ---------- */

struct rp_inode {
	uint64_t ino, seq;
	bool del;
	struct fl_inode_rec r;
	uint64_t grow_from; /* an append's record: see rp_check_deps */
	struct fl_jdep *deps;
	uint32_t ndeps;
};

struct rp_dent {
	uint64_t dir, seq;
	char *name;
	bool del;
	struct fl_dirent_rec d;
};

struct rp_orph {
	uint64_t ino, seq;
	bool del;
};

struct fl_replay {
	struct rp_inode *in;
	size_t nin, capin;
	struct rp_dent *de;
	size_t nde, capde;
	struct rp_orph *orph;
	size_t norph, caporph;
	uint64_t seq;
	bool have_txn;
	uint64_t last_tid, next_ino, used_bytes, inodes;
};

#define GROW(arr, n, cap)                                                                          \
	((n) < (cap) ? 0                                                                           \
		     : ((cap) = (cap) ? (cap)*2 : 64,                                              \
			(arr) = reallocarray_or_null((arr), (cap), sizeof(*(arr))),                \
			(arr) ? 0 : -ENOMEM))

static void *reallocarray_or_null(void *p, size_t n, size_t sz)
{
	void *q = reallocarray(p, n, sz);

	if (!q)
		free(p);
	return q;
}

static int rp_apply(struct fl_replay *rp, struct fl_jtxn *t)
{
	uint32_t i;

	for (i = 0; i < t->nops; i++) {
		struct fl_jop *op = &t->ops[i];

		rp->seq++;
		switch (op->kind) {
		case FL_JOP_INODE_PUT:
		case FL_JOP_INODE_DEL: {
			struct rp_inode *e;

			if (GROW(rp->in, rp->nin, rp->capin))
				return -ENOMEM;
			e = &rp->in[rp->nin++];
			memset(e, 0, sizeof(*e));
			e->seq = rp->seq;
			if (op->kind == FL_JOP_INODE_PUT) {
				e->ino = op->inode.ino;
				e->r = op->inode; /* take ownership */
				memset(&op->inode, 0, sizeof(op->inode));
				e->grow_from = op->grow_from;
				e->deps = op->deps;
				e->ndeps = op->ndeps;
				op->deps = NULL;
				op->ndeps = 0;
			} else {
				e->ino = op->ino;
				e->del = true;
			}
			break;
		}
		case FL_JOP_DENT_SET:
		case FL_JOP_DENT_DEL: {
			struct rp_dent *e;

			if (GROW(rp->de, rp->nde, rp->capde))
				return -ENOMEM;
			e = &rp->de[rp->nde++];
			memset(e, 0, sizeof(*e));
			e->seq = rp->seq;
			e->dir = op->ino;
			e->name = op->name;
			op->name = NULL;
			e->del = op->kind == FL_JOP_DENT_DEL;
			e->d = op->dent;
			break;
		}
		case FL_JOP_ORPHAN_ADD:
		case FL_JOP_ORPHAN_DEL: {
			struct rp_orph *e;

			if (GROW(rp->orph, rp->norph, rp->caporph))
				return -ENOMEM;
			e = &rp->orph[rp->norph++];
			e->ino = op->ino;
			e->seq = rp->seq;
			e->del = op->kind == FL_JOP_ORPHAN_DEL;
			break;
		}
		default:
			fl_warn("journal: unknown op kind %u skipped", op->kind);
		}
	}
	rp->have_txn = true;
	rp->last_tid = t->tid;
	rp->next_ino = t->next_ino;
	rp->used_bytes = t->used_bytes;
	rp->inodes = t->inodes;
	return 0;
}

static int cmp_rp_inode(const void *a, const void *b)
{
	const struct rp_inode *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_rp_dent(const void *a, const void *b)
{
	const struct rp_dent *x = a, *y = b;
	int r;

	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	r = strcmp(x->name, y->name);
	if (r)
		return r;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_rp_orph(const void *a, const void *b)
{
	const struct rp_orph *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorts and keeps the last record per key; dent order within a dir is kept for ro overlays. */
static void rp_finish(struct fl_replay *rp)
{
	size_t i, j;

	if (rp->nin)
		qsort(rp->in, rp->nin, sizeof(*rp->in), cmp_rp_inode);
	for (i = 0, j = 0; i < rp->nin; i++) {
		if (i + 1 < rp->nin && rp->in[i + 1].ino == rp->in[i].ino) {
			fl_inode_rec_free(&rp->in[i].r);
			free(rp->in[i].deps);
			continue;
		}
		rp->in[j++] = rp->in[i];
	}
	rp->nin = j;
	if (rp->nde)
		qsort(rp->de, rp->nde, sizeof(*rp->de), cmp_rp_dent);
	for (i = 0, j = 0; i < rp->nde; i++) {
		if (i + 1 < rp->nde && rp->de[i + 1].dir == rp->de[i].dir &&
		    !strcmp(rp->de[i + 1].name, rp->de[i].name)) {
			free(rp->de[i].name);
			continue;
		}
		rp->de[j++] = rp->de[i];
	}
	rp->nde = j;
	if (rp->norph)
		qsort(rp->orph, rp->norph, sizeof(*rp->orph), cmp_rp_orph);
	for (i = 0, j = 0; i < rp->norph; i++) {
		if (i + 1 < rp->norph && rp->orph[i + 1].ino == rp->orph[i].ino)
			continue;
		rp->orph[j++] = rp->orph[i];
	}
	rp->norph = j;
}

static void rp_free(struct fl_replay *rp)
{
	size_t i;

	if (!rp)
		return;
	for (i = 0; i < rp->nin; i++) {
		fl_inode_rec_free(&rp->in[i].r);
		free(rp->in[i].deps);
	}
	for (i = 0; i < rp->nde; i++)
		free(rp->de[i].name);
	free(rp->in);
	free(rp->de);
	free(rp->orph);
	free(rp);
}

void fl_overlay_free(struct fl_core *c)
{
	rp_free(c->overlay);
	c->overlay = NULL;
}

int fl_jseg_read(struct fl_store *st, uint64_t seg, char **data, size_t *len)
{
	char oid[FL_OID_LEN];

	fl_oid_jrnl(oid, seg);
	return fl_obj_read_all(st, oid, 128u << 20, data, len);
}

int fl_jseg_next(const char *data, size_t len, size_t *off, struct fl_jtxn *t)
{
	const void *pl;
	size_t plen;
	ssize_t fr;

	memset(t, 0, sizeof(*t));
	if (*off >= len)
		return 0;
	fr = fl_jframe_next(data + *off, len - *off, &pl, &plen);
	if (fr == 0)
		return 0;
	if (fr < 0)
		return -EIO;
	if (fl_jtxn_decode(pl, plen, t))
		return -EBADMSG;
	*off += (size_t)fr;
	return 1;
}

static int rp_load(struct fl_core *c, struct fl_replay *rp, uint64_t *endseg, char *err,
		   size_t errlen)
{
	uint64_t seg = c->v->super.jtail;
	int ret = 0;

	for (;; seg++) {
		char *data = NULL;
		size_t len = 0, off = 0;

		ret = fl_jseg_read(c->st, seg, &data, &len);
		if (ret == -ENOENT) {
			ret = 0;
			break;
		}
		if (ret) {
			snprintf(err, errlen, "cannot read journal segment %" PRIu64 ": %s", seg,
				 strerror(-ret));
			break;
		}
		for (;;) {
			struct fl_jtxn t;
			int r = fl_jseg_next(data, len, &off, &t);

			if (r == 0)
				break;
			if (r == -EIO) {
				fl_err("journal segment %" PRIu64
				       " is torn or corrupt at offset %zu: replay stops there",
				       seg, off);
				break;
			}
			if (r < 0) {
				fl_err("journal record at segment %" PRIu64
				       " offset %zu is corrupt: replay stops there",
				       seg, off);
				break;
			}
			ret = rp_apply(rp, &t);
			fl_jtxn_free(&t);
			if (ret)
				break;
		}
		free(data);
		if (ret)
			break;
	}
	*endseg = seg;
	return ret;
}

static int rp_write(struct fl_core *c, struct fl_replay *rp)
{
	struct ck_plan p = {0};
	char oid[FL_OID_LEN], key[17];
	struct fl_buf b;
	size_t i;
	int ret = 0;

	fl_buf_init(&b, FL_REC_MAX);
	for (i = 0; i < rp->nin && !ret; i++) {
		struct ck_obj *o;

		fl_oid_itab(oid, rp->in[i].ino >> FL_ITAB_SHARD_BITS);
		fl_ino_key(key, rp->in[i].ino);
		o = plan_obj(&p, oid);
		if (!o) {
			ret = -ENOMEM;
			break;
		}
		if (rp->in[i].del) {
			ret = obj_rm(o, key);
			if (!ret && GROW(p.rmobjs, p.nrmobjs, p.caprmobjs))
				ret = -ENOMEM;
			/* a deleted directory's object goes too (missing is fine) */
			if (!ret)
				p.rmobjs[p.nrmobjs++] = rp->in[i].ino;
		} else {
			fl_buf_reset(&b);
			ret = fl_inode_encode(&rp->in[i].r, &b);
			if (!ret)
				ret = obj_set(o, key, &b);
			if (!ret && S_ISDIR(rp->in[i].r.mode) && rp->in[i].r.nlink) {
				/* a directory made since the checkpoint may have no entries */
				char doid[FL_OID_LEN];

				fl_oid_dir(doid, rp->in[i].ino);
				ret = c->st->ops->omap_update(c->st, doid, NULL, 0, NULL, 0, NULL,
							      0);
			}
		}
	}
	for (i = 0; i < rp->nde && !ret; i++) {
		struct ck_obj *o;

		fl_oid_dir(oid, rp->de[i].dir);
		o = plan_obj(&p, oid);
		if (!o) {
			ret = -ENOMEM;
			break;
		}
		if (rp->de[i].del) {
			ret = obj_rm(o, rp->de[i].name);
		} else {
			fl_buf_reset(&b);
			ret = fl_dirent_encode(&rp->de[i].d, &b);
			if (!ret)
				ret = obj_set(o, rp->de[i].name, &b);
		}
	}
	if (rp->norph && !ret) {
		struct ck_obj *o = plan_obj(&p, FL_OID_ORPHAN);

		for (i = 0; o && i < rp->norph && !ret; i++) {
			fl_ino_key(key, rp->orph[i].ino);
			if (rp->orph[i].del) {
				ret = obj_rm(o, key);
			} else {
				fl_buf_reset(&b);
				ret = fl_buf_append(&b, "-", 1);
				ret = ret ? ret : obj_set(o, key, &b);
			}
		}
		if (!o)
			ret = -ENOMEM;
	}
	fl_buf_free(&b);
	p.super = c->v->super;
	p.super.next_ino = c->next_ino;
	p.super.used_bytes = c->jused_bytes;
	p.super.inodes = c->inodes;
	p.oldtail = c->v->super.jtail;
	p.newseg = c->jseg;
	if (!ret)
		ret = plan_write(c, &p);
	plan_free(&p);
	return ret;
}

/*
 * The last record of an inode may be an append's, sent while its data was in
 * flight (data.c flush_early): its size holds only if every object it names
 * is at least as long as it says (each object's write is one atomic op, and
 * no object of the file held bytes there before).  If one is shorter, the
 * append did not land whole, and the file gets the size it had before it
 * (FORMAT.md "Appends journaled with their data"): all of an append or none
 * of it, as the order data-then-record gives.  What landed past that size is
 * the trim's at mount (the file is on the orphan list).
 */
static int rp_check_deps(struct fl_core *c, struct fl_replay *rp, struct rp_inode *e)
{
	uint64_t bs = c->v->super.block_size, have = 0, used;
	char oid[FL_OID_LEN];
	uint32_t k;
	int ret;

	if (!e->ndeps || e->del || e->grow_from >= e->r.size)
		return 0;
	for (k = 0; k < e->ndeps; k++) {
		fl_oid_data(oid, e->ino, e->deps[k].index);
		ret = c->st->ops->stat(c->st, oid, &have);
		if (ret == -ENOENT)
			have = 0;
		else if (ret)
			return ret;
		if (have < e->deps[k].len)
			break;
	}
	if (k == e->ndeps)
		return 0;
	fl_notice("volume %s: inode %" PRIu64 ": an append was not written back whole before the "
		  "crash (object %" PRIu64 " has %" PRIu64 " bytes, not %" PRIu64 "): size %" PRIu64
		  ", not %" PRIu64,
		  c->v->super.name, e->ino, e->deps[k].index, have, e->deps[k].len, e->grow_from,
		  e->r.size);
	/* the volume's counter after the last transaction counts this inode
	 * as its last record does: as the record is now */
	used = fl_bmap_used(&e->r, e->r.size, bs) - fl_bmap_used(&e->r, e->grow_from, bs);
	rp->used_bytes = rp->used_bytes > used ? rp->used_bytes - used : 0;
	e->r.size = e->grow_from;
	return 0;
}

static int orphans_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct fl_core *c = arg;
	uint64_t ino = strtoull(key, NULL, 16);

	(void)val;
	(void)len;
	if (c->npurge == c->purge_cap) {
		size_t ncap = c->purge_cap ? c->purge_cap * 2 : 16;
		uint64_t *n = realloc(c->purge, ncap * sizeof(*n));

		if (!n)
			return 0;
		c->purge = n;
		c->purge_cap = ncap;
	}
	c->purge[c->npurge++] = ino | FL_PURGE_SCAN;
	return 0;
}

int fl_journal_replay(struct fl_core *c, char *err, size_t errlen)
{
	struct fl_replay *rp = calloc(1, sizeof(*rp));
	uint64_t endseg = 0;
	bool more;
	int ret;

	if (!rp)
		return -ENOMEM;
	ret = rp_load(c, rp, &endseg, err, errlen);
	if (ret)
		goto out;
	rp_finish(rp);
	for (size_t i = 0; i < rp->nin && !ret; i++)
		ret = rp_check_deps(c, rp, &rp->in[i]);
	if (ret) {
		snprintf(err, errlen, "cannot check the data of an append in the journal: %s",
			 strerror(-ret));
		goto out;
	}
	if (rp->have_txn) {
		c->next_ino = rp->next_ino > c->next_ino ? rp->next_ino : c->next_ino;
		c->used_bytes = c->jused_bytes = rp->used_bytes;
		c->inodes = rp->inodes;
		fl_notice("volume %s: replayed %zu inode and %zu entry changes from the journal",
			  c->v->super.name, rp->nin, rp->nde);
	}
	c->next_tid = rp->last_tid + 1;
	c->committed_tid = rp->last_tid;
	c->jseg = endseg;
	if (c->o.ro) {
		c->overlay = rp;
		rp = NULL;
		goto out;
	}
	if (rp->have_txn || endseg != c->v->super.jtail) {
		ret = rp_write(c, rp);
		if (ret) {
			snprintf(err, errlen, "cannot apply the journal of volume %s: %s",
				 c->v->super.name, strerror(-ret));
			goto out;
		}
	}
	/* inodes unlinked while open when the last writer stopped */
	ret = c->st->ops->omap_list(c->st, FL_OID_ORPHAN, NULL, UINT32_MAX, orphans_cb, c, &more);
	if (ret == -ENOENT)
		ret = 0;
	if (ret)
		snprintf(err, errlen, "cannot read the orphan list: %s", strerror(-ret));
out:
	rp_free(rp);
	return ret;
}

/* ---------- read-only overlay lookups ---------- */

int fl_overlay_inode(struct fl_core *c, uint64_t ino, struct fl_inode_rec *r, bool *deleted)
{
	struct fl_replay *rp = c->overlay;
	size_t lo = 0, hi;

	if (!rp)
		return -ENOENT;
	hi = rp->nin;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (rp->in[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= rp->nin || rp->in[lo].ino != ino)
		return -ENOENT;
	if (rp->in[lo].del) {
		*deleted = true;
		return 0;
	}
	fl_inode_rec_free(r);
	return fl_inode_rec_copy(r, &rp->in[lo].r);
}

int fl_overlay_dir(struct fl_core *c, uint64_t ino, struct fl_dir *d)
{
	struct fl_replay *rp = c->overlay;
	size_t i;

	for (i = 0; rp && i < rp->nde; i++) {
		struct fl_dentry *de;

		if (rp->de[i].dir != ino)
			continue;
		de = fl_dir_find(d, rp->de[i].name);
		if (de)
			fl_dir_remove(d, de);
		if (!rp->de[i].del &&
		    fl_dir_insert(d, rp->de[i].name, rp->de[i].d.ino, rp->de[i].d.type))
			return -ENOMEM;
	}
	return 0;
}

int fl_overlay_walk(struct fl_core *c, const struct fl_overlay_walk *w)
{
	struct fl_replay *rp = c->overlay;
	size_t i;
	int ret = 0;

	for (i = 0; rp && i < rp->nin && !ret; i++)
		ret = w->inode(w->arg, rp->in[i].ino, rp->in[i].del ? NULL : &rp->in[i].r);
	for (i = 0; rp && i < rp->nde && !ret; i++)
		ret = w->dent(w->arg, rp->de[i].dir, rp->de[i].name,
			      rp->de[i].del ? NULL : &rp->de[i].d);
	for (i = 0; rp && i < rp->norph && !ret; i++)
		ret = w->orphan(w->arg, rp->orph[i].ino, !rp->orph[i].del);
	return ret;
}
