// SPDX-License-Identifier: MIT
/*
 * make bench-report: writes a server-shaped trace file for `report` to
 * chew on, with the same writer `record` uses.
 *
 *   gen_trace FILE [OPS]
 *
 * OPS (default 21,000,000) operations: per-request maps (14 types, each
 * made at its own site and filled by one of 64 worker goroutines, a few
 * operations each, then dropped; heap addresses come back with a new
 * hash seed, as Go's allocator reuses them); three maps written in turn
 * by 8 goroutines under a "mutex" (never two at once); one map written by
 * two goroutines with no lock, some writes finding the other's flag set.
 * Timestamps step ~40 ns with a little disorder, as the ring buffer has
 * across CPUs. Prints what it wrote on stdout, one line: the expected
 * answers (maps, shared maps, events) for the benchmark to check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"
#include "trace_file.h"

#define NTYPES		14
#define NWORKERS	64
#define NSHARED		3
#define POOL		65536	/* heap addresses map headers reuse */
#define TYPE_BASE	0x500000ULL
#define PC_BASE		0x401000ULL
#define HEAP_BASE	0xc000100000ULL
#define SHARED_BASE	0xc800000000ULL
#define RACY_ADDR	0xc900000000ULL

static const char *const type_names[NTYPES] = {
	"http.Header", "map[string]string", "map[string]interface {}",
	"map[string]int", "map[int]string", "url.Values",
	"map[string][]string", "map[string]bool", "map[uint64]int",
	"map[string]*main.session", "map[int]int", "map[string]float64",
	"map[interface {}]interface {}", "map[string]struct {}",
};

static const char *const func_names[NTYPES] = {
	"net/http.Header.Clone", "main.parseCookies", "main.decodeJSON",
	"main.countWords", "main.indexNames", "net/url.ParseQuery",
	"main.splitHeaders", "main.seenSet", "main.histogram",
	"main.lookupSessions", "main.squares", "main.weights",
	"main.anyCache", "main.keySet",
};

struct gen {
	struct trace t;
	struct trace_writer *w;
	struct errbuf err;
	uint64_t ts, events, seq;
	uint32_t st_priv[NTYPES][2];	/* make site, later writes */
	uint32_t st_iter[NTYPES];
	uint32_t st_shared, st_shared2, st_racy_a, st_racy_b;
	uint32_t seeds;
	uint64_t pool_seed[POOL];
};

static uint32_t rnd(struct gen *g)
{
	g->seeds = g->seeds * 1103515245u + 12345u;
	return g->seeds >> 8;
}

static int frame(struct gen *g, uint64_t pc, const char *fn, uint32_t line)
{
	struct trace_frame f = { fn, "/src/server/handlers.go", line, false };

	f.function = trace_intern_str(&g->t, fn);
	f.file = trace_intern_str(&g->t, f.file);
	return trace_add_sym(&g->t, pc, &f, 1);
}

static int stack(struct gen *g, uint64_t pc, const char *fn, uint32_t line,
		 uint32_t *id)
{
	uint64_t pcs[2] = { pc, PC_BASE + 0xf000 };

	return frame(g, pc, fn, line) || trace_intern_stack(&g->t, pcs, 2, id);
}

static int setup(struct gen *g)
{
	uint32_t line = 100;

	if (frame(g, PC_BASE + 0xf000, "main.serve", 20))
		return -1;
	for (int i = 0; i < NTYPES; i++, line += 10) {
		uint64_t pc = PC_BASE + 0x100 * (i + 1);

		if (trace_set_type_name(&g->t, TYPE_BASE + 0x40 * i,
					type_names[i]) ||
		    stack(g, pc, func_names[i], line, &g->st_priv[i][0]) ||
		    stack(g, pc + 0x20, func_names[i], line + 2,
			  &g->st_priv[i][1]) ||
		    stack(g, pc + 0x40, func_names[i], line + 4,
			  &g->st_iter[i]))
			return -1;
	}
	return trace_set_type_name(&g->t, TYPE_BASE + 0x1000,
				   "map[string]*main.conn") ||
	       trace_set_type_name(&g->t, TYPE_BASE + 0x1040,
				   "map[int]int") ||
	       stack(g, PC_BASE + 0x2000, "main.(*registry).add", 300,
		     &g->st_shared) ||
	       stack(g, PC_BASE + 0x2040, "main.(*registry).remove", 310,
		     &g->st_shared2) ||
	       stack(g, PC_BASE + 0x3000, "main.racyA", 400, &g->st_racy_a) ||
	       stack(g, PC_BASE + 0x3040, "main.racyB", 410, &g->st_racy_b);
}

static int flush(struct gen *g)
{
	if (trace_writer_flush(g->w, &g->t, true, &g->err))
		return -1;
	trace_drop_events(&g->t);
	return 0;
}

static int emit(struct gen *g, uint64_t goid, uint64_t map, uint64_t type,
		uint32_t stack, uint8_t op, uint8_t flags, uint32_t seed)
{
	struct trace_event ev = {
		.goid = goid, .map = map, .type = type, .stack = stack,
		.op = op, .flags = flags, .seed = seed,
		.tid = 1000 + (uint32_t)(goid % 8),
	};

	g->ts += 30 + rnd(g) % 20;
	/* A little disorder: now and then an event is stamped earlier. */
	ev.ts_ns = g->ts - ((rnd(g) % 64) ? 0 : 200);
	if (trace_add_event(&g->t, &ev))
		return -1;
	g->events++;
	if (g->t.nevents >= TRACE_FILE_BATCH)
		return flush(g);
	return 0;
}

/* One request's map: made, filled, maybe ranged over, then dropped. */
static int private_map(struct gen *g, uint64_t *maps)
{
	int ty = rnd(g) % NTYPES;
	uint32_t slot = rnd(g) % POOL;
	uint64_t addr = HEAP_BASE + 0x30 * (uint64_t)slot;
	uint64_t goid = 100 + rnd(g) % NWORKERS + 1000 * (g->seq++ % 97);
	uint64_t type = TYPE_BASE + 0x40 * ty;
	uint32_t seed = 1 + rnd(g), n = 8 + rnd(g) % 11;

	/* The address comes back for a new map: a new seed says so. */
	if (seed == g->pool_seed[slot])
		seed++;
	g->pool_seed[slot] = seed;
	for (uint32_t i = 0; i < n; i++)
		if (emit(g, goid, addr, type, g->st_priv[ty][i > 2],
			 GMT_OP_ASSIGN, 0, seed))
			return -1;
	if (ty % 3 == 0 && emit(g, goid, addr, type, g->st_iter[ty],
				GMT_OP_ITER_INIT, 0, seed))
		return -1;
	(*maps)++;
	return 0;
}

/* The shared maps: eight goroutines in turn, never at once. */
static int shared_ops(struct gen *g)
{
	int m = rnd(g) % NSHARED;
	uint64_t goid = 10 + rnd(g) % 8;

	for (int i = 0; i < 4; i++)
		if (emit(g, goid, SHARED_BASE + 0x100 * m, TYPE_BASE + 0x1000,
			 i & 1 ? g->st_shared2 : g->st_shared,
			 i & 1 ? GMT_OP_DELETE : GMT_OP_ASSIGN, 0, 77 + m))
			return -1;
	return 0;
}

/* The racy map: two goroutines, no lock; one write in 16 overlaps. */
static int racy_op(struct gen *g)
{
	bool a = rnd(g) & 1;
	uint8_t fl = rnd(g) % 16 ? 0 : GMT_EV_WRITING;

	return emit(g, a ? 5 : 6, RACY_ADDR, TYPE_BASE + 0x1040,
		    a ? g->st_racy_a : g->st_racy_b, GMT_OP_ASSIGN, fl, 99);
}

int main(int argc, char **argv)
{
	struct gen *g = calloc(1, sizeof(*g));
	uint64_t want = 21000000, maps = 0;

	if (argc < 2 || argc > 3 || !g) {
		fprintf(stderr, "usage: gen_trace FILE [OPS]\n");
		return 2;
	}
	if (argc == 3)
		want = strtoull(argv[2], NULL, 10);
	if (trace_init(&g->t))
		return 1;
	g->seeds = 42;
	g->ts = 1000000000ULL;
	snprintf(g->t.meta.command, sizeof(g->t.meta.command), "record");
	snprintf(g->t.meta.exe, sizeof(g->t.meta.exe), "/srv/bench-server");
	snprintf(g->t.meta.go_version, sizeof(g->t.meta.go_version), "go1.26.8");
	snprintf(g->t.meta.map_impl, sizeof(g->t.meta.map_impl), "swiss");
	g->t.meta.pid = 4242;
	g->t.meta.start_ns = g->ts;
	g->t.meta.exit_status = -1;
	g->t.meta.ops_mask = TRACE_DEFAULT_OPS;
	if (setup(g) || trace_writer_open(&g->w, argv[1], &g->t, &g->err))
		goto fail;
	while (g->events < want) {
		unsigned r = rnd(g) % 100;
		int ret = r < 92 ? private_map(g, &maps) :
			  r < 99 ? shared_ops(g) : racy_op(g);

		if (ret)
			goto fail;
	}
	g->t.meta.end_ns = g->ts + 1000;
	if (trace_writer_finish(g->w, &g->t, &g->err))
		goto fail;
	printf("events %llu private_maps %llu shared_maps %d racy_maps 1\n",
	       (unsigned long long)g->events, (unsigned long long)maps,
	       NSHARED);
	trace_free(&g->t);
	free(g);
	return 0;
fail:
	fprintf(stderr, "gen_trace: %s\n", g->err.msg[0] ? g->err.msg :
		"out of memory");
	return 1;
}
