// SPDX-License-Identifier: MIT
/*
 * gomaptrace symbolize: addresses to Go functions, files and lines, with
 * inlined calls expanded, from the binary's own .gopclntab.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "gobin.h"
#include "json_writer.h"

#define MAX_FRAMES 64

struct sym_args {
	const char *binary;
	pid_t pid;
	bool json;
	char **addrs;
	int naddrs;
};

static void usage(FILE *out)
{
	fputs("Usage: gomaptrace symbolize BINARY ADDR...\n"
	      "       gomaptrace symbolize -p PID ADDR...\n\n"
	      "Turns code addresses of a Go program into functions, files and "
	      "lines,\ninnermost inlined call first.\n\n"
	      "ADDR is hex (0x...) or decimal: a link-time address for BINARY, "
	      "a run-time\naddress for -p PID (the PIE load bias is "
	      "subtracted).\n\n"
	      "  -p, --pid PID        symbolize run-time addresses of this "
	      "process\n"
	      "  -j, --json           print JSON\n"
	      CLI_HELP_HELP "\n"
	      "Examples:\n"
	      "  gomaptrace symbolize ./server 0x4a1b2c 0x4a1c00\n"
	      "  gomaptrace symbolize -p 1234 0x55d0c84a1b2c --json\n\n"
	      "Output, one line per frame:\n"
	      "  0x4a1b2c main.(*Store).put /src/store.go:42 (inlined)\n"
	      "  0x4a1b2c main.handler /src/main.go:17\n"
	      "--json prints [{\"addr\": \"0x...\", \"frames\": [{\"function\", "
	      "\"file\", \"line\",\n\"inlined\"}]}]; an address in no Go "
	      "function has no frames.\n", out);
}

static const struct option longopts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "json", no_argument, NULL, 'j' },
	CLI_LONGOPTS,
	{ 0 },
};

static const struct cli_cmd cmd = { "symbolize", ":p:jh", longopts, usage };

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

static int parse_opt(int c, const char *arg, void *ctx)
{
	struct sym_args *a = ctx;

	if (c == 'p')
		return cli_pid("-p", arg, &a->pid);
	a->json = true;
	return 0;
}

static int parse_args(int argc, char **argv, struct sym_args *a)
{
	int r = cli_parse(&cmd, argc, argv, parse_opt, a);

	if (r)
		return r;
	a->addrs = argv + optind;
	a->naddrs = argc - optind;
	if (!a->pid && a->naddrs > 0) {
		a->binary = a->addrs[0];
		a->addrs++;
		a->naddrs--;
	}
	return 0;
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
		       fr[i].function, fr[i].file, fr[i].line,
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
	if (!a->pid && !a->binary)
		return cli_error(&cmd, "give a BINARY or -p PID, then "
				 "addresses");
	if (!a->naddrs)
		return cli_error(&cmd, "no address given");
	for (int i = 0; i < a->naddrs; i++)
		if (!parse_u64(a->addrs[i], &addrs[i]))
			return cli_error(&cmd, "'%s' is not an address (hex "
					 "0x... or decimal)", a->addrs[i]);
	return 0;
}

int cmd_symbolize(int argc, char **argv)
{
	struct sym_args a = { 0 };
	struct errbuf err = { { 0 } };
	struct gobin gb;
	uint64_t *addrs;
	int ret;

	ret = parse_args(argc, argv, &a);
	if (ret)
		return ret < 0 ? 0 : ret;
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
