/*
 * A consumer of an installed simdnn, in C: one call of every family that
 * the installed library contains, each checked against a naive
 * computation. Built against the shared library, the static library and
 * through pkg-config by tests/consumer/run.cmake.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <simdnn/simdnn.h>

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        printf("FAIL: %s\n", what);
        failures++;
    }
}

int main(void)
{
    check(simdnn_version() == SIMDNN_VERSION, "header and library version");
    check(strcmp(simdnn_isa_name(simdnn_active_isa()), "unknown") != 0,
          "active ISA has a name");
    printf("simdnn %s, active ISA %s\n", simdnn_version_string(),
           simdnn_isa_name(simdnn_active_isa()));

#ifdef CONSUMER_HAVE_SOFTMAX
    {
        float x[5] = {1.0f, -2.0f, 0.5f, 3.0f, 0.0f}, y[5];
        double sum = 0.0;
        for (int i = 0; i < 5; i++)
            sum += exp(x[i] - 3.0);
        check(simdnn_softmax_f32(x, y, 1, 5, 5, 5, 0) == SIMDNN_SUCCESS,
              "softmax status");
        for (int i = 0; i < 5; i++)
            check(fabs(y[i] - exp(x[i] - 3.0) / sum) <= 1e-6, "softmax value");
        check(simdnn_softmax_f32(NULL, y, 1, 5, 5, 5, 0) ==
                  SIMDNN_INVALID_ARGUMENT,
              "softmax rejects NULL");
    }
#endif
#ifdef CONSUMER_HAVE_POSENC
    {
        float pe[4 * 8];
        check(simdnn_posenc_table_f32(
                  pe, 4, 8, 8, 100, SIMDNN_POSENC_DEFAULT_BASE,
                  SIMDNN_POSENC_INTERLEAVED) == SIMDNN_SUCCESS,
              "posenc status");
        for (int p = 0; p < 4; p++)
            for (int k = 0; k < 4; k++) {
                double w = pow(10000.0, -2.0 * k / 8.0), a = (100 + p) * w;
                check(fabs(pe[p * 8 + 2 * k] - sin(a)) <= 1e-7, "sin");
                check(fabs(pe[p * 8 + 2 * k + 1] - cos(a)) <= 1e-7, "cos");
            }
    }
#endif
#ifdef CONSUMER_HAVE_BATCHNORM
    {
        /* NHWC, 1 image, 2 pixels, 3 channels. */
        float x[6] = {1, 2, 3, 4, 5, 6}, y[6];
        float gamma[3] = {1, 2, -1}, beta[3] = {0, 1, 0.5f};
        float mean[3] = {2, 3, 4}, var[3] = {1, 4, 0.25f};
        check(simdnn_batchnorm_inference_f32(
                  x, y, 1, 3, 2, SIMDNN_NHWC, gamma, beta, mean, var, 1e-5f,
                  SIMDNN_BATCHNORM_FUSE_RELU) == SIMDNN_SUCCESS,
              "batchnorm status");
        for (int i = 0; i < 6; i++) {
            int c = i % 3;
            double want =
                gamma[c] * (x[i] - mean[c]) / sqrt((double)var[c] + 1e-5) +
                beta[c];
            want = want > 0 ? want : 0;
            check(fabs(y[i] - want) <= 1e-5 * (1 + fabs(want)),
                  "batchnorm value");
        }
    }
#endif
    printf("consumer (C): %s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
