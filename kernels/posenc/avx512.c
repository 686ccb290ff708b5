/*
 * Positional encodings, AVX-512F: the algorithm of scalar.c (steps 1 to
 * 5), eight doubles per vector, SLEEF's Sleef_sincosd8_u35avx512f for the
 * block-start angles (under SIMDe: the AVX2 SLEEF function on each half,
 * tests/simde/simdnn_simde.h). Only AVX-512F intrinsics are used (no DQ,
 * BW or VL): halves are joined with insertf64x4 and split with
 * extractf64x4 on the double view.
 *
 * Step 5 per 16 pairs: 4 multiplies + 4 FMAs on 8 doubles, 4 conversions
 * to float, 2 inserts, and for the interleaved layout 2 vpermps that put
 * sin and cos of 8 pairs side by side; then two 64-byte stores (one cache
 * line each when the row is aligned). Tails run the same arithmetic on
 * padded lanes and store under a k-mask: no access outside the rows.
 * Big tables (POSENC_STREAM_BYTES, 64-byte aligned rows) use
 * non-temporal stores on full vectors. The floor arithmetic of avx2.c
 * holds with half the instructions; the stores bound all three kernels.
 */
#ifdef SIMDNN_USE_SIMDE
#include "simdnn_simde.h"
#define sincos_pd8 simdnn_shim_sincosd8_u35
typedef simdnn_shim_sincos_pd sincos_pd8_result;
#else
#include <immintrin.h>
#include <sleef.h>
#define sincos_pd8 Sleef_sincosd8_u35avx512f
typedef Sleef___m512d_2 sincos_pd8_result;
#endif
#include <stdint.h>

#include "posenc/posenc.h"

/* Pairs per step of the row loops; the tables are padded to it. */
#define STEP 16

/* Software prefetch distance of the in-place kernels, in floats: the
 * AVX2 unit's (measured there; not measured on an AVX-512 machine). */
#define PREFETCH 2048

static inline void prefetch_avx512(const float *p)
{
    _mm_prefetch((const char *)((uintptr_t)p + 4 * PREFETCH), _MM_HINT_T0);
}

static size_t padded_pairs(size_t pairs)
{
    return (pairs + STEP - 1) / STEP * STEP;
}

/* The first `lanes` lanes (0..16). */
static __mmask16 first_lanes(size_t lanes)
{
    return (__mmask16)(lanes >= 16 ? 0xFFFFu : (1u << lanes) - 1u);
}

static void sincos_row_avx512(double *s, double *c, const double *w, size_t n,
                              double m)
{
    __m512d vm = _mm512_set1_pd(m);
    for (size_t j = 0; j < n; j += 8) {
        sincos_pd8_result vsc =
            sincos_pd8(_mm512_mul_pd(vm, _mm512_load_pd(w + j)));
        _mm512_store_pd(s + j, vsc.x);
        _mm512_store_pd(c + j, vsc.y);
    }
}

static void rotate_row_avx512(double *rs, double *rc, const double *as,
                              const double *ac, const double *bs,
                              const double *bc, size_t n)
{
    for (size_t j = 0; j < n; j += 8) {
        __m512d vas = _mm512_load_pd(as + j), vac = _mm512_load_pd(ac + j);
        __m512d vbs = _mm512_load_pd(bs + j), vbc = _mm512_load_pd(bc + j);
        __m512d vsin = _mm512_fmadd_pd(vas, vbc, _mm512_mul_pd(vac, vbs));
        __m512d vcos = _mm512_fmsub_pd(vac, vbc, _mm512_mul_pd(vas, vbs));
        _mm512_store_pd(rs + j, vsin);
        _mm512_store_pd(rc + j, vcos);
    }
}

/* [lo | hi] from two 8-float halves. */
static inline __m512 join_avx512(__m256 lo, __m256 hi)
{
    return _mm512_castpd_ps(_mm512_insertf64x4(
        _mm512_castpd256_pd512(_mm256_castps_pd(lo)), _mm256_castps_pd(hi), 1));
}

/* Step 5 for 8 pairs: sin and cos of the rows, rounded to float. */
static inline void row_values_avx512(const double *bs, const double *bc,
                                     const double *ks, const double *kc,
                                     __m256 *vsin, __m256 *vcos)
{
    __m512d vbs = _mm512_load_pd(bs), vbc = _mm512_load_pd(bc);
    __m512d vks = _mm512_load_pd(ks), vkc = _mm512_load_pd(kc);
    *vsin = _mm512_cvtpd_ps(_mm512_fmadd_pd(vbs, vkc, _mm512_mul_pd(vbc, vks)));
    *vcos = _mm512_cvtpd_ps(_mm512_fmsub_pd(vbc, vkc, _mm512_mul_pd(vbs, vks)));
}

/* ---- tables and the fused add ---- */

struct table_ctx {
    float *out;
    size_t row_stride, j0, half, pairs;
    simdnn_posenc_layout layout;
    int add, stream;
};

/* The 16 pairs at j of a row, as two vectors of 16 floats each:
 * interleaved s0 c0 .. s7 c7 and s8 c8 .. s15 c15, or split s0 .. s15 and
 * c0 .. c15. */
static inline void row16_avx512(const double *bs, const double *bc,
                                const double *ks, const double *kc, size_t j,
                                int split, __m512 *vout0, __m512 *vout1)
{
    /* s0 c0 s1 c1 ... from [s0 .. s7 | c0 .. c7] */
    const __m512i vzip =
        _mm512_set_epi32(15, 7, 14, 6, 13, 5, 12, 4, 11, 3, 10, 2, 9, 1, 8, 0);
    __m256 vsin_lo, vcos_lo, vsin_hi, vcos_hi;
    row_values_avx512(bs + j, bc + j, ks + j, kc + j, &vsin_lo, &vcos_lo);
    row_values_avx512(bs + j + 8, bc + j + 8, ks + j + 8, kc + j + 8, &vsin_hi,
                      &vcos_hi);
    if (split) {
        *vout0 = join_avx512(vsin_lo, vsin_hi);
        *vout1 = join_avx512(vcos_lo, vcos_hi);
    } else {
        *vout0 = _mm512_permutexvar_ps(vzip, join_avx512(vsin_lo, vcos_lo));
        *vout1 = _mm512_permutexvar_ps(vzip, join_avx512(vsin_hi, vcos_hi));
    }
}

/*
 * One row of one column block, as table_pairs_avx2: `pairs` pairs whose
 * two output vectors go to p0 and p1 (interleaved: p1 = p0 + 16, advancing
 * 32 floats per step; split: p1 = p0 + half, advancing 16), constant
 * split, add and stream; the fused add loads both vectors before storing
 * either and prefetches PREFETCH floats ahead.
 */
static inline void table_pairs_avx512(float *p0, float *p1, const double *bs,
                                      const double *bc, const double *ks,
                                      const double *kc, size_t pairs, int split,
                                      int add, int stream)
{
    size_t advance = split ? 16 : 32, j = 0;
    for (; j + STEP <= pairs; j += STEP, p0 += advance, p1 += advance) {
        __m512 vout0, vout1;
        row16_avx512(bs, bc, ks, kc, j, split, &vout0, &vout1);
        if (add) {
            prefetch_avx512(p0);
            if (split)
                prefetch_avx512(p1);
            __m512 vx0 = _mm512_loadu_ps(p0), vx1 = _mm512_loadu_ps(p1);
            _mm512_storeu_ps(p0, _mm512_add_ps(vx0, vout0));
            _mm512_storeu_ps(p1, _mm512_add_ps(vx1, vout1));
        } else if (stream) {
            _mm512_stream_ps(p0, vout0);
            _mm512_stream_ps(p1, vout1);
        } else {
            _mm512_storeu_ps(p0, vout0);
            _mm512_storeu_ps(p1, vout1);
        }
    }
    if (j < pairs) {
        /* The tail: the same arithmetic, k-masked loads and stores. */
        size_t left = pairs - j;
        __mmask16 mask0 = first_lanes(split           ? left
                                      : 2 * left > 16 ? 16
                                                      : 2 * left);
        __mmask16 mask1 = first_lanes(split           ? left
                                      : 2 * left > 16 ? 2 * left - 16
                                                      : 0);
        __m512 vout0, vout1;
        row16_avx512(bs, bc, ks, kc, j, split, &vout0, &vout1);
        if (add) {
            __m512 vx0 = _mm512_maskz_loadu_ps(mask0, p0);
            __m512 vx1 = _mm512_maskz_loadu_ps(mask1, p1);
            vout0 = _mm512_add_ps(vx0, vout0);
            vout1 = _mm512_add_ps(vx1, vout1);
        }
        _mm512_mask_storeu_ps(p0, mask0, vout0);
        _mm512_mask_storeu_ps(p1, mask1, vout1);
    }
}

static void table_row_avx512(void *opaque, size_t row, const double *bs,
                             const double *bc, const double *ks,
                             const double *kc)
{
    const struct table_ctx *t = opaque;
    float *out = t->out + row * t->row_stride;
    size_t pairs = t->pairs;
    if (t->layout == SIMDNN_POSENC_INTERLEAVED) {
        float *p = out + 2 * t->j0;
        if (t->add)
            table_pairs_avx512(p, p + 16, bs, bc, ks, kc, pairs, 0, 1, 0);
        else if (t->stream)
            table_pairs_avx512(p, p + 16, bs, bc, ks, kc, pairs, 0, 0, 1);
        else
            table_pairs_avx512(p, p + 16, bs, bc, ks, kc, pairs, 0, 0, 0);
    } else {
        float *p = out + t->j0, *q = p + t->half;
        if (t->add)
            table_pairs_avx512(p, q, bs, bc, ks, kc, pairs, 1, 1, 0);
        else if (t->stream)
            table_pairs_avx512(p, q, bs, bc, ks, kc, pairs, 1, 0, 1);
        else
            table_pairs_avx512(p, q, bs, bc, ks, kc, pairs, 1, 0, 0);
    }
}

static void table_column_avx512(void *opaque, size_t j0, size_t pairs)
{
    struct table_ctx *t = opaque;
    t->j0 = j0;
    t->pairs = pairs;
}

static void table_any_avx512(float *out, size_t positions, size_t d_model,
                             size_t row_stride, size_t position_offset,
                             double base, simdnn_posenc_layout layout, int add)
{
    enum { K0 = POSENC_TABLE_K0, K1 = POSENC_TABLE_K1, CB = POSENC_TABLE_CB };
    _Alignas(64) double slot[POSENC_SLOT_DOUBLES(K0, K1, CB)];
    struct posenc_plan plan = {
        .sincos = sincos_row_avx512,
        .rotate = rotate_row_avx512,
        .column = table_column_avx512,
        .row = table_row_avx512,
        .width = STEP,
        .k0 = K0,
        .k1 = K1,
        .cb = CB,
        .d = d_model,
        .base = base,
    };
    size_t half = d_model / 2;
    size_t bytes = (positions - 1) * row_stride * 4 + d_model * 4;
    int stream = !add && bytes >= POSENC_STREAM_BYTES &&
                 (uintptr_t)out % 64 == 0 &&
                 (positions == 1 || row_stride % 16 == 0) &&
                 (layout == SIMDNN_POSENC_INTERLEAVED || half % 16 == 0);
    struct table_ctx t = {.out = out,
                          .row_stride = row_stride,
                          .half = half,
                          .layout = layout,
                          .add = add,
                          .stream = stream};
    double *heap = posenc_wide_slot(&plan, positions);
    posenc_tiles(&plan, position_offset, positions, heap ? heap : slot, &t);
    free(heap);
    if (stream)
        _mm_sfence();
}

static void posenc_table_f32_avx512(float *table, size_t positions,
                                    size_t d_model, size_t row_stride,
                                    size_t position_offset, double base,
                                    simdnn_posenc_layout layout)
{
    table_any_avx512(table, positions, d_model, row_stride, position_offset,
                     base, layout, 0);
}

static void posenc_add_f32_avx512(float *x, size_t positions, size_t d_model,
                                  size_t row_stride, size_t position_offset,
                                  double base, simdnn_posenc_layout layout)
{
    table_any_avx512(x, positions, d_model, row_stride, position_offset, base,
                     layout, 1);
}

/* ---- RoPE ---- */

struct rope_ctx {
    float *x;
    size_t token_stride, heads, head_dim, j0, pairs;
    simdnn_rope_style style;
};

/* One head, GPT-J pairs, 8 pairs per step: with x = [u0 v0 u1 v1 ...],
 * cc = [c0 c0 c1 c1 ...] and ss = [-s0 s0 -s1 s1 ...], the rotation is
 * fma(x, cc, swap(x) * ss) as in avx2.c. */
static void rope_head_interleaved_avx512(float *head, const double *cc,
                                         const double *ss, size_t pairs)
{
    const __m512i vswap = _mm512_set_epi64(6, 7, 4, 5, 2, 3, 0, 1);
    for (size_t j = 0; j < pairs; j += 8) {
        float *p = head + 2 * j;
        size_t left = pairs - j;
        __mmask16 mask = first_lanes(left >= 8 ? 16 : 2 * left);
        prefetch_avx512(p); /* one per 64-byte line */
        __m512 vx = _mm512_maskz_loadu_ps(mask, p);
        __m512d vx_lo = _mm512_cvtps_pd(_mm512_castps512_ps256(vx));
        __m512d vx_hi = _mm512_cvtps_pd(
            _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(vx), 1)));
        __m512d vr_lo =
            _mm512_fmadd_pd(vx_lo, _mm512_load_pd(cc + 2 * j),
                            _mm512_mul_pd(_mm512_permutexvar_pd(vswap, vx_lo),
                                          _mm512_load_pd(ss + 2 * j)));
        __m512d vr_hi =
            _mm512_fmadd_pd(vx_hi, _mm512_load_pd(cc + 2 * j + 8),
                            _mm512_mul_pd(_mm512_permutexvar_pd(vswap, vx_hi),
                                          _mm512_load_pd(ss + 2 * j + 8)));
        __m512 vr = join_avx512(_mm512_cvtpd_ps(vr_lo), _mm512_cvtpd_ps(vr_hi));
        _mm512_mask_storeu_ps(p, mask, vr);
    }
}

/* One head, GPT-NeoX halves, 8 pairs per step: u at pu[j], v at pv[j]. */
static void rope_head_half_avx512(float *pu, float *pv, const double *c,
                                  const double *s, size_t pairs)
{
    for (size_t j = 0; j < pairs; j += 8) {
        size_t left = pairs - j;
        __mmask16 mask = first_lanes(left >= 8 ? 8 : left);
        if (j % 16 == 0) { /* once per 64-byte line */
            prefetch_avx512(pu + j);
            prefetch_avx512(pv + j);
        }
        __m512d vu = _mm512_cvtps_pd(
            _mm512_castps512_ps256(_mm512_maskz_loadu_ps(mask, pu + j)));
        __m512d vv = _mm512_cvtps_pd(
            _mm512_castps512_ps256(_mm512_maskz_loadu_ps(mask, pv + j)));
        __m512d vc = _mm512_load_pd(c + j), vs = _mm512_load_pd(s + j);
        __m256 vru =
            _mm512_cvtpd_ps(_mm512_fmsub_pd(vu, vc, _mm512_mul_pd(vv, vs)));
        __m256 vrv =
            _mm512_cvtpd_ps(_mm512_fmadd_pd(vv, vc, _mm512_mul_pd(vu, vs)));
        _mm512_mask_storeu_ps(pu + j, mask, _mm512_castps256_ps512(vru));
        _mm512_mask_storeu_ps(pv + j, mask, _mm512_castps256_ps512(vrv));
    }
}

static void rope_row_avx512(void *opaque, size_t row, const double *bs,
                            const double *bc, const double *ks,
                            const double *kc)
{
    const struct rope_ctx *r = opaque;
    enum { CB = POSENC_ROPE_CB };
    _Alignas(64) double s[CB], c[CB], cc[2 * CB], ss[2 * CB];
    size_t n = padded_pairs(r->pairs), half = r->head_dim / 2;
    rotate_row_avx512(s, c, bs, bc, ks, kc, n);
    float *token = r->x + row * r->token_stride;
    if (r->style == SIMDNN_ROPE_INTERLEAVED) {
        const __m512i vdup_lo = _mm512_set_epi64(3, 3, 2, 2, 1, 1, 0, 0);
        const __m512i vdup_hi = _mm512_set_epi64(7, 7, 6, 6, 5, 5, 4, 4);
        /* -0.0 in the even lanes: ss = [-s0 s0 -s1 s1 ...] */
        const __m512i vsign = _mm512_set_epi64(0, INT64_MIN, 0, INT64_MIN, 0,
                                               INT64_MIN, 0, INT64_MIN);
        for (size_t j = 0; j < n; j += 8) {
            __m512d vc = _mm512_load_pd(c + j), vs = _mm512_load_pd(s + j);
            _mm512_store_pd(cc + 2 * j, _mm512_permutexvar_pd(vdup_lo, vc));
            _mm512_store_pd(cc + 2 * j + 8, _mm512_permutexvar_pd(vdup_hi, vc));
            _mm512_store_pd(
                ss + 2 * j,
                _mm512_castsi512_pd(_mm512_xor_si512(
                    _mm512_castpd_si512(_mm512_permutexvar_pd(vdup_lo, vs)),
                    vsign)));
            _mm512_store_pd(
                ss + 2 * j + 8,
                _mm512_castsi512_pd(_mm512_xor_si512(
                    _mm512_castpd_si512(_mm512_permutexvar_pd(vdup_hi, vs)),
                    vsign)));
        }
        for (size_t h = 0; h < r->heads; h++)
            rope_head_interleaved_avx512(token + h * r->head_dim + 2 * r->j0,
                                         cc, ss, r->pairs);
    } else {
        for (size_t h = 0; h < r->heads; h++) {
            float *pu = token + h * r->head_dim + r->j0;
            rope_head_half_avx512(pu, pu + half, c, s, r->pairs);
        }
    }
}

static void rope_column_avx512(void *opaque, size_t j0, size_t pairs)
{
    struct rope_ctx *r = opaque;
    r->j0 = j0;
    r->pairs = pairs;
}

static void rope_f32_avx512(float *x, size_t tokens, size_t heads,
                            size_t head_dim, size_t token_stride,
                            size_t position_offset, double base,
                            simdnn_rope_style style)
{
    enum { K0 = POSENC_ROPE_K0, K1 = POSENC_ROPE_K1, CB = POSENC_ROPE_CB };
    _Alignas(64) double slot[POSENC_SLOT_DOUBLES(K0, K1, CB)];
    struct posenc_plan plan = {
        .sincos = sincos_row_avx512,
        .rotate = rotate_row_avx512,
        .column = rope_column_avx512,
        .row = rope_row_avx512,
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

SIMDNN_INTERNAL const struct posenc_ops posenc_ops_avx512 = {
    .table = posenc_table_f32_avx512,
    .add = posenc_add_f32_avx512,
    .rope = rope_f32_avx512,
};
