/*
 * Internal interface of the batch-normalization family.
 *
 * The front-end (api.c) validates and places the samples of the
 * per-channel shifts; the ISA units stream over the tensor (reading the
 * shift samples as they go) and fold the inference, training and backward
 * constants in vectors of doubles. Each unit exports one table,
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
 * The reductions return, per channel, double sums of float partials: each
 * accumulator lane adds at most BATCHNORM_BLOCK terms, and the SIMD units
 * add such partials in float at most twice more per term before the
 * double (pairwise sums, or the rows view's chained sub-blocks, at most
 * BATCHNORM_BLOCK + 2 float additions per term in all; see scalar.c,
 * step 2, for why this bound keeps the statistics within 1e-6).
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

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kernel units do not see dispatch/ on their include path. */
#ifndef SIMDNN_INTERNAL
#define SIMDNN_INTERNAL __attribute__((visibility("hidden")))
#endif

/* Float additions per accumulator lane between two flushes into double. */
#define BATCHNORM_BLOCK 8

/*
 * The rows-view sums' schedule, shared by the SIMD units (avx2.c,
 * reduce_rows, says why and what it gained): at most BATCHNORM_ROW_STAGE
 * channels at a time, rows in ceil(rows / BATCHNORM_ROW_SUPER)
 * super-blocks of nearly equal size, each in nearly equal sub-blocks of
 * at most BATCHNORM_ROW_SUB rows (BATCHNORM_ROW_SUB_4K for the gradient
 * sums at a row stride of a multiple of 4 KiB); a sub-block's float sums
 * are chained in float into the next one, and a super-block's are widened
 * into double.
 */
#define BATCHNORM_ROW_SUPER 24
#define BATCHNORM_ROW_SUB 6
#define BATCHNORM_ROW_SUB_4K 4
#define BATCHNORM_ROW_STAGE 512

#define BATCHNORM_CEIL_DIV(a, b) ((a) / (b) + ((a) % (b) != 0))
/* At most BATCHNORM_BLOCK + 1 float additions per term (scalar.c, step 2,
 * allows BATCHNORM_BLOCK + 2): sub in the register accumulator, then one
 * per further sub-block of a super-block. */
_Static_assert(BATCHNORM_ROW_SUB +
                       BATCHNORM_CEIL_DIV(BATCHNORM_ROW_SUPER,
                                          BATCHNORM_ROW_SUB) -
                       1 <=
                   BATCHNORM_BLOCK + 1,
               "rows view: too many float additions per term");
_Static_assert(BATCHNORM_ROW_SUB_4K +
                       BATCHNORM_CEIL_DIV(BATCHNORM_ROW_SUPER,
                                          BATCHNORM_ROW_SUB_4K) -
                       1 <=
                   BATCHNORM_BLOCK + 1,
               "rows view: too many float additions per term");

/* What a sub-block does with its float sums: the first of several is
 * staged, the next ones are added to the staged sums, the last one (or
 * the only one) adds them and is widened into the double sums. */
enum batchnorm_rows_end {
    BATCHNORM_ROWS_STAGE,
    BATCHNORM_ROWS_CHAIN,
    BATCHNORM_ROWS_CHAIN_FLUSH,
    BATCHNORM_ROWS_FLUSH
};

/* Part i of `total` cut into `parts` nearly equal parts (the first
 * total % parts one larger). */
static inline size_t batchnorm_part(size_t total, size_t parts, size_t i)
{
    return total / parts + (i < total % parts ? 1 : 0);
}

/* The end of sub-block h of `subs`. */
static inline enum batchnorm_rows_end batchnorm_rows_end_of(size_t h,
                                                            size_t subs)
{
    return subs == 1      ? BATCHNORM_ROWS_FLUSH
           : h == 0       ? BATCHNORM_ROWS_STAGE
           : h + 1 < subs ? BATCHNORM_ROWS_CHAIN
                          : BATCHNORM_ROWS_CHAIN_FLUSH;
}

/*
 * Direction of the x86 units' strided row-block walk (avx2.c, map_rows).
 * Every row of a block sits at the same offset modulo 4 KiB when the
 * stride is a multiple of 1024 floats, so each store of y matches, in its
 * low 12 bits, the loads of x that come a few columns later whenever y
 * lies up to a few hundred bytes above x modulo 4 KiB, and Zen 3 holds
 * those loads behind the stores. Walking the columns downward puts those
 * loads before the stores they match. Measured on AVX2 (1x2048x7x7 and
 * 1x1024x14x14 NHWC inference, the library built both ways, minimum of
 * 150 interleaved rounds): 1.12-1.23x faster with y 16 to 256 bytes above
 * x, 0.97x at 384 and above (so the window is 320 bytes), unchanged
 * elsewhere; AVX-512 takes the same window, not measured on an AVX-512
 * core. The maps of dx read two tensors, and walking them downward
 * measured 0.86-1.26x depending on where dx lies from both (dx maps alone
 * at 1x2048x7x7): with no rule that wins for both offsets, only the maps
 * of y take it. NEON walks upward (neon.c says why).
 */
#define BATCHNORM_ALIAS_WINDOW 320

static inline bool batchnorm_walk_down(const float *x, const float *y)
{
    size_t d = ((uintptr_t)y - (uintptr_t)x) & 4095;
    return d != 0 && d < BATCHNORM_ALIAS_WINDOW;
}

/* Samples per channel for the shift k (scalar.c, step 1). */
#define BATCHNORM_SAMPLES 8

/* Where the samples of step 1 lie, as offsets from a channel's first
 * element: the same for every channel of a call, so api.c computes them
 * once and the moments kernels read the samples of each channel just
 * before its sums (the lines they touch are then in L1 for the sums). */
struct batchnorm_samples {
    size_t count; /* min(n*spatial, BATCHNORM_SAMPLES), at least 1 */
    size_t at[BATCHNORM_SAMPLES];
};

/*
 * Step 1 for the channel whose first element is xc: k, the float nearest
 * the mean of the samples, added in double in two chains (even and odd
 * samples, in order). Every unit computes exactly these operations (SIMD
 * units for several channels a vector), so k is the same bits on every
 * ISA.
 */
static inline float batchnorm_shift_one(const float *xc,
                                        const struct batchnorm_samples *sp)
{
    double even = xc[sp->at[0]], odd = 0.0;
    for (size_t s = 1; s < sp->count; s += 2) {
        odd += xc[sp->at[s]];
        if (s + 1 < sp->count)
            even += xc[sp->at[s + 1]];
    }
    return (float)((even + odd) * (1.0 / (double)sp->count));
}

/* Modes of the maps. */
#define BATCHNORM_RELU 0x1u
#define BATCHNORM_STREAM 0x2u

/* Periodic extension of the map constants in the contiguous rows view:
 * 4 vectors of the widest ISA (AVX-512: 4 x 16 floats). */
#define BATCHNORM_PAD 64

/* The per-channel folding of a group of channels (scalar.c, steps 3-5),
 * every pointer at the group's first channel. */
struct batchnorm_fold {
    double inv_cnt; /* 1/count */
    double unbias;  /* count/(count - 1), 1 for a count of 1 */
    double keep;    /* momentum; the running averages take 1 - momentum */
    double eps;
    const float *gamma, *beta; /* NULL: all ones, all zeros */
    float *batch_mean, *batch_var;
    float *running_mean, *running_var; /* both NULL or both set */
};

struct batchnorm_dfold {
    double inv_cnt, eps;
    const float *gamma;    /* NULL: all ones */
    const float *var;      /* the saved variance */
    float *dgamma, *dbeta; /* each may be NULL */
};

/*
 * One channel j of the training folding (scalar.c, steps 3 and 4): from
 * the shift k and the shifted sums, the statistics, the running averages,
 * and the map constants m, a, b. Every ISA unit does exactly these double
 * operations in this order (vectors of doubles, no contraction: the units
 * are compiled with -ffp-contract=off), so the results are the same bits
 * on every ISA; the SIMD units call this for the channels past their last
 * whole vector.
 */
static inline void batchnorm_fold_one(const struct batchnorm_fold *f, size_t j,
                                      float k, double s1, double s2, float *m,
                                      float *a, float *b)
{
    double off = s1 * f->inv_cnt;
    double mu = (double)k + off;
    double v = s2 * f->inv_cnt - off * off;
    v = v > 0.0 || v != v ? v : 0.0; /* clamped at 0; NaN stays */
    f->batch_mean[j] = (float)mu;
    f->batch_var[j] = (float)v;
    if (f->running_mean != NULL) {
        double take = 1.0 - f->keep;
        f->running_mean[j] =
            (float)(f->keep * (double)f->running_mean[j] + take * mu);
        f->running_var[j] = (float)(f->keep * (double)f->running_var[j] +
                                    take * (v * f->unbias));
    }
    double inv_std = 1.0 / sqrt(v + f->eps);
    double g = f->gamma ? (double)f->gamma[j] : 1.0;
    double be = f->beta ? (double)f->beta[j] : 0.0;
    double scale = g * inv_std;
    float hi = (float)mu;
    *m = hi;
    *a = (float)scale;
    *b = (float)(be - (mu - (double)hi) * scale);
}

/*
 * One channel j of the inference folding (scalar.c, step 4, with
 * mean_hi = 0): y = x*a + b with a = gamma/sqrt(var + eps) and
 * b = beta - mean*a, in double, each rounded once to float. gamma and beta
 * may be NULL (all ones, all zeros). The same contract as
 * batchnorm_fold_one: every unit does exactly these operations.
 */
static inline void batchnorm_ifold_one(const float *gamma, const float *beta,
                                       const float *mean, const float *var,
                                       double eps, size_t j, float *a, float *b)
{
    double inv_std = 1.0 / sqrt((double)var[j] + eps);
    double g = gamma ? (double)gamma[j] : 1.0;
    double be = beta ? (double)beta[j] : 0.0;
    double scale = g * inv_std;
    *a = (float)scale;
    *b = (float)(be - (double)mean[j] * scale);
}

/* One channel j of the backward folding (scalar.c, step 5): dbeta, dgamma
 * and the constants p, q, r of dx from the sums s1 = sum(dy) and
 * s2 = sum(dy*(x - m)). The same contract as batchnorm_fold_one. */
static inline void batchnorm_dfold_one(const struct batchnorm_dfold *f,
                                       size_t j, double s1, double s2, float *p,
                                       float *q, float *r)
{
    double inv_std = 1.0 / sqrt((double)f->var[j] + f->eps);
    double db = s1, dg = s2 * inv_std;
    if (f->dbeta != NULL)
        f->dbeta[j] = (float)db;
    if (f->dgamma != NULL)
        f->dgamma[j] = (float)dg;
    double pj = (f->gamma ? (double)f->gamma[j] : 1.0) * inv_std;
    *p = (float)pj;
    *q = (float)(-pj * inv_std * dg * f->inv_cnt);
    *r = (float)(-pj * db * f->inv_cnt);
}

struct batchnorm_ops {
    /* y = (x - m[c]) * a[c] + b[c] with one FMA per element, then
     * max(0, y) with BATCHNORM_RELU. In place allowed (x == y). */
    void (*apply_planes)(const float *x, float *y, size_t images,
                         size_t image_stride, size_t channels, size_t spatial,
                         const float *m, const float *a, const float *b,
                         unsigned mode);
    void (*apply_rows)(const float *x, float *y, size_t rows, size_t channels,
                       size_t stride, const float *m, const float *a,
                       const float *b, unsigned mode);

    /* Step 1, then step 2: k[c] = batchnorm_shift_one of the channel,
     * s1[c] = sum(x - k[c]), s2[c] = sum((x - k[c])^2) over the channel. */
    void (*moments_planes)(const float *x, size_t images, size_t image_stride,
                           size_t channels, size_t spatial,
                           const struct batchnorm_samples *sp, float *k,
                           double *s1, double *s2);
    void (*moments_rows)(const float *x, size_t rows, size_t channels,
                         size_t stride, const struct batchnorm_samples *sp,
                         float *k, double *s1, double *s2);

    /* s1[c] = sum(dy), s2[c] = sum(dy * (x - m[c])) over the channel. */
    void (*dsums_planes)(const float *x, const float *dy, size_t images,
                         size_t image_stride, size_t channels, size_t spatial,
                         const float *m, double *s1, double *s2);
    void (*dsums_rows)(const float *x, const float *dy, size_t rows,
                       size_t channels, size_t stride, const float *m,
                       double *s1, double *s2);

    /* dx = (x - m[c]) * q[c] + (dy * p[c] + r[c]), two FMAs per element.
     * In place allowed for dx == dy. */
    void (*dapply_planes)(const float *x, const float *dy, float *dx,
                          size_t images, size_t image_stride, size_t channels,
                          size_t spatial, const float *m, const float *p,
                          const float *q, const float *r, unsigned mode);
    void (*dapply_rows)(const float *x, const float *dy, float *dx, size_t rows,
                        size_t channels, size_t stride, const float *m,
                        const float *p, const float *q, const float *r,
                        unsigned mode);

    /* batchnorm_ifold_one for channels 0..channels-1: a, b from gamma,
     * beta (each may be NULL), mean and var. A correctly rounded square
     * root and division per channel make the divider the bound of the
     * folding; vectors of doubles make it 2-4 times cheaper, which counts
     * at 7x7, where a channel streams only 49 elements. */
    void (*fold_inference)(const float *gamma, const float *beta,
                           const float *mean, const float *var, float eps,
                           size_t channels, float *a, float *b);
    /* batchnorm_fold_one for channels 0..channels-1: m, a, b from k, s1,
     * s2. At 7x7 a channel is 7 vectors of data against some 30 double
     * operations of folding, so the folding runs in vectors too. */
    void (*fold_training)(const struct batchnorm_fold *f, size_t channels,
                          const float *k, const double *s1, const double *s2,
                          float *m, float *a, float *b);
    /* batchnorm_dfold_one for channels 0..channels-1. */
    void (*fold_backward)(const struct batchnorm_dfold *f, size_t channels,
                          const double *s1, const double *s2, float *p,
                          float *q, float *r);
};

SIMDNN_INTERNAL extern const struct batchnorm_ops batchnorm_ops_scalar;
SIMDNN_INTERNAL extern const struct batchnorm_ops batchnorm_ops_avx2;
SIMDNN_INTERNAL extern const struct batchnorm_ops batchnorm_ops_avx512;
SIMDNN_INTERNAL extern const struct batchnorm_ops batchnorm_ops_neon;

#endif /* SIMDNN_KERNELS_BATCHNORM_H */
