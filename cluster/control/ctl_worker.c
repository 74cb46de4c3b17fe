/*
 * flockerfs — flocker-control's worker threads: blocking RADOS calls (the
 * probe and fence of a silent holder, purges) run off the event loop; each
 * finished job's done() runs back on the loop (see struct fl_job in
 * ctl_server.h).  Private to cluster/control.
 */
#include "cluster/control/ctl_worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/util.h>

#include "cluster/net/wake.h"
#include "flocker/log.h"

/* ------------------------------------------------------------------ */
/* the worker thread: blocking RADOS calls off the loop */

#define WORKERS 4 /* probes of different silent holders at once (a host with many volumes) */

struct fl_worker {
	pthread_t th[WORKERS];
	int nth;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct fl_job *todo, **todo_tail; /* guarded by mu */
	struct fl_job *done, **done_tail; /* guarded by mu */
	bool stop;			  /* guarded by mu */
	struct fl_wake wake;		  /* poked per finished job */
};

static void *worker_main(void *arg)
{
	struct fl_worker *w = arg;
	struct fl_job *j;
	int ret;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->todo && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		j = w->todo;
		w->todo = j->next;
		if (!w->todo)
			w->todo_tail = &w->todo;
		pthread_mutex_unlock(&w->mu);
		j->work(j);
		pthread_mutex_lock(&w->mu);
		j->next = NULL;
		*w->done_tail = j;
		w->done_tail = &j->next;
		ret = fl_wake_poke(&w->wake);
		if (ret)
			fl_warn("cannot wake the event loop: %s", strerror(-ret));
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void worker_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fl_worker *w = arg;
	struct fl_job *list, *j;

	(void)fd;
	(void)what;
	fl_wake_drain(&w->wake);
	pthread_mutex_lock(&w->mu);
	list = w->done;
	w->done = NULL;
	w->done_tail = &w->done;
	pthread_mutex_unlock(&w->mu);
	while ((j = list)) {
		list = j->next;
		j->done(j);
	}
}

void fl_job_submit(struct fl_ctl *c, struct fl_job *j)
{
	struct fl_worker *w = c->worker;

	j->next = NULL;
	pthread_mutex_lock(&w->mu);
	*w->todo_tail = j;
	w->todo_tail = &j->next;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int fl_worker_start(struct fl_ctl *c)
{
	struct fl_worker *w = calloc(1, sizeof(*w));
	int ret;

	if (!w)
		return -ENOMEM;
	w->todo_tail = &w->todo;
	w->done_tail = &w->done;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	c->worker = w;
	ret = fl_wake_open(&w->wake, c->base, true, worker_done_cb, w);
	if (ret)
		return ret;
	for (; w->nth < WORKERS; w->nth++) {
		ret = pthread_create(&w->th[w->nth], NULL, worker_main, w);
		if (ret)
			return -ret;
	}
	return 0;
}

/* Waits for the jobs at work (a probe: about a second); the others are cancelled. */
void fl_worker_stop(struct fl_ctl *c)
{
	struct fl_worker *w = c->worker;
	struct fl_job *j;
	int i;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (i = 0; i < w->nth; i++)
		pthread_join(w->th[i], NULL);
	while ((j = w->todo)) {
		w->todo = j->next;
		j->cancelled = true;
		j->done(j);
	}
	while ((j = w->done)) {
		w->done = j->next;
		j->cancelled = true;
		j->done(j);
	}
	fl_wake_close(&w->wake);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
	c->worker = NULL;
}
