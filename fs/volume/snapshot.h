/*
 * flockerfs — snapshots of volumes (RADOS self-managed snapshots).
 *
 * A volume's snapshots are the omap of its object "snaps" (name -> snap
 * record, fs/format/FORMAT.md); its snapshot context is their ids with
 * super.snap_seq.  Every writer carries that context (fl_volume_lock applies
 * it), so the OSDs keep the old version of whatever changes afterwards.
 *
 * Taking one: an unmounted volume is locked briefly and snapshotted
 * directly; a volume mounted read-write is snapshotted by its writer, asked
 * through a notify on its superblock (fl_snap_serve), which freezes its core
 * for the instant of the snapshot (fl_core_freeze_run).  A writer keeps a
 * removed snapshot's id in its context until it mounts again (harmless: the
 * OSDs ignore removed ids).
 *
 * All functions return 0 or a negative errno and, on failure, write one line
 * (git style) into err.
 */
#ifndef FLOCKER_SNAPSHOT_H
#define FLOCKER_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "flocker/record.h"
#include "flocker/store.h"
#include "fs/volume/volume.h"

struct fl_core;
struct fl_freeze_stats;

#define FL_OID_CHILDREN "children" /* omap "<snap>/<child uuid>" -> empty (clones) */

struct fl_snap_opts {
	bool takeover;	     /* fence a writer that does not answer, then snapshot directly */
	unsigned timeout_ms; /* how long the writer may take to answer; 0: 60 s */
};

/* What fl_snap_create reports. */
struct fl_snap_result {
	struct fl_snap_rec rec;
	bool by_writer;	   /* taken by the mount daemon holding the volume */
	char writer[160];  /* then: "host (pid N)" */
	int64_t frozen_ms; /* then: how long its writers waited; -1 if unknown */
	int64_t sync_ms;
};

/* "VOL@SNAP" -> vol, snap (1 when there is an '@', 0 when not, -EINVAL). */
int fl_snap_parse(const char *spec, char *vol, size_t vollen, char *snap, size_t snaplen);

int fl_snap_create(struct fl_store *base, const char *vol, const char *snap,
		   const struct fl_snap_opts *o, struct fl_snap_result *res, char *err,
		   size_t errlen);

typedef int (*fl_snap_list_cb)(void *arg, const char *name, const struct fl_snap_rec *r);
/* In creation order (by id). */
int fl_snap_list(struct fl_store *base, const char *vol, fl_snap_list_cb cb, void *arg, char *err,
		 size_t errlen);
/* The record of snap in an open volume: 0, -ENOENT, -EIO (undecodable). */
int fl_snap_lookup(struct fl_volume *v, const char *snap, struct fl_snap_rec *r);
/* Refused (-EBUSY) while clones of it exist ("children"). */
int fl_snap_remove(struct fl_store *base, const char *vol, const char *snap, char *err,
		   size_t errlen);
/* Removes every snapshot of an open volume from RADOS, records included (purge). */
int fl_snap_remove_all(struct fl_volume *v, char *err, size_t errlen);

/*
 * Rolls volume vol back to snap: refused (-EBUSY, err names the holder) while
 * it is mounted read-write.  Under the writer lock, every object listed (RADOS
 * also lists those removed since the snapshot) goes back to its state at the
 * snapshot, those made after it are removed; "snaps" and "children" stay
 * (snapshots taken after it remain), and super keeps snap_seq and loses the
 * lock state it had then.  *objects counts the objects rolled back.
 */
int fl_snap_rollback(struct fl_store *base, const char *vol, const char *snap, uint64_t *objects,
		     char *err, size_t errlen);

/* Sets the volume's snapshot context on v->st (fl_volume_lock calls it). */
int fl_snap_apply_ctx(struct fl_volume *v, char *err, size_t errlen);
/* Makes v read the volume as of snap: read-only, super read again. */
int fl_snap_open_at(struct fl_volume *v, const char *snap, char *err, size_t errlen);

/* The writer's side: a snapshot of a mounted read-write core. */
int fl_snap_take_mounted(struct fl_volume *v, struct fl_core *c, const char *snap, const char *host,
			 struct fl_snap_rec *out, struct fl_freeze_stats *stats, char *err,
			 size_t errlen);

/*
 * A mount daemon answers snapshot requests for its volume from a thread of its
 * own.  With mountpoint (may be NULL), each snapshot starts with a syncfs(2)
 * of it: what the kernel acknowledged into its page cache (FUSE writeback
 * cache) reaches the core before the freeze.
 */
struct fl_snap_server;
int fl_snap_serve(struct fl_volume *v, struct fl_core *c, const char *mountpoint,
		  struct fl_snap_server **out);
void fl_snap_serve_stop(struct fl_snap_server *s);

#endif
