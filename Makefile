# simdnn: the two commands of the README.
#
#   make test    every test configuration (native, ASan+UBSan, AVX-512
#                through SIMDe, aarch64 under qemu, valgrind, TSan), each
#                in its own directory under build/; one summary at the end
#   make bench   the benchmark report (Release build in build/)
#
# Both first check the Debian packages they need (scripts/deps.sh installs
# the missing ones when run as root, or prints the exact command).
#
# Knobs: JOBS=2 (parallel compile and ctest jobs; the reference machine has
# two cores), CONFIGS="native asan" (a subset of the test configurations),
# SIMDNN_DEPS=skip (do not check packages).

JOBS ?= 2
CONFIGS ?=
export JOBS

.PHONY: all test bench deps clean format help

all: test

help:
	@sed -n '3,14p' Makefile

deps:
	@scripts/deps.sh test

test:
	@scripts/deps.sh test
	@SIMDNN_CONFIGS="$(CONFIGS)" scripts/test.sh

bench:
	@scripts/deps.sh bench
	@scripts/bench.sh

# Reformats the files of the tree that .clang-format governs.
format:
	@git ls-files '*.c' '*.h' '*.cc' '*.cpp' | grep -v '^tests/simde/' | \
	    xargs clang-format -i

clean:
	rm -rf build
