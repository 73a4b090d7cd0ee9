// SPDX-License-Identifier: MIT
/* uprobe_multi links without libbpf's help (uprobe_multi.h). */
#include <stdint.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>

#include "uprobe_multi.h"

/* The layout of union bpf_attr's link_create for uprobe_multi (6.6). */
struct umulti_attr {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__u64 path;
	__u64 offsets;
	__u64 ref_ctr_offsets;
	__u64 cookies;
	__u32 cnt;
	__u32 umulti_flags;
	__u32 pid;
	__u32 _pad;
};

int uprobe_multi_link(int prog_fd, const char *path, pid_t pid,
		      const unsigned long *offsets, const __u64 *cookies,
		      size_t n)
{
	struct umulti_attr a = {
		.prog_fd = (__u32)prog_fd,
		.attach_type = ATTACH_UPROBE_MULTI,
		.path = (__u64)(uintptr_t)path,
		.offsets = (__u64)(uintptr_t)offsets,
		.cookies = (__u64)(uintptr_t)cookies,
		.cnt = (__u32)n,
		.pid = (__u32)pid,
	};

	return (int)syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
}
