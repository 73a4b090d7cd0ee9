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
	if (trace_init(&t))
		return fail("out of memory");
	ret = trace_load_path(&t, argv[optind], &err, &warn);
	if (!ret && warn.msg[0])
		fprintf(stderr, "gomaptrace: warning: %s\n", warn.msg);
	if (!ret)
		ret = report_output(&t, ra.fmt, &ra.o, ra.out, &err);
	trace_free(&t);
	return ret ? fail("%s", err.msg) : 0;
}
