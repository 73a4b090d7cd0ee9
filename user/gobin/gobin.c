// SPDX-License-Identifier: MIT
/*
 * The facts about one Go executable that tracing needs, each derived from
 * the binary itself where it can be (DWARF, then the machine code of the
 * runtime's own map functions) and from per-version tables only last.
 */
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/types.h>

#include "buildinfo.h"
#include "dwarf.h"
#include "event.h"
#include "gobin.h"
#include "gotypes.h"
#include "le.h"
#include "moduledata.h"
#include "x86_decode.h"

struct probe_fn {
	const char *name;
	enum gmt_op op;
};

/* What the compiler calls for each map operation, and the fatal path. */
static const struct probe_fn probe_fns[] = {
	{ "runtime.mapassign", GMT_OP_ASSIGN },
	{ "runtime.mapassign_fast32", GMT_OP_ASSIGN },
	{ "runtime.mapassign_fast32ptr", GMT_OP_ASSIGN },
	{ "runtime.mapassign_fast64", GMT_OP_ASSIGN },
	{ "runtime.mapassign_fast64ptr", GMT_OP_ASSIGN },
	{ "runtime.mapassign_faststr", GMT_OP_ASSIGN },
	{ "runtime.mapdelete", GMT_OP_DELETE },
	{ "runtime.mapdelete_fast32", GMT_OP_DELETE },
	{ "runtime.mapdelete_fast64", GMT_OP_DELETE },
	{ "runtime.mapdelete_faststr", GMT_OP_DELETE },
	{ "runtime.mapclear", GMT_OP_CLEAR },
	{ "runtime.mapiterinit", GMT_OP_ITER_INIT },
	{ "runtime.mapIterStart", GMT_OP_ITER_INIT },
	{ "runtime.mapiternext", GMT_OP_ITER_NEXT },
	{ "runtime.mapIterNext", GMT_OP_ITER_NEXT },
	{ "runtime.fatal", GMT_OP_FATAL },
	{ "runtime.throw", GMT_OP_FATAL },
};

#define NPROBE_FNS (sizeof(probe_fns) / sizeof(probe_fns[0]))

/* Where the toggle of the write flag is looked for, most telling first. */
static const char *const flag_fns[] = {
	"runtime.mapassign_faststr", "runtime.mapassign_fast64",
	"runtime.mapassign_fast32", "runtime.mapassign",
	"runtime.mapassign_fast64ptr", "runtime.mapassign_fast32ptr",
	"runtime.mapdelete_faststr", "runtime.mapdelete_fast64",
	"runtime.mapdelete_fast32", "runtime.mapdelete",
};

/*
 * Offset of goid in runtime.g by Go minor version, from runtime2.go
 * (1.27.3 checked against its DWARF):
 * 152 until 1.22; 1.23 added g.syscallbp (160); 1.25 dropped gobuf.ret,
 * making it 152 again.
 */
struct goid_row {
	int from, to;
	int32_t offset;
};

static const struct goid_row goid_table[] = {
	{ 16, 22, 152 },
	{ 23, 24, 160 },
	{ 25, 27, 152 },
};

#define HASH_WRITING 0x04	/* runtime/map.go, Go <= 1.23 */

static const char *const machines[][2] = {
	{ "3", "i386" }, { "8", "mips" }, { "20", "ppc" }, { "21", "ppc64" },
	{ "22", "s390x" }, { "40", "arm" }, { "183", "aarch64" },
	{ "243", "riscv64" }, { "258", "loongarch64" },
};

static const char *machine_name(uint16_t m)
{
	char num[8];

	snprintf(num, sizeof(num), "%u", m);
	for (size_t i = 0; i < sizeof(machines) / sizeof(machines[0]); i++)
		if (!strcmp(machines[i][0], num))
			return machines[i][1];
	return NULL;
}

static const uint8_t *elf_reader(void *ctx, uint64_t addr, size_t len)
{
	return elf_vaddr_ptr(ctx, addr, len);
}

/* 1.N from "go1.N...", -1 when unknown. */
static int go_minor(const char *v)
{
	char *end;
	long n;

	if (strncmp(v, "go1.", 4))
		return -1;
	n = strtol(v + 4, &end, 10);
	if (end == v + 4 || n < 0 || n > 1000)
		return -1;
	return (int)n;
}

/* Keep only "go1.N.P": buildVersion may carry " X:experiment". */
static void set_version(struct gobin *gb, const char *v, size_t n,
			const char *source)
{
	size_t k = 0;

	while (k < n && k < sizeof(gb->go_version) - 1 && v[k] != ' ')
		k++;
	memcpy(gb->go_version, v, k);
	gb->go_version[k] = '\0';
	gb->go_version_source = source;
}

/* "go1.N", "go1.N.P", "go1.NrcK", "go1.NbetaK", optionally " X:...". */
static bool looks_like_go_version(const uint8_t *s, size_t n)
{
	size_t i = 4;

	if (n < 5 || memcmp(s, "go1.", 4))
		return false;
	while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
			 (s[i] >= 'a' && s[i] <= 'z')))
		i++;
	if (i < n && s[i] != ' ')
		return false;
	for (; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return s[4] >= '0' && s[4] <= '9';
}


/* A Go string header {ptr, len} at addr that holds a Go version. */
static bool version_at(const struct elf_file *ef, const uint8_t *hdr,
		       const uint8_t **s, size_t *n)
{
	uint64_t ptr = rd64(hdr), len = rd64(hdr + 8);

	if (len < 5 || len > 64)
		return false;
	*s = elf_vaddr_ptr(ef, ptr, len);
	*n = len;
	return *s && looks_like_go_version(*s, len);
}

/*
 * No buildinfo and no symbols: runtime.buildVersion is still a string
 * header {ptr, len} in a writable segment pointing at "go1.N...". Take it
 * only if every such header in the data agrees on one string.
 */
static bool scan_build_version(struct gobin *gb)
{
	const struct elf_file *ef = &gb->elf;
	const uint8_t *found = NULL, *s;
	size_t found_n = 0, n;

	for (size_t i = 0; i < ef->nsegments; i++) {
		const struct elf_segment *seg = &ef->segments[i];
		const uint8_t *p;

		if (!(seg->flags & PF_W) || seg->filesz < 16)
			continue;
		p = elf_vaddr_ptr(ef, seg->vaddr, seg->filesz);
		if (!p)
			continue;
		for (uint64_t off = 0; off + 16 <= seg->filesz; off += 8) {
			if (!version_at(ef, p + off, &s, &n))
				continue;
			if (found && (n != found_n || memcmp(s, found, n)))
				return false;	/* ambiguous: say nothing */
			found = s;
			found_n = n;
		}
	}
	if (!found)
		return false;
	set_version(gb, (const char *)found, found_n, "data-scan");
	return true;
}

static bool version_from_symtab(struct gobin *gb)
{
	const uint8_t *hdr, *s;
	uint64_t addr;
	size_t n;

	if (!elf_symbol_addr(&gb->elf, "runtime.buildVersion", &addr, NULL))
		return false;
	hdr = elf_vaddr_ptr(&gb->elf, addr, 16);
	if (!hdr || !version_at(&gb->elf, hdr, &s, &n))
		return false;
	set_version(gb, (const char *)s, n, "symtab");
	return true;
}

static void find_go_version(struct gobin *gb)
{
	const struct elf_section *sec;
	struct buildinfo bi;
	const uint8_t *p;
	size_t n, off = 0;
	bool owned;

	gb->go_version[0] = '\0';
	gb->go_version_source = "unknown";
	sec = elf_find_section(&gb->elf, ".go.buildinfo");
	if (sec && !elf_section_bytes(&gb->elf, sec, &p, &n, &owned, NULL)) {
		int r = buildinfo_parse(p, n, elf_reader, (void *)&gb->elf,
					&bi, NULL);

		if (owned)
			free((void *)p);
		if (!r) {
			set_version(gb, bi.version, strlen(bi.version),
				    "buildinfo");
			return;
		}
	}
	if (!buildinfo_search(gb->elf.data, gb->elf.size, &off, elf_reader,
			      (void *)&gb->elf, &bi)) {
		set_version(gb, bi.version, strlen(bi.version),
			    "buildinfo-scan");
		return;
	}
	if (version_from_symtab(gb))
		return;
	scan_build_version(gb);
}

static bool has_func(const struct gobin *gb, const char *name)
{
	return pclntab_find_name(gb->pcln, name) != NULL;
}

static bool has_func_prefix(const struct gobin *gb, const char *prefix)
{
	size_t n = pclntab_nfuncs(gb->pcln), len = strlen(prefix);

	for (size_t i = 0; i < n; i++) {
		const struct pcln_func *f = pclntab_func(gb->pcln, i);

		if (f && f->name && !strncmp(f->name, prefix, len))
			return true;
	}
	return false;
}

static void find_map_impl(struct gobin *gb)
{
	if (has_func(gb, "runtime.mapIterStart") ||
	    has_func(gb, "runtime.mapIterNext") ||
	    has_func_prefix(gb, "internal/runtime/maps.(*Map)."))
		gb->map_impl = MAP_IMPL_SWISS;
	else if (has_func(gb, "runtime.mapiterinit") ||
		 has_func(gb, "runtime.hashGrow") ||
		 !has_func_prefix(gb, "internal/runtime/maps."))
		gb->map_impl = MAP_IMPL_BUCKETS;
	else
		gb->map_impl = MAP_IMPL_SWISS;
}

/* The bytes of a function, or NULL when they are not in the file. */
static const uint8_t *func_code(const struct gobin *gb,
				const struct pcln_func *f, size_t *n)
{
	if (!f || f->end <= f->entry || f->end - f->entry > (64u << 20))
		return NULL;
	*n = f->end - f->entry;
	return elf_vaddr_ptr(&gb->elf, f->entry, *n);
}

/* The function called name and its bytes, or NULL. */
static const uint8_t *named_code(const struct gobin *gb, const char *name,
				 const struct pcln_func **f, size_t *n)
{
	*f = pclntab_find_name(gb->pcln, name);
	return func_code(gb, *f, n);
}

static void get_section(const struct elf_file *ef, const char *name,
			const uint8_t **p, size_t *n, bool *owned)
{
	const struct elf_section *sec = elf_find_section(ef, name);

	*p = NULL;
	*n = 0;
	*owned = false;
	if (sec && elf_section_bytes(ef, sec, p, n, owned, NULL)) {
		*p = NULL;
		*n = 0;
		*owned = false;
	}
}

#define DWARF_SECTIONS 5

/*
 * DWARF: the members' offsets; the mask from the constant hashWriting
 * (bucket maps: Go emits package constants as DW_TAG_constant), while
 * Swiss maps' Map.writing is a whole byte the runtime tests against 0.
 */
static void dwarf_facts(struct gobin *gb, struct fact_set *fs)
{
	static const char *const names[DWARF_SECTIONS] = {
		".debug_info", ".debug_abbrev", ".debug_str",
		".debug_line_str", ".debug_str_offsets",
	};
	bool swiss = gb->map_impl == MAP_IMPL_SWISS;
	struct dwarf_member_query q[] = {
		{ swiss ? "internal/runtime/maps.Map" : "runtime.hmap",
		  swiss ? "writing" : "flags", false, 0 },
		{ swiss ? "internal/runtime/maps.Map" : "runtime.hmap",
		  swiss ? "seed" : "hash0", false, 0 },
		{ "runtime.g", "goid", false, 0 },
		{ "runtime.hashWriting", NULL, false, 0 },
	};
	const uint8_t *p[DWARF_SECTIONS];
	size_t n[DWARF_SECTIONS];
	bool owned[DWARF_SECTIONS];
	struct dwarf_sections d;

	if (!elf_find_section(&gb->elf, ".debug_info"))
		return;
	for (int i = 0; i < DWARF_SECTIONS; i++)
		get_section(&gb->elf, names[i], &p[i], &n[i], &owned[i]);
	d = (struct dwarf_sections){ p[0], n[0], p[1], n[1], p[2], n[2],
				     p[3], n[3], p[4], n[4] };
	if (dwarf_member_offsets(&d, q, swiss ? 3 : 4, NULL) >= 0) {
		fs->has_flag = q[0].found && q[0].offset < 4096 &&
			       (swiss || (q[3].found && q[3].offset &&
					  q[3].offset <= 0xff));
		fs->flag.offset = (uint32_t)q[0].offset;
		fs->flag.mask = swiss ? 0xff : (uint32_t)q[3].offset;
		fs->has_seed = q[1].found && q[1].offset < 4096;
		fs->seed.offset = (uint32_t)q[1].offset;
		fs->seed.size = swiss ? 8 : 4;
		fs->has_goid = q[2].found && q[2].offset < 4096;
		fs->goid_offset = (int32_t)q[2].offset;
	}
	for (int i = 0; i < DWARF_SECTIONS; i++)
		if (owned[i])
			free((void *)p[i]);
}

static bool flag_from_code(struct gobin *gb, struct x86_flag_toggle *ft)
{
	for (size_t i = 0; i < sizeof(flag_fns) / sizeof(flag_fns[0]); i++) {
		const struct pcln_func *f;
		size_t n;
		const uint8_t *code = named_code(gb, flag_fns[i], &f, &n);

		if (code && x86_find_flag_toggle(code, n, f->entry, ft))
			return true;
	}
	return false;
}

/*
 * Buckets: hmap.flags & hashWriting, the xor's mask. Swiss: Map.writing
 * is toggled with ^= 1 and tested as a whole byte (cmpb $0), so any set
 * bit means a write is in progress: the mask is 0xff.
 */
static void code_flag(struct gobin *gb, struct fact_set *fs)
{
	struct x86_flag_toggle ft;

	if (!flag_from_code(gb, &ft))
		return;
	fs->has_flag = true;
	fs->flag.offset = (uint32_t)ft.disp;
	fs->flag.mask = gb->map_impl == MAP_IMPL_SWISS && ft.cmpb_zero
				? 0xff : ft.xor_mask;
}

/*
 * The assign functions hash the key first: the seed is loaded from the
 * map (still in RBX) into the hasher's second argument right before the
 * call, indirect through maptype.hasher or, from Go 1.27, direct to a
 * hash function of the runtime's:
 *     mov 0xc(%rbx),%esi ; lea ..,%rax ; mov %rsi,%rbx ; call *%rcx  (1.19)
 *     mov 0x8(%rbx),%rbx ; lea ..,%rax ; call *%rcx                  (1.26)
 *     mov 0x8(%rbx),%rbx ; mov %rcx,%rax ; call maps.memHash64AES    (1.27)
 * The width of the load is the width of the field.
 */
static const char *const seed_fns[] = {
	"runtime.mapassign_fast64", "runtime.mapassign_faststr",
	"runtime.mapassign_fast32", "runtime.mapassign_fast64ptr",
	"runtime.mapassign_fast32ptr", "runtime.mapassign",
};

#define SEED_LOOKBACK	4	/* instructions between the load and the call */

static bool is_seed_load(const struct x86_insn *in)
{
	return !in->vex && in->map == 0 && in->opcode == 0x8b &&
	       !in->opsize16 && x86_is_mem(in) && in->base == X86_RBX &&
	       in->index == X86_NOREG && in->disp > 0 &&
	       in->disp <= GMT_MAP_HEADER_BYTES - 4;
}

static bool is_call_indirect(const struct x86_insn *in)
{
	return !in->vex && in->map == 0 && in->opcode == 0xff &&
	       in->has_modrm && in->mod == 3 && (in->reg & 7) == 2;
}

/* A direct call to one of the runtime's hash functions (memhash64, ...). */
static bool is_hash_call(const struct gobin *gb, const struct x86_insn *in,
			 uint64_t pc)
{
	const struct pcln_func *callee;
	uint64_t dest;

	if (!x86_is_call_rel(in, pc, &dest))
		return false;
	callee = pclntab_find_pc(gb->pcln, dest);
	return callee && callee->entry == dest && callee->name &&
	       (strstr(callee->name, ".memhash") ||
		strstr(callee->name, ".memHash") ||
		strstr(callee->name, ".strhash"));
}

/* Looks only as far as the first indirect call: the hasher's. */
static bool seed_in_code(const struct gobin *gb, const struct pcln_func *f,
			 const uint8_t *code, size_t n, struct map_seed *ms)
{
	struct x86_insn in, load = { 0 };
	size_t off = 0;
	int since = -1;		/* instructions since the load, -1 none */

	while (off < n && x86_decode(code + off, n - off, &in) > 0) {
		bool indirect = is_call_indirect(&in);

		if (indirect || is_hash_call(gb, &in, f->entry + off)) {
			if (since >= 0 && since <= SEED_LOOKBACK) {
				ms->offset = (uint32_t)load.disp;
				ms->size = load.rex & 8 ? 8 : 4;
				return true;
			}
			if (indirect)
				return false;
		}
		off += in.len;
		if (is_seed_load(&in)) {
			load = in;
			since = 0;
		} else if (since >= 0) {
			since++;
		}
	}
	return false;
}

static void code_seed(const struct gobin *gb, struct fact_set *fs)
{
	for (size_t i = 0; i < sizeof(seed_fns) / sizeof(seed_fns[0]); i++) {
		const struct pcln_func *f;
		size_t n;
		const uint8_t *code = named_code(gb, seed_fns[i], &f, &n);

		if (code && seed_in_code(gb, f, code, n, &fs->seed)) {
			fs->has_seed = true;
			return;
		}
	}
}

/*
 * No DWARF and no known version: runtime.goroutineheader reads
 * gp.atomicstatus first thing, and goid sits 8 bytes after it.
 */
static void code_goid(const struct gobin *gb, struct fact_set *fs)
{
	const struct pcln_func *f;
	const uint8_t *code;
	int64_t disp;
	size_t n;

	code = named_code(gb, "runtime.goroutineheader", &f, &n);
	if (!code || !x86_find_gstatus_load(code, n, &disp) || disp < 0 ||
	    disp > 4096)
		return;
	fs->has_goid = true;
	fs->goid_offset = (int32_t)disp + 8;
}

/*
 * The per-version table: hmap.flags at 8 with hashWriting 0x04 and
 * hash0 (uint32) at 12 in every bucket-map Go this reads (1.16 to 1.23);
 * maps.Map.writing at 34 and seed (uintptr) at 8 from 1.24 (checked to
 * 1.27); goid by version from goid_table.
 */
static void table_facts(const struct gobin *gb, struct fact_set *fs)
{
	bool swiss = gb->map_impl == MAP_IMPL_SWISS;
	int minor = go_minor(gb->go_version);

	if (gb->map_impl != MAP_IMPL_UNKNOWN) {
		fs->has_flag = fs->has_seed = true;
		fs->flag.offset = swiss ? 34 : 8;
		fs->flag.mask = swiss ? 0xff : HASH_WRITING;
		fs->seed.offset = swiss ? 8 : 12;
		fs->seed.size = swiss ? 8 : 4;
	}
	for (size_t i = 0; i < sizeof(goid_table) / sizeof(goid_table[0]);
	     i++) {
		if (minor >= goid_table[i].from && minor <= goid_table[i].to) {
			fs->has_goid = true;
			fs->goid_offset = goid_table[i].offset;
		}
	}
}

/* Every source's answer, each on its own. */
static void gather_facts(struct gobin *gb)
{
	memset(gb->by_source, 0, sizeof(gb->by_source));
	dwarf_facts(gb, &gb->by_source[SRC_DWARF]);
	code_flag(gb, &gb->by_source[SRC_CODE]);
	code_seed(gb, &gb->by_source[SRC_CODE]);
	code_goid(gb, &gb->by_source[SRC_CODE]);
	table_facts(gb, &gb->by_source[SRC_TABLE]);
}

static void choose_flag(struct gobin *gb)
{
	static const enum fact_source order[] = { SRC_DWARF, SRC_CODE,
						  SRC_TABLE };

	memset(&gb->flag, 0, sizeof(gb->flag));
	for (size_t i = 0; i < 3; i++) {
		const struct fact_set *fs = &gb->by_source[order[i]];

		if (fs->has_flag) {
			gb->flag = fs->flag;
			gb->flag.source = order[i];
			return;
		}
	}
}

/* A seed that overlaps the write flag or leaves the header is no seed. */
static void choose_seed(struct gobin *gb)
{
	static const enum fact_source order[] = { SRC_DWARF, SRC_CODE,
						  SRC_TABLE };
	struct map_seed *ms = &gb->seed;

	memset(ms, 0, sizeof(*ms));
	for (size_t i = 0; i < 3 && ms->source == SRC_NONE; i++) {
		const struct fact_set *fs = &gb->by_source[order[i]];

		if (fs->has_seed) {
			*ms = fs->seed;
			ms->source = order[i];
		}
	}
	if (ms->offset + (uint64_t)ms->size > GMT_MAP_HEADER_BYTES ||
	    (gb->flag.offset >= ms->offset &&
	     gb->flag.offset < ms->offset + ms->size))
		memset(ms, 0, sizeof(*ms));
}

/* The table before the code: goroutineheader's pattern is a heuristic. */
static void choose_goid(struct gobin *gb)
{
	static const enum fact_source order[] = { SRC_DWARF, SRC_TABLE,
						  SRC_CODE };

	gb->goid_offset = -1;
	gb->goid_source = SRC_NONE;
	for (size_t i = 0; i < 3; i++) {
		const struct fact_set *fs = &gb->by_source[order[i]];

		if (fs->has_goid) {
			gb->goid_offset = fs->goid_offset;
			gb->goid_source = order[i];
			return;
		}
	}
}

/* Does the code at target call runtime.morestack* soon? */
static bool leads_to_morestack(const struct gobin *gb,
			       const struct pcln_func *f, uint64_t target)
{
	const uint8_t *code;
	struct x86_insn in;
	uint64_t pc = target, dest;
	size_t n;

	if (target < f->entry || target >= f->end)
		return false;
	n = f->end - target;
	code = elf_vaddr_ptr(&gb->elf, target, n);
	if (!code)
		return false;
	for (int k = 0; k < 24 && pc < f->end; k++) {
		const struct pcln_func *callee;

		if (x86_decode(code + (pc - target), f->end - pc, &in) < 0)
			return false;
		if (x86_is_call_rel(&in, pc, &dest)) {
			callee = pclntab_find_pc(gb->pcln, dest);
			return callee && callee->entry == dest &&
			       !strncmp(callee->name, "runtime.morestack", 17);
		}
		pc += in.len;
	}
	return false;
}

static void place_probe(const struct gobin *gb, const struct pcln_func *f,
			struct probe_site *ps)
{
	struct x86_stack_check sc;
	const uint8_t *code;
	size_t n = 0;

	ps->entry = f->entry;
	ps->probe = f->entry;
	ps->method = PROBE_ENTRY_SLOW;
	code = func_code(gb, f, &n);
	if (code && x86_find_stack_check(code, n, f->entry, &sc) &&
	    leads_to_morestack(gb, f, sc.target)) {
		ps->probe = sc.jbe;
		ps->method = PROBE_BRANCH;
	} else if (code && x86_entry_is_emulated(code, n)) {
		ps->method = PROBE_ENTRY_EMULATED;
	}
	ps->file_offset = elf_vaddr_to_offset(&gb->elf, ps->probe);
}

static int find_probes(struct gobin *gb, struct errbuf *err)
{
	gb->probes = calloc(NPROBE_FNS, sizeof(*gb->probes));
	if (!gb->probes)
		return errbuf_set(err, "out of memory");
	gb->nprobes = 0;
	for (size_t i = 0; i < NPROBE_FNS; i++) {
		const struct pcln_func *f =
			pclntab_find_name(gb->pcln, probe_fns[i].name);
		struct probe_site *ps = &gb->probes[gb->nprobes];

		if (!f)
			continue;
		ps->function = probe_fns[i].name;
		ps->op = probe_fns[i].op;
		place_probe(gb, f, ps);
		gb->nprobes++;
	}
	return 0;
}

/*
 * runtime.text: moduledata's text field first, then the symbol; .text
 * only last, since with cgo and the external linker it starts with C code
 * before the Go code (and Go 1.26's pclntab header no longer says).
 */
static uint64_t text_start(struct gobin *gb, const struct moduledata *md,
			   bool have_md)
{
	const struct elf_section *text;
	uint64_t addr;

	gb->text_start_source = "moduledata";
	if (have_md && md->text)
		return md->text;
	gb->text_start_source = "symtab";
	if (elf_symbol_addr(&gb->elf, "runtime.text", &addr, NULL))
		return addr;
	gb->text_start_source = ".text";
	text = elf_find_section(&gb->elf, ".text");
	return text ? text->addr : 0;
}

static void setup_types(struct gobin *gb, const struct moduledata *md,
			bool have_md)
{
	struct gotypes *t = calloc(1, sizeof(*t));

	if (!t)
		return;
	gotypes_init(t, &gb->elf, have_md ? md->types : 0,
		     have_md ? md->etypes : 0, go_minor(gb->go_version));
	if (have_md)
		gotypes_set_typedesclen(t, md->typedesclen);
	gb->types = t;
}

static int check_machine(const struct gobin *gb, struct errbuf *err)
{
	const char *m;

	if (gb->elf.machine == EM_X86_64)
		return 0;
	m = machine_name(gb->elf.machine);
	if (m)
		return errbuf_set(err, "%s: gomaptrace supports x86-64 Go "
				  "binaries; this is %s", gb->exe, m);
	return errbuf_set(err, "%s: gomaptrace supports x86-64 Go binaries; "
			  "this is ELF machine %u", gb->exe, gb->elf.machine);
}

/* Go's PIE builds put it in .data.rel.ro.gopclntab. */
static const struct elf_section *pclntab_section(const struct gobin *gb)
{
	const struct elf_section *sec = elf_find_section(&gb->elf,
							 ".gopclntab");

	return sec ? sec : elf_find_section(&gb->elf,
					    ".data.rel.ro.gopclntab");
}

/* An image cut short loses its tail: segments or section headers. */
static int check_truncated(const struct gobin *gb, struct errbuf *err)
{
	const struct elf_file *ef = &gb->elf;
	uint64_t need = 0, shoff;
	uint16_t shentsize, shnum;

	for (size_t i = 0; i < ef->nsegments; i++) {
		const struct elf_segment *s = &ef->segments[i];

		if (s->offset + s->filesz > need && s->offset + s->filesz >=
						     s->offset)
			need = s->offset + s->filesz;
	}
	memcpy(&shoff, ef->data + 0x28, 8);
	memcpy(&shentsize, ef->data + 0x3a, 2);
	memcpy(&shnum, ef->data + 0x3c, 2);
	if (shoff && shoff + (uint64_t)shentsize * shnum > need)
		need = shoff + (uint64_t)shentsize * shnum;
	if (need <= ef->size)
		return 0;
	return errbuf_set(err, "%s: truncated: the ELF headers describe "
			  "%llu bytes, the file has %zu", gb->exe,
			  (unsigned long long)need, ef->size);
}

static int open_pclntab(struct gobin *gb, struct moduledata *md,
			bool *have_md, struct errbuf *err)
{
	const struct elf_section *sec;
	struct errbuf why = { { 0 } };
	enum pclntab_version v;
	size_t n;

	sec = pclntab_section(gb);
	if (!sec && check_truncated(gb, err))
		return -1;
	if (!sec)
		return errbuf_set(err, "%s: not a Go binary (no .gopclntab)",
				  gb->exe);
	if (elf_section_bytes(&gb->elf, sec, &gb->pcln_data, &n,
			      &gb->pcln_owned, &why))
		return errbuf_set(err, "%s: .gopclntab: %s", gb->exe, why.msg);
	v = pclntab_magic_version(gb->pcln_data, n);
	*have_md = v != PCLNTAB_UNKNOWN &&
		   !moduledata_find(&gb->elf, sec->addr, v, md, NULL);
	gb->text_start = text_start(gb, md, *have_md);
	if (pclntab_parse(&gb->pcln, gb->pcln_data, n, gb->text_start, &why))
		return errbuf_set(err, "%s: %s", gb->exe, why.msg);
	if (*have_md)
		pclntab_set_funcdata(gb->pcln, elf_reader, (void *)&gb->elf,
				     md->gofunc);
	return 0;
}

/* Everything after the ELF image is in gb->elf. */
static int load(struct gobin *gb, struct errbuf *err)
{
	struct moduledata md;
	bool have_md = false;

	if (check_machine(gb, err) || open_pclntab(gb, &md, &have_md, err))
		return -1;
	find_go_version(gb);
	find_map_impl(gb);
	gather_facts(gb);
	choose_flag(gb);
	choose_seed(gb);
	choose_goid(gb);
	setup_types(gb, &md, have_md);
	return find_probes(gb, err);
}

static void init(struct gobin *gb, const char *path, const char *exe)
{
	memset(gb, 0, sizeof(*gb));
	snprintf(gb->path, sizeof(gb->path), "%s", path);
	snprintf(gb->exe, sizeof(gb->exe), "%s", exe);
	gb->goid_offset = -1;
	gb->go_version_source = "unknown";
}

int gobin_open_path(struct gobin *gb, const char *path, struct errbuf *err)
{
	init(gb, path, path);
	if (access(path, F_OK) && errno == ENOENT)
		return errbuf_set(err, "%s: no such file", path);
	if (elf_file_open(&gb->elf, path, err))
		return -1;
	if (load(gb, err)) {
		gobin_close(gb);
		return -1;
	}
	return 0;
}

int gobin_open_mem(struct gobin *gb, const uint8_t *data, size_t size,
		   struct errbuf *err)
{
	init(gb, "<memory>", "<memory>");
	if (elf_file_parse(&gb->elf, data, size, err))
		return -1;
	if (load(gb, err)) {
		gobin_close(gb);
		return -1;
	}
	return 0;
}

/*
 * /proc/PID/root/<exe> sees the file as the process does (containers have
 * their own mount namespace); /proc/PID/exe is the fallback when that path
 * is gone or is not the same file (deleted, replaced).
 */
static int pid_paths(pid_t pid, char *path, size_t plen, char *exe,
		     size_t elen, struct errbuf *err)
{
	char link[64];
	struct stat a, b;
	ssize_t n;
	int w;

	snprintf(link, sizeof(link), "/proc/%d", (int)pid);
	if (pid <= 0 || stat(link, &a))
		return errbuf_set(err, "no process with PID %d", (int)pid);
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, exe, elen - 1);
	if (n < 0) {
		if (errno == EACCES || errno == EPERM)
			return errbuf_set(err, "PID %d: permission denied "
					  "reading %s: run as root or as the "
					  "process's owner", (int)pid, link);
		if (errno == ENOENT)
			return errbuf_set(err, "PID %d has no executable (a "
					  "kernel thread or a zombie)",
					  (int)pid);
		return errbuf_set(err, "PID %d: %s: %s", (int)pid, link,
				  strerror(errno));
	}
	exe[n] = '\0';
	w = snprintf(path, plen, "/proc/%d/root%s", (int)pid, exe);
	if (w < 0 || (size_t)w >= plen || stat(path, &a) || stat(link, &b) ||
	    a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino)
		snprintf(path, plen, "%s", link);
	return 0;
}

/*
 * Load bias from /proc/PID/maps: a mapping of the executable (inode ino)
 * at file offset O starting at S maps link-time address V(O), so the bias
 * is S - V(O) with V(O) from the PT_LOAD segment holding O.
 */
static int bias_in_maps(const struct gobin *gb, pid_t pid, ino_t ino,
			uint64_t *bias, struct errbuf *err)
{
	char maps[64], line[4096 + 128];
	FILE *f;
	int ret = -1;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
	f = fopen(maps, "re");
	if (!f)
		return errbuf_set(err, "PID %d: cannot read %s: %s",
				  (int)pid, maps, strerror(errno));
	while (ret && fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off, i_no;
		char perms[8];

		if (sscanf(line, "%llx-%llx %7s %llx %*s %llu", &start, &end,
			   perms, &off, &i_no) != 5 || i_no != ino)
			continue;
		for (size_t i = 0; i < gb->elf.nsegments; i++) {
			const struct elf_segment *s = &gb->elf.segments[i];
			uint64_t page = s->offset & ~0xfffULL;

			if (off < page || off >= s->offset + s->filesz)
				continue;
			*bias = start - (s->vaddr - s->offset + off);
			ret = 0;
			break;
		}
	}
	fclose(f);
	if (ret)
		errbuf_set(err, "PID %d: no mapping of %s in %s", (int)pid,
			   gb->exe, maps);
	return ret;
}

static int read_bias(struct gobin *gb, struct errbuf *err)
{
	struct stat st;

	gb->load_bias = 0;
	if (gb->elf.type != ET_DYN)
		return 0;
	if (stat(gb->path, &st))
		return errbuf_set(err, "PID %d: %s: %s", (int)gb->pid,
				  gb->path, strerror(errno));
	return bias_in_maps(gb, gb->pid, st.st_ino, &gb->load_bias, err);
}

int gobin_pid_bias(const struct gobin *gb, pid_t pid, uint64_t *bias,
		   struct errbuf *err)
{
	char exe[64];
	struct stat st;

	*bias = 0;
	if (gb->elf.type != ET_DYN)
		return 0;
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	if (stat(exe, &st))
		return errbuf_set(err, "PID %d: %s: %s", (int)pid, exe,
				  strerror(errno));
	return bias_in_maps(gb, pid, st.st_ino, bias, err);
}

int gobin_open_pid(struct gobin *gb, pid_t pid, struct errbuf *err)
{
	char path[4096], exe[4096];

	init(gb, "", "");
	if (pid_paths(pid, path, sizeof(path), exe, sizeof(exe), err))
		return -1;
	init(gb, path, exe);
	gb->pid = pid;
	if (elf_file_open(&gb->elf, path, err))
		return -1;
	if (load(gb, err) || read_bias(gb, err)) {
		gobin_close(gb);
		return -1;
	}
	return 0;
}

void gobin_close(struct gobin *gb)
{
	if (gb->pcln)
		pclntab_free(gb->pcln);
	if (gb->pcln_owned)
		free((void *)gb->pcln_data);
	free(gb->probes);
	free(gb->types);
	elf_file_close(&gb->elf);
	gb->pcln = NULL;
	gb->pcln_data = NULL;
	gb->pcln_owned = false;
	gb->probes = NULL;
	gb->nprobes = 0;
	gb->types = NULL;
}

int gobin_frames(const struct gobin *gb, uint64_t pc,
		 struct pcln_frame *frames, int max)
{
	return pclntab_frames(gb->pcln, pc, frames, max);
}

int gobin_type_name(const struct gobin *gb, uint64_t addr, char *buf,
		    size_t len)
{
	if (!gb->types)
		return -1;
	return gotypes_name(gb->types, addr, buf, len);
}

const char *probe_method_name(enum probe_method m)
{
	switch (m) {
	case PROBE_BRANCH: return "branch";
	case PROBE_ENTRY_EMULATED: return "entry-emulated";
	case PROBE_ENTRY_SLOW: return "entry-slow";
	}
	return "?";
}

const char *map_impl_name(enum map_impl m)
{
	switch (m) {
	case MAP_IMPL_BUCKETS: return "buckets";
	case MAP_IMPL_SWISS: return "swiss";
	case MAP_IMPL_UNKNOWN: break;
	}
	return "unknown";
}

const char *fact_source_name(enum fact_source s)
{
	switch (s) {
	case SRC_DWARF: return "dwarf";
	case SRC_CODE: return "code";
	case SRC_TABLE: return "table";
	case SRC_NONE: break;
	}
	return "none";
}
