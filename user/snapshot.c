// SPDX-License-Identifier: MIT
/* The crash guard's snapshots in the trace (user/snapshot.h). */
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"
#include "trace.h"

int trace_add_freeze(struct trace *t, const struct trace_freeze *f)
{
	struct trace_freeze *p, *n;

	p = realloc(t->freezes, (t->nfreezes + 1) * sizeof(*p));
	if (!p)
		return -1;
	t->freezes = p;
	n = &p[t->nfreezes];
	*n = *f;
	n->threads = NULL;
	n->nthreads = 0;
	if (f->nthreads) {
		n->threads = malloc(f->nthreads * sizeof(*n->threads));
		if (!n->threads)
			return -1;
		memcpy(n->threads, f->threads,
		       f->nthreads * sizeof(*n->threads));
		n->nthreads = f->nthreads;
	}
	n->msg[sizeof(n->msg) - 1] = '\0';
	t->nfreezes++;
	return 0;
}

void trace_free_freezes(struct trace *t)
{
	for (size_t i = 0; i < t->nfreezes; i++)
		free(t->freezes[i].threads);
	free(t->freezes);
	t->freezes = NULL;
	t->nfreezes = 0;
}

const char *snap_status_name(uint32_t status)
{
	static const char *const names[] = {
		[SNAP_NONE] = "none",
		[SNAP_FROZEN] = "frozen",
		[SNAP_NOT_FROZEN_DEBUGGER] = "not frozen: under a debugger",
		[SNAP_NOT_FROZEN_MODE] = "not frozen: not a map error",
		[SNAP_NOT_FROZEN_FAILED] = "not frozen: the stop failed",
		[SNAP_RELEASED_EARLY] = "frozen, released by the watchdog "
					"before the snapshot was done",
		[SNAP_DISABLED] = "not frozen: freezing is off",
	};

	if (status >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[status];
}
