/* tests/test_conv.c - the SIMD Conv (GEMM with implicit im2col, pointwise, depthwise) and
   weight pre-packing (Conv, MatMul, Gemm) against the reference kernels: every variant
   this CPU runs and the portable path, on odd shapes (1, 3, 7, 17 channels and sizes,
   stride 2, padding, dilation 2, groups, batch 3, fused bias + activation), for 1 and 2
   threads (bit-identical), weights pre-packed at session creation; and the release of a
   packed weight's pages of a mapped model file. White-box: it swaps a node's kernel to
   reach every ISA. */
#define INFER_IMPLEMENTATION
#include "test.h"

#include <unistd.h>

typedef struct conv_case {
    int64_t n, c, h, w, m, kh, kw, sh, sw, ph, pw, ph2, pw2, dh, dw, group;
    int n_sp, bias;
    const char *act;
    int sym; /* the batch a symbolic dim, "batch" */
} conv_case;

/* The model in b with output "y" as a 64-byte aligned file image (b freed); NULL on failure or !ok */
static void *model_image(infer_builder *b, int ok, size_t *bytes) {
    void *file = NULL;
    ok &= !infer_builder_add_output(b, "y");
    ok &= !infer_builder_serialize(b, NULL, 0, bytes);
    if (ok && posix_memalign(&file, 64, *bytes) == 0 && infer_builder_serialize(b, file, *bytes, bytes)) {
        free(file);
        file = NULL;
    }
    infer_builder_free(b);
    return ok ? file : NULL;
}

/* The model of one Conv (W and B constants) as a file image; NULL on failure. */
static void *conv_model(const conv_case *k, const float *w, const float *bias, size_t *bytes) {
    static const char *in_names[3] = {"x", "w", "b"}, *out_names[1] = {"y"};
    infer_builder *b = NULL;
    infer_tensor t;
    infer_attr at[8];
    static const char *const batch[5] = {"batch", NULL, NULL, NULL, NULL};
    int64_t xd[5], ks[3], st[3], pads[6], dil[3];
    int n_at = 0, ok = 1;
    if (infer_builder_create(NULL, &b)) return NULL;
    xd[0] = k->n, xd[1] = k->c, xd[2] = k->h, xd[3] = k->w;
    if (k->n_sp == 1) xd[2] = k->w;
    if (k->n_sp == 3) xd[2] = 3, xd[3] = k->h, xd[4] = k->w;
    ok &= !infer_builder_add_input(b, "x", INFER_DTYPE_F32, 2 + k->n_sp, xd, k->sym ? batch : NULL);
    memset(&t, 0, sizeof t);
    t.name = "w", t.dtype = INFER_DTYPE_F32, t.n_dims = 2 + k->n_sp, t.data = (void *)w;
    t.dims[0] = k->m, t.dims[1] = k->c / k->group;
    if (k->n_sp == 1) t.dims[2] = k->kw;
    if (k->n_sp == 2) t.dims[2] = k->kh, t.dims[3] = k->kw;
    if (k->n_sp == 3) t.dims[2] = 2, t.dims[3] = k->kh, t.dims[4] = k->kw;
    t.data_bytes = (size_t)(k->m * (k->c / k->group) * k->kh * k->kw * (k->n_sp == 3 ? 2 : 1)) * sizeof(float);
    if (k->n_sp == 1) t.data_bytes /= (size_t)k->kh;
    ok &= !infer_builder_add_constant(b, &t);
    if (k->bias) {
        memset(&t, 0, sizeof t);
        t.name = "b", t.dtype = INFER_DTYPE_F32, t.n_dims = 1, t.dims[0] = k->m, t.data = (void *)bias;
        t.data_bytes = (size_t)k->m * sizeof(float);
        ok &= !infer_builder_add_constant(b, &t);
    }
    if (k->n_sp == 1) {
        ks[0] = k->kw, st[0] = k->sw, dil[0] = k->dw, pads[0] = k->pw, pads[1] = k->pw2;
    } else if (k->n_sp == 2) {
        ks[0] = k->kh, ks[1] = k->kw, st[0] = k->sh, st[1] = k->sw, dil[0] = k->dh, dil[1] = k->dw;
        pads[0] = k->ph, pads[1] = k->pw, pads[2] = k->ph2, pads[3] = k->pw2;
    } else {
        ks[0] = 2, ks[1] = k->kh, ks[2] = k->kw, st[0] = 1, st[1] = k->sh, st[2] = k->sw, dil[0] = 1, dil[1] = k->dh,
        dil[2] = k->dw;
        pads[0] = 0, pads[1] = k->ph, pads[2] = k->pw, pads[3] = 1, pads[4] = k->ph2, pads[5] = k->pw2;
    }
    at[n_at++] = infer_attr_ints("kernel_shape", ks, (size_t)k->n_sp);
    at[n_at++] = infer_attr_ints("strides", st, (size_t)k->n_sp);
    at[n_at++] = infer_attr_ints("dilations", dil, (size_t)k->n_sp);
    at[n_at++] = infer_attr_ints("pads", pads, (size_t)(2 * k->n_sp));
    at[n_at++] = infer_attr_int("group", k->group);
    if (k->act) at[n_at++] = infer_attr_string("activation", k->act);
    ok &= !infer_builder_add_node(b, "Conv", "conv", in_names, k->bias ? 3 : 2, out_names, 1, at, (size_t)n_at);
    return model_image(b, ok, bytes);
}

/* Swaps the kernel of the session's one running node for fn and re-packs its weights
   for fn, as session creation would have had the CPU chosen fn. */
static void force_kernel(infer_session *s, infer__kernel_fn fn) {
    uint32_t node = s->steps[0];
    infer__ctx c;
    size_t n;
    int wino;
    s->kernels[node] = fn;
    if (s->packed) {
        s->packed_bytes = 0;
        infer__free(&s->a, s->packed_raw[node]);
        s->packed_raw[node] = NULL;
        s->packed[node] = NULL;
        s->wino_e[node] = 0;
    }
    infer__ctx_init(s, node, &c);
    if ((n = infer__cpu_pack(&c, fn, NULL, &wino)) != 0) {
        float *d;
        CHECK(s->packed != NULL); /* it was packed at creation for the best variant too */
        if (!s->packed || !(d = (float *)infer__alloc_aligned(&s->a, n * sizeof(float), &s->packed_raw[node]))) return;
        infer__cpu_pack(&c, fn, d, &wino);
        s->packed[node] = d;
        s->wino_e[node] = (uint8_t)wino;
        s->packed_bytes = n * sizeof(float);
    }
}

/* Runs the model in file on x into y with n_threads, the reference kernels (ref) or
   kernel fn (NULL: the session's own choice); returns the session's packed bytes. */
static size_t run_model(const void *file, size_t bytes, const float *x, const int64_t *xd, int xr, float *y,
                        size_t y_n, int n_threads, int ref, infer__kernel_fn fn) {
    infer_model *m = NULL;
    infer_session *s = NULL;
    infer_session_options opt;
    infer_session_stats stats;
    infer_tensor in, out;
    size_t n = 1, packed = 0;
    int i;
    memset(&opt, 0, sizeof opt);
    opt.n_threads = n_threads;
    opt.force_reference = ref;
    CHECK_OK(infer_model_load_memory(file, bytes, NULL, &m));
    if (!m) return 0;
    CHECK_OK(infer_session_create(m, &opt, &s));
    if (!s) goto done;
    if (fn) force_kernel(s, fn);
    infer_session_get_stats(s, &stats);
    packed = stats.packed_weight_bytes;
    memset(&in, 0, sizeof in);
    in.name = "x", in.dtype = INFER_DTYPE_F32, in.n_dims = xr, in.data = (void *)x;
    for (i = 0; i < xr; i++) in.dims[i] = xd[i], n *= (size_t)xd[i];
    in.data_bytes = n * sizeof(float);
    memset(&out, 0, sizeof out);
    out.name = "y", out.data = y, out.data_bytes = y_n * sizeof(float);
    CHECK_OK(infer_run(s, &in, 1, &out, 1));
done:
    infer_session_free(s);
    infer_model_free(m);
    return packed;
}

static int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe) {
    return (in + pb + pe - ((k - 1) * d + 1)) / s + 1;
}

static double worst_wino, worst_direct; /* largest |y - ref| / scale seen, per path */

/* y agrees with the reference yr within tol times the output's scale (at least 1) */
static int agree(const char *what, const float *y, const float *yr, size_t n, double tol, double *worst) {
    double scale = 1;
    size_t i;
    for (i = 0; i < n; i++) scale = fmax(scale, fabs((double)yr[i]));
    for (i = 0; i < n; i++) *worst = fmax(*worst, fabs((double)y[i] - yr[i]) / scale);
    for (i = 0; i < n; i++)
        if (!(fabs((double)y[i] - yr[i]) <= tol * scale)) {
            printf("  %s: [%zu] got %.9g, ref %.9g (tol %g x scale %g)\n", what, i, (double)y[i], (double)yr[i], tol, scale);
            test__failed_checks++;
            return 0;
        }
    return 1;
}

/* One conv case through the reference (1 and 2 threads) and each SIMD variant the CPU
   runs (1 and 2 threads, bit-identical, weights pre-packed unless depthwise or 3-D). */
static int check_conv(const conv_case *k) {
    infer__kernel_fn fns[2];
    const char *names[2];
    int n_fn = 0, cpu = infer__cpu_features(), v, ok = 1, xr = 2 + k->n_sp;
    int64_t kd = k->n_sp == 3 ? 2 : 1, oh, ow, od = k->n_sp == 3 ? 3 : 1, xd[5];
    int64_t wn = k->m * (k->c / k->group) * (k->n_sp == 1 ? 1 : k->kh) * k->kw * kd;
    int64_t hh = k->n_sp == 1 ? 1 : k->h, xn = k->n * k->c * hh * k->w * od;
    size_t bytes = 0, yn, packed;
    float *x, *w, *bias, *yr, *y1, *y2;
    void *file;
    char what[200];
    ow = out_size(k->w, k->kw, k->sw, k->dw, k->pw, k->pw2);
    oh = k->n_sp == 1 ? 1 : out_size(k->h, k->kh, k->sh, k->dh, k->ph, k->ph2);
    yn = (size_t)(k->n * k->m * oh * ow * od);
    x = (float *)malloc((size_t)xn * sizeof(float) + 4), w = (float *)malloc((size_t)wn * sizeof(float) + 4);
    bias = (float *)malloc((size_t)k->m * sizeof(float) + 4);
    yr = (float *)malloc(yn * sizeof(float) + 4), y1 = (float *)malloc(yn * sizeof(float) + 4);
    y2 = (float *)malloc(yn * sizeof(float) + 4);
    test_fill(x, (size_t)xn, -1, 1);
    test_fill(w, (size_t)wn, -1, 1);
    test_fill(bias, (size_t)k->m, -1, 1);
    xd[0] = k->n, xd[1] = k->c;
    if (k->n_sp == 1) xd[2] = k->w;
    if (k->n_sp == 2) xd[2] = k->h, xd[3] = k->w;
    if (k->n_sp == 3) xd[2] = 3, xd[3] = k->h, xd[4] = k->w;
    snprintf(what, sizeof what,
             "n%lld c%lld %lldx%lld m%lld k%lldx%lld s%lld,%lld p%lld,%lld,%lld,%lld d%lld,%lld g%lld sp%d bias%d %s",
             (long long)k->n, (long long)k->c, (long long)k->h, (long long)k->w, (long long)k->m, (long long)k->kh,
             (long long)k->kw, (long long)k->sh, (long long)k->sw, (long long)k->ph, (long long)k->pw,
             (long long)k->ph2, (long long)k->pw2, (long long)k->dh, (long long)k->dw, (long long)k->group, k->n_sp,
             k->bias, k->act ? k->act : "-");
    file = conv_model(k, w, bias, &bytes);
    CHECK(file != NULL);
    if (!file) return 0;
#if defined(INFER__HAVE_AVX2)
    if (cpu & INFER__CPU_AVX512) fns[n_fn] = infer__conv_f32_avx512, names[n_fn++] = "avx512";
    if (cpu & INFER__CPU_AVX2) fns[n_fn] = infer__conv_f32_avx2, names[n_fn++] = "avx2";
#endif
#if defined(INFER__HAVE_NEON)
    if (cpu & INFER__CPU_NEON) fns[n_fn] = infer__conv_f32_neon, names[n_fn++] = "neon";
#endif
    (void)cpu;
    run_model(file, bytes, x, xd, xr, yr, yn, 1, 1, NULL);
    test_fill(y2, yn, -9, 9);
    run_model(file, bytes, x, xd, xr, y2, yn, 2, 1, NULL);
    if (memcmp(yr, y2, yn * sizeof(float)) != 0) printf("  %s: ref: 1 and 2 threads differ\n", what), ok = 0;
    for (v = 0; v < n_fn; v++) {
        int dw = k->n_sp == 2 && k->group == k->c && k->group == k->m && k->kh == k->kw && (k->kh == 3 || k->kh == 5) &&
                 k->sh == k->sw && k->sh <= 2 && k->dh == 1 && k->dw == 1;
        /* Winograd on x86: 36 transformed weights (F(4x4, 3x3)), or 16 (F(2x2, 3x3)) from 512 x 512
           filters or from 256 x 256 with under 32 F(4x4) tiles, packed for the isa's mr (12 or 6) rows */
        int wino = k->n_sp == 2 && k->group == 1 && k->kh == 3 && k->kw == 3 && k->sh == 1 && k->sw == 1 &&
                   k->dh == 1 && k->dw == 1 && k->c >= 16 && k->m >= 16 && strcmp(names[v], "neon");
        int64_t tiles4 = k->n * ((oh + 3) / 4) * ((ow + 3) / 4), mr = strcmp(names[v], "avx512") ? 6 : 12;
        int64_t pos = k->c * k->m >= 512 * 512 || (k->c * k->m >= 256 * 256 && tiles4 < 32) ? 16 : 36;
        char w2[240];
        snprintf(w2, sizeof w2, "%s %s", names[v], what);
        test_fill(y1, yn, -9, 9);
        test_fill(y2, yn, -9, 9);
        packed = run_model(file, bytes, x, xd, xr, y1, yn, 1, 0, fns[v]);
        ok &= agree(w2, y1, yr, yn, 1e-5 * sqrt((double)(k->c / k->group * k->kh * k->kw)),
                    wino ? &worst_wino : &worst_direct);
        run_model(file, bytes, x, xd, xr, y2, yn, 2, 0, fns[v]);
        if (memcmp(y1, y2, yn * sizeof(float)) != 0) printf("  %s: 1 and 2 threads differ\n", w2), ok = 0;
        if ((packed != 0) != (k->n_sp < 3 && !dw)) printf("  %s: %zu packed bytes\n", w2, packed), ok = 0;
        if (wino && packed != (size_t)(pos * ((k->m + mr - 1) / mr * mr) * k->c) * sizeof(float))
            printf("  %s: %zu packed bytes, not Winograd's\n", w2, packed), ok = 0;
    }
    if (!ok) test__failed_checks++;
    free(file), free(x), free(w), free(bias), free(yr), free(y1), free(y2);
    return ok;
}

static conv_case cc(int64_t n, int64_t c, int64_t h, int64_t w, int64_t m, int64_t k, int64_t s, int64_t p, int64_t d,
                    int64_t g) {
    conv_case r;
    memset(&r, 0, sizeof r);
    r.n = n, r.c = c, r.h = h, r.w = w, r.m = m, r.kh = r.kw = k, r.sh = r.sw = s, r.ph = r.pw = r.ph2 = r.pw2 = p;
    r.dh = r.dw = d, r.group = g, r.n_sp = 2, r.bias = 1;
    return r;
}

/* Batches that are a multiple of the thread count run whole images a thread
   (infer__conv_images_task): a pointwise conv (X read in place as B, or packed), a
   general conv whose B is packed from the image, groups, stride 2, bias with Relu;
   batch 3 on 2 threads, which splits each image's GEMM instead; and an input over 4 MiB,
   read in place all the same.
   check_conv compares 1 and 2 threads bit for bit, and both with the reference. */
static void test_conv_batch_images(void) {
    conv_case k[8];
    int i, n = 0;
    test_seed(15);
    k[n++] = cc(4, 32, 14, 14, 64, 1, 1, 0, 1, 1);  /* pointwise, X in place (64 rows of C) */
    k[n++] = cc(2, 48, 9, 13, 200, 1, 1, 0, 1, 1);  /* pointwise, X packed (200 rows) */
    k[n++] = cc(4, 24, 15, 17, 40, 3, 2, 1, 1, 2);  /* 3x3 stride 2, two groups */
    k[n++] = cc(6, 16, 10, 10, 24, 5, 1, 2, 1, 1);  /* 5x5: not Winograd */
    k[n++] = cc(3, 32, 14, 14, 64, 1, 1, 0, 1, 1);  /* batch 3: each image's GEMM split */
    k[n++] = cc(2, 64, 96, 96, 32, 1, 1, 0, 1, 1);  /* input over 4 MiB, X in place */
    for (i = 0; i < n; i++) {
        k[i].act = i % 2 ? "Relu" : NULL;
        if (!check_conv(&k[i])) return;
    }
}

static void test_conv_fixed_shapes(void) {
    conv_case k[48];
    int i, n = 0;
    test_seed(11);
    k[n++] = cc(1, 17, 7, 9, 33, 1, 1, 0, 1, 1);   /* pointwise: X is B */
    k[n++] = cc(3, 7, 9, 9, 5, 1, 2, 0, 1, 1);     /* 1x1 stride 2: implicit im2col */
    k[n++] = cc(1, 3, 17, 17, 16, 3, 1, 1, 1, 1);  /* 3x3 pad 1 */
    k[n++] = cc(1, 7, 17, 13, 9, 3, 2, 1, 2, 1);   /* stride 2, dilation 2 */
    k[n++] = cc(3, 6, 11, 7, 4, 3, 1, 2, 1, 2);    /* groups, batch 3 */
    k[n++] = cc(1, 3, 1, 1, 1, 1, 1, 0, 1, 1);     /* 1x1 image, one output channel (few rows) */
    k[n++] = cc(2, 17, 7, 7, 3, 3, 1, 1, 1, 1);    /* 3 output channels: few rows, packed B */
    k[n++] = cc(1, 3, 31, 29, 8, 7, 2, 3, 1, 1);   /* a ResNet stem */
    k[n++] = cc(1, 64, 28, 28, 64, 3, 1, 1, 1, 1); /* K = 576 crosses KC */
    k[n++] = cc(1, 20, 40, 41, 250, 1, 1, 0, 1, 1); /* M > MC, N > NC */
    k[n++] = cc(1, 32, 17, 17, 32, 3, 1, 1, 1, 32); /* depthwise 3x3 */
    k[n++] = cc(1, 16, 40, 41, 16, 3, 2, 1, 1, 16); /* depthwise 3x3 stride 2, SIMD interior */
    k[n++] = cc(3, 7, 23, 37, 7, 5, 1, 2, 1, 7);    /* depthwise 5x5 */
    k[n++] = cc(1, 3, 17, 40, 3, 5, 2, 2, 1, 3);    /* depthwise 5x5 stride 2 */
    k[n++] = cc(1, 5, 3, 1, 5, 3, 1, 1, 1, 5);      /* depthwise on a 1-wide image */
    k[n++] = cc(1, 4, 9, 9, 4, 3, 1, 1, 2, 4);      /* depthwise, dilation 2: the GEMM path */
    k[n++] = cc(1, 4, 9, 19, 8, 3, 1, 0, 1, 4);     /* grouped, 2 outputs a group */
    k[n++] = cc(1, 2, 1100, 3, 5, 3, 1, 0, 1, 1);   /* 1-wide output rows: over 512 pack segments a block */
    k[n++] = cc(1, 3, 999, 4, 4, 3, 2, 1, 1, 1);    /* 2-wide output rows at stride 2 */
    k[n] = cc(1, 6, 8, 30, 6, 3, 1, 0, 1, 6), k[n].pw = 2, k[n].pw2 = 0, k[n].ph2 = 2, k[n].sw = 2, n++; /* uneven pads */
    /* other strides: 3 both ways with taps past both ends, 3 down and 2 across, 1 down
       and 2 across (5x3), and a stem-like 7x7 stride 2 over 64 channels of 100 x 100 */
    k[n++] = cc(2, 5, 19, 23, 14, 5, 3, 2, 1, 1);                                            /* 5x5 stride 3 */
    k[n] = cc(1, 4, 13, 21, 9, 3, 2, 1, 1, 1), k[n].sh = 3, k[n].ph2 = 0, k[n].pw2 = 2, n++;  /* 3 down, 2 across */
    k[n] = cc(1, 3, 11, 26, 5, 3, 2, 1, 1, 1), k[n].sh = 1, k[n].kh = 5, k[n].ph = 2, n++;    /* 1 down, 5x3 */
    k[n++] = cc(1, 64, 100, 100, 4, 7, 2, 3, 1, 1);                                          /* wide stem */
    /* stride 2 across, im2col rows within one K block, rows of 32+ outputs: straight from
       the image on AVX-512 (infer__conv_s2_task512): 32 + 3 and 32 + 32 + 1 wide, 64, 16
       and 13 output channels (the last 16 as 8 + 8, the second 8 from two panels; a panel
       of 1 row), taps past both ends, 3 down and 1 down, kw 3, 5 and 8, no pad at the
       start, batch 2 */
    k[n] = cc(1, 3, 67, 70, 64, 7, 2, 3, 1, 1), k[n].act = "Relu", n++;
    k[n] = cc(1, 2, 11, 66, 16, 3, 2, 1, 1, 1), k[n].act = "Clip", n++;
    k[n] = cc(2, 3, 40, 129, 13, 7, 2, 3, 1, 1), k[n].bias = 0, n++;
    k[n] = cc(1, 17, 9, 80, 20, 3, 2, 1, 1, 1), k[n].act = "Clip", k[n].sh = 3, n++;
    k[n] = cc(1, 5, 6, 99, 7, 3, 2, 0, 1, 1), k[n].kw = 5, k[n].sh = 1, k[n].pw2 = 2, n++;
    k[n] = cc(1, 4, 5, 72, 26, 1, 2, 0, 1, 1), k[n].kw = 8, k[n].pw = 3, n++;
    k[n] = cc(2, 5, 1, 37, 6, 1, 1, 1, 1, 1), k[n].kw = 5, k[n].n_sp = 1, n++;                       /* 1-D */
    k[n] = cc(1, 4, 7, 6, 5, 3, 1, 1, 1, 1), k[n].n_sp = 3, n++;                                       /* 3-D: ref */
    k[n] = cc(1, 7, 9, 9, 13, 3, 1, 1, 1, 1), k[n].act = "Relu", n++;
    k[n] = cc(1, 8, 9, 45, 8, 3, 1, 1, 1, 8), k[n].act = "Clip", k[n].bias = 0, n++; /* depthwise, Relu6-like */
    k[n] = cc(2, 9, 5, 6, 7, 3, 2, 1, 1, 1), k[n].act = "LeakyRelu", k[n].bias = 0, n++;
    /* the vector-map epilogue (EfficientNet's Swish): pointwise, 3x3, depthwise 3x3 / 5x5 stride 2 */
    k[n] = cc(1, 17, 7, 9, 33, 1, 1, 0, 1, 1), k[n].act = "Silu", n++;
    k[n] = cc(2, 3, 17, 17, 7, 3, 2, 1, 1, 1), k[n].act = "Sigmoid", n++;
    k[n] = cc(1, 17, 9, 45, 17, 3, 1, 1, 1, 17), k[n].act = "Silu", n++;
    k[n] = cc(2, 7, 17, 19, 7, 5, 2, 2, 1, 7), k[n].act = "Silu", k[n].bias = 0, n++;
    for (i = 0; i < n; i++)
        if (!check_conv(&k[i])) return;
}

static void test_conv_random_shapes(void) {
    static const int64_t sz[] = {1, 3, 7, 17};
    int i;
    test_seed(12);
    for (i = 0; i < 60; i++) {
        conv_case k;
        int64_t g = test_int(0, 3) == 0 ? sz[test_int(0, 3)] : test_int(1, 2);
        memset(&k, 0, sizeof k);
        k.n_sp = 2, k.n = test_int(1, 3), k.group = g;
        k.c = g * (test_int(0, 2) == 0 && g > 1 ? 1 : sz[test_int(0, 3)]);
        k.m = g * (test_int(0, 2) == 0 && g > 1 ? 1 : sz[test_int(0, 3)]);
        k.kh = test_int(1, 3) * 2 - 1, k.kw = test_int(0, 1) ? k.kh : test_int(1, 3);
        k.sh = test_int(1, 2), k.sw = test_int(1, 2), k.dh = test_int(1, 2), k.dw = test_int(1, 2);
        k.ph = test_int(0, 2), k.pw = test_int(0, 2), k.ph2 = test_int(0, 2), k.pw2 = test_int(0, 2);
        k.h = (k.kh - 1) * k.dh + 1 + test_int(0, 20), k.w = (k.kw - 1) * k.dw + 1 + test_int(0, 30);
        k.bias = (int)test_int(0, 1);
        k.act = test_int(0, 1) ? "Relu" : NULL;
        if (!check_conv(&k)) return;
    }
}

/* 3x3 stride-1 convs that take Winograd on x86 (16+ channels each way; F(2x2, 3x3) from
   512 x 512 filters, else F(4x4, 3x3)): odd
   channel counts and sizes, partial tiles, pads 0 to 2 and uneven, batches whose blocks of
   tiles span images, several blocks, input channels past the GEMM's KC, activations,
   outputs smaller than a tile; and a case just outside (15 input channels). */
static void test_conv_winograd(void) {
    conv_case k[32];
    int i, n = 0;
    test_seed(13);
    k[n++] = cc(1, 16, 8, 8, 16, 3, 1, 1, 1, 1);     /* the smallest: 2 x 2 tiles */
    k[n++] = cc(1, 17, 13, 19, 33, 3, 1, 1, 1, 1);   /* partial tiles both ways */
    k[n++] = cc(3, 17, 10, 9, 16, 3, 1, 0, 1, 1);    /* no padding, batch 3 */
    k[n++] = cc(2, 20, 14, 14, 24, 3, 1, 2, 1, 1);   /* pad 2 */
    k[n++] = cc(1, 16, 57, 61, 17, 3, 1, 1, 1, 1);   /* several blocks, a row of 16 tiles */
    k[n++] = cc(1, 16, 6, 64, 16, 3, 1, 1, 1, 1);    /* 16 whole tiles a row: the last reads the row's end */
    k[n++] = cc(1, 17, 6, 32, 18, 3, 1, 1, 1, 1);    /* 8 whole tiles (AVX2's vector) */
    k[n++] = cc(2, 300, 9, 11, 19, 3, 1, 1, 1, 1);   /* K crosses KC */
    k[n++] = cc(4, 64, 14, 14, 64, 3, 1, 1, 1, 1);   /* blocks of 4 images */
    k[n++] = cc(2, 64, 56, 56, 64, 3, 1, 1, 1, 1);   /* 6 blocks: on 2 threads, each runs whole ones */
    k[n++] = cc(1, 16, 7, 30, 16, 3, 1, 1, 1, 1);    /* 7 rows: 2 rows of tiles, the second partial */
    k[n++] = cc(2, 19, 1, 1, 17, 3, 1, 1, 1, 1);     /* a 1 x 1 image: one tile, mostly padding */
    k[n++] = cc(1, 16, 3, 5, 16, 3, 1, 0, 1, 1);     /* a 1 x 3 output */
    k[n++] = cc(1, 15, 30, 30, 16, 3, 1, 1, 1, 1);   /* 15 input channels: the direct path */
    k[n++] = cc(1, 33, 120, 8, 40, 3, 1, 1, 1, 1);   /* 2 tiles a row, 30 rows of them */
    k[n] = cc(1, 18, 12, 23, 21, 3, 1, 1, 1, 1), k[n].pw = 2, k[n].pw2 = 0, k[n].ph2 = 2, n++; /* uneven pads */
    k[n] = cc(2, 16, 11, 11, 16, 3, 1, 1, 1, 1), k[n].act = "Relu", n++;
    k[n] = cc(2, 512, 7, 7, 512, 3, 1, 1, 1, 1), k[n].act = "Relu", n++;  /* F(2x2): a ResNet's last 3x3 */
    k[n] = cc(1, 601, 9, 14, 437, 3, 1, 1, 1, 1), k[n].bias = 0, n++;    /* F(2x2), odd sizes, K past KC */
    k[n++] = cc(1, 1024, 5, 3, 256, 3, 1, 2, 1, 1);                      /* F(2x2) from exactly 2^18 filters */
    k[n] = cc(1, 24, 9, 17, 31, 3, 1, 1, 1, 1), k[n].act = "Silu", k[n].bias = 0, n++;
    k[n] = cc(1, 16, 16, 16, 48, 3, 1, 1, 1, 1), k[n].act = "Clip", n++;
    for (i = 0; i < n; i++)
        if (!check_conv(&k[i])) return;
    for (i = 0; i < 12; i++) { /* random sizes and channels around the thresholds */
        conv_case r = cc(test_int(1, 3), test_int(16, 40), test_int(3, 40), test_int(3, 40), test_int(16, 40), 3, 1,
                         test_int(0, 2), 1, 1);
        r.bias = (int)test_int(0, 1), r.act = test_int(0, 1) ? "Relu" : NULL;
        if (!check_conv(&r)) return;
    }
    printf("# worst |y - ref| / scale: winograd %.2g, direct %.2g\n", worst_wino, worst_direct);
}

/* Runs session s (batch n of 4 x 4 images, 256 channels) on x into y after re-binding the batch */
static void run_batch(infer_session *s, int64_t n, const float *x, float *y) {
    infer_dim d = {"batch", 0};
    infer_tensor in, out;
    d.value = n;
    CHECK_OK(infer_session_set_dims(s, &d, 1));
    memset(&in, 0, sizeof in);
    in.name = "x", in.dtype = INFER_DTYPE_F32, in.n_dims = 4, in.dims[0] = n, in.dims[1] = 256, in.dims[2] = 4;
    in.dims[3] = 4, in.data = (void *)x, in.data_bytes = (size_t)(n * 256 * 16) * sizeof(float);
    memset(&out, 0, sizeof out);
    out.name = "y", out.data = y, out.data_bytes = (size_t)(n * 256 * 16) * sizeof(float);
    CHECK_OK(infer_run(s, &in, 1, &out, 1));
}

/* A Winograd conv's tile size is chosen for the shapes at creation and stays with the
   packed weights: 256 x 256 filters on one 4 x 4 image (one F(4x4) tile) take F(2x2), on
   32 images F(4x4). Each session then runs the other batch too (infer_session_set_dims:
   its plan's scratch fits either); every image (32 copies of one) agrees with the
   reference's. */
static void test_conv_winograd_kept(void) {
    conv_case k = cc(1, 256, 4, 4, 256, 3, 1, 1, 1, 1);
    size_t bytes = 0, img = 256 * 16;
    float *w = (float *)malloc(256 * 256 * 9 * sizeof(float)), *bias = (float *)malloc(256 * sizeof(float));
    float *x = (float *)malloc(32 * img * sizeof(float)), *y = (float *)malloc(32 * img * sizeof(float));
    float *yr = (float *)malloc(img * sizeof(float));
    int64_t xd[4] = {1, 256, 4, 4}, created[2] = {1, 32};
    void *file;
    int i, j, cpu = infer__cpu_features();
    test_seed(21);
    if (!w || !bias || !x || !y || !yr) goto done;
    test_fill(w, 256 * 256 * 9, -1, 1);
    test_fill(bias, 256, -1, 1);
    test_fill(x, img, -1, 1);
    for (j = 1; j < 32; j++) memcpy(x + j * img, x, img * sizeof(float));
    file = conv_model(&k, w, bias, &bytes); /* batch 1: the reference's */
    CHECK(file != NULL);
    if (!file) goto done;
    run_model(file, bytes, x, xd, 4, yr, img, 1, 1, NULL);
    free(file);
    k.sym = 1;
    file = conv_model(&k, w, bias, &bytes);
    CHECK(file != NULL);
    if (!file) goto done;
    for (i = 0; i < 2; i++) {
        infer_model *m = NULL;
        infer_session *s = NULL;
        infer_session_options opt;
        infer_dim d = {"batch", 0};
        int64_t n;
        memset(&opt, 0, sizeof opt);
        d.value = created[i], opt.dims = &d, opt.n_dims = 1;
        CHECK_OK(infer_model_load_memory(file, bytes, NULL, &m));
        if (m) CHECK_OK(infer_session_create(m, &opt, &s));
        if (!s) {
            infer_model_free(m);
            continue;
        }
#if defined(INFER__HAVE_AVX2)
        if (cpu & INFER__CPU_AVX2) CHECK_EQ_INT(s->wino_e ? s->wino_e[s->steps[0]] : 0, i ? 4 : 2);
#endif
        for (n = created[i]; n > 0; n = n == created[i] ? created[1 - i] : 0) {
            char what[128];
            run_batch(s, n, x, y);
            for (j = 0; j < n; j++) {
                snprintf(what, sizeof what, "created at batch %lld, batch %lld image %d", (long long)created[i],
                         (long long)n, j);
                if (!agree(what, y + j * img, yr, img, 1e-5 * sqrt(256.0 * 9), &worst_wino)) break;
            }
        }
        infer_session_free(s);
        infer_model_free(m);
    }
    free(file);
done:
    (void)cpu;
    free(w), free(bias), free(x), free(y), free(yr);
}

/* Depthwise convs up to 16 outputs wide, which x86 runs 8 channels at a time through
   transposes: channel counts that leave a partial group of 8, planes of 1, 3, 7 and 16
   columns (fewer than 4 outputs a row, rows past a multiple of 8 positions), 3x3 and 5x5 at
   strides 1 and 2, uneven pads, batches, activations; tests/test_conv.c's other depthwise
   cases cover the wider row kernels. */
static void test_conv_dw_small(void) {
    conv_case k[16];
    int i, n = 0;
    test_seed(14);
    k[n++] = cc(1, 7, 7, 7, 7, 3, 1, 1, 1, 7);       /* one partial group */
    k[n++] = cc(2, 17, 7, 7, 17, 3, 1, 1, 1, 17);    /* two groups and one channel, batch 2 */
    k[n++] = cc(1, 24, 14, 14, 24, 5, 2, 2, 1, 24);  /* 5x5 stride 2: 7 x 7 out */
    k[n++] = cc(1, 16, 16, 16, 16, 3, 1, 1, 1, 16);  /* 16 columns */
    k[n++] = cc(1, 9, 5, 3, 9, 3, 1, 1, 1, 9);       /* 3 columns: one output at a time */
    k[n++] = cc(3, 8, 1, 1, 8, 5, 1, 2, 1, 8);       /* a 1 x 1 image, all padding */
    k[n++] = cc(1, 33, 11, 13, 33, 5, 1, 2, 1, 33);  /* 5x5 stride 1, 11 x 13 */
    k[n++] = cc(1, 40, 9, 31, 40, 3, 2, 1, 1, 40);   /* stride 2: 16 columns out */
    k[n] = cc(1, 12, 10, 9, 12, 3, 1, 0, 1, 12), k[n].pw = 2, k[n].ph2 = 2, n++; /* uneven pads */
    k[n] = cc(2, 19, 7, 7, 19, 3, 1, 1, 1, 19), k[n].act = "Relu", n++;
    k[n] = cc(1, 21, 14, 14, 21, 5, 2, 2, 1, 21), k[n].act = "Silu", k[n].bias = 0, n++;
    k[n] = cc(1, 8, 6, 6, 8, 3, 1, 1, 1, 8), k[n].act = "Clip", n++;
    for (i = 0; i < n; i++)
        if (!check_conv(&k[i])) return;
}

/* -- MatMul / Gemm with a constant B: pre-packed -- */

/* One MatMul (or Gemm with transB) of a [m][k] input and a constant B; checks the
   packed bytes and the result against the reference at 1 and 2 threads. */
static void check_mm(const char *op, int64_t m, int64_t n, int64_t k, int trans_b) {
    static const char *in_names[2] = {"x", "b"}, *out_names[1] = {"y"};
    infer_builder *b = NULL;
    infer_tensor t;
    infer_attr at[1];
    int64_t ad[2];
    float *a = (float *)malloc((size_t)(m * k) * sizeof(float) + 4), *bw = (float *)malloc((size_t)(k * n) * sizeof(float) + 4);
    float *yr = (float *)malloc((size_t)(m * n) * sizeof(float) + 4), *y1 = (float *)malloc((size_t)(m * n) * sizeof(float) + 4);
    float *y2 = (float *)malloc((size_t)(m * n) * sizeof(float) + 4);
    void *file = NULL;
    size_t bytes = 0, packed;
    char what[96];
    infer__kernel_fn fns[2];
    int n_fn = 0, v, cpu = infer__cpu_features(), gemm = !strcmp(op, "Gemm");
#if defined(INFER__HAVE_AVX2)
    const int few = 1; /* B packed for a few rows too: x86 has kernels for them (isa->ukr_few) */
#else
    const int few = 0; /* a few rows read a row-major B in place */
#endif
#if defined(INFER__HAVE_AVX2)
    if (cpu & INFER__CPU_AVX512) fns[n_fn++] = gemm ? infer__gemm_f32_avx512 : infer__matmul_f32_avx512;
    if (cpu & INFER__CPU_AVX2) fns[n_fn++] = gemm ? infer__gemm_f32_avx2 : infer__matmul_f32_avx2;
#endif
#if defined(INFER__HAVE_NEON)
    if (cpu & INFER__CPU_NEON) fns[n_fn++] = gemm ? infer__gemm_f32_neon : infer__matmul_f32_neon;
#endif
    (void)cpu;
    test_fill(a, (size_t)(m * k), -1, 1);
    test_fill(bw, (size_t)(k * n), -1, 1);
    ad[0] = m, ad[1] = k;
    CHECK_OK(infer_builder_create(NULL, &b));
    CHECK_OK(infer_builder_add_input(b, "x", INFER_DTYPE_F32, 2, ad, NULL));
    memset(&t, 0, sizeof t);
    t.name = "b", t.dtype = INFER_DTYPE_F32, t.n_dims = 2, t.data = bw, t.data_bytes = (size_t)(k * n) * sizeof(float);
    t.dims[0] = trans_b ? n : k, t.dims[1] = trans_b ? k : n;
    CHECK_OK(infer_builder_add_constant(b, &t));
    at[0] = infer_attr_int("transB", trans_b);
    CHECK_OK(infer_builder_add_node(b, op, "mm", in_names, 2, out_names, 1, at, trans_b ? 1 : 0));
    CHECK_OK(infer_builder_add_output(b, "y"));
    CHECK_OK(infer_builder_serialize(b, NULL, 0, &bytes));
    if (posix_memalign(&file, 64, bytes) == 0) CHECK_OK(infer_builder_serialize(b, file, bytes, &bytes));
    infer_builder_free(b);
    snprintf(what, sizeof what, "%s m=%lld n=%lld k=%lld transB=%d", op, (long long)m, (long long)n, (long long)k, trans_b);
    run_model(file, bytes, a, ad, 2, yr, (size_t)(m * n), 1, 1, NULL);
    for (v = 0; v < n_fn; v++) {
        packed = run_model(file, bytes, a, ad, 2, y1, (size_t)(m * n), 1, 0, fns[v]);
        run_model(file, bytes, a, ad, 2, y2, (size_t)(m * n), 2, 0, fns[v]);
        agree(what, y1, yr, (size_t)(m * n), 1e-5 * sqrt((double)k), &worst_direct);
        if (memcmp(y1, y2, (size_t)(m * n) * sizeof(float)) != 0) printf("  %s: 1 and 2 threads differ\n", what), test__failed_checks++;
        if ((packed != 0) != (m >= INFER__GEMM_ROWS || (gemm && trans_b) || few)) printf("  %s: %zu packed bytes\n", what, packed), test__failed_checks++;
    }
    free(file), free(a), free(bw), free(yr), free(y1), free(y2);
}

static void test_matmul_gemm_prepacked(void) {
    test_seed(13);
    check_mm("MatMul", 7, 17, 3, 0);
    check_mm("MatMul", 1, 65, 33, 0); /* few rows: B packed on x86, else read in place */
    check_mm("MatMul", 70, 300, 600, 0);
    check_mm("MatMul", 300, 1100, 40, 0);
    check_mm("Gemm", 9, 63, 257, 1);
    check_mm("Gemm", 33, 7, 17, 0);
    check_mm("Gemm", 1, 1000, 1280, 1); /* a classifier: one row, B transposed, packed */
    check_mm("Gemm", 2, 65, 33, 0);     /* few rows, as MatMul's */
}

/* A mapped model: the packed weight's file pages are given back, the result is right,
   and a reference session of the same model still reads the weight (faulted back in). */
static void test_mapped_release(void) {
    conv_case k = cc(1, 64, 14, 14, 128, 3, 1, 1, 1, 1);
    int64_t xd[4] = {1, 64, 14, 14};
    size_t bytes = 0, yn = 128 * 14 * 14, wn = 128 * 64 * 9;
    float *x = (float *)malloc(64 * 14 * 14 * sizeof(float)), *w = (float *)malloc(wn * sizeof(float));
    float *bias = (float *)malloc(128 * sizeof(float)), *y0 = (float *)malloc(yn * sizeof(float));
    float *y1 = (float *)malloc(yn * sizeof(float)), *y2 = (float *)malloc(yn * sizeof(float));
    void *file;
    char path[64];
    FILE *fp;
    infer_model *m = NULL;
    infer_session *s1 = NULL, *s2 = NULL;
    infer_session_options opt;
    infer_session_stats st;
    infer_tensor in, out;
    test_seed(14);
    test_fill(x, 64 * 14 * 14, -1, 1);
    test_fill(w, wn, -1, 1);
    test_fill(bias, 128, -1, 1);
    file = conv_model(&k, w, bias, &bytes);
    CHECK(file != NULL);
    if (!file) return;
    run_model(file, bytes, x, xd, 4, y0, yn, 1, 1, NULL);
    snprintf(path, sizeof path, "/tmp/infer_test_conv_%ld.infer", (long)getpid());
    fp = fopen(path, "wb");
    CHECK(fp && fwrite(file, 1, bytes, fp) == bytes);
    if (fp) fclose(fp);
    CHECK_OK(infer_model_load(path, NULL, &m));
    memset(&opt, 0, sizeof opt);
    opt.n_threads = 1;
    CHECK_OK(infer_session_create(m, &opt, &s1));
    opt.force_reference = 1;
    CHECK_OK(infer_session_create(m, &opt, &s2));
    memset(&in, 0, sizeof in);
    in.name = "x", in.dtype = INFER_DTYPE_F32, in.n_dims = 4, in.data = x, in.data_bytes = 64 * 14 * 14 * sizeof(float);
    memcpy(in.dims, xd, sizeof xd);
    memset(&out, 0, sizeof out);
    out.name = "y", out.data_bytes = yn * sizeof(float);
    if (s1 && s2) {
        infer_session_get_stats(s1, &st);
        if (infer__cpu_features() & INFER__CPU_AVX2) CHECK(st.packed_weight_bytes >= wn * sizeof(float));
        out.data = y1;
        CHECK_OK(infer_run(s1, &in, 1, &out, 1));
        out.data = y2;
        CHECK_OK(infer_run(s2, &in, 1, &out, 1));
        agree("mapped, packed", y1, y0, yn, 1e-4, &worst_direct);
        CHECK(memcmp(y2, y0, yn * sizeof(float)) == 0); /* the reference read the released weight */
    }
    infer_session_free(s1);
    infer_session_free(s2);
    infer_model_free(m);
    remove(path);
    free(file), free(x), free(w), free(bias), free(y0), free(y1), free(y2);
}

/* Pads so large that the output's plane (and a depthwise conv's padded plane) overflow
   64 bits: session creation refuses the model, and computes no size that overflows
   (make asan's UBSan would stop on one; a fuzz find). */
static void test_conv_huge_pads(void) {
    conv_case k[2];
    int i;
    float w[9] = {0}, b[1] = {0};
    k[0] = cc(1, 1, 1, 1, 1, 1, 1, 0, 1, 1);
    k[1] = cc(1, 1, 1, 1, 1, 3, 1, 0, 1, 1); /* one channel, one group: depthwise 3x3 */
    for (i = 0; i < 2; i++) {
        infer_model *m = NULL;
        infer_session *s = NULL;
        size_t bytes = 0;
        void *file;
        k[i].ph = k[i].pw = k[i].ph2 = k[i].pw2 = (int64_t)1 << 39;
        file = conv_model(&k[i], w, b, &bytes);
        CHECK(file != NULL);
        if (!file) return;
        CHECK(infer_model_load_memory(file, bytes, NULL, &m) == INFER_STATUS_OK);
        if (m) {
            infer_status st = infer_session_create(m, NULL, &s);
            CHECK(st == INFER_STATUS_SHAPE || st == INFER_STATUS_OUT_OF_MEMORY);
            CHECK(s == NULL);
            infer_model_free(m);
        }
        free(file);
    }
}

/* -- the channels-last layout (infer__layout_pass) --
   An inverted residual block as MobileNet's, optionally with an SE branch as
   EfficientNet's: x -> pre (3x3, stride 1 or 2, Relu) -> t0 -> expand (1x1, Clip) -> t1 -> dw (k x k, stride s,
   Relu) -> t2 [-> GAP -> se (1x1, Sigmoid) -> t4; t5 = t2 * t4, or t4 - t2 with se 2] -> project (1x1) -> t3
   [-> t6 = t3 + t0 when the shapes allow] -> head (1x1) -> y. Everything from t0 to t6 is
   channels-last on x86 with AVX2: the general conv from NCHW (pre; not with 32 channels,
   over INFER__LY_GEN_K taps) and the pointwise one to NCHW (head),
   between NHWC tensors (expand, project, se), the depthwise conv, the same-shape Add and
   broadcast Mul, and the pool. Checked against the reference kernels (all NCHW), with the
   AVX2 kernels forced as well on AVX-512 CPUs, 1 and 2 threads bit-identical. The
   depthwise conv runs with expand (or with pre, in the cases without expand:
   infer__dw_fuse_pass): bit for bit as in the same block with a second reader of t1. */
typedef struct block_case {
    int64_t n, c, h, w, e, f, k, s, ps; /* ps: pre's stride */
    int se; /* 0: none, 1: t2 * t4, 2: t4 - t2 */
    int noexp; /* 1: no expand, pre writes t1 (e = c), no residual */
} block_case;

static void block_const(infer_builder *b, const char *name, int n_dims, int64_t d0, int64_t d1, int64_t d2, int64_t d3,
                        int *ok) {
    infer_tensor t;
    size_t n = (size_t)(d0 * (n_dims > 1 ? d1 : 1) * (n_dims > 2 ? d2 * d3 : 1)), i;
    float *v = (float *)malloc(n * sizeof(float) + 4);
    memset(&t, 0, sizeof t);
    t.name = name, t.dtype = INFER_DTYPE_F32, t.n_dims = n_dims, t.dims[0] = d0, t.dims[1] = d1, t.dims[2] = d2,
    t.dims[3] = d3;
    for (i = 0; v && i < n; i++) v[i] = (float)test_uniform(-1, 1) / (n_dims > 1 ? (float)sqrt((double)(d1 * d2 * d3)) : 1.0f);
    t.data = v, t.data_bytes = n * sizeof(float);
    *ok &= v && !infer_builder_add_constant(b, &t);
    free(v);
}

static void block_conv(infer_builder *b, const char *name, const char *x, const char *y, int64_t cin, int64_t m,
                       int64_t k, int64_t s, int64_t group, const char *act, int *ok) {
    char wn[32], bn[32];
    const char *in[3];
    const char *out[1];
    int64_t ks[2], st[2], pads[4];
    infer_attr at[8];
    int n_at = 0;
    snprintf(wn, sizeof wn, "%s.w", name), snprintf(bn, sizeof bn, "%s.b", name);
    block_const(b, wn, 4, m, cin / group, k, k, ok);
    block_const(b, bn, 1, m, 1, 1, 1, ok);
    in[0] = x, in[1] = wn, in[2] = bn, out[0] = y;
    ks[0] = ks[1] = k, st[0] = st[1] = s, pads[0] = pads[1] = pads[2] = pads[3] = k / 2;
    at[n_at++] = infer_attr_ints("kernel_shape", ks, 2);
    at[n_at++] = infer_attr_ints("strides", st, 2);
    at[n_at++] = infer_attr_ints("pads", pads, 4);
    at[n_at++] = infer_attr_int("group", group);
    if (act) at[n_at++] = infer_attr_string("activation", act);
    if (act && !strcmp(act, "Clip")) at[n_at++] = infer_attr_float("activation_alpha", 0), at[n_at++] = infer_attr_float("activation_beta", 6);
    *ok &= !infer_builder_add_node(b, "Conv", name, in, 3, out, 1, at, (size_t)n_at);
}

/* tap: t1 read by a second node too (a pool to a second output, g1), so that the
   depthwise conv does not run with expand (infer__dw_fuse_pass) */
static void *block_model(const block_case *k, int residual, int tap, size_t *bytes) {
    infer_builder *b = NULL;
    int64_t xd[4];
    int ok = 1;
    const char *mul[2] = {"t2", "t4"}, *sub[2] = {"t4", "t2"}, *add[2] = {"t3", "t0"}, *gi[1] = {"t2"}, *go[1] = {"g"}, *mo[1] = {"t5"},
               *ao[1] = {"t6"}, *ti[1] = {"t1"}, *to[1] = {"g1"};
    if (infer_builder_create(NULL, &b)) return NULL;
    xd[0] = k->n, xd[1] = k->c, xd[2] = k->h, xd[3] = k->w;
    ok &= !infer_builder_add_input(b, "x", INFER_DTYPE_F32, 4, xd, NULL);
    block_conv(b, "pre", "x", k->noexp ? "t1" : "t0", k->c, k->c, 3, k->ps, 1, "Relu", &ok);
    if (!k->noexp) block_conv(b, "expand", "t0", "t1", k->c, k->e, 1, 1, 1, k->se == 1 ? "Sigmoid" : "Clip", &ok);
    if (tap) ok &= !infer_builder_add_node(b, "GlobalAveragePool", "tap", ti, 1, to, 1, NULL, 0);
    block_conv(b, "dw", "t1", "t2", k->e, k->e, k->k, k->s, k->e, k->se == 2 ? "Sigmoid" : "Relu", &ok);
    if (k->se) {
        ok &= !infer_builder_add_node(b, "GlobalAveragePool", "gap", gi, 1, go, 1, NULL, 0);
        block_conv(b, "se", "g", "t4", k->e, k->e, 1, 1, 1, "Sigmoid", &ok);
        ok &= !infer_builder_add_node(b, k->se == 2 ? "Sub" : "Mul", "mul", k->se == 2 ? sub : mul, 2, mo, 1, NULL, 0);
    }
    block_conv(b, "project", k->se ? "t5" : "t2", "t3", k->e, k->f, 1, 1, 1, NULL, &ok);
    if (residual) ok &= !infer_builder_add_node(b, "Add", "add", add, 2, ao, 1, NULL, 0);
    block_conv(b, "head", residual ? "t6" : "t3", "y", k->f, 5, 1, 1, 1, NULL, &ok);
    if (tap) ok &= !infer_builder_add_output(b, "g1");
    return model_image(b, ok, bytes);
}

/* Runs the block on x into y; fn (or NULL) forced on every Conv (weights re-packed);
   returns how many tensors were channels-last, and the nodes run through *steps (or NULL) */
static int run_block(const void *file, size_t bytes, const float *x, const int64_t *xd, float *y, size_t yn,
                     int n_threads, int ref, infer__kernel_fn fn, int *steps) {
    infer_model *m = NULL;
    infer_session *s = NULL;
    infer_session_options opt;
    infer_tensor in, out;
    int n_nhwc = 0;
    uint32_t i;
    memset(&opt, 0, sizeof opt);
    opt.n_threads = n_threads;
    opt.force_reference = ref;
    CHECK_OK(infer_model_load_memory(file, bytes, NULL, &m));
    if (!m) return -1;
    CHECK_OK(infer_session_create(m, &opt, &s));
    if (!s) goto done;
    for (i = 0; i < m->n_tensors; i++) n_nhwc += s->vals[i].nhwc;
    if (steps) *steps = (int)s->n_steps;
    for (i = 0; fn && i < s->n_steps; i++) {
        uint32_t node = s->steps[i];
        infer__ctx c;
        size_t n;
        int wino;
        if (m->nodes[node].op != INFER__OP_CONV) continue;
        s->kernels[node] = fn;
        infer__free(&s->a, s->packed_raw[node]);
        s->packed_raw[node] = NULL, s->packed[node] = NULL, s->wino_e[node] = 0;
        infer__ctx_init(s, node, &c);
        if ((n = infer__cpu_pack(&c, fn, NULL, &wino)) != 0) {
            float *d = (float *)infer__alloc_aligned(&s->a, n * sizeof(float), &s->packed_raw[node]);
            CHECK(d != NULL);
            if (d) infer__cpu_pack(&c, fn, d, &wino);
            s->packed[node] = d;
            s->wino_e[node] = (uint8_t)(d ? wino : 0);
        }
    }
    memset(&in, 0, sizeof in);
    in.name = "x", in.dtype = INFER_DTYPE_F32, in.n_dims = 4, in.data = (void *)x;
    for (i = 0; i < 4; i++) in.dims[i] = xd[i];
    in.data_bytes = (size_t)(xd[0] * xd[1] * xd[2] * xd[3]) * sizeof(float);
    memset(&out, 0, sizeof out);
    out.name = "y", out.data = y, out.data_bytes = yn * sizeof(float);
    CHECK_OK(infer_run(s, &in, 1, &out, 1));
done:
    infer_session_free(s);
    infer_model_free(m);
    return n_nhwc;
}

/* The block on 2 threads (bit-identical to y1, one thread) and, on AVX-512 CPUs, with the
   AVX2 kernels forced (against the reference yr); y2 is scratch */
static void check_block_variants(const char *what, const void *file, size_t bytes, const float *x, const int64_t *xd,
                                 const float *y1, const float *yr, float *y2, size_t yn) {
    size_t j;
    (void)yr; /* read only where the AVX2 kernels can be forced */
    test_fill(y2, yn, -9, 9);
    run_block(file, bytes, x, xd, y2, yn, 2, 0, NULL, NULL);
    for (j = 0; j < yn && y1[j] == y2[j]; j++) continue;
    if (j < yn) printf("  %s: 2 threads differ at [%zu]: %.9g vs %.9g\n", what, j, (double)y2[j], (double)y1[j]);
    CHECK(j == yn);
#if defined(INFER__HAVE_AVX2)
    if (infer__cpu_features() & INFER__CPU_AVX512) { /* the 8-lane kernels on an AVX-512 CPU */
        test_fill(y2, yn, -9, 9);
        run_block(file, bytes, x, xd, y2, yn, 2, 0, infer__conv_f32_avx2, NULL);
        agree(what, y2, yr, yn, 1e-5, &worst_direct);
    }
#endif
}

static void test_layout_nhwc(void) {
    static const block_case cases[] = {
        {1, 8, 13, 13, 24, 8, 3, 1, 1, 0, 0},  {1, 3, 7, 5, 16, 17, 3, 2, 2, 0, 0},  {3, 8, 9, 11, 40, 8, 5, 1, 1, 1, 0},
        {1, 17, 14, 14, 48, 17, 5, 2, 1, 1, 0}, {2, 16, 1, 1, 64, 16, 3, 1, 1, 1, 0}, {1, 4, 20, 3, 75, 4, 3, 1, 1, 0, 0},
        {1, 32, 6, 6, 200, 40, 3, 2, 1, 1, 0},  {1, 1, 4, 4, 13, 1, 3, 1, 1, 0, 0},   {2, 3, 37, 29, 32, 16, 3, 1, 2, 0, 0},
        {3, 5, 7, 6, 19, 5, 3, 1, 1, 2, 0}, /* the SE scale first, by a Sub: t5 = t4 - t2 */
        {1, 8, 40, 20, 96, 8, 3, 2, 1, 1, 0}, {1, 8, 40, 24, 136, 8, 5, 1, 1, 2, 0}, /* the fused dw conv's rows moved */
        {1, 8, 30, 22, 8, 16, 3, 1, 2, 0, 1}, {2, 16, 50, 50, 16, 8, 5, 2, 2, 1, 1}, /* the stem to the dw conv */
        {1, 8, 96, 96, 8, 8, 3, 2, 1, 0, 1}, {1, 2, 200, 200, 2, 4, 3, 1, 1, 0, 1}, /* (rows moved) */
    };
    size_t i;
    int cpu = infer__cpu_features();
    (void)cpu; /* the layout pass needs AVX2 */
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const block_case *k = &cases[i];
        int residual = k->s == 1 && k->f == k->c && !k->noexp, want = 0, n_nhwc, steps = 0, tap_steps = 0, fused = 0, nt;
        int64_t oh = ((k->h - 1) / k->ps) / k->s + 1, ow = ((k->w - 1) / k->ps) / k->s + 1, xd[4];
        size_t xn = (size_t)(k->n * k->c * k->h * k->w), yn = (size_t)(k->n * 5 * oh * ow), bytes = 0, tap_bytes = 0, j;
        float *x = (float *)malloc(xn * sizeof(float)), *yr = (float *)malloc(yn * sizeof(float));
        float *y1 = (float *)malloc(yn * sizeof(float)), *y2 = (float *)malloc(yn * sizeof(float));
        void *file, *tap;
        char what[160];
        test_seed(40 + (unsigned)i), file = block_model(k, residual, 0, &bytes); /* the same weights in both */
        test_seed(40 + (unsigned)i), tap = block_model(k, residual, 1, &tap_bytes);
        CHECK(file && tap && x && yr && y1 && y2);
        if (!file || !tap || !x || !yr || !y1 || !y2) goto next;
        snprintf(what, sizeof what, "block n%lld c%lld %lldx%lld e%lld f%lld k%lld s%lld ps%lld se%d res%d noexp%d",
                 (long long)k->n, (long long)k->c, (long long)k->h, (long long)k->w, (long long)k->e, (long long)k->f,
                 (long long)k->k, (long long)k->s, (long long)k->ps, k->se, residual, k->noexp);
        xd[0] = k->n, xd[1] = k->c, xd[2] = k->h, xd[3] = k->w;
        test_fill(x, xn, -1, 1);
        CHECK(run_block(file, bytes, x, xd, yr, yn, 1, 1, NULL, NULL) == 0); /* the reference: all NCHW */
        n_nhwc = run_block(file, bytes, x, xd, y1, yn, 1, 0, NULL, &steps);
#if defined(INFER__HAVE_AVX2)
        if (cpu & INFER__CPU_AVX2) /* t1 t2 (t4 t5), and t0 t3 (t6) when pre may write NHWC */
            want = 2 + 2 * !!k->se + (k->c > 1 && 9 * k->c <= INFER__LY_GEN_K ? 2 + residual : !residual); /* c 1: pre is depthwise */
        fused = (cpu & INFER__CPU_AVX2) != 0; /* the dw conv runs with expand (or pre) */
        if ((cpu & INFER__CPU_AVX2) && k->noexp) want = 3 + 2 * !!k->se; /* t1 t2 t3 (t4 t5) */
#endif
        if (n_nhwc != want) printf("  %s: %d channels-last tensors, expected %d\n", what, n_nhwc, want);
        CHECK(n_nhwc == want);
        agree(what, y1, yr, yn, 1e-5, &worst_direct);
        for (nt = 1; nt <= 2; nt++) { /* bit for bit the two convs apart (t1 read by a pool as well), 1 and 2 threads */
            test_fill(y2, yn, -9, 9);
            run_block(file, bytes, x, xd, y2, yn, nt, 0, NULL, NULL);
            for (j = 0; j < yn && y1[j] == y2[j]; j++) continue;
            test_fill(y2, yn, -9, 9);
            run_block(tap, tap_bytes, x, xd, y2, yn, nt, 0, NULL, &tap_steps);
            for (j = 0; j < yn && y1[j] == y2[j]; j++) continue;
            if (j < yn) printf("  %s, %d threads: unfused differs at [%zu]: %.9g vs %.9g\n", what, nt, j, (double)y2[j], (double)y1[j]);
            CHECK(j == yn);
        }
        if (tap_steps != steps + 1 + fused) printf("  %s: %d nodes run, %d with a tap on t1\n", what, steps, tap_steps);
        CHECK(tap_steps == steps + 1 + fused);
        check_block_variants(what, file, bytes, x, xd, y1, yr, y2, yn);
    next:
        free(file), free(tap), free(x), free(yr), free(y1), free(y2);
    }
}

/* Residual blocks (infer__residual_pass): x -> a (1x1, c -> e, Relu) -> t1 -> b (k x k,
   stride s, groups g, e -> f) -> t2; r = x, or down(x) (1x1, stride s, c -> f; made before
   b, or after b with a Relu of its own: then b cannot start from it); t3 = t2 + r (or
   r + t2) [-> Relu -> t4] -> head (1x1, f -> 5) -> y. Against the reference kernels
   (unfused), 1 and 2 threads bit-identical, the AVX2 kernels forced on AVX-512; and the
   nodes run: the Add and the Relu go into b (GEMM or Winograd) wherever r is made before
   it. */
typedef struct res_case {
    int64_t n, c, h, w, e, f, k, s, g;
    int down, relu, swap; /* down: 0 r = x, 1 down before b, 2 down after b (with a Relu) */
} res_case;

static void *res_model(const res_case *k, size_t *bytes) {
    infer_builder *b = NULL;
    int64_t xd[4];
    int ok = 1;
    const char *r = k->down ? "r" : "x", *add[2], *ao[1] = {"t3"}, *ri[1] = {"t3"}, *ro[1] = {"t4"};
    if (infer_builder_create(NULL, &b)) return NULL;
    xd[0] = k->n, xd[1] = k->c, xd[2] = k->h, xd[3] = k->w;
    ok &= !infer_builder_add_input(b, "x", INFER_DTYPE_F32, 4, xd, NULL);
    block_conv(b, "a", "x", "t1", k->c, k->e, 1, 1, 1, "Relu", &ok);
    if (k->down == 1) block_conv(b, "down", "x", "r", k->c, k->f, 1, k->s, 1, NULL, &ok);
    block_conv(b, "b", "t1", "t2", k->e, k->f, k->k, k->s, k->g, NULL, &ok);
    if (k->down == 2) block_conv(b, "down", "x", "r", k->c, k->f, 1, k->s, 1, "Relu", &ok);
    add[0] = k->swap ? r : "t2", add[1] = k->swap ? "t2" : r;
    ok &= !infer_builder_add_node(b, "Add", "add", add, 2, ao, 1, NULL, 0);
    if (k->relu) ok &= !infer_builder_add_node(b, "Relu", "relu", ri, 1, ro, 1, NULL, 0);
    block_conv(b, "head", k->relu ? "t4" : "t3", "y", k->f, 5, 1, 1, 1, NULL, &ok);
    return model_image(b, ok, bytes);
}

static void test_conv_residual(void) {
    static const res_case cases[] = {
        {1, 16, 7, 7, 8, 16, 1, 1, 1, 0, 1, 0},   {1, 16, 7, 7, 8, 16, 1, 1, 1, 0, 0, 1},  {3, 8, 9, 11, 8, 8, 3, 1, 2, 0, 1, 0},
        {2, 7, 13, 5, 12, 17, 3, 2, 1, 1, 1, 1},  {1, 3, 17, 17, 24, 24, 1, 2, 1, 1, 1, 0}, {1, 5, 6, 6, 6, 9, 1, 1, 3, 1, 0, 0},
        {1, 16, 9, 9, 16, 16, 3, 1, 1, 0, 1, 0},  {2, 4, 8, 8, 4, 12, 1, 2, 1, 2, 1, 0},  {1, 1, 1, 1, 3, 1, 1, 1, 1, 0, 1, 1},
        {1, 64, 14, 14, 32, 64, 1, 1, 1, 0, 1, 0}, {1, 8, 12, 12, 40, 24, 3, 2, 1, 1, 1, 0}, /* K over a block: 360, 300, 272 */
        {1, 24, 5, 5, 300, 24, 1, 1, 1, 0, 1, 0},  {2, 16, 6, 6, 272, 32, 1, 1, 1, 1, 1, 1},
        {2, 8, 13, 19, 16, 17, 3, 1, 1, 1, 1, 1},  {1, 8, 7, 7, 512, 512, 3, 1, 1, 1, 1, 0}, /* Winograd F(4x4), F(2x2) */
        {1, 5, 30, 30, 16, 5, 3, 1, 1, 0, 1, 0},   {1, 16, 11, 11, 16, 16, 3, 1, 1, 1, 0, 1},
    };
    size_t i;
    int cpu = infer__cpu_features();
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const res_case *k = &cases[i];
        int64_t oh = (k->h - 1) / k->s + 1, ow = (k->w - 1) / k->s + 1, xd[4];
        size_t xn = (size_t)(k->n * k->c * k->h * k->w), yn = (size_t)(k->n * 5 * oh * ow), bytes = 0;
        float *x = (float *)malloc(xn * sizeof(float)), *yr = (float *)malloc(yn * sizeof(float));
        float *y1 = (float *)malloc(yn * sizeof(float)), *y2 = (float *)malloc(yn * sizeof(float));
        void *file = res_model(k, &bytes);
        int all = 4 + !!k->down + k->relu, steps = 0, want = all;
        char what[160];
        CHECK(file && x && yr && y1 && y2);
        if (!file || !x || !yr || !y1 || !y2) goto next;
        snprintf(what, sizeof what, "residual n%lld c%lld %lldx%lld e%lld f%lld k%lld s%lld g%lld down%d relu%d swap%d",
                 (long long)k->n, (long long)k->c, (long long)k->h, (long long)k->w, (long long)k->e, (long long)k->f,
                 (long long)k->k, (long long)k->s, (long long)k->g, k->down, k->relu, k->swap);
        xd[0] = k->n, xd[1] = k->c, xd[2] = k->h, xd[3] = k->w;
        test_fill(x, xn, -1, 1);
        run_block(file, bytes, x, xd, yr, yn, 1, 1, NULL, &steps);
        CHECK(steps == all); /* the reference runs every node */
        run_block(file, bytes, x, xd, y1, yn, 1, 0, NULL, &steps);
#if defined(INFER__HAVE_AVX2)
        if ((cpu & INFER__CPU_AVX2) && k->down != 2) want = all - 1 - k->relu;
#elif defined(INFER__HAVE_NEON)
        if (k->down != 2) want = all - 1 - k->relu;
#endif
        if (steps != want) printf("  %s: %d nodes run, expected %d\n", what, steps, want);
        CHECK(steps == want);
        agree(what, y1, yr, yn, 1e-5, &worst_direct);
        check_block_variants(what, file, bytes, x, xd, y1, yr, y2, yn);
    next:
        free(file), free(x), free(yr), free(y1), free(y2);
    }
    (void)cpu;
}

/* The stride-2 gather of the im2col pack, d[i] = x[2 i], on every length to 40 from a
   buffer that ends at x[2 n - 2] (ASan and valgrind see a read past it) */
static void test_conv_even(void) {
#if defined(INFER__HAVE_AVX2) || defined(INFER__HAVE_NEON)
    int64_t n, i;
    int v;
    for (v = 0; v < 2; v++) { /* AVX2 or NEON, then AVX-512 where the CPU has it */
#if defined(INFER__HAVE_AVX2)
        if (v == 1 && !(infer__cpu_features() & INFER__CPU_AVX512)) break;
#else
        if (v == 1) break;
#endif
        for (n = 1; n <= 40; n++) {
            float *x = (float *)malloc((size_t)(2 * n - 1) * sizeof(float)), d[41];
            CHECK(x != NULL);
            if (!x) return;
            for (i = 0; i < 2 * n - 1; i++) x[i] = (float)i;
            d[n] = -1;
#if defined(INFER__HAVE_AVX2)
            if (v == 1) infer__even_avx512(d, x, n);
            else infer__even_avx2(d, x, n);
#else
            infer__even_neon(d, x, n);
#endif
            for (i = 0; i < n; i++) CHECK(d[i] == (float)(2 * i));
            CHECK(d[n] == -1);
            free(x);
        }
    }
#endif
}

int main(void) {
    printf("# cpu: avx2 %d, avx512 %d, neon %d\n", !!(infer__cpu_features() & INFER__CPU_AVX2),
           !!(infer__cpu_features() & INFER__CPU_AVX512), !!(infer__cpu_features() & INFER__CPU_NEON));
    RUN(test_conv_fixed_shapes);
    RUN(test_conv_random_shapes);
    RUN(test_conv_batch_images);
    RUN(test_conv_winograd);
    RUN(test_conv_winograd_kept);
    RUN(test_conv_dw_small);
    RUN(test_layout_nhwc);
    RUN(test_conv_residual);
    RUN(test_matmul_gemm_prepacked);
    RUN(test_mapped_release);
    RUN(test_conv_huge_pads);
    RUN(test_conv_even);
    return test_finish();
}
