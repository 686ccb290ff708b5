#!/usr/bin/env bash
# Every test configuration of simdnn, one after the other, each in its own
# build directory under build/ (override with SIMDNN_BUILD_ROOT):
#
#   native    Release build; ctest runs every suite per ISA (scalar and
#             avx2 here; avx512 shows as skipped on a CPU without it), the
#             ABI, install/consumer, threads, examples and simdnn-info tests
#   asan      the same suites with -fsanitize=address,undefined at -O1
#   simde     the AVX-512 sources compiled against SIMDe, so the avx512
#             suites execute on an AVX2 machine
#   aarch64   cross-compiled with gcc-aarch64-linux-gnu, run under
#             qemu-aarch64-static (SIMDNN_TEST_QUICK=1 shortens the largest
#             cases; no case is dropped)
#   valgrind  memcheck over the scalar and avx2 suites of the native build
#             (ctest label "valgrind"; valgrind cannot run AVX-512)
#   tsan      the threads test built with -fsanitize=thread
#   fuzz      the libFuzzer harnesses of tests/fuzz (clang, ASan+UBSan, the
#             SIMDe build so that the inputs reach scalar, avx2 and avx512
#             kernels), SIMDNN_FUZZ_SECONDS (default 20) per harness;
#             `make fuzz` runs only this, longer
#
# SIMDNN_CONFIGS="native tsan" (or `make test CONFIGS=...`) runs a subset.
# JOBS (default 2) is the parallelism of the builds and of ctest. Prints
# ctest's own output, a summary line per configuration and finally
# "N passed, M failed" over the configurations; exits non-zero if any
# configuration failed.
set -u
cd "$(dirname "$0")/.." || exit 2
root=$PWD
jobs=${JOBS:-2}
build_root=${SIMDNN_BUILD_ROOT:-$root/build}
configs=${SIMDNN_CONFIGS:-}
[ -n "$configs" ] || configs="native asan simde fuzz aarch64 valgrind tsan"
host_arch=$(uname -m)

generator=()
if command -v ninja >/dev/null 2>&1; then
    generator=(-G Ninja)
fi

declare -a summary
passed=0
failed=0
start_all=$(date +%s)

# configure DIR ARGS...: a build directory that already exists keeps its
# generator (CMake refuses to switch).
configure() {
    local dir=$1
    shift
    local gen=("${generator[@]}")
    [ -f "$dir/CMakeCache.txt" ] && gen=()
    cmake -S "$root" -B "$dir" "${gen[@]}" -DSIMDNN_BUILD_BENCH=OFF "$@" &&
        configured_ok=1
}

# build DIR ARGS...: keeps going past a failing target, so that ctest
# still runs everything that did build (and lists the rest as not run).
build() {
    local dir=$1
    shift
    local keep_going=-k
    grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja' "$dir/CMakeCache.txt" &&
        keep_going="-k 0"
    # shellcheck disable=SC2086
    cmake --build "$dir" --parallel "$jobs" "$@" -- $keep_going
    local rc=$?
    [ "$rc" -eq 0 ] || echo "== build of $dir FAILED (exit $rc)"
    built_ok=$((rc == 0))
    return 0
}

# run_ctest NAME DIR ARGS...: ctest with its output visible, also kept in
# DIR/ctest-NAME.log for the summary.
run_ctest() {
    local name=$1 dir=$2
    shift 2
    local log="$dir/ctest-$name.log"
    ( cd "$dir" && ctest --output-on-failure -j "$jobs" "$@" ) 2>&1 |
        tee "$log"
    return "${PIPESTATUS[0]}"
}

record() {
    local name=$1 rc=$2 dir=$3 seconds=$4 note=${5:-}
    local line=""
    if [ -f "$dir/ctest-$name.log" ]; then
        line=$(grep -E 'tests passed|No tests were found' \
               "$dir/ctest-$name.log" | tail -1)
        local skipped
        skipped=$(grep -cE '\*\*\*Skipped' \
                  "$dir/ctest-$name.log" || true)
        [ "$skipped" -gt 0 ] && line="$line; $skipped skipped"
    fi
    [ -n "$note" ] && line="$note${line:+; $line}"
    if [ "$rc" -ne 0 ] && [ -f "$dir/ctest-$name.log" ]; then
        local names
        names=$(sed -n '/The following tests FAILED:/,$p' \
                "$dir/ctest-$name.log" |
                sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\).*/\1/p' |
                tr '\n' ' ')
        [ -n "$names" ] && line="$line; failed: ${names% }"
    fi
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        summary+=("$(printf 'PASS  %-9s %4ss  %s' "$name" "$seconds" "$line")")
    else
        failed=$((failed + 1))
        summary+=("$(printf 'FAIL  %-9s %4ss  %s' "$name" "$seconds" "$line")")
    fi
}

banner() {
    echo
    echo "=================================================================="
    echo "== simdnn test configuration: $*"
    echo "=================================================================="
}

config_native() {
    local dir=$build_root/native
    configure "$dir" -DCMAKE_BUILD_TYPE=Release -DSIMDNN_VALGRIND_TESTS=ON &&
        build "$dir" &&
        run_ctest native "$dir" -LE valgrind && ((built_ok))
}

config_asan() {
    local dir=$build_root/asan
    # -O1 -g: fast enough to run the full suites, with usable reports.
    configure "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
        -DSIMDNN_SANITIZE=address,undefined &&
        build "$dir" &&
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_ctest asan "$dir" && ((built_ok))
}

config_simde() {
    local dir=$build_root/simde
    configure "$dir" -DCMAKE_BUILD_TYPE=Release \
        -DSIMDNN_AVX512_VIA_SIMDE=ON &&
        build "$dir" &&
        run_ctest simde "$dir" && ((built_ok))
}

config_aarch64() {
    local dir=$build_root/aarch64
    configure "$dir" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" &&
        build "$dir" &&
        SIMDNN_TEST_QUICK=1 run_ctest aarch64 "$dir" && ((built_ok))
}

config_valgrind() {
    local dir=$build_root/native
    if ! command -v valgrind >/dev/null 2>&1; then
        echo "valgrind not installed (scripts/deps.sh installs it)"
        return 1
    fi
    # The native configuration builds these executables; build again in
    # case it was not selected.
    configure "$dir" -DCMAKE_BUILD_TYPE=Release -DSIMDNN_VALGRIND_TESTS=ON &&
        build "$dir" &&
        SIMDNN_TEST_QUICK=1 run_ctest valgrind "$dir" -L valgrind &&
        ((built_ok))
}

config_tsan() {
    local dir=$build_root/tsan
    # Only the threads test is built and run: the single-threaded suites
    # gain nothing from TSan. halt_on_error: a race fails the test. Clang
    # when installed (its TSan is the reference implementation; GCC's works
    # too), so the library is also compiled by a second compiler.
    local cc=()
    if [ ! -f "$dir/CMakeCache.txt" ] && command -v clang >/dev/null 2>&1 &&
        command -v clang++ >/dev/null 2>&1; then
        cc=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++)
    fi
    configure "$dir" "${cc[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
        -DSIMDNN_SANITIZE=thread &&
        build "$dir" --target test_threads &&
        TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        run_ctest tsan "$dir" -L threads && ((built_ok))
}

config_fuzz() {
    local dir=$build_root/fuzz
    if ! command -v clang >/dev/null 2>&1; then
        echo "clang not installed (scripts/deps.sh installs it)"
        return 1
    fi
    local simde=()
    [ "$host_arch" = x86_64 ] && simde=(-DSIMDNN_AVX512_VIA_SIMDE=ON)
    local cc=()
    [ -f "$dir/CMakeCache.txt" ] ||
        cc=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++)
    # The family suites are not rebuilt here (SIMDNN_BUILD_TESTS=OFF): the
    # other configurations run them.
    configure "$dir" "${cc[@]}" "${simde[@]}" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DSIMDNN_BUILD_TESTS=OFF -DSIMDNN_BUILD_FUZZ=ON \
        -DSIMDNN_SANITIZE=address,undefined \
        -DSIMDNN_FUZZ_SECONDS="${SIMDNN_FUZZ_SECONDS:-20}" &&
        build "$dir" &&
        run_ctest fuzz "$dir" -L fuzz && ((built_ok))
}

for config in $configs; do
    case "$config" in
    native|asan|simde|fuzz|aarch64|valgrind|tsan) ;;
    *)
        echo "unknown configuration '$config' (native asan simde fuzz" \
             "aarch64 valgrind tsan)" >&2
        exit 2
        ;;
    esac
    dir=$build_root/$config
    [ "$config" = valgrind ] && dir=$build_root/native
    if [ "$config" = simde ] && [ "$host_arch" != x86_64 ]; then
        summary+=("$(printf 'SKIP  %-9s        %s' simde \
                   "SIMDe AVX-512 needs an x86-64 host")")
        continue
    fi
    banner "$config ($dir)"
    mkdir -p "$dir"
    rm -f "$dir/ctest-$config.log"
    t0=$(date +%s)
    configured_ok=0
    built_ok=0
    "config_$config"
    rc=$?
    t1=$(date +%s)
    note=""
    if ((!configured_ok)); then
        note="configure failed"
    elif ((!built_ok)); then
        note="build failed"
    fi
    record "$config" "$rc" "$dir" $((t1 - t0)) "$note"
done

echo
echo "=================================================================="
echo "== simdnn test summary ($(( $(date +%s) - start_all )) s)"
echo "=================================================================="
for line in "${summary[@]}"; do
    echo "$line"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
