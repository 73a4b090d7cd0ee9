// SPDX-License-Identifier: MIT
/*
 * `gomaptrace run -- CMD [ARGS...]`: start a Go program with the probes in
 * place before any of its code runs, trace it until it exits or crashes,
 * then report.
 *
 * The child asks to be traced (PTRACE_TRACEME) and execs; the kernel stops
 * it at its first instruction after the exec. There the new image is
 * mapped (so a PIE's load bias can be read) and not one instruction of Go
 * has run: the probes are attached, and the child is released (detached)
 * to run untouched. Where ptrace is refused (gomaptrace itself under a
 * debugger, a seccomp policy), the child instead waits on a pipe while the
 * probes are attached to it before its exec.
 *
 * The program keeps gomaptrace's stdin, stdout, stderr, environment and
 * process group, so Ctrl-C reaches it as usual; gomaptrace ignores SIGINT
 * and SIGQUIT meanwhile so it lives to write the report. gomaptrace's exit
 * status is the program's (128 + signal when it was killed).
 */
#define _GNU_SOURCE	/* pipe2 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "report.h"
#include "symcache.h"
#include "trace.h"
#include "trace_file.h"
#include "tracer.h"

#define POLL_MS		100

extern char **environ;

struct run_opts {
	const char *out;
	const char *trace_path;
	const struct report_format *fmt;
	struct report_opts report;
	uint32_t ops_mask;
	uint32_t ringbuf_bytes;
};

struct run_ctx {
	struct trace *t;
	struct tracer *tr;
	bool fatal_pending;
	uint64_t unkept;	/* records we could not store (memory) */
};

static volatile pid_t child_pid;
static uint64_t attached_ns;	/* when the probes went in */

/* SIGTERM/SIGHUP to gomaptrace are meant for the program: pass them on. */
static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: gomaptrace run [OPTIONS] -- CMD [ARGS...]\n\n"
		     "Starts CMD with map tracing from its first instruction "
		     "and reports\nwhen it exits or crashes. Exits with CMD's "
		     "status.\n\n"
		     "  -o, --output FILE    write the report to FILE instead "
		     "of stdout\n"
		     "  -f, --format FMT     %s (default text)\n"
		     "  -t, --trace FILE     also write a trace file for "
		     "'gomaptrace report'\n"
		     "      --ops LIST       operations to trace (default "
		     "assign,delete,clear,iterate;\n"
		     "                       also iter_next)\n"
		     "      --ringbuf-mb N   ring buffer size, a power of two "
		     "(default 64)\n"
		     REPORT_OPTS_HELP, report_format_list());
}

static int parse_ringbuf_mb(const char *s, uint32_t *bytes)
{
	char *end;
	unsigned long mb;

	errno = 0;
	mb = strtoul(s, &end, 10);
	if (errno || end == s || *end || !mb || mb > 2048 || (mb & (mb - 1)))
		return fail("--ringbuf-mb '%s': give a power of two from 1 to "
			    "2048", s);
	*bytes = (uint32_t)(mb << 20);
	return 0;
}

static int parse_args(int argc, char **argv, struct run_opts *o)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "trace", required_argument, NULL, 't' },
		{ "ops", required_argument, NULL, 'O' },
		{ "ringbuf-mb", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		REPORT_LONGOPTS,
		{ 0 },
	};
	struct errbuf err;
	int c;

	o->fmt = report_format_find("text");
	o->report.color = true;
	o->ops_mask = TRACE_DEFAULT_OPS;
	optind = 1;
	/* '+': stop at CMD, its own options are not ours. */
	while ((c = getopt_long(argc, argv, "+o:f:t:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'o':
			o->out = optarg;
			break;
		case 'f':
			o->fmt = report_format_find(optarg);
			if (!o->fmt)
				return fail("unknown format '%s': use one of "
					    "%s", optarg,
					    report_format_list()) + 1;
			break;
		case 't':
			o->trace_path = optarg;
			break;
		case 'O':
			if (trace_ops_parse(optarg, &o->ops_mask, &err))
				return fail("%s", err.msg) + 1;
			break;
		case 'R':
			if (parse_ringbuf_mb(optarg, &o->ringbuf_bytes))
				return 2;
			break;
		case 'h':
			usage(stdout);
			return -1;
		case REPORT_OPT_TOP:
		case REPORT_OPT_WEIGHT:
		case REPORT_OPT_ALL:
			if (report_parse_opt(c, optarg, &o->report))
				return 2;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	return 0;
}

/* CMD as execvp would find it, so the binary we read is the one run. */
static int resolve(const char *cmd, char *path, size_t len)
{
	const char *env = getenv("PATH"), *p;
	struct stat st;

	if (strchr(cmd, '/')) {
		snprintf(path, len, "%s", cmd);
		return 0;
	}
	for (p = env ? env : "/usr/local/bin:/usr/bin:/bin"; p; ) {
		size_t n = strcspn(p, ":");

		snprintf(path, len, "%.*s%s%s", (int)n, p, n ? "/" : "", cmd);
		if (!stat(path, &st) && S_ISREG(st.st_mode) &&
		    !access(path, X_OK))
			return 0;
		p = p[n] ? p + n + 1 : NULL;
	}
	return fail("%s: command not found in PATH", cmd);
}

/*
 * The dispositions we started with, which the program inherits: an
 * ignored signal stays ignored across exec, so ours must be undone.
 */
static const int handled[] = { SIGINT, SIGQUIT, SIGTERM, SIGHUP };
static struct sigaction saved[4];

static void save_signals(void)
{
	for (int i = 0; i < 4; i++)
		sigaction(handled[i], NULL, &saved[i]);
}

static void restore_signals(void)
{
	for (int i = 0; i < 4; i++)
		sigaction(handled[i], &saved[i], NULL);
}

/* While the program runs: Ctrl-C is its; SIGTERM/SIGHUP are passed on. */
static void set_signals(void)
{
	struct sigaction fwd = { .sa_handler = forward_signal,
				 .sa_flags = SA_RESTART };
	struct sigaction ign = { .sa_handler = SIG_IGN };

	sigemptyset(&fwd.sa_mask);
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, NULL);
	sigaction(SIGQUIT, &ign, NULL);
	sigaction(SIGTERM, &fwd, NULL);
	sigaction(SIGHUP, &fwd, NULL);
}

/*
 * The child: ask to be traced, tell the parent whether that worked, wait
 * for its go-ahead if not, exec. An exec failure is reported as errno on
 * the status pipe, which the exec otherwise closes (O_CLOEXEC).
 */
__attribute__((noreturn))
static void child(int status_fd, int go_fd, const char *path, char **argv)
{
	char c = 'N';
	int e;

	/* GOMAPTRACE_NO_PTRACE=1 takes the fallback path (tests use it). */
	if (!getenv("GOMAPTRACE_NO_PTRACE") &&
	    !ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		c = 'T';

	restore_signals();

	if (write(status_fd, &c, 1) != 1)
		_exit(127);
	if (c == 'N' && read(go_fd, &c, 1) != 1)
		_exit(127);
	execve(path, argv, environ);
	e = errno;
	if (write(status_fd, &e, sizeof(e)) != sizeof(e))
		_exit(127);
	_exit(127);
}

/* EOF on the status pipe: the exec happened; else its errno. */
static int exec_result(int status_fd)
{
	int e = 0;
	ssize_t n;

	do
		n = read(status_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	return n == sizeof(e) ? e : 0;
}

static void fill_meta(struct trace *t, const struct gobin *gb,
		      struct tracer *tr, const struct run_opts *o)
{
	size_t nslow = 0;

	symcache_meta(t, gb);
	snprintf(t->meta.command, sizeof(t->meta.command), "run");
	t->meta.ops_mask = o->ops_mask;
	t->meta.nprobes = tracer_nattached(tr, &nslow);
	t->meta.nslow = nslow;
	t->meta.start_ns = attached_ns;
	t->meta.wall_start_ns = trace_wall_now_ns() -
				(trace_now_ns() - attached_ns);
}

static int attach(struct tracer **tr, const struct gobin *gb, pid_t pid,
		  const struct run_opts *o, struct errbuf *err)
{
	struct tracer_opts to = { .pid = pid, .ringbuf_bytes = o->ringbuf_bytes };

	tracer_opts_set_ops(&to, o->ops_mask);
	if (tracer_open(tr, gb, &to, err))
		return -1;
	attached_ns = trace_now_ns();
	return 0;
}

/*
 * Stopped at the exec: read the image as mapped (a PIE's bias), attach,
 * let it go. The exec's SIGTRAP is consumed by detaching with signal 0.
 */
static int attach_at_exec(struct gobin *gb, struct tracer **tr, pid_t pid,
			  const struct run_opts *o, struct errbuf *err)
{
	struct gobin live;
	int st;

	for (;;) {
		if (waitpid(pid, &st, 0) < 0)
			return errbuf_set(err, "waitpid: %s", strerror(errno));
		if (!WIFSTOPPED(st)) {
			/* Reaped: the exec failed (its errno is on the pipe). */
			errbuf_set(err, "the program ended before it started");
			return -2;
		}
		if (WSTOPSIG(st) == SIGTRAP)
			break;
		/* A signal sent before the exec: deliver it. */
		ptrace(PTRACE_CONT, pid, NULL, (void *)(long)WSTOPSIG(st));
	}
	if (gb->elf.type == ET_DYN && !gobin_open_pid(&live, pid, err)) {
		gobin_close(gb);
		gobin_move(gb, &live);
	}
	if (attach(tr, gb, pid, o, err))
		return -1;
	if (ptrace(PTRACE_DETACH, pid, NULL, NULL))
		return errbuf_set(err, "cannot release the program: %s",
				  strerror(errno));
	return 0;
}

/* ptrace refused: attach while the child waits before its exec. */
static int attach_before_exec(struct gobin *gb, struct tracer **tr,
			      pid_t pid, int go_fd, const struct run_opts *o,
			      struct errbuf *err)
{
	if (attach(tr, gb, pid, o, err))
		return -1;
	if (write(go_fd, "g", 1) != 1)
		return errbuf_set(err, "cannot start the program: %s",
				  strerror(errno));
	return gb->elf.type == ET_DYN ? 1 : 0;
}

static int on_event(void *ctx, const struct gmt_event *ev,
		    const struct gmt_fatal_event *fatal)
{
	struct run_ctx *c = ctx;

	if (fatal) {
		if (trace_add_gmt_fatal(c->t, fatal))
			c->unkept++;
		/* Stop draining: read the flight recorder while it is fresh. */
		c->fatal_pending = true;
		return 1;
	}
	if (trace_add_gmt_event(c->t, ev))
		c->unkept++;
	return 0;
}

static void on_history(void *ctx, uint32_t tid, const struct gmt_history *h)
{
	struct run_ctx *c = ctx;

	trace_add_gmt_history(c->t, tid, h, trace_now_ns(), false);
}

static void read_histories(struct run_ctx *c)
{
	c->fatal_pending = false;
	tracer_histories(c->tr, on_history, c);
}

/* Drain until the child is gone, then what it left in the ring buffer. */
static int trace_child(struct run_ctx *c, pid_t pid, int *status)
{
	pid_t w;

	for (;;) {
		tracer_poll(c->tr, POLL_MS, on_event, c);
		if (c->fatal_pending)
			read_histories(c);
		w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return fail("waitpid: %s", strerror(errno));
	}
	c->t->meta.end_ns = trace_now_ns();
	while (tracer_poll(c->tr, 0, on_event, c) > 0 || c->fatal_pending)
		if (c->fatal_pending)
			read_histories(c);
	if (c->t->nfatals)
		tracer_histories(c->tr, on_history, c);
	return 0;
}

static int shell_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

static int finish(struct trace *t, struct gobin *gb, const struct run_opts *o)
{
	struct errbuf err = { "" };
	int ret = 0;

	if (symcache_update(t, gb))
		return fail("out of memory symbolising the trace");
	t->complete = true;
	if (o->trace_path && trace_write_path(t, o->trace_path, &err))
		ret = fail("%s", err.msg);
	if (report_output(t, o->fmt, &o->report, o->out, &err))
		ret = fail("%s", err.msg);
	return ret;
}

struct launch {
	pid_t pid;
	int status_fd;		/* read end */
	int go_fd;		/* write end */
};

static int launch(struct launch *l, const char *path, char **argv)
{
	int sp[2], gp[2];

	if (pipe2(sp, O_CLOEXEC) || pipe2(gp, O_CLOEXEC))
		return fail("pipe: %s", strerror(errno));
	fflush(NULL);
	l->pid = fork();
	if (l->pid < 0)
		return fail("fork: %s", strerror(errno));
	if (!l->pid) {
		close(sp[0]);
		close(gp[1]);
		child(sp[1], gp[0], path, argv);
	}
	close(sp[1]);
	close(gp[0]);
	l->status_fd = sp[0];
	l->go_fd = gp[1];
	return 0;
}

/* Start the child with probes in; returns its pid, or -1 (reported). */
static pid_t start(struct gobin *gb, struct tracer **tr, const char *path,
		   char **argv, const struct run_opts *o)
{
	struct errbuf err = { "" };
	struct launch l = { 0 };
	char c = 0;
	int r, e;

	if (launch(&l, path, argv))
		return -1;
	child_pid = l.pid;
	if (read(l.status_fd, &c, 1) != 1)
		c = 0;
	if (c == 'T')
		r = attach_at_exec(gb, tr, l.pid, o, &err);
	else
		r = attach_before_exec(gb, tr, l.pid, l.go_fd, o, &err);
	close(l.go_fd);
	e = exec_result(l.status_fd);
	close(l.status_fd);
	if (r == 1 && !e) {
		/* Pre-exec attach of a PIE: read the bias now it is mapped. */
		struct gobin live;

		if (!gobin_open_pid(&live, l.pid, NULL)) {
			gobin_close(gb);
			gobin_move(gb, &live);
		}
		r = 0;
	}
	if (!r && !e)
		return l.pid;
	if (r != -2) {
		kill(l.pid, SIGKILL);
		waitpid(l.pid, NULL, 0);
	}
	child_pid = 0;
	if (e)
		fail("cannot run %s: %s", path, strerror(e));
	else
		fail("%s", err.msg);
	return -1;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = { 0 };
	struct run_ctx c = { 0 };
	struct errbuf err = { "" };
	char path[4096], real[PATH_MAX];
	struct tracer *tr = NULL;
	struct gobin gb;
	struct trace t;
	int r, st = 0, ret;
	pid_t pid;

	r = parse_args(argc, argv, &o);
	if (r)
		return r < 0 ? 0 : r;
	if (resolve(argv[optind], path, sizeof(path)))
		return 1;
	/* The report names the file, wherever it was run from. */
	if (!realpath(path, real))
		snprintf(real, sizeof(real), "%s", path);
	if (gobin_open_path(&gb, real, &err))
		return fail("%s", err.msg);
	if (trace_init(&t)) {
		gobin_close(&gb);
		return fail("out of memory");
	}
	save_signals();
	set_signals();
	pid = start(&gb, &tr, path, argv + optind, &o);
	if (pid < 0) {
		ret = 1;
		goto out;
	}
	fill_meta(&t, &gb, tr, &o);
	t.meta.pid = pid;
	c.t = &t;
	c.tr = tr;
	ret = trace_child(&c, pid, &st);
	child_pid = 0;
	restore_signals();
	t.lost = tracer_lost(tr) + c.unkept;
	if (c.unkept)
		fail("warning: %llu records were dropped for lack of memory",
		     (unsigned long long)c.unkept);
	t.meta.exit_status = shell_status(st);
	tracer_close(tr);
	tr = NULL;
	if (!ret)
		ret = finish(&t, &gb, &o);
	/* The program's status first: scripts must see its crash. */
	if (t.meta.exit_status || ret)
		ret = t.meta.exit_status ? t.meta.exit_status : ret;
out:
	tracer_close(tr);
	trace_free(&t);
	gobin_close(&gb);
	return ret;
}
