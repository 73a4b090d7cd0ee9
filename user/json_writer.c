// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "json_writer.h"
#include "textfmt.h"

void jw_init(struct json_writer *jw, FILE *out, bool pretty)
{
	jw->out = out;
	jw->depth = 0;
	jw->pretty = pretty;
	jw->first[0] = true;
	jw->after_key = false;
}

static void newline_indent(struct json_writer *jw)
{
	if (!jw->pretty)
		return;
	fputc('\n', jw->out);
	for (int i = 0; i < jw->depth; i++)
		fputs("  ", jw->out);
}

/* Separator before a value or key at the current level. */
static void before_item(struct json_writer *jw)
{
	if (jw->after_key) {
		jw->after_key = false;
		return;
	}
	if (jw->depth == 0)
		return;
	if (!jw->first[jw->depth])
		fputc(',', jw->out);
	jw->first[jw->depth] = false;
	newline_indent(jw);
}

static void open_level(struct json_writer *jw, char c)
{
	before_item(jw);
	fputc(c, jw->out);
	if (jw->depth < JSON_MAX_DEPTH - 1)
		jw->depth++;
	jw->first[jw->depth] = true;
}

static void close_level(struct json_writer *jw, char c)
{
	bool empty = jw->first[jw->depth];

	if (jw->depth > 0)
		jw->depth--;
	if (!empty)
		newline_indent(jw);
	fputc(c, jw->out);
}

void jw_start_object(struct json_writer *jw)
{
	open_level(jw, '{');
}

void jw_end_object(struct json_writer *jw)
{
	close_level(jw, '}');
}

void jw_start_array(struct json_writer *jw)
{
	open_level(jw, '[');
}

void jw_end_array(struct json_writer *jw)
{
	close_level(jw, ']');
}

void jw_finish(struct json_writer *jw)
{
	fputc('\n', jw->out);
	fflush(jw->out);
}

/*
 * Strings from the target need not be UTF-8: a valid sequence is copied
 * (C1 controls escaped, as a terminal showing the JSON would act on them),
 * an invalid byte becomes U+FFFD so the document still parses. Returns the
 * bytes consumed.
 */
static size_t put_utf8(FILE *out, const char *s, size_t left)
{
	unsigned char seq[5] = { 0 };
	size_t n;

	memcpy(seq, s, left < 4 ? left : 4);
	n = utf8_seq_len(seq);
	if (!n) {
		fputs("\\ufffd", out);
		return 1;
	}
	if (n == 2 && seq[0] == 0xc2 && seq[1] < 0xa0)
		fprintf(out, "\\u%04x", seq[1]);
	else
		fwrite(s, 1, n, out);
	return n;
}

static void put_escaped(FILE *out, const char *s, size_t n)
{
	fputc('"', out);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(out, "\\u%04x", c);
			else if (c < 0x80)
				fputc(c, out);
			else
				i += put_utf8(out, s + i, n - i) - 1;
		}
	}
	fputc('"', out);
}

void jw_key(struct json_writer *jw, const char *key)
{
	before_item(jw);
	put_escaped(jw->out, key, strlen(key));
	fputs(jw->pretty ? ": " : ":", jw->out);
	jw->after_key = true;
}

void jw_stringn(struct json_writer *jw, const char *s, size_t n)
{
	before_item(jw);
	put_escaped(jw->out, s, n);
}

void jw_string(struct json_writer *jw, const char *s)
{
	if (!s) {
		jw_null(jw);
		return;
	}
	jw_stringn(jw, s, strlen(s));
}

void jw_int(struct json_writer *jw, int64_t v)
{
	before_item(jw);
	fprintf(jw->out, "%" PRId64, v);
}

void jw_uint(struct json_writer *jw, uint64_t v)
{
	before_item(jw);
	fprintf(jw->out, "%" PRIu64, v);
}

void jw_double(struct json_writer *jw, double v)
{
	before_item(jw);
	if (!isfinite(v))
		fputs("null", jw->out);
	else
		fprintf(jw->out, "%.6g", v);
}

void jw_bool(struct json_writer *jw, bool v)
{
	before_item(jw);
	fputs(v ? "true" : "false", jw->out);
}

void jw_null(struct json_writer *jw)
{
	before_item(jw);
	fputs("null", jw->out);
}

void jw_hex(struct json_writer *jw, uint64_t v)
{
	before_item(jw);
	fprintf(jw->out, "\"0x%" PRIx64 "\"", v);
}

void jw_kv_string(struct json_writer *jw, const char *k, const char *v)
{
	jw_key(jw, k);
	jw_string(jw, v);
}

void jw_kv_int(struct json_writer *jw, const char *k, int64_t v)
{
	jw_key(jw, k);
	jw_int(jw, v);
}

void jw_kv_uint(struct json_writer *jw, const char *k, uint64_t v)
{
	jw_key(jw, k);
	jw_uint(jw, v);
}

void jw_kv_bool(struct json_writer *jw, const char *k, bool v)
{
	jw_key(jw, k);
	jw_bool(jw, v);
}

void jw_kv_hex(struct json_writer *jw, const char *k, uint64_t v)
{
	jw_key(jw, k);
	jw_hex(jw, v);
}

void jw_kv_double(struct json_writer *jw, const char *k, double v)
{
	jw_key(jw, k);
	jw_double(jw, v);
}
