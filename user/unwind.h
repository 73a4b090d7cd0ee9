/* SPDX-License-Identifier: MIT */
#ifndef GMT_UNWIND_H
#define GMT_UNWIND_H

#include <stdbool.h>
#include <stdint.h>

#include "gobin.h"

/*
 * Unwinding a stopped thread's stack from its registers, in user space,
 * as the Go runtime's own unwinder does: the function's SP-delta table
 * (pcsp) gives the frame size at any PC, so a frameless assembly function
 * or a thread stopped in the middle of a prologue unwinds as well as one
 * stopped at a call. Frame pointers are the fallback where the table says
 * nothing (a C function, a PC outside the Go text).
 *
 * read(ctx, addr, buf, len) reads the target's memory (run-time address),
 * returning false when it cannot: every value read is treated as hostile.
 */
typedef bool (*unwind_read_fn)(void *ctx, uint64_t addr, void *buf,
			       size_t len);

struct unwind_frame {
	uint64_t pc;		/* [0]: the thread's PC; then return addresses */
	uint64_t cfa;		/* SP after the return: the callee's spill area */
	const char *function;	/* outermost function at pc (NULL unknown) */
};

/*
 * At runtime.systemstack on the scheduler's stack (g0), where the g0 stack
 * ends: the goroutine that switched there (m.curg) and its saved registers
 * (g.sched), as the runtime's unwinder continues. Returns false when there
 * is no such goroutine or its state cannot be read. May be NULL.
 */
typedef bool (*unwind_switch_fn)(void *ctx, uint64_t *pc, uint64_t *sp,
				 uint64_t *bp);

/*
 * Up to max frames of the thread at (ip, sp, bp), innermost first.
 * *fp is set when some frame came from frame pointers.
 */
int unwind_stack(const struct gobin *gb, unwind_read_fn read, void *ctx,
		 uint64_t ip, uint64_t sp, uint64_t bp,
		 struct unwind_frame *out, int max, bool *fp);
/* The same, switching stacks at runtime.systemstack through sw. */
int unwind_stack_sw(const struct gobin *gb, unwind_read_fn read,
		    unwind_switch_fn sw, void *ctx, uint64_t ip, uint64_t sp,
		    uint64_t bp, struct unwind_frame *out, int max, bool *fp);

#endif
