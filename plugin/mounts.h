/*
 * flockerfs — this host's flockerfs mounts and the Docker mount IDs that use
 * them.  Shared by the standalone agent (plugin/agent_local.c) and cluster mode.
 *
 * A volume is mounted at <mount_root>/<uuid> by running mount.flockerfs; the
 * IDs using it form a set persisted in <state_dir>/mounts/<name>.json
 * (written to a temporary file, fsynced, renamed, directory fsynced), so an
 * agent restart keeps it.  The first ID mounts, the last one flushes,
 * unmounts and waits for the daemon to exit, which frees the volume's RADOS
 * writer lock.  Nothing here unmounts on its own: mounts outlive the agent,
 * and fl_mounts_open adopts the ones it finds.
 *
 * Every int function returns 0 or a negative errno and, on failure, writes
 * one line into err saying what happened and what to do.  All are safe to
 * call from several threads; calls for one volume run one at a time.
 */
#ifndef FLOCKER_MOUNTS_H
#define FLOCKER_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>

/* Longest a mount.flockerfs run may take before it is killed. */
#define FL_MOUNTS_HELPER_TIMEOUT_S 40
/* Cluster connect timeout handed to mount.flockerfs (its timeout= option). */
#define FL_MOUNTS_CONNECT_TIMEOUT_S 20
/* Longest wait for a daemon to write its last changes and exit after umount. */
#define FL_MOUNTS_EXIT_WAIT_S 40
/* Longest Docker mount ID kept. */
#define FL_MOUNTS_ID_MAX 128

struct fl_mounts;

/* Strings are copied. */
struct fl_mounts_config {
	const char *state_dir;	  /* required */
	const char *mount_root;	  /* required */
	const char *mount_helper; /* path of mount.flockerfs; required */
	const char *ceph_conf;	  /* handed to mount.flockerfs as conf=, id=, pool= (NULL: not) */
	const char *id;
	const char *pool;
	const char *host; /* this host's name, as mount.flockerfs writes it into locks */
	unsigned lease_s; /* handed to mount.flockerfs as lease= (0: not, its default) */
	/* The pool, to check that a mount found here still holds its volume's writer
	 * lock (NULL, or a NULL answer: not checked).  Called from any thread. */
	struct fl_store *(*store)(void *arg);
	void *store_arg;
	/* Seconds between health checks of every mount (fl_mounts_check) by a thread of
	 * its own; 0: none. */
	unsigned check_s;
};

/* Creates the directories, loads the persisted sets and adopts the flockerfs
 * mounts under mount_root.  A mount whose daemon is gone, or was fenced (it
 * says it lost its writer lock, or the lock is no longer its own), is not
 * adopted: it is detached and its users forgotten, and the log says so; the
 * same holds for such a mount found by fl_mounts_acquire, which then mounts
 * the volume afresh.  *out is the caller's: fl_mounts_free. */
int fl_mounts_open(const struct fl_mounts_config *c, struct fl_mounts **out, char *err,
		   size_t errlen);
/* Frees the table; never unmounts.  No call may be running. */
void fl_mounts_free(struct fl_mounts *m);

/*
 * Adds id to the users of volume name and gives its mount point.  Mounts it
 * first when nobody uses it here: uuid must then be the volume's uuid (NULL
 * gives -EAGAIN, so that a caller can look it up only when needed).  -EBUSY
 * when another host holds the volume (err names it).
 */
int fl_mounts_acquire(struct fl_mounts *m, const char *name, const char *uuid, const char *id,
		      char *path, size_t pathlen, char *err, size_t errlen);
/* Drops id; the last user flushes and unmounts.  An unknown id is not an error. */
int fl_mounts_release(struct fl_mounts *m, const char *name, const char *id, char *err,
		      size_t errlen);
/* 1 with the mount point and user count when name is mounted here, else 0. */
int fl_mounts_lookup(struct fl_mounts *m, const char *name, char *path, size_t pathlen,
		     unsigned *users);
/* Unmounts name if it is mounted here with no user; -EBUSY when it has users. */
int fl_mounts_drop_unused(struct fl_mounts *m, const char *name, char *err, size_t errlen);

/*
 * Health: checks the mounts (only name's, if not NULL) without RADOS and
 * without touching a live mount: a mount is dead when it left the mount
 * table, its daemon is gone (its mount point answers ENOTCONN), or its
 * daemon says it was fenced.  A mount found dead is logged once, with its
 * users; it stays in the table (its containers still hold it) until its last
 * user goes, and the next fl_mounts_acquire mounts the volume afresh.
 * Returns how many are dead.
 */
int fl_mounts_check(struct fl_mounts *m, const char *name);
/* 1 with why filled when the last check found name's mount dead, else 0. */
int fl_mounts_dead(struct fl_mounts *m, const char *name, char *why, size_t whylen);

/* The id rule: 1..FL_MOUNTS_ID_MAX printable ASCII characters, no space or '/'. */
bool fl_mounts_id_valid(const char *id);

#endif
