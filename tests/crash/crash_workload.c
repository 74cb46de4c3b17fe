/*
 * crash_workload - the workload and the checker of the crash trials.
 *
 *   crash_workload run   --dir MNT --log LOG --seed S [--max-ops N] [--max-ms T] [--pace-us U]
 *                        [--no-syncfs] [--db]
 *   crash_workload check --dir MNT --log LOG [--final] [--verbose]
 *
 * "run" applies a seeded random sequence of changes to the mounted volume at
 * MNT: create, mkdir, symlink, write (with or without fsync/fdatasync),
 * truncate, rename (also over an existing file or an empty directory), link,
 * unlink, rmdir, setxattr, removexattr, chmod, fsync of a directory, syncfs,
 * and files unlinked while open (orphans).  With --db it acts like a database
 * instead: a few files preallocated and fsynced, then mostly overwrites
 * inside them acknowledged by fdatasync or written with O_DSYNC, some
 * appends with fsync or fdatasync, now and then a truncate, a new file or an
 * fsync of the directory.  It keeps a model of the tree and
 * only does what the model says must succeed.  LOG lives outside the volume
 * (local disk, O_APPEND) and gets, in order:
 *
 *   S <seed>                                      once
 *   B <i> <op> <args...>                          before op i runs
 *   E <i> <rc> <errno> [<dead>]                   after it (rc 0 or -1; dead 1: the
 *                                                 mount answered ENOTCONN right after)
 *   A <i> <path> <length> <fnv1a-64 hex>          what op i's fsync acknowledged
 *   K <i>                                         end of op i's acknowledgements
 *
 * A-lines are fsync(2)ed before the workload goes on: for fsync/fdatasync of
 * a file, that file; for fsync of a directory and for syncfs, every regular
 * file of the tree.  The workload stops at the first failing call (the
 * daemon was killed: ENOTCONN), logging it as op i's E-line.
 *
 * "check" runs on the volume remounted after the crash.  It replays LOG into
 * the model and checks:
 *   (a) every acknowledged file, whose data did not change after the
 *       acknowledgement, has exactly the acknowledged length and bytes, under
 *       its acknowledged name unless a later operation moved that name;
 *   (b) no half-done rename: of the renames after the last acknowledgement
 *       whose names nothing else touched, exactly one name holds the file;
 *   (c) every directory lists, every entry stats, every file reads whole,
 *       every symlink reads, every xattr reads;
 *   (e) the namespace (names, types, hard links, link counts, modes,
 *       xattrs, symlink targets) equals the model after some prefix of the
 *       operations that is at least as long as the last fsync, fsync of a
 *       directory or syncfs (the journal is one ordered log: each operation
 *       whole or absent, in order; fdatasync and O_DSYNC writes promise only
 *       their file's data, size and name, which (a) and the data check
 *       hold them to); file contents that changed after their last acknowledgement
 *       must be made of bytes the file held at some moment since then, with
 *       a size it passed through.
 * With --final (after a clean unmount, or a run that saw no crash) every
 * finished operation counts as acknowledged: the tree must be the final
 * state, every file exactly its last contents, and no operation may have
 * failed.
 * (d), fsck, is the driver's job.  Output ends with "N passed, N failed";
 * exit 0 when every check passed, 1 when one failed, 2 on bad usage or a log
 * the checker cannot read.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/xattr.h>

#define MAXINO	   1024 /* model inodes, never reused */
#define MAXENT	   512	/* name slots */
#define MAXLIVE	   64	/* names alive at once */
#define MAXDIRS	   12
#define MAXDEPTH   4
#define MAXFILE	   (256 * 1024)
#define MAXWRITE   (32 * 1024)
#define NXA	   4
#define XAMAX	   48
#define NHELD	   2
#define PATHLEN	   200
#define NAMELEN	   16
#define MAXOPS	   20000
#define OBS_MAX	   (4 << 20)
#define MAX_REPORT 25

/* ---- random numbers ------------------------------------------------------------------------ */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rng;

static uint64_t rnd(uint64_t n)
{
	return n ? splitmix(&rng) % n : 0;
}

/* The bytes a write with generator gen puts down. */
static void fill(unsigned char *buf, size_t len, uint64_t gen)
{
	uint64_t s = gen, v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			v = splitmix(&s);
		buf[i] = (unsigned char)(v >> (8 * (i % 8)));
	}
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "crash_workload: out of memory\n");
		exit(2);
	}
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "crash_workload: out of memory\n");
		exit(2);
	}
	return p;
}

/* Bounded string copy and path join that truncate silently (names here are short). */
static void scopy(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void pjoin(char *dst, size_t len, const char *dir, const char *name)
{
	size_t a = strnlen(dir, len - 1), b;

	memcpy(dst, dir, a);
	if (a && a + 1 < len)
		dst[a++] = '/';
	b = strnlen(name, len - 1 - a);
	memcpy(dst + a, name, b);
	dst[a + b] = '\0';
}

/* ---- operations ---------------------------------------------------------------------------- */

enum opkind {
	OP_CREATE,
	OP_MKDIR,
	OP_SYMLINK,
	OP_WRITE, /* p off len gen sync(n|f|d|o) */
	OP_TRUNC, /* p size */
	OP_RENAME,
	OP_LINK,
	OP_UNLINK,
	OP_RMDIR,
	OP_SETXATTR, /* p name len gen */
	OP_RMXATTR,  /* p name */
	OP_CHMOD,    /* p mode */
	OP_FSYNCDIR, /* p */
	OP_SYNCFS,
	OP_HOLD,    /* p slot: open and keep the descriptor */
	OP_HWRITE,  /* slot off len gen: pwrite through a held descriptor */
	OP_RELEASE, /* slot: close it */
	OP_NKINDS
};

static const char *const opname[OP_NKINDS] = {
	"create",   "mkdir",  "symlink", "write",    "trunc",	"rename",
	"link",	    "unlink", "rmdir",	 "setxattr", "rmxattr", "chmod",
	"fsyncdir", "syncfs", "hold",	 "hwrite",   "release",
};

struct op {
	int kind;
	char p[PATHLEN], q[PATHLEN]; /* paths; q: rename/link target, symlink target, xattr name */
	uint64_t off, len, gen;
	unsigned mode, slot;
	char sync; /* write: 'n' none, 'f' fsync, 'd' fdatasync, 'o' opened O_DSYNC */
	/* from the log */
	bool ended;
	int rc, err;
	bool acked; /* A-lines follow */
};

static int op_format(const struct op *o, char *buf, size_t len)
{
	switch (o->kind) {
	case OP_CREATE:
	case OP_MKDIR:
	case OP_CHMOD:
		return snprintf(buf, len, "%s %s %o", opname[o->kind], o->p, o->mode);
	case OP_SYMLINK:
	case OP_RENAME:
	case OP_LINK:
	case OP_RMXATTR:
		return snprintf(buf, len, "%s %s %s", opname[o->kind], o->p, o->q);
	case OP_WRITE:
		return snprintf(buf, len, "%s %s %" PRIu64 " %" PRIu64 " %" PRIx64 " %c",
				opname[o->kind], o->p, o->off, o->len, o->gen, o->sync);
	case OP_TRUNC:
		return snprintf(buf, len, "%s %s %" PRIu64, opname[o->kind], o->p, o->len);
	case OP_SETXATTR:
		return snprintf(buf, len, "%s %s %s %" PRIu64 " %" PRIx64, opname[o->kind], o->p,
				o->q, o->len, o->gen);
	case OP_UNLINK:
	case OP_RMDIR:
	case OP_FSYNCDIR:
		return snprintf(buf, len, "%s %s", opname[o->kind], o->p);
	case OP_SYNCFS:
		return snprintf(buf, len, "%s", opname[o->kind]);
	case OP_HOLD:
		return snprintf(buf, len, "%s %s %u", opname[o->kind], o->p, o->slot);
	case OP_HWRITE:
		return snprintf(buf, len, "%s %u %" PRIu64 " %" PRIu64 " %" PRIx64, opname[o->kind],
				o->slot, o->off, o->len, o->gen);
	case OP_RELEASE:
		return snprintf(buf, len, "%s %u", opname[o->kind], o->slot);
	}
	return snprintf(buf, len, "?");
}

/* Parses what op_format printed; 0 or -1. */
static int op_parse(const char *s, struct op *o)
{
	char kind[32], a[PATHLEN], b[PATHLEN], c;
	unsigned long long x, y, z;
	unsigned u;
	int k;

	memset(o, 0, sizeof(*o));
	if (sscanf(s, "%31s", kind) != 1)
		return -1;
	for (k = 0; k < OP_NKINDS; k++)
		if (!strcmp(kind, opname[k]))
			break;
	if (k == OP_NKINDS)
		return -1;
	o->kind = k;
	s += strlen(kind);
	switch (k) {
	case OP_CREATE:
	case OP_MKDIR:
	case OP_CHMOD:
		if (sscanf(s, " %199s %o", a, &u) != 2)
			return -1;
		o->mode = u;
		break;
	case OP_SYMLINK:
	case OP_RENAME:
	case OP_LINK:
	case OP_RMXATTR:
		if (sscanf(s, " %199s %199s", a, b) != 2)
			return -1;
		snprintf(o->q, sizeof(o->q), "%s", b);
		break;
	case OP_WRITE:
		if (sscanf(s, " %199s %llu %llu %llx %c", a, &x, &y, &z, &c) != 5)
			return -1;
		o->off = x;
		o->len = y;
		o->gen = z;
		o->sync = c;
		break;
	case OP_TRUNC:
		if (sscanf(s, " %199s %llu", a, &x) != 2)
			return -1;
		o->len = x;
		break;
	case OP_SETXATTR:
		if (sscanf(s, " %199s %199s %llu %llx", a, b, &x, &z) != 4)
			return -1;
		snprintf(o->q, sizeof(o->q), "%s", b);
		o->len = x;
		o->gen = z;
		break;
	case OP_UNLINK:
	case OP_RMDIR:
	case OP_FSYNCDIR:
		if (sscanf(s, " %199s", a) != 1)
			return -1;
		break;
	case OP_SYNCFS:
		a[0] = '\0';
		break;
	case OP_HOLD:
		if (sscanf(s, " %199s %u", a, &u) != 2)
			return -1;
		o->slot = u;
		break;
	case OP_HWRITE:
		if (sscanf(s, " %u %llu %llu %llx", &u, &x, &y, &z) != 4)
			return -1;
		a[0] = '\0';
		o->slot = u;
		o->off = x;
		o->len = y;
		o->gen = z;
		break;
	case OP_RELEASE:
		if (sscanf(s, " %u", &u) != 1)
			return -1;
		a[0] = '\0';
		o->slot = u;
		break;
	}
	if (o->slot >= NHELD)
		return -1;
	snprintf(o->p, sizeof(o->p), "%s", a);
	return 0;
}

/* ---- the model ----------------------------------------------------------------------------- */

struct mino {
	bool used;
	char type; /* 'f' file, 'd' directory, 'l' symlink */
	unsigned mode;
	unsigned char *data;
	size_t size;
	char target[PATHLEN];
	int nxa;
	char xn[NXA][NAMELEN];
	unsigned char xv[NXA][XAMAX];
	size_t xl[NXA];
	int nlinks; /* names */
	int nsub;   /* directories: subdirectories */
	int dent;   /* directories: their entry; -1 for the root */
	int held;   /* descriptors held open */
	/* checker */
	int ack;     /* last op whose acknowledgement covers the data; -1 none */
	int lastchg; /* last op that changed the data; -1 none */
	int born;    /* op that made it */
};

struct ment {
	bool used;
	int dir, ino;
	char name[NAMELEN];
};

struct model {
	struct mino ino[MAXINO];
	struct ment ent[MAXENT];
	int nino, nlive, ndirs;
	int held[NHELD];  /* inode held in each slot, -1 none */
	unsigned counter; /* for new names */
};

static struct model M;

static void model_init(struct model *m)
{
	int i;

	for (i = 0; i < m->nino; i++)
		free(m->ino[i].data);
	memset(m, 0, sizeof(*m));
	m->ino[0].used = true;
	m->ino[0].type = 'd';
	m->ino[0].mode = 0755;
	m->ino[0].nlinks = 1;
	m->ino[0].dent = -1;
	m->ino[0].ack = -1;
	m->ino[0].lastchg = -1;
	m->nino = 1;
	for (i = 0; i < NHELD; i++)
		m->held[i] = -1;
}

/* The entry of name in directory dir, or -1. */
static int ent_find(const struct model *m, int dir, const char *name)
{
	int i;

	for (i = 0; i < MAXENT; i++)
		if (m->ent[i].used && m->ent[i].dir == dir && !strcmp(m->ent[i].name, name))
			return i;
	return -1;
}

/* Resolves a path to its parent directory and last name; -1 if a component is missing. */
static int resolve_parent(const struct model *m, const char *path, int *dir, char *name)
{
	char buf[PATHLEN], *save = NULL, *tok, *next;
	int d = 0;

	snprintf(buf, sizeof(buf), "%s", path);
	tok = strtok_r(buf, "/", &save);
	if (!tok)
		return -1;
	for (;;) {
		int e;

		next = strtok_r(NULL, "/", &save);
		if (!next)
			break;
		e = ent_find(m, d, tok);
		if (e < 0 || m->ino[m->ent[e].ino].type != 'd')
			return -1;
		d = m->ent[e].ino;
		tok = next;
	}
	*dir = d;
	snprintf(name, NAMELEN, "%s", tok);
	return 0;
}

/* The inode at path ("." is the root), or -1. */
static int resolve(const struct model *m, const char *path, int *entp)
{
	char name[NAMELEN];
	int d, e;

	if (entp)
		*entp = -1;
	if (!strcmp(path, "."))
		return 0;
	if (resolve_parent(m, path, &d, name))
		return -1;
	e = ent_find(m, d, name);
	if (e < 0)
		return -1;
	if (entp)
		*entp = e;
	return m->ent[e].ino;
}

/* The path of a directory inode, "" for the root. */
static void dir_path(const struct model *m, int d, char *buf, size_t len)
{
	char tmp[PATHLEN];
	int e = m->ino[d].dent;

	if (d == 0 || e < 0) {
		buf[0] = '\0';
		return;
	}
	dir_path(m, m->ent[e].dir, tmp, sizeof(tmp));
	pjoin(buf, len, tmp, m->ent[e].name);
}

static void ent_path(const struct model *m, int e, char *buf, size_t len)
{
	char tmp[PATHLEN];

	dir_path(m, m->ent[e].dir, tmp, sizeof(tmp));
	pjoin(buf, len, tmp, m->ent[e].name);
}

static int depth_of(const struct model *m, int d)
{
	int n = 0;

	while (d != 0) {
		d = m->ent[m->ino[d].dent].dir;
		n++;
	}
	return n;
}

/* Is inode a (a directory) d itself or above d? */
static bool is_ancestor(const struct model *m, int a, int d)
{
	for (;;) {
		if (d == a)
			return true;
		if (d == 0)
			return false;
		d = m->ent[m->ino[d].dent].dir;
	}
}

static int ino_new(struct model *m, char type, unsigned mode, int born)
{
	struct mino *ip;

	if (m->nino >= MAXINO)
		return -1;
	ip = &m->ino[m->nino];
	memset(ip, 0, sizeof(*ip));
	ip->used = true;
	ip->type = type;
	ip->mode = mode;
	ip->ack = -1;
	ip->lastchg = -1;
	ip->born = born;
	ip->dent = -1;
	return m->nino++;
}

static int ent_add(struct model *m, int dir, const char *name, int ino)
{
	int i;

	for (i = 0; i < MAXENT; i++)
		if (!m->ent[i].used)
			break;
	if (i == MAXENT)
		return -1;
	m->ent[i].used = true;
	m->ent[i].dir = dir;
	m->ent[i].ino = ino;
	snprintf(m->ent[i].name, NAMELEN, "%s", name);
	m->ino[ino].nlinks++;
	if (m->ino[ino].type == 'd') {
		m->ino[ino].dent = i;
		m->ino[dir].nsub++;
		m->ndirs++;
	}
	m->nlive++;
	return i;
}

static void ent_del(struct model *m, int e)
{
	int ino = m->ent[e].ino;

	m->ino[ino].nlinks--;
	if (m->ino[ino].type == 'd') {
		m->ino[m->ent[e].dir].nsub--;
		m->ino[ino].dent = -1;
		m->ndirs--;
	}
	m->ent[e].used = false;
	m->nlive--;
}

static void data_resize(struct mino *ip, size_t size)
{
	if (size > ip->size) {
		ip->data = xrealloc(ip->data, size);
		memset(ip->data + ip->size, 0, size - ip->size);
	}
	ip->size = size;
}

static void data_write(struct mino *ip, uint64_t off, uint64_t len, uint64_t gen)
{
	if (off + len > ip->size)
		data_resize(ip, off + len);
	fill(ip->data + off, len, gen);
}

static int xa_find(const struct mino *ip, const char *name)
{
	int i;

	for (i = 0; i < ip->nxa; i++)
		if (!strcmp(ip->xn[i], name))
			return i;
	return -1;
}

/*
 * Applies op number idx to the model.  Returns the inode whose data changed
 * (or -1), or -2 when the op does not fit the model (a harness bug or a log
 * that does not belong to this run).
 */
static int model_apply(struct model *m, const struct op *o, int idx)
{
	char name[NAMELEN], name2[NAMELEN];
	int d, d2, e, e2, ino, ino2, k;

	switch (o->kind) {
	case OP_CREATE:
	case OP_MKDIR:
	case OP_SYMLINK:
		if (resolve_parent(m, o->p, &d, name) || ent_find(m, d, name) >= 0)
			return -2;
		ino = ino_new(m,
			      o->kind == OP_CREATE  ? 'f'
			      : o->kind == OP_MKDIR ? 'd'
						    : 'l',
			      o->kind == OP_SYMLINK ? 0777 : o->mode, idx);
		if (ino < 0)
			return -2;
		if (o->kind == OP_SYMLINK)
			snprintf(m->ino[ino].target, PATHLEN, "%s", o->q);
		if (ent_add(m, d, name, ino) < 0)
			return -2;
		return -1;
	case OP_WRITE:
		ino = resolve(m, o->p, NULL);
		if (ino < 0 || m->ino[ino].type != 'f')
			return -2;
		if (o->len)
			data_write(&m->ino[ino], o->off, o->len, o->gen);
		return o->len ? ino : -1;
	case OP_HWRITE:
		ino = m->held[o->slot];
		if (ino < 0)
			return -2;
		data_write(&m->ino[ino], o->off, o->len, o->gen);
		return ino;
	case OP_TRUNC:
		ino = resolve(m, o->p, NULL);
		if (ino < 0 || m->ino[ino].type != 'f')
			return -2;
		data_resize(&m->ino[ino], o->len);
		return ino;
	case OP_RENAME:
		ino = resolve(m, o->p, &e);
		if (ino <= 0 || resolve_parent(m, o->q, &d2, name2))
			return -2;
		e2 = ent_find(m, d2, name2);
		if (m->ino[ino].type == 'd' && is_ancestor(m, ino, d2))
			return -2;
		if (e2 >= 0) {
			ino2 = m->ent[e2].ino;
			if (ino2 == ino)
				return -2;
			if (m->ino[ino].type == 'd') {
				if (m->ino[ino2].type != 'd' || m->ino[ino2].nsub)
					return -2;
				for (k = 0; k < MAXENT; k++)
					if (m->ent[k].used && m->ent[k].dir == ino2)
						return -2;
			} else if (m->ino[ino2].type == 'd') {
				return -2;
			}
			ent_del(m, e2);
		}
		d = m->ent[e].dir;
		ent_del(m, e);
		(void)d;
		if (ent_add(m, d2, name2, ino) < 0)
			return -2;
		return -1;
	case OP_LINK:
		ino = resolve(m, o->p, NULL);
		if (ino < 0 || m->ino[ino].type != 'f' || resolve_parent(m, o->q, &d2, name2) ||
		    ent_find(m, d2, name2) >= 0)
			return -2;
		if (ent_add(m, d2, name2, ino) < 0)
			return -2;
		return -1;
	case OP_UNLINK:
		ino = resolve(m, o->p, &e);
		if (ino <= 0 || m->ino[ino].type == 'd')
			return -2;
		ent_del(m, e);
		return -1;
	case OP_RMDIR:
		ino = resolve(m, o->p, &e);
		if (ino <= 0 || m->ino[ino].type != 'd')
			return -2;
		for (k = 0; k < MAXENT; k++)
			if (m->ent[k].used && m->ent[k].dir == ino)
				return -2;
		ent_del(m, e);
		return -1;
	case OP_SETXATTR:
		ino = resolve(m, o->p, NULL);
		if (ino < 0 || m->ino[ino].type == 'l' || o->len > XAMAX)
			return -2;
		k = xa_find(&m->ino[ino], o->q);
		if (k < 0) {
			if (m->ino[ino].nxa >= NXA)
				return -2;
			k = m->ino[ino].nxa++;
			scopy(m->ino[ino].xn[k], NAMELEN, o->q);
		}
		fill(m->ino[ino].xv[k], o->len, o->gen);
		m->ino[ino].xl[k] = o->len;
		return -1;
	case OP_RMXATTR:
		ino = resolve(m, o->p, NULL);
		if (ino < 0)
			return -2;
		k = xa_find(&m->ino[ino], o->q);
		if (k < 0)
			return -2;
		m->ino[ino].nxa--;
		if (k != m->ino[ino].nxa) {
			memcpy(m->ino[ino].xn[k], m->ino[ino].xn[m->ino[ino].nxa], NAMELEN);
			memcpy(m->ino[ino].xv[k], m->ino[ino].xv[m->ino[ino].nxa], XAMAX);
			m->ino[ino].xl[k] = m->ino[ino].xl[m->ino[ino].nxa];
		}
		return -1;
	case OP_CHMOD:
		ino = resolve(m, o->p, NULL);
		if (ino < 0 || m->ino[ino].type == 'l')
			return -2;
		m->ino[ino].mode = o->mode;
		return -1;
	case OP_FSYNCDIR:
		ino = resolve(m, o->p, NULL);
		if (ino < 0 || m->ino[ino].type != 'd')
			return -2;
		return -1;
	case OP_SYNCFS:
		return -1;
	case OP_HOLD:
		ino = resolve(m, o->p, NULL);
		if (ino < 0 || m->ino[ino].type != 'f' || m->held[o->slot] >= 0)
			return -2;
		m->held[o->slot] = ino;
		m->ino[ino].held++;
		return -1;
	case OP_RELEASE:
		ino = m->held[o->slot];
		if (ino < 0)
			return -2;
		m->held[o->slot] = -1;
		m->ino[ino].held--;
		return -1;
	}
	return -2;
}

/* ---- the workload -------------------------------------------------------------------------- */

static const char *mnt;
static int logfd = -1;
static int heldfd[NHELD] = {-1, -1};

static void logline(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void logline(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(logfd, buf, (size_t)n) != n) {
		perror("crash_workload: cannot write the log");
		exit(2);
	}
}

static void log_sync(void)
{
	if (fsync(logfd) < 0) {
		perror("crash_workload: cannot fsync the log");
		exit(2);
	}
}

static void full(const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", mnt, rel);
}

/* Picks a random live entry whose inode type is in types; -1 if none. */
static int pick_ent(const struct model *m, const char *types)
{
	int cand[MAXENT], n = 0, i;

	for (i = 0; i < MAXENT; i++)
		if (m->ent[i].used && strchr(types, m->ino[m->ent[i].ino].type))
			cand[n++] = i;
	return n ? cand[rnd((uint64_t)n)] : -1;
}

/* Picks a random directory (the root included). */
static int pick_dir(const struct model *m)
{
	int e;

	if (rnd(3) == 0)
		return 0;
	e = pick_ent(m, "d");
	return e < 0 ? 0 : m->ent[e].ino;
}

/* A new path in directory d: a fresh name, or now and then a used one (may exist). */
static void new_path(struct model *m, int d, char prefix, char *buf, size_t len)
{
	char dp[PATHLEN];

	dir_path(m, d, dp, sizeof(dp));
	snprintf(buf, len, "%s%s%c%u", dp, dp[0] ? "/" : "", prefix, m->counter++);
}

static bool dir_empty(const struct model *m, int d)
{
	int i;

	for (i = 0; i < MAXENT; i++)
		if (m->ent[i].used && m->ent[i].dir == d)
			return false;
	return true;
}

/* Pending forced ops (the orphan sequence: hold, then unlink). */
static struct op forced[4];
static int nforced;

/* Fills o with a valid random op for the model; false if this kind does not fit now. */
static bool gen_op(struct model *m, struct op *o, bool use_syncfs)
{
	unsigned r = (unsigned)rnd(100);
	int e, e2, d, ino, k;
	char dp[PATHLEN];

	memset(o, 0, sizeof(*o));
	if (nforced) {
		*o = forced[0];
		memmove(forced, forced + 1, sizeof(forced[0]) * (size_t)--nforced);
		return true;
	}
	if (r < 10) { /* create */
		if (m->nlive >= MAXLIVE)
			return false;
		o->kind = OP_CREATE;
		new_path(m, pick_dir(m), 'f', o->p, sizeof(o->p));
		o->mode = rnd(2) ? 0644 : 0600;
		return true;
	}
	if (r < 15) { /* mkdir */
		if (m->nlive >= MAXLIVE || m->ndirs >= MAXDIRS)
			return false;
		d = pick_dir(m);
		if (depth_of(m, d) >= MAXDEPTH)
			return false;
		o->kind = OP_MKDIR;
		new_path(m, d, 'd', o->p, sizeof(o->p));
		o->mode = rnd(2) ? 0755 : 0700;
		return true;
	}
	if (r < 18) { /* symlink */
		if (m->nlive >= MAXLIVE)
			return false;
		o->kind = OP_SYMLINK;
		new_path(m, pick_dir(m), 'l', o->p, sizeof(o->p));
		snprintf(o->q, sizeof(o->q), "target-%u", (unsigned)rnd(100000));
		return true;
	}
	if (r < 48) { /* write, 40% of them with fsync or fdatasync */
		struct mino *ip;

		e = pick_ent(m, "f");
		if (e < 0)
			return false;
		ip = &m->ino[m->ent[e].ino];
		o->kind = OP_WRITE;
		ent_path(m, e, o->p, sizeof(o->p));
		k = (int)rnd(10);
		o->sync = k < 6 ? 'n' : k < 9 ? 'f' : 'd';
		if (o->sync != 'n' && rnd(5) == 0) {
			o->len = 0; /* fsync alone */
			return true;
		}
		o->len = rnd(4) ? 1 + rnd(4096) : 1 + rnd(MAXWRITE);
		switch (rnd(4)) {
		case 0:
			o->off = ip->size; /* append */
			break;
		case 1:
			o->off = rnd(ip->size / 4096 + 2) * 4096;
			break;
		default:
			o->off = rnd(ip->size + 8192);
		}
		if (o->off + o->len > MAXFILE) {
			if (o->len > MAXFILE)
				o->len = MAXFILE;
			o->off = MAXFILE - o->len;
		}
		o->gen = splitmix(&rng);
		return true;
	}
	if (r < 54) { /* truncate */
		e = pick_ent(m, "f");
		if (e < 0)
			return false;
		o->kind = OP_TRUNC;
		ent_path(m, e, o->p, sizeof(o->p));
		o->len = rnd(m->ino[m->ent[e].ino].size + 16384);
		if (o->len > MAXFILE)
			o->len = MAXFILE;
		return true;
	}
	if (r < 64) { /* rename */
		bool isdir = rnd(4) == 0;

		e = pick_ent(m, isdir ? "d" : "fl");
		if (e < 0)
			return false;
		ino = m->ent[e].ino;
		o->kind = OP_RENAME;
		ent_path(m, e, o->p, sizeof(o->p));
		d = pick_dir(m);
		if (isdir && (is_ancestor(m, ino, d) || depth_of(m, d) + 1 > MAXDEPTH))
			return false;
		if (rnd(3) == 0) { /* over an existing name */
			e2 = pick_ent(m, isdir ? "d" : "f");
			if (e2 < 0 || m->ent[e2].ino == ino)
				return false;
			if (m->ino[m->ent[e2].ino].type == 'd' &&
			    (!dir_empty(m, m->ent[e2].ino) || is_ancestor(m, ino, m->ent[e2].dir) ||
			     depth_of(m, m->ent[e2].dir) + 1 > MAXDEPTH))
				return false;
			ent_path(m, e2, o->q, sizeof(o->q));
		} else {
			new_path(m, d,
				 isdir			   ? 'd'
				 : m->ino[ino].type == 'l' ? 'l'
							   : 'f',
				 o->q, sizeof(o->q));
		}
		return true;
	}
	if (r < 69) { /* link */
		if (m->nlive >= MAXLIVE)
			return false;
		e = pick_ent(m, "f");
		if (e < 0)
			return false;
		o->kind = OP_LINK;
		ent_path(m, e, o->p, sizeof(o->p));
		new_path(m, pick_dir(m), 'f', o->q, sizeof(o->q));
		return true;
	}
	if (r < 76) { /* unlink */
		e = pick_ent(m, "fl");
		if (e < 0)
			return false;
		o->kind = OP_UNLINK;
		ent_path(m, e, o->p, sizeof(o->p));
		return true;
	}
	if (r < 79) { /* rmdir */
		e = pick_ent(m, "d");
		if (e < 0 || !dir_empty(m, m->ent[e].ino))
			return false;
		o->kind = OP_RMDIR;
		ent_path(m, e, o->p, sizeof(o->p));
		return true;
	}
	if (r < 84) { /* setxattr */
		e = pick_ent(m, "fd");
		o->kind = OP_SETXATTR;
		if (e < 0)
			snprintf(o->p, sizeof(o->p), ".");
		else
			ent_path(m, e, o->p, sizeof(o->p));
		snprintf(o->q, sizeof(o->q), "user.%c", (char)('a' + rnd(NXA)));
		o->len = rnd(XAMAX + 1);
		o->gen = splitmix(&rng);
		return true;
	}
	if (r < 86) { /* removexattr */
		e = pick_ent(m, "fd");
		if (e < 0 || !m->ino[m->ent[e].ino].nxa)
			return false;
		o->kind = OP_RMXATTR;
		ent_path(m, e, o->p, sizeof(o->p));
		k = (int)rnd((uint64_t)m->ino[m->ent[e].ino].nxa);
		snprintf(o->q, sizeof(o->q), "%s", m->ino[m->ent[e].ino].xn[k]);
		return true;
	}
	if (r < 89) { /* chmod */
		static const unsigned fmodes[] = {0600, 0644, 0640, 0755, 0700};
		static const unsigned dmodes[] = {0755, 0700, 0750, 0711};

		e = pick_ent(m, "fd");
		if (e < 0)
			return false;
		o->kind = OP_CHMOD;
		ent_path(m, e, o->p, sizeof(o->p));
		o->mode = m->ino[m->ent[e].ino].type == 'd' ? dmodes[rnd(4)] : fmodes[rnd(5)];
		return true;
	}
	if (r < 92) { /* fsync of a directory */
		d = pick_dir(m);
		o->kind = OP_FSYNCDIR;
		dir_path(m, d, dp, sizeof(dp));
		snprintf(o->p, sizeof(o->p), "%s", dp[0] ? dp : ".");
		return true;
	}
	if (r < 93) {
		if (!use_syncfs)
			return false;
		o->kind = OP_SYNCFS;
		return true;
	}
	if (r < 96) { /* orphan: create, write, hold, unlink */
		for (k = 0; k < NHELD; k++)
			if (m->held[k] < 0)
				break;
		if (k == NHELD || m->nlive >= MAXLIVE)
			return false;
		o->kind = OP_CREATE;
		new_path(m, pick_dir(m), 'o', o->p, sizeof(o->p));
		o->mode = 0644;
		memset(forced, 0, sizeof(forced));
		forced[0].kind = OP_WRITE;
		snprintf(forced[0].p, sizeof(forced[0].p), "%s", o->p);
		forced[0].len = 1 + rnd(3 * 65536);
		forced[0].gen = splitmix(&rng);
		forced[0].sync = rnd(2) ? 'n' : 'f';
		forced[1].kind = OP_HOLD;
		snprintf(forced[1].p, sizeof(forced[1].p), "%s", o->p);
		forced[1].slot = (unsigned)k;
		forced[2].kind = OP_UNLINK;
		snprintf(forced[2].p, sizeof(forced[2].p), "%s", o->p);
		nforced = 3;
		return true;
	}
	/* write through, or release, a held descriptor */
	for (k = 0; k < NHELD; k++)
		if (m->held[k] >= 0)
			break;
	if (k == NHELD)
		return false;
	if (rnd(3) == 0) {
		o->kind = OP_RELEASE;
		o->slot = (unsigned)k;
		return true;
	}
	o->kind = OP_HWRITE;
	o->slot = (unsigned)k;
	o->off = rnd(m->ino[m->held[k]].size + 4096);
	o->len = 1 + rnd(16384);
	if (o->off + o->len > MAXFILE)
		o->off = MAXFILE - o->len;
	o->gen = splitmix(&rng);
	return true;
}

/* --db: a few files like a database's WAL segments and tables. */
#define DB_FILES  3
#define DB_PREPAG (96 * 1024) /* preallocated in three 32 KiB writes, the last fsynced */

static bool gen_db_op(struct model *m, struct op *o)
{
	unsigned r = (unsigned)rnd(100);
	char name[16];
	int e, k, i;
	struct mino *ip;

	memset(o, 0, sizeof(*o));
	if (nforced) {
		*o = forced[0];
		memmove(forced, forced + 1, sizeof(forced[0]) * (size_t)--nforced);
		return true;
	}
	k = (int)rnd(DB_FILES);
	snprintf(name, sizeof(name), "db%d", k);
	e = ent_find(m, 0, name);
	if (e < 0 || r < 2) { /* a new (or recreated) preallocated file */
		if (e >= 0) {
			o->kind = OP_UNLINK;
			snprintf(o->p, sizeof(o->p), "%s", name);
			return true;
		}
		o->kind = OP_CREATE;
		snprintf(o->p, sizeof(o->p), "%s", name);
		o->mode = 0600;
		memset(forced, 0, sizeof(forced));
		for (i = 0; i < 3; i++) {
			forced[i].kind = OP_WRITE;
			snprintf(forced[i].p, sizeof(forced[i].p), "%s", name);
			forced[i].off = (uint64_t)i * (DB_PREPAG / 3);
			forced[i].len = DB_PREPAG / 3;
			forced[i].gen = splitmix(&rng);
			forced[i].sync = i == 2 ? 'f' : 'n';
		}
		nforced = 3;
		return true;
	}
	ip = &m->ino[m->ent[e].ino];
	snprintf(o->p, sizeof(o->p), "%s", name);
	if (r < 4) { /* fsync of the directory */
		o->kind = OP_FSYNCDIR;
		snprintf(o->p, sizeof(o->p), ".");
		return true;
	}
	if (r < 6) { /* truncate, mostly within the file */
		o->kind = OP_TRUNC;
		o->len = rnd(ip->size + 16384);
		if (o->len > MAXFILE)
			o->len = MAXFILE;
		return true;
	}
	o->kind = OP_WRITE;
	o->gen = splitmix(&rng);
	if (r < 16 && ip->size + 8192 <= MAXFILE) { /* append, synced */
		o->off = ip->size;
		o->len = rnd(4) ? 8192 : 1 + rnd(8192);
		o->sync = rnd(2) ? 'f' : rnd(2) ? 'd' : 'o';
		return true;
	}
	if (ip->size < 8192)
		o->len = 1 + rnd(ip->size ? ip->size : 1);
	else
		o->len = rnd(4) ? 8192 : 1 + rnd(8192);
	/* overwrite inside the file: 8 KiB pages, now and then unaligned */
	if (ip->size <= o->len)
		o->off = 0;
	else if (rnd(4))
		o->off = rnd((ip->size - o->len) / 8192 + 1) * 8192;
	else
		o->off = rnd(ip->size - o->len + 1);
	k = (int)rnd(20);
	o->sync = k < 12 ? 'd' : k < 16 ? 'o' : k < 18 ? 'f' : 'n';
	return true;
}

/* Logs the A-lines of an acknowledgement of op idx; ino -1: every regular file. */
static void log_acks(struct model *m, int idx, int ino)
{
	char path[PATHLEN];
	int i;

	for (i = 0; i < MAXENT; i++) {
		struct mino *ip;

		if (!m->ent[i].used)
			continue;
		ip = &m->ino[m->ent[i].ino];
		if (ip->type != 'f' || (ino >= 0 && m->ent[i].ino != ino))
			continue;
		ent_path(m, i, path, sizeof(path));
		logline("A %d %s %zu %016" PRIx64, idx, path, ip->size, fnv1a(ip->data, ip->size));
	}
	logline("K %d", idx);
	log_sync();
}

static int do_write(int fd, const struct op *o)
{
	unsigned char *buf;
	ssize_t n;
	int err = 0;

	if (!o->len)
		return 0;
	buf = xmalloc(o->len);
	fill(buf, o->len, o->gen);
	n = pwrite(fd, buf, o->len, (off_t)o->off);
	if (n < 0)
		err = errno;
	else if ((uint64_t)n != o->len)
		err = EIO; /* a short write to a small file: never expected */
	free(buf);
	return err;
}

/* Runs op idx on the volume; 0 or an errno. */
static int execute(struct model *m, const struct op *o, int idx)
{
	char a[PATHLEN + 256], b[PATHLEN + 256];
	int fd, err = 0;

	full(o->p, a, sizeof(a));
	full(o->q, b, sizeof(b));
	switch (o->kind) {
	case OP_CREATE:
		fd = open(a, O_CREAT | O_EXCL | O_WRONLY, o->mode);
		if (fd < 0)
			return errno;
		return close(fd) < 0 ? errno : 0;
	case OP_MKDIR:
		return mkdir(a, o->mode) < 0 ? errno : 0;
	case OP_SYMLINK:
		return symlink(o->q, a) < 0 ? errno : 0;
	case OP_WRITE:
		fd = open(a, O_WRONLY | (o->sync == 'o' ? O_DSYNC : 0));
		if (fd < 0)
			return errno;
		err = do_write(fd, o);
		if (!err && o->sync != 'n') {
			/* 'o': the write itself was synchronous */
			if (o->sync != 'o' && (o->sync == 'f' ? fsync(fd) : fdatasync(fd)) < 0) {
				err = errno;
			} else {
				/* acknowledged: the model after this op is what must stay */
				if (model_apply(m, o, idx) == -2) {
					fprintf(stderr, "crash_workload: model rejects op %d\n",
						idx);
					exit(2);
				}
				log_acks(m, idx, resolve(m, o->p, NULL));
				if (close(fd) < 0)
					return -errno; /* negative: already applied to the model */
				return -1000;
			}
		}
		if (close(fd) < 0 && !err)
			err = errno;
		return err;
	case OP_TRUNC:
		return truncate(a, (off_t)o->len) < 0 ? errno : 0;
	case OP_RENAME:
		return rename(a, b) < 0 ? errno : 0;
	case OP_LINK:
		return link(a, b) < 0 ? errno : 0;
	case OP_UNLINK:
		return unlink(a) < 0 ? errno : 0;
	case OP_RMDIR:
		return rmdir(a) < 0 ? errno : 0;
	case OP_SETXATTR: {
		unsigned char v[XAMAX];

		fill(v, o->len, o->gen);
		return lsetxattr(a, o->q, v, o->len, 0) < 0 ? errno : 0;
	}
	case OP_RMXATTR:
		return lremovexattr(a, o->q) < 0 ? errno : 0;
	case OP_CHMOD:
		return chmod(a, o->mode) < 0 ? errno : 0;
	case OP_FSYNCDIR:
	case OP_SYNCFS:
		fd = open(o->kind == OP_SYNCFS ? mnt : a, O_RDONLY | O_DIRECTORY);
		if (fd < 0)
			return errno;
		if ((o->kind == OP_SYNCFS ? syncfs(fd) : fsync(fd)) < 0) {
			err = errno;
			close(fd);
			return err;
		}
		if (model_apply(m, o, idx) == -2) {
			fprintf(stderr, "crash_workload: model rejects op %d\n", idx);
			exit(2);
		}
		log_acks(m, idx, -1);
		if (close(fd) < 0)
			return -errno;
		return -1000;
	case OP_HOLD:
		fd = open(a, O_RDWR);
		if (fd < 0)
			return errno;
		heldfd[o->slot] = fd;
		return 0;
	case OP_HWRITE:
		return do_write(heldfd[o->slot], o);
	case OP_RELEASE:
		fd = heldfd[o->slot];
		heldfd[o->slot] = -1;
		return close(fd) < 0 ? errno : 0;
	}
	return EINVAL;
}

/* 1 when the mount's daemon is gone: statfs always asks the daemon (stat
 * could answer from the attribute cache). */
static int mount_dead(void)
{
	struct statfs sf;

	if (statfs(mnt, &sf) == 0)
		return 0;
	return errno == ENOTCONN || errno == ECONNABORTED;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cmd_run(const char *logpath, uint64_t seed, long max_ops, long max_ms, bool use_syncfs,
		   long pace_us, bool db)
{
	struct op o;
	char line[PATHLEN * 2 + 100];
	int64_t t0 = now_ms();
	long idx;

	logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0644);
	if (logfd < 0) {
		fprintf(stderr, "crash_workload: cannot open log %s: %s\n", logpath,
			strerror(errno));
		return 2;
	}
	umask(0);
	rng = seed;
	model_init(&M);
	logline("S %" PRIu64, seed);
	log_sync();
	for (idx = 0; idx < max_ops && now_ms() - t0 < max_ms; idx++) {
		int err;

		if (pace_us > 0)
			usleep((useconds_t)pace_us);
		while (!(db ? gen_db_op(&M, &o) : gen_op(&M, &o, use_syncfs)))
			;
		op_format(&o, line, sizeof(line));
		logline("B %ld %s", idx, line);
		err = execute(&M, &o, (int)idx);
		if (err == -1000) {
			logline("E %ld 0 0", idx);
			continue; /* acknowledged; the model has it */
		}
		if (err < 0) {
			logline("E %ld -1 %d %d", idx, -err, mount_dead());
			log_sync();
			printf("crash_workload: op %ld (%s) failed after its acknowledgement: %s\n",
			       idx, line, strerror(-err));
			return 0;
		}
		if (err) {
			/* was it the daemon dying?  Then the mount answers ENOTCONN */
			logline("E %ld -1 %d %d", idx, err, mount_dead());
			log_sync();
			printf("crash_workload: stopped at op %ld (%s): %s\n", idx, line,
			       strerror(err));
			return 0;
		}
		logline("E %ld 0 0", idx);
		if (model_apply(&M, &o, (int)idx) == -2) {
			fprintf(stderr, "crash_workload: model rejects op %ld (%s)\n", idx, line);
			return 2;
		}
	}
	log_sync();
	printf("crash_workload: %ld ops done, no crash seen\n", idx);
	return 0;
}

/* ---- the observed tree --------------------------------------------------------------------- */

struct obs {
	char path[PATHLEN]; /* "." for the root */
	char type;
	ino_t ino;
	nlink_t nlink;
	unsigned mode;
	off_t size;
	unsigned char *data; /* files */
	size_t dlen;
	char target[PATHLEN];
	char xattrs[512]; /* "name=hex;..." sorted */
};

static struct obs *obs;
static size_t nobs, capobs;
static int nfail, npass;
static bool verbose;

static void failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void failf(const char *fmt, ...)
{
	va_list ap;

	nfail++;
	if (nfail > MAX_REPORT) {
		if (nfail == MAX_REPORT + 1)
			printf("FAIL: (more failures not shown)\n");
		return;
	}
	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void hex(char *out, size_t outlen, const unsigned char *p, size_t n)
{
	size_t i, k = 0;

	out[0] = '\0';
	for (i = 0; i < n && k + 3 < outlen; i++)
		k += (size_t)snprintf(out + k, outlen - k, "%02x", p[i]);
}

/* Serializes user.* xattrs, sorted by name. */
static void xattr_string(char *out, size_t outlen, char names[][NAMELEN],
			 unsigned char vals[][XAMAX], const size_t *lens, int n)
{
	const char *order[NXA + 8];
	int i, j;
	size_t k = 0;

	out[0] = '\0';
	for (i = 0; i < n; i++)
		order[i] = names[i];
	qsort(order, (size_t)n, sizeof(order[0]), cmp_str);
	for (i = 0; i < n; i++) {
		char h[2 * XAMAX + 1];

		for (j = 0; j < n; j++)
			if (names[j] == order[i])
				break;
		hex(h, sizeof(h), vals[j], lens[j]);
		k += (size_t)snprintf(out + k, outlen > k ? outlen - k : 0, "%s=%s;", names[j], h);
	}
}

static void scan_xattrs(const char *full, struct obs *ob)
{
	char list[1024], names[NXA + 8][NAMELEN];
	unsigned char vals[NXA + 8][XAMAX];
	size_t lens[NXA + 8];
	ssize_t n, off;
	int cnt = 0;

	n = llistxattr(full, list, sizeof(list));
	if (n < 0) {
		failf("(c) listxattr %s: %s", ob->path, strerror(errno));
		return;
	}
	for (off = 0; off < n; off += (ssize_t)strlen(list + off) + 1) {
		ssize_t v;

		if (strncmp(list + off, "user.", 5))
			continue;
		if (cnt >= NXA + 8) {
			failf("(c) %s has more than %d user xattrs", ob->path, NXA + 8);
			break;
		}
		snprintf(names[cnt], NAMELEN, "%s", list + off);
		v = lgetxattr(full, list + off, vals[cnt], XAMAX);
		if (v < 0) {
			failf("(c) getxattr %s %s: %s", ob->path, list + off, strerror(errno));
			continue;
		}
		lens[cnt++] = (size_t)v;
	}
	xattr_string(ob->xattrs, sizeof(ob->xattrs), names, vals, lens, cnt);
}

static void scan(const char *rel)
{
	char full[PATHLEN + 256];
	struct stat st;
	struct obs *ob;
	size_t me;

	snprintf(full, sizeof(full), "%s/%s", mnt, rel);
	if (lstat(full, &st) < 0) {
		failf("(c) stat %s: %s", rel, strerror(errno));
		return;
	}
	if (nobs == capobs) {
		capobs = capobs ? capobs * 2 : 64;
		obs = xrealloc(obs, capobs * sizeof(*obs));
	}
	me = nobs++;
	ob = &obs[me];
	memset(ob, 0, sizeof(*ob));
	snprintf(ob->path, sizeof(ob->path), "%s", rel);
	ob->ino = st.st_ino;
	ob->nlink = st.st_nlink;
	ob->mode = st.st_mode & 07777;
	ob->size = st.st_size;
	if (S_ISREG(st.st_mode)) {
		int fd = open(full, O_RDONLY);

		ob->type = 'f';
		if (fd < 0) {
			failf("(c) open %s: %s", rel, strerror(errno));
		} else if (st.st_size > OBS_MAX) {
			failf("(e) %s is %lld bytes, larger than any file the workload writes", rel,
			      (long long)st.st_size);
			close(fd);
		} else {
			size_t got = 0;
			ssize_t n;

			ob->data = xmalloc((size_t)st.st_size + 1);
			while ((n = pread(fd, ob->data + got, (size_t)st.st_size + 1 - got,
					  (off_t)got)) > 0)
				got += (size_t)n;
			if (n < 0)
				failf("(c) read %s at %zu: %s", rel, got, strerror(errno));
			else if (got != (size_t)st.st_size)
				failf("(c) read %s: %zu bytes, stat says %lld", rel, got,
				      (long long)st.st_size);
			ob->dlen = got;
			close(fd);
		}
		scan_xattrs(full, ob);
	} else if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlink(full, ob->target, sizeof(ob->target) - 1);

		ob->type = 'l';
		if (n < 0)
			failf("(c) readlink %s: %s", rel, strerror(errno));
		else
			ob->target[n] = '\0';
	} else if (S_ISDIR(st.st_mode)) {
		DIR *dir;
		struct dirent *de;
		char **names = NULL;
		size_t nn = 0, i;

		ob->type = 'd';
		scan_xattrs(full, ob);
		dir = opendir(full);
		if (!dir) {
			failf("(c) opendir %s: %s", rel, strerror(errno));
			return;
		}
		errno = 0;
		while ((de = readdir(dir))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			names = xrealloc(names, (nn + 1) * sizeof(*names));
			names[nn++] = strdup(de->d_name);
			errno = 0;
		}
		if (errno)
			failf("(c) readdir %s: %s", rel, strerror(errno));
		closedir(dir);
		if (nn) /* an empty directory: names is NULL */
			qsort(names, nn, sizeof(*names), cmp_str);
		for (i = 0; i < nn; i++) {
			char sub[PATHLEN];

			if (i && !strcmp(names[i], names[i - 1]))
				failf("(c) directory %s lists %s twice", rel, names[i]);
			if (strcmp(rel, "."))
				snprintf(sub, sizeof(sub), "%s/%s", rel, names[i]);
			else
				snprintf(sub, sizeof(sub), "%s", names[i]);
			scan(sub);
		}
		for (i = 0; i < nn; i++)
			free(names[i]);
		free(names);
	} else {
		ob->type = '?';
		failf("(e) %s has unexpected file type %o", rel, st.st_mode & S_IFMT);
	}
}

static struct obs *obs_find(const char *path)
{
	size_t i;

	for (i = 0; i < nobs; i++)
		if (!strcmp(obs[i].path, path))
			return &obs[i];
	return NULL;
}

/* ---- the checker --------------------------------------------------------------------------- */

struct ack {
	int op;
	char path[PATHLEN];
	size_t len;
	uint64_t hash;
};

static struct op *ops;
static int nops;
static struct ack *acks;
static int nacks;
static bool ack_end[MAXOPS]; /* K-line seen */

/* The namespace of the model as a list of entries comparable with obs[]. */
struct ment_view {
	char path[PATHLEN];
	int ino;
};

static int cmp_view(const void *a, const void *b)
{
	return strcmp(((const struct ment_view *)a)->path, ((const struct ment_view *)b)->path);
}

static int model_view(const struct model *m, struct ment_view *v)
{
	int i, n = 0;

	snprintf(v[n].path, PATHLEN, ".");
	v[n++].ino = 0;
	for (i = 0; i < MAXENT; i++) {
		if (!m->ent[i].used)
			continue;
		ent_path(m, i, v[n].path, PATHLEN);
		v[n++].ino = m->ent[i].ino;
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_view);
	return n;
}

static int cmp_obs(const void *a, const void *b)
{
	return strcmp(((const struct obs *)a)->path, ((const struct obs *)b)->path);
}

/*
 * Compares the namespace of m with the observed tree.  Returns the number of
 * differences; prints up to max of them.  map[model ino] gets the obs index.
 */
static int ns_compare(const struct model *m, int *map, int max, const char *tag)
{
	static struct ment_view v[MAXENT + 1];
	int n = model_view(m, v), diffs = 0, i;
	size_t k = 0;
	char xs[512];

#define DIFF(...)                                                                                  \
	do {                                                                                       \
		if (diffs++ < max) {                                                               \
			printf("  %s: ", tag);                                                     \
			printf(__VA_ARGS__);                                                       \
			printf("\n");                                                              \
		}                                                                                  \
	} while (0)

	for (i = 0; i < MAXINO; i++)
		map[i] = -1;
	i = 0;
	while (i < n || k < nobs) {
		int c = i >= n ? 1 : k >= nobs ? -1 : strcmp(v[i].path, obs[k].path);
		const struct mino *ip;
		struct obs *ob;

		if (c < 0) {
			DIFF("%s missing (want type %c)", v[i].path, m->ino[v[i].ino].type);
			i++;
			continue;
		}
		if (c > 0) {
			DIFF("%s present (type %c), not expected", obs[k].path, obs[k].type);
			k++;
			continue;
		}
		ip = &m->ino[v[i].ino];
		ob = &obs[k];
		if (ip->type != ob->type) {
			DIFF("%s is type %c, want %c", ob->path, ob->type, ip->type);
			goto next;
		}
		if (map[v[i].ino] >= 0 && obs[map[v[i].ino]].ino != ob->ino)
			DIFF("%s and %s should be one inode (hard links), are %lu and %lu",
			     obs[map[v[i].ino]].path, ob->path,
			     (unsigned long)obs[map[v[i].ino]].ino, (unsigned long)ob->ino);
		map[v[i].ino] = (int)k;
		if (ip->type != 'l' && ip->mode != ob->mode)
			DIFF("%s mode %o, want %o", ob->path, ob->mode, ip->mode);
		if (ip->type == 'f' && (nlink_t)ip->nlinks != ob->nlink)
			DIFF("%s has %lu links, want %d", ob->path, (unsigned long)ob->nlink,
			     ip->nlinks);
		if (ip->type == 'd' && (nlink_t)(2 + ip->nsub) != ob->nlink)
			DIFF("directory %s has %lu links, want %d", ob->path,
			     (unsigned long)ob->nlink, 2 + ip->nsub);
		if (ip->type == 'l' && strcmp(ip->target, ob->target))
			DIFF("symlink %s points to '%s', want '%s'", ob->path, ob->target,
			     ip->target);
		if (ip->type != 'l') {
			xattr_string(xs, sizeof(xs), (char(*)[NAMELEN])ip->xn,
				     (unsigned char(*)[XAMAX])ip->xv, ip->xl, ip->nxa);
			if (strcmp(xs, ob->xattrs))
				DIFF("%s xattrs '%s', want '%s'", ob->path, ob->xattrs, xs);
		}
	next:
		i++;
		k++;
	}
	/* distinct model inodes must be distinct real inodes */
	for (i = 0; i < MAXINO; i++) {
		int j;

		if (map[i] < 0)
			continue;
		for (j = i + 1; j < MAXINO; j++)
			if (map[j] >= 0 && obs[map[j]].ino == obs[map[i]].ino)
				DIFF("%s and %s are one inode (%lu), should be two",
				     obs[map[i]].path, obs[map[j]].path,
				     (unsigned long)obs[map[i]].ino);
	}
#undef DIFF
	return diffs;
}

static int read_log(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	int capops = 0, capacks = 0, lineno = 0;

	if (!f) {
		fprintf(stderr, "crash_workload: cannot open log %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		int i, rc, err;
		char *rest;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == 'S')
			continue;
		if (line[0] == 'B') {
			if (sscanf(line, "B %d", &i) != 1 || i != nops || nops >= MAXOPS)
				goto bad;
			rest = strchr(line + 2, ' ');
			if (!rest)
				goto bad;
			if (nops == capops) {
				capops = capops ? capops * 2 : 256;
				ops = xrealloc(ops, (size_t)capops * sizeof(*ops));
			}
			if (op_parse(rest + 1, &ops[nops]))
				goto bad;
			ops[nops].rc = -1;
			nops++;
		} else if (line[0] == 'E') {
			if (sscanf(line, "E %d %d %d", &i, &rc, &err) != 3 || i != nops - 1)
				goto bad;
			ops[i].ended = true;
			ops[i].rc = rc;
			ops[i].err = err;
		} else if (line[0] == 'A') {
			struct ack a;
			unsigned long long h;
			char p[PATHLEN];

			if (sscanf(line, "A %d %199s %zu %llx", &a.op, p, &a.len, &h) != 4 ||
			    a.op != nops - 1)
				goto bad;
			snprintf(a.path, sizeof(a.path), "%s", p);
			a.hash = h;
			if (nacks == capacks) {
				capacks = capacks ? capacks * 2 : 256;
				acks = xrealloc(acks, (size_t)capacks * sizeof(*acks));
			}
			acks[nacks++] = a;
		} else if (line[0] == 'K') {
			if (sscanf(line, "K %d", &i) != 1 || i != nops - 1)
				goto bad;
			ack_end[i] = true;
			ops[i].acked = true;
		} else if (line[0]) {
			goto bad;
		}
	}
	fclose(f);
	return 0;
bad:
	fprintf(stderr, "crash_workload: %s:%d: cannot parse '%s'\n", path, lineno, line);
	fclose(f);
	return -1;
}

/* Does op o name path p, or a directory above it, or something below it? */
static bool op_touches(const struct op *o, const char *p)
{
	const char *names[2] = {o->p, o->q};
	int i;

	if (o->kind == OP_SYNCFS || o->kind == OP_HWRITE || o->kind == OP_RELEASE ||
	    o->kind == OP_FSYNCDIR)
		return false;
	for (i = 0; i < 2; i++) {
		size_t n = strlen(names[i]);

		if (!n || (i == 1 && (o->kind == OP_SYMLINK || o->kind == OP_SETXATTR ||
				      o->kind == OP_RMXATTR)))
			continue;
		if (!strcmp(names[i], p))
			return true;
		if (!strncmp(names[i], p, n) && p[n] == '/')
			return true;
		if (!strncmp(p, names[i], strlen(p)) && names[i][strlen(p)] == '/')
			return true;
	}
	return false;
}

static bool op_changes_ns(const struct op *o)
{
	return o->kind != OP_WRITE && o->kind != OP_HWRITE && o->kind != OP_TRUNC &&
	       o->kind != OP_FSYNCDIR && o->kind != OP_SYNCFS && o->kind != OP_HOLD &&
	       o->kind != OP_RELEASE && o->kind != OP_SETXATTR && o->kind != OP_RMXATTR &&
	       o->kind != OP_CHMOD;
}

static void print_ops(int from, int to)
{
	char line[PATHLEN * 2 + 100];
	int i;

	if (from < 0)
		from = 0;
	for (i = from; i < to && i < nops; i++) {
		op_format(&ops[i], line, sizeof(line));
		printf("    op %d: %s%s%s\n", i, line,
		       ops[i].acked    ? "  [acknowledged]"
		       : !ops[i].ended ? "  [no result]"
		       : ops[i].rc     ? "  [failed]"
				       : "",
		       "");
	}
}

/* Says which logged write put down the bytes at ob->data[k...], if any did. */
static void explain_bytes(const struct obs *ob, size_t k)
{
	size_t n = ob->dlen - k < 16 ? ob->dlen - k : 16;
	bool zero = true, found = false;
	size_t z;
	int i;

	for (z = 0; z < n; z++)
		if (ob->data[k + z])
			zero = false;
	if (zero) {
		printf("    bytes %zu..%zu of %s are zeros\n", k, k + n - 1, ob->path);
		return;
	}
	for (i = 0; i < nops && n >= 8; i++) {
		unsigned char *buf, *hit;

		if (ops[i].kind != OP_WRITE && ops[i].kind != OP_HWRITE)
			continue;
		if (!ops[i].len)
			continue;
		buf = xmalloc(ops[i].len);
		fill(buf, ops[i].len, ops[i].gen);
		hit = memmem(buf, ops[i].len, ob->data + k, n);
		if (hit) {
			char line[PATHLEN * 2 + 100];

			op_format(&ops[i], line, sizeof(line));
			printf("    bytes at %zu of %s were written by op %d (%s), at file offset %" PRIu64
			       "\n",
			       k, ob->path, i, line, ops[i].off + (uint64_t)(hit - buf));
			found = true;
		}
		free(buf);
	}
	if (!found)
		printf("    bytes at %zu of %s were written by no logged write\n", k, ob->path);
}

/* Prints the byte ranges where ob differs from want. */
static void diff_ranges(const struct obs *ob, const unsigned char *want, size_t wlen)
{
	size_t k = 0, n = ob->dlen < wlen ? ob->dlen : wlen;
	int shown = 0;

	while (k < n && shown < 8) {
		size_t a, zeros = 0;

		if (ob->data[k] == want[k]) {
			k++;
			continue;
		}
		a = k;
		while (k < n && ob->data[k] != want[k]) {
			zeros += !ob->data[k];
			k++;
		}
		printf("    differs at bytes %zu..%zu (%zu of them zero)\n", a, k - 1, zeros);
		shown++;
	}
}

/* Data checks against a model state whose namespace matched; returns the failures. */
static int data_check(const int *mapj, bool report)
{
	static struct model m2;
	static unsigned char *matched[MAXINO];
	static size_t minsz[MAXINO], maxsz[MAXINO];
	static bool track[MAXINO];
	int fails = 0, i, id;

	for (i = 0; i < MAXINO; i++) {
		track[i] = false;
		free(matched[i]);
		matched[i] = NULL;
	}
	for (id = 0; id < M.nino; id++) {
		if (mapj[id] < 0 || M.ino[id].type != 'f')
			continue;
		/* M holds the whole log: exact when nothing changed the data after its ack */
		if (M.ino[id].ack >= 0 && M.ino[id].lastchg <= M.ino[id].ack) {
			struct obs *ob = &obs[mapj[id]];

			if (ob->dlen != M.ino[id].size ||
			    (ob->dlen && memcmp(ob->data, M.ino[id].data, ob->dlen))) {
				size_t k = 0, j, ndiff = 0;

				while (k < ob->dlen && k < M.ino[id].size &&
				       ob->data[k] == M.ino[id].data[k])
					k++;
				for (j = 0; j < M.ino[id].size; j++)
					if (j >= ob->dlen || ob->data[j] != M.ino[id].data[j])
						ndiff++;
				fails++;
				if (report) {
					failf("(a) %s: acknowledged at op %d with %zu bytes, unchanged since; has %zu bytes, first difference at byte %zu; %zu acknowledged bytes lost",
					      ob->path, M.ino[id].ack, M.ino[id].size, ob->dlen, k,
					      ndiff);
					if (k < ob->dlen)
						explain_bytes(ob, k);
					diff_ranges(ob, M.ino[id].data, M.ino[id].size);
				}
			}
			continue;
		}
		track[id] = true;
		matched[id] = calloc(obs[mapj[id]].dlen + 1, 1);
		if (!matched[id])
			exit(2);
	}
	/* replay: mark bytes the file held at some moment since its last acknowledgement */
	model_init(&m2);
	for (i = 0; i <= nops; i++) {
		int last = i - 1; /* the state after op last */

		for (id = 0; id < m2.nino; id++) {
			const struct mino *ip = &m2.ino[id];
			struct obs *ob;
			size_t k;
			int from;

			if (!track[id])
				continue;
			from = M.ino[id].ack >= 0 ? M.ino[id].ack : M.ino[id].born;
			if (last < from)
				continue;
			if (last == from || ip->size < minsz[id])
				minsz[id] = ip->size;
			if (last == from || ip->size > maxsz[id])
				maxsz[id] = ip->size;
			ob = &obs[mapj[id]];
			/* a byte matches a state only within that state's size: zeros
			 * past a state's end are no excuse (a shrink whose journal
			 * record was lost must not have cut the data) */
			for (k = 0; k < ob->dlen && k < ip->size; k++)
				if (ob->data[k] == ip->data[k])
					matched[id][k] = 1;
		}
		if (i == nops || model_apply(&m2, &ops[i], i) == -2)
			break;
	}
	for (id = 0; id < M.nino; id++) {
		struct obs *ob;
		size_t k;

		if (!track[id])
			continue;
		ob = &obs[mapj[id]];
		if (ob->dlen < minsz[id] || ob->dlen > maxsz[id]) {
			fails++;
			if (report)
				failf("(e) %s (changed since op %d) has %zu bytes, not a size it had since (%zu to %zu)",
				      ob->path, M.ino[id].ack >= 0 ? M.ino[id].ack : M.ino[id].born,
				      ob->dlen, minsz[id], maxsz[id]);
		}
		for (k = 0; k < ob->dlen; k++)
			if (!matched[id][k])
				break;
		if (k < ob->dlen) {
			size_t e = k, j, nbad = 0;

			while (e < ob->dlen && !matched[id][e])
				e++;
			for (j = k; j < ob->dlen; j++)
				nbad += !matched[id][j];
			fails++;
			if (report) {
				failf("(e) %s: bytes %zu..%zu were never written there since op %d (first: 0x%02x); %zu such bytes in all",
				      ob->path, k, e - 1,
				      M.ino[id].ack >= 0 ? M.ino[id].ack : M.ino[id].born,
				      ob->data[k], nbad);
				explain_bytes(ob, k);
			}
		}
	}
	model_init(&m2);
	return fails;
}

static int cmd_check(const char *logpath, bool final)
{
	static int map[MAXINO], bestmap[MAXINO];
	int last_ack = -1, first, i, ncand = 0, best = -1, bestdiff = INT_MAX, failed_op = -1;
	int *cands = NULL;
	int fail0;

	if (read_log(logpath))
		return 2;
	for (i = 0; i < nops; i++) {
		/* only fsync, fsync of a directory and syncfs order the whole
		 * tree; an fdatasync (or an O_DSYNC write) acknowledges its file's
		 * data, size and names, checked by (a) and the data check */
		if (ops[i].acked &&
		    !(ops[i].kind == OP_WRITE && (ops[i].sync == 'd' || ops[i].sync == 'o')))
			last_ack = i;
		if (ops[i].ended && ops[i].rc) {
			failed_op = i;
			if (i != nops - 1) {
				fprintf(stderr, "crash_workload: op %d failed but op %d follows\n",
					i, i + 1);
				return 2;
			}
		}
	}
	printf("check: %d ops logged, last acknowledged op %d, %s\n", nops, last_ack,
	       failed_op >= 0		      ? "the last one failed"
	       : nops && !ops[nops - 1].ended ? "the last one has no result"
					      : "all finished");
	/* observed tree: (c) */
	fail0 = nfail;
	scan(".");
	if (nobs)
		qsort(obs, nobs, sizeof(*obs), cmp_obs);
	if (nfail == fail0)
		npass++;
	/* replay the whole log into M, with acknowledgement points */
	model_init(&M);
	if (final) {
		/* after a clean unmount every finished op is durable */
		if (failed_op >= 0 || (nops && !ops[nops - 1].ended)) {
			failf("(final) the workload did not finish: op %d failed or has no result",
			      nops - 1);
		} else {
			last_ack = nops - 1;
		}
	}
	first = last_ack + 1;
	for (i = 0; i <= nops; i++) {
		if (i >= first) {
			/* state after i ops: a candidate if the namespace matches */
			int d = ns_compare(&M, map, 0, "");

			if (d == 0) {
				cands = xrealloc(cands, (size_t)(ncand + 1) * sizeof(*cands));
				cands[ncand++] = i;
			}
			if (d < bestdiff) {
				bestdiff = d;
				best = i;
			}
		}
		if (i == nops)
			break;
		{
			int r = model_apply(&M, &ops[i], i);
			int a;

			if (r == -2) {
				char line[PATHLEN * 2 + 100];

				op_format(&ops[i], line, sizeof(line));
				fprintf(stderr,
					"crash_workload: op %d (%s) does not fit the model\n", i,
					line);
				return 2;
			}
			if (r >= 0)
				M.ino[r].lastchg = i;
			if (ops[i].acked) {
				for (a = 0; a < nacks; a++) {
					int ino;

					if (acks[a].op != i)
						continue;
					ino = resolve(&M, acks[a].path, NULL);
					if (ino < 0 || M.ino[ino].type != 'f' ||
					    M.ino[ino].size != acks[a].len ||
					    fnv1a(M.ino[ino].data, M.ino[ino].size) !=
						    acks[a].hash) {
						fprintf(stderr,
							"crash_workload: A-line of op %d (%s) does not match the model\n",
							i, acks[a].path);
						return 2;
					}
					M.ino[ino].ack = i;
				}
			}
		}
	}
	if (final)
		for (i = 1; i < M.nino; i++)
			M.ino[i].ack = nops;
	/* (e): the namespace is one the workload passed through */
	if (ncand == 0) {
		failf("(e) the tree after the crash is no state the workload passed through since op %d; closest: after %d ops, %d differences:",
		      last_ack, best, bestdiff);
		{
			static struct model tmp;

			model_init(&tmp);
			for (i = 0; i < best; i++)
				model_apply(&tmp, &ops[i], i);
			ns_compare(&tmp, map, 20, "difference");
			model_init(&tmp);
		}
		printf("  operations since the last acknowledgement:\n");
		print_ops(first > 0 ? first - 1 : 0, nops);
	} else {
		npass++;
		if (verbose)
			printf("check: namespace matches the state after %d of %d ops (%d candidates)\n",
			       cands[ncand - 1], nops, ncand);
	}
	/* (b): renames since the last acknowledgement whose names nothing else touched */
	for (i = first; i < nops; i++) {
		struct obs *a, *b;
		int k;
		bool alone = true;

		if (ops[i].kind != OP_RENAME)
			continue;
		for (k = first; k < nops; k++)
			if (k != i &&
			    (op_touches(&ops[k], ops[i].p) || op_touches(&ops[k], ops[i].q)))
				alone = false;
		if (!alone)
			continue;
		a = obs_find(ops[i].p);
		b = obs_find(ops[i].q);
		if (a && b && a->ino == b->ino) {
			failf("(b) half-done rename (op %d): both %s and %s name inode %lu", i,
			      ops[i].p, ops[i].q, (unsigned long)a->ino);
		} else if (!a && !b) {
			failf("(b) rename (op %d) lost the file: neither %s nor %s exists", i,
			      ops[i].p, ops[i].q);
		} else {
			npass++;
		}
	}
	/* (a) by name: acknowledged files whose name and data nothing touched since */
	{
		static struct model m3;
		int a = 0, k;

		model_init(&m3);
		for (i = 0; i < nops; i++) {
			model_apply(&m3, &ops[i], i);
			for (; a < nacks && acks[a].op == i; a++) {
				int ino = resolve(&m3, acks[a].path, NULL);
				bool touched = false;
				struct obs *ob;

				if (ino < 0 || M.ino[ino].lastchg > i)
					continue;
				for (k = i + 1; k < nops && !touched; k++)
					touched = op_changes_ns(&ops[k]) &&
						  op_touches(&ops[k], acks[a].path);
				if (touched)
					continue;
				ob = obs_find(acks[a].path);
				if (!ob || ob->type != 'f') {
					failf("(a) %s acknowledged by op %d (%zu bytes) is %s",
					      acks[a].path, i, acks[a].len,
					      ob ? "not a file" : "gone");
				} else if (ob->dlen != acks[a].len ||
					   fnv1a(ob->data, ob->dlen) != acks[a].hash) {
					failf("(a) %s acknowledged by op %d with %zu bytes (hash %016" PRIx64
					      ") has %zu bytes (hash %016" PRIx64 ")",
					      acks[a].path, i, acks[a].len, acks[a].hash, ob->dlen,
					      fnv1a(ob->data, ob->dlen));
				} else {
					npass++;
				}
			}
		}
		model_init(&m3);
	}
	/* data of every file, against each candidate state (the latest first) */
	if (ncand) {
		int c, ok = -1;

		for (c = ncand - 1; c >= 0 && ok < 0; c--) {
			static struct model tmp;

			model_init(&tmp);
			for (i = 0; i < cands[c]; i++)
				model_apply(&tmp, &ops[i], i);
			ns_compare(&tmp, map, 0, "");
			model_init(&tmp);
			if (data_check(map, false) == 0)
				ok = c;
			if (c == ncand - 1)
				memcpy(bestmap, map, sizeof(map));
		}
		if (ok >= 0) {
			npass++;
		} else {
			printf("data of the state after %d ops:\n", cands[ncand - 1]);
			data_check(bestmap, true);
			printf("  operations since the last acknowledgement:\n");
			print_ops(first > 0 ? first - 1 : 0, nops);
		}
	}
	free(cands);
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}

/* ---- main ---------------------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: crash_workload run --dir MNT --log LOG --seed S [--max-ops N] [--max-ms T] [--pace-us U] [--no-syncfs] [--db]\n"
		"       crash_workload check --dir MNT --log LOG [--final] [--verbose]\n");
}

int main(int argc, char **argv)
{
	const char *logpath = NULL;
	uint64_t seed = 1;
	long max_ops = MAXOPS - 1, max_ms = 10000, pace_us = 0;
	bool use_syncfs = true, final = false, db = false;
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		usage();
		return 2;
	}
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
			mnt = argv[++i];
		} else if (!strcmp(argv[i], "--log") && i + 1 < argc) {
			logpath = argv[++i];
		} else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			seed = strtoull(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--max-ops") && i + 1 < argc) {
			max_ops = strtol(argv[++i], NULL, 10);
			if (max_ops <= 0 || max_ops >= MAXOPS)
				max_ops = MAXOPS - 1;
		} else if (!strcmp(argv[i], "--max-ms") && i + 1 < argc) {
			max_ms = strtol(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--pace-us") && i + 1 < argc) {
			pace_us = strtol(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--no-syncfs")) {
			use_syncfs = false;
		} else if (!strcmp(argv[i], "--db")) {
			db = true;
		} else if (!strcmp(argv[i], "--final")) {
			final = true;
		} else if (!strcmp(argv[i], "--verbose")) {
			verbose = true;
		} else {
			usage();
			return 2;
		}
	}
	if (!mnt || !logpath) {
		usage();
		return 2;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(logpath, seed, max_ops, max_ms, use_syncfs, pace_us, db);
	if (!strcmp(argv[1], "check"))
		return cmd_check(logpath, final);
	usage();
	return 2;
}
