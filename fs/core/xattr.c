/*
 * flockerfs — extended attributes, kept in the inode record.
 */
#include "fs/core/core_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "flocker/log.h"

/* ---------- xattrs ---------- */

static int xattr_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > FL_XATTR_NAME_MAX)
		return n ? -ERANGE : -EINVAL;
	if (!strncmp(name, "user.", 5) || !strncmp(name, "trusted.", 8) ||
	    !strncmp(name, "security.", 9))
		return 0;
	return -EOPNOTSUPP;
}

static struct fl_xattr *xattr_find(struct fl_inode *ip, const char *name)
{
	uint32_t i;

	for (i = 0; i < ip->r.nxattrs; i++)
		if (!strcmp(ip->r.xattrs[i].name, name))
			return &ip->r.xattrs[i];
	return NULL;
}

/* Under c->lock: attribute name of inode ino (loaded for a change if
 * for_write): 0 with *ip and *x, -ENODATA when there is none (or no attribute
 * can have that name), or another negative errno. */
static int xattr_lookup(struct fl_core *c, uint64_t ino, const char *name, bool for_write,
			struct fl_inode **ip, struct fl_xattr **x)
{
	int ret = xattr_name_ok(name);

	if (ret)
		return ret == -EOPNOTSUPP ? -ENODATA : ret;
	ret = fl_ino_load(c, ino, for_write, ip);
	if (ret)
		return ret;
	*x = xattr_find(*ip, name);
	return *x ? 0 : -ENODATA;
}

static size_t xattr_bytes(const struct fl_inode *ip)
{
	size_t n = 0;
	uint32_t i;

	for (i = 0; i < ip->r.nxattrs; i++)
		n += strlen(ip->r.xattrs[i].name) + ip->r.xattrs[i].vlen;
	return n;
}

int fl_core_setxattr(struct fl_core *c, uint64_t ino, const char *name, const void *val, size_t len,
		     int flags)
{
	struct fl_inode *ip;
	struct fl_xattr *x;
	void *copy = NULL;
	int ret = xattr_name_ok(name);

	if (ret)
		return ret;
	if (len > FL_XATTR_VAL_MAX)
		return -E2BIG;
	fl_core_lock(c);
	ret = fl_ino_load(c, ino, true, &ip);
	if (ret)
		goto out;
	x = xattr_find(ip, name);
	if (x && (flags & XATTR_CREATE)) {
		ret = -EEXIST;
		goto out;
	}
	if (!x && (flags & XATTR_REPLACE)) {
		ret = -ENODATA;
		goto out;
	}
	if (xattr_bytes(ip) + len + strlen(name) - (x ? x->vlen + strlen(name) : 0) >
		    FL_XATTRS_BYTES ||
	    (!x && ip->r.nxattrs >= FL_XATTRS_MAX)) {
		ret = -ENOSPC;
		goto out;
	}
	if (len) {
		copy = malloc(len);
		if (!copy) {
			ret = -ENOMEM;
			goto out;
		}
		memcpy(copy, val, len);
	}
	if (!x) {
		struct fl_xattr *n = realloc(ip->r.xattrs, (ip->r.nxattrs + 1) * sizeof(*n));
		char *nm = strdup(name);

		if (!n || !nm) {
			if (n)
				ip->r.xattrs = n;
			free(nm);
			free(copy);
			ret = -ENOMEM;
			goto out;
		}
		ip->r.xattrs = n;
		x = &n[ip->r.nxattrs++];
		x->name = nm;
		x->value = NULL;
	}
	free(x->value);
	x->value = copy;
	x->vlen = (uint32_t)len;
	fl_now_real(&ip->r.ctime);
	ret = fl_ino_commit(c, ip);
out:
	fl_core_unlock(c);
	return ret;
}

ssize_t fl_core_getxattr(struct fl_core *c, uint64_t ino, const char *name, void *buf, size_t len)
{
	struct fl_inode *ip;
	struct fl_xattr *x;
	ssize_t ret;

	fl_core_lock(c);
	ret = xattr_lookup(c, ino, name, false, &ip, &x);
	if (ret)
		goto out;
	ret = x->vlen;
	if (len) {
		if (len < x->vlen)
			ret = -ERANGE;
		else if (x->vlen)
			memcpy(buf, x->value, x->vlen);
	}
out:
	fl_core_unlock(c);
	return ret;
}

ssize_t fl_core_listxattr(struct fl_core *c, uint64_t ino, char *buf, size_t len)
{
	struct fl_inode *ip;
	size_t need = 0;
	ssize_t ret;
	uint32_t i;

	fl_core_lock(c);
	ret = fl_ino_load(c, ino, false, &ip);
	if (ret)
		goto out;
	for (i = 0; i < ip->r.nxattrs; i++)
		need += strlen(ip->r.xattrs[i].name) + 1;
	ret = (ssize_t)need;
	if (len) {
		char *p = buf;

		if (len < need) {
			ret = -ERANGE;
			goto out;
		}
		for (i = 0; i < ip->r.nxattrs; i++) {
			size_t n = strlen(ip->r.xattrs[i].name) + 1;

			memcpy(p, ip->r.xattrs[i].name, n);
			p += n;
		}
	}
out:
	fl_core_unlock(c);
	return ret;
}

int fl_core_removexattr(struct fl_core *c, uint64_t ino, const char *name)
{
	struct fl_inode *ip;
	struct fl_xattr *x;
	int ret;

	fl_core_lock(c);
	ret = xattr_lookup(c, ino, name, true, &ip, &x);
	if (ret)
		goto out;
	free(x->name);
	free(x->value);
	*x = ip->r.xattrs[--ip->r.nxattrs];
	fl_now_real(&ip->r.ctime);
	ret = fl_ino_commit(c, ip);
out:
	fl_core_unlock(c);
	return ret;
}
