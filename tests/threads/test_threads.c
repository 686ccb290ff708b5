/*
 * Threads (issue 7): the library's only global state is the dispatch
 * state, initialized once; every entry point is reentrant; work split
 * across an engine's thread pool gives bitwise the same result as one call.
 *
 * 1. first calls: THREADS threads wait on a barrier and then all call every
 *    entry point of every family at once, so the very first use of the
 *    library (pthread_once initialization, the atomic publish of each
 *    family's choice) happens under contention. The cap comes from
 *    SIMDNN_MAX_ISA in the environment (ctest sets it per ISA), so no
 *    library call precedes the threads. Every thread's results must equal,
 *    bit for bit, those of the same calls made afterwards by main alone.
 * 2. cap changes: one thread moves the cap through every ISA with
 *    simdnn_set_max_isa() while the others compute softmax rows; each call
 *    must succeed and stay within the softmax contract (2e-6 relative),
 *    whichever kernel it picked.
 * 3. splitting: for every family, the documented way to split work (row
 *    ranges, outer ranges, position ranges with the matching
 *    position_offset, image ranges, channel ranges for one image) is run
 *    with several random partitions, the parts computed concurrently by
 *    different threads, and compared bitwise with one call over the whole.
 *
 * `make test` also runs this under ThreadSanitizer (build/tsan), where
 * any data race in the dispatch state fails the test. Exit 77 (skipped)
 * when no family runs the ISA that SIMDNN_MAX_ISA names.
 */
#define _POSIX_C_SOURCE 200809L /* pthread barriers under strict C11 */

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simdnn/simdnn.h"

#define THREADS 12
#define SPLIT_THREADS 4
#define PARTITIONS 6

static int failures;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            if (failures++ < 20) {                                             \
                printf("  FAIL %s:%d: ", __FILE__, __LINE__);                  \
                printf(__VA_ARGS__);                                           \
                printf("\n");                                                  \
            }                                                                  \
        }                                                                      \
    } while (0)

/* ---- deterministic inputs (no shared RNG state between threads) ---- */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    return x ^ (x >> 33);
}

/* Uniform in [lo, hi) from (seed, index). */
static float value(uint64_t seed, size_t i, float lo, float hi)
{
    double u = (double)(mix(seed * 0x9E3779B97F4A7C15ull + i) >> 11) * 0x1p-53;
    return (float)(lo + (hi - lo) * u);
}

static float *fill(size_t count, uint64_t seed, float lo, float hi)
{
    float *p = malloc((count ? count : 1) * sizeof(float));
    if (p == NULL) {
        printf("out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < count; i++)
        p[i] = value(seed, i, lo, hi);
    return p;
}

static bool same_bits(const float *a, const float *b, size_t count)
{
    return memcmp(a, b, count * sizeof(float)) == 0;
}

/* ---- the workload of part 1: one call of every entry point ---- */

/* Shapes chosen to cross vector tiles and leave tails on every ISA. */
enum {
    SM_ROWS = 5,
    SM_N = 77,
    SM_STRIDE = 80,
    AX_OUTER = 3,
    AX_AXIS = 11,
    AX_INNER = 13,
    PE_POS = 9,
    PE_D = 38,
    PE_STRIDE = 40,
    PE_OFFSET = 12345,
    RP_TOKENS = 6,
    RP_HEADS = 3,
    RP_DIM = 22,
    BN_N = 2,
    BN_C = 5,
    BN_S = 19
};
#define RP_STRIDE (RP_HEADS * RP_DIM + 2)
#define BN_COUNT (BN_N * BN_C * BN_S)

typedef struct outputs {
    simdnn_status status[16];
    int calls;
    float sm[SM_ROWS * SM_STRIDE], lsm[SM_ROWS * SM_STRIDE];
    float ax[AX_OUTER * AX_AXIS * AX_INNER];
    float pe[PE_POS * PE_STRIDE], pe_add[PE_POS * PE_STRIDE];
    float rope[RP_TOKENS * RP_STRIDE];
    float bn_inf[BN_COUNT], bn_train[BN_COUNT], bn_dx[BN_COUNT];
    float bmean[BN_C], bvar[BN_C], rmean[BN_C], rvar[BN_C];
    float dgamma[BN_C], dbeta[BN_C];
} outputs;

static float *in_sm, *in_ax, *in_rope, *in_pe_add, *in_bn, *in_dy;
static float *bn_gamma, *bn_beta, *bn_mean, *bn_var;

static void make_inputs(void)
{
    in_sm = fill(SM_ROWS * SM_STRIDE, 1, -30.0f, 30.0f);
    in_ax = fill(AX_OUTER * AX_AXIS * AX_INNER, 2, -10.0f, 10.0f);
    in_rope = fill(RP_TOKENS * RP_STRIDE, 3, -2.0f, 2.0f);
    in_pe_add = fill(PE_POS * PE_STRIDE, 4, -1.0f, 1.0f);
    in_bn = fill(BN_COUNT, 5, -3.0f, 5.0f);
    in_dy = fill(BN_COUNT, 6, -1.0f, 1.0f);
    bn_gamma = fill(BN_C, 7, 0.5f, 2.0f);
    bn_beta = fill(BN_C, 8, -1.0f, 1.0f);
    bn_mean = fill(BN_C, 9, -1.0f, 1.0f);
    bn_var = fill(BN_C, 10, 0.1f, 3.0f);
}

static void record(outputs *o, simdnn_status s) { o->status[o->calls++] = s; }

static void call_everything(outputs *o)
{
    memset(o, 0, sizeof(*o));
#ifdef SIMDNN_HAVE_SOFTMAX
    record(o, simdnn_softmax_f32(in_sm, o->sm, SM_ROWS, SM_N, SM_STRIDE,
                                 SM_STRIDE, 0));
    record(o, simdnn_log_softmax_f32(in_sm, o->lsm, SM_ROWS, SM_N, SM_STRIDE,
                                     SM_STRIDE, 0));
    record(o, simdnn_softmax_axis_f32(in_ax, o->ax, AX_OUTER, AX_AXIS, AX_INNER,
                                      0));
#endif
#ifdef SIMDNN_HAVE_POSENC
    record(o, simdnn_posenc_table_f32(o->pe, PE_POS, PE_D, PE_STRIDE, PE_OFFSET,
                                      10000.0, SIMDNN_POSENC_SPLIT));
    memcpy(o->pe_add, in_pe_add, sizeof(o->pe_add));
    record(o,
           simdnn_posenc_add_f32(o->pe_add, PE_POS, PE_D, PE_STRIDE, PE_OFFSET,
                                 10000.0, SIMDNN_POSENC_INTERLEAVED));
    memcpy(o->rope, in_rope, sizeof(o->rope));
    record(o, simdnn_rope_f32(o->rope, RP_TOKENS, RP_HEADS, RP_DIM, RP_STRIDE,
                              77, 10000.0, SIMDNN_ROPE_HALF));
#endif
#ifdef SIMDNN_HAVE_BATCHNORM
    record(o, simdnn_batchnorm_inference_f32(
                  in_bn, o->bn_inf, BN_N, BN_C, BN_S, SIMDNN_NHWC, bn_gamma,
                  bn_beta, bn_mean, bn_var, 1e-5f, SIMDNN_BATCHNORM_FUSE_RELU));
    memcpy(o->rmean, bn_mean, sizeof(o->rmean));
    memcpy(o->rvar, bn_var, sizeof(o->rvar));
    record(o, simdnn_batchnorm_training_f32(in_bn, o->bn_train, BN_N, BN_C,
                                            BN_S, SIMDNN_NCHW, bn_gamma,
                                            bn_beta, 1e-5f, 0.9f, o->bmean,
                                            o->bvar, o->rmean, o->rvar, 0));
    record(o, simdnn_batchnorm_backward_f32(
                  in_bn, in_dy, o->bn_dx, BN_N, BN_C, BN_S, SIMDNN_NCHW,
                  bn_gamma, o->bmean, o->bvar, 1e-5f, o->dgamma, o->dbeta));
#endif
}

/* ---- part 1: first calls under contention ---- */

static pthread_barrier_t start_line;
static outputs first_out[THREADS];
static simdnn_isa first_isa[THREADS][SIMDNN_FAMILY_COUNT];

static void *first_calls(void *arg)
{
    int t = (int)(intptr_t)arg;
    pthread_barrier_wait(&start_line);
    /* Half the threads start with a compute call, half with a query. */
    if (t % 2 == 0) {
        call_everything(&first_out[t]);
        for (int f = 0; f < SIMDNN_FAMILY_COUNT; f++)
            first_isa[t][f] = simdnn_family_isa((simdnn_family)f);
    } else {
        for (int f = 0; f < SIMDNN_FAMILY_COUNT; f++)
            first_isa[t][f] = simdnn_family_isa((simdnn_family)f);
        call_everything(&first_out[t]);
    }
    return NULL;
}

static void test_first_calls(void)
{
    pthread_t th[THREADS];
    pthread_barrier_init(&start_line, NULL, THREADS);
    for (int t = 0; t < THREADS; t++)
        pthread_create(&th[t], NULL, first_calls, (void *)(intptr_t)t);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    pthread_barrier_destroy(&start_line);

    static outputs ref;
    call_everything(&ref);
    for (int i = 0; i < ref.calls; i++)
        CHECK(ref.status[i] == SIMDNN_SUCCESS, "call %d: %s", i,
              simdnn_status_string(ref.status[i]));
    for (int t = 0; t < THREADS; t++) {
        for (int f = 0; f < SIMDNN_FAMILY_COUNT; f++)
            CHECK(first_isa[t][f] == simdnn_family_isa((simdnn_family)f),
                  "thread %d saw %s use %s, later %s", t,
                  simdnn_family_name((simdnn_family)f),
                  simdnn_isa_name(first_isa[t][f]),
                  simdnn_isa_name(simdnn_family_isa((simdnn_family)f)));
        CHECK(first_out[t].calls == ref.calls, "thread %d call count", t);
        CHECK(memcmp(first_out[t].status, ref.status, sizeof(ref.status)) == 0,
              "thread %d statuses differ", t);
        /* Everything but the status array is float output. */
        CHECK(memcmp((const char *)&first_out[t] + offsetof(outputs, sm),
                     (const char *)&ref + offsetof(outputs, sm),
                     sizeof(outputs) - offsetof(outputs, sm)) == 0,
              "thread %d results differ from a single-threaded call", t);
    }
    printf("first calls: %d threads, %d entry points each\n", THREADS,
           ref.calls);
}

/* ---- part 2: cap changes while computing ---- */

#ifdef SIMDNN_HAVE_SOFTMAX
enum { CAP_ROWS = 4, CAP_N = 200, CAP_ROUNDS = 60 };
static double cap_want[CAP_ROWS * CAP_N];
static float *cap_x; /* CAP_ROWS contiguous rows of CAP_N */
static int cap_bad[THREADS];

static void *cap_worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    float *y = malloc(sizeof(float) * CAP_ROWS * CAP_N);
    if (y == NULL) {
        cap_bad[t]++;
        return NULL;
    }
    for (int round = 0; round < CAP_ROUNDS; round++) {
        if (simdnn_softmax_f32(cap_x, y, CAP_ROWS, CAP_N, CAP_N, CAP_N, 0) !=
            SIMDNN_SUCCESS) {
            cap_bad[t]++;
            continue;
        }
        for (int i = 0; i < CAP_ROWS * CAP_N; i++)
            if (cap_want[i] >= 0x1p-126 &&
                fabs(y[i] - cap_want[i]) > 2e-6 * cap_want[i])
                cap_bad[t]++;
    }
    free(y);
    return NULL;
}

static void *cap_changer(void *arg)
{
    simdnn_isa keep = *(const simdnn_isa *)arg;
    for (int round = 0; round < CAP_ROUNDS; round++)
        simdnn_set_max_isa((simdnn_isa)(round % SIMDNN_ISA_COUNT));
    simdnn_set_max_isa(keep);
    return NULL;
}

static void test_cap_changes(void)
{
    cap_x = fill(CAP_ROWS * CAP_N, 11, -30.0f, 30.0f);
    for (int r = 0; r < CAP_ROWS; r++) {
        const float *x = cap_x + r * CAP_N;
        double m = -INFINITY, sum = 0.0;
        /* A compare, not fmax(): GCC 12 for aarch64 crashes (ICE in
         * vect_transform_reduction) vectorizing an fmax reduction. */
        for (int i = 0; i < CAP_N; i++)
            m = x[i] > m ? x[i] : m;
        for (int i = 0; i < CAP_N; i++)
            sum += exp((double)x[i] - m);
        for (int i = 0; i < CAP_N; i++)
            cap_want[r * CAP_N + i] = exp((double)x[i] - m) / sum;
    }
    simdnn_isa keep = simdnn_max_isa();
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS - 1; t++)
        pthread_create(&th[t], NULL, cap_worker, (void *)(intptr_t)t);
    pthread_create(&th[THREADS - 1], NULL, cap_changer, &keep);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < THREADS - 1; t++)
        CHECK(cap_bad[t] == 0,
              "thread %d: %d bad softmax outputs while the "
              "cap changed",
              t, cap_bad[t]);
    CHECK(simdnn_max_isa() == keep, "cap restored");
    free(cap_x);
    printf("cap changes: %d workers x %d calls while the cap cycles\n",
           THREADS - 1, CAP_ROUNDS);
}
#endif

/* ---- part 3: split work, computed concurrently, bitwise ---- */

/* One part of a split: the range [begin, end) of the split dimension. */
typedef struct part {
    size_t begin, end;
    void (*run)(size_t begin, size_t end);
    pthread_t thread;
} part;

static void *run_part(void *arg)
{
    part *p = arg;
    if (p->end > p->begin)
        p->run(p->begin, p->end);
    return NULL;
}

/* Runs fn over [0, total) cut at random points into SPLIT_THREADS parts
 * (some possibly empty), each part on its own thread. */
static void split_run(size_t total, uint64_t seed,
                      void (*fn)(size_t begin, size_t end))
{
    size_t cuts[SPLIT_THREADS + 1];
    cuts[0] = 0;
    cuts[SPLIT_THREADS] = total;
    for (int i = 1; i < SPLIT_THREADS; i++)
        cuts[i] = (size_t)(mix(seed * 31 + (uint64_t)i) % (total + 1));
    for (int i = 1; i < SPLIT_THREADS; i++) /* sort the inner cuts */
        for (int j = i + 1; j < SPLIT_THREADS; j++)
            if (cuts[j] < cuts[i]) {
                size_t c = cuts[i];
                cuts[i] = cuts[j];
                cuts[j] = c;
            }
    part parts[SPLIT_THREADS];
    for (int i = 0; i < SPLIT_THREADS; i++) {
        parts[i] = (part){cuts[i], cuts[i + 1], fn, 0};
        pthread_create(&parts[i].thread, NULL, run_part, &parts[i]);
    }
    for (int i = 0; i < SPLIT_THREADS; i++)
        pthread_join(parts[i].thread, NULL);
}

static simdnn_status split_status;
static pthread_mutex_t split_lock = PTHREAD_MUTEX_INITIALIZER;

static void note(simdnn_status s)
{
    if (s != SIMDNN_SUCCESS) {
        pthread_mutex_lock(&split_lock);
        split_status = s;
        pthread_mutex_unlock(&split_lock);
    }
}

/* Shared operands of the split runs (set before the threads start). */
static const float *sx, *sg, *sb, *sm, *sv, *sdy;
static float *sy, *s_bmean, *s_bvar, *s_rmean, *s_rvar, *s_dg, *s_db;
static size_t s_rows, s_n, s_xs, s_ys, s_axis, s_inner, s_d, s_stride, s_offset,
    s_heads, s_dim, s_c, s_spatial;
static int s_mode; /* layout or style */
static double s_base;

static void check_split(const char *what, const float *whole,
                        const float *split, size_t count)
{
    CHECK(split_status == SIMDNN_SUCCESS, "%s: split call failed: %s", what,
          simdnn_status_string(split_status));
    CHECK(same_bits(whole, split, count),
          "%s: split result differs from one call", what);
}

#ifdef SIMDNN_HAVE_SOFTMAX
static bool split_log;
static void sm_rows(size_t b, size_t e)
{
    note((split_log ? simdnn_log_softmax_f32 : simdnn_softmax_f32)(
        sx + b * s_xs, sy + b * s_ys, e - b, s_n, s_xs, s_ys, 0));
}
static void sm_outer(size_t b, size_t e)
{
    note(simdnn_softmax_axis_f32(sx + b * s_axis * s_inner,
                                 sy + b * s_axis * s_inner, e - b, s_axis,
                                 s_inner, 0));
}

static void test_split_softmax(void)
{
    s_rows = 37, s_n = 301, s_xs = 307, s_ys = 303;
    float *x = fill(s_rows * s_xs, 21, -40.0f, 40.0f);
    float *whole = fill(s_rows * s_ys, 22, 0, 0);
    float *y = fill(s_rows * s_ys, 22, 0, 0);
    sx = x;
    for (int log = 0; log < 2; log++) {
        split_log = log;
        sy = whole;
        sm_rows(0, s_rows);
        for (int p = 0; p < PARTITIONS; p++) {
            memset(y, 0, s_rows * s_ys * sizeof(float));
            sy = y;
            split_status = SIMDNN_SUCCESS;
            split_run(s_rows, 100 + p, sm_rows);
            check_split(log ? "log_softmax rows" : "softmax rows", whole, y,
                        s_rows * s_ys);
        }
    }
    free(x);
    free(whole);
    free(y);

    size_t outer = 9;
    s_axis = 17, s_inner = 23;
    size_t count = outer * s_axis * s_inner;
    x = fill(count, 23, -20.0f, 20.0f);
    whole = fill(count, 24, 0, 0);
    y = fill(count, 24, 0, 0);
    sx = x, sy = whole;
    sm_outer(0, outer);
    for (int p = 0; p < PARTITIONS; p++) {
        sy = y;
        split_status = SIMDNN_SUCCESS;
        split_run(outer, 200 + p, sm_outer);
        check_split("softmax axis outer ranges", whole, y, count);
    }
    free(x);
    free(whole);
    free(y);
}
#endif

#ifdef SIMDNN_HAVE_POSENC
static void pe_table(size_t b, size_t e)
{
    note(simdnn_posenc_table_f32(sy + b * s_stride, e - b, s_d, s_stride,
                                 s_offset + b, s_base,
                                 (simdnn_posenc_layout)s_mode));
}
static void pe_add(size_t b, size_t e)
{
    note(simdnn_posenc_add_f32(sy + b * s_stride, e - b, s_d, s_stride,
                               s_offset + b, s_base,
                               (simdnn_posenc_layout)s_mode));
}
static void rope_tokens(size_t b, size_t e)
{
    note(simdnn_rope_f32(sy + b * s_stride, e - b, s_heads, s_dim, s_stride,
                         s_offset + b, s_base, (simdnn_rope_style)s_mode));
}

static void test_split_posenc(void)
{
    size_t positions = 203;
    s_d = 96, s_stride = 100, s_offset = 654321, s_base = 10000.0;
    size_t count = positions * s_stride;
    float *init = fill(count, 31, -1.0f, 1.0f);
    float *whole = fill(count, 32, 0, 0), *y = fill(count, 32, 0, 0);
    for (s_mode = 0; s_mode < 2; s_mode++) {
        /* table */
        memcpy(whole, init, count * sizeof(float));
        sy = whole;
        pe_table(0, positions);
        for (int p = 0; p < PARTITIONS; p++) {
            memcpy(y, init, count * sizeof(float));
            sy = y;
            split_status = SIMDNN_SUCCESS;
            split_run(positions, 300 + p, pe_table);
            check_split(s_mode ? "posenc table (split layout)"
                               : "posenc table (interleaved)",
                        whole, y, count);
        }
        /* fused add */
        memcpy(whole, init, count * sizeof(float));
        sy = whole;
        pe_add(0, positions);
        for (int p = 0; p < PARTITIONS; p++) {
            memcpy(y, init, count * sizeof(float));
            sy = y;
            split_status = SIMDNN_SUCCESS;
            split_run(positions, 400 + p, pe_add);
            check_split("posenc add", whole, y, count);
        }
    }
    free(init);
    free(whole);
    free(y);

    size_t tokens = 61;
    s_heads = 4, s_dim = 64, s_stride = 4 * 64 + 5, s_offset = 100000;
    count = tokens * s_stride;
    init = fill(count, 33, -3.0f, 3.0f);
    whole = fill(count, 34, 0, 0);
    y = fill(count, 34, 0, 0);
    for (s_mode = 0; s_mode < 2; s_mode++) {
        memcpy(whole, init, count * sizeof(float));
        sy = whole;
        rope_tokens(0, tokens);
        for (int p = 0; p < PARTITIONS; p++) {
            memcpy(y, init, count * sizeof(float));
            sy = y;
            split_status = SIMDNN_SUCCESS;
            split_run(tokens, 500 + p, rope_tokens);
            check_split(s_mode ? "rope token ranges (half)"
                               : "rope token ranges (interleaved)",
                        whole, y, count);
        }
    }
    free(init);
    free(whole);
    free(y);
}
#endif

#ifdef SIMDNN_HAVE_BATCHNORM
/* Inference: image ranges, both layouts (an image is c*spatial floats). */
static void bn_images(size_t b, size_t e)
{
    size_t image = s_c * s_spatial;
    note(simdnn_batchnorm_inference_f32(sx + b * image, sy + b * image, e - b,
                                        s_c, s_spatial, (simdnn_layout)s_mode,
                                        sg, sb, sm, sv, 1e-3f,
                                        SIMDNN_BATCHNORM_FUSE_RELU));
}
/* Training and backward of one NCHW image: channel ranges. */
static void bn_train_channels(size_t b, size_t e)
{
    note(simdnn_batchnorm_training_f32(sx + b * s_spatial, sy + b * s_spatial,
                                       1, e - b, s_spatial, SIMDNN_NCHW, sg + b,
                                       sb + b, 1e-3f, 0.8f, s_bmean + b,
                                       s_bvar + b, s_rmean + b, s_rvar + b, 0));
}
static void bn_backward_channels(size_t b, size_t e)
{
    note(simdnn_batchnorm_backward_f32(sx + b * s_spatial, sdy + b * s_spatial,
                                       sy + b * s_spatial, 1, e - b, s_spatial,
                                       SIMDNN_NCHW, sg + b, sm + b, sv + b,
                                       1e-3f, s_dg + b, s_db + b));
}

static void test_split_batchnorm(void)
{
    size_t n = 11;
    s_c = 21, s_spatial = 35;
    size_t count = n * s_c * s_spatial;
    float *x = fill(count, 41, -4.0f, 4.0f);
    float *g = fill(s_c, 42, 0.5f, 1.5f), *be = fill(s_c, 43, -1.0f, 1.0f);
    float *mu = fill(s_c, 44, -1.0f, 1.0f), *va = fill(s_c, 45, 0.5f, 2.0f);
    float *whole = fill(count, 46, 0, 0), *y = fill(count, 46, 0, 0);
    sx = x, sg = g, sb = be, sm = mu, sv = va;
    for (s_mode = 0; s_mode < 2; s_mode++) {
        sy = whole;
        bn_images(0, n);
        for (int p = 0; p < PARTITIONS; p++) {
            memset(y, 0, count * sizeof(float));
            sy = y;
            split_status = SIMDNN_SUCCESS;
            split_run(n, 600 + p, bn_images);
            check_split(s_mode ? "batchnorm inference NHWC image ranges"
                               : "batchnorm inference NCHW image ranges",
                        whole, y, count);
        }
    }

    /* One image, channel ranges: training forward and backward. */
    s_spatial = 333;
    size_t c = s_c;
    count = c * s_spatial;
    free(x);
    free(whole);
    free(y);
    x = fill(count, 47, 100.0f, 101.0f);
    float *dy = fill(count, 48, -1.0f, 1.0f);
    whole = fill(count, 49, 0, 0);
    y = fill(count, 49, 0, 0);
    float *dx_whole = fill(count, 49, 0, 0), *dx = fill(count, 49, 0, 0);
    float *stats_whole = fill(6 * c, 50, 0, 0), *stats = fill(6 * c, 50, 0, 0);
    float *run_init = fill(2 * c, 51, 0.5f, 1.0f);
    sx = x, sdy = dy;
    for (int round = 0; round <= PARTITIONS; round++) {
        float *out = round == 0 ? whole : y;
        float *st = round == 0 ? stats_whole : stats;
        memset(out, 0, count * sizeof(float));
        memcpy(st + 2 * c, run_init, 2 * c * sizeof(float));
        sy = out, s_bmean = st, s_bvar = st + c, s_rmean = st + 2 * c,
        s_rvar = st + 3 * c;
        split_status = SIMDNN_SUCCESS;
        if (round == 0)
            bn_train_channels(0, c);
        else
            split_run(c, 700 + round, bn_train_channels);
        if (round > 0) {
            check_split("batchnorm training channel ranges: y", whole, y,
                        count);
            check_split("batchnorm training channel ranges: statistics",
                        stats_whole, stats, 4 * c);
        }
        /* backward with the statistics just computed */
        sm = st, sv = st + c, s_dg = st + 4 * c, s_db = st + 5 * c;
        sy = round == 0 ? dx_whole : dx;
        split_status = SIMDNN_SUCCESS;
        if (round == 0)
            bn_backward_channels(0, c);
        else
            split_run(c, 800 + round, bn_backward_channels);
        if (round > 0) {
            check_split("batchnorm backward channel ranges: dx", dx_whole, dx,
                        count);
            check_split("batchnorm backward channel ranges: dgamma, dbeta",
                        stats_whole + 4 * c, stats + 4 * c, 2 * c);
        }
    }
    free(x);
    free(dy);
    free(g);
    free(be);
    free(mu);
    free(va);
    free(whole);
    free(y);
    free(dx_whole);
    free(dx);
    free(stats_whole);
    free(stats);
    free(run_init);
}
#endif

int main(void)
{
    const char *cap = getenv("SIMDNN_MAX_ISA");
    make_inputs();

    test_first_calls(); /* must come first: the library's first use */

    int want = -1;
    for (int isa = 0; cap != NULL && isa < SIMDNN_ISA_COUNT; isa++)
        if (strcmp(cap, simdnn_isa_name((simdnn_isa)isa)) == 0)
            want = isa;
    printf("cap %s; families use:", cap ? cap : "(none)");
    bool used = want < 0;
    for (int f = 0; f < SIMDNN_FAMILY_COUNT; f++) {
        simdnn_isa isa = simdnn_family_isa((simdnn_family)f);
        printf(" %s=%s", simdnn_family_name((simdnn_family)f),
               simdnn_isa_name(isa));
        used |= (int)isa == want;
    }
    printf("\n");
    if (!used) {
        printf("SKIP: no family runs %s on this CPU and build "
               "(the first-call part ran: %d failures)\n",
               cap, failures);
        return failures ? 1 : 77;
    }

#ifdef SIMDNN_HAVE_SOFTMAX
    test_cap_changes();
    test_split_softmax();
    printf("softmax splits: done\n");
#endif
#ifdef SIMDNN_HAVE_POSENC
    test_split_posenc();
    printf("posenc splits: done\n");
#endif
#ifdef SIMDNN_HAVE_BATCHNORM
    test_split_batchnorm();
    printf("batchnorm splits: done\n");
#endif
    printf("%s\n", failures ? "FAILED" : "threads test passed");
    return failures != 0;
}
