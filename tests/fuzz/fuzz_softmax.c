/*
 * libFuzzer harness for the softmax family. The input chooses the ISA cap,
 * the entry point, the shape, the strides, the flags, in-place or not, and
 * every value (special values included). The harness states the argument
 * contract independently of the library and checks it: an invalid call
 * returns SIMDNN_INVALID_ARGUMENT and leaves every output byte as it was; a
 * valid call matches a double-precision oracle within the documented bounds
 * (relative 2e-6 for softmax outputs >= FLT_MIN, absolute
 * 2e-6 * (1 + |y|) for log-softmax) and leaves row padding untouched.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_input.h"
#include "simdnn/simdnn.h"

#define FAIL(...)                                                              \
    do {                                                                       \
        fprintf(stderr, "fuzz_softmax: " __VA_ARGS__);                         \
        fputc('\n', stderr);                                                   \
        abort();                                                               \
    } while (0)

static const uint32_t canary = 0x7FC0DEADu;

static void fill_canary(float *p, size_t count)
{
    for (size_t i = 0; i < count; i++)
        memcpy(&p[i], &canary, sizeof(float));
}

static bool is_canary(const float *p)
{
    uint32_t bits;
    memcpy(&bits, p, sizeof(bits));
    return bits == canary;
}

/* The expected output of one row (or axis column) of `n` values read with
 * `step`, checked against the library's output read with the same step. */
static void check_row(const float *x, const float *y, size_t n, size_t step,
                      bool log_form, unsigned flags)
{
    double max = -INFINITY;
    bool nan_row = false;
    for (size_t i = 0; i < n; i++) {
        double v = x[i * step];
        if (isnan(v) || v == INFINITY)
            nan_row = true;
        else if (v > max)
            max = v;
    }
    if (!nan_row && max == -INFINITY) {
        bool zero = flags & SIMDNN_SOFTMAX_MASKED_ROW_ZERO;
        for (size_t i = 0; i < n; i++) {
            float got = y[i * step];
            bool ok =
                zero ? (log_form ? got == -INFINITY : got == 0.0f) : isnan(got);
            if (!ok)
                FAIL("all -inf row: element %zu is %a", i, (double)got);
        }
        return;
    }
    if (nan_row) {
        for (size_t i = 0; i < n; i++)
            if (!isnan(y[i * step]))
                FAIL("NaN/+Inf row: element %zu is %a", i, (double)y[i * step]);
        return;
    }
    long double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += expl((long double)x[i * step] - max);
    long double log_sum = logl(sum);
    for (size_t i = 0; i < n; i++) {
        long double d = (long double)x[i * step] - max;
        float got = y[i * step];
        if (log_form) {
            long double want = d - log_sum;
            /* Beyond the float range (x = -FLT_MAX beside a maximum of
             * FLT_MAX): the rounded result is -Inf, -FLT_MAX accepted. */
            if (isinf((float)want)) {
                if (got != -INFINITY && got != -FLT_MAX)
                    FAIL("log: element %zu want %La (beyond float) got %a", i,
                         want, (double)got);
                continue;
            }
            if (isinf((double)want)) {
                if (got != -INFINITY)
                    FAIL("log: element %zu want -inf got %a", i, (double)got);
                continue;
            }
            long double err = fabsl((long double)got - want);
            if (!(err <= 2e-6L * (1 + fabsl(want))))
                FAIL("log: element %zu n %zu want %La got %a", i, n, want,
                     (double)got);
        } else {
            long double want = expl(d) / sum;
            if (want >= FLT_MIN) {
                long double err = fabsl((long double)got - want) / want;
                if (!(err <= 2e-6L))
                    FAIL("element %zu n %zu want %La got %a (rel %Lg)", i, n,
                         want, (double)got, err);
            } else if (!(got >= 0 && got <= FLT_MIN)) {
                FAIL("tiny element %zu want %La got %a", i, want, (double)got);
            }
        }
    }
}

static void fuzz_rows(fuzz_input *in, bool log_form)
{
    size_t rows = fuzz_size(in, 6), n = fuzz_size(in, 600);
    uint8_t shape = fuzz_u8(in);
    size_t xs = n + (shape & 7), ys = n + ((shape >> 3) & 7);
    if (shape & 0x40) /* a stride that is too small */
        xs = n > 0 ? n - 1 : 0;
    bool in_place = fuzz_u8(in) & 1;
    unsigned flags = fuzz_u8(in);
    flags = (flags & 0xF0) == 0xF0 ? flags : (flags & 1u);

    size_t x_span = rows && n ? (rows - 1) * xs + n : 0;
    size_t y_span = rows && n ? (rows - 1) * ys + n : 0;
    size_t x_alloc = x_span > y_span || !in_place ? x_span : y_span;
    float *x = malloc((x_alloc ? x_alloc : 1) * sizeof(float));
    float *y_own = malloc((y_span ? y_span : 1) * sizeof(float));
    for (size_t i = 0; i < x_alloc; i++)
        x[i] = fuzz_float(in, 1);
    float *x_copy = malloc((x_alloc ? x_alloc : 1) * sizeof(float));
    memcpy(x_copy, x, x_alloc * sizeof(float));
    float *y = in_place ? x : y_own;
    if (!in_place)
        fill_canary(y, y_span);

    bool valid = (flags & ~SIMDNN_SOFTMAX_MASKED_ROW_ZERO) == 0 &&
                 !(rows > 1 && (xs < n || ys < n)) &&
                 !(in_place && rows > 1 && xs != ys && x_span && y_span);
    simdnn_status status =
        log_form ? simdnn_log_softmax_f32(x, y, rows, n, xs, ys, flags)
                 : simdnn_softmax_f32(x, y, rows, n, xs, ys, flags);
    if (!valid) {
        if (status != SIMDNN_INVALID_ARGUMENT)
            FAIL("invalid call returned %d", (int)status);
        if (memcmp(x, x_copy, x_alloc * sizeof(float)) != 0)
            FAIL("invalid in-place call wrote to x");
        for (size_t i = 0; !in_place && i < y_span; i++)
            if (!is_canary(&y[i]))
                FAIL("invalid call wrote y[%zu]", i);
    } else {
        if (status != SIMDNN_SUCCESS)
            FAIL("valid call returned %d (rows %zu n %zu)", (int)status, rows,
                 n);
        for (size_t r = 0; r < rows && n; r++)
            check_row(x_copy + r * xs, y + r * ys, n, 1, log_form, flags);
        for (size_t r = 0; n && !in_place && r + 1 < rows; r++)
            for (size_t i = n; i < ys; i++)
                if (!is_canary(&y[r * ys + i]))
                    FAIL("row padding y[%zu] written", r * ys + i);
        if (in_place)
            for (size_t r = 0; n && r + 1 < rows; r++)
                for (size_t i = n; i < xs; i++)
                    if (memcmp(&x[r * xs + i], &x_copy[r * xs + i], 4))
                        FAIL("in-place padding x[%zu] written", r * xs + i);
    }
    free(x);
    free(x_copy);
    free(y_own);
}

static void fuzz_axis(fuzz_input *in, bool log_form)
{
    size_t outer = fuzz_size(in, 4), axis = fuzz_size(in, 70);
    size_t inner = fuzz_size(in, 40);
    bool in_place = fuzz_u8(in) & 1;
    unsigned flags = fuzz_u8(in) & 1u;
    size_t count = outer * axis * inner;
    float *x = malloc((count ? count : 1) * sizeof(float));
    float *y_own = malloc((count ? count : 1) * sizeof(float));
    for (size_t i = 0; i < count; i++)
        x[i] = fuzz_float(in, 1);
    float *x_copy = malloc((count ? count : 1) * sizeof(float));
    memcpy(x_copy, x, count * sizeof(float));
    float *y = in_place ? x : y_own;
    simdnn_status status =
        log_form ? simdnn_log_softmax_axis_f32(x, y, outer, axis, inner, flags)
                 : simdnn_softmax_axis_f32(x, y, outer, axis, inner, flags);
    if (status != SIMDNN_SUCCESS)
        FAIL("axis call returned %d", (int)status);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner && axis; i++)
            check_row(x_copy + o * axis * inner + i, y + o * axis * inner + i,
                      axis, inner, log_form, flags);
    free(x);
    free(x_copy);
    free(y_own);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    simdnn_set_max_isa((simdnn_isa)(fuzz_u8(&in) % SIMDNN_ISA_COUNT));
    uint8_t op = fuzz_u8(&in);
    switch (op % 4) {
    case 0:
        fuzz_rows(&in, false);
        break;
    case 1:
        fuzz_rows(&in, true);
        break;
    case 2:
        fuzz_axis(&in, false);
        break;
    default:
        fuzz_axis(&in, true);
        break;
    }
    /* NULL pointers with data and overflowing sizes, every time. */
    float one = 0;
    if (simdnn_softmax_f32(NULL, &one, 1, 1, 1, 1, 0) !=
        SIMDNN_INVALID_ARGUMENT)
        FAIL("NULL x accepted");
    if (simdnn_softmax_f32(&one, &one, SIZE_MAX / 2, 3, 3, 3, 0) !=
        SIMDNN_INVALID_ARGUMENT)
        FAIL("overflowing size accepted");
    return 0;
}
