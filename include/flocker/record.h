/*
 * flockerfs — on-RADOS records and their codecs.
 *
 * Every record is a msgpack map with small unsigned integer keys; key 0 is
 * the record version.  Decoders skip keys they do not know (forward
 * compatibility), reject wrong types, oversize strings, too many entries or
 * trailing garbage with -EIO, and never crash on any input (fuzzed by
 * tests/fuzz/).  Encoders append to a struct fl_buf.
 *
 * Ownership: decoded records own their heap parts (strings, arrays); release
 * them with the matching _free, which also accepts a zeroed record.  Encoders
 * borrow the record.
 */
#ifndef FLOCKER_RECORD_H
#define FLOCKER_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "flocker/buf.h"

#define FL_FORMAT_VERSION 1
/* The superblock's own version (fs/format/FORMAT.md, "super"): 2 once a file
 * of the volume may hold a block map of more than FL_BMAP_MAX_V1 runs, which
 * binaries that know only version 1 would misread as corrupt records. */
#define FL_SUPER_VERSION 2

/* Bounds every decoder enforces. */
#define FL_NAME_MAX	  255  /* one path component */
#define FL_SYMLINK_MAX	  4095 /* symlink target */
#define FL_XATTR_NAME_MAX 255
#define FL_XATTR_VAL_MAX  65536
#define FL_XATTRS_MAX	  1024	    /* xattrs per inode */
#define FL_XATTRS_BYTES	  (1 << 20) /* total xattr bytes per inode */
#define FL_VOLNAME_MAX	  128
#define FL_JOPS_MAX	  64	    /* ops in one journal transaction */
#define FL_REC_MAX	  (2 << 20) /* any single record, encoded */

/* Object names (oid) inside a volume namespace "vol.<uuid>". */
#define FL_OID_SUPER  "super"
#define FL_OID_ORPHAN "orphans" /* omap: ino hex -> empty, for unlinked-but-open inodes */
#define FL_OID_LEN    64
#define FL_LOCK_NAME  "flocker.writer"
/* registry: namespace "flocker", object "volumes", omap name -> fl_volreg_rec */
#define FL_REG_NS  "flocker"
#define FL_REG_OID "volumes"

#define FL_ROOT_INO 1

/* --- superblock: object "super" --- */
struct fl_super_rec {
	uint32_t version; /* 1..FL_SUPER_VERSION; the encoder writes 0 as 1 */
	char uuid[37];	  /* lowercase 8-4-4-4-12 */
	char name[FL_VOLNAME_MAX + 1];
	uint32_t block_size;	  /* bytes per data object, power of two */
	uint64_t size_limit;	  /* bytes; 0 = unlimited */
	int64_t created;	  /* unix seconds */
	uint64_t next_ino;	  /* no inode number >= this has been handed out */
	uint64_t jtail;		  /* first journal segment to replay */
	uint64_t used_bytes;	  /* as of the checkpoint */
	uint64_t inodes;	  /* as of the checkpoint */
	uint32_t itab_shard_bits; /* itab shard = ino >> bits */
	uint64_t snap_seq;	  /* newest snapshot id ever taken of the volume; 0: none */
};

int fl_super_encode(const struct fl_super_rec *s, struct fl_buf *out);
int fl_super_decode(const void *p, size_t len, struct fl_super_rec *s);

/* --- registry entry: namespace "flocker", object "volumes", omap name -> this --- */
struct fl_volreg_rec {
	uint32_t version;
	char uuid[37];
	int64_t created;
	uint64_t size_limit;
};

int fl_volreg_encode(const struct fl_volreg_rec *r, struct fl_buf *out);
int fl_volreg_decode(const void *p, size_t len, struct fl_volreg_rec *r);

/* --- clone's parent: object "parent" in the clone's namespace (fs/volume/clone.h) --- */
struct fl_parent_rec {
	uint32_t version;
	char uuid[37];		       /* the parent volume's */
	uint64_t snap_id;	       /* RADOS snap id the clone reads the parent at */
	char snap[FL_VOLNAME_MAX + 1]; /* that snapshot's name */
	char name[FL_VOLNAME_MAX + 1]; /* the parent's name when the clone was made */
	int64_t created;	       /* unix seconds */
};

int fl_parent_encode(const struct fl_parent_rec *r, struct fl_buf *out);
int fl_parent_decode(const void *p, size_t len, struct fl_parent_rec *r);

/*
 * --- trash entry: namespace "flocker", object "volumes.trash", omap uuid -> this ---
 * A volume "docker volume rm" moved to the standalone trash (fs/volume/trash.h).
 */
#define FL_TRASH_REG_MAX  1024 /* the kept registry value */
#define FL_TRASH_HOST_MAX 63
#define FL_TRASH_REC_MAX  4096 /* a whole trash record, encoded */

enum fl_trash_state {
	FL_TRASH_IN = 0,
	FL_TRASH_RESTORING = 1,
	FL_TRASH_PURGING = 2,
};

struct fl_trash_rec {
	uint32_t version;
	char uuid[37];
	char name[FL_VOLNAME_MAX + 1];
	/* the registry value (an encoded fl_volreg_rec of this uuid), byte for byte */
	unsigned char reg[FL_TRASH_REG_MAX];
	size_t reg_len;			  /* 1..FL_TRASH_REG_MAX */
	int64_t removed;		  /* unix seconds */
	uint32_t removed_ns;		  /* 0..999999999: orders two removals within one second */
	int64_t purge_at;		  /* unix seconds */
	uint32_t state;			  /* enum fl_trash_state */
	int64_t state_since;		  /* unix seconds */
	char host[FL_TRASH_HOST_MAX + 1]; /* that removed it; may be empty */
};

/*
 * encode: -EINVAL for what decode would reject, a registry value that is not
 * the volreg record of this uuid included; encodings stay far below
 * FL_TRASH_REC_MAX, and decode refuses longer input.
 */
int fl_trash_rec_encode(const struct fl_trash_rec *t, struct fl_buf *out);
int fl_trash_rec_decode(const void *p, size_t len, struct fl_trash_rec *t);

/*
 * --- snapshot: object "snaps" in the volume's namespace, omap name -> this ---
 * (fs/format/record_snap.c; names follow fl_volname_valid)
 */
#define FL_OID_SNAPS	 "snaps"
#define FL_SNAP_HOST_MAX 63
#define FL_SNAP_REC_MAX	 1024		  /* a whole snap record, encoded */
#define FL_SNAP_ID_MAX	 (UINT64_MAX - 3) /* above: RADOS's head and snapdir */

enum fl_snap_state {
	FL_SNAP_OK = 0,
	FL_SNAP_REMOVING = 1, /* the RADOS snapshot may be gone; finish the removal */
};

struct fl_snap_rec {
	uint32_t version;
	uint64_t id;			 /* the RADOS self-managed snapshot id, 1..FL_SNAP_ID_MAX */
	int64_t created;		 /* unix seconds */
	uint32_t created_ns;		 /* 0..999999999 */
	uint32_t state;			 /* enum fl_snap_state */
	char host[FL_SNAP_HOST_MAX + 1]; /* that took it; may be empty */
};

/* encode: -EINVAL for what decode would reject (-EIO). */
int fl_snap_encode(const struct fl_snap_rec *r, struct fl_buf *out);
int fl_snap_decode(const void *p, size_t len, struct fl_snap_rec *r);

/* --- directory entry: object "dir.<ino hex>", omap name -> this --- */
struct fl_dirent_rec {
	uint64_t ino;
	uint32_t type; /* S_IFMT bits of the target's mode */
};

int fl_dirent_encode(const struct fl_dirent_rec *d, struct fl_buf *out);
int fl_dirent_decode(const void *p, size_t len, struct fl_dirent_rec *d);

/* --- inode: object "itab.<shard hex>", omap "<ino as 16 hex digits>" -> this --- */
struct fl_xattr {
	char *name;  /* NUL-terminated, owned */
	void *value; /* owned, may be NULL when vlen is 0 */
	uint32_t vlen;
};

/* A run of data object indices [first, first + count) that may exist. */
struct fl_brange {
	uint64_t first, count;
};
/* Runs per file; more are merged (over-approximated).  4096 runs keep a
 * record under 74 KiB (18 bytes a run at worst, about 6 for indices below
 * 2^32 and short runs), an in-memory map under 64 KiB, and a change of the
 * map a binary search and a memmove of at most 64 KiB. */
#define FL_BMAP_MAX 4096
/* What a volume whose superblock says version 1 holds at most (binaries that
 * know only version 1 refuse a longer map as a corrupt record). */
#define FL_BMAP_MAX_V1 32

struct fl_inode_rec {
	uint64_t ino;
	uint32_t mode;
	uint32_t uid, gid;
	uint32_t nlink;
	uint64_t size;
	uint64_t rdev;
	uint64_t generation;
	struct timespec atime, mtime, ctime, btime;
	char *symlink;		 /* owned; NULL unless S_ISLNK */
	struct fl_xattr *xattrs; /* owned array of nxattrs */
	uint32_t nxattrs;
	/* Regular files: every data object that may exist lies in these runs
	 * (sorted, disjoint, not adjacent, count > 0); owned array of nbmap.
	 * has_bmap false: a record written before the map existed, where any
	 * index below the size may hold an object. */
	struct fl_brange *bmap;
	uint32_t nbmap;
	bool has_bmap;
};

/* The block map (pure functions on a record's runs; bs: the block size).
 * fl_bmap_has: is index inside a run (binary search).  fl_bmap_add: adds one
 * index (a binary search, and a memmove when it makes a new run); when that
 * would pass FL_BMAP_MAX runs, it grows a neighbour of index over the gap
 * to it, or joins the two runs with the smallest gap, whichever names fewer
 * blocks that need not exist (0 or -ENOMEM).  fl_bmap_cut: drops every index >= first. fl_bmap_del:
 * drops [first, first + count) (kept as it is when that would need more runs than FL_BMAP_MAX: an
 * over-approximation is always safe).  fl_bmap_blocks: the indices covered.  fl_bmap_used: bytes of
 * the covered blocks that lie below size, each rounded up to 4 KiB: what the file uses. */
bool fl_bmap_has(const struct fl_inode_rec *i, uint64_t index);
int fl_bmap_add(struct fl_inode_rec *i, uint64_t index);
void fl_bmap_cut(struct fl_inode_rec *i, uint64_t first);
int fl_bmap_del(struct fl_inode_rec *i, uint64_t first, uint64_t count);
uint64_t fl_bmap_blocks(const struct fl_inode_rec *i);
uint64_t fl_bmap_used(const struct fl_inode_rec *i, uint64_t size, uint32_t bs);
/* The bytes one block of index idx counts for in a file of size (0 past it). */
uint64_t fl_block_used(uint64_t idx, uint64_t size, uint32_t bs);
/* The largest file size: the kernel's MAX_LFS_FILESIZE, which FUSE uses. */
#define FL_FILE_MAX ((uint64_t)INT64_MAX)

int fl_inode_encode(const struct fl_inode_rec *i, struct fl_buf *out);
/* At least as many bytes as fl_inode_encode(i) writes (for sizing journal
 * transactions). */
size_t fl_inode_enc_max(const struct fl_inode_rec *i);
int fl_inode_decode(const void *p, size_t len, struct fl_inode_rec *i);
void fl_inode_rec_free(struct fl_inode_rec *i);
/* Deep copy; 0 or -ENOMEM. */
int fl_inode_rec_copy(struct fl_inode_rec *dst, const struct fl_inode_rec *src);

/* --- journal: objects "jrnl.<seq as 16 hex digits>" --- */
enum fl_jop_kind {
	FL_JOP_INODE_PUT = 1,  /* whole inode record (create or change) */
	FL_JOP_INODE_DEL = 2,  /* inode gone, its data objects may be deleted */
	FL_JOP_DENT_SET = 3,   /* dir[name] = {ino, type} */
	FL_JOP_DENT_DEL = 4,   /* remove dir[name] */
	FL_JOP_ORPHAN_ADD = 5, /* ino unlinked while open: purge at next mount */
	FL_JOP_ORPHAN_DEL = 6,
};

/* An append whose data is in flight with its record (FORMAT.md "jtxn"):
 * the record's size holds only once object data.<ino>.<index> is at least
 * len bytes long. */
struct fl_jdep {
	uint64_t index;
	uint64_t len;
};

#define FL_JDEPS_MAX 64 /* deps of one INODE_PUT */

struct fl_jop {
	uint32_t kind;
	uint64_t ino;		   /* INODE_DEL, ORPHAN_*; DENT_*: the directory */
	struct fl_inode_rec inode; /* INODE_PUT (owned) */
	char *name;		   /* DENT_*: owned */
	struct fl_dirent_rec dent; /* DENT_SET */
	/* INODE_PUT, optional: the size before the append and what the new one
	 * needs (ndeps 0: none; decoded: owned) */
	uint64_t grow_from;
	struct fl_jdep *deps;
	uint32_t ndeps;
};

/* One transaction: applied entirely or not at all by replay. */
struct fl_jtxn {
	uint32_t version;
	uint64_t tid;	   /* increasing within a volume */
	uint64_t next_ino; /* volume counters after this transaction */
	uint64_t used_bytes;
	uint64_t inodes;
	struct fl_jop *ops; /* owned array */
	uint32_t nops;
};

int fl_jtxn_encode(const struct fl_jtxn *t, struct fl_buf *out);
int fl_jtxn_decode(const void *p, size_t len, struct fl_jtxn *t);
void fl_jtxn_free(struct fl_jtxn *t);

/*
 * Journal framing inside a segment object: repeated
 *   u32 magic 0x464c4a31 ("FLJ1", little endian) | u32 payload length | u32 crc32c(payload) |
 * payload fl_jframe_next parses the frame at p[0..len): returns the frame size (> 0) and points
 * *payload and *plen at the payload, 0 at a clean end (len == 0 or zero padding), -EIO on a torn or
 * corrupt frame.
 */
#define FL_JFRAME_MAGIC 0x464c4a31u
#define FL_JFRAME_HDR	12
int fl_jframe_put(struct fl_buf *out, const void *payload, size_t plen);
ssize_t fl_jframe_next(const void *p, size_t len, const void **payload, size_t *plen);

uint32_t fl_crc32c(uint32_t crc, const void *p, size_t len);

/* Helpers for object names. */
void fl_oid_dir(char out[FL_OID_LEN], uint64_t ino);
void fl_oid_itab(char out[FL_OID_LEN], uint64_t shard);
void fl_oid_data(char out[FL_OID_LEN], uint64_t ino, uint64_t index);
void fl_oid_jrnl(char out[FL_OID_LEN], uint64_t seq);
void fl_ino_key(char out[17], uint64_t ino);
/* Parses a data object name "data.<ino>.<index>"; 0 or -EINVAL. */
int fl_oid_parse_data(const char *oid, uint64_t *ino, uint64_t *index);

/* Volume names: Docker's rule [a-zA-Z0-9][a-zA-Z0-9_.-]*, 1..FL_VOLNAME_MAX bytes. */
int fl_volname_valid(const char *name);

#endif
