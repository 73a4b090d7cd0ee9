// SPDX-License-Identifier: MIT
/*
 * gomaptrace info: what gomaptrace knows about a Go binary or a running Go
 * process, and where each fact came from.
 */
#include <getopt.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "gobin.h"
#include "gotypes.h"
#include "json_writer.h"
#include "trace.h"

#define MAX_MAP_TYPES 100000

struct info_args {
	const char *binary;
	pid_t pid;
	bool json;
	bool map_types;
};

enum { OPT_JSON = 0x100, OPT_MAP_TYPES };

static void usage(FILE *out)
{
	fputs("Usage: gomaptrace info BINARY | -p PID [--json] [--map-types]\n"
	      "\nShows what gomaptrace knows about a Go binary or process: Go "
	      "version, map\nimplementation, the runtime's write-in-progress "
	      "flag, the goid offset, and\nwhere each map function will be "
	      "probed.\n\n"
	      "  -p, --pid PID        a running process instead of a file\n"
	      "      --json           machine-readable output\n"
	      "      --map-types      also list the map types in the binary's "
	      "type links\n"
	      CLI_HELP_HELP "\n"
	      "Examples:\n"
	      "  gomaptrace info ./server\n"
	      "  gomaptrace info -p 1234 --json\n"
	      "  gomaptrace info ./server --map-types\n\n"
	      "JSON fields: go_version (null when unknown) and "
	      "go_version_source (\"buildinfo\",\n\"buildinfo-scan\", "
	      "\"symtab\": runtime.buildVersion, \"data-scan\":\n"
	      "runtime.buildVersion found as a Go string header in the data "
	      "segment,\n\"unknown\"); arch; pclntab_version, the .gopclntab "
	      "format as the Go release\nthat introduced it: \"1.16\" (Go "
	      "1.16-1.17), \"1.18\" (1.18-1.19) or \"1.20\" (1.20\nand "
	      "later); map_impl (\"buckets\" or \"swiss\"); write_flag "
	      "{offset, mask, source};\nseed {offset, size, source}; "
	      "goid_offset (-1 unknown) and goid_source;\nfact_sources: what "
	      "each source (dwarf, code, table) says on its own,\n"
	      "{write_flag, seed, goid_offset}, null where that source cannot "
	      "tell;\ntext_start (runtime.text) and text_start_source "
	      "(\"moduledata\", \"symtab\",\n\".text\"); pie; load_bias "
	      "(with -p); probes, each\n"
	      "{function, op, entry, probe, method, file_offset}, addresses "
	      "link-time hex\nstrings; op is assign, delete, clear, iterate, "
	      "iter_next or fatal, the words\nthe reports and --ops use. "
	      "Sources: \"dwarf\", \"code\" (decoded from the binary's\n"
	      "own instructions), \"table\" (per Go version), \"none\". "
	      "Methods: \"branch\" (the\njbe after the stack check, emulated "
	      "by the kernel: fast), \"entry-emulated\",\n\"entry-slow\" "
	      "(single-stepped).\n", out);
}

static int parse_opt(int c, const char *arg, void *ctx)
{
	struct info_args *a = ctx;

	switch (c) {
	case 'p':
		return cli_pid("-p", arg, &a->pid);
	case OPT_JSON:
		a->json = true;
		return 0;
	default:
		a->map_types = true;
		return 0;
	}
}

static int parse_args(int argc, char **argv, struct info_args *a)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "map-types", no_argument, NULL, OPT_MAP_TYPES },
		CLI_LONGOPTS,
		{ 0 },
	};
	static const struct cli_cmd cmd = { "info", ":p:h", longopts, usage };
	int r = cli_parse(&cmd, argc, argv, parse_opt, a);

	if (r)
		return r;
	if (optind < argc)
		a->binary = argv[optind++];
	if (optind < argc)
		return cli_error(&cmd, "one BINARY only, not '%s'",
				 argv[optind]);
	if (!a->binary == !a->pid)
		return cli_error(&cmd, "give a BINARY or -p PID");
	return 0;
}

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
	jw_kv_string(jw, "op", trace_op_name(p->op));
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

/* A fact about the runtime's structures: {offset, <what>, source}. */
static void json_fact(struct json_writer *jw, const char *key,
		      uint32_t offset, const char *what, uint32_t v,
		      enum fact_source src)
{
	jw_key(jw, key);
	jw_start_object(jw);
	jw_kv_uint(jw, "offset", offset);
	jw_kv_uint(jw, what, v);
	jw_kv_string(jw, "source", fact_source_name(src));
	jw_end_object(jw);
}

/* {offset, <what>} or null: one source's answer where it can tell. */
static void json_pair_or_null(struct json_writer *jw, const char *key,
			      bool has, uint32_t offset, const char *what,
			      uint32_t v)
{
	jw_key(jw, key);
	if (!has) {
		jw_null(jw);
		return;
	}
	jw_start_object(jw);
	jw_kv_uint(jw, "offset", offset);
	jw_kv_uint(jw, what, v);
	jw_end_object(jw);
}

/* One source's own answers; null where it cannot tell. */
static void json_fact_set(struct json_writer *jw, const struct fact_set *fs)
{
	jw_start_object(jw);
	json_pair_or_null(jw, "write_flag", fs->has_flag, fs->flag.offset,
			  "mask", fs->flag.mask);
	json_pair_or_null(jw, "seed", fs->has_seed, fs->seed.offset, "size",
			  fs->seed.size);
	jw_key(jw, "goid_offset");
	if (fs->has_goid)
		jw_int(jw, fs->goid_offset);
	else
		jw_null(jw);
	jw_end_object(jw);
}

static void json_fact_sources(struct json_writer *jw, const struct gobin *gb)
{
	static const enum fact_source srcs[] = { SRC_DWARF, SRC_CODE,
						 SRC_TABLE };

	jw_key(jw, "fact_sources");
	jw_start_object(jw);
	for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
		jw_key(jw, fact_source_name(srcs[i]));
		json_fact_set(jw, &gb->by_source[srcs[i]]);
	}
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
	json_fact(&jw, "write_flag", gb->flag.offset, "mask", gb->flag.mask,
		  gb->flag.source);
	json_fact(&jw, "seed", gb->seed.offset, "size", gb->seed.size,
		  gb->seed.source);
	jw_kv_int(&jw, "goid_offset", gb->goid_offset);
	jw_kv_string(&jw, "goid_source", fact_source_name(gb->goid_source));
	json_fact_sources(&jw, gb);
	jw_kv_hex(&jw, "text_start", gb->text_start);
	jw_kv_string(&jw, "text_start_source", gb->text_start_source);
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
		       p->function, trace_op_name(p->op),
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

/* Does any source that can tell say something else than the one chosen? */
static void print_disagreements(const struct gobin *gb)
{
	for (int i = SRC_DWARF; i < FACT_SOURCES; i++) {
		const struct fact_set *fs = &gb->by_source[i];
		const char *src = fact_source_name(i);

		if (fs->has_flag && (fs->flag.offset != gb->flag.offset ||
				     fs->flag.mask != gb->flag.mask))
			printf("  note: %s says the write flag is at %u, mask "
			       "0x%x\n", src, fs->flag.offset, fs->flag.mask);
		if (fs->has_seed && gb->seed.source != SRC_NONE &&
		    (fs->seed.offset != gb->seed.offset ||
		     fs->seed.size != gb->seed.size))
			printf("  note: %s says the hash seed is %u bytes at "
			       "%u\n", src, fs->seed.size, fs->seed.offset);
		if (fs->has_goid && fs->goid_offset != gb->goid_offset)
			printf("  note: %s says goid is at runtime.g + %d\n",
			       src, fs->goid_offset);
	}
}

static void print_text(const struct gobin *gb, const struct type_list *tl,
		       bool with_types)
{
	const char *impl = gb->map_impl == MAP_IMPL_SWISS
				   ? "swiss (internal/runtime/maps.Map)"
				   : "buckets (runtime.hmap)";

	printf("Binary:        %s", gb->exe);
	if (gb->pid)
		printf(" (PID %d)", (int)gb->pid);
	printf("\nGo version:    %s (%s)\n",
	       gb->go_version[0] ? gb->go_version : "unknown",
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
	printf("Text start:    0x%llx (runtime.text, from %s)\n",
	       (unsigned long long)gb->text_start, gb->text_start_source);
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
	print_disagreements(gb);
	print_probes(gb);
	if (with_types) {
		printf("\nMap types (%zu):\n", tl->n);
		for (size_t i = 0; i < tl->n; i++)
			printf("  %s\n", tl->names[i]);
	}
}

int cmd_info(int argc, char **argv)
{
	struct info_args a = { 0 };
	struct errbuf err = { { 0 } };
	struct type_list tl = { 0 };
	struct gobin gb;
	int ret;

	ret = parse_args(argc, argv, &a);
	if (ret)
		return ret < 0 ? 0 : ret;
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
