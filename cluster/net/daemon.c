/* flockerfs — the daemons' start-up checks (see daemon.h). */
#include "cluster/net/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "flocker/log.h"

int fl_daemon_log_check(const char *prog, const char *log, bool daemon)
{
	int fd;

	if (log) {
		fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0) {
			fprintf(stderr, "%s: cannot open log file %s: %s\n", prog, log,
				strerror(errno));
			return -1;
		}
		close(fd);
	}
	if (daemon && !log && !fl_log_syslog_available())
		fprintf(stderr,
			"%s: no syslog socket at /dev/log: logging to this stderr after detaching "
			"(use --log FILE)\n",
			prog);
	return 0;
}

int fl_daemon_sigs_add(struct fl_daemon_sigs *s, struct event_base *base, event_callback_fn cb,
		       void *arg)
{
	static const int sig[2] = {SIGTERM, SIGINT};
	int i;

	for (i = 0; i < 2; i++) {
		s->ev[i] = evsignal_new(base, sig[i], cb, arg);
		if (!s->ev[i] || evsignal_add(s->ev[i], NULL))
			return -ENOMEM;
	}
	return 0;
}

void fl_daemon_sigs_free(struct fl_daemon_sigs *s)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (s->ev[i])
			event_free(s->ev[i]);
		s->ev[i] = NULL;
	}
}
