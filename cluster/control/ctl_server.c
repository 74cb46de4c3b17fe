/*
 * flockerfs — flocker-control's core: agent sessions, liveness, leases and
 * fencing (see ctl_server.h).
 */
#include "cluster/control/ctl_server.h"
#include "cluster/control/ctl_metrics.h"
#include "cluster/control/ctl_voljob.h"
#include "cluster/control/ctl_worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/util.h>
#include <openssl/err.h>

#include "flocker/log.h"
#include "flocker/proto.h"
#include "fs/util/fmt.h"
#include "fs/volume/volume.h"

#define SESS_OUT_MAX   (64u << 20) /* queued output before a slow agent is dropped */
#define HANDSHAKE_S    10
#define PUSH_TIMEOUT_S 20
#define PROBE_MS       1000 /* how long a silent node's mount daemon has to answer */
#define WATCH_GAP_MS   1000 /* a probe nobody watched is asked again after this */
#define SESS_QUEUE_MAX 64   /* requests held while one of the session's waits for RADOS */

/* A request that waits for the one before it (struct fl_sess, busy). */
struct sess_req {
	struct fl_msg m;
	struct sess_req *next;
};

struct fl_sess {
	struct fl_ctl *c;
	struct bufferevent *bev;
	uint64_t serial;
	struct fl_peer peer;
	char addr[64];
	bool established, hello;
	struct fl_node_live *node;
	uint64_t next_id;
	/*
	 * Requests of one session take effect in the order they came: while one
	 * waits for a RADOS call on a worker (busy), the next ones wait in q
	 * (heartbeats and replies, which touch no RADOS, are served at once);
	 * resume runs them from the loop once it is done.
	 */
	bool busy;
	struct sess_req *q, **q_tail;
	unsigned nq;
	struct event *resume;
	struct fl_sess *next;
};

enum acq_state {
	ACQ_NEW,
	ACQ_QUEUED,
	ACQ_PUSHED,
	ACQ_WAIT_HOLDER,
	ACQ_CHECKING, /* the worker probes (and maybe fences) a silent holder */
	ACQ_WRITING,  /* the lease's write is out (fl_state_lease_put_async) */
	ACQ_DONE
};

struct acq_check;

struct fl_acq {
	struct fl_ctl *c;
	char uuid[37], name[FL_VOLNAME_MAX + 1];
	char node[37], node_name[64];
	uint32_t kind;
	int64_t expires;
	uint64_t expect_tag;
	fl_acq_done done;
	void *arg;
	enum acq_state st;
	double deadline;
	uint64_t push_sess, push_id; /* the unmount we wait for */
	char pushed_to[37];
	double pushed_at;
	bool unmount_ok;	 /* pushed_to agreed to give the volume up */
	struct acq_check *check; /* while ACQ_CHECKING */
	struct event *kick;
	struct fl_acq *next;
};

static uint64_t sess_serial;

double fl_now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* nodes */

struct fl_node_live *fl_ctl_node(struct fl_ctl *c, const char *uuid)
{
	struct fl_node_live *n;

	for (n = c->nodes; n; n = n->next)
		if (!strcmp(n->uuid, uuid))
			return n;
	return NULL;
}

static struct fl_node_live *node_get(struct fl_ctl *c, const char *uuid, const char *name)
{
	struct fl_node_live *n = fl_ctl_node(c, uuid);

	if (n)
		return n;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	snprintf(n->uuid, sizeof(n->uuid), "%s", uuid);
	snprintf(n->name, sizeof(n->name), "%s", name);
	/* known but not heard of yet: alive for one lease from now */
	n->last_hb = fl_now_mono();
	n->next = c->nodes;
	c->nodes = n;
	return n;
}

bool fl_ctl_node_alive(struct fl_ctl *c, const struct fl_node_live *n)
{
	return n && fl_now_mono() - n->last_hb < (double)c->o.lease_s;
}

/*
 * Is the holder of a lease still there to be asked?  Yes while connected and
 * heard from within the lease; a node whose connection closed (its agent
 * stopped or died: the kernel closed its socket) is given one heartbeat
 * interval to come back.  A node that is not there is not fenced yet: its mount daemon
 * is probed first (acq_writer_alive), so a running container never loses
 * its volume to an agent restart.
 */
static bool holder_present(struct fl_ctl *c, const struct fl_node_live *n)
{
	double silent;

	if (!fl_ctl_node_alive(c, n))
		return false;
	silent = fl_now_mono() - n->last_hb;
	return n->sess || silent < (double)c->o.heartbeat_s;
}

const struct fl_mount_rep *fl_ctl_mount_of(struct fl_node_live *n, const char *uuid)
{
	size_t i;

	for (i = 0; n && i < n->nmounts; i++)
		if (!strcmp(n->mounts[i].uuid, uuid) && n->mounts[i].users > 0)
			return &n->mounts[i];
	return NULL;
}

static const struct fl_mount_rep *mount_any(struct fl_node_live *n, const char *uuid)
{
	size_t i;

	for (i = 0; n && i < n->nmounts; i++)
		if (!strcmp(n->mounts[i].uuid, uuid))
			return &n->mounts[i];
	return NULL;
}

static void copy_field(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

/* Replaces the node's mount report from a "mounts" array; -EINVAL if malformed. */
static int node_set_mounts(struct fl_node_live *n, const struct fl_pv *arr)
{
	struct fl_mount_rep *m = NULL;
	uint32_t i;

	if (!arr)
		return 0; /* not reported: keep the last report */
	if (arr->type != FL_PV_ARRAY || arr->n > FL_CTL_MOUNTS_MAX)
		return -EINVAL;
	if (arr->n) {
		m = calloc(arr->n, sizeof(*m));
		if (!m)
			return -ENOMEM;
	}
	for (i = 0; i < arr->n; i++) {
		const struct fl_pv *e = &arr->v.kids[i];
		uint64_t users = 0;

		if (e->type != FL_PV_MAP || fl_pv_get_u64(e, "users", 0, &users)) {
			free(m);
			return -EINVAL;
		}
		copy_field(m[i].uuid, sizeof(m[i].uuid), fl_pv_get_str(e, "uuid"));
		copy_field(m[i].name, sizeof(m[i].name), fl_pv_get_str(e, "name"));
		copy_field(m[i].path, sizeof(m[i].path), fl_pv_get_str(e, "path"));
		copy_field(m[i].addr, sizeof(m[i].addr), fl_pv_get_str(e, "addr"));
		copy_field(m[i].dead, sizeof(m[i].dead), fl_pv_get_str(e, "dead"));
		m[i].users = users > UINT32_MAX ? UINT32_MAX : (uint32_t)users;
		if (m[i].dead[0]) {
			const struct fl_mount_rep *old = mount_any(n, m[i].uuid);

			if (!old || !old->dead[0])
				fl_notice("node %s: its mount of volume %s at %s is dead (%s), %u "
					  "user(s)",
					  n->name, m[i].name, m[i].path, m[i].dead, m[i].users);
		}
	}
	free(n->mounts);
	n->mounts = m;
	n->nmounts = arr->n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* sessions */

static struct fl_sess *sess_by_serial(struct fl_ctl *c, uint64_t serial)
{
	struct fl_sess *s;

	for (s = c->sessions; s; s = s->next)
		if (s->serial == serial)
			return s;
	return NULL;
}

static void acq_kick(struct fl_acq *a);

static void sess_free(struct fl_sess *s)
{
	struct sess_req *r;

	while ((r = s->q)) {
		s->q = r->next;
		fl_msg_free(&r->m);
		free(r);
	}
	if (s->resume)
		event_free(s->resume);
	bufferevent_free(s->bev);
	free(s);
}

static void sess_close(struct fl_sess *s, const char *why)
{
	struct fl_ctl *c = s->c;
	struct fl_sess **pp;
	struct fl_acq *a;

	for (pp = &c->sessions; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	if (s->hello)
		fl_info("node %s (%s) disconnected: %s", s->peer.name, s->addr, why);
	else
		fl_info("agent connection from %s closed: %s", s->addr, why);
	if (s->node && s->node->sess == s) {
		s->node->sess = NULL;
		/* its last_seen: written off the loop, after any write of its hello */
		fl_state_node_seen_async(c->state, s->node->uuid, s->node->name, s->addr, NULL,
					 time(NULL), NULL, NULL);
	}
	/* acquires waiting for this node's answer look again */
	for (a = c->acqs; a; a = a->next) {
		if (a->st == ACQ_PUSHED && a->push_sess == s->serial) {
			a->st = ACQ_WAIT_HOLDER;
			acq_kick(a);
		}
	}
	sess_free(s);
}

static int sess_send(struct fl_sess *s, struct fl_frame_enc *e)
{
	if (e->err)
		return e->err;
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) > SESS_OUT_MAX)
		return -ENOBUFS;
	return bufferevent_write(s->bev, e->buf.data, e->buf.len) ? -ENOMEM : 0;
}

/* A reply with extra pairs packed by fill (nextra of them). */
static void sess_reply(struct fl_sess *s, uint64_t id, int err, const char *msg,
		       void (*fill)(msgpack_packer *pk, void *arg), void *arg, uint32_t nextra)
{
	struct fl_frame_enc e;
	int ret;

	fl_frame_enc_init(&e);
	ret = fl_frame_begin(&e, "reply", id, 2 + nextra);
	fl_pk_kv_i64(&e.pk, "err", err);
	fl_pk_kv_str(&e.pk, "msg", msg ? msg : "");
	if (fill)
		fill(&e.pk, arg);
	if (!ret)
		ret = fl_frame_end(&e);
	if (ret == -EMSGSIZE) {
		/* too big to send: say so instead */
		fl_frame_enc_free(&e);
		fl_frame_enc_init(&e);
		fl_frame_begin(&e, "reply", id, 2);
		fl_pk_kv_i64(&e.pk, "err", -EMSGSIZE);
		fl_pk_kv_str(&e.pk, "msg", "the reply is over the frame size limit");
		ret = fl_frame_end(&e);
	}
	if (!ret)
		ret = sess_send(s, &e);
	if (ret)
		fl_warn("cannot reply to node %s: %s", s->peer.name, strerror(-ret));
	fl_frame_enc_free(&e);
}

static void sess_err(struct fl_sess *s, uint64_t id, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void sess_err(struct fl_sess *s, uint64_t id, int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sess_reply(s, id, err, msg, NULL, NULL, 0);
}

/* A volume as agents see it. */
struct vol_view {
	struct fl_ctl *c;
	const char *name;
	const struct fl_volreg_rec *r;
	uint64_t bytes_used;
	bool deleted;
	const char *parent; /* a clone's "VOL@SNAP", "" for none; NULL: not known (not sent) */
	unsigned snapshots; /* with parent */
};

static void pack_volume(msgpack_packer *pk, const struct vol_view *v)
{
	const struct fl_lease *l = fl_state_lease(v->c->state, v->r->uuid);

	msgpack_pack_map(pk, v->parent ? 10 : 8);
	fl_pk_kv_str(pk, "name", v->name);
	fl_pk_kv_str(pk, "uuid", v->r->uuid);
	fl_pk_kv_u64(pk, "size_limit", v->r->size_limit);
	fl_pk_kv_i64(pk, "created", v->r->created);
	fl_pk_kv_u64(pk, "bytes_used", v->bytes_used);
	fl_pk_kv_str(pk, "holder", l ? l->node_name : "");
	fl_pk_kv_str(pk, "holder_uuid", l ? l->node : "");
	fl_pk_kv_bool(pk, "deleted", v->deleted);
	if (v->parent) {
		fl_pk_kv_str(pk, "parent", v->parent);
		fl_pk_kv_u64(pk, "snapshots", v->snapshots);
	}
}

static void fill_volume(msgpack_packer *pk, void *arg)
{
	fl_pk_str(pk, "volume");
	pack_volume(pk, arg);
}

/* --- requests --- */

static void on_hello(struct fl_sess *s, const struct fl_msg *m);
static void on_heartbeat(struct fl_sess *s, const struct fl_msg *m);
static void on_acquire(struct fl_sess *s, const struct fl_msg *m);
static void on_release(struct fl_sess *s, const struct fl_msg *m);
static void on_create(struct fl_sess *s, const struct fl_msg *m);
static void on_remove(struct fl_sess *s, const struct fl_msg *m);
static void on_get(struct fl_sess *s, const struct fl_msg *m);
static void on_list(struct fl_sess *s, const struct fl_msg *m);
static void on_reply(struct fl_sess *s, const struct fl_msg *m);

static const struct {
	const char *type;
	void (*fn)(struct fl_sess *s, const struct fl_msg *m);
} handlers[] = {
	{"hello", on_hello},	 {"heartbeat", on_heartbeat}, {"acquire", on_acquire},
	{"release", on_release}, {"create", on_create},	      {"remove", on_remove},
	{"get", on_get},	 {"list", on_list},	      {"reply", on_reply},
};

static void sess_dispatch(struct fl_sess *s, const struct fl_msg *m)
{
	size_t i;

	s->c->nframes++;
	if (s->node)
		s->node->last_hb = fl_now_mono();
	if (!s->hello && strcmp(m->type, "hello")) {
		sess_err(s, m->id, -EPROTO, "the first message must be hello, not %s", m->type);
		return;
	}
	for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		if (!strcmp(handlers[i].type, m->type)) {
			handlers[i].fn(s, m);
			return;
		}
	}
	sess_err(s, m->id, -EOPNOTSUPP, "unknown request %s", m->type);
}

/* Served even while an earlier request waits: they touch no RADOS. */
static bool sess_unordered(const char *type)
{
	return !strcmp(type, "heartbeat") || !strcmp(type, "reply");
}

static int sess_on_msg(void *arg, struct fl_msg *m)
{
	struct fl_sess *s = arg;
	struct sess_req *r;

	if ((s->busy || s->q) && !sess_unordered(m->type)) {
		r = calloc(1, sizeof(*r));
		if (!r) {
			sess_err(s, m->id, -ENOMEM, "out of memory");
			return 0;
		}
		r->m = *m; /* the request's memory moves to the queue */
		memset(m, 0, sizeof(*m));
		*s->q_tail = r;
		s->q_tail = &r->next;
		/* a full queue: read no further until it drains (TCP holds the rest) */
		return ++s->nq >= SESS_QUEUE_MAX;
	}
	sess_dispatch(s, m);
	return 0;
}

static void sess_read_cb(struct bufferevent *bev, void *arg)
{
	struct fl_sess *s = arg;
	char why[96];
	int ret;

	if (s->node)
		s->node->last_hb = fl_now_mono(); /* it speaks, even if we read later */
	if (s->nq >= SESS_QUEUE_MAX)
		return;
	ret = fl_frame_read(bufferevent_get_input(bev), sess_on_msg, s);
	if (ret == -EMSGSIZE)
		sess_close(s, "frame over the size limit");
	else if (ret == -ENOMEM)
		sess_close(s, "out of memory");
	else if (ret) {
		snprintf(why, sizeof(why), "bad frame: %s", strerror(-ret));
		sess_close(s, why);
	}
}

/* The requests held while one waited, then whatever else came meanwhile. */
static void sess_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fl_sess *s = arg;
	struct sess_req *r;

	(void)fd;
	(void)what;
	while (!s->busy && (r = s->q)) {
		s->q = r->next;
		if (!s->q)
			s->q_tail = &s->q;
		s->nq--;
		sess_dispatch(s, &r->m);
		fl_msg_free(&r->m);
		free(r);
	}
	if (!s->busy && evbuffer_get_length(bufferevent_get_input(s->bev)))
		sess_read_cb(s->bev, s); /* may close s */
}

/* The request that made s busy is done: the next ones go, from the loop. */
static void sess_unbusy(struct fl_sess *s)
{
	s->busy = false;
	event_active(s->resume, EV_TIMEOUT, 0);
}

static void sess_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct fl_sess *s = arg;
	char why[256];

	if (what & BEV_EVENT_CONNECTED) {
		SSL *ssl = bufferevent_openssl_get_ssl(bev);
		struct timeval tv = {s->c->o.lease_s, 0};

		if (fl_tls_peer(ssl, &s->peer) || s->peer.role != FL_ROLE_NODE) {
			sess_close(s, "no node certificate");
			return;
		}
		s->established = true;
		bufferevent_set_timeouts(bev, &tv, NULL);
		fl_debug("agent connection from %s: node %s (%s)", s->addr, s->peer.name,
			 s->peer.uuid);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		sess_close(s,
			   s->established ? "no heartbeat within the lease" : "handshake timeout");
		return;
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
		if (!s->established) {
			SSL *ssl = bufferevent_openssl_get_ssl(bev);
			unsigned long e = bufferevent_get_openssl_error(bev);

			fl_tls_why_err(ssl, e, why, sizeof(why));
			fl_notice("refused agent connection from %s during the TLS handshake: %s",
				  s->addr, why);
			sess_close(s, "TLS handshake failed");
			return;
		}
		sess_close(s, what & BEV_EVENT_EOF ? "connection closed" : "connection error");
	}
}

static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct fl_ctl *c = arg;
	struct fl_sess *s;
	SSL *ssl;
	struct timeval tv = {HANDSHAKE_S, 0};
	char host[INET6_ADDRSTRLEN] = "?";

	(void)lev;
	(void)salen;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, host, sizeof(host));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof(host));
	s = calloc(1, sizeof(*s));
	ssl = SSL_new(c->agent_ctx);
	if (!s || !ssl) {
		free(s);
		SSL_free(ssl);
		evutil_closesocket(fd);
		return;
	}
	s->c = c;
	s->serial = ++sess_serial;
	s->next_id = 1;
	s->q_tail = &s->q;
	snprintf(s->addr, sizeof(s->addr), "%s", host);
	s->resume = event_new(c->base, -1, 0, sess_resume_cb, s);
	s->bev = bufferevent_openssl_socket_new(c->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
						BEV_OPT_CLOSE_ON_FREE);
	if (!s->bev || !s->resume) {
		if (s->bev)
			bufferevent_free(s->bev); /* closes fd and frees ssl */
		else {
			SSL_free(ssl);
			evutil_closesocket(fd);
		}
		if (s->resume)
			event_free(s->resume);
		free(s);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	bufferevent_setwatermark(s->bev, EV_READ, 0, FL_FRAME_HDR + FL_FRAME_MAX);
	bufferevent_setcb(s->bev, sess_read_cb, NULL, sess_event_cb, s);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	s->next = c->sessions;
	c->sessions = s;
}

/* ------------------------------------------------------------------ */
/* handlers */

static void fill_hello(msgpack_packer *pk, void *arg)
{
	struct fl_sess *s = arg;

	fl_pk_kv_str(pk, "node_uuid", s->peer.uuid);
	fl_pk_kv_u64(pk, "lease_s", s->c->o.lease_s);
	fl_pk_kv_u64(pk, "heartbeat_s", s->c->o.heartbeat_s);
	fl_pk_kv_u64(pk, "tag", fl_state_tag(s->c->state));
}

/* A request of session serial waiting for its RADOS call. */
struct sess_wait {
	struct fl_ctl *c;
	uint64_t sess, id;
};

/*
 * The node's record is in RADOS: only now the hello is answered, so that a
 * node's record is written before any lease it takes (a new leader knows
 * every holder's host and address), as when the write ran on the loop.
 */
static void hello_recorded(void *arg, int err)
{
	struct sess_wait *w = arg;
	struct fl_sess *s = sess_by_serial(w->c, w->sess);

	if (s) {
		if (err && err != -ESHUTDOWN)
			fl_warn("cannot record node %s: %s", s->peer.name, strerror(-err));
		fl_notice("node %s (%s) connected from %s, %zu mounts", s->peer.name, s->peer.uuid,
			  s->addr, s->node ? s->node->nmounts : 0);
		sess_reply(s, w->id, 0, NULL, fill_hello, s, 4);
		sess_unbusy(s);
	}
	free(w);
}

static void on_hello(struct fl_sess *s, const struct fl_msg *m)
{
	struct fl_ctl *c = s->c;
	const char *name = fl_pv_get_str(m->body, "node");
	struct fl_node_live *n;
	struct fl_sess *old;
	struct sess_wait *w;

	if (*name && strcmp(name, s->peer.name)) {
		sess_err(s, m->id, -EPERM,
			 "this agent says it is node %s but its certificate is for node %s", name,
			 s->peer.name);
		return;
	}
	n = node_get(c, s->peer.uuid, s->peer.name);
	if (!n) {
		sess_err(s, m->id, -ENOMEM, "out of memory");
		return;
	}
	if (n->sess && n->sess != s) {
		old = n->sess;
		n->sess = NULL;
		sess_close(old, "replaced by a new connection of the same node");
	}
	if (node_set_mounts(n, fl_pv_get(m->body, "mounts"))) {
		sess_err(s, m->id, -EINVAL, "malformed mounts list");
		return;
	}
	copy_field(n->name, sizeof(n->name), s->peer.name);
	copy_field(n->host, sizeof(n->host), fl_pv_get_str(m->body, "host"));
	copy_field(n->rados_addr, sizeof(n->rados_addr), fl_pv_get_str(m->body, "rados_addr"));
	n->sess = s;
	n->last_hb = fl_now_mono();
	s->node = n;
	s->hello = true;
	w = calloc(1, sizeof(*w));
	if (!w) {
		sess_err(s, m->id, -ENOMEM, "out of memory");
		return;
	}
	w->c = c;
	w->sess = s->serial;
	w->id = m->id;
	/* the write runs on a worker: a reconnect storm never holds up the loop */
	s->busy = true;
	fl_state_node_seen_async(c->state, n->uuid, n->name, s->addr, n->host, time(NULL),
				 hello_recorded, w);
}

static void fill_now(msgpack_packer *pk, void *arg)
{
	(void)arg;
	fl_pk_kv_i64(pk, "now", (int64_t)time(NULL));
}

static void on_heartbeat(struct fl_sess *s, const struct fl_msg *m)
{
	if (node_set_mounts(s->node, fl_pv_get(m->body, "mounts"))) {
		sess_err(s, m->id, -EINVAL, "malformed mounts list");
		return;
	}
	sess_reply(s, m->id, 0, NULL, fill_now, NULL, 1);
}

/*
 * A request's reads of the registry (and, for get, of the superblock) run on
 * a worker; its continuation runs on the loop with what they found.  While
 * the read runs, the session is busy: its next requests wait (sess_on_msg),
 * so they take effect in the order the agent sent them, as when the read ran
 * on the loop.  Reads see every write whose request was answered before.
 */
struct req_job;
typedef void (*req_then)(struct fl_sess *s, struct req_job *q);

struct vol_ent {
	char name[FL_VOLNAME_MAX + 1];
	struct fl_volreg_rec r;
};

struct req_job {
	struct fl_job job;
	struct fl_ctl *c;
	struct fl_state *st; /* the work reads only RADOS through it */
	uint64_t sess, id;
	bool ordered; /* the session waits for this job */
	bool usage;   /* get: the superblock's bytes_used too */
	bool list;    /* list: every volume */
	char name[FL_VOLNAME_MAX + 1];
	int ret;
	struct fl_volreg_rec r;
	uint64_t bytes_used;
	struct vol_ent *ents;
	size_t nents, cents;
	req_then then;
	void *arg; /* the continuation's */
};

static int req_list_cb(void *arg, const char *name, const struct fl_volreg_rec *r)
{
	struct req_job *q = arg;
	struct vol_ent *p;

	if (q->nents == q->cents) {
		q->cents = q->cents ? q->cents * 2 : 64;
		p = realloc(q->ents, q->cents * sizeof(*p));
		if (!p)
			return -ENOMEM;
		q->ents = p;
	}
	snprintf(q->ents[q->nents].name, sizeof(q->ents[0].name), "%s", name);
	q->ents[q->nents++].r = *r;
	return 0;
}

static void req_work(struct fl_job *j)
{
	struct req_job *q = (struct req_job *)j;
	struct fl_volume *v = NULL;

	if (q->list) {
		q->ret = fl_state_volumes(q->st, req_list_cb, q);
		return;
	}
	q->ret = fl_state_volume_by_name(q->st, q->name, &q->r);
	/* usage as of the last checkpoint, from the superblock */
	if (!q->ret && q->usage &&
	    fl_volume_open(fl_state_pool(q->st), q->name, &v, NULL, 0) == 0) {
		q->bytes_used = v->super.used_bytes;
		fl_volume_close(v);
	}
}

static void req_done(struct fl_job *j)
{
	struct req_job *q = (struct req_job *)j;
	struct fl_sess *s = sess_by_serial(q->c, q->sess);

	if (s && j->cancelled)
		sess_err(s, q->id, -ESHUTDOWN, "the control service is stopping");
	else if (s && q->list && q->ret < 0)
		sess_err(s, q->id, q->ret, "cannot list volumes: %s", strerror(-q->ret));
	else if (s && q->ret == -ENOENT)
		sess_err(s, q->id, -ENOENT, "no such volume: %s", q->name);
	else if (s && q->ret)
		sess_err(s, q->id, q->ret, "cannot read the volume registry: %s",
			 strerror(-q->ret));
	else if (s)
		q->then(s, q);
	if (s && q->ordered)
		sess_unbusy(s);
	free(q->ents);
	free(q);
}

/* A new read for request id of s; NULL (error sent) when out of memory. */
static struct req_job *req_new(struct fl_sess *s, uint64_t id, const char *name, req_then then)
{
	struct req_job *q = calloc(1, sizeof(*q));

	if (!q) {
		sess_err(s, id, -ENOMEM, "out of memory");
		return NULL;
	}
	q->job.work = req_work;
	q->job.done = req_done;
	q->c = s->c;
	q->st = s->c->state;
	q->sess = s->serial;
	q->id = id;
	q->then = then;
	snprintf(q->name, sizeof(q->name), "%s", name ? name : "");
	return q;
}

static void req_submit(struct fl_sess *s, struct req_job *q, bool ordered)
{
	q->ordered = ordered;
	if (ordered)
		s->busy = true;
	fl_job_submit(s->c, &q->job);
}

/* The volume named in a request: read off the loop, then then(s, q) with q->r. */
static void req_volume(struct fl_sess *s, const struct fl_msg *m, req_then then, bool usage)
{
	const char *name = fl_pv_get_str(m->body, "volume");
	struct req_job *q;

	if (!fl_volname_valid(name)) {
		sess_err(s, m->id, -EINVAL, "invalid volume name '%s'", name);
		return;
	}
	q = req_new(s, m->id, name, then);
	if (!q)
		return;
	q->usage = usage;
	req_submit(s, q, true);
}

static void acq_reply_then(struct fl_sess *s, struct req_job *q)
{
	struct vol_view v = {s->c, q->name, &q->r, 0, false, NULL, 0};

	sess_reply(s, q->id, 0, NULL, fill_volume, &v, 1);
}

struct agent_acq {
	struct fl_ctl *c;
	uint64_t sess, id;
	char name[FL_VOLNAME_MAX + 1];
};

static void agent_acq_done(void *arg, int err, const char *msg)
{
	struct agent_acq *x = arg;
	struct fl_sess *s = sess_by_serial(x->c, x->sess);
	struct req_job *q;

	if (s && err) {
		sess_reply(s, x->id, err, msg, NULL, NULL, 0);
	} else if (s && (q = req_new(s, x->id, x->name, acq_reply_then))) {
		/* the volume as it is now (-ENOENT if removed meanwhile); the session's
		 * next requests need not wait for this read */
		req_submit(s, q, false);
	}
	free(x);
}

static void acquire_then(struct fl_sess *s, struct req_job *r)
{
	struct fl_acq_req q = {0};
	struct agent_acq *x;

	x = calloc(1, sizeof(*x));
	if (!x) {
		sess_err(s, r->id, -ENOMEM, "out of memory");
		return;
	}
	x->c = s->c;
	x->sess = s->serial;
	x->id = r->id;
	snprintf(x->name, sizeof(x->name), "%s", r->name);
	q.uuid = r->r.uuid;
	q.name = r->name;
	q.node = s->peer.uuid;
	q.node_name = s->peer.name;
	q.kind = FL_LEASE_AGENT;
	fl_ctl_acquire(s->c, &q, agent_acq_done, x);
}

static void on_acquire(struct fl_sess *s, const struct fl_msg *m)
{
	req_volume(s, m, acquire_then, false);
}

static void released(void *arg, int err, const char *msg)
{
	struct sess_wait *w = arg;
	struct fl_sess *s = sess_by_serial(w->c, w->sess);

	if (s)
		sess_reply(s, w->id, err, err ? msg : NULL, NULL, NULL, 0);
	free(w);
}

static void release_then(struct fl_sess *s, struct req_job *q)
{
	struct sess_wait *w = calloc(1, sizeof(*w));

	if (!w) {
		sess_err(s, q->id, -ENOMEM, "out of memory");
		return;
	}
	w->c = s->c;
	w->sess = s->serial;
	w->id = q->id;
	/* off the loop, after every lease write asked for before (the node's acquire
	 * included); dropped only if it is still this node's agent lease then */
	fl_state_lease_release_async(s->c->state, q->r.uuid, s->peer.uuid, released, w);
}

static void on_release(struct fl_sess *s, const struct fl_msg *m)
{
	req_volume(s, m, release_then, false);
}

/* A volume job of an agent's request: the reply goes to the session, if still there. */
static struct fl_vj *agent_vj(struct fl_sess *s, uint64_t id, enum fl_vj_kind kind,
			      const char *name, void (*done)(struct fl_vj *vj))
{
	struct fl_vj *vj = fl_vj_new(s->c, kind, done, NULL);

	if (!vj) {
		sess_err(s, id, -ENOMEM, "out of memory");
		return NULL;
	}
	vj->id = id;
	vj->arg = (void *)(uintptr_t)s->serial;
	snprintf(vj->name, sizeof(vj->name), "%s", name);
	return vj;
}

static struct fl_sess *vj_sess(struct fl_vj *vj)
{
	return sess_by_serial(vj->c, (uint64_t)(uintptr_t)vj->arg);
}

static void agent_create_done(struct fl_vj *vj)
{
	struct fl_sess *s = vj_sess(vj);
	struct vol_view v = {vj->c, vj->name, &vj->reg, 0, false, vj->parent, 0};

	if (s && vj->err)
		sess_reply(s, vj->id, vj->err, vj->msg, NULL, NULL, 0);
	else if (s)
		sess_reply(s, vj->id, 0, NULL, fill_volume, &v, 1);
	if (!vj->err)
		fl_notice("volume %s (%s) created%s%s by node %s", vj->name, vj->reg.uuid,
			  vj->parent[0] ? " as a clone of " : "", vj->parent,
			  s ? s->peer.name : "(gone)");
	fl_vj_free(vj);
}

static void on_create(struct fl_sess *s, const struct fl_msg *m)
{
	const char *name = fl_pv_get_str(m->body, "volume");
	const char *from = fl_pv_get_str(m->body, "from");
	char err[512] = "";
	struct fl_vj *vj;
	uint64_t size;
	int ret;

	if (fl_pv_get_u64(m->body, "size", 0, &size)) {
		sess_err(s, m->id, -EINVAL, "invalid size");
		return;
	}
	if (!fl_volname_valid(name)) {
		sess_err(s, m->id, -EINVAL, "invalid volume name '%.140s'", name);
		return;
	}
	if (strlen(from) >= sizeof(vj->from)) {
		sess_err(s, m->id, -EINVAL, "invalid from '%.140s' for volume %s", from, name);
		return;
	}
	ret = fl_state_ds_check(s->c->state, name, NULL, 0, err, sizeof(err));
	if (ret) {
		sess_reply(s, m->id, ret, err, NULL, NULL, 0);
		return;
	}
	vj = agent_vj(s, m->id, FL_VJ_CREATE, name, agent_create_done);
	if (!vj)
		return;
	vj->size = size;
	snprintf(vj->from, sizeof(vj->from), "%s", from);
	fl_vj_submit(vj);
}

static void agent_remove_done(struct fl_vj *vj)
{
	struct fl_sess *s = vj_sess(vj);

	if (s)
		sess_reply(s, vj->id, vj->err, vj->err ? vj->msg : NULL, NULL, NULL, 0);
	fl_vj_free(vj);
}

static void remove_then(struct fl_sess *s, struct req_job *q)
{
	char err[512] = "";
	struct fl_vj *vj;
	int ret;

	ret = fl_ctl_remove_check(s->c, q->r.uuid, err, sizeof(err));
	if (ret) {
		sess_reply(s, q->id, ret, err, NULL, NULL, 0);
		return;
	}
	vj = agent_vj(s, q->id, FL_VJ_REMOVE, q->name, agent_remove_done);
	if (!vj)
		return;
	snprintf(vj->uuid, sizeof(vj->uuid), "%s", q->r.uuid);
	fl_vj_submit(vj);
}

static void on_remove(struct fl_sess *s, const struct fl_msg *m)
{
	req_volume(s, m, remove_then, false);
}

static void agent_get_done(struct fl_vj *vj)
{
	struct fl_sess *s = vj_sess(vj);
	struct vol_view v = {vj->c, vj->name,	&vj->reg,	 vj->bytes_used,
			     false, vj->parent, vj->nsnaps_total};

	if (s && vj->err == -ENOENT) {
		sess_err(s, vj->id, -ENOENT, "no such volume: %s", vj->name);
	} else if (s) {
		if (vj->err) /* the registry's view alone */
			v.parent = NULL;
		sess_reply(s, vj->id, 0, NULL, fill_volume, &v, 1);
	}
	fl_vj_free(vj);
}

/* usage as of the last checkpoint, parent and snapshots: read on a worker */
static void get_then(struct fl_sess *s, struct req_job *q)
{
	struct fl_vj *vj = agent_vj(s, q->id, FL_VJ_INFO, q->name, agent_get_done);

	if (!vj)
		return;
	vj->reg = q->r;
	fl_vj_submit(vj);
}

static void on_get(struct fl_sess *s, const struct fl_msg *m)
{
	req_volume(s, m, get_then, false);
}

static void fill_list(msgpack_packer *pk, void *arg)
{
	struct req_job *q = arg;
	size_t i;

	fl_pk_str(pk, "volumes");
	msgpack_pack_array(pk, (uint32_t)q->nents);
	for (i = 0; i < q->nents; i++) {
		struct vol_view v = {q->c, q->ents[i].name, &q->ents[i].r, 0, false, NULL, 0};

		pack_volume(pk, &v);
	}
}

static void list_then(struct fl_sess *s, struct req_job *q)
{
	sess_reply(s, q->id, 0, NULL, fill_list, q, 1);
}

static void on_list(struct fl_sess *s, const struct fl_msg *m)
{
	struct req_job *q = req_new(s, m->id, NULL, list_then);

	if (!q)
		return;
	q->list = true;
	req_submit(s, q, true);
}

static void acq_push_answer(struct fl_acq *a, int err, const char *msg);

static void on_reply(struct fl_sess *s, const struct fl_msg *m)
{
	struct fl_acq *a;
	int64_t err = 0;

	if (fl_pv_i64(fl_pv_get(m->body, "err"), &err))
		err = -EPROTO;
	for (a = s->c->acqs; a; a = a->next) {
		if (a->st == ACQ_PUSHED && a->push_sess == s->serial && a->push_id == m->id) {
			acq_push_answer(a, (int)err, fl_pv_get_str(m->body, "msg"));
			return;
		}
	}
}

/* ------------------------------------------------------------------ */
/* acquire */

static void acq_step(struct fl_acq *a);

static void acq_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	acq_step(arg);
}

/* Runs acq_step from the loop, never from inside a caller. */
static void acq_kick(struct fl_acq *a)
{
	event_active(a->kick, EV_TIMEOUT, 0);
}

static void acq_finish(struct fl_acq *a, int err, const char *msg)
{
	struct fl_ctl *c = a->c;
	struct fl_acq **pp, *o;

	for (pp = &c->acqs; *pp; pp = &(*pp)->next) {
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	}
	a->st = ACQ_DONE;
	fl_cm_lease(err);
	if (err)
		fl_info("lease of volume %s for node %s refused: %s", a->name, a->node_name, msg);
	else
		fl_info("lease of volume %s granted to node %s", a->name, a->node_name);
	a->done(a->arg, err, msg);
	/* the next acquire of the same volume may go */
	for (o = c->acqs; o; o = o->next) {
		if (!strcmp(o->uuid, a->uuid) && o->st == ACQ_QUEUED) {
			acq_kick(o);
			break;
		}
	}
	event_free(a->kick);
	free(a);
}

static void acq_written(void *arg, int err, const char *msg)
{
	struct fl_acq *a = arg;

	a->st = ACQ_WAIT_HOLDER;
	if (err == -EAGAIN) {
		acq_kick(a); /* the lease changed meanwhile: look again */
		return;
	}
	acq_finish(a, err, msg);
}

static void acq_grant(struct fl_acq *a, const struct fl_lease *old)
{
	struct fl_lease l = {0};

	copy_field(l.uuid, sizeof(l.uuid), a->uuid);
	copy_field(l.node, sizeof(l.node), a->node);
	copy_field(l.node_name, sizeof(l.node_name), a->node_name);
	l.since = old && !strcmp(old->node, a->node) ? old->since : (int64_t)time(NULL);
	l.expires = a->expires;
	l.kind = a->kind;
	if (old && fl_lease_equal(old, &l) && !a->expect_tag) {
		acq_finish(a, 0, NULL);
		return;
	}
	/* the write runs on a worker; meanwhile the acquire stays queued first for
	 * its volume, so no other acquire of it looks at the lease before it lands */
	a->st = ACQ_WRITING;
	fl_state_lease_put_async(a->c->state, &l, old, true, a->expect_tag, acq_written, a);
}

static bool same_addr(const char *a, const char *b)
{
	/* "v1:ip:port/nonce" and "ip:port/nonce" name the same client */
	if (!strncmp(a, "v1:", 3) || !strncmp(a, "v2:", 3))
		a += 3;
	if (!strncmp(b, "v1:", 3) || !strncmp(b, "v2:", 3))
		b += 3;
	return *a && !strcmp(a, b);
}

/*
 * What the worker thread needs to check a silent holder and fence it: copied
 * on the loop, so the worker touches no loop data (only the thread-safe pool).
 */
struct acq_check {
	struct fl_job job;
	struct fl_acq *a; /* NULL once the acquire is gone (fl_ctl_free) */
	struct fl_store *pool;
	struct fl_lease l; /* the lease as it was when the check began */
	char name[FL_VOLNAME_MAX + 1];
	char addr[128]; /* the holder's mount's RADOS address, "" unknown */
	char host[64];	/* the holder's host name, "" unknown */
	int ret;	/* 1 alive, 0 fenced, < 0 error */
	char msg[512];
	double took;
};

/*
 * The holder node is dead: blocklist its mount's RADOS client and break its
 * writer lock, so a partitioned old writer can never write again.  On the
 * worker thread.
 */
static int acq_fence(struct acq_check *k, char *msg, size_t len)
{
	struct fl_store *pool = k->pool;
	const struct fl_lease *l = &k->l;
	const char *host = k->host;
	struct fl_volume *v = NULL;
	struct fl_holder h;
	char err[256] = "";
	int ret, held;

	if (k->addr[0]) {
		ret = pool->ops->blocklist_add(pool, k->addr, 0);
		if (ret) {
			snprintf(msg, len, "cannot fence node %s (RADOS client %s): %s",
				 l->node_name, k->addr, strerror(-ret));
			return ret;
		}
		fl_notice("fenced node %s: blocklisted its mount of volume %s at %s", l->node_name,
			  k->name, k->addr);
	}
	ret = fl_volume_open(pool, k->name, &v, err, sizeof(err));
	if (ret) {
		snprintf(msg, len, "%s", err);
		return ret;
	}
	held = fl_volume_holder(v, &h);
	if (held < 0) {
		ret = held;
		snprintf(msg, len, "cannot read the lock of volume %s: %s", k->name,
			 strerror(-ret));
		goto out;
	}
	ret = 0;
	if (held == 0)
		goto out;
	if ((k->addr[0] && same_addr(k->addr, h.addr)) ||
	    (!k->addr[0] && host[0] && !strcmp(host, h.host))) {
		if (!(k->addr[0] && same_addr(k->addr, h.addr))) {
			ret = pool->ops->blocklist_add(pool, h.addr, 0);
			if (ret) {
				snprintf(msg, len, "cannot fence node %s (RADOS client %s): %s",
					 l->node_name, h.addr, strerror(-ret));
				goto out;
			}
			fl_notice("fenced node %s: blocklisted %s, the writer of volume %s",
				  l->node_name, h.addr, k->name);
		}
		ret = v->st->ops->break_lock(v->st, FL_OID_SUPER, FL_LOCK_NAME, h.client, h.cookie);
		if (ret == -ENOENT)
			ret = 0;
		if (ret)
			snprintf(msg, len, "cannot break the lock of volume %s: %s", k->name,
				 strerror(-ret));
	} else {
		/* someone outside control's leases holds it: its mount will say who */
		fl_warn("volume %s is held read-write by host %s (pid %ld), not by node %s: "
			"lock left alone",
			k->name, h.host, h.pid, l->node_name);
	}
out:
	fl_volume_close(v);
	return ret;
}

/*
 * The holder node missed its heartbeats, but its agent alone may be down (a
 * restart) while its mount daemon still serves containers: 1 (msg says why)
 * when the volume's writer lock is the node's and its mount daemon answers a
 * probe and renews the lock; 0 when the lock is not the node's, or its daemon
 * is silent or stopped renewing (fence it); a negative errno when the writer
 * cannot be asked (msg says why).  On the worker thread: the probe waits up
 * to PROBE_MS for an answer.
 */
static int acq_writer_alive(struct acq_check *k, char *msg, size_t len)
{
	struct fl_volume *v = NULL;
	struct fl_holder h;
	char err[256] = "", why[256] = "";
	double t0 = fl_now_mono();
	int ret;

	ret = fl_volume_open(k->pool, k->name, &v, err, sizeof(err));
	if (ret) {
		snprintf(msg, len, "%s", err);
		return ret;
	}
	ret = fl_volume_holder(v, &h);
	if (ret < 0) {
		snprintf(msg, len, "cannot read the lock of volume %s: %s", k->name,
			 strerror(-ret));
		goto out;
	}
	if (ret == 0 || !((k->addr[0] && same_addr(k->addr, h.addr)) ||
			  (k->host[0] && !strcmp(k->host, h.host)))) {
		ret = 0; /* no writer, or not the node's: nothing of the node's to spare */
		goto out;
	}
	ret = fl_volume_probe(v, &h, PROBE_MS, why, sizeof(why));
	if (ret == 0 && fl_now_mono() - t0 < PROBE_MS / 2000.0) {
		/* nobody watches at all (a silent daemon makes the probe wait its full
		 * time): the writer's watch may have just broken; a live daemon watches
		 * again within half a second, so ask once more after a gap */
		fl_info("volume %s: no watcher answered node %s's probe at once: asking again in %d ms",
			k->name, k->l.node_name, WATCH_GAP_MS);
		usleep(WATCH_GAP_MS * 1000);
		ret = fl_volume_probe(v, &h, PROBE_MS, why, sizeof(why));
	}
	if (ret == -EOPNOTSUPP) {
		ret = 0;
		goto out;
	}
	if (ret < 0) {
		snprintf(msg, len, "node %s is silent and %s", k->l.node_name, why);
		goto out;
	}
	snprintf(msg, len, "%s", why);
	fl_info("volume %s: probe of node %s's mount daemon took %.3f s: %s", k->name,
		k->l.node_name, fl_now_mono() - t0, why);
out:
	fl_volume_close(v);
	return ret;
}

static void acq_check_work(struct fl_job *j)
{
	struct acq_check *k = (struct acq_check *)j;
	double t0 = fl_now_mono();

	k->ret = acq_writer_alive(k, k->msg, sizeof(k->msg));
	if (k->ret == 0)
		k->ret = acq_fence(k, k->msg, sizeof(k->msg));
	else if (k->ret > 0)
		k->ret = 1;
	k->took = fl_now_mono() - t0;
}

static void acq_check_done(struct fl_job *j)
{
	struct acq_check *k = (struct acq_check *)j;
	struct fl_acq *a = k->a;
	struct fl_ctl *c;
	struct fl_node_live *n;
	const struct fl_lease *lp;
	char msg[1024], since[32];

	if (!a || j->cancelled) {
		if (a)
			a->check = NULL;
		free(k);
		return;
	}
	c = a->c;
	a->check = NULL;
	a->st = ACQ_WAIT_HOLDER;
	n = fl_ctl_node(c, k->l.node);
	if (k->ret < 0) {
		acq_finish(a, k->ret, k->msg);
	} else if (k->ret > 0) {
		fl_fmt_time_utc(k->l.since, since, sizeof(since));
		snprintf(
			msg, sizeof(msg),
			"volume %s is in use on node %s since %s: its agent has not answered for %.0f s, but %s",
			a->name, k->l.node_name, since, n ? fl_now_mono() - n->last_hb : 0.0,
			k->msg);
		fl_notice(
			"node %s missed its heartbeats, but its mount of volume %s is alive (%s): not fencing it",
			k->l.node_name, a->name, k->msg);
		acq_finish(a, -EBUSY, msg);
	} else if (fl_state_fenced(c->state)) {
		acq_finish(a, -ECANCELED, "this control service is no longer the leader");
	} else if (!(lp = fl_state_lease(c->state, a->uuid)) || !fl_lease_equal(lp, &k->l)) {
		acq_step(a); /* the lease changed meanwhile: look again */
	} else {
		fl_notice(
			"node %s is gone (silent for %.1f s%s) and its mount daemon is not alive: volume %s goes to node %s (check and fence took %.3f s)",
			k->l.node_name, n ? fl_now_mono() - n->last_hb : 0.0,
			n && n->sess ? "" : ", disconnected", a->name, a->node_name, k->took);
		fl_cm_takeover("fenced");
		acq_grant(a, &k->l);
	}
	free(k);
}

/* Probes the silent holder of l and fences it if dead, off the loop; acq_check_done goes on. */
static void acq_check_start(struct fl_acq *a, const struct fl_lease *l)
{
	struct fl_ctl *c = a->c;
	struct fl_node_live *n = fl_ctl_node(c, l->node);
	const struct fl_node_rec *nr = fl_state_node(c->state, l->node);
	const struct fl_mount_rep *m = mount_any(n, a->uuid);
	struct acq_check *k = calloc(1, sizeof(*k));

	if (!k) {
		acq_finish(a, -ENOMEM, "out of memory");
		return;
	}
	k->job.work = acq_check_work;
	k->job.done = acq_check_done;
	k->a = a;
	k->pool = fl_state_pool(c->state);
	k->l = *l;
	copy_field(k->name, sizeof(k->name), a->name);
	if (m)
		copy_field(k->addr, sizeof(k->addr), m->addr);
	copy_field(k->host, sizeof(k->host), n && n->host[0] ? n->host : (nr ? nr->host : ""));
	a->check = k;
	a->st = ACQ_CHECKING;
	fl_job_submit(c, &k->job);
}

static void acq_push_unmount(struct fl_acq *a, struct fl_node_live *n)
{
	struct fl_sess *s = n->sess;
	struct fl_frame_enc e;
	int ret;

	fl_frame_enc_init(&e);
	a->push_id = s->next_id++;
	ret = fl_frame_begin(&e, "unmount", a->push_id, 3);
	fl_pk_kv_str(&e.pk, "volume", a->name);
	fl_pk_kv_str(&e.pk, "uuid", a->uuid);
	fl_pk_kv_str(&e.pk, "for", a->node_name);
	if (!ret)
		ret = fl_frame_end(&e);
	if (!ret)
		ret = sess_send(s, &e);
	fl_frame_enc_free(&e);
	if (ret) {
		a->st = ACQ_WAIT_HOLDER;
		return;
	}
	fl_info("asked node %s to unmount volume %s for node %s", n->name, a->name, a->node_name);
	a->st = ACQ_PUSHED;
	a->pushed_at = fl_now_mono();
	a->push_sess = s->serial;
	copy_field(a->pushed_to, sizeof(a->pushed_to), n->uuid);
}

static void acq_push_answer(struct fl_acq *a, int err, const char *msg)
{
	const struct fl_lease *l = fl_state_lease(a->c->state, a->uuid);
	char since[32], buf[512];

	if (err == 0) {
		a->unmount_ok = true;
		a->st = ACQ_WAIT_HOLDER;
		acq_step(a);
		return;
	}
	/* control names the node and since when; the holder may say more */
	fl_fmt_time_utc(l ? l->since : 0, since, sizeof(since));
	snprintf(buf, sizeof(buf), "volume %s is in use on node %s since %s%s%.200s", a->name,
		 l ? l->node_name : "?", since, msg && *msg ? ": " : "", msg ? msg : "");
	acq_finish(a, err, buf);
}

static void acq_step(struct fl_acq *a)
{
	struct fl_ctl *c = a->c;
	const struct fl_lease *lp;
	struct fl_lease l;
	struct fl_node_live *n;
	struct fl_acq *o;
	char msg[512], since[32];
	int64_t now = time(NULL);

	if (a->st == ACQ_PUSHED || a->st == ACQ_CHECKING || a->st == ACQ_WRITING)
		return; /* an answer, a disconnect or the worker moves it on */
	/* one acquire per volume at a time, in arrival order */
	for (o = c->acqs; o && o != a; o = o->next) {
		if (!strcmp(o->uuid, a->uuid)) {
			a->st = ACQ_QUEUED;
			return;
		}
	}
	if (fl_state_fenced(c->state)) {
		acq_finish(a, -ECANCELED, "this control service is no longer the leader");
		return;
	}
	if (a->expect_tag && a->expect_tag != fl_state_tag(c->state)) {
		acq_finish(a, -ESTALE, "the configuration changed since the tag given");
		return;
	}
	lp = fl_state_lease(c->state, a->uuid);
	if (!lp || (lp->kind == FL_LEASE_OPERATOR && lp->expires && lp->expires <= now)) {
		acq_grant(a, lp);
		return;
	}
	l = *lp;
	if (!strcmp(l.node, a->node)) {
		/* an operator's lease to this node covers its agent's mounts: keep it */
		if (l.kind == FL_LEASE_OPERATOR && a->kind == FL_LEASE_AGENT)
			acq_finish(a, 0, NULL);
		else
			acq_grant(a, &l);
		return;
	}
	fl_fmt_time_utc(l.since, since, sizeof(since));
	if (l.kind == FL_LEASE_OPERATOR) {
		char until[32];

		fl_fmt_time_utc(l.expires, until, sizeof(until));
		snprintf(msg, sizeof(msg), "volume %s is leased to node %s since %s%s%s", a->name,
			 l.node_name, since, l.expires ? " until " : "", l.expires ? until : "");
		acq_finish(a, -EBUSY, msg);
		return;
	}
	n = fl_ctl_node(c, l.node);
	if (holder_present(c, n)) {
		if (fl_ctl_mount_of(n, a->uuid)) {
			snprintf(msg, sizeof(msg), "volume %s is in use on node %s since %s",
				 a->name, l.node_name, since);
			acq_finish(a, -EBUSY, msg);
			return;
		}
		if (a->unmount_ok && !strcmp(a->pushed_to, l.node)) {
			fl_cm_takeover("idle");
			acq_grant(a, &l);
			return;
		}
		if (n->sess) {
			acq_push_unmount(a, n);
			return;
		}
		a->st = ACQ_WAIT_HOLDER; /* the tick looks again */
		return;
	}
	/* the holder missed its heartbeats past the lease: unless its mount daemon
	 * still answers and renews the writer lock, fence it, then grant (the probe
	 * and the fence run on the worker thread: the loop goes on meanwhile) */
	acq_check_start(a, &l);
}

void fl_ctl_acquire(struct fl_ctl *c, const struct fl_acq_req *r, fl_acq_done done, void *arg)
{
	struct fl_acq *a = calloc(1, sizeof(*a)), **pp;

	if (!a) {
		done(arg, -ENOMEM, "out of memory");
		return;
	}
	a->kick = event_new(c->base, -1, 0, acq_kick_cb, a);
	if (!a->kick) {
		free(a);
		done(arg, -ENOMEM, "out of memory");
		return;
	}
	a->c = c;
	copy_field(a->uuid, sizeof(a->uuid), r->uuid);
	copy_field(a->name, sizeof(a->name), r->name);
	copy_field(a->node, sizeof(a->node), r->node);
	copy_field(a->node_name, sizeof(a->node_name), r->node_name);
	a->kind = r->kind;
	a->expires = r->expires;
	a->expect_tag = r->expect_tag;
	a->done = done;
	a->arg = arg;
	a->st = ACQ_NEW;
	a->deadline = fl_now_mono() + FL_CTL_ACQUIRE_S;
	for (pp = &c->acqs; *pp; pp = &(*pp)->next)
		;
	*pp = a;
	acq_step(a);
}

int fl_ctl_remove(struct fl_ctl *c, const char *uuid, uint64_t expect_tag, char *err, size_t errlen)
{
	int ret = fl_ctl_remove_check(c, uuid, err, errlen);

	return ret ? ret : fl_state_ds_remove(c->state, uuid, expect_tag, err, errlen);
}

int fl_ctl_remove_check(struct fl_ctl *c, const char *uuid, char *err, size_t errlen)
{
	const struct fl_lease *l = fl_state_lease(c->state, uuid);
	struct fl_node_live *n = l ? fl_ctl_node(c, l->node) : NULL;
	const struct fl_mount_rep *m = fl_ctl_mount_of(n, uuid);
	struct fl_acq *a;

	if (m && fl_ctl_node_alive(c, n)) {
		snprintf(err, errlen, "cannot remove volume %s: in use on node %s", m->name,
			 n->name);
		return -EBUSY;
	}
	for (a = c->acqs; a; a = a->next) {
		if (!strcmp(a->uuid, uuid)) {
			snprintf(err, errlen, "cannot remove volume %s: node %s is acquiring it",
				 a->name, a->node_name);
			return -EBUSY;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */

/* The trash purge: one volume at a time, its objects deleted on a worker. */
struct purge_job {
	struct fl_job job;
	struct fl_ctl *c;
	struct fl_store *pool;
	char uuid[37], name[FL_VOLNAME_MAX + 1];
	int64_t now;
	int ret;
};

static void purge_start(struct fl_ctl *c, int64_t now);

static void purge_work(struct fl_job *j)
{
	struct purge_job *p = (struct purge_job *)j;

	p->ret = fl_state_purge_objects(p->pool, p->uuid);
}

static void purge_done(struct fl_job *j)
{
	struct purge_job *p = (struct purge_job *)j;
	int ret;

	if (j->cancelled) {
		fl_state_purge_done(p->c->state, p->uuid, -ECANCELED);
		free(p);
		return;
	}
	ret = fl_state_purge_done(p->c->state, p->uuid, p->ret);
	if (ret)
		fl_warn("cannot purge volume %s (%s) from the trash: %s", p->name, p->uuid,
			strerror(-ret));
	else
		purge_start(p->c, p->now); /* the next one due */
	free(p);
}

static void purge_start(struct fl_ctl *c, int64_t now)
{
	struct purge_job *p = calloc(1, sizeof(*p));

	if (!p)
		return;
	if (fl_state_fenced(c->state) ||
	    fl_state_purge_next(c->state, now, p->uuid, p->name) != 1) {
		free(p);
		return;
	}
	p->job.work = purge_work;
	p->job.done = purge_done;
	p->c = c;
	p->pool = fl_state_pool(c->state);
	p->now = now;
	fl_job_submit(c, &p->job);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fl_ctl *c = arg;
	struct fl_acq *a, *next;
	double now = fl_now_mono();
	int64_t wall = time(NULL);
	char msg[512];

	(void)fd;
	(void)what;
	for (a = c->acqs; a; a = next) {
		next = a->next;
		if (a->st == ACQ_CHECKING || a->st == ACQ_WRITING)
			continue; /* bounded: a probe and a fence, a write; the worker moves it on
				   */
		if (now > a->deadline) {
			const struct fl_lease *l = fl_state_lease(c->state, a->uuid);

			snprintf(msg, sizeof(msg),
				 "node %s holds volume %s and did not give it up within %d s",
				 l ? l->node_name : "?", a->name, FL_CTL_ACQUIRE_S);
			acq_finish(a, -ETIMEDOUT, msg);
		} else if (a->st == ACQ_WAIT_HOLDER) {
			acq_kick(a);
		} else if (a->st == ACQ_PUSHED && now - a->pushed_at > PUSH_TIMEOUT_S) {
			/* no answer: ask again, through whatever connection the node has then */
			a->st = ACQ_WAIT_HOLDER;
			acq_kick(a);
		}
	}
	if (wall - c->last_purge >= (int64_t)c->o.purge_s) {
		c->last_purge = wall;
		if (fl_state_expire_leases(c->state, wall) < 0)
			fl_warn("cannot drop expired leases");
		purge_start(c, wall);
	}
}

static void state_submit(void *arg, struct fl_job *j)
{
	fl_job_submit(arg, j);
}

int fl_ctl_new(struct event_base *base, struct fl_state *state, const struct fl_ctl_opts *o,
	       struct fl_ctl **out, char *err, size_t errlen)
{
	struct fl_ctl *c = calloc(1, sizeof(*c));
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	char addr[300];
	struct timeval sec = {1, 0};
	const struct fl_node_rec *nr;
	size_t i;
	int ret = -EINVAL;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->base = base;
	c->state = state;
	c->o = *o;
	if (!c->o.lease_s)
		c->o.lease_s = FL_CTL_LEASE_S;
	if (!c->o.heartbeat_s)
		c->o.heartbeat_s = FL_CTL_HEARTBEAT_S;
	if (!c->o.agent_port)
		c->o.agent_port = FL_AGENT_PORT;
	if (!c->o.purge_s)
		c->o.purge_s = 60;
	c->started = fl_now_mono();
	c->last_purge = 0;
	/* every node known so far is alive for one lease from now */
	for (i = 0; (nr = fl_state_node_at(state, i)); i++) {
		struct fl_node_live *n = node_get(c, nr->uuid, nr->name);

		if (n)
			copy_field(n->host, sizeof(n->host), nr->host);
	}
	c->agent_ctx = fl_tls_server_ctx(o->certs, "control", FL_ROLE_NODE, err, errlen);
	if (!c->agent_ctx || fl_tls_linger_refusals(c->agent_ctx, base))
		goto out_err;
	if (strchr(o->bind ? o->bind : "0.0.0.0", ':') && o->bind[0] != '[')
		snprintf(addr, sizeof(addr), "[%s]:%u", o->bind, c->o.agent_port);
	else
		snprintf(addr, sizeof(addr), "%s:%u", o->bind ? o->bind : "0.0.0.0",
			 c->o.agent_port);
	memset(&ss, 0, sizeof(ss));
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sslen)) {
		snprintf(err, errlen, "invalid bind address %s", o->bind);
		goto out_err;
	}
	c->agent_lev = evconnlistener_new_bind(base, accept_cb, c,
					       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
						       LEV_OPT_CLOSE_ON_EXEC,
					       1024, (struct sockaddr *)&ss, sslen);
	if (!c->agent_lev) {
		ret = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
		goto out_err;
	}
	ret = fl_worker_start(c);
	if (ret) {
		snprintf(err, errlen, "cannot start the worker thread: %s", strerror(-ret));
		goto out_err;
	}
	fl_state_set_runner(state, state_submit, c);
	ret = -EINVAL;
	c->tick = event_new(base, -1, EV_PERSIST, tick_cb, c);
	if (!c->tick || event_add(c->tick, &sec)) {
		ret = -ENOMEM;
		goto out_err;
	}
	*out = c;
	return 0;
out_err:
	fl_ctl_free(c);
	return ret ? ret : -EINVAL;
}

void fl_ctl_free(struct fl_ctl *c)
{
	struct fl_node_live *n;
	struct fl_sess *s;
	struct fl_acq *a;

	if (!c)
		return;
	fl_worker_stop(c); /* before the acquires: checks at work point to them */
	if (c->state)
		fl_state_set_runner(c->state, NULL, NULL); /* from now on inline */
	while ((a = c->acqs)) {
		c->acqs = a->next;
		a->done(a->arg, -ESHUTDOWN, "the control service is stopping");
		event_free(a->kick);
		free(a);
	}
	while ((s = c->sessions)) {
		c->sessions = s->next;
		sess_free(s);
	}
	while ((n = c->nodes)) {
		c->nodes = n->next;
		free(n->mounts);
		free(n);
	}
	if (c->tick)
		event_free(c->tick);
	if (c->agent_lev)
		evconnlistener_free(c->agent_lev);
	SSL_CTX_free(c->agent_ctx);
	free(c);
}
