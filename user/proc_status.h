/* SPDX-License-Identifier: MIT */
#ifndef GMT_PROC_STATUS_H
#define GMT_PROC_STATUS_H

#include <sys/types.h>

/* What /proc/PID/status says of a process that gomaptrace needs. */
struct proc_status {
	pid_t tgid;	/* its thread group: pid itself unless a thread */
	pid_t nspid;	/* in its innermost PID namespace (NSpid's last) */
};

/* 0, or -1 when the process is gone (or the file is unreadable). */
int proc_status_read(pid_t pid, struct proc_status *st);

#endif
