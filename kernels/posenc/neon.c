/*
 * Positional encodings, NEON (aarch64 Advanced SIMD): the algorithm of
 * scalar.c (steps 1 to 5), two doubles per vector, SLEEF's
 * Sleef_sincosd2_u35advsimd for the block-start angles. Only what is
 * ISA-specific is explained here.
 *
 * Step 5 per 4 pairs: 4 multiplies + 4 FMAs (+ 2 negations) on 2 doubles,
 * 2 narrowing conversion pairs, and one vst2q (interleaved: the store
 * itself zips sin and cos) or two vst1q (split). RoPE's GPT-J pairs are
 * split into u and v by vld2q and zipped back by vst2q, so no lane
 * shuffles are needed. NEON has no masked loads or stores: a tail of
 * fewer than 4 pairs goes through a small stack buffer, copying in and out
 * only the floats that belong to the row, with the same vector arithmetic
 * (the values do not depend on the length). Regular stores only (no
 * non-temporal hint through the intrinsics).
 */
#include <arm_neon.h>
#include <sleef.h>
#include <string.h>

#include "posenc/posenc.h"

/* Pairs per step of the row loops; the tables are padded to it. */
#define STEP 4

static size_t padded_pairs(size_t pairs)
{
    return (pairs + STEP - 1) / STEP * STEP;
}

static void sincos_row_neon(double *s, double *c, const double *w, size_t n,
                            double m)
{
    float64x2_t vm = vdupq_n_f64(m);
    for (size_t j = 0; j < n; j += 2) {
        Sleef_float64x2_t_2 vsc =
            Sleef_sincosd2_u35advsimd(vmulq_f64(vm, vld1q_f64(w + j)));
        vst1q_f64(s + j, vsc.x);
        vst1q_f64(c + j, vsc.y);
    }
}

/* sin = fma(as, bc, ac*bs), cos = fma(ac, bc, -(as*bs)) as in scalar.c
 * (vfmaq_f64(a, b, c) is a + b*c, rounded once). */
static inline void rotate2_neon(float64x2_t vas, float64x2_t vac,
                                float64x2_t vbs, float64x2_t vbc,
                                float64x2_t *vsin, float64x2_t *vcos)
{
    *vsin = vfmaq_f64(vmulq_f64(vac, vbs), vas, vbc);
    *vcos = vfmaq_f64(vnegq_f64(vmulq_f64(vas, vbs)), vac, vbc);
}

static void rotate_row_neon(double *rs, double *rc, const double *as,
                            const double *ac, const double *bs,
                            const double *bc, size_t n)
{
    for (size_t j = 0; j < n; j += 2) {
        float64x2_t vsin, vcos;
        rotate2_neon(vld1q_f64(as + j), vld1q_f64(ac + j), vld1q_f64(bs + j),
                     vld1q_f64(bc + j), &vsin, &vcos);
        vst1q_f64(rs + j, vsin);
        vst1q_f64(rc + j, vcos);
    }
}

/* Step 5 for 4 pairs: sin and cos of the rows, rounded to float. */
static inline void row_values_neon(const double *bs, const double *bc,
                                   const double *ks, const double *kc,
                                   float32x4_t *vsin, float32x4_t *vcos)
{
    float64x2_t vs_lo, vc_lo, vs_hi, vc_hi;
    rotate2_neon(vld1q_f64(bs), vld1q_f64(bc), vld1q_f64(ks), vld1q_f64(kc),
                 &vs_lo, &vc_lo);
    rotate2_neon(vld1q_f64(bs + 2), vld1q_f64(bc + 2), vld1q_f64(ks + 2),
                 vld1q_f64(kc + 2), &vs_hi, &vc_hi);
    *vsin = vcvt_high_f32_f64(vcvt_f32_f64(vs_lo), vs_hi);
    *vcos = vcvt_high_f32_f64(vcvt_f32_f64(vc_lo), vc_hi);
}

/* ---- tables and the fused add ---- */

struct table_ctx {
    float *out;
    size_t row_stride, j0, half, pairs;
    simdnn_posenc_layout layout;
    int add;
};

/* p[i] = v[i] (or p[i] += v[i]) for i < n: the tail of a row. */
static void put_partial_neon(float *p, const float *v, size_t n, int add)
{
    for (size_t i = 0; i < n; i++)
        p[i] = add ? p[i] + v[i] : v[i];
}

static void table_row_neon(void *opaque, size_t row, const double *bs,
                           const double *bc, const double *ks, const double *kc)
{
    const struct table_ctx *t = opaque;
    float *out = t->out + row * t->row_stride;
    int add = t->add;
    for (size_t j = 0; j < t->pairs; j += STEP) {
        float32x4x2_t vsc;
        row_values_neon(bs + j, bc + j, ks + j, kc + j, &vsc.val[0],
                        &vsc.val[1]);
        size_t left = t->pairs - j;
        if (t->layout == SIMDNN_POSENC_INTERLEAVED) {
            float *p = out + 2 * (t->j0 + j);
            if (left >= STEP) {
                if (add) {
                    float32x4x2_t vx = vld2q_f32(p);
                    vsc.val[0] = vaddq_f32(vx.val[0], vsc.val[0]);
                    vsc.val[1] = vaddq_f32(vx.val[1], vsc.val[1]);
                }
                vst2q_f32(p, vsc);
            } else {
                float tmp[2 * STEP];
                vst2q_f32(tmp, vsc);
                put_partial_neon(p, tmp, 2 * left, add);
            }
        } else {
            float *p = out + t->j0 + j;
            if (left >= STEP) {
                if (add) {
                    vsc.val[0] = vaddq_f32(vld1q_f32(p), vsc.val[0]);
                    vsc.val[1] = vaddq_f32(vld1q_f32(p + t->half), vsc.val[1]);
                }
                vst1q_f32(p, vsc.val[0]);
                vst1q_f32(p + t->half, vsc.val[1]);
            } else {
                float tmp[2 * STEP];
                vst1q_f32(tmp, vsc.val[0]);
                vst1q_f32(tmp + STEP, vsc.val[1]);
                put_partial_neon(p, tmp, left, add);
                put_partial_neon(p + t->half, tmp + STEP, left, add);
            }
        }
    }
}

static void table_column_neon(void *opaque, size_t j0, size_t pairs)
{
    struct table_ctx *t = opaque;
    t->j0 = j0;
    t->pairs = pairs;
}

static void table_any_neon(float *out, size_t positions, size_t d_model,
                           size_t row_stride, size_t position_offset,
                           double base, simdnn_posenc_layout layout, int add)
{
    enum { K0 = POSENC_TABLE_K0, K1 = POSENC_TABLE_K1, CB = POSENC_TABLE_CB };
    _Alignas(64) double slot[POSENC_SLOT_DOUBLES(K0, K1, CB)];
    struct posenc_plan plan = {
        .sincos = sincos_row_neon,
        .rotate = rotate_row_neon,
        .column = table_column_neon,
        .row = table_row_neon,
        .width = STEP,
        .k0 = K0,
        .k1 = K1,
        .cb = CB,
        .d = d_model,
        .base = base,
    };
    size_t half = d_model / 2;
    struct table_ctx t = {.out = out,
                          .row_stride = row_stride,
                          .half = half,
                          .layout = layout,
                          .add = add};
    double *heap = posenc_wide_slot(&plan, positions);
    posenc_tiles(&plan, position_offset, positions, heap ? heap : slot, &t);
    free(heap);
}

static void posenc_table_f32_neon(float *table, size_t positions,
                                  size_t d_model, size_t row_stride,
                                  size_t position_offset, double base,
                                  simdnn_posenc_layout layout)
{
    table_any_neon(table, positions, d_model, row_stride, position_offset, base,
                   layout, 0);
}

static void posenc_add_f32_neon(float *x, size_t positions, size_t d_model,
                                size_t row_stride, size_t position_offset,
                                double base, simdnn_posenc_layout layout)
{
    table_any_neon(x, positions, d_model, row_stride, position_offset, base,
                   layout, 1);
}

/* ---- RoPE ---- */

struct rope_ctx {
    float *x;
    size_t token_stride, heads, head_dim, j0, pairs;
    simdnn_rope_style style;
};

/* 4 pairs (u, v) -> (fma(u, c, -(v*s)), fma(v, c, u*s)), in double. */
static inline void rope4_neon(float32x4_t *vu, float32x4_t *vv, const double *c,
                              const double *s)
{
    float64x2_t vu_lo = vcvt_f64_f32(vget_low_f32(*vu));
    float64x2_t vu_hi = vcvt_high_f64_f32(*vu);
    float64x2_t vv_lo = vcvt_f64_f32(vget_low_f32(*vv));
    float64x2_t vv_hi = vcvt_high_f64_f32(*vv);
    float64x2_t vc_lo = vld1q_f64(c), vc_hi = vld1q_f64(c + 2);
    float64x2_t vs_lo = vld1q_f64(s), vs_hi = vld1q_f64(s + 2);
    float64x2_t vru_lo =
        vfmaq_f64(vnegq_f64(vmulq_f64(vv_lo, vs_lo)), vu_lo, vc_lo);
    float64x2_t vru_hi =
        vfmaq_f64(vnegq_f64(vmulq_f64(vv_hi, vs_hi)), vu_hi, vc_hi);
    float64x2_t vrv_lo = vfmaq_f64(vmulq_f64(vu_lo, vs_lo), vv_lo, vc_lo);
    float64x2_t vrv_hi = vfmaq_f64(vmulq_f64(vu_hi, vs_hi), vv_hi, vc_hi);
    *vu = vcvt_high_f32_f64(vcvt_f32_f64(vru_lo), vru_hi);
    *vv = vcvt_high_f32_f64(vcvt_f32_f64(vrv_lo), vrv_hi);
}

static void rope_head_interleaved_neon(float *head, const double *c,
                                       const double *s, size_t pairs)
{
    for (size_t j = 0; j < pairs; j += STEP) {
        float *p = head + 2 * j;
        size_t left = pairs - j;
        if (left >= STEP) {
            float32x4x2_t vx = vld2q_f32(p);
            rope4_neon(&vx.val[0], &vx.val[1], c + j, s + j);
            vst2q_f32(p, vx);
        } else {
            float tmp[2 * STEP] = {0};
            memcpy(tmp, p, 2 * left * sizeof(float));
            float32x4x2_t vx = vld2q_f32(tmp);
            rope4_neon(&vx.val[0], &vx.val[1], c + j, s + j);
            vst2q_f32(tmp, vx);
            memcpy(p, tmp, 2 * left * sizeof(float));
        }
    }
}

static void rope_head_half_neon(float *pu, float *pv, const double *c,
                                const double *s, size_t pairs)
{
    for (size_t j = 0; j < pairs; j += STEP) {
        size_t left = pairs - j;
        if (left >= STEP) {
            float32x4_t vu = vld1q_f32(pu + j), vv = vld1q_f32(pv + j);
            rope4_neon(&vu, &vv, c + j, s + j);
            vst1q_f32(pu + j, vu);
            vst1q_f32(pv + j, vv);
        } else {
            float tu[STEP] = {0}, tv[STEP] = {0};
            memcpy(tu, pu + j, left * sizeof(float));
            memcpy(tv, pv + j, left * sizeof(float));
            float32x4_t vu = vld1q_f32(tu), vv = vld1q_f32(tv);
            rope4_neon(&vu, &vv, c + j, s + j);
            vst1q_f32(tu, vu);
            vst1q_f32(tv, vv);
            memcpy(pu + j, tu, left * sizeof(float));
            memcpy(pv + j, tv, left * sizeof(float));
        }
    }
}

static void rope_row_neon(void *opaque, size_t row, const double *bs,
                          const double *bc, const double *ks, const double *kc)
{
    const struct rope_ctx *r = opaque;
    enum { CB = POSENC_ROPE_CB };
    _Alignas(64) double s[CB], c[CB];
    size_t n = padded_pairs(r->pairs), half = r->head_dim / 2;
    rotate_row_neon(s, c, bs, bc, ks, kc, n);
    float *token = r->x + row * r->token_stride;
    for (size_t h = 0; h < r->heads; h++) {
        float *head = token + h * r->head_dim;
        if (r->style == SIMDNN_ROPE_INTERLEAVED)
            rope_head_interleaved_neon(head + 2 * r->j0, c, s, r->pairs);
        else
            rope_head_half_neon(head + r->j0, head + half + r->j0, c, s,
                                r->pairs);
    }
}

static void rope_column_neon(void *opaque, size_t j0, size_t pairs)
{
    struct rope_ctx *r = opaque;
    r->j0 = j0;
    r->pairs = pairs;
}

static void rope_f32_neon(float *x, size_t tokens, size_t heads,
                          size_t head_dim, size_t token_stride,
                          size_t position_offset, double base,
                          simdnn_rope_style style)
{
    enum { K0 = POSENC_ROPE_K0, K1 = POSENC_ROPE_K1, CB = POSENC_ROPE_CB };
    _Alignas(64) double slot[POSENC_SLOT_DOUBLES(K0, K1, CB)];
    struct posenc_plan plan = {
        .sincos = sincos_row_neon,
        .rotate = rotate_row_neon,
        .column = rope_column_neon,
        .row = rope_row_neon,
        .width = STEP,
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

SIMDNN_INTERNAL const struct posenc_ops posenc_ops_neon = {
    .table = posenc_table_f32_neon,
    .add = posenc_add_f32_neon,
    .rope = rope_f32_neon,
};
