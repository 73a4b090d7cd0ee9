// SPDX-License-Identifier: MIT
/*
 * `gomaptrace top -p PID`: a live view of a process's maps, hottest
 * first, refreshed every interval until Ctrl-C, SIGTERM or the process
 * exits. Each refresh analyses the interval's operations only (then frees
 * them), so memory stays flat however long it runs; overlaps are also
 * counted since the start, since one is enough to matter.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "analysis.h"
#include "commands.h"
#include "report.h"
#include "kvtab.h"
#include "session.h"
#include "symcache.h"
#include "textfmt.h"

#define POLL_MS		100
#define DEFAULT_ROWS	10
#define TYPE_WIDTH	44

struct top_opts {
	pid_t pid;
	double interval;	/* seconds */
	long count;		/* refreshes; 0: until stopped */
	long rows;		/* maps shown; 0: fit the terminal */
	uint32_t ops_mask;
};

struct top {
	struct session s;
	struct kvtab total;	/* (addr, type) -> ops, overlaps since start */
	bool tty;
	long refreshes;
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: gomaptrace top -p PID [--interval SECS] [-n N] "
		     "[--top N]\n\n"
		     "A live view of a Go process's maps, hottest first, "
		     "refreshed every\ninterval until Ctrl-C, SIGTERM or the "
		     "process exits; then it detaches\nand the process runs "
		     "untraced again.\n\n"
		     "  -p, --pid PID        the process\n"
		     "  -i, --interval SECS  refresh period (default 1)\n"
		     "  -n, --count N        stop after N refreshes\n"
		     "      --top N          maps shown (default: what fits)\n"
		     CLI_OPS_HELP CLI_VERBOSE_HELP CLI_HELP_HELP "\n"
		     "Examples:\n"
		     "  gomaptrace top -p 1234\n"
		     "  gomaptrace top -p 1234 -i 5 -n 12 --top 20 > top.log\n");
}

static int parse_opt(int c, const char *arg, void *ctx)
{
	struct top_opts *o = ctx;
	uint64_t v = 0;
	int r;

	switch (c) {
	case 'p':
		return cli_pid("-p", arg, &o->pid);
	case 'i':
		return cli_seconds("--interval", arg, 3600, &o->interval);
	case 'n':
		r = cli_uint("-n", arg, 1, 1 << 30, &v);
		o->count = (long)v;
		return r;
	case 'T':
		r = cli_uint("--top", arg, 1, 1 << 20, &v);
		o->rows = (long)v;
		return r;
	default:
		return cli_ops(arg, &o->ops_mask);
	}
}

static int parse_args(int argc, char **argv, struct top_opts *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "top", required_argument, NULL, 'T' },
		CLI_TRACE_LONGOPTS,
		{ 0 },
	};
	static const struct cli_cmd cmd = { "top", ":p:i:n:hv", longopts,
					    usage };

	o->interval = 1;
	o->ops_mask = TRACE_DEFAULT_OPS;
	return cli_parse(&cmd, argc, argv, parse_opt, o) ?:
	       cli_need_pid(&cmd, argc, argv, o->pid);
}

/* ---- one refresh --------------------------------------------------------- */

static const char *short_verdict(const struct an_map *m, uint64_t overlaps)
{
	if (overlaps && m->verdict < AN_ITER_RACE)
		return "RACE (before)";
	switch (m->verdict) {
	case AN_RACE:
		return "RACE";
	case AN_ITER_RACE:
		return "ITER RACE";
	case AN_CONTENDED:
		return "contended";
	case AN_SHARED:
		return "lock held";
	case AN_HANDED_OVER:
		return "handed over";
	case AN_SINGLE_WRITER:
		return "1 writer";
	default:
		return "read only";
	}
}

static long screen_rows(const struct top *tp, const struct top_opts *o)
{
	struct winsize ws;

	if (o->rows)
		return o->rows;
	if (tp->tty && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row > 8)
		return (ws.ws_row - 6) / 2;
	return DEFAULT_ROWS;
}

/* Overlaps since the start, per (addr, type); this interval's added. */
static int add_totals(struct top *tp, const struct analysis *an)
{
	for (size_t i = 0; i < an->nmaps; i++) {
		struct kv_ent *e = kv_get(&tp->total, an->maps[i].addr,
					  an->maps[i].type, NULL);

		if (!e)
			return -1;
		e->v[0] += an->maps[i].events;
		e->v[1] += an->maps[i].overlaps;
	}
	return 0;
}

static void row(FILE *out, const struct trace *t, const struct an_map *m,
		double secs, uint64_t overlaps)
{
	char ops[32], ho[32], ov[32], where[256];
	const char *type = m->type_name ? safe_text(m->type_name) :
			   "map (type unknown)";
	struct trace_where f = { 0, NULL };

	commas((uint64_t)(m->events / secs + 0.5), ops, sizeof(ops));
	commas((uint64_t)(m->handoffs / secs + 0.5), ho, sizeof(ho));
	commas(overlaps, ov, sizeof(ov));
	fprintf(out, "%10s %7u %10s %9s  %-13s %.*s%s at 0x%" PRIx64 "\n",
		ops, m->writer_goroutines, ho, ov, short_verdict(m, overlaps),
		TYPE_WIDTH, type, strlen(type) > TYPE_WIDTH ? "..." : "",
		m->addr);
	if (m->nlines)
		f = trace_stack_top(t, m->lines[0].stack);
	if (!f.f && !f.pc)
		return;
	trace_where_text(&f, where, sizeof(where));
	fprintf(out, "%54s %s %s\n", "", f.f ? safe_text(f.f->function) : "?",
		safe_text(where));
}

/*
 * What the user is after: maps written by several goroutines first, then
 * by handoffs per second, then operations per second (one interval: the
 * counts are the rates).
 */
static int cmp_top(const void *pa, const void *pb)
{
	const struct an_map *a = pa, *b = pb;
	bool sa = a->writer_goroutines > 1, sb = b->writer_goroutines > 1;

	if (sa != sb)
		return sa ? -1 : 1;
	if (a->handoffs != b->handoffs)
		return a->handoffs > b->handoffs ? -1 : 1;
	if (a->events != b->events)
		return a->events > b->events ? -1 : 1;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

/* A (type, first site) group of private maps, as one row. */
static void private_row(FILE *out, const struct trace *t,
			const struct an_private *p, double secs)
{
	char ops[32], n[32], where[256];
	const char *type = p->type_name ? p->type_name : "map (type unknown)";
	struct trace_where f = trace_stack_top(t, p->stack);

	commas((uint64_t)(p->events / secs + 0.5), ops, sizeof(ops));
	commas(p->maps, n, sizeof(n));
	fprintf(out, "%10s %7u %10s %9s  %-13s %s maps of %.*s%s\n", ops,
		p->writes ? 1 : 0, "0", "0", "private", n, TYPE_WIDTH, type,
		strlen(type) > TYPE_WIDTH ? "..." : "");
	if (!f.f && !f.pc)
		return;
	trace_where_text(&f, where, sizeof(where));
	fprintf(out, "%54s %s %s (first op)\n", "", f.f ? f.f->function : "?",
		where);
}

static void header(FILE *out, const struct top *tp, const struct analysis *an,
		   double secs)
{
	const struct trace_meta *mt = &tp->s.t.meta;
	const char *exe = strrchr(mt->exe, '/');
	char ops[32];
	uint64_t events = an->priv_events;
	size_t shared = 0;

	for (size_t i = 0; i < an->nmaps; i++) {
		events += an->maps[i].events;
		shared += an->maps[i].writer_goroutines > 1;
	}
	commas((uint64_t)(events / secs + 0.5), ops, sizeof(ops));
	fprintf(out, "gomaptrace top: pid %d, %s (%s)  up %.1f s, every %.1f s"
		"\n", mt->pid, safe_text(exe ? exe + 1 : mt->exe),
		mt->go_version[0] ? safe_text(mt->go_version) :
				    "Go version unknown",
		(trace_now_ns() - mt->start_ns) / 1e9, secs);
	fprintf(out, "%s map ops/s, %" PRIu64 " lost; %zu map%s, %zu written "
		"by several goroutines\n\n", ops,
		session_lost(&tp->s),
		an->maps_seen, an->maps_seen == 1 ? "" : "s", shared);
	fprintf(out, "%10s %7s %10s %9s  %-13s %s\n", "OPS/S", "WRITERS",
		"HANDOFFS/S", "OVERLAPS", "VERDICT", "MAP / HOTTEST SITE");
}

static int render(struct top *tp, const struct top_opts *o, double secs)
{
	/* Private maps fold into (type, first site) groups, shown as rows. */
	struct analysis_opts ao = { .fold = true, .list_hidden = AN_LIST_NONE };
	FILE *out = stdout;
	struct analysis an;
	long rows = screen_rows(tp, o), shown = 0;

	if (symcache_update(&tp->s.t, &tp->s.gb) ||
	    analysis_run(&tp->s.t, &ao, &an))
		return errbuf_set(&tp->s.err, "out of memory analysing");
	if (add_totals(tp, &an)) {
		analysis_free(&an);
		return errbuf_set(&tp->s.err, "out of memory analysing");
	}
	if (tp->tty)
		fputs("\033[H\033[2J", out);
	else if (tp->refreshes)
		fputc('\n', out);
	header(out, tp, &an, secs);
	if (an.nmaps)
		qsort(an.maps, an.nmaps, sizeof(*an.maps), cmp_top);
	for (size_t i = 0; i < an.nmaps && shown < rows; i++, shown++) {
		const struct an_map *m = &an.maps[i];
		struct kv_ent *e = kv_find(&tp->total, m->addr, m->type);

		row(out, &tp->s.t, m, secs, e ? e->v[1] : 0);
	}
	for (size_t i = 0; i < an.nprivs && shown < rows; i++, shown++)
		private_row(out, &tp->s.t, &an.privs[i], secs);
	if (an.nmaps + an.nprivs > (size_t)shown)
		fprintf(out, "... and %zu more rows\n",
			an.nmaps + an.nprivs - shown);
	if (tp->s.crashed)
		crash_text(out, &tp->s.t, an.crash, tp->tty);
	fflush(out);
	analysis_free(&an);
	trace_drop_events(&tp->s.t);
	tp->refreshes++;
	return 0;
}

/* ---- the loop ------------------------------------------------------------ */

/* Polls until the interval ends; returns why it should stop, or NULL. */
static const char *wait_interval(struct top *tp, uint64_t until)
{
	for (;;) {
		uint64_t now = trace_now_ns();
		int ms = POLL_MS;

		if (now >= until)
			return NULL;
		if (until - now < POLL_MS * 1000000ULL)
			ms = (until - now) / 1000000 + 1;
		if (session_poll(&tp->s, ms) < 0)
			return "error";
		if (session_stop)
			return session_stop == SIGINT ? "interrupted" :
			       "stopped";
		if (tp->s.crashed)
			return "the process crashed";
		if (session_target_gone(&tp->s))
			return "the process exited";
	}
}

static int top_loop(struct top *tp, const struct top_opts *o)
{
	uint64_t period = (uint64_t)(o->interval * 1e9);
	const char *why = NULL;

	while (!why) {
		uint64_t start = trace_now_ns();

		why = wait_interval(tp, start + period);
		if (why && !strcmp(why, "error"))
			return fail("%s", tp->s.err.msg);
		if (why && session_drain(&tp->s))
			return fail("%s", tp->s.err.msg);
		if (render(tp, o, (trace_now_ns() - start) / 1e9))
			return fail("%s", tp->s.err.msg);
		if (!why && o->count && tp->refreshes >= o->count)
			why = "done";
	}
	session_detach(&tp->s);
	if (strcmp(why, "done"))
		fprintf(stderr, "gomaptrace: %s; detached\n", why);
	return 0;
}

int cmd_top(int argc, char **argv)
{
	struct top_opts o = { 0 };
	struct session_opts so = { .command = "top" };
	struct top *tp;
	int ret;

	ret = parse_args(argc, argv, &o);
	if (ret)
		return ret < 0 ? 0 : ret;
	tp = calloc(1, sizeof(*tp));
	if (!tp)
		return fail("out of memory");
	so.pid = o.pid;
	so.ops_mask = o.ops_mask;
	tp->tty = isatty(STDOUT_FILENO);
	/* From before the attach: a stop while probes go in ends cleanly. */
	session_catch_signals();
	if (session_open(&tp->s, &so)) {
		ret = fail("%s", tp->s.err.msg);
	} else {
		tp->s.t.no_map_table = true;	/* memory stays flat */
		ret = top_loop(tp, &o);
	}
	session_close(&tp->s);
	kv_free(&tp->total);
	free(tp);
	return ret;
}
