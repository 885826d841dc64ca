/* tests/test_ops_more.c - the wider operator set: more unary activations and math, Mod
   PRelu Xor Mean BitShift, the other reductions and ArgMin, GlobalMaxPool, Instance- and
   LpNormalization, Hardmax, DepthToSpace SpaceToDepth, Trilu, CumSum, OneHot, GatherElements,
   GatherND, ScatterElements, ScatterND, TopK and Einsum.

   Each result is compared with a reference written here from the ONNX operator text (the
   newest opset): float results against double precision, everything else exactly. Data
   comes from fixed seeds, with odd sizes (1, 3, 7, 17), negative axes and special values.
   Bad input is checked too: wrong dtypes (UNSUPPORTED), bad shapes (SHAPE) and indices out
   of range, which must fail the run (never read or write outside a tensor). */
#include "test.h"

#include <stdint.h>

#include "op_helpers.h"

/* ===== unary math and activations ===== */

typedef struct unary_spec {
    const char *op;
    double lo, hi;         /* random input range */
    const char *a1, *a2;   /* attribute names, or NULL */
    float v1, v2;          /* their values */
} unary_spec;

static const unary_spec unary_specs[] = {
    {"Floor", -10, 10, NULL, NULL, 0, 0},       {"Ceil", -10, 10, NULL, NULL, 0, 0},
    {"Round", -10, 10, NULL, NULL, 0, 0},       {"Sign", -3, 3, NULL, NULL, 0, 0},
    {"Sin", -7, 7, NULL, NULL, 0, 0},           {"Cos", -7, 7, NULL, NULL, 0, 0},
    {"Tan", -1.5, 1.5, NULL, NULL, 0, 0},       {"Asin", -1, 1, NULL, NULL, 0, 0},
    {"Acos", -1, 1, NULL, NULL, 0, 0},          {"Atan", -10, 10, NULL, NULL, 0, 0},
    {"Sinh", -9, 9, NULL, NULL, 0, 0},          {"Cosh", -9, 9, NULL, NULL, 0, 0},
    {"Asinh", -50, 50, NULL, NULL, 0, 0},       {"Acosh", 1, 50, NULL, NULL, 0, 0},
    {"Atanh", -0.99, 0.99, NULL, NULL, 0, 0},   {"Softplus", -30, 30, NULL, NULL, 0, 0},
    {"Softsign", -10, 10, NULL, NULL, 0, 0},    {"Elu", -5, 5, NULL, NULL, 0, 0},
    {"Elu", -5, 5, "alpha", NULL, 0.7f, 0},     {"Selu", -5, 5, NULL, NULL, 0, 0},
    {"Selu", -5, 5, "alpha", "gamma", 2.0f, 0.5f}, {"Celu", -5, 5, NULL, NULL, 0, 0},
    {"Celu", -5, 5, "alpha", NULL, 1.7f, 0},    {"ThresholdedRelu", -3, 3, NULL, NULL, 0, 0},
    {"ThresholdedRelu", -3, 3, "alpha", NULL, 0.4f, 0}, {"Mish", -10, 10, NULL, NULL, 0, 0},
    {"Shrink", -3, 3, NULL, NULL, 0, 0},        {"Shrink", -3, 3, "lambd", "bias", 1.2f, 0.3f},
};
#define N_UNARY_SPECS (sizeof unary_specs / sizeof unary_specs[0])

/* The ONNX formulas, evaluated in (long) double. */
static double ref_unary(const unary_spec *s, double x) {
    const char *op = s->op;
    double al = s->a1 ? s->v1 : !strcmp(op, "Selu") ? 1.67326319217681884765625 : 1.0;
    double g = s->a2 ? s->v2 : 1.05070102214813232421875;
    if (!strcmp(op, "Floor")) return floor(x);
    if (!strcmp(op, "Ceil")) return ceil(x);
    if (!strcmp(op, "Round")) return nearbyint(x); /* the default rounding mode: half to even */
    if (!strcmp(op, "Sign")) return x > 0 ? 1 : x < 0 ? -1 : x;
    if (!strcmp(op, "Sin")) return sin(x);
    if (!strcmp(op, "Cos")) return cos(x);
    if (!strcmp(op, "Tan")) return tan(x);
    if (!strcmp(op, "Asin")) return asin(x);
    if (!strcmp(op, "Acos")) return acos(x);
    if (!strcmp(op, "Atan")) return atan(x);
    if (!strcmp(op, "Sinh")) return sinh(x);
    if (!strcmp(op, "Cosh")) return cosh(x);
    if (!strcmp(op, "Asinh")) return asinh(x);
    if (!strcmp(op, "Acosh")) return acosh(x);
    if (!strcmp(op, "Atanh")) return atanh(x);
    if (!strcmp(op, "Softplus")) return x > 40 ? x + exp(-x) : (double)logl(1.0L + expl((long double)x));
    if (!strcmp(op, "Softsign")) return x / (1 + fabs(x));
    if (!strcmp(op, "Elu")) return x < 0 ? al * (exp(x) - 1) : x;
    if (!strcmp(op, "Selu")) return x > 0 ? g * x : g * (al * exp(x) - al);
    if (!strcmp(op, "Celu")) return isnan(x) ? x : fmax(0, x) + fmin(0, al * (exp(x / al) - 1));
    if (!strcmp(op, "ThresholdedRelu")) return x > al ? x : 0;
    if (!strcmp(op, "Mish")) {
        double sp = x > 40 ? x + exp(-x) : (double)logl(1.0L + expl((long double)x));
        return x * tanh(sp);
    }
    if (!strcmp(op, "Shrink")) {
        double lambd = s->a1 ? s->v1 : 0.5, bias = s->a2 ? s->v2 : 0.0;
        return x < -lambd ? x + bias : x > lambd ? x - bias : 0;
    }
    return NAN;
}

static const double unary_special[] = {0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 1.0, -1.0, 3.5, 1e6, -1e6, NAN, INFINITY, -INFINITY};
#define N_SPECIAL (sizeof unary_special / sizeof unary_special[0])

static void run_unary_case(const unary_spec *s, infer_dtype t, int r, const int64_t *d, int special) {
    int64_t n = numel(r, d), i;
    void *x = rand_tensor(t, n, s->lo, s->hi);
    double *want = (double *)xcalloc(n, sizeof(double));
    char what[128];
    op_case c;
    if (special)
        for (i = 0; i < n && i < (int64_t)N_SPECIAL; i++) put_d(x, t, i, unary_special[i]);
    for (i = 0; i < n; i++) want[i] = ref_unary(s, get_d(x, t, i));
    snprintf(what, sizeof what, "%s%s%s %s n=%lld%s", s->op, s->a1 ? " " : "", s->a1 ? s->a1 : "", infer_dtype_name(t),
             (long long)n, special ? " special" : "");
    op_init(&c, s->op);
    c.in[0] = op_in("x", t, r, d, x);
    c.n_in = 1;
    if (s->a1) c.attrs[c.n_attrs++] = infer_attr_float(s->a1, s->v1);
    if (s->a2) c.attrs[c.n_attrs++] = infer_attr_float(s->a2, s->v2);
    if (run_ok(&c, what) && out_is(&c, 0, t, r, d, what)) check_float(what, &c, 0, want, n, t == F32 ? 1e-5 : 1e-12);
    op_free(&c);
    free(x);
    free(want);
}

static void test_unary_float(void) {
    static const int64_t d1[1] = {17}, d2[2] = {3, 7}, d0[1] = {1}, d3[3] = {1, 3, 5};
    size_t k;
    test_seed(101);
    for (k = 0; k < N_UNARY_SPECS; k++) {
        run_unary_case(&unary_specs[k], F32, 1, d1, 0);
        run_unary_case(&unary_specs[k], F32, 1, d1, 1);
        run_unary_case(&unary_specs[k], F32, 2, d2, 0);
        run_unary_case(&unary_specs[k], F32, 1, d0, 0);
        run_unary_case(&unary_specs[k], F64, 3, d3, 0);
        run_unary_case(&unary_specs[k], F64, 1, d1, 1);
        run_unary_case(&unary_specs[k], F32, 0, NULL, 0); /* a scalar */
    }
}

/* Round: ties go to the even neighbour; the sign of zero stays. */
static void test_round_ties(void) {
    static const float x[12] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 0.49999997f, 8388609.0f, -0.2f, 2.5000002f, 1e30f, -3.5f};
    static const double want[12] = {0, 2, 2, -0.0, -2, -2, 0, 8388609.0, -0.0, 3, (double)1e30f, -4};
    static const int64_t d[1] = {12};
    op_case c;
    int i;
    op_init(&c, "Round");
    c.in[0] = op_in("x", F32, 1, d, x);
    c.n_in = 1;
    if (run_ok(&c, "Round ties")) {
        check_float("Round ties", &c, 0, want, 12, 0);
        for (i = 0; i < 12; i++) CHECK(!signbit(((float *)c.out[0].data)[i]) == !signbit(want[i]));
    }
    op_free(&c);
}

static void test_sign_int(void) {
    static const infer_dtype types[] = {I8, I16, I32, I64, U8, U16, U32, U64};
    static const int64_t d[1] = {17};
    size_t k;
    test_seed(102);
    for (k = 0; k < sizeof types / sizeof types[0]; k++) {
        infer_dtype t = types[k];
        int signed_t = t == I8 || t == I16 || t == I32 || t == I64;
        void *x = rand_tensor(t, 17, signed_t ? -100 : 0, 100);
        double want[17];
        op_case c;
        int i;
        put_d(x, t, 0, 0);
        for (i = 0; i < 17; i++) {
            double v = get_d(x, t, i);
            want[i] = v > 0 ? 1 : v < 0 ? -1 : 0;
        }
        op_init(&c, "Sign");
        c.in[0] = op_in("x", t, 1, d, x);
        c.n_in = 1;
        if (run_ok(&c, "Sign int") && out_is(&c, 0, t, 1, d, "Sign int")) check_exact("Sign int", &c, 0, want, 17);
        op_free(&c);
        free(x);
    }
}

/* IsNaN, IsInf -> bool; f16/bf16 are checked on their bits. */
static void test_is_nan_inf(void) {
    static const float xf[8] = {0.0f, -1.0f, NAN, INFINITY, -INFINITY, 3.0e38f, -NAN, 1e-40f};
    static const double xd[8] = {0.0, -1.0, NAN, INFINITY, -INFINITY, 1e308, -NAN, 4.9e-324};
    /* f16: 0, -1, NaN, +inf, -inf, max, -NaN, smallest subnormal; bf16 the same */
    static const uint16_t xh[8] = {0x0000, 0xBC00, 0x7E00, 0x7C00, 0xFC00, 0x7BFF, 0xFE01, 0x0001};
    static const uint16_t xb[8] = {0x0000, 0xBF80, 0x7FC0, 0x7F80, 0xFF80, 0x7F7F, 0xFF81, 0x0001};
    static const double nan_want[8] = {0, 0, 1, 0, 0, 0, 1, 0};
    static const int64_t d[1] = {8};
    const void *data[4] = {xf, xd, xh, xb};
    const infer_dtype types[4] = {F32, F64, F16, BF16};
    int k, neg, pos, i;
    for (k = 0; k < 4; k++) {
        op_case c;
        op_init(&c, "IsNaN");
        c.in[0] = op_in("x", types[k], 1, d, data[k]);
        c.n_in = 1;
        if (run_ok(&c, "IsNaN") && out_is(&c, 0, BOOL, 1, d, "IsNaN")) check_exact("IsNaN", &c, 0, nan_want, 8);
        op_free(&c);
        for (neg = 0; neg < 3; neg++)
            for (pos = 0; pos < 3; pos++) {
                double want[8];
                int dn = neg == 2 ? 1 : neg, dp = pos == 2 ? 1 : pos; /* 2: the attribute absent (default 1) */
                for (i = 0; i < 8; i++) want[i] = (i == 3 && dp) || (i == 4 && dn);
                op_init(&c, "IsInf");
                c.in[0] = op_in("x", types[k], 1, d, data[k]);
                c.n_in = 1;
                if (neg < 2) c.attrs[c.n_attrs++] = infer_attr_int("detect_negative", neg);
                if (pos < 2) c.attrs[c.n_attrs++] = infer_attr_int("detect_positive", pos);
                if (run_ok(&c, "IsInf") && out_is(&c, 0, BOOL, 1, d, "IsInf")) check_exact("IsInf", &c, 0, want, 8);
                op_free(&c);
            }
    }
}

static void test_unary_errors(void) {
    static const int64_t d[1] = {3};
    int32_t xi[3] = {1, 2, 3};
    uint8_t xb[3] = {0, 1, 0};
    op_case c;
    op_init(&c, "Floor");
    c.in[0] = op_in("x", I32, 1, d, xi);
    c.n_in = 1;
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype i32", "Floor on i32");
    op_init(&c, "IsNaN");
    c.in[0] = op_in("x", I32, 1, d, xi);
    c.n_in = 1;
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype i32", "IsNaN on i32");
    op_init(&c, "Sign");
    c.in[0] = op_in("x", BOOL, 1, d, xb);
    c.n_in = 1;
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype bool", "Sign on bool");
    op_init(&c, "Softplus");
    c.in[0] = op_in("x", F32, 1, d, xi);
    c.n_in = 1;
    c.attrs[c.n_attrs++] = infer_attr_float("alpha", 1.0f);
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "no attribute 'alpha'", "Softplus with alpha");
}

/* ===== binary: Mod, PRelu, Xor, Mean, BitShift ===== */

/* Index into x (rank rx, dims dx) of output element f, numpy broadcasting into [r]d. */
static int64_t bsrc(int r, const int64_t *d, int64_t f, int rx, const int64_t *dx) {
    int64_t idx[MAXD], off = 0;
    int i;
    unravel(f, r, d, idx);
    for (i = 0; i < rx; i++) off = off * dx[i] + (dx[i] == 1 ? 0 : idx[r - rx + i]);
    return off;
}

/* Python's a % b (the divisor's sign) from floor division, for moderate integers. */
static double ref_py_mod_int(double a, double b) {
    double q = floor(a / b); /* exact while |a| < 2^52 */
    return a - q * b;
}

static void test_mod_int(void) {
    static const infer_dtype types[] = {I8, I16, I32, I64, U8, U16, U32, U64};
    static const int64_t da[3] = {3, 1, 7}, db[1] = {7}, dy[3] = {3, 1, 7};
    size_t k;
    int fm;
    test_seed(201);
    for (k = 0; k < sizeof types / sizeof types[0]; k++)
        for (fm = 0; fm < 2; fm++) {
            infer_dtype t = types[k];
            int signed_t = t == I8 || t == I16 || t == I32 || t == I64;
            double hi = t == I8 ? 127 : t == U8 ? 255 : 30000;
            void *a = rand_tensor(t, 21, signed_t ? -hi : 0, hi), *b = rand_tensor(t, 7, signed_t ? -hi : 1, hi);
            double want[21];
            char what[64];
            op_case c;
            int64_t i;
            for (i = 0; i < 7; i++)
                if (get_d(b, t, i) == 0) put_d(b, t, i, 3);
            if (signed_t) put_d(b, t, 0, -1), put_d(b, t, 1, -7), put_d(a, t, 0, t == I8 ? -128 : -hi);
            for (i = 0; i < 21; i++) {
                double x = get_d(a, t, bsrc(3, dy, i, 3, da)), y = get_d(b, t, bsrc(3, dy, i, 1, db));
                want[i] = fm ? fmod(x, y) : ref_py_mod_int(x, y);
            }
            snprintf(what, sizeof what, "Mod %s fmod=%d", infer_dtype_name(t), fm);
            op_init(&c, "Mod");
            c.in[0] = op_in("a", t, 3, da, a);
            c.in[1] = op_in("b", t, 1, db, b);
            c.n_in = 2;
            c.attrs[c.n_attrs++] = infer_attr_int("fmod", fm);
            if (run_ok(&c, what) && out_is(&c, 0, t, 3, dy, what)) check_exact(what, &c, 0, want, 21);
            op_free(&c);
            free(a);
            free(b);
        }
}

static void test_mod_float(void) {
    static const int64_t d[1] = {17};
    static const infer_dtype types[2] = {F32, F64};
    int k, fm, i;
    test_seed(202);
    for (k = 0; k < 2; k++)
        for (fm = 0; fm < 2; fm++) {
            void *a = rand_tensor(types[k], 17, -20, 20), *b = rand_tensor(types[k], 17, -5, 5);
            double want[17];
            char what[64];
            op_case c;
            put_d(a, types[k], 0, 6), put_d(b, types[k], 0, 3);   /* exact multiple */
            put_d(a, types[k], 1, -6), put_d(b, types[k], 1, 3);
            put_d(a, types[k], 2, 5), put_d(b, types[k], 2, 0);   /* NaN */
            put_d(a, types[k], 3, INFINITY);                       /* NaN */
            for (i = 0; i < 17; i++) {
                double x = get_d(a, types[k], i), y = get_d(b, types[k], i), r = fmod(x, y);
                if (!fm && r != 0 && (r < 0) != (y < 0)) r += y; /* numpy mod: the divisor's sign */
                want[i] = r;
            }
            snprintf(what, sizeof what, "Mod %s fmod=%d", infer_dtype_name(types[k]), fm);
            op_init(&c, "Mod");
            c.in[0] = op_in("a", types[k], 1, d, a);
            c.in[1] = op_in("b", types[k], 1, d, b);
            c.n_in = 2;
            c.attrs[c.n_attrs++] = infer_attr_int("fmod", fm);
            if (run_ok(&c, what)) check_float(what, &c, 0, want, 17, types[k] == F32 ? 1e-6 : 1e-14);
            op_free(&c);
            free(a);
            free(b);
        }
}

static void test_mod_errors(void) {
    static const int64_t d[1] = {3};
    int32_t a[3] = {1, 2, 3}, b[3] = {1, 0, 2};
    float f[3] = {1, 2, 3};
    op_case c;
    op_init(&c, "Mod");
    c.in[0] = op_in("a", I32, 1, d, a);
    c.in[1] = op_in("b", I32, 1, d, b);
    c.n_in = 2;
    expect_fail(&c, INFER_STATUS_INVALID_ARGUMENT, "division by zero", "Mod by zero");
    op_init(&c, "Mod");
    c.in[0] = op_in("a", I32, 1, d, a);
    c.in[1] = op_in("b", F32, 1, d, f);
    c.n_in = 2;
    expect_fail(&c, INFER_STATUS_SHAPE, "dtype", "Mod of mixed dtypes");
}

static void test_prelu(void) {
    static const int64_t dx[4] = {2, 3, 4, 5}, ds1[3] = {3, 1, 1}, ds2[1] = {5}, ds3[4] = {1, 3, 4, 5}, ds0[1] = {1};
    const int64_t *ds[4] = {ds1, ds2, ds3, ds0};
    const int rs[4] = {3, 1, 4, 1};
    int k, i;
    test_seed(203);
    for (k = 0; k < 4; k++) {
        float *x = (float *)rand_tensor(F32, 120, -3, 3), *s = (float *)rand_tensor(F32, numel(rs[k], ds[k]), -1, 1);
        double want[120];
        op_case c;
        for (i = 0; i < 120; i++) {
            double v = x[i];
            want[i] = v < 0 ? v * s[bsrc(4, dx, i, rs[k], ds[k])] : v;
        }
        op_init(&c, "PRelu");
        c.in[0] = op_in("x", F32, 4, dx, x);
        c.in[1] = op_const("slope", F32, rs[k], ds[k], s);
        c.n_in = 2;
        if (run_ok(&c, "PRelu") && out_is(&c, 0, F32, 4, dx, "PRelu")) check_float("PRelu", &c, 0, want, 120, 1e-6);
        op_free(&c);
        free(x);
        free(s);
    }
    { /* integers */
        static const int64_t d[1] = {7};
        int64_t x[7] = {-3, -1, 0, 1, 5, -100, 7}, s[1] = {3};
        double want[7];
        op_case c;
        for (i = 0; i < 7; i++) want[i] = x[i] < 0 ? (double)(x[i] * 3) : (double)x[i];
        op_init(&c, "PRelu");
        c.in[0] = op_in("x", I64, 1, d, x);
        c.in[1] = op_in("slope", I64, 1, ds0, s);
        c.n_in = 2;
        if (run_ok(&c, "PRelu i64")) check_exact("PRelu i64", &c, 0, want, 7);
        op_free(&c);
    }
    { /* the slope may not widen X */
        static const int64_t d31[2] = {3, 1}, d34[2] = {3, 4};
        float x[12] = {0}, s[12] = {0};
        op_case c;
        op_init(&c, "PRelu");
        c.in[0] = op_in("x", F32, 2, d31, x);
        c.in[1] = op_in("slope", F32, 2, d34, s);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_SHAPE, "slope", "PRelu slope wider than X");
    }
}

static void test_xor(void) {
    static const int64_t da[2] = {3, 7}, db[2] = {1, 7};
    uint8_t a[21], b[7];
    double want[21];
    float f[21] = {0};
    op_case c;
    int i;
    test_seed(204);
    for (i = 0; i < 21; i++) a[i] = (uint8_t)test_int(0, 1);
    for (i = 0; i < 7; i++) b[i] = (uint8_t)test_int(0, 1);
    for (i = 0; i < 21; i++) want[i] = a[i] != b[i % 7];
    op_init(&c, "Xor");
    c.in[0] = op_in("a", BOOL, 2, da, a);
    c.in[1] = op_in("b", BOOL, 2, db, b);
    c.n_in = 2;
    if (run_ok(&c, "Xor") && out_is(&c, 0, BOOL, 2, da, "Xor")) check_exact("Xor", &c, 0, want, 21);
    op_free(&c);
    op_init(&c, "Xor");
    c.in[0] = op_in("a", F32, 2, da, f);
    c.in[1] = op_in("b", F32, 2, da, f);
    c.n_in = 2;
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "bool", "Xor on f32");
}

static void test_mean(void) {
    static const int64_t d0[3] = {3, 1, 7}, d1[1] = {7}, d2[3] = {1, 5, 1}, dy[3] = {3, 5, 7};
    const int64_t *ds[3] = {d0, d1, d2};
    const int rs[3] = {3, 1, 3};
    int n_in, k, t;
    test_seed(205);
    for (t = 0; t < 2; t++)
        for (n_in = 1; n_in <= 3; n_in++) {
            infer_dtype dt = t ? F64 : F32;
            void *x[3];
            double want[105];
            int64_t i, n;
            int ry = n_in == 1 ? 3 : 3;
            int64_t dyy[3];
            op_case c;
            memcpy(dyy, n_in == 1 ? d0 : dy, sizeof dyy);
            if (n_in == 2) dyy[1] = 1;
            n = numel(ry, dyy);
            op_init(&c, "Mean");
            for (k = 0; k < n_in; k++) {
                x[k] = rand_tensor(dt, numel(rs[k], ds[k]), -10, 10);
                c.in[k] = op_in(k == 0 ? "a" : k == 1 ? "b" : "c", dt, rs[k], ds[k], x[k]);
            }
            c.n_in = n_in;
            for (i = 0; i < n; i++) {
                double s = 0;
                for (k = 0; k < n_in; k++) s += get_d(x[k], dt, bsrc(ry, dyy, i, rs[k], ds[k]));
                want[i] = s / n_in;
            }
            if (run_ok(&c, "Mean") && out_is(&c, 0, dt, ry, dyy, "Mean")) check_float("Mean", &c, 0, want, n, dt == F32 ? 1e-6 : 1e-14);
            op_free(&c);
            for (k = 0; k < n_in; k++) free(x[k]);
        }
    {
        static const int64_t d[1] = {3};
        int32_t a[3] = {1, 2, 3};
        op_case c;
        op_init(&c, "Mean");
        c.in[0] = op_in("a", I32, 1, d, a);
        c.in[1] = op_in("b", I32, 1, d, a);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype i32", "Mean on i32");
    }
}

static void test_bit_shift(void) {
    static const infer_dtype types[4] = {U8, U16, U32, U64};
    static const int64_t d[1] = {17};
    int k, dir, i;
    test_seed(206);
    for (k = 0; k < 4; k++)
        for (dir = 0; dir < 2; dir++) {
            infer_dtype t = types[k];
            int bits = (int)infer_dtype_bytes(t) * 8;
            uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
            uint64_t xa[17], xb[17];
            void *a = xcalloc(17, infer_dtype_bytes(t)), *b = xcalloc(17, infer_dtype_bytes(t));
            double want[17];
            op_case c;
            for (i = 0; i < 17; i++) {
                xa[i] = test_rand_u64() & mask & 0xFFFFFFFFFFFFFull; /* below 2^52: exact as double */
                xb[i] = (uint64_t)test_int(0, bits + 2);
                if (i == 0) xb[i] = (uint64_t)bits;
                if (i == 1) xb[i] = 0;
                memcpy((uint8_t *)a + i * (int64_t)infer_dtype_bytes(t), &xa[i], infer_dtype_bytes(t));
                memcpy((uint8_t *)b + i * (int64_t)infer_dtype_bytes(t), &xb[i], infer_dtype_bytes(t));
                want[i] = xb[i] >= (uint64_t)bits ? 0 : (double)((dir ? xa[i] >> xb[i] : xa[i] << xb[i]) & mask & 0xFFFFFFFFFFFFFull);
            }
            op_init(&c, "BitShift");
            c.in[0] = op_in("a", t, 1, d, a);
            c.in[1] = op_in("b", t, 1, d, b);
            c.n_in = 2;
            c.attrs[c.n_attrs++] = infer_attr_string("direction", dir ? "RIGHT" : "LEFT");
            if (run_ok(&c, "BitShift")) {
                /* compare the low 52 bits only (get_d reads as double) */
                for (i = 0; i < 17; i++) {
                    uint64_t g = 0;
                    memcpy(&g, (uint8_t *)c.out[0].data + i * (int64_t)infer_dtype_bytes(t), infer_dtype_bytes(t));
                    CHECK((double)(g & 0xFFFFFFFFFFFFFull) == want[i]);
                    CHECK(g == (xb[i] >= (uint64_t)bits ? 0 : ((dir ? xa[i] >> xb[i] : xa[i] << xb[i]) & mask)));
                }
            }
            op_free(&c);
            free(a);
            free(b);
        }
    {
        int32_t a[1] = {1};
        uint8_t u[1] = {1};
        static const int64_t d1[1] = {1};
        op_case c;
        op_init(&c, "BitShift");
        c.in[0] = op_in("a", I32, 1, d1, a);
        c.in[1] = op_in("b", I32, 1, d1, a);
        c.n_in = 2;
        c.attrs[c.n_attrs++] = infer_attr_string("direction", "LEFT");
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "u8", "BitShift on i32");
        op_init(&c, "BitShift");
        c.in[0] = op_in("a", U8, 1, d1, u);
        c.in[1] = op_in("b", U8, 1, d1, u);
        c.n_in = 2;
        c.attrs[c.n_attrs++] = infer_attr_string("direction", "UP");
        expect_fail(&c, INFER_STATUS_SHAPE, "direction", "BitShift direction UP");
        op_init(&c, "BitShift");
        c.in[0] = op_in("a", U8, 1, d1, u);
        c.in[1] = op_in("b", U8, 1, d1, u);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_SHAPE, "direction", "BitShift without direction");
    }
}

/* ===== reductions ===== */

/* Reference of ReduceX over the axes in mask; empty sets give the ONNX-18 identities. */
static double ref_reduce(const char *op, const double *v, int64_t n) {
    int64_t i;
    double acc;
    if (!strcmp(op, "ReduceMin")) {
        acc = INFINITY;
        for (i = 0; i < n; i++) acc = isnan(v[i]) || isnan(acc) ? NAN : fmin(acc, v[i]);
        return acc;
    }
    if (!strcmp(op, "ReduceMax")) {
        acc = -INFINITY;
        for (i = 0; i < n; i++) acc = isnan(v[i]) || isnan(acc) ? NAN : fmax(acc, v[i]);
        return acc;
    }
    if (!strcmp(op, "ReduceProd")) {
        for (acc = 1, i = 0; i < n; i++) acc *= v[i];
        return acc;
    }
    if (!strcmp(op, "ReduceLogSumExp")) {
        long double s = 0;
        for (i = 0; i < n; i++) s += expl((long double)v[i]);
        return (double)logl(s);
    }
    for (acc = 0, i = 0; i < n; i++) {
        if (!strcmp(op, "ReduceL1")) acc += fabs(v[i]);
        else if (!strcmp(op, "ReduceL2") || !strcmp(op, "ReduceSumSquare")) acc += v[i] * v[i];
        else acc += v[i];
    }
    if (!strcmp(op, "ReduceL2")) return sqrt(acc);
    if (!strcmp(op, "ReduceLogSum")) return log(acc);
    return acc;
}

/* Runs one reduction of x (as doubles in xd, stored as dtype t in x) and checks it. */
static void run_reduce(const char *op, infer_dtype t, int r, const int64_t *d, const void *x, const double *xd,
                       const int64_t *axes, int n_axes, int keep, int noop, const char *what) {
    int64_t od[MAXD], kd[MAXD], idx[MAXD], n = numel(r, d), n_out, i;
    unsigned mask = 0;
    int ro = 0, j;
    double *want, *vals;
    op_case c;
    for (j = 0; j < n_axes; j++) mask |= 1u << (axes[j] < 0 ? axes[j] + r : axes[j]);
    if (n_axes == 0 && !noop) mask = (1u << r) - 1;
    for (j = 0; j < r; j++) {
        kd[j] = (mask & (1u << j)) ? 1 : d[j];
        if (!(mask & (1u << j))) od[ro++] = d[j];
        else if (keep) od[ro++] = 1;
    }
    n_out = numel(r, kd);
    want = (double *)xcalloc(n_out, sizeof(double));
    vals = (double *)xcalloc(n, sizeof(double));
    for (i = 0; i < n_out; i++) {
        int64_t m = 0, f;
        for (f = 0; f < n; f++) {
            int in_set = 1;
            unravel(f, r, d, idx);
            {
                int64_t oi[MAXD];
                unravel(i, r, kd, oi);
                for (j = 0; j < r; j++)
                    if (!(mask & (1u << j)) && idx[j] != oi[j]) in_set = 0;
            }
            if (in_set) vals[m++] = xd[f];
        }
        want[i] = ref_reduce(op, vals, m);
        if (t == I32) want[i] = (double)(int32_t)(int64_t)want[i];
    }
    op_init(&c, op);
    c.in[0] = op_in("x", t, r, d, x);
    c.n_in = 1;
    if (axes) {
        c.in[1] = ints_const("axes", n_axes, axes);
        c.n_in = 2;
    }
    if (keep != 1) c.attrs[c.n_attrs++] = infer_attr_int("keepdims", keep);
    if (noop) c.attrs[c.n_attrs++] = infer_attr_int("noop_with_empty_axes", 1);
    if (run_ok(&c, what) && out_is(&c, 0, t, ro, od, what)) {
        if (t == F32 || t == F64) check_float(what, &c, 0, want, n_out, t == F32 ? 2e-5 : 1e-11);
        else check_exact(what, &c, 0, want, n_out);
    }
    op_free(&c);
    free(want);
    free(vals);
}

static const char *const reduce_ops[] = {"ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
                                         "ReduceLogSumExp", "ReduceSumSquare", "ReduceMax"};
#define N_REDUCE_OPS (sizeof reduce_ops / sizeof reduce_ops[0])

static void test_reduce_float(void) {
    static const int64_t d[3] = {3, 7, 5}, a0[1] = {0}, am1[1] = {-1}, a02[2] = {0, 2}, am31[2] = {-3, 1}, all[3] = {2, 0, 1};
    const int64_t *axes[6] = {a0, am1, a02, am31, all, NULL};
    const int n_axes[6] = {1, 1, 2, 2, 3, 0};
    size_t k;
    int a, keep, t;
    test_seed(301);
    for (t = 0; t < 2; t++) {
        infer_dtype dt = t ? F64 : F32;
        for (k = 0; k < N_REDUCE_OPS; k++) {
            const char *op = reduce_ops[k];
            int positive = !strcmp(op, "ReduceLogSum");
            void *x = rand_tensor(dt, 105, positive ? 0.1 : -2, positive ? 3 : 2);
            double xd[105];
            int64_t i;
            for (i = 0; i < 105; i++) xd[i] = get_d(x, dt, i);
            for (a = 0; a < 6; a++)
                for (keep = 0; keep < 2; keep++) {
                    char what[96];
                    snprintf(what, sizeof what, "%s %s axes#%d keepdims=%d", op, infer_dtype_name(dt), a, keep);
                    run_reduce(op, dt, 3, d, x, xd, axes[a], n_axes[a], keep, 0, what);
                }
            free(x);
        }
    }
}

/* Odd sizes, noop_with_empty_axes, empty sets, large values for LogSumExp, NaN. */
static void test_reduce_edges(void) {
    static const int64_t d1[1] = {17}, d0[2] = {3, 0}, a1[1] = {1}, am1[1] = {-1}, none[1] = {0};
    size_t k;
    test_seed(302);
    for (k = 0; k < N_REDUCE_OPS; k++) {
        const char *op = reduce_ops[k];
        float x[17], e[1] = {0};
        double xd[17];
        int i;
        char what[96];
        for (i = 0; i < 17; i++) x[i] = (float)test_uniform(0.2, 2), xd[i] = x[i];
        snprintf(what, sizeof what, "%s [17]", op);
        run_reduce(op, F32, 1, d1, x, xd, am1, 1, 0, 0, what);
        snprintf(what, sizeof what, "%s noop", op);
        run_reduce(op, F32, 1, d1, x, xd, none, 0, 1, 1, what);
        snprintf(what, sizeof what, "%s empty set", op);
        run_reduce(op, F32, 2, d0, e, xd, a1, 1, 1, 0, what);
        snprintf(what, sizeof what, "%s [1]", op);
        run_reduce(op, F32, 1, d1 + 0, x, xd, NULL, 0, 1, 0, what);
        x[3] = NAN, xd[3] = NAN;
        if (strcmp(op, "ReduceLogSum")) { /* log of a sum with NaN is NaN too, but keep inputs in domain */
            snprintf(what, sizeof what, "%s NaN", op);
            run_reduce(op, F32, 1, d1, x, xd, am1, 1, 1, 0, what);
        }
    }
    { /* LogSumExp of large and of -inf values: no overflow, -inf stays */
        static const int64_t d[2] = {3, 3}, ax[1] = {1};
        float x[9] = {1000, 1001, 999, -INFINITY, -INFINITY, -INFINITY, -1000, 5, INFINITY};
        double want[3];
        op_case c;
        want[0] = 1001 + log(exp(-1.0) + 1 + exp(-2.0));
        want[1] = -INFINITY;
        want[2] = INFINITY;
        op_init(&c, "ReduceLogSumExp");
        c.in[0] = op_in("x", F32, 2, d, x);
        c.in[1] = ints_const("axes", 1, ax);
        c.n_in = 2;
        c.attrs[c.n_attrs++] = infer_attr_int("keepdims", 0);
        if (run_ok(&c, "LogSumExp large")) check_float("LogSumExp large", &c, 0, want, 3, 1e-6);
        op_free(&c);
    }
}

static void test_reduce_int(void) {
    static const char *const ops[] = {"ReduceMin", "ReduceProd", "ReduceL1", "ReduceSumSquare", "ReduceMax"};
    static const int64_t d[3] = {3, 7, 5}, a1[1] = {1}, am2[2] = {-1, 0};
    size_t k;
    int t;
    test_seed(303);
    for (t = 0; t < 2; t++)
        for (k = 0; k < sizeof ops / sizeof ops[0]; k++) {
            infer_dtype dt = t ? I64 : I32;
            int prod = !strcmp(ops[k], "ReduceProd");
            void *x = rand_tensor(dt, 105, prod ? -3 : -1000, prod ? 3 : 1000);
            double xd[105];
            int64_t i;
            char what[96];
            for (i = 0; i < 105; i++) xd[i] = get_d(x, dt, i);
            snprintf(what, sizeof what, "%s %s", ops[k], infer_dtype_name(dt));
            run_reduce(ops[k], dt, 3, d, x, xd, a1, 1, 1, 0, what);
            run_reduce(ops[k], dt, 3, d, x, xd, am2, 2, 0, 0, what);
            free(x);
        }
    { /* ReduceMin/Max over i8, u8 and bool (all / any) */
        static const infer_dtype small[3] = {I8, U8, BOOL};
        static const char *const mm[2] = {"ReduceMin", "ReduceMax"};
        static const int64_t d2[2] = {3, 7}, d20[2] = {3, 0};
        int m;
        for (t = 0; t < 3; t++)
            for (m = 0; m < 2; m++) {
                void *x = rand_tensor(small[t], 21, small[t] == I8 ? -128 : 0, small[t] == I8 ? 127 : 255);
                double xd[21], want[3];
                int64_t i;
                char what[96];
                op_case c;
                uint8_t e[1] = {0};
                for (i = 0; i < 21; i++) xd[i] = get_d(x, small[t], i);
                snprintf(what, sizeof what, "%s %s", mm[m], infer_dtype_name(small[t]));
                run_reduce(mm[m], small[t], 2, d2, x, xd, a1, 1, 0, 0, what);
                /* empty set: the dtype's max / min; bool: all() is true, any() false */
                op_init(&c, mm[m]);
                c.in[0] = op_in("x", small[t], 2, d20, e);
                c.in[1] = ints_const("axes", 1, a1);
                c.n_in = 2;
                for (i = 0; i < 3; i++)
                    want[i] = m == 0 ? (small[t] == I8 ? 127 : small[t] == U8 ? 255 : 1) : (small[t] == I8 ? -128 : 0);
                if (run_ok(&c, what)) check_exact(what, &c, 0, want, 3);
                op_free(&c);
                free(x);
            }
    }
}

static void test_reduce_errors(void) {
    static const int64_t d[2] = {3, 7}, ax[1] = {1};
    int32_t x[21] = {0};
    static const char *const float_only[] = {"ReduceL2", "ReduceLogSum", "ReduceLogSumExp"};
    size_t k;
    op_case c;
    for (k = 0; k < 3; k++) {
        op_init(&c, float_only[k]);
        c.in[0] = op_in("x", I32, 2, d, x);
        c.n_in = 1;
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype i32", float_only[k]);
    }
    op_init(&c, "ReduceProd");
    c.in[0] = op_in("x", U8, 2, d, x);
    c.n_in = 1;
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype u8", "ReduceProd u8");
    op_init(&c, "ReduceMin");
    c.in[0] = op_in("x", I32, 2, d, x);
    c.in[1] = ints_input("axes", 1, ax);
    c.n_in = 2;
    expect_fail(&c, INFER_STATUS_UNSUPPORTED, "known when the session is created", "ReduceMin run-time axes");
}

/* ===== ArgMin ===== */

static void test_arg_min(void) {
    static const int64_t d[3] = {3, 7, 5};
    int axis, last, keep;
    test_seed(401);
    for (axis = -3; axis < 3; axis++)
        for (last = 0; last < 2; last++)
            for (keep = 0; keep < 2; keep++) {
                float x[105];
                int64_t od[3], kd[3], idx[3], i, j, a = axis < 0 ? axis + 3 : axis;
                double want[35];
                int r = 0, q;
                op_case c;
                for (i = 0; i < 105; i++) x[i] = (float)test_int(-3, 3); /* many ties */
                x[7] = NAN;
                for (q = 0; q < 3; q++) {
                    kd[q] = q == a ? 1 : d[q];
                    if (q != a) od[r++] = d[q];
                    else if (keep) od[r++] = 1;
                }
                for (i = 0; i < numel(3, kd); i++) {
                    double best = 0;
                    int64_t bi = -1;
                    unravel(i, 3, kd, idx);
                    for (j = 0; j < d[a]; j++) {
                        double v;
                        idx[a] = j;
                        v = x[ravel(3, d, idx)];
                        if (bi < 0) best = v, bi = j;
                        else if (isnan(best)) continue;     /* the first NaN wins */
                        else if (isnan(v) || v < best || (last && v == best)) best = v, bi = j;
                    }
                    want[i] = (double)bi;
                }
                op_init(&c, "ArgMin");
                c.in[0] = op_in("x", F32, 3, d, x);
                c.n_in = 1;
                c.attrs[c.n_attrs++] = infer_attr_int("axis", axis);
                c.attrs[c.n_attrs++] = infer_attr_int("keepdims", keep);
                c.attrs[c.n_attrs++] = infer_attr_int("select_last_index", last);
                if (run_ok(&c, "ArgMin") && out_is(&c, 0, I64, r, od, "ArgMin")) check_exact("ArgMin", &c, 0, want, numel(3, kd));
                op_free(&c);
            }
    {
        static const int64_t d1[1] = {5};
        int32_t x[5] = {4, -2, 7, -2, 9};
        double want[1] = {1};
        op_case c;
        op_init(&c, "ArgMin");
        c.in[0] = op_in("x", I32, 1, d1, x);
        c.n_in = 1;
        if (run_ok(&c, "ArgMin i32")) check_exact("ArgMin i32", &c, 0, want, 1);
        op_free(&c);
    }
}

/* ===== GlobalMaxPool, InstanceNormalization, LpNormalization, Hardmax ===== */

static void test_global_max_pool(void) {
    static const int64_t d[4] = {2, 3, 5, 7}, dy[4] = {2, 3, 1, 1}, d3[3] = {1, 3, 17}, dy3[3] = {1, 3, 1};
    int k;
    test_seed(501);
    for (k = 0; k < 2; k++) {
        const int64_t *dd = k ? d3 : d, *dyy = k ? dy3 : dy;
        int r = k ? 3 : 4;
        int64_t n = numel(r, dd), per = n / (dd[0] * dd[1]), i, j;
        float *x = (float *)rand_tensor(F32, n, -100, 100);
        double want[6];
        op_case c;
        x[5] = NAN;
        for (i = 0; i < dd[0] * dd[1]; i++) {
            double m = -INFINITY;
            for (j = 0; j < per; j++) m = isnan(x[i * per + j]) || isnan(m) ? NAN : fmax(m, x[i * per + j]);
            want[i] = m;
        }
        op_init(&c, "GlobalMaxPool");
        c.in[0] = op_in("x", F32, r, dd, x);
        c.n_in = 1;
        if (run_ok(&c, "GlobalMaxPool") && out_is(&c, 0, F32, r, dyy, "GlobalMaxPool"))
            check_float("GlobalMaxPool", &c, 0, want, dd[0] * dd[1], 0);
        op_free(&c);
        free(x);
    }
}

static void test_instance_norm(void) {
    static const int64_t d4[4] = {2, 3, 7, 5}, d3[3] = {1, 3, 17}, dc[1] = {3};
    int k;
    test_seed(502);
    for (k = 0; k < 2; k++) {
        const int64_t *d = k ? d3 : d4;
        int r = k ? 3 : 4;
        int64_t n = numel(r, d), per = n / (d[0] * d[1]), i, j;
        float *x = (float *)rand_tensor(F32, n, -5, 9), sc[3], b[3];
        double *want = (double *)xcalloc(n, sizeof(double)), eps = k ? 1e-5 : 0.01;
        op_case c;
        test_fill(sc, 3, -2, 2);
        test_fill(b, 3, -1, 1);
        for (i = 0; i < d[0] * d[1]; i++) {
            double mean = 0, var = 0;
            for (j = 0; j < per; j++) mean += x[i * per + j];
            mean /= (double)per;
            for (j = 0; j < per; j++) var += (x[i * per + j] - mean) * (x[i * per + j] - mean);
            var /= (double)per;
            for (j = 0; j < per; j++)
                want[i * per + j] = sc[i % 3] * (x[i * per + j] - mean) / sqrt(var + (float)eps) + b[i % 3];
        }
        op_init(&c, "InstanceNormalization");
        c.in[0] = op_in("x", F32, r, d, x);
        c.in[1] = op_const("scale", F32, 1, dc, sc);
        c.in[2] = op_const("b", F32, 1, dc, b);
        c.n_in = 3;
        if (!k) c.attrs[c.n_attrs++] = infer_attr_float("epsilon", 0.01f);
        if (run_ok(&c, "InstanceNormalization") && out_is(&c, 0, F32, r, d, "InstanceNormalization"))
            check_float("InstanceNormalization", &c, 0, want, n, 1e-5);
        op_free(&c);
        free(x);
        free(want);
    }
    {
        static const int64_t d2[2] = {2, 3}, d4b[1] = {4};
        float x[24] = {0}, s[4] = {1, 1, 1, 1};
        op_case c;
        op_init(&c, "InstanceNormalization");
        c.in[0] = op_in("x", F32, 4, d4, x);
        c.in[1] = op_in("scale", F32, 1, d4b, s);
        c.in[2] = op_in("b", F32, 1, dc, s);
        c.n_in = 3;
        expect_fail(&c, INFER_STATUS_SHAPE, "input 1 must be f32 [3]", "InstanceNormalization scale [4]");
        op_init(&c, "InstanceNormalization");
        c.in[0] = op_in("x", F32, 2, d2, x);
        c.in[1] = op_in("scale", F32, 1, dc, s);
        c.in[2] = op_in("b", F32, 1, dc, s);
        c.n_in = 3;
        expect_fail(&c, INFER_STATUS_SHAPE, "rank >= 3", "InstanceNormalization rank 2");
    }
}

static void test_lp_norm(void) {
    static const int64_t d[3] = {3, 7, 5};
    int p, axis;
    test_seed(503);
    for (p = 1; p <= 2; p++)
        for (axis = -3; axis < 3; axis++) {
            float *x = (float *)rand_tensor(F32, 105, -4, 4);
            double want[105];
            int64_t i, j, idx[3], a = axis < 0 ? axis + 3 : axis;
            op_case c;
            if (axis == 2) /* a zero row stays 0 (the ONNX test data: 0 where the norm is 0) */
                for (j = 0; j < 5; j++) x[j] = 0;
            for (i = 0; i < 105; i++) {
                double norm = 0;
                unravel(i, 3, d, idx);
                for (j = 0; j < d[a]; j++) {
                    double v;
                    idx[a] = j;
                    v = x[ravel(3, d, idx)];
                    norm += p == 1 ? fabs(v) : v * v;
                }
                if (p == 2) norm = sqrt(norm);
                want[i] = norm == 0 ? 0 : x[i] / norm;
            }
            op_init(&c, "LpNormalization");
            c.in[0] = op_in("x", F32, 3, d, x);
            c.n_in = 1;
            c.attrs[c.n_attrs++] = infer_attr_int("p", p);
            if (axis != -1) c.attrs[c.n_attrs++] = infer_attr_int("axis", axis);
            if (run_ok(&c, "LpNormalization") && out_is(&c, 0, F32, 3, d, "LpNormalization"))
                check_float("LpNormalization", &c, 0, want, 105, 1e-5);
            op_free(&c);
            free(x);
        }
    {
        float x[3] = {1, 2, 3};
        static const int64_t d1[1] = {3};
        op_case c;
        op_init(&c, "LpNormalization");
        c.in[0] = op_in("x", F32, 1, d1, x);
        c.n_in = 1;
        c.attrs[c.n_attrs++] = infer_attr_int("p", 3);
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "p = 3", "LpNormalization p=3");
    }
}

static void test_hardmax(void) {
    static const int64_t d[3] = {3, 7, 5};
    int axis;
    test_seed(504);
    for (axis = -3; axis < 3; axis++) {
        float x[105];
        double want[105];
        int64_t i, j, idx[3], a = axis < 0 ? axis + 3 : axis;
        op_case c;
        for (i = 0; i < 105; i++) x[i] = (float)test_int(-2, 2); /* ties: the first wins */
        for (i = 0; i < 105; i++) {
            int64_t bi = 0, me;
            double best = -INFINITY;
            unravel(i, 3, d, idx);
            me = idx[a];
            for (j = 0; j < d[a]; j++) {
                idx[a] = j;
                if (x[ravel(3, d, idx)] > best) best = x[ravel(3, d, idx)], bi = j;
            }
            want[i] = me == bi;
        }
        op_init(&c, "Hardmax");
        c.in[0] = op_in("x", F32, 3, d, x);
        c.n_in = 1;
        if (axis != -1) c.attrs[c.n_attrs++] = infer_attr_int("axis", axis);
        if (run_ok(&c, "Hardmax") && out_is(&c, 0, F32, 3, d, "Hardmax")) check_exact("Hardmax", &c, 0, want, 105);
        op_free(&c);
    }
}

/* ===== DepthToSpace, SpaceToDepth: the reshape / transpose / reshape of the ONNX text ===== */

/* y = transpose(x viewed with dims d[r], perm), row-major; esz-byte elements. */
static void ref_transpose(const void *x, void *y, int r, const int64_t *d, const int *perm, size_t esz) {
    int64_t yd[MAXD], yi[MAXD], xi[MAXD], n = numel(r, d), f;
    int i;
    for (i = 0; i < r; i++) yd[i] = d[perm[i]];
    for (f = 0; f < n; f++) {
        unravel(f, r, yd, yi);
        for (i = 0; i < r; i++) xi[perm[i]] = yi[i];
        memcpy((uint8_t *)y + f * (int64_t)esz, (const uint8_t *)x + ravel(r, d, xi) * (int64_t)esz, esz);
    }
}

static void test_depth_space(void) {
    static const infer_dtype types[3] = {F32, I64, U8};
    static const int64_t shapes[3][5] = {{2, 8, 3, 1, 2}, {1, 27, 2, 3, 3}, {1, 4, 1, 1, 2}}; /* N C H W b */
    int s, t, mode;
    test_seed(601);
    for (s = 0; s < 3; s++)
        for (t = 0; t < 3; t++)
            for (mode = 0; mode < 3; mode++) { /* DCR, CRD, SpaceToDepth */
                const int64_t *sh = shapes[s];
                int64_t b = sh[4], n_el = sh[0] * sh[1] * sh[2] * sh[3], xd[4], yd[4], t6[6];
                size_t esz = infer_dtype_bytes(types[t]);
                void *x = rand_tensor(types[t], n_el, 0, 100), *want = xcalloc(n_el, esz);
                static const int dcr[6] = {0, 3, 4, 1, 5, 2}, crd[6] = {0, 1, 4, 2, 5, 3}, s2d[6] = {0, 3, 5, 1, 2, 4};
                char what[96];
                op_case c;
                if (mode < 2) {
                    xd[0] = sh[0], xd[1] = sh[1], xd[2] = sh[2], xd[3] = sh[3];
                    yd[0] = sh[0], yd[1] = sh[1] / (b * b), yd[2] = sh[2] * b, yd[3] = sh[3] * b;
                    if (mode == 0) t6[0] = sh[0], t6[1] = b, t6[2] = b, t6[3] = sh[1] / (b * b), t6[4] = sh[2], t6[5] = sh[3];
                    else t6[0] = sh[0], t6[1] = sh[1] / (b * b), t6[2] = b, t6[3] = b, t6[4] = sh[2], t6[5] = sh[3];
                    ref_transpose(x, want, 6, t6, mode == 0 ? dcr : crd, esz);
                } else { /* the input is the DepthToSpace output shape */
                    xd[0] = sh[0], xd[1] = sh[1] / (b * b), xd[2] = sh[2] * b, xd[3] = sh[3] * b;
                    yd[0] = sh[0], yd[1] = sh[1], yd[2] = sh[2], yd[3] = sh[3];
                    t6[0] = xd[0], t6[1] = xd[1], t6[2] = sh[2], t6[3] = b, t6[4] = sh[3], t6[5] = b;
                    ref_transpose(x, want, 6, t6, s2d, esz);
                }
                snprintf(what, sizeof what, "%s %s shape#%d", mode == 2 ? "SpaceToDepth" : mode ? "DepthToSpace CRD" : "DepthToSpace DCR",
                         infer_dtype_name(types[t]), s);
                op_init(&c, mode == 2 ? "SpaceToDepth" : "DepthToSpace");
                c.in[0] = op_in("x", types[t], 4, xd, x);
                c.n_in = 1;
                c.attrs[c.n_attrs++] = infer_attr_int("blocksize", b);
                if (mode == 1) c.attrs[c.n_attrs++] = infer_attr_string("mode", "CRD");
                if (run_ok(&c, what) && out_is(&c, 0, types[t], 4, yd, what) && memcmp(c.out[0].data, want, (size_t)n_el * esz)) {
                    printf("  %s: wrong data\n", what);
                    test__failed_checks++;
                }
                op_free(&c);
                free(x);
                free(want);
            }
    {
        static const int64_t d[4] = {1, 6, 2, 2}, d3[3] = {1, 4, 2};
        float x[24] = {0};
        op_case c;
        op_init(&c, "DepthToSpace");
        c.in[0] = op_in("x", F32, 4, d, x);
        c.n_in = 1;
        c.attrs[c.n_attrs++] = infer_attr_int("blocksize", 2);
        expect_fail(&c, INFER_STATUS_SHAPE, "multiple", "DepthToSpace C=6 b=2");
        op_init(&c, "SpaceToDepth");
        c.in[0] = op_in("x", F32, 4, d, x);
        c.n_in = 1;
        c.attrs[c.n_attrs++] = infer_attr_int("blocksize", 3);
        expect_fail(&c, INFER_STATUS_SHAPE, "multiples", "SpaceToDepth H=2 b=3");
        op_init(&c, "DepthToSpace");
        c.in[0] = op_in("x", F32, 3, d3, x);
        c.n_in = 1;
        c.attrs[c.n_attrs++] = infer_attr_int("blocksize", 2);
        expect_fail(&c, INFER_STATUS_SHAPE, "rank 4", "DepthToSpace rank 3");
        op_init(&c, "DepthToSpace");
        c.in[0] = op_in("x", F32, 4, d, x);
        c.n_in = 1;
        c.attrs[c.n_attrs++] = infer_attr_int("blocksize", 1);
        c.attrs[c.n_attrs++] = infer_attr_string("mode", "XYZ");
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "mode 'XYZ'", "DepthToSpace mode XYZ");
        op_init(&c, "DepthToSpace");
        c.in[0] = op_in("x", F32, 4, d, x);
        c.n_in = 1;
        expect_fail(&c, INFER_STATUS_SHAPE, "blocksize", "DepthToSpace without blocksize");
    }
}

/* ===== Trilu, CumSum ===== */

static void test_trilu(void) {
    static const int64_t shapes[4][3] = {{3, 7, 0}, {2, 7, 3}, {1, 1, 0}, {17, 3, 0}};
    static const int ranks[4] = {2, 3, 2, 2};
    static const int64_t ks[8] = {0, 1, -1, 2, -5, 7, INT64_MAX, INT64_MIN};
    int s, upper, ki, absent, runtime;
    test_seed(701);
    for (s = 0; s < 4; s++)
        for (upper = 0; upper < 2; upper++)
            for (ki = 0; ki < 8; ki++)
                for (runtime = 0; runtime < 2; runtime++) {
                    int r = ranks[s];
                    const int64_t *d = shapes[s];
                    int64_t n = numel(r, d), rows = d[r - 2], cols = d[r - 1], i, k = ks[ki];
                    void *x = rand_tensor(ki % 2 ? I64 : F32, n, -50, 50);
                    double *want = (double *)xcalloc(n, sizeof(double));
                    infer_dtype t = ki % 2 ? I64 : F32;
                    op_case c;
                    absent = ki == 0 && runtime; /* k absent means 0 */
                    for (i = 0; i < n; i++) {
                        int64_t row = (i / cols) % rows, col = i % cols;
                        /* upper keeps j - i >= k; lower keeps j - i <= k (in long double: no overflow) */
                        long double diff = (long double)col - (long double)row;
                        int keep = upper ? diff >= (long double)k : diff <= (long double)k;
                        want[i] = keep ? get_d(x, t, i) : 0;
                    }
                    op_init(&c, "Trilu");
                    c.in[0] = op_in("x", t, r, d, x);
                    c.n_in = 1;
                    if (!absent) {
                        c.in[1] = runtime ? op_in("k", I64, 0, NULL, &ks[ki]) : scalar_const("k", &ks[ki]);
                        c.n_in = 2;
                    }
                    if (upper == 0) c.attrs[c.n_attrs++] = infer_attr_int("upper", 0);
                    if (run_ok(&c, "Trilu") && out_is(&c, 0, t, r, d, "Trilu")) check_exact("Trilu", &c, 0, want, n);
                    op_free(&c);
                    free(x);
                    free(want);
                }
    {
        static const int64_t d1[1] = {5}, d2[2] = {2, 2}, kk[2] = {1, 2};
        float x[5] = {0};
        op_case c;
        op_init(&c, "Trilu");
        c.in[0] = op_in("x", F32, 1, d1, x);
        c.n_in = 1;
        expect_fail(&c, INFER_STATUS_SHAPE, "rank >= 2", "Trilu rank 1");
        op_init(&c, "Trilu");
        c.in[0] = op_in("x", F32, 2, d2, x);
        c.in[1] = ints_const("k", 2, kk);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_SHAPE, "one value", "Trilu with two k");
    }
}

static void test_cum_sum(void) {
    static const int64_t d[3] = {3, 7, 5};
    static const infer_dtype types[5] = {F32, F64, I32, I64, U8};
    int t, axis, ex, rev, i32axis;
    test_seed(702);
    for (t = 0; t < 5; t++)
        for (axis = -3; axis < 3; axis++)
            for (ex = 0; ex < 2; ex++)
                for (rev = 0; rev < 2; rev++) {
                    void *x = rand_tensor(types[t], 105, types[t] == U8 ? 0 : -50, 50);
                    double want[105];
                    int64_t i, j, idx[3], a = axis < 0 ? axis + 3 : axis, ax64 = axis;
                    int32_t ax32 = axis;
                    op_case c;
                    i32axis = (axis + ex) & 1;
                    for (i = 0; i < 105; i++) {
                        double s = 0;
                        int64_t me;
                        unravel(i, 3, d, idx);
                        me = idx[a];
                        for (j = 0; j < d[a]; j++) {
                            int in = rev ? (ex ? j > me : j >= me) : (ex ? j < me : j <= me);
                            idx[a] = j;
                            if (in) s += get_d(x, types[t], ravel(3, d, idx));
                        }
                        want[i] = types[t] == U8 ? (double)(uint8_t)(int64_t)s : s;
                    }
                    op_init(&c, "CumSum");
                    c.in[0] = op_in("x", types[t], 3, d, x);
                    c.in[1] = i32axis ? op_in("axis", I32, 0, NULL, &ax32) : op_in("axis", I64, 0, NULL, &ax64);
                    c.n_in = 2;
                    if (ex) c.attrs[c.n_attrs++] = infer_attr_int("exclusive", 1);
                    if (rev) c.attrs[c.n_attrs++] = infer_attr_int("reverse", 1);
                    if (run_ok(&c, "CumSum") && out_is(&c, 0, types[t], 3, d, "CumSum")) {
                        if (types[t] == F32 || types[t] == F64) check_float("CumSum", &c, 0, want, 105, 1e-5);
                        else check_exact("CumSum", &c, 0, want, 105);
                    }
                    op_free(&c);
                    free(x);
                }
    {
        static const int64_t d1[1] = {3};
        float x[3] = {1, 2, 3};
        int64_t bad = 1, bad2 = -2;
        float fa = 0;
        op_case c;
        op_init(&c, "CumSum");
        c.in[0] = op_in("x", F32, 1, d1, x);
        c.in[1] = op_in("axis", I64, 0, NULL, &bad);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_INVALID_ARGUMENT, "out of range", "CumSum axis 1 of rank 1");
        op_init(&c, "CumSum");
        c.in[0] = op_in("x", F32, 1, d1, x);
        c.in[1] = op_in("axis", I64, 0, NULL, &bad2);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_INVALID_ARGUMENT, "out of range", "CumSum axis -2 of rank 1");
        op_init(&c, "CumSum");
        c.in[0] = op_in("x", F32, 1, d1, x);
        c.in[1] = op_in("axis", F32, 0, NULL, &fa);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype f32", "CumSum float axis");
        op_init(&c, "CumSum");
        c.in[0] = op_in("x", BOOL, 1, d1, x);
        c.in[1] = op_in("axis", I64, 0, NULL, &bad);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype bool", "CumSum bool");
    }
}

/* ===== OneHot ===== */

static void test_one_hot(void) {
    static const int64_t di[2] = {3, 5};
    int axis, it, dt, vt;
    test_seed(801);
    for (axis = -3; axis < 3; axis++)
        for (it = 0; it < 3; it++)      /* indices i64, i32, f32 */
            for (dt = 0; dt < 2; dt++)  /* depth i64, f32 */
                for (vt = 0; vt < 2; vt++) { /* values f32, i64 */
                    infer_dtype ti = it == 0 ? I64 : it == 1 ? I32 : F32, tv = vt ? I64 : F32;
                    int64_t depth = 7, dep64 = 7, yd[3], a = axis < 0 ? axis + 3 : axis, i, idx[3], ii[2];
                    float depf = 7.9f; /* cast to 7 */
                    void *ix = xcalloc(15, infer_dtype_bytes(ti)), *vals = xcalloc(2, infer_dtype_bytes(tv));
                    double want[105];
                    op_case c;
                    for (i = 0; i < 15; i++) put_d(ix, ti, i, (double)test_int(-9, 9)); /* some out of range */
                    if (ti == F32) ((float *)ix)[0] = -2.5f, ((float *)ix)[1] = 3.7f; /* cast toward zero: -2, 3 */
                    put_d(vals, tv, 0, -3), put_d(vals, tv, 1, 11);
                    for (i = 0; i < 3; i++) yd[i] = i < a ? di[i] : i == a ? depth : di[i - 1];
                    for (i = 0; i < 105; i++) {
                        int64_t k, pos;
                        double kv;
                        unravel(i, 3, yd, idx);
                        pos = idx[a];
                        ii[0] = idx[a == 0 ? 1 : 0], ii[1] = idx[a == 2 ? 1 : 2];
                        kv = get_d(ix, ti, ravel(2, di, ii));
                        k = (int64_t)kv; /* toward zero */
                        if (k < 0) k += depth;
                        want[i] = k == pos && kv >= -depth && kv < depth ? 11 : -3;
                        if (!(kv > -depth - 1 && kv < depth)) want[i] = -3; /* out of range: off */
                    }
                    op_init(&c, "OneHot");
                    c.in[0] = op_in("indices", ti, 2, di, ix);
                    c.in[1] = dt ? op_const("depth", F32, 0, NULL, &depf) : op_const("depth", I64, 0, NULL, &dep64);
                    {
                        static const int64_t two[1] = {2};
                        c.in[2] = op_in("values", tv, 1, two, vals);
                    }
                    c.n_in = 3;
                    if (axis != -1) c.attrs[c.n_attrs++] = infer_attr_int("axis", axis);
                    if (run_ok(&c, "OneHot") && out_is(&c, 0, tv, 3, yd, "OneHot")) check_exact("OneHot", &c, 0, want, 105);
                    op_free(&c);
                    free(ix);
                    free(vals);
                }
    {
        static const int64_t d1[1] = {3}, two[1] = {2}, three[1] = {3};
        int64_t ix[3] = {0, 1, 2}, depth = 4;
        float v[3] = {0, 1, 2};
        op_case c;
        op_init(&c, "OneHot");
        c.in[0] = op_in("indices", I64, 1, d1, ix);
        c.in[1] = op_in("depth", I64, 0, NULL, &depth);
        c.in[2] = op_in("values", F32, 1, two, v);
        c.n_in = 3;
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "known when the session is created", "OneHot run-time depth");
        op_init(&c, "OneHot");
        c.in[0] = op_in("indices", I64, 1, d1, ix);
        c.in[1] = op_const("depth", I64, 0, NULL, &depth);
        c.in[2] = op_in("values", F32, 1, three, v);
        c.n_in = 3;
        expect_fail(&c, INFER_STATUS_SHAPE, "off_value", "OneHot three values");
        op_init(&c, "OneHot");
        c.in[0] = op_in("indices", I64, 1, d1, ix);
        c.in[1] = op_const("depth", I64, 0, NULL, &depth);
        c.in[2] = op_in("values", F32, 1, two, v);
        c.n_in = 3;
        c.attrs[c.n_attrs++] = infer_attr_int("axis", 2);
        expect_fail(&c, INFER_STATUS_SHAPE, "out of range", "OneHot axis 2 for rank 1");
    }
}

/* ===== GatherElements, ScatterElements ===== */

static void test_gather_elements(void) {
    static const int64_t dx[3] = {3, 7, 5};
    int axis, t, cst;
    test_seed(901);
    for (axis = -3; axis < 3; axis++)
        for (t = 0; t < 2; t++)
            for (cst = 0; cst < 2; cst++) {
                int64_t a = axis < 0 ? axis + 3 : axis, di[3], n, i, idx[3];
                infer_dtype ti = t ? I32 : I64;
                float *x = (float *)rand_tensor(F32, 105, -9, 9);
                void *ix;
                double *want;
                op_case c;
                di[0] = 2, di[1] = 7, di[2] = 3;
                di[a] = 4; /* along the axis any count; off it no more than data */
                n = numel(3, di);
                ix = xcalloc(n, infer_dtype_bytes(ti));
                want = (double *)xcalloc(n, sizeof(double));
                for (i = 0; i < n; i++) put_d(ix, ti, i, (double)test_int(-dx[a], dx[a] - 1));
                for (i = 0; i < n; i++) {
                    int64_t k = (int64_t)get_d(ix, ti, i);
                    unravel(i, 3, di, idx);
                    idx[a] = k < 0 ? k + dx[a] : k;
                    want[i] = x[ravel(3, dx, idx)];
                }
                op_init(&c, "GatherElements");
                c.in[0] = cst ? op_const("x", F32, 3, dx, x) : op_in("x", F32, 3, dx, x);
                c.in[1] = cst ? op_const("i", ti, 3, di, ix) : op_in("i", ti, 3, di, ix);
                c.n_in = 2;
                c.attrs[c.n_attrs++] = infer_attr_int("axis", axis);
                if (run_ok(&c, "GatherElements") && out_is(&c, 0, F32, 3, di, "GatherElements"))
                    check_exact("GatherElements", &c, 0, want, n);
                op_free(&c);
                free(x);
                free(ix);
                free(want);
            }
    {
        static const int64_t d2[2] = {3, 4}, di2[2] = {2, 4}, dbig[2] = {4, 4}, dr[1] = {4};
        float x[12] = {0};
        int64_t bad_hi[8] = {0, 1, 2, 3, 0, 3, 1, 3}, bad_lo[8] = {0, 1, 2, -4, 0, 0, 0, 0}, ok[16] = {0};
        op_case c;
        op_init(&c, "GatherElements");
        c.in[0] = op_in("x", F32, 2, d2, x);
        c.in[1] = op_in("i", I64, 2, di2, bad_hi);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_INVALID_ARGUMENT, "index 3 is out of range", "GatherElements index 3 on axis 0 of 3");
        op_init(&c, "GatherElements");
        c.in[0] = op_in("x", F32, 2, d2, x);
        c.in[1] = op_in("i", I64, 2, di2, bad_lo);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_INVALID_ARGUMENT, "index -4 is out of range", "GatherElements index -4");
        op_init(&c, "GatherElements"); /* constant inputs fold at creation: the error comes from there */
        c.in[0] = op_const("x", F32, 2, d2, x);
        c.in[1] = op_const("i", I64, 2, di2, bad_hi);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_INVALID_ARGUMENT, "out of range", "GatherElements constant index 3");
        op_init(&c, "GatherElements");
        c.in[0] = op_in("x", F32, 2, d2, x);
        c.in[1] = op_in("i", I64, 2, dbig, ok);
        c.in[1].dims[0] = 2, c.in[1].dims[1] = 5;
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_SHAPE, "larger than data", "GatherElements indices wider than data");
        op_init(&c, "GatherElements");
        c.in[0] = op_in("x", F32, 2, d2, x);
        c.in[1] = op_in("i", I64, 1, dr, ok);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_SHAPE, "differ in rank", "GatherElements rank 1 indices");
        op_init(&c, "GatherElements");
        c.in[0] = op_in("x", F32, 2, d2, x);
        c.in[1] = op_in("i", F32, 2, di2, x);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype f32", "GatherElements f32 indices");
    }
}

/* Reference of one scatter update: 0 none, 1 add, 2 mul, 3 max, 4 min. */
static double ref_scatter(double a, double b, int red) {
    switch (red) {
    case 1: return a + b;
    case 2: return a * b;
    case 3: return fmax(a, b);
    case 4: return fmin(a, b);
    default: return b;
    }
}
static const char *const reductions[5] = {"none", "add", "mul", "max", "min"};

static void test_scatter_elements(void) {
    static const int64_t dx[3] = {3, 7, 5};
    int axis, red, t;
    test_seed(902);
    for (axis = -3; axis < 3; axis++)
        for (red = 0; red < 5; red++)
            for (t = 0; t < 2; t++) {
                infer_dtype dt = t ? I64 : F32;
                int64_t a = axis < 0 ? axis + 3 : axis, di[3], n, i, j, idx[3], *ix;
                void *x = rand_tensor(dt, 105, -9, 9), *u;
                double want[105];
                char what[96];
                op_case c;
                di[0] = 2, di[1] = 7, di[2] = 3;
                di[a] = 2;
                n = numel(3, di);
                ix = (int64_t *)xcalloc(n, sizeof(int64_t));
                u = rand_tensor(dt, n, -9, 9);
                /* distinct targets along the axis for "none" (duplicates have no defined order) */
                for (i = 0; i < n; i++) {
                    unravel(i, 3, di, idx);
                    ix[i] = red == 0 ? (idx[a] == 0 ? -1 : 1) : test_int(-dx[a], dx[a] - 1);
                }
                for (i = 0; i < 105; i++) want[i] = get_d(x, dt, i);
                for (j = 0; j < n; j++) {
                    int64_t k = ix[j], f;
                    unravel(j, 3, di, idx);
                    idx[a] = k < 0 ? k + dx[a] : k;
                    f = ravel(3, dx, idx);
                    want[f] = ref_scatter(want[f], get_d(u, dt, j), red);
                }
                snprintf(what, sizeof what, "ScatterElements axis=%d %s %s", axis, reductions[red], infer_dtype_name(dt));
                op_init(&c, "ScatterElements");
                c.in[0] = op_in("x", dt, 3, dx, x);
                c.in[1] = op_in("i", I64, 3, di, ix);
                c.in[2] = op_in("u", dt, 3, di, u);
                c.n_in = 3;
                c.attrs[c.n_attrs++] = infer_attr_int("axis", axis);
                if (red) c.attrs[c.n_attrs++] = infer_attr_string("reduction", reductions[red]);
                if (run_ok(&c, what) && out_is(&c, 0, dt, 3, dx, what)) {
                    if (dt == F32) check_float(what, &c, 0, want, 105, 1e-6);
                    else check_exact(what, &c, 0, want, 105);
                }
                op_free(&c);
                free(x);
                free(u);
                free(ix);
            }
    {
        static const int64_t d2[2] = {3, 4}, di2[1 + 1] = {1, 2};
        float x[12] = {0}, u[2] = {1, 2};
        int64_t bad[2] = {0, 4}, bad_lo[2] = {-5, 0};
        uint8_t bx[12] = {0}, bu[2] = {1, 1};
        op_case c;
        op_init(&c, "ScatterElements");
        c.in[0] = op_in("x", F32, 2, d2, x);
        c.in[1] = op_in("i", I64, 2, di2, bad);
        c.in[2] = op_in("u", F32, 2, di2, u);
        c.n_in = 3;
        c.attrs[c.n_attrs++] = infer_attr_int("axis", 1);
        expect_fail(&c, INFER_STATUS_INVALID_ARGUMENT, "index 4 is out of range", "ScatterElements index 4");
        op_init(&c, "ScatterElements");
        c.in[0] = op_in("x", F32, 2, d2, x);
        c.in[1] = op_in("i", I64, 2, di2, bad_lo);
        c.in[2] = op_in("u", F32, 2, di2, u);
        c.n_in = 3;
        c.attrs[c.n_attrs++] = infer_attr_int("axis", -1);
        c.attrs[c.n_attrs++] = infer_attr_string("reduction", "add");
        expect_fail(&c, INFER_STATUS_INVALID_ARGUMENT, "index -5 is out of range", "ScatterElements index -5");
        op_init(&c, "ScatterElements");
        c.in[0] = op_in("x", F32, 2, d2, x);
        c.in[1] = op_in("i", I64, 2, di2, bad);
        c.in[2] = op_in("u", F32, 1, di2 + 1, u);
        c.n_in = 3;
        expect_fail(&c, INFER_STATUS_SHAPE, "differ in shape", "ScatterElements updates of another shape");
        op_init(&c, "ScatterElements");
        c.in[0] = op_in("x", F32, 2, d2, x);
        c.in[1] = op_in("i", I64, 2, di2, bad);
        c.in[2] = op_in("u", F32, 2, di2, u);
        c.n_in = 3;
        c.attrs[c.n_attrs++] = infer_attr_string("reduction", "avg");
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "reduction 'avg'", "ScatterElements reduction avg");
        op_init(&c, "ScatterElements");
        c.in[0] = op_in("x", BOOL, 2, d2, bx);
        c.in[1] = op_in("i", I64, 2, di2, bad_lo + 1);
        c.in[2] = op_in("u", BOOL, 2, di2, bu);
        c.n_in = 3;
        c.attrs[c.n_attrs++] = infer_attr_string("reduction", "add");
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype bool", "ScatterElements add on bool");
    }
}

/* ===== GatherND, ScatterND ===== */

/* The ONNX GatherND examples, then random cases with batch_dims 0..2. */
static void test_gather_nd(void) {
    { /* example 5: batch_dims = 1, data [2,2,2], indices [2,1] -> [[2,3],[4,5]] */
        static const int64_t dd[3] = {2, 2, 2}, di[2] = {2, 1}, dy[2] = {2, 2};
        int32_t x[8] = {0, 1, 2, 3, 4, 5, 6, 7};
        int64_t ix[2] = {1, 0};
        double want[4] = {2, 3, 4, 5};
        op_case c;
        op_init(&c, "GatherND");
        c.in[0] = op_in("x", I32, 3, dd, x);
        c.in[1] = op_in("i", I64, 2, di, ix);
        c.n_in = 2;
        c.attrs[c.n_attrs++] = infer_attr_int("batch_dims", 1);
        if (run_ok(&c, "GatherND example 5") && out_is(&c, 0, I32, 2, dy, "GatherND example 5"))
            check_exact("GatherND example 5", &c, 0, want, 4);
        op_free(&c);
    }
    { /* example 3: data [2,2,2], indices [2,1,2] -> [[[2,3]],[[4,5]]] */
        static const int64_t dd[3] = {2, 2, 2}, di[3] = {2, 1, 2}, dy[3] = {2, 1, 2};
        int32_t x[8] = {0, 1, 2, 3, 4, 5, 6, 7};
        int64_t ix[4] = {0, 1, 1, 0};
        double want[4] = {2, 3, 4, 5};
        op_case c;
        op_init(&c, "GatherND");
        c.in[0] = op_in("x", I32, 3, dd, x);
        c.in[1] = op_in("i", I64, 3, di, ix);
        c.n_in = 2;
        if (run_ok(&c, "GatherND example 3") && out_is(&c, 0, I32, 3, dy, "GatherND example 3"))
            check_exact("GatherND example 3", &c, 0, want, 4);
        op_free(&c);
    }
    {
        static const int64_t dx[4] = {3, 2, 7, 5};
        int b, k, t;
        test_seed(1001);
        for (b = 0; b < 3; b++)
            for (k = 1; k <= 4 - b; k++)
                for (t = 0; t < 2; t++) {
                    int64_t di[4], dy[8], n_t = 3, slice = numel(4 - b - k, dx + b + k), n_b = numel(b, dx);
                    int ri = 0, ry = 0, j;
                    infer_dtype ti = t ? I32 : I64;
                    float *x = (float *)rand_tensor(F32, 210, -9, 9);
                    void *ix;
                    double *want;
                    int64_t bi, q, s, idx[4];
                    char what[64];
                    op_case c;
                    for (j = 0; j < b; j++) di[ri++] = dx[j];
                    di[ri++] = n_t;
                    di[ri++] = k;
                    for (j = 0; j < ri - 1; j++) dy[ry++] = di[j];
                    for (j = b + k; j < 4; j++) dy[ry++] = dx[j];
                    ix = xcalloc(n_b * n_t * k, infer_dtype_bytes(ti));
                    want = (double *)xcalloc(n_b * n_t * slice, sizeof(double));
                    for (q = 0; q < n_b * n_t * k; q++) {
                        int64_t dim = dx[b + q % k];
                        put_d(ix, ti, q, (double)test_int(-dim, dim - 1));
                    }
                    for (bi = 0; bi < n_b; bi++)
                        for (q = 0; q < n_t; q++)
                            for (s = 0; s < slice; s++) {
                                /* data index: batch coords, then the tuple, then the slice coords */
                                int64_t rest[4];
                                unravel(bi, b, dx, idx);
                                for (j = 0; j < k; j++) {
                                    int64_t v = (int64_t)get_d(ix, ti, (bi * n_t + q) * k + j);
                                    idx[b + j] = v < 0 ? v + dx[b + j] : v;
                                }
                                unravel(s, 4 - b - k, dx + b + k, rest);
                                for (j = b + k; j < 4; j++) idx[j] = rest[j - b - k];
                                want[(bi * n_t + q) * slice + s] = x[ravel(4, dx, idx)];
                            }
                    snprintf(what, sizeof what, "GatherND b=%d k=%d %s", b, k, infer_dtype_name(ti));
                    op_init(&c, "GatherND");
                    c.in[0] = op_in("x", F32, 4, dx, x);
                    c.in[1] = op_in("i", ti, ri, di, ix);
                    c.n_in = 2;
                    if (b) c.attrs[c.n_attrs++] = infer_attr_int("batch_dims", b);
                    if (run_ok(&c, what) && out_is(&c, 0, F32, ry, dy, what)) check_exact(what, &c, 0, want, n_b * n_t * slice);
                    op_free(&c);
                    free(x);
                    free(ix);
                    free(want);
                }
    }
    {
        static const int64_t d2[2] = {3, 4}, di[2] = {2, 2}, di3[2] = {1, 3}, db[2] = {2, 1};
        float x[12] = {0};
        int64_t bad[4] = {0, 1, 3, 0}, bad_lo[4] = {0, -5, 0, 0}, z[4] = {0};
        op_case c;
        op_init(&c, "GatherND");
        c.in[0] = op_in("x", F32, 2, d2, x);
        c.in[1] = op_in("i", I64, 2, di, bad);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_INVALID_ARGUMENT, "index 3 is out of range", "GatherND index 3");
        op_init(&c, "GatherND");
        c.in[0] = op_in("x", F32, 2, d2, x);
        c.in[1] = op_in("i", I64, 2, di, bad_lo);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_INVALID_ARGUMENT, "index -5 is out of range", "GatherND index -5");
        op_init(&c, "GatherND");
        c.in[0] = op_in("x", F32, 2, d2, x);
        c.in[1] = op_in("i", I64, 2, di3, z);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_SHAPE, "last dim", "GatherND tuple longer than the rank");
        op_init(&c, "GatherND");
        c.in[0] = op_in("x", F32, 2, d2, x);
        c.in[1] = op_in("i", I64, 2, db, z);
        c.n_in = 2;
        c.attrs[c.n_attrs++] = infer_attr_int("batch_dims", 1);
        expect_fail(&c, INFER_STATUS_SHAPE, "batch dims", "GatherND batch dims differ");
        op_init(&c, "GatherND");
        c.in[0] = op_in("x", F32, 2, d2, x);
        c.in[1] = op_in("i", I64, 2, db, z);
        c.n_in = 2;
        c.attrs[c.n_attrs++] = infer_attr_int("batch_dims", 2);
        expect_fail(&c, INFER_STATUS_SHAPE, "batch_dims 2", "GatherND batch_dims 2");
    }
}

static void test_scatter_nd(void) {
    { /* the ONNX example 2: data [4,4,4], indices [[0],[2]], updates [2,4,4] */
        static const int64_t dd[3] = {4, 4, 4}, di[2] = {2, 1}, du[3] = {2, 4, 4};
        float x[64], u[32];
        int64_t ix[2] = {0, 2};
        double want[64];
        int i;
        op_case c;
        for (i = 0; i < 64; i++) x[i] = (float)i, want[i] = i;
        for (i = 0; i < 32; i++) u[i] = (float)(100 + i);
        for (i = 0; i < 16; i++) want[i] = 100 + i, want[32 + i] = 116 + i;
        op_init(&c, "ScatterND");
        c.in[0] = op_in("x", F32, 3, dd, x);
        c.in[1] = op_in("i", I64, 2, di, ix);
        c.in[2] = op_in("u", F32, 3, du, u);
        c.n_in = 3;
        if (run_ok(&c, "ScatterND example 2") && out_is(&c, 0, F32, 3, dd, "ScatterND example 2"))
            check_exact("ScatterND example 2", &c, 0, want, 64);
        op_free(&c);
    }
    {
        static const int64_t dx[3] = {3, 7, 5};
        int k, red, t;
        test_seed(1002);
        for (k = 1; k <= 3; k++)
            for (red = 0; red < 5; red++)
                for (t = 0; t < 2; t++) {
                    infer_dtype dt = t ? I32 : F32;
                    int64_t n_t = red == 0 ? 1 : 4, di[2], du[3], slice = numel(3 - k, dx + k), q, s, j, idx[3], rest[3];
                    int ru = 0;
                    void *x = rand_tensor(dt, 105, -5, 5), *u = rand_tensor(dt, n_t * slice, -5, 5);
                    int64_t *ix = (int64_t *)xcalloc(n_t * k, sizeof(int64_t));
                    double want[105];
                    char what[64];
                    op_case c;
                    di[0] = n_t, di[1] = k;
                    du[ru++] = n_t;
                    for (j = k; j < 3; j++) du[ru++] = dx[j];
                    for (q = 0; q < n_t * k; q++) ix[q] = test_int(-dx[q % k], dx[q % k] - 1);
                    for (q = 0; q < 105; q++) want[q] = get_d(x, dt, q);
                    for (q = 0; q < n_t; q++)
                        for (s = 0; s < slice; s++) {
                            int64_t f;
                            for (j = 0; j < k; j++) idx[j] = ix[q * k + j] < 0 ? ix[q * k + j] + dx[j] : ix[q * k + j];
                            unravel(s, 3 - k, dx + k, rest);
                            for (j = k; j < 3; j++) idx[j] = rest[j - k];
                            f = ravel(3, dx, idx);
                            want[f] = ref_scatter(want[f], get_d(u, dt, q * slice + s), red);
                        }
                    snprintf(what, sizeof what, "ScatterND k=%d %s %s", k, reductions[red], infer_dtype_name(dt));
                    op_init(&c, "ScatterND");
                    c.in[0] = op_in("x", dt, 3, dx, x);
                    c.in[1] = op_in("i", I64, 2, di, ix);
                    c.in[2] = op_in("u", dt, ru, du, u);
                    c.n_in = 3;
                    if (red) c.attrs[c.n_attrs++] = infer_attr_string("reduction", reductions[red]);
                    if (run_ok(&c, what) && out_is(&c, 0, dt, 3, dx, what)) {
                        if (dt == F32) check_float(what, &c, 0, want, 105, 1e-6);
                        else check_exact(what, &c, 0, want, 105);
                    }
                    op_free(&c);
                    free(x);
                    free(u);
                    free(ix);
                }
    }
    {
        static const int64_t d2[2] = {3, 4}, di[2] = {1, 2}, du[1] = {1}, du2[1] = {2};
        float x[12] = {0}, u[2] = {1, 2};
        int64_t bad[2] = {0, 4}, bad_lo[2] = {-4, 0};
        op_case c;
        op_init(&c, "ScatterND");
        c.in[0] = op_in("x", F32, 2, d2, x);
        c.in[1] = op_in("i", I64, 2, di, bad);
        c.in[2] = op_in("u", F32, 1, du, u);
        c.n_in = 3;
        expect_fail(&c, INFER_STATUS_INVALID_ARGUMENT, "index 4 is out of range", "ScatterND index 4");
        op_init(&c, "ScatterND");
        c.in[0] = op_in("x", F32, 2, d2, x);
        c.in[1] = op_in("i", I64, 2, di, bad_lo);
        c.in[2] = op_in("u", F32, 1, du, u);
        c.n_in = 3;
        c.attrs[c.n_attrs++] = infer_attr_string("reduction", "mul");
        expect_fail(&c, INFER_STATUS_INVALID_ARGUMENT, "index -4 is out of range", "ScatterND index -4");
        op_init(&c, "ScatterND");
        c.in[0] = op_in("x", F32, 2, d2, x);
        c.in[1] = op_in("i", I64, 2, di, bad);
        c.in[2] = op_in("u", F32, 1, du2, u);
        c.n_in = 3;
        expect_fail(&c, INFER_STATUS_SHAPE, "must have shape", "ScatterND updates [2]");
        op_init(&c, "ScatterND");
        c.in[0] = op_in("x", F32, 2, d2, x);
        c.in[1] = op_in("i", I64, 2, di, bad);
        c.in[2] = op_in("u", I32, 1, du, u);
        c.n_in = 3;
        expect_fail(&c, INFER_STATUS_SHAPE, "dtype", "ScatterND updates i32");
    }
}

/* ===== TopK ===== */

static void test_top_k(void) {
    static const int64_t d[3] = {3, 17, 5};
    static const int64_t ks[4] = {1, 3, 17, 0};
    int axis, largest, ki, t;
    test_seed(1101);
    for (axis = -3; axis < 3; axis++)
        for (largest = 0; largest < 2; largest++)
            for (ki = 0; ki < 4; ki++)
                for (t = 0; t < 2; t++) {
                    infer_dtype dt = t ? I64 : F32;
                    int64_t a = axis < 0 ? axis + 3 : axis, k = ki == 2 ? d[a] : ks[ki] < d[a] ? ks[ki] : d[a];
                    int64_t yd[3], idx[3], i, j, q, n_out;
                    void *x = rand_tensor(dt, 255, -4, 4); /* many ties: lower index first */
                    double *wv, *wi;
                    char used[17], what[96];
                    op_case c;
                    if (dt == F32) ((float *)x)[10] = NAN;
                    memcpy(yd, d, sizeof yd);
                    yd[a] = k;
                    n_out = numel(3, yd);
                    wv = (double *)xcalloc(n_out, sizeof(double));
                    wi = (double *)xcalloc(n_out, sizeof(double));
                    for (i = 0; i < n_out; i++) {
                        unravel(i, 3, yd, idx);
                        if (idx[a] != 0) continue;
                        memset(used, 0, sizeof used);
                        for (q = 0; q < k; q++) { /* pick the best unused; NaN is the largest */
                            int64_t bi = -1;
                            double bv = 0;
                            for (j = 0; j < d[a]; j++) {
                                double v;
                                int better;
                                if (used[j]) continue;
                                idx[a] = j;
                                v = get_d(x, dt, ravel(3, d, idx));
                                if (bi < 0) better = 1;
                                else if (largest) better = isnan(v) ? !isnan(bv) : (!isnan(bv) && v > bv);
                                else better = !isnan(v) && (isnan(bv) || v < bv);
                                if (better) bi = j, bv = v;
                            }
                            used[bi] = 1;
                            idx[a] = q;
                            wv[ravel(3, yd, idx)] = bv;
                            wi[ravel(3, yd, idx)] = (double)bi;
                        }
                        idx[a] = 0;
                    }
                    snprintf(what, sizeof what, "TopK axis=%d largest=%d k=%lld %s", axis, largest, (long long)k,
                             infer_dtype_name(dt));
                    op_init(&c, "TopK");
                    c.in[0] = op_in("x", dt, 3, d, x);
                    c.in[1] = ints_const("k", 1, &k);
                    c.n_in = 2;
                    c.n_out = 2;
                    if (axis != -1) c.attrs[c.n_attrs++] = infer_attr_int("axis", axis);
                    if (!largest) c.attrs[c.n_attrs++] = infer_attr_int("largest", 0);
                    if (run_ok(&c, what) && out_is(&c, 0, dt, 3, yd, what) && out_is(&c, 1, I64, 3, yd, what)) {
                        check_exact(what, &c, 0, wv, n_out);
                        check_exact(what, &c, 1, wi, n_out);
                    }
                    op_free(&c);
                    free(x);
                    free(wv);
                    free(wi);
                }
    {
        static const int64_t d1[1] = {5};
        float x[5] = {1, 2, 3, 4, 5};
        int64_t k6 = 6, k2 = 2, km = -1;
        op_case c;
        op_init(&c, "TopK");
        c.in[0] = op_in("x", F32, 1, d1, x);
        c.in[1] = ints_const("k", 1, &k6);
        c.n_in = 2;
        c.n_out = 2;
        expect_fail(&c, INFER_STATUS_SHAPE, "out of range", "TopK K=6 of 5");
        op_init(&c, "TopK");
        c.in[0] = op_in("x", F32, 1, d1, x);
        c.in[1] = ints_const("k", 1, &km);
        c.n_in = 2;
        c.n_out = 2;
        expect_fail(&c, INFER_STATUS_SHAPE, "out of range", "TopK K=-1");
        op_init(&c, "TopK");
        c.in[0] = op_in("x", F32, 1, d1, x);
        c.in[1] = ints_input("k", 1, &k2);
        c.n_in = 2;
        c.n_out = 2;
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "known when the session is created", "TopK run-time K");
        op_init(&c, "TopK");
        c.in[0] = op_in("x", BOOL, 1, d1, x);
        c.in[1] = ints_const("k", 1, &k2);
        c.n_in = 2;
        c.n_out = 2;
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype bool", "TopK bool");
    }
}

/* ===== Einsum ===== */

/* A brute-force reference: eq is "terms->out" with single letters only (no "..."); sizes
   come from the inputs; every combination of all labels is visited once. */
static void ref_einsum(const char *eq, int n_in, const int *rank, const int64_t (*dims)[MAXD], const double *const *x,
                       const char *out, double *y, int64_t n_y) {
    int64_t size[128], idx[128], combos = 1, t, i;
    char labels[64];
    int n_lab = 0, k, j;
    const char *p = eq;
    char terms[8][16];
    memset(size, 0, sizeof size);
    for (k = 0; k < n_in; k++) { /* split the terms */
        j = 0;
        while (*p && *p != ',' && *p != '-') {
            if (*p != ' ') terms[k][j++] = *p;
            p++;
        }
        terms[k][j] = 0;
        if (*p == ',') p++;
        for (j = 0; j < rank[k]; j++) {
            int ch = terms[k][j];
            if (!size[ch]) size[ch] = dims[k][j], labels[n_lab++] = (char)ch;
        }
    }
    for (i = 0; i < n_y; i++) y[i] = 0;
    for (j = 0; j < n_lab; j++) combos *= size[(int)labels[j]];
    for (t = 0; t < combos; t++) {
        int64_t rem = t, at;
        double prod = 1;
        for (j = n_lab - 1; j >= 0; j--) idx[(int)labels[j]] = rem % size[(int)labels[j]], rem /= size[(int)labels[j]];
        for (k = 0; k < n_in; k++) {
            for (at = 0, j = 0; j < rank[k]; j++) at = at * dims[k][j] + idx[(int)terms[k][j]];
            prod *= x[k][at];
        }
        for (at = 0, j = 0; out[j]; j++) at = at * size[(int)out[j]] + idx[(int)out[j]];
        y[at] += prod;
    }
}

static void test_einsum(void) {
    static const struct {
        const char *eq, *ref_eq, *out; /* the equation run, the same spelled for ref_einsum, its output labels */
        int n_in, rank[3];
        int64_t dims[3][MAXD];
    } cases[] = {
        {"ij,jk->ik", "ij,jk", "ik", 2, {2, 2}, {{3, 7}, {7, 5}}},
        {"ij,jk", "ij,jk", "ik", 2, {2, 2}, {{3, 7}, {7, 5}}},                 /* implicit output */
        {"bij, bjk -> bik", "bij,bjk", "bik", 2, {3, 3}, {{2, 3, 4}, {2, 4, 5}}},
        {"bii->bi", "bii", "bi", 1, {3}, {{3, 5, 5}}},                           /* diagonal */
        {"ii", "ii", "", 1, {2}, {{7, 7}}},                                       /* trace (implicit) */
        {"i,i", "i,i", "", 2, {1, 1}, {{17}, {17}}},
        {"ij->ji", "ij", "ji", 1, {2}, {{3, 7}}},
        {"ba", "ba", "ab", 1, {2}, {{3, 7}}},                                     /* implicit: sorted */
        {"ij->", "ij", "", 1, {2}, {{3, 7}}},
        {"ij->i", "ij", "i", 1, {2}, {{3, 7}}},
        {"ij,jk,kl->il", "ij,jk,kl", "il", 3, {2, 2, 2}, {{2, 3}, {3, 4}, {4, 5}}},
        {"i,j->ij", "i,j", "ij", 2, {1, 1}, {{3}, {7}}},                          /* outer product */
        {"...ij,...jk->...ik", "aij,ajk", "aik", 2, {3, 3}, {{2, 3, 4}, {2, 4, 5}}},
        {"Ab,bA->A", "Ab,bA", "A", 2, {2, 2}, {{3, 4}, {4, 3}}},
    };
    size_t q;
    int t, k;
    test_seed(1201);
    for (q = 0; q < sizeof cases / sizeof cases[0]; q++)
        for (t = 0; t < 2; t++) {
            infer_dtype dt = t ? F64 : F32;
            void *x[3];
            double *xd[3], *want;
            int64_t n_y = 1, yd[MAXD], i;
            int ry = (int)strlen(cases[q].out), j;
            char what[96];
            op_case c;
            int64_t size[128] = {0};
            for (k = 0; k < cases[q].n_in; k++) {
                int64_t n = numel(cases[q].rank[k], cases[q].dims[k]);
                const char *term = cases[q].ref_eq;
                int kk;
                x[k] = rand_tensor(dt, n, -2, 2);
                xd[k] = (double *)xcalloc(n, sizeof(double));
                for (i = 0; i < n; i++) xd[k][i] = get_d(x[k], dt, i);
                for (kk = 0; kk < k; kk++) term = strchr(term, ',') + 1;
                for (j = 0; j < cases[q].rank[k]; j++) size[(int)term[j]] = cases[q].dims[k][j];
            }
            for (j = 0; j < ry; j++) yd[j] = size[(int)cases[q].out[j]], n_y *= yd[j];
            want = (double *)xcalloc(n_y, sizeof(double));
            ref_einsum(cases[q].ref_eq, cases[q].n_in, cases[q].rank, cases[q].dims, (const double *const *)xd, cases[q].out,
                       want, n_y);
            snprintf(what, sizeof what, "Einsum '%s' %s", cases[q].eq, infer_dtype_name(dt));
            op_init(&c, "Einsum");
            for (k = 0; k < cases[q].n_in; k++)
                c.in[k] = op_in(k == 0 ? "a" : k == 1 ? "b" : "c", dt, cases[q].rank[k], cases[q].dims[k], x[k]);
            c.n_in = cases[q].n_in;
            c.attrs[c.n_attrs++] = infer_attr_string("equation", cases[q].eq);
            if (run_ok(&c, what) && out_is(&c, 0, dt, ry, yd, what)) check_float(what, &c, 0, want, n_y, dt == F32 ? 1e-5 : 1e-12);
            op_free(&c);
            for (k = 0; k < cases[q].n_in; k++) free(x[k]), free(xd[k]);
            free(want);
        }
    { /* "..." broadcasts: [2,1,3,4] x [5,4,2] -> [2,5,3,2] */
        static const int64_t da[4] = {2, 1, 3, 4}, db[3] = {5, 4, 2}, dy[4] = {2, 5, 3, 2};
        float a[24], b[40];
        double want[60];
        int64_t p0, p1, i0, k0, j0;
        op_case c;
        test_fill(a, 24, -1, 1);
        test_fill(b, 40, -1, 1);
        for (p0 = 0; p0 < 2; p0++)
            for (p1 = 0; p1 < 5; p1++)
                for (i0 = 0; i0 < 3; i0++)
                    for (k0 = 0; k0 < 2; k0++) {
                        double s = 0;
                        for (j0 = 0; j0 < 4; j0++) s += (double)a[(p0 * 3 + i0) * 4 + j0] * b[(p1 * 4 + j0) * 2 + k0];
                        want[((p0 * 5 + p1) * 3 + i0) * 2 + k0] = s;
                    }
        op_init(&c, "Einsum");
        c.in[0] = op_in("a", F32, 4, da, a);
        c.in[1] = op_in("b", F32, 3, db, b);
        c.n_in = 2;
        c.attrs[c.n_attrs++] = infer_attr_string("equation", "...ij,...jk->...ik");
        if (run_ok(&c, "Einsum broadcast") && out_is(&c, 0, F32, 4, dy, "Einsum broadcast"))
            check_float("Einsum broadcast", &c, 0, want, 60, 1e-5);
        op_free(&c);
    }
    {
        static const int64_t d34[2] = {3, 4}, d54[2] = {5, 4};
        float a[20] = {0};
        int32_t ai[12] = {0};
        static const char *const bad[] = {"ij,jk->ik", "ij->ik", "ij,kl->ii", "i1,kl", "ij,kl,mn", "ij.,kl"};
        size_t q2;
        op_case c;
        for (q2 = 0; q2 < sizeof bad / sizeof bad[0]; q2++) {
            op_init(&c, "Einsum");
            c.in[0] = op_in("a", F32, 2, d34, a);
            c.in[1] = op_in("b", F32, 2, d54, a);
            c.n_in = 2;
            c.attrs[c.n_attrs++] = infer_attr_string("equation", bad[q2]);
            expect_fail(&c, INFER_STATUS_SHAPE, "equation", bad[q2]);
        }
        op_init(&c, "Einsum");
        c.in[0] = op_in("a", I32, 2, d34, ai);
        c.n_in = 1;
        c.attrs[c.n_attrs++] = infer_attr_string("equation", "ij->ji");
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype i32", "Einsum on i32");
        op_init(&c, "Einsum");
        c.in[0] = op_in("a", F32, 2, d34, a);
        c.n_in = 1;
        expect_fail(&c, INFER_STATUS_SHAPE, "equation", "Einsum without equation");
    }
}

/* Empty tensors: nothing to read or write, the shapes still follow the rules. */
static void test_empty(void) {
    static const int64_t d34[2] = {3, 4}, d20[2] = {2, 0}, d03[2] = {0, 3}, di0[2] = {0, 1}, du0[2] = {0, 4};
    float x[12] = {0}, *none = NULL;
    int64_t *ino = NULL, ax = 1;
    double want[12] = {0};
    op_case c;
    op_init(&c, "GatherElements");
    c.in[0] = op_in("x", F32, 2, d34, x);
    c.in[1] = op_in("i", I64, 2, d20, ino);
    c.n_in = 2;
    if (run_ok(&c, "GatherElements empty")) out_is(&c, 0, F32, 2, d20, "GatherElements empty");
    op_free(&c);
    op_init(&c, "ScatterElements");
    c.in[0] = op_in("x", F32, 2, d34, x);
    c.in[1] = op_in("i", I64, 2, d20, ino);
    c.in[2] = op_in("u", F32, 2, d20, none);
    c.n_in = 3;
    if (run_ok(&c, "ScatterElements empty") && out_is(&c, 0, F32, 2, d34, "ScatterElements empty"))
        check_exact("ScatterElements empty", &c, 0, want, 12);
    op_free(&c);
    op_init(&c, "ScatterND");
    c.in[0] = op_in("x", F32, 2, d34, x);
    c.in[1] = op_in("i", I64, 2, di0, ino);
    c.in[2] = op_in("u", F32, 2, du0, none);
    c.n_in = 3;
    if (run_ok(&c, "ScatterND empty") && out_is(&c, 0, F32, 2, d34, "ScatterND empty")) check_exact("ScatterND empty", &c, 0, want, 12);
    op_free(&c);
    op_init(&c, "GatherND");
    c.in[0] = op_in("x", F32, 2, d34, x);
    c.in[1] = op_in("i", I64, 2, di0, ino);
    c.n_in = 2;
    {
        static const int64_t dy[2] = {0, 4};
        if (run_ok(&c, "GatherND empty")) out_is(&c, 0, F32, 2, dy, "GatherND empty");
    }
    op_free(&c);
    op_init(&c, "CumSum");
    c.in[0] = op_in("x", F32, 2, d03, none);
    c.in[1] = op_in("axis", I64, 0, NULL, &ax);
    c.n_in = 2;
    if (run_ok(&c, "CumSum empty")) out_is(&c, 0, F32, 2, d03, "CumSum empty");
    op_free(&c);
    op_init(&c, "Trilu");
    c.in[0] = op_in("x", F32, 2, d03, none);
    c.n_in = 1;
    if (run_ok(&c, "Trilu empty")) out_is(&c, 0, F32, 2, d03, "Trilu empty");
    op_free(&c);
    op_init(&c, "Einsum");
    c.in[0] = op_in("x", F32, 2, d03, none);
    c.n_in = 1;
    c.attrs[c.n_attrs++] = infer_attr_string("equation", "ij->j");
    if (run_ok(&c, "Einsum empty sum") && out_is(&c, 0, F32, 1, d03 + 1, "Einsum empty sum")) check_exact("Einsum empty sum", &c, 0, want, 3);
    op_free(&c);
}

int main(void) {
    RUN(test_unary_float);
    RUN(test_round_ties);
    RUN(test_sign_int);
    RUN(test_is_nan_inf);
    RUN(test_unary_errors);
    RUN(test_mod_int);
    RUN(test_mod_float);
    RUN(test_mod_errors);
    RUN(test_prelu);
    RUN(test_xor);
    RUN(test_mean);
    RUN(test_bit_shift);
    RUN(test_reduce_float);
    RUN(test_reduce_edges);
    RUN(test_reduce_int);
    RUN(test_reduce_errors);
    RUN(test_arg_min);
    RUN(test_global_max_pool);
    RUN(test_instance_norm);
    RUN(test_lp_norm);
    RUN(test_hardmax);
    RUN(test_depth_space);
    RUN(test_trilu);
    RUN(test_cum_sum);
    RUN(test_one_hot);
    RUN(test_gather_elements);
    RUN(test_scatter_elements);
    RUN(test_gather_nd);
    RUN(test_scatter_nd);
    RUN(test_top_k);
    RUN(test_einsum);
    RUN(test_empty);
    return test_finish();
}
