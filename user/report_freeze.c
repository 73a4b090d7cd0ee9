// SPDX-License-Identifier: MIT
/*
 * The crash guard's snapshot in the reports: the JSON report's "freeze"
 * object and the text report's "what every thread was doing".
 */
#include <inttypes.h>
#include <string.h>

#include "json_writer.h"
#include "snapshot.h"
#include "textfmt.h"
#include "trace.h"

#define TEXT_USER_FRAMES	3

static const char *status_key(uint32_t s)
{
	static const char *const keys[] = {
		[SNAP_NONE] = "none",
		[SNAP_FROZEN] = "frozen",
		[SNAP_NOT_FROZEN_DEBUGGER] = "debugger",
		[SNAP_NOT_FROZEN_MODE] = "not_map_error",
		[SNAP_NOT_FROZEN_FAILED] = "failed",
		[SNAP_RELEASED_EARLY] = "released_early",
		[SNAP_DISABLED] = "disabled",
	};

	return s < sizeof(keys) / sizeof(keys[0]) ? keys[s] : "unknown";
}

static bool is_runtime(const char *fn)
{
	return !strncmp(fn, "runtime.", 8) ||
	       !strncmp(fn, "internal/runtime/", 17);
}

/* The snapshot shown: the one that froze, else the last. */
static const struct trace_freeze *shown(const struct trace *t)
{
	for (size_t i = 0; i < t->nfreezes; i++)
		if (t->freezes[i].status == SNAP_FROZEN ||
		    t->freezes[i].status == SNAP_RELEASED_EARLY)
			return &t->freezes[i];
	return t->nfreezes ? &t->freezes[t->nfreezes - 1] : NULL;
}

static void json_frames(struct json_writer *jw, const struct trace *t,
			const struct snap_thread *st)
{
	jw_key(jw, "frames");
	jw_start_array(jw);
	for (uint32_t i = 0; i < st->npcs; i++) {
		uint32_t n;
		const struct trace_frame *f = trace_pc_frames(t, st->pc[i],
							      &n);

		for (uint32_t j = 0; j < n || (!n && !j); j++) {
			jw_start_object(jw);
			jw_kv_hex(jw, "pc", st->pc[i] - (i ? 0 : 1));
			jw_kv_string(jw, "function", n ? f[j].function : "?");
			jw_kv_string(jw, "file", n ? f[j].file : "");
			jw_kv_uint(jw, "line", n ? f[j].line : 0);
			jw_kv_bool(jw, "inlined", n ? f[j].inlined : false);
			jw_end_object(jw);
			if (!n)
				break;
		}
	}
	jw_end_array(jw);
}

static void json_thread(struct json_writer *jw, const struct trace *t,
			const struct snap_thread *st)
{
	jw_start_object(jw);
	jw_kv_uint(jw, "tid", st->tid);
	jw_kv_uint(jw, "goroutine", st->goid);
	jw_kv_bool(jw, "crashing", st->flags & SNAP_T_CRASHING);
	jw_kv_bool(jw, "stopped", st->flags & SNAP_T_STOPPED);
	jw_kv_bool(jw, "in_map_function", st->flags & SNAP_T_IN_MAP);
	jw_kv_bool(jw, "at_map_call", st->flags & SNAP_T_AT_MAP_CALL);
	jw_key(jw, "map_function");
	if (st->map_func)
		jw_string(jw, st->map_func);
	else
		jw_null(jw);
	jw_key(jw, "map");
	if (st->flags & SNAP_T_MAP_KNOWN)
		jw_hex(jw, st->map);
	else
		jw_null(jw);
	jw_kv_bool(jw, "frame_pointers_used", st->flags & SNAP_T_FP);
	jw_kv_hex(jw, "pc", st->ip);
	jw_kv_hex(jw, "sp", st->sp);
	json_frames(jw, t, st);
	jw_end_object(jw);
}

void report_freeze_json(struct json_writer *jw, const struct trace *t)
{
	const struct trace_freeze *f = shown(t);

	jw_key(jw, "freeze");
	if (!f) {
		jw_null(jw);
		return;
	}
	jw_start_object(jw);
	jw_kv_string(jw, "status", status_key(f->status));
	jw_kv_string(jw, "reason", snap_status_name(f->status));
	jw_kv_string(jw, "mode", f->mode == 2 ? "all" : f->mode == 1 ? "map" :
				 "off");
	jw_kv_string(jw, "message", f->msg);
	jw_kv_uint(jw, "tid", f->tid);
	jw_kv_int(jw, "tracer_pid", f->tracer_pid);
	jw_key(jw, "duration_ns");
	if (f->resume_ns && f->resume_ns >= f->freeze_ns)
		jw_uint(jw, f->resume_ns - f->freeze_ns);
	else
		jw_null(jw);
	jw_key(jw, "all_stopped_ns");
	if (f->stopped_ns && f->stopped_ns >= f->freeze_ns)
		jw_uint(jw, f->stopped_ns - f->freeze_ns);
	else
		jw_null(jw);
	jw_key(jw, "threads");
	jw_start_array(jw);
	for (size_t i = 0; i < f->nthreads; i++)
		json_thread(jw, t, &f->threads[i]);
	jw_end_array(jw);
	jw_end_object(jw);
}

/* The thread's first user frames, else its innermost function. */
static void text_frames(FILE *out, const struct trace *t,
			const struct snap_thread *st)
{
	const char *inner = NULL;
	int shown_n = 0;

	for (uint32_t i = 0; i < st->npcs && shown_n < TEXT_USER_FRAMES; i++) {
		uint32_t n;
		const struct trace_frame *f = trace_pc_frames(t, st->pc[i],
							      &n);

		for (uint32_t j = 0; j < n && shown_n < TEXT_USER_FRAMES;
		     j++) {
			if (!inner)
				inner = f[j].function;
			if (is_runtime(f[j].function))
				continue;
			fprintf(out, "      %s (%s:%u)\n",
				safe_text(f[j].function), safe_text(f[j].file),
				f[j].line);
			shown_n++;
		}
	}
	if (!shown_n)
		fprintf(out, "      in %s (no user frame)\n",
			inner ? safe_text(inner) : "unknown code");
}

static void text_thread(FILE *out, const struct trace *t,
			const struct snap_thread *st)
{
	fprintf(out, "  thread %u", st->tid);
	if (st->goid)
		fprintf(out, ", goroutine %" PRIu64, st->goid);
	if (st->flags & SNAP_T_CRASHING)
		fprintf(out, ", crashing");
	if (st->flags & SNAP_T_IN_MAP) {
		fprintf(out, ", inside %s", safe_text(st->map_func));
		if (st->flags & SNAP_T_MAP_KNOWN)
			fprintf(out, " on map 0x%" PRIx64, st->map);
		else
			fprintf(out, " (map not recoverable)");
	}
	fputc('\n', out);
	text_frames(out, t, st);
}

void report_freeze_text(FILE *out, const struct trace *t)
{
	const struct trace_freeze *f = shown(t);

	if (!f)
		return;
	fputc('\n', out);
	if (f->status != SNAP_FROZEN && f->status != SNAP_RELEASED_EARLY) {
		fprintf(out, "Crash guard: %s", snap_status_name(f->status));
		if (f->tracer_pid)
			fprintf(out, " (TracerPid %d)", f->tracer_pid);
		fputc('\n', out);
		return;
	}
	fprintf(out, "What every thread was doing (frozen at \"%s\" for "
		"%.1f ms%s):\n", safe_text(f->msg),
		f->resume_ns > f->freeze_ns ?
		(f->resume_ns - f->freeze_ns) / 1e6 : 0.0,
		f->status == SNAP_RELEASED_EARLY ?
		", released by the watchdog" : "");
	for (size_t i = 0; i < f->nthreads; i++)
		text_thread(out, t, &f->threads[i]);
}
