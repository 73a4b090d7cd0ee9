// SPDX-License-Identifier: MIT
/*
 * The one LEB128 reader (user/gobin/leb128.h) at its edges: the largest
 * value each bound admits, one byte more, bits past 63, input that ends
 * inside a number, DWARF's padding and sign extension.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "leb128.h"

/* fail() lives in main.c, left out of unit tests; weak, so a copy wins. */
__attribute__((weak)) int (fail)(const char *fmt, ...)
{
	(void)fmt;
	return 1;
}

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ })
#define LEN(...) sizeof((const uint8_t[]){ __VA_ARGS__ })
#define U(max, v, ...) leb128_u(BYTES(__VA_ARGS__), LEN(__VA_ARGS__), max, v)
#define S(max, v, ...) leb128_s(BYTES(__VA_ARGS__), LEN(__VA_ARGS__), max, v)

static void test_unsigned(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(U(LEB128_GO_MAX, &v, 0x00), 1);
	assert_int_equal(v, 0);
	assert_int_equal(U(LEB128_GO_MAX, &v, 0xe5, 0x8e, 0x26, 0xff), 3);
	assert_int_equal(v, 624485);
	/* UINT64_MAX takes all ten bytes, the last holding only bit 63. */
	assert_int_equal(U(LEB128_GO_MAX, &v, 0xff, 0xff, 0xff, 0xff, 0xff,
			   0xff, 0xff, 0xff, 0xff, 0x01), 10);
	assert_true(v == UINT64_MAX);
}

static void test_unsigned_refused(void **state)
{
	uint64_t v = 7;

	(void)state;
	/* A tenth byte with more than bit 63 does not fit. */
	assert_int_equal(U(LEB128_GO_MAX, &v, 0xff, 0xff, 0xff, 0xff, 0xff,
			   0xff, 0xff, 0xff, 0xff, 0x02), 0);
	/* Eleven bytes are one too many for Go, even for a zero. */
	assert_int_equal(U(LEB128_GO_MAX, &v, 0x80, 0x80, 0x80, 0x80, 0x80,
			   0x80, 0x80, 0x80, 0x80, 0x80, 0x00), 0);
	/* The input ends inside the number. */
	assert_int_equal(U(LEB128_GO_MAX, &v, 0x80, 0x80), 0);
	assert_int_equal(leb128_u(BYTES(0x01), 0, LEB128_GO_MAX, &v), 0);
	/* The pclntab's bound: five bytes, the sixth refused. */
	assert_int_equal(U(LEB128_U32_MAX, &v, 0xff, 0xff, 0xff, 0xff, 0x0f),
			 5);
	assert_true(v == UINT32_MAX);
	assert_int_equal(U(LEB128_U32_MAX, &v, 0x80, 0x80, 0x80, 0x80, 0x80,
			   0x00), 0);
	assert_int_equal(v, UINT32_MAX);	/* untouched when refused */
}

static void test_dwarf_padding(void **state)
{
	uint64_t v = 7;

	(void)state;
	/* A zero padded to eleven bytes is a DWARF ULEB128, not a Go one. */
	assert_int_equal(U(LEB128_DWARF_U_MAX, &v, 0x80, 0x80, 0x80, 0x80,
			   0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00), 11);
	assert_int_equal(v, 0);
	/* Padding bytes past bit 63 carry no bits. */
	assert_int_equal(U(LEB128_DWARF_U_MAX, &v, 0x80, 0x80, 0x80, 0x80,
			   0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01), 0);
}

static void test_signed(void **state)
{
	int64_t v = 7;

	(void)state;
	assert_int_equal(S(LEB128_DWARF_S_MAX, &v, 0x7f), 1);
	assert_int_equal(v, -1);
	assert_int_equal(S(LEB128_DWARF_S_MAX, &v, 0x80, 0x7f), 2);
	assert_int_equal(v, -128);
	assert_int_equal(S(LEB128_DWARF_S_MAX, &v, 0x3f), 1);
	assert_int_equal(v, 63);
	assert_int_equal(S(LEB128_DWARF_S_MAX, &v, 0xc0, 0xbb, 0x78), 3);
	assert_int_equal(v, -123456);
	/* INT64_MIN: ten bytes, the last all sign. */
	assert_int_equal(S(LEB128_DWARF_S_MAX, &v, 0x80, 0x80, 0x80, 0x80,
			   0x80, 0x80, 0x80, 0x80, 0x80, 0x7f), 10);
	assert_true(v == INT64_MIN);
	/* A tenth byte whose high bits disagree with bit 63. */
	assert_int_equal(S(LEB128_DWARF_S_MAX, &v, 0x80, 0x80, 0x80, 0x80,
			   0x80, 0x80, 0x80, 0x80, 0x80, 0x41), 0);
	/* Eleven bytes. */
	assert_int_equal(S(LEB128_DWARF_S_MAX, &v, 0xff, 0xff, 0xff, 0xff,
			   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), 0);
	assert_int_equal(S(LEB128_DWARF_S_MAX, &v, 0xff), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unsigned),
		cmocka_unit_test(test_unsigned_refused),
		cmocka_unit_test(test_dwarf_padding),
		cmocka_unit_test(test_signed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
