/* SPDX-License-Identifier: MIT */
#ifndef GMT_DAEMON_H
#define GMT_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bincache.h"
#include "bingroup.h"
#include "sampler.h"
#include "trace.h"

/*
 * `gomaptrace daemon`: the crash guard on every Go process of the host.
 * Processes are found as they exec (proc_watch.h) and at start; each Go
 * one (bincache.h) is watched by its binary's one BPF object (bingroup.h:
 * symbol tables and programs once per binary) and gets the crash guard,
 * which costs it nothing until it dies, and duty-cycled map-operation
 * probes within the budget (sampler.h). Every record comes through one
 * ring buffer. A map crash is written to DIR/crashes/ (daemon_out.c) and
 * logged in one line; status is served on a root-only socket
 * (daemon_ctl.c).
 */
#define DAEMON_MAX_PATTERNS	32
#define DAEMON_MAX_PIDS		256
#define DAEMON_MAX_TARGETS	1024

struct daemon_opts {
	const char *dir;		/* DIR */
	const char *run_dir;		/* socket and lock */
	double budget_pct;		/* of one CPU, for map-op probes */
	const char *exe[DAEMON_MAX_PATTERNS];
	size_t nexe;
	pid_t pids[DAEMON_MAX_PIDS];
	size_t npids;
	double interval_s;
	uint64_t max_disk;		/* bytes; 0: no bound */
};

struct target {
	pid_t pid;			/* as the host sees it */
	pid_t nspid;			/* in its own PID namespace; 0: same */
	struct bin_id bin;
	char exe[256];			/* its path, as the process sees it */
	struct bingroup *grp;		/* its binary's */
	uint64_t bias;			/* its load bias */
	bool watched;			/* by grp's tracer */
	int pidfd;			/* readable once it exited */
	struct guard *guard;
	struct trace t;			/* its crash: fatal records, freeze */
	uint32_t crashes, guarded_crashes;	/* fatals; guard_fatal'd */
	uint64_t unkept;		/* fatal records not stored (memory) */
	struct errbuf err;
	uint64_t attached_ns;
	uint64_t crash_ns;		/* first fatal record; 0: none */
	bool reported;
	/* Map-operation sampling within the budget (sampler.h). */
	struct sampler sp;
	uint64_t next_report, next_check;
	size_t checked_events;		/* sp.t.nevents at the last look */
	unsigned quiet_checks;		/* looks in a row with nothing new */
	size_t findings;		/* maps shared, in the last analysis */
	size_t reported_findings;	/* in the last report */
	uint64_t reports;
};

/*
 * Records lost, by cause: the ring buffer had no room (the process wrote
 * faster than we drained), a report's cap (SAMPLER_MAX_EVENTS kept per
 * report), no memory to store a fatal record.
 */
struct daemon_lost {
	uint64_t ring, cap, memory;
};

struct daemon {
	const struct daemon_opts *o;
	struct bincache *bins;
	struct bingroup *groups;
	struct tracer_ring *ring;	/* every record of every target */
	struct target *last;		/* of the last record: runs are long */
	struct proc_watch *pw;
	struct target *targets[DAEMON_MAX_TARGETS];
	size_t ntargets;
	int ctl_fd;			/* listening socket; -1 */
	int lock_fd;
	uint64_t start_ns;
	/* Counters for status and gomaptrace.prom. */
	uint64_t seen, attached, attach_failed, crashes, reports_written,
		 pruned;
	char last_crash[512];		/* the last crash's log line */
	double hit_ns;			/* one probe hit here (calibrate.h) */
	uint64_t gone_hits;		/* of processes forgotten */
	struct daemon_lost gone_lost;
	uint64_t stray;			/* records of processes not targets */
};

int daemon_run(const struct daemon_opts *o);

/* daemon_out.c */
int daemon_out_dirs(const struct daemon_opts *o, struct errbuf *err);
/* Writes DIR/crashes/<exe>-<pid>-<time>/ (text and JSON), atomically;
 * fills line (the journal's one line) and path. */
int daemon_write_crash(struct daemon *d, struct target *tg, char *line,
		       size_t linelen, struct errbuf *err);
int daemon_write_metrics(const struct daemon *d, struct errbuf *err);
/* DIR/reports/<exe>-<pid>-<time>.json and .pb.gz: what was sampled since
 * the last report; then a new span begins. */
int daemon_write_report(struct daemon *d, struct target *tg,
			struct errbuf *err);
/* Maps written by several goroutines in what was sampled so far. */
size_t daemon_findings(struct target *tg);
/* Its binary's symbol tables, with its load bias. */
struct gobin *daemon_gobin(struct target *tg);
/* Records lost so far, by cause; returns their sum. */
uint64_t daemon_lost(const struct daemon *d, struct daemon_lost *by);
/* Oldest files first, until DIR is under --max-disk. */
void daemon_prune(struct daemon *d);

/* daemon_ctl.c */
int daemon_ctl_open(struct daemon *d, struct errbuf *err);
void daemon_ctl_serve(struct daemon *d);
void daemon_ctl_close(struct daemon *d);
/* The status as text or JSON, into a malloc'd buffer. */
char *daemon_status(const struct daemon *d, bool json);
/* Where the socket and lock live: --run-dir, else GOMAPTRACE_RUN_DIR,
 * else /run/gomaptrace. */
const char *daemon_run_dir(const char *opt);

#endif
