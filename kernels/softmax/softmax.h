/*
 * Internal interface of the softmax family: the kernel table each ISA unit
 * exports, and the constants of the exp that every ISA shares.
 *
 * The algorithm is explained once, in numbered steps, in scalar.c; the SIMD
 * units (avx2.c, avx512.c, neon.c) mirror it and explain only what is
 * specific to their ISA. api.c validates the arguments (a kernel may assume
 * they are valid: non-NULL pointers for non-empty data, strides >= n when
 * rows > 1, no overlap other than exact in-place) and indexes a table of
 * `const struct softmax_ops *` with the dispatched ISA.
 */
#ifndef SIMDNN_KERNELS_SOFTMAX_H
#define SIMDNN_KERNELS_SOFTMAX_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "simdnn/simdnn.h"

#ifndef SIMDNN_INTERNAL
#define SIMDNN_INTERNAL __attribute__((visibility("hidden")))
#endif

struct softmax_ops {
    /* rows x n, row r of x at x + r*x_stride (same for y); n >= 1,
     * rows >= 1. In place when x == y (then x_stride == y_stride). */
    void (*softmax)(const float *x, float *y, size_t rows, size_t n,
                    size_t x_stride, size_t y_stride, unsigned flags);
    void (*log_softmax)(const float *x, float *y, size_t rows, size_t n,
                        size_t x_stride, size_t y_stride, unsigned flags);
    /* [outer][axis][inner], all >= 1, along the middle axis. */
    void (*softmax_axis)(const float *x, float *y, size_t outer, size_t axis,
                         size_t inner, unsigned flags);
    void (*log_softmax_axis)(const float *x, float *y, size_t outer,
                             size_t axis, size_t inner, unsigned flags);
};

SIMDNN_INTERNAL extern const struct softmax_ops softmax_ops_scalar;
SIMDNN_INTERNAL extern const struct softmax_ops softmax_ops_avx2;
SIMDNN_INTERNAL extern const struct softmax_ops softmax_ops_avx512;
SIMDNN_INTERNAL extern const struct softmax_ops softmax_ops_neon;

/*
 * 256*exp(d) for d <= 0, shared by every ISA (scalar.c, steps 3-6), as
 * 2^(n/8 + 8) * p(r) with n = round(8*d/ln2) and r = d - n*ln2/8. The
 * factor SOFTMAX_EXP_SCALE = 256 keeps 2^(n/8 + 8) a normal float down to
 * d = -93.1, below ln(FLT_MIN); the normalization cancels it exactly.
 *
 * Polynomial: p(r) = 1 + r*(C1 + r*(C2 + r*C3)), the minimax fit of e^r
 * for the relative error on |r| <= ln2/16 (+2^-12 for the rounding of n),
 * coefficients rounded to float (C1 rounds to exactly 1). Derived by
 * tools/softmax_exp_poly.py (Remez exchange, then a bit-exact float32
 * simulation of the kernels): minimax error 2.5e-8; the float32 kernel
 * exp has relative error at most 1.36e-7 in the general form (exact d, d
 * in [ln(FLT_MIN), 0]) and 1.39e-7 in the fast form (|m| < 2^18).
 *
 * Why degree 3 and a table rather than degree 5 on |r| <= ln2/2: the exp
 * pass is bound by how many operations wait on each other, not by the
 * FMA pipes (softmax/avx2.c, "Cost"); the table costs three cheap integer
 * and permute operations off the critical path, and saves two dependent
 * FMAs (8 cycles of latency) per vector.
 */
#define SOFTMAX_EXP_C1 0x1.000000p+0f /* 1.0000000486710545 */
#define SOFTMAX_EXP_C2 0x1.00087Ep-1f /* 0.50006481256656932 */
#define SOFTMAX_EXP_C3 0x1.5548EAp-3f /* 0.16664297152436108 */
/* 8/ln2 rounded to float (8 * fl(1/ln2), exactly). */
#define SOFTMAX_LOG2E8 0x1.715476p+3f
/* Cody-Waite split of ln2/8: LN2_8_HI = ln2/8 rounded to float, LN2_8_LO
 * = ln2/8 - LN2_8_HI rounded to float (scalar.c step 5). */
#define SOFTMAX_LN2_8_HI 0x1.62E430p-4f
#define SOFTMAX_LN2_8_LO -0x1.05C610p-32f
/* 1.5*2^23 + (127 + 8)*8: fma(d, LOG2E8, MAGIC8) rounds 8*d/ln2 to the
 * integer n in the low mantissa bits, biased by 135*8, so that the bits
 * shifted left by 20 hold floor(n/8) + 8 + 127 in the float exponent
 * field and n mod 8 in the three bits below it (scalar.c step 4). */
#define SOFTMAX_MAGIC8 0x1.800870p+23f
/* The exp of the kernels is SOFTMAX_EXP_SCALE times exp(d). */
#define SOFTMAX_EXP_SCALE 0x1p8
/* ln(FLT_MIN) = -87.3365 rounded to float: below it exp(d) < FLT_MIN and
 * is flushed to +0 (2^(n/8) would be subnormal there). */
#define SOFTMAX_CUTOFF -0x1.5D58A0p+6f
/* ln2/8 rounded to double (for the fast form's lower bound, 1080*ln2/8:
 * n = -1080 gives 2^(n/8 + 8) = 2^-127, whose bits are all zero). */
#define SOFTMAX_LN2_8_DOUBLE 0x1.62E42FEFA39EFp-4
/* The fast form takes rows whose maximum is below this in magnitude
 * (scalar.c step 3): then |k| < 2^22 - 1080, so that the bias MAGIC8 - k
 * (below 2^24) and N = n + k are exact in float, and ulp(m) <= 2^-6 keeps
 * the rounded lower bound within 0.1 of n = -1080. */
#define SOFTMAX_FAST_MAX 0x1p18f

/* The table of step 4, as every kernel adds it: entry j is the bits of
 * 2^(j/8) rounded to float, less 0x3F800000 + (j << 20) (the exponent of
 * 1, and the three low bits of n that the shift left in the mantissa),
 * modulo 2^32, so that an integer add of the shifted bits of vn and the
 * entry gives the bits of 2^(n/8 + 8). Printed by
 * tools/softmax_exp_poly.py; the floats are, in order, 0x1.000000p+0,
 * 0x1.172B84p+0, 0x1.306FE0p+0, 0x1.4BFDAEp+0, 0x1.6A09E6p+0,
 * 0x1.8ACE54p+0, 0x1.AE89FAp+0 and 0x1.D5818Ep+0. */
static const uint32_t softmax_pow2_entries[8] = {
    0x00000000u, 0xFFFB95C2u, 0xFFF837F0u, 0xFFF5FED7u,
    0xFFF504F3u, 0xFFF5672Au, 0xFFF744FDu, 0xFFFAC0C7u,
};

/* The per-row constants of the exp (scalar.c steps 3-7; step 3 chooses
 * the form), computed by this one function for every ISA. */
struct softmax_row {
    float neg_m; /* -m */
    float lower; /* fast form: fl(m - 1080*ln2/8), where n = -1080 */
    float bias;  /* fast form: MAGIC8 - k */
    float corr;  /* fast form: fl(k*LN2_8_LO - (m - k*LN2_8_HI)) */
    int fast;
};

static inline struct softmax_row softmax_row_general(float m)
{
    struct softmax_row row = {-m, 0.0f, 0.0f, 0.0f, 0};
    return row;
}

/* k = round(m/LN2_8_HI) when |m| < FAST_MAX. */
static inline struct softmax_row softmax_row_for(float m)
{
    struct softmax_row row = softmax_row_general(m);
    if (!(fabsf(m) < SOFTMAX_FAST_MAX)) /* also NaN and +-Inf */
        return row;
    const double k = nearbyint((double)m / (double)SOFTMAX_LN2_8_HI);
    row.lower = (float)((double)m - 1080.0 * SOFTMAX_LN2_8_DOUBLE);
    row.bias = (float)((double)SOFTMAX_MAGIC8 - k);
    row.corr = (float)(k * (double)SOFTMAX_LN2_8_LO -
                       ((double)m - k * (double)SOFTMAX_LN2_8_HI));
    row.fast = 1;
    return row;
}

/*
 * Rows of at least SOFTMAX_ONLINE_MIN elements take the two-pass form
 * (scalar.c, "Long rows"): max and sum in one read, chunk by chunk, then
 * exp and scale in a second, with non-temporal stores in the SIMD units
 * from SOFTMAX_STREAM_MIN. Chunks of SOFTMAX_ONLINE_CHUNK floats (8 KB)
 * are read twice from L1 in the first pass, the next one prefetched.
 *
 * Why 2^22 (16 MB, half this machine's L3): the two-pass form computes
 * exp twice, which costs more than the extra traffic of three passes as
 * long as the row is cached. Measured on AVX2 (Zen 3, ns per element,
 * min of 7, two-pass vs three-pass) with the degree-5 exp: 2^20 0.77 vs
 * 0.57; 2^21 0.83 vs 0.72; 2^22 0.88 vs 0.91; 2^24 1.10-1.30 vs
 * 1.31-1.58. Again with the table exp (min of 60 calls, builds with the
 * threshold at 2^21, 2^22 and 2^23 side by side in one process): 2^21
 * 0.68 vs 0.52-0.59; 2^22 + 1 0.72-0.74 vs 1.01. Memory floors at
 * the bandwidths measured here (read 15 GB/s = 0.26 ns/element, read-
 * modify-write 0.33, non-temporal write 0.20): three passes 1.14, two
 * passes 0.72 ns per element.
 */
#define SOFTMAX_ONLINE_MIN ((size_t)1 << 22)
#define SOFTMAX_ONLINE_CHUNK ((size_t)2048)
#define SOFTMAX_STREAM_MIN ((size_t)1 << 22)

/* Elements of one float block sum before it is folded into double: rows
 * sum blocks of SOFTMAX_SUM_BLOCK (per lane in the SIMD units: 4 groups
 * of 4 vectors, each group added as a tree), the axis form blocks of
 * SOFTMAX_AXIS_SUM_BLOCK axis steps per column. */
#define SOFTMAX_SUM_BLOCK 16
#define SOFTMAX_AXIS_SUM_BLOCK 4

#endif /* SIMDNN_KERNELS_SOFTMAX_H */
