// SPDX-License-Identifier: MIT
/*
 * Reader for Go's .gopclntab (Go 1.16 onward), following the runtime's own
 * lookups in runtime/symtab.go: pcHeader, the functab, _func records, the
 * pcvalue tables and, through FUNCDATA, the inline tree. The table may be
 * corrupt or hostile: every offset is checked before use, so bad input
 * yields an error or no frames, never an out-of-bounds read.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "leb128.h"
#include "pclntab.h"

#define MAGIC_116 0xfffffffaU
#define MAGIC_118 0xfffffff0U
#define MAGIC_120 0xfffffff1U
#define MAGIC_12 0xfffffffbU

#define PCDATA_INLTREEINDEX 2
#define FUNCDATA_INLTREE 3
#define MAX_FUNCS (1U << 24)

struct pclntab {
	const uint8_t *data;
	size_t size;
	enum pclntab_version version;
	uint32_t quantum;
	uint64_t text_start;
	/* offsets of the sub-tables from the start of data */
	uint64_t funcnametab, cutab, filetab, pctab, pclntab;
	struct pcln_func *funcs;
	size_t nfuncs;
	uint32_t *by_name;	/* indices into funcs, sorted by name */
	pclntab_read_fn read;
	void *read_ctx;
	uint64_t gofunc;
};

/* A decoded _func record. */
struct func_rec {
	uint64_t entry;
	int32_t nameoff;
	uint32_t pcfile, pcln, npcdata, cu_offset;
	uint8_t nfuncdata;
	uint64_t pcdata;	/* offset in data of the pcdata offsets */
	uint64_t funcdata;	/* offset in data of the funcdata slots */
	uint32_t pcsp;		/* the SP-delta table */
};



static int32_t to_i32(uint32_t v)
{
	int32_t r;

	memcpy(&r, &v, sizeof(r));
	return r;
}

static bool in_range(uint64_t off, uint64_t len, uint64_t total)
{
	return off <= total && len <= total - off;
}

/* Bytes [off, off+len) of the table, or NULL. */
static const uint8_t *at(const struct pclntab *t, uint64_t off, uint64_t len)
{
	return in_range(off, len, t->size) ? t->data + off : NULL;
}

static bool rd32_at(const struct pclntab *t, uint64_t off, uint32_t *v)
{
	const uint8_t *p = at(t, off, 4);

	if (!p)
		return false;
	*v = rd32(p);
	return true;
}

/* NUL-terminated string at off, or NULL. */
static const char *str_at(const struct pclntab *t, uint64_t off)
{
	if (off >= t->size || !memchr(t->data + off, 0, t->size - off))
		return NULL;
	return (const char *)t->data + off;
}

static const char *name_at(const struct pclntab *t, int32_t nameoff)
{
	if (nameoff < 0)
		return NULL;
	return str_at(t, t->funcnametab + (uint64_t)nameoff);
}

static int parse_header(struct pclntab *t, uint64_t text_start,
			uint64_t *nfunc, struct errbuf *err)
{
	const uint8_t *h = t->data;
	uint64_t *offs[] = { &t->funcnametab, &t->cutab, &t->filetab,
			     &t->pctab, &t->pclntab };
	uint64_t pos = 24;
	uint32_t magic;

	if (t->size < 8)
		return errbuf_set(err, "truncated .gopclntab (%zu bytes)",
				  t->size);
	magic = rd32(h);
	if (magic == MAGIC_116)
		t->version = PCLNTAB_116;
	else if (magic == MAGIC_118)
		t->version = PCLNTAB_118;
	else if (magic == MAGIC_120)
		t->version = PCLNTAB_120;
	else if (magic == MAGIC_12)
		return errbuf_set(err, ".gopclntab is from Go 1.2-1.15 (magic "
				  "0xfffffffb); Go 1.16 or later is needed");
	else
		return errbuf_set(err, ".gopclntab has unknown magic 0x%08x",
				  magic);
	if (h[4] || h[5])
		return errbuf_set(err, "corrupt .gopclntab header (padding)");
	t->quantum = h[6];
	if (t->quantum != 1 && t->quantum != 2 && t->quantum != 4)
		return errbuf_set(err, "corrupt .gopclntab header (pc quantum "
				  "%u)", t->quantum);
	if (h[7] != 8)
		return errbuf_set(err, ".gopclntab is for %u-byte pointers; "
				  "only 64-bit Go binaries are supported",
				  h[7]);
	if (t->version >= PCLNTAB_118)
		pos += 8;
	if (t->size < pos + 5 * 8)
		return errbuf_set(err, "truncated .gopclntab header");
	*nfunc = rd64(h + 8);
	t->text_start = 0;
	if (t->version >= PCLNTAB_118) {
		t->text_start = rd64(h + 24);
		/* Seen in Go 1.26: entries are relative to runtime.text. */
		if (!t->text_start)
			t->text_start = text_start;
	}
	for (size_t i = 0; i < 5; i++, pos += 8) {
		*offs[i] = rd64(h + pos);
		if (*offs[i] > t->size)
			return errbuf_set(err, "corrupt .gopclntab header "
					  "(table offset beyond its end)");
	}
	return 0;
}

/* Entry and _func offset of functab slot i; the slot must exist. */
static void ftab_slot(const struct pclntab *t, uint64_t i, uint64_t *entry,
		      uint64_t *funcoff)
{
	const uint8_t *p;

	if (t->version == PCLNTAB_116) {
		p = t->data + t->pclntab + i * 16;
		*entry = rd64(p);
		*funcoff = rd64(p + 8);
		return;
	}
	p = t->data + t->pclntab + i * 8;
	*entry = t->text_start + rd32(p);
	*funcoff = rd32(p + 4);
}

static uint64_t func_size(const struct pclntab *t)
{
	if (t->version == PCLNTAB_118)
		return 40;
	return 44;
}

static bool decode_func(const struct pclntab *t, uint64_t funcoff,
			struct func_rec *r)
{
	uint64_t off, sz = func_size(t);
	const uint8_t *p;
	uint64_t base;

	if (funcoff > UINT64_MAX - t->pclntab)
		return false;
	off = t->pclntab + funcoff;
	p = at(t, off, sz);
	if (!p)
		return false;
	base = t->version == PCLNTAB_116 ? 8 : 4;
	r->entry = t->version == PCLNTAB_116 ? rd64(p) :
					      t->text_start + rd32(p);
	r->nameoff = to_i32(rd32(p + base));
	r->pcsp = rd32(p + base + 12);
	r->pcfile = rd32(p + base + 16);
	r->pcln = rd32(p + base + 20);
	r->npcdata = rd32(p + base + 24);
	r->cu_offset = rd32(p + base + 28);
	r->nfuncdata = p[sz - 1];
	r->pcdata = off + sz;
	r->funcdata = r->pcdata + (uint64_t)r->npcdata * 4;
	/* Go 1.16/1.17 funcdata are pointers, 8-byte aligned. */
	if (t->version == PCLNTAB_116 && (r->funcdata & 4))
		r->funcdata += 4;
	return in_range(r->pcdata, (uint64_t)r->npcdata * 4, t->size);
}

static int load_funcs(struct pclntab *t, uint64_t nfunc, struct errbuf *err)
{
	uint64_t entsz = t->version == PCLNTAB_116 ? 16 : 8;

	if (!nfunc || nfunc > MAX_FUNCS)
		return errbuf_set(err, "corrupt .gopclntab (%llu functions)",
				  (unsigned long long)nfunc);
	if (!in_range(t->pclntab, (nfunc + 1) * entsz, t->size))
		return errbuf_set(err, "truncated .gopclntab (function table "
				  "of %llu entries past its end)",
				  (unsigned long long)nfunc);
	t->funcs = calloc(nfunc, sizeof(*t->funcs));
	if (!t->funcs)
		return errbuf_set(err, "out of memory");
	for (uint64_t i = 0; i < nfunc; i++) {
		struct pcln_func *f = &t->funcs[i];
		uint64_t funcoff, next, unused;
		struct func_rec r;

		ftab_slot(t, i, &f->entry, &funcoff);
		ftab_slot(t, i + 1, &next, &unused);
		if (next < f->entry)
			return errbuf_set(err, "corrupt .gopclntab (function "
					  "table not sorted at entry %llu)",
					  (unsigned long long)i);
		if (funcoff > UINT32_MAX || !decode_func(t, funcoff, &r))
			return errbuf_set(err, "corrupt .gopclntab (function "
					  "%llu lies outside the table)",
					  (unsigned long long)i);
		f->name = name_at(t, r.nameoff);
		if (!f->name)
			return errbuf_set(err, "corrupt .gopclntab (function "
					  "%llu has no name)",
					  (unsigned long long)i);
		f->end = next;
		f->funcoff = (uint32_t)funcoff;
	}
	t->nfuncs = nfunc;
	return 0;
}

static int by_name_cmp(const void *a, const void *b, void *ctx)
{
	const struct pcln_func *funcs = ctx;
	uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
	int c = strcmp(funcs[ia].name, funcs[ib].name);

	if (c)
		return c;
	return ia < ib ? -1 : ia > ib;
}

static int index_names(struct pclntab *t, struct errbuf *err)
{
	t->by_name = malloc(t->nfuncs * sizeof(*t->by_name));
	if (!t->by_name)
		return errbuf_set(err, "out of memory");
	for (size_t i = 0; i < t->nfuncs; i++)
		t->by_name[i] = (uint32_t)i;
	qsort_r(t->by_name, t->nfuncs, sizeof(*t->by_name), by_name_cmp,
		t->funcs);
	return 0;
}

int pclntab_parse(struct pclntab **out, const uint8_t *data, size_t size,
		  uint64_t text_start, struct errbuf *err)
{
	struct pclntab *t;
	uint64_t nfunc = 0;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return errbuf_set(err, "out of memory");
	t->data = data;
	t->size = data ? size : 0;
	if (parse_header(t, text_start, &nfunc, err) ||
	    load_funcs(t, nfunc, err) || index_names(t, err)) {
		pclntab_free(t);
		return -1;
	}
	*out = t;
	return 0;
}

void pclntab_free(struct pclntab *t)
{
	if (!t)
		return;
	free(t->funcs);
	free(t->by_name);
	free(t);
}

void pclntab_set_funcdata(struct pclntab *t, pclntab_read_fn read, void *ctx,
			  uint64_t gofunc)
{
	t->read = read;
	t->read_ctx = ctx;
	t->gofunc = gofunc;
}

enum pclntab_version pclntab_magic_version(const uint8_t *data, size_t size)
{
	if (size < 8)
		return PCLNTAB_UNKNOWN;
	switch (rd32(data)) {
	case MAGIC_116: return PCLNTAB_116;
	case MAGIC_118: return PCLNTAB_118;
	case MAGIC_120: return PCLNTAB_120;
	}
	return PCLNTAB_UNKNOWN;
}

enum pclntab_version pclntab_get_version(const struct pclntab *t)
{
	return t->version;
}

size_t pclntab_nfuncs(const struct pclntab *t)
{
	return t->nfuncs;
}

const struct pcln_func *pclntab_func(const struct pclntab *t, size_t i)
{
	return i < t->nfuncs ? &t->funcs[i] : NULL;
}

const struct pcln_func *pclntab_find_name(const struct pclntab *t,
					  const char *name)
{
	size_t lo = 0, hi = t->nfuncs;

	/* Lower bound, so duplicate names resolve to the lowest address. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(t->funcs[t->by_name[mid]].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < t->nfuncs && !strcmp(t->funcs[t->by_name[lo]].name, name))
		return &t->funcs[t->by_name[lo]];
	return NULL;
}

const struct pcln_func *pclntab_find_pc(const struct pclntab *t, uint64_t pc)
{
	size_t lo = 0, hi = t->nfuncs;

	/* Last function whose entry is <= pc. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->funcs[mid].entry <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	if (pc >= t->funcs[lo - 1].end)
		return NULL;
	return &t->funcs[lo - 1];
}

/* Go's readvarint: a uint32, so at most 5 bytes. */
static bool read_varint(const struct pclntab *t, uint64_t *off, uint32_t *v)
{
	uint64_t r;
	size_t k = *off < t->size ?
		   leb128_u(t->data + *off, t->size - *off, LEB128_U32_MAX, &r) :
		   0;

	if (!k || r > UINT32_MAX)
		return false;
	*off += k;
	*v = (uint32_t)r;
	return true;
}

/*
 * The value of pc-value table off at targetpc, as runtime.pcvalue: -1 when
 * there is no table or targetpc is past its end.
 */
static int32_t pcvalue(const struct pclntab *t, uint32_t off, uint64_t entry,
		       uint64_t targetpc)
{
	uint64_t p, pc = entry;
	uint32_t val = (uint32_t)-1;

	if (!off || off > UINT64_MAX - t->pctab)
		return -1;
	p = t->pctab + off;
	for (;;) {
		uint32_t uv, pcdelta;
		const uint8_t *b = at(t, p, 1);

		if (!b || (*b == 0 && pc != entry))
			return -1;
		if (!read_varint(t, &p, &uv) || !read_varint(t, &p, &pcdelta))
			return -1;
		val += (uint32_t)-(uv & 1) ^ (uv >> 1);
		if ((uint64_t)pcdelta * t->quantum > UINT64_MAX - pc)
			return -1;
		pc += (uint64_t)pcdelta * t->quantum;
		if (targetpc < pc)
			return to_i32(val);
	}
}

static int32_t pcdata_value(const struct pclntab *t,
			    const struct func_rec *r, uint32_t table,
			    uint64_t pc)
{
	uint32_t off;

	if (table >= r->npcdata ||
	    !rd32_at(t, r->pcdata + (uint64_t)table * 4, &off))
		return -1;
	return pcvalue(t, off, r->entry, pc);
}

/* Link-time address of FUNCDATA slot i, or 0 when absent. */
static uint64_t funcdata_addr(const struct pclntab *t,
			      const struct func_rec *r, uint8_t i)
{
	const uint8_t *p;
	uint32_t off;

	if (i >= r->nfuncdata)
		return 0;
	if (t->version == PCLNTAB_116) {
		p = at(t, r->funcdata + (uint64_t)i * 8, 8);
		return p ? rd64(p) : 0;
	}
	if (!t->gofunc || !rd32_at(t, r->funcdata + (uint64_t)i * 4, &off) ||
	    off == UINT32_MAX)
		return 0;
	return t->gofunc + off;
}

static void file_line(const struct pclntab *t, const struct func_rec *r,
		      uint64_t pc, struct pcln_frame *fr)
{
	int32_t fileno = pcvalue(t, r->pcfile, r->entry, pc);
	int32_t line = pcvalue(t, r->pcln, r->entry, pc);
	/* cutab[cuOffset + fileno] is the file's offset in filetab. */
	uint64_t cu_slot = (uint64_t)r->cu_offset + (uint32_t)fileno;
	uint32_t fileoff;
	const char *file = NULL;

	if (fileno >= 0 && rd32_at(t, t->cutab + cu_slot * 4, &fileoff) &&
	    fileoff != UINT32_MAX)
		file = str_at(t, t->filetab + fileoff);
	if (!file || line < 0) {
		fr->file = "?";
		fr->line = 0;
		return;
	}
	fr->file = file;
	fr->line = line;
}

struct inlined_call {
	int32_t nameoff;
	int32_t parent_pc;
};

static bool read_inlined(const struct pclntab *t, uint64_t tree, int32_t ix,
			 struct inlined_call *ic)
{
	/*
	 * 1.16-1.19: {parent i16, funcID u8, _ u8, file, line, func_,
	 * parentPc}, 20 bytes; 1.20+: 16 bytes, see below.
	 */
	uint64_t sz = t->version == PCLNTAB_120 ? 16 : 20;
	uint64_t off = (uint64_t)ix * sz;
	const uint8_t *p;

	if (off > UINT64_MAX - tree)
		return false;
	p = t->read(t->read_ctx, tree + off, sz);
	if (!p)
		return false;
	if (t->version == PCLNTAB_120) {
		/* {funcID u8, _ [3]u8, nameOff, parentPc, startLine} */
		ic->nameoff = to_i32(rd32(p + 4));
		ic->parent_pc = to_i32(rd32(p + 8));
	} else {
		ic->nameoff = to_i32(rd32(p + 12));
		ic->parent_pc = to_i32(rd32(p + 16));
	}
	return true;
}

int pclntab_frames(const struct pclntab *t, uint64_t pc,
		   struct pcln_frame *frames, int max)
{
	const struct pcln_func *f;
	struct func_rec r;
	uint64_t tree = 0;
	int n = 0;

	if (max <= 0 || !(f = pclntab_find_pc(t, pc)) ||
	    !decode_func(t, f->funcoff, &r))
		return 0;
	if (t->read)
		tree = funcdata_addr(t, &r, FUNCDATA_INLTREE);
	while (tree && n < max - 1) {
		int32_t ix = pcdata_value(t, &r, PCDATA_INLTREEINDEX, pc);
		struct inlined_call ic;
		const char *name;

		if (ix < 0 || !read_inlined(t, tree, ix, &ic))
			break;
		name = name_at(t, ic.nameoff);
		frames[n].function = name ? name : "?";
		frames[n].inlined = true;
		file_line(t, &r, pc, &frames[n]);
		n++;
		/* The parent's PC: the call site inside the caller's body. */
		if (ic.parent_pc < 0 ||
		    (uint32_t)ic.parent_pc >= f->end - f->entry)
			break;
		pc = f->entry + (uint32_t)ic.parent_pc;
	}
	frames[n].function = f->name;
	frames[n].inlined = false;
	file_line(t, &r, pc, &frames[n]);
	return n + 1;
}

int pclntab_spdelta(const struct pclntab *t, uint64_t pc, int32_t *delta)
{
	const struct pcln_func *f = pclntab_find_pc(t, pc);
	struct func_rec r;
	int32_t v;

	if (!f || !decode_func(t, f->funcoff, &r))
		return -1;
	/* A function without a frame has no table: its delta is always 0. */
	if (!r.pcsp) {
		*delta = 0;
		return 0;
	}
	v = pcvalue(t, r.pcsp, r.entry, pc);
	if (v < 0)
		return -1;
	*delta = v;
	return 0;
}
