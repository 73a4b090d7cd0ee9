// SPDX-License-Identifier: MIT
/*
 * Finds runtime.firstmoduledata without .symtab. Its first field is a
 * pointer to .gopclntab (pcHeader), so a scan of the writable sections for
 * that address finds candidates; the text field confirms one. Field offsets
 * per version (runtime/symtab.go), counted in 8-byte words:
 *   1.16/1.17: text 22, etext 23, types 35, etypes 36 (no gofunc)
 *   1.18/1.19: the same, rodata 37, gofunc 38
 *   1.20-1.26: covctrs/ecovctrs inserted at 32: types 37, etypes 38,
 *              gofunc 40
 *   1.27:      typedesclen (a length) inserted at 38 and itaboffset,
 *              itabsize (offsets from types) at 40: etypes 39, gofunc 43;
 *              the typelinks slice is gone (the runtime walks the type
 *              descriptors in [types, types+typedesclen) instead)
 * 1.20-1.26 and 1.27 share the pclntab magic, so both are tried: the 1.27
 * reading of a 1.26 moduledata takes rodata (<= types) for etypes, and the
 * 1.26 reading of a 1.27 one takes typedesclen for etypes; either fails the
 * range checks below. (Checked against Go 1.19, 1.26.8 and 1.27.3 builds.)
 */
#include <elf.h>
#include <string.h>

#include "le.h"
#include "moduledata.h"

#define F_TEXT 22
#define F_ETEXT 23

struct md_layout {
	unsigned types, etypes, gofunc;	/* gofunc 0: absent */
	unsigned typedesclen, itaboff;	/* 0: absent (before 1.27) */
	int go_minor;			/* the first Go with this layout */
};

static const struct md_layout md_116 = { 35, 36, 0, 0, 0, 16 };
static const struct md_layout md_118 = { 35, 36, 38, 0, 0, 18 };
static const struct md_layout md_120 = { 37, 38, 40, 0, 0, 20 };
static const struct md_layout md_127 = { 37, 39, 43, 38, 40, 27 };

/* The layouts a pclntab version can come with, the newest first. */
static size_t layouts_for(enum pclntab_version v,
			  const struct md_layout **out)
{
	switch (v) {
	case PCLNTAB_116:
		out[0] = &md_116;
		return 1;
	case PCLNTAB_118:
		out[0] = &md_118;
		return 1;
	default:
		out[0] = &md_127;
		out[1] = &md_120;
		return 2;
	}
}

const uint8_t *elf_file_reader(void *ctx, uint64_t addr, size_t len)
{
	return elf_vaddr_ptr(ctx, addr, len);
}

/*
 * The Elf64_Rela entries of section s (24 bytes each), or NULL when it holds
 * none or claims bytes past the end of the file.
 */
static const uint8_t *rela_table(const struct elf_file *ef,
				 const struct elf_section *s)
{
	if (s->type != SHT_RELA || s->offset > ef->size ||
	    s->size > ef->size - s->offset)
		return NULL;
	return ef->data + s->offset;
}

/*
 * Calls fn(ctx, where, addend) on each R_X86_64_RELATIVE relocation of
 * every SHT_RELA section, until it returns true; false when none did.
 */
static bool each_relative(const struct elf_file *ef,
			  bool (*fn)(void *ctx, uint64_t where,
				     uint64_t addend),
			  void *ctx)
{
	for (size_t i = 0; i < ef->nsections; i++) {
		const struct elf_section *s = &ef->sections[i];
		const uint8_t *r = rela_table(ef, s);

		if (!r)
			continue;
		for (uint64_t o = 0; o + 24 <= s->size; o += 24) {
			if (ELF64_R_TYPE(rd64(r + o + 8)) == R_X86_64_RELATIVE &&
			    fn(ctx, rd64(r + o), rd64(r + o + 16)))
				return true;
		}
	}
	return false;
}

struct slot {
	uint64_t addr, value;
};

static bool slot_relocated(void *ctx, uint64_t where, uint64_t addend)
{
	struct slot *sl = ctx;

	if (where != sl->addr)
		return false;
	sl->value = addend;
	return true;
}

/*
 * Pointer-sized field at addr. Slots written only through a dynamic
 * relocation (external linkers may leave them 0 in the file) are read from
 * the R_X86_64_RELATIVE addend instead.
 */
static uint64_t read_ptr(const struct elf_file *ef, uint64_t addr)
{
	const uint8_t *p = elf_vaddr_ptr(ef, addr, 8);
	struct slot sl = { addr, p ? rd64(p) : 0 };

	if (!sl.value)
		each_relative(ef, slot_relocated, &sl);
	return sl.value;
}

static bool in_exec_segment(const struct elf_file *ef, uint64_t addr)
{
	for (size_t i = 0; i < ef->nsegments; i++) {
		const struct elf_segment *s = &ef->segments[i];

		if ((s->flags & PF_X) && addr >= s->vaddr &&
		    addr - s->vaddr < s->memsz)
			return true;
	}
	return false;
}

/* A plain integer field (no relocation: lengths and offsets). */
static uint64_t read_word(const struct elf_file *ef, uint64_t addr)
{
	const uint8_t *p = elf_vaddr_ptr(ef, addr, 8);

	return p ? rd64(p) : 0;
}

/* 1.27's lengths inside [types, etypes): all must fit. */
static bool typedesc_fits(const struct elf_file *ef, uint64_t addr,
			  const struct md_layout *l, struct moduledata *md)
{
	uint64_t span = md->etypes - md->types, itaboff, itabsize;

	md->typedesclen = read_word(ef, addr + l->typedesclen * 8ULL);
	itaboff = read_word(ef, addr + l->itaboff * 8ULL);
	itabsize = read_word(ef, addr + (l->itaboff + 1) * 8ULL);
	return md->typedesclen && md->typedesclen <= span && itaboff <= span &&
	       itabsize <= span - itaboff;
}

/* Fill md from a candidate at addr with layout l; false when wrong. */
static bool try_layout(const struct elf_file *ef, uint64_t addr,
		       const struct md_layout *l, struct moduledata *md)
{
	unsigned last = l->gofunc ? l->gofunc : l->etypes;

	memset(md, 0, sizeof(*md));
	if (!elf_vaddr_ptr(ef, addr, (last + 1) * 8ULL))
		return false;
	md->addr = addr;
	md->text = read_ptr(ef, addr + F_TEXT * 8);
	md->etext = read_ptr(ef, addr + F_ETEXT * 8);
	md->types = read_ptr(ef, addr + l->types * 8ULL);
	md->etypes = read_ptr(ef, addr + l->etypes * 8ULL);
	md->gofunc = l->gofunc ? read_ptr(ef, addr + l->gofunc * 8ULL) : 0;
	md->layout_minor = l->go_minor;
	if (!in_exec_segment(ef, md->text) || md->etext < md->text)
		return false;
	if (md->etypes < md->types ||
	    (md->types && !elf_vaddr_ptr(ef, md->types, 1)))
		return false;
	if (l->typedesclen && !typedesc_fits(ef, addr, l, md))
		return false;
	if (l->gofunc && !elf_vaddr_ptr(ef, md->gofunc, 1))
		return false;
	return true;
}

static bool try_candidate(const struct elf_file *ef, uint64_t addr,
			  enum pclntab_version v, struct moduledata *md)
{
	const struct md_layout *ls[2];
	size_t n = layouts_for(v, ls);

	for (size_t i = 0; i < n; i++)
		if (try_layout(ef, addr, ls[i], md))
			return true;
	return false;
}

static bool scan_section(const struct elf_file *ef,
			 const struct elf_section *s, uint64_t pclntab_addr,
			 enum pclntab_version v, struct moduledata *md)
{
	uint64_t start = (s->addr + 7) & ~7ULL;

	if (s->type != SHT_PROGBITS || !(s->flags & SHF_WRITE) ||
	    !(s->flags & SHF_ALLOC) || start < s->addr)
		return false;
	for (uint64_t a = start; a - s->addr + 8 <= s->size; a += 8) {
		const uint8_t *p = elf_vaddr_ptr(ef, a, 8);

		if (!p)
			return false;
		if (rd64(p) == pclntab_addr && try_candidate(ef, a, v, md))
			return true;
	}
	return false;
}

struct reloc_scan {
	const struct elf_file *ef;
	uint64_t pclntab_addr;
	enum pclntab_version v;
	struct moduledata *md;
};

static bool reloc_candidate(void *ctx, uint64_t where, uint64_t addend)
{
	struct reloc_scan *rs = ctx;

	return addend == rs->pclntab_addr &&
	       try_candidate(rs->ef, where, rs->v, rs->md);
}

/* Fallback: a pcHeader pointer set only by a dynamic relocation. */
static bool scan_relocs(const struct elf_file *ef, uint64_t pclntab_addr,
			enum pclntab_version v, struct moduledata *md)
{
	struct reloc_scan rs = { ef, pclntab_addr, v, md };

	return each_relative(ef, reloc_candidate, &rs);
}

int moduledata_find(const struct elf_file *ef, uint64_t pclntab_addr,
		    enum pclntab_version v, struct moduledata *md,
		    struct errbuf *err)
{
	const struct elf_section *mod = elf_find_section(ef, ".go.module");

	memset(md, 0, sizeof(*md));
	/* Go 1.26 gives moduledata a section of its own. */
	if (mod && try_candidate(ef, mod->addr, v, md) &&
	    read_ptr(ef, mod->addr) == pclntab_addr)
		return 0;
	for (size_t i = 0; i < ef->nsections; i++) {
		if (scan_section(ef, &ef->sections[i], pclntab_addr, v, md))
			return 0;
	}
	if (scan_relocs(ef, pclntab_addr, v, md))
		return 0;
	memset(md, 0, sizeof(*md));
	return errbuf_set(err, "cannot find the Go runtime's moduledata "
			  "(no pointer to .gopclntab at 0x%llx)",
			  (unsigned long long)pclntab_addr);
}

int moduledata_attach(struct pclntab *t, const struct elf_file *ef,
		      uint64_t pclntab_addr, struct moduledata *md,
		      struct errbuf *err)
{
	struct moduledata local;
	enum pclntab_version v = pclntab_get_version(t);

	if (!md)
		md = &local;
	if (moduledata_find(ef, pclntab_addr, v, md, err))
		return -1;
	pclntab_set_funcdata(t, elf_file_reader, (void *)ef, md->gofunc);
	return 0;
}
