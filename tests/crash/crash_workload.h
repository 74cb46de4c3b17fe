/*
 * crash_workload - what the files of the program share: random numbers,
 * operations and the model of the tree (crash_model.c), the workload
 * (crash_run.c) and the checker (crash_check.c), called by main in
 * crash_workload.c.
 */
#ifndef FLOCKER_TESTS_CRASH_WORKLOAD_H
#define FLOCKER_TESTS_CRASH_WORKLOAD_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/xattr.h>

#define MAXINO	   1024 /* model inodes, never reused */
#define MAXENT	   512	/* name slots */
#define MAXLIVE	   64	/* names alive at once */
#define MAXDIRS	   12
#define MAXDEPTH   4
#define MAXFILE	   (256 * 1024)
#define MAXWRITE   (32 * 1024)
#define NXA	   4
#define XAMAX	   48
#define NHELD	   2
#define PATHLEN	   200
#define NAMELEN	   16
#define MAXOPS	   20000
#define OBS_MAX	   (4 << 20)
#define MAX_REPORT 25

enum opkind {
	OP_CREATE,
	OP_MKDIR,
	OP_SYMLINK,
	OP_WRITE, /* p off len gen sync(n|f|d|o) */
	OP_TRUNC, /* p size */
	OP_RENAME,
	OP_LINK,
	OP_UNLINK,
	OP_RMDIR,
	OP_SETXATTR, /* p name len gen */
	OP_RMXATTR,  /* p name */
	OP_CHMOD,    /* p mode */
	OP_FSYNCDIR, /* p */
	OP_SYNCFS,
	OP_HOLD,    /* p slot: open and keep the descriptor */
	OP_HWRITE,  /* slot off len gen: pwrite through a held descriptor */
	OP_RELEASE, /* slot: close it */
	OP_NKINDS
};

struct op {
	int kind;
	char p[PATHLEN], q[PATHLEN]; /* paths; q: rename/link target, symlink target, xattr name */
	uint64_t off, len, gen;
	unsigned mode, slot;
	char sync; /* write: 'n' none, 'f' fsync, 'd' fdatasync, 'o' opened O_DSYNC */
	/* from the log */
	bool ended;
	int rc, err;
	bool acked; /* A-lines follow */
};

struct mino {
	bool used;
	char type; /* 'f' file, 'd' directory, 'l' symlink */
	unsigned mode;
	unsigned char *data;
	size_t size;
	char target[PATHLEN];
	int nxa;
	char xn[NXA][NAMELEN];
	unsigned char xv[NXA][XAMAX];
	size_t xl[NXA];
	int nlinks; /* names */
	int nsub;   /* directories: subdirectories */
	int dent;   /* directories: their entry; -1 for the root */
	int held;   /* descriptors held open */
	/* checker */
	int ack;     /* last op whose acknowledgement covers the data; -1 none */
	int lastchg; /* last op that changed the data; -1 none */
	int born;    /* op that made it */
};

struct ment {
	bool used;
	int dir, ino;
	char name[NAMELEN];
};

struct model {
	struct mino ino[MAXINO];
	struct ment ent[MAXENT];
	int nino, nlive, ndirs;
	int held[NHELD];  /* inode held in each slot, -1 none */
	unsigned counter; /* for new names */
};

struct ack {
	int op;
	char path[PATHLEN];
	size_t len;
	uint64_t hash;
};

uint64_t splitmix(uint64_t *s);
extern uint64_t rng;
uint64_t rnd(uint64_t n);
void fill(unsigned char *buf, size_t len, uint64_t gen);
uint64_t fnv1a(const unsigned char *p, size_t n);
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
int op_format(const struct op *o, char *buf, size_t len);
int op_parse(const char *s, struct op *o);
extern struct model M;
void model_init(struct model *m);
int ent_find(const struct model *m, int dir, const char *name);
int resolve(const struct model *m, const char *path, int *entp);
void dir_path(const struct model *m, int d, char *buf, size_t len);
void ent_path(const struct model *m, int e, char *buf, size_t len);
int depth_of(const struct model *m, int d);
bool is_ancestor(const struct model *m, int a, int d);
int model_apply(struct model *m, const struct op *o, int idx);
extern const char *mnt;
void full(const char *rel, char *buf, size_t len);
int cmd_run(const char *logpath, uint64_t seed, long max_ops, long max_ms, bool use_syncfs,
	    long pace_us, bool db);
extern bool verbose;
void hex(char *out, size_t outlen, const unsigned char *p, size_t n);
extern struct op *ops;
int cmd_check(const char *logpath, bool final);

#endif
