/*
 * Batch normalization front-end: argument checks, the dispatch table and
 * the positions of the shift samples (step 1 in scalar.c, which states the
 * whole algorithm; the kernels read them). The per-channel folding in
 * double (inference's a and b, steps 3-5 of training and backward) is an
 * ISA kernel (ops->fold_*): this unit is compiled for baseline x86-64,
 * where its scalar double loops cost as much as the vector work of a 7x7
 * channel.
 *
 * Channels are handled in chunks of CHUNK so that every per-channel
 * constant lives in a stack buffer: no allocation, hence no
 * SIMDNN_OUT_OF_MEMORY. Within a chunk the statistics are complete before
 * the first output of the chunk is written, which is what makes x == y
 * (and dx == dy) safe; chunks touch disjoint channels.
 */
#include <math.h>
#include <stdint.h>

#include "batchnorm/batchnorm.h"
#include "common/args.h"
#include "dispatch.h"
#include "kernels_built.h"

static const struct batchnorm_ops *const ops_table[SIMDNN_ISA_COUNT] = {
    [SIMDNN_ISA_SCALAR] = &batchnorm_ops_scalar,
#if SIMDNN_HAVE_BATCHNORM_AVX2
    [SIMDNN_ISA_AVX2] = &batchnorm_ops_avx2,
#endif
#if SIMDNN_HAVE_BATCHNORM_AVX512
    [SIMDNN_ISA_AVX512] = &batchnorm_ops_avx512,
#endif
#if SIMDNN_HAVE_BATCHNORM_NEON
    [SIMDNN_ISA_NEON] = &batchnorm_ops_neon,
#endif
};

static const struct batchnorm_ops *batchnorm_ops(void)
{
    const struct batchnorm_ops *ops =
        ops_table[simdnn_dispatch_isa(SIMDNN_FAMILY_BATCHNORM)];
    return ops != NULL ? ops : &batchnorm_ops_scalar;
}

/* Channels per chunk. The per-channel buffers of one call take at most
 * 17 KiB of stack (backward: 4 x 576 floats and 2 x 512 doubles), the
 * kernels' flat sums at most 14 KiB more (AVX-512, 32 phases). */
#define CHUNK 512
/* Inference folds up to this many channels per kernel call, so that NHWC
 * tensors of up to 1024 channels take the flat walk of contiguous rows
 * instead of one sweep per 512 channels (measured: 1x1024x14x14 NHWC 0.22
 * -> 0.16 ns/element). More is slower: 3 x 2048 constants no longer fit
 * L1 beside the data (1x2048x7x7: 0.145 in 1024-channel sweeps, 0.195 in
 * one). 9 KiB of stack. */
#define INFER_CHUNK 1024
/*
 * Outputs of at least this many bytes that do not alias an input are
 * written with non-temporal stores (BATCHNORM_STREAM): beyond about half
 * the 32 MiB L3 of the Zen 3 this was measured on, regular stores pay a
 * read for ownership of every line and evict the input; below it, they
 * leave the output in cache for the next layer and are faster.
 */
#define STREAM_BYTES ((size_t)16 << 20)
/*
 * NCHW training and backward take channels in groups whose data fit in
 * about half the 512 KiB L2: the statistics pass brings a group's planes
 * into L2 and the output pass reads them from there, so x crosses the
 * memory bus once (and dy once for the backward).
 */
#define FUSE_BYTES ((size_t)256 << 10)

/*
 * The rows view's output pass goes over blocks of REVERSE_BLOCK_BYTES of
 * rows (per tensor it reads), from the last block to the first, when the
 * tensors it reads exceed REVERSE_MIN_BYTES: the statistics pass has just
 * read them from the first row to the last, so what the L3 still holds
 * of them is their end, which the output pass then reads first, before
 * its own reads evict it. Measured (scripts/ab.sh, minimum of 9-15
 * interleaved rounds, 4 runs): NHWC training at N=32, C=64, 56x56
 * (25.7 MB, DRAM) 1.10-1.18x faster, 0.668 -> 0.565-0.605 ns/element;
 * backward 1.02-1.08x. Tensors the L3 holds whole gain nothing and lost
 * up to 5% to the extra calls at 1 MiB, hence the 8 MiB threshold.
 * Blocks of 1 MiB did no better than 256 KiB. (The long softmax rows'
 * second pass, tried the same way, is bound by its exps, not by memory:
 * 0.96x.)
 */
#define REVERSE_MIN_BYTES ((size_t)8 << 20)
#define REVERSE_BLOCK_BYTES ((size_t)256 << 10)

/* ---- argument checks ---- */

/* One buffer an entry point touches. Buffers of the same nonzero `group`
 * may be exactly the same buffer (the documented in-place pairs). */
struct region {
    const char *name;
    const void *p;
    size_t elems;
    bool output;
    int group;
};

static simdnn_status check_regions(const char *fn, const struct region *r,
                                   int count)
{
    for (int i = 0; i < count; i++) {
        size_t span;
        if (r[i].elems != 0 && r[i].p == NULL)
            return simdnn_invalid(fn, "%s is NULL but holds %zu floats",
                                  r[i].name, r[i].elems);
        if (!args_span(r[i].p, 1, r[i].elems, 0, &span))
            return simdnn_invalid(fn,
                                  "%s: %zu floats overflow the address "
                                  "space",
                                  r[i].name, r[i].elems);
    }
    for (int i = 0; i < count; i++) {
        if (!r[i].output)
            continue;
        for (int j = 0; j < count; j++) {
            if (j == i || !args_overlap(r[i].p, r[i].elems, r[j].p, r[j].elems))
                continue;
            if (r[i].group != 0 && r[i].group == r[j].group && r[i].p == r[j].p)
                continue;
            return simdnn_invalid(fn, "%s (%p) overlaps %s (%p)%s", r[i].name,
                                  r[i].p, r[j].name, r[j].p,
                                  r[i].group != 0 && r[i].group == r[j].group
                                      ? " other than exactly"
                                      : "");
        }
    }
    return SIMDNN_SUCCESS;
}

/* Layout, sizes and eps; *total = n*c*spatial, *count = n*spatial. */
static simdnn_status check_shape(const char *fn, size_t n, size_t c,
                                 size_t spatial, simdnn_layout layout,
                                 float eps, size_t *total, size_t *count)
{
    if (layout != SIMDNN_NCHW && layout != SIMDNN_NHWC)
        return simdnn_invalid(fn,
                              "layout %d is neither SIMDNN_NCHW nor "
                              "SIMDNN_NHWC",
                              (int)layout);
    if (!(eps > 0.0f))
        return simdnn_invalid(fn, "eps %g must be positive", (double)eps);
    size_t bytes;
    if (!args_mul(n, spatial, count) || !args_mul(*count, c, total) ||
        !args_mul(*total, sizeof(float), &bytes))
        return simdnn_invalid(fn,
                              "n %zu x c %zu x spatial %zu floats "
                              "overflow size_t",
                              n, c, spatial);
    return SIMDNN_SUCCESS;
}

/* ---- the tensor views (batchnorm.h) ---- */

/* NCHW with spatial 1 is the same memory as NHWC: use the row kernels. */
static bool use_planes(simdnn_layout layout, size_t spatial)
{
    return layout == SIMDNN_NCHW && spatial > 1;
}

/* The periodic extension of the map constants (batchnorm.h) for the
 * contiguous rows view. */
static void extend(float *v, size_t cc)
{
    /* v[j - cc] is v[j % cc], already in place: no division per entry
     * (4 x 64 of them were a tenth of a 7x7 training call). */
    for (size_t j = cc; j < cc + BATCHNORM_PAD; j++)
        v[j] = v[j - cc];
}

/* Channels per group: all of a chunk, or for the fused NCHW passes as
 * many as fit FUSE_BYTES (at least one). */
static size_t group_size(bool planes, size_t count, size_t tensors)
{
    if (!planes)
        return CHUNK;
    size_t bytes = count * sizeof(float) * tensors;
    size_t g = bytes == 0 ? CHUNK : FUSE_BYTES / bytes;
    return g < 1 ? 1 : g > CHUNK ? CHUNK : g;
}

static bool stream_output(const float *in, const float *out, size_t total)
{
    return in != out && total >= STREAM_BYTES / sizeof(float);
}

/* Step 1: where the samples of the shift k lie (batchnorm.h), the
 * BATCHNORM_SAMPLES elements evenly spread over each channel, as offsets
 * in the view the moments kernel gets (image_stride c*spatial for planes,
 * row stride c for rows). The kernels read them: here, in baseline
 * x86-64 code and a pass of its own, the 8 strided loads per channel were
 * the first touch of every plane and a quarter of a 7x7 training call. */
static void shift_samples(size_t c, size_t spatial, bool planes, size_t count,
                          struct batchnorm_samples *sp)
{
    size_t samples = count < BATCHNORM_SAMPLES ? count : BATCHNORM_SAMPLES;
    size_t step = count / samples;
    sp->count = samples;
    for (size_t s = 0; s < samples; s++) {
        size_t i = s * step + step / 2; /* element i of the channel */
        sp->at[s] = planes ? i / spatial * c * spatial + i % spatial : i * c;
    }
}

/* ---- inference ---- */

simdnn_status simdnn_batchnorm_inference_f32(
    const float *x, float *y, size_t n, size_t c, size_t spatial,
    simdnn_layout layout, const float *gamma, const float *beta,
    const float *mean, const float *var, float eps, unsigned flags)
{
    static const char fn[] = "simdnn_batchnorm_inference_f32";
    size_t total = 0, count = 0;
    simdnn_status st =
        check_shape(fn, n, c, spatial, layout, eps, &total, &count);
    if (st != SIMDNN_SUCCESS)
        return st;
    if (flags & ~SIMDNN_BATCHNORM_FUSE_RELU)
        return simdnn_invalid(fn, "unknown flag bits 0x%x",
                              flags & ~SIMDNN_BATCHNORM_FUSE_RELU);
    const struct region regions[] = {
        {"x", x, total, false, 1},
        {"y", y, total, true, 1},
        {"gamma", gamma, gamma ? c : 0, false, 0},
        {"beta", beta, beta ? c : 0, false, 0},
        {"mean", mean, c, false, 0},
        {"var", var, c, false, 0},
    };
    st = check_regions(fn, regions, 6);
    if (st != SIMDNN_SUCCESS || total == 0)
        return st;

    const struct batchnorm_ops *ops = batchnorm_ops();
    bool planes = use_planes(layout, spatial);
    unsigned mode = (flags & SIMDNN_BATCHNORM_FUSE_RELU ? BATCHNORM_RELU : 0) |
                    (stream_output(x, y, total) ? BATCHNORM_STREAM : 0);
    static const float zero[INFER_CHUNK + BATCHNORM_PAD];
    float a[INFER_CHUNK + BATCHNORM_PAD], b[INFER_CHUNK + BATCHNORM_PAD];
    for (size_t c0 = 0; c0 < c; c0 += INFER_CHUNK) {
        size_t cc = c - c0 < INFER_CHUNK ? c - c0 : INFER_CHUNK;
        /* Step 4's constants with mean_hi = 0, in double (vectors of
         * doubles in the ISA units). */
        ops->fold_inference(gamma ? gamma + c0 : NULL, beta ? beta + c0 : NULL,
                            mean + c0, var + c0, eps, cc, a, b);
        if (planes) {
            ops->apply_planes(x + c0 * spatial, y + c0 * spatial, n,
                              c * spatial, cc, spatial, zero, a, b, mode);
        } else {
            if (cc == c) {
                extend(a, cc);
                extend(b, cc);
            }
            ops->apply_rows(x + c0, y + c0, count, cc, c, zero, a, b, mode);
        }
    }
    return SIMDNN_SUCCESS;
}

/* Rows per block of the reversed output pass, `cc` floats of a row read
 * in each of `tensors` tensors: all of them below REVERSE_MIN_BYTES. */
static size_t reverse_block(size_t rows, size_t cc, size_t tensors)
{
    size_t row_bytes = cc * sizeof(float) * tensors;
    if (rows * row_bytes <= REVERSE_MIN_BYTES)
        return rows;
    size_t block = REVERSE_BLOCK_BYTES / row_bytes;
    return block < 1 ? 1 : block;
}

static void apply_rows_reversed(const struct batchnorm_ops *ops, const float *x,
                                float *y, size_t rows, size_t cc, size_t c,
                                const float *m, const float *a, const float *b,
                                unsigned mode)
{
    size_t block = reverse_block(rows, cc, 1);
    for (size_t end = rows; end > 0;) {
        size_t start = end > block ? end - block : 0;
        ops->apply_rows(x + start * c, y + start * c, end - start, cc, c, m, a,
                        b, mode);
        end = start;
    }
}

static void dapply_rows_reversed(const struct batchnorm_ops *ops,
                                 const float *x, const float *dy, float *dx,
                                 size_t rows, size_t cc, size_t c,
                                 const float *m, const float *p, const float *q,
                                 const float *r, unsigned mode)
{
    size_t block = reverse_block(rows, cc, 2);
    for (size_t end = rows; end > 0;) {
        size_t start = end > block ? end - block : 0;
        ops->dapply_rows(x + start * c, dy + start * c, dx + start * c,
                         end - start, cc, c, m, p, q, r, mode);
        end = start;
    }
}

/* ---- training forward ---- */

simdnn_status simdnn_batchnorm_training_f32(
    const float *x, float *y, size_t n, size_t c, size_t spatial,
    simdnn_layout layout, const float *gamma, const float *beta, float eps,
    float momentum, float *batch_mean, float *batch_var, float *running_mean,
    float *running_var, unsigned flags)
{
    static const char fn[] = "simdnn_batchnorm_training_f32";
    size_t total = 0, count = 0;
    simdnn_status st =
        check_shape(fn, n, c, spatial, layout, eps, &total, &count);
    if (st != SIMDNN_SUCCESS)
        return st;
    if (flags & ~SIMDNN_BATCHNORM_FUSE_RELU)
        return simdnn_invalid(fn, "unknown flag bits 0x%x",
                              flags & ~SIMDNN_BATCHNORM_FUSE_RELU);
    if (!(momentum >= 0.0f && momentum <= 1.0f))
        return simdnn_invalid(fn, "momentum %g is outside [0, 1]",
                              (double)momentum);
    if (c > 0 && count == 0)
        return simdnn_invalid(fn,
                              "n %zu x spatial %zu is 0: %zu channels "
                              "have no statistics",
                              n, spatial, c);
    if ((running_mean == NULL) != (running_var == NULL))
        return simdnn_invalid(fn,
                              "running_mean %p and running_var %p must "
                              "be both NULL or both set",
                              (void *)running_mean, (void *)running_var);
    size_t rc = running_mean ? c : 0;
    const struct region regions[] = {
        {"x", x, total, false, 1},
        {"y", y, total, true, 1},
        {"gamma", gamma, gamma ? c : 0, false, 0},
        {"beta", beta, beta ? c : 0, false, 0},
        {"batch_mean", batch_mean, c, true, 0},
        {"batch_var", batch_var, c, true, 0},
        {"running_mean", running_mean, rc, true, 0},
        {"running_var", running_var, rc, true, 0},
    };
    st = check_regions(fn, regions, 8);
    if (st != SIMDNN_SUCCESS || c == 0)
        return st;

    const struct batchnorm_ops *ops = batchnorm_ops();
    bool planes = use_planes(layout, spatial);
    unsigned mode = (flags & SIMDNN_BATCHNORM_FUSE_RELU ? BATCHNORM_RELU : 0) |
                    (stream_output(x, y, total) ? BATCHNORM_STREAM : 0);
    size_t group = group_size(planes, count, 1);
    double cnt = (double)count;
    struct batchnorm_fold fold = {
        .inv_cnt = 1.0 / cnt,
        .unbias = count > 1 ? cnt / (cnt - 1.0) : 1.0,
        .keep = momentum,
        .eps = eps,
        .gamma = gamma,
        .beta = beta,
        .batch_mean = batch_mean,
        .batch_var = batch_var,
        .running_mean = running_mean,
        .running_var = running_var,
    };
    float k[CHUNK], m[CHUNK + BATCHNORM_PAD], a[CHUNK + BATCHNORM_PAD];
    float b[CHUNK + BATCHNORM_PAD];
    double s1[CHUNK], s2[CHUNK];
    struct batchnorm_samples samples;
    shift_samples(c, spatial, planes, count, &samples);
    for (size_t c0 = 0; c0 < c; c0 += group) {
        size_t cc = c - c0 < group ? c - c0 : group;

        /* Steps 1 and 2: shifts, then one pass of shifted sums. */
        if (planes)
            ops->moments_planes(x + c0 * spatial, n, c * spatial, cc, spatial,
                                &samples, k, s1, s2);
        else
            ops->moments_rows(x + c0, count, cc, c, &samples, k, s1, s2);

        /* Step 3, the running averages and the folding of step 4, in
         * double (vectors of doubles in the ISA units). */
        ops->fold_training(&fold, cc, k, s1, s2, m, a, b);
        fold.batch_mean += cc;
        fold.batch_var += cc;
        fold.gamma = gamma ? fold.gamma + cc : NULL;
        fold.beta = beta ? fold.beta + cc : NULL;
        if (running_mean != NULL) {
            fold.running_mean += cc;
            fold.running_var += cc;
        }

        /* Step 4. */
        if (planes) {
            ops->apply_planes(x + c0 * spatial, y + c0 * spatial, n,
                              c * spatial, cc, spatial, m, a, b, mode);
        } else {
            if (cc == c) {
                extend(m, cc);
                extend(a, cc);
                extend(b, cc);
            }
            apply_rows_reversed(ops, x + c0, y + c0, count, cc, c, m, a, b,
                                mode);
        }
    }
    return SIMDNN_SUCCESS;
}

/* ---- backward ---- */

simdnn_status simdnn_batchnorm_backward_f32(
    const float *x, const float *dy, float *dx, size_t n, size_t c,
    size_t spatial, simdnn_layout layout, const float *gamma, const float *mean,
    const float *var, float eps, float *dgamma, float *dbeta)
{
    static const char fn[] = "simdnn_batchnorm_backward_f32";
    size_t total = 0, count = 0;
    simdnn_status st =
        check_shape(fn, n, c, spatial, layout, eps, &total, &count);
    if (st != SIMDNN_SUCCESS)
        return st;
    if (c > 0 && count == 0)
        return simdnn_invalid(fn,
                              "n %zu x spatial %zu is 0: %zu channels "
                              "have no statistics",
                              n, spatial, c);
    const struct region regions[] = {
        {"x", x, total, false, 0},
        {"dy", dy, total, false, 1},
        {"dx", dx, total, true, 1},
        {"gamma", gamma, gamma ? c : 0, false, 0},
        {"mean", mean, c, false, 0},
        {"var", var, c, false, 0},
        {"dgamma", dgamma, dgamma ? c : 0, true, 0},
        {"dbeta", dbeta, dbeta ? c : 0, true, 0},
    };
    st = check_regions(fn, regions, 8);
    if (st != SIMDNN_SUCCESS || c == 0)
        return st;

    const struct batchnorm_ops *ops = batchnorm_ops();
    bool planes = use_planes(layout, spatial);
    unsigned mode = stream_output(dy, dx, total) ? BATCHNORM_STREAM : 0;
    size_t group = group_size(planes, count, 2);
    struct batchnorm_dfold fold = {
        .inv_cnt = 1.0 / (double)count,
        .eps = eps,
        .gamma = gamma,
        .var = var,
        .dgamma = dgamma,
        .dbeta = dbeta,
    };
    float m[CHUNK + BATCHNORM_PAD], p[CHUNK + BATCHNORM_PAD];
    float q[CHUNK + BATCHNORM_PAD], r[CHUNK + BATCHNORM_PAD];
    double s1[CHUNK], s2[CHUNK];
    for (size_t c0 = 0; c0 < c; c0 += group) {
        size_t cc = c - c0 < group ? c - c0 : group;
        for (size_t j = 0; j < cc; j++)
            m[j] = mean[c0 + j];

        /* Step 5: the sums, then per-channel constants in double. */
        if (planes)
            ops->dsums_planes(x + c0 * spatial, dy + c0 * spatial, n,
                              c * spatial, cc, spatial, m, s1, s2);
        else
            ops->dsums_rows(x + c0, dy + c0, count, cc, c, m, s1, s2);
        ops->fold_backward(&fold, cc, s1, s2, p, q, r);
        fold.var += cc;
        fold.gamma = gamma ? fold.gamma + cc : NULL;
        fold.dgamma = dgamma ? fold.dgamma + cc : NULL;
        fold.dbeta = dbeta ? fold.dbeta + cc : NULL;

        if (planes) {
            ops->dapply_planes(x + c0 * spatial, dy + c0 * spatial,
                               dx + c0 * spatial, n, c * spatial, cc, spatial,
                               m, p, q, r, mode);
        } else {
            if (cc == c) {
                extend(m, cc);
                extend(p, cc);
                extend(q, cc);
                extend(r, cc);
            }
            dapply_rows_reversed(ops, x + c0, dy + c0, dx + c0, count, cc, c, m,
                                 p, q, r, mode);
        }
    }
    return SIMDNN_SUCCESS;
}
