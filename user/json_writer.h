/* SPDX-License-Identifier: MIT */
#ifndef GMT_JSON_WRITER_H
#define GMT_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/*
 * A streaming JSON emitter in the spirit of bpftool's json_writer: the
 * caller says what comes next, the writer places commas and escapes.
 */
#define JSON_MAX_DEPTH 32

struct json_writer {
	FILE *out;
	int depth;
	bool pretty;
	bool first[JSON_MAX_DEPTH];
	bool after_key;
};

void jw_init(struct json_writer *jw, FILE *out, bool pretty);
void jw_finish(struct json_writer *jw);	/* trailing newline */
void jw_start_object(struct json_writer *jw);
void jw_end_object(struct json_writer *jw);
void jw_start_array(struct json_writer *jw);
void jw_end_array(struct json_writer *jw);
void jw_key(struct json_writer *jw, const char *key);
void jw_string(struct json_writer *jw, const char *s);
void jw_stringn(struct json_writer *jw, const char *s, size_t n);
void jw_int(struct json_writer *jw, int64_t v);
void jw_uint(struct json_writer *jw, uint64_t v);
void jw_double(struct json_writer *jw, double v);
void jw_bool(struct json_writer *jw, bool v);
void jw_null(struct json_writer *jw);
void jw_hex(struct json_writer *jw, uint64_t v);	/* "0x..." string */

/* key + value in one call */
void jw_kv_string(struct json_writer *jw, const char *k, const char *v);
void jw_kv_int(struct json_writer *jw, const char *k, int64_t v);
void jw_kv_uint(struct json_writer *jw, const char *k, uint64_t v);
void jw_kv_bool(struct json_writer *jw, const char *k, bool v);
void jw_kv_hex(struct json_writer *jw, const char *k, uint64_t v);
void jw_kv_double(struct json_writer *jw, const char *k, double v);

#endif
