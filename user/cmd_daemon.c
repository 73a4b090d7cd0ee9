// SPDX-License-Identifier: MIT
/* `gomaptrace daemon`: options, then daemon_run() (daemon.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "daemon.h"
#include "tracer.h"

#define DEFAULT_DIR		"/var/lib/gomaptrace"
#define DEFAULT_INTERVAL_S	600
#define MAX_DISK_MB		(1u << 20)	/* 1 TiB */

enum { OPT_BUDGET = 0x100, OPT_EXE, OPT_PID, OPT_INTERVAL, OPT_MAX_DISK,
       OPT_RUN_DIR };

static void usage(FILE *out)
{
	fprintf(out, "Usage: gomaptrace daemon [--dir DIR] [--budget PCT] "
		"[--exe PATTERN]... [--pid PID]...\n"
		"                         [--interval DUR] [--max-disk MB]\n\n"
		"Guards every Go process of the host, those running now and "
		"those started later\n(containers too): at a map crash "
		"('fatal error: concurrent map ...') it freezes the\nprocess "
		"for a moment, reads every thread, and writes both sides of "
		"the race to\nDIR/crashes/<exe>-<pid>-<time>/ (report.txt, "
		"report.json) and one line to stderr.\nUntil then the guarded "
		"processes pay nothing: only the runtime's fatal path is\n"
		"probed. 'gomaptrace status' shows what it guards. SIGTERM "
		"detaches everything and\nexits; SIGHUP reopens the output "
		"files.\n\n"
		"  -d, --dir DIR        where reports go (default " DEFAULT_DIR
		"; created mode 0700)\n"
		"      --budget PCT     most CPU the probes may add to a "
		"process, in percent of one\n"
		"                       CPU (default 1)\n"
		"      --exe PATTERN    only programs whose path or name "
		"matches (glob; repeatable)\n"
		"      --pid PID        only these processes (repeatable)\n"
		"      --interval DUR   metrics and reports period: 30s, 10m, "
		"1h (default 10m)\n"
		"      --max-disk MB    DIR never grows past MB; the oldest "
		"reports go first\n"
		"      --run-dir DIR    socket and lock file (default "
		"/run/gomaptrace)\n"
		CLI_VERBOSE_HELP
		CLI_HELP_HELP "\n"
		"Examples:\n"
		"  gomaptrace daemon --dir /var/lib/gomaptrace\n"
		"  gomaptrace daemon --exe '*/caddy' --max-disk 512\n"
		"  gomaptrace status\n");
}

/* Digits with at most one dot ("0.5", "10"), quietly: -1 when not. */
static int decimal(const char *s, double *v)
{
	int dots = 0, digits = 0;

	for (const char *p = s; *p; p++) {
		if (*p == '.')
			dots++;
		else if (*p >= '0' && *p <= '9')
			digits++;
		else
			return -1;
	}
	if (!digits || dots > 1 || strlen(s) > 16)
		return -1;
	*v = strtod(s, NULL);
	return 0;
}

/* 30, 30s, 10m, 1h: seconds, at least 1, at most a day. */
static int parse_duration(const char *s, double *v)
{
	char buf[24];
	size_t n = strlen(s);
	double mul = 1;

	if (!n || n >= sizeof(buf))
		goto bad;
	memcpy(buf, s, n + 1);
	if (buf[n - 1] == 's' || buf[n - 1] == 'm' || buf[n - 1] == 'h') {
		mul = buf[n - 1] == 'h' ? 3600 : buf[n - 1] == 'm' ? 60 : 1;
		buf[--n] = '\0';
	}
	if (decimal(buf, v))
		goto bad;
	*v *= mul;
	if (*v >= 1 && *v <= 86400)
		return 0;
bad:
	return fail("--interval '%s': give a duration from 1s to 24h, such "
		    "as 30s, 10m or 1h", s) + 1;
}

static int parse_budget(const char *s, double *v)
{
	if (decimal(s, v) || *v <= 0 || *v > 100)
		return fail("--budget '%s': give a percentage of one CPU "
			    "above 0 and at most 100 (such as 1 or 0.5)", s) +
		       1;
	return 0;
}

static int parse_opt(int c, const char *arg, void *ctx)
{
	struct daemon_opts *o = ctx;
	uint64_t mb;
	int r;

	switch (c) {
	case 'd':
		o->dir = arg;
		return 0;
	case OPT_RUN_DIR:
		o->run_dir = arg;
		return 0;
	case OPT_BUDGET:
		return parse_budget(arg, &o->budget_pct);
	case OPT_INTERVAL:
		return parse_duration(arg, &o->interval_s);
	case OPT_MAX_DISK:
		r = cli_uint("--max-disk", arg, 1, MAX_DISK_MB, &mb);
		o->max_disk = mb << 20;
		return r;
	case OPT_EXE:
		if (o->nexe >= DAEMON_MAX_PATTERNS)
			return fail("--exe: at most %d patterns",
				    DAEMON_MAX_PATTERNS) + 1;
		o->exe[o->nexe++] = arg;
		return 0;
	case OPT_PID:
		if (o->npids >= DAEMON_MAX_PIDS)
			return fail("--pid: at most %d processes",
				    DAEMON_MAX_PIDS) + 1;
		return cli_pid("--pid", arg, &o->pids[o->npids++]);
	case 'v':
		tracer_set_verbosity(tracer_verbosity() + 1);
		return 0;
	}
	return 2;
}

int cmd_daemon(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "budget", required_argument, NULL, OPT_BUDGET },
		{ "exe", required_argument, NULL, OPT_EXE },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "max-disk", required_argument, NULL, OPT_MAX_DISK },
		{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
		{ "verbose", no_argument, NULL, 'v' },
		CLI_LONGOPTS,
		{ 0 },
	};
	static const struct cli_cmd cmd = { "daemon", ":d:hv", longopts,
					    usage };
	static struct daemon_opts o;
	int ret;

	o = (struct daemon_opts){ .dir = DEFAULT_DIR, .budget_pct = 1,
				  .interval_s = DEFAULT_INTERVAL_S };
	ret = cli_parse(&cmd, argc, argv, parse_opt, &o);
	if (ret)
		return ret < 0 ? 0 : ret;
	ret = cli_no_operands(&cmd, argc, argv);
	if (ret)
		return ret;
	return daemon_run(&o);
}
