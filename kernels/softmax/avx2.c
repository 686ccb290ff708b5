/*
 * Softmax, AVX2 + FMA (8 float lanes). The algorithm and its numbered steps
 * are those of scalar.c; this file mirrors them and explains only what is
 * specific to AVX2.
 *
 * - Tails: _mm256_maskload_ps / _mm256_maskstore_ps with a mask from a
 *   sliding table; masked-off lanes never touch memory (no fault at a page
 *   end). The max pass blends -Inf into masked lanes; the exp pass clears
 *   them before they are summed.
 * - NaN: _mm256_max_ps(a, b) returns b when either is NaN, so the max may
 *   or may not keep a NaN; either way the entry's own d is NaN and so is
 *   the sum (scalar.c step 2). The clamp of step 3 is max_ps(vlower, vx),
 *   which returns vx, NaN kept, when vx is NaN; the flush of step 7 is
 *   andnot(d_hi < CUTOFF, e): an ordered compare is false for NaN.
 * - Sums: per lane, 4 groups of 4 vectors (the SOFTMAX_SUM_BLOCK of
 *   scalar.c), each group added as a tree, then converted to double
 *   (cvtps_pd of each 128-bit half) and added to two double accumulators.
 * - Step 4's table: vpermps selects the entry by the three low bits of
 *   each lane of vn (it ignores the others), from one register.
 *
 * Cost and floor, cache-resident rows (three passes). The fast form's exp
 * is 14 vector ops per 8 elements (clamp, d_hi, n, shift, permute, add,
 * N, 3 for r, 4 for the polynomial and s*p) plus 1 for the sum, one load
 * and one store: 7 of them on Zen 3's two FMA pipes, so a whole core
 * could sustain about 4 cycles per vector, 0.5 cycle per element. What
 * it runs at is set by the chain of dependent operations per vector
 * (about 30 cycles: the out-of-order window holds only so many chains in
 * flight) and by a sibling hyperthread that is often busy on this 2-vCPU
 * VM. Measured on a 4096-float row in L1, one thread, 3.06 GHz, ns per
 * element of the exp pass (tools-free microbenchmark, min of 60, one
 * run): the degree-5 exp of |r| <= ln2/2 with float blocks of 4 vectors
 * 0.326; blocks of 16 elements per lane 0.297 (the double conversion
 * every 4 vectors was 2 ops per vector); this exp (degree 3 with the
 * 2^(n/8) table, the two halves of r side by side) 0.276, 6.8 cycles per
 * vector. A form that subtracts k*ln2/8 instead of m (one op and one
 * dependent add fewer) reached 0.253 but loses the exact 1 at the
 * maximum (scalar.c step 5), and one that takes n from x with a
 * 16-entry table (two permutes and a blend) 0.336: more operations cost
 * more than the latency they save. The max pass costs about 0.02 and the
 * scale pass 0.05 ns per element.
 *
 * Pass structure: three passes (max; exp-store-and-sum; scale) up to
 * SOFTMAX_ONLINE_MIN, then the two-pass form of scalar.c ("Long rows")
 * with non-temporal stores and software prefetch; see softmax.h for the
 * measurements behind the threshold and the memory floors.
 */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "softmax/softmax.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* _mm256_loadu_si256(mask_table + 8 - k) enables the first k lanes. */
static const int32_t mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                       0,  0,  0,  0,  0,  0,  0,  0};

ALWAYS_INLINE __m256i tail_mask(size_t k)
{
    return _mm256_loadu_si256((const __m256i *)(mask_table + 8 - k));
}

/* The per-row constants of steps 3-7 (softmax.h softmax_row), and the
 * table of step 4. */
typedef struct exp_args {
    __m256 vneg_m, vlower, vbias, vcorr, vtable;
} exp_args;

/* softmax_pow2_entries in one register. */
ALWAYS_INLINE __m256 pow2_table(void)
{
    return _mm256_castsi256_ps(
        _mm256_loadu_si256((const __m256i *)softmax_pow2_entries));
}

static exp_args exp_args_for(const struct softmax_row *row)
{
    exp_args args;
    args.vneg_m = _mm256_set1_ps(row->neg_m);
    args.vlower = _mm256_set1_ps(row->lower);
    args.vbias = _mm256_set1_ps(row->bias);
    args.vcorr = _mm256_set1_ps(row->corr);
    args.vtable = pow2_table();
    return args;
}

/* Step 4's s = 2^(n/8) from the bits of vn: vpermps indexes the table by
 * the three low bits of each lane. */
ALWAYS_INLINE __m256 pow2_of(__m256 vn, __m256 vtable)
{
    const __m256i vbits = _mm256_castps_si256(vn);
    const __m256 ventry = _mm256_permutevar8x32_ps(vtable, vbits);
    return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_slli_epi32(vbits, 20),
                                                _mm256_castps_si256(ventry)));
}

/* Steps 3-7 of scalar.c (256*exp(x - m)) on 8 lanes: exp(x - m); `fast` is the
 * row's form as a compile-time constant. */
ALWAYS_INLINE __m256 exp_minus_max(__m256 vx, const exp_args *args,
                                   const int fast)
{
    if (fast)
        vx = _mm256_max_ps(args->vlower, vx);
    const __m256 vd_hi = _mm256_add_ps(vx, args->vneg_m);
    __m256 vn = _mm256_fmadd_ps(vd_hi, _mm256_set1_ps(SOFTMAX_LOG2E8),
                                _mm256_set1_ps(SOFTMAX_MAGIC8));
    const __m256 vs = pow2_of(vn, args->vtable);
    __m256 vr;
    if (fast) {
        const __m256 vn_k = _mm256_sub_ps(vn, args->vbias);
        vr = _mm256_add_ps(
            _mm256_fmadd_ps(vn_k, _mm256_set1_ps(-SOFTMAX_LN2_8_HI), vx),
            _mm256_fmadd_ps(vn_k, _mm256_set1_ps(-SOFTMAX_LN2_8_LO),
                            args->vcorr));
    } else {
        const __m256 va = _mm256_min_ps(vx, args->vneg_m);
        const __m256 vb = _mm256_max_ps(vx, args->vneg_m);
        const __m256 vd_lo = _mm256_sub_ps(vb, _mm256_sub_ps(vd_hi, va));
        vn = _mm256_sub_ps(vn, _mm256_set1_ps(SOFTMAX_MAGIC8));
        vr = _mm256_fmadd_ps(vn, _mm256_set1_ps(-SOFTMAX_LN2_8_HI), vd_hi);
        vr = _mm256_fmadd_ps(vn, _mm256_set1_ps(-SOFTMAX_LN2_8_LO), vr);
        vr = _mm256_add_ps(vr, vd_lo);
    }

    __m256 vq = _mm256_fmadd_ps(_mm256_set1_ps(SOFTMAX_EXP_C3), vr,
                                _mm256_set1_ps(SOFTMAX_EXP_C2));
    vq = _mm256_fmadd_ps(vq, vr, _mm256_set1_ps(SOFTMAX_EXP_C1));
    const __m256 vt = _mm256_mul_ps(vr, vs);
    const __m256 ve = _mm256_fmadd_ps(vt, vq, vs);
    if (fast)
        return ve;

    const __m256 vflush =
        _mm256_cmp_ps(vd_hi, _mm256_set1_ps(SOFTMAX_CUTOFF), _CMP_LT_OQ);
    return _mm256_andnot_ps(vflush, ve);
}

ALWAYS_INLINE __m256d widen_lo(__m256 v)
{
    return _mm256_cvtps_pd(_mm256_castps256_ps128(v));
}

ALWAYS_INLINE __m256d widen_hi(__m256 v)
{
    return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
}

ALWAYS_INLINE float hmax(__m256 v)
{
    __m128 v4 =
        _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    v4 = _mm_max_ps(v4, _mm_movehl_ps(v4, v4));
    v4 = _mm_max_ss(v4, _mm_movehdup_ps(v4));
    return _mm_cvtss_f32(v4);
}

ALWAYS_INLINE double hsum_pd(__m256d v)
{
    __m128d v2 =
        _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    v2 = _mm_add_sd(v2, _mm_unpackhi_pd(v2, v2));
    return _mm_cvtsd_f64(v2);
}

/* Step 1: the maximum of x[0..n). */
static float max_of(const float *x, size_t n)
{
    const __m256 vminus_inf = _mm256_set1_ps(-INFINITY);
    __m256 vmax0 = vminus_inf, vmax1 = vminus_inf, vmax2 = vminus_inf,
           vmax3 = vminus_inf;
    for (; n >= 32; n -= 32, x += 32) {
        vmax0 = _mm256_max_ps(vmax0, _mm256_loadu_ps(x));
        vmax1 = _mm256_max_ps(vmax1, _mm256_loadu_ps(x + 8));
        vmax2 = _mm256_max_ps(vmax2, _mm256_loadu_ps(x + 16));
        vmax3 = _mm256_max_ps(vmax3, _mm256_loadu_ps(x + 24));
    }
    for (; n >= 8; n -= 8, x += 8)
        vmax0 = _mm256_max_ps(vmax0, _mm256_loadu_ps(x));
    if (n != 0) {
        const __m256i vmask = tail_mask(n);
        const __m256 vx =
            _mm256_blendv_ps(vminus_inf, _mm256_maskload_ps(x, vmask),
                             _mm256_castsi256_ps(vmask));
        vmax1 = _mm256_max_ps(vmax1, vx);
    }
    return hmax(_mm256_max_ps(_mm256_max_ps(vmax0, vmax1),
                              _mm256_max_ps(vmax2, vmax3)));
}

/* Steps 1-2. */
static float row_max(const float *x, size_t n, unsigned flags)
{
    float m = max_of(x, n);
    if (m == -INFINITY && (flags & SIMDNN_SOFTMAX_MASKED_ROW_ZERO))
        m = 0.0f;
    return m;
}

/* Steps 3-8; stores e into y when `store`. Per lane, the float block of
 * SOFTMAX_SUM_BLOCK elements is 4 groups of 4 vectors, each group added
 * as a tree. */
ALWAYS_INLINE double exp_sum_k(const float *x, float *y, size_t n,
                               const exp_args *args, const int store,
                               const int fast, const int prefetch)
{
    __m256d vacc0 = _mm256_setzero_pd(), vacc1 = _mm256_setzero_pd();
    __m256 vblock = _mm256_setzero_ps();
    unsigned groups = 0;
    for (; n >= 32; n -= 32, x += 32, y = store ? y + 32 : y) {
        if (prefetch) { /* the next chunk, while this one computes */
            _mm_prefetch((const char *)(x + SOFTMAX_ONLINE_CHUNK), _MM_HINT_T0);
            _mm_prefetch((const char *)(x + SOFTMAX_ONLINE_CHUNK + 16),
                         _MM_HINT_T0);
        }
        const __m256 ve0 = exp_minus_max(_mm256_loadu_ps(x), args, fast);
        const __m256 ve1 = exp_minus_max(_mm256_loadu_ps(x + 8), args, fast);
        const __m256 ve2 = exp_minus_max(_mm256_loadu_ps(x + 16), args, fast);
        const __m256 ve3 = exp_minus_max(_mm256_loadu_ps(x + 24), args, fast);
        if (store) {
            _mm256_storeu_ps(y, ve0);
            _mm256_storeu_ps(y + 8, ve1);
            _mm256_storeu_ps(y + 16, ve2);
            _mm256_storeu_ps(y + 24, ve3);
        }
        vblock = _mm256_add_ps(vblock, _mm256_add_ps(_mm256_add_ps(ve0, ve1),
                                                     _mm256_add_ps(ve2, ve3)));
        if (++groups == SOFTMAX_SUM_BLOCK / 4) {
            vacc0 = _mm256_add_pd(vacc0, widen_lo(vblock));
            vacc1 = _mm256_add_pd(vacc1, widen_hi(vblock));
            vblock = _mm256_setzero_ps();
            groups = 0;
        }
    }
    vacc0 = _mm256_add_pd(vacc0, widen_lo(vblock));
    vacc1 = _mm256_add_pd(vacc1, widen_hi(vblock));
    for (; n >= 8; n -= 8, x += 8, y = store ? y + 8 : y) {
        const __m256 ve = exp_minus_max(_mm256_loadu_ps(x), args, fast);
        if (store)
            _mm256_storeu_ps(y, ve);
        vacc0 = _mm256_add_pd(vacc0, widen_lo(ve));
        vacc1 = _mm256_add_pd(vacc1, widen_hi(ve));
    }
    if (n != 0) {
        const __m256i vmask = tail_mask(n);
        __m256 ve = exp_minus_max(_mm256_maskload_ps(x, vmask), args, fast);
        ve = _mm256_and_ps(ve, _mm256_castsi256_ps(vmask));
        if (store)
            _mm256_maskstore_ps(y, vmask, ve);
        vacc0 = _mm256_add_pd(vacc0, widen_lo(ve));
        vacc1 = _mm256_add_pd(vacc1, widen_hi(ve));
    }
    return hsum_pd(_mm256_add_pd(vacc0, vacc1));
}

ALWAYS_INLINE double exp_sum(const float *x, float *y, size_t n, float m,
                             const int store)
{
    const struct softmax_row row = softmax_row_for(m);
    const exp_args args = exp_args_for(&row);
    return row.fast ? exp_sum_k(x, y, n, &args, store, 1, 0)
                    : exp_sum_k(x, y, n, &args, store, 0, 0);
}

/* Long rows, pass 1, one full chunk of SOFTMAX_ONLINE_CHUNK elements
 * followed by at least one more: prefetches the next one. */
static double exp_sum_chunk_prefetch(const float *x, float m)
{
    const struct softmax_row row = softmax_row_for(m);
    const exp_args args = exp_args_for(&row);
    return row.fast ? exp_sum_k(x, NULL, SOFTMAX_ONLINE_CHUNK, &args, 0, 1, 1)
                    : exp_sum_k(x, NULL, SOFTMAX_ONLINE_CHUNK, &args, 0, 0, 1);
}

/* Step 8: y *= inv. */
static void scale(float *y, size_t n, float inv)
{
    const __m256 vinv = _mm256_set1_ps(inv);
    for (; n >= 32; n -= 32, y += 32) {
        _mm256_storeu_ps(y, _mm256_mul_ps(_mm256_loadu_ps(y), vinv));
        _mm256_storeu_ps(y + 8, _mm256_mul_ps(_mm256_loadu_ps(y + 8), vinv));
        _mm256_storeu_ps(y + 16, _mm256_mul_ps(_mm256_loadu_ps(y + 16), vinv));
        _mm256_storeu_ps(y + 24, _mm256_mul_ps(_mm256_loadu_ps(y + 24), vinv));
    }
    for (; n >= 8; n -= 8, y += 8)
        _mm256_storeu_ps(y, _mm256_mul_ps(_mm256_loadu_ps(y), vinv));
    if (n != 0) {
        const __m256i vmask = tail_mask(n);
        _mm256_maskstore_ps(y, vmask,
                            _mm256_mul_ps(_mm256_maskload_ps(y, vmask), vinv));
    }
}

/* y = (x - m) - log_sum in float (scalar.c, "Log-softmax"). */
ALWAYS_INLINE __m256 log_out(__m256 vx, __m256 vm, __m256 vlog_sum)
{
    return _mm256_sub_ps(_mm256_sub_ps(vx, vm), vlog_sum);
}

static void log_store(const float *x, float *y, size_t n, float m,
                      float log_sum)
{
    const __m256 vm = _mm256_set1_ps(m);
    const __m256 vlog_sum = _mm256_set1_ps(log_sum);
    for (; n >= 32; n -= 32, x += 32, y += 32)
        for (int k = 0; k < 32; k += 8)
            _mm256_storeu_ps(y + k,
                             log_out(_mm256_loadu_ps(x + k), vm, vlog_sum));
    for (; n >= 8; n -= 8, x += 8, y += 8)
        _mm256_storeu_ps(y, log_out(_mm256_loadu_ps(x), vm, vlog_sum));
    if (n != 0) {
        const __m256i vmask = tail_mask(n);
        _mm256_maskstore_ps(
            y, vmask, log_out(_mm256_maskload_ps(x, vmask), vm, vlog_sum));
    }
}

static double exp_sum_store(const float *x, float *y, size_t n, float m)
{
    return exp_sum(x, y, n, m, 1);
}

static double exp_sum_only(const float *x, size_t n, float m)
{
    return exp_sum(x, NULL, n, m, 0);
}

/* Long rows, pass 1 (scalar.c, "Long rows"): the maximum and the sum in
 * one read, chunk by chunk (each chunk's max, then its exps from L1). */
static double online_max_sum(const float *x, size_t n, unsigned flags,
                             float *max_out)
{
    float m = -INFINITY;
    double sum = 0.0;
    for (size_t i = 0; i < n; i += SOFTMAX_ONLINE_CHUNK) {
        const size_t c =
            n - i < SOFTMAX_ONLINE_CHUNK ? n - i : SOFTMAX_ONLINE_CHUNK;
        const float chunk_max = max_of(x + i, c);
        if (chunk_max > m) {
            sum *= exp((double)m - (double)chunk_max);
            m = chunk_max;
        }
        const float m_eff = m == -INFINITY ? 0.0f : m;
        if (i + 2 * SOFTMAX_ONLINE_CHUNK <= n)
            sum += exp_sum_chunk_prefetch(x + i, m_eff);
        else
            sum += exp_sum_only(x + i, c, m_eff);
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

ALWAYS_INLINE __m256 exp_scaled(__m256 vx, const exp_args *args, __m256 vinv,
                                const int fast)
{
    return _mm256_mul_ps(exp_minus_max(vx, args, fast), vinv);
}

/* How far ahead (floats) pass 2 prefetches x in the streaming form. */
#define STREAM_PREFETCH 512

/* Long rows, pass 2: y = exp(x - m) * inv. With `stream`, the 32-byte
 * aligned body uses non-temporal stores: a row that does not fit in the
 * cache then costs one read of x and one write of y, no read for
 * ownership. */
ALWAYS_INLINE void exp_scale_k(const float *x, float *y, size_t n,
                               const exp_args *args, __m256 vinv,
                               const int stream, const int fast)
{
    if (stream) {
        size_t head = (32 - ((uintptr_t)y & 31)) / 4 % 8;
        if (head > n)
            head = n;
        if (head != 0) {
            const __m256i vmask = tail_mask(head);
            _mm256_maskstore_ps(
                y, vmask,
                exp_scaled(_mm256_maskload_ps(x, vmask), args, vinv, fast));
            x += head;
            y += head;
            n -= head;
        }
        for (; n >= 32; n -= 32, x += 32, y += 32) {
            if (n >= 32 + STREAM_PREFETCH) {
                _mm_prefetch((const char *)(x + STREAM_PREFETCH), _MM_HINT_T0);
                _mm_prefetch((const char *)(x + STREAM_PREFETCH + 16),
                             _MM_HINT_T0);
            }
            for (int k = 0; k < 32; k += 8)
                _mm256_stream_ps(y + k, exp_scaled(_mm256_loadu_ps(x + k), args,
                                                   vinv, fast));
        }
        _mm_sfence();
    }
    for (; n >= 32; n -= 32, x += 32, y += 32)
        for (int k = 0; k < 32; k += 8)
            _mm256_storeu_ps(
                y + k, exp_scaled(_mm256_loadu_ps(x + k), args, vinv, fast));
    for (; n >= 8; n -= 8, x += 8, y += 8)
        _mm256_storeu_ps(y, exp_scaled(_mm256_loadu_ps(x), args, vinv, fast));
    if (n != 0) {
        const __m256i vmask = tail_mask(n);
        _mm256_maskstore_ps(
            y, vmask,
            exp_scaled(_mm256_maskload_ps(x, vmask), args, vinv, fast));
    }
}

static void exp_scale_store(const float *x, float *y, size_t n, float m,
                            float inv)
{
    const struct softmax_row row = softmax_row_for(m);
    const exp_args args = exp_args_for(&row);
    const __m256 vinv = _mm256_set1_ps(inv);
    if (n >= SOFTMAX_STREAM_MIN) {
        if (row.fast)
            exp_scale_k(x, y, n, &args, vinv, 1, 1);
        else
            exp_scale_k(x, y, n, &args, vinv, 1, 0);
    } else {
        if (row.fast)
            exp_scale_k(x, y, n, &args, vinv, 0, 1);
        else
            exp_scale_k(x, y, n, &args, vinv, 0, 0);
    }
}

static void softmax_f32_avx2(const float *x, float *y, size_t rows, size_t n,
                             size_t x_stride, size_t y_stride, unsigned flags)
{
    if (n >= SOFTMAX_ONLINE_MIN) {
        for (size_t row = 0; row < rows; row++) {
            const float *xr = x + row * x_stride;
            float m;
            const double sum = online_max_sum(xr, n, flags, &m);
            exp_scale_store(xr, y + row * y_stride, n, m,
                            sum == 0.0 ? 0.0f : (float)(1.0 / sum));
        }
        return;
    }
    /* The next row's maximum is taken between this row's exps and its
     * scale pass: it does not wait for the sum, so it runs while the sum
     * is reduced and inverted. */
    float m = row_max(x, n, flags);
    for (size_t row = 0; row < rows; row++) {
        float *yr = y + row * y_stride;
        const double sum = exp_sum_store(x + row * x_stride, yr, n, m);
        if (row + 1 < rows)
            m = row_max(x + (row + 1) * x_stride, n, flags);
        scale(yr, n, sum == 0.0 ? 0.0f : (float)(1.0 / sum));
    }
}

static void log_softmax_f32_avx2(const float *x, float *y, size_t rows,
                                 size_t n, size_t x_stride, size_t y_stride,
                                 unsigned flags)
{
    /* As in softmax_f32_avx2, the next row's maximum runs while this
     * row's sum is reduced and its logarithm taken. */
    const int online = n >= SOFTMAX_ONLINE_MIN;
    float m_next = online ? 0.0f : row_max(x, n, flags);
    for (size_t row = 0; row < rows; row++) {
        const float *xr = x + row * x_stride;
        float m = m_next;
        double sum;
        if (online) {
            sum = online_max_sum(xr, n, flags, &m);
        } else {
            sum = exp_sum_only(xr, n, m);
            if (row + 1 < rows)
                m_next = row_max(xr + x_stride, n, flags);
        }
        log_store(xr, y + row * y_stride, n, m,
                  sum == 0.0 ? 0.0f : (float)log(sum / SOFTMAX_EXP_SCALE));
    }
}

/*
 * The general-axis form: AXIS_VECS vectors of 8 adjacent columns (o, i..)
 * per block, walking the axis with stride `inner`; steps as in scalar.c's
 * axis_chunk (the general form of step 3, lane by lane). Several vectors
 * per block give the max and sum passes independent chains (one vector
 * alone is bound by the 3-cycle latency of max_ps per axis step: 8x64x1024
 * went from 2.9 to 1.1 ns per element). Columns left over after the blocks
 * of AXIS_VECS vectors go one vector at a time, the last one masked
 * (`full` == 0); blocks of full vectors use plain loads and stores.
 */
#define AXIS_VECS 4

ALWAYS_INLINE __m256 axis_load(const float *p, __m256i vmask, const int full)
{
    return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, vmask);
}

ALWAYS_INLINE void axis_store(float *p, __m256i vmask, __m256 v, const int full)
{
    if (full)
        _mm256_storeu_ps(p, v);
    else
        _mm256_maskstore_ps(p, vmask, v);
}

/*
 * With `staged` (softmax only), pass 1 also copies the block's x into
 * `buf` (axis x nvec vectors, contiguous) and passes 2 and 3 work on that
 * copy: x is read once from its strided rows and y written once (the exps
 * wait in buf), instead of three reads and two writes at stride `inner`.
 * At a stride of 2^k floats the axis steps of a column fall into one set
 * of the L1 and of the L2 (8 ways each), so that every pass after the
 * first missed both (1x21x16384: 1.02 ns/element against 0.57 at inner
 * 16416). The arithmetic is the same, and so are the results.
 */
ALWAYS_INLINE void axis_block(const float *x, float *y, size_t axis,
                              size_t inner, const __m256i *vmask,
                              unsigned flags, const int log_form,
                              const int full, const int nvec, float *buf,
                              const int staged)
{
    const __m256 vminus_inf = _mm256_set1_ps(-INFINITY);
    __m256 vmax[AXIS_VECS];
    exp_args args[AXIS_VECS];
    __m256d vacc_lo[AXIS_VECS], vacc_hi[AXIS_VECS];
    /* Where passes 2 and 3 find x, and where the exps go. */
    const float *src = staged ? buf : x;
    float *dst = staged ? buf : y;
    const size_t sstride = staged ? (size_t)(8 * nvec) : inner;

    /* 1-2. */
    for (int v = 0; v < nvec; v++)
        vmax[v] = vminus_inf;
    for (size_t a = 0; a < axis; a++)
        for (int v = 0; v < nvec; v++) {
            __m256 vx = axis_load(x + a * inner + 8 * v, vmask[v], full);
            if (staged)
                _mm256_storeu_ps(buf + a * sstride + 8 * v, vx);
            if (!full)
                vx = _mm256_blendv_ps(vminus_inf, vx,
                                      _mm256_castsi256_ps(vmask[v]));
            vmax[v] = _mm256_max_ps(vmax[v], vx);
        }
    for (int v = 0; v < nvec; v++) {
        if (flags & SIMDNN_SOFTMAX_MASKED_ROW_ZERO)
            vmax[v] = _mm256_andnot_ps(
                _mm256_cmp_ps(vmax[v], vminus_inf, _CMP_EQ_OQ), vmax[v]);
        args[v].vneg_m = _mm256_sub_ps(_mm256_setzero_ps(), vmax[v]);
        args[v].vlower = _mm256_setzero_ps();
        args[v].vbias = args[v].vcorr = _mm256_setzero_ps();
        args[v].vtable = pow2_table();
        vacc_lo[v] = vacc_hi[v] = _mm256_setzero_pd();
    }

    /* 3-7. */
    size_t a = 0;
    for (; a + SOFTMAX_AXIS_SUM_BLOCK <= axis; a += SOFTMAX_AXIS_SUM_BLOCK)
        for (int v = 0; v < nvec; v++) {
            __m256 vpart = _mm256_setzero_ps();
            for (size_t b = a; b < a + SOFTMAX_AXIS_SUM_BLOCK; b++) {
                const size_t at = b * sstride + 8 * v;
                __m256 ve = exp_minus_max(
                    axis_load(src + at, vmask[v], full || staged), &args[v], 0);
                if (!full)
                    ve = _mm256_and_ps(ve, _mm256_castsi256_ps(vmask[v]));
                if (!log_form)
                    axis_store(dst + at, vmask[v], ve, full || staged);
                vpart = _mm256_add_ps(vpart, ve);
            }
            vacc_lo[v] = _mm256_add_pd(vacc_lo[v], widen_lo(vpart));
            vacc_hi[v] = _mm256_add_pd(vacc_hi[v], widen_hi(vpart));
        }
    for (; a < axis; a++)
        for (int v = 0; v < nvec; v++) {
            const size_t at = a * sstride + 8 * v;
            __m256 ve = exp_minus_max(
                axis_load(src + at, vmask[v], full || staged), &args[v], 0);
            if (!full)
                ve = _mm256_and_ps(ve, _mm256_castsi256_ps(vmask[v]));
            if (!log_form)
                axis_store(dst + at, vmask[v], ve, full || staged);
            vacc_lo[v] = _mm256_add_pd(vacc_lo[v], widen_lo(ve));
            vacc_hi[v] = _mm256_add_pd(vacc_hi[v], widen_hi(ve));
        }

    /* 9, or the log form. */
    if (!log_form) {
        const __m256d vone = _mm256_set1_pd(1.0);
        const __m256d vzero = _mm256_setzero_pd();
        __m256 vinv[AXIS_VECS];
        for (int v = 0; v < nvec; v++) {
            const __m256d vinv_lo =
                _mm256_andnot_pd(_mm256_cmp_pd(vacc_lo[v], vzero, _CMP_EQ_OQ),
                                 _mm256_div_pd(vone, vacc_lo[v]));
            const __m256d vinv_hi =
                _mm256_andnot_pd(_mm256_cmp_pd(vacc_hi[v], vzero, _CMP_EQ_OQ),
                                 _mm256_div_pd(vone, vacc_hi[v]));
            vinv[v] = _mm256_insertf128_ps(
                _mm256_castps128_ps256(_mm256_cvtpd_ps(vinv_lo)),
                _mm256_cvtpd_ps(vinv_hi), 1);
        }
        for (size_t b = 0; b < axis; b++)
            for (int v = 0; v < nvec; v++) {
                const __m256 ve = axis_load(dst + b * sstride + 8 * v, vmask[v],
                                            full || staged);
                axis_store(y + b * inner + 8 * v, vmask[v],
                           _mm256_mul_ps(ve, vinv[v]), full);
            }
    } else {
        __m256 vlog[AXIS_VECS];
        for (int v = 0; v < nvec; v++) {
            double sums[8];
            float logs[8];
            _mm256_storeu_pd(sums, vacc_lo[v]);
            _mm256_storeu_pd(sums + 4, vacc_hi[v]);
            for (int k = 0; k < 8; k++)
                logs[k] = sums[k] == 0.0
                              ? 0.0f
                              : (float)log(sums[k] / SOFTMAX_EXP_SCALE);
            vlog[v] = _mm256_loadu_ps(logs);
        }
        for (size_t b = 0; b < axis; b++)
            for (int v = 0; v < nvec; v++) {
                const __m256 vx = axis_load(src + b * sstride + 8 * v, vmask[v],
                                            full || staged);
                axis_store(y + b * inner + 8 * v, vmask[v],
                           log_out(vx, vmax[v], vlog[v]), full);
            }
    }
}

/* Softmax (not log-softmax) axes of up to this many steps are staged
 * (axis_block): 16 KiB of stack for AXIS_VECS vectors, which stays in L1.
 * Measured on AVX2, min of 30 calls, ns per element, unstaged -> staged:
 * softmax 1x21x16384 1.08 -> 0.75, 4x21x4096 1.08 -> 0.74, 8x64x1024
 * 1.13 -> 0.81, 1x21x262144 (DRAM) 1.79 -> 1.46; 1x21x16416 and 1x1000x64
 * unchanged. Log-softmax reads x in its last pass anyway, and staging it
 * was 1.23x faster at 1x21x16384 but 5-10% slower at 1x21x65536 and
 * beyond (the stores of pass 1 beside its misses), so it is not staged. */
#define AXIS_STAGE_MAX 128

/* One block of AXIS_VECS full vectors in both forms. */
static void axis_block_full4(const float *x, float *y, size_t axis,
                             size_t inner, unsigned flags, const int log_form,
                             float *buf)
{
    const __m256i vall = _mm256_set1_epi32(-1);
    const __m256i vmask[AXIS_VECS] = {vall, vall, vall, vall};
    if (log_form)
        axis_block(x, y, axis, inner, vmask, flags, 1, 1, AXIS_VECS, buf, 0);
    else if (axis <= AXIS_STAGE_MAX)
        axis_block(x, y, axis, inner, vmask, flags, 0, 1, AXIS_VECS, buf, 1);
    else
        axis_block(x, y, axis, inner, vmask, flags, 0, 1, AXIS_VECS, buf, 0);
}

/* One vector of columns, the last `cols` < 8 masked; staged like the
 * blocks. */
static void axis_block_one(const float *x, float *y, size_t axis, size_t inner,
                           size_t cols, unsigned flags, const int log_form,
                           float *buf)
{
    const __m256i vmask[1] = {cols >= 8 ? _mm256_set1_epi32(-1)
                                        : tail_mask(cols)};
    const int full = cols >= 8, staged = axis <= AXIS_STAGE_MAX;
#define AXIS_ONE(LOG, FULL, STAGED)                                            \
    axis_block(x, y, axis, inner, vmask, flags, LOG, FULL, 1, buf, STAGED)
    if (log_form)
        full ? AXIS_ONE(1, 1, 0) : AXIS_ONE(1, 0, 0);
    else if (staged)
        full ? AXIS_ONE(0, 1, 1) : AXIS_ONE(0, 0, 1);
    else
        full ? AXIS_ONE(0, 1, 0) : AXIS_ONE(0, 0, 0);
#undef AXIS_ONE
}

static void axis_avx2(const float *x, float *y, size_t outer, size_t axis,
                      size_t inner, unsigned flags, const int log_form)
{
    float buf[AXIS_STAGE_MAX * 8 * AXIS_VECS] __attribute__((aligned(32)));
    for (size_t o = 0; o < outer; o++) {
        const float *xo = x + o * axis * inner;
        float *yo = y + o * axis * inner;
        size_t i = 0;
        for (; i + 8 * AXIS_VECS <= inner; i += 8 * AXIS_VECS)
            axis_block_full4(xo + i, yo + i, axis, inner, flags, log_form, buf);
        for (; i < inner; i += 8)
            axis_block_one(xo + i, yo + i, axis, inner, inner - i, flags,
                           log_form, buf);
    }
}

static void softmax_axis_f32_avx2(const float *x, float *y, size_t outer,
                                  size_t axis, size_t inner, unsigned flags)
{
    axis_avx2(x, y, outer, axis, inner, flags, 0);
}

static void log_softmax_axis_f32_avx2(const float *x, float *y, size_t outer,
                                      size_t axis, size_t inner, unsigned flags)
{
    axis_avx2(x, y, outer, axis, inner, flags, 1);
}

const struct softmax_ops softmax_ops_avx2 = {
    .softmax = softmax_f32_avx2,
    .log_softmax = log_softmax_f32_avx2,
    .softmax_axis = softmax_axis_f32_avx2,
    .log_softmax_axis = log_softmax_axis_f32_avx2,
};
