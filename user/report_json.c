// SPDX-License-Identifier: MIT
/*
 * The JSON report, schema gomaptrace.report/1 (docs/report-schema.md).
 * Later versions add keys; none is renamed or changes meaning.
 */
#define _GNU_SOURCE	/* qsort_r */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "crash.h"
#include "json_writer.h"
#include "report.h"
#include "snapshot.h"

static void json_frame(struct json_writer *jw, const struct trace_where *f)
{
	char pc[32];

	jw_start_object(jw);
	if (f->f) {
		jw_kv_string(jw, "function", f->f->function);
		jw_kv_string(jw, "file", f->f->file);
		jw_kv_uint(jw, "line", f->f->line);
		jw_kv_bool(jw, "inlined", f->f->inlined);
	} else {
		snprintf(pc, sizeof(pc), "0x%" PRIx64, f->pc);
		jw_kv_string(jw, "function", pc);
		jw_kv_string(jw, "file", "");
		jw_kv_uint(jw, "line", 0);
		jw_kv_bool(jw, "inlined", false);
	}
	jw_end_object(jw);
}

/* The frames of one PC (a site's line), innermost first. */
static void json_pc_frames(struct json_writer *jw, const struct trace *t,
			   uint64_t pc)
{
	uint32_t n;
	const struct trace_frame *f = trace_pc_frames(t, pc, &n);

	jw_key(jw, "frames");
	jw_start_array(jw);
	for (uint32_t i = 0; i < n; i++) {
		struct trace_where af = { pc, &f[i] };

		json_frame(jw, &af);
	}
	jw_end_array(jw);
}

/* A stack, every PC expanded, innermost first, from frame skip on. */
static void json_stack_frames_from(struct json_writer *jw,
				   const struct trace *t, uint32_t stack,
				   size_t skip)
{
	struct trace_where fr[TRACE_MAX_FRAMES];
	size_t n = trace_stack_expand(t, stack, fr, TRACE_MAX_FRAMES);

	jw_key(jw, "frames");
	jw_start_array(jw);
	for (size_t i = skip; i < n; i++)
		json_frame(jw, &fr[i]);
	jw_end_array(jw);
}

static void json_stack_frames(struct json_writer *jw, const struct trace *t,
			      uint32_t stack)
{
	json_stack_frames_from(jw, t, stack, 0);
}

static void json_line(struct json_writer *jw, const struct trace *t,
		      const struct an_line *l)
{
	const struct trace_stack *st = &t->stacks[l->stack];
	uint64_t pc = st->n ? st->pc[0] : 0;

	jw_start_object(jw);
	jw_kv_string(jw, "op", trace_op_name(l->op));
	jw_kv_uint(jw, "count", l->count);
	jw_kv_hex(jw, "pc", pc);
	json_pc_frames(jw, t, pc);
	jw_kv_uint(jw, "overlaps", l->overlaps);
	jw_end_object(jw);
}

static void json_ops(struct json_writer *jw, const struct an_map *m)
{
	jw_key(jw, "ops");
	jw_start_object(jw);
	jw_kv_uint(jw, "assign", m->ops[GMT_OP_ASSIGN]);
	jw_kv_uint(jw, "delete", m->ops[GMT_OP_DELETE]);
	jw_kv_uint(jw, "clear", m->ops[GMT_OP_CLEAR]);
	jw_kv_uint(jw, "iterate", m->ops[GMT_OP_ITER_INIT]);
	jw_kv_uint(jw, "iter_next", m->ops[GMT_OP_ITER_NEXT]);
	jw_end_object(jw);
}

/* Times in the report count from the start of tracing. */
static uint64_t rel_ns(const struct trace *t, uint64_t ts)
{
	return ts >= t->meta.start_ns ? ts - t->meta.start_ns : 0;
}

static void json_histogram(struct json_writer *jw, const struct an_map *m)
{
	jw_key(jw, "gap_histogram");
	jw_start_array(jw);
	for (int i = 0; i < AN_GAP_BUCKETS; i++) {
		if (!m->gap_hist[i])
			continue;
		jw_start_object(jw);
		jw_kv_uint(jw, "ge_ns", i ? 1ULL << i : 0);
		jw_kv_uint(jw, "lt_ns", 2ULL << i);
		jw_kv_uint(jw, "count", m->gap_hist[i]);
		jw_end_object(jw);
	}
	jw_end_array(jw);
}

static void json_site(struct json_writer *jw, const struct trace *t,
		      const struct analysis *an, const char *key,
		      uint32_t site)
{
	jw_key(jw, key);
	if (site == AN_SITE_UNSEEN || site >= an->nsites) {
		jw_null(jw);
		return;
	}
	jw_start_object(jw);
	json_stack_frames(jw, t, an->sites[site].stack);
	jw_end_object(jw);
}

static void json_conflicts(struct json_writer *jw, const struct trace *t,
			   const struct analysis *an, const struct an_map *m)
{
	jw_key(jw, "conflicts");
	jw_start_array(jw);
	for (size_t i = 0; i < m->npairs; i++) {
		jw_start_object(jw);
		json_site(jw, t, an, "a", m->pairs[i].a);
		json_site(jw, t, an, "b", m->pairs[i].b);
		jw_kv_uint(jw, "count", m->pairs[i].count);
		jw_kv_uint(jw, "overlaps", m->pairs[i].overlaps);
		jw_end_object(jw);
	}
	jw_end_array(jw);
}

static void json_contention(struct json_writer *jw, const struct trace *t,
			    const struct analysis *an, const struct an_map *m)
{
	char text[512];

	jw_kv_uint(jw, "writes", m->writes);
	jw_key(jw, "writers");
	jw_start_object(jw);
	jw_kv_uint(jw, "threads", m->writer_threads);
	jw_kv_uint(jw, "goroutines", m->writer_goroutines);
	jw_end_object(jw);
	jw_kv_double(jw, "ops_per_s", m->ops_per_s);
	jw_kv_uint(jw, "handoffs", m->handoffs);
	jw_kv_uint(jw, "tight_handoffs", m->tight_handoffs);
	jw_kv_double(jw, "handoffs_per_s", m->handoffs_per_s);
	jw_kv_uint(jw, "overlaps", m->overlaps);
	jw_kv_uint(jw, "write_overlaps", m->write_overlaps);
	jw_kv_uint(jw, "iter_conflicts", m->iter_conflicts);
	jw_kv_uint(jw, "min_gap_ns", m->min_gap_ns);
	json_histogram(jw, m);
	jw_kv_string(jw, "verdict", an_verdict_name(m->verdict));
	an_verdict_text(m, text, sizeof(text));
	jw_kv_string(jw, "verdict_text", text);
	jw_kv_bool(jw, "hidden", an_verdict_hidden(m->verdict));
	jw_kv_bool(jw, "crashed", m->crash_msg != NULL);
	json_conflicts(jw, t, an, m);
}

static void json_map(struct json_writer *jw, const struct trace *t,
		     const struct analysis *an, const struct an_map *m)
{
	jw_start_object(jw);
	jw_kv_hex(jw, "addr", m->addr);
	jw_key(jw, "type");
	if (m->type_name)
		jw_string(jw, m->type_name);
	else
		jw_null(jw);
	jw_kv_hex(jw, "type_addr", m->type);
	jw_kv_uint(jw, "events", m->events);
	json_ops(jw, m);
	jw_kv_uint(jw, "threads", m->threads);
	jw_kv_uint(jw, "goroutines", m->goroutines);
	jw_kv_uint(jw, "first_ns", rel_ns(t, m->first_ns));
	jw_kv_uint(jw, "last_ns", rel_ns(t, m->last_ns));
	jw_key(jw, "sites");
	jw_start_array(jw);
	for (size_t i = 0; i < m->nlines; i++)
		json_line(jw, t, &m->lines[i]);
	jw_end_array(jw);
	jw_kv_uint(jw, "generation", m->generation);
	json_contention(jw, t, an, m);
	jw_end_object(jw);
}

static void json_target(struct json_writer *jw, const struct trace *t)
{
	const struct trace_meta *m = &t->meta;

	jw_key(jw, "target");
	jw_start_object(jw);
	jw_kv_int(jw, "pid", m->pid);
	jw_kv_string(jw, "exe", m->exe);
	jw_key(jw, "go_version");
	if (m->go_version[0])
		jw_string(jw, m->go_version);
	else
		jw_null(jw);
	jw_kv_string(jw, "map_impl", m->map_impl);
	jw_key(jw, "exit_status");
	if (m->exit_status >= 0)
		jw_int(jw, m->exit_status);
	else
		jw_null(jw);
	jw_end_object(jw);
}

/* ---- the crash ----------------------------------------------------------- */

static void json_str_or_null(struct json_writer *jw, const char *key,
			     const char *s)
{
	jw_key(jw, key);
	if (s)
		jw_string(jw, s);
	else
		jw_null(jw);
}


static void json_crash_op_frames(struct json_writer *jw,
				 const struct trace *t,
				 const struct crash_op *op)
{
	struct trace_where fr[TRACE_MAX_FRAMES];
	size_t n = crash_op_frames(t, op, fr, TRACE_MAX_FRAMES);

	jw_key(jw, "frames");
	jw_start_array(jw);
	for (size_t i = 0; i < n; i++)
		json_frame(jw, &fr[i]);
	jw_end_array(jw);
}

static void json_crash_op(struct json_writer *jw, const struct trace *t,
			  const struct crash_op *op)
{
	jw_start_object(jw);
	jw_kv_string(jw, "op", crash_op_name(op->op));
	jw_kv_hex(jw, "map", op->map);
	jw_kv_uint(jw, "time_ns", rel_ns(t, op->ts_ns));
	jw_kv_uint(jw, "goroutine", op->goid);
	jw_kv_bool(jw, "writing", op->flags & GMT_EV_WRITING);
	jw_kv_bool(jw, "traced", !op->snap);
	json_crash_op_frames(jw, t, op);
	jw_end_object(jw);
}

static void json_crash_thread(struct json_writer *jw, const struct trace *t,
			      const struct crash *c,
			      const struct crash_thread *th)
{
	const struct crash_op *side = crash_side_op(c, th);

	jw_start_object(jw);
	jw_kv_uint(jw, "tid", th->tid);
	jw_kv_uint(jw, "goroutine", th->crashing ? c->fatal->goid : th->goid);
	jw_kv_bool(jw, "crashing", th->crashing);
	jw_key(jw, "side");
	if (side)
		json_crash_op(jw, t, side);
	else
		jw_null(jw);
	jw_kv_string(jw, "evidence", crash_evidence_name(th->evidence));
	jw_kv_bool(jw, "was_in", crash_was_in(th));
	json_str_or_null(jw, "frozen_in", th->frozen_in);
	jw_key(jw, "frozen_map_known");
	if (th->evidence == CRASH_EV_FROZEN ||
	    th->evidence == CRASH_EV_AT_CALL)
		jw_bool(jw, th->frozen_map_known);
	else
		jw_null(jw);
	jw_key(jw, "ns_before_crash");
	if (side)
		jw_uint(jw, c->fatal->ts_ns - side->ts_ns);
	else
		jw_null(jw);
	jw_key(jw, "last_ops");
	jw_start_array(jw);
	for (uint32_t i = 0; i < th->nops; i++)
		json_crash_op(jw, t, &th->ops[i]);
	jw_end_array(jw);
	jw_end_object(jw);
}

/* The dying thread's own stack and what it shows. */
static void json_crash_stack(struct json_writer *jw, const struct trace *t,
			     const struct crash *c)
{
	json_stack_frames(jw, t, c->fatal->stack);
	jw_key(jw, "user_frame");
	if (c->user_frame >= 0)
		jw_uint(jw, (uint64_t)c->user_frame);
	else
		jw_null(jw);
	json_str_or_null(jw, "in_function", c->in_func);
	jw_kv_string(jw, "op", crash_op_name(c->op));
}

static void json_crash(struct json_writer *jw, const struct trace *t,
		       const struct crash *c, const size_t *order)
{

	jw_key(jw, "crash");
	if (!c) {
		jw_null(jw);
		return;
	}
	jw_start_object(jw);
	jw_kv_string(jw, "message", c->fatal->msg);
	jw_kv_uint(jw, "time_ns", rel_ns(t, c->fatal->ts_ns));
	jw_kv_uint(jw, "tid", c->fatal->tid);
	jw_kv_uint(jw, "goroutine", c->fatal->goid);
	jw_kv_bool(jw, "map_error", c->map_error);
	jw_key(jw, "map");
	if (c->has_map)
		jw_hex(jw, c->map);
	else
		jw_null(jw);
	json_str_or_null(jw, "map_from", crash_map_from_name(c->map_from));
	json_str_or_null(jw, "map_type", c->type_name);
	jw_key(jw, "map_index");
	if (c->an_map >= 0)
		jw_uint(jw, order[c->an_map]);
	else
		jw_null(jw);
	jw_kv_string(jw, "map_impl", c->map_impl);
	jw_kv_bool(jw, "ops_traced", c->ops_traced);
	jw_kv_bool(jw, "frozen", c->frozen);
	jw_kv_string(jw, "flag_note", crash_flag_note(c));
	json_crash_stack(jw, t, c);
	jw_key(jw, "threads");
	jw_start_array(jw);
	for (size_t i = 0; i < c->nthreads; i++)
		json_crash_thread(jw, t, c, &c->threads[i]);
	jw_end_array(jw);
	jw_end_object(jw);
}

/* ---- the whole report ---------------------------------------------------- */

/* "maps" keeps its order: busiest first, as in every version. */
static int cmp_busiest(const void *pa, const void *pb, void *ctx)
{
	const struct analysis *an = ctx;
	const struct an_map *a = &an->maps[*(const size_t *)pa];
	const struct an_map *b = &an->maps[*(const size_t *)pb];

	if (a->events != b->events)
		return a->events > b->events ? -1 : 1;
	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	return a->generation < b->generation ? -1 :
	       a->generation > b->generation;
}

static void json_hot_spots(struct json_writer *jw, const struct analysis *an,
			   const size_t *order, const struct report_opts *o)
{
	size_t n = an->nfindings;

	if (o->top_maps > 0 && (size_t)o->top_maps < n)
		n = o->top_maps;
	jw_key(jw, "hot_spots");
	jw_start_array(jw);
	for (size_t i = 0; i < n; i++) {
		const struct an_map *m = &an->maps[i];

		jw_start_object(jw);
		jw_kv_uint(jw, "map", order[i]);
		jw_kv_hex(jw, "addr", m->addr);
		jw_kv_string(jw, "verdict", an_verdict_name(m->verdict));
		jw_kv_uint(jw, "overlaps", m->overlaps);
		jw_kv_uint(jw, "handoffs", m->handoffs);
		jw_end_object(jw);
	}
	jw_end_array(jw);
}

/* Maps folded into (type, first site) summaries: analysis.h. */
static void json_private(struct json_writer *jw, const struct trace *t,
			 const struct analysis *an)
{
	jw_key(jw, "private");
	jw_start_object(jw);
	jw_kv_uint(jw, "maps", an->priv_maps);
	jw_kv_uint(jw, "events", an->priv_events);
	jw_key(jw, "groups");
	jw_start_array(jw);
	for (size_t i = 0; i < an->nprivs; i++) {
		const struct an_private *p = &an->privs[i];
		struct an_map m = { .ops = { 0 } };

		memcpy(m.ops, p->ops, sizeof(m.ops));
		jw_start_object(jw);
		jw_key(jw, "type");
		if (p->type_name)
			jw_string(jw, p->type_name);
		else
			jw_null(jw);
		jw_kv_hex(jw, "type_addr", p->type);
		jw_key(jw, "first_site");
		jw_start_object(jw);
		json_stack_frames(jw, t, p->stack);
		jw_end_object(jw);
		jw_kv_uint(jw, "maps", p->maps);
		jw_kv_uint(jw, "events", p->events);
		jw_kv_double(jw, "events_per_map", (double)p->events / p->maps);
		jw_kv_uint(jw, "writes", p->writes);
		json_ops(jw, &m);
		jw_end_object(jw);
	}
	jw_end_array(jw);
	jw_end_object(jw);
}

/*
 * A call-site probe: the CALL's address, where it is, and how the kernel
 * runs the probe there (a CALL rel32 is emulated: no single-step).
 */
static void json_site_probe(struct json_writer *jw, const struct trace *t,
			    uint64_t ret)
{
	uint32_t nf;
	const struct trace_frame *f = trace_pc_frames(t, ret, &nf);

	jw_start_object(jw);
	jw_kv_hex(jw, "pc", ret - 5);
	jw_kv_string(jw, "instruction", "call rel32");
	jw_kv_string(jw, "method", "emulated");
	if (nf) {
		jw_kv_string(jw, "function", f[0].function);
		jw_kv_string(jw, "file", f[0].file);
		jw_kv_uint(jw, "line", f[0].line);
	}
	jw_end_object(jw);
}

/* The daemon's reports: which part of the time the map probes were in. */
static void json_sampling(struct json_writer *jw, const struct trace *t)
{
	const typeof(t->meta.sampling) *sa = &t->meta.sampling;

	if (!sa->on)
		return;
	jw_key(jw, "sampling");
	jw_start_object(jw);
	jw_kv_uint(jw, "observed_ns", sa->observed_ns);
	jw_kv_uint(jw, "span_ns", sa->span_ns);
	jw_kv_double(jw, "observed_fraction", sa->span_ns ?
		     (double)sa->observed_ns / (double)sa->span_ns : 0);
	jw_kv_double(jw, "budget_percent", sa->budget_pct);
	jw_kv_double(jw, "cost_percent", sa->cost_pct);
	jw_kv_double(jw, "hit_ns", sa->hit_ns);
	jw_kv_string(jw, "limited_by", sa->limit ? sa->limit : "none");
	jw_kv_uint(jw, "site_hits", sa->site_hits);
	jw_kv_double(jw, "site_observed_fraction", sa->span_ns ?
		     (double)sa->site_observed_ns / (double)sa->span_ns : 0);
	jw_key(jw, "site_probes");
	jw_start_array(jw);
	for (uint32_t i = 0; i < sa->nsites && i < 16; i++)
		json_site_probe(jw, t, sa->site_ret[i]);
	jw_end_array(jw);
	jw_end_object(jw);
}

static void json_body(struct json_writer *jw, const struct trace *t,
		      const struct analysis *an, const size_t *by_events,
		      const size_t *order, const struct report_opts *o)
{
	jw_kv_string(jw, "schema", REPORT_SCHEMA);
	json_target(jw, t);
	jw_kv_string(jw, "command", t->meta.command);
	jw_kv_uint(jw, "duration_ns", an->duration_ns);
	jw_kv_uint(jw, "events", an->nevents + t->dropped);
	jw_kv_uint(jw, "lost", t->lost);
	jw_kv_bool(jw, "complete", t->complete);
	jw_kv_uint(jw, "probes", t->meta.nprobes);
	jw_kv_uint(jw, "slow_probes", t->meta.nslow);
	json_sampling(jw, t);
	jw_key(jw, "maps");
	jw_start_array(jw);
	for (size_t i = 0; i < an->nmaps; i++)
		json_map(jw, t, an, &an->maps[by_events[i]]);
	jw_end_array(jw);
	jw_kv_uint(jw, "findings", an->nfindings);
	jw_kv_uint(jw, "maps_seen", an->maps_seen);
	json_private(jw, t, an);
	json_hot_spots(jw, an, order, o);
	json_crash(jw, t, an->crash, order);
	report_freeze_json(jw, t);
}

int report_json(const struct trace *t, const struct report_opts *o,
		FILE *out, struct errbuf *err)
{
	struct analysis_opts ao = { .fold = !o->all };
	struct analysis own;
	const struct analysis *an = o->an;
	struct json_writer jw;
	size_t *by_events, *order;

	if (!an) {
		if (analysis_run(t, &ao, &own))
			return errbuf_set(err, "out of memory analysing the "
					  "trace");
		an = &own;
	}
	by_events = malloc((an->nmaps + 1) * sizeof(*by_events));
	order = malloc((an->nmaps + 1) * sizeof(*order));
	if (!by_events || !order) {
		free(by_events);
		free(order);
		if (!o->an)
			analysis_free(&own);
		return errbuf_set(err, "out of memory writing the report");
	}
	for (size_t i = 0; i < an->nmaps; i++)
		by_events[i] = i;
	qsort_r(by_events, an->nmaps, sizeof(*by_events), cmp_busiest,
		(void *)an);
	/* order[rank] = position of that map in "maps". */
	for (size_t i = 0; i < an->nmaps; i++)
		order[by_events[i]] = i;
	jw_init(&jw, out, true);
	jw_start_object(&jw);
	json_body(&jw, t, an, by_events, order, o);
	jw_end_object(&jw);
	jw_finish(&jw);
	free(by_events);
	free(order);
	if (!o->an)
		analysis_free(&own);
	return 0;
}
