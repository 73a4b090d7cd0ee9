// SPDX-License-Identifier: MIT
/*
 * `gomaptrace report FILE`: load a trace file and report it. Also home of
 * the table of report formats and of report_output(), which `run` shares.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "report.h"
#include "trace_file.h"

static const struct report_format formats[] = {
	{ "text", report_text },
	{ "json", report_json },
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
	if (f->fn(t, &so, stdout, err))
		return -1;
	if (fflush(stdout) || ferror(stdout))
		return errbuf_set(err, "cannot write the report to stdout: %s",
				  strerror(errno));
	return 0;
}

int report_output(const struct trace *t, const struct report_format *f,
		  const struct report_opts *o, const char *path,
		  struct errbuf *err)
{
	struct report_opts fo = *o;
	char *tmp;
	FILE *out;
	int ret = -1;

	if (!path || !strcmp(path, "-"))
		return to_stdout(t, f, o, err);
	fo.color = false;
	tmp = malloc(strlen(path) + 32);
	if (!tmp)
		return errbuf_set(err, "out of memory");
	sprintf(tmp, "%s.tmp.%d", path, (int)getpid());
	out = fopen(tmp, "w");
	if (!out) {
		errbuf_set(err, "cannot create %s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	if (f->fn(t, &fo, out, err)) {
		fclose(out);
		goto out;
	}
	if (ferror(out) | fclose(out)) {
		errbuf_set(err, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, path)) {
		errbuf_set(err, "cannot rename %s to %s: %s", tmp, path,
			   strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (ret)
		unlink(tmp);
	free(tmp);
	return ret;
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: gomaptrace report FILE [--format FMT] [-o OUT]\n"
		     "\nReports a trace file written by 'gomaptrace record' "
		     "or 'run --trace'.\nIt needs no binary: the file carries "
		     "its symbols.\n\n"
		     "  -f, --format FMT  %s (default text)\n"
		     "  -o, --output OUT  write the report to OUT instead of "
		     "stdout\n", report_format_list());
}

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const struct report_format *fmt = report_format_find("text");
	struct report_opts ro = { .color = true };
	struct errbuf err = { "" }, warn = { "" };
	const char *outpath = NULL;
	struct trace t;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			fmt = report_format_find(optarg);
			if (!fmt)
				return fail("unknown format '%s': use one of "
					    "%s", optarg,
					    report_format_list()) + 1;
			break;
		case 'o':
			outpath = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (trace_init(&t))
		return fail("out of memory");
	ret = trace_load_path(&t, argv[optind], &err, &warn);
	if (!ret && warn.msg[0])
		fprintf(stderr, "gomaptrace: warning: %s\n", warn.msg);
	if (!ret)
		ret = report_output(&t, fmt, &ro, outpath, &err);
	trace_free(&t);
	return ret ? fail("%s", err.msg) : 0;
}
