# gomaptrace — see README.md. `make` builds build/gomaptrace.

BUILD    := build
OBJDIR   := $(BUILD)/obj
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Iinclude -Iuser -I$(BUILD)
LDLIBS   := -lbpf -lelf -lz
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror \
	      -Ivmlinux -Iinclude

USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(patsubst user/%.c,$(OBJDIR)/%.o,$(USER_SRCS))
LIB_OBJS  := $(filter-out $(OBJDIR)/main.o,$(USER_OBJS))
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_SECONDS ?= 60

.SECONDARY: $(BPF_OBJS) $(SKELS)

.PHONY: all deps test unit e2e demo bench bench-report fuzz clean vmlinux check-deps

all: $(BUILD)/gomaptrace

deps:
	@scripts/install-deps.sh

$(BUILD)/%.bpf.o: bpf/%.bpf.c include/event.h vmlinux/vmlinux.h | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(OBJDIR)/%.o: user/%.c $(wildcard include/*.h user/*.h) $(SKELS) | $(OBJDIR)
	$(CC) $(CFLAGS) -c $< -o $@

# `gomaptrace --version` names the commit it was built from.
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null)
$(OBJDIR)/main.o: CFLAGS += -DGMT_REV='"$(GIT_REV)"'

$(BUILD)/gomaptrace: $(USER_OBJS)
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(BUILD)/tests
	$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LDLIBS) -lcmocka -o $@

# libFuzzer needs clang; the whole reader is rebuilt with the sanitizers.
$(BUILD)/fuzz/%: tests/fuzz/%.c $(USER_SRCS) $(SKELS) | $(BUILD)/fuzz
	$(CLANG) -std=gnu11 -g -O1 -Iinclude -Iuser -I$(BUILD) \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		$< $(filter-out user/main.c,$(USER_SRCS)) $(LDLIBS) -o $@

$(BUILD) $(OBJDIR) $(BUILD)/tests $(BUILD)/fuzz:
	mkdir -p $@

unit: $(UNIT_BINS)

test: deps all unit
	@tests/run_tests.sh

e2e: all
	@tests/run_tests.sh --e2e-only

demo: deps all
	@examples/demo.sh

# make bench: bench/run.sh times a Go map-write loop untraced, under the
# floor (bench/floor.bpf.c: one counter bump at the same probe, loaded by
# bench/floor.c) and under `gomaptrace run`.
BENCH_OUT := $(BUILD)/bench

$(BENCH_OUT)/floor.bpf.o: bench/floor.bpf.c vmlinux/vmlinux.h | $(BENCH_OUT)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BENCH_OUT)/floor.skel.h: $(BENCH_OUT)/floor.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(BENCH_OUT)/floor: bench/floor.c $(BENCH_OUT)/floor.skel.h
	$(CC) $(CFLAGS) -I$(BENCH_OUT) $< $(LDLIBS) -o $@

$(BENCH_OUT):
	mkdir -p $@

bench: deps all $(BENCH_OUT)/floor
	@BUILD=$(BUILD) bench/run.sh

# make bench-report: bench/report.sh times `report` on a generated trace of
# 21 M operations over 1.2 M maps (bench/gen_trace.c).
$(BENCH_OUT)/gen_trace: bench/gen_trace.c $(LIB_OBJS) | $(BENCH_OUT)
	$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LDLIBS) -o $@

bench-report: all $(BENCH_OUT)/gen_trace
	@BUILD=$(BUILD) bench/report.sh

fuzz: deps $(FUZZ_BINS)
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

# The committed vmlinux.h comes from the running kernel's BTF.
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

clean:
	rm -rf $(BUILD)
