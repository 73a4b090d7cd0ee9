// SPDX-License-Identifier: MIT
/* The cost of one probe hit on this host (calibrate.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>
#include <bpf/libbpf.h>

#include "calibrate.h"
#include "event.h"
#include "gomaptrace.skel.h"

/* Short batches: a loaded host still leaves some unpreempted. */
#define CALLS		400
#define BATCHES		60
/*
 * Between calls the caches are refilled with other data, as a service's
 * own work between two map operations does: a hit then costs what it
 * costs there, not in a hot loop. Here one hit cost 5.5-6.1 us hot and
 * 9.4 us after 1 MiB (this host's L2) of other writes; caddy's CPU per
 * request under probes put it higher still (bench-daemon).
 */
#define POLLUTE_BYTES	(1u << 20)

static uint8_t pollution[POLLUTE_BYTES];
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

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void pollute(void)
{
	for (size_t i = 0; i < POLLUTE_BYTES; i += 64)
		pollution[i]++;
}

/* CALLS calls, each after pollute(): the pollution is in both batches. */
static uint64_t batch_ns(void)
{
	uint64_t frames[2 * GMT_STACK_DEPTH], map[8] = { 5 }, g[32] = { 0 };
	uint64_t t0, x = 1;

	for (int i = 0; i < GMT_STACK_DEPTH; i++) {
		bool last = i == GMT_STACK_DEPTH - 1;

		frames[2 * i] = last ? 0 : (uint64_t)(uintptr_t)&frames[2 * i + 2];
		frames[2 * i + 1] = (uint64_t)(uintptr_t)batch_ns + 16 * i;
	}
	t0 = now_ns();
	for (int i = 0; i < CALLS; i++) {
		pollute();
		x = gmt_calibration_call(x, 0, frames, map, g);
	}
	__asm__ volatile("" : : "r"(x));
	return now_ns() - t0;
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

static uint64_t min_batch(struct ring_buffer *rb)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < BATCHES; i++) {
		uint64_t ns = batch_ns();

		if (ns < best)
			best = ns;
		if (rb)
			ring_buffer__consume(rb);
	}
	return best;
}

static int measure(struct gomaptrace_bpf *k, double *ns, struct errbuf *err)
{
	int64_t off = self_offset((uintptr_t)gmt_calibration_target +
				  CALIB_JBE_OFFSET);
	struct ring_buffer *rb;
	struct bpf_link *link;
	uint64_t base, probed;

	if (off < 0)
		return errbuf_set(err, "calibration: cannot find our own code "
				  "in /proc/self/maps");
	rb = ring_buffer__new(bpf_map__fd(k->maps.events), drop, NULL, NULL);
	if (!rb)
		return errbuf_set(err, "calibration: cannot map the ring buffer");
	base = min_batch(NULL);
	link = bpf_program__attach_uprobe(k->progs.op_assign, false, 0,
					  "/proc/self/exe", (size_t)off);
	if (!link) {
		ring_buffer__free(rb);
		return errbuf_set(err, "calibration: cannot attach a uprobe: %s",
				  strerror(errno));
	}
	probed = min_batch(rb);
	bpf_link__destroy(link);
	ring_buffer__free(rb);
	*ns = probed > base ? (double)(probed - base) / CALLS : 0;
	return 0;
}

int calibrate_hit_ns(double *ns, struct errbuf *err)
{
	struct gomaptrace_bpf *k = gomaptrace_bpf__open();
	int ret;

	if (!k)
		return errbuf_set(err, "calibration: cannot open the BPF object");
	k->rodata->target_tgid = getpid();
	/* A bucket map's layout: what a hit reads is what it reads in Go. */
	k->rodata->goid_offset = 152;
	k->rodata->flag_offset = 8;
	k->rodata->flag_mask = 4;
	bpf_map__set_max_entries(k->maps.events, RING_BYTES);
	bpf_map__set_max_entries(k->maps.histories, 64);
	if (gomaptrace_bpf__load(k)) {
		gomaptrace_bpf__destroy(k);
		return errbuf_set(err, "calibration: the kernel refused the BPF "
				  "programs: %s", strerror(errno));
	}
	ret = measure(k, ns, err);
	gomaptrace_bpf__destroy(k);
	return ret;
}
