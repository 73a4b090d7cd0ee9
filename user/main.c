// SPDX-License-Identifier: MIT
/*
 * gomaptrace: find concurrent Go map access in live processes.
 * This file only dispatches to the subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

/* The release; the Makefile adds the commit it was built from. */
#define GMT_VERSION	"0.1.0"
#ifndef GMT_REV
#define GMT_REV		""
#endif

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "run", cmd_run, "start a Go program under tracing, report when it ends" },
	{ "record", cmd_record, "attach to a live process, write a trace file" },
	{ "report", cmd_report, "report a trace file (text, json, folded, pprof, perfetto)" },
	{ "top", cmd_top, "live view of the hottest maps of a process" },
	{ "info", cmd_info, "what gomaptrace knows about a Go binary or process" },
	{ "symbolize", cmd_symbolize, "addresses to Go functions, files and lines" },
	{ "daemon", cmd_daemon, "guard every Go process of the host, report map crashes" },
	{ "status", cmd_status, "what the running daemon guards and found" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "Usage: gomaptrace COMMAND [OPTIONS]\n\n"
		     "Finds concurrent Go map access in running programs.\n\n"
		     "Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(out, "\nExamples:\n"
		     "  gomaptrace run -- ./server -port 8080\n"
		     "  gomaptrace record -p 1234 -d 10 -o server.gmt\n"
		     "  gomaptrace report server.gmt --format pprof -o maps.pb.gz\n"
		     "  gomaptrace info ./server --json\n"
		     "  gomaptrace daemon --dir /var/lib/gomaptrace\n"
		     "\nOptions:\n"
		     "  -h, --help     this text\n"
		     "      --version  the version of gomaptrace\n"
		     "\n'gomaptrace COMMAND --help' describes each command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("gomaptrace %s%s%s%s\n", GMT_VERSION,
		       GMT_REV[0] ? " (" : "", GMT_REV, GMT_REV[0] ? ")" : "");
		return 0;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "gomaptrace: unknown command '%s'; "
			"run 'gomaptrace --help' for the list\n", argv[1]);
	return 2;
}
