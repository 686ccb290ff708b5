/*
 * Batch normalization, AVX2 + FMA kernels. The algorithm and its error
 * analysis are in scalar.c (steps 1-5); this file mirrors steps 1, 2, 4 and
 * 5 with 8-lane vectors, and avx512.c and neon.c mirror this file. Only what
 * is ISA-specific is explained here.
 *
 * Maps (steps 4 and 5, dx): one subtraction and one or two FMAs a vector.
 * - Planes view (NCHW): an image's planes are walked as one flat array in
 *   whole vectors; the vector straddling two planes blends the two
 *   channels' constants. Partial vectors (maskload/maskstore) occur only at
 *   the end of the range, at its start when streaming (alignment), and for
 *   planes shorter than a vector. Masked stores are slow on Zen 3, so
 *   keeping them off the per-plane path is what makes 7x7 planes run at
 *   the speed of 56x56 ones (0.14 ns/element in L2 either way, against
 *   0.23 with a masked tail per plane).
 * - Rows view (NHWC): with contiguous rows and C not a multiple of 8 the
 *   tensor is one flat array whose constants repeat every C floats; each
 *   vector loads its lanes' constants from the periodic extension
 *   (batchnorm.h), so C = 3, 17 or 1000 need no partial vector per row.
 *   C a multiple of 8 (and any C with a stride, as the chunks of C > 512)
 *   goes row by row in blocks of 4 rows that share each load of the
 *   constants: the flat walk loads 3-4 constant vectors per output vector
 *   and Zen 3 loads two 32-byte vectors a cycle (1x512x7x7 NHWC apply:
 *   0.146 -> 0.12 ns/element in L2).
 * - Streaming: with BATCHNORM_STREAM the output is written with
 *   _mm256_stream_ps from its first 32-byte boundary on (the head before it
 *   is one masked store), then sfence. No read for ownership, no eviction
 *   of x: a 25.7 MB inference goes from the speed of a copy to that of a
 *   non-temporal copy.
 *
 * Reductions (steps 2 and 5, sums): nothing outside the buffers is read:
 * partial vectors are maskloads, and for the moments their dead lanes are
 * replaced by the shift k (blendv), so they add exactly 0.
 * - Planes of at most 64 floats (7x7): 4 channels in lockstep, one
 *   accumulator pair each (reduce_group, below).
 * - Longer planes: 4 independent float accumulators per sum (4 vectors
 *   per iteration), each taking at most BATCHNORM_BLOCK additions, then
 *   summed pairwise in float (2 more) and widened to double with
 *   cvtps_pd. (x - k)^2 is accumulated with one FMA, so the square is not
 *   rounded separately.
 * - Rows view: the channels go by groups of 4 vectors whose accumulators
 *   stay in registers, over sub-blocks of at most 6 rows (4 for x and dy
 *   at row strides that are multiples of 4 KiB); the sub-blocks' float
 *   sums are chained in float over super-blocks of at most 24 rows, and
 *   only those are widened into double: at most 9 float additions per
 *   term (reduce_rows, below, with the reasons).
 *
 * Floors and measurements (Zen 3, one core, shared with other jobs; see
 * the report for the exact runs). A non-temporal copy of the 25.7 MB
 * tensor N=32, C=64, 56x56 moves 8 bytes an element in 0.27-0.33 ns; a
 * read-only pass takes 0.17-0.21 ns. Arithmetic is 2-4 vector operations
 * per 8 elements against 4 FP pipes, about 0.03 ns an element: every case
 * out of L1 is bound by memory, except the small per-channel planes and
 * rows (7x7, 14x14), where the per-channel work of api.c, of the folding
 * and of the kernels' channel ends is a third to a half of the time.
 * The folding of training and backward (fold_*, below) runs here in
 * vectors of 4 doubles, the same operations as batchnorm.h's scalar
 * statement, so the same bits: 1.10-1.25x faster training at 7x7 and
 * 1.04-1.14x at 14x14 NCHW, backward 1.04-1.08x at 7x7 (interleaved A/B
 * of two builds, minimum of 400 rounds). Inference's folding followed
 * (fold_inference; in api.c a scalar double loop around a vector 1/sqrt,
 * together 17% of a 1x2048x7x7 NHWC call): 1.09x faster at 1x2048x7x7
 * NHWC, 1.15x NCHW, 1.12-1.13x at 1x512x7x7, 1.02-1.04x at 14x14 and
 * unchanged at 1x64x56x56 (minimum over 8 interleaved runs of 300
 * rounds). The fold is then 13% of that 1x2048x7x7 call, bound by the
 * divider (one vsqrtpd and one vdivpd per 4 channels).
 * The shifts of step 1 are read by the moments kernels (shifts, below),
 * 4 channels a vector of doubles and, in the planes view, SHIFT_BLOCK
 * channels just before their sums: as a pass of its own in api.c
 * (baseline x86-64, scalar loads, every plane's lines first touched
 * there and evicted from L1 again before the sums) it was 25% of a
 * 1x512x7x7 NCHW training call. Same bits; training 1.08-1.18x faster
 * at 7x7 (both layouts), 1.03-1.06x at 14x14, unchanged at N=32 56x56.
 * The rows view's sums flushed every accumulator into double after each
 * block of 8 rows, which cost as much as the data's own arithmetic; the
 * chained sub-blocks of reduce_rows widen once per 24 rows. The sums
 * alone (moments_rows and dsums_rows over 512-channel chunks, minimum of
 * 300 interleaved rounds, range of 3 runs): moments 1.07-1.33x faster at
 * 1x2048x7x7, 0.98-1.07x at 1x1024x14x14, 1.15-1.18x at 1x512x7x7,
 * gradient sums 1.37-1.39x, 1.21-1.29x and 1.12-1.22x (0.97-1.02x at
 * 1x256x14x14). Whole NHWC calls (A/B of two builds, minimum of 60
 * rounds, range of 8 interleaved runs): backward 1.14-1.21x at
 * 1x2048x7x7, 1.08-1.14x at 1x1024x14x14, 0.90-1.08x (median 1.06x) at
 * 1x512x7x7, 0.91-1.04x at 1x256x14x14 (bound by L2 bandwidth, not by
 * the flushes), 0.99-1.10x at 1x64x56x56, 0.96-1.06x at 32x64x56x56
 * (DRAM); training 1.03-1.07x, 1.02-1.07x, 0.98-1.09x, 0.95-1.05x,
 * 0.98-1.08x and 0.95-1.09x.
 * TODO(#5): training at 1x2048x7x7 still runs at about 1.4-1.5x the speed
 * of oneDNN's NHWC path in NHWC (1.34-1.44x before the change above, 1.05x
 * faster since) and at about 1.4x in NCHW (not changed here; the goal is
 * 1.5x), and NHWC backward at 1x1024x14x14 at about 1.5x its read+write
 * floor (1.64x before, 1.11x faster since; the goal is 1.5x; 1x2048x7x7:
 * from 1.6x to about 1.35x). Estimates from the A/B above, not rerun with
 * the benchmark. The tensors sit in L2 or L3, so the per-channel work
 * dominates. Profile of 1x2048x7x7 NHWC training after the change: moments
 * 45% (a fifth of it the shifts' double additions, 8 samples of each
 * channel), apply 41%, folding 12%; of 1x512x7x7 NCHW training before the
 * shifts moved: moments 38%, apply 24%, api.c 25% (the shift sampling),
 * folding 10%. What remains to try: fewer channel-end operations in the
 * short-plane sums and maps, and cheaper NHWC apply and shifts. Channel
 * groups sized for L1 (12, 24, 48 KiB instead of the 256 KiB of L2) were
 * measured and are not faster (0-4% slower): the L2 re-read of x is not
 * the cost.
 * - inference: 8 bytes (read x, stream y), floor = the non-temporal copy;
 *   measured 0.25-0.30 NCHW, 0.30-0.44 NHWC.
 * - training: NCHW reads x once from memory (api.c fuses the statistics
 *   and the output pass per group of channels that fit L2), floor = the
 *   copy again; NHWC must read x twice (all rows are needed before the
 *   first output), 12 bytes, floor = read + copy. Measured 0.48-0.60 NCHW,
 *   0.48-0.77 NHWC.
 * - backward: 12 bytes NCHW (x and dy once, dx written), 20 bytes NHWC
 *   (x and dy twice); measured 0.69-0.85 NCHW, 0.85-0.97 NHWC.
 */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "batchnorm/batchnorm.h"

#define LANES 8

#define BN_INLINE static inline __attribute__((always_inline))

/* Lanes 0..rem-1 set (rem < LANES). */
BN_INLINE __m256i tail_mask(size_t rem)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)rem),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* ---- steps 4 and 5 (dx): elementwise maps ---- */

/* Streaming stores need this alignment. */
#define ALIGN_BYTES 32

/* Lanes below rem from lo, the others from hi. */
BN_INLINE __m256 blend_lanes(__m256 lo, __m256 hi, size_t rem)
{
    return _mm256_blendv_ps(hi, lo, _mm256_castsi256_ps(tail_mask(rem)));
}

BN_INLINE void store_vec(float *p, __m256 v, bool stream)
{
    if (stream)
        _mm256_stream_ps(p, v);
    else
        _mm256_storeu_ps(p, v);
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
BN_INLINE __m256 map_vec(__m256 vx, __m256 vdy, __m256 vm, __m256 va, __m256 vb,
                         __m256 vr, bool relu, bool grad)
{
    __m256 vd = _mm256_sub_ps(vx, vm);
    if (grad)
        return _mm256_fmadd_ps(vd, va, _mm256_fmadd_ps(vdy, vb, vr));
    __m256 vy = _mm256_fmadd_ps(vd, va, vb);
    return relu ? _mm256_max_ps(_mm256_setzero_ps(), vy) : vy;
}

/* The constants of one vector's lanes (r only for dx). */
struct consts {
    __m256 m, a, b, r;
};

/* The whole vector at offset `at`; map_part: its first rem lanes only. */
BN_INLINE void map_one(const float *x, const float *dy, float *y, size_t at,
                       const struct consts *k, bool relu, bool grad,
                       bool stream)
{
    __m256 vdy = grad ? _mm256_loadu_ps(dy + at) : _mm256_setzero_ps();
    store_vec(y + at,
              map_vec(_mm256_loadu_ps(x + at), vdy, k->m, k->a, k->b, k->r,
                      relu, grad),
              stream);
}

BN_INLINE void map_part(const float *x, const float *dy, float *y, size_t at,
                        size_t rem, const struct consts *k, bool relu,
                        bool grad)
{
    __m256i vmask = tail_mask(rem);
    __m256 vdy =
        grad ? _mm256_maskload_ps(dy + at, vmask) : _mm256_setzero_ps();
    _mm256_maskstore_ps(y + at, vmask,
                        map_vec(_mm256_maskload_ps(x + at, vmask), vdy, k->m,
                                k->a, k->b, k->r, relu, grad));
}

BN_INLINE struct consts broadcast(const float *m, const float *a,
                                  const float *b, const float *r, size_t c,
                                  bool grad)
{
    struct consts k = {_mm256_set1_ps(m[c]), _mm256_set1_ps(a[c]),
                       _mm256_set1_ps(b[c]),
                       grad ? _mm256_set1_ps(r[c]) : _mm256_setzero_ps()};
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
    struct consts k = {_mm256_loadu_ps(m + j), _mm256_loadu_ps(a + j),
                       _mm256_loadu_ps(b + j),
                       grad ? _mm256_loadu_ps(r + j) : _mm256_setzero_ps()};
    return k;
}

BN_INLINE struct consts gather_part(const float *m, const float *a,
                                    const float *b, const float *r, size_t j,
                                    size_t rem, bool grad)
{
    __m256i vmask = tail_mask(rem);
    struct consts k = {
        _mm256_maskload_ps(m + j, vmask), _mm256_maskload_ps(a + j, vmask),
        _mm256_maskload_ps(b + j, vmask),
        grad ? _mm256_maskload_ps(r + j, vmask) : _mm256_setzero_ps()};
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
 * multiple of the vector length: rows in blocks, each vector of constants
 * loaded once per block and used for all its rows, so that a vector costs
 * 1 + 3/block loads of constants instead of 3 (4 for dx): Zen 3 loads at
 * most two 32-byte vectors a cycle, which bounded the flat walk in L1 and
 * L2 (see the notes at the top). Blocks of 4 rows for y, 2 for dx, whose
 * 4 constants and 3 tensors per row would otherwise keep 12 lines of one
 * L1 set (8-way) in use at a power-of-two stride: with 2-row blocks,
 * NHWC backward is 1.07-1.12x faster at C = 512-2048 (A/B of two builds,
 * minimum of 60 rounds) and unchanged at 64-256; for y, 2-row blocks are
 * 0.93-1.07x, no better. A channel count that is not a multiple of the
 * vector length costs a partial vector per row. With `down` the columns
 * of each block go from the last to the first (batchnorm_walk_down,
 * batchnorm.h).
 */
#define ROW_BLOCK_Y 4
#define ROW_BLOCK_DX 2

/*
 * The same vector of a block's rows: all loads, then all stores. Stored
 * one row at a time, a row's store and the next row's load of the same
 * column are `stride` floats apart; when that is a multiple of 4 KiB
 * (C = 1024 or 2048 NHWC) and y sits at the same page offset as x (as two
 * large allocations often do), the load's address matches the pending
 * store's in its low 12 bits, and Zen 3 holds the load until the store
 * resolves (1x1024x14x14 NHWC inference: 0.26 ns/element, against 0.16
 * at 1000 channels and 0.16 with this order). Loading the block first
 * leaves only stores to other columns in flight when the next loads
 * issue.
 */
BN_INLINE void map_block(const float *x, const float *dy, float *y, size_t at,
                         size_t stride, size_t block, const struct consts *k,
                         bool relu, bool grad, bool stream)
{
    __m256 vx[ROW_BLOCK_Y], vdy[ROW_BLOCK_Y];
    for (size_t i = 0; i < block; i++) {
        vx[i] = _mm256_loadu_ps(x + at + i * stride);
        vdy[i] =
            grad ? _mm256_loadu_ps(dy + at + i * stride) : _mm256_setzero_ps();
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
 * when streaming to rows that do not start on a 32-byte boundary (the
 * flat walk aligns its stores once). Streaming in the strided walk only
 * when every row start is aligned. */
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
static void apply_planes_avx2(const float *x, float *y, size_t images,
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

static void apply_rows_avx2(const float *x, float *y, size_t rows,
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

static void dapply_planes_avx2(const float *x, const float *dy, float *dx,
                               size_t images, size_t image_stride,
                               size_t channels, size_t spatial, const float *m,
                               const float *p, const float *q, const float *r,
                               unsigned mode)
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

static void dapply_rows_avx2(const float *x, const float *dy, float *dx,
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
BN_INLINE void acc_vec(__m256 vx, __m256 vdy, __m256 vk, __m256 *vs1,
                       __m256 *vs2, bool grad)
{
    __m256 vu = _mm256_sub_ps(vx, vk);
    if (grad) {
        *vs1 = _mm256_add_ps(*vs1, vdy);
        *vs2 = _mm256_fmadd_ps(vdy, vu, *vs2);
    } else {
        *vs1 = _mm256_add_ps(*vs1, vu);
        *vs2 = _mm256_fmadd_ps(vu, vu, *vs2);
    }
}

/* Masked loads of a partial vector: moments see k in the dead lanes (so
 * u = 0 there), gradient sums see dy = 0. */
BN_INLINE void load_partial(const float *x, const float *dy, __m256i vmask,
                            __m256 vk, __m256 *vx, __m256 *vdy, bool grad)
{
    *vx = _mm256_maskload_ps(x, vmask);
    if (grad)
        *vdy = _mm256_maskload_ps(dy, vmask);
    else
        *vx = _mm256_blendv_ps(vk, *vx, _mm256_castsi256_ps(vmask));
}

/* The float sums of 4 accumulators widened into two double vectors. */
BN_INLINE void widen_add(__m256 v0, __m256 v1, __m256 v2, __m256 v3,
                         __m256d *lo, __m256d *hi)
{
    __m256 vsum = _mm256_add_ps(_mm256_add_ps(v0, v1), _mm256_add_ps(v2, v3));
    *lo = _mm256_add_pd(*lo, _mm256_cvtps_pd(_mm256_castps256_ps128(vsum)));
    *hi = _mm256_add_pd(*hi, _mm256_cvtps_pd(_mm256_extractf128_ps(vsum, 1)));
}

BN_INLINE double hsum_pd(__m256d lo, __m256d hi)
{
    __m256d v = _mm256_add_pd(lo, hi);
    __m128d h =
        _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
}

BN_INLINE void reduce_planes(const float *x, const float *dy, size_t images,
                             size_t image_stride, size_t channels,
                             size_t spatial, const float *k, double *s1,
                             double *s2, bool grad)
{
    for (size_t c = 0; c < channels; c++) {
        const __m256 vk = _mm256_set1_ps(k[c]);
        __m256 a10 = _mm256_setzero_ps(), a11 = a10, a12 = a10, a13 = a10;
        __m256 a20 = a10, a21 = a10, a22 = a10, a23 = a10;
        __m256 vdy0 = a10, vdy1 = a10, vdy2 = a10, vdy3 = a10;
        __m256d d1lo = _mm256_setzero_pd(), d1hi = d1lo, d2lo = d1lo,
                d2hi = d1lo;
        unsigned steps = 0;
#define FLUSH_IF_FULL()                                                        \
    if (++steps == BATCHNORM_BLOCK) {                                          \
        widen_add(a10, a11, a12, a13, &d1lo, &d1hi);                           \
        widen_add(a20, a21, a22, a23, &d2lo, &d2hi);                           \
        a10 = a11 = a12 = a13 = _mm256_setzero_ps();                           \
        a20 = a21 = a22 = a23 = _mm256_setzero_ps();                           \
        steps = 0;                                                             \
    }
        for (size_t i = 0; i < images; i++) {
            size_t at = i * image_stride + c * spatial;
            const float *xp = x + at, *dyp = grad ? dy + at : NULL;
            size_t s = 0;
            for (; s + 4 * LANES <= spatial; s += 4 * LANES) {
                if (grad) {
                    vdy0 = _mm256_loadu_ps(dyp + s);
                    vdy1 = _mm256_loadu_ps(dyp + s + LANES);
                    vdy2 = _mm256_loadu_ps(dyp + s + 2 * LANES);
                    vdy3 = _mm256_loadu_ps(dyp + s + 3 * LANES);
                }
                acc_vec(_mm256_loadu_ps(xp + s), vdy0, vk, &a10, &a20, grad);
                acc_vec(_mm256_loadu_ps(xp + s + LANES), vdy1, vk, &a11, &a21,
                        grad);
                acc_vec(_mm256_loadu_ps(xp + s + 2 * LANES), vdy2, vk, &a12,
                        &a22, grad);
                acc_vec(_mm256_loadu_ps(xp + s + 3 * LANES), vdy3, vk, &a13,
                        &a23, grad);
                FLUSH_IF_FULL();
            }
            for (; s + LANES <= spatial; s += LANES) {
                if (grad)
                    vdy0 = _mm256_loadu_ps(dyp + s);
                acc_vec(_mm256_loadu_ps(xp + s), vdy0, vk, &a10, &a20, grad);
                FLUSH_IF_FULL();
            }
            if (s < spatial) {
                __m256 vx;
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
 * lockstep, one accumulator pair per channel, so that the GROUP chains are
 * independent and the per-channel end (widening, horizontal sums) is
 * shared: the accumulators of the group are widened to double and summed
 * across lanes together (hadd, then the two 128-bit halves), one store of
 * GROUP sums. Each float lane still takes at most BATCHNORM_BLOCK
 * additions before it is added into double (no pairwise float sums here,
 * so the bound of scalar.c, step 2, holds with room to spare). Moments of
 * 1x512x7x7 went from 0.20 to 0.135 ns/element (the time was spent
 * waiting on one channel's chain of additions and its horizontal sums).
 * Longer planes keep the walk per channel: at 14x14 the flushes every
 * BATCHNORM_BLOCK vectors made the lockstep walk 5-10% slower.
 */
#define SHORT_PLANE 64
#define GROUP 4

/* One vector of each of the group's planes at offset s (partial when
 * vmask is given: rem < LANES). */
BN_INLINE void group_step(const float *xi, const float *dyi, size_t spatial,
                          size_t s, const __m256 *vk, __m256 *a1, __m256 *a2,
                          size_t g_count, bool partial, __m256i vmask,
                          bool grad)
{
    for (size_t g = 0; g < g_count; g++) {
        const float *xp = xi + g * spatial + s;
        const float *dyp = grad ? dyi + g * spatial + s : NULL;
        __m256 vx, vdy = _mm256_setzero_ps();
        if (partial) {
            load_partial(xp, dyp, vmask, vk[g], &vx, &vdy, grad);
        } else {
            vx = _mm256_loadu_ps(xp);
            if (grad)
                vdy = _mm256_loadu_ps(dyp);
        }
        acc_vec(vx, vdy, vk[g], &a1[g], &a2[g], grad);
    }
}

/* The group's float accumulators widened into its double ones, zeroed. */
BN_INLINE void group_flush(__m256 *a1, __m256 *a2, __m256d *d1, __m256d *d2,
                           size_t g_count)
{
    for (size_t g = 0; g < g_count; g++) {
        d1[g] = _mm256_add_pd(
            d1[g],
            _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(a1[g])),
                          _mm256_cvtps_pd(_mm256_extractf128_ps(a1[g], 1))));
        d2[g] = _mm256_add_pd(
            d2[g],
            _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(a2[g])),
                          _mm256_cvtps_pd(_mm256_extractf128_ps(a2[g], 1))));
        a1[g] = a2[g] = _mm256_setzero_ps();
    }
}

/* s[0..3] = the lane sums of d[0..3]. */
BN_INLINE void store_sums4(const __m256d *d, double *s)
{
    __m256d t0 = _mm256_hadd_pd(d[0], d[1]); /* 0a 1a 0b 1b */
    __m256d t1 = _mm256_hadd_pd(d[2], d[3]); /* 2a 3a 2b 3b */
    _mm256_storeu_pd(s, _mm256_add_pd(_mm256_permute2f128_pd(t0, t1, 0x20),
                                      _mm256_permute2f128_pd(t0, t1, 0x31)));
}

BN_INLINE void reduce_group(const float *x, const float *dy, size_t images,
                            size_t image_stride, size_t spatial, const float *k,
                            double *s1, double *s2, size_t g_count, bool grad)
{
    __m256 vk[GROUP], a1[GROUP], a2[GROUP];
    __m256d d1[GROUP], d2[GROUP];
    for (size_t g = 0; g < g_count; g++) {
        vk[g] = _mm256_set1_ps(k[g]);
        a1[g] = a2[g] = _mm256_setzero_ps();
        d1[g] = d2[g] = _mm256_setzero_pd();
    }
    const size_t full = spatial & ~(size_t)(LANES - 1);
    const __m256i vmask = tail_mask(spatial - full);
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
    if (g_count == GROUP) {
        store_sums4(d1, s1);
        store_sums4(d2, s2);
    } else {
        for (size_t g = 0; g < g_count; g++) {
            s1[g] = hsum_pd(d1[g], _mm256_setzero_pd());
            s2[g] = hsum_pd(d2[g], _mm256_setzero_pd());
        }
    }
}

/*
 * Planes view, gradient sums over planes of LANES..SHORT_PLANE floats
 * (7x7): an image's planes walked as one flat array in whole vectors, as
 * the maps walk them (map_image). The group walk above starts every plane
 * at its own offset: for an odd plane length, half of its 32-byte loads
 * straddle two cache lines, and each plane ends in a partial vector (sums
 * of 1x512x7x7 at 0.165 ns/element, against 0.12 for planes of 48). A
 * vector that straddles planes c and c+1 is split by its lane mask into
 * both channels' accumulators, both factors of each product masked so
 * that a NaN or an infinity stays in its channel. Each lane of a
 * channel's float accumulators takes at most SHORT_PLANE / LANES + 2
 * terms; they are widened into double once per plane and image, 4
 * channels at a time (FLAT_BATCH). Measured (the unit built both ways,
 * minimum of 300 interleaved rounds, range of 3 runs): gradient sums
 * 1.16x faster at 1x512x7x7, 1.08-1.18x at 1x2048x7x7, 1.28-1.35x at
 * 32x64x7x7, 1.2x at 8x8 and 1.39x at 9x7, unchanged at 3x3; whole NCHW
 * backward (scripts/ab.sh, 15 rounds) 1.09x at 1x512x7x7 and 1.06x at
 * 1x2048x7x7. The moments, which read x alone, were 0.91-0.95x as fast
 * this way and keep the group walk.
 */
#define FLAT_BATCH 4
_Static_assert(SHORT_PLANE / LANES + 2 <= BATCHNORM_BLOCK + 2,
               "flat short-plane sums: too many float terms per lane");

/* The lanes of vlo into a1, a2, the others into b1, b2. */
BN_INLINE void split_acc(__m256 vx, __m256 vdy, __m256 vk, __m256 vlo,
                         __m256 *a1, __m256 *a2, __m256 *b1, __m256 *b2,
                         bool grad)
{
    __m256 vu = _mm256_sub_ps(vx, vk);
    __m256 vu_lo = _mm256_and_ps(vu, vlo), vu_hi = _mm256_andnot_ps(vlo, vu);
    __m256 vt_lo = vu_lo, vt_hi = vu_hi;
    if (grad) {
        vt_lo = _mm256_and_ps(vdy, vlo);
        vt_hi = _mm256_andnot_ps(vlo, vdy);
    }
    *a1 = _mm256_add_ps(*a1, vt_lo);
    *a2 = _mm256_fmadd_ps(vt_lo, vu_lo, *a2);
    *b1 = _mm256_add_ps(*b1, vt_hi);
    *b2 = _mm256_fmadd_ps(vt_hi, vu_hi, *b2);
}

/* s[0..count) (+)= the lane sums of f[0..count), widened. */
BN_INLINE void flush_batch(const __m256 *f, double *s, size_t count, bool first)
{
    __m256d d[FLAT_BATCH];
    for (size_t g = 0; g < count; g++)
        d[g] = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(f[g])),
                             _mm256_cvtps_pd(_mm256_extractf128_ps(f[g], 1)));
    if (count == FLAT_BATCH && first) {
        store_sums4(d, s);
    } else if (count == FLAT_BATCH) {
        double t[FLAT_BATCH];
        store_sums4(d, t);
        _mm256_storeu_pd(s,
                         _mm256_add_pd(_mm256_loadu_pd(s), _mm256_loadu_pd(t)));
    } else {
        for (size_t g = 0; g < count; g++) {
            double v = hsum_pd(d[g], _mm256_setzero_pd());
            s[g] = first ? v : s[g] + v;
        }
    }
}

BN_INLINE void reduce_flat_planes(const float *x, const float *dy,
                                  size_t images, size_t image_stride,
                                  size_t channels, size_t spatial,
                                  const float *k, double *s1, double *s2,
                                  bool grad)
{
    __m256 f1[FLAT_BATCH], f2[FLAT_BATCH];
    for (size_t i = 0; i < images; i++) {
        const float *xi = x + i * image_stride;
        const float *dyi = grad ? dy + i * image_stride : NULL;
        __m256 a1 = _mm256_setzero_ps(), a2 = a1, b1 = a1, b2 = a1;
        __m256 vdy = a1;
        size_t pos = 0, end = 0;
        for (size_t c = 0; c < channels; c++) {
            const __m256 vk = _mm256_set1_ps(k[c]);
            end += spatial;
            for (; pos + LANES <= end; pos += LANES) {
                if (grad)
                    vdy = _mm256_loadu_ps(dyi + pos);
                acc_vec(_mm256_loadu_ps(xi + pos), vdy, vk, &a1, &a2, grad);
            }
            if (pos < end) {
                const __m256i vmask = tail_mask(end - pos);
                const __m256 vlo = _mm256_castsi256_ps(vmask);
                if (c + 1 == channels) {
                    __m256 vx = _mm256_maskload_ps(xi + pos, vmask);
                    if (grad)
                        vdy = _mm256_maskload_ps(dyi + pos, vmask);
                    split_acc(vx, vdy, vk, vlo, &a1, &a2, &b1, &b2, grad);
                    pos = end;
                } else {
                    const __m256 vk2 =
                        _mm256_blendv_ps(_mm256_set1_ps(k[c + 1]), vk, vlo);
                    if (grad)
                        vdy = _mm256_loadu_ps(dyi + pos);
                    split_acc(_mm256_loadu_ps(xi + pos), vdy, vk2, vlo, &a1,
                              &a2, &b1, &b2, grad);
                    pos += LANES;
                }
            }
            const size_t slot = c % FLAT_BATCH;
            f1[slot] = a1;
            f2[slot] = a2;
            a1 = b1;
            a2 = b2;
            b1 = b2 = _mm256_setzero_ps();
            if (slot + 1 == FLAT_BATCH) {
                size_t c0 = c + 1 - FLAT_BATCH;
                flush_batch(f1, s1 + c0, FLAT_BATCH, i == 0);
                flush_batch(f2, s2 + c0, FLAT_BATCH, i == 0);
            }
        }
        size_t left = channels % FLAT_BATCH;
        if (left != 0) {
            flush_batch(f1, s1 + channels - left, left, i == 0);
            flush_batch(f2, s2 + channels - left, left, i == 0);
        }
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
BN_INLINE void flush_lanes(__m256 v, double *s, size_t count)
{
    __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    if (count == LANES) {
        _mm256_storeu_pd(s, _mm256_add_pd(_mm256_loadu_pd(s), lo));
        _mm256_storeu_pd(s + 4, _mm256_add_pd(_mm256_loadu_pd(s + 4), hi));
        return;
    }
    double lanes[LANES];
    _mm256_storeu_pd(lanes, lo);
    _mm256_storeu_pd(lanes + 4, hi);
    for (size_t j = 0; j < count; j++)
        s[j] += lanes[j];
}

/* The most phases the flat sums handle (lcm(C, LANES) / LANES). */
#define FLAT_PHASES 32

BN_INLINE void flush_phases(__m256 *a1, __m256 *a2, double *d1, double *d2,
                            size_t phases)
{
    for (size_t p = 0; p < phases; p++) {
        flush_lanes(a1[p], d1 + p * LANES, LANES);
        flush_lanes(a2[p], d2 + p * LANES, LANES);
        a1[p] = a2[p] = _mm256_setzero_ps();
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
    __m256 vk[FLAT_PHASES], a1[FLAT_PHASES], a2[FLAT_PHASES];
    double d1[FLAT_PHASES * LANES], d2[FLAT_PHASES * LANES];
    float lane_k[LANES];
    const size_t period = phases * LANES;
    for (size_t p = 0; p < phases; p++) {
        for (size_t l = 0; l < LANES; l++)
            lane_k[l] = k[(p * LANES + l) % channels];
        vk[p] = _mm256_loadu_ps(lane_k);
        a1[p] = a2[p] = _mm256_setzero_ps();
    }
    memset(d1, 0, period * sizeof(double));
    memset(d2, 0, period * sizeof(double));
    __m256 vdy = _mm256_setzero_ps(), vx;
    size_t pos = 0;
    unsigned steps = 0;
    for (; pos + period <= len; pos += period) {
        for (size_t p = 0; p < phases; p++) {
            size_t at = pos + p * LANES;
            if (grad)
                vdy = _mm256_loadu_ps(dy + at);
            acc_vec(_mm256_loadu_ps(x + at), vdy, vk[p], &a1[p], &a2[p], grad);
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
            vx = _mm256_loadu_ps(x + pos);
            if (grad)
                vdy = _mm256_loadu_ps(dy + pos);
        } else {
            size_t rem = len - pos;
            __m256i vmask = tail_mask(rem);
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
 * Rows view of the sums in general. The channels go by groups of ROW_VECS
 * vectors whose accumulators stay in registers, each group over one
 * sub-block of rows at a time; the sub-blocks' float sums are chained in
 * float (through the staging arrays p1 and p2) over a super-block of at
 * most BATCHNORM_ROW_SUPER rows, and only the super-block's sums are
 * widened and added into the double sums.
 * - Error: a term goes through at most `sub` additions in its register
 *   accumulator and one per further sub-block of the chain: 6 + 3 or
 *   4 + 5, at most 9 float additions, one more than a block of
 *   BATCHNORM_BLOCK rows flushed on its own and one less than the planes
 *   view's 8 + 2 (scalar.c, step 2). The static asserts keep the count.
 * - Why: flushing every accumulator after each block of 8 rows cost as
 *   much as the data's own arithmetic (per accumulator an extraction, 2
 *   conversions, 2 loads, 2 additions and 2 stores, against 8 rows of 3
 *   operations): with the flushes left out (wrong sums), the sums ran
 *   1.3-1.5x faster for the moments and 1.15-1.3x for the gradient sums.
 *   Chaining a sub-block costs a store, or a load and an addition, per
 *   accumulator, and the widening comes once per 24 rows instead of 8.
 * - Sub-blocks of at most BATCHNORM_ROW_SUB = 6 rows, or BATCHNORM_ROW_SUB_4K
 *   = 4 for the gradient sums (x and dy) at a row stride that is a multiple of
 *   4 KiB (the 512-channel chunks of C = 1024 and 2048). A group reads 2 lines
 *   of each row and tensor; at such a stride all the rows of a column fall
 *   into one set of the 8-way L1, and the lines that the L1 prefetcher brings
 *   in for the next group survive only while rows times tensors stays within
 *   the 8 ways. Plain reads of x and dy in this order ran 1.2-1.3x slower over
 *   8-row blocks than over 4-row ones at C = 2048 (the same at C = 512), and
 *   1.7-2x slower over 16-row ones. At other strides 6 rows are up to 1.1x
 *   faster than 4 (C = 256). This is also why the first design tried lost: two
 *   register accumulators per sum (even and odd rows) over 16-row blocks, in
 *   groups of 2 vectors to fit the 16 registers (one line per row and group),
 *   ran at 0.7-0.8x the old speed for the gradient sums and 0.8-1.1x for the
 *   moments.
 * - The row counts are balanced: ceil(rows / BATCHNORM_ROW_SUPER) super-blocks
 *   of nearly equal size, each in nearly equal sub-blocks, so that a short
 *   last block does not cost a widening of its own (49 rows: 17 + 16 + 16, 3
 *   widenings where 8-row blocks took 7; 196 rows: 9 against 25).
 * - Every combination of the sub-block's end and of the first
 *   super-block (which stores into the double sums, so that they need no
 *   clearing) is an instance of its own (rows_sub): 1.01-1.12x faster
 *   than testing them in the group loop.
 * Measurements in the notes at the top. A channel count that is not a
 * multiple of the vector length costs a partial vector per row here, so
 * contiguous rows with few phases go to reduce_flat instead.
 */
#define ROW_VECS 4

/* The widened lanes of v added into s[0..count-1], or stored there for
 * the first super-block. */
BN_INLINE void flush_rows(__m256 v, double *s, size_t count, bool first)
{
    if (!first) {
        flush_lanes(v, s, count);
        return;
    }
    __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    if (count == LANES) {
        _mm256_storeu_pd(s, lo);
        _mm256_storeu_pd(s + 4, hi);
        return;
    }
    double lanes[LANES];
    _mm256_storeu_pd(lanes, lo);
    _mm256_storeu_pd(lanes + 4, hi);
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
    const __m256i vmask = partial ? tail_mask(width) : _mm256_setzero_si256();
    __m256 vk[ROW_VECS], a1[ROW_VECS], a2[ROW_VECS];
    for (size_t v = 0; v < vecs; v++) {
        vk[v] = partial && v + 1 == vecs
                    ? _mm256_maskload_ps(k + j + v * LANES, vmask)
                    : _mm256_loadu_ps(k + j + v * LANES);
        a1[v] = a2[v] = _mm256_setzero_ps();
    }
    for (size_t r = 0; r < nr; r++) {
        const float *xr = xb + r * stride + j;
        const float *dyr = grad ? dyb + r * stride + j : NULL;
        for (size_t v = 0; v < vecs; v++) {
            const float *dyv = grad ? dyr + v * LANES : NULL;
            __m256 vx, vdy = _mm256_setzero_ps();
            if (partial && v + 1 == vecs) {
                load_partial(xr + v * LANES, dyv, vmask, vk[v], &vx, &vdy,
                             grad);
            } else {
                vx = _mm256_loadu_ps(xr + v * LANES);
                if (grad)
                    vdy = _mm256_loadu_ps(dyv);
            }
            acc_vec(vx, vdy, vk[v], &a1[v], &a2[v], grad);
        }
    }
    /* Whole vectors in the staging arrays (their dead lanes hold 0): j is
     * below the window's channel count, at most BATCHNORM_ROW_STAGE. */
    for (size_t v = 0; v < vecs; v++) {
        size_t at = j + v * LANES;
        if (end == BATCHNORM_ROWS_CHAIN || end == BATCHNORM_ROWS_CHAIN_FLUSH) {
            a1[v] = _mm256_add_ps(_mm256_loadu_ps(p1 + at), a1[v]);
            a2[v] = _mm256_add_ps(_mm256_loadu_ps(p2 + at), a2[v]);
        }
        if (end == BATCHNORM_ROWS_STAGE || end == BATCHNORM_ROWS_CHAIN) {
            _mm256_storeu_ps(p1 + at, a1[v]);
            _mm256_storeu_ps(p2 + at, a2[v]);
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
 * the group loops test neither (1.01-1.12x faster than testing them
 * there). */
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
        /* TODO(#5): odd C > FLAT_PHASES (33, 35, ...) falls through to
         * a partial vector per row below; no measured shape has one. */
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
    /* x and dy, all rows of a column in one L1 set: see above */
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

/* ---- step 1: the shifts ---- */

/* One sample of 4 channels cs floats apart, widened: one vector load in
 * the rows view (cs = 1), one load per lane in the planes view. */
BN_INLINE __m256d sample4(const float *p, size_t cs)
{
    if (cs == 1)
        return _mm256_cvtps_pd(_mm_loadu_ps(p));
    return _mm256_cvtps_pd(_mm_setr_ps(p[0], p[cs], p[2 * cs], p[3 * cs]));
}

/* batchnorm_shift_one (batchnorm.h) of 4 channels, lane by lane the same
 * double operations. */
BN_INLINE void shift4(const float *xc, size_t cs,
                      const struct batchnorm_samples *sp, float *k)
{
    __m256d even = sample4(xc + sp->at[0], cs), odd = _mm256_setzero_pd();
    for (size_t s = 1; s < sp->count; s += 2) {
        odd = _mm256_add_pd(odd, sample4(xc + sp->at[s], cs));
        if (s + 1 < sp->count)
            even = _mm256_add_pd(even, sample4(xc + sp->at[s + 1], cs));
    }
    const __m256d vinv = _mm256_set1_pd(1.0 / (double)sp->count);
    _mm_storeu_ps(
        k, _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_add_pd(even, odd), vinv)));
}

/* The shifts of channels 0..channels-1, cs floats apart. */
BN_INLINE void shifts(const float *x, size_t cs, size_t channels,
                      const struct batchnorm_samples *sp, float *k)
{
    size_t j = 0;
    for (; j + 4 <= channels; j += 4)
        shift4(x + j * cs, cs, sp, k + j);
    for (; j < channels; j++)
        k[j] = batchnorm_shift_one(x + j * cs, sp);
}

/* Planes view: the shifts of SHIFT_BLOCK channels, then their sums, so
 * that the lines the samples bring into L1 are still there for the sums
 * (one pass over the group's planes instead of two). */
#define SHIFT_BLOCK 16

static void moments_planes_avx2(const float *x, size_t images,
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
static void moments_rows_avx2(const float *x, size_t rows, size_t channels,
                              size_t stride, const struct batchnorm_samples *sp,
                              float *k, double *s1, double *s2)
{
    shifts(x, 1, channels, sp, k);
    reduce_rows(x, NULL, rows, channels, stride, k, s1, s2, false);
}

static void dsums_planes_avx2(const float *x, const float *dy, size_t images,
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

static void dsums_rows_avx2(const float *x, const float *dy, size_t rows,
                            size_t channels, size_t stride, const float *m,
                            double *s1, double *s2)
{
    reduce_rows(x, dy, rows, channels, stride, m, s1, s2, true);
}

/* ---- the folding (inference, steps 3-5), DLANES channels a vector ---- */

#define DLANES (LANES / 2)

/* DLANES floats of p from channel j, widened; all `none` when p is NULL. */
BN_INLINE __m256d widen_or(const float *p, size_t j, double none)
{
    return p ? _mm256_cvtps_pd(_mm_loadu_ps(p + j)) : _mm256_set1_pd(none);
}

/* batchnorm_ifold_one (batchnorm.h), operation for operation. */
static void fold_inference_avx2(const float *gamma, const float *beta,
                                const float *mean, const float *var, float eps,
                                size_t channels, float *a, float *b)
{
    const __m256d veps = _mm256_set1_pd(eps), vone = _mm256_set1_pd(1.0);
    size_t j = 0;
    for (; j + DLANES <= channels; j += DLANES) {
        __m256d t = _mm256_add_pd(_mm256_cvtps_pd(_mm_loadu_ps(var + j)), veps);
        __m256d inv_std = _mm256_div_pd(vone, _mm256_sqrt_pd(t));
        __m256d scale = _mm256_mul_pd(widen_or(gamma, j, 1.0), inv_std);
        __m256d lo =
            _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(mean + j)), scale);
        _mm_storeu_ps(a + j, _mm256_cvtpd_ps(scale));
        _mm_storeu_ps(
            b + j, _mm256_cvtpd_ps(_mm256_sub_pd(widen_or(beta, j, 0.0), lo)));
    }
    for (; j < channels; j++)
        batchnorm_ifold_one(gamma, beta, mean, var, eps, j, &a[j], &b[j]);
}

/* batchnorm_fold_one (batchnorm.h), operation for operation. */
static void fold_training_avx2(const struct batchnorm_fold *f, size_t channels,
                               const float *k, const double *s1,
                               const double *s2, float *m, float *a, float *b)
{
    const __m256d vinv = _mm256_set1_pd(f->inv_cnt);
    const __m256d vkeep = _mm256_set1_pd(f->keep);
    const __m256d vtake = _mm256_set1_pd(1.0 - f->keep);
    const __m256d vunbias = _mm256_set1_pd(f->unbias);
    const __m256d veps = _mm256_set1_pd(f->eps);
    const __m256d vone = _mm256_set1_pd(1.0), vzero = _mm256_setzero_pd();
    size_t j = 0;
    for (; j + DLANES <= channels; j += DLANES) {
        __m256d off = _mm256_mul_pd(_mm256_loadu_pd(s1 + j), vinv);
        __m256d mu = _mm256_add_pd(_mm256_cvtps_pd(_mm_loadu_ps(k + j)), off);
        __m256d v = _mm256_sub_pd(_mm256_mul_pd(_mm256_loadu_pd(s2 + j), vinv),
                                  _mm256_mul_pd(off, off));
        /* v <= 0 (ordered) becomes +0; NaN stays */
        v = _mm256_andnot_pd(_mm256_cmp_pd(v, vzero, _CMP_LE_OQ), v);
        __m128 hi = _mm256_cvtpd_ps(mu);
        _mm_storeu_ps(f->batch_mean + j, hi);
        _mm_storeu_ps(f->batch_var + j, _mm256_cvtpd_ps(v));
        if (f->running_mean != NULL) {
            __m256d rm = _mm256_cvtps_pd(_mm_loadu_ps(f->running_mean + j));
            __m256d rv = _mm256_cvtps_pd(_mm_loadu_ps(f->running_var + j));
            rm = _mm256_add_pd(_mm256_mul_pd(vkeep, rm),
                               _mm256_mul_pd(vtake, mu));
            rv = _mm256_add_pd(_mm256_mul_pd(vkeep, rv),
                               _mm256_mul_pd(vtake, _mm256_mul_pd(v, vunbias)));
            _mm_storeu_ps(f->running_mean + j, _mm256_cvtpd_ps(rm));
            _mm_storeu_ps(f->running_var + j, _mm256_cvtpd_ps(rv));
        }
        __m256d inv_std =
            _mm256_div_pd(vone, _mm256_sqrt_pd(_mm256_add_pd(v, veps)));
        __m256d scale = _mm256_mul_pd(widen_or(f->gamma, j, 1.0), inv_std);
        __m256d be = widen_or(f->beta, j, 0.0);
        _mm_storeu_ps(m + j, hi);
        _mm_storeu_ps(a + j, _mm256_cvtpd_ps(scale));
        __m256d lo =
            _mm256_mul_pd(_mm256_sub_pd(mu, _mm256_cvtps_pd(hi)), scale);
        _mm_storeu_ps(b + j, _mm256_cvtpd_ps(_mm256_sub_pd(be, lo)));
    }
    for (; j < channels; j++)
        batchnorm_fold_one(f, j, k[j], s1[j], s2[j], &m[j], &a[j], &b[j]);
}

/* batchnorm_dfold_one (batchnorm.h), operation for operation. */
static void fold_backward_avx2(const struct batchnorm_dfold *f, size_t channels,
                               const double *s1, const double *s2, float *p,
                               float *q, float *r)
{
    const __m256d vinv = _mm256_set1_pd(f->inv_cnt);
    const __m256d veps = _mm256_set1_pd(f->eps);
    const __m256d vone = _mm256_set1_pd(1.0);
    const __m256d vsign = _mm256_set1_pd(-0.0);
    size_t j = 0;
    for (; j + DLANES <= channels; j += DLANES) {
        __m256d t =
            _mm256_add_pd(_mm256_cvtps_pd(_mm_loadu_ps(f->var + j)), veps);
        __m256d inv_std = _mm256_div_pd(vone, _mm256_sqrt_pd(t));
        __m256d db = _mm256_loadu_pd(s1 + j);
        __m256d dg = _mm256_mul_pd(_mm256_loadu_pd(s2 + j), inv_std);
        if (f->dbeta != NULL)
            _mm_storeu_ps(f->dbeta + j, _mm256_cvtpd_ps(db));
        if (f->dgamma != NULL)
            _mm_storeu_ps(f->dgamma + j, _mm256_cvtpd_ps(dg));
        __m256d pj = _mm256_mul_pd(widen_or(f->gamma, j, 1.0), inv_std);
        __m256d npj = _mm256_xor_pd(pj, vsign); /* -pj, exactly */
        _mm_storeu_ps(p + j, _mm256_cvtpd_ps(pj));
        __m256d vq =
            _mm256_mul_pd(_mm256_mul_pd(_mm256_mul_pd(npj, inv_std), dg), vinv);
        _mm_storeu_ps(q + j, _mm256_cvtpd_ps(vq));
        __m256d vr = _mm256_mul_pd(_mm256_mul_pd(npj, db), vinv);
        _mm_storeu_ps(r + j, _mm256_cvtpd_ps(vr));
    }
    for (; j < channels; j++)
        batchnorm_dfold_one(f, j, s1[j], s2[j], &p[j], &q[j], &r[j]);
}

const struct batchnorm_ops batchnorm_ops_avx2 = {
    .apply_planes = apply_planes_avx2,
    .apply_rows = apply_rows_avx2,
    .moments_planes = moments_planes_avx2,
    .moments_rows = moments_rows_avx2,
    .dsums_planes = dsums_planes_avx2,
    .dsums_rows = dsums_rows_avx2,
    .dapply_planes = dapply_planes_avx2,
    .dapply_rows = dapply_rows_avx2,
    .fold_inference = fold_inference_avx2,
    .fold_training = fold_training_avx2,
    .fold_backward = fold_backward_avx2,
};
