// SPDX-License-Identifier: MIT
/*
 * gomaptrace symbolize: addresses to Go functions, files and lines, with
 * inlined calls expanded, from the binary's own .gopclntab.
 */
#include <argp.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "gobin.h"
#include "json_writer.h"
#include "textfmt.h"

#define MAX_FRAMES 64

struct sym_args {
	const char *binary;
	pid_t pid;
	bool json;
	char **addrs;
	int naddrs;
	int usage_error;	/* one line already printed */
};

static const char doc[] =
	"Turn code addresses of a Go program into functions, files and lines, "
	"innermost inlined call first.\n\n"
	"ADDR is hex (0x...) or decimal: a link-time address for BINARY, a "
	"run-time address for -p PID (the PIE load bias is subtracted).\n\n"
	"Examples:\n"
	"  gomaptrace symbolize ./server 0x4a1b2c 0x4a1c00\n"
	"  gomaptrace symbolize -p 1234 0x55d0c84a1b2c --json\n"
	"\vOutput, one line per frame:\n"
	"  0x4a1b2c main.(*Store).put /src/store.go:42 (inlined)\n"
	"  0x4a1b2c main.handler /src/main.go:17\n"
	"--json prints [{\"addr\": \"0x...\", \"frames\": [{\"function\", "
	"\"file\", \"line\", \"inlined\"}]}]; an address in no Go function "
	"has no frames.";

static const struct argp_option options[] = {
	{ "pid", 'p', "PID", 0, "symbolize run-time addresses of this process",
	  0 },
	{ "json", 'j', NULL, 0, "print JSON", 0 },
	{ 0 }
};

static int usage_error(struct sym_args *a, const char *fmt, const char *arg)
{
	fputs("gomaptrace symbolize: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("; see 'gomaptrace symbolize --help'\n", stderr);
	a->usage_error = 1;
	return 0;
}

static bool parse_u64(const char *s, uint64_t *v)
{
	int base = 10;
	char *end;

	if (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2)) {
		s += 2;
		base = 16;
	}
	if (!*s || !(base == 16 ? isxdigit((unsigned char)*s) :
				  isdigit((unsigned char)*s)))
		return false;
	errno = 0;
	*v = strtoull(s, &end, base);
	return !errno && !*end;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct sym_args *a = state->input;
	uint64_t v;

	switch (key) {
	case 'p':
		if (!parse_u64(arg, &v) || v == 0 || v > INT32_MAX)
			return usage_error(a, "'%s' is not a process id", arg);
		a->pid = (pid_t)v;
		return 0;
	case 'j':
		a->json = true;
		return 0;
	case ARGP_KEY_ARGS:
		a->addrs = state->argv + state->next;
		a->naddrs = state->argc - state->next;
		if (!a->pid && a->naddrs > 0) {
			a->binary = a->addrs[0];
			a->addrs++;
			a->naddrs--;
		}
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static void print_text(const char *arg, uint64_t addr,
		       const struct pcln_frame *fr, int n)
{
	if (!n) {
		fprintf(stderr, "gomaptrace: %s: not in any Go function\n",
			arg);
		return;
	}
	for (int i = 0; i < n; i++)
		printf("0x%llx %s %s:%d%s\n", (unsigned long long)addr,
		       safe_text(fr[i].function), safe_text(fr[i].file),
		       fr[i].line,
		       fr[i].inlined ? " (inlined)" : "");
}

static void print_json(struct json_writer *jw, uint64_t addr,
		       const struct pcln_frame *fr, int n)
{
	jw_start_object(jw);
	jw_kv_hex(jw, "addr", addr);
	jw_key(jw, "frames");
	jw_start_array(jw);
	for (int i = 0; i < n; i++) {
		jw_start_object(jw);
		jw_kv_string(jw, "function", fr[i].function);
		jw_kv_string(jw, "file", fr[i].file);
		jw_kv_int(jw, "line", fr[i].line);
		jw_kv_bool(jw, "inlined", fr[i].inlined);
		jw_end_object(jw);
	}
	jw_end_array(jw);
	jw_end_object(jw);
}

static void symbolize_all(const struct gobin *gb, const struct sym_args *a,
			  const uint64_t *addrs)
{
	struct pcln_frame fr[MAX_FRAMES];
	struct json_writer jw;

	if (a->json) {
		jw_init(&jw, stdout, true);
		jw_start_array(&jw);
	}
	for (int i = 0; i < a->naddrs; i++) {
		uint64_t pc = addrs[i] - gb->load_bias;
		int n = 0;

		/* Below the bias is below the executable: no function. */
		if (addrs[i] >= gb->load_bias)
			n = gobin_frames(gb, pc, fr, MAX_FRAMES);
		if (a->json)
			print_json(&jw, addrs[i], fr, n);
		else
			print_text(a->addrs[i], addrs[i], fr, n);
	}
	if (a->json) {
		jw_end_array(&jw);
		jw_finish(&jw);
	}
}

static int check_args(struct sym_args *a, uint64_t *addrs)
{
	if (!a->pid && !a->binary) {
		usage_error(a, "%s", "give a BINARY or -p PID, then addresses");
		return -1;
	}
	if (!a->naddrs) {
		usage_error(a, "%s", "no address given");
		return -1;
	}
	for (int i = 0; i < a->naddrs; i++) {
		if (!parse_u64(a->addrs[i], &addrs[i])) {
			usage_error(a, "'%s' is not an address (hex 0x... or "
				    "decimal)", a->addrs[i]);
			return -1;
		}
	}
	return 0;
}

int cmd_symbolize(int argc, char **argv)
{
	static char name[] = "gomaptrace symbolize";
	struct argp argp = { options, parse_opt,
			     "BINARY ADDR...\n-p PID ADDR...", doc, NULL, NULL,
			     NULL };
	struct sym_args a = { 0 };
	struct errbuf err = { { 0 } };
	struct gobin gb;
	uint64_t *addrs;
	int ret;

	argp_err_exit_status = 2;
	argv[0] = name;		/* for argp's usage lines */
	if (argp_parse(&argp, argc, argv, 0, NULL, &a) || a.usage_error)
		return 2;
	addrs = calloc(a.naddrs ? a.naddrs : 1, sizeof(*addrs));
	if (!addrs)
		return fail("out of memory");
	if (check_args(&a, addrs)) {
		free(addrs);
		return 2;
	}
	ret = a.pid ? gobin_open_pid(&gb, a.pid, &err) :
		      gobin_open_path(&gb, a.binary, &err);
	if (ret) {
		free(addrs);
		return fail("%s", err.msg);
	}
	symbolize_all(&gb, &a, addrs);
	gobin_close(&gb);
	free(addrs);
	return 0;
}
