/*
 * CPU feature detection. An ISA counts as present only when the CPU reports
 * it AND the operating system saves its register state across context
 * switches: on x86 that is XCR0, read with xgetbv once CPUID says OSXSAVE.
 * A CPU with AVX-512 under an OS (or hypervisor) that does not enable ZMM
 * state must not run AVX-512 code, so CPUID alone is never trusted.
 */
#include <string.h>

#include "dispatch.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/* XCR0 bits (Intel SDM vol. 1, 13.3): 1 SSE, 2 AVX, 5 opmask, 6 ZMM_Hi256,
 * 7 Hi16_ZMM. */
#define XCR0_YMM_STATE 0x06u
#define XCR0_ZMM_STATE 0xE6u

static unsigned long long read_xcr0(void)
{
    unsigned int eax, edx;
    /* xgetbv with ECX = 0, written as bytes so that no -mxsave is needed. */
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static void read_brand(char *model, size_t size)
{
    unsigned int regs[12];
    unsigned int max_ext = __get_cpuid_max(0x80000000u, NULL);
    if (max_ext < 0x80000004u || size < sizeof(regs) + 1)
        return;
    for (unsigned int i = 0; i < 3; i++)
        __get_cpuid(0x80000002u + i, &regs[4 * i], &regs[4 * i + 1],
                    &regs[4 * i + 2], &regs[4 * i + 3]);
    memcpy(model, regs, sizeof(regs));
    model[sizeof(regs)] = '\0';
}

void simdnn_cpu_detect(simdnn_cpu_features *out)
{
    unsigned int eax, ebx, ecx, edx;
    memset(out, 0, sizeof(*out));
    read_brand(out->model, sizeof(out->model));
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
        return;
    bool fma = (ecx >> 12) & 1, osxsave = (ecx >> 27) & 1;
    bool avx = (ecx >> 28) & 1;
    if (!osxsave)
        return;
    unsigned long long xcr0 = read_xcr0();
    out->os_avx = (xcr0 & XCR0_YMM_STATE) == XCR0_YMM_STATE;
    out->os_avx512 = (xcr0 & XCR0_ZMM_STATE) == XCR0_ZMM_STATE;
    if (__get_cpuid_max(0, NULL) < 7)
        return;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    bool avx2 = (ebx >> 5) & 1, avx512f = (ebx >> 16) & 1;
    out->avx2_fma = avx && avx2 && fma && out->os_avx;
    out->avx512f = out->avx2_fma && avx512f && out->os_avx512;
}

#elif defined(__aarch64__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif

void simdnn_cpu_detect(simdnn_cpu_features *out)
{
    memset(out, 0, sizeof(*out));
    /* Advanced SIMD is mandatory in AArch64; the hwcap is checked anyway so
     * that simdnn-info reports what the kernel says. */
    out->neon = (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0;
    strcpy(out->model, "aarch64");
}

#else
void simdnn_cpu_detect(simdnn_cpu_features *out)
{
    memset(out, 0, sizeof(*out));
}
#endif
