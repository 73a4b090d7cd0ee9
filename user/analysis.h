/* SPDX-License-Identifier: MIT */
#ifndef GMT_ANALYSIS_H
#define GMT_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crash.h"
#include "trace.h"

/*
 * Contention analysis: from a const struct trace (live, or loaded from a
 * file without the binary) to per-map answers — who writes it, how often
 * ownership changes hands, whether writes overlapped — ranked so the worst
 * map comes first. Nothing here reads the binary or the clock.
 *
 * Map identity. The trace keys maps by (address, type pointer). A map that
 * is freed and another allocated at the same address must not merge, but
 * the probes see no allocation or free, so the evidence is what each
 * operation carries: the type, and the map's hash seed (trace_event.seed),
 * which the runtime draws at random when it makes a map and changes only
 * on a clear (mapclear / Map.Clear) and on a delete that empties the map
 * (the count was 1). The rule, per address in timestamp order: a new
 * identity starts when the type differs from the previous operation's
 * (A:T1, A:T2, A:T1 is three maps), or when the seed differs from the
 * identity's last known seed, unless a clear, or a delete made while the
 * map held one entry (GMT_EV_ONE), is pending: the probe reads the seed
 * as the call begins, so the reseeded value shows from the next operation
 * on. A pending reset ends when a seed change is seen or when the
 * goroutine that cleared or deleted uses the map again (its call is over
 * by then); other goroutines' operations in between, racing with that
 * call, do not end it. A seed of 0 is unknown (traces without seeds): then only
 * the type splits, and a same-type map at a freed map's address merges
 * with it. Not a reason to split: a quiet gap, or a new set of goroutines
 * and sites (a long-lived map handed from one worker to the next looks
 * exactly like that). What stays ambiguous: a map emptied or cleared as
 * its last act, then freed, and a new map of its type at its address: the
 * two merge (at most one handoff, never an overlap: the write flag is read
 * from the live object). So a map written by exactly two goroutines, one
 * after the other (one handoff), is "handed over" and hidden by default;
 * with more writers in turn it is shown as shared, worded "in turn",
 * since a cache filled once by each of many workers looks the same.
 *
 * A map the runtime died on (crash.h) is judged by the crash: its fatal
 * error is proof of unsynchronised access even when no traced operation
 * saw the flag (the check that fired may sit in a function not probed).
 *
 * Writes are assign, delete and clear; iterate and iter_next are reads.
 * A writer is a goroutine (the thread id stands in when goid is 0).
 */

#define AN_GAP_BUCKETS	64	/* bucket i: gaps in [2^i, 2^(i+1)) ns; 0: [0, 2) */
#define AN_TIGHT_NS	10000	/* a handoff within 10 us counts as tight */
#define AN_HOT_RATE	10000	/* handoffs per second that make a map hot */
#define AN_SITE_UNSEEN	UINT32_MAX	/* the other side was not traced */

enum an_verdict {
	AN_READ_ONLY = 0,	/* no writes traced (hidden by default) */
	AN_SINGLE_WRITER,	/* one writer goroutine (hidden by default) */
	AN_HANDED_OVER,		/* two writers, one handoff (hidden) */
	AN_SHARED,		/* interleaved writers, serialised */
	AN_CONTENDED,		/* as AN_SHARED, handing off >= AN_HOT_RATE/s */
	AN_ITER_RACE,		/* iteration concurrent with writes */
	AN_RACE,		/* unsynchronised concurrent writes observed */
};

/* A site is a symbolised stack: stacks whose frames all match are one. */
struct an_site {
	uint32_t stack;		/* a representative trace stack */
};

/* Call sites by (op, the line that called the runtime), as trace.h's. */
struct an_line {
	uint8_t op;
	uint32_t stack;		/* a representative stack */
	uint64_t count;
	uint64_t overlaps;	/* of which began with the flag set */
};

/*
 * Two sites of one map used from different goroutines. count: handoffs
 * between them (a write at one right after a write at the other by
 * another goroutine) plus writes that fell inside an iteration at the
 * other; overlaps: operations at one that began while the other's
 * goroutine was writing. a <= b; b may be AN_SITE_UNSEEN.
 */
struct an_pair {
	uint32_t a, b;		/* indexes into analysis.sites[] */
	uint64_t count;
	uint64_t overlaps;
};

struct an_map {
	uint32_t map_id;	/* the trace's maps[] entry */
	uint32_t generation;	/* 0, then 1, 2... for later maps at addr
				 * (another type, or another hash seed) */
	uint64_t addr, type;
	const char *type_name;	/* NULL when unknown */
	uint64_t first_ns, last_ns;
	uint64_t events;
	uint64_t ops[TRACE_NKINDS];
	uint64_t writes;
	uint32_t threads, goroutines;	/* that touched it at all */
	uint32_t writer_threads, writer_goroutines;
	uint64_t handoffs;	/* consecutive writes by different goroutines */
	uint64_t tight_handoffs;	/* of which within AN_TIGHT_NS */
	uint64_t overlaps;	/* ops that began with the flag already set */
	uint64_t write_overlaps;	/* of which writes */
	uint64_t iter_conflicts;	/* writes by others during an iteration */
	uint64_t min_gap_ns;	/* smallest gap to another goroutine's write */
	uint64_t gap_hist[AN_GAP_BUCKETS];
	double ops_per_s, handoffs_per_s;	/* over the trace's duration */
	enum an_verdict verdict;
	const char *crash_msg;	/* the runtime died on this map: why */
	struct an_line *lines;	/* by count, highest first */
	size_t nlines;
	struct an_pair *pairs;	/* by overlaps, then count */
	size_t npairs;
};

/* Per event (index as in trace.events[]). */
#define AN_EV_WRITE	0x01
#define AN_EV_HANDOFF	0x02	/* a write right after another goroutine's */
#define AN_EV_OVERLAP	0x04	/* began with the flag set */

/*
 * Maps folded away (analysis_opts.fold): maps whose verdict is hidden by
 * default (one goroutine, no writes, or handed over once), summed per
 * (type, first site): the line of the first operation seen on the map.
 * Their per-map rows are gone; these counts are exact.
 */
struct an_private {
	uint64_t type;
	const char *type_name;	/* NULL when unknown */
	uint32_t stack;		/* the first operation of the first such map */
	uint64_t maps;
	uint64_t events;
	uint64_t writes;
	uint64_t ops[TRACE_NKINDS];
};

struct an_stream;		/* analysis.c: the walk's state */

struct analysis {
	struct an_map *maps;	/* ranked: findings first, worst first */
	size_t nmaps;
	size_t nfindings;	/* maps[0 .. nfindings) are not hidden */
	struct an_site *sites;
	size_t nsites;
	uint32_t *stack_site;	/* per trace stack: its site */
	uint32_t *ev_map;	/* per event: index into maps[]; NULL when
				 * folded or streamed (analysis_opts.fold) */
	uint8_t *ev_flags;	/* per event: AN_EV_*; NULL likewise */
	size_t nevents;		/* every event analysed */
	uint64_t duration_ns;
	uint64_t start_ns;	/* time 0 of the trace (for relative times) */
	/* Folded maps (analysis_opts.fold), most operations first. */
	struct an_private *privs;
	size_t nprivs;
	uint64_t priv_maps;	/* maps in privs[] */
	uint64_t priv_events;	/* their operations */
	uint64_t maps_seen;	/* nmaps + priv_maps */
	struct an_stream *st;	/* between analysis_begin() and _end() */
	/*
	 * The crash reading (crash.h), made once by analysis_end() with its
	 * an_map set; NULL when the trace holds no fatal error.
	 */
	struct crash *crash;
};

#define AN_MAX_ROWS	65536	/* maps kept at once before folding */
#define AN_LIST_HIDDEN	1000	/* hidden maps still listed at the end */
#define AN_LIST_NONE	SIZE_MAX	/* list_hidden: every one folded */

struct analysis_opts {
	uint64_t tight_ns;	/* 0: AN_TIGHT_NS */
	double hot_rate;	/* 0: AN_HOT_RATE */
	/*
	 * Bounded memory: a map whose verdict is hidden is folded into
	 * privs[] when more than max_rows maps are kept (the quietest and
	 * those whose address a newer map took first), and at the end all
	 * but the list_hidden busiest. A map folded while still live and
	 * later touched again starts a new row (its first part stays in
	 * privs[]): the one approximation, only under memory pressure.
	 * Without fold every map keeps its row (the --all reports).
	 */
	bool fold;
	size_t max_rows;	/* 0: AN_MAX_ROWS */
	size_t list_hidden;	/* 0: AN_LIST_HIDDEN; AN_LIST_NONE: none */
};

/*
 * The whole of t->events at once, unfolded unless opts->fold; ev_map[]
 * and ev_flags[] are filled (the exports need them) only without fold.
 * 0, or -1 when out of memory. opts may be NULL.
 */
int analysis_run(const struct trace *t, const struct analysis_opts *opts,
		 struct analysis *an);
void analysis_free(struct analysis *an);

/*
 * Streaming: begin, then feed events as they come (from a trace file's
 * chunks, or a live session), in any order close to time order: they are
 * reordered in a window of AN_REORDER events, then walked once. t is the
 * trace the events' stacks and symbols live in; it must hold every stack
 * and symbol of the events fed so far, and may drop its events after a
 * feed. end() finishes the maps (t's fatals judge the crash) and ranks
 * them. No ev_map[] or ev_flags[] in this mode. 0, or -1 out of memory.
 */
#define AN_REORDER	16384

int analysis_begin(struct analysis *an, const struct analysis_opts *opts);
int analysis_feed(struct analysis *an, const struct trace *t,
		  const struct trace_event *ev, size_t n);
int analysis_end(struct analysis *an, const struct trace *t);

/*
 * Indexes of t->events[] in timestamp order (ring-buffer order breaks ties):
 * the ring buffer is nearly, not strictly, in time order across CPUs.
 * malloc'ed; NULL when out of memory.
 */
uint32_t *an_time_order(const struct trace *t);

/* "race", "iteration_race", "contended", ... stable, for JSON. */
const char *an_verdict_name(enum an_verdict v);
/* The verdict in plain words with its evidence, e.g. for the text report. */
void an_verdict_text(const struct an_map *m, char *buf, size_t len);
bool an_verdict_hidden(enum an_verdict v);

/* The map identity that was live at addr at time ts; -1 when none. */
int64_t an_find_map(const struct analysis *an, uint64_t addr, uint64_t ts);


#endif
