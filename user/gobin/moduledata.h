/* SPDX-License-Identifier: MIT */
#ifndef GMT_MODULEDATA_H
#define GMT_MODULEDATA_H

#include <stdint.h>

#include "elf_file.h"
#include "errbuf.h"
#include "pclntab.h"

/*
 * runtime.firstmoduledata: the linker's table of where a Go binary keeps
 * its runtime data. Its first field points at .gopclntab, which is how it is
 * found in a binary with no .symtab. Addresses are link-time.
 */
struct moduledata {
	uint64_t addr;		/* of moduledata itself */
	uint64_t text, etext;
	uint64_t types, etypes;	/* runtime type descriptors (rtype) */
	uint64_t gofunc;	/* go:func.*, base of FUNCDATA; 0 before 1.18 */
	uint64_t typedesclen;	/* 1.27+: bytes of type descriptors from
				 * types (no .typelink); 0 before */
	int layout_minor;	/* first Go 1.N with the layout read */
};

/*
 * Find moduledata for the .gopclntab at link-time address pclntab_addr
 * (version from pclntab_get_version()).
 */
int moduledata_find(const struct elf_file *ef, uint64_t pclntab_addr,
		    enum pclntab_version v, struct moduledata *md,
		    struct errbuf *err);

/* A pclntab_read_fn over an elf_file (ctx is the const struct elf_file *). */
const uint8_t *elf_file_reader(void *ctx, uint64_t addr, size_t len);

/*
 * moduledata_find() + pclntab_set_funcdata(), so pclntab_frames() expands
 * inlined calls. md may be NULL. On failure t is unchanged (no inline
 * expansion) and err says why.
 */
int moduledata_attach(struct pclntab *t, const struct elf_file *ef,
		      uint64_t pclntab_addr, struct moduledata *md,
		      struct errbuf *err);

#endif
