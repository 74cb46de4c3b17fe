/* flockerfs logging: stderr, a file, the journal or syslog; level-filtered. */
#include "flocker/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int fl_log_level = LOG_NOTICE;
static const char *log_prog = "flocker";
static const char *log_tag; /* NULL or log_tag_buf */
static char log_tag_buf[128];
static bool log_syslog;
/* $JOURNAL_STREAM's device and inode, when systemd connected stderr to the journal */
static bool log_journal_env;
static dev_t log_journal_dev;
static ino_t log_journal_ino;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void fl_log_init(const char *progname, int level)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;

	log_prog = progname;
	fl_log_level = level;
	log_journal_env = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2;
	if (log_journal_env) {
		log_journal_dev = (dev_t)dev;
		log_journal_ino = (ino_t)ino;
	}
}

/* Copied: a caller's buffer may die before the last log line (it did). */
void fl_log_set_tag(const char *tag)
{
	if (!tag || !*tag) {
		log_tag = NULL;
		return;
	}
	snprintf(log_tag_buf, sizeof(log_tag_buf), "%s", tag);
	log_tag = log_tag_buf;
}

void fl_log_to_syslog(bool on)
{
	if (on && !log_syslog)
		openlog(log_prog, LOG_PID, LOG_DAEMON);
	log_syslog = on;
}

bool fl_log_syslog_available(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = "/dev/log"};
	bool yes = false;
	int fd;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto out;
	yes = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
out:
	return yes;
}

int fl_log_to_file(const char *path)
{
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	fflush(stderr);
	if (dup2(fd, STDERR_FILENO) < 0)
		ret = -errno;
	close(fd);
	if (!ret)
		setvbuf(stderr, NULL, _IOLBF, 0);
out:
	return ret;
}

/* Is stderr the stream systemd connected to the journal (not a file we reopened)? */
static bool stderr_is_journal(void)
{
	struct stat st;

	return log_journal_env && fstat(STDERR_FILENO, &st) == 0 && st.st_dev == log_journal_dev &&
	       st.st_ino == log_journal_ino;
}

/* "2026-12-07T08:50:04.123+00:00" */
static void timestamp(char *out, size_t outlen)
{
	struct timespec ts;
	struct tm tm;
	char date[32], zone[8];

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	if (strftime(zone, sizeof(zone), "%z", &tm) != 5) /* +0000 */
		snprintf(zone, sizeof(zone), "+0000");
	snprintf(out, outlen, "%s.%03d%.3s:%.2s", date, (int)(ts.tv_nsec / 1000000), zone,
		 zone + 3);
}

static void log_vemit(int level, const char *fmt, va_list ap)
{
	static const char *const names[] = {"emerg",   "alert",	 "crit", "error",
					    "warning", "notice", "info", "debug"};
	const char *tag = log_tag, *sep = log_tag ? ": " : "";
	char line[2048], ts[64], *msg;
	int saved = errno;
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	msg = line;
	/* "volume v1: ..." under the tag "volume v1" (shared code names its
	 * volume; the mount daemon's tag does too): the tag once */
	if (tag) {
		size_t t = strlen(tag);

		if (n > t + 2 && !strncmp(line, tag, t) && line[t] == ':' && line[t + 1] == ' ')
			msg = line + t + 2;
	}
	if (log_syslog) {
		syslog(level, "%s%s%s", tag ? tag : "", sep, msg);
	} else if (stderr_is_journal()) {
		pthread_mutex_lock(&log_lock);
		fprintf(stderr, "<%d>%s%s%s\n", level & 7, tag ? tag : "", sep, msg);
		pthread_mutex_unlock(&log_lock);
	} else {
		timestamp(ts, sizeof(ts));
		pthread_mutex_lock(&log_lock);
		fprintf(stderr, "%s %s[%ld]: %s%s%s%s%s\n", ts, log_prog, (long)getpid(),
			tag ? tag : "", sep, level < LOG_NOTICE ? names[level & 7] : "",
			level < LOG_NOTICE ? ": " : "", msg);
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

void fl_log_detach_stdio(bool keep_stderr)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		if (!keep_stderr)
			dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

void fl_log_vemit(int level, const char *fmt, va_list ap)
{
	log_vemit(level, fmt, ap);
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
