/*
 * Batch normalization, NEON (aarch64 Advanced SIMD) kernels: the AVX2 unit
 * (avx2.c) at 4 lanes, line for line, itself mirroring the algorithm of
 * scalar.c (steps 1-5); avx2.c explains the flat walks and the periodic
 * constants. Only what is ISA-specific is explained here.
 *
 * - Tails: NEON has no masked loads, so a partial vector is copied through
 *   a 4-float stack buffer whose other lanes hold a fill value (the shift k
 *   for the moments, so those lanes add exactly 0; 0 otherwise); only the
 *   n valid elements are read from or written to the caller's buffers.
 * - The straddling vector of the planes walk blends two channels'
 *   constants with vbslq on a lane-index comparison.
 * - No streaming stores: AArch64's non-temporal STNP is a hint that cores
 *   commonly ignore for this pattern, so BATCHNORM_STREAM is ignored.
 * - Accumulation as in avx2.c: 4 float accumulators per sum, each taking
 *   at most BATCHNORM_BLOCK additions, summed pairwise and widened to
 *   double (vcvt_f64_f32 / vcvt_high_f64_f32); in the rows view,
 *   sub-blocks chained in float over 24-row super-blocks (reduce_rows).
 *   vfmaq_f32 is fused, as the FMAs of the x86 units.
 * - Verified under qemu-aarch64 only (correctness, not speed).
 */
#include <arm_neon.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "batchnorm/batchnorm.h"

#define LANES 4

#define BN_INLINE static inline __attribute__((always_inline))

/* Partial vectors (n < LANES elements) go through a local copy: the lanes
 * past n hold `fill`, and only n elements are read or written. */
BN_INLINE float32x4_t load_part(const float *p, size_t n, float32x4_t fill)
{
    float buf[LANES];
    vst1q_f32(buf, fill);
    memcpy(buf, p, n * sizeof(float));
    return vld1q_f32(buf);
}

BN_INLINE void store_part(float *p, size_t n, float32x4_t v)
{
    float buf[LANES];
    vst1q_f32(buf, v);
    memcpy(p, buf, n * sizeof(float));
}

/* ---- steps 4 and 5 (dx): elementwise maps ---- */

/* No streaming stores on NEON (see the notes): the hint is ignored. */
#define ALIGN_BYTES 16

/* Lanes below rem from lo, the others from hi. */
BN_INLINE float32x4_t blend_lanes(float32x4_t lo, float32x4_t hi, size_t rem)
{
    static const uint32_t lane[LANES] = {0, 1, 2, 3};
    uint32x4_t vsel = vcltq_u32(vld1q_u32(lane), vdupq_n_u32((uint32_t)rem));
    return vbslq_f32(vsel, lo, hi);
}

BN_INLINE void store_vec(float *p, float32x4_t v, bool stream)
{
    (void)stream;
    vst1q_f32(p, v);
}

/* Floats from p to the next ALIGN_BYTES boundary (p is float aligned). */
BN_INLINE size_t to_aligned(const float *p)
{
    return ((0 - (uintptr_t)p) & (ALIGN_BYTES - 1)) / sizeof(float);
}

/*
 * One vector of output. grad = false: y = fma(x - m, a, b), ReLU when relu
 * (max(0, y) keeps NaN, as the scalar kernel). grad = true (dx):
 * y = fma(x - m, a, fma(dy, b, r)) with a = q, b = p.
 */
BN_INLINE float32x4_t map_vec(float32x4_t vx, float32x4_t vdy, float32x4_t vm,
                              float32x4_t va, float32x4_t vb, float32x4_t vr,
                              bool relu, bool grad)
{
    float32x4_t vd = vsubq_f32(vx, vm);
    if (grad)
        return vfmaq_f32(vfmaq_f32(vr, vdy, vb), vd, va);
    float32x4_t vy = vfmaq_f32(vb, vd, va);
    return relu ? vmaxq_f32(vdupq_n_f32(0.0f), vy) : vy;
}

/* The constants of one vector's lanes (r only for dx). */
struct consts {
    float32x4_t m, a, b, r;
};

/* The whole vector at offset `at`; map_part: its first rem lanes only. */
BN_INLINE void map_one(const float *x, const float *dy, float *y, size_t at,
                       const struct consts *k, bool relu, bool grad,
                       bool stream)
{
    float32x4_t vdy = grad ? vld1q_f32(dy + at) : vdupq_n_f32(0.0f);
    store_vec(
        y + at,
        map_vec(vld1q_f32(x + at), vdy, k->m, k->a, k->b, k->r, relu, grad),
        stream);
}

BN_INLINE void map_part(const float *x, const float *dy, float *y, size_t at,
                        size_t rem, const struct consts *k, bool relu,
                        bool grad)
{
    size_t vrem = rem;
    float32x4_t vdy =
        grad ? load_part(dy + at, vrem, vdupq_n_f32(0.0f)) : vdupq_n_f32(0.0f);
    store_part(y + at, vrem,
               map_vec(load_part(x + at, vrem, vdupq_n_f32(0.0f)), vdy, k->m,
                       k->a, k->b, k->r, relu, grad));
}

BN_INLINE struct consts broadcast(const float *m, const float *a,
                                  const float *b, const float *r, size_t c,
                                  bool grad)
{
    struct consts k = {vdupq_n_f32(m[c]), vdupq_n_f32(a[c]), vdupq_n_f32(b[c]),
                       grad ? vdupq_n_f32(r[c]) : vdupq_n_f32(0.0f)};
    return k;
}

/*
 * Planes view, spatial >= LANES: one image's planes are walked as one flat
 * array in whole vectors; a vector that straddles two planes takes its
 * lanes' constants from both (blend), so the only partial vectors are the
 * range's last and, when streaming, its first (up to the alignment).
 */
BN_INLINE void map_image(const float *x, const float *dy, float *y,
                         size_t channels, size_t spatial, const float *m,
                         const float *a, const float *b, const float *r,
                         bool relu, bool grad, bool stream)
{
    size_t pos = 0, end = 0;
    if (stream && to_aligned(y) != 0) {
        struct consts k = broadcast(m, a, b, r, 0, grad);
        pos = to_aligned(y); /* < LANES <= spatial */
        map_part(x, dy, y, 0, pos, &k, relu, grad);
    }
    for (size_t c = 0; c < channels; c++) {
        struct consts k = broadcast(m, a, b, r, c, grad);
        end += spatial;
        for (; pos + 4 * LANES <= end; pos += 4 * LANES) {
            map_one(x, dy, y, pos, &k, relu, grad, stream);
            map_one(x, dy, y, pos + LANES, &k, relu, grad, stream);
            map_one(x, dy, y, pos + 2 * LANES, &k, relu, grad, stream);
            map_one(x, dy, y, pos + 3 * LANES, &k, relu, grad, stream);
        }
        for (; pos + LANES <= end; pos += LANES)
            map_one(x, dy, y, pos, &k, relu, grad, stream);
        if (pos == end)
            continue;
        if (c + 1 == channels) {
            map_part(x, dy, y, pos, end - pos, &k, relu, grad);
            pos = end;
            continue;
        }
        struct consts next = broadcast(m, a, b, r, c + 1, grad);
        struct consts both = {blend_lanes(k.m, next.m, end - pos),
                              blend_lanes(k.a, next.a, end - pos),
                              blend_lanes(k.b, next.b, end - pos),
                              blend_lanes(k.r, next.r, end - pos)};
        map_one(x, dy, y, pos, &both, relu, grad, stream);
        pos += LANES;
    }
}

/* Planes view, spatial < LANES: each plane on its own, partial vectors. */
BN_INLINE void map_small_planes(const float *x, const float *dy, float *y,
                                size_t channels, size_t spatial, const float *m,
                                const float *a, const float *b, const float *r,
                                bool relu, bool grad)
{
    for (size_t c = 0; c < channels; c++) {
        struct consts k = broadcast(m, a, b, r, c, grad);
        map_part(x, dy, y, c * spatial, spatial, &k, relu, grad);
    }
}

BN_INLINE void map_planes(const float *x, const float *dy, float *y,
                          size_t images, size_t image_stride, size_t channels,
                          size_t spatial, const float *m, const float *a,
                          const float *b, const float *r, bool relu, bool grad,
                          bool stream)
{
    for (size_t i = 0; i < images; i++) {
        size_t at = i * image_stride;
        const float *dyi = grad ? dy + at : NULL;
        if (spatial >= LANES)
            map_image(x + at, dyi, y + at, channels, spatial, m, a, b, r, relu,
                      grad, stream);
        else
            map_small_planes(x + at, dyi, y + at, channels, spatial, m, a, b, r,
                             relu, grad);
    }
}

/* The constants of the vector whose first lane is channel j. */
BN_INLINE struct consts gather(const float *m, const float *a, const float *b,
                               const float *r, size_t j, bool grad)
{
    struct consts k = {vld1q_f32(m + j), vld1q_f32(a + j), vld1q_f32(b + j),
                       grad ? vld1q_f32(r + j) : vdupq_n_f32(0.0f)};
    return k;
}

BN_INLINE struct consts gather_part(const float *m, const float *a,
                                    const float *b, const float *r, size_t j,
                                    size_t rem, bool grad)
{
    size_t vrem = rem;
    struct consts k = {load_part(m + j, vrem, vdupq_n_f32(0.0f)),
                       load_part(a + j, vrem, vdupq_n_f32(0.0f)),
                       load_part(b + j, vrem, vdupq_n_f32(0.0f)),
                       grad ? load_part(r + j, vrem, vdupq_n_f32(0.0f))
                            : vdupq_n_f32(0.0f)};
    return k;
}

/*
 * Rows view with contiguous rows: the flat array in whole vectors, the
 * constants of a vector starting at channel j loaded from the periodic
 * extension (batchnorm.h), j advancing by the vector length modulo the
 * channel count. No partial vector but the last (and the first when
 * streaming), whatever the channel count.
 */
BN_INLINE void map_flat(const float *x, const float *dy, float *y, size_t len,
                        size_t channels, const float *m, const float *a,
                        const float *b, const float *r, bool relu, bool grad,
                        bool stream)
{
    const size_t step1 = LANES % channels, step4 = 4 * LANES % channels;
    size_t pos = 0, j = 0;
    if (stream && to_aligned(y) != 0) {
        size_t head = to_aligned(y) < len ? to_aligned(y) : len;
        struct consts k = gather(m, a, b, r, 0, grad);
        map_part(x, dy, y, 0, head, &k, relu, grad);
        pos = head;
        j = head % channels;
    }
    for (; pos + 4 * LANES <= len; pos += 4 * LANES) {
        struct consts k0 = gather(m, a, b, r, j, grad);
        struct consts k1 = gather(m, a, b, r, j + LANES, grad);
        struct consts k2 = gather(m, a, b, r, j + 2 * LANES, grad);
        struct consts k3 = gather(m, a, b, r, j + 3 * LANES, grad);
        map_one(x, dy, y, pos, &k0, relu, grad, stream);
        map_one(x, dy, y, pos + LANES, &k1, relu, grad, stream);
        map_one(x, dy, y, pos + 2 * LANES, &k2, relu, grad, stream);
        map_one(x, dy, y, pos + 3 * LANES, &k3, relu, grad, stream);
        j += step4;
        j -= j >= channels ? channels : 0;
    }
    for (; pos + LANES <= len; pos += LANES) {
        struct consts k = gather(m, a, b, r, j, grad);
        map_one(x, dy, y, pos, &k, relu, grad, stream);
        j += step1;
        j -= j >= channels ? channels : 0;
    }
    if (pos < len) {
        struct consts k = gather(m, a, b, r, j, grad);
        map_part(x, dy, y, pos, len - pos, &k, relu, grad);
    }
}

/*
 * Rows view, general stride, and contiguous rows whose channel count is a
 * multiple of the vector length: rows in blocks (4 for y, 2 for dx), each
 * vector of constants loaded once per block and used for all its rows,
 * each block's loads before its stores (avx2.c says why). A channel count
 * that is not a multiple of the vector length costs a partial vector per
 * row. The columns always go upward: the x86 units walk them downward
 * when y lies just above x modulo 4 KiB (batchnorm_walk_down), a measured
 * Zen 3 effect that no ARM core here could be measured for.
 */
#define ROW_BLOCK_Y 4
#define ROW_BLOCK_DX 2

BN_INLINE void map_block(const float *x, const float *dy, float *y, size_t at,
                         size_t stride, size_t block, const struct consts *k,
                         bool relu, bool grad, bool stream)
{
    float32x4_t vx[ROW_BLOCK_Y], vdy[ROW_BLOCK_Y];
    for (size_t i = 0; i < block; i++) {
        vx[i] = vld1q_f32(x + at + i * stride);
        vdy[i] = grad ? vld1q_f32(dy + at + i * stride) : vdupq_n_f32(0.0f);
    }
    for (size_t i = 0; i < block; i++)
        store_vec(y + at + i * stride,
                  map_vec(vx[i], vdy[i], k->m, k->a, k->b, k->r, relu, grad),
                  stream);
}

BN_INLINE void map_strided(const float *x, const float *dy, float *y,
                           size_t rows, size_t channels, size_t stride,
                           const float *m, const float *a, const float *b,
                           const float *r, bool relu, bool grad, bool stream)
{
    const size_t block = grad ? ROW_BLOCK_DX : ROW_BLOCK_Y;
    size_t full = channels & ~(size_t)(LANES - 1);
    size_t row = 0;
    for (; row + block <= rows; row += block) {
        size_t at = row * stride;
        const float *dyr = grad ? dy + at : NULL;
        for (size_t j = 0; j < full; j += LANES) {
            struct consts k = gather(m, a, b, r, j, grad);
            map_block(x + at, dyr, y + at, j, stride, block, &k, relu, grad,
                      stream);
        }
        if (full < channels) {
            struct consts k =
                gather_part(m, a, b, r, full, channels - full, grad);
            for (size_t i = 0; i < block; i++)
                map_part(x + at, dyr, y + at, full + i * stride,
                         channels - full, &k, relu, grad);
        }
    }
    for (; row < rows; row++) {
        size_t at = row * stride;
        const float *dyr = grad ? dy + at : NULL;
        size_t j = 0;
        for (; j < full; j += LANES) {
            struct consts k = gather(m, a, b, r, j, grad);
            map_one(x + at, dyr, y + at, j, &k, relu, grad, stream);
        }
        if (j < channels) {
            struct consts k = gather_part(m, a, b, r, j, channels - j, grad);
            map_part(x + at, dyr, y + at, j, channels - j, &k, relu, grad);
        }
    }
}

/* Contiguous rows take the flat walk unless the channel count is a
 * multiple of the vector length (then the row blocks are faster), or
 * when streaming to rows that do not start on an ALIGN_BYTES boundary
 * (the flat walk aligns its stores once). Streaming in the strided walk
 * only when every row start is aligned. */
BN_INLINE void map_rows(const float *x, const float *dy, float *y, size_t rows,
                        size_t channels, size_t stride, const float *m,
                        const float *a, const float *b, const float *r,
                        bool relu, bool grad, bool stream)
{
    bool aligned =
        to_aligned(y) == 0 && stride * sizeof(float) % ALIGN_BYTES == 0;
    if (stride == channels && (channels % LANES != 0 || (stream && !aligned)))
        map_flat(x, dy, y, rows * channels, channels, m, a, b, r, relu, grad,
                 stream);
    else if (stream && aligned)
        map_strided(x, dy, y, rows, channels, stride, m, a, b, r, relu, grad,
                    true);
    else
        map_strided(x, dy, y, rows, channels, stride, m, a, b, r, relu, grad,
                    false);
}

/* The exported maps: every combination of ReLU and streaming is its own
 * instance, so that no test of the mode is left in the loops. */
static void apply_planes_neon(const float *x, float *y, size_t images,
                              size_t image_stride, size_t channels,
                              size_t spatial, const float *m, const float *a,
                              const float *b, unsigned mode)
{
    switch (mode & (BATCHNORM_RELU | BATCHNORM_STREAM)) {
    case 0:
        map_planes(x, NULL, y, images, image_stride, channels, spatial, m, a, b,
                   NULL, false, false, false);
        break;
    case BATCHNORM_RELU:
        map_planes(x, NULL, y, images, image_stride, channels, spatial, m, a, b,
                   NULL, true, false, false);
        break;
    case BATCHNORM_STREAM:
        map_planes(x, NULL, y, images, image_stride, channels, spatial, m, a, b,
                   NULL, false, false, true);
        break;
    default:
        map_planes(x, NULL, y, images, image_stride, channels, spatial, m, a, b,
                   NULL, true, false, true);
        break;
    }
}

static void apply_rows_neon(const float *x, float *y, size_t rows,
                            size_t channels, size_t stride, const float *m,
                            const float *a, const float *b, unsigned mode)
{
    switch (mode & (BATCHNORM_RELU | BATCHNORM_STREAM)) {
    case 0:
        map_rows(x, NULL, y, rows, channels, stride, m, a, b, NULL, false,
                 false, false);
        break;
    case BATCHNORM_RELU:
        map_rows(x, NULL, y, rows, channels, stride, m, a, b, NULL, true, false,
                 false);
        break;
    case BATCHNORM_STREAM:
        map_rows(x, NULL, y, rows, channels, stride, m, a, b, NULL, false,
                 false, true);
        break;
    default:
        map_rows(x, NULL, y, rows, channels, stride, m, a, b, NULL, true, false,
                 true);
        break;
    }
}

static void dapply_planes_neon(const float *x, const float *dy, float *dx,
                               size_t images, size_t image_stride,
                               size_t channels, size_t spatial, const float *m,
                               const float *p, const float *q, const float *r,
                               unsigned mode)
{
    if (mode & BATCHNORM_STREAM) {
        map_planes(x, dy, dx, images, image_stride, channels, spatial, m, q, p,
                   r, false, true, true);
    } else {
        map_planes(x, dy, dx, images, image_stride, channels, spatial, m, q, p,
                   r, false, true, false);
    }
}

static void dapply_rows_neon(const float *x, const float *dy, float *dx,
                             size_t rows, size_t channels, size_t stride,
                             const float *m, const float *p, const float *q,
                             const float *r, unsigned mode)
{
    if (mode & BATCHNORM_STREAM) {
        map_rows(x, dy, dx, rows, channels, stride, m, q, p, r, false, true,
                 true);
    } else {
        map_rows(x, dy, dx, rows, channels, stride, m, q, p, r, false, true,
                 false);
    }
}

/* ---- steps 2 and 5 (sums): reductions ---- */

/*
 * One vector of terms into the accumulators. grad = false (moments):
 * u = x - k, s1 += u, s2 += u*u. grad = true: s1 += dy, s2 += dy*(x - m).
 */
BN_INLINE void acc_vec(float32x4_t vx, float32x4_t vdy, float32x4_t vk,
                       float32x4_t *vs1, float32x4_t *vs2, bool grad)
{
    float32x4_t vu = vsubq_f32(vx, vk);
    if (grad) {
        *vs1 = vaddq_f32(*vs1, vdy);
        *vs2 = vfmaq_f32(*vs2, vdy, vu);
    } else {
        *vs1 = vaddq_f32(*vs1, vu);
        *vs2 = vfmaq_f32(*vs2, vu, vu);
    }
}

/* Masked loads of a partial vector: moments see k in the dead lanes (so
 * u = 0 there), gradient sums see dy = 0. */
BN_INLINE void load_partial(const float *x, const float *dy, size_t vrem,
                            float32x4_t vk, float32x4_t *vx, float32x4_t *vdy,
                            bool grad)
{
    if (grad) {
        *vx = load_part(x, vrem, vdupq_n_f32(0.0f));
        *vdy = load_part(dy, vrem, vdupq_n_f32(0.0f));
    } else {
        *vx = load_part(x, vrem, vk);
    }
}

/* The float sums of 4 accumulators widened into two double vectors. */
BN_INLINE void widen_add(float32x4_t v0, float32x4_t v1, float32x4_t v2,
                         float32x4_t v3, float64x2_t *lo, float64x2_t *hi)
{
    float32x4_t vsum = vaddq_f32(vaddq_f32(v0, v1), vaddq_f32(v2, v3));
    *lo = vaddq_f64(*lo, vcvt_f64_f32(vget_low_f32(vsum)));
    *hi = vaddq_f64(*hi, vcvt_high_f64_f32(vsum));
}

BN_INLINE double hsum_pd(float64x2_t lo, float64x2_t hi)
{
    return vaddvq_f64(vaddq_f64(lo, hi));
}

BN_INLINE void reduce_planes(const float *x, const float *dy, size_t images,
                             size_t image_stride, size_t channels,
                             size_t spatial, const float *k, double *s1,
                             double *s2, bool grad)
{
    for (size_t c = 0; c < channels; c++) {
        const float32x4_t vk = vdupq_n_f32(k[c]);
        float32x4_t a10 = vdupq_n_f32(0.0f), a11 = a10, a12 = a10, a13 = a10;
        float32x4_t a20 = a10, a21 = a10, a22 = a10, a23 = a10;
        float32x4_t vdy0 = a10, vdy1 = a10, vdy2 = a10, vdy3 = a10;
        float64x2_t d1lo = vdupq_n_f64(0.0), d1hi = d1lo, d2lo = d1lo,
                    d2hi = d1lo;
        unsigned steps = 0;
#define FLUSH_IF_FULL()                                                        \
    if (++steps == BATCHNORM_BLOCK) {                                          \
        widen_add(a10, a11, a12, a13, &d1lo, &d1hi);                           \
        widen_add(a20, a21, a22, a23, &d2lo, &d2hi);                           \
        a10 = a11 = a12 = a13 = vdupq_n_f32(0.0f);                             \
        a20 = a21 = a22 = a23 = vdupq_n_f32(0.0f);                             \
        steps = 0;                                                             \
    }
        for (size_t i = 0; i < images; i++) {
            size_t at = i * image_stride + c * spatial;
            const float *xp = x + at, *dyp = grad ? dy + at : NULL;
            size_t s = 0;
            for (; s + 4 * LANES <= spatial; s += 4 * LANES) {
                if (grad) {
                    vdy0 = vld1q_f32(dyp + s);
                    vdy1 = vld1q_f32(dyp + s + LANES);
                    vdy2 = vld1q_f32(dyp + s + 2 * LANES);
                    vdy3 = vld1q_f32(dyp + s + 3 * LANES);
                }
                acc_vec(vld1q_f32(xp + s), vdy0, vk, &a10, &a20, grad);
                acc_vec(vld1q_f32(xp + s + LANES), vdy1, vk, &a11, &a21, grad);
                acc_vec(vld1q_f32(xp + s + 2 * LANES), vdy2, vk, &a12, &a22,
                        grad);
                acc_vec(vld1q_f32(xp + s + 3 * LANES), vdy3, vk, &a13, &a23,
                        grad);
                FLUSH_IF_FULL();
            }
            for (; s + LANES <= spatial; s += LANES) {
                if (grad)
                    vdy0 = vld1q_f32(dyp + s);
                acc_vec(vld1q_f32(xp + s), vdy0, vk, &a10, &a20, grad);
                FLUSH_IF_FULL();
            }
            if (s < spatial) {
                float32x4_t vx;
                load_partial(xp + s, grad ? dyp + s : NULL, spatial - s, vk,
                             &vx, &vdy0, grad);
                acc_vec(vx, vdy0, vk, &a10, &a20, grad);
                FLUSH_IF_FULL();
            }
        }
#undef FLUSH_IF_FULL
        widen_add(a10, a11, a12, a13, &d1lo, &d1hi);
        widen_add(a20, a21, a22, a23, &d2lo, &d2hi);
        s1[c] = hsum_pd(d1lo, d1hi);
        s2[c] = hsum_pd(d2lo, d2hi);
    }
}

/*
 * Planes view, short planes (spatial <= SHORT_PLANE): GROUP channels in
 * lockstep, one accumulator pair per channel, as in avx2.c (which says
 * why). Each float lane takes at most BATCHNORM_BLOCK additions before it
 * is widened into the channel's double accumulator. The x86 units take
 * the gradient sums of such planes in one flat walk instead (avx2.c,
 * reduce_flat_planes), which on Zen 3 saved the 32-byte loads that
 * straddle cache lines; here, with 16-byte loads and no core to measure
 * on, the gradient sums keep this walk.
 */
#define SHORT_PLANE 64
#define GROUP 4

/* One vector of each of the group's planes at offset s (partial, the
 * first rem lanes, when partial). */
BN_INLINE void group_step(const float *xi, const float *dyi, size_t spatial,
                          size_t s, const float32x4_t *vk, float32x4_t *a1,
                          float32x4_t *a2, size_t g_count, bool partial,
                          size_t rem, bool grad)
{
    for (size_t g = 0; g < g_count; g++) {
        const float *xp = xi + g * spatial + s;
        const float *dyp = grad ? dyi + g * spatial + s : NULL;
        float32x4_t vx, vdy = vdupq_n_f32(0.0f);
        if (partial) {
            load_partial(xp, dyp, rem, vk[g], &vx, &vdy, grad);
        } else {
            vx = vld1q_f32(xp);
            if (grad)
                vdy = vld1q_f32(dyp);
        }
        acc_vec(vx, vdy, vk[g], &a1[g], &a2[g], grad);
    }
}

/* The group's float accumulators widened into its double ones, zeroed. */
BN_INLINE void group_flush(float32x4_t *a1, float32x4_t *a2, float64x2_t *d1,
                           float64x2_t *d2, size_t g_count)
{
    for (size_t g = 0; g < g_count; g++) {
        d1[g] = vaddq_f64(d1[g], vaddq_f64(vcvt_f64_f32(vget_low_f32(a1[g])),
                                           vcvt_high_f64_f32(a1[g])));
        d2[g] = vaddq_f64(d2[g], vaddq_f64(vcvt_f64_f32(vget_low_f32(a2[g])),
                                           vcvt_high_f64_f32(a2[g])));
        a1[g] = a2[g] = vdupq_n_f32(0.0f);
    }
}

BN_INLINE void reduce_group(const float *x, const float *dy, size_t images,
                            size_t image_stride, size_t spatial, const float *k,
                            double *s1, double *s2, size_t g_count, bool grad)
{
    float32x4_t vk[GROUP], a1[GROUP], a2[GROUP];
    float64x2_t d1[GROUP], d2[GROUP];
    for (size_t g = 0; g < g_count; g++) {
        vk[g] = vdupq_n_f32(k[g]);
        a1[g] = a2[g] = vdupq_n_f32(0.0f);
        d1[g] = d2[g] = vdupq_n_f64(0.0);
    }
    const size_t full = spatial & ~(size_t)(LANES - 1);
    unsigned steps = 0;
    for (size_t i = 0; i < images; i++) {
        const float *xi = x + i * image_stride;
        const float *dyi = grad ? dy + i * image_stride : NULL;
        for (size_t s = 0; s < full; s += LANES) {
            group_step(xi, dyi, spatial, s, vk, a1, a2, g_count, false, 0,
                       grad);
            if (++steps == BATCHNORM_BLOCK) {
                group_flush(a1, a2, d1, d2, g_count);
                steps = 0;
            }
        }
        if (full < spatial) {
            group_step(xi, dyi, spatial, full, vk, a1, a2, g_count, true,
                       spatial - full, grad);
            if (++steps == BATCHNORM_BLOCK) {
                group_flush(a1, a2, d1, d2, g_count);
                steps = 0;
            }
        }
    }
    group_flush(a1, a2, d1, d2, g_count);
    for (size_t g = 0; g < g_count; g++) {
        s1[g] = vaddvq_f64(d1[g]);
        s2[g] = vaddvq_f64(d2[g]);
    }
}

BN_INLINE void reduce_short_planes(const float *x, const float *dy,
                                   size_t images, size_t image_stride,
                                   size_t channels, size_t spatial,
                                   const float *k, double *s1, double *s2,
                                   bool grad)
{
    size_t c = 0;
    for (; c + GROUP <= channels; c += GROUP)
        reduce_group(x + c * spatial, grad ? dy + c * spatial : NULL, images,
                     image_stride, spatial, k + c, s1 + c, s2 + c, GROUP, grad);
    for (; c < channels; c++)
        reduce_group(x + c * spatial, grad ? dy + c * spatial : NULL, images,
                     image_stride, spatial, k + c, s1 + c, s2 + c, 1, grad);
}

/* Adds the widened lanes of one accumulator vector into s[0..count-1]. */
BN_INLINE void flush_lanes(float32x4_t v, double *s, size_t count)
{
    float64x2_t lo = vcvt_f64_f32(vget_low_f32(v));
    float64x2_t hi = vcvt_high_f64_f32(v);
    if (count == LANES) {
        vst1q_f64(s, vaddq_f64(vld1q_f64(s), lo));
        vst1q_f64(s + 2, vaddq_f64(vld1q_f64(s + 2), hi));
        return;
    }
    double lanes[LANES];
    vst1q_f64(lanes, lo);
    vst1q_f64(lanes + 2, hi);
    for (size_t j = 0; j < count; j++)
        s[j] += lanes[j];
}

/* The most phases the flat sums handle (lcm(C, LANES) / LANES). */
#define FLAT_PHASES 32

BN_INLINE void flush_phases(float32x4_t *a1, float32x4_t *a2, double *d1,
                            double *d2, size_t phases)
{
    for (size_t p = 0; p < phases; p++) {
        flush_lanes(a1[p], d1 + p * LANES, LANES);
        flush_lanes(a2[p], d2 + p * LANES, LANES);
        a1[p] = a2[p] = vdupq_n_f32(0.0f);
    }
}

/*
 * Rows view of the sums with contiguous rows and C not a multiple of the
 * vector length: like the maps' flat walk, whole vectors over the flat
 * array. The channel pattern repeats every lcm(C, LANES) floats, so vector
 * p of each period (phase p) always sees the same channels in its lanes:
 * one accumulator pair per phase (in memory: there can be 32), each lane
 * flushed into its own double after at most BATCHNORM_BLOCK periods, and
 * the phase lanes folded back onto their channels at the end. Only the
 * very last vector is partial (its dead lanes hold the shift, or dy = 0).
 * This replaces a partial vector per row: AVX2 NHWC training at C = 3
 * went from 0.74 to 0.36 ns/element (C = 16: 0.32, same run).
 */
BN_INLINE void reduce_flat(const float *x, const float *dy, size_t len,
                           size_t channels, size_t phases, const float *k,
                           double *s1, double *s2, bool grad)
{
    float32x4_t vk[FLAT_PHASES], a1[FLAT_PHASES], a2[FLAT_PHASES];
    double d1[FLAT_PHASES * LANES], d2[FLAT_PHASES * LANES];
    float lane_k[LANES];
    const size_t period = phases * LANES;
    for (size_t p = 0; p < phases; p++) {
        for (size_t l = 0; l < LANES; l++)
            lane_k[l] = k[(p * LANES + l) % channels];
        vk[p] = vld1q_f32(lane_k);
        a1[p] = a2[p] = vdupq_n_f32(0.0f);
    }
    memset(d1, 0, period * sizeof(double));
    memset(d2, 0, period * sizeof(double));
    float32x4_t vdy = vdupq_n_f32(0.0f), vx;
    size_t pos = 0;
    unsigned steps = 0;
    for (; pos + period <= len; pos += period) {
        for (size_t p = 0; p < phases; p++) {
            size_t at = pos + p * LANES;
            if (grad)
                vdy = vld1q_f32(dy + at);
            acc_vec(vld1q_f32(x + at), vdy, vk[p], &a1[p], &a2[p], grad);
        }
        if (++steps == BATCHNORM_BLOCK) {
            flush_phases(a1, a2, d1, d2, phases);
            steps = 0;
        }
    }
    flush_phases(a1, a2, d1, d2, phases);
    /* The last, incomplete period: each phase once more at most. */
    for (size_t p = 0; pos < len; p++, pos += LANES) {
        if (pos + LANES <= len) {
            vx = vld1q_f32(x + pos);
            if (grad)
                vdy = vld1q_f32(dy + pos);
        } else {
            size_t rem = len - pos;
            size_t vrem = rem;
            load_partial(x + pos, grad ? dy + pos : NULL, vrem, vk[p], &vx,
                         &vdy, grad);
        }
        acc_vec(vx, vdy, vk[p], &a1[p], &a2[p], grad);
    }
    flush_phases(a1, a2, d1, d2, phases);
    memset(s1, 0, channels * sizeof(double));
    memset(s2, 0, channels * sizeof(double));
    for (size_t i = 0; i < period; i++) {
        s1[i % channels] += d1[i];
        s2[i % channels] += d2[i];
    }
}

/*
 * Rows view of the sums in general, as in avx2.c (whose notes give the
 * reasons and the measurements, on Zen 3): groups of ROW_VECS vectors in
 * registers, over sub-blocks of at most BATCHNORM_ROW_SUB rows
 * (BATCHNORM_ROW_SUB_4K for the gradient sums at a row stride that is a
 * multiple of 4 KiB), whose float sums are chained through the staging arrays
 * over super-blocks of at most BATCHNORM_ROW_SUPER rows before one widening
 * into double; the row counts are balanced. A term goes through at most 9 float
 * additions (scalar.c, step 2). Not measured on an aarch64 core. A channel
 * count that is not a multiple of the vector length costs a partial vector per
 * row here, so contiguous rows with few phases go to reduce_flat instead.
 */
#define ROW_VECS 4

/* The widened lanes of v added into s[0..count-1], or stored there for
 * the first super-block. */
BN_INLINE void flush_rows(float32x4_t v, double *s, size_t count, bool first)
{
    if (!first) {
        flush_lanes(v, s, count);
        return;
    }
    float64x2_t lo = vcvt_f64_f32(vget_low_f32(v));
    float64x2_t hi = vcvt_high_f64_f32(v);
    if (count == LANES) {
        vst1q_f64(s, lo);
        vst1q_f64(s + 2, hi);
        return;
    }
    double lanes[LANES];
    vst1q_f64(lanes, lo);
    vst1q_f64(lanes + 2, hi);
    memcpy(s, lanes, count * sizeof(double));
}

/* One sub-block of nr rows for `vecs` channel vectors from channel j, the
 * last one `width` lanes wide (< LANES only when `partial`). */
BN_INLINE void rows_block(const float *xb, const float *dyb, size_t nr,
                          size_t stride, size_t j, size_t vecs, bool partial,
                          size_t width, const float *k, float *p1, float *p2,
                          double *s1, double *s2, enum batchnorm_rows_end end,
                          bool first, bool grad)
{
    float32x4_t vk[ROW_VECS], a1[ROW_VECS], a2[ROW_VECS];
    for (size_t v = 0; v < vecs; v++) {
        vk[v] = partial && v + 1 == vecs
                    ? load_part(k + j + v * LANES, width, vdupq_n_f32(0.0f))
                    : vld1q_f32(k + j + v * LANES);
        a1[v] = a2[v] = vdupq_n_f32(0.0f);
    }
    for (size_t r = 0; r < nr; r++) {
        const float *xr = xb + r * stride + j;
        const float *dyr = grad ? dyb + r * stride + j : NULL;
        for (size_t v = 0; v < vecs; v++) {
            const float *dyv = grad ? dyr + v * LANES : NULL;
            float32x4_t vx, vdy = vdupq_n_f32(0.0f);
            if (partial && v + 1 == vecs) {
                load_partial(xr + v * LANES, dyv, width, vk[v], &vx, &vdy,
                             grad);
            } else {
                vx = vld1q_f32(xr + v * LANES);
                if (grad)
                    vdy = vld1q_f32(dyv);
            }
            acc_vec(vx, vdy, vk[v], &a1[v], &a2[v], grad);
        }
    }
    /* Whole vectors in the staging arrays (their dead lanes hold 0): j is
     * below the window's channel count, at most BATCHNORM_ROW_STAGE. */
    for (size_t v = 0; v < vecs; v++) {
        size_t at = j + v * LANES;
        if (end == BATCHNORM_ROWS_CHAIN || end == BATCHNORM_ROWS_CHAIN_FLUSH) {
            a1[v] = vaddq_f32(vld1q_f32(p1 + at), a1[v]);
            a2[v] = vaddq_f32(vld1q_f32(p2 + at), a2[v]);
        }
        if (end == BATCHNORM_ROWS_STAGE || end == BATCHNORM_ROWS_CHAIN) {
            vst1q_f32(p1 + at, a1[v]);
            vst1q_f32(p2 + at, a2[v]);
        } else {
            size_t count = v + 1 == vecs ? width : LANES;
            flush_rows(a1[v], s1 + at, count, first);
            flush_rows(a2[v], s2 + at, count, first);
        }
    }
}

/* One sub-block over channels 0..channels-1 (at most BATCHNORM_ROW_STAGE). */
BN_INLINE void rows_pass(const float *xb, const float *dyb, size_t nr,
                         size_t stride, size_t channels, const float *k,
                         float *p1, float *p2, double *s1, double *s2,
                         enum batchnorm_rows_end end, bool first, bool grad)
{
    size_t j = 0;
    for (; j + ROW_VECS * LANES <= channels; j += ROW_VECS * LANES)
        rows_block(xb, dyb, nr, stride, j, ROW_VECS, false, LANES, k, p1, p2,
                   s1, s2, end, first, grad);
    /* Single vectors, the last one partial. */
    for (; j + LANES <= channels; j += LANES)
        rows_block(xb, dyb, nr, stride, j, 1, false, LANES, k, p1, p2, s1, s2,
                   end, first, grad);
    if (j < channels)
        rows_block(xb, dyb, nr, stride, j, 1, true, channels - j, k, p1, p2, s1,
                   s2, end, first, grad);
}

/* rows_pass with `end` and `first` as constants of each instance, so that
 * the group loops test neither (avx2.c). */
BN_INLINE void rows_sub(const float *xb, const float *dyb, size_t nr,
                        size_t stride, size_t channels, const float *k,
                        float *p1, float *p2, double *s1, double *s2,
                        enum batchnorm_rows_end end, bool first, bool grad)
{
#define ROWS_PASS(END, FIRST)                                                  \
    rows_pass(xb, dyb, nr, stride, channels, k, p1, p2, s1, s2, END, FIRST,    \
              grad)
    switch (end) {
    case BATCHNORM_ROWS_STAGE:
        ROWS_PASS(BATCHNORM_ROWS_STAGE, false);
        break;
    case BATCHNORM_ROWS_CHAIN:
        ROWS_PASS(BATCHNORM_ROWS_CHAIN, false);
        break;
    case BATCHNORM_ROWS_CHAIN_FLUSH:
        if (first)
            ROWS_PASS(BATCHNORM_ROWS_CHAIN_FLUSH, true);
        else
            ROWS_PASS(BATCHNORM_ROWS_CHAIN_FLUSH, false);
        break;
    case BATCHNORM_ROWS_FLUSH:
        if (first)
            ROWS_PASS(BATCHNORM_ROWS_FLUSH, true);
        else
            ROWS_PASS(BATCHNORM_ROWS_FLUSH, false);
        break;
    }
#undef ROWS_PASS
}

BN_INLINE void reduce_rows(const float *x, const float *dy, size_t rows,
                           size_t channels, size_t stride, const float *k,
                           double *s1, double *s2, bool grad)
{
    if (stride == channels && channels % LANES != 0) {
        size_t low = channels & (0 - channels); /* largest power of 2 in C */
        size_t phases = channels / (low < LANES ? low : LANES);
        if (phases <= FLAT_PHASES) {
            reduce_flat(x, dy, rows * channels, channels, phases, k, s1, s2,
                        grad);
            return;
        }
    }
    if (rows == 0) {
        memset(s1, 0, channels * sizeof(double));
        memset(s2, 0, channels * sizeof(double));
        return;
    }
    /* x and dy, all rows of a column in one L1 set: see avx2.c */
    const bool same_set = stride % (4096 / sizeof(float)) == 0;
    const size_t sub =
        grad && same_set ? BATCHNORM_ROW_SUB_4K : BATCHNORM_ROW_SUB;
    const size_t supers = BATCHNORM_CEIL_DIV(rows, BATCHNORM_ROW_SUPER);
    float p1[BATCHNORM_ROW_STAGE], p2[BATCHNORM_ROW_STAGE];
    for (size_t c0 = 0; c0 < channels; c0 += BATCHNORM_ROW_STAGE) {
        size_t cn = channels - c0 < BATCHNORM_ROW_STAGE ? channels - c0
                                                        : BATCHNORM_ROW_STAGE;
        size_t r0 = 0;
        for (size_t b = 0; b < supers; b++) {
            /* at most BATCHNORM_ROW_SUPER rows, and each sub-block at most sub
             */
            size_t nr = batchnorm_part(rows, supers, b);
            size_t subs = BATCHNORM_CEIL_DIV(nr, sub);
            for (size_t h = 0; h < subs; h++) {
                size_t hr = batchnorm_part(nr, subs, h);
                enum batchnorm_rows_end end = batchnorm_rows_end_of(h, subs);
                rows_sub(x + r0 * stride + c0,
                         grad ? dy + r0 * stride + c0 : NULL, hr, stride, cn,
                         k + c0, p1, p2, s1 + c0, s2 + c0, end, b == 0, grad);
                r0 += hr;
            }
        }
    }
}

/* ---- step 1: the shifts (avx2.c) ---- */

/* One sample of 2 channels cs floats apart, widened: one vector load in
 * the rows view (cs = 1), one load per lane in the planes view. */
BN_INLINE float64x2_t sample_vec(const float *p, size_t cs)
{
    if (cs == 1)
        return vcvt_f64_f32(vld1_f32(p));
    return vcvt_f64_f32(vset_lane_f32(p[cs], vdup_n_f32(p[0]), 1));
}

/* batchnorm_shift_one (batchnorm.h) of 2 channels, lane by lane the same
 * double operations. */
BN_INLINE void shift_vec(const float *xc, size_t cs,
                         const struct batchnorm_samples *sp, float *k)
{
    float64x2_t even = sample_vec(xc + sp->at[0], cs), odd = vdupq_n_f64(0.0);
    for (size_t s = 1; s < sp->count; s += 2) {
        odd = vaddq_f64(odd, sample_vec(xc + sp->at[s], cs));
        if (s + 1 < sp->count)
            even = vaddq_f64(even, sample_vec(xc + sp->at[s + 1], cs));
    }
    const float64x2_t vinv = vdupq_n_f64(1.0 / (double)sp->count);
    vst1_f32(k, vcvt_f32_f64(vmulq_f64(vaddq_f64(even, odd), vinv)));
}

/* The shifts of channels 0..channels-1, cs floats apart. */
BN_INLINE void shifts(const float *x, size_t cs, size_t channels,
                      const struct batchnorm_samples *sp, float *k)
{
    size_t j = 0;
    for (; j + 2 <= channels; j += 2)
        shift_vec(x + j * cs, cs, sp, k + j);
    for (; j < channels; j++)
        k[j] = batchnorm_shift_one(x + j * cs, sp);
}

/* Planes view: the shifts of SHIFT_BLOCK channels, then their sums, so
 * that the lines the samples bring into L1 are still there for the sums. */
#define SHIFT_BLOCK 16

static void moments_planes_neon(const float *x, size_t images,
                                size_t image_stride, size_t channels,
                                size_t spatial,
                                const struct batchnorm_samples *sp, float *k,
                                double *s1, double *s2)
{
    for (size_t c0 = 0; c0 < channels; c0 += SHIFT_BLOCK) {
        size_t cn = channels - c0 < SHIFT_BLOCK ? channels - c0 : SHIFT_BLOCK;
        const float *xb = x + c0 * spatial;
        shifts(xb, spatial, cn, sp, k + c0);
        if (spatial <= SHORT_PLANE)
            reduce_short_planes(xb, NULL, images, image_stride, cn, spatial,
                                k + c0, s1 + c0, s2 + c0, false);
        else
            reduce_planes(xb, NULL, images, image_stride, cn, spatial, k + c0,
                          s1 + c0, s2 + c0, false);
    }
}

/* Rows view: a sample of every channel is a contiguous row. */
static void moments_rows_neon(const float *x, size_t rows, size_t channels,
                              size_t stride, const struct batchnorm_samples *sp,
                              float *k, double *s1, double *s2)
{
    shifts(x, 1, channels, sp, k);
    reduce_rows(x, NULL, rows, channels, stride, k, s1, s2, false);
}

static void dsums_planes_neon(const float *x, const float *dy, size_t images,
                              size_t image_stride, size_t channels,
                              size_t spatial, const float *m, double *s1,
                              double *s2)
{
    if (spatial <= SHORT_PLANE)
        reduce_short_planes(x, dy, images, image_stride, channels, spatial, m,
                            s1, s2, true);
    else
        reduce_planes(x, dy, images, image_stride, channels, spatial, m, s1, s2,
                      true);
}

static void dsums_rows_neon(const float *x, const float *dy, size_t rows,
                            size_t channels, size_t stride, const float *m,
                            double *s1, double *s2)
{
    reduce_rows(x, dy, rows, channels, stride, m, s1, s2, true);
}

/* ---- the folding (inference, steps 3-5), as in avx2.c ---- */

#define DLANES (LANES / 2)

BN_INLINE float64x2_t widen_or(const float *p, size_t j, double none)
{
    return p ? vcvt_f64_f32(vld1_f32(p + j)) : vdupq_n_f64(none);
}

static void fold_inference_neon(const float *gamma, const float *beta,
                                const float *mean, const float *var, float eps,
                                size_t channels, float *a, float *b)
{
    const float64x2_t veps = vdupq_n_f64(eps), vone = vdupq_n_f64(1.0);
    size_t j = 0;
    for (; j + DLANES <= channels; j += DLANES) {
        float64x2_t t = vaddq_f64(vcvt_f64_f32(vld1_f32(var + j)), veps);
        float64x2_t inv_std = vdivq_f64(vone, vsqrtq_f64(t));
        float64x2_t scale = vmulq_f64(widen_or(gamma, j, 1.0), inv_std);
        float64x2_t lo = vmulq_f64(vcvt_f64_f32(vld1_f32(mean + j)), scale);
        vst1_f32(a + j, vcvt_f32_f64(scale));
        vst1_f32(b + j, vcvt_f32_f64(vsubq_f64(widen_or(beta, j, 0.0), lo)));
    }
    for (; j < channels; j++)
        batchnorm_ifold_one(gamma, beta, mean, var, eps, j, &a[j], &b[j]);
}

static void fold_training_neon(const struct batchnorm_fold *f, size_t channels,
                               const float *k, const double *s1,
                               const double *s2, float *m, float *a, float *b)
{
    const float64x2_t vinv = vdupq_n_f64(f->inv_cnt);
    const float64x2_t vkeep = vdupq_n_f64(f->keep);
    const float64x2_t vtake = vdupq_n_f64(1.0 - f->keep);
    const float64x2_t vunbias = vdupq_n_f64(f->unbias);
    const float64x2_t veps = vdupq_n_f64(f->eps);
    const float64x2_t vone = vdupq_n_f64(1.0), vzero = vdupq_n_f64(0.0);
    size_t j = 0;
    for (; j + DLANES <= channels; j += DLANES) {
        float64x2_t off = vmulq_f64(vld1q_f64(s1 + j), vinv);
        float64x2_t mu = vaddq_f64(vcvt_f64_f32(vld1_f32(k + j)), off);
        float64x2_t v =
            vsubq_f64(vmulq_f64(vld1q_f64(s2 + j), vinv), vmulq_f64(off, off));
        /* v <= 0 (ordered) becomes +0; NaN stays */
        v = vbslq_f64(vcleq_f64(v, vzero), vzero, v);
        float32x2_t hi = vcvt_f32_f64(mu);
        vst1_f32(f->batch_mean + j, hi);
        vst1_f32(f->batch_var + j, vcvt_f32_f64(v));
        if (f->running_mean != NULL) {
            float64x2_t rm = vcvt_f64_f32(vld1_f32(f->running_mean + j));
            float64x2_t rv = vcvt_f64_f32(vld1_f32(f->running_var + j));
            rm = vaddq_f64(vmulq_f64(vkeep, rm), vmulq_f64(vtake, mu));
            rv = vaddq_f64(vmulq_f64(vkeep, rv),
                           vmulq_f64(vtake, vmulq_f64(v, vunbias)));
            vst1_f32(f->running_mean + j, vcvt_f32_f64(rm));
            vst1_f32(f->running_var + j, vcvt_f32_f64(rv));
        }
        float64x2_t inv_std = vdivq_f64(vone, vsqrtq_f64(vaddq_f64(v, veps)));
        float64x2_t scale = vmulq_f64(widen_or(f->gamma, j, 1.0), inv_std);
        float64x2_t be = widen_or(f->beta, j, 0.0);
        vst1_f32(m + j, hi);
        vst1_f32(a + j, vcvt_f32_f64(scale));
        float64x2_t lo = vmulq_f64(vsubq_f64(mu, vcvt_f64_f32(hi)), scale);
        vst1_f32(b + j, vcvt_f32_f64(vsubq_f64(be, lo)));
    }
    for (; j < channels; j++)
        batchnorm_fold_one(f, j, k[j], s1[j], s2[j], &m[j], &a[j], &b[j]);
}

static void fold_backward_neon(const struct batchnorm_dfold *f, size_t channels,
                               const double *s1, const double *s2, float *p,
                               float *q, float *r)
{
    const float64x2_t vinv = vdupq_n_f64(f->inv_cnt);
    const float64x2_t veps = vdupq_n_f64(f->eps);
    const float64x2_t vone = vdupq_n_f64(1.0);
    size_t j = 0;
    for (; j + DLANES <= channels; j += DLANES) {
        float64x2_t t = vaddq_f64(vcvt_f64_f32(vld1_f32(f->var + j)), veps);
        float64x2_t inv_std = vdivq_f64(vone, vsqrtq_f64(t));
        float64x2_t db = vld1q_f64(s1 + j);
        float64x2_t dg = vmulq_f64(vld1q_f64(s2 + j), inv_std);
        if (f->dbeta != NULL)
            vst1_f32(f->dbeta + j, vcvt_f32_f64(db));
        if (f->dgamma != NULL)
            vst1_f32(f->dgamma + j, vcvt_f32_f64(dg));
        float64x2_t pj = vmulq_f64(widen_or(f->gamma, j, 1.0), inv_std);
        float64x2_t npj = vnegq_f64(pj);
        vst1_f32(p + j, vcvt_f32_f64(pj));
        float64x2_t vq =
            vmulq_f64(vmulq_f64(vmulq_f64(npj, inv_std), dg), vinv);
        vst1_f32(q + j, vcvt_f32_f64(vq));
        vst1_f32(r + j, vcvt_f32_f64(vmulq_f64(vmulq_f64(npj, db), vinv)));
    }
    for (; j < channels; j++)
        batchnorm_dfold_one(f, j, s1[j], s2[j], &p[j], &q[j], &r[j]);
}

const struct batchnorm_ops batchnorm_ops_neon = {
    .apply_planes = apply_planes_neon,
    .apply_rows = apply_rows_neon,
    .moments_planes = moments_planes_neon,
    .moments_rows = moments_rows_neon,
    .dsums_planes = dsums_planes_neon,
    .dsums_rows = dsums_rows_neon,
    .dapply_planes = dapply_planes_neon,
    .dapply_rows = dapply_rows_neon,
    .fold_inference = fold_inference_neon,
    .fold_training = fold_training_neon,
    .fold_backward = fold_backward_neon,
};
