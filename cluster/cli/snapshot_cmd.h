/*
 * flockerctl snapshot create|list|remove and volume rollback, straight on
 * RADOS (fs/volume/snapshot.h).  Each returns flockerctl's exit status:
 * 0 done, 1 failed (one line on stderr), 2 bad command line.
 */
#ifndef FLOCKER_SNAPSHOT_CMD_H
#define FLOCKER_SNAPSHOT_CMD_H

#include <stdbool.h>

#include "flocker/store.h"

struct fl_snapcmd {
	const struct fl_rados_opts *ro;
	bool json, takeover;
	int argc;
	char **argv; /* positional arguments after the command words */
};

int fl_snapcmd_create(const struct fl_snapcmd *c);
int fl_snapcmd_list(const struct fl_snapcmd *c);
int fl_snapcmd_remove(const struct fl_snapcmd *c);
int fl_snapcmd_rollback(const struct fl_snapcmd *c);

#endif
