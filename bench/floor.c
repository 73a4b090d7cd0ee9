// SPDX-License-Identifier: MIT
/*
 * floor BINARY FILE_OFFSET -- CMD [ARGS...]: start CMD with bench/floor.bpf.c
 * attached at FILE_OFFSET of BINARY, in the same way gomaptrace run does
 * (the child waits on a pipe until the probe is in place, then execs),
 * and report the hits on stderr once it exits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "floor.skel.h"

static pid_t start_stopped(char **argv, int *go_fd)
{
	int fds[2];
	pid_t pid;
	char c;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid)
		goto parent;
	close(fds[1]);
	if (read(fds[0], &c, 1) != 1)
		_exit(127);
	execvp(argv[0], argv);
	fprintf(stderr, "floor: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
parent:
	close(fds[0]);
	*go_fd = fds[1];
	return pid;
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo);
	struct floor_bpf *skel;
	struct bpf_link *link;
	int go_fd, status;
	long offset;
	pid_t pid;

	if (argc < 5 || strcmp(argv[3], "--")) {
		fprintf(stderr, "usage: floor BINARY FILE_OFFSET -- CMD [ARGS]\n");
		return 2;
	}
	offset = strtol(argv[2], NULL, 0);
	skel = floor_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "floor: cannot load the BPF program\n");
		return 1;
	}
	pid = start_stopped(argv + 4, &go_fd);
	if (pid < 0)
		return 1;
	link = bpf_program__attach_uprobe_opts(skel->progs.floor_hit, pid,
					       argv[1], offset, &uo);
	if (!link) {
		fprintf(stderr, "floor: cannot attach at %s+%#lx: %s\n",
			argv[1], offset, strerror(errno));
		kill(pid, SIGKILL);
		return 1;
	}
	if (write(go_fd, "g", 1) != 1)
		return 1;
	close(go_fd);
	if (waitpid(pid, &status, 0) != pid)
		return 1;
	fprintf(stderr, "floor: %llu hits\n", (unsigned long long)skel->bss->hits);
	bpf_link__destroy(link);
	floor_bpf__destroy(skel);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
