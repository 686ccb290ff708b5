/*
 * Positional encodings on one ISA (--isa): the table, the fused add and
 * RoPE against the double oracle (oracle.c), on every row width up to two
 * column blocks plus one pair, both layouts and styles, positions swept
 * near 2^20 and up to the 2^24 limit, the largest and smallest
 * frequencies, strides with padding that must stay untouched, buffers
 * ending at an unmapped page at every misalignment, sub-range calls that
 * must match one whole call bit for bit, and every invalid argument
 * (status and untouched canaries). Both traversals are covered: calls of
 * fewer than POSENC_WIDE_ROWS rows (stack slot, column blocks) and bigger
 * ones (whole-width heap slot), and rows wider than POSENC_WIDE_PAIRS
 * (stack slot prepared again per tile). Two negative controls show that
 * the checker fails a float-angle table and a single corrupted element.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle.h"
#include "posenc/posenc.h"
#include "test_util.h"

#define TABLE_BOUND 0x1p-24 /* the header's 5.96e-8 */
#define POS_2_20 ((size_t)1 << 20)
#define POS_MAX SIMDNN_POSENC_MAX_POSITION

static const simdnn_posenc_layout layouts[] = {SIMDNN_POSENC_INTERLEAVED,
                                               SIMDNN_POSENC_SPLIT};
static const simdnn_rope_style styles[] = {SIMDNN_ROPE_INTERLEAVED,
                                           SIMDNN_ROPE_HALF};
static const double bases[] = {2.0, 10000.0, 1e6};

static const char *layout_name(simdnn_posenc_layout layout)
{
    return layout == SIMDNN_POSENC_INTERLEAVED ? "interleaved" : "split";
}

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        abort();
    }
    return p;
}

/* The largest error of a table against the oracle and the number of
 * elements above `bound` (first offender reported through *where). */
struct table_errors {
    double max_err;
    size_t violations;
    size_t bad_row, bad_col;
    double bad_got, bad_want;
};

static struct table_errors table_errors(const float *t, size_t rows, size_t d,
                                        size_t stride, size_t offset,
                                        double base,
                                        simdnn_posenc_layout layout,
                                        double bound)
{
    struct table_errors e = {0};
    size_t half = d / 2;
    double *w = xmalloc(half * sizeof(double));
    double *ref = xmalloc(d * sizeof(double));
    for (size_t k = 0; k < half; k++)
        w[k] = oracle_frequency(base, k, d);
    for (size_t r = 0; r < rows; r++) {
        oracle_row_w(ref, offset + r, d, w, layout);
        for (size_t j = 0; j < d; j++) {
            double got = t[r * stride + j];
            double err = fabs(got - ref[j]);
            if (!(err <= bound)) {
                if (e.violations++ == 0) {
                    e.bad_row = r;
                    e.bad_col = j;
                    e.bad_got = got;
                    e.bad_want = ref[j];
                }
            }
            if (err > e.max_err || isnan(err))
                e.max_err = isnan(err) ? INFINITY : err;
        }
    }
    free(w);
    free(ref);
    return e;
}

/* Whether the padding between rows (columns d .. stride-1 of every row but
 * the last) still holds canaries. */
static bool padding_intact(const float *t, size_t rows, size_t d, size_t stride)
{
    for (size_t r = 0; r + 1 < rows; r++)
        if (!canary_intact(t + r * stride + d, stride - d))
            return false;
    return true;
}

static size_t span_of(size_t rows, size_t d, size_t stride)
{
    return rows == 0 ? 0 : (rows - 1) * stride + d;
}

static double max_table_error_seen = 0;

/* One table call into a guarded buffer, checked against the oracle. */
static void check_table_case(size_t rows, size_t d, size_t stride,
                             size_t offset, double base,
                             simdnn_posenc_layout layout, size_t misalign)
{
    size_t span = span_of(rows, d, stride);
    float *t = guarded_alloc(span, misalign);
    simdnn_status st =
        simdnn_posenc_table_f32(t, rows, d, stride, offset, base, layout);
    CHECK(st == SIMDNN_SUCCESS, "table d=%zu: status %d", d, (int)st);
    struct table_errors e =
        table_errors(t, rows, d, stride, offset, base, layout, TABLE_BOUND);
    if (e.max_err > max_table_error_seen)
        max_table_error_seen = e.max_err;
    CHECK(e.violations == 0,
          "table %s rows=%zu d=%zu stride=%zu offset=%zu base=%g "
          "misalign=%zu: %zu errors > 2^-24, max %.3g; first at row %zu "
          "col %zu: got %.9g want %.17g",
          layout_name(layout), rows, d, stride, offset, base, misalign,
          e.violations, e.max_err, e.bad_row, e.bad_col, e.bad_got, e.bad_want);
    CHECK(padding_intact(t, rows, d, stride),
          "table %s d=%zu stride=%zu: padding written", layout_name(layout), d,
          stride);
    guarded_free(t, span, misalign);
}

/* x += PE into a guarded buffer: bitwise the float sum of x and the
 * table's value, and within half an ulp plus 2^-24 of the exact sum. */
static void check_add_case(test_rng *rng, size_t rows, size_t d, size_t stride,
                           size_t offset, double base,
                           simdnn_posenc_layout layout, size_t misalign)
{
    size_t span = span_of(rows, d, stride);
    float *x = guarded_alloc(span, misalign);
    float *x0 = xmalloc(span * sizeof(float));
    float *pe = xmalloc(rows * d * sizeof(float));
    double *ref = xmalloc(d * sizeof(double));
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < d; j++)
            x[r * stride + j] = (float)(rng_normal(rng) * 4.0);
    memcpy(x0, x, span * sizeof(float));
    simdnn_status st =
        simdnn_posenc_table_f32(pe, rows, d, d, offset, base, layout);
    CHECK(st == SIMDNN_SUCCESS, "table for add: status %d", (int)st);
    st = simdnn_posenc_add_f32(x, rows, d, stride, offset, base, layout);
    CHECK(st == SIMDNN_SUCCESS, "add d=%zu: status %d", d, (int)st);
    size_t mismatches = 0, violations = 0;
    for (size_t r = 0; r < rows; r++) {
        oracle_row(ref, offset + r, d, base, layout);
        for (size_t j = 0; j < d; j++) {
            float got = x[r * stride + j];
            float want = x0[r * stride + j] + pe[r * d + j];
            if (memcmp(&got, &want, sizeof(float)) != 0 && mismatches++ == 0)
                CHECK(false,
                      "add %s d=%zu offset=%zu row %zu col %zu: %.9g is "
                      "not x + table = %.9g",
                      layout_name(layout), d, offset, r, j, got, want);
            double exact = (double)x0[r * stride + j] + ref[j];
            double err = fabs((double)got - exact);
            if (!(err <= TABLE_BOUND + oracle_half_ulp(got)) &&
                violations++ == 0)
                CHECK(false,
                      "add %s d=%zu offset=%zu row %zu col %zu: got %.9g, "
                      "exact %.17g",
                      layout_name(layout), d, offset, r, j, got, exact);
        }
    }
    CHECK(mismatches == 0 && violations == 0,
          "add %s rows=%zu d=%zu: %zu mismatches, %zu bound violations",
          layout_name(layout), rows, d, mismatches, violations);
    CHECK(padding_intact(x, rows, d, stride),
          "add %s d=%zu stride=%zu: padding written", layout_name(layout), d,
          stride);
    free(ref);
    free(pe);
    free(x0);
    guarded_free(x, span, misalign);
}

/* The RoPE bound: 2^-24 |r| + E (|u| + |v|), E = 2^-31 below 2^20 and
 * 2^-27 below 2^24 (the angle-sum error; scalar.c). */
static double rope_angle_term(size_t p)
{
    return p < POS_2_20 ? 0x1p-31 : 0x1p-27;
}

static void check_rope_case(test_rng *rng, size_t tokens, size_t heads,
                            size_t hd, size_t stride, size_t offset,
                            double base, simdnn_rope_style style,
                            size_t misalign, bool unit_pairs)
{
    size_t row = heads * hd, span = span_of(tokens, row, stride);
    size_t half = hd / 2;
    float *x = guarded_alloc(span, misalign);
    float *x0 = xmalloc(span * sizeof(float));
    double *w = xmalloc(half * sizeof(double));
    double *ref = xmalloc(hd * sizeof(double));
    for (size_t k = 0; k < half; k++)
        w[k] = oracle_frequency(base, k, hd);
    for (size_t t = 0; t < tokens; t++)
        for (size_t j = 0; j < row; j++) {
            float v = (float)rng_normal(rng);
            if (unit_pairs) {
                /* (u, v) = (1, 0): the outputs are cos and sin. */
                size_t jj = j % hd;
                bool is_u =
                    style == SIMDNN_ROPE_INTERLEAVED ? jj % 2 == 0 : jj < half;
                v = is_u ? 1.0f : 0.0f;
            }
            x[t * stride + j] = v;
        }
    memcpy(x0, x, span * sizeof(float));
    simdnn_status st =
        simdnn_rope_f32(x, tokens, heads, hd, stride, offset, base, style);
    CHECK(st == SIMDNN_SUCCESS, "rope: status %d", (int)st);
    size_t violations = 0;
    double max_err = 0;
    for (size_t t = 0; t < tokens; t++) {
        size_t p = offset + t;
        for (size_t h = 0; h < heads; h++) {
            const float *in = x0 + t * stride + h * hd;
            const float *out = x + t * stride + h * hd;
            oracle_rope_head(ref, in, p, hd, w, style);
            for (size_t k = 0; k < half; k++) {
                size_t iu = style == SIMDNN_ROPE_INTERLEAVED ? 2 * k : k;
                size_t iv =
                    style == SIMDNN_ROPE_INTERLEAVED ? 2 * k + 1 : k + half;
                double mag = fabs((double)in[iu]) + fabs((double)in[iv]);
                for (int q = 0; q < 2; q++) {
                    size_t i = q ? iv : iu;
                    double err = fabs((double)out[i] - ref[i]);
                    double bound = unit_pairs ? TABLE_BOUND
                                              : 0x1p-24 * fabs(ref[i]) +
                                                    rope_angle_term(p) * mag +
                                                    0x1p-149;
                    if (err > max_err || isnan(err))
                        max_err = isnan(err) ? INFINITY : err;
                    if (!(err <= bound) && violations++ == 0)
                        CHECK(false,
                              "rope %s%s hd=%zu heads=%zu p=%zu head %zu "
                              "elem %zu: got %.9g want %.17g (in %.9g, "
                              "%.9g)",
                              style == SIMDNN_ROPE_HALF ? "half"
                                                        : "interleaved",
                              unit_pairs ? " (unit)" : "", hd, heads, p, h, i,
                              out[i], ref[i], in[iu], in[iv]);
                }
            }
        }
    }
    CHECK(violations == 0,
          "rope style %d tokens=%zu heads=%zu hd=%zu stride=%zu offset=%zu "
          "base=%g: %zu violations, max error %.3g",
          (int)style, tokens, heads, hd, stride, offset, base, violations,
          max_err);
    CHECK(padding_intact(x, tokens, row, stride),
          "rope hd=%zu heads=%zu stride=%zu: padding written", hd, heads,
          stride);
    free(ref);
    free(w);
    free(x0);
    guarded_free(x, span, misalign);
}

static size_t random_misalign(test_rng *rng) { return guarded_misalign(rng); }

/* ---- cases ---- */

/* Every even width from 2 to two column blocks plus one pair (and around
 * the third block), both layouts, random padding, misalignment and
 * offset, buffers ending at an unmapped page. */
static void table_every_width(void)
{
    test_rng rng;
    test_rng_for(&rng, 1);
    size_t max_d = 4 * POSENC_TABLE_CB + 2;
    for (size_t d = 2; d <= max_d + 2 * POSENC_TABLE_CB; d += 2) {
        if (d > max_d && d % (2 * POSENC_TABLE_CB) > 2 &&
            d % (2 * POSENC_TABLE_CB) < 2 * POSENC_TABLE_CB - 2)
            continue;
        for (int l = 0; l < 4; l++) {
            /* A few rows (stack slot, column blocks of POSENC_TABLE_CB) or
             * enough for the whole-width heap slot. */
            size_t rows = l < 2 ? 1 + rng_below(&rng, 4)
                                : POSENC_WIDE_ROWS + rng_below(&rng, 3);
            size_t stride = d + (rng_below(&rng, 2) ? rng_below(&rng, 20) : 0);
            size_t offset = rng_below(&rng, 3) == 0
                                ? rng_below(&rng, 64)
                                : POS_2_20 - 1 - rng_below(&rng, 700);
            check_table_case(rows, d, stride, offset, bases[rng_below(&rng, 3)],
                             layouts[l % 2], random_misalign(&rng));
        }
    }
}

/* Every misalignment for a few tail widths, page-end buffers. */
static void table_misalignments(void)
{
    static const size_t widths[] = {2, 6, 14, 30, 34, 62, 66, 126, 130};
    for (size_t m = 0; m <= 64; m += 4)
        for (size_t i = 0; i < sizeof(widths) / sizeof(*widths); i++)
            for (int l = 0; l < 2; l++)
                check_table_case(3, widths[i], widths[i], 1000 + m, 10000.0,
                                 layouts[l], m < 64 ? m : GUARD_FLUSH);
}

/* Positions crossing block (16) and superblock (512) boundaries, near
 * 2^20 and up to the 2^24 limit, every base. */
static void table_position_sweeps(void)
{
    static const size_t offsets[] = {
        0, 1, 15, 511, POS_2_20 - 1100, POS_2_20 - 3, POS_MAX - 600};
    static const size_t widths[] = {64, 130, 1024};
    size_t rows = test_quick ? 540 : 1100;
    for (size_t o = 0; o < sizeof(offsets) / sizeof(*offsets); o++)
        for (size_t w = 0; w < 3; w++)
            for (size_t b = 0; b < 3; b++)
                for (int l = 0; l < 2; l++) {
                    size_t n = rows;
                    if (offsets[o] + n > POS_MAX)
                        n = POS_MAX - offsets[o];
                    if (offsets[o] == POS_2_20 - 3)
                        n = 6; /* across 2^20 */
                    if (widths[w] == 1024 && n > 64)
                        n = 64 + (offsets[o] % 7);
                    check_table_case(n, widths[w], widths[w], offsets[o],
                                     bases[b], layouts[l], 0);
                }
}

/* The widest models at the last positions below 2^20: every frequency
 * from w_0 = 1 (the largest angles) to the smallest. */
static void table_wide_near_2_20(void)
{
    size_t rows = test_quick ? 8 : 24;
    for (size_t b = 0; b < 3; b++)
        for (int l = 0; l < 2; l++) {
            check_table_case(rows, 16384, 16384, POS_2_20 - rows, bases[b],
                             layouts[l], 0);
            check_table_case(2, 16382, 16390, POS_2_20 - 40, bases[b],
                             layouts[l], 12);
        }
    /* Wider than the whole-width slot (POSENC_WIDE_PAIRS): the stack slot
     * is prepared again for every tile; rows cross a superblock. */
    for (int l = 0; l < 2; l++) {
        size_t d = 2 * POSENC_WIDE_PAIRS + 2;
        check_table_case(POSENC_WIDE_ROWS + 2, d, d, POS_2_20 - 5, 1e6,
                         layouts[l], 4);
    }
    printf("  max table error so far %.3g (bound %.3g)\n", max_table_error_seen,
           TABLE_BOUND);
}

/* Random positions below 2^20 (single rows, the decode case) and random
 * shapes, with other bases between 2 and 1e6. */
static void table_random(void)
{
    test_rng rng;
    test_rng_for(&rng, 2);
    int n = test_quick ? 40 : 150;
    for (int i = 0; i < n; i++) {
        size_t d = 2 * (1 + rng_below(&rng, 1200));
        size_t rows = 1 + rng_below(&rng, 40);
        size_t offset = rng_below(&rng, POS_2_20 - rows);
        double base = exp(rng_uniform(&rng, log(2.0), log(1e6)));
        check_table_case(rows, d, d + rng_below(&rng, 3), offset, base,
                         layouts[i & 1], random_misalign(&rng));
    }
    printf("  max table error %.3g (bound %.3g)\n", max_table_error_seen,
           TABLE_BOUND);
}

/* Calls over sub-ranges with the matching offsets give the same bits as
 * one call (no arithmetic depends on where a range starts). */
static void table_split_ranges(void)
{
    test_rng rng;
    test_rng_for(&rng, 3);
    for (int i = 0; i < 12; i++) {
        size_t d = 2 * (1 + rng_below(&rng, 300));
        size_t rows = 1 + rng_below(&rng, 1200);
        size_t offset = rng_below(&rng, 3) ? rng_below(&rng, POS_MAX - rows)
                                           : rng_below(&rng, 100);
        simdnn_posenc_layout layout = layouts[i & 1];
        float *whole = xmalloc(rows * d * sizeof(float));
        float *parts = xmalloc(rows * d * sizeof(float));
        simdnn_posenc_table_f32(whole, rows, d, d, offset, 10000.0, layout);
        for (size_t r = 0; r < rows;) {
            size_t n = 1 + rng_below(&rng, 40);
            if (n > rows - r)
                n = rows - r;
            simdnn_posenc_table_f32(parts + r * d, n, d, d, offset + r, 10000.0,
                                    layout);
            r += n;
        }
        CHECK(memcmp(whole, parts, rows * d * sizeof(float)) == 0,
              "table %s d=%zu rows=%zu offset=%zu: split calls differ",
              layout_name(layout), d, rows, offset);
        /* The same for the fused add on zeros: it must add the table. */
        memset(parts, 0, rows * d * sizeof(float));
        for (size_t r = 0; r < rows;) {
            size_t n = 1 + rng_below(&rng, 40);
            if (n > rows - r)
                n = rows - r;
            simdnn_posenc_add_f32(parts + r * d, n, d, d, offset + r, 10000.0,
                                  layout);
            r += n;
        }
        bool same = true;
        for (size_t j = 0; j < rows * d; j++)
            same &= parts[j] == whole[j];
        CHECK(same, "add %s d=%zu rows=%zu: 0 + PE is not the table",
              layout_name(layout), d, rows);
        free(whole);
        free(parts);
    }
}

/* A large table through the streaming-store path (aligned rows, more than
 * POSENC_STREAM_BYTES) and through the unaligned one. */
static void table_large(void)
{
    size_t rows = 1100, d = 1024;
    for (int l = 0; l < 2; l++) {
        check_table_case(rows, d, d, POS_2_20 - rows, 10000.0, layouts[l], 0);
        check_table_case(rows, d, d + 8, 5, 10000.0, layouts[l], 32);
        check_table_case(rows, d - 2, d + 3, 77, 10000.0, layouts[l], 4);
    }
}

static void add_every_width(void)
{
    test_rng rng;
    test_rng_for(&rng, 4);
    for (size_t d = 2; d <= 4 * POSENC_TABLE_CB + 2; d += 2)
        for (int l = 0; l < 4; l++) {
            size_t rows = l < 2 ? 1 + rng_below(&rng, 4)
                                : POSENC_WIDE_ROWS + rng_below(&rng, 3);
            size_t stride = d + (rng_below(&rng, 2) ? rng_below(&rng, 20) : 0);
            size_t offset =
                rng_below(&rng, 2) ? rng_below(&rng, 64) : POS_2_20 - 1 - d;
            check_add_case(&rng, rows, d, stride, offset,
                           bases[rng_below(&rng, 3)], layouts[l % 2],
                           random_misalign(&rng));
        }
    for (int l = 0; l < 2; l++) {
        check_add_case(&rng, POSENC_WIDE_ROWS + 1, 2 * POSENC_WIDE_PAIRS + 4,
                       2 * POSENC_WIDE_PAIRS + 4, 1024 - 16, 10000.0,
                       layouts[l], 0);
        check_add_case(&rng, 600, 1026, 1030, POS_2_20 - 600, 1e6, layouts[l],
                       8);
        check_add_case(&rng, 8, 16384, 16384, POS_MAX - 8, 2.0, layouts[l], 0);
    }
}

static void rope_every_width(void)
{
    test_rng rng;
    test_rng_for(&rng, 5);
    static const size_t wide[] = {126, 128, 130, 254, 256, 258, 510, 512, 514};
    for (int s = 0; s < 2; s++) {
        for (size_t hd = 2; hd <= 2 * 32 + 2 + 18; hd += 2) {
            size_t heads = 1 + rng_below(&rng, 3);
            size_t tokens = 1 + rng_below(&rng, 5);
            size_t stride =
                heads * hd + rng_below(&rng, 2) * rng_below(&rng, 9);
            size_t offset =
                rng_below(&rng, 2) ? rng_below(&rng, 100) : POS_2_20 - 3;
            check_rope_case(&rng, tokens, heads, hd, stride, offset,
                            bases[rng_below(&rng, 3)], styles[s],
                            random_misalign(&rng), false);
        }
        for (size_t i = 0; i < sizeof(wide) / sizeof(*wide); i++)
            check_rope_case(&rng, 3 + i % 3, 1 + i % 3, wide[i],
                            (1 + i % 3) * wide[i] + i % 2, POS_2_20 - 2,
                            bases[i % 3], styles[s], random_misalign(&rng),
                            false);
    }
}

/* Tokens across block (8) and superblock (64) boundaries near 2^20 and
 * the limit; 32 heads of 128 as in the big models; unit pairs whose
 * outputs are the angles' cos and sin under the table's bound. */
static void rope_positions(void)
{
    test_rng rng;
    test_rng_for(&rng, 6);
    static const size_t offsets[] = {0, 7, 63, POS_2_20 - 130, POS_MAX - 70};
    for (int s = 0; s < 2; s++)
        for (size_t o = 0; o < sizeof(offsets) / sizeof(*offsets); o++)
            for (size_t b = 0; b < 3; b++) {
                size_t tokens = offsets[o] + 130 > POS_MAX ? 70 : 130;
                check_rope_case(&rng, tokens, 3, 64, 3 * 64, offsets[o],
                                bases[b], styles[s], 0, false);
                check_rope_case(&rng, tokens, 1, 96, 96, offsets[o], bases[b],
                                styles[s], 4, true);
            }
    for (int s = 0; s < 2; s++) {
        check_rope_case(&rng, test_quick ? 4 : 16, 32, 128, 32 * 128,
                        POS_2_20 - 16, 10000.0, styles[s], 0, false);
        check_rope_case(&rng, 3, 2, 16384, 2 * 16384, POS_2_20 - 3, 1e6,
                        styles[s], 0, true);
        check_rope_case(&rng, 3, 2, 16384, 2 * 16384 + 1, POS_2_20 - 3, 2.0,
                        styles[s], 4, false);
    }
}

static void rope_split_ranges(void)
{
    test_rng rng;
    test_rng_for(&rng, 7);
    for (int i = 0; i < 8; i++) {
        size_t hd = 2 * (1 + rng_below(&rng, 150)), heads = 1 + i % 3;
        size_t tokens = 1 + rng_below(&rng, 200), row = heads * hd;
        size_t offset = rng_below(&rng, POS_MAX - tokens);
        simdnn_rope_style style = styles[i & 1];
        float *a = xmalloc(tokens * row * sizeof(float));
        float *b = xmalloc(tokens * row * sizeof(float));
        for (size_t j = 0; j < tokens * row; j++)
            a[j] = b[j] = (float)rng_normal(&rng);
        simdnn_rope_f32(a, tokens, heads, hd, row, offset, 10000.0, style);
        for (size_t t = 0; t < tokens;) {
            size_t n = 1 + rng_below(&rng, 20);
            if (n > tokens - t)
                n = tokens - t;
            simdnn_rope_f32(b + t * row, n, heads, hd, row, offset + t, 10000.0,
                            style);
            t += n;
        }
        CHECK(memcmp(a, b, tokens * row * sizeof(float)) == 0,
              "rope style %d hd=%zu tokens=%zu offset=%zu: split calls "
              "differ",
              (int)style, hd, tokens, offset);
        free(a);
        free(b);
    }
}

/* ---- invalid arguments ---- */

#define BUF 256

static void expect_invalid_table(const char *what, float *buf, float *tbl,
                                 size_t positions, size_t d, size_t stride,
                                 size_t offset, double base,
                                 simdnn_posenc_layout layout)
{
    canary_fill(buf, BUF);
    simdnn_status st = simdnn_posenc_table_f32(tbl, positions, d, stride,
                                               offset, base, layout);
    CHECK(st == SIMDNN_INVALID_ARGUMENT, "table %s: status %d", what, (int)st);
    CHECK(canary_intact(buf, BUF), "table %s: output written", what);
    st = simdnn_posenc_add_f32(tbl, positions, d, stride, offset, base, layout);
    CHECK(st == SIMDNN_INVALID_ARGUMENT, "add %s: status %d", what, (int)st);
    CHECK(canary_intact(buf, BUF), "add %s: output written", what);
}

static void expect_invalid_rope(const char *what, float *buf, float *x,
                                size_t tokens, size_t heads, size_t hd,
                                size_t stride, size_t offset, double base,
                                simdnn_rope_style style)
{
    canary_fill(buf, BUF);
    simdnn_status st =
        simdnn_rope_f32(x, tokens, heads, hd, stride, offset, base, style);
    CHECK(st == SIMDNN_INVALID_ARGUMENT, "rope %s: status %d", what, (int)st);
    CHECK(canary_intact(buf, BUF), "rope %s: output written", what);
}

static void invalid_arguments(void)
{
    float *buf = guarded_alloc(BUF, 0);
    const double bad_bases[] = {1.0,  0.999, 0.5,      0.0,      -0.0,
                                -2.0, NAN,   INFINITY, -INFINITY};
    const size_t huge = SIZE_MAX / 2;
    /* Table and fused add (same rules). */
    expect_invalid_table("NULL", buf, NULL, 2, 4, 4, 0, 10000.0,
                         SIMDNN_POSENC_INTERLEAVED);
    expect_invalid_table("odd d_model", buf, buf, 2, 5, 5, 0, 10000.0,
                         SIMDNN_POSENC_INTERLEAVED);
    expect_invalid_table("odd d_model, 0 rows", buf, buf, 0, 3, 3, 0, 10000.0,
                         SIMDNN_POSENC_SPLIT);
    expect_invalid_table("stride < d_model", buf, buf, 2, 8, 6, 0, 10000.0,
                         SIMDNN_POSENC_SPLIT);
    for (size_t i = 0; i < sizeof(bad_bases) / sizeof(*bad_bases); i++)
        expect_invalid_table("bad base", buf, buf, 2, 8, 8, 0, bad_bases[i],
                             SIMDNN_POSENC_INTERLEAVED);
    expect_invalid_table("offset at the limit", buf, buf, 1, 8, 8, POS_MAX,
                         10000.0, SIMDNN_POSENC_INTERLEAVED);
    expect_invalid_table("offset + positions past the limit", buf, buf, 2, 8, 8,
                         POS_MAX - 1, 10000.0, SIMDNN_POSENC_SPLIT);
    expect_invalid_table("offset SIZE_MAX", buf, buf, 1, 8, 8, SIZE_MAX,
                         10000.0, SIMDNN_POSENC_SPLIT);
    expect_invalid_table("positions SIZE_MAX", buf, buf, SIZE_MAX, 8, 8, 0,
                         10000.0, SIMDNN_POSENC_SPLIT);
    expect_invalid_table("layout 2", buf, buf, 2, 8, 8, 0, 10000.0,
                         (simdnn_posenc_layout)2);
    expect_invalid_table("layout -1", buf, buf, 2, 8, 8, 0, 10000.0,
                         (simdnn_posenc_layout)-1);
    expect_invalid_table("size overflow", buf, buf, 1000, 8, huge, 0, 10000.0,
                         SIMDNN_POSENC_INTERLEAVED);
    expect_invalid_table("bytes overflow", buf, buf, 1, huge & ~(size_t)1, huge,
                         0, 10000.0, SIMDNN_POSENC_INTERLEAVED);
    expect_invalid_table("address wrap", buf, (float *)(UINTPTR_MAX - 63), 1,
                         64, 64, 0, 10000.0, SIMDNN_POSENC_INTERLEAVED);
    /* RoPE. */
    expect_invalid_rope("NULL", buf, NULL, 2, 2, 4, 8, 0, 10000.0,
                        SIMDNN_ROPE_HALF);
    expect_invalid_rope("odd head_dim", buf, buf, 2, 2, 5, 10, 0, 10000.0,
                        SIMDNN_ROPE_HALF);
    expect_invalid_rope("stride < heads*head_dim", buf, buf, 2, 2, 8, 15, 0,
                        10000.0, SIMDNN_ROPE_INTERLEAVED);
    for (size_t i = 0; i < sizeof(bad_bases) / sizeof(*bad_bases); i++)
        expect_invalid_rope("bad base", buf, buf, 2, 2, 8, 16, 0, bad_bases[i],
                            SIMDNN_ROPE_INTERLEAVED);
    expect_invalid_rope("offset past the limit", buf, buf, 3, 1, 8, 8,
                        POS_MAX - 2, 10000.0, SIMDNN_ROPE_HALF);
    expect_invalid_rope("style 2", buf, buf, 2, 2, 8, 16, 0, 10000.0,
                        (simdnn_rope_style)2);
    expect_invalid_rope("heads*head_dim overflow", buf, buf, 1, huge, 4, huge,
                        0, 10000.0, SIMDNN_ROPE_HALF);
    expect_invalid_rope("size overflow", buf, buf, 1000, 1, 8, huge, 0, 10000.0,
                        SIMDNN_ROPE_HALF);
    /* Valid edge cases: empty calls with NULL, the last position. */
    CHECK(simdnn_posenc_table_f32(NULL, 0, 8, 8, 0, 10000.0,
                                  SIMDNN_POSENC_SPLIT) == SIMDNN_SUCCESS,
          "empty table with NULL");
    CHECK(simdnn_posenc_table_f32(NULL, 5, 0, 0, 0, 10000.0,
                                  SIMDNN_POSENC_SPLIT) == SIMDNN_SUCCESS,
          "d_model 0 with NULL");
    CHECK(simdnn_posenc_add_f32(NULL, 0, 8, 0, POS_MAX, 10000.0,
                                SIMDNN_POSENC_SPLIT) == SIMDNN_SUCCESS,
          "empty add at the limit");
    CHECK(simdnn_rope_f32(NULL, 4, 0, 8, 0, 0, 10000.0, SIMDNN_ROPE_HALF) ==
              SIMDNN_SUCCESS,
          "rope with no heads");
    canary_fill(buf, BUF);
    CHECK(simdnn_posenc_table_f32(buf, 1, 8, 0, POS_MAX - 1, 10000.0,
                                  SIMDNN_POSENC_SPLIT) == SIMDNN_SUCCESS,
          "one row at the last position, stride 0");
    CHECK(canary_intact(buf + 8, BUF - 8), "one row wrote past itself");
    guarded_free(buf, BUF, 0);
    check_table_case(1, 8, 8, POS_MAX - 1, 1e6, SIMDNN_POSENC_SPLIT, 0);
}

/* ---- negative controls: the checks can fail ---- */

static void negative_controls(void)
{
    /* A float32-angle table (what most engines do) near 2^20. */
    size_t rows = 16, d = 512, offset = POS_2_20 - rows;
    float *t = xmalloc(rows * d * sizeof(float));
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < d / 2; k++) {
            float angle =
                (float)(offset + r) * (float)oracle_frequency(10000.0, k, d);
            t[r * d + 2 * k] = sinf(angle);
            t[r * d + 2 * k + 1] = cosf(angle);
        }
    struct table_errors e = table_errors(
        t, rows, d, d, offset, 10000.0, SIMDNN_POSENC_INTERLEAVED, TABLE_BOUND);
    printf("  float32-angle table near 2^20: max error %.3g, %zu of %zu "
           "elements above 2^-24\n",
           e.max_err, e.violations, rows * d);
    CHECK(e.violations > 0 && e.max_err > 1e-3,
          "the checker did not catch a float32-angle table");
    /* One element of a correct table off by 2^-23 (two ulps near 1). */
    simdnn_posenc_table_f32(t, rows, d, d, offset, 10000.0,
                            SIMDNN_POSENC_SPLIT);
    e = table_errors(t, rows, d, d, offset, 10000.0, SIMDNN_POSENC_SPLIT,
                     TABLE_BOUND);
    CHECK(e.violations == 0, "the kernel's table itself fails");
    size_t at = 5 * d + 300;
    t[at] += t[at] > 0 ? -0x1p-23f : 0x1p-23f;
    e = table_errors(t, rows, d, d, offset, 10000.0, SIMDNN_POSENC_SPLIT,
                     TABLE_BOUND);
    CHECK(e.violations == 1 && e.bad_row == 5 && e.bad_col == 300,
          "the checker missed one element off by 2^-23 (%zu found)",
          e.violations);
    free(t);
}

static void run(void)
{
    test_case("table_every_width", table_every_width);
    test_case("table_misalignments", table_misalignments);
    test_case("table_position_sweeps", table_position_sweeps);
    test_case("table_wide_near_2_20", table_wide_near_2_20);
    test_case("table_random", table_random);
    test_case("table_split_ranges", table_split_ranges);
    test_case("table_large", table_large);
    test_case("add_every_width", add_every_width);
    test_case("rope_every_width", rope_every_width);
    test_case("rope_positions", rope_positions);
    test_case("rope_split_ranges", rope_split_ranges);
    test_case("invalid_arguments", invalid_arguments);
    test_case("negative_controls", negative_controls);
}

int main(int argc, char **argv)
{
    return test_main(argc, argv, SIMDNN_FAMILY_POSENC, run);
}
