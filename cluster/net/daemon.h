/*
 * flockerfs — what the two daemons (flocker-control, flocker-agent) share in
 * starting up, before they detach.
 */
#ifndef FLOCKER_DAEMON_H
#define FLOCKER_DAEMON_H

#include <stdbool.h>

/*
 * Before detaching: the log file (--log, or NULL) opened once so that the
 * terminal hears what is wrong with it, and with --daemon and no log file, a
 * warning on stderr when there is no syslog socket.  0, or -1 said on stderr
 * as prog.
 */
int fl_daemon_log_check(const char *prog, const char *log, bool daemon);

#endif
