/*
 * libFuzzer harness for the positional encodings: table, fused add and
 * RoPE. The input chooses the ISA cap, the entry point, layout or style,
 * the shape, the stride, the position offset (anywhere up to and past the
 * limit of 2^24), the base (valid and invalid) and the values. The harness
 * states the argument contract independently and checks it (invalid: status
 * SIMDNN_INVALID_ARGUMENT and no byte written; valid: a double oracle
 * within the documented bounds, padding untouched).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_input.h"
#include "simdnn/simdnn.h"

#define FAIL(...)                                                              \
    do {                                                                       \
        fprintf(stderr, "fuzz_posenc: " __VA_ARGS__);                          \
        fputc('\n', stderr);                                                   \
        abort();                                                               \
    } while (0)

/* Documented bounds (include/simdnn/simdnn.h). */
#define TABLE_BOUND 0x1p-24
#define ROPE_BOUND_FACTOR 2.0

static double fuzz_base(fuzz_input *in, bool *valid)
{
    static const double bases[] = {10000.0, 2.0,  1e6, 500000.0, 1.0,
                                   0.5,     -3.0, NAN, INFINITY, 1.0000001};
    uint8_t kind = fuzz_u8(in);
    double base = kind < 200 ? bases[kind % 4]
                             : bases[kind % (sizeof(bases) / sizeof(*bases))];
    if (kind >= 250)
        base = 1.0 + (double)fuzz_u32(in) * 0x1p-12;
    *valid = isfinite(base) && base > 1.0;
    return base;
}

static size_t fuzz_offset(fuzz_input *in)
{
    uint8_t kind = fuzz_u8(in);
    size_t jitter = fuzz_u8(in);
    if (kind < 100)
        return jitter;
    if (kind < 180)
        return ((size_t)1 << 20) - jitter;
    if (kind < 230)
        return SIMDNN_POSENC_MAX_POSITION - jitter;
    return fuzz_u32(in) % (SIMDNN_POSENC_MAX_POSITION + 64);
}

static double frequency(size_t k, size_t d, double base)
{
    return pow(base, -(double)(2 * k) / (double)d);
}

/* sin or cos of position p for column j of a d-wide row in `layout`. */
static double encoding(size_t p, size_t j, size_t d, double base,
                       simdnn_posenc_layout layout)
{
    size_t half = d / 2;
    size_t k = layout == SIMDNN_POSENC_INTERLEAVED ? j / 2 : j % half;
    bool is_cos = layout == SIMDNN_POSENC_INTERLEAVED ? (j & 1) : j >= half;
    double angle = (double)p * frequency(k, d, base);
    return is_cos ? cos(angle) : sin(angle);
}

static double half_ulp(double v)
{
    float f = (float)fabs(v);
    return ((double)nextafterf(f, INFINITY) - (double)f) / 2;
}

static void fuzz_table(fuzz_input *in, bool add)
{
    size_t positions = fuzz_size(in, 70), d = fuzz_size(in, 300);
    uint8_t shape = fuzz_u8(in);
    size_t stride = d + (shape & 7);
    if (shape & 0x40)
        stride = d > 0 ? d - 1 : 0;
    simdnn_posenc_layout layout = (simdnn_posenc_layout)(shape >> 7);
    if ((shape & 0x38) == 0x38)
        layout = (simdnn_posenc_layout)7;
    size_t offset = fuzz_offset(in);
    bool base_ok;
    double base = fuzz_base(in, &base_ok);

    size_t span = positions && d ? (positions - 1) * stride + d : 0;
    float *buf = malloc((span ? span : 1) * sizeof(float));
    for (size_t i = 0; i < span; i++)
        buf[i] = add ? fuzz_float(in, 0) : (float)i * 0.5f - 3.0f;
    float *before = malloc((span ? span : 1) * sizeof(float));
    memcpy(before, buf, span * sizeof(float));

    bool valid =
        d % 2 == 0 && !(positions > 1 && stride < d) && base_ok &&
        offset + positions <= SIMDNN_POSENC_MAX_POSITION &&
        (layout == SIMDNN_POSENC_INTERLEAVED || layout == SIMDNN_POSENC_SPLIT);
    simdnn_status status =
        add ? simdnn_posenc_add_f32(buf, positions, d, stride, offset, base,
                                    layout)
            : simdnn_posenc_table_f32(buf, positions, d, stride, offset, base,
                                      layout);
    if (!valid) {
        if (status != SIMDNN_INVALID_ARGUMENT)
            FAIL("invalid call (d %zu stride %zu offset %zu base %g "
                 "layout %d) returned %d",
                 d, stride, offset, base, (int)layout, (int)status);
        if (memcmp(buf, before, span * sizeof(float)) != 0)
            FAIL("invalid call wrote to the buffer");
    } else {
        if (status != SIMDNN_SUCCESS)
            FAIL("valid call returned %d", (int)status);
        for (size_t r = 0; r < positions; r++) {
            for (size_t j = 0; j < d; j++) {
                double pe = encoding(offset + r, j, d, base, layout);
                double x0 = add ? before[r * stride + j] : 0.0;
                double want = x0 + pe, got = buf[r * stride + j];
                double bound = TABLE_BOUND + (add ? half_ulp(want) : 0.0);
                if (!(fabs(got - want) <= bound))
                    FAIL("%s p %zu j %zu d %zu base %g: want %.17g got "
                         "%.17g",
                         add ? "add" : "table", offset + r, j, d, base, want,
                         got);
            }
            for (size_t j = d; d && r + 1 < positions && j < stride; j++)
                if (memcmp(&buf[r * stride + j], &before[r * stride + j],
                           sizeof(float)) != 0)
                    FAIL("padding written at row %zu column %zu", r, j);
        }
    }
    free(buf);
    free(before);
}

static void fuzz_rope(fuzz_input *in)
{
    size_t tokens = fuzz_size(in, 12), heads = fuzz_size(in, 4);
    size_t head_dim = fuzz_size(in, 140);
    uint8_t shape = fuzz_u8(in);
    size_t row = heads * head_dim, stride = row + (shape & 7);
    if (shape & 0x40)
        stride = row > 0 ? row - 1 : 0;
    simdnn_rope_style style = (simdnn_rope_style)(shape >> 7);
    if ((shape & 0x38) == 0x38)
        style = (simdnn_rope_style)5;
    size_t offset = fuzz_offset(in);
    bool base_ok;
    double base = fuzz_base(in, &base_ok);

    size_t span = tokens && row ? (tokens - 1) * stride + row : 0;
    float *buf = malloc((span ? span : 1) * sizeof(float));
    for (size_t i = 0; i < span; i++)
        buf[i] = fuzz_float(in, 0);
    float *before = malloc((span ? span : 1) * sizeof(float));
    memcpy(before, buf, span * sizeof(float));

    bool valid =
        head_dim % 2 == 0 && !(tokens > 1 && stride < row) && base_ok &&
        offset + tokens <= SIMDNN_POSENC_MAX_POSITION &&
        (style == SIMDNN_ROPE_INTERLEAVED || style == SIMDNN_ROPE_HALF);
    simdnn_status status = simdnn_rope_f32(buf, tokens, heads, head_dim, stride,
                                           offset, base, style);
    if (!valid) {
        if (status != SIMDNN_INVALID_ARGUMENT)
            FAIL("invalid rope call returned %d", (int)status);
        if (memcmp(buf, before, span * sizeof(float)) != 0)
            FAIL("invalid rope call wrote to the buffer");
        goto done;
    }
    if (status != SIMDNN_SUCCESS)
        FAIL("valid rope call returned %d", (int)status);
    size_t half = head_dim / 2;
    for (size_t t = 0; t < tokens; t++)
        for (size_t h = 0; h < heads; h++)
            for (size_t k = 0; k < half; k++) {
                size_t base_i = t * stride + h * head_dim;
                size_t iu = base_i + (style == SIMDNN_ROPE_HALF ? k : 2 * k);
                size_t iv =
                    base_i + (style == SIMDNN_ROPE_HALF ? k + half : 2 * k + 1);
                double angle =
                    (double)(offset + t) * frequency(k, head_dim, base);
                double c = cos(angle), s = sin(angle);
                double u = before[iu], v = before[iv];
                double want_u = u * c - v * s, want_v = u * s + v * c;
                double bound =
                    ROPE_BOUND_FACTOR * 0x1p-24 * (fabs(u) + fabs(v));
                if (!(fabs(buf[iu] - want_u) <= bound) ||
                    !(fabs(buf[iv] - want_v) <= bound))
                    FAIL("rope t %zu h %zu k %zu: want (%g, %g) got "
                         "(%g, %g)",
                         t, h, k, want_u, want_v, (double)buf[iu],
                         (double)buf[iv]);
            }
done:
    free(buf);
    free(before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    simdnn_set_max_isa((simdnn_isa)(fuzz_u8(&in) % SIMDNN_ISA_COUNT));
    switch (fuzz_u8(&in) % 3) {
    case 0:
        fuzz_table(&in, false);
        break;
    case 1:
        fuzz_table(&in, true);
        break;
    default:
        fuzz_rope(&in);
        break;
    }
    float one = 0;
    if (simdnn_posenc_table_f32(NULL, 1, 2, 2, 0, 10000.0,
                                SIMDNN_POSENC_INTERLEAVED) !=
        SIMDNN_INVALID_ARGUMENT)
        FAIL("NULL table accepted");
    if (simdnn_posenc_table_f32(&one, SIZE_MAX / 4, 2, 2, 0, 10000.0,
                                SIMDNN_POSENC_INTERLEAVED) !=
        SIMDNN_INVALID_ARGUMENT)
        FAIL("overflowing size accepted");
    return 0;
}
