/*
 * flockerfs — volumes: the registry, superblock and writer lock.
 *
 * A volume is a RADOS namespace "vol.<uuid>" in the pool; the registry maps
 * names to uuids (namespace "flocker", object "volumes", omap).  All
 * functions return 0 or a negative errno and, on failure, write one line
 * (git style) into err.
 */
#ifndef FLOCKER_VOLUME_H
#define FLOCKER_VOLUME_H

#include <stdbool.h>
#include <stdint.h>

#include "flocker/record.h"
#include "flocker/store.h"

#define FL_DEFAULT_BLOCK_SIZE (4u << 20)
#define FL_DEFAULT_LEASE_S    15
#define FL_ITAB_SHARD_BITS    10

/* A request to the writer (fl_volume_request); answered with fl_volume_answer. */
typedef void (*fl_volume_req_cb)(void *arg, uint64_t notify_id, const char *req, size_t len);

struct fl_volume {
	struct fl_store *st;	   /* volume namespace; owned */
	struct fl_super_rec super; /* as read at open, updated by the core */
	char cookie[160];	   /* our lock cookie while we hold the writer lock */
	bool locked;
	unsigned lease_s;
	bool watching;		 /* fl_volume_watch: answering probes */
	bool watch_lost;	 /* the watch broke and watching again failed: retry */
	uint64_t watch;		 /* its store handle */
	int64_t renewed_ms;	 /* monotonic ms of the last lock or renewal; atomic */
	fl_volume_req_cb req_cb; /* fl_volume_serve; atomic */
	void *req_arg;
};

/* A parsed lock cookie "host|pid|since|addr" of a writer. */
struct fl_holder {
	char host[64];
	long pid;
	int64_t since;
	char addr[128];
	char client[64];
	char cookie[160]; /* raw, as the lock holds it */
};

int fl_volume_create(struct fl_store *base, const char *name, uint64_t size_limit,
		     uint32_t block_size, char *err, size_t errlen);
/* The handle on the volume registry's namespace (FL_REG_NS) of base's pool,
 * to close: 0, or -ENOMEM with *reg NULL. */
int fl_reg_open(struct fl_store *base, struct fl_store **reg);
/* The handle on the namespace of the volume of that uuid, to close: 0, or
 * -ENOMEM with *st NULL. */
int fl_volns_open(struct fl_store *base, const char *uuid, struct fl_store **st);
/* Reads the whole record object oid (at most FL_REC_MAX bytes) into a new
 * buffer *buf (free it): its length, or a negative errno (-ENOENT: no object). */
ssize_t fl_rec_read(struct fl_store *st, const char *oid, char **buf);
/* Reads and decodes the superblock of the volume whose namespace st is: 0, -EIO
 * when it is malformed, or the store's error. */
int fl_volume_read_super(struct fl_store *st, struct fl_super_rec *s);
struct fl_buf;
/* Registers name -> r in the volume registry (reg: its namespace's handle) only while
 * name is free; -EEXIST with err set when another creation took it first.  b is
 * scratch space for the record. */
int fl_volreg_claim(struct fl_store *reg, const char *name, const struct fl_volreg_rec *r,
		    struct fl_buf *b, char *err, size_t errlen);
/* The registry entry of name (reg: the registry namespace's handle): 0 and *r
 * filled, -ENOENT if no such volume, -EIO if it is malformed, or the store's
 * error. */
int fl_volreg_lookup(struct fl_store *reg, const char *name, struct fl_volreg_rec *r);
/* 0 when name is a valid volume name (fl_volname_valid), else -EINVAL with
 * err saying what a name may be. */
int fl_volname_check(const char *name, char *err, size_t errlen);
/* Opens a volume by name.  *out is owned by the caller: fl_volume_close. */
int fl_volume_open(struct fl_store *base, const char *name, struct fl_volume **out, char *err,
		   size_t errlen);
/* Releases the lock if held and frees v. */
void fl_volume_close(struct fl_volume *v);

/*
 * Takes the writer lock for lease_s seconds.  -EBUSY when another writer
 * holds it (err names it).  A holder on this host whose process is gone is
 * broken at once; with takeover, a holder on another host is fenced
 * (blocklisted) and broken.
 */
int fl_volume_lock(struct fl_volume *v, unsigned lease_s, bool takeover, char *err, size_t errlen);
int fl_volume_renew(struct fl_volume *v);
/* The current writer, if any: 1 and *h filled, 0 if none, or a negative errno. */
int fl_volume_holder(struct fl_volume *v, struct fl_holder *h);
/* Is h a writer on this host whose process is gone (it can change nothing more)? */
bool fl_volume_holder_gone(const struct fl_holder *h);
/* Before removing volume name: 1 when a writer holds v, with err "cannot
 * remove volume NAME: <how> host H (pid P) since T<hint>" (local time); 0
 * when none; or fl_volume_holder's negative errno (err untouched). */
int fl_volume_remove_held(struct fl_volume *v, const char *name, const char *how, const char *hint,
			  char *err, size_t errlen);

/*
 * Liveness of a writer, beyond its lock.  The writer (holding the lock)
 * watches the superblock object and answers every notify with its cookie and
 * the age of its last lock renewal; fl_volume_renew and fl_volume_rewatch
 * (a local check, cheap enough for every half second) watch again if the
 * watch broke.  fl_volume_probe asks the current writer h: 1 when it
 * answered within timeout_ms and renewed within its lease (why says how
 * long ago), 0 when it did not answer or stopped renewing, a negative errno
 * when it cannot be asked (-EOPNOTSUPP: no watches in this store).
 */
int fl_volume_watch(struct fl_volume *v);
int fl_volume_rewatch(struct fl_volume *v);
int fl_volume_probe(struct fl_volume *v, const struct fl_holder *h, unsigned timeout_ms, char *why,
		    size_t whylen);

/*
 * Requests to the writer, on the same watch: a notify whose payload starts
 * with "req " goes to the callback fl_volume_serve set (on a store thread
 * that must not wait for I/O: hand it to a thread of your own), which answers
 * it once with fl_volume_answer, from any thread.  fl_volume_request sends
 * one and waits up to timeout_ms: 1 and the answer (NUL-terminated, cut to
 * anscap) when the writer answered, 0 when nobody did, or a negative errno.
 */
void fl_volume_serve(struct fl_volume *v, fl_volume_req_cb cb, void *arg);
int fl_volume_answer(struct fl_volume *v, uint64_t notify_id, const void *buf, size_t len);
int fl_volume_request(struct fl_volume *v, const char *req, unsigned timeout_ms, char *ans,
		      size_t anscap);

/* Writes s as the superblock of the volume in st: 0 or a negative errno
 * (-EINVAL for a record the decoder would refuse). */
int fl_super_write(struct fl_store *st, const struct fl_super_rec *s);
/* Writes v->super: fl_super_write on v's store. */
int fl_volume_write_super(struct fl_volume *v);
/* Reads the superblock again into v->super (at the handle's read snapshot). */
int fl_volume_reload_super(struct fl_volume *v);
/* Removes a volume and all its objects; -EBUSY while someone holds it read-write. */
int fl_volume_remove(struct fl_store *base, const char *name, char *err, size_t errlen);

/* Changes the size limit; -EBUSY while mounted read-write. */
int fl_volume_resize(struct fl_store *base, const char *name, uint64_t size_limit, char *err,
		     size_t errlen);

typedef int (*fl_volume_list_cb)(void *arg, const char *name, const struct fl_volreg_rec *r);
int fl_volume_list(struct fl_store *base, fl_volume_list_cb cb, void *arg);

/* Parses a size like "10G", "512M", "4096" (binary units); 0 or -EINVAL. */
int fl_parse_size(const char *s, uint64_t *out);

#endif
