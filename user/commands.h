/* SPDX-License-Identifier: MIT */
#ifndef GMT_COMMANDS_H
#define GMT_COMMANDS_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/*
 * One subcommand per file (cmd_<name>.c). Each parses its own options and
 * returns the process exit status: 0 success, 1 failure (one line on stderr
 * said why), 2 usage error.
 */
int cmd_info(int argc, char **argv);
int cmd_symbolize(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_daemon(int argc, char **argv);
int cmd_status(int argc, char **argv);

/* "gomaptrace: " + message + "\n" on stderr; returns 1. */
__attribute__((format(printf, 1, 2)))
int fail(const char *fmt, ...);

/*
 * The convention every subcommand follows (cli.c): getopt_long options,
 * -h/--help prints the usage (with examples) to stdout and exits 0, a bad
 * option or value is one line on stderr and exit status 2, -v/--verbose
 * (where BPF is loaded) shows libbpf's log, -vv its debug log.
 */
struct option;

struct cli_cmd {
	const char *name;		/* "record": messages say "gomaptrace record" */
	const char *shortopts;		/* getopt's, starting ':' ("+:" to stop at
					 * the first operand); 'h' and 'v' are
					 * handled here */
	const struct option *longopts;	/* CLI_LONGOPTS among them */
	void (*usage)(FILE *out);
};

#define CLI_LONGOPTS	{ "help", no_argument, NULL, 'h' }
/* The commands that trace: also --ops (code 'O', cli_ops()) and -v. */
#define CLI_TRACE_LONGOPTS \
	{ "ops", required_argument, NULL, 'O' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	CLI_LONGOPTS

/*
 * The whole loop: fn gets each option the command declared (with its
 * value, or NULL) and returns 0 or the exit status 2. cli_parse() returns
 * 0 (operands from optind), -1 (the usage was printed: exit 0) or 2.
 */
typedef int (*cli_opt_fn)(int code, const char *arg, void *ctx);
int cli_parse(const struct cli_cmd *cmd, int argc, char **argv,
	      cli_opt_fn fn, void *ctx);
/* After the options: no operand left. 0 or 2. */
int cli_no_operands(const struct cli_cmd *cmd, int argc, char **argv);
/* After the options of record and top: no operand, and a -p. 0 or 2. */
int cli_need_pid(const struct cli_cmd *cmd, int argc, char **argv,
		 pid_t pid);

/* Usage lines the commands that trace share. */
#define CLI_OPS_HELP \
	"      --ops LIST       operations to trace (default " \
	"assign,delete,clear,iterate;\n" \
	"                       also iter_next)\n"
#define CLI_RINGBUF_HELP \
	"      --ringbuf-mb N   ring buffer size, a power of two (default " \
	"64)\n"
/* The crash guard's options, on run and record (guard.h). */
#define CLI_GUARD_LONGOPTS \
	{ "crash-only", no_argument, NULL, 'C' }, \
	{ "freeze", required_argument, NULL, 'F' }
#define CLI_GUARD_HELP \
	"      --crash-only     probe only the fatal path: nothing paid " \
	"until a crash\n" \
	"      --freeze WHEN    stop the process at its fatal error to read " \
	"every\n" \
	"                       thread: all (default), map (map errors " \
	"only), off\n"
#define CLI_VERBOSE_HELP \
	"  -v, --verbose        libbpf's log (-vv: its debug log)\n"
#define CLI_HELP_HELP \
	"  -h, --help           this text\n"

/* "gomaptrace SUB: " + message + where the usage is, on stderr; returns 2. */
__attribute__((format(printf, 2, 3)))
int cli_error(const struct cli_cmd *cmd, const char *fmt, ...);

/*
 * Strict value parsers: 0, or 2 (the usage exit status) after one line
 * naming opt and the value. Decimal digits only for numbers.
 */
int cli_pid(const char *opt, const char *s, pid_t *pid);
int cli_uint(const char *opt, const char *s, uint64_t min, uint64_t max,
	     uint64_t *v);
int cli_seconds(const char *opt, const char *s, double max, double *v);
int cli_ringbuf_mb(const char *s, uint32_t *bytes);
int cli_ops(const char *s, uint32_t *mask);
/* --freeze all|map|off: a GMT_FREEZE_* mode (event.h). */
int cli_freeze(const char *s, uint32_t *mode);

/* What run and record share: --ops, --ringbuf-mb, --crash-only, --freeze. */
struct cli_trace_opts {
	uint32_t ops_mask;	/* 1 << enum gmt_op */
	uint32_t ringbuf_bytes;	/* 0: the tracer's default */
	uint32_t freeze;	/* GMT_FREEZE_* */
};

void cli_trace_opts_init(struct cli_trace_opts *to);
/* Options 'O', 'R', 'C', 'F': 0 or 2; 1 when c is none of them. */
int cli_trace_opt(int c, const char *arg, struct cli_trace_opts *to);

#endif
