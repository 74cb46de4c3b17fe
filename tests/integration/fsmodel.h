/*
 * fsmodel - what the files of the program share: the run state, the
 * reference tree, names, data and descriptors (fsmodel.c), the random
 * operations (fsmodel_ops.c), comparing trees and the snapshot events
 * (fsmodel_compare.c).
 */
#ifndef FLOCKER_TESTS_FSMODEL_H
#define FLOCKER_TESTS_FSMODEL_H

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
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <linux/falloc.h>
#include <linux/fs.h>

#define KiB (1024LL)
#define MiB (1024LL * 1024)
#define GiB (1024LL * 1024 * 1024)

#define MAX_FDS	    8
#define MAX_ENTRIES 300	       /* above this, creating operations are skipped */
#define DATA_BUDGET (32 * MiB) /* allocated bytes in the reference tree */
#define SIZE_BUDGET (32 * MiB) /* sum of file sizes below BIG_LIMIT, per name */
#define FILE_SPAN   (8 * MiB)  /* ordinary writes stay below this offset */
#define BIG_LIMIT   (64 * MiB) /* files above this are compared by extents */
#define LOG_RING    4096       /* operations kept for the failure report */
#define LOG_SHOW    24	       /* shown in full */
#define LOG_LINE    400
#define MAX_DEPTH   40

#define PAD "m/m/m/m/m/m/m/m"

#define PAD_UPS 8

struct entry {
	char path[PATH_MAX];
	mode_t mode;
	off_t size;
	int depth;
};

#define NNAMES 13 /* the names of pick_existing and gen_path */

#define CBUF_SIZE (1 * MiB)

struct mtime_rec {
	ino_t ino; /* reference inode */
	struct timespec mtime;
	bool seen; /* found in the tree since the last compare */
};

struct ofd {
	bool used;
	int fd[2];
	int flags;
	char path[PATH_MAX];
};

#define MAX_SNAPS 4

struct snap {
	char name[32];
	char frozen[PATH_MAX]; /* the reference as it was, copied */
};

uint64_t rnd(uint64_t n);
bool chance(unsigned pct);
extern const char *root[2];
extern char work[2][PATH_MAX];
extern uint64_t seed;
extern unsigned long op_no, n_ops, n_compares, n_remounts;
extern ino_t fail_ino;
void __attribute__((format(printf, 1, 2))) log_op(const char *fmt, ...);
void __attribute__((format(printf, 1, 2))) log_more(const char *fmt, ...);
const char *ename(int e);
void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...);
void die(const char *what);
void *grow(void *arr, size_t n, size_t *cap, size_t size, size_t first);
void __attribute__((format(printf, 3, 4))) pathf(char *buf, size_t len, const char *fmt, ...);
const char *P(int s, int slot, const char *rel);
void mtime_forget_path(const char *rel);
void log_target(const char *rel);
void log_target_fd(int fd);
void same(const char *what, long long rv, int ev, long long rr, int er);
extern size_t n_ents, cap_ents, n_dirs, n_big;
extern bool scan_dirty;
extern unsigned long last_scan;
void rescan(void);
extern const char *const names[];
const char *pick_existing(mode_t want);
const char *gen_path(char *buf, size_t len);
const char *any_path(char *buf, size_t len, unsigned pct_existing);
bool over_budget(void);
bool can_grow(void);
mode_t rand_mode(bool dir);
extern unsigned char *wbuf;
extern unsigned char *cbuf[2];
void fill_random(size_t len);
size_t rand_len(void);
off_t rand_off(off_t size);
void prepare_data(size_t len);
extern struct mtime_rec *mrec;
extern size_t n_mrec, cap_mrec;
void mtime_set(ino_t ino, struct timespec ts);
extern bool mtime_off;
bool mtime_expected(const struct stat *ref, struct timespec *out);
void mtime_forget_fd(int fd);
void mtime_prune(void);
extern struct ofd fds[MAX_FDS];
struct ofd *pick_fd(void);
void close_all(void);
const char *flag_str(int flags);
void op_create(void);
void op_mkdir(void);
void op_write(void);
void op_bigwrite(void);
void op_truncate(void);
void op_rename(void);
void op_rename2(void);
void op_link(void);
void op_unlink(void);
void op_rmdir(void);
void op_symlink(void);
void op_mkfifo(void);
void op_chmod(void);
void op_chown(void);
void op_utimens(void);
void op_setxattr(void);
void op_removexattr(void);
void op_read_path(void);
void op_open(void);
void op_close(void);
void op_fwrite(void);
void op_fread(void);
void op_ftruncate(void);
void op_fstat(void);
void op_fchmod(void);
void op_fsync(void);
void op_fallocate(void);
void compare_stat(const char *what, const struct stat *v, const struct stat *r);
void compare_trees(const char *when);
void remount(const char *cmd);
extern const char *snap_cmd;
extern char snap_dir[PATH_MAX];
extern struct snap snaps[MAX_SNAPS];
extern int n_snaps;
extern unsigned long n_snap_events, n_snap_checks, n_clones, n_rollbacks;
extern unsigned snap_serial;
void __attribute__((format(printf, 1, 2))) run(const char *fmt, ...);
void snap_check(struct snap *sn, const char *when);
void snap_event(void);
void one_op(void);

#endif
