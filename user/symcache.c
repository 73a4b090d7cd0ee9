// SPDX-License-Identifier: MIT
/*
 * Symbolising a trace through the binary reader. Stacks hold return
 * addresses, which point after the call: the call's own line is found at
 * pc - 1, as runtime.CallersFrames does.
 */
#include <stdio.h>
#include <string.h>

#include "symcache.h"

#define MAX_INLINE	32	/* inline depth we keep per PC */

static int symbolise_pc(struct trace *t, const struct gobin *gb, uint64_t pc)
{
	struct pcln_frame pf[MAX_INLINE];
	struct trace_frame tf[MAX_INLINE];
	int n = 0;

	if (trace_find_sym(t, pc))
		return 0;
	/* pc 1 past the bias would look up the byte before the image. */
	if (pc > gb->load_bias + 1)
		n = gobin_frames(gb, pc - gb->load_bias - 1, pf, MAX_INLINE);
	if (n < 0)
		n = 0;
	for (int i = 0; i < n; i++) {
		tf[i].function = pf[i].function ? pf[i].function : "?";
		tf[i].file = pf[i].file ? pf[i].file : "";
		tf[i].line = pf[i].line > 0 ? (uint32_t)pf[i].line : 0;
		tf[i].inlined = pf[i].inlined;
	}
	return trace_add_sym(t, pc, tf, n);
}

static int name_type(struct trace *t, const struct gobin *gb, size_t i)
{
	char name[1024];
	uint64_t addr = t->types[i].addr;

	if (t->types[i].resolved)
		return 0;
	if (addr > gb->load_bias &&
	    !gobin_type_name(gb, addr - gb->load_bias, name, sizeof(name)))
		return trace_set_type_name(t, addr, name);
	return trace_set_type_name(t, addr, NULL);
}

int symcache_update(struct trace *t, const struct gobin *gb)
{
	for (; t->sym_stacks_done < t->nstacks; t->sym_stacks_done++) {
		const struct trace_stack *s = &t->stacks[t->sym_stacks_done];

		for (uint32_t j = 0; j < s->n; j++)
			if (symbolise_pc(t, gb, s->pc[j]))
				return -1;
	}
	for (; t->sym_types_done < t->ntypes; t->sym_types_done++)
		if (name_type(t, gb, t->sym_types_done))
			return -1;
	return 0;
}

int symcache_pc(struct trace *t, const struct gobin *gb, uint64_t pc)
{
	return symbolise_pc(t, gb, pc);
}

void symcache_meta(struct trace *t, const struct gobin *gb)
{
	struct trace_meta *m = &t->meta;

	m->pid = gb->pid;
	snprintf(m->exe, sizeof(m->exe), "%s", gb->exe);
	snprintf(m->go_version, sizeof(m->go_version), "%s", gb->go_version);
	snprintf(m->map_impl, sizeof(m->map_impl), "%s",
		 gb->map_impl == MAP_IMPL_BUCKETS ? "buckets" :
		 gb->map_impl == MAP_IMPL_SWISS ? "swiss" : "unknown");
	m->load_bias = gb->load_bias;
}
