// SPDX-License-Identifier: MIT
/*
 * The DWARF member-offset reader on hand-built DWARF 4 and 5 units shaped
 * like Go's: runtime.hmap.flags, runtime.g.goid, maps.Map.writing, and the
 * constant runtime.hashWriting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dwarf.h"

/* main.c (left out of unit tests) defines fail(); weak so a real one wins. */
__attribute__((weak)) int (fail)(const char *fmt, ...)
{
	(void)fmt;
	return 1;
}

struct buf {
	uint8_t b[1024];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void u8(struct buf *b, uint8_t v)
{
	put(b, &v, 1);
}

static void u16(struct buf *b, uint16_t v)
{
	u8(b, v & 0xff);
	u8(b, v >> 8);
}

static void u32(struct buf *b, uint32_t v)
{
	u16(b, v & 0xffff);
	u16(b, v >> 16);
}

static void uleb(struct buf *b, uint64_t v)
{
	do {
		uint8_t c = v & 0x7f;

		v >>= 7;
		u8(b, c | (v ? 0x80 : 0));
	} while (v);
}

static void cstr(struct buf *b, const char *s)
{
	put(b, s, strlen(s) + 1);
}

/* Patch the unit length once the unit is complete. */
static void end_unit(struct buf *b, size_t start)
{
	uint32_t len = (uint32_t)(b->n - start - 4);

	for (int i = 0; i < 4; i++)
		b->b[start + i] = (len >> (8 * i)) & 0xff;
}

enum { AB_CU = 1, AB_STRUCT, AB_MEMBER_U, AB_MEMBER_X, AB_BASE, AB_CONST };

/* DWARF 4, names inline (DW_FORM_string), as Go 1.19 writes it. */
static void build_v4(struct buf *ab, struct buf *in)
{
	size_t start;

	uleb(ab, AB_CU); uleb(ab, 0x11); u8(ab, 1);
	uleb(ab, 0x03); uleb(ab, 0x08); uleb(ab, 0); uleb(ab, 0);
	uleb(ab, AB_STRUCT); uleb(ab, 0x13); u8(ab, 1);
	uleb(ab, 0x03); uleb(ab, 0x08); uleb(ab, 0); uleb(ab, 0);
	uleb(ab, AB_MEMBER_U); uleb(ab, 0x0d); u8(ab, 0);
	uleb(ab, 0x03); uleb(ab, 0x08); uleb(ab, 0x38); uleb(ab, 0x0f);
	uleb(ab, 0); uleb(ab, 0);
	uleb(ab, AB_MEMBER_X); uleb(ab, 0x0d); u8(ab, 0);
	uleb(ab, 0x03); uleb(ab, 0x08); uleb(ab, 0x38); uleb(ab, 0x18);
	uleb(ab, 0); uleb(ab, 0);
	uleb(ab, AB_BASE); uleb(ab, 0x24); u8(ab, 0);
	uleb(ab, 0x03); uleb(ab, 0x08); uleb(ab, 0x0b); uleb(ab, 0x0b);
	uleb(ab, 0); uleb(ab, 0);
	/* DW_TAG_constant: name, const_value (sdata), as Go emits them */
	uleb(ab, AB_CONST); uleb(ab, 0x27); u8(ab, 0);
	uleb(ab, 0x03); uleb(ab, 0x08); uleb(ab, 0x1c); uleb(ab, 0x0d);
	uleb(ab, 0); uleb(ab, 0);
	uleb(ab, 0);

	start = in->n;
	u32(in, 0); u16(in, 4); u32(in, 0); u8(in, 8);
	uleb(in, AB_CU); cstr(in, "runtime");
	uleb(in, AB_BASE); cstr(in, "uint8"); u8(in, 1);
	uleb(in, AB_CONST); cstr(in, "runtime.hashWritingX"); uleb(in, 9);
	uleb(in, AB_CONST); cstr(in, "runtime.hashWriting"); uleb(in, 4);
	/* a decoy: same member name in a struct nobody asked about */
	uleb(in, AB_STRUCT); cstr(in, "runtime.hmapx");
	uleb(in, AB_MEMBER_U); cstr(in, "flags"); uleb(in, 99);
	uleb(in, 0);
	uleb(in, AB_STRUCT); cstr(in, "runtime.hmap");
	uleb(in, AB_MEMBER_U); cstr(in, "count"); uleb(in, 0);
	uleb(in, AB_MEMBER_U); cstr(in, "flags"); uleb(in, 8);
	uleb(in, AB_MEMBER_U); cstr(in, "B"); uleb(in, 9);
	uleb(in, 0);
	/* a member after the struct closed must not count */
	uleb(in, AB_MEMBER_U); cstr(in, "goid"); uleb(in, 7);
	uleb(in, AB_STRUCT); cstr(in, "runtime.g");
	uleb(in, AB_MEMBER_U); cstr(in, "stack"); uleb(in, 0);
	uleb(in, AB_MEMBER_X); cstr(in, "goid");
	uleb(in, 3); u8(in, 0x23); uleb(in, 152);	/* DW_OP_plus_uconst */
	uleb(in, 0);
	uleb(in, 0);
	end_unit(in, start);
}

static void test_v4(void **state)
{
	struct buf ab = { .n = 0 }, in = { .n = 0 };
	struct dwarf_member_query q[] = {
		{ "runtime.hmap", "flags", false, 0 },
		{ "runtime.g", "goid", false, 0 },
		{ "internal/runtime/maps.Map", "writing", false, 0 },
		{ "runtime.hashWriting", NULL, false, 0 },
		{ "runtime.hmap", NULL, false, 0 },	/* a struct, no constant */
	};
	struct dwarf_sections d = { 0 };
	struct errbuf err = { { 0 } };

	(void)state;
	build_v4(&ab, &in);
	d.info = in.b;
	d.info_len = in.n;
	d.abbrev = ab.b;
	d.abbrev_len = ab.n;
	assert_int_equal(dwarf_member_offsets(&d, q, 5, &err), 3);
	assert_true(q[0].found);
	assert_int_equal(q[0].offset, 8);
	assert_true(q[1].found);
	assert_int_equal(q[1].offset, 152);
	assert_false(q[2].found);
	assert_true(q[3].found);
	assert_int_equal(q[3].offset, 4);
	assert_false(q[4].found);
}

/* Every prefix of the unit is an error or a partial answer, never a crash. */
static void test_v4_truncated(void **state)
{
	struct buf ab = { .n = 0 }, in = { .n = 0 };
	struct dwarf_member_query q[] = {
		{ "runtime.g", "goid", false, 0 },
	};
	struct dwarf_sections d = { 0 };
	struct errbuf err;

	(void)state;
	build_v4(&ab, &in);
	d.abbrev = ab.b;
	d.abbrev_len = ab.n;
	d.info = in.b;
	for (size_t n = 0; n < in.n; n++) {
		d.info_len = n;
		assert_true(dwarf_member_offsets(&d, q, 1, &err) <= 0);
	}
	d.info_len = in.n;
	for (size_t n = 0; n < ab.n; n++) {
		d.abbrev_len = n;
		assert_true(dwarf_member_offsets(&d, q, 1, &err) <= 0);
	}
}

static void test_unknown_form(void **state)
{
	struct buf ab = { .n = 0 }, in = { .n = 0 };
	struct dwarf_member_query q[] = { { "x", "y", false, 0 } };
	struct dwarf_sections d = { 0 };
	struct errbuf err = { { 0 } };
	size_t start;

	(void)state;
	uleb(&ab, 1); uleb(&ab, 0x11); u8(&ab, 0);
	uleb(&ab, 0x03); uleb(&ab, 0x7f); uleb(&ab, 0); uleb(&ab, 0);
	uleb(&ab, 0);
	start = in.n;
	u32(&in, 0); u16(&in, 4); u32(&in, 0); u8(&in, 8);
	uleb(&in, 1); u8(&in, 0);
	end_unit(&in, start);
	d = (struct dwarf_sections){ in.b, in.n, ab.b, ab.n, NULL, 0, NULL, 0,
				     NULL, 0 };
	assert_int_equal(dwarf_member_offsets(&d, q, 1, &err), -1);
	assert_non_null(strstr(err.msg, "form"));
}

/*
 * DWARF 5: names through DW_FORM_strx1 and .debug_str_offsets (base from
 * the CU's DW_AT_str_offsets_base), a location as DW_FORM_implicit_const,
 * and one as data1.
 */
static void test_v5(void **state)
{
	struct buf ab = { .n = 0 }, in = { .n = 0 }, str = { .n = 0 },
		   so = { .n = 0 };
	static const char *const names[] = {
		"maps", "internal/runtime/maps.Map", "used", "writing",
	};
	struct dwarf_member_query q[] = {
		{ "internal/runtime/maps.Map", "writing", false, 0 },
		{ "internal/runtime/maps.Map", "used", false, 0 },
	};
	struct dwarf_sections d;
	struct errbuf err = { { 0 } };
	size_t start;

	(void)state;
	u32(&so, 4 + 4 * 4); u16(&so, 5); u16(&so, 0);	/* header: 8 bytes */
	for (int i = 0; i < 4; i++) {
		u32(&so, (uint32_t)str.n);
		cstr(&str, names[i]);
	}
	uleb(&ab, 1); uleb(&ab, 0x11); u8(&ab, 1);
	uleb(&ab, 0x03); uleb(&ab, 0x25);		/* name strx1 */
	uleb(&ab, 0x72); uleb(&ab, 0x17);		/* str_offsets_base */
	uleb(&ab, 0); uleb(&ab, 0);
	uleb(&ab, 2); uleb(&ab, 0x13); u8(&ab, 1);
	uleb(&ab, 0x03); uleb(&ab, 0x25); uleb(&ab, 0); uleb(&ab, 0);
	uleb(&ab, 3); uleb(&ab, 0x0d); u8(&ab, 0);
	uleb(&ab, 0x03); uleb(&ab, 0x25);
	uleb(&ab, 0x38); uleb(&ab, 0x21); uleb(&ab, 34);	/* implicit */
	uleb(&ab, 0); uleb(&ab, 0);
	uleb(&ab, 4); uleb(&ab, 0x0d); u8(&ab, 0);
	uleb(&ab, 0x03); uleb(&ab, 0x25); uleb(&ab, 0x38); uleb(&ab, 0x0b);
	uleb(&ab, 0); uleb(&ab, 0);
	uleb(&ab, 0);

	start = in.n;
	u32(&in, 0); u16(&in, 5); u8(&in, 1); u8(&in, 8); u32(&in, 0);
	uleb(&in, 1); u8(&in, 0); u32(&in, 8);
	uleb(&in, 2); u8(&in, 1);
	uleb(&in, 4); u8(&in, 2); u8(&in, 16);		/* used at 16 */
	uleb(&in, 3); u8(&in, 3);			/* writing at 34 */
	uleb(&in, 0);
	uleb(&in, 0);
	end_unit(&in, start);

	d = (struct dwarf_sections){ in.b, in.n, ab.b, ab.n, str.b, str.n,
				     NULL, 0, so.b, so.n };
	assert_int_equal(dwarf_member_offsets(&d, q, 2, &err), 2);
	assert_int_equal(q[0].offset, 34);
	assert_int_equal(q[1].offset, 16);
}

static void test_no_sections(void **state)
{
	struct dwarf_member_query q[] = { { "a", "b", false, 0 } };
	struct dwarf_sections d = { 0 };
	struct errbuf err = { { 0 } };

	(void)state;
	assert_int_equal(dwarf_member_offsets(&d, q, 1, &err), -1);
	assert_true(err.msg[0] != '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4),
		cmocka_unit_test(test_v4_truncated),
		cmocka_unit_test(test_unknown_form),
		cmocka_unit_test(test_v5),
		cmocka_unit_test(test_no_sections),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
