/*
 * simdnn-info: prints what this simdnn build holds, what the CPU and the
 * operating system can execute, the ISA cap, and for every family the
 * kernel it runs and why each other ISA is skipped.
 *
 *   simdnn-info              the cap from SIMDNN_MAX_ISA (or none)
 *   simdnn-info --isa NAME   the cap set through simdnn_set_max_isa()
 *
 * The per-family reasoning is derived here from the same three facts the
 * dispatcher uses (kernels built, cap, CPU/OS support) and then compared
 * with the library's own answer, simdnn_family_isa(): any disagreement is
 * printed as MISMATCH and the exit status is 1, so the ctest cases that run
 * this tool under every cap value check that the explanation is truthful.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_info.h"
#include "dispatch.h"
#include "simdnn/simdnn.h"

static const char *yes_no(bool b) { return b ? "yes" : "no"; }

/* Whether the CPU (or SIMDe) executes `isa`; *why says why not. */
static bool executes(const simdnn_cpu_features *cpu, simdnn_isa isa,
                     const char **why)
{
    switch (isa) {
    case SIMDNN_ISA_SCALAR:
        return true;
    case SIMDNN_ISA_AVX2:
        *why = !cpu->os_avx ? "XCR0 lacks the YMM state (no AVX in the "
                              "CPU, or the OS disabled it)"
                            : "the CPU lacks AVX2 or FMA";
        return cpu->avx2_fma;
    case SIMDNN_ISA_AVX512:
        *why = !cpu->os_avx512 ? "XCR0 lacks the opmask/ZMM state (no "
                                 "AVX-512 in the CPU, or the OS disabled it)"
                               : "the CPU lacks AVX-512F";
        return cpu->avx512f || cpu->avx512_emulated;
    case SIMDNN_ISA_NEON:
        *why = "not an aarch64 CPU with Advanced SIMD";
        return cpu->neon;
    default:
        *why = "unknown ISA";
        return false;
    }
}

static int parse_isa(const char *name)
{
    for (int isa = 0; isa < SIMDNN_ISA_COUNT; isa++)
        if (strcmp(name, simdnn_isa_name((simdnn_isa)isa)) == 0)
            return isa;
    return -1;
}

static void print_build(void)
{
    printf("simdnn %s (header %d.%d.%d)\n", simdnn_version_string(),
           SIMDNN_VERSION_MAJOR, SIMDNN_VERSION_MINOR, SIMDNN_VERSION_PATCH);
    printf("build:\n");
    printf("  compiler        %s\n", SIMDNN_INFO_COMPILER);
    printf("  build type      %s (%s)\n", SIMDNN_INFO_BUILD_TYPE,
           SIMDNN_INFO_C_FLAGS);
    printf("  target          %s (%s)\n", SIMDNN_INFO_TARGET,
           SIMDNN_INFO_CROSS);
    printf("  sanitizers      %s\n",
           SIMDNN_INFO_SANITIZE[0] ? SIMDNN_INFO_SANITIZE : "none");
    printf("  baseline flags  %s\n", SIMDNN_INFO_FLAGS_BASE);
#if defined(__x86_64__) || defined(__i386__)
    printf("  avx2 flags      %s\n", SIMDNN_INFO_FLAGS_AVX2);
    printf("  avx512 flags    %s%s\n", SIMDNN_INFO_FLAGS_AVX512,
           SIMDNN_INFO_SIMDE ? " (AVX-512 emulated by SIMDe: test build)" : "");
#endif
    printf("  kernels         %s\n",
           SIMDNN_INFO_VARIANTS[0] ? SIMDNN_INFO_VARIANTS : "(none)");
}

static void print_cpu(const simdnn_cpu_features *cpu)
{
    printf("cpu: %s\n", cpu->model[0] ? cpu->model : "(unknown model)");
#if defined(__x86_64__) || defined(__i386__)
    printf("  OS saves YMM state (XCR0 bits 1-2)        %s\n",
           yes_no(cpu->os_avx));
    printf("  OS saves ZMM/opmask state (XCR0 bits 5-7) %s\n",
           yes_no(cpu->os_avx512));
    printf("  AVX2 + FMA (CPUID and OS)                 %s\n",
           yes_no(cpu->avx2_fma));
    printf("  AVX-512F (CPUID and OS)                   %s%s\n",
           yes_no(cpu->avx512f),
           cpu->avx512_emulated ? " (emulated by SIMDe in this build)" : "");
#else
    printf("  Advanced SIMD (NEON, hwcap)               %s\n",
           yes_no(cpu->neon));
#endif
    printf("  simdnn_isa_supported:");
    for (int isa = 0; isa < SIMDNN_ISA_COUNT; isa++)
        if (simdnn_isa_supported((simdnn_isa)isa))
            printf(" %s", simdnn_isa_name((simdnn_isa)isa));
    printf("\n");
}

/* Why `family` cannot run `isa` (NULL when it can): the dispatcher's three
 * facts, in its order. */
static const char *why_not(const simdnn_cpu_features *cpu, simdnn_family f,
                           simdnn_isa isa, int cap)
{
    const char *why = NULL;
    if (isa == SIMDNN_ISA_SCALAR)
        return NULL;
    if (!simdnn_kernel_built(f, isa))
        return "no kernel in this build";
    if ((int)isa > cap)
        return "above the cap";
    if (!executes(cpu, isa, &why))
        return why;
    return NULL;
}

/* Prints the family's choice with reasons; returns false on disagreement
 * with the library. */
static bool explain_family(const simdnn_cpu_features *cpu, simdnn_family f,
                           int cap)
{
    /* The dispatcher takes the highest ISA that has no reason against it. */
    int chosen = SIMDNN_ISA_SCALAR;
    for (int isa = SIMDNN_ISA_COUNT - 1; isa > SIMDNN_ISA_SCALAR; isa--)
        if (why_not(cpu, f, (simdnn_isa)isa, cap) == NULL) {
            chosen = isa;
            break;
        }
    simdnn_isa actual = simdnn_family_isa(f);
    printf("%s: using %s%s\n", simdnn_family_name(f), simdnn_isa_name(actual),
           actual == SIMDNN_ISA_AVX512 && cpu->avx512_emulated
               ? " (emulated by SIMDe)"
               : "");
    for (int isa = SIMDNN_ISA_COUNT - 1; isa >= SIMDNN_ISA_SCALAR; isa--) {
        if (isa == chosen)
            continue;
        const char *why = why_not(cpu, f, (simdnn_isa)isa, cap);
        if (why != NULL)
            printf("  %-7s skipped: %s\n", simdnn_isa_name((simdnn_isa)isa),
                   why);
        else
            printf("  %-7s not used: %s is preferred\n",
                   simdnn_isa_name((simdnn_isa)isa),
                   simdnn_isa_name((simdnn_isa)chosen));
    }
    if ((int)actual != chosen) {
        printf("  MISMATCH: the library runs %s, this tool derived %s\n",
               simdnn_isa_name(actual), simdnn_isa_name((simdnn_isa)chosen));
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    const char *set = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc) {
            set = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--isa scalar|avx2|avx512|neon]\n",
                    argv[0]);
            return 2;
        }
    }

    print_build();
    const simdnn_cpu_features *cpu = simdnn_cpu();
    print_cpu(cpu);

    const char *env = getenv("SIMDNN_MAX_ISA");
    if (set != NULL) {
        int isa = parse_isa(set);
        if (isa < 0 || simdnn_set_max_isa((simdnn_isa)isa) != SIMDNN_SUCCESS) {
            fprintf(stderr, "simdnn-info: unknown ISA '%s'\n", set);
            return 2;
        }
        printf("cap: %s (simdnn_set_max_isa)\n", set);
    } else if (env != NULL && env[0] != '\0') {
        printf("cap: %s (SIMDNN_MAX_ISA=%s%s)\n",
               simdnn_isa_name(simdnn_max_isa()), env,
               parse_isa(env) < 0 ? ", not an ISA name: ignored" : "");
    } else {
        printf("cap: %s (none set: every ISA allowed)\n",
               simdnn_isa_name(simdnn_max_isa()));
    }
    int cap = (int)simdnn_max_isa();
    if (set == NULL && env != NULL && parse_isa(env) >= 0 &&
        parse_isa(env) != cap) {
        printf("MISMATCH: SIMDNN_MAX_ISA=%s but the cap is %s\n", env,
               simdnn_isa_name((simdnn_isa)cap));
        return 1;
    }

    bool ok = true;
    for (int f = 0; f < SIMDNN_FAMILY_COUNT; f++)
        ok &= explain_family(cpu, (simdnn_family)f, cap);
    printf("active: %s\n", simdnn_isa_name(simdnn_active_isa()));
    return ok ? 0 : 1;
}
