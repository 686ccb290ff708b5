#!/usr/bin/env bash
# The benchmark report in one command (what `make bench` runs).
#
#   scripts/bench.sh [--full] [--out DIR] [--filter REGEX] [--no-peers]
#                    [--no-build] [-- EXTRA GOOGLE BENCHMARK FLAGS]
#   scripts/bench.sh --compare A B [--out DIR]
#
# Builds simdnn-bench (Release, in $BUILD_DIR, default build/bench), runs
# every family x ISA x shape beside the peers and the memory floor, and
# writes into one folder (default bench-out/<UTC date-time>/):
#   results.json  Google Benchmark JSON (every repetition and the medians)
#   console.log   the harness's full console output
#   table.txt     the terminal table, also printed at the end
#   report.md     machine section, warnings, tables per family, chart
#   chart.png     throughput against size, one line per ISA
#   simdnn-info.txt  what tools/simdnn-info says about this build and CPU
# The default run takes 2-4 minutes on a 2-core machine (min_time 0.05 s,
# 3 repetitions, medians); --full samples longer (0.2 s, 5 repetitions;
# about 30 minutes) and adds sizes. --compare puts two results.json (or
# report folders) side by side with a ratio per case and a summary line
# per family.
#
# Environment: BUILD_DIR, JOBS (default 2), SIMDNN_MAX_ISA (caps the ISAs
# benchmarked, e.g. scalar), PYTHON (default: the python3 that has
# matplotlib).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build/bench}
JOBS=${JOBS:-2}
# The Python that has matplotlib (Debian's python3-matplotlib lives in
# /usr/bin/python3, which a pyenv or venv python3 on PATH does not see).
if [ -z "${PYTHON:-}" ]; then
    PYTHON=python3
    for cand in python3 /usr/bin/python3; do
        if "$cand" -c 'import matplotlib' >/dev/null 2>&1; then
            PYTHON=$cand
            break
        fi
    done
fi
REPORT="$ROOT/scripts/bench_report.py"

full=0 build=1 out="" filter="" peers=1
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
    --compare)
        [ $# -ge 3 ] || { echo "usage: $0 --compare A B [--out DIR]" >&2
                          exit 2; }
        shift
        exec "$PYTHON" "$REPORT" --compare "$@" ;;
    --full) full=1 ;;
    --no-build) build=0 ;;
    --no-peers) peers=0 ;;
    --out) out=$2; shift ;;
    --out=*) out=${1#--out=} ;;
    --filter) filter=$2; shift ;;
    --filter=*) filter=${1#--filter=} ;;
    --) shift; extra+=("$@"); break ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "$0: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

if [ "$build" = 1 ]; then
    echo "== building simdnn-bench (Release) in $BUILD_DIR"
    cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
        -DSIMDNN_BUILD_TESTS=OFF -DSIMDNN_BUILD_BENCH=ON >/dev/null
    set +e
    cmake --build "$BUILD_DIR" --target simdnn-bench -j "$JOBS" \
        >"$BUILD_DIR/bench-build.log" 2>&1
    built=$?
    set -e
    grep -E 'error|warning|Built target simdnn-bench' \
        "$BUILD_DIR/bench-build.log" || true
    if [ "$built" != 0 ]; then
        echo "$0: the build failed (full log: $BUILD_DIR/bench-build.log)" >&2
        exit 1
    fi
    # simdnn-info goes into the report when it builds; never required.
    cmake --build "$BUILD_DIR" --target simdnn-info -j "$JOBS" \
        >>"$BUILD_DIR/bench-build.log" 2>&1 || true
fi
BENCH="$BUILD_DIR/bench/simdnn-bench"
if [ ! -x "$BENCH" ]; then
    echo "$0: $BENCH was not built (is libbenchmark-dev installed?)" >&2
    exit 1
fi

stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
out=${out:-$ROOT/bench-out/$stamp}
mkdir -p "$out"
out=$(cd "$out" && pwd)

args=()
if [ "$full" = 1 ]; then
    args+=(--full --benchmark_min_time=0.2 --benchmark_repetitions=5)
else
    args+=(--benchmark_min_time=0.05 --benchmark_repetitions=3)
fi
[ "$peers" = 1 ] || args+=(--no-peers)
[ -z "$filter" ] || args+=("--benchmark_filter=$filter")
args+=(--benchmark_display_aggregates_only=true
       --benchmark_out="$out/results.json" --benchmark_out_format=json)
args+=("${extra[@]+"${extra[@]}"}")

if [ -x "$BUILD_DIR/tools/simdnn-info" ]; then
    "$BUILD_DIR/tools/simdnn-info" >"$out/simdnn-info.txt" 2>&1 || true
fi

# One thread for the peers too (oneDNN uses OpenMP).
export OMP_NUM_THREADS=1

list_args=(--benchmark_list_tests=true)
[ "$peers" = 1 ] || list_args+=(--no-peers)
[ "$full" = 0 ] || list_args+=(--full)
[ -z "$filter" ] || list_args+=("--benchmark_filter=$filter")
total=$("$BENCH" "${list_args[@]}" 2>/dev/null | grep -c / || true)
cmd="$BENCH ${args[*]}"
echo "== running $total benchmarks (progress: one line per benchmark)"
echo "   $cmd"
# Progress: the median line of each benchmark and every skip, numbered;
# the whole console output goes to console.log.
"$BENCH" "${args[@]}" 2>&1 | tee "$out/console.log" | awk -v total="$total" '
    /_median/ { n++; sub(/_median/, "", $1); per = "";
                for (i = 4; i <= NF; i++)
                    if ($i ~ /^per_element=/) per = substr($i, 13);
                printf "[%d/%d] %s cpu %s %s (%s/element)\n", n, total,
                       $1, $4, $5, per;
                fflush(); next }
    /ERROR OCCURRED/ { if (seen[$1]++) next;
                       n++; printf "[%d/%d] %s\n", n, total, $0; fflush();
                       next }
    /^simdnn-bench:|WARNING|Failed to match|[Ee]rror/ { print; fflush() }'
status=${PIPESTATUS[0]}
if [ "$status" != 0 ]; then
    echo "$0: simdnn-bench exited with status $status (see" \
         "$out/console.log); reporting what it finished" >&2
fi

echo
if [ -s "$out/results.json" ] && [ "$total" != 0 ]; then
    "$PYTHON" "$REPORT" "$out/results.json" --out "$out" \
        --title "simdnn benchmark report ($stamp)" --command "$cmd" ||
        status=$?
else
    echo "$0: no benchmark ran (filter '$filter' matched none?)" >&2
    status=1
fi
echo
echo "Report folder: $out"
exit "$status"
