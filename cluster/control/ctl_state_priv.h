/*
 * flockerfs — what the pieces of flocker-control's registry share (private
 * to cluster/control): the state itself, its cache of keyed arrays, the
 * guarded write of ctl.config, and the queue of writes on workers.
 *   ctl_state.c        the cache, loading, guarded writes, registry, volumes,
 *                      leases and node records
 *   ctl_state_trash.c  removal, the trash, restore and purge
 *   ctl_state_async.c  node record and lease writes on worker threads
 *   ctl_state_rec.c    the records' codecs (ctl_state_rec.h)
 */
#ifndef FLOCKER_CTL_STATE_PRIV_H
#define FLOCKER_CTL_STATE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cluster/control/ctl_state.h"
#include "flocker/proto.h"

#define KEY_TAG	  "tag"
#define PFX_DS	  "ds."
#define PFX_LEASE "lease."
#define PFX_TRASH "trash."
#define TXN_MAX	  6

struct fl_state {
	struct fl_store *pool; /* borrowed */
	struct fl_store *ns;   /* owned: the control's namespace (FL_CTL_NS by default) */
	struct fl_store *reg;  /* owned: the volume registry's namespace FL_REG_NS */
	uint64_t tag;
	uint64_t ttl;
	bool fenced;
	struct fl_ds *ds;
	size_t nds, cds;
	struct fl_lease *leases;
	size_t nleases, cleases;
	struct fl_trash *trash;
	size_t ntrash, ctrash;
	struct fl_node_rec *nodes;
	size_t nnodes, cnodes;
	char purging[37];	/* the trash entry whose objects are being deleted, "" none */
	fl_state_submit submit; /* NULL: jobs run inline */
	void *submit_arg;
	struct node_wr *node_wrs;  /* nodes whose record is being written */
	struct wop *wq, **wq_tail; /* guarded writes waiting to go out, in order */
	struct wop *wq_inflight;   /* the one on a worker, or NULL */
};

/*
 * The four arrays of the cache hold records keyed by their uuid member, in no
 * order.  A struct karr names one of them (array, count, capacity) with its
 * record size and how to free a record's heap parts.
 */
struct karr {
	void **v;
	size_t *n, *cap;
	size_t size, key_off;
	void (*clear)(void *rec);
};

#define KARR(s, f, type, clr)                                                                      \
	((struct karr){(void **)&(s)->f, &(s)->n##f, &(s)->c##f, sizeof(type),                     \
		       offsetof(type, uuid), clr})

#define DS(s)	  KARR(s, ds, struct fl_ds, fl_karr_clear_ds)
#define LEASES(s) KARR(s, leases, struct fl_lease, NULL)
#define TRASH(s)  KARR(s, trash, struct fl_trash, fl_karr_clear_trash)
#define NODES(s)  KARR(s, nodes, struct fl_node_rec, NULL)

struct txn {
	struct fl_kv set[TXN_MAX];
	char setkey[TXN_MAX][48];
	struct fl_frame_enc enc[TXN_MAX];
	size_t nset;
	char rmkey[TXN_MAX][48];
	const char *rm[TXN_MAX];
	size_t nrm;
};

/* --- ctl_state.c --- */
void fl_karr_clear_ds(void *d);
void fl_karr_clear_trash(void *t);
/* The index of the record with this uuid, or -1. */
ssize_t fl_karr_find(struct karr a, const char *uuid);
/* Adds rec, or replaces the record with its uuid; takes ownership of rec's
 * heap parts.  0 or -ENOMEM (rec then still owns them). */
int fl_karr_put(struct karr a, const void *rec);
/* fl_karr_put, and rec emptied when the array took it (its heap parts are the
 * array's then): clearing rec afterwards is always right. */
int fl_karr_take(struct karr a, void *rec);
/* The record with this uuid, or NULL. */
void *fl_karr_get(struct karr a, const char *uuid);
void fl_karr_rm(struct karr a, const char *uuid);

void fl_txn_init(struct txn *t);
void fl_txn_free(struct txn *t);
/* The encoder for the next set; the caller fills it and calls fl_txn_set_done. */
struct fl_frame_enc *fl_txn_set(struct txn *t, const char *pfx, const char *uuid);
int fl_txn_set_done(struct txn *t, int enc_ret);
int fl_txn_rm(struct txn *t, const char *pfx, const char *uuid);
/*
 * One atomic write of ctl.config: the transaction plus tag+1, if the tag is
 * still the one we know.  -ESTALE when expect_tag does not match.
 */
int fl_state_commit(struct fl_state *s, struct txn *t, uint64_t expect_tag);
/* Registers name -> r while name is free (del false), or unregisters name
 * while its entry is still r (del true); -ECANCELED when it is not so. */
int fl_state_reg_change(struct fl_state *s, const char *name, const struct fl_volreg_rec *r,
			bool del);
/* Words for a failed change's -errno (-ESTALE, -ECANCELED, else strerror). */
const char *fl_state_why(int ret);
/* A node's record as of a hello or disconnect at now: cur (if known) updated. */
void fl_state_node_rec_fill(struct fl_node_rec *n, const struct fl_node_rec *cur, const char *uuid,
			    const char *name, const char *addr, const char *host, int64_t now);

/* --- ctl_state_trash.c --- */
/* Writes trash entry t alone: fl_state_commit's 0 or error. */
int fl_state_trash_put(struct fl_state *s, const struct fl_trash *t);
/*
 * The last step of a restore, in RADOS: trash entry t (named as it comes
 * back) written as dataset d, its trash record gone, in one commit.  0 (d then
 * owns t's metadata) or fl_state_commit's error (d's metadata NULL).
 */
int fl_state_trash_commit_ds(struct fl_state *s, struct fl_trash *t, struct fl_ds *d);

/* --- ctl_state_async.c --- */
/* A synchronous change waits for the write on a worker and applies it first. */
void fl_state_wq_drain(struct fl_state *s);
void fl_state_wq_free_all(struct fl_state *s);
void fl_state_node_wr_free_all(struct fl_state *s);

#endif
