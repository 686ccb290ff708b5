#!/usr/bin/env bash
# Checks the Debian 12 packages that `make test` or `make bench` needs and
# installs the missing ones when run as root (apt-get, noninteractive);
# otherwise prints the exact command to run and fails.
#
#   scripts/deps.sh test     everything the test configurations use
#   scripts/deps.sh bench    what the benchmark report uses
#
# SIMDNN_DEPS=skip skips the check (for machines that are not Debian and
# were set up by hand). On a system without dpkg the check is skipped with
# a warning: the configure steps then report what is missing.
set -euo pipefail

profile=${1:-test}

if [ "${SIMDNN_DEPS:-}" = skip ]; then
    exit 0
fi
if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: no dpkg here; not checking packages (see scripts/deps.sh" \
         "for the list)" >&2
    exit 0
fi

# Build essentials and the library's one dependency (SLEEF).
common=(make cmake ninja-build gcc g++ pkg-config binutils libsleef-dev git)
case "$profile" in
test)
    # simde: the AVX-512 kernels under emulation; the aarch64 cross
    # toolchain, SLEEF for arm64 and qemu: the aarch64 configuration;
    # valgrind: memcheck over the scalar and AVX2 suites; clang and its
    # sanitizer runtimes (libclang-rt-dev, only recommended by clang): the
    # ThreadSanitizer build and the libFuzzer harnesses.
    packages=("${common[@]}" libsimde-dev gcc-aarch64-linux-gnu
              g++-aarch64-linux-gnu binutils-aarch64-linux-gnu
              qemu-user-static libsleef-dev:arm64 valgrind clang
              libclang-rt-dev)
    ;;
bench)
    # Google Benchmark; python3 + matplotlib for the report and its chart;
    # oneDNN, XNNPACK (and its pthreadpool) as the peers bench/ compares
    # against when they are present.
    packages=("${common[@]}" libbenchmark-dev python3 python3-matplotlib
              libdnnl-dev libxnnpack-dev libpthreadpool-dev)
    ;;
*)
    echo "usage: scripts/deps.sh [test|bench]" >&2
    exit 2
    ;;
esac

# A package name without an architecture is the native one; with several
# architectures installed (libsleef-dev and libsleef-dev:arm64) dpkg-query
# needs it qualified, while an Architecture: all package must not be.
native_arch=$(dpkg --print-architecture)
installed() {
    local name=$1 status
    case "$name" in *:*) ;; *)
        status=$(dpkg-query -W -f='${db:Status-Status}' "$name:$native_arch" \
                 2>/dev/null || true)
        [ "$status" = installed ] && return 0 ;;
    esac
    status=$(dpkg-query -W -f='${db:Status-Status}' "$name" 2>/dev/null ||
             true)
    [ "$status" = installed ]
}

missing=()
for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#packages[@]} packages for '$profile' are installed"
    exit 0
fi

need_arm64=false
for p in "${missing[@]}"; do
    case "$p" in *:arm64) need_arm64=true ;; esac
done
arch_step=""
if $need_arm64 && ! dpkg --print-foreign-architectures | grep -qx arm64
then
    arch_step="dpkg --add-architecture arm64 && "
fi

echo "deps: missing for '$profile': ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: not root; install them with:" >&2
    echo "  sudo sh -c '${arch_step}apt-get update &&" \
         "DEBIAN_FRONTEND=noninteractive apt-get install -y" \
         "--no-install-recommends ${missing[*]}'" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if [ -n "$arch_step" ]; then
    dpkg --add-architecture arm64
fi
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
still=()
for p in "${packages[@]}"; do
    installed "$p" || still+=("$p")
done
if [ ${#still[@]} -ne 0 ]; then
    echo "deps: still missing after apt-get: ${still[*]}" >&2
    exit 1
fi
echo "deps: installed ${missing[*]}"
