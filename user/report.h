/* SPDX-License-Identifier: MIT */
#ifndef GMT_REPORT_H
#define GMT_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "crash.h"
#include "errbuf.h"
#include "trace.h"

struct analysis;

/*
 * Reports read a trace (live or loaded from a file) and nothing else, so
 * `report` on another machine prints what `run` printed. Adding a format:
 * write int report_<name>(...) with the report_fn signature and add it to
 * the table in cmd_report.c; `run` and `report` both take it from there.
 */
struct report_opts {
	int top_maps;		/* --top N: maps shown (text), hot spots
				 * (json), maps exported; 0 = default */
	int top_sites;		/* text: sites per map; 0 = default */
	bool color;		/* text: ANSI colour (only on a TTY) */
	bool all;		/* text: also maps hidden by default */
	int weight;		/* folded: enum export_weight */
	/* text, json: the analysis made while the trace streamed in; NULL:
	 * analyse t (its events are all there). */
	const struct analysis *an;
};

typedef int (*report_fn)(const struct trace *t, const struct report_opts *o,
			 FILE *out, struct errbuf *err);

struct report_format {
	const char *name;
	report_fn fn;
	bool binary;		/* not for a terminal: needs -o or a pipe */
	bool streams;		/* reads only an analysis: no events kept */
};

int report_text(const struct trace *t, const struct report_opts *o,
		FILE *out, struct errbuf *err);
/* Schema gomaptrace.report/1: docs/report-schema.md. */
int report_json(const struct trace *t, const struct report_opts *o,
		FILE *out, struct errbuf *err);
/* The exports of export.h, analysed first (cmd_report.c). */
int report_folded(const struct trace *t, const struct report_opts *o,
		  FILE *out, struct errbuf *err);
int report_pprof(const struct trace *t, const struct report_opts *o,
		 FILE *out, struct errbuf *err);
int report_perfetto(const struct trace *t, const struct report_opts *o,
		    FILE *out, struct errbuf *err);

#define REPORT_SCHEMA	"gomaptrace.report/1"

/* NULL when name is not a format; report_format_list() names them all. */
const struct report_format *report_format_find(const char *name);
const char *report_format_list(void);

/*
 * The options `run` and `report` share: add REPORT_LONGOPTS to the
 * getopt_long table and REPORT_SHORTOPTS to the short ones, and hand every
 * code the command does not know itself to report_parse_opt(): 0 taken,
 * 2 a bad value or not a report option (one line said why).
 * REPORT_OPTS_HELP is their usage text.
 */
struct report_args {
	const struct report_format *fmt;	/* -f; text by default */
	const char *out;			/* -o; NULL: stdout */
	struct report_opts o;
};

enum {
	REPORT_OPT_TOP = 0x100,
	REPORT_OPT_WEIGHT,
	REPORT_OPT_ALL,
};

#define REPORT_SHORTOPTS	"f:o:"
#define REPORT_LONGOPTS \
	{ "format", required_argument, NULL, 'f' }, \
	{ "output", required_argument, NULL, 'o' }, \
	{ "top", required_argument, NULL, REPORT_OPT_TOP }, \
	{ "weight", required_argument, NULL, REPORT_OPT_WEIGHT }, \
	{ "all", no_argument, NULL, REPORT_OPT_ALL }

#define REPORT_OPTS_HELP \
	"  -f, --format FMT     %s (default text)\n" \
	"  -o, --output FILE    write the report to FILE instead of " \
	"stdout\n" \
	"      --top N          the N worst maps only (text, json hot " \
	"spots, exports)\n" \
	"      --all            text, json: every map, none summarised " \
	"(short traces)\n" \
	"      --weight W       folded: ops (default), handoffs or " \
	"overlaps\n"

void report_args_init(struct report_args *ra);
/* ctx: a struct report_args (a cli_opt_fn). */
int report_parse_opt(int code, const char *arg, void *ctx);

/*
 * Write the report to path, or stdout when path is NULL or "-". A file is
 * written under a temporary name and renamed, so it never holds half a
 * report.
 */
int report_output(const struct trace *t, const struct report_format *f,
		  const struct report_opts *o, const char *path,
		  struct errbuf *err);
/*
 * What report_output would refuse about PATH, found before the work (the
 * program run, the trace read): a symlink someone planted there is
 * reported then, not after.
 */
int report_output_check(const char *path, struct errbuf *err);

/*
 * The crash section of the text report (user/report_crash.c): the error,
 * both sides with file:line and goroutine ids, then each thread's last
 * map operations, from the analysis' one reading (an->crash). ANSI colour
 * when color is true. Nothing when c is NULL.
 */
void crash_text(FILE *out, const struct trace *t, const struct crash *c,
		bool color);

#endif
