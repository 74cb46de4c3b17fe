/*
 * posix_conformance - what the files of the program share: the TAP
 * counters and checks, the helpers (posix_conformance.c) and one function
 * a group of checks (posix_names.c, posix_attrs.c, posix_readdir.c,
 * posix_data.c, posix_xattr.c, posix_locks.c), run by the runner in
 * posix_conformance.c.
 */
#ifndef FLOCKER_TESTS_POSIX_CONFORMANCE_H
#define FLOCKER_TESTS_POSIX_CONFORMANCE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <linux/falloc.h>
#include <linux/fs.h>

#define KiB (1024LL)
#define MiB (1024LL * 1024)
#define GiB (1024LL * 1024 * 1024)

/* The two unprivileged users of the checks, and groups they may belong to. */
#define U1   65534
#define U2   65533
#define G1   65534
#define G2   65533
#define GX   4242 /* a supplementary group given to U1 in some checks */
#define GY   4243
#define GOUT 4244 /* a group no test user belongs to */

#define GROUP_TIMEOUT_S 600

/* Counters shared by the runner, the group processes and their children. */
struct shared {
	unsigned long next;
	unsigned long passed;
	unsigned long failed;
};

/*
 * The macros take the call itself, so that errno is read right after it.
 * CHECK_OK also accepts a variable holding a result whose errno is current.
 */
#define CHECK_OK(expr, ...)                                                                        \
	do {                                                                                       \
		long long r_ = (long long)(expr);                                                  \
		t_ok(r_, errno, __VA_ARGS__);                                                      \
	} while (0)

#define CHECK_ERR(expr, e, ...)                                                                    \
	do {                                                                                       \
		long long r_ = (long long)(expr);                                                  \
		t_err(r_, errno, (e), (e), __VA_ARGS__);                                           \
	} while (0)

#define CHECK_ERR2(expr, e1, e2, ...)                                                              \
	do {                                                                                       \
		long long r_ = (long long)(expr);                                                  \
		t_err(r_, errno, (e1), (e2), __VA_ARGS__);                                         \
	} while (0)

#define CHECK_EQ(got, want, ...) t_eq((long long)(got), (long long)(want), __VA_ARGS__)

#define CHECK(cond, ...) t_true((cond), #cond, __VA_ARGS__)

#define CHECK_MODE(got, want, ...) t_mode((unsigned long)(got), (unsigned long)(want), __VA_ARGS__)

/* A pipe used to order steps between a parent and a child. */
struct gate {
	int fd[2];
};

struct names {
	char **v;
	unsigned char *type;
	ino_t *ino;
	size_t n, cap;
};

void __attribute__((format(printf, 1, 2))) note(const char *fmt, ...);
const char *ename(int e);
void __attribute__((format(printf, 3, 4))) t_ok(long long r, int e, const char *fmt, ...);
void __attribute__((format(printf, 5, 6)))
t_err(long long r, int e, int want1, int want2, const char *fmt, ...);
void __attribute__((format(printf, 3, 4)))
t_eq(long long got, long long want, const char *fmt, ...);
void __attribute__((format(printf, 3, 4)))
t_mode(unsigned long got, unsigned long want, const char *fmt, ...);
void __attribute__((format(printf, 3, 4)))
t_true(bool cond, const char *what, const char *fmt, ...);
void __attribute__((format(printf, 4, 5)))
t_mem(const void *got, const void *want, size_t len, const char *fmt, ...);
void __attribute__((format(printf, 3, 4)))
t_res(bool pass, const char *detail, const char *fmt, ...);
void die(const char *what);
void pat_fill(unsigned char *buf, size_t len, uint64_t s, uint64_t off);
void *xmalloc(size_t n);
ssize_t pwrite_all(int fd, const void *buf, size_t len, off_t off);
ssize_t pread_all(int fd, void *buf, size_t len, off_t off);
int mkfile(const char *path, mode_t mode, const void *data, size_t len);
int mkfile_str(const char *path, const char *s);
int create_rw(const char *path);
void mkfile_owned(const char *path, uid_t uid, gid_t gid, mode_t mode, const char *why);
ssize_t slurp(const char *path, char *buf, size_t cap);
void check_content(const char *path, const char *want, const char *what);
bool check_pattern(int fd, off_t off, size_t len, uint64_t s, const char *what);
long long fsize(const char *path);
ino_t ino_of(const char *path);
nlink_t nlink_of(const char *path);
mode_t mode_of(const char *path);
bool exists(const char *path);
long long ts_ns(struct timespec ts);
long long now_ns(void);
void nap(void);
void msleep(int ms);
pid_t child_as(uid_t uid, gid_t gid, const gid_t *groups, int ngroups);
pid_t child_u(uid_t uid);
void wait_child(pid_t pid, const char *what);
void gate_init(struct gate *g);
void gate_open(struct gate *g);
bool gate_wait(struct gate *g);
void gate_close(struct gate *g);
void make_name(char *buf, size_t len, char c);
void g_lookup(void);
void g_create_open(void);
void g_append(void);
void g_mkdir_rmdir(void);
void g_nlink_dirs(void);
void g_chmod_chown(void);
void g_suid_clear(void);
void g_truncate(void);
void g_times(void);
void g_mknod(void);
void g_socket(void);
void g_symlink(void);
void g_link(void);
void g_unlink_open(void);
void g_rename(void);
void g_renameat2(void);
void names_free(struct names *l);
size_t names_count(const struct names *l, const char *s);
int read_dir(const char *path, struct names *out);
void g_readdir(void);
void g_readdir_mutation(void);
void g_data(void);
void g_bigfile(void);
void g_fallocate(void);
void g_seek_data(void);
void g_statfs(void);
void g_sync(void);
void g_mmap(void);
void g_xattr(void);
void g_flock(void);
void g_fcntl_lock(void);
void g_ownership(void);
void g_perms(void);
void g_sticky(void);
void g_names(void);
void g_enospc(void);

#endif
