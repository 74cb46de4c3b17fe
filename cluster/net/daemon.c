/* flockerfs — the daemons' start-up checks (see daemon.h). */
#include "cluster/net/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
