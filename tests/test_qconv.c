/* tests/test_qconv.c - Conv on int8 weights (issue 9): the DequantizeLinear form
   infer-convert --weights int8 writes for a Conv (s8 W [m][c][kh][kw], f32 scale per output
   channel on axis 0, no zero point) runs the int8 GEMM where the CPU has AVX2 or AVX-512
   VNNI (one group, 1-D or 2-D, not depthwise), and the reference path (force_reference:
   dequantize + f32 Conv) elsewhere.

   Models come from the builder API: X -> Conv(X, DequantizeLinear(Wq, scale), bias) with a
   fused Relu or Clip or none. The int8 output is checked against the reference session's
   within the bound of tests/test_qmatmul.c, taken per output position: the weights are
   exact on both paths, so the error is the rounding of that position's im2col row alone,
   at most half a step of its scale sa = (max(0, max window) - min(0, min window)) / 127
   (AVX2's 7 bits; VNNI's 8 bits are finer) per product: |y - y_ref| <= sa * sum_p |w[j][p]|
   (twice the bound, for the f32 sums' own rounding) + 1e-5 (sum_p |x w| + |bias|). Shapes
   odd and even (random, fixed seed), 1 and 2 threads with bit-identical results, the kernel
   each session reports, the f32 weight not resident beside the packed one; group > 1 and
   depthwise convs keep the f32 path. */
#include "test.h"

static int cpu_int8(void) { /* whether the int8 path is the default here */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static uint32_t rng = 4242;
static uint32_t urand(void) {
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
}
static float frand(void) { return (float)(urand() & 0xffffff) / 8388608.0f - 1.0f; } /* [-1, 1) */

typedef struct ccase {
    int64_t n, c, m, h, w; /* batch, input and output channels, input size; h 0: a 1-D conv over w */
    int64_t kh, kw, s, pb, pe, d, group;
    int bias, act;         /* act 0: none, 1: Relu, 2: Clip(-0.5, 0.75) */
} ccase;

static int one_d(const ccase *q) { return q->h == 0; }
static int64_t out_size(const ccase *q, int64_t in, int64_t k) {
    return (in + q->pb + q->pe - (q->d * (k - 1) + 1)) / q->s + 1;
}
static int64_t oh_of(const ccase *q) { return one_d(q) ? 1 : out_size(q, q->h, q->kh); }
static int64_t ow_of(const ccase *q) { return out_size(q, q->w, q->kw); }
static int64_t kh_of(const ccase *q) { return one_d(q) ? 1 : q->kh; }
static int64_t ih_of(const ccase *q) { return one_d(q) ? 1 : q->h; }

/* the f32 path's depthwise kernel (infer__conv_is_dw): one group of one channel is one */
static int depthwise(const ccase *q) {
    return !one_d(q) && q->group == q->c && q->group == q->m && q->kh == q->kw && (q->kh == 3 || q->kh == 5) &&
           q->s <= 2 && q->d == 1;
}

/* Builds the model, loads it; weights and bias random, scales per output channel. */
static infer_model *build(const ccase *q, const int8_t *w, const float *sc, const float *bias, void **file) {
    infer_builder *b = NULL;
    infer_model *m = NULL;
    int r = one_d(q) ? 3 : 4, na = 0;
    int64_t xd[4], wd[4], ks[2], st[2], dl[2], pads[4];
    int64_t kk = q->c / q->group * kh_of(q) * q->kw;
    infer_tensor t;
    infer_attr at[8];
    size_t bytes = 0;
    const char *dq_in[2] = {"Wq", "scale"}, *dq_out[1] = {"W"}, *cv_in[3] = {"X", "W", "bias"}, *out[1] = {"Y"};
    xd[0] = q->n, xd[1] = q->c, xd[2] = one_d(q) ? q->w : q->h, xd[3] = q->w;
    wd[0] = q->m, wd[1] = q->c / q->group, wd[2] = one_d(q) ? q->kw : q->kh, wd[3] = q->kw;
    *file = NULL;
    if (infer_builder_create(NULL, &b)) goto done;
    if (infer_builder_add_input(b, "X", INFER_DTYPE_F32, r, xd, NULL)) goto done;
    memset(&t, 0, sizeof t);
    t.name = "Wq", t.dtype = INFER_DTYPE_I8, t.n_dims = r;
    memcpy(t.dims, wd, sizeof wd);
    t.data = (void *)(uintptr_t)w, t.data_bytes = (size_t)(q->m * kk);
    if (infer_builder_add_constant(b, &t)) goto done;
    t.name = "scale", t.dtype = INFER_DTYPE_F32, t.n_dims = 1, t.dims[0] = q->m;
    t.data = (void *)(uintptr_t)sc, t.data_bytes = (size_t)q->m * 4;
    if (infer_builder_add_constant(b, &t)) goto done;
    t.name = "bias", t.data = (void *)(uintptr_t)bias;
    if (q->bias && infer_builder_add_constant(b, &t)) goto done;
    at[0] = infer_attr_int("axis", 0);
    if (infer_builder_add_node(b, "DequantizeLinear", "dq", dq_in, 2, dq_out, 1, at, 1)) goto done;
    ks[0] = kh_of(q), ks[1] = q->kw, st[0] = st[1] = q->s, dl[0] = dl[1] = q->d;
    pads[0] = pads[1] = q->pb, pads[2] = pads[3] = q->pe;
    if (one_d(q)) ks[0] = q->kw, pads[1] = q->pe;
    at[na++] = infer_attr_ints("kernel_shape", ks, (size_t)(r - 2));
    at[na++] = infer_attr_ints("strides", st, (size_t)(r - 2));
    at[na++] = infer_attr_ints("dilations", dl, (size_t)(r - 2));
    at[na++] = infer_attr_ints("pads", pads, (size_t)(2 * (r - 2)));
    at[na++] = infer_attr_int("group", q->group);
    if (q->act == 1) at[na++] = infer_attr_string("activation", "Relu");
    if (q->act == 2) {
        at[na++] = infer_attr_string("activation", "Clip");
        at[na++] = infer_attr_float("activation_alpha", -0.5f);
        at[na++] = infer_attr_float("activation_beta", 0.75f);
    }
    if (infer_builder_add_node(b, "Conv", "conv", cv_in, q->bias ? 3 : 2, out, 1, at, (size_t)na)) goto done;
    if (infer_builder_add_output(b, "Y") || infer_builder_serialize(b, NULL, 0, &bytes) ||
        posix_memalign(file, 64, bytes) || infer_builder_serialize(b, *file, bytes, &bytes) ||
        infer_model_load_memory(*file, bytes, NULL, &m))
        m = NULL;
done:
    if (!m) printf("  build: %s\n", infer_last_error());
    infer_builder_free(b);
    return m;
}

/* runs model m on x; returns the kernel of node "conv" (static text) or NULL */
static const char *run(const infer_model *m, const ccase *q, int force_ref, int threads, const float *x, float *y,
                       size_t y_n, infer_session_stats *st) {
    infer_tensor in, out;
    memset(&in, 0, sizeof in);
    in.name = "X", in.dtype = INFER_DTYPE_F32, in.n_dims = one_d(q) ? 3 : 4;
    in.dims[0] = q->n, in.dims[1] = q->c, in.dims[2] = one_d(q) ? q->w : q->h, in.dims[3] = q->w;
    in.data = (void *)(uintptr_t)x, in.data_bytes = (size_t)(q->n * q->c * ih_of(q) * q->w) * 4;
    memset(&out, 0, sizeof out);
    out.name = "Y", out.data = y, out.data_bytes = y_n * 4;
    return test_run_node(m, force_ref, threads, &in, &out, "conv", st);
}

static void describe(const ccase *q) {
    printf("  n=%lld c=%lld m=%lld h=%lld w=%lld k=%lldx%lld s=%lld pads=%lld,%lld d=%lld group=%lld bias=%d act=%d",
           (long long)q->n, (long long)q->c, (long long)q->m, (long long)q->h, (long long)q->w, (long long)q->kh,
           (long long)q->kw, (long long)q->s, (long long)q->pb, (long long)q->pe, (long long)q->d, (long long)q->group,
           q->bias, q->act);
}

static void check_case(const ccase *q) {
    int64_t oh = oh_of(q), ow = ow_of(q), ih = ih_of(q), kh = kh_of(q), cg = q->c / q->group;
    int64_t kk = cg * kh * q->kw, hw = oh * ow, nx = q->n * q->c * ih * q->w, ny = q->n * q->m * hw, i, j, b, p;
    int8_t *w = (int8_t *)malloc((size_t)(q->m * kk) + 1);
    float *sc = (float *)malloc((size_t)q->m * 4), *bias = (float *)malloc((size_t)q->m * 4);
    float *x = (float *)malloc((size_t)nx * 4 + 4), *yr = (float *)malloc((size_t)ny * 4 + 4);
    float *y[2] = {(float *)malloc((size_t)ny * 4 + 4), (float *)malloc((size_t)ny * 4 + 4)};
    int threads, bad = 0, want_int8 = cpu_int8() && q->group == 1 && !depthwise(q);
    void *file = NULL;
    infer_model *mod = NULL;
    infer_session_stats sr, s8;
    const char *kr, *k8;
    for (i = 0; i < q->m * kk; i++) w[i] = (int8_t)(int)(frand() * 127.5f);
    for (j = 0; j < q->m; j++) sc[j] = 0.002f + 0.01f * (float)(j % 5), bias[j] = frand() * 0.5f;
    for (i = 0; i < nx; i++) x[i] = frand() * (i % 3 ? 1.0f : 4.0f);
    mod = build(q, w, sc, bias, &file);
    CHECK(mod != NULL);
    if (!mod) goto done;
    kr = run(mod, q, 1, 1, x, yr, (size_t)ny, &sr);
    CHECK(kr && !strcmp(kr, "ref"));
    for (threads = 1; threads <= 2; threads++) {
        float *yt = y[threads - 1];
        k8 = run(mod, q, 0, threads, x, yt, (size_t)ny, &s8);
        CHECK(k8 != NULL);
        if (!k8) continue;
        if (want_int8) {
            CHECK(!strncmp(k8, "int8_", 5));
            CHECK(s8.packed_weight_bytes >= (size_t)(q->m * kk + q->m * 4));
            /* the f32 weight folded from the DequantizeLinear is not kept beside the packed one */
            CHECK(s8.constant_bytes + (size_t)(q->m * kk) * 4 <= sr.constant_bytes);
        } else {
            CHECK(strncmp(k8, "int8_", 5) != 0);
        }
        for (b = 0; b < q->n; b++)
            for (i = 0; i < hw; i++) {
                /* the window of output position i: its range gives the row's scale */
                int64_t oy = i / ow, ox = i % ow, ci, ky, kx;
                double lo = 0, hi = 0, sa, mx;
                for (ci = 0; ci < q->c; ci++)
                    for (ky = 0; ky < kh; ky++)
                        for (kx = 0; kx < q->kw; kx++) {
                            int64_t iy = oy * q->s - (one_d(q) ? 0 : q->pb) + ky * q->d;
                            int64_t ix = ox * q->s - q->pb + kx * q->d;
                            double v;
                            if (iy < 0 || iy >= ih || ix < 0 || ix >= q->w) continue;
                            v = x[((b * q->c + ci) * ih + iy) * q->w + ix];
                            lo = v < lo ? v : lo, hi = v > hi ? v : hi;
                        }
                sa = (hi - lo) / 127, mx = fabs(lo) > hi ? fabs(lo) : hi;
                for (j = 0; j < q->m; j++) {
                    double wabs = 0, tol, d;
                    int64_t at = (b * q->m + j) * hw + i;
                    for (p = 0; p < kk; p++) wabs += fabs((double)w[j * kk + p]) * sc[j];
                    tol = sa * wabs + 1e-5 * (mx * wabs + fabs((double)bias[j])) + 1e-6;
                    if (!want_int8) tol = 1e-5 * (mx * wabs + fabs((double)bias[j])) + 1e-6; /* f32 kernels */
                    d = fabs((double)yt[at] - (double)yr[at]);
                    if (!(d <= tol) && bad++ < 3) {
                        describe(q);
                        printf(" threads %d [%lld][%lld][%lld]: %.9g vs ref %.9g (bound %g)\n", threads, (long long)b,
                               (long long)j, (long long)i, yt[at], yr[at], tol);
                    }
                }
            }
    }
    if (want_int8 && memcmp(y[0], y[1], (size_t)ny * 4) != 0) {
        describe(q);
        printf(": 1 and 2 threads differ\n");
        bad++;
    }
    CHECK(bad == 0);
done:
    infer_model_free(mod);
    free(file), free(w), free(sc), free(bias), free(x), free(yr), free(y[0]), free(y[1]);
}

/* random shapes from the lists (fixed seed): channels 1, 3, 7, 17 in and 1, 3, 17,
   33 out; sizes 1, 3, 7, 17; 1x1, 3x3 and 1-D kernels; strides 1 and 2; pads; dilation 2;
   bias or not; Relu, Clip or none; batch 1 and 2 */
static void test_qconv_random(void) {
    static const int64_t cin[] = {1, 3, 7, 17}, cout[] = {1, 3, 17, 33}, hw[] = {1, 3, 7, 17};
    int done = 0, tries = 0;
    while (done < 48 && tries++ < 1000) {
        ccase q;
        int kind = (int)(urand() % 3); /* 0: 1x1, 1: 3x3, 2: 1-D */
        memset(&q, 0, sizeof q);
        q.n = 1 + (int64_t)(urand() % 2), q.c = cin[urand() % 4], q.m = cout[urand() % 4];
        q.h = kind == 2 ? 0 : hw[urand() % 4], q.w = hw[urand() % 4];
        q.kh = q.kw = kind == 1 ? 3 : kind == 2 ? 1 + (int64_t)(urand() % 2) * 2 : 1;
        q.s = 1 + (int64_t)(urand() % 2), q.d = urand() % 4 ? 1 : 2;
        q.pb = (int64_t)(urand() % 3), q.pe = urand() % 2 ? q.pb : (int64_t)(urand() % 2);
        q.group = 1, q.bias = (int)(urand() % 2), q.act = (int)(urand() % 3);
        if (q.w + q.pb + q.pe < q.d * (q.kw - 1) + 1 || (q.h && q.h + q.pb + q.pe < q.d * (q.kh - 1) + 1))
            continue; /* the window does not fit */
        check_case(&q);
        done++;
    }
    CHECK(done == 48);
}

/* chosen forms: ResNet's 3x3 stride 2 and 1x1 stride 2, a pointwise conv (X read by
   strides), a 7x7 stem, depth over the AVX2 panel's 4 and past 64, many output channels */
static void test_qconv_shapes(void) {
    static const ccase cases[] = {
        /* n c  m   h   w  kh kw s pb pe d g bias act */
        {1, 3, 64, 17, 17, 7, 7, 2, 3, 3, 1, 1, 1, 1},
        {2, 17, 33, 7, 7, 3, 3, 2, 1, 1, 1, 1, 1, 1},
        {1, 17, 33, 17, 17, 1, 1, 1, 0, 0, 1, 1, 1, 0},
        {2, 33, 17, 7, 7, 1, 1, 2, 0, 0, 1, 1, 0, 2},
        {1, 64, 40, 9, 9, 3, 3, 1, 1, 1, 2, 1, 1, 1},
        {1, 7, 3, 0, 17, 3, 3, 1, 1, 2, 2, 1, 1, 0},
        {2, 1, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0},
        {1, 1, 1, 7, 7, 3, 3, 2, 1, 1, 2, 1, 1, 1}, /* one channel, dilated: not depthwise */
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i]);
}

/* not the forms the int8 Conv takes: grouped and depthwise convs (and one channel in and
   out, which the f32 path runs as depthwise) stay f32, still right */
static void test_qconv_other_forms(void) {
    static const ccase cases[] = {
        {1, 4, 6, 7, 7, 3, 3, 1, 1, 1, 1, 2, 1, 1},   /* group 2 */
        {2, 8, 8, 9, 9, 3, 3, 2, 1, 1, 1, 8, 1, 2},   /* depthwise 3x3 */
        {1, 6, 6, 7, 7, 1, 1, 1, 0, 0, 1, 6, 0, 0},   /* one filter per channel, 1x1 */
        {1, 1, 1, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1},   /* 1 -> 1, 3x3: the depthwise kernel */
        {1, 6, 9, 0, 17, 3, 3, 1, 1, 1, 1, 3, 1, 0},  /* 1-D, group 3 */
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i]);
}

int main(void) {
    RUN(test_qconv_random);
    RUN(test_qconv_shapes);
    RUN(test_qconv_other_forms);
    return test_finish();
}
