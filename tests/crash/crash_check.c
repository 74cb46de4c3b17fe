/*
 * crash_workload - the observed tree and the checker: "check" (see
 * crash_workload.c).
 */
#include "crash_workload.h"

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
bool verbose;

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

void hex(char *out, size_t outlen, const unsigned char *p, size_t n)
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

struct op *ops;
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

int cmd_check(const char *logpath, bool final)
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
