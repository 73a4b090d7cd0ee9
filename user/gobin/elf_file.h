/* SPDX-License-Identifier: MIT */
#ifndef GMT_ELF_FILE_H
#define GMT_ELF_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"

/*
 * A bounds-checked view of a 64-bit little-endian ELF image held in memory.
 * The bytes come from a file (mmap) or from a fuzzer; nothing here trusts
 * any offset or size read from them.
 */
struct elf_section {
	const char *name;
	uint32_t type;
	uint64_t flags;
	uint64_t addr;
	uint64_t offset;
	uint64_t size;
};

struct elf_segment {		/* PT_LOAD only */
	uint64_t vaddr;
	uint64_t offset;
	uint64_t filesz;
	uint64_t memsz;
	uint32_t flags;
};

struct elf_file {
	const uint8_t *data;
	size_t size;
	bool mapped;		/* data came from mmap and is unmapped on close */
	uint16_t type;		/* ET_EXEC, ET_DYN */
	uint16_t machine;	/* EM_X86_64, ... */
	struct elf_section *sections;
	size_t nsections;
	struct elf_segment *segments;
	size_t nsegments;
};

/* Parse an image already in memory; data must outlive ef. */
int elf_file_parse(struct elf_file *ef, const uint8_t *data, size_t size,
		   struct errbuf *err);
/* mmap and parse path. */
int elf_file_open(struct elf_file *ef, const char *path, struct errbuf *err);
void elf_file_close(struct elf_file *ef);

const struct elf_section *elf_find_section(const struct elf_file *ef,
					   const char *name);
/*
 * Contents of a section. SHF_COMPRESSED (zlib) sections are inflated into a
 * malloc'ed buffer and *owned is set; the caller frees it. SHT_NOBITS yields
 * an error.
 */
int elf_section_bytes(const struct elf_file *ef, const struct elf_section *sec,
		      const uint8_t **out, size_t *len, bool *owned,
		      struct errbuf *err);
/* Pointer to len bytes at link-time virtual address vaddr, or NULL. */
const uint8_t *elf_vaddr_ptr(const struct elf_file *ef, uint64_t vaddr,
			     size_t len);
/* File offset of a link-time virtual address (for uprobe attach), or -1. */
int64_t elf_vaddr_to_offset(const struct elf_file *ef, uint64_t vaddr);
/* .symtab lookup by exact name; false when absent or no .symtab. */
bool elf_symbol_addr(const struct elf_file *ef, const char *name,
		     uint64_t *addr, uint64_t *size);
/* .symtab lookup of the symbol containing addr (for type.* names). */
const char *elf_symbol_at(const struct elf_file *ef, uint64_t addr);

#endif
