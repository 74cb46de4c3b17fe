/*
 * flockerfs — the records of flocker-control's registry as they are stored
 * (see ctl_state.h).
 */
#include "cluster/control/ctl_state_rec.h"

#include <errno.h>
#include <inttypes.h>
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

int fl_state_enc_ds(const struct fl_ds *d, struct fl_frame_enc *e)
{
	fl_pk_init(e, FL_REC_MAX);
	msgpack_pack_map(&e->pk, DS_NKEYS + 1);
	pk_key(&e->pk, 0);
	msgpack_pack_uint32(&e->pk, REC_VER);
	pk_kstr(&e->pk, DS_NAME, d->name);
	pk_kstr(&e->pk, DS_PRIMARY, d->primary);
	pk_key(&e->pk, DS_MAXSIZE);
	msgpack_pack_uint64(&e->pk, d->maximum_size);
	pk_key(&e->pk, DS_CREATED);
	msgpack_pack_int64(&e->pk, d->created);
	pk_kstr(&e->pk, DS_META, d->metadata ? d->metadata : "{}");
	return e->err;
}

int fl_state_enc_lease(const struct fl_lease *l, struct fl_frame_enc *e)
{
	fl_pk_init(e, FL_REC_MAX);
	msgpack_pack_map(&e->pk, LE_NKEYS + 1);
	pk_key(&e->pk, 0);
	msgpack_pack_uint32(&e->pk, REC_VER);
	pk_kstr(&e->pk, LE_NODE, l->node);
	pk_kstr(&e->pk, LE_NODE_NAME, l->node_name);
	pk_key(&e->pk, LE_SINCE);
	msgpack_pack_int64(&e->pk, l->since);
	pk_key(&e->pk, LE_EXPIRES);
	msgpack_pack_int64(&e->pk, l->expires);
	pk_key(&e->pk, LE_KIND);
	msgpack_pack_uint32(&e->pk, l->kind);
	return e->err;
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
	fl_pk_init(e, FL_REC_MAX);
	msgpack_pack_map(&e->pk, ND_NKEYS + 1);
	pk_key(&e->pk, 0);
	msgpack_pack_uint32(&e->pk, REC_VER);
	pk_kstr(&e->pk, ND_NAME, n->name);
	pk_key(&e->pk, ND_FIRST);
	msgpack_pack_int64(&e->pk, n->first_seen);
	pk_key(&e->pk, ND_LAST);
	msgpack_pack_int64(&e->pk, n->last_seen);
	pk_kstr(&e->pk, ND_ADDR, n->addr);
	pk_kstr(&e->pk, ND_HOST, n->host);
	return e->err;
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

int fl_state_dec_ds(const char *uuid, const void *p, size_t len, struct fl_ds *d)
{
	const struct fl_pv *m;
	void *mem;
	int ret;

	memset(d, 0, sizeof(*d));
	ret = dec_open(p, len, &m, &mem);
	if (ret)
		return ret;
	snprintf(d->uuid, sizeof(d->uuid), "%s", uuid);
	ret = get_str(m, DS_NAME, d->name, sizeof(d->name));
	if (!ret)
		ret = get_str(m, DS_PRIMARY, d->primary, sizeof(d->primary));
	if (!ret)
		ret = get_u64(m, DS_MAXSIZE, &d->maximum_size);
	if (!ret)
		ret = get_i64(m, DS_CREATED, &d->created);
	if (!ret)
		ret = get_dup(m, DS_META, &d->metadata);
	free(mem);
	if (ret)
		fl_ds_clear(d);
	return ret;
}

int fl_state_dec_lease(const char *uuid, const void *p, size_t len, struct fl_lease *l)
{
	const struct fl_pv *m;
	uint64_t kind = 0;
	void *mem;
	int ret;

	memset(l, 0, sizeof(*l));
	ret = dec_open(p, len, &m, &mem);
	if (ret)
		return ret;
	snprintf(l->uuid, sizeof(l->uuid), "%s", uuid);
	ret = get_str(m, LE_NODE, l->node, sizeof(l->node));
	if (!ret)
		ret = get_str(m, LE_NODE_NAME, l->node_name, sizeof(l->node_name));
	if (!ret)
		ret = get_i64(m, LE_SINCE, &l->since);
	if (!ret)
		ret = get_i64(m, LE_EXPIRES, &l->expires);
	if (!ret)
		ret = get_u64(m, LE_KIND, &kind);
	if (!ret && kind != FL_LEASE_AGENT && kind != FL_LEASE_OPERATOR)
		ret = -EIO;
	l->kind = (uint32_t)kind;
	free(mem);
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
	const struct fl_pv *m;
	void *mem;
	int ret;

	memset(n, 0, sizeof(*n));
	ret = dec_open(p, len, &m, &mem);
	if (ret)
		return ret;
	snprintf(n->uuid, sizeof(n->uuid), "%s", uuid);
	ret = get_str(m, ND_NAME, n->name, sizeof(n->name));
	if (!ret)
		ret = get_i64(m, ND_FIRST, &n->first_seen);
	if (!ret)
		ret = get_i64(m, ND_LAST, &n->last_seen);
	if (!ret)
		ret = get_str(m, ND_ADDR, n->addr, sizeof(n->addr));
	if (!ret)
		ret = get_str(m, ND_HOST, n->host, sizeof(n->host));
	free(mem);
	return ret;
}
