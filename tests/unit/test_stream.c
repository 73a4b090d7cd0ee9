// SPDX-License-Identifier: MIT
/*
 * The streaming analysis against the one it replaced.
 *
 * The old analysis (whole trace in memory, a full row per map) is kept
 * verbatim in tests/unit/old_analysis.c, compiled into this test only
 * under other names. Rather than golden files (hard-coded answers that
 * go stale), each test runs both on the same trace and compares every
 * field of every map: counts, sites, site pairs, histogram, verdicts,
 * ranking, per-event flags. Traces are random but seeded (many shapes:
 * shared, racy, iterated, reseeded, retyped maps) and, given files on
 * the command line (the e2e test_stream.py passes recordings of the
 * tests/go programs), real ones.
 *
 * Then the folded mode: the findings are the old ones, and every
 * operation is counted once: in a listed map or in a private summary.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "crash.h"
#include "trace.h"
#include "trace_file.h"

/* The old implementation, its public names renamed. */
int old_analysis_run(const struct trace *t, const struct analysis_opts *opts,
		     struct analysis *an);
void old_analysis_free(struct analysis *an);
bool old_an_verdict_hidden(enum an_verdict v);
bool old_an_is_write(unsigned op);
uint32_t *old_an_time_order(const struct trace *t);
const char *old_an_verdict_name(enum an_verdict v);
void old_an_verdict_text(const struct an_map *m, char *buf, size_t len);
int64_t old_an_find_map(const struct analysis *an, uint64_t addr,
			uint64_t ts);
size_t old_an_stack_expand(const struct trace *t, uint32_t stack,
			   struct trace_where *out, size_t max);
struct trace_where old_an_stack_top(const struct trace *t, uint32_t stack);
void old_an_frame_where(const struct trace_where *f, char *buf, size_t len);

#define analysis_run old_analysis_run
#define analysis_free old_analysis_free
#define an_time_order old_an_time_order
#define an_verdict_name old_an_verdict_name
#define an_verdict_text old_an_verdict_text
#define an_verdict_hidden old_an_verdict_hidden
#define an_is_write old_an_is_write
#define an_find_map old_an_find_map
#define an_stack_expand old_an_stack_expand
#define an_stack_top old_an_stack_top
#define an_frame_where old_an_frame_where
#include "old_analysis.c"
#undef analysis_run
#undef analysis_free
#undef an_time_order
#undef an_verdict_name
#undef an_verdict_text
#undef an_verdict_hidden
#undef an_is_write
#undef an_find_map
#undef an_stack_expand
#undef an_stack_top
#undef an_frame_where

#define NPCS	12

static uint32_t rnd_state;

static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

/* A random trace: maps of every kind the walk tells apart. */
static void build(struct trace *t, uint32_t seed, size_t nevents)
{
	static const char *const fn[4] = { "main.a", "main.b", "main.c",
					   "main.d" };
	uint32_t stacks[NPCS * 2];
	uint64_t ts = 1000;

	rnd_state = seed;
	assert_int_equal(trace_init(t), 0);
	t->meta.start_ns = 500;
	for (int i = 0; i < NPCS; i++) {
		/* Two PCs per line: sites by line, not by PC. */
		struct trace_frame f = { fn[i % 4], "/src/main.go",
					 10 + (uint32_t)i / 2, false };
		uint64_t pc[2] = { 0x401000 + 0x10 * i, 0x402000 + i % 3 };

		assert_int_equal(trace_add_sym(t, pc[0], &f, 1), 0);
		assert_int_equal(trace_intern_stack(t, pc, 1, &stacks[i]), 0);
		assert_int_equal(trace_intern_stack(t, pc, 2,
						    &stacks[NPCS + i]), 0);
	}
	assert_int_equal(trace_set_type_name(t, 0x500000, "map[int]int"), 0);
	for (size_t i = 0; i < nevents; i++) {
		/* Maps 0..7 shared by goroutines 1..4; 8..199 private. */
		uint32_t m = rnd() % 200;
		bool shared = m < 8;
		uint64_t g = shared ? 1 + rnd() % 4 : 10 + m;
		unsigned r = rnd() % 100;
		struct trace_event e = {
			.map = 0xc000000000ULL + 0x40 * m,
			.type = 0x500000 + 0x40 * (rnd() % 50 == 0),
			.goid = rnd() % 40 ? g : 0,
			.tid = shared ? 100 + (uint32_t)g % 3 :
			       200 + m + (rnd() % 60 == 0),
			.stack = stacks[rnd() % (NPCS * 2)],
			.op = r < 55 ? GMT_OP_ASSIGN : r < 70 ? GMT_OP_DELETE :
			      r < 73 ? GMT_OP_CLEAR : r < 85 ? GMT_OP_ITER_INIT :
			      GMT_OP_ITER_NEXT,
			.flags = (rnd() % (shared ? 30 : 400) ? 0 :
				  GMT_EV_WRITING) |
				 (rnd() % 10 ? 0 : GMT_EV_ONE),
			.seed = 1 + m + 1000 * (rnd() % 80 == 0),
		};

		ts += rnd() % 3000;
		/* Ring-buffer order: now and then a little late. */
		e.ts_ns = ts - (rnd() % 20 ? 0 : rnd() % 5000);
		assert_int_equal(trace_add_event(t, &e), 0);
	}
	t->meta.end_ns = ts + 1;
}

static void same_map(const struct an_map *a, const struct an_map *b)
{
	assert_int_equal(a->addr, b->addr);
	assert_int_equal(a->generation, b->generation);
	assert_int_equal(a->type, b->type);
	assert_ptr_equal(a->type_name, b->type_name);
	assert_int_equal(a->first_ns, b->first_ns);
	assert_int_equal(a->last_ns, b->last_ns);
	assert_int_equal(a->events, b->events);
	assert_memory_equal(a->ops, b->ops, sizeof(a->ops));
	assert_int_equal(a->writes, b->writes);
	assert_int_equal(a->threads, b->threads);
	assert_int_equal(a->goroutines, b->goroutines);
	assert_int_equal(a->writer_threads, b->writer_threads);
	assert_int_equal(a->writer_goroutines, b->writer_goroutines);
	assert_int_equal(a->handoffs, b->handoffs);
	assert_int_equal(a->tight_handoffs, b->tight_handoffs);
	assert_int_equal(a->overlaps, b->overlaps);
	assert_int_equal(a->write_overlaps, b->write_overlaps);
	assert_int_equal(a->iter_conflicts, b->iter_conflicts);
	assert_int_equal(a->min_gap_ns, b->min_gap_ns);
	assert_memory_equal(a->gap_hist, b->gap_hist, sizeof(a->gap_hist));
	assert_true(a->ops_per_s == b->ops_per_s);
	assert_true(a->handoffs_per_s == b->handoffs_per_s);
	assert_int_equal(a->verdict, b->verdict);
	assert_ptr_equal(a->crash_msg, b->crash_msg);
	assert_int_equal(a->nlines, b->nlines);
	for (size_t i = 0; i < a->nlines; i++) {
		assert_int_equal(a->lines[i].op, b->lines[i].op);
		assert_int_equal(a->lines[i].stack, b->lines[i].stack);
		assert_int_equal(a->lines[i].count, b->lines[i].count);
		assert_int_equal(a->lines[i].overlaps, b->lines[i].overlaps);
	}
	assert_int_equal(a->npairs, b->npairs);
	for (size_t i = 0; i < a->npairs; i++) {
		assert_int_equal(a->pairs[i].a, b->pairs[i].a);
		assert_int_equal(a->pairs[i].b, b->pairs[i].b);
		assert_int_equal(a->pairs[i].count, b->pairs[i].count);
		assert_int_equal(a->pairs[i].overlaps, b->pairs[i].overlaps);
	}
}

/* Unfolded: the same analysis, to the last field and event. */
static void compare_all(const struct trace *t)
{
	struct analysis a, b;

	assert_int_equal(old_analysis_run(t, NULL, &a), 0);
	assert_int_equal(analysis_run(t, NULL, &b), 0);
	assert_int_equal(a.nmaps, b.nmaps);
	assert_int_equal(a.nfindings, b.nfindings);
	assert_int_equal(a.nsites, b.nsites);
	for (size_t i = 0; i < a.nsites; i++)
		assert_int_equal(a.sites[i].stack, b.sites[i].stack);
	assert_memory_equal(a.stack_site, b.stack_site,
			    t->nstacks * sizeof(*a.stack_site));
	assert_int_equal(a.nevents, b.nevents);
	assert_memory_equal(a.ev_map, b.ev_map, a.nevents * sizeof(*a.ev_map));
	assert_memory_equal(a.ev_flags, b.ev_flags, a.nevents);
	assert_int_equal(a.duration_ns, b.duration_ns);
	assert_int_equal(a.start_ns, b.start_ns);
	for (size_t i = 0; i < a.nmaps; i++)
		same_map(&a.maps[i], &b.maps[i]);
	assert_int_equal(b.maps_seen, b.nmaps);
	assert_int_equal(b.priv_maps, 0);
	old_analysis_free(&a);
	analysis_free(&b);
}

/* Streamed in chunks of random sizes, folded: what adds up. */
static void stream(const struct trace *t, const struct analysis_opts *o,
		   struct analysis *an)
{
	size_t at = 0;

	assert_int_equal(analysis_begin(an, o), 0);
	while (at < t->nevents) {
		size_t n = 1 + rnd() % 5000;

		if (n > t->nevents - at)
			n = t->nevents - at;
		assert_int_equal(analysis_feed(an, t, &t->events[at], n), 0);
		at += n;
	}
	assert_int_equal(analysis_end(an, t), 0);
}

static void exact_counts(const struct analysis *an, uint64_t nevents,
			 size_t maps)
{
	uint64_t sum = an->priv_events, pmaps = 0, pev = 0;

	for (size_t i = 0; i < an->nmaps; i++)
		sum += an->maps[i].events;
	for (size_t i = 0; i < an->nprivs; i++) {
		pmaps += an->privs[i].maps;
		pev += an->privs[i].events;
		assert_true(an->privs[i].maps > 0);
	}
	assert_int_equal(sum, nevents);
	assert_int_equal(an->nevents, nevents);
	assert_int_equal(pmaps, an->priv_maps);
	assert_int_equal(pev, an->priv_events);
	if (maps)
		assert_int_equal(an->maps_seen, maps);
}

/* Folded with room enough: the findings and every count are the old. */
static void compare_folded(const struct trace *t, size_t list_hidden)
{
	struct analysis a, b;
	struct analysis_opts o = { .fold = true,
				   .list_hidden = list_hidden };

	assert_int_equal(old_analysis_run(t, NULL, &a), 0);
	stream(t, &o, &b);
	assert_int_equal(a.nfindings, b.nfindings);
	for (size_t i = 0; i < a.nfindings; i++)
		same_map(&a.maps[i], &b.maps[i]);
	exact_counts(&b, t->nevents, a.nmaps);
	assert_true(b.nmaps <= b.nfindings + list_hidden);
	old_analysis_free(&a);
	analysis_free(&b);
}

static void test_random_traces_same_answers(void **state)
{
	(void)state;
	for (uint32_t seed = 1; seed <= 40; seed++) {
		struct trace t;

		build(&t, seed, 200 + seed * 250);
		compare_all(&t);
		compare_folded(&t, 1 + seed % 7);
		trace_free(&t);
	}
}

/* Memory short (a handful of rows): still every operation, once. */
static void test_pressure_counts_exact(void **state)
{
	(void)state;
	for (uint32_t seed = 100; seed < 110; seed++) {
		struct trace t;
		struct analysis an;
		struct analysis_opts o = { .fold = true, .max_rows = 8,
					   .list_hidden = 3 };

		build(&t, seed, 20000);
		stream(&t, &o, &an);
		exact_counts(&an, t.nevents, 0);
		assert_true(an.priv_maps > 0);
		analysis_free(&an);
		trace_free(&t);
	}
}

/* A window's worth and more: the reorder keeps time order. */
static void test_long_trace_windowed(void **state)
{
	struct trace t;

	(void)state;
	build(&t, 7, 3 * AN_REORDER + 1234);
	compare_folded(&t, 10);
	trace_free(&t);
}

/* Real traces from the command line: the old and the new agree. */
static int compare_files(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct trace t;
		struct errbuf err = { "" }, warn = { "" };

		if (trace_init(&t) ||
		    trace_load_path(&t, argv[i], &err, &warn)) {
			fprintf(stderr, "test_stream: %s\n", err.msg);
			return 1;
		}
		compare_all(&t);
		compare_folded(&t, 1);
		printf("%s: %zu events, same answers\n", argv[i], t.nevents);
		trace_free(&t);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_traces_same_answers),
		cmocka_unit_test(test_pressure_counts_exact),
		cmocka_unit_test(test_long_trace_windowed),
	};

	if (argc > 1)
		return compare_files(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
