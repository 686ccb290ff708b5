/*
 * Positional encodings, AVX2 + FMA: the algorithm of scalar.c (steps 1 to
 * 5), four doubles per vector, SLEEF's Sleef_sincosd4_u35avx2 for the
 * block-start angles. Only what is ISA-specific is explained here.
 *
 * Step 5 per 8 pairs: 4 double multiplies + 4 FMAs, 4 conversions to
 * float, and either 4 unpacks and 2 inserts (interleaved: s0 c0 s1 c1 ...)
 * or 2 inserts (split), then two 32-byte stores. Tails (pairs not a
 * multiple of 8) run the same arithmetic on the padded lanes and store
 * with vmaskmovps, which neither reads nor writes the masked lanes: no
 * access outside the caller's rows.
 *
 * Floor arithmetic (Zen 3, one core): the table is store-bound out of
 * cache. Streaming 4-byte elements to DRAM runs at about 0.19 ns per
 * element (about 21 GB/s, a plain _mm256_stream_ps loop), ordinary stores
 * at about 0.3 ns (the read for ownership doubles the traffic). Step 5
 * needs about 30 instructions per 16 elements (8 loads of B and T0, 4
 * multiplies and 4 FMAs on the two FMA pipes, 4 conversions, shuffles,
 * 2 stores), about 0.2 ns per element in cache: as much as the DRAM
 * floor, so big tables (at least POSENC_STREAM_BYTES, 32-byte aligned
 * rows) use non-temporal stores on full vectors; tails and unaligned rows
 * use ordinary stores. The SLEEF work is 1/512 sincos per pair and row
 * (15 ns per 4 lanes: 0.004 ns per element); the setup of a call (pow,
 * up to three SLEEF calls and up to 46 rotations per column) costs about
 * 30 ns per pair. The fused add and RoPE read and write every element
 * once: about 0.27 ns per element here from DRAM, with the software
 * prefetch below to keep enough misses in flight. RoPE's sin/cos of a
 * token serve all its heads, so its arithmetic is 2 multiplies and 2 FMAs
 * per pair plus the conversions.
 *
 * Measured (ns per element, thread CPU time, best of 11 runs; this
 * machine is a shared 2-core VM and numbers moved by 20% between runs):
 *   table 8192 x 1024   interleaved 0.22-0.25, split 0.21-0.22
 *                       (streaming floor 0.18-0.19; a float-angle
 *                       Sleef_sincosf8_u35avx2 table 0.55-0.6; scalar 3.7)
 *   add 4096 x 4096     0.38-0.44 (read+write floor 0.26-0.28; scalar 3.5)
 *   RoPE 4096x32x128    interleaved 0.36-0.53, half 0.29-0.45 (floor
 *                       0.26-0.32; scalar 3.4)
 *   RoPE one token of 32 x 128: 2.9 us; one table row of 1024: 17 us
 *   (the per-call setup).
 */
#include <immintrin.h>
#include <sleef.h>
#include <stdint.h>

#include "posenc/posenc.h"

/* Pairs per step of the row loops; the tables are padded to it. */
#define STEP 8

/*
 * Software prefetch distance of the in-place kernels, in floats (8 KiB
 * ahead): the arithmetic per cache line keeps the loop from running far
 * enough ahead of the hardware prefetcher; measured here, 2048 floats
 * took the 4096 x 4096 fused add from about 1.8x to about 1.45x of the
 * read+write floor (512: 1.6x). A prefetch is a hint that never faults,
 * so running past the end of the buffer is harmless.
 */
#define PREFETCH 2048

static inline void prefetch_avx2(const float *p)
{
    _mm_prefetch((const char *)((uintptr_t)p + 4 * PREFETCH), _MM_HINT_T0);
}

static size_t padded_pairs(size_t pairs)
{
    return (pairs + STEP - 1) / STEP * STEP;
}

/* Lane masks: the first r lanes of loadu(mask_source + 8 - r). */
static const int32_t mask_source[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                        0,  0,  0,  0,  0,  0,  0,  0};

static __m256i first_lanes(size_t r)
{
    return _mm256_loadu_si256((const __m256i *)(mask_source + 8 - r));
}

static void sincos_row_avx2(double *s, double *c, const double *w, size_t n,
                            double m)
{
    __m256d vm = _mm256_set1_pd(m);
    for (size_t j = 0; j < n; j += 4) {
        Sleef___m256d_2 vsc =
            Sleef_sincosd4_u35avx2(_mm256_mul_pd(vm, _mm256_load_pd(w + j)));
        _mm256_store_pd(s + j, vsc.x);
        _mm256_store_pd(c + j, vsc.y);
    }
}

static void rotate_row_avx2(double *rs, double *rc, const double *as,
                            const double *ac, const double *bs,
                            const double *bc, size_t n)
{
    for (size_t j = 0; j < n; j += 4) {
        __m256d vas = _mm256_load_pd(as + j), vac = _mm256_load_pd(ac + j);
        __m256d vbs = _mm256_load_pd(bs + j), vbc = _mm256_load_pd(bc + j);
        __m256d vsin = _mm256_fmadd_pd(vas, vbc, _mm256_mul_pd(vac, vbs));
        __m256d vcos = _mm256_fmsub_pd(vac, vbc, _mm256_mul_pd(vas, vbs));
        _mm256_store_pd(rs + j, vsin);
        _mm256_store_pd(rc + j, vcos);
    }
}

/* Step 5 for 4 pairs: sin and cos of the rows, rounded to float. */
static inline void row_values_avx2(const double *bs, const double *bc,
                                   const double *ks, const double *kc,
                                   __m128 *vsin, __m128 *vcos)
{
    __m256d vbs = _mm256_load_pd(bs), vbc = _mm256_load_pd(bc);
    __m256d vks = _mm256_load_pd(ks), vkc = _mm256_load_pd(kc);
    *vsin = _mm256_cvtpd_ps(_mm256_fmadd_pd(vbs, vkc, _mm256_mul_pd(vbc, vks)));
    *vcos = _mm256_cvtpd_ps(_mm256_fmsub_pd(vbc, vkc, _mm256_mul_pd(vbs, vks)));
}

/* ---- tables and the fused add ---- */

struct table_ctx {
    float *out;
    size_t row_stride, j0, half, pairs;
    simdnn_posenc_layout layout;
    int add, stream;
};

/* The 8 pairs at j of a row, as two vectors of 8 floats each: for the
 * interleaved layout s0 c0 .. s3 c3 and s4 c4 .. s7 c7, for the split one
 * s0 .. s7 and c0 .. c7. */
static inline void row8_avx2(const double *bs, const double *bc,
                             const double *ks, const double *kc, size_t j,
                             int split, __m256 *vout0, __m256 *vout1)
{
    __m128 vsin_lo, vcos_lo, vsin_hi, vcos_hi;
    row_values_avx2(bs + j, bc + j, ks + j, kc + j, &vsin_lo, &vcos_lo);
    row_values_avx2(bs + j + 4, bc + j + 4, ks + j + 4, kc + j + 4, &vsin_hi,
                    &vcos_hi);
    if (split) {
        *vout0 = _mm256_set_m128(vsin_hi, vsin_lo);
        *vout1 = _mm256_set_m128(vcos_hi, vcos_lo);
    } else {
        *vout0 = _mm256_set_m128(_mm_unpackhi_ps(vsin_lo, vcos_lo),
                                 _mm_unpacklo_ps(vsin_lo, vcos_lo));
        *vout1 = _mm256_set_m128(_mm_unpackhi_ps(vsin_hi, vcos_hi),
                                 _mm_unpacklo_ps(vsin_hi, vcos_hi));
    }
}

/*
 * One row of one column block: `pairs` pairs whose two output vectors go
 * to p0 and p1 (interleaved: p1 = p0 + 8, advancing 16 floats per step;
 * split: p1 = p0 + half, advancing 8). Called with constant split, add
 * and stream, so each combination compiles to its own loop. The fused add
 * loads both vectors before storing either: in the split layout the cos
 * half is 4 KiB-aliased with the sin half for common widths, and a load
 * behind a same-offset store would wait for it.
 */
static inline void table_pairs_avx2(float *p0, float *p1, const double *bs,
                                    const double *bc, const double *ks,
                                    const double *kc, size_t pairs, int split,
                                    int add, int stream)
{
    size_t advance = split ? 8 : 16, j = 0;
    for (; j + STEP <= pairs; j += STEP, p0 += advance, p1 += advance) {
        __m256 vout0, vout1;
        row8_avx2(bs, bc, ks, kc, j, split, &vout0, &vout1);
        if (add) {
            prefetch_avx2(p0);
            if (split)
                prefetch_avx2(p1);
            __m256 vx0 = _mm256_loadu_ps(p0), vx1 = _mm256_loadu_ps(p1);
            _mm256_storeu_ps(p0, _mm256_add_ps(vx0, vout0));
            _mm256_storeu_ps(p1, _mm256_add_ps(vx1, vout1));
        } else if (stream) {
            _mm256_stream_ps(p0, vout0);
            _mm256_stream_ps(p1, vout1);
        } else {
            _mm256_storeu_ps(p0, vout0);
            _mm256_storeu_ps(p1, vout1);
        }
    }
    if (j < pairs) {
        /* The tail: the same arithmetic, masked loads and stores. */
        size_t left = pairs - j;
        __m256i vmask0 = first_lanes(split          ? left
                                     : 2 * left > 8 ? 8
                                                    : 2 * left);
        __m256i vmask1 = first_lanes(split          ? left
                                     : 2 * left > 8 ? 2 * left - 8
                                                    : 0);
        __m256 vout0, vout1;
        row8_avx2(bs, bc, ks, kc, j, split, &vout0, &vout1);
        if (add) {
            __m256 vx0 = _mm256_maskload_ps(p0, vmask0);
            __m256 vx1 = _mm256_maskload_ps(p1, vmask1);
            vout0 = _mm256_add_ps(vx0, vout0);
            vout1 = _mm256_add_ps(vx1, vout1);
        }
        _mm256_maskstore_ps(p0, vmask0, vout0);
        _mm256_maskstore_ps(p1, vmask1, vout1);
    }
}

static void table_row_avx2(void *opaque, size_t row, const double *bs,
                           const double *bc, const double *ks, const double *kc)
{
    const struct table_ctx *t = opaque;
    float *out = t->out + row * t->row_stride;
    size_t pairs = t->pairs;
    if (t->layout == SIMDNN_POSENC_INTERLEAVED) {
        float *p = out + 2 * t->j0;
        if (t->add)
            table_pairs_avx2(p, p + 8, bs, bc, ks, kc, pairs, 0, 1, 0);
        else if (t->stream)
            table_pairs_avx2(p, p + 8, bs, bc, ks, kc, pairs, 0, 0, 1);
        else
            table_pairs_avx2(p, p + 8, bs, bc, ks, kc, pairs, 0, 0, 0);
    } else {
        float *p = out + t->j0, *q = p + t->half;
        if (t->add)
            table_pairs_avx2(p, q, bs, bc, ks, kc, pairs, 1, 1, 0);
        else if (t->stream)
            table_pairs_avx2(p, q, bs, bc, ks, kc, pairs, 1, 0, 1);
        else
            table_pairs_avx2(p, q, bs, bc, ks, kc, pairs, 1, 0, 0);
    }
}

static void table_column_avx2(void *opaque, size_t j0, size_t pairs)
{
    struct table_ctx *t = opaque;
    t->j0 = j0;
    t->pairs = pairs;
}

static void table_any_avx2(float *out, size_t positions, size_t d_model,
                           size_t row_stride, size_t position_offset,
                           double base, simdnn_posenc_layout layout, int add)
{
    enum { K0 = POSENC_TABLE_K0, K1 = POSENC_TABLE_K1, CB = POSENC_TABLE_CB };
    _Alignas(64) double slot[POSENC_SLOT_DOUBLES(K0, K1, CB)];
    struct posenc_plan plan = {
        .sincos = sincos_row_avx2,
        .rotate = rotate_row_avx2,
        .column = table_column_avx2,
        .row = table_row_avx2,
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
                 (uintptr_t)out % 32 == 0 &&
                 (positions == 1 || row_stride % 8 == 0) &&
                 (layout == SIMDNN_POSENC_INTERLEAVED || half % 8 == 0);
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

static void posenc_table_f32_avx2(float *table, size_t positions,
                                  size_t d_model, size_t row_stride,
                                  size_t position_offset, double base,
                                  simdnn_posenc_layout layout)
{
    table_any_avx2(table, positions, d_model, row_stride, position_offset, base,
                   layout, 0);
}

static void posenc_add_f32_avx2(float *x, size_t positions, size_t d_model,
                                size_t row_stride, size_t position_offset,
                                double base, simdnn_posenc_layout layout)
{
    table_any_avx2(x, positions, d_model, row_stride, position_offset, base,
                   layout, 1);
}

/* ---- RoPE ---- */

struct rope_ctx {
    float *x;
    size_t token_stride, heads, head_dim, j0, pairs;
    simdnn_rope_style style;
};

/* One head, GPT-J pairs: with x = [u0 v0 u1 v1], cc = [c0 c0 c1 c1] and
 * ss = [-s0 s0 -s1 s1], the rotation is fma(x, cc, swap(x) * ss), i.e.
 * fma(u, c, -(v*s)) and fma(v, c, u*s) as in scalar.c. */
static void rope_head_interleaved_avx2(float *head, const double *cc,
                                       const double *ss, size_t pairs)
{
    for (size_t j = 0; j < pairs; j += 4) {
        float *p = head + 2 * j;
        size_t left = pairs - j;
        __m256i mask = first_lanes(left >= 4 ? 8 : 2 * left);
        if (j % 8 == 0) /* once per 64-byte line */
            prefetch_avx2(p);
        __m256 vx =
            left >= 4 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
        __m256d vx_lo = _mm256_cvtps_pd(_mm256_castps256_ps128(vx));
        __m256d vx_hi = _mm256_cvtps_pd(_mm256_extractf128_ps(vx, 1));
        __m256d vr_lo =
            _mm256_fmadd_pd(vx_lo, _mm256_load_pd(cc + 2 * j),
                            _mm256_mul_pd(_mm256_permute_pd(vx_lo, 0x5),
                                          _mm256_load_pd(ss + 2 * j)));
        __m256d vr_hi =
            _mm256_fmadd_pd(vx_hi, _mm256_load_pd(cc + 2 * j + 4),
                            _mm256_mul_pd(_mm256_permute_pd(vx_hi, 0x5),
                                          _mm256_load_pd(ss + 2 * j + 4)));
        __m256 vr =
            _mm256_set_m128(_mm256_cvtpd_ps(vr_hi), _mm256_cvtpd_ps(vr_lo));
        if (left >= 4)
            _mm256_storeu_ps(p, vr);
        else
            _mm256_maskstore_ps(p, mask, vr);
    }
}

/* One head, GPT-NeoX halves: u at pu[j], v at pv[j]. */
static void rope_head_half_avx2(float *pu, float *pv, const double *c,
                                const double *s, size_t pairs)
{
    for (size_t j = 0; j < pairs; j += 4) {
        size_t left = pairs - j;
        __m128i mask =
            _mm256_castsi256_si128(first_lanes(left >= 4 ? 4 : left));
        if (j % 16 == 0) { /* once per 64-byte line */
            prefetch_avx2(pu + j);
            prefetch_avx2(pv + j);
        }
        __m128 vu4 =
            left >= 4 ? _mm_loadu_ps(pu + j) : _mm_maskload_ps(pu + j, mask);
        __m128 vv4 =
            left >= 4 ? _mm_loadu_ps(pv + j) : _mm_maskload_ps(pv + j, mask);
        __m256d vu = _mm256_cvtps_pd(vu4), vv = _mm256_cvtps_pd(vv4);
        __m256d vc = _mm256_load_pd(c + j), vs = _mm256_load_pd(s + j);
        __m128 vru =
            _mm256_cvtpd_ps(_mm256_fmsub_pd(vu, vc, _mm256_mul_pd(vv, vs)));
        __m128 vrv =
            _mm256_cvtpd_ps(_mm256_fmadd_pd(vv, vc, _mm256_mul_pd(vu, vs)));
        if (left >= 4) {
            _mm_storeu_ps(pu + j, vru);
            _mm_storeu_ps(pv + j, vrv);
        } else {
            _mm_maskstore_ps(pu + j, mask, vru);
            _mm_maskstore_ps(pv + j, mask, vrv);
        }
    }
}

static void rope_row_avx2(void *opaque, size_t row, const double *bs,
                          const double *bc, const double *ks, const double *kc)
{
    const struct rope_ctx *r = opaque;
    enum { CB = POSENC_ROPE_CB };
    _Alignas(64) double s[CB], c[CB], cc[2 * CB], ss[2 * CB];
    size_t n = padded_pairs(r->pairs), half = r->head_dim / 2;
    rotate_row_avx2(s, c, bs, bc, ks, kc, n);
    float *token = r->x + row * r->token_stride;
    if (r->style == SIMDNN_ROPE_INTERLEAVED) {
        const __m256d vsign = _mm256_set_pd(0.0, -0.0, 0.0, -0.0);
        for (size_t j = 0; j < n; j += 4) {
            __m256d vc = _mm256_load_pd(c + j), vs = _mm256_load_pd(s + j);
            _mm256_store_pd(cc + 2 * j, _mm256_permute4x64_pd(vc, 0x50));
            _mm256_store_pd(cc + 2 * j + 4, _mm256_permute4x64_pd(vc, 0xFA));
            _mm256_store_pd(
                ss + 2 * j,
                _mm256_xor_pd(_mm256_permute4x64_pd(vs, 0x50), vsign));
            _mm256_store_pd(
                ss + 2 * j + 4,
                _mm256_xor_pd(_mm256_permute4x64_pd(vs, 0xFA), vsign));
        }
        for (size_t h = 0; h < r->heads; h++)
            rope_head_interleaved_avx2(token + h * r->head_dim + 2 * r->j0, cc,
                                       ss, r->pairs);
    } else {
        for (size_t h = 0; h < r->heads; h++) {
            float *pu = token + h * r->head_dim + r->j0;
            rope_head_half_avx2(pu, pu + half, c, s, r->pairs);
        }
    }
}

static void rope_column_avx2(void *opaque, size_t j0, size_t pairs)
{
    struct rope_ctx *r = opaque;
    r->j0 = j0;
    r->pairs = pairs;
}

static void rope_f32_avx2(float *x, size_t tokens, size_t heads,
                          size_t head_dim, size_t token_stride,
                          size_t position_offset, double base,
                          simdnn_rope_style style)
{
    enum { K0 = POSENC_ROPE_K0, K1 = POSENC_ROPE_K1, CB = POSENC_ROPE_CB };
    _Alignas(64) double slot[POSENC_SLOT_DOUBLES(K0, K1, CB)];
    struct posenc_plan plan = {
        .sincos = sincos_row_avx2,
        .rotate = rotate_row_avx2,
        .column = rope_column_avx2,
        .row = rope_row_avx2,
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

SIMDNN_INTERNAL const struct posenc_ops posenc_ops_avx2 = {
    .table = posenc_table_f32_avx2,
    .add = posenc_add_f32_avx2,
    .rope = rope_f32_avx2,
};
