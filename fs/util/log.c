/* flockerfs logging: stderr or syslog, level-filtered. */
#include "flocker/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <fuse_log.h>

int fl_log_level = LOG_NOTICE;
static const char *log_prog = "flocker";
static bool log_syslog;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void fl_log_init(const char *progname, int level)
{
	log_prog = progname;
	fl_log_level = level;
}

void fl_log_to_syslog(bool on)
{
	if (on && !log_syslog)
		openlog(log_prog, LOG_PID, LOG_DAEMON);
	log_syslog = on;
}

static void log_vemit(int level, const char *fmt, va_list ap)
{
	static const char *const names[] = {"emerg",   "alert",	 "crit", "error",
					    "warning", "notice", "info", "debug"};
	int saved = errno;

	if (log_syslog) {
		vsyslog(level, fmt, ap);
	} else {
		char line[2048];
		size_t n;

		vsnprintf(line, sizeof(line), fmt, ap);
		n = strlen(line);
		while (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		pthread_mutex_lock(&log_lock);
		if (level >= LOG_NOTICE)
			fprintf(stderr, "%s: %s\n", log_prog, line);
		else
			fprintf(stderr, "%s: %s: %s\n", log_prog, names[level & 7], line);
		pthread_mutex_unlock(&log_lock);
	}
	errno = saved;
}

void fl_log_emit(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(level, fmt, ap);
	va_end(ap);
}

static void log_from_fuse(enum fuse_log_level level, const char *fmt, va_list ap)
{
	if ((int)level <= fl_log_level)
		log_vemit((int)level, fmt, ap);
}

void fl_log_hook_fuse(void)
{
	fuse_set_log_func(log_from_fuse);
}

void fl_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
