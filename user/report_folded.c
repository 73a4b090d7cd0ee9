// SPDX-License-Identifier: MIT
/* Folded stacks (export.h), the input of flamegraph.pl et al. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "textfmt.h"

struct folded_line {
	char *text;
	uint64_t weight;
};

int export_weight_parse(const char *s)
{
	if (!strcmp(s, "ops"))
		return EXPORT_W_OPS;
	if (!strcmp(s, "handoffs"))
		return EXPORT_W_HANDOFFS;
	if (!strcmp(s, "overlaps"))
		return EXPORT_W_OVERLAPS;
	return -1;
}

static uint64_t event_weight(const struct analysis *an, size_t i,
			     enum export_weight w)
{
	switch (w) {
	case EXPORT_W_HANDOFFS:
		return !!(an->ev_flags[i] & AN_EV_HANDOFF);
	case EXPORT_W_OVERLAPS:
		return !!(an->ev_flags[i] & AN_EV_OVERLAP);
	default:
		return 1;
	}
}

/*
 * One frame of a folded line: ' ' separates the count and ';' the frames,
 * so those become '_' and ':'; control characters (a newline would start a
 * new stack) and invalid UTF-8 are escaped as in the text report.
 */
static void put_name(FILE *f, const char *s)
{
	for (const char *p = safe_text(s); *p; p++) {
		if (*p == ' ')
			fputc('_', f);
		else if (*p == ';')
			fputc(':', f);
		else
			fputc(*p, f);
	}
}

/* Root first: the expansion is innermost first, so walk it backwards. */
static char *stack_text(const struct trace *t, uint32_t stack)
{
	struct trace_where fr[TRACE_MAX_FRAMES];
	size_t n = trace_stack_expand(t, stack, fr, TRACE_MAX_FRAMES), len = 0;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	if (!n)
		fputs("[unknown]", f);
	for (size_t i = n; i > 0; i--) {
		if (i != n)
			fputc(';', f);
		if (fr[i - 1].f)
			put_name(f, fr[i - 1].f->function);
		else
			fprintf(f, "0x%" PRIx64, fr[i - 1].pc);
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int cmp_line(const void *pa, const void *pb)
{
	const struct folded_line *a = pa, *b = pb;

	return strcmp(a->text, b->text);
}

static int collect(const struct trace *t, const uint64_t *w,
		   struct folded_line *lines, size_t *n)
{
	*n = 0;
	for (size_t s = 0; s < t->nstacks; s++) {
		if (!w[s])
			continue;
		lines[*n].text = stack_text(t, s);
		if (!lines[*n].text)
			return -1;
		lines[(*n)++].weight = w[s];
	}
	return 0;
}

/* Stacks of different PCs can read the same: merge them. */
static void print_lines(FILE *out, struct folded_line *lines, size_t n)
{
	qsort(lines, n, sizeof(*lines), cmp_line);
	for (size_t i = 0; i < n;) {
		uint64_t sum = 0;
		size_t j;

		for (j = i; j < n && !strcmp(lines[j].text, lines[i].text); j++)
			sum += lines[j].weight;
		fprintf(out, "%s %" PRIu64 "\n", lines[i].text, sum);
		i = j;
	}
}

int export_folded(FILE *out, const struct trace *t, const struct analysis *an,
		  const struct export_opts *o, struct errbuf *err)
{
	uint64_t *w = calloc(t->nstacks + 1, sizeof(*w));
	struct folded_line *lines = calloc(t->nstacks + 1, sizeof(*lines));
	size_t n = 0;
	int ret = -1;

	if (!w || !lines) {
		errbuf_set(err, "out of memory writing folded stacks");
		goto out;
	}
	for (size_t i = 0; i < t->nevents && i < an->nevents; i++) {
		if (o->top && an->ev_map[i] >= o->top)
			continue;
		w[t->events[i].stack] += event_weight(an, i, o->weight);
	}
	if (collect(t, w, lines, &n)) {
		errbuf_set(err, "out of memory writing folded stacks");
		goto out;
	}
	print_lines(out, lines, n);
	if (fflush(out) || ferror(out))
		errbuf_set(err, "cannot write folded stacks: %s", strerror(errno));
	else
		ret = 0;
out:
	for (size_t i = 0; lines && i < n; i++)
		free(lines[i].text);
	free(lines);
	free(w);
	return ret;
}
