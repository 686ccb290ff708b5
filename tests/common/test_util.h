/*
 * Shared test harness: reproducible random numbers, buffers that end at an
 * unmapped page, canaries for "nothing written on error", error metrics,
 * and the per-ISA test driver.
 *
 * Every test executable takes `--isa NAME`, forces that ISA through the
 * public cap (simdnn_set_max_isa) and checks that the family really uses it;
 * when the CPU or build lacks it the test prints SKIP and exits 77, which
 * ctest reports as skipped. The seed is printed and can be set with
 * SIMDNN_TEST_SEED; SIMDNN_TEST_QUICK=1 (set under emulation) shortens the
 * largest cases but never removes a case.
 */
#ifndef SIMDNN_TEST_UTIL_H
#define SIMDNN_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "simdnn/simdnn.h"

/* ---- random numbers (xoshiro256**, seeded by splitmix64) ---- */
typedef struct test_rng {
    uint64_t s[4];
} test_rng;

void rng_seed(test_rng *rng, uint64_t seed);
uint64_t rng_next(test_rng *rng);
/* Uniform in [lo, hi). */
double rng_uniform(test_rng *rng, double lo, double hi);
/* Standard normal (Box-Muller). */
double rng_normal(test_rng *rng);
/* Uniform integer in [0, n). */
size_t rng_below(test_rng *rng, size_t n);

/* The seed of this run (printed once by test_main). */
uint64_t test_seed(void);
/* A generator seeded from the run's seed and a per-case tag. */
void test_rng_for(test_rng *rng, uint64_t tag);

/* ---- guarded buffers ---- */
/*
 * A buffer of `count` floats followed by a PROT_NONE page, starting
 * `misalign` bytes (0..63, a multiple of 4) past a 64-byte boundary. The
 * start's alignment fixes where the end falls: it is followed by a gap of
 * 0..60 bytes before the guard page, filled with canaries that
 * guarded_free checks (a write past the end fails the case; a read past
 * it goes unnoticed within the gap). misalign = GUARD_FLUSH instead ends
 * the last element exactly where the guard page begins, so that any read
 * or write past the end faults (the start is then wherever that puts
 * it). Contents are filled with a signalling pattern. Returns NULL only
 * for count == 0 (then nothing needs freeing). Aborts the test on mmap
 * failure. guarded_misalign draws GUARD_FLUSH half of the time and one of
 * the 16 misalignments otherwise.
 */
#define GUARD_FLUSH ((size_t)-1)
float *guarded_alloc(size_t count, size_t misalign);
void guarded_free(float *p, size_t count, size_t misalign);
size_t guarded_misalign(test_rng *rng);

/* ---- canaries ---- */
/* Fills with a recognisable NaN pattern; check returns true if unchanged. */
void canary_fill(float *p, size_t count);
bool canary_intact(const float *p, size_t count);

/* ---- metrics ---- */
/* |got - want| / |want|, with 0 for equal values (including both inf) and
 * +inf when exactly one is NaN or the signs of infinities differ. */
double rel_err(double got, double want);
/* The distance in float ULPs between two floats (0 for equal, huge for NaN
 * vs number). */
uint64_t ulp_distance(float a, float b);

/* ---- checks and the driver ---- */
extern simdnn_isa test_isa; /* the ISA this run forces */
extern const char *test_isa_name;
extern bool test_quick; /* SIMDNN_TEST_QUICK: emulation */

/* Records one check; prints the message for the first failures. */
bool test_check(bool ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define CHECK(cond, ...) test_check((cond), __FILE__, __LINE__, __VA_ARGS__)

/* Runs one named case (a function), printing its name and result. */
void test_case(const char *name, void (*fn)(void));

/*
 * The main of every test executable: parses --isa, forces it (exit 77 with
 * a SKIP line when unsupported for `family`), prints the seed, runs `run`,
 * prints "N passed, M failed" and returns non-zero on any failure.
 */
int test_main(int argc, char **argv, simdnn_family family, void (*run)(void));

#endif /* SIMDNN_TEST_UTIL_H */
