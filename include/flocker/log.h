/*
 * flockerfs — one logging module for every program.
 *
 * Levels are syslog's.  fl_log() tests the level before its arguments are
 * evaluated, so debug lines cost one branch when debugging is off.
 * Messages follow git's habit: lowercase, no final full stop, what failed
 * first, then the object it failed on.
 */
#ifndef FLOCKER_LOG_H
#define FLOCKER_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

extern int fl_log_level; /* messages above this level are dropped; default LOG_NOTICE */

/* Program name shown in front of each line; borrowed, must outlive logging. */
void fl_log_init(const char *progname, int level);
/* Send lines to syslog instead of stderr (daemons after they detach). */
void fl_log_to_syslog(bool on);
/* What the whole process is about, in front of every message ("volume v",
 * "node a"); copied (127 bytes at most); NULL or "": nothing.  Set it before
 * other threads log. */
void fl_log_set_tag(const char *tag);
/* Is there a syslog socket (/dev/log) that takes our lines?  Without one,
 * fl_log_to_syslog(true) would lose them: daemons keep stderr instead. */
bool fl_log_syslog_available(void);
/* Appends the log (stderr, line-buffered) to path: 0 or a negative errno
 * (stderr unchanged then). */
int fl_log_to_file(const char *path);
/* A daemon that detached: stdin, stdout and (unless keep_stderr: the log goes
 * there) stderr on /dev/null. */
void fl_log_detach_stdio(bool keep_stderr);

/*
 * Line format.  On stderr or in a file:
 *   2026-12-07T08:50:04.123+00:00 mount.flockerfs[4242]: volume v: error: what failed
 * (no level word for notice and below).  When stderr is the systemd journal
 * ($JOURNAL_STREAM names it), the journal keeps time, program and pid: the
 * line is "<3>volume v: what failed", the prefix being the syslog priority.
 * To syslog: the tag and the message.
 */

void fl_log_emit(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with a va_list, for the log hooks of other libraries (libfuse's:
 * fs/fuse/fuse_loop.c); the caller tests the level. */
void fl_log_vemit(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Writes one message into err (nothing if err is NULL or errlen 0): the line
 * that functions taking (err, errlen) leave for their caller. */
void fl_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define fl_log(level, ...)                                                                         \
	do {                                                                                       \
		if ((level) <= fl_log_level)                                                       \
			fl_log_emit((level), __VA_ARGS__);                                         \
	} while (0)

#define fl_crit(...)   fl_log(LOG_CRIT, __VA_ARGS__)
#define fl_err(...)    fl_log(LOG_ERR, __VA_ARGS__)
#define fl_warn(...)   fl_log(LOG_WARNING, __VA_ARGS__)
#define fl_notice(...) fl_log(LOG_NOTICE, __VA_ARGS__)
#define fl_info(...)   fl_log(LOG_INFO, __VA_ARGS__)
#define fl_debug(...)  fl_log(LOG_DEBUG, __VA_ARGS__)

#endif
