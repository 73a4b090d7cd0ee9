// SPDX-License-Identifier: MIT
/*
 * The crash section of the text report (crash.h): what an on-call
 * engineer needs first — the runtime's message, then both sides of the
 * race, file:line and goroutine ids, then each thread's last operations.
 */
#include <inttypes.h>
#include <string.h>

#include "report.h"
#include "textfmt.h"

#define SIDE_FRAMES	3	/* frames shown per side, innermost first */
#define DYING_FRAMES	6	/* the dying side's: it may sit deep in std */
#define WRAP_COLS	90

struct crash_style {
	const char *bold, *dim, *red, *off;
};

static const struct crash_style plain = { "", "", "", "" };
static const struct crash_style ansi = { "\033[1m", "\033[2m", "\033[31m",
					 "\033[0m" };

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Up to max frames of a side's op (from op->skip), full file paths. */
static void side_frames(FILE *out, const struct trace *t,
			const struct crash_op *op, size_t max,
			const struct crash_style *st)
{
	struct trace_where fr[TRACE_MAX_FRAMES];
	size_t n = crash_op_frames(t, op, fr, TRACE_MAX_FRAMES), shown = 0;

	for (size_t i = 0; i < n && shown < max; i++) {
		if (fr[i].f && !strcmp(fr[i].f->function, "runtime.goexit"))
			continue;
		if (fr[i].f)
			fprintf(out, "      %s  %s%s:%u%s\n",
				safe_text(fr[i].f->function), st->dim,
				safe_text(fr[i].f->file), fr[i].f->line, st->off);
		else
			fprintf(out, "      0x%" PRIx64 "  %s(no symbol)%s\n",
				fr[i].pc, st->dim, st->off);
		shown++;
	}
	if (!n)
		fprintf(out, "      %s(no stack: the unwind failed)%s\n",
			st->dim, st->off);
}

static double us_before(const struct crash *c, uint64_t ts)
{
	return (double)(c->fatal->ts_ns - ts) / 1e3;
}

static void dying_header(FILE *out, const struct crash *c,
			 const struct crash_style *st)
{
	const struct crash_thread *th = &c->threads[0];

	if (c->fatal->goid)
		fprintf(out, "  %sgoroutine %" PRIu64 "%s (thread %u) died",
			st->bold, c->fatal->goid, st->off, th->tid);
	else
		fprintf(out, "  %sthread %u%s (the runtime's own stack, no "
			"goroutine) died", st->bold, th->tid, st->off);
	if (c->in_func)
		fprintf(out, " in %s", safe_text(c->in_func));
	if (c->op != CRASH_OP_UNKNOWN)
		fprintf(out, " (%s)", crash_op_name(c->op));
}

/*
 * The dying thread's own stack at the fatal call, always: from the user's
 * statement on, or all of it when every frame is the runtime's.
 */
static void dying_side(FILE *out, const struct trace *t,
		       const struct crash *c, const struct crash_style *st)
{
	const struct crash_op *op = crash_side_op(c, &c->threads[0]);
	uint32_t fs = c->fatal->stack;

	dying_header(out, c, st);
	if (fs < t->nstacks && t->stacks[fs].n) {
		fprintf(out, ", its own stack at the fatal call%s:\n",
			c->user_frame < 0 ? " (all of it the runtime's)" : "");
		struct crash_op own = { .stack = fs, .skip = c->user_frame < 0 ?
					0 : (uint8_t)c->user_frame };

		side_frames(out, t, &own, DYING_FRAMES, st);
		return;
	}
	if (!op || !c->dying_op_probed) {
		fprintf(out, " (no stack: the unwind failed)\n");
		return;
	}
	fprintf(out, "; its stack was not read, its last %s on the map "
		"%.1f us before:\n", trace_op_name(op->op),
		us_before(c, op->ts_ns));
	side_frames(out, t, op, SIDE_FRAMES, st);
}

static const char *touched(unsigned op)
{
	switch (op) {
	case GMT_OP_ASSIGN: return "wrote";
	case GMT_OP_DELETE: return "deleted from";
	case GMT_OP_CLEAR: return "cleared";
	default: return "iterated";
	}
}

/* Another side: "was in" only with the write flag's evidence. */
static void other_side(FILE *out, const struct trace *t,
		       const struct crash *c, const struct crash_thread *th,
		       const struct crash_style *st)
{
	const struct crash_op *op = crash_side_op(c, th);
	bool same = th->tid == c->threads[0].tid;
	bool flag = crash_was_in(th);

	if (th->goid)
		fprintf(out, "  %sgoroutine %" PRIu64 "%s (thread %u%s) ",
			st->bold, th->goid, st->off, th->tid, !same ? "" :
			flag ? ", the same thread: preempted mid-write" :
			", the same thread");
	else
		fprintf(out, "  %sthread %u%s (goroutine unknown) ", st->bold,
			th->tid, st->off);
	if (th->frozen_side && th->frozen_map_known)
		fprintf(out, "was in %s (the crash guard froze it inside %s on "
			"this map):\n", crash_op_name(op->op),
			safe_text(th->frozen_in));
	else if (th->frozen_side && th->evidence == CRASH_EV_AT_CALL)
		fprintf(out, "was at its call to %s (the crash guard froze it "
			"outside the map function, a few instructions before "
			"or just after the call; which map is not known):\n", safe_text(th->frozen_in));
	else if (th->frozen_side)
		fprintf(out, "was inside %s (the crash guard froze it inside "
			"a map function; map not recoverable):\n",
			safe_text(th->frozen_in));
	else if (th->evidence == CRASH_EV_FROZEN)
		fprintf(out, "was in %s (the crash guard froze it inside %s on "
			"this map; it began %.1f us before the crash):\n",
			trace_op_name(op->op), safe_text(th->frozen_in),
			us_before(c, op->ts_ns));
	else if (th->evidence == CRASH_EV_FLAG_OWN)
		fprintf(out, "was in %s while another write was in progress "
			"(the write flag was set when it began, %.1f us before "
			"the crash):\n", trace_op_name(op->op),
			us_before(c, op->ts_ns));
	else if (th->evidence == CRASH_EV_FLAG_OTHER)
		fprintf(out, "was in %s (the write flag was set when goroutine "
			"%" PRIu64 "'s %s began, %.1f us after this one began):\n",
			trace_op_name(op->op), th->flag_goid,
			crash_op_name(c->fatal_op.op),
			(double)(c->fatal_op.ts_ns - op->ts_ns) / 1e3);
	else
		fprintf(out, "last %s this map %.1f us before the crash (%s; no "
			"evidence it was still in it):\n", touched(op->op),
			us_before(c, op->ts_ns), trace_op_name(op->op));
	side_frames(out, t, op, SIDE_FRAMES, st);
}

static void op_where(const struct trace *t, uint32_t stack, char *buf,
		     size_t len)
{
	struct trace_where f = trace_stack_top(t, stack);

	if (f.f)
		snprintf(buf, len, "%s %s:%u", safe_text(f.f->function),
			 safe_text(base(f.f->file)), f.f->line);
	else if (f.pc)
		snprintf(buf, len, "0x%" PRIx64, f.pc);
	else
		snprintf(buf, len, "(no stack)");
}

static bool same_run(const struct crash_op *a, const struct crash_op *b)
{
	return a->op == b->op && a->map == b->map && a->stack == b->stack &&
	       a->goid == b->goid && !(b->flags & GMT_EV_WRITING);
}

/* A thread's last ops, oldest first; repeats of one op fold into one. */
static void last_ops(FILE *out, const struct trace *t, const struct crash *c,
		     const struct crash_thread *th,
		     const struct crash_style *st)
{
	uint64_t at = c->fatal->ts_ns;

	fprintf(out, "    thread %u, goroutine %" PRIu64 "%s:\n", th->tid,
		th->goid, th->crashing ? " (died)" : "");
	if (!th->nops)
		fprintf(out, "      (none recorded)\n");
	for (uint32_t i = 0; i < th->nops;) {
		const struct crash_op *op = &th->ops[i];
		uint32_t j = i + 1;
		char where[512];

		while (j < th->nops && same_run(op, &th->ops[j]))
			j++;
		op_where(t, op->stack, where, sizeof(where));
		fprintf(out, "      %9.3f ms %s %-8s %s", -(double)(at - op->ts_ns)
			/ 1e6, c->has_map && op->map == c->map &&
			op->op != GMT_OP_FATAL ? "*" : " ",
			trace_op_name(op->op), where);
		if (j - i > 1)
			fprintf(out, " %s(x%u, the last at %.3f ms)%s", st->dim,
				j - i, -(double)(at - th->ops[j - 1].ts_ns) /
				1e6, st->off);
		if (op->flags & GMT_EV_WRITING)
			fprintf(out, " %s(flag set)%s", st->red, st->off);
		fputc('\n', out);
		i = j;
	}
}

/* A sentence in dim, cut at spaces to fit WRAP_COLS, the rest indented. */
static void wrapped(FILE *out, const char *lead, const char *text,
		    const struct crash_style *st)
{
	size_t col = strlen(lead);

	fprintf(out, "%s%s", st->dim, lead);
	while (*text) {
		size_t w = strcspn(text, " ");

		if (col + w > WRAP_COLS && col > 4) {
			fputs("\n   ", out);
			col = 3;
		}
		fprintf(out, " %.*s", (int)w, text);
		col += w + 1;
		text += w;
		text += strspn(text, " ");
	}
	fprintf(out, "%s\n", st->off);
}

static void title(FILE *out, const struct crash *c,
		  const struct crash_style *st)
{
	char why[256];

	fprintf(out, "%sCRASH%s  the target died: %sfatal error: %s%s\n",
		st->red, st->off, st->bold, safe_text(c->fatal->msg), st->off);
	if (!c->has_map)
		return;
	fprintf(out, "  on %s at 0x%" PRIx64 "\n",
		c->type_name ? safe_text(c->type_name) : "a map (type unknown)",
		c->map);
	if (c->map_from == CRASH_MAP_FROZEN_SIDE) {
		wrapped(out, "  found by the crash guard:", "another thread, "
			"frozen inside a map function, held it in its argument "
			"spill slots (the dying thread's frame no longer did)",
			st);
		return;
	}
	if (c->map_from == CRASH_MAP_FROZEN) {
		wrapped(out, "  found by the crash guard:", "the dying thread, "
			"frozen, still held it in its map function's argument "
			"spill slots", st);
		return;
	}
	if (c->op != CRASH_OP_READ && c->map_from == CRASH_MAP_DYING_OP)
		return;
	snprintf(why, sizeof(why), "%s; %s",
		 c->map_from == CRASH_MAP_FLAGGED_OP ?
		 "the last one an operation found being written" :
		 "the one another goroutine wrote last before the crash",
		 c->op == CRASH_OP_READ ? "reads are not probed, and at the "
		 "fatal call the reader's registers no longer hold the map" :
		 "the dying goroutine's own operation was not traced");
	wrapped(out, "  which map is a guess:", why, st);
}

/*
 * No other side: without the history, the crash guard saw every thread,
 * so the other goroutine was on none (preempted mid-write, or the race was
 * with a goroutine between operations).
 */
static void no_other_side(FILE *out, const struct crash *c,
			  const struct crash_style *st)
{
	if (c->ops_traced && c->has_map)
		fprintf(out, "  the other side was not traced: no other "
			"goroutine touched this map just before\n");
	else if (c->ops_traced)
		fprintf(out, "  the other side was not traced: which map is "
			"not known\n");
	else if (c->frozen)
		wrapped(out, "  the other side was not running on a CPU:", "no "
			"other thread was frozen inside a map function (a "
			"goroutine preempted in the middle of a write is on no "
			"thread; map operations were not traced: --crash-only)",
			st);
	else
		wrapped(out, "  the other side is not known:", "map "
			"operations were not traced (--crash-only) and the "
			"process was not frozen", st);
}

void crash_text(FILE *out, const struct trace *t, const struct crash *c,
		bool color)
{
	const struct crash_style *st = color ? &ansi : &plain;
	const struct crash_thread *other;

	if (!c)
		return;
	title(out, c, st);
	dying_side(out, t, c, st);
	other = crash_other_side(c);
	/* One side per goroutine: one that moved threads is listed once. */
	for (size_t i = 1; i < c->nthreads; i++) {
		bool seen = c->threads[i].goid == c->fatal->goid;

		for (size_t j = 1; j < i && !seen; j++)
			seen = crash_has_side(&c->threads[j]) &&
			       c->threads[j].goid == c->threads[i].goid;
		if (crash_has_side(&c->threads[i]) && (!seen ||
						       !c->threads[i].goid))
			other_side(out, t, c, &c->threads[i], st);
	}
	if (c->map_error && !other)
		no_other_side(out, c, st);
	if (c->map_error)
		wrapped(out, "  the write flag:", crash_flag_note(c), st);
	if (!c->ops_traced) {
		fputs("  map operations were not traced (--crash-only)\n",
		      out);
		return;
	}
	fprintf(out, "  last map operations, oldest first, in ms before the "
		"crash (* on this map):\n");
	for (size_t i = 0; i < c->nthreads; i++)
		last_ops(out, t, c, &c->threads[i], st);
}
