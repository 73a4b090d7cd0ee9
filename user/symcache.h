/* SPDX-License-Identifier: MIT */
#ifndef GMT_SYMCACHE_H
#define GMT_SYMCACHE_H

#include "gobin.h"
#include "trace.h"

/*
 * Copies what a report needs from the binary into the trace, so the trace
 * stands alone: frames for every PC its stacks hold, names for its map
 * types. Incremental: each call handles only what is new since the last,
 * so a long recording symbolises as it goes, while the binary is there.
 */
int symcache_update(struct trace *t, const struct gobin *gb);

/* One return address (looked up at pc - 1), e.g. a snapshot's. */
int symcache_pc(struct trace *t, const struct gobin *gb, uint64_t pc);

/* The target's description (exe, Go version, map flavour, load bias). */
void symcache_meta(struct trace *t, const struct gobin *gb);

#endif
