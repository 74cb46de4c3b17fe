#include "fs/util/mountinfo.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <libmount.h>

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

int fl_mountinfo_each(int (*cb)(void *arg, const struct fl_mountinfo *m), void *arg)
{
	struct libmnt_table *tb;
	struct libmnt_iter *it = NULL;
	struct libmnt_fs *fs;
	struct fl_mountinfo m;
	int ret = 0;

	tb = mnt_new_table_from_file("/proc/self/mountinfo");
	if (!tb)
		return errno ? -errno : -EIO;
	it = mnt_new_iter(MNT_ITER_FORWARD);
	if (!it) {
		ret = -ENOMEM;
		goto out;
	}
	while (!ret && mnt_table_next_fs(tb, it, &fs) == 0) {
		m.dev = mnt_fs_get_devno(fs);
		copy(m.target, sizeof(m.target), mnt_fs_get_target(fs));
		copy(m.fstype, sizeof(m.fstype), mnt_fs_get_fstype(fs));
		copy(m.source, sizeof(m.source), mnt_fs_get_source(fs));
		ret = cb(arg, &m);
	}
out:
	mnt_free_iter(it);
	mnt_unref_table(tb);
	return ret;
}

struct find {
	const char *target;
	dev_t dev;
	struct fl_mountinfo *out;
	bool found;
};

static int find_cb(void *arg, const struct fl_mountinfo *m)
{
	struct find *f = arg;

	if (f->target ? !strcmp(m->target, f->target) : m->dev == f->dev) {
		*f->out = *m; /* keep going: the newest comes last */
		f->found = true;
	}
	return 0;
}

static int find(struct find *f)
{
	int ret = fl_mountinfo_each(find_cb, f);

	return ret < 0 ? ret : f->found;
}

int fl_mountinfo_at(const char *target, struct fl_mountinfo *out)
{
	struct find f = {.target = target, .out = out};

	return find(&f);
}

int fl_mountinfo_of_dev(dev_t dev, struct fl_mountinfo *out)
{
	struct find f = {.dev = dev, .out = out};

	return find(&f);
}
