/*
 * Internal interface of the batch-normalization family.
 *
 * The front-end (api.c) validates, chooses the per-channel shifts, merges
 * the statistics in double and folds every per-channel constant; the ISA
 * units only stream over the tensor. Each unit exports one table,
 * batchnorm_ops_<isa>; every kernel in it works on a range of channels
 * whose per-channel arrays (m, a, b, ... , s1, s2) hold `channels` entries
 * starting at the range's first channel.
 *
 * Two views of the tensor cover both layouts:
 * - planes (NCHW): `channels` consecutive planes of `spatial` contiguous
 *   floats per image; image i's first plane is at x + i*image_stride;
 * - rows (NHWC, and NCHW with spatial 1): `rows` rows, each `channels`
 *   contiguous floats, consecutive rows `stride` floats apart.
 *
 * The reductions return, per channel, double sums of float partials that
 * each add at most BATCHNORM_BLOCK terms per accumulator lane (see
 * scalar.c, step 2, for why this bound keeps the statistics within 1e-6).
 *
 * The maps (apply_*, dapply_*) take a mode: BATCHNORM_RELU (apply only)
 * and BATCHNORM_STREAM, a hint that the output is far larger than the
 * caches and does not alias an input, so that it may be written with
 * non-temporal stores (x86 units; others ignore it).
 *
 * Rows view with stride == channels (the rows are contiguous, so the
 * tensor is one flat array whose channel pattern repeats every `channels`
 * floats): the per-channel arrays of the maps then hold
 * channels + BATCHNORM_PAD entries, entry j being entry j % channels, so
 * that a vector starting anywhere in the pattern loads its lanes'
 * constants with one unaligned load.
 */
#ifndef SIMDNN_KERNELS_BATCHNORM_H
#define SIMDNN_KERNELS_BATCHNORM_H

#include <stdbool.h>
#include <stddef.h>

/* The kernel units do not see dispatch/ on their include path. */
#ifndef SIMDNN_INTERNAL
#define SIMDNN_INTERNAL __attribute__((visibility("hidden")))
#endif

/* Float additions per accumulator lane between two flushes into double. */
#define BATCHNORM_BLOCK 8

/* Modes of the maps. */
#define BATCHNORM_RELU 0x1u
#define BATCHNORM_STREAM 0x2u

/* Periodic extension of the map constants in the contiguous rows view:
 * 4 vectors of the widest ISA (AVX-512: 4 x 16 floats). */
#define BATCHNORM_PAD 64

struct batchnorm_ops {
    /* y = (x - m[c]) * a[c] + b[c] with one FMA per element, then
     * max(0, y) with BATCHNORM_RELU. In place allowed (x == y). */
    void (*apply_planes)(const float *x, float *y, size_t images,
                         size_t image_stride, size_t channels,
                         size_t spatial, const float *m, const float *a,
                         const float *b, unsigned mode);
    void (*apply_rows)(const float *x, float *y, size_t rows,
                       size_t channels, size_t stride, const float *m,
                       const float *a, const float *b, unsigned mode);

    /* s1[c] = sum(x - k[c]), s2[c] = sum((x - k[c])^2) over the channel. */
    void (*moments_planes)(const float *x, size_t images,
                           size_t image_stride, size_t channels,
                           size_t spatial, const float *k, double *s1,
                           double *s2);
    void (*moments_rows)(const float *x, size_t rows, size_t channels,
                         size_t stride, const float *k, double *s1,
                         double *s2);

    /* s1[c] = sum(dy), s2[c] = sum(dy * (x - m[c])) over the channel. */
    void (*dsums_planes)(const float *x, const float *dy, size_t images,
                         size_t image_stride, size_t channels,
                         size_t spatial, const float *m, double *s1,
                         double *s2);
    void (*dsums_rows)(const float *x, const float *dy, size_t rows,
                       size_t channels, size_t stride, const float *m,
                       double *s1, double *s2);

    /* dx = (x - m[c]) * q[c] + (dy * p[c] + r[c]), two FMAs per element.
     * In place allowed for dx == dy. */
    void (*dapply_planes)(const float *x, const float *dy, float *dx,
                          size_t images, size_t image_stride,
                          size_t channels, size_t spatial, const float *m,
                          const float *p, const float *q, const float *r,
                          unsigned mode);
    void (*dapply_rows)(const float *x, const float *dy, float *dx,
                        size_t rows, size_t channels, size_t stride,
                        const float *m, const float *p, const float *q,
                        const float *r, unsigned mode);

    /* r[j] = 1/sqrt(t[j]) in double, correctly rounded square root and
     * division (the same bits on every ISA); r may equal t. The per-channel
     * folding needs one per channel, and the divider is the bottleneck of
     * the folding: vectors of doubles make it 2-4 times cheaper. */
    void (*inv_sqrt)(const double *t, double *r, size_t count);
};

SIMDNN_INTERNAL extern const struct batchnorm_ops batchnorm_ops_scalar;
SIMDNN_INTERNAL extern const struct batchnorm_ops batchnorm_ops_avx2;
SIMDNN_INTERNAL extern const struct batchnorm_ops batchnorm_ops_avx512;
SIMDNN_INTERNAL extern const struct batchnorm_ops batchnorm_ops_neon;

#endif /* SIMDNN_KERNELS_BATCHNORM_H */
