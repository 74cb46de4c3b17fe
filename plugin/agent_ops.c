/* flockerfs — agent.h's calls, dispatched to the agent's implementation. */
#include "plugin/agent_config.h"
#include "plugin/agent_metrics.h"
#include "fs/util/metrics.h"

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
	int ret = a->ops->remove(a, name, err, errlen);

	fl_am_op(FL_AM_REMOVE, t0, ret);
	return ret;
}

int fl_agent_mount(struct fl_agent *a, const char *name, const char *id, char *path, size_t pathlen,
		   char *err, size_t errlen)
{
	uint64_t t0 = fl_metrics_now_ns();
	int ret = a->ops->mount(a, name, id, path, pathlen, err, errlen);

	fl_am_op(FL_AM_MOUNT, t0, ret);
	return ret;
}

int fl_agent_unmount(struct fl_agent *a, const char *name, const char *id, char *err, size_t errlen)
{
	uint64_t t0 = fl_metrics_now_ns();
	int ret = a->ops->unmount(a, name, id, err, errlen);

	fl_am_op(FL_AM_UNMOUNT, t0, ret);
	return ret;
}

int fl_agent_get(struct fl_agent *a, const char *name, struct fl_agent_volume *out, char *err,
		 size_t errlen)
{
	uint64_t t0 = fl_metrics_now_ns();
	int ret = a->ops->get(a, name, out, err, errlen);

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
