/*
 * flockerfs — file data: the dirty cache and its write-back to data objects.
 *
 * A file's bytes live in objects "data.<ino>.<index>" of block_size bytes;
 * a missing object, or bytes past an object's end, read as zeros.  Writes
 * land in per-block extent lists (sorted, merged) and are written back by
 * the flusher thread, by fsync, or when dirty memory passes dirty_max.  A
 * write-back sends each block's extents as one atomic RADOS op, all blocks
 * of a file in parallel, and only then journals the file's new size: data
 * before the metadata that exposes it.  An append is the exception: its
 * record flies with its data and names the object lengths its size needs,
 * which a replay checks (flush_early; FORMAT.md "Appends journaled with
 * their data").
 */
#include "fs/core/core_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "flocker/log.h"

/* A write of a whole FUSE request (1 MiB, conn->max_write) at a block's start
 * is taken for a sequential stream: the kernel cut a larger write-back there.
 * Smaller writes are most often whole small files (an untar writes each in
 * one request); a block-sized buffer for each of those held 4 MiB (2 MiB
 * huge pages resident) per file of a few hundred KiB while it was dirty. */
#define SEQ_HINT     (1024u << 10)
#define SEQ_CAP_MAX  (8u << 20) /* ... then its buffer is the whole block, up to this */
#define FLUSH_AGE_MS 1000	/* dirty data older than this is written back */

int64_t fl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void extents_free(struct fl_extent *e)
{
	while (e) {
		struct fl_extent *n = e->next;

		free(e->data);
		free(e);
		e = n;
	}
}

/* Memory an extent list holds: what dirty_max bounds (a buffer's capacity,
 * not just the bytes written into it). */
static uint64_t extents_mem(const struct fl_extent *e)
{
	uint64_t n = 0;

	for (; e; e = e->next)
		n += e->cap;
	return n;
}

static struct fl_dblock *block_find(struct fl_inode *ip, uint64_t index)
{
	struct fl_dblock *b;

	for (b = ip->blocks; b; b = b->next)
		if (b->index == index)
			return b;
	return NULL;
}

static struct fl_dblock *block_get(struct fl_inode *ip, uint64_t index)
{
	struct fl_dblock *b = block_find(ip, index);

	if (b)
		return b;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->index = index;
	b->next = ip->blocks;
	ip->blocks = b;
	return b;
}

/* Does ip have dirty data in a block its map does not name? */
static bool dirty_unmapped(const struct fl_inode *ip)
{
	const struct fl_dblock *b;

	for (b = ip->blocks; b; b = b->next)
		if (b->dirty && !fl_bmap_has(&ip->r, b->index))
			return true;
	return false;
}

/* Adds [off, off+len) to a block's dirty extents; returns the bytes newly
 * covered, and in *mem how much the buffers' memory grew. */
static int64_t extent_insert(struct fl_dblock *b, uint32_t off, const char *src, uint32_t len,
			     uint32_t bsize, int64_t *mem)
{
	struct fl_extent **pp = &b->dirty, *first, *last, *e, *n;
	uint32_t end = off + len, mstart, mend, old = 0;
	uint64_t oldmem = 0;
	char *buf;

	while (*pp && (*pp)->off + (*pp)->len < off)
		pp = &(*pp)->next;
	first = *pp;
	if (!first || first->off > end) {
		/* a large write at the start of a block is likely a sequential
		 * stream: room for the whole block at once, so that the next
		 * writes append in place instead of copying at every realloc */
		uint32_t cap = off == 0 && len >= SEQ_HINT && bsize <= SEQ_CAP_MAX ? bsize : len;

		n = malloc(sizeof(*n));
		if (!n)
			return -ENOMEM;
		n->data = malloc(cap);
		if (!n->data) {
			free(n);
			return -ENOMEM;
		}
		memcpy(n->data, src, len);
		n->off = off;
		n->len = len;
		n->cap = cap;
		n->next = first;
		*pp = n;
		*mem = cap;
		return len;
	}
	last = first;
	while (last->next && last->next->off <= end)
		last = last->next;
	mstart = first->off < off ? first->off : off;
	mend = last->off + last->len > end ? last->off + last->len : end;
	if (first == last && first->off <= off) {
		uint32_t need = mend - first->off, had = first->len;

		if (need > first->cap) {
			uint32_t ncap = first->cap * 2 > need ? first->cap * 2 : need;

			if (ncap > bsize)
				ncap = bsize < need ? need : bsize;
			buf = realloc(first->data, ncap);
			if (!buf)
				return -ENOMEM;
			*mem = (int64_t)ncap - first->cap;
			first->data = buf;
			first->cap = ncap;
		} else {
			*mem = 0;
		}
		memcpy(first->data + (off - first->off), src, len);
		first->len = need;
		return (int64_t)need - had;
	}
	buf = malloc(mend - mstart);
	n = malloc(sizeof(*n));
	if (!buf || !n) {
		free(buf);
		free(n);
		return -ENOMEM;
	}
	for (e = first;; e = e->next) {
		memcpy(buf + (e->off - mstart), e->data, e->len);
		old += e->len;
		oldmem += e->cap;
		if (e == last)
			break;
	}
	memcpy(buf + (off - mstart), src, len);
	n->off = mstart;
	n->len = n->cap = mend - mstart;
	n->data = buf;
	n->next = last->next;
	last->next = NULL;
	extents_free(first);
	*pp = n;
	*mem = (int64_t)n->cap - (int64_t)oldmem;
	return (int64_t)(mend - mstart) - old;
}

/* Drops extent bytes at and beyond boundary; returns the bytes dropped. */
static uint64_t extents_cut(struct fl_extent **head, uint32_t boundary)
{
	struct fl_extent **pp = head;
	uint64_t dropped = 0;

	while (*pp && (*pp)->off + (*pp)->len <= boundary)
		pp = &(*pp)->next;
	if (*pp && (*pp)->off < boundary) {
		dropped += (*pp)->off + (*pp)->len - boundary;
		(*pp)->len = boundary - (*pp)->off;
		pp = &(*pp)->next;
	}
	while (*pp) {
		struct fl_extent *e = *pp;

		dropped += e->len;
		*pp = e->next;
		free(e->data);
		free(e);
	}
	return dropped;
}

/* Drops extent bytes inside [lo, hi); returns the bytes dropped. */
static int64_t extents_hole(struct fl_extent **head, uint32_t lo, uint32_t hi)
{
	struct fl_extent **pp = head;
	int64_t dropped = 0;

	while (*pp) {
		struct fl_extent *e = *pp;
		uint32_t eend = e->off + e->len;

		if (eend <= lo || e->off >= hi) {
			pp = &e->next;
			continue;
		}
		if (e->off >= lo && eend <= hi) {
			dropped += e->len;
			*pp = e->next;
			free(e->data);
			free(e);
			continue;
		}
		if (e->off < lo && eend > hi) {
			/* split in two */
			struct fl_extent *t = malloc(sizeof(*t));

			if (!t)
				return -ENOMEM;
			t->len = t->cap = eend - hi;
			t->data = malloc(t->len);
			if (!t->data) {
				free(t);
				return -ENOMEM;
			}
			memcpy(t->data, e->data + (hi - e->off), t->len);
			t->off = hi;
			t->next = e->next;
			e->next = t;
			dropped += hi - lo;
			e->len = lo - e->off;
			pp = &t->next;
			continue;
		}
		if (e->off < lo) {
			dropped += eend - lo;
			e->len = lo - e->off;
		} else {
			uint32_t cut = hi - e->off;

			dropped += cut;
			memmove(e->data, e->data + cut, e->len - cut);
			e->off = hi;
			e->len -= cut;
		}
		pp = &e->next;
	}
	return dropped;
}

static void overlay(const struct fl_extent *e, uint64_t boff, char *dst, uint64_t dlen)
{
	for (; e; e = e->next) {
		uint64_t s = e->off > boff ? e->off : boff;
		uint64_t t = e->off + e->len < boff + dlen ? e->off + e->len : boff + dlen;

		if (s < t)
			memcpy(dst + (s - boff), e->data + (s - e->off), t - s);
	}
}

/* End of the furthest dirty byte of a file, 0 if none. */
static uint64_t dirty_end(const struct fl_inode *ip, uint64_t bs)
{
	const struct fl_dblock *b;
	uint64_t end = 0;

	for (b = ip->blocks; b; b = b->next) {
		const struct fl_extent *e = b->dirty;

		if (!e)
			continue;
		while (e->next)
			e = e->next;
		if (b->index * bs + e->off + e->len > end)
			end = b->index * bs + e->off + e->len;
	}
	return end;
}

static void dlist_add(struct fl_core *c, struct fl_inode *ip)
{
	if (ip->on_dlist)
		return;
	ip->on_dlist = true;
	ip->dnext = NULL;
	ip->dprev = c->dirty_tail;
	if (c->dirty_tail)
		c->dirty_tail->dnext = ip;
	else
		c->dirty_inodes = ip;
	c->dirty_tail = ip;
	ip->dirty_since_ms = fl_now_ms();
}

void fl_data_touch(struct fl_core *c, struct fl_inode *ip)
{
	dlist_add(c, ip);
}

static void dlist_remove(struct fl_core *c, struct fl_inode *ip)
{
	if (!ip->on_dlist)
		return;
	if (ip->dprev)
		ip->dprev->dnext = ip->dnext;
	else
		c->dirty_inodes = ip->dnext;
	if (ip->dnext)
		ip->dnext->dprev = ip->dprev;
	else
		c->dirty_tail = ip->dprev;
	ip->on_dlist = false;
	ip->dnext = ip->dprev = NULL;
}

/* Dirty buffers left memory: writers waiting for room may go on. */
static void dirty_sub(struct fl_core *c, uint64_t n)
{
	c->dirty_mem -= n;
	if (c->space_waiters)
		pthread_cond_broadcast(&c->space_cond);
}

static void wait_flush(struct fl_core *c, struct fl_inode *ip)
{
	while (ip->flushing)
		pthread_cond_wait(&c->cond, &c->lock);
}

void fl_data_wait_flush(struct fl_core *c, struct fl_inode *ip)
{
	wait_flush(c, ip);
}

/* Can block idx of ip have no object?  Its map does not name it, and no
 * listing may add objects to the map: none is pending for the file (a
 * read-write mount lists the files of the orphan list when it starts; a
 * read-only one never does, and their maps may miss objects written after a
 * crash-safe mark, see FORMAT.md "bmap"). */
static bool block_absent(const struct fl_core *c, const struct fl_inode *ip, uint64_t idx)
{
	return !c->o.ro && S_ISREG(ip->r.mode) && ip->r.has_bmap && !ip->scan_trim &&
	       !fl_bmap_has(&ip->r, idx);
}

/* Is every block of [off, off + len) absent (len > 0)? */
static bool range_absent(const struct fl_core *c, const struct fl_inode *ip, uint64_t off,
			 uint64_t len)
{
	uint64_t idx, last = (off + len - 1) / c->bsize;

	for (idx = off / c->bsize; idx <= last; idx++)
		if (!block_absent(c, ip, idx))
			return false;
	return true;
}

ssize_t fl_data_read(struct fl_core *c, struct fl_inode *ip, uint64_t off, size_t len, void *buf)
{
	uint64_t bs = c->bsize, seq, pos;
	char *out = buf;
	int tries = 0;

again:
	if (off >= ip->r.size)
		return 0;
	if (len > ip->r.size - off)
		len = ip->r.size - off;
	seq = ip->dseq;
	if ((len + bs - 1) / bs <= 64 && range_absent(c, ip, off, len)) {
		/* a hole the map knows of: zeros, without asking RADOS */
		memset(out, 0, len);
		goto served;
	}
	switch (tries < 16 ? fl_ra_read(c, ip, off, len, out) : 0) {
	case 1:
		goto served;
	case 2:
		tries++;
		goto again;
	}
	{
		struct fl_batch *b;
		ssize_t got[64];
		bool absent[64];
		size_t nparts = 0;
		int ret;

		/* the map as it is now, under the lock: an object that appears
		 * meanwhile lands with ip->dseq bumped, and the read starts over */
		for (pos = off; pos < off + len && nparts < 64; nparts++) {
			uint64_t boff = pos % bs;

			absent[nparts] = block_absent(c, ip, pos / bs);
			pos += bs - boff < off + len - pos ? bs - boff : off + len - pos;
		}
		nparts = 0;
		pthread_mutex_unlock(&c->lock);
		b = fl_batch_new(c->st);
		if (!b) {
			pthread_mutex_lock(&c->lock);
			return -ENOMEM;
		}
		for (pos = off; pos < off + len && nparts < 64; nparts++) {
			uint64_t idx = pos / bs, boff = pos % bs;
			uint64_t n = bs - boff < off + len - pos ? bs - boff : off + len - pos;
			char oid[FL_OID_LEN];

			got[nparts] = 0;
			if (!absent[nparts]) {
				fl_oid_data(oid, ip->r.ino, idx);
				b->ops->read(b, oid, boff, n, out + (pos - off), &got[nparts]);
			}
			pos += n;
		}
		len = pos - off; /* at most 64 blocks per call */
		ret = fl_batch_wait(b);
		pthread_mutex_lock(&c->lock);
		if (ret) {
			fl_err("cannot read data of inode %" PRIu64 ": %s", ip->r.ino,
			       strerror(-ret));
			return ret == -ENOENT ? -EIO : ret;
		}
		/* zero what the objects did not have */
		for (pos = off, nparts = 0; pos < off + len; nparts++) {
			uint64_t boff = pos % bs;
			uint64_t n = bs - boff < off + len - pos ? bs - boff : off + len - pos;

			if (got[nparts] < (ssize_t)n)
				memset(out + (pos - off) + (got[nparts] > 0 ? got[nparts] : 0), 0,
				       n - (uint64_t)(got[nparts] > 0 ? got[nparts] : 0));
			pos += n;
		}
	}
served:
	if (ip->dseq != seq && tries++ < 16)
		goto again;
	if (off + len > ip->r.size)
		len = off < ip->r.size ? ip->r.size - off : 0;
	for (pos = off; pos < off + len;) {
		uint64_t idx = pos / bs, boff = pos % bs;
		uint64_t n = bs - boff < off + len - pos ? bs - boff : off + len - pos;
		struct fl_dblock *blk = block_find(ip, idx);

		if (blk) {
			overlay(blk->flying, boff, out + (pos - off), n);
			overlay(blk->dirty, boff, out + (pos - off), n);
		}
		pos += n;
	}
	return (ssize_t)len;
}

ssize_t fl_data_read_ref(struct fl_core *c, struct fl_inode *ip, uint64_t off, size_t len,
			 void *buf, const void **data, void **ref)
{
	int tries;

	*ref = NULL;
	*data = buf;
	for (tries = 0; tries < 16; tries++) {
		if (off >= ip->r.size)
			return 0;
		if (len > ip->r.size - off)
			len = ip->r.size - off;
		if (!len || block_find(ip, off / c->bsize) ||
		    (off + len - 1) / c->bsize != off / c->bsize ||
		    block_absent(c, ip, off / c->bsize))
			break; /* dirty data to overlay, two objects, or a hole: copy */
		switch (fl_ra_read_ref(c, ip, off, len, data, ref)) {
		case 1:
			return (ssize_t)len;
		case 2:
			continue;
		}
		break;
	}
	*data = buf;
	return fl_data_read(c, ip, off, len, buf);
}

ssize_t fl_data_write(struct fl_core *c, struct fl_inode *ip, uint64_t off, const void *buf,
		      size_t len)
{
	uint64_t bs = c->bsize, pos, end = off + len;
	const char *src = buf;
	int ret;

	if (!S_ISREG(ip->r.mode))
		return -EINVAL;
	if (off >= FL_FILE_MAX || end < off)
		return -EFBIG;
	if (end > FL_FILE_MAX) {
		end = FL_FILE_MAX; /* a short write up to the largest size, as Linux does */
		len = (size_t)(end - off);
	}
	if (!len)
		return 0;
	{
		/* the blocks it makes count against the size limit, not the size */
		uint64_t u = fl_file_used(c, ip, end > ip->r.size ? end : ip->r.size, off / bs,
					  (end - 1) / bs + 1);

		ret = fl_core_space_for(c, u > ip->used ? u - ip->used : 0);
		if (ret)
			return ret;
	}
	if (end > ip->r.size && ip->scan_trim) {
		ret = fl_core_trim_stale(c, ip); /* a hole must read as zeros */
		if (ret)
			return ret;
	}
	/* Out of room: wake the flusher once and sleep until a write-back frees
	 * some.  Writers wait apart from everything else on c->cond, so that the
	 * many broadcasts there (commits, flushes) do not wake them all, nor
	 * they one another (timed: a volume that fails wakes nobody). */
	while (c->dirty_mem + len > c->o.dirty_max && !c->error) {
		if (!c->flush_now) {
			c->flush_now = true;
			pthread_cond_broadcast(&c->cond);
		}
		c->space_waiters++;
		fl_core_wait_ms(c, &c->space_cond, 100);
		c->space_waiters--;
	}
	if (c->error)
		return -EIO;
	for (pos = off; pos < end;) {
		uint64_t idx = pos / bs, boff = pos % bs;
		uint64_t n = bs - boff < end - pos ? bs - boff : end - pos;
		struct fl_dblock *b = block_get(ip, idx);
		int64_t added = -ENOMEM, mem = 0;

		if (b)
			added = extent_insert(b, (uint32_t)boff, src + (pos - off), (uint32_t)n,
					      (uint32_t)bs, &mem);
		if (added < 0)
			break; /* out of memory: what was added is dirty, and said so */
		ip->dirty_bytes += (uint64_t)added;
		c->dirty_mem += (uint64_t)mem;
		pos += n;
		if (pos > ip->r.size)
			ip->r.size = pos;
	}
	fl_core_reaccount(c, ip);
	if (pos == off)
		return -ENOMEM;
	clock_gettime(CLOCK_REALTIME, &ip->r.mtime);
	ip->r.ctime = ip->r.mtime;
	ip->attr_dirty = true;
	dlist_add(c, ip);
	/* Half the room used: start a write-back now, so that one half flies
	 * while writers fill the other.  Left to its 100 ms round, the flusher
	 * would find the room full, take all of it and leave the writers
	 * waiting for the whole batch (write and send would alternate). */
	if (c->dirty_mem > c->o.dirty_max / 2 && !c->flush_now) {
		c->flush_now = true;
		pthread_cond_broadcast(&c->cond);
	}
	return (ssize_t)(pos - off);
}

/* Out of memory while taking the dirty extents of ips[0..n) for a
 * write-back (the lock held throughout): gives them back, dirty as before. */
static void untake(struct fl_core *c, struct fl_inode **ips, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct fl_inode *ip = ips[i];
		struct fl_dblock *b;
		struct fl_extent *e;
		bool any = false;

		for (b = ip->blocks; b; b = b->next) {
			if (!b->flying)
				continue;
			b->dirty = b->flying; /* nothing was written since: dirty is empty */
			b->flying = NULL;
		}
		ip->dirty_bytes = 0;
		for (b = ip->blocks; b; b = b->next)
			for (e = b->dirty; e; e = e->next) {
				ip->dirty_bytes += e->len;
				any = true;
			}
		if (any)
			dlist_add(c, ip);
	}
}

/* One block's extents, ready to send. */
struct wb_op {
	char oid[FL_OID_LEN];
	uint64_t *offs;
	const void **bufs;
	size_t *lens, n;
	size_t owner;	/* the file: its index in wb.ips */
	uint64_t index; /* the block */
};

/* Commits t if adding `need` more ops would overflow it. */
static int txn_room(struct fl_core *c, struct fl_txn *t, uint32_t need, uint64_t *tid)
{
	int ret = 0;

	if (t->n + need > FL_JOPS_MAX) {
		ret = fl_txn_commit(c, t, tid);
		t->n = 0;
	}
	return ret;
}

/* One write-back of several files: what it took and what it sends. */
struct wb {
	struct fl_inode **ips;
	size_t n;
	uint64_t *target; /* the size each file had when its data was taken */
	uint64_t *ojsize; /* its journaled size then */
	bool *early;	  /* its record went out with its data (flush_early) */
	struct wb_op *ops;
	size_t nops, capops;
	uint64_t moved; /* buffer capacity taken off the dirty lists */
};

/* Data past the recorded size: put those files on the orphan list first,
 * so that a crash before their size is journaled trims what was written.
 * A file without the mark whose last record (a size raised by truncate or
 * fallocate, its unlink) is not durable yet waits for that record: data
 * below its new size but past the durable one would otherwise outlive a
 * crash with nothing to trim it.  Waiting drops the lock and writers may
 * add data meanwhile, so look again until nothing needs a wait. */
static int flush_mark(struct fl_core *c, struct fl_inode **ips, size_t n)
{
	struct fl_txn t = {.n = 0};
	uint64_t mtid = 0;
	size_t i;
	int ret = 0;

	for (;;) {
		bool need_wait = false;

		for (i = 0; i < n && !ret; i++) {
			struct fl_inode *ip = ips[i];

			/* a linked file's record matters here only when it set the
			 * size; an unlinked one's when it unlinked it (no mark below) */
			uint64_t need = ip->r.nlink ? ip->dtid : ip->jtid;

			if (!ip->trim_mark && ip->dirty_bytes && need > c->committed_tid &&
			    need > mtid) {
				mtid = need;
				need_wait = true;
			}
			/* blocks outside the block map are new objects the
			 * durable map does not name: the mark covers them too
			 * (the mount lists a marked file's objects) */
			if (ip->trim_mark || !ip->r.nlink ||
			    (dirty_end(ip, c->bsize) <= ip->jsize && !dirty_unmapped(ip)))
				continue;
			ret = txn_room(c, &t, 1, &mtid);
			if (ret)
				break;
			fl_txn_simple(&t, FL_JOP_ORPHAN_ADD, ip->r.ino);
			ip->trim_mark = true;
			fl_orph_note(c, ip->r.ino);
			need_wait = true;
		}
		if (!ret && t.n)
			ret = fl_txn_commit(c, &t, &mtid);
		t.n = 0;
		if (ret || !need_wait)
			break;
		ret = fl_journal_wait(c, mtid); /* drops the lock */
		if (ret)
			break;
	}
	return ret;
}

/* Moves block b's dirty extents to its flying list and describes them in o. */
static int flush_take_block(struct fl_inode *ip, struct fl_dblock *b, struct wb_op *o,
			    uint64_t *moved)
{
	struct fl_extent *e;
	size_t k;

	memset(o, 0, sizeof(*o));
	for (e = b->dirty; e; e = e->next)
		o->n++;
	o->offs = malloc(o->n * sizeof(*o->offs));
	o->bufs = malloc(o->n * sizeof(*o->bufs));
	o->lens = malloc(o->n * sizeof(*o->lens));
	if (!o->offs || !o->bufs || !o->lens)
		goto out_nomem;
	if (!fl_bmap_has(&ip->r, b->index)) {
		/* the object may exist from now on: the map names it */
		fl_map_save(ip);
		if (fl_bmap_add(&ip->r, b->index))
			goto out_nomem;
		ip->map_dirty = true;
	}
	b->flying = b->dirty;
	b->dirty = NULL;
	for (e = b->flying, k = 0; e; e = e->next, k++) {
		o->offs[k] = e->off;
		o->bufs[k] = e->data;
		o->lens[k] = e->len;
		*moved += e->cap;
	}
	fl_oid_data(o->oid, ip->r.ino, b->index);
	return 0;
out_nomem:
	free(o->offs);
	free(o->bufs);
	free(o->lens);
	return -ENOMEM;
}

/* Takes every dirty extent of every file as it is now. */
static int flush_take(struct fl_core *c, struct wb *w, bool datasync)
{
	size_t i;
	int ret;

	for (i = 0; i < w->n; i++) {
		struct fl_inode *ip = w->ips[i];
		struct fl_dblock *b;

		w->target[i] = ip->r.size;
		w->ojsize[i] = ip->jsize;
		for (b = ip->blocks; b; b = b->next) {
			if (!b->dirty)
				continue;
			if (w->nops == w->capops) {
				size_t ncap = w->capops ? w->capops * 2 : 64;
				struct wb_op *no = realloc(w->ops, ncap * sizeof(*no));

				if (!no) {
					untake(c, w->ips, i + 1);
					return -ENOMEM;
				}
				w->ops = no;
				w->capops = ncap;
			}
			ret = flush_take_block(ip, b, &w->ops[w->nops], &w->moved);
			if (ret) {
				untake(c, w->ips, i + 1);
				return ret;
			}
			w->ops[w->nops].owner = i;
			w->ops[w->nops].index = b->index;
			w->nops++;
		}
		ip->dirty_bytes = 0;
		if (!datasync)
			dlist_remove(c, ip); /* datasync: stays, for its times */
		fl_core_reaccount(c, ip);
	}
	return 0;
}

/* Sends what flush_take took and waits (without the lock: librados copies
 * every buffer), then frees the flying extents and takes the new sizes. */
static int flush_send(struct fl_core *c, struct wb *w)
{
	size_t i, k;
	int ret = 0;

	pthread_mutex_unlock(&c->lock);
	if (w->nops) {
		struct fl_batch *batch = fl_batch_new(c->st);

		if (!batch) {
			ret = -ENOMEM;
		} else {
			for (k = 0; k < w->nops; k++)
				batch->ops->writev(batch, w->ops[k].oid, w->ops[k].offs,
						   w->ops[k].bufs, w->ops[k].lens, w->ops[k].n);
			ret = fl_batch_wait(batch);
		}
	}
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < w->n; i++) {
		struct fl_inode *ip = w->ips[i];
		struct fl_dblock *b, **pp;

		for (pp = &ip->blocks; *pp;) {
			b = *pp;
			extents_free(b->flying);
			b->flying = NULL;
			if (!b->dirty) {
				*pp = b->next;
				free(b);
			} else {
				pp = &b->next;
			}
		}
		ip->dseq++;
		if (w->early[i]) {
			/* the append landed (or never will): later records need
			 * nothing more than their size */
			free(ip->deps);
			ip->deps = NULL;
			ip->ndeps = 0;
			if (--c->nfast == 0)
				pthread_cond_broadcast(&c->cond); /* a checkpoint may wait */
			if (ret && !c->error) {
				fl_err("cannot write back an append to inode %" PRIu64
				       " whose size is journaled: %s; the volume goes read-only "
				       "(a replay cuts the size back to the data)",
				       ip->r.ino, strerror(-ret));
				c->error = -EIO;
			}
		}
		if (ret) {
			fl_werr_set(c, ip, ret);
		} else {
			uint64_t nj = w->target[i] < ip->r.size ? w->target[i] : ip->r.size;

			fl_debug("inode %" PRIu64 ": data written back up to %" PRIu64
				 " (size %" PRIu64 ", journaled %" PRIu64 ")",
				 ip->r.ino, w->target[i], ip->r.size, ip->jsize);
			if (nj > ip->jsize) {
				/* a new size to journal, even if an earlier write-back
				 * already journaled "changed by writes" with an older one */
				fl_set_jsize(c, ip, nj);
				ip->attr_dirty = true;
			}
		}
	}
	dirty_sub(c, w->moved);
	if (ret) {
		fl_err("cannot write back data of %zu files: %s", w->n, strerror(-ret));
		if (ret == -ESHUTDOWN) { /* Ceph's EBLOCKLISTED */
			fl_err("this client was fenced off the cluster: the volume goes read-only");
			c->error = -EIO;
			ret = -EIO; /* what the program sees, as for every later call */
		}
	}
	return ret;
}

/* The records of one write-back transaction stay below this many bytes
 * (jtxn framing included, a few bytes an op): block maps of thousands of
 * runs (up to 74 KiB each) and large xattrs would otherwise make a
 * transaction of 64 records pass FL_REC_MAX, which cannot be journaled. */
#define WB_TXN_BYTES (FL_REC_MAX - (64u << 10))

/* Journals the sizes the data now backs, and the orphan marks that can go. */
static int flush_journal(struct fl_core *c, const struct wb *w, bool datasync, uint64_t *tid)
{
	struct fl_txn t = {.n = 0};
	size_t i, bytes = 0;
	int ret = 0;

	for (i = 0; i < w->n && !ret; i++) {
		struct fl_inode *ip = w->ips[i];
		bool put = ip->attr_dirty || ip->jsize != ip->r.size || ip->map_dirty;
		bool unmark = ip->trim_mark && !ip->scan_trim && !ip->nopen && ip->r.nlink &&
			      ip->jsize == ip->r.size && !dirty_end(ip, c->bsize);
		size_t need = put ? fl_inode_enc_max(&ip->r) : 0; /* its record's bytes */

		if (datasync && ip->jsize <= w->ojsize[i])
			continue; /* the size it had still covers the data */
		if (t.n && bytes + need > WB_TXN_BYTES) {
			ret = fl_txn_commit(c, &t, tid);
			t.n = 0;
		}
		if (!ret)
			ret = txn_room(c, &t, (uint32_t)put + (uint32_t)unmark, tid);
		if (ret)
			break;
		if (t.n == 0)
			bytes = 0;
		bytes += need;
		if (put) {
			ip->attr_dirty = ip->map_dirty = false;
			fl_txn_inode(&t, ip);
			fl_ino_ck(c, ip);
		}
		if (unmark) {
			ip->trim_mark = false;
			fl_txn_simple(&t, FL_JOP_ORPHAN_DEL, ip->r.ino);
			fl_orph_note(c, ip->r.ino);
		}
	}
	if (!ret && t.n)
		ret = fl_txn_commit(c, &t, tid);
	return ret;
}

/*
 * An append whose record can fly with its data.  Every byte taken lies past
 * the journaled size (so no object holds bytes there: the mark below trims
 * what a crash left, and a write-back that failed, which might have left
 * some, keeps the file off this path for the mount), the orphan mark is
 * durable (a crash after the data but before the record trims it), and the
 * file has no earlier append in flight.
 */
static bool append_only(const struct fl_core *c, const struct wb *w, size_t i, uint32_t *nobj)
{
	const struct fl_inode *ip = w->ips[i];
	uint32_t n = 0;
	size_t k;

	if (c->ckpt_waiting || !ip->trim_mark || ip->mark_tid > c->committed_tid || ip->scan_trim ||
	    ip->werr || !ip->r.nlink || ip->ndeps || w->target[i] <= w->ojsize[i] ||
	    w->ojsize[i] != ip->jsize)
		return false;
	for (k = 0; k < w->nops; k++) {
		const struct wb_op *o = &w->ops[k];

		if (o->owner != i)
			continue;
		if (o->index * c->bsize + o->offs[0] < w->ojsize[i])
			return false; /* an overwrite: data first, then its record */
		n++;
	}
	*nobj = n;
	return n && n <= FL_JDEPS_MAX;
}

/*
 * The records of the appends taken, journaled before their data is sent, so
 * that the data write and the journal append fly together: an fsync of an
 * append costs one round trip, not two.  Each record names, for every object
 * the append writes, the length the object has once the write landed, and
 * the size before it; a replay that finds an object shorter cuts the size
 * back (journal.c rp_check_deps).  Until the data has landed, every record of
 * the file carries the same (fl_txn_commit), and no checkpoint runs
 * (fl_checkpoint): the inode table has no room to say it.  One transaction;
 * files that do not fit in it go the usual way.
 */
static int flush_early(struct fl_core *c, struct wb *w, uint64_t *tid)
{
	struct fl_txn t = {.n = 0};
	size_t i, k, bytes = 0;
	int ret;

	if (c->error)
		return -EIO;
	fl_journal_room(c); /* so that the commit below keeps the lock */
	if (c->error)
		return -EIO;
	for (i = 0; i < w->n && t.n < FL_JOPS_MAX; i++) {
		struct fl_inode *ip = w->ips[i];
		uint32_t nobj = 0, m = 0;
		size_t need;

		if (!append_only(c, w, i, &nobj))
			continue;
		need = fl_inode_enc_max(&ip->r) + 32 + (size_t)nobj * 20;
		if (t.n && bytes + need > WB_TXN_BYTES)
			break;
		ip->deps = calloc(nobj, sizeof(*ip->deps));
		if (!ip->deps)
			break; /* the usual way, then */
		for (k = 0; k < w->nops; k++) {
			const struct wb_op *o = &w->ops[k];

			if (o->owner != i)
				continue;
			ip->deps[m].index = o->index;
			ip->deps[m].len = o->offs[o->n - 1] + o->lens[o->n - 1];
			m++;
		}
		ip->ndeps = m;
		ip->grow_from = w->ojsize[i];
		w->early[i] = true;
		c->nfast++;
		bytes += need;
		fl_debug("inode %" PRIu64 ": append from %" PRIu64 " to %" PRIu64
			 " journaled with its data (%u objects)",
			 ip->r.ino, w->ojsize[i], w->target[i], m);
		fl_set_jsize(c, ip, w->target[i]);
		ip->attr_dirty = ip->map_dirty = false;
		fl_txn_inode(&t, ip);
		fl_ino_ck(c, ip);
	}
	if (!t.n)
		return 0;
	ret = fl_txn_commit(c, &t, tid);
	if (tid) {
		/* someone waits (fsync, syncfs): the record goes now, beside
		 * the data, which leaves as soon as the lock is dropped; the
		 * flusher's records wait for the group commit as before */
		c->commit_now = true;
		pthread_cond_broadcast(&c->cond);
	}
	return ret;
}

/* With datasync, an inode's record is journaled only when this write-back
 * raised its journaled size; otherwise it stays on the dirty list with its
 * times (and orphan mark) for the flusher's next round. */
static int flush_many(struct fl_core *c, struct fl_inode **ips, size_t n, uint64_t *tid,
		      bool datasync)
{
	struct wb w = {.ips = ips};
	size_t i, k;
	int ret;

	if (c->error)
		return -EIO;
	w.target = calloc(n ? n : 1, sizeof(*w.target));
	w.ojsize = calloc(n ? n : 1, sizeof(*w.ojsize));
	w.early = calloc(n ? n : 1, sizeof(*w.early));
	if (!w.target || !w.ojsize || !w.early) {
		free(w.target);
		free(w.ojsize);
		free(w.early);
		return -ENOMEM;
	}
	/* ours: others wait for these inodes' flush to end */
	for (i = 0, k = 0; i < n; i++)
		if (!ips[i]->flushing) {
			ips[i]->flushing = true;
			ips[k++] = ips[i];
		}
	w.n = k;
	ret = flush_mark(c, ips, w.n);
	if (!ret)
		ret = flush_take(c, &w, datasync);
	if (!ret) {
		/* what was taken is sent (and freed) even if the volume broke */
		int r = flush_early(c, &w, tid);

		ret = flush_send(c, &w);
		if (!ret)
			ret = r;
	}
	if (!ret)
		ret = flush_journal(c, &w, datasync, tid);
	for (i = 0; i < w.n; i++)
		ips[i]->flushing = false;
	pthread_cond_broadcast(&c->cond);
	for (k = 0; k < w.nops; k++) {
		free(w.ops[k].offs);
		free(w.ops[k].bufs);
		free(w.ops[k].lens);
	}
	free(w.ops);
	free(w.target);
	free(w.ojsize);
	free(w.early);
	return ret;
}

int fl_data_flush_many(struct fl_core *c, struct fl_inode **ips, size_t n, uint64_t *tid)
{
	return flush_many(c, ips, n, tid, false);
}

int fl_data_flush(struct fl_core *c, struct fl_inode *ip, uint64_t *tid)
{
	struct fl_inode *one[1] = {ip};

	wait_flush(c, ip);
	return flush_many(c, one, 1, tid, false);
}

int fl_data_flush_data(struct fl_core *c, struct fl_inode *ip, uint64_t *tid)
{
	struct fl_inode *one[1] = {ip};

	wait_flush(c, ip);
	return flush_many(c, one, 1, tid, true);
}

/* Up to max inodes from the head (oldest) of the dirty list, not being flushed;
 * with all false, only those dirty for FLUSH_AGE_MS. */
static size_t pick(struct fl_core *c, struct fl_inode **out, size_t max, bool all)
{
	int64_t now = fl_now_ms();
	struct fl_inode *ip;
	size_t n = 0;

	for (ip = c->dirty_inodes; ip && n < max; ip = ip->dnext) {
		if (!all && now - ip->dirty_since_ms < FLUSH_AGE_MS)
			break; /* the list is oldest first */
		if (!ip->flushing)
			out[n++] = ip;
	}
	return n;
}

#define FLUSH_BATCH 64

int fl_data_flush_all(struct fl_core *c, uint64_t *tid)
{
	struct fl_inode *batch[FLUSH_BATCH];
	int ret = 0, r;
	uint64_t i;

	for (;;) {
		size_t n = pick(c, batch, FLUSH_BATCH, true);

		if (!n) {
			if (!c->dirty_inodes)
				break;
			/* only inodes another thread is flushing are left: wait for it */
			pthread_cond_wait(&c->cond, &c->lock);
			continue;
		}
		r = fl_data_flush_many(c, batch, n, tid);
		if (r && !ret)
			ret = r;
		if (r) {
			size_t k;

			for (k = 0; k < n; k++)
				dlist_remove(c, batch[k]); /* do not spin on failing inodes */
		}
	}
	/* flushes started by others must end too */
	for (i = 0; i <= c->imask; i++) {
		struct fl_inode *ip;

		for (ip = c->itab[i]; ip; ip = ip->hnext)
			if (ip->flushing)
				wait_flush(c, ip);
	}
	return ret;
}

/* Adds a remove for every object of ino in runs to batch bt. */
static void remove_runs(struct fl_batch *bt, uint64_t ino, const struct fl_brange *runs, uint32_t n)
{
	char oid[FL_OID_LEN];
	uint32_t k;

	for (k = 0; k < n; k++) {
		uint64_t i, last = runs[k].first + runs[k].count;

		for (i = runs[k].first; i < last; i++) {
			fl_oid_data(oid, ino, i);
			bt->ops->remove(bt, oid);
		}
	}
}

int fl_data_remove_runs(struct fl_core *c, uint64_t ino, const struct fl_brange *runs, uint32_t n)
{
	struct fl_batch *b;

	if (!n)
		return 0;
	b = fl_batch_new(c->st);
	if (!b)
		return -ENOMEM;
	remove_runs(b, ino, runs, n);
	return fl_batch_wait(b);
}

int fl_data_truncate(struct fl_core *c, struct fl_inode *ip, uint64_t oldsize, uint64_t newsize)
{
	uint64_t bs = c->bsize, top, ino = ip->r.ino, first;
	struct fl_brange *runs = NULL;
	struct fl_dblock *b, **pp;
	uint32_t nruns = 0;
	bool cut_tail;
	int ret;

	wait_flush(c, ip);
	if (newsize > oldsize)
		return fl_data_flush(c, ip, NULL);
	/* bytes below the new end must reach RADOS before the size that shows them */
	if (dirty_end(ip, bs) > 0) {
		ret = fl_data_flush(c, ip, NULL);
		if (ret)
			return ret;
		if (ip->r.size > oldsize)
			oldsize = ip->r.size;
	}
	/* drop cached bytes beyond the new end */
	for (pp = &ip->blocks; *pp;) {
		uint64_t dropped, mem;

		b = *pp;
		mem = extents_mem(b->dirty);
		if (b->index * bs >= newsize) {
			dropped = extents_cut(&b->dirty, 0);
			*pp = b->next;
			free(b);
		} else {
			uint64_t lim = newsize - b->index * bs;

			dropped = lim < bs ? extents_cut(&b->dirty, (uint32_t)lim) : 0;
			mem -= extents_mem(b->dirty); /* a shortened buffer keeps its size */
			pp = &b->next;
		}
		ip->dirty_bytes -= dropped;
		dirty_sub(c, mem);
	}
	top = oldsize > ip->jsize ? oldsize : ip->jsize;
	if (!top)
		return 0;
	/* only the objects the block map names: a sparse file costs what it holds */
	first = (newsize + bs - 1) / bs;
	cut_tail = newsize % bs && fl_bmap_has(&ip->r, newsize / bs);
	ret = fl_bmap_copy_from(ip, first, &runs, &nruns);
	if (ret)
		return ret;
	if (!nruns && !cut_tail)
		return 0;
	fl_debug("inode %" PRIu64 ": trim objects from %" PRIu64 " up to %" PRIu64, ino, newsize,
		 top);
	ip->flushing = true; /* keeps readers and other flushes out of the objects */
	pthread_mutex_unlock(&c->lock);
	{
		struct fl_batch *bt = fl_batch_new(c->st);
		char oid[FL_OID_LEN];

		if (!bt) {
			ret = -ENOMEM;
		} else {
			if (cut_tail) {
				fl_oid_data(oid, ino, newsize / bs);
				bt->ops->truncate(bt, oid, newsize % bs);
			}
			remove_runs(bt, ino, runs, nruns);
			ret = fl_batch_wait(bt);
		}
	}
	free(runs);
	pthread_mutex_lock(&c->lock);
	fl_debug("inode %" PRIu64 ": trimmed to %" PRIu64 ": %d", ino, newsize, ret);
	if (!ret) {
		fl_map_save(ip);
		fl_bmap_cut(&ip->r, first);
		fl_core_reaccount(c, ip);
	}
	ip->flushing = false;
	ip->dseq++;
	pthread_cond_broadcast(&c->cond);
	if (ret)
		fl_err("cannot truncate data of inode %" PRIu64 ": %s", ino, strerror(-ret));
	return ret;
}

/* Zeros [boff, boff + n) of block idx when its object may exist. */
static void punch_part(struct fl_inode *ip, struct fl_batch *bt, uint64_t idx, uint64_t boff,
		       uint64_t n, bool mapped)
{
	char oid[FL_OID_LEN];

	if (!mapped)
		return;
	fl_oid_data(oid, ip->r.ino, idx);
	bt->ops->zero(bt, oid, boff, n);
}

int fl_data_punch(struct fl_core *c, struct fl_inode *ip, uint64_t off, uint64_t len)
{
	uint64_t bs = c->bsize, end = off + len, ino = ip->r.ino;
	/* whole blocks [ffirst, fend) go; the partial ones at either end are zeroed */
	uint64_t ffirst = (off + bs - 1) / bs, fend = end / bs;
	uint64_t hidx = off / bs, tidx = end / bs;
	bool head = off % bs != 0, tail = end % bs != 0 && (tidx != hidx || !head);
	bool hmap, tmap;
	struct fl_brange *runs = NULL;
	uint32_t nruns = 0, k;
	struct fl_txn t = {.n = 0};
	struct fl_batch *bt;
	struct fl_dblock *b;
	int ret;

	wait_flush(c, ip);
	/* dirty data in the range, by the blocks that have some */
	for (b = ip->blocks; b; b = b->next) {
		uint64_t lo, hi, mem;
		int64_t d;

		if (b->index < hidx || b->index > (end - 1) / bs)
			continue;
		lo = b->index == hidx ? off % bs : 0;
		hi = b->index == (end - 1) / bs ? end - b->index * bs : bs;
		mem = extents_mem(b->dirty);
		d = extents_hole(&b->dirty, (uint32_t)lo, (uint32_t)hi);
		/* a split allocates: count the memory after, then free before */
		c->dirty_mem += extents_mem(b->dirty);
		dirty_sub(c, mem);
		if (d < 0)
			return (int)d;
		ip->dirty_bytes -= (uint64_t)d;
	}
	/* objects: only those the block map names */
	hmap = head && fl_bmap_has(&ip->r, hidx);
	tmap = tail && fl_bmap_has(&ip->r, tidx);
	if (fend > ffirst) {
		ret = fl_bmap_copy_from(ip, ffirst, &runs, &nruns);
		if (ret)
			return ret;
		for (k = 0; k < nruns && runs[k].first < fend; k++)
			if (runs[k].first + runs[k].count > fend)
				runs[k].count = fend - runs[k].first;
		nruns = k;
	}
	ip->flushing = true;
	pthread_mutex_unlock(&c->lock);
	bt = fl_batch_new(c->st);
	if (!bt) {
		ret = -ENOMEM;
	} else {
		if (head && hidx == (end - 1) / bs)
			punch_part(ip, bt, hidx, off % bs, len, hmap); /* within one block */
		else if (head)
			punch_part(ip, bt, hidx, off % bs, bs - off % bs, hmap);
		if (tail)
			punch_part(ip, bt, tidx, 0, end % bs, tmap);
		remove_runs(bt, ino, runs, nruns);
		ret = fl_batch_wait(bt);
	}
	free(runs);
	pthread_mutex_lock(&c->lock);
	ip->flushing = false;
	ip->dseq++;
	pthread_cond_broadcast(&c->cond);
	if (ret)
		return ret;
	if (fend > ffirst) {
		fl_map_save(ip);
		fl_bmap_del(&ip->r, ffirst, fend - ffirst); /* kept whole when out of memory */
		fl_core_reaccount(c, ip);
	}
	clock_gettime(CLOCK_REALTIME, &ip->r.mtime);
	ip->r.ctime = ip->r.mtime;
	fl_txn_inode(&t, ip);
	fl_ino_ck(c, ip);
	return fl_txn_commit(c, &t, NULL);
}

void fl_data_drop(struct fl_core *c, struct fl_inode *ip)
{
	struct fl_dblock *b;

	fl_ra_drop(c, ip);
	wait_flush(c, ip);
	while ((b = ip->blocks)) {
		dirty_sub(c, extents_mem(b->dirty)); /* no flying after wait_flush */
		ip->blocks = b->next;
		extents_free(b->dirty);
		extents_free(b->flying);
		free(b);
	}
	ip->dirty_bytes = 0;
	dlist_remove(c, ip);
	pthread_cond_broadcast(&c->cond);
}

/* ---------- the flusher thread ---------- */

static void *flusher_thread(void *arg)
{
	struct fl_core *c = arg;

	pthread_mutex_lock(&c->lock);
	while (!c->flush_stop) {
		/* half the limit: one half in flight while writers fill the other */
		bool pressure = c->flush_now || c->dirty_mem > c->o.dirty_max / 2;
		struct fl_inode *batch[FLUSH_BATCH];
		size_t n = c->error ? 0 : pick(c, batch, FLUSH_BATCH, pressure);

		if (n) {
			fl_data_flush_many(c, batch, n, NULL);
			if (c->dirty_mem <= c->o.dirty_max / 2)
				c->flush_now = false;
			continue;
		}
		c->flush_now = false;
		fl_core_wait_ms(c, &c->cond, 100);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int fl_data_start(struct fl_core *c)
{
	return fl_core_worker_start(c, &c->flusher, flusher_thread, &c->flusher_started);
}

void fl_data_stop(struct fl_core *c)
{
	fl_core_worker_stop(c, c->flusher, &c->flush_stop, &c->flusher_started);
}
