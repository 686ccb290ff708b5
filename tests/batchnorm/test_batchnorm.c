/*
 * Batch-normalization tests, run once per ISA (test_batchnorm --isa NAME).
 *
 * Every case compares the library with the double oracle (oracle.c) under
 * the bounds the header documents. Every buffer the library touches is a
 * guarded buffer (test_util.h), drawn by guarded_misalign: half of them end
 * exactly at a PROT_NONE page, so that any over-read or over-write past the
 * end faults; the others start at a random misalignment, and a write into
 * the canaries after their end fails the case.
 *
 * Cases:
 * - inference, training and backward over the shape matrix (tails of
 *   spatial 1..129 and of channels 1..129, i.e. 2*64+1 with 64 the largest
 *   tile (AVX-512: 4 vectors of 16), 7x7, 14x14, 28x28, 56x56, 1x1, C = 3,
 *   17, 64, 1000, chunk-crossing channel counts, n = 1..3), both layouts,
 *   each with its variants (ReLU, NULL gamma/beta, in place, momentum 0,
 *   0.9 and 1, no running statistics, NULL dgamma/dbeta);
 * - statistics compared exactly on inputs whose mean and variance are
 *   exactly representable;
 * - stability: mean 1e4 * std, mean 100 with std 2 (checked against a
 *   bound in terms of the normalized output, far tighter than the general
 *   one), and one channel of 2^22 elements;
 * - constant channels and count 1 (variance 0): no NaN, outputs beta;
 * - a NaN stays in its channel (training, backward) or its element
 *   (inference);
 * - outputs of 16 MiB and more (non-temporal stores on x86), odd shapes;
 * - splitting inference over image ranges gives bitwise the same result,
 *   and so does y at any offset from x modulo 4 KiB;
 * - every invalid argument the header lists returns
 *   SIMDNN_INVALID_ARGUMENT with every output untouched (canaries).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle.h"
#include "test_util.h"

/* ---- buffers ---- */

typedef struct gbuf {
    float *p;
    size_t count, misalign;
} gbuf;

static gbuf gb_new(size_t count, test_rng *rng)
{
    gbuf b;
    b.count = count;
    b.misalign = guarded_misalign(rng);
    b.p = guarded_alloc(count, b.misalign);
    return b;
}

static void gb_free(gbuf *b)
{
    guarded_free(b->p, b->count, b->misalign);
    b->p = NULL;
}

static double *dalloc(size_t count)
{
    double *p = calloc(count ? count : 1, sizeof(double));
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        abort();
    }
    return p;
}

static const char *layout_name(simdnn_layout layout)
{
    return layout == SIMDNN_NCHW ? "NCHW" : "NHWC";
}

/* Mean 0, variance 1, bell-shaped (the sum of four uniforms, from one
 * 64-bit draw): far cheaper than Box-Muller, which dominated the run time
 * under emulation, and as good for these tests. */
static double rng_bell(test_rng *rng)
{
    uint64_t bits = rng_next(rng);
    double sum = 0.0;
    for (int i = 0; i < 4; i++, bits >>= 16)
        sum += (double)(bits & 0xFFFF) + 0.5;
    return (sum * 0x1p-16 - 2.0) * 1.7320508075688772; /* sqrt(3) */
}

/* x[i][ch][s] = mu[ch] + sd[ch] * (a draw of mean 0, variance 1). */
static void fill_tensor(float *x, size_t n, size_t c, size_t spatial,
                        simdnn_layout layout, const double *mu,
                        const double *sd, test_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        for (size_t ch = 0; ch < c; ch++)
            for (size_t s = 0; s < spatial; s++)
                x[bn_index(layout, c, spatial, i, ch, s)] =
                    (float)(mu[ch] + sd[ch] * rng_bell(rng));
}

static void fill_uniform(float *p, size_t count, double lo, double hi,
                         test_rng *rng)
{
    for (size_t i = 0; i < count; i++)
        p[i] = (float)rng_uniform(rng, lo, hi);
}

/* Checks |got - want| <= bound elementwise; one CHECK per call. */
static void check_close(const char *what, const float *got,
                        const double *want, const double *bound,
                        size_t count, const char *ctx)
{
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < count; i++) {
        double err = fabs((double)got[i] - want[i]);
        if (!(err <= bound[i])) {
            if (bad++ == 0)
                first = i;
        }
    }
    CHECK(bad == 0,
          "%s %s: %zu of %zu out of bound; first [%zu]: got %.9g want "
          "%.9g err %.3g bound %.3g",
          ctx, what, bad, count, first, bad ? got[first] : 0.0,
          bad ? want[first] : 0.0,
          bad ? fabs((double)got[first] - want[first]) : 0.0,
          bad ? bound[first] : 0.0);
}

/* ---- shapes ---- */

struct shape {
    size_t n, c, spatial;
};

/* The last two: NHWC row strides of a multiple of 4 KiB (the 512-channel
 * chunks of C = 1024 and 2048), which the SIMD units walk differently. */
static const struct shape matrix[] = {
    {1, 1, 1},     {1, 3, 1},     {2, 17, 1},    {3, 1000, 1},
    {2, 1100, 1},  {1, 3, 49},    {2, 17, 49},   {3, 3, 49},
    {2, 1000, 49}, {1, 17, 196},  {3, 3, 196},   {1, 1000, 196},
    {2, 3, 784},   {1, 17, 784},  {3, 17, 784},  {2, 64, 3136},
    {1, 513, 2},   {2, 600, 7},   {3, 1, 50},    {1, 2, 1},
    {1, 1024, 49}, {2, 2048, 3},
};
#define MATRIX_SHAPES (sizeof(matrix) / sizeof(matrix[0]))
#define TAIL_MAX 129 /* 2 * 64 + 1 */

/* Calls fn(shape, layout, variant, tag) over the matrix and the tails. */
static void for_each_shape(void (*fn)(struct shape, simdnn_layout, int,
                                      uint64_t))
{
    uint64_t tag = 1;
    for (int l = 0; l < 2; l++) {
        simdnn_layout layout = l ? SIMDNN_NHWC : SIMDNN_NCHW;
        for (size_t i = 0; i < MATRIX_SHAPES; i++)
            for (int v = 0; v < 4; v++)
                fn(matrix[i], layout, v, tag++);
        for (size_t t = 1; t <= TAIL_MAX; t++) {
            fn((struct shape){2, 2, t}, layout, (int)(t % 4), tag++);
            fn((struct shape){2, t, 3}, layout, (int)((t + 1) % 4), tag++);
        }
    }
}

static void random_channel_params(size_t c, double *mu, double *sd,
                                  test_rng *rng)
{
    for (size_t ch = 0; ch < c; ch++) {
        mu[ch] = rng_uniform(rng, -3.0, 3.0);
        sd[ch] = rng_uniform(rng, 0.25, 2.0);
    }
}

/* ---- inference ---- */

/* variant: 0 plain, 1 ReLU, 2 NULL gamma and beta, 3 in place + ReLU. */
static void inference_one(struct shape sh, simdnn_layout layout,
                          int variant, uint64_t tag)
{
    test_rng rng;
    test_rng_for(&rng, tag);
    size_t n = sh.n, c = sh.c, sp = sh.spatial, total = n * c * sp;
    bool relu = variant == 1 || variant == 3, in_place = variant == 3;
    bool no_affine = variant == 2;
    double *mu = dalloc(c), *sd = dalloc(c);
    random_channel_params(c, mu, sd, &rng);
    gbuf x = gb_new(total, &rng), y = gb_new(total, &rng);
    gbuf g = gb_new(c, &rng), be = gb_new(c, &rng);
    gbuf mean = gb_new(c, &rng), var = gb_new(c, &rng);
    fill_tensor(x.p, n, c, sp, layout, mu, sd, &rng);
    fill_uniform(g.p, c, -2.0, 2.0, &rng);
    fill_uniform(be.p, c, -1.0, 1.0, &rng);
    double *dmean = dalloc(c), *dvar = dalloc(c);
    for (size_t ch = 0; ch < c; ch++) {
        mean.p[ch] = (float)(mu[ch] + rng_uniform(&rng, -0.5, 0.5));
        var.p[ch] = (float)(sd[ch] * sd[ch] * rng_uniform(&rng, 0.5, 2.0));
        dmean[ch] = mean.p[ch];
        dvar[ch] = var.p[ch];
    }
    double *want = dalloc(total), *bound = dalloc(total);
    const float *gp = no_affine ? NULL : g.p, *bp = no_affine ? NULL : be.p;
    oracle_normalize(x.p, n, c, sp, layout, gp, bp, dmean, dvar, 1e-5f,
                     relu, want, bound);
    float *out = in_place ? x.p : y.p;
    simdnn_status st = simdnn_batchnorm_inference_f32(
        x.p, out, n, c, sp, layout, gp, bp, mean.p, var.p, 1e-5f,
        relu ? SIMDNN_BATCHNORM_FUSE_RELU : 0);
    char ctx[96];
    snprintf(ctx, sizeof(ctx), "inference %s n=%zu c=%zu sp=%zu v%d",
             layout_name(layout), n, c, sp, variant);
    if (CHECK(st == SIMDNN_SUCCESS, "%s: status %d", ctx, (int)st))
        check_close("y", out, want, bound, total, ctx);
    free(want);
    free(bound);
    free(dmean);
    free(dvar);
    free(mu);
    free(sd);
    gb_free(&x);
    gb_free(&y);
    gb_free(&g);
    gb_free(&be);
    gb_free(&mean);
    gb_free(&var);
}

static void test_inference_matrix(void) { for_each_shape(inference_one); }

/* ---- training forward ---- */

/* variant: 0 momentum 0.9 with running stats; 1 momentum 0, ReLU, NULL
 * gamma; 2 momentum 1, in place, NULL beta; 3 no running stats, NULL
 * gamma and beta. */
static void training_one(struct shape sh, simdnn_layout layout, int variant,
                         uint64_t tag)
{
    test_rng rng;
    test_rng_for(&rng, tag);
    size_t n = sh.n, c = sh.c, sp = sh.spatial, total = n * c * sp;
    size_t count = n * sp;
    static const float momenta[4] = {0.9f, 0.0f, 1.0f, 0.5f};
    float mom = momenta[variant];
    bool relu = variant == 1, in_place = variant == 2;
    bool running = variant != 3;
    const bool null_gamma = variant == 1 || variant == 3;
    const bool null_beta = variant == 2 || variant == 3;
    double *mu = dalloc(c), *sd = dalloc(c);
    random_channel_params(c, mu, sd, &rng);
    gbuf x = gb_new(total, &rng), y = gb_new(total, &rng);
    gbuf g = gb_new(c, &rng), be = gb_new(c, &rng);
    gbuf bm = gb_new(c, &rng), bv = gb_new(c, &rng);
    gbuf rm = gb_new(c, &rng), rv = gb_new(c, &rng);
    fill_tensor(x.p, n, c, sp, layout, mu, sd, &rng);
    fill_uniform(g.p, c, -2.0, 2.0, &rng);
    fill_uniform(be.p, c, -1.0, 1.0, &rng);
    fill_uniform(rm.p, c, -1.0, 1.0, &rng);
    fill_uniform(rv.p, c, 0.5, 2.0, &rng);
    float *rm0 = malloc(c * sizeof(float) + 4);
    float *rv0 = malloc(c * sizeof(float) + 4);
    if (c) {
        memcpy(rm0, rm.p, c * sizeof(float));
        memcpy(rv0, rv.p, c * sizeof(float));
    }
    double *om = dalloc(c), *ov = dalloc(c);
    oracle_stats(x.p, n, c, sp, layout, om, ov);
    double *want = dalloc(total), *bound = dalloc(total);
    const float *gp = null_gamma ? NULL : g.p, *bp = null_beta ? NULL : be.p;
    oracle_normalize(x.p, n, c, sp, layout, gp, bp, om, ov, 1e-5f, relu,
                     want, bound);
    oracle_train_bound(x.p, n, c, sp, layout, gp, bp, om, ov, 1e-5f, bound);
    float *out = in_place ? x.p : y.p;
    simdnn_status st = simdnn_batchnorm_training_f32(
        x.p, out, n, c, sp, layout, gp, bp, 1e-5f, mom, bm.p, bv.p,
        running ? rm.p : NULL, running ? rv.p : NULL,
        relu ? SIMDNN_BATCHNORM_FUSE_RELU : 0);
    char ctx[112];
    snprintf(ctx, sizeof(ctx), "training %s n=%zu c=%zu sp=%zu v%d",
             layout_name(layout), n, c, sp, variant);
    if (CHECK(st == SIMDNN_SUCCESS, "%s: status %d", ctx, (int)st)) {
        check_close("y", out, want, bound, total, ctx);
        size_t bad_m = 0, bad_v = 0, bad_r = 0, first = 0;
        for (size_t ch = 0; ch < c; ch++) {
            double sdev = sqrt(ov[ch]);
            if (!(fabs(bm.p[ch] - om[ch]) <= 1e-6 * (fabs(om[ch]) + sdev)))
                bad_m++, first = ch;
            if (!(fabs(bv.p[ch] - ov[ch]) <= 1e-6 * ov[ch]))
                bad_v++, first = ch;
            if (!running)
                continue;
            if (mom == 1.0f) {
                bad_r += memcmp(&rm.p[ch], &rm0[ch], 4) != 0 ||
                         memcmp(&rv.p[ch], &rv0[ch], 4) != 0;
                continue;
            }
            double m1 = 1.0 - mom;
            double unb = count > 1 ? ov[ch] * count / (count - 1.0) : ov[ch];
            double wm = mom * rm0[ch] + m1 * om[ch];
            double wv = mom * rv0[ch] + m1 * unb;
            double bmn = 1e-6 * (mom * fabs(rm0[ch]) +
                                 m1 * (fabs(om[ch]) + sdev)) +
                         6e-8 * fabs(wm);
            double bvr = 1e-6 * (mom * rv0[ch] + m1 * unb) + 6e-8 * wv;
            if (!(fabs(rm.p[ch] - wm) <= bmn) ||
                !(fabs(rv.p[ch] - wv) <= bvr))
                bad_r++, first = ch;
            if (mom == 0.0f && memcmp(&rm.p[ch], &bm.p[ch], 4) != 0)
                bad_r++, first = ch;
        }
        CHECK(bad_m == 0 && bad_v == 0 && bad_r == 0,
              "%s: stats bad mean %zu var %zu running %zu; channel %zu: "
              "mean %.9g want %.9g var %.9g want %.9g run %.9g/%.9g",
              ctx, bad_m, bad_v, bad_r, first, c ? bm.p[first] : 0.0,
              c ? om[first] : 0.0, c ? bv.p[first] : 0.0,
              c ? ov[first] : 0.0, c ? rm.p[first] : 0.0,
              c ? rv.p[first] : 0.0);
    }
    free(rm0);
    free(rv0);
    free(om);
    free(ov);
    free(want);
    free(bound);
    free(mu);
    free(sd);
    gb_free(&x);
    gb_free(&y);
    gb_free(&g);
    gb_free(&be);
    gb_free(&bm);
    gb_free(&bv);
    gb_free(&rm);
    gb_free(&rv);
}

static void test_training_matrix(void) { for_each_shape(training_one); }

/* ---- backward ---- */

/* variant: 0 everything; 1 NULL gamma; 2 dx == dy; 3 NULL dgamma and
 * dbeta. mean/var: the oracle's batch statistics rounded to float (as a
 * training forward saves them), with a perturbation on odd tags. */
static void backward_one(struct shape sh, simdnn_layout layout, int variant,
                         uint64_t tag)
{
    test_rng rng;
    test_rng_for(&rng, tag);
    size_t n = sh.n, c = sh.c, sp = sh.spatial, total = n * c * sp;
    double *mu = dalloc(c), *sd = dalloc(c);
    random_channel_params(c, mu, sd, &rng);
    gbuf x = gb_new(total, &rng), dy = gb_new(total, &rng);
    gbuf dx = gb_new(total, &rng), g = gb_new(c, &rng);
    gbuf mean = gb_new(c, &rng), var = gb_new(c, &rng);
    gbuf dg = gb_new(c, &rng), db = gb_new(c, &rng);
    fill_tensor(x.p, n, c, sp, layout, mu, sd, &rng);
    fill_uniform(dy.p, total, -1.0, 1.0, &rng);
    fill_uniform(g.p, c, -2.0, 2.0, &rng);
    double *om = dalloc(c), *ov = dalloc(c);
    oracle_stats(x.p, n, c, sp, layout, om, ov);
    for (size_t ch = 0; ch < c; ch++) {
        double jitter = tag & 1 ? rng_uniform(&rng, -0.1, 0.1) : 0.0;
        mean.p[ch] = (float)(om[ch] + jitter * sd[ch]);
        var.p[ch] = (float)(ov[ch] * (1.0 + jitter));
    }
    const float *gp = variant == 1 ? NULL : g.p;
    bool in_place = variant == 2, no_sums = variant == 3;
    double *wdx = dalloc(total), *bdx = dalloc(total);
    double *wdg = dalloc(c), *bdg = dalloc(c), *wdb = dalloc(c),
           *bdb = dalloc(c);
    oracle_backward(x.p, dy.p, n, c, sp, layout, gp, mean.p, var.p, 1e-5f,
                    wdx, bdx, wdg, bdg, wdb, bdb);
    float *out = in_place ? dy.p : dx.p;
    simdnn_status st = simdnn_batchnorm_backward_f32(
        x.p, dy.p, out, n, c, sp, layout, gp, mean.p, var.p, 1e-5f,
        no_sums ? NULL : dg.p, no_sums ? NULL : db.p);
    char ctx[96];
    snprintf(ctx, sizeof(ctx), "backward %s n=%zu c=%zu sp=%zu v%d",
             layout_name(layout), n, c, sp, variant);
    if (CHECK(st == SIMDNN_SUCCESS, "%s: status %d", ctx, (int)st)) {
        check_close("dx", out, wdx, bdx, total, ctx);
        if (!no_sums) {
            check_close("dgamma", dg.p, wdg, bdg, c, ctx);
            check_close("dbeta", db.p, wdb, bdb, c, ctx);
        }
    }
    free(wdx);
    free(bdx);
    free(wdg);
    free(bdg);
    free(wdb);
    free(bdb);
    free(om);
    free(ov);
    free(mu);
    free(sd);
    gb_free(&x);
    gb_free(&dy);
    gb_free(&dx);
    gb_free(&g);
    gb_free(&mean);
    gb_free(&var);
    gb_free(&dg);
    gb_free(&db);
}

static void test_backward_matrix(void) { for_each_shape(backward_one); }

/* ---- exactly representable statistics ---- */

/* Each channel holds count/2 values M + D and count/2 values M - D in a
 * random order, M a multiple of 1/8 below 100 in magnitude and D a power of
 * two in [1/8, 1]: the mean M and the variance D^2 are exact, and so is
 * every partial sum of the algorithm for power-of-two counts. */
static void test_exact_statistics(void)
{
    static const struct shape shapes[] = {
        {2, 5, 64}, {4, 17, 16}, {1, 3, 1024}, {8, 33, 1}, {2, 1000, 4},
        {16, 2, 1},
    };
    test_rng rng;
    test_rng_for(&rng, 0xE7AC7);
    for (int l = 0; l < 2; l++) {
        simdnn_layout layout = l ? SIMDNN_NHWC : SIMDNN_NCHW;
        for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
            size_t n = shapes[k].n, c = shapes[k].c, sp = shapes[k].spatial;
            size_t count = n * sp, total = n * c * sp;
            gbuf x = gb_new(total, &rng), y = gb_new(total, &rng);
            gbuf bm = gb_new(c, &rng), bv = gb_new(c, &rng);
            gbuf rm = gb_new(c, &rng), rv = gb_new(c, &rng);
            float *em = malloc(c * sizeof(float));
            float *ev = malloc(c * sizeof(float));
            float *vals = malloc(count * sizeof(float));
            for (size_t ch = 0; ch < c; ch++) {
                float mm = (float)((double)rng_below(&rng, 1600) - 800) / 8;
                float d = ldexpf(1.0f, -(int)rng_below(&rng, 4));
                em[ch] = mm;
                ev[ch] = d * d;
                for (size_t j = 0; j < count; j++)
                    vals[j] = j < count / 2 ? mm + d : mm - d;
                for (size_t j = count; j > 1; j--) {
                    size_t r = rng_below(&rng, j);
                    float t = vals[j - 1];
                    vals[j - 1] = vals[r];
                    vals[r] = t;
                }
                for (size_t j = 0; j < count; j++)
                    x.p[bn_index(layout, c, sp, j / sp, ch, j % sp)] =
                        vals[j];
            }
            fill_uniform(rm.p, c, -1, 1, &rng);
            fill_uniform(rv.p, c, 0.5, 2, &rng);
            simdnn_status st = simdnn_batchnorm_training_f32(
                x.p, y.p, n, c, sp, layout, NULL, NULL, 1e-3f, 0.0f, bm.p,
                bv.p, rm.p, rv.p, 0);
            CHECK(st == SIMDNN_SUCCESS, "status %d", (int)st);
            size_t bad = 0, first = 0;
            for (size_t ch = 0; ch < c; ch++)
                if (bm.p[ch] != em[ch] || bv.p[ch] != ev[ch] ||
                    rm.p[ch] != em[ch])
                    bad++, first = ch;
            CHECK(bad == 0,
                  "exact stats %s n=%zu c=%zu sp=%zu: %zu channels differ; "
                  "ch %zu mean %.9g want %.9g var %.9g want %.9g",
                  layout_name(layout), n, c, sp, bad, first, bm.p[first],
                  em[first], bv.p[first], ev[first]);
            free(em);
            free(ev);
            free(vals);
            gb_free(&x);
            gb_free(&y);
            gb_free(&bm);
            gb_free(&bv);
            gb_free(&rm);
            gb_free(&rv);
        }
    }
}

/* ---- stability ---- */

/*
 * Data far from zero: mean `center` and standard deviation `spread` (per
 * channel jittered a little). Statistics must meet the 1e-6 bounds, and
 * outputs a bound in terms of the normalized output:
 *   |y - want| <= 1e-6 * (|gamma*xhat| + |beta| + |gamma|),
 * which is what "data far from zero stay exact" means: folding the mean
 * into one float constant b = beta - mean*a loses up to |mean*a|*2^-24,
 * 3e-6*|gamma| at mean 100 and std 2, three times this bound.
 */
static void stability_case(size_t n, size_t c, size_t sp,
                           simdnn_layout layout, double center,
                           double spread, uint64_t tag)
{
    test_rng rng;
    test_rng_for(&rng, tag);
    size_t total = n * c * sp;
    double *mu = dalloc(c), *sd = dalloc(c);
    for (size_t ch = 0; ch < c; ch++) {
        mu[ch] = center * rng_uniform(&rng, 0.9, 1.1);
        sd[ch] = spread * rng_uniform(&rng, 0.9, 1.1);
    }
    gbuf x = gb_new(total, &rng), y = gb_new(total, &rng);
    gbuf g = gb_new(c, &rng), be = gb_new(c, &rng);
    gbuf bm = gb_new(c, &rng), bv = gb_new(c, &rng);
    fill_tensor(x.p, n, c, sp, layout, mu, sd, &rng);
    fill_uniform(g.p, c, 0.5, 2.0, &rng);
    fill_uniform(be.p, c, -1.0, 1.0, &rng);
    double *om = dalloc(c), *ov = dalloc(c);
    oracle_stats(x.p, n, c, sp, layout, om, ov);
    double *want = dalloc(total), *bound = dalloc(total);
    oracle_normalize(x.p, n, c, sp, layout, g.p, be.p, om, ov, 1e-5f, false,
                     want, bound);
    simdnn_status st = simdnn_batchnorm_training_f32(
        x.p, y.p, n, c, sp, layout, g.p, be.p, 1e-5f, 0.9f, bm.p, bv.p,
        NULL, NULL, 0);
    char ctx[128];
    snprintf(ctx, sizeof(ctx), "stability %s n=%zu c=%zu sp=%zu mean %g "
             "std %g", layout_name(layout), n, c, sp, center, spread);
    if (CHECK(st == SIMDNN_SUCCESS, "%s: status %d", ctx, (int)st)) {
        double worst_m = 0, worst_v = 0;
        for (size_t ch = 0; ch < c; ch++) {
            double em = rel_err(bm.p[ch], om[ch]);
            double ev = rel_err(bv.p[ch], ov[ch]);
            worst_m = em > worst_m ? em : worst_m;
            worst_v = ev > worst_v ? ev : worst_v;
        }
        CHECK(worst_m <= 1e-6 && worst_v <= 1e-6,
              "%s: relative error of mean %.3g, of var %.3g", ctx, worst_m,
              worst_v);
        oracle_train_bound(x.p, n, c, sp, layout, g.p, be.p, om, ov, 1e-5f,
                           bound);
        check_close("y", y.p, want, bound, total, ctx);
    }
    free(om);
    free(ov);
    free(want);
    free(bound);
    free(mu);
    free(sd);
    gb_free(&x);
    gb_free(&y);
    gb_free(&g);
    gb_free(&be);
    gb_free(&bm);
    gb_free(&bv);
}

static void test_stability_large_mean(void)
{
    for (int l = 0; l < 2; l++) {
        simdnn_layout layout = l ? SIMDNN_NHWC : SIMDNN_NCHW;
        stability_case(2, 3, 3136, layout, 1e4, 1.0, 101 + l);
        stability_case(1, 64, 784, layout, 1e4, 1.0, 103 + l);
        stability_case(3, 17, 49, layout, -1e4, 1.0, 105 + l);
        stability_case(2, 5, 7, layout, 1e4, 1.0, 107 + l);
    }
}

static void test_stability_mean100_spread2(void)
{
    for (int l = 0; l < 2; l++) {
        simdnn_layout layout = l ? SIMDNN_NHWC : SIMDNN_NCHW;
        stability_case(2, 3, 3136, layout, 100.0, 2.0, 201 + l);
        stability_case(1, 64, 784, layout, 100.0, 2.0, 203 + l);
        stability_case(3, 1000, 1, layout, 100.0, 2.0, 205 + l);
        stability_case(2, 17, 196, layout, 100.0, 2.0, 207 + l);
    }
}

/* One channel of 2^22 elements at mean 1e4 * std. */
static void test_stability_long_channel(void)
{
    stability_case(1, 1, (size_t)1 << 22, SIMDNN_NCHW, 1e4, 1.0, 301);
    stability_case(4, 1, (size_t)1 << 20, SIMDNN_NHWC, 1e4, 1.0, 302);
}

/* ---- outputs large enough to be streamed ---- */

/* Outputs of 16 MiB and more are written with non-temporal stores on x86
 * (api.c, STREAM_BYTES): odd shapes and misaligned buffers there too. */
static void test_streaming_outputs(void)
{
    const struct shape planes = {2, 3, 700001}, rows = {1, 17, 246723};
    inference_one(planes, SIMDNN_NCHW, 1, 401);
    inference_one(rows, SIMDNN_NHWC, 0, 402);
    training_one(planes, SIMDNN_NCHW, 0, 403);
    training_one(rows, SIMDNN_NHWC, 1, 404);
    backward_one(planes, SIMDNN_NCHW, 0, 405);
    backward_one(rows, SIMDNN_NHWC, 3, 406);
}

/* ---- variance 0 ---- */

static void test_constant_channels(void)
{
    static const struct shape shapes[] = {
        {3, 5, 49}, {1, 17, 1}, {2, 1000, 1}, {1, 3, 129}, {2, 40, 3},
    };
    test_rng rng;
    test_rng_for(&rng, 0xC0);
    for (int l = 0; l < 2; l++) {
        simdnn_layout layout = l ? SIMDNN_NHWC : SIMDNN_NCHW;
        for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
            size_t n = shapes[k].n, c = shapes[k].c, sp = shapes[k].spatial;
            size_t total = n * c * sp;
            gbuf x = gb_new(total, &rng), y = gb_new(total, &rng);
            gbuf g = gb_new(c, &rng), be = gb_new(c, &rng);
            gbuf bm = gb_new(c, &rng), bv = gb_new(c, &rng);
            gbuf rm = gb_new(c, &rng), rv = gb_new(c, &rng);
            fill_uniform(g.p, c, -2, 2, &rng);
            fill_uniform(be.p, c, -1, 1, &rng);
            fill_uniform(rm.p, c, -1, 1, &rng);
            fill_uniform(rv.p, c, 0.5, 2, &rng);
            float *val = malloc(c * sizeof(float));
            for (size_t ch = 0; ch < c; ch++)
                val[ch] = (float)rng_uniform(&rng, -1e4, 1e4);
            for (size_t i = 0; i < n; i++)
                for (size_t ch = 0; ch < c; ch++)
                    for (size_t s = 0; s < sp; s++)
                        x.p[bn_index(layout, c, sp, i, ch, s)] = val[ch];
            simdnn_status st = simdnn_batchnorm_training_f32(
                x.p, y.p, n, c, sp, layout, g.p, be.p, 1e-5f, 0.5f, bm.p,
                bv.p, rm.p, rv.p, 0);
            CHECK(st == SIMDNN_SUCCESS, "status %d", (int)st);
            size_t bad = 0, first = 0;
            for (size_t i = 0; i < n; i++)
                for (size_t ch = 0; ch < c; ch++)
                    for (size_t s = 0; s < sp; s++) {
                        size_t at = bn_index(layout, c, sp, i, ch, s);
                        if (y.p[at] != be.p[ch])
                            bad++, first = at;
                    }
            size_t bad_stats = 0;
            for (size_t ch = 0; ch < c; ch++)
                bad_stats += bm.p[ch] != val[ch] || bv.p[ch] != 0.0f ||
                             isnan(rm.p[ch]) || isnan(rv.p[ch]);
            CHECK(bad == 0 && bad_stats == 0,
                  "constant %s n=%zu c=%zu sp=%zu: %zu outputs are not "
                  "beta (first [%zu] = %.9g), %zu channels bad stats",
                  layout_name(layout), n, c, sp, bad, first,
                  bad ? y.p[first] : 0.0, bad_stats);
            free(val);
            gb_free(&x);
            gb_free(&y);
            gb_free(&g);
            gb_free(&be);
            gb_free(&bm);
            gb_free(&bv);
            gb_free(&rm);
            gb_free(&rv);
        }
    }
}

/* ---- NaN stays in its channel ---- */

/* A NaN in one element of channel 2: training makes that channel's
 * statistics and outputs NaN (ReLU keeps NaN) and leaves the others as the
 * oracle says; inference makes only that output NaN. */
static void test_nan_channel(void)
{
    static const struct shape shapes[] = {{2, 5, 9}, {1, 40, 33}, {3, 3, 1}};
    test_rng rng;
    test_rng_for(&rng, 0x7A7);
    for (int l = 0; l < 2; l++) {
        simdnn_layout layout = l ? SIMDNN_NHWC : SIMDNN_NCHW;
        for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
            size_t n = shapes[k].n, c = shapes[k].c, sp = shapes[k].spatial;
            size_t total = n * c * sp, count = n * sp;
            gbuf x = gb_new(total, &rng), y = gb_new(total, &rng);
            gbuf bm = gb_new(c, &rng), bv = gb_new(c, &rng);
            gbuf mean = gb_new(c, &rng), var = gb_new(c, &rng);
            fill_uniform(x.p, total, -2, 2, &rng);
            fill_uniform(mean.p, c, -1, 1, &rng);
            fill_uniform(var.p, c, 0.5, 2, &rng);
            size_t bad_at = bn_index(layout, c, sp, rng_below(&rng, n), 2,
                                     rng_below(&rng, sp));
            x.p[bad_at] = nanf("");
            double *om = dalloc(c), *ov = dalloc(c);
            double *want = dalloc(total), *bound = dalloc(total);
            oracle_stats(x.p, n, c, sp, layout, om, ov);
            oracle_normalize(x.p, n, c, sp, layout, NULL, NULL, om, ov, 1e-5f,
                             true, want, bound);
            oracle_train_bound(x.p, n, c, sp, layout, NULL, NULL, om, ov,
                               1e-5f, bound);
            simdnn_status st = simdnn_batchnorm_training_f32(
                x.p, y.p, n, c, sp, layout, NULL, NULL, 1e-5f, 0.9f, bm.p,
                bv.p, NULL, NULL, SIMDNN_BATCHNORM_FUSE_RELU);
            size_t bad = 0;
            for (size_t i = 0; i < n; i++)
                for (size_t ch = 0; ch < c; ch++)
                    for (size_t s = 0; s < sp; s++) {
                        size_t at = bn_index(layout, c, sp, i, ch, s);
                        bool ok = ch == 2 ? isnan(y.p[at])
                                          : fabs(y.p[at] - want[at]) <=
                                                bound[at];
                        bad += !ok;
                    }
            for (size_t ch = 0; ch < c; ch++) {
                bool nan_stats = isnan(bm.p[ch]) && isnan(bv.p[ch]);
                bool finite = !isnan(bm.p[ch]) && !isnan(bv.p[ch]);
                bad += ch == 2 ? !nan_stats : !finite;
            }
            /* Inference: only the NaN input's output is NaN. */
            simdnn_status st2 = simdnn_batchnorm_inference_f32(
                x.p, y.p, n, c, sp, layout, NULL, NULL, mean.p, var.p, 1e-5f,
                SIMDNN_BATCHNORM_FUSE_RELU);
            size_t nans = 0;
            for (size_t i = 0; i < total; i++)
                nans += isnan(y.p[i]);
            CHECK(st == SIMDNN_SUCCESS && st2 == SIMDNN_SUCCESS && bad == 0 &&
                      nans == 1 && isnan(y.p[bad_at]),
                  "NaN %s n=%zu c=%zu sp=%zu (count %zu): %zu wrong training "
                  "results, %zu NaN inference outputs",
                  layout_name(layout), n, c, sp, count, bad, nans);
            /* Backward: NaNs at both ends of channel 2 (where a vector
             * may hold its neighbours' elements too) make its dgamma and
             * dx NaN and nothing else. */
            x.p[bn_index(layout, c, sp, 0, 2, 0)] = nanf("");
            x.p[bn_index(layout, c, sp, n - 1, 2, sp - 1)] = nanf("");
            gbuf dy = gb_new(total, &rng), dg = gb_new(c, &rng);
            gbuf db = gb_new(c, &rng);
            fill_uniform(dy.p, total, -1, 1, &rng);
            simdnn_status st3 = simdnn_batchnorm_backward_f32(
                x.p, dy.p, y.p, n, c, sp, layout, NULL, mean.p, var.p, 1e-5f,
                dg.p, db.p);
            size_t wrong = 0;
            for (size_t ch = 0; ch < c; ch++) {
                wrong += isnan(db.p[ch]) || isnan(dg.p[ch]) != (ch == 2);
                for (size_t i = 0; i < n; i++)
                    for (size_t s = 0; s < sp; s++)
                        wrong +=
                            isnan(y.p[bn_index(layout, c, sp, i, ch, s)]) !=
                            (ch == 2);
            }
            CHECK(st3 == SIMDNN_SUCCESS && wrong == 0,
                  "NaN backward %s n=%zu c=%zu sp=%zu: %zu results NaN where "
                  "they should not be or not NaN where they should",
                  layout_name(layout), n, c, sp, wrong);
            gb_free(&dy);
            gb_free(&dg);
            gb_free(&db);
            free(om);
            free(ov);
            free(want);
            free(bound);
            gb_free(&x);
            gb_free(&y);
            gb_free(&bm);
            gb_free(&bv);
            gb_free(&mean);
            gb_free(&var);
        }
    }
}

/* ---- splitting over images ---- */

static void test_inference_split(void)
{
    test_rng rng;
    test_rng_for(&rng, 0x5A);
    size_t n = 3, c = 19, sp = 37, total = n * c * sp, img = c * sp;
    for (int l = 0; l < 2; l++) {
        simdnn_layout layout = l ? SIMDNN_NHWC : SIMDNN_NCHW;
        gbuf x = gb_new(total, &rng), y1 = gb_new(total, &rng);
        gbuf y2 = gb_new(total, &rng), g = gb_new(c, &rng);
        gbuf be = gb_new(c, &rng), mean = gb_new(c, &rng);
        gbuf var = gb_new(c, &rng);
        fill_uniform(x.p, total, -5, 5, &rng);
        fill_uniform(g.p, c, -2, 2, &rng);
        fill_uniform(be.p, c, -1, 1, &rng);
        fill_uniform(mean.p, c, -1, 1, &rng);
        fill_uniform(var.p, c, 0.1, 3, &rng);
        simdnn_status s0 = simdnn_batchnorm_inference_f32(
            x.p, y1.p, n, c, sp, layout, g.p, be.p, mean.p, var.p, 1e-5f,
            SIMDNN_BATCHNORM_FUSE_RELU);
        simdnn_status s1 = simdnn_batchnorm_inference_f32(
            x.p, y2.p, 1, c, sp, layout, g.p, be.p, mean.p, var.p, 1e-5f,
            SIMDNN_BATCHNORM_FUSE_RELU);
        simdnn_status s2 = simdnn_batchnorm_inference_f32(
            x.p + img, y2.p + img, n - 1, c, sp, layout, g.p, be.p, mean.p,
            var.p, 1e-5f, SIMDNN_BATCHNORM_FUSE_RELU);
        CHECK(s0 == SIMDNN_SUCCESS && s1 == SIMDNN_SUCCESS &&
                  s2 == SIMDNN_SUCCESS,
              "split statuses %d %d %d", (int)s0, (int)s1, (int)s2);
        CHECK(memcmp(y1.p, y2.p, total * sizeof(float)) == 0,
              "split %s: results differ from one call",
              layout_name(layout));
        gb_free(&x);
        gb_free(&y1);
        gb_free(&y2);
        gb_free(&g);
        gb_free(&be);
        gb_free(&mean);
        gb_free(&var);
    }
}

/* ---- output placement ---- */

/*
 * Inference with y placed d bytes above x modulo 4 KiB (the x86 units
 * walk the columns of NHWC row blocks downward for some d: batchnorm.h,
 * batchnorm_walk_down) gives bitwise the result of y in a buffer of its own,
 * for channel counts that take the row blocks (multiples of 8 and 16, 1024:
 * rows 4 KiB apart) and ones that do not, and rows that fill blocks or
 * leave some over.
 */
static void test_inference_offsets(void)
{
    static const size_t channels[] = {8, 24, 64, 72, 1000, 1024};
    static const size_t rows_list[] = {1, 3, 9};
    static const size_t offsets[] = {0, 4, 32, 64, 316, 320, 2048, 4092};
    test_rng rng;
    test_rng_for(&rng, 0x0FF5);
    for (size_t ci = 0; ci < sizeof(channels) / sizeof(*channels); ci++)
        for (size_t ri = 0; ri < sizeof(rows_list) / sizeof(*rows_list); ri++) {
            size_t c = channels[ci], sp = rows_list[ri], total = c * sp;
            gbuf g = gb_new(c, &rng), be = gb_new(c, &rng);
            gbuf mean = gb_new(c, &rng), var = gb_new(c, &rng);
            gbuf want = gb_new(total, &rng);
            fill_uniform(g.p, c, -2, 2, &rng);
            fill_uniform(be.p, c, -1, 1, &rng);
            fill_uniform(mean.p, c, -1, 1, &rng);
            fill_uniform(var.p, c, 0.1, 3, &rng);
            unsigned flags = ri == 1 ? SIMDNN_BATCHNORM_FUSE_RELU : 0;
            for (size_t oi = 0; oi < sizeof(offsets) / sizeof(*offsets); oi++) {
                /* x at the start of one buffer, y ending at its end. */
                size_t gap = (offsets[oi] / 4 + 1024 - total % 1024) % 1024;
                size_t span = 2 * total + gap;
                float *buf = guarded_alloc(span, GUARD_FLUSH);
                float *x = buf, *y = buf + total + gap;
                fill_uniform(x, total, -5, 5, &rng);
                simdnn_status s0 = simdnn_batchnorm_inference_f32(
                    x, want.p, 1, c, sp, SIMDNN_NHWC, g.p, be.p, mean.p, var.p,
                    1e-5f, flags);
                simdnn_status s1 = simdnn_batchnorm_inference_f32(
                    x, y, 1, c, sp, SIMDNN_NHWC, g.p, be.p, mean.p, var.p,
                    1e-5f, flags);
                CHECK(s0 == SIMDNN_SUCCESS && s1 == SIMDNN_SUCCESS,
                      "offsets statuses %d %d", (int)s0, (int)s1);
                CHECK(memcmp(y, want.p, total * sizeof(float)) == 0,
                      "C=%zu rows=%zu, y %zu bytes above x modulo 4 KiB: "
                      "differs from y in a buffer of its own",
                      c, sp, offsets[oi]);
                CHECK(canary_intact(x + total, gap),
                      "C=%zu rows=%zu: the gap between x and y written", c, sp);
                /* In place, last: x is overwritten. */
                if (oi + 1 == sizeof(offsets) / sizeof(*offsets)) {
                    simdnn_status s2 = simdnn_batchnorm_inference_f32(
                        x, x, 1, c, sp, SIMDNN_NHWC, g.p, be.p, mean.p, var.p,
                        1e-5f, flags);
                    CHECK(s2 == SIMDNN_SUCCESS &&
                              memcmp(x, want.p, total * sizeof(float)) == 0,
                          "C=%zu rows=%zu in place: differs", c, sp);
                }
                guarded_free(buf, span, GUARD_FLUSH);
            }
            gb_free(&want);
            gb_free(&g);
            gb_free(&be);
            gb_free(&mean);
            gb_free(&var);
        }
}

/* ---- invalid arguments ---- */

enum { N = 2, C = 3, S = 5, T = N * C * S };

struct outs {
    gbuf y, bm, bv, rm, rv, dx, dg, db;
};

static void outs_fill(struct outs *o)
{
    canary_fill(o->y.p, T);
    canary_fill(o->dx.p, T);
    canary_fill(o->bm.p, C);
    canary_fill(o->bv.p, C);
    canary_fill(o->rm.p, C);
    canary_fill(o->rv.p, C);
    canary_fill(o->dg.p, C);
    canary_fill(o->db.p, C);
}

static bool outs_intact(const struct outs *o)
{
    return canary_intact(o->y.p, T) && canary_intact(o->dx.p, T) &&
           canary_intact(o->bm.p, C) && canary_intact(o->bv.p, C) &&
           canary_intact(o->rm.p, C) && canary_intact(o->rv.p, C) &&
           canary_intact(o->dg.p, C) && canary_intact(o->db.p, C);
}

#define EXPECT_INVALID(o, call)                                              \
    do {                                                                     \
        outs_fill(o);                                                        \
        simdnn_status st_ = (call);                                          \
        CHECK(st_ == SIMDNN_INVALID_ARGUMENT && outs_intact(o),              \
              "%s: status %d, outputs %s", #call, (int)st_,                  \
              outs_intact(o) ? "intact" : "WRITTEN");                        \
    } while (0)

static void test_invalid_arguments(void)
{
    test_rng rng;
    test_rng_for(&rng, 0xBAD);
    gbuf x = gb_new(T, &rng), dy = gb_new(T, &rng), big = gb_new(2 * T, &rng);
    gbuf g = gb_new(C, &rng), be = gb_new(C, &rng), mean = gb_new(C, &rng);
    gbuf var = gb_new(C, &rng);
    struct outs o = {gb_new(T, &rng),  gb_new(C, &rng), gb_new(C, &rng),
                     gb_new(C, &rng),  gb_new(C, &rng), gb_new(T, &rng),
                     gb_new(C, &rng),  gb_new(C, &rng)};
    struct outs *op = &o;
    fill_uniform(x.p, T, -1, 1, &rng);
    fill_uniform(dy.p, T, -1, 1, &rng);
    fill_uniform(big.p, 2 * T, -1, 1, &rng);
    fill_uniform(g.p, C, -1, 1, &rng);
    fill_uniform(be.p, C, -1, 1, &rng);
    fill_uniform(mean.p, C, -1, 1, &rng);
    fill_uniform(var.p, C, 0.5, 1, &rng);
    const simdnn_layout L = SIMDNN_NCHW, BAD_L = (simdnn_layout)2;
    const float NaN = nanf(""), eps = 1e-5f;
    const size_t HUGE_N = SIZE_MAX / 4;
    float *y = o.y.p, *bm = o.bm.p, *bv = o.bv.p, *rm = o.rm.p;
    float *rv = o.rv.p, *dx = o.dx.p, *dg = o.dg.p, *db = o.db.p;

    /* Inference. */
    EXPECT_INVALID(op, simdnn_batchnorm_inference_f32(
                           NULL, y, N, C, S, L, g.p, be.p, mean.p, var.p,
                           eps, 0));
    EXPECT_INVALID(op, simdnn_batchnorm_inference_f32(
                           x.p, NULL, N, C, S, L, g.p, be.p, mean.p, var.p,
                           eps, 0));
    EXPECT_INVALID(op, simdnn_batchnorm_inference_f32(
                           x.p, y, N, C, S, L, g.p, be.p, NULL, var.p, eps,
                           0));
    EXPECT_INVALID(op, simdnn_batchnorm_inference_f32(
                           x.p, y, N, C, S, L, g.p, be.p, mean.p, NULL, eps,
                           0));
    EXPECT_INVALID(op, simdnn_batchnorm_inference_f32(
                           NULL, NULL, 0, C, S, L, g.p, be.p, NULL, var.p,
                           eps, 0));
    EXPECT_INVALID(op, simdnn_batchnorm_inference_f32(
                           x.p, y, N, C, S, L, g.p, be.p, mean.p, var.p,
                           0.0f, 0));
    EXPECT_INVALID(op, simdnn_batchnorm_inference_f32(
                           x.p, y, N, C, S, L, g.p, be.p, mean.p, var.p,
                           -1e-5f, 0));
    EXPECT_INVALID(op, simdnn_batchnorm_inference_f32(
                           x.p, y, N, C, S, L, g.p, be.p, mean.p, var.p,
                           NaN, 0));
    EXPECT_INVALID(op, simdnn_batchnorm_inference_f32(
                           x.p, y, N, C, S, BAD_L, g.p, be.p, mean.p, var.p,
                           eps, 0));
    EXPECT_INVALID(op, simdnn_batchnorm_inference_f32(
                           x.p, y, N, C, S, (simdnn_layout)-1, g.p, be.p,
                           mean.p, var.p, eps, 0));
    EXPECT_INVALID(op, simdnn_batchnorm_inference_f32(
                           x.p, y, N, C, S, L, g.p, be.p, mean.p, var.p, eps,
                           0x2u));
    EXPECT_INVALID(op, simdnn_batchnorm_inference_f32(
                           x.p, y, HUGE_N, C, S, L, g.p, be.p, mean.p,
                           var.p, eps, 0));
    EXPECT_INVALID(op, simdnn_batchnorm_inference_f32(
                           x.p, y, SIZE_MAX / 2, 1, 1, L, g.p, be.p, mean.p,
                           var.p, eps, 0));
    EXPECT_INVALID(op, simdnn_batchnorm_inference_f32(
                           x.p, y, (size_t)1 << 32, (size_t)1 << 32, 1, L,
                           g.p, be.p, mean.p, var.p, eps, 0));
    /* Partial overlaps: y shifted against x, y over a parameter array. */
    EXPECT_INVALID(op, simdnn_batchnorm_inference_f32(
                           big.p, big.p + 1, N, C, S, L, g.p, be.p, mean.p,
                           var.p, eps, 0));
    EXPECT_INVALID(op, simdnn_batchnorm_inference_f32(
                           big.p + 7, big.p, N, C, S, SIMDNN_NHWC, g.p, be.p,
                           mean.p, var.p, eps, 0));
    EXPECT_INVALID(op, simdnn_batchnorm_inference_f32(
                           x.p, big.p, N, C, S, L, g.p, big.p + T - 1,
                           mean.p, var.p, eps, 0));

    /* Training. */
#define TRAIN(xx, yy, nn, cc, ss, ll, gg, bb, ee, mo, m1, v1, r1, r2, fl)   \
    simdnn_batchnorm_training_f32(xx, yy, nn, cc, ss, ll, gg, bb, ee, mo,   \
                                  m1, v1, r1, r2, fl)
    EXPECT_INVALID(op, TRAIN(NULL, y, N, C, S, L, g.p, be.p, eps, 0.9f, bm,
                             bv, rm, rv, 0));
    EXPECT_INVALID(op, TRAIN(x.p, NULL, N, C, S, L, g.p, be.p, eps, 0.9f,
                             bm, bv, rm, rv, 0));
    EXPECT_INVALID(op, TRAIN(x.p, y, N, C, S, L, g.p, be.p, 0.0f, 0.9f, bm,
                             bv, rm, rv, 0));
    EXPECT_INVALID(op, TRAIN(x.p, y, N, C, S, L, g.p, be.p, NaN, 0.9f, bm,
                             bv, rm, rv, 0));
    EXPECT_INVALID(op, TRAIN(x.p, y, N, C, S, L, g.p, be.p, -eps, 0.9f, bm,
                             bv, rm, rv, 0));
    EXPECT_INVALID(op, TRAIN(x.p, y, N, C, S, L, g.p, be.p, eps, -0.1f, bm,
                             bv, rm, rv, 0));
    EXPECT_INVALID(op, TRAIN(x.p, y, N, C, S, L, g.p, be.p, eps, 1.1f, bm,
                             bv, rm, rv, 0));
    EXPECT_INVALID(op, TRAIN(x.p, y, N, C, S, L, g.p, be.p, eps, NaN, bm,
                             bv, rm, rv, 0));
    EXPECT_INVALID(op, TRAIN(x.p, y, N, C, S, L, g.p, be.p, eps, 0.9f, NULL,
                             bv, rm, rv, 0));
    EXPECT_INVALID(op, TRAIN(x.p, y, N, C, S, L, g.p, be.p, eps, 0.9f, bm,
                             NULL, rm, rv, 0));
    EXPECT_INVALID(op, TRAIN(x.p, y, 0, C, S, L, g.p, be.p, eps, 0.9f, bm,
                             bv, rm, rv, 0));
    EXPECT_INVALID(op, TRAIN(x.p, y, N, C, 0, SIMDNN_NHWC, g.p, be.p, eps,
                             0.9f, bm, bv, rm, rv, 0));
    EXPECT_INVALID(op, TRAIN(x.p, y, N, C, S, L, g.p, be.p, eps, 0.9f, bm,
                             bv, NULL, rv, 0));
    EXPECT_INVALID(op, TRAIN(x.p, y, N, C, S, L, g.p, be.p, eps, 0.9f, bm,
                             bv, rm, NULL, 0));
    EXPECT_INVALID(op, TRAIN(x.p, y, N, C, S, BAD_L, g.p, be.p, eps, 0.9f,
                             bm, bv, rm, rv, 0));
    EXPECT_INVALID(op, TRAIN(x.p, y, N, C, S, L, g.p, be.p, eps, 0.9f, bm,
                             bv, rm, rv, 0x10u));
    EXPECT_INVALID(op, TRAIN(x.p, y, HUGE_N, C, S, L, g.p, be.p, eps, 0.9f,
                             bm, bv, rm, rv, 0));
    EXPECT_INVALID(op, TRAIN(big.p, big.p + 3, N, C, S, L, g.p, be.p, eps,
                             0.9f, bm, bv, rm, rv, 0));
    EXPECT_INVALID(op, TRAIN(x.p, y, N, C, S, L, g.p, be.p, eps, 0.9f,
                             y + 2, bv, rm, rv, 0));
    EXPECT_INVALID(op, TRAIN(x.p, y, N, C, S, L, g.p, be.p, eps, 0.9f, bm,
                             bm + 1, rm, rv, 0));
    EXPECT_INVALID(op, TRAIN(x.p, y, N, C, S, L, g.p, be.p, eps, 0.9f, bm,
                             bv, rm, x.p + 4, 0));
    EXPECT_INVALID(op, TRAIN(x.p, y, N, C, S, L, g.p, be.p, eps, 0.9f, bm,
                             bv, rm, rm, 0));
    EXPECT_INVALID(op, TRAIN(x.p, y, N, C, S, L, g.p, be.p, eps, 0.9f, bm,
                             bv, g.p, rv, 0));
#undef TRAIN

    /* Backward. */
#define BACK(xx, dd, oo, nn, cc, ss, ll, gg, mm, vv, ee, g1, b1)            \
    simdnn_batchnorm_backward_f32(xx, dd, oo, nn, cc, ss, ll, gg, mm, vv,   \
                                  ee, g1, b1)
    EXPECT_INVALID(op, BACK(NULL, dy.p, dx, N, C, S, L, g.p, mean.p, var.p,
                            eps, dg, db));
    EXPECT_INVALID(op, BACK(x.p, NULL, dx, N, C, S, L, g.p, mean.p, var.p,
                            eps, dg, db));
    EXPECT_INVALID(op, BACK(x.p, dy.p, NULL, N, C, S, L, g.p, mean.p, var.p,
                            eps, dg, db));
    EXPECT_INVALID(op, BACK(x.p, dy.p, dx, N, C, S, L, g.p, NULL, var.p,
                            eps, dg, db));
    EXPECT_INVALID(op, BACK(x.p, dy.p, dx, N, C, S, L, g.p, mean.p, NULL,
                            eps, dg, db));
    EXPECT_INVALID(op, BACK(x.p, dy.p, dx, N, C, S, L, g.p, mean.p, var.p,
                            0.0f, dg, db));
    EXPECT_INVALID(op, BACK(x.p, dy.p, dx, N, C, S, L, g.p, mean.p, var.p,
                            NaN, dg, db));
    EXPECT_INVALID(op, BACK(x.p, dy.p, dx, N, C, S, BAD_L, g.p, mean.p,
                            var.p, eps, dg, db));
    EXPECT_INVALID(op, BACK(x.p, dy.p, dx, 0, C, S, L, g.p, mean.p, var.p,
                            eps, dg, db));
    EXPECT_INVALID(op, BACK(x.p, dy.p, dx, HUGE_N, C, S, L, g.p, mean.p,
                            var.p, eps, dg, db));
    EXPECT_INVALID(op, BACK(x.p, dy.p, x.p, N, C, S, L, g.p, mean.p, var.p,
                            eps, dg, db));
    EXPECT_INVALID(op, BACK(x.p, big.p, big.p + 1, N, C, S, L, g.p, mean.p,
                            var.p, eps, dg, db));
    EXPECT_INVALID(op, BACK(x.p, dy.p, dx, N, C, S, L, g.p, mean.p, var.p,
                            eps, dx + 3, db));
    EXPECT_INVALID(op, BACK(x.p, dy.p, dx, N, C, S, L, g.p, mean.p, var.p,
                            eps, dg, dg));
    EXPECT_INVALID(op, BACK(x.p, dy.p, dx, N, C, S, L, g.p, mean.p, var.p,
                            eps, dg, mean.p));
#undef BACK

    /* Valid edge cases: nothing to do is a success. */
    outs_fill(op);
    CHECK(simdnn_batchnorm_inference_f32(NULL, NULL, 0, C, S, L, NULL, NULL,
                                         mean.p, var.p, eps,
                                         0) == SIMDNN_SUCCESS &&
              simdnn_batchnorm_training_f32(NULL, NULL, 0, 0, 0, L, NULL,
                                            NULL, eps, 1.0f, NULL, NULL,
                                            NULL, NULL,
                                            0) == SIMDNN_SUCCESS &&
              simdnn_batchnorm_backward_f32(NULL, NULL, NULL, 3, 0, 4, L,
                                            NULL, NULL, NULL, eps, NULL,
                                            NULL) == SIMDNN_SUCCESS &&
              outs_intact(op),
          "empty calls must succeed and write nothing");
    /* And the canaries do detect writes: a valid call changes them. */
    CHECK(simdnn_batchnorm_training_f32(x.p, y, N, C, S, L, g.p, be.p, eps,
                                        0.9f, bm, bv, NULL, NULL,
                                        0) == SIMDNN_SUCCESS &&
              !canary_intact(y, T) && !canary_intact(bm, C),
          "a valid call must write its outputs");

    gb_free(&x);
    gb_free(&dy);
    gb_free(&big);
    gb_free(&g);
    gb_free(&be);
    gb_free(&mean);
    gb_free(&var);
    gb_free(&o.y);
    gb_free(&o.bm);
    gb_free(&o.bv);
    gb_free(&o.rm);
    gb_free(&o.rv);
    gb_free(&o.dx);
    gb_free(&o.dg);
    gb_free(&o.db);
}

static void run(void)
{
    test_case("invalid_arguments", test_invalid_arguments);
    test_case("inference_matrix", test_inference_matrix);
    test_case("inference_split", test_inference_split);
    test_case("inference_offsets", test_inference_offsets);
    test_case("training_matrix", test_training_matrix);
    test_case("exact_statistics", test_exact_statistics);
    test_case("constant_channels", test_constant_channels);
    test_case("nan_channel", test_nan_channel);
    test_case("stability_large_mean", test_stability_large_mean);
    test_case("stability_mean100_spread2", test_stability_mean100_spread2);
    test_case("stability_long_channel", test_stability_long_channel);
    test_case("backward_matrix", test_backward_matrix);
    test_case("streaming_outputs", test_streaming_outputs);
}

int main(int argc, char **argv)
{
    return test_main(argc, argv, SIMDNN_FAMILY_BATCHNORM, run);
}
