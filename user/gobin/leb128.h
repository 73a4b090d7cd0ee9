/* SPDX-License-Identifier: MIT */
#ifndef GMT_LEB128_H
#define GMT_LEB128_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The one LEB128 (varint) reader for untrusted bytes: Go's uvarint
 * (buildinfo, type names, trace files), the .gopclntab's pc-value tables
 * and DWARF. The readers differ only in how long an encoding they accept,
 * so that is the caller's max: 10 bytes for a Go uvarint (any uint64),
 * 5 for the pclntab's uint32, 11 for a DWARF ULEB128 (which may be padded
 * with 0x80 bytes) and 10 for a DWARF SLEB128.
 *
 * Reads from p[0..n): returns the bytes used, or 0 when the input ends
 * inside the number, the encoding runs past max bytes, or a set bit would
 * fall past bit 63 (a value that does not fit is refused, never silently
 * truncated). sign: an SLEB128, *out its two's complement.
 */
static inline size_t leb128_read(const uint8_t *p, size_t n, size_t max,
				 bool sign, uint64_t *out)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n && i < max; i++) {
		uint64_t bits = p[i] & 0x7f;
		unsigned shift = 7 * i;

		/* Past bit 63 only copies of it may follow: 0s, or a sign's 1s. */
		if (shift >= 63 && bits &&
		    (sign ? bits != 0x7f : shift > 63 || bits > 1))
			return 0;
		if (shift < 64)
			v |= bits << shift;
		if (!(p[i] & 0x80)) {
			/* Signed: the last byte's bit 6 is the sign. */
			if (sign && shift + 7 < 64 && (bits & 0x40))
				v |= ~0ULL << (shift + 7);
			*out = v;
			return i + 1;
		}
	}
	return 0;
}

static inline size_t leb128_u(const uint8_t *p, size_t n, size_t max,
			      uint64_t *out)
{
	return leb128_read(p, n, max, false, out);
}

static inline size_t leb128_s(const uint8_t *p, size_t n, size_t max,
			      int64_t *out)
{
	uint64_t v;
	size_t k = leb128_read(p, n, max, true, &v);

	if (k)
		*out = (int64_t)v;
	return k;
}

/* The writer's side: v as a Go uvarint in out[0..10); returns its length. */
static inline size_t leb128_put(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)v | 0x80;
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

/* Bounds of the Go and DWARF encodings above. */
enum {
	LEB128_GO_MAX = 10,		/* binary.Uvarint: any uint64 */
	LEB128_U32_MAX = 5,		/* the runtime's readvarint */
	LEB128_DWARF_U_MAX = 11,	/* ULEB128, one byte of padding */
	LEB128_DWARF_S_MAX = 10,	/* SLEB128 */
};

#endif
