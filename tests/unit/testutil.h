/* SPDX-License-Identifier: MIT */
#ifndef GMT_TESTUTIL_H
#define GMT_TESTUTIL_H

/*
 * Little-endian writers for the unit tests that build ELF images and Go
 * tables by hand, and the ELF headers they need. Header-only: each test is its own executable, so static
 * inline functions need no Makefile rule.
 */
#include <elf.h>
#include <stdint.h>
#include <string.h>

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static inline void put64(uint8_t *p, uint64_t v)
{
	put32(p, v);
	put32(p + 4, v >> 32);
}

/*
 * A little-endian x86-64 ELF64 executable header at img: program headers
 * right after it (phnum of them), section headers at shoff.
 */
static inline void elf_header(uint8_t *img, uint16_t phnum, uint64_t shoff,
			      uint16_t shnum, uint16_t shstrndx)
{
	memcpy(img, ELFMAG, SELFMAG);
	img[EI_CLASS] = ELFCLASS64;
	img[EI_DATA] = ELFDATA2LSB;
	img[EI_VERSION] = EV_CURRENT;
	put16(img + 16, ET_EXEC);
	put16(img + 18, EM_X86_64);
	put64(img + 32, 64);
	put64(img + 40, shoff);
	put16(img + 52, 64);
	put16(img + 54, 56);
	put16(img + 56, phnum);
	put16(img + 58, 64);
	put16(img + 60, shnum);
	put16(img + 62, shstrndx);
}

/* Program header i, a PT_LOAD, in the table right after the ELF header. */
static inline void put_phdr(uint8_t *img, int i, uint64_t off, uint64_t vaddr,
			    uint64_t filesz, uint64_t memsz, uint32_t flags)
{
	uint8_t *p = img + 64 + i * 56;

	put32(p, PT_LOAD);
	put32(p + 4, flags);
	put64(p + 8, off);
	put64(p + 16, vaddr);
	put64(p + 24, vaddr);
	put64(p + 32, filesz);
	put64(p + 40, memsz);
}

/* Section header i of the table at shoff. */
static inline void put_shdr(uint8_t *img, uint64_t shoff, int i, uint32_t name,
			    uint32_t type, uint64_t flags, uint64_t addr,
			    uint64_t off, uint64_t size, uint32_t link)
{
	uint8_t *p = img + shoff + i * 64;

	put32(p, name);
	put32(p + 4, type);
	put64(p + 8, flags);
	put64(p + 16, addr);
	put64(p + 24, off);
	put64(p + 32, size);
	put32(p + 40, link);
}

#endif
