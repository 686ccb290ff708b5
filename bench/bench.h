// simdnn-bench: the shared model of a benchmark case.
//
// A case is one call of one public entry point on one shape (e.g. softmax
// of one 32000-float row). It owns the buffers one call touches (a "set");
// main.cc allocates enough sets to make the working set what the case
// claims and rotates through them, then registers one benchmark per column:
// each ISA of the architecture (forced with simdnn_set_max_isa and checked
// with simdnn_family_isa), the optional peer libraries, and the case's own
// floor loops (floor.h). Benchmark names are family/op/shape/column, which
// scripts/bench_report.py parses.
#ifndef SIMDNN_BENCH_BENCH_H
#define SIMDNN_BENCH_BENCH_H

#include <cstddef>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "floor.h"
#include "simdnn/simdnn.h"

namespace sbench {

// What a case computes; peers (peers_*.cc) use it to build their own call.
enum class Op {
    kSoftmax,
    kLogSoftmax,
    kSoftmaxAxis,
    kPosencTable,
    kPosencAdd,
    kRope,
    kBnInference,
    kBnTraining,
    kBnBackward
};

// One rotation set: the buffers of one call, in the order the op defines
// (see the case builders in bench_<family>.cc).
using Set = std::vector<float *>;

struct Case {
    simdnn_family family;
    Op op;
    std::string op_name;  // "softmax", "inference_nchw", ...
    std::string shape;    // "1x32000", "32x64x56x56", ...
    size_t elements = 0;  // elements produced per call: the ns/element unit

    // Dimensions (softmax: rows, n; general-axis softmax: rows = outer,
    // n = axis, inner; batch norm: n, c, spatial, layout).
    size_t rows = 0, n = 0, inner = 1, c = 0, spatial = 0;
    simdnn_layout layout = SIMDNN_NCHW;

    std::vector<size_t> buffer_floats;  // sizes of the buffers of one set
    // Fills one set; called once per set, deterministically from rng.
    std::function<void(Set &, std::mt19937 &)> init;
    // One call of the simdnn entry point on a set.
    std::function<simdnn_status(Set &)> run;

    // Unique bytes one call reads and writes (each input once, each output
    // once): the bytes/s counter.
    double bytes_read = 0, bytes_written = 0;

    // The floor loop with the same traffic: its mode, its length in floats,
    // and which buffers of the set it reads (a, b) and writes (out); -1 for
    // none.
    floor_mode floor = FLOOR_COPY;
    size_t floor_n = 0;
    int floor_a = -1, floor_b = -1, floor_out = -1;
};

// A peer library's prepared call of one case over all its rotation sets.
class PeerRunner {
  public:
    virtual ~PeerRunner() = default;
    // Runs the call on set `index`; false (with *why) on failure.
    virtual bool run(size_t index, std::string *why) = 0;
};

// A peer library column.
struct Peer {
    std::string name;  // "onednn", "xnnpack"
    // Whether the peer implements this case at all (no column otherwise).
    std::function<bool(const Case &)> supports;
    // Prepares the call on the sets; nullptr with *why when it cannot.
    std::function<std::unique_ptr<PeerRunner>(const Case &,
                                              std::vector<Set> &,
                                              std::string *why)>
        make;
    // "key=value" lines for the report's machine section.
    std::vector<std::pair<std::string, std::string>> context;
};

// Case builders, one file per family, compiled when the family's front-end
// (kernels/<family>/api.c) exists in the tree.
void add_softmax_cases(std::vector<Case> &cases, bool full);
void add_posenc_cases(std::vector<Case> &cases, bool full);
void add_batchnorm_cases(std::vector<Case> &cases, bool full);

// Peers, compiled when found at configure time.
void add_onednn_peer(std::vector<Peer> &peers);
void add_xnnpack_peer(std::vector<Peer> &peers);

// Uniform floats in [lo, hi) into p[0..count).
void fill_uniform(float *p, size_t count, float lo, float hi,
                  std::mt19937 &rng);

}  // namespace sbench

#endif  // SIMDNN_BENCH_BENCH_H
