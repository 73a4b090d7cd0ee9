// SPDX-License-Identifier: MIT
/* The daemon's loop: find Go processes, guard them, report crashes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "calibrate.h"
#include "commands.h"
#include "daemon.h"
#include "guard.h"
#include "link_reaper.h"
#include "proc_status.h"
#include "proc_watch.h"
#include "symcache.h"
#include "textfmt.h"
#include "trace.h"

#define METRICS_NS	5000000000ULL	/* gomaptrace.prom refreshed */
#define CRASH_SETTLE_NS	500000000ULL	/* for the other fatal, the exit */
#define POLL_MAX_MS	1000
#define CHECK_NS	10000000000ULL	/* a look for newly shared maps */
#define CHECK_BACKOFF	5		/* at most 32 times as long */
#define RING_BYTES	(4u << 20)	/* drained every 50 ms at least */
#define RING_BATCH	4096
#define RING_BATCHES	64

static int logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line per event on stderr: the journal under systemd. */
static int logf_(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("gomaptrace: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 0;
}

static struct target *find_target(struct daemon *d, pid_t pid)
{
	for (size_t i = 0; i < d->ntargets; i++)
		if (d->targets[i]->pid == pid)
			return d->targets[i];
	return NULL;
}

static bool pid_wanted(const struct daemon_opts *o, pid_t pid)
{
	if (!o->npids)
		return true;
	for (size_t i = 0; i < o->npids; i++)
		if (o->pids[i] == pid)
			return true;
	return false;
}

static bool exe_wanted(const struct daemon_opts *o, const char *exe)
{
	const char *base = strrchr(exe, '/');

	if (!o->nexe)
		return true;
	base = base ? base + 1 : exe;
	for (size_t i = 0; i < o->nexe; i++)
		if (!fnmatch(o->exe[i], exe, 0) || !fnmatch(o->exe[i], base, 0))
			return true;
	return false;
}

static int exe_path(pid_t pid, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, buf, len - 1);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/*
 * A look for newly shared maps analyses every event kept since the last
 * report: 10 s after the last look at first, twice as long after each look
 * that found nothing new (up to the report interval), so a busy target's
 * growing span does not cost the daemon more and more.
 */
static uint64_t check_ns(const struct daemon *d, unsigned quiet)
{
	uint64_t iv = (uint64_t)(d->o->interval_s * 1e9);
	uint64_t ns = CHECK_NS << (quiet < CHECK_BACKOFF ? quiet : CHECK_BACKOFF);

	return iv < ns ? iv : ns;
}

static void target_meta(struct target *tg)
{
	struct trace_meta *m = &tg->t.meta;
	size_t nslow = 0;

	symcache_meta(&tg->t, &tg->grp->gb);
	m->pid = tg->pid;
	m->load_bias = tg->bias;
	snprintf(m->exe, sizeof(m->exe), "%s", tg->exe);
	m->start_ns = trace_now_ns();
	m->wall_start_ns = trace_wall_now_ns();
	snprintf(m->command, sizeof(m->command), "daemon");
	m->ops_mask = 1u << GMT_OP_FATAL;
	m->nprobes = tracer_nattached(tg->grp->tr, &nslow);
	m->nslow = nslow;
}

/*
 * Its binary's object (loaded on first use), watched there, guarded: from
 * now on its fatal records come, and a map crash freezes it.
 */
static int attach(struct daemon *d, struct target *tg)
{
	tg->grp = bingroup_get(&d->groups, &tg->bin, tg->pid, d->ring,
			       &tg->err);
	if (!tg->grp || gobin_pid_bias(&tg->grp->gb, tg->pid, &tg->bias,
				       &tg->err))
		return -1;
	if (tracer_watch(tg->grp->tr, tg->pid))
		return errbuf_set(&tg->err, "cannot watch it: %s",
				  strerror(errno));
	tg->watched = true;
	target_meta(tg);
	tg->pidfd = syscall(SYS_pidfd_open, tg->pid, 0);
	if (guard_open(&tg->guard, tg->grp->tr, &tg->grp->gb, tg->pid,
		       GMT_FREEZE_MAP, &tg->err))
		logf_("PID %d: %s: its crash will not be frozen", (int)tg->pid,
		      safe_text(tg->err.msg));
	tg->err.msg[0] = '\0';
	return 0;
}

/* Everything it holds, in the order the guard needs. */
static void target_free(struct daemon *d, struct target *tg)
{
	sampler_stop(&tg->sp);
	guard_close(tg->guard, NULL);
	if (tg->watched)
		tracer_unwatch(tg->grp->tr, tg->pid);
	bingroup_put(&d->groups, tg->grp);
	if (tg->pidfd >= 0)
		close(tg->pidfd);
	trace_free(&tg->t);
	if (d->last == tg)
		d->last = NULL;
	free(tg);
}

/* nspid: its PID in its own PID namespace; 0 when that is the host's. */
static struct target *new_target(pid_t pid, pid_t nspid,
				 const struct bin_id *id, const char *exe)
{
	struct target *tg = calloc(1, sizeof(*tg));

	if (!tg)
		return NULL;
	if (trace_init(&tg->t)) {
		free(tg);
		return NULL;
	}
	tg->pid = pid;
	tg->pidfd = -1;
	tg->nspid = nspid;
	tg->bin = *id;
	snprintf(tg->exe, sizeof(tg->exe), "%s", exe);
	return tg;
}

/* A process seen (exec or scan): guard it when it is a Go program. */
static void consider(void *ctx, pid_t pid)
{
	struct daemon *d = ctx;
	struct proc_status ps;
	struct target *tg;
	struct bin_id id;
	char exe[256];

	/* A thread's own exec event, or gone already: nothing to guard. */
	if (pid == getpid() || find_target(d, pid) ||
	    !pid_wanted(d->o, pid) || proc_status_read(pid, &ps) ||
	    ps.tgid != pid)
		return;
	d->seen++;
	if (bincache_classify(d->bins, pid, &id) != BIN_GO)
		return;
	if (exe_path(pid, exe, sizeof(exe)) || !exe_wanted(d->o, exe))
		return;
	if (d->ntargets >= DAEMON_MAX_TARGETS) {
		logf_("PID %d not guarded: %d processes already are", (int)pid,
		      DAEMON_MAX_TARGETS);
		return;
	}
	tg = new_target(pid, ps.nspid == pid ? 0 : ps.nspid, &id, exe);
	if (!tg)
		return;
	if (attach(d, tg)) {
		/* Gone already, or not one we can trace: say so once. */
		if (kill(pid, 0) == 0)
			logf_("PID %d not guarded: %s", (int)pid,
			      safe_text(tg->err.msg));
		d->attach_failed++;
		target_free(d, tg);
		return;
	}
	tg->attached_ns = trace_now_ns();
	tg->next_report = tg->attached_ns + (uint64_t)(d->o->interval_s * 1e9);
	tg->next_check = tg->attached_ns + check_ns(d, 0);
	if (sampler_start(&tg->sp, tg->grp->tr, &tg->grp->gb, pid, tg->bias,
			  &tg->err)) {
		logf_("PID %d: map operations not sampled: %s", (int)pid,
		      safe_text(tg->err.msg));
		tg->err.msg[0] = '\0';
	}
	d->targets[d->ntargets++] = tg;
	d->attached++;
}

static void report(struct daemon *d, struct target *tg)
{
	struct errbuf err = { 0 };

	if (daemon_write_report(d, tg, &err))
		logf_("PID %d: report not written: %s", (int)tg->pid,
		      safe_text(err.msg));
	else
		daemon_prune(d);
}

static void forget(struct daemon *d, size_t i)
{
	struct target *tg = d->targets[i];

	/* What was sampled since the last report is not thrown away. */
	if (tg->sp.hits)
		report(d, tg);
	d->gone_hits += tg->sp.total_hits;
	d->gone_lost.ring += tg->sp.total_lost;
	d->gone_lost.cap += tg->sp.total_over_cap;
	d->gone_lost.memory += tg->unkept;
	target_free(d, tg);
	d->targets[i] = d->targets[--d->ntargets];
}

/* Its probes out but the fatal path's; the freeze over: the crash's end. */
static void end_crash(struct target *tg)
{
	sampler_detach(&tg->sp);
	tg->t.meta.end_ns = trace_now_ns();
	guard_close(tg->guard, &tg->t);
	tg->guard = NULL;
	tg->t.lost = tg->unkept;
	tg->t.complete = true;
}

static void report_crash(struct daemon *d, struct target *tg)
{
	char line[sizeof(d->last_crash)];

	tg->reported = true;
	end_crash(tg);
	d->crashes++;
	if (daemon_write_crash(d, tg, line, sizeof(line), &tg->err)) {
		logf_("PID %d crashed; its report could not be written: %s",
		      (int)tg->pid, safe_text(tg->err.msg));
		return;
	}
	d->reports_written++;
	memcpy(d->last_crash, line, sizeof(line));
	logf_("%s", line);
	daemon_prune(d);
}

/*
 * The budget: its map probes in or out; a report every interval, and at
 * once when a map newly turned out to be shared.
 */
static void sample(struct daemon *d, struct target *tg, uint64_t now)
{
	if (!tg->sp.tr || tg->crash_ns)
		return;
	sampler_tick(&tg->sp, d->o->budget_pct / 100, d->hit_ns,
		     tg->next_report, now);
	if (now >= tg->next_check) {
		size_t before = tg->findings;

		if (tg->sp.t.nevents != tg->checked_events)
			tg->findings = daemon_findings(tg);
		tg->checked_events = tg->sp.t.nevents;
		tg->quiet_checks = tg->findings > before ? 0 :
				   tg->quiet_checks + 1;
		tg->next_check = now + check_ns(d, tg->quiet_checks);
		sampler_sites_now(&tg->sp, d->o->budget_pct / 100, now);
		if (tg->findings > tg->reported_findings)
			tg->next_report = now;
	}
	if (now >= tg->next_report) {
		tg->next_report = now + (uint64_t)(d->o->interval_s * 1e9);
		report(d, tg);
	}
}

static struct target *record_target(struct daemon *d, pid_t pid)
{
	if (!d->last || d->last->pid != pid)
		d->last = find_target(d, pid);
	return d->last;
}

static int on_record(void *ctx, const struct gmt_event *ev,
		     const struct gmt_fatal_event *fatal)
{
	struct daemon *d = ctx;
	struct target *tg = record_target(d, (pid_t)ev->pid);

	if (!tg) {
		d->stray++;	/* forgotten meanwhile */
		return 0;
	}
	/* A frozen process waits for no backlog of map operations. */
	guard_early(tg->guard, &tg->t);
	if (!fatal) {
		if (!tg->crash_ns)
			sampler_add(&tg->sp, ev);
		return 0;
	}
	if (tg->reported)
		return 0;
	if (trace_add_gmt_fatal(&tg->t, fatal))
		tg->unkept++;
	tg->crashes++;
	return 1;	/* the snapshot before any more records */
}

/* A fatal record was read: its snapshot is taken, the process resumed. */
static void guard_fatals(struct daemon *d)
{
	for (size_t i = 0; i < d->ntargets; i++) {
		struct target *tg = d->targets[i];

		if (tg->crashes == tg->guarded_crashes)
			continue;
		tg->guarded_crashes = tg->crashes;
		if (guard_fatal(tg->guard, &tg->t) < 0)
			logf_("PID %d: the crash guard failed", (int)tg->pid);
		if (!tg->crash_ns)
			tg->crash_ns = trace_now_ns();
	}
}

/*
 * The one ring buffer, drained (bounded: processes writing as fast as we
 * read never hold us). A frozen process waits for us: every guard looks
 * first, and a fatal record is acted on as it is read, before anything
 * slower such as attaching or detaching another process's probes.
 */
static void read_ring(struct daemon *d)
{
	for (size_t i = 0; i < d->ntargets; i++)
		guard_early(d->targets[i]->guard, &d->targets[i]->t);
	for (int i = 0; i < RING_BATCHES; i++) {
		int n = tracer_ring_consume(d->ring, RING_BATCH, on_record, d);

		guard_fatals(d);
		if (n <= 0)
			break;
	}
}

static bool target_gone(const struct target *tg)
{
	struct pollfd p = { .fd = tg->pidfd, .events = POLLIN };

	if (tg->pidfd >= 0)
		return poll(&p, 1, 0) > 0;
	return kill(tg->pid, 0) && errno == ESRCH;
}

/* Its window edges; a crash is reported once it settled; gone: forget. */
static void service(struct daemon *d, size_t i)
{
	struct target *tg = d->targets[i];
	bool gone;

	sample(d, tg, trace_now_ns());
	gone = target_gone(tg);
	if (gone)
		read_ring(d);
	if (tg->crash_ns && !tg->reported &&
	    (gone || trace_now_ns() - tg->crash_ns >= CRASH_SETTLE_NS))
		report_crash(d, tg);
	if (gone)
		forget(d, i);
}

static int signal_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* 0: go on; 1: stop (SIGTERM, SIGINT). SIGHUP reopens the outputs. */
static int on_signal(struct daemon *d, int sfd)
{
	struct signalfd_siginfo si;
	struct errbuf err = { 0 };
	int stop = 0;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo != SIGHUP) {
			stop = 1;
			continue;
		}
		if (daemon_out_dirs(d->o, &err))
			logf_("SIGHUP: %s", err.msg);
		else if (daemon_write_metrics(d, &err))
			logf_("SIGHUP: %s", err.msg);
		else
			logf_("SIGHUP: output files reopened");
	}
	return stop;
}

enum { FD_SIG, FD_EXEC, FD_CTL, FD_RING, FD_FIXED };

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* When a target next needs us: a window edge, a look, a report. */
static uint64_t target_due(const struct target *tg)
{
	if (tg->crash_ns)
		return tg->reported ? UINT64_MAX :
		       tg->crash_ns + CRASH_SETTLE_NS;
	if (!tg->sp.tr)
		return UINT64_MAX;
	return min_u64(sampler_due(&tg->sp), min_u64(tg->next_check,
						     tg->next_report));
}

/*
 * Until the next thing due, and no more: each wake-up costs the host a
 * context switch (0.5-1 ms of CPU on this VM, where a switch writes MSRs),
 * so an idle daemon wakes once a second. Map operations never wake us, so
 * a window open is drained at least every 50 ms; a fatal, an exec, a
 * process's exit, a signal and `status` wake us through their fds.
 */
static int timeout_ms(const struct daemon *d, uint64_t next_metrics)
{
	uint64_t now = trace_now_ns(), next = next_metrics;
	int cap = POLL_MAX_MS;

	for (size_t i = 0; i < d->ntargets; i++) {
		const struct target *tg = d->targets[i];

		next = min_u64(next, target_due(tg));
		if (tg->sp.on)
			cap = 50;
	}
	if (next <= now)
		return 0;
	if (next - now >= (uint64_t)cap * 1000000)
		return cap;
	return (int)((next - now) / 1000000) + 1;	/* at most cap */
}

static int loop(struct daemon *d, int sfd)
{
	static struct pollfd pfd[FD_FIXED + DAEMON_MAX_TARGETS];
	uint64_t next_metrics = 0;
	struct errbuf err = { 0 };

	for (;;) {
		size_t n = FD_FIXED;
		bool rescan = false;

		pfd[FD_SIG] = (struct pollfd){ sfd, POLLIN, 0 };
		pfd[FD_EXEC] = (struct pollfd){ proc_watch_fd(d->pw), POLLIN,
						0 };
		pfd[FD_CTL] = (struct pollfd){ d->ctl_fd, POLLIN, 0 };
		pfd[FD_RING] = (struct pollfd){ tracer_ring_fd(d->ring),
						POLLIN, 0 };
		for (size_t i = 0; i < d->ntargets; i++)
			pfd[n++] = (struct pollfd){ d->targets[i]->pidfd,
						    POLLIN, 0 };
		if (poll(pfd, n, timeout_ms(d, next_metrics)) < 0 &&
		    errno != EINTR)
			return fail("poll: %s", strerror(errno));
		if ((pfd[FD_SIG].revents & POLLIN) && on_signal(d, sfd))
			return 0;
		if (pfd[FD_EXEC].revents & POLLIN)
			proc_watch_drain(d->pw, consider, d, &rescan);
		if (rescan)
			proc_scan(consider, d);
		if (pfd[FD_CTL].revents & POLLIN)
			daemon_ctl_serve(d);
		read_ring(d);
		for (size_t i = d->ntargets; i-- > 0;) {
			service(d, i);
			/* Attaching or detaching probes can take a while. */
			read_ring(d);
		}
		if (trace_now_ns() >= next_metrics) {
			if (daemon_write_metrics(d, &err))
				logf_("%s", err.msg);
			next_metrics = trace_now_ns() + METRICS_NS;
		}
	}
}

static void shutdown_all(struct daemon *d)
{
	struct errbuf err = { 0 };

	/* A crash in progress is still written: it is what we are for. */
	read_ring(d);
	while (d->ntargets) {
		struct target *tg = d->targets[d->ntargets - 1];

		if (tg->crashes && !tg->reported)
			report_crash(d, tg);
		forget(d, d->ntargets - 1);
	}
	daemon_write_metrics(d, &err);
}

/*
 * Memory freed stays ours, to be reused: memory given back and mapped
 * anew is read first (the zero page), then written, and each such write
 * fault flushed the TLB of every CPU we ran on, the traced services'
 * included (measured: a third of the daemon's CPU went to it).
 */
static void keep_memory(void)
{
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

int daemon_run(const struct daemon_opts *o)
{
	struct daemon d = { .o = o, .ctl_fd = -1, .lock_fd = -1 };
	struct errbuf err = { 0 };
	int sfd, ret = 1;

	signal(SIGPIPE, SIG_IGN);
	keep_memory();
	tracer_set_verbosity(tracer_verbosity());	/* libbpf quiet */
	d.start_ns = trace_now_ns();
	if (daemon_ctl_open(&d, &err) || daemon_out_dirs(o, &err))
		goto out;
	d.bins = bincache_new();
	if (!d.bins) {
		errbuf_set(&err, "out of memory");
		goto out;
	}
	if (tracer_ring_new(&d.ring, RING_BYTES, &err))
		goto out;
	if (link_reaper_start()) {
		errbuf_set(&err, "cannot start a thread: %s", strerror(errno));
		goto out;
	}
	sfd = signal_fd();
	if (sfd < 0) {
		errbuf_set(&err, "signalfd: %s", strerror(errno));
		goto out;
	}
	if (proc_watch_open(&d.pw, &err))
		goto out_sig;
	if (calibrate_hit_ns(&d.hit_ns, &err))
		goto out_sig;
	logf_("daemon: one probe hit costs %.0f ns here; budget %.2f%% of one "
	      "CPU per process", d.hit_ns, o->budget_pct);
	proc_scan(consider, &d);
	logf_("daemon: guarding %zu Go processes of %llu seen; writing to %s",
	      d.ntargets, (unsigned long long)d.seen, o->dir);
	ret = loop(&d, sfd);
	shutdown_all(&d);
	link_reaper_stop();
	logf_("daemon: stopped; %llu crashes reported",
	      (unsigned long long)d.reports_written);
out_sig:
	close(sfd);
out:
	if (err.msg[0])
		ret = fail("%s", err.msg);
	proc_watch_close(d.pw);
	bincache_free(d.bins);
	tracer_ring_free(d.ring);
	daemon_ctl_close(&d);
	return ret;
}
