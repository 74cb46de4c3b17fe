/*
 * flockerfs — flocker-agent's configuration, and the implementation side of
 * plugin/agent.h.
 *
 * The Docker plugin (plugin/docker.c) calls the fl_agent_* functions of
 * agent.h.  They dispatch through the table every agent starts with
 * (plugin/agent_ops.c), so that one program holds both implementations:
 *
 *   fl_agent_local_open    plugin/agent_local.c: standalone, straight on RADOS
 *   fl_agent_cluster_open  plugin/agent_cluster.c: leases from flocker-control
 *
 * An implementation embeds struct fl_agent as its first member, fills ops,
 * and follows agent.h's rules for every entry: 0 or a negative errno, one
 * line in err on failure, safe from several threads, bounded in time.
 */
#ifndef FLOCKER_AGENT_CONFIG_H
#define FLOCKER_AGENT_CONFIG_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "plugin/agent.h"

#define FL_AGENT_DEFAULT_STATE_DIR  "/var/lib/flocker-agent"
#define FL_AGENT_DEFAULT_SOCKET	    "/run/docker/plugins/flocker.sock"
#define FL_AGENT_DEFAULT_MOUNT_ROOT "/run/flocker/mounts"
#define FL_AGENT_MOUNT_CHECK_S	    5 /* health check of this host's mounts (plugin/mounts.h) */

/* Every string is borrowed and must outlive the agent opened with it. */
struct fl_agent_config {
	const char *ceph_conf;	   /* -c: ceph.conf; NULL: $CEPH_CONF, then Ceph's defaults */
	const char *id;		   /* --id: cephx id without "client."; NULL: $CEPH_ARGS or admin */
	const char *pool;	   /* --pool; NULL: "flocker" */
	const char *node;	   /* --node: this host's name; NULL: the host name */
	const char *control;	   /* --control HOST[:PORT]; NULL: standalone */
	const char *certs_dir;	   /* --certs: node certificate, key and cluster CA */
	const char *state_dir;	   /* --state-dir: persisted mount users, logs */
	const char *plugin_socket; /* --plugin-socket: the Docker plugin's unix socket */
	const char *mount_root;	   /* --mount-root: volumes are mounted at <root>/<uuid> */
	const char *mount_helper;  /* --mount-helper; NULL: beside flocker-agent, then $PATH */
	unsigned lease_s;	   /* --lease: the writer lease of mounts; 0: mount.flockerfs's */
	unsigned trash_ttl_s;	   /* --trash-ttl (standalone): 0: FL_TRASH_TTL_S */
};

/* name is a valid volume name in remove, mount, unmount and get: agent_ops.c
 * checks it before it calls them. */
struct fl_agent_ops {
	int (*create)(struct fl_agent *a, const char *name, const char *const *keys,
		      const char *const *vals, size_t nopts, char *err, size_t errlen);
	int (*remove)(struct fl_agent *a, const char *name, char *err, size_t errlen);
	int (*mount)(struct fl_agent *a, const char *name, const char *id, char *path,
		     size_t pathlen, char *err, size_t errlen);
	int (*unmount)(struct fl_agent *a, const char *name, const char *id, char *err,
		       size_t errlen);
	int (*get)(struct fl_agent *a, const char *name, struct fl_agent_volume *out, char *err,
		   size_t errlen);
	int (*list)(struct fl_agent *a, int (*cb)(void *arg, const struct fl_agent_volume *v),
		    void *arg, char *err, size_t errlen);
	/* Frees the agent.  Never unmounts: mounts outlive the agent. */
	void (*close)(struct fl_agent *a);
};

struct fl_agent {
	const struct fl_agent_ops *ops;
};

/* Standalone agent.  *out is the caller's: fl_agent_close. */
int fl_agent_local_open(const struct fl_agent_config *cfg, struct fl_agent **out, char *err,
			size_t errlen);
/* Cluster agent (--control).  *out is the caller's: fl_agent_close. */
int fl_agent_cluster_open(const struct fl_agent_config *cfg, struct fl_agent **out, char *err,
			  size_t errlen);
/* NULL is a no-op. */
void fl_agent_close(struct fl_agent *a);

/* The -o options of a volume create (docker volume create -o KEY=VALUE). */
struct fl_agent_create_opts {
	uint64_t size;	  /* size=: the size limit, 0 unlimited */
	bool sized;	  /* size= was given */
	const char *from; /* from=VOL[@SNAP]: a clone (vals' string), or NULL */
};
/* For both implementations: checks name and reads the options into *o:
 * -EINVAL with err for an invalid name or size, an unknown option, or size
 * together with from. */
int fl_agent_create_opts(const char *name, const char *const *keys, const char *const *vals,
			 size_t nopts, struct fl_agent_create_opts *o, char *err, size_t errlen);

struct fl_mounts;
struct fl_mounts_config;
/* For both implementations: finds mount.flockerfs (cfg->mount_helper, else
 * beside this program, on $PATH, then in /usr/local/sbin, /usr/sbin, /sbin)
 * into helper, completes mc (its state_dir, mount_root, host and store set by
 * the caller) with the helper and cfg's Ceph options, lease and the health
 * check period, and opens this host's mounts table (plugin/mounts.h).  mc
 * borrows helper, which must outlive the call only. */
int fl_agent_mounts_open(const struct fl_agent_config *cfg, struct fl_mounts_config *mc,
			 char helper[PATH_MAX], struct fl_mounts **out, char *err, size_t errlen);

struct fl_store;
/*
 * For both implementations: the agent's RADOS connection, made on first use
 * and kept until fl_agent_rados_free.  After a failed connect, calls within
 * retry_s seconds fail at once (0: each call tries again).
 */
struct fl_agent_rados {
	char *conf, *id, *pool; /* the agent's copies of cfg's */
	unsigned timeout_s, retry_s;
	pthread_mutex_t lock; /* protects st, failed_at, why */
	struct fl_store *st;
	time_t failed_at; /* of the last failed connect, 0 none */
	char why[512];	  /* what that connect said */
	bool ready;	  /* lock made: fl_agent_rados_init ran */
};
/* Copies cfg's Ceph options, which may not hold a comma (nor may its state
 * directory: all go to mount.flockerfs -o): 0, -ENOMEM or -EINVAL, err said.
 * r is fl_agent_rados_free'd in any case (also when zeroed, never initialised). */
int fl_agent_rados_init(struct fl_agent_rados *r, const struct fl_agent_config *cfg,
			unsigned timeout_s, unsigned retry_s, char *err, size_t errlen);
/* The connection (borrowed), or NULL with why the last connect failed. */
struct fl_store *fl_agent_rados_get(struct fl_agent_rados *r, char *why, size_t whylen);
void fl_agent_rados_free(struct fl_agent_rados *r);

#endif
