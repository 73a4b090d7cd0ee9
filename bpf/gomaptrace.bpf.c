// SPDX-License-Identifier: GPL-2.0
/*
 * gomaptrace's kernel side: one uprobe program for every map operation and
 * one for the runtime's fatal path. Each probe sits at an instruction the
 * kernel emulates (the jbe after the stack check) so nothing is
 * single-stepped; there RSP and the argument registers are still as at the
 * function's entry (DESIGN-NOTES §1, §3). There is one program per kind of
 * operation, each attached to every runtime function of that kind.
 *
 * Records travel through one BPF ring buffer, in the order they were
 * reserved. Map operations do not wake the reader (it polls); a fatal
 * record does.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "event.h"

/* Set by user space before load; the verifier sees them as constants. */
const volatile __u32 target_tgid = 0;
/*
 * Multi mode (tracer_opts.multi): the probes act for the processes in
 * watched only, and each process freezes on its own (freezes). A constant,
 * so the single-target programs keep none of that code.
 */
const volatile bool multi = false;
const volatile __s32 goid_offset = -1;
const volatile __u32 flag_offset = 0;
const volatile __u8 flag_mask = 0;
/*
 * Where the map's hash seed is (gobin's seed fact), or GMT_SEED_NONE.
 * Until user space sets it, the layouts known so far are told apart by the
 * write flag's place: hmap.flags at 8 (hash0 at 12), maps.Map.writing at
 * 34 (seed at 8).
 */
const volatile __s32 seed_offset = GMT_SEED_BY_FLAG;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20);	/* user space may resize before load */
} events SEC(".maps");

/* Records that found the ring buffer full: nothing is lost silently. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/*
 * The crash flight recorder's kernel half: each thread's last operations
 * that could not be delivered. User space keeps the delivered ones and
 * merges both (tracer_histories), so a full ring buffer still leaves every
 * thread's last GMT_HISTORY_LEN operations known. Keeping every operation
 * here instead cost 20-35 ns more per operation.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);	/* threads; preallocated, 1.1 KiB each */
	__type(key, __u32);
	__type(value, struct gmt_history);
} histories SEC(".maps");

/* A zeroed history to insert from: too large for the BPF stack. */
static const struct gmt_history empty_history;

/*
 * The stack is read in windows of WIN_BYTES: one read from RSP usually holds
 * the caller's return address and the first few frames, and a read costs
 * little more than a 16-byte one. One spare word keeps w[i + 1] provably in
 * bounds for the verifier.
 */
#define WIN_BYTES	512
#define WIN_WORDS	(WIN_BYTES / 8)

struct scratch {
	__u64 w[WIN_WORDS + 1];
	struct gmt_event spare;	/* a record the ring buffer had no room for */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratches SEC(".maps");

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);

	if (n)
		*n += 1;
}

/*
 * The frame at fp: its saved frame pointer and return address, from the
 * window when it lies there, else from a new window read at fp, else (the
 * end of a mapping is near) from a 16-byte read. Returns false at the end.
 */
static __always_inline bool read_frame(struct scratch *s, __u64 *base,
				       __u64 fp, __u64 frame[2])
{
	__u64 off = fp - *base;
	__u32 i;

	if (off > WIN_BYTES - 16) {
		if (bpf_probe_read_user(s->w, WIN_BYTES, (void *)fp)) {
			*base = 1;	/* unaligned: never matches again */
			return !bpf_probe_read_user(frame, 16, (void *)fp);
		}
		*base = fp;
		off = 0;
	}
	i = (off / 8) & (WIN_WORDS - 1);
	frame[0] = s->w[i];
	frame[1] = s->w[i + 1];
	return true;
}

/*
 * The last GMT_STACK_DEPTH return addresses, caller first. At the probe the
 * function has not pushed RBP yet: [RSP] returns into the caller and RBP is
 * the caller's frame, whose [rbp] links to the next frame and [rbp+8] holds
 * the next return address. The chain must go up the stack and stay
 * aligned, which also bounds a corrupt one.
 */
static __always_inline __u8 walk_stack(struct scratch *s,
				       struct pt_regs *regs, __u64 *stack,
				       bool site)
{
	__u64 fp = regs->bp, base = regs->sp, frame[2];
	__u8 n = 1;

	if (bpf_probe_read_user(s->w, WIN_BYTES, (void *)base)) {
		base = 1;
		if (bpf_probe_read_user(&s->w[0], 8, (void *)regs->sp))
			return 0;
	}
	/*
	 * At a call site (a CALL rel32, 5 bytes) nothing is pushed yet: the
	 * address the call will return to is the caller's first frame, and
	 * RBP is already the caller's own frame.
	 */
	stack[0] = site ? regs->ip + 5 : s->w[0];
	if (!stack[0])
		return 0;
	for (int i = 1; i < GMT_STACK_DEPTH; i++) {
		if (!fp || (fp & 7) || !read_frame(s, &base, fp, frame))
			break;
		if (!frame[1])
			break;
		stack[i] = frame[1];
		n++;
		if (frame[0] <= fp)
			break;
		fp = frame[0];
	}
	return n;
}

static __always_inline __u64 read_goid(struct pt_regs *regs)
{
	__u64 goid = 0;

	if (goid_offset >= 0 && regs->r14)
		bpf_probe_read_user(&goid, sizeof(goid),
				    (void *)(regs->r14 + goid_offset));
	return goid;
}

static __always_inline __s32 seed_at(void)
{
	if (seed_offset != GMT_SEED_BY_FLAG)
		return seed_offset;
	if (flag_offset == 8)
		return 12;
	if (flag_offset == 34)
		return 8;
	return GMT_SEED_NONE;
}

/*
 * The runtime's state of the map as the operation begins, from one read of
 * its header: the write-in-progress flag (another goroutine is writing it
 * right now), the hash seed (which map this is: see analysis.h) and
 * whether it holds exactly one entry. A flag outside the header (no layout
 * known so far) costs a read of its own.
 */
static __always_inline void read_map_state(struct gmt_event *e)
{
	__u8 hdr[GMT_MAP_HEADER_BYTES];
	__s32 so = seed_at();
	__u64 count;
	__u8 flags;

	e->flags = 0;
	e->seed = 0;
	if (!e->map)
		return;
	if (bpf_probe_read_user(hdr, sizeof(hdr), (void *)e->map))
		return;
	if (flag_offset < GMT_MAP_HEADER_BYTES) {
		flags = hdr[flag_offset];
	} else {
		flags = 0;
		bpf_probe_read_user(&flags, sizeof(flags),
				    (void *)(e->map + flag_offset));
	}
	if (flag_mask && (flags & flag_mask))
		e->flags |= GMT_EV_WRITING;
	if (so >= 0 && so <= GMT_MAP_HEADER_BYTES - 4)
		__builtin_memcpy(&e->seed, &hdr[so], sizeof(e->seed));
	__builtin_memcpy(&count, hdr, sizeof(count));
	if (count == 1)
		e->flags |= GMT_EV_ONE;
}

/*
 * Most map functions take (type, map, ...) in RAX, RBX. The iterator's next
 * step takes only the iterator, whose third and fourth words are the type
 * and the map in every layout so far (runtime.hiter, maps.Iter).
 */
static __always_inline void map_and_type(struct gmt_event *e,
					 struct pt_regs *regs)
{
	__u64 tm[2];

	if (e->op != GMT_OP_ITER_NEXT) {
		e->type = regs->ax;
		e->map = regs->bx;
		return;
	}
	if (bpf_probe_read_user(tm, sizeof(tm), (void *)(regs->ax + 16)))
		tm[0] = tm[1] = 0;
	e->type = tm[0];
	e->map = tm[1];
}

/* Everything the record holds; map and type are the caller's. */
static __always_inline void fill_event(struct gmt_event *e,
				       struct scratch *s,
				       struct pt_regs *regs, __u64 pid_tgid,
				       bool site)
{
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->goid = read_goid(regs);
	e->_pad0 = 0;
	e->seed = 0;
	e->nstack = walk_stack(s, regs, e->stack, site);
	for (int i = 0; i < GMT_STACK_DEPTH; i++)
		if (i >= e->nstack)
			e->stack[i] = 0;
}

static __always_inline void remember(const struct gmt_event *e)
{
	struct gmt_history *h;
	struct gmt_hist_op *op;
	__u32 tid = e->tid;
	__u32 slot;

	h = bpf_map_lookup_elem(&histories, &tid);
	if (!h) {
		bpf_map_update_elem(&histories, &tid, &empty_history,
				    BPF_NOEXIST);
		h = bpf_map_lookup_elem(&histories, &tid);
		if (!h)
			return;
	}
	slot = h->next % GMT_HISTORY_LEN;
	barrier_var(slot);	/* keep the bound check the verifier needs */
	if (slot >= GMT_HISTORY_LEN)
		return;
	op = &h->ops[slot];
	op->ts_ns = e->ts_ns;
	op->map = e->map;
	op->goid = e->goid;
	op->op = e->op;
	op->flags = e->flags;
	op->nstack = e->nstack;
	__builtin_memcpy(op->stack, e->stack, sizeof(op->stack));
	h->next++;
}

/*
 * Multi mode: the processes user space watches (tracer_watch), each with
 * its guard's freeze mode. Single-target objects size it to one entry and
 * never look at it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GMT_MAX_WATCHED);
	__type(key, __u32);
	__type(value, struct gmt_watch);
} watched SEC(".maps");

/* Multi mode: the process's entry, where its lost records are counted. */
static __always_inline struct gmt_watch *watch_of(__u64 pid_tgid)
{
	__u32 tgid = pid_tgid >> 32;

	return bpf_map_lookup_elem(&watched, &tgid);
}

static __always_inline bool wanted(__u64 pid_tgid)
{
	__u32 tgid = pid_tgid >> 32;

	if (multi)
		return bpf_map_lookup_elem(&watched, &tgid) != NULL;
	return !target_tgid || tgid == target_tgid;
}

/* One program per kind of operation: the kind is a constant in each. */
static __always_inline int record_op(struct pt_regs *regs, __u8 op,
				     bool site)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct gmt_watch *w = NULL;
	struct gmt_event *e, *rec;
	struct scratch *s;
	__u32 zero = 0;

	if (multi) {
		w = watch_of(pid_tgid);
		if (!w)
			return 0;
	} else if (!wanted(pid_tgid)) {
		return 0;
	}
	s = bpf_map_lookup_elem(&scratches, &zero);
	if (!s)
		return 0;
	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	e = rec ? rec : &s->spare;
	fill_event(e, s, regs, pid_tgid, site);
	e->op = op;
	map_and_type(e, regs);
	read_map_state(e);
	if (site)
		e->flags |= GMT_EV_SITE;
	if (rec) {
		/* Waking the reader per record costs more than the record. */
		bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
		return 0;
	}
	count_lost();
	if (w)
		__sync_fetch_and_add(&w->lost, 1);
	remember(e);
	return 0;
}

/*
 * At the jbe the stack check's flags say whether it branches to
 * runtime.morestack (CF or ZF set): then the function starts over on a
 * bigger stack and passes the probe again, so only the pass that goes on
 * into the function counts. Probes at a function's entry (no stack check
 * found) have no such flags to read.
 */
#define X86_FLAGS_CF	0x0001
#define X86_FLAGS_ZF	0x0040

static __always_inline bool to_morestack(struct pt_regs *regs)
{
	return regs->flags & (X86_FLAGS_CF | X86_FLAGS_ZF);
}

/*
 * For each kind of operation, a program for jbe sites, one for entries,
 * and one for the CALL instructions into the runtime in the user's code
 * (the daemon's targeted probes: the kernel emulates a CALL rel32, and the
 * arguments are in the same registers there).
 */
#define OP_PROGRAMS(name, op)					\
SEC("uprobe")							\
int name(struct pt_regs *regs)					\
{								\
	if (to_morestack(regs))					\
		return 0;					\
	return record_op(regs, op, false);			\
}								\
								\
SEC("uprobe")							\
int name##_e(struct pt_regs *regs)				\
{								\
	return record_op(regs, op, false);			\
}								\
								\
SEC("uprobe")							\
int name##_site(struct pt_regs *regs)				\
{								\
	return record_op(regs, op, true);			\
}

OP_PROGRAMS(op_assign, GMT_OP_ASSIGN)
OP_PROGRAMS(op_delete, GMT_OP_DELETE)
OP_PROGRAMS(op_clear, GMT_OP_CLEAR)
OP_PROGRAMS(op_iter_init, GMT_OP_ITER_INIT)
OP_PROGRAMS(op_iter_next, GMT_OP_ITER_NEXT)

/*
 * Every kind at once, told by the offset's cookie: loaded as uprobe_multi
 * (multi mode), so that a process's probes are one link, attached and
 * detached in one go. A dozen links took a grace period each to close
 * (45-135 ms under load, measured), and the process paid for every hit
 * until the last was gone.
 */
SEC("uprobe")
int op_multi(struct pt_regs *regs)
{
	__u64 c = bpf_get_attach_cookie(regs);
	__u8 op = c & GMT_COOKIE_OP;

	if ((c & GMT_COOKIE_JBE) && to_morestack(regs))
		return 0;
	if (op >= GMT_NOPS || op == GMT_OP_FATAL)
		return 0;
	return record_op(regs, op, c & GMT_COOKIE_SITE);
}

/*
 * The crash guard's kernel half (user/guard.c). User space arms it in .bss
 * once it has checked the target is under no debugger; the first fatal that
 * qualifies stops the whole process at once with a group SIGSTOP, before
 * the runtime prints a byte, so every other thread is frozen where it is
 * (often still inside the other side's map write). Only one fatal ever
 * stops it: the first to insert into freeze_once wins, every other fatal
 * (both writers may notice the race) leaves it alone. The freeze is ended
 * by user space with SIGCONT, or by its watchdog, woken through guard_rb,
 * if user space dies or overstays.
 *
 * Multi mode keeps the same state per process in freezes instead (the
 * first fatal of a tgid inserts it: once per process), takes the mode from
 * the process's watched entry, and wakes that process's watchdog through a
 * ring of its own (guard_rbs, by tgid); freeze_count tells user space a
 * freeze happened without a lookup per record.
 */
__u32 freeze_mode;		/* GMT_FREEZE_*: written by user space */
__u32 freeze_state;		/* GMT_FROZEN, GMT_FREEZE_SKIP_TRACED; 0 */
__u32 freeze_tid;
__u64 freeze_ns;		/* bpf_ktime_get_ns() of the stop */
__u32 freeze_resumed;		/* set by user space or the watchdog */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} freeze_once SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} guard_rb SEC(".maps");

__u32 freeze_count;		/* multi: freezes so far, of any process */
__u32 snap_tgid;		/* multi: the process snap_threads reads */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GMT_MAX_WATCHED);
	__type(key, __u32);
	__type(value, struct gmt_freeze);
} freezes SEC(".maps");

/* One watchdog's ring: never consumed, only watched for readability. */
struct guard_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, GMT_MAX_WATCHED);
	__type(key, __u32);
	__array(values, struct guard_ring);
} guard_rbs SEC(".maps");

#define GMT_SIGSTOP	19

/* The runtime's map errors all begin with one of these (DESIGN-NOTES §4). */
static const char map_err1[] = "concurrent map ";
static const char map_err2[] = "small map with no empty slot";
#define MSG_PREFIX	32

static __always_inline bool has_prefix(const char *msg, __u64 len,
				       const char *p, __u32 plen)
{
	if (len < plen)
		return false;
	for (__u32 i = 0; i < plen && i < MSG_PREFIX; i++)
		if (msg[i] != p[i])
			return false;
	return true;
}

static __always_inline bool is_map_error(struct pt_regs *regs)
{
	char msg[MSG_PREFIX] = {};
	__u64 len = regs->bx;

	if (bpf_probe_read_user(msg, sizeof(msg) < len ? sizeof(msg) : len,
				(void *)regs->ax))
		return false;
	return has_prefix(msg, len, map_err1, sizeof(map_err1) - 1) ||
	       has_prefix(msg, len, map_err2, sizeof(map_err2) - 1);
}

static __always_inline bool under_debugger(void)
{
	struct task_struct *task = (void *)bpf_get_current_task();

	return BPF_CORE_READ(task, ptrace) != 0;
}

static __always_inline bool may_freeze(struct pt_regs *regs, __u32 mode)
{
	if (mode == GMT_FREEZE_OFF)
		return false;
	return mode != GMT_FREEZE_MAP || is_map_error(regs);
}

/* Stops the process unless it is under a debugger: the resulting state. */
static __always_inline __u32 stop_process(void)
{
	if (under_debugger())
		return GMT_FREEZE_SKIP_TRACED;
	if (bpf_send_signal(GMT_SIGSTOP))
		return GMT_FREEZE_FAILED;
	return GMT_FROZEN;
}

static __always_inline void freeze_single(struct pt_regs *regs,
					  __u64 pid_tgid)
{
	struct gmt_guard_wake wake = { .tgid = pid_tgid >> 32 };
	__u32 zero = 0, one = 1, state;

	if (freeze_state || !may_freeze(regs, freeze_mode))
		return;
	if (bpf_map_update_elem(&freeze_once, &zero, &one, BPF_NOEXIST))
		return;		/* another fatal got there first */
	state = stop_process();
	wake.ns = bpf_ktime_get_ns();
	freeze_ns = wake.ns;
	freeze_tid = (__u32)pid_tgid;
	freeze_state = state;
	if (state == GMT_FROZEN)
		bpf_ringbuf_output(&guard_rb, &wake, sizeof(wake),
				   BPF_RB_FORCE_WAKEUP);
}

/*
 * The entry is inserted before the stop (the insert decides which fatal
 * wins) with state 0; its state, written last, is what user space acts on,
 * so the BPF side is done with the entry once user space sees it.
 */
static __always_inline void freeze_multi(struct pt_regs *regs, __u64 pid_tgid)
{
	struct gmt_guard_wake wake = { .tgid = pid_tgid >> 32 };
	struct gmt_freeze fz = { .tid = (__u32)pid_tgid }, *p;
	struct gmt_watch *w;
	void *ring;
	__u32 state;

	w = bpf_map_lookup_elem(&watched, &wake.tgid);
	if (!w || !may_freeze(regs, w->freeze_mode))
		return;
	if (bpf_map_update_elem(&freezes, &wake.tgid, &fz, BPF_NOEXIST))
		return;		/* this process froze once already */
	p = bpf_map_lookup_elem(&freezes, &wake.tgid);
	if (!p)
		return;
	state = stop_process();
	wake.ns = bpf_ktime_get_ns();
	p->ns = wake.ns;
	p->state = state;
	__sync_fetch_and_add(&freeze_count, 1);
	if (state != GMT_FROZEN)
		return;
	ring = bpf_map_lookup_elem(&guard_rbs, &wake.tgid);
	if (ring)
		bpf_ringbuf_output(ring, &wake, sizeof(wake),
				   BPF_RB_FORCE_WAKEUP);
	bpf_ringbuf_output(&guard_rb, &wake, sizeof(wake), BPF_RB_FORCE_WAKEUP);
}

static __always_inline void guard_freeze(struct pt_regs *regs, __u64 pid_tgid)
{
	if (multi)
		freeze_multi(regs, pid_tgid);
	else
		freeze_single(regs, pid_tgid);
}

/*
 * runtime.fatal / runtime.throw (s string): the message is RAX (pointer),
 * RBX (length). Every one is sent; user space decides what is a map error.
 */
static __always_inline int record_fatal(struct pt_regs *regs)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct gmt_fatal_event *f;
	struct scratch *s;
	__u32 zero = 0;
	__u64 len;

	if (!wanted(pid_tgid))
		return 0;
	s = bpf_map_lookup_elem(&scratches, &zero);
	if (!s)
		return 0;
	f = bpf_ringbuf_reserve(&events, sizeof(*f), 0);
	if (!f) {
		count_lost();
		guard_freeze(regs, pid_tgid);
		return 0;
	}
	fill_event(&f->ev, s, regs, pid_tgid, false);
	f->ev.map = 0;
	f->ev.type = 0;
	f->ev.op = GMT_OP_FATAL;
	f->ev.flags = 0;
	f->_pad = 0;
	__builtin_memset(f->msg, 0, sizeof(f->msg));
	len = regs->bx;
	if (len > GMT_FATAL_MSG_LEN - 1)
		len = GMT_FATAL_MSG_LEN - 1;
	if (len && bpf_probe_read_user(f->msg, len, (void *)regs->ax))
		len = 0;
	f->msg_len = len;
	/* The process is about to die: have the reader look now. */
	/* Stop first: when the reader wakes, the freeze is already known. */
	guard_freeze(regs, pid_tgid);
	bpf_ringbuf_submit(f, BPF_RB_FORCE_WAKEUP);
	return 0;
}

SEC("uprobe")
int fatal(struct pt_regs *regs)
{
	if (to_morestack(regs))
		return 0;
	return record_fatal(regs);
}

SEC("uprobe")
int fatal_e(struct pt_regs *regs)
{
	return record_fatal(regs);
}

/*
 * The guard's snapshot: every thread of the target (multi mode: of the
 * process user space names in snap_tgid) with the registers it
 * was stopped with (its saved user registers) and its scheduler state, so
 * user space knows when all of them have stopped.
 */
SEC("iter/task")
int snap_threads(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct gmt_thread_regs r = {};
	struct pt_regs *regs;
	__u32 tgid = multi ? snap_tgid : target_tgid;

	if (!task || !tgid || task->tgid != tgid)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return 0;
	r.tid = task->pid;
	r.state = task->__state;
	r.ip = BPF_CORE_READ(regs, ip);
	r.sp = BPF_CORE_READ(regs, sp);
	r.bp = BPF_CORE_READ(regs, bp);
	r.r14 = BPF_CORE_READ(regs, r14);
	r.ax = BPF_CORE_READ(regs, ax);
	r.bx = BPF_CORE_READ(regs, bx);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
