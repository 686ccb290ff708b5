/*
 * Softmax, NEON (aarch64 Advanced SIMD, 4 float lanes). The algorithm and
 * its numbered steps are those of scalar.c, the structure that of avx2.c:
 * three passes, 4 vectors per iteration, float blocks of 4 groups of 4
 * vectors folded into two float64x2 accumulators. Step 4's table lookup
 * is TBL on the 32 bytes of the table.
 *
 * - Tails: NEON has no masked load, so a partial vector is copied through
 *   a 4-float local buffer (load_partial / store_partial): only the k
 *   valid floats of the caller's buffer are ever read or written. The
 *   lanes past k hold -Inf in the max pass and are cleared after exp.
 * - NaN: vmaxq_f32 (FMAX) propagates NaN, so a NaN maximum makes every d
 *   NaN; a NaN elsewhere reaches the sum through its own d (scalar.c
 *   step 2). The clamp of step 3 is vmaxq_f32(vlower, vx), NaN kept; the
 *   flush of step 7 is bic(e, d_hi < CUTOFF): an ordered compare is false
 *   for NaN.
 * - Long rows: the two-pass form of scalar.c; plain stores (no
 *   non-temporal variant here).
 */
#include <arm_neon.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "softmax/softmax.h"

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* The first k (1..4) floats at p, the other lanes `fill`. */
ALWAYS_INLINE float32x4_t load_partial(const float *p, size_t k, float fill)
{
    float buf[4] = {fill, fill, fill, fill};
    memcpy(buf, p, k * sizeof(float));
    return vld1q_f32(buf);
}

ALWAYS_INLINE void store_partial(float *p, size_t k, float32x4_t v)
{
    float buf[4];
    vst1q_f32(buf, v);
    memcpy(p, buf, k * sizeof(float));
}

/* All-ones in lanes 0..k-1. */
ALWAYS_INLINE uint32x4_t lanes_below(size_t k)
{
    static const uint32_t index[4] = {0, 1, 2, 3};
    return vcltq_u32(vld1q_u32(index), vdupq_n_u32((uint32_t)k));
}

/* The per-row constants of steps 3-7 (softmax.h softmax_row), and the
 * table of step 4. */
typedef struct exp_args {
    float32x4_t vneg_m, vlower, vbias, vcorr;
    uint8x16x2_t vtable;
} exp_args;

/* softmax_pow2_entries as the 32 bytes that TBL indexes. */
ALWAYS_INLINE uint8x16x2_t pow2_table(void)
{
    uint8x16x2_t t;
    t.val[0] = vreinterpretq_u8_u32(vld1q_u32(softmax_pow2_entries));
    t.val[1] = vreinterpretq_u8_u32(vld1q_u32(softmax_pow2_entries + 4));
    return t;
}

static exp_args exp_args_for(const struct softmax_row *row)
{
    exp_args args;
    args.vneg_m = vdupq_n_f32(row->neg_m);
    args.vlower = vdupq_n_f32(row->lower);
    args.vbias = vdupq_n_f32(row->bias);
    args.vcorr = vdupq_n_f32(row->corr);
    args.vtable = pow2_table();
    return args;
}

/* Step 4's s = 2^(n/8 + 8) from the bits of vn: TBL picks the 4 bytes of
 * entry j = bits & 7 for each lane (byte indices 4j .. 4j+3). */
ALWAYS_INLINE float32x4_t pow2_of(float32x4_t vn, uint8x16x2_t vtable)
{
    const uint32x4_t vbits = vreinterpretq_u32_f32(vn);
    const uint32x4_t vbytes = vmlaq_n_u32(
        vdupq_n_u32(0x03020100), vandq_u32(vbits, vdupq_n_u32(7)), 0x04040404);
    const uint32x4_t ventry =
        vreinterpretq_u32_u8(vqtbl2q_u8(vtable, vreinterpretq_u8_u32(vbytes)));
    return vreinterpretq_f32_u32(vaddq_u32(vshlq_n_u32(vbits, 20), ventry));
}

/* Steps 3-7 of scalar.c (256*exp(x - m)) on 4 lanes; `fast` is the row's
 * form as a compile-time constant. */
ALWAYS_INLINE float32x4_t exp_minus_max(float32x4_t vx, const exp_args *args,
                                        const int fast)
{
    if (fast)
        vx = vmaxq_f32(args->vlower, vx);
    const float32x4_t vd_hi = vaddq_f32(vx, args->vneg_m);
    float32x4_t vn = vfmaq_f32(vdupq_n_f32(SOFTMAX_MAGIC8), vd_hi,
                               vdupq_n_f32(SOFTMAX_LOG2E8));
    const float32x4_t vs = pow2_of(vn, args->vtable);
    float32x4_t vr;
    if (fast) {
        const float32x4_t vn_k = vsubq_f32(vn, args->vbias);
        vr = vaddq_f32(
            vfmaq_f32(vx, vn_k, vdupq_n_f32(-SOFTMAX_LN2_8_HI)),
            vfmaq_f32(args->vcorr, vn_k, vdupq_n_f32(-SOFTMAX_LN2_8_LO)));
    } else {
        const float32x4_t va = vminq_f32(vx, args->vneg_m);
        const float32x4_t vb = vmaxq_f32(vx, args->vneg_m);
        const float32x4_t vd_lo = vsubq_f32(vb, vsubq_f32(vd_hi, va));
        vn = vsubq_f32(vn, vdupq_n_f32(SOFTMAX_MAGIC8));
        vr = vfmaq_f32(vd_hi, vn, vdupq_n_f32(-SOFTMAX_LN2_8_HI));
        vr = vfmaq_f32(vr, vn, vdupq_n_f32(-SOFTMAX_LN2_8_LO));
        vr = vaddq_f32(vr, vd_lo);
    }

    float32x4_t vq =
        vfmaq_f32(vdupq_n_f32(SOFTMAX_EXP_C2), vdupq_n_f32(SOFTMAX_EXP_C3), vr);
    vq = vfmaq_f32(vdupq_n_f32(SOFTMAX_EXP_C1), vq, vr);
    const float32x4_t vt = vmulq_f32(vr, vs);
    const float32x4_t ve = vfmaq_f32(vs, vt, vq);
    if (fast)
        return ve;

    const uint32x4_t vflush = vcltq_f32(vd_hi, vdupq_n_f32(SOFTMAX_CUTOFF));
    return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(ve), vflush));
}

ALWAYS_INLINE float32x4_t keep_lanes(float32x4_t v, uint32x4_t vmask)
{
    return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), vmask));
}

/* Step 1: the maximum of x[0..n). */
static float max_of(const float *x, size_t n)
{
    const float32x4_t vminus_inf = vdupq_n_f32(-INFINITY);
    float32x4_t vmax0 = vminus_inf, vmax1 = vminus_inf, vmax2 = vminus_inf,
                vmax3 = vminus_inf;
    for (; n >= 16; n -= 16, x += 16) {
        vmax0 = vmaxq_f32(vmax0, vld1q_f32(x));
        vmax1 = vmaxq_f32(vmax1, vld1q_f32(x + 4));
        vmax2 = vmaxq_f32(vmax2, vld1q_f32(x + 8));
        vmax3 = vmaxq_f32(vmax3, vld1q_f32(x + 12));
    }
    for (; n >= 4; n -= 4, x += 4)
        vmax0 = vmaxq_f32(vmax0, vld1q_f32(x));
    if (n != 0)
        vmax1 = vmaxq_f32(vmax1, load_partial(x, n, -INFINITY));
    return vmaxvq_f32(
        vmaxq_f32(vmaxq_f32(vmax0, vmax1), vmaxq_f32(vmax2, vmax3)));
}

/* Steps 1-2. */
static float row_max(const float *x, size_t n, unsigned flags)
{
    float m = max_of(x, n);
    if (m == -INFINITY && (flags & SIMDNN_SOFTMAX_MASKED_ROW_ZERO))
        m = 0.0f;
    return m;
}

/* Steps 3-8; stores e into y when `store`; the float blocks of avx2.c
 * (per lane, 4 groups of 4 vectors). */
ALWAYS_INLINE double exp_sum_k(const float *x, float *y, size_t n,
                               const exp_args *args, const int store,
                               const int fast)
{
    float64x2_t vacc0 = vdupq_n_f64(0.0), vacc1 = vdupq_n_f64(0.0);
    float32x4_t vblock = vdupq_n_f32(0.0f);
    unsigned groups = 0;
    for (; n >= 16; n -= 16, x += 16, y = store ? y + 16 : y) {
        const float32x4_t ve0 = exp_minus_max(vld1q_f32(x), args, fast);
        const float32x4_t ve1 = exp_minus_max(vld1q_f32(x + 4), args, fast);
        const float32x4_t ve2 = exp_minus_max(vld1q_f32(x + 8), args, fast);
        const float32x4_t ve3 = exp_minus_max(vld1q_f32(x + 12), args, fast);
        if (store) {
            vst1q_f32(y, ve0);
            vst1q_f32(y + 4, ve1);
            vst1q_f32(y + 8, ve2);
            vst1q_f32(y + 12, ve3);
        }
        vblock = vaddq_f32(vblock,
                           vaddq_f32(vaddq_f32(ve0, ve1), vaddq_f32(ve2, ve3)));
        if (++groups == SOFTMAX_SUM_BLOCK / 4) {
            vacc0 = vaddq_f64(vacc0, vcvt_f64_f32(vget_low_f32(vblock)));
            vacc1 = vaddq_f64(vacc1, vcvt_high_f64_f32(vblock));
            vblock = vdupq_n_f32(0.0f);
            groups = 0;
        }
    }
    vacc0 = vaddq_f64(vacc0, vcvt_f64_f32(vget_low_f32(vblock)));
    vacc1 = vaddq_f64(vacc1, vcvt_high_f64_f32(vblock));
    for (; n >= 4; n -= 4, x += 4, y = store ? y + 4 : y) {
        const float32x4_t ve = exp_minus_max(vld1q_f32(x), args, fast);
        if (store)
            vst1q_f32(y, ve);
        vacc0 = vaddq_f64(vacc0, vcvt_f64_f32(vget_low_f32(ve)));
        vacc1 = vaddq_f64(vacc1, vcvt_high_f64_f32(ve));
    }
    if (n != 0) {
        const float32x4_t ve =
            keep_lanes(exp_minus_max(load_partial(x, n, 0.0f), args, fast),
                       lanes_below(n));
        if (store)
            store_partial(y, n, ve);
        vacc0 = vaddq_f64(vacc0, vcvt_f64_f32(vget_low_f32(ve)));
        vacc1 = vaddq_f64(vacc1, vcvt_high_f64_f32(ve));
    }
    return vaddvq_f64(vaddq_f64(vacc0, vacc1));
}

ALWAYS_INLINE double exp_sum(const float *x, float *y, size_t n, float m,
                             const int store)
{
    const struct softmax_row row = softmax_row_for(m);
    const exp_args args = exp_args_for(&row);
    return row.fast ? exp_sum_k(x, y, n, &args, store, 1)
                    : exp_sum_k(x, y, n, &args, store, 0);
}

/* Step 8: y *= inv. */
static void scale(float *y, size_t n, float inv)
{
    const float32x4_t vinv = vdupq_n_f32(inv);
    for (; n >= 16; n -= 16, y += 16) {
        vst1q_f32(y, vmulq_f32(vld1q_f32(y), vinv));
        vst1q_f32(y + 4, vmulq_f32(vld1q_f32(y + 4), vinv));
        vst1q_f32(y + 8, vmulq_f32(vld1q_f32(y + 8), vinv));
        vst1q_f32(y + 12, vmulq_f32(vld1q_f32(y + 12), vinv));
    }
    for (; n >= 4; n -= 4, y += 4)
        vst1q_f32(y, vmulq_f32(vld1q_f32(y), vinv));
    if (n != 0)
        store_partial(y, n, vmulq_f32(load_partial(y, n, 0.0f), vinv));
}

/* y = (x - m) - log_sum in float (scalar.c, "Log-softmax"). */
ALWAYS_INLINE float32x4_t log_out(float32x4_t vx, float32x4_t vm,
                                  float32x4_t vlog_sum)
{
    return vsubq_f32(vsubq_f32(vx, vm), vlog_sum);
}

static void log_store(const float *x, float *y, size_t n, float m,
                      float log_sum)
{
    const float32x4_t vm = vdupq_n_f32(m);
    const float32x4_t vlog_sum = vdupq_n_f32(log_sum);
    for (; n >= 16; n -= 16, x += 16, y += 16)
        for (int k = 0; k < 16; k += 4)
            vst1q_f32(y + k, log_out(vld1q_f32(x + k), vm, vlog_sum));
    for (; n >= 4; n -= 4, x += 4, y += 4)
        vst1q_f32(y, log_out(vld1q_f32(x), vm, vlog_sum));
    if (n != 0)
        store_partial(y, n, log_out(load_partial(x, n, 0.0f), vm, vlog_sum));
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
        sum += exp_sum_only(x + i, c, m == -INFINITY ? 0.0f : m);
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

ALWAYS_INLINE float32x4_t exp_scaled(float32x4_t vx, const exp_args *args,
                                     float32x4_t vinv, const int fast)
{
    return vmulq_f32(exp_minus_max(vx, args, fast), vinv);
}

/* Long rows, pass 2: y = exp(x - m) * inv. */
ALWAYS_INLINE void exp_scale_k(const float *x, float *y, size_t n,
                               const exp_args *args, float32x4_t vinv,
                               const int fast)
{
    for (; n >= 16; n -= 16, x += 16, y += 16)
        for (int k = 0; k < 16; k += 4)
            vst1q_f32(y + k, exp_scaled(vld1q_f32(x + k), args, vinv, fast));
    for (; n >= 4; n -= 4, x += 4, y += 4)
        vst1q_f32(y, exp_scaled(vld1q_f32(x), args, vinv, fast));
    if (n != 0)
        store_partial(y, n,
                      exp_scaled(load_partial(x, n, 0.0f), args, vinv, fast));
}

static void exp_scale_store(const float *x, float *y, size_t n, float m,
                            float inv)
{
    const struct softmax_row row = softmax_row_for(m);
    const exp_args args = exp_args_for(&row);
    const float32x4_t vinv = vdupq_n_f32(inv);
    if (row.fast)
        exp_scale_k(x, y, n, &args, vinv, 1);
    else
        exp_scale_k(x, y, n, &args, vinv, 0);
}

static void softmax_f32_neon(const float *x, float *y, size_t rows, size_t n,
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

static void log_softmax_f32_neon(const float *x, float *y, size_t rows,
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

/* Loads/stores k (1..4) columns: full vectors when k == 4. */
ALWAYS_INLINE float32x4_t load_cols(const float *p, size_t k, float fill)
{
    return k == 4 ? vld1q_f32(p) : load_partial(p, k, fill);
}

ALWAYS_INLINE void store_cols(float *p, size_t k, float32x4_t v)
{
    if (k == 4)
        vst1q_f32(p, v);
    else
        store_partial(p, k, v);
}

/*
 * The general-axis form: blocks of AXIS_VECS vectors of 4 adjacent columns,
 * walking the axis with stride `inner`, as in avx2.c (independent chains
 * for the max and sum passes); leftover columns one vector at a time, the
 * last k < 4 through the local buffer. Steps as in scalar.c's axis_chunk.
 */
#define AXIS_VECS 4
/* Softmax axes of up to this many steps are staged in a stack buffer
 * (avx2.c, axis_block, says why): 8 KiB. */
#define AXIS_STAGE_MAX 128

ALWAYS_INLINE void axis_block(const float *x, float *y, size_t axis,
                              size_t inner, size_t k, unsigned flags,
                              const int log_form, const int nvec, float *buf,
                              const int staged)
{
    const float32x4_t vminus_inf = vdupq_n_f32(-INFINITY);
    const uint32x4_t vlanes = lanes_below(k);
    float32x4_t vmax[AXIS_VECS];
    exp_args args[AXIS_VECS];
    float64x2_t vacc_lo[AXIS_VECS], vacc_hi[AXIS_VECS];
    /* Where passes 2 and 3 find x, and where the exps go (whole vectors
     * in buf). */
    const float *src = staged ? buf : x;
    float *dst = staged ? buf : y;
    const size_t sstride = staged ? (size_t)(4 * nvec) : inner;
    const size_t sk = staged ? 4 : k;

    /* 1-2. */
    for (int v = 0; v < nvec; v++)
        vmax[v] = vminus_inf;
    for (size_t a = 0; a < axis; a++)
        for (int v = 0; v < nvec; v++) {
            const float32x4_t vx =
                load_cols(x + a * inner + 4 * v, k, -INFINITY);
            if (staged)
                vst1q_f32(buf + a * sstride + 4 * v, vx);
            vmax[v] = vmaxq_f32(vmax[v], vx);
        }
    for (int v = 0; v < nvec; v++) {
        if (flags & SIMDNN_SOFTMAX_MASKED_ROW_ZERO)
            vmax[v] = vreinterpretq_f32_u32(
                vbicq_u32(vreinterpretq_u32_f32(vmax[v]),
                          vceqq_f32(vmax[v], vminus_inf)));
        args[v].vneg_m = vnegq_f32(vmax[v]);
        args[v].vlower = args[v].vbias = args[v].vcorr = vdupq_n_f32(0.0f);
        args[v].vtable = pow2_table();
        vacc_lo[v] = vacc_hi[v] = vdupq_n_f64(0.0);
    }

    /* 3-7. */
    size_t a = 0;
    for (; a + SOFTMAX_AXIS_SUM_BLOCK <= axis; a += SOFTMAX_AXIS_SUM_BLOCK)
        for (int v = 0; v < nvec; v++) {
            float32x4_t vpart = vdupq_n_f32(0.0f);
            for (size_t b = a; b < a + SOFTMAX_AXIS_SUM_BLOCK; b++) {
                const size_t at = b * sstride + 4 * v;
                const float32x4_t ve = keep_lanes(
                    exp_minus_max(load_cols(src + at, sk, 0.0f), &args[v], 0),
                    vlanes);
                if (!log_form)
                    store_cols(dst + at, sk, ve);
                vpart = vaddq_f32(vpart, ve);
            }
            vacc_lo[v] =
                vaddq_f64(vacc_lo[v], vcvt_f64_f32(vget_low_f32(vpart)));
            vacc_hi[v] = vaddq_f64(vacc_hi[v], vcvt_high_f64_f32(vpart));
        }
    for (; a < axis; a++)
        for (int v = 0; v < nvec; v++) {
            const size_t at = a * sstride + 4 * v;
            const float32x4_t ve = keep_lanes(
                exp_minus_max(load_cols(src + at, sk, 0.0f), &args[v], 0),
                vlanes);
            if (!log_form)
                store_cols(dst + at, sk, ve);
            vacc_lo[v] = vaddq_f64(vacc_lo[v], vcvt_f64_f32(vget_low_f32(ve)));
            vacc_hi[v] = vaddq_f64(vacc_hi[v], vcvt_high_f64_f32(ve));
        }

    /* 9, or the log form. */
    if (!log_form) {
        float32x4_t vinv[AXIS_VECS];
        for (int v = 0; v < nvec; v++) {
            double sums[4];
            float inv[4];
            vst1q_f64(sums, vacc_lo[v]);
            vst1q_f64(sums + 2, vacc_hi[v]);
            for (int j = 0; j < 4; j++)
                inv[j] = sums[j] == 0.0 ? 0.0f : (float)(1.0 / sums[j]);
            vinv[v] = vld1q_f32(inv);
        }
        for (size_t b = 0; b < axis; b++)
            for (int v = 0; v < nvec; v++) {
                const float32x4_t ve =
                    load_cols(dst + b * sstride + 4 * v, sk, 0.0f);
                store_cols(y + b * inner + 4 * v, k, vmulq_f32(ve, vinv[v]));
            }
    } else {
        float32x4_t vlog[AXIS_VECS];
        for (int v = 0; v < nvec; v++) {
            double sums[4];
            float logs[4];
            vst1q_f64(sums, vacc_lo[v]);
            vst1q_f64(sums + 2, vacc_hi[v]);
            for (int j = 0; j < 4; j++)
                logs[j] = sums[j] == 0.0
                              ? 0.0f
                              : (float)log(sums[j] / SOFTMAX_EXP_SCALE);
            vlog[v] = vld1q_f32(logs);
        }
        for (size_t b = 0; b < axis; b++)
            for (int v = 0; v < nvec; v++) {
                const size_t at = b * inner + 4 * v;
                store_cols(
                    y + at, k,
                    log_out(load_cols(x + at, k, 0.0f), vmax[v], vlog[v]));
            }
    }
}

static void axis_neon(const float *x, float *y, size_t outer, size_t axis,
                      size_t inner, unsigned flags, const int log_form)
{
    float buf[AXIS_STAGE_MAX * 4 * AXIS_VECS] __attribute__((aligned(16)));
    const int staged = axis <= AXIS_STAGE_MAX;
    for (size_t o = 0; o < outer; o++) {
        const float *xo = x + o * axis * inner;
        float *yo = y + o * axis * inner;
        size_t i = 0;
        for (; i + 4 * AXIS_VECS <= inner; i += 4 * AXIS_VECS) {
            if (log_form)
                axis_block(xo + i, yo + i, axis, inner, 4, flags, 1, AXIS_VECS,
                           buf, 0);
            else if (staged)
                axis_block(xo + i, yo + i, axis, inner, 4, flags, 0, AXIS_VECS,
                           buf, 1);
            else
                axis_block(xo + i, yo + i, axis, inner, 4, flags, 0, AXIS_VECS,
                           buf, 0);
        }
        for (; i < inner; i += 4) {
            const size_t k = inner - i < 4 ? inner - i : 4;
            if (log_form)
                axis_block(xo + i, yo + i, axis, inner, k, flags, 1, 1, buf, 0);
            else if (staged)
                axis_block(xo + i, yo + i, axis, inner, k, flags, 0, 1, buf, 1);
            else
                axis_block(xo + i, yo + i, axis, inner, k, flags, 0, 1, buf, 0);
        }
    }
}

static void softmax_axis_f32_neon(const float *x, float *y, size_t outer,
                                  size_t axis, size_t inner, unsigned flags)
{
    axis_neon(x, y, outer, axis, inner, flags, 0);
}

static void log_softmax_axis_f32_neon(const float *x, float *y, size_t outer,
                                      size_t axis, size_t inner, unsigned flags)
{
    axis_neon(x, y, outer, axis, inner, flags, 1);
}

const struct softmax_ops softmax_ops_neon = {
    .softmax = softmax_f32_neon,
    .log_softmax = log_softmax_f32_neon,
    .softmax_axis = softmax_axis_f32_neon,
    .log_softmax_axis = log_softmax_axis_f32_neon,
};
