/*
 * crash_workload - the workload: "run" (see crash_workload.c).
 */
#include "crash_workload.h"

/* ---- the workload -------------------------------------------------------------------------- */

const char *mnt;
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

void full(const char *rel, char *buf, size_t len)
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

/*
 * Makes o an operation of kind on a random live entry whose type is in
 * types (o->p its path); returns the entry, -1 if there is none.
 */
static int pick_target(const struct model *m, struct op *o, int kind, const char *types)
{
	int e = pick_ent(m, types);

	if (e >= 0) {
		o->kind = kind;
		ent_path(m, e, o->p, sizeof(o->p));
	}
	return e;
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

/* Makes o an operation of kind on a new path in directory d (see new_path). */
static void new_target(struct model *m, struct op *o, int kind, int d, char prefix)
{
	o->kind = kind;
	new_path(m, d, prefix, o->p, sizeof(o->p));
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
		new_target(m, o, OP_CREATE, pick_dir(m), 'f');
		o->mode = rnd(2) ? 0644 : 0600;
		return true;
	}
	if (r < 15) { /* mkdir */
		if (m->nlive >= MAXLIVE || m->ndirs >= MAXDIRS)
			return false;
		d = pick_dir(m);
		if (depth_of(m, d) >= MAXDEPTH)
			return false;
		new_target(m, o, OP_MKDIR, d, 'd');
		o->mode = rnd(2) ? 0755 : 0700;
		return true;
	}
	if (r < 18) { /* symlink */
		if (m->nlive >= MAXLIVE)
			return false;
		new_target(m, o, OP_SYMLINK, pick_dir(m), 'l');
		snprintf(o->q, sizeof(o->q), "target-%u", (unsigned)rnd(100000));
		return true;
	}
	if (r < 48) { /* write, 40% of them with fsync or fdatasync */
		struct mino *ip;

		e = pick_target(m, o, OP_WRITE, "f");
		if (e < 0)
			return false;
		ip = &m->ino[m->ent[e].ino];
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
		e = pick_target(m, o, OP_TRUNC, "f");
		if (e < 0)
			return false;
		o->len = rnd(m->ino[m->ent[e].ino].size + 16384);
		if (o->len > MAXFILE)
			o->len = MAXFILE;
		return true;
	}
	if (r < 64) { /* rename */
		bool isdir = rnd(4) == 0;

		e = pick_target(m, o, OP_RENAME, isdir ? "d" : "fl");
		if (e < 0)
			return false;
		ino = m->ent[e].ino;
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
		if (pick_target(m, o, OP_LINK, "f") < 0)
			return false;
		new_path(m, pick_dir(m), 'f', o->q, sizeof(o->q));
		return true;
	}
	if (r < 76) { /* unlink */
		return pick_target(m, o, OP_UNLINK, "fl") >= 0;
	}
	if (r < 79) { /* rmdir */
		e = pick_target(m, o, OP_RMDIR, "d");
		return e >= 0 && dir_empty(m, m->ent[e].ino);
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
		e = pick_target(m, o, OP_RMXATTR, "fd");
		if (e < 0 || !m->ino[m->ent[e].ino].nxa)
			return false;
		k = (int)rnd((uint64_t)m->ino[m->ent[e].ino].nxa);
		snprintf(o->q, sizeof(o->q), "%s", m->ino[m->ent[e].ino].xn[k]);
		return true;
	}
	if (r < 89) { /* chmod */
		static const unsigned fmodes[] = {0600, 0644, 0640, 0755, 0700};
		static const unsigned dmodes[] = {0755, 0700, 0750, 0711};

		e = pick_target(m, o, OP_CHMOD, "fd");
		if (e < 0)
			return false;
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
		new_target(m, o, OP_CREATE, pick_dir(m), 'o');
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

int cmd_run(const char *logpath, uint64_t seed, long max_ops, long max_ms, bool use_syncfs,
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
