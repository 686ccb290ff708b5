// Batch-normalization cases: N=32, C=64, 56x56 (a ResNet stage-1 training
// batch, 6.4M floats) and the ResNet-50 layer shapes at batch 1 (C=64 at
// 112x112 down to C=2048 at 7x7), both layouts, for inference (no ReLU),
// training forward (momentum 0.9, i.e. PyTorch's 0.1) and backward.
// eps = 1e-5 as in PyTorch.
//
// Set layouts (per-channel arrays hold c floats):
//   inference: [0] x, [1] y, [2] gamma, [3] beta, [4] mean, [5] var
//   training:  [0] x, [1] y, [2] gamma, [3] beta, [4] batch_mean,
//              [5] batch_var, [6] running_mean, [7] running_var
//   backward:  [0] x, [1] dy, [2] dx, [3] gamma, [4] mean, [5] var,
//              [6] dgamma, [7] dbeta
//
// Floors: inference is a copy (FLOOR_COPY: the non-temporal copy of the
// same tensor when it does not fit in the cache); training must read x for
// its statistics before it can write y (FLOOR_READ_COPY: read 2x, write
// 1x); backward must reduce dy and dy*xhat before it can write dx
// (FLOOR_READ2_COMBINE2: read x and dy twice, write dx once).
#include "bench.h"

namespace sbench {

static const float kEps = 1e-5f;
static const float kMomentum = 0.9f;

struct Shape {
    size_t n, c, h, w;
};

static void fill_channels(Set &set, std::initializer_list<int> which,
                          size_t c, float lo, float hi, std::mt19937 &rng)
{
    for (int i : which)
        fill_uniform(set[i], c, lo, hi, rng);
}

static void add_shape(std::vector<Case> &cases, Op op, Shape s,
                      simdnn_layout layout)
{
    Case k;
    k.family = SIMDNN_FAMILY_BATCHNORM;
    k.op = op;
    const char *lay = layout == SIMDNN_NCHW ? "nchw" : "nhwc";
    const char *what = op == Op::kBnInference  ? "inference_"
                       : op == Op::kBnTraining ? "training_"
                                               : "backward_";
    k.op_name = std::string(what) + lay;
    k.shape = std::to_string(s.n) + "x" + std::to_string(s.c) + "x" +
              std::to_string(s.h) + "x" + std::to_string(s.w);
    size_t n = s.n, c = s.c, spatial = s.h * s.w;
    size_t count = n * c * spatial;
    k.n = n;
    k.c = c;
    k.spatial = spatial;
    k.layout = layout;
    k.elements = count;
    k.floor_n = count;
    switch (op) {
    case Op::kBnInference:
        k.buffer_floats = {count, count, c, c, c, c};
        k.init = [=](Set &set, std::mt19937 &rng) {
            fill_uniform(set[0], count, -2.0f, 2.0f, rng);
            fill_uniform(set[1], count, 0.0f, 1.0f, rng);
            fill_channels(set, {2, 3, 4}, c, -1.0f, 1.0f, rng);
            fill_channels(set, {5}, c, 0.5f, 2.0f, rng);
        };
        k.run = [=](Set &set) {
            return simdnn_batchnorm_inference_f32(
                set[0], set[1], n, c, spatial, layout, set[2], set[3],
                set[4], set[5], kEps, 0);
        };
        k.bytes_read = 4.0 * count;
        k.bytes_written = 4.0 * count;
        k.floor = FLOOR_COPY;
        k.floor_a = 0;
        k.floor_out = 1;
        break;
    case Op::kBnTraining:
        k.buffer_floats = {count, count, c, c, c, c, c, c};
        k.init = [=](Set &set, std::mt19937 &rng) {
            fill_uniform(set[0], count, -2.0f, 2.0f, rng);
            fill_uniform(set[1], count, 0.0f, 1.0f, rng);
            fill_channels(set, {2, 3, 4, 5, 6}, c, -1.0f, 1.0f, rng);
            fill_channels(set, {7}, c, 0.5f, 2.0f, rng);
        };
        k.run = [=](Set &set) {
            return simdnn_batchnorm_training_f32(
                set[0], set[1], n, c, spatial, layout, set[2], set[3], kEps,
                kMomentum, set[4], set[5], set[6], set[7], 0);
        };
        k.bytes_read = 4.0 * count;
        k.bytes_written = 4.0 * count;
        k.floor = FLOOR_READ_COPY;
        k.floor_a = 0;
        k.floor_out = 1;
        break;
    default:
        k.buffer_floats = {count, count, count, c, c, c, c, c};
        k.init = [=](Set &set, std::mt19937 &rng) {
            fill_uniform(set[0], count, -2.0f, 2.0f, rng);
            fill_uniform(set[1], count, -1.0f, 1.0f, rng);
            fill_uniform(set[2], count, 0.0f, 1.0f, rng);
            fill_channels(set, {3, 4, 6, 7}, c, -0.5f, 0.5f, rng);
            fill_channels(set, {5}, c, 1.0f, 1.5f, rng);
        };
        k.run = [=](Set &set) {
            return simdnn_batchnorm_backward_f32(
                set[0], set[1], set[2], n, c, spatial, layout, set[3],
                set[4], set[5], kEps, set[6], set[7]);
        };
        k.bytes_read = 8.0 * count;
        k.bytes_written = 4.0 * count;
        k.floor = FLOOR_READ2_COMBINE2;
        k.floor_a = 0;
        k.floor_b = 1;
        k.floor_out = 2;
        break;
    }
    cases.push_back(k);
}

void add_batchnorm_cases(std::vector<Case> &cases, bool full)
{
    // ResNet-50 v1.5 batch-norm layers at batch 1: conv1, then the first
    // and the widest layer of each stage (torchvision's layout).
    std::vector<Shape> shapes = {
        {32, 64, 56, 56},  {1, 64, 112, 112}, {1, 64, 56, 56},
        {1, 256, 56, 56},  {1, 128, 28, 28},  {1, 512, 28, 28},
        {1, 256, 14, 14},  {1, 1024, 14, 14}, {1, 512, 7, 7},
        {1, 2048, 7, 7},
    };
    if (full) {
        shapes.push_back({1, 128, 56, 56});
        shapes.push_back({1, 512, 14, 14});
        shapes.push_back({1, 3, 224, 224});
    }
    for (Op op : {Op::kBnInference, Op::kBnTraining, Op::kBnBackward})
        for (simdnn_layout layout : {SIMDNN_NCHW, SIMDNN_NHWC})
            for (const Shape &s : shapes)
                add_shape(cases, op, s, layout);
}

}  // namespace sbench
