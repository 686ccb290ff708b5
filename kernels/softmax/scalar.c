/*
 * Softmax, scalar: the production fallback and the one statement of the
 * algorithm that every SIMD unit (avx2.c, avx512.c, neon.c) mirrors, with
 * the same exp polynomial, the same pass structure and the same
 * accumulation scheme, so that results do not depend on the row length or
 * the ISA beyond rounding.
 *
 * Softmax of one row x[0..n) (three passes: max; exp-store-and-sum; scale):
 *
 *  1. m = max_i x[i]. A NaN is never selected (x > m is false for NaN);
 *     it still reaches the output through step 4 (d = NaN).
 *  2. Masked rows: when m == -Inf and flags has
 *     SIMDNN_SOFTMAX_MASKED_ROW_ZERO, take m = 0. Every -Inf entry then
 *     gives e = 0 below and the sum is 0 (or NaN when the row holds a NaN
 *     that step 1 skipped), which step 9 turns into a zero (or NaN) row.
 *     Without the flag, d = -Inf - -Inf = NaN makes the row NaN; +Inf
 *     likewise gives m = +Inf and d = NaN for that entry, so NaN, +Inf and
 *     the all -Inf row need no branch of their own.
 *  3. Two forms of steps 4-7, both computing e = 256*exp(x - m): the
 *     factor SOFTMAX_EXP_SCALE = 2^8 keeps every intermediate a normal
 *     float down to x - m = -93.1, below ln(FLT_MIN) = -87.34, and the
 *     normalization (step 9) cancels it exactly. The fast form, for
 *     |m| < FAST_MAX = 2^18 (any row of ordinary logits): x_c =
 *     max(x, lower) with lower = fl(m - 1080*ln2/8), a NaN kept, so that
 *     n >= -1080 in step 4, and n = -1080 makes the bits of s all zero:
 *     e = +0 exactly, for -Inf entries too, with no flush and no infinity
 *     in the arithmetic. The general form (|m| >= 2^18, or m not finite,
 *     or a column of the axis form): x_c = x, and step 7 flushes.
 *  4. n = round(8*(x_c - m)/ln2) and s = 2^(n/8 + 8). vn = fma(d_hi,
 *     LOG2E8, MAGIC8) with d_hi = fl(x_c - m) leaves n + 135*8 in the low
 *     mantissa bits; shifted left by 20, they hold floor(n/8) + 8 + 127 in
 *     the exponent field and n mod 8 just below it, and adding the table
 *     entry for n mod 8 (softmax.h: the mantissa of 2^((n mod 8)/8) less
 *     those three bits) gives the bits of s. d_hi's rounding only moves
 *     the rounding boundary of n by 2^-14, which the polynomial's range
 *     allows. A table of eight entries costs three cheap operations off
 *     the critical path and lets a degree-3 polynomial reach the accuracy
 *     for which |r| <= ln2/2 needs degree 5: two dependent FMAs fewer.
 *  5. The reduced argument r = x_c - m - n*ln2/8, to 2^-28 absolute. A
 *     float d = fl(x - m) alone is off by up to ulp(d)/2 = 2^-18 near
 *     d = -64, a relative error of 3.8e-6 in exp(d), beyond the 2e-6
 *     contract, so d is never used rounded:
 *     - Fast form: the maximum is folded into the Cody-Waite reduction.
 *       Per row, k = round(m/LN2_8_HI), C = fl(k*LN2_8_LO -
 *       (m - k*LN2_8_HI)) (exact in double before the rounding) and
 *       B = MAGIC8 - k (an integer below 2^24, exact). Per element,
 *       N = vn - B = n + k exactly, r_hi = fma(N, -LN2_8_HI, x_c): the
 *       exact product N*LN2_8_HI absorbs the whole magnitude of x_c, so
 *       this one rounding is of a value below 0.09 (error 2^-28); and
 *       r = r_hi + fma(N, -LN2_8_LO, C), since x_c - N*(LN2_8_HI +
 *       LN2_8_LO) + C = x_c - m - n*(LN2_8_HI + LN2_8_LO). The two halves
 *       are computed side by side (one fma of latency instead of two).
 *       At x = m, r is 0 to 2^-28, so p(r) rounds to 1 and the maximum
 *       gives e = 256 exactly: a row of one element, or one finite entry
 *       among -Inf, gives exactly 1 (and log-softmax exactly 0).
 *     - General form: d = d_hi + d_lo exactly, d_lo by Fast2Sum on
 *       a = min(x, -m), b = max(x, -m): z = d_hi - a, d_lo = b - z. It is
 *       exact because |a| >= |b| whenever x <= m: if m <= 0 then
 *       x <= m <= 0 <= -m and a = x; if m > 0 either x >= -m, a = -m and
 *       |x| <= m, or x < -m and a = x. (Knuth's TwoSum would take 6 ops
 *       instead of 4.) Then n = vn - MAGIC8, r = fma(n, -LN2_8_HI, d_hi)
 *       exact (for |d_hi| >= 2^-4 both terms are multiples of 2^-27 and
 *       |r| < 2^-4; below, n = 0), r = fma(n, -LN2_8_LO, r), r += d_lo.
 *     Either way |r| <= ln2/16 * (1 + 2^-12).
 *  6. exp(r) = p(r) = 1 + r*q(r), q of degree 2 (softmax.h, derived by
 *     tools/softmax_exp_poly.py), evaluated by Horner with fmas, and
 *     e = fma(r*s, q(r), s) = s*p(r): the leading 1 stays exact and r*s is
 *     exact (s is a normal float or zero). In the fast form, entries with
 *     x_c - m in (-93.6, -92.9) get an exponent field of zero and a
 *     nonzero mantissa: e is then a subnormal below 2^-126 and the output
 *     one below 2^-134, where the contract allows a flush or a subnormal.
 *  7. General form only: where d_hi < CUTOFF (exp(d) < FLT_MIN, s would be
 *     subnormal) e = +0, by clearing all bits, so that whatever steps 4-6
 *     computed for d_hi = -Inf (d_lo = NaN) or d_hi = -3e38 is discarded.
 *     A NaN d_hi compares false and keeps its NaN e.
 *  8. y[i] = e, and sum += e: blocks of SOFTMAX_SUM_BLOCK = 16 elements
 *     are summed in float, four trees of four (relative error <= 5*2^-24),
 *     and folded into a double accumulator, so the sum's error does not
 *     grow with n (a float running sum reaches 1e-3 at n = 2^24). The sum
 *     is >= 256 (the maximum gives e = 256 exactly) unless step 2 masked
 *     the row.
 *  9. inv = 1/sum rounded to float (0 when the sum is 0: a masked row),
 *     y[i] *= inv: the factor 256 of e and of the sum cancels. The error
 * budget: polynomial, table and evaluation 1.39e-7, sum 3e-7, inv and the
 * product 2^-24 each: below 6e-7 against the 2e-6 contract.
 *
 * Long rows (n >= SOFTMAX_ONLINE_MIN, softmax.h) take two passes, so that
 * a row in DRAM is read twice and written once instead of read three
 * times and written twice: pass 1 walks chunks of SOFTMAX_ONLINE_CHUNK,
 * takes each chunk's maximum, and when it exceeds the running maximum M
 * rescales the double sum by exp(M_old - M_new) (libm, in double: exact
 * to 1e-16, so the sum keeps its accuracy), then adds the chunk's exps
 * relative to M (steps 3-8 without the store, reading the chunk from L1).
 * Pass 2 computes y = exp(x - M) * inv with the final M (steps 3-7, 9).
 * An all -Inf prefix keeps M = -Inf; its chunks are summed against 0
 * instead (each e is 0, or NaN for a NaN) and vanish at the first finite
 * maximum, whose rescale factor is exp(-Inf) = 0.
 *
 * Log-softmax runs steps 1-8 without storing e (or pass 1 for long rows),
 * then y = (x - m) - L in float, with L = log(sum/256) computed in double
 * (exact division) and rounded to float; L = 0 for a masked row, so -Inf
 * entries give -Inf. Two subtractions per element, no conversion: since
 * x - m <= 0 and L >= 0 (the sum is at least 256), |x - m| <= |y| and
 * L <= |y|, so the roundings of x - m, of L and of the difference add at
 * most 3*2^-24*|y| to the error of log(sum), about 2e-7 absolute: within
 * 2e-6*(1 + |y|) for inputs of any size. x - m overflows only where the
 * exact y is below -FLT_MAX (x = -3e38 beside m = 3e38), which gives -Inf
 * as the contract says. (The double form, (float)(((double)x - m) - L),
 * took 9 operations per 8 floats on AVX2 instead of 2.)
 *
 * The general-axis form applies the same steps (the general form of step
 * 3) to every column (o, i) of [outer][axis][inner], a chunk of AXIS_CHUNK
 * columns at a time with the per-column state (m, sums) on the stack: the
 * loop order is the SIMD units', lanes being columns. Each column's sum
 * takes float blocks of SOFTMAX_AXIS_SUM_BLOCK axis steps. (The SIMD units
 * also copy a block of columns of a short axis into a stack buffer as
 * they take its maxima, and run the other passes on the copy: the same
 * arithmetic with less strided traffic; avx2.c, axis_block.)
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

/* Steps 3-7: 256*exp(x - m) for m the row's maximum (constants from
 * softmax_row_for). */
static float exp_minus_max(float x, const struct softmax_row *row)
{
    /* 3. x_c = max(x, lower), a NaN x kept. */
    if (row->fast && x < row->lower)
        x = row->lower;
    /* 4. n and s = 2^(n/8 + 8). */
    float d_hi = x + row->neg_m;
    float vn = fmaf(d_hi, SOFTMAX_LOG2E8, SOFTMAX_MAGIC8);
    float s =
        float_of((bits_of(vn) << 20) + softmax_pow2_entries[bits_of(vn) & 7u]);
    /* 5. r. */
    float r;
    if (row->fast) {
        float n_k = vn - row->bias;
        r = fmaf(n_k, -SOFTMAX_LN2_8_HI, x) +
            fmaf(n_k, -SOFTMAX_LN2_8_LO, row->corr);
    } else {
        float a = x < row->neg_m ? x : row->neg_m;
        float b = x < row->neg_m ? row->neg_m : x;
        float d_lo = b - (d_hi - a);
        float n = vn - SOFTMAX_MAGIC8;
        r = fmaf(n, -SOFTMAX_LN2_8_HI, d_hi);
        r = fmaf(n, -SOFTMAX_LN2_8_LO, r);
        r = r + d_lo;
    }

    /* 6. e = s * (1 + r*q(r)). */
    float q = fmaf(SOFTMAX_EXP_C3, r, SOFTMAX_EXP_C2);
    q = fmaf(q, r, SOFTMAX_EXP_C1);
    float e = fmaf(r * s, q, s);
    if (row->fast)
        return e;

    /* 7. The general form: flush below the cutoff, clearing every bit. */
    uint32_t keep = d_hi < SOFTMAX_CUTOFF ? 0u : ~0u;
    return float_of(bits_of(e) & keep);
}

/* Step 1. */
static float max_of(const float *x, size_t n)
{
    float m = -INFINITY;
    for (size_t i = 0; i < n; i++)
        m = x[i] > m ? x[i] : m;
    return m;
}

/* Steps 1-2: the maximum, replaced by 0 for a masked row. */
static float row_max(const float *x, size_t n, unsigned flags)
{
    float m = max_of(x, n);
    if (m == -INFINITY && (flags & SIMDNN_SOFTMAX_MASKED_ROW_ZERO))
        m = 0.0f;
    return m;
}

/* Steps 3-8 over a row: returns the sum, stores e into y unless y is
 * NULL. */
static double row_exp_sum(const float *x, float *y, size_t n, float m)
{
    const struct softmax_row args = softmax_row_for(m);
    double sum = 0.0;
    size_t i = 0;
    for (; i + SOFTMAX_SUM_BLOCK <= n; i += SOFTMAX_SUM_BLOCK) {
        float block = 0.0f;
        for (size_t g = 0; g < SOFTMAX_SUM_BLOCK; g += 4) {
            float e[4];
            for (size_t k = 0; k < 4; k++) {
                e[k] = exp_minus_max(x[i + g + k], &args);
                if (y != NULL)
                    y[i + g + k] = e[k];
            }
            block += (e[0] + e[1]) + (e[2] + e[3]);
        }
        sum += (double)block;
    }
    for (; i < n; i++) {
        float e = exp_minus_max(x[i], &args);
        if (y != NULL)
            y[i] = e;
        sum += (double)e;
    }
    return sum;
}

/* Long rows, pass 1: the maximum (through *max_out) and the sum. */
static double online_max_sum(const float *x, size_t n, unsigned flags,
                             float *max_out)
{
    float m = -INFINITY;
    double sum = 0.0;
    for (size_t i = 0; i < n; i += SOFTMAX_ONLINE_CHUNK) {
        size_t c = n - i < SOFTMAX_ONLINE_CHUNK ? n - i : SOFTMAX_ONLINE_CHUNK;
        float chunk_max = max_of(x + i, c);
        if (chunk_max > m) {
            sum *= exp((double)m - (double)chunk_max);
            m = chunk_max;
        }
        sum += row_exp_sum(x + i, NULL, c, m == -INFINITY ? 0.0f : m);
    }
    if (m == -INFINITY) {
        if (flags & SIMDNN_SOFTMAX_MASKED_ROW_ZERO)
            m = 0.0f;
        else
            sum = NAN;
    }
    *max_out = m;
    return sum;
}

/* Step 8's factor. */
static float inverse_of(double sum)
{
    return sum == 0.0 ? 0.0f : (float)(1.0 / sum);
}

/* The log-softmax offset L = log(sum/256), 0 for a masked row. */
/* L of "Log-softmax" (above), rounded to float. */
static float log_of(double sum)
{
    return sum == 0.0 ? 0.0f : (float)log(sum / SOFTMAX_EXP_SCALE);
}

static void softmax_f32_scalar(const float *x, float *y, size_t rows, size_t n,
                               size_t x_stride, size_t y_stride, unsigned flags)
{
    for (size_t row = 0; row < rows; row++) {
        const float *xr = x + row * x_stride;
        float *yr = y + row * y_stride;
        if (n >= SOFTMAX_ONLINE_MIN) {
            float m;
            float inv = inverse_of(online_max_sum(xr, n, flags, &m));
            const struct softmax_row args = softmax_row_for(m);
            for (size_t i = 0; i < n; i++)
                yr[i] = exp_minus_max(xr[i], &args) * inv;
            continue;
        }
        float m = row_max(xr, n, flags);
        float inv = inverse_of(row_exp_sum(xr, yr, n, m));
        for (size_t i = 0; i < n; i++)
            yr[i] *= inv;
    }
}

static void log_softmax_f32_scalar(const float *x, float *y, size_t rows,
                                   size_t n, size_t x_stride, size_t y_stride,
                                   unsigned flags)
{
    for (size_t row = 0; row < rows; row++) {
        const float *xr = x + row * x_stride;
        float *yr = y + row * y_stride;
        float m;
        double sum;
        if (n >= SOFTMAX_ONLINE_MIN) {
            sum = online_max_sum(xr, n, flags, &m);
        } else {
            m = row_max(xr, n, flags);
            sum = row_exp_sum(xr, NULL, n, m);
        }
        const float log_sum = log_of(sum);
        for (size_t i = 0; i < n; i++)
            yr[i] = (xr[i] - m) - log_sum;
    }
}

/*
 * The general-axis form over columns [i0, i0 + w) of one outer slice:
 * steps 1-2 per column, 3-7 over the axis (blocks of
 * SOFTMAX_AXIS_SUM_BLOCK axis steps per float partial sum), then 8 (or the log
 * form).
 */
static void axis_chunk(const float *x, float *y, size_t axis, size_t inner,
                       size_t w, unsigned flags, int log_form)
{
    float m[AXIS_CHUNK], part[AXIS_CHUNK];
    struct softmax_row args[AXIS_CHUNK];
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
        args[k] = softmax_row_general(m[k]);
        sum[k] = 0.0;
    }

    size_t a = 0;
    for (; a + SOFTMAX_AXIS_SUM_BLOCK <= axis; a += SOFTMAX_AXIS_SUM_BLOCK) {
        for (size_t k = 0; k < w; k++)
            part[k] = 0.0f;
        for (size_t b = a; b < a + SOFTMAX_AXIS_SUM_BLOCK; b++)
            for (size_t k = 0; k < w; k++) {
                float e = exp_minus_max(x[b * inner + k], &args[k]);
                if (!log_form)
                    y[b * inner + k] = e;
                part[k] += e;
            }
        for (size_t k = 0; k < w; k++)
            sum[k] += (double)part[k];
    }
    for (; a < axis; a++)
        for (size_t k = 0; k < w; k++) {
            float e = exp_minus_max(x[a * inner + k], &args[k]);
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
        float log_sum[AXIS_CHUNK];
        for (size_t k = 0; k < w; k++)
            log_sum[k] = log_of(sum[k]);
        for (size_t b = 0; b < axis; b++)
            for (size_t k = 0; k < w; k++)
                y[b * inner + k] = (x[b * inner + k] - m[k]) - log_sum[k];
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
                                    size_t axis, size_t inner, unsigned flags)
{
    axis_scalar(x, y, outer, axis, inner, flags, 0);
}

static void log_softmax_axis_f32_scalar(const float *x, float *y, size_t outer,
                                        size_t axis, size_t inner,
                                        unsigned flags)
{
    axis_scalar(x, y, outer, axis, inner, flags, 1);
}

const struct softmax_ops softmax_ops_scalar = {
    .softmax = softmax_f32_scalar,
    .log_softmax = log_softmax_f32_scalar,
    .softmax_axis = softmax_axis_f32_scalar,
    .log_softmax_axis = log_softmax_axis_f32_scalar,
};
