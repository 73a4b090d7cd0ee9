/* SPDX-License-Identifier: MIT */
#ifndef GMT_LINK_REAPER_H
#define GMT_LINK_REAPER_H

struct bpf_link;

/*
 * Detaching a uprobe waits for the kernel's RCU grace period: up to 0.2 s
 * per link on a loaded host, measured here. The daemon detaches links all
 * the time (duty-cycling) and must answer a frozen process within the
 * freeze's bound, so it hands them to threads of their own. Without
 * link_reaper_start() (the on-call commands), links are destroyed at once.
 */
int link_reaper_start(void);
/*
 * Waits for every queued link to be destroyed (what the kernel would do
 * at our exit anyway), then ends the thread.
 */
void link_reaper_stop(void);
/* Destroys l now, or queues it for the reaper threads. */
void link_reaper_destroy(struct bpf_link *l);
/* The same for a link held as a bare fd (tracer.c's uprobe_multi). */
void link_reaper_close(int fd);

#endif
