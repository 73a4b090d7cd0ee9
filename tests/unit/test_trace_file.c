// SPDX-License-Identifier: MIT
/*
 * Trace files: a trace survives the round trip field for field; a file cut
 * at any byte loads every chunk before the cut and says so; damaged and
 * foreign files get one line. Also the model's interning and the one
 * name table of the operations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "trace.h"
#include "trace_file.h"

/* main.c (left out of unit tests) defines fail(); weak so a real one wins. */
__attribute__((weak)) int (fail)(const char *fmt, ...)
{
	(void)fmt;
	return 1;
}

#define NEVENTS		150000	/* more than two full event chunks */
#define MAP_A		0xc000010000ULL
#define MAP_B		0xc000020000ULL
#define TYPE_A		0x48b8a0ULL

static char tmpdir[] = "/tmp/gmt-unit-XXXXXX";

static void path_in_tmp(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static void fill_meta(struct trace *t)
{
	snprintf(t->meta.command, sizeof(t->meta.command), "run");
	t->meta.pid = 4242;
	snprintf(t->meta.exe, sizeof(t->meta.exe), "/srv/app");
	snprintf(t->meta.go_version, sizeof(t->meta.go_version), "go1.19.8");
	snprintf(t->meta.map_impl, sizeof(t->meta.map_impl), "buckets");
	t->meta.load_bias = 0x555555554000ULL;
	t->meta.start_ns = 1000;
	t->meta.wall_start_ns = 1700000000000000000ULL;
	t->meta.ops_mask = TRACE_DEFAULT_OPS;
	t->meta.nprobes = 9;
	t->meta.nslow = 2;
}

static void add_syms(struct trace *t)
{
	struct trace_frame inl[2] = {
		{ "main.(*cache).put", "/src/cache.go", 12, true },
		{ "main.worker", "/src/main.go", 40, false },
	};
	struct trace_frame other = { "main.worker", "/src/main.go", 44, false };

	assert_int_equal(trace_add_sym(t, 0x401010, inl, 2), 0);
	/* Another PC on the very same line: one site with 0x401010. */
	assert_int_equal(trace_add_sym(t, 0x401020, inl, 2), 0);
	assert_int_equal(trace_add_sym(t, 0x401030, &other, 1), 0);
	assert_int_equal(trace_set_type_name(t, TYPE_A, "map[int]int"), 0);
}

static struct gmt_event gmt(uint64_t i)
{
	struct gmt_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.ts_ns = 2000 + i * 7;
	ev.tid = 100 + i % 3;
	ev.goid = 10 + i % 4;
	ev.map = i % 5 ? MAP_A : MAP_B;
	ev.type = TYPE_A;
	ev.op = i % 5 ? GMT_OP_ASSIGN : GMT_OP_DELETE;
	ev.flags = i % 11 == 0 ? GMT_EV_WRITING : 0;
	ev.nstack = 3;
	ev.stack[0] = 0x401010 + 0x10 * (i % 3);
	ev.stack[1] = 0x402000;
	ev.stack[2] = 0x403000;
	return ev;
}

static void add_crash(struct trace *t)
{
	struct gmt_fatal_event f;
	struct gmt_history h;

	memset(&f, 0, sizeof(f));
	f.ev = gmt(7);
	f.ev.op = GMT_OP_FATAL;
	strcpy(f.msg, "concurrent map writes");
	f.msg_len = strlen(f.msg);
	assert_int_equal(trace_add_gmt_fatal(t, &f), 0);
	memset(&h, 0, sizeof(h));
	h.next = 13;	/* wrapped: the oldest op sits in slot 3 */
	for (int i = 0; i < GMT_HISTORY_LEN; i++) {
		h.ops[i].ts_ns = i < 3 ? 100 + i : i;
		h.ops[i].map = MAP_A;
		h.ops[i].nstack = 1;
		h.ops[i].stack[0] = 0x401010;
	}
	assert_int_equal(trace_add_gmt_history(t, 101, &h, 5000, false), 0);
}

static void build(struct trace *t, size_t nevents)
{
	assert_int_equal(trace_init(t), 0);
	fill_meta(t);
	add_syms(t);
	for (size_t i = 0; i < nevents; i++) {
		struct gmt_event ev = gmt(i);

		assert_int_equal(trace_add_gmt_event(t, &ev), 0);
	}
	add_crash(t);
	t->lost = 17;
	t->meta.end_ns = 9000000;
	t->meta.exit_status = 2;
}

static uint8_t *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n ? n : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, n, f), (size_t)n);
	fclose(f);
	*size = n;
	return buf;
}

static void assert_same_events(const struct trace *a, const struct trace *b)
{
	assert_int_equal(a->nevents, b->nevents);
	for (size_t i = 0; i < a->nevents; i++) {
		const struct trace_event *x = &a->events[i], *y = &b->events[i];
		const struct trace_stack *sx = &a->stacks[x->stack];
		const struct trace_stack *sy = &b->stacks[y->stack];

		assert_int_equal(x->ts_ns, y->ts_ns);
		assert_int_equal(x->tid, y->tid);
		assert_int_equal(x->goid, y->goid);
		assert_int_equal(x->map, y->map);
		assert_int_equal(x->type, y->type);
		assert_int_equal(x->op, y->op);
		assert_int_equal(x->flags, y->flags);
		assert_int_equal(sx->n, sy->n);
		assert_memory_equal(sx->pc, sy->pc, sx->n * sizeof(sx->pc[0]));
	}
}

static void assert_same_meta(const struct trace *a, const struct trace *b)
{
	assert_string_equal(a->meta.command, b->meta.command);
	assert_int_equal(a->meta.pid, b->meta.pid);
	assert_string_equal(a->meta.exe, b->meta.exe);
	assert_string_equal(a->meta.go_version, b->meta.go_version);
	assert_string_equal(a->meta.map_impl, b->meta.map_impl);
	assert_int_equal(a->meta.load_bias, b->meta.load_bias);
	assert_int_equal(a->meta.start_ns, b->meta.start_ns);
	assert_int_equal(a->meta.end_ns, b->meta.end_ns);
	assert_int_equal(a->meta.wall_start_ns, b->meta.wall_start_ns);
	assert_int_equal(a->meta.ops_mask, b->meta.ops_mask);
	assert_int_equal(a->meta.nprobes, b->meta.nprobes);
	assert_int_equal(a->meta.nslow, b->meta.nslow);
	assert_int_equal(a->meta.exit_status, b->meta.exit_status);
	assert_int_equal(a->lost, b->lost);
}

static void assert_same_crash(const struct trace *a, const struct trace *b)
{
	const struct trace_history *ha = &a->histories[0];
	const struct trace_history *hb = &b->histories[0];

	assert_int_equal(b->nfatals, 1);
	assert_string_equal(b->fatals[0].msg, "concurrent map writes");
	assert_int_equal(b->fatals[0].tid, a->fatals[0].tid);
	assert_int_equal(b->fatals[0].goid, a->fatals[0].goid);
	assert_int_equal(b->nhistories, 1);
	assert_int_equal(hb->tid, 101);
	assert_int_equal(hb->total, 13);
	assert_int_equal(hb->nops, GMT_HISTORY_LEN);
	/* Oldest first: slot 3 (ts 3) ... slot 2 (ts 102). */
	assert_int_equal(hb->ops[0].ts_ns, 3);
	assert_int_equal(hb->ops[GMT_HISTORY_LEN - 1].ts_ns, 102);
	for (int i = 0; i < GMT_HISTORY_LEN; i++)
		assert_int_equal(ha->ops[i].ts_ns, hb->ops[i].ts_ns);
}

static void assert_same_symbols(const struct trace *b)
{
	uint32_t n;
	const struct trace_frame *f = trace_pc_frames(b, 0x401010, &n);

	assert_int_equal(n, 2);
	assert_string_equal(f[0].function, "main.(*cache).put");
	assert_string_equal(f[0].file, "/src/cache.go");
	assert_int_equal(f[0].line, 12);
	assert_true(f[0].inlined);
	assert_string_equal(f[1].function, "main.worker");
	assert_false(f[1].inlined);
	/* Interned: equal strings are one pointer. */
	f = trace_pc_frames(b, 0x401030, &n);
	assert_int_equal(n, 1);
	assert_ptr_equal(f[0].function, trace_pc_frames(b, 0x401010, &n)[1].function);
	assert_string_equal(trace_type_name(b, TYPE_A), "map[int]int");
}

static void test_round_trip(void **state)
{
	struct trace a, b;
	struct errbuf err = { "" }, warn = { "" };
	char path[256];

	(void)state;
	build(&a, NEVENTS);
	path_in_tmp(path, sizeof(path), "rt.gmt");
	assert_int_equal(trace_write_path(&a, path, &err), 0);
	assert_int_equal(trace_init(&b), 0);
	assert_int_equal(trace_load_path(&b, path, &err, &warn), 0);
	assert_string_equal(warn.msg, "");
	assert_true(b.complete);
	assert_same_meta(&a, &b);
	assert_same_events(&a, &b);
	assert_same_crash(&a, &b);
	assert_same_symbols(&b);
	trace_free(&a);
	trace_free(&b);
}

/* Streaming as `record` does: flush, free the events, go on. */
static void test_streaming(void **state)
{
	struct trace a, all, b;
	struct trace_writer *w;
	struct errbuf err = { "" }, warn = { "" };
	char path[256], partial[300];

	(void)state;
	build(&all, 5000);
	assert_int_equal(trace_init(&a), 0);
	fill_meta(&a);
	add_syms(&a);
	path_in_tmp(path, sizeof(path), "stream.gmt");
	snprintf(partial, sizeof(partial), "%s.partial", path);
	assert_int_equal(trace_writer_open(&w, path, &a, &err), 0);
	for (size_t i = 0; i < 5000; i++) {
		struct gmt_event ev = gmt(i);

		assert_int_equal(trace_add_gmt_event(&a, &ev), 0);
		if (i % 1000 == 999) {
			assert_int_equal(trace_writer_flush(w, &a, true, &err), 0);
			assert_int_equal(trace_writer_pending(w, &a), 0);
			trace_drop_events(&a);
		}
	}
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(access(partial, F_OK), 0);
	assert_int_equal(trace_writer_finish(w, &a, &err), 0);
	assert_int_equal(access(partial, F_OK), -1);
	assert_int_equal(trace_init(&b), 0);
	assert_int_equal(trace_load_path(&b, path, &err, &warn), 0);
	assert_string_equal(warn.msg, "");
	assert_same_events(&all, &b);
	trace_free(&a);
	trace_free(&all);
	trace_free(&b);
}

/*
 * Cut the file at every length: before the first chunk ends it is an
 * error; after, every complete chunk loads and a warning says why the rest
 * is missing; the event count never goes down as the cut moves on.
 */
static void test_truncated_everywhere(void **state)
{
	struct trace a;
	struct errbuf err = { "" };
	char path[256];
	uint8_t *data;
	size_t size, prev = 0, errors = 0;

	(void)state;
	build(&a, 3000);
	path_in_tmp(path, sizeof(path), "cut.gmt");
	assert_int_equal(trace_write_path(&a, path, &err), 0);
	data = slurp(path, &size);
	for (size_t cut = 0; cut <= size; cut++) {
		struct trace b;
		struct errbuf e = { "" }, w = { "" };
		int r;

		assert_int_equal(trace_init(&b), 0);
		r = trace_load_mem(&b, data, cut, "cut.gmt", &e, &w);
		if (r) {
			assert_true(e.msg[0] != '\0');
			assert_null(strchr(e.msg, '\n'));
			errors++;
		} else {
			assert_true(cut == size ? w.msg[0] == '\0' :
						 w.msg[0] != '\0');
			assert_true(b.nevents >= prev);
			prev = b.nevents;
		}
		trace_free(&b);
	}
	assert_int_equal(prev, 3000);
	assert_true(errors > 0 && errors < size);
	free(data);
	trace_free(&a);
}

static void test_damaged(void **state)
{
	struct trace a, b;
	struct errbuf err = { "" }, warn = { "" };
	char path[256];
	uint8_t *data;
	size_t size;

	(void)state;
	build(&a, NEVENTS);
	path_in_tmp(path, sizeof(path), "bad.gmt");
	assert_int_equal(trace_write_path(&a, path, &err), 0);
	data = slurp(path, &size);
	data[size / 2] ^= 0x5a;	/* inside an event chunk */
	assert_int_equal(trace_init(&b), 0);
	assert_int_equal(trace_load_mem(&b, data, size, "bad.gmt", &err,
					&warn), 0);
	assert_non_null(strstr(warn.msg, "damaged"));
	assert_true(b.nevents > 0 && b.nevents < NEVENTS);
	assert_int_equal(b.nevents % TRACE_FILE_BATCH, 0);
	assert_false(b.complete);
	trace_free(&b);
	free(data);
	trace_free(&a);
}

static void expect_error(const uint8_t *data, size_t size, const char *what)
{
	struct trace t;
	struct errbuf err = { "" }, warn = { "" };

	assert_int_equal(trace_init(&t), 0);
	assert_int_equal(trace_load_mem(&t, data, size, "f", &err, &warn), -1);
	assert_non_null(strstr(err.msg, what));
	trace_free(&t);
}

static void test_foreign(void **state)
{
	uint8_t v2[16] = "GMTRACE";

	(void)state;
	expect_error((const uint8_t *)"", 0, "empty");
	expect_error((const uint8_t *)"\177ELF\2\1\1\0\0\0\0\0\0\0\0\0", 16,
		     "not a gomaptrace trace");
	expect_error((const uint8_t *)"GMTR", 4, "cut short inside its header");
	v2[8] = 2;
	expect_error(v2, sizeof(v2), "version 2");
	v2[8] = 1;
	expect_error(v2, sizeof(v2), "nothing to report");
}

static void test_ops_parse(void **state)
{
	struct errbuf err = { "" };
	uint32_t mask;

	(void)state;
	assert_int_equal(trace_ops_parse("assign,iterate", &mask, &err), 0);
	assert_int_equal(mask, (1u << GMT_OP_ASSIGN) | (1u << GMT_OP_ITER_INIT) |
			       (1u << GMT_OP_FATAL));
	assert_int_equal(trace_ops_parse("assign,bogus", &mask, &err), -1);
	assert_non_null(strstr(err.msg, "bogus"));
	assert_int_equal(trace_ops_parse("assign,,delete", &mask, &err), -1);
	/* The name `info` printed before issue 8 still selects iterate. */
	assert_int_equal(trace_ops_parse("iter_init", &mask, &err), 0);
	assert_int_equal(mask, (1u << GMT_OP_ITER_INIT) | (1u << GMT_OP_FATAL));
}

/* Every operation's name parses back to it: one vocabulary both ways. */
static void test_op_names_round_trip(void **state)
{
	(void)state;
	for (int op = 0; op < GMT_NOPS; op++)
		assert_int_equal(trace_op_parse(trace_op_name(op)), op);
	assert_string_equal(trace_op_name(GMT_OP_ITER_INIT), "iterate");
	assert_int_equal(trace_op_parse("op6"), -1);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_streaming),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_foreign),
		cmocka_unit_test(test_ops_parse),
		cmocka_unit_test(test_op_names_round_trip),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
