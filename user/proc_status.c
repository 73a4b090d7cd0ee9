// SPDX-License-Identifier: MIT
/* The fields of /proc/PID/status gomaptrace reads (proc_status.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc_status.h"

/* The last number of a field's line (NSpid: one per namespace level). */
static pid_t last_number(const char *p)
{
	pid_t last = 0;
	char *end;

	for (;; p = end) {
		long v = strtol(p, &end, 10);

		if (end == p)
			return last;
		last = (pid_t)v;
	}
}

int proc_status_read(pid_t pid, struct proc_status *st)
{
	char path[64], line[512];
	FILE *f;

	st->tgid = 0;
	st->nspid = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Tgid:", 5))
			st->tgid = last_number(line + 5);
		else if (!strncmp(line, "NSpid:", 6))
			st->nspid = last_number(line + 6);
	}
	fclose(f);
	return 0;
}
