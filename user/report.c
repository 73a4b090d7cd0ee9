// SPDX-License-Identifier: MIT
/*
 * The table of report formats and report_output(), which `report` and
 * `run` share: every format renders a loaded trace; the exports (folded,
 * pprof, perfetto) run the analysis first and only read it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "analysis.h"
#include "export.h"
#include "outfile.h"
#include "report.h"

typedef int (*export_fn)(FILE *out, const struct trace *t,
			 const struct analysis *an,
			 const struct export_opts *o, struct errbuf *err);

/* Analyse, then export: the exports only read the analysis. */
static int export_with(export_fn fn, const struct trace *t,
		       const struct report_opts *o, FILE *out,
		       struct errbuf *err)
{
	struct export_opts eo = {
		.weight = o->weight,
		.top = o->top_maps > 0 ? (size_t)o->top_maps : 0,
	};
	struct analysis an;
	int ret;

	if (analysis_run(t, NULL, &an))
		return errbuf_set(err, "out of memory analysing the trace");
	ret = fn(out, t, &an, &eo, err);
	analysis_free(&an);
	return ret;
}

/* report_folded(), report_pprof(), report_perfetto(): report.h. */
#define EXPORT_REPORT(name)						\
int report_##name(const struct trace *t, const struct report_opts *o,	\
		  FILE *out, struct errbuf *err)			\
{									\
	return export_with(export_##name, t, o, out, err);		\
}

EXPORT_REPORT(folded)
EXPORT_REPORT(pprof)
EXPORT_REPORT(perfetto)

static const struct report_format formats[] = {
	{ "text", report_text, false, true },
	{ "json", report_json, false, true },
	{ "folded", report_folded, false, false },
	{ "pprof", report_pprof, true, false },
	{ "perfetto", report_perfetto, false, false },
};

#define NFORMATS (sizeof(formats) / sizeof(formats[0]))

const struct report_format *report_format_find(const char *name)
{
	for (size_t i = 0; i < NFORMATS; i++)
		if (!strcmp(formats[i].name, name))
			return &formats[i];
	return NULL;
}

const char *report_format_list(void)
{
	static char list[256];
	size_t n = 0;

	if (list[0])
		return list;
	for (size_t i = 0; i < NFORMATS && n < sizeof(list); i++)
		n += snprintf(list + n, sizeof(list) - n, "%s%s",
			      i ? ", " : "", formats[i].name);
	return list;
}

static int to_stdout(const struct trace *t, const struct report_format *f,
		     const struct report_opts *o, struct errbuf *err)
{
	struct report_opts so = *o;

	so.color = so.color && isatty(STDOUT_FILENO);
	if (f->binary && isatty(STDOUT_FILENO))
		return errbuf_set(err, "the %s format is binary: write it to "
				  "a file with -o FILE, or pipe it", f->name);
	if (f->fn(t, &so, stdout, err))
		return -1;
	if (fflush(stdout) || ferror(stdout))
		return errbuf_set(err, "cannot write the report to stdout: %s",
				  strerror(errno));
	return 0;
}

int report_output_check(const char *path, struct errbuf *err)
{
	if (!path || !strcmp(path, "-"))
		return 0;
	return outfile_check(path, err);
}

int report_output(const struct trace *t, const struct report_format *f,
		  const struct report_opts *o, const char *path,
		  struct errbuf *err)
{
	struct report_opts fo = *o;
	struct outfile of;

	if (!path || !strcmp(path, "-"))
		return to_stdout(t, f, o, err);
	fo.color = false;
	if (outfile_open(&of, path, err))
		return -1;
	if (f->fn(t, &fo, of.fp, err)) {
		outfile_abort(&of);
		return -1;
	}
	return outfile_commit(&of, err);
}
