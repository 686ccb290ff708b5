/*
 * Positional-encoding front-end: argument checks and the dispatch table.
 *
 * Everything is validated before any kernel runs, so an error leaves every
 * output untouched. The kernels cannot fail: their tables live on the
 * stack, or on the heap for big calls with a stack fallback when the
 * allocation fails (posenc_wide_slot), so SIMDNN_OUT_OF_MEMORY never
 * occurs.
 */
#include <math.h>
#include <stdint.h>

#include "common/args.h"
#include "dispatch.h"
#include "kernels_built.h"
#include "posenc/posenc.h"


static const struct posenc_ops *const ops_table[SIMDNN_ISA_COUNT] = {
    [SIMDNN_ISA_SCALAR] = &posenc_ops_scalar,
#if SIMDNN_HAVE_POSENC_AVX2
    [SIMDNN_ISA_AVX2] = &posenc_ops_avx2,
#endif
#if SIMDNN_HAVE_POSENC_AVX512
    [SIMDNN_ISA_AVX512] = &posenc_ops_avx512,
#endif
#if SIMDNN_HAVE_POSENC_NEON
    [SIMDNN_ISA_NEON] = &posenc_ops_neon,
#endif
};

static const struct posenc_ops *posenc_ops(void)
{
    const struct posenc_ops *ops =
        ops_table[simdnn_dispatch_isa(SIMDNN_FAMILY_POSENC)];
    return ops != NULL ? ops : &posenc_ops_scalar;
}

/* The checks shared by every entry point: base and positions. */
static simdnn_status check_base_positions(const char *fn, double base,
                                          size_t position_offset, size_t count)
{
    if (!(base > 1.0) || !isfinite(base))
        return simdnn_invalid(fn, "base = %g: must be finite and > 1", base);
    if (position_offset > SIMDNN_POSENC_MAX_POSITION ||
        count > SIMDNN_POSENC_MAX_POSITION - position_offset)
        return simdnn_invalid(fn,
                              "position_offset + count = %zu + %zu: must "
                              "not exceed SIMDNN_POSENC_MAX_POSITION (%zu)",
                              position_offset, count,
                              SIMDNN_POSENC_MAX_POSITION);
    return SIMDNN_SUCCESS;
}

/* Checks the arguments of the table and the fused add. */
static simdnn_status check_table(const char *fn, const float *table,
                                 size_t positions, size_t d_model,
                                 size_t row_stride, size_t position_offset,
                                 double base, simdnn_posenc_layout layout)
{
    size_t span;
    if (d_model % 2 != 0)
        return simdnn_invalid(fn, "d_model = %zu: must be even", d_model);
    if ((unsigned)layout > SIMDNN_POSENC_SPLIT)
        return simdnn_invalid(fn, "layout = %d: unknown", (int)layout);
    if (positions > 1 && row_stride < d_model)
        return simdnn_invalid(fn,
                              "row_stride = %zu: must be >= d_model = %zu "
                              "when positions = %zu > 1",
                              row_stride, d_model, positions);
    simdnn_status status =
        check_base_positions(fn, base, position_offset, positions);
    if (status != SIMDNN_SUCCESS)
        return status;
    if (!args_span(table, positions, d_model, row_stride, &span))
        return simdnn_invalid(fn,
                              "positions = %zu, d_model = %zu, row_stride = "
                              "%zu: the table's size overflows",
                              positions, d_model, row_stride);
    if (table == NULL && span != 0)
        return simdnn_invalid(fn, "table is NULL with %zu x %zu elements",
                              positions, d_model);
    return SIMDNN_SUCCESS;
}

simdnn_status simdnn_posenc_table_f32(float *table, size_t positions,
                                      size_t d_model, size_t row_stride,
                                      size_t position_offset, double base,
                                      simdnn_posenc_layout layout)
{
    simdnn_status status =
        check_table("simdnn_posenc_table_f32", table, positions, d_model,
                    row_stride, position_offset, base, layout);
    if (status != SIMDNN_SUCCESS || positions == 0 || d_model == 0)
        return status;
    posenc_ops()->table(table, positions, d_model, row_stride, position_offset,
                        base, layout);
    return SIMDNN_SUCCESS;
}

simdnn_status simdnn_posenc_add_f32(float *x, size_t positions, size_t d_model,
                                    size_t row_stride, size_t position_offset,
                                    double base, simdnn_posenc_layout layout)
{
    simdnn_status status =
        check_table("simdnn_posenc_add_f32", x, positions, d_model, row_stride,
                    position_offset, base, layout);
    if (status != SIMDNN_SUCCESS || positions == 0 || d_model == 0)
        return status;
    posenc_ops()->add(x, positions, d_model, row_stride, position_offset, base,
                      layout);
    return SIMDNN_SUCCESS;
}

simdnn_status simdnn_rope_f32(float *x, size_t tokens, size_t heads,
                              size_t head_dim, size_t token_stride,
                              size_t position_offset, double base,
                              simdnn_rope_style style)
{
    static const char fn[] = "simdnn_rope_f32";
    size_t row, span;
    if (head_dim % 2 != 0)
        return simdnn_invalid(fn, "head_dim = %zu: must be even", head_dim);
    if ((unsigned)style > SIMDNN_ROPE_HALF)
        return simdnn_invalid(fn, "style = %d: unknown", (int)style);
    if (!args_mul(heads, head_dim, &row))
        return simdnn_invalid(fn,
                              "heads = %zu, head_dim = %zu: the token's "
                              "size overflows",
                              heads, head_dim);
    if (tokens > 1 && token_stride < row)
        return simdnn_invalid(fn,
                              "token_stride = %zu: must be >= heads * "
                              "head_dim = %zu when tokens = %zu > 1",
                              token_stride, row, tokens);
    simdnn_status status =
        check_base_positions(fn, base, position_offset, tokens);
    if (status != SIMDNN_SUCCESS)
        return status;
    if (!args_span(x, tokens, row, token_stride, &span))
        return simdnn_invalid(fn,
                              "tokens = %zu, heads * head_dim = %zu, "
                              "token_stride = %zu: the tensor's size "
                              "overflows",
                              tokens, row, token_stride);
    if (x == NULL && span != 0)
        return simdnn_invalid(fn, "x is NULL with %zu x %zu elements", tokens,
                              row);
    if (span == 0)
        return SIMDNN_SUCCESS;
    posenc_ops()->rope(x, tokens, heads, head_dim, token_stride,
                       position_offset, base, style);
    return SIMDNN_SUCCESS;
}
