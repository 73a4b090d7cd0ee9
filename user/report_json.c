// SPDX-License-Identifier: MIT
/*
 * The JSON report, schema gomaptrace.report/1 (docs/report-schema.md).
 * Later versions add keys; none is renamed or changes meaning.
 */
#include "json_writer.h"
#include "report.h"

static void json_frames(struct json_writer *jw, const struct trace *t,
			uint64_t pc)
{
	uint32_t n;
	const struct trace_frame *f = trace_pc_frames(t, pc, &n);

	jw_key(jw, "frames");
	jw_start_array(jw);
	for (uint32_t i = 0; i < n; i++) {
		jw_start_object(jw);
		jw_kv_string(jw, "function", f[i].function);
		jw_kv_string(jw, "file", f[i].file);
		jw_kv_uint(jw, "line", f[i].line);
		jw_kv_bool(jw, "inlined", f[i].inlined);
		jw_end_object(jw);
	}
	jw_end_array(jw);
}

static void json_site(struct json_writer *jw, const struct trace *t,
		      const struct trace_site *s)
{
	jw_start_object(jw);
	jw_kv_string(jw, "op", trace_op_name(s->op));
	jw_kv_uint(jw, "count", s->count);
	jw_kv_hex(jw, "pc", s->pc);
	json_frames(jw, t, s->pc);
	jw_end_object(jw);
}

static void json_ops(struct json_writer *jw, const struct trace_map *m)
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

static void json_map(struct json_writer *jw, const struct trace *t,
		     const struct trace_map_summary *ms)
{
	jw_start_object(jw);
	jw_kv_hex(jw, "addr", ms->map->addr);
	jw_key(jw, "type");
	if (ms->type_name)
		jw_string(jw, ms->type_name);
	else
		jw_null(jw);
	jw_kv_hex(jw, "type_addr", ms->map->type);
	jw_kv_uint(jw, "events", ms->map->events);
	json_ops(jw, ms->map);
	jw_kv_uint(jw, "threads", ms->threads);
	jw_kv_uint(jw, "goroutines", ms->goroutines);
	jw_kv_uint(jw, "first_ns", rel_ns(t, ms->map->first_ns));
	jw_kv_uint(jw, "last_ns", rel_ns(t, ms->map->last_ns));
	jw_key(jw, "sites");
	jw_start_array(jw);
	for (size_t i = 0; i < ms->nsites; i++)
		json_site(jw, t, &ms->sites[i]);
	jw_end_array(jw);
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

int report_json(const struct trace *t, const struct report_opts *o,
		FILE *out, struct errbuf *err)
{
	struct trace_summary s;
	struct json_writer jw;

	(void)o;
	if (trace_summarize(t, &s))
		return errbuf_set(err, "out of memory summarising the trace");
	jw_init(&jw, out, true);
	jw_start_object(&jw);
	jw_kv_string(&jw, "schema", REPORT_SCHEMA);
	json_target(&jw, t);
	jw_kv_string(&jw, "command", t->meta.command);
	jw_kv_uint(&jw, "duration_ns", s.duration_ns);
	jw_kv_uint(&jw, "events", s.events);
	jw_kv_uint(&jw, "lost", t->lost);
	jw_kv_bool(&jw, "complete", t->complete);
	jw_kv_uint(&jw, "probes", t->meta.nprobes);
	jw_kv_uint(&jw, "slow_probes", t->meta.nslow);
	jw_key(&jw, "maps");
	jw_start_array(&jw);
	for (size_t i = 0; i < s.nmaps; i++)
		json_map(&jw, t, &s.maps[i]);
	jw_end_array(&jw);
	jw_end_object(&jw);
	jw_finish(&jw);
	trace_summary_free(&s);
	return 0;
}
