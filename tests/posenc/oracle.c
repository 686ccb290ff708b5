#include "oracle.h"

#include <math.h>

double oracle_frequency(double base, size_t k, size_t d)
{
    return pow(base, -(double)(2 * k) / (double)d);
}

void oracle_row_w(double *out, size_t p, size_t d, const double *w,
                  simdnn_posenc_layout layout)
{
    size_t half = d / 2;
    for (size_t k = 0; k < half; k++) {
        double angle = (double)p * w[k];
        double s = sin(angle), c = cos(angle);
        if (layout == SIMDNN_POSENC_INTERLEAVED) {
            out[2 * k] = s;
            out[2 * k + 1] = c;
        } else {
            out[k] = s;
            out[half + k] = c;
        }
    }
}

void oracle_row(double *out, size_t p, size_t d, double base,
                simdnn_posenc_layout layout)
{
    size_t half = d / 2;
    for (size_t k = 0; k < half; k++) {
        double angle = (double)p * oracle_frequency(base, k, d);
        double s = sin(angle), c = cos(angle);
        if (layout == SIMDNN_POSENC_INTERLEAVED) {
            out[2 * k] = s;
            out[2 * k + 1] = c;
        } else {
            out[k] = s;
            out[half + k] = c;
        }
    }
}

void oracle_rope_head(double *out, const float *in, size_t p, size_t head_dim,
                      const double *w, simdnn_rope_style style)
{
    size_t half = head_dim / 2;
    for (size_t k = 0; k < half; k++) {
        size_t iu = style == SIMDNN_ROPE_INTERLEAVED ? 2 * k : k;
        size_t iv = style == SIMDNN_ROPE_INTERLEAVED ? 2 * k + 1 : k + half;
        double angle = (double)p * w[k];
        double s = sin(angle), c = cos(angle);
        double u = in[iu], v = in[iv];
        out[iu] = u * c - v * s;
        out[iv] = u * s + v * c;
    }
}

double oracle_half_ulp(double v)
{
    float f = (float)fabs(v);
    return ((double)nextafterf(f, INFINITY) - (double)f) / 2;
}
