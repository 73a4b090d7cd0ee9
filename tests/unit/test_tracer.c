// SPDX-License-Identifier: MIT
/*
 * The tracer (user/tracer.c + bpf/gomaptrace.bpf.c) under real uprobes on
 * tests/go/probetest, started the way `gomaptrace run` falls back to when
 * ptrace is refused: the child waits on a pipe, the probes go in with its
 * pid, then it execs. Every count, call site and goroutine asserted is one
 * the Go source fixes; lines come from the "// @name" markers in the source
 * file the binary's own line table names.
 *
 * Needs root (BPF). The program: $GMT_PROBETEST (the e2e test passes each
 * build variant), else built here from tests/go with Go 1.19.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "gobin.h"
#include "tracer.h"

#define DEADLINE_S	120	/* a wedged child fails the test, not hangs it */
#define MAX_FATALS	4
#define SOURCE		"/probetest/main.go"
#define GO119		"/usr/lib/go-1.19/bin/go"

static char probetest[4096];
static char builddir[64];
static struct gobin gb;

struct run {
	pid_t pid;
	int status;
	struct tracer *t;
	uint64_t bias;		/* the child's load bias, read once it runs */
	bool have_bias;
	struct gmt_event *evs;
	size_t nev, cap;
	struct gmt_fatal_event fatals[MAX_FATALS];
	int nfatal;
	uint64_t lost;
};

/* ---- the Go program ---- */

#define GO119	"/usr/lib/go-1.19/bin/go"

static int build_probetest(void)
{
	char out[sizeof(builddir) + 16];
	pid_t pid;
	int st;

	if (access("tests/go/probetest/main.go", R_OK)) {
		fprintf(stderr, "test_tracer: run from the repository root or "
			"set GMT_PROBETEST\n");
		return -1;
	}
	snprintf(builddir, sizeof(builddir), "/tmp/gmt-test-tracer-XXXXXX");
	if (!mkdtemp(builddir))
		return -1;
	snprintf(out, sizeof(out), "%s/probetest", builddir);
	pid = fork();
	if (!pid) {
		setenv("CGO_ENABLED", "0", 1);
		setenv("GOTOOLCHAIN", "local", 1);
		setenv("GOFLAGS", "-mod=mod", 1);
		if (chdir("tests/go"))
			_exit(127);
		/* Debian's Go 1.19 by its path, never PATH's go; the e2e
		 * tests pass the other toolchains' builds in GMT_PROBETEST. */
		execl(GO119, "go", "build", "-o", out, "./probetest", NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st))
		return -1;
	snprintf(probetest, sizeof(probetest), "%s", out);
	return 0;
}

static int group_setup(void **state)
{
	struct errbuf err = { "" };
	const char *env = getenv("GMT_PROBETEST");

	(void)state;
	if (env)
		snprintf(probetest, sizeof(probetest), "%s", env);
	else if (build_probetest())
		return -1;
	if (gobin_open_path(&gb, probetest, &err)) {
		fprintf(stderr, "test_tracer: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	char path[4200];

	(void)state;
	gobin_close(&gb);
	if (builddir[0]) {
		snprintf(path, sizeof(path), "%s/probetest", builddir);
		unlink(path);
		rmdir(builddir);
	}
	return 0;
}

/* Line of the "// @name" marker in the source file the binary names. */
static int marker_line(const char *file, const char *marker)
{
	char line[512], tag[64];
	FILE *f = fopen(file, "r");
	int n = 0;

	snprintf(tag, sizeof(tag), "// %s", marker);
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (strstr(line, tag)) {
			fclose(f);
			return n;
		}
	}
	fclose(f);
	fail_msg("marker %s not in %s", marker, file);
	return -1;
}

/* ---- running the child under the tracer ---- */

static int on_event(void *ctx, const struct gmt_event *ev,
		    const struct gmt_fatal_event *fatal)
{
	struct run *r = ctx;

	if (fatal) {
		if (r->nfatal < MAX_FATALS)
			r->fatals[r->nfatal++] = *fatal;
		return 0;
	}
	if (r->nev == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 4096;
		r->evs = realloc(r->evs, r->cap * sizeof(*r->evs));
		assert_non_null(r->evs);
	}
	r->evs[r->nev++] = *ev;
	return 0;
}

/* The child's load bias, from /proc while it runs its Go code. */
static void read_bias(struct run *r)
{
	struct errbuf err = { "" };
	struct gobin live;

	if (r->have_bias || gobin_open_pid(&live, r->pid, &err))
		return;
	r->bias = live.load_bias;
	r->have_bias = true;
	gobin_close(&live);
}

/*
 * Fork the child stopped before its exec, attach with its pid, let it go.
 * *stdin_fd: the write end of the child's stdin (closing it ends a hold);
 * stdout_fd, when given, the read end of its stdout.
 */
static void start(struct run *r, const char *mode, bool hold, int *stdin_fd,
		  int *stdout_fd, const struct tracer_opts *base)
{
	struct tracer_opts o = base ? *base : (struct tracer_opts){ 0 };
	struct errbuf err = { "" };
	int go[2], in[2], out[2];
	char c;

	memset(r, 0, sizeof(*r));
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	r->pid = fork();
	assert_true(r->pid >= 0);
	if (!r->pid) {
		close(go[1]);
		close(in[1]);
		close(out[0]);
		dup2(in[0], 0);
		if (stdout_fd)
			dup2(out[1], 1);
		if (hold)
			setenv("PROBETEST_HOLD", "1", 1);
		if (read(go[0], &c, 1) != 1)
			_exit(126);
		execl(probetest, probetest, mode, NULL);
		_exit(127);
	}
	close(go[0]);
	close(in[0]);
	close(out[1]);
	if (stdout_fd)
		*stdout_fd = out[0];
	else
		close(out[0]);
	if (!base)
		tracer_opts_set_ops(&o, ~0u);
	o.pid = r->pid;
	if (tracer_open(&r->t, &gb, &o, &err)) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		fail_msg("tracer_open: %s", err.msg);
	}
	assert_int_equal(write(go[1], "g", 1), 1);
	close(go[1]);
	*stdin_fd = in[1];
}

/* Drain until the child exits (poll = false: only once it has). */
static void finish(struct run *r, int stdin_fd, bool poll)
{
	time_t deadline = time(NULL) + DEADLINE_S;

	for (;;) {
		if (poll)
			assert_true(tracer_poll(r->t, 10, on_event, r) >= 0);
		/* A record means the exec is done. */
		if (r->nev)
			read_bias(r);
		if (r->have_bias && stdin_fd >= 0) {
			close(stdin_fd);
			stdin_fd = -1;
		}
		if (waitpid(r->pid, &r->status, WNOHANG) == r->pid)
			break;
		if (!poll && stdin_fd >= 0) {
			close(stdin_fd);
			stdin_fd = -1;
		}
		if (time(NULL) > deadline) {
			kill(r->pid, SIGKILL);
			waitpid(r->pid, &r->status, 0);
			fail_msg("the child ran past %d s", DEADLINE_S);
		}
		if (!poll)
			usleep(10000);
	}
	if (stdin_fd >= 0)
		close(stdin_fd);
	while (tracer_poll(r->t, 0, on_event, r) > 0)
		;
	r->lost = tracer_lost(r->t);
}

static void run_free(struct run *r)
{
	tracer_close(r->t);
	free(r->evs);
}

/* Where a record's caller is: main.go's function and line, or NULL. */
static const struct pcln_frame *site(const struct run *r, uint64_t ret,
				     struct pcln_frame *frames)
{
	int n;

	assert_true(r->have_bias);
	n = gobin_frames(&gb, ret - 1 - r->bias, frames, 8);
	if (n <= 0)
		return NULL;
	return &frames[0];
}

static bool in_main_go(const struct pcln_frame *f)
{
	size_t n;

	if (!f || !f->file)
		return false;
	n = strlen(f->file);
	return n >= sizeof(SOURCE) - 1 &&
	       !strcmp(f->file + n - (sizeof(SOURCE) - 1), SOURCE);
}

static const char *source_file(const struct run *r)
{
	static char file[4096];
	struct pcln_frame frames[8];

	for (size_t i = 0; i < r->nev; i++) {
		const struct pcln_frame *f = site(r, r->evs[i].stack[0], frames);

		if (in_main_go(f)) {
			snprintf(file, sizeof(file), "%s", f->file);
			return file;
		}
	}
	fail_msg("no record comes from probetest/main.go");
	return NULL;
}

/* ---- exact counts ---- */

struct site_count {
	const char *marker;
	const char *function;
	uint8_t op;
	size_t want;
	int line;
	size_t got;
	uint64_t goid, map;
	bool mixed_goid;
};

static void count_sites(const struct run *r, struct site_count *sc, int nsc,
			size_t *in_main)
{
	struct pcln_frame frames[8];

	*in_main = 0;
	for (size_t i = 0; i < r->nev; i++) {
		const struct gmt_event *e = &r->evs[i];
		const struct pcln_frame *f = site(r, e->stack[0], frames);

		if (!in_main_go(f))
			continue;
		(*in_main)++;
		assert_true(e->nstack >= 2);
		assert_int_equal(e->flags & GMT_EV_WRITING, 0);
		assert_int_equal(e->pid, r->pid);
		for (int k = 0; k < nsc; k++) {
			if (f->line != sc[k].line || e->op != sc[k].op)
				continue;
			assert_string_equal(f->function, sc[k].function);
			if (sc[k].got++ == 0) {
				sc[k].goid = e->goid;
				sc[k].map = e->map;
			}
			sc[k].mixed_goid |= e->goid != sc[k].goid;
			assert_int_equal(e->map, sc[k].map);
		}
	}
}

/* The single-stepped probes gobin chose: each must be on the fatal path. */
static size_t count_slow_probes(void)
{
	size_t n = 0;

	for (size_t i = 0; i < gb.nprobes; i++) {
		if (gb.probes[i].method != PROBE_ENTRY_SLOW)
			continue;
		if (gb.probes[i].op != GMT_OP_FATAL)
			fail_msg("%s is single-stepped", gb.probes[i].function);
		n++;
	}
	return n;
}

static void test_exact_counts(void **state)
{
	struct site_count sc[] = {
		{ .marker = "@assign64", .function = "main.assign64",
		  .op = GMT_OP_ASSIGN, .want = 1000 },
		{ .marker = "@assignstr", .function = "main.assignStr",
		  .op = GMT_OP_ASSIGN, .want = 500 },
		{ .marker = "@delete", .function = "main.del64",
		  .op = GMT_OP_DELETE, .want = 200 },
		{ .marker = "@clear", .function = "main.clearStr",
		  .op = GMT_OP_CLEAR, .want = 1 },
		{ .marker = "@range", .function = "main.rangeSum",
		  .op = GMT_OP_ITER_INIT, .want = 3 },
		{ .marker = "@range", .function = "main.rangeSum",
		  .op = GMT_OP_ITER_NEXT, .want = 2400 },
	};
	int nsc = sizeof(sc) / sizeof(sc[0]);
	size_t in_main, want = 0, nslow;
	const char *file;
	struct run r;
	int fd;

	(void)state;
	start(&r, "counts", true, &fd, NULL, NULL);
	finish(&r, fd, true);
	assert_true(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	assert_int_equal(r.lost, 0);
	assert_int_equal(r.nfatal, 0);
	/*
	 * Every map function of the binary; single-stepped only the entries
	 * the kernel cannot emulate, and only on the fatal path (Go 1.19's
	 * fatal and throw; Go 1.26's begin with an emulated push %rbp).
	 */
	assert_int_equal(tracer_nattached(r.t, &nslow), gb.nprobes);
	assert_int_equal(nslow, count_slow_probes());
	file = source_file(&r);
	for (int k = 0; k < nsc; k++) {
		sc[k].line = marker_line(file, sc[k].marker);
		want += sc[k].want;
	}
	count_sites(&r, sc, nsc, &in_main);
	for (int k = 0; k < nsc; k++) {
		if (sc[k].got != sc[k].want)
			fail_msg("%s op %u: %zu records, want %zu", sc[k].marker,
				 sc[k].op, sc[k].got, sc[k].want);
		assert_false(sc[k].mixed_goid);
		assert_true(sc[k].goid > 0);
	}
	assert_int_equal(in_main, want);
	/* Five goroutines, five goroutine ids; two maps. */
	for (int a = 0; a < nsc - 1; a++)
		for (int b = a + 1; b < nsc - 1; b++)
			assert_int_not_equal(sc[a].goid, sc[b].goid);
	assert_int_equal(sc[5].goid, sc[4].goid);
	assert_int_equal(sc[0].map, sc[2].map);
	assert_int_equal(sc[0].map, sc[4].map);
	assert_int_equal(sc[1].map, sc[3].map);
	assert_int_not_equal(sc[0].map, sc[1].map);
	run_free(&r);
}

/* Adds v to the set of n distinct values (at most cap); returns the new n. */
static int add_distinct(uint64_t *set, int n, int cap, uint64_t v)
{
	for (int k = 0; k < n; k++) {
		if (set[k] == v)
			return n;
	}
	assert_true(n < cap);
	set[n] = v;
	return n + 1;
}

/* Probes attached before the exec fire in every thread the program makes. */
static void test_all_threads(void **state)
{
	struct pcln_frame frames[8];
	uint64_t tids[8], goids[8], map = 0;
	int ntid = 0, ngoid = 0, line;
	size_t n = 0;
	struct run r;
	int fd;

	(void)state;
	start(&r, "threads", true, &fd, NULL, NULL);
	finish(&r, fd, true);
	assert_true(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	assert_int_equal(r.lost, 0);
	line = marker_line(source_file(&r), "@threads");
	for (size_t i = 0; i < r.nev; i++) {
		const struct gmt_event *e = &r.evs[i];
		const struct pcln_frame *f = site(&r, e->stack[0], frames);

		if (!in_main_go(f) || f->line != line)
			continue;
		n++;
		assert_int_equal(e->op, GMT_OP_ASSIGN);
		assert_int_equal(e->flags & GMT_EV_WRITING, 0);
		if (!map)
			map = e->map;
		assert_int_equal(e->map, map);
		ntid = add_distinct(tids, ntid, 8, e->tid);
		ngoid = add_distinct(goids, ngoid, 8, e->goid);
	}
	assert_int_equal(n, 4000);
	assert_int_equal(ntid, 4);
	assert_int_equal(ngoid, 4);
	run_free(&r);
}

/*
 * A map function whose stack check sends it to runtime.morestack passes the
 * probe twice; one record per write all the same.
 */
static void test_stack_growth(void **state)
{
	struct pcln_frame frames[8];
	uint64_t goids[16];
	int ngoid = 0, line;
	size_t n = 0;
	struct run r;
	int fd;

	(void)state;
	start(&r, "grow", true, &fd, NULL, NULL);
	finish(&r, fd, true);
	assert_true(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	assert_int_equal(r.lost, 0);
	line = marker_line(source_file(&r), "@grow");
	for (size_t i = 0; i < r.nev; i++) {
		const struct gmt_event *e = &r.evs[i];
		const struct pcln_frame *f = site(&r, e->stack[0], frames);

		if (!in_main_go(f) || f->line != line)
			continue;
		n++;
		ngoid = add_distinct(goids, ngoid, 16, e->goid);
	}
	assert_int_equal(n, 32000);
	assert_int_equal(ngoid, 16);
	run_free(&r);
}

struct hist_check {
	uint32_t tid;
	struct gmt_history copy;
	uint64_t next_sum;
	int nthreads;
};

static void on_history(void *ctx, uint32_t tid, const struct gmt_history *h)
{
	struct hist_check *hc = ctx;

	hc->next_sum += h->next;
	hc->nthreads++;
	if (tid == hc->tid)
		hc->copy = *h;
}

static const struct gmt_hist_op *last_op(const struct gmt_history *h)
{
	assert_true(h->next > 0);
	return &h->ops[(h->next - 1) % GMT_HISTORY_LEN];
}

/* The runtime's map code: runtime.map*, or Swiss maps' own package. */
static bool is_map_function(const char *fn)
{
	return !strncmp(fn, "runtime.map", 11) ||
	       (gb.map_impl == MAP_IMPL_SWISS &&
		!strncmp(fn, "internal/runtime/maps.", 22));
}

/*
 * A delete runs while the clear holds the write flag: its record says so.
 * Then a delete meets a fill and the runtime dies; the fatal record has the
 * message, and the crashing thread's history ends with the map.
 */
static void test_write_flag_and_fatal(void **state)
{
	struct pcln_frame frames[8];
	struct hist_check hc = { 0 };
	int fill, del, nwriting = 0;
	uint64_t map = 0, fill_goid = 0, del_goid = 0;
	const char *file;
	struct run r;
	int fd;

	(void)state;
	start(&r, "clearrace", false, &fd, NULL, NULL);
	finish(&r, fd, true);
	assert_true(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 2);
	assert_int_equal(r.lost, 0);
	assert_true(r.nfatal >= 1);
	for (int i = 0; i < r.nfatal; i++) {
		assert_int_equal(r.fatals[i].msg_len, 21);
		assert_string_equal(r.fatals[i].msg, "concurrent map writes");
		assert_int_equal(r.fatals[i].ev.op, GMT_OP_FATAL);
		assert_int_equal(r.fatals[i].ev.pid, r.pid);
		/*
		 * runtime.fatal's caller is the map function that failed;
		 * Swiss maps reach it through internal/runtime/maps.fatal.
		 */
		assert_true(r.fatals[i].ev.nstack >= 2);
		assert_non_null(site(&r, r.fatals[i].ev.stack[0], frames));
		if (gb.map_impl == MAP_IMPL_SWISS) {
			assert_string_equal(frames[0].function,
					    "internal/runtime/maps.fatal");
			assert_non_null(site(&r, r.fatals[i].ev.stack[1],
					     frames));
		}
		if (!is_map_function(frames[0].function))
			fail_msg("fatal called from %s", frames[0].function);
	}
	file = source_file(&r);
	fill = marker_line(file, "@racefill");
	del = marker_line(file, "@racedelete");
	for (size_t i = 0; i < r.nev; i++) {
		const struct gmt_event *e = &r.evs[i];
		const struct pcln_frame *f = site(&r, e->stack[0], frames);

		if (!in_main_go(f))
			continue;
		if (f->line == fill) {
			map = e->map;
			fill_goid = e->goid;
		}
		if (f->line == del) {
			del_goid = e->goid;
			if (e->flags & GMT_EV_WRITING) {
				assert_int_equal(e->op, GMT_OP_DELETE);
				nwriting++;
			}
		}
	}
	/*
	 * Buckets: the clear holds hashWriting while the map reads empty, so
	 * the deleter's records carry it. Swiss maps return from a delete on
	 * an empty map before looking at `writing`, clear the count only just
	 * before dropping the flag, and toggle it with XOR: no record is sure
	 * to carry it (measured: 0 in some runs). test_write_flag_set_by_hand
	 * shows the flag read there.
	 */
	if (gb.map_impl != MAP_IMPL_SWISS)
		assert_true(nwriting > 0);
	assert_int_not_equal(fill_goid, del_goid);
	for (size_t i = 0; i < r.nev; i++)
		if (r.evs[i].flags & GMT_EV_WRITING)
			assert_int_equal(r.evs[i].map, map);
	hc.tid = r.fatals[0].ev.tid;
	assert_true(tracer_histories(r.t, on_history, &hc) >= 2);
	assert_int_equal(hc.next_sum, r.nev);
	assert_int_equal(last_op(&hc.copy)->map, map);
	run_free(&r);
}

/*
 * The map's write flag set by hand, at the offset and mask gobin found
 * (DWARF, code or table), then a write: the runtime dies of it exactly when
 * those are the runtime's own, and the probe must have read it set. The
 * write before it must not see it. Deterministic on every map layout.
 */
static void test_write_flag_set_by_hand(void **state)
{
	struct pcln_frame frames[8];
	int clear_line, set_line, nclear = 0, nset = 0;
	char flag[64];
	const char *file;
	struct run r;
	int fd;

	(void)state;
	snprintf(flag, sizeof(flag), "%u %u", gb.flag.offset, gb.flag.mask);
	setenv("PROBETEST_FLAG", flag, 1);
	start(&r, "flagset", true, &fd, NULL, NULL);
	unsetenv("PROBETEST_FLAG");
	finish(&r, fd, true);
	assert_true(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 2);
	assert_int_equal(r.nfatal, 1);
	assert_string_equal(r.fatals[0].msg, "concurrent map writes");
	file = source_file(&r);
	clear_line = marker_line(file, "@flagclear");
	set_line = marker_line(file, "@flagset");
	for (size_t i = 0; i < r.nev; i++) {
		const struct gmt_event *e = &r.evs[i];
		const struct pcln_frame *f = site(&r, e->stack[0], frames);

		if (!in_main_go(f) || e->op != GMT_OP_ASSIGN)
			continue;
		if (f->line == clear_line) {
			assert_int_equal(e->flags & GMT_EV_WRITING, 0);
			nclear++;
		} else if (f->line == set_line) {
			assert_int_equal(e->flags & GMT_EV_WRITING,
					 GMT_EV_WRITING);
			nset++;
		}
	}
	assert_int_equal(nclear, 1);
	assert_int_equal(nset, 1);
	run_free(&r);
}

/* The newest op of all threads' histories. */
struct newest {
	struct gmt_hist_op op;
	uint64_t next_sum;
};

static void on_newest(void *ctx, uint32_t tid, const struct gmt_history *h)
{
	struct newest *nw = ctx;
	uint32_t n = h->next < GMT_HISTORY_LEN ? h->next : GMT_HISTORY_LEN;

	(void)tid;
	nw->next_sum += h->next;
	for (uint32_t i = 0; i < n; i++)
		if (h->ops[i].ts_ns > nw->op.ts_ns)
			nw->op = h->ops[i];
}

/*
 * A ring buffer too small, not drained while the program runs: the first
 * records are delivered, every other one is counted lost, and the flight
 * recorder still knows each thread's last operations.
 */
static void test_lost_counted(void **state)
{
	struct tracer_opts o = { .ringbuf_bytes = 64 << 10 };
	/* Each record is preceded by the ring buffer's 8-byte header. */
	size_t fits = (64 << 10) / (sizeof(struct gmt_event) + 8);
	struct pcln_frame frames[8];
	struct newest nw = { 0 };
	char line[256];
	struct run r;
	int in, out;
	FILE *f;

	(void)state;
	tracer_opts_set_ops(&o, ~0u);
	start(&r, "counts", true, &in, &out, &o);
	/* Its one line says the counts are done; it holds until stdin ends. */
	f = fdopen(out, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "800 0 1438800\n");
	read_bias(&r);
	assert_true(r.have_bias);
	fclose(f);
	finish(&r, in, false);
	assert_true(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	assert_int_equal(r.nev, fits);
	assert_true(r.lost > 4104 - fits);
	assert_true(tracer_histories(r.t, on_newest, &nw) >= 1);
	assert_int_equal(nw.next_sum, r.nev + r.lost);
	/* The program's last map operation, never delivered, is known. */
	assert_int_equal(nw.op.op, GMT_OP_ITER_NEXT);
	assert_non_null(site(&r, nw.op.stack[0], frames));
	assert_string_equal(frames[0].function, "main.rangeSum");
	assert_int_equal(frames[0].line,
			 marker_line(frames[0].file, "@range"));
	run_free(&r);
}

static void test_attach_errors(void **state)
{
	struct tracer_opts o = { .pid = 0 };
	struct errbuf err = { "" };
	struct gobin bad = gb;
	struct tracer *t;

	(void)state;
	/* Nothing asked for. */
	assert_int_equal(tracer_open(&t, &gb, &o, &err), -1);
	assert_null(t);
	assert_non_null(strstr(err.msg, "none of the runtime functions"));
	/* A binary that is not there: the error names the function. */
	o.ops[GMT_OP_ASSIGN] = true;
	snprintf(bad.path, sizeof(bad.path), "/nonexistent/gomaptrace-test");
	assert_int_equal(tracer_open(&t, &bad, &o, &err), -1);
	assert_non_null(strstr(err.msg, "cannot attach a uprobe to runtime.map"));
	assert_non_null(strstr(err.msg, "No such file"));
	/* A ring buffer the kernel would refuse. */
	o.ringbuf_bytes = 100000;
	assert_int_equal(tracer_open(&t, &gb, &o, &err), -1);
	assert_non_null(strstr(err.msg, "not a power of two"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_counts),
		cmocka_unit_test(test_all_threads),
		cmocka_unit_test(test_stack_growth),
		cmocka_unit_test(test_write_flag_and_fatal),
		cmocka_unit_test(test_write_flag_set_by_hand),
		cmocka_unit_test(test_lost_counted),
		cmocka_unit_test(test_attach_errors),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
