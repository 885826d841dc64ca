/* tests/test_ops_shape.c - reductions, ArgMax, and the shape and data-movement ops.

   Every result is compared with a reference written here from the ONNX operator text
   (the newest opset of each op): float results against double-precision references,
   data movement and integers exactly. Data-movement ops run over several dtypes (f32,
   i64, u8, bool, and f16 as raw bits), with the data both as a run-time input and as a
   model constant (a node whose inputs are all constants is folded at session creation).
   Inputs that set an output shape must be model constants; that rule is checked too. */
#include "test.h"

#include <stdint.h>

#define MAXD INFER_MAX_DIMS

/* ===== helpers ===== */

static void op_init(op_case *c, const char *op) {
    memset(c, 0, sizeof *c);
    c->op = op;
}

static int64_t numel(int r, const int64_t *d) {
    int64_t n = 1;
    int i;
    for (i = 0; i < r; i++) n *= d[i];
    return n;
}

/* Row-major flat index <-> multi-index. */
static void unravel(int64_t f, int r, const int64_t *d, int64_t *idx) {
    int i;
    for (i = r - 1; i >= 0; i--) {
        idx[i] = d[i] > 0 ? f % d[i] : 0;
        f = d[i] > 0 ? f / d[i] : 0;
    }
}
static int64_t ravel(int r, const int64_t *d, const int64_t *idx) {
    int64_t f = 0;
    int i;
    for (i = 0; i < r; i++) f = f * d[i] + idx[i];
    return f;
}

static void *xcalloc(int64_t n, size_t esz) {
    void *p = calloc((size_t)(n > 0 ? n : 1), esz ? esz : 1);
    if (!p) {
        printf("out of memory in the test\n");
        exit(2);
    }
    return p;
}

/* "[2,3,4]" into buf[160] */
static const char *dstr(char *buf, int r, const int64_t *d) {
    int i, k = 0;
    k += snprintf(buf + k, (size_t)(160 - k), "[");
    for (i = 0; i < r && k < 140; i++) k += snprintf(buf + k, (size_t)(160 - k), i ? ",%lld" : "%lld", (long long)d[i]);
    snprintf(buf + k, (size_t)(160 - k), "]");
    return buf;
}

/* The dtypes that data-movement ops are run over. f16 travels as raw bits. */
#define N_MOVE_TYPES 5
static const infer_dtype move_types[N_MOVE_TYPES] = {INFER_DTYPE_F32, INFER_DTYPE_I64, INFER_DTYPE_U8, INFER_DTYPE_BOOL,
                                                     INFER_DTYPE_F16};

/* n random elements of dtype t. */
static void fill_any(void *p, infer_dtype t, int64_t n) {
    int64_t i;
    for (i = 0; i < n; i++) switch (t) {
        case INFER_DTYPE_F32: ((float *)p)[i] = (float)test_uniform(-10, 10); break;
        case INFER_DTYPE_F64: ((double *)p)[i] = test_uniform(-10, 10); break;
        case INFER_DTYPE_I32: ((int32_t *)p)[i] = (int32_t)test_int(-100000, 100000); break;
        case INFER_DTYPE_I64: ((int64_t *)p)[i] = test_int(-1000000000000LL, 1000000000000LL); break;
        case INFER_DTYPE_U8: ((uint8_t *)p)[i] = (uint8_t)test_int(0, 255); break;
        case INFER_DTYPE_BOOL: ((uint8_t *)p)[i] = (uint8_t)test_int(0, 1); break;
        case INFER_DTYPE_F16: ((uint16_t *)p)[i] = (uint16_t)test_int(0, 0xFFFF); break;
        default: break;
        }
}

/* Input 0, the data: a run-time input, or (constant = 1) a model constant. */
static op_input data_in(int constant, infer_dtype t, int r, const int64_t *d, const void *p) {
    return constant ? op_const("x", t, r, d, p) : op_in("x", t, r, d, p);
}

/* A 1-D i64 constant of n values (n may be 0). */
static op_input ints_const(const char *name, int n, const int64_t *v) {
    int64_t d[1];
    d[0] = n;
    return op_const(name, INFER_DTYPE_I64, 1, d, v);
}
/* The same values as a run-time input (for the "must be a constant" checks). */
static op_input ints_input(const char *name, int n, const int64_t *v) {
    int64_t d[1];
    d[0] = n;
    return op_in(name, INFER_DTYPE_I64, 1, d, v);
}

/* Runs c; on failure prints what was run and the library's message. */
static int run_ok(op_case *c, const char *what) {
    infer_status st = op_run(c);
    if (st != INFER_STATUS_OK) printf("  %s: %s failed: %s: %s\n", what, c->op, infer_status_name(st), c->error);
    CHECK(st == INFER_STATUS_OK);
    return st == INFER_STATUS_OK;
}

/* Runs c and expects status `want` with `phrase` in the message; frees c. */
static void expect_fail(op_case *c, infer_status want, const char *phrase, const char *what) {
    infer_status st = op_run(c);
    int ok = st == want && strstr(c->error, phrase) != NULL;
    if (!ok)
        printf("  %s: %s gave %s \"%s\"; wanted %s with \"%s\"\n", what, c->op, infer_status_name(st), c->error,
               infer_status_name(want), phrase);
    CHECK(ok);
    op_free(c);
}

/* Output k has dtype t and dims d[r]. */
static int out_is(const op_case *c, int k, infer_dtype t, int r, const int64_t *d, const char *what) {
    const infer_tensor *o = &c->out[k];
    int i, ok = o->dtype == t && o->n_dims == r;
    char b1[160], b2[160];
    for (i = 0; ok && i < r; i++) ok = o->dims[i] == d[i];
    if (!ok)
        printf("  %s: output %d is %s %s; wanted %s %s\n", what, k, infer_dtype_name(o->dtype),
               dstr(b1, o->n_dims < 0 || o->n_dims > MAXD ? 0 : o->n_dims, o->dims), infer_dtype_name(t),
               dstr(b2, r, d));
    CHECK(ok);
    return ok;
}

/* Element-wise byte comparison; prints the first difference. */
static int same_bytes(const char *what, const void *got, const void *want, int64_t n, size_t esz) {
    int64_t i;
    for (i = 0; i < n; i++)
        if (memcmp((const uint8_t *)got + i * (int64_t)esz, (const uint8_t *)want + i * (int64_t)esz, esz)) {
            uint64_t g = 0, w = 0;
            memcpy(&g, (const uint8_t *)got + i * (int64_t)esz, esz < 8 ? esz : 8);
            memcpy(&w, (const uint8_t *)want + i * (int64_t)esz, esz < 8 ? esz : 8);
            printf("  %s: element %lld of %lld differs: got bits 0x%llx, want 0x%llx\n", what, (long long)i,
                   (long long)n, (unsigned long long)g, (unsigned long long)w);
            CHECK(0);
            return 0;
        }
    return 1;
}

/* want[i] = x[src[i]] (elements of esz bytes), or *fill where src[i] < 0. */
static void *pick_bytes(const void *x, const int64_t *src, int64_t n, size_t esz, const void *fill) {
    uint8_t *w = (uint8_t *)xcalloc(n, esz);
    int64_t i;
    for (i = 0; i < n; i++)
        memcpy(w + i * (int64_t)esz, src[i] < 0 ? (const uint8_t *)fill : (const uint8_t *)x + src[i] * (int64_t)esz,
               esz);
    return w;
}

/* Runs a data-movement case (data x of dtype t at input 0) and checks output 0: dtype t,
   dims dy[ry] and element i equal to x[src[i]] (or *fill where src[i] < 0). Frees c. */
static void check_moved(op_case *c, const char *what, const void *x, infer_dtype t, int ry, const int64_t *dy,
                        const int64_t *src, const void *fill) {
    int64_t n = numel(ry, dy);
    size_t esz = infer_dtype_bytes(t);
    void *want = pick_bytes(x, src, n, esz, fill);
    if (run_ok(c, what) && out_is(c, 0, t, ry, dy, what)) same_bytes(what, c->out[0].data, want, n, esz);
    free(want);
    op_free(c);
}

/* src[i] = i: ops that keep the bytes as they are (Reshape, Flatten, Squeeze, ...). */
static int64_t *iota(int64_t n) {
    int64_t *s = (int64_t *)xcalloc(n, sizeof(int64_t)), i;
    for (i = 0; i < n; i++) s[i] = i;
    return s;
}

/* Runs an op that only changes the shape: output = the input's bytes with dims w[wr]. */
static void check_view(op_case *c, const char *what, const void *x, infer_dtype t, int wr, const int64_t *w) {
    int64_t *src = iota(numel(wr, w));
    check_moved(c, what, x, t, wr, w, src, NULL);
    free(src);
}

/* ===== ReduceSum, ReduceMean, ReduceMax ===== */

enum { RED_SUM, RED_MEAN, RED_MAX };
static const char *const red_names[] = {"ReduceSum", "ReduceMean", "ReduceMax"};

typedef struct red_case {
    int kind;           /* RED_* */
    infer_dtype t;      /* f32, i32 or i64 */
    int r;
    int64_t d[MAXD];
    int n_axes;         /* -1: no axes input */
    int64_t axes[MAXD];
    int keep, noop;     /* keepdims, noop_with_empty_axes; -1: attribute absent */
    int constant;       /* the data as a model constant */
} red_case;

/* Reference in double. Each input element goes into the output slot of its own index with
   the reduced axes set to 0; the output drops those axes (keepdims 0) or keeps them as 1.
   An empty set gives 0 (sum), NaN (mean), or `lowest` (max: -inf, or the dtype's minimum,
   as the ONNX text says). Max propagates NaN (the ONNX reference uses numpy's maximum). */
static double *red_ref(int kind, const double *x, int r, const int64_t *d, unsigned mask, int keep, double lowest,
                       int *ry, int64_t *dy, int64_t *n_out) {
    int64_t full[MAXD], idx[MAXD], n = numel(r, d), i, *cnt;
    double *y;
    int k;
    for (k = 0; k < r; k++) full[k] = (mask >> k & 1) ? 1 : d[k];
    *n_out = numel(r, full);
    y = (double *)xcalloc(*n_out, sizeof(double));
    cnt = (int64_t *)xcalloc(*n_out, sizeof(int64_t));
    for (i = 0; i < *n_out; i++) y[i] = kind == RED_MAX ? lowest : 0.0;
    for (i = 0; i < n; i++) {
        int64_t o;
        unravel(i, r, d, idx);
        for (k = 0; k < r; k++)
            if (mask >> k & 1) idx[k] = 0;
        o = ravel(r, full, idx);
        if (kind == RED_MAX) {
            if (isnan(x[i]) || isnan(y[o])) y[o] = NAN;
            else if (x[i] > y[o]) y[o] = x[i];
        } else {
            y[o] += x[i];
        }
        cnt[o]++;
    }
    if (kind == RED_MEAN)
        for (i = 0; i < *n_out; i++) y[i] = cnt[i] ? y[i] / (double)cnt[i] : NAN;
    *ry = 0;
    for (k = 0; k < r; k++)
        if (!(mask >> k & 1)) dy[(*ry)++] = d[k];
        else if (keep) dy[(*ry)++] = 1;
    free(cnt);
    return y;
}

static void red_check(const red_case *g) {
    int64_t n = numel(g->r, g->d), dy[MAXD], n_out, i;
    size_t esz = infer_dtype_bytes(g->t);
    void *x = xcalloc(n, esz);
    double *xd = (double *)xcalloc(n, sizeof(double)), *want, lowest = -INFINITY;
    unsigned mask = 0;
    int ry, k;
    op_case c;
    char what[256], b[160], ba[160];
    for (i = 0; i < n; i++) {
        if (g->t == INFER_DTYPE_F32) ((float *)x)[i] = (float)test_uniform(-5, 5), xd[i] = ((float *)x)[i];
        else if (g->t == INFER_DTYPE_I32)
            ((int32_t *)x)[i] = (int32_t)test_int(-100000, 100000), xd[i] = ((int32_t *)x)[i];
        else ((int64_t *)x)[i] = test_int(-(1LL << 40), 1LL << 40), xd[i] = (double)((int64_t *)x)[i];
    }
    if (g->t == INFER_DTYPE_I32) lowest = (double)INT32_MIN;
    if (g->t == INFER_DTYPE_I64) lowest = (double)INT64_MIN;
    for (k = 0; k < g->n_axes; k++) mask |= 1u << (g->axes[k] < 0 ? g->axes[k] + g->r : g->axes[k]);
    /* no axes (absent or empty): all axes, or none with noop_with_empty_axes = 1 */
    if (g->n_axes <= 0 && g->noop != 1) mask = (1u << g->r) - 1;
    want = red_ref(g->kind, xd, g->r, g->d, mask, g->keep != 0, lowest, &ry, dy, &n_out);

    op_init(&c, red_names[g->kind]);
    c.in[c.n_in++] = data_in(g->constant, g->t, g->r, g->d, x);
    if (g->n_axes >= 0) c.in[c.n_in++] = ints_const("axes", g->n_axes, g->axes);
    if (g->keep >= 0) c.attrs[c.n_attrs++] = infer_attr_int("keepdims", g->keep);
    if (g->noop >= 0) c.attrs[c.n_attrs++] = infer_attr_int("noop_with_empty_axes", g->noop);
    snprintf(what, sizeof what, "%s %s x%s axes%s keepdims %d noop %d%s", red_names[g->kind], infer_dtype_name(g->t),
             dstr(b, g->r, g->d), g->n_axes < 0 ? "(absent)" : dstr(ba, g->n_axes, g->axes), g->keep, g->noop,
             g->constant ? " (constant)" : "");
    if (run_ok(&c, what) && out_is(&c, 0, g->t, ry, dy, what)) {
        if (g->t == INFER_DTYPE_F32) {
            test_close(what, (const float *)c.out[0].data, want, (size_t)n_out, 1e-5);
        } else {
            for (i = 0; i < n_out; i++) {
                int64_t got = g->t == INFER_DTYPE_I32 ? ((int32_t *)c.out[0].data)[i] : ((int64_t *)c.out[0].data)[i];
                if ((double)got != want[i]) {
                    printf("  %s: element %lld: got %lld, want %.17g\n", what, (long long)i, (long long)got, want[i]);
                    CHECK(0);
                    break;
                }
            }
        }
    }
    op_free(&c);
    free(x);
    free(xd);
    free(want);
}

static red_case red_make(int kind, infer_dtype t, int r, const int64_t *d, int n_axes, const int64_t *axes, int keep,
                         int noop) {
    red_case g;
    memset(&g, 0, sizeof g);
    g.kind = kind;
    g.t = t;
    g.r = r;
    if (r) memcpy(g.d, d, sizeof(int64_t) * (size_t)r);
    g.n_axes = n_axes;
    if (n_axes > 0) memcpy(g.axes, axes, sizeof(int64_t) * (size_t)n_axes);
    g.keep = keep;
    g.noop = noop;
    return g;
}

/* Every non-empty subset of the axes of a [3,7,5] tensor, keepdims 0 and 1; the axes are
   listed in descending order with mixed signs (axis a < 0 means a + rank). */
static void test_reduce_axes_keepdims(void) {
    static const int64_t d[3] = {3, 7, 5};
    int kind, sub, keep, a;
    test_seed(101);
    for (kind = 0; kind < 3; kind++)
        for (sub = 1; sub < 8; sub++)
            for (keep = 0; keep < 2; keep++) {
                red_case g = red_make(kind, INFER_DTYPE_F32, 3, d, 0, NULL, keep, -1);
                for (a = 2; a >= 0; a--)
                    if (sub >> a & 1) g.axes[g.n_axes++] = (sub + a) % 2 ? a - 3 : a;
                g.constant = (sub + keep) % 3 == 0;
                red_check(&g);
            }
}

/* keepdims defaults to 1; without axes (absent input or an empty list) every axis is
   reduced, unless noop_with_empty_axes = 1, which makes the op an identity. */
static void test_reduce_default_axes(void) {
    static const int64_t d[3] = {3, 7, 5}, one[1] = {1};
    int kind;
    test_seed(102);
    for (kind = 0; kind < 3; kind++) {
        red_case g;
        g = red_make(kind, INFER_DTYPE_F32, 3, d, -1, NULL, -1, -1); /* -> [1,1,1] */
        red_check(&g);
        g = red_make(kind, INFER_DTYPE_F32, 3, d, -1, NULL, 0, -1); /* -> scalar */
        red_check(&g);
        g = red_make(kind, INFER_DTYPE_F32, 3, d, 0, NULL, 1, 0); /* empty axes list: all */
        red_check(&g);
        g = red_make(kind, INFER_DTYPE_F32, 3, d, -1, NULL, 1, 1); /* identity */
        red_check(&g);
        g = red_make(kind, INFER_DTYPE_F32, 3, d, 0, NULL, 0, 1); /* identity, keepdims irrelevant */
        red_check(&g);
        g = red_make(kind, INFER_DTYPE_F32, 3, d, 1, one, 0, 1); /* noop only matters without axes */
        red_check(&g);
        g = red_make(kind, INFER_DTYPE_F32, 0, NULL, -1, NULL, -1, -1); /* a scalar stays a scalar */
        red_check(&g);
    }
}

/* Odd sizes: 1, 17, 1000 along some axis. */
static void test_reduce_odd_sizes(void) {
    static const int64_t d1[1] = {1000}, d2[4] = {1, 17, 3, 2}, d3[3] = {7, 1, 17}, d4[2] = {2, 1000},
                         d5[3] = {1, 1, 1};
    static const int64_t a13[2] = {1, 3}, am2[1] = {-2}, a0[1] = {0}, a012[3] = {0, 1, 2}, am1[1] = {-1};
    int kind;
    test_seed(103);
    for (kind = 0; kind < 3; kind++) {
        red_case g;
        g = red_make(kind, INFER_DTYPE_F32, 1, d1, -1, NULL, 0, -1);
        red_check(&g);
        g = red_make(kind, INFER_DTYPE_F32, 4, d2, 2, a13, 1, -1);
        red_check(&g);
        g = red_make(kind, INFER_DTYPE_F32, 3, d3, 1, am2, 0, -1);
        red_check(&g);
        g = red_make(kind, INFER_DTYPE_F32, 2, d4, 1, a0, 0, -1);
        red_check(&g);
        g = red_make(kind, INFER_DTYPE_F32, 2, d4, 1, am1, 1, -1);
        g.constant = 1;
        red_check(&g);
        g = red_make(kind, INFER_DTYPE_F32, 3, d5, 3, a012, 0, -1);
        red_check(&g);
    }
}

/* ReduceSum and ReduceMax on i32 and i64, exact. */
static void test_reduce_int(void) {
    static const int64_t d[3] = {3, 7, 5}, a1[1] = {1}, a02[2] = {0, -1};
    static const infer_dtype ts[2] = {INFER_DTYPE_I32, INFER_DTYPE_I64};
    static const int kinds[2] = {RED_SUM, RED_MAX};
    int i, k, keep;
    test_seed(104);
    for (i = 0; i < 2; i++)
        for (k = 0; k < 2; k++)
            for (keep = 0; keep < 2; keep++) {
                red_case g;
                g = red_make(kinds[k], ts[i], 3, d, 1, a1, keep, -1);
                red_check(&g);
                g = red_make(kinds[k], ts[i], 3, d, 2, a02, keep, -1);
                g.constant = keep;
                red_check(&g);
                g = red_make(kinds[k], ts[i], 3, d, -1, NULL, keep, -1);
                red_check(&g);
            }
}

/* IEEE specials, checked against values worked out by hand. */
static void test_reduce_nan_inf(void) {
    static const int64_t d[2] = {2, 3}, ax[1] = {1};
    float x_max[6] = {1, NAN, 3, -INFINITY, -INFINITY, -INFINITY};
    float x_sum[6] = {1, INFINITY, 2, -INFINITY, 5, 1};
    double w_max[2] = {NAN, -INFINITY}, w_sum[2] = {INFINITY, -INFINITY}, w_mean[2] = {INFINITY, -INFINITY};
    static const int64_t dy[1] = {2};
    op_case c;
    op_init(&c, "ReduceMax"); /* NaN propagates (numpy maximum, as the ONNX reference) */
    c.in[0] = op_in("x", INFER_DTYPE_F32, 2, d, x_max);
    c.in[1] = ints_const("axes", 1, ax);
    c.n_in = 2;
    c.attrs[c.n_attrs++] = infer_attr_int("keepdims", 0);
    if (run_ok(&c, "max nan") && out_is(&c, 0, INFER_DTYPE_F32, 1, dy, "max nan"))
        test_close("max nan", (const float *)c.out[0].data, w_max, 2, 0);
    op_free(&c);
    c.op = "ReduceSum";
    c.in[0].data = x_sum;
    if (run_ok(&c, "sum inf")) test_close("sum inf", (const float *)c.out[0].data, w_sum, 2, 0);
    op_free(&c);
    c.op = "ReduceMean";
    if (run_ok(&c, "mean inf")) test_close("mean inf", (const float *)c.out[0].data, w_mean, 2, 0);
    op_free(&c);
}

/* A reduction over an empty set: ReduceSum gives 0; ReduceMax gives -inf, or the minimum
   of an integer dtype (ONNX ReduceMax-20 text). An empty output is fine too. */
static void test_reduce_empty(void) {
    static const int64_t d30[2] = {3, 0}, d03[2] = {0, 3}, d0[1] = {0}, a1[1] = {1};
    red_case g;
    test_seed(105);
    g = red_make(RED_SUM, INFER_DTYPE_F32, 2, d30, 1, a1, 1, -1);
    red_check(&g);
    g = red_make(RED_SUM, INFER_DTYPE_I64, 2, d30, 1, a1, 0, -1);
    red_check(&g);
    g = red_make(RED_SUM, INFER_DTYPE_F32, 1, d0, -1, NULL, 0, -1);
    red_check(&g);
    g = red_make(RED_MAX, INFER_DTYPE_F32, 2, d30, 1, a1, 0, -1);
    red_check(&g);
    g = red_make(RED_MAX, INFER_DTYPE_I32, 2, d30, 1, a1, 0, -1);
    red_check(&g);
    g = red_make(RED_MAX, INFER_DTYPE_I64, 2, d30, 1, a1, 1, -1);
    red_check(&g);
    g = red_make(RED_MAX, INFER_DTYPE_I32, 2, d03, 1, a1, 1, -1); /* empty output [0,1] */
    red_check(&g);
}

static void test_reduce_errors(void) {
    static const int64_t d[3] = {3, 7, 5}, a3[1] = {3}, am4[1] = {-4}, a1[1] = {1};
    float x[105] = {0};
    op_case c;
    op_init(&c, "ReduceSum");
    c.in[0] = op_in("x", INFER_DTYPE_F32, 3, d, x);
    c.in[1] = ints_const("axes", 1, a3);
    c.n_in = 2;
    expect_fail(&c, INFER_STATUS_SHAPE, "out of range", "axis 3 of rank 3");
    c.in[1] = ints_const("axes", 1, am4);
    expect_fail(&c, INFER_STATUS_SHAPE, "out of range", "axis -4 of rank 3");
    c.op = "ReduceMax";
    c.in[1] = ints_input("axes", 1, a1);
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "known when the session is created", "run-time axes");
}

/* ===== ArgMax ===== */

/* Reference: along the axis, the first index of the largest value (the last one with
   select_last_index); NaN counts as larger than any number, as numpy's argmax. */
static void arg_max_ref(const double *x, int r, const int64_t *d, int axis, int last, int64_t *y) {
    int64_t od[MAXD], idx[MAXD], n_out, o, j;
    memcpy(od, d, sizeof(int64_t) * (size_t)r);
    od[axis] = 1;
    n_out = numel(r, od);
    for (o = 0; o < n_out; o++) {
        double best = 0;
        int64_t bi = -1;
        unravel(o, r, od, idx);
        for (j = 0; j < d[axis]; j++) {
            double v;
            int better;
            idx[axis] = j;
            v = x[ravel(r, d, idx)];
            if (bi < 0) better = 1;
            else if (isnan(best)) better = isnan(v) && last;
            else if (isnan(v)) better = 1;
            else better = v > best || (last && v == best);
            if (better) best = v, bi = j;
        }
        y[o] = bi;
    }
}

/* axis_attr, keep, last: -99 / -1 / -1 leave the attribute out (defaults 0, 1, 0). */
static void arg_max_check(infer_dtype t, int r, const int64_t *d, int axis_attr, int keep, int last, int lo, int hi,
                          int constant) {
    int64_t n = numel(r, d), i, dy[MAXD], *want, n_out;
    int axis = axis_attr == -99 ? 0 : axis_attr < 0 ? axis_attr + r : axis_attr, ry = 0, k;
    size_t esz = infer_dtype_bytes(t);
    void *x = xcalloc(n, esz);
    double *xd = (double *)xcalloc(n, sizeof(double));
    op_case c;
    char what[200], b[160];
    for (i = 0; i < n; i++) {
        int64_t v = test_int(lo, hi); /* few distinct values: many ties */
        xd[i] = (double)v;
        switch (t) {
        case INFER_DTYPE_F32: ((float *)x)[i] = (float)v; break;
        case INFER_DTYPE_I32: ((int32_t *)x)[i] = (int32_t)v; break;
        case INFER_DTYPE_I64: ((int64_t *)x)[i] = v; break;
        case INFER_DTYPE_U8: ((uint8_t *)x)[i] = (uint8_t)v; break;
        default: break;
        }
    }
    for (k = 0; k < r; k++)
        if (k != axis) dy[ry++] = d[k];
        else if (keep != 0) dy[ry++] = 1;
    n_out = numel(ry, dy);
    want = (int64_t *)xcalloc(n_out, sizeof(int64_t));
    arg_max_ref(xd, r, d, axis, last == 1, want);
    op_init(&c, "ArgMax");
    c.in[0] = data_in(constant, t, r, d, x);
    c.n_in = 1;
    if (axis_attr != -99) c.attrs[c.n_attrs++] = infer_attr_int("axis", axis_attr);
    if (keep >= 0) c.attrs[c.n_attrs++] = infer_attr_int("keepdims", keep);
    if (last >= 0) c.attrs[c.n_attrs++] = infer_attr_int("select_last_index", last);
    snprintf(what, sizeof what, "ArgMax %s x%s axis %d keepdims %d select_last_index %d%s", infer_dtype_name(t),
             dstr(b, r, d), axis_attr, keep, last, constant ? " (constant)" : "");
    if (run_ok(&c, what) && out_is(&c, 0, INFER_DTYPE_I64, ry, dy, what))
        same_bytes(what, c.out[0].data, want, n_out, sizeof(int64_t));
    op_free(&c);
    free(x);
    free(xd);
    free(want);
}

/* Axis (incl. negative and the default 0), keepdims, select_last_index, ties; f32, i32,
   i64, u8. */
static void test_arg_max(void) {
    static const int64_t d[3] = {3, 7, 5};
    static const infer_dtype ts[4] = {INFER_DTYPE_F32, INFER_DTYPE_I32, INFER_DTYPE_I64, INFER_DTYPE_U8};
    static const int axes[6] = {0, 1, 2, -1, -3, -99};
    int ti, ai, last, n = 0;
    test_seed(201);
    for (ti = 0; ti < 4; ti++)
        for (ai = 0; ai < 6; ai++)
            for (last = -1; last <= 1; last++, n++)
                arg_max_check(ts[ti], 3, d, axes[ai], n % 3 - 1, last, 0, 3, n % 5 == 0);
}

/* Odd sizes, a length-1 axis, and wide value ranges. */
static void test_arg_max_odd_sizes(void) {
    static const int64_t d1[1] = {1000}, d2[2] = {1, 17}, d3[2] = {17, 1}, d4[3] = {2, 1000, 1};
    test_seed(202);
    arg_max_check(INFER_DTYPE_F32, 1, d1, 0, 0, 0, -1000000, 1000000, 0);
    arg_max_check(INFER_DTYPE_F32, 1, d1, -1, 1, 1, 0, 2, 1);
    arg_max_check(INFER_DTYPE_I64, 2, d2, 1, 0, 1, -5, 5, 0);
    arg_max_check(INFER_DTYPE_I32, 2, d3, -1, 0, 0, -5, 5, 0);
    arg_max_check(INFER_DTYPE_U8, 3, d4, 1, 1, 0, 0, 255, 0);
}

/* Ties and NaN, with expectations written by hand. */
static void test_arg_max_ties_nan(void) {
    static const int64_t d5[1] = {5}, d4[1] = {4}, d2[1] = {2};
    static const float x_nan[5] = {1, NAN, 3, NAN, 2}, x_tie[4] = {2, 5, 5, 1}, x_first[2] = {NAN, 5};
    static const struct {
        const float *x;
        const int64_t *d;
        int last;
        int64_t want;
    } cases[] = {{x_nan, d5, 0, 1}, {x_nan, d5, 1, 3}, {x_tie, d4, 0, 1}, {x_tie, d4, 1, 2}, {x_first, d2, 0, 0},
                 {x_first, d2, 1, 0}};
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        op_case c;
        char what[64];
        op_init(&c, "ArgMax");
        c.in[0] = op_in("x", INFER_DTYPE_F32, 1, cases[i].d, cases[i].x);
        c.n_in = 1;
        c.attrs[c.n_attrs++] = infer_attr_int("keepdims", 0);
        c.attrs[c.n_attrs++] = infer_attr_int("select_last_index", cases[i].last);
        snprintf(what, sizeof what, "ArgMax case %zu", i);
        if (run_ok(&c, what) && out_is(&c, 0, INFER_DTYPE_I64, 0, NULL, what))
            CHECK_EQ_INT(((int64_t *)c.out[0].data)[0], cases[i].want);
        op_free(&c);
    }
}

static void test_arg_max_errors(void) {
    static const int64_t d[2] = {3, 4};
    float x[12] = {0};
    op_case c;
    op_init(&c, "ArgMax");
    c.in[0] = op_in("x", INFER_DTYPE_F32, 2, d, x);
    c.n_in = 1;
    c.attrs[c.n_attrs++] = infer_attr_int("axis", 2);
    expect_fail(&c, INFER_STATUS_SHAPE, "out of range", "ArgMax axis 2 of rank 2");
    c.attrs[0] = infer_attr_int("axis", -3);
    expect_fail(&c, INFER_STATUS_SHAPE, "out of range", "ArgMax axis -3 of rank 2");
}

/* ===== Reshape, Flatten, Squeeze, Unsqueeze, Identity ===== */

/* Each case: the input dims, the op's parameter, and the expected dims written by hand
   from the ONNX rule. */
typedef struct view_case {
    int r;
    int64_t d[6];
    int n;             /* values in p (-1: no such input) */
    int64_t p[6];      /* Reshape: shape; Squeeze/Unsqueeze: axes */
    int attr;          /* Reshape: allowzero; Flatten: axis; -99: absent */
    int wr;
    int64_t w[6];
} view_case;

/* Runs op over each case, cycling through the dtypes and run-time / constant data. */
static void run_view_cases(const char *op, const char *param, const char *attr, const view_case *cases, int n_cases) {
    int i;
    for (i = 0; i < n_cases; i++) {
        const view_case *v = &cases[i];
        infer_dtype t = move_types[i % N_MOVE_TYPES];
        int constant = (i / N_MOVE_TYPES + i) % 2;
        int64_t n = numel(v->r, v->d);
        void *x = xcalloc(n, infer_dtype_bytes(t));
        op_case c;
        char what[300], b1[160], b2[160];
        fill_any(x, t, n);
        op_init(&c, op);
        c.in[c.n_in++] = data_in(constant, t, v->r, v->d, x);
        if (v->n >= 0) c.in[c.n_in++] = ints_const(param, v->n, v->p);
        if (v->attr != -99) c.attrs[c.n_attrs++] = infer_attr_int(attr, v->attr);
        snprintf(what, sizeof what, "%s case %d: %s x%s %s%s %s=%d%s", op, i, infer_dtype_name(t), dstr(b1, v->r, v->d),
                 param, v->n >= 0 ? dstr(b2, v->n, v->p) : "(absent)", attr, v->attr, constant ? " (constant)" : "");
        check_view(&c, what, x, t, v->wr, v->w);
        free(x);
    }
}

/* Reshape: 0 copies the input's dim (unless allowzero = 1, then it is a real 0), -1 is
   inferred from the element count; an empty shape makes a scalar. */
static void test_reshape(void) {
    static const view_case cases[] = {
        {3, {2, 3, 4}, 2, {4, -1}, -99, 2, {4, 6}},
        {3, {2, 3, 4}, 2, {0, -1}, -99, 2, {2, 12}},
        {3, {2, 3, 4}, 3, {0, 0, -1}, 0, 3, {2, 3, 4}},
        {3, {2, 3, 4}, 1, {-1}, -99, 1, {24}},
        {3, {2, 3, 4}, 4, {-1, 1, 3, 2}, 0, 4, {4, 1, 3, 2}},
        {3, {2, 3, 4}, 3, {0, 4, -1}, -99, 3, {2, 4, 3}},
        {1, {1000}, 2, {-1, 8}, -99, 2, {125, 8}},
        {2, {1, 1}, 0, {0}, -99, 0, {0}},             /* empty shape: a scalar */
        {0, {0}, 3, {1, 1, 1}, -99, 3, {1, 1, 1}},   /* a scalar to [1,1,1] */
        {2, {0, 4}, 2, {-1, 2}, -99, 2, {0, 2}},     /* -1 with no elements: 0 */
        {2, {0, 4}, 2, {3, 0}, 1, 2, {3, 0}},         /* allowzero: 0 is a real 0 */
        {2, {0, 4}, 2, {0, 5}, 0, 2, {0, 5}},         /* 0 copies the input's 0 */
        {2, {7, 17}, 3, {17, 1, -1}, 1, 3, {17, 1, 7}},
        {3, {1, 3, 1}, 2, {3, 1}, 1, 2, {3, 1}},
    };
    test_seed(301);
    run_view_cases("Reshape", "shape", "allowzero", cases, (int)(sizeof cases / sizeof cases[0]));
}

static void test_reshape_errors(void) {
    static const int64_t d[3] = {2, 3, 4}, d2[2] = {2, 3};
    static const int64_t s1[2] = {5, -1}, s2[2] = {7, 3}, s3[2] = {-1, -1}, s4[2] = {0, -1}, s5[3] = {0, 0, 0},
                         s6[2] = {-2, -12};
    float x[24] = {0};
    op_case c;
    op_init(&c, "Reshape");
    c.in[0] = op_in("x", INFER_DTYPE_F32, 3, d, x);
    c.in[1] = ints_const("shape", 2, s1);
    c.n_in = 2;
    expect_fail(&c, INFER_STATUS_SHAPE, "cannot reshape", "24 elements to [5,-1]");
    c.in[1] = ints_const("shape", 2, s2);
    expect_fail(&c, INFER_STATUS_SHAPE, "cannot reshape", "24 elements to [7,3]");
    c.in[1] = ints_const("shape", 2, s3);
    expect_fail(&c, INFER_STATUS_SHAPE, "-1", "two -1");
    c.in[1] = ints_const("shape", 2, s6);
    expect_fail(&c, INFER_STATUS_SHAPE, "shape", "negative dims other than -1");
    c.in[1] = ints_input("shape", 2, s4);
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "known when the session is created", "run-time shape");
    /* with allowzero = 1, a shape holding both 0 and -1 is invalid */
    c.in[0] = op_in("x", INFER_DTYPE_F32, 2, d2, x);
    c.in[1] = ints_const("shape", 2, s4);
    c.attrs[c.n_attrs++] = infer_attr_int("allowzero", 1);
    expect_fail(&c, INFER_STATUS_SHAPE, "reshape", "allowzero with 0 and -1");
    /* 0 copies a dim, so it needs one to copy */
    c.n_attrs = 0;
    c.in[1] = ints_const("shape", 3, s5);
    expect_fail(&c, INFER_STATUS_SHAPE, "lacks", "0 past the input's rank");
}

/* Flatten: [prod(d[0:axis]), prod(d[axis:])]; axis in [-r, r], default 1. */
static void test_flatten(void) {
    static const view_case cases[] = {
        {4, {2, 3, 4, 5}, -1, {0}, 0, 2, {1, 120}},  {4, {2, 3, 4, 5}, -1, {0}, 1, 2, {2, 60}},
        {4, {2, 3, 4, 5}, -1, {0}, 2, 2, {6, 20}},   {4, {2, 3, 4, 5}, -1, {0}, 4, 2, {120, 1}},
        {4, {2, 3, 4, 5}, -1, {0}, -1, 2, {24, 5}},  {4, {2, 3, 4, 5}, -1, {0}, -4, 2, {1, 120}},
        {4, {2, 3, 4, 5}, -1, {0}, -99, 2, {2, 60}}, {0, {0}, -1, {0}, 0, 2, {1, 1}},
        {1, {1000}, -1, {0}, 1, 2, {1000, 1}},       {3, {7, 0, 3}, -1, {0}, 2, 2, {0, 3}},
        {3, {1, 17, 1}, -1, {0}, -2, 2, {1, 17}},
    };
    static const int64_t d[4] = {2, 3, 4, 5};
    float x[120] = {0};
    op_case c;
    test_seed(302);
    run_view_cases("Flatten", "", "axis", cases, (int)(sizeof cases / sizeof cases[0]));
    op_init(&c, "Flatten");
    c.in[0] = op_in("x", INFER_DTYPE_F32, 4, d, x);
    c.n_in = 1;
    c.attrs[c.n_attrs++] = infer_attr_int("axis", 5);
    expect_fail(&c, INFER_STATUS_SHAPE, "out of range", "Flatten axis 5 of rank 4");
    c.attrs[0] = infer_attr_int("axis", -5);
    expect_fail(&c, INFER_STATUS_SHAPE, "out of range", "Flatten axis -5 of rank 4");
}

/* Squeeze: without axes, every size-1 dim goes; with axes, exactly those (negative
   counts from the back), each of which must have size 1. */
static void test_squeeze(void) {
    static const view_case cases[] = {
        {5, {1, 3, 1, 5, 1}, -1, {0}, -99, 2, {3, 5}},
        {5, {1, 3, 1, 5, 1}, 1, {0}, -99, 4, {3, 1, 5, 1}},
        {5, {1, 3, 1, 5, 1}, 2, {-1, 2}, -99, 3, {1, 3, 5}},
        {5, {1, 3, 1, 5, 1}, 3, {4, 0, -3}, -99, 2, {3, 5}},
        {1, {1}, -1, {0}, -99, 0, {0}},
        {2, {1, 1000}, -1, {0}, -99, 1, {1000}},
        {3, {7, 1, 17}, 1, {1}, -99, 2, {7, 17}},
        {2, {3, 4}, -1, {0}, -99, 2, {3, 4}},
        {3, {1, 0, 1}, -1, {0}, -99, 1, {0}},
    };
    static const int64_t d[3] = {1, 3, 1}, a1[1] = {1}, a3[1] = {3}, a0[1] = {0};
    float x[3] = {0};
    op_case c;
    test_seed(303);
    run_view_cases("Squeeze", "axes", "", cases, (int)(sizeof cases / sizeof cases[0]));
    op_init(&c, "Squeeze");
    c.in[0] = op_in("x", INFER_DTYPE_F32, 3, d, x);
    c.in[1] = ints_const("axes", 1, a1);
    c.n_in = 2;
    expect_fail(&c, INFER_STATUS_SHAPE, "cannot squeeze", "Squeeze a dim of 3");
    c.in[1] = ints_const("axes", 1, a3);
    expect_fail(&c, INFER_STATUS_SHAPE, "out of range", "Squeeze axis 3 of rank 3");
    c.in[1] = ints_input("axes", 1, a0);
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "known when the session is created", "Squeeze run-time axes");
}

/* Unsqueeze: axes index the OUTPUT (rank r + len(axes)); negative counts from its back;
   order does not matter; repeats are an error. */
static void test_unsqueeze(void) {
    static const view_case cases[] = {
        {2, {3, 5}, 1, {0}, -99, 3, {1, 3, 5}},
        {2, {3, 5}, 1, {-1}, -99, 3, {3, 5, 1}},
        {2, {3, 5}, 2, {0, 3}, -99, 4, {1, 3, 5, 1}},
        {2, {3, 5}, 2, {3, 0}, -99, 4, {1, 3, 5, 1}},
        {2, {3, 5}, 2, {1, -2}, -99, 4, {3, 1, 1, 5}},
        {2, {3, 5}, 3, {-1, 1, -5}, -99, 5, {1, 1, 3, 5, 1}},
        {0, {0}, 1, {0}, -99, 1, {1}},
        {0, {0}, 2, {-1, 0}, -99, 2, {1, 1}},
        {1, {1000}, 1, {1}, -99, 2, {1000, 1}},
        {2, {0, 7}, 1, {1}, -99, 3, {0, 1, 7}},
    };
    static const int64_t d[2] = {3, 5}, a00[2] = {0, 0}, a3[1] = {3}, am4[1] = {-4}, a0[1] = {0};
    float x[15] = {0};
    op_case c;
    test_seed(304);
    run_view_cases("Unsqueeze", "axes", "", cases, (int)(sizeof cases / sizeof cases[0]));
    op_init(&c, "Unsqueeze");
    c.in[0] = op_in("x", INFER_DTYPE_F32, 2, d, x);
    c.in[1] = ints_const("axes", 2, a00);
    c.n_in = 2;
    expect_fail(&c, INFER_STATUS_SHAPE, "twice", "Unsqueeze axes [0,0]");
    c.in[1] = ints_const("axes", 1, a3);
    expect_fail(&c, INFER_STATUS_SHAPE, "out of range", "Unsqueeze axis 3 of output rank 3");
    c.in[1] = ints_const("axes", 1, am4);
    expect_fail(&c, INFER_STATUS_SHAPE, "out of range", "Unsqueeze axis -4 of output rank 3");
    c.in[1] = ints_input("axes", 1, a0);
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "known when the session is created", "Unsqueeze run-time axes");
}

static void test_identity(void) {
    static const view_case cases[] = {
        {2, {2, 3}, -1, {0}, -99, 2, {2, 3}},   {0, {0}, -1, {0}, -99, 0, {0}},
        {2, {0, 3}, -1, {0}, -99, 2, {0, 3}},   {1, {1000}, -1, {0}, -99, 1, {1000}},
        {3, {1, 7, 17}, -1, {0}, -99, 3, {1, 7, 17}},
    };
    int rep;
    test_seed(305);
    for (rep = 0; rep < 2; rep++) /* twice, so each case meets more dtypes */
        run_view_cases("Identity", "", "", cases + rep, (int)(sizeof cases / sizeof cases[0]) - rep);
}

/* ===== Transpose ===== */

static int transpose_threads; /* the session's threads (0: 1) */

/* out[i0..] = x[j] with j[perm[k]] = i[k]; the default perm reverses the axes. */
static void transpose_check(infer_dtype t, int r, const int64_t *d, const int64_t *perm, int constant) {
    int64_t n = numel(r, d), dy[MAXD], p[MAXD], idx[MAXD], src_idx[MAXD], *src, i;
    void *x = xcalloc(n, infer_dtype_bytes(t));
    int k;
    op_case c;
    char what[300], b1[160], b2[160];
    for (k = 0; k < r; k++) p[k] = perm ? perm[k] : r - 1 - k;
    for (k = 0; k < r; k++) dy[k] = d[p[k]];
    src = (int64_t *)xcalloc(n, sizeof(int64_t));
    for (i = 0; i < n; i++) {
        unravel(i, r, dy, idx);
        for (k = 0; k < r; k++) src_idx[p[k]] = idx[k];
        src[i] = ravel(r, d, src_idx);
    }
    fill_any(x, t, n);
    op_init(&c, "Transpose");
    c.in[0] = data_in(constant, t, r, d, x);
    c.n_in = 1;
    c.n_threads = transpose_threads;
    if (perm) c.attrs[c.n_attrs++] = infer_attr_ints("perm", perm, (size_t)r);
    snprintf(what, sizeof what, "Transpose %s x%s perm %s%s", infer_dtype_name(t), dstr(b1, r, d),
             perm ? dstr(b2, r, perm) : "(default)", constant ? " (constant)" : "");
    check_moved(&c, what, x, t, r, dy, src, NULL);
    free(src);
    free(x);
}

/* Ranks 1..6, default and random perms, all the dtypes. */
static void test_transpose(void) {
    int r, rep, k, n = 0;
    test_seed(401);
    for (r = 1; r <= 6; r++)
        for (rep = 0; rep < 6; rep++, n++) {
            int64_t d[MAXD], perm[MAXD];
            for (k = 0; k < r; k++) d[k] = test_int(1, r <= 3 ? 5 : 3);
            for (k = 0; k < r; k++) perm[k] = k;
            for (k = r - 1; k > 0; k--) { /* Fisher-Yates */
                int j = (int)test_int(0, k);
                int64_t tmp = perm[k];
                perm[k] = perm[j], perm[j] = tmp;
            }
            transpose_check(move_types[n % N_MOVE_TYPES], r, d, rep == 0 ? NULL : perm, rep == 5);
        }
}

static void test_transpose_odd_sizes(void) {
    static const int64_t d1[2] = {1000, 3}, d2[3] = {7, 1, 17}, d3[2] = {0, 5}, p10[2] = {1, 0}, p201[3] = {2, 0, 1},
                         d4[1] = {17}, p0[1] = {0};
    test_seed(402);
    transpose_check(INFER_DTYPE_F32, 2, d1, p10, 0);
    transpose_check(INFER_DTYPE_U8, 2, d1, NULL, 1);
    transpose_check(INFER_DTYPE_I64, 3, d2, p201, 0);
    transpose_check(INFER_DTYPE_F16, 3, d2, NULL, 0);
    transpose_check(INFER_DTYPE_BOOL, 2, d3, p10, 0);
    transpose_check(INFER_DTYPE_F32, 1, d4, p0, 0);
    transpose_check(INFER_DTYPE_F32, 0, NULL, NULL, 0); /* a scalar */
}

/* Sizes where the 4-byte kernel copies whole rows or transposes 8x8 blocks (attention's
   (0,2,1,3) and (0,2,3,1), a matrix, axes that merge), with block edges, 1 and 2 threads,
   and the dtypes it leaves to the reference */
static void test_transpose_blocks(void) {
    static const int64_t d4[4] = {2, 17, 3, 20}, d4b[4] = {2, 64, 6, 48}, d2[2] = {9, 33}, d3[3] = {3, 16, 8},
                         d5[5] = {2, 1, 8, 3, 9}, p0213[4] = {0, 2, 1, 3}, p0231[4] = {0, 2, 3, 1},
                         p10[2] = {1, 0}, p201[3] = {2, 0, 1}, p12[3] = {0, 2, 1}, p5[5] = {3, 4, 1, 0, 2};
    static const infer_dtype types[4] = {INFER_DTYPE_F32, INFER_DTYPE_I32, INFER_DTYPE_U8, INFER_DTYPE_I64};
    int th, k;
    test_seed(403);
    for (th = 1; th <= 2; th++) {
        transpose_threads = th;
        for (k = 0; k < 4; k++) {
            transpose_check(types[k], 4, d4, p0213, 0);
            transpose_check(types[k], 4, d4, p0231, 0);
            transpose_check(types[k], 2, d2, p10, 0);
        }
        transpose_check(INFER_DTYPE_F32, 4, d4b, p0231, 0);
        transpose_check(INFER_DTYPE_F32, 4, d4b, p0213, 0);
        transpose_check(INFER_DTYPE_F32, 3, d3, p201, 0);
        transpose_check(INFER_DTYPE_F32, 3, d3, p12, 0);
        transpose_check(INFER_DTYPE_I32, 5, d5, p5, 0);
    }
    transpose_threads = 0;
}

static void test_transpose_errors(void) {
    static const int64_t d[3] = {2, 3, 4}, p_dup[3] = {0, 0, 1}, p_big[3] = {0, 3, 1}, p_neg[3] = {-1, 0, 1},
                         p_short[2] = {1, 0};
    float x[24] = {0};
    op_case c;
    op_init(&c, "Transpose");
    c.in[0] = op_in("x", INFER_DTYPE_F32, 3, d, x);
    c.n_in = 1;
    c.attrs[0] = infer_attr_ints("perm", p_dup, 3);
    c.n_attrs = 1;
    expect_fail(&c, INFER_STATUS_SHAPE, "perm", "perm [0,0,1]");
    c.attrs[0] = infer_attr_ints("perm", p_big, 3);
    expect_fail(&c, INFER_STATUS_SHAPE, "perm", "perm [0,3,1]");
    c.attrs[0] = infer_attr_ints("perm", p_neg, 3);
    expect_fail(&c, INFER_STATUS_SHAPE, "perm", "perm [-1,0,1]");
    c.attrs[0] = infer_attr_ints("perm", p_short, 2);
    expect_fail(&c, INFER_STATUS_SHAPE, "perm", "perm of length 2 for rank 3");
}

/* ===== Concat ===== */

/* n inputs of dims ds[k] (equal off the axis) along `axis`; input k is a constant when
   bit k of const_mask is set. */
static void concat_check(infer_dtype t, int r, int n, const int64_t (*ds)[MAXD], int axis_attr, unsigned const_mask) {
    static const char *const names[4] = {"a", "b", "c", "d"};
    int axis = axis_attr < 0 ? axis_attr + r : axis_attr, k;
    size_t esz = infer_dtype_bytes(t);
    int64_t dy[MAXD], base[4], total = 0, i, idx[MAXD], *src, n_out;
    uint8_t *all;
    op_case c;
    char what[200], b[160];
    memcpy(dy, ds[0], sizeof dy);
    dy[axis] = 0;
    for (k = 0; k < n; k++) {
        base[k] = total;
        total += numel(r, ds[k]);
        dy[axis] += ds[k][axis];
    }
    all = (uint8_t *)xcalloc(total, esz); /* every input's data, one after another */
    fill_any(all, t, total);
    n_out = numel(r, dy);
    src = (int64_t *)xcalloc(n_out, sizeof(int64_t));
    for (i = 0; i < n_out; i++) { /* the input whose range on the axis holds the index */
        int64_t at;
        unravel(i, r, dy, idx);
        at = idx[axis];
        for (k = 0; at >= ds[k][axis]; k++) at -= ds[k][axis];
        idx[axis] = at;
        src[i] = base[k] + ravel(r, ds[k], idx);
    }
    op_init(&c, "Concat");
    for (k = 0; k < n; k++)
        c.in[k] = (const_mask >> k & 1) ? op_const(names[k], t, r, ds[k], all + base[k] * (int64_t)esz)
                                        : op_in(names[k], t, r, ds[k], all + base[k] * (int64_t)esz);
    c.n_in = n;
    c.attrs[c.n_attrs++] = infer_attr_int("axis", axis_attr);
    snprintf(what, sizeof what, "Concat %s %d inputs -> %s axis %d const mask %u", infer_dtype_name(t), n,
             dstr(b, r, dy), axis_attr, const_mask);
    check_moved(&c, what, all, t, r, dy, src, NULL);
    free(src);
    free(all);
}

/* Negative axis, an input with 0 on the axis, mixed constant and run-time inputs. */
static void test_concat(void) {
    static const int64_t a[3][MAXD] = {{2, 3, 4}, {2, 5, 4}, {2, 0, 4}};
    static const int64_t b[3][MAXD] = {{1, 3}, {7, 3}, {17, 3}};
    static const int64_t e[2][MAXD] = {{2, 0}, {2, 0}};
    static const int64_t o[2][MAXD] = {{1000}, {1}};
    static const int64_t s[1][MAXD] = {{3, 4}};
    int ti;
    test_seed(501);
    for (ti = 0; ti < N_MOVE_TYPES; ti++) {
        infer_dtype t = move_types[ti];
        concat_check(t, 3, 3, a, 1, 0);
        concat_check(t, 3, 3, a, -2, 2);
        concat_check(t, 2, 3, b, 0, ti == 0 ? 7u : 1u); /* 7: all constant, folded */
        concat_check(t, 2, 3, b, -2, 0);
    }
    concat_check(INFER_DTYPE_F32, 2, 2, e, 1, 0); /* every input empty */
    concat_check(INFER_DTYPE_F32, 2, 2, e, 0, 0);
    concat_check(INFER_DTYPE_I64, 1, 2, o, 0, 0);
    concat_check(INFER_DTYPE_U8, 2, 1, s, 1, 0); /* one input */
}

static void test_concat_errors(void) {
    static const int64_t d1[2] = {2, 3}, d2[2] = {3, 3}, d3[3] = {2, 3, 1};
    float x[9] = {0};
    int64_t xi[9] = {0};
    op_case c;
    op_init(&c, "Concat");
    c.in[0] = op_in("a", INFER_DTYPE_F32, 2, d1, x);
    c.in[1] = op_in("b", INFER_DTYPE_F32, 2, d2, x);
    c.n_in = 2;
    c.attrs[c.n_attrs++] = infer_attr_int("axis", 1);
    expect_fail(&c, INFER_STATUS_SHAPE, "differ", "[2,3] and [3,3] on axis 1");
    c.attrs[0] = infer_attr_int("axis", 2);
    expect_fail(&c, INFER_STATUS_SHAPE, "out of range", "axis 2 of rank 2");
    c.attrs[0] = infer_attr_int("axis", -3);
    expect_fail(&c, INFER_STATUS_SHAPE, "out of range", "axis -3 of rank 2");
    c.attrs[0] = infer_attr_int("axis", 0);
    c.in[1] = op_in("b", INFER_DTYPE_F32, 3, d3, x);
    expect_fail(&c, INFER_STATUS_SHAPE, "rank", "rank 2 and rank 3");
    c.in[1] = op_in("b", INFER_DTYPE_I64, 2, d1, xi);
    expect_fail(&c, INFER_STATUS_SHAPE, "dtype", "f32 and i64");
}

/* ===== Split ===== */

/* Splits x (dims d) along axis into pieces of `sizes` (the expectation); `split` gives the
   split input (n_split < 0: absent) and num (<= 0: no num_outputs attribute). */
static void split_check(infer_dtype t, int r, const int64_t *d, int axis_attr, int n_out, const int64_t *sizes,
                        int n_split, const int64_t *split, int num, int constant) {
    int axis = axis_attr < 0 ? axis_attr + r : axis_attr, k;
    int64_t n = numel(r, d), off = 0;
    size_t esz = infer_dtype_bytes(t);
    void *x = xcalloc(n, esz);
    op_case c;
    char what[200], b[160], bs[160];
    fill_any(x, t, n);
    op_init(&c, "Split");
    c.in[c.n_in++] = data_in(constant, t, r, d, x);
    if (n_split >= 0) c.in[c.n_in++] = ints_const("split", n_split, split);
    c.attrs[c.n_attrs++] = infer_attr_int("axis", axis_attr);
    if (num > 0) c.attrs[c.n_attrs++] = infer_attr_int("num_outputs", num);
    c.n_out = n_out;
    snprintf(what, sizeof what, "Split %s x%s axis %d into %s%s", infer_dtype_name(t), dstr(b, r, d), axis_attr,
             dstr(bs, n_out, sizes), constant ? " (constant)" : "");
    if (run_ok(&c, what))
        for (k = 0; k < n_out; k++) { /* output k: the input's [off, off + sizes[k]) on the axis */
            int64_t dy[MAXD], idx[MAXD], m, i, *src;
            void *want;
            memcpy(dy, d, sizeof(int64_t) * (size_t)r);
            dy[axis] = sizes[k];
            m = numel(r, dy);
            src = (int64_t *)xcalloc(m, sizeof(int64_t));
            for (i = 0; i < m; i++) {
                unravel(i, r, dy, idx);
                idx[axis] += off;
                src[i] = ravel(r, d, idx);
            }
            want = pick_bytes(x, src, m, esz, NULL);
            if (out_is(&c, k, t, r, dy, what)) same_bytes(what, c.out[k].data, want, m, esz);
            off += sizes[k];
            free(src);
            free(want);
        }
    op_free(&c);
    free(x);
}

/* The split input (incl. a 0 size); num_outputs with an even split and with the last
   chunk smaller (ceil(d / n) each, ONNX Split-18); no split and no num_outputs: equal
   parts, one per output. */
static void test_split(void) {
    static const int64_t d[3] = {2, 10, 3}, s307[3] = {3, 0, 7}, s442[3] = {4, 4, 2}, s55[2] = {5, 5},
                         d7[2] = {7, 3}, s2221[4] = {2, 2, 2, 1}, d17[2] = {3, 17}, s665[3] = {6, 6, 5},
                         d8[1] = {8}, s44[2] = {4, 4}, d9[2] = {9, 2}, s333[3] = {3, 3, 3}, d1000[1] = {1000},
                         s1000[3] = {1, 999, 0}, s1[1] = {10}, s10[1] = {10};
    int ti;
    test_seed(601);
    for (ti = 0; ti < N_MOVE_TYPES; ti++) {
        infer_dtype t = move_types[ti];
        split_check(t, 3, d, 1, 3, s307, 3, s307, 0, ti == 1);
        split_check(t, 3, d, -2, 3, s442, -1, NULL, 3, 0);
        split_check(t, 2, d7, 0, 4, s2221, -1, NULL, 4, ti == 2);
        split_check(t, 2, d17, -1, 3, s665, -1, NULL, 3, 0);
    }
    split_check(INFER_DTYPE_F32, 1, d8, 0, 2, s44, -1, NULL, 2, 0);
    split_check(INFER_DTYPE_F32, 3, d, 1, 2, s55, -1, NULL, 2, 0);
    split_check(INFER_DTYPE_I64, 2, d9, 0, 3, s333, -1, NULL, -1, 0); /* neither: equal parts */
    split_check(INFER_DTYPE_U8, 1, d1000, 0, 3, s1000, 3, s1000, 0, 0);
    split_check(INFER_DTYPE_F32, 3, d, 1, 1, s1, 1, s10, 0, 0); /* one output */
}

static void test_split_errors(void) {
    static const int64_t d[2] = {10, 3}, s33[2] = {3, 3}, s55[2] = {5, 5}, s[3] = {3, 3, 4};
    float x[30] = {0};
    op_case c;
    op_init(&c, "Split");
    c.in[0] = op_in("x", INFER_DTYPE_F32, 2, d, x);
    c.in[1] = ints_const("split", 2, s33);
    c.n_in = 2;
    c.n_out = 2;
    expect_fail(&c, INFER_STATUS_SHAPE, "sum", "sizes 3+3 for 10");
    c.in[1] = ints_const("split", 3, s);
    expect_fail(&c, INFER_STATUS_SHAPE, "split", "3 sizes for 2 outputs");
    c.in[1] = ints_input("split", 2, s55);
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "known when the session is created", "run-time split");
    c.in[1] = ints_const("split", 2, s55);
    c.attrs[c.n_attrs++] = infer_attr_int("axis", 2);
    expect_fail(&c, INFER_STATUS_SHAPE, "out of range", "axis 2 of rank 2");
    c.n_in = 1;
    c.n_out = 3;
    c.attrs[0] = infer_attr_int("num_outputs", 2);
    expect_fail(&c, INFER_STATUS_SHAPE, "num_outputs", "num_outputs 2 with 3 outputs");
    c.n_attrs = 0; /* neither split nor num_outputs, and 10 does not split into 3 */
    expect_fail(&c, INFER_STATUS_SHAPE, "evenly", "10 into 3 equal parts");
}

/* ===== Slice ===== */

/* The ONNX rule for one axis of d: negative starts/ends get d added; then for step > 0
   both clamp into [0, d]; for step < 0 the start clamps into [0, d-1] and the end into
   [-1, d-1]. The slice is start, start + step, ... while short of the end. */
static int64_t slice_axis(int64_t d, int64_t start, int64_t end, int64_t step, int64_t *first) {
    int64_t n;
    if (start < 0) start += d; /* no overflow: d >= 0 */
    if (end < 0) end += d;
    if (step > 0) {
        start = start < 0 ? 0 : start > d ? d : start;
        end = end < 0 ? 0 : end > d ? d : end;
        n = end > start ? (end - start + step - 1) / step : 0;
    } else {
        start = start < 0 ? 0 : start > d - 1 ? d - 1 : start;
        end = end < -1 ? -1 : end > d - 1 ? d - 1 : end;
        n = start > end ? (start - end - step - 1) / -step : 0;
    }
    *first = start;
    return d > 0 ? n : 0;
}

typedef struct slice_case {
    int r;
    int64_t d[MAXD];
    int n;                  /* length of starts / ends */
    int64_t starts[MAXD], ends[MAXD], axes[MAXD], steps[MAXD];
    int has_axes, has_steps;
    infer_dtype index_t;    /* i64 or i32 for starts/ends/axes/steps */
} slice_case;

static op_input slice_param(const char *name, infer_dtype t, int n, const int64_t *v, int32_t *tmp) {
    int64_t d[1];
    int i;
    d[0] = n;
    if (t == INFER_DTYPE_I64) return op_const(name, t, 1, d, v);
    for (i = 0; i < n; i++) tmp[i] = v[i] > INT32_MAX ? INT32_MAX : v[i] < INT32_MIN ? INT32_MIN : (int32_t)v[i];
    return op_const(name, t, 1, d, tmp);
}

static void slice_check(const slice_case *s, infer_dtype t, int constant) {
    int64_t first[MAXD], step[MAXD], dy[MAXD], idx[MAXD], n, m, i, *src;
    int32_t tmp[4][MAXD];
    int k;
    void *x;
    op_case c;
    char what[400], b1[160], b2[160], b3[160], b4[160], b5[160], b6[160];
    for (k = 0; k < s->r; k++) first[k] = 0, step[k] = 1, dy[k] = s->d[k];
    for (k = 0; k < s->n; k++) {
        int64_t a = s->has_axes ? s->axes[k] : k, st = s->has_steps ? s->steps[k] : 1;
        int64_t lo = s->starts[k], hi = s->ends[k];
        if (a < 0) a += s->r;
        if (s->index_t == INFER_DTYPE_I32) { /* the values as the op sees them */
            lo = lo > INT32_MAX ? INT32_MAX : lo < INT32_MIN ? INT32_MIN : lo;
            hi = hi > INT32_MAX ? INT32_MAX : hi < INT32_MIN ? INT32_MIN : hi;
        }
        dy[a] = slice_axis(s->d[a], lo, hi, st, &first[a]);
        step[a] = st;
    }
    n = numel(s->r, s->d);
    m = numel(s->r, dy);
    src = (int64_t *)xcalloc(m, sizeof(int64_t));
    for (i = 0; i < m; i++) {
        unravel(i, s->r, dy, idx);
        for (k = 0; k < s->r; k++) idx[k] = first[k] + idx[k] * step[k];
        src[i] = ravel(s->r, s->d, idx);
    }
    x = xcalloc(n, infer_dtype_bytes(t));
    fill_any(x, t, n);
    op_init(&c, "Slice");
    c.in[0] = data_in(constant, t, s->r, s->d, x);
    c.in[1] = slice_param("starts", s->index_t, s->n, s->starts, tmp[0]);
    c.in[2] = slice_param("ends", s->index_t, s->n, s->ends, tmp[1]);
    c.n_in = 3;
    if (s->has_axes) c.in[3] = slice_param("axes", s->index_t, s->n, s->axes, tmp[2]), c.n_in = 4;
    if (s->has_steps) {
        if (!s->has_axes) c.in[3] = op_absent();
        c.in[4] = slice_param("steps", s->index_t, s->n, s->steps, tmp[3]);
        c.n_in = 5;
    }
    snprintf(what, sizeof what, "Slice %s x%s starts %s ends %s axes %s steps %s (%s)%s -> %s", infer_dtype_name(t),
             dstr(b1, s->r, s->d), dstr(b2, s->n, s->starts), dstr(b3, s->n, s->ends),
             s->has_axes ? dstr(b4, s->n, s->axes) : "-", s->has_steps ? dstr(b5, s->n, s->steps) : "-",
             infer_dtype_name(s->index_t), constant ? " constant" : "", dstr(b6, s->r, dy));
    check_moved(&c, what, x, t, s->r, dy, src, NULL);
    free(src);
    free(x);
}

/* A start or end near the interesting edges of an axis of d. */
static int64_t slice_bound(int64_t d) {
    switch (test_int(0, 9)) {
    case 0: return INT64_MAX;
    case 1: return INT64_MIN;
    case 2: return -d - 1 - test_int(0, 3); /* before the start */
    case 3: return d + test_int(0, 3);      /* past the end */
    default: return test_int(-d, d);
    }
}

/* Random starts/ends/axes/steps (negative values, out-of-range values, INT64_MAX/MIN,
   negative steps) against the ONNX rule above. */
static void test_slice_random(void) {
    static const int64_t shapes[5][3] = {{5, 7, 4}, {17, 3, 0}, {1000, 0, 0}, {1, 6, 0}, {4, 0, 3}};
    static const int ranks[5] = {3, 2, 1, 2, 3};
    int iter;
    test_seed(701);
    for (iter = 0; iter < 200; iter++) {
        slice_case s;
        int sh = iter % 5, k, perm[MAXD];
        memset(&s, 0, sizeof s);
        s.r = ranks[sh];
        memcpy(s.d, shapes[sh], sizeof shapes[sh]);
        s.n = (int)test_int(1, s.r);
        s.has_axes = iter % 4 != 1;
        s.has_steps = iter % 5 != 2;
        s.index_t = iter % 6 == 3 ? INFER_DTYPE_I32 : INFER_DTYPE_I64;
        for (k = 0; k < s.r; k++) perm[k] = k;
        for (k = s.r - 1; k > 0 && s.has_axes; k--) { /* axes in any order */
            int j = (int)test_int(0, k), tmp = perm[k];
            perm[k] = perm[j], perm[j] = tmp;
        }
        for (k = 0; k < s.n; k++) {
            int64_t d = s.d[perm[k]];
            s.axes[k] = test_int(0, 1) ? perm[k] - s.r : perm[k];
            s.starts[k] = slice_bound(d);
            s.ends[k] = slice_bound(d);
            s.steps[k] = s.has_steps ? (test_int(0, 1) ? 1 : -1) * test_int(1, 3) : 1;
        }
        slice_check(&s, move_types[iter % N_MOVE_TYPES], iter % 7 == 0);
    }
}

/* x = 0..9 (i64), with results written by hand. */
static void test_slice_clamp(void) {
    static const int64_t d[1] = {10};
    static const struct {
        int64_t start, end, step;
        int n;
        int64_t want[10];
    } cases[] = {
        {2, 8, 3, 2, {2, 5}},
        {-1, INT64_MIN, -1, 10, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
        {INT64_MAX, INT64_MIN, -2, 5, {9, 7, 5, 3, 1}},
        {INT64_MIN, INT64_MAX, 4, 3, {0, 4, 8}},
        {5, 2, 1, 0, {0}},
        {2, 5, -1, 0, {0}},
        {-100, 100, 1, 10, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
        {-3, -1, 1, 2, {7, 8}},
        {8, 1, -3, 3, {8, 5, 2}},
        {3, -20, -1, 4, {3, 2, 1, 0}},
        {-20, INT64_MIN, -1, 1, {0}}, /* start clamps into [0, d-1] for a negative step */
        {12, 20, 1, 0, {0}},
        {INT64_MAX, 7, -1, 2, {9, 8}},
        {3, 10, INT64_MAX, 1, {3}},         /* huge steps: one element */
        {9, INT64_MIN, INT64_MIN, 1, {9}},
        {0, 0, INT64_MIN, 0, {0}},
    };
    int64_t x[10];
    size_t i;
    for (i = 0; i < 10; i++) x[i] = (int64_t)i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        op_case c;
        int64_t dy[1];
        char what[128];
        dy[0] = cases[i].n;
        op_init(&c, "Slice");
        c.in[0] = op_in("x", INFER_DTYPE_I64, 1, d, x);
        c.in[1] = ints_const("starts", 1, &cases[i].start);
        c.in[2] = ints_const("ends", 1, &cases[i].end);
        c.in[3] = op_absent();
        c.in[4] = ints_const("steps", 1, &cases[i].step);
        c.n_in = 5;
        snprintf(what, sizeof what, "x[%lld:%lld:%lld]", (long long)cases[i].start, (long long)cases[i].end,
                 (long long)cases[i].step);
        if (run_ok(&c, what) && out_is(&c, 0, INFER_DTYPE_I64, 1, dy, what))
            same_bytes(what, c.out[0].data, cases[i].want, cases[i].n, sizeof(int64_t));
        op_free(&c);
    }
}

static void test_slice_errors(void) {
    static const int64_t d[2] = {4, 5}, z[1] = {0}, e[1] = {3}, s0[1] = {0}, a2[1] = {2}, z2[2] = {0, 0},
                         o2[2] = {1, 1}, a00[2] = {1, -1};
    float x[20] = {0};
    op_case c;
    op_init(&c, "Slice");
    c.in[0] = op_in("x", INFER_DTYPE_F32, 2, d, x);
    c.in[1] = ints_const("starts", 1, z);
    c.in[2] = ints_const("ends", 1, e);
    c.in[3] = op_absent();
    c.in[4] = ints_const("steps", 1, s0);
    c.n_in = 5;
    expect_fail(&c, INFER_STATUS_SHAPE, "step 0", "step 0");
    c.in[4] = ints_const("steps", 1, e);
    c.in[3] = ints_const("axes", 1, a2);
    expect_fail(&c, INFER_STATUS_SHAPE, "out of range", "axis 2 of rank 2");
    c.in[3] = ints_const("axes", 2, a00);
    c.in[1] = ints_const("starts", 2, z2);
    c.in[2] = ints_const("ends", 2, z2);
    c.in[4] = ints_const("steps", 2, o2);
    expect_fail(&c, INFER_STATUS_SHAPE, "twice", "axes [1,-1]");
    c.n_in = 3;
    c.in[1] = ints_const("starts", 1, z);
    expect_fail(&c, INFER_STATUS_SHAPE, "length", "1 start, 2 ends");
    /* every parameter input sets the shape: each must be a constant */
    c.in[2] = ints_const("ends", 1, e);
    c.in[1] = ints_input("starts", 1, z);
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "known when the session is created", "run-time starts");
    c.in[1] = ints_const("starts", 1, z);
    c.in[2] = ints_input("ends", 1, e);
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "known when the session is created", "run-time ends");
    c.in[2] = ints_const("ends", 1, e);
    c.in[3] = ints_input("axes", 1, z);
    c.n_in = 4;
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "known when the session is created", "run-time axes");
    c.in[3] = ints_const("axes", 1, z);
    c.in[4] = ints_input("steps", 1, e);
    c.n_in = 5;
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "known when the session is created", "run-time steps");
}

/* ===== Gather ===== */

/* out[pre, j.., post] = x[pre, indices[j..] (+ d[axis] if negative), post]. The indices
   are i64 or i32; with idx_const they are a model constant. */
static void gather_check(infer_dtype t, int r, const int64_t *d, int axis_attr, infer_dtype it, int ri,
                         const int64_t *di, const int64_t *ix, int idx_const, int constant) {
    int axis = axis_attr == -99 ? 0 : axis_attr < 0 ? axis_attr + r : axis_attr, ry = 0, k;
    int64_t dy[MAXD], idx[MAXD], sidx[MAXD], iidx[MAXD], n = numel(r, d), ni = numel(ri, di), m, i, *src;
    int32_t ix32[64];
    size_t esz = infer_dtype_bytes(t);
    void *x = xcalloc(n, esz);
    op_case c;
    char what[300], b1[160], b2[160];
    for (k = 0; k < axis; k++) dy[ry++] = d[k];
    for (k = 0; k < ri; k++) dy[ry++] = di[k];
    for (k = axis + 1; k < r; k++) dy[ry++] = d[k];
    m = numel(ry, dy);
    src = (int64_t *)xcalloc(m, sizeof(int64_t));
    for (i = 0; i < m; i++) {
        int64_t j;
        unravel(i, ry, dy, idx);
        for (k = 0; k < ri; k++) iidx[k] = idx[axis + k];
        j = ix[ravel(ri, di, iidx)];
        for (k = 0; k < r; k++) sidx[k] = k < axis ? idx[k] : k == axis ? (j < 0 ? j + d[axis] : j) : idx[k - 1 + ri];
        src[i] = ravel(r, d, sidx);
    }
    for (i = 0; i < ni && i < 64; i++) ix32[i] = (int32_t)ix[i];
    fill_any(x, t, n);
    op_init(&c, "Gather");
    c.in[0] = data_in(constant, t, r, d, x);
    c.in[1] = idx_const ? op_const("indices", it, ri, di, it == INFER_DTYPE_I64 ? (const void *)ix : (const void *)ix32)
                        : op_in("indices", it, ri, di, it == INFER_DTYPE_I64 ? (const void *)ix : (const void *)ix32);
    c.n_in = 2;
    if (axis_attr != -99) c.attrs[c.n_attrs++] = infer_attr_int("axis", axis_attr);
    snprintf(what, sizeof what, "Gather %s x%s axis %d indices %s %s%s%s", infer_dtype_name(t), dstr(b1, r, d),
             axis_attr, infer_dtype_name(it), dstr(b2, (int)(ni < 16 ? ni : 16), ix), idx_const ? " (constant)" : "",
             constant ? " data constant" : "");
    check_moved(&c, what, x, t, ry, dy, src, NULL);
    free(src);
    free(x);
}

/* Axis (default 0, negative), negative indices, i32 and i64 indices, a scalar index (the
   axis disappears), 2-D indices, no indices. */
static void test_gather(void) {
    static const int64_t d[2] = {5, 4}, d3[3] = {2, 5, 3}, d1000[1] = {1000}, di3[1] = {3}, di22[2] = {2, 2},
                         di0[1] = {0}, di7[1] = {7};
    static const int64_t ix3[3] = {0, -1, 2}, ix22[4] = {-4, 3, 0, 1}, ix_s[1] = {3}, ix7[7] = {999, 0, -1000, 17,
                                                                                                  -1, 500, 1};
    int ti;
    test_seed(801);
    for (ti = 0; ti < N_MOVE_TYPES; ti++) {
        infer_dtype t = move_types[ti];
        gather_check(t, 2, d, -99, INFER_DTYPE_I64, 1, di3, ix3, ti % 2, 0);
        gather_check(t, 2, d, 1, INFER_DTYPE_I32, 2, di22, ix22, 0, ti == 3);
        gather_check(t, 3, d3, -1, INFER_DTYPE_I64, 1, di3, ix3, 1, 0);
        gather_check(t, 3, d3, 1, INFER_DTYPE_I32, 0, NULL, ix_s, ti % 2, 0); /* scalar index */
    }
    gather_check(INFER_DTYPE_F32, 3, d3, -2, INFER_DTYPE_I64, 2, di22, ix22, 0, 0);
    gather_check(INFER_DTYPE_F32, 2, d, 0, INFER_DTYPE_I64, 1, di0, ix3, 0, 0); /* no indices */
    gather_check(INFER_DTYPE_I64, 1, d1000, 0, INFER_DTYPE_I64, 1, di7, ix7, 0, 0);
    gather_check(INFER_DTYPE_U8, 1, d1000, -1, INFER_DTYPE_I32, 1, di7, ix7, 1, 1); /* folded */
}

/* An index outside [-d, d-1] comes from the caller's data: infer_run must return an error,
   not read out of bounds. */
static void test_gather_out_of_range(void) {
    static const int64_t d[2] = {5, 4}, di[1] = {2};
    static const int64_t bad[4][2] = {{0, 5}, {-6, 1}, {INT64_MAX, 0}, {INT64_MIN, 0}};
    int32_t bad32[2] = {5, 0};
    float x[20] = {0};
    op_case c;
    int i;
    for (i = 0; i < 4; i++) {
        op_init(&c, "Gather");
        c.in[0] = op_in("x", INFER_DTYPE_F32, 2, d, x);
        c.in[1] = op_in("indices", INFER_DTYPE_I64, 1, di, bad[i]);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_INVALID_ARGUMENT, "out of range", "Gather index out of range");
    }
    op_init(&c, "Gather");
    c.in[0] = op_in("x", INFER_DTYPE_F32, 2, d, x);
    c.in[1] = op_in("indices", INFER_DTYPE_I32, 1, di, bad32);
    c.n_in = 2;
    c.attrs[c.n_attrs++] = infer_attr_int("axis", 1); /* axis 1 has 4: index 5 is out */
    expect_fail(&c, INFER_STATUS_INVALID_ARGUMENT, "out of range", "Gather i32 index 5 on axis of 4");
    /* with everything constant the node is folded, so the error comes at creation */
    op_init(&c, "Gather");
    c.in[0] = op_const("x", INFER_DTYPE_F32, 2, d, x);
    c.in[1] = op_const("indices", INFER_DTYPE_I64, 1, di, bad[0]);
    c.n_in = 2;
    CHECK(op_run(&c) != INFER_STATUS_OK);
    op_free(&c);
    op_init(&c, "Gather");
    c.in[0] = op_in("x", INFER_DTYPE_F32, 2, d, x);
    c.in[1] = op_in("indices", INFER_DTYPE_I64, 1, di, bad[0]);
    c.n_in = 2;
    c.attrs[c.n_attrs++] = infer_attr_int("axis", 2);
    expect_fail(&c, INFER_STATUS_SHAPE, "out of range", "Gather axis 2 of rank 2");
}

/* ===== Expand, Tile ===== */

/* Expand: the output is the numpy broadcast of x's dims and `shape` (either side may hold
   the 1s); wr/w is that broadcast, written by hand. */
static void expand_check(infer_dtype t, int r, const int64_t *d, int ns, const int64_t *shape, int wr, const int64_t *w,
                         int constant) {
    int64_t n = numel(r, d), m = numel(wr, w), idx[MAXD], sidx[MAXD], i, *src;
    void *x = xcalloc(n, infer_dtype_bytes(t));
    int k;
    op_case c;
    char what[300], b1[160], b2[160];
    src = (int64_t *)xcalloc(m, sizeof(int64_t));
    for (i = 0; i < m; i++) {
        unravel(i, wr, w, idx);
        for (k = 0; k < r; k++) sidx[k] = d[k] == 1 ? 0 : idx[wr - r + k]; /* x aligned to the right */
        src[i] = ravel(r, d, sidx);
    }
    fill_any(x, t, n);
    op_init(&c, "Expand");
    c.in[0] = data_in(constant, t, r, d, x);
    c.in[1] = ints_const("shape", ns, shape);
    c.n_in = 2;
    snprintf(what, sizeof what, "Expand %s x%s shape %s%s", infer_dtype_name(t), dstr(b1, r, d), dstr(b2, ns, shape),
             constant ? " (constant)" : "");
    check_moved(&c, what, x, t, wr, w, src, NULL);
    free(src);
    free(x);
}

static void test_expand(void) {
    static const struct {
        int r;
        int64_t d[4];
        int ns;
        int64_t s[4];
        int wr;
        int64_t w[4];
    } cases[] = {
        {2, {3, 1}, 3, {2, 1, 4}, 3, {2, 3, 4}},      /* both sides have 1s */
        {2, {1, 4}, 2, {3, 1}, 2, {3, 4}},
        {2, {2, 3}, 1, {3}, 2, {2, 3}},               /* a shorter shape */
        {3, {2, 1, 3}, 4, {1, 1, 1, 1}, 4, {1, 2, 1, 3}},
        {0, {0}, 2, {2, 2}, 2, {2, 2}},                /* a scalar */
        {1, {1}, 1, {1000}, 1, {1000}},
        {2, {7, 1}, 2, {7, 17}, 2, {7, 17}},
        {2, {1, 3}, 3, {0, 1, 3}, 3, {0, 1, 3}},       /* to an empty tensor */
        {2, {2, 3}, 0, {0}, 2, {2, 3}},                /* an empty shape changes nothing */
        {3, {2, 1, 3}, 3, {2, 4, 3}, 3, {2, 4, 3}},
        {4, {3, 1, 2, 1}, 4, {1, 4, 1, 5}, 4, {3, 4, 2, 5}},
    };
    int i, ti;
    test_seed(901);
    for (i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++)
        for (ti = 0; ti < N_MOVE_TYPES; ti += 2)
            expand_check(move_types[(ti + i) % N_MOVE_TYPES], cases[i].r, cases[i].d, cases[i].ns, cases[i].s,
                         cases[i].wr, cases[i].w, ti == 2);
}

static void test_expand_errors(void) {
    static const int64_t d[2] = {2, 3}, s1[2] = {4, 3}, s2[1] = {2}, s3[2] = {2, 3};
    float x[6] = {0};
    op_case c;
    op_init(&c, "Expand");
    c.in[0] = op_in("x", INFER_DTYPE_F32, 2, d, x);
    c.in[1] = ints_const("shape", 2, s1);
    c.n_in = 2;
    expect_fail(&c, INFER_STATUS_SHAPE, "broadcast", "[2,3] to [4,3]");
    c.in[1] = ints_const("shape", 1, s2);
    expect_fail(&c, INFER_STATUS_SHAPE, "broadcast", "[2,3] to [2]");
    c.in[1] = ints_input("shape", 2, s3);
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "known when the session is created", "run-time shape");
}

/* Tile: dims d[i] * repeats[i]; out[i..] = x[i % d]. */
static void tile_check(infer_dtype t, int r, const int64_t *d, const int64_t *rep, int constant) {
    int64_t n = numel(r, d), dy[MAXD], idx[MAXD], m, i, *src;
    void *x = xcalloc(n, infer_dtype_bytes(t));
    int k;
    op_case c;
    char what[300], b1[160], b2[160];
    for (k = 0; k < r; k++) dy[k] = d[k] * rep[k];
    m = numel(r, dy);
    src = (int64_t *)xcalloc(m, sizeof(int64_t));
    for (i = 0; i < m; i++) {
        unravel(i, r, dy, idx);
        for (k = 0; k < r; k++) idx[k] %= d[k];
        src[i] = ravel(r, d, idx);
    }
    fill_any(x, t, n);
    op_init(&c, "Tile");
    c.in[0] = data_in(constant, t, r, d, x);
    c.in[1] = ints_const("repeats", r, rep);
    c.n_in = 2;
    snprintf(what, sizeof what, "Tile %s x%s repeats %s%s", infer_dtype_name(t), dstr(b1, r, d), dstr(b2, r, rep),
             constant ? " (constant)" : "");
    check_moved(&c, what, x, t, r, dy, src, NULL);
    free(src);
    free(x);
}

static void test_tile(void) {
    static const int64_t d1[2] = {2, 3}, r1[2] = {2, 3}, r2[2] = {1, 1}, r3[2] = {3, 0}, d4[3] = {1, 7, 1},
                         r4[3] = {2, 1, 5}, d5[1] = {17}, r5[1] = {3}, d6[1] = {1}, r6[1] = {1000}, d7[2] = {0, 2},
                         r7[2] = {4, 2};
    int ti;
    test_seed(1001);
    for (ti = 0; ti < N_MOVE_TYPES; ti++) {
        infer_dtype t = move_types[ti];
        tile_check(t, 2, d1, r1, ti == 4);
        tile_check(t, 2, d1, r2, 0);
        tile_check(t, 3, d4, r4, ti == 1);
    }
    tile_check(INFER_DTYPE_F32, 2, d1, r3, 0); /* repeat 0: empty */
    tile_check(INFER_DTYPE_I64, 1, d5, r5, 0);
    tile_check(INFER_DTYPE_U8, 1, d6, r6, 0);
    tile_check(INFER_DTYPE_F32, 2, d7, r7, 0);
}

static void test_tile_errors(void) {
    static const int64_t d[2] = {2, 3}, r1[1] = {2}, r2[2] = {2, -1}, r3[2] = {2, 2};
    float x[6] = {0};
    op_case c;
    op_init(&c, "Tile");
    c.in[0] = op_in("x", INFER_DTYPE_F32, 2, d, x);
    c.in[1] = ints_const("repeats", 1, r1);
    c.n_in = 2;
    expect_fail(&c, INFER_STATUS_SHAPE, "repeats", "1 repeat for rank 2");
    c.in[1] = ints_const("repeats", 2, r2);
    expect_fail(&c, INFER_STATUS_SHAPE, "repeat", "repeat -1");
    c.in[1] = ints_input("repeats", 2, r3);
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "known when the session is created", "run-time repeats");
}

/* ===== Pad ===== */

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };
static const char *const pad_modes[] = {"constant", "reflect", "edge", "wrap"};

/* Source index on an axis of d for output index i, with pb elements added at the start
   (cropped when negative); -1 means the constant. reflect mirrors about the edge elements
   (not repeating them), edge repeats them, wrap is periodic. */
static int64_t pad_src(int64_t i, int64_t pb, int64_t d, int mode) {
    int64_t j = i - pb;
    if (j >= 0 && j < d) return j;
    switch (mode) {
    case PAD_EDGE: return j < 0 ? 0 : d - 1;
    case PAD_REFLECT:
        if (d == 1) return 0;
        while (j < 0 || j >= d) j = j < 0 ? -j : 2 * (d - 1) - j;
        return j;
    case PAD_WRAP: return ((j % d) + d) % d;
    default: return -1;
    }
}

typedef struct pad_case {
    int r;
    int64_t d[MAXD];
    int n_pads;
    int64_t pads[2 * MAXD];  /* begins of the axes, then ends */
    int n_axes;              /* -1: no axes input */
    int64_t axes[MAXD];
    int mode;                /* PAD_*; -1: no mode attribute (constant) */
    int value;               /* 0: no constant_value; 1: a constant; 2: a run-time input */
} pad_case;

static void pad_check(const pad_case *p, infer_dtype t, int constant) {
    int64_t pb[MAXD] = {0}, pe[MAXD] = {0}, dy[MAXD], idx[MAXD], n = numel(p->r, p->d), m, i, *src;
    int n_ax = p->n_axes >= 0 ? p->n_axes : p->r, k, mode = p->mode < 0 ? PAD_CONSTANT : p->mode;
    size_t esz = infer_dtype_bytes(t);
    uint8_t value[8] = {0};
    void *x = xcalloc(n, esz);
    op_case c;
    char what[300], b1[160], b2[160];
    for (k = 0; k < n_ax; k++) {
        int64_t a = p->n_axes >= 0 ? p->axes[k] : k;
        if (a < 0) a += p->r;
        pb[a] = p->pads[k];
        pe[a] = p->pads[k + n_ax];
    }
    for (k = 0; k < p->r; k++) dy[k] = p->d[k] + pb[k] + pe[k];
    m = numel(p->r, dy);
    if (p->value) fill_any(value, t, 1);
    src = (int64_t *)xcalloc(m, sizeof(int64_t));
    for (i = 0; i < m; i++) {
        unravel(i, p->r, dy, idx);
        for (k = 0; k < p->r; k++) {
            idx[k] = pad_src(idx[k], pb[k], p->d[k], mode);
            if (idx[k] < 0) break;
        }
        src[i] = k < p->r ? -1 : ravel(p->r, p->d, idx);
    }
    fill_any(x, t, n);
    op_init(&c, "Pad");
    c.in[0] = data_in(constant, t, p->r, p->d, x);
    c.in[1] = ints_const("pads", p->n_pads, p->pads);
    c.n_in = 2;
    if (p->value) c.in[2] = p->value == 1 ? op_const("value", t, 0, NULL, value) : op_in("value", t, 0, NULL, value);
    else c.in[2] = op_absent();
    if (p->value) c.n_in = 3;
    if (p->n_axes >= 0) c.in[3] = ints_const("axes", p->n_axes, p->axes), c.n_in = 4;
    if (p->mode >= 0) c.attrs[c.n_attrs++] = infer_attr_string("mode", pad_modes[p->mode]);
    snprintf(what, sizeof what, "Pad %s %s x%s pads %s axes %s value %d%s", p->mode < 0 ? "(default)" : pad_modes[mode],
             infer_dtype_name(t), dstr(b1, p->r, p->d), dstr(b2, p->n_pads, p->pads),
             p->n_axes >= 0 ? "given" : "-", p->value, constant ? " (constant)" : "");
    check_moved(&c, what, x, t, p->r, dy, src, value);
    free(src);
    free(x);
}

/* Constant mode: default value 0, a constant_value input (constant or run-time), the axes
   input (negative axes), negative pads that crop. */
static void test_pad_constant(void) {
    static const pad_case cases[] = {
        {2, {3, 4}, 4, {1, 2, 0, 1}, -1, {0}, -1, 0},
        {2, {3, 4}, 4, {1, 2, 0, 1}, -1, {0}, PAD_CONSTANT, 1},
        {2, {3, 4}, 4, {0, 0, 2, 3}, -1, {0}, PAD_CONSTANT, 2},
        {3, {2, 3, 4}, 4, {1, 0, 2, 1}, 2, {-1, 0}, -1, 1},     /* axes [-1,0] */
        {3, {2, 3, 4}, 2, {2, 2}, 1, {1}, PAD_CONSTANT, 0},
        {2, {5, 6}, 4, {-1, 2, -2, -3}, -1, {0}, -1, 1},        /* crop and pad */
        {1, {3}, 2, {-2, -1}, -1, {0}, -1, 0},                   /* crop to nothing */
        {1, {1000}, 2, {3, 0}, -1, {0}, -1, 1},
        {3, {1, 7, 1}, 6, {0, 0, 0, 0, 0, 0}, -1, {0}, -1, 0},
        {2, {0, 3}, 4, {1, 0, 1, 2}, -1, {0}, -1, 1},             /* pad an empty tensor */
    };
    int i, ti;
    test_seed(1101);
    for (i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++)
        for (ti = 0; ti < N_MOVE_TYPES; ti++) pad_check(&cases[i], move_types[ti], (i + ti) % 4 == 0);
}

/* reflect, edge and wrap (wrap also with pads longer than the axis); negative pads only
   on axes that are not padded, where every mode agrees. */
static void test_pad_modes(void) {
    static const pad_case cases[] = {
        {2, {4, 5}, 4, {3, 1, 2, 4}, -1, {0}, PAD_REFLECT, 0},
        {3, {2, 3, 4}, 6, {1, 2, 0, 1, 2, 3}, -1, {0}, PAD_REFLECT, 0},
        {1, {17}, 2, {16, 16}, -1, {0}, PAD_REFLECT, 0},
        {2, {4, 5}, 4, {3, 1, 2, 4}, -1, {0}, PAD_EDGE, 0},
        {1, {1}, 2, {2, 3}, -1, {0}, PAD_EDGE, 0},
        {2, {5, 6}, 4, {-2, 3, -1, 2}, -1, {0}, PAD_EDGE, 0},
        {2, {4, 5}, 4, {3, 1, 2, 4}, -1, {0}, PAD_WRAP, 0},
        {2, {3, 2}, 4, {5, 1, 7, 4}, -1, {0}, PAD_WRAP, 0},
        {2, {1, 7}, 4, {2, 7, 1, 8}, -1, {0}, PAD_WRAP, 0},
        {3, {2, 3, 4}, 2, {2, 1}, 1, {-2}, PAD_REFLECT, 0},
        {3, {2, 3, 4}, 4, {1, 2, 3, 1}, 2, {2, 0}, PAD_WRAP, 0},
        {2, {5, 6}, 4, {2, -2, 1, -3}, -1, {0}, PAD_REFLECT, 0},
    };
    int i, ti;
    test_seed(1102);
    for (i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++)
        for (ti = 0; ti < N_MOVE_TYPES; ti += 2) pad_check(&cases[i], move_types[(i + ti) % N_MOVE_TYPES], ti == 2);
}

static void test_pad_errors(void) {
    static const int64_t d[2] = {3, 4}, p4[4] = {1, 1, 1, 1}, p3[3] = {1, 1, 1}, pc[4] = {-2, 0, -2, 0}, a1[1] = {1},
                         p2[2] = {1, 1};
    float x[12] = {0};
    int64_t v64 = 0;
    op_case c;
    op_init(&c, "Pad");
    c.in[0] = op_in("x", INFER_DTYPE_F32, 2, d, x);
    c.in[1] = ints_input("pads", 4, p4);
    c.n_in = 2;
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "known when the session is created", "run-time pads");
    c.in[1] = ints_const("pads", 3, p3);
    expect_fail(&c, INFER_STATUS_SHAPE, "pads", "3 pads for rank 2");
    c.in[1] = ints_const("pads", 4, pc);
    expect_fail(&c, INFER_STATUS_SHAPE, "negative pads", "cropping 4 of 3");
    c.in[1] = ints_const("pads", 2, p2);
    c.in[2] = op_absent();
    c.in[3] = ints_input("axes", 1, a1);
    c.n_in = 4;
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "known when the session is created", "run-time axes");
    c.in[3] = ints_const("axes", 1, a1);
    c.in[2] = op_const("value", INFER_DTYPE_I64, 0, NULL, &v64);
    expect_fail(&c, INFER_STATUS_SHAPE, "constant_value", "i64 value for f32 data");
    c.in[2] = op_absent();
    c.attrs[c.n_attrs++] = infer_attr_string("mode", "mirror");
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "mode", "mode 'mirror'");
}

/* ===== Resize ===== */

enum { RS_NEAREST, RS_LINEAR, RS_CUBIC };
enum { CT_HALF_PIXEL, CT_HALF_PIXEL_SYMMETRIC, CT_PYTORCH_HALF_PIXEL, CT_ALIGN_CORNERS, CT_ASYMMETRIC, CT_TF_CROP };
static const char *const rs_modes[] = {"nearest", "linear", "cubic"};
static const char *const ct_names[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                                       "asymmetric", "tf_crop_and_resize"};
static const char *const nearest_names[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
static const char *const policy_names[] = {"stretch", "not_larger", "not_smaller"};

typedef struct resize_case {
    int r;
    int64_t d[MAXD];
    int mode, coord, nearest, policy;   /* -1: attribute absent (the defaults) */
    double cubic_a;                     /* NaN: absent (-0.75) */
    int exclude;                        /* -1: absent */
    double extrap;                      /* NaN: absent (0) */
    int n_axes;                         /* 0: no axes attribute */
    int64_t axes[MAXD];
    int n_scales;                       /* 0: no scales input */
    float scales[MAXD];
    int n_sizes;                        /* 0: no sizes input */
    int64_t sizes[MAXD];
    int n_roi;                          /* 0: roi absent */
    float roi[2 * MAXD];
} resize_case;

static resize_case rs_make(int r, const int64_t *d, int mode, int coord) {
    resize_case g;
    memset(&g, 0, sizeof g);
    g.r = r;
    memcpy(g.d, d, sizeof(int64_t) * (size_t)r);
    g.mode = mode;
    g.coord = coord;
    g.nearest = g.policy = g.exclude = -1;
    g.cubic_a = g.extrap = NAN;
    return g;
}

/* Keys' cubic weights for the 4 neighbours at distances 1+t, t, 1-t, 2-t (t in (0, 1]). */
static void cubic_coeffs(double t, double a, double *w) {
    double u = 1 + t, v = 1 - t, z = 2 - t;
    w[0] = ((a * u - 5 * a) * u + 8 * a) * u - 4 * a;
    w[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
    w[2] = ((a + 2) * v - (a + 3)) * v * v + 1;
    w[3] = ((a * z - 5 * a) * z + 8 * a) * z - 4 * a;
}

/* The taps of one output index on one axis: n source indices (into [0, in), i.e. with
   edge padding) and weights; returns 0 when tf_crop_and_resize falls outside the input.
   Following the ONNX text, the sampling position is x; its n neighbours start at
   ceil(x) - n/2 and the fraction t = x - (ceil(x) - 1) lies in (0, 1]. */
static int rs_taps(const resize_case *g, int64_t in, int64_t out, double scale, double roi_s, double roi_e, int64_t o,
                   int64_t *ti, double *tw, int *n_taps) {
    double x, xo = (double)o, t, sum = 0;
    int64_t base;
    int k, n = g->mode == RS_CUBIC ? 4 : 2, coord = g->coord < 0 ? CT_HALF_PIXEL : g->coord;
    double len = g->n_scales ? (double)in * scale : (double)out;
    switch (coord) {
    case CT_HALF_PIXEL: x = (xo + 0.5) / scale - 0.5; break;
    case CT_HALF_PIXEL_SYMMETRIC: {
        double adj = (double)out / (scale * (double)in), center = (double)in / 2;
        x = center * (1 - adj) + (xo + 0.5) / scale - 0.5;
        break;
    }
    /* ONNX's length_resized: in * scale when scales are given (the reference
       implementation and the conformance data use it unrounded), else the output size */
    case CT_PYTORCH_HALF_PIXEL: x = len > 1 ? (xo + 0.5) / scale - 0.5 : 0; break;
    case CT_ALIGN_CORNERS: x = len <= 1 ? 0 : xo * (double)(in - 1) / (len - 1); break;
    case CT_ASYMMETRIC: x = xo / scale; break;
    default:
        x = out > 1 ? roi_s * (double)(in - 1) + xo * (roi_e - roi_s) * (double)(in - 1) / (double)(out - 1)
                    : 0.5 * (roi_s + roi_e) * (double)(in - 1);
        if (x < 0 || x > (double)(in - 1)) return 0;
    }
    base = (int64_t)ceil(x) - n / 2;
    t = x - (ceil(x) - 1);
    if (g->mode == RS_CUBIC) {
        cubic_coeffs(t, isnan(g->cubic_a) ? -0.75 : g->cubic_a, tw);
    } else if (g->mode == RS_LINEAR) {
        tw[0] = 1 - t, tw[1] = t;
    } else { /* nearest: pick one of the two neighbours */
        int m = g->nearest < 0 ? 0 : g->nearest, right;
        if (t == 1) right = 1; /* x is an integer: x itself */
        else if (m == 0) right = t > 0.5;
        else if (m == 1) right = t >= 0.5;
        else right = m == 3;
        tw[0] = !right, tw[1] = right;
    }
    for (k = 0; k < n; k++) {
        int64_t j = base + k;
        if (g->exclude == 1 && (j < 0 || j >= in)) tw[k] = 0;
        sum += tw[k];
        ti[k] = j < 0 ? 0 : j >= in ? in - 1 : j;
    }
    if (g->exclude == 1)
        for (k = 0; k < n; k++) tw[k] /= sum;
    *n_taps = n;
    return 1;
}

/* Output dims and the per-axis scales and roi, by the ONNX text: with scales,
   out = floor(in * (roi_end - roi_start) * scale); with sizes, out = size and
   scale = out / in, or under keep_aspect_ratio_policy one scale for all the axes
   (the min or max of size / in) and out = round-half-up(scale * in). */
static void rs_shape(const resize_case *g, int64_t *dy, double *scale, double *roi_s, double *roi_e) {
    int64_t axes[MAXD];
    int na = g->n_axes ? g->n_axes : g->r, i, coord = g->coord < 0 ? CT_HALF_PIXEL : g->coord;
    for (i = 0; i < g->r; i++) dy[i] = g->d[i], scale[i] = 1, roi_s[i] = 0, roi_e[i] = 1;
    for (i = 0; i < na; i++) axes[i] = g->n_axes ? (g->axes[i] < 0 ? g->axes[i] + g->r : g->axes[i]) : i;
    if (coord == CT_TF_CROP && g->n_roi)
        for (i = 0; i < na; i++) roi_s[axes[i]] = g->roi[i], roi_e[axes[i]] = g->roi[na + i];
    if (g->n_scales) {
        for (i = 0; i < na; i++) {
            int64_t a = axes[i];
            scale[a] = g->scales[i];
            dy[a] = (int64_t)floor((double)g->d[a] * (roi_e[a] - roi_s[a]) * scale[a]);
        }
    } else if (g->policy <= 0) {
        for (i = 0; i < na; i++)
            dy[axes[i]] = g->sizes[i], scale[axes[i]] = (double)g->sizes[i] / (double)g->d[axes[i]];
    } else {
        double s = g->policy == 1 ? INFINITY : 0;
        for (i = 0; i < na; i++) {
            double q = (double)g->sizes[i] / (double)g->d[axes[i]];
            s = g->policy == 1 ? fmin(s, q) : fmax(s, q);
        }
        for (i = 0; i < na; i++) scale[axes[i]] = s, dy[axes[i]] = (int64_t)(s * (double)g->d[axes[i]] + 0.5);
    }
}

/* Reference: the output is the sum over every combination of per-axis taps of the
   product of their weights times the input there; any axis outside (tf_crop_and_resize)
   gives extrapolation_value. */
static double *rs_ref(const resize_case *g, const float *x, int64_t *dy) {
    double scale[MAXD], roi_s[MAXD], roi_e[MAXD], *y, tw[MAXD][4];
    int64_t idx[MAXD], ti[MAXD][4], sidx[MAXD], m, i;
    int r = g->r, k, nt[MAXD];
    rs_shape(g, dy, scale, roi_s, roi_e);
    m = numel(r, dy);
    y = (double *)xcalloc(m, sizeof(double));
    for (i = 0; i < m; i++) {
        int inside = 1, tap[MAXD] = {0};
        double acc = 0;
        unravel(i, r, dy, idx);
        for (k = 0; k < r; k++)
            inside &= rs_taps(g, g->d[k], dy[k], scale[k], roi_s[k], roi_e[k], idx[k], ti[k], tw[k], &nt[k]);
        if (!inside) {
            y[i] = isnan(g->extrap) ? 0 : g->extrap;
            continue;
        }
        for (;;) {
            double w = 1;
            for (k = 0; k < r; k++) w *= tw[k][tap[k]], sidx[k] = ti[k][tap[k]];
            acc += w * x[ravel(r, g->d, sidx)];
            for (k = r - 1; k >= 0 && ++tap[k] == nt[k]; k--) tap[k] = 0;
            if (k < 0) break;
        }
        y[i] = acc;
    }
    return y;
}

/* Builds the Resize node for g over data x (n_in: 3 with scales, 4 with sizes). */
static void rs_node(op_case *c, const resize_case *g, const float *x, int scales_rt, int sizes_rt, int roi_rt) {
    int64_t dn[1];
    op_init(c, "Resize");
    c->in[0] = op_in("x", INFER_DTYPE_F32, g->r, g->d, x);
    dn[0] = g->n_roi;
    c->in[1] = !g->n_roi ? op_absent() : roi_rt ? op_in("roi", INFER_DTYPE_F32, 1, dn, g->roi)
                                                 : op_const("roi", INFER_DTYPE_F32, 1, dn, g->roi);
    dn[0] = g->n_scales;
    c->in[2] = !g->n_scales ? op_absent() : scales_rt ? op_in("scales", INFER_DTYPE_F32, 1, dn, g->scales)
                                                       : op_const("scales", INFER_DTYPE_F32, 1, dn, g->scales);
    c->n_in = 3;
    if (g->n_sizes) {
        c->in[3] = sizes_rt ? ints_input("sizes", g->n_sizes, g->sizes) : ints_const("sizes", g->n_sizes, g->sizes);
        c->n_in = 4;
    }
    if (g->mode >= 0) c->attrs[c->n_attrs++] = infer_attr_string("mode", rs_modes[g->mode]);
    if (g->coord >= 0) c->attrs[c->n_attrs++] = infer_attr_string("coordinate_transformation_mode", ct_names[g->coord]);
    if (g->nearest >= 0) c->attrs[c->n_attrs++] = infer_attr_string("nearest_mode", nearest_names[g->nearest]);
    if (g->policy >= 0) c->attrs[c->n_attrs++] = infer_attr_string("keep_aspect_ratio_policy", policy_names[g->policy]);
    if (!isnan(g->cubic_a)) c->attrs[c->n_attrs++] = infer_attr_float("cubic_coeff_a", (float)g->cubic_a);
    if (g->exclude >= 0) c->attrs[c->n_attrs++] = infer_attr_int("exclude_outside", g->exclude);
    if (!isnan(g->extrap)) c->attrs[c->n_attrs++] = infer_attr_float("extrapolation_value", (float)g->extrap);
    if (g->n_axes) c->attrs[c->n_attrs++] = infer_attr_ints("axes", g->axes, (size_t)g->n_axes);
}

static void rs_check(const resize_case *g) {
    int64_t n = numel(g->r, g->d), dy[MAXD], i;
    float *x = (float *)xcalloc(n, sizeof(float));
    double *want;
    op_case c;
    char what[400], b1[160], b2[160];
    int k, len;
    for (i = 0; i < n; i++) x[i] = (float)test_uniform(-4, 4);
    want = rs_ref(g, x, dy);
    rs_node(&c, g, x, 0, 0, 0);
    len = snprintf(what, sizeof what, "Resize %s %s %s x%s -> %s", g->mode < 0 ? "(nearest)" : rs_modes[g->mode],
                   g->coord < 0 ? "(half_pixel)" : ct_names[g->coord], g->nearest < 0 ? "" : nearest_names[g->nearest],
                   dstr(b1, g->r, g->d), dstr(b2, g->r, dy));
    for (k = 0; k < c.n_attrs && len < 300; k++) { /* the numeric attributes too */
        const infer_attr *a = &c.attrs[k];
        if (a->type == INFER_ATTR_FLOAT) len += snprintf(what + len, sizeof what - (size_t)len, " %s=%g", a->name, a->f);
        if (a->type == INFER_ATTR_INT)
            len += snprintf(what + len, sizeof what - (size_t)len, " %s=%lld", a->name, (long long)a->i);
    }
    if (run_ok(&c, what) && out_is(&c, 0, INFER_DTYPE_F32, g->r, dy, what))
        test_close(what, (const float *)c.out[0].data, want, (size_t)numel(g->r, dy), 1e-5);
    op_free(&c);
    free(x);
    free(want);
}

/* The sampling setups every mode is run over: up- and down-scaling by scales, sizes, a
   4-D tensor whose first two axes stay. */
static int rs_setups(int mode, int coord, resize_case *out) {
    static const int64_t d2[2] = {3, 5}, d4[4] = {1, 2, 3, 4}, d1[1] = {7}, d14[2] = {1, 4};
    resize_case g;
    int n = 0;
    g = rs_make(2, d2, mode, coord);
    g.n_scales = 2, g.scales[0] = 2, g.scales[1] = 1.6f; /* -> [6,8] */
    out[n++] = g;
    g = rs_make(2, d2, mode, coord);
    g.n_scales = 2, g.scales[0] = 0.5f, g.scales[1] = 0.6f; /* -> [1,3] */
    out[n++] = g;
    g = rs_make(2, d2, mode, coord);
    g.n_sizes = 2, g.sizes[0] = 7, g.sizes[1] = 2;
    out[n++] = g;
    g = rs_make(4, d4, mode, coord);
    g.n_scales = 4, g.scales[0] = 1, g.scales[1] = 1, g.scales[2] = 1.5f, g.scales[3] = 0.75f; /* -> [1,2,4,3] */
    out[n++] = g;
    g = rs_make(1, d1, mode, coord);
    g.n_sizes = 1, g.sizes[0] = 17;
    out[n++] = g;
    g = rs_make(1, d1, mode, coord);
    g.n_sizes = 1, g.sizes[0] = 1; /* one output element */
    out[n++] = g;
    g = rs_make(2, d14, mode, coord);
    g.n_sizes = 2, g.sizes[0] = 3, g.sizes[1] = 4; /* an axis of 1 upscaled */
    out[n++] = g;
    return n;
}

/* nearest: every nearest_mode under every coordinate_transformation_mode. */
static void test_resize_nearest(void) {
    resize_case s[8];
    int nm, ct, i, n;
    test_seed(1201);
    for (nm = 0; nm < 4; nm++)
        for (ct = 0; ct < 5; ct++) {
            n = rs_setups(RS_NEAREST, ct, s);
            for (i = 0; i < n; i++) {
                s[i].nearest = nm;
                rs_check(&s[i]);
            }
        }
}

static void test_resize_linear(void) {
    resize_case s[8];
    int ct, i, n;
    test_seed(1202);
    for (ct = 0; ct < 5; ct++) {
        n = rs_setups(RS_LINEAR, ct, s);
        for (i = 0; i < n; i++) rs_check(&s[i]);
    }
}

/* cubic with the default and another cubic_coeff_a, with and without exclude_outside. */
static void test_resize_cubic(void) {
    resize_case s[8];
    int ct, i, n, variant;
    test_seed(1203);
    for (ct = 0; ct < 5; ct++)
        for (variant = 0; variant < 4; variant++) {
            n = rs_setups(RS_CUBIC, ct, s);
            for (i = 0; i < n; i++) {
                if (variant & 1) s[i].cubic_a = -0.5;
                s[i].exclude = variant >> 1;
                rs_check(&s[i]);
            }
        }
}

/* tf_crop_and_resize: roi (partly outside the input) and extrapolation_value. */
static void test_resize_tf_crop(void) {
    static const int64_t d2[2] = {4, 5}, d4[4] = {1, 1, 4, 4};
    int mode;
    test_seed(1204);
    for (mode = 0; mode < 3; mode++) {
        resize_case g = rs_make(2, d2, mode, CT_TF_CROP);
        g.n_roi = 4, g.roi[0] = 0.2f, g.roi[1] = 0.1f, g.roi[2] = 0.9f, g.roi[3] = 1.2f;
        g.n_sizes = 2, g.sizes[0] = 5, g.sizes[1] = 7;
        g.extrap = 7.5;
        rs_check(&g);
        g.extrap = NAN; /* default 0 */
        rs_check(&g);
        g.n_sizes = 0, g.n_scales = 2, g.scales[0] = 2, g.scales[1] = 1.5f; /* -> floor(4*.7*2), floor(5*1.1*1.5) */
        rs_check(&g);
        g = rs_make(4, d4, mode, CT_TF_CROP);
        g.n_roi = 8, g.roi[2] = 0.4f, g.roi[3] = 0.6f, g.roi[4] = g.roi[5] = 1, g.roi[6] = 1.2f, g.roi[7] = 1.7f;
        g.n_sizes = 4, g.sizes[0] = g.sizes[1] = 1, g.sizes[2] = g.sizes[3] = 3;
        g.extrap = 10;
        rs_check(&g);
        g.sizes[2] = 1; /* one output element: the roi's middle */
        rs_check(&g);
    }
}

/* The axes attribute (incl. negative) and keep_aspect_ratio_policy. */
static void test_resize_axes_policy(void) {
    static const int64_t d4[4] = {2, 3, 4, 5}, dp[4] = {1, 1, 4, 6};
    int mode, pol;
    test_seed(1205);
    for (mode = 0; mode < 3; mode++) {
        resize_case g = rs_make(4, d4, mode, CT_HALF_PIXEL);
        g.n_axes = 2, g.axes[0] = 2, g.axes[1] = 3;
        g.n_scales = 2, g.scales[0] = 2, g.scales[1] = 0.5f;
        rs_check(&g);
        g = rs_make(4, d4, mode, CT_ALIGN_CORNERS);
        g.n_axes = 2, g.axes[0] = -1, g.axes[1] = 1;
        g.n_sizes = 2, g.sizes[0] = 9, g.sizes[1] = 2;
        rs_check(&g);
        g = rs_make(4, d4, mode, CT_TF_CROP);
        g.n_axes = 1, g.axes[0] = -2;
        g.n_roi = 2, g.roi[0] = 0.25f, g.roi[1] = 1.0f;
        g.n_sizes = 1, g.sizes[0] = 6;
        rs_check(&g);
        for (pol = 0; pol < 3; pol++) {
            g = rs_make(4, dp, mode, CT_ASYMMETRIC);
            g.policy = pol;
            g.n_axes = 2, g.axes[0] = 2, g.axes[1] = 3;
            g.n_sizes = 2, g.sizes[0] = 8, g.sizes[1] = 8; /* stretch [8,8]; not_larger [5,8]; not_smaller [8,12] */
            rs_check(&g);
            g.coord = CT_HALF_PIXEL_SYMMETRIC;
            g.sizes[0] = 3, g.sizes[1] = 7;
            rs_check(&g);
        }
    }
}

/* Results worked out by hand (from the ONNX text) for the defaults and a few modes. */
static void test_resize_by_hand(void) {
    static const int64_t d3[1] = {3}, d22[2] = {2, 2}, d44[4] = {1, 1, 4, 4};
    float x3[3] = {1, 2, 3}, x22[4] = {1, 2, 3, 4}, x16[16];
    static const struct {
        int nearest;
        double want[6];
    } nn[4] = {/* asymmetric, scale 2: positions 0, .5, 1, 1.5, 2, 2.5 */
               {0, {1, 1, 2, 2, 3, 3}},
               {1, {1, 2, 2, 3, 3, 3}},
               {2, {1, 1, 2, 2, 3, 3}},
               {3, {1, 2, 2, 3, 3, 3}}};
    /* linear, half_pixel (the default), scale 2 on [[1,2],[3,4]] */
    double lin[16] = {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4};
    /* tf_crop_and_resize, linear, roi [0,0,.4,.6, 1,1,1.2,1.7], sizes [1,1,3,3], extrapolation 10 */
    double crop[9] = {7.6, 10, 10, 12.4, 10, 10, 10, 10, 10};
    resize_case g;
    op_case c;
    int i;
    for (i = 0; i < 16; i++) x16[i] = (float)(i + 1);
    for (i = 0; i < 4; i++) {
        g = rs_make(1, d3, -1, CT_ASYMMETRIC);
        g.nearest = nn[i].nearest;
        g.n_scales = 1, g.scales[0] = 2;
        rs_node(&c, &g, x3, 0, 0, 0);
        if (run_ok(&c, "nearest by hand")) test_close(nearest_names[i], (const float *)c.out[0].data, nn[i].want, 6, 0);
        op_free(&c);
    }
    g = rs_make(2, d22, RS_LINEAR, -1);
    g.n_scales = 2, g.scales[0] = 2, g.scales[1] = 2;
    rs_node(&c, &g, x22, 0, 0, 0);
    if (run_ok(&c, "linear by hand")) test_close("linear by hand", (const float *)c.out[0].data, lin, 16, 1e-6);
    op_free(&c);
    { /* the same in f64 */
        double x22d[4] = {1, 2, 3, 4};
        op_case cd;
        rs_node(&cd, &g, x22, 0, 0, 0);
        cd.in[0] = op_in("x", INFER_DTYPE_F64, 2, d22, x22d);
        if (run_ok(&cd, "linear by hand, f64") && out_is(&cd, 0, INFER_DTYPE_F64, 2, d44 + 2, "linear f64"))
            for (i = 0; i < 16; i++) CHECK_NEAR(((double *)cd.out[0].data)[i], lin[i], 1e-12);
        op_free(&cd);
    }
    /* roi only matters for tf_crop_and_resize: elsewhere it is ignored */
    g.n_roi = 4, g.roi[0] = 0.5f, g.roi[1] = 0.25f, g.roi[2] = 0.75f, g.roi[3] = 0.5f;
    rs_node(&c, &g, x22, 0, 0, 0);
    if (run_ok(&c, "linear, roi ignored"))
        test_close("linear, roi ignored", (const float *)c.out[0].data, lin, 16, 1e-6);
    op_free(&c);
    g = rs_make(4, d44, RS_CUBIC, -1); /* cubic, half_pixel, scale 2: element [0,0] */
    g.n_scales = 4, g.scales[0] = g.scales[1] = 1, g.scales[2] = g.scales[3] = 2;
    rs_node(&c, &g, x16, 0, 0, 0);
    if (run_ok(&c, "cubic by hand")) CHECK_NEAR(((float *)c.out[0].data)[0], 0.47265625, 1e-6);
    op_free(&c);
    g = rs_make(4, d44, RS_LINEAR, CT_TF_CROP);
    g.n_roi = 8, g.roi[2] = 0.4f, g.roi[3] = 0.6f, g.roi[4] = g.roi[5] = 1, g.roi[6] = 1.2f, g.roi[7] = 1.7f;
    g.n_sizes = 4, g.sizes[0] = g.sizes[1] = 1, g.sizes[2] = g.sizes[3] = 3;
    g.extrap = 10;
    rs_node(&c, &g, x16, 0, 0, 0);
    if (run_ok(&c, "crop by hand")) test_close("crop by hand", (const float *)c.out[0].data, crop, 9, 1e-5);
    op_free(&c);
}

static void test_resize_errors(void) {
    static const int64_t d[2] = {3, 5};
    float x[15] = {0};
    resize_case g = rs_make(2, d, RS_LINEAR, -1);
    op_case c;
    g.n_scales = 2, g.scales[0] = 2, g.scales[1] = 2;
    rs_node(&c, &g, x, 0, 0, 0);
    c.attrs[c.n_attrs++] = infer_attr_int("antialias", 1);
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "antialias", "antialias=1");
    rs_node(&c, &g, x, 1, 0, 0);
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "known when the session is created", "run-time scales");
    g.n_scales = 0, g.n_sizes = 2, g.sizes[0] = 4, g.sizes[1] = 4;
    rs_node(&c, &g, x, 0, 1, 0);
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "known when the session is created", "run-time sizes");
    g.coord = CT_TF_CROP, g.n_roi = 4, g.roi[2] = g.roi[3] = 1;
    rs_node(&c, &g, x, 0, 0, 1);
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "known when the session is created", "run-time roi");
    g.coord = -1, g.n_roi = 0, g.n_scales = 2;
    rs_node(&c, &g, x, 0, 0, 0);
    expect_fail(&c, INFER_STATUS_SHAPE, "scales", "both scales and sizes");
    g.n_scales = 0, g.n_sizes = 0;
    rs_node(&c, &g, x, 0, 0, 0);
    expect_fail(&c, INFER_STATUS_SHAPE, "scales", "neither scales nor sizes");
    g.n_sizes = 1;
    rs_node(&c, &g, x, 0, 0, 0);
    expect_fail(&c, INFER_STATUS_SHAPE, "sizes", "1 size for 2 axes");
    g.n_sizes = 2, g.n_axes = 2, g.axes[0] = 0, g.axes[1] = 2;
    rs_node(&c, &g, x, 0, 0, 0);
    expect_fail(&c, INFER_STATUS_SHAPE, "out of range", "axes [0,2] of rank 2");
    g.n_axes = 0, g.mode = -1;
    rs_node(&c, &g, x, 0, 0, 0);
    c.attrs[c.n_attrs++] = infer_attr_string("mode", "area");
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "mode", "mode 'area'");
}

/* ===== Shape, Size ===== */

/* Shape: dims[start:end]; negative start/end count from the back, then both clamp into
   [0, rank]. */
static void test_shape(void) {
    static const int64_t d[4] = {2, 3, 5, 7};
    static const struct {
        int start, end; /* -99: absent */
        int n;
        int64_t want[4];
    } cases[] = {
        {-99, -99, 4, {2, 3, 5, 7}}, {1, -99, 3, {3, 5, 7}},   {-99, -1, 3, {2, 3, 5}}, {-3, -1, 2, {3, 5}},
        {-10, 2, 2, {2, 3}},         {1, 10, 3, {3, 5, 7}},    {3, 1, 0, {0}},          {4, -99, 0, {0}},
        {-1, -99, 1, {7}},           {0, -10, 0, {0}},
    };
    uint8_t x[210] = {0};
    size_t i;
    int constant;
    for (constant = 0; constant < 2; constant++)
        for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            op_case c;
            int64_t dy[1];
            char what[96];
            dy[0] = cases[i].n;
            op_init(&c, "Shape");
            c.in[0] = data_in(constant, INFER_DTYPE_U8, 4, d, x);
            c.n_in = 1;
            if (cases[i].start != -99) c.attrs[c.n_attrs++] = infer_attr_int("start", cases[i].start);
            if (cases[i].end != -99) c.attrs[c.n_attrs++] = infer_attr_int("end", cases[i].end);
            snprintf(what, sizeof what, "Shape start %d end %d%s", cases[i].start, cases[i].end,
                     constant ? " (constant)" : "");
            if (run_ok(&c, what) && out_is(&c, 0, INFER_DTYPE_I64, 1, dy, what))
                same_bytes(what, c.out[0].data, cases[i].want, cases[i].n, sizeof(int64_t));
            op_free(&c);
        }
    { /* a scalar has shape [] */
        op_case c;
        float s = 1;
        static const int64_t zero[1] = {0};
        op_init(&c, "Shape");
        c.in[0] = op_in("x", INFER_DTYPE_F32, 0, NULL, &s);
        c.n_in = 1;
        if (run_ok(&c, "Shape of a scalar")) out_is(&c, 0, INFER_DTYPE_I64, 1, zero, "Shape of a scalar");
        op_free(&c);
    }
}

/* Size: the element count, an i64 scalar. */
static void test_size(void) {
    static const int64_t d1[4] = {2, 3, 5, 7}, d2[2] = {3, 0}, d3[1] = {1000};
    static const struct {
        int r;
        const int64_t *d;
        int64_t want;
    } cases[] = {{4, d1, 210}, {2, d2, 0}, {0, NULL, 1}, {1, d3, 1000}};
    int64_t x[1000] = {0};
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0] * 2; i++) {
        op_case c;
        size_t k = i / 2;
        op_init(&c, "Size");
        c.in[0] = data_in((int)(i % 2), INFER_DTYPE_I64, cases[k].r, cases[k].d, x);
        c.n_in = 1;
        if (run_ok(&c, "Size") && out_is(&c, 0, INFER_DTYPE_I64, 0, NULL, "Size"))
            CHECK_EQ_INT(((int64_t *)c.out[0].data)[0], cases[k].want);
        op_free(&c);
    }
}

/* ===== ConstantOfShape, Range ===== */

/* ConstantOfShape: a tensor of the given shape filled with `value` (a one-element tensor
   attribute), by default f32 0; an empty shape gives a scalar. */
static void test_constant_of_shape(void) {
    static const int64_t s23[2] = {2, 3}, s30[2] = {3, 0}, s1000[1] = {1000}, one[1] = {1};
    float vf = 1.5f;
    int64_t vi64 = -7;
    int32_t vi32 = 42;
    uint8_t vu8 = 200, vb = 1;
    uint16_t vf16 = 0x3C00; /* 1.0 */
    float zero = 0;
    static const struct {
        int n;
        const int64_t *s;
    } shapes[] = {{2, s23}, {0, NULL}, {2, s30}, {1, s1000}};
    struct {
        infer_dtype t;
        const void *v; /* NULL: no value attribute */
    } values[] = {{INFER_DTYPE_F32, NULL},          {INFER_DTYPE_F32, &vf},  {INFER_DTYPE_I64, &vi64},
                  {INFER_DTYPE_I32, &vi32},         {INFER_DTYPE_U8, &vu8},  {INFER_DTYPE_BOOL, &vb},
                  {INFER_DTYPE_F16, &vf16}};
    size_t si, vi;
    for (si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (vi = 0; vi < sizeof values / sizeof values[0]; vi++) {
            infer_dtype t = values[vi].t;
            size_t esz = infer_dtype_bytes(t);
            int64_t m = numel(shapes[si].n, shapes[si].s), *src = (int64_t *)xcalloc(m, sizeof(int64_t)), i;
            infer_tensor vt;
            op_case c;
            char what[96], b[160];
            for (i = 0; i < m; i++) src[i] = -1; /* every element is the value */
            memset(&vt, 0, sizeof vt);
            vt.name = "value";
            vt.dtype = t;
            vt.n_dims = 1;
            vt.dims[0] = 1;
            vt.data = (void *)values[vi].v;
            vt.data_bytes = esz;
            op_init(&c, "ConstantOfShape");
            c.in[0] = ints_const("shape", shapes[si].n, shapes[si].s ? shapes[si].s : one);
            c.n_in = 1;
            if (values[vi].v) c.attrs[c.n_attrs++] = infer_attr_tensor("value", &vt);
            snprintf(what, sizeof what, "ConstantOfShape %s of %s%s", dstr(b, shapes[si].n, shapes[si].s),
                     infer_dtype_name(t), values[vi].v ? "" : " (default)");
            check_moved(&c, what, NULL, t, shapes[si].n, shapes[si].s, src, values[vi].v ? values[vi].v : &zero);
            free(src);
        }
}

static void test_constant_of_shape_errors(void) {
    static const int64_t s[2] = {2, 3}, neg[2] = {2, -1};
    op_case c;
    op_init(&c, "ConstantOfShape");
    c.in[0] = ints_input("shape", 2, s);
    c.n_in = 1;
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "known when the session is created", "run-time shape");
    c.in[0] = ints_const("shape", 2, neg);
    expect_fail(&c, INFER_STATUS_SHAPE, "-1", "shape [2,-1]");
}

/* Range: max(ceil((limit - start) / delta), 0) elements start + i * delta. */
static void range_check(infer_dtype t, double start, double limit, double delta) {
    int64_t n, i, dy[1];
    double *want;
    union {
        float f;
        int32_t i32;
        int64_t i64;
    } v[3];
    double in[3];
    op_case c;
    char what[128];
    int k;
    in[0] = start, in[1] = limit, in[2] = delta;
    for (k = 0; k < 3; k++) {
        if (t == INFER_DTYPE_F32) v[k].f = (float)in[k], in[k] = v[k].f; /* the f32 values the op sees */
        else if (t == INFER_DTYPE_I32) v[k].i32 = (int32_t)in[k];
        else v[k].i64 = (int64_t)in[k];
    }
    n = (int64_t)fmax(ceil((in[1] - in[0]) / in[2]), 0);
    want = (double *)xcalloc(n, sizeof(double));
    for (i = 0; i < n; i++) want[i] = in[0] + (double)i * in[2];
    dy[0] = n;
    op_init(&c, "Range");
    c.in[0] = op_const("start", t, 0, NULL, &v[0]);
    c.in[1] = op_const("limit", t, 0, NULL, &v[1]);
    c.in[2] = op_const("delta", t, 0, NULL, &v[2]);
    c.n_in = 3;
    snprintf(what, sizeof what, "Range %s %g %g %g", infer_dtype_name(t), start, limit, delta);
    if (run_ok(&c, what) && out_is(&c, 0, t, 1, dy, what)) {
        if (t == INFER_DTYPE_F32) {
            test_close(what, (const float *)c.out[0].data, want, (size_t)n, 1e-6);
        } else {
            for (i = 0; i < n; i++) {
                int64_t got = t == INFER_DTYPE_I32 ? ((int32_t *)c.out[0].data)[i] : ((int64_t *)c.out[0].data)[i];
                if ((double)got != want[i]) {
                    printf("  %s: element %lld: got %lld want %g\n", what, (long long)i, (long long)got, want[i]);
                    CHECK(0);
                    break;
                }
            }
        }
    }
    op_free(&c);
    free(want);
}

static void test_range(void) {
    range_check(INFER_DTYPE_F32, 1, 5.5, 1.5);  /* 1, 2.5, 4 */
    range_check(INFER_DTYPE_F32, 0, 1, 0.1);    /* 10 elements */
    range_check(INFER_DTYPE_F32, 3, -2, -0.75); /* negative delta */
    range_check(INFER_DTYPE_F32, 2, 2, 1);      /* empty */
    range_check(INFER_DTYPE_F32, 0, 1000, 1);
    range_check(INFER_DTYPE_I32, 10, 3, -2);    /* 10, 8, 6, 4 */
    range_check(INFER_DTYPE_I32, 0, 17, 3);
    range_check(INFER_DTYPE_I32, 5, 1, 1);      /* empty: the wrong direction */
    range_check(INFER_DTYPE_I64, -5, 5, 3);     /* -5, -2, 1, 4 */
    range_check(INFER_DTYPE_I64, 1000000000000.0, 1000000000007.0, 2);
    range_check(INFER_DTYPE_I64, 7, 7, -1);
}

static void test_range_errors(void) {
    float s = 0, l = 5, d = 1, z = 0;
    op_case c;
    op_init(&c, "Range");
    c.in[0] = op_in("start", INFER_DTYPE_F32, 0, NULL, &s);
    c.in[1] = op_const("limit", INFER_DTYPE_F32, 0, NULL, &l);
    c.in[2] = op_const("delta", INFER_DTYPE_F32, 0, NULL, &d);
    c.n_in = 3;
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "known when the session is created", "run-time start");
    c.in[0] = op_const("start", INFER_DTYPE_F32, 0, NULL, &s);
    c.in[2] = op_const("delta", INFER_DTYPE_F32, 0, NULL, &z);
    expect_fail(&c, INFER_STATUS_SHAPE, "delta", "delta 0");
}

/* ===== folding ===== */

/* Builds x -> op -> y with x a run-time input or a constant [2,3] f32, creates a session
   and returns the steps left per infer_run (0: folded at creation), or -1 on failure. */
static long steps_left(const char *op, int constant) {
    static const int64_t d[2] = {2, 3};
    float x[6] = {1, 2, 3, 4, 5, 6};
    const char *in[1] = {"x"}, *out[1] = {"y"};
    infer_builder *b = NULL;
    infer_model *m = NULL;
    infer_session *s = NULL;
    infer_session_options opt;
    infer_session_stats st;
    void *file = NULL;
    size_t bytes = 0;
    long steps = -1;
    if (infer_builder_create(NULL, &b)) goto done;
    if (constant) {
        infer_tensor t;
        memset(&t, 0, sizeof t);
        t.name = "x", t.dtype = INFER_DTYPE_F32, t.n_dims = 2, t.dims[0] = 2, t.dims[1] = 3;
        t.data = x, t.data_bytes = sizeof x;
        if (infer_builder_add_constant(b, &t)) goto done;
    } else if (infer_builder_add_input(b, "x", INFER_DTYPE_F32, 2, d, NULL)) {
        goto done;
    }
    if (infer_builder_add_node(b, op, "n", in, 1, out, 1, NULL, 0) || infer_builder_add_output(b, "y") ||
        infer_builder_serialize(b, NULL, 0, &bytes))
        goto done;
    if (posix_memalign(&file, 64, bytes) || infer_builder_serialize(b, file, bytes, &bytes) ||
        infer_model_load_memory(file, bytes, NULL, &m))
        goto done;
    memset(&opt, 0, sizeof opt);
    opt.n_threads = 1;
    if (infer_session_create(m, &opt, &s)) goto done;
    infer_session_get_stats(s, &st);
    steps = (long)st.n_steps;
done:
    if (steps < 0) printf("  steps_left(%s): %s\n", op, infer_last_error());
    infer_session_free(s);
    infer_model_free(m);
    infer_builder_free(b);
    free(file);
    return steps;
}

/* Shape and Size depend only on shapes: folded even over a run-time input; any node whose
   inputs are all constants is folded too; a run-time Transpose stays a step. */
static void test_folding(void) {
    CHECK_EQ_INT(steps_left("Shape", 0), 0);
    CHECK_EQ_INT(steps_left("Size", 0), 0);
    CHECK_EQ_INT(steps_left("Transpose", 1), 0);
    CHECK_EQ_INT(steps_left("Transpose", 0), 1);
    CHECK_EQ_INT(steps_left("ArgMax", 1), 0);
}

int main(void) {
    RUN(test_reduce_axes_keepdims);
    RUN(test_reduce_default_axes);
    RUN(test_reduce_odd_sizes);
    RUN(test_reduce_int);
    RUN(test_reduce_nan_inf);
    RUN(test_reduce_empty);
    RUN(test_reduce_errors);
    RUN(test_arg_max);
    RUN(test_arg_max_odd_sizes);
    RUN(test_arg_max_ties_nan);
    RUN(test_arg_max_errors);
    RUN(test_reshape);
    RUN(test_reshape_errors);
    RUN(test_flatten);
    RUN(test_squeeze);
    RUN(test_unsqueeze);
    RUN(test_identity);
    RUN(test_transpose);
    RUN(test_transpose_odd_sizes);
    RUN(test_transpose_blocks);
    RUN(test_transpose_errors);
    RUN(test_concat);
    RUN(test_concat_errors);
    RUN(test_split);
    RUN(test_split_errors);
    RUN(test_slice_random);
    RUN(test_slice_clamp);
    RUN(test_slice_errors);
    RUN(test_gather);
    RUN(test_gather_out_of_range);
    RUN(test_expand);
    RUN(test_expand_errors);
    RUN(test_tile);
    RUN(test_tile_errors);
    RUN(test_pad_constant);
    RUN(test_pad_modes);
    RUN(test_pad_errors);
    RUN(test_resize_nearest);
    RUN(test_resize_linear);
    RUN(test_resize_cubic);
    RUN(test_resize_tf_crop);
    RUN(test_resize_axes_policy);
    RUN(test_resize_by_hand);
    RUN(test_resize_errors);
    RUN(test_shape);
    RUN(test_size);
    RUN(test_constant_of_shape);
    RUN(test_constant_of_shape_errors);
    RUN(test_range);
    RUN(test_range_errors);
    RUN(test_folding);
    return test_finish();
}
