// SPDX-License-Identifier: MIT
/* Duty-cycled map-operation probes within a budget (sampler.h). */
#include <stdio.h>
#include <string.h>

#include "analysis.h"
#include "sampler.h"
#include "symcache.h"

#define CYCLE_NS		5000000000ULL	/* a window and its off time */
#define MIN_WIN_NS		10000000ULL
#define MAX_OFF_NS		600000000000ULL	/* 10 min */

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

void sampler_add(struct sampler *sp, const struct gmt_event *ev)
{
	if (!sp->tr)
		return;
	if (ev->flags & GMT_EV_SITE) {
		sp->site_hits_off++;
		sp->site_hits++;
	} else {
		sp->win_hits++;
	}
	sp->hits++;
	sp->total_hits++;
	if (sp->t.nevents >= SAMPLER_MAX_EVENTS ||
	    trace_add_gmt_event(&sp->t, ev)) {
		sp->over_cap++;
		sp->total_over_cap++;
	}
}

static int attach_ops(struct sampler *sp, struct errbuf *err)
{
	return tracer_attach_pid(sp->tr, sp->gb, sp->pid, SAMPLER_OPS,
				 &sp->links, err);
}

int sampler_start(struct sampler *sp, struct tracer *tr, struct gobin *gb,
		  pid_t pid, uint64_t bias, struct errbuf *err)
{
	uint64_t now;

	memset(sp, 0, sizeof(*sp));
	if (trace_init(&sp->t))
		return errbuf_set(err, "out of memory");
	sp->t.no_map_table = true;
	sp->gb = gb;
	sp->pid = pid;
	sp->bias = bias;
	sp->tr = tr;
	if (attach_ops(sp, err)) {
		sp->tr = NULL;
		sp->failed = true;
		return -1;
	}
	/* The window opens as the probes go in, not as the load began. */
	now = trace_now_ns();
	sp->on = true;
	sp->start_ns = sp->span_start = sp->win_start = now;
	sp->win_len = SAMPLER_FIRST_WIN_NS;
	sp->t.meta.start_ns = now;
	sp->t.meta.wall_start_ns = trace_wall_now_ns();
	sp->t.meta.pid = pid;
	sp->t.meta.ops_mask = SAMPLER_OPS;
	snprintf(sp->t.meta.command, sizeof(sp->t.meta.command), "daemon");
	symcache_meta(&sp->t, sp->gb);
	sp->t.meta.pid = pid;
	sp->t.meta.load_bias = bias;
	return 0;
}

/* Its records come through sampler_add(); what the ring lost, here. */
static void count_lost(struct sampler *sp)
{
	uint64_t lost = tracer_watch_lost(sp->tr, sp->pid);

	if (lost > sp->lost_seen) {
		/* A lost record was a hit too: it cost the same. */
		sp->win_hits += lost - sp->lost_seen;
		sp->hits += lost - sp->lost_seen;
		sp->total_hits += lost - sp->lost_seen;
		sp->lost += lost - sp->lost_seen;
		sp->total_lost += lost - sp->lost_seen;
		sp->lost_seen = lost;
	}
}

/* Call-site probes out: what they cost while in is known now. */
static void sites_out(struct sampler *sp, double hit_ns, uint64_t now)
{
	uint64_t len = now - sp->sites_since;

	if (!sp->sites_on)
		return;
	tracer_links_drop(&sp->site_links);
	sp->sites_on = false;
	sp->cost_ns += (double)sp->site_hits_off * hit_ns;
	sp->site_frac = len ? (double)sp->site_hits_off * hit_ns / (double)len :
			0;
	sp->site_observed_ns += now - max_u64(sp->sites_since, sp->span_start);
	sp->site_hits_off = 0;
}

static void sites_in(struct sampler *sp, double budget_frac, uint64_t now)
{
	struct errbuf err = { 0 };

	if (!sp->nsites || sp->sites_dropped)
		return;
	/* Too dear for the budget on their own: map probes only. */
	if (sp->site_frac >= budget_frac / 2 ||
	    tracer_attach_sites_pid(sp->tr, sp->gb, sp->pid, sp->sites,
				    sp->nsites, &sp->site_links, &err)) {
		sp->sites_dropped = true;
		return;
	}
	sp->sites_on = true;
	sp->sites_since = now;
}

void sampler_sites_now(struct sampler *sp, double budget_frac, uint64_t now)
{
	if (sp->tr && !sp->on && !sp->sites_on)
		sites_in(sp, budget_frac, now);
}

/*
 * What a window shows, as the part of the time the map probes may be in
 * from now on: the budget's part (its cost, the call-site probes in
 * meanwhile included, under budget_frac) and the report's (the records
 * the report can still keep, spread evenly until it is written: probes
 * in beyond that would only add records to drop). 1: stay in.
 */
static double duty(struct sampler *sp, double budget_frac, double hit_ns,
		   uint64_t len, uint64_t report_at, uint64_t now)
{
	double rate = (double)sp->win_hits / (double)(len ? len : 1);
	double used = rate * hit_ns, room = budget_frac, d = 1;
	uint64_t left = report_at > now ? report_at - now : 0;
	size_t keep = sp->t.nevents < SAMPLER_MAX_EVENTS ?
		      SAMPLER_MAX_EVENTS - sp->t.nevents : 0;

	sp->limit = SAMPLER_LIMIT_NONE;
	if (sp->nsites && !sp->sites_dropped && sp->site_frac < budget_frac / 2)
		room = budget_frac - sp->site_frac;
	/* off = len * (used - b) / room, as a part of len + off */
	if (used > budget_frac) {
		d = room / (used - budget_frac + room);
		sp->limit = SAMPLER_LIMIT_BUDGET;
	}
	if (left && rate > 0 && (double)keep / (double)left < rate * d) {
		d = (double)keep / (double)left / rate;
		sp->limit = SAMPLER_LIMIT_REPORT;
	}
	return d;
}

/*
 * The window is over: what it showed decides how long the probes stay
 * out, and how long the next window is: the cost comes in small doses,
 * one window per CYCLE_NS, not one burst a minute.
 */
static void end_window(struct sampler *sp, double budget_frac, double hit_ns,
		       uint64_t report_at, uint64_t now)
{
	uint64_t len = now - sp->win_start, off;
	double d = duty(sp, budget_frac, hit_ns, len, report_at, now);

	sp->observed_ns += now - max_u64(sp->win_start, sp->span_start);
	sp->total_observed_ns += len;
	sp->cost_ns += (double)sp->win_hits * hit_ns;
	sp->win_hits = 0;
	if (d >= 1) {
		/* Cheap enough to stay in: a new window at once. */
		sp->win_start = now;
		sp->win_len = SAMPLER_WIN_NS;
		return;
	}
	sp->win_len = (uint64_t)(d * CYCLE_NS);
	if (sp->win_len < MIN_WIN_NS)
		sp->win_len = MIN_WIN_NS;
	if (sp->win_len > SAMPLER_WIN_NS)
		sp->win_len = SAMPLER_WIN_NS;
	/* The report is full: nothing until it is written. */
	off = d > 0 ? (uint64_t)((double)len * (1 - d) / d) :
		      report_at - now;
	if (off > MAX_OFF_NS)
		off = MAX_OFF_NS;
	tracer_links_drop(&sp->links);
	sp->on = false;
	sp->next_on = now + off;
	sites_in(sp, budget_frac, now);
}

uint64_t sampler_tick(struct sampler *sp, double budget_frac, double hit_ns,
		      uint64_t report_at, uint64_t now)
{
	struct errbuf err = { 0 };

	if (!sp->tr)
		return UINT64_MAX;
	count_lost(sp);
	/* A full report ends the window: more records would be dropped. */
	if (sp->on && (now - sp->win_start >= sp->win_len ||
		       sp->t.nevents >= SAMPLER_MAX_EVENTS))
		end_window(sp, budget_frac, hit_ns, report_at, now);
	if (!sp->on && now >= sp->next_on) {
		sites_out(sp, hit_ns, now);
		if (attach_ops(sp, &err)) {
			sp->next_on = now + MAX_OFF_NS;
			return sampler_due(sp);
		}
		sp->on = true;
		sp->win_start = now;
	}
	return sampler_due(sp);
}

uint64_t sampler_due(const struct sampler *sp)
{
	if (!sp->tr)
		return UINT64_MAX;
	return sp->on ? sp->win_start + sp->win_len : sp->next_on;
}

const char *sampler_limit_name(enum sampler_limit l)
{
	switch (l) {
	case SAMPLER_LIMIT_BUDGET:
		return "budget";
	case SAMPLER_LIMIT_REPORT:
		return "report";
	default:
		return "none";
	}
}

/*
 * Amortised: a window's cost is spread over the off time it bought, so
 * the figure is what the process pays on average, never above the budget
 * but for a window still open.
 */
double sampler_cost_pct(const struct sampler *sp, uint64_t now)
{
	uint64_t end = !sp->on && sp->next_on > now ? sp->next_on : now;
	uint64_t span = end - sp->start_ns;

	return span ? 100.0 * sp->cost_ns / (double)span : 0;
}

void sampler_meta(struct sampler *sp, double budget_pct, double hit_ns,
		  uint64_t now)
{
	uint64_t observed = sp->observed_ns;

	if (sp->on)
		observed += now - max_u64(sp->win_start, sp->span_start);
	sp->t.meta.sampling.on = true;
	sp->t.meta.sampling.observed_ns = observed;
	sp->t.meta.sampling.span_ns = now - sp->span_start;
	sp->t.meta.sampling.budget_pct = budget_pct;
	sp->t.meta.sampling.cost_pct = sampler_cost_pct(sp, now);
	sp->t.meta.sampling.hit_ns = hit_ns;
	sp->t.meta.sampling.limit = sampler_limit_name(sp->limit);
	sp->t.meta.sampling.nsites = sp->nsites;
	for (size_t i = 0; i < sp->nsites; i++)
		sp->t.meta.sampling.site_ret[i] = sp->site_pc[i] + 5 + sp->bias;
	sp->t.meta.sampling.site_hits = sp->site_hits;
	sp->t.meta.sampling.site_observed_ns = sp->site_observed_ns +
		(sp->sites_on ? now - max_u64(sp->sites_since, sp->span_start) :
				0);
	sp->t.meta.end_ns = now;
	sp->t.lost = sp->lost + sp->over_cap;
	sp->t.complete = true;
}

void sampler_reset(struct sampler *sp, uint64_t now)
{
	trace_drop_events(&sp->t);
	sp->t.dropped = 0;
	sp->observed_ns = 0;
	sp->span_start = now;
	sp->hits = sp->over_cap = sp->lost = sp->site_hits = 0;
	sp->site_observed_ns = 0;
	sp->t.meta.start_ns = now;
	sp->t.meta.wall_start_ns = trace_wall_now_ns();
	/* Out because the report was full: it is empty now. */
	if (!sp->on && sp->limit == SAMPLER_LIMIT_REPORT && sp->next_on > now)
		sp->next_on = now;
}

void sampler_detach(struct sampler *sp)
{
	tracer_links_drop(&sp->links);
	tracer_links_drop(&sp->site_links);
}

void sampler_stop(struct sampler *sp)
{
	sampler_detach(sp);
	sp->tr = NULL;
	trace_free(&sp->t);
}

/* The map function a CALL rel32 at link-time a calls: its op, or -1. */
static int call_op(const struct gobin *gb, uint64_t a)
{
	const uint8_t *p = elf_vaddr_ptr(&gb->elf, a, 5);
	uint64_t to;

	if (!p || p[0] != 0xe8)
		return -1;
	to = a + 5 + (uint64_t)(int64_t)(int32_t)((uint32_t)p[1] |
		(uint32_t)p[2] << 8 | (uint32_t)p[3] << 16 |
		(uint32_t)p[4] << 24);
	for (size_t i = 0; i < gb->nprobes; i++)
		if (gb->probes[i].entry == to &&
		    gb->probes[i].op != GMT_OP_FATAL)
			return gb->probes[i].op;
	return -1;
}

static void add_site(struct sampler *sp, const struct gobin *gb, uint64_t ret)
{
	uint64_t call = ret - sp->bias - 5;
	int64_t off;
	int op;

	for (size_t i = 0; i < sp->nsites; i++)
		if (sp->site_pc[i] == call)
			return;
	op = call_op(gb, call);
	off = op < 0 ? -1 : elf_vaddr_to_offset(&gb->elf, call);
	if (off < 0 || sp->nsites >= TRACER_MAX_SITES)
		return;
	sp->site_pc[sp->nsites] = call;
	sp->sites[sp->nsites++] = (struct site_probe){ (uint8_t)op, off };
}

size_t sampler_find_sites(struct sampler *sp, const struct analysis *an)
{
	const struct gobin *gb = sp->gb;

	for (size_t i = 0; i < an->nfindings; i++) {
		const struct an_map *m = &an->maps[i];

		for (size_t j = 0; j < m->nlines; j++) {
			const struct trace_stack *st =
				&sp->t.stacks[m->lines[j].stack];

			if (st->n && st->pc[0] > sp->bias + 5)
				add_site(sp, gb, st->pc[0]);
		}
	}
	return sp->nsites;
}
