/* SPDX-License-Identifier: MIT */
#ifndef GMT_LE_H
#define GMT_LE_H

#include <stdint.h>

/*
 * Little-endian fields of untrusted bytes (ELF, .gopclntab, Go runtime
 * data, trace files): byte by byte, so no unaligned access and no
 * dependence on the host's byte order. Callers check bounds first.
 */
static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

#endif
