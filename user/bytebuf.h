/* SPDX-License-Identifier: MIT */
#ifndef GMT_BYTEBUF_H
#define GMT_BYTEBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * Room for more bytes after the len used in *p (cap bytes), growing by
 * doubling from first: the trace writer's and the protobuf writer's
 * buffers. A failed allocation or a size past SIZE_MAX sets *oom, which
 * sticks, so writers check once at the end.
 */
static inline bool bytebuf_reserve(uint8_t **p, size_t *cap, size_t len,
				   size_t more, size_t first, bool *oom)
{
	size_t c = *cap ? *cap : first;
	uint8_t *np;

	if (*oom)
		return false;
	if (more <= *cap - len)
		return true;
	while (c - len < more) {
		if (c > SIZE_MAX / 2) {
			*oom = true;
			return false;
		}
		c *= 2;
	}
	np = realloc(*p, c);
	if (!np) {
		*oom = true;
		return false;
	}
	*p = np;
	*cap = c;
	return true;
}

#endif
