/*
 * Internal: CPU feature detection and the per-family kernel choice.
 *
 * Every public entry point asks simdnn_dispatch_isa() which ISA its family
 * uses now and indexes its own table of kernels with the answer. The answer
 * is computed once (on first use, under pthread_once) from three facts:
 * what the CPU and OS can execute, the cap (SIMDNN_MAX_ISA or
 * simdnn_set_max_isa), and which kernels this build contains. It is stored
 * in an atomic per family, so a call costs one load and no lock.
 */
#ifndef SIMDNN_DISPATCH_H
#define SIMDNN_DISPATCH_H

#include <stdbool.h>

#include "simdnn/simdnn.h"

#define SIMDNN_INTERNAL __attribute__((visibility("hidden")))

/* What the CPU and OS can execute, independent of the build and the cap. */
typedef struct simdnn_cpu_features {
    bool avx2_fma;        /* CPUID AVX2, FMA, AVX; XCR0 saves XMM and YMM */
    bool avx512f;         /* CPUID AVX512F; XCR0 also saves opmask and ZMM */
    bool neon;            /* aarch64 Advanced SIMD */
    bool os_avx;          /* XCR0 bits 1-2 (diagnostics) */
    bool os_avx512;       /* XCR0 bits 5-7 (diagnostics) */
    bool avx512_emulated; /* AVX-512 kernels built against SIMDe */
    char model[64];       /* CPU brand string where known */
} simdnn_cpu_features;

SIMDNN_INTERNAL const simdnn_cpu_features *simdnn_cpu(void);
SIMDNN_INTERNAL void simdnn_cpu_detect(simdnn_cpu_features *out);

/* Whether this build holds a kernel of `family` for `isa`. */
SIMDNN_INTERNAL bool simdnn_kernel_built(simdnn_family family, simdnn_isa isa);

/* The ISA whose kernel `family` must call now. */
SIMDNN_INTERNAL simdnn_isa simdnn_dispatch_isa(simdnn_family family);

/* Whether SIMDNN_VERBOSE asked for logging. */
SIMDNN_INTERNAL bool simdnn_verbose(void);

/* Reports a broken argument contract: logs "function: message" to stderr
 * when verbose (the message names the parameter, its value and the
 * constraint) and returns SIMDNN_INVALID_ARGUMENT. */
SIMDNN_INTERNAL simdnn_status simdnn_invalid(const char *function,
                                             const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* SIMDNN_DISPATCH_H */
