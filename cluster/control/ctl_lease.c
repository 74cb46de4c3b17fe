/*
 * flockerfs — flocker-control's lease arbitration (see ctl_server.h): acquires
 * (agents' and the API's moves), the unmount asked of a live holder, the
 * probe and fencing of a silent one on a worker, the removal check, and the
 * once-a-second tick (acquires' timeouts, lease expiry, the trash purge).
 */
#include "cluster/control/ctl_server.h"
#include "cluster/control/ctl_server_priv.h"
#include "cluster/control/ctl_metrics.h"
#include "cluster/control/ctl_worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "flocker/log.h"
#include "flocker/proto.h"
#include "fs/util/fmt.h"
#include "fs/volume/volume.h"

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
void fl_acq_kick(struct fl_acq *a)
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
			fl_acq_kick(o);
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
		fl_acq_kick(a); /* the lease changed meanwhile: look again */
		return;
	}
	acq_finish(a, err, msg);
}

static void acq_grant(struct fl_acq *a, const struct fl_lease *old)
{
	struct fl_lease l = {0};

	fl_ctl_copy_field(l.uuid, sizeof(l.uuid), a->uuid);
	fl_ctl_copy_field(l.node, sizeof(l.node), a->node);
	fl_ctl_copy_field(l.node_name, sizeof(l.node_name), a->node_name);
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
	const struct fl_mount_rep *m = fl_ctl_mount_any(n, a->uuid);
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
	fl_ctl_copy_field(k->name, sizeof(k->name), a->name);
	if (m)
		fl_ctl_copy_field(k->addr, sizeof(k->addr), m->addr);
	fl_ctl_copy_field(k->host, sizeof(k->host),
			  n && n->host[0] ? n->host : (nr ? nr->host : ""));
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
		ret = fl_sess_send(s, &e);
	fl_frame_enc_free(&e);
	if (ret) {
		a->st = ACQ_WAIT_HOLDER;
		return;
	}
	fl_info("asked node %s to unmount volume %s for node %s", n->name, a->name, a->node_name);
	a->st = ACQ_PUSHED;
	a->pushed_at = fl_now_mono();
	a->push_sess = s->serial;
	fl_ctl_copy_field(a->pushed_to, sizeof(a->pushed_to), n->uuid);
}

void fl_acq_push_answer(struct fl_acq *a, int err, const char *msg)
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
	if (fl_ctl_holder_present(c, n)) {
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
	fl_ctl_copy_field(a->uuid, sizeof(a->uuid), r->uuid);
	fl_ctl_copy_field(a->name, sizeof(a->name), r->name);
	fl_ctl_copy_field(a->node, sizeof(a->node), r->node);
	fl_ctl_copy_field(a->node_name, sizeof(a->node_name), r->node_name);
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

void fl_ctl_tick_cb(evutil_socket_t fd, short what, void *arg)
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
			fl_acq_kick(a);
		} else if (a->st == ACQ_PUSHED && now - a->pushed_at > PUSH_TIMEOUT_S) {
			/* no answer: ask again, through whatever connection the node has then */
			a->st = ACQ_WAIT_HOLDER;
			fl_acq_kick(a);
		}
	}
	if (wall - c->last_purge >= (int64_t)c->o.purge_s) {
		c->last_purge = wall;
		if (fl_state_expire_leases(c->state, wall) < 0)
			fl_warn("cannot drop expired leases");
		purge_start(c, wall);
	}
}
