/*
 * flockerfs — the in-memory store's private parts, shared by store_mem.c
 * (objects, omaps, locks, batches), mem_tree.c (the trees) and
 * store_mem_snap.c (self-managed snapshots).
 */
#ifndef FLOCKER_STORE_MEM_PRIV_H
#define FLOCKER_STORE_MEM_PRIV_H

#include "flocker/buf.h"
#include "flocker/store.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* --- a treap keyed by C string, for namespaces, objects and omaps (mem_tree.c) --- */

struct tnode {
	char *key;
	void *val; /* omap: value bytes; objects: struct mobj * */
	size_t len;
	uint32_t prio;
	struct tnode *l, *r;
};

struct tnode *t_find(struct tnode *t, const char *key);
/* The first node with a key strictly after key. */
struct tnode *t_after(struct tnode *t, const char *key);
struct tnode *t_insert(struct tnode *t, struct tnode *n);
struct tnode *t_merge(struct tnode *a, struct tnode *b);
/* Unlinks key's node into *out (NULL when absent); returns the new root. */
struct tnode *t_remove(struct tnode *t, const char *key, struct tnode **out);
/* Frees the tree; values with freeval, or free() when NULL. */
void t_free(struct tnode *t, void (*freeval)(void *));

/* --- the shared state --- */

struct mlocker {
	struct mlocker *next;
	char *client; /* "client.4101" */
	char *cookie;
	char *addr;
	char *desc;
	struct timespec expire; /* CLOCK_MONOTONIC; 0: never */
};

struct mlock {
	struct mlock *next;
	char *name;
	struct mlocker *lockers;
};

struct mobj {
	unsigned char *data;
	uint64_t size;
	size_t cap;
	struct tnode *omap;
	struct mlock *locks;
};

struct mblock {
	struct mblock *next;
	char *addr; /* normalized: "ip:port/nonce" */
	struct timespec expire;
};

struct mem_shared {
	pthread_mutex_t mu;
	unsigned refs;	       /* handles alive; protected by mu */
	struct tnode *nss;     /* namespace name -> struct tnode * (its objects) */
	struct mblock *blocks; /* blocklist */
	int inject_err;	       /* negative errno */
	int inject_n;
	char inject_prefix[64];	 /* only batch ops on objects named so fail ("": every op) */
	uint64_t ops;		 /* ops entered, as fault injection counts them */
	unsigned batch_delay_us; /* each batch waits this long before it runs */
	char *hold_prefix;	 /* omap_list of objects named so waits (fl_mem_hold_omap_list) */
	unsigned held;		 /* omap_lists waiting there now */
	pthread_cond_t hold_cond;
	uint32_t rng;
	uint32_t next_gid;
	/* snapshots (store_mem_snap.c) */
	struct tnode *snss;	/* namespace -> struct tnode * (oid -> struct msnapset *) */
	uint64_t snap_next;	/* the next snapshot id (pool-wide) */
	uint64_t *snap_removed; /* ids removed, unsorted */
	size_t nsnap_removed;
};

/* A write context: immutable once made, shared by a handle and its batch ops. */
struct msnapc {
	unsigned refs; /* protected by the store mutex */
	uint64_t seq;
	size_t n;
	uint64_t snaps[]; /* newest first */
};

struct mem_store {
	struct fl_store base;
	struct mem_shared *sh;
	char *ns;
	char client[32];
	char addr[80];
	char norm_addr[64];  /* addr without its "v1:" type, as blocklists compare */
	struct msnapc *wctx; /* NULL: no snapshot context */
	uint64_t read_snap;  /* FL_SNAP_HEAD: live */
};

/* store_mem.c, for store_mem_snap.c (all with the store mutex held) */
uint32_t sh_rand(struct mem_shared *sh);
struct tnode *tnode_new(struct mem_shared *sh, const char *key, void *val, size_t len);
/* A new zeroed value of size bytes under key in the tree of namespace node ns;
 * NULL on ENOMEM. */
void *tnode_add_new(struct mem_shared *sh, struct tnode *ns, const char *key, size_t size);
struct tnode *ns_node(struct mem_shared *sh, const char *ns, bool create);
struct mobj *obj_find(struct mem_store *ms, const char *oid);
void obj_delete(struct mem_store *ms, const char *oid);
void mobj_free(void *p);
int obj_reserve(struct mobj *o, uint64_t size);
int mem_enter(struct mem_store *ms);
int mem_enter_oid(struct mem_store *ms, const char *oid);
void mem_leave(struct mem_store *ms);

/* store_mem.c, for store_mem_batch.c */
struct mobj *obj_get(struct mem_store *ms, const char *oid, bool create);
int check_extent(uint64_t off, uint64_t len);
int do_write(struct mem_store *ms, const char *oid, uint64_t off, const void *buf, size_t len);
ssize_t do_read(struct mem_store *ms, const char *oid, uint64_t off, size_t len, void *buf);
int do_truncate(struct mem_store *ms, const char *oid, uint64_t size);
void do_zero(struct mem_store *ms, const char *oid, uint64_t off, uint64_t len);
/* store_mem_batch.c */
struct fl_batch *mem_batch_new(struct fl_store *st);

/* --- snapshots (store_mem_snap.c) --- */

/* The object as a read of this handle sees it: the head, or at its read snapshot. */
struct mobj *msnap_view(struct mem_store *ms, const char *oid);
/* Before a write-class op on oid under ctx: -EROFS on a snapshot handle; else saves
 * the head as a clone when ctx is newer than the object's last one.  0 or -errno. */
int msnap_before_write(struct mem_store *ms, const char *oid, const struct msnapc *ctx);
/* Appends to names the oids with prefix (NULL: all) whose head is removed but
 * whose clones remain: RADOS lists them with the heads. */
int msnap_list_removed(struct mem_store *ms, const char *prefix, struct fl_strv *names);
/* Takes a reference (NULL stays NULL) / drops one. */
struct msnapc *msnapc_get(struct msnapc *c);
void msnapc_put(struct msnapc *c);
/* Frees the snapshot state of the shared store. */
void msnap_free_shared(struct mem_shared *sh);

int mem_snap_create(struct fl_store *st, uint64_t *snapid);
int mem_snap_remove(struct fl_store *st, uint64_t snapid);
int mem_set_write_ctx(struct fl_store *st, uint64_t seq, const uint64_t *snaps, size_t n);
int mem_set_read_snap(struct fl_store *st, uint64_t snapid);
int mem_snap_rollback(struct fl_store *st, const char *oid, uint64_t snapid);

#endif
