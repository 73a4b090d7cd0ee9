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
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "symcache.h"
#include "trace.h"
#include "trace_file.h"
#include "tracer.h"

#define POLL_MS		100
#define FLUSH_NS	1000000000ULL	/* at least every second */

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

struct rec_opts {
	pid_t pid;
	double seconds;		/* 0: until Ctrl-C or the process exits */
	const char *out;
	uint32_t ops_mask;
	uint32_t ringbuf_bytes;
};

struct rec {
	struct trace t;
	struct gobin gb;
	struct tracer *tr;
	struct trace_writer *w;
	int pidfd;
	bool fatal_pending;
	bool failed;
	uint64_t unkept;
	uint64_t last_flush;
	struct errbuf err;
};

static volatile sig_atomic_t stop_sig;

static void on_stop(int sig)
{
	stop_sig = sig;
}

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
		     "      --ops LIST       operations to trace (default "
		     "assign,delete,clear,iterate)\n"
		     "      --ringbuf-mb N   ring buffer size, a power of two "
		     "(default 64)\n");
}

/* A number in (0, max]; quiet, so each option says its own one line. */
static int to_num(const char *s, double max, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	if (errno || end == s || *end || !(*v > 0) || *v > max)
		return -1;
	return 0;
}

static int parse_num(const char *opt, const char *s, double max, double *v)
{
	if (to_num(s, max, v))
		return fail("%s '%s': give a number above 0", opt, s) + 1;
	return 0;
}

static int parse_opt(int c, struct rec_opts *o)
{
	struct errbuf err;
	double v;

	switch (c) {
	case 'p':
		if (to_num(optarg, 1 << 30, &v) || v != (pid_t)v)
			return fail("-p '%s': give a process id", optarg) + 1;
		o->pid = (pid_t)v;
		return 0;
	case 'd':
		return parse_num("-d", optarg, 1e7, &o->seconds);
	case 'o':
		o->out = optarg;
		return 0;
	case 'O':
		return trace_ops_parse(optarg, &o->ops_mask, &err) ?
		       fail("%s", err.msg) + 1 : 0;
	case 'R':
		if (to_num(optarg, 2048, &v) ||
		    v != (uint32_t)v || ((uint32_t)v & ((uint32_t)v - 1)))
			return fail("--ringbuf-mb '%s': give a power of two "
				    "from 1 to 2048", optarg) + 1;
		o->ringbuf_bytes = (uint32_t)v << 20;
		return 0;
	case 'h':
		usage(stdout);
		return -1;
	default:
		usage(stderr);
		return 2;
	}
}

static int parse_args(int argc, char **argv, struct rec_opts *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "ops", required_argument, NULL, 'O' },
		{ "ringbuf-mb", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, r;

	o->ops_mask = TRACE_DEFAULT_OPS;
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:d:o:h", longopts, NULL)) != -1)
		if ((r = parse_opt(c, o)))
			return r;
	if (optind != argc || !o->pid) {
		usage(stderr);
		return 2;
	}
	return 0;
}

static int on_event(void *ctx, const struct gmt_event *ev,
		    const struct gmt_fatal_event *fatal)
{
	struct rec *r = ctx;

	/*
	 * The probes stay in until tracer_close(), after the last drain:
	 * what fired after the end of the recording is not part of it.
	 */
	if (r->t.meta.end_ns && ev->ts_ns > r->t.meta.end_ns)
		return 0;
	if (fatal) {
		if (trace_add_gmt_fatal(&r->t, fatal))
			r->unkept++;
		r->fatal_pending = true;
		return 1;
	}
	if (trace_add_gmt_event(&r->t, ev))
		r->unkept++;
	return 0;
}

static void on_history(void *ctx, uint32_t tid, const struct gmt_history *h)
{
	struct rec *r = ctx;

	trace_add_gmt_history(&r->t, tid, h, trace_now_ns(), false);
}

/* Symbolise what is new, write it, free the events written. */
static int flush(struct rec *r)
{
	if (symcache_update(&r->t, &r->gb))
		return errbuf_set(&r->err, "out of memory symbolising");
	if (trace_writer_flush(r->w, &r->t, true, &r->err))
		return -1;
	trace_drop_events(&r->t);
	r->last_flush = trace_now_ns();
	return 0;
}

/* A crash is written at once, with every thread's last operations. */
static int save_crash(struct rec *r)
{
	r->fatal_pending = false;
	tracer_histories(r->tr, on_history, r);
	if (flush(r) || trace_writer_histories(r->w, &r->t, &r->err))
		return -1;
	return 0;
}

/*
 * The probes follow a process (its tgid): given one of its other threads,
 * they would see nothing and the trace would be silently empty.
 */
static int check_not_thread(pid_t pid, struct errbuf *err)
{
	char path[64], line[256];
	long tgid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;	/* gone: the attach will say so */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %ld", &tgid) == 1)
			break;
	fclose(f);
	if (tgid > 0 && tgid != pid)
		return errbuf_set(err, "PID %d is a thread of process %ld: "
				  "give -p %ld", (int)pid, tgid, tgid);
	return 0;
}

static bool process_gone(struct rec *r)
{
	struct pollfd p = { .fd = r->pidfd, .events = POLLIN };
	char path[64];

	if (r->pidfd >= 0)
		return poll(&p, 1, 0) > 0;
	snprintf(path, sizeof(path), "/proc/%d", (int)r->gb.pid);
	return access(path, F_OK) != 0;
}

static int poll_once(struct rec *r, int timeout_ms)
{
	int n = tracer_poll(r->tr, timeout_ms, on_event, r);

	if (r->fatal_pending && save_crash(r))
		return -1;
	if (trace_writer_pending(r->w, &r->t) >= TRACE_FILE_BATCH ||
	    trace_now_ns() - r->last_flush >= FLUSH_NS)
		if (flush(r))
			return -1;
	return n;
}

static const char *record_loop(struct rec *r, const struct rec_opts *o)
{
	uint64_t deadline = o->seconds > 0 ?
		r->t.meta.start_ns + (uint64_t)(o->seconds * 1e9) : UINT64_MAX;
	const char *why = NULL;

	while (!why) {
		uint64_t now = trace_now_ns();
		int ms = POLL_MS;

		if (deadline != UINT64_MAX && deadline - now < POLL_MS * 1000000ULL)
			ms = (deadline - now) / 1000000 + 1;
		if (poll_once(r, ms) < 0)
			return NULL;
		if (stop_sig)
			why = stop_sig == SIGINT ? "interrupted" : "stopped";
		else if (trace_now_ns() >= deadline)
			why = "time is up";
		else if (process_gone(r))
			why = "the process exited";
	}
	/* What the ring buffer holds up to now happened while traced. */
	r->t.meta.end_ns = trace_now_ns();
	while (true) {
		int n = poll_once(r, 0);

		if (n < 0)
			return NULL;
		if (!n && !r->fatal_pending)
			break;
	}
	return why;
}

static void set_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	/* No SA_RESTART: the signal must cut the poll short. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
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
 * earlier, killed recording is kept as it is.
 */
static int check_output(const char *path, struct errbuf *err)
{
	struct stat st;
	char tmp[4096];
	bool existed;
	int fd;

	/*
	 * The finished file is renamed into place, which would replace a
	 * device such as /dev/null, not write to it.
	 */
	if (!stat(path, &st)) {
		if (S_ISDIR(st.st_mode))
			return errbuf_set(err, "-o %s is a directory: give a "
					  "file name", path);
		if (!S_ISREG(st.st_mode))
			return errbuf_set(err, "-o %s is not a regular file: "
					  "give the name of a file to create",
					  path);
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.partial", path) >=
	    sizeof(tmp))
		return errbuf_set(err, "-o %s: the name is too long", path);
	existed = !access(tmp, F_OK);
	fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0)
		return errbuf_set(err, "cannot create %s: %s: give -o a file "
				  "in a writable directory", tmp,
				  strerror(errno));
	close(fd);
	if (!existed)
		unlink(tmp);
	return 0;
}

static int start(struct rec *r, const struct rec_opts *o, const char *path)
{
	struct tracer_opts to = { .pid = o->pid,
				  .ringbuf_bytes = o->ringbuf_bytes };
	size_t nslow = 0;

	for (int i = 0; i < OP__COUNT; i++)
		to.ops[i] = o->ops_mask & (1u << i);
	if (check_output(path, &r->err) ||
	    tracer_open(&r->tr, &r->gb, &to, &r->err))
		return -1;
	r->t.meta.start_ns = trace_now_ns();
	r->t.meta.wall_start_ns = trace_wall_now_ns();
	r->last_flush = r->t.meta.start_ns;
	symcache_meta(&r->t, &r->gb);
	snprintf(r->t.meta.command, sizeof(r->t.meta.command), "record");
	r->t.meta.ops_mask = o->ops_mask;
	r->t.meta.nprobes = tracer_nattached(r->tr, &nslow);
	r->t.meta.nslow = nslow;
	r->pidfd = syscall(SYS_pidfd_open, o->pid, 0);
	return trace_writer_open(&r->w, path, &r->t, &r->err);
}

/* Detach first (the process runs untraced again), then finish the file. */
static int stop(struct rec *r)
{
	r->t.lost = tracer_lost(r->tr) + r->unkept;
	tracer_close(r->tr);
	r->tr = NULL;
	if (symcache_update(&r->t, &r->gb))
		return errbuf_set(&r->err, "out of memory symbolising");
	r->t.complete = true;
	if (trace_writer_finish(r->w, &r->t, &r->err)) {
		r->w = NULL;
		return -1;
	}
	r->w = NULL;
	return 0;
}

static int record(struct rec *r, const struct rec_opts *o, const char *path)
{
	const char *why;
	uint64_t events;

	/*
	 * Caught from before the attach: a stop asked for while the probes
	 * go in ends the recording cleanly (an empty but complete file)
	 * instead of killing us halfway.
	 */
	set_signals();
	if (start(r, o, path))
		return fail("%s", r->err.msg);
	why = record_loop(r, o);
	events = r->t.dropped + r->t.nevents;
	if (!why || stop(r))
		return fail("%s", r->err.msg);
	fprintf(stderr, "gomaptrace: %s: wrote %s: %llu map operations, "
		"%llu lost, %.3f s\n", why, path, (unsigned long long)events,
		(unsigned long long)r->t.lost,
		(r->t.meta.end_ns - r->t.meta.start_ns) / 1e9);
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
	if (!r || trace_init(&r->t)) {
		free(r);
		return fail("out of memory");
	}
	r->pidfd = -1;
	if (check_not_thread(o.pid, &r->err) ||
	    gobin_open_pid(&r->gb, o.pid, &r->err)) {
		ret = fail("%s", r->err.msg);
		trace_free(&r->t);
		free(r);
		return ret;
	}
	if (!o.out)
		default_name(name, sizeof(name), o.pid);
	ret = record(r, &o, o.out ? o.out : name);
	tracer_close(r->tr);
	trace_writer_abort(r->w);
	if (r->pidfd >= 0)
		close(r->pidfd);
	gobin_close(&r->gb);
	trace_free(&r->t);
	free(r);
	return ret;
}
