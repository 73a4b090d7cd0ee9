// SPDX-License-Identifier: MIT
/*
 * .go.buildinfo: the Go version and main package path a binary was built
 * with, as `go version -m` reads them.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <string.h>

#include "buildinfo.h"
#include "leb128.h"

#define FLAG_BIG_ENDIAN 0x1
#define FLAG_INLINE 0x2

static uint64_t rd_ptr(const uint8_t *p, int size, bool big)
{
	uint64_t v = 0;

	for (int i = 0; i < size; i++) {
		int k = big ? i : size - 1 - i;

		v = (v << 8) | p[k];
	}
	return v;
}

static bool printable(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

/* A plausible Go version string: "go1...." or "devel ...". */
static bool is_version(const uint8_t *s, size_t n)
{
	if (!n || !printable(s, n))
		return false;
	return (n >= 3 && !memcmp(s, "go1", 3)) ||
	       (n >= 5 && !memcmp(s, "devel", 5));
}

static void copy_str(char *dst, size_t cap, const uint8_t *s, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* "path\tmain/pkg\n" from the module information text. */
static void find_path(const uint8_t *mod, size_t n, struct buildinfo *bi)
{
	size_t i = 0;

	/* 1.18+ brackets the text with 16-byte sentinels. */
	if (n >= 33 && mod[n - 17] == '\n') {
		mod += 16;
		n -= 32;
	}
	while (i < n) {
		const uint8_t *nl = memchr(mod + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - mod) : n;

		if (end - i > 5 && !memcmp(mod + i, "path\t", 5)) {
			copy_str(bi->path, sizeof(bi->path), mod + i + 5,
				 end - i - 5);
			if (!printable((const uint8_t *)bi->path,
				       strlen(bi->path)))
				bi->path[0] = '\0';
			return;
		}
		i = end + 1;
	}
}

static int parse_inline(const uint8_t *p, size_t n, struct buildinfo *bi,
			struct errbuf *err)
{
	size_t off = BUILDINFO_HDR_LEN, k;
	uint64_t len;

	k = leb128_u(p + off, n - off, LEB128_GO_MAX, &len);
	if (!k || len > n - off - k)
		return errbuf_set(err, "buildinfo: truncated version");
	off += k;
	if (!is_version(p + off, len))
		return errbuf_set(err, "buildinfo: no Go version in it");
	copy_str(bi->version, sizeof(bi->version), p + off, len);
	off += len;
	k = leb128_u(p + off, n - off, LEB128_GO_MAX, &len);
	if (k && len <= n - off - k)
		find_path(p + off + k, len, bi);
	return 0;
}

/* A Go string header {ptr, len} at addr, then its bytes. */
static const uint8_t *read_gostring(buildinfo_read_fn rd, void *ctx,
				    uint64_t addr, int psize, bool big,
				    size_t *len)
{
	const uint8_t *hdr = rd(ctx, addr, 2 * psize);
	uint64_t data, n;

	if (!hdr)
		return NULL;
	data = rd_ptr(hdr, psize, big);
	n = rd_ptr(hdr + psize, psize, big);
	if (n > (1 << 20))
		return NULL;
	*len = n;
	return n ? rd(ctx, data, n) : NULL;
}

static int parse_pointers(const uint8_t *p, int psize, bool big,
			  buildinfo_read_fn rd, void *ctx,
			  struct buildinfo *bi, struct errbuf *err)
{
	const uint8_t *s;
	size_t len = 0;

	if (!rd)
		return errbuf_set(err, "buildinfo: pre-1.18 format needs the "
				  "binary's memory image");
	s = read_gostring(rd, ctx, rd_ptr(p + 16, psize, big), psize, big,
			  &len);
	if (!s || !is_version(s, len))
		return errbuf_set(err, "buildinfo: no Go version in it");
	copy_str(bi->version, sizeof(bi->version), s, len);
	s = read_gostring(rd, ctx, rd_ptr(p + 16 + psize, psize, big), psize,
			  big, &len);
	if (s)
		find_path(s, len, bi);
	return 0;
}

int buildinfo_parse(const uint8_t *p, size_t n, buildinfo_read_fn rd,
		    void *ctx, struct buildinfo *bi, struct errbuf *err)
{
	int psize;
	uint8_t flags;

	memset(bi, 0, sizeof(*bi));
	if (n < BUILDINFO_HDR_LEN ||
	    memcmp(p, BUILDINFO_MAGIC, BUILDINFO_MAGIC_LEN))
		return errbuf_set(err, "buildinfo: no header");
	psize = p[14];
	flags = p[15];
	if (flags & FLAG_INLINE)
		return parse_inline(p, n, bi, err);
	if (psize != 4 && psize != 8)
		return errbuf_set(err, "buildinfo: pointer size %d", psize);
	return parse_pointers(p, psize, flags & FLAG_BIG_ENDIAN, rd, ctx, bi,
			      err);
}

int buildinfo_search(const uint8_t *data, size_t size, size_t *offset,
		     buildinfo_read_fn rd, void *ctx, struct buildinfo *bi)
{
	size_t off = *offset;

	while (off < size) {
		const uint8_t *m = memmem(data + off, size - off,
					  BUILDINFO_MAGIC,
					  BUILDINFO_MAGIC_LEN);
		size_t at;

		if (!m)
			return -1;
		at = m - data;
		/* The linker aligns the block; a copy inside code is not. */
		if (!(at % 16) &&
		    !buildinfo_parse(m, size - at, rd, ctx, bi, NULL)) {
			*offset = at;
			return 0;
		}
		off = at + 1;
	}
	return -1;
}
