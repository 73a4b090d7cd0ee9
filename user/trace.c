// SPDX-License-Identifier: MIT
/*
 * The in-memory trace model (trace.h): append-only tables with
 * open-addressing hash indexes so the live path (a million events a
 * second) interns stacks and maps in a few hash probes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvtab.h"
#include "trace.h"
#include "snapshot.h"

/* ---- a hash index of entries kept elsewhere --------------------------- */

/* Slots hold entry + 1 (0 is empty) and the entry's hash, for rehashing. */
struct hidx {
	uint32_t *slot;
	uint32_t *hash;
	size_t cap;		/* power of two, or 0 */
	size_t n;
};

typedef bool (*hidx_eq_fn)(const void *ctx, uint32_t entry, const void *key);

static uint32_t hash2(uint64_t a, uint64_t b)
{
	return (uint32_t)kv_mix(a ^ kv_mix(b + 0x9e3779b97f4a7c15ULL));
}

static int64_t hidx_find(const struct hidx *h, uint32_t hash, hidx_eq_fn eq,
			 const void *ctx, const void *key)
{
	size_t mask, i;

	if (!h->cap)
		return -1;
	mask = h->cap - 1;
	for (i = hash & mask; h->slot[i]; i = (i + 1) & mask) {
		if (h->hash[i] == hash && eq(ctx, h->slot[i] - 1, key))
			return h->slot[i] - 1;
	}
	return -1;
}

static void hidx_place(uint32_t *slot, uint32_t *hash, size_t cap,
		       uint32_t hv, uint32_t entry)
{
	size_t i, mask = cap - 1;

	for (i = hv & mask; slot[i]; i = (i + 1) & mask)
		;
	slot[i] = entry + 1;
	hash[i] = hv;
}

static int hidx_grow(struct hidx *h)
{
	size_t cap = h->cap ? h->cap * 2 : 64;
	uint32_t *slot = calloc(cap, sizeof(*slot));
	uint32_t *hash = calloc(cap, sizeof(*hash));

	if (!slot || !hash) {
		free(slot);
		free(hash);
		return -1;
	}
	for (size_t i = 0; i < h->cap; i++)
		if (h->slot[i])
			hidx_place(slot, hash, cap, h->hash[i], h->slot[i] - 1);
	free(h->slot);
	free(h->hash);
	h->slot = slot;
	h->hash = hash;
	h->cap = cap;
	return 0;
}

static int hidx_insert(struct hidx *h, uint32_t hv, uint32_t entry)
{
	if ((h->n + 1) * 2 > h->cap && hidx_grow(h))
		return -1;
	hidx_place(h->slot, h->hash, h->cap, hv, entry);
	h->n++;
	return 0;
}

static void hidx_free(struct hidx *h)
{
	free(h->slot);
	free(h->hash);
	memset(h, 0, sizeof(*h));
}

/* Grow *arr (elements of size sz) so that it holds at least n + 1. */
static int grow(void *arr, size_t *cap, size_t n, size_t sz)
{
	void **p = arr;
	size_t ncap;
	void *q;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap > SIZE_MAX / sz || ncap > UINT32_MAX)
		return -1;
	q = realloc(*p, ncap * sz);
	if (!q)
		return -1;
	*p = q;
	*cap = ncap;
	return 0;
}

/* ---- the trace's own indexes ------------------------------------------ */

struct trace_index {
	struct hidx strs, stacks, syms, types, maps, hists;
	char **str;
	size_t nstr, cap_str;
};

int trace_init(struct trace *t)
{
	memset(t, 0, sizeof(*t));
	t->meta.exit_status = -1;
	strcpy(t->meta.map_impl, "unknown");
	t->idx = calloc(1, sizeof(*t->idx));
	return t->idx ? 0 : -1;
}

void trace_free(struct trace *t)
{
	struct trace_index *x = t->idx;

	trace_free_freezes(t);
	if (x) {
		for (size_t i = 0; i < x->nstr; i++)
			free(x->str[i]);
		free(x->str);
		hidx_free(&x->strs);
		hidx_free(&x->stacks);
		hidx_free(&x->syms);
		hidx_free(&x->types);
		hidx_free(&x->maps);
		hidx_free(&x->hists);
		free(x);
	}
	free(t->events);
	free(t->stacks);
	free(t->syms);
	free(t->frames);
	free(t->types);
	free(t->maps);
	free(t->histories);
	free(t->fatals);
	memset(t, 0, sizeof(*t));
}

/* ---- strings ----------------------------------------------------------- */

static uint32_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return (uint32_t)kv_mix(h);
}

static bool str_eq(const void *ctx, uint32_t e, const void *key)
{
	const struct trace_index *x = ctx;

	return !strcmp(x->str[e], key);
}

const char *trace_intern_str(struct trace *t, const char *s)
{
	struct trace_index *x = t->idx;
	uint32_t hv = str_hash(s);
	int64_t e = hidx_find(&x->strs, hv, str_eq, x, s);
	char *copy;

	if (e >= 0)
		return x->str[e];
	if (grow(&x->str, &x->cap_str, x->nstr, sizeof(*x->str)))
		return NULL;
	copy = strdup(s);
	if (!copy)
		return NULL;
	if (hidx_insert(&x->strs, hv, x->nstr)) {
		free(copy);
		return NULL;
	}
	x->str[x->nstr++] = copy;
	return copy;
}

/* ---- stacks ------------------------------------------------------------ */

struct stack_key {
	const uint64_t *pc;
	uint32_t n;
};

/* Runs once per event: one multiply per PC, one full mix at the end. */
static uint32_t stack_hash(const uint64_t *pc, uint32_t n)
{
	uint64_t h = n;

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ pc[i]) * 0x9e3779b97f4a7c15ULL;
	return (uint32_t)kv_mix(h);
}

static bool stack_eq(const void *ctx, uint32_t e, const void *key)
{
	const struct trace *t = ctx;
	const struct stack_key *k = key;
	const struct trace_stack *s = &t->stacks[e];

	return s->n == k->n && !memcmp(s->pc, k->pc, k->n * sizeof(*k->pc));
}

int trace_intern_stack(struct trace *t, const uint64_t *pc, uint32_t n,
		       uint32_t *id)
{
	struct stack_key k = { pc, n > GMT_STACK_DEPTH ? GMT_STACK_DEPTH : n };
	uint32_t hv = stack_hash(k.pc, k.n);
	int64_t e = hidx_find(&t->idx->stacks, hv, stack_eq, t, &k);
	struct trace_stack *s;

	if (e >= 0) {
		*id = e;
		return 0;
	}
	if (grow(&t->stacks, &t->cap_stacks, t->nstacks, sizeof(*t->stacks)) ||
	    hidx_insert(&t->idx->stacks, hv, t->nstacks))
		return -1;
	s = &t->stacks[t->nstacks];
	memset(s, 0, sizeof(*s));
	s->n = k.n;
	memcpy(s->pc, k.pc, k.n * sizeof(*k.pc));
	*id = t->nstacks++;
	return 0;
}

/* The ring buffer's __u64 is not uint64_t to the compiler: copy it. */
static int intern_gmt_stack(struct trace *t, const __u64 *stack, unsigned n,
			    uint32_t *id)
{
	uint64_t pc[GMT_STACK_DEPTH];

	if (n > GMT_STACK_DEPTH)
		n = GMT_STACK_DEPTH;
	for (unsigned i = 0; i < n; i++)
		pc[i] = stack[i];
	return trace_intern_stack(t, pc, n, id);
}

/* ---- maps and events --------------------------------------------------- */

struct map_key {
	uint64_t addr, type;
};

static bool map_eq(const void *ctx, uint32_t e, const void *key)
{
	const struct trace *t = ctx;
	const struct map_key *k = key;

	return t->maps[e].addr == k->addr && t->maps[e].type == k->type;
}

static int intern_map(struct trace *t, uint64_t addr, uint64_t type,
		      uint32_t *id)
{
	struct map_key k = { addr, type };
	uint32_t hv = hash2(addr, type);
	int64_t e = hidx_find(&t->idx->maps, hv, map_eq, t, &k);
	uint32_t type_id;

	if (e >= 0) {
		*id = e;
		return 0;
	}
	/* A new map may bring a new type: intern it for symcache to name. */
	if (trace_intern_type(t, type, &type_id) ||
	    grow(&t->maps, &t->cap_maps, t->nmaps, sizeof(*t->maps)) ||
	    hidx_insert(&t->idx->maps, hv, t->nmaps))
		return -1;
	memset(&t->maps[t->nmaps], 0, sizeof(t->maps[0]));
	t->maps[t->nmaps].addr = addr;
	t->maps[t->nmaps].type = type;
	*id = t->nmaps++;
	return 0;
}

static void count_on_map(struct trace_map *m, const struct trace_event *ev)
{
	if (!m->events || ev->ts_ns < m->first_ns)
		m->first_ns = ev->ts_ns;
	if (ev->ts_ns > m->last_ns)
		m->last_ns = ev->ts_ns;
	m->events++;
	m->ops[ev->op % TRACE_NKINDS]++;
}

int trace_add_event(struct trace *t, struct trace_event *ev)
{
	uint32_t type_id;

	if (ev->stack >= t->nstacks)
		return -1;
	ev->map_id = 0;
	/* Without the map table the type is still interned, to be named. */
	if (t->no_map_table ? trace_intern_type(t, ev->type, &type_id) :
	    intern_map(t, ev->map, ev->type, &ev->map_id))
		return -1;
	if (grow(&t->events, &t->cap_events, t->nevents, sizeof(*t->events)))
		return -1;
	if (!t->no_map_table)
		count_on_map(&t->maps[ev->map_id], ev);
	t->events[t->nevents++] = *ev;
	return 0;
}

int trace_add_gmt_event(struct trace *t, const struct gmt_event *g)
{
	struct trace_event ev = {
		.ts_ns = g->ts_ns,
		.goid = g->goid,
		.map = g->map,
		.type = g->type,
		.tid = g->tid,
		.op = g->op,
		.flags = g->flags,
		.seed = g->seed,
	};

	if (intern_gmt_stack(t, g->stack, g->nstack, &ev.stack))
		return -1;
	return trace_add_event(t, &ev);
}

void trace_drop_events(struct trace *t)
{
	t->dropped += t->nevents;
	t->nevents = 0;
}

/* ---- fatals and histories ---------------------------------------------- */

int trace_add_fatal(struct trace *t, const struct trace_fatal *f)
{
	if (f->stack >= t->nstacks)
		return -1;
	if (grow(&t->fatals, &t->cap_fatals, t->nfatals, sizeof(*t->fatals)))
		return -1;
	t->fatals[t->nfatals] = *f;
	t->fatals[t->nfatals].msg[GMT_FATAL_MSG_LEN - 1] = '\0';
	t->nfatals++;
	return 0;
}

int trace_add_gmt_fatal(struct trace *t, const struct gmt_fatal_event *g)
{
	struct trace_fatal f = {
		.ts_ns = g->ev.ts_ns,
		.goid = g->ev.goid,
		.tid = g->ev.tid,
	};
	size_t len = g->msg_len < GMT_FATAL_MSG_LEN - 1 ? g->msg_len :
			GMT_FATAL_MSG_LEN - 1;

	memcpy(f.msg, g->msg, len);
	f.msg[len] = '\0';
	if (intern_gmt_stack(t, g->ev.stack, g->ev.nstack, &f.stack))
		return -1;
	return trace_add_fatal(t, &f);
}

static bool hist_eq(const void *ctx, uint32_t e, const void *key)
{
	const struct trace *t = ctx;

	return t->histories[e].tid == *(const uint32_t *)key;
}

int trace_add_history(struct trace *t, const struct trace_history *h,
		      bool replace)
{
	uint32_t hv = (uint32_t)kv_mix(h->tid);
	int64_t e = hidx_find(&t->idx->hists, hv, hist_eq, t, &h->tid);

	if (h->nops > GMT_HISTORY_LEN)
		return -1;
	for (uint32_t i = 0; i < h->nops; i++)
		if (h->ops[i].stack >= t->nstacks)
			return -1;
	if (e >= 0) {
		if (replace)
			t->histories[e] = *h;
		return 0;
	}
	if (grow(&t->histories, &t->cap_histories, t->nhistories,
		 sizeof(*t->histories)) ||
	    hidx_insert(&t->idx->hists, hv, t->nhistories))
		return -1;
	t->histories[t->nhistories++] = *h;
	return 0;
}

int trace_add_gmt_history(struct trace *t, uint32_t tid,
			  const struct gmt_history *g, uint64_t taken_ns,
			  bool replace)
{
	struct trace_history h = { .tid = tid, .total = g->next,
				   .taken_ns = taken_ns };
	uint32_t n = g->next < GMT_HISTORY_LEN ? g->next : GMT_HISTORY_LEN;
	/* The ring's oldest slot is next % LEN once it has wrapped. */
	uint32_t start = g->next < GMT_HISTORY_LEN ? 0 :
			 g->next % GMT_HISTORY_LEN;

	for (uint32_t i = 0; i < n; i++) {
		const struct gmt_hist_op *o =
			&g->ops[(start + i) % GMT_HISTORY_LEN];
		struct trace_hist_op *d = &h.ops[i];

		d->ts_ns = o->ts_ns;
		d->map = o->map;
		d->goid = o->goid;
		d->op = o->op;
		d->flags = o->flags;
		if (intern_gmt_stack(t, o->stack, o->nstack, &d->stack))
			return -1;
	}
	h.nops = n;
	return trace_add_history(t, &h, replace);
}

/* ---- symbols and types ------------------------------------------------- */

static bool sym_eq(const void *ctx, uint32_t e, const void *key)
{
	const struct trace *t = ctx;

	return t->syms[e].pc == *(const uint64_t *)key;
}

const struct trace_sym *trace_find_sym(const struct trace *t, uint64_t pc)
{
	int64_t e = hidx_find(&t->idx->syms, (uint32_t)kv_mix(pc), sym_eq, t,
			      &pc);

	return e >= 0 ? &t->syms[e] : NULL;
}

const struct trace_frame *trace_pc_frames(const struct trace *t, uint64_t pc,
					  uint32_t *n)
{
	const struct trace_sym *s = trace_find_sym(t, pc);

	*n = s ? s->nframes : 0;
	return *n ? &t->frames[s->first] : NULL;
}

static int add_frame(struct trace *t, const struct trace_frame *f)
{
	struct trace_frame *d;

	if (grow(&t->frames, &t->cap_frames, t->nframes, sizeof(*t->frames)))
		return -1;
	d = &t->frames[t->nframes];
	d->function = trace_intern_str(t, f->function ? f->function : "?");
	d->file = trace_intern_str(t, f->file ? f->file : "");
	if (!d->function || !d->file)
		return -1;
	d->line = f->line;
	d->inlined = f->inlined;
	t->nframes++;
	return 0;
}

int trace_add_sym(struct trace *t, uint64_t pc,
		  const struct trace_frame *frames, uint32_t nframes)
{
	uint32_t hv = (uint32_t)kv_mix(pc);
	struct trace_sym *s;
	size_t first = t->nframes;

	if (trace_find_sym(t, pc))
		return 0;
	for (uint32_t i = 0; i < nframes; i++)
		if (add_frame(t, &frames[i])) {
			t->nframes = first;
			return -1;
		}
	if (grow(&t->syms, &t->cap_syms, t->nsyms, sizeof(*t->syms)) ||
	    hidx_insert(&t->idx->syms, hv, t->nsyms)) {
		t->nframes = first;
		return -1;
	}
	s = &t->syms[t->nsyms++];
	s->pc = pc;
	s->first = first;
	s->nframes = nframes;
	return 0;
}

static bool type_eq(const void *ctx, uint32_t e, const void *key)
{
	const struct trace *t = ctx;

	return t->types[e].addr == *(const uint64_t *)key;
}

static int64_t find_type(const struct trace *t, uint64_t addr)
{
	return hidx_find(&t->idx->types, (uint32_t)kv_mix(addr), type_eq, t,
			 &addr);
}

int trace_intern_type(struct trace *t, uint64_t addr, uint32_t *id)
{
	int64_t e = find_type(t, addr);

	if (e >= 0) {
		*id = e;
		return 0;
	}
	if (grow(&t->types, &t->cap_types, t->ntypes, sizeof(*t->types)) ||
	    hidx_insert(&t->idx->types, (uint32_t)kv_mix(addr), t->ntypes))
		return -1;
	memset(&t->types[t->ntypes], 0, sizeof(t->types[0]));
	t->types[t->ntypes].addr = addr;
	*id = t->ntypes++;
	return 0;
}

int trace_set_type_name(struct trace *t, uint64_t addr, const char *name)
{
	uint32_t id;

	if (trace_intern_type(t, addr, &id))
		return -1;
	t->types[id].resolved = true;
	if (!name || !*name)
		return 0;
	t->types[id].name = trace_intern_str(t, name);
	return t->types[id].name ? 0 : -1;
}

const char *trace_type_name(const struct trace *t, uint64_t addr)
{
	int64_t e = find_type(t, addr);

	return e >= 0 ? t->types[e].name : NULL;
}

/* ---- names and clocks -------------------------------------------------- */

/*
 * The one name table of enum gmt_op: `info`, every report, --ops and the
 * error messages take their words from here. The trace file stores the
 * number, so renaming is safe for old files.
 */
_Static_assert(GMT_NOPS == 6, "trace_ops_parse() names six operations");
static const char *const op_names[GMT_NOPS] = {
	[GMT_OP_ASSIGN] = "assign",
	[GMT_OP_DELETE] = "delete",
	[GMT_OP_CLEAR] = "clear",
	[GMT_OP_ITER_INIT] = "iterate",
	[GMT_OP_ITER_NEXT] = "iter_next",
	[GMT_OP_FATAL] = "fatal",
};

/* Names earlier releases printed or accepted. */
static const struct {
	const char *name;
	enum gmt_op op;
} op_aliases[] = {
	{ "iter_init", GMT_OP_ITER_INIT },	/* `info` before issue 8 */
	{ "iternext", GMT_OP_ITER_NEXT },
};

const char *trace_op_name(unsigned op)
{
	static const char *const other[TRACE_NKINDS] = {
		[6] = "op6", [7] = "op7",
	};

	if (op < GMT_NOPS)
		return op_names[op];
	return op < TRACE_NKINDS ? other[op] : "op?";
}

int trace_op_parse(const char *name)
{
	for (size_t i = 0; i < GMT_NOPS; i++)
		if (!strcmp(name, op_names[i]))
			return i;
	for (size_t i = 0; i < sizeof(op_aliases) / sizeof(op_aliases[0]); i++)
		if (!strcmp(name, op_aliases[i].name))
			return op_aliases[i].op;
	return -1;
}

int trace_ops_parse(const char *list, uint32_t *mask, struct errbuf *err)
{
	char name[32];
	const char *p = list;
	int op;

	*mask = 1u << GMT_OP_FATAL;
	while (*p) {
		size_t n = strcspn(p, ",");

		if (n && n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = '\0';
			op = trace_op_parse(name);
		} else {
			snprintf(name, sizeof(name), "%.*s", (int)n, p);
			op = -1;
		}
		if (op < 0)
			return errbuf_set(err, "unknown operation '%s' in "
					  "--ops: use %s, %s, %s, %s, %s or %s",
					  name, op_names[0], op_names[1],
					  op_names[2], op_names[3],
					  op_names[4], op_names[5]);
		*mask |= 1u << op;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t trace_now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t trace_wall_now_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

bool trace_op_is_write(unsigned op)
{
	return op == GMT_OP_ASSIGN || op == GMT_OP_DELETE ||
	       op == GMT_OP_CLEAR;
}

size_t trace_stack_expand(const struct trace *t, uint32_t stack,
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

struct trace_where trace_stack_top(const struct trace *t, uint32_t stack)
{
	struct trace_where f = { 0, NULL };

	trace_stack_expand(t, stack, &f, 1);
	return f;
}

void trace_where_text(const struct trace_where *f, char *buf, size_t len)
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
