/*
 * flockerfs — the host agent's volume operations, as the Docker plugin
 * (plugin/docker.c) uses them.
 *
 * Two implementations sit behind this one interface:
 *   plugin/agent_local.c   standalone: straight on RADOS; the volume's RADOS writer
 *                    lock is the only lease (one host at a time, refusals name
 *                    the holder).  Used when the agent runs without --control.
 *   plugin/agent_cluster.c   cluster mode: leases granted by flocker-control over TLS
 *                    (moves from idle hosts, fencing of dead ones).
 *
 * Every function returns 0 or a negative errno and, on failure, writes one
 * line into err saying what happened and what to do (Docker shows it to the
 * user as is).  All are safe to call from several threads.  No call blocks
 * longer than FL_AGENT_CALL_TIMEOUT_S seconds.
 */
#ifndef FLOCKER_AGENT_H
#define FLOCKER_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FL_AGENT_CALL_TIMEOUT_S 60

struct fl_agent;

struct fl_agent_volume {
	char name[129];
	char uuid[37];
	uint64_t size_limit; /* 0: unlimited */
	uint64_t bytes_used;
	int64_t created;      /* unix seconds */
	char holder[128];     /* node (host) holding it read-write, "" if none */
	char mountpoint[256]; /* where it is mounted on this host, "" if not */
	char mount_dead[256]; /* why that mount is dead (plugin/mounts.h), "" if it serves */
	char parent[260];     /* a clone: "volume@snapshot" it reads from, else "" */
	bool has_snapshots;   /* snapshots is known (standalone agent) */
	unsigned snapshots;   /* how many snapshots the volume has */
};

/* Creates a volume.  opts are Docker's -o key=value pairs ("size"; "from" VOL[@SNAP]
 * makes a clone, standalone only): an unknown key is -EINVAL with a message naming it. */
int fl_agent_create(struct fl_agent *a, const char *name, const char *const *keys,
		    const char *const *vals, size_t nopts, char *err, size_t errlen);
/* Moves a volume to the trash (restorable); -EBUSY while any host uses it. */
int fl_agent_remove(struct fl_agent *a, const char *name, char *err, size_t errlen);
/*
 * Mounts the volume on this host for the caller id (Docker's Mount ID) and
 * returns the mount point (/run/flocker/mounts/<uuid> by default).  Mounts are
 * counted by id as a persisted set: the first id mounts, later ones share it.
 */
int fl_agent_mount(struct fl_agent *a, const char *name, const char *id, char *path, size_t pathlen,
		   char *err, size_t errlen);
/* Drops id from the set; the last one flushes, unmounts and releases the lease. */
int fl_agent_unmount(struct fl_agent *a, const char *name, const char *id, char *err,
		     size_t errlen);
/* Status of one volume; -ENOENT with a message if it does not exist. */
int fl_agent_get(struct fl_agent *a, const char *name, struct fl_agent_volume *out, char *err,
		 size_t errlen);
/* Every volume of the cluster; cb returns non-zero to stop. */
int fl_agent_list(struct fl_agent *a, int (*cb)(void *arg, const struct fl_agent_volume *v),
		  void *arg, char *err, size_t errlen);

#endif
