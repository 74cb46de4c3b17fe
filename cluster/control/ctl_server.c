/*
 * flockerfs — flocker-control's core (see ctl_server.h): nodes and their
 * liveness, agent sessions and the agent protocol's requests; control's
 * start and stop.  Lease arbitration and the tick are in ctl_lease.c.
 */
#include "cluster/control/ctl_server.h"
#include "cluster/control/ctl_server_priv.h"
#include "cluster/control/ctl_metrics.h"
#include "cluster/control/ctl_voljob.h"
#include "cluster/control/ctl_worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
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

#include "flocker/buf.h"
#include "flocker/log.h"
#include "flocker/proto.h"
#include "fs/volume/volume.h"

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
bool fl_ctl_holder_present(struct fl_ctl *c, const struct fl_node_live *n)
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

const struct fl_mount_rep *fl_ctl_mount_any(struct fl_node_live *n, const char *uuid)
{
	size_t i;

	for (i = 0; n && i < n->nmounts; i++)
		if (!strcmp(n->mounts[i].uuid, uuid))
			return &n->mounts[i];
	return NULL;
}

void fl_ctl_copy_field(char *dst, size_t cap, const char *src)
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
		fl_ctl_copy_field(m[i].uuid, sizeof(m[i].uuid), fl_pv_get_str(e, "uuid"));
		fl_ctl_copy_field(m[i].name, sizeof(m[i].name), fl_pv_get_str(e, "name"));
		fl_ctl_copy_field(m[i].path, sizeof(m[i].path), fl_pv_get_str(e, "path"));
		fl_ctl_copy_field(m[i].addr, sizeof(m[i].addr), fl_pv_get_str(e, "addr"));
		fl_ctl_copy_field(m[i].dead, sizeof(m[i].dead), fl_pv_get_str(e, "dead"));
		m[i].users = users > UINT32_MAX ? UINT32_MAX : (uint32_t)users;
		if (m[i].dead[0]) {
			const struct fl_mount_rep *old = fl_ctl_mount_any(n, m[i].uuid);

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
			fl_acq_kick(a);
		}
	}
	sess_free(s);
}

int fl_sess_send(struct fl_sess *s, struct fl_frame_enc *e)
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
		ret = fl_sess_send(s, &e);
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
 * A wait of size bytes (a struct that starts with struct sess_wait) for
 * request id of s; NULL once -ENOMEM was replied.
 */
static void *sess_wait_new(struct fl_sess *s, uint64_t id, size_t size)
{
	struct sess_wait *w = calloc(1, size);

	if (!w) {
		sess_err(s, id, -ENOMEM, "out of memory");
		return NULL;
	}
	w->c = s->c;
	w->sess = s->serial;
	w->id = id;
	return w;
}

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
	fl_ctl_copy_field(n->name, sizeof(n->name), s->peer.name);
	fl_ctl_copy_field(n->host, sizeof(n->host), fl_pv_get_str(m->body, "host"));
	fl_ctl_copy_field(n->rados_addr, sizeof(n->rados_addr),
			  fl_pv_get_str(m->body, "rados_addr"));
	n->sess = s;
	n->last_hb = fl_now_mono();
	s->node = n;
	s->hello = true;
	w = sess_wait_new(s, m->id, sizeof(*w));
	if (!w)
		return;
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

	if (fl_grow(&q->ents, &q->cents, q->nents, sizeof(*q->ents), 64))
		return -ENOMEM;
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
	struct sess_wait w;
	char name[FL_VOLNAME_MAX + 1];
};

static void agent_acq_done(void *arg, int err, const char *msg)
{
	struct agent_acq *x = arg;
	struct fl_sess *s = sess_by_serial(x->w.c, x->w.sess);
	struct req_job *q;

	if (s && err) {
		sess_reply(s, x->w.id, err, msg, NULL, NULL, 0);
	} else if (s && (q = req_new(s, x->w.id, x->name, acq_reply_then))) {
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

	x = sess_wait_new(s, r->id, sizeof(*x));
	if (!x)
		return;
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
	struct sess_wait *w = sess_wait_new(s, q->id, sizeof(*w));

	if (!w)
		return;
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

static void on_reply(struct fl_sess *s, const struct fl_msg *m)
{
	struct fl_acq *a;
	int64_t err = 0;

	if (fl_pv_i64(fl_pv_get(m->body, "err"), &err))
		err = -EPROTO;
	for (a = s->c->acqs; a; a = a->next) {
		if (a->st == ACQ_PUSHED && a->push_sess == s->serial && a->push_id == m->id) {
			fl_acq_push_answer(a, (int)err, fl_pv_get_str(m->body, "msg"));
			return;
		}
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
			fl_ctl_copy_field(n->host, sizeof(n->host), nr->host);
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
	c->tick = event_new(base, -1, EV_PERSIST, fl_ctl_tick_cb, c);
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
