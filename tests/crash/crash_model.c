/*
 * crash_workload - random numbers, the operations and their log lines, the
 * model of the tree (see crash_workload.c).
 */
#include "crash_workload.h"

/* ---- random numbers ------------------------------------------------------------------------ */

uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t rng;

uint64_t rnd(uint64_t n)
{
	return n ? splitmix(&rng) % n : 0;
}

/* The bytes a write with generator gen puts down. */
void fill(unsigned char *buf, size_t len, uint64_t gen)
{
	uint64_t s = gen, v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			v = splitmix(&s);
		buf[i] = (unsigned char)(v >> (8 * (i % 8)));
	}
}

uint64_t fnv1a(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "crash_workload: out of memory\n");
		exit(2);
	}
	return p;
}

void *xrealloc(void *p, size_t n)
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

static const char *const opname[OP_NKINDS] = {
	"create",   "mkdir",  "symlink", "write",    "trunc",	"rename",
	"link",	    "unlink", "rmdir",	 "setxattr", "rmxattr", "chmod",
	"fsyncdir", "syncfs", "hold",	 "hwrite",   "release",
};

/*
 * The fields of each kind after its name, one letter a field, as op_format
 * prints them (space-separated) and op_parse reads them: p path, q second
 * path or name, m mode (octal), o offset, l length, g generation (hex),
 * s sync mode, h slot.
 */
static const char *const opfields[OP_NKINDS] = {
	[OP_CREATE] = "pm",  [OP_MKDIR] = "pm",	     [OP_SYMLINK] = "pq", [OP_WRITE] = "polgs",
	[OP_TRUNC] = "pl",   [OP_RENAME] = "pq",     [OP_LINK] = "pq",	  [OP_UNLINK] = "p",
	[OP_RMDIR] = "p",    [OP_SETXATTR] = "pqlg", [OP_RMXATTR] = "pq", [OP_CHMOD] = "pm",
	[OP_FSYNCDIR] = "p", [OP_SYNCFS] = "",	     [OP_HOLD] = "ph",	  [OP_HWRITE] = "holg",
	[OP_RELEASE] = "h",
};

/* Where field letter f of an op is: a path, a number (64 or 32 bits, in base) or a char. */
struct opfield {
	char *str;
	uint64_t *u64;
	unsigned *u32;
	char *c;
	int base;
};

static struct opfield opfield(struct op *o, char f)
{
	switch (f) {
	case 'p':
		return (struct opfield){.str = o->p};
	case 'q':
		return (struct opfield){.str = o->q};
	case 'm':
		return (struct opfield){.u32 = &o->mode, .base = 8};
	case 'o':
		return (struct opfield){.u64 = &o->off, .base = 10};
	case 'l':
		return (struct opfield){.u64 = &o->len, .base = 10};
	case 'g':
		return (struct opfield){.u64 = &o->gen, .base = 16};
	case 's':
		return (struct opfield){.c = &o->sync};
	default: /* 'h' */
		return (struct opfield){.u32 = &o->slot, .base = 10};
	}
}

int op_format(const struct op *o, char *buf, size_t len)
{
	const char *f;
	size_t n, at;

	if (o->kind < 0 || o->kind >= OP_NKINDS)
		return snprintf(buf, len, "?");
	n = (size_t)snprintf(buf, len, "%s", opname[o->kind]);
	for (f = opfields[o->kind]; *f; f++) {
		struct opfield v = opfield((struct op *)o, *f); /* only read */
		unsigned long long x = v.u64 ? *v.u64 : v.u32 ? *v.u32 : 0;

		at = n < len ? n : len;
		if (v.str)
			n += (size_t)snprintf(buf + at, len - at, " %s", v.str);
		else if (v.c)
			n += (size_t)snprintf(buf + at, len - at, " %c", *v.c);
		else if (v.base == 8)
			n += (size_t)snprintf(buf + at, len - at, " %llo", x);
		else if (v.base == 16)
			n += (size_t)snprintf(buf + at, len - at, " %llx", x);
		else
			n += (size_t)snprintf(buf + at, len - at, " %llu", x);
	}
	return (int)n;
}

/* Parses what op_format printed; 0 or -1. */
int op_parse(const char *s, struct op *o)
{
	char kind[32];
	const char *f;
	int k, n, r;

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
	for (f = opfields[k]; *f; f++, s += n) {
		struct opfield v = opfield(o, *f);
		unsigned long long x = 0;

		n = 0;
		if (v.str)
			r = sscanf(s, " %199s%n", v.str, &n);
		else if (v.c)
			r = sscanf(s, " %c%n", v.c, &n);
		else
			r = sscanf(s,
				   v.base == 8	  ? " %llo%n"
				   : v.base == 16 ? " %llx%n"
						  : " %llu%n",
				   &x, &n);
		if (r != 1)
			return -1;
		if (v.u64)
			*v.u64 = x;
		else if (v.u32)
			*v.u32 = (unsigned)x;
	}
	if (o->slot >= NHELD)
		return -1;
	return 0;
}

/* ---- the model ----------------------------------------------------------------------------- */

struct model M;

void model_init(struct model *m)
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
int ent_find(const struct model *m, int dir, const char *name)
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
int resolve(const struct model *m, const char *path, int *entp)
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
void dir_path(const struct model *m, int d, char *buf, size_t len)
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

void ent_path(const struct model *m, int e, char *buf, size_t len)
{
	char tmp[PATHLEN];

	dir_path(m, m->ent[e].dir, tmp, sizeof(tmp));
	pjoin(buf, len, tmp, m->ent[e].name);
}

int depth_of(const struct model *m, int d)
{
	int n = 0;

	while (d != 0) {
		d = m->ent[m->ino[d].dent].dir;
		n++;
	}
	return n;
}

/* Is inode a (a directory) d itself or above d? */
bool is_ancestor(const struct model *m, int a, int d)
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
int model_apply(struct model *m, const struct op *o, int idx)
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
