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
 *
 * Starting a program under tracing (`gomaptrace run`): fork, hold the
 * child before its exec (a pipe, or PTRACE_TRACEME and its exec stop),
 * tracer_open() with the child's pid and the target binary, then let it
 * go. Probes attached with the pid before the exec do fire after it, in
 * every thread the program makes: the kernel matches a uprobe hit against
 * the perf event's target task's mm at the time of the hit (after the exec,
 * the new image's, shared by all its CLONE_VM threads) and installs the
 * breakpoints when the exec maps the binary; the BPF side also keeps only
 * the tgid, which the exec does not change. tests/unit/test_tracer.c
 * asserts it (4 threads, exact counts). Only a PIE's load bias has to wait
 * for the exec (/proc/PID/maps), for symbolising, not for attaching: probes
 * go in at file offsets.
 *
 * tracer_set_verbosity(1) (-v) shows libbpf's warnings, 2 (-vv) its debug
 * log (the verifier's, when a load fails).
 */
struct tracer_opts {
	pid_t pid;			/* process to trace (its mm, all threads);
					 * 0: every process running the binary */
	bool ops[GMT_NOPS];		/* which kinds of probe to attach */
	uint32_t ringbuf_bytes;		/* a power of two >= 64 KiB; 0 = 64 MiB */
	/*
	 * Many processes of the binary (pid must be 0): the probes act only
	 * for the processes tracer_watch() names, each guarded on its own
	 * (guard.h). Costs a hash lookup per probe hit; without it, none.
	 * The uprobes are in every process of the binary, so an unwatched
	 * one still takes each hit's trap (measured: ~6-7 us here, the
	 * same as a watched one's); only the recording is skipped.
	 */
	bool multi;
	/*
	 * Write to this ring buffer (tracer_ring_new) instead of one of the
	 * tracer's own: many tracers, one reader. tracer_poll() and
	 * tracer_fd() are then the ring's (tracer_ring_consume/_fd).
	 */
	struct tracer_ring *ring;
};

struct tracer;
struct tracer_ring;
struct gomaptrace_bpf;

/*
 * Called for every record drained from the ring buffer. fatal is non-NULL
 * (and ev == &fatal->ev) for GMT_OP_FATAL. Return non-zero to stop polling.
 */
typedef int (*tracer_event_fn)(void *ctx, const struct gmt_event *ev,
			       const struct gmt_fatal_event *fatal);

/* ops[] from a mask with bit i for op i (struct trace_meta's ops_mask). */
void tracer_opts_set_ops(struct tracer_opts *o, uint32_t mask);

/* Process-wide, as libbpf's log is: 0 quiet (default), 1, 2. */
void tracer_set_verbosity(int level);
int tracer_verbosity(void);

int tracer_open(struct tracer **out, const struct gobin *gb,
		const struct tracer_opts *opts, struct errbuf *err);
/*
 * Drain what is ready, waiting up to timeout_ms (< 0: until something
 * comes); returns records seen or <0. Map operations are looked for every
 * 10 ms (they do not wake the reader: that would cost more than the record);
 * a fatal record wakes it at once and comes after every operation recorded
 * before it. ev and fatal point into the ring buffer: copy what you keep.
 */
int tracer_poll(struct tracer *t, int timeout_ms, tracer_event_fn fn,
		void *ctx);
/* Records the kernel side could not reserve, summed over CPUs. */
uint64_t tracer_lost(struct tracer *t);
/* Number of probes attached and the slow (single-stepped) ones among them. */
size_t tracer_nattached(const struct tracer *t, size_t *nslow);
/*
 * The flight recorder: every thread's last GMT_HISTORY_LEN map operations.
 * fn is called once per thread that has a history; tid is its thread id.
 * The delivered records (those drained so far) are merged with the ones the
 * ring had no room for, which the BPF side keeps per thread: h->next counts
 * both, so a full ring still leaves each thread's last operations known.
 */
typedef void (*tracer_history_fn)(void *ctx, uint32_t tid,
				  const struct gmt_history *h);
int tracer_histories(struct tracer *t, tracer_history_fn fn, void *ctx);
/*
 * Multi mode: start acting for process pid (its map operations recorded,
 * its fatals sent and, once guard_open() armed it, frozen). Watching a
 * watched process again changes nothing. Returns 0, or -1 with errno set
 * (EINVAL: not a multi tracer or a bad pid; E2BIG: GMT_MAX_WATCHED
 * processes watched already).
 */
int tracer_watch(struct tracer *t, pid_t pid);
/*
 * Multi mode: stop acting for pid (its probe hits return at once). Close
 * its guard first: a freeze in progress is its guard's to end.
 */
void tracer_unwatch(struct tracer *t, pid_t pid);
bool tracer_multi(const struct tracer *t);
void tracer_close(struct tracer *t);
/* The loaded BPF object, for the crash guard (user/guard.c). */
struct gomaptrace_bpf *tracer_skel(struct tracer *t);

/*
 * Call-site probes (the daemon's targeted probes): uprobes on CALL rel32
 * instructions into a runtime map function, in the user's code, recording
 * op with GMT_EV_SITE. The kernel emulates a CALL, so they cost what a
 * probe at a map function's jbe costs, and only that code pays.
 */
#define TRACER_MAX_SITES	16

struct site_probe {
	uint8_t op;		/* enum gmt_op of the function it calls */
	int64_t file_offset;	/* of the CALL instruction */
};

/*
 * One ring buffer for many tracers (the daemon's): bytes a power of two,
 * a multiple of the page size. Records come with ev->pid to tell their
 * process; no flight-recorder history is kept for them.
 */
int tracer_ring_new(struct tracer_ring **out, uint32_t bytes,
		    struct errbuf *err);
/* Readable when a record woke it (a fatal: map operations never do). */
int tracer_ring_fd(const struct tracer_ring *r);
/*
 * Hands fn what is ready, at most max records (0: no bound), stopping
 * early when fn returns non-zero; the count, or < 0.
 */
int tracer_ring_consume(struct tracer_ring *r, int max, tracer_event_fn fn,
			void *ctx);
void tracer_ring_free(struct tracer_ring *r);

/*
 * Multi mode: probes of one process on the shared programs, with its pid
 * as filter, so only that process takes their traps: its map operations
 * (ops_mask, 1 << enum gmt_op) or its call sites. gb->path names the
 * binary for every process (the daemon: a descriptor it checked, so no
 * process's later exec can move a probe to another file). Duty-cycling
 * attaches and drops these links; nothing is reloaded. Where the kernel
 * has uprobe_multi, they are one link, attached and closed in one go.
 */
struct tracer_links {
	int fd;			/* the uprobe_multi link (Linux >= 6.6) */
	bool has_fd;
	struct bpf_link **l;	/* else one link per probe */
	size_t n, cap, nslow;	/* probes */
};

int tracer_attach_pid(struct tracer *t, const struct gobin *gb, pid_t pid,
		      uint32_t ops_mask, struct tracer_links *tl,
		      struct errbuf *err);
int tracer_attach_sites_pid(struct tracer *t, const struct gobin *gb,
			    pid_t pid, const struct site_probe *sp, size_t n,
			    struct tracer_links *tl, struct errbuf *err);
/* Detaches them (through the link reaper: closing can take a while). */
void tracer_links_drop(struct tracer_links *tl);
/* Multi mode: pid's records the ring buffer had no room for. */
uint64_t tracer_watch_lost(struct tracer *t, pid_t pid);

#endif
