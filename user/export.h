/* SPDX-License-Identifier: MIT */
#ifndef GMT_EXPORT_H
#define GMT_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "analysis.h"
#include "errbuf.h"
#include "trace.h"

/*
 * Exports to the tools people already use: folded stacks (flame graphs),
 * pprof's profile.proto (go tool pprof), Chrome trace-event JSON
 * (Perfetto UI). Each reads the trace and its analysis only.
 */
enum export_weight {
	EXPORT_W_OPS = 0,	/* every operation counts 1 */
	EXPORT_W_HANDOFFS,	/* writes right after another goroutine's */
	EXPORT_W_OVERLAPS,	/* ops that began with the flag set */
};

struct export_opts {
	enum export_weight weight;	/* folded only */
	size_t top;		/* only the analysis' first N maps; 0: all */
};

/* Parses "ops", "handoffs", "overlaps"; -1 when unknown. */
int export_weight_parse(const char *s);

/*
 * One line per distinct stack, root first: "f1;f2;f3 COUNT". Frames are
 * function names (inlined frames included), or 0x... when unknown; spaces
 * and semicolons in names become '_' and ':'. Lines of weight 0 are left
 * out; lines are sorted.
 */
int export_folded(FILE *out, const struct trace *t, const struct analysis *an,
		  const struct export_opts *o, struct errbuf *err);

/*
 * gzip'd profile.proto with sample types operations, handoffs, overlaps
 * (all "count"); a sample per (stack, map, op) labelled op, map_type and
 * map_addr; a location per PC with its inlined frames innermost first.
 */
int export_pprof(FILE *out, const struct trace *t, const struct analysis *an,
		 const struct export_opts *o, struct errbuf *err);

/*
 * {"traceEvents": [...]}: pid the target, one track per thread (a
 * thread_name metadata event each), an instant event per map operation
 * with args map, type, goroutine, site; the fatal error as a global
 * instant. ts in microseconds from the trace's start.
 */
int export_perfetto(FILE *out, const struct trace *t,
		    const struct analysis *an, const struct export_opts *o,
		    struct errbuf *err);

#endif
