/*
 * flockerfs — flockerctl's cluster commands (see ctl_cluster.h): a small
 * blocking HTTPS client (OpenSSL, TLS 1.3, a user certificate, the server
 * must show the control role) and the tables.
 */
#include "cluster/cli/client.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

static int connect_one(const char *spec, char *err, size_t errlen)
{
	char host[256], port[8] = "4523";
	struct addrinfo hints = {0}, *res = NULL, *ai;
	const char *colon;
	int fd = -1, ret;

	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');

		if (!end || (size_t)(end - spec - 1) >= sizeof(host))
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(end - spec - 1), spec + 1);
		colon = end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = strrchr(spec, ':');
		if ((size_t)(colon ? colon - spec : (ptrdiff_t)strlen(spec)) >= sizeof(host))
			goto bad;
		snprintf(host, sizeof(host), "%.*s",
			 (int)(colon ? colon - spec : (ptrdiff_t)strlen(spec)), spec);
	}
	if (colon) {
		if (strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof(port))
			goto bad;
		snprintf(port, sizeof(port), "%s", colon + 1);
	}
	hints.ai_socktype = SOCK_STREAM;
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret) {
		snprintf(err, errlen, "%s: cannot resolve %s: %s", spec, host, gai_strerror(ret));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		struct timeval tv = {IO_TIMEOUT_S, 0};

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			soerr = errno;
			goto next;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, CONNECT_TIMEOUT_MS) != 1) {
			soerr = ETIMEDOUT;
			goto next;
		}
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr)
			goto next;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		break;
	next:
		snprintf(err, errlen, "%s: cannot connect: %s", spec, strerror(soerr));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd >= 0 ? fd : -ECONNREFUSED;
bad:
	snprintf(err, errlen, "%s: invalid control address: use HOST[:PORT]", spec);
	return -EINVAL;
}

static int ssl_write_all(SSL *ssl, const char *p, size_t n)
{
	while (n) {
		int w = SSL_write(ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);

		if (w <= 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int parse_response(char *buf, size_t len, struct fl_http_resp *r)
{
	char *hdr_end = NULL, *line, *next, *body;
	size_t i, blen;
	long clen = -1;

	for (i = 0; i + 3 < len; i++) {
		if (!memcmp(buf + i, "\r\n\r\n", 4)) {
			hdr_end = buf + i;
			break;
		}
	}
	if (!hdr_end || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1)
		return -EPROTO;
	*hdr_end = '\0';
	line = strstr(buf, "\r\n");
	while (line && line < hdr_end) {
		line += 2;
		next = strstr(line, "\r\n");
		if (next)
			*next = '\0';
		if (!strncasecmp(line, "X-Configuration-Tag:", 20)) {
			const char *v = line + 20;

			while (*v == ' ')
				v++;
			snprintf(r->tag, sizeof(r->tag), "%s", v);
		} else if (!strncasecmp(line, "Content-Length:", 15)) {
			clen = strtol(line + 15, NULL, 10);
		}
		line = next;
	}
	body = hdr_end + 4;
	blen = len - (size_t)(body - buf);
	if (clen >= 0 && (size_t)clen < blen)
		blen = (size_t)clen;
	if (clen >= 0 && (size_t)clen > blen)
		return -EPROTO; /* cut short */
	r->body = malloc(blen + 1);
	if (!r->body)
		return -ENOMEM;
	memcpy(r->body, body, blen);
	r->body[blen] = '\0';
	r->len = blen;
	return 0;
}

/* Why TLS on ssl failed after ret from SSL_read/SSL_write, as one phrase. */
static void io_why(SSL *ssl, int ret, char *why, size_t len)
{
	int e = SSL_get_error(ssl, ret);

	if (e == SSL_ERROR_SYSCALL && !ERR_peek_last_error())
		snprintf(why, len, "%s", errno ? strerror(errno) : "connection closed");
	else
		fl_tls_why(ssl, why, len);
}

/*
 * One request to one control address.  0 with *r filled; or a negative
 * errno with why (without the address), and *next true when another address
 * may be tried (nothing reached the server's handlers: no connection, a TLS
 * refusal, or a read-only request).
 */
/* Reads the answer until the server closes the connection, into *bufp
 * (the caller frees it) and *lenp. */
static int read_answer(SSL *ssl, const char *spec, char **bufp, size_t *lenp, char *why,
		       size_t whylen, bool *next)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int ret = 0;

	for (;;) {
		int got;

		if (len + 16384 + 1 > cap) {
			char *nb;

			if (cap >= RESP_MAX) {
				snprintf(why, whylen, "%s: the answer is over %u bytes", spec,
					 RESP_MAX);
				ret = -E2BIG;
				goto out;
			}
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				snprintf(why, whylen, "%s: out of memory", spec);
				ret = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		ERR_clear_error();
		errno = 0;
		got = SSL_read(ssl, buf + len, 16384);
		if (got <= 0) {
			int e = SSL_get_error(ssl, got);
			char t[256];

			if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && len > 0))
				break;
			io_why(ssl, got, t, sizeof(t));
			if (strstr(t, "refused"))
				*next = true; /* refused during the handshake: nothing ran */
			snprintf(why, whylen, "%s: %s%s", spec,
				 len ? "the connection broke during the answer: " : "", t);
			ret = -EIO;
			goto out;
		}
		len += (size_t)got;
	}
out:
	*bufp = buf;
	*lenp = len;
	return ret;
}

static int request_one(SSL_CTX *ctx, const char *spec, const char *req, size_t reqlen,
		       const char *text, bool idempotent, struct fl_http_resp *r, char *why,
		       size_t whylen, bool *next)
{
	char *buf = NULL, cerr[512];
	size_t len = 0;
	SSL *ssl = NULL;
	int fd, ret, n;

	*next = true;
	fd = connect_one(spec, cerr, sizeof(cerr));
	if (fd < 0) {
		/* connect_one's message names the address already */
		snprintf(why, whylen, "%s", cerr);
		return fd;
	}
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd)) {
		snprintf(why, whylen, "%s: out of memory", spec);
		ret = -ENOMEM;
		goto out;
	}
	ERR_clear_error();
	n = SSL_connect(ssl);
	if (n != 1) {
		char t[256];

		io_why(ssl, n, t, sizeof(t));
		snprintf(why, whylen, "%s: TLS handshake failed: %s", spec, t);
		ret = -EPROTO;
		goto out;
	}
	/*
	 * TLS 1.3: the server checks this side's certificate after the client's
	 * handshake is done, and refuses it with an alert that arrives while (or
	 * after) the request is written.  Whatever fails from here, the alert is
	 * read if it came: it names the reason.
	 */
	ERR_clear_error();
	errno = 0;
	if (ssl_write_all(ssl, req, reqlen) || (text && ssl_write_all(ssl, text, strlen(text)))) {
		char t[256], c;

		io_why(ssl, -1, t, sizeof(t));
		ERR_clear_error();
		if (SSL_read(ssl, &c, 1) <= 0 && ERR_peek_last_error())
			fl_tls_why(ssl, t, sizeof(t));
		snprintf(why, whylen, "%s: cannot send the request: %s", spec, t);
		*next = idempotent || strstr(t, "refused") != NULL;
		ret = -EIO;
		goto out;
	}
	*next = idempotent;
	ret = read_answer(ssl, spec, &buf, &len, why, whylen, next);
	if (ret)
		goto out;
	if (len == 0) {
		snprintf(why, whylen, "%s: closed the connection without an answer", spec);
		ret = -ECONNRESET;
		goto out;
	}
	ret = parse_response(buf, len, r);
	if (ret)
		snprintf(why, whylen, "%s: malformed answer", spec);
out:
	if (ssl) {
		if (ret == 0)
			SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	close(fd);
	free(buf);
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
	char req[1024], why[600];
	size_t used = 0;
	bool next = true;
	int ret = -EINVAL, n, tried = 0;

	memset(r, 0, sizeof(*r));
	if (err && errlen)
		err[0] = '\0';
	if (!list) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (spec = strtok_r(list, ",", &save); spec && next; spec = strtok_r(NULL, ",", &save)) {
		n = snprintf(req, sizeof(req),
			     "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
			     "Accept: application/json\r\n"
			     "Content-Type: application/json\r\nContent-Length: %zu\r\n%s%s%s\r\n",
			     method, path, spec, text ? strlen(text) : 0,
			     if_tag ? "X-If-Configuration-Matches: " : "", if_tag ? if_tag : "",
			     if_tag ? "\r\n" : "");
		if (n < 0 || (size_t)n >= sizeof(req)) {
			snprintf(err, errlen, "the request for %s is too long", path);
			ret = -E2BIG;
			break;
		}
		ret = request_one(ctx, spec, req, (size_t)n, text, !strcmp(method, "GET"), r, why,
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

/* ------------------------------------------------------------------ */
/* commands */

static int cmd_node_list(struct cli *c)
{
	json_t *all = get_json(c, "/v1/state/nodes", NULL), *n;
	char seen[32];
	size_t i;

	if (!all)
		return 1;
	if (c->json) {
		print_json(all);
	} else if (json_array_size(all) == 0) {
		printf("no nodes\n");
	} else {
		printf("%-24s %-36s %-6s %-16s %-20s %s\n", "NODE", "UUID", "ALIVE", "ADDRESS",
		       "LAST SEEN", "MOUNTS");
		json_array_foreach(all, i, n)
		{
			fmt_time(json_integer_value(json_object_get(n, "last_seen")), seen,
				 sizeof(seen));
			printf("%-24s %-36s %-6s %-16s %-20s %lld\n",
			       json_string_value(json_object_get(n, "host")),
			       json_string_value(json_object_get(n, "uuid")),
			       json_is_true(json_object_get(n, "alive")) ? "yes" : "no",
			       json_string_value(json_object_get(n, "address")), seen,
			       (long long)json_integer_value(json_object_get(n, "mounts")));
		}
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

static int cmd_volume_move(struct cli *c)
{
	char id[37], name[256], path[128], msg[512];
	const char *to = c->to;

	if (c->argc == 2 && !to)
		to = c->argv[1];
	if ((c->argc != 1 && c->argc != 2) || !to)
		die_usage("volume move needs NAME and --to NODE");
	if (resolve(c, c->argv[0], false, id, name, sizeof(name)))
		return 1;
	snprintf(path, sizeof(path), "/v1/configuration/datasets/%s", id);
	snprintf(msg, sizeof(msg), "volume %s now belongs to node %s", name, to);
	return write_call(c, "POST", path, json_pack("{s:s}", "primary", to), msg);
}

static int cmd_volume_remove(struct cli *c)
{
	char id[37], name[256], path[128], msg[512];

	if (c->argc != 1)
		die_usage("volume remove needs NAME");
	if (resolve(c, c->argv[0], false, id, name, sizeof(name)))
		return 1;
	snprintf(path, sizeof(path), "/v1/configuration/datasets/%s", id);
	snprintf(msg, sizeof(msg),
		 "volume %s (%s) moved to the trash: flockerctl volume restore %s brings it back",
		 name, id, id);
	return write_call(c, "DELETE", path, NULL, msg);
}

static int cmd_volume_restore(struct cli *c)
{
	char id[37], name[256], path[128], msg[512];
	json_t *body;

	if (c->argc != 1)
		die_usage("volume restore needs NAME or UUID");
	if (resolve(c, c->argv[0], true, id, name, sizeof(name)))
		return 1;
	snprintf(path, sizeof(path), "/v1/configuration/datasets/%s", id);
	body = json_pack("{s:b}", "deleted", 0);
	if (c->as)
		json_object_set_new(body, "metadata", json_pack("{s:s}", "name", c->as));
	snprintf(msg, sizeof(msg), "restored volume %s (%s)", c->as ? c->as : name, id);
	return write_call(c, "POST", path, body, msg);
}

static int cmd_lease_list(struct cli *c)
{
	json_t *all = get_json(c, "/v1/configuration/leases", NULL), *l, *ds;
	char since[32];
	size_t i;

	if (!all)
		return 1;
	if (c->json) {
		print_json(all);
		json_decref(all);
		return 0;
	}
	ds = get_json(c, "/v1/configuration/datasets", NULL);
	if (json_array_size(all) == 0)
		printf("no leases\n");
	else
		printf("%-32s %-36s %-20s %-8s %-20s %s\n", "VOLUME", "DATASET", "NODE", "KIND",
		       "SINCE", "EXPIRES IN");
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
	char id[37], name[256], path[128], msg[512];

	if (c->argc != 1)
		die_usage("lease release needs NAME or UUID");
	if (resolve(c, c->argv[0], false, id, name, sizeof(name)))
		return 1;
	snprintf(path, sizeof(path), "/v1/configuration/leases/%s", id);
	snprintf(msg, sizeof(msg), "released the lease of volume %s", name);
	return write_call(c, "DELETE", path, NULL, msg);
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

/* Where an option that takes an argument keeps it, or NULL. */
static const char **opt_slot(struct cli *c, const char *a)
{
	if (!strcmp(a, "--control"))
		return &c->controls;
	if (!strcmp(a, "--certs"))
		return &c->certs;
	if (!strcmp(a, "--user"))
		return &c->user;
	if (!strcmp(a, "--size") || !strcmp(a, "-s"))
		return &c->size;
	if (!strcmp(a, "--node"))
		return &c->node;
	if (!strcmp(a, "--to"))
		return &c->to;
	if (!strcmp(a, "--as"))
		return &c->as;
	if (!strcmp(a, "--if-tag"))
		return &c->if_tag;
	if (!strcmp(a, "--expires"))
		return &c->expires;
	return NULL;
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
	char *words[2];
	char err[512] = "", base[300];
	int nwords = 0, i, rc = 2;
	char **pos = calloc((size_t)argc + 1, sizeof(char *));

	if (!pos) {
		rc = 1;
		goto out;
	}
	/* a control that closes on a refused certificate must not kill us silently */
	signal(SIGPIPE, SIG_IGN);
	c.controls = getenv("FLOCKER_CONTROL");
	c.certs = getenv("FLOCKER_CERTS");
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			free(pos);
			die_usage(NULL); /* exits */
		} else if (!strcmp(a, "--json")) {
			c.json = true;
		} else if (!strcmp(a, "--trash")) {
			c.trash = true;
		} else if ((slot = opt_slot(&c, a))) {
			/* its argument below */
		} else if (!strcmp(a, "--meta")) {
			if (i + 1 >= argc || c.nmetas == 32) {
				fprintf(stderr,
					"flockerctl: --meta needs KEY=VALUE (at most 32)\n");
				goto out;
			}
			c.metas[c.nmetas++] = argv[++i];
		} else if (!strcmp(a, "-c") || !strcmp(a, "--conf") || !strcmp(a, "--id") ||
			   !strcmp(a, "--pool") || !strcmp(a, "-p") || !strcmp(a, "--block-size")) {
			fprintf(stderr,
				"flockerctl: %s is an option of the commands straight on RADOS; "
				"this one goes through flocker-control (--control or "
				"$FLOCKER_CONTROL): run FLOCKER_CONTROL= flockerctl ... to work on "
				"RADOS\n",
				a);
			goto out;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "flockerctl: unknown option %s\n", a);
			goto out;
		} else if (nwords < 2) {
			words[nwords++] = argv[i];
		} else {
			pos[c.argc++] = argv[i];
		}
		if (slot) {
			if (i + 1 >= argc) {
				fprintf(stderr, "flockerctl: %s needs an argument\n", a);
				goto out;
			}
			*slot = argv[++i];
		}
	}
	c.argv = pos;
	if (nwords < 2) {
		free(pos);
		die_usage(NULL); /* exits */
	}
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
	rc = dispatch(&c, words);
out:
	SSL_CTX_free(c.ctx);
	free(pos);
	return rc;
}
