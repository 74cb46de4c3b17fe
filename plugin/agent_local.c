/*
 * flockerfs — the standalone agent: plugin/agent.h straight on RADOS.
 *
 * With no control service, the volume's RADOS writer lock is the only
 * lease: the host whose mount.flockerfs holds it has the volume, and a
 * mount anywhere else is refused with a message naming that host.  Volumes
 * are created in the registry directly (fs/volume/volume.h); removal moves them to
 * the trash beside the registry (fs/volume/trash.h), which every host sees:
 * "flockerctl volume restore" brings one back, and a thread here purges the
 * entries whose time is up.  Mounts and their users are kept by
 * plugin/mounts.c.
 *
 * A host that died holding a volume keeps it until its lease runs out (the
 * writer lock is renewed every lease/3); then the next Mount anywhere
 * succeeds, and mount.flockerfs first fences the dead holder (blocklists its
 * RADOS client, fs/volume/volume.c) so that nothing it still had in flight lands.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster/net/ticker.h"
#include "fs/volume/clone.h"
#include "fs/volume/snapshot.h"
#include "plugin/agent_config.h"
#include "fs/core/core.h"
#include "flocker/log.h"
#include "flocker/record.h"
#include "flocker/store.h"
#include "plugin/mounts.h"
#include "fs/volume/trash.h"
#include "fs/volume/volume.h"
#include "fs/util/fmt.h"

/* Connect and per-operation timeout towards the Ceph cluster. */
#define LOCAL_RADOS_TIMEOUT_S 20
/* After a failed connect, calls fail at once for this long instead of waiting again. */
#define LOCAL_RETRY_S 5
/* The trash is checked for entries whose time is up this often (or ttl/2 if shorter). */
#define LOCAL_PURGE_PERIOD_S 600

struct local_agent {
	struct fl_agent base;
	struct fl_agent_rados rados; /* connected on first use */
	char host[64];
	struct fl_mounts *mounts;
	uint64_t trash_ttl_s;
	struct fl_ticker purger; /* the trash purger */
};

static struct local_agent *to_local(struct fl_agent *a)
{
	return (struct local_agent *)a;
}

/* The cluster connection, opened on first use (borrowed; lives as long as the agent). */
static struct fl_store *store(struct local_agent *la, char *err, size_t errlen)
{
	char why[512];
	struct fl_store *st = fl_agent_rados_get(&la->rados, why, sizeof(why));

	if (!st)
		fl_seterr(err, errlen,
			  "cannot reach the Ceph cluster: %s: check -c and --id of flocker-agent",
			  why);
	return st;
}

/* store() as 0 or -EHOSTUNREACH (err says why). */
static int reach(struct local_agent *la, struct fl_store **st, char *err, size_t errlen)
{
	*st = store(la, err, errlen);
	return *st ? 0 : -EHOSTUNREACH;
}

/* For plugin/mounts.c: is a mount found here still the volume's writer? */
static struct fl_store *mounts_store(void *arg)
{
	return store(arg, NULL, 0);
}

static void fmt_size(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "KMGTP";
	int u = -1;

	while (v >= 1024 && v % 1024 == 0 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%" PRIu64, v);
	else
		snprintf(buf, len, "%" PRIu64 "%c", v, units[u]);
}

/* "no such volume: X" says so when X is in the trash, and how to bring it back. */
static void trash_hint(struct fl_store *st, const char *name, char *err, size_t errlen)
{
	struct fl_trash_entry t;
	char when[32];
	size_t n = err ? strlen(err) : 0;

	if (!err || fl_trash_find(st, name, &t, NULL, 0))
		return;
	fl_fmt_time_local(t.removed, when, sizeof(when));
	snprintf(err + n, errlen - n,
		 " (it is in the trash since %s: flockerctl volume restore %s brings it back)",
		 when, name);
}

/* Opens volume name: -EHOSTUNREACH when the pool is out of reach, -ENOENT
 * (with trash_hint's words) when there is no such volume. */
static int open_volume(struct local_agent *la, const char *name, struct fl_volume **v, char *err,
		       size_t errlen)
{
	struct fl_store *st;
	int ret = reach(la, &st, err, errlen);

	if (ret)
		return ret;
	ret = fl_volume_open(st, name, v, err, errlen);
	if (ret == -ENOENT)
		trash_hint(st, name, err, errlen);
	return ret;
}

/* -o from=VOL[@SNAP]: a clone; an existing clone of VOL under that name is fine too. */
static int clone_from(struct fl_store *st, const char *from, const char *name, char *err,
		      size_t errlen)
{
	char vol[FL_VOLNAME_MAX + 1], snap[FL_VOLNAME_MAX + 1], got[FL_VOLNAME_MAX + 1];
	struct fl_volume *v = NULL;
	struct fl_parent_rec pr;
	int at = fl_snap_parse(from, vol, sizeof(vol), snap, sizeof(snap)), ret;

	if (at < 0) {
		fl_seterr(err, errlen, "invalid -o from=%.140s for volume %s: use VOL or VOL@SNAP",
			  from, name);
		return -EINVAL;
	}
	ret = fl_volume_clone(st, vol, at ? snap : NULL, name, got, sizeof(got), err, errlen);
	if (ret != -EEXIST)
		return ret;
	ret = fl_volume_open(st, name, &v, err, errlen);
	if (ret)
		return ret;
	ret = fl_clone_parent(v->st, &pr);
	if (ret <= 0 || strcmp(pr.name, vol) || (at && strcmp(pr.snap, snap))) {
		fl_seterr(err, errlen, "volume %s exists and is not a clone of %s", name, from);
		ret = -EEXIST;
	} else {
		ret = 0;
	}
	fl_volume_close(v);
	return ret;
}

static int local_create(struct fl_agent *a, const char *name, const char *const *keys,
			const char *const *vals, size_t nopts, char *err, size_t errlen)
{
	struct local_agent *la = to_local(a);
	struct fl_agent_create_opts o;
	struct fl_volume *v = NULL;
	struct fl_store *st;
	char want[32], have[32];
	int ret;

	ret = fl_agent_create_opts(name, keys, vals, nopts, &o, err, errlen);
	if (ret)
		goto out;
	ret = reach(la, &st, err, errlen);
	if (ret)
		goto out;
	if (o.from) {
		ret = clone_from(st, o.from, name, err, errlen);
		goto out;
	}
	ret = fl_volume_create(st, name, o.size, 0, err, errlen);
	if (ret != -EEXIST)
		goto out;
	/* Docker creates what a container names if it does not know it yet: an
	 * existing volume is fine, unless asked for another size */
	ret = fl_volume_open(st, name, &v, err, errlen);
	if (ret)
		goto out;
	if (o.sized && v->super.size_limit != o.size) {
		fmt_size(o.size, want, sizeof(want));
		fmt_size(v->super.size_limit, have, sizeof(have));
		fl_seterr(
			err, errlen,
			"volume %s exists with size limit %s, not %s: use another name, or resize it with flockerctl volume resize",
			name, v->super.size_limit ? have : "unlimited",
			o.size ? want : "unlimited");
		ret = -EEXIST;
		goto out;
	}
	ret = 0;
out:
	fl_volume_close(v);
	if (!ret)
		fl_info("volume %s created", name);
	return ret;
}

static int local_remove(struct fl_agent *a, const char *name, char *err, size_t errlen)
{
	struct local_agent *la = to_local(a);
	struct fl_trash_entry t;
	struct fl_volume *v = NULL;
	struct fl_holder h;
	struct fl_store *st;
	char since[32];
	int ret;

	/* a leftover mount here with no user goes first; one with users refuses */
	ret = fl_mounts_drop_unused(la->mounts, name, err, errlen);
	if (ret)
		goto out;
	ret = reach(la, &st, err, errlen);
	if (ret)
		goto out;
	ret = fl_volume_open(st, name, &v, err, errlen);
	if (ret == -ENOENT) {
		fl_info("volume %s: remove, but it does not exist (removed elsewhere?)", name);
		ret = 0;
		goto out;
	}
	if (ret)
		goto out;
	if (fl_volume_holder(v, &h) > 0) {
		fl_fmt_time_local(h.since, since, sizeof(since));
		fl_seterr(
			err, errlen,
			"cannot remove volume %s: it is in use on host %s since %s: stop the containers using it there first",
			name, h.host, since);
		ret = -EBUSY;
		goto out;
	}
	fl_volume_close(v);
	v = NULL;
	ret = fl_trash_move(st, name, la->trash_ttl_s, &t, err, errlen);
	if (ret == -ENOENT)
		ret = 0;
	else if (!ret)
		fl_notice(
			"volume %s (%s) moved to the trash by docker volume rm: flockerctl volume restore %s brings it back; purged after %" PRIu64
			" s",
			name, t.uuid, t.uuid, la->trash_ttl_s ? la->trash_ttl_s : FL_TRASH_TTL_S);
out:
	fl_volume_close(v);
	return ret;
}

static int local_mount(struct fl_agent *a, const char *name, const char *id, char *path,
		       size_t pathlen, char *err, size_t errlen)
{
	struct local_agent *la = to_local(a);
	struct fl_volume *v = NULL;
	int ret;

	/* mounted here already: no need to ask the cluster */
	ret = fl_mounts_acquire(la->mounts, name, NULL, id, path, pathlen, err, errlen);
	if (ret != -EAGAIN)
		goto out;
	ret = open_volume(la, name, &v, err, errlen);
	if (ret)
		goto out;
	ret = fl_mounts_acquire(la->mounts, name, v->super.uuid, id, path, pathlen, err, errlen);
out:
	fl_volume_close(v);
	return ret;
}

static int local_unmount(struct fl_agent *a, const char *name, const char *id, char *err,
			 size_t errlen)
{
	return fl_mounts_release(to_local(a)->mounts, name, id, err, errlen);
}

static void parent_of(struct fl_volume *v, char *buf, size_t len)
{
	struct fl_parent_rec pr;

	buf[0] = '\0';
	if (fl_clone_parent(v->st, &pr) > 0)
		snprintf(buf, len, "%s@%s", pr.name, pr.snap);
}

static int count_cb(void *arg, const char *key, const void *val, size_t len)
{
	(void)key;
	(void)val;
	(void)len;
	(*(unsigned *)arg)++;
	return 0;
}

/* The snapshots of an open volume (records in its snaps object). */
static int snap_count(struct fl_volume *v, unsigned *n)
{
	bool more = true;
	int ret = 0;

	*n = 0;
	ret = v->st->ops->omap_list(v->st, FL_OID_SNAPS, NULL, UINT32_MAX, count_cb, n, &more);
	return ret == -ENOENT ? 0 : ret;
}

/* Fills out from an open volume: holder, and usage from a read-only view if usage. */
static void describe(struct local_agent *la, struct fl_volume *v, bool usage,
		     struct fl_agent_volume *out)
{
	struct fl_core_opts co = {.ro = true};
	struct fl_core *core = NULL;
	struct fl_holder h;
	uint64_t inodes;
	char why[256];

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", v->super.name);
	snprintf(out->uuid, sizeof(out->uuid), "%s", v->super.uuid);
	out->size_limit = v->super.size_limit;
	out->created = v->super.created;
	out->bytes_used = v->super.used_bytes; /* as of the last checkpoint */
	if (fl_volume_holder(v, &h) > 0)
		snprintf(out->holder, sizeof(out->holder), "%s", h.host);
	if (fl_mounts_lookup(la->mounts, v->super.name, out->mountpoint, sizeof(out->mountpoint),
			     NULL) == 1 &&
	    fl_mounts_check(la->mounts, v->super.name))
		fl_mounts_dead(la->mounts, v->super.name, out->mount_dead, sizeof(out->mount_dead));
	parent_of(v, out->parent, sizeof(out->parent));
	out->has_snapshots = usage && snap_count(v, &out->snapshots) == 0;
	/* a read-only view replays the journal: usage as of the last commit */
	if (usage && fl_core_mount(v, &co, &core, why, sizeof(why)) == 0) {
		fl_core_usage(core, &out->bytes_used, &inodes);
		fl_core_unmount(core);
	} else if (usage) {
		fl_info("volume %s: usage as of the last checkpoint: %s", v->super.name, why);
	}
}

static int local_get(struct fl_agent *a, const char *name, struct fl_agent_volume *out, char *err,
		     size_t errlen)
{
	struct local_agent *la = to_local(a);
	struct fl_volume *v = NULL;
	int ret;

	ret = open_volume(la, name, &v, err, errlen);
	if (ret)
		goto out;
	describe(la, v, true, out);
out:
	fl_volume_close(v);
	return ret;
}

struct list_ctx {
	struct local_agent *la;
	struct fl_store *st;
	int (*cb)(void *arg, const struct fl_agent_volume *v);
	void *arg;
	int stopped;
};

static int list_one(void *arg, const char *name, const struct fl_volreg_rec *r)
{
	struct list_ctx *c = arg;
	struct fl_agent_volume av;
	struct fl_volume *v = NULL;

	/* holder and checkpoint usage from the volume; the registry alone if it cannot open */
	if (fl_volume_open(c->st, name, &v, NULL, 0) == 0) {
		describe(c->la, v, false, &av);
	} else {
		memset(&av, 0, sizeof(av));
		snprintf(av.name, sizeof(av.name), "%s", name);
		snprintf(av.uuid, sizeof(av.uuid), "%s", r->uuid);
		av.size_limit = r->size_limit;
		av.created = r->created;
		fl_mounts_lookup(c->la->mounts, name, av.mountpoint, sizeof(av.mountpoint), NULL);
	}
	fl_volume_close(v);
	c->stopped = c->cb(c->arg, &av);
	return c->stopped;
}

static int local_list(struct fl_agent *a, int (*cb)(void *arg, const struct fl_agent_volume *v),
		      void *arg, char *err, size_t errlen)
{
	struct list_ctx c = {.la = to_local(a), .cb = cb, .arg = arg};
	int ret;

	ret = reach(c.la, &c.st, err, errlen);
	if (ret)
		goto out;
	ret = fl_volume_list(c.st, list_one, &c);
	if (ret && ret == c.stopped)
		ret = 0;
	else if (ret)
		fl_seterr(err, errlen, "cannot list volumes: %s", strerror(-ret));
out:
	return ret;
}

/* The trash purger's job: purges the entries whose time is up. */
static int purge_job(void *arg)
{
	struct local_agent *la = arg;
	struct fl_store *st = store(la, NULL, 0);
	unsigned n;
	int ret;

	if (!st)
		return 0;
	ret = fl_trash_purge_expired(st, time(NULL), &la->purger.stop, &n);
	if (ret)
		fl_warn("cannot read the trash to purge it: %s", strerror(-ret));
	else if (n)
		fl_notice("purged %u volume(s) whose time in the trash was up", n);
	return 0;
}

/* How often the purger runs: every LOCAL_PURGE_PERIOD_S, or half the TTL when shorter. */
static unsigned purge_period_s(const struct local_agent *la)
{
	uint64_t ttl = la->trash_ttl_s ? la->trash_ttl_s : FL_TRASH_TTL_S;
	unsigned period =
		ttl / 2 < LOCAL_PURGE_PERIOD_S ? (unsigned)(ttl / 2) : LOCAL_PURGE_PERIOD_S;

	return period ? period : 1;
}

static void local_close(struct fl_agent *a)
{
	struct local_agent *la = to_local(a);

	fl_ticker_stop(&la->purger);
	fl_mounts_free(la->mounts);
	fl_agent_rados_free(&la->rados);
	free(la);
}

static const struct fl_agent_ops local_ops = {
	.create = local_create,
	.remove = local_remove,
	.mount = local_mount,
	.unmount = local_unmount,
	.get = local_get,
	.list = local_list,
	.close = local_close,
};

int fl_agent_local_open(const struct fl_agent_config *cfg, struct fl_agent **out, char *err,
			size_t errlen)
{
	struct fl_mounts_config mc = {0};
	struct local_agent *la;
	char helper[PATH_MAX];
	int ret = -ENOMEM;

	*out = NULL;
	la = calloc(1, sizeof(*la));
	if (!la)
		goto out_nomem;
	la->base.ops = &local_ops;
	la->trash_ttl_s = cfg->trash_ttl_s;
	ret = fl_agent_rados_init(&la->rados, cfg, LOCAL_RADOS_TIMEOUT_S, LOCAL_RETRY_S, err,
				  errlen);
	if (ret)
		goto out;
	if (gethostname(la->host, sizeof(la->host) - 1) < 0)
		snprintf(la->host, sizeof(la->host), "localhost");
	if (cfg->node && strcmp(cfg->node, la->host))
		fl_warn("--node %s differs from the host name %s, which mount.flockerfs writes into the volume locks: refusals name %s",
			cfg->node, la->host, la->host);
	mc.state_dir = cfg->state_dir ? cfg->state_dir : FL_AGENT_DEFAULT_STATE_DIR;
	mc.mount_root = cfg->mount_root ? cfg->mount_root : FL_AGENT_DEFAULT_MOUNT_ROOT;
	mc.host = la->host;
	mc.store = mounts_store;
	mc.store_arg = la;
	ret = fl_agent_mounts_open(cfg, &mc, helper, &la->mounts, err, errlen);
	if (ret)
		goto out;
	ret = fl_ticker_start(&la->purger, (long)purge_period_s(la) * 1000, purge_job, la);
	if (ret) {
		fl_seterr(err, errlen, "cannot start the trash purger: %s", strerror(-ret));
		goto out;
	}
	fl_info("standalone agent: mount helper %s, mounts under %s, state in %s", helper,
		mc.mount_root, mc.state_dir);
	*out = &la->base;
	la = NULL;
	goto out;
out_nomem:
	fl_seterr(err, errlen, "out of memory");
out:
	if (la)
		local_close(&la->base);
	return ret;
}
