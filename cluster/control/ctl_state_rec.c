/*
 * flockerfs — the records of flocker-control's registry as they are stored
 * (see ctl_state.h).
 */
#include "cluster/control/ctl_state_rec.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flocker/log.h"
#include "flocker/proto.h"
#include "fs/volume/volume.h"

/* ------------------------------------------------------------------ */
/* record codecs: msgpack maps with small integer keys, key 0 = version */

enum { DS_NAME = 1, DS_PRIMARY = 2, DS_MAXSIZE = 3, DS_CREATED = 4, DS_META = 5, DS_NKEYS = 5 };
enum { LE_NODE = 1, LE_NODE_NAME = 2, LE_SINCE = 3, LE_EXPIRES = 4, LE_KIND = 5, LE_NKEYS = 5 };
enum {
	TR_NAME = 1,
	TR_REG = 2,
	TR_REMOVED = 3,
	TR_PURGE = 4,
	TR_META = 5,
	TR_RESTORING = 6,
	TR_NKEYS = 6
};
enum { ND_NAME = 1, ND_FIRST = 2, ND_LAST = 3, ND_ADDR = 4, ND_HOST = 5, ND_NKEYS = 5 };

static void pk_key(msgpack_packer *pk, unsigned k)
{
	msgpack_pack_unsigned_int(pk, k);
}

static void pk_kstr(msgpack_packer *pk, unsigned k, const char *s)
{
	pk_key(pk, k);
	fl_pk_str(pk, s ? s : "");
}

/*
 * The plain fields of a record, in their stored order: a string (a char
 * array of cap bytes), a number, or the metadata (a heap string, "{}" when
 * there is none).
 */
enum fty { F_STR, F_I64, F_U64, F_U32, F_META };
struct field {
	unsigned key;
	enum fty ty;
	size_t off, cap;
};
#define FSTR(k, T, m)                                                                              \
	{                                                                                          \
		k, F_STR, offsetof(T, m), sizeof(((T *)0)->m)                                      \
	}
#define FNUM(k, ty, T, m)                                                                          \
	{                                                                                          \
		k, ty, offsetof(T, m), 0                                                           \
	}
#define AT(rec, f, T) ((T *)((char *)(rec) + (f)->off))

static const struct field ds_fields[] = {
	FSTR(DS_NAME, struct fl_ds, name),
	FSTR(DS_PRIMARY, struct fl_ds, primary),
	FNUM(DS_MAXSIZE, F_U64, struct fl_ds, maximum_size),
	FNUM(DS_CREATED, F_I64, struct fl_ds, created),
	FNUM(DS_META, F_META, struct fl_ds, metadata),
};
static const struct field lease_fields[] = {
	FSTR(LE_NODE, struct fl_lease, node),
	FSTR(LE_NODE_NAME, struct fl_lease, node_name),
	FNUM(LE_SINCE, F_I64, struct fl_lease, since),
	FNUM(LE_EXPIRES, F_I64, struct fl_lease, expires),
	FNUM(LE_KIND, F_U32, struct fl_lease, kind),
};
static const struct field node_fields[] = {
	FSTR(ND_NAME, struct fl_node_rec, name),
	FNUM(ND_FIRST, F_I64, struct fl_node_rec, first_seen),
	FNUM(ND_LAST, F_I64, struct fl_node_rec, last_seen),
	FSTR(ND_ADDR, struct fl_node_rec, addr),
	FSTR(ND_HOST, struct fl_node_rec, host),
};
#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* A record of plain fields: the map, its version and the fields. */
static int enc_fields(const void *rec, const struct field *f, size_t n, struct fl_frame_enc *e)
{
	const char *meta;

	fl_pk_init(e, FL_REC_MAX);
	msgpack_pack_map(&e->pk, (uint32_t)n + 1);
	pk_key(&e->pk, 0);
	msgpack_pack_uint32(&e->pk, REC_VER);
	for (; n; n--, f++) {
		switch (f->ty) {
		case F_STR:
			pk_kstr(&e->pk, f->key, AT(rec, f, const char));
			break;
		case F_META:
			meta = *AT(rec, f, char *const);
			pk_kstr(&e->pk, f->key, meta ? meta : "{}");
			break;
		case F_I64:
			pk_key(&e->pk, f->key);
			msgpack_pack_int64(&e->pk, *AT(rec, f, const int64_t));
			break;
		case F_U64:
			pk_key(&e->pk, f->key);
			msgpack_pack_uint64(&e->pk, *AT(rec, f, const uint64_t));
			break;
		case F_U32:
			pk_key(&e->pk, f->key);
			msgpack_pack_uint32(&e->pk, *AT(rec, f, const uint32_t));
			break;
		}
	}
	return e->err;
}

int fl_state_enc_ds(const struct fl_ds *d, struct fl_frame_enc *e)
{
	return enc_fields(d, ds_fields, NFIELDS(ds_fields), e);
}

int fl_state_enc_lease(const struct fl_lease *l, struct fl_frame_enc *e)
{
	return enc_fields(l, lease_fields, NFIELDS(lease_fields), e);
}

int fl_state_enc_trash(const struct fl_trash *t, struct fl_frame_enc *e)
{
	struct fl_buf reg;
	int ret;

	fl_buf_init(&reg, FL_REC_MAX);
	ret = fl_volreg_encode(&t->reg, &reg);
	fl_pk_init(e, FL_REC_MAX);
	if (ret) {
		fl_buf_free(&reg);
		return ret;
	}
	msgpack_pack_map(&e->pk, TR_NKEYS + 1);
	pk_key(&e->pk, 0);
	msgpack_pack_uint32(&e->pk, REC_VER);
	pk_kstr(&e->pk, TR_NAME, t->name);
	pk_key(&e->pk, TR_REG);
	msgpack_pack_bin(&e->pk, reg.len);
	msgpack_pack_bin_body(&e->pk, reg.data, reg.len);
	pk_key(&e->pk, TR_REMOVED);
	msgpack_pack_int64(&e->pk, t->removed);
	pk_key(&e->pk, TR_PURGE);
	msgpack_pack_int64(&e->pk, t->purge_at);
	pk_kstr(&e->pk, TR_META, t->metadata ? t->metadata : "{}");
	pk_key(&e->pk, TR_RESTORING);
	if (t->restoring)
		msgpack_pack_true(&e->pk);
	else
		msgpack_pack_false(&e->pk);
	fl_buf_free(&reg);
	return e->err;
}

int fl_state_enc_node(const struct fl_node_rec *n, struct fl_frame_enc *e)
{
	return enc_fields(n, node_fields, NFIELDS(node_fields), e);
}

/* Copies a string field of at most cap-1 bytes; a missing field gives "". */
static int get_str(const struct fl_pv *m, unsigned k, char *out, size_t cap)
{
	const struct fl_pv *v = fl_pv_geti(m, k);

	out[0] = '\0';
	if (!v)
		return 0;
	if (v->type != FL_PV_STR || v->n >= cap || strlen(v->v.s) != v->n)
		return -EIO;
	memcpy(out, v->v.s, v->n + 1);
	return 0;
}

static int get_dup(const struct fl_pv *m, unsigned k, char **out)
{
	const struct fl_pv *v = fl_pv_geti(m, k);

	*out = NULL;
	if (!v)
		return 0;
	if (v->type != FL_PV_STR || v->n > FL_CTL_META_MAX)
		return -EIO;
	if (!strcmp(v->v.s, "{}"))
		return 0;
	*out = strdup(v->v.s);
	return *out ? 0 : -ENOMEM;
}

static int get_i64(const struct fl_pv *m, unsigned k, int64_t *out)
{
	const struct fl_pv *v = fl_pv_geti(m, k);

	*out = 0;
	if (!v)
		return 0;
	return fl_pv_i64(v, out) ? -EIO : 0;
}

static int get_u64(const struct fl_pv *m, unsigned k, uint64_t *out)
{
	const struct fl_pv *v = fl_pv_geti(m, k);

	*out = 0;
	if (!v)
		return 0;
	return fl_pv_u64(v, out) ? -EIO : 0;
}

/* Decodes the map and checks its version. */
static int dec_open(const void *p, size_t len, const struct fl_pv **m, void **mem)
{
	uint64_t ver;
	int ret = fl_pv_decode(p, len, m, mem);

	if (ret)
		return -EIO;
	if ((*m)->type != FL_PV_MAP || get_u64(*m, 0, &ver) || ver < 1) {
		free(*mem);
		*mem = NULL;
		return -EIO;
	}
	return 0;
}

/* The plain fields of a decoded map into rec: 0 or -errno. */
static int dec_fields(const struct fl_pv *m, void *rec, const struct field *f, size_t n)
{
	uint64_t u;
	int ret = 0;

	for (; n && !ret; n--, f++) {
		switch (f->ty) {
		case F_STR:
			ret = get_str(m, f->key, AT(rec, f, char), f->cap);
			break;
		case F_META:
			ret = get_dup(m, f->key, AT(rec, f, char *));
			break;
		case F_I64:
			ret = get_i64(m, f->key, AT(rec, f, int64_t));
			break;
		case F_U64:
			ret = get_u64(m, f->key, AT(rec, f, uint64_t));
			break;
		case F_U32:
			ret = get_u64(m, f->key, &u);
			*AT(rec, f, uint32_t) = (uint32_t)u;
			if (!ret && u > UINT32_MAX)
				ret = -EIO;
			break;
		}
	}
	return ret;
}

/* A record of plain fields, zeroed first, with its key's uuid. */
static int dec_record(const char *uuid, const void *p, size_t len, void *rec, size_t size,
		      char *uuid_out, const struct field *f, size_t n)
{
	const struct fl_pv *m;
	void *mem;
	int ret;

	memset(rec, 0, size);
	ret = dec_open(p, len, &m, &mem);
	if (ret)
		return ret;
	snprintf(uuid_out, 37, "%s", uuid);
	ret = dec_fields(m, rec, f, n);
	free(mem);
	return ret;
}

int fl_state_dec_ds(const char *uuid, const void *p, size_t len, struct fl_ds *d)
{
	int ret = dec_record(uuid, p, len, d, sizeof(*d), d->uuid, ds_fields, NFIELDS(ds_fields));

	if (ret)
		fl_ds_clear(d);
	return ret;
}

int fl_state_dec_lease(const char *uuid, const void *p, size_t len, struct fl_lease *l)
{
	int ret = dec_record(uuid, p, len, l, sizeof(*l), l->uuid, lease_fields,
			     NFIELDS(lease_fields));

	if (!ret && l->kind != FL_LEASE_AGENT && l->kind != FL_LEASE_OPERATOR)
		ret = -EIO;
	return ret;
}

int fl_state_dec_trash(const char *uuid, const void *p, size_t len, struct fl_trash *t)
{
	const struct fl_pv *m, *reg;
	void *mem;
	int ret;

	memset(t, 0, sizeof(*t));
	ret = dec_open(p, len, &m, &mem);
	if (ret)
		return ret;
	snprintf(t->uuid, sizeof(t->uuid), "%s", uuid);
	ret = get_str(m, TR_NAME, t->name, sizeof(t->name));
	reg = fl_pv_geti(m, TR_REG);
	if (!ret && (!reg || reg->type != FL_PV_BIN || fl_volreg_decode(reg->v.s, reg->n, &t->reg)))
		ret = -EIO;
	if (!ret)
		ret = get_i64(m, TR_REMOVED, &t->removed);
	if (!ret)
		ret = get_i64(m, TR_PURGE, &t->purge_at);
	if (!ret)
		ret = get_dup(m, TR_META, &t->metadata);
	if (!ret)
		t->restoring = fl_pv_geti(m, TR_RESTORING) &&
			       fl_pv_geti(m, TR_RESTORING)->type == FL_PV_BOOL &&
			       fl_pv_geti(m, TR_RESTORING)->v.b;
	free(mem);
	if (ret)
		fl_trash_clear(t);
	return ret;
}

int fl_state_dec_node(const char *uuid, const void *p, size_t len, struct fl_node_rec *n)
{
	return dec_record(uuid, p, len, n, sizeof(*n), n->uuid, node_fields, NFIELDS(node_fields));
}
