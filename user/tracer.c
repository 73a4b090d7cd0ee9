// SPDX-License-Identifier: MIT
/*
 * The kernel side's lifecycle behind tracer.h: open the skeleton,
 * configure it through .rodata, load, attach one uprobe per probe site,
 * drain the BPF ring buffer, detach.
 *
 * The per-thread history of the flight recorder is kept here from the
 * records delivered, and merged with the kernel's history of the records
 * the ring buffer had no room for.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gomaptrace.skel.h"
#include "link_reaper.h"
#include "tracer.h"
#include "uprobe_multi.h"

#define DEFAULT_RINGBUF_BYTES	(64u << 20)
#define MIN_RINGBUF_BYTES	(64u << 10)
#define CRASH_ONLY_RINGBUF_BYTES	(1u << 20)
#define POLL_SLICE_MS		10

/* The delivered half of every thread's history. */
struct hist_table {
	uint32_t *tids;		/* 0 = empty bucket */
	struct gmt_history *h;
	size_t cap;		/* power of two */
	size_t n;
};

struct tracer {
	struct gomaptrace_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link **links;
	size_t nlinks;
	size_t nslow;
	bool multi;
	bool umulti;		/* op_multi loaded as uprobe_multi */
	struct hist_table hist;
	/* The current tracer_poll() call's consumer. */
	tracer_event_fn fn;
	void *fn_ctx;
	int seen;
	bool stopped;
};

/* A ring buffer many tracers write to (tracer_opts.ring). */
struct tracer_ring {
	int map_fd;
	struct ring_buffer *rb;
	tracer_event_fn fn;
	void *fn_ctx;
	int seen, max;
};

/* libbpf stays quiet unless -v asks for its log (-vv: its debug log). */
static int verbosity;

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG && verbosity < 2)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void setup_libbpf_log(void)
{
	libbpf_set_print(verbosity ? libbpf_print : NULL);
}

void tracer_set_verbosity(int level)
{
	verbosity = level;
	setup_libbpf_log();
}

int tracer_verbosity(void)
{
	return verbosity;
}

static bool no_permission(int e)
{
	return e == EPERM || e == EACCES;
}

static int perm_error(struct errbuf *err)
{
	/* Measured on 6.18: CAP_BPF+CAP_PERFMON load, but uprobes refuse. */
	return errbuf_set(err, "no permission to trace: run as root "
			  "(CAP_BPF+CAP_PERFMON load BPF programs; uprobes "
			  "also need CAP_SYS_ADMIN)");
}

/* What the kernel must offer, checked first for a clear message. */
static int check_kernel(struct errbuf *err)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return errbuf_set(err, "this kernel has no BTF "
				  "(/sys/kernel/btf/vmlinux): gomaptrace needs "
				  "Linux >= 5.8 built with CONFIG_DEBUG_INFO_BTF");
	if (access("/sys/bus/event_source/devices/uprobe/type", R_OK))
		return errbuf_set(err, "this kernel has no uprobe event source "
				  "(/sys/bus/event_source/devices/uprobe): "
				  "gomaptrace needs CONFIG_UPROBE_EVENTS");
	return 0;
}

void tracer_opts_set_ops(struct tracer_opts *o, uint32_t mask)
{
	for (int i = 0; i < GMT_NOPS; i++)
		o->ops[i] = mask & (1u << i);
}

/* Minor version of "go1.N[.M]", or -1 when the string says nothing. */
static int go_minor(const char *v)
{
	int minor;

	if (sscanf(v, "go1.%d", &minor) != 1)
		return -1;
	return minor;
}

/*
 * The probes read arguments from registers and g from R14: Go's register
 * ABI, amd64 since Go 1.17. Older binaries pass arguments on the stack, and
 * reading registers there would report garbage. When the version is not
 * known, a map function whose stack check compares against 0x10(%r14) is
 * the proof (Go 1.16 loads g from %fs instead).
 */
static int check_register_abi(const struct gobin *gb, struct errbuf *err)
{
	int minor = go_minor(gb->go_version);

	if (minor >= 0 && minor < 17)
		return errbuf_set(err, "%s is built with %s, which passes "
				  "arguments on the stack: gomaptrace traces "
				  "Go 1.17 and later (register ABI)",
				  gb->exe, gb->go_version);
	if (minor >= 17)
		return 0;
	for (size_t i = 0; i < gb->nprobes; i++) {
		if (gb->probes[i].op != GMT_OP_FATAL &&
		    gb->probes[i].method == PROBE_BRANCH)
			return 0;
	}
	return errbuf_set(err, "cannot tell %s's Go version, and its map "
			  "functions do not keep g in R14: gomaptrace traces "
			  "Go 1.17 and later (register ABI)", gb->exe);
}

static int check_opts(const struct gobin *gb, const struct tracer_opts *o,
		      struct errbuf *err)
{
	uint32_t n = o->ringbuf_bytes;

	if (n && (n < MIN_RINGBUF_BYTES || (n & (n - 1))))
		return errbuf_set(err, "ring buffer size %u is not a power of "
				  "two of at least %u bytes", n,
				  MIN_RINGBUF_BYTES);
	if (o->pid < 0)
		return errbuf_set(err, "invalid pid %d", (int)o->pid);
	if (o->multi && o->pid)
		return errbuf_set(err, "a tracer of many processes takes no "
				  "pid (%d): give each to tracer_watch",
				  (int)o->pid);
	if (gb->flag.mask > 0xff)
		return errbuf_set(err, "write flag mask 0x%x does not fit the "
				  "runtime's flag byte", gb->flag.mask);
	return check_register_abi(gb, err);
}

static void configure(struct tracer *t, const struct gobin *gb,
		      const struct tracer_opts *o)
{
	struct gomaptrace_bpf__rodata *ro = t->skel->rodata;

	ro->target_tgid = o->pid;
	ro->multi = o->multi;
	ro->goid_offset = gb->goid_offset;
	ro->flag_offset = gb->flag.offset;
	ro->flag_mask = gb->flag.mask;
	ro->seed_offset = gb->seed.source != SRC_NONE ?
			  (__s32)gb->seed.offset : GMT_SEED_NONE;
}

static bool crash_only(const struct tracer_opts *o)
{
	for (int i = 0; i < GMT_NOPS; i++)
		if (o->ops[i] && i != GMT_OP_FATAL)
			return false;
	return true;
}

static void skip_op_programs(struct gomaptrace_bpf *k)
{
	struct bpf_program *progs[] = {
		k->progs.op_assign, k->progs.op_assign_e,
		k->progs.op_delete, k->progs.op_delete_e,
		k->progs.op_clear, k->progs.op_clear_e,
		k->progs.op_iter_init, k->progs.op_iter_init_e,
		k->progs.op_iter_next, k->progs.op_iter_next_e,
		k->progs.op_assign_site, k->progs.op_delete_site,
		k->progs.op_clear_site, k->progs.op_iter_init_site,
		k->progs.op_iter_next_site, k->progs.op_multi,
	};

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
		bpf_program__set_autoload(progs[i], false);
}

static int load_once(struct tracer *t, const struct gobin *gb,
		     const struct tracer_opts *o, struct errbuf *err)
{
	uint32_t bytes = o->ringbuf_bytes ? o->ringbuf_bytes
					  : DEFAULT_RINGBUF_BYTES;
	int e;

	t->skel = gomaptrace_bpf__open();
	if (!t->skel)
		return errbuf_set(err, "cannot open the BPF object: %s",
				  strerror(errno));
	configure(t, gb, o);
	t->multi = o->multi;
	if (!o->multi) {
		/* Multi mode's per-process maps: one unused entry each. */
		bpf_map__set_max_entries(t->skel->maps.watched, 1);
		bpf_map__set_max_entries(t->skel->maps.freezes, 1);
		bpf_map__set_max_entries(t->skel->maps.guard_rbs, 1);
	}
	if (o->ring &&
	    bpf_map__reuse_fd(t->skel->maps.events, o->ring->map_fd))
		return errbuf_set(err, "cannot share the ring buffer: %s",
				  strerror(errno));
	/* Multi mode may attach map-operation probes per process later. */
	if (t->umulti)
		bpf_program__set_expected_attach_type(t->skel->progs.op_multi,
						      ATTACH_UPROBE_MULTI);
	else
		bpf_program__set_autoload(t->skel->progs.op_multi, false);
	if (crash_only(o) && !o->multi) {
		/*
		 * Only the fatal probes: the map-operation programs are not
		 * loaded (the verifier's time goes with them), and a few
		 * fatal records need no 64 MiB, nor a history per thread.
		 */
		skip_op_programs(t->skel);
		if (!o->ringbuf_bytes)
			bytes = CRASH_ONLY_RINGBUF_BYTES;
		bpf_map__set_max_entries(t->skel->maps.histories, 1);
	}
	if (!o->ring && bpf_map__set_max_entries(t->skel->maps.events, bytes))
		return errbuf_set(err, "cannot size the ring buffer to %u bytes",
				  bytes);
	e = gomaptrace_bpf__load(t->skel);
	if (!e)
		return 0;
	e = e < 0 ? -e : errno;
	if (no_permission(e))
		return perm_error(err);
	return errbuf_set(err, "the kernel refused gomaptrace's BPF programs: "
			  "%s (-vv shows libbpf's log)",
			  strerror(e));
}

/*
 * Multi mode tries op_multi as uprobe_multi first (Linux >= 6.6); a
 * kernel without it gets the per-probe links instead.
 */
static int load(struct tracer *t, const struct gobin *gb,
		const struct tracer_opts *o, struct errbuf *err)
{
	if (check_opts(gb, o, err) || check_kernel(err))
		return -1;
	t->umulti = o->multi;
	if (!load_once(t, gb, o, err))
		return 0;
	if (!t->umulti)
		return -1;
	gomaptrace_bpf__destroy(t->skel);
	t->skel = NULL;
	t->umulti = false;
	err->msg[0] = '\0';
	return load_once(t, gb, o, err);
}

/* A jbe site's program skips the pass that goes to runtime.morestack. */
static struct bpf_program *prog_for(struct tracer *t,
				     const struct probe_site *p)
{
	bool jbe = p->method == PROBE_BRANCH;
	struct gomaptrace_bpf *k = t->skel;

	switch (p->op) {
	case GMT_OP_ASSIGN:
		return jbe ? k->progs.op_assign : k->progs.op_assign_e;
	case GMT_OP_DELETE:
		return jbe ? k->progs.op_delete : k->progs.op_delete_e;
	case GMT_OP_CLEAR:
		return jbe ? k->progs.op_clear : k->progs.op_clear_e;
	case GMT_OP_ITER_INIT:
		return jbe ? k->progs.op_iter_init : k->progs.op_iter_init_e;
	case GMT_OP_ITER_NEXT:
		return jbe ? k->progs.op_iter_next : k->progs.op_iter_next_e;
	default:
		return jbe ? k->progs.fatal : k->progs.fatal_e;
	}
}

static struct bpf_link *attach_at(struct bpf_program *prog, pid_t pid,
				   const char *path, const char *function,
				   int64_t file_offset, struct errbuf *err)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo);
	struct bpf_link *link;
	int e;

	if (file_offset < 0) {
		errbuf_set(err, "no file offset for %s in %s", function, path);
		return NULL;
	}
	link = bpf_program__attach_uprobe_opts(prog, pid, path,
					       (size_t)file_offset, &uo);
	if (link)
		return link;
	e = errno;
	if (no_permission(e))
		perm_error(err);
	else
		errbuf_set(err, "cannot attach a uprobe to %s (%s, file "
			   "offset 0x%llx): %s", function, path,
			   (unsigned long long)file_offset, strerror(e));
	return NULL;
}

static int attach_one(struct tracer *t, const struct gobin *gb,
		      const struct probe_site *p, pid_t pid,
		      struct errbuf *err)
{
	struct bpf_link *link = attach_at(prog_for(t, p), pid, gb->path,
					  p->function, p->file_offset, err);

	if (!link)
		return -1;
	t->links[t->nlinks++] = link;
	if (p->method == PROBE_ENTRY_SLOW)
		t->nslow++;
	return 0;
}

static int attach(struct tracer *t, const struct gobin *gb,
		  const struct tracer_opts *o, struct errbuf *err)
{
	/* pid 0 means every process that runs this binary (-1 to libbpf). */
	pid_t pid = o->pid ? o->pid : -1;

	t->links = calloc(gb->nprobes ? gb->nprobes : 1, sizeof(*t->links));
	if (!t->links)
		return errbuf_set(err, "out of memory");
	for (size_t i = 0; i < gb->nprobes; i++) {
		const struct probe_site *p = &gb->probes[i];

		if ((unsigned)p->op >= GMT_NOPS || !o->ops[p->op])
			continue;
		if (attach_one(t, gb, p, pid, err))
			return -1;
	}
	if (!t->nlinks)
		return errbuf_set(err, "%s has none of the runtime functions "
				  "asked for: nothing to trace", gb->exe);
	return 0;
}

/* ---- the delivered half of the flight recorder ---- */

static size_t hist_bucket(const struct hist_table *ht, uint32_t tid)
{
	size_t i = (tid * 2654435761u) & (ht->cap - 1);

	while (ht->tids[i] && ht->tids[i] != tid)
		i = (i + 1) & (ht->cap - 1);
	return i;
}

static int hist_grow(struct hist_table *ht)
{
	struct hist_table bigger = { .cap = ht->cap ? ht->cap * 2 : 64 };

	bigger.tids = calloc(bigger.cap, sizeof(*bigger.tids));
	bigger.h = calloc(bigger.cap, sizeof(*bigger.h));
	if (!bigger.tids || !bigger.h) {
		free(bigger.tids);
		free(bigger.h);
		return -1;
	}
	for (size_t i = 0; i < ht->cap; i++) {
		size_t j;

		if (!ht->tids[i])
			continue;
		j = hist_bucket(&bigger, ht->tids[i]);
		bigger.tids[j] = ht->tids[i];
		bigger.h[j] = ht->h[i];
	}
	bigger.n = ht->n;
	free(ht->tids);
	free(ht->h);
	*ht = bigger;
	return 0;
}

static struct gmt_history *hist_get(struct hist_table *ht, uint32_t tid,
				    bool add)
{
	size_t i;

	if (!ht->cap) {
		if (!add || hist_grow(ht))
			return NULL;
	}
	i = hist_bucket(ht, tid);
	if (ht->tids[i])
		return &ht->h[i];
	if (!add)
		return NULL;
	if ((ht->n + 1) * 2 > ht->cap) {
		if (hist_grow(ht))
			return NULL;
		i = hist_bucket(ht, tid);
	}
	ht->tids[i] = tid;
	ht->n++;
	return &ht->h[i];
}

static void hist_record(struct hist_table *ht, const struct gmt_event *ev)
{
	struct gmt_history *h = hist_get(ht, ev->tid, true);
	struct gmt_hist_op *op;

	if (!h)
		return;	/* out of memory: the stream itself is unaffected */
	op = &h->ops[h->next % GMT_HISTORY_LEN];
	memset(op, 0, sizeof(*op));
	op->ts_ns = ev->ts_ns;
	op->map = ev->map;
	op->goid = ev->goid;
	op->op = ev->op;
	op->flags = ev->flags;
	op->nstack = ev->nstack;
	memcpy(op->stack, ev->stack, sizeof(op->stack));
	h->next++;
}

static void hist_free(struct hist_table *ht)
{
	free(ht->tids);
	free(ht->h);
	memset(ht, 0, sizeof(*ht));
}

/* ---- draining ---- */

/*
 * A record from the ring as an event, and as a fatal record when it is
 * one; false when it is too short for what its op says.
 */
static bool record_view(void *data, size_t size, const struct gmt_event **ev,
			const struct gmt_fatal_event **fatal)
{
	*ev = data;
	*fatal = NULL;
	if (size < sizeof(**ev))
		return false;
	if ((*ev)->op != GMT_OP_FATAL)
		return true;
	if (size < sizeof(**fatal))
		return false;
	*fatal = data;
	return true;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;
	const struct gmt_event *ev;
	const struct gmt_fatal_event *fatal;

	if (!record_view(data, size, &ev, &fatal))
		return 0;
	if (!fatal)
		hist_record(&t->hist, ev);
	t->seen++;
	if (!t->fn(t->fn_ctx, ev, fatal))
		return 0;
	/* Only a negative return makes libbpf stop consuming. */
	t->stopped = true;
	return -ECANCELED;
}

/* Whatever is ready, whatever epoll says: map operations never wake us. */
static int consume(struct tracer *t)
{
	int n = ring_buffer__consume(t->rb);

	return n == -ECANCELED ? 0 : n;
}

int tracer_open(struct tracer **out, const struct gobin *gb,
		const struct tracer_opts *opts, struct errbuf *err)
{
	struct tracer *t;

	*out = NULL;
	setup_libbpf_log();
	t = calloc(1, sizeof(*t));
	if (!t)
		return errbuf_set(err, "out of memory");
	if (load(t, gb, opts, err) || attach(t, gb, opts, err))
		goto fail;
	if (opts->ring) {
		/* Read through the ring's reader (tracer_ring_consume). */
		*out = t;
		return 0;
	}
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events), on_record,
				 t, NULL);
	if (!t->rb) {
		errbuf_set(err, "cannot map the BPF ring buffer: %s",
			   strerror(errno));
		goto fail;
	}
	*out = t;
	return 0;
fail:
	tracer_close(t);
	return -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Map operations never wake us (a wakeup per record cost microseconds per
 * map operation), so the ring buffer is looked at every POLL_SLICE_MS; a
 * fatal record wakes us at once.
 */
int tracer_poll(struct tracer *t, int timeout_ms, tracer_event_fn fn,
		void *ctx)
{
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int n, wait;

	if (!t->rb)
		return -EINVAL;	/* a shared ring: tracer_ring_consume() */
	t->fn = fn;
	t->fn_ctx = ctx;
	t->seen = 0;
	t->stopped = false;
	for (;;) {
		n = consume(t);
		if (n < 0)
			return n;
		if (t->seen || t->stopped)
			break;
		wait = timeout_ms < 0 ? POLL_SLICE_MS
				      : (int)(deadline - now_ms());
		if (wait <= 0)
			break;
		if (wait > POLL_SLICE_MS)
			wait = POLL_SLICE_MS;
		n = ring_buffer__poll(t->rb, wait);
		if (n == -EINTR)
			break;
		if (n < 0 && n != -ECANCELED)
			return n;
	}
	return t->seen;
}

uint64_t tracer_lost(struct tracer *t)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals, sum = 0;
	uint32_t zero = 0;

	if (ncpu <= 0)
		return 0;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return 0;
	if (!bpf_map__lookup_elem(t->skel->maps.lost, &zero, sizeof(zero),
				  vals, ncpu * sizeof(*vals), 0))
		for (int i = 0; i < ncpu; i++)
			sum += vals[i];
	free(vals);
	return sum;
}

size_t tracer_nattached(const struct tracer *t, size_t *nslow)
{
	if (nslow)
		*nslow = t->nslow;
	return t->nlinks;
}

/* ---- the flight recorder: delivered and undelivered ops, merged ---- */

/* h's ops oldest first into out; returns how many. */
static int hist_ops(const struct gmt_history *h, const struct gmt_hist_op **out)
{
	uint32_t n = h->next < GMT_HISTORY_LEN ? h->next : GMT_HISTORY_LEN;

	for (uint32_t i = 0; i < n; i++)
		out[i] = &h->ops[(h->next - n + i) % GMT_HISTORY_LEN];
	return n;
}

/* The last GMT_HISTORY_LEN ops of both, in time order, into out. */
static void hist_merge(const struct gmt_history *a, const struct gmt_history *b,
		       struct gmt_history *out)
{
	const struct gmt_hist_op *pa[GMT_HISTORY_LEN], *pb[GMT_HISTORY_LEN];
	const struct gmt_hist_op *all[2 * GMT_HISTORY_LEN];
	int na = hist_ops(a, pa), nb = hist_ops(b, pb), n = 0, ia = 0, ib = 0;
	int keep;

	while (ia < na || ib < nb) {
		if (ib == nb || (ia < na && pa[ia]->ts_ns <= pb[ib]->ts_ns))
			all[n++] = pa[ia++];
		else
			all[n++] = pb[ib++];
	}
	memset(out, 0, sizeof(*out));
	out->next = a->next + b->next;
	keep = n < GMT_HISTORY_LEN ? n : GMT_HISTORY_LEN;
	for (int i = 0; i < keep; i++)
		out->ops[(out->next - keep + i) % GMT_HISTORY_LEN] =
			*all[n - keep + i];
}

int tracer_histories(struct tracer *t, tracer_history_fn fn, void *ctx)
{
	int fd = bpf_map__fd(t->skel->maps.histories);
	static const struct gmt_history none;
	struct gmt_history *kern, *merged;
	uint32_t key, next;
	void *prev = NULL;
	int n = 0;

	kern = malloc(sizeof(*kern));
	merged = malloc(sizeof(*merged));
	if (!kern || !merged) {
		free(kern);
		free(merged);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->hist.cap; i++) {
		key = t->hist.tids[i];
		if (!key)
			continue;
		if (bpf_map_lookup_elem(fd, &key, kern))
			*kern = none;
		hist_merge(&t->hist.h[i], kern, merged);
		fn(ctx, key, merged);
		n++;
	}
	/* Threads all of whose ops were lost. */
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (hist_get(&t->hist, key, false) ||
		    bpf_map_lookup_elem(fd, &key, kern))
			continue;
		fn(ctx, key, kern);
		n++;
	}
	free(kern);
	free(merged);
	return n;
}

int tracer_watch(struct tracer *t, pid_t pid)
{
	struct gmt_watch w = { .freeze_mode = GMT_FREEZE_OFF };
	__u32 tgid = pid;

	if (!t->multi || pid <= 0) {
		errno = EINVAL;
		return -1;
	}
	/* Already watched: its entry (its guard's mode) stays as it is. */
	if (!bpf_map_update_elem(bpf_map__fd(t->skel->maps.watched), &tgid,
				 &w, BPF_NOEXIST) || errno == EEXIST)
		return 0;
	return -1;
}

void tracer_unwatch(struct tracer *t, pid_t pid)
{
	__u32 tgid = pid;

	if (t->multi && pid > 0)
		bpf_map_delete_elem(bpf_map__fd(t->skel->maps.watched), &tgid);
}

bool tracer_multi(const struct tracer *t)
{
	return t->multi;
}

void tracer_close(struct tracer *t)
{
	if (!t)
		return;
	ring_buffer__free(t->rb);
	for (size_t i = 0; i < t->nlinks; i++)
		link_reaper_destroy(t->links[i]);
	free(t->links);
	gomaptrace_bpf__destroy(t->skel);
	hist_free(&t->hist);
	free(t);
}

struct gomaptrace_bpf *tracer_skel(struct tracer *t)
{
	return t->skel;
}

static struct bpf_program *site_prog(struct tracer *t, uint8_t op)
{
	struct gomaptrace_bpf *k = t->skel;

	switch (op) {
	case GMT_OP_ASSIGN:
		return k->progs.op_assign_site;
	case GMT_OP_DELETE:
		return k->progs.op_delete_site;
	case GMT_OP_CLEAR:
		return k->progs.op_clear_site;
	case GMT_OP_ITER_INIT:
		return k->progs.op_iter_init_site;
	case GMT_OP_ITER_NEXT:
		return k->progs.op_iter_next_site;
	}
	return NULL;
}

/* ---- many tracers, one ring buffer (the daemon's) ---- */

static int ring_record(void *ctx, void *data, size_t size)
{
	struct tracer_ring *r = ctx;
	const struct gmt_event *ev;
	const struct gmt_fatal_event *fatal;

	if (!record_view(data, size, &ev, &fatal))
		return 0;
	r->seen++;
	if (!r->fn(r->fn_ctx, ev, fatal) && r->seen < r->max)
		return 0;
	return -ECANCELED;	/* only a negative return stops libbpf */
}

int tracer_ring_new(struct tracer_ring **out, uint32_t bytes,
		    struct errbuf *err)
{
	struct tracer_ring *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return errbuf_set(err, "out of memory");
	r->map_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "gmt_events", 0, 0,
				   bytes, NULL);
	if (r->map_fd < 0) {
		int e = errno;

		free(r);
		if (no_permission(e))
			return perm_error(err);
		return errbuf_set(err, "cannot make a %u-byte BPF ring buffer: "
				  "%s", bytes, strerror(e));
	}
	r->rb = ring_buffer__new(r->map_fd, ring_record, r, NULL);
	if (!r->rb) {
		errbuf_set(err, "cannot map the BPF ring buffer: %s",
			   strerror(errno));
		tracer_ring_free(r);
		return -1;
	}
	*out = r;
	return 0;
}

int tracer_ring_fd(const struct tracer_ring *r)
{
	return ring_buffer__epoll_fd(r->rb);
}

int tracer_ring_consume(struct tracer_ring *r, int max, tracer_event_fn fn,
			void *ctx)
{
	int n;

	r->fn = fn;
	r->fn_ctx = ctx;
	r->seen = 0;
	r->max = max > 0 ? max : INT32_MAX;
	n = ring_buffer__consume(r->rb);
	if (n < 0 && n != -ECANCELED)
		return n;
	return r->seen;
}

void tracer_ring_free(struct tracer_ring *r)
{
	if (!r)
		return;
	ring_buffer__free(r->rb);
	if (r->map_fd >= 0)
		close(r->map_fd);
	free(r);
}

/* ---- one process's own probes on a multi-mode tracer ---- */

static int links_add(struct tracer_links *tl, struct bpf_link *l)
{
	struct bpf_link **more;

	if (tl->n == tl->cap) {
		size_t cap = tl->cap ? tl->cap * 2 : 16;

		more = realloc(tl->l, cap * sizeof(*more));
		if (!more)
			return -1;
		tl->l = more;
		tl->cap = cap;
	}
	tl->l[tl->n++] = l;
	return 0;
}

static int links_attach(struct tracer_links *tl, struct bpf_program *prog,
			pid_t pid, const char *path, const char *function,
			int64_t file_offset, struct errbuf *err)
{
	struct bpf_link *l = attach_at(prog, pid, path, function, file_offset,
				       err);

	if (!l)
		return -1;
	if (!links_add(tl, l))
		return 0;
	link_reaper_destroy(l);
	return errbuf_set(err, "out of memory");
}

/* One link for n offsets of path, in process pid only. */
static int umulti_link(struct tracer *t, const char *path, pid_t pid,
		       const unsigned long *offs, const __u64 *cookies,
		       size_t n, struct tracer_links *tl, struct errbuf *err)
{
	int fd = uprobe_multi_link(bpf_program__fd(t->skel->progs.op_multi),
				   path, pid, offs, cookies, n);

	if (fd < 0) {
		int e = errno;

		if (no_permission(e))
			return perm_error(err);
		return errbuf_set(err, "cannot attach %zu uprobes to %s in "
				  "PID %d: %s", n, path, (int)pid,
				  strerror(e));
	}
	tl->fd = fd;
	tl->has_fd = true;
	tl->n = n;
	return 0;
}

/* op_multi's offsets and cookies for the map functions in ops_mask. */
static int attach_pid_umulti(struct tracer *t, const struct gobin *gb,
			     pid_t pid, uint32_t ops_mask,
			     struct tracer_links *tl, struct errbuf *err)
{
	unsigned long *offs = calloc(gb->nprobes + 1, sizeof(*offs));
	__u64 *cookies = calloc(gb->nprobes + 1, sizeof(*cookies));
	size_t n = 0, nslow = 0;
	int ret = -1;

	if (!offs || !cookies) {
		errbuf_set(err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < gb->nprobes; i++) {
		const struct probe_site *p = &gb->probes[i];

		if ((unsigned)p->op >= GMT_NOPS || p->op == GMT_OP_FATAL ||
		    !(ops_mask & (1u << p->op)) || p->file_offset < 0)
			continue;
		offs[n] = (unsigned long)p->file_offset;
		cookies[n++] = p->op | (p->method == PROBE_BRANCH ?
					GMT_COOKIE_JBE : 0);
		nslow += p->method == PROBE_ENTRY_SLOW;
	}
	if (!n) {
		errbuf_set(err, "%s has none of the runtime functions asked "
			   "for", gb->exe);
		goto out;
	}
	ret = umulti_link(t, gb->path, pid, offs, cookies, n, tl, err);
	tl->nslow = nslow;
out:
	free(offs);
	free(cookies);
	return ret;
}

int tracer_attach_pid(struct tracer *t, const struct gobin *gb, pid_t pid,
		      uint32_t ops_mask, struct tracer_links *tl,
		      struct errbuf *err)
{
	if (!t->multi || pid <= 0)
		return errbuf_set(err, "per-process probes need a multi-mode "
				  "tracer and a pid");
	if (t->umulti)
		return attach_pid_umulti(t, gb, pid, ops_mask, tl, err);
	for (size_t i = 0; i < gb->nprobes; i++) {
		const struct probe_site *p = &gb->probes[i];

		if ((unsigned)p->op >= GMT_NOPS || !(ops_mask & (1u << p->op)))
			continue;
		if (links_attach(tl, prog_for(t, p), pid, gb->path, p->function,
				 p->file_offset, err))
			goto fail;
		if (p->method == PROBE_ENTRY_SLOW)
			tl->nslow++;
	}
	if (tl->n)
		return 0;
	errbuf_set(err, "%s has none of the runtime functions asked for",
		   gb->exe);
fail:
	tracer_links_drop(tl);
	return -1;
}

int tracer_attach_sites_pid(struct tracer *t, const struct gobin *gb,
			    pid_t pid, const struct site_probe *sp, size_t n,
			    struct tracer_links *tl, struct errbuf *err)
{
	if (t->umulti && n) {
		unsigned long offs[TRACER_MAX_SITES];
		__u64 cookies[TRACER_MAX_SITES];
		size_t k = 0;

		for (size_t i = 0; i < n && k < TRACER_MAX_SITES; i++) {
			if (sp[i].op >= GMT_NOPS || sp[i].op == GMT_OP_FATAL ||
			    sp[i].file_offset < 0)
				continue;
			offs[k] = (unsigned long)sp[i].file_offset;
			cookies[k++] = sp[i].op | GMT_COOKIE_SITE;
		}
		return k ? umulti_link(t, gb->path, pid, offs, cookies, k, tl,
				       err) : 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct bpf_program *prog = site_prog(t, sp[i].op);

		if (!prog)
			continue;
		if (links_attach(tl, prog, pid, gb->path, "a call site",
				 sp[i].file_offset, err)) {
			tracer_links_drop(tl);
			return -1;
		}
	}
	return 0;
}

void tracer_links_drop(struct tracer_links *tl)
{
	if (tl->has_fd)
		link_reaper_close(tl->fd);
	for (size_t i = 0; tl->l && i < tl->n; i++)
		link_reaper_destroy(tl->l[i]);
	free(tl->l);
	memset(tl, 0, sizeof(*tl));
}

uint64_t tracer_watch_lost(struct tracer *t, pid_t pid)
{
	struct gmt_watch w;
	__u32 tgid = pid;

	if (!t->multi || bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.watched),
					     &tgid, &w))
		return 0;
	return w.lost;
}
