/*
 * Softmax front-end: argument validation, then one call into the kernel
 * table of the dispatched ISA. Everything is checked before anything is
 * written; the hot path is the checks, one relaxed atomic load
 * (simdnn_dispatch_isa) and one indirect call for all rows.
 */
#include <stdint.h>

#include "common/args.h"
#include "dispatch.h"
#include "kernels_built.h"
#include "softmax/softmax.h"

/* Indexed by simdnn_isa; dispatch never picks an ISA without a kernel. */
static const struct softmax_ops *const softmax_table[SIMDNN_ISA_COUNT] = {
    [SIMDNN_ISA_SCALAR] = &softmax_ops_scalar,
#if SIMDNN_HAVE_SOFTMAX_AVX2
    [SIMDNN_ISA_AVX2] = &softmax_ops_avx2,
#endif
#if SIMDNN_HAVE_SOFTMAX_AVX512
    [SIMDNN_ISA_AVX512] = &softmax_ops_avx512,
#endif
#if SIMDNN_HAVE_SOFTMAX_NEON
    [SIMDNN_ISA_NEON] = &softmax_ops_neon,
#endif
};

static const struct softmax_ops *softmax_kernels(void)
{
    const struct softmax_ops *ops =
        softmax_table[simdnn_dispatch_isa(SIMDNN_FAMILY_SOFTMAX)];
    return ops != NULL ? ops : &softmax_ops_scalar;
}

/* The checks shared by the row forms; *empty is set when there is no
 * element to compute. */
static simdnn_status check_rows(const char *fn, const float *x, const float *y,
                                size_t rows, size_t n, size_t x_stride,
                                size_t y_stride, unsigned flags, int *empty)
{
    if (flags & ~SIMDNN_SOFTMAX_MASKED_ROW_ZERO)
        return simdnn_invalid(fn,
                              "flags = 0x%x has unknown bits (only "
                              "SIMDNN_SOFTMAX_MASKED_ROW_ZERO = 0x1)",
                              flags);
    if (rows > 1 && x_stride < n)
        return simdnn_invalid(fn,
                              "x_stride = %zu < n = %zu with rows = "
                              "%zu",
                              x_stride, n, rows);
    if (rows > 1 && y_stride < n)
        return simdnn_invalid(fn,
                              "y_stride = %zu < n = %zu with rows = "
                              "%zu",
                              y_stride, n, rows);
    *empty = rows == 0 || n == 0;
    if (*empty)
        return SIMDNN_SUCCESS;
    if (x == NULL)
        return simdnn_invalid(fn, "x = NULL with rows = %zu, n = %zu", rows, n);
    if (y == NULL)
        return simdnn_invalid(fn, "y = NULL with rows = %zu, n = %zu", rows, n);
    size_t x_span, y_span;
    if (!args_span(x, rows, n, x_stride, &x_span))
        return simdnn_invalid(fn,
                              "rows = %zu, n = %zu, x_stride = %zu: "
                              "the byte extent of x overflows",
                              rows, n, x_stride);
    if (!args_span(y, rows, n, y_stride, &y_span))
        return simdnn_invalid(fn,
                              "rows = %zu, n = %zu, y_stride = %zu: "
                              "the byte extent of y overflows",
                              rows, n, y_stride);
    if ((const float *)y == x) {
        if (rows > 1 && x_stride != y_stride)
            return simdnn_invalid(fn,
                                  "in place (x == y) needs x_stride = "
                                  "y_stride, got %zu and %zu",
                                  x_stride, y_stride);
    } else if (args_overlap(x, x_span, y, y_span)) {
        return simdnn_invalid(fn,
                              "x [%p, +%zu) and y [%p, +%zu) overlap "
                              "without being the same buffer",
                              (const void *)x, x_span, (const void *)y, y_span);
    }
    return SIMDNN_SUCCESS;
}

static simdnn_status check_axis(const char *fn, const float *x, const float *y,
                                size_t outer, size_t axis, size_t inner,
                                unsigned flags, int *empty)
{
    if (flags & ~SIMDNN_SOFTMAX_MASKED_ROW_ZERO)
        return simdnn_invalid(fn,
                              "flags = 0x%x has unknown bits (only "
                              "SIMDNN_SOFTMAX_MASKED_ROW_ZERO = 0x1)",
                              flags);
    size_t count, bytes;
    if (!args_mul(outer, axis, &count) || !args_mul(count, inner, &count) ||
        !args_mul(count, sizeof(float), &bytes))
        return simdnn_invalid(fn,
                              "outer = %zu, axis = %zu, inner = %zu: "
                              "the byte size overflows",
                              outer, axis, inner);
    *empty = count == 0;
    if (*empty)
        return SIMDNN_SUCCESS;
    if (x == NULL)
        return simdnn_invalid(fn, "x = NULL with %zu elements", count);
    if (y == NULL)
        return simdnn_invalid(fn, "y = NULL with %zu elements", count);
    size_t span;
    if (!args_span(x, 1, count, count, &span) ||
        !args_span(y, 1, count, count, &span))
        return simdnn_invalid(fn, "%zu elements wrap the address space", count);
    if ((const float *)y != x && args_overlap(x, count, y, count))
        return simdnn_invalid(fn,
                              "x [%p, +%zu) and y [%p, +%zu) overlap "
                              "without being the same buffer",
                              (const void *)x, count, (const void *)y, count);
    return SIMDNN_SUCCESS;
}

simdnn_status simdnn_softmax_f32(const float *x, float *y, size_t rows,
                                 size_t n, size_t x_stride, size_t y_stride,
                                 unsigned flags)
{
    int empty = 0;
    simdnn_status status = check_rows("simdnn_softmax_f32", x, y, rows, n,
                                      x_stride, y_stride, flags, &empty);
    if (status != SIMDNN_SUCCESS || empty)
        return status;
    softmax_kernels()->softmax(x, y, rows, n, x_stride, y_stride, flags);
    return SIMDNN_SUCCESS;
}

simdnn_status simdnn_log_softmax_f32(const float *x, float *y, size_t rows,
                                     size_t n, size_t x_stride, size_t y_stride,
                                     unsigned flags)
{
    int empty = 0;
    simdnn_status status = check_rows("simdnn_log_softmax_f32", x, y, rows, n,
                                      x_stride, y_stride, flags, &empty);
    if (status != SIMDNN_SUCCESS || empty)
        return status;
    softmax_kernels()->log_softmax(x, y, rows, n, x_stride, y_stride, flags);
    return SIMDNN_SUCCESS;
}

simdnn_status simdnn_softmax_axis_f32(const float *x, float *y, size_t outer,
                                      size_t axis, size_t inner, unsigned flags)
{
    int empty = 0;
    simdnn_status status = check_axis("simdnn_softmax_axis_f32", x, y, outer,
                                      axis, inner, flags, &empty);
    if (status != SIMDNN_SUCCESS || empty)
        return status;
    const struct softmax_ops *ops = softmax_kernels();
    if (inner == 1) /* columns of stride 1: the row form, faster */
        ops->softmax(x, y, outer, axis, axis, axis, flags);
    else
        ops->softmax_axis(x, y, outer, axis, inner, flags);
    return SIMDNN_SUCCESS;
}

simdnn_status simdnn_log_softmax_axis_f32(const float *x, float *y,
                                          size_t outer, size_t axis,
                                          size_t inner, unsigned flags)
{
    int empty = 0;
    simdnn_status status = check_axis("simdnn_log_softmax_axis_f32", x, y,
                                      outer, axis, inner, flags, &empty);
    if (status != SIMDNN_SUCCESS || empty)
        return status;
    const struct softmax_ops *ops = softmax_kernels();
    if (inner == 1)
        ops->log_softmax(x, y, outer, axis, axis, axis, flags);
    else
        ops->log_softmax_axis(x, y, outer, axis, inner, flags);
    return SIMDNN_SUCCESS;
}
