/*
 * flockerfs — what the files of test_core share: the in-memory store, mounting
 * and checking a volume (test_core.c), and the tests by module: the core's
 * namespace and locking (test_core.c), data (test_data.c), the journal
 * (test_journal.c), volumes and fsck (test_volume.c).
 */
#ifndef FLOCKER_TESTS_TEST_CORE_H
#define FLOCKER_TESTS_TEST_CORE_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <linux/fs.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs/core/core.h"
#include "flocker/log.h"
#include "flocker/record.h"
#include "flocker/store.h"
#include "fs/volume/fsck.h"
#include "fs/volume/volume.h"

#define CHECK_SHARED_COUNT /* one count for the files of test_core */
#include "unit_check.h"

#define EQ(a, b)                                                                                   \
	CHECK((long long)(a) == (long long)(b), "got %lld, want %lld", (long long)(a),             \
	      (long long)(b))

#define check_fsck(name, want) check_fsck_at(name, want, __LINE__)

struct rd {
	int n;
	char names[64][32];
	uint64_t offs[64];
};

extern struct fl_store *base;
extern const struct fl_cred root_cred;
struct fl_core *mount_vol_opts(const char *name, struct fl_volume **vp,
			       const struct fl_core_opts *o);
struct fl_core *mount_vol_ms(const char *name, struct fl_volume **vp, bool ro, unsigned commit_ms);
struct fl_core *mount_vol(const char *name, struct fl_volume **vp, bool ro);
void umount_vol(struct fl_core *c, struct fl_volume *v);
void check_fsck_at(const char *name, uint64_t want_damage, int line);
void check_empty(const char *name);
void unlink_forget(struct fl_core *c, const char *name, uint64_t ino, bool open);
void remount_unlink_check_empty(const char *vol, const char *name, uint64_t ino);
uint64_t lookup(struct fl_core *c, uint64_t parent, const char *name);
void test_data(void);
void test_crash_replay(void);
void test_size_after_overlapping_flush(void);
unsigned vol_objects(const char *name);
void test_sparse_cost(void);
void test_scattered_cost(void);
void test_writeback_big_records(void);
void test_max_size(void);
void test_limit_sparse(void);
void test_map_after_crash(void);
void test_purge_rounds(void);
void test_purge_batches(void);
void test_grow_then_crash(void);
void test_fsck_readonly(void);
void test_werr(void);
void test_small_file_memory(void);
void test_dirty_max_is_memory(void);
void test_volumes(void);
void test_expired_lease_fences(void);
void test_readahead(void);
void test_fdatasync_data_only(void);

#endif
