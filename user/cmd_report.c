// SPDX-License-Identifier: MIT
/*
 * `gomaptrace report FILE`: load a trace file and report it (report.c
 * renders it). Also home of the report options `run` shares.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "export.h"
#include "report.h"
#include "trace_file.h"

void report_args_init(struct report_args *ra)
{
	memset(ra, 0, sizeof(*ra));
	ra->fmt = report_format_find("text");
	ra->o.color = true;
}

int report_parse_opt(int code, const char *arg, void *ctx)
{
	struct report_args *ra = ctx;
	uint64_t n;

	switch (code) {
	case 'f':
		ra->fmt = report_format_find(arg);
		if (!ra->fmt)
			return fail("unknown format '%s': use one of %s", arg,
				    report_format_list()) + 1;
		return 0;
	case 'o':
		ra->out = arg;
		return 0;
	case REPORT_OPT_TOP:
		if (cli_uint("--top", arg, 1, 1000000, &n))
			return 2;
		ra->o.top_maps = (int)n;
		return 0;
	case REPORT_OPT_WEIGHT:
		ra->o.weight = export_weight_parse(arg);
		if (ra->o.weight < 0)
			return fail("--weight '%s': use ops, handoffs or "
				    "overlaps", arg) + 1;
		return 0;
	case REPORT_OPT_ALL:
		ra->o.all = true;
		return 0;
	default:
		return 2;	/* not one of REPORT_LONGOPTS: unreachable */
	}
}

/*
 * Events kept at the end of a streamed trace: the crash reading looks at
 * each thread's last operations before the fatal call.
 */
#define TAIL_EVENTS	65536

struct streamer {
	struct analysis an;
};

/* Each events chunk into the analysis; only a tail stays in t. */
static int on_events(struct trace *t, size_t first, void *ctx)
{
	struct streamer *sm = ctx;
	size_t keep;

	if (analysis_feed(&sm->an, t, &t->events[first], t->nevents - first))
		return -1;
	if (t->nevents <= 2 * TAIL_EVENTS)
		return 0;
	keep = TAIL_EVENTS;
	memmove(t->events, &t->events[t->nevents - keep],
		keep * sizeof(*t->events));
	t->nevents = keep;
	return 0;
}

/*
 * text and json read only the analysis: the file streams through it a
 * chunk at a time, so memory goes with what is reported (shared maps,
 * sites, summaries), not with the operations. The others need every
 * event: the whole trace is loaded.
 */
static int load_and_report(struct trace *t, const char *path,
			   const struct report_args *ra, struct errbuf *err,
			   struct errbuf *warn)
{
	struct analysis_opts ao = { .fold = !ra->o.all };
	struct report_opts o = ra->o;
	struct streamer sm;
	int ret;

	if (!ra->fmt->streams) {
		ret = trace_load_path(t, path, err, warn);
		if (ret)
			return ret;
		if (warn->msg[0])
			fprintf(stderr, "gomaptrace: warning: %s\n",
				warn->msg);
		warn->msg[0] = '\0';
		return report_output(t, ra->fmt, &ra->o, ra->out, err);
	}
	if (analysis_begin(&sm.an, &ao))
		return errbuf_set(err, "out of memory");
	t->no_map_table = true;
	ret = trace_stream_path(t, path, on_events, &sm, err, warn);
	if (!ret && analysis_end(&sm.an, t))
		return errbuf_set(err, "out of memory analysing %s", path);
	if (ret) {
		analysis_free(&sm.an);
		return ret;
	}
	if (warn->msg[0])
		fprintf(stderr, "gomaptrace: warning: %s\n", warn->msg);
	warn->msg[0] = '\0';
	o.an = &sm.an;
	ret = report_output(t, ra->fmt, &o, ra->out, err);
	analysis_free(&sm.an);
	return ret;
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: gomaptrace report FILE [--format FMT] [-o OUT]\n"
		     "\nReports a trace file written by 'gomaptrace record' "
		     "or 'run --trace'.\nIt needs no binary: the file carries "
		     "its symbols.\n\n"
		     REPORT_OPTS_HELP
		     CLI_HELP_HELP "\n"
		     "Examples:\n"
		     "  gomaptrace report server.gmt\n"
		     "  gomaptrace report server.gmt --format json -o "
		     "report.json\n"
		     "  gomaptrace report server.gmt -f pprof -o maps.pb.gz\n",
		     report_format_list());
}

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		REPORT_LONGOPTS,
		CLI_LONGOPTS,
		{ 0 },
	};
	static const struct cli_cmd cmd = { "report", ":" REPORT_SHORTOPTS "h",
					    longopts, usage };
	struct errbuf err = { "" }, warn = { "" };
	struct report_args ra;
	struct trace t;
	int ret;

	report_args_init(&ra);
	ret = cli_parse(&cmd, argc, argv, report_parse_opt, &ra);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (optind == argc)
		return cli_error(&cmd, "give the trace FILE to report");
	if (optind != argc - 1)
		return cli_error(&cmd, "one FILE only, not '%s'",
				 argv[optind + 1]);
	/* A name the report cannot use is refused before the trace is read. */
	if (report_output_check(ra.out, &err))
		return fail("%s", err.msg);
	if (trace_init(&t))
		return fail("out of memory");
	ret = load_and_report(&t, argv[optind], &ra, &err, &warn);
	if (!ret && warn.msg[0])
		fprintf(stderr, "gomaptrace: warning: %s\n", warn.msg);
	trace_free(&t);
	return ret ? fail("%s", err.msg) : 0;
}
