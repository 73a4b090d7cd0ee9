/* SPDX-License-Identifier: MIT */
#ifndef GMT_BINCACHE_H
#define GMT_BINCACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Is a process's binary a Go program? One ELF check per binary (device
 * and inode of /proc/PID/exe, so a container's binary is recognised by
 * the file, whatever its path), cached: non-Go processes cost the daemon
 * one stat each, and nothing at all to themselves.
 */
enum bin_kind {
	BIN_UNKNOWN = 0,
	BIN_GO,		/* has .gopclntab or .go.buildinfo, x86-64 */
	BIN_OTHER,	/* not Go, another architecture, not readable */
};

struct bin_id {
	uint64_t dev, ino;
};

struct bincache;

struct bincache *bincache_new(void);
void bincache_free(struct bincache *bc);
/*
 * The kind of process pid's binary, and its id; BIN_UNKNOWN when the
 * process is gone (or a kernel thread).
 */
enum bin_kind bincache_classify(struct bincache *bc, pid_t pid,
				struct bin_id *id);
/* Binaries checked so far (the cache holds at most a bounded number). */
uint64_t bincache_checks(const struct bincache *bc);

#endif
