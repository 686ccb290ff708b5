/*
 * Test-only: the AVX-512 kernels compiled against SIMDe 0.7.4 so that they
 * run (emulated with AVX2) on machines without AVX-512. The CMake option
 * SIMDNN_AVX512_VIA_SIMDE passes -DSIMDNN_USE_SIMDE and puts this folder on
 * the include path; the kernels then include this header instead of
 * <immintrin.h>.
 *
 * SIMDe 0.7.4 lacks some intrinsics the kernels use. With native aliases
 * on, a missing one silently falls through to the compiler's own AVX-512
 * declaration and fails to inline, so each missing one is defined here,
 * element by element from its definition in the Intel Intrinsics Guide,
 * and aliased under its Intel name. These definitions are plain C: they are
 * meant to be obviously right, not fast.
 */
#ifndef SIMDNN_SIMDE_H
#define SIMDNN_SIMDE_H

#define SIMDE_ENABLE_NATIVE_ALIASES
#include <math.h>
#include <simde/x86/avx512.h>
#include <string.h>

typedef union {
    simde__m512 v;
    float f[16];
} simdnn_shim_ps;
typedef union {
    simde__m512d v;
    double d[8];
} simdnn_shim_pd;
typedef union {
    simde__m512i v;
    int32_t i[16];
} simdnn_shim_si;

static inline simde__m512 simdnn_shim_maskz_loadu_ps(simde__mmask16 k,
                                                     const void *p)
{
    simdnn_shim_ps r;
    const float *src = (const float *)p;
    for (int i = 0; i < 16; i++)
        r.f[i] = ((k >> i) & 1) ? src[i] : 0.0f;
    return r.v;
}
#undef _mm512_maskz_loadu_ps
#define _mm512_maskz_loadu_ps simdnn_shim_maskz_loadu_ps

static inline simde__m512
simdnn_shim_mask_loadu_ps(simde__m512 src, simde__mmask16 k, const void *p)
{
    simdnn_shim_ps r;
    r.v = src;
    const float *mem = (const float *)p;
    for (int i = 0; i < 16; i++)
        if ((k >> i) & 1)
            r.f[i] = mem[i];
    return r.v;
}
#undef _mm512_mask_loadu_ps
#define _mm512_mask_loadu_ps simdnn_shim_mask_loadu_ps

static inline void simdnn_shim_mask_storeu_ps(void *p, simde__mmask16 k,
                                              simde__m512 a)
{
    simdnn_shim_ps r;
    r.v = a;
    float *dst = (float *)p;
    for (int i = 0; i < 16; i++)
        if ((k >> i) & 1)
            dst[i] = r.f[i];
}
#undef _mm512_mask_storeu_ps
#define _mm512_mask_storeu_ps simdnn_shim_mask_storeu_ps

static inline simde__m512d simdnn_shim_maskz_loadu_pd(simde__mmask8 k,
                                                      const void *p)
{
    simdnn_shim_pd r;
    const double *src = (const double *)p;
    for (int i = 0; i < 8; i++)
        r.d[i] = ((k >> i) & 1) ? src[i] : 0.0;
    return r.v;
}
#undef _mm512_maskz_loadu_pd
#define _mm512_maskz_loadu_pd simdnn_shim_maskz_loadu_pd

static inline void simdnn_shim_mask_storeu_pd(void *p, simde__mmask8 k,
                                              simde__m512d a)
{
    simdnn_shim_pd r;
    r.v = a;
    double *dst = (double *)p;
    for (int i = 0; i < 8; i++)
        if ((k >> i) & 1)
            dst[i] = r.d[i];
}
#undef _mm512_mask_storeu_pd
#define _mm512_mask_storeu_pd simdnn_shim_mask_storeu_pd

/* The reduction order of the real instruction sequence is a tree; any
 * order is allowed by the intrinsic's definition. Max: NaN handling as
 * _mm512_max_ps applied pairwise (second operand on NaN). */
static inline float simdnn_shim_reduce_max_ps(simde__m512 a)
{
    simdnn_shim_ps r;
    r.v = a;
    for (int w = 8; w >= 1; w /= 2)
        for (int i = 0; i < w; i++)
            r.f[i] = r.f[i] > r.f[i + w] ? r.f[i] : r.f[i + w];
    return r.f[0];
}
#undef _mm512_reduce_max_ps
#define _mm512_reduce_max_ps simdnn_shim_reduce_max_ps

static inline float simdnn_shim_reduce_add_ps(simde__m512 a)
{
    simdnn_shim_ps r;
    r.v = a;
    for (int w = 8; w >= 1; w /= 2)
        for (int i = 0; i < w; i++)
            r.f[i] = r.f[i] + r.f[i + w];
    return r.f[0];
}
#undef _mm512_reduce_add_ps
#define _mm512_reduce_add_ps simdnn_shim_reduce_add_ps

static inline double simdnn_shim_reduce_add_pd(simde__m512d a)
{
    simdnn_shim_pd r;
    r.v = a;
    for (int w = 4; w >= 1; w /= 2)
        for (int i = 0; i < w; i++)
            r.d[i] = r.d[i] + r.d[i + w];
    return r.d[0];
}
#undef _mm512_reduce_add_pd
#define _mm512_reduce_add_pd simdnn_shim_reduce_add_pd

/* Round to nearest even, as under the default MXCSR; out of range and NaN
 * give the "integer indefinite" 0x80000000. */
static inline simde__m512i simdnn_shim_cvtps_epi32(simde__m512 a)
{
    simdnn_shim_ps x;
    simdnn_shim_si r;
    x.v = a;
    for (int i = 0; i < 16; i++) {
        float v = nearbyintf(x.f[i]);
        r.i[i] =
            (v >= -2147483648.0f && v < 2147483648.0f) ? (int32_t)v : INT32_MIN;
    }
    return r.v;
}
#undef _mm512_cvtps_epi32
#define _mm512_cvtps_epi32 simdnn_shim_cvtps_epi32

/* rsqrt14/rcp14 are approximations with relative error below 2^-14; the
 * exact values satisfy that bound. */
static inline simde__m512 simdnn_shim_rsqrt14_ps(simde__m512 a)
{
    simdnn_shim_ps r;
    r.v = a;
    for (int i = 0; i < 16; i++)
        r.f[i] = 1.0f / sqrtf(r.f[i]);
    return r.v;
}
#undef _mm512_rsqrt14_ps
#define _mm512_rsqrt14_ps simdnn_shim_rsqrt14_ps

static inline simde__m512 simdnn_shim_rcp14_ps(simde__m512 a)
{
    simdnn_shim_ps r;
    r.v = a;
    for (int i = 0; i < 16; i++)
        r.f[i] = 1.0f / r.f[i];
    return r.v;
}
#undef _mm512_rcp14_ps
#define _mm512_rcp14_ps simdnn_shim_rcp14_ps

static inline float simdnn_shim_cvtss_f32(simde__m512 a)
{
    simdnn_shim_ps r;
    r.v = a;
    return r.f[0];
}
#undef _mm512_cvtss_f32
#define _mm512_cvtss_f32 simdnn_shim_cvtss_f32

/* Non-temporal stores are ordinary stores here (same results). */
static inline void simdnn_shim_stream_ps(void *p, simde__m512 a)
{
    memcpy(p, &a, sizeof(a));
}
#undef _mm512_stream_ps
#define _mm512_stream_ps simdnn_shim_stream_ps

static inline simde__m512d simdnn_shim_cvtps_pd(simde__m256 a)
{
    float f[8];
    simdnn_shim_pd r;
    memcpy(f, &a, sizeof(f));
    for (int i = 0; i < 8; i++)
        r.d[i] = (double)f[i];
    return r.v;
}
#undef _mm512_cvtps_pd
#define _mm512_cvtps_pd simdnn_shim_cvtps_pd

/* (softmax) Rounds each double to float under the current rounding mode
 * (round to nearest under the default MXCSR), as VCVTPD2PS does. */
static inline simde__m256 simdnn_shim_cvtpd_ps(simde__m512d a)
{
    simdnn_shim_pd x;
    float f[8];
    simde__m256 r;
    x.v = a;
    for (int i = 0; i < 8; i++)
        f[i] = (float)x.d[i];
    memcpy(&r, f, sizeof(r));
    return r;
}
#undef _mm512_cvtpd_ps
#define _mm512_cvtpd_ps simdnn_shim_cvtpd_ps

/* (posenc) SLEEF's AVX-512 double sincos cannot run under emulation: the
 * AVX2 function runs on each half instead (SLEEF's same u35 algorithm and
 * 3.5-ulp bound; the last bit may differ from the AVX-512 function's).
 * .x is sin, .y cos. */
#include <sleef.h>

typedef struct {
    simde__m512d x, y;
} simdnn_shim_sincos_pd;

static inline simdnn_shim_sincos_pd simdnn_shim_sincosd8_u35(simde__m512d a)
{
    simdnn_shim_pd in, s, c;
    simdnn_shim_sincos_pd r;
    in.v = a;
    for (int h = 0; h < 2; h++) {
        Sleef___m256d_2 sc =
            Sleef_sincosd4_u35avx2(_mm256_loadu_pd(in.d + 4 * h));
        _mm256_storeu_pd(s.d + 4 * h, sc.x);
        _mm256_storeu_pd(c.d + 4 * h, sc.y);
    }
    r.x = s.v;
    r.y = c.v;
    return r;
}

#endif /* SIMDNN_SIMDE_H */
