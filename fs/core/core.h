/*
 * flockerfs — the filesystem core.
 *
 * A POSIX namespace over a struct fl_volume, knowing nothing of FUSE: the
 * FUSE adapter (fs/fuse/fuse_ll.c), flockerctl and the tests call these.  The
 * writer keeps the namespace in memory, loading directories and inode-table
 * shards from RADOS on first use; every change is a journal transaction
 * (group commit), and a checkpoint folds the journal into the dir.* and
 * itab.* omaps.  File data is cached dirty in memory and written to data
 * objects before the journal record that exposes it (ordered mode).
 *
 * Every int function returns 0 or a negative errno; ssize_t ones a count or
 * a negative errno.  Functions that "take a lookup reference" add one to the
 * inode's kernel lookup count, dropped by fl_core_forget.
 *
 * Threads: between fl_core_mount and fl_core_unmount (or fl_core_abandon)
 * every other function may be called from any number of threads at once.
 * One mutex per filesystem (core->lock) guards the whole in-memory state;
 * each call takes it.  It is dropped while a call waits for a journal
 * commit, for data objects (write-back, read, readahead, truncate, hole
 * punching), or for a directory that lookup, opendir or readdir loads; inode-table shards, and
 * directories loaded for a change, are read with it held.  Two threads of the core's own run beside
 * the callers: the commit thread (group commit, checkpoints, the purge of unlinked inodes) and the
 * flusher (write-back of dirty data).  fl_core_mount, fl_core_unmount and fl_core_abandon must not
 * run at the same time as any other call on the same core.  The readdir
 * callback runs with the lock held: it must not call back into the core.
 */
#ifndef FLOCKER_CORE_H
#define FLOCKER_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include "fs/volume/volume.h"

struct fl_core;

struct fl_core_opts {
	bool ro;
	uint64_t dirty_max;    /* memory for dirty file data before writers wait; 0: 64 MiB */
	unsigned commit_ms;    /* longest time a change waits for its journal commit; 0: 1000 */
	unsigned checkpoint_s; /* checkpoint interval; 0: 30 */
	/* objects read ahead of a sequential reader (whole, one op each);
	 * 0: 4; FL_RA_OFF: none.  ra_max: bytes for it over all files; 0: 64 MiB */
	unsigned ra_objects;
	uint64_t ra_max;
	uint64_t ra_window; /* the kernel's readahead (requests come that far apart); 0: 16 MiB */
};
#define FL_RA_OFF   (~0u)
#define FL_RA_SLOTS 16 /* objects kept per file: ra_objects is at most FL_RA_SLOTS - 1 */

/* Caller identity for new inodes. */
struct fl_cred {
	uid_t uid;
	gid_t gid;
};

/* Attribute change mask for fl_core_setattr. */
enum {
	FL_SET_MODE = 1 << 0,
	FL_SET_UID = 1 << 1,
	FL_SET_GID = 1 << 2,
	FL_SET_SIZE = 1 << 3,
	FL_SET_ATIME = 1 << 4,
	FL_SET_MTIME = 1 << 5,
	FL_SET_ATIME_NOW = 1 << 6,
	FL_SET_MTIME_NOW = 1 << 7,
	FL_SET_CTIME = 1 << 8,
};

/*
 * Opens the filesystem of a volume: replays its journal (read-write: folds it
 * into the omaps; read-only: keeps it as an overlay) and starts the commit
 * thread.  Borrows v until fl_core_unmount or fl_core_abandon.  err gets one
 * line on failure.
 */
int fl_core_mount(struct fl_volume *v, const struct fl_core_opts *o, struct fl_core **out,
		  char *err, size_t errlen);
/* Flushes all data, commits, checkpoints and frees.  Returns the first error seen. */
int fl_core_unmount(struct fl_core *c);
/* Tests: stops the threads and frees everything without writing anything more,
 * as if the process died after its last commit.  Returns nothing durable. */
void fl_core_abandon(struct fl_core *c);
/* The first persistent error (e.g. fenced), or 0. */
int fl_core_error(struct fl_core *c);
/* Bytes used and inode count as this mount sees them. */
void fl_core_usage(struct fl_core *c, uint64_t *used, uint64_t *inodes);
/* Makes every later change fail with err (the writer lock was lost). */
void fl_core_set_error(struct fl_core *c, int err);

int fl_core_lookup(struct fl_core *c, uint64_t parent, const char *name, struct stat *st);
void fl_core_forget(struct fl_core *c, uint64_t ino, uint64_t n);
int fl_core_getattr(struct fl_core *c, uint64_t ino, struct stat *st);
int fl_core_setattr(struct fl_core *c, uint64_t ino, const struct stat *attr, int mask,
		    struct stat *out);

/* mknod/mkdir/symlink/link take a lookup reference on the new entry. */
int fl_core_mknod(struct fl_core *c, uint64_t parent, const char *name, mode_t mode, dev_t rdev,
		  const struct fl_cred *cr, struct stat *st);
int fl_core_mkdir(struct fl_core *c, uint64_t parent, const char *name, mode_t mode,
		  const struct fl_cred *cr, struct stat *st);
int fl_core_symlink(struct fl_core *c, uint64_t parent, const char *name, const char *target,
		    const struct fl_cred *cr, struct stat *st);
int fl_core_link(struct fl_core *c, uint64_t ino, uint64_t newparent, const char *newname,
		 struct stat *st);
ssize_t fl_core_readlink(struct fl_core *c, uint64_t ino, char *buf, size_t len);
int fl_core_unlink(struct fl_core *c, uint64_t parent, const char *name);
int fl_core_rmdir(struct fl_core *c, uint64_t parent, const char *name);
/* flags: RENAME_NOREPLACE, RENAME_EXCHANGE */
int fl_core_rename(struct fl_core *c, uint64_t parent, const char *name, uint64_t newparent,
		   const char *newname, unsigned flags);

/* open/create count open handles; an unlinked inode lives until the last release
 * (which reports nothing: see write-back errors below). */
int fl_core_open(struct fl_core *c, uint64_t ino, int flags);
int fl_core_create(struct fl_core *c, uint64_t parent, const char *name, mode_t mode, int flags,
		   const struct fl_cred *cr, struct stat *st);
int fl_core_release(struct fl_core *c, uint64_t ino);
ssize_t fl_core_read(struct fl_core *c, uint64_t ino, uint64_t off, size_t len, void *buf);
/* fl_core_read that may answer from the readahead in place: *data is buf
 * or points into it, unchanged until fl_core_read_put(*ref) (NULL: nothing
 * to put). */
ssize_t fl_core_read_ref(struct fl_core *c, uint64_t ino, uint64_t off, size_t len, void *buf,
			 const void **data, void **ref);
void fl_core_read_put(struct fl_core *c, void *ref);
ssize_t fl_core_write(struct fl_core *c, uint64_t ino, uint64_t off, const void *buf, size_t len);
/*
 * Write-back errors reach the file they belong to, as Linux's errseq does.
 * A write-back that fails records the error on its inode.  fl_core_fsync
 * returns its own failure, or an error of the inode nobody was told of yet;
 * fl_core_syncfs (directory fsync, unmount) the same for every file that
 * still has a name.  An error once reported, or of a file since removed,
 * fails nothing later.  Open handles each see an error once:
 * fl_core_werr_sample at open gives the handle's starting point (an error
 * nobody was told of counts as new for it), fl_core_werr_check after its
 * fsync returns an error the handle has not seen and moves it on.
 */
int fl_core_fsync(struct fl_core *c, uint64_t ino, bool datasync);
int fl_core_syncfs(struct fl_core *c);
uint64_t fl_core_werr_sample(struct fl_core *c, uint64_t ino);
int fl_core_werr_check(struct fl_core *c, uint64_t ino, uint64_t *since);
int fl_core_fallocate(struct fl_core *c, uint64_t ino, int mode, uint64_t off, uint64_t len);

/* Directory listing from offset off.  The callback gets the entry and the
 * offset of the entry after it; it returns non-zero when its buffer is full
 * (the entry was not taken).  With plus, st is filled and a lookup reference
 * is taken for each entry the callback accepts, except "." and "..". */
/* The inode number readdir shows for a corrupt entry (st_mode 0): no lookup reference. */
#define FL_BAD_INO ((uint64_t)1 << 62)
typedef int (*fl_dir_cb)(void *arg, const char *name, const struct stat *st, uint64_t next);
int fl_core_readdir(struct fl_core *c, uint64_t ino, uint64_t off, bool plus, fl_dir_cb cb,
		    void *arg);
int fl_core_opendir(struct fl_core *c, uint64_t ino);

int fl_core_statfs(struct fl_core *c, struct statvfs *sv);

/* Memory held by dirty and in-flight file data, counted by buffer size:
 * what fl_core_opts.dirty_max bounds (give or take one write). */
uint64_t fl_core_dirty_mem(struct fl_core *c);

/* flags: XATTR_CREATE, XATTR_REPLACE */
int fl_core_setxattr(struct fl_core *c, uint64_t ino, const char *name, const void *val, size_t len,
		     int flags);
/* With len 0 returns the size needed; -ERANGE when len is too small. */
ssize_t fl_core_getxattr(struct fl_core *c, uint64_t ino, const char *name, void *buf, size_t len);
ssize_t fl_core_listxattr(struct fl_core *c, uint64_t ino, char *buf, size_t len);
int fl_core_removexattr(struct fl_core *c, uint64_t ino, const char *name);

/* Whether new files should bypass the page cache (near the size limit, so
 * that ENOSPC reaches write(2) itself). */
bool fl_core_want_direct_io(struct fl_core *c);

/* Attribute and entry cache timeouts the adapter should give the kernel. */
double fl_core_attr_timeout(struct fl_core *c);

/* --- snapshots (fs/core/freeze.c) --- */

/* Milliseconds spent in each step of fl_core_freeze_run; writers waited frozen_ms. */
struct fl_freeze_stats {
	int64_t sync_ms;   /* before the freeze */
	int64_t flush_ms;  /* frozen: what came in since the sync */
	int64_t drain_ms;  /* frozen: writes in flight */
	int64_t take_ms;   /* frozen: take() */
	int64_t frozen_ms; /* from the freeze to the thaw */
};

/*
 * Runs take(arg, st) at a point where every change acknowledged before the
 * freeze is in RADOS and no write of this mount is in flight or starts: syncs
 * first (changes go on), then holds back changes, flushes and commits what is
 * left, holds back the volume handle's writes and waits for those in flight
 * (up to drain_timeout_ms; 0: 10 s), runs take with st = the volume's handle
 * under its write gate (for snap_create, set_write_ctx and the records), then
 * lets everything go.  Returns take's result or the first error; -EROFS on a
 * read-only core, -EBUSY while another freeze runs.  stats may be NULL.
 */
int fl_core_freeze_run(struct fl_core *c, int (*take)(void *arg, struct fl_store *st), void *arg,
		       unsigned drain_timeout_ms, struct fl_freeze_stats *stats);

#endif
