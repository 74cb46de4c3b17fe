/* flockerfs — the standalone volume trash (see trash.h). */
#include "trash.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#include "flocker/log.h"
#include "volume.h"

enum {
	TR_VERSION = 0,
	TR_UUID = 1,
	TR_NAME = 2,
	TR_REG = 3,
	TR_REMOVED = 4,
	TR_PURGE_AT = 5,
	TR_STATE = 6,
	TR_STATE_SINCE = 7,
	TR_HOST = 8,
	TR_REMOVED_NS = 9,
	TR_NKEYS
};

#define TR_VERSION_NOW 1
#define TR_MAP_MAX     64 /* keys in one record, known or not */
#define TR_DEPTH_MAX   8  /* nesting of skipped values */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool uuid_ok(const char *s, size_t len)
{
	size_t i;
	bool ok = len == 36;

	for (i = 0; ok && i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			ok = s[i] == '-';
		else
			ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
	}
	return ok;
}

static void fmt_when(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	localtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/* ------------------------------------------------------------------ */
/* Encoding */

struct enc {
	struct fl_buf *out;
	int err;
};

static int enc_sink(void *data, const char *p, size_t n)
{
	struct enc *e = data;

	if (!e->err && e->out->len + n > FL_TRASH_REC_MAX)
		e->err = -E2BIG;
	if (!e->err)
		e->err = fl_buf_append(e->out, p, n);
	return e->err;
}

int fl_trash_encode(const struct fl_trash_entry *t, struct fl_buf *out)
{
	struct enc e = {out, 0};
	msgpack_packer pk;
	size_t start = out->len, nlen = strnlen(t->name, sizeof(t->name));
	size_t hlen = strnlen(t->host, sizeof(t->host));
	int rc = 0;

	if (!uuid_ok(t->uuid, strnlen(t->uuid, sizeof(t->uuid))) || !fl_volname_valid(t->name) ||
	    t->reg_len == 0 || t->reg_len > FL_TRASH_REG_MAX || t->state > FL_TRASH_PURGING ||
	    hlen >= sizeof(t->host) || t->removed_ns >= 1000000000)
		return -EINVAL;
	msgpack_packer_init(&pk, &e, enc_sink);
	rc |= msgpack_pack_map(&pk, TR_NKEYS);
	rc |= msgpack_pack_uint32(&pk, TR_VERSION);
	rc |= msgpack_pack_uint32(&pk, TR_VERSION_NOW);
	rc |= msgpack_pack_uint32(&pk, TR_UUID);
	rc |= msgpack_pack_str_with_body(&pk, t->uuid, 36);
	rc |= msgpack_pack_uint32(&pk, TR_NAME);
	rc |= msgpack_pack_str_with_body(&pk, t->name, nlen);
	rc |= msgpack_pack_uint32(&pk, TR_REG);
	rc |= msgpack_pack_bin_with_body(&pk, t->reg_raw, t->reg_len);
	rc |= msgpack_pack_uint32(&pk, TR_REMOVED);
	rc |= msgpack_pack_int64(&pk, t->removed);
	rc |= msgpack_pack_uint32(&pk, TR_PURGE_AT);
	rc |= msgpack_pack_int64(&pk, t->purge_at);
	rc |= msgpack_pack_uint32(&pk, TR_STATE);
	rc |= msgpack_pack_uint32(&pk, t->state);
	rc |= msgpack_pack_uint32(&pk, TR_STATE_SINCE);
	rc |= msgpack_pack_int64(&pk, t->state_since);
	rc |= msgpack_pack_uint32(&pk, TR_HOST);
	rc |= msgpack_pack_str_with_body(&pk, t->host, hlen);
	rc |= msgpack_pack_uint32(&pk, TR_REMOVED_NS);
	rc |= msgpack_pack_uint32(&pk, t->removed_ns);
	if (rc && !e.err)
		e.err = -EIO;
	if (e.err)
		out->len = start;
	return e.err;
}

/* ------------------------------------------------------------------ */
/* Decoding: a bounded cursor over the bytes; nothing is allocated. */

struct cur {
	const unsigned char *p;
	size_t left;
};

static int take(struct cur *c, size_t n, const unsigned char **out)
{
	if (n > c->left)
		return -EIO;
	*out = c->p;
	c->p += n;
	c->left -= n;
	return 0;
}

static int take_be(struct cur *c, size_t n, uint64_t *v)
{
	const unsigned char *b;
	size_t i;

	if (take(c, n, &b))
		return -EIO;
	*v = 0;
	for (i = 0; i < n; i++)
		*v = (*v << 8) | b[i];
	return 0;
}

static int rd_uint(struct cur *c, uint64_t *v)
{
	const unsigned char *t;
	static const size_t width[] = {1, 2, 4, 8};

	if (take(c, 1, &t))
		return -EIO;
	if (*t <= 0x7f) {
		*v = *t;
		return 0;
	}
	if (*t >= 0xcc && *t <= 0xcf)
		return take_be(c, width[*t - 0xcc], v);
	return -EIO;
}

static int rd_int(struct cur *c, int64_t *v)
{
	const unsigned char *t;
	static const size_t width[] = {1, 2, 4, 8};
	uint64_t u;
	size_t w;

	if (c->left == 0)
		return -EIO;
	if (c->p[0] <= 0x7f || (c->p[0] >= 0xcc && c->p[0] <= 0xcf)) {
		if (rd_uint(c, &u) || u > INT64_MAX)
			return -EIO;
		*v = (int64_t)u;
		return 0;
	}
	if (take(c, 1, &t))
		return -EIO;
	if (*t >= 0xe0) {
		*v = (int8_t)*t;
		return 0;
	}
	if (*t < 0xd0 || *t > 0xd3)
		return -EIO;
	w = width[*t - 0xd0];
	if (take_be(c, w, &u))
		return -EIO;
	if (w == 8)
		*v = (int64_t)u;
	else if (u & (1ull << (w * 8 - 1)))
		*v = (int64_t)(u | ~((1ull << (w * 8)) - 1));
	else
		*v = (int64_t)u;
	return 0;
}

/* A str (bin: a bin) of at most max bytes, pointing into the input. */
static int rd_bytes(struct cur *c, bool bin, size_t max, const unsigned char **s, size_t *len)
{
	const unsigned char *t;
	uint64_t n;
	size_t w;

	if (take(c, 1, &t))
		return -EIO;
	if (!bin && *t >= 0xa0 && *t <= 0xbf) {
		n = *t & 0x1f;
	} else {
		if (!bin && *t >= 0xd9 && *t <= 0xdb)
			w = (size_t)1 << (*t - 0xd9);
		else if (bin && *t >= 0xc4 && *t <= 0xc6)
			w = (size_t)1 << (*t - 0xc4);
		else
			return -EIO;
		if (take_be(c, w, &n))
			return -EIO;
	}
	if (n > max || take(c, (size_t)n, s))
		return -EIO;
	*len = (size_t)n;
	return 0;
}

static int rd_map(struct cur *c, uint64_t *n)
{
	const unsigned char *t;

	if (take(c, 1, &t))
		return -EIO;
	if (*t >= 0x80 && *t <= 0x8f) {
		*n = *t & 0x0f;
		return 0;
	}
	if (*t == 0xde)
		return take_be(c, 2, n);
	if (*t == 0xdf)
		return take_be(c, 4, n);
	return -EIO;
}

/* Skips one value of any type, nested at most depth deep. */
static int skip(struct cur *c, int depth)
{
	const unsigned char *t, *b;
	uint64_t n = 0, i, items = 0;
	size_t fixed = 0;

	if (depth <= 0 || take(c, 1, &t))
		return -EIO;
	if (*t <= 0x7f || *t >= 0xe0 || *t == 0xc0 || *t == 0xc2 || *t == 0xc3)
		return 0;
	if (*t >= 0x80 && *t <= 0x8f)
		items = 2 * (uint64_t)(*t & 0x0f);
	else if (*t >= 0x90 && *t <= 0x9f)
		items = *t & 0x0f;
	else if (*t >= 0xa0 && *t <= 0xbf)
		fixed = *t & 0x1f;
	else
		switch (*t) {
		case 0xcc:
		case 0xd0:
			fixed = 1;
			break;
		case 0xcd:
		case 0xd1:
			fixed = 2;
			break;
		case 0xce:
		case 0xd2:
		case 0xca:
			fixed = 4;
			break;
		case 0xcf:
		case 0xd3:
		case 0xcb:
			fixed = 8;
			break;
		case 0xd4:
		case 0xd5:
		case 0xd6:
		case 0xd7:
		case 0xd8:
			fixed = 1 + ((size_t)1 << (*t - 0xd4));
			break;
		case 0xc4:
		case 0xd9:
			if (take_be(c, 1, &n))
				return -EIO;
			fixed = 0;
			break;
		case 0xc5:
		case 0xda:
			if (take_be(c, 2, &n))
				return -EIO;
			break;
		case 0xc6:
		case 0xdb:
			if (take_be(c, 4, &n))
				return -EIO;
			break;
		case 0xc7:
			if (take_be(c, 1, &n))
				return -EIO;
			n++;
			break;
		case 0xc8:
			if (take_be(c, 2, &n))
				return -EIO;
			n++;
			break;
		case 0xc9:
			if (take_be(c, 4, &n))
				return -EIO;
			n++;
			break;
		case 0xdc:
			if (take_be(c, 2, &items))
				return -EIO;
			break;
		case 0xdd:
			if (take_be(c, 4, &items))
				return -EIO;
			break;
		case 0xde:
			if (take_be(c, 2, &items))
				return -EIO;
			items *= 2;
			break;
		case 0xdf:
			if (take_be(c, 4, &items))
				return -EIO;
			items *= 2;
			break;
		default:
			return -EIO; /* 0xc1: never used */
		}
	if (n > c->left || take(c, fixed + (size_t)n, &b))
		return -EIO;
	if (items > c->left) /* every item takes a byte at least */
		return -EIO;
	for (i = 0; i < items; i++)
		if (skip(c, depth - 1))
			return -EIO;
	return 0;
}

int fl_trash_decode(const void *p, size_t len, struct fl_trash_entry *t)
{
	struct cur c = {p, len};
	const unsigned char *s;
	uint64_t n, i, key, u;
	uint32_t seen = 0;
	size_t sl;
	int ret = -EIO;

	memset(t, 0, sizeof(*t));
	if (len > FL_TRASH_REC_MAX || rd_map(&c, &n) || n > TR_MAP_MAX)
		goto out;
	for (i = 0; i < n; i++) {
		if (rd_uint(&c, &key))
			goto out;
		if (key < 32 && (seen & (1u << key)))
			goto out; /* a key twice */
		if (key < 32)
			seen |= 1u << key;
		switch (key) {
		case TR_VERSION:
			if (rd_uint(&c, &u) || u == 0)
				goto out;
			break;
		case TR_UUID:
			if (rd_bytes(&c, false, 36, &s, &sl) || !uuid_ok((const char *)s, sl))
				goto out;
			memcpy(t->uuid, s, 36);
			break;
		case TR_NAME:
			if (rd_bytes(&c, false, FL_VOLNAME_MAX, &s, &sl))
				goto out;
			memcpy(t->name, s, sl);
			t->name[sl] = '\0';
			if (!fl_volname_valid(t->name))
				goto out;
			break;
		case TR_REG:
			if (rd_bytes(&c, true, FL_TRASH_REG_MAX, &s, &sl) || sl == 0)
				goto out;
			memcpy(t->reg_raw, s, sl);
			t->reg_len = sl;
			break;
		case TR_REMOVED:
			if (rd_int(&c, &t->removed))
				goto out;
			break;
		case TR_PURGE_AT:
			if (rd_int(&c, &t->purge_at))
				goto out;
			break;
		case TR_STATE:
			if (rd_uint(&c, &u) || u > FL_TRASH_PURGING)
				goto out;
			t->state = (uint32_t)u;
			break;
		case TR_STATE_SINCE:
			if (rd_int(&c, &t->state_since))
				goto out;
			break;
		case TR_HOST:
			if (rd_bytes(&c, false, sizeof(t->host) - 1, &s, &sl))
				goto out;
			memcpy(t->host, s, sl);
			t->host[sl] = '\0';
			if (strlen(t->host) != sl)
				goto out;
			break;
		case TR_REMOVED_NS:
			if (rd_uint(&c, &u) || u >= 1000000000)
				goto out;
			t->removed_ns = (uint32_t)u;
			break;
		default:
			if (skip(&c, TR_DEPTH_MAX))
				goto out;
		}
	}
	/* uuid, name and the registry value are required; the rest defaults to 0 */
	if (c.left || !(seen & (1u << TR_UUID)) || !(seen & (1u << TR_NAME)) ||
	    !(seen & (1u << TR_REG)))
		goto out;
	if (fl_volreg_decode(t->reg_raw, t->reg_len, &t->reg) || strcmp(t->reg.uuid, t->uuid))
		goto out;
	ret = 0;
out:
	if (ret)
		memset(t, 0, sizeof(*t));
	return ret;
}

/* ------------------------------------------------------------------ */
/* RADOS side */

struct raw_get {
	unsigned char *buf;
	size_t max, len;
	int ret; /* 0: not found, 1: found, -E2BIG: too big */
};

static int raw_get_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct raw_get *g = arg;

	(void)key;
	if (len > g->max) {
		g->ret = -E2BIG;
	} else {
		memcpy(g->buf, val, len);
		g->len = len;
		g->ret = 1;
	}
	return 0;
}

/* The raw value of key in oid: 0, -ENOENT if missing, -EIO if oversized. */
static int omap_get_raw(struct fl_store *reg, const char *oid, const char *key, void *buf,
			size_t max, size_t *len)
{
	struct raw_get g = {buf, max, 0, 0};
	const char *keys[1] = {key};
	int ret = reg->ops->omap_get(reg, oid, keys, 1, raw_get_cb, &g);

	if (ret)
		return ret;
	if (g.ret == 0)
		return -ENOENT;
	if (g.ret < 0)
		return -EIO;
	*len = g.len;
	return 0;
}

/* Does the registry name this uuid under name?  1 yes, 0 no, or a negative errno. */
static int reg_names(struct fl_store *reg, const char *name, const char *uuid)
{
	unsigned char raw[FL_TRASH_REG_MAX];
	struct fl_volreg_rec r;
	size_t len;
	int ret = omap_get_raw(reg, FL_REG_OID, name, raw, sizeof(raw), &len);

	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	if (fl_volreg_decode(raw, len, &r))
		return 0; /* a corrupt entry names nothing we know */
	return strcmp(r.uuid, uuid) == 0;
}

/* The entry of uuid with its raw record; -ENOENT, -EIO if corrupt. */
static int trash_get(struct fl_store *reg, const char *uuid, struct fl_trash_entry *t,
		     struct fl_buf *raw)
{
	char buf[FL_TRASH_REC_MAX];
	size_t len;
	int ret = omap_get_raw(reg, FL_TRASH_OID, uuid, buf, sizeof(buf), &len);

	if (ret)
		return ret;
	if (fl_trash_decode(buf, len, t))
		return -EIO;
	fl_buf_reset(raw);
	return fl_buf_append(raw, buf, len);
}

/* Replaces the entry's record by t, if it is still old (NULL: if absent). */
static int trash_put(struct fl_store *reg, const struct fl_trash_entry *t, const struct fl_buf *old)
{
	struct fl_omap_cmp cmp = {t->uuid, old ? old->data : NULL, old ? old->len : 0};
	struct fl_buf b;
	struct fl_kv kv;
	int ret;

	fl_buf_init(&b, FL_TRASH_REC_MAX);
	ret = fl_trash_encode(t, &b);
	if (ret)
		goto out;
	kv.key = t->uuid;
	kv.val = b.data;
	kv.len = b.len;
	ret = reg->ops->omap_update(reg, FL_TRASH_OID, &kv, 1, NULL, 0, &cmp, 1);
out:
	fl_buf_free(&b);
	return ret;
}

/* Drops the entry if its record is still old. */
static int trash_del(struct fl_store *reg, const char *uuid, const struct fl_buf *old)
{
	struct fl_omap_cmp cmp = {uuid, old->data, old->len};
	const char *rm[1] = {uuid};

	return reg->ops->omap_update(reg, FL_TRASH_OID, NULL, 0, rm, 1, &cmp, 1);
}

static struct fl_store *vol_store(struct fl_store *base, const char *uuid)
{
	char ns[48];

	snprintf(ns, sizeof(ns), "vol.%s", uuid);
	return base->ops->clone_ns(base, ns);
}

int fl_trash_move(struct fl_store *base, const char *name, uint64_t ttl_s,
		  struct fl_trash_entry *out, char *err, size_t errlen)
{
	struct fl_store *reg = NULL;
	struct fl_volume *v = NULL;
	struct fl_trash_entry t = {0};
	struct fl_omap_cmp cmp;
	struct fl_holder h;
	const char *rm[1] = {name};
	struct timespec now;
	char since[32];
	int ret;

	if (!fl_volname_valid(name)) {
		seterr(err, errlen, "invalid volume name '%.140s'", name);
		return -EINVAL;
	}
	reg = base->ops->clone_ns(base, FL_REG_NS);
	if (!reg) {
		ret = -ENOMEM;
		goto out_err;
	}
	ret = omap_get_raw(reg, FL_REG_OID, name, t.reg_raw, sizeof(t.reg_raw), &t.reg_len);
	if (ret == -ENOENT) {
		seterr(err, errlen, "no such volume: %s", name);
		goto out;
	}
	if (ret)
		goto out_err;
	/* works on a damaged volume too: only the registry entry must be readable */
	if (fl_volreg_decode(t.reg_raw, t.reg_len, &t.reg)) {
		seterr(err, errlen, "registry entry of volume %s is corrupt", name);
		ret = -EIO;
		goto out;
	}
	/*
	 * Refused while a writer holds it.  No lock of our own: taken from a
	 * long-lived client (the agent), a writer record it failed to clear
	 * would get that client fenced by the next mount.  A mount racing
	 * with the move keeps working on a volume in the trash, which a purge
	 * refuses while it is held.  The superblock may be damaged: only the
	 * lock on it is read.
	 */
	v = calloc(1, sizeof(*v));
	if (!v || !(v->st = vol_store(base, t.reg.uuid))) {
		ret = -ENOMEM;
		goto out_err;
	}
	ret = fl_volume_holder(v, &h);
	if (ret > 0) {
		fmt_when(h.since, since, sizeof(since));
		seterr(err, errlen,
		       "cannot remove volume %s: it is in use on host %s (pid %ld) since %s: stop the containers using it there first",
		       name, h.host, h.pid, since);
		ret = -EBUSY;
		goto out;
	}
	if (ret < 0)
		goto out_err;
	snprintf(t.uuid, sizeof(t.uuid), "%s", t.reg.uuid);
	snprintf(t.name, sizeof(t.name), "%s", name);
	clock_gettime(CLOCK_REALTIME, &now);
	t.removed = now.tv_sec;
	t.removed_ns = (uint32_t)now.tv_nsec;
	t.purge_at = t.removed + (int64_t)(ttl_s ? ttl_s : FL_TRASH_TTL_S);
	t.state = FL_TRASH_IN;
	if (gethostname(t.host, sizeof(t.host) - 1) < 0)
		t.host[0] = '\0';
	t.host[strcspn(t.host, "|")] = '\0';
	/* a leftover entry of this uuid is an interrupted move: replace it */
	ret = trash_put(reg, &t, NULL);
	if (ret == -ECANCELED) {
		const char *rm_stale[1] = {t.uuid};

		ret = reg->ops->omap_update(reg, FL_TRASH_OID, NULL, 0, rm_stale, 1, NULL, 0);
		if (!ret)
			ret = trash_put(reg, &t, NULL);
	}
	if (ret)
		goto out_err;
	cmp.key = name;
	cmp.val = t.reg_raw;
	cmp.len = t.reg_len;
	ret = reg->ops->omap_update(reg, FL_REG_OID, NULL, 0, rm, 1, &cmp, 1);
	if (ret) {
		/* the name changed hands meanwhile: nothing of ours to move */
		const char *undo[1] = {t.uuid};

		reg->ops->omap_update(reg, FL_TRASH_OID, NULL, 0, undo, 1, NULL, 0);
		if (ret == -ECANCELED) {
			seterr(err, errlen,
			       "cannot remove volume %s: it changed meanwhile (removed and created again elsewhere?): retry",
			       name);
			goto out;
		}
		goto out_err;
	}
	fl_notice("volume %s (%s) moved to the trash", name, t.uuid);
	if (out)
		*out = t;
	goto out;
out_err:
	seterr(err, errlen, "cannot move volume %s to the trash: %s", name, strerror(-ret));
out:
	if (v && !v->st)
		free(v);
	else
		fl_volume_close(v);
	fl_store_close(reg);
	return ret;
}

struct list_ctx {
	struct fl_store *reg;
	int (*cb)(void *arg, const struct fl_trash_entry *e);
	void *arg;
	int stopped;
};

static int list_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct list_ctx *l = arg;
	struct fl_trash_entry t;

	if (fl_trash_decode(val, len, &t) || strcmp(t.uuid, key)) {
		fl_warn("trash entry %.40s is corrupt, skipped", key);
		return 0;
	}
	if (reg_names(l->reg, t.name, t.uuid) == 1)
		return 0; /* live: a move or restore that did not finish */
	l->stopped = l->cb(l->arg, &t);
	return l->stopped;
}

int fl_trash_list(struct fl_store *base, int (*cb)(void *arg, const struct fl_trash_entry *e),
		  void *arg)
{
	struct list_ctx l = {NULL, cb, arg, 0};
	bool more = true;
	int ret;

	l.reg = base->ops->clone_ns(base, FL_REG_NS);
	if (!l.reg)
		return -ENOMEM;
	ret = l.reg->ops->omap_list(l.reg, FL_TRASH_OID, NULL, UINT32_MAX, list_cb, &l, &more);
	if (ret == -ENOENT)
		ret = 0;
	fl_store_close(l.reg);
	return ret;
}

struct find_ctx {
	const char *name;
	struct fl_trash_entry *best;
	bool found;
};

static int find_cb(void *arg, const struct fl_trash_entry *t)
{
	struct find_ctx *f = arg;

	if (!strcmp(t->name, f->name) &&
	    (!f->found || t->removed > f->best->removed ||
	     (t->removed == f->best->removed && t->removed_ns > f->best->removed_ns))) {
		*f->best = *t;
		f->found = true;
	}
	return 0;
}

int fl_trash_find(struct fl_store *base, const char *ref, struct fl_trash_entry *out, char *err,
		  size_t errlen)
{
	struct find_ctx f = {ref, out, false};
	struct fl_store *reg = NULL;
	struct fl_buf raw;
	int ret;

	fl_buf_init(&raw, FL_TRASH_REC_MAX);
	ret = -ENOENT;
	if (uuid_ok(ref, strlen(ref))) {
		reg = base->ops->clone_ns(base, FL_REG_NS);
		if (!reg) {
			ret = -ENOMEM;
			goto out;
		}
		ret = trash_get(reg, ref, out, &raw);
		if (ret == 0 && reg_names(reg, out->name, out->uuid) == 1)
			ret = -ENOENT;
	}
	if (ret == -ENOENT) {
		/* a name (which may look like a uuid) */
		ret = fl_trash_list(base, find_cb, &f);
		if (!ret && !f.found)
			ret = -ENOENT;
	}
	if (ret == -ENOENT)
		seterr(err, errlen,
		       "volume %s is not in the trash: flockerctl volume list --trash lists it",
		       ref);
	else if (ret)
		seterr(err, errlen, "cannot read the trash: %s", strerror(-ret));
out:
	fl_buf_free(&raw);
	fl_store_close(reg);
	return ret;
}

/* Best effort: the superblock carries the name too (shown by inspect). */
static void rename_super(struct fl_store *base, const char *name)
{
	struct fl_volume *v = NULL;

	if (fl_volume_open(base, name, &v, NULL, 0))
		return;
	if (strcmp(v->super.name, name) && fl_volume_lock(v, 10, false, NULL, 0) == 0) {
		snprintf(v->super.name, sizeof(v->super.name), "%s", name);
		if (fl_volume_write_super(v))
			fl_warn("volume %s: cannot write its new name into its superblock", name);
	}
	fl_volume_close(v);
}

int fl_trash_restore(struct fl_store *base, const char *ref, const char *new_name,
		     struct fl_trash_entry *out, char *err, size_t errlen)
{
	struct fl_trash_entry t, mark;
	struct fl_store *reg = NULL;
	struct fl_buf raw, mraw;
	struct fl_omap_cmp cmp;
	struct fl_kv kv;
	unsigned char cur[FL_TRASH_REG_MAX];
	size_t curlen;
	const char *name;
	char taken[37] = "";
	int ret;

	fl_buf_init(&raw, FL_TRASH_REC_MAX);
	fl_buf_init(&mraw, FL_TRASH_REC_MAX);
	ret = fl_trash_find(base, ref, &t, err, errlen);
	if (ret)
		goto out;
	name = new_name && *new_name ? new_name : t.name;
	if (!fl_volname_valid(name)) {
		seterr(err, errlen,
		       "invalid volume name '%.140s': use 1 to %d of [a-zA-Z0-9_.-], starting with a letter or digit",
		       name, FL_VOLNAME_MAX);
		ret = -EINVAL;
		goto out;
	}
	reg = base->ops->clone_ns(base, FL_REG_NS);
	if (!reg) {
		ret = -ENOMEM;
		goto out_err;
	}
	ret = trash_get(reg, t.uuid, &t, &raw);
	if (ret == -ENOENT) {
		seterr(err, errlen,
		       "volume %s is not in the trash any more (purged or restored meanwhile)",
		       ref);
		goto out;
	}
	if (ret)
		goto out_err;
	if (t.state == FL_TRASH_PURGING) {
		seterr(err, errlen, "cannot restore volume %s (%s): it is being purged", t.name,
		       t.uuid);
		ret = -EBUSY;
		goto out;
	}
	ret = omap_get_raw(reg, FL_REG_OID, name, cur, sizeof(cur), &curlen);
	if (ret == 0) {
		struct fl_volreg_rec r;

		if (fl_volreg_decode(cur, curlen, &r) == 0)
			snprintf(taken, sizeof(taken), "%s", r.uuid);
		seterr(err, errlen,
		       "cannot restore volume %s: the name is taken by volume %s; restore it under another name (--as NEW-NAME)",
		       name, taken[0] ? taken : "?");
		ret = -EEXIST;
		goto out;
	}
	if (ret != -ENOENT)
		goto out_err;
	/* step 1: mark it, so that no purge starts meanwhile */
	mark = t;
	mark.state = FL_TRASH_RESTORING;
	mark.state_since = time(NULL);
	ret = trash_put(reg, &mark, &raw);
	if (ret == -ECANCELED) {
		seterr(err, errlen,
		       "cannot restore volume %s: its trash entry changed meanwhile (purged or restored elsewhere?): retry",
		       t.name);
		goto out;
	}
	if (ret)
		goto out_err;
	ret = fl_trash_encode(&mark, &mraw);
	if (ret)
		goto out_err;
	/* step 2: the name, if still free, with the registry value as it was */
	kv.key = name;
	kv.val = t.reg_raw;
	kv.len = t.reg_len;
	cmp.key = name;
	cmp.val = NULL;
	cmp.len = 0;
	ret = reg->ops->omap_update(reg, FL_REG_OID, &kv, 1, NULL, 0, &cmp, 1);
	if (ret) {
		if (trash_put(reg, &t, &mraw))
			fl_warn("volume %s: cannot clear its restore mark", t.name);
		if (ret == -ECANCELED) {
			seterr(err, errlen,
			       "cannot restore volume %s: the name was taken meanwhile", name);
			ret = -EEXIST;
			goto out;
		}
		goto out_err;
	}
	/* step 3: out of the trash (failing that, the entry is stale and ignored) */
	if (trash_del(reg, t.uuid, &mraw))
		fl_warn("volume %s is back but its trash entry stays until the next purge", name);
	if (strcmp(name, t.name))
		rename_super(base, name);
	fl_notice("volume %s (%s) restored from the trash%s%s", name, t.uuid,
		  strcmp(name, t.name) ? ", formerly " : "", strcmp(name, t.name) ? t.name : "");
	if (out)
		*out = t;
	goto out;
out_err:
	seterr(err, errlen, "cannot restore volume %s: %s", ref, strerror(-ret));
out:
	fl_buf_free(&raw);
	fl_buf_free(&mraw);
	fl_store_close(reg);
	return ret;
}

struct rm_ctx {
	struct fl_store *st;
	const bool *stop;
	uint64_t n;
};

static int rm_cb(void *arg, const char *oid)
{
	struct rm_ctx *r = arg;
	int ret;

	if (r->stop && __atomic_load_n(r->stop, __ATOMIC_RELAXED))
		return -EINTR;
	ret = r->st->ops->remove(r->st, oid);
	if (ret == 0)
		r->n++;
	return ret == -ENOENT ? 0 : ret;
}

/* Purges the entry t (raw: its record as read). */
static int purge_one(struct fl_store *base, struct fl_store *reg, struct fl_trash_entry *t,
		     struct fl_buf *raw, const bool *stop, char *err, size_t errlen)
{
	struct rm_ctx r = {NULL, stop, 0};
	struct fl_volume v = {0};
	struct fl_trash_entry mark;
	struct fl_holder h;
	struct fl_buf mraw;
	int64_t now = time(NULL);
	int ret, live;

	fl_buf_init(&mraw, FL_TRASH_REC_MAX);
	live = reg_names(reg, t->name, t->uuid);
	if (live == 1) {
		/* a move or restore that did not finish: the volume is live */
		trash_del(reg, t->uuid, raw);
		seterr(err, errlen,
		       "volume %s (%s) is not in the trash: it is live (a move to the trash or a restore did not finish); its stale trash entry is dropped",
		       t->name, t->uuid);
		ret = -ENOENT;
		goto out;
	}
	if (live < 0) {
		ret = live;
		goto out_err;
	}
	if (t->state == FL_TRASH_RESTORING && now - t->state_since < FL_TRASH_STALE_S) {
		seterr(err, errlen, "cannot purge volume %s (%s): it is being restored", t->name,
		       t->uuid);
		ret = -EBUSY;
		goto out;
	}
	v.st = vol_store(base, t->uuid);
	if (!v.st) {
		ret = -ENOMEM;
		goto out_err;
	}
	ret = fl_volume_holder(&v, &h);
	if (ret > 0) {
		seterr(err, errlen,
		       "cannot purge volume %s (%s): host %s (pid %ld) still has it mounted read-write: unmount it there first",
		       t->name, t->uuid, h.host, h.pid);
		ret = -EBUSY;
		goto out;
	}
	/* step 1: the mark (restores refuse it from now on) */
	mark = *t;
	if (mark.state != FL_TRASH_PURGING) {
		mark.state = FL_TRASH_PURGING;
		mark.state_since = now;
		ret = trash_put(reg, &mark, raw);
		if (ret == -ECANCELED) {
			seterr(err, errlen,
			       "cannot purge volume %s: its trash entry changed meanwhile (restored or purged elsewhere?)",
			       t->name);
			goto out;
		}
		if (ret)
			goto out_err;
		ret = fl_trash_encode(&mark, &mraw);
		if (ret)
			goto out_err;
	} else {
		ret = fl_buf_append(&mraw, raw->data, raw->len);
		if (ret)
			goto out_err;
	}
	/* step 2: every object; step 3: the entry */
	r.st = v.st;
	ret = v.st->ops->list_objects(v.st, NULL, rm_cb, &r);
	if (ret == -EINTR) {
		seterr(err, errlen, "purge of volume %s interrupted; the next purge finishes it",
		       t->name);
		goto out;
	}
	if (ret)
		goto out_err;
	ret = trash_del(reg, t->uuid, &mraw);
	if (ret == -ECANCELED || ret == -ENOENT)
		ret = 0; /* another purger finished first */
	if (ret)
		goto out_err;
	fl_notice("volume %s (%s) purged from the trash: %" PRIu64 " objects deleted", t->name,
		  t->uuid, r.n);
	goto out;
out_err:
	seterr(err, errlen, "cannot purge volume %s: %s", t->name, strerror(-ret));
out:
	fl_store_close(v.st);
	fl_buf_free(&mraw);
	return ret;
}

int fl_trash_purge(struct fl_store *base, const char *ref, const bool *stop, char *err,
		   size_t errlen)
{
	struct fl_store *reg = NULL;
	struct fl_trash_entry t;
	struct fl_buf raw;
	int ret;

	fl_buf_init(&raw, FL_TRASH_REC_MAX);
	ret = fl_trash_find(base, ref, &t, err, errlen);
	if (ret)
		goto out;
	reg = base->ops->clone_ns(base, FL_REG_NS);
	if (!reg) {
		ret = -ENOMEM;
		seterr(err, errlen, "cannot purge volume %s: out of memory", ref);
		goto out;
	}
	ret = trash_get(reg, t.uuid, &t, &raw);
	if (ret == -ENOENT) {
		seterr(err, errlen,
		       "volume %s is not in the trash any more (purged or restored meanwhile)",
		       ref);
		goto out;
	}
	if (ret) {
		seterr(err, errlen, "cannot purge volume %s: %s", ref, strerror(-ret));
		goto out;
	}
	ret = purge_one(base, reg, &t, &raw, stop, err, errlen);
out:
	fl_store_close(reg);
	fl_buf_free(&raw);
	return ret;
}

struct due {
	char uuid[37];
	struct due *next;
};

struct due_ctx {
	int64_t now;
	struct due *head;
	int ret;
};

static int due_cb(void *arg, const char *key, const void *val, size_t len)
{
	struct due_ctx *d = arg;
	struct fl_trash_entry t;
	struct due *n;

	if (fl_trash_decode(val, len, &t) || strcmp(t.uuid, key) || t.purge_at > d->now)
		return 0;
	n = calloc(1, sizeof(*n));
	if (!n) {
		d->ret = -ENOMEM;
		return -ENOMEM;
	}
	memcpy(n->uuid, t.uuid, sizeof(n->uuid));
	n->next = d->head;
	d->head = n;
	return 0;
}

int fl_trash_purge_expired(struct fl_store *base, int64_t now, const bool *stop, unsigned *npurged)
{
	struct due_ctx d = {now, NULL, 0};
	struct fl_store *reg = base->ops->clone_ns(base, FL_REG_NS);
	struct fl_trash_entry t;
	struct fl_buf raw;
	struct due *n;
	bool more = true;
	char err[512];
	int ret;

	if (npurged)
		*npurged = 0;
	if (!reg)
		return -ENOMEM;
	fl_buf_init(&raw, FL_TRASH_REC_MAX);
	/* collect first: purging changes the omap being listed */
	ret = reg->ops->omap_list(reg, FL_TRASH_OID, NULL, UINT32_MAX, due_cb, &d, &more);
	if (ret == -ENOENT)
		ret = 0;
	if (d.ret)
		ret = d.ret;
	while ((n = d.head)) {
		d.head = n->next;
		if (!ret && !(stop && __atomic_load_n(stop, __ATOMIC_RELAXED)) &&
		    trash_get(reg, n->uuid, &t, &raw) == 0 && t.purge_at <= now) {
			err[0] = '\0';
			if (purge_one(base, reg, &t, &raw, stop, err, sizeof(err)) == 0) {
				if (npurged)
					(*npurged)++;
			} else {
				fl_warn("trash: %s", err);
			}
		}
		free(n);
	}
	fl_buf_free(&raw);
	fl_store_close(reg);
	return ret;
}
