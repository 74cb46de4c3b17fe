/*
 * flockerfs — clones: writable volumes over a snapshot of another volume.
 *
 * A clone is a volume of its own (registry entry, namespace, superblock)
 * whose namespace also holds `parent` (struct fl_parent_rec): its objects
 * are read from the parent's namespace at that snapshot until first
 * written (fs/store/store_layer.h).  The parent's namespace holds
 * `children`, omap key "<snap name>/<clone uuid>": that snapshot has
 * clones and must stay.  Making a clone writes three objects and two omap
 * keys, whatever the size of the parent.
 *
 * fl_volume_open wraps a clone's store in the layer (fl_clone_wrap), so the
 * core, mount.flockerfs and fsck see a clone as any volume.  All functions
 * return 0 or a negative errno and write one line (git style) into err.
 */
#ifndef FLOCKER_CLONE_H
#define FLOCKER_CLONE_H

#include <stdbool.h>
#include <stdint.h>

#include "flocker/record.h"
#include "flocker/store.h"
#include "fs/volume/volume.h"

#define FL_CLONE_DEPTH_MAX 16 /* clones of clones of ... */

/*
 * Makes volume name from parent at snapshot snap; with snap NULL, takes a
 * snapshot "clone-<name>-<unix time>" first.  snap_out (may be NULL) gets
 * the snapshot's name.
 */
int fl_volume_clone(struct fl_store *base, const char *parent, const char *snap, const char *name,
		    char *snap_out, size_t snap_len, char *err, size_t errlen);

/*
 * Copies into the clone every object it still reads from its parent, then
 * drops the link (parent, whiteouts, the parent's children key).  Refused
 * (-EBUSY, err names the holder) while the clone is mounted read-write;
 * -EINVAL if name is not a clone.  progress (may be NULL) runs after each
 * object with the count done and the count to look at.
 */
int fl_volume_flatten(struct fl_store *base, const char *name,
		      void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg,
		      char *err, size_t errlen);

/* The clone's parent record: 1 and *r filled, 0 not a clone, or a negative errno.
 * vst is a volume's plain namespace handle (or its layer). */
int fl_clone_parent(struct fl_store *vst, struct fl_parent_rec *r);

/* Called by fl_volume_open: when v is a clone, v->st becomes a layer over its parent. */
int fl_clone_wrap(struct fl_store *base, struct fl_volume *v, char *err, size_t errlen);

/* The clones of volume vst (plain handle): calls cb with "<snap>/<uuid>" keys.
 * Returns the count, or a negative errno. */
int fl_clone_children(struct fl_store *vst, int (*cb)(void *arg, const char *key), void *arg);

/* Before removing a clone's objects: drop its key in the parent's `children`. */
int fl_clone_unlink(struct fl_store *base, struct fl_store *vst);

#endif
