#!/usr/bin/env bash
# Two revisions of the library side by side, interleaved, in one command:
#
#   scripts/ab.sh [--rounds N] [--filter REGEX] REV_A [REV_B]
#
# Builds libsimdnn of REV_A and of REV_B (default: the working tree) in
# Release under build/ab/, then runs the current tree's simdnn-bench
# (build/bench, built by scripts/bench.sh) N times against each library in
# turn (A, B, A, B, ...; LD_LIBRARY_PATH picks the library, the harness and
# its cases stay the same), and prints per case the minimum over the rounds
# of each, and their ratio A/B (above 1: B is faster). On a shared machine
# the minimum of interleaved rounds moves far less than one run's median:
# a neighbour that slows one round slows A and B alike over the rounds.
#
# Default: 15 rounds of the cases matching --filter (default 'avx2$', the
# AVX2 column of every case; e.g. 'softmax/.*/avx2$'), peers and floors
# left out. The two revisions must share the public ABI (include/simdnn/).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
JOBS=${JOBS:-2}
rounds=15 filter='avx2$'
revs=()
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds=$2; shift ;;
    --filter) filter=$2; shift ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) revs+=("$1") ;;
    esac
    shift
done
[ ${#revs[@]} -ge 1 ] && [ ${#revs[@]} -le 2 ] ||
    { echo "usage: $0 [--rounds N] [--filter REGEX] REV_A [REV_B]" >&2
      exit 2; }

# build_lib NAME SRC: libsimdnn in Release from SRC into build/ab/NAME.
build_lib() {
    local dir=$ROOT/build/ab/$1
    cmake -S "$2" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release \
        -DSIMDNN_BUILD_TESTS=OFF -DSIMDNN_BUILD_BENCH=OFF \
        >"$dir.configure.log" 2>&1 ||
        { echo "$0: configuring $1 failed: $dir.configure.log" >&2; exit 1; }
    cmake --build "$dir/build" --target simdnn --parallel "$JOBS" \
        >"$dir.build.log" 2>&1 ||
        { echo "$0: building $1 failed: $dir.build.log" >&2; exit 1; }
}

# export_rev REV: the tree of REV under build/ab/<sha>/src; prints <sha>.
export_rev() {
    local sha
    sha=$(git -C "$ROOT" rev-parse --short=12 "$1^{commit}")
    if [ ! -f "$ROOT/build/ab/$sha/src/CMakeLists.txt" ]; then
        rm -rf "$ROOT/build/ab/$sha/src"
        mkdir -p "$ROOT/build/ab/$sha/src"
        git -C "$ROOT" archive "$sha" | tar -x -C "$ROOT/build/ab/$sha/src"
    fi
    echo "$sha"
}

mkdir -p "$ROOT/build/ab"
name_a=$(export_rev "${revs[0]}")
build_lib "$name_a" "$ROOT/build/ab/$name_a/src"
if [ ${#revs[@]} -eq 2 ]; then
    name_b=$(export_rev "${revs[1]}")
    build_lib "$name_b" "$ROOT/build/ab/$name_b/src"
else
    name_b=worktree
    mkdir -p "$ROOT/build/ab/worktree"
    build_lib worktree "$ROOT"
fi

# The harness of the current tree, configured as scripts/bench.sh does.
bench_dir=${BUILD_DIR:-$ROOT/build/bench}
cmake -S "$ROOT" -B "$bench_dir" -DCMAKE_BUILD_TYPE=Release \
    -DSIMDNN_BUILD_TESTS=OFF -DSIMDNN_BUILD_BENCH=ON >/dev/null
cmake --build "$bench_dir" --target simdnn-bench --parallel "$JOBS" \
    >"$ROOT/build/ab/bench-build.log" 2>&1 ||
    { echo "$0: building simdnn-bench failed:" \
           "$ROOT/build/ab/bench-build.log" >&2; exit 1; }

out=$ROOT/build/ab/run-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
echo "== A = ${revs[0]} ($name_a), B = ${revs[1]:-working tree}," \
     "$rounds rounds, filter '$filter'"
export OMP_NUM_THREADS=1
for ((r = 1; r <= rounds; r++)); do
    for side in a b; do
        [ $side = a ] && lib=$name_a || lib=$name_b
        LD_LIBRARY_PATH=$ROOT/build/ab/$lib/build \
            "$bench_dir/bench/simdnn-bench" --no-peers \
            --benchmark_filter="$filter" --benchmark_min_time=0.05 \
            --benchmark_format=json >"$out/$side.$r.json" 2>/dev/null
    done
    printf '\r   round %d/%d' "$r" "$rounds"
done
echo

python3 - "$out" "$rounds" <<'PY'
import json, sys
out, rounds = sys.argv[1], int(sys.argv[2])
best = {"a": {}, "b": {}}
order = []
for side in "ab":
    for r in range(1, rounds + 1):
        with open(f"{out}/{side}.{r}.json") as f:
            for b in json.load(f)["benchmarks"]:
                if b.get("error_occurred"):
                    continue
                n = b["name"]
                if n not in order:
                    order.append(n)
                per = b["cpu_time"] / b["elements"]  # time unit per element
                scale = {"ns": 1.0, "us": 1e3, "ms": 1e6}[b["time_unit"]]
                per *= scale
                best[side][n] = min(best[side].get(n, per), per)
w = max((len(n) for n in order), default=4)
print(f"{'case':<{w}}  {'A ns/el':>9}  {'B ns/el':>9}  {'A/B':>6}")
for n in order:
    a, b = best["a"].get(n), best["b"].get(n)
    if a is None or b is None:
        continue
    print(f"{n:<{w}}  {a:9.3f}  {b:9.3f}  {a / b:5.2f}x")
print(f"(minimum over {rounds} rounds each, CPU time per element; "
      f"raw runs in {out})")
PY
