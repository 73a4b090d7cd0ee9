// SPDX-License-Identifier: MIT
/*
 * gomaptrace info: what gomaptrace knows about a Go binary or a running Go
 * process, and where each fact came from.
 */
#include <argp.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "gobin.h"
#include "gotypes.h"
#include "json_writer.h"
#include "textfmt.h"

#define MAX_MAP_TYPES 100000

struct info_args {
	const char *binary;
	pid_t pid;
	bool json;
	bool map_types;
};

enum { OPT_JSON = 0x100, OPT_MAP_TYPES };

static const struct argp_option options[] = {
	{ "pid", 'p', "PID", 0, "A running process instead of a file", 0 },
	{ "json", OPT_JSON, NULL, 0, "Machine-readable output", 0 },
	{ "map-types", OPT_MAP_TYPES, NULL, 0,
	  "Also list the map types in the binary's type links", 0 },
	{ 0 }
};

static const char doc[] =
	"Show what gomaptrace knows about a Go binary or process: Go version, "
	"map implementation, the runtime's write-in-progress flag, the goid "
	"offset, and where each map function will be probed."
	"\v"
	"Examples:\n"
	"  gomaptrace info ./server\n"
	"  gomaptrace info -p 1234 --json\n"
	"  gomaptrace info ./server --map-types\n"
	"\n"
	"JSON fields: go_version (null when unknown) and go_version_source "
	"(\"buildinfo\", \"buildinfo-scan\", \"symtab\": runtime.buildVersion, "
	"\"data-scan\": runtime.buildVersion found as a Go string header in "
	"the data segment, \"unknown\"); "
	"arch; pclntab_version, the .gopclntab format as the Go release that "
	"introduced it: \"1.16\" (Go 1.16-1.17), \"1.18\" (1.18-1.19) or "
	"\"1.20\" (1.20 and later); map_impl (\"buckets\" or \"swiss\"); "
	"write_flag {offset, mask, source}; goid_offset (-1 unknown) and "
	"goid_source; pie; load_bias (with -p); probes, each {function, op, "
	"entry, probe, method, file_offset}, addresses link-time hex strings. "
	"Sources: \"dwarf\", \"code\" (decoded from the binary's own "
	"instructions), \"table\" (per Go version), \"none\". Methods: "
	"\"branch\" (the jbe after the stack check, emulated by the kernel: "
	"fast), \"entry-emulated\", \"entry-slow\" (single-stepped).";

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct info_args *a = state->input;
	char *end;
	long v;

	switch (key) {
	case 'p':
		v = strtol(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || v <= 0 || v > 0x3fffffff)
			argp_error(state, "'%s' is not a process id", arg);
		a->pid = (pid_t)v;
		break;
	case OPT_JSON:
		a->json = true;
		break;
	case OPT_MAP_TYPES:
		a->map_types = true;
		break;
	case ARGP_KEY_ARG:
		if (a->binary)
			argp_error(state, "one BINARY only");
		a->binary = arg;
		break;
	case ARGP_KEY_END:
		if (!a->binary == !a->pid)
			argp_error(state, "give a BINARY or -p PID");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = { options, parse_opt, "BINARY | -p PID",
				  doc, NULL, NULL, NULL };

static const char *pclntab_version_name(enum pclntab_version v)
{
	switch (v) {
	case PCLNTAB_116: return "1.16";
	case PCLNTAB_118: return "1.18";
	case PCLNTAB_120: return "1.20";
	case PCLNTAB_UNKNOWN: break;
	}
	return "unknown";
}

struct type_list {
	char **names;
	size_t n, cap;
	const struct gobin *gb;
};

static void collect_map_type(void *ctx, uint64_t addr)
{
	struct type_list *l = ctx;
	char name[512], **nn;

	if (gotypes_kind(l->gb->types, addr) != GO_KIND_MAP ||
	    gobin_type_name(l->gb, addr, name, sizeof(name)))
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		nn = realloc(l->names, l->cap * sizeof(*nn));
		if (!nn)
			return;
		l->names = nn;
	}
	l->names[l->n] = strdup(name);
	if (l->names[l->n])
		l->n++;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_map_types(const struct gobin *gb, struct type_list *l)
{
	memset(l, 0, sizeof(*l));
	l->gb = gb;
	if (gb->types)
		gotypes_typelinks(gb->types, collect_map_type, l,
				  MAX_MAP_TYPES);
	if (l->n)
		qsort(l->names, l->n, sizeof(*l->names), cmp_str);
}

static void free_types(struct type_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
}

static bool has_dwarf(const struct gobin *gb)
{
	return elf_find_section(&gb->elf, ".debug_info") != NULL;
}

static bool has_symtab(const struct gobin *gb)
{
	return elf_find_section(&gb->elf, ".symtab") != NULL;
}

static void json_probe(struct json_writer *jw, const struct probe_site *p)
{
	jw_start_object(jw);
	jw_kv_string(jw, "function", p->function);
	jw_kv_string(jw, "op", probe_op_name(p->op));
	jw_kv_hex(jw, "entry", p->entry);
	jw_kv_hex(jw, "probe", p->probe);
	jw_kv_string(jw, "method", probe_method_name(p->method));
	jw_key(jw, "file_offset");
	if (p->file_offset < 0)
		jw_null(jw);
	else
		jw_hex(jw, (uint64_t)p->file_offset);
	jw_end_object(jw);
}

static void print_json(const struct gobin *gb, const struct type_list *tl,
		       bool with_types)
{
	struct json_writer jw;

	jw_init(&jw, stdout, true);
	jw_start_object(&jw);
	jw_kv_string(&jw, "path", gb->exe);
	if (gb->pid)
		jw_kv_int(&jw, "pid", gb->pid);
	jw_key(&jw, "go_version");
	if (gb->go_version[0])
		jw_string(&jw, gb->go_version);
	else
		jw_null(&jw);
	jw_kv_string(&jw, "go_version_source", gb->go_version_source);
	jw_kv_string(&jw, "arch", "x86_64");
	jw_kv_string(&jw, "pclntab_version",
		     pclntab_version_name(pclntab_get_version(gb->pcln)));
	jw_kv_uint(&jw, "functions", pclntab_nfuncs(gb->pcln));
	jw_kv_bool(&jw, "symtab", has_symtab(gb));
	jw_kv_bool(&jw, "dwarf", has_dwarf(gb));
	jw_kv_string(&jw, "map_impl", map_impl_name(gb->map_impl));
	jw_key(&jw, "write_flag");
	jw_start_object(&jw);
	jw_kv_uint(&jw, "offset", gb->flag.offset);
	jw_kv_uint(&jw, "mask", gb->flag.mask);
	jw_kv_string(&jw, "source", fact_source_name(gb->flag.source));
	jw_end_object(&jw);
	jw_key(&jw, "seed");
	jw_start_object(&jw);
	jw_kv_uint(&jw, "offset", gb->seed.offset);
	jw_kv_uint(&jw, "size", gb->seed.size);
	jw_kv_string(&jw, "source", fact_source_name(gb->seed.source));
	jw_end_object(&jw);
	jw_kv_int(&jw, "goid_offset", gb->goid_offset);
	jw_kv_string(&jw, "goid_source", fact_source_name(gb->goid_source));
	jw_kv_bool(&jw, "pie", gb->elf.type == ET_DYN);
	if (gb->pid)
		jw_kv_hex(&jw, "load_bias", gb->load_bias);
	jw_key(&jw, "probes");
	jw_start_array(&jw);
	for (size_t i = 0; i < gb->nprobes; i++)
		json_probe(&jw, &gb->probes[i]);
	jw_end_array(&jw);
	if (with_types) {
		jw_key(&jw, "map_types");
		jw_start_array(&jw);
		for (size_t i = 0; i < tl->n; i++)
			jw_string(&jw, tl->names[i]);
		jw_end_array(&jw);
	}
	jw_end_object(&jw);
	jw_finish(&jw);
}

static const char *source_words(enum fact_source s)
{
	switch (s) {
	case SRC_DWARF: return "from DWARF";
	case SRC_CODE: return "decoded from the binary's own code";
	case SRC_TABLE: return "from the per-version table";
	case SRC_NONE: break;
	}
	return "unknown";
}

static const char *version_words(const char *src)
{
	static const char *const words[][2] = {
		{ "buildinfo", "from .go.buildinfo" },
		{ "buildinfo-scan", "from a buildinfo block found in the file" },
		{ "symtab", "from runtime.buildVersion in .symtab" },
		{ "data-scan", "from runtime.buildVersion, a Go string in the "
			       "data segment: no buildinfo, no symbols" },
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(src, words[i][0]))
			return words[i][1];
	return "no buildinfo, no symbols, no version string found";
}

static void print_probes(const struct gobin *gb)
{
	size_t slow = 0;

	printf("\nProbe sites (%zu):\n", gb->nprobes);
	printf("  %-30s %-9s %-12s %-12s %-14s %s\n", "function", "op",
	       "entry", "probe", "method", "file offset");
	for (size_t i = 0; i < gb->nprobes; i++) {
		const struct probe_site *p = &gb->probes[i];
		char off[32] = "-";

		if (p->file_offset >= 0)
			snprintf(off, sizeof(off), "0x%llx",
				 (unsigned long long)p->file_offset);
		printf("  %-30s %-9s 0x%-10llx 0x%-10llx %-14s %s\n",
		       safe_text(p->function), probe_op_name(p->op),
		       (unsigned long long)p->entry,
		       (unsigned long long)p->probe,
		       probe_method_name(p->method), off);
		slow += p->method == PROBE_ENTRY_SLOW;
	}
	if (slow)
		printf("  %zu site(s) single-stepped at entry (no stack check "
		       "to probe after; the fatal path is expected here)\n",
		       slow);
}

static void print_text(const struct gobin *gb, const struct type_list *tl,
		       bool with_types)
{
	const char *impl = gb->map_impl == MAP_IMPL_SWISS
				   ? "swiss (internal/runtime/maps.Map)"
				   : "buckets (runtime.hmap)";

	printf("Binary:        %s", safe_text(gb->exe));
	if (gb->pid)
		printf(" (PID %d)", (int)gb->pid);
	printf("\nGo version:    %s (%s)\n",
	       gb->go_version[0] ? safe_text(gb->go_version) : "unknown",
	       version_words(gb->go_version_source));
	printf("Arch:          x86_64, %s\n",
	       gb->elf.type == ET_DYN ? "PIE" : "not PIE");
	if (gb->pid)
		printf("Load bias:     0x%llx\n",
		       (unsigned long long)gb->load_bias);
	printf("Symbols:       .gopclntab (format %s, %zu functions), "
	       ".symtab %s, DWARF %s\n",
	       pclntab_version_name(pclntab_get_version(gb->pcln)),
	       pclntab_nfuncs(gb->pcln), has_symtab(gb) ? "yes" : "no",
	       has_dwarf(gb) ? "yes" : "no");
	printf("Maps:          %s\n", impl);
	printf("Write flag:    byte at offset %u, mask 0x%x (%s)\n",
	       gb->flag.offset, gb->flag.mask, source_words(gb->flag.source));
	if (gb->seed.source != SRC_NONE)
		printf("Hash seed:     %u bytes at offset %u (%s)\n",
		       gb->seed.size, gb->seed.offset,
		       source_words(gb->seed.source));
	if (gb->goid_offset >= 0)
		printf("Goroutine id:  runtime.g + %d (%s)\n", gb->goid_offset,
		       source_words(gb->goid_source));
	else
		printf("Goroutine id:  offset unknown (no DWARF and the Go "
		       "version is not in the table); ids will be 0\n");
	print_probes(gb);
	if (with_types) {
		printf("\nMap types (%zu):\n", tl->n);
		for (size_t i = 0; i < tl->n; i++)
			printf("  %s\n", safe_text(tl->names[i]));
	}
}

int cmd_info(int argc, char **argv)
{
	struct info_args a = { 0 };
	struct errbuf err = { { 0 } };
	struct type_list tl = { 0 };
	struct gobin gb;
	char name[] = "gomaptrace info";
	int ret;

	argv[0] = name;
	argp_err_exit_status = 2;
	if (argp_parse(&argp, argc, argv, 0, NULL, &a))
		return 2;
	ret = a.pid ? gobin_open_pid(&gb, a.pid, &err)
		    : gobin_open_path(&gb, a.binary, &err);
	if (ret)
		return fail("%s", err.msg);
	if (a.map_types)
		list_map_types(&gb, &tl);
	if (a.json)
		print_json(&gb, &tl, a.map_types);
	else
		print_text(&gb, &tl, a.map_types);
	free_types(&tl);
	gobin_close(&gb);
	return 0;
}
