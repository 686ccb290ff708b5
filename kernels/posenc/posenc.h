/*
 * Internal interface of the positional-encoding family.
 *
 * The front-end (api.c) validates every argument and dispatches; each ISA
 * unit exports one table, posenc_ops_<isa>, whose kernels may assume valid
 * arguments (even d_model and head_dim, offset + rows within 2^24, a finite
 * base above 1, at least one element to produce).
 *
 * Every kernel evaluates the same block decomposition of the angle
 * (scalar.c states it in numbered steps; the SIMD units mirror it):
 *
 *   p = S + i*K0 + k,  S a multiple of K0*K1,  i < K1,  k < K0
 *   (sin, cos)(p*w) = rot(rot(sc(S*w), T1[i]), T0[k])
 *   T0[k] = rot^(k-1)(sc(w)),  T1[i] = rot^(i-1)(sc(K0*w))
 *
 * where sc is an accurate double sincos (SLEEF, 3.5 ulp) of a double angle
 * formed by one rounded product of an exact integer and w, and rot is the
 * angle-addition identity evaluated in double with FMAs. The blocks are
 * aligned to absolute positions, so the value of an element depends only
 * on its position and its column: calls over sub-ranges give the same bits
 * as one call over the whole range.
 */
#ifndef SIMDNN_KERNELS_POSENC_H
#define SIMDNN_KERNELS_POSENC_H

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "simdnn/simdnn.h"

/* The kernel units do not see dispatch/ on their include path. */
#ifndef SIMDNN_INTERNAL
#define SIMDNN_INTERNAL __attribute__((visibility("hidden")))
#endif

/*
 * Tables (table and fused add): rows per block K0, blocks per superblock
 * K1, column pairs per stack column block CB. A column block's slot (w,
 * T0, T1, S and B) takes (5 + 2*K0 + 2*K1) * CB * 8 bytes = 25 KiB of
 * stack; calls of POSENC_WIDE_ROWS rows or more over wider rows put one
 * slot for the whole width on the heap instead (posenc_wide_slot). SLEEF
 * runs once per column per 512 rows (S); the rest is two rotations.
 */
#define POSENC_TABLE_K0 16
#define POSENC_TABLE_K1 32
#define POSENC_TABLE_CB 32

/*
 * RoPE: a token's angles serve every head, so the SLEEF cost is already
 * divided by the head count and smaller blocks suffice; the column block
 * covers head_dim 256 in one pass over the tensor (wider heads take one
 * pass per 256): (5 + 2*8 + 2*8) * 128 * 8 bytes = 37 KiB of stack, plus the
 * per-token rows of the unit (at most 6 KiB).
 */
#define POSENC_ROPE_K0 8
#define POSENC_ROPE_K1 8
#define POSENC_ROPE_CB 128

/*
 * The frequency of pair k of a d-wide encoding: w_k = base^(-2k/d), by
 * libm's pow in double with the exponent rounded once. This exact formula
 * is the contract's (and the test oracle's) w_k.
 */
static inline double posenc_frequency(double base, size_t k, size_t d)
{
    return pow(base, -(double)(2 * k) / (double)d);
}

/*
 * Tables to write at least this many bytes use non-temporal stores where
 * the rows are 32-byte aligned (AVX2, AVX-512): such a table does not fit
 * in the caches anyway and streaming saves the read-for-ownership.
 */
#define POSENC_STREAM_BYTES ((size_t)4 << 20)

/*
 * The block decomposition, shared by every ISA: each unit supplies the
 * double arithmetic on rows of `padded` pairs (sincos, rotation) and the
 * consumer of the rows; this header does the bookkeeping.
 */
struct posenc_blocks {
    size_t k0, k1;     /* rows per block, blocks per superblock */
    size_t pairs;      /* pairs in this column block */
    size_t padded;     /* pairs rounded up to the unit's vector width */
    size_t stride;     /* doubles between rows of t0 and t1 (>= padded) */
    double *w;         /* [padded] frequencies, 0 in the padding */
    double *t0s, *t0c; /* [k0][stride] T0[k], about sc(k*w) */
    double *t1s, *t1c; /* [k1][stride] T1[i], about sc(i*k0*w) */
    double *ss, *sc;   /* [padded] sc(S*w) of the current superblock */
    double *bs, *bc;   /* [padded] the current block start */
};

/* s[j], c[j] = sin, cos of (m * w[j]) for j < n; m an exact integer. */
typedef void (*posenc_sincos_fn)(double *s, double *c, const double *w,
                                 size_t n, double m);
/* (rs, rc) = rot((as, ac), (bs, bc)) elementwise for j < n:
 * rs = fma(as, bc, ac*bs), rc = fma(ac, bc, -(as*bs)); rs may be as. */
typedef void (*posenc_rotate_fn)(double *rs, double *rc, const double *as,
                                 const double *ac, const double *bs,
                                 const double *bc, size_t n);
/* Consumes row `row` (counted from the call's first position) of the
 * current column block: its values are rot((bs, bc), (ks, kc)). */
typedef void (*posenc_row_fn)(void *ctx, size_t row, const double *bs,
                              const double *bc, const double *ks,
                              const double *kc);
/* Announces the column block (pairs j0 .. j0 + pairs - 1) whose rows
 * follow. */
typedef void (*posenc_column_fn)(void *ctx, size_t j0, size_t pairs);

/* What an ISA unit supplies, and the shape of the decomposition. */
struct posenc_plan {
    posenc_sincos_fn sincos;
    posenc_rotate_fn rotate;
    posenc_column_fn column;
    posenc_row_fn row;
    size_t width;      /* pairs per vector step; tables padded to it */
    size_t k0, k1, cb; /* rows per block, blocks per superblock, pairs per
                          column block (a multiple of width) */
    size_t d;          /* d_model or head_dim */
    double base;
};

/* Doubles of one column block's slot: w, T0 and T1 (sin and cos), the
 * superblock start S and the block start B. */
#define POSENC_SLOT_DOUBLES(k0, k1, cb) ((cb) * (5 + 2 * (k0) + 2 * (k1)))

static inline size_t posenc_slot_doubles(const struct posenc_plan *plan)
{
    return POSENC_SLOT_DOUBLES(plan->k0, plan->k1, plan->cb);
}

static inline void posenc_bind(const struct posenc_plan *plan,
                               struct posenc_blocks *b, double *slot)
{
    size_t cb = plan->cb;
    b->k0 = plan->k0;
    b->k1 = plan->k1;
    b->stride = cb;
    b->w = slot;
    b->t0s = slot + cb;
    b->t0c = b->t0s + plan->k0 * cb;
    b->t1s = b->t0c + plan->k0 * cb;
    b->t1c = b->t1s + plan->k1 * cb;
    b->ss = b->t1c + plan->k1 * cb;
    b->sc = b->ss + cb;
    b->bs = b->sc + cb;
    b->bc = b->bs + cb;
}

/* The largest q mod period over the integers q in [q0, q1]. */
static inline size_t posenc_last_index(size_t q0, size_t q1, size_t period)
{
    if (q1 - q0 + 1 >= period || q0 % period > q1 % period)
        return period - 1;
    return q1 % period;
}

/*
 * Steps 1 and 2 of scalar.c for pairs j0 .. j0 + b->pairs - 1 of a d-wide
 * encoding: the frequencies, then t0 and t1, each from one SLEEF call
 * (sc(w), sc(K0*w)) by repeated rotation, up to the last entry positions
 * [first, first + count) use (all of them once the range covers a block
 * or a superblock). Every entry is always computed the same way, whatever
 * range the call covers.
 */
static inline void posenc_prepare(const struct posenc_plan *plan,
                                  struct posenc_blocks *b, size_t j0,
                                  size_t first, size_t count)
{
    for (size_t j = 0; j < b->padded; j++)
        b->w[j] =
            j < b->pairs ? posenc_frequency(plan->base, j0 + j, plan->d) : 0.0;
    size_t last = first + count - 1;
    double *tables[2][2] = {{b->t0s, b->t0c}, {b->t1s, b->t1c}};
    size_t ends[2] = {posenc_last_index(first, last, b->k0),
                      posenc_last_index(first / b->k0, last / b->k0, b->k1)};
    double steps[2] = {1.0, (double)b->k0};
    for (int t = 0; t < 2; t++) {
        double *ts = tables[t][0], *tc = tables[t][1];
        for (size_t j = 0; j < b->padded; j++) {
            ts[j] = 0.0;
            tc[j] = 1.0;
        }
        if (ends[t] < 1)
            continue;
        plan->sincos(ts + b->stride, tc + b->stride, b->w, b->padded, steps[t]);
        for (size_t i = 2; i <= ends[t]; i++)
            plan->rotate(ts + i * b->stride, tc + i * b->stride,
                         ts + (i - 1) * b->stride, tc + (i - 1) * b->stride,
                         ts + b->stride, tc + b->stride, b->padded);
    }
}

/* Steps 3 to 5 of scalar.c for positions [p, end) of one superblock:
 * every row, in order. */
static inline void posenc_run(const struct posenc_plan *plan,
                              struct posenc_blocks *b, size_t origin, size_t p,
                              size_t end, void *ctx)
{
    size_t s0 = p / (b->k0 * b->k1) * (b->k0 * b->k1);
    plan->sincos(b->ss, b->sc, b->w, b->padded, (double)s0);
    while (p < end) {
        size_t b0 = p / b->k0 * b->k0, i = (b0 - s0) / b->k0;
        size_t b_end = b0 + b->k0 < end ? b0 + b->k0 : end;
        plan->rotate(b->bs, b->bc, b->ss, b->sc, b->t1s + i * b->stride,
                     b->t1c + i * b->stride, b->padded);
        for (; p < b_end; p++) {
            size_t k = p - b0;
            plan->row(ctx, p - origin, b->bs, b->bc, b->t0s + k * b->stride,
                      b->t0c + k * b->stride);
        }
    }
}

/*
 * The whole call over positions [first, first + count): tiles of one
 * superblock's rows (at most K0*K1) by one column block, superblocks
 * outer. The slot is prepared again whenever the column block changes
 * (the values are the same either way); with a single column block (the
 * whole width, see posenc_wide_slot) it is prepared once and every row is
 * produced whole, left to right, so loads and stores stream through
 * memory. With several column blocks a tile touches a short piece of
 * each of up to 512 rows, a power of two apart for common widths: the
 * hardware prefetchers follow that badly and, in the fused add, loads of x
 * alias (modulo 4 KiB) stores of the row before. Measured here, the 4096 x
 * 4096 fused add took 2-3x longer in tile order than in row order. The
 * stack path therefore only serves calls of fewer than POSENC_WIDE_ROWS
 * rows, rows wider than POSENC_WIDE_PAIRS pairs, failed allocations and
 * RoPE (whose column block covers head_dim 256).
 */
static inline void posenc_tiles(const struct posenc_plan *plan, size_t first,
                                size_t count, double *slot, void *ctx)
{
    size_t half = plan->d / 2, cb = plan->cb;
    size_t ncb = (half + cb - 1) / cb, super = plan->k0 * plan->k1;
    size_t prepared = (size_t)-1, end = first + count;
    for (size_t s = first; s < end;) {
        size_t s_end = (s / super + 1) * super;
        if (s_end > end)
            s_end = end;
        for (size_t c = 0; c < ncb; c++) {
            struct posenc_blocks b;
            posenc_bind(plan, &b, slot);
            b.pairs = half - c * cb < cb ? half - c * cb : cb;
            b.padded = (b.pairs + plan->width - 1) / plan->width * plan->width;
            if (prepared != c) {
                posenc_prepare(plan, &b, c * cb, first, count);
                prepared = c;
            }
            plan->column(ctx, c * cb, b.pairs);
            posenc_run(plan, &b, first, s, s_end, ctx);
        }
        s = s_end;
    }
}

/* Calls of at least this many rows get a whole-width slot on the heap,
 * for rows of up to POSENC_WIDE_PAIRS pairs (d_model 16384: 6.5 MiB). */
#define POSENC_WIDE_ROWS 32
#define POSENC_WIDE_PAIRS 8192

/*
 * A slot for the whole width on the heap (plan->cb becomes the padded
 * width: one column block) when the width exceeds one stack column block
 * (but not POSENC_WIDE_PAIRS) and the call has POSENC_WIDE_ROWS rows or
 * more; NULL otherwise or when the allocation fails, and the caller uses
 * its stack slot (slower, same values): the call never fails. About 800
 * bytes per pair.
 */
static inline double *posenc_wide_slot(struct posenc_plan *plan, size_t count)
{
    size_t half = plan->d / 2;
    if (half <= plan->cb || half > POSENC_WIDE_PAIRS ||
        count < POSENC_WIDE_ROWS)
        return NULL;
    size_t cb = (half + plan->width - 1) / plan->width * plan->width;
    size_t bytes = POSENC_SLOT_DOUBLES(plan->k0, plan->k1, cb) * 8;
    double *heap = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (heap != NULL)
        plan->cb = cb;
    return heap;
}

struct posenc_ops {
    /* table[r*row_stride + j] = PE(position_offset + r, j). */
    void (*table)(float *table, size_t positions, size_t d_model,
                  size_t row_stride, size_t position_offset, double base,
                  simdnn_posenc_layout layout);
    /* x[r*row_stride + j] += PE(position_offset + r, j), one rounding. */
    void (*add)(float *x, size_t positions, size_t d_model, size_t row_stride,
                size_t position_offset, double base,
                simdnn_posenc_layout layout);
    /* RoPE in place on [tokens][heads][head_dim], token_stride apart. */
    void (*rope)(float *x, size_t tokens, size_t heads, size_t head_dim,
                 size_t token_stride, size_t position_offset, double base,
                 simdnn_rope_style style);
};

SIMDNN_INTERNAL extern const struct posenc_ops posenc_ops_scalar;
SIMDNN_INTERNAL extern const struct posenc_ops posenc_ops_avx2;
SIMDNN_INTERNAL extern const struct posenc_ops posenc_ops_avx512;
SIMDNN_INTERNAL extern const struct posenc_ops posenc_ops_neon;

#endif /* SIMDNN_KERNELS_POSENC_H */
