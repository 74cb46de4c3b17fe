/* flockerfs — offline consistency check and repair of a volume (see fsck.h). */
#include "fs/volume/fsck.h"
#include "fs/volume/snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs/core/core.h"
#include "fs/core/core_int.h"
#include "flocker/buf.h"
#include "flocker/log.h"
#include "flocker/record.h"
#include "fs/store/omap_util.h"
#include "fs/store/store_layer.h"
#include "fs/volume/clone.h"
#include "fs/volume/volume.h"

struct fi {
	uint64_t ino;
	struct fl_inode_rec r;
	uint32_t refs;	  /* entries naming it */
	uint32_t subdirs; /* directories: entries that are directories */
	bool dirobj;
	bool linked_lf; /* linked into lost+found by this run */
	bool gone;	/* deleted by the journal (read-only check) */
};

struct fe {
	uint64_t dir, ino;
	uint32_t type;
	char *name;
	bool bad;  /* removed by repair */
	bool gone; /* removed by the journal (read-only check) */
};

struct fd_obj {
	uint64_t ino, index;
};

struct fsck {
	struct fl_store *base; /* the pool: snapshots are opened from it (check_snaps) */
	struct fl_volume *v;
	struct fl_store *st;
	bool snapshots; /* the volume has some: listings need a stat (list_cb) */
	bool at_snap;	/* checking a snapshot (VOL@SNAP): read-only, nobody to guard against */
	const struct fl_fsck_opts *o;
	struct fl_fsck_report *rep;
	struct fi *in;
	size_t nin, capin;
	struct fe *en;
	size_t nen, capen;
	uint64_t *dirobjs;
	size_t ndirobjs, capdirobjs;
	struct fd_obj *data;
	size_t ndata, capdata;
	struct fl_strv itab_oids, other; /* object names */
	uint64_t *jsegs;
	size_t njsegs, capjsegs;
	uint64_t progress;
	int err;
	/* read-only check: the journal applied in memory */
	uint64_t *orph; /* the orphan list as a mount would find it, sorted */
	size_t norph, caporph;
	struct fi *add_in; /* inodes the journal adds */
	size_t nadd_in, capadd_in;
	struct fe *add_en;
	size_t nadd_en, capadd_en;
	uint64_t *gone_dirs; /* directory objects the replay removes */
	size_t ngone_dirs, capgone_dirs;
	uint64_t *add_dirs; /* directory objects the replay makes */
	size_t nadd_dirs, capadd_dirs;
	char *super_raw; /* the superblock when the check began */
	size_t super_len;
	char fenced[128];
};

#define GROW(arr, n, cap) fl_grow(&(arr), &(cap), (n), sizeof(*(arr)), 64)

static void problem(struct fsck *f, uint64_t *counter, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct fsck *f, uint64_t *counter, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	(*counter)++;
	f->rep->damage++;
	if (!f->rep->first_problem[0])
		snprintf(f->rep->first_problem, sizeof(f->rep->first_problem), "%s", line);
	fl_notice("%s: %s", f->v->super.name, line);
}

static void fixed(struct fsck *f, int ret)
{
	if (ret == 0)
		f->rep->repaired++;
	else
		fl_err("%s: repair failed: %s", f->v->super.name, strerror(-ret));
}

static void tick(struct fsck *f, const char *phase)
{
	if (f->o->progress && (++f->progress % 1024) == 0)
		fprintf(stderr, "\rfsck %s: %s %" PRIu64 "   ", f->v->super.name, phase,
			f->progress);
}

/* ---------- snapshot records ---------- */

struct snapck {
	struct fsck *f;
	char last[FL_VOLNAME_MAX + 2];
	bool last_long;
	struct snapck_ent {
		char name[FL_VOLNAME_MAX + 1];
		uint64_t id;
		uint32_t state;
	} * e;
	size_t n, cap;
};

static int snapck_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct snapck *s = arg;
	struct fl_snap_rec r;
	size_t klen = strlen(key);

	s->last_long = klen > FL_VOLNAME_MAX;
	snprintf(s->last, sizeof(s->last), "%.*s", FL_VOLNAME_MAX, key);
	if (s->last_long || !fl_volname_valid(key)) {
		problem(s->f, &s->f->rep->bad_snapshots,
			"snapshot record \"%.64s%s\": invalid name", key, klen > 64 ? "..." : "");
		return 0;
	}
	if (fl_snap_decode(val, len, &r) < 0) {
		problem(s->f, &s->f->rep->bad_snapshots, "snapshot record %s does not decode", key);
		return 0;
	}
	if (GROW(s->e, s->n, s->cap))
		return -ENOMEM;
	snprintf(s->e[s->n].name, sizeof(s->e[s->n].name), "%s", key);
	s->e[s->n].id = r.id;
	s->e[s->n].state = r.state;
	s->n++;
	return 0;
}

static int cmp_snapck(const void *a, const void *b)
{
	const struct snapck_ent *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * The records of object "snaps": each decodes under a valid name, no two share
 * a RADOS snapshot id, and each snapshot reads (its superblock, at that id,
 * names this volume).  True when there is at least one record (then RADOS lists
 * objects removed since a snapshot too, whatever super.snap_seq says: a writer
 * killed before its next checkpoint never wrote it).
 *
 * An id leaked by a kill between snap_create and the record cannot be found:
 * ids come from one counter of the pool, shared by every volume and clone, so
 * an id no record names may be any other volume's, and librados's C API lists
 * no self-managed snapshots.  Nothing is written with a leaked id in a
 * context (the record comes before the writer thaws; a new writer takes its
 * context from the records), so RADOS keeps no clone for it: it costs nothing
 * but the number.
 */
static bool check_snaps(struct fsck *f)
{
	struct snapck s = {.f = f};
	bool more = true;
	int ret = 0;

	while (more && !ret && !s.last_long)
		ret = f->st->ops->omap_list(f->st, FL_OID_SNAPS, s.last[0] ? s.last : NULL, 512,
					    snapck_cb, &s, &more);
	if (ret && ret != -ENOENT) {
		problem(f, &f->rep->bad_snapshots, "cannot list the snapshot records: %s",
			strerror(-ret));
		free(s.e);
		return true;
	}
	if (s.n > 1)
		qsort(s.e, s.n, sizeof(*s.e), cmp_snapck);
	for (size_t i = 0; i < s.n; i++) {
		struct fl_volume *sv = NULL;
		char err[512] = "";

		f->rep->snapshots++;
		if (i > 0 && s.e[i].id == s.e[i - 1].id) {
			problem(f, &f->rep->bad_snapshots,
				"snapshots %s and %s share RADOS snapshot id %" PRIu64,
				s.e[i - 1].name, s.e[i].name, s.e[i].id);
			continue;
		}
		if (s.e[i].state != FL_SNAP_OK)
			continue; /* being removed: its RADOS snapshot may be gone already */
		ret = fl_volume_open(f->base, f->v->super.name, &sv, err, sizeof(err));
		if (!ret) {
			ret = fl_snap_open_at(sv, s.e[i].name, err, sizeof(err));
			if (!ret && strcmp(sv->super.uuid, f->v->super.uuid)) {
				snprintf(err, sizeof(err), "its superblock names volume %s",
					 sv->super.uuid);
				ret = -EIO;
			}
		}
		if (ret)
			problem(f, &f->rep->bad_snapshots,
				"snapshot %s (id %" PRIu64 ") cannot be read: %s", s.e[i].name,
				s.e[i].id, err[0] ? err : strerror(-ret));
		if (sv)
			fl_volume_close(sv);
	}
	free(s.e);
	return s.n > 0 || f->rep->bad_snapshots > 0;
}

/* ---------- journal ---------- */

static int check_journal(struct fsck *f)
{
	uint64_t seg;
	char oid[FL_OID_LEN];
	int ret = 0;

	for (seg = f->v->super.jtail;; seg++) {
		size_t off = 0, n;
		char *data;

		fl_oid_jrnl(oid, seg);
		ret = fl_jseg_read(f->st, seg, &data, &n);
		if (ret == -ENOENT)
			return 0;
		if (ret)
			return ret;
		for (;;) {
			struct fl_jtxn t;
			int r = fl_jseg_next(data, n, &off, &t);

			if (r == 0)
				break;
			if (r < 0) {
				problem(f, &f->rep->journal_corrupt,
					"journal segment %s: %s record at offset %zu; replay stops there",
					oid, r == -EIO ? "torn or corrupt" : "undecodable", off);
				if (f->o->repair) {
					uint64_t s2;

					ret = f->st->ops->truncate(f->st, oid, off);
					for (s2 = seg + 1; !ret; s2++) {
						char o2[FL_OID_LEN];

						fl_oid_jrnl(o2, s2);
						if (f->st->ops->remove(f->st, o2))
							break;
					}
					fixed(f, ret);
				}
				free(data);
				return 0;
			}
			fl_jtxn_free(&t);
			f->rep->journal_records++;
		}
		free(data);
	}
}

/* ---------- loading ---------- */

static int list_cb(void *arg, const char *oid)
{
	struct fsck *f = arg;
	uint64_t ino, index;
	char *end;

	tick(f, "listing objects");
	/* with snapshots, RADOS also lists objects removed since (and a snapshot's
	 * listing names objects made after it): only those that exist count */
	if (f->snapshots && f->st->ops->stat(f->st, oid, NULL) == -ENOENT)
		return 0;
	if (!fl_oid_parse_data(oid, &ino, &index)) {
		if (GROW(f->data, f->ndata, f->capdata))
			return -ENOMEM;
		f->data[f->ndata].ino = ino;
		f->data[f->ndata++].index = index;
	} else if (!strncmp(oid, "dir.", 4)) {
		ino = strtoull(oid + 4, &end, 16);
		if (*end || strlen(oid + 4) != 16)
			goto other;
		if (GROW(f->dirobjs, f->ndirobjs, f->capdirobjs))
			return -ENOMEM;
		f->dirobjs[f->ndirobjs++] = ino;
	} else if (!strncmp(oid, "itab.", 5)) {
		return fl_strv_add(&f->itab_oids, oid);
	} else if (!strncmp(oid, "jrnl.", 5)) {
		ino = strtoull(oid + 5, &end, 16);
		if (*end)
			goto other;
		if (GROW(f->jsegs, f->njsegs, f->capjsegs))
			return -ENOMEM;
		f->jsegs[f->njsegs++] = ino;
	} else if (strcmp(oid, FL_OID_SUPER) && strcmp(oid, FL_OID_ORPHAN) &&
		   strcmp(oid, FL_OID_SNAPS) && strcmp(oid, FL_OID_CHILDREN)) {
	other:
		return fl_strv_add(&f->other, oid);
	}
	return 0;
}

struct itab_ctx {
	struct fsck *f;
	const char *oid;
	uint64_t shard;
	struct fl_strv bad; /* keys of corrupt records */
};

static int itab_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct itab_ctx *ic = arg;
	struct fsck *f = ic->f;
	struct fl_inode_rec r = {0};
	char *end;
	uint64_t kino = strtoull(key, &end, 16);

	tick(f, "reading inodes");
	if (*end || strlen(key) != 16 || fl_inode_decode(val, len, &r) || r.ino != kino ||
	    (kino >> FL_ITAB_SHARD_BITS) != ic->shard) {
		fl_inode_rec_free(&r);
		problem(f, &f->rep->corrupt_inodes, "inode record %s in %s is corrupt or misplaced",
			key, ic->oid);
		return fl_strv_add(&ic->bad, key);
	}
	if (GROW(f->in, f->nin, f->capin)) {
		fl_inode_rec_free(&r);
		return -ENOMEM;
	}
	memset(&f->in[f->nin], 0, sizeof(f->in[0]));
	f->in[f->nin].ino = r.ino;
	f->in[f->nin++].r = r;
	return 0;
}

struct dir_ctx {
	struct fsck *f;
	uint64_t dir;
	const char *oid;
	struct fl_strv bad; /* keys of corrupt entries */
};

static int dir_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct dir_ctx *dc = arg;
	struct fsck *f = dc->f;
	struct fl_dirent_rec d;
	char *name;

	tick(f, "reading entries");
	if (fl_dirent_decode(val, len, &d) || !*key || strchr(key, '/') || !strcmp(key, ".") ||
	    !strcmp(key, "..") || strlen(key) > FL_NAME_MAX) {
		problem(f, &f->rep->corrupt_entries, "entry '%s' in %s is corrupt", key, dc->oid);
		return fl_strv_add(&dc->bad, key);
	}
	name = strdup(key);
	if (!name || GROW(f->en, f->nen, f->capen)) {
		free(name);
		return -ENOMEM;
	}
	memset(&f->en[f->nen], 0, sizeof(f->en[0]));
	f->en[f->nen].dir = dc->dir;
	f->en[f->nen].ino = d.ino;
	f->en[f->nen].type = d.type;
	f->en[f->nen].name = name;
	f->en[f->nen++].bad = false;
	return 0;
}

static int cmp_fi(const void *a, const void *b)
{
	const struct fi *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_data(const void *a, const void *b)
{
	const struct fd_obj *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static struct fi *find_inode(struct fsck *f, uint64_t ino)
{
	struct fi key = {.ino = ino};

	return f->nin ? bsearch(&key, f->in, f->nin, sizeof(*f->in), cmp_fi) : NULL;
}

/* Read-only check: is ino on the orphan list a mount would find? */
static bool on_orphan_list(const struct fsck *f, uint64_t ino)
{
	return f->norph && bsearch(&ino, f->orph, f->norph, sizeof(*f->orph), cmp_u64);
}

static int rm_keys(struct fsck *f, const char *oid, char **keys, size_t n)
{
	return f->st->ops->omap_update(f->st, oid, NULL, 0, (const char *const *)keys, n, NULL, 0);
}

/*
 * Reads the omap of oid through cb, whose context collects the keys of
 * corrupt values in *bad: removed when repairing, then freed.  0 (also when
 * oid is missing) or a negative errno.
 */
static int scan_omap(struct fsck *f, const char *oid, fl_omap_cb cb, void *ctx, struct fl_strv *bad)
{
	bool more;
	int ret = f->st->ops->omap_list(f->st, oid, NULL, UINT32_MAX, cb, ctx, &more);

	if (!ret && bad->n && f->o->repair)
		fixed(f, rm_keys(f, oid, bad->v, bad->n));
	fl_strv_free(bad);
	return ret == -ENOENT ? 0 : ret;
}

static int load(struct fsck *f)
{
	size_t i;
	int ret;

	ret = f->st->ops->list_objects(f->st, NULL, list_cb, f);
	if (ret)
		return ret;
	for (i = 0; i < f->itab_oids.n; i++) {
		struct itab_ctx ic = {.f = f, .oid = f->itab_oids.v[i]};

		ic.shard = strtoull(ic.oid + 5, NULL, 16);
		ret = scan_omap(f, ic.oid, itab_cb, &ic, &ic.bad);
		if (ret)
			return ret;
	}
	if (f->nin)
		qsort(f->in, f->nin, sizeof(*f->in), cmp_fi);
	for (i = 0; i < f->ndirobjs; i++) {
		char oid[FL_OID_LEN];
		struct dir_ctx dc = {.f = f, .dir = f->dirobjs[i], .oid = oid};

		fl_oid_dir(oid, f->dirobjs[i]);
		ret = scan_omap(f, oid, dir_cb, &dc, &dc.bad);
		if (ret)
			return ret;
	}
	if (f->ndirobjs)
		qsort(f->dirobjs, f->ndirobjs, sizeof(uint64_t), cmp_u64);
	if (f->ndata)
		qsort(f->data, f->ndata, sizeof(*f->data), cmp_data);
	f->rep->inodes = f->nin;
	f->rep->entries = f->nen;
	f->rep->data_objects = f->ndata;
	return 0;
}

/* ---------- writing repairs ---------- */

/* Unless the encoder failed (enc_ret): sets key in the omap of oid to the
 * record in b.  Frees b. */
static int put_rec(struct fsck *f, int enc_ret, const char *oid, const char *key, struct fl_buf *b)
{
	struct fl_kv kv = {key, b->data, b->len};
	int ret = enc_ret;

	if (!ret)
		ret = f->st->ops->omap_update(f->st, oid, &kv, 1, NULL, 0, NULL, 0);
	fl_buf_free(b);
	return ret;
}

static int put_inode(struct fsck *f, const struct fl_inode_rec *r)
{
	char oid[FL_OID_LEN], key[17];
	struct fl_buf b;
	int ret;

	if (r->nbmap > FL_BMAP_MAX_V1 && f->v->super.version < FL_SUPER_VERSION) {
		/* older binaries must refuse the volume first (as the journal does) */
		uint32_t old = f->v->super.version;

		f->v->super.version = FL_SUPER_VERSION;
		ret = fl_volume_write_super(f->v);
		if (ret) {
			f->v->super.version = old;
			return ret;
		}
	}
	fl_buf_init(&b, FL_REC_MAX);
	ret = fl_inode_encode(r, &b);
	fl_oid_itab(oid, r->ino >> FL_ITAB_SHARD_BITS);
	fl_ino_key(key, r->ino);
	return put_rec(f, ret, oid, key, &b);
}

static int put_entry(struct fsck *f, uint64_t dir, const char *name, uint64_t ino, uint32_t type)
{
	struct fl_dirent_rec d = {ino, type};
	char oid[FL_OID_LEN];
	struct fl_buf b;
	int ret;

	fl_buf_init(&b, FL_REC_MAX);
	ret = fl_dirent_encode(&d, &b);
	fl_oid_dir(oid, dir);
	return put_rec(f, ret, oid, name, &b);
}

static int rm_entry(struct fsck *f, struct fe *e)
{
	char oid[FL_OID_LEN];
	const char *keys[1] = {e->name};

	fl_oid_dir(oid, e->dir);
	e->bad = true;
	return f->st->ops->omap_update(f->st, oid, NULL, 0, keys, 1, NULL, 0);
}

/* /lost+found, made on first use; returns its inode or NULL. */
static struct fi *lost_found(struct fsck *f, uint64_t *next_ino)
{
	struct fi *root = find_inode(f, FL_ROOT_INO), *lf;
	struct fl_inode_rec r = {0};
	struct timespec now;
	size_t i;

	for (i = 0; i < f->nen; i++)
		if (!f->en[i].bad && f->en[i].dir == FL_ROOT_INO &&
		    !strcmp(f->en[i].name, "lost+found") && (lf = find_inode(f, f->en[i].ino)) &&
		    S_ISDIR(lf->r.mode))
			return lf;
	if (!root)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &now);
	r.ino = (*next_ino)++;
	r.mode = S_IFDIR | 0700;
	r.nlink = 2;
	r.atime = r.mtime = r.ctime = r.btime = now;
	if (put_inode(f, &r) || put_entry(f, FL_ROOT_INO, "lost+found", r.ino, S_IFDIR))
		return NULL;
	{
		char oid[FL_OID_LEN];

		fl_oid_dir(oid, r.ino);
		if (f->st->ops->omap_update(f->st, oid, NULL, 0, NULL, 0, NULL, 0))
			return NULL;
	}
	root->subdirs++;
	root->r.nlink = 2 + root->subdirs;
	if (put_inode(f, &root->r))
		return NULL;
	/* append to the table: keep it sorted (the new number is the largest) */
	if (GROW(f->in, f->nin, f->capin))
		return NULL;
	memset(&f->in[f->nin], 0, sizeof(f->in[0]));
	f->in[f->nin].ino = r.ino;
	f->in[f->nin].r = r;
	f->in[f->nin].refs = 1;
	f->in[f->nin].dirobj = true;
	return &f->in[f->nin++];
}

/* ---------- the checks ---------- */

/* Directory objects: each belongs to a directory. */
static void check_dirobjs(struct fsck *f)
{
	size_t i;

	for (i = 0; i < f->ndirobjs; i++) {
		struct fi *d = find_inode(f, f->dirobjs[i]);

		if (d && S_ISDIR(d->r.mode)) {
			d->dirobj = true;
			continue;
		}
		problem(f, &f->rep->stray_dir_objects,
			"directory object dir.%016" PRIx64 " belongs to no directory",
			f->dirobjs[i]);
		if (f->o->repair) {
			char oid[FL_OID_LEN];

			fl_oid_dir(oid, f->dirobjs[i]);
			fixed(f, f->st->ops->remove(f->st, oid));
		}
	}
}

/* Entries: each names an inode of its type, a directory only once; counts
 * the names of each inode. */
static void check_entries(struct fsck *f)
{
	size_t i;

	for (i = 0; i < f->nen; i++) {
		struct fe *e = &f->en[i];
		struct fi *d = find_inode(f, e->dir), *t = find_inode(f, e->ino);

		tick(f, "checking entries");
		if (!d || !S_ISDIR(d->r.mode)) {
			e->bad = true; /* counted with its stray directory object */
			continue;
		}
		if (!t) {
			problem(f, &f->rep->dangling_entries,
				"entry '%s' in directory %" PRIu64 " names missing inode %" PRIu64,
				e->name, e->dir, e->ino);
			if (f->o->repair)
				fixed(f, rm_entry(f, e));
			e->bad = true;
			continue;
		}
		if (S_ISDIR(t->r.mode) && (t->refs > 0 || t->ino == FL_ROOT_INO)) {
			problem(f, &f->rep->extra_dir_links,
				"directory %" PRIu64
				" has a second name '%s' in directory %" PRIu64,
				t->ino, e->name, e->dir);
			if (f->o->repair)
				fixed(f, rm_entry(f, e));
			e->bad = true;
			continue;
		}
		if (e->type != (t->r.mode & S_IFMT)) {
			problem(f, &f->rep->type_mismatches,
				"entry '%s' in directory %" PRIu64 " has type %o, inode %" PRIu64
				" is %o",
				e->name, e->dir, e->type, t->ino, t->r.mode & S_IFMT);
			if (f->o->repair)
				fixed(f, put_entry(f, e->dir, e->name, t->ino, t->r.mode & S_IFMT));
			e->type = t->r.mode & S_IFMT;
		}
		t->refs++;
		if (S_ISDIR(t->r.mode))
			d->subdirs++;
	}
}

/* Inodes: directories have their object, every inode a name (else into
 * lost+found), link counts; sums the space used and the inodes. */
static void check_inodes(struct fsck *f, uint64_t *next_ino, uint64_t *usedp, uint64_t *ninodesp)
{
	uint64_t used = 0, ninodes = 0;
	struct fi *lf = NULL;
	size_t i;

	for (i = 0; i < f->nin; i++) {
		struct fi *n = &f->in[i];
		uint32_t want;

		tick(f, "checking inodes");
		if (S_ISDIR(n->r.mode)) {
			f->rep->directories++;
			/* removed while open: its object went with the rmdir's checkpoint,
			 * the inode waits on the orphan list for the next mount's purge */
			if (!n->dirobj &&
			    !(n->r.nlink == 0 && f->rep->read_only && on_orphan_list(f, n->ino))) {
				problem(f, &f->rep->missing_dir_objects,
					"directory %" PRIu64 " has no directory object", n->ino);
				if (f->o->repair) {
					char oid[FL_OID_LEN];

					fl_oid_dir(oid, n->ino);
					fixed(f, f->st->ops->omap_update(f->st, oid, NULL, 0, NULL,
									 0, NULL, 0));
				}
			}
		}
		if (n->refs == 0 && n->r.nlink == 0 && f->rep->read_only &&
		    on_orphan_list(f, n->ino)) {
			/* unlinked while open: the next mount purges it */
		} else if (n->refs == 0 && n->ino != FL_ROOT_INO && !n->linked_lf) {
			char name[32];

			problem(f, &f->rep->orphan_inodes, "inode %" PRIu64 " has no name", n->ino);
			if (f->o->repair) {
				size_t idx = (size_t)(n - f->in);

				if (!lf)
					lf = lost_found(f, next_ino);
				n = &f->in[idx]; /* the table may have moved */
				snprintf(name, sizeof(name), "#%" PRIu64, n->ino);
				if (lf &&
				    !put_entry(f, lf->ino, name, n->ino, n->r.mode & S_IFMT)) {
					n->refs = 1;
					n->linked_lf = true;
					if (S_ISDIR(n->r.mode)) {
						lf->subdirs++;
						lf->r.nlink = 2 + lf->subdirs;
						fixed(f, put_inode(f, &lf->r));
					} else {
						fixed(f, 0);
					}
				} else {
					fixed(f, -EIO);
				}
			}
		}
		want = S_ISDIR(n->r.mode) ? 2 + n->subdirs : n->refs;
		if (n->refs && n->r.nlink != want) {
			problem(f, &f->rep->wrong_nlink,
				"inode %" PRIu64 " has link count %u, its names say %u", n->ino,
				n->r.nlink, want);
			if (f->o->repair) {
				n->r.nlink = want;
				fixed(f, put_inode(f, &n->r));
			}
		}
		ninodes++;
		if (S_ISREG(n->r.mode)) {
			/* the blocks holding data, not the size (a record from
			 * before block maps: every block below its size) */
			uint32_t bs = f->v->super.block_size;

			used += n->r.has_bmap ? fl_bmap_used(&n->r, n->r.size, bs)
					      : fl_round4k(n->r.size);
		}
	}
	*usedp = used;
	*ninodesp = ninodes;
}

/* Data objects: each belongs to a regular file, within its size and map. */
static void check_data(struct fsck *f)
{
	size_t i, j;

	for (i = 0, j = 0; i < f->ndata; i++) {
		struct fd_obj *o = &f->data[i];
		struct fi *n = find_inode(f, o->ino);
		uint64_t bs = f->v->super.block_size;
		char oid[FL_OID_LEN];

		tick(f, "checking data");
		fl_oid_data(oid, o->ino, o->index);
		if (n && S_ISREG(n->r.mode) && f->rep->read_only && on_orphan_list(f, n->ino) &&
		    (n->r.nlink == 0 || (o->index + 1) * bs > n->r.size)) {
			/* the next mount purges the file, or trims what lies past its size */
			f->rep->data_pending++;
			continue;
		}
		if (!n || !S_ISREG(n->r.mode)) {
			problem(f, &f->rep->stray_data_objects,
				"data object %s belongs to no regular file", oid);
			if (f->o->repair)
				fixed(f, f->st->ops->remove(f->st, oid));
			continue;
		}
		if (o->index * bs >= n->r.size) {
			problem(f, &f->rep->data_past_eof,
				"data object %s lies past the end of inode %" PRIu64 " (%" PRIu64
				" bytes)",
				oid, o->ino, n->r.size);
			if (f->o->repair)
				fixed(f, f->st->ops->remove(f->st, oid));
			continue;
		}
		if ((o->index + 1) * bs > n->r.size) {
			uint64_t osize = 0, keep = n->r.size - o->index * bs;

			if (!f->st->ops->stat(f->st, oid, &osize) && osize > keep) {
				problem(f, &f->rep->data_past_eof,
					"data object %s holds %" PRIu64
					" bytes past the end of inode %" PRIu64,
					oid, osize - keep, o->ino);
				if (f->o->repair)
					fixed(f, f->st->ops->truncate(f->st, oid, keep));
			}
		}
		if (n->r.has_bmap && !fl_bmap_has(&n->r, o->index) && f->rep->read_only &&
		    on_orphan_list(f, n->ino)) {
			/* written after a crash-safe mark and before the record that
			 * maps it: the next mount lists the file's objects and maps it */
			f->rep->data_pending++;
		} else if (n->r.has_bmap && !fl_bmap_has(&n->r, o->index)) {
			/* a purge would leave it behind; the bytes are the file's */
			problem(f, &f->rep->unmapped_data,
				"data object %s lies outside the block map of inode %" PRIu64, oid,
				o->ino);
			if (f->o->repair) {
				int r = fl_bmap_add(&n->r, o->index);

				fixed(f, r ? r : put_inode(f, &n->r));
			}
		}
		j++;
	}
	(void)j;
}

static void check_tree(struct fsck *f)
{
	uint64_t max_ino = FL_ROOT_INO, next_ino, used = 0, ninodes = 0;
	size_t i;

	for (i = 0; i < f->nin; i++)
		if (f->in[i].ino > max_ino)
			max_ino = f->in[i].ino;
	next_ino = f->v->super.next_ino > max_ino ? f->v->super.next_ino : max_ino + 1;
	if (f->v->super.next_ino <= max_ino)
		problem(f, &f->rep->bad_counters,
			"superblock next inode %" PRIu64 " is not above the largest inode %" PRIu64,
			f->v->super.next_ino, max_ino);
	check_dirobjs(f);
	check_entries(f);
	check_inodes(f, &next_ino, &used, &ninodes);
	check_data(f);
	/* counters */
	if (f->v->super.used_bytes != used || f->v->super.inodes != ninodes ||
	    f->v->super.next_ino != next_ino) {
		if (f->v->super.used_bytes != used || f->v->super.inodes != ninodes)
			problem(f, &f->rep->bad_counters,
				"superblock says %" PRIu64 " bytes in %" PRIu64
				" inodes, the tree has %" PRIu64 " in %" PRIu64,
				f->v->super.used_bytes, f->v->super.inodes, used, ninodes);
		if (f->o->repair) {
			f->v->super.used_bytes = used;
			f->v->super.inodes = ninodes;
			f->v->super.next_ino = next_ino;
			fixed(f, fl_volume_write_super(f->v));
		}
	}
}

static int orphan_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct fsck *f = arg;
	const char *keys[1] = {key};

	(void)val;
	(void)len;
	problem(f, &f->rep->stale_orphan_keys, "orphan list still names inode %s", key);
	if (f->o->repair)
		fixed(f, f->st->ops->omap_update(f->st, FL_OID_ORPHAN, NULL, 0, keys, 1, NULL, 0));
	return 0;
}

static void check_rest(struct fsck *f)
{
	bool more;
	size_t i;
	char oid[FL_OID_LEN];

	/* a replay and clean unmount empties the orphan list; without one (a check
	 * that writes nothing) its entries are what the next mount processes */
	if (!f->rep->read_only)
		f->st->ops->omap_list(f->st, FL_OID_ORPHAN, NULL, UINT32_MAX, orphan_cb, f, &more);
	for (i = 0; i < f->njsegs; i++) {
		if (f->jsegs[i] >= f->v->super.jtail)
			continue;
		fl_oid_jrnl(oid, f->jsegs[i]);
		problem(f, &f->rep->stale_journal_segments,
			"journal segment %s is older than the journal tail", oid);
		if (f->o->repair)
			fixed(f, f->st->ops->remove(f->st, oid));
	}
	for (i = 0; i < f->other.n; i++) {
		f->rep->unknown_objects++;
		fl_warn("%s: unknown object %s left alone", f->v->super.name, f->other.v[i]);
	}
}

static void fsck_free(struct fsck *f)
{
	size_t i;

	for (i = 0; i < f->nin; i++)
		fl_inode_rec_free(&f->in[i].r);
	for (i = 0; i < f->nen; i++)
		free(f->en[i].name);
	fl_strv_free(&f->itab_oids);
	fl_strv_free(&f->other);
	free(f->in);
	free(f->en);
	free(f->dirobjs);
	free(f->data);
	free(f->jsegs);
	for (i = 0; i < f->nadd_in; i++)
		fl_inode_rec_free(&f->add_in[i].r);
	for (i = 0; i < f->nadd_en; i++)
		free(f->add_en[i].name);
	free(f->orph);
	free(f->add_in);
	free(f->add_en);
	free(f->gone_dirs);
	free(f->add_dirs);
	free(f->super_raw);
}

/* Replays the journal and processes the orphan list, as a mount does. */
static int replay(struct fsck *f, char *err, size_t errlen)
{
	struct fl_core_opts co = {0};
	struct fl_core *c = NULL;
	int ret;

	ret = fl_core_mount(f->v, &co, &c, err, errlen);
	if (ret)
		return ret;
	ret = fl_core_unmount(c);
	if (ret)
		snprintf(err, errlen, "cannot finish the journal replay of volume %s: %s",
			 f->v->super.name, strerror(-ret));
	return ret;
}

/* ---------- read-only check: the journal replayed in memory ---------- */

static int orph_key_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct fsck *f = arg;
	char *end;
	uint64_t ino = strtoull(key, &end, 16);

	(void)val;
	(void)len;
	if (*end || !*key)
		return 0; /* not an inode: the mount leaves it, and so does this check */
	if (GROW(f->orph, f->norph, f->caporph))
		return -ENOMEM;
	f->orph[f->norph++] = ino;
	return 0;
}

static int cmp_fe(const void *a, const void *b)
{
	const struct fe *x = a, *y = b;

	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int ov_inode(void *arg, uint64_t ino, const struct fl_inode_rec *r)
{
	struct fsck *f = arg;
	struct fi *n = find_inode(f, ino);
	int ret;

	if (!r) {
		if (n)
			n->gone = true;
		/* a deleted inode's directory object goes with it (missing is fine) */
		if (GROW(f->gone_dirs, f->ngone_dirs, f->capgone_dirs))
			return -ENOMEM;
		f->gone_dirs[f->ngone_dirs++] = ino;
		return 0;
	}
	if (S_ISDIR(r->mode) && r->nlink) {
		/* a directory made since the checkpoint gets its object at replay */
		if (GROW(f->add_dirs, f->nadd_dirs, f->capadd_dirs))
			return -ENOMEM;
		f->add_dirs[f->nadd_dirs++] = ino;
	}
	if (!n) {
		if (GROW(f->add_in, f->nadd_in, f->capadd_in))
			return -ENOMEM;
		n = &f->add_in[f->nadd_in];
		memset(n, 0, sizeof(*n));
		n->ino = ino;
		ret = fl_inode_rec_copy(&n->r, r);
		if (ret)
			return ret;
		f->nadd_in++;
		return 0;
	}
	fl_inode_rec_free(&n->r);
	memset(&n->r, 0, sizeof(n->r));
	n->gone = false;
	return fl_inode_rec_copy(&n->r, r);
}

static int ov_dent(void *arg, uint64_t dir, const char *name, const struct fl_dirent_rec *d)
{
	struct fsck *f = arg;
	struct fe key = {.dir = dir, .name = (char *)name}, *e;

	e = f->nen ? bsearch(&key, f->en, f->nen, sizeof(*f->en), cmp_fe) : NULL;
	if (e) {
		e->gone = !d;
		if (d) {
			e->ino = d->ino;
			e->type = d->type;
		}
		return 0;
	}
	if (!d)
		return 0;
	if (GROW(f->add_en, f->nadd_en, f->capadd_en))
		return -ENOMEM;
	e = &f->add_en[f->nadd_en];
	memset(e, 0, sizeof(*e));
	e->dir = dir;
	e->ino = d->ino;
	e->type = d->type;
	e->name = strdup(name);
	if (!e->name)
		return -ENOMEM;
	f->nadd_en++;
	return 0;
}

static int ov_orphan(void *arg, uint64_t ino, bool listed)
{
	struct fsck *f = arg;
	uint64_t *o = f->norph ? bsearch(&ino, f->orph, f->norph, sizeof(*f->orph), cmp_u64) : NULL;

	if (listed && !o) {
		if (GROW(f->orph, f->norph, f->caporph))
			return -ENOMEM;
		f->orph[f->norph++] = ino;
		qsort(f->orph, f->norph, sizeof(*f->orph), cmp_u64);
	} else if (!listed && o) {
		memmove(o, o + 1, (size_t)(f->orph + f->norph - (o + 1)) * sizeof(*o));
		f->norph--;
	}
	return 0;
}

static bool in_list(const uint64_t *a, size_t n, uint64_t x)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i] == x)
			return true;
	return false;
}

/* Applies what the journal replay of a mount would write to the tables load()
 * read from the omaps, and reads the orphan list as the mount would see it. */
static int apply_journal(struct fsck *f, struct fl_core *c)
{
	struct fl_overlay_walk w = {f, ov_inode, ov_dent, ov_orphan};
	size_t i, j;
	bool more;
	int ret;

	ret = f->st->ops->omap_list(f->st, FL_OID_ORPHAN, NULL, UINT32_MAX, orph_key_cb, f, &more);
	if (ret && ret != -ENOENT)
		return ret;
	if (f->norph)
		qsort(f->orph, f->norph, sizeof(*f->orph), cmp_u64);
	if (f->nen)
		qsort(f->en, f->nen, sizeof(*f->en), cmp_fe);
	ret = fl_overlay_walk(c, &w);
	if (ret)
		return ret;
	/* inodes: drop the deleted, add the new, sorted again */
	for (i = 0, j = 0; i < f->nin; i++) {
		if (f->in[i].gone) {
			fl_inode_rec_free(&f->in[i].r);
			continue;
		}
		f->in[j++] = f->in[i];
	}
	f->nin = j;
	for (i = 0; i < f->nadd_in; i++) {
		if (GROW(f->in, f->nin, f->capin))
			return -ENOMEM;
		f->in[f->nin++] = f->add_in[i];
	}
	f->nadd_in = 0;
	if (f->nin)
		qsort(f->in, f->nin, sizeof(*f->in), cmp_fi);
	/* directory objects */
	for (i = 0, j = 0; i < f->ndirobjs; i++)
		if (!in_list(f->gone_dirs, f->ngone_dirs, f->dirobjs[i]) ||
		    in_list(f->add_dirs, f->nadd_dirs, f->dirobjs[i]))
			f->dirobjs[j++] = f->dirobjs[i];
	f->ndirobjs = j;
	for (i = 0; i < f->nadd_dirs; i++) {
		if (f->ndirobjs &&
		    bsearch(&f->add_dirs[i], f->dirobjs, f->ndirobjs, sizeof(uint64_t), cmp_u64))
			continue;
		if (GROW(f->dirobjs, f->ndirobjs, f->capdirobjs))
			return -ENOMEM;
		f->dirobjs[f->ndirobjs++] = f->add_dirs[i];
		qsort(f->dirobjs, f->ndirobjs, sizeof(uint64_t), cmp_u64);
	}
	/* entries: drop the removed and those of removed directories, add the new */
	for (i = 0, j = 0; i < f->nen; i++) {
		if (f->en[i].gone || (in_list(f->gone_dirs, f->ngone_dirs, f->en[i].dir) &&
				      !in_list(f->add_dirs, f->nadd_dirs, f->en[i].dir))) {
			free(f->en[i].name);
			continue;
		}
		f->en[j++] = f->en[i];
	}
	f->nen = j;
	for (i = 0; i < f->nadd_en; i++) {
		if (GROW(f->en, f->nen, f->capen))
			return -ENOMEM;
		f->en[f->nen++] = f->add_en[i];
	}
	f->nadd_en = 0;
	/* the counters the replay writes into the superblock (in memory only) */
	f->v->super.next_ino = c->next_ino;
	f->v->super.used_bytes = c->jused_bytes;
	f->v->super.inodes = c->inodes;
	f->rep->inodes = f->nin;
	f->rep->entries = f->nen;
	f->rep->orphans_pending = f->norph;
	return 0;
}

/* The journal replayed in memory, as a read-only mount does: nothing written. */
static int replay_mem(struct fsck *f, char *err, size_t errlen)
{
	struct fl_core_opts co = {.ro = true};
	struct fl_core *c = NULL;
	int ret;

	ret = fl_core_mount(f->v, &co, &c, err, errlen);
	if (ret)
		return ret;
	ret = load(f);
	if (ret)
		snprintf(err, errlen, "cannot read volume %s: %s", f->v->super.name,
			 strerror(-ret));
	if (!ret) {
		ret = apply_journal(f, c);
		if (ret)
			snprintf(err, errlen, "cannot apply the journal of volume %s in memory: %s",
				 f->v->super.name, strerror(-ret));
	}
	fl_core_unmount(c);
	return ret;
}

/*
 * A check without --repair takes no lock (taking it writes to super): it
 * refuses a volume a live writer holds, checks one whose writer on this host
 * died, and with takeover fences a writer elsewhere first.  At the end
 * (end true) it makes sure nobody mounted the volume meanwhile.
 */
static int ro_guard(struct fsck *f, bool end, char *err, size_t errlen)
{
	struct fl_holder h;
	char *raw = NULL;
	size_t len = 0;
	int ret = fl_volume_holder(f->v, &h);

	if (ret < 0) {
		snprintf(err, errlen, "cannot read the writer lock of volume %s: %s",
			 f->v->super.name, strerror(-ret));
		return ret;
	}
	if (ret > 0 && !fl_volume_holder_gone(&h) && strcmp(h.addr, f->fenced)) {
		if (end) {
			snprintf(err, errlen,
				 "volume %s was mounted read-write by host %s (pid %ld) during "
				 "the check: nothing is said about it; check again once it is "
				 "unmounted",
				 f->v->super.name, h.host, h.pid);
			return -EAGAIN;
		}
		if (!f->o->takeover) {
			snprintf(err, errlen,
				 "cannot check: volume %s is held read-write by host %s (pid %ld); "
				 "unmount it first, or --takeover if that host is dead",
				 f->v->super.name, h.host, h.pid);
			return -EBUSY;
		}
		fl_notice("volume %s: fencing writer %s (%s, pid %ld) before the check",
			  f->v->super.name, h.client, h.host, h.pid);
		ret = f->st->ops->blocklist_add(f->st, h.addr, 0);
		if (ret) {
			snprintf(err, errlen, "cannot fence the writer of volume %s at %s: %s",
				 f->v->super.name, h.addr, strerror(-ret));
			return ret;
		}
		snprintf(f->fenced, sizeof(f->fenced), "%s", h.addr);
	}
	ret = fl_obj_read_all(f->st, FL_OID_SUPER, FL_REC_MAX, &raw, &len);
	if (ret) {
		snprintf(err, errlen, "cannot read the superblock of volume %s: %s",
			 f->v->super.name, strerror(-ret));
		return ret;
	}
	if (!end) {
		f->super_raw = raw;
		f->super_len = len;
		return 0;
	}
	if (len != f->super_len || memcmp(raw, f->super_raw, len)) {
		snprintf(err, errlen,
			 "volume %s changed during the check (mounted meanwhile?): nothing is "
			 "said about it; check again",
			 f->v->super.name);
		ret = -EAGAIN;
	}
	free(raw);
	return ret;
}

/* Before the check: a repair takes the writer lock; a read-only check of the
 * live volume only makes sure no writer holds it (taking it writes). */
static int writers_kept_off(struct fsck *f, char *err, size_t errlen)
{
	char held[256];
	int ret;

	if (f->at_snap)
		return 0; /* a snapshot never changes: no writer to fear */
	if (!f->o->repair)
		return ro_guard(f, false, err, errlen);
	ret = fl_volume_lock(f->v, 120, f->o->takeover, err, errlen);
	if (ret == -EBUSY) {
		snprintf(held, sizeof(held), "%s", err);
		snprintf(err, errlen,
			 "cannot check: %s; unmount it first, or --takeover if that host is dead",
			 held);
	}
	return ret;
}

int fl_fsck(struct fl_store *base, const char *name, const struct fl_fsck_opts *o,
	    struct fl_fsck_report *rep, char *err, size_t errlen)
{
	struct fsck f = {0};
	char vol[FL_VOLNAME_MAX + 1], snap[FL_VOLNAME_MAX + 1];
	uint64_t tail_before;
	int ret, at;

	memset(rep, 0, sizeof(*rep));
	f.o = o;
	f.rep = rep;
	f.base = base;
	at = fl_snap_parse(name, vol, sizeof(vol), snap, sizeof(snap));
	if (at < 0) {
		snprintf(err, errlen, "invalid volume name %.200s", name);
		return -EINVAL;
	}
	if (at && o->repair) {
		snprintf(err, errlen, "cannot repair snapshot %s: a snapshot never changes", name);
		return -EROFS;
	}
	ret = fl_volume_open(base, vol, &f.v, err, errlen);
	if (ret)
		return ret;
	f.st = f.v->st;
	if (fl_is_layer(f.st)) {
		struct fl_parent_rec pr;

		if (fl_clone_parent(fl_layer_child(f.st), &pr) > 0)
			snprintf(rep->parent, sizeof(rep->parent), "%s@%s", pr.name, pr.snap);
	}
	/* a clone lists its parent at a snapshot: RADOS names objects made since */
	f.snapshots = f.v->super.snap_seq != 0 || fl_is_layer(f.st);
	if (!at && check_snaps(&f))
		f.snapshots = true;
	if (at) {
		ret = fl_snap_open_at(f.v, snap, err, errlen);
		if (ret)
			goto out;
		f.at_snap = f.snapshots = true;
	}
	ret = writers_kept_off(&f, err, errlen);
	if (ret)
		goto out;
	ret = check_journal(&f);
	if (ret) {
		snprintf(err, errlen, "cannot read the journal of volume %s: %s", name,
			 strerror(-ret));
		goto out;
	}
	if (rep->journal_corrupt && !o->repair) {
		/* a replay would drop what follows the bad record: leave that to --repair */
		ret = 0;
		goto out;
	}
	tail_before = rep->journal_records;
	if (o->repair) {
		ret = replay(&f, err, errlen);
		if (ret)
			goto out;
		ret = load(&f);
		if (ret) {
			snprintf(err, errlen, "cannot read volume %s: %s", name, strerror(-ret));
			goto out;
		}
	} else {
		rep->read_only = true;
		ret = replay_mem(&f, err, errlen);
		if (ret)
			goto out;
	}
	rep->journal_replayed = tail_before;
	check_tree(&f);
	check_rest(&f);
	if (!o->repair && !f.at_snap) {
		ret = ro_guard(&f, true, err, errlen);
		if (ret)
			goto out;
	}
	if (o->progress)
		fprintf(stderr, "\r%60s\r", "");
out:
	fsck_free(&f);
	fl_volume_close(f.v);
	return ret;
}
