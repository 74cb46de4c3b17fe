/* flockerfs — the Docker volume plugin: VolumeDriver over a unix socket with evhttp. */
#include "plugin/docker.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>

#include "flocker/log.h"
#include "fs/util/fmt.h"

/* What libevent itself accepts: the plugin answers larger bodies with its own 413 up to this. */
#define EVHTTP_MAX_BODY	   (1024 * 1024)
#define EVHTTP_MAX_HEADERS (8 * 1024)
/* Idle keep-alive connections and slow clients are dropped after this. */
#define EVHTTP_TIMEOUT_S 60

/* ---------- the request parser (pure) ---------- */

static const struct endpoint {
	const char *path;
	enum fl_docker_op op;
	bool name, id;
} endpoints[] = {
	{"/Plugin.Activate", FL_DOCKER_ACTIVATE, false, false},
	{"/VolumeDriver.Capabilities", FL_DOCKER_CAPABILITIES, false, false},
	{"/VolumeDriver.Create", FL_DOCKER_CREATE, true, false},
	{"/VolumeDriver.Remove", FL_DOCKER_REMOVE, true, false},
	{"/VolumeDriver.Mount", FL_DOCKER_MOUNT, true, true},
	{"/VolumeDriver.Unmount", FL_DOCKER_UNMOUNT, true, true},
	{"/VolumeDriver.Path", FL_DOCKER_PATH, true, false},
	{"/VolumeDriver.Get", FL_DOCKER_GET, true, false},
	{"/VolumeDriver.List", FL_DOCKER_LIST, false, false},
};

#define NENDPOINTS (sizeof(endpoints) / sizeof(endpoints[0]))

const char *fl_docker_op_name(enum fl_docker_op op)
{
	const char *name = "?";
	size_t i;

	for (i = 0; i < NENDPOINTS; i++)
		if (endpoints[i].op == op)
			name = strchr(endpoints[i].path, '.') + 1;
	return name;
}

/* Copies at most 64 bytes of src for a message; what is not printable ASCII becomes '?'. */
static void quote(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t i, n = srclen < 64 ? srclen : 64;

	for (i = 0; i < n && i + 4 < dstlen; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	if (n < srclen && i + 4 < dstlen) {
		memcpy(dst + i, "...", 3);
		i += 3;
	}
	dst[i] = '\0';
}

/* Does the JSON text nest at most max arrays and objects deep?  Strings are skipped. */
static bool depth_ok(const char *p, size_t len, int max)
{
	bool in_str = false, esc = false, ok = true;
	int depth = 0;
	size_t i;

	for (i = 0; i < len && ok; i++) {
		if (in_str) {
			if (esc)
				esc = false;
			else if (p[i] == '\\')
				esc = true;
			else if (p[i] == '"')
				in_str = false;
		} else if (p[i] == '"') {
			in_str = true;
		} else if (p[i] == '[' || p[i] == '{') {
			ok = ++depth <= max;
		} else if (p[i] == ']' || p[i] == '}') {
			depth--;
		}
	}
	return ok;
}

static bool blank(const char *p, size_t len)
{
	size_t i;
	bool yes = true;

	for (i = 0; i < len && yes; i++)
		yes = p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n';
	return yes;
}

/* Docker's mount IDs are 64 hex digits; take any printable token up to the bound. */
static bool id_valid(const char *id, size_t len)
{
	size_t i;
	bool ok = len > 0 && len <= FL_DOCKER_ID_MAX;

	for (i = 0; i < len && ok; i++)
		ok = id[i] > 0x20 && id[i] < 0x7f && id[i] != '/';
	return ok;
}

/* Create's Opts: an object of strings.  Returns 0 or the HTTP status. */
static int parse_opts(json_t *opts, struct fl_docker_req *req, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	char q[80];
	int status = 0;

	if (!opts || json_is_null(opts))
		goto out;
	if (!json_is_object(opts)) {
		fl_seterr(err, errlen, "Opts of a Create request must be an object of strings");
		status = 400;
		goto out;
	}
	if (json_object_size(opts) > FL_DOCKER_MAX_OPTS) {
		fl_seterr(err, errlen, "too many options (%zu) for volume %s: at most %d",
			  json_object_size(opts), req->name, FL_DOCKER_MAX_OPTS);
		status = 200;
		goto out;
	}
	json_object_foreach(opts, key, v)
	{
		quote(q, sizeof(q), key, strlen(key));
		if (!json_is_string(v)) {
			fl_seterr(err, errlen, "option '%s' of a Create request must be a string",
				  q);
			status = 400;
			goto out;
		}
		if (strlen(key) > FL_DOCKER_OPT_KEY_MAX ||
		    json_string_length(v) > FL_DOCKER_OPT_VAL_MAX ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			fl_seterr(
				err, errlen,
				"option '%s' for volume %s is too long or holds a NUL: names up to %d bytes, values up to %d",
				q, req->name, FL_DOCKER_OPT_KEY_MAX, FL_DOCKER_OPT_VAL_MAX);
			status = 200;
			goto out;
		}
		req->keys[req->nopts] = strdup(key);
		req->vals[req->nopts] = strdup(json_string_value(v));
		req->nopts++;
		if (!req->keys[req->nopts - 1] || !req->vals[req->nopts - 1]) {
			fl_seterr(err, errlen, "out of memory");
			status = 500;
			goto out;
		}
	}
out:
	return status;
}

int fl_docker_parse(const char *path, const void *body, size_t len, struct fl_docker_req *req,
		    char *err, size_t errlen)
{
	const struct endpoint *ep = NULL;
	const char *what, *s;
	json_t *root = NULL, *jv;
	json_error_t jerr;
	char q[80];
	size_t i;
	int status = 400;

	memset(req, 0, sizeof(*req));
	for (i = 0; path && i < NENDPOINTS; i++)
		if (!strcmp(path, endpoints[i].path))
			ep = &endpoints[i];
	if (!ep) {
		quote(q, sizeof(q), path ? path : "", path ? strlen(path) : 0);
		fl_seterr(
			err, errlen,
			"unknown endpoint '%s': this plugin serves /Plugin.Activate and /VolumeDriver.{Create,Remove,Mount,Unmount,Path,Get,List,Capabilities}",
			q);
		status = 404;
		goto out;
	}
	req->op = ep->op;
	what = fl_docker_op_name(ep->op);
	if (len > FL_DOCKER_MAX_BODY) {
		fl_seterr(err, errlen, "%s request of %zu bytes is over the limit of %d bytes",
			  what, len, FL_DOCKER_MAX_BODY);
		status = 413;
		goto out;
	}
	if (!depth_ok(body, len, FL_DOCKER_MAX_DEPTH)) {
		fl_seterr(err, errlen, "%s request nests deeper than %d levels", what,
			  FL_DOCKER_MAX_DEPTH);
		goto out;
	}
	/* Docker sends "null" to Activate; an empty body is as good as {} */
	if (!blank(body, len)) {
		root = json_loadb(body, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
		if (!root) {
			quote(q, sizeof(q), jerr.text, strlen(jerr.text));
			fl_seterr(err, errlen,
				  "malformed JSON in %s request: %s (line %d, column %d)", what, q,
				  jerr.line, jerr.column);
			goto out;
		}
	}
	if (root && !json_is_null(root) && !json_is_object(root)) {
		fl_seterr(err, errlen, "the body of a %s request must be a JSON object", what);
		goto out;
	}
	if (ep->name) {
		jv = json_object_get(root, "Name");
		if (!json_is_string(jv)) {
			fl_seterr(err, errlen, "%s request without a Name string", what);
			goto out;
		}
		s = json_string_value(jv);
		if (strlen(s) != json_string_length(jv) || !fl_volname_valid(s)) {
			quote(q, sizeof(q), s, json_string_length(jv));
			fl_seterr(
				err, errlen,
				"invalid volume name '%s': use 1 to %d of [a-zA-Z0-9_.-], starting with a letter or digit",
				q, FL_VOLNAME_MAX);
			status = 200;
			goto out;
		}
		snprintf(req->name, sizeof(req->name), "%s", s);
	}
	if (ep->id) {
		jv = json_object_get(root, "ID");
		if (!json_is_string(jv)) {
			fl_seterr(
				err, errlen,
				"%s request of volume %s without an ID string (Docker 1.13 and later send one)",
				what, req->name);
			goto out;
		}
		s = json_string_value(jv);
		if (strlen(s) != json_string_length(jv) || !id_valid(s, strlen(s))) {
			fl_seterr(
				err, errlen,
				"invalid mount ID for volume %s: use 1 to %d printable characters without '/'",
				req->name, FL_DOCKER_ID_MAX);
			status = 200;
			goto out;
		}
		snprintf(req->id, sizeof(req->id), "%s", s);
	}
	status = 0;
	if (ep->op == FL_DOCKER_CREATE)
		status = parse_opts(json_object_get(root, "Opts"), req, err, errlen);
out:
	json_decref(root);
	return status;
}

void fl_docker_req_free(struct fl_docker_req *req)
{
	size_t i;

	for (i = 0; i < req->nopts; i++) {
		free(req->keys[i]);
		free(req->vals[i]);
	}
	req->nopts = 0;
}

char *fl_docker_err_body(const char *msg)
{
	char clean[2048];
	json_t *o;
	char *text = NULL;
	size_t i;

	for (i = 0; msg[i] && i < sizeof(clean) - 1; i++)
		clean[i] = msg[i] >= 0x20 && msg[i] < 0x7f ? msg[i] : '?';
	clean[i] = '\0';
	o = json_pack("{s:s}", "Err", clean);
	if (o)
		text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

/* ---------- replies ---------- */

static const char *reason(int status)
{
	const char *r = "Error";

	switch (status) {
	case 200:
		r = "OK";
		break;
	case 400:
		r = "Bad Request";
		break;
	case 404:
		r = "Not Found";
		break;
	case 405:
		r = "Method Not Allowed";
		break;
	case 413:
		r = "Payload Too Large";
		break;
	case 500:
		r = "Internal Server Error";
		break;
	case 503:
		r = "Service Unavailable";
		break;
	}
	return r;
}

/* Sends body (NULL: out of memory) and ends the request.  A HEAD reply has no body. */
static void reply(struct evhttp_request *req, int status, const char *body)
{
	static const char nomem[] = "{\"Err\":\"flocker-agent is out of memory\"}";
	struct evbuffer *buf =
		evhttp_request_get_command(req) == EVHTTP_REQ_HEAD ? NULL : evbuffer_new();

	if (!body) {
		body = nomem;
		status = 500;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  FL_DOCKER_CONTENT_TYPE);
	if (buf) {
		evbuffer_add(buf, body, strlen(body));
		evbuffer_add(buf, "\n", 1);
	}
	evhttp_send_reply(req, status, reason(status), buf);
	if (buf)
		evbuffer_free(buf);
}

static void reply_err(struct evhttp_request *req, int status, const char *msg)
{
	char *body = fl_docker_err_body(msg);

	reply(req, status, body);
	free(body);
}

/* ---------- the server ---------- */

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct job {
	struct fl_docker *d;
	struct evhttp_request *req; /* loop thread: NULL once answered, and for internal jobs */
	struct event *timer;	    /* loop thread: the reply bound */
	struct fl_docker_req r;
	enum job_state state; /* fl_docker.lock */
	struct job *next;     /* fl_docker.lock: in the queue or the done list */
	/* set by the worker before the job reaches the done list */
	bool ok;
	char *body;
};

struct fl_docker {
	struct event_base *base;
	struct fl_agent *agent;
	struct evhttp *http;
	struct event *done_ev;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	ino_t ino; /* of our socket file */
	unsigned bound_s;
	pthread_t *threads;
	unsigned nthreads;

	pthread_mutex_t lock; /* protects what follows */
	pthread_cond_t work;  /* a job was queued, or stopping */
	pthread_cond_t idle;  /* a worker finished a job */
	struct job *qhead, *qtail;
	unsigned queued, busy;
	struct job *done;
	bool stopping;
};

static void free_job(struct job *j)
{
	if (j->timer)
		event_free(j->timer);
	fl_docker_req_free(&j->r);
	free(j->body);
	free(j);
}

static json_t *volume_json(const struct fl_agent_volume *v)
{
	char created[32], holder[sizeof(v->holder)];
	json_t *o;
	size_t i;

	/* the holder comes from another host's lock cookie: keep it printable ASCII */
	for (i = 0; v->holder[i] && i < sizeof(holder) - 1; i++)
		holder[i] = v->holder[i] > 0x20 && v->holder[i] < 0x7f ? v->holder[i] : '?';
	holder[i] = '\0';
	fl_fmt_time_utc(v->created, created, sizeof(created));
	o = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:I, s:I, s:s}}", "Name", v->name, "Mountpoint",
		      v->mountpoint, "CreatedAt", created, "Status", "holder", holder, "uuid",
		      v->uuid, "size_limit", (json_int_t)v->size_limit, "bytes_used",
		      (json_int_t)v->bytes_used, "created", created);
	/* a mount here whose daemon died or was fenced: the next container mounts afresh */
	if (o && v->mountpoint[0])
		json_object_set_new(json_object_get(o, "Status"), "mount",
				    json_string(v->mount_dead[0] ? v->mount_dead : "serving"));
	if (o && v->parent[0])
		json_object_set_new(json_object_get(o, "Status"), "parent", json_string(v->parent));
	if (o && v->has_snapshots)
		json_object_set_new(json_object_get(o, "Status"), "snapshots",
				    json_integer((json_int_t)v->snapshots));
	return o;
}

static int list_cb(void *arg, const struct fl_agent_volume *v)
{
	json_t *o = volume_json(v);

	return o ? json_array_append_new(arg, o) : -1;
}

/* Runs one operation in a worker thread and leaves its reply in j->body. */
static void run_job(struct fl_docker *d, struct job *j)
{
	const struct fl_docker_req *r = &j->r;
	const char *op = fl_docker_op_name(r->op);
	char err[1024] = "", path[PATH_MAX] = "";
	struct fl_agent_volume v;
	json_t *o = NULL, *arr;
	struct timespec t0, t1;
	int ret = -EINVAL;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	switch (r->op) {
	case FL_DOCKER_CREATE:
		ret = fl_agent_create(d->agent, r->name, (const char *const *)r->keys,
				      (const char *const *)r->vals, r->nopts, err, sizeof(err));
		o = json_pack("{s:s}", "Err", "");
		break;
	case FL_DOCKER_REMOVE:
		ret = fl_agent_remove(d->agent, r->name, err, sizeof(err));
		o = json_pack("{s:s}", "Err", "");
		break;
	case FL_DOCKER_MOUNT:
		ret = fl_agent_mount(d->agent, r->name, r->id, path, sizeof(path), err,
				     sizeof(err));
		o = json_pack("{s:s, s:s}", "Mountpoint", path, "Err", "");
		break;
	case FL_DOCKER_UNMOUNT:
		ret = fl_agent_unmount(d->agent, r->name, r->id, err, sizeof(err));
		o = json_pack("{s:s}", "Err", "");
		break;
	case FL_DOCKER_PATH:
		ret = fl_agent_get(d->agent, r->name, &v, err, sizeof(err));
		if (!ret)
			o = json_pack("{s:s, s:s}", "Mountpoint", v.mountpoint, "Err", "");
		break;
	case FL_DOCKER_GET:
		ret = fl_agent_get(d->agent, r->name, &v, err, sizeof(err));
		if (!ret)
			o = json_pack("{s:o, s:s}", "Volume", volume_json(&v), "Err", "");
		break;
	case FL_DOCKER_LIST:
		arr = json_array();
		ret = fl_agent_list(d->agent, list_cb, arr, err, sizeof(err));
		o = json_pack("{s:o, s:s}", "Volumes", arr, "Err", "");
		break;
	default:
		snprintf(err, sizeof(err), "%s is not a worker operation", op);
		break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	j->ok = ret == 0;
	if (ret) {
		if (!err[0])
			snprintf(err, sizeof(err), "%s of volume %s failed: %s", op, r->name,
				 strerror(-ret));
		j->body = fl_docker_err_body(err);
		fl_notice("%s%s%s: %s", op, r->name[0] ? " " : "", r->name, err);
	} else {
		j->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (!j->body)
			j->body = fl_docker_err_body("cannot encode the reply (out of memory?)");
		fl_info("%s%s%s%s%.12s: done in %ld ms", op, r->name[0] ? " " : "", r->name,
			r->id[0] ? " ID " : "", r->id,
			(long)((t1.tv_sec - t0.tv_sec) * 1000 +
			       (t1.tv_nsec - t0.tv_nsec) / 1000000));
	}
	json_decref(o);
}

static void *worker(void *arg)
{
	struct fl_docker *d = arg;
	struct job *j;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		while (!d->qhead && !d->stopping)
			pthread_cond_wait(&d->work, &d->lock);
		if (d->stopping)
			break;
		j = d->qhead;
		d->qhead = j->next;
		if (!d->qhead)
			d->qtail = NULL;
		d->queued--;
		j->state = JOB_RUNNING;
		d->busy++;
		pthread_mutex_unlock(&d->lock);

		run_job(d, j);

		pthread_mutex_lock(&d->lock);
		j->state = JOB_DONE;
		j->next = d->done;
		d->done = j;
		d->busy--;
		event_active(d->done_ev, EV_READ, 0);
		pthread_cond_broadcast(&d->idle);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

/* Queues j (loop thread).  false when the queue is full or we are stopping. */
static bool enqueue(struct fl_docker *d, struct job *j)
{
	bool ok;

	pthread_mutex_lock(&d->lock);
	ok = !d->stopping && d->queued < FL_DOCKER_QUEUE_MAX;
	if (ok) {
		j->state = JOB_QUEUED;
		j->next = NULL;
		if (d->qtail)
			d->qtail->next = j;
		else
			d->qhead = j;
		d->qtail = j;
		d->queued++;
		pthread_cond_signal(&d->work);
	}
	pthread_mutex_unlock(&d->lock);
	return ok;
}

/* A Mount Docker was told had failed succeeded after all: give the ID back. */
static void compensate(struct fl_docker *d, const struct job *j)
{
	struct job *u = calloc(1, sizeof(*u));

	fl_warn("Mount %s ID %.12s finished after Docker was told it failed: releasing it",
		j->r.name, j->r.id);
	if (!u)
		goto out;
	u->d = d;
	u->r.op = FL_DOCKER_UNMOUNT;
	memcpy(u->r.name, j->r.name, sizeof(u->r.name));
	memcpy(u->r.id, j->r.id, sizeof(u->r.id));
	if (!enqueue(d, u)) {
		fl_err("cannot release volume %s ID %.12s: the queue is full; it stays mounted until the next Unmount",
		       j->r.name, j->r.id);
		free_job(u);
	}
out:
	return;
}

/* Loop thread: answers the jobs the workers finished. */
static void done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fl_docker *d = arg;
	struct job *list, *j;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&d->lock);
	list = d->done;
	d->done = NULL;
	pthread_mutex_unlock(&d->lock);
	while ((j = list)) {
		list = j->next;
		if (j->req)
			reply(j->req, 200, j->body);
		else if (j->timer && j->ok && j->r.op == FL_DOCKER_MOUNT)
			compensate(d, j);
		free_job(j);
	}
}

/* Loop thread: the reply bound of a job passed. */
static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg, **pp;
	struct fl_docker *d = j->d;
	enum job_state state;
	char msg[512];

	(void)fd;
	(void)what;
	pthread_mutex_lock(&d->lock);
	state = j->state;
	if (state == JOB_QUEUED) {
		for (pp = &d->qhead; *pp != j; pp = &(*pp)->next)
			;
		*pp = j->next;
		if (d->qtail == j) {
			d->qtail = d->qhead;
			while (d->qtail && d->qtail->next)
				d->qtail = d->qtail->next;
		}
		d->queued--;
	}
	pthread_mutex_unlock(&d->lock);
	if (state == JOB_QUEUED)
		snprintf(
			msg, sizeof(msg),
			"%s of volume %s waited %u s for a free worker (flocker-agent is overloaded or the Ceph cluster is slow): retry",
			fl_docker_op_name(j->r.op), j->r.name, d->bound_s);
	else
		snprintf(
			msg, sizeof(msg),
			"%s of volume %s did not finish within %u s (is the Ceph cluster slow?); it goes on in the background: retry, and see the flocker-agent log",
			fl_docker_op_name(j->r.op), j->r.name, d->bound_s);
	fl_warn("%s", msg);
	reply_err(j->req, 200, msg);
	j->req = NULL;
	if (state == JOB_QUEUED)
		free_job(j);
}

static void request_cb(struct evhttp_request *req, void *arg)
{
	struct fl_docker *d = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	struct timeval tv = {.tv_sec = d->bound_s};
	char err[512] = "", *body;
	struct job *j = calloc(1, sizeof(*j));
	int status;

	if (!j) {
		reply(req, 500, NULL);
		goto out;
	}
	body = len <= FL_DOCKER_MAX_BODY ? (char *)evbuffer_pullup(in, (ev_ssize_t)len) : NULL;
	status = fl_docker_parse(path, body, len, &j->r, err, sizeof(err));
	if (status != 404 && evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		reply_err(req, 405, "use POST: Docker's plugin protocol has no other method");
		goto out_free;
	}
	if (status) {
		fl_info("%s: %d %s", path ? path : "?", status, err);
		reply_err(req, status, err);
		goto out_free;
	}
	switch (j->r.op) {
	case FL_DOCKER_ACTIVATE:
		fl_info("Docker activated the plugin");
		reply(req, 200, "{\"Implements\":[\"VolumeDriver\"]}");
		goto out_free;
	case FL_DOCKER_CAPABILITIES:
		reply(req, 200, "{\"Capabilities\":{\"Scope\":\"global\"}}");
		goto out_free;
	default:
		break;
	}
	j->d = d;
	j->req = req;
	j->timer = evtimer_new(d->base, timer_cb, j);
	if (!j->timer) {
		reply(req, 500, NULL);
		goto out_free;
	}
	if (!enqueue(d, j)) {
		snprintf(
			err, sizeof(err),
			"flocker-agent is busy with %d operations or stopping: retry in a few seconds",
			FL_DOCKER_QUEUE_MAX);
		reply_err(req, 200, err);
		goto out_free;
	}
	evtimer_add(j->timer, &tv);
	goto out;
out_free:
	free_job(j);
out:
	return;
}

static int mkdir_parent(const char *path)
{
	char tmp[PATH_MAX], *p;
	int ret = 0;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = tmp + 1; *p && !ret; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			ret = -errno;
		*p = '/';
	}
	return ret;
}

/* A listening unix socket at path; a stale socket file is replaced, a live one refused. */
static int listen_unix(const char *path, int *out, ino_t *ino, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old;
	int fd = -1, probe, ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fl_seterr(err, errlen, "plugin socket path %s is too long: use at most %zu bytes",
			  path, sizeof(sa.sun_path) - 1);
		ret = -ENAMETOOLONG;
		goto out;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ret = mkdir_parent(path);
	if (ret) {
		fl_seterr(err, errlen, "cannot create the directory of %s: %s", path,
			  strerror(-ret));
		goto out;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			fl_seterr(
				err, errlen,
				"%s exists and is not a socket: remove it or choose another --plugin-socket",
				path);
			ret = -EEXIST;
			goto out;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			fl_seterr(
				err, errlen,
				"another process serves %s (a running flocker-agent?): stop it first",
				path);
			ret = -EADDRINUSE;
			goto out;
		}
		if (probe >= 0)
			close(probe);
		fl_info("removing the stale socket %s", path);
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = -errno;
		fl_seterr(err, errlen, "cannot create a socket: %s", strerror(-ret));
		goto out;
	}
	old = umask(0117);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old);
	if (!ret && (chmod(path, 0660) < 0 || listen(fd, 64) < 0 || stat(path, &st) < 0))
		ret = -errno;
	if (ret) {
		fl_seterr(err, errlen, "cannot listen on %s: %s", path, strerror(-ret));
		goto out;
	}
	*ino = st.st_ino;
	*out = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

int fl_docker_start(struct event_base *base, struct fl_agent *agent, const struct fl_docker_opts *o,
		    struct fl_docker **out, char *err, size_t errlen)
{
	struct fl_docker *d = calloc(1, sizeof(*d));
	struct evconnlistener *lev = NULL;
	unsigned i;
	int fd = -1, ret = -ENOMEM;

	*out = NULL;
	if (!d)
		goto out_nomem;
	d->base = base;
	d->agent = agent;
	d->bound_s = o->reply_bound_s ? o->reply_bound_s : FL_DOCKER_REPLY_BOUND_S;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->work, NULL);
	pthread_cond_init(&d->idle, NULL);
	snprintf(d->path, sizeof(d->path), "%s", o->socket_path);
	d->done_ev = event_new(base, -1, EV_PERSIST, done_cb, d);
	d->http = evhttp_new(base);
	if (!d->done_ev || !d->http)
		goto out_nomem;
	evhttp_set_allowed_methods(d->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
						    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_body_size(d->http, EVHTTP_MAX_BODY);
	evhttp_set_max_headers_size(d->http, EVHTTP_MAX_HEADERS);
	evhttp_set_timeout(d->http, EVHTTP_TIMEOUT_S);
	evhttp_set_default_content_type(d->http, FL_DOCKER_CONTENT_TYPE);
	evhttp_set_gencb(d->http, request_cb, d);

	ret = listen_unix(o->socket_path, &fd, &d->ino, err, errlen);
	if (ret)
		goto out;
	lev = evconnlistener_new(base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0,
				 fd);
	if (!lev) {
		close(fd);
		goto out_nomem;
	}
	if (!evhttp_bind_listener(d->http, lev)) {
		evconnlistener_free(lev);
		goto out_nomem;
	}
	d->nthreads = o->workers ? o->workers : FL_DOCKER_WORKERS;
	d->threads = calloc(d->nthreads, sizeof(*d->threads));
	if (!d->threads)
		goto out_nomem;
	for (i = 0; i < d->nthreads; i++) {
		ret = -pthread_create(&d->threads[i], NULL, worker, d);
		if (ret) {
			d->nthreads = i;
			fl_seterr(err, errlen, "cannot start worker threads: %s", strerror(-ret));
			goto out;
		}
	}
	fl_notice("serving Docker's volume plugin protocol on %s", d->path);
	*out = d;
	d = NULL;
	ret = 0;
	goto out;
out_nomem:
	ret = -ENOMEM;
	fl_seterr(err, errlen, "cannot start the plugin server: out of memory");
out:
	if (d)
		fl_docker_stop(d, 0);
	return ret;
}

static void remove_socket(struct fl_docker *d)
{
	struct stat st;

	if (d->ino && stat(d->path, &st) == 0 && st.st_ino == d->ino)
		unlink(d->path);
}

int fl_docker_stop(struct fl_docker *d, unsigned wait_s)
{
	struct job *dropped, *done, *j;
	struct timespec until;
	unsigned i, busy;
	int ret = 0;

	remove_socket(d);
	pthread_mutex_lock(&d->lock);
	d->stopping = true;
	pthread_cond_broadcast(&d->work);
	dropped = d->qhead;
	d->qhead = d->qtail = NULL;
	d->queued = 0;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_s;
	while (d->busy && pthread_cond_timedwait(&d->idle, &d->lock, &until) == 0)
		;
	busy = d->busy;
	done = d->done;
	d->done = NULL;
	pthread_mutex_unlock(&d->lock);
	/* requests are freed by evhttp_free with their connections; Docker retries them */
	while ((j = dropped)) {
		dropped = j->next;
		free_job(j);
	}
	while ((j = done)) {
		done = j->next;
		free_job(j);
	}
	if (busy) {
		fl_warn("stopping with %u operation(s) still running", busy);
		ret = -EBUSY;
		goto out;
	}
	for (i = 0; i < d->nthreads; i++)
		pthread_join(d->threads[i], NULL);
	if (d->http)
		evhttp_free(d->http);
	if (d->done_ev)
		event_free(d->done_ev);
	pthread_cond_destroy(&d->work);
	pthread_cond_destroy(&d->idle);
	pthread_mutex_destroy(&d->lock);
	free(d->threads);
	free(d);
out:
	return ret;
}
