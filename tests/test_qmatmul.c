/* tests/test_qmatmul.c - MatMul/Gemm on int8 weights (issue 9): the DequantizeLinear form
   infer-convert --weights int8 writes (s8 W, f32 scale per output column, no zero point)
   runs the int8 GEMM where the CPU has AVX2 or AVX-512 VNNI, and the reference path
   (force_reference: dequantize + f32 MatMul) elsewhere.

   Models come from the builder API: X -> MatMul/Gemm(X, DequantizeLinear(Wq, scale), bias)
   with a fused Relu. The int8 output is checked against the reference session's within
   the bound of tests/test_qgemm.c: the weights are exact (s8 x scale on both paths), so
   the error is the activations' rounding alone, at most half a step of row i's scale
   sa = (max(0, max x) - min(0, min x)) / 127 (AVX2's 7 bits; VNNI's 8 bits are finer) per
   product: |y - y_ref| <= sa * sum_p |w[p][j]| (twice the bound, for the f32 sums' own
   rounding) + 1e-5 (sum_p |x w| + |bias|). Shapes odd and even, 1 and 2 threads; the kernel
   each session reports; a zero point that is not zero, or scales on the wrong axis, keep
   the f32 path; the folded f32 weight does not stay resident beside the packed one. */
#include "test.h"

static int cpu_int8(void) { /* whether the int8 path is the default here */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static uint32_t rng = 12345;
static float frand(void) { /* [-1, 1) */
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffffff) / 8388608.0f - 1.0f;
}

typedef struct qcase {
    int gemm;         /* 0: MatMul with X [1][m][k] and B [k][n]; 1: Gemm transB, B [n][k] */
    int64_t m, k, n;
    int zp;           /* 0: no zero point; 1: all zero; 2: one nonzero (the f32 path) */
    int bad_axis;     /* 1: scales on the K axis (the f32 path) */
    int gelu;         /* 1: a fused Gelu instead of Relu (BERT's fc1; the int8 epilogue applies it) */
} qcase;

/* Builds the model, loads it; weights and bias random, scales from each column's max. */
static infer_model *build(const qcase *q, void **file) {
    infer_builder *b = NULL;
    infer_model *m = NULL;
    int64_t xd[3] = {1, q->m, q->k}, wd[2], sd[1] = {q->bad_axis ? q->k : q->n};
    int8_t *w = (int8_t *)malloc((size_t)(q->k * q->n)), *zp = (int8_t *)calloc((size_t)sd[0], 1);
    float *sc = (float *)malloc((size_t)sd[0] * 4), *bias = (float *)malloc((size_t)q->n * 4);
    infer_tensor t;
    infer_attr at[3];
    size_t bytes = 0, i;
    const char *dq_in[3] = {"Wq", "scale", "zp"}, *dq_out[1] = {"W"}, *mm_in[3] = {"X", "W", "bias"}, *out[1] = {"Y"};
    int64_t j;
    for (i = 0; i < (size_t)(q->k * q->n); i++) w[i] = (int8_t)(int)(frand() * 127.5f);
    for (j = 0; j < sd[0]; j++) sc[j] = 0.001f + 0.01f * (float)(j % 7);
    for (j = 0; j < q->n; j++) bias[j] = frand() * 0.5f;
    if (q->zp == 2) zp[sd[0] / 2] = 3;
    if (q->gemm) wd[0] = q->n, wd[1] = q->k;
    else wd[0] = q->k, wd[1] = q->n;
    *file = NULL;
    if (infer_builder_create(NULL, &b)) goto done;
    if (infer_builder_add_input(b, "X", INFER_DTYPE_F32, q->gemm ? 2 : 3, q->gemm ? xd + 1 : xd, NULL)) goto done;
    memset(&t, 0, sizeof t);
    t.name = "Wq", t.dtype = INFER_DTYPE_I8, t.n_dims = 2, t.dims[0] = wd[0], t.dims[1] = wd[1];
    t.data = w, t.data_bytes = (size_t)(q->k * q->n);
    if (infer_builder_add_constant(b, &t)) goto done;
    t.name = "scale", t.dtype = INFER_DTYPE_F32, t.n_dims = 1, t.dims[0] = sd[0], t.data = sc, t.data_bytes = (size_t)sd[0] * 4;
    if (infer_builder_add_constant(b, &t)) goto done;
    t.name = "zp", t.dtype = INFER_DTYPE_I8, t.data = zp, t.data_bytes = (size_t)sd[0];
    if (q->zp && infer_builder_add_constant(b, &t)) goto done;
    t.name = "bias", t.dtype = INFER_DTYPE_F32, t.dims[0] = q->n, t.data = bias, t.data_bytes = (size_t)q->n * 4;
    if (infer_builder_add_constant(b, &t)) goto done;
    /* axis: the N axis (MatMul 1, Gemm transB 0), or the K axis for bad_axis */
    at[0] = infer_attr_int("axis", (q->gemm != 0) == (q->bad_axis != 0) ? 1 : 0);
    if (infer_builder_add_node(b, "DequantizeLinear", "dq", dq_in, q->zp ? 3 : 2, dq_out, 1, at, 1)) goto done;
    if (q->gemm) {
        at[0] = infer_attr_int("transB", 1), at[1] = infer_attr_string("activation", q->gelu ? "Gelu" : "Relu");
        if (infer_builder_add_node(b, "Gemm", "mm", mm_in, 3, out, 1, at, 2)) goto done;
    } else {
        at[0] = infer_attr_string("activation", q->gelu ? "Gelu" : "Relu");
        if (infer_builder_add_node(b, "MatMul", "mm", mm_in, 3, out, 1, at, 1)) goto done;
    }
    if (infer_builder_add_output(b, "Y") || infer_builder_serialize(b, NULL, 0, &bytes) ||
        posix_memalign(file, 64, bytes) || infer_builder_serialize(b, *file, bytes, &bytes) ||
        infer_model_load_memory(*file, bytes, NULL, &m))
        m = NULL;
done:
    if (!m) printf("  build: %s\n", infer_last_error());
    infer_builder_free(b);
    free(w), free(zp), free(sc), free(bias);
    return m;
}

/* runs model m on x; returns the kernel of node "mm" (static text) or NULL */
static const char *run(const infer_model *m, const qcase *q, int force_ref, int threads, const float *x, float *y,
                       infer_session_stats *st) {
    infer_tensor in, out;
    memset(&in, 0, sizeof in);
    in.name = "X", in.dtype = INFER_DTYPE_F32, in.n_dims = q->gemm ? 2 : 3;
    in.dims[0] = 1, in.dims[in.n_dims - 2] = q->m, in.dims[in.n_dims - 1] = q->k;
    in.data = (void *)(uintptr_t)x, in.data_bytes = (size_t)(q->m * q->k) * 4;
    memset(&out, 0, sizeof out);
    out.name = "Y", out.data = y, out.data_bytes = (size_t)(q->m * q->n) * 4;
    return test_run_node(m, force_ref, threads, &in, &out, "mm", st);
}

static void check_case(const qcase *q) {
    void *file = NULL;
    infer_model *m = build(q, &file);
    float *x = (float *)malloc((size_t)(q->m * q->k) * 4 + 4), *y = (float *)malloc((size_t)(q->m * q->n) * 4 + 4);
    float *yr = (float *)malloc((size_t)(q->m * q->n) * 4 + 4);
    int64_t i, j, p, bad = 0;
    int threads, want_int8 = cpu_int8() && q->zp != 2 && !q->bad_axis;
    infer_session_stats sr, s8;
    const char *kr, *k8;
    CHECK(m != NULL);
    if (!m) goto done;
    for (i = 0; i < q->m * q->k; i++) x[i] = frand() * (i % 3 ? 1.0f : 4.0f);
    kr = run(m, q, 1, 1, x, yr, &sr);
    CHECK(kr && !strcmp(kr, "ref"));
    for (threads = 1; threads <= 2; threads++) {
        k8 = run(m, q, 0, threads, x, y, &s8);
        CHECK(k8 != NULL);
        if (!k8) continue;
        if (want_int8) {
            CHECK(!strncmp(k8, "int8_", 5));
            CHECK(s8.packed_weight_bytes >= (size_t)(q->k * q->n + q->n * 4));
            /* the f32 weight folded from the DequantizeLinear is not kept beside the packed one */
            CHECK(s8.constant_bytes + (size_t)(q->k * q->n) * 4 <= sr.constant_bytes);
        } else {
            CHECK(strncmp(k8, "int8_", 5) != 0);
        }
        for (i = 0; i < q->m; i++) {
            double lo = 0, hi = 0, sa;
            for (p = 0; p < q->k; p++) {
                double v = x[i * q->k + p];
                lo = v < lo ? v : lo, hi = v > hi ? v : hi;
            }
            sa = (hi - lo) / 127;
            for (j = 0; j < q->n; j++) {
                /* |w| <= 128 scale_j, so sum_p |w| <= 128 k scale_j and sum_p |x w| <= max |x| times that */
                double scale = 0.001 + 0.01 * (double)(j % 7), wabs = 128.0 * (double)q->k * scale;
                double mx = fabs(lo) > hi ? fabs(lo) : hi;
                double tol = sa * wabs + 1e-5 * (mx * wabs + 1.0) + 1e-6;
                double d = fabs((double)y[i * q->n + j] - (double)yr[i * q->n + j]);
                if (!want_int8) tol = 1e-5 * (mx * wabs + 1.0); /* f32 kernels against the reference */
                if (q->gelu) tol = 1.13 * tol + 1e-6 * fabs((double)yr[i * q->n + j]) + 1e-6; /* |gelu'| <= 1.13; erf's rounding */
                if (!(d <= tol) && bad++ < 3)
                    printf("  %s m=%lld k=%lld n=%lld zp=%d axis=%d threads %d [%lld][%lld]: %.9g vs ref %.9g (bound %g)\n",
                           q->gemm ? "Gemm" : "MatMul", (long long)q->m, (long long)q->k, (long long)q->n, q->zp,
                           q->bad_axis, threads, (long long)i, (long long)j, y[i * q->n + j], yr[i * q->n + j], tol);
            }
        }
    }
    CHECK(bad == 0);
done:
    infer_model_free(m);
    free(file), free(x), free(y), free(yr);
}

/* odd and even shapes (1, 3, 7, 13, 17 and 33 rows: the 1-row kernel, edge tiles), each with
   no zero point, an all-zero one, and a fused Gelu (BERT's fc1 form, applied by the int8
   epilogue's vector code) instead of Relu */
static void test_qmatmul_shapes(void) {
    static const int64_t shapes[][3] = {{1, 1, 1}, {1, 7, 9}, {7, 8, 9}, {9, 63, 65}, {13, 64, 33},
                                        {4, 65, 64}, {17, 65, 40}, {33, 70, 40}, {3, 768, 31}};
    size_t i;
    int g;
    for (g = 0; g < 2; g++)
        for (i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
            qcase q;
            memset(&q, 0, sizeof q);
            q.gemm = g, q.m = shapes[i][0], q.k = shapes[i][1], q.n = shapes[i][2];
            check_case(&q);
            q.zp = 1; /* an all-zero zero point is the same thing */
            check_case(&q);
            q.zp = 0, q.gelu = 1;
            check_case(&q);
        }
}

/* not the form the int8 GEMM takes: the f32 path, still right */
static void test_qmatmul_other_forms(void) {
    qcase q;
    int g;
    for (g = 0; g < 2; g++) {
        memset(&q, 0, sizeof q);
        q.gemm = g, q.m = 5, q.k = 24, q.n = 24, q.zp = 2;
        check_case(&q);
        q.zp = 0, q.bad_axis = 1;
        check_case(&q);
    }
}

/* X fixed at creation (infer_session_options.constants): the MatMul folds, so the
   DequantizeLinear its weight comes from must be folded first (creation defers it for
   the int8 path); the result is the reference's, bit for bit */
static void test_qmatmul_folded(void) {
    qcase q;
    void *file = NULL;
    infer_model *m;
    float x[5 * 24], y[2][5 * 24];
    int ref, i;
    memset(&q, 0, sizeof q);
    q.m = 5, q.k = 24, q.n = 24;
    m = build(&q, &file);
    CHECK(m != NULL);
    for (i = 0; i < 5 * 24; i++) x[i] = frand();
    for (ref = 0; m && ref < 2; ref++) {
        infer_session *s = NULL;
        infer_session_options o;
        infer_tensor c, out;
        memset(&o, 0, sizeof o);
        memset(&c, 0, sizeof c);
        c.name = "X", c.dtype = INFER_DTYPE_F32, c.n_dims = 3, c.dims[0] = 1, c.dims[1] = 5, c.dims[2] = 24;
        c.data = x, c.data_bytes = sizeof x;
        o.constants = &c, o.n_constants = 1, o.force_reference = ref, o.n_threads = 1;
        memset(&out, 0, sizeof out);
        out.name = "Y", out.data = y[ref], out.data_bytes = sizeof y[ref];
        CHECK_OK(infer_session_create(m, &o, &s));
        if (s) CHECK_OK(infer_run(s, NULL, 0, &out, 1));
        infer_session_free(s);
    }
    CHECK(memcmp(y[0], y[1], sizeof y[0]) == 0);
    infer_model_free(m);
    free(file);
}

int main(void) {
    RUN(test_qmatmul_shapes);
    RUN(test_qmatmul_other_forms);
    RUN(test_qmatmul_folded);
    return test_finish();
}
