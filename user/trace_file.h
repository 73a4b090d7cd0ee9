/* SPDX-License-Identifier: MIT */
#ifndef GMT_TRACE_FILE_H
#define GMT_TRACE_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"
#include "trace.h"

/*
 * Trace files (docs/trace-format.md): a header, then self-contained,
 * CRC-checked, zlib-compressed chunks, so a file cut anywhere (the tool
 * killed, the disk full) is readable up to its last complete chunk, and
 * the symbols it carries make it reportable without the binary.
 */
#define TRACE_FILE_MAGIC	"GMTRACE\0"
#define TRACE_FILE_VERSION	1

/*
 * Load a trace into t (trace_init()'ed, empty). Returns -1 with err set
 * when the bytes are not a usable trace (not a trace file, another version,
 * cut before its first chunk). Returns 0 otherwise; then warn->msg is ""
 * unless the file was cut short or damaged, in which case t holds every
 * chunk before the damage and warn says what happened, in one line.
 * name is what the messages call the file.
 */
int trace_load_mem(struct trace *t, const uint8_t *data, size_t size,
		   const char *name, struct errbuf *err, struct errbuf *warn);
int trace_load_path(struct trace *t, const char *path, struct errbuf *err,
		    struct errbuf *warn);

/*
 * The same, a chunk at a time: after each events chunk fn is called with
 * the chunk's events at t->events[first .. t->nevents); it may drop them
 * (shrink t->nevents) so memory stays bounded. Non-zero from fn stops the
 * load as a malformed chunk would. The warnings count every event read.
 */
typedef int (*trace_events_fn)(struct trace *t, size_t first, void *ctx);
int trace_stream_path(struct trace *t, const char *path, trace_events_fn fn,
		      void *ctx, struct errbuf *err, struct errbuf *warn);

/*
 * Streaming writer. It writes to PATH.partial and renames it to PATH in
 * trace_writer_finish(), so PATH only ever names a finished trace; a
 * recording killed midway leaves PATH.partial, readable up to its last
 * chunk. Each flush writes what t gained since the last one: new stacks,
 * symbols, named types, then events (in chunks of TRACE_FILE_BATCH), then
 * new fatal records, so every prefix of the file is self-sufficient.
 */
#define TRACE_FILE_BATCH	65536

struct trace_writer;

int trace_writer_open(struct trace_writer **out, const char *path,
		      const struct trace *t, struct errbuf *err);
/* Writes what is new; with all false, keeps back a last partial batch. */
int trace_writer_flush(struct trace_writer *w, const struct trace *t,
		       bool all, struct errbuf *err);
/* Every history t holds (a later chunk replaces a tid's earlier one). */
int trace_writer_histories(struct trace_writer *w, const struct trace *t,
			   struct errbuf *err);
/* Events in t not yet written. */
size_t trace_writer_pending(const struct trace_writer *w,
			    const struct trace *t);
/* Flush all, histories, trailer; close and rename. Frees w either way. */
int trace_writer_finish(struct trace_writer *w, const struct trace *t,
			struct errbuf *err);
/* Close without a trailer, leaving PATH.partial as it is. Frees w. */
void trace_writer_abort(struct trace_writer *w);

/*
 * Before the work that fills it: refuses what trace_writer_open would at
 * PATH or PATH.partial (a planted symlink, a directory) and makes sure
 * PATH.partial can be created (a trial, removed again).
 */
int trace_writer_check(const char *path, struct errbuf *err);

/* The whole trace in one go: open, flush, finish. */
int trace_write_path(const struct trace *t, const char *path,
		     struct errbuf *err);

#endif
