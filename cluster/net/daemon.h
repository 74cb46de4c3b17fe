/*
 * flockerfs — what the two daemons (flocker-control, flocker-agent) share in
 * starting up, before they detach.
 */
#ifndef FLOCKER_DAEMON_H
#define FLOCKER_DAEMON_H

#include <stdbool.h>

#include <event2/event.h>

/*
 * Before detaching: the log file (--log, or NULL) opened once so that the
 * terminal hears what is wrong with it, and with --daemon and no log file, a
 * warning on stderr when there is no syslog socket.  0, or -1 said on stderr
 * as prog.
 */
int fl_daemon_log_check(const char *prog, const char *log, bool daemon);

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
