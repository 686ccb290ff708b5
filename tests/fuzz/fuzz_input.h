/*
 * Fuzz harness helpers: the fuzzer's bytes read as a stream of choices.
 * Reading past the end yields zeros, so every input is a valid program of
 * choices and short inputs explore the small, common shapes first.
 */
#ifndef SIMDNN_FUZZ_INPUT_H
#define SIMDNN_FUZZ_INPUT_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct fuzz_input {
    const uint8_t *data;
    size_t size, pos;
} fuzz_input;

static inline uint8_t fuzz_u8(fuzz_input *in)
{
    return in->pos < in->size ? in->data[in->pos++] : 0;
}

static inline uint32_t fuzz_u32(fuzz_input *in)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)fuzz_u8(in) << (8 * i);
    return v;
}

/* A size in [0, max], biased towards small values and vector-tile edges. */
static inline size_t fuzz_size(fuzz_input *in, size_t max)
{
    uint8_t kind = fuzz_u8(in);
    size_t v;
    if (kind < 160)
        v = kind % 40;
    else if (kind < 224)
        v = (size_t)fuzz_u8(in) * 4 + (kind & 3);
    else
        v = fuzz_u32(in);
    return max == 0 ? 0 : v % (max + 1);
}

/*
 * A float of one of several classes: special values (NaN, +-Inf, +-0,
 * denormals, FLT_MAX, values near the exp overflow point), moderate
 * values, or raw bit patterns (anything at all).
 */
static inline float fuzz_float(fuzz_input *in, int allow_special)
{
    static const float specials[] = {
        NAN,      INFINITY,  -INFINITY, 0.0f,     -0.0f,  FLT_MIN,
        -FLT_MIN, 0x1p-149f, FLT_MAX,   -FLT_MAX, 88.72f, -87.33f,
        1e38f,    -1e38f,    103.9f,    -103.9f,
    };
    uint8_t kind = fuzz_u8(in);
    if (allow_special && kind < 24)
        return specials[kind % (sizeof(specials) / sizeof(specials[0]))];
    if (allow_special && kind < 40) {
        uint32_t bits = fuzz_u32(in);
        float f;
        memcpy(&f, &bits, sizeof(f));
        return f;
    }
    /* Moderate: a signed value with a spread chosen by the kind byte. */
    int8_t mantissa = (int8_t)fuzz_u8(in);
    return (float)mantissa * ldexpf(1.0f, (kind % 16) - 8);
}

#endif /* SIMDNN_FUZZ_INPUT_H */
