// SPDX-License-Identifier: MIT
/*
 * x86-64 instruction lengths and the few operand shapes gomaptrace needs.
 * Decoding is table driven: per opcode, whether a ModRM byte follows and
 * how large the immediate is. Everything reads through (p, n) bounds.
 */
#include <string.h>

#include "x86_decode.h"

enum {
	F_M = 0x01,		/* ModRM follows */
	F_I8 = 0x02,		/* imm8 / rel8 */
	F_IZ = 0x04,		/* imm16/32 (66 prefix picks 16) */
	F_IV = 0x08,		/* imm16/32/64 (mov r, imm) */
	F_I16 = 0x10,		/* imm16 */
	F_BAD = 0x20,		/* invalid in 64-bit mode */
	F_MOFFS = 0x40,		/* 64-bit absolute address */
	F_GRP3 = 0x80,		/* F6/F7: immediate only for /0 and /1 */
};

/* A second flag byte for the rare cases the first cannot express. */
#define F_REL32 (F_IZ | F_I16)	/* rel32 regardless of the 66 prefix */

#define ALU(x)                                                               \
	[(x) + 0 ... (x) + 3] = F_M, [(x) + 4] = F_I8, [(x) + 5] = F_IZ

static const uint8_t op1[256] = {
	ALU(0x00), [0x06] = F_BAD, [0x07] = F_BAD,
	ALU(0x08), [0x0e] = F_BAD,
	ALU(0x10), [0x16] = F_BAD, [0x17] = F_BAD,
	ALU(0x18), [0x1e] = F_BAD, [0x1f] = F_BAD,
	ALU(0x20), [0x27] = F_BAD,
	ALU(0x28), [0x2f] = F_BAD,
	ALU(0x30), [0x37] = F_BAD,
	ALU(0x38), [0x3f] = F_BAD,
	[0x60] = F_BAD, [0x61] = F_BAD, [0x63] = F_M,
	[0x68] = F_IZ, [0x69] = F_M | F_IZ, [0x6a] = F_I8, [0x6b] = F_M | F_I8,
	[0x70 ... 0x7f] = F_I8,
	[0x80] = F_M | F_I8, [0x81] = F_M | F_IZ, [0x82] = F_BAD,
	[0x83] = F_M | F_I8, [0x84 ... 0x8f] = F_M,
	[0x9a] = F_BAD,
	[0xa0 ... 0xa3] = F_MOFFS, [0xa8] = F_I8, [0xa9] = F_IZ,
	[0xb0 ... 0xb7] = F_I8, [0xb8 ... 0xbf] = F_IV,
	[0xc0] = F_M | F_I8, [0xc1] = F_M | F_I8, [0xc2] = F_I16,
	[0xc6] = F_M | F_I8, [0xc7] = F_M | F_IZ, [0xc8] = F_I16 | F_I8,
	[0xca] = F_I16, [0xcd] = F_I8, [0xce] = F_BAD,
	[0xd0 ... 0xd3] = F_M, [0xd4 ... 0xd6] = F_BAD, [0xd8 ... 0xdf] = F_M,
	[0xe0 ... 0xe7] = F_I8, [0xe8] = F_REL32, [0xe9] = F_REL32,
	[0xea] = F_BAD, [0xeb] = F_I8,
	[0xf6] = F_M | F_GRP3, [0xf7] = F_M | F_GRP3, [0xfe] = F_M,
	[0xff] = F_M,
};

static const uint8_t op2[256] = {
	[0x00 ... 0x03] = F_M, [0x04] = F_BAD, [0x0a] = F_BAD, [0x0c] = F_BAD,
	[0x0d] = F_M, [0x0f] = F_M | F_I8,
	[0x10 ... 0x23] = F_M, [0x24 ... 0x27] = F_BAD, [0x28 ... 0x2f] = F_M,
	[0x39] = F_BAD, [0x3b ... 0x3f] = F_BAD,
	[0x40 ... 0x6f] = F_M, [0x70 ... 0x73] = F_M | F_I8,
	[0x74 ... 0x76] = F_M, [0x78 ... 0x7f] = F_M,
	[0x80 ... 0x8f] = F_REL32,
	[0x90 ... 0x9f] = F_M, [0xa3] = F_M, [0xa4] = F_M | F_I8, [0xa5] = F_M,
	[0xa6] = F_BAD, [0xa7] = F_BAD, [0xab] = F_M, [0xac] = F_M | F_I8,
	[0xad ... 0xb9] = F_M, [0xba] = F_M | F_I8, [0xbb ... 0xc1] = F_M,
	[0xc2] = F_M | F_I8, [0xc3] = F_M, [0xc4 ... 0xc6] = F_M | F_I8,
	[0xc7] = F_M, [0xd0 ... 0xff] = F_M,
};

static bool is_legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
	case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
		return true;
	}
	return false;
}

static int64_t rd_le(const uint8_t *p, int size)
{
	uint64_t v = 0;

	for (int i = size - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	if (size < 8 && (v >> (size * 8 - 1)) & 1)
		v |= ~0ULL << (size * 8);
	return (int64_t)v;
}

struct cursor {
	const uint8_t *p;
	size_t n;
	size_t i;
};

static bool take(struct cursor *c, size_t k)
{
	if (k > c->n - c->i)
		return false;
	c->i += k;
	return true;
}

/* ModRM, SIB and displacement; rex bits already folded into rexr/x/b. */
static bool decode_modrm(struct cursor *c, struct x86_insn *in, bool addr32,
			 int rexr, int rexx, int rexb)
{
	uint8_t m, sib;
	int disp = 0;

	(void)addr32;
	if (!take(c, 1))
		return false;
	m = c->p[c->i - 1];
	in->has_modrm = true;
	in->mod = m >> 6;
	in->reg = ((m >> 3) & 7) | (rexr << 3);
	in->rm = (m & 7) | (rexb << 3);
	in->base = X86_NOREG;
	in->index = X86_NOREG;
	in->scale = 1;
	if (in->mod == 3)
		return true;
	if ((m & 7) == 4) {
		if (!take(c, 1))
			return false;
		sib = c->p[c->i - 1];
		in->scale = 1 << (sib >> 6);
		if ((((sib >> 3) & 7) | (rexx << 3)) != 4)
			in->index = ((sib >> 3) & 7) | (rexx << 3);
		if ((sib & 7) == 5 && in->mod == 0)
			disp = 4;
		else
			in->base = (sib & 7) | (rexb << 3);
	} else if ((m & 7) == 5 && in->mod == 0) {
		in->base = X86_RIP;
		disp = 4;
	} else {
		in->base = in->rm;
	}
	if (in->mod == 1)
		disp = 1;
	else if (in->mod == 2)
		disp = 4;
	if (!take(c, disp))
		return false;
	if (disp)
		in->disp = rd_le(c->p + c->i - disp, disp);
	return true;
}

static bool take_imm(struct cursor *c, struct x86_insn *in, int size)
{
	if (!size)
		return true;
	if (!take(c, size))
		return false;
	in->has_imm = true;
	in->imm = rd_le(c->p + c->i - size, size);
	return true;
}

static bool vex_has_imm8(int map, uint8_t op)
{
	if (map == 3)
		return true;
	return map == 1 && ((op >= 0x70 && op <= 0x73) || op == 0xc2 ||
			    (op >= 0xc4 && op <= 0xc6));
}

/* VEX (C4/C5) and EVEX (62): always VEX in 64-bit mode. */
static int decode_vex(struct cursor *c, struct x86_insn *in, uint8_t esc)
{
	const uint8_t *q;
	int map, r, x = 0, b = 0;
	size_t plen = esc == 0xc5 ? 1 : esc == 0xc4 ? 2 : 3;

	if (!take(c, plen + 1))
		return -1;
	q = c->p + c->i - plen - 1;
	r = !(q[0] & 0x80);
	if (esc == 0xc5) {
		map = 1;
	} else {
		x = !(q[0] & 0x40);
		b = !(q[0] & 0x20);
		map = q[0] & (esc == 0x62 ? 0x07 : 0x1f);
	}
	if (map < 1 || map > 3)
		return -1;
	in->vex = true;
	in->map = map;
	in->opcode = q[plen];
	if (!(map == 1 && in->opcode == 0x77 && esc != 0x62)) {
		if (!decode_modrm(c, in, false, r, x, b))
			return -1;
	}
	if (vex_has_imm8(map, in->opcode) && !take_imm(c, in, 1))
		return -1;
	if (c->i > 15)
		return -1;
	in->len = c->i;
	return c->i;
}

static int imm_size(uint8_t f, const struct x86_insn *in, bool addr32)
{
	bool w = in->rex & 8;
	int size = 0;

	if (f == F_REL32)
		return 4;
	if (f & F_I8)
		size += 1;
	if (f & F_I16)
		size += 2;
	if (f & F_IZ)
		size += (in->opsize16 && !w) ? 2 : 4;
	if (f & F_IV)
		size += w ? 8 : in->opsize16 ? 2 : 4;
	if (f & F_MOFFS)
		size += addr32 ? 4 : 8;
	if ((f & F_GRP3) && (in->reg & 7) < 2)
		size += in->opcode == 0xf6 ? 1 : (in->opsize16 && !w) ? 2 : 4;
	return size;
}

int x86_decode(const uint8_t *p, size_t n, struct x86_insn *in)
{
	struct cursor c = { p, n > 15 ? 15 : n, 0 };
	bool addr32 = false;
	uint8_t b, f;

	memset(in, 0, sizeof(*in));
	in->base = X86_NOREG;
	in->index = X86_NOREG;
	for (;;) {
		if (!take(&c, 1))
			return -1;
		b = p[c.i - 1];
		if (b >= 0x40 && b <= 0x4f) {
			in->rex = b;
			continue;
		}
		if (!is_legacy_prefix(b))
			break;
		in->rex = 0;	/* a REX not right before the opcode is ignored */
		if (b == 0x66)
			in->opsize16 = true;
		else if (b == 0x67)
			addr32 = true;
		else if (b == 0xf3)
			in->rep = true;
		else if (b == 0xf2)
			in->repne = true;
	}
	if (b == 0xc4 || b == 0xc5 || b == 0x62)
		return decode_vex(&c, in, b);
	if (b == 0x0f) {
		if (!take(&c, 1))
			return -1;
		b = p[c.i - 1];
		if (b == 0x38 || b == 0x3a) {
			in->map = b == 0x38 ? 2 : 3;
			if (!take(&c, 1))
				return -1;
			in->opcode = p[c.i - 1];
			f = F_M | (in->map == 3 ? F_I8 : 0);
		} else {
			in->map = 1;
			in->opcode = b;
			f = op2[b];
		}
	} else {
		in->opcode = b;
		f = op1[b];
	}
	if (f & F_BAD)
		return -1;
	if ((f & F_M) && !decode_modrm(&c, in, addr32, !!(in->rex & 4),
				       !!(in->rex & 2), !!(in->rex & 1)))
		return -1;
	if (!take_imm(&c, in, imm_size(f & ~F_M, in, addr32)))
		return -1;
	in->len = c.i;
	return c.i;
}

bool x86_is_jcc(const struct x86_insn *in)
{
	if (in->vex)
		return false;
	if (in->map == 0)
		return in->opcode >= 0x70 && in->opcode <= 0x7f;
	return in->map == 1 && in->opcode >= 0x80 && in->opcode <= 0x8f;
}

bool x86_is_jbe(const struct x86_insn *in, uint64_t pc, uint64_t *target)
{
	if (!x86_is_jcc(in) || (in->opcode & 0x0f) != 0x06)
		return false;
	if (target)
		*target = pc + in->len + (uint64_t)in->imm;
	return true;
}

bool x86_is_call_rel(const struct x86_insn *in, uint64_t pc,
		     uint64_t *target)
{
	if (in->vex || in->map != 0 || in->opcode != 0xe8)
		return false;
	if (target)
		*target = pc + in->len + (uint64_t)in->imm;
	return true;
}

bool x86_is_cmp_reg_mem64(const struct x86_insn *in, uint8_t *reg,
			  uint8_t *base, int64_t *disp)
{
	if (in->vex || in->map != 0 || in->opcode != 0x3b ||
	    !(in->rex & 8) || !x86_is_mem(in) || in->index != X86_NOREG)
		return false;
	*reg = in->reg;
	*base = in->base;
	*disp = in->disp;
	return true;
}

bool x86_is_lea64(const struct x86_insn *in, uint8_t *reg, uint8_t *base,
		  int64_t *disp)
{
	if (in->vex || in->map != 0 || in->opcode != 0x8d ||
	    !(in->rex & 8) || !x86_is_mem(in) || in->index != X86_NOREG)
		return false;
	*reg = in->reg;
	*base = in->base;
	*disp = in->disp;
	return true;
}

/* Writes only R12: lea d(%rsp),%r12 / mov %rsp,%r12 / sub $N,%r12. */
static bool writes_only_r12(const struct x86_insn *in)
{
	uint8_t reg, base;
	int64_t disp;

	if (x86_is_lea64(in, &reg, &base, &disp))
		return reg == X86_R12 && base == X86_RSP;
	if (in->vex || in->map != 0 || !(in->rex & 8) || !in->has_modrm ||
	    in->mod != 3)
		return false;
	if (in->opcode == 0x89)		/* mov r64, r/m64 */
		return in->rm == X86_R12 && in->reg == X86_RSP;
	if (in->opcode == 0x8b)		/* mov r/m64, r64 */
		return in->reg == X86_R12 && in->rm == X86_RSP;
	if (in->opcode == 0x81 || in->opcode == 0x83)	/* sub $imm,%r12 */
		return (in->reg & 7) == 5 && in->rm == X86_R12;
	return false;
}

bool x86_find_stack_check(const uint8_t *code, size_t n, uint64_t pc,
			  struct x86_stack_check *sc)
{
	struct x86_insn in;
	size_t off = 0;
	uint8_t reg, base, want = X86_RSP;
	int64_t disp;
	bool have_cmp = false;

	/* Bounded: the check is within the first few instructions. */
	for (int k = 0; k < 6 && off < n; k++) {
		if (x86_decode(code + off, n - off, &in) < 0)
			return false;
		if (have_cmp) {
			if (!x86_is_jbe(&in, pc + off, &sc->target))
				return false;
			sc->jbe = pc + off;
			return true;
		}
		if (x86_is_cmp_reg_mem64(&in, &reg, &base, &disp) &&
		    base == X86_R14 && disp == 0x10 && reg == want) {
			sc->cmp = pc + off;
			have_cmp = true;
		} else if (writes_only_r12(&in)) {
			want = X86_R12;
		} else if (!(x86_is_jcc(&in) && want == X86_R12)) {
			return false;
		}
		off += in.len;
	}
	return false;
}

bool x86_entry_is_emulated(const uint8_t *code, size_t n)
{
	if (n >= 1 && code[0] >= 0x50 && code[0] <= 0x57)
		return true;		/* push %rax..%rdi (incl. %rbp) */
	return n >= 2 && code[0] == 0x41 && code[1] >= 0x50 &&
	       code[1] <= 0x57;	/* push %r8..%r15 */
}

/* movzbl D(%B),%r32 (0F B6 /r) with a small displacement. */
static bool is_byte_load(const struct x86_insn *in)
{
	return !in->vex && in->map == 1 && in->opcode == 0xb6 &&
	       x86_is_mem(in) && in->index == X86_NOREG &&
	       in->base < 16 && in->disp >= 0 && in->disp <= 0x7f;
}

/* xor $imm8,%r32 (83 /6 ib, register form). */
static bool is_xor_imm(const struct x86_insn *in)
{
	return !in->vex && in->map == 0 && in->opcode == 0x83 &&
	       in->mod == 3 && (in->reg & 7) == 6 && in->imm > 0 &&
	       in->imm <= 0x80;
}

/* mov %r8,D(%B) (88 /r). */
static bool is_byte_store(const struct x86_insn *in)
{
	return !in->vex && in->map == 0 && in->opcode == 0x88 &&
	       x86_is_mem(in) && in->index == X86_NOREG && in->base < 16;
}

/* cmpb $0,D(%B) (80 /7 00). */
static bool is_cmpb_zero(const struct x86_insn *in)
{
	return !in->vex && in->map == 0 && in->opcode == 0x80 &&
	       x86_is_mem(in) && (in->reg & 7) == 7 && in->imm == 0 &&
	       in->index == X86_NOREG && in->base < 16;
}

/* load; xor; store of one byte at the same D(%B), back to back. */
static bool is_toggle(const struct x86_insn *ld, const struct x86_insn *x,
		      const struct x86_insn *st)
{
	return is_byte_load(ld) && is_xor_imm(x) && x->rm == ld->reg &&
	       is_byte_store(st) && st->reg == ld->reg &&
	       st->base == ld->base && st->disp == ld->disp;
}

bool x86_find_flag_toggle(const uint8_t *code, size_t n, uint64_t pc,
			  struct x86_flag_toggle *ft)
{
	struct x86_insn win[3];
	uint64_t at[3] = { 0 };
	int64_t cmpb_disp[8];
	size_t ncmpb = 0, off = 0, seen = 0;
	bool found = false;

	while (off < n) {
		struct x86_insn *in = &win[seen % 3];

		if (x86_decode(code + off, n - off, in) < 0)
			break;
		at[seen % 3] = pc + off;
		if (is_cmpb_zero(in) && ncmpb < 8)
			cmpb_disp[ncmpb++] = in->disp;
		seen++;
		off += in->len;
		if (found || seen < 3)
			continue;
		if (is_toggle(&win[seen % 3], &win[(seen + 1) % 3], in)) {
			ft->disp = in->disp;
			ft->xor_mask = (uint32_t)win[(seen + 1) % 3].imm;
			ft->at = at[(seen + 1) % 3];
			found = true;
		}
	}
	if (!found)
		return false;
	ft->cmpb_zero = false;
	for (size_t i = 0; i < ncmpb; i++)
		if (cmpb_disp[i] == ft->disp)
			ft->cmpb_zero = true;
	return true;
}

/* mov D(%rax),%r32 (8B /r, no REX.W), the gp argument in RAX. */
static bool is_load32_rax(const struct x86_insn *in)
{
	return !in->vex && in->map == 0 && in->opcode == 0x8b &&
	       !(in->rex & 8) && x86_is_mem(in) && in->base == X86_RAX &&
	       in->index == X86_NOREG && in->disp > 0 && in->disp < 0x1000;
}

/* btr $0xc,%r32 or and $~0x1000,%r32 on reg: clearing _Gscan. */
static bool clears_gscan(const struct x86_insn *in, uint8_t reg)
{
	if (in->vex || in->mod != 3 || in->rm != reg || (in->rex & 8))
		return false;
	if (in->map == 1 && in->opcode == 0xba)
		return (in->reg & 7) == 6 && in->imm == 0xc;
	return in->map == 0 && in->opcode == 0x81 && (in->reg & 7) == 4 &&
	       in->imm == -0x1001;
}

bool x86_find_gstatus_load(const uint8_t *code, size_t n, int64_t *disp)
{
	struct x86_insn in;
	size_t off = 0;
	int since = -1;		/* instructions since the load, -1 none */
	uint8_t reg = 0;
	int64_t d = 0;

	for (int k = 0; k < 48 && off < n; k++) {
		if (x86_decode(code + off, n - off, &in) < 0)
			return false;
		off += in.len;
		if (is_load32_rax(&in)) {
			since = 0;
			reg = in.reg;
			d = in.disp;
			continue;
		}
		if (since < 0)
			continue;
		if (clears_gscan(&in, reg)) {
			*disp = d;
			return true;
		}
		if (++since > 3)
			since = -1;
	}
	return false;
}
