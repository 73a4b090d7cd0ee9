// SPDX-License-Identifier: GPL-2.0
/*
 * The floor of bench/run.sh: the least a BPF uprobe can do, one counter
 * bump, so that what it costs is the kernel's uprobe path and nothing else.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

__u64 hits = 0;

SEC("uprobe")
int floor_hit(void *ctx)
{
	hits++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
