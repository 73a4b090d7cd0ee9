// SPDX-License-Identifier: MIT
/*
 * The text report, read top-down: what was traced; the crash, when there
 * was one (both sides, file:line, goroutine ids); then the findings, worst
 * first, each with its verdict, counts, conflicting sites and the gap
 * histogram; maps that need nothing (one writer) are only counted.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "crash.h"
#include "snapshot.h"
#include "report.h"
#include "textfmt.h"

#define DEFAULT_TOP_MAPS	10
#define DEFAULT_TOP_SITES	3
#define TOP_PAIRS		3
#define BAR_WIDTH		40
#define WRAP			96	/* columns of a verdict's lines */
#define WHERE_LEN		512	/* a site as printed */
#define PRIV_LINES		5	/* private-map groups shown */

struct style {
	const char *bold, *dim, *red, *off;
};

static const struct style plain = { "", "", "", "" };
static const struct style ansi = { "\033[1m", "\033[2m", "\033[31m",
				   "\033[0m" };

/* "dir/file.go": enough to find it, short enough for a terminal line. */
static const char *short_path(const char *path)
{
	const char *s = strrchr(path, '/');

	if (!s)
		return path;
	while (s > path && s[-1] != '/')
		s--;
	return s;
}

/* 1500 -> "1.5 us": a duration in the unit that reads best. */
static const char *human_ns(uint64_t ns, char *buf, size_t len)
{
	static const char *const unit[] = { "ns", "us", "ms", "s" };
	double v = ns;
	int u = 0;

	while (v >= 1000 && u < 3) {
		v /= 1000;
		u++;
	}
	snprintf(buf, len, v < 10 && u ? "%.1f %s" : "%.0f %s", v, unit[u]);
	return buf;
}

static void text_header(FILE *out, const struct trace *t,
			const struct analysis *an, const struct style *st)
{
	const struct trace_meta *m = &t->meta;
	char a[32], b[32];

	/* The path on a line of its own: the others stay short. */
	fprintf(out, "%sgomaptrace%s: %s\n", st->bold, st->off, safe_text(m->exe));
	fprintf(out, "pid %d, %s, %s maps; traced %.3f s: %s map operations, "
		"%s lost", m->pid,
		m->go_version[0] ? m->go_version : "Go version unknown",
		m->map_impl, an->duration_ns / 1e9,
		commas(an->nevents + t->dropped, a, sizeof(a)),
		commas(t->lost, b, sizeof(b)));
	if (t->lost)
		fprintf(out, " %s(the ring buffer was full: counts below are "
			"lower bounds; try --ringbuf-mb)%s", st->red, st->off);
	fputc('\n', out);
	if (m->nslow)
		fprintf(out, "%u of %u probes are single-stepped (slow)\n",
			m->nslow, m->nprobes);
	if (!t->complete)
		fprintf(out, "%sthe trace is incomplete (cut short)%s\n",
			st->red, st->off);
	if (m->exit_status >= 0)
		fprintf(out, "the target exited with status %d\n",
			m->exit_status);
}

/* "main.(*T).put (main.go:24)": the innermost frame of a stack's first PC. */
static void where_str(const struct trace *t, uint32_t stack,
		      const struct style *st, char *buf, size_t len)
{
	struct trace_where f = trace_stack_top(t, stack);

	if (!f.f) {
		snprintf(buf, len, f.pc ? "0x%" PRIx64 " (no symbol)" :
			 "(no stack)", f.pc);
		return;
	}
	snprintf(buf, len, "%s %s(%s:%u)%s", safe_text(f.f->function), st->dim,
		 safe_text(short_path(f.f->file)), f.f->line, st->off);
}

static void where(FILE *out, const struct trace *t, uint32_t stack,
		  const struct style *st)
{
	char buf[WHERE_LEN];

	where_str(t, stack, st, buf, sizeof(buf));
	fputs(buf, out);
}

static void text_ops(FILE *out, const struct an_map *m, double secs)
{
	static const unsigned order[] = { GMT_OP_ASSIGN, GMT_OP_DELETE,
					  GMT_OP_CLEAR, GMT_OP_ITER_INIT,
					  GMT_OP_ITER_NEXT };
	char c[32];
	bool first = true;

	fprintf(out, "   %s ops", commas(m->events, c, sizeof(c)));
	if (secs > 0)
		fprintf(out, " (%s/s)", commas((uint64_t)(m->ops_per_s + 0.5),
					       c, sizeof(c)));
	fputc(':', out);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!m->ops[order[i]])
			continue;
		fprintf(out, "%s %s %s", first ? "" : ",",
			commas(m->ops[order[i]], c, sizeof(c)),
			trace_op_name(order[i]));
		first = false;
	}
	fprintf(out, "; %u thread%s, %u goroutine%s\n", m->threads,
		m->threads == 1 ? "" : "s", m->goroutines,
		m->goroutines == 1 ? "" : "s");
}

static void text_handoffs(FILE *out, const struct an_map *m)
{
	char a[32], b[32], c[32], d[32];

	if (m->writer_goroutines < 2)
		return;
	fprintf(out, "   %s handoff%s (%s within %s), %s overlap%s",
		commas(m->handoffs, a, sizeof(a)), m->handoffs == 1 ? "" : "s",
		commas(m->tight_handoffs, b, sizeof(b)),
		human_ns(AN_TIGHT_NS, c, sizeof(c)),
		commas(m->overlaps, d, sizeof(d)), m->overlaps == 1 ? "" : "s");
	fputc('\n', out);
	/* Its own line: with wide counts the two no longer fit in 100. */
	if (m->handoffs)
		fprintf(out, "   two goroutines' writes %s apart at the "
			"closest\n", human_ns(m->min_gap_ns, a, sizeof(a)));
}

static void text_lines(FILE *out, const struct trace *t,
		       const struct an_map *m, size_t top,
		       const struct style *st)
{
	size_t shown = m->nlines < top ? m->nlines : top;
	char c[32];

	fprintf(out, "   %s:\n", m->nlines == 1 ? "site" : "top sites");
	for (size_t i = 0; i < shown; i++) {
		fprintf(out, "   %12s %-8s ", commas(m->lines[i].count, c,
						     sizeof(c)),
			trace_op_name(m->lines[i].op));
		where(out, t, m->lines[i].stack, st);
		fputc('\n', out);
	}
	if (shown < m->nlines)
		fprintf(out, "   ... and %zu more sites\n", m->nlines - shown);
}

/*
 * A site pair as printed. Sites are told apart by PC, but two PCs on one
 * line, or one line reached from two callers, print alike: such pairs
 * are one line of the report, their counts summed, so the reader never
 * sees "2 x A <-> B" above "1 x A <-> B".
 */
struct shown_pair {
	char a[WHERE_LEN], b[WHERE_LEN];
	uint64_t count, overlaps;
};

static void pair_text(const struct trace *t, const struct analysis *an,
		      const struct an_pair *p, const struct style *st,
		      struct shown_pair *sp)
{
	where_str(t, an->sites[p->a].stack, st, sp->a, sizeof(sp->a));
	if (p->b == AN_SITE_UNSEEN)
		snprintf(sp->b, sizeof(sp->b), "(a write that was not traced)");
	else
		where_str(t, an->sites[p->b].stack, st, sp->b, sizeof(sp->b));
	/* Another PC of the same line is the same site, to the reader. */
	if (p->b == p->a || !strcmp(sp->a, sp->b))
		snprintf(sp->b, sizeof(sp->b),
			 "the same site, in another goroutine");
	sp->count = p->count;
	sp->overlaps = p->overlaps;
}

/* A pair is unordered: "A <-> B" and "B <-> A" are one line. */
static bool same_lines(const struct shown_pair *x, const struct shown_pair *y)
{
	return (!strcmp(x->a, y->a) && !strcmp(x->b, y->b)) ||
	       (!strcmp(x->a, y->b) && !strcmp(x->b, y->a));
}

/* By overlaps, then count, as the analysis ranks pairs. */
static int cmp_shown(const void *pa, const void *pb)
{
	const struct shown_pair *a = pa, *b = pb;

	if (a->overlaps != b->overlaps)
		return a->overlaps < b->overlaps ? 1 : -1;
	if (a->count != b->count)
		return a->count < b->count ? 1 : -1;
	return 0;
}

/* m's pairs as printed, alike ones merged; NULL when out of memory. */
static struct shown_pair *merge_pairs(const struct trace *t,
				      const struct analysis *an,
				      const struct an_map *m,
				      const struct style *st, size_t *n)
{
	struct shown_pair *sp = calloc(m->npairs, sizeof(*sp)), cur;
	size_t k;

	*n = 0;
	if (!sp)
		return NULL;
	for (size_t i = 0; i < m->npairs; i++) {
		pair_text(t, an, &m->pairs[i], st, &cur);
		for (k = 0; k < *n; k++)
			if (same_lines(&sp[k], &cur))
				break;
		if (k == *n) {
			sp[(*n)++] = cur;
			continue;
		}
		sp[k].count += cur.count;
		sp[k].overlaps += cur.overlaps;
	}
	qsort(sp, *n, sizeof(*sp), cmp_shown);
	return sp;
}

static int text_pairs(FILE *out, const struct trace *t,
		      const struct analysis *an, const struct an_map *m,
		      const struct style *st)
{
	struct shown_pair *sp;
	size_t n, shown;
	char c[32], o[32];

	if (!m->npairs)
		return 0;
	sp = merge_pairs(t, an, m, st, &n);
	if (!sp)
		return -1;
	shown = n < TOP_PAIRS ? n : TOP_PAIRS;
	fprintf(out, "   who else writes it (site pairs, different "
		"goroutines):\n");
	for (size_t i = 0; i < shown; i++) {
		fprintf(out, "   %12s x      %s", commas(sp[i].count, c,
							  sizeof(c)), sp[i].a);
		if (sp[i].overlaps)
			fprintf(out, " %s%s overlapping%s", st->red,
				commas(sp[i].overlaps, o, sizeof(o)), st->off);
		fprintf(out, "\n   %12s   <->  %s\n", "", sp[i].b);
	}
	if (shown < n)
		fprintf(out, "   ... and %zu more pairs\n", n - shown);
	free(sp);
	return 0;
}

static void text_histogram(FILE *out, const struct an_map *m)
{
	int lo = -1, hi = -1;
	uint64_t max = 0;
	char label[32];

	for (int i = 0; i < AN_GAP_BUCKETS; i++) {
		if (!m->gap_hist[i])
			continue;
		if (lo < 0)
			lo = i;
		hi = i;
		if (m->gap_hist[i] > max)
			max = m->gap_hist[i];
	}
	if (lo < 0)
		return;
	fprintf(out, "   time since another goroutine's last write, at each "
		"write:\n");
	for (int i = lo; i <= hi; i++) {
		uint64_t n = m->gap_hist[i];
		int bar = (int)((n * BAR_WIDTH + max - 1) / max);

		human_ns(i ? 1ULL << i : 0, label, sizeof(label));
		fprintf(out, "   %10s+ |%-*.*s %" PRIu64 "\n", label, BAR_WIDTH,
			bar, "########################################", n);
	}
}

/* Words of text on lines of at most WRAP columns, after an indent. */
static void wrap(FILE *out, const char *text, const char *on,
		 const char *off)
{
	const char *p = text;

	while (*p) {
		size_t len = strlen(p), cut = len;

		if (len > WRAP - 3) {
			cut = WRAP - 3;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (!cut)
				cut = WRAP - 3;
		}
		fprintf(out, "   %s%.*s%s\n", on, (int)cut, p, off);
		p += cut;
		while (*p == ' ')
			p++;
	}
}

static int text_map(FILE *out, const struct trace *t,
		     const struct analysis *an, size_t rank,
		     const struct an_map *m, const struct report_opts *o,
		     const struct style *st)
{
	bool bad = m->verdict == AN_RACE || m->verdict == AN_ITER_RACE;
	size_t top_sites = o->top_sites > 0 ? (size_t)o->top_sites :
			   DEFAULT_TOP_SITES;
	char verdict[256];

	an_verdict_text(m, verdict, sizeof(verdict));
	fprintf(out, "\n%zu. %s%s%s at 0x%" PRIx64 "\n", rank, st->bold,
		m->type_name ? safe_text(m->type_name) : "map (type unknown)",
		st->off, m->addr);
	wrap(out, verdict, bad ? st->red : "", bad ? st->off : "");
	text_ops(out, m, an->duration_ns / 1e9);
	text_handoffs(out, m);
	text_lines(out, t, m, top_sites, st);
	if (an_verdict_hidden(m->verdict))
		return 0;
	if (text_pairs(out, t, an, m, st))
		return -1;
	text_histogram(out, m);
	return 0;
}

static int text_findings(FILE *out, const struct trace *t,
			  const struct analysis *an,
			  const struct report_opts *o, const struct style *st)
{
	size_t top = o->top_maps > 0 ? (size_t)o->top_maps : DEFAULT_TOP_MAPS;
	size_t upto = o->all ? an->nmaps : an->nfindings;
	size_t shown = upto < top ? upto : top;

	char c[32];

	if (!an->maps_seen && t->meta.ops_mask == (1u << GMT_OP_FATAL)) {
		/* The crash section says it when there was a crash. */
		if (!t->nfatals)
			fprintf(out, "\nmap operations were not traced "
				"(--crash-only)\n");
		return 0;
	}
	if (!an->maps_seen) {
		fprintf(out, "\nno map operations were seen\n");
		return 0;
	}
	if (!an->nfindings)
		fprintf(out, "\n%sno findings%s: %s map%s, none written by more "
			"than one goroutine at a time\n", st->bold, st->off,
			commas(an->maps_seen, c, sizeof(c)),
			an->maps_seen == 1 ? "" : "s");
	else
		fprintf(out, "\n%sFINDINGS%s: %zu of %s maps, worst first\n",
			st->bold, st->off, an->nfindings,
			commas(an->maps_seen, c, sizeof(c)));
	for (size_t i = 0; i < shown; i++)
		if (text_map(out, t, an, i + 1, &an->maps[i], o, st))
			return -1;
	if (shown < upto)
		fprintf(out, "\n... and %zu more (--top N shows more)\n",
			upto - shown);
	if (!o->all && an->nmaps > an->nfindings)
		fprintf(out, "\n%zu map%s with a single writer (or handed over "
			"once) not shown: --all shows them\n",
			an->nmaps - an->nfindings,
			an->nmaps - an->nfindings == 1 ? "" : "s");
	return 0;
}

/* Distinct types among the summaries (privs[] is short: by site). */
static size_t priv_types(const struct analysis *an)
{
	size_t n = 0;

	for (size_t i = 0; i < an->nprivs; i++) {
		size_t j;

		for (j = 0; j < i; j++)
			if (an->privs[j].type == an->privs[i].type)
				break;
		n += j == i;
	}
	return n;
}

/*
 * "244,905 private maps of 14 types; most operations:" then the busiest
 * (type, first site) groups, one line each.
 */
static void text_private(FILE *out, const struct trace *t,
			 const struct analysis *an, const struct style *st)
{
	size_t types = priv_types(an);
	size_t shown = an->nprivs < PRIV_LINES ? an->nprivs : PRIV_LINES;
	char a[32], b[32];

	if (!an->priv_maps)
		return;
	fprintf(out, "\n%s private map%s of %zu type%s (summarised: one "
		"goroutine, or no writes, or handed over once; %s "
		"operations); most operations:\n",
		commas(an->priv_maps, a, sizeof(a)),
		an->priv_maps == 1 ? "" : "s", types, types == 1 ? "" : "s",
		commas(an->priv_events, b, sizeof(b)));
	for (size_t i = 0; i < shown; i++) {
		const struct an_private *p = &an->privs[i];

		fprintf(out, "   %s from ", p->type_name ? p->type_name :
			"map (type unknown)");
		where(out, t, p->stack, st);
		fprintf(out, ", %s map%s, %.1f operations each\n",
			commas(p->maps, a, sizeof(a)), p->maps == 1 ? "" : "s",
			(double)p->events / p->maps);
	}
	if (shown < an->nprivs)
		fprintf(out, "   ... and %zu more (type, first site) groups "
			"(the JSON report lists them all)\n",
			an->nprivs - shown);
}

int report_text(const struct trace *t, const struct report_opts *o,
		FILE *out, struct errbuf *err)
{
	const struct style *st = o->color ? &ansi : &plain;
	struct analysis_opts ao = { .fold = !o->all };
	struct analysis own;
	const struct analysis *an = o->an;
	int ret;

	if (!an) {
		if (analysis_run(t, &ao, &own))
			return errbuf_set(err, "out of memory analysing the "
					  "trace");
		an = &own;
	}
	text_header(out, t, an, st);
	if (t->nfatals) {
		fputc('\n', out);
		crash_text(out, t, an->crash, o->color);
	}
	report_freeze_text(out, t);
	ret = text_findings(out, t, an, o, st);
	if (!ret)
		text_private(out, t, an, st);
	if (!o->an)
		analysis_free(&own);
	return ret ? errbuf_set(err, "out of memory writing the report") : 0;
}
