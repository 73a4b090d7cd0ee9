// SPDX-License-Identifier: MIT
/*
 * The crash flight recorder's reading (crash.h). Everything is
 * bounded: at most CRASH_MAX_THREADS threads of GMT_HISTORY_LEN ops each,
 * gathered in two passes over events[] and histories[].
 */
#include <string.h>

#include "crash.h"

static bool is_map_error(const char *msg)
{
	return strstr(msg, "concurrent map") != NULL;
}

/* The earliest map error, else the earliest fatal. */
static const struct trace_fatal *pick_fatal(const struct trace *t)
{
	const struct trace_fatal *best = NULL;

	for (size_t i = 0; i < t->nfatals; i++) {
		const struct trace_fatal *f = &t->fatals[i];
		bool fm = is_map_error(f->msg);

		if (!best || (fm && !is_map_error(best->msg)) ||
		    (fm == is_map_error(best->msg) && f->ts_ns < best->ts_ns))
			best = f;
	}
	return best;
}

static struct crash_op from_event(const struct trace_event *ev)
{
	return (struct crash_op){ .ts_ns = ev->ts_ns, .map = ev->map,
				  .goid = ev->goid, .stack = ev->stack,
				  .op = ev->op, .flags = ev->flags };
}

static struct crash_op from_hist(const struct trace_hist_op *h)
{
	return (struct crash_op){ .ts_ns = h->ts_ns, .map = h->map,
				  .goid = h->goid, .stack = h->stack,
				  .op = h->op, .flags = h->flags };
}

/* The same op seen through the ring buffer and through the history. */
static bool same_op(const struct crash_op *a, const struct crash_op *b)
{
	return a->ts_ns == b->ts_ns && a->map == b->map && a->op == b->op &&
	       a->goid == b->goid;
}

/* Keeps the GMT_HISTORY_LEN latest ops, oldest first. */
static void keep_op(struct crash_thread *th, const struct crash_op *op)
{
	uint32_t i;

	for (i = 0; i < th->nops; i++)
		if (same_op(&th->ops[i], op))
			return;
	if (th->nops == GMT_HISTORY_LEN) {
		if (op->ts_ns <= th->ops[0].ts_ns)
			return;
		memmove(&th->ops[0], &th->ops[1],
			(GMT_HISTORY_LEN - 1) * sizeof(th->ops[0]));
		th->nops--;
	}
	for (i = th->nops; i > 0 && th->ops[i - 1].ts_ns > op->ts_ns; i--)
		th->ops[i] = th->ops[i - 1];
	th->ops[i] = *op;
	th->nops++;
}

static bool wants(const struct crash_thread *th, uint32_t tid,
		  const struct crash_op *op)
{
	return th->tid == tid && (!th->only_goid || op->goid == th->only_goid);
}

static void offer_op(struct crash *c, uint32_t tid, const struct crash_op *op,
		     uint64_t cut)
{
	if (op->ts_ns > cut)
		return;
	for (size_t i = 0; i < c->nthreads; i++)
		if (wants(&c->threads[i], tid, op))
			keep_op(&c->threads[i], op);
}

/* Every op of the chosen threads up to the crash, from both sources. */
static void gather_ops(const struct trace *t, struct crash *c, uint64_t cut)
{
	for (size_t i = 0; i < t->nevents; i++) {
		struct crash_op op = from_event(&t->events[i]);

		offer_op(c, t->events[i].tid, &op, cut);
	}
	for (size_t i = 0; i < t->nhistories; i++) {
		const struct trace_history *h = &t->histories[i];

		for (uint32_t j = 0; j < h->nops && j < GMT_HISTORY_LEN; j++) {
			struct crash_op op = from_hist(&h->ops[j]);

			offer_op(c, h->tid, &op, cut);
		}
	}
}

/*
 * The map: the crashing thread's last op (events of the fatal's goroutine
 * when known, its thread otherwise), else the last flagged op before it.
 * The history may hold the fatal call itself (op fatal, no map): skipped.
 */
static void pick_map(const struct trace *t, struct crash *c)
{
	const struct crash_thread *th = &c->threads[0];
	const struct trace_fatal *f = c->fatal;
	uint64_t best_ts = 0;

	for (uint32_t i = th->nops; i > 0; i--) {
		const struct crash_op *op = &th->ops[i - 1];

		if (op->op == GMT_OP_FATAL)
			continue;
		if (!f->goid || !op->goid || op->goid == f->goid) {
			c->has_map = true;
			c->map = op->map;
			return;
		}
	}
	for (size_t i = 0; i < t->nevents; i++) {
		const struct trace_event *ev = &t->events[i];

		if ((ev->flags & GMT_EV_WRITING) && ev->ts_ns <= f->ts_ns &&
		    ev->ts_ns >= best_ts) {
			best_ts = ev->ts_ns;
			c->has_map = true;
			c->map = ev->map;
		}
	}
}

/* The map's type: from the latest event on it up to the crash. */
static void pick_type(const struct trace *t, const struct analysis *an,
		      struct crash *c)
{
	uint64_t best_ts = 0;
	bool found = false;

	for (size_t i = 0; i < t->nevents; i++) {
		const struct trace_event *ev = &t->events[i];

		if (ev->map == c->map && ev->ts_ns <= c->fatal->ts_ns &&
		    (!found || ev->ts_ns >= best_ts)) {
			best_ts = ev->ts_ns;
			c->type = ev->type;
			found = true;
		}
	}
	c->an_map = an ? an_find_map(an, c->map, c->fatal->ts_ns) : -1;
	if (!found && c->an_map >= 0)
		c->type = an->maps[c->an_map].type;
	if (c->type)
		c->type_name = trace_type_name(t, c->type);
}

struct candidate {
	uint32_t tid;
	uint64_t goid;		/* 0: the whole thread */
	uint64_t ts;
};

static void offer(struct candidate *cand, size_t *n, uint32_t tid,
		  uint64_t goid, uint64_t ts)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (cand[i].tid == tid && cand[i].goid == goid) {
			if (ts > cand[i].ts)
				cand[i].ts = ts;
			return;
		}
	if (*n < CRASH_MAX_THREADS * 8)
		cand[(*n)++] = (struct candidate){ tid, goid, ts };
}

/* Another thread on the map, or another goroutine on the dying thread. */
static void consider(const struct crash *c, struct candidate *cand,
		     size_t *n, uint32_t tid, const struct crash_op *op)
{
	const struct trace_fatal *f = c->fatal;

	if (op->map != c->map || op->op == GMT_OP_FATAL || op->ts_ns > f->ts_ns ||
	    f->ts_ns - op->ts_ns > CRASH_RECENT_NS)
		return;
	if (tid != f->tid)
		offer(cand, n, tid, 0, op->ts_ns);
	else if (f->goid && op->goid && op->goid != f->goid)
		offer(cand, n, tid, op->goid, op->ts_ns);
}

/*
 * The other sides, latest first. A bounded candidate list is enough: the
 * busiest programs have a few dozen threads.
 */
static void pick_others(const struct trace *t, struct crash *c)
{
	struct candidate cand[CRASH_MAX_THREADS * 8];
	size_t n = 0;

	for (size_t i = 0; i < t->nevents; i++) {
		struct crash_op op = from_event(&t->events[i]);

		consider(c, cand, &n, t->events[i].tid, &op);
	}
	for (size_t i = 0; i < t->nhistories; i++) {
		const struct trace_history *h = &t->histories[i];

		for (uint32_t j = 0; j < h->nops && j < GMT_HISTORY_LEN; j++) {
			struct crash_op op = from_hist(&h->ops[j]);

			consider(c, cand, &n, h->tid, &op);
		}
	}
	while (c->nthreads < CRASH_MAX_THREADS && n) {
		size_t best = 0;

		for (size_t i = 1; i < n; i++)
			if (cand[i].ts > cand[best].ts ||
			    (cand[i].ts == cand[best].ts &&
			     cand[i].tid < cand[best].tid))
				best = i;
		c->threads[c->nthreads++] = (struct crash_thread){
			.tid = cand[best].tid, .goid = cand[best].goid,
			.only_goid = cand[best].goid, .side = -1 };
		cand[best] = cand[--n];
	}
}

/* Each entry's side: its last op on the map, by its goroutine if known. */
static void mark_sides(struct crash *c)
{
	for (size_t i = 0; i < c->nthreads; i++) {
		struct crash_thread *th = &c->threads[i];

		th->side = -1;
		for (uint32_t j = th->nops; c->has_map && j > 0; j--) {
			const struct crash_op *op = &th->ops[j - 1];

			if (op->map != c->map || op->op == GMT_OP_FATAL ||
			    (th->goid && op->goid && op->goid != th->goid))
				continue;
			th->side = j - 1;
			break;
		}
		if (th->side >= 0 && !th->goid)
			th->goid = th->ops[th->side].goid;
	}
}

bool crash_analyze(const struct trace *t, const struct analysis *an,
		   struct crash *c)
{
	const struct trace_fatal *f = pick_fatal(t);

	memset(c, 0, sizeof(*c));
	c->an_map = -1;
	if (!f)
		return false;
	c->fatal = f;
	c->map_error = is_map_error(f->msg);
	c->threads[0] = (struct crash_thread){ .tid = f->tid, .goid = f->goid,
					       .crashing = true, .side = -1 };
	c->nthreads = 1;
	gather_ops(t, c, f->ts_ns);
	if (c->map_error)
		pick_map(t, c);
	if (!c->has_map) {
		mark_sides(c);
		return true;
	}
	pick_type(t, an, c);
	pick_others(t, c);
	c->threads[0].nops = 0;
	gather_ops(t, c, f->ts_ns);
	mark_sides(c);
	return true;
}

const struct crash_thread *crash_other_side(const struct crash *c)
{
	for (size_t i = 1; i < c->nthreads; i++)
		if (c->threads[i].side >= 0)
			return &c->threads[i];
	return NULL;
}
