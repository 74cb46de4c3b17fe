/*
 * flockerctl's clone commands: volume clone, volume flatten.  Each returns
 * the exit status (0 done, 1 failed with one line on stderr).
 */
#ifndef FLOCKER_CLONE_CMD_H
#define FLOCKER_CLONE_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "flocker/store.h"

/* from: "VOL" (a snapshot is taken) or "VOL@SNAP". */
int fl_clone_cmd(struct fl_store *st, const char *from, const char *name, bool json);
/* A progress bar on stderr when it is a terminal. */
int fl_flatten_cmd(struct fl_store *st, const char *name, bool json);
/* "parent@snap" of a clone into buf (else ""): 1 a clone, 0 not, or a negative errno. */
int fl_clone_describe(struct fl_store *vst, char *buf, size_t len);

#endif
