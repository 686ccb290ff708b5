/*
 * The double-precision oracle of the batch-normalization tests: the
 * textbook formulas evaluated in double (two-pass statistics), with the
 * error bound each output must meet stated next to it. Nothing here shares
 * code with the library.
 */
#ifndef SIMDNN_TEST_BATCHNORM_ORACLE_H
#define SIMDNN_TEST_BATCHNORM_ORACLE_H

#include <stdbool.h>
#include <stddef.h>

#include "simdnn/simdnn.h"

/* Index of element (image i, channel ch, spatial s). */
size_t bn_index(simdnn_layout layout, size_t c, size_t spatial, size_t i,
                size_t ch, size_t s);

/* Per channel two-pass mean and biased variance, in double. */
void oracle_stats(const float *x, size_t n, size_t c, size_t spatial,
                  simdnn_layout layout, double *mean, double *var);

/*
 * y = gamma*(x - mean)/sqrt(var + eps) + beta (ReLU when relu) with the
 * given per-channel statistics (double), and the bound the header states:
 * 1e-6 * (|x*a| + |b|), a = gamma/sqrt(var + eps), b = beta - mean*a.
 * gamma/beta NULL mean 1/0. y and bound hold n*c*spatial doubles.
 */
void oracle_normalize(const float *x, size_t n, size_t c, size_t spatial,
                      simdnn_layout layout, const float *gamma,
                      const float *beta, const double *mean,
                      const double *var, float eps, bool relu, double *y,
                      double *bound);

/*
 * The training forward's bound: 1e-6 * (|gamma*xhat| + |beta| + |gamma|)
 * with xhat = (x - mean)/sqrt(var + eps) from the exact statistics. It is
 * the error of normalizing with statistics that are themselves within
 * their bounds (mean within 1e-6 * std, so a*dmean <= 1e-6*|gamma|), and
 * for data far from zero it is far tighter than 1e-6 * (|x*a| + |b|).
 */
void oracle_train_bound(const float *x, size_t n, size_t c, size_t spatial,
                        simdnn_layout layout, const float *gamma,
                        const float *beta, const double *mean,
                        const double *var, float eps, double *bound);

/*
 * The backward formulas of the header, with bounds 1e-5 times the
 * magnitudes of the terms: sum|dy| for dbeta, sum|dy*xhat| for dgamma, and
 * |gamma*inv_std| * (|dy| + sum|dy|/count + |xhat|*sum|dy*xhat|/count)
 * for dx (the sums enter dx, so their magnitudes bound dx's error).
 */
void oracle_backward(const float *x, const float *dy, size_t n, size_t c,
                     size_t spatial, simdnn_layout layout,
                     const float *gamma, const float *mean, const float *var,
                     float eps, double *dx, double *dx_bound, double *dgamma,
                     double *dgamma_bound, double *dbeta,
                     double *dbeta_bound);

#endif
