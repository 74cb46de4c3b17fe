/*
 * flockerfs — RADOS op latency and errors, counted by a thin layer over any
 * store: no line of the adapters knows about metrics.
 *
 * fl_store_metrics(st, m) points st (and every clone made of it later) at a
 * copy of its op table whose ops time the real op and count its failures in
 * m; an op added to the table later is copied as it is (not counted).
 * Batches are wrapped: one batch is one observation, from fl_batch_new to the
 * end of fl_batch_wait, under the kind of its ops (a batch of writes is a
 * write-back).  The journal's appends are also the journal commit latency.
 *
 * Metrics (all with m's const labels):
 *   flockerfs_rados_op_duration_seconds{op}  histogram of every op and batch
 *   flockerfs_rados_op_errors_total{op}      failures other than the answers
 *                                            ENOENT, EEXIST, EBUSY, ECANCELED
 *   flockerfs_writeback_duration_seconds     batches of data writes
 *   flockerfs_writeback_bytes_total          bytes those batches wrote
 *   flockerfs_journal_commit_duration_seconds  appends to a journal segment
 *
 * One op table per process may be wrapped (-EINVAL for a second kind); m must
 * outlive every store so wrapped.  0, -EINVAL or -ENOMEM.
 */
#ifndef FLOCKER_STORE_METRICS_H
#define FLOCKER_STORE_METRICS_H

#include "flocker/store.h"
#include "fs/util/metrics.h"

int fl_store_metrics(struct fl_store *st, struct fl_metrics *m);

#endif
