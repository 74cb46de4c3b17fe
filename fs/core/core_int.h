/* flockerfs — private structures of the filesystem core (core.c, dir.c, namei.c,
 * xattr.c, purge.c, data.c, journal.c, readahead.c). */
#ifndef FLOCKER_CORE_INT_H
#define FLOCKER_CORE_INT_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "fs/core/core.h"
#include "flocker/buf.h"
#include "flocker/record.h"

struct fl_dentry {
	struct fl_dentry *hnext; /* hash chain */
	uint64_t cookie;	 /* readdir position: increases with insertion */
	uint64_t ino;
	uint32_t type; /* S_IFMT */
	uint32_t hash;
	uint32_t oidx; /* its index in fl_dir.order (kept by compaction) */
	uint16_t namelen;
	char name[];
};

struct fl_dir {
	struct fl_dentry **htab;
	uint32_t hmask;
	uint32_t count;
	struct fl_dentry **order; /* by cookie; NULL where removed */
	size_t norder, order_cap, order_dead;
	uint64_t next_cookie;
	uint32_t nsubdirs;
	char **ck_names; /* names changed since the last checkpoint (may repeat) */
	size_t nck, ck_cap;
	bool ck_listed; /* on core->ck_dirs */
	bool removed;	/* directory itself deleted: drop its object at checkpoint */
};

/* A dirty or in-flight extent of one data block. */
struct fl_extent {
	struct fl_extent *next; /* sorted by off, non-overlapping */
	uint32_t off, len, cap;
	char *data;
};

struct fl_dblock {
	struct fl_dblock *next; /* per inode, unsorted */
	uint64_t index;
	struct fl_extent *dirty;
	struct fl_extent *flying; /* being written; older than dirty */
};

struct fl_ra;

struct fl_inode {
	struct fl_inode *hnext;
	struct fl_inode_rec r; /* r.size is the size programs see */
	uint64_t jsize;	       /* size that durable data backs: what the journal records */
	uint64_t jtid;	       /* the last transaction that recorded this inode */
	uint64_t dtid;	       /* the last one that created it, named it or changed its size:
				* what fdatasync must find durable (fl_txn_commit) */
	uint64_t put_size;     /* the size in its last journaled record */
	bool put_seen;	       /* put_size is known (a record was journaled this mount) */
	uint64_t parent;       /* directories: the directory holding them */
	uint64_t nlookup;
	uint32_t nopen;
	bool ck_dirty;		/* on core->ck_inodes */
	bool deleted;		/* INODE_DEL journaled: gone from the table at checkpoint */
	bool orphan;		/* nlink 0, waiting for the last reference */
	bool trim_mark;		/* on the orphan list: data objects may reach past jsize */
	bool scan_trim;		/* listed at mount: a crash may have left objects past jsize */
	bool attr_dirty;	/* size/times changed by writes, to journal at next flush */
	bool map_dirty;		/* r.bmap grew since the inode was last journaled */
	bool jmap_saved;	/* jmap holds the map of the last journaled record */
	struct fl_brange *jmap; /* (r.bmap is ahead of it: a checkpoint writes jmap) */
	uint32_t njmap;
	bool flushing;
	uint64_t mark_tid; /* the transaction that last put it on the orphan list */
	/* An append in flight with its record (data.c "flush_early"): every
	 * record of the inode carries these until the data has landed. */
	struct fl_jdep *deps;
	uint32_t ndeps;
	uint64_t grow_from; /* the journaled size before it */
	bool on_dlist;	    /* on core->dirty_inodes */
	struct fl_inode *ck_next;
	struct fl_inode *dnext, *dprev; /* dirty list, oldest first */
	struct fl_dir *dir;		/* directories, once loaded */
	struct fl_dblock *blocks;
	uint64_t dirty_bytes;
	uint64_t used;		/* regular files: what this file adds to c->used_bytes */
	bool space_freed;	/* unlinked and closed: used stays 0 (fl_space_release) */
	uint64_t jused;		/* ... and to c->jused_bytes */
	uint64_t dseq;		/* bumped whenever flying data lands or objects change */
	struct fl_ra *ra;	/* object readahead (readahead.c), NULL until read sequentially */
	int64_t dirty_since_ms; /* monotonic time its oldest dirty byte was written */
	/* Write-back errors, as Linux's errseq: the last error, a sequence
	 * bumped at each new one, and whether some fsync reported it yet.
	 * Each open handle keeps the sequence it saw last (fl_core_werr_*). */
	int werr;
	uint32_t werr_seq;
	bool werr_seen;
};

/* One transaction being built under core->lock. */
struct fl_txn {
	struct fl_jop ops[FL_JOPS_MAX];
	struct fl_inode *ip[FL_JOPS_MAX]; /* INODE_PUT: encoded from the inode at commit */
	uint32_t n;
};

/* Journal state replayed from RADOS: applied to omaps (rw) or kept as overlay (ro). */
struct fl_replay;

struct fl_core {
	struct fl_volume *v;
	struct fl_store *st;
	struct fl_core_opts o;
	pthread_mutex_t lock; /* guards everything below unless noted */
	pthread_cond_t cond;  /* commit progress, flush completion, dirty-space */

	struct fl_inode **itab;
	uint64_t imask, icount;
	uint8_t *shard_state; /* per inode-table shard: unloaded, loading, loaded (core.c) */
	uint64_t nshards;

	uint64_t next_ino, inodes;
	/* Bytes of the data blocks regular files use (fl_bmap_used: blocks of
	 * their maps, and dirty blocks, below their sizes), not their sizes:
	 * used_bytes as programs see them (ENOSPC, statfs), jused_bytes over
	 * journaled maps and sizes (what records carry). */
	uint64_t used_bytes;
	uint64_t jused_bytes;
	uint32_t bsize;

	/* journal */
	struct fl_buf jpending; /* framed transactions not yet appended */
	struct timespec pending_since;
	uint64_t next_tid, pending_tid, committed_tid;
	/* the last transaction that named a directory (mkdir, a rename of one):
	 * fdatasync waits for it too, so that a file it acknowledges is found at
	 * the path it had, whichever of its parents moved before */
	uint64_t dir_dtid;
	uint64_t jseg, jseg_bytes, jbytes_since_ckpt;
	bool commit_now;
	/* a record of more than FL_BMAP_MAX_V1 runs was journaled: the
	 * superblock goes to version 2 before it reaches RADOS (journal.c) */
	bool super_step;
	/* inodes whose append flies with its record (data.c): a checkpoint
	 * waits for them, as the inode table may not hold such a size */
	uint32_t nfast;
	bool ckpt_waiting; /* ... and none starts meanwhile */
	bool stop;
	bool abandon; /* tests: stop without the final checkpoint */
	int error;    /* persistent: once set, every change fails */
	pthread_t thread;
	bool thread_started;
	struct timespec last_ckpt;

	/* checkpoint dirty sets */
	struct fl_inode *ck_inodes;
	struct fl_inode **ck_dirs; /* inodes of directories with changed names */
	size_t nck_dirs, ck_dirs_cap;
	uint64_t *ck_deleted; /* inode numbers deleted since the checkpoint */
	size_t nck_deleted, ck_deleted_cap;
	uint64_t *ck_orph_add; /* inodes whose orphan-list membership changed */
	size_t n_orph_add, orph_add_cap;
	uint64_t *ck_rmdirs; /* dir objects to remove */
	size_t n_rmdirs, rmdirs_cap;

	/* data */
	struct fl_inode *dirty_inodes, *dirty_tail;
	bool werr_unseen;   /* some inode may hold a write-back error nobody was told of */
	uint64_t dirty_mem; /* dirty and flying buffers' size (capacity): dirty_max bounds it */
	uint64_t ra_bytes;  /* object readahead buffers of all files */
	pthread_cond_t space_cond; /* writers waiting for dirty_mem to fall */
	unsigned space_waiters;
	pthread_t flusher;
	bool flusher_started, flush_stop, flush_now;
	uint64_t *purge; /* orphans whose last reference went: delete their data */
	size_t npurge, purge_cap;

	struct fl_replay *overlay; /* read-only mounts */
	bool frozen;		   /* a snapshot holds changes back (freeze.c) */
};

/* freeze.c: under c->lock, waits while a snapshot holds changes back */
void fl_core_freeze_wait(struct fl_core *c);

/*
 * No thread holds c->lock while it waits for RADOS.  What must read RADOS
 * for an operation under the lock (an inode-table shard, a directory, not
 * in memory yet) lets go of the lock while it reads, installs what it read
 * (unless another thread did meanwhile), and returns FL_RESTART: whatever
 * the caller found under the lock before may have changed, so it starts the
 * operation over (with the lock held again) and finds it in memory then.
 * Never an errno; it never leaves the core.
 */
#define FL_RESTART (-100000)

/* core.c */
struct fl_inode *fl_ino_find(struct fl_core *c, uint64_t ino);
/* 0 and *out, -ENOENT, another negative errno, or FL_RESTART (above). */
int fl_ino_get(struct fl_core *c, uint64_t ino, struct fl_inode **out);
/* fl_ino_get for an entry found in a directory: an inode it cannot find is
 * a damaged volume (EIO), not a missing name. */
int fl_ino_get_entry(struct fl_core *c, uint64_t ino, struct fl_inode **out);
/* fl_ino_get begun again until it no longer returns FL_RESTART, each time
 * after fl_core_writable when for_write: 0 and *out, or a negative errno. */
int fl_ino_load(struct fl_core *c, uint64_t ino, bool for_write, struct fl_inode **out);
/* Journals the change of ip alone (its record, checked) and commits it: 0 or
 * fl_txn_commit's negative errno. */
int fl_ino_commit(struct fl_core *c, struct fl_inode *ip);
/* Takes ip out of the inode table; frees an inode and what it holds. */
void fl_itab_remove(struct fl_core *c, struct fl_inode *ip);
void fl_inode_free(struct fl_inode *ip);
/* A new inode of mode for cr in dir, in the table (not yet linked or journaled);
 * NULL with *err, which may be FL_RESTART. */
struct fl_inode *fl_inode_new(struct fl_core *c, mode_t mode, const struct fl_cred *cr,
			      const struct fl_inode *dir, int *err);
void fl_ino_ck(struct fl_core *c, struct fl_inode *ip);
void fl_fill_stat(struct fl_core *c, const struct fl_inode *ip, struct stat *st);
/* Volume usage (used_bytes) follows a change of ip's size, map or dirty blocks. */
void fl_core_reaccount(struct fl_core *c, struct fl_inode *ip);
/* An unlinked regular file nobody has open: its blocks count as free at once
 * (used_bytes), before the kernel's FORGET and the purge remove its objects.
 * jused_bytes, which checkpoints carry, keeps counting them until the purge
 * commits, and the orphan list keeps the purge itself crash-safe. */
void fl_space_release(struct fl_core *c, struct fl_inode *ip);
/* jused_bytes follows ip's record as a transaction carries it (map and
 * journaled size): the counter in each transaction matches its records. */
void fl_core_jaccount(struct fl_core *c, struct fl_inode *ip);
/* What ip would use with size `size` and blocks [lo, hi) written too. */
uint64_t fl_file_used(struct fl_core *c, const struct fl_inode *ip, uint64_t size, uint64_t lo,
		      uint64_t hi);
/* Before r.bmap changes: keeps the journaled map for the checkpoint, so
 * that itab records and the usage counter agree after a crash.  Freed when a
 * transaction carries the record again (fl_core_jaccount). */
void fl_map_save(struct fl_inode *ip);
/* Sets the journaled size of a file, keeping jused_bytes right. */
void fl_set_jsize(struct fl_core *c, struct fl_inode *ip, uint64_t jsize);
/* Copies the runs of ip's map that lie at or above block `first` (for
 * removing objects without the lock); *out is NULL when there are none. */
int fl_bmap_copy_from(const struct fl_inode *ip, uint64_t first, struct fl_brange **out,
		      uint32_t *n);
/* Purge list entries: an inode number, with FL_PURGE_SCAN when found on the
 * orphan list at mount (its data objects may reach past its recorded size). */
#define FL_PURGE_SCAN ((uint64_t)1 << 63)
int fl_core_purge_one(struct fl_core *c, uint64_t entry);
/* One purge round (the commit thread, with the lock, nothing pending in the
 * journal): unlinked inodes in batches, the rest one by one. */
void fl_core_purge_round(struct fl_core *c);
/* Notes that ino's membership of the orphan list changed, for the checkpoint. */
void fl_orph_note(struct fl_core *c, uint64_t ino);
/* Frees a purged inode once the checkpoint has recorded its deletion. */
void fl_core_free_deleted(struct fl_core *c, struct fl_inode *ip);
int fl_core_space_for(struct fl_core *c, uint64_t add);

/* journal.c — all under c->lock unless said otherwise */
int fl_txn_commit(struct fl_core *c, struct fl_txn *t, uint64_t *tid);
void fl_txn_inode(struct fl_txn *t, struct fl_inode *ip);
void fl_txn_dent(struct fl_txn *t, uint64_t dir, const char *name, uint64_t ino, uint32_t type);
void fl_txn_undent(struct fl_txn *t, uint64_t dir, const char *name);
void fl_txn_simple(struct fl_txn *t, uint32_t kind, uint64_t ino);
/* Waits (dropping c->lock) until the pending transactions leave room for
 * more: fl_txn_commit right after it does not drop the lock. */
void fl_journal_room(struct fl_core *c);
/* Waits (dropping c->lock) until transaction tid is durable. */
int fl_journal_wait(struct fl_core *c, uint64_t tid);
int fl_journal_replay(struct fl_core *c, char *err, size_t errlen);
int fl_journal_start(struct fl_core *c);
/*
 * A worker thread of c: fl_core_worker_start runs fn(c) in *t and sets *started
 * (0 or a negative errno); fl_core_worker_stop, when *started, sets *stop under
 * c->lock, wakes c->cond, joins t and clears *started.
 */
int fl_core_worker_start(struct fl_core *c, pthread_t *t, void *(*fn)(void *), bool *started);
void fl_core_worker_stop(struct fl_core *c, pthread_t t, bool *stop, bool *started);
void fl_journal_stop(struct fl_core *c);
/*
 * Reads journal segment seg of st whole (at most 128 MiB, else -EIO): a new
 * buffer in *data (free it) of *len bytes.  -ENOENT when it does not exist.
 */
int fl_jseg_read(struct fl_store *st, uint64_t seg, char **data, size_t *len);
/*
 * The record at data[*off..len) of a segment fl_jseg_read gave: 1 with it
 * decoded in *t (fl_jtxn_free it) and *off past it, 0 at the end, -EIO where
 * the frame is torn or corrupt, -EBADMSG where its record does not decode
 * (*off stays at the bad frame).
 */
int fl_jseg_next(const char *data, size_t len, size_t *off, struct fl_jtxn *t);
int fl_checkpoint(struct fl_core *c); /* called without c->lock */
int fl_overlay_dir(struct fl_core *c, uint64_t ino, struct fl_dir *d);
int fl_overlay_inode(struct fl_core *c, uint64_t ino, struct fl_inode_rec *r, bool *deleted);
void fl_overlay_free(struct fl_core *c);
/* fsck: the journal a read-only mount replayed in memory, as the last record
 * of each inode (r NULL: deleted), entry (d NULL: removed) and orphan list
 * key.  A callback that returns non-zero stops the walk with that value. */
struct fl_overlay_walk {
	void *arg;
	int (*inode)(void *arg, uint64_t ino, const struct fl_inode_rec *r);
	int (*dent)(void *arg, uint64_t dir, const char *name, const struct fl_dirent_rec *d);
	int (*orphan)(void *arg, uint64_t ino, bool listed);
};
int fl_overlay_walk(struct fl_core *c, const struct fl_overlay_walk *w);
void fl_dir_ck(struct fl_core *c, struct fl_inode *dip, const char *name);
void fl_dir_ck_list(struct fl_core *c, struct fl_inode *dip);
int fl_dir_insert(struct fl_dir *d, const char *name, uint64_t ino, uint32_t type);
struct fl_dentry *fl_dir_find(struct fl_dir *d, const char *name);
void fl_dir_remove(struct fl_dir *d, struct fl_dentry *de);
void fl_dir_free(struct fl_dir *d);
struct fl_dir *fl_dir_new(void);

/* data.c */
ssize_t fl_data_read(struct fl_core *c, struct fl_inode *ip, uint64_t off, size_t len, void *buf);
ssize_t fl_data_write(struct fl_core *c, struct fl_inode *ip, uint64_t off, const void *buf,
		      size_t len);
/* Writes the inode's dirty data and journals its size; drops and retakes c->lock. */
int fl_data_flush(struct fl_core *c, struct fl_inode *ip, uint64_t *tid);
/* fdatasync's write-back: the inode's dirty data, and a record only when that
 * data raised the journaled size (*tid set then); times left for the flusher,
 * which journals them with its next round.  Drops and retakes c->lock. */
int fl_data_flush_data(struct fl_core *c, struct fl_inode *ip, uint64_t *tid);
int fl_data_flush_all(struct fl_core *c, uint64_t *tid);
/* Writes back several files at once: one journal wait, one batch of data
 * writes, one group of size records.  Skips files already being flushed. */
int fl_data_flush_many(struct fl_core *c, struct fl_inode **ips, size_t n, uint64_t *tid);
/* Drops cached data at and beyond off and trims data objects; drops c->lock. */
int fl_data_truncate(struct fl_core *c, struct fl_inode *ip, uint64_t oldsize, uint64_t newsize);
int fl_data_punch(struct fl_core *c, struct fl_inode *ip, uint64_t off, uint64_t len);
/* Removes the objects of ino in the given runs, without c->lock. */
int fl_data_remove_runs(struct fl_core *c, uint64_t ino, const struct fl_brange *runs, uint32_t n);
/* Frees the inode's cached data without writing it (unlinked inodes); may wait for a flush. */
void fl_data_drop(struct fl_core *c, struct fl_inode *ip);
/* Queues the inode for the flusher even without dirty data (to settle its orphan mark). */
void fl_data_touch(struct fl_core *c, struct fl_inode *ip);
int fl_core_trim_stale(struct fl_core *c, struct fl_inode *ip);
/* Records a write-back error of ip (a new errseq value, not seen yet). */
void fl_werr_set(struct fl_core *c, struct fl_inode *ip, int err);
/* Waits on cond (with core->lock held) for at most ms milliseconds. */
void fl_core_wait_ms(struct fl_core *c, pthread_cond_t *cond, long ms);
/* Waits until no write-back or truncate of ip runs (drops core->lock meanwhile). */
void fl_data_wait_flush(struct fl_core *c, struct fl_inode *ip);

/* Object readahead (readahead.c), with the lock (both may drop it).
 * fl_ra_read copies [off, off+len) of the file's objects (len within the
 * size; the caller overlays dirty data) and returns 1, or 0 when the caller
 * must read the objects itself, or 2 when it waited: the caller starts over. */
int fl_ra_read(struct fl_core *c, struct fl_inode *ip, uint64_t off, size_t len, char *buf);
/* The same without copying: on 1, [*data, *data+len) stays as it is until
 * fl_ra_put(ref).  Only for a range within one object that has all of it. */
int fl_ra_read_ref(struct fl_core *c, struct fl_inode *ip, uint64_t off, size_t len,
		   const void **data, void **ref);
void fl_ra_put(struct fl_core *c, void *ref);
/* fl_data_read that may hand out readahead in place (see fl_core_read_ref). */
ssize_t fl_data_read_ref(struct fl_core *c, struct fl_inode *ip, uint64_t off, size_t len,
			 void *buf, const void **data, void **ref);
/* Frees a file's readahead; waits for its reads in flight. */
void fl_ra_drop(struct fl_core *c, struct fl_inode *ip);
int fl_data_start(struct fl_core *c);
void fl_data_stop(struct fl_core *c);
int64_t fl_now_ms(void);

/* dir.c: ip's directory; if it is not loaded yet, loads it with the lock let
 * go and returns FL_RESTART. */
int fl_dir_get(struct fl_core *c, struct fl_inode *ip, struct fl_dir **out);
/* The entry name of d and its inode: -ENOENT if there is none, -EIO if its
 * inode is missing (see fl_ino_get_entry). */
int fl_dir_entry(struct fl_core *c, struct fl_dir *d, const char *name, struct fl_dentry **de,
		 struct fl_inode **ip);
/* Loads directory ino, if it is not loaded yet, with the lock dropped meanwhile. */
void fl_dir_prefetch(struct fl_core *c, uint64_t ino);

/* purge.c */
/* Queues an orphan nobody references any more for the purge. */
void fl_purge_schedule(struct fl_core *c, struct fl_inode *ip);
/* Marks an inode whose link count fell to zero; t gets the orphan record. */
void fl_unlinked(struct fl_core *c, struct fl_inode *ip, struct fl_txn *t);
/* Trims the data objects of the inodes on the orphan list at mount. */
void fl_purge_trim_listed(struct fl_core *c);

static inline void fl_core_lock(struct fl_core *c)
{
	pthread_mutex_lock(&c->lock);
}

static inline void fl_core_unlock(struct fl_core *c)
{
	pthread_mutex_unlock(&c->lock);
}

/* The time for ctime, mtime, atime. */
static inline void fl_now_real(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

/* 0 if the filesystem takes changes: -EROFS read-only, -EIO after an error. */
static inline int fl_core_writable(struct fl_core *c)
{
	if (c->o.ro)
		return -EROFS;
	fl_core_freeze_wait(c);
	if (c->error)
		return -EIO;
	return 0;
}

static inline uint64_t fl_round4k(uint64_t n)
{
	return (n + 4095) & ~(uint64_t)4095;
}

#endif
