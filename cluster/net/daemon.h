/*
 * flockerfs — what the two daemons (flocker-control, flocker-agent) share in
 * starting up, before they detach.
 */
#ifndef FLOCKER_DAEMON_H
#define FLOCKER_DAEMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

/*
 * Before detaching: the log file (--log, or NULL) opened once so that the
 * terminal hears what is wrong with it, and with --daemon and no log file, a
 * warning on stderr when there is no syslog socket.  0, or -1 said on stderr
 * as prog.
 */
int fl_daemon_log_check(const char *prog, const char *log, bool daemon);

/*
 * A daemon's option: getopt_long's description of it and, for an option that
 * only sets a field of the daemon's options struct, that field: a string
 * (FL_OPT_STR) or an unsigned whole number from lo to hi (FL_OPT_NUM).  The
 * daemon handles the others (FL_OPT_OTHER) itself.
 */
struct fl_opt_def {
	struct option opt; /* its name, whether it takes a value, its getopt code */
	bool field;
	size_t off;	 /* of the const char * or unsigned in the options struct */
	unsigned lo, hi; /* hi 0: a string */
};
#define FL_OPT_STR(T, f)	 true, offsetof(T, f), 0, 0
#define FL_OPT_NUM(T, f, lo, hi) true, offsetof(T, f), lo, hi
#define FL_OPT_OTHER		 false, 0, 0, 0

/* getopt_long's table of the n options of defs, into lopts (n + 1 long: the
 * last one zeros). */
void fl_opt_longopts(const struct fl_opt_def *defs, size_t n, struct option *lopts);
/* An option c that only sets a field of o (arg, its value): 0, -ENOENT when c
 * is not one, or -EINVAL for a number that is not one or out of range. */
int fl_opt_take_field(const struct fl_opt_def *defs, size_t n, void *o, int c, const char *arg);

/* SIGTERM and SIGINT, the signals that stop a daemon, as events of its loop. */
struct fl_daemon_sigs {
	struct event *ev[2];
};
/*
 * Adds both to base, each to call cb(its number, EV_SIGNAL, arg).  0, or
 * -ENOMEM; either way s goes to fl_daemon_sigs_free (s starts zeroed).
 */
int fl_daemon_sigs_add(struct fl_daemon_sigs *s, struct event_base *base, event_callback_fn cb,
		       void *arg);
void fl_daemon_sigs_free(struct fl_daemon_sigs *s);

#endif
