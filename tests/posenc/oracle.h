/*
 * The double-precision oracle of the positional encodings: w_k by libm's
 * pow in double exactly as the contract defines it, the angle as the
 * double product p * w_k, and libm's sin and cos of it (below 1 ulp), so
 * the oracle is within about 2^-53 of the contract's reference values.
 */
#ifndef SIMDNN_TESTS_POSENC_ORACLE_H
#define SIMDNN_TESTS_POSENC_ORACLE_H

#include <stddef.h>

#include "simdnn/simdnn.h"

/* w_k = base^(-2k/d), the exponent rounded once, as in the header. */
double oracle_frequency(double base, size_t k, size_t d);

/* Row p of a d-wide table in `layout`, in double (out[d]). */
void oracle_row(double *out, size_t p, size_t d, double base,
                simdnn_posenc_layout layout);

/* The same row with the frequencies given (w[d/2]). */
void oracle_row_w(double *out, size_t p, size_t d, const double *w,
                  simdnn_posenc_layout layout);

/* RoPE of one head row (head_dim floats) at position p, in double. */
void oracle_rope_head(double *out, const float *in, size_t p, size_t head_dim,
                      const double *w, simdnn_rope_style style);

/* Half the distance from |v| (rounded to float) to the next float. */
double oracle_half_ulp(double v);

#endif /* SIMDNN_TESTS_POSENC_ORACLE_H */
