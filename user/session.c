// SPDX-License-Identifier: MIT
/* A live tracing session on a running process (user/session.h). */
#define _GNU_SOURCE
#include <elf.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guard.h"
#include "proc_status.h"
#include "session.h"
#include "symcache.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

volatile sig_atomic_t session_stop;

static void on_stop(int sig)
{
	session_stop = sig;
}

void session_catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	/* No SA_RESTART: the signal must cut the poll short. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int on_event(void *ctx, const struct gmt_event *ev,
		    const struct gmt_fatal_event *fatal)
{
	struct session *s = ctx;

	/*
	 * The probes stay in until tracer_close(), after the last drain:
	 * what fired after the end of the recording is not part of it.
	 */
	if (s->t.meta.end_ns && ev->ts_ns > s->t.meta.end_ns)
		return 0;
	/* A frozen process waits for no backlog of map operations. */
	guard_early(s->guard, &s->t);
	if (fatal) {
		if (trace_add_gmt_fatal(&s->t, fatal))
			s->unkept++;
		s->crashed = true;
		s->crashes++;
		return 1;
	}
	if (trace_add_gmt_event(&s->t, ev))
		s->unkept++;
	return 0;
}

static void on_history(void *ctx, uint32_t tid, const struct gmt_history *h)
{
	struct session *s = ctx;

	/* The first snapshot after the crash is the closest to it. */
	if (trace_add_gmt_history(&s->t, tid, h, trace_now_ns(), false))
		s->unkept++;
}

/*
 * The probes follow a process (its tgid): given one of its other threads,
 * they would see nothing and the trace would be silently empty.
 */
static int check_not_thread(pid_t pid, struct errbuf *err)
{
	struct proc_status st;

	/* Gone: opening its binary will say so. */
	if (proc_status_read(pid, &st) || st.tgid <= 0 || st.tgid == pid)
		return 0;
	return errbuf_set(err, "PID %d is a thread of process %d: give -p %d",
			  (int)pid, (int)st.tgid, (int)st.tgid);
}

/* What the trace says about the binary: as mapped, once it is. */
static void session_meta_binary(struct session *s, pid_t pid)
{
	symcache_meta(&s->t, &s->gb);
	s->t.meta.pid = pid;
}

static int session_init(struct session *s)
{
	memset(s, 0, sizeof(*s));
	s->pidfd = -1;
	if (trace_init(&s->t))
		return errbuf_set(&s->err, "out of memory");
	return 0;
}

int session_open_binary(struct session *s, pid_t pid)
{
	if (session_init(s) || check_not_thread(pid, &s->err))
		return -1;
	return gobin_open_pid(&s->gb, pid, &s->err);
}

int session_open_path(struct session *s, const char *path)
{
	if (session_init(s))
		return -1;
	return gobin_open_path(&s->gb, path, &s->err);
}

int session_follow_pid(struct session *s, pid_t pid)
{
	char path[sizeof(s->gb.path)];

	if (s->gb.elf.type != ET_DYN)
		return 0;
	/*
	 * Reopened in place: a struct gobin points into itself, so it is
	 * never copied. The file's view again if the mapping cannot be read.
	 */
	snprintf(path, sizeof(path), "%s", s->gb.path);
	gobin_close(&s->gb);
	if (gobin_open_pid(&s->gb, pid, NULL) &&
	    gobin_open_path(&s->gb, path, &s->err))
		return -1;
	if (s->tr)
		session_meta_binary(s, pid);
	return 0;
}

int session_attach(struct session *s, const struct session_opts *o)
{
	struct tracer_opts to = { .pid = o->pid,
				  .ringbuf_bytes = o->ringbuf_bytes };
	uint32_t mask = o->ops_mask ? o->ops_mask : TRACE_DEFAULT_OPS;
	size_t nslow = 0;

	tracer_opts_set_ops(&to, mask);
	if (tracer_open(&s->tr, &s->gb, &to, &s->err))
		return -1;
	s->t.meta.start_ns = trace_now_ns();
	s->t.meta.wall_start_ns = trace_wall_now_ns();
	session_meta_binary(s, o->pid);
	snprintf(s->t.meta.command, sizeof(s->t.meta.command), "%s",
		 o->command ? o->command : "");
	s->t.meta.ops_mask = mask;
	s->t.meta.nprobes = tracer_nattached(s->tr, &nslow);
	s->t.meta.nslow = nslow;
	s->pidfd = syscall(SYS_pidfd_open, o->pid, 0);
	if (o->guard && guard_open(&s->guard, s->tr, &s->gb, o->pid,
				  o->freeze, &s->err))
		fprintf(stderr, "gomaptrace: warning: %s: the crash will not "
			"be frozen\n", s->err.msg);
	s->err.msg[0] = '\0';
	return 0;
}

int session_open(struct session *s, const struct session_opts *o)
{
	if (session_open_binary(s, o->pid))
		return -1;
	return session_attach(s, o);
}

int session_poll(struct session *s, int timeout_ms)
{
	uint32_t before = s->crashes;
	int n = tracer_poll(s->tr, timeout_ms, on_event, s);

	if (n < 0)
		return errbuf_set(&s->err, "reading the ring buffer failed");
	/* on_event stops the poll at each fatal record: one read per crash. */
	if (s->crashes != before) {
		guard_fatal(s->guard, &s->t);
		tracer_histories(s->tr, on_history, s);
	}
	return n;
}

int session_drain(struct session *s)
{
	int n;

	while ((n = session_poll(s, 0)) > 0)
		;
	return n < 0 ? -1 : 0;
}

bool session_target_gone(const struct session *s)
{
	struct pollfd p = { .fd = s->pidfd, .events = POLLIN };
	char path[64];

	if (s->pidfd >= 0)
		return poll(&p, 1, 0) > 0;
	snprintf(path, sizeof(path), "/proc/%d", (int)s->gb.pid);
	return access(path, F_OK) != 0;
}

uint64_t session_lost(const struct session *s)
{
	return s->tr ? tracer_lost(s->tr) + s->unkept : s->t.lost;
}

void session_detach(struct session *s)
{
	if (!s->tr)
		return;
	if (!s->t.meta.end_ns)
		s->t.meta.end_ns = trace_now_ns();
	s->t.lost = session_lost(s);
	guard_close(s->guard, &s->t);
	s->guard = NULL;
	tracer_close(s->tr);
	s->tr = NULL;
	s->t.complete = true;
}

void session_close(struct session *s)
{
	session_detach(s);
	if (s->pidfd >= 0)
		close(s->pidfd);
	s->pidfd = -1;
	gobin_close(&s->gb);
	trace_free(&s->t);
}
