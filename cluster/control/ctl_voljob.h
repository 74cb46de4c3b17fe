/*
 * flockerfs — flocker-control's volume jobs (private to cluster/control): the
 * RADOS work of creating, cloning and removing volumes and of taking,
 * listing and removing snapshots runs on the worker threads (ctl_worker.c),
 * never on the event loop.  A snapshot of a volume in use waits for its
 * writer's answer (FL_VJ_SNAP_WAIT_MS at most): heartbeats go on meanwhile.
 *
 * Each job has one step on a worker (only the pool) and, for volumes, one
 * step back on the loop, which alone changes the state: a new volume's
 * dataset record (fl_state_ds_add), a removed one's move to the trash
 * (fl_state_ds_trash, after the control-level check again).  Then done()
 * runs on the loop, exactly once, and frees the job with fl_vj_free.
 */
#ifndef FLOCKER_CTL_VOLJOB_H
#define FLOCKER_CTL_VOLJOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/control/ctl_server.h"
#include "fs/volume/snapshot.h"

#define FL_VJ_SNAP_WAIT_MS 30000u /* a writer's answer to a snapshot request */

enum fl_vj_kind {
	FL_VJ_CREATE = 1,  /* name [from a clone of from]; the dataset record */
	FL_VJ_REMOVE,	   /* uuid/name to the trash, unless a writer holds it */
	FL_VJ_SNAP_CREATE, /* name@snap, by the writer when one holds the volume */
	FL_VJ_SNAP_LIST,   /* the snapshots of name */
	FL_VJ_SNAP_REMOVE, /* name@snap */
	FL_VJ_INFO,	   /* name: parent and snapshot count */
};

struct fl_vj_snap {
	char name[FL_VOLNAME_MAX + 1];
	struct fl_snap_rec rec;
};

struct fl_vj {
	struct fl_job job;
	struct fl_ctl *c;
	struct fl_store *pool;
	enum fl_vj_kind kind;
	/* in */
	char name[FL_VOLNAME_MAX + 1];	   /* the volume */
	char uuid[37];			   /* REMOVE: its dataset id */
	char from[2 * FL_VOLNAME_MAX + 2]; /* CREATE: "" or VOL[@SNAP]: a clone */
	char snap[FL_VOLNAME_MAX + 1];	   /* SNAP_*: the snapshot */
	uint64_t size;			   /* CREATE: size limit (not for a clone) */
	char *metadata;			   /* CREATE: owned JSON text, or NULL */
	char primary[37];		   /* CREATE: node uuid or "" */
	uint64_t expect_tag;		   /* CREATE, REMOVE: checked before the work */
	/* out, valid in done() */
	int err;
	char msg[512];
	struct fl_volreg_rec reg;	     /* CREATE: the new volume (INFO: the caller's) */
	uint64_t bytes_used;		     /* CREATE, INFO: as of the last checkpoint */
	char parent[2 * FL_VOLNAME_MAX + 2]; /* CREATE, INFO: "VOL@SNAP" of a clone, else "" */
	bool made_snap;			     /* CREATE: the parent's snapshot was taken for it */
	unsigned nsnaps_total;		     /* INFO: snapshots of the volume */
	struct fl_snap_result res;	     /* SNAP_CREATE */
	struct fl_vj_snap *snaps;	     /* SNAP_LIST, owned */
	size_t nsnaps;
	/* the caller's */
	void (*done)(struct fl_vj *vj);
	void *arg;
	uint64_t id; /* e.g. a request id */
};

/* A zeroed job of kind; NULL without memory. */
struct fl_vj *fl_vj_new(struct fl_ctl *c, enum fl_vj_kind kind, void (*done)(struct fl_vj *vj),
			void *arg);
/* Queues it; done() runs later on the loop (err -ESHUTDOWN if control stops first). */
void fl_vj_submit(struct fl_vj *vj);
void fl_vj_free(struct fl_vj *vj);

#endif
