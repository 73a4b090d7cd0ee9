// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the .gopclntab reader on its own. Input: a 4-byte
 * little-endian length L, L bytes of .gopclntab, then the FUNCDATA region
 * (go:func.*) that inline-tree offsets point into. Seeds are cut from real
 * Go binaries by run.sh.
 */
#include <string.h>

#include "pclntab.h"

#define TEXT_START 0x401000ULL
#define GOFUNC 0x10000000ULL

struct region {
	const uint8_t *data;
	size_t size;
};

static const uint8_t *region_read(void *ctx, uint64_t addr, size_t len)
{
	const struct region *r = ctx;

	if (addr < GOFUNC || addr - GOFUNC > r->size ||
	    len > r->size - (addr - GOFUNC))
		return NULL;
	return r->data + (addr - GOFUNC);
}

static void expand(const struct pclntab *t)
{
	struct pcln_frame fr[16];
	size_t n = pclntab_nfuncs(t);
	size_t step = n / 32 + 1;

	for (size_t i = 0; i < n; i += step) {
		const struct pcln_func *f = pclntab_func(t, i);

		uint64_t size = f->end - f->entry;

		/* Eight PCs a function keeps runs fast on real tables. */
		for (uint64_t k = 0; k < 8; k++)
			pclntab_frames(t, f->entry + size * k / 8, fr, 16);
		pclntab_frames(t, f->end - 1, fr, 16);
		pclntab_frames(t, f->entry, fr, 1);
		pclntab_find_name(t, f->name);
		pclntab_find_pc(t, f->end);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct region funcdata = { NULL, 0 };
	struct errbuf err;
	struct pclntab *t;
	uint32_t len = 0;

	if (size >= 4) {
		len = (uint32_t)data[0] | (uint32_t)data[1] << 8 |
		      (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
		data += 4;
		size -= 4;
	}
	if (len > size)
		len = size;
	funcdata.data = data + len;
	funcdata.size = size - len;
	if (pclntab_parse(&t, data, len, TEXT_START, &err))
		return 0;
	pclntab_set_funcdata(t, region_read, &funcdata, GOFUNC);
	expand(t);
	pclntab_free(t);
	return 0;
}
