/*
 * flockerfs — the mount daemon's metrics, and the socket that hands them to
 * flocker-agent and flockerctl stats.
 *
 * One registry per daemon, every series labelled volume="NAME".  The hooks
 * are cheap (relaxed atomic adds) and do nothing before fl_mm_init.  The
 * socket FL_RUN_DIR/MAJ.MIN.metrics (beside the pid file; mode 0600) is
 * served by a thread of its own: each connection gets the exposition text
 * and is closed; nothing is read from it.
 */
#ifndef FLOCKER_MOUNT_METRICS_H
#define FLOCKER_MOUNT_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fs/core/core.h"
#include "fs/util/metrics.h"

/* Makes the registry; 0 or -ENOMEM. */
int fl_mm_init(const char *volume, bool ro);
/* NULL before fl_mm_init. */
struct fl_metrics *fl_mm_registry(void);

/* One FUSE request of opcode served in ns nanoseconds. */
void fl_mm_fuse_op(uint32_t opcode, uint64_t ns);
void fl_mm_read_bytes(uint64_t n);
void fl_mm_write_bytes(uint64_t n);
/* One renewal of the writer lock that took ns; ret its result. */
void fl_mm_lease_renewal(int ret, uint64_t ns);
/* The writer lock was lost: this mount was fenced. */
void fl_mm_fenced(void);
/* The core whose dirty bytes are reported (NULL: none, before it goes away). */
void fl_mm_set_core(struct fl_core *c);
/* The mount is served: it took ns from the daemon's start. */
void fl_mm_mounted(uint64_t ns);

/* Serves the socket of the mount of device dev; 0 or -errno. */
int fl_mm_serve(dev_t dev);
/* Stops serving and removes the socket. */
void fl_mm_stop(void);

#endif
