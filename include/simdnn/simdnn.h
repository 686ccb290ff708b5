/*
 * simdnn: SIMD kernels for neural-network inference and training on CPUs.
 *
 * This header is the whole public interface and its reference manual. It is
 * C11 and C++ compatible. Three kernel families are provided (softmax,
 * positional encodings, batch normalization), each with a scalar path and
 * AVX2+FMA, AVX-512F and NEON variants chosen at run time.
 *
 * Conventions shared by every entry point
 * ---------------------------------------
 * - Every function validates all of its arguments first and returns a
 *   simdnn_status. On any status other than SIMDNN_SUCCESS nothing has been
 *   written to any output buffer.
 * - Sizes and strides are counted in elements, not bytes. A NULL pointer is
 *   accepted only when the buffer it names holds no element. Sizes whose
 *   byte count overflows size_t are rejected.
 * - Input and output buffers must either not overlap at all or, where a
 *   function says "in place allowed", be exactly the same buffer with the
 *   same strides.
 * - Thread safety: every entry point is reentrant and may be called from any
 *   number of threads at once. The only global state is the dispatch state
 *   (which ISA each family uses), initialized once on first use; changing
 *   the cap with simdnn_set_max_isa() while other threads compute is safe:
 *   each call uses one consistent kernel.
 * - Splitting work across an engine's thread pool: call the same entry point
 *   on disjoint sub-ranges (row ranges for softmax, outer ranges for the
 *   general-axis softmax, position ranges with the matching position_offset
 *   for the tables and RoPE, image ranges for batch-norm inference). Results
 *   are bitwise identical to a single call over the whole range, because no
 *   kernel's arithmetic depends on where a range starts or ends.
 * - Nothing is printed unless the environment variable SIMDNN_VERBOSE is set
 *   to a non-zero value; then the dispatch decisions are logged to stderr.
 */
#ifndef SIMDNN_SIMDNN_H
#define SIMDNN_SIMDNN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(SIMDNN_SHARED_BUILD)
#define SIMDNN_API __declspec(dllexport)
#elif defined(__GNUC__)
#define SIMDNN_API __attribute__((visibility("default")))
#else
#define SIMDNN_API
#endif

/* ---------------------------------------------------------------------- */
/* Version                                                                 */
/* ---------------------------------------------------------------------- */

#define SIMDNN_VERSION_MAJOR 0
#define SIMDNN_VERSION_MINOR 1
#define SIMDNN_VERSION_PATCH 0
#define SIMDNN_VERSION                                                         \
    (SIMDNN_VERSION_MAJOR * 10000 + SIMDNN_VERSION_MINOR * 100 +               \
     SIMDNN_VERSION_PATCH)

/* The version of the library actually linked, as SIMDNN_VERSION encodes it. */
SIMDNN_API int simdnn_version(void);
/* The same as "MAJOR.MINOR.PATCH". */
SIMDNN_API const char *simdnn_version_string(void);

/* ---------------------------------------------------------------------- */
/* Status codes                                                            */
/* ---------------------------------------------------------------------- */

typedef enum simdnn_status {
    SIMDNN_SUCCESS = 0,
    /* An argument broke the function's contract; nothing was written. */
    SIMDNN_INVALID_ARGUMENT = 1,
    /* The request is valid but this build or CPU cannot serve it. */
    SIMDNN_UNSUPPORTED = 2,
    /* A temporary buffer could not be allocated; nothing was written. */
    SIMDNN_OUT_OF_MEMORY = 3
} simdnn_status;

/* A static, human-readable name for a status ("success", ...). */
SIMDNN_API const char *simdnn_status_string(simdnn_status status);

/* ---------------------------------------------------------------------- */
/* Instruction sets and dispatch                                           */
/* ---------------------------------------------------------------------- */

/* Ordered: on one architecture a larger value is a superset. */
typedef enum simdnn_isa {
    SIMDNN_ISA_SCALAR = 0,
    SIMDNN_ISA_AVX2 = 1,   /* x86-64: AVX2 + FMA3, OS saves YMM state */
    SIMDNN_ISA_AVX512 = 2, /* x86-64: AVX-512F, OS saves ZMM/k state */
    SIMDNN_ISA_NEON = 3,   /* aarch64: Advanced SIMD (always present) */
    SIMDNN_ISA_COUNT = 4
} simdnn_isa;

typedef enum simdnn_family {
    SIMDNN_FAMILY_SOFTMAX = 0,
    SIMDNN_FAMILY_POSENC = 1,
    SIMDNN_FAMILY_BATCHNORM = 2,
    SIMDNN_FAMILY_COUNT = 3
} simdnn_family;

/* "scalar", "avx2", "avx512", "neon"; "unknown" for other values. */
SIMDNN_API const char *simdnn_isa_name(simdnn_isa isa);
/* "softmax", "posenc", "batchnorm"; "unknown" for other values. */
SIMDNN_API const char *simdnn_family_name(simdnn_family family);

/* Non-zero when this CPU and OS can execute `isa` (CPUID and XCR0 on x86,
 * the hardware capabilities on aarch64) AND this build contains at least one
 * kernel for it. The scalar ISA is always supported. */
SIMDNN_API int simdnn_isa_supported(simdnn_isa isa);

/* The best ISA in use by any family under the current cap. */
SIMDNN_API simdnn_isa simdnn_active_isa(void);

/* The ISA that `family` uses now: the best one that is supported, not above
 * the cap, and for which the family has a kernel. */
SIMDNN_API simdnn_isa simdnn_family_isa(simdnn_family family);

/* Caps the ISAs used: SIMDNN_ISA_SCALAR forces the scalar path; on x86,
 * SIMDNN_ISA_AVX2 forbids AVX-512; SIMDNN_ISA_NEON is the top of the aarch64
 * order. The cap starts from the environment variable SIMDNN_MAX_ISA
 * (scalar|avx2|avx512|neon), read once on first use, and may be changed at
 * any time; calls already running finish with the kernel they chose.
 * Returns SIMDNN_INVALID_ARGUMENT for a value outside the enum. A cap the
 * CPU cannot reach is not an error: the best supported ISA below it is
 * used, which SIMDNN_VERBOSE reports. */
SIMDNN_API simdnn_status simdnn_set_max_isa(simdnn_isa isa);
SIMDNN_API simdnn_isa simdnn_max_isa(void);

/* ---------------------------------------------------------------------- */
/* Softmax                                                                 */
/* ---------------------------------------------------------------------- */

/*
 * y[r][i] = exp(x[r][i] - m) / sum_j exp(x[r][j] - m), m = max_j x[r][j],
 * for r < rows, i < n; row r of x starts at x + r*x_stride, row r of y at
 * y + r*y_stride. In place allowed (x == y and x_stride == y_stride).
 *
 * Accuracy, on every ISA and every row length up to 2^24 (and beyond):
 * relative error at most 2e-6 for every output whose exact value is at
 * least FLT_MIN (measured: at most 2.8e-7). Outputs below FLT_MIN may be
 * flushed to zero or be subnormal. No finite input, however large,
 * overflows (1e38, or -3e38 beside a maximum of 3e38): x - m never
 * loses its low bits (for |m| < 2^18 the maximum is folded into the
 * exact range reduction of exp; beyond, x - m is carried in two floats),
 * and the sum is accumulated in double, so the error does not grow with
 * the row length (a float running sum reaches 1e-3 at 2^24).
 *
 * Special values:
 * - a NaN anywhere in a row makes the whole row NaN;
 * - +Inf anywhere in a row makes the whole row NaN;
 * - a row whose entries are all -Inf is NaN, or all zeros when flags has
 *   SIMDNN_SOFTMAX_MASKED_ROW_ZERO (an attention row with every key masked;
 *   a NaN in such a row still makes it NaN);
 * - otherwise a -Inf entry gives exactly +0.
 * The flag changes nothing for rows with a finite or NaN entry.
 *
 * Errors: NULL x or y with rows*n > 0; x_stride < n or y_stride < n when
 * rows > 1 (with one row the strides are not used); byte counts
 * overflowing size_t; unknown flag bits; x and y overlapping other than
 * exactly: the regions they span (from the first element of the first row
 * to the last element of the last row) must be disjoint unless x == y,
 * which also needs x_stride == y_stride when rows > 1. Interleaved rows of
 * x and y within one region are rejected even when no element is shared.
 *
 * Rows of 2^22 elements or more are computed in two passes over memory
 * (max and sum together, then exp and scale with non-temporal stores)
 * instead of three; results differ from the three-pass form only by
 * rounding, within the same bound.
 */
#define SIMDNN_SOFTMAX_MASKED_ROW_ZERO 0x1u

SIMDNN_API simdnn_status simdnn_softmax_f32(const float *x, float *y,
                                            size_t rows, size_t n,
                                            size_t x_stride, size_t y_stride,
                                            unsigned flags);

/*
 * y[r][i] = x[r][i] - m - log(sum_j exp(x[r][j] - m)), same layout, flags and
 * errors as simdnn_softmax_f32. Absolute error at most 2e-6 * (1 + |y|)
 * (measured: at most 1.5e-7), for inputs of any size: y is (x - m) - L in
 * float with L = log(sum) >= 0, and as x - m <= 0, each of its roundings is
 * at most 2^-24 * |y|. Special values: NaN or +Inf in a row gives a NaN row;
 * an all -Inf row gives NaN, or -Inf everywhere with
 * SIMDNN_SOFTMAX_MASKED_ROW_ZERO (log of the zero row); a -Inf entry gives
 * exactly -Inf; a finite entry whose exact result is below -FLT_MAX (x =
 * -3e38 beside a maximum of 3e38) gives -Inf, the float it rounds to.
 */
SIMDNN_API simdnn_status simdnn_log_softmax_f32(const float *x, float *y,
                                                size_t rows, size_t n,
                                                size_t x_stride,
                                                size_t y_stride,
                                                unsigned flags);

/*
 * Softmax along the middle axis of a dense tensor viewed as
 * [outer][axis][inner] (e.g. NCHW channel softmax: outer = N, axis = C,
 * inner = H*W): element (o, a, i) is at index (o*axis + a)*inner + i.
 * In place allowed (x == y). Same accuracy, special values and flags as
 * simdnn_softmax_f32, each (o, i) column being one "row"; the SIMD kernels
 * process 8 (AVX2), 16 (AVX-512) or 4 (NEON) adjacent columns per vector,
 * so inner below that width leaves lanes idle; inner == 1 is the row form.
 * Errors: NULL x or y with outer*axis*inner > 0; byte counts overflowing
 * size_t; x and y overlapping without being equal; unknown flag bits.
 */
SIMDNN_API simdnn_status simdnn_softmax_axis_f32(const float *x, float *y,
                                                 size_t outer, size_t axis,
                                                 size_t inner, unsigned flags);
SIMDNN_API simdnn_status simdnn_log_softmax_axis_f32(const float *x, float *y,
                                                     size_t outer, size_t axis,
                                                     size_t inner,
                                                     unsigned flags);

/* ---------------------------------------------------------------------- */
/* Positional encodings                                                    */
/* ---------------------------------------------------------------------- */

/*
 * The sinusoidal encoding of "Attention Is All You Need": for position p and
 * pair index k < d_model/2, with the frequency w_k = base^(-2k/d_model),
 *   sin(p * w_k) and cos(p * w_k).
 *
 * Layouts of one row of d_model floats:
 * - SIMDNN_POSENC_INTERLEAVED: [sin w_0, cos w_0, sin w_1, cos w_1, ...],
 *   the paper's PE[p][2k] = sin, PE[p][2k+1] = cos;
 * - SIMDNN_POSENC_SPLIT: [sin w_0 ... sin w_{d/2-1}, cos w_0 ... cos w_{d/2-1}]
 *   (the half-split layout several engines use).
 *
 * Accuracy, on every ISA: absolute error at most 5.96e-8 (2^-24, one float
 * ULP at magnitude 1) against sin and cos of the double product p * w_k,
 * for every position below 2^20, d_model up to 16384 and base from 2 to
 * 1e6, where w_k = pow(base, -(double)(2k) / (double)d_model) in double.
 * The angle is never formed in float (a float p*w is off by up to 7e-3 at
 * such positions): sin and cos of block-start angles are computed in
 * double (SLEEF, 3.5 ulp) and combined with per-offset rotations by the
 * angle-addition identities, in double, then rounded once. Before that
 * rounding the value is within about 2^-31 of the reference, so the error
 * is half a float ULP plus at most 2^-31 (measured: 2.99e-8 below 2^20,
 * 3.12e-8 near 2^24).
 *
 * Positions are p = position_offset + r for row r. Valid positions are
 * below SIMDNN_POSENC_MAX_POSITION (2^24: every position exactly
 * representable in float); the accuracy bound is tested below 2^20 and
 * up to that limit, where the construction's error grows to 2^-27 and the
 * bound still holds.
 *
 * The blocks are aligned to absolute positions, so a call over a range of
 * positions gives the same bits as the same rows of a call over a larger
 * range. Calls use at most 48 KiB of stack; tables and fused adds of 32
 * rows or more with 64 < d_model <= 16384 also allocate about 800 bytes
 * per sin/cos pair of a row (6.5 MiB at d_model 16384) for the duration
 * of the call, and run (more slowly, with the same results) without it if
 * that allocation fails: these functions never return
 * SIMDNN_OUT_OF_MEMORY. Each call first spends about 30 ns per pair of a
 * row here (one pow, up to three double sincos, a few rotations): for
 * many calls of a few rows, build a table once and add or copy its rows.
 * Tables of 4 MiB or more with 32-byte aligned rows (64-byte with
 * AVX-512) are written with non-temporal stores: they bypass the caches.
 */
typedef enum simdnn_posenc_layout {
    SIMDNN_POSENC_INTERLEAVED = 0,
    SIMDNN_POSENC_SPLIT = 1
} simdnn_posenc_layout;

#define SIMDNN_POSENC_MAX_POSITION ((size_t)1 << 24)
#define SIMDNN_POSENC_DEFAULT_BASE 10000.0

/*
 * Fills `positions` rows of `d_model` floats; row r starts at
 * table + r*row_stride. Errors: NULL table with positions*d_model > 0;
 * d_model odd; row_stride < d_model when positions > 1; base not finite or
 * <= 1; position_offset + positions > SIMDNN_POSENC_MAX_POSITION; unknown
 * layout; byte counts overflowing size_t.
 */
SIMDNN_API simdnn_status simdnn_posenc_table_f32(
    float *table, size_t positions, size_t d_model, size_t row_stride,
    size_t position_offset, double base, simdnn_posenc_layout layout);

/*
 * x[r][j] += PE[position_offset + r][j] in place, same arguments and errors
 * as simdnn_posenc_table_f32 (x instead of table). The encoding value is
 * the one the table would hold; the sum is rounded once.
 */
SIMDNN_API simdnn_status simdnn_posenc_add_f32(
    float *x, size_t positions, size_t d_model, size_t row_stride,
    size_t position_offset, double base, simdnn_posenc_layout layout);

/*
 * Rotary position embedding (RoPE) applied in place to a tensor
 * [tokens][heads][head_dim]: token t has position p = position_offset + t
 * and element (t, h, j) is at x + t*token_stride + h*head_dim + j.
 * For pair k < head_dim/2 with angle p * w_k, w_k = base^(-2k/head_dim):
 *   (u, v) -> (u*cos - v*sin, u*sin + v*cos)
 * where the pair is
 * - SIMDNN_ROPE_INTERLEAVED (GPT-J, Meta's original LLaMA code):
 *   (x[2k], x[2k+1]);
 * - SIMDNN_ROPE_HALF (GPT-NeoX, Hugging Face "rotate_half"):
 *   (x[k], x[k + head_dim/2]).
 * The sin and cos of every angle obey the table's accuracy contract (with
 * head_dim as d_model) and are never rounded to float: the rotation runs
 * in double with one FMA per output and each output is rounded once. Each
 * output is within 2^-24 * |r| + 2^-31 * (|u| + |v|) of the exact
 * rotation r of (u, v) by the double angle, for positions below 2^20
 * (2^-27 instead of 2^-31 up to 2^24); in particular within
 * 2^-24 * (|u| + |v|) * 2 at every valid position. head_dim up to 256 is
 * done in one pass over the tensor, wider heads in one pass per 256.
 * Errors: NULL x with data; head_dim odd; token_stride < heads*head_dim
 * when tokens > 1; base and positions as for the table; unknown style.
 */
typedef enum simdnn_rope_style {
    SIMDNN_ROPE_INTERLEAVED = 0,
    SIMDNN_ROPE_HALF = 1
} simdnn_rope_style;

SIMDNN_API simdnn_status simdnn_rope_f32(float *x, size_t tokens, size_t heads,
                                         size_t head_dim, size_t token_stride,
                                         size_t position_offset, double base,
                                         simdnn_rope_style style);

/* ---------------------------------------------------------------------- */
/* Batch normalization                                                     */
/* ---------------------------------------------------------------------- */

/*
 * Tensors are dense 4-D [N][C][H][W] (SIMDNN_NCHW) or [N][H][W][C]
 * (SIMDNN_NHWC) with spatial = H*W; per-channel arrays hold C floats
 * (so they must not be NULL when c > 0, even for an empty batch, unless
 * documented as optional). The count of a channel is N*spatial. No call
 * allocates memory: per-channel constants and partial sums take at most
 * 36 KiB of stack.
 *
 * Inference: y = gamma*(x - mean)/sqrt(var + eps) + beta, evaluated as one
 * fused multiply-add y = x*a + b with a = gamma/sqrt(var + eps) and
 * b = beta - mean*a folded once per call in double. With
 * SIMDNN_BATCHNORM_FUSE_RELU, y = max(y, 0) (a NaN stays NaN). Outputs of
 * 16 MiB or more that do not alias x are written with non-temporal stores
 * on x86 (they would not stay in cache anyway). Each output is within
 * 1e-6 * (|x*a| + |b|) of the exact value. In place allowed (x == y).
 * Errors: NULL pointers with data; eps <= 0 or NaN; unknown layout or
 * flags; overlapping x/y other than exactly; overflowing sizes.
 * gamma may be NULL (all ones) and beta may be NULL (all zeros).
 */
typedef enum simdnn_layout { SIMDNN_NCHW = 0, SIMDNN_NHWC = 1 } simdnn_layout;

#define SIMDNN_BATCHNORM_FUSE_RELU 0x1u

SIMDNN_API simdnn_status simdnn_batchnorm_inference_f32(
    const float *x, float *y, size_t n, size_t c, size_t spatial,
    simdnn_layout layout, const float *gamma, const float *beta,
    const float *mean, const float *var, float eps, unsigned flags);

/*
 * Training forward. Computes per channel the batch mean and the biased
 * batch variance (divided by the count), writes them to batch_mean and
 * batch_var, and y = gamma*(x - mean)/sqrt(var + eps) + beta (fused ReLU
 * with SIMDNN_BATCHNORM_FUSE_RELU).
 *
 * Statistics are computed stably in one pass (sums of x - k with k a
 * shift near the mean, sampled from the channel, in short float blocks
 * merged in double; never E[x^2] - E[x]^2 in float): batch_var within 1e-6
 * relative, batch_mean within 1e-6 * (|mean| + std), so also 1e-6 relative
 * when |mean|/std is 1e4, for channels of 2^22 elements and beyond.
 * Outputs are evaluated as (x - mean_hi)*a + b where mean_hi is the float
 * nearest the mean and b = beta - (mean - mean_hi)*a carries the rest of
 * the mean, so data far from zero stay exact: with xhat = (x - mean) /
 * sqrt(var + eps) from the exact statistics, each output is within
 * 1e-6 * (|gamma*xhat| + |beta| + |gamma|) of the exact value (a bound
 * relative to |x*a| + |b| as for inference would be some 20 times looser
 * for data near 100 with std 2, and cannot hold where beta cancels
 * mean*a).
 * A channel whose values are all equal has variance 0 and outputs exactly
 * beta (never NaN); so does a channel of count 1. A NaN among a channel's
 * inputs makes that channel's statistics and outputs NaN (ReLU keeps NaN)
 * and leaves the other channels unaffected.
 *
 * Running statistics, when running_mean and running_var are not NULL:
 *   running_mean = momentum*running_mean + (1 - momentum)*batch_mean
 *   running_var  = momentum*running_var  + (1 - momentum)*unbiased_var
 * with unbiased_var = batch_var*count/(count - 1) (batch_var when the count
 * is 1). PyTorch's momentum is 1 - this momentum: PyTorch's default 0.1
 * is momentum = 0.9 here. momentum must lie in [0, 1].
 *
 * Errors as for inference, plus: momentum outside [0, 1] or NaN; NULL
 * batch_mean or batch_var with c > 0; n*spatial == 0 with c > 0 (no
 * statistics exist); running_mean and running_var not both NULL or both
 * set. In place allowed (x == y).
 */
SIMDNN_API simdnn_status simdnn_batchnorm_training_f32(
    const float *x, float *y, size_t n, size_t c, size_t spatial,
    simdnn_layout layout, const float *gamma, const float *beta, float eps,
    float momentum, float *batch_mean, float *batch_var, float *running_mean,
    float *running_var, unsigned flags);

/*
 * Backward of the training forward. With xhat = (x - mean)*inv_std and
 * inv_std = 1/sqrt(var + eps), using the saved batch statistics:
 *   dbeta  = sum(dy)
 *   dgamma = sum(dy * xhat)
 *   dx     = gamma*inv_std * (dy - dbeta/count - xhat*dgamma/count)
 * Each result is within 1e-5 relative to the magnitude of its terms
 * (sum |dy|, sum |dy*xhat|, and |gamma*inv_std|*(|dy| + sum|dy|/count +
 * |xhat|*sum|dy*xhat|/count): the sums enter dx, so the magnitudes of
 * their terms, not their possibly cancelling values, bound dx's error).
 * mean and var are read as given (normally the batch statistics the
 * training forward saved). dgamma and dbeta may be NULL when not wanted;
 * gamma may be NULL (all ones). In place allowed for dx == dy.
 * Errors as for training, plus NULL mean or var with c > 0.
 */
SIMDNN_API simdnn_status simdnn_batchnorm_backward_f32(
    const float *x, const float *dy, float *dx, size_t n, size_t c,
    size_t spatial, simdnn_layout layout, const float *gamma, const float *mean,
    const float *var, float eps, float *dgamma, float *dbeta);

#ifdef __cplusplus
}
#endif

#endif /* SIMDNN_SIMDNN_H */
