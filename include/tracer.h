/* SPDX-License-Identifier: MIT */
#ifndef GMT_TRACER_H
#define GMT_TRACER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>

#include "errbuf.h"
#include "event.h"
#include "gobin.h"

/*
 * The kernel side's lifecycle (open -> set rodata -> load -> attach ->
 * poll -> destroy) behind one handle. Detaching is tracer_close(); the
 * kernel also removes every uprobe when our fds close, so even a SIGKILL'd
 * gomaptrace leaves the target as it was.
 */
struct tracer_opts {
	pid_t pid;			/* process to trace (its mm, all threads) */
	bool ops[OP__COUNT];		/* which kinds of probe to attach */
	uint32_t ringbuf_bytes;		/* power of two; 0 = default */
};

struct tracer;

/*
 * Called for every record drained from the ring buffer. fatal is non-NULL
 * (and ev == &fatal->ev) for GMT_OP_FATAL. Return non-zero to stop polling.
 */
typedef int (*tracer_event_fn)(void *ctx, const struct gmt_event *ev,
			       const struct gmt_fatal_event *fatal);

int tracer_open(struct tracer **out, const struct gobin *gb,
		const struct tracer_opts *opts, struct errbuf *err);
/* Drain what is ready, waiting up to timeout_ms; returns records seen or <0. */
int tracer_poll(struct tracer *t, int timeout_ms, tracer_event_fn fn,
		void *ctx);
/* Records the kernel side could not reserve, summed over CPUs. */
uint64_t tracer_lost(struct tracer *t);
/* Number of probes attached and the slow (single-stepped) ones among them. */
size_t tracer_nattached(const struct tracer *t, size_t *nslow);
/*
 * The flight recorder: every thread's last GMT_HISTORY_LEN map operations.
 * fn is called once per thread that has a history; tid is its thread id.
 */
typedef void (*tracer_history_fn)(void *ctx, uint32_t tid,
				  const struct gmt_history *h);
int tracer_histories(struct tracer *t, tracer_history_fn fn, void *ctx);
void tracer_close(struct tracer *t);

#endif
