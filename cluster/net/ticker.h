/*
 * flockerfs — a thread that runs a job every period until it is stopped:
 * flocker-control's renewer of the leader lock, flocker-agent's mount health
 * check and trash purger.
 */
#ifndef FLOCKER_TICKER_H
#define FLOCKER_TICKER_H

#include <pthread.h>
#include <stdbool.h>

struct fl_ticker {
	/* set by fl_ticker_start; the caller only reads stop */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC */
	bool running;	   /* between a successful start and the stop */
	bool stop;	   /* set under mu; a job at work may read it atomically to end early */
	long every_ms;
	int (*job)(void *arg);
	void *arg;
};

/*
 * Starts a thread that runs job(arg) every every_ms milliseconds (the first
 * time one period from now) until fl_ticker_stop, or until job returns
 * non-zero.  0, or a negative errno (t then needs no stop).
 */
int fl_ticker_start(struct fl_ticker *t, long every_ms, int (*job)(void *arg), void *arg);
/* Stops the thread, waiting for a job at work; nothing when t was not
 * started.  t may then be started again. */
void fl_ticker_stop(struct fl_ticker *t);

#endif
