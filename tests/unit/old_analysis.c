// SPDX-License-Identifier: MIT
/*
 * The contention analysis as it was before streaming (commit 93ac59b),
 * verbatim: tests/unit/test_stream.c includes it under other names and
 * compares the new analysis with it. Not built into gomaptrace.
 */
/*
 * Contention analysis (include/analysis.h): one pass over the events in
 * timestamp order, with a little state per map identity — the last write,
 * the last write by someone else, the iterations still open.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "crash.h"
#include "kvtab.h"

#define MAX_OPEN_ITERS	8	/* range loops tracked at once per map */
#define HOT_MIN_HANDOFFS 10	/* fewer is never "hot", whatever the rate */
#define MIN_SPAN_NS	1000000ULL

#define LINE_NONE	UINT64_MAX	/* the stack is empty */
#define LINE_RAW	(1ULL << 63)	/* a PC with no frames: itself */
#define OWNER_TID	(1ULL << 63)	/* goid unknown: the thread stands in */

struct open_iter {
	uint64_t g;
	uint32_t site;
	uint32_t writer_site;	/* last other goroutine's write inside it */
	uint64_t pending;	/* such writes not yet confirmed by a next */
	bool used;
};

/* Per identity, what the walk needs to remember. */
struct ident_work {
	uint32_t seed;		/* the last known hash seed, 0 none yet */
	bool reset_pending;	/* a clear or emptying delete may reseed it */
	uint64_t reset_g;	/* the goroutine that cleared or deleted */
	bool have_last, have_other;
	uint64_t last_g, last_ts;
	uint32_t last_site;
	uint64_t other_g, other_ts;	/* last write by a goroutine != last_g */
	uint32_t other_site;
	struct open_iter iters[MAX_OPEN_ITERS];
	unsigned next_iter;
};

struct work {
	const struct trace *t;
	struct analysis *an;
	uint64_t tight_ns;
	double hot_rate;
	uint32_t *order;	/* event indexes by time */
	uint64_t *stack_line;	/* per stack: line key */
	struct ident_work *iw;
	size_t cap_maps;
	struct kvtab addrs, threads, gors, wthreads, wgors, lines, pairs;
};

bool an_is_write(unsigned op)
{
	return op == GMT_OP_ASSIGN || op == GMT_OP_DELETE ||
	       op == GMT_OP_CLEAR;
}

/* ---- time order ---------------------------------------------------------- */

struct ord {
	uint64_t ts;
	uint32_t idx;
};

static int cmp_ord(const void *pa, const void *pb)
{
	const struct ord *a = pa, *b = pb;

	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

uint32_t *an_time_order(const struct trace *t)
{
	struct ord *o = malloc((t->nevents ? t->nevents : 1) * sizeof(*o));
	uint32_t *order = malloc((t->nevents ? t->nevents : 1) *
				 sizeof(*order));

	if (!o || !order) {
		free(o);
		free(order);
		return NULL;
	}
	for (size_t i = 0; i < t->nevents; i++)
		o[i] = (struct ord){ t->events[i].ts_ns, i };
	qsort(o, t->nevents, sizeof(*o), cmp_ord);
	for (size_t i = 0; i < t->nevents; i++)
		order[i] = o[i].idx;
	free(o);
	return order;
}

/* ---- sites: stacks whose symbolised frames are equal ------------------- */

static void hash_frames(const struct trace *t, const struct trace_sym *s,
			uint64_t h[2])
{
	h[0] = s->nframes;
	h[1] = ~(uint64_t)s->nframes;
	for (uint32_t i = 0; i < s->nframes; i++) {
		const struct trace_frame *f = &t->frames[s->first + i];
		uint64_t x = (uintptr_t)f->function ^ kv_mix((uintptr_t)f->file)
			     ^ kv_mix(((uint64_t)f->line << 1) | f->inlined);

		h[0] = kv_mix(h[0] ^ x) + i;
		h[1] = kv_mix(h[1] + x * 0x9e3779b97f4a7c15ULL) ^ i;
	}
}

/*
 * canon[i]: the first sym whose frames equal sym i's. Frames are compared
 * by a 128-bit hash of (function, file, line, inlined) per frame; strings
 * are interned, so equal names are equal pointers.
 */
static uint32_t *canonical_syms(const struct trace *t)
{
	uint32_t *canon = malloc((t->nsyms ? t->nsyms : 1) * sizeof(*canon));
	struct kvtab k = { 0 };

	if (!canon)
		return NULL;
	for (size_t i = 0; i < t->nsyms; i++) {
		uint64_t h[2];
		bool created;
		struct kv_ent *e;

		hash_frames(t, &t->syms[i], h);
		e = kv_get(&k, h[0], h[1], &created);
		if (!e) {
			free(canon);
			canon = NULL;
			break;
		}
		if (created)
			e->v[0] = i;
		canon[i] = e->v[0];
	}
	kv_free(&k);
	return canon;
}

static uint64_t pc_key(const struct trace *t, const uint32_t *canon,
		       uint64_t pc)
{
	const struct trace_sym *s = trace_find_sym(t, pc);

	if (s && s->nframes)
		return canon[s - t->syms];
	return LINE_RAW | pc;
}

static int add_site(struct analysis *an, size_t *cap, uint32_t stack)
{
	if (an->nsites == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct an_site *s = realloc(an->sites, ncap * sizeof(*s));

		if (!s)
			return -1;
		an->sites = s;
		*cap = ncap;
	}
	an->sites[an->nsites++].stack = stack;
	return 0;
}

static int build_sites(struct work *w, const uint32_t *canon)
{
	const struct trace *t = w->t;
	struct analysis *an = w->an;
	struct kvtab k = { 0 };
	size_t cap = 0;
	int ret = 0;

	for (size_t i = 0; i < t->nstacks && !ret; i++) {
		const struct trace_stack *s = &t->stacks[i];
		uint64_t h[2] = { s->n, ~(uint64_t)s->n };
		bool created;
		struct kv_ent *e;

		for (uint32_t j = 0; j < s->n && j < GMT_STACK_DEPTH; j++) {
			uint64_t x = pc_key(t, canon, s->pc[j]);

			if (j == 0)
				w->stack_line[i] = x;
			h[0] = kv_mix(h[0] ^ x) + j;
			h[1] = kv_mix(h[1] + x * 0x9e3779b97f4a7c15ULL) ^ j;
		}
		if (!s->n)
			w->stack_line[i] = LINE_NONE;
		e = kv_get(&k, h[0], h[1], &created);
		if (!e) {
			ret = -1;
			break;
		}
		if (created) {
			e->v[0] = an->nsites;
			ret = add_site(an, &cap, i);
		}
		an->stack_site[i] = e->v[0];
	}
	kv_free(&k);
	return ret;
}

/* ---- identities ---------------------------------------------------------- */

static int new_ident(struct work *w, const struct trace_event *ev,
		     uint32_t gen, uint32_t *id)
{
	struct analysis *an = w->an;
	struct an_map *m;

	if (an->nmaps == w->cap_maps) {
		size_t ncap = w->cap_maps ? w->cap_maps * 2 : 16;
		struct an_map *nm = realloc(an->maps, ncap * sizeof(*nm));
		struct ident_work *niw;

		if (!nm)
			return -1;
		an->maps = nm;
		niw = realloc(w->iw, ncap * sizeof(*niw));
		if (!niw)
			return -1;
		w->iw = niw;
		w->cap_maps = ncap;
	}
	m = &an->maps[an->nmaps];
	memset(m, 0, sizeof(*m));
	memset(&w->iw[an->nmaps], 0, sizeof(w->iw[0]));
	m->map_id = ev->map_id;
	m->generation = gen;
	m->addr = ev->map;
	m->type = ev->type;
	m->type_name = trace_type_name(w->t, ev->type);
	m->first_ns = ev->ts_ns;
	m->min_gap_ns = UINT64_MAX;
	*id = an->nmaps++;
	return 0;
}

/*
 * Another hash seed than the identity's last: a new map, unless the
 * runtime may have reseeded this one (analysis.h). 0 is unknown.
 */
static bool seed_says_new(const struct ident_work *iw,
			  const struct trace_event *ev)
{
	return ev->seed && iw->seed && ev->seed != iw->seed &&
	       !iw->reset_pending;
}

/*
 * The seed a probe reads at a clear or a delete is the one before the
 * call; the new one shows from the next operation on. Once the goroutine
 * that cleared or deleted operates again, its call is over: the seed seen
 * then is the map's, whether it changed or not.
 */
static void note_seed(struct ident_work *iw, const struct trace_event *ev,
		      uint64_t g)
{
	if (iw->reset_pending && (g == iw->reset_g ||
				  (ev->seed && ev->seed != iw->seed)))
		iw->reset_pending = false;
	if (ev->seed)
		iw->seed = ev->seed;
	if (ev->op == GMT_OP_CLEAR ||
	    (ev->op == GMT_OP_DELETE &&
	     (!ev->seed || (ev->flags & GMT_EV_ONE)))) {
		iw->reset_pending = true;
		iw->reset_g = g;
	}
}

/* Splits on a type or seed change at one address; see analysis.h. */
static int identity(struct work *w, const struct trace_event *ev,
		    uint64_t g, uint32_t *id)
{
	bool created;
	struct kv_ent *e = kv_get(&w->addrs, ev->map, 0, &created);
	uint32_t gen;

	if (!e)
		return -1;
	if (!created && e->v[0] == ev->type &&
	    !seed_says_new(&w->iw[e->v[1]], ev)) {
		*id = e->v[1];
		note_seed(&w->iw[*id], ev, g);
		return 0;
	}
	gen = created ? 0 : e->v[2] + 1;
	if (new_ident(w, ev, gen, id))
		return -1;
	e = kv_find(&w->addrs, ev->map, 0);
	e->v[0] = ev->type;
	e->v[1] = *id;
	e->v[2] = gen;
	note_seed(&w->iw[*id], ev, g);
	return 0;
}

/* ---- the walk ------------------------------------------------------------ */

static int bump_pair(struct work *w, uint32_t id, uint32_t x, uint32_t y,
		     uint64_t count, uint64_t overlaps)
{
	uint32_t a = x < y ? x : y, b = x < y ? y : x;
	struct kv_ent *e = kv_get(&w->pairs, (uint64_t)id << 32 | a, b, NULL);

	if (!e)
		return -1;
	e->v[0] += count;
	e->v[1] += overlaps;
	return 0;
}

static int bump(struct kvtab *k, uint64_t a, uint64_t b)
{
	struct kv_ent *e = kv_get(k, a, b, NULL);

	if (!e)
		return -1;
	e->v[0]++;
	return 0;
}

static unsigned log2_bucket(uint64_t gap)
{
	unsigned b = 0;

	while (gap > 1 && b < AN_GAP_BUCKETS - 1) {
		gap >>= 1;
		b++;
	}
	return b;
}

/* The last write on this map by a goroutine other than g, if any. */
static bool other_write(const struct ident_work *iw, uint64_t g,
			uint64_t *ts, uint32_t *site)
{
	if (iw->have_last && iw->last_g != g) {
		*ts = iw->last_ts;
		*site = iw->last_site;
		return true;
	}
	if (iw->have_other) {
		*ts = iw->other_ts;
		*site = iw->other_site;
		return true;
	}
	return false;
}

static void note_iter_writes(struct ident_work *iw, uint64_t g, uint32_t site)
{
	for (unsigned i = 0; i < MAX_OPEN_ITERS; i++) {
		struct open_iter *it = &iw->iters[i];

		if (it->used && it->g != g) {
			it->pending++;
			it->writer_site = site;
		}
	}
}

static int on_write(struct work *w, uint32_t id, const struct trace_event *ev,
		    uint64_t g, uint32_t site, uint8_t *flags)
{
	struct an_map *m = &w->an->maps[id];
	struct ident_work *iw = &w->iw[id];
	uint64_t ots;
	uint32_t osite;

	*flags |= AN_EV_WRITE;
	m->writes++;
	if (bump(&w->wthreads, id, ev->tid) || bump(&w->wgors, id, g))
		return -1;
	if (other_write(iw, g, &ots, &osite)) {
		uint64_t gap = ev->ts_ns - ots;

		m->gap_hist[log2_bucket(gap)]++;
		if (gap < m->min_gap_ns)
			m->min_gap_ns = gap;
		if (iw->last_g != g) {
			m->handoffs++;
			*flags |= AN_EV_HANDOFF;
			if (gap < w->tight_ns)
				m->tight_handoffs++;
			if (bump_pair(w, id, iw->last_site, site, 1, 0))
				return -1;
		}
	}
	if (iw->have_last && iw->last_g != g) {
		iw->have_other = true;
		iw->other_g = iw->last_g;
		iw->other_ts = iw->last_ts;
		iw->other_site = iw->last_site;
	}
	iw->have_last = true;
	iw->last_g = g;
	iw->last_ts = ev->ts_ns;
	iw->last_site = site;
	note_iter_writes(iw, g, site);
	return 0;
}

static struct open_iter *find_iter(struct ident_work *iw, uint64_t g)
{
	for (unsigned i = 0; i < MAX_OPEN_ITERS; i++)
		if (iw->iters[i].used && iw->iters[i].g == g)
			return &iw->iters[i];
	return NULL;
}

static void on_iter_init(struct ident_work *iw, uint64_t g, uint32_t site)
{
	struct open_iter *it = find_iter(iw, g);

	for (unsigned i = 0; !it && i < MAX_OPEN_ITERS; i++)
		if (!iw->iters[i].used)
			it = &iw->iters[i];
	if (!it)
		it = &iw->iters[iw->next_iter++ % MAX_OPEN_ITERS];
	*it = (struct open_iter){ .g = g, .site = site, .used = true };
}

/* A next step after another goroutine's write: the write was inside. */
static int on_iter_next(struct work *w, uint32_t id, uint64_t g)
{
	struct open_iter *it = find_iter(&w->iw[id], g);

	if (!it || !it->pending)
		return 0;
	w->an->maps[id].iter_conflicts += it->pending;
	if (bump_pair(w, id, it->site, it->writer_site, it->pending, 0))
		return -1;
	it->pending = 0;
	return 0;
}

/* Began with the flag set: blame the last write by another goroutine. */
static int on_overlap(struct work *w, uint32_t id, uint64_t g, uint32_t site,
		      bool write, uint8_t *flags)
{
	struct an_map *m = &w->an->maps[id];
	uint64_t ots;
	uint32_t osite = AN_SITE_UNSEEN;

	*flags |= AN_EV_OVERLAP;
	m->overlaps++;
	if (write)
		m->write_overlaps++;
	other_write(&w->iw[id], g, &ots, &osite);
	return bump_pair(w, id, site, osite, 0, 1);
}

static uint64_t owner(const struct trace_event *ev)
{
	return ev->goid ? ev->goid : OWNER_TID | ev->tid;
}

static int one_event(struct work *w, uint32_t idx)
{
	const struct trace_event *ev = &w->t->events[idx];
	struct analysis *an = w->an;
	uint64_t g = owner(ev);
	uint32_t site = an->stack_site[ev->stack], id;
	bool write = an_is_write(ev->op);
	uint8_t flags = 0;
	struct kv_ent *line;
	struct an_map *m;

	if (identity(w, ev, g, &id))
		return -1;
	m = &an->maps[id];
	m->events++;
	m->ops[ev->op % TRACE_NKINDS]++;
	m->last_ns = ev->ts_ns;
	if (bump(&w->threads, id, ev->tid) || bump(&w->gors, id, g))
		return -1;
	line = kv_get(&w->lines, (uint64_t)id << 8 | ev->op,
		      w->stack_line[ev->stack], NULL);
	if (!line)
		return -1;
	line->v[0]++;
	line->v[2] = ev->stack;
	if (ev->flags & GMT_EV_WRITING) {
		line->v[1]++;
		if (on_overlap(w, id, g, site, write, &flags))
			return -1;
	}
	if (write && on_write(w, id, ev, g, site, &flags))
		return -1;
	if (ev->op == GMT_OP_ITER_INIT)
		on_iter_init(&w->iw[id], g, site);
	if (ev->op == GMT_OP_ITER_NEXT && on_iter_next(w, id, g))
		return -1;
	an->ev_map[idx] = id;
	an->ev_flags[idx] = flags;
	return 0;
}

/* ---- per-map results ----------------------------------------------------- */

enum distinct { D_THREADS, D_GORS, D_WTHREADS, D_WGORS };

/* Each entry of a (map, x) table is one distinct x for that map. */
static void count_distinct(const struct kvtab *k, struct an_map *maps,
			   enum distinct what)
{
	for (size_t i = 0; i < k->n; i++) {
		struct an_map *m = &maps[k->e[i].a];

		switch (what) {
		case D_THREADS:
			m->threads++;
			break;
		case D_GORS:
			m->goroutines++;
			break;
		case D_WTHREADS:
			m->writer_threads++;
			break;
		case D_WGORS:
			m->writer_goroutines++;
			break;
		}
	}
}

static int cmp_line(const void *pa, const void *pb)
{
	const struct an_line *a = pa, *b = pb;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	if (a->op != b->op)
		return a->op < b->op ? -1 : 1;
	return a->stack < b->stack ? -1 : a->stack > b->stack;
}

static int cmp_pair(const void *pa, const void *pb)
{
	const struct an_pair *a = pa, *b = pb;

	if (a->overlaps != b->overlaps)
		return a->overlaps > b->overlaps ? -1 : 1;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	return a->b < b->b ? -1 : a->b > b->b;
}

/* Two passes over a table keyed by identity: count, then fill. */
static int fill_lines(struct work *w)
{
	struct analysis *an = w->an;
	size_t *at = calloc(an->nmaps + 1, sizeof(*at));

	if (!at)
		return -1;
	for (size_t i = 0; i < w->lines.n; i++)
		an->maps[w->lines.e[i].a >> 8].nlines++;
	for (size_t m = 0; m < an->nmaps; m++) {
		an->maps[m].lines = calloc(an->maps[m].nlines + 1,
					   sizeof(struct an_line));
		if (!an->maps[m].lines) {
			free(at);
			return -1;
		}
	}
	for (size_t i = 0; i < w->lines.n; i++) {
		const struct kv_ent *e = &w->lines.e[i];
		size_t m = e->a >> 8;

		an->maps[m].lines[at[m]++] = (struct an_line){
			.op = e->a & 0xff, .stack = e->v[2],
			.count = e->v[0], .overlaps = e->v[1],
		};
	}
	for (size_t m = 0; m < an->nmaps; m++)
		qsort(an->maps[m].lines, an->maps[m].nlines,
		      sizeof(struct an_line), cmp_line);
	free(at);
	return 0;
}

static int fill_pairs(struct work *w)
{
	struct analysis *an = w->an;
	size_t *at = calloc(an->nmaps + 1, sizeof(*at));

	if (!at)
		return -1;
	for (size_t i = 0; i < w->pairs.n; i++)
		an->maps[w->pairs.e[i].a >> 32].npairs++;
	for (size_t m = 0; m < an->nmaps; m++) {
		an->maps[m].pairs = calloc(an->maps[m].npairs + 1,
					   sizeof(struct an_pair));
		if (!an->maps[m].pairs) {
			free(at);
			return -1;
		}
	}
	for (size_t i = 0; i < w->pairs.n; i++) {
		const struct kv_ent *e = &w->pairs.e[i];
		size_t m = e->a >> 32;

		an->maps[m].pairs[at[m]++] = (struct an_pair){
			.a = (uint32_t)e->a, .b = (uint32_t)e->b,
			.count = e->v[0], .overlaps = e->v[1],
		};
	}
	for (size_t m = 0; m < an->nmaps; m++)
		qsort(an->maps[m].pairs, an->maps[m].npairs,
		      sizeof(struct an_pair), cmp_pair);
	free(at);
	return 0;
}

static enum an_verdict judge(const struct an_map *m, double hot_rate)
{
	uint64_t span = m->last_ns - m->first_ns;

	if (span < MIN_SPAN_NS)
		span = MIN_SPAN_NS;
	if (!m->writes)
		return m->overlaps ? AN_ITER_RACE : AN_READ_ONLY;
	if (m->write_overlaps)
		return AN_RACE;
	if (m->overlaps || m->iter_conflicts)
		return AN_ITER_RACE;
	if (m->writer_goroutines <= 1)
		return AN_SINGLE_WRITER;
	/*
	 * One goroutine, then another, never back: a handover (or a freed
	 * map's address reused). More writers than two in turn is shared
	 * state, even when each wrote only once (a cache filled by workers).
	 */
	if (m->writer_goroutines == 2 && m->handoffs == 1)
		return AN_HANDED_OVER;
	/* Hot: ownership keeps coming back, often (not one write each). */
	if (m->handoffs >= m->writer_goroutines &&
	    m->handoffs >= HOT_MIN_HANDOFFS &&
	    m->handoffs * 1e9 / span >= hot_rate)
		return AN_CONTENDED;
	return AN_SHARED;
}

static void finish_maps(struct work *w)
{
	struct analysis *an = w->an;
	double secs = an->duration_ns / 1e9;

	count_distinct(&w->threads, an->maps, D_THREADS);
	count_distinct(&w->gors, an->maps, D_GORS);
	count_distinct(&w->wthreads, an->maps, D_WTHREADS);
	count_distinct(&w->wgors, an->maps, D_WGORS);
	for (size_t i = 0; i < an->nmaps; i++) {
		struct an_map *m = &an->maps[i];

		if (m->min_gap_ns == UINT64_MAX)
			m->min_gap_ns = 0;
		if (secs > 0) {
			m->ops_per_s = m->events / secs;
			m->handoffs_per_s = m->handoffs / secs;
		}
		m->verdict = judge(m, w->hot_rate);
	}
}

/* The crash outranks the flags: see analysis.h. */
static void judge_crash(const struct trace *t, struct analysis *an)
{
	struct crash c;
	struct an_map *m;

	/* crash_analyze() no longer takes the analysis: place the map as
	 * it used to. */
	if (!crash_analyze(t, &c) || !c.map_error || !c.has_map)
		return;
	c.an_map = an_find_map(an, c.map, c.fatal->ts_ns);
	if (c.an_map < 0)
		return;
	m = &an->maps[c.an_map];
	m->crash_msg = c.fatal->msg;
	if (strstr(c.fatal->msg, "iteration")) {
		if (m->verdict < AN_ITER_RACE)
			m->verdict = AN_ITER_RACE;
	} else {
		m->verdict = AN_RACE;
	}
}

/* ---- ranking ------------------------------------------------------------- */

static int cmp_rank(const void *pa, const void *pb)
{
	const struct an_map *a = pa, *b = pb;
	bool ha = an_verdict_hidden(a->verdict), hb = an_verdict_hidden(b->verdict);
	uint64_t ca = a->overlaps + a->iter_conflicts;
	uint64_t cb = b->overlaps + b->iter_conflicts;

	if (ha != hb)
		return ha ? 1 : -1;
	if (!a->crash_msg != !b->crash_msg)
		return a->crash_msg ? -1 : 1;
	if (ca != cb)
		return ca > cb ? -1 : 1;
	if (a->tight_handoffs != b->tight_handoffs)
		return a->tight_handoffs > b->tight_handoffs ? -1 : 1;
	if (a->handoffs != b->handoffs)	/* same duration: same as the rate */
		return a->handoffs > b->handoffs ? -1 : 1;
	if (a->events != b->events)
		return a->events > b->events ? -1 : 1;
	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return a->generation < b->generation ? -1 : a->generation > b->generation;
}

/* Worst first; maps[0 .. nfindings) are the ones shown by default. */
static void rank(struct analysis *an)
{
	if (an->nmaps)
		qsort(an->maps, an->nmaps, sizeof(*an->maps), cmp_rank);
	for (size_t i = 0; i < an->nmaps; i++)
		if (!an_verdict_hidden(an->maps[i].verdict))
			an->nfindings = i + 1;
}

/* ---- entry points -------------------------------------------------------- */

static void times(const struct trace *t, const uint32_t *order,
		  struct analysis *an)
{
	uint64_t lo = t->nevents ? t->events[order[0]].ts_ns : 0;
	uint64_t hi = t->nevents ? t->events[order[t->nevents - 1]].ts_ns : 0;

	an->start_ns = t->meta.start_ns && (!lo || t->meta.start_ns < lo) ?
		       t->meta.start_ns : lo;
	if (t->meta.start_ns && t->meta.end_ns > t->meta.start_ns)
		an->duration_ns = t->meta.end_ns - t->meta.start_ns;
	else
		an->duration_ns = hi > an->start_ns ? hi - an->start_ns : 0;
}

static int alloc_tables(const struct trace *t, struct analysis *an,
			struct work *w)
{
	size_t ns = t->nstacks ? t->nstacks : 1;
	size_t ne = t->nevents ? t->nevents : 1;

	an->stack_site = calloc(ns, sizeof(*an->stack_site));
	w->stack_line = calloc(ns, sizeof(*w->stack_line));
	an->ev_map = calloc(ne, sizeof(*an->ev_map));
	an->ev_flags = calloc(ne, sizeof(*an->ev_flags));
	an->nevents = t->nevents;
	w->order = an_time_order(t);
	if (!an->stack_site || !w->stack_line || !an->ev_map ||
	    !an->ev_flags || !w->order)
		return -1;
	return 0;
}

static int walk(struct work *w)
{
	for (size_t i = 0; i < w->t->nevents; i++)
		if (one_event(w, w->order[i]))
			return -1;
	return 0;
}

/* ev_map[] holds pre-ranking ids; (addr, generation) names a map. */
static int remap_events(struct work *w, const uint64_t *pre_addr,
			const uint32_t *pre_gen)
{
	struct analysis *an = w->an;
	struct kvtab k = { 0 };
	int ret = 0;

	for (size_t i = 0; i < an->nmaps && !ret; i++) {
		struct kv_ent *e = kv_get(&k, an->maps[i].addr,
					  an->maps[i].generation, NULL);

		if (!e)
			ret = -1;
		else
			e->v[0] = i;
	}
	for (size_t i = 0; i < an->nevents && !ret; i++) {
		uint32_t old = an->ev_map[i];

		an->ev_map[i] = kv_find(&k, pre_addr[old], pre_gen[old])->v[0];
	}
	kv_free(&k);
	return ret;
}

static int rank_and_remap(struct work *w)
{
	struct analysis *an = w->an;
	uint64_t *addr = malloc((an->nmaps + 1) * sizeof(*addr));
	uint32_t *gen = malloc((an->nmaps + 1) * sizeof(*gen));
	int ret = -1;

	if (addr && gen) {
		for (size_t i = 0; i < an->nmaps; i++) {
			addr[i] = an->maps[i].addr;
			gen[i] = an->maps[i].generation;
		}
		rank(an);
		ret = remap_events(w, addr, gen);
	}
	free(addr);
	free(gen);
	return ret;
}

static void work_free(struct work *w)
{
	free(w->order);
	free(w->stack_line);
	free(w->iw);
	kv_free(&w->addrs);
	kv_free(&w->threads);
	kv_free(&w->gors);
	kv_free(&w->wthreads);
	kv_free(&w->wgors);
	kv_free(&w->lines);
	kv_free(&w->pairs);
}

int analysis_run(const struct trace *t, const struct analysis_opts *opts,
		 struct analysis *an)
{
	struct work w = { .t = t, .an = an, .tight_ns = AN_TIGHT_NS,
			  .hot_rate = AN_HOT_RATE };
	uint32_t *canon = NULL;
	int ret = -1;

	memset(an, 0, sizeof(*an));
	if (opts && opts->tight_ns)
		w.tight_ns = opts->tight_ns;
	if (opts && opts->hot_rate > 0)
		w.hot_rate = opts->hot_rate;
	if (alloc_tables(t, an, &w))
		goto out;
	canon = canonical_syms(t);
	if (!canon || build_sites(&w, canon))
		goto out;
	times(t, w.order, an);
	if (walk(&w) || fill_lines(&w) || fill_pairs(&w))
		goto out;
	finish_maps(&w);
	judge_crash(t, an);
	ret = rank_and_remap(&w);
out:
	free(canon);
	work_free(&w);
	if (ret)
		analysis_free(an);
	return ret;
}

void analysis_free(struct analysis *an)
{
	for (size_t i = 0; i < an->nmaps; i++) {
		free(an->maps[i].lines);
		free(an->maps[i].pairs);
	}
	free(an->maps);
	free(an->sites);
	free(an->stack_site);
	free(an->ev_map);
	free(an->ev_flags);
	memset(an, 0, sizeof(*an));
}

int64_t an_find_map(const struct analysis *an, uint64_t addr, uint64_t ts)
{
	int64_t best = -1, first = -1;

	for (size_t i = 0; i < an->nmaps; i++) {
		const struct an_map *m = &an->maps[i];

		if (m->addr != addr)
			continue;
		if (m->first_ns <= ts &&
		    (best < 0 || m->first_ns > an->maps[best].first_ns))
			best = i;
		if (first < 0 || m->first_ns < an->maps[first].first_ns)
			first = i;
	}
	return best >= 0 ? best : first;
}

/* ---- words --------------------------------------------------------------- */

static const char *const verdict_names[] = {
	[AN_READ_ONLY] = "read_only",
	[AN_SINGLE_WRITER] = "single_writer",
	[AN_HANDED_OVER] = "handed_over",
	[AN_SHARED] = "shared",
	[AN_CONTENDED] = "contended",
	[AN_ITER_RACE] = "iteration_race",
	[AN_RACE] = "race",
};

const char *an_verdict_name(enum an_verdict v)
{
	if ((unsigned)v < sizeof(verdict_names) / sizeof(verdict_names[0]))
		return verdict_names[v];
	return "unknown";
}

bool an_verdict_hidden(enum an_verdict v)
{
	return v == AN_READ_ONLY || v == AN_SINGLE_WRITER ||
	       v == AN_HANDED_OVER;
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

void an_verdict_text(const struct an_map *m, char *buf, size_t len)
{
	uint32_t g = m->writer_goroutines;

	if (m->crash_msg && m->verdict == AN_RACE && !m->write_overlaps) {
		snprintf(buf, len, "unsynchronised concurrent access: the "
			 "runtime died on this map (\"%s\")", m->crash_msg);
		return;
	}
	if (m->crash_msg && m->verdict == AN_ITER_RACE &&
	    !m->overlaps && !m->iter_conflicts) {
		snprintf(buf, len, "iteration concurrent with writes: the "
			 "runtime died on this map (\"%s\")", m->crash_msg);
		return;
	}
	switch (m->verdict) {
	case AN_RACE:
		snprintf(buf, len, "unsynchronised concurrent writes observed: "
			 "%" PRIu64 " %s began while another goroutine was "
			 "writing", m->write_overlaps,
			 plural(m->write_overlaps, "write", "writes"));
		break;
	case AN_ITER_RACE:
		snprintf(buf, len, "iteration concurrent with writes: "
			 "%" PRIu64 " %s while another goroutine wrote",
			 m->overlaps + m->iter_conflicts,
			 plural(m->overlaps + m->iter_conflicts,
				"range step ran", "range steps ran"));
		break;
	case AN_CONTENDED:
		snprintf(buf, len, "written by %u goroutines, never at once "
			 "(%" PRIu64 " handoffs, no overlaps): a lock is held; "
			 "hot, a candidate for sharding or sync.Map", g,
			 m->handoffs);
		break;
	case AN_SHARED:
		if (m->handoffs < g) {
			snprintf(buf, len, "written by %u goroutines in turn, "
				 "each in one run, never at once: a lock or a "
				 "handover orders them", g);
			break;
		}
		snprintf(buf, len, "written by %u goroutines, never at once "
			 "(%" PRIu64 " %s, no overlaps): a lock is held", g,
			 m->handoffs, plural(m->handoffs, "handoff", "handoffs"));
		break;
	case AN_HANDED_OVER:
		snprintf(buf, len, "written by %u goroutines one after another, "
			 "never interleaved: ownership was handed over", g);
		break;
	case AN_SINGLE_WRITER:
		snprintf(buf, len, "single writer: safe");
		break;
	default:
		snprintf(buf, len, "no writes traced");
		break;
	}
}

/* ---- stacks -------------------------------------------------------------- */

size_t an_stack_expand(const struct trace *t, uint32_t stack,
		       struct trace_where *out, size_t max)
{
	const struct trace_stack *s;
	size_t n = 0;

	if (stack >= t->nstacks)
		return 0;
	s = &t->stacks[stack];
	for (uint32_t i = 0; i < s->n && i < GMT_STACK_DEPTH && n < max; i++) {
		uint32_t nf;
		const struct trace_frame *f = trace_pc_frames(t, s->pc[i], &nf);

		if (!nf) {
			out[n++] = (struct trace_where){ s->pc[i], NULL };
			continue;
		}
		for (uint32_t j = 0; j < nf && n < max; j++)
			out[n++] = (struct trace_where){ s->pc[i], &f[j] };
	}
	return n;
}

struct trace_where an_stack_top(const struct trace *t, uint32_t stack)
{
	struct trace_where f = { 0, NULL };

	an_stack_expand(t, stack, &f, 1);
	return f;
}

void an_frame_where(const struct trace_where *f, char *buf, size_t len)
{
	const char *base;

	if (!f->f) {
		snprintf(buf, len, "0x%" PRIx64, f->pc);
		return;
	}
	base = strrchr(f->f->file, '/');
	base = base ? base + 1 : f->f->file;
	if (!*base)
		snprintf(buf, len, "?:%u", f->f->line);
	else
		snprintf(buf, len, "%s:%u", base, f->f->line);
}
