/*
 * The memory floor: the fastest plain loops that move the bytes a kernel
 * must move, used two ways by simdnn-bench.
 *
 * 1. A STREAM-like probe at startup (read, write and copy of buffers far
 *    larger than the last-level cache) gives the machine's bandwidths; they
 *    go into the report's machine section and into each DRAM case's
 *    `dram_floor_frac` counter (the case's floor traffic over these
 *    bandwidths, divided by its measured time).
 * 2. Each case also runs its own floor loop on the same working set with
 *    the same buffer rotation (columns floor-reg and floor-nt), so that the
 *    "percent of floor" of a cache-resident case is measured against the
 *    cache it lives in, not against DRAM.
 *
 * On x86-64 the loops use AVX2 (8 floats per vector, 4 vectors per
 * iteration, streaming stores with _mm256_stream_ps for the "nt" variants)
 * selected at run time with __builtin_cpu_supports; elsewhere they are
 * portable C loops (the compiler vectorizes them; "nt" then means plain
 * stores, which the report states through floor_nt_available()).
 */
#ifndef SIMDNN_BENCH_FLOOR_H
#define SIMDNN_BENCH_FLOOR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The traffic shape of a kernel, as the smallest plain loop that has it. */
typedef enum floor_mode {
    /* out[i] = c: write n floats (a table fill). */
    FLOOR_WRITE = 0,
    /* sum(a): read n floats. */
    FLOOR_READ = 1,
    /* out[i] = a[i]: read n, write n (inference batch norm). */
    FLOOR_COPY = 2,
    /* a[i] = a[i] + c in place: read n, write n to the same place
     * (fused positional add, RoPE). */
    FLOOR_RMW = 3,
    /* sum(a), then out[i] = a[i]: read 2n, write n (the least any
     * softmax or training batch norm does once its input left the cache:
     * statistics first, outputs second). */
    FLOOR_READ_COPY = 4,
    /* sum(a) + sum(b), then out[i] = a[i] + b[i]: read 4n, write n
     * (batch-norm backward: reductions of x and dy, then dx). */
    FLOOR_READ2_COMBINE2 = 5
} floor_mode;

/* Runs one pass of `mode` over n floats; a is read, b the second input
 * (FLOOR_READ2_COMBINE2 only), out written (NULL for FLOOR_READ; for
 * FLOOR_RMW out must equal a). nt selects streaming stores. Returns a value
 * derived from what was read, to be kept by the caller so that no pass can
 * be optimized away. */
float floor_run(floor_mode mode, const float *a, const float *b, float *out,
                size_t n, int nt);

/* Bytes read and written by one pass of `mode` over n floats. */
void floor_traffic(floor_mode mode, size_t n, double *bytes_read,
                   double *bytes_written);

/* Whether floor_run uses real streaming (non-temporal) stores here, and
 * which implementation runs ("avx2", "portable"). */
int floor_nt_available(void);
const char *floor_impl_name(void);

#ifdef __cplusplus
}
#endif

#endif /* SIMDNN_BENCH_FLOOR_H */
