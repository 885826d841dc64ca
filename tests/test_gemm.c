/* tests/test_gemm.c - the SIMD f32 GEMM (section 9) against the reference and a double
   reference: every variant this CPU runs, on odd sizes, transposed operands, through
   MatMul (batched, broadcast, bias + each activation) and Gemm, for 1 and 2 threads.
   White-box: it compiles the implementation to call the GEMM variants directly. */
#define INFER_IMPLEMENTATION
#include "test.h"
#include "team.h"

static const int64_t sizes[] = {0, 1, 3, 7, 8, 9, 17, 63, 64, 65, 1000};
#define N_SIZES (sizeof sizes / sizeof sizes[0])

/* |got - want| <= 1e-5 * sum_k |a_ik b_kj| + tiny, want in double; sums in abs */
static int close_to(const char *what, const float *got, const double *want, const double *abs_sum, int64_t n) {
    int64_t i;
    for (i = 0; i < n; i++)
        if (!(fabs((double)got[i] - want[i]) <= 1e-5 * abs_sum[i] + 1e-30)) {
            printf("  %s: [%lld] got %.9g want %.9g (sum |ab| %g)\n", what, (long long)i, (double)got[i], want[i],
                   abs_sum[i]);
            test__failed_checks++;
            return 0;
        }
    return 1;
}

static void ref_double(int64_t m, int64_t n, int64_t k, const float *a, int64_t a_rs, int64_t a_cs, const float *b,
                       int64_t b_rs, int64_t b_cs, double *want, double *abs_sum) {
    int64_t i, j, p;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            double s = 0, t = 0;
            for (p = 0; p < k; p++) {
                double x = (double)a[i * a_rs + p * a_cs] * b[p * b_rs + j * b_cs];
                s += x;
                t += fabs(x);
            }
            want[i * n + j] = s;
            abs_sum[i * n + j] = t;
        }
}

/* The SIMD kernel sets this CPU runs, with their names; returns how many (at most 3). */
static int gemm_isas(const infer__gemm_isa **isas, const char **names) {
    int n_isa = 0, cpu = infer__cpu_features();
    (void)cpu, (void)isas, (void)names;
#if defined(INFER__HAVE_AVX2)
    if (cpu & INFER__CPU_AVX512) isas[n_isa] = &infer__isa_avx512, names[n_isa++] = "avx512";
    if (cpu & INFER__CPU_AVX2) isas[n_isa] = &infer__isa_avx2, names[n_isa++] = "avx2";
#endif
#if defined(INFER__HAVE_NEON) /* make test-arm64 runs this under qemu-aarch64 */
    if (cpu & INFER__CPU_NEON) isas[n_isa] = &infer__isa_neon, names[n_isa++] = "neon";
#endif
    return n_isa;
}

/* One shape through the reference and every variant the CPU runs, with 1 and 2 threads;
   ta/tb: A stored as [k][m], B as [n][k]. Returns 0 on a failure. */
static int check_shape(int64_t m, int64_t n, int64_t k, int ta, int tb) {
    const infer__gemm_isa *isas[3];
    const char *names[3];
    int n_isa = gemm_isas(isas, names), v, ok = 1;
    float *a = (float *)malloc((size_t)(m * k + 1) * sizeof(float)), *b = (float *)malloc((size_t)(k * n + 1) * sizeof(float));
    float *c1 = (float *)malloc((size_t)(m * n + 1) * sizeof(float)), *c2 = (float *)malloc((size_t)(m * n + 1) * sizeof(float));
    double *want = (double *)malloc((size_t)(m * n + 1) * sizeof(double)), *abs_sum = (double *)malloc((size_t)(m * n + 1) * sizeof(double));
    size_t sb = infer__gemm_f32_scratch(m, n, k, 2);
    void *scratch = malloc(sb + 1);
    int64_t a_rs = ta ? 1 : k, a_cs = ta ? m : 1, b_rs = tb ? 1 : n, b_cs = tb ? k : 1;
    char what[128];
    test_fill(a, (size_t)(m * k), -1, 1);
    test_fill(b, (size_t)(k * n), -1, 1);
    ref_double(m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, want, abs_sum);
    snprintf(what, sizeof what, "ref m=%lld n=%lld k=%lld ta=%d tb=%d", (long long)m, (long long)n, (long long)k, ta, tb);
    test_fill(c1, (size_t)(m * n), -9, 9); /* the GEMM overwrites C */
    infer__gemm_f32_ref(NULL, m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c1, 1);
    ok &= close_to(what, c1, want, abs_sum, m * n);
    for (v = 0; v < n_isa; v++) {
        snprintf(what, sizeof what, "%s m=%lld n=%lld k=%lld ta=%d tb=%d", names[v], (long long)m, (long long)n,
                 (long long)k, ta, tb);
        test_fill(c1, (size_t)(m * n), -9, 9);
        test_fill(c2, (size_t)(m * n), -9, 9);
        infer__gemm_f32(NULL, isas[v], m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c1, 1, scratch, sb);
        ok &= close_to(what, c1, want, abs_sum, m * n);
        if (m * n * k < 100000) continue; /* 2 threads where the work splits */
        infer__gemm_f32(team_ctx(2), isas[v], m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c2, 2, scratch, sb);
        if (memcmp(c1, c2, (size_t)(m * n) * sizeof(float)) != 0) {
            printf("  %s: 1 and 2 threads differ\n", what);
            test__failed_checks++;
            ok = 0;
        }
    }
    free(a), free(b), free(c1), free(c2), free(want), free(abs_sum), free(scratch);
    return ok;
}

static void test_gemm_small_sizes(void) {
    size_t i, j, l;
    test_seed(1);
    for (i = 0; i < N_SIZES - 1; i++) /* a third of the combinations of the sizes below 1000 */
        for (j = 0; j < N_SIZES - 1; j++)
            for (l = 0; l < N_SIZES - 1; l++)
                if (test_int(0, 2) == 0 && !check_shape(sizes[i], sizes[j], sizes[l], (int)((i + l) & 1), (int)((j + l) / 2 & 1))) return;
}

static void test_gemm_large_sizes(void) {
    static const int64_t small[] = {1, 7, 65};
    /* the last two: bands taken as threads come free, though each packs A (B) itself
       (at least NC columns, MC rows a band: infer__gemm_bands) */
    static const int64_t big[][3] = {{300, 257, 517}, {13, 2100, 300}, {250, 33, 1000}, {1, 4100, 64},
                                     {13, 8 * INFER__GEMM_NC + 37, 70}, {8 * INFER__GEMM_MC + 11, 40, 50}};
    int d, i, j, t;
    test_seed(2);
    for (d = 0; d < 3; d++) /* 1000 in one of m, n, k */
        for (i = 0; i < 3; i++)
            for (j = 0; j < 3; j++) {
                int64_t s[3];
                s[d] = 1000, s[(d + 1) % 3] = small[i], s[(d + 2) % 3] = small[j];
                if (!check_shape(s[0], s[1], s[2], i & 1, j & 1)) return;
            }
    for (i = 0; i < (int)(sizeof big / sizeof big[0]); i++) /* across the MC, NC and KC blocks */
        for (t = 0; t < 4; t += 3)
            if (!check_shape(big[i][0], big[i][1], big[i][2], t & 1, t >> 1)) return;
}

/* A's rows read in place by the kernel (infer__gemm_ua) give the same bits as A packed:
   the same A with a row stride of k (in place where the ISA can) and of 1024 floats (every
   row on one L1 set: packed), edge tiles in both directions, 1 and 2 threads. */
static void test_gemm_rows_in_place(void) {
    static const int64_t shapes[][3] = {{37, 70, 300}, {12, 32, 8},   {250, 1024, 130}, {100, 1025, 40},
                                        {392, 64, 576}, {25, 49, 40}, {60, 56, 33},     {13, 20, 300}};
    int cpu = infer__cpu_features(), s, t;
    test_seed(7);
    for (s = 0; s < (int)(sizeof shapes / sizeof shapes[0]); s++) {
        int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2], i;
        float *a = (float *)malloc((size_t)(m * k) * sizeof(float)), *wide = (float *)calloc((size_t)(m * 1024), sizeof(float));
        float *b = (float *)malloc((size_t)(k * n) * sizeof(float));
        float *c1 = (float *)malloc((size_t)(m * n) * sizeof(float)), *c2 = (float *)malloc((size_t)(m * n) * sizeof(float));
        double *want = (double *)malloc((size_t)(m * n) * sizeof(double)), *abs_sum = (double *)malloc((size_t)(m * n) * sizeof(double));
        size_t sb = infer__gemm_f32_scratch(m, n, k, 2);
        void *scratch = malloc(sb);
        char what[96];
        test_fill(a, (size_t)(m * k), -1, 1);
        test_fill(b, (size_t)(k * n), -1, 1);
        for (i = 0; i < m; i++) memcpy(wide + i * 1024, a + i * k, (size_t)k * sizeof(float));
        ref_double(m, n, k, a, k, 1, b, n, 1, want, abs_sum);
#if defined(INFER__HAVE_AVX2)
        {
            const infer__gemm_isa *isas[2] = {&infer__isa_avx512, &infer__isa_avx2};
            const char *names[2] = {"avx512", "avx2"};
            int v;
            for (v = 0; v < 2; v++) {
                infer__gemm_job g;
                if (!(cpu & (v ? INFER__CPU_AVX2 : INFER__CPU_AVX512))) continue;
                memset(&g, 0, sizeof g);
                g.isa = isas[v], g.n = n, g.a_cs = 1, g.a_rs = k;
                CHECK(infer__gemm_ua(&g) == (n <= isas[v]->ua_n)); /* these strides spread the rows over the sets... */
                g.a_rs = 1024;
                CHECK(!infer__gemm_ua(&g)); /* ...1024 floats puts them all on one */
                for (t = 1; t <= 2; t++) {
                    snprintf(what, sizeof what, "%s m=%lld n=%lld k=%lld threads=%d", names[v], (long long)m,
                             (long long)n, (long long)k, t);
                    infer__gemm_f32(team_ctx(t), isas[v], m, n, k, a, k, 1, b, n, 1, c1, t, scratch, sb);
                    infer__gemm_f32(team_ctx(t), isas[v], m, n, k, wide, 1024, 1, b, n, 1, c2, t, scratch, sb);
                    if (!close_to(what, c1, want, abs_sum, m * n)) break;
                    CHECK(memcmp(c1, c2, (size_t)(m * n) * sizeof(float)) == 0);
                }
            }
        }
#endif
        (void)cpu, (void)t, (void)what;
        free(a), free(wide), free(b), free(c1), free(c2), free(want), free(abs_sum), free(scratch);
    }
}

/* B's rows read in place by the kernel (infer__gemm_ub) give the same bits as B packed:
   the same B row-major (in place where the ISA can; A column-major, so A is packed) and
   stored transposed (packed), full and edge tiles, with and without a fused epilogue. */
static void test_gemm_b_in_place(void) {
    static const int64_t shapes[][3] = {{64, 784, 256}, {13, 100, 37}, {200, 96, 128}, {8, 33, 5},
                                        {250, 70, 129}, {140, 208, 300}, {140, 200, 300}};
    int cpu = infer__cpu_features(), s, t;
    test_seed(8);
    for (s = 0; s < (int)(sizeof shapes / sizeof shapes[0]); s++) {
        int64_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2], i, j;
        float *a = (float *)malloc((size_t)(m * k) * sizeof(float)), *b = NULL;
        float *bt = (float *)malloc((size_t)(k * n) * sizeof(float)), *bias = (float *)malloc((size_t)m * sizeof(float));
        float *c1 = (float *)malloc((size_t)(m * n) * sizeof(float)), *c2 = (float *)malloc((size_t)(m * n) * sizeof(float));
        size_t sb = infer__gemm_f32_scratch(m, n, k, 2);
        void *scratch = malloc(sb), *mem;
        b = posix_memalign(&mem, 64, (size_t)(k * n) * sizeof(float)) ? NULL : (float *)mem; /* rows on lines where n % 16 == 0 */
        CHECK(b != NULL);
        test_fill(a, (size_t)(m * k), -1, 1);
        test_fill(b, (size_t)(k * n), -1, 1);
        test_fill(bias, (size_t)m, -1, 1);
        for (i = 0; i < k; i++)
            for (j = 0; j < n; j++) bt[j * k + i] = b[i * n + j];
#if defined(INFER__HAVE_AVX2)
        if (cpu & INFER__CPU_AVX512) {
            infer__gemm_job g;
            infer__act relu = {INFER__ACT_RELU, 0, 0};
            int epi;
            memset(&g, 0, sizeof g);
            g.isa = &infer__isa_avx512, g.m = m, g.n = n, g.k = k, g.a_rs = 1, g.a_cs = m, g.b = b, g.b_rs = n, g.b_cs = 1;
            CHECK(infer__gemm_ub(&g) == (m <= 64 || (m <= 256 && (k <= 128 || n % 16 == 0))));
            g.b_cs = k;
            CHECK(!infer__gemm_ub(&g));
            for (epi = 0; epi < 2; epi++)
                for (t = 1; t <= 2; t++) {
                    const float *bs[2] = {b, bt};
                    float *cs[2] = {c1, c2};
                    int v;
                    for (v = 0; v < 2; v++) { /* in place, then packed */
                        infer__gemm_job q;
                        memset(&q, 0, sizeof q);
                        q.isa = &infer__isa_avx512, q.m = m, q.n = n, q.k = k, q.a = a, q.a_rs = 1, q.a_cs = m;
                        q.b = bs[v], q.b_rs = v ? 1 : n, q.b_cs = v ? k : 1, q.c = cs[v];
                        if (epi) {
                            static infer__conv2 cq;
                            memset(&cq, 0, sizeof cq);
                            cq.bias = bias, cq.act = &relu, cq.isa = &infer__isa_avx512;
                            q.epi = infer__conv_epi, q.epi_arg = &cq;
                            infer__gemm_kepi(&q, bias, NULL, &relu);
                        }
                        infer__gemm_f32_job_run(team_ctx(t), &q, t, scratch, sb);
                    }
                    CHECK(memcmp(c1, c2, (size_t)(m * n) * sizeof(float)) == 0);
                }
        }
#endif
        (void)cpu, (void)t, (void)j;
        free(a), free(b), free(bt), free(bias), free(c1), free(c2), free(scratch);
    }
}

/* A GEMM on 2 threads cuts C into INFER__GEMM_BANDS bands a thread, taken as threads come
   free, only where no band packs what another packs too, and on the session's own pool;
   with packed weights or a B packed once for all bands, bands at least INFER__GEMM_UA_JB wide; the bits are
   those of one band a thread (test_gemm_b_in_place, test_threads_identical). */
static void test_gemm_bands(void) {
#if defined(INFER__HAVE_GEMM_SIMD)
    static const float packed[1] = {0};
    infer__gemm_job g;
    const infer__ctx *cx = team_ctx(2);
    memset(&g, 0, sizeof g);
#if defined(INFER__HAVE_AVX2)
    g.isa = &infer__isa_avx2;
#else
    g.isa = &infer__isa_neon;
#endif
    g.m = 64, g.n = 3136, g.k = 256, g.a_rs = 1, g.a_cs = 64, g.b_cs = 3136;
    g.split_m = 0, g.n_units = 98, g.a_packed = packed; /* a pointwise conv: W packed once, bands of columns */
    CHECK(infer__gemm_bands(cx, &g, 2) == 2 * INFER__GEMM_BANDS);
    CHECK(infer__gemm_bands(cx, &g, 1) == 1);
    CHECK(infer__gemm_bands(NULL, &g, 2) == 2);
    g.n_units = 5;
    CHECK(infer__gemm_bands(cx, &g, 2) == 5);
    g.a_packed = NULL; /* A packed by every band of columns (not read in place: column-major) */
    CHECK(infer__gemm_bands(cx, &g, 2) == 2);
    g.n = 2 * INFER__GEMM_BANDS * INFER__GEMM_NC, g.n_units = g.n / 32; /* but bands NC columns wide */
    CHECK(infer__gemm_bands(cx, &g, 2) == 2 * INFER__GEMM_BANDS);
    g.n--;
    CHECK(infer__gemm_bands(cx, &g, 2) == 2);
    g.a_packed = packed, g.n = 784, g.n_units = 25; /* each band reads all of the weights: 256 columns or more */
    CHECK(infer__gemm_bands(cx, &g, 2) == 2);
    g.a_packed = NULL, g.split_m = 1, g.n_units = 40, g.b_packed = g.shared_b = (float *)packed; /* bands of rows */
    CHECK(infer__gemm_bands(cx, &g, 2) == 2); /* reading B packed once, all of it each: as below */
    g.shared_b = NULL; /* B a MatMul's packed weights: bands of at least INFER__GEMM_UA_JB rows, a whole number a thread */
    CHECK(infer__gemm_bands(cx, &g, 2) == 2);
    g.m = 4 * INFER__GEMM_UA_JB, g.n_units = g.m / 12;
    CHECK(infer__gemm_bands(cx, &g, 2) == 4);
    g.m = 5 * INFER__GEMM_UA_JB - 1, g.n_units = (g.m + 11) / 12;
    CHECK(infer__gemm_bands(cx, &g, 2) == 4);
    g.m = 64 * INFER__GEMM_UA_JB, g.n_units = g.m / 12;
    CHECK(infer__gemm_bands(cx, &g, 2) == 2 * INFER__GEMM_BANDS);
    g.split_m = 0, g.m = 128, g.a_packed = packed; /* and of columns (A packed once for all of them) */
    g.n = 384, g.n_units = 12;
    CHECK(infer__gemm_bands(cx, &g, 2) == 2);
    g.n = 1536, g.n_units = 48;
    CHECK(infer__gemm_bands(cx, &g, 2) == 6);
    g.n = 4096, g.n_units = 128;
    CHECK(infer__gemm_bands(cx, &g, 2) == 2 * INFER__GEMM_BANDS);
    CHECK(infer__gemm_bands(cx, &g, 1) == 1);
    g.split_m = 1, g.n_units = 40, g.a_packed = NULL;
    g.b_packed = NULL, g.m = 2 * INFER__GEMM_BANDS * INFER__GEMM_MC - 1, g.k = 300; /* B packed by every band */
    CHECK(infer__gemm_bands(cx, &g, 2) == 2);
    g.m++; /* of MC rows each */
    CHECK(infer__gemm_bands(cx, &g, 2) == 2 * INFER__GEMM_BANDS);
#endif
}

/* -- through the public API -- */

typedef struct mm_case {
    const char *op;
    int n_in;
    int nd[3];
    int64_t dims[3][INFER_MAX_DIMS];
    const float *data[3];
    infer_attr attrs[8];
    int n_attrs;
    int const_b; /* inputs 1 and 2 are constants (weights the session packs once), not inputs */
} mm_case;

/* Builds the one-node model, runs it with the options; y gets the output, kernel the
   node's kernel name. Returns the status. */
static infer_status mm_run(const mm_case *mc, int n_threads, int force_reference, float *y, size_t y_bytes,
                           const char **kernel) {
    static const char *in_names[3] = {"a", "b", "c"}, *out_names[1] = {"y"};
    infer_builder *b = NULL;
    infer_model *m = NULL;
    infer_session *s = NULL;
    infer_session_options opt;
    infer_tensor feeds[3], out;
    infer_node_info info;
    void *file = NULL;
    size_t bytes = 0;
    int i;
    infer_status st;
    if ((st = infer_builder_create(NULL, &b))) return st;
    memset(feeds, 0, sizeof feeds);
    for (i = 0; i < mc->n_in; i++) {
        size_t n = 1;
        int d;
        for (d = 0; d < mc->nd[i]; d++) n *= (size_t)mc->dims[i][d];
        feeds[i].name = in_names[i];
        feeds[i].dtype = INFER_DTYPE_F32;
        feeds[i].n_dims = mc->nd[i];
        memcpy(feeds[i].dims, mc->dims[i], sizeof feeds[i].dims);
        feeds[i].data = (void *)mc->data[i];
        feeds[i].data_bytes = n * sizeof(float);
        if ((st = i && mc->const_b ? infer_builder_add_constant(b, &feeds[i])
                                   : infer_builder_add_input(b, in_names[i], INFER_DTYPE_F32, mc->nd[i], mc->dims[i], NULL)))
            goto done;
    }
    if ((st = infer_builder_add_node(b, mc->op, "mm", in_names, (size_t)mc->n_in, out_names, 1, mc->attrs,
                                     (size_t)mc->n_attrs)) ||
        (st = infer_builder_add_output(b, "y")) || (st = infer_builder_serialize(b, NULL, 0, &bytes)))
        goto done;
    file = malloc(bytes);
    if (!file) {
        st = INFER_STATUS_OUT_OF_MEMORY;
        goto done;
    }
    if ((st = infer_builder_serialize(b, file, bytes, &bytes)) || (st = infer_model_load_memory(file, bytes, NULL, &m)))
        goto done;
    memset(&opt, 0, sizeof opt);
    opt.n_threads = n_threads;
    opt.force_reference = force_reference;
    if ((st = infer_session_create(m, &opt, &s)) || (st = infer_session_node(s, 0, &info))) goto done;
    *kernel = info.kernel;
    memset(&out, 0, sizeof out);
    out.name = "y";
    out.data = y;
    out.data_bytes = y_bytes;
    st = infer_run(s, feeds, mc->const_b ? 1 : (size_t)mc->n_in, &out, 1);
done:
    infer_session_free(s);
    infer_model_free(m);
    infer_builder_free(b);
    free(file);
    return st;
}

/* The name session creation records for a MatMul/Gemm node on this CPU. */
static const char *expected_kernel(void) {
    int cpu = infer__cpu_features();
    return cpu & INFER__CPU_AVX512 ? "avx512" : cpu & INFER__CPU_AVX2 ? "avx2" : cpu & INFER__CPU_NEON ? "neon" : "ref";
}

/* Runs mc with the chosen kernel (1 and 2 threads, bit-identical) and the reference;
   they agree within tol times the output's scale (at least 1). */
static void compare_api(const mm_case *mc, size_t n_out, double tol) {
    float *y1 = (float *)malloc(n_out * sizeof(float) + 4), *y2 = (float *)malloc(n_out * sizeof(float) + 4);
    float *yr = (float *)malloc(n_out * sizeof(float) + 4);
    double scale = 1;
    const char *k1 = NULL, *k2 = NULL, *kr = NULL;
    size_t i;
    CHECK_OK(mm_run(mc, 1, 0, y1, n_out * sizeof(float), &k1));
    CHECK_OK(mm_run(mc, 2, 0, y2, n_out * sizeof(float), &k2));
    CHECK_OK(mm_run(mc, 1, 1, yr, n_out * sizeof(float), &kr));
    CHECK(k1 && !strcmp(k1, expected_kernel()));
    CHECK(k2 && !strcmp(k2, expected_kernel()));
    CHECK(kr && !strcmp(kr, "ref"));
    CHECK(memcmp(y1, y2, n_out * sizeof(float)) == 0);
    for (i = 0; i < n_out; i++) scale = fmax(scale, fabs((double)yr[i]));
    for (i = 0; i < n_out; i++) /* absolute: activations can shrink values whose error stays */
        if (!(fabs((double)y1[i] - yr[i]) <= tol * scale)) {
            printf("  %s: [%zu] got %.9g, ref %.9g (tol %g x scale %g)\n", mc->op, i, (double)y1[i], (double)yr[i],
                   tol, scale);
            test__failed_checks++;
            break;
        }
    free(y1), free(y2), free(yr);
}

static void test_matmul_batched_broadcast(void) {
    mm_case mc;
    static float a[2 * 1 * 70 * 67], b[3 * 67 * 45];
    test_seed(3);
    test_fill(a, sizeof a / sizeof a[0], -1, 1);
    test_fill(b, sizeof b / sizeof b[0], -1, 1);
    memset(&mc, 0, sizeof mc);
    mc.op = "MatMul";
    mc.n_in = 2;
    mc.nd[0] = 4, mc.dims[0][0] = 2, mc.dims[0][1] = 1, mc.dims[0][2] = 70, mc.dims[0][3] = 67;
    mc.nd[1] = 3, mc.dims[1][0] = 3, mc.dims[1][1] = 67, mc.dims[1][2] = 45;
    mc.data[0] = a, mc.data[1] = b;
    compare_api(&mc, 2 * 3 * 70 * 45, 1e-4);
    /* a vector times a matrix, and a matrix times a vector */
    mc.nd[0] = 1, mc.dims[0][0] = 67;
    compare_api(&mc, 3 * 45, 1e-4);
    mc.nd[0] = 4, mc.dims[0][0] = 2, mc.dims[0][1] = 1, mc.dims[0][2] = 70, mc.dims[0][3] = 67;
    mc.nd[1] = 1, mc.dims[1][0] = 67;
    compare_api(&mc, 2 * 70, 1e-4);
}

static void test_matmul_bias_activations(void) {
    static const char *acts[] = {"None", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "HardSigmoid", "HardSwish",
                                 "Gelu", "GeluTanh", "Silu"};
    static float a[150 * 130], b[130 * 77], bias[77];
    mm_case mc;
    size_t i;
    test_seed(4);
    test_fill(a, sizeof a / sizeof a[0], -1, 1);
    test_fill(b, sizeof b / sizeof b[0], -1, 1);
    test_fill(bias, 77, -1, 1);
    for (i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        memset(&mc, 0, sizeof mc);
        mc.op = "MatMul";
        mc.n_in = 3;
        mc.nd[0] = 2, mc.dims[0][0] = 150, mc.dims[0][1] = 130;
        mc.nd[1] = 2, mc.dims[1][0] = 130, mc.dims[1][1] = 77;
        mc.nd[2] = 1, mc.dims[2][0] = 77;
        mc.data[0] = a, mc.data[1] = b, mc.data[2] = bias;
        mc.attrs[mc.n_attrs++] = infer_attr_string("activation", acts[i]);
        if (!strcmp(acts[i], "Clip")) {
            mc.attrs[mc.n_attrs++] = infer_attr_float("activation_alpha", -1.5f);
            mc.attrs[mc.n_attrs++] = infer_attr_float("activation_beta", 2.0f);
        }
        compare_api(&mc, 150 * 77, 1e-4);
    }
}

static void test_gemm_op_transposes(void) {
    static float a[97 * 81], b[81 * 66], cc[66];
    mm_case mc;
    int t;
    test_seed(5);
    test_fill(a, sizeof a / sizeof a[0], -1, 1);
    test_fill(b, sizeof b / sizeof b[0], -1, 1);
    test_fill(cc, 66, -1, 1);
    for (t = 0; t < 4; t++) {
        int ta = t & 1, tb = t >> 1;
        memset(&mc, 0, sizeof mc);
        mc.op = "Gemm";
        mc.n_in = 3;
        mc.nd[0] = 2, mc.dims[0][0] = ta ? 81 : 97, mc.dims[0][1] = ta ? 97 : 81;
        mc.nd[1] = 2, mc.dims[1][0] = tb ? 66 : 81, mc.dims[1][1] = tb ? 81 : 66;
        mc.nd[2] = 1, mc.dims[2][0] = 66;
        mc.data[0] = a, mc.data[1] = b, mc.data[2] = cc;
        mc.attrs[mc.n_attrs++] = infer_attr_int("transA", ta);
        mc.attrs[mc.n_attrs++] = infer_attr_int("transB", tb);
        mc.attrs[mc.n_attrs++] = infer_attr_float("alpha", 0.5f);
        mc.attrs[mc.n_attrs++] = infer_attr_float("beta", 2.0f);
        mc.attrs[mc.n_attrs++] = infer_attr_string("activation", "Relu");
        compare_api(&mc, 97 * 66, 1e-4);
    }
}

/* A packed once for every band of columns (infer__gemm_shared_a_bytes): more than NC
   columns (packed once even on one thread; two K blocks, an edge of rows), and A^T (not
   read in place) on two threads against one, where one thread packs it as it goes. */
static void test_matmul_shared_a(void) {
    static float a[2 * 13 * 300], b[300 * 1100];
    mm_case mc;
    test_seed(7);
    test_fill(a, sizeof a / sizeof a[0], -1, 1);
    test_fill(b, sizeof b / sizeof b[0], -1, 1);
#if defined(INFER__HAVE_GEMM_SIMD)
    CHECK(infer__gemm_shared_a_bytes(13, 1100, 300, 1) >= 16 * 300 * sizeof(float));
    CHECK(infer__gemm_shared_a_bytes(13, INFER__GEMM_NC, 300, 1) == 0); /* one thread, one block: packed once anyway */
    CHECK(infer__gemm_shared_a_bytes(13, INFER__GEMM_NC, 300, 2) > 0);
    CHECK(infer__gemm_shared_a_bytes(INFER__GEMM_ROWS - 1, 5000, 300, 2) == 0); /* the few-rows path packs nothing */
    CHECK(infer__gemm_shared_a_bytes(1101, 1100, 300, 2) == 0);                  /* bands of rows */
    CHECK(infer__gemm_shared_a_bytes(2048, 4096, 2048, 2) == 0);                 /* over 8 MiB */
#endif
    memset(&mc, 0, sizeof mc);
    mc.op = "MatMul";
    mc.n_in = 2;
    mc.nd[0] = 3, mc.dims[0][0] = 2, mc.dims[0][1] = 13, mc.dims[0][2] = 300;
    mc.nd[1] = 2, mc.dims[1][0] = 300, mc.dims[1][1] = 1100;
    mc.data[0] = a, mc.data[1] = b;
    compare_api(&mc, 2 * 13 * 1100, 1e-4);
    memset(&mc, 0, sizeof mc);
    mc.op = "Gemm";
    mc.n_in = 2;
    mc.nd[0] = 2, mc.dims[0][0] = 33, mc.dims[0][1] = 7;
    mc.nd[1] = 2, mc.dims[1][0] = 33, mc.dims[1][1] = 40;
    mc.data[0] = a, mc.data[1] = b;
    mc.attrs[mc.n_attrs++] = infer_attr_int("transA", 1);
    compare_api(&mc, 7 * 40, 1e-4);
}

/* A MatMul whose B has no batch dims of its own runs as one GEMM over all of A's rows
   (infer__shape_matmul): against a double-precision product per batch item, with B
   [19][23] and [1][1][19][23], and bias + Relu. */
static void test_matmul_rows_folded(void) {
    static float a[2 * 3 * 17 * 19], b[19 * 23], bias[23], y[2 * 3 * 17 * 23];
    mm_case mc;
    const char *kernel = NULL;
    int rank_b, force;
    test_seed(8);
    test_fill(a, sizeof a / sizeof a[0], -1, 1);
    test_fill(b, sizeof b / sizeof b[0], -1, 1);
    test_fill(bias, 23, -1, 1);
    for (rank_b = 2; rank_b <= 4; rank_b += 2)
        for (force = 0; force < 2; force++) {
            int64_t t, i, j, p;
            int bad = 0;
            memset(&mc, 0, sizeof mc);
            mc.op = "MatMul";
            mc.n_in = 3;
            mc.nd[0] = 4, mc.dims[0][0] = 2, mc.dims[0][1] = 3, mc.dims[0][2] = 17, mc.dims[0][3] = 19;
            mc.nd[1] = rank_b, mc.dims[1][0] = mc.dims[1][1] = 1;
            mc.dims[1][rank_b - 2] = 19, mc.dims[1][rank_b - 1] = 23;
            mc.nd[2] = 1, mc.dims[2][0] = 23;
            mc.data[0] = a, mc.data[1] = b, mc.data[2] = bias;
            mc.attrs[mc.n_attrs++] = infer_attr_string("activation", "Relu");
            memset(y, 0, sizeof y);
            CHECK_OK(mm_run(&mc, 2, force, y, sizeof y, &kernel));
            for (t = 0; t < 6 && !bad; t++)
                for (i = 0; i < 17 && !bad; i++)
                    for (j = 0; j < 23 && !bad; j++) {
                        double s = bias[j];
                        for (p = 0; p < 19; p++) s += (double)a[(t * 17 + i) * 19 + p] * b[p * 23 + j];
                        s = s > 0 ? s : 0;
                        if (!(fabs(y[(t * 17 + i) * 23 + j] - s) <= 1e-5 * (1 + fabs(s)))) {
                            printf("  B rank %d, reference %d: [%lld][%lld][%lld] got %.9g, want %.9g\n", rank_b, force,
                                   (long long)t, (long long)i, (long long)j, (double)y[(t * 17 + i) * 23 + j], s);
                            test__failed_checks++;
                            bad = 1;
                        }
                    }
        }
}

/* The fused edge kernel (isa->col16: 16 + w columns of a full tile) gives the bits of the
   two kernels it replaces (part's 16 columns, then col's w), each w, K of 1, 7 and a
   whole block, accumulating into C or not; and a GEMM whose last tile takes it (n = 49, a
   7 x 7 image: 32 + 17) matches the double reference. */
static void test_gemm_edge_fused(void) {
#if defined(INFER__HAVE_AVX2)
    static const int64_t kcs[] = {1, 7, INFER__GEMM_KC};
    static float a[INFER__GEMM_KC * 12], b[INFER__GEMM_KC * 32], c0[12 * 40], c1[12 * 40], c2[12 * 40];
    const infer__gemm_isa *isa = &infer__isa_avx512;
    int w, acc;
    size_t i;
    if (!(infer__cpu_features() & INFER__CPU_AVX512)) {
        SKIP("no AVX-512 on this CPU");
    }
    test_seed(9);
    for (i = 0; i < sizeof kcs / sizeof kcs[0]; i++)
        for (w = 1; w <= 8; w++)
            for (acc = 0; acc < 2; acc++) {
                test_fill(a, sizeof a / sizeof a[0], -1, 1);
                test_fill(b, sizeof b / sizeof b[0], -1, 1);
                test_fill(c0, sizeof c0 / sizeof c0[0], -9, 9);
                memcpy(c1, c0, sizeof c0), memcpy(c2, c0, sizeof c0);
                isa->col16(w, kcs[i], a, b, c1, 40, acc);
                isa->part(2, 1, kcs[i], a, b, c2, 40, acc);
                isa->col(w, kcs[i], a, b + 16, c2 + 16, 40, acc, 12);
                if (memcmp(c1, c2, sizeof c1) != 0) {
                    printf("  col16 w=%d kc=%lld acc=%d: not the bits of part + col\n", w, (long long)kcs[i], acc);
                    test__failed_checks++;
                    return;
                }
            }
    for (i = 0; i < sizeof kcs / sizeof kcs[0]; i++)
        if (!check_shape(24 + 5, 49, 2 * kcs[i] + 3, 0, (int)i & 1)) return;
#else
    SKIP("no x86 SIMD kernels in this build");
#endif
}

/* 1 and 2 threads through a session: a size where the kernel really splits the work. */
/* A row of C has the same bits whatever the row count: fewer than INFER__GEMM_ROWS rows
   run the row kernel (or, on pre-packed weights, the few-rows kernel), more the packed
   micro-kernels, and all must sum each column over k
   in the same order with fused multiply-adds (infer-run's outputs are equal bit for bit
   at every batch size). Each row of an 8-row GEMM against the same row alone and among
   2 and 3, on every kernel set the CPU runs; n covers the row kernels' tails (AVX2's ran
   unfused scalar code there, so batch 1 differed from batch 8 in the last bit). */
static void test_rows_bitwise(void) {
    static const int64_t ns[] = {1, 3, 5, 7, 8, 9, 17, 31, 33, 40, 65}, ks[] = {1, 7, 300};
    const infer__gemm_isa *isas[3];
    const char *names[3];
    int n_isa = gemm_isas(isas, names), v;
    size_t i, j;
    static float a[8 * 300], b[300 * 65], c8[8 * 65], cr[3 * 65], packed[300 * 96];
    static unsigned char scratch[1 << 20];
    if (!n_isa) SKIP("no SIMD kernels on this CPU");
    test_seed(8);
    test_fill(a, sizeof a / sizeof a[0], -1, 1);
    test_fill(b, sizeof b / sizeof b[0], -1, 1);
    for (v = 0; v < n_isa; v++)
        for (i = 0; i < sizeof ns / sizeof ns[0]; i++)
            for (j = 0; j < sizeof ks / sizeof ks[0]; j++) {
                int64_t n = ns[i], k = ks[j], r, m;
                CHECK(infer__gemm_f32_scratch(8, n, k, 1) <= sizeof scratch);
                infer__gemm_f32(NULL, isas[v], 8, n, k, a, k, 1, b, n, 1, c8, 1, scratch, sizeof scratch);
                CHECK(infer__packed_b_floats(isas[v], n, k) <= sizeof packed / sizeof packed[0]);
                infer__pack_b_all(isas[v], packed, b, n, 1, n, k);
                for (m = 1; m <= 3; m++)
                    for (r = 0; r + m <= 8; r += m) {
                        int pre; /* B in place, then pre-packed (infer__gemm_f32_few_task), on 1 and 2 threads */
                        for (pre = 0; pre < 3; pre++) {
                            memset(cr, 0, sizeof cr);
                            if (!pre)
                                infer__gemm_f32(NULL, isas[v], m, n, k, a + r * k, k, 1, b, n, 1, cr, 1, scratch, sizeof scratch);
                            else {
                                infer__gemm_job g;
                                memset(&g, 0, sizeof g);
                                g.isa = isas[v], g.m = m, g.n = n, g.k = k, g.a = a + r * k, g.a_rs = k, g.a_cs = 1;
                                g.c = cr, g.b_packed = packed, g.b_cs = 1;
                                infer__gemm_f32_job_run(team_ctx(pre), &g, pre, scratch, sizeof scratch);
                            }
                            if (memcmp(cr, c8 + r * n, (size_t)(m * n) * sizeof(float)) != 0) {
                                printf("  %s n=%lld k=%lld%s: rows %lld..%lld alone differ from the 8-row GEMM's\n", names[v],
                                       (long long)n, (long long)k, pre ? ", B pre-packed" : "", (long long)r,
                                       (long long)(r + m - 1));
                                test__failed_checks++;
                                return;
                            }
                        }
                    }
            }
}

/* Weights the session packs once, times 1 to 3 rows (infer__gemm_f32_few_task) and 4:
   MatMul with a fused bias and Relu, and Gemm with B^T (a classifier's Linear), a bias C
   and Relu, on odd column counts (a partial last panel) and K of 1, 7 and over one K
   block, against the reference on 1 and 2 threads; and each row alone has the bits it
   has among 8 rows (the packed kernels'): batch 1 and batch 8 agree bit for bit. */
static void test_few_rows_packed(void) {
    static const int64_t ns[] = {1, 3, 17, 33, 1000}, ks[] = {1, 7, 300};
    static float a[8 * 300], b[300 * 1000], bias[1000], y8[8 * 1000], y1[1000];
    size_t i, j;
    int m, tb;
    test_seed(10);
    test_fill(a, sizeof a / sizeof a[0], -1, 1);
    test_fill(b, sizeof b / sizeof b[0], -1, 1);
    test_fill(bias, 1000, -1, 1);
    for (i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (j = 0; j < sizeof ks / sizeof ks[0]; j++)
            for (tb = -1; tb <= 1; tb++) { /* -1: MatMul; 0, 1: Gemm's transB */
                const int64_t n = ns[i], k = ks[j];
                const char *kernel = NULL;
                int64_t r;
                mm_case mc;
                memset(&mc, 0, sizeof mc);
                mc.op = tb < 0 ? "MatMul" : "Gemm";
                mc.n_in = 3, mc.const_b = 1;
                mc.nd[0] = 2, mc.dims[0][1] = k;
                mc.nd[1] = 2, mc.dims[1][0] = tb == 1 ? n : k, mc.dims[1][1] = tb == 1 ? k : n;
                mc.nd[2] = 1, mc.dims[2][0] = n;
                mc.data[0] = a, mc.data[1] = b, mc.data[2] = bias;
                mc.attrs[mc.n_attrs++] = infer_attr_string("activation", "Relu");
                if (tb >= 0) mc.attrs[mc.n_attrs++] = infer_attr_int("transB", tb);
                for (m = 1; m <= 4; m++) {
                    mc.dims[0][0] = m;
                    compare_api(&mc, (size_t)(m * n), 1e-4);
                }
                mc.dims[0][0] = 8;
                CHECK_OK(mm_run(&mc, 1, 0, y8, sizeof y8, &kernel));
                for (r = 0; r < 8; r++) {
                    mc.dims[0][0] = 1, mc.data[0] = a + r * k;
                    CHECK_OK(mm_run(&mc, 1, 0, y1, sizeof y1, &kernel));
                    if (memcmp(y1, y8 + r * n, (size_t)n * sizeof(float)) != 0) {
                        printf("  %s transB %d n=%lld k=%lld: row %lld alone differs from the 8-row run's\n", mc.op, tb,
                               (long long)n, (long long)k, (long long)r);
                        test__failed_checks++;
                        return;
                    }
                }
            }
}

/* Weights the session packs once, times enough rows for full tiles (the kernel that
   fetches a share of the next panel as it goes, infer__ukr_nx_avx512), against the
   reference on 1 and 2 threads: odd column counts (a partial last panel, whose share is
   fetched by the panel before it), K of 7 and over one K block, with the bias and Relu
   in the kernel's registers, none, and GELU after it (the epilogue pass); on an AVX-512
   CPU also with AVX2's kernels (the CPU check's cached answer narrowed) */
static void packed_many_rows(const float *a, const float *b, const float *bias) {
    static const int64_t ms[] = {12, 25, 131}, ns[] = {33, 100, 1000}, ks[] = {7, 300};
    static const char *acts[] = {"Relu", NULL, "Gelu"};
    size_t i, j, l, q;
    for (i = 0; i < sizeof ms / sizeof ms[0]; i++)
        for (j = 0; j < sizeof ns / sizeof ns[0]; j++)
            for (l = 0; l < sizeof ks / sizeof ks[0]; l++)
                for (q = 0; q < sizeof acts / sizeof acts[0]; q++) {
                    mm_case mc;
                    memset(&mc, 0, sizeof mc);
                    mc.op = "MatMul";
                    mc.n_in = 3, mc.const_b = 1;
                    mc.nd[0] = 2, mc.dims[0][0] = ms[i], mc.dims[0][1] = ks[l];
                    mc.nd[1] = 2, mc.dims[1][0] = ks[l], mc.dims[1][1] = ns[j];
                    mc.nd[2] = 1, mc.dims[2][0] = ns[j];
                    mc.data[0] = a, mc.data[1] = b, mc.data[2] = bias;
                    if (acts[q]) mc.attrs[mc.n_attrs++] = infer_attr_string("activation", acts[q]);
                    compare_api(&mc, (size_t)(ms[i] * ns[j]), 1e-4);
                }
}
static void test_packed_many_rows(void) {
    static float a[131 * 300], b[300 * 1000], bias[1000];
    test_seed(12);
    test_fill(a, sizeof a / sizeof a[0], -1, 1);
    test_fill(b, sizeof b / sizeof b[0], -1, 1);
    test_fill(bias, 1000, -1, 1);
    packed_many_rows(a, b, bias);
#if defined(INFER__HAVE_AVX2)
    if ((infer__cpu_features() & INFER__CPU_AVX512) && (infer__cpu_features() & INFER__CPU_AVX2)) {
        __atomic_store_n(&infer__cpu_cache, 0x100 | INFER__CPU_AVX2, __ATOMIC_RELAXED);
        packed_many_rows(a, b, bias);
        __atomic_store_n(&infer__cpu_cache, 0, __ATOMIC_RELAXED); /* asked again next time */
    }
#endif
}

static void test_threads_identical(void) {
    static float a[256 * 300], b[300 * 530];
    mm_case mc;
    test_seed(6);
    test_fill(a, sizeof a / sizeof a[0], -1, 1);
    test_fill(b, sizeof b / sizeof b[0], -1, 1);
    memset(&mc, 0, sizeof mc);
    mc.op = "MatMul";
    mc.n_in = 2;
    mc.nd[0] = 2, mc.dims[0][0] = 256, mc.dims[0][1] = 300;
    mc.nd[1] = 2, mc.dims[1][0] = 300, mc.dims[1][1] = 530;
    mc.data[0] = a, mc.data[1] = b;
    compare_api(&mc, 256 * 530, 1e-4);
}

int main(void) {
    printf("# cpu: avx2 %d, avx512 %d, neon %d\n", !!(infer__cpu_features() & INFER__CPU_AVX2),
           !!(infer__cpu_features() & INFER__CPU_AVX512), !!(infer__cpu_features() & INFER__CPU_NEON));
    RUN(test_gemm_small_sizes);
    RUN(test_gemm_large_sizes);
    RUN(test_gemm_rows_in_place);
    RUN(test_gemm_b_in_place);
    RUN(test_gemm_edge_fused);
    RUN(test_gemm_bands);
    RUN(test_few_rows_packed);
    RUN(test_packed_many_rows);
    RUN(test_matmul_batched_broadcast);
    RUN(test_matmul_rows_folded);
    RUN(test_matmul_bias_activations);
    RUN(test_gemm_op_transposes);
    RUN(test_matmul_shared_a);
    RUN(test_threads_identical);
    RUN(test_rows_bitwise);
    return test_finish();
}
