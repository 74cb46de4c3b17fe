/* flockerfs — agent.h's calls, dispatched to the agent's implementation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin/agent_config.h"
#include "plugin/agent_metrics.h"
#include "plugin/mounts.h"
#include "fs/volume/volume.h"
#include "flocker/log.h"
#include "fs/util/metrics.h"
#include "flocker/store.h"

/* Names are checked here, once for both implementations (not create's:
 * fl_agent_create_opts checks it with the options). */
static bool name_ok(const char *name, char *err, size_t errlen)
{
	return fl_volname_check(name, err, errlen) == 0;
}

int fl_agent_create(struct fl_agent *a, const char *name, const char *const *keys,
		    const char *const *vals, size_t nopts, char *err, size_t errlen)
{
	uint64_t t0 = fl_metrics_now_ns();
	int ret = a->ops->create(a, name, keys, vals, nopts, err, errlen);

	fl_am_op(FL_AM_CREATE, t0, ret);
	return ret;
}

int fl_agent_remove(struct fl_agent *a, const char *name, char *err, size_t errlen)
{
	uint64_t t0 = fl_metrics_now_ns();
	int ret = name_ok(name, err, errlen) ? a->ops->remove(a, name, err, errlen) : -EINVAL;

	fl_am_op(FL_AM_REMOVE, t0, ret);
	return ret;
}

int fl_agent_mount(struct fl_agent *a, const char *name, const char *id, char *path, size_t pathlen,
		   char *err, size_t errlen)
{
	uint64_t t0 = fl_metrics_now_ns();
	int ret = name_ok(name, err, errlen)
			  ? a->ops->mount(a, name, id, path, pathlen, err, errlen)
			  : -EINVAL;

	fl_am_op(FL_AM_MOUNT, t0, ret);
	return ret;
}

int fl_agent_unmount(struct fl_agent *a, const char *name, const char *id, char *err, size_t errlen)
{
	uint64_t t0 = fl_metrics_now_ns();
	int ret = name_ok(name, err, errlen) ? a->ops->unmount(a, name, id, err, errlen) : -EINVAL;

	fl_am_op(FL_AM_UNMOUNT, t0, ret);
	return ret;
}

int fl_agent_get(struct fl_agent *a, const char *name, struct fl_agent_volume *out, char *err,
		 size_t errlen)
{
	uint64_t t0 = fl_metrics_now_ns();
	int ret = name_ok(name, err, errlen) ? a->ops->get(a, name, out, err, errlen) : -EINVAL;

	fl_am_op(FL_AM_GET, t0, ret);
	return ret;
}

int fl_agent_list(struct fl_agent *a, int (*cb)(void *arg, const struct fl_agent_volume *v),
		  void *arg, char *err, size_t errlen)
{
	uint64_t t0 = fl_metrics_now_ns();
	int ret = a->ops->list(a, cb, arg, err, errlen);

	fl_am_op(FL_AM_LIST, t0, ret);
	return ret;
}

void fl_agent_close(struct fl_agent *a)
{
	if (a)
		a->ops->close(a);
}

/* Where mount.flockerfs is: given, beside this program, else on $PATH, else /sbin. */
static int find_helper(const char *given, char *out, size_t outlen)
{
	static const char *const dirs[] = {"/usr/local/sbin", "/usr/sbin", "/sbin"};
	char self[PATH_MAX], *slash;
	const char *env = getenv("PATH");
	ssize_t n;
	size_t i;

	if (given) {
		snprintf(out, outlen, "%s", given);
		return access(out, X_OK) ? -errno : 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if (snprintf(out, outlen, "%s/mount.flockerfs", self) < (int)outlen &&
			    access(out, X_OK) == 0)
				return 0;
		}
	}
	while (env && *env) {
		size_t l = strcspn(env, ":");

		if (l && snprintf(out, outlen, "%.*s/mount.flockerfs", (int)l, env) < (int)outlen &&
		    *env == '/' && access(out, X_OK) == 0)
			return 0;
		env += l + (env[l] == ':');
	}
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(out, outlen, "%s/mount.flockerfs", dirs[i]);
		if (access(out, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

int fl_agent_mounts_open(const struct fl_agent_config *cfg, struct fl_mounts_config *mc,
			 char helper[PATH_MAX], struct fl_mounts **out, char *err, size_t errlen)
{
	int ret = find_helper(cfg->mount_helper, helper, PATH_MAX);

	if (ret) {
		fl_seterr(err, errlen,
			  "cannot find mount.flockerfs%s%s: %s: install it or give --mount-helper",
			  cfg->mount_helper ? " at " : "",
			  cfg->mount_helper ? cfg->mount_helper : "", strerror(-ret));
		return ret;
	}
	mc->mount_helper = helper;
	mc->ceph_conf = cfg->ceph_conf;
	mc->id = cfg->id;
	mc->pool = cfg->pool;
	mc->lease_s = cfg->lease_s;
	mc->check_s = FL_AGENT_MOUNT_CHECK_S;
	return fl_mounts_open(mc, out, err, errlen);
}

int fl_agent_create_opts(const char *name, const char *const *keys, const char *const *vals,
			 size_t nopts, struct fl_agent_create_opts *o, char *err, size_t errlen)
{
	char unknown[256] = "";
	size_t i, n = 0;
	int ret = fl_volname_check(name, err, errlen);

	memset(o, 0, sizeof(*o));
	if (ret)
		return ret;
	for (i = 0; i < nopts; i++) {
		if (!strcmp(keys[i], "from")) {
			o->from = vals[i];
		} else if (!strcmp(keys[i], "size")) {
			if (fl_parse_size(vals[i], &o->size)) {
				fl_seterr(
					err, errlen,
					"invalid size '%.64s' for volume %s: use bytes or a K, M, G, T suffix, e.g. -o size=10G (0: unlimited)",
					vals[i], name);
				return -EINVAL;
			}
			o->sized = true;
		} else if (n < sizeof(unknown)) {
			n += (size_t)snprintf(unknown + n, sizeof(unknown) - n, "%s'%.64s'",
					      n ? ", " : "", keys[i]);
		}
	}
	if (unknown[0]) {
		fl_seterr(
			err, errlen,
			"unknown option %s for volume %s: the flocker driver knows only size (-o size=10G) and from (-o from=VOL[@SNAP])",
			unknown, name);
		return -EINVAL;
	}
	if (o->from && o->sized) {
		fl_seterr(err, errlen,
			  "volume %s: -o size and -o from do not go together: a clone has its "
			  "parent's size limit (flockerctl volume resize changes it)",
			  name);
		return -EINVAL;
	}
	return 0;
}

static bool opt_ok(const char *s)
{
	return !s || (!strchr(s, ',') && !strchr(s, '\n'));
}

int fl_agent_rados_init(struct fl_agent_rados *r, const struct fl_agent_config *cfg,
			unsigned timeout_s, unsigned retry_s, char *err, size_t errlen)
{
	pthread_mutex_init(&r->lock, NULL);
	r->ready = true;
	r->timeout_s = timeout_s;
	r->retry_s = retry_s;
	if ((cfg->ceph_conf && !(r->conf = strdup(cfg->ceph_conf))) ||
	    (cfg->id && !(r->id = strdup(cfg->id))) ||
	    (cfg->pool && !(r->pool = strdup(cfg->pool)))) {
		fl_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (!opt_ok(cfg->ceph_conf) || !opt_ok(cfg->id) || !opt_ok(cfg->pool) ||
	    !opt_ok(cfg->state_dir)) {
		fl_seterr(
			err, errlen,
			"the Ceph configuration path, id, pool and state directory cannot contain a comma (they are passed to mount.flockerfs -o)");
		return -EINVAL;
	}
	return 0;
}

struct fl_store *fl_agent_rados_get(struct fl_agent_rados *r, char *why, size_t whylen)
{
	struct fl_rados_opts o = {
		.conf = r->conf, .id = r->id, .pool = r->pool, .timeout_s = r->timeout_s};
	struct fl_store *st;
	time_t now = time(NULL);

	pthread_mutex_lock(&r->lock);
	if (!r->st && (!r->retry_s || !r->failed_at || now - r->failed_at >= (time_t)r->retry_s)) {
		r->st = fl_rados_open(&o, r->why, sizeof(r->why));
		r->failed_at = r->st ? 0 : time(NULL);
	}
	st = r->st;
	if (!st && why)
		snprintf(why, whylen, "%s", r->why);
	pthread_mutex_unlock(&r->lock);
	return st;
}

void fl_agent_rados_free(struct fl_agent_rados *r)
{
	if (!r->ready)
		return;
	fl_store_close(r->st);
	pthread_mutex_destroy(&r->lock);
	free(r->conf);
	free(r->id);
	free(r->pool);
}
