/* flockerfs — the daemons' start-up checks (see daemon.h). */
#include "cluster/net/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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

void fl_opt_longopts(const struct fl_opt_def *defs, size_t n, struct option *lopts)
{
	size_t i;

	for (i = 0; i < n; i++)
		lopts[i] = defs[i].opt;
	memset(&lopts[n], 0, sizeof(lopts[n]));
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

int fl_opt_take_field(const struct fl_opt_def *defs, size_t n, void *o, int c, const char *arg)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct fl_opt_def *d = &defs[i];
		void *f = (char *)o + d->off;

		if (d->opt.val != c || !d->field)
			continue;
		if (d->hi)
			return parse_uint(arg, d->lo, d->hi, f);
		*(const char **)f = arg;
		return 0;
	}
	return -ENOENT;
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
