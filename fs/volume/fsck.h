/*
 * flockerfs — offline consistency check and repair of a volume.
 *
 * Without repair fl_fsck writes nothing: it takes no lock (it refuses a
 * volume a live writer holds, and says so if one mounts it during the
 * check), replays the journal in memory as a read-only mount does, and
 * counts what the next mount would still do (orphans to purge or trim)
 * apart from damage.  With repair it takes the volume's writer lock,
 * checks the journal records, replays the journal as a mount would, then
 * reads every object of the volume and checks: every entry resolves to an
 * inode of the right type, link counts, directories reachable once, no inode
 * without a name, no data objects of unknown inodes or past a file's end,
 * the orphan list, and the superblock's counters.  With repair it fixes what
 * it can: dangling entries removed, link counts set, nameless inodes linked
 * into /lost+found, stray objects removed, counters rewritten.
 */
#ifndef FLOCKER_FSCK_H
#define FLOCKER_FSCK_H

#include <stdbool.h>
#include <stdint.h>

#include "flocker/store.h"

struct fl_fsck_opts {
	bool repair;
	bool progress; /* a progress line on stderr */
	bool takeover; /* a read-write holder is fenced and replaced, as -o takeover does */
};

/* What was checked and what was found; repaired counts what --repair fixed. */
struct fl_fsck_report {
	uint64_t inodes, entries, directories, data_objects, journal_records;
	uint64_t journal_replayed; /* records a replay applied before the check */
	/* without repair: the check wrote nothing, it replayed the journal in
	 * memory; what the next mount (or --repair) still does: */
	bool read_only;
	uint64_t orphans_pending; /* orphan list entries: files to purge or trim */
	uint64_t snapshots;	  /* snapshot records checked (none at VOL@SNAP) */
	uint64_t data_pending;	  /* data objects those purges and trims remove or cut, or the mount
				     maps */
	/* damage */
	uint64_t journal_corrupt;  /* torn or corrupt journal records */
	uint64_t corrupt_inodes;   /* undecodable or misplaced inode records */
	uint64_t corrupt_entries;  /* undecodable directory entries */
	uint64_t dangling_entries; /* entries naming a missing inode */
	uint64_t type_mismatches;  /* entry type differs from the inode's */
	uint64_t extra_dir_links;  /* a directory named more than once */
	uint64_t wrong_nlink;	   /* link count differs from the names found */
	uint64_t orphan_inodes;	   /* inodes no entry names */
	uint64_t missing_dir_objects;
	uint64_t stray_dir_objects;  /* dir objects of unknown inodes */
	uint64_t stray_data_objects; /* data of unknown inodes or not regular files */
	uint64_t data_past_eof;	     /* data objects, or bytes, past a file's size */
	uint64_t unmapped_data;	     /* data objects outside their file's block map */
	uint64_t stale_orphan_keys;  /* orphan list entries with nothing to do */
	uint64_t stale_journal_segments;
	uint64_t bad_counters; /* superblock counters (next inode, usage) wrong */
	uint64_t unknown_objects;
	/* snapshot records ("snaps") that do not decode, have an invalid name,
	 * share an id, or whose snapshot cannot be read (its superblock); left
	 * alone by repair: removing one would lose the snapshot */
	uint64_t bad_snapshots;
	uint64_t damage;   /* sum of the damage counts above */
	uint64_t repaired; /* damage fixed */
	char first_problem[256];
	char parent[2 * 128 + 2]; /* a clone: "volume@snapshot" it reads through to; else "" */
};

/*
 * Checks volume name of the pool behind base.  0 when the check ran (the
 * report says what it found), or a negative errno with one line in err:
 * -EBUSY when the volume is mounted read-write, -ENOENT no such volume.
 */
int fl_fsck(struct fl_store *base, const char *name, const struct fl_fsck_opts *o,
	    struct fl_fsck_report *rep, char *err, size_t errlen);

#endif
