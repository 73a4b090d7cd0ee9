// SPDX-License-Identifier: MIT
/*
 * gotypes on a hand-built image: Go 1.27's back-to-back type descriptors
 * (no .typelink) walked by their DescriptorSize, names with and without
 * the extra star, bytes that are no descriptor stepped over, and hostile
 * lengths and offsets refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <string.h>

#include "elf_file.h"
#include "gotypes.h"
#include "testutil.h"

#define IMG_SIZE 0x2000
#define SHOFF 0x200
#define TYPES 0x600000ULL
#define ETYPES 0x601000ULL
#define NAMES 0x800		/* name data, offset from types */

/* Descriptor addresses and the bytes each takes (see gotypes.c). */
#define T_MAP (TYPES + 0x8)		/* 48 + 88 */
#define T_STRUCT (TYPES + 0x90)		/* 80 + 16 + 2 * 24 + 1 * 16 */
#define T_FUNC (TYPES + 0x130)		/* 56 + 3 * 8 */
#define T_IFACE (TYPES + 0x180)		/* 80 + 3 * 8 */
#define T_INT (TYPES + 0x1f8)		/* 48, after 16 bytes of zeros */
#define TYPEDESCLEN 0x228

static uint8_t img[IMG_SIZE];
static const char shstr[] = "\0.shstrtab";
static uint32_t name_end;

static uint8_t *at(uint64_t a)
{
	return img + 0x1000 + (a - TYPES);
}

/* A 1.17+ name (flags, varint length, bytes); returns its offset. */
static uint32_t put_name(const char *s)
{
	uint32_t off = name_end;
	size_t n = strlen(s);

	at(TYPES + off)[1] = (uint8_t)n;
	memcpy(at(TYPES + off + 2), s, n);
	name_end += 2 + n;
	return off;
}

static void put_type(uint64_t addr, uint8_t kind, uint8_t tflag,
		     const char *name)
{
	uint8_t *t = at(addr);

	put64(t, 8);
	t[20] = tflag;
	t[23] = kind;
	put32(t + 40, put_name(name));
}

static void build(void)
{
	memset(img, 0, sizeof(img));
	name_end = NAMES;
	elf_header(img, 1, SHOFF, 2, 1);
	put_phdr(img, 0, 0x1000, TYPES, 0x1000, 0x1000, PF_R);
	memcpy(img + 0x300, shstr, sizeof(shstr));
	put_shdr(img, SHOFF, 1, 1, SHT_STRTAB, 0, 0, 0x300, sizeof(shstr), 0);
	put_type(T_MAP, 21, 0x2, "*map[int]int");
	put_type(T_STRUCT, 25, 0x1, "main.S");
	put64(at(T_STRUCT + 64), 2);		/* len(Fields) */
	put16(at(T_STRUCT + 80 + 4), 1);	/* Mcount */
	put_type(T_FUNC, 19, 0, "func(int, ...int) error");
	put16(at(T_FUNC + 48), 2);
	put16(at(T_FUNC + 50), 0x8001);		/* variadic bit, 1 out */
	put_type(T_IFACE, 20, 0, "main.I");
	put64(at(T_IFACE + 64), 3);		/* len(Methods) */
	put_type(T_INT, 2, 0, "int");
}

struct seen {
	uint64_t addr[16];
	size_t n;
};

static void see(void *ctx, uint64_t addr)
{
	struct seen *s = ctx;

	if (s->n < 16)
		s->addr[s->n++] = addr;
}

static void open_types(struct elf_file *ef, struct gotypes *t)
{
	struct errbuf err = { { 0 } };

	assert_int_equal(elf_file_parse(ef, img, sizeof(img), &err), 0);
	gotypes_init(t, ef, TYPES, ETYPES, 27);
	gotypes_set_typedesclen(t, TYPEDESCLEN);
}

static void test_walk(void **state)
{
	static const uint64_t want[] = { T_MAP, T_STRUCT, T_FUNC, T_IFACE,
					 T_INT };
	struct seen s = { { 0 }, 0 };
	struct elf_file ef;
	struct gotypes t;
	char name[64];

	(void)state;
	build();
	open_types(&ef, &t);
	assert_int_equal(gotypes_typelinks(&t, see, &s, 100), 5);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(s.addr[i], want[i]);
	assert_int_equal(gotypes_kind(&t, T_MAP), GO_KIND_MAP);
	assert_int_equal(gotypes_name(&t, T_MAP, name, sizeof(name)), 0);
	assert_string_equal(name, "map[int]int");
	assert_int_equal(gotypes_name(&t, T_FUNC, name, sizeof(name)), 0);
	assert_string_equal(name, "func(int, ...int) error");
	assert_int_equal(gotypes_descriptor_size(&t, T_STRUCT), 160);
	/* max bounds the walk. */
	s.n = 0;
	assert_int_equal(gotypes_typelinks(&t, see, &s, 2), 2);
	elf_file_close(&ef);
}

static void test_hostile(void **state)
{
	struct seen s = { { 0 }, 0 };
	struct elf_file ef;
	struct gotypes t;
	char name[64];

	(void)state;
	build();
	put64(at(T_STRUCT + 64), 1ULL << 40);	/* absurd field count */
	put32(at(T_INT + 40), 0x7ffffff0);	/* name beyond etypes */
	open_types(&ef, &t);
	assert_int_equal(gotypes_descriptor_size(&t, T_STRUCT), 0);
	assert_int_equal(gotypes_name(&t, T_INT, name, sizeof(name)), -1);
	assert_int_equal(gotypes_descriptor_size(&t, ETYPES - 8), 0);
	assert_int_equal(gotypes_descriptor_size(&t, TYPES - 8), 0);
	/* The walk steps over what does not parse and picks up again. */
	assert_int_equal(gotypes_typelinks(&t, see, &s, 100), 3);
	assert_int_equal(s.addr[0], T_MAP);
	assert_int_equal(s.addr[1], T_FUNC);
	assert_int_equal(s.addr[2], T_IFACE);
	/* A typedesclen past etypes is not believed. */
	gotypes_set_typedesclen(&t, ETYPES - TYPES + 8);
	assert_int_equal(t.typedesclen, 0);
	assert_int_equal(gotypes_typelinks(&t, see, &s, 100), -1);
	/* Nor one past the file, even inside a huge claimed range. */
	gotypes_init(&t, &ef, TYPES, TYPES + (1ULL << 60), 27);
	gotypes_set_typedesclen(&t, 1ULL << 59);
	assert_int_equal(t.typedesclen, 0);
	elf_file_close(&ef);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
