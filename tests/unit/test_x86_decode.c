// SPDX-License-Identifier: MIT
/*
 * The decoder against byte patterns measured in real Go binaries
 * (DESIGN-NOTES §1, §5): Go 1.19 from Debian, Go 1.26 in esbuild.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "x86_decode.h"

/*
 * The subcommands linked into every unit test call fail(), which lives in
 * main.c (left out of unit tests); weak, so a library copy wins.
 */
__attribute__((weak)) int (fail)(const char *fmt, ...)
{
	(void)fmt;
	return 1;
}

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ })
#define LEN(...) sizeof((const uint8_t[]){ __VA_ARGS__ })
#define DECODE(in, ...) x86_decode(BYTES(__VA_ARGS__), LEN(__VA_ARGS__), in)

static void test_lengths(void **state)
{
	struct x86_insn in;

	(void)state;
	assert_int_equal(DECODE(&in, 0x49, 0x3b, 0x66, 0x10), 4);
	assert_int_equal(DECODE(&in, 0x0f, 0x86, 0xf1, 0x02, 0, 0), 6);
	assert_int_equal(DECODE(&in, 0x76, 0x3c), 2);
	assert_int_equal(DECODE(&in, 0x4c, 0x8d, 0x64, 0x24, 0xc8), 5);
	assert_int_equal(DECODE(&in, 0x4c, 0x8d, 0xa4, 0x24, 0, 0xff, 0xff,
				0xff), 8);
	assert_int_equal(DECODE(&in, 0x55), 1);
	assert_int_equal(DECODE(&in, 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8), 10);
	assert_int_equal(DECODE(&in, 0xb8, 1, 2, 3, 4), 5);
	assert_int_equal(DECODE(&in, 0x66, 0x0f, 0x1f, 0x44, 0, 0), 6);
	assert_int_equal(DECODE(&in, 0xf6, 0xc1, 0x04), 3);	/* test $4,%cl */
	assert_int_equal(DECODE(&in, 0xf7, 0xc1, 4, 0, 0, 0), 6);
	assert_int_equal(DECODE(&in, 0xf7, 0xd8), 2);		/* neg %eax */
	assert_int_equal(DECODE(&in, 0x66, 0xc7, 0x00, 0x01, 0x00), 5);
	assert_int_equal(DECODE(&in, 0xe8, 0, 0, 0, 0), 5);
	assert_int_equal(DECODE(&in, 0x0f, 0x0b), 2);		/* ud2 */
	assert_int_equal(DECODE(&in, 0x48, 0x8b, 0x05, 1, 2, 3, 4), 7);
	assert_int_equal(in.base, X86_RIP);
	assert_int_equal(DECODE(&in, 0x48, 0x8b, 0x04, 0x25, 1, 2, 3, 4), 8);
	assert_int_equal(in.base, X86_NOREG);
	assert_int_equal(DECODE(&in, 0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x08), 6);
	assert_int_equal(DECODE(&in, 0x66, 0x0f, 0x38, 0x00, 0xc1), 5);
	/* VEX, EVEX */
	assert_int_equal(DECODE(&in, 0xc5, 0xf9, 0x6f, 0x04, 0x24), 5);
	assert_int_equal(DECODE(&in, 0xc4, 0xe3, 0x79, 0x0f, 0xc1, 0x08), 6);
	assert_int_equal(DECODE(&in, 0xc5, 0xf8, 0x77), 3);	/* vzeroupper */
	assert_int_equal(DECODE(&in, 0x62, 0xf1, 0x7c, 0x48, 0x28, 0xc1), 6);
	/* movabs moffs64 */
	assert_int_equal(DECODE(&in, 0x48, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8), 10);
}

static void test_rejects(void **state)
{
	struct x86_insn in;
	uint8_t prefixes[16];

	(void)state;
	assert_int_equal(DECODE(&in, 0x06), -1);	/* push %es: 32-bit */
	assert_int_equal(DECODE(&in, 0x0f, 0x86, 0xf1), -1);	/* cut short */
	assert_int_equal(DECODE(&in, 0x49, 0x3b), -1);
	assert_int_equal(x86_decode(BYTES(0x90), 0, &in), -1);
	memset(prefixes, 0x66, sizeof(prefixes));
	assert_int_equal(x86_decode(prefixes, sizeof(prefixes), &in), -1);
}

static void test_operands(void **state)
{
	struct x86_insn in;
	uint8_t reg, base;
	int64_t disp;
	uint64_t target;

	(void)state;
	DECODE(&in, 0x49, 0x3b, 0x66, 0x10);
	assert_true(x86_is_cmp_reg_mem64(&in, &reg, &base, &disp));
	assert_int_equal(reg, X86_RSP);
	assert_int_equal(base, X86_R14);
	assert_int_equal(disp, 0x10);

	DECODE(&in, 0x4d, 0x3b, 0x66, 0x10);
	assert_true(x86_is_cmp_reg_mem64(&in, &reg, &base, &disp));
	assert_int_equal(reg, X86_R12);

	DECODE(&in, 0x4c, 0x8d, 0x64, 0x24, 0xc8);
	assert_true(x86_is_lea64(&in, &reg, &base, &disp));
	assert_int_equal(reg, X86_R12);
	assert_int_equal(base, X86_RSP);
	assert_int_equal(disp, -0x38);

	DECODE(&in, 0x0f, 0x86, 0xf1, 0x02, 0x00, 0x00);
	assert_true(x86_is_jbe(&in, 0x40fbc4, &target));
	assert_int_equal(target, 0x40febb);
	DECODE(&in, 0x76, 0x3c);
	assert_true(x86_is_jbe(&in, 0x413544, &target));
	assert_int_equal(target, 0x413582);
	DECODE(&in, 0x72, 0x3c);			/* jb is not jbe */
	assert_false(x86_is_jbe(&in, 0, &target));
	assert_true(x86_is_jcc(&in));
	DECODE(&in, 0xe8, 0xc5, 0x85, 0x07, 0x00);
	assert_true(x86_is_call_rel(&in, 0x413596, &target));
	assert_int_equal(target, 0x48bb60);
}

/* Go 1.19 runtime.mapassign_fast64: the check is 4 bytes long. */
static const uint8_t go119[] = {
	0x49, 0x3b, 0x66, 0x10,			/* cmp 0x10(%r14),%rsp */
	0x0f, 0x86, 0xf1, 0x02, 0x00, 0x00,	/* jbe */
	0x48, 0x83, 0xec, 0x38,			/* sub $0x38,%rsp */
};

/* Go 1.26 runtime.mapassign_faststr: lea first, the jbe at +9. */
static const uint8_t go126[] = {
	0x4c, 0x8d, 0x64, 0x24, 0xc0,		/* lea -0x40(%rsp),%r12 */
	0x4d, 0x3b, 0x66, 0x10,			/* cmp 0x10(%r14),%r12 */
	0x0f, 0x86, 0x3f, 0x05, 0x00, 0x00,	/* jbe 0x4134ee */
	0x55,					/* push %rbp */
};

static void test_stack_check(void **state)
{
	struct x86_stack_check sc;

	(void)state;
	assert_true(x86_find_stack_check(go119, sizeof(go119), 0x40fbc0, &sc));
	assert_int_equal(sc.cmp, 0x40fbc0);
	assert_int_equal(sc.jbe, 0x40fbc4);
	assert_int_equal(sc.target, 0x40febb);

	assert_true(x86_find_stack_check(go126, sizeof(go126), 0x412fa0, &sc));
	assert_int_equal(sc.cmp, 0x412fa5);
	assert_int_equal(sc.jbe, 0x412fa9);
	assert_int_equal(sc.target, 0x4134ee);
}

static void test_stack_check_variants(void **state)
{
	static const uint8_t lea32[] = {
		0x4c, 0x8d, 0xa4, 0x24, 0x00, 0xff, 0xff, 0xff,
		0x4d, 0x3b, 0x66, 0x10, 0x76, 0x10,
	};
	static const uint8_t huge[] = {
		0x49, 0x89, 0xe4,			/* mov %rsp,%r12 */
		0x49, 0x81, 0xec, 0x00, 0x00, 0x01, 0x00, /* sub $0x10000 */
		0x72, 0x20,				/* jb */
		0x4d, 0x3b, 0x66, 0x10,			/* cmp */
		0x76, 0x1c,				/* jbe */
	};
	static const uint8_t nosplit[] = { 0x48, 0x83, 0xec, 0x38, 0x90 };
	static const uint8_t wrong_disp[] = { 0x49, 0x3b, 0x66, 0x18, 0x76, 0 };
	static const uint8_t not_jbe[] = { 0x49, 0x3b, 0x66, 0x10, 0x72, 0 };
	/* cmp against %r12 with nothing that set %r12 first */
	static const uint8_t stray_r12[] = { 0x4d, 0x3b, 0x66, 0x10, 0x76, 0 };
	struct x86_stack_check sc;

	(void)state;
	assert_true(x86_find_stack_check(lea32, sizeof(lea32), 0x1000, &sc));
	assert_int_equal(sc.jbe, 0x100c);
	assert_true(x86_find_stack_check(huge, sizeof(huge), 0x1000, &sc));
	assert_int_equal(sc.jbe, 0x1010);
	assert_int_equal(sc.target, 0x102e);
	assert_false(x86_find_stack_check(nosplit, sizeof(nosplit), 0, &sc));
	assert_false(x86_find_stack_check(wrong_disp, sizeof(wrong_disp), 0,
					  &sc));
	assert_false(x86_find_stack_check(not_jbe, sizeof(not_jbe), 0, &sc));
	assert_false(x86_find_stack_check(stray_r12, sizeof(stray_r12), 0,
					  &sc));
	assert_false(x86_find_stack_check(go119, 4, 0, &sc));	/* cut */
}

static void test_entry_emulated(void **state)
{
	(void)state;
	assert_true(x86_entry_is_emulated(BYTES(0x55, 0x48), 2));
	assert_true(x86_entry_is_emulated(BYTES(0x41, 0x57), 2));
	assert_false(x86_entry_is_emulated(BYTES(0x48, 0x83, 0xec), 3));
	assert_false(x86_entry_is_emulated(go119, sizeof(go119)));
	assert_false(x86_entry_is_emulated(BYTES(0x41), 1));
}

static void test_flag_toggle_buckets(void **state)
{
	/* Go 1.19 mapassign_fast64: hmap.flags ^= hashWriting */
	static const uint8_t code[] = {
		0x0f, 0xb6, 0x4b, 0x08,		/* movzbl 0x8(%rbx),%ecx */
		0xf6, 0xc1, 0x04,		/* test $0x4,%cl */
		0x74, 0x1b,			/* je */
		0x48, 0x8b, 0x5c, 0x24, 0x48,	/* mov 0x48(%rsp),%rbx */
		0x0f, 0xb6, 0x4b, 0x08,		/* movzbl 0x8(%rbx),%ecx */
		0x83, 0xf1, 0x04,		/* xor $0x4,%ecx */
		0x88, 0x4b, 0x08,		/* mov %cl,0x8(%rbx) */
	};
	struct x86_flag_toggle ft;

	(void)state;
	assert_true(x86_find_flag_toggle(code, sizeof(code), 0x40fc30, &ft));
	assert_int_equal(ft.disp, 8);
	assert_int_equal(ft.xor_mask, 4);
	assert_int_equal(ft.at, 0x40fc30 + 18);
	assert_false(ft.cmpb_zero);
}

static void test_flag_toggle_swiss(void **state)
{
	/* Go 1.26 mapassign_faststr: if m.writing != 0 ...; m.writing ^= 1 */
	static const uint8_t code[] = {
		0x80, 0x7b, 0x22, 0x00,		/* cmpb $0x0,0x22(%rbx) */
		0x75, 0x10,			/* jne */
		0x0f, 0xb6, 0x71, 0x22,		/* movzbl 0x22(%rcx),%esi */
		0x83, 0xf6, 0x01,		/* xor $0x1,%esi */
		0x40, 0x88, 0x71, 0x22,		/* mov %sil,0x22(%rcx) */
	};
	struct x86_flag_toggle ft;

	(void)state;
	assert_true(x86_find_flag_toggle(code, sizeof(code), 0, &ft));
	assert_int_equal(ft.disp, 0x22);
	assert_int_equal(ft.xor_mask, 1);
	assert_true(ft.cmpb_zero);
}

static void test_flag_toggle_negative(void **state)
{
	/* the store goes to another offset: not a toggle */
	static const uint8_t other[] = {
		0x0f, 0xb6, 0x4b, 0x08, 0x83, 0xf1, 0x04, 0x88, 0x4b, 0x09,
	};
	/* something between the xor and the store */
	static const uint8_t apart[] = {
		0x0f, 0xb6, 0x4b, 0x08, 0x83, 0xf1, 0x04, 0x90,
		0x88, 0x4b, 0x08,
	};
	struct x86_flag_toggle ft;

	(void)state;
	assert_false(x86_find_flag_toggle(other, sizeof(other), 0, &ft));
	assert_false(x86_find_flag_toggle(apart, sizeof(apart), 0, &ft));
	assert_false(x86_find_flag_toggle(other, 0, 0, &ft));
}

static void test_gstatus_load(void **state)
{
	/* Go 1.19 runtime.goroutineheader */
	static const uint8_t go119[] = {
		0x49, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0x0a, 0x02, 0x00, 0x00,
		0x48, 0x83, 0xec, 0x40,
		0x48, 0x89, 0x6c, 0x24, 0x38,
		0x48, 0x8d, 0x6c, 0x24, 0x38,
		0x8b, 0x88, 0x90, 0x00, 0x00, 0x00,	/* mov 0x90(%rax),%ecx */
		0x89, 0xca,				/* mov %ecx,%edx */
		0x0f, 0xba, 0xf1, 0x0c,			/* btr $0xc,%ecx */
	};
	/* Go 1.26 (esbuild): and $0xffffefff instead of btr */
	static const uint8_t go126[] = {
		0x8b, 0x88, 0x90, 0x00, 0x00, 0x00,
		0x89, 0xca,
		0x81, 0xe1, 0xff, 0xef, 0xff, 0xff,
	};
	/* the mask applied to another register: not the status load */
	static const uint8_t other[] = {
		0x8b, 0x88, 0x90, 0x00, 0x00, 0x00,
		0x81, 0xe2, 0xff, 0xef, 0xff, 0xff,
	};
	int64_t disp = 0;

	(void)state;
	assert_true(x86_find_gstatus_load(go119, sizeof(go119), &disp));
	assert_int_equal(disp, 0x90);
	disp = 0;
	assert_true(x86_find_gstatus_load(go126, sizeof(go126), &disp));
	assert_int_equal(disp, 0x90);
	assert_false(x86_find_gstatus_load(other, sizeof(other), &disp));
	assert_false(x86_find_gstatus_load(go126, 8, &disp));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_operands),
		cmocka_unit_test(test_stack_check),
		cmocka_unit_test(test_stack_check_variants),
		cmocka_unit_test(test_entry_emulated),
		cmocka_unit_test(test_flag_toggle_buckets),
		cmocka_unit_test(test_flag_toggle_swiss),
		cmocka_unit_test(test_flag_toggle_negative),
		cmocka_unit_test(test_gstatus_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
