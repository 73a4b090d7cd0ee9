// SPDX-License-Identifier: MIT
/* Unwinding a stopped thread's stack (user/unwind.h). */
#include <string.h>

#include "unwind.h"

/* A frame is at most this big: more means the values read are garbage. */
#define MAX_FRAME	(64u << 20)

/* Where Go stacks begin: the unwinder stops there, as the runtime's does. */
static bool is_top(const char *fn)
{
	static const char *const tops[] = {
		"runtime.goexit", "runtime.mstart", "runtime.mstart0",
		"runtime.rt0_go", "runtime.morestack", "runtime.mcall",
		"runtime.asmcgocall", "runtime.cgocallback",
	};

	for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++)
		if (!strcmp(fn, tops[i]))
			return true;
	return false;
}

static bool read_u64(unwind_read_fn read, void *ctx, uint64_t addr,
		     uint64_t *v)
{
	return read(ctx, addr, v, sizeof(*v));
}

struct cursor {
	uint64_t pc, sp, bp;
	bool innermost;
};

/*
 * One step by the SP-delta table: the caller's SP is SP + delta + 8 and
 * the return address sits just below it. The frame's saved RBP, when it
 * has saved one (delta >= 16), sits below the return address; the
 * innermost frame may not have saved it yet (mid-prologue), which shows
 * as RBP not yet pointing there.
 */
static int step_pcsp(const struct gobin *gb, unwind_read_fn read, void *ctx,
		     struct cursor *c, int32_t delta)
{
	uint64_t cfa = c->sp + (uint64_t)delta + 8, ret, bp = c->bp;

	(void)gb;
	if (!read_u64(read, ctx, cfa - 8, &ret))
		return -1;
	if (delta >= 16 && (!c->innermost || c->bp == cfa - 16) &&
	    !read_u64(read, ctx, cfa - 16, &bp))
		bp = 0;
	c->pc = ret;
	c->sp = cfa;
	c->bp = bp;
	return 0;
}

/* One step by frame pointers: [bp] is the next bp, [bp+8] the return. */
static int step_fp(unwind_read_fn read, void *ctx, struct cursor *c)
{
	uint64_t fr[2];

	if (!c->bp || (c->bp & 7) || c->bp < c->sp ||
	    c->bp - c->sp > MAX_FRAME || !read(ctx, c->bp, fr, sizeof(fr)))
		return -1;
	c->pc = fr[1];
	c->sp = c->bp + 16;
	c->bp = fr[0];
	return 0;
}

/* Once per stack: the goroutine below g0's systemstack frame. */
static bool switch_stacks(unwind_switch_fn sw, void *ctx, struct cursor *c,
			  const char *fn, bool *switched)
{
	uint64_t pc, sp, bp;

	if (!sw || *switched || !fn || strcmp(fn, "runtime.systemstack") ||
	    !sw(ctx, &pc, &sp, &bp) || !pc)
		return false;
	*switched = true;
	c->pc = pc;
	c->sp = sp;
	c->bp = bp;
	return true;
}

int unwind_stack(const struct gobin *gb, unwind_read_fn read, void *ctx,
		 uint64_t ip, uint64_t sp, uint64_t bp,
		 struct unwind_frame *out, int max, bool *fp)
{
	return unwind_stack_sw(gb, read, NULL, ctx, ip, sp, bp, out, max, fp);
}

int unwind_stack_sw(const struct gobin *gb, unwind_read_fn read,
		    unwind_switch_fn sw, void *ctx, uint64_t ip, uint64_t sp,
		    uint64_t bp, struct unwind_frame *out, int max, bool *fp)
{
	struct cursor c = { ip, sp, bp, true };
	bool switched = false;
	int n = 0;

	*fp = false;
	while (n < max && c.pc) {
		/* A return address points after its call: look up pc - 1. */
		uint64_t look = c.pc - gb->load_bias - (c.innermost ? 0 : 1);
		const struct pcln_func *f = NULL;
		uint64_t prev_sp = c.sp;
		int32_t delta;
		int r;

		if (c.pc > gb->load_bias && gb->pcln)
			f = pclntab_find_pc(gb->pcln, look);
		out[n].pc = c.pc;
		out[n].function = f ? f->name : NULL;
		if (f && !pclntab_spdelta(gb->pcln, look, &delta) &&
		    (uint32_t)delta <= MAX_FRAME) {
			out[n].cfa = c.sp + (uint64_t)delta + 8;
			n++;
			if (switch_stacks(sw, ctx, &c, f->name, &switched)) {
				/* Another stack: no ordering with this one. */
				c.innermost = false;
				continue;
			}
			if (f->name && is_top(f->name))
				break;
			r = step_pcsp(gb, read, ctx, &c, delta);
		} else {
			out[n].cfa = c.bp ? c.bp + 16 : 0;
			n++;
			*fp = true;
			r = step_fp(read, ctx, &c);
		}
		c.innermost = false;
		/* Stacks grow down: a caller's frame is always above. */
		if (r || c.sp <= prev_sp)
			break;
	}
	return n;
}
