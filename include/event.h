/* SPDX-License-Identifier: MIT */
#ifndef GMT_EVENT_H
#define GMT_EVENT_H

/*
 * Shared between bpf/gomaptrace.bpf.c and user/. Include vmlinux.h (BPF) or
 * <linux/types.h> (user space) first.
 */

#define GMT_STACK_DEPTH		10	/* return addresses kept per op */
#define GMT_HISTORY_LEN		10	/* map ops kept per thread */
#define GMT_FATAL_MSG_LEN	64

/*
 * Kinds of operation: the one numbering of the probe sites (gobin.h), the
 * records, the trace file (stored as the number, so old files load) and
 * the reports. Their names are trace_op_name()'s, everywhere.
 */
enum gmt_op {
	GMT_OP_ASSIGN = 0,
	GMT_OP_DELETE = 1,
	GMT_OP_CLEAR = 2,
	GMT_OP_ITER_INIT = 3,
	GMT_OP_ITER_NEXT = 4,
	GMT_OP_FATAL = 5,
};
#define GMT_NOPS		6	/* kinds above */

/*
 * The daemon's per-process probes are one uprobe_multi link per window,
 * on one program (op_multi): each offset's cookie says what it is.
 */
#define GMT_COOKIE_OP		0xffULL	/* enum gmt_op */
#define GMT_COOKIE_JBE		0x100ULL	/* at a stack check's jbe */
#define GMT_COOKIE_SITE		0x200ULL	/* at a CALL into the runtime */

#define GMT_EV_WRITING	0x01	/* write-in-progress flag was already set */
#define GMT_EV_SITE	0x04	/* from a call-site probe (the daemon's
				 * targeted probes), not a map function's */
#define GMT_EV_ONE	0x02	/* the map held exactly one entry (count or
				 * used == 1): a delete may empty it */

/*
 * The map header the probe reads in one go: runtime.hmap and
 * internal/runtime/maps.Map are both 48 bytes on amd64, and both keep the
 * entry count in their first word (the compiler's len() reads it there).
 * The write flag and the hash seed are read from this copy.
 */
#define GMT_MAP_HEADER_BYTES	48

/* The BPF side's seed_offset before user space sets it, and "none". */
#define GMT_SEED_BY_FLAG	(-1)
#define GMT_SEED_NONE		(-2)

/*
 * One map operation, all of it learned at the probe point (no uretprobes on
 * Go). A call that first branches to runtime.morestack and starts over gives
 * one record, not two. For GMT_OP_ITER_NEXT, map and type are read from the
 * iterator the runtime is given.
 */
struct gmt_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns() */
	__u32 pid;
	__u32 tid;
	__u64 goid;
	__u64 map;		/* hmap* / maps.Map* (run-time address) */
	__u64 type;		/* maptype* (run-time address) */
	__u8 op;		/* enum gmt_op */
	__u8 flags;		/* GMT_EV_* */
	__u8 nstack;		/* valid entries in stack[] */
	__u8 _pad0;
	__u32 seed;		/* the map's hash seed (low 32 bits); 0: unknown */
	__u64 stack[GMT_STACK_DEPTH];	/* return addresses, caller first */
};

/* The fatal path: the record is longer, told apart by op == GMT_OP_FATAL. */
struct gmt_fatal_event {
	struct gmt_event ev;	/* map/type are 0: the runtime does not pass them */
	__u32 msg_len;		/* bytes in msg, at most GMT_FATAL_MSG_LEN - 1 */
	__u32 _pad;
	char msg[GMT_FATAL_MSG_LEN];	/* runtime.fatal/throw's string, NUL-ended */
};

/* One slot of a thread's rolling history (the crash flight recorder). */
struct gmt_hist_op {
	__u64 ts_ns;
	__u64 map;
	__u64 goid;
	__u8 op;
	__u8 flags;
	__u8 nstack;
	__u8 _pad[5];
	__u64 stack[GMT_STACK_DEPTH];
};

struct gmt_history {
	__u32 next;		/* total ops recorded; slot = next % LEN */
	__u32 _pad;
	struct gmt_hist_op ops[GMT_HISTORY_LEN];
};

/*
 * The crash guard (user/guard.c). freeze_mode in the BPF object's .bss (multi
 * mode: the process's struct gmt_watch) says which fatals stop the process;
 * freeze_state (multi: its struct gmt_freeze) says what the first one did.
 */
enum gmt_freeze_mode {
	GMT_FREEZE_OFF = 0,
	GMT_FREEZE_MAP = 1,	/* the runtime's map errors only */
	GMT_FREEZE_ALL = 2,	/* every runtime.fatal/throw */
};

enum gmt_freeze_state {
	GMT_FREEZE_NONE = 0,
	GMT_FROZEN = 1,
	GMT_FREEZE_SKIP_TRACED = 2,	/* under a debugger (task->ptrace) */
	GMT_FREEZE_FAILED = 3,		/* bpf_send_signal refused */
};

/*
 * Multi mode (tracer_opts.multi): one BPF object serves every process of a
 * binary; the probes act only for the tgids in the watched map, each with
 * the freeze mode its guard armed (GMT_FREEZE_OFF until then).
 */
#define GMT_MAX_WATCHED	4096	/* processes one multi-mode object serves */

struct gmt_watch {
	__u32 freeze_mode;	/* enum gmt_freeze_mode */
	__u32 _pad;
	__u64 lost;		/* its records the ring buffer had no room for */
};

/*
 * Multi mode's freeze state of one process (the freezes map, by tgid): the
 * first fatal of the process inserts it, so each process freezes once.
 * state is written last by the BPF side; resumed only by user space.
 */
struct gmt_freeze {
	__u32 state;		/* enum gmt_freeze_state; 0 while being set */
	__u32 tid;		/* the thread that froze it */
	__u64 ns;		/* bpf_ktime_get_ns() of the stop */
	__u32 resumed;		/* 1: by the guard, 2: by its watchdog */
	__u32 _pad;
};

/* What a freeze writes to guard_rb (and, multi, to its guard's own ring). */
struct gmt_guard_wake {
	__u32 tgid;
	__u32 _pad;
	__u64 ns;
};

/* One thread as the snapshot iterator saw it (its saved user registers). */
struct gmt_thread_regs {
	__u32 tid;
	__u32 state;		/* task->__state; 0x4: stopped */
	__u64 ip, sp, bp, r14, ax, bx;
};

#endif
