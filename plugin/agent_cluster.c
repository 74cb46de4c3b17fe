/*
 * flockerfs — the agent's cluster mode (flocker-agent --control): the
 * fl_agent_* calls of plugin/agent.h with leases from flocker-control.
 *
 * One thread runs a libevent loop with the control connection: TLS 1.3 with
 * this node's certificate (DIR/node-NAME.crt/.key, DIR/ca.crt; the server
 * must show the control role), frames of include/flocker/proto.h, a hello
 * with this host's mounts, then a heartbeat every heartbeat_s (control's
 * answer to hello) carrying the mounts again: uuid, name, users (Docker mount
 * IDs), path, and the RADOS address of the mount.flockerfs process (read
 * from the volume's writer lock cookie once per mount), which control
 * blocklists if it ever has to fence this node.
 *
 * Reconnection: --control takes one address or several separated by commas
 * (HOST[:PORT], default port 4524); they are tried in turn, 0.1 s apart,
 * and after a round that failed the agent waits 250 ms, then 500 ms
 * (with jitter), reset once a hello is answered.  A standby control service
 * does not listen, so the addresses of all control hosts can be given; with
 * one address, a standby on the same host and port (or a moved IP) is found
 * by retrying it.
 *
 * The Docker plugin's threads call in: a request is queued for the loop
 * thread, sent (once connected, within the call's deadline), and its reply
 * handed back.  A request in flight when the connection drops fails with a
 * message saying so.  Control's pushes ("unmount") run in a worker thread:
 * the answer is EBUSY while Docker mount IDs use the volume here or a mount
 * of it is starting; otherwise the idle mount is flushed and unmounted and
 * the answer is 0.
 *
 * Mount:   acquire the lease (control may ask another node to unmount, or
 *          fence a dead one), then mount.flockerfs through plugin/mounts.c.
 * Unmount: the last ID unmounts (plugin/mounts.c), then the lease is released.
 * Create/Remove/Get/List go to control (remove moves the volume to the trash).
 */

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "plugin/agent_config.h"
#include "flocker/buf.h"
#include "flocker/log.h"
#include "flocker/proto.h"
#include "flocker/record.h"
#include "flocker/store.h"
#include "plugin/mounts.h"
#include "cluster/net/tls.h"
#include "fs/volume/snapshot.h"
#include "fs/volume/volume.h"

#define BACKOFF_MIN_MS	  250
#define BACKOFF_MAX_MS	  500 /* a refused connect costs nothing: be back soon */
#define CONNECT_WAIT_S	  15  /* a call waits this long for a connection */
#define ACQUIRE_WAIT_S	  35  /* control gives a holder 30 s to unmount */
#define CALL_WAIT_S	  20
#define CLONE_WAIT_S	  45 /* control waits up to 30 s for a writer's snapshot */
#define RADOS_TIMEOUT_S	  20
#define MOUNT_NAMES_MAX	  1024
#define DEFAULT_HEARTBEAT 2
#define DEFAULT_LEASE	  10

/* A request of a Docker thread, queued for the loop thread. */
struct call {
	char type[16];
	const char *kv[6]; /* key, value pairs, NULL-terminated; borrowed */
	bool has_size;
	uint64_t size;
	uint64_t id;
	bool sent, done;
	int err;
	char msg[512];
	struct fl_msg reply; /* owned once done (err 0 or a reply error) */
	struct call *next;
};

/* A frame the loop thread just has to send (answers to pushes). */
struct outframe {
	struct fl_frame_enc e;
	struct outframe *next;
};

struct mount_addr {
	char name[FL_VOLNAME_MAX + 1];
	char path[256];
	char addr[128];
	struct mount_addr *next;
};

struct cluster_agent {
	struct fl_agent agent; /* first: agent_ops.c casts */
	char *certs, *controls, *state_dir, *mount_root;
	char node[64];
	char host[64];
	char rados_addr[128];
	struct fl_mounts *mounts;

	struct fl_agent_rados rados; /* connected on first use */

	/* loop thread */
	struct event_base *evb;
	pthread_t thread;
	bool thread_started;
	SSL_CTX *ctx;
	struct bufferevent *bev;
	struct event *wake, *hb_timer, *hb_kick, *retry_timer;
	char **addrs;
	int naddrs, next_addr;
	unsigned backoff_ms;
	unsigned heartbeat_s, lease_s;
	char logged_error[256]; /* the last connection failure logged as a warning */
	double logged_at;
	uint64_t next_id, hello_id;
	char last_error[256];

	/* shared with the Docker threads: protected by mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool connected, stopping;
	bool refused; /* the last attempt ended in a TLS refusal: calls fail at once */
	struct call *queue;
	struct outframe *outq;
	char mounting[16][FL_VOLNAME_MAX + 1]; /* mounts starting: pushes get EBUSY */
	struct mount_addr *maddrs;
	int workers; /* push workers running */
};

static struct cluster_agent *to_ca(struct fl_agent *a)
{
	return (struct cluster_agent *)a;
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* RADOS: only to read a mount's address from its lock cookie */

static struct fl_store *rados(struct cluster_agent *ca)
{
	char why[512];
	struct fl_store *st = fl_agent_rados_get(&ca->rados, why, sizeof(why));

	if (!st)
		fl_warn("cannot reach the Ceph cluster: %s", why);
	return st;
}

/* For plugin/mounts.c: is a mount found here still the volume's writer? */
static struct fl_store *mounts_store(void *arg)
{
	return rados(arg);
}

/* Remembers the RADOS address of the process that mounts name at path. */
static void learn_mount_addr(struct cluster_agent *ca, const char *name, const char *path)
{
	struct fl_store *st = rados(ca);
	struct fl_volume *v = NULL;
	struct fl_holder h;
	struct mount_addr *m;

	if (!st || fl_volume_open(st, name, &v, NULL, 0))
		return;
	if (fl_volume_holder(v, &h) > 0 && h.addr[0]) {
		pthread_mutex_lock(&ca->mu);
		for (m = ca->maddrs; m; m = m->next)
			if (!strcmp(m->name, name))
				break;
		if (!m) {
			m = calloc(1, sizeof(*m));
			if (m) {
				m->next = ca->maddrs;
				ca->maddrs = m;
			}
		}
		if (m) {
			snprintf(m->name, sizeof(m->name), "%s", name);
			snprintf(m->path, sizeof(m->path), "%s", path);
			snprintf(m->addr, sizeof(m->addr), "%s", h.addr);
		}
		pthread_mutex_unlock(&ca->mu);
	}
	fl_volume_close(v);
}

/* ------------------------------------------------------------------ */
/* the mounts report: names from <state_dir>/mounts/<name>.json (plugin/mounts.c) */

struct rep {
	char name[FL_VOLNAME_MAX + 1];
	char uuid[37];
	char path[256];
	char addr[128];
	char dead[256]; /* why the mount is dead, "" if it serves */
	unsigned users;
};

static int collect_mounts(struct cluster_agent *ca, struct rep **out)
{
	char dir[PATH_MAX], path[256];
	struct rep *r = NULL;
	struct dirent *de;
	struct mount_addr *m;
	unsigned users;
	size_t cap = 0;
	int n = 0;
	DIR *d;

	*out = NULL;
	snprintf(dir, sizeof(dir), "%s/mounts", ca->state_dir);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)) && n < MOUNT_NAMES_MAX) {
		size_t l = strlen(de->d_name);
		char name[FL_VOLNAME_MAX + 1];
		const char *slash;

		if (l <= 5 || l - 5 > FL_VOLNAME_MAX || strcmp(de->d_name + l - 5, ".json"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(l - 5), de->d_name);
		if (!fl_volname_valid(name) ||
		    fl_mounts_lookup(ca->mounts, name, path, sizeof(path), &users) != 1)
			continue;
		if (fl_grow(&r, &cap, (size_t)n, sizeof(*r), 16))
			break;
		memset(&r[n], 0, sizeof(r[n]));
		snprintf(r[n].name, sizeof(r[n].name), "%s", name);
		snprintf(r[n].path, sizeof(r[n].path), "%s", path);
		slash = strrchr(path, '/');
		snprintf(r[n].uuid, sizeof(r[n].uuid), "%s", slash ? slash + 1 : "");
		r[n].users = users;
		fl_mounts_dead(ca->mounts, name, r[n].dead, sizeof(r[n].dead));
		pthread_mutex_lock(&ca->mu);
		for (m = ca->maddrs; m; m = m->next)
			if (!strcmp(m->name, name) && !strcmp(m->path, path))
				snprintf(r[n].addr, sizeof(r[n].addr), "%s", m->addr);
		pthread_mutex_unlock(&ca->mu);
		n++;
	}
	closedir(d);
	*out = r;
	return n;
}

static void pack_mounts(msgpack_packer *pk, const struct rep *r, int n)
{
	int i;

	fl_pk_str(pk, "mounts");
	msgpack_pack_array(pk, (uint32_t)n);
	for (i = 0; i < n; i++) {
		msgpack_pack_map(pk, 6);
		fl_pk_kv_str(pk, "uuid", r[i].uuid);
		fl_pk_kv_str(pk, "name", r[i].name);
		fl_pk_kv_u64(pk, "users", r[i].users);
		fl_pk_kv_str(pk, "path", r[i].path);
		fl_pk_kv_str(pk, "addr", r[i].addr);
		fl_pk_kv_str(pk, "dead", r[i].dead);
	}
}

/* ------------------------------------------------------------------ */
/* the loop thread: connection */

static void schedule_reconnect(struct cluster_agent *ca);
static void flush_queue(struct cluster_agent *ca);

static int send_frame(struct cluster_agent *ca, struct fl_frame_enc *e)
{
	if (!ca->bev || e->err)
		return e->err ? e->err : -ENOTCONN;
	return bufferevent_write(ca->bev, e->buf.data, e->buf.len) ? -ENOMEM : 0;
}

/* Ends frame e (begun with begin_ret, then packed), sends it and frees it: 0
 * or -errno. */
static int send_built(struct cluster_agent *ca, struct fl_frame_enc *e, int begin_ret)
{
	int ret = begin_ret ? begin_ret : fl_frame_end(e);

	if (!ret)
		ret = send_frame(ca, e);
	fl_frame_enc_free(e);
	return ret;
}

/* Sends hello or a heartbeat with the mounts. */
static void send_report(struct cluster_agent *ca, bool hello)
{
	struct fl_frame_enc e;
	struct rep *r = NULL;
	int n = collect_mounts(ca, &r);
	uint64_t id = ca->next_id++;
	int ret;

	fl_frame_enc_init(&e);
	if (hello) {
		ca->hello_id = id;
		ret = fl_frame_begin(&e, "hello", id, 5);
		fl_pk_kv_str(&e.pk, "node", ca->node);
		fl_pk_kv_str(&e.pk, "host", ca->host);
		fl_pk_kv_str(&e.pk, "rados_addr", ca->rados_addr);
		fl_pk_kv_str(&e.pk, "version", "1");
	} else {
		ret = fl_frame_begin(&e, "heartbeat", id, 1);
	}
	pack_mounts(&e.pk, r, n);
	send_built(ca, &e, ret);
	free(r);
}

static void disconnect(struct cluster_agent *ca, const char *why)
{
	struct call *c;

	if (ca->bev) {
		bufferevent_free(ca->bev);
		ca->bev = NULL;
	}
	event_del(ca->hb_timer);
	pthread_mutex_lock(&ca->mu);
	snprintf(ca->last_error, sizeof(ca->last_error), "%s", why);
	if (ca->connected) {
		fl_warn("lost the connection to flocker-control at %s: %s; reconnecting",
			ca->addrs[(ca->next_addr + ca->naddrs - 1) % ca->naddrs], why);
	} else if (strcmp(ca->logged_error, why) || now_mono() - ca->logged_at > 60) {
		/* a new reason at once, the same one again once a minute */
		fl_warn("cannot connect to flocker-control at %s: %s; retrying",
			ca->addrs[(ca->next_addr + ca->naddrs - 1) % ca->naddrs], why);
		snprintf(ca->logged_error, sizeof(ca->logged_error), "%s", why);
		ca->logged_at = now_mono();
	} else {
		fl_debug("cannot connect to flocker-control at %s: %s; retrying",
			 ca->addrs[(ca->next_addr + ca->naddrs - 1) % ca->naddrs], why);
	}
	ca->connected = false;
	/* requests in flight: their fate is unknown, say so */
	for (c = ca->queue; c; c = c->next) {
		if (c->sent && !c->done) {
			c->done = true;
			c->err = -ECONNRESET;
			snprintf(
				c->msg, sizeof(c->msg),
				"lost the connection to flocker-control during the request (%s): retry",
				why);
		}
	}
	pthread_cond_broadcast(&ca->cv);
	pthread_mutex_unlock(&ca->mu);
	if (!ca->stopping)
		schedule_reconnect(ca);
}

static void hb_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster_agent *ca = arg;

	(void)fd;
	(void)what;
	if (ca->connected)
		send_report(ca, false);
}

/* The kicked heartbeat: sent now, and the periodic one counts from now. */
static void hb_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster_agent *ca = arg;
	struct timeval tv = {ca->heartbeat_s, 0};

	(void)fd;
	(void)what;
	if (!ca->connected)
		return;
	send_report(ca, false);
	event_add(ca->hb_timer, &tv);
}

static void on_hello_reply(struct cluster_agent *ca, const struct fl_msg *m)
{
	struct timeval tv;
	uint64_t hb = DEFAULT_HEARTBEAT, lease = DEFAULT_LEASE;
	int64_t err = 0;

	if (fl_pv_i64(fl_pv_get(m->body, "err"), &err) || err) {
		fl_err("flocker-control refused this agent: %s", fl_pv_get_str(m->body, "msg"));
		disconnect(ca, fl_pv_get_str(m->body, "msg"));
		return;
	}
	fl_pv_get_u64(m->body, "heartbeat_s", DEFAULT_HEARTBEAT, &hb);
	fl_pv_get_u64(m->body, "lease_s", DEFAULT_LEASE, &lease);
	ca->heartbeat_s = hb >= 1 && hb <= 600 ? (unsigned)hb : DEFAULT_HEARTBEAT;
	ca->lease_s = lease >= 2 && lease <= 3600 ? (unsigned)lease : DEFAULT_LEASE;
	tv.tv_sec = ca->heartbeat_s;
	tv.tv_usec = 0;
	event_add(ca->hb_timer, &tv);
	tv.tv_sec = ca->lease_s;
	bufferevent_set_timeouts(ca->bev, &tv, &tv);
	ca->backoff_ms = 0;
	pthread_mutex_lock(&ca->mu);
	ca->connected = true;
	ca->refused = false;
	ca->logged_error[0] = '\0';
	pthread_cond_broadcast(&ca->cv);
	pthread_mutex_unlock(&ca->mu);
	fl_notice("connected to flocker-control at %s as node %s (%s)",
		  ca->addrs[(ca->next_addr + ca->naddrs - 1) % ca->naddrs], ca->node,
		  fl_pv_get_str(m->body, "node_uuid"));
	flush_queue(ca);
}

struct push {
	struct cluster_agent *ca;
	uint64_t id;
	char name[FL_VOLNAME_MAX + 1];
	char for_node[64];
};

static void queue_out(struct cluster_agent *ca, struct outframe *o)
{
	struct outframe **pp;

	pthread_mutex_lock(&ca->mu);
	for (pp = &ca->outq; *pp; pp = &(*pp)->next)
		;
	*pp = o;
	pthread_mutex_unlock(&ca->mu);
	event_active(ca->wake, EV_READ, 0);
}

/* Control asks this node to give a volume up. */
static void *push_worker(void *arg)
{
	struct push *p = arg;
	struct cluster_agent *ca = p->ca;
	struct outframe *o = calloc(1, sizeof(*o));
	char err[512] = "", path[256];
	unsigned users = 0;
	bool starting = false;
	int ret, i;

	pthread_mutex_lock(&ca->mu);
	for (i = 0; i < 16; i++)
		if (!strcmp(ca->mounting[i], p->name))
			starting = true;
	pthread_mutex_unlock(&ca->mu);
	if (starting) {
		ret = -EBUSY;
		snprintf(err, sizeof(err), "a container is starting with it");
	} else if (fl_mounts_lookup(ca->mounts, p->name, path, sizeof(path), &users) == 1 &&
		   users > 0) {
		ret = -EBUSY;
		snprintf(err, sizeof(err), "%u container mount(s) use it", users);
	} else {
		ret = fl_mounts_drop_unused(ca->mounts, p->name, err, sizeof(err));
		if (!ret)
			fl_notice("volume %s: unmounted here for node %s", p->name, p->for_node);
	}
	if (o) {
		fl_frame_enc_init(&o->e);
		fl_frame_begin(&o->e, "reply", p->id, 2);
		fl_pk_kv_i64(&o->e.pk, "err", ret);
		fl_pk_kv_str(&o->e.pk, "msg", ret ? err : "");
		fl_frame_end(&o->e);
		queue_out(ca, o);
	}
	pthread_mutex_lock(&ca->mu);
	ca->workers--;
	pthread_cond_broadcast(&ca->cv);
	pthread_mutex_unlock(&ca->mu);
	free(p);
	return NULL;
}

static void on_push(struct cluster_agent *ca, const struct fl_msg *m)
{
	struct push *p = calloc(1, sizeof(*p));
	pthread_attr_t at;
	pthread_t th;
	struct fl_frame_enc e;
	int ret;

	if (!p || strcmp(m->type, "unmount") ||
	    !fl_volname_valid(fl_pv_get_str(m->body, "volume"))) {
		free(p);
		fl_frame_enc_init(&e);
		ret = fl_frame_begin(&e, "reply", m->id, 2);
		fl_pk_kv_i64(&e.pk, "err", -EOPNOTSUPP);
		fl_pk_kv_str(&e.pk, "msg", "unknown request");
		send_built(ca, &e, ret);
		return;
	}
	p->ca = ca;
	p->id = m->id;
	snprintf(p->name, sizeof(p->name), "%s", fl_pv_get_str(m->body, "volume"));
	snprintf(p->for_node, sizeof(p->for_node), "%s", fl_pv_get_str(m->body, "for"));
	pthread_mutex_lock(&ca->mu);
	ca->workers++;
	pthread_mutex_unlock(&ca->mu);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &at, push_worker, p)) {
		pthread_mutex_lock(&ca->mu);
		ca->workers--;
		pthread_mutex_unlock(&ca->mu);
		free(p);
	}
	pthread_attr_destroy(&at);
}

static void on_frame(struct cluster_agent *ca, struct fl_msg *m)
{
	struct call *c;

	if (strcmp(m->type, "reply")) {
		on_push(ca, m);
		return;
	}
	if (m->id == ca->hello_id) {
		on_hello_reply(ca, m);
		return;
	}
	pthread_mutex_lock(&ca->mu);
	for (c = ca->queue; c; c = c->next) {
		if (c->sent && !c->done && c->id == m->id) {
			int64_t err = 0;

			if (fl_pv_i64(fl_pv_get(m->body, "err"), &err))
				err = -EPROTO;
			c->err = (int)err;
			snprintf(c->msg, sizeof(c->msg), "%s", fl_pv_get_str(m->body, "msg"));
			c->reply = *m;
			memset(m, 0, sizeof(*m)); /* the call owns it now */
			c->done = true;
			pthread_cond_broadcast(&ca->cv);
			break;
		}
	}
	pthread_mutex_unlock(&ca->mu);
}

static int agent_on_msg(void *arg, struct fl_msg *m)
{
	struct cluster_agent *ca = arg;

	on_frame(ca, m);
	return !ca->bev; /* disconnected meanwhile */
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct cluster_agent *ca = arg;
	int ret;

	ret = fl_frame_read(bufferevent_get_input(bev), agent_on_msg, ca);
	if (ret == -EMSGSIZE)
		disconnect(ca, "frame over the size limit");
	else if (ret)
		disconnect(ca, "malformed frame");
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct cluster_agent *ca = arg;
	char why[256];

	if (what & BEV_EVENT_CONNECTED) {
		send_report(ca, true);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		disconnect(ca, "no answer from flocker-control");
		return;
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
		SSL *ssl = bufferevent_openssl_get_ssl(bev);
		unsigned long e, x;
		long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
		int se = EVUTIL_SOCKET_ERROR();
		bool refused = false;
		char tls[200];

		/* libevent queues OpenSSL's error codes and, for a failed system call,
		 * SSL_get_error's code (SSL_ERROR_SYSCALL: library 0): the first real
		 * OpenSSL error, else the socket's errno */
		e = 0;
		while ((x = bufferevent_get_openssl_error(bev)))
			if (!e && ERR_GET_LIB(x))
				e = x;

		if (v != X509_V_OK || e) {
			fl_tls_why_err(ssl, e, tls, sizeof(tls));
			snprintf(why, sizeof(why), "TLS: %s", tls);
			/* a certificate either side refused (fl_tls_why_err says "refused"):
			 * retrying will not help soon */
			refused = v != X509_V_OK || strstr(tls, "refused") != NULL;
		} else if (se == ECONNREFUSED || se == ECONNRESET || se == ETIMEDOUT ||
			   se == EHOSTUNREACH || se == ENETUNREACH || se == ECONNABORTED) {
			/* the TCP connection failed: libevent's TLS layer reports an EOF */
			snprintf(why, sizeof(why), "%s", strerror(se));
		} else if (what & BEV_EVENT_EOF) {
			snprintf(why, sizeof(why), "connection closed");
		} else {
			snprintf(why, sizeof(why), "%s", se ? strerror(se) : "connection failed");
		}
		pthread_mutex_lock(&ca->mu);
		ca->refused = refused;
		pthread_mutex_unlock(&ca->mu);
		disconnect(ca, why);
	}
}

static void connect_next(struct cluster_agent *ca)
{
	const char *spec = ca->addrs[ca->next_addr];
	char host[256];
	int port = FL_AGENT_PORT;
	const char *colon;
	SSL *ssl;

	ca->next_addr = (ca->next_addr + 1) % ca->naddrs;
	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');

		snprintf(host, sizeof(host), "%.*s", end ? (int)(end - spec - 1) : 0, spec + 1);
		colon = end && end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = strrchr(spec, ':');
		snprintf(host, sizeof(host), "%.*s",
			 colon ? (int)(colon - spec) : (int)strlen(spec), spec);
	}
	if (colon)
		port = atoi(colon + 1);
	ssl = SSL_new(ca->ctx);
	ca->bev = ssl ? bufferevent_openssl_socket_new(ca->evb, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
						       BEV_OPT_CLOSE_ON_FREE |
							       BEV_OPT_DEFER_CALLBACKS)
		      : NULL;
	if (!ca->bev) {
		SSL_free(ssl);
		disconnect(ca, "out of memory");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(ca->bev, 1);
	bufferevent_setwatermark(ca->bev, EV_READ, 0, FL_FRAME_HDR + FL_FRAME_MAX);
	bufferevent_setcb(ca->bev, read_cb, NULL, event_cb, ca);
	{
		struct timeval tv = {10, 0};

		bufferevent_set_timeouts(ca->bev, &tv, &tv);
	}
	bufferevent_enable(ca->bev, EV_READ | EV_WRITE);
	fl_debug("connecting to flocker-control at %s", spec);
	if (bufferevent_socket_connect_hostname(ca->bev, NULL, AF_UNSPEC, host, port) < 0)
		disconnect(ca, "cannot resolve the control address");
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	connect_next(arg);
}

static void schedule_reconnect(struct cluster_agent *ca)
{
	struct timeval tv;
	unsigned ms, jitter = 0;

	/* the backoff grows once per round of the addresses: the next control of a
	 * round is tried 0.1 s after the last one failed (a standby that just took
	 * over is found at once) */
	if (ca->naddrs > 1 && ca->next_addr != 0) {
		tv.tv_sec = 0;
		tv.tv_usec = 100000;
		event_add(ca->retry_timer, &tv);
		return;
	}
	ca->backoff_ms = ca->backoff_ms ? ca->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (ca->backoff_ms > BACKOFF_MAX_MS)
		ca->backoff_ms = BACKOFF_MAX_MS;
	RAND_bytes((unsigned char *)&jitter, sizeof(jitter));
	ms = ca->backoff_ms * 4 / 5 + jitter % (ca->backoff_ms * 2 / 5 + 1);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	event_add(ca->retry_timer, &tv);
}

/* Sends the queued requests and frames (loop thread). */
static void flush_queue(struct cluster_agent *ca)
{
	struct outframe *o, *onext;
	struct call *c;

	pthread_mutex_lock(&ca->mu);
	o = ca->outq;
	ca->outq = NULL;
	if (ca->connected) {
		for (c = ca->queue; c; c = c->next) {
			struct fl_frame_enc e;
			uint32_t n = 0;
			int i, ret;

			if (c->sent || c->done)
				continue;
			for (i = 0; c->kv[i]; i += 2)
				n++;
			c->id = ca->next_id++;
			fl_frame_enc_init(&e);
			ret = fl_frame_begin(&e, c->type, c->id, n + (c->has_size ? 1 : 0));
			for (i = 0; c->kv[i]; i += 2)
				fl_pk_kv_str(&e.pk, c->kv[i], c->kv[i + 1]);
			if (c->has_size)
				fl_pk_kv_u64(&e.pk, "size", c->size);
			ret = send_built(ca, &e, ret);
			if (ret) {
				c->done = true;
				c->err = ret;
				snprintf(c->msg, sizeof(c->msg),
					 "cannot send to flocker-control: %s", strerror(-ret));
				pthread_cond_broadcast(&ca->cv);
			} else {
				c->sent = true;
			}
		}
	}
	pthread_mutex_unlock(&ca->mu);
	for (; o; o = onext) {
		onext = o->next;
		send_frame(ca, &o->e);
		fl_frame_enc_free(&o->e);
		free(o);
	}
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster_agent *ca = arg;

	(void)fd;
	(void)what;
	if (ca->stopping) {
		event_base_loopbreak(ca->evb);
		return;
	}
	flush_queue(ca);
}

static void *loop_thread(void *arg)
{
	struct cluster_agent *ca = arg;
	sigset_t all;

	/* signals belong to the main thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	connect_next(ca);
	event_base_loop(ca->evb, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* calls from the Docker threads */

/*
 * Sends a request and waits for its reply: 0 with c->reply set (the caller
 * frees it), or a negative errno with a message in err.
 */
static int do_call(struct cluster_agent *ca, struct call *c, int wait_s, char *err, size_t errlen)
{
	struct timespec dl;
	struct call **pp;
	double start = now_mono();
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += wait_s;
	pthread_mutex_lock(&ca->mu);
	if (ca->stopping) {
		pthread_mutex_unlock(&ca->mu);
		fl_seterr(err, errlen, "the agent is stopping");
		return -ESHUTDOWN;
	}
	c->next = ca->queue;
	ca->queue = c;
	pthread_mutex_unlock(&ca->mu);
	event_active(ca->wake, EV_READ, 0);
	pthread_mutex_lock(&ca->mu);
	while (!c->done && now_mono() - start < wait_s) {
		struct timespec slice;

		/* not connected for long, or refused: give up early with the reason */
		if (!c->sent && !ca->connected &&
		    (ca->refused || now_mono() - start > CONNECT_WAIT_S))
			break;
		/* wake at least every second to look at the connection */
		clock_gettime(CLOCK_MONOTONIC, &slice);
		slice.tv_sec += 1;
		if (slice.tv_sec > dl.tv_sec ||
		    (slice.tv_sec == dl.tv_sec && slice.tv_nsec > dl.tv_nsec))
			slice = dl;
		pthread_cond_timedwait(&ca->cv, &ca->mu, &slice);
	}
	for (pp = &ca->queue; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	if (!c->done) {
		if (!c->sent)
			fl_seterr(
				err, errlen,
				"cannot reach flocker-control (%s): %s; check that it runs and that this node's certificate is valid",
				ca->controls, ca->last_error[0] ? ca->last_error : "not connected");
		else
			fl_seterr(err, errlen, "flocker-control did not answer %s within %d s",
				  c->type, wait_s);
		ret = c->sent ? -ETIMEDOUT : -EHOSTUNREACH;
	} else {
		ret = c->err;
		if (ret)
			fl_seterr(err, errlen, "%s", c->msg);
	}
	pthread_mutex_unlock(&ca->mu);
	if (ret)
		fl_msg_free(&c->reply);
	return ret;
}

static void call_init(struct call *c, const char *type, const char *volume)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->type, sizeof(c->type), "%s", type);
	if (volume) {
		c->kv[0] = "volume";
		c->kv[1] = volume;
	}
}

/* A volume from a reply's "volume" map. */
static void fill_volume(struct cluster_agent *ca, const struct fl_pv *v,
			struct fl_agent_volume *out)
{
	uint64_t u = 0;
	int64_t i = 0;

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", fl_pv_get_str(v, "name"));
	snprintf(out->uuid, sizeof(out->uuid), "%s", fl_pv_get_str(v, "uuid"));
	if (fl_pv_get_u64(v, "size_limit", 0, &u) == 0)
		out->size_limit = u;
	if (fl_pv_get_u64(v, "bytes_used", 0, &u) == 0)
		out->bytes_used = u;
	if (fl_pv_i64(fl_pv_get(v, "created"), &i) == 0)
		out->created = i;
	snprintf(out->holder, sizeof(out->holder), "%s", fl_pv_get_str(v, "holder"));
	/* a control that knows of snapshots sends both */
	snprintf(out->parent, sizeof(out->parent), "%s", fl_pv_get_str(v, "parent"));
	if (fl_pv_get(v, "snapshots") && fl_pv_get_u64(v, "snapshots", 0, &u) == 0 &&
	    u <= UINT32_MAX) {
		out->snapshots = (unsigned)u;
		out->has_snapshots = true;
	}
	fl_mounts_lookup(ca->mounts, out->name, out->mountpoint, sizeof(out->mountpoint), NULL);
}

/*
 * A heartbeat now (a mount came or went), from any thread.  Its own event:
 * activating the persistent hb_timer instead would move that timer's next
 * run a whole period past its current one (libevent reschedules a persistent
 * timer relative to its due time when it runs "by timeout"), so a few quick
 * Mount/Unmount pairs silenced the periodic heartbeat past the lease.
 */
static void kick_heartbeat(struct cluster_agent *ca)
{
	event_active(ca->hb_kick, EV_TIMEOUT, 0);
}

static int cl_create(struct fl_agent *a, const char *name, const char *const *keys,
		     const char *const *vals, size_t nopts, char *err, size_t errlen)
{
	struct cluster_agent *ca = to_ca(a);
	struct fl_agent_create_opts o;
	struct fl_agent_volume v;
	struct call c;
	char fvol[FL_VOLNAME_MAX + 1], fsnap[FL_VOLNAME_MAX + 1];
	int ret;

	ret = fl_agent_create_opts(name, keys, vals, nopts, &o, err, errlen);
	if (ret)
		return ret;
	if (o.from &&
	    (fl_snap_parse(o.from, fvol, sizeof(fvol), fsnap, sizeof(fsnap)) < 0 ||
	     !fl_volname_valid(fvol) || (strchr(o.from, '@') && !fl_volname_valid(fsnap)))) {
		fl_seterr(err, errlen, "invalid -o from=%.140s for volume %s: use VOL or VOL@SNAP",
			  o.from, name);
		return -EINVAL;
	}
	call_init(&c, "create", name);
	c.has_size = true;
	c.size = o.size;
	if (o.from) {
		c.kv[2] = "from";
		c.kv[3] = o.from;
	}
	/* a clone may wait for the parent's writer to take its snapshot */
	ret = do_call(ca, &c, o.from ? CLONE_WAIT_S : CALL_WAIT_S, err, errlen);
	fl_msg_free(&c.reply);
	if (ret != -EEXIST)
		return ret;
	/* Docker creates what a container names: an existing volume is fine, unless sized
	 * differently */
	call_init(&c, "get", name);
	ret = do_call(ca, &c, CALL_WAIT_S, err, errlen);
	if (ret)
		return ret;
	fill_volume(ca, fl_pv_get(c.reply.body, "volume"), &v);
	fl_msg_free(&c.reply);
	if (o.from && (!v.parent[0] || strncmp(v.parent, fvol, strlen(fvol)) ||
		       v.parent[strlen(fvol)] != '@' ||
		       (strchr(o.from, '@') && strcmp(v.parent + strlen(fvol) + 1, fsnap)))) {
		fl_seterr(err, errlen, "volume %s exists and is not a clone of %s", name, o.from);
		return -EEXIST;
	}
	if (o.sized && v.size_limit != o.size) {
		fl_seterr(err, errlen,
			  "volume %s exists with size limit %" PRIu64 " bytes, not %" PRIu64
			  ": use another name, or resize it with flockerctl volume resize",
			  name, v.size_limit, o.size);
		return -EEXIST;
	}
	if (err && errlen)
		err[0] = '\0';
	return 0;
}

static int cl_remove(struct fl_agent *a, const char *name, char *err, size_t errlen)
{
	struct cluster_agent *ca = to_ca(a);
	struct call c;
	int ret;

	/* a leftover mount here with no user goes first; one with users refuses */
	ret = fl_mounts_drop_unused(ca->mounts, name, err, errlen);
	if (ret)
		return ret;
	kick_heartbeat(ca);
	call_init(&c, "remove", name);
	ret = do_call(ca, &c, CALL_WAIT_S, err, errlen);
	fl_msg_free(&c.reply);
	if (ret == -ENOENT) {
		fl_info("volume %s: remove, but it does not exist (removed elsewhere?)", name);
		if (err && errlen)
			err[0] = '\0';
		ret = 0;
	}
	if (!ret)
		fl_notice("volume %s moved to the trash (flockerctl volume restore brings it back)",
			  name);
	return ret;
}

static int mark_mounting(struct cluster_agent *ca, const char *name, bool on)
{
	int i, ret = on ? -EAGAIN : 0;

	pthread_mutex_lock(&ca->mu);
	for (i = 0; i < 16; i++) {
		if (on && !ca->mounting[i][0]) {
			snprintf(ca->mounting[i], sizeof(ca->mounting[i]), "%s", name);
			ret = 0;
			break;
		}
		if (!on && !strcmp(ca->mounting[i], name)) {
			ca->mounting[i][0] = '\0';
			break;
		}
	}
	pthread_mutex_unlock(&ca->mu);
	return ret;
}

/*
 * The lease is confirmed with control even when the volume is mounted here
 * already (a mount left from before a partition may have been fenced since).
 * Only when control cannot be reached does an existing mount here take one
 * more ID on its own: its writer lock still guards it, and a fenced one fails
 * with EIO rather than writing.
 */
static int cl_mount(struct fl_agent *a, const char *name, const char *id, char *path,
		    size_t pathlen, char *err, size_t errlen)
{
	struct cluster_agent *ca = to_ca(a);
	struct call c;
	char uuid[37], here[256], err2[256];
	bool mounting = false;
	int ret;

	if (mark_mounting(ca, name, true)) {
		fl_seterr(err, errlen, "too many volumes mounting at once on this node: retry");
		ret = -EAGAIN;
		goto out;
	}
	mounting = true;
	call_init(&c, "acquire", name);
	ret = do_call(ca, &c, ACQUIRE_WAIT_S, err, errlen);
	if ((ret == -EHOSTUNREACH || ret == -ETIMEDOUT || ret == -ECONNRESET) &&
	    fl_mounts_lookup(ca->mounts, name, here, sizeof(here), NULL) == 1) {
		fl_warn("volume %s: flocker-control is unreachable (%s); the mount here takes mount ID %.12s",
			name, err, id);
		snprintf(err2, sizeof(err2), "%s", err);
		ret = fl_mounts_acquire(ca->mounts, name, NULL, id, path, pathlen, err, errlen);
		if (ret == -EAGAIN) /* the mount here was dead or fenced, and dropped */
			fl_seterr(
				err, errlen,
				"cannot mount volume %s: its mount on this host was unusable and flocker-control is unreachable (%s)",
				name, err2);
		goto out;
	}
	if (ret)
		goto out;
	snprintf(uuid, sizeof(uuid), "%s",
		 fl_pv_get_str(fl_pv_get(c.reply.body, "volume"), "uuid"));
	fl_msg_free(&c.reply);
	ret = fl_mounts_acquire(ca->mounts, name, uuid, id, path, pathlen, err, errlen);
	if (ret) {
		/* give the lease back if nothing here uses the volume */
		if (fl_mounts_lookup(ca->mounts, name, here, sizeof(here), NULL) != 1) {
			call_init(&c, "release", name);
			do_call(ca, &c, CALL_WAIT_S, err2, sizeof(err2));
			fl_msg_free(&c.reply);
		}
		goto out;
	}
	learn_mount_addr(ca, name, path);
out:
	if (mounting)
		mark_mounting(ca, name, false);
	if (!ret)
		kick_heartbeat(ca);
	return ret;
}

static int cl_unmount(struct fl_agent *a, const char *name, const char *id, char *err,
		      size_t errlen)
{
	struct cluster_agent *ca = to_ca(a);
	struct call c;
	char path[256], err2[256];
	int ret;

	ret = fl_mounts_release(ca->mounts, name, id, err, errlen);
	if (ret)
		return ret;
	kick_heartbeat(ca);
	if (fl_mounts_lookup(ca->mounts, name, path, sizeof(path), NULL) == 1)
		return 0; /* still mounted for other IDs */
	/* the last user is gone: the lease too (failing that, control takes it back when
	 * another node asks, since this node no longer reports the volume) */
	call_init(&c, "release", name);
	if (do_call(ca, &c, CALL_WAIT_S, err2, sizeof(err2)))
		fl_warn("volume %s: cannot release the lease: %s", name, err2);
	fl_msg_free(&c.reply);
	return 0;
}

static int cl_get(struct fl_agent *a, const char *name, struct fl_agent_volume *out, char *err,
		  size_t errlen)
{
	struct cluster_agent *ca = to_ca(a);
	struct call c;
	int ret;

	call_init(&c, "get", name);
	ret = do_call(ca, &c, CALL_WAIT_S, err, errlen);
	if (ret)
		return ret;
	fill_volume(ca, fl_pv_get(c.reply.body, "volume"), out);
	/* Get and Path look at the mount here too: a dead one is logged and shown */
	if (out->mountpoint[0] && fl_mounts_check(ca->mounts, out->name))
		fl_mounts_dead(ca->mounts, out->name, out->mount_dead, sizeof(out->mount_dead));
	fl_msg_free(&c.reply);
	return 0;
}

static int cl_list(struct fl_agent *a, int (*cb)(void *arg, const struct fl_agent_volume *v),
		   void *arg, char *err, size_t errlen)
{
	struct cluster_agent *ca = to_ca(a);
	const struct fl_pv *vols;
	struct fl_agent_volume v;
	struct call c;
	uint32_t i;
	int ret;

	call_init(&c, "list", NULL);
	ret = do_call(ca, &c, CALL_WAIT_S, err, errlen);
	if (ret)
		return ret;
	vols = fl_pv_get(c.reply.body, "volumes");
	for (i = 0; vols && vols->type == FL_PV_ARRAY && i < vols->n; i++) {
		fill_volume(ca, &vols->v.kids[i], &v);
		if (cb(arg, &v))
			break;
	}
	fl_msg_free(&c.reply);
	return 0;
}

static void cl_close(struct fl_agent *a)
{
	struct cluster_agent *ca = to_ca(a);
	struct event *evs[] = {ca->wake, ca->hb_timer, ca->hb_kick, ca->retry_timer};
	struct mount_addr *m;
	struct outframe *o;
	int i;

	if (ca->thread_started) {
		pthread_mutex_lock(&ca->mu);
		ca->stopping = true;
		pthread_mutex_unlock(&ca->mu);
		event_active(ca->wake, EV_READ, 0);
		pthread_join(ca->thread, NULL);
	}
	/* push workers use the mounts table: let them finish */
	pthread_mutex_lock(&ca->mu);
	for (i = 0; ca->workers > 0 && i < 600; i++) {
		struct timespec dl;

		clock_gettime(CLOCK_MONOTONIC, &dl);
		dl.tv_sec += 1;
		pthread_cond_timedwait(&ca->cv, &ca->mu, &dl);
	}
	pthread_mutex_unlock(&ca->mu);
	if (ca->bev)
		bufferevent_free(ca->bev);
	for (i = 0; i < (int)(sizeof(evs) / sizeof(evs[0])); i++)
		if (evs[i])
			event_free(evs[i]);
	if (ca->evb)
		event_base_free(ca->evb);
	SSL_CTX_free(ca->ctx);
	while ((o = ca->outq)) {
		ca->outq = o->next;
		fl_frame_enc_free(&o->e);
		free(o);
	}
	while ((m = ca->maddrs)) {
		ca->maddrs = m->next;
		free(m);
	}
	fl_mounts_free(ca->mounts);
	fl_agent_rados_free(&ca->rados);
	for (i = 0; i < ca->naddrs; i++)
		free(ca->addrs[i]);
	free(ca->addrs);
	pthread_mutex_destroy(&ca->mu);
	pthread_cond_destroy(&ca->cv);
	free(ca->certs);
	free(ca->controls);
	free(ca->state_dir);
	free(ca->mount_root);
	free(ca);
}

static const struct fl_agent_ops cluster_ops = {
	.create = cl_create,
	.remove = cl_remove,
	.mount = cl_mount,
	.unmount = cl_unmount,
	.get = cl_get,
	.list = cl_list,
	.close = cl_close,
};

/* ------------------------------------------------------------------ */
/* open */

static int split_controls(struct cluster_agent *ca)
{
	char *list = strdup(ca->controls), *save = NULL, *tok;
	int n = 0;

	if (!list)
		return -ENOMEM;
	ca->addrs = calloc(strlen(ca->controls) + 1, sizeof(char *));
	if (!ca->addrs) {
		free(list);
		return -ENOMEM;
	}
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!*tok)
			continue;
		ca->addrs[n] = strdup(tok);
		if (!ca->addrs[n]) {
			free(list);
			return -ENOMEM;
		}
		n++;
	}
	free(list);
	ca->naddrs = n;
	return n ? 0 : -EINVAL;
}

/* The agent's own copies of the configuration, checked; the host and node
 * names; the control addresses.  0 or -errno with err said. */
static int take_config(struct cluster_agent *ca, const struct fl_agent_config *cfg, char *err,
		       size_t errlen)
{
	int ret;

	if (!cfg->control || !cfg->certs_dir) {
		fl_seterr(err, errlen, "cluster mode needs --control HOST[:PORT] and --certs DIR");
		return -EINVAL;
	}
	ret = fl_agent_rados_init(&ca->rados, cfg, RADOS_TIMEOUT_S, 0, err, errlen);
	if (ret)
		return ret;
	if (!(ca->certs = strdup(cfg->certs_dir)) || !(ca->controls = strdup(cfg->control)) ||
	    !(ca->state_dir =
		      strdup(cfg->state_dir ? cfg->state_dir : FL_AGENT_DEFAULT_STATE_DIR)) ||
	    !(ca->mount_root =
		      strdup(cfg->mount_root ? cfg->mount_root : FL_AGENT_DEFAULT_MOUNT_ROOT)))
		goto nomem;
	if (gethostname(ca->host, sizeof(ca->host) - 1) < 0)
		snprintf(ca->host, sizeof(ca->host), "localhost");
	ca->host[strcspn(ca->host, "|")] = '\0';
	snprintf(ca->node, sizeof(ca->node), "%s", cfg->node ? cfg->node : ca->host);
	if (split_controls(ca)) {
		fl_seterr(err, errlen, "invalid --control '%s': use HOST[:PORT][,HOST[:PORT]...]",
			  cfg->control);
		return -EINVAL;
	}
	return 0;
nomem:
	fl_seterr(err, errlen, "out of memory");
	return -ENOMEM;
}

/* The control connection's event loop and the thread that runs it. */
static int start_loop(struct cluster_agent *ca, char *err, size_t errlen)
{
	if (evthread_use_pthreads() < 0)
		goto nomem;
	ca->evb = event_base_new();
	if (!ca->evb || evthread_make_base_notifiable(ca->evb) < 0)
		goto nomem;
	ca->wake = event_new(ca->evb, -1, EV_PERSIST, wake_cb, ca);
	ca->hb_timer = event_new(ca->evb, -1, EV_PERSIST, hb_cb, ca);
	ca->hb_kick = event_new(ca->evb, -1, 0, hb_kick_cb, ca);
	ca->retry_timer = event_new(ca->evb, -1, 0, retry_cb, ca);
	if (!ca->wake || !ca->hb_timer || !ca->hb_kick || !ca->retry_timer)
		goto nomem;
	if (pthread_create(&ca->thread, NULL, loop_thread, ca)) {
		fl_seterr(err, errlen, "cannot start the control connection thread");
		return -ENOMEM;
	}
	ca->thread_started = true;
	return 0;
nomem:
	fl_seterr(err, errlen, "out of memory");
	return -ENOMEM;
}

int fl_agent_cluster_open(const struct fl_agent_config *cfg, struct fl_agent **out, char *err,
			  size_t errlen)
{
	struct fl_mounts_config mc = {0};
	struct cluster_agent *ca;
	char helper[PATH_MAX], base[80];
	struct rep *r = NULL;
	struct fl_store *st;
	int ret = -ENOMEM, n, i;

	*out = NULL;
	ca = calloc(1, sizeof(*ca));
	if (!ca)
		goto out_nomem;
	ca->agent.ops = &cluster_ops;
	pthread_mutex_init(&ca->mu, NULL);
	{
		pthread_condattr_t ca_attr;

		pthread_condattr_init(&ca_attr);
		pthread_condattr_setclock(&ca_attr, CLOCK_MONOTONIC);
		pthread_cond_init(&ca->cv, &ca_attr);
		pthread_condattr_destroy(&ca_attr);
	}
	ca->next_id = 1;
	ret = take_config(ca, cfg, err, errlen);
	if (ret)
		goto out;
	snprintf(base, sizeof(base), "node-%s", ca->node);
	ca->ctx = fl_tls_client_ctx(ca->certs, base, FL_ROLE_CONTROL, err, errlen);
	if (!ca->ctx) {
		ret = -EINVAL;
		goto out;
	}
	mc.state_dir = ca->state_dir;
	mc.mount_root = ca->mount_root;
	mc.host = ca->host;
	mc.store = mounts_store;
	mc.store_arg = ca;
	ret = fl_agent_mounts_open(cfg, &mc, helper, &ca->mounts, err, errlen);
	if (ret)
		goto out;
	/* the mounts that outlived the last agent: their RADOS addresses for control */
	n = collect_mounts(ca, &r);
	for (i = 0; i < n; i++)
		learn_mount_addr(ca, r[i].name, r[i].path);
	free(r);
	st = rados(ca);
	if (st)
		st->ops->self_addr(st, ca->rados_addr, sizeof(ca->rados_addr));

	ret = start_loop(ca, err, errlen);
	if (ret)
		goto out;
	fl_info("cluster agent: node %s, control %s, mount helper %s, mounts under %s", ca->node,
		ca->controls, helper, ca->mount_root);
	*out = &ca->agent;
	return 0;
out_nomem:
	fl_seterr(err, errlen, "out of memory");
	ret = -ENOMEM;
out:
	if (ca)
		cl_close(&ca->agent);
	return ret;
}
