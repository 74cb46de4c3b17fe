/* flockerfs — this host's flockerfs mounts and the Docker mount IDs using them. */
#include "plugin/mounts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cluster/net/ticker.h"
#include "flocker/buf.h"
#include "flocker/log.h"
#include "flocker/record.h"
#include "fs/util/mountinfo.h"
#include "fs/util/pidfile.h"
#include "fs/util/uuid.h"
#include "fs/volume/volume.h"

extern char **environ;

#define FSTYPE "fuse.flockerfs"

struct mnt {
	char name[FL_VOLNAME_MAX + 1];
	/* the fields below are protected by fl_mounts.lock */
	char uuid[37];
	char path[PATH_MAX];
	bool mounted;
	char dead[256]; /* why the mount no longer serves, "" while it does */
	char **ids;
	size_t nids, cap;
	unsigned refs; /* callers holding this entry */
	/* held for a whole acquire/release/drop: one operation per volume at a time */
	pthread_mutex_t op;
	struct mnt *next;
};

struct fl_mounts {
	char *state_dir, *mount_root, *helper, *conf, *id, *pool, *host;
	struct fl_store *(*store)(void *arg);
	void *store_arg;
	unsigned lease_s;     /* 0: mount.flockerfs's default */
	char root[PATH_MAX];  /* realpath of mount_root */
	char mdir[PATH_MAX];  /* <state_dir>/mounts */
	char ldir[PATH_MAX];  /* <state_dir>/log */
	pthread_mutex_t lock; /* protects the list and the entries' data */
	struct mnt *head;
	/* the health check thread (check_s > 0) */
	unsigned check_s;
	struct fl_ticker checker;
};

bool fl_mounts_id_valid(const char *id)
{
	size_t n = 0;
	bool ok = id != NULL && *id != '\0';

	for (; ok && id[n]; n++)
		ok = n < FL_MOUNTS_ID_MAX && id[n] > 0x20 && id[n] < 0x7f && id[n] != '/';
	return ok;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX], *p;
	int ret = 0;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp)) {
		ret = -ENAMETOOLONG;
		goto out;
	}
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
			ret = -errno;
			goto out;
		}
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		ret = -errno;
out:
	return ret;
}

/* ---------- the mounts of this host (fs/util/mountinfo) ---------- */

/* Is the daemon serving mount e alive?  Decided without touching the mount, which
 * could hang: by its pid file, else by a stat that fails at once on a dead one. */
static bool mount_alive(const struct fl_mountinfo *e)
{
	long pid = fl_pidfile_read(e->dev);
	struct stat st;
	bool alive;

	if (pid > 0)
		alive = kill((pid_t)pid, 0) == 0 && !fl_pid_is_zombie(pid);
	else
		alive = stat(e->target, &st) == 0 || errno != ENOTCONN;
	return alive;
}

/*
 * Can the mount e of volume name serve new containers?  true when its daemon
 * runs and still holds the volume's writer lock; false with why filled when
 * the daemon is gone, says it lost the lock (fenced), or the lock is held by
 * someone else or nobody (RADOS is asked only when the agent gave a pool and
 * the daemon runs; an unreachable cluster leaves the mount as it is).
 */
static bool mount_usable(struct fl_mounts *m, const char *name, const struct fl_mountinfo *e,
			 char *why, size_t len)
{
	dev_t dev = e->dev;
	struct fl_store *st;
	struct fl_volume *v = NULL;
	struct fl_holder h;
	char host[40], said[256];
	long pid;
	int held;
	bool ok = true;

	if (!mount_alive(e)) {
		snprintf(why, len, "its daemon is gone");
		return false;
	}
	if (fl_pidfile_fenced(dev, said, sizeof(said))) {
		snprintf(why, len, "its daemon lost the writer lock (%s): it was fenced", said);
		return false;
	}
	st = m->store ? m->store(m->store_arg) : NULL;
	if (!st || fl_volume_open(st, name, &v, NULL, 0))
		return true;
	pid = fl_pidfile_read(dev);
	held = fl_volume_holder(v, &h);
	snprintf(host, sizeof(host), "%.32s", m->host);
	if (held == 0) {
		snprintf(why, len, "nobody holds the volume's writer lock any more: it was fenced");
		ok = false;
	} else if (held > 0 && (strcmp(h.host, host) || (pid > 0 && h.pid != pid))) {
		snprintf(
			why, len,
			"the volume's writer lock is held by host %s (pid %ld), not by this mount's daemon (pid %ld): it was fenced",
			h.host, h.pid, pid);
		ok = false;
	}
	fl_volume_close(v);
	return ok;
}

/* ---------- the persisted set ---------- */

static int state_path(const struct fl_mounts *m, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s.json", m->mdir, name);

	return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret = 0;

	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
out:
	return ret;
}

/* Writes data to path atomically: a temporary file, fsync, rename, fsync of the directory. */
static int write_atomic(const char *dir, const char *path, const char *data, size_t len)
{
	char tmp[PATH_MAX + 8];
	size_t off = 0;
	ssize_t n;
	int fd = -1, ret = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	while (off < len) {
		n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto out_unlink;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0) {
		ret = -errno;
		goto out_unlink;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) < 0) {
		ret = -errno;
		goto out_unlink;
	}
	ret = fsync_dir(dir);
	goto out;
out_unlink:
	unlink(tmp);
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Writes e's set (m->lock held by the caller, so that it is consistent). */
static int persist(struct fl_mounts *m, const struct mnt *e, char *err, size_t errlen)
{
	char path[PATH_MAX];
	json_t *o, *ids;
	char *text = NULL;
	size_t i;
	int ret = -ENOMEM;

	ret = state_path(m, e->name, path, sizeof(path));
	if (ret)
		goto out_err;
	ret = -ENOMEM;
	if (!e->mounted && e->nids == 0) {
		ret = unlink(path) < 0 && errno != ENOENT ? -errno : 0;
		if (!ret)
			ret = fsync_dir(m->mdir);
		goto out_err;
	}
	ids = json_array();
	o = json_pack("{s:s, s:s, s:s, s:o}", "name", e->name, "uuid", e->uuid, "mountpoint",
		      e->path, "ids", ids);
	if (!o)
		goto out_err;
	for (i = 0; i < e->nids; i++)
		if (json_array_append_new(ids, json_string(e->ids[i])))
			goto out_free;
	text = json_dumps(o, JSON_INDENT(1));
	if (text)
		ret = write_atomic(m->mdir, path, text, strlen(text));
out_free:
	json_decref(o);
out_err:
	if (ret)
		fl_seterr(err, errlen, "cannot record the users of volume %s in %s: %s", e->name,
			  path, strerror(-ret));
	free(text);
	return ret;
}

static bool has_id(const struct mnt *e, const char *id)
{
	size_t i;
	bool found = false;

	for (i = 0; i < e->nids && !found; i++)
		found = !strcmp(e->ids[i], id);
	return found;
}

static int add_id(struct mnt *e, const char *id)
{
	int ret = 0;

	if (has_id(e, id))
		goto out;
	ret = fl_grow(&e->ids, &e->cap, e->nids, sizeof(*e->ids), 4);
	if (ret)
		goto out;
	e->ids[e->nids] = strdup(id);
	if (!e->ids[e->nids])
		ret = -ENOMEM;
	else
		e->nids++;
out:
	return ret;
}

/* Removes id: true if it was there. */
static bool del_id(struct mnt *e, const char *id)
{
	size_t i;
	bool found = false;

	for (i = 0; i < e->nids && !found; i++) {
		if (strcmp(e->ids[i], id))
			continue;
		free(e->ids[i]);
		e->ids[i] = e->ids[--e->nids];
		found = true;
	}
	return found;
}

/* ---------- entries ---------- */

static void free_entry(struct mnt *e)
{
	size_t i;

	for (i = 0; i < e->nids; i++)
		free(e->ids[i]);
	free(e->ids);
	pthread_mutex_destroy(&e->op);
	free(e);
}

static struct mnt *find_locked(struct fl_mounts *m, const char *name)
{
	struct mnt *e = m->head;

	while (e && strcmp(e->name, name))
		e = e->next;
	return e;
}

static struct mnt *new_entry(struct fl_mounts *m, const char *name)
{
	struct mnt *e = calloc(1, sizeof(*e));

	if (e) {
		memcpy(e->name, name, strnlen(name, sizeof(e->name) - 1));
		pthread_mutex_init(&e->op, NULL);
		e->next = m->head;
		m->head = e;
	}
	return e;
}

/* The entry of name with a reference, created if create; NULL if none (or ENOMEM). */
static struct mnt *get_entry(struct fl_mounts *m, const char *name, bool create)
{
	struct mnt *e;

	pthread_mutex_lock(&m->lock);
	e = find_locked(m, name);
	if (!e && create)
		e = new_entry(m, name);
	if (e)
		e->refs++;
	pthread_mutex_unlock(&m->lock);
	return e;
}

/* Drops a reference; an entry nobody holds, not mounted and unused goes away. */
static void put_entry(struct fl_mounts *m, struct mnt *e)
{
	struct mnt **pp;

	pthread_mutex_lock(&m->lock);
	if (--e->refs == 0 && !e->mounted && e->nids == 0) {
		for (pp = &m->head; *pp && *pp != e; pp = &(*pp)->next)
			;
		if (*pp)
			*pp = e->next;
		free_entry(e);
	}
	pthread_mutex_unlock(&m->lock);
}

/* ---------- mount.flockerfs ---------- */

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : 0;
}

/* The last "mount.flockerfs: " line of text, copied into out ("" if none). */
static void last_helper_line(const char *text, char *out, size_t outlen)
{
	const char *p = text, *found = NULL, *end;

	*out = '\0';
	while ((p = strstr(p, "mount.flockerfs: "))) {
		if (p == text || p[-1] == '\n')
			found = p;
		p++;
	}
	if (found) {
		found += strlen("mount.flockerfs: ");
		end = strchr(found, '\n');
		snprintf(out, outlen, "%.*s", (int)(end ? end - found : (long)strlen(found)),
			 found);
	}
}

/* Reads what was appended to path after off (at most 64 KiB), NUL-terminated. */
static char *read_tail(const char *path, off_t off)
{
	char *buf = NULL;
	ssize_t n = 0;
	off_t size = file_size(path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		goto out;
	if (size - off > 65536)
		off = size - 65536;
	if (off < 0 || off > size)
		off = 0;
	buf = malloc((size_t)(size - off) + 1);
	if (buf) {
		n = pread(fd, buf, (size_t)(size - off), off);
		buf[n > 0 ? n : 0] = '\0';
	}
	close(fd);
out:
	return buf;
}

/*
 * Turns mount.flockerfs's refusal into Docker's words.  It says
 * "cannot mount read-write: volume V is held read-write by host H (pid P) since T; use ...".
 */
static int explain(const struct fl_mounts *m, const char *name, const char *msg, char *err,
		   size_t errlen)
{
	static const char held[] = " is held read-write by host ";
	char host[128] = "", since[64] = "";
	const char *p = strstr(msg, held), *q;
	long pid = 0;
	int ret = -EIO;

	if (p) {
		p += strlen(held);
		q = strstr(p, " (pid ");
		if (q) {
			snprintf(host, sizeof(host), "%.*s", (int)(q - p), p);
			pid = strtol(q + 6, NULL, 10);
		}
		q = strstr(p, " since ");
		if (q) {
			q += 7;
			snprintf(since, sizeof(since), "%.*s", (int)strcspn(q, ";"), q);
		}
	}
	if (host[0] && strcmp(host, m->host)) {
		fl_seterr(
			err, errlen,
			"volume %s is in use on host %s since %s: stop the container there first (if that host is down, retry when its %u s lease has run out: the next mount fences it and takes over)",
			name, host, since, m->lease_s ? m->lease_s : FL_DEFAULT_LEASE_S);
		ret = -EBUSY;
	} else if (host[0]) {
		fl_seterr(
			err, errlen,
			"volume %s is in use on this host (%s) by pid %ld since %s, outside flocker-agent: unmount it there first",
			name, host, pid, since);
		ret = -EBUSY;
	} else if (strstr(msg, "no such volume")) {
		fl_seterr(err, errlen, "cannot mount volume %s: %s", name, msg);
		ret = -ENOENT;
	} else {
		fl_seterr(err, errlen, "cannot mount volume %s: %s", name, msg[0] ? msg : "failed");
	}
	return ret;
}

/* Runs mount.flockerfs NAME DIR; 0 once it is mounted. */
/* The -o options of mount.flockerfs for a mount whose log is logf. */
static void helper_opts(const struct fl_mounts *m, const char *logf, char *opts, size_t size)
{
	size_t n;

	n = (size_t)snprintf(opts, size, "timeout=%d,log=%s", FL_MOUNTS_CONNECT_TIMEOUT_S, logf);
	if (m->conf)
		n += (size_t)snprintf(opts + n, size - n, ",conf=%s", m->conf);
	if (m->id && n < size)
		n += (size_t)snprintf(opts + n, size - n, ",id=%s", m->id);
	if (m->pool && n < size)
		n += (size_t)snprintf(opts + n, size - n, ",pool=%s", m->pool);
	if (m->lease_s && n < size)
		n += (size_t)snprintf(opts + n, size - n, ",lease=%u", m->lease_s);
}

/* Starts helper with argv, stdin and stdout on /dev/null, stderr on errfd,
 * no signal blocked or ignored: 0 or a negative errno. */
static int spawn_helper(const char *helper, char *const argv[], int errfd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int ret;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, errfd, 2);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	ret = -posix_spawn(pid, helper, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return ret;
}

static int run_helper(struct fl_mounts *m, const char *name, const char *dir, char *err,
		      size_t errlen)
{
	char opts[3 * PATH_MAX], logf[PATH_MAX], out[4096], msg[1024], *tail = NULL;
	char *argv[] = {m->helper, (char *)name, (char *)dir, (char *)"-o", opts, NULL};
	struct pollfd pfd;
	struct timespec t0, now;
	size_t got = 0;
	off_t logoff;
	ssize_t r;
	pid_t pid = -1;
	int p[2] = {-1, -1}, st = 0, ret, left_ms;

	if (snprintf(logf, sizeof(logf), "%s/%s.log", m->ldir, name) >= (int)sizeof(logf)) {
		ret = -ENAMETOOLONG;
		fl_seterr(err, errlen, "cannot mount volume %s: state directory path too long",
			  name);
		goto out;
	}
	helper_opts(m, logf, opts, sizeof(opts));
	logoff = file_size(logf);
	if (pipe2(p, O_CLOEXEC) < 0) {
		ret = -errno;
		fl_seterr(err, errlen, "cannot mount volume %s: pipe: %s", name, strerror(-ret));
		goto out;
	}
	ret = spawn_helper(m->helper, argv, p[1], &pid);
	close(p[1]);
	p[1] = -1;
	if (ret) {
		pid = -1;
		fl_seterr(err, errlen, "cannot run %s: %s", m->helper, strerror(-ret));
		goto out;
	}
	fl_info("mounting volume %s at %s: %s %s %s -o %s", name, dir, m->helper, name, dir, opts);
	/* read its stderr until it exits (EOF), within the time bound */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left_ms = FL_MOUNTS_HELPER_TIMEOUT_S * 1000 -
			  (int)((now.tv_sec - t0.tv_sec) * 1000 +
				(now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left_ms <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			pid = -1;
			ret = -ETIMEDOUT;
			fl_seterr(
				err, errlen,
				"cannot mount volume %s: mount.flockerfs did not finish within %d s (is the Ceph cluster slow?): retry, and see %s",
				name, FL_MOUNTS_HELPER_TIMEOUT_S, logf);
			goto out;
		}
		pfd.fd = p[0];
		pfd.events = POLLIN;
		if (poll(&pfd, 1, left_ms) <= 0)
			continue;
		r = read(p[0], out + got, sizeof(out) - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == sizeof(out) - 1)
			got = 0; /* keep the end only */
	}
	out[got] = '\0';
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		ret = 0;
		goto out;
	}
	last_helper_line(out, msg, sizeof(msg));
	if (!msg[0]) {
		tail = read_tail(logf, logoff);
		if (tail)
			last_helper_line(tail, msg, sizeof(msg));
	}
	if (!msg[0])
		if (snprintf(msg, sizeof(msg), "mount.flockerfs failed (status %d); see %s", st,
			     logf) >= (int)sizeof(msg))
			msg[sizeof(msg) - 1] = '\0';
	fl_notice("mount of volume %s failed: %s", name, msg);
	ret = explain(m, name, msg, err, errlen);
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	free(tail);
	return ret;
}

/* Mounts name at dir, or adopts a mount of it already there. */
static int do_mount(struct fl_mounts *m, const char *name, const char *dir, char *err,
		    size_t errlen)
{
	struct fl_mountinfo e;
	char why[512];
	int ret;

	ret = mkdir_p(dir, 0755);
	if (ret) {
		fl_seterr(err, errlen, "cannot create mount point %s: %s", dir, strerror(-ret));
		goto out;
	}
	ret = fl_mountinfo_at(dir, &e);
	if (ret == 1 && !strcmp(e.fstype, FSTYPE) && !strcmp(e.source, name)) {
		if (mount_usable(m, name, &e, why, sizeof(why))) {
			fl_notice("volume %s is already mounted at %s: using that mount", name,
				  dir);
			ret = 0;
			goto out;
		}
		fl_warn("volume %s: the mount at %s is unusable (%s): detaching it", name, dir,
			why);
		umount2(dir, MNT_DETACH);
		ret = fl_mountinfo_at(dir, &e);
	}
	if (ret == 1) {
		fl_seterr(
			err, errlen,
			"cannot mount volume %s: something else (%s %s) is mounted at %s: unmount it",
			name, e.fstype, e.source, dir);
		ret = -EBUSY;
		goto out;
	}
	ret = run_helper(m, name, dir, err, errlen);
	if (ret)
		goto out;
	ret = fl_mountinfo_at(dir, &e);
	if (ret != 1 || strcmp(e.fstype, FSTYPE)) {
		fl_seterr(
			err, errlen,
			"cannot mount volume %s: mount.flockerfs succeeded but nothing is mounted at %s",
			name, dir);
		ret = -EIO;
		goto out;
	}
	ret = 0;
	fl_notice("volume %s mounted at %s", name, dir);
out:
	return ret;
}

/* Waits until pid is gone or a zombie; false after the bound. */
static bool wait_gone(long pid, int bound_s)
{
	struct timespec t0, now;
	bool gone = false;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		gone = kill((pid_t)pid, 0) < 0 || fl_pid_is_zombie(pid);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (gone || now.tv_sec - t0.tv_sec >= bound_s)
			break;
		usleep(20000);
	}
	return gone;
}

/*
 * Flushes (syncfs, then fsync of the root: a full commit), unmounts, and waits for the
 * daemon to exit so that the writer lock is free.  0 once nothing is mounted at dir.
 */
static int do_unmount(const char *name, const char *dir, char *err, size_t errlen)
{
	struct fl_mountinfo e;
	struct stat st;
	long pid = 0;
	int fd, ret;

	ret = fl_mountinfo_at(dir, &e);
	if (ret == 0)
		goto out_rmdir;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOTCONN) {
		fl_warn("volume %s: the daemon of %s is gone; detaching the dead mount", name, dir);
		umount2(dir, MNT_DETACH);
		ret = 0;
		goto out_rmdir;
	}
	if (fd >= 0) {
		if (fstat(fd, &st) == 0)
			pid = fl_pidfile_read(st.st_dev);
		if (syncfs(fd) < 0 || fsync(fd) < 0)
			fl_err("volume %s: cannot flush %s: %s (unmounting anyway; the daemon writes what it holds before it exits)",
			       name, dir, strerror(errno));
		close(fd);
	}
	if (umount2(dir, 0) < 0) {
		ret = -errno;
		if (ret == -EINVAL) { /* not a mount point any more */
			ret = 0;
			goto out_rmdir;
		}
		fl_seterr(
			err, errlen,
			ret == -EBUSY
				? "cannot unmount volume %s at %s: busy (a process outside Docker has a file or its working directory there): stop it; the next Unmount or docker volume rm retries"
				: "cannot unmount volume %s at %s: %s",
			name, dir, strerror(-ret));
		goto out;
	}
	ret = 0;
	if (pid > 0 && !wait_gone(pid, FL_MOUNTS_EXIT_WAIT_S))
		fl_warn("volume %s: unmounted, but its daemon (pid %ld) is still writing after %d s; the volume stays locked until it is done",
			name, pid, FL_MOUNTS_EXIT_WAIT_S);
	else
		fl_notice("volume %s unmounted from %s", name, dir);
out_rmdir:
	if (rmdir(dir) < 0 && errno != ENOENT)
		fl_info("cannot remove mount point %s: %s", dir, strerror(errno));
out:
	return ret;
}

/* ---------- the public calls ---------- */

int fl_mounts_acquire(struct fl_mounts *m, const char *name, const char *uuid, const char *id,
		      char *path, size_t pathlen, char *err, size_t errlen)
{
	struct fl_mountinfo mi;
	struct mnt *e;
	char dir[PATH_MAX], why[512] = "";
	bool mounted, fresh = false;
	int ret;

	if (!fl_mounts_id_valid(id) || (uuid && !fl_uuid_valid(uuid))) {
		fl_seterr(err, errlen,
			  "invalid mount ID for volume %s: use 1 to %d printable characters", name,
			  FL_MOUNTS_ID_MAX);
		ret = -EINVAL;
		goto out_ret;
	}
	e = get_entry(m, name, true);
	if (!e) {
		fl_seterr(err, errlen, "cannot mount volume %s: out of memory", name);
		ret = -ENOMEM;
		goto out_ret;
	}
	pthread_mutex_lock(&e->op);
	pthread_mutex_lock(&m->lock);
	mounted = e->mounted;
	snprintf(dir, sizeof(dir), "%s", e->path);
	pthread_mutex_unlock(&m->lock);

	/* a mount whose daemon died, or that was fenced, is of no use to a new container:
	 * its users are stale (their containers get errors from it); mount again */
	if (mounted && (fl_mountinfo_at(dir, &mi) != 1 || strcmp(mi.fstype, FSTYPE) ||
			!mount_usable(m, name, &mi, why, sizeof(why)))) {
		size_t i, stale;

		pthread_mutex_lock(&m->lock);
		stale = e->nids;
		for (i = 0; i < e->nids; i++)
			free(e->ids[i]);
		e->nids = 0;
		e->mounted = false;
		e->dead[0] = '\0';
		persist(m, e, NULL, 0);
		pthread_mutex_unlock(&m->lock);
		fl_warn("volume %s: the mount at %s is gone or unusable (%s): detached, its %zu stale user(s) dropped; mounting it again",
			name, dir, why[0] ? why : "not mounted", stale);
		umount2(dir, MNT_DETACH);
		mounted = false;
	}
	if (!mounted) {
		if (!uuid) {
			ret = -EAGAIN;
			goto out;
		}
		if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", m->root, uuid) >= sizeof(dir)) {
			ret = -ENAMETOOLONG;
			fl_seterr(err, errlen, "cannot mount volume %s: mount point too long",
				  name);
			goto out;
		}
		ret = do_mount(m, name, dir, err, errlen);
		if (ret)
			goto out;
		fresh = true;
	}
	pthread_mutex_lock(&m->lock);
	if (fresh) {
		e->mounted = true;
		e->dead[0] = '\0';
		snprintf(e->uuid, sizeof(e->uuid), "%s", uuid);
		snprintf(e->path, sizeof(e->path), "%s", dir);
	}
	ret = add_id(e, id);
	if (!ret)
		ret = persist(m, e, err, errlen);
	if (ret) {
		del_id(e, id);
		if (ret == -ENOMEM)
			fl_seterr(err, errlen, "cannot mount volume %s: out of memory", name);
	}
	pthread_mutex_unlock(&m->lock);
	if (ret)
		goto out;
	if ((size_t)snprintf(path, pathlen, "%s", dir) >= pathlen)
		ret = -ENAMETOOLONG;
	fl_info("volume %s: mount ID %.12s added (%s)", name, id, dir);
out:
	pthread_mutex_unlock(&e->op);
	put_entry(m, e);
out_ret:
	return ret;
}

/* Unmounts e when it has no user (e->op held). */
static int unmount_if_unused(struct fl_mounts *m, struct mnt *e, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	bool go;
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	go = e->mounted && e->nids == 0;
	snprintf(dir, sizeof(dir), "%s", e->path);
	pthread_mutex_unlock(&m->lock);
	if (!go)
		goto out;
	ret = do_unmount(e->name, dir, err, errlen);
	if (ret)
		goto out;
	pthread_mutex_lock(&m->lock);
	e->mounted = false;
	ret = persist(m, e, err, errlen);
	pthread_mutex_unlock(&m->lock);
out:
	return ret;
}

int fl_mounts_release(struct fl_mounts *m, const char *name, const char *id, char *err,
		      size_t errlen)
{
	struct mnt *e = get_entry(m, name, false);
	bool had;
	int ret = 0;

	if (!e) {
		fl_info("volume %s: unmount of ID %.12s, but it is not mounted here", name, id);
		goto out;
	}
	pthread_mutex_lock(&e->op);
	pthread_mutex_lock(&m->lock);
	had = del_id(e, id);
	if (had)
		ret = persist(m, e, err, errlen);
	pthread_mutex_unlock(&m->lock);
	if (!had)
		fl_info("volume %s: unmount of unknown ID %.12s", name, id);
	if (!ret)
		ret = unmount_if_unused(m, e, err, errlen);
	pthread_mutex_unlock(&e->op);
	put_entry(m, e);
out:
	return ret;
}

int fl_mounts_drop_unused(struct fl_mounts *m, const char *name, char *err, size_t errlen)
{
	struct mnt *e = get_entry(m, name, false);
	size_t users;
	int ret = 0;

	if (!e)
		goto out;
	pthread_mutex_lock(&e->op);
	pthread_mutex_lock(&m->lock);
	users = e->nids;
	pthread_mutex_unlock(&m->lock);
	if (users) {
		fl_seterr(
			err, errlen,
			"volume %s is mounted on this host for %zu container(s): stop and remove them first",
			name, users);
		ret = -EBUSY;
	} else {
		ret = unmount_if_unused(m, e, err, errlen);
	}
	pthread_mutex_unlock(&e->op);
	put_entry(m, e);
out:
	return ret;
}

int fl_mounts_lookup(struct fl_mounts *m, const char *name, char *path, size_t pathlen,
		     unsigned *users)
{
	struct mnt *e;
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	e = find_locked(m, name);
	if (e && e->mounted) {
		snprintf(path, pathlen, "%s", e->path);
		if (users)
			*users = (unsigned)e->nids;
		ret = 1;
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}

/* ---------- health ---------- */

/*
 * Is the mount at dir dead (why filled)?  Without RADOS and without touching
 * a live mount: gone from the mount table, its daemon gone (a FUSE mount
 * whose daemon died answers ENOTCONN), or its daemon says it was fenced.
 */
static bool mount_dead(const char *dir, char *why, size_t len)
{
	struct fl_mountinfo mi;
	char said[200];

	if (fl_mountinfo_at(dir, &mi) != 1 || strcmp(mi.fstype, FSTYPE)) {
		snprintf(why, len, "it is no longer mounted");
		return true;
	}
	if (!mount_alive(&mi)) {
		snprintf(why, len, "its daemon is gone (Transport endpoint is not connected)");
		return true;
	}
	if (fl_pidfile_fenced(mi.dev, said, sizeof(said))) {
		snprintf(why, len, "its daemon lost the writer lock (%s): it was fenced", said);
		return true;
	}
	return false;
}

/* Checks e (referenced); skipped while an operation on it runs.  1 dead, 0 not. */
static int check_entry(struct fl_mounts *m, struct mnt *e)
{
	char dir[PATH_MAX], why[256] = "";
	bool mounted, dead, was;
	size_t users;

	if (pthread_mutex_trylock(&e->op))
		return 0; /* a mount or unmount is under way: it decides */
	pthread_mutex_lock(&m->lock);
	mounted = e->mounted;
	snprintf(dir, sizeof(dir), "%s", e->path);
	pthread_mutex_unlock(&m->lock);
	dead = mounted && mount_dead(dir, why, sizeof(why));
	pthread_mutex_lock(&m->lock);
	was = e->dead[0] != '\0';
	users = e->nids;
	if (dead)
		snprintf(e->dead, sizeof(e->dead), "%s", why);
	else
		e->dead[0] = '\0';
	pthread_mutex_unlock(&m->lock);
	pthread_mutex_unlock(&e->op);
	if (dead && !was)
		fl_warn("volume %s: the mount at %s is dead: %s; its %zu container(s) get errors "
			"from it; the next container mounts the volume again",
			e->name, dir, why, users);
	return dead;
}

int fl_mounts_check(struct fl_mounts *m, const char *name)
{
	char(*names)[FL_VOLNAME_MAX + 1] = NULL;
	size_t n = 0, cap = 0, i;
	struct mnt *e;
	int dead = 0;

	pthread_mutex_lock(&m->lock);
	for (e = m->head; e; e = e->next) {
		if (!e->mounted || (name && strcmp(e->name, name)))
			continue;
		if (fl_grow(&names, &cap, n, sizeof(*names), 16))
			break;
		snprintf(names[n++], sizeof(*names), "%s", e->name);
	}
	pthread_mutex_unlock(&m->lock);
	for (i = 0; i < n; i++) {
		e = get_entry(m, names[i], false);
		if (!e)
			continue;
		dead += check_entry(m, e);
		put_entry(m, e);
	}
	free(names);
	return dead;
}

int fl_mounts_dead(struct fl_mounts *m, const char *name, char *why, size_t whylen)
{
	struct mnt *e;
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	e = find_locked(m, name);
	if (e && e->mounted && e->dead[0]) {
		snprintf(why, whylen, "%s", e->dead);
		ret = 1;
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}

/* The health check thread's job, every check_s seconds. */
static int check_job(void *arg)
{
	fl_mounts_check(arg, NULL);
	return 0;
}

/* ---------- open: load and adopt ---------- */

/* Loads one state file.  A set whose mount is gone is forgotten. */
static void load_one(struct fl_mounts *m, const char *file)
{
	char path[PATH_MAX], dir[PATH_MAX], why[512];
	const char *name = NULL, *uuid = NULL, *mp = NULL;
	json_t *o = NULL, *ids = NULL, *v;
	json_error_t jerr;
	struct fl_mountinfo mi;
	struct mnt *e;
	size_t i;

	if (snprintf(path, sizeof(path), "%s/%s", m->mdir, file) >= (int)sizeof(path))
		goto out;
	o = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!o ||
	    json_unpack(o, "{s:s, s:s, s:s, s:o}", "name", &name, "uuid", &uuid, "mountpoint", &mp,
			"ids", &ids) ||
	    !fl_volname_valid(name) || !fl_uuid_valid(uuid) || !json_is_array(ids)) {
		fl_err("ignoring %s: not a mount record (%s)", path, o ? "bad fields" : jerr.text);
		goto out;
	}
	if (snprintf(dir, sizeof(dir), "%s/%s", m->root, uuid) >= (int)sizeof(dir))
		goto out;
	if (fl_mountinfo_at(dir, &mi) != 1 || strcmp(mi.fstype, FSTYPE) ||
	    strcmp(mi.source, name)) {
		fl_notice("volume %s is no longer mounted at %s: forgetting its %zu user(s)", name,
			  dir, json_array_size(ids));
		unlink(path);
		goto out;
	}
	if (!mount_usable(m, name, &mi, why, sizeof(why))) {
		fl_warn("volume %s: not adopting the mount at %s: %s; detached it and forgot its %zu user(s) (containers still using it get I/O errors: restart them)",
			name, dir, why, json_array_size(ids));
		umount2(dir, MNT_DETACH);
		rmdir(dir);
		unlink(path);
		goto out;
	}
	pthread_mutex_lock(&m->lock);
	e = find_locked(m, name) ? NULL : new_entry(m, name);
	if (e) {
		e->mounted = true;
		snprintf(e->uuid, sizeof(e->uuid), "%s", uuid);
		snprintf(e->path, sizeof(e->path), "%s", dir);
		json_array_foreach(ids, i, v) if (json_is_string(v) &&
						  fl_mounts_id_valid(json_string_value(v)))
			add_id(e, json_string_value(v));
		fl_notice("volume %s: adopted the mount at %s with %zu user(s)", name, dir,
			  e->nids);
	}
	pthread_mutex_unlock(&m->lock);
	(void)mp;
out:
	json_decref(o);
}

static int adopt_cb(void *arg, const struct fl_mountinfo *mi)
{
	struct fl_mounts *m = arg;
	char why[512];
	const char *base = strrchr(mi->target, '/');
	size_t rootlen = strlen(m->root);
	struct mnt *e;

	if (strcmp(mi->fstype, FSTYPE) || !base || (size_t)(base - mi->target) != rootlen ||
	    strncmp(mi->target, m->root, rootlen) || !fl_uuid_valid(base + 1) ||
	    !fl_volname_valid(mi->source))
		goto out;
	pthread_mutex_lock(&m->lock);
	e = find_locked(m, mi->source);
	pthread_mutex_unlock(&m->lock);
	if (!e && !mount_usable(m, mi->source, mi, why, sizeof(why))) {
		fl_warn("volume %s: not adopting the mount at %s: %s; detached it", mi->source,
			mi->target, why);
		umount2(mi->target, MNT_DETACH);
		goto out;
	}
	pthread_mutex_lock(&m->lock);
	e = find_locked(m, mi->source);
	if (!e) {
		e = new_entry(m, mi->source);
		if (e) {
			e->mounted = true;
			snprintf(e->uuid, sizeof(e->uuid), "%s", base + 1);
			snprintf(e->path, sizeof(e->path), "%s", mi->target);
			persist(m, e, NULL, 0);
			fl_notice(
				"volume %s: adopted the mount at %s, which had no record: no user until Docker mounts it",
				mi->source, mi->target);
		}
	}
	pthread_mutex_unlock(&m->lock);
out:
	return 0;
}

static char *dup_opt(const char *s, bool *ok)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*ok = false;
	return d;
}

int fl_mounts_open(const struct fl_mounts_config *c, struct fl_mounts **out, char *err,
		   size_t errlen)
{
	struct fl_mounts *m = calloc(1, sizeof(*m));
	struct dirent *de;
	DIR *d = NULL;
	bool ok = true;
	size_t n;
	int ret = -ENOMEM;

	*out = NULL;
	if (!m)
		goto out_err;
	pthread_mutex_init(&m->lock, NULL);
	m->state_dir = dup_opt(c->state_dir, &ok);
	m->mount_root = dup_opt(c->mount_root, &ok);
	m->helper = dup_opt(c->mount_helper, &ok);
	m->conf = dup_opt(c->ceph_conf, &ok);
	m->id = dup_opt(c->id, &ok);
	m->pool = dup_opt(c->pool, &ok);
	m->host = dup_opt(c->host ? c->host : "", &ok);
	m->lease_s = c->lease_s;
	m->store = c->store;
	m->store_arg = c->store_arg;
	m->check_s = c->check_s;
	if (!ok)
		goto out_err;
	snprintf(m->mdir, sizeof(m->mdir), "%s/mounts", c->state_dir);
	snprintf(m->ldir, sizeof(m->ldir), "%s/log", c->state_dir);
	if ((ret = mkdir_p(c->state_dir, 0700)) || (ret = mkdir_p(m->mdir, 0700)) ||
	    (ret = mkdir_p(m->ldir, 0700))) {
		fl_seterr(err, errlen, "cannot create state directory %s: %s", c->state_dir,
			  strerror(-ret));
		goto out_err;
	}
	ret = mkdir_p(c->mount_root, 0755);
	if (ret || !realpath(c->mount_root, m->root)) {
		ret = ret ? ret : -errno;
		fl_seterr(err, errlen, "cannot create mount root %s: %s", c->mount_root,
			  strerror(-ret));
		goto out_err;
	}
	if (strlen(m->root) > 200) {
		ret = -ENAMETOOLONG;
		fl_seterr(err, errlen, "mount root %s is too long: use at most 200 bytes", m->root);
		goto out_err;
	}
	d = opendir(m->mdir);
	if (!d) {
		ret = -errno;
		fl_seterr(err, errlen, "cannot read %s: %s", m->mdir, strerror(-ret));
		goto out_err;
	}
	while ((de = readdir(d))) {
		n = strlen(de->d_name);
		if (n > 5 && !strcmp(de->d_name + n - 5, ".json"))
			load_one(m, de->d_name);
	}
	closedir(d);
	ret = fl_mountinfo_each(adopt_cb, m);
	if (ret) {
		fl_seterr(err, errlen, "cannot read /proc/self/mountinfo: %s", strerror(-ret));
		goto out_err;
	}
	if (m->check_s) {
		ret = fl_ticker_start(&m->checker, (long)m->check_s * 1000, check_job, m);
		if (ret) {
			fl_seterr(err, errlen, "cannot start the mount health check: %s",
				  strerror(-ret));
			goto out_err;
		}
	}
	*out = m;
	m = NULL;
	ret = 0;
	goto out;
out_err:
	if (ret == -ENOMEM)
		fl_seterr(err, errlen, "out of memory");
out:
	fl_mounts_free(m);
	return ret;
}

void fl_mounts_free(struct fl_mounts *m)
{
	struct mnt *e;

	if (!m)
		goto out;
	fl_ticker_stop(&m->checker);
	while ((e = m->head)) {
		m->head = e->next;
		free_entry(e);
	}
	pthread_mutex_destroy(&m->lock);
	free(m->state_dir);
	free(m->mount_root);
	free(m->helper);
	free(m->conf);
	free(m->id);
	free(m->pool);
	free(m->host);
	free(m);
out:
	return;
}
