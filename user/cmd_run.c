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
#include "session.h"
#include "symcache.h"
#include "trace_file.h"

#define POLL_MS		100

extern char **environ;

struct run_opts {
	const char *trace_path;
	struct report_args report;
	struct cli_trace_opts tr;
};

static volatile pid_t child_pid;

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
		     REPORT_OPTS_HELP
		     "  -t, --trace FILE     also write a trace file for "
		     "'gomaptrace report'\n"
		     CLI_OPS_HELP CLI_RINGBUF_HELP
		     CLI_GUARD_HELP
		     CLI_VERBOSE_HELP
		     CLI_HELP_HELP "\n"
		     "Examples:\n"
		     "  gomaptrace run -- ./server -port 8080\n"
		     "  gomaptrace run -f json -o report.json -- ./batchjob\n"
		     "  gomaptrace run --trace job.gmt --ops assign,delete -- "
		     "./batchjob\n",
		     report_format_list());
}

static int parse_opt(int c, const char *arg, void *ctx)
{
	struct run_opts *o = ctx;
	int r;

	switch (c) {
	case 't':
		o->trace_path = arg;
		return 0;
	default:
		r = cli_trace_opt(c, arg, &o->tr);
		if (r != 1)
			return r;
		return report_parse_opt(c, arg, &o->report) ? 2 : 0;
	}
}

static int parse_args(int argc, char **argv, struct run_opts *o)
{
	static const struct option longopts[] = {
		{ "trace", required_argument, NULL, 't' },
		{ "ringbuf-mb", required_argument, NULL, 'R' },
		CLI_GUARD_LONGOPTS,
		REPORT_LONGOPTS,
		CLI_TRACE_LONGOPTS,
		{ 0 },
	};
	/* '+': stop at CMD, its own options are not ours. */
	static const struct cli_cmd cmd = { "run", "+:" REPORT_SHORTOPTS "t:hv",
					    longopts, usage };
	int r;

	report_args_init(&o->report);
	cli_trace_opts_init(&o->tr);
	r = cli_parse(&cmd, argc, argv, parse_opt, o);
	if (!r && optind >= argc)
		return cli_error(&cmd, "give the program to run: -- CMD "
				 "[ARGS...]");
	return r;
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

/*
 * Stopped at the exec: read the image as mapped (a PIE's bias), attach,
 * let it go. The exec's SIGTRAP is consumed by detaching with signal 0.
 */
static int attach_at_exec(struct session *s, const struct session_opts *so)
{
	int st;

	for (;;) {
		if (waitpid(so->pid, &st, 0) < 0)
			return errbuf_set(&s->err, "waitpid: %s",
					  strerror(errno));
		if (!WIFSTOPPED(st)) {
			/* Reaped: the exec failed (its errno is on the pipe). */
			errbuf_set(&s->err, "the program ended before it "
				   "started");
			return -2;
		}
		if (WSTOPSIG(st) == SIGTRAP)
			break;
		/* A signal sent before the exec: deliver it. */
		ptrace(PTRACE_CONT, so->pid, NULL, (void *)(long)WSTOPSIG(st));
	}
	if (session_follow_pid(s, so->pid) || session_attach(s, so))
		return -1;
	if (ptrace(PTRACE_DETACH, so->pid, NULL, NULL))
		return errbuf_set(&s->err, "cannot release the program: %s",
				  strerror(errno));
	return 0;
}

/* ptrace refused: attach while the child waits before its exec. */
static int attach_before_exec(struct session *s,
			      const struct session_opts *so, int go_fd)
{
	if (session_attach(s, so))
		return -1;
	if (write(go_fd, "g", 1) != 1)
		return errbuf_set(&s->err, "cannot start the program: %s",
				  strerror(errno));
	return 0;
}

/*
 * Drain until the child is gone, then what it left in the ring buffer;
 * the session keeps nothing from after the end.
 */
static int trace_child(struct session *s, pid_t pid, int *status)
{
	pid_t w;

	for (;;) {
		if (session_poll(s, POLL_MS) < 0)
			return -1;
		w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return errbuf_set(&s->err, "waitpid: %s",
					  strerror(errno));
	}
	s->t.meta.end_ns = trace_now_ns();
	return session_drain(s);
}

static int shell_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

static int finish(struct session *s, const struct run_opts *o)
{
	const struct report_args *ra = &o->report;
	struct errbuf err = { "" };
	int ret = 0;

	if (symcache_update(&s->t, &s->gb))
		return fail("out of memory symbolising the trace");
	if (o->trace_path && trace_write_path(&s->t, o->trace_path, &err))
		ret = fail("%s", err.msg);
	if (report_output(&s->t, ra->fmt, &ra->o, ra->out, &err))
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
static pid_t start(struct session *s, const char *path, char **argv,
		   const struct run_opts *o)
{
	struct session_opts so = { .ops_mask = o->tr.ops_mask,
				   .ringbuf_bytes = o->tr.ringbuf_bytes,
				   .command = "run", .guard = true,
				   .freeze = o->tr.freeze };
	struct launch l = { 0 };
	char c = 0;
	int r, e;

	if (launch(&l, path, argv))
		return -1;
	child_pid = so.pid = l.pid;
	if (read(l.status_fd, &c, 1) != 1)
		c = 0;
	if (c == 'T')
		r = attach_at_exec(s, &so);
	else
		r = attach_before_exec(s, &so, l.go_fd);
	close(l.go_fd);
	e = exec_result(l.status_fd);
	close(l.status_fd);
	/* A pre-exec attach of a PIE: read the bias now it is mapped. */
	if (!r && !e && c != 'T')
		r = session_follow_pid(s, l.pid);
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
		fail("%s", s->err.msg);
	return -1;
}

/* Trace the child to its end and detach: 0, or 1 (reported). */
static int follow(struct session *s, pid_t pid)
{
	int st = 0, ret = 0;

	if (trace_child(s, pid, &st)) {
		ret = fail("%s", s->err.msg);
		session_detach(s);
		/* The program's status is ours: wait for it, untraced. */
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	child_pid = 0;
	restore_signals();
	if (s->unkept)
		fail("warning: %llu records were dropped for lack of memory",
		     (unsigned long long)s->unkept);
	session_detach(s);
	s->t.meta.exit_status = shell_status(st);
	return ret;
}

/*
 * The report and the trace are written when the program has ended: a name
 * they cannot use (a symlink planted there, a directory, no such
 * directory) is refused now, before the program runs, not after.
 */
static int check_outputs(const struct run_opts *o)
{
	struct errbuf err = { "" };

	if (report_output_check(o->report.out, &err) ||
	    (o->trace_path && trace_writer_check(o->trace_path, &err)))
		return fail("%s", err.msg);
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = { 0 };
	char path[4096], real[PATH_MAX];
	struct session *s;
	pid_t pid;
	int r, ret;

	r = parse_args(argc, argv, &o);
	if (r)
		return r < 0 ? 0 : r;
	if (check_outputs(&o))
		return 1;
	if (resolve(argv[optind], path, sizeof(path)))
		return 1;
	/* The report names the file, wherever it was run from. */
	if (!realpath(path, real))
		snprintf(real, sizeof(real), "%s", path);
	s = malloc(sizeof(*s));
	if (!s)
		return fail("out of memory");
	if (session_open_path(s, real)) {
		ret = fail("%s", s->err.msg);
		goto out;
	}
	save_signals();
	set_signals();
	ret = 1;
	pid = start(s, path, argv + optind, &o);
	if (pid > 0) {
		ret = follow(s, pid);
		if (!ret)
			ret = finish(s, &o);
		/* The program's status first: scripts must see its crash. */
		if (s->t.meta.exit_status)
			ret = s->t.meta.exit_status;
	}
out:
	session_close(s);
	free(s);
	return ret;
}
