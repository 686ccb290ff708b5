/*
 * The oracle: softmax in double with a compensated (Neumaier) sum, the
 * special values as the header states them, independent of the kernels'
 * algorithm (no polynomial, no TwoSum: (double)x - max is exact or within
 * 2^-53, and libm's exp and log in double are within an ULP of double).
 */
#include "oracle.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simdnn/simdnn.h"
#include "test_util.h"

/* With `exps` (n doubles), also keeps each exp(x_i - max). */
static oracle_row stats(const float *x, size_t n, size_t stride, unsigned flags,
                        double *exps)
{
    oracle_row row = {ORACLE_NORMAL, -INFINITY, 0.0, 0.0};
    bool nan = false;
    for (size_t i = 0; i < n; i++) {
        float v = x[i * stride];
        if (isnan(v))
            nan = true;
        else if (v > row.max)
            row.max = v;
    }
    if (nan || row.max == INFINITY) {
        row.kind = ORACLE_NAN_ROW;
        return row;
    }
    if (row.max == -INFINITY) {
        row.kind = (flags & SIMDNN_SOFTMAX_MASKED_ROW_ZERO) ? ORACLE_MASKED
                                                            : ORACLE_NAN_ROW;
        return row;
    }
    double sum = 0.0, comp = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = exp((double)x[i * stride] - row.max);
        if (exps)
            exps[i] = e;
        double t = sum + e;
        comp += fabs(sum) >= fabs(e) ? (sum - t) + e : (e - t) + sum;
        sum = t;
    }
    row.sum = sum + comp;
    row.log_sum = log(row.sum);
    return row;
}

oracle_row oracle_stats(const float *x, size_t n, size_t stride, unsigned flags)
{
    return stats(x, n, stride, flags, NULL);
}

double oracle_value(const oracle_row *row, float xi, bool log_form)
{
    switch (row->kind) {
    case ORACLE_NAN_ROW:
        return NAN;
    case ORACLE_MASKED:
        return log_form ? -INFINITY : 0.0;
    case ORACLE_NORMAL:
        break;
    }
    if (xi == -INFINITY)
        return log_form ? -INFINITY : 0.0;
    double d = (double)xi - row->max;
    return log_form ? d - row->log_sum : exp(d) / row->sum;
}

bool oracle_ok(float got, double want, bool log_form, double *err)
{
    uint32_t bits;
    memcpy(&bits, &got, sizeof(bits));
    *err = 0.0;
    if (isnan(want)) {
        /* Any NaN, but not the canary: the kernel must have written. */
        if (isnan(got) && bits != 0x7FA5A5A5u)
            return true;
        *err = INFINITY;
        return false;
    }
    if (isnan(got)) {
        *err = INFINITY;
        return false;
    }
    if (!log_form) {
        if (want == 0.0) { /* a -Inf entry or a masked row: exactly +0 */
            if (bits == 0)
                return true;
            *err = INFINITY;
            return false;
        }
        if (want < FLT_MIN) { /* may be flushed, or be near the value */
            *err = 0.0;
            return got >= 0.0f &&
                   (double)got <= FLT_MIN * (1 + SOFTMAX_REL_BOUND);
        }
        *err = fabs((double)got - want) / want;
        return *err <= SOFTMAX_REL_BOUND;
    }
    if (want == -INFINITY) {
        if (got == -INFINITY)
            return true;
        *err = INFINITY;
        return false;
    }
    if (want < -(double)FLT_MAX) { /* -6e38: rounds to -Inf */
        if (got == -INFINITY || got == -FLT_MAX)
            return true;
        *err = INFINITY;
        return false;
    }
    *err = fabs((double)got - want) / (1.0 + fabs(want));
    return *err <= LOG_SOFTMAX_ABS_BOUND;
}

size_t oracle_check(const float *x, const float *y, size_t n, size_t stride,
                    unsigned flags, bool log_form, double *worst,
                    const char *what)
{
    /* Each exp once: kept from the sum for the softmax values. */
    double *exps = log_form ? NULL : malloc(n * sizeof(double));
    oracle_row row = stats(x, n, stride, flags, exps);
    size_t failures = 0;
    for (size_t i = 0; i < n; i++) {
        float xi = x[i * stride];
        double want = exps && row.kind == ORACLE_NORMAL && xi != -INFINITY
                          ? exps[i] / row.sum
                          : oracle_value(&row, xi, log_form);
        double err;
        float got = y[i * stride];
        if (!oracle_ok(got, want, log_form, &err)) {
            if (failures == 0)
                CHECK(false,
                      "%s%s: n=%zu i=%zu x=%a got %a (%.9g) want %.12g "
                      "err %.3g",
                      log_form ? "log-" : "", what, n, i, (double)xi,
                      (double)got, (double)got, want, err);
            failures++;
        } else if (err > *worst) {
            *worst = err;
        }
    }
    free(exps);
    if (failures == 0)
        CHECK(true, "ok");
    return failures;
}
