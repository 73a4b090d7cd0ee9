// SPDX-License-Identifier: MIT
/*
 * The text report: what was traced, then each map, busiest first, with
 * its operations, who touched it and from where.
 */
#include <inttypes.h>
#include <string.h>

#include "report.h"

#define DEFAULT_TOP_MAPS	10
#define DEFAULT_TOP_SITES	5

struct style {
	const char *bold, *dim, *red, *off;
};

static const struct style plain = { "", "", "", "" };
static const struct style ansi = { "\033[1m", "\033[2m", "\033[31m",
				   "\033[0m" };

/* 1234567 -> "1,234,567" */
static const char *commas(uint64_t v, char *buf, size_t len)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
	size_t j = 0;

	for (int i = 0; i < n && j + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[j++] = ',';
		buf[j++] = tmp[i];
	}
	buf[j] = '\0';
	return buf;
}

/* The file name without its directories: the line fits a terminal. */
static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static void text_header(FILE *out, const struct trace *t,
			const struct trace_summary *s, const struct style *st)
{
	const struct trace_meta *m = &t->meta;
	char a[32], b[32];

	fprintf(out, "%sgomaptrace%s: pid %d, %s (%s, %s maps)\n", st->bold,
		st->off, m->pid, m->exe,
		m->go_version[0] ? m->go_version : "Go version unknown",
		m->map_impl);
	fprintf(out, "traced %.3f s: %s map operations, %s lost",
		s->duration_ns / 1e9, commas(s->events, a, sizeof(a)),
		commas(t->lost, b, sizeof(b)));
	if (t->lost)
		fprintf(out, " %s(the ring buffer was full: counts below are "
			"lower bounds; try --ringbuf-mb)%s", st->red, st->off);
	fputc('\n', out);
	if (m->nslow)
		fprintf(out, "%u of %u probes sit at a function entry "
			"(single-stepped, slower)\n", m->nslow, m->nprobes);
	if (!t->complete)
		fprintf(out, "%sthe trace is incomplete (cut short)%s\n",
			st->red, st->off);
}

static void text_fatals(FILE *out, const struct trace *t,
			const struct style *st)
{
	for (size_t i = 0; i < t->nfatals; i++) {
		const struct trace_fatal *f = &t->fatals[i];
		const struct trace_stack *s = &t->stacks[f->stack];
		const struct trace_frame *fr = NULL;
		uint32_t n = 0;

		/* pc[0] is in the runtime; the map op's caller is further up. */
		for (uint32_t j = 0; j < s->n && !n; j++) {
			fr = trace_pc_frames(t, s->pc[j], &n);
			if (n && !strncmp(fr[n - 1].function, "runtime.", 8))
				n = 0;
		}
		fprintf(out, "%sthe target died: fatal error: %s%s (thread %u, "
			"goroutine %" PRIu64 ")", st->red, f->msg, st->off,
			f->tid, f->goid);
		if (n)
			fprintf(out, " in %s at %s:%u", fr[0].function,
				base(fr[0].file), fr[0].line);
		fputc('\n', out);
	}
	if (t->meta.exit_status >= 0)
		fprintf(out, "the target exited with status %d\n",
			t->meta.exit_status);
}

static void text_site(FILE *out, const struct trace *t,
		      const struct trace_site *s, const struct style *st)
{
	uint32_t n;
	const struct trace_frame *f = trace_pc_frames(t, s->pc, &n);
	char c[32];

	fprintf(out, "    %12s %-9s ", commas(s->count, c, sizeof(c)),
		trace_op_name(s->op));
	if (!n) {
		fprintf(out, "%s\n", s->pc ? "(unknown function)" :
			"(no stack)");
		return;
	}
	fprintf(out, "%s %s(%s:%u)%s\n", f[0].function, st->dim, f[0].file,
		f[0].line, st->off);
	for (uint32_t i = 1; i < n; i++)
		fprintf(out, "    %12s %-9s   inlined in %s %s(%s:%u)%s\n", "",
			"", f[i].function, st->dim, base(f[i].file),
			f[i].line, st->off);
}

static void text_ops(FILE *out, const struct trace_map *m)
{
	static const unsigned order[] = { GMT_OP_ASSIGN, GMT_OP_DELETE,
					  GMT_OP_CLEAR, GMT_OP_ITER_INIT,
					  GMT_OP_ITER_NEXT };
	char c[32];
	bool first = true;

	fprintf(out, "  %s operations:", commas(m->events, c, sizeof(c)));
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!m->ops[order[i]])
			continue;
		fprintf(out, "%s %s %s", first ? "" : ",",
			commas(m->ops[order[i]], c, sizeof(c)),
			trace_op_name(order[i]));
		first = false;
	}
	fputc('\n', out);
}

static void text_map(FILE *out, const struct trace *t,
		     const struct trace_map_summary *ms, int top_sites,
		     const struct style *st)
{
	size_t shown = ms->nsites < (size_t)top_sites ? ms->nsites :
		       (size_t)top_sites;

	fprintf(out, "\n%s%s%s ", st->bold,
		ms->type_name ? ms->type_name : "map (type unknown)", st->off);
	if (ms->map->addr)
		fprintf(out, "at 0x%" PRIx64 "\n", ms->map->addr);
	else
		fprintf(out, "(nil maps)\n");
	text_ops(out, ms->map);
	fprintf(out, "  %u thread%s, %u goroutine%s\n", ms->threads,
		ms->threads == 1 ? "" : "s", ms->goroutines,
		ms->goroutines == 1 ? "" : "s");
	fprintf(out, "  %s:\n", ms->nsites == 1 ? "site" : "top sites");
	for (size_t i = 0; i < shown; i++)
		text_site(out, t, &ms->sites[i], st);
	if (shown < ms->nsites)
		fprintf(out, "    ... and %zu more sites\n",
			ms->nsites - shown);
}

int report_text(const struct trace *t, const struct report_opts *o,
		FILE *out, struct errbuf *err)
{
	const struct style *st = o->color ? &ansi : &plain;
	int top_maps = o->top_maps > 0 ? o->top_maps : DEFAULT_TOP_MAPS;
	int top_sites = o->top_sites > 0 ? o->top_sites : DEFAULT_TOP_SITES;
	struct trace_summary s;
	size_t shown;

	if (trace_summarize(t, &s))
		return errbuf_set(err, "out of memory summarising the trace");
	text_header(out, t, &s, st);
	text_fatals(out, t, st);
	if (!s.nmaps)
		fprintf(out, "\nno map operations were seen\n");
	shown = s.nmaps < (size_t)top_maps ? s.nmaps : (size_t)top_maps;
	for (size_t i = 0; i < shown; i++)
		text_map(out, t, &s.maps[i], top_sites, st);
	if (shown < s.nmaps)
		fprintf(out, "\n... and %zu more maps (--format json lists "
			"them all)\n", s.nmaps - shown);
	trace_summary_free(&s);
	return 0;
}
