/* SPDX-License-Identifier: MIT */
#ifndef GMT_SESSION_H
#define GMT_SESSION_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "errbuf.h"
#include "gobin.h"
#include "trace.h"
#include "tracer.h"

/*
 * A live tracing session, the one path from probes to a trace for `run`,
 * `record` and `top`: open the binary, attach the probes, drain records
 * into a trace (records after the end time are not kept; on a fatal
 * record every thread's flight recorder is read at once), notice a crash
 * or the process leaving, detach. What each command adds is its own:
 * `run` starts and releases the process, `record` writes the file, `top`
 * draws the screen.
 */
struct session {
	struct trace t;
	struct gobin gb;
	struct tracer *tr;
	struct guard *guard;	/* the crash guard, when asked for */
	int pidfd;		/* -1: watch /proc/PID instead */
	bool crashed;		/* a fatal record came (histories are read) */
	uint32_t crashes;	/* fatal records so far; histories read each */
	uint64_t unkept;	/* records we could not store (memory) */
	struct errbuf err;
};

struct session_opts {
	pid_t pid;
	uint32_t ops_mask;	/* 1 << enum gmt_op; 0: TRACE_DEFAULT_OPS */
	uint32_t ringbuf_bytes;	/* 0: the tracer's default */
	const char *command;	/* trace meta: "run", "record", "top" */
	bool guard;		/* arm the crash guard (guard.h) */
	uint32_t freeze;	/* its GMT_FREEZE_* mode */
};

/*
 * The two halves of session_open(), for a caller with checks of its own to
 * make before any probe goes in (record's -o): open the binary of process
 * pid (refusing one of its other threads), then attach the probes. Each is
 * 0, or -1 with s->err set; s is usable for session_close() either way.
 */
int session_open_binary(struct session *s, pid_t pid);
int session_attach(struct session *s, const struct session_opts *o);
/*
 * For `run`, whose process does not exist yet: open the binary at path;
 * then, once the process has exec'd it, session_follow_pid() reads a PIE's
 * load bias from the mapping (the file's view stays if that fails). 0, or
 * -1 with s->err set when not even the file can be read again.
 */
int session_open_path(struct session *s, const char *path);
int session_follow_pid(struct session *s, pid_t pid);
/* Both of the first two. */
int session_open(struct session *s, const struct session_opts *o);
/*
 * Drains ready records into s->t, waiting up to timeout_ms. On a fatal
 * record it stops, reads every thread's flight recorder at once, while the
 * crashing process still exists, sets s->crashed and counts s->crashes.
 * Once s->t.meta.end_ns is set, records from after it are not kept. Returns
 * the records seen, or -1 with s->err set.
 */
int session_poll(struct session *s, int timeout_ms);
/* Drains what the ring buffer still holds; 0 or -1. */
int session_drain(struct session *s);
bool session_target_gone(const struct session *s);
/* Records lost so far: the ring buffer's and ours (memory). */
uint64_t session_lost(const struct session *s);
/*
 * Detach (the process runs untraced again); losses noted, and the end time
 * unless the caller set it already.
 */
void session_detach(struct session *s);
void session_close(struct session *s);

/* SIGINT, SIGTERM and SIGHUP set session_stop and cut a poll short. */
extern volatile sig_atomic_t session_stop;
void session_catch_signals(void);

#endif
