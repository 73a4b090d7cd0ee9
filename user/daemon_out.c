// SPDX-License-Identifier: MIT
/*
 * What the daemon leaves in DIR: a directory per crash (report.txt and
 * report.json, renamed into place whole), gomaptrace.prom for
 * node_exporter's textfile collector, and never more than --max-disk.
 * DIR and its subdirectories are ours alone (safe_private_dir), so nobody
 * can plant a name in them; the names we make from the target's exe are
 * cut to a safe alphabet anyway.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analysis.h"
#include "crash.h"
#include "daemon.h"
#include "report.h"
#include "safe_file.h"
#include "symcache.h"
#include "textfmt.h"

#define NAME_EXE_MAX	48
#define PRUNE_MAX_FILES	65536

static int sub(const struct daemon_opts *o, const char *name, char *buf,
	       size_t len)
{
	int n = snprintf(buf, len, "%s/%s", o->dir, name);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int daemon_out_dirs(const struct daemon_opts *o, struct errbuf *err)
{
	char p[4096];

	if (safe_private_dir(o->dir, err))
		return -1;
	if (sub(o, "crashes", p, sizeof(p)) || safe_private_dir(p, err))
		return err->msg[0] ? -1 : errbuf_set(err, "%s: name too long",
						     o->dir);
	if (sub(o, "reports", p, sizeof(p)) || safe_private_dir(p, err))
		return err->msg[0] ? -1 : errbuf_set(err, "%s: name too long",
						     o->dir);
	return 0;
}

/* The exe's base name in [A-Za-z0-9._-], never empty, never "." or "..". */
static void safe_name(const char *exe, char *out, size_t len)
{
	const char *b = strrchr(exe, '/');
	size_t n = 0;

	b = b ? b + 1 : exe;
	for (; *b && n + 1 < len && n < NAME_EXE_MAX; b++) {
		char c = *b;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			  (c == '.' && n);

		out[n++] = ok ? c : '_';
	}
	if (!n)
		out[n++] = '_';
	out[n] = '\0';
}

static int write_one(const char *dir, const char *file, report_fn fn,
		     const struct trace *t, struct errbuf *err)
{
	struct report_opts ro = { 0 };
	char path[4200];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = safe_fopen_new(path, false, err);
	if (!f)
		return -1;
	ret = fn(t, &ro, f, err);
	if (fflush(f) || fsync(fileno(f)))
		ret = ret ?: errbuf_set(err, "%s: %s", path, strerror(errno));
	if (fclose(f))
		ret = ret ?: errbuf_set(err, "%s: %s", path, strerror(errno));
	return ret;
}

/* "goroutine 7 in main.writer (main.go:18, assign)" for one side. */
static void side_text(const struct trace *t, const struct crash *c,
		      const struct crash_thread *th, char *buf, size_t len)
{
	const struct crash_op *op = crash_side_op(c, th);
	struct trace_where fr[1];
	const char *file;

	if (!op || !crash_op_frames(t, op, fr, 1) || !fr[0].f) {
		snprintf(buf, len, "thread %u (statement unknown)", th->tid);
		return;
	}
	file = strrchr(fr[0].f->file, '/');
	file = file ? file + 1 : fr[0].f->file;
	snprintf(buf, len, "goroutine %llu in %s (%s:%u, %s)",
		 (unsigned long long)(th->goid ? th->goid : op->goid),
		 safe_text(fr[0].f->function), safe_text(file), fr[0].f->line,
		 crash_op_name(op->op));
}

static void crash_line(const struct target *tg, const struct crash *c,
		       bool ok, const char *where, char *line, size_t len)
{
	const struct trace *t = &tg->t;
	const struct crash_thread *other = ok ? crash_other_side(c) : NULL;
	char a[512], b[512], ns[48] = "";

	if (tg->nspid)
		snprintf(ns, sizeof(ns), ", PID %d in its namespace",
			 (int)tg->nspid);
	if (!ok) {
		snprintf(line, len, "crash: PID %d%s (%s): no fatal record; "
			 "report %s", (int)tg->pid, ns, safe_text(tg->exe),
			 where);
		return;
	}
	side_text(t, c, &c->threads[0], a, sizeof(a));
	if (other)
		side_text(t, c, other, b, sizeof(b));
	else
		snprintf(b, sizeof(b), "the other side was not seen");
	snprintf(line, len, "crash: PID %d%s (%s): %s: %s and %s; report %s",
		 (int)tg->pid, ns, safe_text(tg->exe),
		 safe_text(c->fatal->msg), a, b, where);
}

/* DIR/crashes/<exe>-<pid>-<UTC time>[-N], not there yet. */
static int final_name(const struct daemon_opts *o, const struct target *tg,
		      char *buf, size_t len)
{
	char name[NAME_EXE_MAX + 1], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	struct stat st;

	safe_name(tg->exe, name, sizeof(name));
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (int i = 0; i < 100; i++) {
		int n = i ? snprintf(buf, len, "%s/crashes/%s-%d-%s-%d", o->dir,
				     name, (int)tg->pid, stamp, i) :
			    snprintf(buf, len, "%s/crashes/%s-%d-%s", o->dir,
				     name, (int)tg->pid, stamp);

		if (n < 0 || (size_t)n >= len)
			return -1;
		if (lstat(buf, &st) && errno == ENOENT)
			return 0;
	}
	return -1;
}

int daemon_write_crash(struct daemon *d, struct target *tg, char *line,
		       size_t linelen, struct errbuf *err)
{
	struct trace *t = &tg->t;
	char tmp[4200], final[4200];
	struct crash *c;
	bool ok;
	int ret;

	if (symcache_update(t, daemon_gobin(tg)))
		return errbuf_set(err, "out of memory symbolising");
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/crashes/.new-XXXXXX",
			     d->o->dir) >= sizeof(tmp) || !mkdtemp(tmp))
		return errbuf_set(err, "cannot create a directory in %s/crashes:"
				  " %s", d->o->dir, strerror(errno));
	ret = write_one(tmp, "report.txt", report_text, t, err) ?:
	      write_one(tmp, "report.json", report_json, t, err);
	if (!ret && final_name(d->o, tg, final, sizeof(final)))
		ret = errbuf_set(err, "no free name for the crash in %s/crashes",
				 d->o->dir);
	if (!ret && rename(tmp, final))
		ret = errbuf_set(err, "rename %s: %s", tmp, strerror(errno));
	if (ret) {
		char p[4300];

		snprintf(p, sizeof(p), "%s/report.txt", tmp);
		unlink(p);
		snprintf(p, sizeof(p), "%s/report.json", tmp);
		unlink(p);
		rmdir(tmp);
		return -1;
	}
	c = malloc(sizeof(*c));
	ok = c && crash_analyze(t, c);
	crash_line(tg, c, ok, final, line, linelen);
	free(c);
	return 0;
}

/*
 * Close a temporary file (made by safe_fopen_temp) and rename it to path,
 * unless ret already says it failed; a failed one is removed. Frees tmp.
 */
static int finish_temp(FILE *f, char *tmp, const char *path, int ret,
		       struct errbuf *err)
{
	if (fclose(f) && !ret)
		ret = errbuf_set(err, "%s: %s", tmp, strerror(errno));
	if (!ret)
		ret = safe_rename(tmp, path, err);
	if (ret)
		unlink(tmp);
	free(tmp);
	return ret;
}

/* One report file, renamed into place whole. */
static int write_file(const char *path, report_fn fn, const struct trace *t,
		      struct errbuf *err)
{
	struct report_opts ro = { 0 };
	char *tmp = NULL;
	FILE *f = safe_fopen_temp(path, &tmp, err);
	int ret;

	if (!f)
		return -1;
	ret = fn(t, &ro, f, err);
	if ((fflush(f) || fsync(fileno(f))) && !ret)
		ret = errbuf_set(err, "%s: %s", tmp, strerror(errno));
	return finish_temp(f, tmp, path, ret, err);
}

/*
 * The gobin is the binary's, shared by its processes; the daemon is one
 * thread, so each takes it with its own bias while it symbolises.
 */
struct gobin *daemon_gobin(struct target *tg)
{
	tg->grp->gb.load_bias = tg->bias;
	return &tg->grp->gb;
}

size_t daemon_findings(struct target *tg)
{
	struct analysis_opts ao = { .fold = true };
	struct analysis an;
	size_t n;

	if (!tg->sp.t.nevents)
		return tg->findings;
	if (symcache_update(&tg->sp.t, daemon_gobin(tg)) ||
	    analysis_run(&tg->sp.t, &ao, &an))
		return tg->findings;
	n = an.nfindings;
	sampler_find_sites(&tg->sp, &an);
	analysis_free(&an);
	return n;
}

int daemon_write_report(struct daemon *d, struct target *tg,
			struct errbuf *err)
{
	char name[NAME_EXE_MAX + 1], stamp[32], base[4200], path[4300];
	uint64_t now = trace_now_ns();
	time_t wall = time(NULL);
	struct tm tm;
	int ret;

	if (!tg->sp.tr && !tg->sp.t.nevents)
		return 0;
	if (symcache_update(&tg->sp.t, daemon_gobin(tg)))
		return errbuf_set(err, "out of memory symbolising");
	sampler_meta(&tg->sp, d->o->budget_pct, d->hit_ns, now);
	for (size_t i = 0; i < tg->sp.nsites; i++)
		symcache_pc(&tg->sp.t, daemon_gobin(tg),
			    tg->sp.site_pc[i] + 5 + tg->bias);
	safe_name(tg->exe, name, sizeof(name));
	gmtime_r(&wall, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	if ((size_t)snprintf(base, sizeof(base), "%s/reports/%s-%d-%s",
			     d->o->dir, name, (int)tg->pid, stamp) >=
	    sizeof(base))
		return errbuf_set(err, "%s: name too long", d->o->dir);
	snprintf(path, sizeof(path), "%s.json", base);
	ret = write_file(path, report_json, &tg->sp.t, err);
	snprintf(path, sizeof(path), "%s.pb.gz", base);
	if (!ret)
		ret = write_file(path, report_pprof, &tg->sp.t, err);
	tg->findings = daemon_findings(tg);
	tg->reported_findings = tg->findings;
	tg->reports++;
	sampler_reset(&tg->sp, now);
	return ret;
}

static double cost_pct(const struct daemon *d)
{
	uint64_t now = trace_now_ns();
	double worst = 0;

	for (size_t i = 0; i < d->ntargets; i++) {
		double c = d->targets[i]->sp.tr ?
			   sampler_cost_pct(&d->targets[i]->sp, now) : 0;

		if (c > worst)
			worst = c;
	}
	return worst;
}

uint64_t daemon_lost(const struct daemon *d, struct daemon_lost *by)
{
	struct daemon_lost l = d->gone_lost;

	for (size_t i = 0; i < d->ntargets; i++) {
		const struct target *tg = d->targets[i];

		l.ring += tg->sp.total_lost;
		l.cap += tg->sp.total_over_cap;
		l.memory += tg->unkept;
	}
	if (by)
		*by = l;
	return l.ring + l.cap + l.memory;
}

static void totals(const struct daemon *d, uint64_t *hits,
		   struct daemon_lost *lost, uint64_t *shared)
{
	*hits = d->gone_hits;
	daemon_lost(d, lost);
	*shared = 0;
	for (size_t i = 0; i < d->ntargets; i++) {
		*hits += d->targets[i]->sp.total_hits;
		*shared += d->targets[i]->findings;
	}
}

int daemon_write_metrics(const struct daemon *d, struct errbuf *err)
{
	char path[4200], *tmp = NULL;
	struct daemon_lost lost;
	uint64_t hits, shared;
	FILE *f;
	int ret = 0;

	totals(d, &hits, &lost, &shared);
	if (sub(d->o, "gomaptrace.prom", path, sizeof(path)))
		return errbuf_set(err, "%s: name too long", d->o->dir);
	f = safe_fopen_temp(path, &tmp, err);
	if (!f)
		return -1;
	fprintf(f,
		"# HELP gomaptrace_targets Go processes guarded now.\n"
		"# TYPE gomaptrace_targets gauge\n"
		"gomaptrace_targets %zu\n"
		"# HELP gomaptrace_probe_hits_total Map-operation probe hits.\n"
		"# TYPE gomaptrace_probe_hits_total counter\n"
		"gomaptrace_probe_hits_total %llu\n"
		"# HELP gomaptrace_cost_percent Estimated CPU the probes add to "
		"the costliest process, in percent of one CPU.\n"
		"# TYPE gomaptrace_cost_percent gauge\n"
		"gomaptrace_cost_percent %.3f\n"
		"# HELP gomaptrace_lost_records_total Records lost: the ring "
		"buffer had no room (ring_buffer), over a report's cap "
		"(report_cap), no memory (memory).\n"
		"# TYPE gomaptrace_lost_records_total counter\n"
		"gomaptrace_lost_records_total{reason=\"ring_buffer\"} %llu\n"
		"gomaptrace_lost_records_total{reason=\"report_cap\"} %llu\n"
		"gomaptrace_lost_records_total{reason=\"memory\"} %llu\n"
		"# HELP gomaptrace_shared_maps Maps written by several "
		"goroutines, in the processes guarded now.\n"
		"# TYPE gomaptrace_shared_maps gauge\n"
		"gomaptrace_shared_maps %llu\n"
		"# HELP gomaptrace_crashes_total Map crashes reported.\n"
		"# TYPE gomaptrace_crashes_total counter\n"
		"gomaptrace_crashes_total %llu\n"
		"# HELP gomaptrace_attach_failures_total Go processes that "
		"could not be guarded.\n"
		"# TYPE gomaptrace_attach_failures_total counter\n"
		"gomaptrace_attach_failures_total %llu\n",
		d->ntargets, (unsigned long long)hits, cost_pct(d),
		(unsigned long long)lost.ring, (unsigned long long)lost.cap,
		(unsigned long long)lost.memory, (unsigned long long)shared,
		(unsigned long long)d->crashes,
		(unsigned long long)d->attach_failed);
	if (fflush(f) || ferror(f))
		ret = errbuf_set(err, "%s: %s", tmp, strerror(errno));
	return finish_temp(f, tmp, path, ret, err);
}

/* ---- --max-disk ---- */

struct old_file {
	char *path;
	time_t mtime;
	off_t size;
	bool is_dir;
};

static uint64_t dir_bytes(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	uint64_t sum = 0;

	if (!dp)
		return 0;
	while ((de = readdir(dp))) {
		struct stat st;

		if (!fstatat(dirfd(dp), de->d_name, &st, AT_SYMLINK_NOFOLLOW) &&
		    S_ISREG(st.st_mode))
			sum += (uint64_t)st.st_blocks * 512;
	}
	closedir(dp);
	return sum;
}

struct units {
	struct old_file *v;
	size_t n, cap;
	uint64_t total;
};

static int add_unit(struct units *u, const char *dir, const char *name,
		    const struct stat *st)
{
	struct old_file *f;

	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 64;
		void *p;

		if (cap > PRUNE_MAX_FILES)
			return -1;
		p = realloc(u->v, cap * sizeof(*u->v));
		if (!p)
			return -1;
		u->v = p;
		u->cap = cap;
	}
	f = &u->v[u->n];
	if (asprintf(&f->path, "%s/%s", dir, name) < 0)
		return -1;
	f->mtime = st->st_mtime;
	f->is_dir = S_ISDIR(st->st_mode);
	f->size = f->is_dir ? (off_t)dir_bytes(f->path) : st->st_blocks * 512;
	u->total += (uint64_t)f->size;
	u->n++;
	return 0;
}

/* Each crash directory and each report file is one unit. */
static void list_units(const struct daemon_opts *o, struct units *u)
{
	static const char *const subs[] = { "crashes", "reports" };

	for (int s = 0; s < 2; s++) {
		char dir[4100];
		DIR *dp;
		struct dirent *de;

		if (sub(o, subs[s], dir, sizeof(dir)))
			continue;
		dp = opendir(dir);
		if (!dp)
			continue;
		while ((de = readdir(dp))) {
			struct stat st;

			if (de->d_name[0] == '.' ||
			    fstatat(dirfd(dp), de->d_name, &st,
				    AT_SYMLINK_NOFOLLOW))
				continue;
			if (add_unit(u, dir, de->d_name, &st))
				break;
		}
		closedir(dp);
	}
}

static int by_age(const void *a, const void *b)
{
	const struct old_file *x = a, *y = b;

	return (x->mtime > y->mtime) - (x->mtime < y->mtime);
}

static void remove_unit(const struct old_file *u)
{
	DIR *dp;
	struct dirent *de;

	if (!u->is_dir) {
		unlink(u->path);
		return;
	}
	dp = opendir(u->path);
	if (dp) {
		while ((de = readdir(dp)))
			if (de->d_name[0] != '.')
				unlinkat(dirfd(dp), de->d_name, 0);
		closedir(dp);
	}
	rmdir(u->path);
}

void daemon_prune(struct daemon *d)
{
	struct units u = { 0 };

	if (!d->o->max_disk)
		return;
	list_units(d->o, &u);
	qsort(u.v, u.n, sizeof(*u.v), by_age);
	for (size_t i = 0; i < u.n && u.total > d->o->max_disk; i++) {
		remove_unit(&u.v[i]);
		u.total -= (uint64_t)u.v[i].size;
		d->pruned++;
	}
	for (size_t i = 0; i < u.n; i++)
		free(u.v[i].path);
	free(u.v);
}
