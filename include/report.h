/* SPDX-License-Identifier: MIT */
#ifndef GMT_REPORT_H
#define GMT_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "errbuf.h"
#include "trace.h"

/*
 * Reports read a trace (live or loaded from a file) and nothing else, so
 * `report` on another machine prints what `run` printed. Adding a format:
 * write int report_<name>(...) with the report_fn signature and add it to
 * the table in cmd_report.c; `run` and `report` both take it from there.
 */
struct report_opts {
	int top_maps;		/* text: maps shown; 0 = default */
	int top_sites;		/* text: sites per map; 0 = default */
	bool color;		/* text: ANSI colour (only on a TTY) */
};

typedef int (*report_fn)(const struct trace *t, const struct report_opts *o,
			 FILE *out, struct errbuf *err);

struct report_format {
	const char *name;
	report_fn fn;
};

int report_text(const struct trace *t, const struct report_opts *o,
		FILE *out, struct errbuf *err);
/* Schema gomaptrace.report/1: docs/report-schema.md. */
int report_json(const struct trace *t, const struct report_opts *o,
		FILE *out, struct errbuf *err);

#define REPORT_SCHEMA	"gomaptrace.report/1"

/* NULL when name is not a format; report_format_list() names them all. */
const struct report_format *report_format_find(const char *name);
const char *report_format_list(void);

/*
 * Write the report to path, or stdout when path is NULL or "-". A file is
 * written under a temporary name and renamed, so it never holds half a
 * report.
 */
int report_output(const struct trace *t, const struct report_format *f,
		  const struct report_opts *o, const char *path,
		  struct errbuf *err);

#endif
