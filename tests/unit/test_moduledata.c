// SPDX-License-Identifier: MIT
/*
 * moduledata_find on hand-built ELF images: a moduledata per layout (Go
 * 1.16, 1.18, 1.20+), a decoy pointer to .gopclntab that is not moduledata,
 * fields set only through R_X86_64_RELATIVE relocations, Go 1.26's
 * .go.module section, and Go 1.27's layout (typedesclen, itab offsets) that
 * shares 1.20's pclntab magic.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <string.h>

#include "elf_file.h"
#include "moduledata.h"
#include "testutil.h"

#define IMG_SIZE 0x900
#define SHOFF 0x700
#define PCLNTAB 0x500200ULL	/* link-time address of .gopclntab */
#define TEXT 0x400100ULL
#define ETEXT 0x400200ULL
#define TYPES 0x500220ULL
#define ETYPES 0x500280ULL
#define GOFUNC 0x500210ULL
#define DECOY 0x500300ULL
#define MD 0x500340ULL
#define RELA_OFF 0x600

enum { S_NULL, S_TEXT, S_DATA, S_RELA, S_SHSTRTAB, NSECT };

static uint8_t img[IMG_SIZE];
static const char shstr[] = "\0.text\0.noptrdata\0.rela\0.shstrtab\0.go.module";

/* File bytes of link-time address a in the data segment. */
static uint8_t *data_at(uint64_t a)
{
	return img + 0x200 + (a - 0x500200);
}

static void shdr(int i, uint32_t name, uint32_t type, uint64_t flags,
		 uint64_t addr, uint64_t off, uint64_t size)
{
	put_shdr(img, SHOFF, i, name, type, flags, addr, off, size, 0);
}

static void build(void)
{
	memset(img, 0, sizeof(img));
	elf_header(img, 2, SHOFF, NSECT, S_SHSTRTAB);
	put_phdr(img, 0, 0x100, TEXT, 0x100, 0x100, PF_R | PF_X);
	put_phdr(img, 1, 0x200, 0x500200, 0x400, 0x400, PF_R | PF_W);
	memcpy(img + 0x6a0, shstr, sizeof(shstr));
	shdr(S_TEXT, 1, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, TEXT, 0x100,
	     0x100);
	shdr(S_DATA, 7, SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, DECOY, 0x300,
	     0x300);
	shdr(S_RELA, 18, SHT_RELA, SHF_ALLOC, 0, RELA_OFF, 0);
	shdr(S_SHSTRTAB, 24, SHT_STRTAB, 0, 0, 0x6a0, sizeof(shstr));
	/* Points at .gopclntab but its text field is not code. */
	put64(data_at(DECOY), PCLNTAB);
}

struct layout {
	enum pclntab_version v;
	unsigned types, etypes, gofunc;
};

static const struct layout layouts[] = {
	{ PCLNTAB_116, 35, 36, 0 },
	{ PCLNTAB_118, 35, 36, 38 },
	{ PCLNTAB_120, 37, 38, 40 },
};

static void put_md(const struct layout *l)
{
	uint8_t *md = data_at(MD);

	put64(md, PCLNTAB);
	put64(md + 20 * 8, TEXT);	/* minpc */
	put64(md + 22 * 8, TEXT);
	put64(md + 23 * 8, ETEXT);
	put64(md + l->types * 8, TYPES);
	put64(md + l->etypes * 8, ETYPES);
	if (l->gofunc)
		put64(md + l->gofunc * 8, GOFUNC);
}

static void expect_md(enum pclntab_version v, uint64_t gofunc)
{
	struct errbuf err = { { 0 } };
	struct moduledata md;
	struct elf_file ef;

	assert_int_equal(elf_file_parse(&ef, img, sizeof(img), &err), 0);
	if (moduledata_find(&ef, PCLNTAB, v, &md, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(md.addr, MD);
	assert_int_equal(md.text, TEXT);
	assert_int_equal(md.etext, ETEXT);
	assert_int_equal(md.types, TYPES);
	assert_int_equal(md.etypes, ETYPES);
	assert_int_equal(md.gofunc, gofunc);
	elf_file_close(&ef);
}

static void test_layouts(void **state)
{
	(void)state;
	for (size_t i = 0; i < 3; i++) {
		build();
		put_md(&layouts[i]);
		expect_md(layouts[i].v, layouts[i].gofunc ? GOFUNC : 0);
	}
}

static void put_rela(int i, uint64_t where, uint64_t value)
{
	uint8_t *r = img + RELA_OFF + i * 24;

	put64(r, where);
	put64(r + 8, ELF64_R_INFO(0, R_X86_64_RELATIVE));
	put64(r + 16, value);
	put64(img + SHOFF + S_RELA * 64 + 32, (i + 1) * 24);
}

/* External linkers may leave relocated slots 0 in the file. */
static void test_relocated_fields(void **state)
{
	(void)state;
	build();
	put_md(&layouts[2]);
	put64(data_at(MD), 0);
	put64(data_at(MD + 40 * 8), 0);
	put64(data_at(MD + 22 * 8), 0);
	put_rela(0, MD + 22 * 8, TEXT);
	put_rela(1, MD, PCLNTAB);
	put_rela(2, MD + 40 * 8, GOFUNC);
	expect_md(PCLNTAB_120, GOFUNC);
}

/* Go 1.26: the section is moduledata. */
static void test_go_module_section(void **state)
{
	(void)state;
	build();
	put_md(&layouts[2]);
	put64(data_at(DECOY), 0);
	shdr(S_DATA, 34, SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, MD, 0x340,
	     0x200);
	expect_md(PCLNTAB_120, GOFUNC);
}

static void expect_not_found(enum pclntab_version v)
{
	struct errbuf err = { { 0 } };
	struct moduledata md;
	struct elf_file ef;

	assert_int_equal(elf_file_parse(&ef, img, sizeof(img), &err), 0);
	assert_int_equal(moduledata_find(&ef, PCLNTAB, v, &md, &err), -1);
	assert_string_equal(err.msg, "cannot find the Go runtime's "
			    "moduledata (no pointer to .gopclntab at "
			    "0x500200)");
	assert_int_equal(md.gofunc, 0);
	elf_file_close(&ef);
}

static void test_not_found(void **state)
{
	(void)state;
	build();
	expect_not_found(PCLNTAB_120);
	/* gofunc outside the image: not moduledata either. */
	put_md(&layouts[2]);
	put64(data_at(MD + 40 * 8), 0x900000);
	expect_not_found(PCLNTAB_120);
	/* text not in an executable segment. */
	build();
	put_md(&layouts[1]);
	put64(data_at(MD + 22 * 8), GOFUNC);
	expect_not_found(PCLNTAB_118);
}

/* Go 1.27: types 37, typedesclen 38, etypes 39, itab 40/41, gofunc 43. */
static void put_md127(uint64_t typedesclen, uint64_t itaboff)
{
	uint8_t *md = data_at(MD);

	put64(md, PCLNTAB);
	put64(md + 22 * 8, TEXT);
	put64(md + 23 * 8, ETEXT);
	put64(md + 37 * 8, TYPES);
	put64(md + 38 * 8, typedesclen);
	put64(md + 39 * 8, ETYPES);
	put64(md + 40 * 8, itaboff);
	put64(md + 41 * 8, ETYPES - TYPES - itaboff);
	put64(md + 42 * 8, TYPES - 0x10);	/* rodata, before types */
	put64(md + 43 * 8, GOFUNC);
}

static void test_go127_layout(void **state)
{
	struct errbuf err = { { 0 } };
	struct moduledata md;
	struct elf_file ef;

	(void)state;
	build();
	put_md127(0x40, 0x48);
	expect_md(PCLNTAB_120, GOFUNC);
	assert_int_equal(elf_file_parse(&ef, img, sizeof(img), &err), 0);
	assert_int_equal(moduledata_find(&ef, PCLNTAB, PCLNTAB_120, &md,
					 &err), 0);
	assert_int_equal(md.typedesclen, 0x40);
	assert_int_equal(md.layout_minor, 27);
	elf_file_close(&ef);
	/* A 1.20-1.26 moduledata is not taken for 1.27's. */
	build();
	put_md(&layouts[2]);
	assert_int_equal(elf_file_parse(&ef, img, sizeof(img), &err), 0);
	assert_int_equal(moduledata_find(&ef, PCLNTAB, PCLNTAB_120, &md,
					 &err), 0);
	assert_int_equal(md.typedesclen, 0);
	assert_int_equal(md.layout_minor, 20);
	assert_int_equal(md.etypes, ETYPES);
	elf_file_close(&ef);
}

/* Lengths that leave [types, etypes) make the candidate no moduledata. */
static void test_go127_bad_lengths(void **state)
{
	(void)state;
	build();
	put_md127(ETYPES - TYPES + 1, 0);
	expect_not_found(PCLNTAB_120);
	build();
	put_md127(0x40, ETYPES - TYPES + 8);
	expect_not_found(PCLNTAB_120);
	build();
	put_md127(0, 0);
	expect_not_found(PCLNTAB_120);
}

static void test_reader(void **state)
{
	struct errbuf err = { { 0 } };
	struct elf_file ef;

	(void)state;
	build();
	assert_int_equal(elf_file_parse(&ef, img, sizeof(img), &err), 0);
	assert_ptr_equal(elf_file_reader(&ef, DECOY, 8), data_at(DECOY));
	assert_null(elf_file_reader(&ef, 0x500200 + 0x3ff, 2));
	elf_file_close(&ef);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_relocated_fields),
		cmocka_unit_test(test_go_module_section),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_go127_layout),
		cmocka_unit_test(test_go127_bad_lengths),
		cmocka_unit_test(test_reader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
