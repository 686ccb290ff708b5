/*
 * Softmax, AVX-512F (16 float lanes). The algorithm and its numbered steps
 * are those of scalar.c, the structure that of avx2.c (three passes, 4
 * vectors per iteration, float block sums of 4 vectors folded into two
 * double accumulators); only AVX-512F intrinsics are used (no DQ/BW/VL).
 *
 * - Tails: k-masks. The max pass loads masked lanes as -Inf
 *   (_mm512_mask_loadu_ps), the exp pass loads them as 0 and clears their
 *   results (_mm512_maskz_mov_ps) before summing; stores are
 *   _mm512_mask_storeu_ps. Masked-off lanes never touch memory.
 * - The clamp of scalar.c step 3 is max_ps(vlower, vx), which returns vx,
 *   NaN kept, when vx is NaN; the flush of step 7 is a compare into a
 *   k-mask, e = maskz_mov(!(d_hi < CUTOFF), e): an ordered compare is
 *   false for NaN, which keeps its NaN.
 * - Long rows: the two-pass form of scalar.c, with non-temporal stores
 *   (_mm512_stream_ps on the 64-byte aligned body) from SOFTMAX_STREAM_MIN
 *   and the software prefetch of avx2.c (measured there; this file's
 *   speed could not be measured: no AVX-512 machine was available, and
 *   the SIMDe build only proves it correct).
 * - Built against SIMDe (SIMDNN_USE_SIMDE) for the emulated test build;
 *   tests/simde/simdnn_simde.h supplies what SIMDe 0.7.4 lacks.
 */
#ifdef SIMDNN_USE_SIMDE
#include "simdnn_simde.h"
#else
#include <immintrin.h>
#endif
#include <math.h>
#include <stdint.h>

#include "softmax/softmax.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE __mmask16 tail_mask(size_t k)
{
    return (__mmask16)((1u << k) - 1u);
}

/* The per-row constants of steps 3-7 (softmax.h softmax_row), and the
 * table of step 4. */
typedef struct exp_args {
    __m512 vneg_m, vlower, vbias, vcorr, vtable;
} exp_args;

/* softmax_pow2_entries twice: vpermps indexes 16 entries by the four low
 * bits of each lane, and the fourth bit is already the exponent's
 * lowest. */
ALWAYS_INLINE __m512 pow2_table(void)
{
    const __m256i ventries =
        _mm256_loadu_si256((const __m256i *)softmax_pow2_entries);
    return _mm512_castsi512_ps(
        _mm512_inserti64x4(_mm512_castsi256_si512(ventries), ventries, 1));
}

static exp_args exp_args_for(const struct softmax_row *row)
{
    exp_args args;
    args.vneg_m = _mm512_set1_ps(row->neg_m);
    args.vlower = _mm512_set1_ps(row->lower);
    args.vbias = _mm512_set1_ps(row->bias);
    args.vcorr = _mm512_set1_ps(row->corr);
    args.vtable = pow2_table();
    return args;
}

/* Step 4's s = 2^(n/8) from the bits of vn. */
ALWAYS_INLINE __m512 pow2_of(__m512 vn, __m512 vtable)
{
    const __m512i vbits = _mm512_castps_si512(vn);
    const __m512 ventry = _mm512_permutexvar_ps(vbits, vtable);
    return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_slli_epi32(vbits, 20),
                                                _mm512_castps_si512(ventry)));
}

/* Steps 3-7 of scalar.c (256*exp(x - m)) on 16 lanes: exp(x - m); `fast` is the
 * row's form as a compile-time constant. */
ALWAYS_INLINE __m512 exp_minus_max(__m512 vx, const exp_args *args,
                                   const int fast)
{
    if (fast)
        vx = _mm512_max_ps(args->vlower, vx);
    const __m512 vd_hi = _mm512_add_ps(vx, args->vneg_m);
    __m512 vn = _mm512_fmadd_ps(vd_hi, _mm512_set1_ps(SOFTMAX_LOG2E8),
                                _mm512_set1_ps(SOFTMAX_MAGIC8));
    const __m512 vs = pow2_of(vn, args->vtable);
    __m512 vr;
    if (fast) {
        const __m512 vn_k = _mm512_sub_ps(vn, args->vbias);
        vr = _mm512_add_ps(
            _mm512_fmadd_ps(vn_k, _mm512_set1_ps(-SOFTMAX_LN2_8_HI), vx),
            _mm512_fmadd_ps(vn_k, _mm512_set1_ps(-SOFTMAX_LN2_8_LO),
                            args->vcorr));
    } else {
        const __m512 va = _mm512_min_ps(vx, args->vneg_m);
        const __m512 vb = _mm512_max_ps(vx, args->vneg_m);
        const __m512 vd_lo = _mm512_sub_ps(vb, _mm512_sub_ps(vd_hi, va));
        vn = _mm512_sub_ps(vn, _mm512_set1_ps(SOFTMAX_MAGIC8));
        vr = _mm512_fmadd_ps(vn, _mm512_set1_ps(-SOFTMAX_LN2_8_HI), vd_hi);
        vr = _mm512_fmadd_ps(vn, _mm512_set1_ps(-SOFTMAX_LN2_8_LO), vr);
        vr = _mm512_add_ps(vr, vd_lo);
    }

    __m512 vq = _mm512_fmadd_ps(_mm512_set1_ps(SOFTMAX_EXP_C3), vr,
                                _mm512_set1_ps(SOFTMAX_EXP_C2));
    vq = _mm512_fmadd_ps(vq, vr, _mm512_set1_ps(SOFTMAX_EXP_C1));
    const __m512 vt = _mm512_mul_ps(vr, vs);
    const __m512 ve = _mm512_fmadd_ps(vt, vq, vs);
    if (fast)
        return ve;

    const __mmask16 kflush =
        _mm512_cmp_ps_mask(vd_hi, _mm512_set1_ps(SOFTMAX_CUTOFF), _CMP_LT_OQ);
    return _mm512_maskz_mov_ps((__mmask16)~kflush, ve);
}

ALWAYS_INLINE __m512d widen_lo(__m512 v)
{
    return _mm512_cvtps_pd(_mm512_castps512_ps256(v));
}

ALWAYS_INLINE __m512d widen_hi(__m512 v)
{
    return _mm512_cvtps_pd(
        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

/* Two vectors of 8 doubles rounded to one vector of 16 floats. */
ALWAYS_INLINE __m512 narrow(__m512d vlo, __m512d vhi)
{
    const __m256 lo = _mm512_cvtpd_ps(vlo), hi = _mm512_cvtpd_ps(vhi);
    return _mm512_castpd_ps(_mm512_insertf64x4(
        _mm512_castpd256_pd512(_mm256_castps_pd(lo)), _mm256_castps_pd(hi), 1));
}

/* Step 1: the maximum of x[0..n). */
static float max_of(const float *x, size_t n)
{
    const __m512 vminus_inf = _mm512_set1_ps(-INFINITY);
    __m512 vmax0 = vminus_inf, vmax1 = vminus_inf, vmax2 = vminus_inf,
           vmax3 = vminus_inf;
    for (; n >= 64; n -= 64, x += 64) {
        vmax0 = _mm512_max_ps(vmax0, _mm512_loadu_ps(x));
        vmax1 = _mm512_max_ps(vmax1, _mm512_loadu_ps(x + 16));
        vmax2 = _mm512_max_ps(vmax2, _mm512_loadu_ps(x + 32));
        vmax3 = _mm512_max_ps(vmax3, _mm512_loadu_ps(x + 48));
    }
    for (; n >= 16; n -= 16, x += 16)
        vmax0 = _mm512_max_ps(vmax0, _mm512_loadu_ps(x));
    if (n != 0)
        vmax1 = _mm512_max_ps(
            vmax1, _mm512_mask_loadu_ps(vminus_inf, tail_mask(n), x));
    return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(vmax0, vmax1),
                                              _mm512_max_ps(vmax2, vmax3)));
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
    __m512d vacc0 = _mm512_setzero_pd(), vacc1 = _mm512_setzero_pd();
    __m512 vblock = _mm512_setzero_ps();
    unsigned groups = 0;
    for (; n >= 64; n -= 64, x += 64, y = store ? y + 64 : y) {
        if (prefetch) { /* the next chunk, while this one computes */
            for (int k = 0; k < 64; k += 16)
                _mm_prefetch((const char *)(x + SOFTMAX_ONLINE_CHUNK + k),
                             _MM_HINT_T0);
        }
        const __m512 ve0 = exp_minus_max(_mm512_loadu_ps(x), args, fast);
        const __m512 ve1 = exp_minus_max(_mm512_loadu_ps(x + 16), args, fast);
        const __m512 ve2 = exp_minus_max(_mm512_loadu_ps(x + 32), args, fast);
        const __m512 ve3 = exp_minus_max(_mm512_loadu_ps(x + 48), args, fast);
        if (store) {
            _mm512_storeu_ps(y, ve0);
            _mm512_storeu_ps(y + 16, ve1);
            _mm512_storeu_ps(y + 32, ve2);
            _mm512_storeu_ps(y + 48, ve3);
        }
        vblock = _mm512_add_ps(vblock, _mm512_add_ps(_mm512_add_ps(ve0, ve1),
                                                     _mm512_add_ps(ve2, ve3)));
        if (++groups == SOFTMAX_SUM_BLOCK / 4) {
            vacc0 = _mm512_add_pd(vacc0, widen_lo(vblock));
            vacc1 = _mm512_add_pd(vacc1, widen_hi(vblock));
            vblock = _mm512_setzero_ps();
            groups = 0;
        }
    }
    vacc0 = _mm512_add_pd(vacc0, widen_lo(vblock));
    vacc1 = _mm512_add_pd(vacc1, widen_hi(vblock));
    for (; n >= 16; n -= 16, x += 16, y = store ? y + 16 : y) {
        const __m512 ve = exp_minus_max(_mm512_loadu_ps(x), args, fast);
        if (store)
            _mm512_storeu_ps(y, ve);
        vacc0 = _mm512_add_pd(vacc0, widen_lo(ve));
        vacc1 = _mm512_add_pd(vacc1, widen_hi(ve));
    }
    if (n != 0) {
        const __mmask16 kmask = tail_mask(n);
        const __m512 ve = _mm512_maskz_mov_ps(
            kmask, exp_minus_max(_mm512_maskz_loadu_ps(kmask, x), args, fast));
        if (store)
            _mm512_mask_storeu_ps(y, kmask, ve);
        vacc0 = _mm512_add_pd(vacc0, widen_lo(ve));
        vacc1 = _mm512_add_pd(vacc1, widen_hi(ve));
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(vacc0, vacc1));
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
    const __m512 vinv = _mm512_set1_ps(inv);
    for (; n >= 64; n -= 64, y += 64) {
        _mm512_storeu_ps(y, _mm512_mul_ps(_mm512_loadu_ps(y), vinv));
        _mm512_storeu_ps(y + 16, _mm512_mul_ps(_mm512_loadu_ps(y + 16), vinv));
        _mm512_storeu_ps(y + 32, _mm512_mul_ps(_mm512_loadu_ps(y + 32), vinv));
        _mm512_storeu_ps(y + 48, _mm512_mul_ps(_mm512_loadu_ps(y + 48), vinv));
    }
    for (; n >= 16; n -= 16, y += 16)
        _mm512_storeu_ps(y, _mm512_mul_ps(_mm512_loadu_ps(y), vinv));
    if (n != 0) {
        const __mmask16 kmask = tail_mask(n);
        _mm512_mask_storeu_ps(
            y, kmask, _mm512_mul_ps(_mm512_maskz_loadu_ps(kmask, y), vinv));
    }
}

/* y = (x - m) - log_sum in float (scalar.c, "Log-softmax"). */
ALWAYS_INLINE __m512 log_out(__m512 vx, __m512 vm, __m512 vlog_sum)
{
    return _mm512_sub_ps(_mm512_sub_ps(vx, vm), vlog_sum);
}

static void log_store(const float *x, float *y, size_t n, float m,
                      float log_sum)
{
    const __m512 vm = _mm512_set1_ps(m);
    const __m512 vlog_sum = _mm512_set1_ps(log_sum);
    for (; n >= 64; n -= 64, x += 64, y += 64)
        for (int k = 0; k < 64; k += 16)
            _mm512_storeu_ps(y + k,
                             log_out(_mm512_loadu_ps(x + k), vm, vlog_sum));
    for (; n >= 16; n -= 16, x += 16, y += 16)
        _mm512_storeu_ps(y, log_out(_mm512_loadu_ps(x), vm, vlog_sum));
    if (n != 0) {
        const __mmask16 kmask = tail_mask(n);
        _mm512_mask_storeu_ps(
            y, kmask, log_out(_mm512_maskz_loadu_ps(kmask, x), vm, vlog_sum));
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

/* Long rows, pass 1 (scalar.c, "Long rows"). */
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

ALWAYS_INLINE __m512 exp_scaled(__m512 vx, const exp_args *args, __m512 vinv,
                                const int fast)
{
    return _mm512_mul_ps(exp_minus_max(vx, args, fast), vinv);
}

/* How far ahead (floats) pass 2 prefetches x in the streaming form. */
#define STREAM_PREFETCH 512

/* Long rows, pass 2: y = exp(x - m) * inv; non-temporal stores on the
 * 64-byte aligned body with `stream`, x prefetched as in avx2.c. */
ALWAYS_INLINE void exp_scale_k(const float *x, float *y, size_t n,
                               const exp_args *args, __m512 vinv,
                               const int stream, const int fast)
{
    if (stream) {
        size_t head = (64 - ((uintptr_t)y & 63)) / 4 % 16;
        if (head > n)
            head = n;
        if (head != 0) {
            const __mmask16 kmask = tail_mask(head);
            _mm512_mask_storeu_ps(
                y, kmask,
                exp_scaled(_mm512_maskz_loadu_ps(kmask, x), args, vinv, fast));
            x += head;
            y += head;
            n -= head;
        }
        for (; n >= 16; n -= 16, x += 16, y += 16) {
            if (n >= 16 + STREAM_PREFETCH)
                _mm_prefetch((const char *)(x + STREAM_PREFETCH), _MM_HINT_T0);
            _mm512_stream_ps(y,
                             exp_scaled(_mm512_loadu_ps(x), args, vinv, fast));
        }
        _mm_sfence();
    }
    for (; n >= 16; n -= 16, x += 16, y += 16)
        _mm512_storeu_ps(y, exp_scaled(_mm512_loadu_ps(x), args, vinv, fast));
    if (n != 0) {
        const __mmask16 kmask = tail_mask(n);
        _mm512_mask_storeu_ps(
            y, kmask,
            exp_scaled(_mm512_maskz_loadu_ps(kmask, x), args, vinv, fast));
    }
}

static void exp_scale_store(const float *x, float *y, size_t n, float m,
                            float inv)
{
    const struct softmax_row row = softmax_row_for(m);
    const exp_args args = exp_args_for(&row);
    const __m512 vinv = _mm512_set1_ps(inv);
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

static void softmax_f32_avx512(const float *x, float *y, size_t rows, size_t n,
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
    /* The next row's maximum before this row's scale pass (avx2.c). */
    float m = row_max(x, n, flags);
    for (size_t row = 0; row < rows; row++) {
        float *yr = y + row * y_stride;
        const double sum = exp_sum_store(x + row * x_stride, yr, n, m);
        if (row + 1 < rows)
            m = row_max(x + (row + 1) * x_stride, n, flags);
        scale(yr, n, sum == 0.0 ? 0.0f : (float)(1.0 / sum));
    }
}

static void log_softmax_f32_avx512(const float *x, float *y, size_t rows,
                                   size_t n, size_t x_stride, size_t y_stride,
                                   unsigned flags)
{
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
 * The general-axis form: blocks of AXIS_VECS vectors of 16 adjacent
 * columns, walking the axis with stride `inner`, as in avx2.c (independent
 * chains for the max and sum passes); leftover columns one vector at a
 * time, the last one k-masked. Steps as in scalar.c's axis_chunk.
 */
#define AXIS_VECS 4
/* Softmax axes of up to this many steps are staged in a stack buffer
 * (avx2.c, axis_block, says why and what it gained): 16 KiB. */
#define AXIS_STAGE_MAX 64

ALWAYS_INLINE void axis_block(const float *x, float *y, size_t axis,
                              size_t inner, const __mmask16 *kmask,
                              unsigned flags, const int log_form,
                              const int nvec, float *buf, const int staged)
{
    const __m512 vminus_inf = _mm512_set1_ps(-INFINITY);
    __m512 vmax[AXIS_VECS];
    exp_args args[AXIS_VECS];
    __m512d vacc_lo[AXIS_VECS], vacc_hi[AXIS_VECS];
    /* Where passes 2 and 3 find x, and where the exps go. */
    const float *src = staged ? buf : x;
    float *dst = staged ? buf : y;
    const size_t sstride = staged ? (size_t)(16 * nvec) : inner;

    /* 1-2. */
    for (int v = 0; v < nvec; v++)
        vmax[v] = vminus_inf;
    for (size_t a = 0; a < axis; a++)
        for (int v = 0; v < nvec; v++) {
            const __m512 vx = _mm512_mask_loadu_ps(vminus_inf, kmask[v],
                                                   x + a * inner + 16 * v);
            if (staged)
                _mm512_storeu_ps(buf + a * sstride + 16 * v, vx);
            vmax[v] = _mm512_max_ps(vmax[v], vx);
        }
    for (int v = 0; v < nvec; v++) {
        if (flags & SIMDNN_SOFTMAX_MASKED_ROW_ZERO)
            vmax[v] = _mm512_maskz_mov_ps(
                (__mmask16)~_mm512_cmp_ps_mask(vmax[v], vminus_inf, _CMP_EQ_OQ),
                vmax[v]);
        args[v].vneg_m = _mm512_sub_ps(_mm512_setzero_ps(), vmax[v]);
        args[v].vlower = _mm512_setzero_ps();
        args[v].vbias = args[v].vcorr = _mm512_setzero_ps();
        args[v].vtable = pow2_table();
        vacc_lo[v] = vacc_hi[v] = _mm512_setzero_pd();
    }

    /* 3-7. */
    size_t a = 0;
    for (; a + SOFTMAX_AXIS_SUM_BLOCK <= axis; a += SOFTMAX_AXIS_SUM_BLOCK)
        for (int v = 0; v < nvec; v++) {
            __m512 vpart = _mm512_setzero_ps();
            for (size_t b = a; b < a + SOFTMAX_AXIS_SUM_BLOCK; b++) {
                const size_t at = b * sstride + 16 * v;
                const __m512 ve = _mm512_maskz_mov_ps(
                    kmask[v],
                    exp_minus_max(_mm512_maskz_loadu_ps(kmask[v], src + at),
                                  &args[v], 0));
                if (!log_form)
                    _mm512_mask_storeu_ps(dst + at, kmask[v], ve);
                vpart = _mm512_add_ps(vpart, ve);
            }
            vacc_lo[v] = _mm512_add_pd(vacc_lo[v], widen_lo(vpart));
            vacc_hi[v] = _mm512_add_pd(vacc_hi[v], widen_hi(vpart));
        }
    for (; a < axis; a++)
        for (int v = 0; v < nvec; v++) {
            const size_t at = a * sstride + 16 * v;
            const __m512 ve = _mm512_maskz_mov_ps(
                kmask[v],
                exp_minus_max(_mm512_maskz_loadu_ps(kmask[v], src + at),
                              &args[v], 0));
            if (!log_form)
                _mm512_mask_storeu_ps(dst + at, kmask[v], ve);
            vacc_lo[v] = _mm512_add_pd(vacc_lo[v], widen_lo(ve));
            vacc_hi[v] = _mm512_add_pd(vacc_hi[v], widen_hi(ve));
        }

    /* 9, or the log form. */
    if (!log_form) {
        const __m512d vone = _mm512_set1_pd(1.0);
        const __m512d vzero = _mm512_setzero_pd();
        __m512 vinv[AXIS_VECS];
        for (int v = 0; v < nvec; v++) {
            const __m512d vinv_lo = _mm512_maskz_mov_pd(
                (__mmask8)~_mm512_cmp_pd_mask(vacc_lo[v], vzero, _CMP_EQ_OQ),
                _mm512_div_pd(vone, vacc_lo[v]));
            const __m512d vinv_hi = _mm512_maskz_mov_pd(
                (__mmask8)~_mm512_cmp_pd_mask(vacc_hi[v], vzero, _CMP_EQ_OQ),
                _mm512_div_pd(vone, vacc_hi[v]));
            vinv[v] = narrow(vinv_lo, vinv_hi);
        }
        for (size_t b = 0; b < axis; b++)
            for (int v = 0; v < nvec; v++) {
                const __m512 ve =
                    _mm512_maskz_loadu_ps(kmask[v], dst + b * sstride + 16 * v);
                _mm512_mask_storeu_ps(y + b * inner + 16 * v, kmask[v],
                                      _mm512_mul_ps(ve, vinv[v]));
            }
    } else {
        __m512 vlog[AXIS_VECS];
        for (int v = 0; v < nvec; v++) {
            double sums[16];
            float logs[16];
            _mm512_storeu_pd(sums, vacc_lo[v]);
            _mm512_storeu_pd(sums + 8, vacc_hi[v]);
            for (int k = 0; k < 16; k++)
                logs[k] = sums[k] == 0.0
                              ? 0.0f
                              : (float)log(sums[k] / SOFTMAX_EXP_SCALE);
            vlog[v] = _mm512_loadu_ps(logs);
        }
        for (size_t b = 0; b < axis; b++)
            for (int v = 0; v < nvec; v++) {
                const size_t at = b * inner + 16 * v;
                _mm512_mask_storeu_ps(
                    y + at, kmask[v],
                    log_out(_mm512_maskz_loadu_ps(kmask[v], x + at), vmax[v],
                            vlog[v]));
            }
    }
}

static void axis_avx512(const float *x, float *y, size_t outer, size_t axis,
                        size_t inner, unsigned flags, const int log_form)
{
    const __mmask16 kall[AXIS_VECS] = {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF};
    float buf[AXIS_STAGE_MAX * 16 * AXIS_VECS] __attribute__((aligned(64)));
    const int staged = axis <= AXIS_STAGE_MAX;
    for (size_t o = 0; o < outer; o++) {
        const float *xo = x + o * axis * inner;
        float *yo = y + o * axis * inner;
        size_t i = 0;
        for (; i + 16 * AXIS_VECS <= inner; i += 16 * AXIS_VECS) {
            if (log_form)
                axis_block(xo + i, yo + i, axis, inner, kall, flags, 1,
                           AXIS_VECS, buf, 0);
            else if (staged)
                axis_block(xo + i, yo + i, axis, inner, kall, flags, 0,
                           AXIS_VECS, buf, 1);
            else
                axis_block(xo + i, yo + i, axis, inner, kall, flags, 0,
                           AXIS_VECS, buf, 0);
        }
        for (; i < inner; i += 16) {
            const __mmask16 kmask[1] = {inner - i >= 16 ? (__mmask16)0xFFFF
                                                        : tail_mask(inner - i)};
            if (log_form)
                axis_block(xo + i, yo + i, axis, inner, kmask, flags, 1, 1, buf,
                           0);
            else if (staged)
                axis_block(xo + i, yo + i, axis, inner, kmask, flags, 0, 1, buf,
                           1);
            else
                axis_block(xo + i, yo + i, axis, inner, kmask, flags, 0, 1, buf,
                           0);
        }
    }
}

static void softmax_axis_f32_avx512(const float *x, float *y, size_t outer,
                                    size_t axis, size_t inner, unsigned flags)
{
    axis_avx512(x, y, outer, axis, inner, flags, 0);
}

static void log_softmax_axis_f32_avx512(const float *x, float *y, size_t outer,
                                        size_t axis, size_t inner,
                                        unsigned flags)
{
    axis_avx512(x, y, outer, axis, inner, flags, 1);
}

const struct softmax_ops softmax_ops_avx512 = {
    .softmax = softmax_f32_avx512,
    .log_softmax = log_softmax_f32_avx512,
    .softmax_axis = softmax_axis_f32_avx512,
    .log_softmax_axis = log_softmax_axis_f32_avx512,
};
