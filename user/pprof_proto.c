// SPDX-License-Identifier: MIT
/* A minimal protobuf writer and gzip (user/pprof_proto.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bytebuf.h"
#include "leb128.h"
#include "pprof_proto.h"

static bool reserve(struct pb *b, size_t n)
{
	return bytebuf_reserve(&b->buf, &b->cap, b->len, n, 256, &b->oom);
}

void pb_free(struct pb *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

void pb_varint(struct pb *b, uint64_t v)
{
	if (reserve(b, LEB128_GO_MAX))
		b->len += leb128_put(b->buf + b->len, v);
}

void pb_key(struct pb *b, uint32_t field, enum pb_wire wire)
{
	pb_varint(b, (uint64_t)field << 3 | wire);
}

void pb_uint(struct pb *b, uint32_t field, uint64_t v)
{
	pb_key(b, field, PB_VARINT);
	pb_varint(b, v);
}

/* int64 is two's complement in ten bytes when negative. */
void pb_int(struct pb *b, uint32_t field, int64_t v)
{
	pb_uint(b, field, (uint64_t)v);
}

void pb_bytes(struct pb *b, uint32_t field, const void *data, size_t n)
{
	pb_key(b, field, PB_LEN);
	pb_varint(b, n);
	if (!n || !reserve(b, n))
		return;
	memcpy(b->buf + b->len, data, n);
	b->len += n;
}

void pb_string(struct pb *b, uint32_t field, const char *s)
{
	pb_bytes(b, field, s, strlen(s));
}

void pb_message(struct pb *b, uint32_t field, const struct pb *sub)
{
	if (sub->oom) {
		b->oom = true;
		return;
	}
	pb_bytes(b, field, sub->buf, sub->len);
}

void pb_packed(struct pb *b, uint32_t field, const uint64_t *v, size_t n)
{
	struct pb sub = { 0 };

	for (size_t i = 0; i < n; i++)
		pb_varint(&sub, v[i]);
	pb_message(b, field, &sub);
	pb_free(&sub);
}

static int deflate_all(z_stream *z, FILE *out, struct errbuf *err)
{
	uint8_t chunk[65536];
	int rc;

	do {
		z->next_out = chunk;
		z->avail_out = sizeof(chunk);
		rc = deflate(z, Z_FINISH);
		if (rc == Z_STREAM_ERROR)
			return errbuf_set(err, "gzip failed (zlib error %d)", rc);
		if (fwrite(chunk, 1, sizeof(chunk) - z->avail_out, out) !=
		    sizeof(chunk) - z->avail_out)
			return errbuf_set(err, "cannot write the profile: %s",
					  strerror(errno));
	} while (rc != Z_STREAM_END);
	return 0;
}

int pb_gzip_write(FILE *out, const uint8_t *data, size_t n,
		  struct errbuf *err)
{
	z_stream z;
	int ret;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return errbuf_set(err, "gzip failed: zlib could not start");
	/* avail_in is 32 bits; a profile that big is a bug upstream. */
	if (n > UINT32_MAX) {
		ret = errbuf_set(err, "the profile is too large to write "
				 "(%zu bytes)", n);
	} else {
		z.next_in = (uint8_t *)data;
		z.avail_in = (uInt)n;
		ret = deflate_all(&z, out, err);
	}
	deflateEnd(&z);
	if (!ret && (fflush(out) || ferror(out)))
		ret = errbuf_set(err, "cannot write the profile: %s",
				 strerror(errno));
	return ret ? -1 : 0;
}
