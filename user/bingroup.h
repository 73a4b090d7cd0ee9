/* SPDX-License-Identifier: MIT */
#ifndef GMT_BINGROUP_H
#define GMT_BINGROUP_H

#include <stddef.h>
#include <sys/types.h>

#include "bincache.h"
#include "errbuf.h"
#include "gobin.h"
#include "tracer.h"

/*
 * What the daemon holds once per Go binary (by device and inode), for all
 * of its processes: the symbol tables (one struct gobin) and one BPF
 * object in multi mode (tracer_opts.multi), loaded once and writing to the
 * daemon's one ring buffer. Its fatal-path probes are in every process of
 * the binary; they act only for the watched ones and cost nothing until a
 * process dies. Map-operation and call-site probes go in per process
 * (tracer_attach_pid), never reloading anything.
 *
 * The binary is reached through a descriptor held open and checked
 * against the id the process was classified by: every probe goes on that
 * file, whatever a process execs meanwhile, and a process in another
 * mount namespace needs no path the host can see.
 */
struct bingroup {
	struct bin_id id;
	int fd;
	struct gobin gb;	/* load_bias: set per process while used */
	struct tracer *tr;
	size_t users;
	struct bingroup *next;
};

/*
 * The group of process pid's binary (id, from bincache_classify), made on
 * first use; NULL with err set (the binary changed, cannot be read, the
 * kernel refused the object).
 */
struct bingroup *bingroup_get(struct bingroup **list, const struct bin_id *id,
			      pid_t pid, struct tracer_ring *ring,
			      struct errbuf *err);
/* One user fewer; the last one unloads it. */
void bingroup_put(struct bingroup **list, struct bingroup *g);
size_t bingroup_count(const struct bingroup *list);

#endif
