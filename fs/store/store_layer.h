/*
 * flockerfs — the layered store: a clone's namespace over its parent's
 * snapshot (copy-up on first write, as RBD layering does).
 *
 * Reads see the child's object when it has one; else, unless the child's
 * `whiteouts` omap names it, the parent's.  The first write-class op
 * (write, writev, write_full, append, truncate, zero, omap_update,
 * lock_exclusive) on an object only the parent has copies it up whole
 * (data and omap; never xattrs or locks) and then runs on the child.  A
 * remove of an object the parent has records a whiteout first.
 *
 * Objects that belong to the volume itself, not to its tree, never read
 * through and are never copied up: `super`, `parent`, `whiteouts`,
 * `children`, `snaps`, `layer.copyups`.
 *
 * A copy-up that is not one atomic op (data and omap, more than
 * LAYER_ATOMIC_KEYS omap keys or more than 64 MiB of data) is announced in
 * the child's `layer.copyups` omap first and struck out after; the first
 * writer after a crash removes the half-copied objects it names (they are
 * read from the parent until then), so a copy-up is whole or absent.
 */
#ifndef FLOCKER_STORE_LAYER_H
#define FLOCKER_STORE_LAYER_H

#include "flocker/store.h"

#define FL_OID_PARENT	"parent"
#define FL_OID_WHITEOUT "whiteouts"
#ifndef FL_OID_CHILDREN
#define FL_OID_CHILDREN "children"
#endif
#define FL_OID_COPYUPS "layer.copyups"

/*
 * Wraps child (the clone's namespace, read-write) and parent (the parent's
 * namespace, reading at the snapshot).  Loads the whiteouts.  On success
 * the layer owns both handles (closed by fl_store_close of the layer); on
 * failure returns NULL with errno set and the caller keeps them.
 */
struct fl_store *fl_layer_open(struct fl_store *child, struct fl_store *parent);

/* Is st a layered store? */
bool fl_is_layer(const struct fl_store *st);

/* Objects data.<ino>.* and dir.<ino> with ino >= next_ino cannot exist in
 * the parent (its next_ino at the snapshot): no look-up for them. */
void fl_layer_set_ino_bound(struct fl_store *st, uint64_t next_ino);

/* The handles under a layer (borrowed). */
struct fl_store *fl_layer_child(struct fl_store *st);
struct fl_store *fl_layer_parent(struct fl_store *st);

/* Copies oid up if only the parent has it: 1 copied, 0 nothing to do. */
int fl_layer_copy_up(struct fl_store *st, const char *oid);

/*
 * Copies up every object still read through (flatten).  progress, if not
 * NULL, runs after each object with the count done and the count to do.
 * Returns the number of objects copied or a negative errno.
 */
long fl_layer_copy_up_all(struct fl_store *st,
			  void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg);

/* Counters, for tests: copy-ups done, parent look-ups (stat) made. */
void fl_layer_stats(struct fl_store *st, uint64_t *copyups, uint64_t *parent_stats);

#endif
