/*
 * flockerfs — flocker-control's registry: datasets, leases, the trash and
 * nodes, kept in RADOS (never in a local file), so a restarted or standby
 * control service continues where the last one stopped.
 *
 * Layout, pool "flocker" (--pool), namespace "flocker":
 *
 *   volumes     the filesystem's own registry (fs/volume/volume.h): name -> {uuid, created,
 *               size_limit}.  It alone says which volumes exist; a dataset is a volume
 *               and its dataset_id is the volume's uuid.
 *   ctl.config  omap, the whole configuration in ONE object so that one compound
 *               write covers a change and its configuration tag:
 *                 "tag"          decimal counter, bumped by every change (the API's
 *                                X-Configuration-Tag); never empty
 *                 "ds.<uuid>"    dataset extras: name, primary node, maximum_size,
 *                                metadata (JSON), created
 *                 "lease.<uuid>" who may mount the volume read-write: node uuid and
 *                                name, since, expires (0: none), kind (agent/operator)
 *                 "trash.<uuid>" a removed volume: its registry record and name,
 *                                removed, purge_at, metadata, restoring flag
 *               Every write compares "tag" with the value this process last saw
 *               (rados omap_cmp): a write from a control service that lost its
 *               leadership fails with -ECANCELED and changes nothing.  A new leader
 *               bumps the tag when it loads the state.
 *   ctl.nodes   omap node uuid -> {name, first_seen, last_seen, addr}
 *   ctl.leader  the leader's exclusive lock (cluster/control/control_main.c)
 *
 * Values are msgpack maps with small integer keys, key 0 the version (as the
 * filesystem's records), decoded by the bounded decoder of proto.h.
 *
 * Removing a volume is two steps: the configuration moves it to the trash
 * (one guarded write), then its name leaves the registry (guarded by the
 * registry value).  Restoring: mark the trash entry "restoring", put the name
 * back (guarded: the name must be free), then drop the trash entry.  Loading
 * the state finishes or rolls back a step a crash interrupted.  The trash is
 * keyed by uuid, so a name is free again at once.
 *
 * Not thread safe: one event loop owns it.  Every int function returns 0 or
 * a negative errno and, where it takes err, writes one line there.
 * Pointers returned by lookups are valid until the next mutation or reload.
 */
#ifndef FLOCKER_CTL_STATE_H
#define FLOCKER_CTL_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flocker/record.h"
#include "flocker/store.h"

#define FL_CTL_NS	  "flocker"
#define FL_CTL_CONFIG_OID "ctl.config"
#define FL_CTL_NODES_OID  "ctl.nodes"
#define FL_CTL_LEADER_OID "ctl.leader"
#define FL_CTL_META_MAX	  8192 /* metadata JSON text */
#define FL_TRASH_TTL_S	  (7 * 86400)

enum fl_lease_kind {
	FL_LEASE_AGENT = 1,    /* taken by a node's agent to mount the volume */
	FL_LEASE_OPERATOR = 2, /* set through the API (pins a dataset to a node) */
};

struct fl_ds {
	char uuid[37];
	char name[FL_VOLNAME_MAX + 1];
	char primary[37]; /* node uuid, "" for none */
	uint64_t maximum_size;
	int64_t created;
	char *metadata; /* JSON object text, owned; NULL for {} */
};

struct fl_lease {
	char uuid[37]; /* the dataset */
	char node[37]; /* node uuid */
	char node_name[64];
	int64_t since;
	int64_t expires; /* unix seconds; 0: no expiry */
	uint32_t kind;	 /* enum fl_lease_kind */
};

struct fl_trash {
	char uuid[37];
	char name[FL_VOLNAME_MAX + 1];
	struct fl_volreg_rec reg; /* as the registry held it */
	int64_t removed, purge_at;
	char *metadata; /* owned, may be NULL */
	bool restoring;
};

struct fl_node_rec {
	char uuid[37];
	char name[64];
	int64_t first_seen, last_seen;
	char addr[64]; /* peer address of its last connection */
	char host[64]; /* the agent's host name, as lock cookies carry it */
};

struct fl_state;

/*
 * Loads (or creates) the configuration from pool (any namespace: clones are
 * made), bumps the tag to claim it and repairs interrupted removals and
 * restores.  ns: the namespace of the ctl.* objects (NULL: FL_CTL_NS; tests
 * give each control service its own); the volume registry is always in
 * FL_REG_NS.  trash_ttl_s 0: FL_TRASH_TTL_S.  pool is borrowed and must
 * outlive the state.
 */
int fl_state_open(struct fl_store *pool, const char *ns, uint64_t trash_ttl_s,
		  struct fl_state **out, char *err, size_t errlen);
void fl_state_free(struct fl_state *s);
/* True once a guarded write found another writer: this process must stop serving. */
bool fl_state_fenced(const struct fl_state *s);
uint64_t fl_state_tag(const struct fl_state *s);
struct fl_store *fl_state_pool(struct fl_state *s);

/* --- lookups in the cached configuration --- */
const struct fl_ds *fl_state_ds(const struct fl_state *s, const char *uuid);
const struct fl_lease *fl_state_lease(const struct fl_state *s, const char *uuid);
const struct fl_trash *fl_state_trash(const struct fl_state *s, const char *uuid);
const struct fl_node_rec *fl_state_node(const struct fl_state *s, const char *uuid);
const struct fl_node_rec *fl_state_node_by_name(const struct fl_state *s, const char *name);
/* i-th entry, NULL past the end (order unspecified). */
const struct fl_lease *fl_state_lease_at(const struct fl_state *s, size_t i);
const struct fl_trash *fl_state_trash_at(const struct fl_state *s, size_t i);
const struct fl_node_rec *fl_state_node_at(const struct fl_state *s, size_t i);

/* --- the filesystem's registry, read from RADOS on every call ---
 * fl_state_volumes and fl_state_volume_by_name read RADOS only (never the
 * cache): they may run on a worker thread. */
typedef int (*fl_state_vol_cb)(void *arg, const char *name, const struct fl_volreg_rec *r);
int fl_state_volumes(struct fl_state *s, fl_state_vol_cb cb, void *arg);
/* -ENOENT when absent. */
int fl_state_volume_by_name(struct fl_state *s, const char *name, struct fl_volreg_rec *r);
/* name receives FL_VOLNAME_MAX + 1 bytes; -ENOENT when absent. */
int fl_state_volume_by_uuid(struct fl_state *s, const char *uuid, char *name,
			    struct fl_volreg_rec *r);

/*
 * --- changes: each one guarded write of ctl.config ---
 * expect_tag 0: no condition; otherwise -ESTALE unless it equals the tag.
 * -ECANCELED: another writer changed the configuration (fl_state_fenced).
 */

/* Creates the volume (fs/volume/volume.h) and its dataset record; out may be NULL. */
int fl_state_ds_create(struct fl_state *s, const char *name, uint64_t maximum_size,
		       const char *metadata, const char *primary, uint64_t expect_tag,
		       struct fl_ds *out, char *err, size_t errlen);
/*
 * The same in steps, so the RADOS work of a volume can run off the loop:
 * fl_state_ds_check (tag, fencing, metadata size) on the loop, then the volume
 * made on a worker (fl_volume_create, fl_volume_clone: only the pool), then
 * fl_state_ds_add on the loop writes the dataset record of the volume r.
 */
int fl_state_ds_check(struct fl_state *s, const char *name, const char *metadata,
		      uint64_t expect_tag, char *err, size_t errlen);
int fl_state_ds_add(struct fl_state *s, const char *name, const struct fl_volreg_rec *r,
		    uint64_t maximum_size, const char *metadata, const char *primary,
		    struct fl_ds *out, char *err, size_t errlen);
/* Moves a volume to the trash (its lease goes too).  -EBUSY while a writer holds it. */
int fl_state_ds_remove(struct fl_state *s, const char *uuid, uint64_t expect_tag, char *err,
		       size_t errlen);
/* The same in two steps: fl_state_writer_check (thread safe: only the pool; -EBUSY
 * naming the writer that holds volume name) on a worker, then fl_state_ds_trash. */
int fl_state_writer_check(struct fl_store *pool, const char *name, char *err, size_t errlen);
int fl_state_ds_trash(struct fl_state *s, const char *uuid, uint64_t expect_tag, char *err,
		      size_t errlen);
/* Puts a trashed volume back under its name, or new_name; -EEXIST if the name is taken. */
int fl_state_ds_restore(struct fl_state *s, const char *uuid, const char *new_name,
			uint64_t expect_tag, char *err, size_t errlen);
/* Sets the dataset's primary node (and writes its record if it had none). */
int fl_state_ds_set_primary(struct fl_state *s, const char *uuid, const char *name,
			    const char *primary, uint64_t expect_tag, char *err, size_t errlen);
/*
 * Sets the lease of l->uuid to l, if the current lease still equals old
 * (NULL: there must be none): -EAGAIN otherwise.  With set_primary the
 * dataset's primary becomes l->node in the same write.
 */
int fl_state_lease_put(struct fl_state *s, const struct fl_lease *l, const struct fl_lease *old,
		       bool set_primary, uint64_t expect_tag, char *err, size_t errlen);
/* Drops the lease of uuid if it still equals old (NULL: whatever it is). */
int fl_state_lease_del(struct fl_state *s, const char *uuid, const struct fl_lease *old,
		       uint64_t expect_tag, char *err, size_t errlen);
/* Drops every expired operator lease; returns how many, or a negative errno. */
int fl_state_expire_leases(struct fl_state *s, int64_t now);
/* Deletes the objects of trash entries past purge_at; returns how many, or a negative errno. */
int fl_state_purge(struct fl_state *s, int64_t now);
/*
 * The same in three steps, so the deletes can run off the loop:
 * fl_state_purge_next picks one trash entry due (1, uuid and name filled; 0
 * none, or one is being purged) and refuses its restore until
 * fl_state_purge_done; fl_state_purge_objects (thread safe: only the pool)
 * deletes its objects; fl_state_purge_done(result: what that returned) drops
 * the trash entry when result is 0, and returns result or the write's error.
 */
int fl_state_purge_next(struct fl_state *s, int64_t now, char *uuid, char *name);
int fl_state_purge_objects(struct fl_store *pool, const char *uuid);
int fl_state_purge_done(struct fl_state *s, const char *uuid, int result);

/* Records a node's connection (ctl.nodes; not part of the configuration tag). */
int fl_state_node_seen(struct fl_state *s, const char *uuid, const char *name, const char *addr,
		       const char *host, int64_t now);

/*
 * --- off the event loop ---
 * The state may hand its blocking RADOS writes to the control's worker
 * threads: submit(arg, j) queues a job (struct fl_job, ctl_server.h) whose
 * work() runs on a worker and whose done() runs back on the loop.  Without a
 * runner (NULL: tests, a stopping control) the job runs inline.
 */
struct fl_job;
typedef void (*fl_state_submit)(void *arg, struct fl_job *j);
void fl_state_set_runner(struct fl_state *s, fl_state_submit submit, void *arg);

/*
 * fl_state_node_seen without waiting on the loop: the cached record changes
 * at once, its write runs on a worker, and done(arg, 0 or -errno) runs on the
 * loop once a write that carries this change is in RADOS (done may be NULL;
 * -ESHUTDOWN when the control stopped first).  Ordering: the writes of one
 * node's record never overlap and go out in the order of the calls (a write
 * in flight is followed by one more carrying every later change), so
 * ctl.nodes never ends up with an older record than the cache; writes of
 * different nodes run in parallel.
 */
typedef void (*fl_state_done)(void *arg, int err);
void fl_state_node_seen_async(struct fl_state *s, const char *uuid, const char *name,
			      const char *addr, const char *host, int64_t now, fl_state_done done,
			      void *arg);

/*
 * Lease changes without waiting on the loop: the write goes out on a worker
 * and done(arg, 0 or -errno, msg) runs on the loop once the cache follows it
 * (msg says why it failed; -EAGAIN as fl_state_lease_put; -ESHUTDOWN when the
 * control stopped first).  Guarded writes go out one at a time in the order
 * asked, each checked against the state all earlier ones left, when it goes
 * out; the synchronous changes above wait for the one on a worker first.
 * fl_state_lease_release_async drops the lease only if it is still node's
 * agent lease then (done gets 0 when there is nothing of node's to drop).
 */
typedef void (*fl_state_wdone)(void *arg, int err, const char *msg);
void fl_state_lease_put_async(struct fl_state *s, const struct fl_lease *l,
			      const struct fl_lease *old, bool set_primary, uint64_t expect_tag,
			      fl_state_wdone done, void *arg);
void fl_state_lease_release_async(struct fl_state *s, const char *uuid, const char *node,
				  fl_state_wdone done, void *arg);

/* Whole-record codecs (exposed for tests). */
void fl_ds_clear(struct fl_ds *d);
void fl_trash_clear(struct fl_trash *t);
bool fl_lease_equal(const struct fl_lease *a, const struct fl_lease *b);

#endif
