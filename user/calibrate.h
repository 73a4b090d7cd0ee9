/* SPDX-License-Identifier: MIT */
#ifndef GMT_CALIBRATE_H
#define GMT_CALIBRATE_H

#include "errbuf.h"

/*
 * What one map-operation probe hit costs on this host, in nanoseconds of
 * the probed thread's time: gomaptrace's own program (stack walk, map
 * header read, ring-buffer record) on a uprobe at a function of our own,
 * attached as the daemon attaches it, with the caches refilled by other
 * data and code before each call, timed against the same calls unprobed. Hosts differ tenfold
 * (DESIGN-NOTES §1), so the daemon's budget rests on this, measured at
 * start. 0, or -1 with err set.
 */
int calibrate_hit_ns(double *ns, struct errbuf *err);

#endif
