/*
 * The double-precision oracle of the softmax tests and the checks of one
 * output against it, with the bounds of include/simdnn/simdnn.h.
 */
#ifndef SIMDNN_TEST_SOFTMAX_ORACLE_H
#define SIMDNN_TEST_SOFTMAX_ORACLE_H

#include <stdbool.h>
#include <stddef.h>

/* The documented bounds. */
#define SOFTMAX_REL_BOUND 2e-6
#define LOG_SOFTMAX_ABS_BOUND 2e-6 /* times (1 + |y|) */

typedef enum oracle_kind {
    ORACLE_NORMAL,  /* finite maximum: the formula */
    ORACLE_NAN_ROW, /* NaN or +Inf present, or all -Inf without the flag */
    ORACLE_MASKED   /* all -Inf with SIMDNN_SOFTMAX_MASKED_ROW_ZERO */
} oracle_kind;

typedef struct oracle_row {
    oracle_kind kind;
    double max;
    double sum;     /* sum_j exp(x_j - max), compensated, in double */
    double log_sum; /* log(sum) */
} oracle_row;

/* Statistics of the n values x[0], x[stride], ..., x[(n-1)*stride]. */
oracle_row oracle_stats(const float *x, size_t n, size_t stride,
                        unsigned flags);

/* The exact (double) softmax or log-softmax value of input xi. */
double oracle_value(const oracle_row *row, float xi, bool log_form);

/* Whether `got` meets the contract for exact value `want`; *err receives
 * the measured error (relative for softmax, absolute over (1 + |y|) for
 * log-softmax; 0 for exact special values, +inf for a mismatch). */
bool oracle_ok(float got, double want, bool log_form, double *err);

/* Checks y[i*stride] against x[i*stride] for one row/column; returns the
 * number of failures, adds to *worst. `what` names the case for the
 * message of the first failure. */
size_t oracle_check(const float *x, const float *y, size_t n, size_t stride,
                    unsigned flags, bool log_form, double *worst,
                    const char *what);

#endif
