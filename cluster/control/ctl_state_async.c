/*
 * flockerfs — flocker-control's registry (see ctl_state.h): the writes that
 * run on worker threads, off the loop: node records at a hello or disconnect
 * (one in flight per node) and the guarded lease writes, one at a time in
 * the order asked (fl_state_lease_put_async, fl_state_lease_release_async).
 */
#include "cluster/control/ctl_state.h"
#include "cluster/control/ctl_server.h"
#include "cluster/control/ctl_state_priv.h"
#include "cluster/control/ctl_state_rec.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flocker/log.h"
#include "flocker/proto.h"

/* ------------------------------------------------------------------ */
/* node records off the loop */

void fl_state_set_runner(struct fl_state *s, fl_state_submit submit, void *arg)
{
	s->submit = submit;
	s->submit_arg = arg;
}

static void run_job(struct fl_state *s, struct fl_job *j)
{
	if (s->submit) {
		s->submit(s->submit_arg, j);
		return;
	}
	j->cancelled = false;
	j->work(j);
	j->done(j);
}

struct node_waiter {
	fl_state_done done;
	void *arg;
	struct node_waiter *next;
};

/*
 * One node's record writes: at most one in flight (job != NULL); the callers
 * since it started wait in "next" and get the write that follows it, which
 * carries the cache's record as it is then.
 */
struct node_wr {
	char uuid[37];
	struct node_job *job;	 /* the write in flight, or NULL */
	struct node_waiter *cur; /* satisfied by the write in flight */
	struct node_waiter *next, **next_tail;
	bool again; /* a change since the write in flight began */
	struct node_wr *link;
};

struct node_job {
	struct fl_job job;
	struct fl_state *s;
	struct node_wr *w;
	struct fl_store *ns; /* the work uses only this (thread safe) */
	char key[37];
	struct fl_frame_enc e;
	int ret;
};

static void waiters_call(struct node_waiter *list, int err)
{
	struct node_waiter *x;

	while ((x = list)) {
		list = x->next;
		if (x->done)
			x->done(x->arg, err);
		free(x);
	}
}

static void node_wr_unlink(struct fl_state *s, struct node_wr *w)
{
	struct node_wr **pp;

	for (pp = &s->node_wrs; *pp; pp = &(*pp)->link) {
		if (*pp == w) {
			*pp = w->link;
			break;
		}
	}
	free(w);
}

static void node_wr_work(struct fl_job *j)
{
	struct node_job *nj = (struct node_job *)j;
	struct fl_kv kv = {nj->key, nj->e.buf.data, nj->e.buf.len};

	nj->ret = nj->ns->ops->omap_update(nj->ns, FL_CTL_NODES_OID, &kv, 1, NULL, 0, NULL, 0);
}

static void node_wr_start(struct fl_state *s, struct node_wr *w);

static void node_wr_done(struct fl_job *j)
{
	struct node_job *nj = (struct node_job *)j;
	struct fl_state *s = nj->s;
	struct node_wr *w = nj->w;
	struct node_waiter *cur = w->cur;
	bool cancelled = j->cancelled;
	int ret = cancelled ? -ESHUTDOWN : nj->ret;

	w->job = NULL;
	w->cur = NULL;
	fl_frame_enc_free(&nj->e);
	free(nj); /* j with it */
	if (ret && ret != -ESHUTDOWN)
		fl_warn("cannot record node %s: %s", w->uuid, strerror(-ret));
	if (cancelled) {
		/* the control stops: what is queued will not be written */
		struct node_waiter *next = w->next;

		node_wr_unlink(s, w);
		waiters_call(cur, ret);
		waiters_call(next, ret);
		return;
	}
	if (w->again)
		node_wr_start(s, w);
	else
		node_wr_unlink(s, w);
	waiters_call(cur, ret);
}

/* Writes the cached record of w's node; the waiters so far wait for this write. */
static void node_wr_start(struct fl_state *s, struct node_wr *w)
{
	const struct fl_node_rec *n = fl_state_node(s, w->uuid);
	struct node_job *nj = calloc(1, sizeof(*nj));
	int ret = -ENOMEM;

	w->cur = w->next;
	w->next = NULL;
	w->next_tail = &w->next;
	w->again = false;
	if (nj && n) {
		ret = fl_state_enc_node(n, &nj->e);
		if (ret)
			fl_frame_enc_free(&nj->e);
	}
	if (ret) {
		struct node_waiter *cur = w->cur;

		free(nj);
		node_wr_unlink(s, w);
		waiters_call(cur, ret);
		return;
	}
	nj->job.work = node_wr_work;
	nj->job.done = node_wr_done;
	nj->s = s;
	nj->w = w;
	nj->ns = s->ns;
	snprintf(nj->key, sizeof(nj->key), "%s", n->uuid);
	w->job = nj;
	run_job(s, &nj->job);
}

void fl_state_node_seen_async(struct fl_state *s, const char *uuid, const char *name,
			      const char *addr, const char *host, int64_t now, fl_state_done done,
			      void *arg)
{
	const struct fl_node_rec *cur = fl_state_node(s, uuid);
	struct fl_node_rec n = {0};
	struct node_waiter *x = calloc(1, sizeof(*x));
	struct node_wr *w;

	fl_state_node_rec_fill(&n, cur, uuid, name, addr, host, now);
	for (w = s->node_wrs; w && strcmp(w->uuid, n.uuid); w = w->link)
		;
	if (!w && (w = calloc(1, sizeof(*w)))) {
		snprintf(w->uuid, sizeof(w->uuid), "%s", n.uuid);
		w->next_tail = &w->next;
		w->link = s->node_wrs;
		s->node_wrs = w;
	}
	if (!x || !w || fl_karr_put(NODES(s), &n)) {
		free(x);
		if (w && !w->job)
			node_wr_unlink(s, w);
		if (done)
			done(arg, -ENOMEM);
		return;
	}
	x->done = done;
	x->arg = arg;
	*w->next_tail = x;
	w->next_tail = &x->next;
	w->again = true;
	if (!w->job)
		node_wr_start(s, w);
}

void fl_state_node_wr_free_all(struct fl_state *s)
{
	struct node_wr *w;

	/* only after the workers stopped: no write in flight points here */
	while ((w = s->node_wrs)) {
		s->node_wrs = w->link;
		waiters_call(w->cur, -ESHUTDOWN);
		waiters_call(w->next, -ESHUTDOWN);
		free(w);
	}
}

/* ------------------------------------------------------------------ */
/* guarded lease writes off the loop */

enum { WOP_PUT, WOP_RELEASE };

/*
 * One guarded write of ctl.config handed to a worker.  Ordering: the writes
 * go out one at a time, in the order they were asked for; each is checked
 * (its preconditions and the tag it compares) against the cache as every
 * earlier one left it, when it goes out, never when it is asked for.  A
 * synchronous change (the API's) first waits for the write on a worker and
 * applies it (fl_state_wq_drain), then checks and writes itself; so the result is
 * always that of running the changes one after another on the loop.
 */
struct wop {
	struct fl_job job;
	struct fl_state *s;
	int kind;
	struct fl_lease l, old;
	bool has_old, set_primary;
	uint64_t expect_tag;
	char node[37];
	fl_state_wdone done;
	void *arg;
	/* made when it goes out */
	struct txn x;
	struct fl_ds d;
	bool has_d, noop;
	struct fl_kv set[TXN_MAX + 1];
	char newtag[24], oldtag[24];
	struct fl_omap_cmp cmp;
	struct fl_store *ns;
	int ret;
	char msg[256];
	/* the worker says when the write is back; the loop applies it once */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool finished, applied;
	struct wop *next;
};

static void wop_free(struct wop *w)
{
	fl_txn_free(&w->x);
	fl_ds_clear(&w->d);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}

/* On the loop: the checks and the transaction, as the synchronous calls make them. */
static int wop_prepare(struct fl_state *s, struct wop *w)
{
	const struct fl_lease *cur = fl_state_lease(s, w->l.uuid);
	const struct fl_ds *dcur;
	struct fl_frame_enc *e;
	int ret;

	fl_txn_init(&w->x);
	if (s->fenced)
		return -ECANCELED;
	if (w->expect_tag && w->expect_tag != s->tag)
		return -ESTALE;
	if (w->kind == WOP_RELEASE) {
		if (!cur || strcmp(cur->node, w->node) || cur->kind != FL_LEASE_AGENT) {
			w->noop = true; /* not the node's: nothing to drop */
			return 0;
		}
		ret = fl_txn_rm(&w->x, PFX_LEASE, w->l.uuid);
	} else {
		if ((!w->has_old) != (cur == NULL) ||
		    (w->has_old && !fl_lease_equal(&w->old, cur))) {
			snprintf(w->msg, sizeof(w->msg),
				 "the lease of dataset %s changed meanwhile", w->l.uuid);
			return -EAGAIN;
		}
		e = fl_txn_set(&w->x, PFX_LEASE, w->l.uuid);
		ret = fl_txn_set_done(&w->x, fl_state_enc_lease(&w->l, e));
		dcur = fl_state_ds(s, w->l.uuid);
		if (!ret && w->set_primary && dcur) {
			w->d = *dcur;
			w->d.metadata = dcur->metadata ? strdup(dcur->metadata) : NULL;
			snprintf(w->d.primary, sizeof(w->d.primary), "%s", w->l.node);
			w->has_d = true;
			e = fl_txn_set(&w->x, PFX_DS, w->l.uuid);
			ret = fl_txn_set_done(&w->x, fl_state_enc_ds(&w->d, e));
		}
	}
	if (ret)
		return ret;
	memcpy(w->set, w->x.set, w->x.nset * sizeof(w->set[0]));
	snprintf(w->oldtag, sizeof(w->oldtag), "%" PRIu64, s->tag);
	snprintf(w->newtag, sizeof(w->newtag), "%" PRIu64, s->tag + 1);
	w->set[w->x.nset].key = KEY_TAG;
	w->set[w->x.nset].val = w->newtag;
	w->set[w->x.nset].len = strlen(w->newtag);
	w->cmp.key = KEY_TAG;
	w->cmp.val = w->oldtag;
	w->cmp.len = strlen(w->oldtag);
	w->ns = s->ns;
	return 0;
}

static void wop_work(struct fl_job *j)
{
	struct wop *w = (struct wop *)j;
	int ret = w->ns->ops->omap_update(w->ns, FL_CTL_CONFIG_OID, w->set, w->x.nset + 1, w->x.rm,
					  w->x.nrm, &w->cmp, 1);

	pthread_mutex_lock(&w->mu);
	w->ret = ret;
	w->finished = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* On the loop, once: the cache follows the write. */
static void wop_apply(struct fl_state *s, struct wop *w)
{
	if (w->applied)
		return;
	w->applied = true;
	if (w->ret == -ECANCELED) {
		fl_err("the control configuration was changed by another control service: "
		       "this one is no longer the leader");
		s->fenced = true;
	}
	if (w->ret) {
		snprintf(w->msg, sizeof(w->msg), "cannot %s the lease of dataset %s: %s",
			 w->kind == WOP_PUT ? "set" : "release", w->l.uuid, fl_state_why(w->ret));
		return;
	}
	s->tag++;
	if (w->kind == WOP_RELEASE) {
		fl_karr_rm(LEASES(s), w->l.uuid);
		return;
	}
	if (fl_karr_put(LEASES(s), &w->l))
		w->ret = -ENOMEM;
	if (!w->ret && w->has_d)
		fl_karr_take(DS(s), &w->d);
}

static void wq_pump(struct fl_state *s);

static void wq_finish(struct wop *w, int ret)
{
	if (w->done)
		w->done(w->arg, ret, ret ? w->msg : NULL);
	wop_free(w);
}

static void wop_done(struct fl_job *j)
{
	struct wop *w = (struct wop *)j;
	struct fl_state *s = w->s;
	struct wop *q;
	bool finished;

	pthread_mutex_lock(&w->mu);
	finished = w->finished;
	pthread_mutex_unlock(&w->mu);
	if (finished)
		wop_apply(s, w); /* unless fl_state_wq_drain did */
	if (s->wq_inflight == w)
		s->wq_inflight = NULL;
	if (j->cancelled) {
		/* the control stops: what waits will not go out */
		snprintf(w->msg, sizeof(w->msg), "the control service is stopping");
		wq_finish(w, -ESHUTDOWN);
		while ((q = s->wq)) {
			s->wq = q->next;
			snprintf(q->msg, sizeof(q->msg), "the control service is stopping");
			wq_finish(q, -ESHUTDOWN);
		}
		s->wq_tail = &s->wq;
		return;
	}
	wq_finish(w, w->ret);
	wq_pump(s);
}

/* Sends the next waiting write out, or answers those that need no write. */
static void wq_pump(struct fl_state *s)
{
	struct wop *w;
	int ret;

	while (!s->wq_inflight && (w = s->wq)) {
		s->wq = w->next;
		if (!s->wq)
			s->wq_tail = &s->wq;
		ret = wop_prepare(s, w);
		if (ret || w->noop) {
			if (ret && !w->msg[0])
				snprintf(w->msg, sizeof(w->msg),
					 "cannot change the lease of dataset %s: %s", w->l.uuid,
					 fl_state_why(ret));
			wq_finish(w, ret);
			continue;
		}
		w->job.work = wop_work;
		w->job.done = wop_done;
		s->wq_inflight = w;
		run_job(s, &w->job);
		return;
	}
}

/* A synchronous change waits for the write on a worker and applies it first. */
void fl_state_wq_drain(struct fl_state *s)
{
	struct wop *w = s->wq_inflight;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	while (!w->finished)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	wop_apply(s, w);
	s->wq_inflight = NULL; /* its done() still answers its caller, later */
}

void fl_state_wq_free_all(struct fl_state *s)
{
	struct wop *w;

	/* only after the workers stopped (their done() emptied the queue) */
	while ((w = s->wq)) {
		s->wq = w->next;
		wq_finish(w, -ESHUTDOWN);
	}
}

static struct wop *wop_new(struct fl_state *s, int kind, const char *uuid, fl_state_wdone done,
			   void *arg)
{
	struct wop *w = calloc(1, sizeof(*w));

	if (!w) {
		done(arg, -ENOMEM, "out of memory");
		return NULL;
	}
	w->s = s;
	w->kind = kind;
	w->done = done;
	w->arg = arg;
	snprintf(w->l.uuid, sizeof(w->l.uuid), "%s", uuid);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	return w;
}

static void wq_add(struct fl_state *s, struct wop *w)
{
	if (!s->wq_tail)
		s->wq_tail = &s->wq;
	*s->wq_tail = w;
	s->wq_tail = &w->next;
	wq_pump(s);
}

void fl_state_lease_put_async(struct fl_state *s, const struct fl_lease *l,
			      const struct fl_lease *old, bool set_primary, uint64_t expect_tag,
			      fl_state_wdone done, void *arg)
{
	struct wop *w = wop_new(s, WOP_PUT, l->uuid, done, arg);

	if (!w)
		return;
	w->l = *l;
	if (old) {
		w->old = *old;
		w->has_old = true;
	}
	w->set_primary = set_primary;
	w->expect_tag = expect_tag;
	wq_add(s, w);
}

void fl_state_lease_release_async(struct fl_state *s, const char *uuid, const char *node,
				  fl_state_wdone done, void *arg)
{
	struct wop *w = wop_new(s, WOP_RELEASE, uuid, done, arg);

	if (!w)
		return;
	snprintf(w->node, sizeof(w->node), "%s", node);
	wq_add(s, w);
}
