/* SPDX-License-Identifier: MIT */
#ifndef GMT_GOTYPES_H
#define GMT_GOTYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elf_file.h"

/*
 * Go type names from a binary's runtime type data (abi.Type descriptors
 * in [moduledata.types, moduledata.etypes)), or from .symtab's type:*
 * symbols when it has them. This is how a map type pointer seen in RAX at
 * a probe becomes "map[string]*main.Session".
 */
#define GO_KIND_MASK 0x1f
#define GO_KIND_MAP 21

struct gotypes {
	const struct elf_file *ef;
	uint64_t types, etypes;	/* 0, 0 when moduledata was not found */
	uint64_t typedesclen;	/* 1.27+: descriptors from types; else 0 */
	int go_minor;		/* 1.N; -1 unknown (assume >= 1.17) */
	bool has_symtab;
};

void gotypes_init(struct gotypes *t, const struct elf_file *ef,
		  uint64_t types, uint64_t etypes, int go_minor);
/* Go 1.27+: the descriptors are laid out back to back from types. */
void gotypes_set_typedesclen(struct gotypes *t, uint64_t typedesclen);

/*
 * Name of the type descriptor at link-time addr into buf. Returns 0, or
 * -1 when addr is not a type descriptor of this binary.
 */
int gotypes_name(const struct gotypes *t, uint64_t addr, char *buf,
		 size_t len);

/* Kind (abi.Kind, masked) of the descriptor at addr, or -1. */
int gotypes_kind(const struct gotypes *t, uint64_t addr);

/*
 * Calls fn for each type listed in .typelink (offsets from types), or on
 * Go 1.27+ (no .typelink) for each descriptor in [types, types +
 * typedesclen), up to max of them; returns how many were visited, -1 when
 * the binary has neither.
 */
int gotypes_typelinks(const struct gotypes *t,
		      void (*fn)(void *ctx, uint64_t addr), void *ctx,
		      size_t max);

/*
 * Bytes the descriptor at addr takes (abi.Type.DescriptorSize, Go 1.27):
 * the kind's struct, the uncommon part, and trailing arrays. 0 when addr
 * holds no plausible descriptor.
 */
uint64_t gotypes_descriptor_size(const struct gotypes *t, uint64_t addr);

#endif
