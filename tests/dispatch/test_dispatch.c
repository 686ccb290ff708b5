/*
 * Dispatch: the cap, the names, the status strings, and the rule that a
 * family never runs an ISA the CPU cannot execute or the cap forbids.
 */
#include <string.h>

#include "dispatch.h"
#include "test_util.h"

static void test_names(void)
{
    CHECK(strcmp(simdnn_isa_name(SIMDNN_ISA_SCALAR), "scalar") == 0, "scalar");
    CHECK(strcmp(simdnn_isa_name(SIMDNN_ISA_AVX2), "avx2") == 0, "avx2");
    CHECK(strcmp(simdnn_isa_name(SIMDNN_ISA_AVX512), "avx512") == 0, "512");
    CHECK(strcmp(simdnn_isa_name(SIMDNN_ISA_NEON), "neon") == 0, "neon");
    CHECK(strcmp(simdnn_isa_name((simdnn_isa)99), "unknown") == 0, "99");
    CHECK(strcmp(simdnn_status_string(SIMDNN_SUCCESS), "success") == 0, "ok");
    CHECK(strcmp(simdnn_status_string(SIMDNN_INVALID_ARGUMENT),
                 "invalid argument") == 0,
          "invalid");
    CHECK(strcmp(simdnn_status_string((simdnn_status)99), "unknown status") ==
              0,
          "99");
    CHECK(simdnn_version() == SIMDNN_VERSION, "version %d", simdnn_version());
    CHECK(strcmp(simdnn_version_string(), "0.1.0") == 0, "version string");
}

static void test_cap(void)
{
    const simdnn_cpu_features *cpu = simdnn_cpu();
    CHECK(simdnn_set_max_isa((simdnn_isa)SIMDNN_ISA_COUNT) ==
              SIMDNN_INVALID_ARGUMENT,
          "cap beyond the enum");
    CHECK(simdnn_set_max_isa((simdnn_isa)-1) == SIMDNN_INVALID_ARGUMENT,
          "negative cap");
    CHECK(simdnn_isa_supported(SIMDNN_ISA_SCALAR), "scalar always");
    CHECK(!simdnn_isa_supported((simdnn_isa)7), "unknown isa");
    for (int cap = 0; cap < SIMDNN_ISA_COUNT; cap++) {
        CHECK(simdnn_set_max_isa((simdnn_isa)cap) == SIMDNN_SUCCESS, "cap");
        CHECK(simdnn_max_isa() == (simdnn_isa)cap, "max isa %d", cap);
        for (int f = 0; f < SIMDNN_FAMILY_COUNT; f++) {
            simdnn_isa isa = simdnn_family_isa((simdnn_family)f);
            CHECK((int)isa <= cap, "family %d runs %d above cap %d", f,
                  (int)isa, cap);
            CHECK(simdnn_kernel_built((simdnn_family)f, isa),
                  "family %d runs an ISA it has no kernel for", f);
            if (isa == SIMDNN_ISA_AVX2)
                CHECK(cpu->avx2_fma, "avx2 chosen without CPU support");
            if (isa == SIMDNN_ISA_AVX512)
                CHECK(cpu->avx512f || cpu->avx512_emulated,
                      "avx512 chosen without CPU support");
            if (isa == SIMDNN_ISA_NEON)
                CHECK(cpu->neon, "neon chosen without CPU support");
            if (isa != SIMDNN_ISA_SCALAR)
                CHECK(simdnn_isa_supported(isa), "chosen but unsupported");
        }
        CHECK((int)simdnn_active_isa() <= cap, "active above cap");
    }
    simdnn_set_max_isa(SIMDNN_ISA_SCALAR);
    CHECK(simdnn_active_isa() == SIMDNN_ISA_SCALAR, "scalar cap");
    simdnn_set_max_isa(test_isa);
}

static void test_os_state(void)
{
    const simdnn_cpu_features *cpu = simdnn_cpu();
    /* Support implies OS state, never CPUID alone. */
    if (cpu->avx2_fma)
        CHECK(cpu->os_avx, "avx2 without XCR0 YMM state");
    if (cpu->avx512f)
        CHECK(cpu->os_avx512 && cpu->avx2_fma, "avx512 without ZMM state");
}

static void run(void)
{
    test_case("names", test_names);
    test_case("cap", test_cap);
    test_case("os_state", test_os_state);
}

int main(int argc, char **argv)
{
    return test_main(argc, argv, SIMDNN_FAMILY_SOFTMAX, run);
}
