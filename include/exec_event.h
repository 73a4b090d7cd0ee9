/* SPDX-License-Identifier: MIT */
#ifndef GMT_EXEC_EVENT_H
#define GMT_EXEC_EVENT_H

/*
 * Include vmlinux.h (BPF) or <linux/types.h> (user space) first.
 */

/* One exec seen by bpf/gmt_exec.bpf.c (user/proc_watch.c reads it). */
struct gmt_exec_event {
	__u32 tgid;		/* in the initial PID namespace */
	__u32 _pad;
	__u64 ts_ns;		/* bpf_ktime_get_ns() */
};

#endif
