/*
 * flockerfs — the in-memory store's trees (fs/store/store_mem_priv.h): a
 * treap keyed by C string, for namespaces, objects and omaps.
 */
#include "fs/store/store_mem_priv.h"

#include <stdlib.h>
#include <string.h>

static struct tnode *t_rot_right(struct tnode *t)
{
	struct tnode *l = t->l;

	t->l = l->r;
	l->r = t;
	return l;
}

static struct tnode *t_rot_left(struct tnode *t)
{
	struct tnode *r = t->r;

	t->r = r->l;
	r->l = t;
	return r;
}

struct tnode *t_find(struct tnode *t, const char *key)
{
	while (t) {
		int c = strcmp(key, t->key);

		if (c == 0)
			return t;
		t = c < 0 ? t->l : t->r;
	}
	return NULL;
}

/* The first node with a key strictly after key (NULL: the smallest). */
struct tnode *t_after(struct tnode *t, const char *key)
{
	struct tnode *best = NULL;

	while (t) {
		if (!key || strcmp(t->key, key) > 0) {
			best = t;
			t = t->l;
		} else {
			t = t->r;
		}
	}
	return best;
}

/* n's key must not be in t yet. */
struct tnode *t_insert(struct tnode *t, struct tnode *n)
{
	if (!t)
		return n;
	if (strcmp(n->key, t->key) < 0) {
		t->l = t_insert(t->l, n);
		if (t->l->prio > t->prio)
			t = t_rot_right(t);
	} else {
		t->r = t_insert(t->r, n);
		if (t->r->prio > t->prio)
			t = t_rot_left(t);
	}
	return t;
}

struct tnode *t_merge(struct tnode *a, struct tnode *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (a->prio > b->prio) {
		a->r = t_merge(a->r, b);
		return a;
	}
	b->l = t_merge(a, b->l);
	return b;
}

/* Detaches the node with key into *out (NULL if absent). */
struct tnode *t_remove(struct tnode *t, const char *key, struct tnode **out)
{
	int c;

	if (!t)
		return NULL;
	c = strcmp(key, t->key);
	if (c < 0) {
		t->l = t_remove(t->l, key, out);
	} else if (c > 0) {
		t->r = t_remove(t->r, key, out);
	} else {
		*out = t;
		t = t_merge(t->l, t->r);
		(*out)->l = (*out)->r = NULL;
	}
	return t;
}

void t_free(struct tnode *t, void (*freeval)(void *))
{
	while (t) {
		struct tnode *r = t->r;

		t_free(t->l, freeval);
		if (freeval)
			freeval(t->val);
		else
			free(t->val);
		free(t->key);
		free(t);
		t = r;
	}
}
