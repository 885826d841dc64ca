/* tools/bench/gemm.c - our f32 GEMM against OpenBLAS cblas_sgemm (make bench-gemm).

   Same inputs, same thread count (1 and 2), one process: for each shape it reports the
   median of several runs as GFLOP/s and as a percentage of the single-core FMA peak,
   measured first with a loop of independent FMAs (the header also gives the micro-kernel's
   own rate in L1, the ceiling of a whole GEMM). Ours is the GEMM that MatMul and Gemm
   run (section 9 of infer.h, the variant session creation would pick on this CPU). */
#define INFER_IMPLEMENTATION
#include "../../infer.h"
#include <cblas.h>
#include <time.h>
#include <unistd.h>
#include "../../tests/team.h"

char *openblas_get_corename(void);

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#if defined(INFER__HAVE_AVX2)
/* 12 independent FMA chains per iteration: flops per second of one core */
__attribute__((target("avx512f"))) static double peak_avx512(long iters) {
    __m512 r[12], x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
    float out[16];
    long i;
    int j;
    double t;
    for (j = 0; j < 12; j++) r[j] = _mm512_set1_ps((float)j);
    t = now_s();
    for (i = 0; i < iters; i++) {
        r[0] = _mm512_fmadd_ps(r[0], x, y), r[1] = _mm512_fmadd_ps(r[1], x, y), r[2] = _mm512_fmadd_ps(r[2], x, y);
        r[3] = _mm512_fmadd_ps(r[3], x, y), r[4] = _mm512_fmadd_ps(r[4], x, y), r[5] = _mm512_fmadd_ps(r[5], x, y);
        r[6] = _mm512_fmadd_ps(r[6], x, y), r[7] = _mm512_fmadd_ps(r[7], x, y), r[8] = _mm512_fmadd_ps(r[8], x, y);
        r[9] = _mm512_fmadd_ps(r[9], x, y), r[10] = _mm512_fmadd_ps(r[10], x, y), r[11] = _mm512_fmadd_ps(r[11], x, y);
    }
    t = now_s() - t;
    for (j = 1; j < 12; j++) r[0] = _mm512_add_ps(r[0], r[j]);
    _mm512_storeu_ps(out, r[0]);
    if (out[0] == 12345.0f) printf(" "); /* keep the loop */
    return 12.0 * 32.0 * (double)iters / t;
}
__attribute__((target("avx2,fma"))) static double peak_avx2(long iters) {
    __m256 r[12], x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    float out[8];
    long i;
    int j;
    double t;
    for (j = 0; j < 12; j++) r[j] = _mm256_set1_ps((float)j);
    t = now_s();
    for (i = 0; i < iters; i++) {
        r[0] = _mm256_fmadd_ps(r[0], x, y), r[1] = _mm256_fmadd_ps(r[1], x, y), r[2] = _mm256_fmadd_ps(r[2], x, y);
        r[3] = _mm256_fmadd_ps(r[3], x, y), r[4] = _mm256_fmadd_ps(r[4], x, y), r[5] = _mm256_fmadd_ps(r[5], x, y);
        r[6] = _mm256_fmadd_ps(r[6], x, y), r[7] = _mm256_fmadd_ps(r[7], x, y), r[8] = _mm256_fmadd_ps(r[8], x, y);
        r[9] = _mm256_fmadd_ps(r[9], x, y), r[10] = _mm256_fmadd_ps(r[10], x, y), r[11] = _mm256_fmadd_ps(r[11], x, y);
    }
    t = now_s() - t;
    for (j = 1; j < 12; j++) r[0] = _mm256_add_ps(r[0], r[j]);
    _mm256_storeu_ps(out, r[0]);
    if (out[0] == 12345.0f) printf(" ");
    return 12.0 * 16.0 * (double)iters / t;
}
#endif

static double peak_flops(int cpu) {
    double best = 0;
    int rep;
    for (rep = 0; rep < 100; rep++) { /* short bursts, the best one: other load only lowers it */
#if defined(INFER__HAVE_AVX2)
        double p = 0;
        if (cpu & INFER__CPU_AVX512) p = peak_avx512(500000);
        if (cpu & INFER__CPU_AVX2) p = INFER__MAX(p, peak_avx2(500000));
        best = INFER__MAX(best, p);
#else
        (void)cpu;
#endif
    }
    return best;
}

/* 64-byte aligned, as the runtime's tensors are (malloc's large blocks start 16 bytes into
   a page: every row of C and of B would straddle cache lines, for both libraries) */
static void *aligned(size_t bytes) {
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes)) {
        fprintf(stderr, "bench_gemm: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

typedef struct shape {
    int m, n, k;
} shape;

/* The full-tile micro-kernel alone, its A and B panels and C in L1 (kc 256): the
   ceiling of a whole GEMM, which also packs and waits on memory. Best of 20 bursts. */
static double kernel_flops(const infer__gemm_isa *isa) {
    const int64_t kc = 256;
    float *a = (float *)aligned(sizeof(float) * INFER__GEMM_MR_MAX * kc);
    float *b = (float *)aligned(sizeof(float) * INFER__GEMM_NR_MAX * kc);
    float c[INFER__GEMM_MR_MAX * INFER__GEMM_NR_MAX] = {0};
    double best = 0;
    int64_t i, rep, calls = 2000;
    for (i = 0; i < INFER__GEMM_MR_MAX * kc; i++) a[i] = (float)(i % 7) * 1e-3f;
    for (i = 0; i < INFER__GEMM_NR_MAX * kc; i++) b[i] = (float)(i % 5) * 1e-3f;
    for (rep = 0; rep < 20; rep++) {
        double t = now_s();
        for (i = 0; i < calls; i++) isa->ukr(kc, a, b, c, isa->nr, 1);
        t = now_s() - t;
        best = INFER__MAX(best, 2.0 * isa->mr * isa->nr * kc * calls / t);
    }
    if (c[0] == 12345.0f) printf(" "); /* keep the calls */
    free(a), free(b);
    return best;
}

int main(int argc, char **argv) {
    static const shape listed[] = {{256, 256, 256},   {512, 512, 512}, {1024, 1024, 1024}, {2048, 2048, 2048},
                                   {1, 4096, 4096},   {128, 768, 768}, {128, 3072, 768},  {3136, 64, 576}};
    shape shapes[16];
    int cpu = infer__cpu_features(), s, t, reps = argc > 1 ? atoi(argv[1]) : 7, n_shapes = 0;
    const infer__gemm_isa *isa = NULL;
    const char *isa_name = "ref";
    double peak;
#if defined(INFER__HAVE_AVX2)
    if (cpu & INFER__CPU_AVX512) isa = &infer__isa_avx512, isa_name = "avx512";
    else if (cpu & INFER__CPU_AVX2) isa = &infer__isa_avx2, isa_name = "avx2";
#endif
    for (s = 2; s < argc && n_shapes < 16; s++) { /* shapes from the command line: MxNxK */
        shape x;
        if (sscanf(argv[s], "%dx%dx%d", &x.m, &x.n, &x.k) != 3 || x.m < 1 || x.n < 1 || x.k < 1 || x.m > 16384 ||
            x.n > 16384 || x.k > 16384) {
            fprintf(stderr, "bench_gemm: shape '%s': expected MxNxK, each 1 to 16384\n", argv[s]);
            return 2;
        }
        shapes[n_shapes++] = x;
    }
    if (!n_shapes)
        for (s = 0; s < (int)(sizeof listed / sizeof listed[0]); s++) shapes[n_shapes++] = listed[s];
    if (reps < 1) reps = 1;
    /* OpenBLAS reads these when it loads, so set them and start again: its idle threads
       sleep after a call (timeout 2^4 cycles) instead of spinning for about 0.1 s on the
       core our worker needs in the next, interleaved, call (our 2-thread 1024^3 had measured
       0.55-0.68 of OpenBLAS's with them spinning, 0.99-1.06 without); and OpenBLAS 0.3.21,
       which falls back to its generic Prescott kernels on CPUs newer than it knows (Emerald
       Rapids), gets the SIMD kernels of the features this CPU has */
    if (!getenv("OPENBLAS_THREAD_TIMEOUT")) {
        setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1);
#if defined(INFER__HAVE_AVX2)
        if (!getenv("OPENBLAS_CORETYPE") && !strcmp(openblas_get_corename(), "Prescott") && (cpu & INFER__CPU_AVX2))
            setenv("OPENBLAS_CORETYPE", cpu & INFER__CPU_AVX512 ? "SkylakeX" : "Haswell", 1);
#endif
        execv("/proc/self/exe", argv);
    }
    peak = peak_flops(cpu);
    {
        char load[64] = "?";
        FILE *f = fopen("/proc/loadavg", "r");
        if (f) {
            if (!fgets(load, sizeof load, f)) load[0] = '?', load[1] = 0;
            load[strcspn(load, " ")] = 0;
            fclose(f);
        }
        printf("# f32 GEMM, ours (%s) vs %s (OPENBLAS_THREAD_TIMEOUT=%s); median of %d runs; single-core FMA peak "
               "%.1f GFLOP/s; %d CPUs, load average %s\n",
               isa_name, openblas_get_config(), getenv("OPENBLAS_THREAD_TIMEOUT") ? getenv("OPENBLAS_THREAD_TIMEOUT") : "-",
               reps, peak * 1e-9, infer__default_threads(), load);
        if (isa) {
            double kf = kernel_flops(isa);
            printf("# the %d x %d micro-kernel alone, in L1: %.1f GFLOP/s, %.0f%% of the peak\n", isa->mr, isa->nr,
                   kf * 1e-9, 100.0 * kf / peak);
        }
    }
    printf("| M x N x K | threads | ours GFLOP/s | ours %% peak | OpenBLAS GFLOP/s | OpenBLAS %% peak | ours/OpenBLAS |\n");
    printf("|---|---|---|---|---|---|---|\n");
    for (s = 0; s < n_shapes; s++) {
        int m = shapes[s].m, n = shapes[s].n, k = shapes[s].k;
        float *a = (float *)aligned(
                  (size_t)m * k * sizeof(float)),
              *b = (float *)aligned((size_t)k * n * sizeof(float));
        float *c = (float *)aligned((size_t)m * n * sizeof(float));
        size_t sb = infer__gemm_f32_scratch(m, n, k, 2);
        void *scratch = malloc(sb + 1);
        double flops = 2.0 * m * n * k, *tm = (double *)malloc(sizeof(double) * (size_t)reps);
        double *tb = (double *)malloc(sizeof(double) * (size_t)reps);
        size_t i;
        for (i = 0; i < (size_t)m * k; i++) a[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
        for (i = 0; i < (size_t)k * n; i++) b[i] = (float)((i * 104729) % 1000) * 1e-3f - 0.5f;
        for (t = 1; t <= 2; t++) {
            double ours, blas;
            int r;
            openblas_set_num_threads(t);
            infer__gemm_f32(team_ctx(t), isa, m, n, k, a, k, 1, b, n, 1, c, t, scratch, sb); /* warm up */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
            for (r = 0; r < reps; r++) { /* interleaved, so both see the same machine */
                double t0;
                /* each timed call right after an untimed one, so that it finds its library's
                   threads awake, as in a run of several ops: a worker asleep since the other
                   library's call took 0.2 ms or more to wake on a VM, longer than a 128-row GEMM */
                infer__gemm_f32(team_ctx(t), isa, m, n, k, a, k, 1, b, n, 1, c, t, scratch, sb);
                t0 = now_s();
                infer__gemm_f32(team_ctx(t), isa, m, n, k, a, k, 1, b, n, 1, c, t, scratch, sb);
                tm[r] = now_s() - t0;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
                t0 = now_s();
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
                tb[r] = now_s() - t0;
            }
            qsort(tm, (size_t)reps, sizeof(double), cmp_d);
            qsort(tb, (size_t)reps, sizeof(double), cmp_d);
            ours = flops / tm[reps / 2];
            blas = flops / tb[reps / 2];
            printf("| %d x %d x %d | %d | %.1f | %.0f%% | %.1f | %.0f%% | %.2f |\n", m, n, k, t, ours * 1e-9,
                   100.0 * ours / peak, blas * 1e-9, 100.0 * blas / peak, ours / blas);
            fflush(stdout);
        }
        free(a), free(b), free(c), free(scratch), free(tm), free(tb);
    }
    return 0;
}
