// SPDX-License-Identifier: MIT
/*
 * Contention analysis and the crash reading on traces built with the
 * trace.h API, where every event is known, so every count is exact:
 * handoffs, gap histogram buckets, overlap attribution, identity splits,
 * iteration conflicts, ranking, both sides of a crash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "crash.h"
#include "report.h"
#include "snapshot.h"
#include "trace.h"

#define MAP_M	0xc000010000ULL
#define MAP_N	0xc000020000ULL
#define TYPE_A	0x4a0000ULL
#define TYPE_B	0x4b0000ULL

/* Return addresses, each symbolised to one line of main.go. */
#define PC_A	0x401010ULL	/* main.writerA main.go:10 */
#define PC_B	0x401110ULL	/* main.writerB main.go:20 */
#define PC_C	0x401210ULL	/* main.reader main.go:30 (range) */
#define PC_A2	0x401018ULL	/* another PC on main.go:10 */
#define PC_MAIN	0x401510ULL	/* main.main main.go:50 */
#define PC_RT	0x40f477ULL	/* runtime.mapaccess1_fast64, called
				 * runtime.fatal */

static struct trace T;
static uint32_t st_a, st_b, st_c, st_a2, st_a_main, st_read_fatal;

static uint32_t stack_of(uint64_t pc0, uint64_t pc1)
{
	uint64_t pc[2] = { pc0, pc1 };
	uint32_t id;

	assert_int_equal(trace_intern_stack(&T, pc, pc1 ? 2 : 1, &id), 0);
	return id;
}

static void sym(uint64_t pc, const char *fn, uint32_t line)
{
	struct trace_frame f = { fn, "/src/main.go", line, false };

	assert_int_equal(trace_add_sym(&T, pc, &f, 1), 0);
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(trace_init(&T), 0);
	sym(PC_A, "main.writerA", 10);
	sym(PC_A2, "main.writerA", 10);
	sym(PC_B, "main.writerB", 20);
	sym(PC_C, "main.reader", 30);
	sym(PC_MAIN, "main.main", 50);
	sym(PC_RT, "runtime.mapaccess1_fast64", 22);
	st_a = stack_of(PC_A, 0);
	st_b = stack_of(PC_B, 0);
	st_c = stack_of(PC_C, 0);
	st_a2 = stack_of(PC_A2, 0);
	st_a_main = stack_of(PC_A, PC_MAIN);
	st_read_fatal = stack_of(PC_RT, PC_C);
	assert_int_equal(trace_set_type_name(&T, TYPE_A, "map[int]int"), 0);
	assert_int_equal(trace_set_type_name(&T, TYPE_B, "map[string]bool"),
			 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	trace_free(&T);
	return 0;
}

static void ev(uint64_t ts, uint64_t map, uint64_t type, uint32_t tid,
	       uint64_t goid, uint8_t op, uint32_t stack, bool writing)
{
	struct trace_event e = {
		.ts_ns = ts, .goid = goid, .map = map, .type = type,
		.tid = tid, .stack = stack, .op = op,
		.flags = writing ? GMT_EV_WRITING : 0,
	};

	assert_int_equal(trace_add_event(&T, &e), 0);
}

static void w(uint64_t ts, uint32_t tid, uint64_t goid, uint32_t stack)
{
	ev(ts, MAP_M, TYPE_A, tid, goid, GMT_OP_ASSIGN, stack, false);
}

static const struct an_map *only_map(const struct analysis *an)
{
	assert_int_equal(an->nmaps, 1);
	return &an->maps[0];
}

static void test_handoffs_and_gaps(void **state)
{
	struct analysis an;
	struct analysis_opts o = { .tight_ns = 500 };
	const struct an_map *m;

	(void)state;
	/* Ring-buffer order is not time order: the analysis sorts. */
	w(300, 2, 8, st_b);	/* handoff, 100 after g7's write at 200 */
	w(100, 1, 7, st_a);
	w(200, 1, 7, st_a);	/* no other goroutine wrote yet: no gap */
	w(1400, 1, 7, st_a);	/* handoff, 1100 after g8 */
	w(1500, 2, 8, st_b);	/* handoff, 100 after g7 */
	w(1600, 2, 8, st_b);	/* same writer: gap 200 to g7's 1400 */
	assert_int_equal(analysis_run(&T, &o, &an), 0);
	m = only_map(&an);
	assert_int_equal(m->events, 6);
	assert_int_equal(m->writes, 6);
	assert_int_equal(m->handoffs, 3);
	assert_int_equal(m->tight_handoffs, 2);	/* 100 and 100 < 500 */
	assert_int_equal(m->writer_goroutines, 2);
	assert_int_equal(m->writer_threads, 2);
	assert_int_equal(m->overlaps, 0);
	assert_int_equal(m->gap_hist[6], 2);	/* 100: [64, 128) */
	assert_int_equal(m->gap_hist[7], 1);	/* 200: [128, 256) */
	assert_int_equal(m->gap_hist[10], 1);	/* 1100: [1024, 2048) */
	uint64_t sum = 0;
	for (int i = 0; i < AN_GAP_BUCKETS; i++)
		sum += m->gap_hist[i];
	assert_int_equal(sum, 4);
	assert_int_equal(m->min_gap_ns, 100);
	assert_int_equal(m->verdict, AN_SHARED);
	/* Each handoff is a pair (A, B). */
	assert_int_equal(m->npairs, 1);
	assert_int_equal(m->pairs[0].count, 3);
	assert_int_equal(m->pairs[0].overlaps, 0);
	/* Per-event flags, in trace order. */
	assert_true(an.ev_flags[0] & AN_EV_HANDOFF);
	assert_false(an.ev_flags[1] & AN_EV_HANDOFF);
	assert_false(an.ev_flags[2] & AN_EV_HANDOFF);
	assert_true(an.ev_flags[3] & AN_EV_HANDOFF);
	assert_false(an.ev_flags[5] & AN_EV_HANDOFF);
	assert_int_equal(an.nfindings, 1);
	analysis_free(&an);
}

static void test_histogram_buckets(void **state)
{
	static const uint64_t gaps[] = { 0, 1, 2, 3, 4, 1023, 1024, 1025 };
	static const unsigned bucket[] = { 0, 0, 1, 1, 2, 9, 10, 10 };
	uint64_t want[AN_GAP_BUCKETS] = { 0 };
	struct analysis an;
	uint64_t ts = 1000;

	(void)state;
	/* Alternating goroutines: every write is a handoff of gap gaps[i]. */
	w(ts, 1, 1, st_a);
	for (size_t i = 0; i < sizeof(gaps) / sizeof(gaps[0]); i++) {
		ts += gaps[i];
		w(ts, 1 + (i + 1) % 2, 1 + (i + 1) % 2, st_a);
		want[bucket[i]]++;
	}
	assert_int_equal(analysis_run(&T, NULL, &an), 0);
	for (int i = 0; i < AN_GAP_BUCKETS; i++)
		assert_int_equal(only_map(&an)->gap_hist[i], want[i]);
	assert_int_equal(only_map(&an)->handoffs, 8);
	assert_int_equal(only_map(&an)->tight_handoffs, 8);
	analysis_free(&an);
}

static uint32_t site_of(const struct analysis *an, uint32_t stack)
{
	return an->stack_site[stack];
}

static void test_overlap_attribution(void **state)
{
	struct analysis an;
	const struct an_map *m;
	char text[256];

	(void)state;
	w(100, 1, 7, st_a);
	ev(150, MAP_M, TYPE_A, 2, 8, GMT_OP_ASSIGN, st_b, true);
	/* Same goroutine again: still g7's write at A was in progress. */
	ev(160, MAP_M, TYPE_A, 2, 8, GMT_OP_ASSIGN, st_b, true);
	/* A range loop that began while g8 was writing. */
	ev(170, MAP_M, TYPE_A, 3, 9, GMT_OP_ITER_INIT, st_c, true);
	assert_int_equal(analysis_run(&T, NULL, &an), 0);
	m = only_map(&an);
	assert_int_equal(m->overlaps, 3);
	assert_int_equal(m->write_overlaps, 2);
	assert_int_equal(m->handoffs, 1);
	assert_int_equal(m->verdict, AN_RACE);
	assert_int_equal(m->npairs, 2);
	/* (A, B): 1 handoff, 2 overlaps; (B, C): the range's overlap. */
	uint32_t sa = site_of(&an, st_a), sb = site_of(&an, st_b),
		 sc = site_of(&an, st_c);
	assert_int_equal(m->pairs[0].a, sa < sb ? sa : sb);
	assert_int_equal(m->pairs[0].b, sa < sb ? sb : sa);
	assert_int_equal(m->pairs[0].count, 1);
	assert_int_equal(m->pairs[0].overlaps, 2);
	assert_int_equal(m->pairs[1].a, sb < sc ? sb : sc);
	assert_int_equal(m->pairs[1].b, sb < sc ? sc : sb);
	assert_int_equal(m->pairs[1].overlaps, 1);
	assert_int_equal(m->pairs[1].count, 0);
	assert_true(an.ev_flags[1] & AN_EV_OVERLAP);
	assert_false(an.ev_flags[0] & AN_EV_OVERLAP);
	/* The lines: B's two writes, both overlapped. */
	assert_int_equal(m->lines[0].stack, st_b);
	assert_int_equal(m->lines[0].count, 2);
	assert_int_equal(m->lines[0].overlaps, 2);
	an_verdict_text(m, text, sizeof(text));
	assert_non_null(strstr(text, "unsynchronised concurrent writes"));
	assert_non_null(strstr(text, "2 writes"));
	analysis_free(&an);
}

static void test_overlap_unseen_other_side(void **state)
{
	struct analysis an;

	(void)state;
	ev(100, MAP_M, TYPE_A, 2, 8, GMT_OP_ASSIGN, st_b, true);
	assert_int_equal(analysis_run(&T, NULL, &an), 0);
	assert_int_equal(only_map(&an)->npairs, 1);
	assert_int_equal(only_map(&an)->pairs[0].b, AN_SITE_UNSEEN);
	assert_int_equal(only_map(&an)->pairs[0].overlaps, 1);
	analysis_free(&an);
}

static void test_identity_split(void **state)
{
	struct analysis an;

	(void)state;
	/* One address, three maps: type A, then B, then A again. */
	w(100, 1, 1, st_a);
	w(110, 1, 1, st_a);
	ev(200, MAP_M, TYPE_B, 2, 2, GMT_OP_ASSIGN, st_b, false);
	w(300, 3, 3, st_c);
	/* A clear and a gap do not split: still the third map. */
	ev(5000000000ULL, MAP_M, TYPE_A, 3, 3, GMT_OP_CLEAR, st_c, false);
	w(5000000100ULL, 3, 3, st_c);
	assert_int_equal(T.nmaps, 2);	/* the trace merged A and A */
	assert_int_equal(analysis_run(&T, NULL, &an), 0);
	assert_int_equal(an.nmaps, 3);
	assert_int_equal(an.nfindings, 0);
	for (size_t i = 0; i < an.nmaps; i++) {
		const struct an_map *m = &an.maps[i];

		assert_int_equal(m->addr, MAP_M);
		assert_int_equal(m->writer_goroutines, 1);
		assert_int_equal(m->handoffs, 0);
		assert_int_equal(m->verdict, AN_SINGLE_WRITER);
		switch (m->generation) {
		case 0:
			assert_int_equal(m->type, TYPE_A);
			assert_int_equal(m->events, 2);
			assert_int_equal(an.ev_map[0], i);
			assert_int_equal(an.ev_map[1], i);
			break;
		case 1:
			assert_int_equal(m->type, TYPE_B);
			assert_string_equal(m->type_name, "map[string]bool");
			assert_int_equal(an.ev_map[2], i);
			break;
		case 2:
			assert_int_equal(m->type, TYPE_A);
			assert_int_equal(m->events, 3);
			assert_int_equal(m->ops[GMT_OP_CLEAR], 1);
			assert_int_equal(an.ev_map[5], i);
			break;
		default:
			fail();
		}
	}
	assert_int_equal(an.maps[an.ev_map[2]].generation, 1);
	assert_int_equal(an_find_map(&an, MAP_M, 250), an.ev_map[2]);
	assert_int_equal(an_find_map(&an, MAP_M, 50), an.ev_map[0]);
	assert_int_equal(an_find_map(&an, MAP_N, 50), -1);
	analysis_free(&an);
}

static void test_iteration_conflict(void **state)
{
	struct analysis an;
	const struct an_map *m;

	(void)state;
	ev(100, MAP_M, TYPE_A, 3, 9, GMT_OP_ITER_INIT, st_c, false);
	w(150, 2, 8, st_b);		/* inside g9's range loop ... */
	ev(200, MAP_M, TYPE_A, 3, 9, GMT_OP_ITER_NEXT, st_c, false);
	ev(210, MAP_M, TYPE_A, 3, 9, GMT_OP_ITER_NEXT, st_c, false);
	w(300, 2, 8, st_b);		/* ... after its last step: not */
	ev(400, MAP_M, TYPE_A, 3, 9, GMT_OP_ITER_INIT, st_c, false);
	ev(500, MAP_M, TYPE_A, 3, 9, GMT_OP_ITER_NEXT, st_c, false);
	assert_int_equal(analysis_run(&T, NULL, &an), 0);
	m = only_map(&an);
	assert_int_equal(m->iter_conflicts, 1);
	assert_int_equal(m->overlaps, 0);
	assert_int_equal(m->writer_goroutines, 1);
	assert_int_equal(m->goroutines, 2);
	assert_int_equal(m->verdict, AN_ITER_RACE);
	assert_int_equal(m->npairs, 1);
	assert_int_equal(m->pairs[0].count, 1);
	analysis_free(&an);
}

static void test_handed_over_and_ranking(void **state)
{
	struct analysis an;

	(void)state;
	/* Map M: g1 then g2, never interleaved. */
	for (int i = 0; i < 3; i++)
		w(100 + i, 1, 1, st_a);
	for (int i = 0; i < 3; i++)
		w(200 + i, 2, 2, st_b);
	/* Map N: interleaved, then an overlap: the worst. */
	ev(300, MAP_N, TYPE_B, 1, 1, GMT_OP_ASSIGN, st_a, false);
	ev(310, MAP_N, TYPE_B, 2, 2, GMT_OP_DELETE, st_b, false);
	ev(320, MAP_N, TYPE_B, 1, 1, GMT_OP_ASSIGN, st_a, true);
	assert_int_equal(analysis_run(&T, NULL, &an), 0);
	assert_int_equal(an.nmaps, 2);
	assert_int_equal(an.nfindings, 1);
	assert_int_equal(an.maps[0].addr, MAP_N);
	assert_int_equal(an.maps[0].verdict, AN_RACE);
	assert_int_equal(an.maps[0].ops[GMT_OP_DELETE], 1);
	assert_int_equal(an.maps[1].addr, MAP_M);
	assert_int_equal(an.maps[1].verdict, AN_HANDED_OVER);
	assert_int_equal(an.maps[1].handoffs, 1);
	assert_true(an_verdict_hidden(an.maps[1].verdict));
	assert_int_equal(an.ev_map[0], 1);
	assert_int_equal(an.ev_map[6], 0);
	assert_string_equal(an_verdict_name(an.maps[0].verdict), "race");
	analysis_free(&an);
}

static void test_writers_in_turn(void **state)
{
	struct analysis an;
	char text[256];

	(void)state;
	/* Three goroutines write once each, in turn: shared, not handed. */
	w(100, 1, 1, st_a);
	w(200, 2, 2, st_a);
	w(300, 3, 3, st_a);
	assert_int_equal(analysis_run(&T, NULL, &an), 0);
	assert_int_equal(only_map(&an)->handoffs, 2);
	assert_int_equal(only_map(&an)->verdict, AN_SHARED);
	an_verdict_text(only_map(&an), text, sizeof(text));
	assert_non_null(strstr(text, "3 goroutines in turn"));
	assert_int_equal(an.nfindings, 1);
	analysis_free(&an);
}

static void test_contended(void **state)
{
	struct analysis an;
	char text[256];

	(void)state;
	/* 100 handoffs within 10 us: a hot, serialised map. */
	for (int i = 0; i <= 100; i++)
		w(1000 + i * 100, 1 + i % 2, 1 + i % 2, i % 2 ? st_b : st_a);
	assert_int_equal(analysis_run(&T, NULL, &an), 0);
	assert_int_equal(only_map(&an)->handoffs, 100);
	assert_int_equal(only_map(&an)->verdict, AN_CONTENDED);
	an_verdict_text(only_map(&an), text, sizeof(text));
	assert_non_null(strstr(text, "2 goroutines"));
	assert_non_null(strstr(text, "100 handoffs"));
	assert_non_null(strstr(text, "sync.Map"));
	analysis_free(&an);
}

static void test_sites_merge_equal_frames(void **state)
{
	struct analysis an;

	(void)state;
	w(100, 1, 1, st_a);
	w(200, 1, 1, st_a2);
	w(300, 1, 1, st_a_main);
	assert_int_equal(analysis_run(&T, NULL, &an), 0);
	/* A and A2 read the same: one site; A called from main: another. */
	assert_int_equal(an.stack_site[st_a], an.stack_site[st_a2]);
	assert_int_not_equal(an.stack_site[st_a], an.stack_site[st_a_main]);
	/* The line table groups all three: same first frame. */
	assert_int_equal(only_map(&an)->nlines, 1);
	assert_int_equal(only_map(&an)->lines[0].count, 3);
	analysis_free(&an);
}

static void test_empty_trace(void **state)
{
	struct analysis an;
	struct crash c;

	(void)state;
	assert_int_equal(analysis_run(&T, NULL, &an), 0);
	assert_int_equal(an.nmaps, 0);
	assert_null(an.crash);
	assert_false(crash_analyze(&T, &c));
	analysis_free(&an);
}

static void hist_op(struct trace_history *h, uint64_t ts, uint64_t map,
		    uint64_t goid, uint32_t stack)
{
	h->ops[h->nops++] = (struct trace_hist_op){
		.ts_ns = ts, .map = map, .goid = goid, .stack = stack,
		.op = GMT_OP_ASSIGN };
}

static void test_crash_both_sides(void **state)
{
	struct trace_fatal f = { .ts_ns = 1000, .goid = 7, .tid = 11,
				 .stack = 0 };
	struct trace_history h = { .tid = 11 };
	const struct crash_thread *other;
	struct analysis an;
	struct crash c;

	(void)state;
	strcpy(f.msg, "concurrent map writes");
	f.stack = st_a_main;
	/* Another map, busy to the end: not part of the crash. */
	ev(990, MAP_N, TYPE_B, 14, 20, GMT_OP_ASSIGN, st_c, false);
	/* tid 13 touched M long ago; tid 12 is the other writer. */
	w(100, 13, 5, st_c);
	w(850, 12, 8, st_b);
	w(900, 11, 7, st_a);	/* the crashing write (also in history) */
	w(1200, 12, 8, st_b);	/* after the crash: not "at the moment" */
	hist_op(&h, 600, MAP_N, 7, st_c);
	hist_op(&h, 900, MAP_M, 7, st_a);
	assert_int_equal(trace_add_history(&T, &h, true), 0);
	assert_int_equal(trace_add_fatal(&T, &f), 0);
	assert_int_equal(analysis_run(&T, NULL, &an), 0);
	/* The analysis read the crash once, and placed its map. */
	assert_non_null(an.crash);
	c = *an.crash;
	assert_true(c.map_error);
	assert_true(c.has_map);
	assert_int_equal(c.map, MAP_M);
	assert_int_equal(c.type, TYPE_A);
	assert_string_equal(c.type_name, "map[int]int");
	/* The crash is proof: M ranks first as a race, with no flag seen. */
	assert_int_equal(c.an_map, 0);
	assert_int_equal(an.maps[0].addr, MAP_M);
	assert_int_equal(an.maps[0].overlaps, 0);
	assert_int_equal(an.maps[0].verdict, AN_RACE);
	assert_string_equal(an.maps[0].crash_msg, "concurrent map writes");
	assert_null(an.maps[1].crash_msg);
	assert_int_equal(c.nthreads, 3);
	/* The crashing side: history and event merged, one op each. */
	assert_true(c.threads[0].crashing);
	assert_int_equal(c.threads[0].tid, 11);
	assert_int_equal(c.threads[0].goid, 7);
	assert_int_equal(c.threads[0].nops, 2);
	assert_int_equal(c.threads[0].ops[0].map, MAP_N);
	assert_int_equal(c.threads[0].side, 1);
	assert_int_equal(c.threads[0].ops[1].stack, st_a);
	/* The other side: the most recent other thread on M. */
	other = crash_other_side(&c);
	assert_ptr_equal(other, &c.threads[1]);
	assert_int_equal(other->tid, 12);
	assert_int_equal(other->goid, 8);
	assert_int_equal(other->nops, 1);
	assert_int_equal(other->ops[other->side].stack, st_b);
	assert_int_equal(other->ops[other->side].ts_ns, 850);
	assert_int_equal(c.threads[2].tid, 13);
	assert_int_equal(c.threads[2].goid, 5);
	analysis_free(&an);
}

static void test_crash_same_thread(void **state)
{
	struct trace_fatal f = { .ts_ns = 1000, .goid = 1, .tid = 11 };
	struct crash c;

	(void)state;
	/* g8 was preempted mid-write; g1 then ran on the same thread. */
	strcpy(f.msg, "concurrent map writes");
	f.stack = st_a;
	w(800, 11, 8, st_b);
	ev(900, MAP_M, TYPE_A, 11, 1, GMT_OP_ASSIGN, st_a, true);
	assert_int_equal(trace_add_fatal(&T, &f), 0);
	assert_true(crash_analyze(&T, &c));
	assert_int_equal(c.map, MAP_M);
	assert_int_equal(c.nthreads, 2);
	assert_int_equal(c.threads[0].goid, 1);
	assert_int_equal(c.threads[0].nops, 2);	/* the thread's, both */
	assert_int_equal(c.threads[0].ops[c.threads[0].side].stack, st_a);
	assert_int_equal(c.threads[1].tid, 11);
	assert_int_equal(c.threads[1].goid, 8);
	assert_int_equal(c.threads[1].nops, 1);	/* g8's only */
	assert_int_equal(c.threads[1].ops[c.threads[1].side].stack, st_b);
	assert_ptr_equal(crash_other_side(&c), &c.threads[1]);
}

static void test_crash_not_a_map_error(void **state)
{
	struct trace_fatal f = { .ts_ns = 1000, .goid = 1, .tid = 11 };
	struct crash c;

	(void)state;
	strcpy(f.msg, "all goroutines are asleep - deadlock!");
	f.stack = st_c;
	assert_int_equal(trace_add_fatal(&T, &f), 0);
	assert_true(crash_analyze(&T, &c));
	assert_false(c.map_error);
	assert_false(c.has_map);
	assert_int_equal(c.nthreads, 1);
	assert_int_equal(c.threads[0].nops, 0);
	assert_null(crash_other_side(&c));
}

static void test_crash_map_from_overlap(void **state)
{
	struct trace_fatal f = { .ts_ns = 1000, .goid = 0, .tid = 11 };
	struct crash c;

	(void)state;
	/* The crashing thread left no op: take the last flagged op's map. */
	strcpy(f.msg, "concurrent map read and map write");
	f.stack = st_c;
	ev(500, MAP_N, TYPE_B, 12, 8, GMT_OP_ASSIGN, st_b, false);
	ev(600, MAP_N, TYPE_B, 13, 9, GMT_OP_ASSIGN, st_a, true);
	ev(700, MAP_M, TYPE_A, 14, 10, GMT_OP_ASSIGN, st_a, false);
	assert_int_equal(trace_add_fatal(&T, &f), 0);
	assert_true(crash_analyze(&T, &c));
	assert_true(c.has_map);
	assert_int_equal(c.map, MAP_N);
	assert_int_equal(c.nthreads, 3);
	assert_int_equal(c.threads[1].tid, 13);
	assert_int_equal(c.threads[2].tid, 12);
}

/* The text report's crash section, as one string (free it). */
static char *crash_report(void)
{
	struct crash c;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	assert_true(crash_analyze(&T, &c));
	crash_text(out, &T, &c, false);
	fclose(out);
	return buf;
}

/* The header line of goroutine goid's side, or NULL. */
static const char *side_header(const char *text, uint64_t goid)
{
	char want[64];
	const char *p;

	snprintf(want, sizeof(want), "\n  goroutine %" PRIu64 " (", goid);
	p = strstr(text, want);
	return p ? p + 1 : NULL;
}

static bool header_has(const char *text, uint64_t goid, const char *what)
{
	const char *h = side_header(text, goid);
	const char *eol = h ? strchr(h, '\n') : NULL;
	const char *hit = h ? strstr(h, what) : NULL;

	return hit && hit < eol;
}

static void test_crash_claims_need_evidence(void **state)
{
	struct trace_fatal f = { .ts_ns = 5000000, .goid = 7, .tid = 11 };
	struct crash c;
	char *text;

	(void)state;
	strcpy(f.msg, "concurrent map writes");
	f.stack = st_a;
	/* g10's write began with the flag set: it overlapped a write. */
	ev(4000000, MAP_M, TYPE_A, 14, 10, GMT_OP_ASSIGN, st_c, true);
	/* g9 last wrote 3.8 ms before the crash: nothing says it still was. */
	w(1200000, 13, 9, st_c);
	/* g8's write began before g7's, which found the flag set. */
	w(4998000, 12, 8, st_b);
	ev(4999000, MAP_M, TYPE_A, 11, 7, GMT_OP_ASSIGN, st_a, true);
	assert_int_equal(trace_add_fatal(&T, &f), 0);
	assert_true(crash_analyze(&T, &c));
	assert_int_equal(c.map_from, CRASH_MAP_DYING_OP);
	assert_int_equal(c.nthreads, 4);
	assert_int_equal(c.threads[0].evidence, CRASH_EV_STACK);
	assert_int_equal(c.threads[1].goid, 8);
	assert_int_equal(c.threads[1].evidence, CRASH_EV_FLAG_OTHER);
	assert_int_equal(c.threads[1].flag_goid, 7);
	assert_int_equal(c.threads[2].goid, 10);
	assert_int_equal(c.threads[2].evidence, CRASH_EV_FLAG_OWN);
	assert_int_equal(c.threads[3].goid, 9);
	assert_int_equal(c.threads[3].evidence, CRASH_EV_RECENT);
	text = crash_report();
	assert_true(header_has(text, 7, "died"));
	assert_true(header_has(text, 8, "was in assign (the write flag was "
			       "set when goroutine 7's assign began, 1.0 us"));
	assert_true(header_has(text, 10, "was in assign while another write"));
	assert_true(header_has(text, 9, "last wrote this map 3800.0 us before "
			       "the crash"));
	assert_false(header_has(text, 9, "was in"));
	free(text);
}

static void test_crash_read_own_stack(void **state)
{
	struct trace_fatal f = { .ts_ns = 1000, .goid = 7, .tid = 11 };
	struct crash c;
	char *text;

	(void)state;
	/* The reader's own last op was on N: it says nothing of the read. */
	strcpy(f.msg, "concurrent map read and map write");
	f.stack = st_read_fatal;
	w(900, 12, 8, st_b);
	ev(950, MAP_N, TYPE_B, 11, 7, GMT_OP_ASSIGN, st_a, false);
	assert_int_equal(trace_add_fatal(&T, &f), 0);
	assert_true(crash_analyze(&T, &c));
	assert_int_equal(c.user_frame, 1);
	assert_string_equal(c.in_func, "runtime.mapaccess1_fast64");
	assert_int_equal(c.op, CRASH_OP_READ);
	assert_int_equal(c.map, MAP_M);
	assert_int_equal(c.map_from, CRASH_MAP_LAST_WRITE);
	/* The reading side is the fatal call at the user's statement. */
	assert_false(c.dying_op_probed);
	assert_ptr_equal(crash_side_op(&c, &c.threads[0]), &c.fatal_op);
	assert_int_equal(c.fatal_op.op, CRASH_OP_READ);
	assert_int_equal(c.fatal_op.stack, st_read_fatal);
	assert_int_equal(c.fatal_op.skip, 1);
	assert_ptr_equal(crash_other_side(&c), &c.threads[1]);
	assert_int_equal(c.threads[1].goid, 8);
	assert_int_equal(c.threads[1].evidence, CRASH_EV_RECENT);
	text = crash_report();
	assert_true(header_has(text, 7, "died in runtime.mapaccess1_fast64 "
			       "(read)"));
	assert_non_null(strstr(side_header(text, 7), "main.reader  "
			       "/src/main.go:30"));
	assert_true(header_has(text, 8, "last wrote this map 0.1 us"));
	assert_non_null(strstr(text, "which map is a guess"));
	free(text);
}

static void test_crash_frozen_evidence(void **state)
{
	struct trace_fatal f = { .ts_ns = 1000, .goid = 7, .tid = 11 };
	struct snap_thread th[2] = {
		{ .tid = 11, .goid = 7, .map = MAP_M,
		  .map_func = "runtime.mapaccess1_fast64",
		  .flags = SNAP_T_CRASHING | SNAP_T_IN_MAP | SNAP_T_MAP_KNOWN |
			   SNAP_T_ON_G },
		{ .tid = 12, .goid = 8, .map = MAP_M,
		  .map_func = "runtime.mapassign_fast64",
		  .flags = SNAP_T_IN_MAP | SNAP_T_MAP_KNOWN | SNAP_T_ON_G },
	};
	struct trace_freeze fz = { .status = SNAP_FROZEN, .tid = 11,
				   .threads = th, .nthreads = 2 };
	struct crash c;
	char *text;

	(void)state;
	/* N was written last, but the frozen reader held M. */
	strcpy(f.msg, "concurrent map read and map write");
	f.stack = st_read_fatal;
	w(900, 12, 8, st_b);
	ev(950, MAP_N, TYPE_B, 13, 9, GMT_OP_ASSIGN, st_c, false);
	assert_int_equal(trace_add_fatal(&T, &f), 0);
	assert_int_equal(trace_add_freeze(&T, &fz), 0);
	assert_true(crash_analyze(&T, &c));
	assert_int_equal(c.map_from, CRASH_MAP_FROZEN);
	assert_int_equal(c.map, MAP_M);
	assert_int_equal(c.nthreads, 2);
	assert_int_equal(c.threads[1].tid, 12);
	assert_int_equal(c.threads[1].evidence, CRASH_EV_FROZEN);
	assert_true(crash_was_in(&c.threads[1]));
	text = crash_report();
	assert_true(header_has(text, 8, "was in assign (the crash guard froze "
			       "it inside runtime.mapassign_fast64 on this map"));
	assert_non_null(strstr(text, "found by the crash guard"));
	free(text);
	/* Frozen inside a map function on another map proves nothing. */
	T.freezes[0].threads[1].map = MAP_N;
	assert_true(crash_analyze(&T, &c));
	assert_int_equal(c.threads[1].evidence, CRASH_EV_RECENT);
}

/*
 * Both writers reached the fatal path at once: the process froze once, at
 * the second thread's fatal call, while the crash reading takes the
 * earlier fatal record. The snapshot is still the process's: it counts.
 */
static void test_crash_frozen_by_the_other_fatal(void **state)
{
	struct trace_fatal f1 = { .ts_ns = 1000, .goid = 7, .tid = 11 };
	struct trace_fatal f2 = { .ts_ns = 1001, .goid = 8, .tid = 12 };
	struct snap_thread th[2] = {
		{ .tid = 11, .goid = 7, .map = MAP_M,
		  .map_func = "runtime.mapassign_fast64",
		  .flags = SNAP_T_CRASHING | SNAP_T_IN_MAP | SNAP_T_MAP_KNOWN |
			   SNAP_T_ON_G },
		{ .tid = 12, .goid = 8, .map = MAP_M,
		  .map_func = "runtime.mapassign_fast64",
		  .flags = SNAP_T_IN_MAP | SNAP_T_MAP_KNOWN | SNAP_T_ON_G },
	};
	struct trace_freeze fz = { .status = SNAP_FROZEN, .tid = 12,
				   .threads = th, .nthreads = 2 };
	struct crash c;

	(void)state;
	T.meta.ops_mask = 1u << GMT_OP_FATAL;
	strcpy(f1.msg, "concurrent map writes");
	strcpy(f2.msg, "concurrent map writes");
	f1.stack = f2.stack = st_a_main;
	assert_int_equal(trace_add_fatal(&T, &f1), 0);
	assert_int_equal(trace_add_fatal(&T, &f2), 0);
	assert_int_equal(trace_add_freeze(&T, &fz), 0);
	assert_true(crash_analyze(&T, &c));
	assert_int_equal(c.fatal->tid, 11);
	assert_true(c.frozen);
	assert_true(c.has_map);
	assert_int_equal(c.map, MAP_M);
}

/*
 * Crash-only (no map operation traced): the reader's frame lost the map,
 * the frozen writer's still held it and its type; the writer is a side of
 * its own, from the snapshot's PCs. A thread frozen in a map function on a
 * map not recoverable is a side too, but not one that "was in" it.
 */
static void test_crash_frozen_sides_crash_only(void **state)
{
	const uint64_t pc_rt = 0x40f577ULL;
	struct trace_fatal f = { .ts_ns = 1000, .goid = 7, .tid = 11 };
	struct snap_thread th[3] = {
		{ .tid = 11, .goid = 7, .map_func = "runtime.mapaccess1_fast64",
		  .flags = SNAP_T_CRASHING | SNAP_T_IN_MAP | SNAP_T_ON_G },
		{ .tid = 12, .goid = 8, .map = MAP_M, .map_type = TYPE_A,
		  .map_func = "runtime.mapassign_fast64",
		  .flags = SNAP_T_IN_MAP | SNAP_T_MAP_KNOWN | SNAP_T_ON_G,
		  .npcs = 3, .pc = { pc_rt + 1, PC_B, PC_MAIN } },
		{ .tid = 13, .goid = 9, .map_func = "runtime.mapdelete_fast64",
		  .flags = SNAP_T_IN_MAP | SNAP_T_ON_G,
		  .npcs = 2, .pc = { pc_rt + 1, PC_A } },
	};
	struct trace_freeze fz = { .status = SNAP_FROZEN, .tid = 11,
				   .threads = th, .nthreads = 3 };
	struct trace_where fr[8];
	struct crash c;
	char *text;

	(void)state;
	T.meta.ops_mask = 1u << GMT_OP_FATAL;
	sym(pc_rt + 1, "runtime.mapassign_fast64", 40);
	strcpy(f.msg, "concurrent map read and map write");
	f.stack = st_read_fatal;
	assert_int_equal(trace_add_fatal(&T, &f), 0);
	assert_int_equal(trace_add_freeze(&T, &fz), 0);
	assert_true(crash_analyze(&T, &c));
	assert_false(c.ops_traced);
	assert_int_equal(c.map_from, CRASH_MAP_FROZEN_SIDE);
	assert_int_equal(c.map, MAP_M);
	assert_string_equal(c.type_name, "map[int]int");
	assert_int_equal(c.nthreads, 3);
	assert_true(c.threads[1].frozen_side);
	assert_int_equal(c.threads[1].goid, 8);
	assert_int_equal(c.threads[1].evidence, CRASH_EV_FROZEN);
	assert_true(crash_was_in(&c.threads[1]));
	assert_int_equal(crash_side_op(&c, &c.threads[1])->op, GMT_OP_ASSIGN);
	/* Its frames start at the user's statement. */
	assert_int_equal(crash_op_frames(&T, crash_side_op(&c, &c.threads[1]),
					 fr, 8), 2);
	assert_string_equal(fr[0].f->function, "main.writerB");
	assert_int_equal(c.threads[2].goid, 9);
	assert_int_equal(c.threads[2].evidence, CRASH_EV_FROZEN);
	assert_false(c.threads[2].frozen_map_known);
	assert_false(crash_was_in(&c.threads[2]));
	text = crash_report();
	assert_non_null(strstr(text, "on map[int]int at 0xc000010000"));
	assert_true(header_has(text, 8, "was in assign (the crash guard froze "
			       "it inside runtime.mapassign_fast64 on this map"));
	assert_non_null(strstr(side_header(text, 8), "main.writerB  "
			       "/src/main.go:20"));
	assert_true(header_has(text, 9, "was inside runtime.mapdelete_fast64"));
	assert_non_null(strstr(text, "map operations were not traced "
			       "(--crash-only)"));
	assert_null(strstr(text, "(none recorded)"));
	free(text);
	/* No other thread in a map function: not on a CPU, not "untraced". */
	T.freezes[0].nthreads = 1;
	text = crash_report();
	assert_non_null(strstr(text, "the other side was not running on a "
			       "CPU"));
	assert_null(strstr(text, "was not traced"));
	free(text);
}

static void test_crash_iteration_verdict(void **state)
{
	struct trace_fatal f = { .ts_ns = 1000, .goid = 9, .tid = 3 };
	struct analysis an;
	char text[256];

	(void)state;
	strcpy(f.msg, "concurrent map iteration and map write");
	f.stack = st_c;
	w(100, 2, 8, st_b);
	ev(200, MAP_M, TYPE_A, 3, 9, GMT_OP_ITER_INIT, st_c, false);
	w(300, 2, 8, st_b);
	assert_int_equal(trace_add_fatal(&T, &f), 0);
	assert_int_equal(analysis_run(&T, NULL, &an), 0);
	assert_int_equal(an.maps[0].verdict, AN_ITER_RACE);
	assert_int_equal(an.nfindings, 1);
	an_verdict_text(&an.maps[0], text, sizeof(text));
	assert_non_null(strstr(text, "the runtime died on this map"));
	analysis_free(&an);
}

static void test_stack_expand(void **state)
{
	struct trace_frame inl[2] = {
		{ "main.(*Cache).put", "/src/cache.go", 7, true },
		{ "main.worker", "/src/main.go", 40, false },
	};
	struct trace_where fr[8];
	uint64_t pc[2] = { 0x402000, 0x999999 };
	uint32_t id;
	char where[64];

	(void)state;
	assert_int_equal(trace_add_sym(&T, 0x402000, inl, 2), 0);
	assert_int_equal(trace_intern_stack(&T, pc, 2, &id), 0);
	assert_int_equal(trace_stack_expand(&T, id, fr, 8), 3);
	assert_string_equal(fr[0].f->function, "main.(*Cache).put");
	assert_string_equal(fr[1].f->function, "main.worker");
	assert_null(fr[2].f);
	assert_int_equal(fr[2].pc, 0x999999);
	trace_where_text(&fr[0], where, sizeof(where));
	assert_string_equal(where, "cache.go:7");
	trace_where_text(&fr[2], where, sizeof(where));
	assert_string_equal(where, "0x999999");
	assert_int_equal(trace_stack_expand(&T, id, fr, 1), 1);
	assert_ptr_equal(trace_stack_top(&T, id).f->function, fr[0].f->function);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handoffs_and_gaps, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_histogram_buckets, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_overlap_attribution,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap_unseen_other_side,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_split, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_iteration_conflict, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_handed_over_and_ranking,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_writers_in_turn, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_contended, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sites_merge_equal_frames,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_trace, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_crash_both_sides, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_crash_same_thread, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_crash_not_a_map_error,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_map_from_overlap,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_claims_need_evidence,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_read_own_stack,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_frozen_sides_crash_only,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_frozen_evidence,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_crash_frozen_by_the_other_fatal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_iteration_verdict,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stack_expand, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
