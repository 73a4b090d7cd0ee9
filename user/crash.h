/* SPDX-License-Identifier: MIT */
#ifndef GMT_CRASH_H
#define GMT_CRASH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "trace.h"

/*
 * The crash flight recorder's reading: when the target died in the
 * runtime's fatal path, which map it died on and what every thread that
 * touched that map was doing — both sides of the race, with stacks.
 *
 * Sources: trace->fatals[] (message, thread, goroutine, stack),
 * trace->histories[] (each thread's last map operations, read after the
 * crash) and trace->events[] (the same operations went through the ring
 * buffer; either source may miss some, so both are merged).
 *
 * The map: the crashing thread's last operation before the fatal call
 * (the runtime checks the flag inside that very operation); failing that,
 * the map whose flagged operations came last before the crash, else the
 * map another goroutine wrote last. A read ("concurrent map read and map
 * write") is not probed, and at the fatal call the reader's registers no
 * longer hold the map: its map is always one of the two guesses, and
 * map_from says which. The dying side's statement is always the crashing
 * thread's own stack at the fatal call (the first frame outside the
 * runtime). Other threads count when they touched that map within
 * CRASH_RECENT_NS before the crash, most recent first; so does another
 * goroutine on the crashing thread itself (one preempted in the middle of
 * a write leaves the flag set: concurrency without parallelism). Only operations up to the crash
 * are kept: what each side was doing at that moment.
 */
#define CRASH_MAX_THREADS	8	/* the crashing thread + 7 others */
#define CRASH_RECENT_NS		1000000000ULL

/*
 * What the dying goroutine was doing, from the runtime function its own
 * statement called (the fatal record's stack): an enum gmt_op, or one of
 * these for the operations that are not probed.
 */
#define CRASH_OP_READ		16	/* mapaccess*: reads are not probed */
#define CRASH_OP_CLONE		17	/* maps.clone */
#define CRASH_OP_UNKNOWN	255

/* How the crash's map was found (crash.map_from). */
enum crash_map_from {
	CRASH_MAP_NONE,		/* not a map error, or nothing traced */
	CRASH_MAP_DYING_OP,	/* the dying goroutine's own last op on it */
	CRASH_MAP_FLAGGED_OP,	/* the last op that found it being written */
	CRASH_MAP_LAST_WRITE,	/* a read: the map written last before the
				 * crash by another goroutine (reads are not
				 * probed, and the reader's registers no
				 * longer hold the map at the fatal call) */
	CRASH_MAP_FROZEN,	/* the crash guard froze the dying thread
				 * and read the map from its map function's
				 * argument spill slots (user/snapshot.h) */
	CRASH_MAP_FROZEN_SIDE,	/* nothing else knew it: another thread
				 * frozen inside a map function held it
				 * (a reader's map is gone from its frame,
				 * the writer's is not) */
};

/*
 * Why a thread is named as a side. Only the first three let the report
 * say it "was in" the operation (issue: claims with evidence).
 */
enum crash_evidence {
	CRASH_EV_NONE,
	CRASH_EV_STACK,		/* the dying thread: its own stack at the
				 * fatal call */
	CRASH_EV_FLAG_OWN,	/* its op began with the write flag set:
				 * another write was in progress */
	CRASH_EV_FLAG_OTHER,	/* the dying side's op began with the flag
				 * set, after this write began (the latest
				 * write to begin before it) */
	CRASH_EV_RECENT,	/* none: it last touched the map N ns
				 * before the crash */
	CRASH_EV_FROZEN,	/* the crash guard froze it inside a runtime
				 * map function on this very map (or, with
				 * frozen_map_known false, on a map its
				 * frame no longer held) */
	CRASH_EV_AT_CALL,	/* frozen in its statement at the call to a
				 * map function (about to make it, or just
				 * back): the statement, not the map, and
				 * not proof it was in it */
};

struct crash_op {
	uint64_t ts_ns;
	uint64_t map;
	uint64_t goid;
	uint32_t stack;		/* index into trace stacks[] */
	uint8_t op;		/* enum gmt_op, or CRASH_OP_* */
	uint8_t flags;		/* GMT_EV_* */
	uint8_t skip;		/* leading (runtime) frames of the expanded
				 * stack that are not the side's statement */
	const struct snap_thread *snap;	/* non-NULL: no traced op, the
				 * frames are this frozen thread's (its
				 * PCs, not stacks[stack]) */
};

struct crash_thread {
	uint32_t tid;
	uint64_t goid;		/* goroutine of its op on the map, 0 unknown */
	bool crashing;
	int32_t side;		/* ops[] index of its last op on the map, -1 */
	uint32_t nops;
	struct crash_op ops[GMT_HISTORY_LEN];	/* oldest first */
	uint64_t only_goid;	/* ops of this goroutine only; 0: all */
	uint8_t evidence;	/* enum crash_evidence */
	uint64_t flag_goid;	/* CRASH_EV_FLAG_OTHER: the dying goroutine */
	const char *frozen_in;	/* CRASH_EV_FROZEN, _AT_CALL: the map
				 * function */
	bool frozen_map_known;	/* CRASH_EV_FROZEN: on the crash's map,
				 * read from its frame (else not
				 * recoverable) */
	bool frozen_side;	/* its side is frozen_op: no traced op, only
				 * the crash guard's snapshot of it */
	struct crash_op frozen_op;
};

struct crash {
	const struct trace_fatal *fatal;
	bool map_error;		/* the message is one of the map errors */
	bool has_map;
	uint8_t map_from;	/* enum crash_map_from */
	uint64_t map, type;	/* type 0 when unknown */
	const char *type_name;	/* NULL when unknown */
	int64_t an_map;		/* index into analysis.maps[], -1: set by
				 * the analysis (crash.h knows no analysis) */
	/*
	 * The dying thread's own stack at the fatal call: user_frame is the
	 * index (in trace_stack_expand's frames) of the first frame outside the
	 * runtime, -1 when none; in_func the runtime function that frame
	 * called (NULL when unknown); op what that function does.
	 */
	int32_t user_frame;
	const char *in_func;
	uint8_t op;
	/*
	 * The dying side as an op: its last op on the map, or (a read, or
	 * nothing recorded) the fatal call itself at the user's statement.
	 */
	struct crash_op fatal_op;
	bool dying_op_probed;	/* fatal_op is an op the probes saw */
	const char *map_impl;	/* trace meta: "buckets", "swiss", ... */
	bool ops_traced;	/* map operations were probed (not
				 * --crash-only): histories can exist */
	bool frozen;		/* the crash guard froze the process */
	size_t nthreads;	/* threads[0] is the crashing thread */
	struct crash_thread threads[CRASH_MAX_THREADS];
};

/*
 * Fills c from the first map fatal error in t (else its first fatal);
 * returns false when t holds no fatal. It reads only the trace: the
 * analysis (analysis.h) calls it once, stores the result (an->crash) and
 * fills an_map; the reports render that, never analysing again.
 */
bool crash_analyze(const struct trace *t, struct crash *c);

/* Whether the report may say th "was in" its operation. */
bool crash_was_in(const struct crash_thread *th);

/* Whether th has a side: a traced op on the map, or a frozen one. */
bool crash_has_side(const struct crash_thread *th);

/*
 * The frames of a side op, innermost first, its leading op->skip frames
 * left out: from the trace's stack, or from the frozen thread's PCs.
 */
size_t crash_op_frames(const struct trace *t, const struct crash_op *op,
		       struct trace_where *out, size_t max);

/* The thread on the other side (first with an op on the map), or NULL. */
const struct crash_thread *crash_other_side(const struct crash *c);

/* A thread's side (its op on the map, or the dying call), or NULL. */
const struct crash_op *crash_side_op(const struct crash *c,
				     const struct crash_thread *th);

/* "assign", ..., "read", "clone", "unknown". */
const char *crash_op_name(unsigned op);
/*
 * "crash_stack", "flag_at_its_op", "flag_at_dying_op", "last_touch",
 * "frozen_inside".
 */
const char *crash_evidence_name(unsigned ev);
/*
 * "dying_op", "flagged_op", "last_write", "frozen", "frozen_side"; NULL
 * for none.
 */
const char *crash_map_from_name(unsigned from);
/* What the runtime's write flag can and cannot prove for this map kind. */
const char *crash_flag_note(const struct crash *c);

#endif
