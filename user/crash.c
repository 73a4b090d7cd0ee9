// SPDX-License-Identifier: MIT
/*
 * The crash flight recorder's reading (crash.h). Everything is
 * bounded: at most CRASH_MAX_THREADS threads of GMT_HISTORY_LEN ops each,
 * gathered in two passes over events[] and histories[].
 */
#include <string.h>

#include "crash.h"
#include "snapshot.h"

static bool is_map_error(const char *msg)
{
	return strstr(msg, "concurrent map") != NULL;
}

/* Raised by the reader, in mapaccess: the one side that is not probed. */
static bool is_read_error(const char *msg)
{
	return strstr(msg, "map read and map write") != NULL;
}

/* Raised where the dying side found the write flag set. */
static bool is_flag_error(const char *msg)
{
	return is_read_error(msg) ||
	       strstr(msg, "map iteration and map write") != NULL ||
	       strstr(msg, "map clone and map write") != NULL;
}

/*
 * The runtime's frames, linknamed helpers included: sync.fatal and the
 * like are runtime code (runtime/panic.go) under another package's name.
 */
static bool is_runtime(const struct trace_frame *f)
{
	static const char panic_go[] = "/src/runtime/panic.go";
	size_t n = strlen(f->file), k = sizeof(panic_go) - 1;

	return !strncmp(f->function, "runtime.", 8) ||
	       !strncmp(f->function, "internal/runtime/", 17) ||
	       (n >= k && !strcmp(f->file + n - k, panic_go));
}

/*
 * What a runtime map function does, by name: the entry points the
 * compiler calls (runtime.mapaccess1_fast64, ...) and, should one be
 * inlined away, the Swiss-map methods behind them.
 */
static uint8_t op_of_func(const char *fn)
{
	static const struct { const char *part; uint8_t op; } ops[] = {
		{ "mapaccess", CRASH_OP_READ },
		{ "(*Map).Get", CRASH_OP_READ },
		{ "mapassign", GMT_OP_ASSIGN },
		{ "(*Map).Put", GMT_OP_ASSIGN },
		{ "mapdelete", GMT_OP_DELETE },
		{ "(*Map).Delete", GMT_OP_DELETE },
		{ "mapclear", GMT_OP_CLEAR },
		{ "(*Map).Clear", GMT_OP_CLEAR },
		{ "mapiternext", GMT_OP_ITER_NEXT },
		{ "mapIterNext", GMT_OP_ITER_NEXT },
		{ "(*Iter).Next", GMT_OP_ITER_NEXT },
		{ "mapiterinit", GMT_OP_ITER_INIT },
		{ "mapIterStart", GMT_OP_ITER_INIT },
		{ "(*Iter).Init", GMT_OP_ITER_INIT },
		{ "mapclone", CRASH_OP_CLONE },
		{ "(*Map).Clone", CRASH_OP_CLONE },
	};

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strstr(fn, ops[i].part))
			return ops[i].op;
	return CRASH_OP_UNKNOWN;
}

/*
 * The dying thread's own stack at the fatal call: runtime frames first
 * (runtime.fatal's caller, ...), then the user's statement. An
 * unsymbolised PC counts as the user's: it is shown, not hidden.
 */
static void read_fatal_stack(const struct trace *t, struct crash *c)
{
	struct trace_where fr[TRACE_MAX_FRAMES];
	size_t n = trace_stack_expand(t, c->fatal->stack, fr, TRACE_MAX_FRAMES);

	c->user_frame = -1;
	c->op = CRASH_OP_UNKNOWN;
	for (size_t i = 0; i < n; i++) {
		if (fr[i].f && is_runtime(fr[i].f))
			continue;
		c->user_frame = (int32_t)i;
		if (i && fr[i - 1].f) {
			c->in_func = fr[i - 1].f->function;
			c->op = op_of_func(c->in_func);
		}
		return;
	}
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

/*
 * Calls fn for every op the trace holds: each event, then each history
 * slot (the same op may come through both: keep_op drops the twin).
 */
typedef void (*op_fn)(void *ctx, uint32_t tid, const struct crash_op *op);

static void each_op(const struct trace *t, op_fn fn, void *ctx)
{
	for (size_t i = 0; i < t->nevents; i++) {
		struct crash_op op = from_event(&t->events[i]);

		fn(ctx, t->events[i].tid, &op);
	}
	for (size_t i = 0; i < t->nhistories; i++) {
		const struct trace_history *h = &t->histories[i];

		for (uint32_t j = 0; j < h->nops && j < GMT_HISTORY_LEN; j++) {
			struct crash_op op = from_hist(&h->ops[j]);

			fn(ctx, h->tid, &op);
		}
	}
}

/* Keeps an op up to the crash for each chosen thread that wants it. */
static void offer_op(void *ctx, uint32_t tid, const struct crash_op *op)
{
	struct crash *c = ctx;

	if (op->ts_ns > c->fatal->ts_ns)
		return;
	for (size_t i = 0; i < c->nthreads; i++)
		if (wants(&c->threads[i], tid, op))
			keep_op(&c->threads[i], op);
}

/* Every op of the chosen threads up to the crash, from both sources. */
static void gather_ops(const struct trace *t, struct crash *c)
{
	each_op(t, offer_op, c);
}

/* The dying goroutine's last op on a map (not the fatal call itself). */
static bool dying_op_map(struct crash *c)
{
	const struct crash_thread *th = &c->threads[0];
	const struct trace_fatal *f = c->fatal;

	for (uint32_t i = th->nops; i > 0; i--) {
		const struct crash_op *op = &th->ops[i - 1];

		if (op->op == GMT_OP_FATAL)
			continue;
		if (!f->goid || !op->goid || op->goid == f->goid) {
			c->map = op->map;
			return true;
		}
	}
	return false;
}

static bool flagged_op_map(const struct trace *t, struct crash *c)
{
	const struct trace_fatal *f = c->fatal;
	uint64_t best_ts = 0;
	bool found = false;

	for (size_t i = 0; i < t->nevents; i++) {
		const struct trace_event *ev = &t->events[i];

		if ((ev->flags & GMT_EV_WRITING) && ev->ts_ns <= f->ts_ns &&
		    ev->ts_ns >= best_ts) {
			best_ts = ev->ts_ns;
			c->map = ev->map;
			found = true;
		}
	}
	return found;
}

struct last_write {
	const struct trace_fatal *f;
	uint64_t ts, map;
};

/* A write by another goroutine (another thread when goids are unknown). */
static void offer_write(void *ctx, uint32_t tid, const struct crash_op *op)
{
	struct last_write *lw = ctx;
	const struct trace_fatal *f = lw->f;
	bool other = f->goid && op->goid ? op->goid != f->goid : tid != f->tid;

	if (!other || !trace_op_is_write(op->op) || op->ts_ns > f->ts_ns ||
	    f->ts_ns - op->ts_ns > CRASH_RECENT_NS || op->ts_ns < lw->ts)
		return;
	lw->ts = op->ts_ns;
	lw->map = op->map;
}

static bool last_write_map(const struct trace *t, struct crash *c)
{
	struct last_write lw = { .f = c->fatal };

	each_op(t, offer_write, &lw);
	c->map = lw.map;
	return lw.map != 0;
}

static bool took_snapshot(const struct trace_freeze *fz)
{
	return fz->status == SNAP_FROZEN || fz->status == SNAP_RELEASED_EARLY;
}

/*
 * The crash guard's snapshot of this fatal's process, when it froze it:
 * the one this fatal's thread triggered, else any. Both writers may reach
 * the fatal path at once; the process is frozen once (by whichever thread
 * got there first in the kernel), and the crash reading may have picked
 * the other thread's fatal record, so the snapshot serves it too.
 */
static const struct trace_freeze *frozen(const struct trace *t,
					 const struct crash *c)
{
	const struct trace_freeze *any = NULL;

	for (size_t i = 0; i < t->nfreezes; i++) {
		const struct trace_freeze *fz = &t->freezes[i];

		if (!took_snapshot(fz))
			continue;
		if (fz->tid == c->fatal->tid)
			return fz;
		if (!any)
			any = fz;
	}
	return any;
}

static const struct snap_thread *frozen_thread(const struct trace_freeze *fz,
					       uint32_t tid)
{
	for (size_t i = 0; fz && i < fz->nthreads; i++)
		if (fz->threads[i].tid == tid)
			return &fz->threads[i];
	return NULL;
}

/* The map the frozen dying thread's map function works on. */
static bool frozen_map(const struct trace *t, struct crash *c)
{
	const struct snap_thread *st =
		frozen_thread(frozen(t, c), c->fatal->tid);

	if (!st || !(st->flags & SNAP_T_MAP_KNOWN) || !st->map)
		return false;
	c->map = st->map;
	return true;
}

/*
 * Another thread frozen inside a map function, its map read. The thread
 * that froze the process is not always the fatal the reading picked: when
 * both writers reach the fatal path at once, the other one is a side.
 */
static bool is_frozen_side(const struct crash *c, const struct snap_thread *st)
{
	return st->tid != c->fatal->tid && (st->flags & SNAP_T_IN_MAP);
}

/*
 * Nothing else named the map: the one another frozen thread's map
 * function works on (a reader's map is gone from its frame at the fatal
 * call; the writer it raced with still holds it).
 */
static bool frozen_side_map(const struct trace *t, struct crash *c)
{
	const struct trace_freeze *fz = frozen(t, c);

	for (size_t i = 0; fz && i < fz->nthreads; i++) {
		const struct snap_thread *st = &fz->threads[i];

		if (is_frozen_side(c, st) && (st->flags & SNAP_T_MAP_KNOWN) &&
		    st->map) {
			c->map = st->map;
			return true;
		}
	}
	return false;
}

/*
 * The map: the dying goroutine's last op, else the last op that found it
 * being written, else the last write by another goroutine, else the map
 * another frozen thread was working on. The map the
 * crash guard read from the frozen dying thread comes before the two
 * guesses. A reader's own ops say nothing (it may have written another
 * map last): for a read only the others count, and the report says which.
 */
static void pick_map(const struct trace *t, struct crash *c)
{
	bool read = is_read_error(c->fatal->msg);

	if (!read && dying_op_map(c))
		c->map_from = CRASH_MAP_DYING_OP;
	else if (frozen_map(t, c))
		c->map_from = CRASH_MAP_FROZEN;
	else if (flagged_op_map(t, c))
		c->map_from = CRASH_MAP_FLAGGED_OP;
	else if (last_write_map(t, c))
		c->map_from = CRASH_MAP_LAST_WRITE;
	else if (frozen_side_map(t, c))
		c->map_from = CRASH_MAP_FROZEN_SIDE;
	c->has_map = c->map_from != CRASH_MAP_NONE;
}

/*
 * Traced nothing on it: the type a frozen thread's map function held
 * beside the map in its spill slots (the dying thread's first).
 */
static uint64_t frozen_type(const struct trace *t, const struct crash *c)
{
	const struct trace_freeze *fz = frozen(t, c);

	for (size_t i = 0; fz && i < fz->nthreads; i++) {
		const struct snap_thread *st = &fz->threads[i];

		if ((st->flags & SNAP_T_MAP_KNOWN) && st->map == c->map &&
		    st->map_type)
			return st->map_type;
	}
	return 0;
}

/*
 * The map's type: from the latest event on it up to the crash, else from
 * the frozen threads' frames.
 */
static void pick_type(const struct trace *t, struct crash *c)
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
	if (!c->type)
		c->type = frozen_type(t, c);
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

struct candidates {
	const struct crash *c;
	struct candidate cand[CRASH_MAX_THREADS * 8];
	size_t n;
};

/* Another thread on the map, or another goroutine on the dying thread. */
static void consider(void *ctx, uint32_t tid, const struct crash_op *op)
{
	struct candidates *cs = ctx;
	const struct trace_fatal *f = cs->c->fatal;

	if (op->map != cs->c->map || op->op == GMT_OP_FATAL ||
	    op->ts_ns > f->ts_ns || f->ts_ns - op->ts_ns > CRASH_RECENT_NS)
		return;
	if (tid != f->tid)
		offer(cs->cand, &cs->n, tid, 0, op->ts_ns);
	else if (f->goid && op->goid && op->goid != f->goid)
		offer(cs->cand, &cs->n, tid, op->goid, op->ts_ns);
}

/*
 * The other sides, latest first. A bounded candidate list is enough: the
 * busiest programs have a few dozen threads.
 */
static void pick_others(const struct trace *t, struct crash *c)
{
	struct candidates cs = { .c = c };
	struct candidate *cand = cs.cand;
	size_t n;

	each_op(t, consider, &cs);
	n = cs.n;
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

/*
 * The dying side as an op: its own last op on the map, unless that op is
 * not the call that died (a read is not probed), then the fatal call
 * itself at the user's statement.
 */
static void dying_side(struct crash *c)
{
	const struct crash_thread *th = &c->threads[0];
	const struct trace_fatal *f = c->fatal;
	bool flag = c->map_error && is_flag_error(f->msg);

	if (th->side >= 0 && c->op != CRASH_OP_READ &&
	    c->op != CRASH_OP_CLONE) {
		c->fatal_op = th->ops[th->side];
		c->dying_op_probed = true;
		return;
	}
	c->fatal_op = (struct crash_op){
		.ts_ns = f->ts_ns, .map = c->has_map ? c->map : 0,
		.goid = f->goid, .stack = f->stack, .op = c->op,
		.flags = flag ? GMT_EV_WRITING : 0,
		.skip = c->user_frame > 0 ? (uint8_t)c->user_frame : 0 };
}

/*
 * The latest write by another side that began before the dying side's op,
 * when that op found the flag set: the write it found in progress.
 */
static const struct crash_thread *flag_owner(const struct crash *c)
{
	const struct crash_op *d = &c->fatal_op;
	const struct crash_thread *best = NULL;

	if (!c->dying_op_probed || !(d->flags & GMT_EV_WRITING))
		return NULL;
	for (size_t i = 1; i < c->nthreads; i++) {
		const struct crash_thread *th = &c->threads[i];
		const struct crash_op *o;

		if (th->side < 0)
			continue;
		o = &th->ops[th->side];
		if (trace_op_is_write(o->op) && o->ts_ns <= d->ts_ns &&
		    o->goid != d->goid &&
		    (!best || o->ts_ns > best->ops[best->side].ts_ns))
			best = th;
	}
	return best;
}

/*
 * A frozen thread counts as a side when it is inside a runtime map
 * function on the crash's map, or on a map its frame no longer held (then
 * it may be another map: the report says the map was not recoverable).
 */
static bool frozen_on_map(const struct crash *c, const struct snap_thread *st)
{
	if (st->tid != c->fatal->tid &&
	    (st->flags & SNAP_T_AT_MAP_CALL) && st->map_func)
		return true;
	if (!is_frozen_side(c, st))
		return false;
	if (!(st->flags & SNAP_T_MAP_KNOWN))
		return true;
	return !c->has_map || st->map == c->map;
}

/* Its goroutine: from R14 when trusted. */
static uint64_t snap_goid(const struct snap_thread *st)
{
	return (st->flags & SNAP_T_ON_G) ? st->goid : 0;
}

/* The entry with a traced side for the same goroutine (else thread). */
static struct crash_thread *traced_entry(struct crash *c,
					 const struct snap_thread *st)
{
	uint64_t goid = snap_goid(st);

	for (size_t i = 1; i < c->nthreads; i++) {
		struct crash_thread *th = &c->threads[i];

		if (th->side < 0)
			continue;
		if (goid && th->goid ? th->goid == goid : th->tid == st->tid)
			return th;
	}
	return NULL;
}

/*
 * Expanded frames of a snapshot's PCs, innermost first, as
 * trace_stack_expand does for a trace stack.
 */
static size_t snap_expand(const struct trace *t, const struct snap_thread *st,
			  struct trace_where *out, size_t max)
{
	size_t n = 0;

	for (uint32_t i = 0; i < st->npcs && i < SNAP_MAX_PCS && n < max;
	     i++) {
		uint32_t nf;
		const struct trace_frame *f = trace_pc_frames(t, st->pc[i],
							      &nf);

		if (!nf) {
			out[n++] = (struct trace_where){ st->pc[i], NULL };
			continue;
		}
		for (uint32_t j = 0; j < nf && n < max; j++)
			out[n++] = (struct trace_where){ st->pc[i], &f[j] };
	}
	return n;
}

/* The frozen thread's side: its first frame outside the runtime on. */
static struct crash_op snap_op(const struct trace *t, const struct crash *c,
			       const struct snap_thread *st)
{
	struct trace_where fr[TRACE_MAX_FRAMES];
	size_t n = snap_expand(t, st, fr, TRACE_MAX_FRAMES), skip = 0;

	while (skip < n && fr[skip].f && is_runtime(fr[skip].f))
		skip++;
	if (skip == n)
		skip = 0;	/* all of it the runtime's: show it all */
	return (struct crash_op){
		.ts_ns = c->fatal->ts_ns,
		.map = (st->flags & SNAP_T_MAP_KNOWN) ? st->map : 0,
		.goid = snap_goid(st), .stack = UINT32_MAX,
		.op = st->map_func ? op_of_func(st->map_func) :
				     CRASH_OP_UNKNOWN,
		.skip = skip > UINT8_MAX ? UINT8_MAX : (uint8_t)skip,
		.snap = st };
}

/*
 * The crash guard's sides: a traced side frozen inside a map function on
 * the map gets that evidence; a frozen thread with no traced side (crash-
 * only mode, or an op the probes missed) becomes a side of its own.
 */
static void frozen_sides(const struct trace *t, struct crash *c,
			 const struct trace_freeze *fz)
{
	for (size_t i = 0; fz && i < fz->nthreads; i++) {
		const struct snap_thread *st = &fz->threads[i];
		struct crash_thread *th;

		if (!frozen_on_map(c, st) ||
		    (snap_goid(st) && snap_goid(st) == c->fatal->goid))
			continue;
		th = traced_entry(c, st);
		/*
		 * A traced side keeps its history's evidence unless the
		 * freeze proves more: frozen on this very map.
		 */
		if (th && !((st->flags & SNAP_T_MAP_KNOWN) && c->has_map))
			continue;
		if (!th && c->nthreads >= CRASH_MAX_THREADS)
			continue;
		if (!th) {
			th = &c->threads[c->nthreads++];
			*th = (struct crash_thread){
				.tid = st->tid, .goid = snap_goid(st),
				.side = -1, .frozen_side = true,
				.frozen_op = snap_op(t, c, st) };
		}
		th->evidence = (st->flags & SNAP_T_AT_MAP_CALL) ?
			       CRASH_EV_AT_CALL : CRASH_EV_FROZEN;
		th->frozen_in = st->map_func;
		th->frozen_map_known = (st->flags & SNAP_T_MAP_KNOWN) &&
				       c->has_map;
	}
}

/* Why each thread is named: only evidence lets a side be "in" an op. */
static void judge_evidence(const struct trace *t, struct crash *c)
{
	const struct crash_thread *owner = flag_owner(c);
	const struct trace_freeze *fz = c->map_error ? frozen(t, c) : NULL;

	c->threads[0].evidence = c->user_frame >= 0 ? CRASH_EV_STACK :
				 c->threads[0].side >= 0 ? CRASH_EV_RECENT :
				 CRASH_EV_NONE;
	for (size_t i = 1; i < c->nthreads; i++) {
		struct crash_thread *th = &c->threads[i];

		if (th->side < 0)
			th->evidence = CRASH_EV_NONE;
		else if (th->ops[th->side].flags & GMT_EV_WRITING)
			th->evidence = CRASH_EV_FLAG_OWN;
		else if (th == owner)
			th->evidence = CRASH_EV_FLAG_OTHER;
		else
			th->evidence = CRASH_EV_RECENT;
		if (th == owner)
			th->flag_goid = c->fatal_op.goid;
	}
	frozen_sides(t, c, fz);
}

bool crash_analyze(const struct trace *t, struct crash *c)
{
	const struct trace_fatal *f = pick_fatal(t);

	memset(c, 0, sizeof(*c));
	c->an_map = -1;
	if (!f)
		return false;
	c->fatal = f;
	c->map_error = is_map_error(f->msg);
	c->map_impl = t->meta.map_impl;
	c->ops_traced = t->meta.ops_mask != (1u << GMT_OP_FATAL);
	c->frozen = frozen(t, c) != NULL;
	read_fatal_stack(t, c);
	c->threads[0] = (struct crash_thread){ .tid = f->tid, .goid = f->goid,
					       .crashing = true, .side = -1 };
	c->nthreads = 1;
	gather_ops(t, c);
	if (c->map_error)
		pick_map(t, c);
	if (c->has_map) {
		pick_type(t, c);
		pick_others(t, c);
		c->threads[0].nops = 0;
		gather_ops(t, c);
	}
	mark_sides(c);
	dying_side(c);
	judge_evidence(t, c);
	return true;
}

bool crash_has_side(const struct crash_thread *th)
{
	return th->side >= 0 || th->frozen_side;
}

const struct crash_thread *crash_other_side(const struct crash *c)
{
	for (size_t i = 1; i < c->nthreads; i++)
		if (crash_has_side(&c->threads[i]))
			return &c->threads[i];
	return NULL;
}

const struct crash_op *crash_side_op(const struct crash *c,
				     const struct crash_thread *th)
{
	if (th->crashing)
		return c->map_error && (th->side >= 0 || c->user_frame >= 0) ?
		       &c->fatal_op : NULL;
	if (th->side >= 0)
		return &th->ops[th->side];
	return th->frozen_side ? &th->frozen_op : NULL;
}

size_t crash_op_frames(const struct trace *t, const struct crash_op *op,
		       struct trace_where *out, size_t max)
{
	struct trace_where fr[TRACE_MAX_FRAMES];
	size_t n = op->snap ? snap_expand(t, op->snap, fr, TRACE_MAX_FRAMES) :
			      trace_stack_expand(t, op->stack, fr, TRACE_MAX_FRAMES);
	size_t k = 0;

	for (size_t i = op->skip; i < n && k < max; i++)
		out[k++] = fr[i];
	return k;
}

/*
 * "Was in" its op on this map: a frozen side whose map was not
 * recoverable may have been on another map.
 */
bool crash_was_in(const struct crash_thread *th)
{
	return th->evidence == CRASH_EV_STACK ||
	       th->evidence == CRASH_EV_FLAG_OWN ||
	       th->evidence == CRASH_EV_FLAG_OTHER ||
	       (th->evidence == CRASH_EV_FROZEN && th->frozen_map_known);
}

const char *crash_op_name(unsigned op)
{
	if (op == CRASH_OP_READ)
		return "read";
	if (op == CRASH_OP_CLONE)
		return "clone";
	if (op == CRASH_OP_UNKNOWN)
		return "unknown";
	return trace_op_name(op);
}

const char *crash_evidence_name(unsigned ev)
{
	static const char *const names[] = {
		[CRASH_EV_NONE] = "none",
		[CRASH_EV_STACK] = "crash_stack",
		[CRASH_EV_FLAG_OWN] = "flag_at_its_op",
		[CRASH_EV_FLAG_OTHER] = "flag_at_dying_op",
		[CRASH_EV_RECENT] = "last_touch",
		[CRASH_EV_FROZEN] = "frozen_inside",
		[CRASH_EV_AT_CALL] = "frozen_at_call",
	};

	return ev < sizeof(names) / sizeof(names[0]) ? names[ev] : "none";
}

const char *crash_map_from_name(unsigned from)
{
	static const char *const names[] = {
		[CRASH_MAP_DYING_OP] = "dying_op",
		[CRASH_MAP_FLAGGED_OP] = "flagged_op",
		[CRASH_MAP_LAST_WRITE] = "last_write",
		[CRASH_MAP_FROZEN] = "frozen",
		[CRASH_MAP_FROZEN_SIDE] = "frozen_side",
	};

	return from < sizeof(names) / sizeof(names[0]) ? names[from] : NULL;
}

/*
 * Bucket maps set hashWriting when a write begins and clear it when it
 * ends; Swiss maps toggle Map.writing with XOR, so two writes in progress
 * leave it clear (DESIGN-NOTES §5).
 */
const char *crash_flag_note(const struct crash *c)
{
	if (!strcmp(c->map_impl, "buckets"))
		return "bucket maps (Go <= 1.23) set the write flag "
		       "(hmap.flags & hashWriting) when a write begins and clear "
		       "it when it ends: set at an operation's start proves "
		       "another write was in progress; clear proves none was";
	if (!strcmp(c->map_impl, "swiss"))
		return "Swiss maps (Go >= 1.24) toggle the write flag "
		       "(Map.writing) with XOR, so two writes in progress leave "
		       "it clear: set at an operation's start proves a write "
		       "was in progress; clear proves nothing";
	return "the map implementation is unknown: what the write flag "
	       "proves is unknown";
}
