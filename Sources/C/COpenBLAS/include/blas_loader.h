#ifndef BOOKREC_BLAS_LOADER_H
#define BOOKREC_BLAS_LOADER_H

// OpenBLAS, loaded at first use with the fastest kernel set this CPU's features allow.
//
// OpenBLAS picks its kernels once, in the library's constructor, from the CPU's model id, and
// 0.3.21 (Debian 12) falls back to slow generic kernels on models newer than it knows.
// OPENBLAS_CORETYPE overrides that choice, but only if it is in the environment before the
// library loads. So bookrec does not link OpenBLAS: the first call here reads the CPU's
// features (CPUID and XGETBV), sets OPENBLAS_CORETYPE from them unless the user set it, and
// only then dlopens the library. Every BLAS call bookrec makes goes through these functions.

// CBLAS's values, so the calls pass straight through.
typedef enum { BLAS_ROW_MAJOR = 101 } blas_order;
typedef enum { BLAS_NO_TRANS = 111, BLAS_TRANS = 112 } blas_transpose;

/// Where the kernel set came from.
typedef enum {
    /// The user's OPENBLAS_CORETYPE.
    BLAS_KERNELS_FROM_ENVIRONMENT = 0,
    /// bookrec chose it from the CPU's features.
    BLAS_KERNELS_FROM_CPU_FEATURES = 1,
    /// The CPU has no features bookrec maps to a kernel set: OpenBLAS's own detection.
    BLAS_KERNELS_FROM_OPENBLAS = 2,
} blas_kernel_origin;

void blas_sgemm(blas_order order, blas_transpose trans_a, blas_transpose trans_b, int m, int n, int k, float alpha,
                const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
void blas_dgemm(blas_order order, blas_transpose trans_a, blas_transpose trans_b, int m, int n, int k, double alpha,
                const double *a, int lda, const double *b, int ldb, double beta, double *c, int ldc);
void blas_set_threads(int count);

/// LAPACK's Cholesky factor (spotrf) and the inverse from it (spotri) of a symmetric positive
/// definite n × n matrix, in place, on the triangle `uplo` of column-major storage ('L' or 'U');
/// the other triangle is left as it was. Return LAPACK's info: 0 on success.
int lapack_spotrf(char uplo, int n, float *a, int lda);
int lapack_spotri(char uplo, int n, float *a, int lda);

/// The kernel set OpenBLAS runs (its own name, e.g. "Haswell", "SkylakeX", "Zen").
const char *blas_kernel_name(void);
blas_kernel_origin blas_kernel_origin_of_choice(void);

/// The kernel set bookrec chooses for this CPU from its features, or NULL if none fits; the
/// same function the loader uses, exposed so that a benchmark can list what the CPU can run.
const char *blas_kernels_for_cpu_features(void);
/// 1 if this CPU can run OpenBLAS's kernel set `name` (its instructions are all present and
/// enabled by the operating system), else 0. Unknown names give 0.
int blas_cpu_can_run(const char *name);

#endif
