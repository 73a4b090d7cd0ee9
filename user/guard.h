/* SPDX-License-Identifier: MIT */
#ifndef GMT_GUARD_H
#define GMT_GUARD_H

#include <sys/types.h>

#include "errbuf.h"
#include "gobin.h"
#include "trace.h"
#include "tracer.h"

/*
 * The crash guard: at a fatal error (every one, or map errors only) the
 * BPF side stops the whole process with SIGSTOP before the runtime prints
 * anything; the guard then reads every thread's registers (a BPF task
 * iterator), unwinds each stack (unwind.h), notes which threads are inside
 * the runtime's map functions and on which map, and resumes the process
 * with SIGCONT so the runtime finishes its own crash: exit status, message
 * and core dump as untraced.
 *
 * Never stuck: a watchdog process, forked at guard_open() in a session of
 * its own, holds a pidfd of the target and the read end of a pipe only we
 * write to. When we die (SIGKILL included: the kernel closes the pipe) or
 * the freeze outlasts GOMAPTRACE_FREEZE_MAX_MS (default 250), it sends
 * SIGCONT itself. It keeps no other descriptor: detaching removes every
 * probe as before.
 *
 * A target under a debugger (TracerPid != 0 at attach, or task->ptrace at
 * the fatal, checked by the BPF side) is not frozen; the snapshot says so.
 *
 * Many processes (a tracer opened with tracer_opts.multi): one guard per
 * process, each with its own watchdog, all on the one tracer. Each
 * process freezes once, on its own (the BPF side keeps a freeze entry per
 * process); the others run on. The caller passes the guard of the
 * record's ev->pid to guard_early() and guard_fatal(). The gobin may be
 * the one shared by every process of the binary: the guard reads its
 * process's own load bias (gobin_pid_bias), and the gobin's load_bias is
 * set to it while a snapshot is taken (so the gobin must not be used from
 * another thread meanwhile), then restored.
 *
 * Environment: GOMAPTRACE_FREEZE_MAX_MS; GOMAPTRACE_TEST_HOLD_FREEZE_MS (tests only:
 * stay inside the freeze that long, so a test can kill us there).
 */
struct guard;

/*
 * Arms the guard on process pid, traced by tr, freezing at the fatals
 * mode (GMT_FREEZE_*) names. Returns 0 with *out set (freezing may still
 * be off: a debugger, GMT_FREEZE_OFF), or -1 with err set when the
 * watchdog cannot be started (then nothing is armed; *out may still be
 * set: guard_close() it). With a multi tracer, pid must be watched
 * (tracer_watch) first, and stay watched while guarded.
 */
int guard_open(struct guard **out, struct tracer *tr, const struct gobin *gb,
	       pid_t pid, uint32_t mode, struct errbuf *err);
/*
 * Call while reading the ring buffer (per record: it only reads a flag
 * until a freeze): when the BPF side froze the process, takes the
 * snapshot and resumes it at once, without waiting for the fatal record
 * behind a backlog of map operations. guard_fatal() completes it.
 */
int guard_early(struct guard *g, struct trace *t);
/*
 * Call after a fatal record was added to t: when the BPF side froze the
 * process, takes the snapshot, resumes it, adds it to t (t->freezes).
 * Cheap and harmless to call when nothing is frozen.
 */
int guard_fatal(struct guard *g, struct trace *t);
/*
 * Ends the guard: resumes the process if it is still frozen, adds a "not
 * frozen" record to t when a fatal came but none froze (t may be NULL),
 * stops the watchdog. g may be NULL. Multi mode: also forgets the
 * process's freeze entry (a later guard_open of the same pid could freeze
 * it again); call it before tracer_unwatch().
 */
void guard_close(struct guard *g, struct trace *t);

#endif
