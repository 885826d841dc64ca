/* tests/test_vecmath.c - the vector math (exp, tanh, erf, sigmoid, GELU, SiLU) of each ISA
   the CPU has against libm in double, over wide ranges and special values, with a stated
   maximum error in ulp; then the SIMD element-wise, Softmax, LayerNormalization and
   Attention kernels (AVX2, AVX-512; NEON on AArch64) against the reference kernels on
   odd sizes, 1 and 2 threads.
   White-box: it sets the CPU-feature cache to pick each ISA's variants in turn. */
#define INFER_IMPLEMENTATION
#if defined(__GNUC__) && !defined(__clang__)
/* op_run inlined into a white-box program: gcc cannot see n_out bounds the names it fills */
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "test.h"

#if defined(INFER__HAVE_AVX2) || defined(INFER__HAVE_NEON)
/* ulp of a float near |w| (subnormal spacing below 2^-126) */
static double ulp_of(double w) {
    int e;
    w = fabs(w);
    if (w < ldexp(1.0, -126)) return ldexp(1.0, -149);
    frexp(w, &e);
    return ldexp(1.0, e - 24);
}

static double ref_fn(int kind, double x) {
    switch (kind) {
    case INFER__VK_EXP: return exp(x);
    case INFER__ACT_TANH: return tanh(x);
    case INFER__VK_ERF: return erf(x);
    case INFER__ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case INFER__ACT_GELU: return 0.5 * x * erfc(-x / sqrt(2.0));
    case INFER__ACT_GELU_TANH: { /* given the float argument 2u the kernels (and the reference kernel) form:
                                     its rounding, 2^-24 |2u| relative, is the formula's own */
        float xf = (float)x, u = -1.5957691216057308f * fmaf(0.044715f * xf, xf * xf, xf);
        return x / (1.0 + exp((double)u));
    }
    case INFER__ACT_SILU: return x / (1.0 + exp(-x));
    default: return x;
    }
}
#endif

/* The maximum error of each function in ulp over [-120, 120] (a fine sweep, random
   values at every scale down to 1e-30, subnormals, +-0, +-inf, NaN); where the exact
   result is below 2^-100 (GELU's and SiLU's far negative tails go through subnormal
   intermediates and may flush to 0), the error must be below 2^-100 instead. */
static void test_vecmath_ulp(void) {
#if defined(INFER__HAVE_AVX2) || defined(INFER__HAVE_NEON)
    static const struct { int kind; const char *name; double max_ulp; } fns[] = {
        {INFER__VK_EXP, "exp", 2}, {INFER__ACT_TANH, "tanh", 3}, {INFER__VK_ERF, "erf", 3},
        {INFER__ACT_SIGMOID, "sigmoid", 3}, {INFER__ACT_GELU, "gelu", 8}, {INFER__ACT_GELU_TANH, "gelu_tanh", 4},
        {INFER__ACT_SILU, "silu", 4}};
    const infer__vec_isa *isas[2];
    const char *names[2];
    int n_isa = 0, cpu = infer__cpu_features(), v;
    size_t f, i, n = 0, cap = 400000;
    float *x = (float *)malloc(cap * sizeof(float)), *y = (float *)malloc(cap * sizeof(float));
#if defined(INFER__HAVE_AVX2)
    if (cpu & INFER__CPU_AVX512) isas[n_isa] = &infer__vec_avx512, names[n_isa++] = "avx512";
    if (cpu & INFER__CPU_AVX2) isas[n_isa] = &infer__vec_avx2, names[n_isa++] = "avx2";
#endif
#if defined(INFER__HAVE_NEON)
    if (cpu & INFER__CPU_NEON) isas[n_isa] = &infer__vec_neon, names[n_isa++] = "neon";
#endif
    if (!n_isa) {
        free(x), free(y);
        return;
    }
    for (i = 0; i < 240000; i++) x[n++] = (float)(-120.0 + 240.0 * (double)i / 240000.0);
    for (i = 0; i < 100000; i++) x[n++] = (float)((test_rand_u64() & 1 ? -1 : 1) * pow(10.0, test_uniform(-30, 2.1)));
    {
        static const float sp[] = {0.0f, -0.0f, 1e-40f, -1e-40f, 1.17e-38f, 88.7f, 88.73f, -87.3f, -103.0f, -104.5f,
                                   0.625f, -0.625f, 1.0f, -1.0f, 9.0f, -9.0f, 3.4e38f, -3.4e38f};
        for (i = 0; i < sizeof sp / sizeof sp[0]; i++) x[n++] = sp[i];
        x[n++] = INFINITY, x[n++] = -INFINITY, x[n++] = NAN;
    }
    for (v = 0; v < n_isa; v++)
        for (f = 0; f < sizeof fns / sizeof fns[0]; f++) {
            double worst = 0, wx = 0;
            isas[v]->map(fns[f].kind, y, x, (int64_t)n, 0, 0);
            for (i = 0; i < n; i++) {
                double w = ref_fn(fns[f].kind, (double)x[i]), g = y[i], e;
                if (isnan(w) || isnan(g)) {
                    if (!(isnan(w) && isnan(g))) worst = INFINITY, wx = x[i];
                    continue;
                }
                if (fabs(w) > 3.4028234663852886e38) w = w > 0 ? INFINITY : -INFINITY; /* beyond float */
                if (isinf(w) || isinf(g)) {
                    if (g != w) worst = INFINITY, wx = x[i];
                    continue;
                }
                if (fabs(w) < ldexp(1.0, -100)) { /* a tiny result: an absolute bound */
                    if (fabs(g - w) > ldexp(1.0, -100)) worst = INFINITY, wx = x[i];
                    continue;
                }
                e = fabs(g - w) / ulp_of(w);
                if (e > worst) worst = e, wx = x[i];
            }
            printf("  %s %-9s max %.2f ulp (at x = %.9g), bound %g\n", names[v], fns[f].name, worst, wx, fns[f].max_ulp);
            CHECK(worst <= fns[f].max_ulp);
        }
    free(x);
    free(y);
#endif
}

/* Each map kind gives the same bits for a value whatever its place: in a block of four
   vectors (infer__vmap4_*), a single vector, or the padded tail (a map of one value); and
   the GEMM's tile epilogue, whose full tiles take two rows as four vectors, gives the bits
   of the bias adds and then the map. n = 4 W 3 + W + 5 values over +-30, with 0, -0, inf
   and NaN among them. */
static void test_vact_blocks_bitwise(void) {
#if defined(INFER__HAVE_AVX2) || defined(INFER__HAVE_NEON)
    static const int kinds[] = {INFER__ACT_RELU,       INFER__ACT_LEAKY_RELU, INFER__ACT_SIGMOID,   INFER__ACT_TANH,
                                INFER__ACT_CLIP,       INFER__ACT_HARD_SIGMOID, INFER__ACT_HARD_SWISH, INFER__ACT_GELU,
                                INFER__ACT_GELU_TANH, INFER__ACT_SILU,       INFER__VK_EXP,        INFER__VK_ERF,
                                INFER__VK_SWISH};
    const infer__vec_isa *isas[3];
    const infer__gemm_isa *gisas[3];
    const char *names[3];
    int n_isa = 0, cpu = infer__cpu_features(), v;
    size_t f;
    test_seed(31);
#if defined(INFER__HAVE_AVX2)
    if (cpu & INFER__CPU_AVX512) isas[n_isa] = &infer__vec_avx512, gisas[n_isa] = &infer__isa_avx512, names[n_isa++] = "avx512";
    if (cpu & INFER__CPU_AVX2) isas[n_isa] = &infer__vec_avx2, gisas[n_isa] = &infer__isa_avx2, names[n_isa++] = "avx2";
#endif
#if defined(INFER__HAVE_NEON)
    if (cpu & INFER__CPU_NEON) isas[n_isa] = &infer__vec_neon, gisas[n_isa] = &infer__isa_neon, names[n_isa++] = "neon";
#endif
    if (!n_isa) SKIP("no SIMD kernels on this CPU");
    for (v = 0; v < n_isa; v++)
        for (f = 0; f < sizeof kinds / sizeof kinds[0]; f++) {
            const int64_t w = isas[v]->width, n = 4 * w * 3 + w + 5, nr = gisas[v]->nr, rows = 5;
            const infer__act act = {kinds[f], 0.3f, kinds[f] == INFER__ACT_CLIP ? 2.5f : 0.4f};
            float x[4 * 16 * 3 + 16 + 5], all[sizeof x / sizeof x[0]], one, tile[5 * 40], want[5 * 40];
            float rb[5], cb[32];
            int64_t i, j;
            test_fill(x, (size_t)n, -30, 30);
            x[3] = 0.0f, x[w + 1] = -0.0f, x[4 * w + 2] = INFINITY, x[8 * w + 5] = -INFINITY, x[n - 2] = NAN;
            isas[v]->map(kinds[f], all, x, n, act.alpha, act.beta);
            for (i = 0; i < n; i++) {
                isas[v]->map(kinds[f], &one, x + i, 1, act.alpha, act.beta);
                if (memcmp(&one, all + i, sizeof one) != 0) {
                    printf("  %s kind %d: x[%lld] = %.9g gives %.9g in a block, %.9g alone\n", names[v], kinds[f],
                           (long long)i, (double)x[i], (double)all[i], (double)one);
                    test__failed_checks++;
                    break;
                }
            }
            if (kinds[f] >= INFER__VK_EXP || !gisas[v]->epi) continue; /* the epilogue takes activations only */
            test_fill(tile, sizeof tile / sizeof tile[0], -6, 6);
            test_fill(rb, 5, -1, 1);
            test_fill(cb, 32, -1, 1);
            tile[7] = -0.0f;
            for (i = 0; i < rows; i++)
                for (j = 0; j < nr; j++) {
                    float s = tile[i * 40 + j] + rb[i];
                    s = s + cb[j];
                    isas[v]->map(kinds[f], &want[i * 40 + j], &s, 1, act.alpha, act.beta);
                }
            gisas[v]->epi(tile, 40, rows, nr, rb, cb, &act);
            for (i = 0; i < rows; i++)
                if (memcmp(tile + i * 40, want + i * 40, (size_t)nr * sizeof(float)) != 0) {
                    printf("  %s kind %d: the tile epilogue's row %lld differs from the bias adds and the map\n", names[v],
                           kinds[f], (long long)i);
                    test__failed_checks++;
                    break;
                }
        }
#else
    SKIP("no SIMD kernels in this build");
#endif
}

/* -- kernels against the reference, through one-op models -- */

/* CPU features the variant choice sees: 0x100 | bits (0x100 alone: the reference) */
static void use_cpu(int bits) { __atomic_store_n(&infer__cpu_cache, 0x100 | bits, __ATOMIC_RELAXED); }

static int levels[3], n_levels;
static const char *level_names[3];

static void find_levels(void) {
    int cpu;
    __atomic_store_n(&infer__cpu_cache, 0, __ATOMIC_RELAXED);
    cpu = infer__cpu_features();
    n_levels = 0;
    if (cpu & INFER__CPU_AVX512) levels[n_levels] = INFER__CPU_AVX512 | INFER__CPU_AVX2, level_names[n_levels++] = "avx512";
    if (cpu & INFER__CPU_AVX2) levels[n_levels] = INFER__CPU_AVX2, level_names[n_levels++] = "avx2";
    if (cpu & INFER__CPU_NEON) levels[n_levels] = INFER__CPU_NEON, level_names[n_levels++] = "neon";
    levels[n_levels] = 0, level_names[n_levels++] = "ref";
}

/* Runs c at every level and 1 and 2 threads; output 0 must match the reference run (1
   thread) within rtol, or for rtol < 0 bit for bit (the sign of a zero, a NaN's bits). */
static void check_levels(op_case *c, const char *what, double rtol) {
    infer_tensor want;
    double *wd;
    size_t n, i;
    int l, t;
    char buf[256];
    use_cpu(0);
    c->n_threads = 1;
    if (op_run(c) != INFER_STATUS_OK) {
        printf("  %s: reference run failed: %s\n", what, c->error);
        test__failed_checks++;
        return;
    }
    want = c->out[0];
    c->out[0].data = NULL;
    op_free(c);
    n = want.data_bytes / sizeof(float);
    wd = (double *)malloc((n + 1) * sizeof(double));
    for (i = 0; i < n; i++) wd[i] = ((const float *)want.data)[i];
    for (l = 0; l < n_levels; l++)
        for (t = 1; t <= 2; t++) {
            use_cpu(levels[l]);
            c->n_threads = t;
            snprintf(buf, sizeof buf, "%s %s %d thread(s)", what, level_names[l], t);
            if (op_run(c) != INFER_STATUS_OK) {
                printf("  %s: %s\n", buf, c->error);
                test__failed_checks++;
            } else if (rtol >= 0) {
                test_close(buf, (const float *)c->out[0].data, wd, n, rtol);
            } else if (c->out[0].data_bytes != want.data_bytes || memcmp(c->out[0].data, want.data, want.data_bytes)) {
                const uint32_t *g = (const uint32_t *)c->out[0].data, *w = (const uint32_t *)want.data;
                i = 0;
                while (i + 1 < n && g[i] == w[i]) i++;
                printf("  %s: [%zu] bits %08x, the reference's %08x\n", buf, i, (unsigned)g[i], (unsigned)w[i]);
                test__failed_checks++;
            }
            op_free(c);
        }
    free(want.data);
    free(wd);
    use_cpu(0);
    __atomic_store_n(&infer__cpu_cache, 0, __ATOMIC_RELAXED);
}

static const int64_t sizes[] = {1, 3, 7, 17, 1000, 4099};
#define N_SIZES (sizeof sizes / sizeof sizes[0])

static void test_unary_kernels(void) {
    static const char *ops[] = {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Erf", "Gelu", "Gelu", "Exp", "Swish"};
    size_t o, s;
    find_levels();
    for (o = 0; o < sizeof ops / sizeof ops[0]; o++)
        for (s = 0; s < N_SIZES; s++) {
            int64_t d[1];
            float *x = (float *)malloc((size_t)sizes[s] * sizeof(float));
            op_case c;
            char what[64];
            d[0] = sizes[s];
            test_fill(x, (size_t)sizes[s], -8, 8);
            if (sizes[s] > 3) x[0] = NAN, x[1] = INFINITY, x[2] = -INFINITY;
            memset(&c, 0, sizeof c);
            c.op = ops[o];
            c.in[0] = op_in("x", INFER_DTYPE_F32, 1, d, x);
            c.n_in = 1;
            if (o == 6) c.attrs[c.n_attrs++] = infer_attr_string("approximate", "tanh");
            snprintf(what, sizeof what, "%s%s [%lld]", ops[o], o == 6 ? "(tanh)" : "", (long long)sizes[s]);
            check_levels(&c, what, 1e-5);
            free(x);
        }
}

static void test_binary_kernels(void) {
    static const char *ops[] = {"Add", "Sub", "Mul", "Div"};
    static const int64_t rows[] = {1, 3, 7}, lens[] = {1, 3, 7, 17, 33, 1000};
    size_t o, r, l;
    int form;
    find_levels();
    for (o = 0; o < 4; o++)
        for (r = 0; r < 3; r++)
            for (l = 0; l < 6; l++)
                for (form = 0; form < 5; form++) { /* same shape; bias b; bias a; scalar b; scalar a */
                    int64_t da[2] = {rows[r], lens[l]}, db[2] = {rows[r], lens[l]}, one = 1;
                    int ra = 2, rb = 2;
                    float *a = (float *)malloc((size_t)(rows[r] * lens[l]) * sizeof(float));
                    float *b = (float *)malloc((size_t)(rows[r] * lens[l]) * sizeof(float));
                    op_case c;
                    char what[96];
                    test_fill(a, (size_t)(rows[r] * lens[l]), -4, 4);
                    test_fill(b, (size_t)(rows[r] * lens[l]), 0.5, 4);
                    if (form == 1) rb = 1, db[0] = lens[l];
                    if (form == 2) ra = 1, da[0] = lens[l];
                    if (form == 3) rb = 1, db[0] = one;
                    if (form == 4) ra = 0;
                    memset(&c, 0, sizeof c);
                    c.op = ops[o];
                    c.in[0] = op_in("a", INFER_DTYPE_F32, ra, da, a);
                    c.in[1] = op_in("b", INFER_DTYPE_F32, rb, db, b);
                    c.n_in = 2;
                    snprintf(what, sizeof what, "%s [%lld x %lld] form %d", ops[o], (long long)rows[r], (long long)lens[l], form);
                    check_levels(&c, what, 1e-6);
                    free(a);
                    free(b);
                }
}

/* per-channel scalar broadcasts of [N,C,H,W] (an SE block's Mul by [N,C,1,1]; [C,1,1];
   [1,C,1,1] as the first operand; a [N,C,1,W] that stays on the reference), and
   GlobalAveragePool, on odd shapes */
static void test_channel_kernels(void) {
    static const int64_t ns[] = {1, 3}, cs[] = {1, 3, 7, 17}, hws[][2] = {{1, 1}, {1, 7}, {3, 7}, {17, 17}};
    size_t ni, ci, hi;
    int form;
    find_levels();
    for (ni = 0; ni < 2; ni++)
        for (ci = 0; ci < 4; ci++)
            for (hi = 0; hi < 4; hi++) {
                int64_t dx[4] = {ns[ni], cs[ci], hws[hi][0], hws[hi][1]}, nx = dx[0] * dx[1] * dx[2] * dx[3];
                float *x = (float *)malloc((size_t)nx * sizeof(float)), *s = (float *)malloc((size_t)nx * sizeof(float));
                op_case c;
                char what[96];
                test_fill(x, (size_t)nx, -4, 4);
                test_fill(s, (size_t)nx, 0.5, 4);
                for (form = 0; form < 4; form++) {
                    int64_t ds[4] = {dx[0], dx[1], 1, 1};
                    int rs = 4, swap = form == 2;
                    if (form == 1) rs = 3, ds[0] = dx[1], ds[1] = ds[2] = 1;
                    if (form == 2) ds[0] = 1;
                    if (form == 3) ds[3] = dx[3];
                    memset(&c, 0, sizeof c);
                    c.op = form == 2 ? "Sub" : "Mul";
                    c.in[swap] = op_in("x", INFER_DTYPE_F32, 4, dx, x);
                    c.in[!swap] = op_in("s", INFER_DTYPE_F32, rs, ds, s);
                    c.n_in = 2;
                    snprintf(what, sizeof what, "%s [%lld,%lld,%lld,%lld] form %d", c.op, (long long)dx[0],
                             (long long)dx[1], (long long)dx[2], (long long)dx[3], form);
                    check_levels(&c, what, 1e-6);
                }
                memset(&c, 0, sizeof c);
                c.op = "GlobalAveragePool";
                c.in[0] = op_in("x", INFER_DTYPE_F32, 4, dx, x);
                c.n_in = 1;
                snprintf(what, sizeof what, "GlobalAveragePool [%lld,%lld,%lld,%lld]", (long long)dx[0],
                         (long long)dx[1], (long long)dx[2], (long long)dx[3]);
                check_levels(&c, what, 1e-6);
                free(x);
                free(s);
            }
}

/* MaxPool of x [dx] (k ks, strides st, pads, ceil_mode ceil) at every level (check_levels) */
static void check_max_pool(const char *tag, const int64_t *dx, const float *x, const int64_t *ks, const int64_t *st,
                           const int64_t *pads, int ceil, double rtol) {
    op_case c;
    char what[160];
    memset(&c, 0, sizeof c);
    c.op = "MaxPool";
    c.in[0] = op_in("x", INFER_DTYPE_F32, 4, dx, x);
    c.n_in = 1;
    c.attrs[c.n_attrs++] = infer_attr_ints("kernel_shape", ks, 2);
    c.attrs[c.n_attrs++] = infer_attr_ints("strides", st, 2);
    c.attrs[c.n_attrs++] = infer_attr_ints("pads", pads, 4);
    c.attrs[c.n_attrs++] = infer_attr_int("ceil_mode", ceil);
    snprintf(what, sizeof what, "%s [%lld,%lld,%lld,%lld] k%lldx%lld s%lld,%lld p%lld,%lld,%lld,%lld ceil %d", tag,
             (long long)dx[0], (long long)dx[1], (long long)dx[2], (long long)dx[3], (long long)ks[0], (long long)ks[1],
             (long long)st[0], (long long)st[1], (long long)pads[0], (long long)pads[1], (long long)pads[2],
             (long long)pads[3], ceil);
    check_levels(&c, what, rtol);
}

/* 2-D MaxPool on odd shapes: kernels 1-5, strides 1-3, pads, ceil_mode (the AVX2 kernel
   takes stride 1 or 2 along the row; the rest, and every border, run as the reference) */
static void test_max_pool_kernels(void) {
    static const int64_t hws[][2] = {{1, 1}, {3, 7}, {7, 17}, {17, 40}, {112, 112}};
    int i;
    find_levels();
    test_seed(31);
    for (i = 0; i < 40; i++) {
        int64_t hw = test_int(0, 4), k0 = test_int(1, 5), k1 = test_int(1, 5), dx[4], ks[2], st[2], pads[4];
        float *x;
        dx[0] = test_int(1, 2), dx[1] = i < 4 ? 64 : test_int(1, 17), dx[2] = hws[hw][0], dx[3] = hws[hw][1];
        if (i < 4) dx[2] = dx[3] = 112, k0 = k1 = 3; /* the ResNet stem's pool */
        k0 = INFER__MIN(k0, dx[2]), k1 = INFER__MIN(k1, dx[3]);
        ks[0] = k0, ks[1] = k1, st[0] = test_int(1, 3), st[1] = i < 4 ? 2 : test_int(1, 3);
        pads[0] = test_int(0, (k0 - 1) / 2), pads[1] = test_int(0, (k1 - 1) / 2), pads[2] = test_int(0, (k0 - 1) / 2),
        pads[3] = test_int(0, (k1 - 1) / 2);
        x = (float *)malloc((size_t)(dx[0] * dx[1] * dx[2] * dx[3]) * sizeof(float));
        test_fill(x, (size_t)(dx[0] * dx[1] * dx[2] * dx[3]), -4, 4);
        check_max_pool("MaxPool", dx, x, ks, st, pads, test_int(0, 1), 0);
        free(x);
    }
}

/* 3 x 3 MaxPool on a stride 2 along the row, padded by 1 at its start (the ResNets' pool,
   which AVX-512 runs 16 outputs at a time with each chunk's first tap from the chunk
   before): rows of 1 to 1000, chunk ends among them, bit for bit against the reference,
   inputs of few values (ties), both zeros, infinities, and NaN in some cases, one of
   them in the column a chunk takes from the one before (31) */
static void test_max_pool_3s2_bits(void) {
    static const int64_t ws[] = {1, 2, 3, 7, 17, 31, 32, 33, 34, 63, 64, 65, 112, 1000};
    static const float vals[] = {-1.5f, -0.0f, 0.0f, 0.5f, 2.0f, INFINITY, -INFINITY};
    size_t wi;
    int i;
    find_levels();
    test_seed(37);
    for (wi = 0; wi < sizeof ws / sizeof ws[0]; wi++)
        for (i = 0; i < 4; i++) {
            int64_t k0 = 1 + i % 3, dx[4] = {1 + i / 3, 3, 1 + 2 * i + (int64_t)wi % 3, ws[wi]}, ks[2] = {k0, 3};
            int64_t st[2] = {1 + i % 2, 2}, pads[4] = {i % 2 && k0 > 1, 1, 0, i % 2}, n, j;
            float *x;
            pads[2] = INFER__MAX(0, k0 - dx[2] - pads[0]), pads[3] = INFER__MAX(pads[3], 2 - dx[3]); /* a valid window */
            n = dx[0] * dx[1] * dx[2] * dx[3];
            x = (float *)malloc((size_t)n * sizeof(float));
            for (j = 0; j < n; j++) x[j] = vals[test_int(0, i == 3 ? 6 : 4)];
            if (i >= 2) {
                x[test_int(0, (int)n - 1)] = NAN;
                if (dx[3] > 31) x[dx[3] * (dx[2] - 1) + 31] = NAN;
            }
            check_max_pool("MaxPool 3s2", dx, x, ks, st, pads, i % 2, -1);
            free(x);
        }
}

static void test_softmax_layer_norm_kernels(void) {
    static const int64_t rows[] = {1, 3, 7, 17}, lens[] = {1, 3, 7, 17, 33, 130, 1000};
    size_t r, l;
    int k;
    find_levels();
    for (r = 0; r < 4; r++)
        for (l = 0; l < 7; l++)
            for (k = 0; k < 5; k++) { /* Softmax, LogSoftmax, LayerNorm (bias), LayerNorm (no bias), Softmax axis 0 */
                int64_t d[2] = {rows[r], lens[l]}, dl[1] = {lens[l]};
                float *x = (float *)malloc((size_t)(rows[r] * lens[l]) * sizeof(float));
                float *g = (float *)malloc((size_t)lens[l] * sizeof(float)), *b = (float *)malloc((size_t)lens[l] * sizeof(float));
                op_case c;
                char what[96];
                test_fill(x, (size_t)(rows[r] * lens[l]), -6, 6);
                test_fill(g, (size_t)lens[l], 0.5, 2);
                test_fill(b, (size_t)lens[l], -1, 1);
                memset(&c, 0, sizeof c);
                c.op = k < 2 || k == 4 ? (k == 1 ? "LogSoftmax" : "Softmax") : "LayerNormalization";
                c.in[0] = op_in("x", INFER_DTYPE_F32, 2, d, x);
                c.n_in = 1;
                if (k == 4) c.attrs[c.n_attrs++] = infer_attr_int("axis", 0);
                if (k == 2 || k == 3) {
                    c.in[1] = op_in("g", INFER_DTYPE_F32, 1, dl, g);
                    c.in[1].constant = 1;
                    c.n_in = 2;
                    if (k == 2) c.in[2] = op_in("b", INFER_DTYPE_F32, 1, dl, b), c.in[2].constant = 1, c.n_in = 3;
                }
                snprintf(what, sizeof what, "%s%s [%lld x %lld]", c.op, k == 3 ? "(no bias)" : k == 4 ? "(axis 0)" : "",
                         (long long)rows[r], (long long)lens[l]);
                check_levels(&c, what, 1e-5);
                free(x);
                free(g);
                free(b);
            }
}

/* Attention: 4-D and 3-D, masks (bool, f32 [S][T], f32 [B][1][1][T] shorter than T),
   causal, GQA, odd sequence lengths, keys over one, two and three blocks of the kernel's */
static void test_attention_kernels(void) {
    static const int64_t seqs[][2] = {{1, 1}, {7, 7}, {17, 17}, {130, 130}, {7, 130}, {17, 3}, {5, 300}};
    size_t s;
    int form;
    find_levels();
    for (s = 0; s < sizeof seqs / sizeof seqs[0]; s++)
        for (form = 0; form < 6; form++) { /* plain; causal; f32 mask; bool mask; GQA 3-D; short 4-D mask + causal */
            int64_t B = 2, Hq = form == 4 ? 6 : 3, Hkv = form == 4 ? 2 : 3, S = seqs[s][0], T = seqs[s][1], D = 8, Dv = 5;
            int64_t dq[4] = {B, Hq, S, D}, dk[4] = {B, Hkv, T, D}, dv[4] = {B, Hkv, T, Dv}, dm[4] = {S, T, 0, 0};
            float *q = (float *)malloc((size_t)(B * Hq * S * D) * sizeof(float));
            float *k = (float *)malloc((size_t)(B * Hkv * T * D) * sizeof(float));
            float *v = (float *)malloc((size_t)(B * Hkv * T * Dv) * sizeof(float));
            float *mf = (float *)malloc((size_t)(B * S * T) * sizeof(float));
            uint8_t *mb = (uint8_t *)malloc((size_t)(S * T));
            int64_t i;
            op_case c;
            char what[96];
            test_fill(q, (size_t)(B * Hq * S * D), -2, 2);
            test_fill(k, (size_t)(B * Hkv * T * D), -2, 2);
            test_fill(v, (size_t)(B * Hkv * T * Dv), 0.1, 1); /* outputs are convex combinations: no cancellation */
            test_fill(mf, (size_t)(B * S * T), -3, 0);
            for (i = 0; i < S * T; i++) mb[i] = (uint8_t)(i % T == 0 || test_int(0, 3) > 0);
            memset(&c, 0, sizeof c);
            c.op = "Attention";
            if (form == 4) { /* 3-D: [B][seq][heads * dim] */
                int64_t q3[3] = {B, S, Hq * D}, k3[3] = {B, T, Hkv * D}, v3[3] = {B, T, Hkv * Dv};
                c.in[0] = op_in("q", INFER_DTYPE_F32, 3, q3, q);
                c.in[1] = op_in("k", INFER_DTYPE_F32, 3, k3, k);
                c.in[2] = op_in("v", INFER_DTYPE_F32, 3, v3, v);
                c.attrs[c.n_attrs++] = infer_attr_int("q_num_heads", Hq);
                c.attrs[c.n_attrs++] = infer_attr_int("kv_num_heads", Hkv);
                c.attrs[c.n_attrs++] = infer_attr_int("is_causal", 1);
            } else {
                c.in[0] = op_in("q", INFER_DTYPE_F32, 4, dq, q);
                c.in[1] = op_in("k", INFER_DTYPE_F32, 4, dk, k);
                c.in[2] = op_in("v", INFER_DTYPE_F32, 4, dv, v);
            }
            c.n_in = 3;
            if (form == 1 || form == 5) c.attrs[c.n_attrs++] = infer_attr_int("is_causal", 1);
            if (form == 2) c.in[3] = op_in("m", INFER_DTYPE_F32, 2, dm, mf), c.n_in = 4;
            if (form == 3) c.in[3] = op_in("m", INFER_DTYPE_BOOL, 2, dm, mb), c.n_in = 4;
            if (form == 5) {
                int64_t d4[4] = {B, 1, 1, (T + 1) / 2};
                c.in[3] = op_in("m", INFER_DTYPE_F32, 4, d4, mf), c.n_in = 4;
                c.attrs[c.n_attrs++] = infer_attr_float("scale", 0.3f);
            }
            snprintf(what, sizeof what, "Attention form %d S %lld T %lld", form, (long long)S, (long long)T);
            check_levels(&c, what, 2e-5); /* sums over keys in float */
            free(q), free(k), free(v), free(mf), free(mb);
        }
}

int main(void) {
    test_seed(7);
    RUN(test_vecmath_ulp);
    RUN(test_vact_blocks_bitwise);
    RUN(test_unary_kernels);
    RUN(test_binary_kernels);
    RUN(test_channel_kernels);
    RUN(test_max_pool_kernels);
    RUN(test_max_pool_3s2_bits);
    RUN(test_softmax_layer_norm_kernels);
    RUN(test_attention_kernels);
    return test_finish();
}
