/*
 * The dispatch state: the cap and, per family, the ISA whose kernel runs.
 *
 * Initialization runs once under pthread_once: detect the CPU, read
 * SIMDNN_MAX_ISA and SIMDNN_VERBOSE, choose. A later simdnn_set_max_isa()
 * chooses again under a mutex and publishes each family's choice with one
 * atomic store; readers do one relaxed atomic load. No function pointer is
 * ever patched: every family indexes a constant table with the ISA.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "kernels_built.h"

/* Which kernels the build holds (kernels_built.h). */
static const bool kernel_built[SIMDNN_FAMILY_COUNT][SIMDNN_ISA_COUNT] = {
    [SIMDNN_FAMILY_SOFTMAX] = {true, SIMDNN_HAVE_SOFTMAX_AVX2,
                               SIMDNN_HAVE_SOFTMAX_AVX512,
                               SIMDNN_HAVE_SOFTMAX_NEON},
    [SIMDNN_FAMILY_POSENC] = {true, SIMDNN_HAVE_POSENC_AVX2,
                              SIMDNN_HAVE_POSENC_AVX512,
                              SIMDNN_HAVE_POSENC_NEON},
    [SIMDNN_FAMILY_BATCHNORM] = {true, SIMDNN_HAVE_BATCHNORM_AVX2,
                                 SIMDNN_HAVE_BATCHNORM_AVX512,
                                 SIMDNN_HAVE_BATCHNORM_NEON},
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t choose_lock = PTHREAD_MUTEX_INITIALIZER;
static simdnn_cpu_features cpu_features;
static bool verbose;
static _Atomic int max_isa = SIMDNN_ISA_COUNT - 1;
static _Atomic int family_isa[SIMDNN_FAMILY_COUNT];

bool simdnn_kernel_built(simdnn_family family, simdnn_isa isa)
{
    if ((unsigned)family >= SIMDNN_FAMILY_COUNT ||
        (unsigned)isa >= SIMDNN_ISA_COUNT)
        return false;
    return kernel_built[family][isa];
}

/* Whether the CPU (or, for the SIMDe build, the emulation) executes isa. */
static bool cpu_executes(simdnn_isa isa, const char **why)
{
    switch (isa) {
    case SIMDNN_ISA_SCALAR:
        return true;
    case SIMDNN_ISA_AVX2:
        *why = cpu_features.os_avx ? "CPU lacks AVX2 or FMA"
                                   : "CPU or OS lacks AVX state (XCR0)";
        return cpu_features.avx2_fma;
    case SIMDNN_ISA_AVX512:
        *why = cpu_features.os_avx512 ? "CPU lacks AVX-512F"
                                      : "CPU or OS lacks ZMM state (XCR0)";
        return cpu_features.avx512f || cpu_features.avx512_emulated;
    case SIMDNN_ISA_NEON:
        *why = "not an aarch64 CPU with Advanced SIMD";
        return cpu_features.neon;
    default:
        *why = "unknown ISA";
        return false;
    }
}

/* Chooses every family's ISA for the current cap; caller holds the lock. */
static void choose_all(void)
{
    int cap = atomic_load(&max_isa);
    for (int f = 0; f < SIMDNN_FAMILY_COUNT; f++) {
        int chosen = SIMDNN_ISA_SCALAR;
        for (int isa = SIMDNN_ISA_COUNT - 1; isa > SIMDNN_ISA_SCALAR; isa--) {
            const char *why = "";
            if (!kernel_built[f][isa])
                why = "no kernel in this build";
            else if (isa > cap)
                why = "above the cap (SIMDNN_MAX_ISA / simdnn_set_max_isa)";
            else if (cpu_executes((simdnn_isa)isa, &why))
                why = NULL;
            if (why == NULL) {
                chosen = isa;
                break;
            }
            if (verbose)
                fprintf(stderr, "simdnn: %s: skipping %s: %s\n",
                        simdnn_family_name((simdnn_family)f),
                        simdnn_isa_name((simdnn_isa)isa), why);
        }
        atomic_store(&family_isa[f], chosen);
        if (verbose)
            fprintf(stderr, "simdnn: %s: using %s%s\n",
                    simdnn_family_name((simdnn_family)f),
                    simdnn_isa_name((simdnn_isa)chosen),
                    chosen == SIMDNN_ISA_AVX512 && cpu_features.avx512_emulated
                        ? " (emulated by SIMDe)"
                        : "");
    }
}

static int parse_isa(const char *text)
{
    for (int isa = 0; isa < SIMDNN_ISA_COUNT; isa++)
        if (strcmp(text, simdnn_isa_name((simdnn_isa)isa)) == 0)
            return isa;
    return -1;
}

static void init(void)
{
    simdnn_cpu_detect(&cpu_features);
#ifdef SIMDNN_AVX512_VIA_SIMDE
    cpu_features.avx512_emulated = true;
#endif
    const char *v = getenv("SIMDNN_VERBOSE");
    verbose = v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
    const char *cap = getenv("SIMDNN_MAX_ISA");
    if (cap != NULL && cap[0] != '\0') {
        int isa = parse_isa(cap);
        if (isa >= 0)
            atomic_store(&max_isa, isa);
        else if (verbose)
            fprintf(stderr,
                    "simdnn: ignoring SIMDNN_MAX_ISA=%s: expected scalar, "
                    "avx2, avx512 or neon\n",
                    cap);
    }
    if (verbose)
        fprintf(stderr, "simdnn %s: cpu \"%s\", cap %s\n",
                simdnn_version_string(), cpu_features.model,
                simdnn_isa_name((simdnn_isa)atomic_load(&max_isa)));
    pthread_mutex_lock(&choose_lock);
    choose_all();
    pthread_mutex_unlock(&choose_lock);
}

const simdnn_cpu_features *simdnn_cpu(void)
{
    pthread_once(&init_once, init);
    return &cpu_features;
}

simdnn_isa simdnn_dispatch_isa(simdnn_family family)
{
    pthread_once(&init_once, init);
    return (simdnn_isa)atomic_load_explicit(&family_isa[family],
                                            memory_order_relaxed);
}

bool simdnn_verbose(void)
{
    pthread_once(&init_once, init);
    return verbose;
}

simdnn_status simdnn_invalid(const char *function, const char *format, ...)
{
    if (simdnn_verbose()) {
        va_list args;
        va_start(args, format);
        fprintf(stderr, "simdnn: %s: invalid argument: ", function);
        vfprintf(stderr, format, args);
        fputc('\n', stderr);
        va_end(args);
    }
    return SIMDNN_INVALID_ARGUMENT;
}

simdnn_status simdnn_set_max_isa(simdnn_isa isa)
{
    if ((unsigned)isa >= SIMDNN_ISA_COUNT)
        return SIMDNN_INVALID_ARGUMENT;
    pthread_once(&init_once, init);
    pthread_mutex_lock(&choose_lock);
    atomic_store(&max_isa, (int)isa);
    if (verbose)
        fprintf(stderr, "simdnn: cap set to %s\n", simdnn_isa_name(isa));
    choose_all();
    pthread_mutex_unlock(&choose_lock);
    return SIMDNN_SUCCESS;
}

simdnn_isa simdnn_max_isa(void)
{
    pthread_once(&init_once, init);
    return (simdnn_isa)atomic_load(&max_isa);
}

simdnn_isa simdnn_family_isa(simdnn_family family)
{
    if ((unsigned)family >= SIMDNN_FAMILY_COUNT)
        return SIMDNN_ISA_SCALAR;
    return simdnn_dispatch_isa(family);
}

simdnn_isa simdnn_active_isa(void)
{
    int best = SIMDNN_ISA_SCALAR;
    for (int f = 0; f < SIMDNN_FAMILY_COUNT; f++) {
        int isa = simdnn_dispatch_isa((simdnn_family)f);
        if (isa > best)
            best = isa;
    }
    return (simdnn_isa)best;
}

int simdnn_isa_supported(simdnn_isa isa)
{
    if ((unsigned)isa >= SIMDNN_ISA_COUNT)
        return 0;
    pthread_once(&init_once, init);
    const char *why = "";
    if (!cpu_executes(isa, &why))
        return 0;
    for (int f = 0; f < SIMDNN_FAMILY_COUNT; f++)
        if (kernel_built[f][isa])
            return 1;
    return 0;
}

const char *simdnn_isa_name(simdnn_isa isa)
{
    static const char *const names[SIMDNN_ISA_COUNT] = {"scalar", "avx2",
                                                        "avx512", "neon"};
    return (unsigned)isa < SIMDNN_ISA_COUNT ? names[isa] : "unknown";
}

const char *simdnn_family_name(simdnn_family family)
{
    static const char *const names[SIMDNN_FAMILY_COUNT] = {"softmax", "posenc",
                                                           "batchnorm"};
    return (unsigned)family < SIMDNN_FAMILY_COUNT ? names[family] : "unknown";
}

const char *simdnn_status_string(simdnn_status status)
{
    switch (status) {
    case SIMDNN_SUCCESS:
        return "success";
    case SIMDNN_INVALID_ARGUMENT:
        return "invalid argument";
    case SIMDNN_UNSUPPORTED:
        return "unsupported";
    case SIMDNN_OUT_OF_MEMORY:
        return "out of memory";
    }
    return "unknown status";
}

int simdnn_version(void) { return SIMDNN_VERSION; }

#define SIMDNN_STR2(x) #x
#define SIMDNN_STR(x) SIMDNN_STR2(x)
const char *simdnn_version_string(void)
{
    return SIMDNN_STR(SIMDNN_VERSION_MAJOR) "." SIMDNN_STR(
        SIMDNN_VERSION_MINOR) "." SIMDNN_STR(SIMDNN_VERSION_PATCH);
}
