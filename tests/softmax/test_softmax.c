/*
 * Softmax family tests, run once per ISA (ctest softmax.<isa>): every entry
 * point against the double-precision oracle (oracle.c) on every row length
 * 1..160 (two AVX-512 tiles of 64 plus 32: every tail of every ISA), tile
 * multiples and large rows up to 2^24, several rows with strides, in place,
 * misaligned buffers ending at an unmapped page, special values in random
 * lanes among random neighbours, extreme magnitudes and wide spreads, the
 * general-axis form, and every invalid argument of the header (nothing
 * written: canaries). Seeds are printed; SIMDNN_TEST_SEED reproduces.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle.h"
#include "simdnn/simdnn.h"
#include "softmax/softmax.h" /* SOFTMAX_ONLINE_MIN, SOFTMAX_STREAM_MIN */
#include "test_util.h"

typedef simdnn_status (*row_fn)(const float *, float *, size_t, size_t, size_t,
                                size_t, unsigned);
typedef simdnn_status (*axis_fn)(const float *, float *, size_t, size_t, size_t,
                                 unsigned);

static const row_fn row_fns[2] = {simdnn_softmax_f32, simdnn_log_softmax_f32};
static const axis_fn axis_fns[2] = {simdnn_softmax_axis_f32,
                                    simdnn_log_softmax_axis_f32};
static const char *const form_names[2] = {"softmax", "log_softmax"};

/* Worst errors seen over the run, reported at the end. */
static double worst_rel, worst_log;

static double *worst_of(bool log_form)
{
    return log_form ? &worst_log : &worst_rel;
}

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (p == NULL) {
        fprintf(stderr, "out of memory (%zu bytes)\n", bytes);
        abort();
    }
    return p;
}

/* ---- input generators ---- */

typedef enum gen_kind {
    GEN_UNIFORM10, /* [-10, 10) */
    GEN_NORMAL,    /* 3 * N(0, 1) */
    GEN_SPREAD,    /* [-60, 40): differences up to 100 */
    GEN_NEAR_CUT,  /* one 0, the rest in [-87.6, -86.9): near ln(FLT_MIN) */
    GEN_SMALL_MAX, /* max 1, others in [-80, 1): x - max inexact in float */
    GEN_HIGH,      /* [80, 88.72): near the float exp overflow */
    GEN_LOW,       /* [-88.72, -80) */
    GEN_HUGE,      /* +-[1e37, 3e38): no overflow allowed */
    GEN_OFFSET,    /* 1e6 + [-30, 0): large common offset */
    GEN_TINY,      /* +-0 and subnormals: all equal to first order */
    GEN_CONSTANT,  /* one value repeated */
    GEN_BIG,       /* +-{3e7, 1e8, 5e8} + [-200, 0): |max| near 2^22..2^29 */
    GEN_DEEP,      /* one 0, the rest in [-94, -86): where the fast form's
                      2^(n/8 + 8) leaves the normal range and its clamp to
                      n = -1080 (scalar.c steps 3-6) */
    GEN_FAST_EDGE, /* +-{262000, 262200, 400000, 500000} + [-95, 0): |max|
                      on either side of 2^18, where the fast form of
                      scalar.c step 3 ends */
    GEN_COUNT
} gen_kind;

static const char *const gen_names[GEN_COUNT] = {
    "uniform10", "normal", "spread", "near-cutoff", "small-max", "high",
    "low",       "huge",   "offset", "tiny",        "constant",  "big",
    "deep",      "fast-edge"};

static void fill(float *x, size_t n, size_t stride, gen_kind kind,
                 test_rng *rng)
{
    static const double bigs[] = {3e7, 1e8, 5e8, -3e7, -1e8, -5e8};
    static const double edges[] = {262000,  262200,  400000,  500000,
                                   -262000, -262200, -400000, -500000};
    float c = (float)rng_uniform(rng, -50, 50);
    double big = bigs[rng_below(rng, 6)];
    double edge = edges[rng_below(rng, 8)];
    for (size_t i = 0; i < n; i++) {
        float v = 0.0f;
        switch (kind) {
        case GEN_UNIFORM10:
            v = (float)rng_uniform(rng, -10, 10);
            break;
        case GEN_NORMAL:
            v = (float)(3.0 * rng_normal(rng));
            break;
        case GEN_SPREAD:
            v = (float)rng_uniform(rng, -60, 40);
            break;
        case GEN_NEAR_CUT:
            v = (float)rng_uniform(rng, -87.6, -86.9);
            break;
        case GEN_SMALL_MAX:
            v = (float)rng_uniform(rng, -80, 1);
            break;
        case GEN_HIGH:
            v = (float)rng_uniform(rng, 80, 88.72);
            break;
        case GEN_LOW:
            v = (float)rng_uniform(rng, -88.72, -80);
            break;
        case GEN_HUGE:
            v = (float)rng_uniform(rng, 1e37, 3e38);
            if (rng_below(rng, 2))
                v = -v;
            break;
        case GEN_OFFSET:
            v = (float)(1e6 + rng_uniform(rng, -30, 0));
            break;
        case GEN_TINY: {
            uint32_t bits = (uint32_t)rng_below(rng, 1u << 23);
            if (rng_below(rng, 4) == 0)
                bits = 0;
            if (rng_below(rng, 2))
                bits |= 0x80000000u;
            memcpy(&v, &bits, sizeof(v));
            break;
        }
        case GEN_CONSTANT:
            v = c;
            break;
        case GEN_BIG:
            v = (float)(big + rng_uniform(rng, -200, 0));
            break;
        case GEN_DEEP:
            v = (float)rng_uniform(rng, -94, -86);
            break;
        case GEN_FAST_EDGE:
            v = (float)(edge + rng_uniform(rng, -95, 0));
            break;
        default:
            break;
        }
        x[i * stride] = v;
    }
    if (n > 0 && (kind == GEN_NEAR_CUT || kind == GEN_DEEP))
        x[rng_below(rng, n) * stride] = 0.0f;
    if (n > 0 && kind == GEN_SMALL_MAX)
        x[rng_below(rng, n) * stride] = 1.0f;
    if (n > 1 && kind == GEN_HUGE) { /* 3e38 - (-3e38) overflows float */
        x[rng_below(rng, n) * stride] = 3e38f;
        x[rng_below(rng, n) * stride] = -3e38f;
    }
}

/*
 * One row of n in guarded buffers (x and y each end at an unmapped page,
 * misaligned by mx and my bytes), out of place or in place, checked
 * against the oracle. Returns the number of failing outputs.
 */
static size_t run_row(size_t n, gen_kind kind, bool log_form, bool in_place,
                      unsigned flags, size_t mx, size_t my, test_rng *rng,
                      const float *given)
{
    float *x = guarded_alloc(n, mx);
    float *y = in_place ? x : guarded_alloc(n, my);
    float *orig = xmalloc(n * sizeof(float));
    if (given)
        memcpy(orig, given, n * sizeof(float));
    else
        fill(orig, n, 1, kind, rng);
    memcpy(x, orig, n * sizeof(float));
    simdnn_status st = row_fns[log_form](x, y, 1, n, n, n, flags);
    size_t bad = 0;
    char what[96];
    snprintf(what, sizeof(what), "softmax %s%s flags=%u mis=%zu/%zu",
             given ? "given" : gen_names[kind], in_place ? " in-place" : "",
             flags, mx, my);
    if (!CHECK(st == SIMDNN_SUCCESS, "%s: status %d", what, (int)st))
        bad = 1;
    else
        bad = oracle_check(orig, y, n, 1, flags, log_form, worst_of(log_form),
                           what);
    if (!in_place && !given)
        CHECK(memcmp(x, orig, n * sizeof(float)) == 0, "%s: x modified", what);
    free(orig);
    if (!in_place)
        guarded_free(y, n, my);
    guarded_free(x, n, mx);
    return bad;
}

/* Every length 1..160, both forms, out of place and in place, buffers
 * ending at the guard page with changing misalignment. */
static void test_lengths(void)
{
    test_rng rng;
    test_rng_for(&rng, 1);
    for (size_t n = 1; n <= 160; n++)
        for (int lf = 0; lf < 2; lf++)
            for (int ip = 0; ip < 2; ip++)
                for (int flush_y = 0; flush_y < 2; flush_y++) {
                    gen_kind kind = (gen_kind)((n + (size_t)lf) % 3);
                    run_row(n, kind, lf, ip, 0,
                            flush_y ? (n * 4) % 64 : GUARD_FLUSH,
                            flush_y ? GUARD_FLUSH : (n * 12 + 20) % 64, &rng,
                            NULL);
                }
}

/* Every generator on a set of lengths around the tiles. */
static void test_distributions(void)
{
    static const size_t lengths[] = {
        1,  2,  3,   7,   8,   9,   15,  16,  17,  31,   32,   33,   47,  63,
        64, 65, 127, 128, 129, 200, 255, 256, 257, 1000, 1023, 1024, 1025};
    test_rng rng;
    test_rng_for(&rng, 2);
    for (int g = 0; g < GEN_COUNT; g++)
        for (size_t li = 0; li < sizeof(lengths) / sizeof(lengths[0]); li++)
            for (int lf = 0; lf < 2; lf++)
                run_row(lengths[li], (gen_kind)g, lf, li % 2 == 1,
                        li % 3 == 0 ? SIMDNN_SOFTMAX_MASKED_ROW_ZERO : 0,
                        li % 4 < 2 ? GUARD_FLUSH : (li * 4) % 64,
                        li % 4 < 2 ? (li * 8) % 64 : GUARD_FLUSH, &rng, NULL);
}

/* Tile multiples and large rows. */
static void test_large(void)
{
    /* Just above SOFTMAX_ONLINE_MIN: test_long_special and test_2p24. */
    /* clang-format off */
    static const size_t lengths[] = {
        96,    160,    192,    224,    256,    384,     512,
        2048,  4096,   4097,   8191,   16384,  65535,   65536,
        65537, 131071, 131072, 131073, 262147, 1048576, 1048581,
        SOFTMAX_ONLINE_MIN - 1};
    /* clang-format on */
    test_rng rng;
    test_rng_for(&rng, 3);
    for (size_t li = 0; li < sizeof(lengths) / sizeof(lengths[0]); li++)
        for (int lf = 0; lf < 2; lf++) {
            /* Quick mode (emulation): rows of 2^21 or more run one form
             * each, alternating; 2^24 runs both in test_2p24. */
            if (test_quick && lengths[li] >= ((size_t)1 << 21) &&
                lf != (int)(li % 2))
                continue;
            gen_kind kind = (gen_kind)(li % 3);
            run_row(lengths[li], kind, lf, li % 2 == 0, 0,
                    li % 4 < 2 ? GUARD_FLUSH : 4 * (li % 16),
                    li % 4 < 2 ? 60 - 4 * (li % 16) : GUARD_FLUSH, &rng, NULL);
            if (lengths[li] >= 65536 && lengths[li] < ((size_t)1 << 21))
                run_row(lengths[li], GEN_HUGE, lf, false, 0, GUARD_FLUSH, 4,
                        &rng, NULL);
        }
}

/*
 * One row of 2^24 spread-out values against the oracle, both forms. Its
 * sum is near 7e5: a float running sum is off by far more than 2e-6 here.
 * 2^24 >= SOFTMAX_STREAM_MIN: the non-temporal stores of the long-row
 * form, with a misaligned y (head peeled), are tested here.
 */
static void test_2p24(void)
{
    const size_t n = (size_t)1 << 24;
    test_rng rng;
    test_rng_for(&rng, 4);
    float *x = guarded_alloc(n, GUARD_FLUSH);
    float *y = guarded_alloc(n, 36);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)rng_uniform(&rng, -20, 5);
    x[rng_below(&rng, n)] = 5.0f;
    for (int lf = 0; lf < 2; lf++) {
        double worst = 0.0;
        simdnn_status st = row_fns[lf](x, y, 1, n, n, n, 0);
        CHECK(st == SIMDNN_SUCCESS, "status %d", (int)st);
        oracle_check(x, y, n, 1, 0, lf, &worst, "2^24 row");
        printf("  %s, n = 2^24: worst error %.3g\n", form_names[lf], worst);
        double *w = worst_of(lf);
        if (worst > *w)
            *w = worst;
    }
    guarded_free(y, n, 36);
    guarded_free(x, n, GUARD_FLUSH);
}

/* Several rows with strides larger than the row: gaps stay untouched,
 * in place works with equal strides, and each row equals (bitwise) the
 * same row computed by a call of its own. */
static void test_rows_strides(void)
{
    static const size_t rows_list[] = {1, 2, 3, 7, 16};
    static const size_t n_list[] = {1, 5, 8, 31, 33, 64, 100, 257};
    static const size_t pads[] = {0, 1, 7, 64};
    test_rng rng;
    test_rng_for(&rng, 5);
    for (size_t ri = 0; ri < 5; ri++)
        for (size_t ni = 0; ni < 8; ni++)
            for (size_t pi = 0; pi < 4; pi++)
                for (int lf = 0; lf < 2; lf++) {
                    size_t rows = rows_list[ri], n = n_list[ni];
                    size_t xs = n + pads[pi], ys = n + pads[(pi + 1) % 4];
                    size_t xc = (rows - 1) * xs + n, yc = (rows - 1) * ys + n;
                    size_t mx = lf ? GUARD_FLUSH : 4 * (ni % 16);
                    size_t my = lf ? 4 * (ri % 16) : GUARD_FLUSH;
                    float *x = guarded_alloc(xc, mx);
                    float *y = guarded_alloc(yc, my);
                    float *one = guarded_alloc(n, GUARD_FLUSH);
                    fill(x, xc, 1, (gen_kind)((ri + ni) % 3), &rng);
                    unsigned flags =
                        pi % 2 ? SIMDNN_SOFTMAX_MASKED_ROW_ZERO : 0;
                    /* a masked row in the middle */
                    if (rows > 2)
                        for (size_t i = 0; i < n; i++)
                            x[xs + i] = -INFINITY;
                    CHECK(row_fns[lf](x, y, rows, n, xs, ys, flags) ==
                              SIMDNN_SUCCESS,
                          "status");
                    for (size_t r = 0; r < rows; r++) {
                        oracle_check(x + r * xs, y + r * ys, n, 1, flags, lf,
                                     worst_of(lf), "strided rows");
                        if (r + 1 < rows)
                            CHECK(canary_intact(y + r * ys + n, ys - n),
                                  "%s rows=%zu n=%zu ys=%zu: gap after row "
                                  "%zu written",
                                  form_names[lf], rows, n, ys, r);
                        CHECK(row_fns[lf](x + r * xs, one, 1, n, n, n, flags) ==
                                  SIMDNN_SUCCESS,
                              "one");
                        CHECK(memcmp(one, y + r * ys, n * sizeof(float)) == 0,
                              "%s rows=%zu n=%zu: row %zu differs from the "
                              "same row computed alone",
                              form_names[lf], rows, n, r);
                    }
                    /* In place with the x stride. */
                    float *keep = xmalloc(xc * sizeof(float));
                    memcpy(keep, x, xc * sizeof(float));
                    CHECK(row_fns[lf](x, x, rows, n, xs, xs, flags) ==
                              SIMDNN_SUCCESS,
                          "in place status");
                    for (size_t r = 0; r < rows; r++) {
                        oracle_check(keep + r * xs, x + r * xs, n, 1, flags, lf,
                                     worst_of(lf), "in place rows");
                        if (r + 1 < rows)
                            CHECK(memcmp(x + r * xs + n, keep + r * xs + n,
                                         (xs - n) * sizeof(float)) == 0,
                                  "in place gap written");
                    }
                    free(keep);
                    guarded_free(one, n, GUARD_FLUSH);
                    guarded_free(y, yc, my);
                    guarded_free(x, xc, mx);
                }
}

/* Special values in random lanes among random neighbours. */
static void test_special(void)
{
    test_rng rng;
    test_rng_for(&rng, 6);
    enum {
        K_NAN,
        K_PINF,
        K_NINF,
        K_MANY_NINF,
        K_ALL_NINF,
        K_ALL_NINF_NAN,
        K_ONE_FINITE,
        K_PINF_NINF,
        K_NAN_PINF,
        K_MAX_NEG_INF_REST,
        K_COUNT
    };
    const size_t max_n = test_quick ? 100 : 160;
    float *buf = xmalloc(max_n * sizeof(float));
    for (size_t n = 1; n <= max_n; n++)
        for (int k = 0; k < K_COUNT; k++)
            for (int lf = 0; lf < 2; lf++)
                for (unsigned flags = 0; flags < 2; flags++) {
                    fill(buf, n, 1, (gen_kind)(n % 3), &rng);
                    size_t at = rng_below(&rng, n), at2 = rng_below(&rng, n);
                    switch (k) {
                    case K_NAN:
                        buf[at] = NAN;
                        break;
                    case K_PINF:
                        buf[at] = INFINITY;
                        break;
                    case K_NINF:
                        buf[at] = -INFINITY;
                        break;
                    case K_MANY_NINF:
                        for (size_t i = 0; i < n; i++)
                            if (rng_below(&rng, 3))
                                buf[i] = -INFINITY;
                        break;
                    case K_ALL_NINF:
                        for (size_t i = 0; i < n; i++)
                            buf[i] = -INFINITY;
                        break;
                    case K_ALL_NINF_NAN:
                        for (size_t i = 0; i < n; i++)
                            buf[i] = -INFINITY;
                        buf[at] = rng_below(&rng, 2) ? NAN : -NAN;
                        break;
                    case K_ONE_FINITE:
                        for (size_t i = 0; i < n; i++)
                            buf[i] = -INFINITY;
                        buf[at] = (float)rng_uniform(&rng, -1e30, 1e30);
                        break;
                    case K_PINF_NINF:
                        buf[at] = -INFINITY;
                        buf[at2] = INFINITY;
                        break;
                    case K_NAN_PINF:
                        buf[at] = INFINITY;
                        buf[at2] = NAN;
                        break;
                    case K_MAX_NEG_INF_REST: /* -FLT_MAX max, -Inf rest */
                        for (size_t i = 0; i < n; i++)
                            buf[i] = -INFINITY;
                        buf[at] = -FLT_MAX;
                        break;
                    }
                    run_row(n, GEN_UNIFORM10, lf, (n + k) % 2 == 0, flags,
                            (n + k) % 4 < 2 ? GUARD_FLUSH : (4 * (n + k)) % 64,
                            (n + k) % 4 < 2 ? (8 * n) % 64 : GUARD_FLUSH, &rng,
                            buf);
                }
    free(buf);
}

/*
 * The long-row (two-pass, online) form just above SOFTMAX_ONLINE_MIN with
 * the special values its chunked pass must get right: -Inf chunks before
 * the first finite maximum, a maximum rising in every chunk (a rescale per
 * chunk), NaN and +Inf late in the row, masked rows.
 */
static void test_long_special(void)
{
    const size_t n = SOFTMAX_ONLINE_MIN + 5, chunk = SOFTMAX_ONLINE_CHUNK;
    enum {
        L_NINF_PREFIX,
        L_RISING,
        L_NAN_LAST,
        L_PINF_MID,
        L_ALL_NINF,
        L_ALL_NINF_NAN,
        L_ONE_FINITE_LAST,
        L_COUNT
    };
    test_rng rng;
    test_rng_for(&rng, 8);
    float *x = guarded_alloc(n, GUARD_FLUSH);
    float *y = guarded_alloc(n, 44);
    float *orig = xmalloc(n * sizeof(float));
    for (int k = 0; k < L_COUNT; k++)
        for (int lf = 0; lf < 2; lf++)
            for (unsigned flags = 0; flags < 2; flags++) {
                /* Quick mode: one form and one flag setting per case. */
                if (test_quick && (lf != k % 2 || (int)flags != k / 2 % 2))
                    continue;
                fill(orig, n, 1, GEN_UNIFORM10, &rng);
                switch (k) {
                case L_NINF_PREFIX:
                    for (size_t i = 0; i < 3 * chunk + 7; i++)
                        orig[i] = -INFINITY;
                    break;
                case L_RISING:
                    for (size_t i = 0; i < n; i++)
                        orig[i] = (float)(i * 1e-5) +
                                  (float)rng_uniform(&rng, -30, 0);
                    break;
                case L_NAN_LAST:
                    orig[n - 1] = NAN;
                    break;
                case L_PINF_MID:
                    orig[n / 2 + 3] = INFINITY;
                    break;
                case L_ALL_NINF:
                    for (size_t i = 0; i < n; i++)
                        orig[i] = -INFINITY;
                    break;
                case L_ALL_NINF_NAN:
                    for (size_t i = 0; i < n; i++)
                        orig[i] = -INFINITY;
                    orig[rng_below(&rng, n)] = NAN;
                    break;
                case L_ONE_FINITE_LAST:
                    for (size_t i = 0; i < n; i++)
                        orig[i] = -INFINITY;
                    orig[n - 2] = 3.5f;
                    break;
                }
                memcpy(x, orig, n * sizeof(float));
                const bool in_place = k % 2 == 1;
                float *out = in_place ? x : y;
                CHECK(row_fns[lf](x, out, 1, n, n, n, flags) == SIMDNN_SUCCESS,
                      "long special status");
                char what[64];
                snprintf(what, sizeof(what), "long row case %d flags=%u", k,
                         flags);
                oracle_check(orig, out, n, 1, flags, lf, worst_of(lf), what);
            }
    free(orig);
    guarded_free(y, n, 44);
    guarded_free(x, n, GUARD_FLUSH);
}

/* The general-axis form: many outer x axis x inner shapes, specials in
 * random places (whole -Inf columns, NaN, +Inf), both flags, in place. */
static void test_axis(void)
{
    static const size_t outers[] = {1, 3};
    /* 150: beyond the axes the SIMD units stage in a stack buffer
     * (AXIS_STAGE_MAX), so that both of their paths run; with inners up to
     * 33 only (a block of 32 columns and a partial one), to keep the
     * valgrind configuration short. */
    static const size_t axes[] = {1, 2, 5, 17, 33, 150};
    static const size_t inners[] = {1,  2,  3,  4,  7,  8,  9,  15,  16,
                                    17, 31, 32, 33, 63, 64, 65, 100, 129};
    test_rng rng;
    test_rng_for(&rng, 7);
    for (size_t oi = 0; oi < 2; oi++)
        for (size_t ai = 0; ai < 6; ai++)
            for (size_t ii = 0; ii < 18; ii++)
                for (int lf = 0; lf < 2; lf++)
                    for (int ip = 0; ip < 2; ip++) {
                        size_t outer = outers[oi], axis = axes[ai],
                               inner = inners[ii];
                        if (axis > 100 && inner > 33)
                            continue;
                        size_t count = outer * axis * inner;
                        unsigned flags =
                            (ii + ai) % 2 ? SIMDNN_SOFTMAX_MASKED_ROW_ZERO : 0;
                        float *orig = xmalloc(count * sizeof(float));
                        fill(orig, count, 1, (gen_kind)((ii + ai) % 4), &rng);
                        for (size_t o = 0; o < outer; o++) {
                            float *xo = orig + o * axis * inner;
                            size_t col = rng_below(&rng, inner);
                            for (size_t a = 0; a < axis; a++)
                                xo[a * inner + col] = -INFINITY;
                            if (ip == 0 && inner > 2) {
                                size_t c2 = rng_below(&rng, inner);
                                xo[rng_below(&rng, axis) * inner + c2] =
                                    rng_below(&rng, 2) ? NAN : INFINITY;
                            }
                            xo[rng_below(&rng, axis) * inner +
                               rng_below(&rng, inner)] = -INFINITY;
                        }
                        size_t mis = (4 * (ii + ai)) % 64;
                        size_t mx = (ii + ai) % 4 < 2 ? GUARD_FLUSH : mis;
                        size_t my = (ii + ai) % 4 < 2 ? 60 - mis : GUARD_FLUSH;
                        float *x = guarded_alloc(count, mx);
                        float *y = ip ? x : guarded_alloc(count, my);
                        memcpy(x, orig, count * sizeof(float));
                        CHECK(axis_fns[lf](x, y, outer, axis, inner, flags) ==
                                  SIMDNN_SUCCESS,
                              "axis status");
                        char what[80];
                        snprintf(what, sizeof(what),
                                 "axis %zux%zux%zu%s flags=%u", outer, axis,
                                 inner, ip ? " in-place" : "", flags);
                        for (size_t o = 0; o < outer; o++)
                            for (size_t i = 0; i < inner; i++) {
                                size_t off = o * axis * inner + i;
                                oracle_check(orig + off, y + off, axis, inner,
                                             flags, lf, worst_of(lf), what);
                            }
                        if (!ip) {
                            CHECK(memcmp(x, orig, count * sizeof(float)) == 0,
                                  "%s: x modified", what);
                            guarded_free(y, count, my);
                        }
                        guarded_free(x, count, mx);
                        free(orig);
                    }
}

/* Every invalid argument: SIMDNN_INVALID_ARGUMENT and nothing written. */
static void test_invalid(void)
{
    const size_t n = 40, rows = 3, cap = 4 * 64;
    float *x = guarded_alloc(cap, 0);
    float *y = guarded_alloc(cap, 0);
    for (size_t i = 0; i < cap; i++)
        x[i] = (float)i * 0.01f;
    float *x_keep = xmalloc(cap * sizeof(float));
    memcpy(x_keep, x, cap * sizeof(float));
    for (int lf = 0; lf < 2; lf++) {
        row_fn f = row_fns[lf];
        axis_fn g = axis_fns[lf];
        const char *name = form_names[lf];
        struct {
            const char *what;
            simdnn_status got;
        } cases[] = {
            {"unknown flag 0x2", f(x, y, rows, n, 64, 64, 0x2u)},
            {"unknown flag 0x80000000", f(x, y, rows, n, 64, 64, 0x80000000u)},
            {"NULL x", f(NULL, y, rows, n, 64, 64, 0)},
            {"NULL y", f(x, NULL, rows, n, 64, 64, 0)},
            {"NULL x, one row", f(NULL, y, 1, n, n, n, 0)},
            {"x_stride < n", f(x, y, rows, n, n - 1, 64, 0)},
            {"y_stride < n", f(x, y, rows, n, 64, n - 1, 0)},
            {"y_stride < n, x_stride 0", f(x, y, 2, n, 0, 64, 0)},
            {"rows*stride overflows", f(x, y, SIZE_MAX / 2, n, 64, 64, 0)},
            {"n bytes overflow", f(x, y, 1, SIZE_MAX / 2, 0, 0, 0)},
            {"stride bytes overflow", f(x, y, 2, n, SIZE_MAX / 4 + 1, 64, 0)},
            {"span wraps the address space",
             f(x, y, 1, SIZE_MAX / 4 - 16, 0, 0, 0)},
            {"y = x + 1", f(x, x + 1, 1, n, n, n, 0)},
            {"y inside x rows", f(x, x + 64, rows, n, 64, 64, 0)},
            {"x inside y", f(x + 10, x, 1, n, n, n, 0)},
            {"in place, different strides", f(x, x, rows, n, 64, 48, 0)},
            {"axis: unknown flag", g(x, y, 2, 3, 4, 0x4u)},
            {"axis: NULL x", g(NULL, y, 2, 3, 4, 0)},
            {"axis: NULL y", g(x, NULL, 2, 3, 4, 0)},
            {"axis: overflow outer*axis", g(x, y, SIZE_MAX / 2, 3, 1, 0)},
            {"axis: overflow *inner", g(x, y, 1u << 20, 1u << 20, 1u << 30, 0)},
            {"axis: bytes overflow", g(x, y, 1, 1, SIZE_MAX / 2, 0)},
            {"axis: overlap", g(x, x + 3, 2, 3, 4, 0)},
            {"axis: overlap reversed", g(x + 5, x, 2, 3, 4, 0)},
        };
        /* y is the output of every case; x only of the overlap ones. */
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
            CHECK(cases[c].got == SIMDNN_INVALID_ARGUMENT, "%s: %s returned %d",
                  name, cases[c].what, (int)cases[c].got);
        CHECK(canary_intact(y, cap), "%s: an invalid call wrote y", name);
        CHECK(memcmp(x, x_keep, cap * sizeof(float)) == 0,
              "%s: an invalid call wrote x", name);

        /* Empty and degenerate-but-valid calls. */
        CHECK(f(NULL, NULL, 0, 5, 0, 0, 0) == SIMDNN_SUCCESS, "rows 0");
        CHECK(f(NULL, NULL, 5, 0, 0, 0, 0) == SIMDNN_SUCCESS, "n 0");
        CHECK(f(x, y, 0, n, 0, 0, 0) == SIMDNN_SUCCESS, "rows 0 non-NULL");
        CHECK(g(NULL, NULL, 0, 3, 4, 0) == SIMDNN_SUCCESS, "axis outer 0");
        CHECK(g(NULL, NULL, 3, 0, 4, 0) == SIMDNN_SUCCESS, "axis axis 0");
        CHECK(g(NULL, NULL, 3, 4, 0, 0) == SIMDNN_SUCCESS, "axis inner 0");
        CHECK(f(NULL, NULL, 0, 5, 0, 0, 0x2u) == SIMDNN_INVALID_ARGUMENT,
              "unknown flag with no data is still invalid");
        CHECK(canary_intact(y, cap), "%s: an empty call wrote y", name);
        /* One row: the strides are not used and may be anything. */
        CHECK(f(x, y, 1, n, 0, 3, 0) == SIMDNN_SUCCESS, "one row, stride 0");
        oracle_check(x, y, n, 1, 0, lf, worst_of(lf), "one row stride 0");
        canary_fill(y, cap);
    }
    free(x_keep);
    guarded_free(y, cap, 0);
    guarded_free(x, cap, 0);
}

static void run(void)
{
    test_case("lengths 1..160 x forms x in-place, guard pages", test_lengths);
    test_case("every input distribution", test_distributions);
    test_case("tile multiples and large rows", test_large);
    test_case("rows, strides, gaps, in place, row-split identity",
              test_rows_strides);
    test_case("special values in random lanes", test_special);
    test_case("long-row form: special values", test_long_special);
    test_case("general axis form", test_axis);
    test_case("invalid arguments write nothing", test_invalid);
    test_case("one row of 2^24", test_2p24);
    printf("worst softmax relative error %.3g (bound %.1g), worst "
           "log-softmax error %.3g (bound %.1g*(1+|y|))\n",
           worst_rel, SOFTMAX_REL_BOUND, worst_log, LOG_SOFTMAX_ABS_BOUND);
}

int main(int argc, char **argv)
{
    return test_main(argc, argv, SIMDNN_FAMILY_SOFTMAX, run);
}
