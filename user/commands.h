/* SPDX-License-Identifier: MIT */
#ifndef GMT_COMMANDS_H
#define GMT_COMMANDS_H

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

/* "gomaptrace: " + message + "\n" on stderr; returns 1. */
__attribute__((format(printf, 1, 2)))
int fail(const char *fmt, ...);

#endif
