// SPDX-License-Identifier: MIT
/* Process discovery for the daemon (proc_watch.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h>
#include <bpf/libbpf.h>

#include "exec_event.h"
#include "gmt_exec.skel.h"
#include "proc_watch.h"

struct proc_watch {
	struct gmt_exec_bpf *skel;
	struct ring_buffer *rb;
	proc_fn fn;
	void *ctx;
	uint64_t lost_seen;
};

static int on_exec(void *ctx, void *data, size_t size)
{
	struct proc_watch *pw = ctx;
	const struct gmt_exec_event *e = data;

	if (size >= sizeof(*e) && e->tgid)
		pw->fn(pw->ctx, (pid_t)e->tgid);
	return 0;
}

int proc_watch_open(struct proc_watch **out, struct errbuf *err)
{
	struct proc_watch *pw = calloc(1, sizeof(*pw));
	int e;

	*out = NULL;
	if (!pw)
		return errbuf_set(err, "out of memory");
	pw->skel = gmt_exec_bpf__open_and_load();
	if (!pw->skel) {
		e = errno;
		free(pw);
		if (e == EPERM || e == EACCES)
			return errbuf_set(err, "no permission to load BPF "
					  "programs: run as root (or with "
					  "CAP_BPF and CAP_PERFMON)");
		return errbuf_set(err, "cannot load the exec watcher: %s",
				  strerror(e));
	}
	if (gmt_exec_bpf__attach(pw->skel)) {
		e = errno;
		proc_watch_close(pw);
		return errbuf_set(err, "cannot attach to the "
				  "sched_process_exec tracepoint: %s",
				  strerror(e));
	}
	pw->rb = ring_buffer__new(bpf_map__fd(pw->skel->maps.execs), on_exec,
				  pw, NULL);
	if (!pw->rb) {
		proc_watch_close(pw);
		return errbuf_set(err, "cannot read the exec ring buffer");
	}
	*out = pw;
	return 0;
}

int proc_watch_fd(const struct proc_watch *pw)
{
	return ring_buffer__epoll_fd(pw->rb);
}

int proc_watch_drain(struct proc_watch *pw, proc_fn fn, void *ctx,
		     bool *rescan)
{
	uint64_t lost = pw->skel->bss->lost_execs;
	int n;

	pw->fn = fn;
	pw->ctx = ctx;
	n = ring_buffer__consume(pw->rb);
	if (lost != pw->lost_seen) {
		pw->lost_seen = lost;
		*rescan = true;
	}
	return n < 0 ? -1 : 0;
}

void proc_watch_close(struct proc_watch *pw)
{
	if (!pw)
		return;
	ring_buffer__free(pw->rb);
	gmt_exec_bpf__destroy(pw->skel);
	free(pw);
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

void proc_scan(proc_fn fn, void *ctx)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();

	if (!d)
		return;
	while ((de = readdir(d))) {
		long pid;

		if (!all_digits(de->d_name) || strlen(de->d_name) > 9)
			continue;
		pid = strtol(de->d_name, NULL, 10);
		if (pid > 0 && pid != self)
			fn(ctx, (pid_t)pid);
	}
	closedir(d);
}
