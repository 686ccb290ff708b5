#include "oracle.h"

#include <math.h>
#include <stdlib.h>

size_t bn_index(simdnn_layout layout, size_t c, size_t spatial, size_t i,
                size_t ch, size_t s)
{
    if (layout == SIMDNN_NCHW)
        return (i * c + ch) * spatial + s;
    return (i * spatial + s) * c + ch;
}

void oracle_stats(const float *x, size_t n, size_t c, size_t spatial,
                  simdnn_layout layout, double *mean, double *var)
{
    double count = (double)(n * spatial);
    for (size_t ch = 0; ch < c; ch++) {
        double sum = 0.0;
        for (size_t i = 0; i < n; i++)
            for (size_t s = 0; s < spatial; s++)
                sum += x[bn_index(layout, c, spatial, i, ch, s)];
        double mu = sum / count, sq = 0.0;
        for (size_t i = 0; i < n; i++)
            for (size_t s = 0; s < spatial; s++) {
                double d = x[bn_index(layout, c, spatial, i, ch, s)] - mu;
                sq += d * d;
            }
        mean[ch] = mu;
        var[ch] = sq / count;
    }
}

void oracle_normalize(const float *x, size_t n, size_t c, size_t spatial,
                      simdnn_layout layout, const float *gamma,
                      const float *beta, const double *mean,
                      const double *var, float eps, bool relu, double *y,
                      double *bound)
{
    for (size_t ch = 0; ch < c; ch++) {
        double g = gamma ? gamma[ch] : 1.0, be = beta ? beta[ch] : 0.0;
        double inv = 1.0 / sqrt(var[ch] + (double)eps);
        double a = g * inv, b = be - mean[ch] * a;
        for (size_t i = 0; i < n; i++)
            for (size_t s = 0; s < spatial; s++) {
                size_t at = bn_index(layout, c, spatial, i, ch, s);
                double v = g * ((x[at] - mean[ch]) * inv) + be;
                if (relu && v < 0.0)
                    v = 0.0;
                y[at] = v;
                bound[at] = 1e-6 * (fabs(x[at] * a) + fabs(b));
            }
    }
}

void oracle_train_bound(const float *x, size_t n, size_t c, size_t spatial,
                        simdnn_layout layout, const float *gamma,
                        const float *beta, const double *mean,
                        const double *var, float eps, double *bound)
{
    for (size_t ch = 0; ch < c; ch++) {
        double g = gamma ? fabs(gamma[ch]) : 1.0;
        double be = beta ? fabs(beta[ch]) : 0.0;
        double inv = 1.0 / sqrt(var[ch] + (double)eps);
        for (size_t i = 0; i < n; i++)
            for (size_t s = 0; s < spatial; s++) {
                size_t at = bn_index(layout, c, spatial, i, ch, s);
                double xhat = (x[at] - mean[ch]) * inv;
                bound[at] = 1e-6 * (g * fabs(xhat) + be + g);
            }
    }
}

void oracle_backward(const float *x, const float *dy, size_t n, size_t c,
                     size_t spatial, simdnn_layout layout,
                     const float *gamma, const float *mean, const float *var,
                     float eps, double *dx, double *dx_bound, double *dgamma,
                     double *dgamma_bound, double *dbeta,
                     double *dbeta_bound)
{
    double count = (double)(n * spatial);
    for (size_t ch = 0; ch < c; ch++) {
        double g = gamma ? gamma[ch] : 1.0;
        double inv = 1.0 / sqrt((double)var[ch] + (double)eps);
        double db = 0, dba = 0, dg = 0, dga = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t s = 0; s < spatial; s++) {
                size_t at = bn_index(layout, c, spatial, i, ch, s);
                double xhat = ((double)x[at] - mean[ch]) * inv;
                db += dy[at];
                dba += fabs(dy[at]);
                dg += dy[at] * xhat;
                dga += fabs(dy[at] * xhat);
            }
        dbeta[ch] = db;
        dbeta_bound[ch] = 1e-5 * dba;
        dgamma[ch] = dg;
        dgamma_bound[ch] = 1e-5 * dga;
        for (size_t i = 0; i < n; i++)
            for (size_t s = 0; s < spatial; s++) {
                size_t at = bn_index(layout, c, spatial, i, ch, s);
                double xhat = ((double)x[at] - mean[ch]) * inv;
                dx[at] = g * inv * (dy[at] - db / count - xhat * dg / count);
                dx_bound[at] = 1e-5 * fabs(g * inv) *
                               (fabs(dy[at]) + dba / count +
                                fabs(xhat) * dga / count);
            }
    }
}
