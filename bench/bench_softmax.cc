// Softmax cases: rows from attention (64, 128 .. 8192 keys), classifier
// vocabularies (1000 ImageNet classes, 4096, 32000 LLaMA-2, 65536, 128256
// LLaMA-3), a 256 x 1000 batch, and a 2^24-float row that lives in DRAM;
// log-softmax on the vocabulary sizes; the general-axis form as a
// semantic-segmentation head (21 PASCAL VOC classes over the pixels of an
// NCHW tensor: outer 1, axis 21, inner H*W) at 128x128 and 512x512.
//
// Set layout: [0] x (rows*n), [1] y (rows*n). Inputs are uniform in
// [-8, 8): every exp is in range and no output is denormal, so the timing
// is the ordinary path.
//
// Floor: FLOOR_READ_COPY, read x twice and write y once. No softmax can do
// less once its row has left the cache (the maximum and the sum must be
// known before the first output), and none does less traffic in cache
// either: a three-pass kernel re-reads x from L1/L2, which the floor loop
// also does.
#include <algorithm>

#include "bench.h"

namespace sbench {

static void add_rows(std::vector<Case> &cases, Op op, size_t rows, size_t n)
{
    Case k;
    k.family = SIMDNN_FAMILY_SOFTMAX;
    k.op = op;
    k.op_name = op == Op::kSoftmax ? "softmax" : "log_softmax";
    k.shape = std::to_string(rows) + "x" + std::to_string(n);
    k.rows = rows;
    k.n = n;
    k.elements = rows * n;
    k.buffer_floats = {rows * n, rows * n};
    size_t count = rows * n;
    k.init = [count](Set &set, std::mt19937 &rng) {
        fill_uniform(set[0], count, -8.0f, 8.0f, rng);
        fill_uniform(set[1], count, 0.0f, 1.0f, rng);
    };
    if (op == Op::kSoftmax) {
        k.run = [rows, n](Set &set) {
            return simdnn_softmax_f32(set[0], set[1], rows, n, n, n, 0);
        };
    } else {
        k.run = [rows, n](Set &set) {
            return simdnn_log_softmax_f32(set[0], set[1], rows, n, n, n, 0);
        };
    }
    k.bytes_read = 4.0 * count;
    k.bytes_written = 4.0 * count;
    k.floor = FLOOR_READ_COPY;
    k.floor_n = count;
    k.floor_a = 0;
    k.floor_out = 1;
    cases.push_back(k);
}

static void add_axis(std::vector<Case> &cases, size_t outer, size_t axis,
                     size_t inner)
{
    Case k;
    k.family = SIMDNN_FAMILY_SOFTMAX;
    k.op = Op::kSoftmaxAxis;
    k.op_name = "softmax_axis";
    k.shape = std::to_string(outer) + "x" + std::to_string(axis) + "x" +
              std::to_string(inner);
    k.rows = outer;
    k.n = axis;
    k.inner = inner;
    size_t count = outer * axis * inner;
    k.elements = count;
    k.buffer_floats = {count, count};
    k.init = [count](Set &set, std::mt19937 &rng) {
        fill_uniform(set[0], count, -8.0f, 8.0f, rng);
        fill_uniform(set[1], count, 0.0f, 1.0f, rng);
    };
    k.run = [outer, axis, inner](Set &set) {
        return simdnn_softmax_axis_f32(set[0], set[1], outer, axis, inner,
                                       0);
    };
    k.bytes_read = 4.0 * count;
    k.bytes_written = 4.0 * count;
    k.floor = FLOOR_READ_COPY;
    k.floor_n = count;
    k.floor_a = 0;
    k.floor_out = 1;
    cases.push_back(k);
}

void add_softmax_cases(std::vector<Case> &cases, bool full)
{
    std::vector<size_t> row_sizes = {64,   128,  256,   512,   1000,
                                     1024, 2048, 4096,  8192,  32000,
                                     65536, 128256, size_t(1) << 24};
    if (full) {
        for (size_t n : {16, 32, 16384, 262144, 1 << 20, 1 << 22})
            row_sizes.push_back(n);
    }
    std::sort(row_sizes.begin(), row_sizes.end());
    for (size_t n : row_sizes)
        add_rows(cases, Op::kSoftmax, 1, n);
    add_rows(cases, Op::kSoftmax, 256, 1000);
    for (size_t n : {size_t(64), size_t(1000), size_t(4096), size_t(32000),
                     size_t(128256), size_t(1) << 24})
        add_rows(cases, Op::kLogSoftmax, 1, n);
    add_rows(cases, Op::kLogSoftmax, 256, 1000);
    add_axis(cases, 1, 21, 128 * 128);
    add_axis(cases, 1, 21, 512 * 512);
    if (full)
        add_axis(cases, 8, 1000, 1);  // the degenerate inner = 1 case
}

}  // namespace sbench
