/*
 * flockerfs — sizes and times as the programs print them, in one place.
 * Each writes a NUL-terminated string of at most len bytes into buf.
 */
#ifndef FLOCKER_FMT_H
#define FLOCKER_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Bytes in binary units, one decimal: "512B", "1.5K", "10.0G" (B K M G T P). */
void fl_fmt_size(uint64_t n, char *buf, size_t len);
/* Seconds since the epoch as UTC, ISO 8601: "2026-12-07T12:03:00Z". */
void fl_fmt_time_utc(int64_t t, char *buf, size_t len);
/* The same in local time, for people at this host: "2026-12-07 13:03:00". */
void fl_fmt_time_local(int64_t t, char *buf, size_t len);
/* Adds ms (>= 0) milliseconds to *t, nanoseconds kept under a second: a
 * deadline for pthread_cond_timedwait from clock_gettime's now. */
void fl_ts_add_ms(struct timespec *t, long ms);

#endif
