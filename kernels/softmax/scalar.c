/*
 * Softmax, scalar: the production fallback and the one statement of the
 * algorithm that every SIMD unit (avx2.c, avx512.c, neon.c) mirrors, with
 * the same exp polynomial and the same accumulation scheme, so that results
 * do not depend on the row length or the ISA beyond rounding.
 *
 * Softmax of one row x[0..n) (three passes: max; exp-store-and-sum; scale):
 *
 *  1. m = max_i x[i]. A NaN is never selected (x > m is false for NaN);
 *     it still reaches the output through step 3 (d = NaN).
 *  2. Masked rows: when m == -Inf and flags has
 *     SIMDNN_SOFTMAX_MASKED_ROW_ZERO, take m = 0. Every -Inf entry then
 *     gives e = 0 below and the sum is 0 (or NaN when the row holds a NaN
 *     that step 1 skipped), which step 8 turns into a zero (or NaN) row.
 *     Without the flag, d = -Inf - -Inf = NaN makes the row NaN; +Inf
 *     likewise gives m = +Inf and d = NaN for that entry, so NaN, +Inf and
 *     the all -Inf row need no branch of their own.
 *  3. d = x - m exactly, as d_hi + d_lo: d_hi = fl(x - m) and d_lo its
 *     rounding error by Knuth's TwoSum (6 flops). Fast2Sum would need
 *     |x| >= |m|, which fails for m = 1, x = -50. A float d alone is off by
 *     up to ulp(d)/2 = 2^-18 near d = -64, a relative error of 3.8e-6 in
 *     exp(d), beyond the 2e-6 contract; with d_lo it is 1e-8.
 *  4. Range reduction: n = round(d_hi/ln2) by vn = fma(d_hi, LOG2E, MAGIC),
 *     whose low mantissa bits hold n + 127; s = 2^n is those bits shifted
 *     left by 23 (the integer add to the exponent field). Then
 *     r = fma(n, -LN2_HI, d_hi) is exact (n*LN2_HI and d_hi are multiples
 *     of 2^-24 for |d_hi| < 128 and |r| < 1/2), r = fma(n, -LN2_LO, r)
 *     and r += d_lo; |r| <= ln2/2 + 2^-17.
 *  5. exp(r) = p(r) = 1 + r*q(r), q of degree 4 (softmax.h, derived by
 *     tools/softmax_exp_poly.py), evaluated by Horner with fmas, and
 *     e = fma(r*s, q(r), s) = s*p(r): the leading 1 stays exact and r*s is
 *     exact (s is a normal power of two for d_hi >= CUTOFF).
 *  6. Flush: where d_hi < CUTOFF (exp(d) < FLT_MIN, s would be subnormal)
 *     e = +0, by clearing all bits, so that whatever steps 4-5 computed for
 *     d_hi = -Inf (d_lo = NaN) or d_hi = -3e38 is discarded. A NaN d_hi
 *     compares false and keeps its NaN e.
 *  7. y[i] = e, and sum += e: blocks of SOFTMAX_SUM_BLOCK elements are
 *     summed in float (relative error <= 3*2^-24) and folded into a double
 *     accumulator, so the sum's error does not grow with n (a float
 *     running sum reaches 1e-3 at n = 2^24). The sum is >= 1 (the maximum
 *     gives e = 1 exactly) unless step 2 masked the row.
 *  8. inv = 1/sum rounded to float (0 when the sum is 0: a masked row),
 *     y[i] *= inv. The error budget: exp 1.63e-7, sum 1.8e-7, inv and the
 *     product 2^-24 each: below 5e-7 against the 2e-6 contract.
 *
 * Log-softmax runs steps 1-7 without storing e, then
 * y = (float)(((double)x - m) - L) with L = log(sum) in double (L = 0 for a
 * masked row, so -Inf entries give -Inf). (double)x - m in double is exact
 * or off by 2^-53 relative, so inputs near 1e38 lose nothing; the only
 * error of note is that of L, about 2e-7 absolute.
 *
 * The general-axis form applies the same steps to every column (o, i) of
 * [outer][axis][inner], a chunk of AXIS_CHUNK columns at a time with the
 * per-column state (m, sums) on the stack: the loop order is the SIMD
 * units', lanes being columns.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "softmax/softmax.h"

#define AXIS_CHUNK 64

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof(u));
    return u;
}

static float float_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

/* Steps 3-6: exp(x - m) for m the maximum, given neg_m = -m. */
static float exp_minus_max(float x, float neg_m)
{
    /* 3. TwoSum: d_hi + d_lo == x - m exactly. */
    float d_hi = x + neg_m;
    float b_virtual = d_hi - x;
    float a_virtual = d_hi - b_virtual;
    float d_lo = (x - a_virtual) + (neg_m - b_virtual);

    /* 4. n, s = 2^n and the reduced argument r. */
    float vn = fmaf(d_hi, SOFTMAX_LOG2E, SOFTMAX_MAGIC);
    float s = float_of(bits_of(vn) << 23);
    float n = vn - SOFTMAX_MAGIC;
    float r = fmaf(n, -SOFTMAX_LN2_HI, d_hi);
    r = fmaf(n, -SOFTMAX_LN2_LO, r);
    r = r + d_lo;

    /* 5. e = s * (1 + r*q(r)). */
    float q = fmaf(SOFTMAX_EXP_C5, r, SOFTMAX_EXP_C4);
    q = fmaf(q, r, SOFTMAX_EXP_C3);
    q = fmaf(q, r, SOFTMAX_EXP_C2);
    q = fmaf(q, r, SOFTMAX_EXP_C1);
    float e = fmaf(r * s, q, s);

    /* 6. Flush below the cutoff, clearing every bit. */
    uint32_t keep = d_hi < SOFTMAX_CUTOFF ? 0u : ~0u;
    return float_of(bits_of(e) & keep);
}

/* Steps 1-2: the maximum, replaced by 0 for a masked row. */
static float row_max(const float *x, size_t n, unsigned flags)
{
    float m = -INFINITY;
    for (size_t i = 0; i < n; i++)
        m = x[i] > m ? x[i] : m;
    if (m == -INFINITY && (flags & SIMDNN_SOFTMAX_MASKED_ROW_ZERO))
        m = 0.0f;
    return m;
}

/* Steps 3-7 over a row: returns the sum, stores e into y unless y is
 * NULL. */
static double row_exp_sum(const float *x, float *y, size_t n, float m)
{
    const float neg_m = -m;
    double sum = 0.0;
    size_t i = 0;
    for (; i + SOFTMAX_SUM_BLOCK <= n; i += SOFTMAX_SUM_BLOCK) {
        float block = 0.0f;
        for (size_t k = 0; k < SOFTMAX_SUM_BLOCK; k++) {
            float e = exp_minus_max(x[i + k], neg_m);
            if (y != NULL)
                y[i + k] = e;
            block += e;
        }
        sum += (double)block;
    }
    for (; i < n; i++) {
        float e = exp_minus_max(x[i], neg_m);
        if (y != NULL)
            y[i] = e;
        sum += (double)e;
    }
    return sum;
}

/* Step 8's factor. */
static float inverse_of(double sum)
{
    return sum == 0.0 ? 0.0f : (float)(1.0 / sum);
}

/* The log-softmax offset L = log(sum), 0 for a masked row. */
static double log_of(double sum)
{
    return sum == 0.0 ? 0.0 : log(sum);
}

static void softmax_f32_scalar(const float *x, float *y, size_t rows,
                               size_t n, size_t x_stride, size_t y_stride,
                               unsigned flags)
{
    for (size_t row = 0; row < rows; row++) {
        const float *xr = x + row * x_stride;
        float *yr = y + row * y_stride;
        float m = row_max(xr, n, flags);
        float inv = inverse_of(row_exp_sum(xr, yr, n, m));
        for (size_t i = 0; i < n; i++)
            yr[i] *= inv;
    }
}

static void log_softmax_f32_scalar(const float *x, float *y, size_t rows,
                                   size_t n, size_t x_stride,
                                   size_t y_stride, unsigned flags)
{
    for (size_t row = 0; row < rows; row++) {
        const float *xr = x + row * x_stride;
        float *yr = y + row * y_stride;
        float m = row_max(xr, n, flags);
        double log_sum = log_of(row_exp_sum(xr, NULL, n, m));
        for (size_t i = 0; i < n; i++)
            yr[i] = (float)(((double)xr[i] - (double)m) - log_sum);
    }
}

/*
 * The general-axis form over columns [i0, i0 + w) of one outer slice:
 * steps 1-2 per column, 3-7 over the axis (blocks of SOFTMAX_SUM_BLOCK
 * axis steps per float partial sum), then 8 (or the log form).
 */
static void axis_chunk(const float *x, float *y, size_t axis, size_t inner,
                       size_t w, unsigned flags, int log_form)
{
    float m[AXIS_CHUNK], neg_m[AXIS_CHUNK], part[AXIS_CHUNK];
    double sum[AXIS_CHUNK];

    for (size_t k = 0; k < w; k++)
        m[k] = -INFINITY;
    for (size_t a = 0; a < axis; a++)
        for (size_t k = 0; k < w; k++) {
            float v = x[a * inner + k];
            m[k] = v > m[k] ? v : m[k];
        }
    for (size_t k = 0; k < w; k++) {
        if (m[k] == -INFINITY && (flags & SIMDNN_SOFTMAX_MASKED_ROW_ZERO))
            m[k] = 0.0f;
        neg_m[k] = -m[k];
        sum[k] = 0.0;
    }

    size_t a = 0;
    for (; a + SOFTMAX_SUM_BLOCK <= axis; a += SOFTMAX_SUM_BLOCK) {
        for (size_t k = 0; k < w; k++)
            part[k] = 0.0f;
        for (size_t b = a; b < a + SOFTMAX_SUM_BLOCK; b++)
            for (size_t k = 0; k < w; k++) {
                float e = exp_minus_max(x[b * inner + k], neg_m[k]);
                if (!log_form)
                    y[b * inner + k] = e;
                part[k] += e;
            }
        for (size_t k = 0; k < w; k++)
            sum[k] += (double)part[k];
    }
    for (; a < axis; a++)
        for (size_t k = 0; k < w; k++) {
            float e = exp_minus_max(x[a * inner + k], neg_m[k]);
            if (!log_form)
                y[a * inner + k] = e;
            sum[k] += (double)e;
        }

    if (!log_form) {
        float inv[AXIS_CHUNK];
        for (size_t k = 0; k < w; k++)
            inv[k] = inverse_of(sum[k]);
        for (size_t b = 0; b < axis; b++)
            for (size_t k = 0; k < w; k++)
                y[b * inner + k] *= inv[k];
    } else {
        double log_sum[AXIS_CHUNK];
        for (size_t k = 0; k < w; k++)
            log_sum[k] = log_of(sum[k]);
        for (size_t b = 0; b < axis; b++)
            for (size_t k = 0; k < w; k++)
                y[b * inner + k] = (float)(((double)x[b * inner + k] -
                                            (double)m[k]) -
                                           log_sum[k]);
    }
}

static void axis_scalar(const float *x, float *y, size_t outer, size_t axis,
                        size_t inner, unsigned flags, int log_form)
{
    for (size_t o = 0; o < outer; o++) {
        const float *xo = x + o * axis * inner;
        float *yo = y + o * axis * inner;
        for (size_t i0 = 0; i0 < inner; i0 += AXIS_CHUNK) {
            size_t w = inner - i0 < AXIS_CHUNK ? inner - i0 : AXIS_CHUNK;
            axis_chunk(xo + i0, yo + i0, axis, inner, w, flags, log_form);
        }
    }
}

static void softmax_axis_f32_scalar(const float *x, float *y, size_t outer,
                                    size_t axis, size_t inner,
                                    unsigned flags)
{
    axis_scalar(x, y, outer, axis, inner, flags, 0);
}

static void log_softmax_axis_f32_scalar(const float *x, float *y,
                                        size_t outer, size_t axis,
                                        size_t inner, unsigned flags)
{
    axis_scalar(x, y, outer, axis, inner, flags, 1);
}

const struct softmax_ops softmax_ops_scalar = {
    .softmax = softmax_f32_scalar,
    .log_softmax = log_softmax_f32_scalar,
    .softmax_axis = softmax_axis_f32_scalar,
    .log_softmax_axis = log_softmax_axis_f32_scalar,
};
