// SPDX-License-Identifier: MIT
/*
 * Open addressing with linear probing; the load factor stays under 1/2.
 * Tables start small: the analysis keeps several per shared map.
 */
#include <stdlib.h>
#include <string.h>

#include "kvtab.h"

uint64_t kv_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static size_t kv_hash(uint64_t a, uint64_t b)
{
	return kv_mix(a ^ kv_mix(b + 0x9e3779b97f4a7c15ULL));
}

static void place(uint32_t *slot, size_t nslot, const struct kv_ent *e,
		  uint32_t idx)
{
	size_t mask = nslot - 1, i;

	for (i = kv_hash(e->a, e->b) & mask; slot[i]; i = (i + 1) & mask)
		;
	slot[i] = idx + 1;
}

static int rehash(struct kvtab *t)
{
	size_t nslot = t->nslot ? t->nslot * 2 : 8;
	uint32_t *slot;

	if (nslot > UINT32_MAX || nslot > SIZE_MAX / sizeof(*slot))
		return -1;
	slot = calloc(nslot, sizeof(*slot));
	if (!slot)
		return -1;
	for (size_t i = 0; i < t->n; i++)
		place(slot, nslot, &t->e[i], i);
	free(t->slot);
	t->slot = slot;
	t->nslot = nslot;
	return 0;
}

static int grow_entries(struct kvtab *t)
{
	size_t cap = t->cap ? t->cap * 2 : 4;
	struct kv_ent *e;

	if (cap >= UINT32_MAX || cap > SIZE_MAX / sizeof(*e))
		return -1;
	e = realloc(t->e, cap * sizeof(*e));
	if (!e)
		return -1;
	t->e = e;
	t->cap = cap;
	return 0;
}

struct kv_ent *kv_find(const struct kvtab *t, uint64_t a, uint64_t b)
{
	size_t mask, i;

	if (!t->nslot)
		return NULL;
	mask = t->nslot - 1;
	for (i = kv_hash(a, b) & mask; t->slot[i]; i = (i + 1) & mask) {
		struct kv_ent *e = &t->e[t->slot[i] - 1];

		if (e->a == a && e->b == b)
			return e;
	}
	return NULL;
}

struct kv_ent *kv_get(struct kvtab *t, uint64_t a, uint64_t b, bool *created)
{
	struct kv_ent *e = kv_find(t, a, b);

	if (created)
		*created = !e;
	if (e)
		return e;
	if ((t->n + 1) * 2 > t->nslot && rehash(t))
		return NULL;
	if (t->n == t->cap && grow_entries(t))
		return NULL;
	e = &t->e[t->n];
	memset(e, 0, sizeof(*e));
	e->a = a;
	e->b = b;
	place(t->slot, t->nslot, e, t->n);
	t->n++;
	return e;
}

void kv_free(struct kvtab *t)
{
	free(t->e);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}
