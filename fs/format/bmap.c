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

bool fl_bmap_has(const struct fl_inode_rec *i, uint64_t index)
{
	uint32_t lo = 0, hi = i->nbmap;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct fl_brange *r = &i->bmap[mid];

		if (index < r->first)
			hi = mid;
		else if (index - r->first >= r->count)
			lo = mid + 1;
		else
			return true;
	}
	return false;
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
	if (fl_bmap_has(i, index))
		return 0;
	for (k = 0; k < i->nbmap && i->bmap[k].first < index; k++)
		;
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
	if (i->nbmap == FL_BMAP_MAX) {
		/* one run too many: join the two closest ones, then place index */
		uint64_t best = UINT64_MAX;
		uint32_t j, bj = 0;

		for (j = 0; j + 1 < i->nbmap; j++) {
			uint64_t gap = i->bmap[j + 1].first - (i->bmap[j].first + i->bmap[j].count);

			if (gap < best) {
				best = gap;
				bj = j;
			}
		}
		bmap_join(i, bj);
		if (fl_bmap_has(i, index))
			return 0;
		return fl_bmap_add(i, index);
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
	uint64_t end = first + count;
	uint32_t k;

	if (!count)
		return 0;
	if (end < first)
		end = UINT64_MAX;
	for (k = 0; k < i->nbmap; k++) {
		struct fl_brange *r = &i->bmap[k];
		uint64_t rend = r->first + r->count;

		if (rend <= first || r->first >= end)
			continue;
		if (r->first < first && rend > end) {
			/* a hole in the middle of one run: one run more */
			struct fl_brange *n;

			if (i->nbmap == FL_BMAP_MAX)
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
		if (r->first >= first && rend <= end) {
			memmove(&i->bmap[k], &i->bmap[k + 1], (i->nbmap - k - 1) * sizeof(*r));
			i->nbmap--;
			k--;
		} else if (r->first < first) {
			r->count = first - r->first;
		} else {
			r->count = rend - end;
			r->first = end;
		}
	}
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
