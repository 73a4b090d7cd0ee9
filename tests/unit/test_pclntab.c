// SPDX-License-Identifier: MIT
/*
 * pclntab on hand-built tables in each supported layout (1.16, 1.18, 1.20),
 * with an inline tree two deep, on corrupted copies, and on real Go
 * binaries (Debian's Go 1.19 toolchain, esbuild's Go 1.26 from npm; `make
 * deps` installs both, and a missing one fails the test).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf_file.h"
#include "moduledata.h"
#include "pclntab.h"
#include "testutil.h"

#define TEXT 0x401000ULL
#define GOFUNC 0x600000ULL
#define TREE_OFF 0x10
#define END 0x60

static uint8_t tab[4096];
static size_t tablen;
static uint8_t fake_mem[256];	/* link-time GOFUNC.. */
static enum pclntab_version cur;
static size_t ftab_off;		/* functab offset in tab */

static size_t append(const void *src, size_t len)
{
	size_t off = tablen;

	memcpy(tab + tablen, src, len);
	tablen += len;
	return off;
}

static void align(size_t a)
{
	while (tablen % a)
		tab[tablen++] = 0;
}

static void varint(uint32_t v)
{
	while (v >= 0x80) {
		tab[tablen++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	tab[tablen++] = (uint8_t)v;
}

/* A pc-value table of n (value, end pc offset) steps; offset from pctab. */
static uint32_t pcvalue_table(size_t pctab, const int32_t *vals,
			      const uint32_t *ends, int n)
{
	size_t off = tablen;
	int32_t prev = -1;
	uint32_t pc = 0;

	for (int i = 0; i < n; i++) {
		int32_t d = vals[i] - prev;

		varint(((uint32_t)d << 1) ^ (uint32_t)(d >> 31));
		varint(ends[i] - pc);
		prev = vals[i];
		pc = ends[i];
	}
	tab[tablen++] = 0;
	return (uint32_t)(off - pctab);
}

struct fspec {
	uint32_t entry, nameoff, pcfile, pcln, inl, cu;
};

/* Appends one _func record (+ pcdata, funcdata); returns its offset. */
static size_t put_func(const struct fspec *f, size_t ftab, bool inline_tree)
{
	uint8_t rec[64] = { 0 };
	size_t base = cur == PCLNTAB_116 ? 8 : 4;
	size_t sz = cur == PCLNTAB_118 ? 40 : 44;
	uint32_t npcdata = inline_tree ? 3 : 0;
	size_t off;

	align(cur == PCLNTAB_116 ? 8 : 4);
	off = tablen - ftab;
	if (cur == PCLNTAB_116)
		put64(rec, TEXT + f->entry);
	else
		put32(rec, f->entry);
	put32(rec + base, f->nameoff);
	put32(rec + base + 16, f->pcfile);
	put32(rec + base + 20, f->pcln);
	put32(rec + base + 24, npcdata);
	put32(rec + base + 28, f->cu);
	rec[sz - 1] = inline_tree ? 4 : 0;
	append(rec, sz);
	if (!inline_tree)
		return off;
	for (int i = 0; i < 3; i++) {
		uint8_t v[4];

		put32(v, i == 2 ? f->inl : 0);
		append(v, 4);
	}
	if (cur == PCLNTAB_116) {
		align(8);
		for (int i = 0; i < 4; i++) {
			uint8_t v[8];

			put64(v, i == 3 ? GOFUNC + TREE_OFF : 0);
			append(v, 8);
		}
		return off;
	}
	for (int i = 0; i < 4; i++) {
		uint8_t v[4];

		put32(v, i == 3 ? TREE_OFF : UINT32_MAX);
		append(v, 4);
	}
	return off;
}

static void put_inline_tree(uint32_t inner_name, uint32_t deep_name)
{
	uint8_t *p = fake_mem + TREE_OFF;

	memset(fake_mem, 0xee, sizeof(fake_mem));
	if (cur == PCLNTAB_120) {
		memset(p, 0, 32);
		put32(p + 4, inner_name);
		put32(p + 8, 0x30);
		put32(p + 16 + 4, deep_name);
		put32(p + 16 + 8, 0x10);
		return;
	}
	memset(p, 0, 40);
	put16(p, 0xffff);
	put32(p + 12, inner_name);
	put32(p + 16, 0x30);
	put16(p + 20, 0);
	put32(p + 20 + 12, deep_name);
	put32(p + 20 + 16, 0x10);
}

/*
 * main.outer [0,0x40): a.go lines 10,20 then b.go 30,40; main.inner is
 * inlined at [0x10,0x30) from the call at 0x30, main.deep inside it at
 * [0x20,0x30) from the call at 0x10. main.other [0x40,0x60): its CU's
 * file 0 is b.go, lines 50, 51.
 */
static void build(enum pclntab_version v, uint64_t hdr_text)
{
	static const char names[] =
		"main.outer\0main.other\0main.inner\0main.deep";
	size_t hdr = v == PCLNTAB_116 ? 64 : 72, pos = 24;
	size_t nametab, cutab, filetab, pctab, ftab, slot;
	struct fspec f0, f1;
	uint32_t funcoff[2];
	uint8_t cu[12];

	cur = v;
	memset(tab, 0, sizeof(tab));
	tablen = hdr;
	put32(tab, v == PCLNTAB_116 ? 0xfffffffa :
		   v == PCLNTAB_118 ? 0xfffffff0 : 0xfffffff1);
	tab[6] = 1;
	tab[7] = 8;
	put64(tab + 8, 2);
	put64(tab + 16, 2);
	nametab = append(names, sizeof(names));
	align(4);
	put32(cu, 0);
	put32(cu + 4, 5);
	put32(cu + 8, 5);
	cutab = append(cu, sizeof(cu));
	filetab = append("a.go\0b.go", 10);
	pctab = tablen;
	tab[tablen++] = 0;
	f0 = (struct fspec){ .entry = 0, .nameoff = 0, .cu = 0 };
	f0.pcfile = pcvalue_table(pctab, (int32_t[]){ 0, 1 },
				  (uint32_t[]){ 0x20, 0x40 }, 2);
	f0.pcln = pcvalue_table(pctab, (int32_t[]){ 10, 20, 30, 40 },
				(uint32_t[]){ 0x10, 0x20, 0x30, 0x40 }, 4);
	f0.inl = pcvalue_table(pctab, (int32_t[]){ -1, 0, 1, -1 },
			       (uint32_t[]){ 0x10, 0x20, 0x30, 0x40 }, 4);
	f1 = (struct fspec){ .entry = 0x40, .nameoff = 11, .cu = 1 };
	f1.pcfile = pcvalue_table(pctab, (int32_t[]){ 0 },
				  (uint32_t[]){ 0x20 }, 1);
	f1.pcln = pcvalue_table(pctab, (int32_t[]){ 50, 51 },
				(uint32_t[]){ 0x10, 0x20 }, 2);
	align(8);
	ftab = tablen;
	ftab_off = ftab;
	slot = v == PCLNTAB_116 ? 16 : 8;
	tablen += 3 * slot;
	funcoff[0] = (uint32_t)put_func(&f0, ftab, true);
	funcoff[1] = (uint32_t)put_func(&f1, ftab, false);
	for (int i = 0; i < 3; i++) {
		uint32_t entry = i == 0 ? 0 : i == 1 ? 0x40 : END;
		uint32_t fo = i < 2 ? funcoff[i] : 0;

		if (v == PCLNTAB_116) {
			put64(tab + ftab + i * 16, TEXT + entry);
			put64(tab + ftab + i * 16 + 8, fo);
		} else {
			put32(tab + ftab + i * 8, entry);
			put32(tab + ftab + i * 8 + 4, fo);
		}
	}
	if (v != PCLNTAB_116) {
		put64(tab + 24, hdr_text);
		pos = 32;
	}
	put64(tab + pos, nametab);
	put64(tab + pos + 8, cutab);
	put64(tab + pos + 16, filetab);
	put64(tab + pos + 24, pctab);
	put64(tab + pos + 32, ftab);
	put_inline_tree(22, 33);
}

static const uint8_t *fake_read(void *ctx, uint64_t addr, size_t len)
{
	(void)ctx;
	if (addr < GOFUNC || addr - GOFUNC > sizeof(fake_mem) ||
	    len > sizeof(fake_mem) - (addr - GOFUNC))
		return NULL;
	return fake_mem + (addr - GOFUNC);
}

static const uint8_t *null_read(void *ctx, uint64_t addr, size_t len)
{
	(void)ctx;
	(void)addr;
	(void)len;
	return NULL;
}

static struct pclntab *parse_ok(uint64_t text_arg)
{
	struct errbuf err = { { 0 } };
	struct pclntab *t = NULL;

	if (pclntab_parse(&t, tab, tablen, text_arg, &err))
		fail_msg("parse failed: %s", err.msg);
	return t;
}

static void expect_frame(const struct pcln_frame *f, const char *fn,
			 const char *file, int line, bool inlined)
{
	assert_string_equal(f->function, fn);
	assert_string_equal(f->file, file);
	assert_int_equal(f->line, line);
	assert_int_equal(f->inlined, inlined);
}

static void check_table(struct pclntab *t, enum pclntab_version v)
{
	struct pcln_frame fr[8];
	const struct pcln_func *f;

	assert_int_equal(pclntab_get_version(t), v);
	assert_int_equal(pclntab_nfuncs(t), 2);
	f = pclntab_func(t, 0);
	assert_string_equal(f->name, "main.outer");
	assert_int_equal(f->entry, TEXT);
	assert_int_equal(f->end, TEXT + 0x40);
	assert_null(pclntab_func(t, 2));
	assert_ptr_equal(pclntab_find_name(t, "main.other"),
			 pclntab_func(t, 1));
	assert_null(pclntab_find_name(t, "main.inner"));
	assert_null(pclntab_find_name(t, "main"));
	assert_ptr_equal(pclntab_find_pc(t, TEXT + 0x3f), f);
	assert_ptr_equal(pclntab_find_pc(t, TEXT + 0x40), pclntab_func(t, 1));
	assert_ptr_equal(pclntab_find_pc(t, TEXT + END - 1),
			 pclntab_func(t, 1));
	assert_null(pclntab_find_pc(t, TEXT - 1));
	assert_null(pclntab_find_pc(t, TEXT + END));
	assert_int_equal(pclntab_frames(t, TEXT + END, fr, 8), 0);
	assert_int_equal(pclntab_frames(t, TEXT, fr, 0), 0);

	/* No funcdata reader yet: outer function, innermost position. */
	assert_int_equal(pclntab_frames(t, TEXT + 0x25, fr, 8), 1);
	expect_frame(&fr[0], "main.outer", "b.go", 30, false);

	pclntab_set_funcdata(t, fake_read, NULL, GOFUNC);
	assert_int_equal(pclntab_frames(t, TEXT + 0x25, fr, 8), 3);
	expect_frame(&fr[0], "main.deep", "b.go", 30, true);
	expect_frame(&fr[1], "main.inner", "a.go", 20, true);
	expect_frame(&fr[2], "main.outer", "b.go", 40, false);
	assert_int_equal(pclntab_frames(t, TEXT + 0x1f, fr, 8), 2);
	expect_frame(&fr[0], "main.inner", "a.go", 20, true);
	expect_frame(&fr[1], "main.outer", "b.go", 40, false);
	assert_int_equal(pclntab_frames(t, TEXT + 0x0f, fr, 8), 1);
	expect_frame(&fr[0], "main.outer", "a.go", 10, false);
	assert_int_equal(pclntab_frames(t, TEXT + 0x30, fr, 8), 1);
	expect_frame(&fr[0], "main.outer", "b.go", 40, false);
	/* Room for fewer frames: the outermost one is always last. */
	assert_int_equal(pclntab_frames(t, TEXT + 0x25, fr, 2), 2);
	expect_frame(&fr[0], "main.deep", "b.go", 30, true);
	expect_frame(&fr[1], "main.outer", "a.go", 20, false);
	assert_int_equal(pclntab_frames(t, TEXT + 0x25, fr, 1), 1);
	expect_frame(&fr[0], "main.outer", "b.go", 30, false);

	assert_int_equal(pclntab_frames(t, TEXT + 0x4f, fr, 8), 1);
	expect_frame(&fr[0], "main.other", "b.go", 50, false);
	assert_int_equal(pclntab_frames(t, TEXT + END - 1, fr, 8), 1);
	expect_frame(&fr[0], "main.other", "b.go", 51, false);

	/* Funcdata the reader cannot supply: no inline frames, no crash. */
	pclntab_set_funcdata(t, null_read, NULL, GOFUNC);
	assert_int_equal(pclntab_frames(t, TEXT + 0x25, fr, 8), 1);
	expect_frame(&fr[0], "main.outer", "b.go", 30, false);
}

static void test_go116(void **state)
{
	struct pclntab *t;

	(void)state;
	build(PCLNTAB_116, 0);
	t = parse_ok(0x1234);	/* ignored: 1.16 entries are absolute */
	check_table(t, PCLNTAB_116);
	pclntab_free(t);
}

static void test_go118(void **state)
{
	struct pclntab *t;

	(void)state;
	build(PCLNTAB_118, TEXT);
	t = parse_ok(0x1234);	/* the header's textStart wins */
	check_table(t, PCLNTAB_118);
	pclntab_free(t);
}

/* Go 1.26 writes textStart 0: entries are relative to .text. */
static void test_go120_text_zero(void **state)
{
	struct pclntab *t;

	(void)state;
	build(PCLNTAB_120, 0);
	t = parse_ok(TEXT);
	check_table(t, PCLNTAB_120);
	pclntab_free(t);
}

/* 1.18+ with no gofunc known: still the addr2line answer. */
static void test_gofunc_zero(void **state)
{
	struct pcln_frame fr[8];
	struct pclntab *t;

	(void)state;
	build(PCLNTAB_120, TEXT);
	t = parse_ok(0);
	pclntab_set_funcdata(t, fake_read, NULL, 0);
	assert_int_equal(pclntab_frames(t, TEXT + 0x25, fr, 8), 1);
	expect_frame(&fr[0], "main.outer", "b.go", 30, false);
	pclntab_free(t);
}

static void expect_error(const char *what)
{
	struct errbuf err = { { 0 } };
	struct pclntab *t = (struct pclntab *)1;

	assert_int_equal(pclntab_parse(&t, tab, tablen, TEXT, &err), -1);
	assert_null(t);
	if (!strstr(err.msg, what))
		fail_msg("error '%s' does not say '%s'", err.msg, what);
	assert_null(strchr(err.msg, '\n'));
}

static void test_bad_tables(void **state)
{
	size_t len;

	(void)state;
	build(PCLNTAB_120, TEXT);
	len = tablen;
	tablen = 7;
	expect_error("truncated .gopclntab");
	tablen = 40;
	expect_error("truncated .gopclntab header");
	tablen = len;
	put32(tab, 0xfffffffb);
	expect_error("Go 1.16 or later is needed");
	put32(tab, 0x12345678);
	expect_error("unknown magic 0x12345678");
	build(PCLNTAB_120, TEXT);
	tab[7] = 4;
	expect_error("4-byte pointers");
	build(PCLNTAB_120, TEXT);
	put64(tab + 8, 0);
	expect_error("0 functions");
	put64(tab + 8, 1ULL << 40);
	expect_error("functions");
	put64(tab + 8, tablen);
	expect_error("function table");
	build(PCLNTAB_120, TEXT);
	put64(tab + 64, tablen + 1);	/* pclnOffset */
	expect_error("beyond its end");
	build(PCLNTAB_120, TEXT);
	/* Second function's entry before the first's. */
	put32(tab + ftab_off + 8, 0);
	put32(tab + ftab_off, 8);
	expect_error("not sorted");
	build(PCLNTAB_120, TEXT);
	put32(tab + ftab_off + 4, 0x7ffffff0);
	expect_error("outside the table");
	build(PCLNTAB_120, TEXT);
	put32(tab + ftab_off + 4, UINT32_MAX);
	expect_error("outside the table");
}

static uint32_t funcoff_of(int i)
{
	return (uint32_t)(tab[ftab_off + i * 8 + 4] |
			  tab[ftab_off + i * 8 + 5] << 8);
}

static void test_bad_names(void **state)
{
	(void)state;
	build(PCLNTAB_120, TEXT);
	put32(tab + ftab_off + funcoff_of(1) + 4, 0x7fffffff);
	expect_error("function 1 has no name");
	build(PCLNTAB_120, TEXT);
	put32(tab + ftab_off + funcoff_of(0) + 4, UINT32_MAX);
	expect_error("function 0 has no name");
}

/* Whatever parses must answer every query without reading out of bounds. */
static void poke(const uint8_t *data, size_t len)
{
	struct errbuf err;
	struct pcln_frame fr[8];
	struct pclntab *t;

	if (pclntab_parse(&t, data, len, TEXT, &err))
		return;
	pclntab_set_funcdata(t, fake_read, NULL, GOFUNC);
	for (uint64_t pc = TEXT - 2; pc < TEXT + END + 2; pc++) {
		int n = pclntab_frames(t, pc, fr, 8);

		assert_true(n >= 0 && n <= 8);
		for (int i = 0; i < n; i++) {
			assert_non_null(fr[i].function);
			assert_non_null(fr[i].file);
		}
	}
	for (size_t i = 0; i < pclntab_nfuncs(t); i++)
		pclntab_find_name(t, pclntab_func(t, i)->name);
	pclntab_free(t);
}

static void test_mutations(void **state)
{
	static const enum pclntab_version vs[] = { PCLNTAB_116, PCLNTAB_118,
						   PCLNTAB_120 };
	uint8_t *copy = malloc(sizeof(tab));

	(void)state;
	assert_non_null(copy);
	for (size_t k = 0; k < 3; k++) {
		build(vs[k], TEXT);
		for (size_t n = 0; n <= tablen; n++) {
			memcpy(copy, tab, n);
			poke(copy, n);
		}
		for (size_t i = 0; i < tablen; i++) {
			static const uint8_t vals[] = { 0x00, 0x80, 0xff };

			for (size_t j = 0; j < sizeof(vals); j++) {
				memcpy(copy, tab, tablen);
				copy[i] = vals[j];
				poke(copy, tablen);
			}
		}
		/* A corrupt inline tree, too. */
		for (size_t i = 0; i < sizeof(fake_mem); i++) {
			uint8_t saved = fake_mem[i];

			fake_mem[i] ^= 0x80;
			poke(tab, tablen);
			fake_mem[i] = saved;
		}
	}
	free(copy);
}

struct real {
	struct elf_file ef;
	struct pclntab *t;
	struct moduledata md;
	const struct elf_section *text;
};

static bool open_real(struct real *r, const char *path)
{
	struct errbuf err = { { 0 } };
	const struct elf_section *pcln;
	const uint8_t *data;
	size_t len;
	bool owned;

	if (access(path, R_OK))
		return false;
	if (elf_file_open(&r->ef, path, &err))
		fail_msg("%s", err.msg);
	pcln = elf_find_section(&r->ef, ".gopclntab");
	r->text = elf_find_section(&r->ef, ".text");
	assert_non_null(pcln);
	assert_non_null(r->text);
	assert_int_equal(elf_section_bytes(&r->ef, pcln, &data, &len, &owned,
					   &err), 0);
	assert_false(owned);
	if (pclntab_parse(&r->t, data, len, r->text->addr, &err))
		fail_msg("%s: %s", path, err.msg);
	if (moduledata_attach(r->t, &r->ef, pcln->addr, &r->md, &err))
		fail_msg("%s: %s", path, err.msg);
	return true;
}

static void close_real(struct real *r)
{
	pclntab_free(r->t);
	elf_file_close(&r->ef);
}

/*
 * Facts any real table must show: functions sorted inside .text, each
 * found by its entry and its name, every entry symbolising to the function
 * itself with a known file and line, and some PCs inside inlined code.
 */
static void check_real(struct real *r)
{
	const struct elf_section *text = r->text;
	struct pcln_frame fr[16];
	uint64_t prev_end = 0;
	size_t inlined = 0;

	assert_int_equal(r->md.text, text->addr);
	assert_true(r->md.etext <= text->addr + text->size);
	assert_true(r->md.types < r->md.etypes);
	assert_true(pclntab_nfuncs(r->t) > 1000);
	for (size_t i = 0; i < pclntab_nfuncs(r->t); i++) {
		const struct pcln_func *f = pclntab_func(r->t, i);
		int n;

		assert_true(f->entry >= prev_end);
		assert_true(f->entry >= text->addr && f->end <= r->md.etext);
		prev_end = f->end;
		if (f->end == f->entry)
			continue;
		assert_ptr_equal(pclntab_find_pc(r->t, f->entry), f);
		assert_ptr_equal(pclntab_find_pc(r->t, f->end - 1), f);
		assert_string_equal(pclntab_find_name(r->t, f->name)->name,
				    f->name);
		n = pclntab_frames(r->t, f->entry, fr, 16);
		assert_true(n >= 1);
		assert_string_equal(fr[n - 1].function, f->name);
		assert_false(fr[n - 1].inlined);
		/* Linker markers (go:textfipsstart, ...) have no lines. */
		if (strncmp(f->name, "go:", 3)) {
			assert_true(fr[n - 1].line > 0);
			assert_string_not_equal(fr[n - 1].file, "?");
		}
		for (uint64_t pc = f->entry; pc < f->end; pc += 16) {
			n = pclntab_frames(r->t, pc, fr, 16);
			assert_true(n >= 1 && n <= 16);
			for (int k = 0; k < n - 1; k++) {
				assert_true(fr[k].inlined);
				assert_string_not_equal(fr[k].function, "?");
				assert_true(fr[k].line > 0);
			}
			inlined += n > 1;
		}
	}
	assert_true(inlined > 100);
}

static void test_real_go119(void **state)
{
	static const char path[] = "/usr/lib/go-1.19/pkg/tool/linux_amd64/"
				   "addr2line";
	struct real r;

	(void)state;
	if (!open_real(&r, path))
		fail_msg("%s is missing or unreadable: run `make deps` "
			 "(Debian's golang-1.19-go)", path);
	assert_int_equal(pclntab_get_version(r.t), PCLNTAB_118);
	assert_non_null(pclntab_find_name(r.t, "runtime.mapassign_faststr"));
	assert_non_null(pclntab_find_name(r.t, "main.main"));
	check_real(&r);
	close_real(&r);
}

/* Go 1.26, no .symtab: textStart 0, moduledata in .go.module. */
static void test_real_esbuild(void **state)
{
	static const char path[] = "build/npm/node_modules/@esbuild/"
				   "linux-x64/bin/esbuild";
	static const char *const want[] = {
		"runtime.mapassign_faststr", "runtime.mapassign_fast64",
		"runtime.mapdelete_faststr", "runtime.mapIterStart",
		"runtime.mapIterNext", "runtime.fatal", "main.main",
	};
	struct real r;

	(void)state;
	if (!open_real(&r, path))
		fail_msg("%s is missing or unreadable: run `make deps` "
			 "(npm @esbuild/linux-x64)", path);
	assert_int_equal(pclntab_get_version(r.t), PCLNTAB_120);
	assert_int_equal(r.md.addr,
			 elf_find_section(&r.ef, ".go.module")->addr);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!pclntab_find_name(r.t, want[i]))
			fail_msg("%s not found", want[i]);
	check_real(&r);
	close_real(&r);
}

/* The version from the magic alone, before a parse (moduledata needs it). */
static void test_magic_version(void **state)
{
	static const uint8_t m116[8] = { 0xfa, 0xff, 0xff, 0xff, 0, 0, 1, 8 };
	static const uint8_t m118[8] = { 0xf0, 0xff, 0xff, 0xff, 0, 0, 1, 8 };
	static const uint8_t m120[8] = { 0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8 };
	static const uint8_t m12[8] = { 0xfb, 0xff, 0xff, 0xff, 0, 0, 1, 8 };

	(void)state;
	assert_int_equal(pclntab_magic_version(m116, 8), PCLNTAB_116);
	assert_int_equal(pclntab_magic_version(m118, 8), PCLNTAB_118);
	assert_int_equal(pclntab_magic_version(m120, 8), PCLNTAB_120);
	assert_int_equal(pclntab_magic_version(m12, 8), PCLNTAB_UNKNOWN);
	assert_int_equal(pclntab_magic_version(m120, 7), PCLNTAB_UNKNOWN);
	assert_int_equal(pclntab_magic_version(NULL, 0), PCLNTAB_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_magic_version),
		cmocka_unit_test(test_go116),
		cmocka_unit_test(test_go118),
		cmocka_unit_test(test_go120_text_zero),
		cmocka_unit_test(test_gofunc_zero),
		cmocka_unit_test(test_bad_tables),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_real_go119),
		cmocka_unit_test(test_real_esbuild),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
