// SPDX-License-Identifier: MIT
/*
 * The crash section of the text report (crash.h): what an on-call
 * engineer needs first — the runtime's message, then both sides of the
 * race, file:line and goroutine ids, then each thread's last operations.
 */
#include <inttypes.h>
#include <string.h>

#include "crash.h"

#define SIDE_FRAMES	3	/* frames shown per side, innermost first */

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

/* Up to SIDE_FRAMES frames of a stack, with full file paths. */
static void side_frames(FILE *out, const struct trace *t, uint32_t stack,
			const struct crash_style *st)
{
	struct an_frame fr[AN_MAX_FRAMES];
	size_t n = an_stack_expand(t, stack, fr, AN_MAX_FRAMES), shown = 0;

	for (size_t i = 0; i < n && shown < SIDE_FRAMES; i++) {
		if (fr[i].f && !strcmp(fr[i].f->function, "runtime.goexit"))
			continue;
		if (fr[i].f)
			fprintf(out, "      %s  %s%s:%u%s\n", fr[i].f->function,
				st->dim, fr[i].f->file, fr[i].f->line, st->off);
		else
			fprintf(out, "      0x%" PRIx64 "  %s(no symbol)%s\n",
				fr[i].pc, st->dim, st->off);
		shown++;
	}
	if (!n)
		fprintf(out, "      %s(no stack: the unwind failed)%s\n",
			st->dim, st->off);
}

static void side(FILE *out, const struct trace *t, const struct crash *c,
		 const struct crash_thread *th, const struct crash_style *st)
{
	const struct crash_op *op = &th->ops[th->side];
	bool same = !th->crashing && th->tid == c->threads[0].tid;

	fprintf(out, "  %sgoroutine %" PRIu64 "%s (thread %u%s) %s %s%s\n",
		st->bold, th->goid, st->off, th->tid,
		same ? ", the same thread: preempted mid-write" : "",
		th->crashing ? "died in" : "was in", trace_op_name(op->op),
		op->flags & GMT_EV_WRITING ?
		", which began while another goroutine was writing" : ":");
	side_frames(out, t, op->stack, st);
}

static void op_where(const struct trace *t, uint32_t stack, char *buf,
		     size_t len)
{
	struct an_frame f = an_stack_top(t, stack);

	if (f.f)
		snprintf(buf, len, "%s %s:%u", f.f->function,
			 base(f.f->file), f.f->line);
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

static void title(FILE *out, const struct crash *c,
		  const struct crash_style *st)
{
	fprintf(out, "%sCRASH%s  the target died: %sfatal error: %s%s\n",
		st->red, st->off, st->bold, c->fatal->msg, st->off);
	if (c->has_map)
		fprintf(out, "  on %s at 0x%" PRIx64 "\n",
			c->type_name ? c->type_name : "a map (type unknown)",
			c->map);
}

void crash_text(FILE *out, const struct trace *t, const struct analysis *an,
		bool color)
{
	const struct crash_style *st = color ? &ansi : &plain;
	const struct crash_thread *other;
	struct crash c;

	if (!crash_analyze(t, an, &c))
		return;
	title(out, &c, st);
	if (c.threads[0].side >= 0)
		side(out, t, &c, &c.threads[0], st);
	else
		fprintf(out, "  goroutine %" PRIu64 " (thread %u) died\n",
			c.fatal->goid, c.fatal->tid);
	other = crash_other_side(&c);
	/* One side per goroutine: one that moved threads is listed once. */
	for (size_t i = 1; i < c.nthreads; i++) {
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = c.threads[j].side >= 0 &&
			       c.threads[j].goid == c.threads[i].goid;
		if (c.threads[i].side >= 0 && !seen)
			side(out, t, &c, &c.threads[i], st);
	}
	if (c.has_map && !other)
		fprintf(out, "  the other side was not traced: no other goroutine "
			"touched this map just before\n");
	fprintf(out, "  last map operations, oldest first, in ms before the "
		"crash (* on this map):\n");
	for (size_t i = 0; i < c.nthreads; i++)
		last_ops(out, t, &c, &c.threads[i], st);
}
