/* SPDX-License-Identifier: MIT */
#ifndef GMT_PPROF_PROTO_H
#define GMT_PPROF_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "errbuf.h"

/*
 * The few protobuf encodings profile.proto needs: varints, packed varint
 * arrays, length-delimited strings and nested messages, appended to a
 * growing buffer. A failed allocation sticks (oom) and is checked once at
 * the end, so building code stays linear.
 */
struct pb {
	uint8_t *buf;
	size_t len, cap;
	bool oom;
};

enum pb_wire {
	PB_VARINT = 0,
	PB_LEN = 2,
};

void pb_free(struct pb *b);
void pb_varint(struct pb *b, uint64_t v);
void pb_key(struct pb *b, uint32_t field, enum pb_wire wire);
/* int64, uint64 and bool fields; zero is written too (harmless). */
void pb_uint(struct pb *b, uint32_t field, uint64_t v);
void pb_int(struct pb *b, uint32_t field, int64_t v);
void pb_bytes(struct pb *b, uint32_t field, const void *data, size_t n);
void pb_string(struct pb *b, uint32_t field, const char *s);
/* A nested message: sub's bytes as a length-delimited field. */
void pb_message(struct pb *b, uint32_t field, const struct pb *sub);
void pb_packed(struct pb *b, uint32_t field, const uint64_t *v, size_t n);

/* gzip (deflateInit2 windowBits 31) data to out. */
int pb_gzip_write(FILE *out, const uint8_t *data, size_t n,
		  struct errbuf *err);

#endif
