// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: arbitrary bytes as a Go executable. Parses the ELF
 * image, reads every section (inflating compressed ones), looks up symbols,
 * opens it as a Go binary and symbolises PCs across its function table.
 */
#include <stdlib.h>

#include "elf_file.h"
#include "gobin.h"
#include "pclntab.h"

#define MAX_SECTIONS 64
#define PCS_PER_RUN 48

static void poke_elf(const uint8_t *data, size_t size)
{
	struct errbuf err;
	struct elf_file ef;
	uint64_t addr, sz;

	if (elf_file_parse(&ef, data, size, &err))
		return;
	for (size_t i = 0; i < ef.nsections && i < MAX_SECTIONS; i++) {
		const struct elf_section *s = &ef.sections[i];
		const uint8_t *p;
		size_t len;
		bool owned;

		if (!elf_section_bytes(&ef, s, &p, &len, &owned, &err) && owned)
			free((void *)p);
		elf_vaddr_ptr(&ef, s->addr, s->size < 64 ? s->size : 64);
		elf_vaddr_to_offset(&ef, s->addr);
		elf_symbol_at(&ef, s->addr);
	}
	elf_symbol_addr(&ef, "runtime.text", &addr, &sz);
	elf_file_close(&ef);
}

static void symbolize(const struct gobin *gb)
{
	struct pcln_frame fr[16];
	size_t n = pclntab_nfuncs(gb->pcln);
	size_t step = n / (PCS_PER_RUN / 3) + 1;

	for (size_t i = 0; i < n; i += step) {
		const struct pcln_func *f = pclntab_func(gb->pcln, i);

		gobin_frames(gb, f->entry, fr, 16);
		gobin_frames(gb, f->entry + (f->end - f->entry) / 2, fr, 16);
		gobin_frames(gb, f->end - 1, fr, 16);
		pclntab_find_name(gb->pcln, f->name);
	}
	for (size_t i = 0; i < gb->nprobes; i++)
		gobin_frames(gb, gb->probes[i].probe, fr, 16);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct errbuf err;
	struct gobin gb;

	poke_elf(data, size);
	if (gobin_open_mem(&gb, data, size, &err))
		return 0;
	symbolize(&gb);
	gobin_close(&gb);
	return 0;
}
