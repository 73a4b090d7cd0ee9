/* SPDX-License-Identifier: MIT */
#ifndef GMT_KVTAB_H
#define GMT_KVTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A hash table keyed by two 64-bit words, each entry carrying a few
 * counters: the analysis counts distinct (map, goroutine) pairs, sites,
 * site pairs and the exporters dedupe functions and locations with it.
 * Entries stay in insertion order in e[], so a walk is deterministic.
 */
#define KV_NVAL 4

struct kv_ent {
	uint64_t a, b;
	uint64_t v[KV_NVAL];
};

struct kvtab {
	struct kv_ent *e;
	size_t n, cap;
	uint32_t *slot;		/* entry + 1, 0 empty */
	size_t nslot;		/* power of two, or 0 */
};

/*
 * The entry for (a, b), created zeroed when new (*created says so when
 * not NULL). NULL when out of memory. The pointer is valid until the next
 * kv_get: the table may move its entries.
 */
struct kv_ent *kv_get(struct kvtab *t, uint64_t a, uint64_t b, bool *created);
struct kv_ent *kv_find(const struct kvtab *t, uint64_t a, uint64_t b);
void kv_free(struct kvtab *t);

uint64_t kv_mix(uint64_t x);

#endif
