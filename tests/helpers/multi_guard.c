// SPDX-License-Identifier: MIT
/*
 * multi_guard: a test driver (not a command) for one multi-mode tracer
 * (tracer_opts.multi) guarding several processes of one Go binary, the way
 * the daemon does: tests/e2e/test_multi.py drives it.
 *
 *   multi_guard [--full] EXE OUTDIR
 *
 * stdin, one command a line:
 *   watch PID     tracer_watch + guard_open (freeze all); "watched PID"
 *   unwatch PID   guard_close, OUTDIR/PID.gmt written, tracer_unwatch;
 *                 "unwatched PID"
 * stdout, besides: "ready" once the probes are in; for the first fatal
 * record of a process "fatal PID STATUS TID...": the freeze's status
 * (frozen, released_early, else status_N) and the snapshot's threads; at
 * EOF (every process left is unwatched as above) one "records PID OPS
 * FATALS" per process any record came from, then "done".
 * --full traces map operations too (crash-only otherwise).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guard.h"
#include "snapshot.h"
#include "symcache.h"
#include "trace_file.h"
#include "tracer.h"

#define MAX_PROCS	16
#define MAX_SEEN	64

struct proc {
	pid_t pid;
	uint64_t bias;
	struct trace t;
	struct guard *g;
	bool crashed;
	bool reported;	/* both writers may reach the fatal path: one line */
};

struct seen {
	uint32_t pid;
	uint64_t ops, fatals;
};

static struct gobin gb;
static struct tracer *tr;
static struct proc procs[MAX_PROCS];
static struct seen seen[MAX_SEEN];
static const char *outdir;
static uint32_t ops_mask;

static struct proc *find(pid_t pid)
{
	for (int i = 0; i < MAX_PROCS; i++)
		if (procs[i].pid == pid)
			return &procs[i];
	return NULL;
}

static void count(uint32_t pid, bool fatal)
{
	for (int i = 0; i < MAX_SEEN; i++) {
		if (seen[i].pid == pid || !seen[i].pid) {
			seen[i].pid = pid;
			seen[i].ops += !fatal;
			seen[i].fatals += fatal;
			return;
		}
	}
}

static int on_event(void *ctx, const struct gmt_event *ev,
		    const struct gmt_fatal_event *fatal)
{
	struct proc *p = find(ev->pid);

	(void)ctx;
	count(ev->pid, fatal);
	if (!p)
		return 0;	/* not watched: the test fails on the count */
	guard_early(p->g, &p->t);
	if (!fatal) {
		trace_add_gmt_event(&p->t, ev);
		return 0;
	}
	trace_add_gmt_fatal(&p->t, fatal);
	p->crashed = true;
	return 1;
}

/* One word, as the JSON report's freeze status says it. */
static const char *status_word(uint32_t status)
{
	static char other[32];

	if (status == SNAP_FROZEN)
		return "frozen";
	if (status == SNAP_RELEASED_EARLY)
		return "released_early";
	snprintf(other, sizeof(other), "status_%u", status);
	return other;
}

static void report_fatal(struct proc *p)
{
	const struct trace_freeze *f;

	guard_fatal(p->g, &p->t);
	p->crashed = false;
	if (p->reported)
		return;
	p->reported = true;
	if (!p->t.nfreezes) {
		printf("fatal %d none\n", (int)p->pid);
		return;
	}
	f = &p->t.freezes[p->t.nfreezes - 1];
	printf("fatal %d %s", (int)p->pid, status_word(f->status));
	for (size_t i = 0; i < f->nthreads; i++)
		printf(" %u", f->threads[i].tid);
	printf("\n");
}

static int watch(pid_t pid)
{
	struct errbuf err = { "" };
	struct proc *p = find(0);

	if (!p || tracer_watch(tr, pid)) {
		printf("error watch %d: %s\n", (int)pid, strerror(errno));
		return -1;
	}
	memset(p, 0, sizeof(*p));
	if (trace_init(&p->t) || gobin_pid_bias(&gb, pid, &p->bias, &err))
		goto fail;
	p->pid = pid;
	symcache_meta(&p->t, &gb);
	p->t.meta.pid = pid;
	p->t.meta.load_bias = p->bias;
	p->t.meta.start_ns = trace_now_ns();
	p->t.meta.wall_start_ns = trace_wall_now_ns();
	p->t.meta.ops_mask = ops_mask;
	p->t.meta.nprobes = tracer_nattached(tr, NULL);
	snprintf(p->t.meta.command, sizeof(p->t.meta.command), "record");
	if (guard_open(&p->g, tr, &gb, pid, GMT_FREEZE_ALL, &err))
		goto fail;
	printf("watched %d\n", (int)pid);
	return 0;
fail:
	printf("error watch %d: %s\n", (int)pid, err.msg);
	return -1;
}

/* The trace symbolised with the process's own load bias, then written. */
static void unwatch(struct proc *p)
{
	struct errbuf err = { "" };
	char path[4200];
	uint64_t own = gb.load_bias;

	guard_close(p->g, &p->t);
	tracer_unwatch(tr, p->pid);
	p->t.meta.end_ns = trace_now_ns();
	p->t.complete = true;
	p->t.lost = tracer_lost(tr);
	gb.load_bias = p->bias;
	symcache_update(&p->t, &gb);
	gb.load_bias = own;
	snprintf(path, sizeof(path), "%s/%d.gmt", outdir, (int)p->pid);
	if (trace_write_path(&p->t, path, &err))
		printf("error write %d: %s\n", (int)p->pid, err.msg);
	else
		printf("unwatched %d\n", (int)p->pid);
	trace_free(&p->t);
	p->pid = 0;
}

/* One command from stdin; false at EOF. */
static bool command(void)
{
	char line[64];
	int pid;

	if (!fgets(line, sizeof(line), stdin))
		return false;
	if (sscanf(line, "watch %d", &pid) == 1) {
		watch(pid);
	} else if (sscanf(line, "unwatch %d", &pid) == 1) {
		if (find(pid))
			unwatch(find(pid));
		else
			printf("error unwatch %d: not watched\n", pid);
	} else {
		printf("error: %s", line);
	}
	return true;
}

/* One look at the ring (it stops at each fatal record): 10 ms at most. */
static int drain(void)
{
	int n = tracer_poll(tr, 10, on_event, NULL);

	for (int i = 0; i < MAX_PROCS; i++)
		if (procs[i].pid && procs[i].crashed)
			report_fatal(&procs[i]);
	fflush(stdout);
	return n;
}

int main(int argc, char **argv)
{
	struct tracer_opts o = { .multi = true };
	struct errbuf err = { "" };
	struct pollfd in = { .fd = 0, .events = POLLIN };
	bool full = argc == 4 && !strcmp(argv[1], "--full");

	if (argc != 3 + full) {
		fprintf(stderr, "usage: multi_guard [--full] EXE OUTDIR\n");
		return 2;
	}
	outdir = argv[2 + full];
	ops_mask = full ? TRACE_DEFAULT_OPS : 1u << GMT_OP_FATAL;
	tracer_opts_set_ops(&o, ops_mask);
	if (gobin_open_path(&gb, argv[1 + full], &err) ||
	    tracer_open(&tr, &gb, &o, &err)) {
		fprintf(stderr, "multi_guard: %s\n", err.msg);
		return 1;
	}
	setvbuf(stdin, NULL, _IONBF, 0);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		drain();
		if (poll(&in, 1, 0) > 0 && !command())
			break;
		fflush(stdout);
	}
	while (drain() > 0)
		;
	for (int i = 0; i < MAX_PROCS; i++)
		if (procs[i].pid)
			unwatch(&procs[i]);
	for (int i = 0; i < MAX_SEEN && seen[i].pid; i++)
		printf("records %u %llu %llu\n", seen[i].pid,
		       (unsigned long long)seen[i].ops,
		       (unsigned long long)seen[i].fatals);
	printf("done\n");
	tracer_close(tr);
	gobin_close(&gb);
	return 0;
}
