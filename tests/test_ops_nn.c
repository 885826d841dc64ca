/* tests/test_ops_nn.c - the neural-network ops against references written here in double
   precision, straight from the ONNX definitions (the newest opset of each op): MatMul,
   Gemm, Conv, ConvTranspose, MaxPool, AveragePool, GlobalAveragePool, BatchNormalization,
   LayerNormalization, Softmax, LogSoftmax.

   Data. The index-heavy tests (MatMul, Gemm, the Conv and pool grids) use "dyadic"
   values, multiples of 1/16 in [-1, 1]: every product and partial sum of those sizes is
   exact in f32, so a wrong index shows as a clear error while the summation order cannot
   matter. Accuracy and thread-determinism tests use continuous random values. */
#include "test.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define F32 INFER_DTYPE_F32

/* ===== helpers ===== */

static int64_t numel(int n, const int64_t *d) {
    int64_t p = 1;
    int i;
    for (i = 0; i < n; i++) p *= d[i];
    return p;
}
static float *new_f32(int64_t n) { return (float *)calloc((size_t)(n > 0 ? n : 1), sizeof(float)); }
static double *new_f64(int64_t n) { return (double *)calloc((size_t)(n > 0 ? n : 1), sizeof(double)); }
/* n random multiples of 1/16 in [-1, 1] */
static float *dyadic(int64_t n) {
    float *x = new_f32(n);
    int64_t i;
    for (i = 0; i < n; i++) x[i] = (float)test_int(-16, 16) / 16.0f;
    return x;
}
/* n random values, uniform in [lo, hi) */
static float *uniform(int64_t n, double lo, double hi) {
    float *x = new_f32(n);
    test_fill(x, (size_t)(n > 0 ? n : 0), lo, hi);
    return x;
}
static int64_t floordiv(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
static int same_str(const char *a, const char *b) { return a && b && !strcmp(a, b); }
static const char *dims_str(char *buf, size_t cap, int n, const int64_t *d) {
    size_t k = 0;
    int i;
    k += (size_t)snprintf(buf, cap, "[");
    for (i = 0; i < n && k < cap; i++) k += (size_t)snprintf(buf + k, cap - k, i ? ",%lld" : "%lld", (long long)d[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
    return buf;
}

static op_case new_case(const char *op) {
    op_case c;
    memset(&c, 0, sizeof c);
    c.op = op;
    return c;
}
static void add_in(op_case *c, op_input x) { c->in[c->n_in++] = x; }
static void add_attr(op_case *c, infer_attr a) { c->attrs[c->n_attrs++] = a; }

/* Checks that output k of a run has dtype t, dims want[n_dims] and values near ref
   (relative 1e-5 for f32, exact for integers). Returns 1 when all hold. */
static int check_out(const op_case *c, int k, const char *what, infer_dtype t, int n_dims, const int64_t *want,
                     const double *ref) {
    const infer_tensor *o = &c->out[k];
    char b1[128], b2[128];
    int64_t n = numel(n_dims, want), i;
    float *got;
    int ok;
    if (c->status != INFER_STATUS_OK) {
        printf("  %s: %s: %s\n", what, infer_status_name(c->status), c->error);
        test__failed_checks++;
        return 0;
    }
    if (o->dtype != t || o->n_dims != n_dims || memcmp(o->dims, want, sizeof(int64_t) * (size_t)n_dims) != 0) {
        printf("  %s: output %d is %s %s, want %s %s\n", what, k, infer_dtype_name(o->dtype),
               dims_str(b1, sizeof b1, o->n_dims, o->dims), infer_dtype_name(t), dims_str(b2, sizeof b2, n_dims, want));
        test__failed_checks++;
        return 0;
    }
    if (t == F32) return test_close(what, (const float *)o->data, ref, (size_t)n, 1e-5);
    got = new_f32(n);
    for (i = 0; i < n; i++)
        got[i] = t == INFER_DTYPE_U8 ? (float)((const uint8_t *)o->data)[i] : (float)((const int8_t *)o->data)[i];
    ok = test_close(what, got, ref, (size_t)n, 0.0);
    free(got);
    return ok;
}

/* Checks that a run failed with status want and a message containing phrase. */
static int check_fail(const op_case *c, const char *what, infer_status want, const char *phrase) {
    if (c->status == want && strstr(c->error, phrase)) return 1;
    printf("  %s: got %s \"%s\"; wanted %s with \"%s\"\n", what, infer_status_name(c->status), c->error,
           infer_status_name(want), phrase);
    test__failed_checks++;
    return 0;
}

/* Runs c with 1 and then 2 threads; returns 1 when output 0 is the same bit for bit. */
static int same_bits_1_and_2_threads(op_case *c) {
    void *one;
    size_t bytes;
    int same;
    c->n_threads = 1;
    CHECK_OK(op_run(c));
    if (c->status) return 0;
    bytes = c->out[0].data_bytes;
    one = malloc(bytes ? bytes : 1);
    memcpy(one, c->out[0].data, bytes);
    op_free(c);
    c->n_threads = 2;
    CHECK_OK(op_run(c));
    same = c->status == INFER_STATUS_OK && c->out[0].data_bytes == bytes && memcmp(one, c->out[0].data, bytes) == 0;
    op_free(c);
    free(one);
    return same;
}

/* ===== MatMul ===== */

/* MatMul (numpy matmul semantics): a 1-D A is read as [1,K] and a 1-D B as [K,1], and that
   added dim is removed from the result; the batch dims (all but the last two) broadcast.
   Sets the output rank and dims; fills y when it is not NULL. */
static void matmul_ref(int ra, const int64_t *da, const float *a, int rb, const int64_t *db, const float *b, int *ry,
                       int64_t *dy, double *y) {
    int64_t a2[INFER_MAX_DIMS + 1], b2[INFER_MAX_DIMS + 1], batch[INFER_MAX_DIMS], m, k, n, nbat, t;
    int ra2 = ra == 1 ? 2 : ra, rb2 = rb == 1 ? 2 : rb, nb, i, r = 0;
    if (ra == 1) a2[0] = 1, a2[1] = da[0];
    else memcpy(a2, da, sizeof(int64_t) * (size_t)ra);
    if (rb == 1) b2[0] = db[0], b2[1] = 1;
    else memcpy(b2, db, sizeof(int64_t) * (size_t)rb);
    m = a2[ra2 - 2], k = a2[ra2 - 1], n = b2[rb2 - 1];
    nb = (ra2 > rb2 ? ra2 : rb2) - 2;
    for (i = 0; i < nb; i++) {
        int ja = i - (nb - (ra2 - 2)), jb = i - (nb - (rb2 - 2));
        int64_t ea = ja >= 0 ? a2[ja] : 1, eb = jb >= 0 ? b2[jb] : 1;
        batch[i] = ea == 1 ? eb : ea;
        dy[r++] = batch[i];
    }
    if (ra > 1) dy[r++] = m;
    if (rb > 1) dy[r++] = n;
    *ry = r;
    if (!y) return;
    nbat = numel(nb, batch);
    for (t = 0; t < nbat; t++) {
        /* this batch index in A and in B: a dim of 1 always reads index 0 */
        int64_t oa = 0, ob = 0, rem = t, idx[INFER_MAX_DIMS], ii, jj, p;
        for (i = nb - 1; i >= 0; i--) idx[i] = rem % batch[i], rem /= batch[i];
        for (i = 0; i < nb; i++) {
            int ja = i - (nb - (ra2 - 2)), jb = i - (nb - (rb2 - 2));
            if (ja >= 0) oa = oa * a2[ja] + (a2[ja] == 1 ? 0 : idx[i]);
            if (jb >= 0) ob = ob * b2[jb] + (b2[jb] == 1 ? 0 : idx[i]);
        }
        for (ii = 0; ii < m; ii++)
            for (jj = 0; jj < n; jj++) {
                double s = 0;
                for (p = 0; p < k; p++) s += (double)a[(oa * m + ii) * k + p] * b[(ob * k + p) * n + jj];
                y[(t * m + ii) * n + jj] = s;
            }
    }
}

/* Runs MatMul on a, b of the given shapes (b a constant when b_const) and checks it. */
static void run_matmul(int ra, const int64_t *da, const float *a, int rb, const int64_t *db, const float *b,
                       int b_const) {
    op_case c = new_case("MatMul");
    int64_t dy[INFER_MAX_DIMS];
    int ry;
    double *y;
    char what[160], s1[64], s2[64];
    matmul_ref(ra, da, a, rb, db, b, &ry, dy, NULL);
    y = new_f64(numel(ry, dy));
    matmul_ref(ra, da, a, rb, db, b, &ry, dy, y);
    add_in(&c, op_in("a", F32, ra, da, a));
    add_in(&c, b_const ? op_const("b", F32, rb, db, b) : op_in("b", F32, rb, db, b));
    op_run(&c);
    snprintf(what, sizeof what, "MatMul %s x %s", dims_str(s1, sizeof s1, ra, da), dims_str(s2, sizeof s2, rb, db));
    check_out(&c, 0, what, F32, ry, dy, y);
    op_free(&c);
    free(y);
}

typedef struct mm_shape {
    int ra;
    int64_t da[4];
    int rb;
    int64_t db[4];
} mm_shape;

static void run_matmul_shapes(const mm_shape *s, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        float *a = dyadic(numel(s[i].ra, s[i].da)), *b = dyadic(numel(s[i].rb, s[i].db));
        run_matmul(s[i].ra, s[i].da, a, s[i].rb, s[i].db, b, (int)(i % 2));
        free(a);
        free(b);
    }
}

/* 2-D operands, sizes 1, 3, 7, 17 and 1000 in each of M, K, N. */
static void test_matmul_2d(void) {
    static const mm_shape s[] = {
        {2, {1, 1}, 2, {1, 1}},       {2, {3, 7}, 2, {7, 17}},      {2, {17, 3}, 2, {3, 1}},
        {2, {7, 17}, 2, {17, 7}},     {2, {1, 1000}, 2, {1000, 3}}, {2, {1, 7}, 2, {7, 1000}},
        {2, {1000, 3}, 2, {3, 7}},    {2, {1, 1000}, 2, {1000, 17}},
    };
    test_seed(101);
    run_matmul_shapes(s, NELEM(s));
}

/* A 1-D A is [1,K] with the 1 removed after; a 1-D B is [K,1] likewise; both: a scalar. */
static void test_matmul_1d(void) {
    static const mm_shape s[] = {
        {1, {7}, 2, {7, 3}},  {2, {3, 7}, 1, {7}},    {1, {17}, 1, {17}},      {1, {1000}, 1, {1000}},
        {3, {2, 3, 7}, 1, {7}}, {1, {7}, 3, {2, 7, 3}}, {1, {1}, 2, {1, 17}}, {4, {2, 1, 3, 7}, 1, {7}},
    };
    test_seed(102);
    run_matmul_shapes(s, NELEM(s));
}

/* The batch dims broadcast (numpy): [2,1,3,7] x [5,7,3] -> [2,5,3,3], and so on. */
static void test_matmul_batch_broadcast(void) {
    static const mm_shape s[] = {
        {3, {4, 3, 7}, 3, {4, 7, 5}},       {4, {2, 1, 3, 7}, 3, {5, 7, 3}}, {3, {1, 3, 7}, 3, {4, 7, 2}},
        {3, {4, 3, 7}, 2, {7, 2}},          {2, {3, 7}, 4, {2, 3, 7, 1}},    {4, {2, 3, 1, 17}, 4, {1, 3, 17, 7}},
        {3, {17, 1, 1}, 3, {1, 1, 3}},      {4, {1, 2, 3, 7}, 2, {7, 7}},    {3, {3, 7, 1000}, 3, {1, 1000, 3}},
    };
    test_seed(103);
    run_matmul_shapes(s, NELEM(s));
}

/* Continuous values, K = 1000: the f32 result is within 1e-5 of the exact one. The data
   is positive so that the check measures accumulation error, not cancellation. */
static void test_matmul_accuracy(void) {
    int64_t da[2] = {3, 1000}, db[2] = {1000, 17};
    float *a, *b;
    test_seed(104);
    a = uniform(3 * 1000, 0, 1);
    b = uniform(1000 * 17, 0, 1);
    run_matmul(2, da, a, 2, db, b, 1);
    free(a);
    free(b);
}

/* Two threads give the same bits as one (each output element has one owner and order). */
static void test_matmul_threads(void) {
    int64_t da[3] = {2, 64, 96}, db[2] = {96, 80};
    float *a, *b;
    op_case c = new_case("MatMul");
    test_seed(105);
    a = uniform(numel(3, da), -1, 1);
    b = uniform(numel(2, db), -1, 1);
    add_in(&c, op_in("a", F32, 3, da, a));
    add_in(&c, op_const("b", F32, 2, db, b));
    CHECK(same_bits_1_and_2_threads(&c));
    free(a);
    free(b);
}

static void test_matmul_errors(void) {
    int32_t ia[6] = {0};
    float a[20] = {0}, b[20] = {0};
    int64_t d23[2] = {2, 3}, d45[2] = {4, 5}, d32[2] = {3, 2}, d234[3] = {2, 2, 3}, d332[3] = {3, 3, 2};
    op_case c = new_case("MatMul");
    /* only f32 is supported */
    add_in(&c, op_in("a", INFER_DTYPE_I32, 2, d23, ia));
    add_in(&c, op_in("b", INFER_DTYPE_I32, 2, d32, ia));
    op_run(&c);
    check_fail(&c, "MatMul i32", INFER_STATUS_UNSUPPORTED, "dtype i32");
    op_free(&c);
    /* K of A (3) differs from K of B (4): the message names both shapes */
    c = new_case("MatMul");
    add_in(&c, op_in("a", F32, 2, d23, a));
    add_in(&c, op_const("b", F32, 2, d45, b));
    op_run(&c);
    check_fail(&c, "MatMul [2,3] x [4,5]", INFER_STATUS_SHAPE, "[2,3] x [4,5]");
    check_fail(&c, "MatMul [2,3] x [4,5]", INFER_STATUS_SHAPE, "inner dims");
    op_free(&c);
    /* batch dims 2 and 3 do not broadcast */
    c = new_case("MatMul");
    add_in(&c, op_in("a", F32, 3, d234, a));
    add_in(&c, op_in("b", F32, 3, d332, b));
    op_run(&c);
    check_fail(&c, "MatMul batch 2 vs 3", INFER_STATUS_SHAPE, "do not broadcast");
    op_free(&c);
}

/* ===== Gemm ===== */

/* Gemm: Y = alpha * A' * B' + beta * C with A' = transA ? A^T : A (B' likewise), and C
   (optional) broadcast one-directionally to [M, N]. */
static void gemm_ref(int64_t m, int64_t n, int64_t k, int ta, int tb, double alpha, double beta, const float *a,
                     const float *b, int rc, const int64_t *dc, const float *cv, double *y) {
    int64_t i, j, p;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            double s = 0;
            for (p = 0; p < k; p++) s += (double)(ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
            s *= alpha;
            if (cv) {
                int64_t ci = 0, cj = 0;
                if (rc == 2) ci = dc[0] == 1 ? 0 : i, cj = dc[1] == 1 ? 0 : j;
                if (rc == 1) cj = dc[0] == 1 ? 0 : j;
                s += beta * cv[rc == 2 ? ci * dc[1] + cj : cj];
            }
            y[i * n + j] = s;
        }
}

/* C of form 0..6: absent (returns -1), scalar (rank 0), [1], [N], [M,1], [1,N], [M,N].
   Sets dc and returns the rank. */
static int gemm_c_dims(int form, int64_t m, int64_t n, int64_t *dc) {
    switch (form) {
    case 1: return 0;
    case 2: dc[0] = 1; return 1;
    case 3: dc[0] = n; return 1;
    case 4: dc[0] = m, dc[1] = 1; return 2;
    case 5: dc[0] = 1, dc[1] = n; return 2;
    case 6: dc[0] = m, dc[1] = n; return 2;
    default: return -1;
    }
}

static void run_gemm(int64_t m, int64_t n, int64_t k, int ta, int tb, float alpha, float beta, int cform,
                     int explicit_absent) {
    op_case c = new_case("Gemm");
    int64_t da[2], db[2], dc[2], dy[2] = {m, n};
    int rc = gemm_c_dims(cform, m, n, dc);
    float *a = dyadic(m * k), *b = dyadic(k * n), *cv = rc >= 0 ? dyadic(numel(rc, dc)) : NULL;
    double *y = new_f64(m * n);
    char what[160];
    da[0] = ta ? k : m, da[1] = ta ? m : k;
    db[0] = tb ? n : k, db[1] = tb ? k : n;
    gemm_ref(m, n, k, ta, tb, alpha, beta, a, b, rc, dc, cv, y);
    add_in(&c, op_in("a", F32, 2, da, a));
    add_in(&c, op_const("b", F32, 2, db, b));
    if (cv) add_in(&c, (cform % 2) ? op_const("c", F32, rc, dc, cv) : op_in("c", F32, rc, dc, cv));
    else if (explicit_absent) add_in(&c, op_absent());
    /* attributes left at their defaults (alpha 1, beta 1, no transpose) are not written */
    if (ta) add_attr(&c, infer_attr_int("transA", 1));
    if (tb) add_attr(&c, infer_attr_int("transB", 1));
    if (alpha != 1.0f) add_attr(&c, infer_attr_float("alpha", alpha));
    if (beta != 1.0f) add_attr(&c, infer_attr_float("beta", beta));
    op_run(&c);
    snprintf(what, sizeof what, "Gemm M%lld N%lld K%lld transA %d transB %d alpha %g beta %g C form %d",
             (long long)m, (long long)n, (long long)k, ta, tb, alpha, beta, cform);
    check_out(&c, 0, what, F32, 2, dy, y);
    op_free(&c);
    free(a);
    free(b);
    free(cv);
    free(y);
}

/* Every transA/transB, alpha/beta pair and C form, on sizes 1, 3, 7, 17; then K = 1000,
   N = 1000. */
static void test_gemm(void) {
    static const int64_t sz[] = {1, 3, 7, 17};
    static const float ab[][2] = {{1.0f, 1.0f}, {0.5f, 0.25f}, {-1.5f, 0.0f}, {2.0f, -1.0f}};
    int ta, tb, i, form, idx = 0;
    test_seed(201);
    for (ta = 0; ta < 2; ta++)
        for (tb = 0; tb < 2; tb++)
            for (i = 0; i < (int)NELEM(ab); i++)
                for (form = 0; form < 7; form++, idx++)
                    run_gemm(sz[idx % 4], sz[(idx / 4) % 4], sz[(idx / 16 + 1) % 4], ta, tb, ab[i][0], ab[i][1], form,
                             idx % 2);
    run_gemm(1, 3, 1000, 0, 1, 1.0f, 1.0f, 3, 0);
    run_gemm(1, 1000, 7, 1, 0, 0.5f, 2.0f, 6, 0);
    run_gemm(17, 1000, 3, 1, 1, 1.0f, 1.0f, 4, 0);
}

static void test_gemm_errors(void) {
    float a[64] = {0};
    int64_t d23[2] = {2, 3}, d34[2] = {3, 4}, d43[2] = {4, 3}, dc[1] = {2};
    op_case c = new_case("Gemm");
    /* A [2,3] x B [4,3] without transB: K 3 vs 4 */
    add_in(&c, op_in("a", F32, 2, d23, a));
    add_in(&c, op_const("b", F32, 2, d43, a));
    op_run(&c);
    check_fail(&c, "Gemm inner dims", INFER_STATUS_SHAPE, "inner dims");
    op_free(&c);
    /* C [M] = [2] does not broadcast to [2,4] (a 1-D C lines up with N) */
    c = new_case("Gemm");
    add_in(&c, op_in("a", F32, 2, d23, a));
    add_in(&c, op_const("b", F32, 2, d34, a));
    add_in(&c, op_const("c", F32, 1, dc, a));
    op_run(&c);
    check_fail(&c, "Gemm C [2]", INFER_STATUS_SHAPE, "does not broadcast");
    op_free(&c);
    /* i32 is not supported */
    c = new_case("Gemm");
    add_in(&c, op_in("a", INFER_DTYPE_I32, 2, d23, a));
    add_in(&c, op_const("b", INFER_DTYPE_I32, 2, d34, a));
    op_run(&c);
    check_fail(&c, "Gemm i32", INFER_STATUS_UNSUPPORTED, "dtype i32");
    op_free(&c);
}

/* ===== window ops: Conv, ConvTranspose, MaxPool, AveragePool ===== */

/* One window-op case. Spatial dims past n_sp have size 1 and no padding. */
typedef struct win {
    int n_sp;                          /* 1..3 */
    int64_t n, c, m, group;            /* batch, input channels, output channels (Conv*), groups */
    int64_t in[3], k[3], s[3], d[3];   /* input size, kernel, stride, dilation */
    int64_t pb[3], pe[3];              /* pads at the start and the end (NOTSET) */
    int64_t opad[3];                   /* ConvTranspose output_padding */
    int64_t oshape[3];                 /* ConvTranspose output_shape; oshape[0] == 0: absent */
    const char *auto_pad;              /* NULL: no attribute (NOTSET) */
    int ceil_mode, count_include_pad;  /* pools */
    int bias;                          /* Conv*: 0 no B, 1 B given, 2 B marked absent ("") */
    int kernel_attr;                   /* Conv*: also write kernel_shape */
    int w_input;                       /* Conv*: W a run-time input instead of a constant */
    int n_threads;
    int64_t out[3];                    /* set by win_geom / transpose_geom */
} win;

static void win_init(win *w, int n_sp) {
    int i;
    memset(w, 0, sizeof *w);
    w->n_sp = n_sp;
    w->n = w->c = w->m = w->group = 1;
    for (i = 0; i < 3; i++) w->in[i] = w->k[i] = w->s[i] = w->d[i] = w->out[i] = 1;
}

static const char *win_str(char *buf, size_t cap, const win *w) {
    char a[5][48];
    int64_t pads[6];
    int i;
    for (i = 0; i < w->n_sp; i++) pads[i] = w->pb[i], pads[w->n_sp + i] = w->pe[i];
    snprintf(buf, cap, "%dD n%lld c%lld m%lld group %lld in%s k%s s%s d%s pads%s auto_pad %s ceil %d cip %d", w->n_sp,
             (long long)w->n, (long long)w->c, (long long)w->m, (long long)w->group,
             dims_str(a[0], 48, w->n_sp, w->in), dims_str(a[1], 48, w->n_sp, w->k), dims_str(a[2], 48, w->n_sp, w->s),
             dims_str(a[3], 48, w->n_sp, w->d), dims_str(a[4], 48, 2 * w->n_sp, pads),
             w->auto_pad ? w->auto_pad : "-", w->ceil_mode, w->count_include_pad);
    return buf;
}

/* Output sizes (and the pads auto_pad implies) of Conv, MaxPool and AveragePool, from the
   ONNX formulas. Returns 0 when the window does not fit the padded input. */
static int win_geom(win *w) {
    int i;
    for (i = 0; i < w->n_sp; i++) {
        int64_t span = (w->k[i] - 1) * w->d[i] + 1, room;
        if (same_str(w->auto_pad, "SAME_UPPER") || same_str(w->auto_pad, "SAME_LOWER")) {
            /* out = ceil(in / s) in either ceil mode; total pad = (out-1)*s + span - in (not
               below 0), split evenly, the odd one at the end (UPPER) or the start (LOWER) */
            int64_t total;
            w->out[i] = (w->in[i] + w->s[i] - 1) / w->s[i];
            total = (w->out[i] - 1) * w->s[i] + span - w->in[i];
            if (total < 0) total = 0;
            if (same_str(w->auto_pad, "SAME_UPPER")) w->pb[i] = total / 2, w->pe[i] = total - total / 2;
            else w->pe[i] = total / 2, w->pb[i] = total - total / 2;
        } else if (same_str(w->auto_pad, "VALID")) {
            /* no padding; out = ceil((in - span + 1) / s) in either ceil mode */
            w->pb[i] = w->pe[i] = 0;
            if (w->in[i] < span) return 0;
            w->out[i] = (w->in[i] - span + 1 + w->s[i] - 1) / w->s[i];
        } else {
            /* out = floor or ceil((in + pads - span) / s + 1) */
            room = w->in[i] + w->pb[i] + w->pe[i] - span;
            if (room < 0) return 0;
            w->out[i] = (w->ceil_mode ? (room + w->s[i] - 1) / w->s[i] : room / w->s[i]) + 1;
            /* "Sliding windows that would start in the right padded region are ignored." */
            if (w->ceil_mode && (w->out[i] - 1) * w->s[i] - w->pb[i] >= w->in[i]) w->out[i]--;
        }
    }
    return 1;
}

/* ConvTranspose output sizes and pads:
   out = s*(in-1) + output_padding + span - pb - pe. With output_shape (or SAME_*, where
   it is in*s) the pads come from total = s*(in-1) + output_padding + span - output_shape:
   SAME_UPPER pb = total/2, pe = total - pb; otherwise pe = total/2, pb = total - pe. */
static void transpose_geom(win *w) {
    int i;
    for (i = 0; i < w->n_sp; i++) {
        int64_t span = (w->k[i] - 1) * w->d[i] + 1, full = w->s[i] * (w->in[i] - 1) + w->opad[i] + span;
        int same = same_str(w->auto_pad, "SAME_UPPER") || same_str(w->auto_pad, "SAME_LOWER");
        if (w->oshape[0] || same) {
            int64_t total = full - (w->oshape[0] ? w->oshape[i] : w->in[i] * w->s[i]);
            if (same_str(w->auto_pad, "SAME_UPPER")) w->pb[i] = floordiv(total, 2), w->pe[i] = total - w->pb[i];
            else w->pe[i] = floordiv(total, 2), w->pb[i] = total - w->pe[i];
        } else if (same_str(w->auto_pad, "VALID")) {
            w->pb[i] = w->pe[i] = 0;
        }
        w->out[i] = full - w->pb[i] - w->pe[i];
    }
}

/* Offset of [a][b][i0][i1][i2] in a tensor [.][nb][sz0][sz1][sz2]. */
static int64_t off5(int64_t a, int64_t b, int64_t nb, const int64_t *sz, const int64_t *i) {
    return (((a * nb + b) * sz[0] + i[0]) * sz[1] + i[1]) * sz[2] + i[2];
}
/* The kernel tap t of k[0]*k[1]*k[2], as a 3-D index. */
static void tap3(int64_t t, const int64_t *k, int64_t *kk) {
    kk[2] = t % k[2];
    kk[1] = (t / k[2]) % k[1];
    kk[0] = t / (k[1] * k[2]);
}

/* Conv: y[n][m][o] = B[m] + sum over the channels c of m's group and the kernel taps k of
   X[n][g*C/group + c][o*s - pb + k*d] * W[m][c][k], with g = m / (M/group) and X zero
   outside the input (in the pads). */
static void conv_ref(const win *w, const float *x, const float *wt, const float *b, double *y) {
    int64_t cg = w->c / w->group, mg = w->m / w->group, ksz = numel(3, w->k), osz = numel(3, w->out);
    int64_t n, m, ot, t, ci, o[3], kk[3], i[3];
    int j;
    for (n = 0; n < w->n; n++)
        for (m = 0; m < w->m; m++)
            for (ot = 0; ot < osz; ot++) {
                double acc = b ? b[m] : 0.0;
                tap3(ot, w->out, o);
                for (ci = 0; ci < cg; ci++)
                    for (t = 0; t < ksz; t++) {
                        int inside = 1;
                        tap3(t, w->k, kk);
                        for (j = 0; j < 3; j++) {
                            i[j] = o[j] * w->s[j] - w->pb[j] + kk[j] * w->d[j];
                            if (i[j] < 0 || i[j] >= w->in[j]) inside = 0;
                        }
                        if (inside)
                            acc += (double)x[off5(n, m / mg * cg + ci, w->c, w->in, i)] * wt[off5(m, ci, cg, w->k, kk)];
                    }
                y[off5(n, m, w->m, w->out, o)] = acc;
            }
}

/* ConvTranspose: input position i and kernel tap k land on output o = i*s - pb + k*d, so
   y[n][m][o] = B[m] + sum over the channels c of m's group and taps k for which
   (o + pb - k*d) is i*s with 0 <= i < in, of X[n][g*cg + c][i] * W[g*cg + c][m - g*mg][k]. */
static void conv_transpose_ref(const win *w, const float *x, const float *wt, const float *b, double *y) {
    int64_t cg = w->c / w->group, mg = w->m / w->group, ksz = numel(3, w->k), osz = numel(3, w->out);
    int64_t n, m, ot, t, ci, o[3], kk[3], i[3];
    int j;
    for (n = 0; n < w->n; n++)
        for (m = 0; m < w->m; m++)
            for (ot = 0; ot < osz; ot++) {
                int64_t g = m / mg;
                double acc = b ? b[m] : 0.0;
                tap3(ot, w->out, o);
                for (ci = 0; ci < cg; ci++)
                    for (t = 0; t < ksz; t++) {
                        int hit = 1;
                        tap3(t, w->k, kk);
                        for (j = 0; j < 3; j++) {
                            int64_t v = o[j] + w->pb[j] - kk[j] * w->d[j];
                            i[j] = floordiv(v, w->s[j]);
                            if (v != i[j] * w->s[j] || i[j] < 0 || i[j] >= w->in[j]) hit = 0;
                        }
                        if (hit)
                            acc += (double)x[off5(n, g * cg + ci, w->c, w->in, i)] *
                                   wt[off5(g * cg + ci, m - g * mg, mg, w->k, kk)];
                    }
                y[off5(n, m, w->m, w->out, o)] = acc;
            }
}

/* MaxPool: the largest input element under the window (pads ignored). AveragePool: their
   mean; with count_include_pad the divisor counts the taps inside the padded input
   [-pb, in+pe) (not those past it, which only ceil_mode creates). Returns 0 when some
   window holds no input element: ONNX leaves that value undefined. */
static int pool_ref(const win *w, int is_max, const double *x, double *y) {
    int64_t ksz = numel(3, w->k), osz = numel(3, w->out), nc, ot, t, o[3], kk[3], i[3];
    int j;
    for (nc = 0; nc < w->n * w->c; nc++)
        for (ot = 0; ot < osz; ot++) {
            double best = -INFINITY, sum = 0;
            int64_t cnt = 0, padded = 0;
            tap3(ot, w->out, o);
            for (t = 0; t < ksz; t++) {
                int inside = 1, in_pads = 1;
                tap3(t, w->k, kk);
                for (j = 0; j < 3; j++) {
                    i[j] = o[j] * w->s[j] - w->pb[j] + kk[j] * w->d[j];
                    if (i[j] < 0 || i[j] >= w->in[j]) inside = 0;
                    if (i[j] < -w->pb[j] || i[j] >= w->in[j] + w->pe[j]) in_pads = 0;
                }
                padded += in_pads;
                if (!inside) continue;
                cnt++;
                sum += x[off5(0, nc, 1, w->in, i)];
                if (x[off5(0, nc, 1, w->in, i)] > best) best = x[off5(0, nc, 1, w->in, i)];
            }
            if (!cnt) return 0;
            y[off5(0, nc, 1, w->out, o)] = is_max ? best : sum / (double)(w->count_include_pad ? padded : cnt);
        }
    return 1;
}

/* Attribute arrays live here until op_run has copied them. */
typedef struct win_attrs {
    int64_t k[3], s[3], d[3], pads[6], opad[3], oshape[3];
} win_attrs;

/* Writes the window attributes of w; those at their default are left out, so the
   defaults get tested too. kernel_shape is written when needed or asked for. */
static void add_win_attrs(op_case *c, const win *w, win_attrs *a, int need_kernel) {
    int i, n = w->n_sp, any_s = 0, any_d = 0, any_p = 0, any_o = 0;
    for (i = 0; i < n; i++) {
        a->k[i] = w->k[i], a->s[i] = w->s[i], a->d[i] = w->d[i], a->opad[i] = w->opad[i], a->oshape[i] = w->oshape[i];
        a->pads[i] = w->pb[i], a->pads[n + i] = w->pe[i];
        any_s |= w->s[i] != 1, any_d |= w->d[i] != 1, any_p |= w->pb[i] || w->pe[i], any_o |= w->opad[i] != 0;
    }
    if (need_kernel || w->kernel_attr) add_attr(c, infer_attr_ints("kernel_shape", a->k, (size_t)n));
    if (any_s) add_attr(c, infer_attr_ints("strides", a->s, (size_t)n));
    if (any_d) add_attr(c, infer_attr_ints("dilations", a->d, (size_t)n));
    if (w->auto_pad) add_attr(c, infer_attr_string("auto_pad", w->auto_pad));
    /* ConvTranspose ignores pads when output_shape is given: write them anyway */
    if (!w->auto_pad && any_p) add_attr(c, infer_attr_ints("pads", a->pads, (size_t)(2 * n)));
    if (any_o) add_attr(c, infer_attr_ints("output_padding", a->opad, (size_t)n));
    if (w->oshape[0]) add_attr(c, infer_attr_ints("output_shape", a->oshape, (size_t)n));
    if (w->group != 1) add_attr(c, infer_attr_int("group", w->group));
}

/* Runs Conv (transpose 0) or ConvTranspose (1) on w with dyadic data and checks the
   output dims and values, or the SHAPE failure when the window does not fit.
   Returns 1 when the case was a valid one. */
static int run_conv(const win *w0, int transpose) {
    win w = *w0;
    win_attrs attrs;
    op_case c = new_case(transpose ? "ConvTranspose" : "Conv");
    int64_t xd[5], wd[5], bd[1], yd[5];
    int i, r = w.n_sp + 2, valid, empty = 0;
    float *x, *wt, *b;
    double *y = NULL;
    char what[400], s1[48], s2[48];
    xd[0] = w.n, xd[1] = w.c;
    wd[0] = transpose ? w.c : w.m, wd[1] = transpose ? w.m / w.group : w.c / w.group;
    bd[0] = w.m;
    for (i = 0; i < w.n_sp; i++) xd[2 + i] = w.in[i], wd[2 + i] = w.k[i];
    x = dyadic(numel(r, xd));
    wt = dyadic(numel(r, wd));
    b = dyadic(w.m);
    add_in(&c, op_in("x", F32, r, xd, x));
    add_in(&c, w.w_input ? op_in("w", F32, r, wd, wt) : op_const("w", F32, r, wd, wt));
    if (w.bias == 1) add_in(&c, op_const("b", F32, 1, bd, b));
    if (w.bias == 2) add_in(&c, op_absent());
    add_win_attrs(&c, &w, &attrs, 0);
    c.n_threads = w.n_threads;
    if (transpose) transpose_geom(&w), valid = 1;
    else valid = win_geom(&w);
    for (i = 0; i < w.n_sp; i++) {
        if (w.out[i] < 0) valid = 0;
        if (w.out[i] == 0) empty = 1;
    }
    op_run(&c);
    win_str(what, sizeof what, &w);
    snprintf(what + strlen(what), sizeof what - strlen(what), " bias %d", w.bias);
    if (transpose)
        snprintf(what + strlen(what), sizeof what - strlen(what), " output_padding %s output_shape %s",
                 dims_str(s1, sizeof s1, w.n_sp, w.opad), w.oshape[0] ? dims_str(s2, sizeof s2, w.n_sp, w.oshape) : "-");
    if (!valid) {
        if (transpose) check_fail(&c, what, INFER_STATUS_SHAPE, "output size");
        else check_fail(&c, what, INFER_STATUS_SHAPE, "smaller than the window");
    } else {
        yd[0] = w.n, yd[1] = w.m;
        for (i = 0; i < w.n_sp; i++) yd[2 + i] = w.out[i];
        y = new_f64(numel(r, yd));
        valid = !empty; /* an empty output (a size of 0) is valid; only its dims are compared */
        if (transpose) conv_transpose_ref(&w, x, wt, w.bias == 1 ? b : NULL, y);
        else conv_ref(&w, x, wt, w.bias == 1 ? b : NULL, y);
        check_out(&c, 0, what, F32, r, yd, y);
    }
    op_free(&c);
    free(x);
    free(wt);
    free(b);
    free(y);
    return valid;
}

/* Pool kinds of the grids */
enum { POOL_MAX_F32, POOL_MAX_U8, POOL_MAX_I8, POOL_AVG, POOL_AVG_PAD, POOL_KINDS };

/* Runs MaxPool or AveragePool of a kind on w and checks it. Returns 1 for a checked
   valid case, 0 for a window that does not fit (checked as SHAPE), -1 when skipped
   (a window with no input element, which ONNX leaves undefined). */
static int run_pool(const win *w0, int kind) {
    win w = *w0;
    win_attrs attrs;
    op_case c = new_case(kind <= POOL_MAX_I8 ? "MaxPool" : "AveragePool");
    infer_dtype t = kind == POOL_MAX_U8 ? INFER_DTYPE_U8 : kind == POOL_MAX_I8 ? INFER_DTYPE_I8 : F32;
    int64_t xd[5], yd[5], nx, i;
    int r = w.n_sp + 2, valid, res = 0;
    void *x;
    double *xv, *y = NULL;
    char what[320];
    xd[0] = w.n, xd[1] = w.c;
    for (i = 0; i < w.n_sp; i++) xd[2 + i] = w.in[i];
    nx = numel(r, xd);
    x = malloc((size_t)nx * 4);
    xv = new_f64(nx);
    for (i = 0; i < nx; i++) {
        if (t == INFER_DTYPE_U8) ((uint8_t *)x)[i] = (uint8_t)test_int(0, 255), xv[i] = ((uint8_t *)x)[i];
        else if (t == INFER_DTYPE_I8) ((int8_t *)x)[i] = (int8_t)test_int(-128, 127), xv[i] = ((int8_t *)x)[i];
        else ((float *)x)[i] = (float)test_int(-16, 16) / 16.0f, xv[i] = ((float *)x)[i];
    }
    w.count_include_pad = kind == POOL_AVG_PAD;
    add_in(&c, op_in("x", t, r, xd, x));
    add_win_attrs(&c, &w, &attrs, 1);
    if (w.ceil_mode) add_attr(&c, infer_attr_int("ceil_mode", 1));
    if (kind == POOL_AVG_PAD) add_attr(&c, infer_attr_int("count_include_pad", 1));
    valid = win_geom(&w);
    win_str(what, sizeof what, &w);
    snprintf(what + strlen(what), sizeof what - strlen(what), " %s %s", c.op, infer_dtype_name(t));
    op_run(&c);
    if (!valid) {
        check_fail(&c, what, INFER_STATUS_SHAPE, "smaller than the window");
    } else {
        yd[0] = w.n, yd[1] = w.c;
        for (i = 0; i < w.n_sp; i++) yd[2 + i] = w.out[i];
        y = new_f64(numel(r, yd));
        res = -1;
        if (pool_ref(&w, kind <= POOL_MAX_I8, xv, y)) {
            check_out(&c, 0, what, t, r, yd, y);
            res = 1;
        } else if (c.status == INFER_STATUS_OK) {
            /* the value is undefined, the shape is not */
            CHECK_EQ_INT(c.out[0].n_dims, r);
            for (i = 0; i < r; i++) CHECK_EQ_INT(c.out[0].dims[i], yd[i]);
        }
    }
    op_free(&c);
    free(x);
    free(xv);
    free(y);
    return res;
}

/* -- the grids -- */

static const int64_t KERNELS[] = {1, 3, 5};
/* 2-D patterns: pads as {pb0, pb1, pe0, pe1}, and pairs for stride, dilation, kernel */
static const int64_t PADS2[][4] = {{0, 0, 0, 0}, {1, 1, 1, 1}, {2, 2, 2, 2}, {0, 1, 1, 0}, {2, 0, 1, 2}, {1, 2, 0, 1}};
static const int64_t STRIDES2[][2] = {{1, 1}, {2, 2}, {3, 3}, {1, 3}, {2, 1}};
static const int64_t DILS2[][2] = {{1, 1}, {2, 2}, {1, 2}};
static const int64_t KERNELS2[][2] = {{1, 1}, {3, 3}, {5, 5}, {3, 1}, {1, 5}, {5, 3}};

/* Channels 4, groups 1, 2 and 4 (depthwise, with a channel multiplier of 1 or 2). */
static void set_group(win *w, int gi, int idx) {
    static const int64_t groups[3] = {1, 2, 4};
    w->c = 4;
    w->group = groups[gi];
    w->m = w->group * (1 + idx % 2) + (w->group == 1 ? 2 : 0);
}

/* Every pad start/end in 0..2, stride 1..3, dilation 1..2, kernel 1/3/5 and group
   1/2/depthwise, 1-D; the input length cycles through 3, 7, 10, 17 and the batch through
   1, 2. Windows larger than the padded input must fail with SHAPE. */
static void test_conv_grid_1d(void) {
    static const int64_t lens[] = {3, 7, 10, 17};
    int pb, pe, s, d, ki, gi, idx = 0, n_valid = 0;
    test_seed(301);
    for (pb = 0; pb <= 2; pb++)
        for (pe = 0; pe <= 2; pe++)
            for (s = 1; s <= 3; s++)
                for (d = 1; d <= 2; d++)
                    for (ki = 0; ki < 3; ki++)
                        for (gi = 0; gi < 3; gi++, idx++) {
                            win w;
                            win_init(&w, 1);
                            set_group(&w, gi, idx);
                            w.n = 1 + idx % 2;
                            w.in[0] = lens[idx % 4];
                            w.k[0] = KERNELS[ki], w.s[0] = s, w.d[0] = d, w.pb[0] = pb, w.pe[0] = pe;
                            w.bias = idx % 3, w.kernel_attr = idx % 5 == 0, w.w_input = idx % 7 == 0;
                            n_valid += run_conv(&w, 0);
                        }
    CHECK(n_valid > idx / 2);
}

/* The same in 2-D, over patterns of asymmetric pads and mixed strides, dilations and
   kernel shapes. */
static void test_conv_grid_2d(void) {
    static const int64_t hw[][2] = {{7, 9}, {10, 6}, {3, 17}, {9, 9}};
    size_t pi, si, di, ki;
    int gi, idx = 0, n_valid = 0;
    test_seed(302);
    for (pi = 0; pi < NELEM(PADS2); pi++)
        for (si = 0; si < NELEM(STRIDES2); si++)
            for (di = 0; di < NELEM(DILS2); di++)
                for (ki = 0; ki < NELEM(KERNELS2); ki++)
                    for (gi = 0; gi < 3; gi++, idx++) {
                        win w;
                        int j;
                        win_init(&w, 2);
                        set_group(&w, gi, idx);
                        w.n = 1 + idx % 2;
                        for (j = 0; j < 2; j++) {
                            w.in[j] = hw[idx % 4][j];
                            w.k[j] = KERNELS2[ki][j], w.s[j] = STRIDES2[si][j], w.d[j] = DILS2[di][j];
                            w.pb[j] = PADS2[pi][j], w.pe[j] = PADS2[pi][2 + j];
                        }
                        w.bias = idx % 3, w.kernel_attr = idx % 5 == 0, w.w_input = idx % 7 == 0;
                        n_valid += run_conv(&w, 0);
                    }
    CHECK(n_valid > idx / 2);
}

/* 3-D Conv (transpose 0) or ConvTranspose (1): kernels, strides, dilations and pads that
   differ per axis, so each of the three spatial dims gets every setting. */
static void conv_grid_3d(int transpose) {
    static const int64_t ks[][3] = {{3, 3, 3}, {1, 3, 5}, {2, 1, 3}};
    static const int64_t ss[][3] = {{1, 1, 1}, {2, 1, 3}, {1, 2, 2}};
    static const int64_t ds[][3] = {{1, 1, 1}, {1, 2, 1}, {2, 1, 2}};
    static const int64_t ps[][6] = {{0, 0, 0, 0, 0, 0}, {1, 0, 2, 1, 1, 0}, {0, 2, 1, 2, 0, 1}};
    size_t a, b, e, f;
    int gi, j, idx = 0, n_valid = 0;
    for (a = 0; a < NELEM(ks); a++)
        for (b = 0; b < NELEM(ss); b++)
            for (e = 0; e < NELEM(ds); e++)
                for (f = 0; f < NELEM(ps); f++, idx++) {
                    win w;
                    gi = idx % 3;
                    win_init(&w, 3);
                    set_group(&w, gi, idx);
                    w.in[0] = transpose ? 3 : 5, w.in[1] = transpose ? 2 : 6, w.in[2] = transpose ? 4 : 7;
                    for (j = 0; j < 3; j++) {
                        w.k[j] = ks[a][j], w.s[j] = ss[b][j], w.d[j] = ds[e][j];
                        w.pb[j] = ps[f][j], w.pe[j] = ps[f][3 + j];
                        if (transpose && (idx + j) % 2) w.opad[j] = (w.s[j] > w.d[j] ? w.s[j] : w.d[j]) - 1;
                    }
                    w.bias = idx % 3, w.kernel_attr = idx % 4 == 0, w.w_input = idx % 5 == 0;
                    n_valid += run_conv(&w, transpose);
                }
    CHECK(n_valid > idx / 2);
}

static void test_conv_3d(void) {
    test_seed(303);
    conv_grid_3d(0);
}

/* auto_pad SAME_UPPER / SAME_LOWER (out = ceil(in/s), the odd pad at the end / start)
   and VALID (no pads), over strides, dilations, kernels and lengths 1, 3, 7, 10; then a
   few 2-D cases with different settings per axis. */
static void test_conv_auto_pad(void) {
    static const char *modes[] = {"SAME_UPPER", "SAME_LOWER", "VALID"};
    static const int64_t lens[] = {1, 3, 7, 10};
    int mi, s, d, ki, li, idx = 0, n_valid = 0;
    test_seed(304);
    for (mi = 0; mi < 3; mi++)
        for (s = 1; s <= 3; s++)
            for (d = 1; d <= 2; d++)
                for (ki = 0; ki < 3; ki++)
                    for (li = 0; li < 4; li++, idx++) {
                        win w;
                        win_init(&w, 1);
                        set_group(&w, idx % 3, idx);
                        w.auto_pad = modes[mi];
                        w.in[0] = lens[li], w.k[0] = KERNELS[ki], w.s[0] = s, w.d[0] = d;
                        w.bias = idx % 2;
                        n_valid += run_conv(&w, 0);
                    }
    for (mi = 0; mi < 3; mi++)
        for (ki = 0; ki < (int)NELEM(KERNELS2); ki++, idx++) {
            win w;
            win_init(&w, 2);
            set_group(&w, idx % 3, idx);
            w.auto_pad = modes[mi];
            w.in[0] = 8, w.in[1] = 11;
            w.k[0] = KERNELS2[ki][0], w.k[1] = KERNELS2[ki][1];
            w.s[0] = 2, w.s[1] = 3, w.d[1] = 2;
            w.bias = 1;
            n_valid += run_conv(&w, 0);
        }
    CHECK(n_valid > idx / 2);
}

/* Large enough to use the thread team: two threads give the same bits as one. */
static void test_conv_threads(void) {
    int64_t xd[4] = {2, 8, 20, 20}, wd[4] = {16, 4, 3, 3}, bd[1] = {16};
    static const int64_t pads[4] = {1, 0, 1, 2}, strides[2] = {1, 2};
    float *x, *wt, *b;
    op_case c = new_case("Conv");
    test_seed(305);
    x = uniform(numel(4, xd), -1, 1);
    wt = uniform(numel(4, wd), -1, 1);
    b = uniform(16, -1, 1);
    add_in(&c, op_in("x", F32, 4, xd, x));
    add_in(&c, op_const("w", F32, 4, wd, wt));
    add_in(&c, op_const("b", F32, 1, bd, b));
    add_attr(&c, infer_attr_int("group", 2));
    add_attr(&c, infer_attr_ints("pads", pads, 4));
    add_attr(&c, infer_attr_ints("strides", strides, 2));
    CHECK(same_bits_1_and_2_threads(&c));
    /* the grid's checks still hold with two threads */
    {
        win w;
        win_init(&w, 2);
        w.n = 2, w.c = 8, w.m = 16, w.group = 2;
        w.in[0] = 20, w.in[1] = 20, w.k[0] = w.k[1] = 3, w.pb[0] = 1, w.pe[1] = 2, w.s[1] = 2;
        w.bias = 1, w.n_threads = 2;
        CHECK(run_conv(&w, 0));
        w.n_threads = 2;
        CHECK(run_conv(&w, 1));
    }
    free(x);
    free(wt);
    free(b);
}

/* Continuous data: the f32 Conv is within 1e-5 of the exact one. Positive data keeps
   cancellation out of it (that is a property of f32 sums, not of the kernel). */
static void test_conv_accuracy(void) {
    int64_t xd[4] = {1, 16, 9, 9}, wd[4] = {5, 16, 5, 5}, yd[4] = {1, 5, 5, 5};
    float *x, *wt;
    double *y = new_f64(numel(4, yd));
    op_case c = new_case("Conv");
    win w;
    test_seed(306);
    x = uniform(numel(4, xd), 0, 1);
    wt = uniform(numel(4, wd), 0, 1);
    win_init(&w, 2);
    w.c = 16, w.m = 5, w.in[0] = w.in[1] = 9, w.k[0] = w.k[1] = 5;
    CHECK(win_geom(&w));
    conv_ref(&w, x, wt, NULL, y);
    add_in(&c, op_in("x", F32, 4, xd, x));
    add_in(&c, op_const("w", F32, 4, wd, wt));
    op_run(&c);
    check_out(&c, 0, "Conv accuracy", F32, 4, yd, y);
    op_free(&c);
    free(x);
    free(wt);
    free(y);
}

static void test_conv_errors(void) {
    float z[4096] = {0};
    int64_t xd[4] = {1, 3, 5, 5}, wd[4] = {4, 1, 3, 3}, xs[3] = {1, 2, 4}, ws[3] = {2, 2, 5}, bd[1] = {3};
    int64_t w2[4] = {4, 3, 3, 3};
    static const int64_t k5[2] = {5, 5};
    op_case c = new_case("Conv");
    /* 3 input channels are not divisible by group 2 */
    add_in(&c, op_in("x", F32, 4, xd, z));
    add_in(&c, op_const("w", F32, 4, wd, z));
    add_attr(&c, infer_attr_int("group", 2));
    op_run(&c);
    check_fail(&c, "Conv C 3 group 2", INFER_STATUS_SHAPE, "group 2 do not agree");
    op_free(&c);
    /* a kernel of 5 does not fit an input of 4 (padded by 0) */
    c = new_case("Conv");
    add_in(&c, op_in("x", F32, 3, xs, z));
    add_in(&c, op_const("w", F32, 3, ws, z));
    op_run(&c);
    check_fail(&c, "Conv kernel 5 > input 4", INFER_STATUS_SHAPE, "smaller than the window");
    op_free(&c);
    /* kernel_shape disagrees with W */
    c = new_case("Conv");
    add_in(&c, op_in("x", F32, 4, xd, z));
    add_in(&c, op_const("w", F32, 4, w2, z));
    add_attr(&c, infer_attr_ints("kernel_shape", k5, 2));
    op_run(&c);
    check_fail(&c, "Conv kernel_shape 5 vs W 3", INFER_STATUS_SHAPE, "kernel_shape");
    op_free(&c);
    /* a bias of the wrong length */
    c = new_case("Conv");
    add_in(&c, op_in("x", F32, 4, xd, z));
    add_in(&c, op_const("w", F32, 4, w2, z));
    add_in(&c, op_const("b", F32, 1, bd, z));
    op_run(&c);
    check_fail(&c, "Conv bias [3] for M 4", INFER_STATUS_SHAPE, "bias");
    op_free(&c);
    /* an unknown auto_pad */
    c = new_case("Conv");
    add_in(&c, op_in("x", F32, 4, xd, z));
    add_in(&c, op_const("w", F32, 4, w2, z));
    add_attr(&c, infer_attr_string("auto_pad", "SAME"));
    op_run(&c);
    check_fail(&c, "Conv auto_pad SAME", INFER_STATUS_UNSUPPORTED, "auto_pad");
    op_free(&c);
    /* a pool window of 5 on a length of 4 */
    c = new_case("MaxPool");
    add_in(&c, op_in("x", F32, 3, xs, z));
    add_attr(&c, infer_attr_ints("kernel_shape", k5, 1));
    op_run(&c);
    check_fail(&c, "MaxPool kernel 5 > input 4", INFER_STATUS_SHAPE, "smaller than the window");
    op_free(&c);
    /* a pool needs kernel_shape */
    c = new_case("AveragePool");
    add_in(&c, op_in("x", F32, 3, xs, z));
    op_run(&c);
    check_fail(&c, "AveragePool without kernel_shape", INFER_STATUS_SHAPE, "kernel_shape");
    op_free(&c);
    /* Conv on i32 */
    c = new_case("Conv");
    add_in(&c, op_in("x", INFER_DTYPE_I32, 4, xd, z));
    add_in(&c, op_const("w", INFER_DTYPE_I32, 4, w2, z));
    op_run(&c);
    check_fail(&c, "Conv i32", INFER_STATUS_UNSUPPORTED, "dtype i32");
    op_free(&c);
}

/* -- ConvTranspose -- */

/* Every pad start/end in 0..2, stride 1..3, dilation 1..2, kernel 1/3/5, group
   1/2/depthwise, output_padding 0 or max(s, d) - 1 (it must be below the stride or the
   dilation), 1-D; lengths 1, 3, 4, 7. A negative output size must fail with SHAPE. */
static void test_conv_transpose_grid_1d(void) {
    static const int64_t lens[] = {1, 3, 4, 7};
    int pb, pe, s, d, ki, gi, idx = 0, n_valid = 0;
    test_seed(401);
    for (pb = 0; pb <= 2; pb++)
        for (pe = 0; pe <= 2; pe++)
            for (s = 1; s <= 3; s++)
                for (d = 1; d <= 2; d++)
                    for (ki = 0; ki < 3; ki++)
                        for (gi = 0; gi < 3; gi++, idx++) {
                            win w;
                            win_init(&w, 1);
                            set_group(&w, gi, idx);
                            w.n = 1 + idx % 2;
                            w.in[0] = lens[idx % 4];
                            w.k[0] = KERNELS[ki], w.s[0] = s, w.d[0] = d, w.pb[0] = pb, w.pe[0] = pe;
                            w.opad[0] = idx % 2 ? (s > d ? s : d) - 1 : 0;
                            w.bias = idx % 3, w.kernel_attr = idx % 5 == 0, w.w_input = idx % 7 == 0;
                            n_valid += run_conv(&w, 1);
                        }
    CHECK(n_valid > idx / 2);
}

static void test_conv_transpose_grid_2d(void) {
    static const int64_t hw[][2] = {{3, 4}, {5, 2}, {1, 6}, {4, 4}};
    size_t pi, si, di, ki;
    int gi, idx = 0, n_valid = 0;
    test_seed(402);
    for (pi = 0; pi < NELEM(PADS2); pi++)
        for (si = 0; si < NELEM(STRIDES2); si++)
            for (di = 0; di < NELEM(DILS2); di++)
                for (ki = 0; ki < NELEM(KERNELS2); ki++)
                    for (gi = 0; gi < 3; gi++, idx++) {
                        win w;
                        int j;
                        win_init(&w, 2);
                        set_group(&w, gi, idx);
                        w.n = 1 + idx % 2;
                        for (j = 0; j < 2; j++) {
                            w.in[j] = hw[idx % 4][j];
                            w.k[j] = KERNELS2[ki][j], w.s[j] = STRIDES2[si][j], w.d[j] = DILS2[di][j];
                            w.pb[j] = PADS2[pi][j], w.pe[j] = PADS2[pi][2 + j];
                            w.opad[j] = (idx + j) % 2 ? (w.s[j] > w.d[j] ? w.s[j] : w.d[j]) - 1 : 0;
                        }
                        w.bias = idx % 3, w.kernel_attr = idx % 5 == 0, w.w_input = idx % 7 == 0;
                        n_valid += run_conv(&w, 1);
                    }
    CHECK(n_valid > idx / 2);
}

static void test_conv_transpose_3d(void) {
    test_seed(404);
    conv_grid_3d(1);
}

/* output_shape sets the pads (explicit pads are then ignored), with the larger half at the
   start unless auto_pad is SAME_UPPER; SAME_UPPER / SAME_LOWER give out = in * s; VALID
   means no pads. 1-D over strides, dilations, kernels, lengths, and a few 2-D and 3-D. */
static void test_conv_transpose_output_shape(void) {
    static const int64_t lens[] = {1, 3, 7};
    int s, d, ki, li, mode, idx = 0;
    test_seed(403);
    for (s = 1; s <= 3; s++)
        for (d = 1; d <= 2; d++)
            for (ki = 0; ki < 3; ki++)
                for (li = 0; li < 3; li++)
                    for (mode = 0; mode < 7; mode++, idx++) {
                        win w;
                        int64_t full;
                        win_init(&w, 1);
                        set_group(&w, idx % 3, idx);
                        w.in[0] = lens[li], w.k[0] = KERNELS[ki], w.s[0] = s, w.d[0] = d;
                        w.bias = idx % 2;
                        full = s * (w.in[0] - 1) + (KERNELS[ki] - 1) * d + 1;
                        switch (mode) {
                        case 0: w.auto_pad = "SAME_UPPER"; break;
                        case 1: w.auto_pad = "SAME_LOWER"; break;
                        case 2: w.auto_pad = "VALID"; break;
                        case 3: w.auto_pad = "SAME_UPPER", w.oshape[0] = full > 2 ? full - 1 : full; break;
                        default: /* NOTSET: output_shape full - 2 .. full + 1, pads to ignore */
                            w.oshape[0] = full - (mode - 5);
                            if (w.oshape[0] < 1) w.oshape[0] = 1;
                            w.pb[0] = 1, w.pe[0] = 2;
                            break;
                        }
                        run_conv(&w, 1);
                    }
    for (mode = 0; mode < 4; mode++, idx++) {
        win w;
        win_init(&w, 2 + mode % 2);
        set_group(&w, mode % 3, idx);
        w.in[0] = 3, w.in[1] = 4, w.in[2] = w.n_sp == 3 ? 2 : 1;
        w.k[0] = 3, w.k[1] = 2, w.k[2] = w.n_sp == 3 ? 3 : 1;
        w.s[0] = 2, w.s[1] = 3, w.d[1] = 2;
        w.bias = 1;
        if (mode < 2) w.auto_pad = mode ? "SAME_LOWER" : "SAME_UPPER";
        else w.oshape[0] = 6, w.oshape[1] = 13, w.oshape[2] = w.n_sp == 3 ? 5 : 0;
        CHECK(run_conv(&w, 1));
    }
}

/* -- pools -- */

/* 1-D grid for each kind: pads 0..2 at each end, stride 1..3, dilation 1..2, kernel
   1/3/5, ceil_mode 0/1; lengths 1, 3, 7, 10. */
static void pool_grid_1d(int kind, int *n_valid, int *n_cases) {
    static const int64_t lens[] = {1, 3, 7, 10};
    int pb, pe, s, d, ki, cm;
    for (pb = 0; pb <= 2; pb++)
        for (pe = 0; pe <= 2; pe++)
            for (s = 1; s <= 3; s++)
                for (d = 1; d <= 2; d++)
                    for (ki = 0; ki < 3; ki++)
                        for (cm = 0; cm < 2; cm++, (*n_cases)++) {
                            win w;
                            win_init(&w, 1);
                            w.n = 1 + *n_cases % 2, w.c = 3;
                            w.in[0] = lens[*n_cases % 4];
                            w.k[0] = KERNELS[ki], w.s[0] = s, w.d[0] = d, w.pb[0] = pb, w.pe[0] = pe;
                            w.ceil_mode = cm;
                            *n_valid += run_pool(&w, kind) == 1;
                        }
}

/* 2-D: the Conv grid's patterns of pads, strides, dilations, kernels, with ceil_mode. */
static void pool_grid_2d(int kind, int *n_valid, int *n_cases) {
    static const int64_t hw[][2] = {{7, 9}, {10, 6}, {3, 17}, {9, 9}};
    size_t pi, si, di, ki;
    for (pi = 0; pi < NELEM(PADS2); pi++)
        for (si = 0; si < NELEM(STRIDES2); si++)
            for (di = 0; di < NELEM(DILS2); di++)
                for (ki = 0; ki < NELEM(KERNELS2); ki++, (*n_cases)++) {
                    win w;
                    int j;
                    win_init(&w, 2);
                    w.n = 1 + *n_cases % 2, w.c = 3;
                    for (j = 0; j < 2; j++) {
                        w.in[j] = hw[*n_cases % 4][j];
                        w.k[j] = KERNELS2[ki][j], w.s[j] = STRIDES2[si][j], w.d[j] = DILS2[di][j];
                        w.pb[j] = PADS2[pi][j], w.pe[j] = PADS2[pi][2 + j];
                    }
                    w.ceil_mode = (*n_cases / 3) % 2;
                    *n_valid += run_pool(&w, kind) == 1;
                }
}

/* MaxPool on f32, u8 and i8: the largest element under each window, pads ignored. */
static void test_maxpool_grid(void) {
    int kind;
    test_seed(501);
    for (kind = POOL_MAX_F32; kind <= POOL_MAX_I8; kind++) {
        int n_valid = 0, n_cases = 0;
        pool_grid_1d(kind, &n_valid, &n_cases);
        pool_grid_2d(kind, &n_valid, &n_cases);
        CHECK(n_valid > n_cases / 2);
    }
}

/* f32 MaxPool on rows of 8 outputs and more, which the AVX2 kernel takes 8 at a time, at
   the ends of rows from a copy padded with -inf: kernels 2 to 5, strides 1 and 2, every
   pad below the kernel at either end (ResNet's 3x3 stride 2 pad 1 among them), ceil_mode;
   rows of 1500 and 2001, too wide for the separable path's stack rows (each window's
   taps in turn, from a padded copy at the ends). */
static void test_maxpool_wide(void) {
    static const int64_t hw[][2] = {{9, 21}, {12, 40}, {5, 112}, {17, 18}, {6, 33}, {6, 1500}, {5, 2001}};
    static const int64_t ks[][2] = {{3, 3}, {2, 2}, {5, 5}, {3, 2}};
    size_t i, ki;
    int n_valid = 0, n_cases = 0, s, pb, pe;
    test_seed(504);
    for (i = 0; i < NELEM(hw); i++)
        for (ki = 0; ki < NELEM(ks); ki++)
            for (s = 1; s <= 2; s++)
                for (pb = 0; pb < ks[ki][1]; pb++)
                    for (pe = 0; pe < ks[ki][1]; pe++, n_cases++) {
                        win w;
                        int j;
                        win_init(&w, 2);
                        w.n = 1 + n_cases % 2, w.c = 2;
                        for (j = 0; j < 2; j++) {
                            w.in[j] = hw[i][j], w.k[j] = ks[ki][j], w.s[j] = s, w.d[j] = 1;
                            w.pb[j] = j ? pb : pb % ks[ki][0], w.pe[j] = j ? pe : pe % ks[ki][0];
                        }
                        w.ceil_mode = n_cases % 3 == 0;
                        n_valid += run_pool(&w, POOL_MAX_F32) == 1;
                    }
    CHECK(n_valid == n_cases);
}

/* f32 MaxPool with NaN and infinities among the taps (the AVX2 kernel's plain maxima redo
   8 outputs in the exact order when a tap is NaN, or +inf and -inf meet in its check):
   an output is NaN where any tap is, else the largest tap. Strides 1 and 2, pad 1. */
static void test_maxpool_nan(void) {
    static const int64_t xd[4] = {2, 2, 7, 40};
    const int64_t nx = 2 * 2 * 7 * 40;
    int s;
    test_seed(505);
    for (s = 1; s <= 2; s++) {
        const int64_t oh = (7 + 2 - 3) / s + 1, ow = (40 + 2 - 3) / s + 1, yd[4] = {2, 2, oh, ow};
        float *x = new_f32(nx);
        double *want = new_f64(4 * oh * ow);
        int64_t pl, oy, ox, ky, kx, i;
        win w;
        win_attrs attrs;
        op_case c = new_case("MaxPool");
        for (i = 0; i < nx; i++) x[i] = (float)test_uniform(-4, 4);
        for (i = 0; i < 12; i++) x[test_int(0, (int)(nx / 2) - 1)] = NAN; /* batch 0 only */
        for (i = 0; i < 12; i++) x[test_int(0, (int)nx - 1)] = i % 2 ? INFINITY : -INFINITY;
        for (pl = 0; pl < 4; pl++)
            for (oy = 0; oy < oh; oy++)
                for (ox = 0; ox < ow; ox++) {
                    double m = -INFINITY;
                    for (ky = 0; ky < 3; ky++)
                        for (kx = 0; kx < 3; kx++) {
                            int64_t iy = oy * s - 1 + ky, ix = ox * s - 1 + kx;
                            double v;
                            if (iy < 0 || iy >= 7 || ix < 0 || ix >= 40) continue;
                            v = x[(pl * 7 + iy) * 40 + ix];
                            m = isnan(v) || isnan(m) ? NAN : fmax(m, v);
                        }
                    want[(pl * oh + oy) * ow + ox] = m;
                }
        win_init(&w, 2);
        w.n = 2, w.c = 2, w.in[0] = 7, w.in[1] = 40;
        for (i = 0; i < 2; i++) w.k[i] = 3, w.s[i] = s, w.d[i] = 1, w.pb[i] = w.pe[i] = 1;
        add_in(&c, op_in("x", F32, 4, xd, x));
        add_win_attrs(&c, &w, &attrs, 1);
        op_run(&c);
        CHECK(check_out(&c, 0, s == 1 ? "MaxPool with NaN, stride 1" : "MaxPool with NaN, stride 2", F32, 4, yd, want));
        op_free(&c);
        free(want);
        free(x);
    }
}

/* AveragePool with count_include_pad 0 (divide by the input elements under the window)
   and 1 (divide by the taps inside the padded input). */
static void test_avgpool_grid(void) {
    int kind;
    test_seed(502);
    for (kind = POOL_AVG; kind <= POOL_AVG_PAD; kind++) {
        int n_valid = 0, n_cases = 0;
        pool_grid_1d(kind, &n_valid, &n_cases);
        pool_grid_2d(kind, &n_valid, &n_cases);
        CHECK(n_valid > n_cases / 2);
    }
}

/* auto_pad for pools: SAME_* gives ceil(in/s) and VALID ceil((in - span + 1)/s) whatever
   ceil_mode says; every kind, strides, dilations, kernels, lengths 1, 3, 7, 10. */
static void test_pool_auto_pad(void) {
    static const char *modes[] = {"SAME_UPPER", "SAME_LOWER", "VALID"};
    static const int64_t lens[] = {1, 3, 7, 10};
    int kind, mi, s, d, ki, li, idx = 0, n_valid = 0;
    test_seed(503);
    for (kind = 0; kind < POOL_KINDS; kind++)
        for (mi = 0; mi < 3; mi++)
            for (s = 1; s <= 3; s++)
                for (d = 1; d <= 2; d++)
                    for (ki = 0; ki < 3; ki++)
                        for (li = 0; li < 4; li++, idx++) {
                            win w;
                            win_init(&w, idx % 5 == 0 ? 2 : 1);
                            w.n = 2, w.c = 2;
                            w.auto_pad = modes[mi];
                            w.in[0] = lens[li], w.k[0] = KERNELS[ki], w.s[0] = s, w.d[0] = d;
                            if (w.n_sp == 2) w.in[1] = 5, w.k[1] = 2, w.s[1] = 2;
                            w.ceil_mode = (idx / 2) % 2;
                            n_valid += run_pool(&w, kind) == 1;
                        }
    CHECK(n_valid > idx / 2);
}

/* 3-D pools of every kind, both ceil modes: windows that run past the end padding
   appear in each of the three spatial dims. */
static void test_pool_3d(void) {
    static const int64_t ks[][3] = {{2, 2, 2}, {3, 1, 2}, {1, 3, 3}, {3, 3, 3}};
    static const int64_t ps[][6] = {{0, 0, 0, 0, 0, 0}, {1, 0, 1, 0, 1, 1}, {1, 1, 1, 1, 1, 1}};
    size_t a, f;
    int kind, cm, idx = 0, n_valid = 0;
    test_seed(504);
    for (kind = 0; kind < POOL_KINDS; kind++)
        for (a = 0; a < NELEM(ks); a++)
            for (f = 0; f < NELEM(ps); f++)
                for (cm = 0; cm < 2; cm++, idx++) {
                    win w;
                    int j;
                    win_init(&w, 3);
                    w.n = 1 + idx % 2, w.c = 2, w.in[0] = 4, w.in[1] = 5, w.in[2] = 6;
                    for (j = 0; j < 3; j++) w.k[j] = ks[a][j], w.pb[j] = ps[f][j], w.pe[j] = ps[f][3 + j], w.s[j] = 2;
                    w.s[(size_t)idx % 3] = 1 + (idx / 3) % 3;
                    w.d[(size_t)(idx / 2) % 3] = 1 + (idx / 6) % 2;
                    w.ceil_mode = cm;
                    n_valid += run_pool(&w, kind) == 1;
                }
    CHECK(n_valid > idx / 2);
}

/* GlobalAveragePool: the mean over all spatial dims; output [N, C, 1, ...]. */
static void test_global_avg_pool(void) {
    static const int64_t shapes[][5] = {{1, 1, 1}, {2, 3, 7}, {2, 3, 4, 5}, {1, 17, 3, 3, 3}, {1, 2, 1000}, {3, 1, 1, 1}};
    static const int ranks[] = {3, 3, 4, 5, 3, 4};
    size_t t;
    test_seed(601);
    for (t = 0; t < NELEM(ranks); t++) {
        int r = ranks[t], i;
        int64_t yd[5], nc = shapes[t][0] * shapes[t][1], len = numel(r - 2, shapes[t] + 2), o, j;
        float *x = uniform(nc * len, -2, 3);
        double *y = new_f64(nc);
        op_case c = new_case("GlobalAveragePool");
        char what[64];
        for (i = 0; i < r; i++) yd[i] = i < 2 ? shapes[t][i] : 1;
        for (o = 0; o < nc; o++) {
            for (j = 0; j < len; j++) y[o] += x[o * len + j];
            y[o] /= (double)len;
        }
        add_in(&c, op_in("x", F32, r, shapes[t], x));
        op_run(&c);
        snprintf(what, sizeof what, "GlobalAveragePool shape %zu", t);
        check_out(&c, 0, what, F32, r, yd, y);
        op_free(&c);
        free(x);
        free(y);
    }
}

/* ===== normalisation ===== */

/* BatchNormalization (inference): y = (x - mean[c]) / sqrt(var[c] + epsilon) * scale[c] + B[c]
   over channel dim 1. Small variances make epsilon count. */
static void test_batch_norm(void) {
    static const int64_t shapes[][5] = {{2, 3}, {1, 3, 7}, {2, 17, 4, 5}, {2, 3, 2, 3, 2}, {1, 1, 1000}};
    static const int ranks[] = {2, 3, 4, 5, 3};
    size_t t;
    test_seed(701);
    for (t = 0; t < NELEM(ranks); t++) {
        int r = ranks[t], e;
        int64_t C = shapes[t][1], n = numel(r, shapes[t]), inner = numel(r - 2, shapes[t] + 2), i, cd[1];
        for (e = 0; e < 2; e++) {
            float eps = e ? 0.01f : 1e-5f;
            float *x = uniform(n, -3, 3), *sc = uniform(C, -2, 2), *bi = uniform(C, -1, 1);
            float *mean = uniform(C, -1, 1), *var = uniform(C, 0.001, 2);
            double *y = new_f64(n);
            op_case c = new_case("BatchNormalization");
            char what[64];
            cd[0] = C;
            for (i = 0; i < n; i++) {
                int64_t ch = (i / inner) % C;
                y[i] = ((double)x[i] - mean[ch]) / sqrt((double)var[ch] + (double)eps) * sc[ch] + bi[ch];
            }
            add_in(&c, op_in("x", F32, r, shapes[t], x));
            add_in(&c, op_const("scale", F32, 1, cd, sc));
            add_in(&c, op_const("b", F32, 1, cd, bi));
            add_in(&c, e ? op_in("mean", F32, 1, cd, mean) : op_const("mean", F32, 1, cd, mean));
            add_in(&c, op_const("var", F32, 1, cd, var));
            if (e) add_attr(&c, infer_attr_float("epsilon", eps));
            op_run(&c);
            snprintf(what, sizeof what, "BatchNormalization shape %zu epsilon %g", t, eps);
            check_out(&c, 0, what, F32, r, shapes[t], y);
            op_free(&c);
            free(x), free(sc), free(bi), free(mean), free(var), free(y);
        }
    }
}

static void test_batch_norm_errors(void) {
    float z[64] = {0};
    int64_t xd[3] = {2, 3, 4}, cd[1] = {3}, bad[1] = {4};
    op_case c = new_case("BatchNormalization");
    int k;
    /* training_mode = 1 is not supported: inference only */
    add_in(&c, op_in("x", F32, 3, xd, z));
    for (k = 0; k < 4; k++) add_in(&c, op_const(k == 0 ? "s" : k == 1 ? "b" : k == 2 ? "m" : "v", F32, 1, cd, z));
    add_attr(&c, infer_attr_int("training_mode", 1));
    op_run(&c);
    check_fail(&c, "BatchNormalization training_mode=1", INFER_STATUS_UNSUPPORTED, "training_mode");
    op_free(&c);
    /* a mean of 4 values for 3 channels */
    c = new_case("BatchNormalization");
    add_in(&c, op_in("x", F32, 3, xd, z));
    add_in(&c, op_const("s", F32, 1, cd, z));
    add_in(&c, op_const("b", F32, 1, cd, z));
    add_in(&c, op_const("m", F32, 1, bad, z));
    add_in(&c, op_const("v", F32, 1, cd, z));
    op_run(&c);
    check_fail(&c, "BatchNormalization mean [4]", INFER_STATUS_SHAPE, "input 3");
    op_free(&c);
}

/* LayerNormalization over dims [axis, rank): y = (x - mean) / sqrt(var + epsilon) * Scale + B,
   var the biased variance; Mean and InvStdDev have the input's rank with 1 from axis on.
   Scale and B are of the normalised shape or a single element; B is optional. */
static void run_layer_norm(int r, const int64_t *xd, int64_t axis, float eps, int scale_one, int bias_mode, int n_out) {
    int64_t ax = axis < 0 ? axis + r : axis, outer = numel((int)ax, xd), len = numel(r - (int)ax, xd + ax);
    int64_t sd[INFER_MAX_DIMS], md[INFER_MAX_DIMS], one[1] = {1}, o, i;
    float *x = uniform(outer * len, -2, 4), *sc = uniform(len, -2, 2), *bi = uniform(len, -1, 1);
    double *y = new_f64(outer * len), *mean = new_f64(outer), *inv = new_f64(outer);
    op_case c = new_case("LayerNormalization");
    char what[160], s1[64];
    int k;
    for (k = 0; k < r; k++) md[k] = k < ax ? xd[k] : 1;
    for (k = (int)ax; k < r; k++) sd[k - ax] = xd[k];
    for (o = 0; o < outer; o++) {
        double mu = 0, var = 0;
        for (i = 0; i < len; i++) mu += x[o * len + i];
        mu /= (double)len;
        for (i = 0; i < len; i++) var += (x[o * len + i] - mu) * (x[o * len + i] - mu);
        var /= (double)len;
        mean[o] = mu;
        inv[o] = 1.0 / sqrt(var + (double)eps);
        for (i = 0; i < len; i++)
            y[o * len + i] = (x[o * len + i] - mu) * inv[o] * sc[scale_one ? 0 : i] +
                             (bias_mode == 1 ? bi[i] : bias_mode == 2 ? bi[0] : 0.0);
    }
    add_in(&c, op_in("x", F32, r, xd, x));
    add_in(&c, scale_one ? op_const("scale", F32, 1, one, sc) : op_const("scale", F32, r - (int)ax, sd, sc));
    if (bias_mode == 1) add_in(&c, op_const("b", F32, r - (int)ax, sd, bi));
    if (bias_mode == 2) add_in(&c, op_in("b", F32, 1, one, bi));
    if (bias_mode == 3) add_in(&c, op_absent());
    if (axis != -1) add_attr(&c, infer_attr_int("axis", axis));
    if (eps != 1e-5f) add_attr(&c, infer_attr_float("epsilon", eps));
    c.n_out = n_out;
    op_run(&c);
    snprintf(what, sizeof what, "LayerNormalization %s axis %lld eps %g scale_one %d bias %d",
             dims_str(s1, sizeof s1, r, xd), (long long)axis, eps, scale_one, bias_mode);
    check_out(&c, 0, what, F32, r, xd, y);
    if (n_out > 1) check_out(&c, 1, "LayerNormalization Mean", F32, r, md, mean);
    if (n_out > 2) check_out(&c, 2, "LayerNormalization InvStdDev", F32, r, md, inv);
    op_free(&c);
    free(x), free(sc), free(bi), free(y), free(mean), free(inv);
}

/* Every axis of a rank-3 input (negative ones too), epsilon default and 0.5, Scale of the
   normalised shape or one element, B given / one element / none / marked absent. */
static void test_layer_norm(void) {
    static const int64_t d3[3] = {2, 3, 7}, d2[2] = {17, 1000}, d1[1] = {17}, d4[4] = {1, 3, 1, 5};
    int64_t axis;
    int v = 0;
    test_seed(801);
    for (axis = -3; axis <= 2; axis++, v++) run_layer_norm(3, d3, axis, v % 2 ? 0.5f : 1e-5f, v % 3 == 2, v % 4, 1);
    run_layer_norm(2, d2, -1, 1e-5f, 0, 1, 1);
    run_layer_norm(1, d1, 0, 1e-3f, 1, 2, 1);
    run_layer_norm(4, d4, 1, 1e-5f, 0, 1, 1);
}

/* The optional outputs Mean and InvStdDev, for each axis. */
static void test_layer_norm_outputs(void) {
    static const int64_t d3[3] = {3, 4, 17};
    int64_t axis;
    test_seed(802);
    for (axis = -3; axis <= 2; axis++) {
        run_layer_norm(3, d3, axis, 1e-5f, 0, 1, 3);
        run_layer_norm(3, d3, axis, 0.25f, 1, 0, 2);
    }
}

static void test_layer_norm_errors(void) {
    float z[64] = {0};
    int64_t xd[2] = {2, 6}, sd[1] = {4};
    op_case c = new_case("LayerNormalization");
    add_in(&c, op_in("x", F32, 2, xd, z));
    add_in(&c, op_const("scale", F32, 1, sd, z));
    op_run(&c);
    /* a Scale of 4 elements for a normalised size of 6 */
    CHECK(c.status == INFER_STATUS_SHAPE || c.status == INFER_STATUS_UNSUPPORTED);
    CHECK(strstr(c.error, "input 1") != NULL);
    op_free(&c);
    c = new_case("LayerNormalization");
    add_in(&c, op_in("x", F32, 2, xd, z));
    add_in(&c, op_const("scale", F32, 1, xd + 1, z));
    add_attr(&c, infer_attr_int("axis", 2));
    op_run(&c);
    check_fail(&c, "LayerNormalization axis 2 of rank 2", INFER_STATUS_SHAPE, "axis 2 is out of range");
    op_free(&c);
}

/* ===== Softmax, LogSoftmax ===== */

/* softmax(x)_i = exp(x_i - max) / sum_j exp(x_j - max) along one axis; LogSoftmax is its
   log, (x_i - max) - log(sum). */
static void softmax_ref(int r, const int64_t *d, int64_t axis, int logsm, const float *x, double *y) {
    int64_t ax = axis < 0 ? axis + r : axis, outer = numel((int)ax, d), len = d[ax], inner = numel(r - (int)ax - 1, d + ax + 1);
    int64_t o, in, i;
    for (o = 0; o < outer; o++)
        for (in = 0; in < inner; in++) {
            double mx = -INFINITY, sum = 0;
            const float *xr = x + o * len * inner + in;
            double *yr = y + o * len * inner + in;
            for (i = 0; i < len; i++) mx = xr[i * inner] > mx ? xr[i * inner] : mx;
            for (i = 0; i < len; i++) sum += exp(xr[i * inner] - mx);
            for (i = 0; i < len; i++) yr[i * inner] = logsm ? (xr[i * inner] - mx) - log(sum) : exp(xr[i * inner] - mx) / sum;
        }
}

static void run_softmax(const char *op, int r, const int64_t *d, int64_t axis, int write_axis, double lo, double hi) {
    int64_t n = numel(r, d);
    float *x = uniform(n, lo, hi);
    double *y = new_f64(n);
    op_case c = new_case(op);
    char what[128], s1[64];
    softmax_ref(r, d, axis, op[0] == 'L', x, y);
    add_in(&c, op_in("x", F32, r, d, x));
    if (write_axis) add_attr(&c, infer_attr_int("axis", axis));
    op_run(&c);
    snprintf(what, sizeof what, "%s %s axis %lld", op, dims_str(s1, sizeof s1, r, d), (long long)axis);
    check_out(&c, 0, what, F32, r, d, y);
    op_free(&c);
    free(x);
    free(y);
}

/* Every axis, negative ones too, the default (-1), rank 1, a length of 1000 and large
   values (exp would overflow without subtracting the max). */
static void softmax_cases(const char *op) {
    static const int64_t d3[3] = {3, 7, 17}, d2[2] = {1, 1000}, d1[1] = {17}, d4[4] = {2, 1, 3, 5};
    int64_t axis;
    for (axis = -3; axis <= 2; axis++) run_softmax(op, 3, d3, axis, 1, -4, 4);
    run_softmax(op, 3, d3, -1, 0, -4, 4);
    run_softmax(op, 2, d2, 1, 1, -4, 4);
    run_softmax(op, 2, d2, 0, 1, -4, 4);
    run_softmax(op, 1, d1, 0, 0, -4, 4);
    run_softmax(op, 4, d4, 1, 1, -4, 4);
    run_softmax(op, 4, d4, -3, 1, 500, 1000);
    run_softmax(op, 3, d3, 1, 1, -1000, -900);
}

static void test_softmax(void) {
    test_seed(901);
    softmax_cases("Softmax");
}

static void test_log_softmax(void) {
    test_seed(902);
    softmax_cases("LogSoftmax");
}

static void test_softmax_errors(void) {
    float z[64] = {0};
    int64_t xd[3] = {2, 3, 4};
    int32_t iz[24] = {0};
    const char *ops[2] = {"Softmax", "LogSoftmax"};
    int k;
    for (k = 0; k < 2; k++) {
        op_case c = new_case(ops[k]);
        add_in(&c, op_in("x", F32, 3, xd, z));
        add_attr(&c, infer_attr_int("axis", 3));
        op_run(&c);
        check_fail(&c, "Softmax axis 3 of rank 3", INFER_STATUS_SHAPE, "axis 3 is out of range");
        op_free(&c);
        c = new_case(ops[k]);
        add_in(&c, op_in("x", F32, 3, xd, z));
        add_attr(&c, infer_attr_int("axis", -4));
        op_run(&c);
        check_fail(&c, "Softmax axis -4 of rank 3", INFER_STATUS_SHAPE, "axis -4 is out of range");
        op_free(&c);
        c = new_case(ops[k]);
        add_in(&c, op_in("x", INFER_DTYPE_I32, 3, xd, iz));
        op_run(&c);
        check_fail(&c, "Softmax i32", INFER_STATUS_UNSUPPORTED, "dtype i32");
        op_free(&c);
    }
}

int main(void) {
    RUN(test_matmul_2d);
    RUN(test_matmul_1d);
    RUN(test_matmul_batch_broadcast);
    RUN(test_matmul_accuracy);
    RUN(test_matmul_threads);
    RUN(test_matmul_errors);
    RUN(test_gemm);
    RUN(test_gemm_errors);
    RUN(test_conv_grid_1d);
    RUN(test_conv_grid_2d);
    RUN(test_conv_3d);
    RUN(test_conv_auto_pad);
    RUN(test_conv_threads);
    RUN(test_conv_accuracy);
    RUN(test_conv_errors);
    RUN(test_conv_transpose_grid_1d);
    RUN(test_conv_transpose_grid_2d);
    RUN(test_conv_transpose_3d);
    RUN(test_conv_transpose_output_shape);
    RUN(test_maxpool_grid);
    RUN(test_maxpool_wide);
    RUN(test_maxpool_nan);
    RUN(test_avgpool_grid);
    RUN(test_pool_auto_pad);
    RUN(test_pool_3d);
    RUN(test_global_avg_pool);
    RUN(test_batch_norm);
    RUN(test_batch_norm_errors);
    RUN(test_layer_norm);
    RUN(test_layer_norm_outputs);
    RUN(test_layer_norm_errors);
    RUN(test_softmax);
    RUN(test_log_softmax);
    RUN(test_softmax_errors);
    return test_finish();
}
