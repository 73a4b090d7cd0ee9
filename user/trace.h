/* SPDX-License-Identifier: MIT */
#ifndef GMT_TRACE_H
#define GMT_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "errbuf.h"
#include "event.h"

/*
 * The in-memory trace: every map operation seen, and everything needed to
 * explain it without the traced binary. `run` fills it live, `report` fills
 * it from a trace file (trace_file.h) on any machine, and every report and
 * analysis reads only this. Nothing here points into a gobin: frames and
 * type names are copied in (symcache.h) while the binary is at hand.
 *
 * Addresses are run-time addresses as the probes saw them. meta.load_bias
 * (run-time minus link-time) is kept so a link-time address can be
 * recovered, but no report needs it: symbols are keyed by run-time PC.
 *
 * Tables, all append-only while the trace is built, indexed by position:
 *  - events[]: one per map operation, in ring-buffer order. That is nearly
 *    but not strictly timestamp order across CPUs: sort a copy by ts_ns
 *    when order matters. Fatal-path records are not events (fatals[]).
 *  - stacks[]: distinct call stacks (up to GMT_STACK_DEPTH return
 *    addresses, caller first: pc[0] returns into the function that called
 *    the runtime's map function). Interned: equal stacks share one id.
 *    The empty stack (the unwind failed) is a stack like any other.
 *  - syms[]: one per distinct PC that has been symbolised: its frames
 *    (in frames[]), innermost first, from a lookup of pc - 1 (a return
 *    address points after the call). nframes 0: the PC is in no function.
 *  - types[]: map type descriptors seen; name NULL when the binary did not
 *    say (e.g. a type built at run time by reflect).
 *  - maps[]: map identities, (addr, type); each event carries its map_id.
 *  - histories[]: the flight recorder, per thread, oldest op first.
 *  - fatals[]: runtime.fatal/throw calls (the crash message and stack).
 *
 * Strings (function and file names, type names) are interned: two equal
 * strings are the same pointer, so frames compare by pointer. They live
 * as long as the trace.
 *
 * How to extend (analysis built on this model, new trace-file fields):
 *  - Add fields at the END of a struct and give them a meaning for 0, so
 *    traces built by older code and files written by older versions stay
 *    valid. Never rename or reorder a field, never change the meaning of a
 *    value: reports and files depend on them.
 *  - A new per-event fact: add it to struct trace_event, fill it in
 *    trace_add_gmt_event() (live) and in trace_file.c's event encoding,
 *    appended after the existing fields of an event (see
 *    docs/trace-format.md: readers ignore what they do not know and take 0
 *    for what a file lacks). Bump no version for an additive change.
 *  - A new table: a new chunk type in the file; old readers skip it.
 *  - Derived results (per-map summaries, conflicts, histograms) are
 *    computed from these tables and do not belong in the file. The
 *    analysis (analysis.h) builds them from events[].
 *  - A map freed and another allocated at the same address with the same
 *    type share one map_id here. Telling them apart is an analysis step
 *    (analysis.h: by the hash seed each event carries): keep events' raw
 *    addr, type and seed.
 */

#define TRACE_NKINDS	8	/* room for enum gmt_op values (0..5 used) */

struct trace_event {
	uint64_t ts_ns;		/* CLOCK_MONOTONIC, as bpf_ktime_get_ns() */
	uint64_t goid;		/* 0 when the goid offset is unknown */
	uint64_t map;		/* hmap* / maps.Map* */
	uint64_t type;		/* maptype* */
	uint32_t tid;
	uint32_t stack;		/* index into stacks[] */
	uint32_t map_id;	/* index into maps[] */
	uint8_t op;		/* enum gmt_op */
	uint8_t flags;		/* GMT_EV_* */
	uint16_t _pad;
	uint32_t seed;		/* the map's hash seed (low 32 bits); 0: unknown */
};

struct trace_stack {
	uint32_t n;		/* valid entries in pc[] */
	uint64_t pc[GMT_STACK_DEPTH];
};

struct trace_frame {
	const char *function;	/* interned, never NULL */
	const char *file;	/* interned, never NULL ("" when unknown) */
	uint32_t line;
	bool inlined;		/* true for every frame but the outermost */
};

struct trace_sym {
	uint64_t pc;		/* run-time return address */
	uint32_t first;		/* its frames: frames[first .. first+nframes) */
	uint32_t nframes;
};

struct trace_type {
	uint64_t addr;
	const char *name;	/* interned; NULL when unknown */
	bool resolved;		/* a name lookup was made (name may be NULL) */
};

struct trace_map {
	uint64_t addr;
	uint64_t type;
	uint64_t ops[TRACE_NKINDS];	/* events by enum gmt_op */
	uint64_t events;
	uint64_t first_ns, last_ns;
};

struct trace_hist_op {
	uint64_t ts_ns;
	uint64_t map;
	uint64_t goid;
	uint32_t stack;		/* index into stacks[] */
	uint8_t op;
	uint8_t flags;
};

struct trace_history {
	uint32_t tid;
	uint32_t nops;		/* valid entries in ops[], oldest first */
	uint64_t total;		/* ops the thread made while traced */
	uint64_t taken_ns;	/* CLOCK_MONOTONIC when it was read */
	struct trace_hist_op ops[GMT_HISTORY_LEN];
};

struct trace_fatal {
	uint64_t ts_ns;
	uint64_t goid;
	uint32_t tid;
	uint32_t stack;		/* caller of runtime.fatal/throw first */
	char msg[GMT_FATAL_MSG_LEN];	/* "concurrent map writes", ... */
};

struct trace_meta {
	char command[16];	/* "run" or "record" */
	int32_t pid;
	char exe[4096];
	char go_version[64];	/* "" when unknown */
	char map_impl[16];	/* "buckets", "swiss" or "unknown" */
	uint64_t load_bias;
	uint64_t start_ns;	/* CLOCK_MONOTONIC when the probes were in */
	uint64_t end_ns;	/* when tracing stopped; 0 until known */
	uint64_t wall_start_ns;	/* CLOCK_REALTIME at start_ns */
	uint32_t ops_mask;	/* 1 << enum gmt_op for each kind traced */
	uint32_t nprobes;	/* uprobes attached */
	uint32_t nslow;		/* of which single-stepped (slow fallback) */
	int32_t exit_status;	/* run: as a shell reports it; -1 unknown */
	/*
	 * The daemon's duty-cycled sampling (not in trace files): the map
	 * probes were in for observed_ns of span_ns.
	 */
	struct {
		bool on;
		uint64_t observed_ns, span_ns;
		double budget_pct, cost_pct, hit_ns;
		const char *limit;	/* what kept the probes out last */
		/* Call-site probes: each CALL's run-time address + 5 (a
		 * return address, symbolised as one). */
		uint32_t nsites;
		uint64_t site_ret[16];
		uint64_t site_observed_ns, site_hits;
	} sampling;
};

struct trace_index;		/* private hash indexes */

struct trace {
	struct trace_meta meta;
	uint64_t lost;		/* records the kernel side could not queue */
	uint64_t dropped;	/* events written to a file, then freed */
	bool complete;		/* the file had its trailer (or live: done) */

	struct trace_event *events;
	size_t nevents;
	struct trace_stack *stacks;
	size_t nstacks;
	struct trace_sym *syms;
	size_t nsyms;
	struct trace_frame *frames;
	size_t nframes;
	struct trace_type *types;
	size_t ntypes;
	struct trace_map *maps;
	size_t nmaps;
	struct trace_history *histories;
	size_t nhistories;
	struct trace_fatal *fatals;
	size_t nfatals;

	/* Cursors for symcache: stacks[] and types[] before these are done. */
	size_t sym_stacks_done;
	size_t sym_types_done;

	size_t cap_events, cap_stacks, cap_syms, cap_frames, cap_types,
	       cap_maps, cap_histories, cap_fatals;
	struct trace_index *idx;

	/* The crash guard's snapshots (user/snapshot.h), usually one. */
	struct trace_freeze *freezes;
	size_t nfreezes;
	/*
	 * Set by a reader that streams events through (record, report):
	 * maps[] stays empty and map_id 0, so memory does not grow with
	 * every (address, type) ever seen.
	 */
	bool no_map_table;
};

/* All functions returning int: 0 on success, -1 when out of memory. */
int trace_init(struct trace *t);
void trace_free(struct trace *t);

const char *trace_intern_str(struct trace *t, const char *s);
int trace_intern_stack(struct trace *t, const uint64_t *pc, uint32_t n,
		       uint32_t *id);
/* Interns (ev->map, ev->type) and sets ev->map_id; ev->stack must exist. */
int trace_add_event(struct trace *t, struct trace_event *ev);
/* A record straight from the ring buffer (not GMT_OP_FATAL). */
int trace_add_gmt_event(struct trace *t, const struct gmt_event *ev);
int trace_add_gmt_fatal(struct trace *t, const struct gmt_fatal_event *f);
int trace_add_fatal(struct trace *t, const struct trace_fatal *f);
/*
 * A thread's history. With replace false an existing history of the same
 * tid is kept: the first snapshot after a crash is the one closest to it.
 */
int trace_add_history(struct trace *t, const struct trace_history *h,
		      bool replace);
int trace_add_gmt_history(struct trace *t, uint32_t tid,
			  const struct gmt_history *h, uint64_t taken_ns,
			  bool replace);

/* Symbols of pc; frames' strings are interned. A known pc is kept as is. */
int trace_add_sym(struct trace *t, uint64_t pc,
		  const struct trace_frame *frames, uint32_t nframes);
const struct trace_sym *trace_find_sym(const struct trace *t, uint64_t pc);
/* Frames of pc, innermost first; NULL with *n = 0 when none are known. */
const struct trace_frame *trace_pc_frames(const struct trace *t, uint64_t pc,
					  uint32_t *n);

int trace_intern_type(struct trace *t, uint64_t addr, uint32_t *id);
/* Records a lookup's result; name NULL: the binary did not know it. */
int trace_set_type_name(struct trace *t, uint64_t addr, const char *name);
const char *trace_type_name(const struct trace *t, uint64_t addr);

/* Frees events[] (after a writer has saved them); counts them in dropped. */
void trace_drop_events(struct trace *t);

/* "assign", "delete", "clear", "iterate", "iter_next", "fatal", "op<N>". */
const char *trace_op_name(unsigned op);
/* Parses a name as above (also the old "iter_init", "iternext"); -1 when
 * unknown. */
int trace_op_parse(const char *name);
/*
 * "assign,delete,..." -> *mask (1 << enum gmt_op each); GMT_OP_FATAL is
 * always added. -1 with err set for an unknown name.
 */
int trace_ops_parse(const char *list, uint32_t *mask, struct errbuf *err);
#define TRACE_DEFAULT_OPS	((1u << GMT_OP_ASSIGN) | (1u << GMT_OP_DELETE) | \
				 (1u << GMT_OP_CLEAR) | (1u << GMT_OP_ITER_INIT) | \
				 (1u << GMT_OP_FATAL))

/* Monotonic and wall clock now, in ns (the clocks the trace uses). */
uint64_t trace_now_ns(void);
uint64_t trace_wall_now_ns(void);

/* Whether an operation writes the map (assign, delete, clear). */
bool trace_op_is_write(unsigned op);

#define TRACE_MAX_FRAMES	64	/* frames of one expanded stack */

/*
 * One frame of an expanded stack: f is NULL when pc was not symbolised.
 * trace_stack_expand() writes the frames of a trace stack innermost first
 * (each PC's inline frames, then the next PC's) and returns how many.
 */
struct trace_where {
	uint64_t pc;
	const struct trace_frame *f;
};

size_t trace_stack_expand(const struct trace *t, uint32_t stack,
			  struct trace_where *out, size_t max);
/* The innermost frame of a stack's first PC (the line that called the
 * runtime); f NULL when none. */
struct trace_where trace_stack_top(const struct trace *t, uint32_t stack);
/* "main.go:42" style text for a frame: base name of file, line. */
void trace_where_text(const struct trace_where *f, char *buf, size_t len);

#endif
