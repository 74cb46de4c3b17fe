/* flockerfs — the mount daemon's metrics and their socket (see mount_metrics.h). */
#define FUSE_USE_VERSION 314
#include "fs/fuse/mount_metrics.h"

#include <errno.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "flocker/log.h"
#include "fs/util/pidfile.h"

#define OPCODE_MAX 64

static struct fl_metrics *reg;
static struct fl_metric *_Atomic fuse_lat[OPCODE_MAX + 1];
static struct fl_metric *rbytes, *wbytes, *renewals, *renew_fail, *renew_lat, *fenced, *mount_dur,
	*started;
static pthread_mutex_t core_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fl_core *core; /* guarded by core_lock */

static const char *op_name(uint32_t op)
{
	switch (op) {
	case FUSE_LOOKUP:
		return "lookup";
	case FUSE_FORGET:
		return "forget";
	case FUSE_GETATTR:
		return "getattr";
	case FUSE_SETATTR:
		return "setattr";
	case FUSE_READLINK:
		return "readlink";
	case FUSE_SYMLINK:
		return "symlink";
	case FUSE_MKNOD:
		return "mknod";
	case FUSE_MKDIR:
		return "mkdir";
	case FUSE_UNLINK:
		return "unlink";
	case FUSE_RMDIR:
		return "rmdir";
	case FUSE_RENAME:
		return "rename";
	case FUSE_LINK:
		return "link";
	case FUSE_OPEN:
		return "open";
	case FUSE_READ:
		return "read";
	case FUSE_WRITE:
		return "write";
	case FUSE_STATFS:
		return "statfs";
	case FUSE_RELEASE:
		return "release";
	case FUSE_FSYNC:
		return "fsync";
	case FUSE_SETXATTR:
		return "setxattr";
	case FUSE_GETXATTR:
		return "getxattr";
	case FUSE_LISTXATTR:
		return "listxattr";
	case FUSE_REMOVEXATTR:
		return "removexattr";
	case FUSE_FLUSH:
		return "flush";
	case FUSE_INIT:
		return "init";
	case FUSE_OPENDIR:
		return "opendir";
	case FUSE_READDIR:
		return "readdir";
	case FUSE_RELEASEDIR:
		return "releasedir";
	case FUSE_FSYNCDIR:
		return "fsyncdir";
	case FUSE_ACCESS:
		return "access";
	case FUSE_CREATE:
		return "create";
	case FUSE_INTERRUPT:
		return "interrupt";
	case FUSE_DESTROY:
		return "destroy";
	case FUSE_BATCH_FORGET:
		return "batch_forget";
	case FUSE_FALLOCATE:
		return "fallocate";
	case FUSE_READDIRPLUS:
		return "readdirplus";
	case FUSE_RENAME2:
		return "rename2";
	case FUSE_LSEEK:
		return "lseek";
	case FUSE_COPY_FILE_RANGE:
		return "copy_file_range";
	default:
		return "other";
	}
}

static _Atomic uint64_t mount_ns;

static double mount_secs(void *arg)
{
	(void)arg;
	return (double)atomic_load(&mount_ns) / 1e9;
}

static double dirty_bytes(void *arg)
{
	double v = 0;

	(void)arg;
	pthread_mutex_lock(&core_lock);
	if (core)
		v = (double)fl_core_dirty_mem(core);
	pthread_mutex_unlock(&core_lock);
	return v;
}

/* The counters, each with its name and help. */
static const struct {
	struct fl_metric **m;
	const char *name, *help;
} counters[] = {
	{&rbytes, "flockerfs_read_bytes_total", "Bytes read from files through FUSE."},
	{&wbytes, "flockerfs_written_bytes_total", "Bytes written to files through FUSE."},
	{&renewals, "flockerfs_lease_renewals_total", "Renewals of the volume's writer lock."},
	{&renew_fail, "flockerfs_lease_renewal_failures_total",
	 "Renewals of the writer lock that failed."},
	{&fenced, "flockerfs_fenced_total",
	 "Times this mount lost its writer lock (fenced: every change fails with EIO from then "
	 "on)."},
};

int fl_mm_init(const char *volume, bool ro)
{
	const char *mode[] = {"mode", ro ? "ro" : "rw"};
	struct fl_metrics *m = fl_metrics_new();

	if (!m || fl_metrics_const_label(m, "volume", volume))
		goto fail;
	fl_metric_set(fl_metrics_gauge(m, "flockerfs_mount_info",
				       "1 for a mounted volume, with its mode.", mode, 1),
		      1);
	started =
		fl_metrics_gauge(m, "flockerfs_mount_start_time_seconds",
				 "When the mount was served, in seconds since the epoch.", NULL, 0);
	mount_dur =
		fl_metrics_gauge_fn(m, "flockerfs_mount_duration_seconds",
				    "How long the mount took, from the daemon's start to serving "
				    "(connect, writer lock, journal replay).",
				    NULL, 0, mount_secs, NULL);
	fl_metrics_gauge_fn(m, "flockerfs_dirty_bytes",
			    "Memory held by dirty and in-flight file data (what dirty_max bounds).",
			    NULL, 0, dirty_bytes, NULL);
	renew_lat = fl_metrics_histogram(m, "flockerfs_lease_renewal_duration_seconds",
					 "Latency of a renewal of the writer lock.", NULL, 0,
					 fl_metrics_latency_ns, fl_metrics_latency_ns_n, 1e-9);
	if (!started || !mount_dur || !renew_lat)
		goto fail;
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		*counters[i].m = fl_metrics_counter(m, counters[i].name, counters[i].help, NULL, 0);
		if (!*counters[i].m)
			goto fail;
	}
	reg = m;
	return 0;
fail:
	fl_metrics_free(m);
	return -ENOMEM;
}

struct fl_metrics *fl_mm_registry(void)
{
	return reg;
}

void fl_mm_fuse_op(uint32_t opcode, uint64_t ns)
{
	uint32_t i = opcode <= OPCODE_MAX ? opcode : OPCODE_MAX;
	struct fl_metric *s;

	if (!reg)
		return;
	s = atomic_load_explicit(&fuse_lat[i], memory_order_acquire);
	if (!s) {
		const char *l[2] = {"op", op_name(opcode)};

		/* made on the first request of its kind; a race makes the same one */
		s = fl_metrics_histogram(reg, "flockerfs_fuse_op_duration_seconds",
					 "FUSE requests by kind: latency from the daemon reading "
					 "the request to its reply.",
					 l, 1, fl_metrics_latency_ns, fl_metrics_latency_ns_n,
					 1e-9);
		atomic_store_explicit(&fuse_lat[i], s, memory_order_release);
	}
	fl_metric_observe(s, ns);
}

void fl_mm_read_bytes(uint64_t n)
{
	fl_metric_add(rbytes, n);
}

void fl_mm_write_bytes(uint64_t n)
{
	fl_metric_add(wbytes, n);
}

void fl_mm_lease_renewal(int ret, uint64_t ns)
{
	fl_metric_add(renewals, 1);
	fl_metric_observe(renew_lat, ns);
	if (ret)
		fl_metric_add(renew_fail, 1);
}

void fl_mm_fenced(void)
{
	fl_metric_add(fenced, 1);
}

void fl_mm_set_core(struct fl_core *c)
{
	pthread_mutex_lock(&core_lock);
	core = c;
	pthread_mutex_unlock(&core_lock);
}

void fl_mm_mounted(uint64_t ns)
{
	atomic_store(&mount_ns, ns);
	fl_metric_set(started, (int64_t)time(NULL));
}

/* ---------- the socket ---------- */

static int lfd = -1;
static pthread_t server;
static atomic_bool stopping;
static char sock_path[108];
static struct stat sock_st; /* the socket as bound: unlink_own_sock compares */

static void answer(int fd)
{
	struct timeval tv = {.tv_sec = 1};
	struct fl_buf b;
	size_t off = 0;

	/* a client that does not read cannot hold the thread for long */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	fl_buf_init(&b, FL_METRICS_TEXT_MAX);
	if (fl_metrics_write(reg, &b))
		fl_warn("metrics: cannot write the exposition text: too large");
	while (off < b.len) {
		ssize_t n = send(fd, b.data + off, b.len - off, MSG_NOSIGNAL);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	fl_buf_free(&b);
}

static void *serve(void *arg)
{
	(void)arg;
	while (!atomic_load(&stopping)) {
		struct pollfd p = {.fd = lfd, .events = POLLIN};
		int fd;

		if (poll(&p, 1, 200) <= 0)
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		answer(fd);
		close(fd);
	}
	return NULL;
}

/* Removes the socket if it is still the one this daemon bound: the device
 * number may belong to a new mount by now, whose daemon made its own. */
static void unlink_own_sock(void)
{
	struct stat st;

	if (stat(sock_path, &st) == 0 && st.st_ino == sock_st.st_ino && st.st_dev == sock_st.st_dev)
		unlink(sock_path);
}

int fl_mm_serve(dev_t dev)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int ret;

	if (!reg)
		return -EINVAL;
	fl_metrics_sock_path(sock_path, sizeof(sock_path), dev);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (mkdir(FL_RUN_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	unlink(sock_path); /* a dead daemon's, of the same device number */
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(sock_path, 0600) < 0 ||
	    stat(sock_path, &sock_st) < 0 || listen(lfd, 16) < 0) {
		ret = -errno;
		goto fail;
	}
	ret = pthread_create(&server, NULL, serve, NULL);
	if (ret) {
		ret = -ret;
		goto fail;
	}
	return 0;
fail:
	close(lfd);
	lfd = -1;
	unlink(sock_path);
	return ret;
}

void fl_mm_stop(void)
{
	if (lfd < 0)
		return;
	atomic_store(&stopping, true);
	pthread_join(server, NULL);
	close(lfd);
	lfd = -1;
	unlink_own_sock();
}
