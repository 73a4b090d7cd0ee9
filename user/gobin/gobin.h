/* SPDX-License-Identifier: MIT */
#ifndef GMT_GOBIN_H
#define GMT_GOBIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>

#include "elf_file.h"
#include "errbuf.h"
#include "event.h"
#include "pclntab.h"

/*
 * Everything gomaptrace knows about one Go executable: where its map
 * functions are and where to probe them, how to read the runtime's state at
 * the probe, and how to turn addresses back into Go source positions.
 * All addresses here are link-time unless a name says otherwise; add
 * load_bias for run-time addresses of a PIE process.
 */

enum map_impl {
	MAP_IMPL_UNKNOWN = 0,
	MAP_IMPL_BUCKETS,	/* runtime.hmap, Go <= 1.23 */
	MAP_IMPL_SWISS,		/* internal/runtime/maps.Map, Go >= 1.24 */
};

/* Where a fact came from, so `info` can say how sure it is. */
enum fact_source {
	SRC_NONE = 0,
	SRC_DWARF,
	SRC_CODE,		/* decoded from the binary's own instructions */
	SRC_TABLE,		/* per-version table: the last resort */
};

enum probe_method {
	PROBE_BRANCH = 0,	/* the jbe after the stack check: emulated */
	PROBE_ENTRY_EMULATED,	/* entry instruction the kernel emulates */
	PROBE_ENTRY_SLOW,	/* entry, single-stepped: the slow fallback */
};

struct probe_site {
	const char *function;	/* e.g. "runtime.mapassign_faststr" */
	enum gmt_op op;
	uint64_t entry;
	uint64_t probe;		/* address to place the uprobe at */
	int64_t file_offset;	/* of probe, for perf_event_open uprobes */
	enum probe_method method;
};

struct write_flag {
	uint32_t offset;	/* byte offset in hmap / maps.Map */
	uint32_t mask;		/* bit(s) meaning "a write is in progress" */
	enum fact_source source;
};

/*
 * The map's hash seed: random, set when the map is made, changed only when
 * the runtime resets it (a clear, a delete that empties the map). Read at
 * the probe, it tells a new map at a freed map's address from the old one.
 */
struct map_seed {
	uint32_t offset;	/* hmap.hash0 / maps.Map.seed */
	uint32_t size;		/* 4 (hash0) or 8 (seed, a uintptr) */
	enum fact_source source;	/* SRC_NONE: unknown, not read */
};

/* What one source says about the facts; has_* false: it cannot tell. */
struct fact_set {
	bool has_flag, has_seed, has_goid;
	struct write_flag flag;	/* .source unused here */
	struct map_seed seed;	/* .source unused here */
	int32_t goid_offset;
};

#define FACT_SOURCES (SRC_TABLE + 1)

struct gobin {
	char path[4096];	/* the file opened (/proc/PID/exe or given) */
	char exe[4096];		/* what to show the user */
	pid_t pid;		/* 0 for a file */
	uint64_t load_bias;	/* run-time minus link-time address */
	struct elf_file elf;
	const uint8_t *pcln_data;
	bool pcln_owned;
	struct pclntab *pcln;
	uint64_t text_start;	/* runtime.text: where Go's code starts */
	const char *text_start_source;	/* "moduledata", "symtab", ".text" */
	char go_version[64];	/* "go1.19.8", or "" when unknown */
	const char *go_version_source;	/* "buildinfo", "runtime.buildVersion", ... */
	enum map_impl map_impl;
	struct write_flag flag;
	struct map_seed seed;
	int32_t goid_offset;	/* offset of goid in runtime.g, -1 unknown */
	enum fact_source goid_source;
	/*
	 * Each source's own answer, whichever was chosen above (DWARF, then
	 * code, then the table; goid: DWARF, table, code), so that they can
	 * be held against each other. Indexed by enum fact_source.
	 */
	struct fact_set by_source[FACT_SOURCES];
	struct probe_site *probes;
	size_t nprobes;
	void *types;		/* private: runtime type data, see gotypes.c */
};

int gobin_open_path(struct gobin *gb, const char *path, struct errbuf *err);
/* Opens /proc/PID/exe (via /proc/PID/root for containers), reads the bias. */
int gobin_open_pid(struct gobin *gb, pid_t pid, struct errbuf *err);
/*
 * The load bias of another process running gb's binary (a PIE maps it
 * anywhere): what gb->load_bias is for gb->pid. 0 for a fixed-address
 * binary. One gobin can so serve every process of its binary.
 */
int gobin_pid_bias(const struct gobin *gb, pid_t pid, uint64_t *bias,
		   struct errbuf *err);
/* Parse an in-memory image (fuzzing, tests); data must outlive gb. */
int gobin_open_mem(struct gobin *gb, const uint8_t *data, size_t size,
		   struct errbuf *err);
/*
 * A struct gobin points into itself (the type and inline-tree readers hold
 * &gb->elf): never copy one; close it and open it again in place.
 */
void gobin_close(struct gobin *gb);

/* Frames for a link-time pc, innermost first; see pclntab_frames(). */
int gobin_frames(const struct gobin *gb, uint64_t pc,
		 struct pcln_frame *frames, int max);

/*
 * Go type string of the type descriptor at link-time address addr, e.g.
 * "map[string]*main.Session", written into buf. Returns 0, or -1 when the
 * address is not a type this binary knows.
 */
int gobin_type_name(const struct gobin *gb, uint64_t addr, char *buf,
		    size_t len);

const char *probe_method_name(enum probe_method m);
const char *map_impl_name(enum map_impl m);
const char *fact_source_name(enum fact_source s);

#endif
