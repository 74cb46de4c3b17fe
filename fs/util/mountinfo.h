/*
 * flockerfs — the mounts of this mount namespace, read with libmount from
 * /proc/self/mountinfo (octal escapes in paths undone).
 *
 * Every function returns 1 with *out filled when it found a mount, 0 when
 * there is none, or a negative errno when the table cannot be read.  When
 * several mounts match, the newest (the last in the table) is the one given,
 * as the kernel resolves paths.
 */
#ifndef FLOCKER_MOUNTINFO_H
#define FLOCKER_MOUNTINFO_H

#include <limits.h>
#include <sys/types.h>

struct fl_mountinfo {
	dev_t dev;	       /* st_dev of the mount's files */
	char target[PATH_MAX]; /* mount point */
	char fstype[64];       /* "fuse.flockerfs", "ext4", ... */
	char source[256];      /* volume name for flockerfs */
};

/* Calls cb for every mount in table order; cb's non-zero return stops the
 * walk and is returned.  0 after the last mount, or a negative errno. */
int fl_mountinfo_each(int (*cb)(void *arg, const struct fl_mountinfo *m), void *arg);
/* The newest mount whose mount point is target (compared as given: pass a
 * canonical path, e.g. from realpath). */
int fl_mountinfo_at(const char *target, struct fl_mountinfo *out);
/* The newest mount of device dev. */
int fl_mountinfo_of_dev(dev_t dev, struct fl_mountinfo *out);

#endif
