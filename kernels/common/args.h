/*
 * Internal: argument checks shared by the public entry points. Compiled
 * only into the baseline front-end files (never into an ISA file).
 */
#ifndef SIMDNN_COMMON_ARGS_H
#define SIMDNN_COMMON_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* *out = a * b; false when that overflows size_t. */
static inline bool args_mul(size_t a, size_t b, size_t *out)
{
    if (b != 0 && a > SIZE_MAX / b)
        return false;
    *out = a * b;
    return true;
}

/* *out = a + b; false when that overflows size_t. */
static inline bool args_add(size_t a, size_t b, size_t *out)
{
    if (a > SIZE_MAX - b)
        return false;
    *out = a + b;
    return true;
}

/*
 * The number of float elements spanned by `rows` rows of `n` elements that
 * start `stride` elements apart: (rows - 1) * stride + n, or 0 when the
 * region is empty. False when that span, or its size in bytes, overflows
 * size_t or would wrap the address space from `base`.
 */
static inline bool args_span(const void *base, size_t rows, size_t n,
                             size_t stride, size_t *elements)
{
    size_t span = 0, bytes;
    if (rows != 0 && n != 0) {
        if (!args_mul(rows - 1, stride, &span) || !args_add(span, n, &span))
            return false;
    }
    if (!args_mul(span, sizeof(float), &bytes))
        return false;
    if (bytes != 0 && (uintptr_t)base > UINTPTR_MAX - bytes)
        return false;
    *elements = span;
    return true;
}

/* Whether [a, a + a_elems) and [b, b + b_elems) share any float. */
static inline bool args_overlap(const void *a, size_t a_elems, const void *b,
                                size_t b_elems)
{
    if (a_elems == 0 || b_elems == 0)
        return false;
    uintptr_t a0 = (uintptr_t)a, b0 = (uintptr_t)b;
    uintptr_t a1 = a0 + a_elems * sizeof(float);
    uintptr_t b1 = b0 + b_elems * sizeof(float);
    return a0 < b1 && b0 < a1;
}

#endif /* SIMDNN_COMMON_ARGS_H */
