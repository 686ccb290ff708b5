#define _GNU_SOURCE
#include "test_util.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

simdnn_isa test_isa = SIMDNN_ISA_SCALAR;
const char *test_isa_name = "scalar";
bool test_quick = false;

static uint64_t run_seed;
static unsigned long checks_passed, checks_failed;
static unsigned long case_failures;
static unsigned long cases_passed, cases_failed;

/* ---- random numbers ---- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void rng_seed(test_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_next(test_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rng_uniform(test_rng *rng, double lo, double hi)
{
    double u = (double)(rng_next(rng) >> 11) * 0x1p-53;
    return lo + (hi - lo) * u;
}

double rng_normal(test_rng *rng)
{
    double u1 = rng_uniform(rng, 0x1p-53, 1.0), u2 = rng_uniform(rng, 0, 1);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

size_t rng_below(test_rng *rng, size_t n)
{
    return n == 0 ? 0 : (size_t)(rng_next(rng) % n);
}

uint64_t test_seed(void) { return run_seed; }

void test_rng_for(test_rng *rng, uint64_t tag)
{
    rng_seed(rng, run_seed ^ (tag * 0xD1B54A32D192ED03ull));
}

/* ---- guarded buffers ---- */

static size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

/* Bytes between the data's end and the guard page: 0 for GUARD_FLUSH,
 * else the fewest (0..60) that put the start `misalign` bytes past a
 * 64-byte boundary. */
static size_t guarded_gap(size_t bytes, size_t misalign)
{
    if (misalign == GUARD_FLUSH)
        return 0;
    return ((size_t)128 - (misalign + bytes) % 64) % 64;
}

static size_t guarded_layout(size_t count, size_t misalign, size_t *data_off)
{
    size_t page = page_size();
    size_t used = count * sizeof(float) + guarded_gap(count * 4, misalign);
    size_t pages = (used + page - 1) / page;
    *data_off = pages * page - used;
    return pages * page + page; /* plus the guard page */
}

float *guarded_alloc(size_t count, size_t misalign)
{
    if (count == 0)
        return NULL;
    size_t off, total = guarded_layout(count, misalign, &off);
    char *base = mmap(NULL, total, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        fprintf(stderr, "guarded_alloc: mmap of %zu bytes failed\n", total);
        abort();
    }
    if (mprotect(base + total - page_size(), page_size(), PROT_NONE) != 0)
        abort();
    float *p = (float *)(base + off);
    canary_fill(p, count + guarded_gap(count * 4, misalign) / sizeof(float));
    return p;
}

void guarded_free(float *p, size_t count, size_t misalign)
{
    if (p == NULL)
        return;
    size_t off, total = guarded_layout(count, misalign, &off);
    size_t gap = guarded_gap(count * sizeof(float), misalign) / sizeof(float);
    CHECK(canary_intact(p + count, gap),
          "guarded buffer of %zu floats (misalign %zu): written past its end",
          count, misalign);
    munmap((char *)p - off, total);
}

size_t guarded_misalign(test_rng *rng)
{
    return rng_below(rng, 2) ? GUARD_FLUSH : 4 * rng_below(rng, 16);
}

/* ---- canaries ---- */

static const uint32_t canary_bits = 0x7FA5A5A5u; /* a quiet NaN payload */

void canary_fill(float *p, size_t count)
{
    for (size_t i = 0; i < count; i++)
        memcpy(&p[i], &canary_bits, sizeof(float));
}

bool canary_intact(const float *p, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        uint32_t bits;
        memcpy(&bits, &p[i], sizeof(bits));
        if (bits != canary_bits)
            return false;
    }
    return true;
}

/* ---- metrics ---- */

double rel_err(double got, double want)
{
    if (isnan(got) || isnan(want))
        return isnan(got) && isnan(want) ? 0.0 : INFINITY;
    if (got == want)
        return 0.0;
    if (isinf(got) || isinf(want))
        return INFINITY;
    return fabs(got - want) / fabs(want);
}

static int64_t ordered_bits(float f)
{
    int32_t i;
    memcpy(&i, &f, sizeof(i));
    return i < 0 ? (int64_t)INT32_MIN - i : i;
}

uint64_t ulp_distance(float a, float b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b) ? 0 : UINT64_MAX;
    int64_t d = ordered_bits(a) - ordered_bits(b);
    return (uint64_t)(d < 0 ? -d : d);
}

/* ---- checks and the driver ---- */

bool test_check(bool ok, const char *file, int line, const char *fmt, ...)
{
    if (ok) {
        checks_passed++;
        return true;
    }
    checks_failed++;
    if (case_failures++ < 10) {
        va_list args;
        va_start(args, fmt);
        fprintf(stdout, "  FAIL %s:%d [%s]: ", file, line, test_isa_name);
        vfprintf(stdout, fmt, args);
        fputc('\n', stdout);
        va_end(args);
    } else if (case_failures == 11) {
        fprintf(stdout, "  (further failures of this case not shown)\n");
    }
    return false;
}

void test_case(const char *name, void (*fn)(void))
{
    unsigned long before = checks_failed;
    case_failures = 0;
    clock_t start = clock();
    fn();
    double secs = (double)(clock() - start) / CLOCKS_PER_SEC;
    bool ok = checks_failed == before;
    if (ok)
        cases_passed++;
    else
        cases_failed++;
    printf("%s %s [%s] (%.2f s)\n", ok ? "ok  " : "FAIL", name, test_isa_name,
           secs);
    fflush(stdout);
}

static const char *option(int argc, char **argv, const char *name)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

int test_main(int argc, char **argv, simdnn_family family, void (*run)(void))
{
    const char *isa_name = option(argc, argv, "--isa");
    if (isa_name == NULL)
        isa_name = "scalar";
    int isa = -1;
    for (int i = 0; i < SIMDNN_ISA_COUNT; i++)
        if (strcmp(isa_name, simdnn_isa_name((simdnn_isa)i)) == 0)
            isa = i;
    if (isa < 0) {
        printf("unknown --isa %s\n", isa_name);
        return 2;
    }
    test_isa = (simdnn_isa)isa;
    test_isa_name = simdnn_isa_name(test_isa);
    const char *quick = getenv("SIMDNN_TEST_QUICK");
    test_quick = quick != NULL && strcmp(quick, "0") != 0 && quick[0];

    simdnn_set_max_isa(test_isa);
    if (simdnn_family_isa(family) != test_isa) {
        printf("SKIP: %s has no %s kernel that this CPU executes "
               "(it would run %s)\n",
               simdnn_family_name(family), test_isa_name,
               simdnn_isa_name(simdnn_family_isa(family)));
        return 77;
    }

    const char *seed_text = getenv("SIMDNN_TEST_SEED");
    run_seed = seed_text ? strtoull(seed_text, NULL, 0)
                         : (uint64_t)time(NULL) * 2654435761u;
    printf("%s tests on %s, seed %" PRIu64
           " (rerun with SIMDNN_TEST_SEED=%" PRIu64 ")%s\n",
           simdnn_family_name(family), test_isa_name, run_seed, run_seed,
           test_quick ? ", quick mode" : "");
    run();
    printf("%lu checks passed, %lu failed\n", checks_passed, checks_failed);
    printf("%lu passed, %lu failed\n", cases_passed, cases_failed);
    return cases_failed == 0 && checks_failed == 0 ? 0 : 1;
}
