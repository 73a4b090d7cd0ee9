// SPDX-License-Identifier: MIT
/*
 * pprof export (export.h): profile.proto, field numbers from
 * github.com/google/pprof/proto/profile.proto, gzip'd as go tool pprof
 * expects. Every map operation is a sample of its stack; the symbols come
 * from the trace, so pprof never needs the binary.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "kvtab.h"
#include "pprof_proto.h"
#include "textfmt.h"

/* profile.proto field numbers */
enum {
	P_SAMPLE_TYPE = 1, P_SAMPLE = 2, P_MAPPING = 3, P_LOCATION = 4,
	P_FUNCTION = 5, P_STRING_TABLE = 6, P_TIME_NANOS = 9,
	P_DURATION_NANOS = 10, P_PERIOD_TYPE = 11, P_PERIOD = 12,
	P_COMMENT = 13, P_DEFAULT_SAMPLE_TYPE = 14,
};
enum { VT_TYPE = 1, VT_UNIT = 2 };
enum { S_LOCATION_ID = 1, S_VALUE = 2, S_LABEL = 3 };
enum { L_KEY = 1, L_STR = 2 };
enum {
	M_ID = 1, M_MEMORY_START = 2, M_MEMORY_LIMIT = 3, M_FILENAME = 5,
	M_HAS_FUNCTIONS = 7, M_HAS_FILENAMES = 8, M_HAS_LINE_NUMBERS = 9,
	M_HAS_INLINE_FRAMES = 10,
};
enum { LOC_ID = 1, LOC_MAPPING_ID = 2, LOC_ADDRESS = 3, LOC_LINE = 4 };
enum { LN_FUNCTION_ID = 1, LN_LINE = 2 };
enum { F_ID = 1, F_NAME = 2, F_SYSTEM_NAME = 3, F_FILENAME = 4 };

#define NVALUES 3
#define UNKNOWN_LOC_KEY 1	/* kvtab b of the empty stack's location */

struct strtab {
	struct kvtab k;
	char **s;
	size_t n, cap;
	bool oom;
};

struct builder {
	const struct trace *t;
	const struct analysis *an;
	struct strtab strs;
	struct kvtab funcs, locs, samples;
	struct pb out;		/* the Profile message */
	uint64_t lo, hi;	/* PCs seen, for the mapping */
};

static void str_hash(const char *s, uint64_t h[2])
{
	h[0] = 0xcbf29ce484222325ULL;
	h[1] = 0x84222325cbf29ce4ULL;
	for (; *s; s++) {
		h[0] = (h[0] ^ (unsigned char)*s) * 0x100000001b3ULL;
		h[1] = kv_mix(h[1] + (unsigned char)*s);
	}
}

/* Index in the string table; a hash collision only duplicates a string. */
static uint64_t str_id(struct strtab *st, const char *s)
{
	uint64_t h[2];
	struct kv_ent *e;
	bool created;
	char *copy;

	s = safe_text(s);	/* proto3 strings are UTF-8; pprof prints them */
	str_hash(s, h);
	e = kv_get(&st->k, h[0], h[1], &created);
	if (!e) {
		st->oom = true;
		return 0;
	}
	if (!created && !strcmp(st->s[e->v[0]], s))
		return e->v[0];
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		char **p = realloc(st->s, cap * sizeof(*p));

		if (!p) {
			st->oom = true;
			return 0;
		}
		st->s = p;
		st->cap = cap;
	}
	copy = strdup(s);
	if (!copy) {
		st->oom = true;
		return 0;
	}
	st->s[st->n] = copy;
	e->v[0] = st->n;
	return st->n++;
}

static void strtab_free(struct strtab *st)
{
	for (size_t i = 0; i < st->n; i++)
		free(st->s[i]);
	free(st->s);
	kv_free(&st->k);
}

static void value_type(struct builder *b, uint32_t field, const char *type,
		       const char *unit)
{
	struct pb vt = { 0 };

	pb_uint(&vt, VT_TYPE, str_id(&b->strs, type));
	pb_uint(&vt, VT_UNIT, str_id(&b->strs, unit));
	pb_message(&b->out, field, &vt);
	pb_free(&vt);
}

/* Function id (1-based) for (name, file); the message is written once. */
static uint64_t function_id(struct builder *b, const char *name,
			    const char *file)
{
	uint64_t n = str_id(&b->strs, name), f = str_id(&b->strs, file);
	struct kv_ent *e;
	struct pb fn = { 0 };
	bool created;

	e = kv_get(&b->funcs, n, f, &created);
	if (!e) {
		b->out.oom = true;
		return 0;
	}
	if (!created)
		return e->v[0];
	e->v[0] = b->funcs.n - 1;
	pb_uint(&fn, F_ID, e->v[0]);
	pb_uint(&fn, F_NAME, n);
	pb_uint(&fn, F_SYSTEM_NAME, n);
	pb_uint(&fn, F_FILENAME, f);
	pb_message(&b->out, P_FUNCTION, &fn);
	pb_free(&fn);
	return b->funcs.n - 1;
}

/* Inlined frames innermost first, the function they sit in last. */
static void location_lines(struct builder *b, struct pb *loc, uint64_t pc)
{
	uint32_t nf;
	const struct trace_frame *f = trace_pc_frames(b->t, pc, &nf);

	for (uint32_t i = 0; i < nf; i++) {
		struct pb ln = { 0 };

		pb_uint(&ln, LN_FUNCTION_ID,
			function_id(b, f[i].function, f[i].file));
		pb_int(&ln, LN_LINE, f[i].line);
		pb_message(loc, LOC_LINE, &ln);
		pb_free(&ln);
	}
}

static uint64_t location_id(struct builder *b, uint64_t pc, bool unknown)
{
	struct kv_ent *e = kv_get(&b->locs, pc, unknown ? UNKNOWN_LOC_KEY : 0,
				  NULL);
	struct pb loc = { 0 };
	uint64_t id;

	if (!e) {
		b->out.oom = true;
		return 0;
	}
	if (e->v[0])
		return e->v[0];
	id = e->v[0] = b->locs.n - 1;
	pb_uint(&loc, LOC_ID, id);
	if (unknown) {
		struct pb ln = { 0 };

		pb_uint(&ln, LN_FUNCTION_ID,
			function_id(b, "[unknown stack]", ""));
		pb_message(&loc, LOC_LINE, &ln);
		pb_free(&ln);
	} else {
		pb_uint(&loc, LOC_MAPPING_ID, 1);
		pb_uint(&loc, LOC_ADDRESS, pc);
		location_lines(b, &loc, pc);
	}
	pb_message(&b->out, P_LOCATION, &loc);
	pb_free(&loc);
	return id;
}

static void label(struct pb *s, struct builder *b, const char *key,
		  const char *str)
{
	struct pb l = { 0 };

	pb_uint(&l, L_KEY, str_id(&b->strs, key));
	pb_uint(&l, L_STR, str_id(&b->strs, str));
	pb_message(s, S_LABEL, &l);
	pb_free(&l);
}

static void sample(struct builder *b, const struct kv_ent *e)
{
	const struct trace_stack *st = &b->t->stacks[e->a];
	const struct an_map *m = &b->an->maps[e->b >> 8];
	uint64_t locs[GMT_STACK_DEPTH + 1];
	size_t n = 0;
	struct pb s = { 0 };
	char addr[32];

	for (uint32_t i = 0; i < st->n && i < GMT_STACK_DEPTH; i++) {
		locs[n++] = location_id(b, st->pc[i], false);
		if (st->pc[i] < b->lo)
			b->lo = st->pc[i];
		if (st->pc[i] >= b->hi)
			b->hi = st->pc[i] + 1;
	}
	if (!n)
		locs[n++] = location_id(b, 0, true);
	pb_packed(&s, S_LOCATION_ID, locs, n);
	pb_packed(&s, S_VALUE, e->v, NVALUES);
	label(&s, b, "op", trace_op_name(e->b & 0xff));
	if (m->type_name)
		label(&s, b, "map_type", m->type_name);
	snprintf(addr, sizeof(addr), "0x%" PRIx64, m->addr);
	label(&s, b, "map_addr", addr);
	pb_message(&b->out, P_SAMPLE, &s);
	pb_free(&s);
}

static int count_samples(struct builder *b, const struct export_opts *o)
{
	const struct analysis *an = b->an;

	for (size_t i = 0; i < b->t->nevents && i < an->nevents; i++) {
		const struct trace_event *ev = &b->t->events[i];
		struct kv_ent *e;

		if (o->top && an->ev_map[i] >= o->top)
			continue;
		e = kv_get(&b->samples, ev->stack,
			   (uint64_t)an->ev_map[i] << 8 | ev->op, NULL);
		if (!e)
			return -1;
		e->v[0]++;
		e->v[1] += !!(an->ev_flags[i] & AN_EV_HANDOFF);
		e->v[2] += !!(an->ev_flags[i] & AN_EV_OVERLAP);
	}
	return 0;
}

static void header(struct builder *b)
{
	const struct trace_meta *mt = &b->t->meta;
	char comment[256];

	value_type(b, P_SAMPLE_TYPE, "operations", "count");
	value_type(b, P_SAMPLE_TYPE, "handoffs", "count");
	value_type(b, P_SAMPLE_TYPE, "overlaps", "count");
	value_type(b, P_PERIOD_TYPE, "operations", "count");
	pb_int(&b->out, P_PERIOD, 1);
	if (mt->wall_start_ns)
		pb_int(&b->out, P_TIME_NANOS, (int64_t)mt->wall_start_ns);
	pb_int(&b->out, P_DURATION_NANOS, (int64_t)b->an->duration_ns);
	snprintf(comment, sizeof(comment), "gomaptrace: Go map operations of "
		 "pid %d", mt->pid);
	pb_uint(&b->out, P_COMMENT, str_id(&b->strs, comment));
	pb_uint(&b->out, P_DEFAULT_SAMPLE_TYPE,
		str_id(&b->strs, "operations"));
}

/* The symbols are in the profile: tell pprof not to look for them. */
static void mapping(struct builder *b)
{
	struct pb m = { 0 };

	pb_uint(&m, M_ID, 1);
	pb_uint(&m, M_MEMORY_START, b->lo < b->hi ? b->lo : 0);
	pb_uint(&m, M_MEMORY_LIMIT, b->hi);
	pb_uint(&m, M_FILENAME, str_id(&b->strs, b->t->meta.exe));
	pb_uint(&m, M_HAS_FUNCTIONS, 1);
	pb_uint(&m, M_HAS_FILENAMES, 1);
	pb_uint(&m, M_HAS_LINE_NUMBERS, 1);
	pb_uint(&m, M_HAS_INLINE_FRAMES, 1);
	pb_message(&b->out, P_MAPPING, &m);
	pb_free(&m);
}

static int build(struct builder *b, const struct export_opts *o)
{
	str_id(&b->strs, "");	/* string_table[0] must be "" */
	header(b);
	if (count_samples(b, o))
		return -1;
	b->lo = UINT64_MAX;
	for (size_t i = 0; i < b->samples.n; i++)
		sample(b, &b->samples.e[i]);
	mapping(b);
	for (size_t i = 0; i < b->strs.n; i++)
		pb_string(&b->out, P_STRING_TABLE, b->strs.s[i]);
	return b->out.oom || b->strs.oom ? -1 : 0;
}

int export_pprof(FILE *out, const struct trace *t, const struct analysis *an,
		 const struct export_opts *o, struct errbuf *err)
{
	struct builder b = { .t = t, .an = an };
	int ret;

	/* kvtab ids are 1-based: reserve entry 0 of funcs and locs. */
	if (!kv_get(&b.funcs, UINT64_MAX, UINT64_MAX, NULL) ||
	    !kv_get(&b.locs, UINT64_MAX, UINT64_MAX, NULL) || build(&b, o))
		ret = errbuf_set(err, "out of memory building the profile");
	else
		ret = pb_gzip_write(out, b.out.buf, b.out.len, err);
	strtab_free(&b.strs);
	kv_free(&b.funcs);
	kv_free(&b.locs);
	kv_free(&b.samples);
	pb_free(&b.out);
	return ret;
}
