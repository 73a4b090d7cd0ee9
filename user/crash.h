/* SPDX-License-Identifier: MIT */
#ifndef GMT_CRASH_H
#define GMT_CRASH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis.h"
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
 * the map whose flagged operations came last before the crash. Other
 * threads count when they touched that map within CRASH_RECENT_NS before
 * the crash, most recent first; so does another goroutine on the crashing
 * thread itself (one preempted in the middle of a write leaves the flag
 * set: concurrency without parallelism). Only operations up to the crash
 * are kept: what each side was doing at that moment.
 */
#define CRASH_MAX_THREADS	8	/* the crashing thread + 7 others */
#define CRASH_RECENT_NS		1000000000ULL

struct crash_op {
	uint64_t ts_ns;
	uint64_t map;
	uint64_t goid;
	uint32_t stack;		/* index into trace stacks[] */
	uint8_t op;		/* enum gmt_op */
	uint8_t flags;		/* GMT_EV_* */
};

struct crash_thread {
	uint32_t tid;
	uint64_t goid;		/* goroutine of its op on the map, 0 unknown */
	bool crashing;
	int32_t side;		/* ops[] index of its last op on the map, -1 */
	uint32_t nops;
	struct crash_op ops[GMT_HISTORY_LEN];	/* oldest first */
	uint64_t only_goid;	/* ops of this goroutine only; 0: all */
};

struct crash {
	const struct trace_fatal *fatal;
	bool map_error;		/* the message is one of the map errors */
	bool has_map;
	uint64_t map, type;	/* type 0 when unknown */
	const char *type_name;	/* NULL when unknown */
	int64_t an_map;		/* index into analysis.maps[], -1 */
	size_t nthreads;	/* threads[0] is the crashing thread */
	struct crash_thread threads[CRASH_MAX_THREADS];
};

/*
 * Fills c from the first map fatal error in t (else its first fatal);
 * returns false when t holds no fatal. an (may be NULL) names the map
 * identity the crash was on.
 */
bool crash_analyze(const struct trace *t, const struct analysis *an,
		   struct crash *c);

/* The thread on the other side (first with an op on the map), or NULL. */
const struct crash_thread *crash_other_side(const struct crash *c);

/*
 * The crash section of the text report (user/report_crash.c): the error,
 * both sides with file:line and goroutine ids, then each thread's last
 * map operations. ANSI colour when color is true. Nothing when t holds no
 * fatal error.
 */
void crash_text(FILE *out, const struct trace *t, const struct analysis *an,
		bool color);

#endif
