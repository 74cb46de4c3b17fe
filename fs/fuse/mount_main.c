/*
 * mount.flockerfs — mounts a flockerfs volume with FUSE.
 *
 *   mount.flockerfs NAME MOUNTPOINT [-o OPTIONS] [-f]
 *
 * Also the mount(8) helper for "mount -t flockerfs NAME DIR -o ...".  It
 * returns once the mount is ready, or exits non-zero with one line saying
 * why; the daemon then runs in the background until the volume is unmounted.
 */
#define FUSE_USE_VERSION 314
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "fs/core/core.h"
#include "flocker/log.h"
#include "flocker/store.h"
#include "fs/fuse/fuse_ll.h"
#include "fs/util/mountinfo.h"
#include "fs/util/pidfile.h"
#include "fs/fuse/mount_metrics.h"
#include "fs/store/store_metrics.h"
#include "fs/volume/snapshot.h"
#include "fs/volume/volume.h"
#include "fs/util/fmt.h"

#define EXIT_USAGE 1
#define EXIT_MOUNT 32 /* mount(8)'s "mount failure" */
/* the daemon's log without log= where there is no syslog socket */
#define FALLBACK_LOG_DIR "/var/log/flockerfs"

/*
 * Options as the command line sets them.  The strings are allocated by
 * fuse_opt_parse and live as long as the process (main keeps the struct in
 * static storage); flags are ints because fuse_opt stores ints.
 */
struct opts {
	const char *name, *mountpoint; /* argv strings */
	char *conf, *id, *pool, *logfile;
	int ro, foreground, debug, takeover;
	int allow_other, default_permissions, writeback;
	unsigned lease_s, timeout_s, commit_ms, readahead_kb, max_threads, spin_us, ra_objects;
	uint64_t dirty_max;
	char fuse_extra[512]; /* nodev,nosuid,... passed to the kernel */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mount.flockerfs NAME[@SNAPSHOT] MOUNTPOINT [-o OPTIONS] [-f]\n"
		"\n"
		"Mounts flockerfs volume NAME (see flockerctl volume create) at MOUNTPOINT;\n"
		"NAME@SNAPSHOT mounts a snapshot of it, read-only.\n"
		"\n"
		"options (-o, comma separated):\n"
		"  conf=PATH          ceph.conf (default: $CEPH_CONF, then Ceph's search path)\n"
		"  id=NAME            cephx client id without 'client.' (default: $CEPH_ARGS or admin)\n"
		"  pool=NAME          RADOS pool (default flocker)\n"
		"  ro | rw            read-only mount (no lock, sees the last committed state)\n"
		"  takeover           fence and replace a writer on another host that is dead\n"
		"  lease=SECONDS      writer lock lease (default %d)\n"
		"  dirty_max=SIZE     memory for dirty file data before writers wait (default 64M)\n"
		"  max_threads=N      FUSE worker threads, each holding a 1 MiB buffer (default 16)\n"
		"  spin_us=US         how long an idle worker polls for the next request before\n"
		"                     it sleeps (default 0: sleep at once)\n"
		"  commit_ms=MS       longest delay of a metadata commit (default 1000)\n"
		"  readahead_kb=KB    kernel readahead for the mount (default 16384)\n"
		"  readahead_objects=N  once a file is read sequentially, read each object\n"
		"                     whole, and N objects ahead (default 4; 0: off); at most\n"
		"                     16 objects per file and 64 MiB in all; replies come\n"
		"                     from those buffers without a copy\n"
		"  timeout=SECONDS    give up connecting to the cluster after this long (default 30)\n"
		"  allow_other, default_permissions   on by default (Docker needs them)\n"
		"  noallow_other, nodefault_permissions   turn them off\n"
		"  writeback_cache, nowriteback_cache   kernel write-back cache, on by default\n"
		"  log=PATH           daemon log file (default: syslog; without a syslog\n"
		"                     socket /var/log/flockerfs/NAME.log)\n"
		"  debug              verbose log; with -f, also to the terminal\n"
		"  nodev, nosuid, noexec, noatime, relatime, strictatime, nodiratime, sync, dirsync\n"
		"                     passed to the kernel\n"
		"  -f                 stay in the foreground\n",
		FL_DEFAULT_LEASE_S);
}

static int add_extra(struct opts *o, const char *opt)
{
	size_t n = strlen(o->fuse_extra);

	if (n + strlen(opt) + 2 > sizeof(o->fuse_extra))
		return -E2BIG;
	snprintf(o->fuse_extra + n, sizeof(o->fuse_extra) - n, ",%s", opt);
	return 0;
}

static int parse_uint(const char *v, unsigned *out)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno || end == v || *end || x > UINT_MAX)
		return -EINVAL;
	*out = (unsigned)x;
	return 0;
}

enum { KEY_HELP, KEY_VERSION };

#define OPT_FLAG(t, field, v)                                                                      \
	{                                                                                          \
		t, offsetof(struct opts, field), v                                                 \
	}

/* Options fuse_opt_parse sets by itself; the rest reach parse_one. */
static const struct fuse_opt mount_opts[] = {
	OPT_FLAG("conf=%s", conf, 0),
	OPT_FLAG("id=%s", id, 0),
	OPT_FLAG("pool=%s", pool, 0),
	OPT_FLAG("log=%s", logfile, 0),
	OPT_FLAG("ro", ro, 1),
	OPT_FLAG("rw", ro, 0),
	OPT_FLAG("takeover", takeover, 1),
	OPT_FLAG("debug", debug, 1),
	OPT_FLAG("allow_other", allow_other, 1),
	OPT_FLAG("noallow_other", allow_other, 0),
	OPT_FLAG("default_permissions", default_permissions, 1),
	OPT_FLAG("nodefault_permissions", default_permissions, 0),
	OPT_FLAG("writeback_cache", writeback, 1),
	OPT_FLAG("nowriteback_cache", writeback, 0),
	OPT_FLAG("-f", foreground, 1),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	/* mount(8) helper flags: no mtab, sloppy, verbose; type and namespace */
	FUSE_OPT_KEY("-n", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("-s", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("-v", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("-t ", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("-N ", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_END,
};

/* Numeric -o options: NAME=VALUE, within [min, max]. */
static const struct num_opt {
	const char *name;
	size_t off;
	unsigned min, max;
} num_opts[] = {
	{"lease", offsetof(struct opts, lease_s), 3, UINT_MAX},
	{"readahead_kb", offsetof(struct opts, readahead_kb), 0, 1u << 20},
	{"readahead_objects", offsetof(struct opts, ra_objects), 0, FL_RA_SLOTS - 1},
	{"timeout", offsetof(struct opts, timeout_s), 1, UINT_MAX},
	{"commit_ms", offsetof(struct opts, commit_ms), 1, 5000},
	{"spin_us", offsetof(struct opts, spin_us), 0, 100000},
	{"max_threads", offsetof(struct opts, max_threads), 2, 256},
};

/* mount(8) and fstab options that mean nothing here. */
static const char *const ignored_opts[] = {"defaults", "auto",	  "noauto", "user",  "users",
					   "nouser",   "_netdev", "nofail", "owner", "group",
					   "exec",     "suid",	  "dev",    "async", NULL};
/* Options passed on to the kernel as they are. */
static const char *const kernel_opts[] = {"nodev",    "nosuid",	     "noexec",	   "noatime",
					  "relatime", "strictatime", "nodiratime", "sync",
					  "dirsync",  NULL};

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

/* One option fuse_opt_parse did not set itself: 0 taken, -1 wrong (said why). */
static int parse_opt(struct opts *o, const char *arg)
{
	const char *val = strchr(arg, '=');
	size_t nlen = val ? (size_t)(val - arg) : strlen(arg);
	size_t i;

	if (val) {
		val++;
		for (i = 0; i < sizeof(num_opts) / sizeof(num_opts[0]); i++) {
			const struct num_opt *n = &num_opts[i];
			unsigned *field = (unsigned *)((char *)o + n->off);

			if (strlen(n->name) != nlen || strncmp(n->name, arg, nlen))
				continue;
			if (parse_uint(val, field) || *field < n->min || *field > n->max) {
				if (n->max == UINT_MAX)
					fprintf(stderr,
						"mount.flockerfs: invalid %s: use %u or more\n",
						arg, n->min);
				else
					fprintf(stderr,
						"mount.flockerfs: invalid %s: use %u to %u\n", arg,
						n->min, n->max);
				return -1;
			}
			return 0;
		}
		if (nlen == 9 && !strncmp(arg, "dirty_max", nlen)) {
			if (fl_parse_size(val, &o->dirty_max) || o->dirty_max < (8u << 20)) {
				fprintf(stderr,
					"mount.flockerfs: invalid %s: use a size of at least 8M\n",
					arg);
				return -1;
			}
			return 0;
		}
	} else {
		if (in_list(ignored_opts, arg))
			return 0;
		if (in_list(kernel_opts, arg)) {
			if (add_extra(o, arg) == 0)
				return 0;
			fprintf(stderr, "mount.flockerfs: too many options\n");
			return -1;
		}
	}
	if (!strncmp(arg, "x-", 2) || !strncmp(arg, "comment", 7))
		return 0;
	fprintf(stderr, "mount.flockerfs: unknown option '%s'\n", arg);
	return -1;
}

/* fuse_opt_parse's callback: 0 discards the argument, -1 stops with an error. */
static int parse_cb(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct opts *o = data;

	switch (key) {
	case KEY_HELP:
		usage(stdout);
		exit(0);
	case KEY_VERSION:
		printf("mount.flockerfs 0.1.0\n");
		exit(0);
	case FUSE_OPT_KEY_OPT:
		return parse_opt(o, arg);
	case FUSE_OPT_KEY_NONOPT:
		if (arg[0] == '-' && arg[1]) {
			fprintf(stderr, "mount.flockerfs: unknown flag %s\n", arg);
			return -1;
		}
		if (!o->name) {
			o->name = arg;
		} else if (!o->mountpoint) {
			o->mountpoint = arg;
		} else {
			fprintf(stderr, "mount.flockerfs: unexpected argument '%s'\n", arg);
			return -1;
		}
		return 0;
	default:
		return 0;
	}
}

static int parse_args(struct opts *o, int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	int ret;

	ret = fuse_opt_parse(&args, o, mount_opts, parse_cb);
	fuse_opt_free_args(&args);
	if (ret)
		return -EINVAL;
	if (!o->mountpoint) {
		usage(stderr);
		return -EINVAL;
	}
	/* NAME or NAME@SNAPSHOT; "flockerfs:NAME" sources are not supported: be clear */
	{
		char vol[FL_VOLNAME_MAX + 1], snap[FL_VOLNAME_MAX + 1];
		int at = fl_snap_parse(o->name, vol, sizeof(vol), snap, sizeof(snap));

		if (at < 0 || !fl_volname_valid(vol) || (at && !fl_volname_valid(snap))) {
			fprintf(stderr,
				"mount.flockerfs: invalid volume name '%s': use NAME or NAME@SNAPSHOT, "
				"each [a-zA-Z0-9][a-zA-Z0-9_.-]*\n",
				o->name);
			return -EINVAL;
		}
	}
	return 0;
}

/* ---------- lease renewal ---------- */

struct renewer {
	struct fl_volume *v;
	struct fl_core *core;
	dev_t mdev; /* the mount's pid file, marked once the lock is lost */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
};

/*
 * Renews every lease/3, counted from the start of the previous renewal, so a
 * renewal slowed by a busy OSD does not push the next one back.  Between
 * renewals it checks the superblock's watch every WATCH_CHECK_MS (a local
 * call) and watches again at once if it broke: a probe of control finds no
 * watcher only for that long.  It runs until the core has written
 * everything at unmount: r->core is cleared before the core goes away, and a
 * lock lost after that fails the last writes through the fence itself (the
 * client is blocklisted first).
 */
#define WATCH_CHECK_MS 500

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void *renew_thread(void *arg)
{
	struct renewer *r = arg;
	unsigned period = r->v->lease_s / 3 ? r->v->lease_s / 3 : 1;
	struct timespec next, wake, now;

	clock_gettime(CLOCK_REALTIME, &next);
	next.tv_sec += period;
	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		uint64_t t0;
		int ret;

		clock_gettime(CLOCK_REALTIME, &wake);
		fl_ts_add_ms(&wake, WATCH_CHECK_MS);
		if (ts_before(&next, &wake))
			wake = next;
		pthread_cond_timedwait(&r->cond, &r->lock, &wake);
		if (r->stop)
			break;
		clock_gettime(CLOCK_REALTIME, &now);
		pthread_mutex_unlock(&r->lock);
		if (ts_before(&now, &next)) {
			fl_volume_rewatch(r->v);
			pthread_mutex_lock(&r->lock);
			continue;
		}
		t0 = fl_metrics_now_ns();
		ret = fl_volume_renew(r->v);
		fl_mm_lease_renewal(ret, fl_metrics_now_ns() - t0);
		pthread_mutex_lock(&r->lock);
		next.tv_sec += period;
		clock_gettime(CLOCK_REALTIME, &now);
		if (ts_before(&next, &now)) /* a renewal took longer than the period */
			next = now;
		if (ret) {
			fl_err("volume %s: cannot renew the writer lock: %s", r->v->super.name,
			       strerror(-ret));
			if ((ret == -ENOENT || ret == -EBUSY || ret == -ESHUTDOWN) && r->core) {
				fl_err("volume %s: lost the writer lock; every change now fails with EIO",
				       r->v->super.name);
				fl_core_set_error(r->core, -EIO);
				fl_mm_fenced();
				if (r->mdev)
					fl_pidfile_mark_fenced(r->mdev, strerror(-ret));
			}
		}
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* The device number of the newest mount at mp; 0 if unknown. */
static dev_t mount_dev(const char *mp)
{
	struct fl_mountinfo m;

	return fl_mountinfo_at(mp, &m) == 1 ? m.dev : 0;
}

/* The file system type of the newest mount at mp ("fuse.flockerfs"), or "". */
static void mount_type(const char *mp, char *type, size_t len)
{
	struct fl_mountinfo m;

	snprintf(type, len, "%s", fl_mountinfo_at(mp, &m) == 1 ? m.fstype : "");
}

/*
 * A FUSE mount whose daemon is gone ("Transport endpoint is not connected")
 * would make the mount fail only after the writer lock is taken.  A dead
 * flockerfs mount is detached (a lazy unmount: nothing can reach its daemon
 * any more), and said so; any other is named with what to do.  stat(2) may
 * answer from the kernel's attribute cache of a dead mount: statfs(2) always
 * asks the daemon.
 */
static int check_mountpoint(const char *mp, char *err, size_t errlen)
{
	char type[128];
	struct statfs sf;
	struct stat st;
	int i, e;

	for (i = 0; i < 8; i++) {
		mount_type(mp, type, sizeof(type));
		if (stat(mp, &st) == 0 && strncmp(type, "fuse", 4))
			e = 0;
		else if (stat(mp, &st) == 0 && statfs(mp, &sf) == 0)
			e = 0;
		else
			e = errno;
		if (e == 0) {
			if (S_ISDIR(st.st_mode))
				return 0;
			snprintf(err, errlen, "cannot mount at %.300s: not a directory", mp);
			return -ENOTDIR;
		}
		if (e != ENOTCONN) {
			snprintf(err, errlen, "cannot use mount point %.300s: %s", mp, strerror(e));
			return -e;
		}
		if (strcmp(type, "fuse.flockerfs")) {
			snprintf(
				err, errlen,
				"cannot mount at %.150s: a dead %.20s mount is there (its daemon is "
				"gone: transport endpoint is not connected); unmount it first: "
				"umount -l %.150s",
				mp, type[0] ? type : "FUSE", mp);
			return -ENOTCONN;
		}
		if (umount2(mp, MNT_DETACH) < 0) {
			snprintf(err, errlen,
				 "cannot detach the dead flockerfs mount at %.150s (its daemon is "
				 "gone): %s; unmount it first: umount -l %.150s",
				 mp, strerror(errno), mp);
			return -ENOTCONN;
		}
		fprintf(stderr,
			"mount.flockerfs: detached the dead flockerfs mount at %s (its daemon was gone)\n",
			mp);
	}
	snprintf(err, errlen, "cannot mount at %.300s: dead mounts keep coming back", mp);
	return -ENOTCONN;
}

/* FUSE mounts get the kernel's default readahead (128 KiB): sequential reads
 * of 4 MiB objects want far more in flight. */
static void set_readahead(dev_t dev, unsigned kb)
{
	char path[96], val[32];
	int fd, n;

	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb", major(dev), minor(dev));
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = snprintf(val, sizeof(val), "%u", kb);
	if (write(fd, val, (size_t)n) != n)
		fl_info("cannot set %s: %s", path, strerror(errno));
	close(fd);
}

/* ---------- main ---------- */

static int status_fd = -1;

static void report(const char *msg)
{
	if (status_fd >= 0) {
		size_t n = strlen(msg);

		if (strcmp(msg, "ok"))
			fl_err("%s", msg); /* the log gets it too */
		if (write(status_fd, msg, n) != (ssize_t)n)
			(void)0;
		close(status_fd);
		status_fd = -1;
	} else if (*msg) {
		fprintf(stderr, "mount.flockerfs: %s\n", msg);
	}
}

/* Forks; the parent waits for the child's first report and exits with it. */
static void background(void)
{
	int p[2];
	pid_t pid;
	char buf[1024];
	ssize_t n, got = 0;
	int st;

	if (pipe(p) < 0) {
		perror("mount.flockerfs: pipe");
		exit(EXIT_MOUNT);
	}
	pid = fork();
	if (pid < 0) {
		perror("mount.flockerfs: fork");
		exit(EXIT_MOUNT);
	}
	if (pid == 0) {
		close(p[0]);
		status_fd = p[1];
		setsid();
		return;
	}
	close(p[1]);
	while ((n = read(p[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	buf[got] = '\0';
	if (got == 0) {
		waitpid(pid, &st, 0);
		fprintf(stderr, "mount.flockerfs: the daemon died while mounting (status %d)\n",
			st);
		exit(EXIT_MOUNT);
	}
	if (!strcmp(buf, "ok"))
		exit(0);
	fprintf(stderr, "mount.flockerfs: %s\n", buf);
	waitpid(pid, &st, 0);
	exit(EXIT_MOUNT);
}

/* A daemon keeps no descriptor it inherits: one open on another mount would
 * keep that mount busy as long as this volume is mounted.  Kept: 0-2, and a
 * FUSE descriptor passed as the mount point "/dev/fd/N" (libfuse's way for a
 * mount made by a privileged parent). */
static void close_inherited(int argc, char **argv)
{
	int keep = -1, fd, i;
	char end;

	for (i = 1; i < argc; i++)
		if (sscanf(argv[i], "/dev/fd/%d%c", &fd, &end) == 1 && fd > 2)
			keep = fd;
	if (keep < 0) {
		close_range(3, ~0U, 0);
	} else {
		if (keep > 3)
			close_range(3, (unsigned)keep - 1, 0);
		close_range((unsigned)keep + 1, ~0U, 0);
	}
}

/* The heap of a fresh mount fills by page faults, each one costly on a
 * virtual machine (20 us and more here): 40,000 of them in the first GiB
 * written.  glibc's malloc.hugetlb tunable has the heap in transparent huge
 * pages (512 times fewer faults); tunables are read at start, so set it and
 * start again.  GLIBC_TUNABLES naming malloc.hugetlb already (=0 to turn it
 * off) is left as it is. */
static void exec_with_hugepages(char **argv)
{
	const char *t = getenv("GLIBC_TUNABLES");
	char val[1024], self[PATH_MAX];
	ssize_t n;

	if (t && strstr(t, "glibc.malloc.hugetlb"))
		return;
	/* the path, not /proc/self/exe itself: under valgrind that would be
	 * valgrind's own program, while readlink answers ours */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || (size_t)n >= sizeof(self) - 1)
		return;
	self[n] = 0;
	if (t && *t)
		snprintf(val, sizeof(val), "%s:glibc.malloc.hugetlb=1", t);
	else
		snprintf(val, sizeof(val), "glibc.malloc.hugetlb=1");
	if (strlen(val) + 1 >= sizeof(val) || setenv("GLIBC_TUNABLES", val, 1))
		return;
	execv(self, argv);
	/* not possible: go on with small pages */
	if (t)
		setenv("GLIBC_TUNABLES", t, 1);
	else
		unsetenv("GLIBC_TUNABLES");
}

/* File data passes through many FUSE threads in buffers of up to 1 MiB:
 * with glibc's default of one arena per thread (up to 8 per core), freed
 * buffers stay in a dozen arenas and the resident size grows far past
 * dirty_max.  One arena keeps it close to what is in use; a non-main
 * arena would also unmap its emptied heaps, to fault them in again. */
static void tune_malloc(void)
{
	mallopt(M_ARENA_MAX, 1);
	/* Blocks of 4 MiB, and librados's copy of each write, are allocated and
	 * freed at the write rate.  Above the mmap threshold every one would be a
	 * fresh mapping whose pages fault in and are zeroed one by one (a third
	 * of the daemon's time in a sequential write); from the heap the same
	 * pages are used again.  The trim threshold bounds what the heap keeps. */
	mallopt(M_MMAP_THRESHOLD, 8 << 20);
	mallopt(M_TRIM_THRESHOLD, 128 << 20);
}

/*
 * Without log= and a syslog socket the daemon's lines would be lost: they go to
 * FALLBACK_LOG_DIR/NAME.log (o->logfile then points into buf), or, where that
 * cannot be made, stay on this stderr.  Returns whether the daemon keeps its
 * stderr open as long as it runs.
 */
static bool pick_log(struct opts *o, char *buf, size_t len)
{
	if (o->foreground || o->logfile || fl_log_syslog_available())
		return o->logfile || o->foreground;
	if (!strchr(o->name, '/') && (mkdir(FALLBACK_LOG_DIR, 0750) == 0 || errno == EEXIST) &&
	    access(FALLBACK_LOG_DIR, W_OK) == 0) {
		snprintf(buf, len, FALLBACK_LOG_DIR "/%.200s.log", o->name);
		o->logfile = buf;
		fprintf(stderr,
			"mount.flockerfs: no syslog socket at /dev/log: the daemon logs to %s\n",
			buf);
		return true;
	}
	fprintf(stderr, "mount.flockerfs: no syslog socket at /dev/log: the daemon logs to this "
			"stderr (use -o log=FILE)\n");
	return true;
}

/* What can fail before the daemon forks, said on stderr: the mount point
 * (resolved into mp, PATH_MAX bytes) and the log file.  False if either fails. */
static bool can_mount(const struct opts *o, char *mp)
{
	char err[512];

	if (!realpath(o->mountpoint, mp)) {
		fprintf(stderr, "mount.flockerfs: cannot use mount point %s: %s\n", o->mountpoint,
			strerror(errno));
		return false;
	}
	/* before the lock: a mount that cannot happen must not fence anyone */
	if (check_mountpoint(mp, err, sizeof(err))) {
		fprintf(stderr, "mount.flockerfs: %s\n", err);
		return false;
	}
	if (o->logfile && access(o->logfile, F_OK) != 0) {
		FILE *lf = fopen(o->logfile, "a");

		if (!lf) {
			fprintf(stderr, "mount.flockerfs: cannot open log %s: %s\n", o->logfile,
				strerror(errno));
			return false;
		}
		fclose(lf);
	}
	return true;
}

/*
 * The volume to mount, NAME or NAME@SNAP (the volume as of a snapshot,
 * read-only: o->ro set), locked and watched for a read-write mount.  0 or a
 * negative errno with err set; *v (to close) may be set either way.
 */
static int open_volume(struct fl_store *base, struct opts *o, struct fl_volume **v, char *err,
		       size_t errlen)
{
	char vol[FL_VOLNAME_MAX + 1], snap[FL_VOLNAME_MAX + 1], held[512];
	int ret, at = fl_snap_parse(o->name, vol, sizeof(vol), snap, sizeof(snap));

	if (at < 0) {
		snprintf(err, errlen, "invalid volume name %.300s", o->name);
		return -EINVAL;
	}
	if (at)
		o->ro = 1;
	ret = fl_volume_open(base, vol, v, err, errlen);
	if (!ret && at)
		ret = fl_snap_open_at(*v, snap, err, errlen);
	if (ret || o->ro)
		return ret;
	ret = fl_volume_lock(*v, o->lease_s, o->takeover, err, errlen);
	if (ret == -EBUSY) {
		snprintf(held, sizeof(held), "%s", err);
		snprintf(
			err, errlen,
			"cannot mount read-write: %.400s; use -o ro, or -o takeover if that host is dead",
			held);
	}
	if (ret)
		return ret;
	/* answers flocker-control's probes: this writer is alive */
	fl_volume_watch(*v);
	return 0;
}

/* What the daemon holds, from the connection to RADOS to the FUSE session. */
struct daemon {
	struct opts *o;
	struct fl_store *base;
	struct fl_volume *v;
	struct fl_core *core;
	struct fl_snap_server *srv;
	struct fuse_session *se;
	struct fuse_args args;
	struct fl_fuse ff;
	bool signals; /* fuse_set_signal_handlers done */
	struct renewer rn;
	pthread_t rt;
	bool renewing;
	dev_t mdev;
	char mp[PATH_MAX];
	char err[512];
};

/* RADOS, the volume (locked unless read-only) and its core; 0 or -1 with d->err. */
static int daemon_open(struct daemon *d)
{
	struct opts *o = d->o;
	struct fl_rados_opts ro = {
		.conf = o->conf, .id = o->id, .pool = o->pool, .timeout_s = o->timeout_s};
	struct fl_core_opts co = {0};

	d->base = fl_rados_open(&ro, d->err, sizeof(d->err));
	if (!d->base)
		return -1;
	if (fl_mm_registry())
		fl_store_metrics(d->base, fl_mm_registry());
	if (open_volume(d->base, o, &d->v, d->err, sizeof(d->err)))
		return -1;
	co.ro = o->ro;
	co.dirty_max = o->dirty_max;
	co.commit_ms = o->commit_ms;
	co.ra_objects = o->ra_objects ? o->ra_objects : FL_RA_OFF;
	co.ra_window = (uint64_t)o->readahead_kb << 10;
	if (fl_core_mount(d->v, &co, &d->core, d->err, sizeof(d->err)))
		return -1;
	fl_mm_set_core(d->core);
	/* flockerctl snapshot create asks this writer (a notify on the superblock) */
	if (!o->ro && fl_snap_serve(d->v, d->core, d->mp, &d->srv))
		fl_warn("volume %s: cannot serve snapshot requests", o->name);
	return 0;
}

/* The FUSE session over the core, mounted at d->mp; 0 or -1 with d->err. */
static int daemon_mount(struct daemon *d)
{
	struct opts *o = d->o;
	char fopts[1024];

	snprintf(fopts, sizeof(fopts), "-ofsname=%s,subtype=flockerfs%s%s%s%s", o->name,
		 o->allow_other ? ",allow_other" : "",
		 o->default_permissions ? ",default_permissions" : "", o->ro ? ",ro" : "",
		 o->fuse_extra);
	if (fuse_opt_add_arg(&d->args, "mount.flockerfs") || fuse_opt_add_arg(&d->args, fopts) ||
	    (o->debug && o->foreground && fuse_opt_add_arg(&d->args, "-d"))) {
		snprintf(d->err, sizeof(d->err), "out of memory");
		return -1;
	}
	d->ff.core = d->core;
	d->ff.ro = o->ro;
	d->ff.writeback = o->writeback;
	d->ff.readahead = o->readahead_kb << 10;
	d->se = fl_fuse_session_new(&d->args, &d->ff);
	if (!d->se) {
		snprintf(d->err, sizeof(d->err), "cannot start a FUSE session (options %.300s)",
			 fopts);
		return -1;
	}
	if (fuse_set_signal_handlers(d->se)) {
		snprintf(d->err, sizeof(d->err), "cannot install signal handlers");
		return -1;
	}
	d->signals = true;
	if (fuse_session_mount(d->se, d->mp)) {
		snprintf(d->err, sizeof(d->err),
			 "cannot mount volume %s at %.300s (is /dev/fuse there?)", o->name, d->mp);
		return -1;
	}
	return 0;
}

/* Once mounted: readahead, the pid file, the metrics socket, the lease renewer. */
static void daemon_mounted(struct daemon *d)
{
	int ret;

	/* not stat(mp): nobody serves the mount's requests yet */
	d->mdev = mount_dev(d->mp);
	if (d->mdev)
		set_readahead(d->mdev, d->o->readahead_kb);
	if (d->mdev && fl_pidfile_write(d->mdev))
		d->mdev = 0;
	if (d->mdev && (ret = fl_mm_serve(d->mdev)))
		fl_warn("metrics: cannot serve the metrics socket: %s", strerror(-ret));
	if (!d->o->ro) {
		d->rn.v = d->v;
		d->rn.core = d->core;
		d->rn.mdev = d->mdev;
		if (pthread_create(&d->rt, NULL, renew_thread, &d->rn) == 0)
			d->renewing = true;
	}
}

/* Undoes what is done, the core's last write-back under the lease; returns
 * rc, or EXIT_MOUNT when the unmount could not write everything. */
static int daemon_close(struct daemon *d, int rc)
{
	int ret;

	if (d->signals)
		fuse_remove_signal_handlers(d->se);
	if (d->renewing) {
		/* keep the lease while the last changes go out; the core goes away */
		pthread_mutex_lock(&d->rn.lock);
		d->rn.core = NULL;
		pthread_mutex_unlock(&d->rn.lock);
	}
	fl_snap_serve_stop(d->srv);
	if (d->core) {
		fl_mm_set_core(NULL);
		ret = fl_core_unmount(d->core);
		if (ret) {
			fl_err("volume %s: unmount could not write everything: %s", d->o->name,
			       strerror(-ret));
			if (rc == 0)
				rc = EXIT_MOUNT;
		} else if (rc == 0) {
			fl_notice("volume %s unmounted, everything is in RADOS", d->o->name);
		}
	}
	if (d->renewing) {
		pthread_mutex_lock(&d->rn.lock);
		d->rn.stop = true;
		pthread_cond_signal(&d->rn.cond);
		pthread_mutex_unlock(&d->rn.lock);
		pthread_join(d->rt, NULL);
	}
	if (d->se)
		fuse_session_destroy(d->se);
	fuse_opt_free_args(&d->args);
	fl_volume_close(d->v);
	fl_store_close(d->base);
	fl_mm_stop();
	if (d->mdev)
		fl_pidfile_remove(d->mdev);
	return rc;
}

int main(int argc, char **argv)
{
	/* static: fuse_opt_parse's strings in it live as long as the process */
	static struct opts o = {.allow_other = 1,
				.default_permissions = 1,
				.writeback = 1,
				.readahead_kb = 16384,
				.max_threads = 16,
				.spin_us = 0,
				.ra_objects = 4};
	static struct daemon d = {
		.o = &o,
		.args = FUSE_ARGS_INIT(0, NULL),
		.rn = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER}};
	char tag[120], fallback_log[256];
	bool keep_stderr;
	uint64_t t_start = fl_metrics_now_ns();
	int ret, rc = EXIT_MOUNT;

	close_inherited(argc, argv);
	exec_with_hugepages(argv);
	tune_malloc();
	fl_log_init("mount.flockerfs", LOG_NOTICE);
	if (parse_args(&o, argc, argv))
		return EXIT_USAGE;
	if (o.debug)
		fl_log_level = LOG_DEBUG;
	snprintf(tag, sizeof(tag), "volume %.100s", o.name);
	fl_log_set_tag(tag);
	keep_stderr = pick_log(&o, fallback_log, sizeof(fallback_log));
	if (!can_mount(&o, d.mp))
		return EXIT_MOUNT;
	/* librados threads do not survive fork: fork before connecting */
	if (!o.foreground)
		background();
	/* the daemon logs to the file; the parent kept the terminal for the result */
	if (o.logfile && !freopen(o.logfile, "a", stderr)) {
		report("cannot open the log file");
		return EXIT_MOUNT;
	}
	if (o.logfile)
		setvbuf(stderr, NULL, _IOLBF, 0);
	fl_log_hook_fuse();
	if (fl_mm_init(o.name, o.ro))
		fl_warn("metrics: out of memory: this mount has none");

	if (daemon_open(&d) == 0 && daemon_mount(&d) == 0) {
		daemon_mounted(&d);
		fl_notice("volume %s mounted at %s (%s)", o.name, d.mp,
			  o.ro ? "read-only" : "read-write");
		if (!o.foreground) {
			if (!keep_stderr)
				fl_log_to_syslog(true);
			fl_log_detach_stdio(keep_stderr);
			if (chdir("/"))
				(void)0;
		}
		fl_mm_mounted(fl_metrics_now_ns() - t_start);
		report("ok");
		ret = fl_fuse_loop(d.se, o.max_threads, o.spin_us);
		fuse_session_unmount(d.se);
		rc = 0;
		if (ret < 0)
			fl_err("fuse loop ended with %s", strerror(-ret));
	}
	rc = daemon_close(&d, rc);
	if (d.err[0])
		report(d.err);
	else if (rc)
		report("mount failed");
	return rc;
}
