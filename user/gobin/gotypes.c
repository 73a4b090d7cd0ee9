// SPDX-License-Identifier: MIT
/*
 * Runtime type descriptors (internal/abi.Type, runtime._type before 1.21):
 *     0  Size_      uintptr
 *     8  PtrBytes   uintptr
 *     16 Hash       uint32
 *     20 TFlag      uint8
 *     21 Align_     uint8
 *     22 FieldAlign uint8
 *     23 Kind_      uint8
 *     24 Equal      func
 *     32 GCData     *byte
 *     40 Str        NameOff (int32, from moduledata.types)
 *     44 PtrToThis  TypeOff
 * The layout has been the same on amd64 from Go 1.14 to 1.27. Go 1.27
 * drops .typelink: the descriptors sit back to back from types, each
 * taking abi.Type.DescriptorSize() bytes (8-aligned), which the walk below
 * mirrors (internal/abi/type.go, map.go of Go 1.27.3).
 */
#include <stdio.h>
#include <string.h>

#include "gotypes.h"
#include "le.h"
#include "leb128.h"

#define TYPE_SIZE 48
#define OFF_TFLAG 20
#define OFF_KIND 23
#define OFF_STR 40
#define TFLAG_EXTRA_STAR 0x2
#define MAX_NAME 4096
#define TFLAG_UNCOMMON 0x1
#define UNCOMMON_SIZE 16	/* PkgPath, Mcount, Xcount, Moff, pad */
#define METHOD_SIZE 16		/* Name, Mtyp, Ifn, Tfn */
#define MAX_TRAILING (1u << 20)	/* entries after a descriptor: sanity cap */

enum {
	K_ARRAY = 17, K_CHAN, K_FUNC, K_INTERFACE, K_MAP, K_POINTER, K_SLICE,
	K_STRING, K_STRUCT, K_UNSAFE_POINTER,
};


void gotypes_init(struct gotypes *t, const struct elf_file *ef,
		  uint64_t types, uint64_t etypes, int go_minor)
{
	memset(t, 0, sizeof(*t));
	t->ef = ef;
	if (types && etypes > types) {
		t->types = types;
		t->etypes = etypes;
	}
	t->go_minor = go_minor;
	t->has_symtab = elf_find_section(ef, ".symtab") != NULL;
}

static const uint8_t *type_at(const struct gotypes *t, uint64_t addr)
{
	if (!t->types || addr < t->types || addr >= t->etypes ||
	    t->etypes - addr < TYPE_SIZE)
		return NULL;
	return elf_vaddr_ptr(t->ef, addr, TYPE_SIZE);
}

/* Only a length whose bytes are all in the file: the walk is then bounded
 * by the file's size, whatever the header claims. */
void gotypes_set_typedesclen(struct gotypes *t, uint64_t typedesclen)
{
	t->typedesclen = 0;
	if (!t->types || typedesclen > t->etypes - t->types ||
	    typedesclen > SIZE_MAX ||
	    !elf_vaddr_ptr(t->ef, t->types, (size_t)typedesclen))
		return;
	t->typedesclen = typedesclen;
}

int gotypes_kind(const struct gotypes *t, uint64_t addr)
{
	const uint8_t *ty = type_at(t, addr);

	return ty ? ty[OFF_KIND] & GO_KIND_MASK : -1;
}

/* The name bytes at types+off: 1.17+ varint length, older 2-byte BE. */
static int read_name(const struct gotypes *t, uint64_t off,
		     const uint8_t **s, size_t *n)
{
	uint64_t addr = t->types + off, len = 0;
	size_t hdr = 0, avail;
	const uint8_t *p;

	if (off >= t->etypes - t->types)
		return -1;
	avail = t->etypes - addr;
	p = elf_vaddr_ptr(t->ef, addr, avail < 16 ? avail : 16);
	if (!p || avail < 2)
		return -1;
	if (t->go_minor >= 0 && t->go_minor < 17) {
		if (avail < 3)
			return -1;
		len = (uint64_t)p[1] << 8 | p[2];
		hdr = 3;
	} else {
		hdr = leb128_u(p + 1, (avail < 16 ? avail : 16) - 1,
			       LEB128_GO_MAX, &len);
		if (!hdr++)
			return -1;
	}
	if (len > MAX_NAME || len > avail - hdr)
		return -1;
	*s = elf_vaddr_ptr(t->ef, addr + hdr, len);
	*n = len;
	return *s || !len ? 0 : -1;
}

/* "type:map[string]int" (1.20+) or "type.map[string]int" exactly at addr. */
static int symtab_name(const struct gotypes *t, uint64_t addr, char *buf,
		       size_t len)
{
	const char *sym;
	uint64_t at;

	if (!t->has_symtab)
		return -1;
	sym = elf_symbol_at(t->ef, addr);
	if (!sym || strncmp(sym, "type", 4) || (sym[4] != ':' && sym[4] != '.'))
		return -1;
	if (sym[5] == '.' || sym[5] == '\0')	/* type:.eq.*, type..namedata */
		return -1;
	if (!elf_symbol_addr(t->ef, sym, &at, NULL) || at != addr)
		return -1;
	snprintf(buf, len, "%s", sym + 5);
	return 0;
}

int gotypes_name(const struct gotypes *t, uint64_t addr, char *buf,
		 size_t len)
{
	const uint8_t *ty, *s;
	size_t n;
	int32_t str;

	if (!len)
		return -1;
	if (!symtab_name(t, addr, buf, len))
		return 0;
	ty = type_at(t, addr);
	if (!ty)
		return -1;
	str = (int32_t)rd32(ty + OFF_STR);
	if (str < 0 || read_name(t, (uint64_t)str, &s, &n))
		return -1;
	if ((ty[OFF_TFLAG] & TFLAG_EXTRA_STAR) && n && s[0] == '*') {
		s++;
		n--;
	}
	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';	/* control bytes and all: printers escape them */
	return 0;
}

static int walk_descriptors(const struct gotypes *t,
			    void (*fn)(void *ctx, uint64_t addr), void *ctx,
			    size_t max);

int gotypes_typelinks(const struct gotypes *t,
		      void (*fn)(void *ctx, uint64_t addr), void *ctx,
		      size_t max)
{
	const struct elf_section *sec = elf_find_section(t->ef, ".typelink");
	const uint8_t *p;
	size_t i;

	if (!sec)	/* PIE */
		sec = elf_find_section(t->ef, ".data.rel.ro.typelink");
	if (!sec && t->types && t->typedesclen)
		return walk_descriptors(t, fn, ctx, max);
	if (!sec || !t->types || sec->size % 4)
		return -1;
	p = elf_vaddr_ptr(t->ef, sec->addr, sec->size);
	if (!p)
		return -1;
	for (i = 0; i < sec->size / 4 && i < max; i++)
		fn(ctx, t->types + rd32(p + 4 * i));
	return (int)i;
}

/*
 * The kind's own struct size and the bytes of its trailing array (Go
 * 1.27, amd64): Array {Elem, Slice, Len}, Chan {Elem, Dir}, Func {InCount,
 * OutCount} + in+out pointers, Interface {PkgPath, Methods} + 8 per Imethod,
 * Map {Key, Elem, Group, Hasher, GroupSize, KeysOff, KeyStride, ElemsOff,
 * ElemStride, ElemOff, Flags}, Pointer/Slice {Elem}, Struct {PkgPath,
 * Fields} + 24 per StructField. A slice's length is the word after its
 * pointer.
 */
static bool kind_sizes(const struct gotypes *t, uint64_t addr, int kind,
		       uint64_t *base, uint64_t *add)
{
	const uint8_t *p;
	uint64_t n;

	*add = 0;
	switch (kind) {
	case K_ARRAY: *base = TYPE_SIZE + 24; return true;
	case K_CHAN: *base = TYPE_SIZE + 16; return true;
	case K_MAP: *base = TYPE_SIZE + 88; return true;
	case K_POINTER: case K_SLICE: *base = TYPE_SIZE + 8; return true;
	case K_FUNC:
		*base = TYPE_SIZE + 8;
		p = elf_vaddr_ptr(t->ef, addr + TYPE_SIZE, 4);
		if (!p)
			return false;
		*add = 8ULL * (rd16(p) + (rd16(p + 2) & 0x7fff));
		return true;
	case K_INTERFACE: case K_STRUCT:
		*base = TYPE_SIZE + 32;
		p = elf_vaddr_ptr(t->ef, addr + TYPE_SIZE + 16, 8);
		if (!p || (n = rd64(p)) > MAX_TRAILING)
			return false;
		*add = n * (kind == K_STRUCT ? 24 : 8);
		return true;
	default:
		if (kind < 1 || kind > K_UNSAFE_POINTER)
			return false;
		*base = TYPE_SIZE;
		return true;
	}
}

uint64_t gotypes_descriptor_size(const struct gotypes *t, uint64_t addr)
{
	const uint8_t *ty = type_at(t, addr), *u;
	uint64_t base, add, size;

	if (!ty || !kind_sizes(t, addr, ty[OFF_KIND] & GO_KIND_MASK, &base,
			       &add))
		return 0;
	size = base + add;
	if (ty[OFF_TFLAG] & TFLAG_UNCOMMON) {
		u = elf_vaddr_ptr(t->ef, addr + base, UNCOMMON_SIZE);
		if (!u)
			return 0;
		size += UNCOMMON_SIZE + (uint64_t)rd16(u + 4) * METHOD_SIZE;
	}
	return size;
}

/* A descriptor the walk can trust: a known kind and a readable name. */
static bool plausible(const struct gotypes *t, uint64_t addr)
{
	char name[8];

	return gotypes_descriptor_size(t, addr) &&
	       !gotypes_name(t, addr, name, sizeof(name));
}

/*
 * As the runtime's typelinksinit does: from types + 8, each descriptor
 * 8-aligned after the last. A descriptor that does not parse (a layout this
 * walk does not know) is stepped over 8 bytes at a time until one does.
 */
static int walk_descriptors(const struct gotypes *t,
			    void (*fn)(void *ctx, uint64_t addr), void *ctx,
			    size_t max)
{
	uint64_t td = t->types + 8, end = t->types + t->typedesclen, size;
	size_t n = 0;

	while (td < end && n < max) {
		td = (td + 7) & ~7ULL;
		if (td >= end)
			break;
		size = plausible(t, td) ? gotypes_descriptor_size(t, td) : 0;
		if (!size || size > end - td) {
			td += 8;
			continue;
		}
		fn(ctx, td);
		n++;
		td += size;
	}
	return (int)n;
}
