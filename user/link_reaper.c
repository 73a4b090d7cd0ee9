// SPDX-License-Identifier: MIT
/* Uprobe links destroyed off the main thread (link_reaper.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "link_reaper.h"

static int queue[2] = { -1, -1 };	/* a pipe of struct bpf_link * */
static pthread_t thread;

static void *reaper(void *arg)
{
	struct bpf_link *l;

	(void)arg;
	while (read(queue[0], &l, sizeof(l)) == sizeof(l))
		bpf_link__destroy(l);
	return NULL;
}

int link_reaper_start(void)
{
	sigset_t all, old;
	int ret;

	if (queue[1] >= 0)
		return 0;
	if (pipe2(queue, O_CLOEXEC))
		return -1;
	fcntl(queue[1], F_SETFL, O_NONBLOCK);
	/* Signals stay the main thread's (its signalfd). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = pthread_create(&thread, NULL, reaper, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		close(queue[0]);
		close(queue[1]);
		queue[0] = queue[1] = -1;
		return -1;
	}
	return 0;
}

void link_reaper_stop(void)
{
	if (queue[1] < 0)
		return;
	close(queue[1]);	/* the thread ends once the queue is empty */
	queue[1] = -1;
	pthread_join(thread, NULL);
	close(queue[0]);
	queue[0] = -1;
}

void link_reaper_destroy(struct bpf_link *l)
{
	if (!l)
		return;
	/* A pointer is written whole (under PIPE_BUF); a full pipe: now. */
	if (queue[1] < 0 || write(queue[1], &l, sizeof(l)) != sizeof(l))
		bpf_link__destroy(l);
}
