/*
 * The floor loops of floor.h. Each is the simplest loop with its traffic:
 * four independent vectors per iteration so that neither the add latency
 * nor the loop overhead limits it, loads unaligned (the buffers are 64-byte
 * aligned anyway), streaming stores aligned by a scalar head.
 */
#include "floor.h"

#include <stdint.h>

#if defined(__x86_64__) || defined(_M_X64)
#define FLOOR_X86 1
#include <immintrin.h>
#else
#define FLOOR_X86 0
#endif

void floor_traffic(floor_mode mode, size_t n, double *bytes_read,
                   double *bytes_written)
{
    double bytes = (double)n * sizeof(float);
    static const double reads[] = {0, 1, 1, 1, 2, 4};
    static const double writes[] = {1, 0, 1, 1, 1, 1};
    *bytes_read = reads[mode] * bytes;
    *bytes_written = writes[mode] * bytes;
}

/* Portable loops: plain C the compiler vectorizes; no streaming stores. */
static float sum_portable(const float *a, size_t n)
{
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i];
        s1 += a[i + 1];
        s2 += a[i + 2];
        s3 += a[i + 3];
    }
    for (; i < n; i++)
        s0 += a[i];
    return (s0 + s1) + (s2 + s3);
}

static float run_portable(floor_mode mode, const float *a, const float *b,
                          float *out, size_t n)
{
    float keep = 0;
    switch (mode) {
    case FLOOR_WRITE:
        for (size_t i = 0; i < n; i++)
            out[i] = 0.5f;
        return out[0];
    case FLOOR_READ:
        return sum_portable(a, n);
    case FLOOR_COPY:
        for (size_t i = 0; i < n; i++)
            out[i] = a[i];
        return out[0];
    case FLOOR_RMW:
        for (size_t i = 0; i < n; i++)
            out[i] = a[i] + 0x1p-24f;
        return out[0];
    case FLOOR_READ_COPY:
        keep = sum_portable(a, n);
        for (size_t i = 0; i < n; i++)
            out[i] = a[i];
        return keep + out[0];
    case FLOOR_READ2_COMBINE2:
        keep = sum_portable(a, n) + sum_portable(b, n);
        for (size_t i = 0; i < n; i++)
            out[i] = a[i] + b[i];
        return keep + out[0];
    }
    return keep;
}

#if FLOOR_X86
#define AVX2 __attribute__((target("avx2")))

AVX2 static float sum_avx2(const float *a, size_t n)
{
    __m256 vsum0 = _mm256_setzero_ps(), vsum1 = _mm256_setzero_ps();
    __m256 vsum2 = _mm256_setzero_ps(), vsum3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        vsum0 = _mm256_add_ps(vsum0, _mm256_loadu_ps(a + i));
        vsum1 = _mm256_add_ps(vsum1, _mm256_loadu_ps(a + i + 8));
        vsum2 = _mm256_add_ps(vsum2, _mm256_loadu_ps(a + i + 16));
        vsum3 = _mm256_add_ps(vsum3, _mm256_loadu_ps(a + i + 24));
    }
    vsum0 = _mm256_add_ps(_mm256_add_ps(vsum0, vsum1),
                          _mm256_add_ps(vsum2, vsum3));
    float lanes[8];
    _mm256_storeu_ps(lanes, vsum0);
    float s = 0;
    for (int k = 0; k < 8; k++)
        s += lanes[k];
    for (; i < n; i++)
        s += a[i];
    return s;
}

/* Elements before out is 32-byte aligned (streaming stores need it). */
static size_t head_to_align(const float *out, size_t n)
{
    size_t mis = ((uintptr_t)out & 31u) / sizeof(float);
    size_t head = mis ? 8 - mis : 0;
    return head < n ? head : n;
}

/* out[i] = a[i] + (b ? b[i] : 0) + c, a NULL meaning 0: every store-side
 * mode is an instance of this one loop. */
AVX2 static void store_avx2(const float *a, const float *b, float c,
                            float *out, size_t n, int nt)
{
    size_t i = 0;
    if (nt) {
        for (size_t head = head_to_align(out, n); i < head; i++)
            out[i] = (a ? a[i] : 0) + (b ? b[i] : 0) + c;
    }
    __m256 vc = _mm256_set1_ps(c);
    for (; i + 32 <= n; i += 32) {
        __m256 v0 = vc, v1 = vc, v2 = vc, v3 = vc;
        if (a) {
            v0 = _mm256_add_ps(v0, _mm256_loadu_ps(a + i));
            v1 = _mm256_add_ps(v1, _mm256_loadu_ps(a + i + 8));
            v2 = _mm256_add_ps(v2, _mm256_loadu_ps(a + i + 16));
            v3 = _mm256_add_ps(v3, _mm256_loadu_ps(a + i + 24));
        }
        if (b) {
            v0 = _mm256_add_ps(v0, _mm256_loadu_ps(b + i));
            v1 = _mm256_add_ps(v1, _mm256_loadu_ps(b + i + 8));
            v2 = _mm256_add_ps(v2, _mm256_loadu_ps(b + i + 16));
            v3 = _mm256_add_ps(v3, _mm256_loadu_ps(b + i + 24));
        }
        if (nt) {
            _mm256_stream_ps(out + i, v0);
            _mm256_stream_ps(out + i + 8, v1);
            _mm256_stream_ps(out + i + 16, v2);
            _mm256_stream_ps(out + i + 24, v3);
        } else {
            _mm256_storeu_ps(out + i, v0);
            _mm256_storeu_ps(out + i + 8, v1);
            _mm256_storeu_ps(out + i + 16, v2);
            _mm256_storeu_ps(out + i + 24, v3);
        }
    }
    for (; i < n; i++)
        out[i] = (a ? a[i] : 0) + (b ? b[i] : 0) + c;
    if (nt)
        _mm_sfence();
}

AVX2 static float run_avx2(floor_mode mode, const float *a, const float *b,
                           float *out, size_t n, int nt)
{
    float keep = 0;
    switch (mode) {
    case FLOOR_WRITE:
        store_avx2(NULL, NULL, 0.5f, out, n, nt);
        return 0.5f;
    case FLOOR_READ:
        return sum_avx2(a, n);
    case FLOOR_COPY:
        store_avx2(a, NULL, 0.0f, out, n, nt);
        return 0;
    case FLOOR_RMW:
        store_avx2(a, NULL, 0x1p-24f, out, n, nt);
        return 0;
    case FLOOR_READ_COPY:
        keep = sum_avx2(a, n);
        store_avx2(a, NULL, 0.0f, out, n, nt);
        return keep;
    case FLOOR_READ2_COMBINE2:
        keep = sum_avx2(a, n) + sum_avx2(b, n);
        store_avx2(a, b, 0.0f, out, n, nt);
        return keep;
    }
    return keep;
}
#endif

static int have_avx2(void)
{
#if FLOOR_X86
    return __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

float floor_run(floor_mode mode, const float *a, const float *b, float *out,
                size_t n, int nt)
{
    if (n == 0)
        return 0;
#if FLOOR_X86
    if (have_avx2())
        return run_avx2(mode, a, b, out, n, nt);
#endif
    (void)nt; /* the portable loops have no streaming stores */
    return run_portable(mode, a, b, out, n);
}

int floor_nt_available(void) { return have_avx2(); }

const char *floor_impl_name(void)
{
    return have_avx2() ? "avx2 (streaming stores: _mm256_stream_ps)"
                       : "portable C (no streaming stores)";
}
