/* tools/bench/qgemm.c - the int8 GEMM against our f32 GEMM (make bench-qgemm).

   Same f32 activations, 1 and 2 threads, one process, interleaved runs: for each shape the
   median of several runs as GOP/s (2 m n k operations a second) for
     f32        infer__gemm_f32 with the best f32 kernel (C = A B only),
     int8       infer__qgemm_f32 with the best int8 kernel: the whole path, i.e. per-row
                quantization of A, the integer GEMM, and the epilogue (dequantize + bias),
     int8 avx2  the same through the AVX2 kernels, where the CPU has them,
   and the ratio int8 / f32 of the median wall times, and the int8 result's error against
   the f32 one (||y8 - y32|| / ||y32||, B quantized per column from the same f32 weights). On a shared machine a run that
   another process preempts is slow for reasons of its own, and the longer f32 runs are
   hit more often; so one-thread rows also give the ratio of median thread CPU times
   (CLOCK_THREAD_CPUTIME_ID: the time the kernels actually ran). B is packed once before
   timing (as session creation would). The GELU row is BERT's fc1 as the model runs it: the
   int8 path with the GELU in its epilogue, against the f32 GEMM followed by the same vector
   GELU over C + bias (issue 9: in the model fc1 had been 2.5x slower than this bench's rows,
   because of the activation). The last shape is one row (batch-1 inference). */
#define INFER_IMPLEMENTATION
#include "../../infer.h"
#include <math.h>
#include <time.h>
#include "../../tests/team.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *t, int n) {
    qsort(t, (size_t)n, sizeof(double), cmp_d);
    return t[n / 2];
}

typedef struct shape {
    int m, n, k;
    int act; /* INFER__ACT_NONE, or a fused activation (with the bias, on both sides) */
} shape;

int main(int argc, char **argv) {
    static const shape shapes[] = {{128, 768, 768, INFER__ACT_NONE}, {128, 3072, 768, INFER__ACT_NONE},
                                   {128, 3072, 768, INFER__ACT_GELU}, {128, 768, 3072, INFER__ACT_NONE},
                                   {1, 3072, 768, INFER__ACT_NONE}};
    double err[sizeof shapes / sizeof shapes[0]];
    int cpu = infer__cpu_features(), s, t, reps = argc > 1 ? atoi(argv[1]) : 21;
    const infer__gemm_isa *fisa = NULL;
    const infer__qgemm_isa *qisa = &infer__qisa_ref, *q2 = NULL;
    const char *fname = "ref", *qname = "ref";
    char load[64] = "?";
    FILE *f = fopen("/proc/loadavg", "r");
#if defined(INFER__HAVE_AVX2)
    if (cpu & INFER__CPU_AVX512) fisa = &infer__isa_avx512, fname = "avx512";
    else if (cpu & INFER__CPU_AVX2) fisa = &infer__isa_avx2, fname = "avx2";
    qisa = infer__qgemm_pick(cpu);
    qname = qisa == &infer__qisa_vnni ? "avx512 vnni" : qisa == &infer__qisa_avx2 ? "avx2" : "ref";
    if ((cpu & INFER__CPU_AVX2) && qisa != &infer__qisa_avx2) q2 = &infer__qisa_avx2;
#endif
    if (reps < 1) reps = 1;
    if (f) {
        if (!fgets(load, sizeof load, f)) load[0] = '?', load[1] = 0;
        load[strcspn(load, " ")] = 0;
        fclose(f);
    }
    printf("# int8 GEMM (%s) vs f32 GEMM (%s); median of %d interleaved runs; %d CPUs, load average %s\n", qname,
           fname, reps, infer__default_threads(), load);
    printf("| M x N x K | threads | f32 GOP/s | int8 GOP/s | int8/f32 | int8 rel. error | int8/f32 by CPU time |%s\n",
           q2 ? " int8 avx2 GOP/s | avx2/f32 |" : "");
    printf("|---|---|---|---|---|---|---|%s\n", q2 ? "---|---|" : "");
    for (s = 0; s < (int)(sizeof shapes / sizeof shapes[0]); s++) {
        int m = shapes[s].m, n = shapes[s].n, k = shapes[s].k;
        infer__act act; /* the fused activation; f32: over C + bias after the GEMM, as the f32 MatMul applies it */
        const infer__act *qact = shapes[s].act != INFER__ACT_NONE ? &act : NULL;
        float *a = (float *)malloc((size_t)m * k * sizeof(float)), *b = (float *)malloc((size_t)k * n * sizeof(float));
        float *c = (float *)malloc((size_t)m * n * sizeof(float)), *c8 = (float *)malloc((size_t)m * n * sizeof(float)), *sb = (float *)malloc((size_t)n * sizeof(float));
        float *bias = (float *)malloc((size_t)n * sizeof(float));
        int8_t *bq = (int8_t *)malloc((size_t)k * n);
        size_t fsb = infer__gemm_f32_scratch(m, n, k, 2), qsb = infer__qgemm_scratch(m, k, 2);
        void *fscratch = malloc(fsb + 1), *qscratch = malloc(qsb), *packed = malloc(infer__qgemm_packed_bytes(qisa, k, n));
        void *packed2 = q2 ? malloc(infer__qgemm_packed_bytes(q2, k, n)) : NULL;
        double ops = 2.0 * m * n * k, *tf = (double *)malloc(sizeof(double) * (size_t)reps);
        double *tq = (double *)malloc(sizeof(double) * (size_t)reps), *t2 = (double *)malloc(sizeof(double) * (size_t)reps);
        double *cf = (double *)malloc(sizeof(double) * (size_t)reps), *cq = (double *)malloc(sizeof(double) * (size_t)reps);
        size_t i;
        memset(&act, 0, sizeof act);
        act.kind = shapes[s].act;
        for (i = 0; i < (size_t)m * k; i++) a[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
        for (i = 0; i < (size_t)k * n; i++) b[i] = (float)((i * 104729) % 1000) * 1e-3f - 0.5f;
        for (i = 0; i < (size_t)n; i++) bias[i] = 0.01f * (float)(i % 7);
        infer__qgemm_quantize_b(k, n, b, n, 1, bq, sb);
        infer__qgemm_pack_b(qisa, k, n, bq, n, 1, packed);
        if (q2) infer__qgemm_pack_b(q2, k, n, bq, n, 1, packed2);
        { /* accuracy: the int8 path against f32 C + bias */
            double e = 0, ref = 0;
            infer__gemm_f32(team_ctx(1), fisa, m, n, k, a, k, 1, b, n, 1, c, 1, fscratch, fsb);
            infer__qgemm_f32(team_ctx(1), qisa, m, n, k, a, k, 1, packed, sb, bias, qact, c8, 1, qscratch, qsb);
            for (i = 0; i < (size_t)m * n; i++) c[i] += bias[i % (size_t)n];
            if (qact) infer__act_apply(qact, c, (int64_t)m * n);
            for (i = 0; i < (size_t)m * n; i++) {
                double y = (double)c[i];
                e += (c8[i] - y) * (c8[i] - y), ref += y * y;
            }
            err[s] = sqrt(e / ref);
        }
        for (t = 1; t <= 2; t++) {
            double rf, rq, r2 = 0;
            int r;
            infer__gemm_f32(team_ctx(t), fisa, m, n, k, a, k, 1, b, n, 1, c, t, fscratch, fsb); /* warm up */
            infer__qgemm_f32(team_ctx(t), qisa, m, n, k, a, k, 1, packed, sb, bias, qact, c, t, qscratch, qsb);
            if (q2) infer__qgemm_f32(team_ctx(t), q2, m, n, k, a, k, 1, packed2, sb, bias, qact, c, t, qscratch, qsb);
            for (r = 0; r < reps; r++) {
                double t0 = now_s(), c0 = cpu_s();
                infer__gemm_f32(team_ctx(t), fisa, m, n, k, a, k, 1, b, n, 1, c, t, fscratch, fsb);
                if (qact) { /* the f32 MatMul's epilogue: bias, then the activation over the whole output */
                    for (i = 0; i < (size_t)m * n; i++) c[i] += bias[i % (size_t)n];
                    infer__act_apply_vec(infer__vec_of(fisa), qact, c, (int64_t)m * n);
                }
                tf[r] = now_s() - t0, cf[r] = cpu_s() - c0;
                t0 = now_s(), c0 = cpu_s();
                infer__qgemm_f32(team_ctx(t), qisa, m, n, k, a, k, 1, packed, sb, bias, qact, c, t, qscratch, qsb);
                tq[r] = now_s() - t0, cq[r] = cpu_s() - c0;
                if (q2) {
                    t0 = now_s();
                    infer__qgemm_f32(team_ctx(t), q2, m, n, k, a, k, 1, packed2, sb, bias, qact, c, t, qscratch, qsb);
                    t2[r] = now_s() - t0;
                }
            }
            rf = ops / median(tf, reps), rq = ops / median(tq, reps);
            if (q2) r2 = ops / median(t2, reps);
            printf("| %d x %d x %d%s | %d | %.1f | %.1f | %.2f |", m, n, k, qact ? " GELU" : "", t, rf * 1e-9, rq * 1e-9,
                   rq / rf);
            if (t == 1) printf(" %.1e |", err[s]);
            else printf(" |");
            if (t == 1) printf(" %.2f |", median(cf, reps) / median(cq, reps));
            else printf(" |");
            if (q2) printf(" %.1f | %.2f |", r2 * 1e-9, r2 / rf);
            printf("\n");
            fflush(stdout);
        }
        free(a), free(b), free(c), free(c8), free(sb), free(bias), free(bq), free(fscratch), free(qscratch), free(packed);
        free(packed2), free(tf), free(tq), free(t2), free(cf), free(cq);
    }
    return 0;
}
