// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the parsers behind `info`'s facts: the DWARF
 * member reader, the buildinfo block, and the x86 decoder with its
 * stack-check and flag-toggle matchers. The first byte picks the parser.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buildinfo.h"
#include "dwarf.h"
#include "x86_decode.h"

__attribute__((weak)) int fail(const char *fmt, ...);
__attribute__((weak)) int fail(const char *fmt, ...)
{
	(void)fmt;
	return 1;
}

static const uint8_t *reader(void *ctx, uint64_t addr, size_t len)
{
	const uint8_t *const *img = ctx;	/* {data, data + size} */
	size_t size = img[1] - img[0];

	if (addr > size || len > size - addr)
		return NULL;
	return img[0] + addr;
}

static void fuzz_dwarf(const uint8_t *p, size_t n)
{
	struct dwarf_member_query q[] = {
		{ "runtime.hmap", "flags", false, 0 },
		{ "runtime.g", "goid", false, 0 },
	};
	struct dwarf_sections d = { 0 };
	struct errbuf err;
	size_t split;

	if (n < 2)
		return;
	/* info | abbrev | str, at offsets taken from the first two bytes */
	split = p[0] % n;
	d.info = p;
	d.info_len = split;
	d.abbrev = p + split;
	d.abbrev_len = n - split;
	d.str = p;
	d.str_len = n;
	d.str_offsets = p + split / 2;
	d.str_offsets_len = n - split / 2;
	dwarf_member_offsets(&d, q, 2, &err);
}

static void fuzz_x86(const uint8_t *p, size_t n)
{
	struct x86_stack_check sc;
	struct x86_flag_toggle ft;
	struct x86_insn in;
	int64_t disp;

	for (size_t off = 0; off < n;) {
		int len = x86_decode(p + off, n - off, &in);

		off += len > 0 ? (size_t)len : 1;
	}
	x86_find_stack_check(p, n, 0x401000, &sc);
	x86_find_flag_toggle(p, n, 0x401000, &ft);
	x86_entry_is_emulated(p, n);
	x86_find_gstatus_load(p, n, &disp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *img[2];
	struct buildinfo bi;
	size_t off = 0;

	if (!size)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_dwarf(data + 1, size - 1);
		break;
	case 1:
		fuzz_x86(data + 1, size - 1);
		break;
	default:
		img[0] = data + 1;
		img[1] = data + size;
		buildinfo_parse(data + 1, size - 1, reader, img, &bi, NULL);
		buildinfo_search(data + 1, size - 1, &off, reader, img, &bi);
		break;
	}
	return 0;
}
