// SPDX-License-Identifier: MIT
/*
 * Chrome trace-event JSON for Perfetto UI (export.h). Written by
 * hand rather than through json_writer: timestamps need sub-microsecond
 * digits ("ts" is in microseconds), which %g would round away.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "kvtab.h"

struct pf {
	FILE *out;
	const struct trace *t;
	const struct analysis *an;
	int32_t pid;
	bool first;
};

/* Length of the valid UTF-8 sequence at s, 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = *s >= 0xf5 ? 0 : *s >= 0xf0 ? 4 : *s >= 0xe0 ? 3 :
		   *s >= 0xc2 ? 2 : 0;

	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* No overlong forms, surrogates or code points past U+10FFFF. */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return n;
}

/* A JSON string; bytes that are not UTF-8 become U+FFFD. */
static void put_str(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s) {
		size_t n;

		if (*s == '"' || *s == '\\') {
			fprintf(f, "\\%c", *s++);
		} else if (*s < 0x20) {
			fprintf(f, "\\u%04x", *s++);
		} else if (*s < 0x80) {
			fputc(*s++, f);
		} else if ((n = utf8_len(s))) {
			fwrite(s, 1, n, f);
			s += n;
		} else {
			fputs("\\ufffd", f);
			s++;
		}
	}
	fputc('"', f);
}

static void next_event(struct pf *p)
{
	fputs(p->first ? "\n" : ",\n", p->out);
	p->first = false;
}

/* Microseconds from the trace's start, to the nanosecond. */
static void put_ts(struct pf *p, uint64_t ts)
{
	uint64_t rel = ts > p->an->start_ns ? ts - p->an->start_ns : 0;

	fprintf(p->out, "%" PRIu64 ".%03" PRIu64, rel / 1000, rel % 1000);
}

static void thread_name(struct pf *p, uint32_t tid, const char *what)
{
	next_event(p);
	fprintf(p->out, "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%d,"
		"\"tid\":%u,\"args\":{\"name\":\"thread %u%s\"}}", p->pid, tid,
		tid, what);
}

static int threads(struct pf *p, const struct export_opts *o)
{
	struct kvtab k = { 0 };
	const char *exe = strrchr(p->t->meta.exe, '/');

	next_event(p);
	fprintf(p->out, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,"
		"\"args\":{\"name\":", p->pid);
	put_str(p->out, exe ? exe + 1 : p->t->meta.exe);
	fputs("}}", p->out);
	for (size_t i = 0; i < p->t->nfatals; i++) {
		if (!kv_get(&k, p->t->fatals[i].tid, 0, NULL))
			goto oom;
		thread_name(p, p->t->fatals[i].tid, " (crashed)");
	}
	for (size_t i = 0; i < p->t->nevents && i < p->an->nevents; i++) {
		bool created;

		if (o->top && p->an->ev_map[i] >= o->top)
			continue;
		if (!kv_get(&k, p->t->events[i].tid, 0, &created))
			goto oom;
		if (created)
			thread_name(p, p->t->events[i].tid, "");
	}
	kv_free(&k);
	return 0;
oom:
	kv_free(&k);
	return -1;
}

static void site(struct pf *p, uint32_t stack)
{
	struct trace_where f = trace_stack_top(p->t, stack);
	char buf[1024];

	if (f.f)
		snprintf(buf, sizeof(buf), "%s %s:%u", f.f->function,
			 f.f->file, f.f->line);
	else if (f.pc)
		snprintf(buf, sizeof(buf), "0x%" PRIx64, f.pc);
	else
		snprintf(buf, sizeof(buf), "unknown");
	put_str(p->out, buf);
}

static void map_event(struct pf *p, size_t i)
{
	const struct trace_event *ev = &p->t->events[i];
	const struct an_map *m = &p->an->maps[p->an->ev_map[i]];
	uint8_t fl = p->an->ev_flags[i];

	next_event(p);
	fprintf(p->out, "{\"name\":\"%s%s\",\"cat\":\"map\",\"ph\":\"i\","
		"\"s\":\"t\",\"pid\":%d,\"tid\":%u,\"ts\":",
		trace_op_name(ev->op), fl & AN_EV_OVERLAP ? " (overlap)" : "",
		p->pid, ev->tid);
	put_ts(p, ev->ts_ns);
	fprintf(p->out, ",\"args\":{\"map\":\"0x%" PRIx64 "\",\"type\":",
		ev->map);
	put_str(p->out, m->type_name ? m->type_name : "?");
	fprintf(p->out, ",\"goroutine\":%" PRIu64 ",\"site\":", ev->goid);
	site(p, ev->stack);
	fprintf(p->out, ",\"handoff\":%s,\"overlap\":%s}}",
		fl & AN_EV_HANDOFF ? "true" : "false",
		fl & AN_EV_OVERLAP ? "true" : "false");
}

static void fatal_event(struct pf *p, const struct trace_fatal *f)
{
	char name[GMT_FATAL_MSG_LEN + 16];

	snprintf(name, sizeof(name), "fatal error: %s", f->msg);
	next_event(p);
	fputs("{\"name\":", p->out);
	put_str(p->out, name);
	fprintf(p->out, ",\"cat\":\"fatal\",\"ph\":\"i\",\"s\":\"g\","
		"\"pid\":%d,\"tid\":%u,\"ts\":", p->pid, f->tid);
	put_ts(p, f->ts_ns);
	fprintf(p->out, ",\"args\":{\"goroutine\":%" PRIu64 ",\"site\":",
		f->goid);
	site(p, f->stack);
	fputs("}}", p->out);
}

static int events(struct pf *p, const struct export_opts *o)
{
	size_t n = p->t->nevents < p->an->nevents ? p->t->nevents :
		   p->an->nevents;
	uint32_t *order = an_time_order(p->t);

	if (!order)
		return -1;
	for (size_t k = 0; k < p->t->nevents; k++) {
		uint32_t i = order[k];

		if (i < n && (!o->top || p->an->ev_map[i] < o->top))
			map_event(p, i);
	}
	free(order);
	for (size_t i = 0; i < p->t->nfatals; i++)
		fatal_event(p, &p->t->fatals[i]);
	return 0;
}

int export_perfetto(FILE *out, const struct trace *t,
		    const struct analysis *an, const struct export_opts *o,
		    struct errbuf *err)
{
	struct pf p = { .out = out, .t = t, .an = an,
			.pid = t->meta.pid > 0 ? t->meta.pid : 1,
			.first = true };

	fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", out);
	if (threads(&p, o) || events(&p, o))
		return errbuf_set(err, "out of memory writing the Perfetto "
				  "trace");
	fputs("\n]}\n", out);
	if (fflush(out) || ferror(out))
		return errbuf_set(err, "cannot write the Perfetto trace: %s",
				  strerror(errno));
	return 0;
}
