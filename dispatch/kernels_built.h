/*
 * Internal: which kernels this build holds. CMake defines
 * SIMDNN_HAVE_<FAMILY>_<ISA>=1 for every kernels/<family>/<isa>.c that
 * exists; this header makes every other one 0, so that the dispatch state
 * and the family front-ends read the same facts from one place.
 */
#ifndef SIMDNN_KERNELS_BUILT_H
#define SIMDNN_KERNELS_BUILT_H

#ifndef SIMDNN_HAVE_SOFTMAX_AVX2
#define SIMDNN_HAVE_SOFTMAX_AVX2 0
#endif
#ifndef SIMDNN_HAVE_SOFTMAX_AVX512
#define SIMDNN_HAVE_SOFTMAX_AVX512 0
#endif
#ifndef SIMDNN_HAVE_SOFTMAX_NEON
#define SIMDNN_HAVE_SOFTMAX_NEON 0
#endif
#ifndef SIMDNN_HAVE_POSENC_AVX2
#define SIMDNN_HAVE_POSENC_AVX2 0
#endif
#ifndef SIMDNN_HAVE_POSENC_AVX512
#define SIMDNN_HAVE_POSENC_AVX512 0
#endif
#ifndef SIMDNN_HAVE_POSENC_NEON
#define SIMDNN_HAVE_POSENC_NEON 0
#endif
#ifndef SIMDNN_HAVE_BATCHNORM_AVX2
#define SIMDNN_HAVE_BATCHNORM_AVX2 0
#endif
#ifndef SIMDNN_HAVE_BATCHNORM_AVX512
#define SIMDNN_HAVE_BATCHNORM_AVX512 0
#endif
#ifndef SIMDNN_HAVE_BATCHNORM_NEON
#define SIMDNN_HAVE_BATCHNORM_NEON 0
#endif

#endif /* SIMDNN_KERNELS_BUILT_H */
