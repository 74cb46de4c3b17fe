/*
 * flockerfs — the storage contract (include/flocker/store.h) as one set of
 * checks, run against the in-memory store (tests/unit/test_store_mem.c) and
 * against real RADOS (tests/integration/test_store_rados.c), so both agree.
 *
 * Each function prints every failed check as "file:line: ..." on stderr and
 * returns the number of failures.
 */
#ifndef FLOCKER_TEST_STORE_CONFORMANCE_H
#define FLOCKER_TEST_STORE_CONFORMANCE_H

#include <stdbool.h>
#include <stddef.h>

#include "flocker/store.h"

/*
 * Every op of the contract.  st and peer are two different clients (for
 * RADOS two connections; for the mem store two clones) bound to the same
 * namespace ns, which should be empty; ns is also used to derive the name of
 * a second namespace ("<ns>.iso").  Removes the objects it made.
 */
int store_conformance(struct fl_store *st, struct fl_store *peer, const char *ns);

/*
 * Fencing: fencer blocklists victim's self_addr; victim's ops must then fail
 * with -ESHUTDOWN (Ceph's EBLOCKLISTED).  victim is useless afterwards (with
 * RADOS, so is every handle on its connection); both must share a namespace.
 */
int store_conformance_fence(struct fl_store *victim, struct fl_store *fencer);

/*
 * Self-managed snapshots: data, omap and locks (xattrs) at a snapshot, reads at
 * it, -EROFS for writes there, rollback (an object made after the snapshot is
 * removed, one removed after it comes back), a write with an old context saves
 * nothing.  st is bound to namespace ns, which should be empty.
 */
int store_conformance_snap(struct fl_store *st, const char *ns);

/* Removes every object in st's namespace: 0 or a negative errno. */
int store_clean_ns(struct fl_store *st);

/* The first 64 object names a listing gave, for list_objects: names_cb
 * collects them (and stops the listing with 9 after stop_after when that is
 * not 0), names_has looks one up. */
struct names {
	size_t n;
	char list[64][64];
	int stop_after;
};

int names_cb(void *arg, const char *oid);
bool names_has(const struct names *nm, const char *oid);

#endif
