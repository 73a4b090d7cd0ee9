/* SPDX-License-Identifier: MIT */
#ifndef GMT_SNAPSHOT_H
#define GMT_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct trace;
struct json_writer;

/*
 * The crash guard's snapshot (user/guard.c): every thread of the dying
 * process as it was when the BPF side froze it at runtime.fatal/throw.
 * Kept in struct trace (freezes[]), written to trace files as a chunk of
 * its own (old readers skip it), and shown as the JSON report's "freeze"
 * object and the text report's "what every thread was doing".
 *
 * pc[] holds the unwound stack innermost first, as return addresses: the
 * thread's own PC is stored as ip + 1, so that every entry is symbolised at
 * pc - 1 like the rest of the trace (trace_pc_frames()).
 */
#define SNAP_MAX_PCS	32

enum snap_status {
	SNAP_NONE = 0,		/* no fatal came */
	SNAP_FROZEN = 1,	/* stopped, read, resumed by gomaptrace */
	SNAP_NOT_FROZEN_DEBUGGER = 2,	/* TracerPid != 0: left alone */
	SNAP_NOT_FROZEN_MODE = 3,	/* not a map error (freeze mode map) */
	SNAP_NOT_FROZEN_FAILED = 4,	/* the stop or the snapshot failed */
	SNAP_RELEASED_EARLY = 5,	/* the watchdog resumed it first */
	SNAP_DISABLED = 6,		/* --freeze off */
};

/* snap_thread.flags */
#define SNAP_T_CRASHING		0x01	/* the thread in runtime.fatal/throw */
#define SNAP_T_IN_MAP		0x02	/* inside a runtime map function */
#define SNAP_T_MAP_KNOWN	0x04	/* map recovered from its frame */
#define SNAP_T_STOPPED		0x08	/* seen stopped when read */
#define SNAP_T_FP		0x10	/* some frames by frame pointers */
#define SNAP_T_ON_G		0x20	/* R14 is a goroutine whose stack
					 * holds SP: goid is trusted */
#define SNAP_T_AT_MAP_CALL	0x40	/* not inside one, but in the user's
					 * code at a call to map_func (about
					 * to make it or just back) */

struct snap_thread {
	uint32_t tid;
	uint32_t flags;		/* SNAP_T_* */
	uint64_t goid;		/* 0 when not on a goroutine's stack */
	uint64_t ip, sp;
	uint64_t map;		/* the map the map function works on, 0 */
	uint64_t map_type;	/* its maptype, from the slot beside the
				 * map's; 0 when unknown */
	const char *map_func;	/* interned; NULL unless SNAP_T_IN_MAP or
				 * SNAP_T_AT_MAP_CALL */
	uint32_t npcs;
	uint64_t pc[SNAP_MAX_PCS];
};

struct trace_freeze {
	uint32_t status;	/* enum snap_status */
	uint32_t tid;		/* the thread that hit the fatal */
	int32_t tracer_pid;	/* the debugger seen, 0 none */
	uint32_t mode;		/* enum gmt_freeze_mode */
	uint64_t freeze_ns;	/* CLOCK_MONOTONIC: the stop */
	uint64_t stopped_ns;	/* every thread seen stopped */
	uint64_t resume_ns;	/* SIGCONT sent; 0 not frozen */
	char msg[64];		/* the fatal's message */
	struct snap_thread *threads;
	size_t nthreads;
};

/* Appends a copy of f (threads copied too) to t->freezes; 0 or -1. */
int trace_add_freeze(struct trace *t, const struct trace_freeze *f);
void trace_free_freezes(struct trace *t);
const char *snap_status_name(uint32_t status);

/* The JSON report's "freeze" object (key included), the text section. */
void report_freeze_json(struct json_writer *jw, const struct trace *t);
void report_freeze_text(FILE *out, const struct trace *t);

#endif
