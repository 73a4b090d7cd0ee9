// SPDX-License-Identifier: MIT
/*
 * The command-line convention every subcommand shares (commands.h): one
 * getopt_long loop that answers -h/--help and turns every malformed option
 * into one line and exit status 2, and one strict parser per kind of value.
 * strtod/strtol alone accept "1e3", " 12", "+5", "0x10" and "inf": a PID or
 * a size typed wrong must be refused, not read as something else.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

#include "commands.h"
#include "event.h"
#include "trace.h"
#include "tracer.h"

enum {
	CLI_DONE = -1,		/* no more options: operands from optind */
	CLI_HELP = -2,		/* the usage was printed: exit 0 */
	CLI_BAD = -3,		/* one line was printed: exit 2 */
};

int cli_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gomaptrace %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; see 'gomaptrace %s --help'\n", cmd->name);
	return 2;
}

static int usage_error(const struct cli_cmd *cmd, const char *what,
		       const char *arg)
{
	cli_error(cmd, "%s '%s'", what, arg);
	return CLI_BAD;
}

/* The next option's code, or one of the above. */
static int cli_next(const struct cli_cmd *cmd, int argc, char **argv)
{
	char optname[3] = "-?";
	int c;

	opterr = 0;	/* our one line instead of getopt's */
	/* -v, -vv: libbpf's log, for the commands that load BPF. */
	while ((c = getopt_long(argc, argv, cmd->shortopts, cmd->longopts,
				NULL)) == 'v')
		tracer_set_verbosity(tracer_verbosity() + 1);
	switch (c) {
	case 'h':
		cmd->usage(stdout);
		return CLI_HELP;
	case ':':
		return usage_error(cmd, "a value is missing after",
				   argv[optind - 1]);
	case '?':
		if (optopt > 0 && optopt < 0x80) {
			optname[1] = (char)optopt;
			return usage_error(cmd, "unknown option", optname);
		}
		return usage_error(cmd, "unknown option", argv[optind - 1]);
	default:
		return c;
	}
}

int cli_parse(const struct cli_cmd *cmd, int argc, char **argv,
	      cli_opt_fn fn, void *ctx)
{
	int c, r;

	optind = 1;
	while ((c = cli_next(cmd, argc, argv)) != CLI_DONE) {
		if (c == CLI_HELP)
			return -1;
		if (c == CLI_BAD)
			return 2;
		r = fn(c, optarg, ctx);
		if (r)
			return r;
	}
	return 0;
}

int cli_no_operands(const struct cli_cmd *cmd, int argc, char **argv)
{
	if (optind != argc)
		return cli_error(cmd, "unexpected argument '%s'", argv[optind]);
	return 0;
}

int cli_need_pid(const struct cli_cmd *cmd, int argc, char **argv,
		 pid_t pid)
{
	int ret = cli_no_operands(cmd, argc, argv);

	if (ret)
		return ret;
	if (!pid)
		return cli_error(cmd, "give the process: -p PID");
	return 0;
}

/* Decimal digits only, at least one, no sign, no space, no exponent. */
static int parse_digits(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t n = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > max)
			return -1;
	}
	*v = n;
	return 0;
}

int cli_uint(const char *opt, const char *s, uint64_t min, uint64_t max,
	     uint64_t *v)
{
	if (parse_digits(s, max, v) || *v < min)
		return fail("%s '%s': give a whole number from %llu to %llu",
			    opt, s, (unsigned long long)min,
			    (unsigned long long)max) + 1;
	return 0;
}

int cli_pid(const char *opt, const char *s, pid_t *pid)
{
	uint64_t v;

	/* Any pid_t: one no process has is the open's error (exit 1). */
	if (parse_digits(s, INT32_MAX, &v) || !v)
		return fail("%s '%s': give a process id (decimal digits)",
			    opt, s) + 1;
	*pid = (pid_t)v;
	return 0;
}

/* SECS[.FRAC] above 0, at most max; no exponent, no "inf". */
int cli_seconds(const char *opt, const char *s, double max, double *v)
{
	const char *dot = strchr(s, '.');
	size_t whole = dot ? (size_t)(dot - s) : strlen(s);
	uint64_t w, frac = 0, scale = 1;
	char buf[24];

	if (!whole || whole >= sizeof(buf))
		goto bad;
	memcpy(buf, s, whole);
	buf[whole] = '\0';
	if (parse_digits(buf, UINT32_MAX, &w))
		goto bad;
	if (dot) {
		if (strlen(dot + 1) > 9 || parse_digits(dot + 1, UINT32_MAX,
							&frac))
			goto bad;
		for (size_t i = strlen(dot + 1); i; i--)
			scale *= 10;
	}
	*v = (double)w + (double)frac / (double)scale;
	if (*v > 0 && *v <= max)
		return 0;
bad:
	return fail("%s '%s': give seconds above 0 and at most %g (such as 10 "
		    "or 0.5)", opt, s, max) + 1;
}

int cli_ringbuf_mb(const char *s, uint32_t *bytes)
{
	uint64_t mb;

	if (parse_digits(s, 2048, &mb) || !mb || (mb & (mb - 1)))
		return fail("--ringbuf-mb '%s': give a power of two from 1 to "
			    "2048", s) + 1;
	*bytes = (uint32_t)(mb << 20);
	return 0;
}

int cli_ops(const char *s, uint32_t *mask)
{
	struct errbuf err;

	if (trace_ops_parse(s, mask, &err))
		return fail("%s", err.msg) + 1;
	return 0;
}

int cli_freeze(const char *s, uint32_t *mode)
{
	static const char *const names[] = {
		[GMT_FREEZE_OFF] = "off",
		[GMT_FREEZE_MAP] = "map",
		[GMT_FREEZE_ALL] = "all",
	};

	for (uint32_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i])) {
			*mode = i;
			return 0;
		}
	return fail("--freeze '%s': give all, map or off", s) + 1;
}

void cli_trace_opts_init(struct cli_trace_opts *to)
{
	to->ops_mask = TRACE_DEFAULT_OPS;
	to->ringbuf_bytes = 0;
	to->freeze = GMT_FREEZE_ALL;
}

int cli_trace_opt(int c, const char *arg, struct cli_trace_opts *to)
{
	switch (c) {
	case 'O':
		return cli_ops(arg, &to->ops_mask);
	case 'R':
		return cli_ringbuf_mb(arg, &to->ringbuf_bytes);
	case 'C':
		to->ops_mask = 1u << GMT_OP_FATAL;
		return 0;
	case 'F':
		return cli_freeze(arg, &to->freeze);
	}
	return 1;
}
