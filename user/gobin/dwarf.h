/* SPDX-License-Identifier: MIT */
#ifndef GMT_DWARF_H
#define GMT_DWARF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"

/*
 * Just enough DWARF (versions 2 to 5) to read the layout of a few runtime
 * structs from .debug_info: walk the DIEs with .debug_abbrev, find a
 * DW_TAG_structure_type by name and the data_member_location of its
 * members. The bytes are untrusted: every read is bounded, and a form or
 * construct this reader does not know makes it give up with an error
 * rather than guess.
 */
struct dwarf_sections {
	const uint8_t *info;
	size_t info_len;
	const uint8_t *abbrev;
	size_t abbrev_len;
	const uint8_t *str;		/* .debug_str, may be NULL */
	size_t str_len;
	const uint8_t *line_str;	/* .debug_line_str (DWARF 5), may be NULL */
	size_t line_str_len;
	const uint8_t *str_offsets;	/* .debug_str_offsets, may be NULL */
	size_t str_offsets_len;
};

/*
 * A struct member's offset, or with member NULL the non-negative integer
 * value of the DW_TAG_constant named type (e.g. "runtime.hashWriting",
 * which Go emits for package-level constants).
 */
struct dwarf_member_query {
	const char *type;	/* e.g. "runtime.hmap" */
	const char *member;	/* e.g. "flags"; NULL: a constant */
	bool found;
	uint64_t offset;	/* data_member_location, or the value */
};

/*
 * Resolve every query in one pass over .debug_info. Returns the number of
 * queries answered (0..n), or -1 with err set when the data is malformed
 * or uses something this reader cannot skip.
 */
int dwarf_member_offsets(const struct dwarf_sections *d,
			 struct dwarf_member_query *q, size_t n,
			 struct errbuf *err);

#endif
