#define _GNU_SOURCE
#include "blas_loader.h"

#include <cpuid.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*sgemm_fn)(blas_order, blas_transpose, blas_transpose, int, int, int, float, const float *, int, const float *, int,
                         float, float *, int);
typedef void (*dgemm_fn)(blas_order, blas_transpose, blas_transpose, int, int, int, double, const double *, int, const double *, int,
                         double, double *, int);
typedef void (*set_threads_fn)(int);
typedef char *(*corename_fn)(void);
typedef void (*potr_fn)(const char *, const int *, float *, const int *, int *);

static struct {
    sgemm_fn sgemm;
    dgemm_fn dgemm;
    set_threads_fn set_threads;
    corename_fn corename;
    potr_fn spotrf, spotri;
    blas_kernel_origin origin;
} openblas;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

// The instruction sets OpenBLAS's x86-64 kernel sets need.
typedef struct {
    int sse3, avx, fma, avx2, avx512f, avx512dq, avx512bw, avx512vl, avx512bf16, amd;
} cpu_features;

static cpu_features read_cpu_features(void) {
    cpu_features f = {0};
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return f;
    unsigned int max_leaf = eax;
    f.amd = ebx == 0x68747541 || ebx == 0x6f677948;  // "AuthenticAMD", "HygonGenuine"
    __get_cpuid(1, &eax, &ebx, &ecx, &edx);
    f.sse3 = (ecx >> 0) & 1;
    int osxsave = (ecx >> 27) & 1;
    int avx_bit = (ecx >> 28) & 1;
    int fma_bit = (ecx >> 12) & 1;
    // The operating system must save the registers too: XCR0 bits 1-2 (SSE, AVX state) and
    // 5-7 (opmask, upper ZMM) for AVX-512.
    unsigned long long xcr0 = 0;
    if (osxsave) {
        unsigned int lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        xcr0 = ((unsigned long long)hi << 32) | lo;
    }
    int ymm_enabled = (xcr0 & 0x6) == 0x6;
    int zmm_enabled = (xcr0 & 0xe6) == 0xe6;
    f.avx = avx_bit && ymm_enabled;
    f.fma = fma_bit && ymm_enabled;
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, eax, ebx, ecx, edx);
        f.avx2 = ((ebx >> 5) & 1) && ymm_enabled;
        f.avx512f = ((ebx >> 16) & 1) && zmm_enabled;
        f.avx512dq = ((ebx >> 17) & 1) && zmm_enabled;
        f.avx512bw = ((ebx >> 30) & 1) && zmm_enabled;
        f.avx512vl = ((ebx >> 31) & 1) && zmm_enabled;
        __cpuid_count(7, 1, eax, ebx, ecx, edx);
        f.avx512bf16 = ((eax >> 5) & 1) && zmm_enabled;
    }
    return f;
}

static int has_avx512(cpu_features f) { return f.avx512f && f.avx512dq && f.avx512bw && f.avx512vl; }

const char *blas_kernels_for_cpu_features(void) {
    cpu_features f = read_cpu_features();
    // AVX-512 (Intel since Skylake-SP, AMD since Zen 4): OpenBLAS's AVX-512 sgemm kernels.
    if (has_avx512(f)) return "SkylakeX";
    // AVX2 with FMA: the same microkernels, blocked for each vendor's caches.
    if (f.avx2 && f.fma) return f.amd ? "Zen" : "Haswell";
    if (f.avx) return "Sandybridge";
    return NULL;
}

int blas_cpu_can_run(const char *name) {
    cpu_features f = read_cpu_features();
    if (!name) return 0;
    if (!strcmp(name, "Prescott") || !strcmp(name, "Core2") || !strcmp(name, "Nehalem")) return f.sse3;
    if (!strcmp(name, "Sandybridge")) return f.avx;
    if (!strcmp(name, "Haswell") || !strcmp(name, "Zen")) return f.avx2 && f.fma;
    if (!strcmp(name, "SkylakeX")) return has_avx512(f);
    if (!strcmp(name, "Cooperlake")) return has_avx512(f) && f.avx512bf16;
    return 0;
}

static void *symbol(void *library, const char *name) {
    void *address = dlsym(library, name);
    if (!address) {
        fprintf(stderr, "bookrec: OpenBLAS lacks %s: %s\n", name, dlerror());
        exit(70);
    }
    return address;
}

static void load(void) {
    const char *chosen = getenv("OPENBLAS_CORETYPE");
    if (chosen && *chosen) {
        openblas.origin = BLAS_KERNELS_FROM_ENVIRONMENT;
    } else if ((chosen = blas_kernels_for_cpu_features())) {
        setenv("OPENBLAS_CORETYPE", chosen, 1);
        openblas.origin = BLAS_KERNELS_FROM_CPU_FEATURES;
    } else {
        openblas.origin = BLAS_KERNELS_FROM_OPENBLAS;
    }
    void *library = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        fprintf(stderr, "bookrec: cannot load OpenBLAS (Debian: apt-get install libopenblas0): %s\n", dlerror());
        exit(70);
    }
    openblas.sgemm = (sgemm_fn)symbol(library, "cblas_sgemm");
    openblas.dgemm = (dgemm_fn)symbol(library, "cblas_dgemm");
    openblas.set_threads = (set_threads_fn)symbol(library, "openblas_set_num_threads");
    openblas.corename = (corename_fn)symbol(library, "openblas_get_corename");
    openblas.spotrf = (potr_fn)symbol(library, "spotrf_");
    openblas.spotri = (potr_fn)symbol(library, "spotri_");
}

static inline void ensure_loaded(void) { pthread_once(&load_once, load); }

void blas_sgemm(blas_order order, blas_transpose trans_a, blas_transpose trans_b, int m, int n, int k, float alpha,
                const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    ensure_loaded();
    openblas.sgemm(order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void blas_dgemm(blas_order order, blas_transpose trans_a, blas_transpose trans_b, int m, int n, int k, double alpha,
                const double *a, int lda, const double *b, int ldb, double beta, double *c, int ldc) {
    ensure_loaded();
    openblas.dgemm(order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

int lapack_spotrf(char uplo, int n, float *a, int lda) {
    ensure_loaded();
    int info = 0;
    openblas.spotrf(&uplo, &n, a, &lda, &info);
    return info;
}

int lapack_spotri(char uplo, int n, float *a, int lda) {
    ensure_loaded();
    int info = 0;
    openblas.spotri(&uplo, &n, a, &lda, &info);
    return info;
}

void blas_set_threads(int count) {
    ensure_loaded();
    openblas.set_threads(count);
}

const char *blas_kernel_name(void) {
    ensure_loaded();
    return openblas.corename();
}

blas_kernel_origin blas_kernel_origin_of_choice(void) {
    ensure_loaded();
    return openblas.origin;
}
