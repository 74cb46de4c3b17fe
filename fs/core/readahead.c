/*
 * flockerfs — object readahead: whole data objects fetched ahead of a
 * sequential reader.
 *
 * The kernel reads a FUSE file ahead in requests of at most 1 MiB (its page
 * limit), readahead_kb or up to twice that in flight, in bursts.  Sent as
 * they come, those are 1 MiB RADOS reads, a quarter of an object each, and
 * the pipeline to the OSD empties between bursts.  Once a file is read
 * sequentially (requests of RA_MIN_READ or more, each near where the
 * furthest one ended, two objects' worth: see ra_pin), each object a
 * request reaches is read whole, in one op, together with up to
 * ra_objects objects beyond it, into buffers kept on the inode (slots).
 * Requests are then answered from those: in place (fl_ra_read_ref: the
 * reply goes to /dev/fuse straight from the slot) or copied.  Fewer, larger
 * ops cost the OSD less per byte, and the daemon copies nothing
 * (figures in tests/bench/RESULTS.md).
 *
 * Memory: at most FL_RA_SLOTS objects per file and fl_core_opts.ra_max
 * bytes over all files, allocated while a file is read sequentially and
 * freed when its last handle closes.  A slot is reused once all of its
 * object was copied out, or when it lies more than the kernel's readahead
 * window (requests still come for those) behind the reader, or far ahead.
 *
 * Consistency: a slot remembers the inode's dseq when its read was sent and
 * serves only while dseq is unchanged, i.e. no write-back, truncation or
 * trim has changed the objects since; the caller overlays dirty and flying
 * data as on every read.  A changed dseq drops the slot and the request
 * reads the objects directly.
 *
 * Everything here runs with core->lock held; waiting for a read and copying
 * out drop it.  A slot being copied from (users) or waited for (reaping) is
 * never reused or freed.
 */
#include "fs/core/core_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RA_MIN_READ (128u << 10) /* smaller requests are not readahead */

enum { RA_FREE, RA_FLYING, RA_READY, RA_FAILED };

struct fl_ra;

struct fl_ra_slot {
	struct fl_ra *ra;
	uint64_t idx;	    /* object index */
	char *buf;	    /* bsize bytes, kept while the slot exists */
	ssize_t got;	    /* bytes the object had (filled in by the batch) */
	uint64_t dseq;	    /* inode's dseq when the read was sent */
	uint64_t served;    /* bytes copied out of it so far */
	struct fl_batch *b; /* while RA_FLYING */
	int state;
	bool reaping;	/* a thread waits for b without the lock */
	unsigned users; /* threads copying out without the lock */
};

struct fl_ra {
	uint64_t hi;		     /* end of the furthest request so far */
	uint64_t run;		     /* bytes asked for by the sequential run so far (capped) */
	uint64_t last_off, last_len; /* the last request counted */
	unsigned strays;	     /* requests in a row away from the run */
	bool dropping;		     /* fl_ra_drop waits for users */
	unsigned nslots;
	struct fl_ra_slot s[FL_RA_SLOTS];
};

/* Bytes of [pos, end) in pos's object. */
static uint64_t piece(uint64_t bs, uint64_t pos, uint64_t end)
{
	return bs - pos % bs < end - pos ? bs - pos % bs : end - pos;
}

static struct fl_ra_slot *slot_find(struct fl_ra *ra, uint64_t idx)
{
	unsigned i;

	for (i = 0; i < ra->nslots; i++)
		if (ra->s[i].state != RA_FREE && ra->s[i].idx == idx)
			return &ra->s[i];
	return NULL;
}

/* Finishes a slot whose read has ended, without waiting; true if it did. */
static bool slot_try_finish(struct fl_ra_slot *s)
{
	int ret;

	if (s->state != RA_FLYING || s->reaping || !s->b->ops->done(s->b))
		return false;
	ret = fl_batch_wait(s->b);
	s->b = NULL;
	s->state = ret || s->got < 0 ? RA_FAILED : RA_READY;
	return true;
}

/* Waits for a slot's read (the lock is dropped meanwhile), or for the thread
 * already waiting for it. */
static void slot_complete(struct fl_core *c, struct fl_ra_slot *s)
{
	struct fl_batch *b;
	int ret;

	if (s->reaping) {
		/* not "while FLYING": the slot may be sent again meanwhile,
		 * with nobody waiting for it but us */
		while (s->reaping)
			pthread_cond_wait(&c->cond, &c->lock);
		return;
	}
	s->reaping = true;
	b = s->b;
	pthread_mutex_unlock(&c->lock);
	ret = fl_batch_wait(b);
	pthread_mutex_lock(&c->lock);
	s->b = NULL;
	s->reaping = false;
	s->state = ret || s->got < 0 ? RA_FAILED : RA_READY;
	pthread_cond_broadcast(&c->cond);
}

/* A slot to read an object into: a free one, else a finished one that the
 * reader is done with (all of it copied out, or far from where it reads: it
 * went elsewhere), lowest first; else a new one within the budget; else NULL. */
static struct fl_ra_slot *slot_take(struct fl_core *c, struct fl_inode *ip, struct fl_ra *ra,
				    uint64_t first)
{
	struct fl_ra_slot *best = NULL;
	unsigned i;

	for (i = 0; i < ra->nslots; i++) {
		struct fl_ra_slot *s = &ra->s[i];
		uint64_t want = ip->r.size > s->idx * c->bsize ? ip->r.size - s->idx * c->bsize : 0;

		if (s->users || s->reaping)
			continue;
		if (s->state == RA_FREE)
			return s;
		slot_try_finish(s);
		if (s->state == RA_FLYING)
			continue;
		if (want > c->bsize)
			want = c->bsize;
		/* still wanted: not all copied out, and within the kernel's
		 * window behind the reader (requests still come for those) */
		if (s->served < want && s->idx + c->o.ra_window / c->bsize + 1 >= first &&
		    s->idx <= first + FL_RA_SLOTS)
			continue;
		if (!best || s->idx < best->idx)
			best = s;
	}
	if (best || ra->nslots == FL_RA_SLOTS || c->ra_bytes + c->bsize > c->o.ra_max)
		return best;
	best = &ra->s[ra->nslots];
	best->ra = ra;
	best->buf = malloc(c->bsize);
	if (!best->buf)
		return NULL;
	ra->nslots++;
	c->ra_bytes += c->bsize;
	return best;
}

/* Sends reads of objects first..last that no slot holds (or holds stale). */
static void fetch(struct fl_core *c, struct fl_inode *ip, struct fl_ra *ra, uint64_t first,
		  uint64_t last)
{
	uint64_t idx;

	for (idx = first; idx <= last && idx * c->bsize < ip->r.size; idx++) {
		struct fl_ra_slot *s = slot_find(ra, idx);
		char oid[FL_OID_LEN];

		if (s && (s->state == RA_FLYING || s->dseq == ip->dseq))
			continue;
		if (s && (s->users || s->reaping))
			continue;
		if (!s)
			s = slot_take(c, ip, ra, first);
		if (!s)
			return; /* all slots busy or the budget spent: later */
		s->b = fl_batch_new(c->st);
		if (!s->b) {
			s->state = RA_FREE;
			return;
		}
		s->idx = idx;
		s->dseq = ip->dseq;
		s->got = 0;
		s->served = 0;
		s->state = RA_FLYING;
		fl_oid_data(oid, ip->r.ino, idx);
		s->b->ops->read(s->b, oid, 0, c->bsize, s->buf, &s->got);
	}
}

/* Finds the slots holding [off, off+len) and pins them (users): returns 1
 * with use[0..*n), else 0 (not read ahead) or 2 (waited: start over). */
static int ra_pin(struct fl_core *c, struct fl_inode *ip, uint64_t off, size_t len,
		  struct fl_ra_slot **use, unsigned *n)
{
	uint64_t bs = c->bsize, first = off / bs, last, pos, seq = ip->dseq;
	struct fl_ra *ra = ip->ra;
	unsigned i;
	bool near;

	if (!c->o.ra_objects || !len)
		return 0;
	if (!ra) {
		if (len < RA_MIN_READ)
			return 0;
		ra = calloc(1, sizeof(*ra));
		if (!ra)
			return 0;
		ip->ra = ra;
	}
	last = (off + len - 1) / bs;
	/* sequential: within four times the kernel's readahead window of
	 * where the furthest request so far ended, behind or ahead (up to two
	 * windows are in flight, and requests overtake one another in our
	 * workers: measured up to 46 MiB behind with a 16 MiB window).  A run of those starts the
	 * readahead once it has asked for two objects' worth, and reads
	 * further ahead as it grows, one object per object asked for: random
	 * reads, even of whole objects split in several requests, seldom
	 * make such runs, and never read much ahead. */
	near = off <= ra->hi + 4 * c->o.ra_window && off + 4 * c->o.ra_window >= ra->hi;
	if (off != ra->last_off || len != ra->last_len) { /* not a retry of the last one */
		if (len >= RA_MIN_READ && near) {
			ra->run += len;
			ra->strays = 0;
			if (off + len > ra->hi)
				ra->hi = off + len;
		} else if (len >= RA_MIN_READ && !ra->strays++) {
			/* one request elsewhere (a retry, a stray reader) keeps the run */
		} else {
			ra->run = len >= RA_MIN_READ ? len : 0;
			ra->strays = 0;
			ra->hi = off + len;
		}
		if (ra->run > (c->o.ra_objects + 2) * bs)
			ra->run = (c->o.ra_objects + 2) * bs;
		ra->last_off = off;
		ra->last_len = len;
	}
	if (ra->run < 2 * bs || last - first >= 2)
		return 0;
	fetch(c, ip, ra, first, last + ra->run / bs - 2);
	for (*n = 0, i = 0; first + i <= last; i++) {
		struct fl_ra_slot *s = slot_find(ra, first + i);

		if (!s)
			return 0;
		if (s->state == RA_FLYING && !slot_try_finish(s)) {
			slot_complete(c, s);
			return 2; /* the lock was dropped */
		}
		if (s->state == RA_FAILED || s->dseq != seq) {
			if (!s->users)
				s->state = RA_FREE;
			return 0;
		}
		use[(*n)++] = s;
	}
	for (pos = off, i = 0; i < *n; i++) {
		uint64_t m = piece(bs, pos, off + len);

		use[i]->users++;
		use[i]->served += m;
		pos += m;
	}
	return 1;
}

/* Unpins what ra_pin pinned; uncount: the bytes were not used after all. */
static void ra_unpin(struct fl_core *c, struct fl_ra_slot **use, unsigned n, uint64_t off,
		     size_t len, bool uncount)
{
	uint64_t pos = off;
	unsigned i;

	for (i = 0; i < n; i++) {
		uint64_t m = piece(c->bsize, pos, off + len);

		if (uncount)
			use[i]->served -= m; /* counted again when copied */
		use[i]->users--;
		pos += m;
	}
	if (n && use[0]->ra->dropping)
		pthread_cond_broadcast(&c->cond);
}

int fl_ra_read(struct fl_core *c, struct fl_inode *ip, uint64_t off, size_t len, char *buf)
{
	uint64_t bs = c->bsize, pos;
	struct fl_ra_slot *use[2];
	unsigned i, n;
	int r = ra_pin(c, ip, off, len, use, &n);

	if (r != 1)
		return r;
	pthread_mutex_unlock(&c->lock);
	for (pos = off, i = 0; i < n; i++) {
		uint64_t boff = pos % bs, m = piece(bs, pos, off + len);
		uint64_t have = use[i]->got > (ssize_t)boff ? (uint64_t)use[i]->got - boff : 0;

		if (have > m)
			have = m;
		memcpy(buf + (pos - off), use[i]->buf + boff, have);
		memset(buf + (pos - off) + have, 0, m - have);
		pos += m;
	}
	pthread_mutex_lock(&c->lock);
	ra_unpin(c, use, n, off, len, false);
	return 1;
}

int fl_ra_read_ref(struct fl_core *c, struct fl_inode *ip, uint64_t off, size_t len,
		   const void **data, void **ref)
{
	struct fl_ra_slot *use[2];
	unsigned n;
	int r = ra_pin(c, ip, off, len, use, &n);

	if (r != 1)
		return r;
	if (n == 1 && use[0]->got >= (ssize_t)(off % c->bsize + len)) {
		*data = use[0]->buf + off % c->bsize;
		*ref = use[0];
		return 1;
	}
	/* zeros past the object's end, or two objects: the caller copies */
	ra_unpin(c, use, n, off, len, true);
	return 0;
}

void fl_ra_put(struct fl_core *c, void *ref)
{
	struct fl_ra_slot *s = ref;

	ra_unpin(c, &s, 1, 0, 0, false);
}

void fl_ra_drop(struct fl_core *c, struct fl_inode *ip)
{
	struct fl_ra *ra = ip->ra;
	unsigned i;

	if (!ra)
		return;
	/* Detached first: a reader that comes meanwhile starts a readahead of
	 * its own, and this one ends without the core lock held while RADOS
	 * answers its reads in flight. */
	ra->dropping = true;
	ip->ra = NULL;
	for (i = 0; i < ra->nslots; i++) {
		struct fl_ra_slot *s = &ra->s[i];

		for (;;) {
			struct fl_batch *b;

			if (s->users || s->reaping) {
				pthread_cond_wait(&c->cond, &c->lock);
				continue;
			}
			if (s->state != RA_FLYING)
				break;
			s->reaping = true;
			b = s->b;
			pthread_mutex_unlock(&c->lock);
			fl_batch_wait(b);
			pthread_mutex_lock(&c->lock);
			s->b = NULL;
			s->reaping = false;
			s->state = RA_FAILED;
			pthread_cond_broadcast(&c->cond);
		}
		free(s->buf);
	}
	c->ra_bytes -= (uint64_t)ra->nslots * c->bsize;
	free(ra);
}
