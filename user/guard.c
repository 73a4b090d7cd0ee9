// SPDX-License-Identifier: MIT
/*
 * The crash guard (guard.h): freeze at the fatal path, read every
 * thread, resume; a watchdog process makes sure the target is resumed
 * whatever happens to us.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dwarf.h"
#include "gomaptrace.skel.h"
#include "guard.h"
#include "snapshot.h"
#include "symcache.h"
#include "unwind.h"
#include "x86_decode.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#define DEFAULT_MAX_MS	250	/* the watchdog's hard bound on a freeze */
#define STOP_WAIT_NS	20000000ULL	/* for every thread to stop */
#define MAX_THREADS	4096
#define TASK_STOPPED_BIT	0x4	/* __TASK_STOPPED in task->__state */

/* Where the runtime keeps what the unwinder needs to leave g0 (DWARF). */
struct rt_layout {
	bool ok;
	uint64_t g_m, g_sched, m_g0, m_curg, buf_sp, buf_pc, buf_bp;
};

/*
 * Where a guard's freeze state lives: the object's .bss when it serves one
 * target, else (multi mode) the process's entry in the freezes map, read
 * and written through its fd. The watchdog uses the same.
 */
struct fz_ref {
	volatile struct gomaptrace_bpf__bss *bss;	/* NULL: multi mode */
	int fd;			/* freezes */
	__u32 tgid;
};

struct guard {
	struct rt_layout rt;
	struct gomaptrace_bpf *skel;
	struct gobin *gb;	/* shared in multi mode: see with_bias() */
	pid_t pid;
	bool multi;
	struct fz_ref fz;
	uint64_t bias;		/* multi: the process's own load bias */
	uint32_t seen_count;	/* multi: freeze_count last looked at */
	int ring_fd;		/* multi: the watchdog's own wake-up ring */
	int pidfd;
	int memfd;
	int life_fd;		/* write end: its closing wakes the watchdog */
	struct bpf_link *iter;
	uint32_t mode;		/* enum gmt_freeze_mode asked for */
	int tracer_pid;		/* a debugger seen at attach */
	bool done;		/* a freeze record was added */
	bool saw_fatal;
	bool early;		/* pending holds a snapshot taken before the
				 * fatal record was read */
	struct trace_freeze pending;
	uint64_t max_ns;
};

static uint64_t now_ns(void)
{
	return trace_now_ns();
}

static long env_long(const char *name, long def)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (!s || !*s)
		return def;
	v = strtol(s, &end, 10);
	return *end || v < 0 ? def : v;
}

/* TracerPid of pid; ourselves (run's exec stop) is no debugger. */
static int tracer_pid(pid_t pid)
{
	char path[64], line[256];
	int tp = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "TracerPid: %d", &tp) == 1)
			break;
	fclose(f);
	return tp == getpid() ? 0 : tp;
}

static int send_cont(int pidfd)
{
	return syscall(SYS_pidfd_send_signal, pidfd, SIGCONT, NULL, 0);
}

/* ---- the freeze state ---- */

static bool fz_get(const struct fz_ref *r, struct gmt_freeze *f)
{
	if (!r->bss) {
		if (bpf_map_lookup_elem(r->fd, &r->tgid, f))
			return false;
		return true;
	}
	f->state = r->bss->freeze_state;
	f->tid = r->bss->freeze_tid;
	f->ns = r->bss->freeze_ns;
	f->resumed = r->bss->freeze_resumed;
	return true;
}

static void fz_set_resumed(const struct fz_ref *r, uint32_t by)
{
	struct gmt_freeze f;

	if (r->bss) {
		r->bss->freeze_resumed = by;
		return;
	}
	/* The BPF side is done with an entry whose state is set. */
	if (!bpf_map_lookup_elem(r->fd, &r->tgid, &f)) {
		f.resumed = by;
		bpf_map_update_elem(r->fd, &r->tgid, &f, BPF_EXIST);
	}
}

static uint32_t fz_state(const struct fz_ref *r)
{
	struct gmt_freeze f;

	return fz_get(r, &f) ? f.state : GMT_FREEZE_NONE;
}

/* ---- the watchdog ---- */

#define WD_FDS	4

/* Keeps the n fds of keep (sorted, -1s first) open, closes the others. */
static void close_others(const int *keep, int n)
{
	int lo = 3;

	for (int i = 0; i < n; i++) {
		if (keep[i] < lo)
			continue;
		if (keep[i] > lo)
			syscall(SYS_close_range, lo, keep[i] - 1, 0);
		lo = keep[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0U, 0);
}

static void sort_fds(int *v, int n)
{
	for (int i = 0; i < n - 1; i++)
		for (int j = 0; j < n - 1 - i; j++)
			if (v[j] > v[j + 1]) {
				int x = v[j];

				v[j] = v[j + 1];
				v[j + 1] = x;
			}
}

static void quiet_stdio(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

/* Frozen and not resumed yet; *ns: when it stopped. */
static bool frozen(const struct fz_ref *r, uint64_t *ns)
{
	struct gmt_freeze f;

	if (!fz_get(r, &f) || f.state != GMT_FROZEN || f.resumed)
		return false;
	if (ns)
		*ns = f.ns;
	return true;
}

static void wd_resume(const struct fz_ref *r, int pidfd)
{
	if (!frozen(r, NULL))
		return;
	send_cont(pidfd);
	fz_set_resumed(r, 2);	/* by the watchdog */
}

/*
 * Sleeps in poll() until: we die or let go (EOF on life), the BPF side
 * freezes the target (guard_rb becomes readable: it is never consumed,
 * so it is watched only until then), the freeze outlasts max_ns, or the
 * target exits. Costs nothing while the target runs.
 */
__attribute__((noreturn))
static void watchdog(int life, int rb, int pidfd, const struct fz_ref *r,
		     uint64_t max_ns, pid_t target)
{
	bool woken = false;
	int fds[WD_FDS] = { life, rb, pidfd, r->bss ? -1 : r->fd };
	uint64_t ns;
	char name[16];

	setsid();
	/* Named after its target, so that tests can find it. */
	snprintf(name, sizeof(name), "gmtwd-%d", (int)target);
	prctl(PR_SET_NAME, name);
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sort_fds(fds, WD_FDS);
	close_others(fds, WD_FDS);
	quiet_stdio();
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = life, .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN },
			{ .fd = rb, .events = POLLIN },
		};
		int timeout = -1;
		char c;

		if (frozen(r, &ns)) {
			uint64_t end = ns + max_ns, now = now_ns();

			if (now >= end) {
				wd_resume(r, pidfd);
				continue;
			}
			timeout = (int)((end - now) / 1000000) + 1;
		}
		if (poll(p, woken ? 2 : 3, timeout) < 0 && errno != EINTR)
			break;
		if (p[2].revents)
			woken = true;
		if (p[1].revents)
			_exit(0);	/* the target is gone */
		if (p[0].revents && read(life, &c, 1) <= 0)
			break;		/* we are gone, or done */
	}
	wd_resume(r, pidfd);
	_exit(0);
}

/*
 * Forked twice, so it is not our child: `run`'s program stays our only
 * one, and nothing of ours waits for it. The middle process only forks.
 * In multi mode it watches a ring of its own, which only its process's
 * freeze writes to: the shared guard_rb, never consumed, would wake every
 * watchdog at the first freeze and leave them blind to the next.
 */
static int start_watchdog(struct guard *g, struct errbuf *err)
{
	int life[2], st = 0;
	int rb = g->multi ? g->ring_fd : bpf_map__fd(g->skel->maps.guard_rb);
	pid_t mid;

	if (pipe2(life, O_CLOEXEC))
		return errbuf_set(err, "pipe: %s", strerror(errno));
	fflush(NULL);
	mid = fork();
	if (!mid) {
		pid_t wd = fork();

		if (!wd)
			watchdog(life[0], rb, g->pidfd, &g->fz, g->max_ns,
				 g->pid);
		_exit(wd < 0 ? 1 : 0);
	}
	close(life[0]);
	if (mid < 0 || waitpid(mid, &st, 0) != mid || !WIFEXITED(st) ||
	    WEXITSTATUS(st)) {
		close(life[1]);
		return errbuf_set(err, "cannot start the freeze watchdog: %s",
				  mid < 0 ? strerror(errno) : "fork failed");
	}
	g->life_fd = life[1];
	return 0;
}

/* ---- opening ---- */

static void section(const struct elf_file *ef, const char *name,
		    const uint8_t **p, size_t *n, bool *owned)
{
	const struct elf_section *sec = elf_find_section(ef, name);

	*p = NULL;
	*n = 0;
	*owned = false;
	if (sec && elf_section_bytes(ef, sec, p, n, owned, NULL)) {
		*p = NULL;
		*n = 0;
		*owned = false;
	}
}

/*
 * g.m, g.sched, m.g0, m.curg and gobuf's sp, pc, bp from the binary's
 * DWARF, read at attach (never during a freeze). A stripped binary has
 * none: its threads on g0 are unwound no further than g0's stack.
 */
static void read_layout(const struct gobin *gb, struct rt_layout *l)
{
	static const char *const names[] = {
		".debug_info", ".debug_abbrev", ".debug_str",
		".debug_line_str", ".debug_str_offsets",
	};
	struct dwarf_member_query q[] = {
		{ "runtime.g", "m", false, 0 },
		{ "runtime.g", "sched", false, 0 },
		{ "runtime.m", "g0", false, 0 },
		{ "runtime.m", "curg", false, 0 },
		{ "runtime.gobuf", "sp", false, 0 },
		{ "runtime.gobuf", "pc", false, 0 },
		{ "runtime.gobuf", "bp", false, 0 },
	};
	const uint8_t *p[5];
	size_t n[5];
	bool owned[5];
	struct dwarf_sections d;
	int nq = sizeof(q) / sizeof(q[0]);

	memset(l, 0, sizeof(*l));
	if (!elf_find_section(&gb->elf, ".debug_info"))
		return;
	for (int i = 0; i < 5; i++)
		section(&gb->elf, names[i], &p[i], &n[i], &owned[i]);
	d = (struct dwarf_sections){ p[0], n[0], p[1], n[1], p[2], n[2],
				     p[3], n[3], p[4], n[4] };
	if (dwarf_member_offsets(&d, q, nq, NULL) == nq) {
		l->ok = true;
		for (int i = 0; i < nq; i++)
			if (q[i].offset > 4096)
				l->ok = false;
		l->g_m = q[0].offset;
		l->g_sched = q[1].offset;
		l->m_g0 = q[2].offset;
		l->m_curg = q[3].offset;
		l->buf_sp = q[4].offset;
		l->buf_pc = q[5].offset;
		l->buf_bp = q[6].offset;
	}
	for (int i = 0; i < 5; i++)
		if (owned[i])
			free((void *)p[i]);
}

/* The snapshot iterator, limited by the kernel to the process if it can. */
static struct bpf_link *attach_iter(struct guard *g)
{
	DECLARE_LIBBPF_OPTS(bpf_iter_attach_opts, o);
	union bpf_iter_link_info li;
	struct bpf_link *l;

	memset(&li, 0, sizeof(li));
	li.task.pid = g->pid;
	o.link_info = &li;
	o.link_info_len = sizeof(li);
	l = bpf_program__attach_iter(g->skel->progs.snap_threads, &o);
	if (l)
		return l;
	/* Before 6.1 it walks every task; the program still filters. */
	return bpf_program__attach_iter(g->skel->progs.snap_threads, NULL);
}

/* Multi mode: the process's mode in its watched entry (OFF: disarmed). */
static int set_mode(struct guard *g, uint32_t mode)
{
	int fd = bpf_map__fd(g->skel->maps.watched);
	struct gmt_watch w;
	__u32 tgid = g->pid;

	/* Its lost count stays. */
	if (bpf_map_lookup_elem(fd, &tgid, &w))
		return -1;
	w.freeze_mode = mode;
	return bpf_map_update_elem(fd, &tgid, &w, BPF_EXIST);
}

/*
 * Multi mode: what the guard needs of its own, since the object and the
 * gobin serve other processes too: the process's load bias, the ring
 * that wakes its watchdog, and a look at freeze_count from now on.
 */
static int open_multi(struct guard *g, struct errbuf *err)
{
	struct gmt_watch w;
	__u32 tgid = g->pid;
	int rbs = bpf_map__fd(g->skel->maps.guard_rbs);

	if (bpf_map_lookup_elem(bpf_map__fd(g->skel->maps.watched), &tgid, &w))
		return errbuf_set(err, "cannot guard process %d: it is not "
				  "watched (tracer_watch)", (int)g->pid);
	if (gobin_pid_bias(g->gb, g->pid, &g->bias, err))
		return -1;
	g->seen_count = g->skel->bss->freeze_count;
	g->ring_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "gmt_wd_ring", 0, 0,
				    4096, NULL);
	if (g->ring_fd < 0 ||
	    bpf_map_update_elem(rbs, &tgid, &g->ring_fd, BPF_ANY))
		return errbuf_set(err, "cannot make process %d's watchdog "
				  "ring: %s", (int)g->pid, strerror(errno));
	return 0;
}

int guard_open(struct guard **out, struct tracer *tr, const struct gobin *gb,
	       pid_t pid, uint32_t mode, struct errbuf *err)
{
	struct guard *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (!g)
		return errbuf_set(err, "out of memory");
	g->skel = tracer_skel(tr);
	/* Written only for a snapshot's length: see with_bias(). */
	g->gb = (struct gobin *)gb;
	g->pid = pid;
	g->multi = tracer_multi(tr);
	g->fz = (struct fz_ref){ .bss = g->multi ? NULL : g->skel->bss,
				 .fd = bpf_map__fd(g->skel->maps.freezes),
				 .tgid = pid };
	g->memfd = g->life_fd = g->pidfd = g->ring_fd = -1;
	g->mode = mode;
	g->max_ns = env_long("GOMAPTRACE_FREEZE_MAX_MS", DEFAULT_MAX_MS) *
		    1000000ULL;
	g->tracer_pid = tracer_pid(pid);
	*out = g;
	if (g->mode == GMT_FREEZE_OFF || !g->skel->bss)
		return 0;
	/*
	 * A process we may not signal (no CAP_KILL for another user's) would
	 * be stopped by the BPF side and never resumed: never freeze it.
	 */
	if (kill(pid, 0) && errno == EPERM)
		return errbuf_set(err, "no permission to signal process %d "
				  "(CAP_KILL): it could not be resumed",
				  (int)pid);
	if (g->multi && open_multi(g, err))
		return -1;
	read_layout(gb, &g->rt);
	g->pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (g->pidfd < 0)
		return errbuf_set(err, "cannot guard process %d: pidfd_open: "
				  "%s", (int)pid, strerror(errno));
	g->iter = attach_iter(g);
	if (!g->iter)
		return errbuf_set(err, "cannot attach the thread iterator: %s",
				  strerror(errno));
	if (start_watchdog(g, err))
		return -1;
	/* Armed last: a freeze needs the watchdog to be there. */
	if (g->tracer_pid)
		return 0;
	if (!g->multi) {
		g->skel->bss->freeze_mode = g->mode;
		return 0;
	}
	if (set_mode(g, g->mode))
		return errbuf_set(err, "cannot arm the guard of process %d: "
				  "%s", (int)pid, strerror(errno));
	return 0;
}

/* ---- the snapshot ---- */

static bool mem_read(struct guard *g, uint64_t addr, void *buf, size_t len)
{
	if (addr > (uint64_t)INT64_MAX - len)
		return false;
	return pread(g->memfd, buf, len, (off_t)addr) == (ssize_t)len;
}

/* The unwinder's view of one thread. */
struct tctx {
	struct guard *g;
	uint64_t r14;
};

static bool tctx_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return mem_read(((struct tctx *)ctx)->g, addr, buf, len);
}

static bool rd64(struct guard *g, uint64_t addr, uint64_t *v)
{
	return mem_read(g, addr, v, sizeof(*v));
}

/*
 * On g0 (R14 is its m's g0) with a goroutine switched away from (m.curg):
 * that goroutine's saved SP, PC and BP, where systemstack left them.
 */
static bool to_curg(void *ctx, uint64_t *pc, uint64_t *sp, uint64_t *bp)
{
	struct tctx *x = ctx;
	struct guard *g = x->g;
	const struct rt_layout *l = &g->rt;
	uint64_t m, g0, curg, sched;

	if (!l->ok || !x->r14 || !rd64(g, x->r14 + l->g_m, &m) || !m ||
	    !rd64(g, m + l->m_g0, &g0) || g0 != x->r14 ||
	    !rd64(g, m + l->m_curg, &curg) || !curg || curg == g0)
		return false;
	sched = curg + l->g_sched;
	return rd64(g, sched + l->buf_pc, pc) && rd64(g, sched + l->buf_sp, sp) &&
	       rd64(g, sched + l->buf_bp, bp);
}

/* Every thread's registers; *all_stopped when each was stopped. */
static int read_threads(struct guard *g, struct gmt_thread_regs *r, int max,
			bool *all_stopped)
{
	size_t got = 0, cap = (size_t)max * sizeof(*r);
	ssize_t k;
	int fd, n = 0;

	/* Multi mode: the program's filter (the daemon is single-threaded). */
	g->skel->bss->snap_tgid = g->pid;
	fd = bpf_iter_create(bpf_link__fd(g->iter));
	if (fd < 0)
		return -1;
	while (got < cap && (k = read(fd, (char *)r + got, cap - got)) > 0)
		got += k;
	close(fd);
	n = got / sizeof(*r);
	*all_stopped = n > 0;
	for (int i = 0; i < n; i++)
		if (!(r[i].state & TASK_STOPPED_BIT))
			*all_stopped = false;
	return n;
}

static bool is_runtime(const char *fn)
{
	return fn && (!strncmp(fn, "runtime.", 8) ||
		      !strncmp(fn, "internal/runtime/", 17));
}

static bool is_map_func(const char *fn)
{
	static const char *const pre[] = {
		"runtime.map", "runtime.growWork", "runtime.evacuate",
		"runtime.hashGrow", "runtime.makeBucketArray",
		"runtime.advanceEvacuationMark", "internal/runtime/maps.",
	};

	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
		if (fn && !strncmp(fn, pre[i], strlen(pre[i])))
			return true;
	return false;
}

/*
 * A map type descriptor of this binary: the spill slot held a real one.
 * Where the binary's types cannot be named (seen with Go 1.27), a pointer
 * into its image is the most that can be checked.
 */
static bool is_map_type(struct guard *g, uint64_t typ, bool *named)
{
	char name[256];
	uint64_t a = typ - g->gb->load_bias;

	*named = false;
	if (!typ || typ <= g->gb->load_bias || (typ & 7))
		return false;
	if (!gobin_type_name(g->gb, a, name, sizeof(name))) {
		*named = true;
		return !strncmp(name, "map[", 4);
	}
	return elf_vaddr_ptr(&g->gb->elf, a, 8) != NULL;
}

/*
 * The header of a map as the runtime keeps it (hdr: its first six words):
 * hmap's B (the byte at 9) below 64; maps.Map's directory length sane and
 * its global depth (the byte at 32) below 64. Used when the type could not
 * be named, to tell a map from any other pointer.
 */
static bool plausible_map(const struct gobin *gb, const uint64_t *hdr)
{
	const uint8_t *b = (const uint8_t *)hdr;

	if (hdr[0] > (1ULL << 48))
		return false;	/* the entry count */
	if (gb->map_impl == MAP_IMPL_BUCKETS)
		return b[9] < 64;
	if (gb->map_impl == MAP_IMPL_SWISS)
		return (int64_t)hdr[3] >= 0 && hdr[3] <= (1u << 24) &&
		       b[32] < 64 && (hdr[3] || hdr[2]);
	return false;
}

/*
 * The map a map function works on, from its argument spill slots (at its
 * CFA: the register arguments' home in the caller's frame). The compiler
 * spills them only when it must keep them across a call, so a slot may be
 * stale: a value counts only when the slot beside it holds this binary's
 * map type, and the map's header is readable.
 */
static uint64_t map_from_frame(struct guard *g, const struct unwind_frame *f,
			       uint64_t *type)
{
	uint64_t s[2], it[2], hdr[6];
	const char *fn = f->function;
	bool named;

	if (!f->cfa || !mem_read(g, f->cfa, s, sizeof(s)))
		return 0;
	if (!strcmp(fn, "runtime.mapiternext") ||
	    !strcmp(fn, "runtime.mapIterNext")) {
		/* The iterator: its third and fourth words (type, map). */
		if (!mem_read(g, s[0] + 16, it, sizeof(it)))
			return 0;
		s[0] = it[0];
		s[1] = it[1];
	} else if (!strncmp(fn, "internal/runtime/maps.(*Map).", 29)) {
		uint64_t x = s[0];	/* receiver first: (m, typ, ...) */

		s[0] = s[1];
		s[1] = x;
	}
	if (!s[1] || (s[1] & 7) || !is_map_type(g, s[0], &named) ||
	    !mem_read(g, s[1], hdr, sizeof(hdr)))
		return 0;
	if (!named && !plausible_map(g->gb, hdr))
		return 0;
	*type = s[0];
	return s[1];
}

#define STMT_MAX_INSNS	16	/* a statement's code before its call */

/* The map function a direct call (e8 rel32) at link-time a calls. */
static const char *map_call_at(const struct gobin *gb, uint64_t a)
{
	const uint8_t *p = elf_vaddr_ptr(&gb->elf, a, 5);
	const struct pcln_func *f;
	uint64_t to;

	if (!p || p[0] != 0xe8)
		return NULL;
	to = a + 5 + (uint64_t)(int64_t)(int32_t)((uint32_t)p[1] |
		(uint32_t)p[2] << 8 | (uint32_t)p[3] << 16 |
		(uint32_t)p[4] << 24);
	f = pclntab_find_pc(gb->pcln, to);
	return f && f->entry == to && is_map_func(f->name) ? f->name : NULL;
}

/*
 * The map function the code at link-time a is about to call, and the
 * CALL's address: its next few instructions in the same function, with no
 * other call, no return and no indirect jump on the way. A conditional
 * jump backwards is taken (the loop goes on: a goroutine hammering a map
 * is frozen between two of its calls far more often than in neither),
 * one forwards falls through, a direct jump is followed.
 */
static const char *next_map_call(const struct gobin *gb, uint64_t a,
				 uint64_t *call)
{
	const struct pcln_func *fn = pclntab_find_pc(gb->pcln, a);

	for (int i = 0; fn && i < STMT_MAX_INSNS; i++) {
		const uint8_t *p = elf_vaddr_ptr(&gb->elf, a, 1);
		const struct pcln_func *at;
		struct x86_insn in;
		uint64_t to;
		int len;

		if (!p)
			return NULL;
		len = x86_decode(p, 16, &in);
		if (len <= 0 || !elf_vaddr_ptr(&gb->elf, a, len))
			return NULL;
		if (x86_is_call_rel(&in, a, &to)) {
			*call = a;
			return map_call_at(gb, a);
		}
		to = a + len + (uint64_t)in.imm;
		if (x86_is_jcc(&in) && to < a)
			a = to;
		else if (in.map == 0 && (in.opcode == 0xeb || in.opcode == 0xe9))
			a = to;
		else if (in.map == 0 && (in.opcode == 0xc3 || in.opcode == 0xff))
			return NULL;
		else
			a += len;
		at = pclntab_find_pc(gb->pcln, a);
		if (!at || at->entry != fn->entry)
			return NULL;
	}
	return NULL;
}

/*
 * Frozen in the user's code at a call to a map function: about to make it
 * (in its next few instructions, round its loop) or just back from it.
 * The side is the statement that makes the call, so the thread's first
 * frame becomes the CALL's; the map is not known.
 */
static void near_map_call(struct guard *g, struct trace *t,
			  struct snap_thread *st, const struct unwind_frame *fr,
			  int n)
{
	uint64_t bias = g->gb->load_bias, call = 0;
	const char *fn;

	if (!n || !fr[0].function || is_runtime(fr[0].function))
		return;
	if (!g->gb->pcln || st->ip <= bias + 5 || !st->npcs)
		return;
	fn = next_map_call(g->gb, st->ip - bias, &call);
	if (!fn) {
		call = st->ip - bias - 5;
		fn = map_call_at(g->gb, call);
	}
	if (!fn)
		return;
	st->flags |= SNAP_T_AT_MAP_CALL;
	st->map_func = trace_intern_str(t, fn);
	st->pc[0] = call + bias + 1;
}

/*
 * The thread's leading runtime frames: is one a map function? Then the
 * outermost one names it (the call the program made), and the map comes
 * from the first frame that still has it in its spill slots.
 */
static void classify(struct guard *g, struct trace *t, struct snap_thread *st,
		     const struct unwind_frame *fr, int n)
{
	int outer = -1;

	for (int i = 0; i < n && is_runtime(fr[i].function); i++)
		if (is_map_func(fr[i].function))
			outer = i;
	if (outer < 0) {
		near_map_call(g, t, st, fr, n);
		return;
	}
	st->flags |= SNAP_T_IN_MAP;
	st->map_func = trace_intern_str(t, fr[outer].function);
	for (int i = outer; i >= 0 && !st->map; i--)
		if (is_map_func(fr[i].function))
			st->map = map_from_frame(g, &fr[i], &st->map_type);
	if (st->map)
		st->flags |= SNAP_T_MAP_KNOWN;
}

/*
 * On g0 (goid 0): the goroutine its m runs, m.curg, the one that switched
 * to the system stack (a second thread dying in fatalthrow is one). 0 when
 * the runtime's layout is unknown or R14 is not its m's g0.
 */
static uint64_t curg_goid(struct guard *g, uint64_t r14)
{
	const struct rt_layout *l = &g->rt;
	uint64_t m, g0, curg, goid;

	if (!l->ok || !rd64(g, r14 + l->g_m, &m) || !m ||
	    !rd64(g, m + l->m_g0, &g0) || g0 != r14 ||
	    !rd64(g, m + l->m_curg, &curg) || !curg || curg == g0 ||
	    (curg & 7) ||
	    !rd64(g, curg + (uint64_t)g->gb->goid_offset, &goid))
		return 0;
	return goid;
}

/* The goroutine in R14, trusted only when its stack holds SP. */
static void goroutine(struct guard *g, struct snap_thread *st, uint64_t r14)
{
	uint64_t stk[2], goid = 0;

	if (g->gb->goid_offset < 0 || !r14 || (r14 & 7) ||
	    !mem_read(g, r14, stk, sizeof(stk)))
		return;
	if (st->sp < stk[0] || st->sp >= stk[1])
		return;
	if (!mem_read(g, r14 + (uint64_t)g->gb->goid_offset, &goid,
		      sizeof(goid)))
		return;
	if (!goid)
		goid = curg_goid(g, r14);
	st->goid = goid;
	if (goid)
		st->flags |= SNAP_T_ON_G;
}

/*
 * A thread the stop caught at a signal handler's first instruction (a
 * thread-directed signal such as the scheduler's SIGURG is delivered
 * before the process-wide SIGSTOP): its own state is the one the kernel
 * saved in the signal frame, rt_sigframe { pretcode; ucontext }, whose
 * uc_mcontext (40 bytes into the ucontext) is struct sigcontext: r8..r15,
 * rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip.
 */
#define SIGFRAME_MCONTEXT	(8 + 40)
enum { SC_R14 = 6, SC_RBP = 10, SC_RBX = 11, SC_RAX = 13, SC_RSP = 15,
       SC_RIP = 16, SC_WORDS };

static bool at_signal_handler(const struct gobin *gb, uint64_t ip)
{
	const struct pcln_func *f;

	if (!gb->pcln || ip <= gb->load_bias)
		return false;
	f = pclntab_find_pc(gb->pcln, ip - gb->load_bias);
	return f && f->entry == ip - gb->load_bias && f->name &&
	       (!strcmp(f->name, "runtime.sigtramp") ||
		!strcmp(f->name, "runtime.cgoSigtramp"));
}

static void from_signal_frame(struct guard *g, struct gmt_thread_regs *r)
{
	uint64_t sc[SC_WORDS];

	if (!at_signal_handler(g->gb, r->ip) ||
	    !mem_read(g, r->sp + SIGFRAME_MCONTEXT, sc, sizeof(sc)) ||
	    !sc[SC_RIP])
		return;
	r->ip = sc[SC_RIP];
	r->sp = sc[SC_RSP];
	r->bp = sc[SC_RBP];
	r->r14 = sc[SC_R14];
	r->ax = sc[SC_RAX];
	r->bx = sc[SC_RBX];
}

static void snap_one(struct guard *g, struct trace *t,
		     const struct gmt_thread_regs *regs, uint32_t crash_tid,
		     struct snap_thread *st)
{
	struct unwind_frame fr[SNAP_MAX_PCS];
	struct gmt_thread_regs rs = *regs, *r = &rs;
	struct tctx x;
	bool fp = false;
	int n;

	from_signal_frame(g, r);
	x = (struct tctx){ g, r->r14 };
	memset(st, 0, sizeof(*st));
	st->tid = r->tid;
	st->ip = r->ip;
	st->sp = r->sp;
	if (r->tid == crash_tid)
		st->flags |= SNAP_T_CRASHING;
	if (r->state & TASK_STOPPED_BIT)
		st->flags |= SNAP_T_STOPPED;
	goroutine(g, st, r->r14);
	n = unwind_stack_sw(g->gb, tctx_read, to_curg, &x, r->ip, r->sp, r->bp,
			    fr, SNAP_MAX_PCS, &fp);
	if (fp)
		st->flags |= SNAP_T_FP;
	for (int i = 0; i < n; i++)
		st->pc[i] = fr[i].pc + (i ? 0 : 1);
	st->npcs = n;
	classify(g, t, st, fr, n);
}

/* Crashing thread first, then by tid. */
static int by_role(const void *pa, const void *pb)
{
	const struct snap_thread *a = pa, *b = pb;
	int ca = a->flags & SNAP_T_CRASHING, cb = b->flags & SNAP_T_CRASHING;

	if (ca != cb)
		return cb - ca;
	return (a->tid > b->tid) - (a->tid < b->tid);
}

static void fatal_msg(const struct trace *t, uint32_t tid, char *msg,
		      size_t len)
{
	for (size_t i = t->nfatals; i-- > 0;)
		if (t->fatals[i].tid == tid) {
			snprintf(msg, len, "%s", t->fatals[i].msg);
			return;
		}
}

static void hold_for_tests(void)
{
	long ms = env_long("GOMAPTRACE_TEST_HOLD_FREEZE_MS", 0);

	if (ms)
		usleep(ms * 1000);
}

static void resume(struct guard *g, struct trace_freeze *f)
{
	struct gmt_freeze fz;

	if (!fz_get(&g->fz, &fz) || fz.resumed) {
		f->status = SNAP_RELEASED_EARLY;
		return;
	}
	send_cont(g->pidfd);
	fz_set_resumed(&g->fz, 1);
	f->resume_ns = now_ns();
}

/* Reads every thread while the process is stopped; resumes it. */
static int take(struct guard *g, struct trace *t, struct trace_freeze *f)
{
	static struct gmt_thread_regs regs[MAX_THREADS];
	uint64_t until = now_ns() + STOP_WAIT_NS;
	char path[64];
	bool all = false;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)g->pid);
	g->memfd = open(path, O_RDONLY | O_CLOEXEC);
	do
		n = read_threads(g, regs, MAX_THREADS, &all);
	while (n >= 0 && !all && now_ns() < until && !usleep(100));
	f->stopped_ns = now_ns();
	f->threads = calloc(n > 0 ? n : 1, sizeof(*f->threads));
	if (n < 0 || g->memfd < 0 || !f->threads) {
		resume(g, f);
		f->status = SNAP_NOT_FROZEN_FAILED;
		return 0;
	}
	for (int i = 0; i < n; i++)
		snap_one(g, t, &regs[i], f->tid, &f->threads[i]);
	f->nthreads = n;
	hold_for_tests();
	resume(g, f);
	qsort(f->threads, n, sizeof(*f->threads), by_role);
	return 0;
}

static int add(struct trace *t, struct trace_freeze *f)
{
	int r = trace_add_freeze(t, f);

	free(f->threads);
	return r;
}

/* The frozen map's type named in the trace, as the probes' types are. */
static void name_map_type(struct guard *g, struct trace *t, uint64_t type)
{
	char name[1024];

	if (!type || type <= g->gb->load_bias || trace_type_name(t, type))
		return;
	if (!gobin_type_name(g->gb, type - g->gb->load_bias, name,
			     sizeof(name)))
		trace_set_type_name(t, type, name);
	else
		trace_set_type_name(t, type, NULL);
}

/*
 * The snapshot of a freeze (f->msg aside: the fatal record may not have
 * been read yet). The process is resumed when this returns.
 */
static void snapshot(struct guard *g, struct trace *t,
		     const struct gmt_freeze *fz, struct trace_freeze *f)
{
	uint32_t state = fz->state;

	f->mode = g->mode;
	f->tid = fz->tid;
	f->freeze_ns = fz->ns;
	if (state == GMT_FREEZE_SKIP_TRACED) {
		f->status = SNAP_NOT_FROZEN_DEBUGGER;
		f->tracer_pid = tracer_pid(g->pid);
		return;
	}
	if (state != GMT_FROZEN) {
		f->status = SNAP_NOT_FROZEN_FAILED;
		return;
	}
	f->status = SNAP_FROZEN;
	f->tracer_pid = tracer_pid(g->pid);
	if (f->tracer_pid) {
		/* A debugger came after the attach: it sees the stop. */
		resume(g, f);
		f->status = SNAP_NOT_FROZEN_DEBUGGER;
		return;
	}
	take(g, t, f);
	for (size_t i = 0; i < f->nthreads; i++) {
		for (uint32_t j = 0; j < f->threads[i].npcs; j++)
			symcache_pc(t, g->gb, f->threads[i].pc[j]);
		name_map_type(g, t, f->threads[i].map_type);
	}
}

/*
 * Multi mode shares the gobin among the processes of its binary, each
 * with its own load bias (a PIE's differs per process): the snapshot
 * (unwinding, symbolising, naming types) runs with this process's. The
 * gobin is only ever used from one thread (the daemon is single-threaded),
 * and gets its own bias back before this returns.
 */
static void with_bias(struct guard *g, struct trace *t,
		      const struct gmt_freeze *fz, struct trace_freeze *f)
{
	uint64_t own = g->gb->load_bias;

	if (g->multi)
		g->gb->load_bias = g->bias;
	snapshot(g, t, fz, f);
	g->gb->load_bias = own;
}

/*
 * Multi mode: one read of freeze_count per call while no process froze;
 * a look at this process's entry only when some process did.
 */
static bool maybe_frozen(struct guard *g)
{
	uint32_t n;

	if (!g->multi)
		return g->skel->bss->freeze_state == GMT_FROZEN;
	n = g->skel->bss->freeze_count;
	if (n == g->seen_count)
		return false;
	g->seen_count = n;
	return fz_state(&g->fz) == GMT_FROZEN;
}

int guard_early(struct guard *g, struct trace *t)
{
	struct gmt_freeze fz;

	if (!g || g->done || g->early || !g->skel->bss || !maybe_frozen(g))
		return 0;
	if (!fz_get(&g->fz, &fz) || fz.state != GMT_FROZEN)
		return 0;
	g->early = true;
	with_bias(g, t, &fz, &g->pending);
	return 0;
}

int guard_fatal(struct guard *g, struct trace *t)
{
	struct trace_freeze f = { 0 };
	struct gmt_freeze fz;

	if (!g || g->done)
		return 0;
	g->saw_fatal = true;
	if (!g->skel->bss || !fz_get(&g->fz, &fz) || !fz.state)
		return 0;
	g->done = true;
	if (g->early)
		f = g->pending;
	else
		with_bias(g, t, &fz, &f);
	fatal_msg(t, f.tid, f.msg, sizeof(f.msg));
	return add(t, &f);
}

static uint32_t unfrozen_status(const struct guard *g)
{
	if (g->tracer_pid)
		return SNAP_NOT_FROZEN_DEBUGGER;
	if (g->mode == GMT_FREEZE_OFF)
		return SNAP_DISABLED;
	return SNAP_NOT_FROZEN_MODE;
}

/* No more freezes; resumes the process if it is frozen still. */
static void disarm(struct guard *g)
{
	if (!g->skel->bss)
		return;
	if (!g->multi)
		g->skel->bss->freeze_mode = GMT_FREEZE_OFF;
	else if (g->pidfd >= 0)
		set_mode(g, GMT_FREEZE_OFF);	/* fails once unwatched */
	if (frozen(&g->fz, NULL) && g->pidfd >= 0) {
		send_cont(g->pidfd);
		fz_set_resumed(&g->fz, 1);
	}
}

/* Multi mode: the process's freeze entry and ring go with its guard. */
static void forget(struct guard *g)
{
	__u32 tgid = g->pid;

	if (!g->multi || !g->skel->bss)
		return;
	bpf_map_delete_elem(g->fz.fd, &tgid);
	bpf_map_delete_elem(bpf_map__fd(g->skel->maps.guard_rbs), &tgid);
}

void guard_close(struct guard *g, struct trace *t)
{
	if (!g)
		return;
	disarm(g);
	if (t && !g->done && g->early) {
		/* Frozen, but its fatal record never came. */
		g->done = true;
		add(t, &g->pending);
	}
	if (t && !g->done && g->saw_fatal && t->nfatals) {
		struct trace_freeze f = { .status = unfrozen_status(g),
					  .mode = g->mode,
					  .tracer_pid = g->tracer_pid,
					  .tid = t->fatals[0].tid };

		snprintf(f.msg, sizeof(f.msg), "%s", t->fatals[0].msg);
		trace_add_freeze(t, &f);
	}
	if (g->life_fd >= 0)
		close(g->life_fd);
	forget(g);
	if (g->ring_fd >= 0)
		close(g->ring_fd);
	bpf_link__destroy(g->iter);
	if (g->pidfd >= 0)
		close(g->pidfd);
	if (g->memfd >= 0)
		close(g->memfd);
	free(g);
}
