/*
 * flockerfs — the FUSE request loop.
 *
 * libfuse's multi-threaded loop has every idle worker blocked in read(2) on
 * /dev/fuse: each request wakes one of them, and a metadata request (a
 * LOOKUP, a CREATE) costs two thread switches, the daemon's and the
 * caller's.  Profiles of small-file work showed more than half the daemon's
 * time in those switches and nearly none in the file system.
 *
 * Here one worker at a time owns the device (the reader).  The reader spins
 * on non-blocking reads for a short while before it sleeps in poll(2), so a
 * caller that sends its next request right after a reply finds it awake.
 * Requests that can wait a long time on RADOS or on other requests (data
 * I/O, fsync, truncate, ...) hand the device to an idle worker first; quick
 * metadata requests are served by the reader itself, which then reads on:
 * requests that queued meanwhile are taken without a switch at all.
 */
#define FUSE_USE_VERSION 314
#include "fs/fuse/fuse_ll.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fuse_lowlevel.h>

#include "flocker/log.h"
#include "fs/fuse/mount_metrics.h"

/* writes up to this size are served by the reader (a small file's data) */
#define INLINE_WRITE_MAX (64u << 10)

struct loop {
	struct fuse_session *se;
	int fd;
	unsigned spin_us;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool reading; /* a worker owns the device */
	int error;
};

static void log_from_fuse(enum fuse_log_level level, const char *fmt, va_list ap)
{
	if ((int)level <= fl_log_level)
		fl_log_vemit((int)level, fmt, ap);
}

void fl_log_hook_fuse(void)
{
	fuse_set_log_func(log_from_fuse);
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Whether a request may wait long (RADOS I/O, room for dirty data, a
 * write-back): such requests are served by a worker of their own. */
static bool may_wait(const struct fuse_buf *buf)
{
	const struct fuse_in_header *in = buf->mem;

	if (buf->size < sizeof(*in))
		return true;
	switch (in->opcode) {
	case FUSE_LOOKUP:
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_GETATTR:
	case FUSE_READLINK:
	case FUSE_SYMLINK:
	case FUSE_MKNOD:
	case FUSE_MKDIR:
	case FUSE_UNLINK:
	case FUSE_RMDIR:
	case FUSE_RENAME:
	case FUSE_RENAME2:
	case FUSE_LINK:
	case FUSE_OPEN:
	case FUSE_OPENDIR:
	case FUSE_READDIR:
	case FUSE_READDIRPLUS:
	case FUSE_RELEASEDIR:
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR:
	case FUSE_ACCESS:
	case FUSE_CREATE:
	case FUSE_INTERRUPT:
		return false;
	case FUSE_WRITE:
		return in->len > INLINE_WRITE_MAX;
	default:
		/* READ, FSYNC, FLUSH, RELEASE (the last one of an unlinked file
		 * waits for its write-back), SETATTR (truncate), FALLOCATE, ... */
		return true;
	}
}

/* Reads one request: spins for spin_us, then sleeps in poll().  Returns
 * the size read, 0 when the session ended, or -errno. */
static int receive(struct loop *l, struct fuse_buf *buf)
{
	int64_t until = l->spin_us ? now_us() + l->spin_us : 0;

	for (;;) {
		struct pollfd p = {.fd = l->fd, .events = POLLIN};
		int res = fuse_session_receive_buf(l->se, buf);

		if (res != -EAGAIN && res != -EINTR)
			return res;
		if (fuse_session_exited(l->se))
			return 0;
		if (until && now_us() < until)
			continue;
		/* timed: a signal may end the session in another thread */
		if (poll(&p, 1, 500) < 0 && errno != EINTR)
			return -errno;
	}
}

/* Serves one request, timed by its kind for the metrics. */
static void process(struct loop *l, const struct fuse_buf *buf)
{
	const struct fuse_in_header *in = buf->mem;
	uint32_t op = buf->size >= sizeof(*in) ? in->opcode : 0;
	uint64_t t0 = fl_metrics_now_ns();

	fuse_session_process_buf(l->se, buf);
	fl_mm_fuse_op(op, fl_metrics_now_ns() - t0);
}

static void release_device(struct loop *l)
{
	pthread_mutex_lock(&l->lock);
	l->reading = false;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

static void *worker(void *arg)
{
	struct loop *l = arg;
	struct fuse_buf buf = {.mem = NULL};

	for (;;) {
		int res;

		pthread_mutex_lock(&l->lock);
		while (l->reading && !fuse_session_exited(l->se))
			pthread_cond_wait(&l->cond, &l->lock);
		if (fuse_session_exited(l->se)) {
			pthread_mutex_unlock(&l->lock);
			break;
		}
		l->reading = true;
		pthread_mutex_unlock(&l->lock);
		/* the reader keeps the device while its requests are quick */
		for (;;) {
			res = receive(l, &buf);
			if (res <= 0 || may_wait(&buf))
				break;
			process(l, &buf);
		}
		release_device(l);
		if (res <= 0) {
			pthread_mutex_lock(&l->lock);
			if (res < 0 && !l->error)
				l->error = res;
			pthread_mutex_unlock(&l->lock);
			fuse_session_exit(l->se);
			break;
		}
		process(l, &buf);
	}
	/* wake the others: the session ended */
	pthread_mutex_lock(&l->lock);
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	free(buf.mem);
	return NULL;
}

int fl_fuse_loop(struct fuse_session *se, unsigned nthreads, unsigned spin_us)
{
	struct loop l = {.se = se, .fd = fuse_session_fd(se), .spin_us = spin_us};
	pthread_t *t = calloc(nthreads, sizeof(*t));
	unsigned i, n = 0;
	int fl;

	if (!t)
		return -ENOMEM;
	fl = fcntl(l.fd, F_GETFL);
	if (fl < 0 || fcntl(l.fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		free(t);
		return -errno;
	}
	pthread_mutex_init(&l.lock, NULL);
	pthread_cond_init(&l.cond, NULL);
	for (i = 0; i < nthreads; i++) {
		int ret = pthread_create(&t[i], NULL, worker, &l);

		if (ret) {
			fl_err("cannot start FUSE worker %u: %s", i, strerror(ret));
			break;
		}
		n++;
	}
	if (!n)
		l.error = -EAGAIN;
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	pthread_cond_destroy(&l.cond);
	pthread_mutex_destroy(&l.lock);
	free(t);
	return l.error;
}
