/* SPDX-License-Identifier: MIT */
#ifndef GMT_SAMPLER_H
#define GMT_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "errbuf.h"
#include "gobin.h"
#include "trace.h"
#include "tracer.h"

/*
 * The daemon's map-operation probes on one process, duty-cycled to stay
 * within a budget: attached for a window, then detached for as long as the
 * window's hits (times the calibrated cost of a hit) say, so that what
 * they add averages at most budget_frac of one CPU. A process whose
 * window costs less than the budget keeps them in. The programs are the
 * binary's, loaded once for all its processes (bingroup.h); windows only
 * attach and detach this process's links (tracer_attach_pid). Its records
 * come from the daemon's one ring buffer, handed over by sampler_add().
 */
#define SAMPLER_OPS	(TRACE_DEFAULT_OPS & ~(1u << GMT_OP_FATAL))
#define SAMPLER_FIRST_WIN_NS	20000000ULL	/* 20 ms: a first look */
#define SAMPLER_WIN_NS		250000000ULL
#define SAMPLER_MAX_EVENTS	200000		/* kept per report */

/* What kept the map probes out last: their cost, or a report near full. */
enum sampler_limit {
	SAMPLER_LIMIT_NONE,
	SAMPLER_LIMIT_BUDGET,
	SAMPLER_LIMIT_REPORT,
};

struct sampler {
	struct tracer *tr;		/* the binary's; NULL: not sampling */
	struct gobin *gb;		/* the binary's */
	pid_t pid;
	uint64_t bias;			/* its load bias */
	struct tracer_links links, site_links;
	struct trace t;			/* since the last report */
	bool on;
	uint64_t start_ns;		/* sampling began */
	uint64_t win_start, win_len, next_on;
	uint64_t win_hits;		/* records of this window */
	enum sampler_limit limit;	/* of the last window */
	uint64_t lost_seen;		/* tracer_watch_lost(), last look */
	/* Since the last report, and in all. */
	uint64_t observed_ns, span_start;
	uint64_t hits, total_hits, total_observed_ns;
	double cost_ns;			/* estimated, since start */
	uint64_t over_cap;		/* events not kept (SAMPLER_MAX_EVENTS) */
	uint64_t lost;			/* records the ring buffer lost */
	uint64_t total_lost, total_over_cap;	/* never reset */
	bool failed;			/* could not attach: not retried */
	/*
	 * Targeted probes: the call sites of the maps found shared, in while
	 * the map functions' probes are out (never both: no op twice).
	 */
	struct site_probe sites[TRACER_MAX_SITES];
	uint64_t site_pc[TRACER_MAX_SITES];	/* link-time CALL address */
	size_t nsites;
	bool sites_on, sites_dropped;
	uint64_t sites_since;		/* attached at */
	uint64_t site_hits_off;		/* in the current off period */
	double site_frac;		/* their cost, of one CPU, last seen */
	uint64_t site_observed_ns, site_hits;
};

/* Its probes go in at once: the first window opens. */
int sampler_start(struct sampler *sp, struct tracer *tr, struct gobin *gb,
		  pid_t pid, uint64_t bias, struct errbuf *err);
/* One of its records, from the ring buffer. */
void sampler_add(struct sampler *sp, const struct gmt_event *ev);
/*
 * Counts what the ring lost, ends or begins a window as due (the ring
 * drained first). budget_frac: of one CPU; hit_ns: the calibrated cost of
 * a hit; report_at: when the next report is due, until which the records
 * it can still keep are spread. Returns when it next needs a look
 * (CLOCK_MONOTONIC ns).
 */
uint64_t sampler_tick(struct sampler *sp, double budget_frac, double hit_ns,
		      uint64_t report_at, uint64_t now);
/* When it next needs a look, as sampler_tick() last said, or since. */
uint64_t sampler_due(const struct sampler *sp);
/* "budget", "report" or "none": for reports and status. */
const char *sampler_limit_name(enum sampler_limit l);
/* Fills t->meta.sampling for a report of what was kept since the last. */
void sampler_meta(struct sampler *sp, double budget_pct, double hit_ns,
		  uint64_t now);
/* After a report: drop the events, start a new span. */
void sampler_reset(struct sampler *sp, uint64_t now);
/* Estimated cost so far, in percent of one CPU. */
double sampler_cost_pct(const struct sampler *sp, uint64_t now);
/* Its probes out (a crash: nothing more to sample); its events stay. */
void sampler_detach(struct sampler *sp);
void sampler_stop(struct sampler *sp);

struct analysis;
/*
 * The call sites (CALL rel32 into a map function, in the user's code) of
 * the shared maps an found in sp->t: up to TRACER_MAX_SITES, kept from
 * then on. Returns how many are known.
 */
/* Found sites go in at once when the map probes are out. */
void sampler_sites_now(struct sampler *sp, double budget_frac, uint64_t now);
size_t sampler_find_sites(struct sampler *sp, const struct analysis *an);

#endif
