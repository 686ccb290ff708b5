/*
 * Example: the epilogue of a convolution block in NHWC, the layout most
 * CPU inference engines run convolutions in.
 *
 *   1. a (naive) 3x3 convolution, stride 1, zero padding, produces an
 *      N x H x W x C activation tensor;
 *   2. batch normalization with the layer's frozen statistics and ReLU
 *      are applied in place, in one pass, by
 *      simdnn_batchnorm_inference_f32(..., SIMDNN_NHWC, ...,
 *      SIMDNN_BATCHNORM_FUSE_RELU): per channel y = max(x*a + b, 0) with
 *      a = gamma/sqrt(var + eps) and b = beta - mean*a;
 *   3. the result is compared with the textbook formula in double, within
 *      the documented bound 1e-6 * (|x*a| + |b|).
 * An engine would usually fold a and b into the convolution's weights;
 * running them here keeps the convolution kernel generic (and is what the
 * training graph, with changing statistics, needs).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <simdnn/simdnn.h>

/* The larger of two numbers (never NaN here). Not fmax(): GCC 12 for
 * aarch64 crashes vectorizing fmax reductions (internal compiler error in
 * vect_transform_reduction). */
static double max_of(double a, double b) { return a > b ? a : b; }

enum { N = 2, H = 6, W = 5, CIN = 3, C = 19 };

static float in[N][H][W][CIN], weight[C][3][3][CIN];
static float act[N][H][W][C], conv[N][H][W][C];

static double uniform(unsigned *state, double lo, double hi)
{
    *state = *state * 1664525u + 1013904223u;
    return lo + (hi - lo) * ((*state >> 8) & 0xFFFFFF) / 16777216.0;
}

int main(void)
{
    unsigned seed = 42;
    float gamma[C], beta[C], mean[C], var[C];
    const float eps = 1e-5f;
    for (int n = 0; n < N; n++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int i = 0; i < CIN; i++)
                    in[n][y][x][i] = (float)uniform(&seed, -1, 1);
    for (int c = 0; c < C; c++) {
        for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++)
                for (int i = 0; i < CIN; i++)
                    weight[c][ky][kx][i] = (float)uniform(&seed, -0.5, 0.5);
        gamma[c] = (float)uniform(&seed, 0.5, 2.0);
        beta[c] = (float)uniform(&seed, -0.5, 0.5);
        mean[c] = (float)uniform(&seed, -0.3, 0.3);
        var[c] = (float)uniform(&seed, 0.2, 2.0);
    }

    /* 1. The convolution (NHWC in, NHWC out). */
    for (int n = 0; n < N; n++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int c = 0; c < C; c++) {
                    float acc = 0.0f;
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int sy = y + ky - 1, sx = x + kx - 1;
                            if (sy < 0 || sy >= H || sx < 0 || sx >= W)
                                continue;
                            for (int i = 0; i < CIN; i++)
                                acc += in[n][sy][sx][i] * weight[c][ky][kx][i];
                        }
                    act[n][y][x][c] = acc;
                }
    memcpy(conv, act, sizeof(act));

    /* 2. Batch norm + ReLU, in place, NHWC: spatial = H*W. */
    simdnn_status st = simdnn_batchnorm_inference_f32(
        &act[0][0][0][0], &act[0][0][0][0], N, C, H * W, SIMDNN_NHWC, gamma,
        beta, mean, var, eps, SIMDNN_BATCHNORM_FUSE_RELU);
    if (st != SIMDNN_SUCCESS) {
        printf("batchnorm failed: %s\n", simdnn_status_string(st));
        return 1;
    }

    /* 3. The naive epilogue. */
    int bad = 0, zeros = 0;
    double worst = 0.0;
    const float *x = &conv[0][0][0][0], *got = &act[0][0][0][0];
    for (size_t e = 0; e < (size_t)N * H * W * C; e++) {
        int c = (int)(e % C);
        double a = gamma[c] / sqrt((double)var[c] + eps);
        double b = beta[c] - mean[c] * a;
        double want = fmax(x[e] * a + b, 0.0);
        double err = fabs(got[e] - want);
        double bound = 1e-6 * (fabs(x[e] * a) + fabs(b));
        if (err > bound || got[e] < 0.0f)
            bad++;
        worst = max_of(worst, err / (bound > 0 ? bound : 1));
        zeros += got[e] == 0.0f;
    }
    printf("conv epilogue: NHWC %dx%dx%dx%d, batchnorm on %s, %d of %d "
           "outputs clipped by ReLU, worst error %.2f of the bound\n",
           N, H, W, C,
           simdnn_isa_name(simdnn_family_isa(SIMDNN_FAMILY_BATCHNORM)), zeros,
           N * H * W * C, worst);
    printf("%s\n", bad ? "FAILED" : "ok");
    return bad != 0;
}
