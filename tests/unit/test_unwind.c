// SPDX-License-Identifier: MIT
/*
 * The crash guard's unwinder (user/unwind.c) and pclntab_spdelta(), on a
 * real Go 1.19 binary: the SP delta of a function at its entry and after
 * its `sub $N,%rsp` as decoded from its own bytes, and a stack laid out in
 * fake memory the way Go lays it out, unwound from the middle of a
 * prologue, by the SP-delta table, then by frame pointers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "gobin.h"
#include "unwind.h"

static const char GO119[] = "/usr/lib/go-1.19/pkg/tool/linux_amd64/addr2line";

#define MEM_BASE	0xc000100000ULL
#define MEM_WORDS	512
static uint64_t mem[MEM_WORDS];

static bool fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	(void)ctx;
	if (addr < MEM_BASE || addr - MEM_BASE > sizeof(mem) ||
	    len > sizeof(mem) - (addr - MEM_BASE))
		return false;
	memcpy(buf, (uint8_t *)mem + (addr - MEM_BASE), len);
	return true;
}

static void put(uint64_t addr, uint64_t v)
{
	mem[(addr - MEM_BASE) / 8] = v;
}

static void open_go119(struct gobin *gb)
{
	struct errbuf err = { { 0 } };

	if (gobin_open_path(gb, GO119, &err))
		fail_msg("%s: %s", GO119, err.msg);
}

static uint64_t entry_of(const struct gobin *gb, const char *name)
{
	const struct pcln_func *f = pclntab_find_name(gb->pcln, name);

	if (!f)
		fail_msg("%s not in %s", name, GO119);
	return f->entry;
}

/* Offset just past `sub $N,%rsp` in the first bytes of fn, and N. */
static uint32_t after_sub(const struct gobin *gb, uint64_t fn, uint32_t *n)
{
	const uint8_t *p = elf_vaddr_ptr(&gb->elf, fn, 32);

	assert_non_null(p);
	for (uint32_t i = 0; i + 7 <= 32; i++) {
		if (p[i] == 0x48 && p[i + 1] == 0x83 && p[i + 2] == 0xec) {
			*n = p[i + 3];
			return i + 4;
		}
		if (p[i] == 0x48 && p[i + 1] == 0x81 && p[i + 2] == 0xec) {
			*n = p[i + 3] | p[i + 4] << 8 | p[i + 5] << 16 |
			     (uint32_t)p[i + 6] << 24;
			return i + 7;
		}
	}
	fail_msg("no sub $N,%%rsp at the start of 0x%llx",
		 (unsigned long long)fn);
	return 0;
}

static void test_spdelta(void **state)
{
	struct gobin gb;
	uint64_t fn;
	uint32_t off, n = 0;
	int32_t d = -1;

	(void)state;
	open_go119(&gb);
	fn = entry_of(&gb, "runtime.mapassign_fast64");
	assert_int_equal(pclntab_spdelta(gb.pcln, fn, &d), 0);
	assert_int_equal(d, 0);
	off = after_sub(&gb, fn, &n);
	assert_int_equal(pclntab_spdelta(gb.pcln, fn + off, &d), 0);
	assert_int_equal(d, (int32_t)n);
	assert_int_equal(pclntab_spdelta(gb.pcln, 0x10, &d), -1);
	gobin_close(&gb);
}

/*
 * fatal (stopped mid-prologue: after its sub, before saving RBP) <-
 * mapassign_fast64 <- main.main, by the table; then a PC in no function,
 * unwound by its frame pointer, back into main.main.
 */
static void test_unwind(void **state)
{
	struct unwind_frame fr[8];
	uint64_t fatal, assign, mainf, sp, r1, r2, cfa1, cfa2, bp, ret3;
	uint32_t off, n = 0;
	int32_t d1, d2;
	struct gobin gb;
	bool fp;
	int k;

	(void)state;
	open_go119(&gb);
	memset(mem, 0, sizeof(mem));
	fatal = entry_of(&gb, "runtime.fatal");
	assign = entry_of(&gb, "runtime.mapassign_fast64");
	mainf = entry_of(&gb, "main.main");
	off = after_sub(&gb, fatal, &n);
	r1 = assign + 0x40;
	r2 = mainf + 0x40;
	assert_int_equal(pclntab_spdelta(gb.pcln, r1 - 1, &d1), 0);
	assert_int_equal(pclntab_spdelta(gb.pcln, r2 - 1, &d2), 0);
	assert_true(d1 > 0 && d2 > 0);
	sp = MEM_BASE + 64;
	cfa1 = sp + n + 8;
	put(cfa1 - 8, r1);
	cfa2 = cfa1 + d1 + 8;
	put(cfa2 - 8, r2);
	put(cfa2 + d2, 0);	/* main.main's caller: the end */
	/* RBP still the caller's (not cfa1 - 16): must be left alone. */
	k = unwind_stack(&gb, fake_read, NULL, fatal + off, sp, 0, fr, 8, &fp);
	assert_int_equal(k, 3);
	assert_false(fp);
	assert_int_equal(fr[0].pc, fatal + off);
	assert_string_equal(fr[0].function, "runtime.fatal");
	assert_int_equal(fr[0].cfa, cfa1);
	assert_int_equal(fr[1].pc, r1);
	assert_string_equal(fr[1].function, "runtime.mapassign_fast64");
	assert_int_equal(fr[1].cfa, cfa2);
	assert_int_equal(fr[2].pc, r2);
	assert_string_equal(fr[2].function, "main.main");

	/* No function at the PC: [bp] is the next bp, [bp+8] the return. */
	memset(mem, 0, sizeof(mem));
	bp = MEM_BASE + 256;
	ret3 = mainf + 0x40;
	put(bp, 0);
	put(bp + 8, ret3);
	put(bp + 16 + d2, 0);
	k = unwind_stack(&gb, fake_read, NULL, 0x1000, MEM_BASE + 128, bp,
			 fr, 8, &fp);
	assert_true(fp);
	assert_int_equal(k, 2);
	assert_null(fr[0].function);
	assert_int_equal(fr[1].pc, ret3);
	/* A chain that goes down the stack is refused, not followed. */
	k = unwind_stack(&gb, fake_read, NULL, 0x1000, bp + 8, bp, fr, 8, &fp);
	assert_int_equal(k, 1);
	gobin_close(&gb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spdelta),
		cmocka_unit_test(test_unwind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
