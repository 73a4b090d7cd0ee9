// SPDX-License-Identifier: MIT
/* The cost of one probe hit on this host (calibrate.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <stdlib.h>

#include "calibrate.h"
#include "event.h"
#include "gomaptrace.skel.h"
#include "trace.h"
#include "uprobe_multi.h"

/*
 * Each call is timed alone and the median kept: a loaded host preempts
 * some calls, never most of them (a batch minimum swung 745-1618 ns here
 * under load; this median 1284-1378 ns).
 */
#define CALLS		3000
/*
 * Between two calls the caches are refilled with other data and other
 * code, as a service's own work between two map operations does: a hit
 * then costs what it costs there, not in a hot loop. Here, in ns per hit:
 * 660 hot; 760 after 1 MiB of other writes; 1150-1300 with 192 KiB or
 * more of other code run as well (64 KiB: no change); 2400-2700 after 2
 * MiB (this host's whole L2) and the code. Caddy under wrk, with probes
 * always in, paid 1245 a hit in its CPU per request: 1 MiB and the code
 * is the model, checked against that real server.
 */
#define JUNK_BYTES	(1u << 20)
#define RING_BYTES	(1u << 20)

/*
 * The probed function, shaped as the Go map functions' prologue: a
 * compare, then the jbe the probe sits on (the kernel emulates a jcc; a
 * probe on any other first instruction would be single-stepped, ~36 times
 * dearer: DESIGN-NOTES §1). Called with x > y, the branch is not taken
 * (CF and ZF clear), as when a map function goes on into its body. Its
 * caller hands the probe what a Go call has: a frame-pointer chain of
 * GMT_STACK_DEPTH frames in RBP, a map header in RBX, a g in R14.
 */
uint64_t gmt_calibration_call(uint64_t x, uint64_t y, void *frames,
			      void *map, void *g);
#define CALIB_JBE_OFFSET	3	/* after "cmp %rsi,%rdi" (48 39 f7) */
__asm__(".text\n"
	".type gmt_calibration_target, @function\n"
	"gmt_calibration_target:\n"
	"	cmp %rsi, %rdi\n"
	"	jbe 1f\n"
	"1:	lea 1(%rdi), %rax\n"
	"	ret\n"
	".size gmt_calibration_target, .-gmt_calibration_target\n"
	".globl gmt_calibration_call\n"
	".type gmt_calibration_call, @function\n"
	"gmt_calibration_call:\n"
	"	push %rbp\n"
	"	push %rbx\n"
	"	push %r14\n"
	"	mov %rdx, %rbp\n"
	"	mov %rcx, %rbx\n"
	"	mov %r8, %r14\n"
	"	call gmt_calibration_target\n"
	"	pop %r14\n"
	"	pop %rbx\n"
	"	pop %rbp\n"
	"	ret\n"
	".size gmt_calibration_call, .-gmt_calibration_call\n");
extern char gmt_calibration_target[];

/* 256 KiB of code: 21845 jumps, each over 10 bytes, then a return. */
void gmt_calibration_sled(void);
__asm__(".text\n"
	".type gmt_calibration_sled, @function\n"
	"gmt_calibration_sled:\n"
	".rept 21845\n"
	"	jmp 1f\n"
	"	.skip 10, 0x90\n"
	"1:\n"
	".endr\n"
	"	ret\n"
	".size gmt_calibration_sled, .-gmt_calibration_sled\n");

struct calib {
	struct gomaptrace_bpf *k;
	bool umulti;		/* op_multi as uprobe_multi, as the daemon */
	uint8_t *junk;
	size_t njunk;
	uint64_t frames[2 * GMT_STACK_DEPTH];
	uint64_t map[8];
	uint64_t g[32];
	uint64_t ns[CALLS];
};

static void pollute(struct calib *c)
{
	for (size_t i = 0; i < c->njunk; i += 64)
		c->junk[i]++;
	gmt_calibration_sled();
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The median of CALLS calls, each timed alone after pollute(). */
static double median_call_ns(struct calib *c, struct ring_buffer *rb)
{
	uint64_t x = 1;

	for (int i = 0; i < CALLS; i++) {
		uint64_t t0;

		pollute(c);
		t0 = trace_now_ns();
		x = gmt_calibration_call(x, 0, c->frames, c->map, c->g);
		c->ns[i] = trace_now_ns() - t0;
		if (rb && i % 256 == 255)
			ring_buffer__consume(rb);
	}
	__asm__ volatile("" : : "r"(x));
	qsort(c->ns, CALLS, sizeof(c->ns[0]), cmp_u64);
	return (double)c->ns[CALLS / 2];
}

/* The file offset of our own function, from our mapping of it. */
static int64_t self_offset(uintptr_t addr)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int64_t off = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		uintptr_t lo, hi;
		unsigned long long o;
		char perm[5];

		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %4s %llx", &lo, &hi,
			   perm, &o) != 4)
			continue;
		if (addr >= lo && addr < hi && perm[2] == 'x') {
			off = (int64_t)(addr - lo + o);
			break;
		}
	}
	fclose(f);
	return off;
}

static int drop(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	return 0;
}

/*
 * The daemon's own way in: op_multi, one uprobe_multi link, this pid; a
 * kernel without those, op_assign's link. The link's fd; -2: the link is
 * *l; -1: none, errno set.
 */
static int attach_probe(struct calib *c, int64_t off, struct bpf_link **l)
{
	unsigned long o = (unsigned long)off;
	__u64 cookie = GMT_OP_ASSIGN | GMT_COOKIE_JBE;

	if (c->umulti)
		return uprobe_multi_link(bpf_program__fd(c->k->progs.op_multi),
					 "/proc/self/exe", getpid(), &o,
					 &cookie, 1);
	*l = bpf_program__attach_uprobe(c->k->progs.op_assign, false, 0,
					"/proc/self/exe", (size_t)off);
	return *l ? -2 : -1;
}

static int measure(struct calib *c, double *ns, struct errbuf *err)
{
	int64_t off = self_offset((uintptr_t)gmt_calibration_target +
				  CALIB_JBE_OFFSET);
	struct bpf_link *link = NULL;
	struct ring_buffer *rb;
	double base, probed;
	int fd;

	if (off < 0)
		return errbuf_set(err, "calibration: cannot find our own code "
				  "in /proc/self/maps");
	rb = ring_buffer__new(bpf_map__fd(c->k->maps.events), drop, NULL,
			      NULL);
	if (!rb)
		return errbuf_set(err, "calibration: cannot map the ring buffer");
	base = median_call_ns(c, NULL);
	fd = attach_probe(c, off, &link);
	if (fd == -1) {
		ring_buffer__free(rb);
		return errbuf_set(err, "calibration: cannot attach a uprobe: %s",
				  strerror(errno));
	}
	probed = median_call_ns(c, rb);
	if (fd >= 0)
		close(fd);
	bpf_link__destroy(link);
	ring_buffer__free(rb);
	*ns = probed > base ? probed - base : 0;
	return 0;
}

static void fake_go_call(struct calib *c)
{
	for (int i = 0; i < GMT_STACK_DEPTH; i++) {
		bool last = i == GMT_STACK_DEPTH - 1;

		c->frames[2 * i] = last ? 0 :
				   (uint64_t)(uintptr_t)&c->frames[2 * i + 2];
		c->frames[2 * i + 1] = (uint64_t)(uintptr_t)measure + 16 * i;
	}
	c->map[0] = 5;
}

static int load(struct calib *c, bool umulti, struct errbuf *err)
{
	struct gomaptrace_bpf *k = gomaptrace_bpf__open();
	struct gmt_watch w = { .freeze_mode = GMT_FREEZE_OFF };
	struct bpf_program *prog;
	__u32 tgid = (__u32)getpid();

	if (!k)
		return errbuf_set(err, "calibration: cannot open the BPF object");
	/* The daemon's multi mode, and a bucket map's layout. */
	k->rodata->multi = true;
	k->rodata->goid_offset = 152;
	k->rodata->flag_offset = 8;
	k->rodata->flag_mask = 4;
	bpf_map__set_max_entries(k->maps.events, RING_BYTES);
	bpf_map__set_max_entries(k->maps.histories, 64);
	/* One program to verify, not every one. */
	bpf_object__for_each_program(prog, k->obj)
		bpf_program__set_autoload(prog, false);
	prog = umulti ? k->progs.op_multi : k->progs.op_assign;
	bpf_program__set_autoload(prog, true);
	if (umulti)
		bpf_program__set_expected_attach_type(prog,
						      ATTACH_UPROBE_MULTI);
	if (gomaptrace_bpf__load(k) ||
	    bpf_map_update_elem(bpf_map__fd(k->maps.watched), &tgid, &w, 0)) {
		int e = errno;

		gomaptrace_bpf__destroy(k);
		return errbuf_set(err, "calibration: the kernel refused the "
				  "BPF programs: %s", strerror(e));
	}
	c->k = k;
	c->umulti = umulti;
	return 0;
}

int calibrate_hit_ns(double *ns, struct errbuf *err)
{
	struct calib *c = calloc(1, sizeof(*c));
	int ret = -1;

	if (!c)
		return errbuf_set(err, "calibration: out of memory");
	/* A kernel before uprobe_multi (6.6): per-probe links, as the daemon. */
	if (load(c, true, err) && load(c, false, err))
		goto out;
	c->njunk = JUNK_BYTES;
	c->junk = mmap(NULL, c->njunk, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->junk == MAP_FAILED) {
		errbuf_set(err, "calibration: out of memory");
		goto out;
	}
	fake_go_call(c);
	ret = measure(c, ns, err);
	munmap(c->junk, c->njunk);
out:
	if (c->k)
		gomaptrace_bpf__destroy(c->k);
	free(c);
	return ret;
}
