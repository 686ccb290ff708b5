/*
 * Positional encodings, scalar reference: the production fallback and the
 * statement of the algorithm every SIMD unit mirrors.
 *
 * The problem. PE(p, k) = sin, cos(p * w_k) with w_k = base^(-2k/d) must
 * be within 2^-24 of sin, cos of the double product p * w_k for p < 2^20
 * (and by construction up to 2^24). Rounding the result to float alone
 * costs up to 2^-25, so everything before it must be far more accurate
 * than that: a float angle p*w is off by up to ulp(2^20)/2 = 2^-4 rad, and
 * even one double sincos per element (8-9 ns) is too slow. The algorithm:
 *
 *  1. Frequencies. w_k = pow(base, -(2k)/d) in double (posenc_frequency),
 *     once per column per call.
 *  2. Offset tables. Per column, T0[k] ~ sc(k*w) for k < K0 and T1[i] ~
 *     sc(i*K0*w) for i < K1, where sc is SLEEF's double sincos u35
 *     (below 3.5 ulp for arguments up to 1e14; 40% faster than u10 and
 *     just as adequate here) of an angle rounded once from an exact integer
 *     times w: T0[1] = sc(w), T1[1] = sc(K0*w), and every further entry is
 *     the previous one rotated by entry 1 (step 4's identities), up to the
 *     last entry the call's positions use. That costs two SLEEF calls per
 *     column and call instead of K0 + K1.
 *  3. Superblocks. Positions are split at multiples of K0*K1 (absolute, so
 *     an element's value depends only on its position and column); at each
 *     superblock start S, sc(S*w) by SLEEF.
 *  4. Blocks. At each block start B = S + i*K0, its sin and cos by the
 *     angle-addition identities from S and table entry i, in double:
 *       sin B = fma(sin S, cos iK0w, cos S * sin iK0w)
 *       cos B = fma(cos S, cos iK0w, -(sin S * sin iK0w)).
 *  5. Rows. Row p = B + k is rotated from B by entry k of the other table
 *     with the same identities, in double, and rounded to float once: the
 *     table stores it, the fused add adds it to x in one float addition,
 *     RoPE rotates (u, v) by it in double and rounds the outputs once.
 *
 * Error. The angles S*w, K0*w and w are each one rounded product, so the
 * angle the construction represents is within 2^-52 p*w <= 2^-32 (p <
 * 2^20; 2^-28 at 2^24) of the double product p*w. The SLEEF results (< 3.5
 * ulp each) and the rotations (< 2 ulp each on values in [-1, 1]; T1[31]
 * is 30 rotations deep, T0[15] 14, a row 2 more) add below 2^-46. Before
 * the final rounding the double value is thus within about 2^-31 of
 * sin(p*w), far below the 2^-25 the rounding leaves: the bound is 2^-25 +
 * 2^-31 < 2^-24 (and 2^-25 + 2^-27 < 2^-24 up to 2^24). RoPE: the
 * rotation of (u, v) in double (one product and one FMA) adds about
 * 2^-52 (|u| + |v|); the outputs are rounded once, so each is within
 * 2^-24 |r| + 2^-31 (|u| + |v|) of the exact rotation r (2^-27 above
 * 2^20).
 *
 * Cost per element: two double multiplies, two FMAs and a conversion; the
 * SLEEF call of step 3 is amortized over K0*K1 = 512 rows and the
 * rotation of step 4 over K0 = 16 rows (RoPE: 8 x 8, its angles serving
 * every head).
 *
 * Traversal (posenc.h). Steps 1 and 2 fill a slot per column block; rows
 * are produced superblock by superblock, each whole when one slot covers
 * the row (heap, big calls) or column block by column block (stack slot
 * of POSENC_TABLE_CB pairs, small calls). The same values come out
 * either way: every step is elementwise over the columns.
 */
#include <sleef.h>

#include "posenc/posenc.h"

static void sincos_row_scalar(double *s, double *c, const double *w, size_t n,
                              double m)
{
    for (size_t j = 0; j < n; j++) {
        Sleef_double2 sc = Sleef_sincos_u35(m * w[j]);
        s[j] = sc.x;
        c[j] = sc.y;
    }
}

static void rotate_row_scalar(double *rs, double *rc, const double *as,
                              const double *ac, const double *bs,
                              const double *bc, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        double sa = as[j], ca = ac[j], sb = bs[j], cb = bc[j];
        rs[j] = fma(sa, cb, ca * sb);
        rc[j] = fma(ca, cb, -(sa * sb));
    }
}

/* ---- tables and the fused add ---- */

struct table_ctx {
    float *out;
    size_t row_stride, j0, half;
    size_t pairs;
    simdnn_posenc_layout layout;
    int add;
};

/* Step 5 for the table and the fused add. */
static void table_row_scalar(void *opaque, size_t row, const double *bs,
                             const double *bc, const double *ks,
                             const double *kc)
{
    struct table_ctx *t = opaque;
    float *out = t->out + row * t->row_stride;
    size_t n = t->pairs;
    for (size_t j = 0; j < n; j++) {
        float s = (float)fma(bs[j], kc[j], bc[j] * ks[j]);
        float c = (float)fma(bc[j], kc[j], -(bs[j] * ks[j]));
        float *ps, *pc;
        if (t->layout == SIMDNN_POSENC_INTERLEAVED) {
            ps = out + 2 * (t->j0 + j);
            pc = ps + 1;
        } else {
            ps = out + t->j0 + j;
            pc = ps + t->half;
        }
        if (t->add) {
            *ps += s;
            *pc += c;
        } else {
            *ps = s;
            *pc = c;
        }
    }
}

static void table_column_scalar(void *opaque, size_t j0, size_t pairs)
{
    struct table_ctx *t = opaque;
    t->j0 = j0;
    t->pairs = pairs;
}

static void table_any_scalar(float *out, size_t positions, size_t d_model,
                             size_t row_stride, size_t position_offset,
                             double base, simdnn_posenc_layout layout, int add)
{
    enum { K0 = POSENC_TABLE_K0, K1 = POSENC_TABLE_K1, CB = POSENC_TABLE_CB };
    _Alignas(64) double slot[POSENC_SLOT_DOUBLES(K0, K1, CB)];
    struct posenc_plan plan = {
        .sincos = sincos_row_scalar,
        .rotate = rotate_row_scalar,
        .column = table_column_scalar,
        .row = table_row_scalar,
        .width = 1,
        .k0 = K0,
        .k1 = K1,
        .cb = CB,
        .d = d_model,
        .base = base,
    };
    struct table_ctx t = {.out = out,
                          .row_stride = row_stride,
                          .half = d_model / 2,
                          .layout = layout,
                          .add = add};
    double *heap = posenc_wide_slot(&plan, positions);
    posenc_tiles(&plan, position_offset, positions, heap ? heap : slot, &t);
    free(heap);
}

static void posenc_table_f32_scalar(float *table, size_t positions,
                                    size_t d_model, size_t row_stride,
                                    size_t position_offset, double base,
                                    simdnn_posenc_layout layout)
{
    table_any_scalar(table, positions, d_model, row_stride, position_offset,
                     base, layout, 0);
}

static void posenc_add_f32_scalar(float *x, size_t positions, size_t d_model,
                                  size_t row_stride, size_t position_offset,
                                  double base, simdnn_posenc_layout layout)
{
    table_any_scalar(x, positions, d_model, row_stride, position_offset, base,
                     layout, 1);
}

/* ---- RoPE ---- */

struct rope_ctx {
    float *x;
    size_t token_stride, heads, head_dim, j0;
    size_t pairs;
    simdnn_rope_style style;
};

/* Step 5 for RoPE: the token's sin and cos stay in double; each pair
 * (u, v) of every head becomes (fma(u, c, -(v*s)), fma(v, c, u*s)),
 * rounded once. */
static void rope_row_scalar(void *opaque, size_t row, const double *bs,
                            const double *bc, const double *ks,
                            const double *kc)
{
    struct rope_ctx *r = opaque;
    size_t n = r->pairs, half = r->head_dim / 2;
    double s[POSENC_ROPE_CB], c[POSENC_ROPE_CB];
    rotate_row_scalar(s, c, bs, bc, ks, kc, n);
    float *token = r->x + row * r->token_stride;
    for (size_t h = 0; h < r->heads; h++) {
        float *head = token + h * r->head_dim;
        for (size_t j = 0; j < n; j++) {
            float *pu, *pv;
            if (r->style == SIMDNN_ROPE_INTERLEAVED) {
                pu = head + 2 * (r->j0 + j);
                pv = pu + 1;
            } else {
                pu = head + r->j0 + j;
                pv = pu + half;
            }
            double u = *pu, v = *pv;
            *pu = (float)fma(u, c[j], -(v * s[j]));
            *pv = (float)fma(v, c[j], u * s[j]);
        }
    }
}

static void rope_column_scalar(void *opaque, size_t j0, size_t pairs)
{
    struct rope_ctx *r = opaque;
    r->j0 = j0;
    r->pairs = pairs;
}

static void rope_f32_scalar(float *x, size_t tokens, size_t heads,
                            size_t head_dim, size_t token_stride,
                            size_t position_offset, double base,
                            simdnn_rope_style style)
{
    enum { K0 = POSENC_ROPE_K0, K1 = POSENC_ROPE_K1, CB = POSENC_ROPE_CB };
    _Alignas(64) double slot[POSENC_SLOT_DOUBLES(K0, K1, CB)];
    struct posenc_plan plan = {
        .sincos = sincos_row_scalar,
        .rotate = rotate_row_scalar,
        .column = rope_column_scalar,
        .row = rope_row_scalar,
        .width = 1,
        .k0 = K0,
        .k1 = K1,
        .cb = CB,
        .d = head_dim,
        .base = base,
    };
    struct rope_ctx r = {.x = x,
                         .token_stride = token_stride,
                         .heads = heads,
                         .head_dim = head_dim,
                         .style = style};
    posenc_tiles(&plan, position_offset, tokens, slot, &r);
}

SIMDNN_INTERNAL const struct posenc_ops posenc_ops_scalar = {
    .table = posenc_table_f32_scalar,
    .add = posenc_add_f32_scalar,
    .rope = rope_f32_scalar,
};
