// SPDX-License-Identifier: MIT
/*
 * A bounded DWARF .debug_info walker: struct member offsets only.
 * Go writes DWARF 4 (1.19) or 5 (newer, GOEXPERIMENT-dependent); both are
 * handled, and any form this file does not know stops the walk cleanly.
 */
#include <stdlib.h>
#include <string.h>

#include "dwarf.h"
#include "leb128.h"

#define DW_TAG_member		0x0d
#define DW_TAG_structure_type	0x13
#define DW_TAG_constant		0x27
#define DW_AT_name		0x03
#define DW_AT_const_value	0x1c
#define DW_AT_data_member_location 0x38
#define DW_AT_str_offsets_base	0x72
#define DW_FORM_implicit_const	0x21
#define DW_FORM_indirect	0x16
#define DW_OP_plus_uconst	0x23
#define DW_OP_constu		0x10
#define MAX_DEPTH		256

struct rd {
	const uint8_t *p;
	size_t len;
	size_t off;
	bool bad;
};

static bool rd_need(struct rd *r, size_t n)
{
	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		return false;
	}
	return true;
}

static uint64_t rd_uint(struct rd *r, size_t n)
{
	uint64_t v = 0;

	if (!rd_need(r, n))
		return 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)r->p[r->off + i] << (8 * i);
	r->off += n;
	return v;
}

/* One LEB128 at the cursor; a bad one makes r bad. */
static uint64_t rd_leb(struct rd *r, size_t max, bool sign)
{
	uint64_t v = 0;
	size_t k = r->bad ? 0 : leb128_read(r->p + r->off, r->len - r->off,
					    max, sign, &v);

	if (!k)
		r->bad = true;
	r->off += k;
	return v;
}

static uint64_t rd_uleb(struct rd *r)
{
	return rd_leb(r, LEB128_DWARF_U_MAX, false);
}

static int64_t rd_sleb(struct rd *r)
{
	return (int64_t)rd_leb(r, LEB128_DWARF_S_MAX, true);
}

static void rd_skip(struct rd *r, uint64_t n)
{
	if (n > r->len - r->off || r->bad) {
		r->bad = true;
		return;
	}
	r->off += n;
}

/* A NUL-terminated string inside [p, p+len) at off, or NULL. */
static const char *cstr_at(const uint8_t *p, size_t len, uint64_t off)
{
	if (!p || off >= len || !memchr(p + off, 0, len - off))
		return NULL;
	return (const char *)p + off;
}

struct abbrev {
	uint64_t code;
	uint64_t tag;
	bool children;
	size_t spec;		/* first attr spec index */
	size_t nspec;
};

struct spec {
	uint64_t at;
	uint64_t form;
	int64_t implicit;
};

struct abbrevs {
	uint64_t offset;
	bool valid;
	struct abbrev *a;
	size_t na, cap_a;
	struct spec *s;
	size_t ns, cap_s;
};

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *np;

	if (need <= *cap)
		return true;
	ncap = *cap ? *cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	np = realloc(*p, ncap * elem);
	if (!np)
		return false;
	*p = np;
	*cap = ncap;
	return true;
}

static int load_abbrevs(struct abbrevs *ab, const struct dwarf_sections *d,
			uint64_t offset, struct errbuf *err)
{
	struct rd r = { d->abbrev, d->abbrev_len, 0, false };

	if (ab->valid && ab->offset == offset)
		return 0;
	ab->na = ab->ns = 0;
	ab->valid = false;
	if (offset >= d->abbrev_len)
		return errbuf_set(err, "DWARF: abbrev offset out of range");
	r.off = offset;
	for (;;) {
		struct abbrev a = { 0 };

		a.code = rd_uleb(&r);
		if (r.bad)
			goto bad;
		if (!a.code)
			break;
		a.tag = rd_uleb(&r);
		a.children = rd_uint(&r, 1) != 0;
		a.spec = ab->ns;
		for (;;) {
			struct spec s = { 0 };

			s.at = rd_uleb(&r);
			s.form = rd_uleb(&r);
			if (s.form == DW_FORM_implicit_const)
				s.implicit = rd_sleb(&r);
			if (r.bad)
				goto bad;
			if (!s.at && !s.form)
				break;
			if (!grow((void **)&ab->s, &ab->cap_s, ab->ns + 1,
				  sizeof(*ab->s)))
				return errbuf_set(err, "out of memory");
			ab->s[ab->ns++] = s;
		}
		a.nspec = ab->ns - a.spec;
		if (!grow((void **)&ab->a, &ab->cap_a, ab->na + 1,
			  sizeof(*ab->a)))
			return errbuf_set(err, "out of memory");
		ab->a[ab->na++] = a;
	}
	ab->offset = offset;
	ab->valid = true;
	return 0;
bad:
	return errbuf_set(err, "DWARF: truncated .debug_abbrev");
}

static const struct abbrev *find_abbrev(const struct abbrevs *ab,
					uint64_t code)
{
	/* Codes are usually dense from 1: try the direct slot first. */
	if (code - 1 < ab->na && ab->a[code - 1].code == code)
		return &ab->a[code - 1];
	for (size_t i = 0; i < ab->na; i++)
		if (ab->a[i].code == code)
			return &ab->a[i];
	return NULL;
}

struct unit {
	unsigned version;
	unsigned offset_size;	/* 4 or 8 */
	unsigned addr_size;
	uint64_t str_offsets_base;
};

enum val_kind { V_NONE, V_UINT, V_SINT, V_STR, V_BLOCK, V_STRX };

struct val {
	enum val_kind kind;
	uint64_t u;
	int64_t s;
	const char *str;
	const uint8_t *block;
	size_t blen;
};

static void read_block(struct rd *r, uint64_t n, struct val *v)
{
	if (!rd_need(r, n > SIZE_MAX ? SIZE_MAX : (size_t)n))
		return;
	v->kind = V_BLOCK;
	v->block = r->p + r->off;
	v->blen = n;
	r->off += n;
}

/*
 * Size of a form whose value is a fixed-size integer, 0 for the others.
 * Covers data, flag, ref, sec_offset, strp, addrx and strx forms.
 */
static unsigned fixed_size(uint64_t form, const struct unit *u)
{
	switch (form) {
	case 0x0b: case 0x0c: case 0x11: case 0x25: case 0x29:
		return 1;
	case 0x05: case 0x12: case 0x26: case 0x2a:
		return 2;
	case 0x27: case 0x2b:
		return 3;
	case 0x06: case 0x13: case 0x1c: case 0x28: case 0x2c:
		return 4;
	case 0x07: case 0x14: case 0x20: case 0x24:
		return 8;
	case 0x01:				/* addr */
		return u->addr_size;
	case 0x10:				/* ref_addr */
		return u->version <= 2 ? u->addr_size : u->offset_size;
	case 0x0e: case 0x17: case 0x1d: case 0x1f: case 0x1f20: case 0x1f21:
		return u->offset_size;
	}
	return 0;
}

static bool is_strx(uint64_t form)
{
	return form == 0x1a || (form >= 0x25 && form <= 0x28);
}

/* Forms whose value is a ULEB128 (udata, ref_udata, *x indexes). */
static bool is_uleb(uint64_t form)
{
	return form == 0x0f || form == 0x15 || form == 0x1a || form == 0x1b ||
	       form == 0x22 || form == 0x23 || form == 0x1f01 ||
	       form == 0x1f02;
}

static void read_cstr(struct rd *r, struct val *v)
{
	const char *s = cstr_at(r->p, r->len, r->off);

	if (!s) {
		r->bad = true;
		return;
	}
	v->kind = V_STR;
	v->str = s;
	r->off += strlen(s) + 1;
}

/* strp (.debug_str) and line_strp (.debug_line_str) resolve to names. */
static void resolve_strp(const struct dwarf_sections *d, uint64_t form,
			 struct val *v)
{
	if (form == 0x0e)
		v->str = cstr_at(d->str, d->str_len, v->u);
	else if (form == 0x1f)
		v->str = cstr_at(d->line_str, d->line_str_len, v->u);
	if (v->str)
		v->kind = V_STR;
}

/* Read (or skip) one attribute value; false for an unknown form. */
static bool read_form(struct rd *r, const struct dwarf_sections *d,
		      const struct unit *u, uint64_t form, int64_t implicit,
		      struct val *v, int depth)
{
	unsigned size = fixed_size(form, u);

	memset(v, 0, sizeof(*v));
	if (size || is_uleb(form)) {
		v->kind = is_strx(form) ? V_STRX : V_UINT;
		v->u = size ? rd_uint(r, size) : rd_uleb(r);
		resolve_strp(d, form, v);
		return !r->bad;
	}
	switch (form) {
	case 0x03:				/* block2 */
		read_block(r, rd_uint(r, 2), v);
		break;
	case 0x04:				/* block4 */
		read_block(r, rd_uint(r, 4), v);
		break;
	case 0x08:				/* string */
		read_cstr(r, v);
		break;
	case 0x09: case 0x18:			/* block, exprloc */
		read_block(r, rd_uleb(r), v);
		break;
	case 0x0a:				/* block1 */
		read_block(r, rd_uint(r, 1), v);
		break;
	case 0x0d:				/* sdata */
		v->kind = V_SINT;
		v->s = rd_sleb(r);
		break;
	case 0x16:				/* indirect */
		form = rd_uleb(r);
		if (depth > 4 || r->bad || form == DW_FORM_implicit_const)
			return false;
		return read_form(r, d, u, form, 0, v, depth + 1);
	case 0x19:				/* flag_present */
		v->kind = V_UINT;
		v->u = 1;
		break;
	case 0x1e:				/* data16 */
		rd_skip(r, 16);
		break;
	case DW_FORM_implicit_const:
		v->kind = V_SINT;
		v->s = implicit;
		break;
	default:
		return false;
	}
	return !r->bad;
}

/* A name given through DW_FORM_strx*: .debug_str_offsets then .debug_str. */
static const char *strx_name(const struct dwarf_sections *d,
			     const struct unit *u, uint64_t index)
{
	struct rd r = { d->str_offsets, d->str_offsets_len, 0, false };
	uint64_t off;

	if (!d->str_offsets || index > (SIZE_MAX / 8))
		return NULL;
	if (u->str_offsets_base > d->str_offsets_len)
		return NULL;
	r.off = u->str_offsets_base;
	rd_skip(&r, index * u->offset_size);
	off = rd_uint(&r, u->offset_size);
	if (r.bad)
		return NULL;
	return cstr_at(d->str, d->str_len, off);
}

static bool member_location(const struct val *v, uint64_t *out)
{
	struct rd r;
	uint8_t op;

	if (v->kind == V_UINT) {
		*out = v->u;
		return true;
	}
	if (v->kind == V_SINT && v->s >= 0) {
		*out = (uint64_t)v->s;
		return true;
	}
	if (v->kind != V_BLOCK || v->blen < 2)
		return false;
	r = (struct rd){ v->block, v->blen, 1, false };
	op = v->block[0];
	if (op != DW_OP_plus_uconst && op != DW_OP_constu)
		return false;
	*out = rd_uleb(&r);
	return !r.bad && r.off == v->blen;
}

struct walk {
	const struct dwarf_sections *d;
	struct dwarf_member_query *q;
	size_t n;
	size_t answered;
	const char *in_struct;	/* name of the struct whose children we see */
	int struct_depth;
};

static void see_struct(struct walk *w, const char *name, int depth)
{
	for (size_t i = 0; i < w->n; i++) {
		if (name && !strcmp(w->q[i].type, name)) {
			w->in_struct = name;
			w->struct_depth = depth;
			return;
		}
	}
}

/* Answers queries for member `name` of in_struct, or (in_struct NULL) for
 * the constant `name` (queries with a NULL member). */
static void see_member(struct walk *w, const char *name, bool has_loc,
		       uint64_t loc)
{
	if (!name || !has_loc)
		return;
	for (size_t i = 0; i < w->n; i++) {
		struct dwarf_member_query *q = &w->q[i];

		if (q->found || !w->in_struct != !q->member)
			continue;
		if (q->member ? strcmp(q->type, w->in_struct) ||
				strcmp(q->member, name)
			      : strcmp(q->type, name))
			continue;
		q->found = true;
		q->offset = loc;
		w->answered++;
	}
}

/* Parse one DIE's attributes; name / location are what we care about. */
static bool read_die(struct rd *r, struct walk *w, const struct unit *u,
		     const struct abbrevs *ab, const struct abbrev *a,
		     const char **name, bool *has_loc, uint64_t *loc)
{
	struct val v;

	*name = NULL;
	*has_loc = false;
	for (size_t i = 0; i < a->nspec; i++) {
		const struct spec *s = &ab->s[a->spec + i];

		if (!read_form(r, w->d, u, s->form, s->implicit, &v, 0))
			return false;
		if (s->at == DW_AT_name) {
			if (v.kind == V_STR)
				*name = v.str;
			else if (v.kind == V_STRX)
				*name = strx_name(w->d, u, v.u);
		} else if (s->at == DW_AT_data_member_location) {
			*has_loc = member_location(&v, loc);
		} else if (a->tag == DW_TAG_constant &&
			   s->at == DW_AT_const_value && v.kind != V_BLOCK) {
			*has_loc = member_location(&v, loc);
		}
	}
	return true;
}

/* Header of the unit at r->off; leaves r at its first DIE. */
static int read_unit_header(struct rd *r, struct unit *u, uint64_t *abbrev_off,
			    size_t *end, struct errbuf *err)
{
	uint64_t len = rd_uint(r, 4);
	unsigned ut = 1;

	u->offset_size = 4;
	if (len == 0xffffffff) {
		len = rd_uint(r, 8);
		u->offset_size = 8;
	} else if (len >= 0xfffffff0) {
		return errbuf_set(err, "DWARF: reserved unit length");
	}
	if (r->bad || len > r->len - r->off)
		return errbuf_set(err, "DWARF: unit runs past .debug_info");
	*end = r->off + len;
	u->version = rd_uint(r, 2);
	if (u->version < 2 || u->version > 5)
		return errbuf_set(err, "DWARF: unsupported version %u",
				  u->version);
	if (u->version == 5) {
		ut = rd_uint(r, 1);
		u->addr_size = rd_uint(r, 1);
		*abbrev_off = rd_uint(r, u->offset_size);
		if (ut == 4 || ut == 5)		/* skeleton, split_compile */
			rd_skip(r, 8);
		else if (ut == 2 || ut == 6)	/* type, split_type */
			rd_skip(r, 8 + u->offset_size);
	} else {
		*abbrev_off = rd_uint(r, u->offset_size);
		u->addr_size = rd_uint(r, 1);
	}
	if (r->bad || r->off > *end)
		return errbuf_set(err, "DWARF: truncated unit header");
	if (u->addr_size != 4 && u->addr_size != 8)
		return errbuf_set(err, "DWARF: address size %u", u->addr_size);
	/* Default for strx before DW_AT_str_offsets_base is seen. */
	u->str_offsets_base = u->offset_size == 8 ? 16 : 8;
	return 0;
}

/* The CU DIE may carry DW_AT_str_offsets_base; pick it up. */
static void note_unit_attrs(struct rd r, const struct dwarf_sections *d,
			    struct unit *u, const struct abbrevs *ab,
			    const struct abbrev *a)
{
	struct val v;

	for (size_t i = 0; i < a->nspec; i++) {
		const struct spec *s = &ab->s[a->spec + i];

		if (!read_form(&r, d, u, s->form, s->implicit, &v, 0))
			return;
		if (s->at == DW_AT_str_offsets_base && v.kind == V_UINT)
			u->str_offsets_base = v.u;
	}
}

static int walk_unit(struct rd *r, size_t end, struct walk *w,
		     struct unit *u, const struct abbrevs *ab,
		     struct errbuf *err)
{
	int depth = 0;
	bool first = true;

	w->in_struct = NULL;
	while (r->off < end && w->answered < w->n) {
		const struct abbrev *a;
		const char *name;
		bool has_loc;
		uint64_t loc = 0, code = rd_uleb(r);

		if (r->bad)
			break;
		if (!code) {
			if (--depth <= w->struct_depth)
				w->in_struct = NULL;
			if (depth < 0)
				depth = 0;
			continue;
		}
		a = find_abbrev(ab, code);
		if (!a)
			return errbuf_set(err, "DWARF: unknown abbrev code %llu",
					  (unsigned long long)code);
		if (first)
			note_unit_attrs(*r, w->d, u, ab, a);
		first = false;
		if (!read_die(r, w, u, ab, a, &name, &has_loc, &loc))
			return errbuf_set(err, "DWARF: unsupported or truncated "
					  "attribute form");
		if (w->in_struct && a->tag == DW_TAG_member &&
		    depth == w->struct_depth + 1)
			see_member(w, name, has_loc, loc);
		else if (!w->in_struct && a->tag == DW_TAG_constant)
			see_member(w, name, has_loc, loc);
		else if (a->tag == DW_TAG_structure_type && a->children)
			see_struct(w, name, depth);
		if (a->children && ++depth > MAX_DEPTH)
			return errbuf_set(err, "DWARF: DIEs nested too deep");
	}
	if (r->bad)
		return errbuf_set(err, "DWARF: truncated .debug_info");
	return 0;
}

int dwarf_member_offsets(const struct dwarf_sections *d,
			 struct dwarf_member_query *q, size_t n,
			 struct errbuf *err)
{
	struct abbrevs ab = { 0 };
	struct walk w = { d, q, n, 0, NULL, -1 };
	struct rd r = { d->info, d->info_len, 0, false };
	int ret = -1;

	for (size_t i = 0; i < n; i++)
		q[i].found = false;
	if (!d->info || !d->abbrev) {
		errbuf_set(err, "DWARF: no .debug_info or .debug_abbrev");
		goto out;
	}
	while (r.off < r.len && w.answered < n) {
		struct unit u = { 0 };
		uint64_t abbrev_off = 0;
		size_t end = 0;
		struct rd ur;

		if (read_unit_header(&r, &u, &abbrev_off, &end, err) ||
		    load_abbrevs(&ab, d, abbrev_off, err))
			goto out;
		ur = (struct rd){ d->info, end, r.off, false };
		w.struct_depth = -1;
		if (walk_unit(&ur, end, &w, &u, &ab, err))
			goto out;
		r.off = end;
	}
	ret = (int)w.answered;
out:
	free(ab.a);
	free(ab.s);
	return ret;
}
