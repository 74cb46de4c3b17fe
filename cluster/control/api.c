/*
 * flockerfs — flocker-control's operator API over HTTPS (see api.h): one
 * handler per route, each ending in exactly one reply.
 */
#include "cluster/control/api.h"
#include "cluster/control/api_priv.h"
#include "cluster/control/ctl_metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "flocker/log.h"
#include "flocker/proto.h"
#include "fs/util/uuid.h"
#include "fs/volume/snapshot.h"
#include "fs/volume/volume.h"

#ifndef FLOCKER_VERSION
#define FLOCKER_VERSION "0.1.0"
#endif

struct fl_api {
	struct event_base *base;
	struct fl_ctl *ctl;
	struct evhttp *http;
	SSL_CTX *ctx;
};

/* ------------------------------------------------------------------ */
/* bounded request parsing */

int fl_json_depth(const char *p, size_t len, int max)
{
	int depth = 0, deepest = 0;
	bool in_str = false;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = p[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				return -E2BIG;
			if (depth > deepest)
				deepest = depth;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return deepest;
}

/* Loads a JSON object body within the bounds; NULL and a message otherwise. */
static json_t *load_body(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j;

	if (len > FL_API_BODY_MAX) {
		fl_seterr(err, errlen, "request body over %d bytes", FL_API_BODY_MAX);
		return NULL;
	}
	if (fl_json_depth(body, len, FL_API_DEPTH_MAX) < 0) {
		fl_seterr(err, errlen, "request body nested deeper than %d levels",
			  FL_API_DEPTH_MAX);
		return NULL;
	}
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		fl_seterr(err, errlen, "request body is not valid JSON: %s (line %d, column %d)",
			  je.text, je.line, je.column);
		return NULL;
	}
	if (!json_is_object(j)) {
		fl_seterr(err, errlen, "request body must be a JSON object");
		json_decref(j);
		return NULL;
	}
	return j;
}

/* A node given as uuid or name: only characters either can have. */
static int get_node(json_t *v, const char *what, char *out, size_t cap, char *err, size_t errlen)
{
	const char *s = json_string_value(v);
	size_t i;

	if (!s || !*s || strlen(s) >= cap || strlen(s) != json_string_length(v)) {
		fl_seterr(err, errlen, "%s must be a node uuid or name", what);
		return -EINVAL;
	}
	for (i = 0; s[i]; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.')) {
			fl_seterr(err, errlen, "%s must be a node uuid or name", what);
			return -EINVAL;
		}
	}
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

/* A dataset id: a uuid string (with no NUL inside). */
static int get_uuid(json_t *v, const char *what, char out[37], char *err, size_t errlen)
{
	const char *s = json_string_value(v);

	if (!s || strlen(s) != json_string_length(v) || !fl_uuid_valid(s)) {
		fl_seterr(err, errlen, "%s must be a uuid", what);
		return -EINVAL;
	}
	snprintf(out, 37, "%s", s);
	return 0;
}

void fl_api_ds_req_clear(struct fl_api_ds_req *r)
{
	free(r->metadata);
	memset(r, 0, sizeof(*r));
}

static int parse_metadata(json_t *meta, struct fl_api_ds_req *out, char *err, size_t errlen)
{
	json_t *rest = NULL, *v;
	const char *k;
	int ret = -EINVAL;

	if (!json_is_object(meta)) {
		fl_seterr(err, errlen, "metadata must be an object of strings");
		goto out;
	}
	if (json_object_size(meta) > FL_API_META_KEYS) {
		fl_seterr(err, errlen, "metadata has more than %d keys", FL_API_META_KEYS);
		goto out;
	}
	rest = json_object();
	if (!rest) {
		ret = -ENOMEM;
		goto out;
	}
	json_object_foreach(meta, k, v)
	{
		const char *s = json_string_value(v);

		if (!s || json_string_length(v) > FL_API_META_VAL ||
		    strlen(s) != json_string_length(v) || strlen(k) > 255) {
			fl_seterr(err, errlen,
				  "metadata value of '%.64s' must be a string of at most %d bytes",
				  k, FL_API_META_VAL);
			goto out;
		}
		if (!strcmp(k, "name")) {
			if (fl_volname_check(s, err, errlen))
				goto out;
			snprintf(out->name, sizeof(out->name), "%s", s);
			out->has_name = true;
		} else if (json_object_set(rest, k, v)) {
			ret = -ENOMEM;
			goto out;
		}
	}
	if (json_object_size(rest)) {
		out->metadata = json_dumps(rest, JSON_COMPACT | JSON_SORT_KEYS);
		if (!out->metadata) {
			ret = -ENOMEM;
			goto out;
		}
		if (strlen(out->metadata) > FL_CTL_META_MAX) {
			fl_seterr(err, errlen, "metadata over %d bytes", FL_CTL_META_MAX);
			goto out;
		}
	}
	ret = 0;
out:
	json_decref(rest);
	return ret;
}

/* "VOL" or "VOL@SNAP", both valid names. */
static bool from_valid(const char *s, char vol[FL_VOLNAME_MAX + 1], char snap[FL_VOLNAME_MAX + 1])
{
	int at = fl_snap_parse(s, vol, FL_VOLNAME_MAX + 1, snap, FL_VOLNAME_MAX + 1);

	return at >= 0 && fl_volname_valid(vol) && (!at || fl_volname_valid(snap));
}

/* One field k = v of a request body into out: 0, 1 for a field it does not
 * know, or -errno with err said. */
typedef int (*field_fn)(const char *k, json_t *v, void *out, char *err, size_t errlen);

/* Reads body, a JSON object, field by field through fn: 0 or -errno with err
 * said (an unknown field by its name). */
static int parse_fields(const char *body, size_t len, field_fn fn, void *out, char *err,
			size_t errlen)
{
	json_t *j = load_body(body, len, err, errlen), *v;
	const char *k;
	int ret = 0;

	if (!j)
		return -EINVAL;
	json_object_foreach(j, k, v)
	{
		ret = fn(k, v, out, err, errlen);
		if (ret == 1) {
			fl_seterr(err, errlen, "unknown field '%.64s'", k);
			ret = -EINVAL;
		}
		if (ret)
			break;
	}
	json_decref(j);
	return ret;
}

static int dataset_field(const char *k, json_t *v, void *arg, char *err, size_t errlen)
{
	struct fl_api_ds_req *out = arg;

	if (!strcmp(k, "primary")) {
		if (json_is_null(v))
			return 0;
		if (get_node(v, "primary", out->primary, sizeof(out->primary), err, errlen))
			return -EINVAL;
		out->has_primary = true;
	} else if (!strcmp(k, "maximum_size")) {
		json_int_t n;

		if (json_is_null(v))
			return 0;
		n = json_integer_value(v);
		if (!json_is_integer(v) || n < 0) {
			fl_seterr(err, errlen, "maximum_size must be a number of bytes or null");
			return -EINVAL;
		}
		out->maximum_size = (uint64_t)n;
		out->has_size = true;
	} else if (!strcmp(k, "metadata")) {
		return parse_metadata(v, out, err, errlen);
	} else if (!strcmp(k, "deleted")) {
		if (!json_is_boolean(v)) {
			fl_seterr(err, errlen, "deleted must be true or false");
			return -EINVAL;
		}
		out->deleted = json_is_true(v);
		out->has_deleted = true;
	} else if (!strcmp(k, "dataset_id")) {
		if (get_uuid(v, k, out->dataset_id, err, errlen))
			return -EINVAL;
		out->has_id = true;
	} else if (!strcmp(k, "from")) {
		const char *s = json_string_value(v);
		char vol[FL_VOLNAME_MAX + 1], snap[FL_VOLNAME_MAX + 1];

		if (!s || strlen(s) != json_string_length(v) || strlen(s) >= sizeof(out->from) ||
		    !from_valid(s, vol, snap)) {
			fl_seterr(err, errlen, "from must be a volume name, or VOLUME@SNAPSHOT");
			return -EINVAL;
		}
		snprintf(out->from, sizeof(out->from), "%s", s);
		out->has_from = true;
	} else {
		return 1;
	}
	return 0;
}

static int snapshot_field(const char *k, json_t *v, void *arg, char *err, size_t errlen)
{
	struct fl_api_snap_req *out = arg;
	const char *s = json_string_value(v);
	bool ok = s && strlen(s) == json_string_length(v);

	if (!strcmp(k, "dataset_id")) {
		if (get_uuid(v, k, out->dataset_id, err, errlen))
			return -EINVAL;
		out->has_id = true;
	} else if (!strcmp(k, "volume") || !strcmp(k, "name")) {
		bool vol = !strcmp(k, "volume");

		if (!ok || !fl_volname_valid(s)) {
			fl_seterr(
				err, errlen,
				"%s must be a %s name: 1 to %d of [a-zA-Z0-9_.-], starting with a letter or digit",
				k, vol ? "volume" : "snapshot", FL_VOLNAME_MAX);
			return -EINVAL;
		}
		snprintf(vol ? out->volume : out->name, sizeof(out->name), "%s", s);
		if (vol)
			out->has_volume = true;
		else
			out->has_name = true;
	} else {
		return 1;
	}
	return 0;
}

struct lease_ctx {
	struct fl_api_lease_req *out;
	bool have_id, have_node;
};

static int lease_field(const char *k, json_t *v, void *arg, char *err, size_t errlen)
{
	struct lease_ctx *x = arg;
	struct fl_api_lease_req *out = x->out;

	if (!strcmp(k, "dataset_id")) {
		if (get_uuid(v, k, out->dataset_id, err, errlen))
			return -EINVAL;
		x->have_id = true;
	} else if (!strcmp(k, "node_uuid")) {
		if (get_node(v, "node_uuid", out->node, sizeof(out->node), err, errlen))
			return -EINVAL;
		x->have_node = true;
	} else if (!strcmp(k, "expires")) {
		double d;

		if (json_is_null(v))
			return 0;
		d = json_number_value(v);
		if (!json_is_number(v) || !isfinite(d) || d < 0 || d > 10 * 365 * 86400.0) {
			fl_seterr(err, errlen,
				  "expires must be a number of seconds (up to ten years) or null");
			return -EINVAL;
		}
		out->expires = d;
		out->expires_null = false;
	} else {
		return 1;
	}
	return 0;
}

int fl_api_parse_dataset(const char *body, size_t len, struct fl_api_ds_req *out, char *err,
			 size_t errlen)
{
	int ret;

	memset(out, 0, sizeof(*out));
	ret = parse_fields(body, len, dataset_field, out, err, errlen);
	if (ret) {
		free(out->metadata);
		out->metadata = NULL;
	}
	return ret;
}

/* 0 when ok, else -EINVAL with err saying what (a request misses fields). */
static int need(bool ok, const char *what, char *err, size_t errlen)
{
	if (ok)
		return 0;
	fl_seterr(err, errlen, "%s", what);
	return -EINVAL;
}

int fl_api_parse_snapshot(const char *body, size_t len, struct fl_api_snap_req *out, char *err,
			  size_t errlen)
{
	int ret;

	memset(out, 0, sizeof(*out));
	ret = parse_fields(body, len, snapshot_field, out, err, errlen);
	return ret ? ret
		   : need(out->has_name && out->has_id != out->has_volume,
			  "a snapshot needs name and either dataset_id or volume (its volume)", err,
			  errlen);
}

int fl_api_parse_lease(const char *body, size_t len, struct fl_api_lease_req *out, char *err,
		       size_t errlen)
{
	struct lease_ctx x = {out, false, false};
	int ret;

	memset(out, 0, sizeof(*out));
	out->expires_null = true;
	ret = parse_fields(body, len, lease_field, &x, err, errlen);
	return ret ? ret
		   : need(x.have_id && x.have_node, "a lease needs dataset_id and node_uuid", err,
			  errlen);
}

/* ------------------------------------------------------------------ */
/* replies */

static void add_tag(struct fl_api *a, struct evhttp_request *req)
{
	char tag[32];

	snprintf(tag, sizeof(tag), "%" PRIu64, fl_state_tag(a->ctl->state));
	evhttp_add_header(evhttp_request_get_output_headers(req), "X-Configuration-Tag", tag);
}

/* Sends code with j as the body (stolen). */
static void reply_json(struct fl_api *a, struct evhttp_request *req, int code, json_t *j)
{
	struct evbuffer *out = evbuffer_new();
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	const char *reason;

	json_decref(j);
	switch (code) {
	case 200:
		reason = "OK";
		break;
	case 201:
		reason = "Created";
		break;
	case 400:
		reason = "Bad Request";
		break;
	case 403:
		reason = "Forbidden";
		break;
	case 404:
		reason = "Not Found";
		break;
	case 405:
		reason = "Method Not Allowed";
		break;
	case 409:
		reason = "Conflict";
		break;
	case 412:
		reason = "Precondition Failed";
		break;
	case 413:
		reason = "Payload Too Large";
		break;
	case 503:
		reason = "Service Unavailable";
		break;
	case 504:
		reason = "Gateway Timeout";
		break;
	default:
		reason = "Internal Server Error";
		break;
	}
	add_tag(a, req);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	if (out && text)
		evbuffer_add(out, text, strlen(text));
	else if (out)
		evbuffer_add_printf(out, "{\"description\": \"out of memory\"}");
	fl_cm_api_end(req, code);
	evhttp_send_reply(req, code, reason, out);
	if (out)
		evbuffer_free(out);
	free(text);
}

static void reply_err(struct fl_api *a, struct evhttp_request *req, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void reply_err(struct fl_api *a, struct evhttp_request *req, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_json(a, req, code, json_pack("{s:s}", "description", msg));
}

/* HTTP status for a negative errno of the core. */
static int http_status(int err)
{
	switch (err) {
	case -ENOENT:
		return 404;
	case -EEXIST:
	case -EBUSY:
	case -EAGAIN:
		return 409;
	case -ESTALE:
		return 412;
	case -EINVAL:
	case -E2BIG:
	case -ENAMETOOLONG:
		return 400;
	case -ECANCELED:
	case -ESHUTDOWN:
		return 503;
	case -ETIMEDOUT:
		return 504;
	default:
		return 500;
	}
}

/* ------------------------------------------------------------------ */
/* views */

static json_t *node_ref(struct fl_api *a, const char *uuid)
{
	(void)a;
	return uuid && *uuid ? json_string(uuid) : json_null();
}

static const char *node_name(struct fl_api *a, const char *uuid)
{
	const struct fl_node_rec *n = uuid && *uuid ? fl_state_node(a->ctl->state, uuid) : NULL;

	return n ? n->name : "";
}

static json_t *metadata_json(const char *text, const char *name)
{
	json_t *m = text ? json_loads(text, 0, NULL) : NULL;

	if (!json_is_object(m)) {
		json_decref(m);
		m = json_object();
	}
	json_object_set_new(m, "name", json_string(name));
	return m;
}

/* A live dataset: registry record plus the control's extras. */
static json_t *dataset_json(struct fl_api *a, const char *name, const struct fl_volreg_rec *r)
{
	const struct fl_ds *d = fl_state_ds(a->ctl->state, r->uuid);
	const struct fl_lease *l = fl_state_lease(a->ctl->state, r->uuid);
	const char *primary = l ? l->node : (d && d->primary[0] ? d->primary : NULL);
	json_t *j = json_object();

	json_object_set_new(j, "dataset_id", json_string(r->uuid));
	json_object_set_new(j, "primary", node_ref(a, primary));
	json_object_set_new(j, "primary_name", json_string(node_name(a, primary)));
	json_object_set_new(j, "maximum_size",
			    r->size_limit ? json_integer((json_int_t)r->size_limit) : json_null());
	json_object_set_new(j, "metadata", metadata_json(d ? d->metadata : NULL, name));
	json_object_set_new(j, "deleted", json_false());
	json_object_set_new(j, "created", json_integer(r->created));
	return j;
}

static json_t *trash_json(const struct fl_trash *t)
{
	json_t *j = json_object();

	json_object_set_new(j, "dataset_id", json_string(t->uuid));
	json_object_set_new(j, "primary", json_null());
	json_object_set_new(j, "primary_name", json_string(""));
	json_object_set_new(j, "maximum_size",
			    t->reg.size_limit ? json_integer((json_int_t)t->reg.size_limit)
					      : json_null());
	json_object_set_new(j, "metadata", metadata_json(t->metadata, t->name));
	json_object_set_new(j, "deleted", json_true());
	json_object_set_new(j, "created", json_integer(t->reg.created));
	json_object_set_new(j, "removed_at", json_integer(t->removed));
	json_object_set_new(j, "purge_at", json_integer(t->purge_at));
	return j;
}

static json_t *lease_json(const struct fl_lease *l)
{
	json_t *j = json_object();
	int64_t now = time(NULL);

	json_object_set_new(j, "dataset_id", json_string(l->uuid));
	json_object_set_new(j, "node_uuid", json_string(l->node));
	json_object_set_new(j, "node", json_string(l->node_name));
	json_object_set_new(j, "expires",
			    l->expires ? json_real((double)(l->expires - now)) : json_null());
	json_object_set_new(j, "since", json_integer(l->since));
	json_object_set_new(j, "kind",
			    json_string(l->kind == FL_LEASE_OPERATOR ? "operator" : "agent"));
	return j;
}

/* A node given by uuid or name: its uuid and name, or -ENOENT. */
static int resolve_node(struct fl_api *a, const char *ref, char uuid[37], char name[64])
{
	const struct fl_node_rec *n = fl_state_node(a->ctl->state, ref);

	if (!n)
		n = fl_state_node_by_name(a->ctl->state, ref);
	if (!n)
		return -ENOENT;
	snprintf(uuid, 37, "%s", n->uuid);
	snprintf(name, 64, "%s", n->name);
	return 0;
}

/* ------------------------------------------------------------------ */
/* routes */

struct ds_list {
	struct fl_api *a;
	json_t *arr;
};

static int ds_list_cb(void *arg, const char *name, const struct fl_volreg_rec *r)
{
	struct ds_list *l = arg;

	json_array_append_new(l->arr, dataset_json(l->a, name, r));
	return 0;
}

static void get_datasets(struct fl_api *a, struct evhttp_request *req)
{
	struct ds_list l = {a, json_array()};
	const struct fl_trash *t;
	size_t i;
	int ret;

	ret = fl_state_volumes(a->ctl->state, ds_list_cb, &l);
	if (ret) {
		json_decref(l.arr);
		reply_err(a, req, 500, "cannot list volumes: %s", strerror(-ret));
		return;
	}
	for (i = 0; (t = fl_state_trash_at(a->ctl->state, i)); i++)
		json_array_append_new(l.arr, trash_json(t));
	reply_json(a, req, 200, l.arr);
}

/* The X-If-Configuration-Matches condition: 0 none, else the tag; -1 malformed. */
static int64_t if_matches(struct evhttp_request *req, uint64_t *tag)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req),
					   "X-If-Configuration-Matches");
	char *end;

	*tag = 0;
	if (!h)
		return 0;
	while (*h == ' ' || *h == '"')
		h++;
	errno = 0;
	*tag = strtoull(h, &end, 10);
	while (*end == ' ' || *end == '"')
		end++;
	if (errno || *end || *tag == 0)
		return -1;
	return 1;
}

/* Checks the condition now: false after a 412 was sent. */
static bool precondition(struct fl_api *a, struct evhttp_request *req, uint64_t *tag)
{
	int64_t r = if_matches(req, tag);

	if (r < 0 || (r > 0 && *tag != fl_state_tag(a->ctl->state))) {
		reply_err(
			a, req, 412,
			"the configuration changed: X-If-Configuration-Matches no longer matches X-Configuration-Tag %" PRIu64,
			fl_state_tag(a->ctl->state));
		return false;
	}
	return true;
}

/* The request body, or NULL after an error reply. */
static char *body_of(struct fl_api *a, struct evhttp_request *req, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	char *p;

	if (n > FL_API_BODY_MAX) {
		reply_err(a, req, 413, "request body over %d bytes", FL_API_BODY_MAX);
		return NULL;
	}
	p = malloc(n + 1);
	if (!p) {
		reply_err(a, req, 500, "out of memory");
		return NULL;
	}
	evbuffer_copyout(in, p, n);
	p[n] = '\0';
	*len = n;
	return p;
}

/* The precondition, then the body parsed into out: false after an error reply
 * (412, 413, 500 or 400), true with out filled (the caller clears it). */
static bool request_of(struct fl_api *a, struct evhttp_request *req, uint64_t *tag,
		       fl_api_parse_fn parse, void *out)
{
	char err[512] = "";
	size_t len;
	char *body;
	int ret;

	if (!precondition(a, req, tag))
		return false;
	body = body_of(a, req, &len);
	if (!body)
		return false;
	ret = parse(body, len, out, err, sizeof(err));
	free(body);
	if (ret) {
		reply_err(a, req, 400, "%s", err);
		return false;
	}
	return true;
}

static int parse_dataset_any(const char *body, size_t len, void *out, char *err, size_t errlen)
{
	return fl_api_parse_dataset(body, len, out, err, errlen);
}

static int parse_lease_any(const char *body, size_t len, void *out, char *err, size_t errlen)
{
	return fl_api_parse_lease(body, len, out, err, errlen);
}

static void post_datasets(struct fl_api *a, struct evhttp_request *req)
{
	struct fl_api_ds_req r;
	char nuuid[37] = "", nname[64];
	uint64_t tag;

	if (!request_of(a, req, &tag, parse_dataset_any, &r))
		return;
	if (!r.has_name) {
		reply_err(a, req, 400, "metadata.name is required: the volume's name");
		goto out;
	}
	if (r.has_id) {
		reply_err(a, req, 400, "dataset_id cannot be chosen: it is the new volume's uuid");
		goto out;
	}
	if (r.has_deleted && r.deleted) {
		reply_err(a, req, 400, "a new dataset cannot be deleted");
		goto out;
	}
	if (r.has_from && r.has_size) {
		reply_err(
			a, req, 400,
			"maximum_size and from do not go together: a clone has its parent's size limit");
		goto out;
	}
	if (r.has_primary && resolve_node(a, r.primary, nuuid, nname)) {
		reply_err(a, req, 400, "unknown node %s", r.primary);
		goto out;
	}
	fl_api_ds_create(a, req, &r, nuuid, tag); /* replies when the volume is made */
out:
	fl_api_ds_req_clear(&r);
}

struct api_wait {
	struct fl_api *a;
	struct evhttp_request *req;
	char uuid[37];
	int ok_code;
	bool lease_view;
};

static void move_done(void *arg, int err, const char *msg)
{
	struct api_wait *w = arg;
	struct fl_volreg_rec r;
	char name[FL_VOLNAME_MAX + 1];
	const struct fl_lease *l;

	if (err) {
		reply_err(w->a, w->req, http_status(err), "%s", msg && *msg ? msg : strerror(-err));
	} else if (w->lease_view && (l = fl_state_lease(w->a->ctl->state, w->uuid))) {
		reply_json(w->a, w->req, w->ok_code, lease_json(l));
	} else if (fl_state_volume_by_uuid(w->a->ctl->state, w->uuid, name, &r) == 0) {
		reply_json(w->a, w->req, w->ok_code, dataset_json(w->a, name, &r));
	} else {
		reply_err(w->a, w->req, 404, "dataset %s was removed meanwhile", w->uuid);
	}
	free(w);
}

/* Asks the lease q (its uuid, kind, expires and expect_tag set) of a dataset
 * for the node named node_ref; replies once it is granted or refused: with the
 * lease in lease_view (201), else with the dataset (200). */
static void acquire(struct fl_api *a, struct evhttp_request *req, struct fl_acq_req *q,
		    const char *node_ref, bool lease_view)
{
	char name[FL_VOLNAME_MAX + 1], nuuid[37], nname[64];
	struct fl_volreg_rec reg;
	struct api_wait *w;
	int ret;

	ret = fl_state_volume_by_uuid(a->ctl->state, q->uuid, name, &reg);
	if (ret) {
		reply_err(a, req, ret == -ENOENT ? 404 : 500, "no such dataset: %s", q->uuid);
		return;
	}
	if (resolve_node(a, node_ref, nuuid, nname)) {
		reply_err(a, req, 400, "unknown node %s", node_ref);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		reply_err(a, req, 500, "out of memory");
		return;
	}
	w->a = a;
	w->req = req;
	w->ok_code = lease_view ? 201 : 200;
	w->lease_view = lease_view;
	snprintf(w->uuid, sizeof(w->uuid), "%.36s", q->uuid);
	q->name = name;
	q->node = nuuid;
	q->node_name = nname;
	if (q->kind == FL_LEASE_AGENT) /* through the API: a move */
		fl_notice("moving dataset %s (%s) to node %s", name, q->uuid, nname);
	fl_ctl_acquire(a->ctl, q, move_done, w);
}

static void restore(struct fl_api *a, struct evhttp_request *req, const char *uuid,
		    const struct fl_api_ds_req *r, uint64_t tag)
{
	struct fl_volreg_rec reg;
	char err[512] = "", name[FL_VOLNAME_MAX + 1];
	int ret;

	if (!fl_state_trash(a->ctl->state, uuid)) {
		if (fl_state_volume_by_uuid(a->ctl->state, uuid, name, &reg) == 0)
			reply_json(a, req, 200, dataset_json(a, name, &reg));
		else
			reply_err(a, req, 404, "no such dataset: %s", uuid);
		return;
	}
	ret = fl_state_ds_restore(a->ctl->state, uuid, r->has_name ? r->name : NULL, tag, err,
				  sizeof(err));
	if (ret) {
		reply_err(a, req, http_status(ret), "%s", err);
		return;
	}
	if (fl_state_volume_by_uuid(a->ctl->state, uuid, name, &reg)) {
		reply_err(a, req, 500, "dataset %s restored but not found", uuid);
		return;
	}
	fl_notice("dataset %s (%s) restored from the trash", name, uuid);
	reply_json(a, req, 200, dataset_json(a, name, &reg));
}

static void post_dataset(struct fl_api *a, struct evhttp_request *req, const char *uuid)
{
	struct fl_api_ds_req r;
	struct fl_acq_req q = {0};
	uint64_t tag;

	if (!request_of(a, req, &tag, parse_dataset_any, &r))
		return;
	if (r.has_deleted && !r.deleted) {
		restore(a, req, uuid, &r, tag);
		goto out;
	}
	if (r.has_deleted || r.has_size || r.metadata || r.has_id ||
	    (r.has_name && !r.has_primary)) {
		reply_err(
			a, req, 400,
			"only primary (a move) or deleted=false (a restore) can change; resize with flockerctl volume resize");
		goto out;
	}
	if (!r.has_primary) {
		reply_err(a, req, 400, "nothing to change: give primary (a move)");
		goto out;
	}
	q.uuid = uuid;
	q.kind = FL_LEASE_AGENT;
	q.expect_tag = tag;
	acquire(a, req, &q, r.primary, false);
out:
	fl_api_ds_req_clear(&r);
}

static void delete_dataset(struct fl_api *a, struct evhttp_request *req, const char *uuid)
{
	uint64_t tag;

	if (!precondition(a, req, &tag))
		return;
	fl_api_ds_remove(a, req, uuid, tag); /* replies once the writer check ran */
}

static void get_state_datasets(struct fl_api *a, struct evhttp_request *req)
{
	json_t *arr = json_array();
	struct fl_node_live *n;
	size_t i;

	for (n = a->ctl->nodes; n; n = n->next) {
		if (!fl_ctl_node_alive(a->ctl, n))
			continue;
		for (i = 0; i < n->nmounts; i++) {
			const struct fl_mount_rep *m = &n->mounts[i];
			struct fl_volreg_rec r;
			json_t *j = json_object();

			json_object_set_new(j, "dataset_id", json_string(m->uuid));
			json_object_set_new(j, "primary", json_string(n->uuid));
			json_object_set_new(j, "primary_name", json_string(n->name));
			if (fl_state_volume_by_name(a->ctl->state, m->name, &r) == 0 &&
			    r.size_limit)
				json_object_set_new(j, "maximum_size",
						    json_integer((json_int_t)r.size_limit));
			else
				json_object_set_new(j, "maximum_size", json_null());
			json_object_set_new(j, "path", json_string(m->path));
			json_object_set_new(j, "users", json_integer(m->users));
			json_object_set_new(j, "dead",
					    m->dead[0] ? json_string(m->dead) : json_null());
			json_array_append_new(arr, j);
		}
	}
	reply_json(a, req, 200, arr);
}

static void get_state_nodes(struct fl_api *a, struct evhttp_request *req)
{
	json_t *arr = json_array();
	const struct fl_node_rec *nr;
	size_t i;

	for (i = 0; (nr = fl_state_node_at(a->ctl->state, i)); i++) {
		struct fl_node_live *n = fl_ctl_node(a->ctl, nr->uuid);
		json_t *j = json_object();

		json_object_set_new(j, "uuid", json_string(nr->uuid));
		json_object_set_new(j, "host", json_string(nr->name));
		json_object_set_new(j, "hostname", json_string(nr->host));
		json_object_set_new(j, "address", json_string(nr->addr));
		json_object_set_new(j, "alive", json_boolean(fl_ctl_node_alive(a->ctl, n)));
		json_object_set_new(j, "connected", json_boolean(n && n->sess));
		json_object_set_new(j, "last_seen",
				    json_integer(n && n->sess ? (json_int_t)time(NULL)
							      : (json_int_t)nr->last_seen));
		json_object_set_new(j, "mounts", json_integer(n ? (json_int_t)n->nmounts : 0));
		json_array_append_new(arr, j);
	}
	reply_json(a, req, 200, arr);
}

static void get_leases(struct fl_api *a, struct evhttp_request *req)
{
	json_t *arr = json_array();
	const struct fl_lease *l;
	size_t i;

	for (i = 0; (l = fl_state_lease_at(a->ctl->state, i)); i++)
		json_array_append_new(arr, lease_json(l));
	reply_json(a, req, 200, arr);
}

static void post_leases(struct fl_api *a, struct evhttp_request *req)
{
	struct fl_api_lease_req r;
	struct fl_acq_req q = {0};
	uint64_t tag;

	if (!request_of(a, req, &tag, parse_lease_any, &r))
		return;
	q.uuid = r.dataset_id;
	q.kind = FL_LEASE_OPERATOR;
	q.expires = r.expires_null ? 0 : (int64_t)time(NULL) + (int64_t)ceil(r.expires);
	if (!r.expires_null && q.expires == 0)
		q.expires = 1;
	q.expect_tag = tag;
	acquire(a, req, &q, r.node, true);
}

static void delete_lease(struct fl_api *a, struct evhttp_request *req, const char *uuid)
{
	const struct fl_lease *l = fl_state_lease(a->ctl->state, uuid);
	char err[512] = "";
	struct fl_lease old;
	uint64_t tag;
	int ret;

	if (!precondition(a, req, &tag))
		return;
	if (!l) {
		reply_err(a, req, 404, "dataset %s has no lease", uuid);
		return;
	}
	old = *l;
	ret = fl_state_lease_del(a->ctl->state, uuid, &old, tag, err, sizeof(err));
	if (ret) {
		reply_err(a, req, http_status(ret), "%s", err);
		return;
	}
	fl_notice("lease of dataset %s (node %s) released by an operator", uuid, old.node_name);
	reply_json(a, req, 200, lease_json(&old));
}

/* The path's last segment after prefix, if it is a uuid. */
static const char *id_after(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(path, prefix, n) || !fl_uuid_valid(path + n))
		return NULL;
	return path + n;
}

static void get_version(struct fl_api *a, struct evhttp_request *req)
{
	reply_json(a, req, 200, json_pack("{s:s}", "flocker", "flockerfs-" FLOCKER_VERSION));
}

/* A resource of the API: an exact path, or (ending in '/') a path followed by
 * a dataset id; its handler for each method it takes. */
struct route {
	const char *path;
	void (*get)(struct fl_api *a, struct evhttp_request *req);
	void (*post)(struct fl_api *a, struct evhttp_request *req);
	void (*post_id)(struct fl_api *a, struct evhttp_request *req, const char *id);
	void (*delete_id)(struct fl_api *a, struct evhttp_request *req, const char *id);
};

static const struct route routes[] = {
	{"/v1/version", get_version, NULL, NULL, NULL},
	{"/v1/configuration/datasets", get_datasets, post_datasets, NULL, NULL},
	{"/v1/configuration/datasets/", NULL, NULL, post_dataset, delete_dataset},
	{"/v1/state/datasets", get_state_datasets, NULL, NULL, NULL},
	{"/v1/state/nodes", get_state_nodes, NULL, NULL, NULL},
	{"/v1/configuration/leases", get_leases, post_leases, NULL, NULL},
	{"/v1/configuration/leases/", NULL, NULL, NULL, delete_lease},
};

/* The route of path p (and *id, the dataset id in it), or NULL. */
static const struct route *route_of(const char *p, const char **id)
{
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const char *path = routes[i].path;

		if (path[strlen(path) - 1] == '/' ? (*id = id_after(p, path)) != NULL
						  : !strcmp(p, path))
			return &routes[i];
	}
	return NULL;
}

/* Runs r's handler of method m, or answers 405 with the methods r takes. */
static void route_call(struct fl_api *a, struct evhttp_request *req, enum evhttp_cmd_type m,
		       const struct route *r, const char *id)
{
	char use[32] = "";

	if (m == EVHTTP_REQ_GET && r->get) {
		r->get(a, req);
	} else if (m == EVHTTP_REQ_POST && r->post) {
		r->post(a, req);
	} else if (m == EVHTTP_REQ_POST && r->post_id) {
		r->post_id(a, req, id);
	} else if (m == EVHTTP_REQ_DELETE && r->delete_id) {
		r->delete_id(a, req, id);
	} else {
		if (r->get)
			snprintf(use, sizeof(use), "GET");
		if (r->post || r->post_id)
			snprintf(use + strlen(use), sizeof(use) - strlen(use), "%sPOST",
				 use[0] ? " or " : "");
		if (r->delete_id)
			snprintf(use + strlen(use), sizeof(use) - strlen(use), "%sDELETE",
				 use[0] ? " or " : "");
		reply_err(a, req, 405, "use %s", use);
	}
}

static void handle(struct evhttp_request *req, void *arg)
{
	struct fl_api *a = arg;
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
	const struct route *r;
	struct fl_peer peer;
	const char *id = NULL;
	char p[256];
	size_t n;

	fl_cm_api_begin(req);
	if (!ssl || fl_tls_peer(ssl, &peer) || peer.role != FL_ROLE_USER) {
		reply_err(a, req, 403, "a user certificate of this cluster is required");
		return;
	}
	if (fl_state_fenced(a->ctl->state)) {
		reply_err(a, req, 503, "this control service is no longer the leader");
		return;
	}
	if (!path || strlen(path) >= sizeof(p)) {
		reply_err(a, req, 404, "no such resource");
		return;
	}
	/* one trailing slash is tolerated */
	snprintf(p, sizeof(p), "%s", path);
	n = strlen(p);
	if (n > 1 && p[n - 1] == '/')
		p[n - 1] = '\0';
	if (m != EVHTTP_REQ_GET)
		fl_info("api: %s %s by user %s",
			m == EVHTTP_REQ_POST ? "POST" : (m == EVHTTP_REQ_DELETE ? "DELETE" : "?"),
			p, peer.name);

	r = route_of(p, &id);
	if (r) {
		route_call(a, req, m, r, id);
	} else if (!strcmp(p, "/v1/configuration/snapshots") ||
		   !strncmp(p, "/v1/configuration/snapshots/", 28)) {
		fl_api_snap_route(a, req, m, p);
	} else if (!strncmp(p, "/v1/configuration/datasets/", 27) ||
		   !strncmp(p, "/v1/configuration/leases/", 25)) {
		reply_err(a, req, 404, "not a dataset id: %.64s", strrchr(p, '/') + 1);
	} else {
		reply_err(a, req, 404, "no such resource: %.128s", p);
	}
}

/* ------------------------------------------------------------------ */
/* for api_snap.c (api_priv.h) */

struct fl_ctl *fl_api_ctl(struct fl_api *a)
{
	return a->ctl;
}

void fl_api_reply_json(struct fl_api *a, struct evhttp_request *req, int code, json_t *j)
{
	reply_json(a, req, code, j);
}

void fl_api_reply_err(struct fl_api *a, struct evhttp_request *req, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_err(a, req, code, "%s", msg);
}

int fl_api_http_status(int err)
{
	return http_status(err);
}

bool fl_api_precondition(struct fl_api *a, struct evhttp_request *req, uint64_t *tag)
{
	return precondition(a, req, tag);
}

bool fl_api_request(struct fl_api *a, struct evhttp_request *req, uint64_t *tag,
		    fl_api_parse_fn parse, void *out)
{
	return request_of(a, req, tag, parse, out);
}

json_t *fl_api_dataset_json(struct fl_api *a, const char *name, const struct fl_volreg_rec *r)
{
	return dataset_json(a, name, r);
}

json_t *fl_api_trash_json(const struct fl_trash *t)
{
	return trash_json(t);
}

static struct bufferevent *bevcb(struct event_base *base, void *arg)
{
	struct fl_api *a = arg;
	SSL *ssl = SSL_new(a->ctx);
	struct bufferevent *bev;

	if (!ssl)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

int fl_api_new(struct event_base *base, struct fl_ctl *ctl, const char *certs, const char *bind,
	       unsigned port, struct fl_api **out, char *err, size_t errlen)
{
	struct fl_api *a = calloc(1, sizeof(*a));
	int ret = -EINVAL;

	*out = NULL;
	if (!a)
		return -ENOMEM;
	a->base = base;
	a->ctl = ctl;
	a->ctx = fl_tls_server_ctx(certs, "control", FL_ROLE_USER, err, errlen);
	if (!a->ctx || fl_tls_linger_refusals(a->ctx, base))
		goto out_err;
	a->http = evhttp_new(base);
	if (!a->http) {
		ret = -ENOMEM;
		goto out_err;
	}
	evhttp_set_bevcb(a->http, bevcb, a);
	evhttp_set_gencb(a->http, handle, a);
	evhttp_set_max_body_size(a->http, FL_API_BODY_MAX);
	evhttp_set_max_headers_size(a->http, 16384);
	evhttp_set_timeout(a->http, 60);
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE |
						    EVHTTP_REQ_PUT | EVHTTP_REQ_HEAD);
	if (!evhttp_bind_socket_with_handle(a->http, bind ? bind : "0.0.0.0",
					    (ev_uint16_t)(port ? port : FL_API_PORT))) {
		ret = -errno ? -errno : -EADDRINUSE;
		fl_seterr(err, errlen, "cannot listen on %s port %u: %s", bind ? bind : "0.0.0.0",
			  port ? port : FL_API_PORT, strerror(-ret));
		goto out_err;
	}
	*out = a;
	return 0;
out_err:
	fl_api_free(a);
	return ret;
}

void fl_api_free(struct fl_api *a)
{
	if (!a)
		return;
	if (a->http)
		evhttp_free(a->http);
	SSL_CTX_free(a->ctx);
	free(a);
}
