/* tests/test_qgemm.c - the int8 GEMM (section 9, "int8 GEMM"): the row quantizer's
   rounding, every kernel's int32 sums bit for bit against the reference integer GEMM
   (odd shapes, transposed B, extreme values, 1, 2 and 3 threads; every row count
   the 4-row banding and the 4, 8 and 12-row kernels meet), and the whole f32 path
   bit for bit against its reference and within the quantization error bound of a double
   product. White-box: it compiles the implementation to call the kernels directly. */
#define INFER_IMPLEMENTATION
#include "test.h"
#include "team.h"

typedef struct qisa {
    const char *name;
    const infer__qgemm_isa *isa;
} qisa;

/* the portable kernels, then every SIMD variant this CPU runs */
static int qisas(qisa *out) {
    int n = 0, cpu = infer__cpu_features();
    out[n].name = "ref", out[n++].isa = &infer__qisa_ref;
#if defined(INFER__HAVE_AVX2)
    if (cpu & INFER__CPU_AVX2) out[n].name = "avx2", out[n++].isa = &infer__qisa_avx2;
    if (cpu & INFER__CPU_AVX512VNNI) out[n].name = "vnni", out[n++].isa = &infer__qisa_vnni;
#endif
    (void)cpu;
    CHECK(infer__qgemm_pick(cpu) == out[n - 1].isa); /* the best is the last */
    return n;
}

static const int64_t sizes[] = {1, 3, 7, 17, 64, 100, 1000};
#define N_SIZES (sizeof sizes / sizeof sizes[0])

/* -- quantization -- */

static void quant_rows(const infer__qgemm_isa *isa, int64_t k, const float *x, int qmax, uint8_t *q, float *s,
                       int32_t *z) {
    isa->quant(k, x, qmax, q, s, z);
}

/* Rows whose range is 255 (scale exactly 1): halves round to even. */
static void test_quant_rounding(void) {
    static const float x1[] = {0, 255, 0.5f, 1.5f, 2.5f, -0.0f, 254.5f, 3.49f, 100.5f, 101.5f};
    static const uint8_t q1[] = {0, 255, 0, 2, 2, 0, 254, 3, 100, 102};
    static const float x2[] = {-10, 245, -9.5f, -8.5f, 0, 0.5f, 244.5f, 7.5f, -0.5f};
    static const uint8_t q2[] = {0, 255, 0, 2, 10, 10, 254, 18, 10};
    qisa is[4];
    int n_is = qisas(is), v;
    size_t i;
    for (v = 0; v < n_is; v++) {
        uint8_t q[16];
        float s;
        int32_t z;
        quant_rows(is[v].isa, 10, x1, 255, q, &s, &z);
        CHECK(s == 1.0f);
        CHECK_EQ_INT(z, 0);
        for (i = 0; i < 10; i++) CHECK_EQ_INT(q[i], q1[i]);
        quant_rows(is[v].isa, 9, x2, 255, q, &s, &z);
        CHECK(s == 1.0f);
        CHECK_EQ_INT(z, 10);
        for (i = 0; i < 9; i++) CHECK_EQ_INT(q[i], q2[i]);
        { /* zero point halves: -lo / s = 2.5 rounds to 2, lo still maps to 0, and hi to
             rint(252.5) + 2 = 254: the top of the range need not reach qmax */
            float x3[3] = {-2.5f, 252.5f, 0};
            quant_rows(is[v].isa, 3, x3, 255, q, &s, &z);
            CHECK(s == 1.0f);
            CHECK_EQ_INT(z, 2);
            CHECK_EQ_INT(q[0], 0);
            CHECK_EQ_INT(q[1], 254);
            CHECK_EQ_INT(q[2], 2);
        }
        { /* all zero: scale 1, zero point 0; all negative: zero point qmax; 7-bit range */
            float x4[5] = {0, 0, 0, 0, 0}, x5[5] = {-1, -2, -4, -0.5f, -3};
            quant_rows(is[v].isa, 5, x4, 255, q, &s, &z);
            CHECK(s == 1.0f);
            CHECK_EQ_INT(z, 0);
            for (i = 0; i < 5; i++) CHECK_EQ_INT(q[i], 0);
            quant_rows(is[v].isa, 5, x5, 127, q, &s, &z);
            CHECK_NEAR(s, 4.0 / 127, 1e-9);
            CHECK_EQ_INT(z, 127);
            CHECK_EQ_INT(q[2], 0);
            CHECK_EQ_INT(q[3], 127 - 16); /* -0.5 / (4/127) = -15.875 */
        }
        { /* NaN quantizes to 0 and does not widen the range */
            float x6[3] = {1, NAN, -1};
            quant_rows(is[v].isa, 3, x6, 255, q, &s, &z);
            CHECK_NEAR(s, 2.0 / 255, 1e-9);
            CHECK_EQ_INT(q[1], 0);
        }
    }
}

/* Every quantizer gives the reference's bytes, scale and zero point on random rows. */
static void test_quant_matches_ref(void) {
    qisa is[4];
    int n_is = qisas(is), v, qm;
    size_t si;
    float x[1000];
    uint8_t q0[1000], q1[1000];
    test_seed(11);
    for (si = 0; si < N_SIZES; si++)
        for (qm = 0; qm < 2; qm++) {
            int64_t k = sizes[si], p;
            int qmax = qm ? 127 : 255;
            float s0, s1;
            int32_t z0, z1;
            test_fill(x, (size_t)k, -3, 1 + 2 * qm);
            if (k > 2) x[k / 2] = 0.5f * (float)test_int(-20, 20); /* a few exact halves */
            infer__qrow_ref(k, x, qmax, q0, &s0, &z0);
            for (v = 1; v < n_is; v++) {
                memset(q1, 0xAB, sizeof q1);
                quant_rows(is[v].isa, k, x, qmax, q1, &s1, &z1);
                CHECK(s0 == s1);
                CHECK_EQ_INT(z0, z1);
                for (p = 0; p < k; p++)
                    if (q0[p] != q1[p]) {
                        printf("  %s k=%lld qmax=%d: q[%lld] %d vs ref %d\n", is[v].name, (long long)k, qmax,
                               (long long)p, q1[p], q0[p]);
                        test__failed_checks++;
                        break;
                    }
                CHECK_EQ_INT(q1[k < 1000 ? k : 999], k < 1000 ? 0xAB : q1[999]); /* nothing past k */
            }
            for (p = 0; p < k; p++) { /* and the reference is DynamicQuantizeLinear's formula */
                double w = rint((double)x[p] / s0) + z0;
                w = w < 0 ? 0 : w > qmax ? qmax : w;
                if (fabs(w - q0[p]) > 0 && fabs((double)x[p] / s0 - floor((double)x[p] / s0) - 0.5) > 1e-4) {
                    printf("  ref k=%lld: q[%lld] %d, formula %g\n", (long long)k, (long long)p, q0[p], w);
                    test__failed_checks++;
                    break;
                }
            }
        }
}

/* -- the integer GEMM, bit for bit -- */

/* fill: 0 random, 1 a = qmax & b = -128, 2 a = qmax & b = 127, 3 a = 0, za = qmax, b = -128 */
static int check_i32(const qisa *q, int64_t m, int64_t n, int64_t k, int tb, int fill) {
    const infer__qgemm_isa *isa = q->isa;
    int qmax = isa->qmax, ok = 1, t;
    uint8_t *a = (uint8_t *)malloc((size_t)(m * k));
    int8_t *b = (int8_t *)malloc((size_t)(k * n));
    int32_t *za = (int32_t *)malloc((size_t)m * 4), *want = (int32_t *)malloc((size_t)(m * n) * 4);
    int32_t *got = (int32_t *)malloc((size_t)(m * n) * 4);
    void *packed = malloc(infer__qgemm_packed_bytes(isa, k, n));
    void *scratch = malloc(infer__qgemm_scratch(m, k, 3));
    int64_t i, b_rs = tb ? 1 : n, b_cs = tb ? k : 1;
    for (i = 0; i < m * k; i++) a[i] = (uint8_t)(fill == 0 ? test_int(0, qmax) : fill == 3 ? 0 : qmax);
    for (i = 0; i < k * n; i++) b[i] = (int8_t)(fill == 0 ? test_int(-128, 127) : fill == 2 ? 127 : -128);
    for (i = 0; i < m; i++) za[i] = fill == 0 ? (int32_t)test_int(0, qmax) : fill == 3 ? qmax : 0;
    infer__qgemm_i32_ref(m, n, k, a, k, za, b, b_rs, b_cs, want);
    infer__qgemm_pack_b(isa, k, n, b, b_rs, b_cs, packed);
    for (t = 1; t <= 3; t++) {
        memset(got, 0x5A, (size_t)(m * n) * 4);
        infer__qgemm_i32(team_ctx(t), isa, m, n, k, a, k, za, packed, got, t, scratch, infer__qgemm_scratch(m, k, 3));
        for (i = 0; i < m * n; i++)
            if (got[i] != want[i]) {
                printf("  %s i32 m=%lld n=%lld k=%lld tb=%d fill=%d threads=%d: [%lld] %d vs ref %d\n", q->name,
                       (long long)m, (long long)n, (long long)k, tb, fill, t, (long long)i, got[i], want[i]);
                test__failed_checks++;
                ok = 0;
                break;
            }
    }
    free(a), free(b), free(za), free(want), free(got), free(packed), free(scratch);
    return ok;
}

static void test_i32_shapes(void) {
    qisa is[4];
    int n_is = qisas(is), v;
    size_t i, j, l;
    test_seed(12);
    for (v = 0; v < n_is; v++)
        for (i = 0; i < N_SIZES; i++)
            for (j = 0; j < N_SIZES; j++)
                for (l = 0; l < N_SIZES; l++) {
                    int64_t m = sizes[i], n = sizes[j], k = sizes[l];
                    if (m * n * k > 5000000 || (m * n * k > 100000 && test_int(0, 2))) continue;
                    if (!check_i32(&is[v], m, n, k, (int)((i + j + l) & 1), 0)) return;
                }
}

/* row counts around the panels (1, 4, 8 and 12 rows) and the 4-row bands of 1, 2 and 3
   threads, BERT's M = 128 (bands 64 + 64 on 2 threads) and M = 1000 (a 4-row last panel) */
static const int64_t row_counts[] = {1, 3, 4, 5, 8, 9, 13, 17, 20, 64, 127, 128, 129, 1000};
#define N_ROW_COUNTS (sizeof row_counts / sizeof row_counts[0])

static void test_i32_rows(void) {
    qisa is[4];
    int n_is = qisas(is), v;
    size_t i;
    test_seed(15);
    for (v = 0; v < n_is; v++)
        for (i = 0; i < N_ROW_COUNTS; i++)
            if (!check_i32(&is[v], row_counts[i], 40, 37, (int)(i & 1), 0) || !check_i32(&is[v], row_counts[i], 64, 8, 0, 0))
                return;
}

/* all-extreme operands: the largest sums of either sign (a saturating int16 pair would
   show here), with K up to INFER__QGEMM_K_MAX where C reaches +-32640 * 65536 */
static void test_i32_extremes(void) {
    qisa is[4];
    int n_is = qisas(is), v, f;
    test_seed(13);
    for (v = 0; v < n_is; v++)
        for (f = 1; f <= 3; f++) {
            if (!check_i32(&is[v], 17, 33, 1000, f & 1, f)) return;
            if (!check_i32(&is[v], 3, 40, 7, 0, f)) return;
            if (!check_i32(&is[v], 3, 35, INFER__QGEMM_K_MAX, 0, f)) return;
        }
}

/* -- the f32 path -- */

/* y against (1) infer__qgemm_f32_ref with the isa's qmax and vec (the activation), bit for bit, (2) 1 vs 2 and 3 threads,
   bit for bit, and (3) the double product act(a * (scale_b B) + bias) within the bound of
   activation quantization: each a is represented within one step sa (half a step from
   rounding, at most half more where the top of the range clamps), so
       |y - y_true| <= sa_i * sum_k |w_kj| + 1e-6 * (sum_k |a_ik w_kj| + sa_i sum_k |w_kj| + |bias_j|)
   where the second term covers the epilogue's float roundings (C itself is exact). */
static int check_f32(const qisa *q, int64_t m, int64_t n, int64_t k, int ta, int tb, int act_kind) {
    const infer__qgemm_isa *isa = q->isa;
    float *a = (float *)malloc((size_t)(m * k) * 4), *sb = (float *)malloc((size_t)n * 4);
    float *bias = (float *)malloc((size_t)n * 4), *y1 = (float *)malloc((size_t)(m * n) * 4);
    float *y2 = (float *)malloc((size_t)(m * n) * 4), *yr = (float *)malloc((size_t)(m * n) * 4);
    float *arow = (float *)malloc((size_t)k * 4);
    int8_t *b = (int8_t *)malloc((size_t)(k * n));
    void *packed = malloc(infer__qgemm_packed_bytes(isa, k, n));
    void *scratch = malloc(infer__qgemm_scratch(m, k, 3));
    void *tmp = calloc((size_t)(m * k + 4 + m * 8 + m * n * 4), 1);
    int64_t i, j, p, a_rs = ta ? 1 : k, a_cs = ta ? m : 1, b_rs = tb ? 1 : n, b_cs = tb ? k : 1;
    int ok = 1, t;
    infer__act act;
    memset(&act, 0, sizeof act);
    act.kind = act_kind;
    test_fill(a, (size_t)(m * k), -2, 3);
    for (i = 0; i < k * n; i++) b[i] = (int8_t)test_int(-127, 127);
    for (j = 0; j < n; j++) sb[j] = (float)test_uniform(0.001, 0.01), bias[j] = (float)test_uniform(-1, 1);
    infer__qgemm_pack_b(isa, k, n, b, b_rs, b_cs, packed);
    infer__qgemm_f32(NULL, isa, m, n, k, a, a_rs, a_cs, packed, sb, bias, &act, y1, 1, scratch, infer__qgemm_scratch(m, k, 2));
    for (t = 2; t <= 3; t++) {
        infer__qgemm_f32(team_ctx(t), isa, m, n, k, a, a_rs, a_cs, packed, sb, bias, &act, y2, t, scratch, infer__qgemm_scratch(m, k, 3));
        if (memcmp(y1, y2, (size_t)(m * n) * 4)) {
            printf("  %s f32 m=%lld n=%lld k=%lld: 1 and %d threads differ\n", q->name, (long long)m, (long long)n, (long long)k, t);
            test__failed_checks++, ok = 0;
        }
    }
    memset(y2, 0, (size_t)(m * n) * 4); /* scratch for one thread: 2 asked, 1 runs */
    infer__qgemm_f32(team_ctx(2), isa, m, n, k, a, a_rs, a_cs, packed, sb, bias, &act, y2, 2, scratch, infer__qgemm_scratch(m, k, 1));
    if (memcmp(y1, y2, (size_t)(m * n) * 4)) {
        printf("  %s f32 m=%lld n=%lld k=%lld: one thread's scratch differs\n", q->name, (long long)m, (long long)n, (long long)k);
        test__failed_checks++, ok = 0;
    }
    { /* the reference path takes A row-major */
        float *ac = (float *)malloc((size_t)(m * k) * 4);
        for (i = 0; i < m; i++)
            for (p = 0; p < k; p++) ac[i * k + p] = a[i * a_rs + p * a_cs];
        infer__qgemm_f32_ref(m, n, k, ac, k, isa->qmax, isa->vec, b, b_rs, b_cs, sb, bias, &act, yr, tmp);
        free(ac);
    }
    for (i = 0; i < m * n && ok; i++)
        if (memcmp(&y1[i], &yr[i], 4)) {
            printf("  %s f32 m=%lld n=%lld k=%lld ta=%d tb=%d: [%lld] %.9g vs reference path %.9g\n", q->name,
                   (long long)m, (long long)n, (long long)k, ta, tb, (long long)i, y1[i], yr[i]);
            test__failed_checks++, ok = 0;
        }
    for (i = 0; i < m && ok; i++) {
        float sa;
        int32_t za;
        uint8_t *qq = (uint8_t *)tmp;
        for (p = 0; p < k; p++) arow[p] = a[i * a_rs + p * a_cs];
        infer__qrow_ref(k, arow, isa->qmax, qq, &sa, &za);
        for (j = 0; j < n && ok; j++) {
            double s = bias[j], sabs = 0, wabs = 0, tol;
            float yt;
            for (p = 0; p < k; p++) {
                double w = (double)sb[j] * b[p * b_rs + j * b_cs];
                s += (double)arow[p] * w, sabs += fabs((double)arow[p] * w), wabs += fabs(w);
            }
            tol = sa * wabs + 1e-6 * (sabs + sa * wabs + fabs(bias[j])) + 1e-30;
            yt = (float)s;
            infer__act_apply(&act, &yt, 1); /* relu is 1-Lipschitz: the bound carries over */
            if (act_kind == INFER__ACT_GELU) tol = 1.13 * tol + 1e-6 * fabs((double)yt) + 1e-7; /* |gelu'| <= 1.13; the vector erf's error */
            if (!(fabs((double)y1[i * n + j] - (double)yt) <= tol)) {
                printf("  %s f32 m=%lld n=%lld k=%lld: [%lld][%lld] %.9g vs double %.9g (bound %g)\n", q->name,
                       (long long)m, (long long)n, (long long)k, (long long)i, (long long)j, y1[i * n + j], yt, tol);
                test__failed_checks++, ok = 0;
            }
        }
    }
    free(a), free(sb), free(bias), free(y1), free(y2), free(yr), free(arow), free(b), free(packed), free(scratch);
    free(tmp);
    return ok;
}

static void test_f32_path(void) {
    qisa is[4];
    int n_is = qisas(is), v;
    size_t i, j, l;
    test_seed(14);
    for (v = 0; v < n_is; v++)
        for (i = 0; i < N_SIZES; i++)
            for (j = 0; j < N_SIZES; j++)
                for (l = 0; l < N_SIZES; l++) {
                    int64_t m = sizes[i], n = sizes[j], k = sizes[l];
                    if (m * n * k > 2000000 || test_int(0, 3)) continue;
                    int act = (i + j + l) % 3 == 0 ? INFER__ACT_RELU : (i + j + l) % 3 == 1 ? INFER__ACT_GELU : INFER__ACT_NONE;
                    if (!check_f32(&is[v], m, n, k, (int)(l & 1), (int)((i + j) & 1), act)) return;
                }
    for (v = 0; v < n_is; v++)
        for (i = 0; i < N_ROW_COUNTS; i++)
            if (!check_f32(&is[v], row_counts[i], 40, 37, (int)(i & 1), 0, (int)(i % 3) == 0 ? INFER__ACT_GELU : INFER__ACT_NONE))
                return;
    for (v = 0; v < n_is; v++) /* BERT-sized products: attention's, and fc1 with its GELU (in the epilogue) */
        if (!check_f32(&is[v], 128, 96, 768, 0, 1, INFER__ACT_NONE) || !check_f32(&is[v], 128, 100, 768, 0, 0, INFER__ACT_GELU))
            return;
}

/* k = 0: y = act(bias) */
static void test_f32_empty_k(void) {
    float y[6], bias[3] = {1, -2, 3}, sb[3] = {1, 1, 1};
    char packed[256] = {0}, scratch[8] = {0};
    infer__act act;
    memset(&act, 0, sizeof act);
    act.kind = INFER__ACT_RELU;
    infer__qgemm_f32(NULL, &infer__qisa_ref, 2, 3, 0, NULL, 0, 1, packed, sb, bias, &act, y, 1, scratch, sizeof scratch);
    CHECK(y[0] == 1 && y[1] == 0 && y[2] == 3 && y[3] == 1 && y[4] == 0 && y[5] == 3);
}

/* per-column weight quantization: within half a step, extremes at +-127 */
static void test_quantize_b(void) {
    enum { K = 37, N = 5 };
    float w[K * N], sc[N];
    int8_t q[K * N];
    int64_t p, j;
    test_seed(15);
    test_fill(w, K * N, -3, 3);
    for (p = 0; p < K; p++) w[p * N + 4] = 0; /* an all-zero column */
    w[5 * N + 1] = 10, w[6 * N + 2] = -10;
    infer__qgemm_quantize_b(K, N, w, N, 1, q, sc);
    CHECK(sc[4] == 1.0f);
    CHECK_EQ_INT(q[5 * N + 1], 127);
    CHECK_EQ_INT(q[6 * N + 2], -127);
    for (j = 0; j < N; j++)
        for (p = 0; p < K; p++) CHECK_NEAR(w[p * N + j], sc[j] * q[p * N + j], sc[j] * 0.5 * (1 + 1e-6));
    { /* transposed storage gives the same result */
        float wt[N * K], st[N];
        int8_t qt[K * N];
        for (p = 0; p < K; p++)
            for (j = 0; j < N; j++) wt[j * K + p] = w[p * N + j];
        infer__qgemm_quantize_b(K, N, wt, 1, K, qt, st);
        CHECK(!memcmp(q, qt, sizeof q) && !memcmp(sc, st, sizeof sc));
    }
}

int main(void) {
    printf("# cpu: avx2 %d, avx512 vnni %d\n", !!(infer__cpu_features() & INFER__CPU_AVX2),
           !!(infer__cpu_features() & INFER__CPU_AVX512VNNI));
    RUN(test_quant_rounding);
    RUN(test_quant_matches_ref);
    RUN(test_i32_shapes);
    RUN(test_i32_rows);
    RUN(test_i32_extremes);
    RUN(test_f32_path);
    RUN(test_f32_empty_k);
    RUN(test_quantize_b);
    return test_finish();
}
