// SPDX-License-Identifier: MIT
/*
 * The daemon's control side: a lock file (one daemon per run directory)
 * and a unix socket only root can open, mode 0600 in a 0700 directory,
 * that answers `gomaptrace status` (text or JSON). A client gets one
 * answer and the connection is closed; a slow one is cut off, so it can
 * never hold the daemon up for long.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "json_writer.h"
#include "safe_file.h"
#include "textfmt.h"

#define CLIENT_WAIT_MS	200
#define SOCK_NAME	"daemon.sock"
#define LOCK_NAME	"daemon.lock"

const char *daemon_run_dir(const char *opt)
{
	const char *env = getenv("GOMAPTRACE_RUN_DIR");

	if (opt)
		return opt;
	return env && *env ? env : "/run/gomaptrace";
}

static int path_in(const char *dir, const char *name, char *buf, size_t len,
		   struct errbuf *err)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= len)
		return errbuf_set(err, "%s: name too long", dir);
	return 0;
}

static int take_lock(struct daemon *d, const char *dir, struct errbuf *err)
{
	char path[4096], pid[32] = "";
	ssize_t n;

	if (path_in(dir, LOCK_NAME, path, sizeof(path), err))
		return -1;
	d->lock_fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
			  0600);
	if (d->lock_fd < 0)
		return errbuf_set(err, "cannot open %s: %s", path,
				  strerror(errno));
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB)) {
		n = pread(d->lock_fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		return errbuf_set(err, "another gomaptrace daemon is running "
				  "(PID %s, holding %s): stop it first",
				  pid[0] ? safe_text(pid) : "unknown", path);
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(d->lock_fd, 0) || pwrite(d->lock_fd, pid, n, 0) != n)
		return errbuf_set(err, "cannot write %s: %s", path,
				  strerror(errno));
	return 0;
}

int daemon_ctl_open(struct daemon *d, struct errbuf *err)
{
	const char *dir = daemon_run_dir(d->o->run_dir);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int r;

	if (safe_private_dir(dir, err) || take_lock(d, dir, err))
		return -1;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir,
			     SOCK_NAME) >= sizeof(sa.sun_path))
		return errbuf_set(err, "%s: too long for a socket path", dir);
	/* Ours alone (the lock, a private directory): a stale one goes. */
	unlink(sa.sun_path);
	d->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
			   SOCK_CLOEXEC, 0);
	if (d->ctl_fd < 0)
		return errbuf_set(err, "socket: %s", strerror(errno));
	old = umask(0177);
	r = bind(d->ctl_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r || chmod(sa.sun_path, 0600) || listen(d->ctl_fd, 8))
		return errbuf_set(err, "cannot listen on %s: %s", sa.sun_path,
				  strerror(errno));
	return 0;
}

void daemon_ctl_close(struct daemon *d)
{
	char path[4096];

	if (d->ctl_fd >= 0) {
		close(d->ctl_fd);
		if (!path_in(daemon_run_dir(d->o->run_dir), SOCK_NAME, path,
			     sizeof(path), NULL))
			unlink(path);
	}
	if (d->lock_fd >= 0)
		close(d->lock_fd);	/* the lock goes with it */
	d->ctl_fd = d->lock_fd = -1;
}

static bool from_root(int fd)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	return !getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) &&
	       uc.uid == 0;
}

/* The request line, "status" or "status json", within CLIENT_WAIT_MS. */
static bool wants_json(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[64];
	ssize_t n;

	if (poll(&p, 1, CLIENT_WAIT_MS) <= 0)
		return false;
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, "json") != NULL;
}

static void send_all(int fd, const char *s, size_t len)
{
	struct timeval tv = { 0, CLIENT_WAIT_MS * 1000 };
	int flags = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

void daemon_ctl_serve(struct daemon *d)
{
	for (int i = 0; i < 8; i++) {
		int fd = accept4(d->ctl_fd, NULL, NULL, SOCK_CLOEXEC |
				 SOCK_NONBLOCK);
		char *s;

		if (fd < 0)
			return;
		if (from_root(fd)) {
			s = daemon_status(d, wants_json(fd));
			if (s)
				send_all(fd, s, strlen(s));
			free(s);
		}
		close(fd);
	}
}

/* ---- the status itself ---- */

static double since_s(uint64_t ns)
{
	return ns ? (trace_now_ns() - ns) / 1e9 : 0;
}

static double cost(const struct target *tg)
{
	return tg->sp.tr ? sampler_cost_pct(&tg->sp, trace_now_ns()) : 0;
}

/* The part of its time under sampling that the map probes were in. */
static double observed(const struct target *tg)
{
	uint64_t now = trace_now_ns(), obs = tg->sp.total_observed_ns;

	if (!tg->sp.start_ns || now <= tg->sp.start_ns)
		return 0;
	if (tg->sp.on)
		obs += now - tg->sp.win_start;
	return (double)obs / (double)(now - tg->sp.start_ns);
}

static void status_json(const struct daemon *d, FILE *f)
{
	struct daemon_lost lost;
	struct json_writer jw;

	jw_init(&jw, f, true);
	jw_start_object(&jw);
	jw_kv_string(&jw, "schema", "gomaptrace.status/1");
	jw_kv_int(&jw, "pid", getpid());
	jw_kv_double(&jw, "uptime_s", since_s(d->start_ns));
	jw_kv_string(&jw, "dir", d->o->dir);
	jw_kv_double(&jw, "budget_percent", d->o->budget_pct);
	jw_kv_double(&jw, "hit_ns", d->hit_ns);
	jw_kv_uint(&jw, "processes_seen", d->seen);
	jw_kv_uint(&jw, "binaries_checked", bincache_checks(d->bins));
	/* BPF objects and symbol tables: one per binary of the targets. */
	jw_kv_uint(&jw, "binaries_loaded", bingroup_count(d->groups));
	jw_kv_uint(&jw, "attach_failures", d->attach_failed);
	jw_kv_uint(&jw, "crashes", d->crashes);
	/* Lost in all: the ring buffers' drops and the reports' cap. */
	jw_kv_uint(&jw, "lost_records", daemon_lost(d, &lost));
	jw_kv_uint(&jw, "lost_ring_buffer", lost.ring);
	jw_kv_uint(&jw, "lost_report_cap", lost.cap);
	jw_kv_uint(&jw, "lost_memory", lost.memory);
	jw_key(&jw, "last_crash");
	if (d->last_crash[0])
		jw_string(&jw, d->last_crash);
	else
		jw_null(&jw);
	jw_key(&jw, "targets");
	jw_start_array(&jw);
	for (size_t i = 0; i < d->ntargets; i++) {
		const struct target *tg = d->targets[i];

		jw_start_object(&jw);
		jw_kv_int(&jw, "pid", tg->pid);
		jw_key(&jw, "ns_pid");
		if (tg->nspid)
			jw_int(&jw, tg->nspid);
		else
			jw_null(&jw);
		jw_kv_string(&jw, "exe", tg->exe);
		jw_kv_double(&jw, "guarded_s", since_s(tg->attached_ns));
		jw_kv_bool(&jw, "sampled", tg->sp.tr != NULL);
		jw_kv_double(&jw, "cost_percent", cost(tg));
		jw_kv_double(&jw, "observed_fraction", observed(tg));
		jw_kv_string(&jw, "limited_by", tg->sp.tr ?
			     sampler_limit_name(tg->sp.limit) : "none");
		jw_kv_uint(&jw, "hits", tg->sp.total_hits);
		jw_kv_uint(&jw, "lost", tg->sp.total_lost +
			   tg->sp.total_over_cap + tg->unkept);
		jw_kv_uint(&jw, "lost_ring_buffer", tg->sp.total_lost);
		jw_kv_uint(&jw, "lost_report_cap", tg->sp.total_over_cap);
		jw_kv_uint(&jw, "lost_memory", tg->unkept);
		jw_kv_uint(&jw, "shared_maps", tg->findings);
		jw_kv_uint(&jw, "reports", tg->reports);
		jw_kv_bool(&jw, "crashed", tg->crash_ns != 0);
		jw_end_object(&jw);
	}
	jw_end_array(&jw);
	jw_end_object(&jw);
	jw_finish(&jw);
}

static void status_text(const struct daemon *d, FILE *f)
{
	fprintf(f, "gomaptrace daemon, PID %d, up %.1f s, writing to %s\n",
		(int)getpid(), since_s(d->start_ns), safe_text(d->o->dir));
	fprintf(f, "budget %.2f%% of one CPU per process for map-operation "
		"probes; one hit costs %.0f ns here\n", d->o->budget_pct,
		d->hit_ns);
	fprintf(f, "processes seen %llu, binaries checked %llu, Go processes "
		"guarded %zu (of %zu binaries), attach failures %llu, crashes "
		"%llu, lost records %llu\n", (unsigned long long)d->seen,
		(unsigned long long)bincache_checks(d->bins), d->ntargets,
		bingroup_count(d->groups),
		(unsigned long long)d->attach_failed,
		(unsigned long long)d->crashes,
		(unsigned long long)daemon_lost(d, NULL));
	if (d->ntargets)
		fprintf(f, "\n  %-8s %-8s %-9s %-7s %-9s %-12s %-6s %s\n",
			"PID", "NS PID", "GUARDED", "COST%", "OBSERVED",
			"HITS", "SHARED", "EXE");
	for (size_t i = 0; i < d->ntargets; i++) {
		const struct target *tg = d->targets[i];
		char ns[16] = "-";

		if (tg->nspid)
			snprintf(ns, sizeof(ns), "%d", (int)tg->nspid);
		fprintf(f, "  %-8d %-8s %-9.1f %-7.3f %-9.4f %-12llu %-6zu "
			"%s%s\n", (int)tg->pid, ns, since_s(tg->attached_ns),
			cost(tg), observed(tg),
			(unsigned long long)tg->sp.total_hits, tg->findings,
			safe_text(tg->exe), tg->crash_ns ? "  (crashed)" : "");
	}
	if (d->last_crash[0])
		fprintf(f, "\nlast %s\n", d->last_crash);
}

char *daemon_status(const struct daemon *d, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	if (json)
		status_json(d, f);
	else
		status_text(d, f);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}
