// SPDX-License-Identifier: MIT
/*
 * Trace files (docs/trace-format.md). The reader takes nothing on trust:
 * every length, count and id read from a file is checked against what is
 * really there before it is used, and a damaged chunk ends the load with a
 * warning instead of an error, keeping what came before it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "bytebuf.h"
#include "le.h"
#include "leb128.h"
#include "snapshot.h"
#include "safe_file.h"
#include "trace_file.h"

enum chunk_type {
	CHUNK_META = 1,
	CHUNK_STACKS = 2,
	CHUNK_SYMBOLS = 3,
	CHUNK_TYPES = 4,
	CHUNK_EVENTS = 5,
	CHUNK_HISTORIES = 6,
	CHUNK_FATAL = 7,
	CHUNK_TRAILER = 8,
	CHUNK_FREEZE = 9,	/* the crash guard's snapshot (snapshot.h) */
};

#define HEADER_SIZE		16
#define CHUNK_HEADER_SIZE	16
#define MAX_RAW			(64u << 20)
#define MAX_STR			(1u << 20)
#define MAX_FRAMES		64
#define MAX_EXTRA		64
#define EVENT_EXTRA		1	/* seed */
#define STACKS_PER_CHUNK	65536
#define SYMS_PER_CHUNK		16384
#define TYPES_PER_CHUNK		16384
/* deflate never expands more than ~1032:1; a bigger claim is a lie. */
#define MAX_RATIO		1100

/* ---- encoding ----------------------------------------------------------- */

struct buf {
	uint8_t *p;
	size_t n, cap;
	bool oom;
};

static bool buf_reserve(struct buf *b, size_t more)
{
	return bytebuf_reserve(&b->p, &b->cap, b->n, more, 4096, &b->oom);
}

static void put_uv(struct buf *b, uint64_t v)
{
	if (buf_reserve(b, LEB128_GO_MAX))
		b->n += leb128_put(b->p + b->n, v);
}

/* A signed difference, zigzag-encoded with unsigned arithmetic only. */
static void put_delta(struct buf *b, uint64_t now, uint64_t prev)
{
	uint64_t d = now - prev;

	put_uv(b, (d << 1) ^ (0 - (d >> 63)));
}

static void put_bytes(struct buf *b, const char *s, size_t len)
{
	put_uv(b, len);
	if (!buf_reserve(b, len))
		return;
	memcpy(b->p + b->n, s, len);
	b->n += len;
}

static void put_str(struct buf *b, const char *s)
{
	s = s ? s : "";
	put_bytes(b, s, strlen(s));
}

/* ---- decoding ----------------------------------------------------------- */

struct rd {
	const uint8_t *p;
	size_t n, off;
	bool bad;
};

static uint64_t get_uv(struct rd *r)
{
	uint64_t v = 0;
	size_t k = r->off < r->n ?
		   leb128_u(r->p + r->off, r->n - r->off, LEB128_GO_MAX, &v) : 0;

	if (!k) {
		r->bad = true;
		return 0;
	}
	r->off += k;
	return v;
}

static uint64_t get_delta(struct rd *r, uint64_t prev)
{
	uint64_t z = get_uv(r);

	return prev + ((z >> 1) ^ (0 - (z & 1)));
}

/* A count of records, each at least min_size bytes: never more than fit. */
static uint64_t get_count(struct rd *r, size_t min_size)
{
	uint64_t n = get_uv(r);

	if (n > (r->n - r->off) / min_size)
		r->bad = true;
	return r->bad ? 0 : n;
}

/*
 * A table's header: its record count (as get_count) and how many fields
 * newer writers added to each record; false when either does not fit.
 */
static bool get_table(struct rd *r, size_t min_size, uint64_t *n,
		      uint64_t *nextra)
{
	*n = get_count(r, min_size);
	*nextra = get_uv(r);
	return !r->bad && *nextra <= MAX_EXTRA;
}

static uint32_t get_u32(struct rd *r)
{
	uint64_t v = get_uv(r);

	if (v > UINT32_MAX)
		r->bad = true;
	return (uint32_t)v;
}

/* The string's bytes (not NUL-terminated) and length. */
static const char *get_bytes(struct rd *r, size_t *len)
{
	uint64_t n = get_uv(r);
	const char *s;

	if (r->bad || n > MAX_STR || n > r->n - r->off) {
		r->bad = true;
		*len = 0;
		return "";
	}
	s = (const char *)r->p + r->off;
	r->off += n;
	*len = n;
	return s;
}

/* Copy a string field into dst (size dstlen), cutting what does not fit. */
static void get_str_into(struct rd *r, char *dst, size_t dstlen)
{
	size_t len;
	const char *s = get_bytes(r, &len);

	if (len >= dstlen)
		len = dstlen - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

static void skip_extra(struct rd *r, uint64_t nextra)
{
	for (uint64_t i = 0; i < nextra && !r->bad; i++)
		get_uv(r);
}

/* ---- writer ------------------------------------------------------------- */

struct trace_writer {
	FILE *f;
	char *path, *tmp;	/* tmp: the name being written */
	bool in_place;		/* a FIFO or device: no .partial, no rename */
	struct buf raw;
	uint8_t *comp;
	size_t comp_cap;
	size_t stacks_done, syms_done, types_done, fatals_done;
	size_t freezes_done;
	uint64_t events_done;	/* counting events the trace has dropped */
};

static int io_error(struct trace_writer *w, struct errbuf *err)
{
	return errbuf_set(err, "cannot write %s: %s", w->tmp,
			  errno ? strerror(errno) : "I/O error");
}

static int write_chunk(struct trace_writer *w, uint32_t type,
		       struct errbuf *err)
{
	uint8_t hdr[CHUNK_HEADER_SIZE];
	uLongf clen = compressBound(w->raw.n);

	if (w->raw.oom || w->raw.n > MAX_RAW)
		return errbuf_set(err, "out of memory writing %s", w->tmp);
	if (clen > w->comp_cap) {
		uint8_t *p = realloc(w->comp, clen);

		if (!p)
			return errbuf_set(err, "out of memory writing %s",
					  w->tmp);
		w->comp = p;
		w->comp_cap = clen;
	}
	if (compress2(w->comp, &clen, w->raw.p, w->raw.n, 1) != Z_OK)
		return errbuf_set(err, "zlib failed compressing %s", w->tmp);
	wr32(hdr, type);
	wr32(hdr + 4, w->raw.n);
	wr32(hdr + 8, clen);
	wr32(hdr + 12, crc32(0, w->comp, clen));
	errno = 0;
	if (fwrite(hdr, sizeof(hdr), 1, w->f) != 1 ||
	    fwrite(w->comp, clen, 1, w->f) != 1 || fflush(w->f))
		return io_error(w, err);
	w->raw.n = 0;
	return 0;
}

static int write_meta(struct trace_writer *w, const struct trace_meta *m,
		      struct errbuf *err)
{
	struct buf *b = &w->raw;

	put_str(b, m->command);
	put_uv(b, (uint32_t)m->pid);
	put_str(b, m->exe);
	put_str(b, m->go_version);
	put_str(b, m->map_impl);
	put_uv(b, m->load_bias);
	put_uv(b, m->start_ns);
	put_uv(b, m->wall_start_ns);
	put_uv(b, m->ops_mask);
	put_uv(b, m->nprobes);
	put_uv(b, m->nslow);
	return write_chunk(w, CHUNK_META, err);
}

typedef void (*put_rec_fn)(struct buf *b, const struct trace *t, size_t i,
			   size_t nextra);

/*
 * Records [*done, end) of a table, in chunks of at most per_chunk: each
 * starts with its count and the extra fields per record (nextra, which
 * put writes last); stacks (with_first) put the index of their first
 * record before them.
 */
static int write_table(struct trace_writer *w, const struct trace *t,
		       uint32_t type, size_t *done, size_t end,
		       size_t per_chunk, bool with_first, size_t nextra,
		       put_rec_fn put, struct errbuf *err)
{
	while (*done < end) {
		size_t n = end - *done;

		if (n > per_chunk)
			n = per_chunk;
		if (with_first)
			put_uv(&w->raw, *done);
		put_uv(&w->raw, n);
		put_uv(&w->raw, nextra);
		for (size_t i = 0; i < n; i++)
			put(&w->raw, t, *done + i, nextra);
		if (write_chunk(w, type, err))
			return -1;
		*done += n;
	}
	return 0;
}

static void put_stack(struct buf *b, const struct trace *t, size_t i,
		      size_t nextra)
{
	const struct trace_stack *s = &t->stacks[i];

	(void)nextra;
	put_uv(b, s->n);
	for (uint32_t j = 0; j < s->n; j++)
		put_uv(b, s->pc[j]);
}

static int write_stacks(struct trace_writer *w, const struct trace *t,
			struct errbuf *err)
{
	return write_table(w, t, CHUNK_STACKS, &w->stacks_done, t->nstacks,
			   STACKS_PER_CHUNK, true, 0, put_stack, err);
}

static void put_sym(struct buf *b, const struct trace *t, size_t i,
		    size_t nextra)
{
	const struct trace_sym *s = &t->syms[i];

	(void)nextra;
	put_uv(b, s->pc);
	put_uv(b, s->nframes);
	for (uint32_t j = 0; j < s->nframes; j++) {
		const struct trace_frame *f = &t->frames[s->first + j];

		put_str(b, f->function);
		put_str(b, f->file);
		put_uv(b, f->line);
		put_uv(b, f->inlined ? 1 : 0);
	}
}

static int write_syms(struct trace_writer *w, const struct trace *t,
		      struct errbuf *err)
{
	return write_table(w, t, CHUNK_SYMBOLS, &w->syms_done, t->nsyms,
			   SYMS_PER_CHUNK, false, 0, put_sym, err);
}

static void put_type(struct buf *b, const struct trace *t, size_t i,
		     size_t nextra)
{
	(void)nextra;
	put_uv(b, t->types[i].addr);
	put_str(b, t->types[i].name);
}

/* Types are written once named; at the end, unnamed ones too. */
static int write_types(struct trace_writer *w, const struct trace *t,
		       bool all, struct errbuf *err)
{
	size_t end = w->types_done;

	while (end < t->ntypes && (all || t->types[end].resolved))
		end++;
	return write_table(w, t, CHUNK_TYPES, &w->types_done, end,
			   TYPES_PER_CHUNK, false, 0, put_type, err);
}

static void put_events(struct buf *b, const struct trace_event *ev,
		       size_t n)
{
	uint64_t ts = ev[0].ts_ns, map = 0, type = 0;

	put_uv(b, n);
	put_uv(b, EVENT_EXTRA);	/* fields after the first eight */
	put_uv(b, ts);
	for (size_t i = 0; i < n; i++) {
		if (!buf_reserve(b, 80))
			return;
		put_delta(b, ev[i].ts_ns, ts);
		put_uv(b, ev[i].tid);
		put_uv(b, ev[i].goid);
		put_delta(b, ev[i].map, map);
		put_delta(b, ev[i].type, type);
		put_uv(b, ev[i].op);
		put_uv(b, ev[i].flags);
		put_uv(b, ev[i].stack);
		put_uv(b, ev[i].seed);
		ts = ev[i].ts_ns;
		map = ev[i].map;
		type = ev[i].type;
	}
}

static int write_events(struct trace_writer *w, const struct trace *t,
			bool all, struct errbuf *err)
{
	size_t at, n;

	if (w->events_done < t->dropped)
		return errbuf_set(err, "internal error: events were dropped "
				  "before %s saved them", w->tmp);
	at = w->events_done - t->dropped;
	while (at < t->nevents) {
		n = t->nevents - at;
		if (n > TRACE_FILE_BATCH)
			n = TRACE_FILE_BATCH;
		if (n < TRACE_FILE_BATCH && !all)
			break;
		put_events(&w->raw, &t->events[at], n);
		if (write_chunk(w, CHUNK_EVENTS, err))
			return -1;
		at += n;
		w->events_done += n;
	}
	return 0;
}

static void put_fatal(struct buf *b, const struct trace *t, size_t i,
		      size_t nextra)
{
	const struct trace_fatal *f = &t->fatals[i];

	(void)nextra;
	put_uv(b, f->ts_ns);
	put_uv(b, f->tid);
	put_uv(b, f->goid);
	put_uv(b, f->stack);
	put_str(b, f->msg);
}

/* Fatals and freezes are few: all that are new go in one chunk. */
static int write_fatals(struct trace_writer *w, const struct trace *t,
			struct errbuf *err)
{
	return write_table(w, t, CHUNK_FATAL, &w->fatals_done, t->nfatals,
			   SIZE_MAX, false, 0, put_fatal, err);
}

static void put_snap_thread(struct buf *b, const struct snap_thread *st)
{
	put_uv(b, st->tid);
	put_uv(b, st->flags);
	put_uv(b, st->goid);
	put_uv(b, st->ip);
	put_uv(b, st->sp);
	put_uv(b, st->map);
	put_str(b, st->map_func);
	put_uv(b, st->npcs);
	for (uint32_t j = 0; j < st->npcs; j++)
		put_uv(b, st->pc[j]);
}

static void put_freeze(struct buf *b, const struct trace *t, size_t i,
		       size_t nextra)
{
	const struct trace_freeze *f = &t->freezes[i];

	put_uv(b, f->status);
	put_uv(b, f->tid);
	put_delta(b, (uint64_t)(int64_t)f->tracer_pid, 0);
	put_uv(b, f->mode);
	put_uv(b, f->freeze_ns);
	put_uv(b, f->stopped_ns);
	put_uv(b, f->resume_ns);
	put_str(b, f->msg);
	put_uv(b, f->nthreads);
	for (size_t j = 0; j < f->nthreads; j++)
		put_snap_thread(b, &f->threads[j]);
	for (size_t j = 0; j < nextra; j++)
		put_uv(b, j < f->nthreads ? f->threads[j].map_type : 0);
}

static int write_freezes(struct trace_writer *w, const struct trace *t,
			 struct errbuf *err)
{
	size_t nextra = 0;

	/*
	 * Each thread's map type goes in the snapshot's extra fields (one
	 * per thread, zero-padded to the chunk's widest snapshot, the first
	 * MAX_EXTRA threads), so that readers that do not know it skip it.
	 */
	for (size_t i = w->freezes_done; i < t->nfreezes; i++)
		if (t->freezes[i].nthreads > nextra)
			nextra = t->freezes[i].nthreads;
	if (nextra > MAX_EXTRA)
		nextra = MAX_EXTRA;	/* what every reader accepts */
	return write_table(w, t, CHUNK_FREEZE, &w->freezes_done, t->nfreezes,
			   SIZE_MAX, false, nextra, put_freeze, err);
}

int trace_writer_check(const char *path, struct errbuf *err)
{
	bool in_place;
	char *tmp;
	int ret;

	if (safe_out_kind(path, &in_place, err))
		return -1;
	if (in_place)
		return 0;	/* a FIFO or a device: opened only to write */
	tmp = malloc(strlen(path) + sizeof(".partial"));
	if (!tmp)
		return errbuf_set(err, "out of memory");
	sprintf(tmp, "%s.partial", path);
	ret = safe_try_create(tmp, err);
	free(tmp);
	return ret;
}

int trace_writer_open(struct trace_writer **out, const char *path,
		      const struct trace *t, struct errbuf *err)
{
	struct trace_writer *w = calloc(1, sizeof(*w));
	uint8_t hdr[HEADER_SIZE] = { 0 };

	*out = NULL;
	if (!w)
		return errbuf_set(err, "out of memory");
	w->path = strdup(path);
	/*
	 * Renaming the finished file over a FIFO or a device would replace
	 * the node with a regular file: those are written in place.
	 */
	if (safe_out_kind(path, &w->in_place, err)) {
		trace_writer_abort(w);
		return -1;
	}
	w->tmp = malloc(strlen(path) + sizeof(".partial"));
	if (w->tmp)
		sprintf(w->tmp, w->in_place ? "%s" : "%s.partial", path);
	if (!w->path || !w->tmp) {
		trace_writer_abort(w);
		return errbuf_set(err, "out of memory");
	}
	w->f = w->in_place ? safe_fopen_in_place(w->tmp, err) :
			     safe_fopen_new(w->tmp, true, err);
	if (!w->f) {
		trace_writer_abort(w);
		return -1;
	}
	memcpy(hdr, TRACE_FILE_MAGIC, 8);
	wr32(hdr + 8, TRACE_FILE_VERSION);
	if (fwrite(hdr, sizeof(hdr), 1, w->f) != 1 ||
	    write_meta(w, &t->meta, err)) {
		if (!err || !err->msg[0])
			io_error(w, err);
		trace_writer_abort(w);
		return -1;
	}
	*out = w;
	return 0;
}

int trace_writer_flush(struct trace_writer *w, const struct trace *t,
		       bool all, struct errbuf *err)
{
	if (write_stacks(w, t, err) || write_syms(w, t, err) ||
	    write_types(w, t, all, err) || write_events(w, t, all, err) ||
	    write_fatals(w, t, err) || write_freezes(w, t, err))
		return -1;
	return 0;
}

int trace_writer_histories(struct trace_writer *w, const struct trace *t,
			   struct errbuf *err)
{
	if (!t->nhistories)
		return 0;
	if (write_stacks(w, t, err) || write_syms(w, t, err))
		return -1;
	put_uv(&w->raw, t->nhistories);
	put_uv(&w->raw, 0);
	for (size_t i = 0; i < t->nhistories; i++) {
		const struct trace_history *h = &t->histories[i];

		put_uv(&w->raw, h->tid);
		put_uv(&w->raw, h->total);
		put_uv(&w->raw, h->taken_ns);
		put_uv(&w->raw, h->nops);
		for (uint32_t j = 0; j < h->nops; j++) {
			const struct trace_hist_op *o = &h->ops[j];

			put_uv(&w->raw, o->ts_ns);
			put_uv(&w->raw, o->map);
			put_uv(&w->raw, o->goid);
			put_uv(&w->raw, o->op);
			put_uv(&w->raw, o->flags);
			put_uv(&w->raw, o->stack);
		}
	}
	return write_chunk(w, CHUNK_HISTORIES, err);
}

size_t trace_writer_pending(const struct trace_writer *w,
			    const struct trace *t)
{
	uint64_t total = t->dropped + t->nevents;

	return total > w->events_done ? total - w->events_done : 0;
}

static int write_trailer(struct trace_writer *w, const struct trace *t,
			 struct errbuf *err)
{
	put_uv(&w->raw, t->lost);
	put_uv(&w->raw, t->meta.end_ns);
	put_delta(&w->raw, (uint64_t)(int64_t)t->meta.exit_status, 0);
	put_uv(&w->raw, w->events_done);
	return write_chunk(w, CHUNK_TRAILER, err);
}

int trace_writer_finish(struct trace_writer *w, const struct trace *t,
			struct errbuf *err)
{
	int ret = -1;

	if (trace_writer_flush(w, t, true, err) ||
	    trace_writer_histories(w, t, err) || write_trailer(w, t, err))
		goto out;
	if (fclose(w->f)) {
		w->f = NULL;
		io_error(w, err);
		goto out;
	}
	w->f = NULL;
	if (!w->in_place && safe_rename(w->tmp, w->path, err))
		goto out;
	ret = 0;
out:
	trace_writer_abort(w);
	return ret;
}

void trace_writer_abort(struct trace_writer *w)
{
	if (!w)
		return;
	if (w->f)
		fclose(w->f);
	free(w->raw.p);
	free(w->comp);
	free(w->path);
	free(w->tmp);
	free(w);
}

int trace_write_path(const struct trace *t, const char *path,
		     struct errbuf *err)
{
	struct trace_writer *w;

	if (trace_writer_open(&w, path, t, err))
		return -1;
	return trace_writer_finish(w, t, err);
}

/* ---- reader ------------------------------------------------------------- */

struct loader {
	struct trace *t;
	const char *name;
	uint32_t *stack_ids;	/* the file's stack ids -> t's */
	size_t nstack_ids, cap_stack_ids;
	bool have_meta, have_trailer;
	uint64_t trailer_events;
	char *str;		/* scratch for NUL-terminated strings */
	size_t str_cap;
	size_t nloaded;		/* events read (the callback may drop them) */
	trace_events_fn on_events;
	void *ctx;
	bool cb_failed;
};

/* A string field as a NUL-terminated scratch copy (valid until next). */
static const char *get_cstr(struct rd *r, struct loader *l)
{
	size_t len;
	const char *s = get_bytes(r, &len);

	if (r->bad)
		return "";
	if (len + 1 > l->str_cap) {
		char *p = realloc(l->str, len + 1);

		if (!p) {
			r->bad = true;
			return "";
		}
		l->str = p;
		l->str_cap = len + 1;
	}
	/* An embedded NUL would make two strings compare equal: refuse it. */
	if (memchr(s, '\0', len))
		r->bad = true;
	memcpy(l->str, s, len);
	l->str[len] = '\0';
	return l->str;
}

static int load_meta(struct loader *l, struct rd *r)
{
	struct trace_meta m = l->t->meta;

	get_str_into(r, m.command, sizeof(m.command));
	m.pid = (int32_t)get_u32(r);
	get_str_into(r, m.exe, sizeof(m.exe));
	get_str_into(r, m.go_version, sizeof(m.go_version));
	get_str_into(r, m.map_impl, sizeof(m.map_impl));
	m.load_bias = get_uv(r);
	m.start_ns = get_uv(r);
	m.wall_start_ns = get_uv(r);
	m.ops_mask = get_u32(r);
	m.nprobes = get_u32(r);
	m.nslow = get_u32(r);
	if (r->bad)
		return -1;
	l->t->meta = m;
	l->have_meta = true;
	return 0;
}

static uint32_t map_stack(struct loader *l, struct rd *r)
{
	uint64_t id = get_uv(r);

	if (id >= l->nstack_ids) {
		r->bad = true;
		return 0;
	}
	return l->stack_ids[id];
}

static int load_stacks(struct loader *l, struct rd *r)
{
	uint64_t first = get_uv(r), n, nextra;
	struct trace_stack s;

	if (!get_table(r, 1, &n, &nextra) || first != l->nstack_ids)
		return -1;
	for (uint64_t i = 0; i < n; i++) {
		s.n = get_u32(r);
		if (s.n > GMT_STACK_DEPTH)
			return -1;
		for (uint32_t j = 0; j < s.n; j++)
			s.pc[j] = get_uv(r);
		skip_extra(r, nextra);
		if (r->bad)
			return -1;
		if (l->nstack_ids >= l->cap_stack_ids) {
			size_t cap = l->cap_stack_ids ? 2 * l->cap_stack_ids :
				     1024;
			uint32_t *p = realloc(l->stack_ids, cap * sizeof(*p));

			if (!p)
				return -1;
			l->stack_ids = p;
			l->cap_stack_ids = cap;
		}
		if (trace_intern_stack(l->t, s.pc, s.n,
				       &l->stack_ids[l->nstack_ids]))
			return -1;
		l->nstack_ids++;
	}
	return 0;
}

static int load_one_sym(struct loader *l, struct rd *r, uint64_t nextra)
{
	struct trace_frame fr[MAX_FRAMES];
	uint64_t pc = get_uv(r);
	uint64_t n = get_uv(r);
	int ret = -1;

	if (r->bad || n > MAX_FRAMES)
		return -1;
	memset(fr, 0, sizeof(fr));
	for (uint64_t i = 0; i < n; i++) {
		fr[i].function = trace_intern_str(l->t, get_cstr(r, l));
		fr[i].file = trace_intern_str(l->t, get_cstr(r, l));
		fr[i].line = get_u32(r);
		fr[i].inlined = get_uv(r) & 1;
		if (r->bad || !fr[i].function || !fr[i].file)
			return -1;
	}
	skip_extra(r, nextra);
	if (!r->bad)
		ret = trace_add_sym(l->t, pc, fr, n);
	return ret;
}

static int load_one_type(struct loader *l, struct rd *r, uint64_t nextra)
{
	uint64_t addr = get_uv(r);
	const char *name = get_cstr(r, l);

	skip_extra(r, nextra);
	return r->bad || trace_set_type_name(l->t, addr, name) ? -1 : 0;
}

/* A table whose records go into the trace one at a time. */
static int load_each(struct loader *l, struct rd *r, size_t min_size,
		     int (*load_one)(struct loader *l, struct rd *r,
				     uint64_t nextra))
{
	uint64_t n, nextra;

	if (!get_table(r, min_size, &n, &nextra))
		return -1;
	for (uint64_t i = 0; i < n; i++)
		if (load_one(l, r, nextra))
			return -1;
	return 0;
}

/*
 * A table the trace takes whole: every record is decoded into a scratch
 * array (of size bytes each, at least min_size in the file) before any is
 * added, so a bad one adds none.
 */
struct staged_table {
	size_t min_size, size;
	int (*decode)(struct loader *l, struct rd *r, void *recs, uint64_t n,
		      uint64_t nextra);
	int (*add)(struct trace *t, void *rec);
	int (*loaded)(struct loader *l, uint64_t n);	/* may be NULL */
};

static int load_staged(struct loader *l, struct rd *r,
		       const struct staged_table *st)
{
	uint64_t n, nextra;
	uint8_t *recs;
	int ret = -1;

	if (!get_table(r, st->min_size, &n, &nextra))
		return -1;
	recs = calloc(n ? n : 1, st->size);
	if (!recs)
		return -1;
	if (st->decode(l, r, recs, n, nextra) || r->bad)
		goto out;
	for (uint64_t i = 0; i < n; i++)
		if (st->add(l->t, recs + i * st->size))
			goto out;
	if (st->loaded && st->loaded(l, n))
		goto out;
	ret = 0;
out:
	free(recs);
	return ret;
}

static int decode_events(struct loader *l, struct rd *r, void *recs,
			 uint64_t n, uint64_t nextra)
{
	struct trace_event *ev = recs;
	uint64_t ts = get_uv(r), map = 0, type = 0, op;

	for (uint64_t i = 0; i < n && !r->bad; i++) {
		memset(&ev[i], 0, sizeof(ev[i]));
		ts = ev[i].ts_ns = get_delta(r, ts);
		ev[i].tid = get_u32(r);
		ev[i].goid = get_uv(r);
		map = ev[i].map = get_delta(r, map);
		type = ev[i].type = get_delta(r, type);
		op = get_uv(r);
		ev[i].flags = get_uv(r) & 0xff;
		ev[i].stack = map_stack(l, r);
		/* Files from before the seed have none: 0, unknown. */
		if (nextra >= 1)
			ev[i].seed = get_u32(r);
		skip_extra(r, nextra ? nextra - 1 : 0);
		if (op >= TRACE_NKINDS)
			r->bad = true;
		ev[i].op = op;
	}
	return r->bad ? -1 : 0;
}

static int add_event(struct trace *t, void *rec)
{
	return trace_add_event(t, rec);
}

/* A streaming reader sees each events chunk once it is in the trace. */
static int events_loaded(struct loader *l, uint64_t n)
{
	l->nloaded += n;
	if (l->on_events && l->on_events(l->t, l->t->nevents - n, l->ctx)) {
		l->cb_failed = true;
		return -1;
	}
	return 0;
}

/* Events: eight fields of at least one byte each. */
static const struct staged_table events_table = {
	8, sizeof(struct trace_event), decode_events, add_event,
	events_loaded,
};

static int load_one_history(struct loader *l, struct rd *r,
			    struct trace_history *h, uint64_t nextra)
{
	uint64_t nops;

	memset(h, 0, sizeof(*h));
	h->tid = get_u32(r);
	h->total = get_uv(r);
	h->taken_ns = get_uv(r);
	nops = get_uv(r);
	if (r->bad || nops > GMT_HISTORY_LEN)
		return -1;
	for (uint64_t j = 0; j < nops; j++) {
		struct trace_hist_op *o = &h->ops[j];

		o->ts_ns = get_uv(r);
		o->map = get_uv(r);
		o->goid = get_uv(r);
		o->op = get_uv(r) & 0xff;
		o->flags = get_uv(r) & 0xff;
		o->stack = map_stack(l, r);
	}
	h->nops = nops;
	skip_extra(r, nextra);
	return r->bad ? -1 : 0;
}

static int decode_histories(struct loader *l, struct rd *r, void *recs,
			    uint64_t n, uint64_t nextra)
{
	struct trace_history *h = recs;

	for (uint64_t i = 0; i < n; i++)
		if (load_one_history(l, r, &h[i], nextra))
			return -1;
	return 0;
}

static int add_history(struct trace *t, void *rec)
{
	return trace_add_history(t, rec, true);
}

static const struct staged_table histories_table = {
	4, sizeof(struct trace_history), decode_histories, add_history,
	NULL,
};

static int decode_fatals(struct loader *l, struct rd *r, void *recs,
			 uint64_t n, uint64_t nextra)
{
	struct trace_fatal *f = recs;

	for (uint64_t i = 0; i < n && !r->bad; i++) {
		f[i].ts_ns = get_uv(r);
		f[i].tid = get_u32(r);
		f[i].goid = get_uv(r);
		f[i].stack = map_stack(l, r);
		get_str_into(r, f[i].msg, sizeof(f[i].msg));
		skip_extra(r, nextra);
	}
	return r->bad ? -1 : 0;
}

static int add_fatal(struct trace *t, void *rec)
{
	return trace_add_fatal(t, rec);
}

static const struct staged_table fatals_table = {
	5, sizeof(struct trace_fatal), decode_fatals, add_fatal,
	NULL,
};

static void load_snap_thread(struct loader *l, struct rd *r,
			     struct snap_thread *st)
{
	const char *fn;

	st->tid = get_u32(r);
	st->flags = get_u32(r);
	st->goid = get_uv(r);
	st->ip = get_uv(r);
	st->sp = get_uv(r);
	st->map = get_uv(r);
	fn = get_cstr(r, l);
	st->map_func = *fn ? trace_intern_str(l->t, fn) : NULL;
	st->npcs = get_u32(r);
	if (st->npcs > SNAP_MAX_PCS) {
		r->bad = true;
		return;
	}
	for (uint32_t j = 0; j < st->npcs; j++)
		st->pc[j] = get_uv(r);
}

static int load_one_freeze(struct loader *l, struct rd *r, uint64_t nextra)
{
	struct trace_freeze f = { 0 };
	int ret = -1;

	f.status = get_u32(r);
	f.tid = get_u32(r);
	f.tracer_pid = (int32_t)(int64_t)get_delta(r, 0);
	f.mode = get_u32(r);
	f.freeze_ns = get_uv(r);
	f.stopped_ns = get_uv(r);
	f.resume_ns = get_uv(r);
	get_str_into(r, f.msg, sizeof(f.msg));
	f.nthreads = get_count(r, 9);
	if (r->bad)
		return -1;
	f.threads = calloc(f.nthreads ? f.nthreads : 1, sizeof(*f.threads));
	if (!f.threads)
		return -1;
	for (size_t j = 0; j < f.nthreads && !r->bad; j++)
		load_snap_thread(l, r, &f.threads[j]);
	/* The extras: each thread's map type, then what we do not know. */
	for (uint64_t j = 0; j < nextra && !r->bad; j++) {
		uint64_t type = get_uv(r);

		if (j < f.nthreads)
			f.threads[j].map_type = type;
	}
	if (!r->bad)
		ret = trace_add_freeze(l->t, &f);
	free(f.threads);
	return ret;
}

static int load_trailer(struct loader *l, struct rd *r)
{
	uint64_t lost = get_uv(r), end = get_uv(r);
	uint64_t status = get_delta(r, 0);
	uint64_t nevents = get_uv(r);

	if (r->bad)
		return -1;
	l->t->lost = lost;
	l->t->meta.end_ns = end;
	l->t->meta.exit_status = (int32_t)(int64_t)status;
	l->trailer_events = nevents;
	l->have_trailer = true;
	return 0;
}

static int load_chunk(struct loader *l, uint32_t type, struct rd *r)
{
	switch (type) {
	case CHUNK_META:
		return load_meta(l, r);
	case CHUNK_STACKS:
		return load_stacks(l, r);
	case CHUNK_SYMBOLS:
		return load_each(l, r, 2, load_one_sym);
	case CHUNK_TYPES:
		return load_each(l, r, 2, load_one_type);
	case CHUNK_EVENTS:
		return load_staged(l, r, &events_table);
	case CHUNK_HISTORIES:
		return load_staged(l, r, &histories_table);
	case CHUNK_FATAL:
		return load_staged(l, r, &fatals_table);
	case CHUNK_TRAILER:
		return load_trailer(l, r);
	case CHUNK_FREEZE:
		return load_each(l, r, 10, load_one_freeze);
	default:
		return 0;	/* a newer writer's chunk: skip it */
	}
}

enum chunk_result {
	CHUNK_OK,
	CHUNK_CUT,
	CHUNK_DAMAGED,
	CHUNK_MALFORMED,
};

static enum chunk_result read_chunk(struct loader *l, const uint8_t *p,
				    size_t left, size_t *used,
				    uint32_t *type)
{
	uint32_t raw_len, comp_len;
	uLongf out_len;
	uint8_t *raw;
	struct rd r = { 0 };
	int ret;

	if (left < CHUNK_HEADER_SIZE)
		return CHUNK_CUT;
	*type = rd32(p);
	raw_len = rd32(p + 4);
	comp_len = rd32(p + 8);
	if (comp_len > left - CHUNK_HEADER_SIZE)
		return CHUNK_CUT;
	if (crc32(0, p + CHUNK_HEADER_SIZE, comp_len) != rd32(p + 12))
		return CHUNK_DAMAGED;
	if (raw_len > MAX_RAW || raw_len / MAX_RATIO > comp_len)
		return CHUNK_MALFORMED;
	*used = CHUNK_HEADER_SIZE + (size_t)comp_len;
	raw = malloc(raw_len ? raw_len : 1);
	if (!raw)
		return CHUNK_MALFORMED;
	out_len = raw_len;
	ret = uncompress(raw, &out_len, p + CHUNK_HEADER_SIZE, comp_len);
	if (ret != Z_OK || out_len != raw_len) {
		free(raw);
		return CHUNK_MALFORMED;
	}
	r.p = raw;
	r.n = raw_len;
	if (!l->have_meta && *type != CHUNK_META)
		ret = -1;
	else
		ret = load_chunk(l, *type, &r);
	free(raw);
	return ret ? CHUNK_MALFORMED : CHUNK_OK;
}

static int check_header(const uint8_t *data, size_t size, const char *name,
			struct errbuf *err)
{
	uint32_t version;

	if (!size)
		return errbuf_set(err, "%s is empty: not a gomaptrace trace "
				  "file", name);
	if (memcmp(data, TRACE_FILE_MAGIC, size < 8 ? size : 8))
		return errbuf_set(err, "%s is not a gomaptrace trace file "
				  "(it does not start with GMTRACE)", name);
	if (size < HEADER_SIZE)
		return errbuf_set(err, "%s is cut short inside its header: "
				  "nothing to report", name);
	version = rd32(data + 8);
	if (version != TRACE_FILE_VERSION)
		return errbuf_set(err, "%s is a version %u trace file; this "
				  "gomaptrace reads version %u: use the "
				  "gomaptrace that wrote it", name, version,
				  TRACE_FILE_VERSION);
	return 0;
}

static const char *const why[] = {
	[CHUNK_CUT] = "is cut short",
	[CHUNK_DAMAGED] = "is damaged (checksum mismatch)",
	[CHUNK_MALFORMED] = "is malformed",
};

/*
 * Streaming: the chunks read are not read again; give their pages back so
 * a mapped file of any size costs no more than the chunk at hand.
 */
static void release_pages(const uint8_t *data, size_t off, size_t *done)
{
	const size_t step = 16 << 20;
	uintptr_t from = (uintptr_t)data + *done;
	uintptr_t to = ((uintptr_t)data + off) & ~(uintptr_t)4095;

	if (off - *done < step || to <= from)
		return;
	madvise((void *)from, to - from, MADV_DONTNEED);
	*done = to - (uintptr_t)data;
}

static int load_chunks(struct loader *l, const uint8_t *data, size_t size,
		       struct errbuf *err, struct errbuf *warn)
{
	size_t off = HEADER_SIZE, used = 0, done = 0;
	enum chunk_result res = CHUNK_OK;
	uint32_t type = 0;

	while (off < size) {
		res = read_chunk(l, data + off, size - off, &used, &type);
		if (res != CHUNK_OK)
			break;
		off += used;
		if (l->on_events)
			release_pages(data, off, &done);
	}
	/*
	 * A cut or a bad checksum is what a killed recording leaves: report
	 * what came before. A chunk whose checksum holds but whose counts,
	 * lengths or indexes do not fit was written that way: refuse it.
	 */
	if (l->cb_failed)
		return errbuf_set(err, "out of memory analysing %s", l->name);
	if (res == CHUNK_MALFORMED)
		return errbuf_set(err, "%s: the chunk at byte %zu is malformed "
				  "(a count, length or index that does not "
				  "fit): not reporting it", l->name, off);
	if (!l->have_meta)
		return errbuf_set(err, "%s %s before its first chunk ended: "
				  "nothing to report", l->name,
				  res == CHUNK_OK ? "was cut" : "is damaged");
	if (res != CHUNK_OK)
		errbuf_set(warn, "%s: the chunk at byte %zu %s; reporting the "
			   "%zu events before it", l->name, off, why[res],
			   l->nloaded);
	else if (!l->have_trailer)
		errbuf_set(warn, "%s has no trailer (the recording did not "
			   "finish); reporting the %zu events it holds",
			   l->name, l->nloaded);
	else if (l->trailer_events != l->nloaded)
		errbuf_set(warn, "%s: its trailer counts %llu events but it "
			   "holds %zu", l->name,
			   (unsigned long long)l->trailer_events,
			   l->nloaded);
	l->t->complete = res == CHUNK_OK && l->have_trailer;
	return 0;
}

static int load_mem(struct trace *t, const uint8_t *data, size_t size,
		    const char *name, trace_events_fn fn, void *ctx,
		    struct errbuf *err, struct errbuf *warn)
{
	struct loader l = { .t = t, .name = name, .on_events = fn,
			    .ctx = ctx };
	int ret;

	warn->msg[0] = '\0';
	if (check_header(data, size, name, err))
		return -1;
	ret = load_chunks(&l, data, size, err, warn);
	free(l.stack_ids);
	free(l.str);
	return ret;
}

int trace_load_mem(struct trace *t, const uint8_t *data, size_t size,
		   const char *name, struct errbuf *err, struct errbuf *warn)
{
	return load_mem(t, data, size, name, NULL, NULL, err, warn);
}

int trace_load_path(struct trace *t, const char *path, struct errbuf *err,
		    struct errbuf *warn)
{
	return trace_stream_path(t, path, NULL, NULL, err, warn);
}

int trace_stream_path(struct trace *t, const char *path, trace_events_fn fn,
		      void *ctx, struct errbuf *err, struct errbuf *warn)
{
	struct stat st;
	void *data = NULL;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errbuf_set(err, "cannot open %s: %s", path,
				  strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return errbuf_set(err, "%s is not a regular file: give a "
				  "trace file written by gomaptrace", path);
	}
	if (st.st_size > 0) {
		data = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (data == MAP_FAILED) {
			close(fd);
			return errbuf_set(err, "cannot read %s: %s", path,
					  strerror(errno));
		}
	}
	close(fd);
	ret = load_mem(t, data ? data : (const uint8_t *)"", st.st_size,
		       path, fn, ctx, err, warn);
	if (data)
		munmap(data, st.st_size);
	return ret;
}
