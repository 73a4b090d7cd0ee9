# gomaptrace — see README.md. `make` builds build/gomaptrace.

BUILD    := build
# make test SANITIZE=1: the tool and the unit tests built with ASan and
# UBSan into build-san/, then the whole suite run against them.
ifeq ($(SANITIZE),1)
BUILD    := build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	     -fno-omit-frame-pointer
endif
OBJDIR   := $(BUILD)/obj
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Iinclude -Iuser -Iuser/gobin \
	    -I$(BUILD)
CFLAGS   += $(SAN_FLAGS)
# user/gobin reads untrusted binaries and builds without libbpf: it sees
# only its own headers and event.h (no user/, no skeleton).
GOBIN_CFLAGS = $(filter-out -I%,$(CFLAGS)) -Iuser/gobin -Iinclude
LDLIBS   := -lbpf -lelf -lz
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror \
	      -Ivmlinux -Iinclude

USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(patsubst user/%.c,$(OBJDIR)/%.o,$(USER_SRCS))
GOBIN_SRCS := $(wildcard user/gobin/*.c)
GOBIN_HDRS := $(wildcard user/gobin/*.h) include/event.h
GOBIN_OBJS := $(patsubst user/%.c,$(OBJDIR)/%.o,$(GOBIN_SRCS))
GOBIN_LIB := $(BUILD)/libgobin.a
LIB_OBJS  := $(filter-out $(OBJDIR)/main.o,$(USER_OBJS)) $(GOBIN_LIB)
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
# Test drivers the e2e tests run (not commands of the tool).
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(patsubst tests/helpers/%.c,$(BUILD)/tests/helpers/%,$(HELPER_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
# The fuzzers are always sanitized: one set in build/fuzz serves both builds.
FUZZ_DIR  := build/fuzz
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(FUZZ_SRCS))
FUZZ_SECONDS ?= 60
# tests/run_tests.sh runs each fuzzer this long; a finding fails the run.
CI_FUZZ_SECONDS ?= 15

.SECONDARY: $(BPF_OBJS) $(SKELS)

.PHONY: all deps test unit e2e demo bench bench-report fuzz fuzz-build \
	clean vmlinux check-deps install uninstall static bench-deps \
	bench-daemon bench-rss bench-soak

all: $(BUILD)/gomaptrace

deps:
	@scripts/install-deps.sh

$(BUILD)/%.bpf.o: bpf/%.bpf.c include/event.h vmlinux/vmlinux.h | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(OBJDIR)/%.o: user/%.c $(wildcard user/*.h) $(GOBIN_HDRS) $(SKELS) | $(OBJDIR)
	$(CC) $(CFLAGS) -c $< -o $@

$(OBJDIR)/gobin/%.o: user/gobin/%.c $(GOBIN_HDRS) | $(OBJDIR)/gobin
	$(CC) $(GOBIN_CFLAGS) -c $< -o $@

$(GOBIN_LIB): $(GOBIN_OBJS)
	rm -f $@ && $(AR) rcs $@ $^

# `gomaptrace --version` names the commit it was built from.
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null)
$(OBJDIR)/main.o: CFLAGS += -DGMT_REV='"$(GIT_REV)"'

$(BUILD)/gomaptrace: $(USER_OBJS) $(GOBIN_LIB)
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# make static: one binary with libbpf, libelf and zlib inside, to copy to a
# host for an on-call session. pkg-config --static names what the archives
# need in turn (a libelf built with zstd brings -lzstd). The sanitizers do
# not link statically: a SANITIZE=1 make builds it from the plain build/.
STATIC_LIBS = $(shell pkg-config --static --libs libbpf 2>/dev/null || \
		echo -lbpf -lelf -lz)

$(BUILD)/gomaptrace-static: $(USER_OBJS) $(GOBIN_LIB)
	$(CC) $(CFLAGS) -static $^ $(STATIC_LIBS) -o $@

ifeq ($(SANITIZE),1)
static:
	@$(MAKE) --no-print-directory SANITIZE= static
else
static: $(BUILD)/gomaptrace-static
endif

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary, its manual page
# and the systemd unit, its ExecStart pointed at $(PREFIX)/sbin.
PREFIX  ?= /usr/local
SBINDIR := $(PREFIX)/sbin
MAN8DIR := $(PREFIX)/share/man/man8
UNITDIR := $(PREFIX)/lib/systemd/system
INSTALL ?= install

install: $(BUILD)/gomaptrace docs/gomaptrace.8 deploy/gomaptrace.service
	$(INSTALL) -d -m 0755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MAN8DIR) \
		$(DESTDIR)$(UNITDIR)
	$(INSTALL) -m 0755 $(BUILD)/gomaptrace $(DESTDIR)$(SBINDIR)/gomaptrace
	$(INSTALL) -m 0644 docs/gomaptrace.8 $(DESTDIR)$(MAN8DIR)/gomaptrace.8
	sed 's|^ExecStart=/usr/local/sbin/|ExecStart=$(SBINDIR)/|' \
		deploy/gomaptrace.service > $(BUILD)/gomaptrace.service
	$(INSTALL) -m 0644 $(BUILD)/gomaptrace.service \
		$(DESTDIR)$(UNITDIR)/gomaptrace.service

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/gomaptrace $(DESTDIR)$(MAN8DIR)/gomaptrace.8 \
		$(DESTDIR)$(UNITDIR)/gomaptrace.service

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(BUILD)/tests
	$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LDLIBS) -lcmocka -o $@

$(BUILD)/tests/helpers/%: tests/helpers/%.c $(LIB_OBJS) | $(BUILD)/tests/helpers
	$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LDLIBS) -o $@

# libFuzzer needs clang; the readers are rebuilt with the sanitizers and
# coverage into their own libgobin.a. fuzz_trace_file also links the trace
# reader and the reports (FUZZ_APP_LIB: the linker takes only the objects
# they need, and none of those needs libbpf).
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fsanitize=address,undefined \
	       -fno-sanitize-recover=all
FUZZ_OBJDIR := $(FUZZ_DIR)/obj
FUZZ_GOBIN_LIB := $(FUZZ_DIR)/libgobin.a
# Not the modules that load the BPF skeleton (tracer, guard).
FUZZ_APP_SRCS := $(filter-out user/main.c \
		 $(shell grep -l '\.skel\.h"' user/*.c),$(USER_SRCS))
FUZZ_APP_LIB := $(FUZZ_DIR)/libgmt.a

$(FUZZ_OBJDIR)/gobin/%.o: user/gobin/%.c $(GOBIN_HDRS) | $(FUZZ_OBJDIR)/gobin
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -Iuser/gobin \
		-Iinclude -c $< -o $@

$(FUZZ_OBJDIR)/%.o: user/%.c $(wildcard user/*.h) $(GOBIN_HDRS) | $(FUZZ_OBJDIR)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -Iuser -Iuser/gobin \
		-Iinclude -c $< -o $@

$(FUZZ_GOBIN_LIB): $(patsubst user/%.c,$(FUZZ_OBJDIR)/%.o,$(GOBIN_SRCS))
	rm -f $@ && $(AR) rcs $@ $^

$(FUZZ_APP_LIB): $(patsubst user/%.c,$(FUZZ_OBJDIR)/%.o,$(FUZZ_APP_SRCS))
	rm -f $@ && $(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz_trace_file: $(FUZZ_APP_LIB)
$(FUZZ_DIR)/fuzz_trace_file: FUZZ_LIBS := $(FUZZ_APP_LIB)
$(FUZZ_DIR)/fuzz_trace_file: FUZZ_INC := -Iuser

# The other targets see the readers' headers only.
$(FUZZ_DIR)/%: tests/fuzz/%.c $(FUZZ_GOBIN_LIB) | $(FUZZ_DIR)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_INC) -Iuser/gobin \
		-Iinclude $< $(FUZZ_LIBS) $(FUZZ_GOBIN_LIB) -lz -o $@

$(BUILD) $(OBJDIR) $(OBJDIR)/gobin $(BUILD)/tests $(BUILD)/tests/helpers \
$(FUZZ_DIR) \
$(FUZZ_OBJDIR) $(FUZZ_OBJDIR)/gobin:
	mkdir -p $@

unit: $(UNIT_BINS) $(HELPER_BINS)

test: deps all unit fuzz-build static
	@GMT_BUILD=$(BUILD) GMT_FUZZ_DIR=$(FUZZ_DIR) \
		GMT_FUZZ_SECONDS=$(CI_FUZZ_SECONDS) tests/run_tests.sh

e2e: all $(HELPER_BINS)
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

# The daemon's benchmarks (bench/daemon*.sh; none runs in `make test`):
# bench-daemon, caddy's throughput under wrk with the daemon on and off and
# how soon a shared map is reported; bench-rss, the daemon's memory with 20
# Go processes of 3 binaries; bench-soak, its memory and lost records over
# SOAK_SECONDS (default 600) on a busy server. Results in build/bench/.
SOAK_SECONDS ?= 600

bench-deps:
	@bench/daemon-deps.sh

bench-daemon: deps bench-deps all $(BENCH_OUT)/floor
	@BUILD=$(BUILD) bench/daemon.sh

bench-rss: deps bench-deps all
	@BUILD=$(BUILD) bench/daemon-rss.sh

bench-soak: deps bench-deps all
	@BUILD=$(BUILD) SOAK_SECONDS=$(SOAK_SECONDS) bench/daemon-soak.sh

fuzz-build: $(FUZZ_BINS)

fuzz: deps $(FUZZ_BINS)
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

# The committed vmlinux.h comes from the running kernel's BTF.
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

clean:
	rm -rf $(BUILD)
