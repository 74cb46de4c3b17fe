/*
 * flockerfs — the layered store's private parts, shared by store_layer.c
 * (the table, copy-up, the ops) and store_layer_batch.c (batches).
 */
#ifndef FLOCKER_STORE_LAYER_PRIV_H
#define FLOCKER_STORE_LAYER_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "flocker/store.h"

enum know { K_UNKNOWN = 0, K_YES, K_NO };

struct lent {
	struct lent *next;
	uint8_t child;	/* enum know */
	uint8_t parent; /* enum know: can the parent supply it (K_NO if whited out) */
	bool wo;	/* named in whiteouts */
	bool partial;	/* named in layer.copyups: the child's copy is not whole */
	bool busy;	/* a copy-up or remove is deciding about it */
	char oid[];
};

struct ltab {
	struct lent **b;
	size_t nb, n;
};

struct layer {
	struct fl_store base;
	struct fl_store *child, *parent; /* owned */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ltab t;	    /* protected by mu */
	uint64_t ino_bound; /* 0: none */
	bool writer;	    /* protected by mu */
	bool listed;	    /* protected by mu: the child's data objects were listed at open */
	bool recovered;	    /* protected by mu: layer.copyups cleaned */
	uint64_t n_copyups, n_pstats; /* protected by mu */
	uint64_t rolled_to;	      /* protected by mu: whiteouts rolled back to this snap */
};

struct layer *layer_of(struct fl_store *st);

/* What is now known of oid (enum know; K_UNKNOWN leaves it as it was). */
void layer_note(struct layer *l, const char *oid, int child, int parent);

/* Where a read of oid goes first. */
enum route { R_CHILD_THEN_PARENT, R_CHILD, R_PARENT, R_NONE };
enum route layer_route_read(struct layer *l, const char *oid);

/* Before a write-class op on oid: if only the parent has it, copy it up. */
int layer_prep_write(struct layer *l, const char *oid);
/* After an op that created oid in the child with result r. */
void layer_note_created(struct layer *l, const char *oid, int r);

/*
 * Before removing oid: a whiteout when the parent has it (*via_parent).
 * *claimed, when set, is released by layer_done_remove after the remove,
 * or by layer_unclaim on failure.
 */
int layer_prep_remove(struct layer *l, const char *oid, bool *via_parent, struct lent **claimed);
void layer_done_remove(struct layer *l, struct lent *e);
void layer_unclaim(struct layer *l, struct lent *e);

/* The batch of a layered store (store_layer_batch.c). */
struct fl_batch *layer_batch_new(struct fl_store *st);

#endif
