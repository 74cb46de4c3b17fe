/* flockerfs — volumes: registry, superblock, writer lock and fencing. */
#include "fs/volume/volume.h"
#include "fs/volume/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "flocker/log.h"
#include "fs/volume/clone.h"
#include "fs/store/omap_util.h"
#include "fs/util/fmt.h"
#include "fs/util/uuid.h"

int fl_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	case 'p':
	case 'P':
		shift = 50;
		break;
	default:
		return -EINVAL;
	}
	if (*end) {
		end++;
		if (*end == 'i')
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
		if (*end)
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

int fl_reg_open(struct fl_store *base, struct fl_store **reg)
{
	*reg = base->ops->clone_ns(base, FL_REG_NS);
	return *reg ? 0 : -ENOMEM;
}

int fl_volname_check(const char *name, char *err, size_t errlen)
{
	if (fl_volname_valid(name))
		return 0;
	fl_seterr(
		err, errlen,
		"invalid volume name '%.140s': use 1 to %d of [a-zA-Z0-9_.-], starting with a letter or digit",
		name, FL_VOLNAME_MAX);
	return -EINVAL;
}

int fl_volreg_lookup(struct fl_store *reg, const char *name, struct fl_volreg_rec *r)
{
	void *val;
	size_t len;
	int ret = fl_omap_get1(reg, FL_REG_OID, name, &val, &len);

	if (ret)
		return ret;
	ret = fl_volreg_decode(val, len, r) ? -EIO : 0;
	free(val);
	return ret;
}

/* Opens the registry (*reg, to close) and reads the entry of name into r:
 * 0, -ENOENT with "no such volume" in err, or another negative errno. */
static int reg_find(struct fl_store *base, const char *name, struct fl_store **reg,
		    struct fl_volreg_rec *r, char *err, size_t errlen)
{
	int ret = fl_reg_open(base, reg);

	if (ret)
		return ret;
	ret = fl_volreg_lookup(*reg, name, r);
	if (ret == -ENOENT)
		fl_seterr(err, errlen, "no such volume: %s", name);
	return ret;
}

int fl_volns_open(struct fl_store *base, const char *uuid, struct fl_store **st)
{
	char ns[48];

	snprintf(ns, sizeof(ns), "vol.%s", uuid);
	*st = base->ops->clone_ns(base, ns);
	return *st ? 0 : -ENOMEM;
}

static int write_root(struct fl_store *st, uid_t uid, gid_t gid)
{
	struct fl_inode_rec root = {0};
	struct fl_buf b;
	char oid[FL_OID_LEN], key[17];
	struct timespec now;
	struct fl_kv kv;
	int ret;

	clock_gettime(CLOCK_REALTIME, &now);
	root.ino = FL_ROOT_INO;
	root.mode = S_IFDIR | 0755;
	root.uid = uid;
	root.gid = gid;
	root.nlink = 2;
	root.atime = root.mtime = root.ctime = root.btime = now;
	fl_buf_init(&b, FL_REC_MAX);
	ret = fl_inode_encode(&root, &b);
	if (ret)
		goto out;
	fl_oid_itab(oid, FL_ROOT_INO >> FL_ITAB_SHARD_BITS);
	fl_ino_key(key, FL_ROOT_INO);
	kv.key = key;
	kv.val = b.data;
	kv.len = b.len;
	ret = st->ops->omap_update(st, oid, &kv, 1, NULL, 0, NULL, 0);
	if (ret)
		goto out;
	fl_oid_dir(oid, FL_ROOT_INO);
	ret = st->ops->omap_update(st, oid, NULL, 0, NULL, 0, NULL, 0);
out:
	fl_buf_free(&b);
	return ret;
}

struct remove_all {
	struct fl_store *st;
	struct fl_batch *b;
	unsigned n;
};

static int remove_all_cb(void *arg, const char *oid)
{
	struct remove_all *ra = arg;
	int ret = 0;

	if (!ra->b) {
		ra->b = fl_batch_new(ra->st);
		if (!ra->b)
			return -ENOMEM;
	}
	ra->b->ops->remove(ra->b, oid);
	if (++ra->n == 1024) {
		ret = fl_batch_wait(ra->b);
		ra->b = NULL;
		ra->n = 0;
	}
	return ret;
}

/* Removes every object of st's namespace: one listing, and the objects that
 * exist in batches (64 removes in flight on RADOS). */
static int remove_all(struct fl_store *st)
{
	struct remove_all ra = {st, NULL, 0};
	int ret = st->ops->list_objects(st, NULL, remove_all_cb, &ra);

	if (ra.b) {
		int r = fl_batch_wait(ra.b);

		ret = ret ? ret : r;
	}
	return ret;
}

/* The registry entry of name: r encoded into b (emptied first), kv pointing at it. */
static int volreg_entry(const char *name, const struct fl_volreg_rec *r, struct fl_buf *b,
			struct fl_kv *kv)
{
	int ret;

	fl_buf_reset(b);
	ret = fl_volreg_encode(r, b);
	kv->key = name;
	kv->val = b->data;
	kv->len = b->len;
	return ret;
}

int fl_volreg_claim(struct fl_store *reg, const char *name, const struct fl_volreg_rec *r,
		    struct fl_buf *b, char *err, size_t errlen)
{
	struct fl_kv kv;
	struct fl_omap_cmp cmp = {.key = name}; /* the name must be free */
	int ret;

	ret = volreg_entry(name, r, b, &kv);
	if (ret)
		return ret;
	ret = reg->ops->omap_update(reg, FL_REG_OID, &kv, 1, NULL, 0, &cmp, 1);
	if (ret == -ECANCELED) {
		fl_seterr(err, errlen,
			  "cannot create volume %s: it was created at the same time elsewhere",
			  name);
		ret = -EEXIST;
	}
	return ret;
}

int fl_volume_create(struct fl_store *base, const char *name, uint64_t size_limit,
		     uint32_t block_size, char *err, size_t errlen)
{
	struct fl_store *reg = NULL, *st = NULL;
	struct fl_volreg_rec r = {0};
	struct fl_super_rec s = {0};
	struct fl_buf b;
	int ret;

	fl_buf_init(&b, FL_REC_MAX);
	ret = fl_volname_check(name, err, errlen);
	if (ret)
		goto out;
	if (block_size == 0)
		block_size = FL_DEFAULT_BLOCK_SIZE;
	if (block_size < 65536 || block_size > (64u << 20) || (block_size & (block_size - 1))) {
		fl_seterr(err, errlen, "invalid block size %u: use a power of two from 64K to 64M",
			  block_size);
		ret = -EINVAL;
		goto out;
	}
	ret = fl_reg_open(base, &reg);
	if (ret)
		goto out;
	ret = fl_volreg_lookup(reg, name, &r);
	if (ret == 0) {
		fl_seterr(err, errlen, "cannot create volume %s: it exists (uuid %s)", name,
			  r.uuid);
		ret = -EEXIST;
		goto out;
	}
	if (ret != -ENOENT) {
		fl_seterr(err, errlen, "cannot read the volume registry: %s", strerror(-ret));
		goto out;
	}
	memset(&r, 0, sizeof(r));
	r.version = FL_FORMAT_VERSION;
	fl_uuid_new(r.uuid);
	r.created = time(NULL);
	r.size_limit = size_limit;

	s.version = FL_FORMAT_VERSION;
	memcpy(s.uuid, r.uuid, sizeof(s.uuid));
	snprintf(s.name, sizeof(s.name), "%s", name);
	s.block_size = block_size;
	s.size_limit = size_limit;
	s.created = r.created;
	s.next_ino = FL_ROOT_INO + 1;
	s.jtail = 1;
	s.inodes = 1;
	s.itab_shard_bits = FL_ITAB_SHARD_BITS;

	ret = fl_volns_open(base, r.uuid, &st);
	if (ret)
		goto out;
	ret = write_root(st, 0, 0);
	if (ret)
		goto out_objs;
	ret = fl_super_write(st, &s);
	if (ret)
		goto out_objs;

	ret = fl_volreg_claim(reg, name, &r, &b, err, errlen);
	if (ret)
		goto out_objs;
	goto out;

out_objs:
	if (err && !*err)
		fl_seterr(err, errlen, "cannot create volume %s: %s", name, strerror(-ret));
	remove_all(st);
out:
	if (ret && err && !*err)
		fl_seterr(err, errlen, "cannot create volume %s: %s", name, strerror(-ret));
	fl_store_close(st);
	fl_store_close(reg);
	fl_buf_free(&b);
	return ret;
}

ssize_t fl_rec_read(struct fl_store *st, const char *oid, char **buf)
{
	ssize_t n;

	*buf = malloc(FL_REC_MAX);
	if (!*buf)
		return -ENOMEM;
	n = st->ops->read(st, oid, 0, FL_REC_MAX, *buf);
	if (n < 0) {
		free(*buf);
		*buf = NULL;
	}
	return n;
}

int fl_volume_read_super(struct fl_store *st, struct fl_super_rec *s)
{
	char *buf;
	ssize_t n = fl_rec_read(st, FL_OID_SUPER, &buf);
	int ret;

	if (n < 0)
		return (int)n;
	ret = fl_super_decode(buf, (size_t)n, s) ? -EIO : 0;
	free(buf);
	return ret;
}

int fl_volume_open(struct fl_store *base, const char *name, struct fl_volume **out, char *err,
		   size_t errlen)
{
	struct fl_store *reg = NULL;
	struct fl_volreg_rec r = {0};
	struct fl_volume *v = NULL;
	int ret;

	*out = NULL;
	ret = fl_volname_check(name, err, errlen);
	if (ret)
		return ret;
	ret = reg_find(base, name, &reg, &r, err, errlen);
	if (ret == -ENOENT)
		goto out;
	if (ret == -EIO) {
		fl_seterr(err, errlen, "registry entry of volume %s is corrupt", name);
		goto out;
	}
	if (ret) {
		fl_seterr(err, errlen, "cannot read the volume registry: %s", strerror(-ret));
		goto out;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		ret = -ENOMEM;
		goto out;
	}
	ret = fl_volns_open(base, r.uuid, &v->st);
	if (ret)
		goto out;
	ret = fl_volume_read_super(v->st, &v->super);
	if (ret == -ENOENT) {
		fl_seterr(err, errlen,
			  "volume %s (uuid %s) has no superblock: damaged or half removed", name,
			  r.uuid);
		ret = -EIO;
		goto out;
	}
	if (ret == -EIO) {
		fl_seterr(err, errlen, "superblock of volume %s (uuid %s) is corrupt", name,
			  r.uuid);
		goto out;
	}
	if (ret) {
		fl_seterr(err, errlen, "cannot read superblock of volume %s: %s", name,
			  strerror(-ret));
		goto out;
	}
	if (strcmp(v->super.uuid, r.uuid)) {
		fl_seterr(err, errlen, "superblock of volume %s names uuid %s, registry says %s",
			  name, v->super.uuid, r.uuid);
		ret = -EIO;
		goto out;
	}
	ret = fl_clone_wrap(base, v, err, errlen);
	if (ret)
		goto out;
	*out = v;
	v = NULL;
out:
	if (v) {
		fl_store_close(v->st);
		free(v);
	}
	fl_store_close(reg);
	return ret;
}

static void release_writer(struct fl_volume *v);

void fl_volume_close(struct fl_volume *v)
{
	if (!v)
		return;
	if (v->watching)
		v->st->ops->unwatch(v->st, v->watch);
	if (v->locked) {
		release_writer(v);
		v->st->ops->unlock(v->st, FL_OID_SUPER, FL_LOCK_NAME, v->cookie);
	}
	fl_store_close(v->st);
	free(v);
}

static void parse_cookie(const char *cookie, struct fl_holder *h)
{
	char tmp[160];
	char *f[4] = {0};
	char *p;
	int i = 0;

	snprintf(tmp, sizeof(tmp), "%s", cookie);
	p = tmp;
	while (i < 4) {
		f[i++] = p;
		p = strchr(p, '|');
		if (!p)
			break;
		*p++ = '\0';
	}
	snprintf(h->host, sizeof(h->host), "%s", f[0] ? f[0] : "?");
	h->pid = f[1] ? strtol(f[1], NULL, 10) : 0;
	h->since = f[2] ? strtoll(f[2], NULL, 10) : 0;
	snprintf(h->addr, sizeof(h->addr), "%s", f[3] ? f[3] : "");
}

int fl_volume_holder(struct fl_volume *v, struct fl_holder *h)
{
	struct fl_locker lk[4];
	char tag[64];
	int n = v->st->ops->list_lockers(v->st, FL_OID_SUPER, FL_LOCK_NAME, lk, 4, tag,
					 sizeof(tag));

	if (n == -ENOENT)
		return 0;
	if (n <= 0)
		return n;
	memset(h, 0, sizeof(*h));
	parse_cookie(lk[0].cookie, h);
	snprintf(h->cookie, sizeof(h->cookie), "%s", lk[0].cookie);
	snprintf(h->client, sizeof(h->client), "%s", lk[0].client);
	if (!h->addr[0])
		snprintf(h->addr, sizeof(h->addr), "%s", lk[0].addr);
	return 1;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Is the process that took a lock at `since` still running on this host?
 * Zombies and pids reused by processes started later count as gone. */
static bool holder_alive(long pid, int64_t since)
{
	char path[64], buf[1024], *p;
	unsigned long long start_ticks = 0;
	long long btime = 0;
	FILE *f;
	char state;
	int field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return true;
	}
	fclose(f);
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c", &state) != 1)
		return true;
	if (state == 'Z' || state == 'X')
		return false;
	/* field 22 is the start time in clock ticks after boot */
	for (field = 3, p += 2; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &start_ticks) != 1)
		return true;
	f = fopen("/proc/stat", "r");
	if (!f)
		return true;
	while (fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "btime %lld", &btime) == 1)
			break;
	fclose(f);
	if (btime && since &&
	    btime + (long long)(start_ticks / (unsigned long long)sysconf(_SC_CLK_TCK)) > since + 2)
		return false;
	return true;
}

/*
 * The writer record: omap key "writer" of the superblock object, whose value
 * is the lock cookie of the last writer that did not release the volume
 * cleanly.  The lock alone cannot fence: once a frozen holder's lease runs
 * out, lock_exclusive simply succeeds for the next writer, and the old one,
 * woken, would go on writing.  So whoever takes the lock reads this record
 * and blocklists the client it names before writing anything, then puts its
 * own cookie there (guarded by a compare, so two writers racing through an
 * expired lease cannot both pass unfenced); a clean release removes it.
 */
#define FL_WRITER_KEY "writer"

struct writer_get {
	char cookie[160];
	bool found;
};

static int writer_get_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct writer_get *g = arg;

	(void)key;
	if (len >= sizeof(g->cookie))
		len = sizeof(g->cookie) - 1;
	memcpy(g->cookie, val, len);
	g->cookie[len] = '\0';
	g->found = true;
	return 0;
}

static int writer_read(struct fl_volume *v, struct writer_get *g)
{
	const char *keys[1] = {FL_WRITER_KEY};
	int ret;

	memset(g, 0, sizeof(*g));
	ret = v->st->ops->omap_get(v->st, FL_OID_SUPER, keys, 1, writer_get_cb, g);
	return ret == -ENOENT ? 0 : ret;
}

/* Strips the "v1:" type and a "[...]" vector, so addresses compare. */
static void addr_norm(const char *a, char *out, size_t len)
{
	if (*a == '[')
		a++;
	if (!strncmp(a, "v1:", 3) || !strncmp(a, "v2:", 3))
		a += 3;
	snprintf(out, len, "%.*s", (int)strcspn(a, ",]"), a);
}

static bool addr_same(const char *a, const char *b)
{
	char na[128], nb[128];

	addr_norm(a, na, sizeof(na));
	addr_norm(b, nb, sizeof(nb));
	return na[0] && !strcmp(na, nb);
}

/* Blocklists the writer a record names, unless it is self_addr or fenced_addr. */
static int fence_recorded(struct fl_volume *v, const char *cookie, const char *self_addr,
			  const char *fenced_addr, char *err, size_t errlen)
{
	struct fl_holder h;
	int ret;

	memset(&h, 0, sizeof(h));
	parse_cookie(cookie, &h);
	if (!h.addr[0]) {
		fl_warn("volume %s: the last writer (%s, pid %ld) left no address; cannot fence it",
			v->super.name, h.host, h.pid);
		return 0;
	}
	if ((self_addr && addr_same(h.addr, self_addr)) ||
	    (fenced_addr && addr_same(h.addr, fenced_addr)))
		return 0;
	fl_notice("volume %s: fencing the last writer %s (pid %ld, %s), which did not release it",
		  v->super.name, h.host, h.pid, h.addr);
	ret = v->st->ops->blocklist_add(v->st, h.addr, 0);
	if (ret)
		fl_seterr(err, errlen,
			  "cannot fence the last writer of volume %s (host %s, pid %ld, %s): %s",
			  v->super.name, h.host, h.pid, h.addr, strerror(-ret));
	return ret;
}

/*
 * Fences the last writer named by the writer record, unless it is us or was
 * fenced already (fenced_addr), and records ourselves in its place.  Called
 * with the lock held.
 */
static int claim_writer(struct fl_volume *v, const char *self_addr, const char *fenced_addr,
			char *err, size_t errlen)
{
	struct writer_get g;
	struct fl_omap_cmp cmp;
	struct fl_kv kv;
	int ret, tries;

	for (tries = 0; tries < 5; tries++) {
		ret = writer_read(v, &g);
		if (ret) {
			fl_seterr(err, errlen, "cannot read the writer record of volume %s: %s",
				  v->super.name, strerror(-ret));
			return ret;
		}
		if (g.found && strcmp(g.cookie, v->cookie)) {
			ret = fence_recorded(v, g.cookie, self_addr, fenced_addr, err, errlen);
			if (ret)
				return ret;
		}
		cmp.key = FL_WRITER_KEY;
		cmp.val = g.found ? g.cookie : NULL;
		cmp.len = g.found ? strlen(g.cookie) : 0;
		kv.key = FL_WRITER_KEY;
		kv.val = v->cookie;
		kv.len = strlen(v->cookie);
		ret = v->st->ops->omap_update(v->st, FL_OID_SUPER, &kv, 1, NULL, 0, &cmp, 1);
		if (ret != -ECANCELED)
			break;
	}
	if (ret)
		fl_seterr(err, errlen, "cannot record the writer of volume %s: %s", v->super.name,
			  strerror(-ret));
	return ret;
}

/* A clean release: the record goes, if it is still ours. */
static void release_writer(struct fl_volume *v)
{
	const char *rm[1] = {FL_WRITER_KEY};
	struct fl_omap_cmp cmp = {FL_WRITER_KEY, v->cookie, strlen(v->cookie)};
	int ret = v->st->ops->omap_update(v->st, FL_OID_SUPER, NULL, 0, rm, 1, &cmp, 1);

	if (ret && ret != -ECANCELED && ret != -ESHUTDOWN)
		fl_warn("volume %s: cannot clear the writer record: %s (the next writer fences this client)",
			v->super.name, strerror(-ret));
}

int fl_volume_remove_held(struct fl_volume *v, const char *name, const char *how, const char *hint,
			  char *err, size_t errlen)
{
	struct fl_holder h;
	char since[32];
	int ret = fl_volume_holder(v, &h);

	if (ret <= 0)
		return ret;
	fl_fmt_time_local(h.since, since, sizeof(since));
	fl_seterr(err, errlen, "cannot remove volume %s: %s host %s (pid %ld) since %s%s", name,
		  how, h.host, h.pid, since, hint);
	return 1;
}

bool fl_volume_holder_gone(const struct fl_holder *h)
{
	char host[64] = "localhost";

	gethostname(host, sizeof(host) - 1);
	host[strcspn(host, "|")] = '\0';
	return !strcmp(h->host, host) && h->pid > 0 && !holder_alive(h->pid, h->since);
}

int fl_volume_lock(struct fl_volume *v, unsigned lease_s, bool takeover, char *err, size_t errlen)
{
	char host[64] = "localhost", addr[128] = "";
	char fenced[128] = "";
	struct fl_holder h;
	char since[32];
	int ret, tries;

	gethostname(host, sizeof(host) - 1);
	host[strcspn(host, "|")] = '\0';
	v->st->ops->self_addr(v->st, addr, sizeof(addr));
	/* lockers report at most 127 bytes of cookie: keep it shorter */
	snprintf(v->cookie, sizeof(v->cookie), "%.32s|%ld|%lld|%.60s", host, (long)getpid(),
		 (long long)time(NULL), addr);
	v->lease_s = lease_s ? lease_s : FL_DEFAULT_LEASE_S;

	for (tries = 0; tries < 3; tries++) {
		ret = v->st->ops->lock_exclusive(v->st, FL_OID_SUPER, FL_LOCK_NAME, v->cookie,
						 "flockerfs writer", v->lease_s, false);
		if (ret == 0) {
			v->locked = true;
			__atomic_store_n(&v->renewed_ms, mono_ms(), __ATOMIC_RELAXED);
			/* every later write carries the volume's snapshot context */
			ret = fl_snap_apply_ctx(v, err, errlen);
			if (!ret)
				ret = claim_writer(v, addr, fenced, err, errlen);
			if (ret) {
				v->st->ops->unlock(v->st, FL_OID_SUPER, FL_LOCK_NAME, v->cookie);
				v->locked = false;
			}
			return ret;
		}
		if (ret != -EBUSY && ret != -EEXIST)
			break;
		ret = fl_volume_holder(v, &h);
		if (ret < 0)
			break;
		if (ret == 0)
			continue; /* released meanwhile */
		fl_fmt_time_local(h.since, since, sizeof(since));
		if (!strcmp(h.host, host) && h.pid > 0 && !holder_alive(h.pid, h.since)) {
			/* claim_writer fences it all the same: what it sent before it
			 * died may still be on its way to the OSDs */
			fl_notice("volume %s: writer pid %ld on this host is gone, taking over",
				  v->super.name, h.pid);
		} else if (takeover) {
			fl_notice("volume %s: fencing writer %s (%s, pid %ld) before takeover",
				  v->super.name, h.client, h.host, h.pid);
			ret = v->st->ops->blocklist_add(v->st, h.addr, 0);
			if (ret) {
				fl_seterr(err, errlen,
					  "cannot fence the writer of volume %s at %s: %s",
					  v->super.name, h.addr, strerror(-ret));
				return ret;
			}
			snprintf(fenced, sizeof(fenced), "%s", h.addr);
		} else {
			fl_seterr(err, errlen,
				  "volume %s is held read-write by host %s (pid %ld) since %s",
				  v->super.name, h.host, h.pid, since);
			return -EBUSY;
		}
		ret = v->st->ops->break_lock(v->st, FL_OID_SUPER, FL_LOCK_NAME, h.client, h.cookie);
		(void)ret;
	}
	fl_seterr(err, errlen, "cannot lock volume %s: %s", v->super.name, strerror(-ret));
	return ret;
}

int fl_volume_renew(struct fl_volume *v)
{
	int ret;

	if (!v->locked)
		return -ENOLCK;
	ret = v->st->ops->lock_exclusive(v->st, FL_OID_SUPER, FL_LOCK_NAME, v->cookie,
					 "flockerfs writer", v->lease_s, true);
	if (ret == -EEXIST)
		ret = 0;
	if (ret == 0) {
		__atomic_store_n(&v->renewed_ms, mono_ms(), __ATOMIC_RELAXED);
		fl_volume_rewatch(v);
	}
	return ret;
}

int fl_volume_rewatch(struct fl_volume *v)
{
	int ret;

	if (v->watching && v->st->ops->watch_check(v->st, v->watch) < 0) {
		/* the watch broke (an OSD moved, a connection reset): watch again */
		v->st->ops->unwatch(v->st, v->watch);
		v->watching = false;
		v->watch_lost = true;
		fl_warn("volume %s: the watch of the superblock broke: watching it again",
			v->super.name);
	}
	if (!v->watch_lost)
		return 0;
	ret = fl_volume_watch(v);
	if (ret == 0) {
		v->watch_lost = false;
		fl_notice("volume %s: watching the superblock again", v->super.name);
	}
	return ret;
}

/* The answer to a probe: "cookie\nms since the last renewal\nlease seconds". */
static size_t watch_reply(void *arg, char *buf, size_t cap)
{
	struct fl_volume *v = arg;
	int64_t age = mono_ms() - __atomic_load_n(&v->renewed_ms, __ATOMIC_RELAXED);
	int n = snprintf(buf, cap, "%s\n%lld\n%u", v->cookie, (long long)age, v->lease_s);

	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* Every notify on the superblock: a request (fl_volume_serve) or a probe. */
static void watch_req(void *arg, uint64_t notify_id, const void *data, size_t len)
{
	struct fl_volume *v = arg;
	fl_volume_req_cb cb = __atomic_load_n(&v->req_cb, __ATOMIC_ACQUIRE);
	char buf[512];
	size_t n;

	if (cb && len >= 4 && !memcmp(data, "req ", 4)) {
		cb(v->req_arg, notify_id, data, len);
		return;
	}
	if (len >= 4 && !memcmp(data, "req ", 4)) {
		n = (size_t)snprintf(buf, sizeof(buf), "err %d not serving requests yet", EAGAIN);
	} else {
		n = watch_reply(v, buf, sizeof(buf));
	}
	v->st->ops->notify_ack(v->st, v->watch, notify_id, buf, n < sizeof(buf) ? n : 0);
}

void fl_volume_serve(struct fl_volume *v, fl_volume_req_cb cb, void *arg)
{
	v->req_arg = arg;
	__atomic_store_n(&v->req_cb, cb, __ATOMIC_RELEASE);
}

int fl_volume_answer(struct fl_volume *v, uint64_t notify_id, const void *buf, size_t len)
{
	return v->st->ops->notify_ack(v->st, v->watch, notify_id, buf, len);
}

struct req_wait {
	char *ans;
	size_t cap;
	bool answered;
};

static void req_ack(void *arg, const void *buf, size_t len)
{
	struct req_wait *w = arg;

	/* only the writer watches: its answer starts "ok " or "err " */
	if (w->answered || len < 3 || (memcmp(buf, "ok ", 3) && memcmp(buf, "err", 3)))
		return;
	if (len >= w->cap)
		len = w->cap - 1;
	memcpy(w->ans, buf, len);
	w->ans[len] = '\0';
	w->answered = true;
}

int fl_volume_request(struct fl_volume *v, const char *req, unsigned timeout_ms, char *ans,
		      size_t anscap)
{
	struct req_wait w = {ans, anscap, false};
	int ret;

	if (anscap < 2)
		return -EINVAL;
	ret = v->st->ops->notify_data(v->st, FL_OID_SUPER, req, strlen(req), timeout_ms, req_ack,
				      &w);
	if (ret < 0 && ret != -ETIMEDOUT && !w.answered)
		return ret;
	return w.answered ? 1 : 0;
}

int fl_volume_watch(struct fl_volume *v)
{
	int ret;

	if (v->watching)
		return 0;
	ret = v->st->ops->watch_req(v->st, FL_OID_SUPER, watch_req, v, &v->watch);
	if (ret == 0) {
		v->watching = true;
	} else if (ret != -EOPNOTSUPP && !v->watch_lost) {
		/* fl_volume_rewatch tries again; said once */
		v->watch_lost = true;
		fl_warn("volume %s: cannot watch the superblock: %s (probes of this writer go unanswered)",
			v->super.name, strerror(-ret));
	}
	return ret;
}

struct probe {
	const struct fl_holder *h;
	bool answered;
	long long age_ms;
	unsigned lease_s;
};

static void probe_ack(void *arg, const void *buf, size_t len)
{
	struct probe *p = arg;
	char text[512], *nl;
	long long age = -1;
	unsigned lease = 0;

	if (len >= sizeof(text))
		return;
	memcpy(text, buf, len);
	text[len] = '\0';
	nl = strchr(text, '\n');
	if (!nl)
		return;
	*nl = '\0';
	if (strcmp(text, p->h->cookie) || sscanf(nl + 1, "%lld\n%u", &age, &lease) != 2)
		return;
	p->answered = true;
	p->age_ms = age;
	p->lease_s = lease;
}

int fl_volume_probe(struct fl_volume *v, const struct fl_holder *h, unsigned timeout_ms, char *why,
		    size_t whylen)
{
	struct probe p = {.h = h, .age_ms = -1};
	int ret = v->st->ops->notify(v->st, FL_OID_SUPER, timeout_ms, probe_ack, &p);

	if (ret < 0 && ret != -ETIMEDOUT) {
		fl_seterr(why, whylen, "cannot probe the writer of volume %s: %s", v->super.name,
			  strerror(-ret));
		return ret;
	}
	if (!p.answered) {
		fl_seterr(why, whylen, "its mount daemon (pid %ld) did not answer within %u ms",
			  h->pid, timeout_ms);
		return 0;
	}
	if (p.age_ms < 0 || p.age_ms > (long long)p.lease_s * 1000) {
		fl_seterr(
			why, whylen,
			"its mount daemon (pid %ld) answers but renewed its lock %.1f s ago (lease %u s)",
			h->pid, (double)p.age_ms / 1000.0, p.lease_s);
		return 0;
	}
	fl_seterr(why, whylen, "its mount daemon (pid %ld) answers and renewed its lock %.1f s ago",
		  h->pid, (double)p.age_ms / 1000.0);
	return 1;
}

int fl_volume_reload_super(struct fl_volume *v)
{
	return fl_volume_read_super(v->st, &v->super);
}

int fl_super_write(struct fl_store *st, const struct fl_super_rec *s)
{
	struct fl_buf b;
	int ret;

	fl_buf_init(&b, FL_REC_MAX);
	ret = fl_super_encode(s, &b);
	if (!ret)
		ret = st->ops->write_full(st, FL_OID_SUPER, b.data, b.len);
	fl_buf_free(&b);
	return ret;
}

int fl_volume_write_super(struct fl_volume *v)
{
	return fl_super_write(v->st, &v->super);
}

int fl_volume_remove(struct fl_store *base, const char *name, char *err, size_t errlen)
{
	struct fl_volume v = {0};
	struct fl_store *reg = NULL;
	struct fl_omap_cmp cmp;
	struct fl_kv kv;
	struct fl_buf b;
	struct fl_volreg_rec r = {0};
	const char *rm[1] = {name};
	struct writer_get wg;
	int ret;

	/* works on a damaged volume too: only the registry entry must be readable */
	fl_buf_init(&b, FL_REC_MAX);
	ret = reg_find(base, name, &reg, &r, err, errlen);
	if (ret == -ENOENT)
		goto out;
	if (ret)
		goto out_err;
	ret = fl_volns_open(base, r.uuid, &v.st);
	if (ret)
		goto out;
	ret = fl_volume_remove_held(&v, name, "mounted read-write by", "", err, errlen);
	if (ret > 0) {
		ret = -EBUSY;
		goto out;
	}
	if (ret < 0)
		goto out_err;
	/* a writer whose lease ran out must not write into what we delete */
	snprintf(v.super.name, sizeof(v.super.name), "%s", name);
	ret = writer_read(&v, &wg);
	if (!ret && wg.found)
		ret = fence_recorded(&v, wg.cookie, NULL, NULL, err, errlen);
	if (ret)
		goto out;
	ret = fl_clone_children(v.st, NULL, NULL);
	if (ret > 0) {
		fl_seterr(err, errlen,
			  "cannot remove volume %s: %d clone(s) read from its snapshots; "
			  "flatten or remove them first",
			  name, ret);
		ret = -EBUSY;
		goto out;
	}
	if (ret < 0)
		goto out_err;
	/* Free the name first, guarded by the uuid we read, then the objects. */
	ret = volreg_entry(name, &r, &b, &kv);
	if (ret)
		goto out_err;
	cmp = (struct fl_omap_cmp){kv.key, kv.val, kv.len};
	/* its snapshots first: their ids are in an object (refused while clones read them) */
	ret = fl_snap_remove_all(&v, err, errlen);
	if (ret)
		goto out;
	ret = reg->ops->omap_update(reg, FL_REG_OID, NULL, 0, rm, 1, &cmp, 1);
	if (ret)
		goto out_err;
	ret = fl_clone_unlink(base, v.st);
	if (ret && ret != -ENOENT)
		goto out_err;
	ret = remove_all(v.st);
	if (ret)
		goto out_err;
	goto out;
out_err:
	fl_seterr(err, errlen, "cannot remove volume %s: %s", name, strerror(-ret));
out:
	fl_store_close(v.st);
	fl_store_close(reg);
	fl_buf_free(&b);
	return ret;
}

int fl_volume_resize(struct fl_store *base, const char *name, uint64_t size_limit, char *err,
		     size_t errlen)
{
	struct fl_volume *v = NULL;
	struct fl_store *reg = NULL;
	struct fl_volreg_rec r = {0};
	struct fl_holder h;
	struct fl_buf b;
	struct fl_kv kv;
	int ret;

	fl_buf_init(&b, FL_REC_MAX);
	ret = fl_volume_open(base, name, &v, err, errlen);
	if (ret)
		goto out;
	/* the writer owns the superblock: take the lock ourselves for the change */
	ret = fl_volume_lock(v, 30, false, err, errlen);
	if (ret == -EBUSY && fl_volume_holder(v, &h) > 0) {
		fl_seterr(
			err, errlen,
			"cannot resize volume %s while host %s (pid %ld) has it mounted read-write: unmount it first",
			name, h.host, h.pid);
		goto out;
	}
	if (ret)
		goto out;
	v->super.size_limit = size_limit;
	ret = fl_volume_write_super(v);
	if (ret)
		goto out_err;
	ret = fl_reg_open(base, &reg);
	if (ret)
		goto out_err;
	ret = fl_volreg_lookup(reg, name, &r);
	if (ret)
		goto out_err;
	r.size_limit = size_limit;
	ret = volreg_entry(name, &r, &b, &kv);
	if (ret)
		goto out_err;
	ret = reg->ops->omap_update(reg, FL_REG_OID, &kv, 1, NULL, 0, NULL, 0);
	if (!ret)
		goto out;
out_err:
	fl_seterr(err, errlen, "cannot resize volume %s: %s", name, strerror(-ret));
out:
	fl_store_close(reg);
	fl_volume_close(v);
	fl_buf_free(&b);
	return ret;
}

struct list_ctx {
	fl_volume_list_cb cb;
	void *arg;
};

static int list_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct list_ctx *c = arg;
	struct fl_volreg_rec r = {0};

	if (fl_volreg_decode(val, len, &r)) {
		fl_warn("registry entry of volume %s is corrupt, skipped", key);
		return 0;
	}
	return c->cb(c->arg, key, &r);
}

int fl_volume_list(struct fl_store *base, fl_volume_list_cb cb, void *arg)
{
	struct fl_store *reg;
	struct list_ctx c = {cb, arg};
	bool more = true;
	int ret = fl_reg_open(base, &reg);

	if (ret)
		return ret;
	ret = reg->ops->omap_list(reg, FL_REG_OID, NULL, UINT32_MAX, list_cb, &c, &more);
	if (ret == -ENOENT)
		ret = 0;
	fl_store_close(reg);
	return ret;
}
