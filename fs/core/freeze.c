/*
 * flockerfs — freezing a read-write core for a snapshot (fl_core_freeze_run).
 *
 * The snapshot is a point where every change acknowledged before it is in
 * RADOS and none after it is, like fsfreeze:
 *   1. sync (changes go on meanwhile): most dirty data reaches RADOS outside
 *      the freeze, so the freeze itself is short;
 *   2. freeze: c->frozen holds back every change at its writable() check
 *      (reads go on);
 *   3. flush and commit what came in between 1 and 2;
 *   4. close the volume handle's write gate (fl_gate_close): wait for the
 *      writes still in flight (write-back, a checkpoint, a lock renewal) and
 *      hold back new ones, so that no write with the old snap context reaches
 *      an OSD after the snapshot;
 *   5. take(): snap_create, the new write context, the record (on the
 *      handle under the gate);
 *   6. reopen the gate and thaw.
 * Writers wait from 2 to 6.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "fs/core/core.h"
#include "fs/core/core_int.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int fl_core_freeze_run(struct fl_core *c, int (*take)(void *arg, struct fl_store *st), void *arg,
		       unsigned drain_timeout_ms, struct fl_freeze_stats *stats)
{
	struct fl_freeze_stats s = {0};
	int64_t t0 = now_ms(), t1, t2;
	uint64_t tid = 0;
	int ret;

	if (c->o.ro)
		return -EROFS;
	ret = fl_core_syncfs(c);
	t1 = now_ms();
	s.sync_ms = t1 - t0;
	if (ret)
		goto out;

	pthread_mutex_lock(&c->lock);
	if (c->frozen) {
		pthread_mutex_unlock(&c->lock);
		ret = -EBUSY;
		goto out;
	}
	c->frozen = true;
	ret = fl_data_flush_all(c, &tid);
	if (!ret)
		ret = fl_journal_wait(c, c->next_tid - 1);
	if (!ret && c->error)
		ret = c->error;
	pthread_mutex_unlock(&c->lock);
	t2 = now_ms();
	s.flush_ms = t2 - t1;

	if (!ret)
		ret = fl_gate_close(c->st, drain_timeout_ms ? drain_timeout_ms : 10000);
	s.drain_ms = now_ms() - t2;
	if (!ret) {
		int64_t t3 = now_ms();

		ret = take(arg, fl_gate_inner(c->st));
		s.take_ms = now_ms() - t3;
		fl_gate_reopen(c->st);
	}

	pthread_mutex_lock(&c->lock);
	c->frozen = false;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	s.frozen_ms = now_ms() - t1;
out:
	if (stats)
		*stats = s;
	return ret;
}

void fl_core_freeze_wait(struct fl_core *c)
{
	while (c->frozen)
		pthread_cond_wait(&c->cond, &c->lock);
}
