// SPDX-License-Identifier: MIT
/* One symbol table and one BPF object per Go binary (bingroup.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bingroup.h"

/* /proc/PID/exe, opened, and still the file it was classified as. */
static int open_checked(pid_t pid, const struct bin_id *id,
			struct errbuf *err)
{
	char path[64];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errbuf_set(err, "PID %d: %s: %s", (int)pid, path,
				  strerror(errno));
	if (fstat(fd, &st) || st.st_dev != id->dev || st.st_ino != id->ino) {
		close(fd);
		return errbuf_set(err, "PID %d ran another binary meanwhile",
				  (int)pid);
	}
	return fd;
}

static void group_free(struct bingroup *g)
{
	tracer_close(g->tr);
	gobin_close(&g->gb);
	if (g->fd >= 0)
		close(g->fd);
	free(g);
}

static struct bingroup *group_new(const struct bin_id *id, pid_t pid,
				  struct tracer_ring *ring, struct errbuf *err)
{
	struct tracer_opts to = { .multi = true, .ring = ring };
	struct bingroup *g = calloc(1, sizeof(*g));
	char path[64];

	if (!g) {
		errbuf_set(err, "out of memory");
		return NULL;
	}
	g->id = *id;
	g->fd = open_checked(pid, id, err);
	if (g->fd < 0)
		goto fail;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", g->fd);
	tracer_opts_set_ops(&to, 1u << GMT_OP_FATAL);
	if (gobin_open_path(&g->gb, path, err) ||
	    tracer_open(&g->tr, &g->gb, &to, err))
		goto fail;
	return g;
fail:
	group_free(g);
	return NULL;
}

struct bingroup *bingroup_get(struct bingroup **list, const struct bin_id *id,
			      pid_t pid, struct tracer_ring *ring,
			      struct errbuf *err)
{
	struct bingroup *g;

	for (g = *list; g; g = g->next) {
		if (g->id.dev == id->dev && g->id.ino == id->ino) {
			g->users++;
			return g;
		}
	}
	g = group_new(id, pid, ring, err);
	if (!g)
		return NULL;
	g->users = 1;
	g->next = *list;
	*list = g;
	return g;
}

void bingroup_put(struct bingroup **list, struct bingroup *g)
{
	if (!g || --g->users)
		return;
	for (struct bingroup **p = list; *p; p = &(*p)->next) {
		if (*p == g) {
			*p = g->next;
			break;
		}
	}
	group_free(g);
}

size_t bingroup_count(const struct bingroup *list)
{
	size_t n = 0;

	for (; list; list = list->next)
		n++;
	return n;
}
