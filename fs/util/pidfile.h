/* flockerfs — the daemon's pid file, keyed by the mount's device number. */
#ifndef FLOCKER_PIDFILE_H
#define FLOCKER_PIDFILE_H

#include <stdbool.h>
#include <sys/types.h>

#define FL_RUN_DIR "/run/flockerfs"

/* Writes our pid for the mount whose st_dev is dev; 0 or a negative errno. */
int fl_pidfile_write(dev_t dev);
/* Removes the pid file of dev if it still names this process. */
void fl_pidfile_remove(dev_t dev);
/* The daemon's pid, or 0 when unknown. */
long fl_pidfile_read(dev_t dev);
/* The daemon lost its writer lock (fenced): says so on the pid file's second line
 * ("fenced: WHY"), for the agent that finds the mount. */
int fl_pidfile_mark_fenced(dev_t dev, const char *why);
/* true and the line's text when the daemon of the mount said it was fenced. */
bool fl_pidfile_fenced(dev_t dev, char *why, size_t len);
bool fl_pid_is_zombie(long pid);

#endif
