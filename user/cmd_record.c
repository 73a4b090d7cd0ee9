// SPDX-License-Identifier: MIT
/*
 * `gomaptrace record -p PID`: attach to a live process, stream its map
 * operations to a trace file, detach. The file grows chunk by chunk
 * (symbols first, while the binary is at hand), so a recording killed
 * midway still leaves a readable FILE.partial; FILE itself appears only
 * when the recording is complete. The process keeps running: detaching
 * removes every probe, and the kernel does the same if we die.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "safe_file.h"
#include "session.h"
#include "symcache.h"
#include "trace_file.h"

#define POLL_MS		100
#define FLUSH_NS	1000000000ULL	/* at least every second */

struct rec_opts {
	pid_t pid;
	double seconds;		/* 0: until Ctrl-C or the process exits */
	const char *out;
	struct cli_trace_opts tr;
};

struct rec {
	struct session s;
	struct trace_writer *w;
	uint32_t crashes_saved;	/* s.crashes already in the file */
	uint64_t last_flush;
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: gomaptrace record -p PID [-d SECONDS] [-o FILE]"
		     "\n\nTraces a running Go process and writes a trace file "
		     "for 'gomaptrace report'.\nStops after SECONDS, on "
		     "Ctrl-C or SIGTERM, or when the process exits; the\n"
		     "process keeps running, untouched.\n\n"
		     "  -p, --pid PID        the process\n"
		     "  -d, --duration SECS  how long (default: until "
		     "stopped)\n"
		     "  -o, --output FILE    default "
		     "gomaptrace-PID-YYYYmmdd-HHMMSS.gmt\n"
		     CLI_OPS_HELP CLI_RINGBUF_HELP
		     CLI_GUARD_HELP
		     CLI_VERBOSE_HELP
		     CLI_HELP_HELP "\n"
		     "Examples:\n"
		     "  gomaptrace record -p 1234 -d 10 -o server.gmt\n"
		     "  gomaptrace record -p 1234 --ops assign,delete\n"
		     "  gomaptrace report server.gmt\n");
}

static int parse_opt(int c, const char *arg, void *ctx)
{
	struct rec_opts *o = ctx;

	switch (c) {
	case 'p':
		return cli_pid("-p", arg, &o->pid);
	case 'd':
		return cli_seconds("-d", arg, 1e7, &o->seconds);
	case 'o':
		o->out = arg;
		return 0;
	default:
		return cli_trace_opt(c, arg, &o->tr);
	}
}

static int parse_args(int argc, char **argv, struct rec_opts *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "ringbuf-mb", required_argument, NULL, 'R' },
		CLI_GUARD_LONGOPTS,
		CLI_TRACE_LONGOPTS,
		{ 0 },
	};
	static const struct cli_cmd cmd = { "record", ":p:d:o:hv", longopts,
					    usage };

	cli_trace_opts_init(&o->tr);
	return cli_parse(&cmd, argc, argv, parse_opt, o) ?:
	       cli_need_pid(&cmd, argc, argv, o->pid);
}

/* Symbolise what is new, write it, free the events written. */
static int flush(struct rec *r)
{
	struct session *s = &r->s;

	if (symcache_update(&s->t, &s->gb))
		return errbuf_set(&s->err, "out of memory symbolising");
	if (trace_writer_flush(r->w, &s->t, true, &s->err))
		return -1;
	trace_drop_events(&s->t);
	r->last_flush = trace_now_ns();
	return 0;
}

/*
 * A crash is written at once, with every thread's last operations (the
 * session read them as the fatal record came).
 */
static int save_crash(struct rec *r)
{
	r->crashes_saved = r->s.crashes;
	if (flush(r) || trace_writer_histories(r->w, &r->s.t, &r->s.err))
		return -1;
	return 0;
}

static int poll_once(struct rec *r, int timeout_ms)
{
	int n = session_poll(&r->s, timeout_ms);

	if (n < 0)
		return -1;
	if (r->s.crashes != r->crashes_saved && save_crash(r))
		return -1;
	if (trace_writer_pending(r->w, &r->s.t) >= TRACE_FILE_BATCH ||
	    trace_now_ns() - r->last_flush >= FLUSH_NS)
		if (flush(r))
			return -1;
	return n;
}

static const char *record_loop(struct rec *r, const struct rec_opts *o)
{
	uint64_t deadline = o->seconds > 0 ?
		r->s.t.meta.start_ns + (uint64_t)(o->seconds * 1e9) : UINT64_MAX;
	const char *why = NULL;

	while (!why) {
		uint64_t now = trace_now_ns();
		int ms = POLL_MS;

		if (deadline != UINT64_MAX && deadline - now < POLL_MS * 1000000ULL)
			ms = (deadline - now) / 1000000 + 1;
		if (poll_once(r, ms) < 0)
			return NULL;
		if (session_stop)
			why = session_stop == SIGINT ? "interrupted" :
			      "stopped";
		else if (trace_now_ns() >= deadline)
			why = "time is up";
		else if (session_target_gone(&r->s))
			why = "the process exited";
	}
	/*
	 * What the ring buffer holds up to now happened while traced; the
	 * session keeps nothing from after this end.
	 */
	r->s.t.meta.end_ns = trace_now_ns();
	while (true) {
		int n = poll_once(r, 0);

		if (n < 0)
			return NULL;
		if (!n)
			break;
	}
	return why;
}

static void default_name(char *buf, size_t len, pid_t pid)
{
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32];

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	snprintf(buf, len, "gomaptrace-%d-%s.gmt", (int)pid, stamp);
}

/*
 * Before a single probe goes in, make sure the trace can be written where
 * asked: a bad -o must not cost the process an attach and a detach. The
 * trial is on PATH.partial, the name the writer will use; one left by an
 * earlier, killed recording is kept until the writer replaces it. A
 * symlink at either name is refused (include/safe_file.h).
 */
static int check_output(const char *path, struct errbuf *err)
{
	char tmp[4096], why[sizeof(err->msg)];

	/*
	 * The finished file is renamed into place, which would replace a
	 * device such as /dev/null, not write to it: only a regular file or
	 * nothing may be at PATH.
	 */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.partial", path) >=
	    sizeof(tmp))
		return errbuf_set(err, "-o %s: the name is too long", path);
	if (!safe_check_final(path, err) && !safe_try_create(tmp, err))
		return 0;
	memcpy(why, err->msg, sizeof(why));
	return errbuf_set(err, "-o: %s", why);
}

static int start(struct rec *r, const struct rec_opts *o, const char *path)
{
	struct session_opts so = { .pid = o->pid, .ops_mask = o->tr.ops_mask,
				   .ringbuf_bytes = o->tr.ringbuf_bytes,
				   .command = "record", .guard = true,
				   .freeze = o->tr.freeze };

	if (check_output(path, &r->s.err) || session_attach(&r->s, &so))
		return -1;
	/* Events go to the file and are freed: keep no per-map table. */
	r->s.t.no_map_table = true;
	r->last_flush = r->s.t.meta.start_ns;
	return trace_writer_open(&r->w, path, &r->s.t, &r->s.err);
}

/* Detach first (the process runs untraced again), then finish the file. */
static int stop(struct rec *r)
{
	struct session *s = &r->s;
	int ret;

	session_detach(s);
	if (symcache_update(&s->t, &s->gb))
		return errbuf_set(&s->err, "out of memory symbolising");
	ret = trace_writer_finish(r->w, &s->t, &s->err);
	r->w = NULL;	/* finished or not, the writer is gone */
	return ret;
}

static int record(struct rec *r, const struct rec_opts *o, const char *path)
{
	const struct trace *t = &r->s.t;
	const char *why;
	uint64_t events;

	/*
	 * Caught from before the attach: a stop asked for while the probes
	 * go in ends the recording cleanly (an empty but complete file)
	 * instead of killing us halfway.
	 */
	session_catch_signals();
	if (start(r, o, path))
		return fail("%s", r->s.err.msg);
	why = record_loop(r, o);
	events = t->dropped + t->nevents;
	if (!why || stop(r))
		return fail("%s", r->s.err.msg);
	fprintf(stderr, "gomaptrace: %s: wrote %s: %llu map operations, "
		"%llu lost, %.3f s\n", why, path, (unsigned long long)events,
		(unsigned long long)t->lost,
		(t->meta.end_ns - t->meta.start_ns) / 1e9);
	return 0;
}

int cmd_record(int argc, char **argv)
{
	struct rec_opts o = { 0 };
	struct rec *r;
	char name[256];
	int ret;

	ret = parse_args(argc, argv, &o);
	if (ret)
		return ret < 0 ? 0 : ret;
	r = calloc(1, sizeof(*r));
	if (!r)
		return fail("out of memory");
	if (session_open_binary(&r->s, o.pid)) {
		ret = fail("%s", r->s.err.msg);
		goto out;
	}
	if (!o.out)
		default_name(name, sizeof(name), o.pid);
	ret = record(r, &o, o.out ? o.out : name);
out:
	session_close(&r->s);	/* detaches first, if still attached */
	trace_writer_abort(r->w);
	free(r);
	return ret;
}
