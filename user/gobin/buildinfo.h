/* SPDX-License-Identifier: MIT */
#ifndef GMT_BUILDINFO_H
#define GMT_BUILDINFO_H

#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"

/*
 * The Go linker's build information block (.go.buildinfo): a 32-byte
 * header starting "\xff Go buildinf:", then the Go version and the module
 * information. Go >= 1.18 stores both strings inline (varint length +
 * bytes); older linkers store pointers to Go string headers, which need a
 * reader for link-time addresses.
 */
#define BUILDINFO_MAGIC "\xff Go buildinf:"
#define BUILDINFO_MAGIC_LEN 14
#define BUILDINFO_HDR_LEN 32

struct buildinfo {
	char version[64];	/* "go1.19.8" */
	char path[256];		/* main package path, "" when absent */
};

/* Returns a pointer to len bytes at link-time address addr, or NULL. */
typedef const uint8_t *(*buildinfo_read_fn)(void *ctx, uint64_t addr,
					    size_t len);

/*
 * Parse the block at p (n bytes available from p). rd may be NULL, then
 * only the inline (1.18+) format can be read.
 */
int buildinfo_parse(const uint8_t *p, size_t n, buildinfo_read_fn rd,
		    void *ctx, struct buildinfo *bi, struct errbuf *err);

/*
 * Search data for a 16-byte aligned header that parses, starting at
 * *offset (updated to where it was found). Returns 0 or -1.
 */
int buildinfo_search(const uint8_t *data, size_t size, size_t *offset,
		     buildinfo_read_fn rd, void *ctx, struct buildinfo *bi);

#endif
