/*
 * Batch normalization, scalar reference kernels (the production fallback
 * and the statement of the algorithm that the SIMD units mirror).
 *
 * The algorithm, split between api.c (where the shift samples lie), the
 * per-channel folding in double (fold_*, stated per channel in
 * batchnorm.h so that every unit runs the same operations; the SIMD units
 * in vectors of doubles) and the streaming kernels (per element, in
 * float):
 *
 * 1. Shift (moments_*, with batchnorm_shift_one of batchnorm.h; api.c
 *    places the samples). For each channel pick k, the float nearest the
 *    mean of 8 samples spread evenly over the channel, read by the moments
 *    kernel just before the channel's sums (as a pass of its own over all
 *    the channels first, it was a quarter of a 7x7 training call).
 *    Centring on a value close to the mean is what makes one pass stable:
 *    x - k is of the size of the standard deviation, not of the mean, so
 *    nothing large cancels in float. (k need not be the mean; any value
 *    within a few standard deviations keeps the bounds below. 8 samples
 *    put it within about std/3 for ordinary data at a cost of 8 reads per
 *    channel.)
 *
 * 2. Moments (moments_*). s1 = sum(x - k) and s2 = sum((x - k)^2). Each
 *    float accumulator takes at most BATCHNORM_BLOCK (8) additions, then
 *    is added into a double. The SIMD units add at most 2 more float
 *    additions per term before the double: the planes view sums its 4
 *    unrolled accumulators pairwise (8 + 2); the rows view chains the
 *    float sums of sub-blocks of at most 6 rows (4 for the gradient sums
 *    at some strides) over 24-row super-blocks, so a term goes through
 *    its accumulator and the chain, 6 + 3 or 4 + 5 (avx2.c, reduce_rows).
 *    A float sum of j positive terms is off by at most (j - 1)*2^-24
 *    relative, and so is a nest of float sums in which every term goes
 *    through at most j additions (the first one, into 0, is exact), so
 *    with j <= 10 and the rounding of the square and of x - k, s2 is
 *    within about 6.6e-7 relative of the exact sum, whatever the
 *    channel's length (2^22 elements or more: the double sums add nothing
 *    measurable). In the planes view the cost of the flushes is one
 *    conversion and one double addition per 8 vectors, hidden behind the
 *    memory stream; in the rows view a flush is a read-modify-write of
 *    the channels' double sums, as costly as 8 rows of the data's own
 *    arithmetic, hence the chaining there.
 *
 * 3. Statistics (fold_training, double). mean = k + s1/count and the biased
 *    variance var = s2/count - (s1/count)^2, clamped at 0. The subtraction
 *    is harmless because k is near the mean: (s1/count)^2 is a small part
 *    of s2/count.
 *
 * 4. Normalization (apply_*). With mean_hi = (float)mean,
 *    a = gamma/sqrt(var + eps) and b = beta - (mean - mean_hi)*a (double,
 *    then rounded once to float), y = fma(x - mean_hi, a, b). For data far
 *    from zero (x near 100, spread 2) x - mean_hi is exact (Sterbenz) and
 *    small, so the output keeps full float precision, where the folded
 *    form x*a + (beta - mean*a) would lose about 6 bits to cancellation.
 *    Inference uses the same kernel with mean_hi = 0 and
 *    b = beta - mean*a (fold_inference), which is exactly the documented
 *    x*a + b.
 *
 * 5. Backward (dsums_*, then dapply_*). With m the saved float mean,
 *    s1 = sum(dy) and s2 = sum(dy*(x - m)), accumulated as in step 2.
 *    fold_backward forms dbeta = s1, dgamma = s2*inv_std and, per channel,
 *    p = gamma*inv_std, q = -p*inv_std*dgamma/count, r = -p*dbeta/count,
 *    so dx = fma(x - m, q, fma(dy, p, r)), two FMAs per element.
 *
 * Floors (Zen 3, one core; measured numbers in avx2.c): inference moves
 * 8 bytes per element from and to memory (read x, write y). Training moves
 * 8 in NCHW, where api.c runs steps 2-4 per group of channels that fits in
 * L2 so that the second read of x hits L2, and 12 in NHWC (x read twice:
 * every row is needed before the first output). Backward moves 12 in NCHW
 * (x and dy once, dx) and 20 in NHWC. Arithmetic is 1 to 4 flops per
 * element against 16 flops per cycle per core, far from being the limit.
 *
 * This unit is compiled with -ffp-contract=off: fmaf() is written where
 * the algorithm fuses, and nowhere else is a product contracted.
 */
#include <math.h>

#include "batchnorm/batchnorm.h"

/* Step 4: one output. ReLU keeps NaN (as max(0, y) does on x86). The
 * stream hint of the mode has no meaning here. */
static float apply_one(float x, float m, float a, float b, bool relu)
{
    float y = fmaf(x - m, a, b);
    return relu && y < 0.0f ? 0.0f : y;
}

static void apply_planes_scalar(const float *x, float *y, size_t images,
                                size_t image_stride, size_t channels,
                                size_t spatial, const float *m, const float *a,
                                const float *b, unsigned mode)
{
    bool relu = (mode & BATCHNORM_RELU) != 0;
    for (size_t i = 0; i < images; i++) {
        const float *xi = x + i * image_stride;
        float *yi = y + i * image_stride;
        for (size_t c = 0; c < channels; c++) {
            const float *xp = xi + c * spatial;
            float *yp = yi + c * spatial;
            for (size_t s = 0; s < spatial; s++)
                yp[s] = apply_one(xp[s], m[c], a[c], b[c], relu);
        }
    }
}

static void apply_rows_scalar(const float *x, float *y, size_t rows,
                              size_t channels, size_t stride, const float *m,
                              const float *a, const float *b, unsigned mode)
{
    bool relu = (mode & BATCHNORM_RELU) != 0;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * stride;
        float *yr = y + r * stride;
        for (size_t c = 0; c < channels; c++)
            yr[c] = apply_one(xr[c], m[c], a[c], b[c], relu);
    }
}

/* Step 2 for one float accumulator pair: at most BATCHNORM_BLOCK float
 * additions, then flushed into the double sums. */
struct block_sums {
    float f1, f2;
    unsigned terms;
    double d1, d2;
};

static void block_add(struct block_sums *acc, float t1, float t2)
{
    acc->f1 += t1;
    acc->f2 += t2;
    if (++acc->terms == BATCHNORM_BLOCK) {
        acc->d1 += acc->f1;
        acc->d2 += acc->f2;
        acc->f1 = acc->f2 = 0.0f;
        acc->terms = 0;
    }
}

static void block_finish(const struct block_sums *acc, double *s1, double *s2)
{
    *s1 = acc->d1 + acc->f1;
    *s2 = acc->d2 + acc->f2;
}

static void moments_planes_scalar(const float *x, size_t images,
                                  size_t image_stride, size_t channels,
                                  size_t spatial,
                                  const struct batchnorm_samples *sp, float *k,
                                  double *s1, double *s2)
{
    for (size_t c = 0; c < channels; c++) {
        k[c] = batchnorm_shift_one(x + c * spatial, sp);
        struct block_sums acc = {0};
        for (size_t i = 0; i < images; i++) {
            const float *xp = x + i * image_stride + c * spatial;
            for (size_t s = 0; s < spatial; s++) {
                float u = xp[s] - k[c];
                block_add(&acc, u, u * u);
            }
        }
        block_finish(&acc, &s1[c], &s2[c]);
    }
}

static void moments_rows_scalar(const float *x, size_t rows, size_t channels,
                                size_t stride,
                                const struct batchnorm_samples *sp, float *k,
                                double *s1, double *s2)
{
    for (size_t c = 0; c < channels; c++) {
        k[c] = batchnorm_shift_one(x + c, sp);
        struct block_sums acc = {0};
        for (size_t r = 0; r < rows; r++) {
            float u = x[r * stride + c] - k[c];
            block_add(&acc, u, u * u);
        }
        block_finish(&acc, &s1[c], &s2[c]);
    }
}

/* Step 5, the sums. */
static void dsums_planes_scalar(const float *x, const float *dy, size_t images,
                                size_t image_stride, size_t channels,
                                size_t spatial, const float *m, double *s1,
                                double *s2)
{
    for (size_t c = 0; c < channels; c++) {
        struct block_sums acc = {0};
        for (size_t i = 0; i < images; i++) {
            size_t at = i * image_stride + c * spatial;
            for (size_t s = 0; s < spatial; s++) {
                float g = dy[at + s];
                block_add(&acc, g, g * (x[at + s] - m[c]));
            }
        }
        block_finish(&acc, &s1[c], &s2[c]);
    }
}

static void dsums_rows_scalar(const float *x, const float *dy, size_t rows,
                              size_t channels, size_t stride, const float *m,
                              double *s1, double *s2)
{
    for (size_t c = 0; c < channels; c++) {
        struct block_sums acc = {0};
        for (size_t r = 0; r < rows; r++) {
            float g = dy[r * stride + c];
            block_add(&acc, g, g * (x[r * stride + c] - m[c]));
        }
        block_finish(&acc, &s1[c], &s2[c]);
    }
}

/* Step 5, dx. */
static float dapply_one(float x, float dy, float m, float p, float q, float r)
{
    return fmaf(x - m, q, fmaf(dy, p, r));
}

static void dapply_planes_scalar(const float *x, const float *dy, float *dx,
                                 size_t images, size_t image_stride,
                                 size_t channels, size_t spatial,
                                 const float *m, const float *p, const float *q,
                                 const float *r, unsigned mode)
{
    for (size_t i = 0; i < images; i++) {
        for (size_t c = 0; c < channels; c++) {
            size_t at = i * image_stride + c * spatial;
            for (size_t s = 0; s < spatial; s++)
                dx[at + s] =
                    dapply_one(x[at + s], dy[at + s], m[c], p[c], q[c], r[c]);
        }
    }
}

static void dapply_rows_scalar(const float *x, const float *dy, float *dx,
                               size_t rows, size_t channels, size_t stride,
                               const float *m, const float *p, const float *q,
                               const float *r, unsigned mode)
{
    for (size_t row = 0; row < rows; row++) {
        size_t at = row * stride;
        for (size_t c = 0; c < channels; c++)
            dx[at + c] =
                dapply_one(x[at + c], dy[at + c], m[c], p[c], q[c], r[c]);
    }
}

/* Steps 3-5 and inference's step 4, the folding (batchnorm.h states it
 * per channel). */
static void fold_inference_scalar(const float *gamma, const float *beta,
                                  const float *mean, const float *var,
                                  float eps, size_t channels, float *a,
                                  float *b)
{
    for (size_t j = 0; j < channels; j++)
        batchnorm_ifold_one(gamma, beta, mean, var, eps, j, &a[j], &b[j]);
}

static void fold_training_scalar(const struct batchnorm_fold *f,
                                 size_t channels, const float *k,
                                 const double *s1, const double *s2, float *m,
                                 float *a, float *b)
{
    for (size_t j = 0; j < channels; j++)
        batchnorm_fold_one(f, j, k[j], s1[j], s2[j], &m[j], &a[j], &b[j]);
}

static void fold_backward_scalar(const struct batchnorm_dfold *f,
                                 size_t channels, const double *s1,
                                 const double *s2, float *p, float *q, float *r)
{
    for (size_t j = 0; j < channels; j++)
        batchnorm_dfold_one(f, j, s1[j], s2[j], &p[j], &q[j], &r[j]);
}

const struct batchnorm_ops batchnorm_ops_scalar = {
    .apply_planes = apply_planes_scalar,
    .apply_rows = apply_rows_scalar,
    .moments_planes = moments_planes_scalar,
    .moments_rows = moments_rows_scalar,
    .dsums_planes = dsums_planes_scalar,
    .dsums_rows = dsums_rows_scalar,
    .dapply_planes = dapply_planes_scalar,
    .dapply_rows = dapply_rows_scalar,
    .fold_inference = fold_inference_scalar,
    .fold_training = fold_training_scalar,
    .fold_backward = fold_backward_scalar,
};
