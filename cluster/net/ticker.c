/* flockerfs — a thread that runs a job every period (see ticker.h). */
#include "cluster/net/ticker.h"

#include <time.h>

#include "fs/util/fmt.h"

static void *ticker_main(void *arg)
{
	struct fl_ticker *t = arg;
	struct timespec at;
	int ret = 0;

	pthread_mutex_lock(&t->mu);
	while (!ret) {
		clock_gettime(CLOCK_MONOTONIC, &at);
		fl_ts_add_ms(&at, t->every_ms);
		while (!t->stop && pthread_cond_timedwait(&t->cv, &t->mu, &at) == 0)
			;
		if (t->stop)
			break;
		pthread_mutex_unlock(&t->mu);
		ret = t->job(t->arg);
		pthread_mutex_lock(&t->mu);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

int fl_ticker_start(struct fl_ticker *t, long every_ms, int (*job)(void *arg), void *arg)
{
	pthread_condattr_t ca;
	int ret;

	pthread_mutex_init(&t->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cv, &ca);
	pthread_condattr_destroy(&ca);
	t->stop = false;
	t->every_ms = every_ms;
	t->job = job;
	t->arg = arg;
	ret = pthread_create(&t->th, NULL, ticker_main, t);
	t->running = ret == 0;
	if (ret) {
		pthread_cond_destroy(&t->cv);
		pthread_mutex_destroy(&t->mu);
	}
	return -ret;
}

void fl_ticker_stop(struct fl_ticker *t)
{
	if (!t->running)
		return;
	pthread_mutex_lock(&t->mu);
	__atomic_store_n(&t->stop, true, __ATOMIC_RELAXED);
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->th, NULL);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	t->running = false;
}
