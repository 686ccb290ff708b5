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

#include <stddef.h>

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
 * exp(d) for d = x - max <= 0, shared by every ISA (scalar.c, steps 3-6).
 *
 * Polynomial: p(r) = 1 + r*(C1 + r*(C2 + r*(C3 + r*(C4 + r*C5)))), the
 * minimax fit of e^r for the relative error on |r| <= ln2/2 (+slack),
 * coefficients rounded to float. Derived by tools/softmax_exp_poly.py
 * (Remez exchange, then a bit-exact float32 simulation of the kernels):
 * minimax error 9.2e-8; the float32 kernel exp has relative error at most
 * 1.63e-7 in the general form (exact d, d in [ln(FLT_MIN), 0]) and 1.94e-7
 * in the fast form (maximum folded into the reduction, |m| < 2^21).
 */
#define SOFTMAX_EXP_C1 0x1.FFFFF6p-1f /* 0.99999970672343408 */
#define SOFTMAX_EXP_C2 0x1.FFFDC4p-2f /* 0.49999148631643014 */
#define SOFTMAX_EXP_C3 0x1.555A6Cp-3f /* 0.16667637222889592 */
#define SOFTMAX_EXP_C4 0x1.573A96p-5f /* 0.041898051885046382 */
#define SOFTMAX_EXP_C5 0x1.0FA802p-7f /* 0.0082902920543760916 */
/* 1/ln2 rounded to float. */
#define SOFTMAX_LOG2E 0x1.715476p+0f
/* Cody-Waite split of ln2: LN2_HI = ln2 rounded to float (n*LN2_HI is
 * exact enough under an fma, see scalar.c step 4), LN2_LO = ln2 - LN2_HI
 * rounded to float. */
#define SOFTMAX_LN2_HI 0x1.62E430p-1f
#define SOFTMAX_LN2_LO -0x1.05C610p-29f
/* 1.5*2^23 + 127: fma(d, LOG2E, MAGIC) rounds d/ln2 to the integer n in
 * the low mantissa bits, already biased by 127, so that the bits shifted
 * left by 23 are those of the float 2^n. */
#define SOFTMAX_MAGIC 0x1.8000FEp+23f
/* ln(FLT_MIN) = -87.3365 rounded to float: below it exp(d) < FLT_MIN and
 * is flushed to +0 (2^n would be subnormal there). */
#define SOFTMAX_CUTOFF -0x1.5D58A0p+6f

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
 * min of 7, two-pass vs three-pass): 2^20 0.77 vs 0.57; 2^21 0.83 vs
 * 0.72; 2^22 0.88 vs 0.91; 2^24 1.10-1.30 vs 1.31-1.58. Memory floors at
 * the bandwidths measured here (read 15 GB/s = 0.26 ns/element, read-
 * modify-write 0.33, non-temporal write 0.20): three passes 1.14, two
 * passes 0.72 ns per element.
 */
#define SOFTMAX_ONLINE_MIN ((size_t)1 << 22)
#define SOFTMAX_ONLINE_CHUNK ((size_t)2048)
#define SOFTMAX_STREAM_MIN ((size_t)1 << 22)

/* Elements of one float block sum before it is folded into double (per
 * lane: the SIMD units sum this many vectors in float, then convert). */
#define SOFTMAX_SUM_BLOCK 4

#endif /* SIMDNN_KERNELS_SOFTMAX_H */
