/*
 * Size extremes across every family, run once per ISA (ctest
 * extremes.<isa>): spans near SIZE_MAX rejected before anything is touched,
 * the smallest legal shapes (one element, one channel, one spatial element
 * in training, whose variance is 0), zero-sized inputs that are legal with
 * NULL pointers, and a softmax row of 2^24 + 1 elements (one past the
 * largest length the accuracy contract names, so a tail follows the
 * largest block) checked against a double oracle.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "simdnn/simdnn.h"
#include "test_util.h"

static const size_t huge = SIZE_MAX / 2 + 3;

static void test_overflowing_spans(void)
{
    float buf[8];
    canary_fill(buf, 8);
    /* Softmax: rows * stride, n * 4 bytes, and a span wrapping memory. */
    CHECK(simdnn_softmax_f32(buf, buf, huge, 4, 4, 4, 0) ==
              SIMDNN_INVALID_ARGUMENT,
          "softmax rows*stride overflow");
    CHECK(simdnn_softmax_f32(buf, buf, 1, SIZE_MAX / 2, SIZE_MAX / 2,
                             SIZE_MAX / 2, 0) == SIMDNN_INVALID_ARGUMENT,
          "softmax n*4 overflow");
    CHECK(simdnn_log_softmax_f32(buf, buf, 3, SIZE_MAX / 8, SIZE_MAX / 8,
                                 SIZE_MAX / 8, 0) == SIMDNN_INVALID_ARGUMENT,
          "log-softmax span overflow");
    CHECK(simdnn_softmax_axis_f32(buf, buf, huge, 2, 2, 0) ==
              SIMDNN_INVALID_ARGUMENT,
          "axis outer*axis*inner overflow");
    CHECK(simdnn_softmax_axis_f32(buf, buf, 2, huge, 2, 0) ==
              SIMDNN_INVALID_ARGUMENT,
          "axis overflow in the axis");
    /* Positional encodings. */
    CHECK(simdnn_posenc_table_f32(buf, 4, huge & ~(size_t)1, huge & ~(size_t)1,
                                  0, 10000.0, SIMDNN_POSENC_INTERLEAVED) ==
              SIMDNN_INVALID_ARGUMENT,
          "table span overflow");
    CHECK(simdnn_posenc_add_f32(buf, 2, 2, huge, 0, 10000.0,
                                SIMDNN_POSENC_SPLIT) == SIMDNN_INVALID_ARGUMENT,
          "add stride overflow");
    CHECK(simdnn_rope_f32(buf, 2, huge, 2, SIZE_MAX, 0, 10000.0,
                          SIMDNN_ROPE_HALF) == SIMDNN_INVALID_ARGUMENT,
          "rope heads*head_dim overflow");
    /* Batch norm: n * c * spatial. */
    float ch[2] = {0.0f, 1.0f};
    CHECK(simdnn_batchnorm_inference_f32(buf, buf, huge, 2, 2, SIMDNN_NCHW,
                                         NULL, NULL, ch, ch + 1, 1e-5f,
                                         0) == SIMDNN_INVALID_ARGUMENT,
          "inference size overflow");
    float m, v;
    CHECK(simdnn_batchnorm_training_f32(buf, buf, 2, 1, huge, SIMDNN_NHWC, NULL,
                                        NULL, 1e-5f, 0.9f, &m, &v, NULL, NULL,
                                        0) == SIMDNN_INVALID_ARGUMENT,
          "training size overflow");
    CHECK(canary_intact(buf, 8), "an overflowing call wrote the buffer");
}

static void test_zero_sized(void)
{
    /* Empty shapes are legal with NULL pointers and write nothing. */
    CHECK(simdnn_softmax_f32(NULL, NULL, 0, 100, 100, 100, 0) == SIMDNN_SUCCESS,
          "softmax rows = 0");
    CHECK(simdnn_softmax_f32(NULL, NULL, 5, 0, 0, 0, 0) == SIMDNN_SUCCESS,
          "softmax n = 0");
    CHECK(simdnn_log_softmax_axis_f32(NULL, NULL, 3, 0, 7, 0) == SIMDNN_SUCCESS,
          "axis = 0");
    CHECK(simdnn_posenc_table_f32(NULL, 0, 64, 64, 0, 10000.0,
                                  SIMDNN_POSENC_INTERLEAVED) == SIMDNN_SUCCESS,
          "table positions = 0");
    CHECK(simdnn_posenc_table_f32(NULL, 9, 0, 0, 0, 10000.0,
                                  SIMDNN_POSENC_SPLIT) == SIMDNN_SUCCESS,
          "table d_model = 0");
    CHECK(simdnn_rope_f32(NULL, 0, 4, 8, 32, 0, 10000.0,
                          SIMDNN_ROPE_INTERLEAVED) == SIMDNN_SUCCESS,
          "rope tokens = 0");
    CHECK(simdnn_batchnorm_inference_f32(NULL, NULL, 0, 0, 0, SIMDNN_NCHW, NULL,
                                         NULL, NULL, NULL, 1e-5f,
                                         0) == SIMDNN_SUCCESS,
          "inference empty");
    CHECK(simdnn_batchnorm_training_f32(NULL, NULL, 4, 0, 9, SIMDNN_NHWC, NULL,
                                        NULL, 1e-5f, 0.9f, NULL, NULL, NULL,
                                        NULL, 0) == SIMDNN_SUCCESS,
          "training with no channel");
    /* ... but a channel without elements has no statistics. */
    float m = 7.0f, v = 7.0f;
    CHECK(simdnn_batchnorm_training_f32(NULL, NULL, 0, 1, 9, SIMDNN_NCHW, NULL,
                                        NULL, 1e-5f, 0.9f, &m, &v, NULL, NULL,
                                        0) == SIMDNN_INVALID_ARGUMENT &&
              m == 7.0f && v == 7.0f,
          "training count 0 must be rejected untouched");
}

static void test_single_elements(void)
{
    float x = 12345.0f, y = -1.0f;
    CHECK(simdnn_softmax_f32(&x, &y, 1, 1, 1, 1, 0) == SIMDNN_SUCCESS &&
              y == 1.0f,
          "softmax of one element is 1, got %a", (double)y);
    CHECK(simdnn_log_softmax_f32(&x, &y, 1, 1, 1, 1, 0) == SIMDNN_SUCCESS &&
              y == 0.0f,
          "log-softmax of one element is 0, got %a", (double)y);
    float pe[2];
    CHECK(simdnn_posenc_table_f32(pe, 1, 2, 2, 0, 10000.0,
                                  SIMDNN_POSENC_INTERLEAVED) ==
                  SIMDNN_SUCCESS &&
              pe[0] == 0.0f && pe[1] == 1.0f,
          "position 0 is (sin 0, cos 0) = (0, 1)");

    /* One channel, one spatial element, batch 1: variance 0, y = beta. */
    float gamma = 3.0f, beta = -0.5f, mean, var, rm = 1.0f, rv = 2.0f;
    x = 42.0f;
    CHECK(simdnn_batchnorm_training_f32(&x, &y, 1, 1, 1, SIMDNN_NCHW, &gamma,
                                        &beta, 1e-5f, 0.5f, &mean, &var, &rm,
                                        &rv, 0) == SIMDNN_SUCCESS,
          "training on one element");
    CHECK(mean == 42.0f && var == 0.0f, "stats (%g, %g)", mean, var);
    CHECK(y == beta, "y = beta exactly, got %a", (double)y);
    CHECK(rm == 21.5f && rv == 1.0f,
          "running stats (count 1 uses the biased variance): %g %g", rm, rv);
    float dy = 2.0f, dx = -1.0f, dg = -1.0f, db = -1.0f;
    CHECK(simdnn_batchnorm_backward_f32(&x, &dy, &dx, 1, 1, 1, SIMDNN_NHWC,
                                        &gamma, &mean, &var, 1e-5f, &dg,
                                        &db) == SIMDNN_SUCCESS,
          "backward on one element");
    CHECK(dx == 0.0f && dg == 0.0f && db == 2.0f && !isnan(dx),
          "one element: dx %g dgamma %g dbeta %g", dx, dg, db);
}

static void test_row_past_2_24(void)
{
    size_t n = ((size_t)1 << 24) + 1;
    float *x = guarded_alloc(n, GUARD_FLUSH), *y = guarded_alloc(n, 8);
    test_rng rng;
    test_rng_for(&rng, 2424);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)rng_uniform(&rng, -60.0, 40.0);
    x[n - 1] = 41.0f; /* the maximum sits in the tail */
    CHECK(simdnn_softmax_f32(x, y, 1, n, n, n, 0) == SIMDNN_SUCCESS,
          "softmax of 2^24 + 1");
    double sum = 0.0, comp = 0.0;
    for (size_t i = 0; i < n; i++) { /* Kahan-summed double oracle */
        double t = exp((double)x[i] - 41.0) - comp;
        double s = sum + t;
        comp = (s - sum) - t;
        sum = s;
    }
    double worst = 0.0;
    size_t step = test_quick ? 97 : 1;
    for (size_t i = 0; i < n; i += step) {
        double want = exp((double)x[i] - 41.0) / sum;
        if (want >= FLT_MIN) {
            double e = rel_err(y[i], want);
            worst = e > worst ? e : worst;
        }
    }
    double want_last = 1.0 / sum;
    CHECK(rel_err(y[n - 1], want_last) <= 2e-6, "tail element");
    CHECK(worst <= 2e-6, "worst relative error %.3g over 2^24 + 1", worst);
    printf("  2^24 + 1 row: worst relative error %.3g\n", worst);
    guarded_free(x, n, GUARD_FLUSH);
    guarded_free(y, n, 8);
}

static void run(void)
{
    test_case("overflowing_spans", test_overflowing_spans);
    test_case("zero_sized", test_zero_sized);
    test_case("single_elements", test_single_elements);
    test_case("row_past_2_24", test_row_past_2_24);
}

int main(int argc, char **argv)
{
    return test_main(argc, argv, SIMDNN_FAMILY_SOFTMAX, run);
}
