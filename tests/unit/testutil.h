/* SPDX-License-Identifier: MIT */
#ifndef GMT_TESTUTIL_H
#define GMT_TESTUTIL_H

/*
 * Little-endian writers for the unit tests that build ELF images and Go
 * tables by hand. Header-only: each test is its own executable, so static
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

#endif
