// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the trace file reader, then every report and export
 * (the contention analysis and the crash reading under them) over
 * whatever it accepted (they index stacks, symbols and maps by the ids the
 * file gave). Random bytes rarely get past a chunk's CRC and zlib, so the
 * first input byte picks how the rest is used:
 *   0: the bytes are the file;
 *   1: the bytes are chunks as (type u8, len u16 LE, raw payload), which
 *      the harness compresses and checksums: the decoders see them as is;
 *   2: the bytes are edits (offset u16, xor u8) to the raw payloads of a
 *      valid trace built at start-up, then a cut: every decoder sees
 *      almost-valid input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "report.h"
#include "trace.h"
#include "trace_file.h"

__attribute__((weak)) int fail(const char *fmt, ...);
__attribute__((weak)) int fail(const char *fmt, ...)
{
	(void)fmt;
	return 1;
}

struct bytes {
	uint8_t *p;
	size_t n, cap;
};

static void put(struct bytes *b, const void *src, size_t n)
{
	if (b->n + n > b->cap) {
		size_t cap = (b->n + n) * 2 + 64;
		uint8_t *p = realloc(b->p, cap);

		if (!p)
			abort();
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, src, n);
	b->n += n;
}

static void put32(struct bytes *b, uint32_t v)
{
	uint8_t le[4] = { v, v >> 8, v >> 16, v >> 24 };

	put(b, le, 4);
}

static void put_header(struct bytes *b)
{
	put(b, TRACE_FILE_MAGIC, 8);
	put32(b, TRACE_FILE_VERSION);
	put32(b, 0);
}

static void put_chunk(struct bytes *b, uint32_t type, const uint8_t *raw,
		      size_t n)
{
	uLongf clen = compressBound(n);
	uint8_t *comp = malloc(clen);

	if (!comp || compress2(comp, &clen, raw, n, 1) != Z_OK)
		abort();
	put32(b, type);
	put32(b, n);
	put32(b, clen);
	put32(b, crc32(0, comp, clen));
	put(b, comp, clen);
	free(comp);
}

/* The raw chunks of a small valid trace, for mode 2. */
struct raw_chunk {
	uint32_t type;
	uint8_t *p;
	size_t n;
};

static struct raw_chunk seed[64];
static size_t nseed;

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void build_trace(struct trace *t)
{
	struct trace_frame fr[2] = {
		{ "main.put", "/src/a.go", 3, true },
		{ "main.main", "/src/a.go", 9, false },
	};
	struct gmt_fatal_event f;
	struct gmt_history h;
	struct gmt_event ev;

	trace_init(t);
	snprintf(t->meta.exe, sizeof(t->meta.exe), "/bin/app");
	memset(&ev, 0, sizeof(ev));
	for (int i = 0; i < 40; i++) {
		ev.ts_ns = 100 + i;
		ev.tid = i % 3;
		ev.goid = i % 5;
		ev.map = 0xc000 + (i % 2) * 0x40;
		ev.type = 0x4000;
		ev.op = i % 4;
		ev.nstack = 1 + i % 3;
		ev.stack[0] = 0x401000 + (i % 2);
		trace_add_gmt_event(t, &ev);
	}
	trace_add_sym(t, 0x401000, fr, 2);
	trace_set_type_name(t, 0x4000, "map[int]int");
	memset(&f, 0, sizeof(f));
	f.ev = ev;
	memcpy(f.msg, "concurrent map writes", 21);
	f.msg_len = 21;
	trace_add_gmt_fatal(t, &f);
	memset(&h, 0, sizeof(h));
	h.next = 12;
	trace_add_gmt_history(t, 1, &h, 5, false);
}

/* Write the seed trace, then keep each chunk's inflated payload. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/gmt-fuzz-seed-XXXXXX";
	struct errbuf err;
	struct trace t;
	FILE *f;
	uint8_t *data;
	long size, off = 16;
	int fd = mkstemp(path);

	(void)argc;
	(void)argv;
	if (fd < 0)
		abort();
	build_trace(&t);
	if (trace_write_path(&t, path, &err))
		abort();
	trace_free(&t);
	f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc(size);
	if (fread(data, 1, size, f) != (size_t)size)
		abort();
	fclose(f);
	unlink(path);
	while (off + 16 <= size && nseed < 64) {
		uLongf n = le32(data + off + 4);
		uint32_t clen = le32(data + off + 8);

		seed[nseed].type = le32(data + off);
		seed[nseed].p = malloc(n + 1);
		if (uncompress(seed[nseed].p, &n, data + off + 16, clen) != Z_OK)
			abort();
		seed[nseed].n = n;
		nseed++;
		off += 16 + clen;
	}
	free(data);
	return 0;
}

static void load_and_report(const uint8_t *data, size_t size)
{
	struct report_opts ro = { 0 };
	struct errbuf err, warn;
	struct trace t;
	FILE *null;

	if (trace_init(&t))
		return;
	if (!trace_load_mem(&t, data, size, "fuzz", &err, &warn)) {
		null = fopen("/dev/null", "w");
		if (null) {
			report_json(&t, &ro, null, &err);
			report_text(&t, &ro, null, &err);
			ro.all = true;
			report_text(&t, &ro, null, &err);
			report_folded(&t, &ro, null, &err);
			report_pprof(&t, &ro, null, &err);
			report_perfetto(&t, &ro, null, &err);
			fclose(null);
		}
	}
	trace_free(&t);
}

static void mode_chunks(const uint8_t *d, size_t n)
{
	struct bytes b = { 0 };

	put_header(&b);
	while (n >= 3) {
		size_t len = d[1] | d[2] << 8;

		if (len > n - 3)
			len = n - 3;
		put_chunk(&b, d[0] % 10, d + 3, len);
		d += 3 + len;
		n -= 3 + len;
	}
	load_and_report(b.p, b.n);
	free(b.p);
}

static void mode_edits(const uint8_t *d, size_t n)
{
	uint8_t *copy[64];
	struct bytes b = { 0 };
	size_t cut;

	for (size_t i = 0; i < nseed; i++) {
		copy[i] = malloc(seed[i].n + 1);
		if (!copy[i])
			abort();
		memcpy(copy[i], seed[i].p, seed[i].n);
	}
	for (; n >= 4; d += 4, n -= 4) {
		size_t c = d[0] % nseed, off = d[1] | d[2] << 8;

		if (seed[c].n)
			copy[c][off % seed[c].n] ^= d[3];
	}
	put_header(&b);
	for (size_t i = 0; i < nseed; i++)
		put_chunk(&b, seed[i].type, copy[i], seed[i].n);
	/* A last odd byte, if any, cuts the file at that fraction. */
	cut = n ? (size_t)d[0] * b.n / 255 : b.n;
	load_and_report(b.p, cut);
	for (size_t i = 0; i < nseed; i++)
		free(copy[i]);
	free(b.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	switch (data[0] % 3) {
	case 0:
		load_and_report(data + 1, size - 1);
		break;
	case 1:
		mode_chunks(data + 1, size - 1);
		break;
	default:
		if (nseed)
			mode_edits(data + 1, size - 1);
		break;
	}
	return 0;
}
