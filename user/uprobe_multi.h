/* SPDX-License-Identifier: MIT */
#ifndef GMT_UPROBE_MULTI_H
#define GMT_UPROBE_MULTI_H

#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

/* Not in libbpf 1.1's enum; the kernel's since 6.6. */
#define ATTACH_UPROBE_MULTI	48

/*
 * One uprobe_multi link of prog_fd (loaded with expected attach type
 * ATTACH_UPROBE_MULTI) at n file offsets of path, each with its cookie,
 * firing in process pid only. libbpf 1.1 has no call for it, so the link
 * is made with BPF_LINK_CREATE directly. The link's fd, or -1 with errno.
 */
int uprobe_multi_link(int prog_fd, const char *path, pid_t pid,
		      const unsigned long *offsets, const __u64 *cookies,
		      size_t n);

#endif
