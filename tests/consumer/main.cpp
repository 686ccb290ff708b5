// A consumer of an installed simdnn, in C++: the same header, included
// from C++ (extern "C" linkage, no C-only constructs), exercised on
// std::vector buffers and checked against naive computations.
#include <cmath>
#include <cstdio>
#include <vector>

#include <simdnn/simdnn.h>

namespace
{

int failures = 0;

void check(bool ok, const char *what)
{
    if (!ok) {
        std::printf("FAIL: %s\n", what);
        ++failures;
    }
}

} // namespace

int main()
{
    check(simdnn_version() == SIMDNN_VERSION, "header and library version");
    check(simdnn_set_max_isa(SIMDNN_ISA_SCALAR) == SIMDNN_SUCCESS, "cap");
    check(simdnn_active_isa() == SIMDNN_ISA_SCALAR, "scalar under the cap");
    check(simdnn_set_max_isa(SIMDNN_ISA_NEON) == SIMDNN_SUCCESS, "uncap");

#ifdef CONSUMER_HAVE_SOFTMAX
    {
        const size_t rows = 3, n = 7;
        std::vector<float> x(rows * n), y(rows * n);
        for (size_t i = 0; i < x.size(); ++i)
            x[i] = static_cast<float>(std::sin(0.7 * i) * 4.0);
        check(simdnn_log_softmax_f32(x.data(), y.data(), rows, n, n, n, 0) ==
                  SIMDNN_SUCCESS,
              "log_softmax status");
        for (size_t r = 0; r < rows; ++r) {
            double m = x[r * n];
            for (size_t i = 1; i < n; ++i)
                m = std::fmax(m, x[r * n + i]);
            double sum = 0;
            for (size_t i = 0; i < n; ++i)
                sum += std::exp(x[r * n + i] - m);
            for (size_t i = 0; i < n; ++i) {
                double want = x[r * n + i] - m - std::log(sum);
                check(std::fabs(y[r * n + i] - want) <=
                          2e-6 * (1 + std::fabs(want)),
                      "log_softmax value");
            }
        }
    }
#endif
#ifdef CONSUMER_HAVE_POSENC
    {
        // RoPE, rotate-half style, 2 tokens x 1 head x 4 dims at position 5.
        std::vector<float> q = {1, 2, 3, 4, -1, 0.5f, 2, -3};
        std::vector<float> orig = q;
        check(simdnn_rope_f32(q.data(), 2, 1, 4, 4, 5, 10000.0,
                              SIMDNN_ROPE_HALF) == SIMDNN_SUCCESS,
              "rope status");
        for (int t = 0; t < 2; ++t)
            for (int k = 0; k < 2; ++k) {
                double a = (5 + t) * std::pow(10000.0, -2.0 * k / 4.0);
                double u = orig[t * 4 + k], v = orig[t * 4 + k + 2];
                check(std::fabs(q[t * 4 + k] -
                                (u * std::cos(a) - v * std::sin(a))) <= 1e-6,
                      "rope u");
                check(std::fabs(q[t * 4 + k + 2] -
                                (u * std::sin(a) + v * std::cos(a))) <= 1e-6,
                      "rope v");
            }
    }
#endif
#ifdef CONSUMER_HAVE_BATCHNORM
    {
        // Training forward on NCHW 2 x 1 x 2: the batch statistics.
        std::vector<float> x = {1, 3, 5, 7}, y(4);
        float mean = 0, var = 0;
        check(simdnn_batchnorm_training_f32(x.data(), y.data(), 2, 1, 2,
                                            SIMDNN_NCHW, nullptr, nullptr,
                                            1e-5f, 0.9f, &mean, &var, nullptr,
                                            nullptr, 0) == SIMDNN_SUCCESS,
              "batchnorm training status");
        check(std::fabs(mean - 4.0) <= 4e-6 && std::fabs(var - 5.0) <= 5e-6,
              "batch mean 4, variance 5");
    }
#endif
    std::printf("consumer (C++): %s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
