/* SPDX-License-Identifier: MIT */
#ifndef GMT_PCLNTAB_H
#define GMT_PCLNTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"

/*
 * Go's own PC table (.gopclntab), the one source of names and lines that a
 * stripped Go binary still carries. Supported magics: 0xfffffffa (1.16,
 * 1.17), 0xfffffff0 (1.18, 1.19), 0xfffffff1 (1.20+).
 */
enum pclntab_version {
	PCLNTAB_UNKNOWN = 0,
	PCLNTAB_116 = 116,
	PCLNTAB_118 = 118,
	PCLNTAB_120 = 120,
};

struct pcln_func {
	uint64_t entry;		/* link-time address */
	uint64_t end;		/* one past the last byte */
	const char *name;	/* points into the table, NUL-terminated */
	uint32_t funcoff;	/* offset of the _func record (internal) */
};

struct pcln_frame {
	const char *function;
	const char *file;
	int line;
	bool inlined;		/* true for every frame but the outermost */
};

struct pclntab;

/*
 * data/size: the .gopclntab bytes (must outlive the table).
 * text_start: link-time address of runtime.text (moduledata.text), used
 * when the header's own textStart is 0 (Go 1.26 dropped the field). With
 * cgo and the external linker .text starts before runtime.text.
 */
int pclntab_parse(struct pclntab **out, const uint8_t *data, size_t size,
		  uint64_t text_start, struct errbuf *err);
void pclntab_free(struct pclntab *t);

enum pclntab_version pclntab_get_version(const struct pclntab *t);
/* The version the magic of a .gopclntab image names, before parsing. */
enum pclntab_version pclntab_magic_version(const uint8_t *data, size_t size);
size_t pclntab_nfuncs(const struct pclntab *t);
const struct pcln_func *pclntab_func(const struct pclntab *t, size_t i);
const struct pcln_func *pclntab_find_name(const struct pclntab *t,
					  const char *name);
const struct pcln_func *pclntab_find_pc(const struct pclntab *t, uint64_t pc);

/*
 * The inline tree is FUNCDATA, which lives outside .gopclntab: Go 1.18+
 * stores it as an offset from moduledata.gofunc (go:func.*), Go 1.16/1.17
 * as an absolute address. read(ctx, addr, len) returns len bytes at
 * link-time address addr, or NULL. gofunc is ignored before Go 1.18.
 * Without this (or with gofunc 0 on 1.18+) pclntab_frames() still gives the
 * outermost function with the innermost file:line, as addr2line does.
 * See moduledata.h for finding gofunc in an ELF image.
 */
typedef const uint8_t *(*pclntab_read_fn)(void *ctx, uint64_t addr,
					  size_t len);
void pclntab_set_funcdata(struct pclntab *t, pclntab_read_fn read, void *ctx,
			  uint64_t gofunc);

/*
 * Expand pc (link-time) into its frames, innermost first, as
 * runtime.CallersFrames does: each inlined call, then the real function.
 * Returns the number written (<= max), 0 when pc is in no function.
 * Pass the exact PC; callers symbolising return addresses pass ret - 1.
 */
int pclntab_frames(const struct pclntab *t, uint64_t pc,
		   struct pcln_frame *frames, int max);

/*
 * The SP delta at pc (link-time), from the function's pcsp table: how far
 * RSP is below its value at the function's entry, as the runtime's own
 * unwinder uses it (the caller's SP is SP + delta + 8, the return address
 * sits at SP + delta). Valid in the middle of a prologue and in frameless
 * assembly too. 0, or -1 when pc is in no function or the table is bad.
 */
int pclntab_spdelta(const struct pclntab *t, uint64_t pc, int32_t *delta);

#endif
