// SPDX-License-Identifier: MIT
/*
 * Contention analysis (include/analysis.h): one pass over the events in
 * timestamp order, with a little state per map identity — the last write,
 * the last write by someone else, the iterations still open.
 *
 * Memory. Most maps of a server live a few microseconds in one goroutine.
 * Such a map gets a light row (struct row: its goroutine, thread, a few
 * lines, the last write) that holds exactly what the full walk would
 * have learnt of it; the first event that could make it interesting (a
 * second goroutine or thread, the write flag seen set, more lines than
 * fit) promotes it to a full row (struct full) rebuilt from the light
 * one, so the answers are those of a walk that gave every map a full row.
 * With analysis_opts.fold, rows whose verdict is hidden are folded into
 * per-(type, first site) sums when too many are kept, and at the end.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "crash.h"
#include "kvtab.h"
#include "textfmt.h"

#define MAX_OPEN_ITERS	8	/* range loops tracked at once per map */
#define HOT_MIN_HANDOFFS 10	/* fewer is never "hot", whatever the rate */
#define MIN_SPAN_NS	1000000ULL
#define LIGHT_LINES	4	/* lines a light row holds */
/*
 * What a full row costs, in light rows: the struct and its small tables
 * (threads, goroutines, writers, lines) at their first size. The budget
 * (analysis_opts.max_rows) is in light rows.
 */
#define FULL_WEIGHT	14

#define LINE_NONE	UINT64_MAX	/* the stack is empty */
#define LINE_RAW	(1ULL << 63)	/* a PC with no frames: itself */
#define OWNER_TID	(1ULL << 63)	/* goid unknown: the thread stands in */
#define NO_ROW		UINT32_MAX

struct open_iter {
	uint64_t g;
	uint32_t site;
	uint32_t writer_site;	/* last other goroutine's write inside it */
	uint64_t pending;	/* such writes not yet confirmed by a next */
	bool used;
};

/* A full row: the map's counts and every distinct thing it has seen. */
struct full {
	struct an_map m;	/* counts; lines, pairs filled at the end */
	bool have_last, have_other;
	uint64_t last_g, last_ts;
	uint32_t last_site;
	uint64_t other_g, other_ts;	/* last write by a goroutine != last_g */
	uint32_t other_site;
	struct open_iter iters[MAX_OPEN_ITERS];
	unsigned next_iter;
	/* (x, 0) per distinct x; lines: (op, line id) -> count, overlaps,
	 * stack; pairs: (site a, site b) -> count, overlaps. */
	struct kvtab threads, gors, wthreads, wgors, lines, pairs;
};

struct lline {
	uint32_t lid;		/* line id (struct an_stream.lids) */
	uint32_t stack;		/* the last stack seen at it */
	uint32_t count;
	uint8_t op;
};

/* One map identity. While full is NULL: one goroutine, one thread. */
struct row {
	uint64_t addr, type;
	uint64_t g;		/* the goroutine (light) */
	uint64_t reset_g;	/* the goroutine that cleared or deleted */
	uint64_t first_ns, last_ns;
	uint64_t last_wts;	/* light: the last write */
	struct full *full;
	uint32_t seed;		/* the last known hash seed, 0 none yet */
	uint32_t tid;		/* light: the thread */
	uint32_t gen, map_id;
	uint32_t first_stack;
	uint32_t last_wsite, iter_site;	/* light */
	uint8_t nlines;
	bool reset_pending;	/* a clear or emptying delete may reseed it */
	bool has_write, has_iter;
	bool dead;		/* a newer map took its address */
	bool gone;		/* folded or freed: the slot is free */
	struct lline lines[LIGHT_LINES];
};

/* An event waiting for its turn in time order. */
struct pend {
	uint64_t ts;
	uint32_t pos;
};

struct an_stream {
	uint64_t tight_ns;
	double hot_rate;
	bool fold, per_event;
	size_t max_rows, list_hidden;

	/* Sites and lines, built as the trace's stacks and symbols grow. */
	struct kvtab symk, sitek, linek;
	uint32_t *canon;	/* per trace sym: first sym with equal frames */
	size_t ncanon, cap_canon;
	uint32_t *stack_lid;	/* per trace stack: its line id */
	size_t nstack_done, cap_stack;
	size_t cap_sites;

	/* Rows, and the live one at each address. */
	struct row *rows;
	size_t nrows, cap_rows, nkept;
	size_t weight;		/* kept rows, full ones FULL_WEIGHT each */
	uint32_t *free_rows;
	size_t nfree, cap_free;
	/* Dead rows (fold mode), oldest first: folded first, no sorting. */
	uint32_t *dead_q;
	size_t dead_head, ndead, cap_dead;
	struct aslot *slot;	/* address table */
	size_t nslot, nlive;

	struct kvtab privk;	/* (type, first line id) -> privs[] index */
	size_t cap_privs;

	/* The reorder window. */
	struct trace_event *pev;
	uint64_t *pseq;
	struct pend *pkey;
	size_t npend, cap_pend;
	uint64_t seq;		/* events fed so far */
	uint64_t lo_ts, hi_ts;
	size_t cap_evs;		/* ev_map[], ev_flags[] */
};

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 64;
	void *np;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	np = realloc(*p, ncap * size);
	if (!np)
		return -1;
	*p = np;
	*cap = ncap;
	return 0;
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
 * canon[i]: the first sym whose frames equal sym i's, kept up to date as
 * the trace gains symbols (they are appended, never changed). Frames are
 * compared by a 128-bit hash of (function, file, line, inlined) per
 * frame; strings are interned, so equal names are equal pointers.
 */
static int sync_syms(struct an_stream *s, const struct trace *t)
{
	if (grow((void **)&s->canon, &s->cap_canon, t->nsyms,
		 sizeof(*s->canon)))
		return -1;
	for (; s->ncanon < t->nsyms; s->ncanon++) {
		uint64_t h[2];
		bool created;
		struct kv_ent *e;

		hash_frames(t, &t->syms[s->ncanon], h);
		e = kv_get(&s->symk, h[0], h[1], &created);
		if (!e)
			return -1;
		if (created)
			e->v[0] = s->ncanon;
		s->canon[s->ncanon] = e->v[0];
	}
	return 0;
}

static uint64_t pc_key(const struct trace *t, const uint32_t *canon,
		       uint64_t pc)
{
	const struct trace_sym *s = trace_find_sym(t, pc);

	if (s && s->nframes)
		return canon[s - t->syms];
	return LINE_RAW | pc;
}

static int add_site(struct analysis *an, struct an_stream *s, uint32_t stack)
{
	if (grow((void **)&an->sites, &s->cap_sites, an->nsites + 1,
		 sizeof(*an->sites)))
		return -1;
	an->sites[an->nsites++].stack = stack;
	return 0;
}

static int intern_line(struct an_stream *s, uint64_t key, uint32_t *lid)
{
	bool created;
	struct kv_ent *e = kv_get(&s->linek, key, 0, &created);

	if (!e)
		return -1;
	if (created)
		e->v[0] = s->linek.n - 1;
	*lid = e->v[0];
	return 0;
}

/* Sites and line ids of the stacks t gained since the last call. */
static int sync_stacks(struct analysis *an, const struct trace *t)
{
	struct an_stream *s = an->st;
	size_t cap = s->cap_stack;

	if (s->nstack_done == t->nstacks)
		return 0;
	if (sync_syms(s, t) ||
	    grow((void **)&an->stack_site, &cap, t->nstacks,
		 sizeof(*an->stack_site)) ||
	    grow((void **)&s->stack_lid, &s->cap_stack, t->nstacks,
		 sizeof(*s->stack_lid)))
		return -1;
	for (size_t i = s->nstack_done; i < t->nstacks; i++) {
		const struct trace_stack *st = &t->stacks[i];
		uint64_t h[2] = { st->n, ~(uint64_t)st->n }, line = LINE_NONE;
		bool created;
		struct kv_ent *e;

		for (uint32_t j = 0; j < st->n && j < GMT_STACK_DEPTH; j++) {
			uint64_t x = pc_key(t, s->canon, st->pc[j]);

			if (j == 0)
				line = x;
			h[0] = kv_mix(h[0] ^ x) + j;
			h[1] = kv_mix(h[1] + x * 0x9e3779b97f4a7c15ULL) ^ j;
		}
		if (intern_line(s, line, &s->stack_lid[i]))
			return -1;
		e = kv_get(&s->sitek, h[0], h[1], &created);
		if (!e)
			return -1;
		if (created) {
			e->v[0] = an->nsites;
			if (add_site(an, s, i))
				return -1;
		}
		an->stack_site[i] = e->v[0];
	}
	s->nstack_done = t->nstacks;
	return 0;
}

/* ---- the address table: the live row at each address -------------------- */

/*
 * The address is kept in the slot: a probe compares without touching the
 * row (a cache miss per step otherwise).
 */
struct aslot {
	uint64_t addr;
	uint32_t row1;		/* row + 1, 0 empty */
};

static size_t addr_hash(uint64_t addr, size_t nslot)
{
	return kv_mix(addr) & (nslot - 1);
}

static int addr_rehash(struct an_stream *s)
{
	size_t nslot = s->nslot ? s->nslot * 2 : 1024;
	struct aslot *slot = calloc(nslot, sizeof(*slot));

	if (!slot)
		return -1;
	for (size_t i = 0; i < s->nslot; i++) {
		size_t j;

		if (!s->slot[i].row1)
			continue;
		j = addr_hash(s->slot[i].addr, nslot);
		while (slot[j].row1)
			j = (j + 1) & (nslot - 1);
		slot[j] = s->slot[i];
	}
	free(s->slot);
	s->slot = slot;
	s->nslot = nslot;
	return 0;
}

/* The slot of addr, or of the empty place where it would go. */
static size_t addr_slot(const struct an_stream *s, uint64_t addr)
{
	size_t i = addr_hash(addr, s->nslot);

	while (s->slot[i].row1 && s->slot[i].addr != addr)
		i = (i + 1) & (s->nslot - 1);
	return i;
}

/* Linear probing's deletion: shift later entries of the run back. */
static void addr_delete(struct an_stream *s, uint64_t addr)
{
	size_t mask = s->nslot - 1, i = addr_slot(s, addr), j = i;

	if (!s->slot[i].row1)
		return;
	s->slot[i].row1 = 0;
	s->nlive--;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!s->slot[j].row1)
			return;
		home = addr_hash(s->slot[j].addr, s->nslot);
		/* Leave it when its home lies cyclically in (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		s->slot[i] = s->slot[j];
		s->slot[j].row1 = 0;
		i = j;
	}
}

/* ---- rows ---------------------------------------------------------------- */

static int new_row(struct an_stream *s, uint32_t *id)
{
	if (s->nfree) {
		*id = s->free_rows[--s->nfree];
	} else {
		if (grow((void **)&s->rows, &s->cap_rows, s->nrows + 1,
			 sizeof(*s->rows)))
			return -1;
		*id = s->nrows++;
	}
	memset(&s->rows[*id], 0, sizeof(s->rows[0]));
	s->nkept++;
	s->weight++;
	return 0;
}

static void full_free(struct full *f)
{
	if (!f)
		return;
	kv_free(&f->threads);
	kv_free(&f->gors);
	kv_free(&f->wthreads);
	kv_free(&f->wgors);
	kv_free(&f->lines);
	kv_free(&f->pairs);
	free(f);
}

/*
 * Another hash seed than the identity's last: a new map, unless the
 * runtime may have reseeded this one (analysis.h). 0 is unknown.
 */
static bool seed_says_new(const struct row *r, const struct trace_event *ev)
{
	return ev->seed && r->seed && ev->seed != r->seed && !r->reset_pending;
}

/*
 * The seed a probe reads at a clear or a delete is the one before the
 * call; the new one shows from the next operation on. Once the goroutine
 * that cleared or deleted operates again, its call is over: the seed seen
 * then is the map's, whether it changed or not.
 */
static void note_seed(struct row *r, const struct trace_event *ev, uint64_t g)
{
	if (r->reset_pending && (g == r->reset_g ||
				 (ev->seed && ev->seed != r->seed)))
		r->reset_pending = false;
	if (ev->seed)
		r->seed = ev->seed;
	if (ev->op == GMT_OP_CLEAR ||
	    (ev->op == GMT_OP_DELETE &&
	     (!ev->seed || (ev->flags & GMT_EV_ONE)))) {
		r->reset_pending = true;
		r->reset_g = g;
	}
}

static uint64_t owner(const struct trace_event *ev)
{
	return ev->goid ? ev->goid : OWNER_TID | ev->tid;
}

static int dead_push(struct an_stream *s, uint32_t id)
{
	if (s->dead_head && s->ndead == s->cap_dead) {
		s->ndead -= s->dead_head;
		memmove(s->dead_q, s->dead_q + s->dead_head,
			s->ndead * sizeof(*s->dead_q));
		s->dead_head = 0;
	}
	if (grow((void **)&s->dead_q, &s->cap_dead, s->ndead + 1,
		 sizeof(*s->dead_q)))
		return -1;
	s->dead_q[s->ndead++] = id;
	return 0;
}

/* Splits on a type or seed change at one address; see analysis.h. */
static int fold_row(struct analysis *an, uint32_t id);

/*
 * A map whose address a newer map took can change no more. Once the rows
 * fill half the budget (a big trace: it would be folded anyway) a light
 * one is folded at once, while it is in cache; otherwise it queues, and
 * stays listed if memory never runs short (short traces).
 */
static int bury(struct analysis *an, uint32_t old)
{
	struct an_stream *s = an->st;

	if (!s->fold)
		return 0;
	if (!s->rows[old].full && s->weight >= s->max_rows / 2)
		return fold_row(an, old);
	return dead_push(s, old);
}

static int identity(struct analysis *an, const struct trace_event *ev,
		    uint64_t g, uint32_t *id)
{
	struct an_stream *s = an->st;
	size_t i;
	uint32_t gen = 0;
	struct row *r;

	if ((s->nlive + 1) * 2 > s->nslot && addr_rehash(s))
		return -1;
	i = addr_slot(s, ev->map);
	if (s->slot[i].row1) {
		uint32_t old = s->slot[i].row1 - 1;

		r = &s->rows[old];
		if (r->type == ev->type && !seed_says_new(r, ev)) {
			*id = old;
			note_seed(r, ev, g);
			return 0;
		}
		/* Another map now: the old one can have no more events. */
		r->dead = true;
		gen = r->gen + 1;
		if (bury(an, old))
			return -1;
		if (new_row(s, id))
			return -1;
		s->slot[i].row1 = *id + 1;	/* the same address */
	} else {
		if (new_row(s, id))
			return -1;
		s->slot[i] = (struct aslot){ ev->map, *id + 1 };
		s->nlive++;
	}
	r = &s->rows[*id];
	r->addr = ev->map;
	r->type = ev->type;
	r->gen = gen;
	r->map_id = ev->map_id;
	r->first_ns = ev->ts_ns;
	r->first_stack = ev->stack;
	r->g = g;
	r->tid = ev->tid;
	note_seed(r, ev, g);
	return 0;
}

/* ---- light rows ---------------------------------------------------------- */

static int set_add(struct kvtab *k, uint64_t x)
{
	return kv_get(k, x, 0, NULL) ? 0 : -1;
}

/* The full row the walk would have built for what r has seen. */
static int promote(struct an_stream *s, struct row *r)
{
	struct full *f = calloc(1, sizeof(*f));
	struct an_map *m;

	if (!f)
		return -1;
	m = &f->m;
	m->min_gap_ns = UINT64_MAX;
	for (unsigned i = 0; i < r->nlines; i++) {
		const struct lline *l = &r->lines[i];
		struct kv_ent *e = kv_get(&f->lines, l->op, l->lid, NULL);

		if (!e)
			goto fail;
		e->v[0] = l->count;
		e->v[2] = l->stack;
		m->events += l->count;
		m->ops[l->op % TRACE_NKINDS] += l->count;
		if (trace_op_is_write(l->op))
			m->writes += l->count;
	}
	if (set_add(&f->threads, r->tid) || set_add(&f->gors, r->g))
		goto fail;
	if (r->has_write && (set_add(&f->wthreads, r->tid) ||
			     set_add(&f->wgors, r->g)))
		goto fail;
	f->have_last = r->has_write;
	f->last_g = r->g;
	f->last_ts = r->last_wts;
	f->last_site = r->last_wsite;
	if (r->has_iter)
		f->iters[0] = (struct open_iter){ .g = r->g,
						  .site = r->iter_site,
						  .used = true };
	r->full = f;
	s->weight += FULL_WEIGHT - 1;
	return 0;
fail:
	full_free(f);
	return -1;
}

/* 1: handled; 0: the event needs a full row. */
static int light_event(struct analysis *an, struct row *r,
		       const struct trace_event *ev, uint64_t g, uint32_t lid)
{
	uint32_t site = an->stack_site[ev->stack];
	struct lline *l = NULL;

	if (g != r->g || ev->tid != r->tid || (ev->flags & GMT_EV_WRITING))
		return 0;
	for (unsigned i = 0; i < r->nlines; i++)
		if (r->lines[i].lid == lid && r->lines[i].op == ev->op)
			l = &r->lines[i];
	if (!l) {
		if (r->nlines == LIGHT_LINES)
			return 0;
		l = &r->lines[r->nlines++];
		*l = (struct lline){ .lid = lid, .op = ev->op };
	}
	if (l->count == UINT32_MAX)
		return 0;
	l->count++;
	l->stack = ev->stack;
	if (trace_op_is_write(ev->op)) {
		r->has_write = true;
		r->last_wts = ev->ts_ns;
		r->last_wsite = site;
	}
	if (ev->op == GMT_OP_ITER_INIT) {
		r->has_iter = true;
		r->iter_site = site;
	}
	return 1;
}

/* ---- full rows: the walk ------------------------------------------------- */

static int bump_pair(struct full *f, uint32_t x, uint32_t y,
		     uint64_t count, uint64_t overlaps)
{
	uint32_t a = x < y ? x : y, b = x < y ? y : x;
	struct kv_ent *e = kv_get(&f->pairs, a, b, NULL);

	if (!e)
		return -1;
	e->v[0] += count;
	e->v[1] += overlaps;
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
static bool other_write(const struct full *f, uint64_t g, uint64_t *ts,
			uint32_t *site)
{
	if (f->have_last && f->last_g != g) {
		*ts = f->last_ts;
		*site = f->last_site;
		return true;
	}
	if (f->have_other) {
		*ts = f->other_ts;
		*site = f->other_site;
		return true;
	}
	return false;
}

static void note_iter_writes(struct full *f, uint64_t g, uint32_t site)
{
	for (unsigned i = 0; i < MAX_OPEN_ITERS; i++) {
		struct open_iter *it = &f->iters[i];

		if (it->used && it->g != g) {
			it->pending++;
			it->writer_site = site;
		}
	}
}

static int on_write(struct an_stream *s, struct full *f,
		    const struct trace_event *ev, uint64_t g, uint32_t site,
		    uint8_t *flags)
{
	struct an_map *m = &f->m;
	uint64_t ots;
	uint32_t osite;

	*flags |= AN_EV_WRITE;
	m->writes++;
	if (set_add(&f->wthreads, ev->tid) || set_add(&f->wgors, g))
		return -1;
	if (other_write(f, g, &ots, &osite)) {
		/* Reordering is windowed: never a negative gap. */
		uint64_t gap = ev->ts_ns > ots ? ev->ts_ns - ots : 0;

		m->gap_hist[log2_bucket(gap)]++;
		if (gap < m->min_gap_ns)
			m->min_gap_ns = gap;
		if (f->last_g != g) {
			m->handoffs++;
			*flags |= AN_EV_HANDOFF;
			if (gap < s->tight_ns)
				m->tight_handoffs++;
			if (bump_pair(f, f->last_site, site, 1, 0))
				return -1;
		}
	}
	if (f->have_last && f->last_g != g) {
		f->have_other = true;
		f->other_g = f->last_g;
		f->other_ts = f->last_ts;
		f->other_site = f->last_site;
	}
	f->have_last = true;
	f->last_g = g;
	f->last_ts = ev->ts_ns;
	f->last_site = site;
	note_iter_writes(f, g, site);
	return 0;
}

static struct open_iter *find_iter(struct full *f, uint64_t g)
{
	for (unsigned i = 0; i < MAX_OPEN_ITERS; i++)
		if (f->iters[i].used && f->iters[i].g == g)
			return &f->iters[i];
	return NULL;
}

static void on_iter_init(struct full *f, uint64_t g, uint32_t site)
{
	struct open_iter *it = find_iter(f, g);

	for (unsigned i = 0; !it && i < MAX_OPEN_ITERS; i++)
		if (!f->iters[i].used)
			it = &f->iters[i];
	if (!it)
		it = &f->iters[f->next_iter++ % MAX_OPEN_ITERS];
	*it = (struct open_iter){ .g = g, .site = site, .used = true };
}

/* A next step after another goroutine's write: the write was inside. */
static int on_iter_next(struct full *f, uint64_t g)
{
	struct open_iter *it = find_iter(f, g);

	if (!it || !it->pending)
		return 0;
	f->m.iter_conflicts += it->pending;
	if (bump_pair(f, it->site, it->writer_site, it->pending, 0))
		return -1;
	it->pending = 0;
	return 0;
}

/* Began with the flag set: blame the last write by another goroutine. */
static int on_overlap(struct full *f, uint64_t g, uint32_t site, bool write,
		      uint8_t *flags)
{
	uint64_t ots;
	uint32_t osite = AN_SITE_UNSEEN;

	*flags |= AN_EV_OVERLAP;
	f->m.overlaps++;
	if (write)
		f->m.write_overlaps++;
	other_write(f, g, &ots, &osite);
	return bump_pair(f, site, osite, 0, 1);
}

static int full_event(struct an_stream *s, struct full *f,
		      const struct trace_event *ev, uint64_t g, uint32_t site,
		      uint32_t lid, uint8_t *flags)
{
	bool write = trace_op_is_write(ev->op);
	struct kv_ent *line;

	f->m.events++;
	f->m.ops[ev->op % TRACE_NKINDS]++;
	if (set_add(&f->threads, ev->tid) || set_add(&f->gors, g))
		return -1;
	line = kv_get(&f->lines, ev->op, lid, NULL);
	if (!line)
		return -1;
	line->v[0]++;
	line->v[2] = ev->stack;
	if (ev->flags & GMT_EV_WRITING) {
		line->v[1]++;
		if (on_overlap(f, g, site, write, flags))
			return -1;
	}
	if (write && on_write(s, f, ev, g, site, flags))
		return -1;
	if (ev->op == GMT_OP_ITER_INIT)
		on_iter_init(f, g, site);
	if (ev->op == GMT_OP_ITER_NEXT && on_iter_next(f, g))
		return -1;
	return 0;
}

static int one_event(struct analysis *an, const struct trace_event *ev,
		     uint64_t seq)
{
	struct an_stream *s = an->st;
	uint64_t g = owner(ev);
	uint32_t site, lid, id;
	uint8_t flags = 0;
	struct row *r;
	int done;

	if (ev->stack >= s->nstack_done)
		return -1;	/* the caller syncs stacks first */
	site = an->stack_site[ev->stack];
	lid = s->stack_lid[ev->stack];
	if (identity(an, ev, g, &id))
		return -1;
	r = &s->rows[id];
	r->last_ns = ev->ts_ns;
	done = r->full ? 0 : light_event(an, r, ev, g, lid);
	if (done) {
		if (trace_op_is_write(ev->op))
			flags |= AN_EV_WRITE;
	} else {
		if (!r->full && promote(s, r))
			return -1;
		if (full_event(s, r->full, ev, g, site, lid, &flags))
			return -1;
	}
	if (s->per_event) {
		an->ev_map[seq] = id;
		an->ev_flags[seq] = flags;
	}
	return 0;
}

/* ---- per-map results ----------------------------------------------------- */

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

/* The counts of r without its lines and pairs. */
static void row_counts(const struct row *r, struct an_map *m)
{
	if (r->full) {
		const struct full *f = r->full;

		*m = f->m;
		m->threads = f->threads.n;
		m->goroutines = f->gors.n;
		m->writer_threads = f->wthreads.n;
		m->writer_goroutines = f->wgors.n;
	} else {
		memset(m, 0, sizeof(*m));
		for (unsigned i = 0; i < r->nlines; i++) {
			const struct lline *l = &r->lines[i];

			m->events += l->count;
			m->ops[l->op % TRACE_NKINDS] += l->count;
			if (trace_op_is_write(l->op))
				m->writes += l->count;
		}
		m->threads = m->goroutines = 1;
		m->writer_threads = m->writer_goroutines = r->has_write;
		m->min_gap_ns = UINT64_MAX;
	}
	m->lines = NULL;
	m->pairs = NULL;
	m->nlines = m->npairs = 0;
	m->map_id = r->map_id;
	m->generation = r->gen;
	m->addr = r->addr;
	m->type = r->type;
	m->first_ns = r->first_ns;
	m->last_ns = r->last_ns;
}

static uint64_t row_events(const struct row *r)
{
	uint64_t n = 0;

	if (r->full)
		return r->full->m.events;
	for (unsigned i = 0; i < r->nlines; i++)
		n += r->lines[i].count;
	return n;
}

/* Light rows are always hidden (one goroutine, no overlap). */
static bool row_hidden(const struct an_stream *s, const struct row *r)
{
	struct an_map m;

	if (!r->full)
		return true;
	row_counts(r, &m);
	return an_verdict_hidden(judge(&m, s->hot_rate));
}

/* Into privs[] by (type, first line); the row goes. */
static int fold_row(struct analysis *an, uint32_t id)
{
	struct an_stream *s = an->st;
	struct row *r = &s->rows[id];
	struct an_map m;
	struct an_private *p;
	bool created;
	struct kv_ent *e = kv_get(&s->privk, r->type,
				  s->stack_lid[r->first_stack], &created);

	if (!e)
		return -1;
	if (created) {
		if (grow((void **)&an->privs, &s->cap_privs, an->nprivs + 1,
			 sizeof(*an->privs)))
			return -1;
		e->v[0] = an->nprivs;
		an->privs[an->nprivs++] = (struct an_private){
			.type = r->type, .stack = r->first_stack };
	}
	p = &an->privs[e->v[0]];
	row_counts(r, &m);
	p->maps++;
	p->events += m.events;
	p->writes += m.writes;
	for (unsigned i = 0; i < TRACE_NKINDS; i++)
		p->ops[i] += m.ops[i];
	an->priv_maps++;
	an->priv_events += m.events;
	if (!r->dead && s->nslot &&
	    s->slot[addr_slot(s, r->addr)].row1 == id + 1)
		addr_delete(s, r->addr);
	s->weight -= r->full ? FULL_WEIGHT : 1;
	full_free(r->full);
	r->full = NULL;
	r->gone = true;
	s->nkept--;
	if (grow((void **)&s->free_rows, &s->cap_free, s->nfree + 1,
		 sizeof(*s->free_rows)))
		return -1;
	s->free_rows[s->nfree++] = id;
	return 0;
}

/* Candidates to fold, in the order they go. */
struct cand {
	uint64_t key;
	uint32_t id;
};

static int cmp_cand(const void *pa, const void *pb)
{
	const struct cand *a = pa, *b = pb;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/*
 * Hidden rows as candidates: with by_events, busiest first (the end
 * keeps the busiest listed), else dead ones first, then the quietest.
 */
static struct cand *candidates(const struct an_stream *s, bool by_events,
			       uint64_t exempt, bool has_exempt, size_t *n)
{
	struct cand *c = malloc((s->nrows + 1) * sizeof(*c));

	*n = 0;
	if (!c)
		return NULL;
	for (size_t i = 0; i < s->nrows; i++) {
		const struct row *r = &s->rows[i];

		/* Under pressure the dead go through their queue. */
		if (r->gone || (has_exempt && r->addr == exempt) ||
		    (!by_events && r->dead) || !row_hidden(s, r))
			continue;
		c[*n].id = i;
		c[*n].key = by_events ? UINT64_MAX - row_events(r) :
			    r->last_ns;
		(*n)++;
	}
	qsort(c, *n, sizeof(*c), cmp_cand);
	return c;
}

/*
 * Memory runs short: fold until half the budget is used; the dead first
 * (they can change no more: exact), oldest first, then the quietest.
 * A dead row that is a finding stays.
 */
static int fold_some(struct analysis *an)
{
	struct an_stream *s = an->st;
	size_t n, keep = s->max_rows / 2;
	struct cand *c;
	int ret = 0;

	while (s->dead_head < s->ndead && s->weight > keep) {
		uint32_t id = s->dead_q[s->dead_head++];

		if (!s->rows[id].gone && row_hidden(s, &s->rows[id]) &&
		    fold_row(an, id))
			return -1;
	}
	if (s->weight <= keep)
		return 0;
	c = candidates(s, false, 0, false, &n);
	if (!c)
		return -1;
	for (size_t i = 0; i < n && s->weight > keep && !ret; i++)
		ret = fold_row(an, c[i].id);
	free(c);
	/* Too many rows worth keeping: look again when they double. */
	if (s->weight > keep)
		s->max_rows = s->weight * 2;
	return ret;
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

static int fill_lines(const struct row *r, struct an_map *m)
{
	const struct full *f = r->full;
	size_t n = f ? f->lines.n : r->nlines;

	m->lines = calloc(n + 1, sizeof(*m->lines));
	if (!m->lines)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (f) {
			const struct kv_ent *e = &f->lines.e[i];

			m->lines[i] = (struct an_line){
				.op = e->a, .stack = e->v[2],
				.count = e->v[0], .overlaps = e->v[1] };
		} else {
			m->lines[i] = (struct an_line){
				.op = r->lines[i].op,
				.stack = r->lines[i].stack,
				.count = r->lines[i].count };
		}
	}
	m->nlines = n;
	qsort(m->lines, n, sizeof(*m->lines), cmp_line);
	return 0;
}

static int fill_pairs(const struct row *r, struct an_map *m)
{
	size_t n = r->full ? r->full->pairs.n : 0;

	m->pairs = calloc(n + 1, sizeof(*m->pairs));
	if (!m->pairs)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct kv_ent *e = &r->full->pairs.e[i];

		m->pairs[i] = (struct an_pair){
			.a = (uint32_t)e->a, .b = (uint32_t)e->b,
			.count = e->v[0], .overlaps = e->v[1] };
	}
	m->npairs = n;
	qsort(m->pairs, n, sizeof(*m->pairs), cmp_pair);
	return 0;
}

/* Every kept row becomes an an_map, in row order. */
static int materialise(struct analysis *an, const struct trace *t)
{
	struct an_stream *s = an->st;

	an->maps = calloc(s->nkept + 1, sizeof(*an->maps));
	if (!an->maps)
		return -1;
	for (size_t i = 0; i < s->nrows; i++) {
		const struct row *r = &s->rows[i];
		struct an_map *m = &an->maps[an->nmaps];

		if (r->gone)
			continue;
		row_counts(r, m);
		an->nmaps++;
		m->type_name = trace_type_name(t, r->type);
		if (fill_lines(r, m) || fill_pairs(r, m))
			return -1;
	}
	return 0;
}

static void finish_maps(struct analysis *an)
{
	double secs = an->duration_ns / 1e9;

	for (size_t i = 0; i < an->nmaps; i++) {
		struct an_map *m = &an->maps[i];

		if (m->min_gap_ns == UINT64_MAX)
			m->min_gap_ns = 0;
		if (secs > 0) {
			m->ops_per_s = m->events / secs;
			m->handoffs_per_s = m->handoffs / secs;
		}
		m->verdict = judge(m, an->st->hot_rate);
	}
}

/* The crash, read once (crash.h): NULL when the trace holds none. */
static int read_crash(const struct trace *t, struct analysis *an)
{
	an->crash = malloc(sizeof(*an->crash));
	if (!an->crash)
		return -1;
	if (!crash_analyze(t, an->crash)) {
		free(an->crash);
		an->crash = NULL;
	}
	return 0;
}

/* The crash's map among the rows; its type from there when no event had
 * one. Called again after ranking moves the rows. */
static void place_crash(const struct trace *t, struct analysis *an)
{
	struct crash *c = an->crash;

	if (!c || !c->has_map)
		return;
	c->an_map = an_find_map(an, c->map, c->fatal->ts_ns);
	if (!c->type && c->an_map >= 0) {
		c->type = an->maps[c->an_map].type;
		c->type_name = c->type ? trace_type_name(t, c->type) : NULL;
	}
}

/* The crash outranks the flags: see analysis.h. */
static void judge_crash(const struct trace *t, struct analysis *an)
{
	const struct crash *c = an->crash;
	struct an_map *m;

	place_crash(t, an);
	if (!c || !c->map_error || c->an_map < 0)
		return;
	m = &an->maps[c->an_map];
	m->crash_msg = c->fatal->msg;
	if (strstr(c->fatal->msg, "iteration")) {
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

/* ev_map[] holds row ids (row i is map i before ranking). */
static int remap_events(struct analysis *an)
{
	uint32_t *to = malloc((an->nmaps + 1) * sizeof(*to));
	struct kvtab k = { 0 };
	int ret = 0;

	if (!to)
		return -1;
	for (size_t i = 0; i < an->nmaps && !ret; i++) {
		struct kv_ent *e = kv_get(&k, an->maps[i].addr,
					  an->maps[i].generation, NULL);

		if (!e)
			ret = -1;
		else
			e->v[0] = i;
	}
	for (size_t i = 0; i < an->st->nrows && !ret; i++) {
		const struct row *r = &an->st->rows[i];

		to[i] = kv_find(&k, r->addr, r->gen)->v[0];
	}
	for (size_t i = 0; i < an->nevents && !ret; i++)
		an->ev_map[i] = to[an->ev_map[i]];
	kv_free(&k);
	free(to);
	return ret;
}

static int cmp_priv(const void *pa, const void *pb)
{
	const struct an_private *a = pa, *b = pb;

	if (a->events != b->events)
		return a->events > b->events ? -1 : 1;
	if (a->maps != b->maps)
		return a->maps > b->maps ? -1 : 1;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	return a->stack < b->stack ? -1 : a->stack > b->stack;
}

/* ---- the reorder window -------------------------------------------------- */

static int cmp_pend(const void *pa, const void *pb)
{
	const struct pend *a = pa, *b = pb;

	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static bool pend_less(const struct pend *a, const struct pend *b)
{
	return a->ts < b->ts || (a->ts == b->ts && a->pos < b->pos);
}

/*
 * The ring buffer is nearly in time order: insertion sort costs little
 * then. Hostile input must not make it quadratic: past a budget of
 * moves, qsort.
 */
static void sort_pend(struct pend *k, size_t n)
{
	uint64_t budget = 16 * (uint64_t)n + 1024;

	for (size_t i = 1; i < n; i++) {
		struct pend x = k[i];
		size_t j = i;

		while (j && pend_less(&x, &k[j - 1])) {
			k[j] = k[j - 1];
			j--;
			if (!budget--) {
				k[j] = x;
				qsort(k, n, sizeof(*k), cmp_pend);
				return;
			}
		}
		k[j] = x;
	}
}

static int fold_check(struct analysis *an)
{
	struct an_stream *s = an->st;

	return s->fold && s->weight >= s->max_rows ? fold_some(an) : 0;
}

/* Walks the oldest n of the pending events; the rest move to the front. */
static int walk_pending(struct analysis *an, size_t n)
{
	struct an_stream *s = an->st;
	size_t rest = s->npend - n;
	struct trace_event *tmp_ev = NULL;
	uint64_t *tmp_seq = NULL;

	for (size_t i = 0; i < s->npend; i++)
		s->pkey[i] = (struct pend){ s->pev[i].ts_ns, i };
	sort_pend(s->pkey, s->npend);
	for (size_t i = 0; i < n; i++) {
		uint32_t p = s->pkey[i].pos;

		/* Before the event: a new row must find room. */
		if (fold_check(an) || one_event(an, &s->pev[p], s->pseq[p]))
			return -1;
	}
	if (rest) {
		tmp_ev = malloc(rest * sizeof(*tmp_ev));
		tmp_seq = malloc(rest * sizeof(*tmp_seq));
		if (!tmp_ev || !tmp_seq) {
			free(tmp_ev);
			free(tmp_seq);
			return -1;
		}
		for (size_t i = 0; i < rest; i++) {
			tmp_ev[i] = s->pev[s->pkey[n + i].pos];
			tmp_seq[i] = s->pseq[s->pkey[n + i].pos];
		}
		memcpy(s->pev, tmp_ev, rest * sizeof(*tmp_ev));
		memcpy(s->pseq, tmp_seq, rest * sizeof(*tmp_seq));
		free(tmp_ev);
		free(tmp_seq);
	}
	s->npend = rest;
	return fold_check(an);
}

/* ---- entry points -------------------------------------------------------- */

int analysis_begin(struct analysis *an, const struct analysis_opts *opts)
{
	struct an_stream *s;

	memset(an, 0, sizeof(*an));
	s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	an->st = s;
	s->tight_ns = opts && opts->tight_ns ? opts->tight_ns : AN_TIGHT_NS;
	s->hot_rate = opts && opts->hot_rate > 0 ? opts->hot_rate :
		      AN_HOT_RATE;
	s->fold = opts && opts->fold;
	s->max_rows = opts && opts->max_rows ? opts->max_rows : AN_MAX_ROWS;
	s->list_hidden = opts && opts->list_hidden ? opts->list_hidden :
			 AN_LIST_HIDDEN;
	s->lo_ts = UINT64_MAX;
	return 0;
}

/* Room for n more pending events: pev, pseq and pkey share a capacity. */
static int pend_room(struct an_stream *s, size_t n)
{
	size_t cap = s->cap_pend;
	uint64_t *q;
	struct pend *k;

	if (grow((void **)&s->pev, &cap, s->npend + n, sizeof(*s->pev)))
		return -1;
	if (cap == s->cap_pend)
		return 0;
	q = realloc(s->pseq, cap * sizeof(*q));
	if (!q)
		return -1;
	s->pseq = q;
	k = realloc(s->pkey, cap * sizeof(*k));
	if (!k)
		return -1;
	s->pkey = k;
	s->cap_pend = cap;
	return 0;
}

static int event_room(struct analysis *an, size_t n)
{
	struct an_stream *s = an->st;
	size_t cap = s->cap_evs;
	uint8_t *fl;

	if (grow((void **)&an->ev_map, &cap, s->seq + n, sizeof(*an->ev_map)))
		return -1;
	if (cap == s->cap_evs)
		return 0;
	fl = realloc(an->ev_flags, cap);
	if (!fl)
		return -1;
	an->ev_flags = fl;
	s->cap_evs = cap;
	return 0;
}

int analysis_feed(struct analysis *an, const struct trace *t,
		  const struct trace_event *ev, size_t n)
{
	struct an_stream *s = an->st;

	if (!s || sync_stacks(an, t))
		return -1;
	if (s->per_event && event_room(an, n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (ev[i].stack >= t->nstacks)
			return -1;
		if (pend_room(s, 1))
			return -1;
		s->pev[s->npend] = ev[i];
		s->pseq[s->npend++] = s->seq++;
		if (ev[i].ts_ns < s->lo_ts)
			s->lo_ts = ev[i].ts_ns;
		if (ev[i].ts_ns > s->hi_ts)
			s->hi_ts = ev[i].ts_ns;
		/* Windowed: the whole trace at once when not folding. */
		if (s->fold && s->npend >= 2 * AN_REORDER &&
		    walk_pending(an, AN_REORDER))
			return -1;
	}
	an->nevents = s->seq;
	return 0;
}

static void times(const struct trace *t, struct analysis *an)
{
	const struct an_stream *s = an->st;
	uint64_t lo = s->seq ? s->lo_ts : 0, hi = s->seq ? s->hi_ts : 0;

	an->start_ns = t->meta.start_ns && (!lo || t->meta.start_ns < lo) ?
		       t->meta.start_ns : lo;
	if (t->meta.start_ns && t->meta.end_ns > t->meta.start_ns)
		an->duration_ns = t->meta.end_ns - t->meta.start_ns;
	else
		an->duration_ns = hi > an->start_ns ? hi - an->start_ns : 0;
}

/* All but the list_hidden busiest hidden maps go into privs[]. */
static int fold_rest(struct analysis *an)
{
	struct an_stream *s = an->st;
	bool has = an->crash && an->crash->has_map;
	size_t n;
	struct cand *cd = candidates(s, true, has ? an->crash->map : 0, has,
				     &n);
	int ret = 0;

	if (!cd)
		return -1;
	for (size_t i = s->list_hidden == AN_LIST_NONE ? 0 : s->list_hidden;
	     i < n && !ret; i++)
		ret = fold_row(an, cd[i].id);
	free(cd);
	return ret;
}

static void finish_privs(struct analysis *an, const struct trace *t)
{
	for (size_t i = 0; i < an->nprivs; i++)
		an->privs[i].type_name = trace_type_name(t, an->privs[i].type);
	if (an->nprivs)
		qsort(an->privs, an->nprivs, sizeof(*an->privs), cmp_priv);
}

static void stream_free(struct an_stream *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nrows; i++)
		full_free(s->rows[i].full);
	free(s->rows);
	free(s->free_rows);
	free(s->dead_q);
	free(s->slot);
	free(s->canon);
	free(s->stack_lid);
	free(s->pev);
	free(s->pseq);
	free(s->pkey);
	kv_free(&s->symk);
	kv_free(&s->sitek);
	kv_free(&s->linek);
	kv_free(&s->privk);
	free(s);
}

int analysis_end(struct analysis *an, const struct trace *t)
{
	struct an_stream *s = an->st;
	int ret = -1;

	if (!s || sync_stacks(an, t) || walk_pending(an, s->npend))
		goto out;
	times(t, an);
	if (read_crash(t, an))
		goto out;
	if (s->fold && fold_rest(an))
		goto out;
	if (materialise(an, t))
		goto out;
	finish_maps(an);
	judge_crash(t, an);
	rank(an);
	place_crash(t, an);
	if (s->per_event && remap_events(an))
		goto out;
	finish_privs(an, t);
	an->maps_seen = an->nmaps + an->priv_maps;
	ret = 0;
out:
	stream_free(s);
	an->st = NULL;
	if (ret)
		analysis_free(an);
	return ret;
}

int analysis_run(const struct trace *t, const struct analysis_opts *opts,
		 struct analysis *an)
{
	if (analysis_begin(an, opts))
		return -1;
	an->st->per_event = !an->st->fold;
	if (analysis_feed(an, t, t->events, t->nevents)) {
		stream_free(an->st);
		an->st = NULL;
		analysis_free(an);
		return -1;
	}
	return analysis_end(an, t);
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
	free(an->privs);
	free(an->crash);
	stream_free(an->st);
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
			 "runtime died on this map (\"%s\")",
			 safe_text(m->crash_msg));
		return;
	}
	if (m->crash_msg && m->verdict == AN_ITER_RACE &&
	    !m->overlaps && !m->iter_conflicts) {
		snprintf(buf, len, "iteration concurrent with writes: the "
			 "runtime died on this map (\"%s\")",
			 safe_text(m->crash_msg));
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
