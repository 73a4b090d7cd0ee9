// SPDX-License-Identifier: MIT
/*
 * elf_file on a hand-built ELF64 image (every field known, so every answer
 * is exact), on corrupted copies of it, and on real files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "elf_file.h"
#include "testutil.h"

#define IMG_SIZE 0xb00
#define SHOFF 0x900
#define NSECT 8
#define ZOFF 0x500
#define PATTERN_LEN 3000

enum { S_NULL, S_TEXT, S_DATA, S_SYMTAB, S_STRTAB, S_ZDEBUG, S_SHSTRTAB,
       S_BSS };

static uint8_t img[IMG_SIZE];
static uint8_t pattern[PATTERN_LEN];

static void phdr(int i, uint64_t off, uint64_t vaddr, uint64_t filesz,
		 uint64_t memsz, uint32_t flags)
{
	put_phdr(img, i, off, vaddr, filesz, memsz, flags);
}

static void shdr(int i, uint32_t name, uint32_t type, uint64_t flags,
		 uint64_t addr, uint64_t off, uint64_t size, uint32_t link)
{
	put_shdr(img, SHOFF, i, name, type, flags, addr, off, size, link);
}

static void sym(int i, uint32_t name, uint64_t value, uint64_t size)
{
	uint8_t *p = img + 0x400 + i * 24;

	put32(p, name);
	p[4] = ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT);
	put16(p + 6, 1);
	put64(p + 8, value);
	put64(p + 16, size);
}

static const char shstr[] =
	"\0.text\0.data\0.symtab\0.strtab\0.zdebug\0.shstrtab\0.bss";
static const char symstr[] = "\0main.foo\0type:int\0zero";

/* Compressed section: Elf64_Chdr + zlib stream of pattern. */
static size_t put_zdebug(void)
{
	uLongf zlen = SHOFF - ZOFF - 24;
	uint8_t *p = img + ZOFF;

	for (int i = 0; i < PATTERN_LEN; i++)
		pattern[i] = (uint8_t)(i * 7 + i / 13);
	assert_int_equal(compress2(p + 24, &zlen, pattern, PATTERN_LEN, 9),
			 Z_OK);
	put32(p, ELFCOMPRESS_ZLIB);
	put64(p + 8, PATTERN_LEN);
	put64(p + 16, 1);
	return 24 + zlen;
}

static void build_image(void)
{
	size_t zsize;

	memset(img, 0, sizeof(img));
	elf_header(img, 2, SHOFF, NSECT, S_SHSTRTAB);
	phdr(0, 0x200, 0x400200, 0x100, 0x100, PF_R | PF_X);
	phdr(1, 0x300, 0x500300, 0x80, 0x1000, PF_R | PF_W);
	for (int i = 0; i < 0x100; i++)
		img[0x200 + i] = (uint8_t)i;
	sym(1, 1, 0x400210, 0x20);
	sym(2, 10, 0x500310, 8);
	sym(3, 19, 0x400280, 0);
	memcpy(img + 0x480, symstr, sizeof(symstr));
	zsize = put_zdebug();
	memcpy(img + 0x800, shstr, sizeof(shstr));
	shdr(S_TEXT, 1, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 0x400200,
	     0x200, 0x100, 0);
	shdr(S_DATA, 7, SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 0x500300, 0x300,
	     0x80, 0);
	shdr(S_SYMTAB, 13, SHT_SYMTAB, 0, 0, 0x400, 4 * 24, S_STRTAB);
	shdr(S_STRTAB, 21, SHT_STRTAB, 0, 0, 0x480, sizeof(symstr), 0);
	shdr(S_ZDEBUG, 29, SHT_PROGBITS, SHF_COMPRESSED, 0, ZOFF, zsize, 0);
	shdr(S_SHSTRTAB, 37, SHT_STRTAB, 0, 0, 0x800, sizeof(shstr), 0);
	shdr(S_BSS, 47, SHT_NOBITS, SHF_ALLOC | SHF_WRITE, 0x500380, 0x380,
	     0x100, 0);
}

static int setup(void **state)
{
	(void)state;
	build_image();
	return 0;
}

static void parse_ok(struct elf_file *ef)
{
	struct errbuf err = { { 0 } };

	assert_int_equal(elf_file_parse(ef, img, sizeof(img), &err), 0);
}

static void test_headers(void **state)
{
	struct elf_file ef;

	(void)state;
	parse_ok(&ef);
	assert_int_equal(ef.machine, EM_X86_64);
	assert_int_equal(ef.type, ET_EXEC);
	assert_int_equal(ef.nsections, NSECT);
	assert_int_equal(ef.nsegments, 2);
	assert_string_equal(ef.sections[S_TEXT].name, ".text");
	assert_string_equal(ef.sections[S_BSS].name, ".bss");
	assert_int_equal(ef.segments[1].vaddr, 0x500300);
	assert_int_equal(ef.segments[1].memsz, 0x1000);
	assert_ptr_equal(elf_find_section(&ef, ".data"),
			 &ef.sections[S_DATA]);
	assert_null(elf_find_section(&ef, ".gopclntab"));
	elf_file_close(&ef);
}

static void test_section_bytes(void **state)
{
	struct errbuf err = { { 0 } };
	struct elf_file ef;
	const uint8_t *p;
	size_t len;
	bool owned;

	(void)state;
	parse_ok(&ef);
	assert_int_equal(elf_section_bytes(&ef, &ef.sections[S_TEXT], &p, &len,
					   &owned, &err), 0);
	assert_ptr_equal(p, img + 0x200);
	assert_int_equal(len, 0x100);
	assert_false(owned);
	assert_int_equal(elf_section_bytes(&ef, &ef.sections[S_ZDEBUG], &p,
					   &len, &owned, &err), 0);
	assert_true(owned);
	assert_int_equal(len, PATTERN_LEN);
	assert_memory_equal(p, pattern, PATTERN_LEN);
	free((void *)p);
	assert_int_equal(elf_section_bytes(&ef, &ef.sections[S_BSS], &p, &len,
					   &owned, &err), -1);
	assert_non_null(strstr(err.msg, ".bss"));
	elf_file_close(&ef);
}

static void expect_zdebug_error(uint64_t ch_size, uint32_t type,
				const char *what)
{
	struct errbuf err = { { 0 } };
	struct elf_file ef;
	const uint8_t *p;
	size_t len;
	bool owned;

	build_image();
	put32(img + ZOFF, type);
	put64(img + ZOFF + 8, ch_size);
	parse_ok(&ef);
	assert_int_equal(elf_section_bytes(&ef, &ef.sections[S_ZDEBUG], &p,
					   &len, &owned, &err), -1);
	assert_false(owned);
	assert_non_null(strstr(err.msg, what));
	elf_file_close(&ef);
}

static void test_compressed_errors(void **state)
{
	(void)state;
	expect_zdebug_error(PATTERN_LEN + 1, ELFCOMPRESS_ZLIB, "corrupt");
	expect_zdebug_error(PATTERN_LEN - 1, ELFCOMPRESS_ZLIB, "corrupt");
	expect_zdebug_error(0, ELFCOMPRESS_ZLIB, "implausible");
	expect_zdebug_error(1ULL << 40, ELFCOMPRESS_ZLIB, "implausible");
	expect_zdebug_error(PATTERN_LEN, 2, "unsupported compression");
}

static void test_vaddr(void **state)
{
	struct elf_file ef;

	(void)state;
	parse_ok(&ef);
	assert_ptr_equal(elf_vaddr_ptr(&ef, 0x400200, 0x100), img + 0x200);
	assert_ptr_equal(elf_vaddr_ptr(&ef, 0x4002ff, 1), img + 0x2ff);
	assert_null(elf_vaddr_ptr(&ef, 0x4002ff, 2));
	assert_null(elf_vaddr_ptr(&ef, 0x4001ff, 1));
	assert_null(elf_vaddr_ptr(&ef, 0x400200, SIZE_MAX));
	/* In memsz but not in the file: no bytes to return. */
	assert_ptr_equal(elf_vaddr_ptr(&ef, 0x500300, 0x80), img + 0x300);
	assert_null(elf_vaddr_ptr(&ef, 0x500300, 0x81));
	assert_null(elf_vaddr_ptr(&ef, 0x500390, 1));
	assert_int_equal(elf_vaddr_to_offset(&ef, 0x400210), 0x210);
	assert_int_equal(elf_vaddr_to_offset(&ef, 0x50037f), 0x37f);
	assert_int_equal(elf_vaddr_to_offset(&ef, 0x500380), -1);
	assert_int_equal(elf_vaddr_to_offset(&ef, 0), -1);
	elf_file_close(&ef);
}

static void test_symbols(void **state)
{
	struct elf_file ef;
	uint64_t addr = 0, size = 0;

	(void)state;
	parse_ok(&ef);
	assert_true(elf_symbol_addr(&ef, "main.foo", &addr, &size));
	assert_int_equal(addr, 0x400210);
	assert_int_equal(size, 0x20);
	assert_true(elf_symbol_addr(&ef, "type:int", &addr, NULL));
	assert_int_equal(addr, 0x500310);
	assert_false(elf_symbol_addr(&ef, "main.bar", &addr, &size));
	assert_false(elf_symbol_addr(&ef, "", &addr, &size));
	assert_string_equal(elf_symbol_at(&ef, 0x400210), "main.foo");
	assert_string_equal(elf_symbol_at(&ef, 0x40022f), "main.foo");
	assert_null(elf_symbol_at(&ef, 0x400230));
	assert_null(elf_symbol_at(&ef, 0x40020f));
	assert_string_equal(elf_symbol_at(&ef, 0x500317), "type:int");
	assert_string_equal(elf_symbol_at(&ef, 0x400280), "zero");
	assert_null(elf_symbol_at(&ef, 0x400281));
	elf_file_close(&ef);
}

static void expect_parse_error(size_t size, const char *what)
{
	struct errbuf err = { { 0 } };
	struct elf_file ef;

	assert_int_equal(elf_file_parse(&ef, img, size, &err), -1);
	if (!strstr(err.msg, what))
		fail_msg("error '%s' does not say '%s'", err.msg, what);
	assert_null(strchr(err.msg, '\n'));
}

static void test_bad_headers(void **state)
{
	(void)state;
	expect_parse_error(3, "not an ELF file");
	expect_parse_error(40, "truncated");
	img[0] = 'X';
	expect_parse_error(sizeof(img), "not an ELF file");
	build_image();
	img[EI_CLASS] = ELFCLASS32;
	expect_parse_error(sizeof(img), "32-bit");
	build_image();
	img[EI_DATA] = ELFDATA2MSB;
	expect_parse_error(sizeof(img), "big-endian");
	build_image();
	put64(img + 40, sizeof(img) - 64);
	expect_parse_error(sizeof(img), "section headers");
	build_image();
	put64(img + 40, UINT64_MAX - 8);
	expect_parse_error(sizeof(img), "section headers");
	build_image();
	put64(img + 32, UINT64_MAX - 8);
	expect_parse_error(sizeof(img), "program headers");
	build_image();
	expect_parse_error(SHOFF + 64, "section headers");
}

/* Symbol and section names that run off their tables are not returned. */
static void test_bad_names(void **state)
{
	struct elf_file ef;

	(void)state;
	put32(img + SHOFF + S_TEXT * 64, 0xffff);
	put32(img + 0x400 + 24, 0xffff);
	img[0x480 + sizeof(symstr) - 1] = 'x';	/* "zero" unterminated */
	parse_ok(&ef);
	assert_string_equal(ef.sections[S_TEXT].name, "");
	assert_false(elf_symbol_addr(&ef, "main.foo", NULL, NULL));
	assert_false(elf_symbol_addr(&ef, "zero", NULL, NULL));
	assert_null(elf_symbol_at(&ef, 0x400280));
	assert_string_equal(elf_symbol_at(&ef, 0x500310), "type:int");
	elf_file_close(&ef);
}

/* Exercise every lookup on whatever parsed; must not crash or leak. */
static void poke(const uint8_t *data, size_t size)
{
	struct errbuf err;
	struct elf_file ef;

	if (elf_file_parse(&ef, data, size, &err))
		return;
	for (size_t i = 0; i < ef.nsections; i++) {
		const uint8_t *p;
		size_t len;
		bool owned;

		if (!elf_section_bytes(&ef, &ef.sections[i], &p, &len, &owned,
				       &err) && owned)
			free((void *)p);
	}
	elf_symbol_addr(&ef, "main.foo", NULL, NULL);
	elf_symbol_at(&ef, 0x400210);
	elf_vaddr_ptr(&ef, 0x400200, 16);
	elf_vaddr_to_offset(&ef, 0x500300);
	elf_file_close(&ef);
}

static void test_truncations_and_flips(void **state)
{
	uint8_t *copy = malloc(sizeof(img));

	(void)state;
	assert_non_null(copy);
	for (size_t n = 0; n <= sizeof(img); n++) {
		memcpy(copy, img, n);
		poke(copy, n);
	}
	for (size_t i = 0; i < sizeof(img); i++) {
		memcpy(copy, img, sizeof(img));
		copy[i] ^= 0xff;
		poke(copy, sizeof(img));
		copy[i] ^= 0x7f;
		poke(copy, sizeof(img));
	}
	free(copy);
}

static void test_open_errors(void **state)
{
	char path[] = "/tmp/gmt-test-elf-XXXXXX";
	struct errbuf err = { { 0 } };
	struct elf_file ef;
	int fd;

	(void)state;
	assert_int_equal(elf_file_open(&ef, "/nonexistent/x", &err), -1);
	assert_string_equal(err.msg,
			    "/nonexistent/x: cannot open: No such file or "
			    "directory");
	assert_int_equal(elf_file_open(&ef, "/tmp", &err), -1);
	assert_string_equal(err.msg, "/tmp: not a regular file");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\necho hello\n", 21), 21);
	assert_int_equal(elf_file_open(&ef, path, &err), -1);
	assert_non_null(strstr(err.msg, ": not an ELF file"));
	assert_memory_equal(err.msg, path, strlen(path));
	/* A truncated image names the file too. */
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, img, 40, 0), 40);
	assert_int_equal(elf_file_open(&ef, path, &err), -1);
	assert_non_null(strstr(err.msg, ": truncated ELF file"));
	assert_int_equal(pwrite(fd, img, sizeof(img), 0), sizeof(img));
	assert_int_equal(elf_file_open(&ef, path, &err), 0);
	assert_true(ef.mapped);
	assert_int_equal(ef.nsections, NSECT);
	elf_file_close(&ef);
	close(fd);
	unlink(path);
}

/* This test binary itself: a real, gcc-linked ELF with .symtab. */
static void test_self(void **state)
{
	struct errbuf err = { { 0 } };
	struct elf_file ef;
	uint64_t addr, size;
	const struct elf_section *text;

	(void)state;
	assert_int_equal(elf_file_open(&ef, "/proc/self/exe", &err), 0);
	assert_int_equal(ef.machine, EM_X86_64);
	text = elf_find_section(&ef, ".text");
	assert_non_null(text);
	assert_true(elf_symbol_addr(&ef, "test_self", &addr, &size));
	assert_true(addr >= text->addr && addr < text->addr + text->size);
	assert_true(size > 0);
	assert_string_equal(elf_symbol_at(&ef, addr + size - 1), "test_self");
	assert_int_equal(elf_vaddr_to_offset(&ef, text->addr), text->offset);
	elf_file_close(&ef);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_headers, setup),
		cmocka_unit_test_setup(test_section_bytes, setup),
		cmocka_unit_test_setup(test_compressed_errors, setup),
		cmocka_unit_test_setup(test_vaddr, setup),
		cmocka_unit_test_setup(test_symbols, setup),
		cmocka_unit_test_setup(test_bad_headers, setup),
		cmocka_unit_test_setup(test_bad_names, setup),
		cmocka_unit_test_setup(test_truncations_and_flips, setup),
		cmocka_unit_test_setup(test_open_errors, setup),
		cmocka_unit_test(test_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
