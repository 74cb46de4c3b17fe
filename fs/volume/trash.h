/*
 * flockerfs — the standalone volume trash: removed volumes kept restorable.
 *
 * Without flocker-control, "docker volume rm" moves a volume here instead of
 * deleting it.  The trash lives beside the registry, so every host sees it:
 * namespace FL_REG_NS, object FL_TRASH_OID, an omap from the volume's uuid to
 * a trash record (below).  The volume's own namespace "vol.<uuid>" is left
 * untouched until the entry is purged, by hand (fl_trash_purge) or when its
 * time is up (fl_trash_purge_expired).  A name may be in the trash several
 * times (remove, create again, remove again): entries are keyed by uuid and a
 * name picks the one removed last.
 *
 * Steps, each one atomic RADOS op on one object, ordered so that a crash
 * between two of them never loses a volume:
 *   move:    refused while a writer holds the volume; add the trash entry;
 *            drop the registry name, guarded by the registry value read (a
 *            name changed meanwhile rolls the entry back).  A mount racing
 *            with the move keeps working; a purge waits until it is gone.
 *   restore: mark the entry "restoring" (guarded by its value); add the
 *            registry name, guarded by its absence; drop the entry.
 *   purge:   mark the entry "purging" (guarded by its value); delete every
 *            object of vol.<uuid>; drop the entry.
 * An entry whose uuid the registry still names under its name is a move or a
 * restore a crash interrupted: the volume counts as live, never purged; the
 * next purge or restore drops the stale entry.  A "restoring" mark older than
 * FL_TRASH_STALE_S is a restore that died: purging it is allowed then.
 * Concurrent purges and restores of one entry exclude each other through the
 * guarded marks.
 *
 * The trash record, struct fl_trash_rec, is encoded and decoded by
 * fs/format/record.c (include/flocker/record.h); its format is in fs/format/FORMAT.md
 * ("trash").  The registry value is kept byte for byte and restored as is.
 *
 * Every int function returns 0 or a negative errno and, on failure, writes
 * one line into err (git style: what failed first, naming the volume).
 */
#ifndef FLOCKER_TRASH_H
#define FLOCKER_TRASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flocker/record.h"
#include "flocker/store.h"

#define FL_TRASH_OID	 "volumes.trash"
#define FL_TRASH_TTL_S	 (7 * 86400) /* as flocker-control's trash */
#define FL_TRASH_STALE_S 120	     /* a restore or purge mark older than this died */

/* An entry: its trash record (same fields) and the registry value decoded. */
struct fl_trash_entry {
	char uuid[37];
	char name[FL_VOLNAME_MAX + 1];
	struct fl_volreg_rec reg; /* decoded from reg_raw */
	unsigned char reg_raw[FL_TRASH_REG_MAX];
	size_t reg_len;
	int64_t removed;
	uint32_t removed_ns; /* orders two removals within one second */
	int64_t purge_at;
	uint32_t state; /* enum fl_trash_state */
	int64_t state_since;
	char host[FL_TRASH_HOST_MAX + 1];
};

/*
 * Moves volume name to the trash, to be purged ttl_s seconds later (0:
 * FL_TRASH_TTL_S).  -ENOENT when there is no such volume; -EBUSY while a
 * writer holds it (err names the host).  out (may be NULL) gets the entry.
 */
int fl_trash_move(struct fl_store *base, const char *name, uint64_t ttl_s,
		  struct fl_trash_entry *out, char *err, size_t errlen);

/* Every entry in the trash, oldest removal first is not promised; cb returns
 * non-zero to stop (and that value is returned).  Entries of live volumes (an
 * interrupted move or restore) and corrupt records are skipped. */
int fl_trash_list(struct fl_store *base, int (*cb)(void *arg, const struct fl_trash_entry *e),
		  void *arg);

/* The entry of ref, a uuid or a name (the one removed last); -ENOENT if none. */
int fl_trash_find(struct fl_store *base, const char *ref, struct fl_trash_entry *out, char *err,
		  size_t errlen);

/*
 * Brings ref back under its name, or new_name if not NULL.  -EEXIST when the
 * name is taken (err says to restore under another name).  out (may be NULL)
 * gets the entry as it was.
 */
int fl_trash_restore(struct fl_store *base, const char *ref, const char *new_name,
		     struct fl_trash_entry *out, char *err, size_t errlen);

/*
 * Deletes ref for good: every object of its namespace, then the entry.
 * -EBUSY while a restore runs or a writer holds it.  stop (may be NULL) is
 * read atomically between objects (another thread may set it): when it turns
 * true the purge stops with -EINTR and the next purge finishes it.
 */
int fl_trash_purge(struct fl_store *base, const char *ref, const bool *stop, char *err,
		   size_t errlen);

/* Purges every entry whose time is up at now; *npurged (may be NULL) counts them. */
int fl_trash_purge_expired(struct fl_store *base, int64_t now, const bool *stop, unsigned *npurged);

#endif
