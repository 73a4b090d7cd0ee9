// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's process discovery: every successful exec on the host sends
 * the new image's tgid (as the host sees it) to user space, which decides
 * (one ELF check per binary) whether it is a Go program to guard. Nothing
 * polls /proc. One tracepoint hit per exec: no cost to running programs.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "exec_event.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
} execs SEC(".maps");

/* Execs the ring buffer had no room for: user space then rescans /proc. */
__u64 lost_execs;

/* BTF-typed: attached without tracefs, which hosts may not mount. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	struct gmt_exec_event *e;

	e = bpf_ringbuf_reserve(&execs, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost_execs, 1);
		return 0;
	}
	e->tgid = bpf_get_current_pid_tgid() >> 32;
	e->ts_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
