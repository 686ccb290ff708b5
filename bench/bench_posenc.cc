// Positional-encoding cases: sinusoidal tables of 2048 x 512 (the original
// Transformer's d_model at a 2k context) and 8192 x 1024, both layouts; the
// fused add into a 4096 x 4096 embedding matrix; RoPE on a 4096-token x
// 32-head x 128 tensor (LLaMA-7B attention at a 4k context), both styles.
// Positions start at 0, base 10000.
//
// Set layout: [0] the table or the tensor updated in place.
//
// Floors: the table is a pure write (FLOOR_WRITE: streaming stores when
// the table does not fit in the cache); the add and RoPE read and write
// their tensor once in place (FLOOR_RMW).
#include "bench.h"

namespace sbench {

static const char *layout_name(simdnn_posenc_layout layout)
{
    return layout == SIMDNN_POSENC_INTERLEAVED ? "interleaved" : "split";
}

static void add_table(std::vector<Case> &cases, size_t positions,
                      size_t d_model, simdnn_posenc_layout layout)
{
    Case k;
    k.family = SIMDNN_FAMILY_POSENC;
    k.op = Op::kPosencTable;
    k.op_name = std::string("table_") + layout_name(layout);
    k.shape = std::to_string(positions) + "x" + std::to_string(d_model);
    size_t count = positions * d_model;
    k.elements = count;
    k.buffer_floats = {count};
    k.init = [count](Set &set, std::mt19937 &rng) {
        fill_uniform(set[0], count, -1.0f, 1.0f, rng);
    };
    k.run = [=](Set &set) {
        return simdnn_posenc_table_f32(set[0], positions, d_model, d_model,
                                       0, SIMDNN_POSENC_DEFAULT_BASE,
                                       layout);
    };
    k.bytes_written = 4.0 * count;
    k.floor = FLOOR_WRITE;
    k.floor_n = count;
    k.floor_out = 0;
    cases.push_back(k);
}

static void add_add(std::vector<Case> &cases, size_t positions,
                    size_t d_model, simdnn_posenc_layout layout)
{
    Case k;
    k.family = SIMDNN_FAMILY_POSENC;
    k.op = Op::kPosencAdd;
    k.op_name = std::string("add_") + layout_name(layout);
    k.shape = std::to_string(positions) + "x" + std::to_string(d_model);
    size_t count = positions * d_model;
    k.elements = count;
    k.buffer_floats = {count};
    k.init = [count](Set &set, std::mt19937 &rng) {
        fill_uniform(set[0], count, -1.0f, 1.0f, rng);
    };
    k.run = [=](Set &set) {
        return simdnn_posenc_add_f32(set[0], positions, d_model, d_model, 0,
                                     SIMDNN_POSENC_DEFAULT_BASE, layout);
    };
    k.bytes_read = 4.0 * count;
    k.bytes_written = 4.0 * count;
    k.floor = FLOOR_RMW;
    k.floor_n = count;
    k.floor_a = 0;
    k.floor_out = 0;
    cases.push_back(k);
}

static void add_rope(std::vector<Case> &cases, size_t tokens, size_t heads,
                     size_t head_dim, simdnn_rope_style style)
{
    Case k;
    k.family = SIMDNN_FAMILY_POSENC;
    k.op = Op::kRope;
    k.op_name = style == SIMDNN_ROPE_INTERLEAVED ? "rope_interleaved"
                                                 : "rope_half";
    k.shape = std::to_string(tokens) + "x" + std::to_string(heads) + "x" +
              std::to_string(head_dim);
    size_t count = tokens * heads * head_dim;
    k.elements = count;
    k.buffer_floats = {count};
    k.init = [count](Set &set, std::mt19937 &rng) {
        fill_uniform(set[0], count, -1.0f, 1.0f, rng);
    };
    k.run = [=](Set &set) {
        return simdnn_rope_f32(set[0], tokens, heads, head_dim,
                               heads * head_dim, 0,
                               SIMDNN_POSENC_DEFAULT_BASE, style);
    };
    k.bytes_read = 4.0 * count;
    k.bytes_written = 4.0 * count;
    k.floor = FLOOR_RMW;
    k.floor_n = count;
    k.floor_a = 0;
    k.floor_out = 0;
    cases.push_back(k);
}

void add_posenc_cases(std::vector<Case> &cases, bool full)
{
    for (auto layout : {SIMDNN_POSENC_INTERLEAVED, SIMDNN_POSENC_SPLIT}) {
        add_table(cases, 2048, 512, layout);
        add_table(cases, 8192, 1024, layout);
    }
    add_add(cases, 4096, 4096, SIMDNN_POSENC_INTERLEAVED);
    if (full)
        add_add(cases, 4096, 4096, SIMDNN_POSENC_SPLIT);
    for (auto style : {SIMDNN_ROPE_INTERLEAVED, SIMDNN_ROPE_HALF})
        add_rope(cases, 4096, 32, 128, style);
    if (full) {
        // A decode step: one token, 32 heads, at position 0 (call cost).
        for (auto style : {SIMDNN_ROPE_INTERLEAVED, SIMDNN_ROPE_HALF})
            add_rope(cases, 1, 32, 128, style);
    }
}

}  // namespace sbench
