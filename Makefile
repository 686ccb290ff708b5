# simdnn: the two commands of the README.
#
#   make test    every test configuration (native, ASan+UBSan, AVX-512
#                through SIMDe, libFuzzer, aarch64 under qemu, valgrind,
#                TSan), each in its own directory under build/; one summary
#                at the end
#   make bench   the benchmark report (scripts/bench.sh: Release build in
#                build/bench, report folder under bench-out/)
#   make fuzz    only the libFuzzer configuration, FUZZ_SECONDS (default
#                300) per harness instead of make test's 20
#
# Each first checks the Debian packages it needs (scripts/deps.sh installs
# the missing ones when run as root, or prints the exact command).
#
# Knobs: JOBS=2 (parallel compile and ctest jobs; the reference machine has
# two cores), CONFIGS="native asan" (a subset of the test configurations),
# SIMDNN_DEPS=skip (do not check packages), BENCH_ARGS="--full" (options of
# scripts/bench.sh).

JOBS ?= 2
CONFIGS ?=
FUZZ_SECONDS ?= 300
export JOBS

.PHONY: all test bench fuzz deps clean format help

all: test

help:
	@sed -n '3,19p' Makefile

deps:
	@bash scripts/deps.sh test

test:
	@bash scripts/deps.sh test
	@SIMDNN_CONFIGS="$(CONFIGS)" bash scripts/test.sh

fuzz:
	@bash scripts/deps.sh test
	@SIMDNN_CONFIGS=fuzz SIMDNN_FUZZ_SECONDS=$(FUZZ_SECONDS) \
	    bash scripts/test.sh

bench:
	@bash scripts/deps.sh bench
	@bash scripts/bench.sh $(BENCH_ARGS)

# Reformats the files of the tree that .clang-format governs.
format:
	@git ls-files '*.c' '*.h' '*.cc' '*.cpp' | grep -v '^tests/simde/' | \
	    xargs clang-format -i

clean:
	rm -rf build
