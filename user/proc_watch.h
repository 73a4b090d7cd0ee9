/* SPDX-License-Identifier: MIT */
#ifndef GMT_PROC_WATCH_H
#define GMT_PROC_WATCH_H

#include <stdint.h>
#include <sys/types.h>

#include "errbuf.h"

/*
 * New processes, as the kernel execs them (a tracepoint, no /proc
 * polling), and the ones already running (one scan of /proc at start).
 * Both give host PIDs (thread-group leaders).
 */
struct proc_watch;

typedef void (*proc_fn)(void *ctx, pid_t pid);

int proc_watch_open(struct proc_watch **out, struct errbuf *err);
/* Readable when execs are waiting: poll it, then proc_watch_drain(). */
int proc_watch_fd(const struct proc_watch *pw);
/*
 * Calls fn for each exec since the last call. When the kernel had to drop
 * some (its ring buffer was full), *rescan is set: the caller scans /proc
 * once to catch up.
 */
int proc_watch_drain(struct proc_watch *pw, proc_fn fn, void *ctx,
		     bool *rescan);
void proc_watch_close(struct proc_watch *pw);

/* Every process now running (not its threads), except ourselves. */
void proc_scan(proc_fn fn, void *ctx);

#endif
