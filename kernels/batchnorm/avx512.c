/*
 * Batch normalization, AVX-512F kernels: the AVX2 unit (avx2.c) widened to
 * 16 lanes, line for line, itself mirroring the algorithm of scalar.c
 * (steps 1-5); avx2.c explains the flat walks, the periodic constants and
 * the streaming stores. Only AVX-512F intrinsics are used (no DQ/BW/VL):
 * the halves of a vector are taken with extractf64x4 on the bit pattern.
 *
 * - Tails: k-masks. The moments load partial vectors with mask_loadu and
 *   the shift k as the pass-through value, so dead lanes add exactly 0;
 *   the gradient sums load dy with maskz (0 in dead lanes). Stores of
 *   partial vectors are mask_storeu: nothing outside the caller's buffers
 *   is read or written (masked-off lanes do not fault).
 * - The straddling vector of the planes walk blends two channels'
 *   constants with mask_blend; streaming stores start at the first 64-byte
 *   boundary. The planes walk needs planes of at least 16 floats; shorter
 *   ones go plane by plane with masks.
 * - Accumulation as in avx2.c: 4 float accumulators per sum, each taking
 *   at most BATCHNORM_BLOCK additions before being summed pairwise and
 *   widened to double (cvtps_pd on each 8-lane half); in the rows view,
 *   sub-blocks chained in float over 24-row super-blocks (reduce_rows).
 * - Verified through SIMDe only (this machine has no AVX-512): under
 *   SIMDNN_USE_SIMDE (tests only) the unit is compiled against SIMDe
 *   through tests/simde/simdnn_simde.h and runs on any x86-64. Its speed
 *   is not measured; the memory floors of avx2.c apply unchanged.
 */
#ifdef SIMDNN_USE_SIMDE
#include "simdnn_simde.h"
#else
#include <immintrin.h>
#endif
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "batchnorm/batchnorm.h"

#define LANES 16

#define BN_INLINE static inline __attribute__((always_inline))

/* Lanes 0..rem-1 set (rem < LANES). */
BN_INLINE __mmask16 tail_mask(size_t rem)
{
    return (__mmask16)((1u << rem) - 1u);
}

/* ---- steps 4 and 5 (dx): elementwise maps ---- */

/* Streaming stores need this alignment. */
#define ALIGN_BYTES 64

/* Lanes below rem from lo, the others from hi. */
BN_INLINE __m512 blend_lanes(__m512 lo, __m512 hi, size_t rem)
{
    return _mm512_mask_blend_ps(tail_mask(rem), hi, lo);
}

BN_INLINE void store_vec(float *p, __m512 v, bool stream)
{
    if (stream)
        _mm512_stream_ps(p, v);
    else
        _mm512_storeu_ps(p, v);
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
BN_INLINE __m512 map_vec(__m512 vx, __m512 vdy, __m512 vm, __m512 va, __m512 vb,
                         __m512 vr, bool relu, bool grad)
{
    __m512 vd = _mm512_sub_ps(vx, vm);
    if (grad)
        return _mm512_fmadd_ps(vd, va, _mm512_fmadd_ps(vdy, vb, vr));
    __m512 vy = _mm512_fmadd_ps(vd, va, vb);
    return relu ? _mm512_max_ps(_mm512_setzero_ps(), vy) : vy;
}

/* The constants of one vector's lanes (r only for dx). */
struct consts {
    __m512 m, a, b, r;
};

/* The whole vector at offset `at`; map_part: its first rem lanes only. */
BN_INLINE void map_one(const float *x, const float *dy, float *y, size_t at,
                       const struct consts *k, bool relu, bool grad,
                       bool stream)
{
    __m512 vdy = grad ? _mm512_loadu_ps(dy + at) : _mm512_setzero_ps();
    store_vec(y + at,
              map_vec(_mm512_loadu_ps(x + at), vdy, k->m, k->a, k->b, k->r,
                      relu, grad),
              stream);
}

BN_INLINE void map_part(const float *x, const float *dy, float *y, size_t at,
                        size_t rem, const struct consts *k, bool relu,
                        bool grad)
{
    __mmask16 vmask = tail_mask(rem);
    __m512 vdy =
        grad ? _mm512_maskz_loadu_ps(vmask, dy + at) : _mm512_setzero_ps();
    _mm512_mask_storeu_ps(y + at, vmask,
                          map_vec(_mm512_maskz_loadu_ps(vmask, x + at), vdy,
                                  k->m, k->a, k->b, k->r, relu, grad));
}

BN_INLINE struct consts broadcast(const float *m, const float *a,
                                  const float *b, const float *r, size_t c,
                                  bool grad)
{
    struct consts k = {_mm512_set1_ps(m[c]), _mm512_set1_ps(a[c]),
                       _mm512_set1_ps(b[c]),
                       grad ? _mm512_set1_ps(r[c]) : _mm512_setzero_ps()};
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
    struct consts k = {_mm512_loadu_ps(m + j), _mm512_loadu_ps(a + j),
                       _mm512_loadu_ps(b + j),
                       grad ? _mm512_loadu_ps(r + j) : _mm512_setzero_ps()};
    return k;
}

BN_INLINE struct consts gather_part(const float *m, const float *a,
                                    const float *b, const float *r, size_t j,
                                    size_t rem, bool grad)
{
    __mmask16 vmask = tail_mask(rem);
    struct consts k = {_mm512_maskz_loadu_ps(vmask, m + j),
                       _mm512_maskz_loadu_ps(vmask, a + j),
                       _mm512_maskz_loadu_ps(vmask, b + j),
                       grad ? _mm512_maskz_loadu_ps(vmask, r + j)
                            : _mm512_setzero_ps()};
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
 * row. With `down` the columns of each block go from the last to the
 * first (batchnorm_walk_down, batchnorm.h).
 */
#define ROW_BLOCK_Y 4
#define ROW_BLOCK_DX 2

BN_INLINE void map_block(const float *x, const float *dy, float *y, size_t at,
                         size_t stride, size_t block, const struct consts *k,
                         bool relu, bool grad, bool stream)
{
    __m512 vx[ROW_BLOCK_Y], vdy[ROW_BLOCK_Y];
    for (size_t i = 0; i < block; i++) {
        vx[i] = _mm512_loadu_ps(x + at + i * stride);
        vdy[i] =
            grad ? _mm512_loadu_ps(dy + at + i * stride) : _mm512_setzero_ps();
    }
    for (size_t i = 0; i < block; i++)
        store_vec(y + at + i * stride,
                  map_vec(vx[i], vdy[i], k->m, k->a, k->b, k->r, relu, grad),
                  stream);
}

BN_INLINE void map_strided(const float *x, const float *dy, float *y,
                           size_t rows, size_t channels, size_t stride,
                           const float *m, const float *a, const float *b,
                           const float *r, bool relu, bool grad, bool stream,
                           bool down)
{
    const size_t block = grad ? ROW_BLOCK_DX : ROW_BLOCK_Y;
    size_t full = channels & ~(size_t)(LANES - 1);
    size_t row = 0;
    for (; row + block <= rows; row += block) {
        size_t at = row * stride;
        const float *dyr = grad ? dy + at : NULL;
        for (size_t jj = 0; jj < full; jj += LANES) {
            size_t j = down ? full - LANES - jj : jj;
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
                    true, false);
    else if (!grad && batchnorm_walk_down(x, y))
        map_strided(x, dy, y, rows, channels, stride, m, a, b, r, relu, grad,
                    false, true);
    else
        map_strided(x, dy, y, rows, channels, stride, m, a, b, r, relu, grad,
                    false, false);
}

/* The exported maps: every combination of ReLU and streaming is its own
 * instance, so that no test of the mode is left in the loops. */
static void apply_planes_avx512(const float *x, float *y, size_t images,
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
        _mm_sfence();
        break;
    default:
        map_planes(x, NULL, y, images, image_stride, channels, spatial, m, a, b,
                   NULL, true, false, true);
        _mm_sfence();
        break;
    }
}

static void apply_rows_avx512(const float *x, float *y, size_t rows,
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
        _mm_sfence();
        break;
    default:
        map_rows(x, NULL, y, rows, channels, stride, m, a, b, NULL, true, false,
                 true);
        _mm_sfence();
        break;
    }
}

static void dapply_planes_avx512(const float *x, const float *dy, float *dx,
                                 size_t images, size_t image_stride,
                                 size_t channels, size_t spatial,
                                 const float *m, const float *p, const float *q,
                                 const float *r, unsigned mode)
{
    if (mode & BATCHNORM_STREAM) {
        map_planes(x, dy, dx, images, image_stride, channels, spatial, m, q, p,
                   r, false, true, true);
        _mm_sfence();
    } else {
        map_planes(x, dy, dx, images, image_stride, channels, spatial, m, q, p,
                   r, false, true, false);
    }
}

static void dapply_rows_avx512(const float *x, const float *dy, float *dx,
                               size_t rows, size_t channels, size_t stride,
                               const float *m, const float *p, const float *q,
                               const float *r, unsigned mode)
{
    if (mode & BATCHNORM_STREAM) {
        map_rows(x, dy, dx, rows, channels, stride, m, q, p, r, false, true,
                 true);
        _mm_sfence();
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
BN_INLINE void acc_vec(__m512 vx, __m512 vdy, __m512 vk, __m512 *vs1,
                       __m512 *vs2, bool grad)
{
    __m512 vu = _mm512_sub_ps(vx, vk);
    if (grad) {
        *vs1 = _mm512_add_ps(*vs1, vdy);
        *vs2 = _mm512_fmadd_ps(vdy, vu, *vs2);
    } else {
        *vs1 = _mm512_add_ps(*vs1, vu);
        *vs2 = _mm512_fmadd_ps(vu, vu, *vs2);
    }
}

/* Masked loads of a partial vector: moments see k in the dead lanes (so
 * u = 0 there), gradient sums see dy = 0. */
BN_INLINE void load_partial(const float *x, const float *dy, __mmask16 vmask,
                            __m512 vk, __m512 *vx, __m512 *vdy, bool grad)
{
    if (grad) {
        *vx = _mm512_maskz_loadu_ps(vmask, x);
        *vdy = _mm512_maskz_loadu_ps(vmask, dy);
    } else {
        *vx = _mm512_mask_loadu_ps(vk, vmask, x);
    }
}

/* The low and high 8 lanes of v widened to double. */
BN_INLINE __m512d widen_lo(__m512 v)
{
    return _mm512_cvtps_pd(_mm512_castps512_ps256(v));
}

BN_INLINE __m512d widen_hi(__m512 v)
{
    return _mm512_cvtps_pd(
        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

/* The float sums of 4 accumulators widened into two double vectors. */
BN_INLINE void widen_add(__m512 v0, __m512 v1, __m512 v2, __m512 v3,
                         __m512d *lo, __m512d *hi)
{
    __m512 vsum = _mm512_add_ps(_mm512_add_ps(v0, v1), _mm512_add_ps(v2, v3));
    *lo = _mm512_add_pd(*lo, widen_lo(vsum));
    *hi = _mm512_add_pd(*hi, widen_hi(vsum));
}

BN_INLINE double hsum_pd(__m512d lo, __m512d hi)
{
    return _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
}

BN_INLINE void reduce_planes(const float *x, const float *dy, size_t images,
                             size_t image_stride, size_t channels,
                             size_t spatial, const float *k, double *s1,
                             double *s2, bool grad)
{
    for (size_t c = 0; c < channels; c++) {
        const __m512 vk = _mm512_set1_ps(k[c]);
        __m512 a10 = _mm512_setzero_ps(), a11 = a10, a12 = a10, a13 = a10;
        __m512 a20 = a10, a21 = a10, a22 = a10, a23 = a10;
        __m512 vdy0 = a10, vdy1 = a10, vdy2 = a10, vdy3 = a10;
        __m512d d1lo = _mm512_setzero_pd(), d1hi = d1lo, d2lo = d1lo,
                d2hi = d1lo;
        unsigned steps = 0;
#define FLUSH_IF_FULL()                                                        \
    if (++steps == BATCHNORM_BLOCK) {                                          \
        widen_add(a10, a11, a12, a13, &d1lo, &d1hi);                           \
        widen_add(a20, a21, a22, a23, &d2lo, &d2hi);                           \
        a10 = a11 = a12 = a13 = _mm512_setzero_ps();                           \
        a20 = a21 = a22 = a23 = _mm512_setzero_ps();                           \
        steps = 0;                                                             \
    }
        for (size_t i = 0; i < images; i++) {
            size_t at = i * image_stride + c * spatial;
            const float *xp = x + at, *dyp = grad ? dy + at : NULL;
            size_t s = 0;
            for (; s + 4 * LANES <= spatial; s += 4 * LANES) {
                if (grad) {
                    vdy0 = _mm512_loadu_ps(dyp + s);
                    vdy1 = _mm512_loadu_ps(dyp + s + LANES);
                    vdy2 = _mm512_loadu_ps(dyp + s + 2 * LANES);
                    vdy3 = _mm512_loadu_ps(dyp + s + 3 * LANES);
                }
                acc_vec(_mm512_loadu_ps(xp + s), vdy0, vk, &a10, &a20, grad);
                acc_vec(_mm512_loadu_ps(xp + s + LANES), vdy1, vk, &a11, &a21,
                        grad);
                acc_vec(_mm512_loadu_ps(xp + s + 2 * LANES), vdy2, vk, &a12,
                        &a22, grad);
                acc_vec(_mm512_loadu_ps(xp + s + 3 * LANES), vdy3, vk, &a13,
                        &a23, grad);
                FLUSH_IF_FULL();
            }
            for (; s + LANES <= spatial; s += LANES) {
                if (grad)
                    vdy0 = _mm512_loadu_ps(dyp + s);
                acc_vec(_mm512_loadu_ps(xp + s), vdy0, vk, &a10, &a20, grad);
                FLUSH_IF_FULL();
            }
            if (s < spatial) {
                __m512 vx;
                load_partial(xp + s, grad ? dyp + s : NULL,
                             tail_mask(spatial - s), vk, &vx, &vdy0, grad);
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
 * is widened into the channel's double accumulator.
 */
#define SHORT_PLANE 64
#define GROUP 4

/* One vector of each of the group's planes at offset s (partial, the
 * first rem lanes, when partial). */
BN_INLINE void group_step(const float *xi, const float *dyi, size_t spatial,
                          size_t s, const __m512 *vk, __m512 *a1, __m512 *a2,
                          size_t g_count, bool partial, __mmask16 vmask,
                          bool grad)
{
    for (size_t g = 0; g < g_count; g++) {
        const float *xp = xi + g * spatial + s;
        const float *dyp = grad ? dyi + g * spatial + s : NULL;
        __m512 vx, vdy = _mm512_setzero_ps();
        if (partial) {
            load_partial(xp, dyp, vmask, vk[g], &vx, &vdy, grad);
        } else {
            vx = _mm512_loadu_ps(xp);
            if (grad)
                vdy = _mm512_loadu_ps(dyp);
        }
        acc_vec(vx, vdy, vk[g], &a1[g], &a2[g], grad);
    }
}

/* The group's float accumulators widened into its double ones, zeroed. */
BN_INLINE void group_flush(__m512 *a1, __m512 *a2, __m512d *d1, __m512d *d2,
                           size_t g_count)
{
    for (size_t g = 0; g < g_count; g++) {
        d1[g] = _mm512_add_pd(d1[g],
                              _mm512_add_pd(widen_lo(a1[g]), widen_hi(a1[g])));
        d2[g] = _mm512_add_pd(d2[g],
                              _mm512_add_pd(widen_lo(a2[g]), widen_hi(a2[g])));
        a1[g] = a2[g] = _mm512_setzero_ps();
    }
}

BN_INLINE void reduce_group(const float *x, const float *dy, size_t images,
                            size_t image_stride, size_t spatial, const float *k,
                            double *s1, double *s2, size_t g_count, bool grad)
{
    __m512 vk[GROUP], a1[GROUP], a2[GROUP];
    __m512d d1[GROUP], d2[GROUP];
    for (size_t g = 0; g < g_count; g++) {
        vk[g] = _mm512_set1_ps(k[g]);
        a1[g] = a2[g] = _mm512_setzero_ps();
        d1[g] = d2[g] = _mm512_setzero_pd();
    }
    const size_t full = spatial & ~(size_t)(LANES - 1);
    const __mmask16 vmask = tail_mask(spatial - full);
    unsigned steps = 0;
    for (size_t i = 0; i < images; i++) {
        const float *xi = x + i * image_stride;
        const float *dyi = grad ? dy + i * image_stride : NULL;
        for (size_t s = 0; s < full; s += LANES) {
            group_step(xi, dyi, spatial, s, vk, a1, a2, g_count, false, vmask,
                       grad);
            if (++steps == BATCHNORM_BLOCK) {
                group_flush(a1, a2, d1, d2, g_count);
                steps = 0;
            }
        }
        if (full < spatial) {
            group_step(xi, dyi, spatial, full, vk, a1, a2, g_count, true, vmask,
                       grad);
            if (++steps == BATCHNORM_BLOCK) {
                group_flush(a1, a2, d1, d2, g_count);
                steps = 0;
            }
        }
    }
    group_flush(a1, a2, d1, d2, g_count);
    for (size_t g = 0; g < g_count; g++) {
        s1[g] = _mm512_reduce_add_pd(d1[g]);
        s2[g] = _mm512_reduce_add_pd(d2[g]);
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

/*
 * Planes view, gradient sums over planes of LANES..SHORT_PLANE floats: an
 * image's planes walked as one flat array in whole vectors, a vector that
 * straddles two planes split by its lane mask into both channels'
 * accumulators, each factor masked (avx2.c, reduce_flat_planes, says why
 * and what it gained on Zen 3; not measured on an AVX-512 core, where an
 * unaligned 64-byte load straddles two lines every time). Each lane takes
 * at most SHORT_PLANE / LANES + 2 terms before it is widened into double.
 */
_Static_assert(SHORT_PLANE / LANES + 2 <= BATCHNORM_BLOCK + 2,
               "flat short-plane sums: too many float terms per lane");

/* The lanes of vlo into a1, a2, the others into b1, b2. */
BN_INLINE void split_acc(__m512 vx, __m512 vdy, __m512 vk, __mmask16 vlo,
                         __m512 *a1, __m512 *a2, __m512 *b1, __m512 *b2,
                         bool grad)
{
    __m512 vu = _mm512_sub_ps(vx, vk);
    __mmask16 vhi = (__mmask16)~vlo;
    __m512 vu_lo = _mm512_maskz_mov_ps(vlo, vu);
    __m512 vu_hi = _mm512_maskz_mov_ps(vhi, vu);
    __m512 vt_lo = vu_lo, vt_hi = vu_hi;
    if (grad) {
        vt_lo = _mm512_maskz_mov_ps(vlo, vdy);
        vt_hi = _mm512_maskz_mov_ps(vhi, vdy);
    }
    *a1 = _mm512_add_ps(*a1, vt_lo);
    *a2 = _mm512_fmadd_ps(vt_lo, vu_lo, *a2);
    *b1 = _mm512_add_ps(*b1, vt_hi);
    *b2 = _mm512_fmadd_ps(vt_hi, vu_hi, *b2);
}

/* s (+)= the lane sums of v, widened. */
BN_INLINE void flush_sum(__m512 v, double *s, bool first)
{
    double t = _mm512_reduce_add_pd(_mm512_add_pd(widen_lo(v), widen_hi(v)));
    *s = first ? t : *s + t;
}

BN_INLINE void reduce_flat_planes(const float *x, const float *dy,
                                  size_t images, size_t image_stride,
                                  size_t channels, size_t spatial,
                                  const float *k, double *s1, double *s2,
                                  bool grad)
{
    for (size_t i = 0; i < images; i++) {
        const float *xi = x + i * image_stride;
        const float *dyi = grad ? dy + i * image_stride : NULL;
        __m512 a1 = _mm512_setzero_ps(), a2 = a1, b1 = a1, b2 = a1;
        __m512 vdy = a1;
        size_t pos = 0, end = 0;
        for (size_t c = 0; c < channels; c++) {
            const __m512 vk = _mm512_set1_ps(k[c]);
            end += spatial;
            for (; pos + LANES <= end; pos += LANES) {
                if (grad)
                    vdy = _mm512_loadu_ps(dyi + pos);
                acc_vec(_mm512_loadu_ps(xi + pos), vdy, vk, &a1, &a2, grad);
            }
            if (pos < end) {
                const __mmask16 vlo = tail_mask(end - pos);
                if (c + 1 == channels) {
                    __m512 vx = _mm512_maskz_loadu_ps(vlo, xi + pos);
                    if (grad)
                        vdy = _mm512_maskz_loadu_ps(vlo, dyi + pos);
                    split_acc(vx, vdy, vk, vlo, &a1, &a2, &b1, &b2, grad);
                    pos = end;
                } else {
                    const __m512 vk2 =
                        _mm512_mask_blend_ps(vlo, _mm512_set1_ps(k[c + 1]), vk);
                    if (grad)
                        vdy = _mm512_loadu_ps(dyi + pos);
                    split_acc(_mm512_loadu_ps(xi + pos), vdy, vk2, vlo, &a1,
                              &a2, &b1, &b2, grad);
                    pos += LANES;
                }
            }
            flush_sum(a1, s1 + c, i == 0);
            flush_sum(a2, s2 + c, i == 0);
            a1 = b1;
            a2 = b2;
            b1 = b2 = _mm512_setzero_ps();
        }
    }
}

/* Adds the widened lanes of one accumulator vector into s[0..count-1]. */
BN_INLINE void flush_lanes(__m512 v, double *s, size_t count)
{
    __m512d lo = widen_lo(v), hi = widen_hi(v);
    if (count == LANES) {
        _mm512_storeu_pd(s, _mm512_add_pd(_mm512_loadu_pd(s), lo));
        _mm512_storeu_pd(s + 8, _mm512_add_pd(_mm512_loadu_pd(s + 8), hi));
        return;
    }
    double lanes[LANES];
    _mm512_storeu_pd(lanes, lo);
    _mm512_storeu_pd(lanes + 8, hi);
    for (size_t j = 0; j < count; j++)
        s[j] += lanes[j];
}

/* The most phases the flat sums handle (lcm(C, LANES) / LANES). */
#define FLAT_PHASES 32

BN_INLINE void flush_phases(__m512 *a1, __m512 *a2, double *d1, double *d2,
                            size_t phases)
{
    for (size_t p = 0; p < phases; p++) {
        flush_lanes(a1[p], d1 + p * LANES, LANES);
        flush_lanes(a2[p], d2 + p * LANES, LANES);
        a1[p] = a2[p] = _mm512_setzero_ps();
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
    __m512 vk[FLAT_PHASES], a1[FLAT_PHASES], a2[FLAT_PHASES];
    double d1[FLAT_PHASES * LANES], d2[FLAT_PHASES * LANES];
    float lane_k[LANES];
    const size_t period = phases * LANES;
    for (size_t p = 0; p < phases; p++) {
        for (size_t l = 0; l < LANES; l++)
            lane_k[l] = k[(p * LANES + l) % channels];
        vk[p] = _mm512_loadu_ps(lane_k);
        a1[p] = a2[p] = _mm512_setzero_ps();
    }
    memset(d1, 0, period * sizeof(double));
    memset(d2, 0, period * sizeof(double));
    __m512 vdy = _mm512_setzero_ps(), vx;
    size_t pos = 0;
    unsigned steps = 0;
    for (; pos + period <= len; pos += period) {
        for (size_t p = 0; p < phases; p++) {
            size_t at = pos + p * LANES;
            if (grad)
                vdy = _mm512_loadu_ps(dy + at);
            acc_vec(_mm512_loadu_ps(x + at), vdy, vk[p], &a1[p], &a2[p], grad);
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
            vx = _mm512_loadu_ps(x + pos);
            if (grad)
                vdy = _mm512_loadu_ps(dy + pos);
        } else {
            size_t rem = len - pos;
            __mmask16 vmask = tail_mask(rem);
            load_partial(x + pos, grad ? dy + pos : NULL, vmask, vk[p], &vx,
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
 * reasons and the measurements): groups of ROW_VECS vectors (here 64
 * channels, 4 lines of a row) in registers, over sub-blocks of at most
 * BATCHNORM_ROW_SUB rows (BATCHNORM_ROW_SUB_4K for the gradient sums at a row
 * stride that is a multiple of 4 KiB), whose float sums are chained through the
 * staging arrays over super-blocks of at most BATCHNORM_ROW_SUPER rows before
 * one widening into double; the row counts are balanced. A term goes through at
 * most 9 float additions (scalar.c, step 2). Not measured on an AVX-512 core.
 * A channel count that is not a multiple of the vector length costs a
 * partial vector per row here, so contiguous rows with few phases go to
 * reduce_flat instead.
 */
#define ROW_VECS 4

/* The widened lanes of v added into s[0..count-1], or stored there for
 * the first super-block. */
BN_INLINE void flush_rows(__m512 v, double *s, size_t count, bool first)
{
    if (!first) {
        flush_lanes(v, s, count);
        return;
    }
    __m512d lo = widen_lo(v), hi = widen_hi(v);
    if (count == LANES) {
        _mm512_storeu_pd(s, lo);
        _mm512_storeu_pd(s + 8, hi);
        return;
    }
    double lanes[LANES];
    _mm512_storeu_pd(lanes, lo);
    _mm512_storeu_pd(lanes + 8, hi);
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
    const __mmask16 vmask = partial ? tail_mask(width) : 0;
    __m512 vk[ROW_VECS], a1[ROW_VECS], a2[ROW_VECS];
    for (size_t v = 0; v < vecs; v++) {
        vk[v] = partial && v + 1 == vecs
                    ? _mm512_maskz_loadu_ps(vmask, k + j + v * LANES)
                    : _mm512_loadu_ps(k + j + v * LANES);
        a1[v] = a2[v] = _mm512_setzero_ps();
    }
    for (size_t r = 0; r < nr; r++) {
        const float *xr = xb + r * stride + j;
        const float *dyr = grad ? dyb + r * stride + j : NULL;
        for (size_t v = 0; v < vecs; v++) {
            const float *dyv = grad ? dyr + v * LANES : NULL;
            __m512 vx, vdy = _mm512_setzero_ps();
            if (partial && v + 1 == vecs) {
                load_partial(xr + v * LANES, dyv, vmask, vk[v], &vx, &vdy,
                             grad);
            } else {
                vx = _mm512_loadu_ps(xr + v * LANES);
                if (grad)
                    vdy = _mm512_loadu_ps(dyv);
            }
            acc_vec(vx, vdy, vk[v], &a1[v], &a2[v], grad);
        }
    }
    /* Whole vectors in the staging arrays (their dead lanes hold 0): j is
     * below the window's channel count, at most BATCHNORM_ROW_STAGE. */
    for (size_t v = 0; v < vecs; v++) {
        size_t at = j + v * LANES;
        if (end == BATCHNORM_ROWS_CHAIN || end == BATCHNORM_ROWS_CHAIN_FLUSH) {
            a1[v] = _mm512_add_ps(_mm512_loadu_ps(p1 + at), a1[v]);
            a2[v] = _mm512_add_ps(_mm512_loadu_ps(p2 + at), a2[v]);
        }
        if (end == BATCHNORM_ROWS_STAGE || end == BATCHNORM_ROWS_CHAIN) {
            _mm512_storeu_ps(p1 + at, a1[v]);
            _mm512_storeu_ps(p2 + at, a2[v]);
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

/* One sample of 8 channels cs floats apart, widened: one vector load in
 * the rows view (cs = 1), one load per lane in the planes view. */
BN_INLINE __m512d sample_vec(const float *p, size_t cs)
{
    if (cs == 1)
        return _mm512_cvtps_pd(_mm256_loadu_ps(p));
    return _mm512_cvtps_pd(_mm256_setr_ps(p[0], p[cs], p[2 * cs], p[3 * cs],
                                          p[4 * cs], p[5 * cs], p[6 * cs],
                                          p[7 * cs]));
}

/* batchnorm_shift_one (batchnorm.h) of 8 channels, lane by lane the same
 * double operations. */
BN_INLINE void shift_vec(const float *xc, size_t cs,
                         const struct batchnorm_samples *sp, float *k)
{
    __m512d even = sample_vec(xc + sp->at[0], cs), odd = _mm512_setzero_pd();
    for (size_t s = 1; s < sp->count; s += 2) {
        odd = _mm512_add_pd(odd, sample_vec(xc + sp->at[s], cs));
        if (s + 1 < sp->count)
            even = _mm512_add_pd(even, sample_vec(xc + sp->at[s + 1], cs));
    }
    const __m512d vinv = _mm512_set1_pd(1.0 / (double)sp->count);
    _mm256_storeu_ps(
        k, _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_add_pd(even, odd), vinv)));
}

/* The shifts of channels 0..channels-1, cs floats apart. */
BN_INLINE void shifts(const float *x, size_t cs, size_t channels,
                      const struct batchnorm_samples *sp, float *k)
{
    size_t j = 0;
    for (; j + 8 <= channels; j += 8)
        shift_vec(x + j * cs, cs, sp, k + j);
    for (; j < channels; j++)
        k[j] = batchnorm_shift_one(x + j * cs, sp);
}

/* Planes view: the shifts of SHIFT_BLOCK channels, then their sums, so
 * that the lines the samples bring into L1 are still there for the sums. */
#define SHIFT_BLOCK 16

static void moments_planes_avx512(const float *x, size_t images,
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
static void moments_rows_avx512(const float *x, size_t rows, size_t channels,
                                size_t stride,
                                const struct batchnorm_samples *sp, float *k,
                                double *s1, double *s2)
{
    shifts(x, 1, channels, sp, k);
    reduce_rows(x, NULL, rows, channels, stride, k, s1, s2, false);
}

static void dsums_planes_avx512(const float *x, const float *dy, size_t images,
                                size_t image_stride, size_t channels,
                                size_t spatial, const float *m, double *s1,
                                double *s2)
{
    if (spatial >= LANES && spatial <= SHORT_PLANE)
        reduce_flat_planes(x, dy, images, image_stride, channels, spatial, m,
                           s1, s2, true);
    else if (spatial <= SHORT_PLANE)
        reduce_short_planes(x, dy, images, image_stride, channels, spatial, m,
                            s1, s2, true);
    else
        reduce_planes(x, dy, images, image_stride, channels, spatial, m, s1, s2,
                      true);
}

static void dsums_rows_avx512(const float *x, const float *dy, size_t rows,
                              size_t channels, size_t stride, const float *m,
                              double *s1, double *s2)
{
    reduce_rows(x, dy, rows, channels, stride, m, s1, s2, true);
}

/* ---- the folding (inference, steps 3-5), as in avx2.c ---- */

#define DLANES (LANES / 2)

BN_INLINE __m512d widen_or(const float *p, size_t j, double none)
{
    return p ? _mm512_cvtps_pd(_mm256_loadu_ps(p + j)) : _mm512_set1_pd(none);
}

static void fold_inference_avx512(const float *gamma, const float *beta,
                                  const float *mean, const float *var,
                                  float eps, size_t channels, float *a,
                                  float *b)
{
    const __m512d veps = _mm512_set1_pd(eps), vone = _mm512_set1_pd(1.0);
    size_t j = 0;
    for (; j + DLANES <= channels; j += DLANES) {
        __m512d t =
            _mm512_add_pd(_mm512_cvtps_pd(_mm256_loadu_ps(var + j)), veps);
        __m512d inv_std = _mm512_div_pd(vone, _mm512_sqrt_pd(t));
        __m512d scale = _mm512_mul_pd(widen_or(gamma, j, 1.0), inv_std);
        __m512d lo =
            _mm512_mul_pd(_mm512_cvtps_pd(_mm256_loadu_ps(mean + j)), scale);
        _mm256_storeu_ps(a + j, _mm512_cvtpd_ps(scale));
        _mm256_storeu_ps(
            b + j, _mm512_cvtpd_ps(_mm512_sub_pd(widen_or(beta, j, 0.0), lo)));
    }
    for (; j < channels; j++)
        batchnorm_ifold_one(gamma, beta, mean, var, eps, j, &a[j], &b[j]);
}

static void fold_training_avx512(const struct batchnorm_fold *f,
                                 size_t channels, const float *k,
                                 const double *s1, const double *s2, float *m,
                                 float *a, float *b)
{
    const __m512d vinv = _mm512_set1_pd(f->inv_cnt);
    const __m512d vkeep = _mm512_set1_pd(f->keep);
    const __m512d vtake = _mm512_set1_pd(1.0 - f->keep);
    const __m512d vunbias = _mm512_set1_pd(f->unbias);
    const __m512d veps = _mm512_set1_pd(f->eps);
    const __m512d vone = _mm512_set1_pd(1.0), vzero = _mm512_setzero_pd();
    size_t j = 0;
    for (; j + DLANES <= channels; j += DLANES) {
        __m512d off = _mm512_mul_pd(_mm512_loadu_pd(s1 + j), vinv);
        __m512d mu =
            _mm512_add_pd(_mm512_cvtps_pd(_mm256_loadu_ps(k + j)), off);
        __m512d v = _mm512_sub_pd(_mm512_mul_pd(_mm512_loadu_pd(s2 + j), vinv),
                                  _mm512_mul_pd(off, off));
        /* v <= 0 (ordered) becomes +0; NaN stays */
        v = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(v, vzero, _CMP_LE_OQ), v,
                                 vzero);
        __m256 hi = _mm512_cvtpd_ps(mu);
        _mm256_storeu_ps(f->batch_mean + j, hi);
        _mm256_storeu_ps(f->batch_var + j, _mm512_cvtpd_ps(v));
        if (f->running_mean != NULL) {
            __m512d rm = _mm512_cvtps_pd(_mm256_loadu_ps(f->running_mean + j));
            __m512d rv = _mm512_cvtps_pd(_mm256_loadu_ps(f->running_var + j));
            rm = _mm512_add_pd(_mm512_mul_pd(vkeep, rm),
                               _mm512_mul_pd(vtake, mu));
            rv = _mm512_add_pd(_mm512_mul_pd(vkeep, rv),
                               _mm512_mul_pd(vtake, _mm512_mul_pd(v, vunbias)));
            _mm256_storeu_ps(f->running_mean + j, _mm512_cvtpd_ps(rm));
            _mm256_storeu_ps(f->running_var + j, _mm512_cvtpd_ps(rv));
        }
        __m512d inv_std =
            _mm512_div_pd(vone, _mm512_sqrt_pd(_mm512_add_pd(v, veps)));
        __m512d scale = _mm512_mul_pd(widen_or(f->gamma, j, 1.0), inv_std);
        __m512d be = widen_or(f->beta, j, 0.0);
        _mm256_storeu_ps(m + j, hi);
        _mm256_storeu_ps(a + j, _mm512_cvtpd_ps(scale));
        __m512d lo =
            _mm512_mul_pd(_mm512_sub_pd(mu, _mm512_cvtps_pd(hi)), scale);
        _mm256_storeu_ps(b + j, _mm512_cvtpd_ps(_mm512_sub_pd(be, lo)));
    }
    for (; j < channels; j++)
        batchnorm_fold_one(f, j, k[j], s1[j], s2[j], &m[j], &a[j], &b[j]);
}

static void fold_backward_avx512(const struct batchnorm_dfold *f,
                                 size_t channels, const double *s1,
                                 const double *s2, float *p, float *q, float *r)
{
    const __m512d vinv = _mm512_set1_pd(f->inv_cnt);
    const __m512d veps = _mm512_set1_pd(f->eps);
    const __m512d vone = _mm512_set1_pd(1.0);
    /* the sign bit; AVX-512F has no xor_pd (that is AVX-512DQ) */
    const __m512i vsign = _mm512_set1_epi64((long long)0x8000000000000000ull);
    size_t j = 0;
    for (; j + DLANES <= channels; j += DLANES) {
        __m512d t =
            _mm512_add_pd(_mm512_cvtps_pd(_mm256_loadu_ps(f->var + j)), veps);
        __m512d inv_std = _mm512_div_pd(vone, _mm512_sqrt_pd(t));
        __m512d db = _mm512_loadu_pd(s1 + j);
        __m512d dg = _mm512_mul_pd(_mm512_loadu_pd(s2 + j), inv_std);
        if (f->dbeta != NULL)
            _mm256_storeu_ps(f->dbeta + j, _mm512_cvtpd_ps(db));
        if (f->dgamma != NULL)
            _mm256_storeu_ps(f->dgamma + j, _mm512_cvtpd_ps(dg));
        __m512d pj = _mm512_mul_pd(widen_or(f->gamma, j, 1.0), inv_std);
        __m512d npj = _mm512_castsi512_pd(
            _mm512_xor_si512(_mm512_castpd_si512(pj), vsign)); /* -pj */
        _mm256_storeu_ps(p + j, _mm512_cvtpd_ps(pj));
        __m512d vq =
            _mm512_mul_pd(_mm512_mul_pd(_mm512_mul_pd(npj, inv_std), dg), vinv);
        _mm256_storeu_ps(q + j, _mm512_cvtpd_ps(vq));
        __m512d vr = _mm512_mul_pd(_mm512_mul_pd(npj, db), vinv);
        _mm256_storeu_ps(r + j, _mm512_cvtpd_ps(vr));
    }
    for (; j < channels; j++)
        batchnorm_dfold_one(f, j, s1[j], s2[j], &p[j], &q[j], &r[j]);
}

const struct batchnorm_ops batchnorm_ops_avx512 = {
    .apply_planes = apply_planes_avx512,
    .apply_rows = apply_rows_avx512,
    .moments_planes = moments_planes_avx512,
    .moments_rows = moments_rows_avx512,
    .dsums_planes = dsums_planes_avx512,
    .dsums_rows = dsums_rows_avx512,
    .dapply_planes = dapply_planes_avx512,
    .dapply_rows = dapply_rows_avx512,
    .fold_inference = fold_inference_avx512,
    .fold_training = fold_training_avx512,
    .fold_backward = fold_backward_avx512,
};
