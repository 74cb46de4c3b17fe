/*
 * flockerfs — flocker-control's worker threads (private to cluster/control).
 * Jobs are queued with fl_job_submit (ctl_server.h).
 */
#ifndef FLOCKER_CTL_WORKER_H
#define FLOCKER_CTL_WORKER_H

#include "cluster/control/ctl_server.h"

/* Starts the threads and the loop event their finished jobs wake; 0 or -errno
 * (on failure c->worker may be half made: fl_worker_stop frees it). */
int fl_worker_start(struct fl_ctl *c);
/* Waits for the jobs at work (a probe: about a second); the others are
 * cancelled (their done() runs with cancelled set). */
void fl_worker_stop(struct fl_ctl *c);

#endif
