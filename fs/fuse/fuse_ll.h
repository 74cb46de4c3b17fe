/* flockerfs — FUSE low-level adapter over the core. */
#ifndef FLOCKER_FUSE_LL_H
#define FLOCKER_FUSE_LL_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <stdbool.h>

#include "fs/core/core.h"

struct fl_fuse {
	struct fl_core *core; /* borrowed; outlives the session */
	bool ro;
	bool writeback;	    /* use the kernel's writeback cache */
	unsigned readahead; /* bytes; the kernel keeps the smaller of this and the bdi's */
};

/* A session whose requests go to f->core; free with fuse_session_destroy. */
struct fuse_session *fl_fuse_session_new(struct fuse_args *args, struct fl_fuse *f);

/* Serves the session's requests with nthreads workers until it ends (see
 * fuse_loop.c); a worker owning the device spins spin_us microseconds on it
 * before it sleeps.  Returns 0 or -errno. */
int fl_fuse_loop(struct fuse_session *se, unsigned nthreads, unsigned spin_us);

/* Routes libfuse's own log messages through flocker/log.h (fuse_loop.c). */
void fl_log_hook_fuse(void);

#endif
