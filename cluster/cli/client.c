/*
 * flockerfs — flockerctl's cluster commands (see client.h): an HTTPS client
 * (libevent's evhttp over bufferevent_openssl: TLS 1.3, a user certificate,
 * the server must show the control role) and the tables.
 */
#include "cluster/cli/client.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "flocker/proto.h"
#include "cluster/net/tls.h"
#include "fs/util/fmt.h"
#include "fs/volume/volume.h"

#define CONNECT_TIMEOUT_MS 5000
#define IO_TIMEOUT_S	   90 /* a move may wait for the holder to unmount (30 s) */
#define RESP_MAX	   (32u << 20)

struct cli {
	const char *controls, *certs, *user;
	const char *size, *node, *to, *as, *if_tag, *expires;
	const char *metas[32];
	int nmetas;
	bool json, trash;
	int argc;
	char **argv; /* words after the options */
	SSL_CTX *ctx;
};

void fl_http_resp_free(struct fl_http_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static void die_usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "flockerctl: %s\n", msg);
	fprintf(stderr,
		"usage: flockerctl --control HOST[:PORT][,...] --certs DIR [--user NAME] [--json] COMMAND\n"
		"  node list\n"
		"  volume create NAME [--size SIZE] [--node NODE] [--meta KEY=VALUE]...\n"
		"  volume list [--trash]\n"
		"  volume move NAME --to NODE\n"
		"  volume remove NAME\n"
		"  volume restore NAME|UUID [--as NEW-NAME]\n"
		"  lease list\n"
		"  lease acquire NAME --node NODE [--expires SECONDS]\n"
		"  lease release NAME|UUID\n"
		"writes take --if-tag TAG: only if the configuration tag is still TAG.\n"
		"--control defaults to $FLOCKER_CONTROL, --certs to $FLOCKER_CERTS: with\n"
		"FLOCKER_CONTROL set, volume create, list, move, remove, restore and trash go\n"
		"through flocker-control too (FLOCKER_CONTROL= flockerctl ... works on RADOS).\n");
	exit(2);
}

/* ------------------------------------------------------------------ */
/* HTTPS */

/* The user certificate's base name in dir ("user-NAME"). */
static int find_user(const char *dir, const char *user, char *base, size_t len, char *err,
		     size_t errlen)
{
	struct dirent *e;
	DIR *d;
	int n = 0;

	if (user) {
		snprintf(base, len, "user-%s", user);
		return 0;
	}
	d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "cannot open certificate directory %s: %s", dir,
			 strerror(errno));
		return -errno;
	}
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (!strncmp(e->d_name, "user-", 5) && l > 9 &&
		    !strcmp(e->d_name + l - 4, ".crt")) {
			if (n++ == 0)
				snprintf(base, len, "%.*s", (int)(l - 4), e->d_name);
		}
	}
	closedir(d);
	if (n == 1)
		return 0;
	snprintf(err, errlen,
		 n ? "several user certificates in %s: choose one with --user NAME"
		   : "no user certificate in %s: make one with flockerctl ca user NAME --dir DIR",
		 dir);
	return -ENOENT;
}

/* The host and port of one control address, HOST[:PORT] or [V6]:PORT. */
static int split_spec(const char *spec, char *host, size_t hostlen, char port[8])
{
	const char *colon;
	size_t hl;

	snprintf(port, 8, "%d", 4523);
	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');

		if (!end)
			return -EINVAL;
		hl = (size_t)(end - spec - 1);
		spec++;
		colon = end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = strrchr(spec, ':');
		hl = colon ? (size_t)(colon - spec) : strlen(spec);
	}
	if (hl >= hostlen)
		return -EINVAL;
	snprintf(host, hostlen, "%.*s", (int)hl, spec);
	if (colon) {
		if (!colon[1] || strlen(colon + 1) >= 8)
			return -EINVAL;
		snprintf(port, 8, "%s", colon + 1);
	}
	return 0;
}

/* One exchange with one address of a control, over evhttp on a
 * bufferevent_openssl; what the callbacks saw. */
struct xfer {
	struct event_base *base;
	struct bufferevent *bev;
	struct fl_http_resp *r;
	bool connected;	     /* the TCP connection was made */
	bool handshake_done; /* TLS too */
	bool headers;	     /* the answer began */
	bool answered, timed_out, too_long, malformed;
	int sock_err; /* the system call's error of a failure */
	unsigned long tls_err;
};

static int xfer_idx = -1;

/* OpenSSL's view of the handshake: whether the connection was made (the
 * handshake starts once the socket is ready) and the errno of a failure. */
static void xfer_info_cb(const SSL *ssl, int where, int ret)
{
	struct xfer *x = SSL_get_ex_data(ssl, xfer_idx);
	struct sockaddr_storage sa;
	socklen_t sl = sizeof(sa);

	if (!x)
		return;
	if (where & SSL_CB_HANDSHAKE_START)
		x->connected = getpeername(SSL_get_fd(ssl), (struct sockaddr *)&sa, &sl) == 0;
	if (where & SSL_CB_HANDSHAKE_DONE)
		x->handshake_done = true;
	if ((where & SSL_CB_EXIT) && ret <= 0 && errno && errno != EAGAIN && errno != EINPROGRESS)
		x->sock_err = errno;
}

/* The failure's codes, while libevent still holds them. */
static void xfer_collect(struct xfer *x)
{
	unsigned long e;
	int se = EVUTIL_SOCKET_ERROR();

	/* libevent queues OpenSSL's codes and SSL_get_error's (library 0) */
	while ((e = bufferevent_get_openssl_error(x->bev)))
		if (!x->tls_err && ERR_GET_LIB(e))
			x->tls_err = e;
	if (se && se != EAGAIN && se != EINPROGRESS && !x->sock_err)
		x->sock_err = se;
}

static void xfer_error_cb(enum evhttp_request_error error, void *arg)
{
	struct xfer *x = arg;

	x->timed_out |= error == EVREQ_HTTP_TIMEOUT;
	x->too_long |= error == EVREQ_HTTP_DATA_TOO_LONG;
	x->malformed |= error == EVREQ_HTTP_INVALID_HEADER;
	xfer_collect(x);
}

static int xfer_header_cb(struct evhttp_request *req, void *arg)
{
	struct xfer *x = arg;

	(void)req;
	x->headers = true;
	return 0;
}

static void xfer_done_cb(struct evhttp_request *req, void *arg)
{
	struct xfer *x = arg;
	struct evbuffer *in;
	const char *tag;
	size_t n;

	event_base_loopexit(x->base, NULL);
	if (!req || evhttp_request_get_response_code(req) <= 0) {
		xfer_collect(x);
		return;
	}
	in = evhttp_request_get_input_buffer(req);
	n = evbuffer_get_length(in);
	x->r->body = malloc(n + 1);
	if (!x->r->body) {
		x->sock_err = ENOMEM;
		return;
	}
	evbuffer_remove(in, x->r->body, n);
	x->r->body[n] = '\0';
	x->r->len = n;
	x->r->status = evhttp_request_get_response_code(req);
	tag = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Configuration-Tag");
	if (tag)
		snprintf(x->r->tag, sizeof(x->r->tag), "%s", tag);
	x->answered = true;
}

/* A connection that is not made within CONNECT_TIMEOUT_MS is given up. */
static void xfer_connect_timer(evutil_socket_t fd, short what, void *arg)
{
	struct xfer *x = arg;
	struct sockaddr_storage sa;
	socklen_t sl = sizeof(sa);

	(void)fd;
	(void)what;
	if (getpeername(bufferevent_getfd(x->bev), (struct sockaddr *)&sa, &sl) == 0)
		return;
	x->sock_err = ETIMEDOUT;
	event_base_loopbreak(x->base);
}

static const struct {
	const char *name;
	enum evhttp_cmd_type type;
} methods[] = {
	{"GET", EVHTTP_REQ_GET},       {"POST", EVHTTP_REQ_POST},   {"PUT", EVHTTP_REQ_PUT},
	{"DELETE", EVHTTP_REQ_DELETE}, {"PATCH", EVHTTP_REQ_PATCH}, {"HEAD", EVHTTP_REQ_HEAD},
};

/* The request: its headers and body, and where its answer goes. */
static struct evhttp_request *make_request(struct xfer *x, const char *spec, const char *text,
					   const char *if_tag)
{
	struct evhttp_request *req = evhttp_request_new(xfer_done_cb, x);
	struct evkeyvalq *h;
	char clen[24];

	if (!req)
		return NULL;
	evhttp_request_set_error_cb(req, xfer_error_cb);
	evhttp_request_set_header_cb(req, xfer_header_cb);
	h = evhttp_request_get_output_headers(req);
	snprintf(clen, sizeof(clen), "%zu", text ? strlen(text) : 0);
	if (evhttp_add_header(h, "Host", spec) || evhttp_add_header(h, "Connection", "close") ||
	    evhttp_add_header(h, "Accept", "application/json") ||
	    evhttp_add_header(h, "Content-Type", "application/json") ||
	    evhttp_add_header(h, "Content-Length", clen) ||
	    (if_tag && evhttp_add_header(h, "X-If-Configuration-Matches", if_tag)) ||
	    (text && evbuffer_add(evhttp_request_get_output_buffer(req), text, strlen(text)))) {
		evhttp_request_free(req);
		return NULL;
	}
	return req;
}

/* Why the exchange x failed, as "SPEC: reason". */
static int xfer_why(const struct xfer *x, SSL *ssl, const char *spec, char *why, size_t whylen)
{
	char t[256];

	if (x->too_long) {
		snprintf(why, whylen, "%s: the answer is over %u bytes", spec, RESP_MAX);
		return -E2BIG;
	}
	if (x->malformed) {
		snprintf(why, whylen, "%s: malformed answer", spec);
		return -EPROTO;
	}
	if (!x->connected && !x->handshake_done) {
		snprintf(why, whylen, "%s: cannot connect: %s", spec,
			 strerror(x->sock_err ? x->sock_err : ECONNREFUSED));
		return -ECONNREFUSED;
	}
	if (x->tls_err || SSL_get_verify_result(ssl) != X509_V_OK)
		fl_tls_why_err(ssl, x->tls_err, t, sizeof(t));
	else if (x->timed_out)
		snprintf(t, sizeof(t), "no answer within %d s", IO_TIMEOUT_S);
	else if (x->sock_err)
		snprintf(t, sizeof(t), "%s", strerror(x->sock_err));
	else if (!x->headers && x->handshake_done)
		snprintf(t, sizeof(t), "closed the connection without an answer");
	else
		snprintf(t, sizeof(t), "the connection closed");
	if (!x->handshake_done)
		snprintf(why, whylen, "%s: TLS handshake failed: %s", spec, t);
	else
		snprintf(why, whylen, "%s: %s%s", spec,
			 x->headers ? "the connection broke during the answer: " : "", t);
	return -EIO;
}

/*
 * One request to one numeric address (host) of the control spec.  0 with *r
 * filled; or a negative errno with why, and *next true when another address
 * may be tried (nothing reached the server's handlers: no connection, a TLS
 * refusal, or a read-only request).
 */
static int request_addr(SSL_CTX *ctx, const char *spec, const char *host, int port,
			enum evhttp_cmd_type type, const char *path, const char *text,
			const char *if_tag, struct fl_http_resp *r, char *why, size_t whylen,
			bool *next)
{
	struct xfer x = {.r = r};
	struct evhttp_connection *evcon = NULL;
	struct evhttp_request *req;
	struct event *timer = NULL;
	struct timeval ctv = {CONNECT_TIMEOUT_MS / 1000, (CONNECT_TIMEOUT_MS % 1000) * 1000};
	SSL *ssl = SSL_new(ctx);
	int ret = -ENOMEM;

	*next = true;
	x.base = event_base_new();
	if (!ssl || !x.base || !SSL_set_ex_data(ssl, xfer_idx, &x))
		goto nomem;
	SSL_set_info_callback(ssl, xfer_info_cb);
	x.bev = bufferevent_openssl_socket_new(x.base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
					       BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!x.bev)
		goto nomem;
	bufferevent_openssl_set_allow_dirty_shutdown(x.bev, 1);
	evcon = evhttp_connection_base_bufferevent_new(x.base, NULL, x.bev, host,
						       (ev_uint16_t)port);
	timer = evtimer_new(x.base, xfer_connect_timer, &x);
	if (!evcon || !timer)
		goto nomem;
	evhttp_connection_set_timeout(evcon, IO_TIMEOUT_S);
	evhttp_connection_set_max_body_size(evcon, RESP_MAX);
	req = make_request(&x, spec, text, if_tag);
	if (!req || evhttp_make_request(evcon, req, type, path))
		goto nomem;
	evtimer_add(timer, &ctv);
	event_base_dispatch(x.base);
	ret = x.answered ? 0 : xfer_why(&x, ssl, spec, why, whylen);
	*next = !x.answered &&
		(!x.handshake_done || type == EVHTTP_REQ_GET || strstr(why, "refused") != NULL);
	goto out;
nomem:
	snprintf(why, whylen, "%s: out of memory", spec);
out:
	if (timer)
		event_free(timer);
	if (ssl)
		SSL_set_ex_data(ssl, xfer_idx, NULL);
	if (evcon)
		evhttp_connection_free(evcon); /* frees x.bev and ssl */
	else if (x.bev)
		bufferevent_free(x.bev);
	else if (ssl)
		SSL_free(ssl);
	if (x.base)
		event_base_free(x.base);
	return ret;
}

/* One request to one control address: each of its addresses in turn until
 * one connects. */
static int request_one(SSL_CTX *ctx, const char *spec, enum evhttp_cmd_type type, const char *path,
		       const char *text, const char *if_tag, struct fl_http_resp *r, char *why,
		       size_t whylen, bool *next)
{
	char host[256], port[8], num[INET6_ADDRSTRLEN];
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
	int ret;

	*next = true;
	if (split_spec(spec, host, sizeof(host), port)) {
		snprintf(why, whylen, "%s: invalid control address: use HOST[:PORT]", spec);
		return -EINVAL;
	}
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret) {
		snprintf(why, whylen, "%s: cannot resolve %s: %s", spec, host, gai_strerror(ret));
		return -EHOSTUNREACH;
	}
	ret = -ECONNREFUSED;
	for (ai = res; ai; ai = ai->ai_next) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, num, sizeof(num), NULL, 0,
				NI_NUMERICHOST))
			continue;
		ret = request_addr(ctx, spec, num, atoi(port), type, path, text, if_tag, r, why,
				   whylen, next);
		if (ret != -ECONNREFUSED)
			break;
	}
	freeaddrinfo(res);
	return ret;
}

/*
 * One request; tries each control address in turn until one answers (a
 * standby does not listen).  When none does, err names each address tried
 * with its reason.
 */
int fl_cluster_request(SSL_CTX *ctx, const char *controls, const char *method, const char *path,
		       const char *text, const char *if_tag, struct fl_http_resp *r, char *err,
		       size_t errlen)
{
	char *list = strdup(controls), *save = NULL, *spec;
	char why[600];
	size_t used = 0, i;
	bool next = true;
	int ret = -EINVAL, n, tried = 0;

	memset(r, 0, sizeof(*r));
	if (err && errlen)
		err[0] = '\0';
	if (!list) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (!strcmp(methods[i].name, method))
			break;
	if (i == sizeof(methods) / sizeof(methods[0])) {
		snprintf(err, errlen, "unknown HTTP method %s", method);
		free(list);
		return -EINVAL;
	}
	if (xfer_idx < 0)
		xfer_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	for (spec = strtok_r(list, ",", &save); spec && next; spec = strtok_r(NULL, ",", &save)) {
		ret = request_one(ctx, spec, methods[i].type, path, text, if_tag, r, why,
				  sizeof(why), &next);
		if (!ret)
			break;
		/* every address tried, with its reason */
		if (used < errlen) {
			n = snprintf(err + used, errlen - used, "%s%s", tried ? "; " : "", why);
			used += n > 0 ? (size_t)n : 0;
		}
		tried++;
	}
	if (ret && !tried && err && !err[0])
		snprintf(err, errlen, "no control address in '%s'", controls);
	free(list);
	return ret;
}

/* One request of the command line's. */
static int call(struct cli *c, const char *method, const char *path, json_t *body,
		struct fl_http_resp *r, char *err, size_t errlen)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int ret;

	memset(r, 0, sizeof(*r));
	if (body && !text)
		return -ENOMEM;
	ret = fl_cluster_request(c->ctx, c->controls, method, path, text, c->if_tag, r, err,
				 errlen);
	free(text);
	return ret;
}

/* The description of an error answer. */
static void print_failure(const struct fl_http_resp *r)
{
	json_t *j = json_loadb(r->body, r->len, 0, NULL);
	const char *d = json_string_value(json_object_get(j, "description"));

	fprintf(stderr, "flockerctl: %s (HTTP %d)\n", d ? d : (r->len ? r->body : "no details"),
		r->status);
	json_decref(j);
}

/* GET path as JSON; NULL after printing why. */
static json_t *get_json(struct cli *c, const char *path, char *tag)
{
	struct fl_http_resp r;
	char err[512] = "";
	json_t *j;

	if (call(c, "GET", path, NULL, &r, err, sizeof(err))) {
		fprintf(stderr, "flockerctl: %s\n", err);
		fl_http_resp_free(&r);
		return NULL;
	}
	if (r.status != 200) {
		print_failure(&r);
		fl_http_resp_free(&r);
		return NULL;
	}
	if (tag)
		snprintf(tag, 32, "%s", r.tag);
	j = json_loadb(r.body, r.len, 0, NULL);
	if (!j)
		fprintf(stderr, "flockerctl: malformed JSON from the control service\n");
	fl_http_resp_free(&r);
	return j;
}

/* A write; prints the answer (JSON or msg) and returns the exit status. */
static int write_call(struct cli *c, const char *method, const char *path, json_t *body,
		      const char *msg)
{
	struct fl_http_resp r;
	char err[512] = "";
	int rc = 1;

	if (call(c, method, path, body, &r, err, sizeof(err))) {
		fprintf(stderr, "flockerctl: %s\n", err);
		goto out;
	}
	if (r.status != 200 && r.status != 201) {
		print_failure(&r);
		goto out;
	}
	if (c->json)
		printf("%s\n", r.body);
	else if (msg)
		printf("%s\n", msg);
	rc = 0;
out:
	fl_http_resp_free(&r);
	json_decref(body);
	return rc;
}

/* ------------------------------------------------------------------ */
/* names */

static const char *ds_name(json_t *d)
{
	const char *n = json_string_value(json_object_get(json_object_get(d, "metadata"), "name"));

	return n ? n : "";
}

/* The dataset named ref (a name, or a uuid); deleted picks live or trashed ones. */
static json_t *find_dataset(json_t *all, const char *ref, bool deleted)
{
	json_t *d, *best = NULL;
	size_t i;

	json_array_foreach(all, i, d)
	{
		bool del = json_is_true(json_object_get(d, "deleted"));
		const char *id = json_string_value(json_object_get(d, "dataset_id"));

		if (del != deleted)
			continue;
		if (id && !strcmp(id, ref))
			return d;
		if (!strcmp(ds_name(d), ref)) {
			/* several trashed volumes of one name: the latest removed */
			if (!best ||
			    json_integer_value(json_object_get(d, "removed_at")) >
				    json_integer_value(json_object_get(best, "removed_at")))
				best = d;
		}
	}
	return best;
}

static int resolve(struct cli *c, const char *ref, bool deleted, char id[37], char *name,
		   size_t namelen)
{
	json_t *all = get_json(c, "/v1/configuration/datasets", NULL);
	json_t *d;

	if (!all)
		return -EIO;
	d = find_dataset(all, ref, deleted);
	if (!d) {
		fprintf(stderr, "flockerctl: no %s volume %s\n", deleted ? "trashed" : "such", ref);
		json_decref(all);
		return -ENOENT;
	}
	snprintf(id, 37, "%s", json_string_value(json_object_get(d, "dataset_id")));
	snprintf(name, namelen, "%s", ds_name(d));
	json_decref(all);
	return 0;
}

/* ------------------------------------------------------------------ */
/* formatting */

static void fmt_size(json_t *v, char *buf, size_t len)
{
	if (!json_is_integer(v))
		snprintf(buf, len, "unlimited");
	else
		fl_fmt_size((uint64_t)json_integer_value(v), buf, len);
}

static void fmt_time(json_int_t t, char *buf, size_t len)
{
	if (t <= 0)
		snprintf(buf, len, "-");
	else
		fl_fmt_time_utc((int64_t)t, buf, len);
}

static void print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2));
	printf("\n");
}

/*
 * The array at path, for a list command; NULL when the command has nothing
 * more to do, *rc then its exit status: 1, it could not be had (said); 0,
 * --json printed it, or it was empty and none was printed.
 */
static json_t *get_list(struct cli *c, const char *path, const char *none, int *rc)
{
	json_t *all = get_json(c, path, NULL);

	*rc = all ? 0 : 1;
	if (all && c->json)
		print_json(all);
	else if (all && json_array_size(all) == 0)
		printf("%s\n", none);
	else
		return all;
	json_decref(all);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* commands */

static int cmd_node_list(struct cli *c)
{
	char seen[32];
	json_t *all, *n;
	size_t i;
	int rc;

	all = get_list(c, "/v1/state/nodes", "no nodes", &rc);
	if (!all)
		return rc;
	printf("%-24s %-36s %-6s %-16s %-20s %s\n", "NODE", "UUID", "ALIVE", "ADDRESS", "LAST SEEN",
	       "MOUNTS");
	json_array_foreach(all, i, n)
	{
		fmt_time(json_integer_value(json_object_get(n, "last_seen")), seen, sizeof(seen));
		printf("%-24s %-36s %-6s %-16s %-20s %lld\n",
		       json_string_value(json_object_get(n, "host")),
		       json_string_value(json_object_get(n, "uuid")),
		       json_is_true(json_object_get(n, "alive")) ? "yes" : "no",
		       json_string_value(json_object_get(n, "address")), seen,
		       (long long)json_integer_value(json_object_get(n, "mounts")));
	}
	json_decref(all);
	return 0;
}

static int cmd_volume_create(struct cli *c)
{
	json_t *body, *meta;
	uint64_t size = 0;
	char msg[256];
	int i;

	if (c->argc != 1)
		die_usage("volume create needs NAME");
	if (c->size && fl_parse_size(c->size, &size)) {
		fprintf(stderr, "flockerctl: invalid size '%s': use e.g. 10G, 512M\n", c->size);
		return 2;
	}
	meta = json_pack("{s:s}", "name", c->argv[0]);
	for (i = 0; i < c->nmetas; i++) {
		const char *eq = strchr(c->metas[i], '=');
		char key[256];

		if (!eq || eq == c->metas[i] || (size_t)(eq - c->metas[i]) >= sizeof(key)) {
			fprintf(stderr, "flockerctl: invalid --meta '%s': use KEY=VALUE\n",
				c->metas[i]);
			json_decref(meta);
			return 2;
		}
		snprintf(key, sizeof(key), "%.*s", (int)(eq - c->metas[i]), c->metas[i]);
		json_object_set_new(meta, key, json_string(eq + 1));
	}
	body = json_pack("{s:o}", "metadata", meta);
	if (size)
		json_object_set_new(body, "maximum_size", json_integer((json_int_t)size));
	if (c->node)
		json_object_set_new(body, "primary", json_string(c->node));
	snprintf(msg, sizeof(msg), "created volume %s", c->argv[0]);
	return write_call(c, "POST", "/v1/configuration/datasets", body, msg);
}

/* The lease of dataset id in the lease list, or NULL. */
static json_t *find_lease(json_t *leases, const char *id)
{
	json_t *l;
	size_t i;

	json_array_foreach(leases, i, l)
	{
		const char *lid = json_string_value(json_object_get(l, "dataset_id"));

		if (id && lid && !strcmp(lid, id))
			return l;
	}
	return NULL;
}

/*
 * STATE: "mounted at PATH (N users)" while a node reports the mount, "leased"
 * while a lease exists without a mount, else "idle" (NODE is then the node
 * that last had it, the dataset's primary).
 */
static int cmd_volume_list(struct cli *c)
{
	json_t *all = get_json(c, "/v1/configuration/datasets", NULL), *state, *leases = NULL, *d,
	       *s;
	char sz[32], when[32], status[256];
	size_t i, j;
	int n = 0;

	if (!all)
		return 1;
	state = get_json(c, "/v1/state/datasets", NULL);
	if (state && !c->json && !c->trash)
		leases = get_json(c, "/v1/configuration/leases", NULL);
	if (!state || (!c->json && !c->trash && !leases)) {
		json_decref(all);
		json_decref(state);
		return 1;
	}
	if (c->json) {
		json_t *o = json_pack("{s:O, s:O}", "configuration", all, "state", state);

		print_json(o);
		json_decref(o);
		goto out;
	}
	json_array_foreach(all, i, d)
	{
		bool del = json_is_true(json_object_get(d, "deleted"));
		const char *id = json_string_value(json_object_get(d, "dataset_id"));
		const char *prim = json_string_value(json_object_get(d, "primary_name"));

		if (del != c->trash)
			continue;
		if (n++ == 0)
			printf("%-32s %-36s %10s  %-16s %s\n", "NAME", "UUID", "SIZE",
			       del ? "REMOVED" : "NODE", del ? "PURGED AFTER" : "STATE");
		fmt_size(json_object_get(d, "maximum_size"), sz, sizeof(sz));
		if (del) {
			char removed[32];

			fmt_time(json_integer_value(json_object_get(d, "removed_at")), removed,
				 sizeof(removed));
			fmt_time(json_integer_value(json_object_get(d, "purge_at")), when,
				 sizeof(when));
			printf("%-32s %-36s %10s  %-16s %s\n", ds_name(d), id, sz, removed, when);
			continue;
		}
		snprintf(status, sizeof(status), "%s", find_lease(leases, id) ? "leased" : "idle");
		json_array_foreach(state, j, s)
		{
			const char *sid = json_string_value(json_object_get(s, "dataset_id"));

			if (sid && !strcmp(sid, id)) {
				snprintf(
					status, sizeof(status), "mounted at %s (%lld users)",
					json_string_value(json_object_get(s, "path")),
					(long long)json_integer_value(json_object_get(s, "users")));
				break;
			}
		}
		printf("%-32s %-36s %10s  %-16s %s\n", ds_name(d), id, sz,
		       prim && *prim ? prim : "-", status);
	}
	if (n == 0)
		printf(c->trash ? "the trash is empty\n" : "no volumes\n");
out:
	json_decref(all);
	json_decref(state);
	json_decref(leases);
	return 0;
}

/* The volume a command names (c->argv[0]; deleted: in the trash): its id,
 * name and API path (under /v1/configuration/KIND/).  With usage, the command
 * takes that one word (else usage, and exit 2).  1 after printing why. */
struct target {
	char id[37], name[256], path[128];
};

static int target(struct cli *c, const char *usage, bool deleted, const char *kind,
		  struct target *t)
{
	if (usage && c->argc != 1)
		die_usage(usage);
	if (resolve(c, c->argv[0], deleted, t->id, t->name, sizeof(t->name)))
		return 1;
	snprintf(t->path, sizeof(t->path), "/v1/configuration/%s/%s", kind, t->id);
	return 0;
}

static int cmd_volume_move(struct cli *c)
{
	struct target t;
	const char *to = c->to;
	char msg[512];

	if (c->argc == 2 && !to)
		to = c->argv[1];
	if ((c->argc != 1 && c->argc != 2) || !to)
		die_usage("volume move needs NAME and --to NODE");
	if (target(c, NULL, false, "datasets", &t))
		return 1;
	snprintf(msg, sizeof(msg), "volume %s now belongs to node %s", t.name, to);
	return write_call(c, "POST", t.path, json_pack("{s:s}", "primary", to), msg);
}

static int cmd_volume_remove(struct cli *c)
{
	struct target t;
	char msg[512];

	if (target(c, "volume remove needs NAME", false, "datasets", &t))
		return 1;
	snprintf(msg, sizeof(msg),
		 "volume %s (%s) moved to the trash: flockerctl volume restore %s brings it back",
		 t.name, t.id, t.id);
	return write_call(c, "DELETE", t.path, NULL, msg);
}

static int cmd_volume_restore(struct cli *c)
{
	struct target t;
	char msg[512];
	json_t *body;

	if (target(c, "volume restore needs NAME or UUID", true, "datasets", &t))
		return 1;
	body = json_pack("{s:b}", "deleted", 0);
	if (c->as)
		json_object_set_new(body, "metadata", json_pack("{s:s}", "name", c->as));
	snprintf(msg, sizeof(msg), "restored volume %s (%s)", c->as ? c->as : t.name, t.id);
	return write_call(c, "POST", t.path, body, msg);
}

static int cmd_lease_list(struct cli *c)
{
	json_t *all, *l, *ds;
	char since[32];
	size_t i;
	int rc;

	all = get_list(c, "/v1/configuration/leases", "no leases", &rc);
	if (!all)
		return rc;
	ds = get_json(c, "/v1/configuration/datasets", NULL);
	printf("%-32s %-36s %-20s %-8s %-20s %s\n", "VOLUME", "DATASET", "NODE", "KIND", "SINCE",
	       "EXPIRES IN");
	json_array_foreach(all, i, l)
	{
		const char *id = json_string_value(json_object_get(l, "dataset_id"));
		json_t *d = ds ? find_dataset(ds, id, false) : NULL;
		json_t *exp = json_object_get(l, "expires");
		char e[32];

		fmt_time(json_integer_value(json_object_get(l, "since")), since, sizeof(since));
		if (json_is_number(exp))
			snprintf(e, sizeof(e), "%.0f s", json_number_value(exp));
		else
			snprintf(e, sizeof(e), "never");
		printf("%-32s %-36s %-20s %-8s %-20s %s\n", d ? ds_name(d) : "?", id,
		       json_string_value(json_object_get(l, "node")),
		       json_string_value(json_object_get(l, "kind")), since, e);
	}
	json_decref(ds);
	json_decref(all);
	return 0;
}

static int cmd_lease_acquire(struct cli *c)
{
	char id[37], name[256], msg[512];
	json_t *body;
	double secs = 0;

	if (c->argc != 1 || !c->node)
		die_usage("lease acquire needs NAME and --node NODE");
	if (c->expires) {
		char *end;

		secs = strtod(c->expires, &end);
		if (*end || secs <= 0) {
			fprintf(stderr, "flockerctl: invalid --expires '%s'\n", c->expires);
			return 2;
		}
	}
	if (resolve(c, c->argv[0], false, id, name, sizeof(name)))
		return 1;
	body = json_pack("{s:s, s:s}", "dataset_id", id, "node_uuid", c->node);
	json_object_set_new(body, "expires", c->expires ? json_real(secs) : json_null());
	snprintf(msg, sizeof(msg), "volume %s is leased to node %s", name, c->node);
	return write_call(c, "POST", "/v1/configuration/leases", body, msg);
}

static int cmd_lease_release(struct cli *c)
{
	struct target t;
	char msg[512];

	if (target(c, "lease release needs NAME or UUID", false, "leases", &t))
		return 1;
	snprintf(msg, sizeof(msg), "released the lease of volume %s", t.name);
	return write_call(c, "DELETE", t.path, NULL, msg);
}

/* Options of flockerctl (cluster and RADOS commands) that take an argument. */
static bool takes_arg(const char *a)
{
	static const char *const with[] = {
		"--control", "--certs", "--user",   "--size",	 "-s",		"--node",
		"--to",	     "--as",	"--if-tag", "--expires", "--meta",	"-c",
		"--conf",    "--id",	"--pool",   "-p",	 "--block-size"};
	size_t i;

	for (i = 0; i < sizeof(with) / sizeof(with[0]); i++)
		if (!strcmp(a, with[i]))
			return true;
	return false;
}

/* The volume commands control offers (the others work on RADOS only). */
static bool cluster_volume_cmd(const char *w)
{
	static const char *const cmds[] = {"create", "list", "ls",	"move",
					   "remove", "rm",   "restore", "trash"};
	size_t i;

	for (i = 0; w && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(w, cmds[i]))
			return true;
	return false;
}

int fl_cluster_cmd_wanted(int argc, char **argv)
{
	const char *words[2] = {NULL, NULL}, *env = getenv("FLOCKER_CONTROL");
	int i, n = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--control") || !strncmp(argv[i], "--control=", 10))
			return 1;
		if (takes_arg(argv[i]))
			i++;
		else if (argv[i][0] != '-' && n < 2)
			words[n++] = argv[i];
	}
	if (words[0] && (!strcmp(words[0], "node") || !strcmp(words[0], "lease")))
		return 1;
	/* $FLOCKER_CONTROL is --control's default: the volume commands control offers */
	return env && *env && words[0] && !strcmp(words[0], "volume") &&
	       cluster_volume_cmd(words[1]);
}

enum {
	OPT_CONTROL = 256,
	OPT_CERTS,
	OPT_USER,
	OPT_NODE,
	OPT_TO,
	OPT_AS,
	OPT_IF_TAG,
	OPT_EXPIRES,
	OPT_META,
	OPT_JSON,
	OPT_TRASH,
	OPT_RADOS, /* an option of the commands straight on RADOS: refused */
};

static const struct option cluster_opts[] = {
	{"help", no_argument, NULL, 'h'},
	{"control", required_argument, NULL, OPT_CONTROL},
	{"certs", required_argument, NULL, OPT_CERTS},
	{"user", required_argument, NULL, OPT_USER},
	{"size", required_argument, NULL, 's'},
	{"node", required_argument, NULL, OPT_NODE},
	{"to", required_argument, NULL, OPT_TO},
	{"as", required_argument, NULL, OPT_AS},
	{"if-tag", required_argument, NULL, OPT_IF_TAG},
	{"expires", required_argument, NULL, OPT_EXPIRES},
	{"meta", required_argument, NULL, OPT_META},
	{"json", no_argument, NULL, OPT_JSON},
	{"trash", no_argument, NULL, OPT_TRASH},
	{"conf", no_argument, NULL, OPT_RADOS},
	{"id", no_argument, NULL, OPT_RADOS},
	{"pool", no_argument, NULL, OPT_RADOS},
	{"block-size", no_argument, NULL, OPT_RADOS},
	{NULL, 0, NULL, 0},
};

/* The options that take a string, and where in struct cli each keeps it. */
static const struct {
	int opt;
	size_t off;
} str_opts[] = {
	{OPT_CONTROL, offsetof(struct cli, controls)},
	{OPT_CERTS, offsetof(struct cli, certs)},
	{OPT_USER, offsetof(struct cli, user)},
	{'s', offsetof(struct cli, size)},
	{OPT_NODE, offsetof(struct cli, node)},
	{OPT_TO, offsetof(struct cli, to)},
	{OPT_AS, offsetof(struct cli, as)},
	{OPT_IF_TAG, offsetof(struct cli, if_tag)},
	{OPT_EXPIRES, offsetof(struct cli, expires)},
};

/* Where an option that takes a string keeps it, or NULL. */
static const char **opt_slot(struct cli *c, int opt)
{
	size_t i;

	for (i = 0; i < sizeof(str_opts) / sizeof(str_opts[0]); i++)
		if (str_opts[i].opt == opt)
			return (const char **)((char *)c + str_opts[i].off);
	return NULL;
}

/* Says why parse_opts refuses option opt (word: as given); 2. */
static int opt_refused(int opt, const char *word)
{
	if (opt == OPT_META || (opt == ':' && optopt == OPT_META))
		fprintf(stderr, "flockerctl: --meta needs KEY=VALUE (at most 32)\n");
	else if (opt == 'c' || opt == 'p' || opt == OPT_RADOS)
		fprintf(stderr,
			"flockerctl: %s is an option of the commands straight on RADOS; "
			"this one goes through flocker-control (--control or "
			"$FLOCKER_CONTROL): run FLOCKER_CONTROL= flockerctl ... to work on "
			"RADOS\n",
			word);
	else if (opt == ':')
		fprintf(stderr, "flockerctl: %s needs an argument\n", word);
	else
		fprintf(stderr, "flockerctl: unknown option %s\n", word);
	return 2;
}

/* The options into c: 0, 2 after a message, or -1 for the usage. */
static int parse_opts(struct cli *c, int argc, char **argv)
{
	const char **slot;
	int opt;

	opterr = 0;
	optind = 0; /* GNU: start afresh */
	while ((opt = getopt_long(argc, argv, ":hs:cp", cluster_opts, NULL)) != -1) {
		if ((slot = opt_slot(c, opt)))
			*slot = optarg;
		else if (opt == 'h')
			return -1;
		else if (opt == OPT_JSON)
			c->json = true;
		else if (opt == OPT_TRASH)
			c->trash = true;
		else if (opt == OPT_META && c->nmetas < 32)
			c->metas[c->nmetas++] = optarg;
		else
			return opt_refused(opt, argv[optind - 1]);
	}
	return 0;
}

/* Runs the command words[0] words[1]: its exit code. */
static int dispatch(struct cli *c, char *words[2])
{
	if (!strcmp(words[0], "node") && !strcmp(words[1], "list"))
		return cmd_node_list(c);
	else if (!strcmp(words[0], "volume") && !strcmp(words[1], "create"))
		return cmd_volume_create(c);
	else if (!strcmp(words[0], "volume") &&
		 (!strcmp(words[1], "list") || !strcmp(words[1], "ls")))
		return cmd_volume_list(c);
	else if (!strcmp(words[0], "volume") && !strcmp(words[1], "move"))
		return cmd_volume_move(c);
	else if (!strcmp(words[0], "volume") &&
		 (!strcmp(words[1], "remove") || !strcmp(words[1], "rm")))
		return cmd_volume_remove(c);
	else if (!strcmp(words[0], "volume") && !strcmp(words[1], "restore"))
		return cmd_volume_restore(c);
	else if (!strcmp(words[0], "volume") && !strcmp(words[1], "trash")) {
		c->trash = true;
		return cmd_volume_list(c);
	} else if (!strcmp(words[0], "lease") &&
		   (!strcmp(words[1], "list") || !strcmp(words[1], "ls")))
		return cmd_lease_list(c);
	else if (!strcmp(words[0], "lease") && !strcmp(words[1], "acquire"))
		return cmd_lease_acquire(c);
	else if (!strcmp(words[0], "lease") && !strcmp(words[1], "release"))
		return cmd_lease_release(c);
	else if (!strcmp(words[0], "volume") || !strcmp(words[0], "fsck")) {
		fprintf(stderr,
			"flockerctl: %s %s works straight on RADOS only: run it without --control "
			"(and with FLOCKER_CONTROL unset)\n",
			words[0], words[1]);
		return 2;
	} else {
		fprintf(stderr, "flockerctl: unknown cluster command '%s %s'\n", words[0],
			words[1]);
		return 2;
	}
}

int fl_cluster_cmd(int argc, char **argv)
{
	struct cli c = {0};
	char err[512] = "", base[300];
	int rc;

	/* a control that closes on a refused certificate must not kill us silently */
	signal(SIGPIPE, SIG_IGN);
	c.controls = getenv("FLOCKER_CONTROL");
	c.certs = getenv("FLOCKER_CERTS");
	rc = parse_opts(&c, argc, argv);
	if (rc < 0 || (rc == 0 && argc - optind < 2))
		die_usage(NULL); /* exits */
	if (rc)
		goto out;
	rc = 2;
	/* getopt_long moved the words after the options: the command, then its own */
	c.argc = argc - optind - 2;
	c.argv = argv + optind + 2;
	if (!c.controls || !*c.controls) {
		fprintf(stderr, "flockerctl: give the control service with --control HOST[:PORT] "
				"(or $FLOCKER_CONTROL)\n");
		goto out;
	}
	if (!c.certs) {
		fprintf(stderr, "flockerctl: give the certificate directory with --certs DIR "
				"(or $FLOCKER_CERTS)\n");
		goto out;
	}
	rc = 1;
	if (find_user(c.certs, c.user, base, sizeof(base), err, sizeof(err))) {
		fprintf(stderr, "flockerctl: %s\n", err);
		goto out;
	}
	c.ctx = fl_tls_client_ctx(c.certs, base, FL_ROLE_CONTROL, err, sizeof(err));
	if (!c.ctx) {
		fprintf(stderr, "flockerctl: %s\n", err);
		goto out;
	}
	/* the answer's length is checked against Content-Length */
	SSL_CTX_set_options(c.ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	rc = dispatch(&c, argv + optind);
out:
	SSL_CTX_free(c.ctx);
	return rc;
}
