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

/*
 * Closing a uprobe waits for a grace period (45-135 ms each, measured
 * here under load). Closed side by side, a dozen took 0.65 s instead of
 * 1 s: the kernel serialises much of it, but not all.
 */
#define REAPERS	8

/* One queued link: a libbpf one, or a bare link fd. */
struct reap {
	struct bpf_link *l;
	int fd;
};

static int queue[2] = { -1, -1 };	/* a pipe of struct reap */
static pthread_t threads[REAPERS];
static int nthreads;

static void reap_now(const struct reap *r)
{
	if (r->l)
		bpf_link__destroy(r->l);
	else if (r->fd >= 0)
		close(r->fd);
}

static void *reaper(void *arg)
{
	struct reap r;

	(void)arg;
	while (read(queue[0], &r, sizeof(r)) == sizeof(r))
		reap_now(&r);
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
	for (ret = 0; nthreads < REAPERS && !ret; nthreads += !ret)
		ret = pthread_create(&threads[nthreads], NULL, reaper, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (nthreads)
		return 0;
	close(queue[0]);
	close(queue[1]);
	queue[0] = queue[1] = -1;
	return -1;
}

void link_reaper_stop(void)
{
	if (queue[1] < 0)
		return;
	close(queue[1]);	/* each thread ends once the queue is empty */
	queue[1] = -1;
	while (nthreads)
		pthread_join(threads[--nthreads], NULL);
	close(queue[0]);
	queue[0] = -1;
}

static void reap(const struct reap *r)
{
	/* Written whole (under PIPE_BUF); a full pipe: now. */
	if (queue[1] < 0 || write(queue[1], r, sizeof(*r)) != sizeof(*r))
		reap_now(r);
}

void link_reaper_destroy(struct bpf_link *l)
{
	struct reap r = { .l = l, .fd = -1 };

	if (l)
		reap(&r);
}

void link_reaper_close(int fd)
{
	struct reap r = { .fd = fd };

	if (fd >= 0)
		reap(&r);
}
