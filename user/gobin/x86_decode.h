/* SPDX-License-Identifier: MIT */
#ifndef GMT_X86_DECODE_H
#define GMT_X86_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A small x86-64 instruction decoder: exact lengths for the whole
 * general-purpose, SSE and VEX/EVEX encodings (so a linear sweep through a
 * Go function stays in step), and the operand fields of the few
 * instructions gomaptrace reasons about: the stack-bound check, jcc, call,
 * and byte loads, stores, compares and xors against disp(%reg).
 */

/* Register numbers as the hardware encodes them (REX-extended). */
enum x86_reg {
	X86_RAX = 0, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI,
	X86_RDI, X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14,
	X86_R15,
	X86_NOREG = 0xff,
	X86_RIP = 0xfe,		/* base of a rip-relative operand */
};

struct x86_insn {
	uint8_t len;
	uint8_t map;		/* 0 one-byte, 1 0F, 2 0F38, 3 0F3A */
	uint8_t opcode;
	uint8_t rex;		/* 0 when absent */
	bool vex;		/* VEX or EVEX encoded */
	bool opsize16;		/* 66 prefix */
	bool rep;		/* F3 prefix */
	bool repne;		/* F2 prefix */
	bool has_modrm;
	uint8_t mod;
	uint8_t reg;		/* modrm.reg with REX.R */
	uint8_t rm;		/* register operand when mod == 3 (REX.B) */
	uint8_t base;		/* memory base (REX.B), X86_RIP or X86_NOREG */
	uint8_t index;		/* memory index (REX.X) or X86_NOREG */
	uint8_t scale;
	int64_t disp;
	bool has_imm;
	int64_t imm;		/* sign-extended; rel for jumps and calls */
};

/*
 * Decode one instruction from p (at most n bytes). Returns its length, or
 * -1 for bytes that are not a valid 64-bit mode instruction or run past n.
 */
int x86_decode(const uint8_t *p, size_t n, struct x86_insn *in);

static inline bool x86_is_mem(const struct x86_insn *in)
{
	return in->has_modrm && in->mod != 3;
}

/* jbe / jna, rel8 (76) or rel32 (0F 86); *target gets the destination. */
bool x86_is_jbe(const struct x86_insn *in, uint64_t pc, uint64_t *target);
/* Any jcc (70-7F, 0F 80-8F). */
bool x86_is_jcc(const struct x86_insn *in);
/* call rel32; *target gets the destination. */
bool x86_is_call_rel(const struct x86_insn *in, uint64_t pc,
		     uint64_t *target);
/* cmp disp(base),reg64 (REX.W 3B /r); fills reg, base and disp. */
bool x86_is_cmp_reg_mem64(const struct x86_insn *in, uint8_t *reg,
			  uint8_t *base, int64_t *disp);
/* lea disp(base),reg64. */
bool x86_is_lea64(const struct x86_insn *in, uint8_t *reg, uint8_t *base,
		  int64_t *disp);

/*
 * The stack-bound check every splittable Go function starts with
 * (DESIGN-NOTES §1):
 *     cmp 0x10(%r14),%rsp                       ; jbe morestack
 *     lea -N(%rsp),%r12 ; cmp 0x10(%r14),%r12   ; jbe morestack
 *     mov %rsp,%r12 ; sub $N,%r12 ; jb ... ; cmp 0x10(%r14),%r12 ; jbe ...
 * Only R12 (scratch) is written before the jbe, so the argument registers
 * and RSP at the jbe are those of the function entry.
 */
struct x86_stack_check {
	uint64_t cmp;		/* address of the cmp */
	uint64_t jbe;		/* address of the jbe: the probe site */
	uint64_t target;	/* where the jbe goes (the morestack call) */
};

/*
 * Looks for the check at the start of code (the bytes of a function whose
 * link-time entry is pc). Returns true and fills sc when found.
 */
bool x86_find_stack_check(const uint8_t *code, size_t n, uint64_t pc,
			  struct x86_stack_check *sc);

/* True when the first instruction is one the kernel emulates (push reg). */
bool x86_entry_is_emulated(const uint8_t *code, size_t n);

/*
 * The runtime toggles its "write in progress" flag on a map header with a
 * load / xor / store of one byte:
 *     movzbl D(%B),%r ; ... ; xor $M,%r ; mov %r8,D(%B)
 * (hmap.flags ^= hashWriting; Map.writing ^= 1) and tests it with
 *     cmpb $0x0,D(%B)   or   movzbl D(%B),%r ; test $M,%r8
 */
struct x86_flag_toggle {
	int64_t disp;		/* D */
	uint32_t xor_mask;	/* M of the xor */
	bool cmpb_zero;		/* a cmpb $0,D(...) with the same D was seen */
	uint64_t at;		/* address of the xor */
};

/*
 * Sweep a function's bytes and report the first flag toggle found. Only
 * byte-sized displacements up to 0x7f are considered: the flag lives near
 * the start of the header in every Go version.
 */
bool x86_find_flag_toggle(const uint8_t *code, size_t n, uint64_t pc,
			  struct x86_flag_toggle *ft);

/*
 * readgstatus(gp) &^ _Gscan, early in runtime.goroutineheader(gp):
 *     mov D(%rax),%r32 ; ... ; btr $0xc,%r32  (or and $0xffffefff,%r32)
 * D is the offset of g.atomicstatus; Go has kept goid 8 bytes after it
 * (atomicstatus uint32, stackLock uint32, goid) since 1.9.
 */
bool x86_find_gstatus_load(const uint8_t *code, size_t n, int64_t *disp);

#endif
