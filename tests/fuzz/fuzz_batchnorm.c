/*
 * libFuzzer harness for batch normalization: inference, training forward
 * and backward, both layouts. The input chooses the ISA cap, the entry
 * point, the layout, the shape, eps, momentum, flags and the values. The
 * harness states the argument contract independently and checks it
 * (invalid: SIMDNN_INVALID_ARGUMENT and no output byte written; valid: a
 * double oracle within the documented bounds). Values come from the
 * moderate class so that the oracle's quantities stay finite; raw special
 * values are fed in a separate pass that only checks that the call returns
 * and stays in bounds (AddressSanitizer watches the buffers).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_input.h"
#include "simdnn/simdnn.h"

#define FAIL(...)                                                              \
    do {                                                                       \
        fprintf(stderr, "fuzz_batchnorm: " __VA_ARGS__);                       \
        fputc('\n', stderr);                                                   \
        abort();                                                               \
    } while (0)

typedef struct shape {
    size_t n, c, spatial, count;
    simdnn_layout layout;
} shape;

static size_t index_of(const shape *s, size_t ni, size_t ci, size_t si)
{
    return s->layout == SIMDNN_NCHW ? (ni * s->c + ci) * s->spatial + si
                                    : (ni * s->spatial + si) * s->c + ci;
}

static float *alloc_floats(size_t count)
{
    return malloc((count ? count : 1) * sizeof(float));
}

static float *copy_floats(const float *p, size_t count)
{
    float *q = alloc_floats(count);
    memcpy(q, p, count * sizeof(float));
    return q;
}

static bool same(const float *a, const float *b, size_t count)
{
    return memcmp(a, b, count * sizeof(float)) == 0;
}

/* The case being checked, for failure messages. */
static char case_text[160];

static void check_close(const char *what, size_t i, double got, double want,
                        double bound)
{
    if (!(fabs(got - want) <= bound))
        FAIL("%s: %s[%zu]: want %.9g got %.9g (bound %.3g)", case_text, what, i,
             want, got, bound);
}

/* Per-channel double statistics of x. */
static void channel_stats(const shape *s, const float *x, size_t ci,
                          double *mean, double *var, double *mean_abs)
{
    double sum = 0, sum_abs = 0, sq = 0;
    for (size_t ni = 0; ni < s->n; ni++)
        for (size_t si = 0; si < s->spatial; si++) {
            double v = x[index_of(s, ni, ci, si)];
            sum += v;
            sum_abs += fabs(v);
        }
    *mean = sum / (double)s->count;
    for (size_t ni = 0; ni < s->n; ni++)
        for (size_t si = 0; si < s->spatial; si++) {
            double d = x[index_of(s, ni, ci, si)] - *mean;
            sq += d * d;
        }
    *var = sq / (double)s->count;
    *mean_abs = sum_abs / (double)s->count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    simdnn_set_max_isa((simdnn_isa)(fuzz_u8(&in) % SIMDNN_ISA_COUNT));
    uint8_t op = fuzz_u8(&in) % 3, mode = fuzz_u8(&in);
    shape s;
    s.n = fuzz_size(&in, 3);
    s.c = fuzz_size(&in, 40);
    s.spatial = fuzz_size(&in, 60);
    s.count = s.n * s.spatial;
    s.layout = (simdnn_layout)(mode & 1);
    if ((mode & 0x0E) == 0x0E)
        s.layout = (simdnn_layout)3;
    static const float eps_choices[] = {1e-5f, 1e-3f, 1.0f, 0.0f, -1e-5f, NAN};
    float eps = eps_choices[fuzz_u8(&in) % 6 * ((mode & 0x10) != 0)];
    static const float momentum_choices[] = {0.9f,  0.0f, 1.0f, 0.5f,
                                             -0.1f, 1.5f, NAN};
    float momentum = momentum_choices[fuzz_u8(&in) % 7 * ((mode & 0x20) != 0)];
    unsigned flags = (mode & 0x40) ? SIMDNN_BATCHNORM_FUSE_RELU : 0;
    if ((mode & 0xC0) == 0xC0)
        flags = 0x80;
    bool special = fuzz_u8(&in) >= 240;
    bool in_place = fuzz_u8(&in) & 1;

    size_t total = s.n * s.c * s.spatial;
    float *x = alloc_floats(total), *dy = alloc_floats(total);
    float *gamma = alloc_floats(s.c), *beta = alloc_floats(s.c);
    float *mean = alloc_floats(s.c), *var = alloc_floats(s.c);
    float *rmean = alloc_floats(s.c), *rvar = alloc_floats(s.c);
    float *bmean = alloc_floats(s.c), *bvar = alloc_floats(s.c);
    float *dgamma = alloc_floats(s.c), *dbeta = alloc_floats(s.c);
    for (size_t i = 0; i < total; i++) {
        x[i] = fuzz_float(&in, special);
        dy[i] = fuzz_float(&in, special);
    }
    for (size_t i = 0; i < s.c; i++) {
        gamma[i] = fuzz_float(&in, special);
        beta[i] = fuzz_float(&in, special);
        mean[i] = fuzz_float(&in, special);
        var[i] = fabsf(fuzz_float(&in, special));
        rmean[i] = fuzz_float(&in, 0);
        rvar[i] = fabsf(fuzz_float(&in, 0));
        bmean[i] = bvar[i] = dgamma[i] = dbeta[i] = -7.0f;
    }
    /* In place means y == x for the forward passes, dx == dy backward. */
    float *aliased = op == 2 ? dy : x;
    float *y = in_place ? aliased : alloc_floats(total);
    if (!in_place)
        for (size_t i = 0; i < total; i++)
            y[i] = -9.0f;
    float *x0 = copy_floats(x, total), *y0 = copy_floats(y, total);
    float *dy0 = copy_floats(dy, total);
    float *rmean0 = copy_floats(rmean, s.c), *rvar0 = copy_floats(rvar, s.c);

    bool common_ok = eps > 0 && s.layout <= SIMDNN_NHWC;
    simdnn_status status;
    bool valid;
    if (op == 0) {
        valid = common_ok && (flags & ~SIMDNN_BATCHNORM_FUSE_RELU) == 0;
        status =
            simdnn_batchnorm_inference_f32(x, y, s.n, s.c, s.spatial, s.layout,
                                           gamma, beta, mean, var, eps, flags);
    } else if (op == 1) {
        valid = common_ok && (flags & ~SIMDNN_BATCHNORM_FUSE_RELU) == 0 &&
                momentum >= 0 && momentum <= 1 && !(s.c > 0 && s.count == 0);
        status = simdnn_batchnorm_training_f32(
            x, y, s.n, s.c, s.spatial, s.layout, gamma, beta, eps, momentum,
            bmean, bvar, rmean, rvar, flags);
    } else {
        valid = common_ok && !(s.c > 0 && s.count == 0);
        status = simdnn_batchnorm_backward_f32(x, dy, y, s.n, s.c, s.spatial,
                                               s.layout, gamma, mean, var, eps,
                                               dgamma, dbeta);
    }
    if (!valid) {
        if (status != SIMDNN_INVALID_ARGUMENT)
            FAIL("invalid call (op %d eps %g momentum %g layout %d flags %u "
                 "count %zu) returned %d",
                 op, eps, momentum, (int)s.layout, flags, s.count, (int)status);
        if (!same(x, x0, total) || !same(y, y0, total) ||
            !same(dy, dy0, total) || !same(rmean, rmean0, s.c) ||
            !same(rvar, rvar0, s.c))
            FAIL("invalid call wrote an output");
        for (size_t i = 0; i < s.c; i++)
            if (bmean[i] != -7.0f || bvar[i] != -7.0f || dgamma[i] != -7.0f ||
                dbeta[i] != -7.0f)
                FAIL("invalid call wrote per-channel outputs");
    } else if (status != SIMDNN_SUCCESS) {
        FAIL("valid call (op %d) returned %d", op, (int)status);
    } else if (!special) {
        snprintf(case_text, sizeof(case_text),
                 "op %d isa %s layout %d n %zu c %zu spatial %zu eps %g "
                 "momentum %g flags %u in_place %d",
                 op,
                 simdnn_isa_name(simdnn_family_isa(SIMDNN_FAMILY_BATCHNORM)),
                 (int)s.layout, s.n, s.c, s.spatial, eps, momentum, flags,
                 (int)in_place);
        for (size_t ci = 0; ci < s.c; ci++) {
            /* Inference and backward use the given statistics, training
             * the batch's own. */
            double m = mean[ci], v = var[ci], mabs = 0;
            if (op == 1)
                channel_stats(&s, x0, ci, &m, &v, &mabs);
            if (op == 1) {
                check_close("batch_mean", ci, bmean[ci], m,
                            1e-6 * (fabs(m) + sqrt(v)));
                check_close("batch_var", ci, bvar[ci], v, 1e-6 * v + 1e-37);
                double unbiased =
                    s.count > 1 ? v * s.count / (s.count - 1.0) : v;
                double wm =
                    momentum * (double)rmean0[ci] + (1.0 - momentum) * m;
                double wv =
                    momentum * (double)rvar0[ci] + (1.0 - momentum) * unbiased;
                check_close("running_mean", ci, rmean[ci], wm,
                            1e-6 * (fabs(momentum * rmean0[ci]) +
                                    fabs(1 - momentum) * (fabs(m) + sqrt(v))) +
                                1e-37);
                check_close("running_var", ci, rvar[ci], wv, 1e-6 * wv + 1e-37);
            }
            double inv_std = 1.0 / sqrt(v + (double)eps);
            double a = gamma[ci] * inv_std, b = beta[ci] - m * a;
            double sum_dy = 0, sum_dy_xhat = 0, abs_dy = 0, abs_dyx = 0;
            for (size_t ni = 0; op == 2 && ni < s.n; ni++)
                for (size_t si = 0; si < s.spatial; si++) {
                    size_t i = index_of(&s, ni, ci, si);
                    double xhat = (x0[i] - m) * inv_std;
                    sum_dy += dy0[i];
                    sum_dy_xhat += dy0[i] * xhat;
                    abs_dy += fabs(dy0[i]);
                    abs_dyx += fabs(dy0[i] * xhat);
                }
            if (op == 2) {
                check_close("dbeta", ci, dbeta[ci], sum_dy, 1e-5 * abs_dy);
                check_close("dgamma", ci, dgamma[ci], sum_dy_xhat,
                            1e-5 * abs_dyx);
            }
            for (size_t ni = 0; ni < s.n; ni++)
                for (size_t si = 0; si < s.spatial; si++) {
                    size_t i = index_of(&s, ni, ci, si);
                    double want, bound;
                    if (op == 2) {
                        double xhat = (x0[i] - m) * inv_std, N = s.count;
                        double g = gamma[ci] * inv_std;
                        want =
                            g * (dy0[i] - sum_dy / N - xhat * sum_dy_xhat / N);
                        bound = 1e-5 * fabs(g) *
                                (fabs(dy0[i]) + abs_dy / N +
                                 fabs(xhat) * abs_dyx / N);
                    } else {
                        want = x0[i] * a + b;
                        /* Inference: relative to the terms of x*a + b;
                         * training: to those of gamma*xhat + beta. */
                        double gxhat = gamma[ci] * (x0[i] - m) * inv_std;
                        bound = op == 0 ? 1e-6 * (fabs(x0[i] * a) + fabs(b))
                                        : 1e-6 * (fabs(gxhat) + fabs(beta[ci]) +
                                                  fabs(gamma[ci]));
                        if (flags & SIMDNN_BATCHNORM_FUSE_RELU)
                            want = want > 0 ? want : 0;
                    }
                    check_close(op == 2 ? "dx" : "y", i, y[i], want,
                                bound + 1e-37);
                }
        }
    }
    free(x);
    free(dy);
    if (!in_place)
        free(y);
    free(x0);
    free(dy0);
    free(y0);
    free(gamma);
    free(beta);
    free(mean);
    free(var);
    free(rmean);
    free(rvar);
    free(rmean0);
    free(rvar0);
    free(bmean);
    free(bvar);
    free(dgamma);
    free(dbeta);
    return 0;
}
