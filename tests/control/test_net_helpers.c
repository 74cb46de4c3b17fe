/*
 * Unit test of what flocker-control and flocker-agent share in cluster/net/
 * besides the protocol: the periodic thread (ticker.c), the pipe that wakes
 * an event loop (wake.c), the daemons' option tables and stop signals
 * (daemon.c).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cluster/net/daemon.h"
#include "cluster/net/ticker.h"
#include "cluster/net/wake.h"

#include "tests/check.h"

/* Bounds a wait for another thread (not a timing check): 10 s in 1 ms steps. */
#define WAIT_STEPS 10000

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

struct tick {
	struct fl_ticker t;
	int runs;	/* atomic */
	int end_after;	/* the job returns non-zero on this run (0: never) */
	bool wait_stop; /* the job waits for t.stop */
	bool saw_stop;
};

static int tick_job(void *arg)
{
	struct tick *k = arg;
	int n = __atomic_add_fetch(&k->runs, 1, __ATOMIC_SEQ_CST);
	int i;

	for (i = 0; k->wait_stop && i < WAIT_STEPS; i++) {
		if (__atomic_load_n(&k->t.stop, __ATOMIC_RELAXED)) {
			k->saw_stop = true;
			break;
		}
		sleep_ms(1);
	}
	return k->end_after && n >= k->end_after;
}

static int runs_of(struct tick *k)
{
	return __atomic_load_n(&k->runs, __ATOMIC_SEQ_CST);
}

static void test_ticker(void)
{
	struct tick k = {0};
	int i;

	/* stopping one never started does nothing */
	fl_ticker_stop(&k.t);

	/* runs again and again until stopped */
	CHECK_EQ(fl_ticker_start(&k.t, 1, tick_job, &k), 0);
	for (i = 0; runs_of(&k) < 3 && i < WAIT_STEPS; i++)
		sleep_ms(1);
	CHECK(runs_of(&k) >= 3);
	fl_ticker_stop(&k.t);
	CHECK(!k.t.running);
	i = runs_of(&k);
	sleep_ms(20);
	CHECK_EQ(runs_of(&k), i);
	printf("ok ticker: runs its job every period until stopped, then no more\n");

	/* a job that returns non-zero ends the thread; stop still joins it */
	k.runs = 0;
	k.end_after = 2;
	CHECK_EQ(fl_ticker_start(&k.t, 1, tick_job, &k), 0);
	for (i = 0; runs_of(&k) < 2 && i < WAIT_STEPS; i++)
		sleep_ms(1);
	sleep_ms(20);
	CHECK_EQ(runs_of(&k), 2);
	fl_ticker_stop(&k.t);
	printf("ok ticker: a job returning non-zero ends it; it can be started again after a stop\n");

	/* a job at work sees stop and ends early; stop waits for it */
	k.runs = 0;
	k.end_after = 0;
	k.wait_stop = true;
	CHECK_EQ(fl_ticker_start(&k.t, 1, tick_job, &k), 0);
	for (i = 0; runs_of(&k) < 1 && i < WAIT_STEPS; i++)
		sleep_ms(1);
	fl_ticker_stop(&k.t);
	CHECK(k.saw_stop);
	CHECK_EQ(runs_of(&k), 1);
	printf("ok ticker: a job at work reads stop and ends early; stop waits for it\n");
}

struct loop {
	struct event_base *base;
	struct fl_wake w;
	int woken;
};

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;

	(void)fd;
	CHECK(what & EV_READ);
	fl_wake_drain(&l->w);
	l->woken++;
	event_base_loopbreak(l->base);
}

static void *poker(void *arg)
{
	struct loop *l = arg;
	int i;

	sleep_ms(10);
	for (i = 0; i < 100; i++) /* many pokes before the loop reads: still fine */
		CHECK_EQ(fl_wake_poke(&l->w), 0);
	return NULL;
}

static void test_wake(void)
{
	struct loop l = {0};
	struct fl_wake none = {0};
	pthread_t th;

	fl_wake_close(&none); /* never opened: nothing to do */
	l.base = event_base_new();
	CHECK(l.base != NULL);
	CHECK_EQ(fl_wake_open(&l.w, l.base, true, wake_cb, &l), 0);
	CHECK_EQ(pthread_create(&th, NULL, poker, &l), 0);
	event_base_dispatch(l.base);
	pthread_join(th, NULL);
	CHECK_EQ(l.woken, 1);
	/* persistent: it wakes the loop again, and the pipe was drained */
	CHECK_EQ(fl_wake_poke(&l.w), 0);
	event_base_dispatch(l.base);
	CHECK_EQ(l.woken, 2);
	CHECK_EQ(event_base_loop(l.base, EVLOOP_NONBLOCK), 0);
	CHECK_EQ(l.woken, 2);
	fl_wake_close(&l.w);
	CHECK(l.w.ev == NULL);
	fl_wake_close(&l.w);
	event_base_free(l.base);
	printf("ok wake: another thread's pokes wake the loop once, the pipe drained; close twice is fine\n");
}

struct opts {
	const char *name;
	unsigned port;
};

enum { O_NAME = 256, O_PORT, O_FLAG };

static const struct fl_opt_def defs[] = {
	{{"name", required_argument, NULL, O_NAME}, FL_OPT_STR(struct opts, name)},
	{{"port", required_argument, NULL, O_PORT}, FL_OPT_NUM(struct opts, port, 1, 65535)},
	{{"flag", no_argument, NULL, O_FLAG}, FL_OPT_OTHER},
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

static void test_opts(void)
{
	struct option lopts[NDEFS + 1];
	struct opts o = {0};

	memset(lopts, 0xff, sizeof(lopts));
	fl_opt_longopts(defs, NDEFS, lopts);
	CHECK_STR(lopts[1].name, "port");
	CHECK_EQ(lopts[1].val, O_PORT);
	CHECK(lopts[NDEFS].name == NULL && lopts[NDEFS].val == 0 && lopts[NDEFS].flag == NULL);

	CHECK_EQ(fl_opt_take_field(defs, NDEFS, &o, O_NAME, "vol-a"), 0);
	CHECK_STR(o.name, "vol-a");
	CHECK_EQ(fl_opt_take_field(defs, NDEFS, &o, O_PORT, "4523"), 0);
	CHECK_EQ(o.port, 4523);
	CHECK_EQ(fl_opt_take_field(defs, NDEFS, &o, O_PORT, "65535"), 0);
	CHECK_EQ(o.port, 65535);
	CHECK_EQ(fl_opt_take_field(defs, NDEFS, &o, O_PORT, "0"), -EINVAL);
	CHECK_EQ(fl_opt_take_field(defs, NDEFS, &o, O_PORT, "65536"), -EINVAL);
	CHECK_EQ(fl_opt_take_field(defs, NDEFS, &o, O_PORT, "12x"), -EINVAL);
	CHECK_EQ(fl_opt_take_field(defs, NDEFS, &o, O_PORT, ""), -EINVAL);
	CHECK_EQ(fl_opt_take_field(defs, NDEFS, &o, O_PORT, "99999999999999999999"), -EINVAL);
	CHECK_EQ(o.port, 65535);
	CHECK_EQ(fl_opt_take_field(defs, NDEFS, &o, O_FLAG, NULL), -ENOENT);
	CHECK_EQ(fl_opt_take_field(defs, NDEFS, &o, 'h', NULL), -ENOENT);
	printf("ok options: strings and ranged numbers set from the table, bad numbers refused, the others left to the daemon\n");
}

static int sig_seen;

static void sig_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	sig_seen = (int)sig;
	event_base_loopbreak(arg);
}

static void test_sigs(void)
{
	struct fl_daemon_sigs s = {0};
	struct event_base *base = event_base_new();
	static const int sigs[] = {SIGTERM, SIGINT};
	size_t i;

	CHECK(base != NULL);
	CHECK_EQ(fl_daemon_sigs_add(&s, base, sig_cb, base), 0);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sig_seen = 0;
		CHECK_EQ(raise(sigs[i]), 0);
		event_base_dispatch(base);
		CHECK_EQ(sig_seen, sigs[i]);
	}
	fl_daemon_sigs_free(&s);
	CHECK(s.ev[0] == NULL && s.ev[1] == NULL);
	fl_daemon_sigs_free(&s);
	event_base_free(base);
	printf("ok signals: SIGTERM and SIGINT reach the loop's callback; freeing twice is fine\n");
}

int main(void)
{
	test_ticker();
	test_wake();
	test_opts();
	test_sigs();
	return check_report("test_net_helpers");
}
