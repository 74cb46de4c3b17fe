/*
 * flockerfs — the block map of a regular file: the sorted runs of data
 * objects that exist (see record.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flocker/record.h"

/* ------------------------------------------------------------------ */
/* The block map of a regular file (see record.h). */

/* The first run that ends above index (every run before it ends at or
 * below index): i->nbmap when there is none.  A binary search. */
static uint32_t bmap_find(const struct fl_inode_rec *i, uint64_t index)
{
	uint32_t lo = 0, hi = i->nbmap;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct fl_brange *r = &i->bmap[mid];

		if (index < r->first)
			hi = mid;
		else if (index - r->first >= r->count)
			lo = mid + 1; /* r ends at or below index */
		else
			return mid; /* index lies in r */
	}
	return lo;
}

bool fl_bmap_has(const struct fl_inode_rec *i, uint64_t index)
{
	uint32_t k = bmap_find(i, index);

	return k < i->nbmap && i->bmap[k].first <= index;
}

/* Joins run k with run k + 1 (over the gap between them). */
static void bmap_join(struct fl_inode_rec *i, uint32_t k)
{
	i->bmap[k].count = i->bmap[k + 1].first + i->bmap[k + 1].count - i->bmap[k].first;
	memmove(&i->bmap[k + 1], &i->bmap[k + 2], (i->nbmap - k - 2) * sizeof(*i->bmap));
	i->nbmap--;
}

int fl_bmap_add(struct fl_inode_rec *i, uint64_t index)
{
	uint32_t k;

	i->has_bmap = true;
	k = bmap_find(i, index);
	if (k < i->nbmap && i->bmap[k].first <= index)
		return 0; /* named already */
	/* k: the first run after index */
	if (k > 0 && i->bmap[k - 1].first + i->bmap[k - 1].count == index) {
		i->bmap[k - 1].count++;
		if (k < i->nbmap && i->bmap[k].first == index + 1)
			bmap_join(i, k - 1);
		return 0;
	}
	if (k < i->nbmap && i->bmap[k].first == index + 1) {
		i->bmap[k].first--;
		i->bmap[k].count++;
		return 0;
	}
	if (i->nbmap >= FL_BMAP_MAX) {
		/* one run too many: whichever names the fewest blocks that
		 * need not exist, a neighbour of index grown over the gap to it,
		 * or the two closest runs joined (then index placed) */
		uint64_t best = UINT64_MAX, left = UINT64_MAX, right = UINT64_MAX;
		uint32_t j, bj = 0;

		for (j = 0; j + 1 < i->nbmap; j++) {
			uint64_t gap = i->bmap[j + 1].first - (i->bmap[j].first + i->bmap[j].count);

			if (gap < best) {
				best = gap;
				bj = j;
			}
		}
		if (k > 0)
			left = index - (i->bmap[k - 1].first + i->bmap[k - 1].count);
		if (k < i->nbmap)
			right = i->bmap[k].first - index - 1;
		if (left <= best && left <= right) {
			i->bmap[k - 1].count = index + 1 - i->bmap[k - 1].first;
			return 0;
		}
		if (right <= best) {
			i->bmap[k].count += i->bmap[k].first - index;
			i->bmap[k].first = index;
			return 0;
		}
		bmap_join(i, bj);
		return fl_bmap_add(i, index); /* one run fewer now: no second join */
	}
	{
		struct fl_brange *n = realloc(i->bmap, (i->nbmap + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		i->bmap = n;
	}
	memmove(&i->bmap[k + 1], &i->bmap[k], (i->nbmap - k) * sizeof(*i->bmap));
	i->bmap[k].first = index;
	i->bmap[k].count = 1;
	i->nbmap++;
	return 0;
}

void fl_bmap_cut(struct fl_inode_rec *i, uint64_t first)
{
	while (i->nbmap) {
		struct fl_brange *r = &i->bmap[i->nbmap - 1];

		if (r->first >= first) {
			i->nbmap--;
		} else {
			if (r->first + r->count > first)
				r->count = first - r->first;
			break;
		}
	}
	if (!i->nbmap) {
		free(i->bmap);
		i->bmap = NULL;
	}
}

int fl_bmap_del(struct fl_inode_rec *i, uint64_t first, uint64_t count)
{
	uint64_t end = first + count, rend;
	uint32_t k, a, j;
	struct fl_brange *r;

	if (!count)
		return 0;
	if (end < first)
		end = UINT64_MAX;
	k = bmap_find(i, first); /* the first run that ends above first */
	if (k == i->nbmap || i->bmap[k].first >= end)
		return 0; /* no run reaches [first, end) */
	r = &i->bmap[k];
	rend = r->first + r->count;
	if (r->first < first && rend > end) {
		/* a hole in the middle of one run: one run more */
		struct fl_brange *n;

		if (i->nbmap >= FL_BMAP_MAX)
			return 0;
		n = realloc(i->bmap, (i->nbmap + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		i->bmap = n;
		r = &i->bmap[k];
		memmove(&i->bmap[k + 1], &i->bmap[k], (i->nbmap - k) * sizeof(*n));
		i->nbmap++;
		r->count = first - r->first;
		i->bmap[k + 1].first = end;
		i->bmap[k + 1].count = rend - end;
		return 0;
	}
	a = k;
	if (r->first < first) {
		r->count = first - r->first; /* its head stays */
		a = k + 1;
	}
	/* runs a..j-1 start inside [first, end); the last one may reach past it */
	for (j = a; j < i->nbmap && i->bmap[j].first < end; j++)
		;
	if (j > a && i->bmap[j - 1].first + i->bmap[j - 1].count > end) {
		r = &i->bmap[j - 1];
		r->count = r->first + r->count - end; /* its tail stays */
		r->first = end;
		j--;
	}
	memmove(&i->bmap[a], &i->bmap[j], (i->nbmap - j) * sizeof(*i->bmap));
	i->nbmap -= j - a;
	if (!i->nbmap) {
		free(i->bmap);
		i->bmap = NULL;
	}
	return 0;
}

uint64_t fl_bmap_blocks(const struct fl_inode_rec *i)
{
	uint64_t n = 0;
	uint32_t k;

	for (k = 0; k < i->nbmap; k++)
		n += i->bmap[k].count;
	return n;
}

uint64_t fl_block_used(uint64_t idx, uint64_t size, uint32_t bs)
{
	uint64_t start;

	if (!size || idx > (size - 1) / bs)
		return 0;
	start = idx * bs;
	return size - start >= bs ? bs : ((size - start) + 4095) & ~(uint64_t)4095;
}

uint64_t fl_bmap_used(const struct fl_inode_rec *i, uint64_t size, uint32_t bs)
{
	uint64_t used = 0, nblk, k;

	if (!size || !bs)
		return 0;
	nblk = (size - 1) / bs + 1; /* blocks below size */
	for (k = 0; k < i->nbmap; k++) {
		const struct fl_brange *r = &i->bmap[k];
		uint64_t end = r->first + r->count;

		if (r->first >= nblk)
			break;
		if (end >= nblk) {
			/* the last block below size may be partial */
			used += (nblk - 1 - r->first) * bs + fl_block_used(nblk - 1, size, bs);
			break;
		}
		used += r->count * bs;
	}
	return used;
}
