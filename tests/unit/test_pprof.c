// SPDX-License-Identifier: MIT
/*
 * The pprof encoder: protobuf primitives against hand-computed bytes, and
 * a whole profile decoded back with a tiny reader — gzip framing, string
 * table, sample types, values, labels, inlined lines innermost first.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "analysis.h"
#include "export.h"
#include "leb128.h"
#include "pprof_proto.h"
#include "trace.h"

/* ---- a tiny protobuf reader ---------------------------------------------- */

struct rd {
	const uint8_t *p, *end;
};

static uint64_t rd_varint(struct rd *r)
{
	uint64_t v = 0;
	size_t k = leb128_u(r->p, r->end - r->p, LEB128_GO_MAX, &v);

	if (!k)
		fail_msg("bad varint");
	r->p += k;
	return v;
}

/* Next field: its number, and its value (varint) or bytes (len). */
static bool rd_field(struct rd *r, uint32_t *field, uint64_t *v,
		     struct rd *sub)
{
	uint64_t key, n;

	if (r->p >= r->end)
		return false;
	key = rd_varint(r);
	*field = key >> 3;
	switch (key & 7) {
	case 0:
		*v = rd_varint(r);
		return true;
	case 2:
		n = rd_varint(r);
		assert_true(n <= (uint64_t)(r->end - r->p));
		sub->p = r->p;
		sub->end = r->p + n;
		r->p += n;
		return true;
	default:
		fail_msg("unexpected wire type %u", (unsigned)(key & 7));
		return false;
	}
}

static void test_varint_bytes(void **state)
{
	struct pb b = { 0 };
	static const uint8_t want[] = {
		0x08, 0x96, 0x01,		/* field 1 = 150 */
		0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x01,				/* field 2 = -1 */
		0x1a, 0x02, 'h', 'i',		/* field 3 = "hi" */
		0x22, 0x03, 0x01, 0x96, 0x01,	/* field 4 packed {1, 150} */
	};
	uint64_t packed[2] = { 1, 150 };

	(void)state;
	pb_uint(&b, 1, 150);
	pb_int(&b, 2, -1);
	pb_string(&b, 3, "hi");
	pb_packed(&b, 4, packed, 2);
	assert_false(b.oom);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.buf, want, sizeof(want));
	pb_free(&b);
}

/* ---- a whole profile ----------------------------------------------------- */

#define MAXN 64

struct profile {
	char *strs[MAXN];
	size_t nstrs;
	uint64_t st_type[4], st_unit[4];
	size_t nst;
	struct { uint64_t locs[12], nlocs, vals[3], nvals;
		 char labels[128]; } samples[MAXN];
	size_t nsamples;
	struct { uint64_t id, addr, fn[4], line[4], nlines, mapping; }
		locs[MAXN];
	size_t nlocs;
	struct { uint64_t id, name, file; } fns[MAXN];
	size_t nfns;
	uint64_t default_type, period;
	bool has_mapping;
};

static void packed(struct rd *r, uint64_t *out, uint64_t *n, size_t max)
{
	while (r->p < r->end) {
		assert_true(*n < max);
		out[(*n)++] = rd_varint(r);
	}
}

static void read_sample(struct profile *pr, struct rd *r)
{
	uint32_t f;
	uint64_t v;
	struct rd sub;

	assert_true(pr->nsamples < MAXN);
	while (rd_field(r, &f, &v, &sub)) {
		if (f == 1)
			packed(&sub, pr->samples[pr->nsamples].locs,
			       &pr->samples[pr->nsamples].nlocs, 12);
		if (f == 2)
			packed(&sub, pr->samples[pr->nsamples].vals,
			       &pr->samples[pr->nsamples].nvals, 3);
		if (f == 3) {	/* label: key/str/num as "k=s;" in order */
			uint32_t lf;
			uint64_t lv, key = 0, str = 0, num = 0;
			struct rd none;
			char buf[64];

			while (rd_field(&sub, &lf, &lv, &none)) {
				if (lf == 1)
					key = lv;
				if (lf == 2)
					str = lv;
				if (lf == 3)
					num = lv;
			}
			/* strings resolved later: keep indexes */
			snprintf(buf, sizeof(buf), "%" PRIu64 "=%" PRIu64
				 "/%" PRIu64 ";", key, str, num);
			strcat(pr->samples[pr->nsamples].labels, buf);
		}
	}
	pr->nsamples++;
}

static void read_location(struct profile *pr, struct rd *r)
{
	uint32_t f;
	uint64_t v;
	struct rd sub;

	assert_true(pr->nlocs < MAXN);
	while (rd_field(r, &f, &v, &sub)) {
		if (f == 1)
			pr->locs[pr->nlocs].id = v;
		if (f == 2)
			pr->locs[pr->nlocs].mapping = v;
		if (f == 3)
			pr->locs[pr->nlocs].addr = v;
		if (f == 4) {
			uint32_t lf;
			uint64_t lv;
			struct rd none;
			uint64_t k = pr->locs[pr->nlocs].nlines++;

			assert_true(k < 4);
			while (rd_field(&sub, &lf, &lv, &none)) {
				if (lf == 1)
					pr->locs[pr->nlocs].fn[k] = lv;
				if (lf == 2)
					pr->locs[pr->nlocs].line[k] = lv;
			}
		}
	}
	pr->nlocs++;
}

static void read_function(struct profile *pr, struct rd *r)
{
	uint32_t f;
	uint64_t v;
	struct rd sub;

	assert_true(pr->nfns < MAXN);
	while (rd_field(r, &f, &v, &sub)) {
		if (f == 1)
			pr->fns[pr->nfns].id = v;
		if (f == 2)
			pr->fns[pr->nfns].name = v;
		if (f == 4)
			pr->fns[pr->nfns].file = v;
	}
	pr->nfns++;
}

static void read_value_type(struct rd *r, uint64_t *type, uint64_t *unit)
{
	uint32_t f;
	uint64_t v;
	struct rd sub;

	while (rd_field(r, &f, &v, &sub)) {
		if (f == 1)
			*type = v;
		if (f == 2)
			*unit = v;
	}
}

static void read_profile(struct profile *pr, const uint8_t *d, size_t n)
{
	struct rd r = { d, d + n }, sub;
	uint32_t f;
	uint64_t v;

	memset(pr, 0, sizeof(*pr));
	while (rd_field(&r, &f, &v, &sub)) {
		switch (f) {
		case 1:
			assert_true(pr->nst < 4);
			read_value_type(&sub, &pr->st_type[pr->nst],
					&pr->st_unit[pr->nst]);
			pr->nst++;
			break;
		case 2:
			read_sample(pr, &sub);
			break;
		case 3:
			pr->has_mapping = true;
			break;
		case 4:
			read_location(pr, &sub);
			break;
		case 5:
			read_function(pr, &sub);
			break;
		case 6:
			assert_true(pr->nstrs < MAXN);
			pr->strs[pr->nstrs++] = strndup((const char *)sub.p,
							sub.end - sub.p);
			break;
		case 12:
			pr->period = v;
			break;
		case 14:
			pr->default_type = v;
			break;
		}
	}
}

static const char *S(const struct profile *pr, uint64_t i)
{
	assert_true(i < pr->nstrs);
	return pr->strs[i];
}

static uint8_t *gunzip(const uint8_t *in, size_t n, size_t *outlen)
{
	size_t cap = 1 << 20;
	uint8_t *out = malloc(cap);
	z_stream z = { 0 };

	assert_non_null(out);
	assert_int_equal(inflateInit2(&z, 31), Z_OK);	/* gzip only */
	z.next_in = (uint8_t *)in;
	z.avail_in = n;
	z.next_out = out;
	z.avail_out = cap;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	*outlen = z.total_out;
	inflateEnd(&z);
	return out;
}

static struct trace T;

static void add(uint64_t ts, uint64_t goid, uint32_t stack, bool writing)
{
	struct trace_event e = { .ts_ns = ts, .goid = goid, .tid = goid,
				 .map = 0xc000100000, .type = 0x4a0000,
				 .stack = stack, .op = GMT_OP_ASSIGN,
				 .flags = writing ? GMT_EV_WRITING : 0 };

	assert_int_equal(trace_add_event(&T, &e), 0);
}

static const struct profile *export(struct profile *pr, size_t top)
{
	struct export_opts o = { .top = top };
	struct analysis an;
	struct errbuf err = { "" };
	char *buf = NULL;
	size_t len = 0, rawlen;
	FILE *f = open_memstream(&buf, &len);
	uint8_t *raw;

	assert_non_null(f);
	assert_int_equal(analysis_run(&T, NULL, &an), 0);
	assert_int_equal(export_pprof(f, &T, &an, &o, &err), 0);
	fclose(f);
	analysis_free(&an);
	assert_true(len > 18);
	assert_int_equal((uint8_t)buf[0], 0x1f);	/* gzip magic */
	assert_int_equal((uint8_t)buf[1], 0x8b);
	raw = gunzip((uint8_t *)buf, len, &rawlen);
	read_profile(pr, raw, rawlen);
	free(raw);
	free(buf);
	return pr;
}

static const char *fn_name(const struct profile *pr, uint64_t id)
{
	for (size_t i = 0; i < pr->nfns; i++)
		if (pr->fns[i].id == id)
			return S(pr, pr->fns[i].name);
	fail_msg("no function %" PRIu64, id);
	return NULL;
}

static size_t loc_index(const struct profile *pr, uint64_t id)
{
	for (size_t i = 0; i < pr->nlocs; i++)
		if (pr->locs[i].id == id)
			return i;
	fail_msg("no location %" PRIu64, id);
	return 0;
}

static void test_profile_roundtrip(void **state)
{
	struct trace_frame inl[2] = {
		{ "main.(*Cache).put", "/src/cache.go", 7, true },
		{ "main.worker", "/src/main.go", 40, false },
	};
	struct trace_frame mainf = { "main.main", "/src/main.go", 60, false };
	uint64_t pcs[2] = { 0x402000, 0x403000 };
	uint32_t st_inl, st_empty;
	struct profile pr;
	uint64_t total[3] = { 0 };

	(void)state;
	assert_int_equal(trace_init(&T), 0);
	assert_int_equal(trace_add_sym(&T, 0x402000, inl, 2), 0);
	assert_int_equal(trace_add_sym(&T, 0x403000, &mainf, 1), 0);
	assert_int_equal(trace_set_type_name(&T, 0x4a0000, "map[int]int"), 0);
	assert_int_equal(trace_intern_stack(&T, pcs, 2, &st_inl), 0);
	assert_int_equal(trace_intern_stack(&T, pcs, 0, &st_empty), 0);
	/* g1 twice, g2 (handoff, overlapping), g1 (handoff), empty stack. */
	add(100, 1, st_inl, false);
	add(200, 1, st_inl, false);
	add(300, 2, st_inl, true);
	add(400, 1, st_inl, false);
	add(500, 1, st_empty, false);
	export(&pr, 0);

	assert_string_equal(S(&pr, 0), "");
	assert_int_equal(pr.nst, 3);
	assert_string_equal(S(&pr, pr.st_type[0]), "operations");
	assert_string_equal(S(&pr, pr.st_type[1]), "handoffs");
	assert_string_equal(S(&pr, pr.st_type[2]), "overlaps");
	assert_string_equal(S(&pr, pr.st_unit[2]), "count");
	assert_string_equal(S(&pr, pr.default_type), "operations");
	assert_int_equal(pr.period, 1);
	assert_true(pr.has_mapping);
	/* One sample per (stack, map, op): two stacks here. */
	assert_int_equal(pr.nsamples, 2);
	for (size_t i = 0; i < pr.nsamples; i++) {
		assert_int_equal(pr.samples[i].nvals, 3);
		for (int k = 0; k < 3; k++)
			total[k] += pr.samples[i].vals[k];
	}
	assert_int_equal(total[0], 5);
	assert_int_equal(total[1], 2);
	assert_int_equal(total[2], 1);
	/* The inlined stack: leaf first, its lines innermost first. */
	assert_int_equal(pr.samples[0].nlocs, 2);
	size_t leaf = loc_index(&pr, pr.samples[0].locs[0]);
	assert_int_equal(pr.locs[leaf].addr, 0x402000);
	assert_int_equal(pr.locs[leaf].mapping, 1);
	assert_int_equal(pr.locs[leaf].nlines, 2);
	assert_string_equal(fn_name(&pr, pr.locs[leaf].fn[0]),
			    "main.(*Cache).put");
	assert_int_equal(pr.locs[leaf].line[0], 7);
	assert_string_equal(fn_name(&pr, pr.locs[leaf].fn[1]), "main.worker");
	assert_int_equal(pr.locs[leaf].line[1], 40);
	size_t root = loc_index(&pr, pr.samples[0].locs[1]);
	assert_string_equal(fn_name(&pr, pr.locs[root].fn[0]), "main.main");
	for (size_t i = 0; i < pr.nfns; i++)
		if (!strcmp(S(&pr, pr.fns[i].name), "main.(*Cache).put"))
			assert_string_equal(S(&pr, pr.fns[i].file),
					    "/src/cache.go");
	/* The empty stack gets a named placeholder, not zero locations. */
	assert_int_equal(pr.samples[1].nlocs, 1);
	size_t unk = loc_index(&pr, pr.samples[1].locs[0]);
	assert_string_equal(fn_name(&pr, pr.locs[unk].fn[0]),
			    "[unknown stack]");
	/* Labels: op=assign, map_type=map[int]int, map_addr=0x... */
	char want[128];
	size_t kop = 0, kassign = 0, kt = 0, kname = 0, ka = 0, kaddr = 0;
	for (size_t i = 0; i < pr.nstrs; i++) {
		if (!strcmp(pr.strs[i], "op"))
			kop = i;
		if (!strcmp(pr.strs[i], "assign"))
			kassign = i;
		if (!strcmp(pr.strs[i], "map_type"))
			kt = i;
		if (!strcmp(pr.strs[i], "map[int]int"))
			kname = i;
		if (!strcmp(pr.strs[i], "map_addr"))
			ka = i;
		if (!strcmp(pr.strs[i], "0xc000100000"))
			kaddr = i;
	}
	assert_true(kop && kassign && kt && kname && ka && kaddr);
	snprintf(want, sizeof(want), "%zu=%zu/0;%zu=%zu/0;%zu=%zu/0;", kop,
		 kassign, kt, kname, ka, kaddr);
	assert_string_equal(pr.samples[0].labels, want);
	for (size_t i = 0; i < pr.nstrs; i++)
		free(pr.strs[i]);
	trace_free(&T);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_varint_bytes),
		cmocka_unit_test(test_profile_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
