/* Element-wise operators against references written here in double precision:
   arithmetic (Add Sub Mul Div Pow Max Min Sum), comparisons and logic, Where, the unary
   activations, Clip, Cast and Identity. Semantics are the newest ONNX opset's; each test
   names the rule it checks. Shapes use numpy (multidirectional) broadcasting. */
#include "test.h"

#include <float.h>
#include <stdint.h>

#define F32 INFER_DTYPE_F32
#define F64 INFER_DTYPE_F64
#define F16 INFER_DTYPE_F16
#define BF16 INFER_DTYPE_BF16
#define I8 INFER_DTYPE_I8
#define I16 INFER_DTYPE_I16
#define I32 INFER_DTYPE_I32
#define I64 INFER_DTYPE_I64
#define U8 INFER_DTYPE_U8
#define U16 INFER_DTYPE_U16
#define U32 INFER_DTYPE_U32
#define U64 INFER_DTYPE_U64
#define BOOL INFER_DTYPE_BOOL

static const infer_dtype int_types[] = {I8, I16, I32, I64, U8, U16, U32, U64};
static const infer_dtype all_types[] = {F32, F16, BF16, F64, I8, I16, I32, I64, U8, U16, U32, U64, BOOL};
#define N_INT_TYPES (sizeof int_types / sizeof int_types[0])
#define N_ALL_TYPES (sizeof all_types / sizeof all_types[0])

/* ------------------------------------------------------------------------------------ */
/* shapes and the broadcasting reference                                                 */

typedef struct shape {
    int n;
    int64_t d[INFER_MAX_DIMS];
} shape;

#define S0 ((shape){0, {0}})
#define S1(a) ((shape){1, {a}})
#define S2(a, b) ((shape){2, {a, b}})
#define S3(a, b, c) ((shape){3, {a, b, c}})
#define S4(a, b, c, d) ((shape){4, {a, b, c, d}})

static size_t numel(const shape *s) {
    size_t n = 1;
    int i;
    for (i = 0; i < s->n; i++) n *= (size_t)s->d[i];
    return n;
}

/* numpy broadcasting of n shapes: align right; each dim is 1 or the common size. */
static int ref_broadcast(const shape *in, int n, shape *out) {
    int k, i;
    out->n = 0;
    for (k = 0; k < n; k++)
        if (in[k].n > out->n) out->n = in[k].n;
    for (i = 0; i < out->n; i++) {
        int64_t d = 1;
        for (k = 0; k < n; k++) {
            int j = i - (out->n - in[k].n);
            int64_t e = j >= 0 ? in[k].d[j] : 1;
            if (e == 1) continue;
            if (d != 1 && d != e) return 0;
            d = e;
        }
        out->d[i] = d;
    }
    return 1;
}

/* Index into x of output element `flat` (row-major), with x broadcast to `out`. */
static size_t ref_src(const shape *out, size_t flat, const shape *x) {
    size_t idx = 0, stride = 1;
    int i;
    for (i = out->n - 1; i >= 0; i--) {
        size_t coord = (size_t)(flat % (size_t)out->d[i]);
        int j = i - (out->n - x->n);
        flat /= (size_t)out->d[i];
        if (j < 0) continue;
        if (x->d[j] != 1) idx += coord * stride;
        stride *= (size_t)x->d[j];
    }
    return idx;
}

/* ------------------------------------------------------------------------------------ */
/* typed element access, written independently of the library                           */

static int dt_bits(infer_dtype t) { return (int)infer_dtype_bytes(t) * 8; }
static int dt_signed(infer_dtype t) { return t == I8 || t == I16 || t == I32 || t == I64; }
static int dt_int(infer_dtype t) { return dt_signed(t) || t == U8 || t == U16 || t == U32 || t == U64; }

/* v reduced to t's width, then sign- (signed t) or zero-extended to 64 bits. */
static uint64_t wrap(infer_dtype t, uint64_t v) {
    int b = dt_bits(t);
    if (b == 64) return v;
    v &= (1ull << b) - 1;
    if (dt_signed(t) && (v >> (b - 1))) v |= ~0ull << b;
    return v;
}

/* Integer element i as 64 bits, sign-extended for signed types. */
static uint64_t get_bits(const void *p, infer_dtype t, size_t i) {
    uint64_t v = 0;
    memcpy(&v, (const uint8_t *)p + i * infer_dtype_bytes(t), infer_dtype_bytes(t)); /* little-endian host */
    return wrap(t, v);
}
static void put_bits(void *p, infer_dtype t, size_t i, uint64_t v) {
    memcpy((uint8_t *)p + i * infer_dtype_bytes(t), &v, infer_dtype_bytes(t));
}

/* Rounds d to a binary format with `man` fraction bits and `ebits` exponent bits, ties to
   even, and returns its bits: f16 is (10, 5), bf16 (7, 8). NaN gives the quiet NaN. */
static uint16_t ref_half_bits(double d, int man, int ebits) {
    int bias = (1 << (ebits - 1)) - 1, e;
    unsigned sign = signbit(d) ? 0x8000u : 0, inf = ((1u << ebits) - 1) << man;
    double a = fabs(d), q, one = ldexp(1, man);
    if (isnan(d)) return (uint16_t)(inf | (1u << (man - 1)));
    if (isinf(d)) return (uint16_t)(sign | inf);
    if (a == 0) return (uint16_t)sign;
    frexp(a, &e);
    e -= 1;                          /* a = 1.f * 2^e */
    if (e < 1 - bias) e = 1 - bias;  /* subnormal: the step stays 2^(1 - bias - man) */
    q = rint(ldexp(a, man - e));     /* significand in units of its last place */
    if (q >= 2 * one) q /= 2, e++;   /* rounded up to the next power of two */
    if (e > bias) return (uint16_t)(sign | inf);
    if (q < one) return (uint16_t)(sign | (unsigned)q);
    return (uint16_t)(sign | ((unsigned)(e + bias) << man) | (unsigned)(q - one));
}
static double ref_half_value(uint16_t h, int man, int ebits) {
    int bias = (1 << (ebits - 1)) - 1, e = (h >> man) & ((1 << ebits) - 1);
    unsigned f = h & ((1u << man) - 1);
    double v;
    if (e == (1 << ebits) - 1) v = f ? NAN : INFINITY;
    else if (e == 0) v = ldexp(f, 1 - bias - man);
    else v = ldexp(f + (1u << man), e - bias - man);
    return (h & 0x8000) ? -v : v;
}
#define F16_BITS(d) ref_half_bits((d), 10, 5)
#define BF16_BITS(d) ref_half_bits((d), 7, 8)

/* Element i as double (integers of more than 53 bits round; tests avoid relying on that). */
static double get_f(const void *p, infer_dtype t, size_t i) {
    uint16_t h;
    switch (t) {
    case F32: return ((const float *)p)[i];
    case F64: return ((const double *)p)[i];
    case F16: memcpy(&h, (const uint8_t *)p + 2 * i, 2); return ref_half_value(h, 10, 5);
    case BF16: memcpy(&h, (const uint8_t *)p + 2 * i, 2); return ref_half_value(h, 7, 8);
    case BOOL: return ((const uint8_t *)p)[i] ? 1 : 0;
    default: return dt_signed(t) ? (double)(int64_t)get_bits(p, t, i) : (double)get_bits(p, t, i);
    }
}
/* Stores v (exactly representable in t, or a float rounded to nearest even) into element i. */
static void put_f(void *p, infer_dtype t, size_t i, double v) {
    uint16_t h;
    switch (t) {
    case F32: ((float *)p)[i] = (float)v; break;
    case F64: ((double *)p)[i] = v; break;
    case F16: h = F16_BITS(v); memcpy((uint8_t *)p + 2 * i, &h, 2); break;
    case BF16: h = BF16_BITS(v); memcpy((uint8_t *)p + 2 * i, &h, 2); break;
    case BOOL: ((uint8_t *)p)[i] = v != 0; break;
    default: put_bits(p, t, i, v < 0 ? (uint64_t)(int64_t)v : (uint64_t)v); break;
    }
}

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        printf("out of memory\n");
        exit(2);
    }
    return p;
}

/* Random full-width integers with edge values mixed in: 0, 1, -1, MIN, MAX. */
static uint64_t rand_int(infer_dtype t) {
    int b = dt_bits(t);
    uint64_t max = dt_signed(t) ? (b == 64 ? (uint64_t)INT64_MAX : (1ull << (b - 1)) - 1)
                                : (b == 64 ? UINT64_MAX : (1ull << b) - 1);
    switch (test_int(0, 9)) {
    case 0: return 0;
    case 1: return 1;
    case 2: return wrap(t, ~0ull);  /* -1, or MAX when unsigned */
    case 3: return wrap(t, max + 1); /* MIN: 0 when unsigned */
    case 4: return max;
    default: return wrap(t, test_rand_u64());
    }
}

/* ------------------------------------------------------------------------------------ */
/* running one op                                                                       */

static void op_init(op_case *c, const char *op) {
    memset(c, 0, sizeof *c);
    c->op = op;
}
static op_input in_shape(const char *name, infer_dtype t, const shape *s, const void *data) {
    return op_in(name, t, s->n, s->d, data);
}
static op_input const_shape(const char *name, infer_dtype t, const shape *s, const void *data) {
    return op_const(name, t, s->n, s->d, data);
}

/* Checks output 0's dtype and dims; returns 1 when they match (then values are compared). */
static int out_is(const op_case *c, infer_dtype t, const shape *s) {
    int i, ok = c->status == INFER_STATUS_OK;
    if (!ok) {
        printf("  %s: %s: %s\n", c->op, infer_status_name(c->status), c->error);
        test__failed_checks++;
        return 0;
    }
    CHECK_EQ_INT(c->out[0].dtype, t);
    CHECK_EQ_INT(c->out[0].n_dims, s->n);
    ok = c->out[0].dtype == t && c->out[0].n_dims == s->n;
    for (i = 0; ok && i < s->n; i++) {
        CHECK_EQ_INT(c->out[0].dims[i], s->d[i]);
        ok = c->out[0].dims[i] == s->d[i];
    }
    return ok;
}

/* Compares f64 results: |got - want| <= rtol * max(|want|, 1e-3 * scale), NaN/inf equal. */
static int close_f64(const char *what, const double *got, const double *want, size_t n, double rtol) {
    size_t i, bad = 0, worst = 0;
    double scale = 0;
    for (i = 0; i < n; i++)
        if (isfinite(want[i]) && fabs(want[i]) > scale) scale = fabs(want[i]);
    for (i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        int ok = (isnan(g) && isnan(w)) || g == w || fabs(g - w) <= rtol * fmax(fabs(w), 1e-3 * scale);
        if (!ok && !bad++) worst = i;
    }
    if (bad) {
        printf("  %s: %zu of %zu elements off; first [%zu] got %.17g want %.17g\n", what, bad, n, worst, got[worst],
               want[worst]);
        test__failed_checks++;
    }
    return !bad;
}

/* Compares a float output (f32 or f64) with a double reference. */
static void check_float_out(const char *what, const op_case *c, infer_dtype t, const double *want, size_t n) {
    if (t == F32) test_close(what, (const float *)c->out[0].data, want, n, 1e-5);
    else close_f64(what, (const double *)c->out[0].data, want, n, 1e-12);
}

/* Compares an integer or bool output bit for bit with want (64-bit canonical values). */
static void check_bits_out(const char *what, const op_case *c, infer_dtype t, const uint64_t *want, size_t n) {
    size_t i, bad = 0, first = 0;
    for (i = 0; i < n; i++)
        if (get_bits(c->out[0].data, t, i) != wrap(t, want[i]) && !bad++) first = i;
    if (bad) {
        printf("  %s (%s): %zu of %zu elements wrong; first [%zu] got %llu want %llu\n", what, infer_dtype_name(t), bad,
               n, first, (unsigned long long)get_bits(c->out[0].data, t, first),
               (unsigned long long)wrap(t, want[first]));
        test__failed_checks++;
    }
}

/* ------------------------------------------------------------------------------------ */
/* binary and variadic arithmetic                                                       */

/* Double reference of the float ops. Max/Min: NaN wins (as numpy maximum/minimum). */
static double ref_float_op(const char *op, double a, double b) {
    if (!strcmp(op, "Add") || !strcmp(op, "Sum")) return a + b;
    if (!strcmp(op, "Sub")) return a - b;
    if (!strcmp(op, "Mul")) return a * b;
    if (!strcmp(op, "Div")) return a / b;
    if (!strcmp(op, "Pow")) return pow(a, b);
    if (!strcmp(op, "Max")) return isnan(a) || isnan(b) ? NAN : a > b ? a : b;
    if (!strcmp(op, "Min")) return isnan(a) || isnan(b) ? NAN : a < b ? a : b;
    return NAN;
}

/* Integer reference modulo 2^bits. Div truncates toward zero (ONNX Div follows C/numpy
   division cast back to the integer type); MIN / -1 wraps to MIN. */
static uint64_t ref_int_op(const char *op, infer_dtype t, uint64_t a, uint64_t b) {
    int s = dt_signed(t);
    if (!strcmp(op, "Add") || !strcmp(op, "Sum")) return wrap(t, a + b);
    if (!strcmp(op, "Sub")) return wrap(t, a - b);
    if (!strcmp(op, "Mul")) return wrap(t, a * b);
    if (!strcmp(op, "Max")) return (s ? (int64_t)a > (int64_t)b : a > b) ? a : b;
    if (!strcmp(op, "Min")) return (s ? (int64_t)a < (int64_t)b : a < b) ? a : b;
    if (!strcmp(op, "Div")) {
        if (!s) return a / b;
        if ((int64_t)b == -1) return wrap(t, 0 - a); /* avoids INT64_MIN / -1 in the reference */
        return wrap(t, (uint64_t)((int64_t)a / (int64_t)b));
    }
    if (!strcmp(op, "Pow")) { /* b >= 0: repeated multiplication, wrapping */
        uint64_t r = 1, k;
        for (k = 0; k < b; k++) r *= a;
        return wrap(t, r);
    }
    return 0;
}

/* Runs op over n inputs of shapes s[] (all dtype t; input k may be a model constant when
   const_mask bit k is set) and compares with the reference fold. Float data in [lo, hi). */
static void check_nary(const char *op, infer_dtype t, int n, const shape *s, double lo, double hi, unsigned const_mask,
                       unsigned long long seed) {
    void *data[OP_MAX_IO];
    char names[OP_MAX_IO][8], what[160];
    shape out;
    size_t i, no;
    int k;
    op_case c;
    test_seed(seed);
    op_init(&c, op);
    CHECK(ref_broadcast(s, n, &out));
    no = numel(&out);
    for (k = 0; k < n; k++) {
        size_t m = numel(&s[k]);
        data[k] = xcalloc(m, infer_dtype_bytes(t));
        for (i = 0; i < m; i++) {
            if (dt_int(t)) {
                uint64_t v = rand_int(t);
                if (!strcmp(op, "Div") && k == 1 && v == 0) v = 3;
                put_bits(data[k], t, i, v);
            } else {
                put_f(data[k], t, i, test_uniform(lo, hi));
            }
        }
        snprintf(names[k], sizeof names[k], "x%d", k);
        c.in[k] = (const_mask >> k) & 1 ? const_shape(names[k], t, &s[k], data[k]) : in_shape(names[k], t, &s[k], data[k]);
    }
    c.n_in = n;
    op_run(&c);
    snprintf(what, sizeof what, "%s %s, %d inputs, out rank %d [%zu elements]", op, infer_dtype_name(t), n, out.n, no);
    if (out_is(&c, t, &out)) {
        if (dt_int(t)) {
            uint64_t *want = (uint64_t *)xcalloc(no, sizeof *want);
            for (i = 0; i < no; i++) {
                want[i] = get_bits(data[0], t, ref_src(&out, i, &s[0]));
                for (k = 1; k < n; k++) want[i] = ref_int_op(op, t, want[i], get_bits(data[k], t, ref_src(&out, i, &s[k])));
            }
            check_bits_out(what, &c, t, want, no);
            free(want);
        } else {
            double *want = (double *)xcalloc(no, sizeof *want);
            for (i = 0; i < no; i++) {
                want[i] = get_f(data[0], t, ref_src(&out, i, &s[0]));
                for (k = 1; k < n; k++) want[i] = ref_float_op(op, want[i], get_f(data[k], t, ref_src(&out, i, &s[k])));
            }
            check_float_out(what, &c, t, want, no);
            free(want);
        }
    }
    op_free(&c);
    for (k = 0; k < n; k++) free(data[k]);
}

static void check_binary(const char *op, infer_dtype t, shape a, shape b, double lo, double hi, unsigned long long seed) {
    shape s[2];
    s[0] = a, s[1] = b;
    check_nary(op, t, 2, s, lo, hi, 0, seed);
}

/* Random f32/f64 data with odd sizes and every broadcasting form. */
static void test_arith_float_broadcast(void) {
    static const char *ops[] = {"Add", "Sub", "Mul", "Div", "Max", "Min"};
    static const infer_dtype types[] = {F32, F64};
    size_t o, ti;
    for (ti = 0; ti < 2; ti++)
        for (o = 0; o < sizeof ops / sizeof ops[0]; o++) {
            const char *op = ops[o];
            infer_dtype t = types[ti];
            double lo = !strcmp(op, "Div") ? 0.5 : -4; /* divisors away from zero */
            check_binary(op, t, S1(1), S1(1), lo, 4, 1);
            check_binary(op, t, S1(17), S1(17), lo, 4, 2);
            check_binary(op, t, S0, S2(3, 7), lo, 4, 3);        /* scalar (rank 0) with a tensor */
            check_binary(op, t, S2(3, 7), S0, lo, 4, 4);
            check_binary(op, t, S0, S0, lo, 4, 5);               /* rank 0 with rank 0 */
            check_binary(op, t, S1(1), S1(1000), lo, 4, 6);      /* [1] with [n] */
            check_binary(op, t, S1(1000), S1(1), lo, 4, 7);
            check_binary(op, t, S2(3, 1), S2(1, 4), lo, 4, 8);   /* both sides stretch */
            check_binary(op, t, S3(2, 3, 4), S1(4), lo, 4, 9);   /* different ranks */
            check_binary(op, t, S1(4), S3(2, 3, 4), lo, 4, 10);
            check_binary(op, t, S3(2, 1, 7), S3(1, 3, 1), lo, 4, 11);
            check_binary(op, t, S4(3, 1, 5, 1), S3(4, 1, 6), lo, 4, 12);
            check_binary(op, t, S3(1, 17, 1), S2(17, 3), lo, 4, 13);
            check_binary(op, t, S2(2, 1000), S1(1000), lo, 4, 14);
            check_binary(op, t, S2(7, 1), S2(7, 17), lo, 4, 15);  /* a column against a matrix */
        }
}

/* A dim of 0 broadcasts against 1 and gives an empty output of the right shape. */
static void test_arith_empty(void) {
    check_binary("Add", F32, S2(0, 3), S2(1, 3), -1, 1, 20);
    check_binary("Mul", F32, S2(0, 3), S0, -1, 1, 21);
    check_binary("Sub", I32, S3(2, 0, 3), S3(2, 1, 1), -1, 1, 22);
    check_binary("Max", F32, S1(1), S1(0), -1, 1, 23);
    check_binary("Div", F64, S2(4, 0), S2(4, 1), 1, 2, 24);
}

/* Add/Sub/Mul/Div/Max/Min on every integer type: exact, wrapping modulo 2^bits. */
static void test_arith_int(void) {
    static const char *ops[] = {"Add", "Sub", "Mul", "Div", "Max", "Min"};
    size_t o, ti;
    for (ti = 0; ti < N_INT_TYPES; ti++)
        for (o = 0; o < sizeof ops / sizeof ops[0]; o++) {
            check_binary(ops[o], int_types[ti], S1(17), S1(17), 0, 0, 30 + ti);
            check_binary(ops[o], int_types[ti], S2(3, 1), S2(1, 7), 0, 0, 40 + ti);
            check_binary(ops[o], int_types[ti], S0, S2(3, 7), 0, 0, 50 + ti);
            check_binary(ops[o], int_types[ti], S3(2, 3, 17), S1(17), 0, 0, 60 + ti);
        }
}

/* Wrap-around at the edges, written out for i8 and u8 (no UB: the library must wrap). */
static void test_arith_int_wrap(void) {
    int8_t a[4] = {127, -128, 100, -128}, b[4] = {1, -1, 100, -1};
    uint8_t ua[3] = {255, 0, 16}, ub[3] = {1, 1, 16};
    int64_t la[2] = {INT64_MAX, INT64_MIN}, lb[2] = {1, -1};
    struct { const char *op; int8_t want[4]; } cases[] = {
        {"Add", {-128, 127, -56, 127}},  /* 127+1 wraps; -128+-1 wraps */
        {"Sub", {126, -127, 0, -127}},
        {"Mul", {127, -128, 16, -128}},  /* 100*100 = 10000 = 0x2710 -> 0x10; -128*-1 wraps */
        {"Div", {127, -128, 1, -128}},   /* MIN / -1 wraps to MIN */
    };
    struct { const char *op; uint8_t want[3]; } ucases[] = {
        {"Add", {0, 1, 32}}, {"Sub", {254, 255, 0}}, {"Mul", {255, 0, 0}}, {"Div", {255, 0, 1}},
    };
    int64_t dims[1] = {4}, udims[1] = {3}, ldims[1] = {2};
    size_t k;
    int i;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        op_case c;
        op_init(&c, cases[k].op);
        c.in[0] = op_in("a", I8, 1, dims, a);
        c.in[1] = op_in("b", I8, 1, dims, b);
        c.n_in = 2;
        op_run(&c);
        if (out_is(&c, I8, &(shape){1, {4}}))
            for (i = 0; i < 4; i++) CHECK_EQ_INT(((int8_t *)c.out[0].data)[i], cases[k].want[i]);
        op_free(&c);
    }
    for (k = 0; k < sizeof ucases / sizeof ucases[0]; k++) {
        op_case c;
        op_init(&c, ucases[k].op);
        c.in[0] = op_in("a", U8, 1, udims, ua);
        c.in[1] = op_in("b", U8, 1, udims, ub);
        c.n_in = 2;
        op_run(&c);
        if (out_is(&c, U8, &(shape){1, {3}}))
            for (i = 0; i < 3; i++) CHECK_EQ_INT(((uint8_t *)c.out[0].data)[i], ucases[k].want[i]);
        op_free(&c);
    }
    { /* i64: MAX + 1 and MIN + -1 wrap (Add); MAX / 1 and MIN / -1 (Div) */
        op_case c;
        op_init(&c, "Add");
        c.in[0] = op_in("a", I64, 1, ldims, la);
        c.in[1] = op_in("b", I64, 1, ldims, lb);
        c.n_in = 2;
        op_run(&c);
        if (out_is(&c, I64, &(shape){1, {2}})) {
            CHECK(((int64_t *)c.out[0].data)[0] == INT64_MIN);
            CHECK(((int64_t *)c.out[0].data)[1] == INT64_MAX);
        }
        op_free(&c);
        c.op = "Div";
        op_run(&c);
        if (out_is(&c, I64, &(shape){1, {2}})) {
            CHECK(((int64_t *)c.out[0].data)[0] == INT64_MAX);
            CHECK(((int64_t *)c.out[0].data)[1] == INT64_MIN);
        }
        op_free(&c);
    }
}

/* Integer Div rounds toward zero: 7/2=3, -7/2=-3, 7/-2=-3, -7/-2=3. */
static void test_div_int_truncates(void) {
    int32_t a[4] = {7, -7, 7, -7}, b[4] = {2, 2, -2, -2}, want[4] = {3, -3, -3, 3};
    int64_t d[1] = {4};
    int i;
    op_case c;
    op_init(&c, "Div");
    c.in[0] = op_in("a", I32, 1, d, a);
    c.in[1] = op_in("b", I32, 1, d, b);
    c.n_in = 2;
    op_run(&c);
    if (out_is(&c, I32, &(shape){1, {4}}))
        for (i = 0; i < 4; i++) CHECK_EQ_INT(((int32_t *)c.out[0].data)[i], want[i]);
    op_free(&c);
}

/* Integer division by zero fails the run with INVALID_ARGUMENT (no crash, no UB), for
   every integer type; a float division by zero gives inf/NaN as IEEE says. */
static void test_div_by_zero(void) {
    size_t ti;
    for (ti = 0; ti < N_INT_TYPES; ti++) {
        infer_dtype t = int_types[ti];
        uint8_t a[8 * 8], b[8 * 8];
        int64_t da[2] = {2, 4}, db[1] = {4};
        int i;
        op_case c;
        for (i = 0; i < 8; i++) put_bits(a, t, (size_t)i, (uint64_t)(i + 1));
        for (i = 0; i < 4; i++) put_bits(b, t, (size_t)i, i == 2 ? 0 : 1);
        op_init(&c, "Div");
        c.in[0] = op_in("a", t, 2, da, a);
        c.in[1] = op_in("b", t, 1, db, b);
        c.n_in = 2;
        CHECK_EQ_INT(op_run(&c), INFER_STATUS_INVALID_ARGUMENT);
        CHECK_EQ_INT(c.status, INFER_STATUS_INVALID_ARGUMENT);
        if (!strstr(c.error, "division by zero")) printf("  %s: message: %s\n", infer_dtype_name(t), c.error);
        CHECK(strstr(c.error, "division by zero") != NULL);
        op_free(&c);
    }
    {   /* both inputs constant: the node is folded when the session is created, and fails there */
        int32_t a[2] = {4, 5}, b[2] = {2, 0};
        int64_t d[1] = {2};
        op_case c;
        op_init(&c, "Div");
        c.in[0] = op_const("a", I32, 1, d, a);
        c.in[1] = op_const("b", I32, 1, d, b);
        c.n_in = 2;
        CHECK_EQ_INT(op_run(&c), INFER_STATUS_INVALID_ARGUMENT);
        CHECK(strstr(c.error, "division by zero") != NULL);
        op_free(&c);
    }
    {   /* an integer to a negative power is refused as well (numpy refuses it too) */
        int64_t a[2] = {2, 3}, b[2] = {1, -1};
        int64_t d[1] = {2};
        op_case c;
        op_init(&c, "Pow");
        c.in[0] = op_in("a", I64, 1, d, a);
        c.in[1] = op_in("b", I64, 1, d, b);
        c.n_in = 2;
        CHECK_EQ_INT(op_run(&c), INFER_STATUS_INVALID_ARGUMENT);
        CHECK(strstr(c.error, "negative exponent") != NULL);
        op_free(&c);
    }
    {
        float a[3] = {1, -1, 0}, b[3] = {0, 0, 0};
        int64_t d[1] = {3};
        op_case c;
        op_init(&c, "Div");
        c.in[0] = op_in("a", F32, 1, d, a);
        c.in[1] = op_in("b", F32, 1, d, b);
        c.n_in = 2;
        op_run(&c);
        if (out_is(&c, F32, &(shape){1, {3}})) {
            const float *y = (const float *)c.out[0].data;
            CHECK(isinf(y[0]) && y[0] > 0);
            CHECK(isinf(y[1]) && y[1] < 0);
            CHECK(isnan(y[2]));
        }
        op_free(&c);
    }
}

/* Sum/Max/Min take 1..N inputs, all broadcast together (ONNX opset 13). */
static void test_variadic(void) {
    static const char *ops[] = {"Sum", "Max", "Min"};
    static const infer_dtype types[] = {F32, F64, I32, U8, I64, U64, I16};
    size_t o, ti;
    for (o = 0; o < 3; o++)
        for (ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
            infer_dtype t = types[ti];
            const char *op = ops[o];
            /* Sum of floats: positive terms so that f32 rounding stays within 1e-5 */
            double lo = !strcmp(op, "Sum") ? 0.5 : -3, hi = 2;
            shape one[1] = {S2(3, 7)};
            shape one0[1] = {S0};
            shape two[2] = {S2(3, 1), S1(7)};
            shape three[3] = {S2(3, 1), S2(1, 4), S3(2, 1, 1)};
            shape three_same[3] = {S1(17), S1(17), S1(17)};
            shape four[4] = {S0, S3(2, 3, 1), S1(5), S3(1, 1, 5)};
            shape five[5] = {S1(1), S2(7, 1), S1(3), S3(2, 1, 3), S0};
            check_nary(op, t, 1, one, lo, hi, 0, 70);
            check_nary(op, t, 1, one0, lo, hi, 0, 71);
            check_nary(op, t, 2, two, lo, hi, 0, 72);
            check_nary(op, t, 3, three, lo, hi, 0, 73);
            check_nary(op, t, 3, three_same, lo, hi, 0, 74);
            check_nary(op, t, 4, four, lo, hi, 0, 75);
            check_nary(op, t, 5, five, lo, hi, 0, 76);
            check_nary(op, t, 3, three, lo, hi, 2u, 77); /* the middle one a model constant */
        }
}

/* Some inputs constant, or all (then the node is folded when the session is created). */
static void test_arith_constants(void) {
    shape s[2] = {S2(3, 7), S1(7)};
    check_nary("Add", F32, 2, s, -2, 2, 1u, 80);
    check_nary("Mul", F32, 2, s, -2, 2, 2u, 81);
    check_nary("Sub", F32, 2, s, -2, 2, 3u, 82);
    check_nary("Div", I32, 2, s, 0, 0, 3u, 83);
    check_nary("Max", F64, 2, s, -2, 2, 3u, 84);
}

/* Max/Min: a NaN in any input gives NaN (numpy maximum/minimum), whichever side it is on. */
static void test_max_min_nan(void) {
    float a[4] = {NAN, 1, NAN, -INFINITY}, b[4] = {1, NAN, NAN, 2}, z[4] = {0, 0, 0, 0};
    int64_t d[1] = {4};
    const char *ops[2] = {"Max", "Min"};
    int o, i;
    for (o = 0; o < 2; o++) {
        op_case c;
        op_init(&c, ops[o]);
        c.in[0] = op_in("a", F32, 1, d, a);
        c.in[1] = op_in("b", F32, 1, d, b);
        c.n_in = 2;
        op_run(&c);
        if (out_is(&c, F32, &(shape){1, {4}})) {
            const float *y = (const float *)c.out[0].data;
            for (i = 0; i < 3; i++) CHECK(isnan(y[i]));
            CHECK(y[3] == (o == 0 ? 2.0f : -INFINITY));
        }
        op_free(&c);
        /* three inputs, the NaN only in the middle one */
        op_init(&c, ops[o]);
        c.in[0] = op_in("z", F32, 1, d, z);
        c.in[1] = op_in("b", F32, 1, d, b);
        c.in[2] = op_in("a", F32, 1, d, a);
        c.n_in = 3;
        op_run(&c);
        if (out_is(&c, F32, &(shape){1, {4}})) {
            const float *y = (const float *)c.out[0].data;
            for (i = 0; i < 3; i++) CHECK(isnan(y[i]));
        }
        op_free(&c);
    }
}

/* ------------------------------------------------------------------------------------ */
/* Pow (opset 15): base f32/f64 (or i32/i64), exponent of a float or integer type          */

static void check_pow(infer_dtype tb, infer_dtype te, shape sa, shape sb, unsigned long long seed) {
    shape out, s[2];
    size_t i, no, na = numel(&sa), nb = numel(&sb);
    void *a = xcalloc(na, infer_dtype_bytes(tb)), *b = xcalloc(nb, infer_dtype_bytes(te));
    char what[96];
    int int_exp = dt_int(te);
    op_case c;
    test_seed(seed);
    s[0] = sa, s[1] = sb;
    ref_broadcast(s, 2, &out);
    no = numel(&out);
    /* a float exponent wants a positive base; integer exponents allow any sign */
    for (i = 0; i < na; i++)
        put_f(a, tb, i, dt_int(tb) ? (double)test_int(-5, 5) : int_exp ? test_uniform(-3, 3) : test_uniform(0.1, 3));
    for (i = 0; i < nb; i++)
        put_f(b, te, i, dt_int(tb) ? (double)test_int(0, 9) : int_exp ? (double)test_int(-4, 5) : test_uniform(-2.5, 2.5));
    op_init(&c, "Pow");
    c.in[0] = in_shape("a", tb, &sa, a);
    c.in[1] = in_shape("b", te, &sb, b);
    c.n_in = 2;
    op_run(&c);
    snprintf(what, sizeof what, "Pow %s ^ %s", infer_dtype_name(tb), infer_dtype_name(te));
    if (out_is(&c, tb, &out)) {
        if (dt_int(tb)) {
            uint64_t *want = (uint64_t *)xcalloc(no, sizeof *want);
            for (i = 0; i < no; i++)
                want[i] = ref_int_op("Pow", tb, get_bits(a, tb, ref_src(&out, i, &sa)),
                                     get_bits(b, te, ref_src(&out, i, &sb)));
            check_bits_out(what, &c, tb, want, no);
            free(want);
        } else {
            double *want = (double *)xcalloc(no, sizeof *want);
            for (i = 0; i < no; i++) want[i] = pow(get_f(a, tb, ref_src(&out, i, &sa)), get_f(b, te, ref_src(&out, i, &sb)));
            check_float_out(what, &c, tb, want, no);
            free(want);
        }
    }
    op_free(&c);
    free(a);
    free(b);
}

static void test_pow(void) {
    check_pow(F32, F32, S2(3, 17), S2(3, 17), 90);
    check_pow(F32, F32, S2(3, 17), S0, 91);         /* x^scalar, the common x^2 */
    check_pow(F32, F32, S0, S1(17), 92);
    check_pow(F32, I32, S2(7, 3), S1(3), 93);
    check_pow(F32, I64, S2(7, 3), S2(7, 1), 94);
    check_pow(F64, F64, S1(1000), S1(1), 95);
    check_pow(F64, I64, S2(3, 7), S2(3, 7), 96);
    check_pow(F32, F64, S1(17), S1(17), 97);
    check_pow(F64, F32, S1(17), S1(17), 98);
    check_pow(I32, I32, S2(3, 7), S2(3, 7), 99);
    check_pow(I64, I64, S2(3, 7), S1(7), 100);
    {   /* special values: x^0 = 1 even for NaN; 0^-1 = inf; (-8)^(1/3) = NaN; i32 3^21 wraps */
        float a[4] = {NAN, 0, -8, 2}, b[4] = {0, -1, 1.0f / 3, 0.5f};
        int32_t ia[2] = {3, -2}, ib[2] = {21, 31};
        int64_t d[1] = {4}, di[1] = {2};
        op_case c;
        op_init(&c, "Pow");
        c.in[0] = op_in("a", F32, 1, d, a);
        c.in[1] = op_in("b", F32, 1, d, b);
        c.n_in = 2;
        op_run(&c);
        if (out_is(&c, F32, &(shape){1, {4}})) {
            const float *y = (const float *)c.out[0].data;
            CHECK(y[0] == 1.0f);
            CHECK(isinf(y[1]) && y[1] > 0);
            CHECK(isnan(y[2]));
            CHECK_NEAR(y[3], sqrt(2.0), 1e-6);
        }
        op_free(&c);
        op_init(&c, "Pow");
        c.in[0] = op_in("a", I32, 1, di, ia);
        c.in[1] = op_in("b", I32, 1, di, ib);
        c.n_in = 2;
        op_run(&c);
        if (out_is(&c, I32, &(shape){1, {2}})) {
            CHECK_EQ_INT(((int32_t *)c.out[0].data)[0], (int32_t)(uint32_t)10460353203ull); /* 3^21 mod 2^32 */
            CHECK_EQ_INT(((int32_t *)c.out[0].data)[1], INT32_MIN);                          /* (-2)^31 */
        }
        op_free(&c);
    }
}

/* ------------------------------------------------------------------------------------ */
/* comparisons, logic, Where                                                             */

static int ref_compare(const char *op, infer_dtype t, const void *a, size_t ia, const void *b, size_t ib) {
    int lt, eq, gt;
    if (dt_int(t)) {
        uint64_t x = get_bits(a, t, ia), y = get_bits(b, t, ib);
        lt = dt_signed(t) ? (int64_t)x < (int64_t)y : x < y;
        gt = dt_signed(t) ? (int64_t)x > (int64_t)y : x > y;
        eq = x == y;
    } else {
        double x = get_f(a, t, ia), y = get_f(b, t, ib); /* NaN: all false */
        lt = x < y, gt = x > y, eq = x == y;
    }
    if (!strcmp(op, "Equal")) return eq;
    if (!strcmp(op, "Less")) return lt;
    if (!strcmp(op, "LessOrEqual")) return lt || eq;
    if (!strcmp(op, "Greater")) return gt;
    if (!strcmp(op, "GreaterOrEqual")) return gt || eq;
    if (!strcmp(op, "And")) return get_bits(a, t, ia) && get_bits(b, t, ib);
    if (!strcmp(op, "Or")) return get_bits(a, t, ia) || get_bits(b, t, ib);
    return -1;
}

/* Values from a small set (so that ties are common), with extremes and NaN mixed in. */
static void fill_compare(void *p, infer_dtype t, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        if (t == BOOL) put_bits(p, t, i, (uint64_t)test_int(0, 1));
        else if (dt_int(t))
            put_bits(p, t, i, test_int(0, 7) == 0 ? rand_int(t) : (uint64_t)test_int(dt_signed(t) ? -3 : 0, 3));
        else put_f(p, t, i, test_int(0, 15) == 0 ? NAN : test_int(0, 15) == 0 ? INFINITY : 0.5 * (double)test_int(-3, 3));
    }
}

static void check_compare(const char *op, infer_dtype t, shape sa, shape sb, unsigned long long seed) {
    shape out, s[2];
    size_t i, no, na = numel(&sa), nb = numel(&sb);
    void *a = xcalloc(na, infer_dtype_bytes(t)), *b = xcalloc(nb, infer_dtype_bytes(t));
    uint64_t *want;
    char what[96];
    op_case c;
    test_seed(seed);
    s[0] = sa, s[1] = sb;
    ref_broadcast(s, 2, &out);
    no = numel(&out);
    fill_compare(a, t, na);
    fill_compare(b, t, nb);
    op_init(&c, op);
    c.in[0] = in_shape("a", t, &sa, a);
    c.in[1] = in_shape("b", t, &sb, b);
    c.n_in = 2;
    op_run(&c);
    snprintf(what, sizeof what, "%s %s, out rank %d", op, infer_dtype_name(t), out.n);
    want = (uint64_t *)xcalloc(no, sizeof *want);
    if (out_is(&c, BOOL, &out)) { /* the output is bool: one byte, 0 or 1 */
        for (i = 0; i < no; i++) want[i] = (uint64_t)ref_compare(op, t, a, ref_src(&out, i, &sa), b, ref_src(&out, i, &sb));
        check_bits_out(what, &c, BOOL, want, no);
    }
    free(want);
    op_free(&c);
    free(a);
    free(b);
}

/* Equal/Less/LessOrEqual/Greater/GreaterOrEqual on floats (with NaN) and every integer
   type (signed vs unsigned order matters at the extremes), broadcasting, bool output. */
static void test_compare(void) {
    static const char *ops[] = {"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual"};
    static const infer_dtype types[] = {F32, F64, I8, I16, I32, I64, U8, U16, U32, U64};
    size_t o, ti;
    for (o = 0; o < 5; o++)
        for (ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
            check_compare(ops[o], types[ti], S1(17), S1(17), 110 + ti);
            check_compare(ops[o], types[ti], S2(3, 1), S2(1, 7), 120 + ti);
            check_compare(ops[o], types[ti], S0, S3(2, 3, 4), 130 + ti);
            check_compare(ops[o], types[ti], S2(2, 1000), S1(1000), 140 + ti);
        }
    check_compare("Equal", BOOL, S2(3, 7), S1(7), 150); /* Equal also takes bool (opset 19) */
    check_compare("Less", F32, S2(0, 3), S1(3), 151);
}

/* And/Or on bool with broadcasting; Not on bool. */
static void test_logic(void) {
    check_compare("And", BOOL, S1(17), S1(17), 160);
    check_compare("Or", BOOL, S1(17), S1(17), 161);
    check_compare("And", BOOL, S2(3, 1), S2(1, 7), 162);
    check_compare("Or", BOOL, S0, S3(2, 3, 4), 163);
    check_compare("And", BOOL, S3(2, 3, 4), S1(4), 164);
    check_compare("Or", BOOL, S2(1000, 1), S2(1, 3), 165);
    {
        uint8_t x[7] = {0, 1, 1, 0, 0, 1, 0};
        int64_t d[2] = {1, 7};
        int i;
        op_case c;
        op_init(&c, "Not");
        c.in[0] = op_in("x", BOOL, 2, d, x);
        c.n_in = 1;
        op_run(&c);
        if (out_is(&c, BOOL, &(shape){2, {1, 7}}))
            for (i = 0; i < 7; i++) CHECK_EQ_INT(((uint8_t *)c.out[0].data)[i], !x[i]);
        op_free(&c);
    }
}

/* Where(cond, x, y): all three broadcast together; x and y of any dtype (opset 16). */
static void check_where(infer_dtype t, shape sc, shape sx, shape sy, unsigned long long seed) {
    shape s[3], out;
    size_t i, no, esz = infer_dtype_bytes(t), nc = numel(&sc), nx = numel(&sx), ny = numel(&sy), bad = 0;
    uint8_t *cond = (uint8_t *)xcalloc(nc, 1), *x = (uint8_t *)xcalloc(nx, esz), *y = (uint8_t *)xcalloc(ny, esz);
    op_case c;
    test_seed(seed);
    s[0] = sc, s[1] = sx, s[2] = sy;
    ref_broadcast(s, 3, &out);
    no = numel(&out);
    for (i = 0; i < nc; i++) cond[i] = (uint8_t)test_int(0, 1);
    for (i = 0; i < nx * esz; i++) x[i] = (uint8_t)test_rand_u64();
    for (i = 0; i < ny * esz; i++) y[i] = (uint8_t)test_rand_u64();
    if (t == BOOL) { /* keep bool values 0/1 */
        for (i = 0; i < nx; i++) x[i] &= 1;
        for (i = 0; i < ny; i++) y[i] &= 1;
    }
    op_init(&c, "Where");
    c.in[0] = in_shape("c", BOOL, &sc, cond);
    c.in[1] = in_shape("x", t, &sx, x);
    c.in[2] = in_shape("y", t, &sy, y);
    c.n_in = 3;
    op_run(&c);
    if (out_is(&c, t, &out)) {
        for (i = 0; i < no; i++) {
            const uint8_t *want =
                cond[ref_src(&out, i, &sc)] ? x + ref_src(&out, i, &sx) * esz : y + ref_src(&out, i, &sy) * esz;
            if (memcmp((const uint8_t *)c.out[0].data + i * esz, want, esz) != 0) bad++;
        }
        if (bad) printf("  Where %s: %zu of %zu elements wrong\n", infer_dtype_name(t), bad, no);
        CHECK(bad == 0);
    }
    op_free(&c);
    free(cond);
    free(x);
    free(y);
}

static void test_where(void) {
    size_t ti;
    for (ti = 0; ti < N_ALL_TYPES; ti++) {
        infer_dtype t = all_types[ti];
        check_where(t, S1(17), S1(17), S1(17), 170 + ti);
        check_where(t, S3(3, 1, 5), S2(4, 1), S1(5), 180 + ti);     /* every input stretched */
        check_where(t, S0, S2(3, 7), S2(3, 7), 190 + ti);           /* scalar condition */
        check_where(t, S2(3, 7), S0, S0, 200 + ti);                 /* scalar x and y */
        check_where(t, S2(1, 1000), S2(3, 1), S0, 210 + ti);
    }
    check_where(F32, S2(0, 4), S1(4), S2(1, 4), 220); /* empty */
}

/* Random shape pairs and triples, rank up to 8 (INFER_MAX_DIMS), every dim 1 on one
   side or both: the output dims and every element follow numpy broadcasting. */
static void test_broadcast_random(void) {
    int iter;
    test_seed(2000);
    for (iter = 0; iter < 150; iter++) {
        shape s[3];
        int r = (int)test_int(0, iter < 100 ? 4 : 8), k, i, n_in = iter % 3 == 2 ? 3 : 2;
        unsigned long long seed = 3000 + (unsigned long long)iter;
        for (i = 0; i < r; i++) {
            int64_t d = iter < 100 ? test_int(0, 9) == 0 ? 0 : test_int(1, 5) : test_int(1, 2);
            for (k = 0; k < n_in; k++) s[k].d[i] = test_int(0, 2) == 0 ? 1 : d;
        }
        for (k = 0; k < n_in; k++) { /* drop leading dims at random: ranks differ */
            int drop = (int)test_int(0, r);
            if (test_int(0, 1)) drop = 0;
            s[k].n = r - drop;
            memmove(s[k].d, s[k].d + drop, sizeof(int64_t) * (size_t)(r - drop));
        }
        check_nary(n_in == 3 || iter % 2 ? "Sum" : "Add", iter % 4 == 1 ? I32 : F32, n_in, s, -2, 2, 0, seed);
        if (n_in == 3) check_where(iter % 4 == 2 ? U8 : F64, s[0], s[1], s[2], seed);
        else check_compare("Less", I16, s[0], s[1], seed);
    }
}

/* ------------------------------------------------------------------------------------ */
/* unary                                                                                 */

static double ref_sigmoid(double x) { return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); }
static double ref_relu(double x) { return x > 0 ? x : 0; }
static double ref_recip(double x) { return 1 / x; }
static double ref_neg(double x) { return -x; }
static double ref_hard_swish(double x) { /* ONNX: x * max(0, min(1, x/6 + 1/2)) */
    double v = x / 6 + 0.5;
    return x * (v < 0 ? 0 : v > 1 ? 1 : v);
}
static double ref_gelu(double x) { return 0.5 * x * erfc(-x / sqrt(2.0)); } /* x * Phi(x) */
static double ref_gelu_tanh(double x) {
    /* 0.5 x (1 + tanh(u)) written as x / (1 + exp(-2u)), to avoid cancellation */
    double u = sqrt(2 / 3.14159265358979323846) * (x + 0.044715 * x * x * x);
    return x / (1 + exp(-2 * u));
}

typedef struct unary_case {
    const char *op;
    double (*f)(double);
    double lo, hi;
} unary_case;

static const unary_case unary_cases[] = {
    {"Sqrt", sqrt, 0, 100},       {"Reciprocal", ref_recip, 0.1, 10}, {"Neg", ref_neg, -10, 10},
    {"Abs", fabs, -10, 10},       {"Exp", exp, -20, 20},              {"Log", log, 1e-3, 100},
    {"Erf", erf, -4, 4},          {"Tanh", tanh, -10, 10},            {"Sigmoid", ref_sigmoid, -30, 30},
    {"Relu", ref_relu, -10, 10},  {"HardSwish", ref_hard_swish, -8, 8}, {"Gelu", ref_gelu, -7, 7},
};

/* Runs a float unary op over x (shape s) and compares with f, or with the LeakyRelu /
   HardSigmoid / Gelu-tanh references when attributes are given. */
static void check_unary(const char *op, infer_dtype t, shape s, double lo, double hi, double (*f)(double),
                        const infer_attr *attrs, int n_attrs, double (*f2)(double, double, double), double p1,
                        double p2, unsigned long long seed) {
    size_t i, n = numel(&s);
    void *x = xcalloc(n, infer_dtype_bytes(t));
    double *want = (double *)xcalloc(n, sizeof *want);
    char what[96];
    int k;
    op_case c;
    test_seed(seed);
    for (i = 0; i < n; i++) put_f(x, t, i, test_uniform(lo, hi));
    op_init(&c, op);
    c.in[0] = in_shape("x", t, &s, x);
    c.n_in = 1;
    for (k = 0; k < n_attrs; k++) c.attrs[k] = attrs[k];
    c.n_attrs = n_attrs;
    op_run(&c);
    snprintf(what, sizeof what, "%s %s [%zu]", op, infer_dtype_name(t), n);
    if (out_is(&c, t, &s)) {
        for (i = 0; i < n; i++) want[i] = f2 ? f2(get_f(x, t, i), p1, p2) : f(get_f(x, t, i));
        check_float_out(what, &c, t, want, n);
    }
    op_free(&c);
    free(x);
    free(want);
}

static double ref_leaky(double x, double alpha, double unused) {
    (void)unused;
    return x < 0 ? alpha * x : x;
}
static double ref_hard_sigmoid(double x, double alpha, double beta) {
    double v = alpha * x + beta;
    return v < 0 ? 0 : v > 1 ? 1 : v;
}
static double ref_gelu_tanh2(double x, double a, double b) {
    (void)a, (void)b;
    return ref_gelu_tanh(x);
}

/* The float unary ops on f32 and f64 over odd sizes (1, 7, 17, 1000, rank 0, empty). */
static void test_unary_float(void) {
    static const infer_dtype types[] = {F32, F64};
    const shape shapes[] = {S0, S1(1), S1(7), S2(17, 3), S2(1000, 1), S2(0, 5)};
    size_t u, ti, si;
    for (ti = 0; ti < 2; ti++)
        for (u = 0; u < sizeof unary_cases / sizeof unary_cases[0]; u++)
            for (si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
                check_unary(unary_cases[u].op, types[ti], shapes[si], unary_cases[u].lo, unary_cases[u].hi,
                            unary_cases[u].f, NULL, 0, NULL, 0, 0, 300 + 10 * u + si);
}

/* Attributes: LeakyRelu alpha (default 0.01), HardSigmoid alpha/beta (0.2/0.5), Gelu
   approximate "none" (default) / "tanh" (opset 20). */
static void test_unary_attrs(void) {
    infer_attr a[2];
    int ti;
    for (ti = 0; ti < 2; ti++) {
        infer_dtype t = ti ? F64 : F32;
        check_unary("LeakyRelu", t, S2(17, 7), -5, 5, NULL, NULL, 0, ref_leaky, (double)0.01f, 0, 400);
        a[0] = infer_attr_float("alpha", 0.3f);
        check_unary("LeakyRelu", t, S1(1000), -5, 5, NULL, a, 1, ref_leaky, (double)0.3f, 0, 401);
        check_unary("HardSigmoid", t, S2(17, 7), -5, 5, NULL, NULL, 0, ref_hard_sigmoid, (double)0.2f, 0.5, 402);
        a[0] = infer_attr_float("alpha", 0.25f);
        a[1] = infer_attr_float("beta", 0.125f);
        check_unary("HardSigmoid", t, S1(1000), -8, 8, NULL, a, 2, ref_hard_sigmoid, 0.25, 0.125, 403);
        a[0] = infer_attr_float("beta", 0.75f);
        check_unary("HardSigmoid", t, S1(17), -8, 8, NULL, a, 1, ref_hard_sigmoid, (double)0.2f, 0.75, 404);
        a[0] = infer_attr_string("approximate", "none");
        check_unary("Gelu", t, S1(1000), -7, 7, ref_gelu, a, 1, NULL, 0, 0, 405);
        a[0] = infer_attr_string("approximate", "tanh");
        check_unary("Gelu", t, S2(17, 7), -7, 7, NULL, a, 1, ref_gelu_tanh2, 0, 0, 406);
        check_unary("Gelu", t, S1(1000), -12, 12, NULL, a, 1, ref_gelu_tanh2, 0, 0, 407);
    }
}

/* Special values through the unary ops (f32): the IEEE result, no overflow to NaN. */
static void test_unary_special(void) {
    float x[8] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, -1.0f, 1000.0f, -1000.0f};
    int64_t d[1] = {8};
    struct {
        const char *op;
        double want[8]; /* NaN where NaN is expected */
    } cases[] = {
        {"Relu", {NAN, INFINITY, 0, 0, 0, 0, 1000, 0}},
        {"Sigmoid", {NAN, 1, 0, 0.5, 0.5, 0.2689414213699951, 1, 0}},
        {"Log", {NAN, INFINITY, NAN, -INFINITY, -INFINITY, NAN, 6.907755278982137, NAN}},
        {"Sqrt", {NAN, INFINITY, NAN, 0, 0, NAN, 31.622776601683793, NAN}},
        {"Exp", {NAN, INFINITY, 0, 1, 1, 0.36787944117144233, INFINITY, 0}},
        {"Tanh", {NAN, 1, -1, 0, 0, -0.7615941559557649, 1, -1}},
        {"Erf", {NAN, 1, -1, 0, 0, -0.8427007929497149, 1, -1}},
        {"Reciprocal", {NAN, 0, 0, INFINITY, -INFINITY, -1, 0.001, -0.001}},
        {"Abs", {NAN, INFINITY, INFINITY, 0, 0, 1, 1000, 1000}},
        {"Neg", {NAN, -INFINITY, INFINITY, 0, 0, 1, -1000, 1000}},
        {"LeakyRelu", {NAN, INFINITY, -INFINITY, 0, 0, -0.01f, 1000, -10.0f}},
        {"HardSigmoid", {NAN, 1, 0, 0.5, 0.5, 0.3f, 1, 0}},
        {"HardSwish", {NAN, INFINITY, NAN, 0, 0, -1.0 / 3, 1000, 0}}, /* -inf * 0: NaN */
        {"Gelu", {NAN, INFINITY, NAN, 0, 0, -0.15865525393145707, 1000, 0}},
    };
    size_t k;
    int i;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        op_case c;
        op_init(&c, cases[k].op);
        c.in[0] = op_in("x", F32, 1, d, x);
        c.n_in = 1;
        op_run(&c);
        if (out_is(&c, F32, &(shape){1, {8}})) {
            const float *y = (const float *)c.out[0].data;
            for (i = 0; i < 8; i++) {
                double w = cases[k].want[i];
                int ok;
                if (!strcmp(cases[k].op, "HardSwish") && i == 2) continue; /* -inf*0: either NaN or 0 is defensible */
                if (!strcmp(cases[k].op, "Gelu") && i == 2) continue;      /* -inf * 0 likewise */
                ok = isnan(w) ? isnan(y[i]) : isinf(w) ? y[i] == w : fabs(y[i] - w) <= 1e-6 * fmax(1, fabs(w));
                if (!ok) printf("  %s(%g): got %.9g want %.9g\n", cases[k].op, (double)x[i], (double)y[i], w);
                CHECK(ok);
            }
        }
        op_free(&c);
    }
}

/* Sigmoid at large |x| stays in [0, 1] without overflow, matching the double reference
   (tiny results included, relative to themselves). */
static void test_sigmoid_extremes(void) {
    float x[6] = {-88.0f, -100.0f, -103.0f, 88.0f, 100.0f, -50.0f};
    int64_t d[1] = {6};
    int i;
    op_case c;
    op_init(&c, "Sigmoid");
    c.in[0] = op_in("x", F32, 1, d, x);
    c.n_in = 1;
    op_run(&c);
    if (out_is(&c, F32, &(shape){1, {6}})) {
        const float *y = (const float *)c.out[0].data;
        for (i = 0; i < 6; i++) {
            double w = ref_sigmoid(x[i]);
            CHECK(isfinite(y[i]) && y[i] >= 0 && y[i] <= 1);
            if (w > 1e-37) CHECK_NEAR(y[i] / w, 1.0, 1e-5); /* normal floats: relative */
            else CHECK(fabs(y[i] - w) < 1e-44);           /* subnormal: a few steps */
        }
    }
    op_free(&c);
}

/* Neg/Abs/Relu on signed integers (opset 13/14), Abs on unsigned; MIN wraps. */
static void test_unary_int(void) {
    static const char *ops[] = {"Neg", "Abs", "Relu"};
    size_t o, ti, i, n = 40;
    for (o = 0; o < 3; o++)
        for (ti = 0; ti < N_INT_TYPES; ti++) {
            infer_dtype t = int_types[ti];
            uint8_t x[40 * 8];
            uint64_t want[40];
            int64_t d[2] = {5, 8};
            op_case c;
            if (!dt_signed(t) && strcmp(ops[o], "Abs")) continue;
            test_seed(500 + ti);
            for (i = 0; i < n; i++) put_bits(x, t, i, rand_int(t));
            op_init(&c, ops[o]);
            c.in[0] = op_in("x", t, 2, d, x);
            c.n_in = 1;
            op_run(&c);
            if (out_is(&c, t, &(shape){2, {5, 8}})) {
                for (i = 0; i < n; i++) {
                    uint64_t v = get_bits(x, t, i);
                    int neg = dt_signed(t) && (int64_t)v < 0;
                    if (!strcmp(ops[o], "Neg")) want[i] = 0 - v;
                    else if (!strcmp(ops[o], "Abs")) want[i] = neg ? 0 - v : v;
                    else want[i] = neg ? 0 : v;
                }
                check_bits_out(ops[o], &c, t, want, n);
            }
            op_free(&c);
        }
}

/* ------------------------------------------------------------------------------------ */
/* Clip (opset 13): min and max are optional scalar inputs 1 and 2                       */

/* has: bit 0 min given, bit 1 max given; min/max given as a constant when `constant`. */
static void check_clip(infer_dtype t, shape s, int has, double lo, double hi, int constant, unsigned long long seed) {
    size_t i, n = numel(&s);
    uint8_t mn[8], mx[8];
    void *x = xcalloc(n, infer_dtype_bytes(t));
    uint64_t *want = (uint64_t *)xcalloc(n, sizeof *want);
    double *wantf = (double *)xcalloc(n, sizeof *wantf);
    char what[96];
    op_case c;
    test_seed(seed);
    for (i = 0; i < n; i++) {
        if (dt_int(t))
            put_bits(x, t, i, test_int(0, 1) ? rand_int(t) : (uint64_t)(int64_t)test_int(dt_signed(t) ? -20 : 0, 20));
        else put_f(x, t, i, test_uniform(-10, 10));
    }
    put_f(mn, t, 0, lo);
    put_f(mx, t, 0, hi);
    op_init(&c, "Clip");
    c.in[0] = in_shape("x", t, &s, x);
    c.in[1] = (has & 1) ? (constant ? op_const("lo", t, 0, NULL, mn) : op_in("lo", t, 0, NULL, mn)) : op_absent();
    c.in[2] = (has & 2) ? (constant ? op_const("hi", t, 0, NULL, mx) : op_in("hi", t, 0, NULL, mx)) : op_absent();
    c.n_in = (has & 2) ? 3 : (has & 1) ? 2 : 1;
    op_run(&c);
    snprintf(what, sizeof what, "Clip %s min%s max%s", infer_dtype_name(t), has & 1 ? "" : "(absent)",
             has & 2 ? "" : "(absent)");
    if (out_is(&c, t, &s)) {
        /* Min(max, Max(x, min)): so min > max gives max everywhere */
        for (i = 0; i < n; i++) {
            if (dt_int(t)) {
                uint64_t v = get_bits(x, t, i);
                if (has & 1) v = ref_int_op("Max", t, v, get_bits(mn, t, 0));
                if (has & 2) v = ref_int_op("Min", t, v, get_bits(mx, t, 0));
                want[i] = v;
            } else {
                double v = get_f(x, t, i);
                if ((has & 1) && v < lo) v = lo;
                if ((has & 2) && v > hi) v = hi;
                wantf[i] = v;
            }
        }
        if (dt_int(t)) check_bits_out(what, &c, t, want, n);
        else check_float_out(what, &c, t, wantf, n);
    }
    op_free(&c);
    free(x);
    free(want);
    free(wantf);
}

static void test_clip(void) {
    static const infer_dtype types[] = {F32, F64, I8, I16, I32, I64, U8, U16, U32, U64};
    size_t ti;
    int has;
    for (ti = 0; ti < sizeof types / sizeof types[0]; ti++)
        for (has = 0; has < 4; has++) {
            infer_dtype t = types[ti];
            double lo = dt_int(t) && !dt_signed(t) ? 3 : -3.5, hi = dt_int(t) ? 7 : 4.25;
            if (dt_int(t) && dt_signed(t)) lo = -3;
            check_clip(t, S2(17, 7), has, lo, hi, 0, 600 + ti);
            check_clip(t, S1(1000), has, lo, hi, 1, 610 + ti);
            check_clip(t, S0, has, lo, hi, 1, 620 + ti);
        }
    /* min > max: every value becomes max */
    check_clip(F32, S1(17), 3, 5, 2, 1, 630);
    check_clip(I32, S1(17), 3, 5, 2, 0, 631);
    check_clip(U8, S1(17), 3, 9, 4, 1, 632);
    {   /* NaN passes through Clip */
        float x[3] = {NAN, -100, 100}, lo = -1, hi = 1;
        int64_t d[1] = {3};
        op_case c;
        op_init(&c, "Clip");
        c.in[0] = op_in("x", F32, 1, d, x);
        c.in[1] = op_const("lo", F32, 0, NULL, &lo);
        c.in[2] = op_const("hi", F32, 0, NULL, &hi);
        c.n_in = 3;
        op_run(&c);
        if (out_is(&c, F32, &(shape){1, {3}})) {
            const float *y = (const float *)c.out[0].data;
            CHECK(isnan(y[0]));
            CHECK(y[1] == -1.0f);
            CHECK(y[2] == 1.0f);
        }
        op_free(&c);
    }
}

/* ------------------------------------------------------------------------------------ */
/* Cast (opset 21+); `to` takes infer_dtype values                                        */

static op_case run_cast(infer_dtype from, infer_dtype to, const shape *s, const void *x) {
    op_case c;
    op_init(&c, "Cast");
    c.in[0] = in_shape("x", from, s, x);
    c.n_in = 1;
    c.attrs[0] = infer_attr_int("to", to);
    c.n_attrs = 1;
    op_run(&c);
    return c;
}

/* Casts vals (exact in every type involved) from each dtype to each dtype and compares
   the bytes with the reference encoding of the same values. */
static void cast_matrix(const double *vals, size_t n, int negatives) {
    size_t fi, ti, i;
    shape s = S1((int64_t)n);
    for (fi = 0; fi < N_ALL_TYPES; fi++)
        for (ti = 0; ti < N_ALL_TYPES; ti++) {
            infer_dtype from = all_types[fi], to = all_types[ti];
            size_t ez = infer_dtype_bytes(to);
            uint8_t *x = (uint8_t *)xcalloc(n, infer_dtype_bytes(from)), *want = (uint8_t *)xcalloc(n, ez);
            op_case c;
            /* negatives: only between signed/float types and to bool (float -> unsigned of a
               negative value is undefined in ONNX) */
            if (negatives && (from == BOOL || (dt_int(from) && !dt_signed(from)) || (dt_int(to) && !dt_signed(to)))) {
                free(x);
                free(want);
                continue;
            }
            for (i = 0; i < n; i++) put_f(x, from, i, vals[i]);
            for (i = 0; i < n; i++) put_f(want, to, i, get_f(x, from, i));
            c = run_cast(from, to, &s, x);
            if (out_is(&c, to, &s) && memcmp(c.out[0].data, want, n * ez) != 0) {
                for (i = 0; i < n; i++)
                    if (memcmp((uint8_t *)c.out[0].data + i * ez, want + i * ez, ez)) break;
                printf("  Cast %s -> %s: element %zu (%g) got %g want %g\n", infer_dtype_name(from), infer_dtype_name(to),
                       i, get_f(x, from, i), get_f(c.out[0].data, to, i), get_f(want, to, i));
                test__failed_checks++;
            }
            op_free(&c);
            free(x);
            free(want);
        }
}

/* Every dtype to every dtype on values exact in all of them; bool is v != 0 one way and
   {0, 1} the other; negatives among signed and float types. */
static void test_cast_matrix(void) {
    double vals[] = {0, 1, 2, 3, 7, 100, 127, 1, 0, 64};
    double negs[] = {-1, -2, -7, -100, -128, 0, 5};
    cast_matrix(vals, sizeof vals / sizeof vals[0], 0);
    cast_matrix(negs, sizeof negs / sizeof negs[0], 1);
}

/* Float -> integer truncates toward zero; NaN -> 0 (our documented choice; ONNX leaves
   it undefined). Float -> bool: +-0 false, everything else (NaN too) true. */
static void test_cast_float_to_int(void) {
    static const infer_dtype floats[] = {F32, F64, F16, BF16};
    double svals[] = {2.75, -2.75, 0.5, -0.5, 99.9, -99.9, -0.0, NAN, 126.99, -127.5};
    double uvals[] = {2.75, 0.5, -0.5, 99.9, 0.99, NAN, 250.5, -0.0};
    size_t fi, ti, i;
    for (fi = 0; fi < 4; fi++)
        for (ti = 0; ti < N_INT_TYPES + 1; ti++) {
            infer_dtype from = floats[fi], to = ti < N_INT_TYPES ? int_types[ti] : BOOL;
            const double *vals = dt_signed(to) || to == BOOL ? svals : uvals;
            size_t n = dt_signed(to) || to == BOOL ? sizeof svals / sizeof svals[0] : sizeof uvals / sizeof uvals[0];
            shape s = S1((int64_t)n);
            uint8_t x[16 * 8];
            uint64_t want[16];
            op_case c;
            for (i = 0; i < n; i++) put_f(x, from, i, vals[i]);
            for (i = 0; i < n; i++) {
                double v = get_f(x, from, i); /* the value after rounding into `from` */
                if (to == BOOL) want[i] = v != 0 || isnan(v);
                else want[i] = isnan(v) ? 0 : (uint64_t)(int64_t)trunc(v);
            }
            c = run_cast(from, to, &s, x);
            if (out_is(&c, to, &s)) check_bits_out(infer_dtype_name(from), &c, to, want, n);
            op_free(&c);
        }
}

/* Integer -> integer keeps the low bits (two's complement), e.g. 300 (i16) -> 44 (i8),
   -1 -> 255 (u8), UINT64_MAX -> -1 (i64). */
static void test_cast_int_wrap(void) {
    size_t fi, ti, i, n = 32;
    for (fi = 0; fi < N_INT_TYPES; fi++)
        for (ti = 0; ti < N_INT_TYPES; ti++) {
            infer_dtype from = int_types[fi], to = int_types[ti];
            uint8_t x[32 * 8];
            uint64_t want[32];
            shape s = S1((int64_t)n);
            op_case c;
            test_seed(700 + fi * 16 + ti);
            for (i = 0; i < n; i++) put_bits(x, from, i, rand_int(from));
            for (i = 0; i < n; i++) want[i] = wrap(to, get_bits(x, from, i));
            c = run_cast(from, to, &s, x);
            if (out_is(&c, to, &s)) check_bits_out("int wrap", &c, to, want, n);
            op_free(&c);
        }
}

/* Integer -> float rounds to nearest even once (no double rounding through f64). */
static void test_cast_int_to_float(void) {
    int64_t a[4] = {((int64_t)1 << 60) + ((int64_t)1 << 36) + 1, -(((int64_t)1 << 60) + ((int64_t)1 << 36) + 1),
                    INT64_MAX, ((int64_t)1 << 53) + 1};
    uint64_t u[3] = {UINT64_MAX, (1ull << 63) + (1ull << 39) + 1, 123456789012345ull};
    shape s4 = S1(4), s3 = S1(3);
    int i;
    op_case c = run_cast(I64, F32, &s4, a);
    if (out_is(&c, F32, &s4))
        for (i = 0; i < 4; i++) CHECK(((float *)c.out[0].data)[i] == (float)a[i]);
    op_free(&c);
    c = run_cast(I64, F64, &s4, a);
    if (out_is(&c, F64, &s4))
        for (i = 0; i < 4; i++) CHECK(((double *)c.out[0].data)[i] == (double)a[i]);
    op_free(&c);
    c = run_cast(U64, F32, &s3, u);
    if (out_is(&c, F32, &s3))
        for (i = 0; i < 3; i++) CHECK(((float *)c.out[0].data)[i] == (float)u[i]);
    op_free(&c);
    c = run_cast(I32, F32, &S1(1), &(int32_t){16777217}); /* 2^24 + 1 -> 2^24 (tie to even) */
    if (out_is(&c, F32, &S1(1))) CHECK(((float *)c.out[0].data)[0] == 16777216.0f);
    op_free(&c);
}

/* f32 -> f16 / bf16: round to nearest even, overflow to inf, f16 subnormals. */
static void test_cast_half_known(void) {
    struct { float x; uint16_t f16, bf16; } k[] = {
        {1.0f, 0x3C00, 0x3F80},
        {-2.0f, 0xC000, 0xC000},
        {65504.0f, 0x7BFF, 0x4780},           /* f16 max; bf16 rounds up */
        {65519.0f, 0x7BFF, 0x4780},           /* below the f16 midpoint: stays max */
        {65520.0f, 0x7C00, 0x4780},           /* the midpoint rounds to even: inf */
        {1e-7f, 0x0002, 0x33D7},              /* f16 subnormal: 1e-7 / 2^-24 = 1.68 -> 2 */
        {5.9604645e-8f, 0x0001, 0x3380},      /* 2^-24: the smallest f16 subnormal */
        {2.9802322e-8f, 0x0000, 0x3300},      /* 2^-25: a tie, to even (zero) */
        {8.940697e-8f, 0x0002, 0x33C0},       /* 3 * 2^-25: a tie, to even (2) */
        {6.1035156e-5f, 0x0400, 0x3880},      /* 2^-14: the smallest f16 normal */
        {0.1f, 0x2E66, 0x3DCD},
        {-0.0f, 0x8000, 0x8000},
        {1.00048828125f, 0x3C00, 0x3F80},     /* 1 + 2^-11: f16 tie to even */
        {1.00146484375f, 0x3C02, 0x3F80},     /* 1 + 3*2^-11: f16 tie, up to even */
        {1.00390625f, 0x3C04, 0x3F80},        /* 1 + 2^-8: bf16 tie to even */
        {1.01171875f, 0x3C0C, 0x3F82},        /* 1 + 3*2^-8: bf16 tie, up to even */
        {INFINITY, 0x7C00, 0x7F80},
        {-INFINITY, 0xFC00, 0xFF80},
        {FLT_MAX, 0x7C00, 0x7F80},            /* over bf16 max: inf */
        {3.3895314e38f, 0x7C00, 0x7F7F},      /* bf16 max */
    };
    size_t n = sizeof k / sizeof k[0], i;
    float x[32];
    shape s = S1((int64_t)n);
    op_case c;
    for (i = 0; i < n; i++) {
        x[i] = k[i].x;
        /* the table itself against the reference encoder */
        CHECK_EQ_INT(F16_BITS(k[i].x), k[i].f16);
        CHECK_EQ_INT(BF16_BITS(k[i].x), k[i].bf16);
    }
    c = run_cast(F32, F16, &s, x);
    if (out_is(&c, F16, &s))
        for (i = 0; i < n; i++) {
            uint16_t h = ((uint16_t *)c.out[0].data)[i];
            if (h != k[i].f16) printf("  f16(%.9g): got 0x%04X want 0x%04X\n", (double)k[i].x, h, k[i].f16);
            CHECK(h == k[i].f16);
        }
    op_free(&c);
    c = run_cast(F32, BF16, &s, x);
    if (out_is(&c, BF16, &s))
        for (i = 0; i < n; i++) {
            uint16_t h = ((uint16_t *)c.out[0].data)[i];
            if (h != k[i].bf16) printf("  bf16(%.9g): got 0x%04X want 0x%04X\n", (double)k[i].x, h, k[i].bf16);
            CHECK(h == k[i].bf16);
        }
    op_free(&c);
    {   /* NaN stays NaN (any payload) */
        float nan = NAN;
        c = run_cast(F32, F16, &S1(1), &nan);
        if (out_is(&c, F16, &S1(1))) CHECK(isnan(ref_half_value(((uint16_t *)c.out[0].data)[0], 10, 5)));
        op_free(&c);
        c = run_cast(F32, BF16, &S1(1), &nan);
        if (out_is(&c, BF16, &S1(1))) CHECK(isnan(ref_half_value(((uint16_t *)c.out[0].data)[0], 7, 8)));
        op_free(&c);
    }
}

/* Random f32 and f64 values near and across the f16/bf16 ranges against the reference encoder. */
static void test_cast_half_random(void) {
    size_t n = 4096, i, bad;
    float *x = (float *)xcalloc(n, sizeof *x);
    double *xd = (double *)xcalloc(n, sizeof *xd);
    shape s = S1((int64_t)n);
    int half, from64;
    test_seed(800);
    for (i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)test_rand_u64();
        if (i % 2) bits = (bits & 0x807FFFFFu) | ((uint32_t)test_int(95, 145) << 23); /* around the f16 range */
        if ((bits & 0x7F800000u) == 0x7F800000u) bits &= 0xBFFFFFFFu;                    /* no NaN */
        memcpy(&x[i], &bits, 4);
        xd[i] = (double)x[i] * (1 + test_uniform(-1e-6, 1e-6)); /* off the f32 grid */
    }
    for (from64 = 0; from64 < 2; from64++)
        for (half = 0; half < 2; half++) {
            infer_dtype to = half ? BF16 : F16;
            op_case c = run_cast(from64 ? F64 : F32, to, &s, from64 ? (const void *)xd : (const void *)x);
            if (out_is(&c, to, &s)) {
                bad = 0;
                for (i = 0; i < n; i++) {
                    double v = from64 ? xd[i] : x[i];
                    uint16_t want = half ? BF16_BITS(v) : F16_BITS(v), got = ((uint16_t *)c.out[0].data)[i];
                    if (got != want && !bad++)
                        printf("  %s -> %s (%.17g): got 0x%04X want 0x%04X\n", from64 ? "f64" : "f32",
                               infer_dtype_name(to), v, got, want);
                }
                CHECK(bad == 0);
            }
            op_free(&c);
        }
    free(x);
    free(xd);
}

/* f64 -> f16/bf16 rounds once: a value just above a midpoint must not first round to the
   midpoint in f32 and then tie to even. f64 -> f32 out of range gives +-inf. */
static void test_cast_f64_narrowing(void) {
    double x[6] = {1 + 0x1p-11 + 0x1p-40, 1 + 0x1p-8 + 0x1p-40, -(1 + 0x1p-11 + 0x1p-40), 1e300, -1e300, 1e-300};
    shape s = S1(6);
    op_case c = run_cast(F64, F16, &s, x);
    if (out_is(&c, F16, &s)) {
        const uint16_t *h = (const uint16_t *)c.out[0].data;
        CHECK_EQ_INT(h[0], 0x3C01);
        CHECK_EQ_INT(h[1], 0x3C04);
        CHECK_EQ_INT(h[2], 0xBC01);
        CHECK_EQ_INT(h[3], 0x7C00);
        CHECK_EQ_INT(h[4], 0xFC00);
        CHECK_EQ_INT(h[5], 0x0000);
    }
    op_free(&c);
    c = run_cast(F64, BF16, &s, x);
    if (out_is(&c, BF16, &s)) {
        const uint16_t *h = (const uint16_t *)c.out[0].data;
        CHECK_EQ_INT(h[0], 0x3F80);
        CHECK_EQ_INT(h[1], 0x3F81);
        CHECK_EQ_INT(h[2], 0xBF80);
        CHECK_EQ_INT(h[3], 0x7F80);
        CHECK_EQ_INT(h[4], 0xFF80);
        CHECK_EQ_INT(h[5], 0x0000);
    }
    op_free(&c);
    c = run_cast(F64, F32, &s, x);
    if (out_is(&c, F32, &s)) {
        const float *y = (const float *)c.out[0].data;
        CHECK(y[0] == (float)x[0]);
        CHECK(isinf(y[3]) && y[3] > 0);
        CHECK(isinf(y[4]) && y[4] < 0);
        CHECK(y[5] == 0);
    }
    op_free(&c);
}

/* Every f16 and bf16 bit pattern widens exactly to f32 and f64 (NaN to NaN). */
static void test_cast_half_widen(void) {
    uint16_t *h = (uint16_t *)xcalloc(65536, sizeof *h);
    shape s = S1(65536);
    int half, to64;
    size_t i;
    for (i = 0; i < 65536; i++) h[i] = (uint16_t)i;
    for (half = 0; half < 2; half++)
        for (to64 = 0; to64 < 2; to64++) {
            infer_dtype to = to64 ? F64 : F32;
            op_case c = run_cast(half ? BF16 : F16, to, &s, h);
            if (out_is(&c, to, &s)) {
                size_t bad = 0;
                for (i = 0; i < 65536; i++) {
                    double want = half ? ref_half_value((uint16_t)i, 7, 8) : ref_half_value((uint16_t)i, 10, 5);
                    double got = get_f(c.out[0].data, to, i);
                    int ok = isnan(want) ? isnan(got) : got == want && signbit(got) == signbit(want);
                    if (!ok && !bad++) printf("  %s 0x%04zX -> %s: got %g want %g\n", half ? "bf16" : "f16", i,
                                              infer_dtype_name(to), got, want);
                }
                CHECK(bad == 0);
            }
            op_free(&c);
        }
    free(h);
}

/* Cast keeps the shape: rank 0 and empty tensors included; a cast to the same type copies. */
static void test_cast_shapes(void) {
    float x0 = -3.5f;
    int32_t xi[6] = {1, -2, 3, -4, 5, -6};
    op_case c = run_cast(F32, I32, &S0, &x0);
    if (out_is(&c, I32, &S0)) CHECK_EQ_INT(((int32_t *)c.out[0].data)[0], -3);
    op_free(&c);
    c = run_cast(F32, F64, &S2(0, 3), &x0);
    out_is(&c, F64, &S2(0, 3));
    op_free(&c);
    c = run_cast(I32, I32, &S2(2, 3), xi);
    if (out_is(&c, I32, &S2(2, 3))) CHECK(memcmp(c.out[0].data, xi, sizeof xi) == 0);
    op_free(&c);
}

/* ------------------------------------------------------------------------------------ */
/* Identity                                                                              */

/* Identity returns its input unchanged, bit for bit, in every dtype and shape, for a
   run-time input and for a model constant. */
static void test_identity(void) {
    const shape shapes[] = {S0, S1(1), S2(3, 7), S3(2, 0, 3), S1(1000)};
    size_t ti, si, i;
    int constant;
    for (ti = 0; ti < N_ALL_TYPES; ti++)
        for (si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
            for (constant = 0; constant < 2; constant++) {
                infer_dtype t = all_types[ti];
                size_t bytes = numel(&shapes[si]) * infer_dtype_bytes(t);
                uint8_t *x = (uint8_t *)xcalloc(bytes, 1);
                op_case c;
                test_seed(900 + ti);
                for (i = 0; i < bytes; i++) x[i] = (uint8_t)test_rand_u64();
                if (t == BOOL)
                    for (i = 0; i < bytes; i++) x[i] &= 1;
                op_init(&c, "Identity");
                c.in[0] = constant ? const_shape("x", t, &shapes[si], x) : in_shape("x", t, &shapes[si], x);
                c.n_in = 1;
                op_run(&c);
                if (out_is(&c, t, &shapes[si])) CHECK(bytes == 0 || memcmp(c.out[0].data, x, bytes) == 0);
                op_free(&c);
                free(x);
            }
}

/* ------------------------------------------------------------------------------------ */
/* bad input                                                                             */

static void expect_fail(op_case *c, infer_status want, const char *phrase) {
    op_run(c);
    if (c->status != want || !strstr(c->error, phrase)) {
        printf("  %s: got %s \"%s\"; wanted %s with \"%s\"\n", c->op, infer_status_name(c->status), c->error,
               infer_status_name(want), phrase);
        test__failed_checks++;
    }
    op_free(c);
}

/* A dtype an op does not take: UNSUPPORTED, naming the dtype. */
static void test_bad_dtype(void) {
    static const struct { const char *op; infer_dtype t; int n_in; } cases[] = {
        {"Sqrt", I32, 1},    {"Exp", I64, 1},     {"Sigmoid", U8, 1}, {"Relu", U16, 1},   {"Neg", U32, 1},
        {"Not", F32, 1},     {"Not", I8, 1},      {"And", F32, 2},    {"Or", I32, 2},     {"Less", BOOL, 2},
        {"Add", BOOL, 2},    {"Gelu", I32, 1},    {"Log", F16, 1},    {"Tanh", BF16, 1},  {"Clip", BOOL, 1},
        {"Erf", I16, 1},     {"Max", BOOL, 2},    {"Sum", F16, 2},
    };
    uint8_t buf[64] = {0};
    int64_t d[1] = {3};
    size_t k;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        op_case c;
        int i;
        op_init(&c, cases[k].op);
        for (i = 0; i < cases[k].n_in; i++) c.in[i] = op_in(i ? "b" : "a", cases[k].t, 1, d, buf);
        c.n_in = cases[k].n_in;
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, infer_dtype_name(cases[k].t));
    }
    {   /* Where's condition must be bool */
        op_case c;
        op_init(&c, "Where");
        c.in[0] = op_in("c", F32, 1, d, buf);
        c.in[1] = op_in("x", F32, 1, d, buf);
        c.in[2] = op_in("y", F32, 1, d, buf);
        c.n_in = 3;
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "f32");
    }
    {   /* Gelu's approximate is "none" or "tanh" */
        op_case c;
        op_init(&c, "Gelu");
        c.in[0] = op_in("x", F32, 1, d, buf);
        c.n_in = 1;
        c.attrs[0] = infer_attr_string("approximate", "fast");
        c.n_attrs = 1;
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "fast");
    }
}

/* Shapes that do not broadcast, and inputs of mismatched dtypes: SHAPE. */
static void test_bad_shapes(void) {
    uint8_t buf[512] = {0};
    static const struct { const char *op; shape a, b; } cases[] = {
        {"Add", {2, {2, 3}}, {1, {4}}},     {"Mul", {1, {3}}, {1, {0}}},       {"Equal", {1, {2}}, {1, {3}}},
        {"And", {2, {3, 2}}, {2, {2, 3}}},  {"Max", {3, {2, 3, 4}}, {2, {2, 4}}}, {"Pow", {1, {5}}, {1, {4}}},
    };
    size_t k;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        infer_dtype t = !strcmp(cases[k].op, "And") ? BOOL : F32;
        op_case c;
        op_init(&c, cases[k].op);
        c.in[0] = in_shape("a", t, &cases[k].a, buf);
        c.in[1] = in_shape("b", t, &cases[k].b, buf);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_SHAPE, "do not broadcast");
    }
    {   /* the third input of a variadic Sum */
        shape s3 = S2(3, 1), s1 = S1(4), sbad = S1(5);
        op_case c;
        op_init(&c, "Sum");
        c.in[0] = in_shape("a", F32, &s3, buf);
        c.in[1] = in_shape("b", F32, &s1, buf);
        c.in[2] = in_shape("c", F32, &sbad, buf);
        c.n_in = 3;
        expect_fail(&c, INFER_STATUS_SHAPE, "do not broadcast");
    }
    {   /* Where: x and y fit, cond does not */
        shape sc = S1(2), sx = S2(3, 1), sy = S1(3);
        op_case c;
        op_init(&c, "Where");
        c.in[0] = in_shape("c", BOOL, &sc, buf);
        c.in[1] = in_shape("x", F32, &sx, buf);
        c.in[2] = in_shape("y", F32, &sy, buf);
        c.n_in = 3;
        expect_fail(&c, INFER_STATUS_SHAPE, "do not broadcast");
    }
    {   /* mismatched dtypes */
        static const struct { const char *op; infer_dtype a, b; } mm[] = {
            {"Add", F32, I32}, {"Sub", I32, I64}, {"Equal", F32, F64}, {"Less", U8, I8}, {"Sum", F32, F64},
        };
        int64_t d[1] = {3};
        for (k = 0; k < sizeof mm / sizeof mm[0]; k++) {
            op_case c;
            op_init(&c, mm[k].op);
            c.in[0] = op_in("a", mm[k].a, 1, d, buf);
            c.in[1] = op_in("b", mm[k].b, 1, d, buf);
            c.n_in = 2;
            expect_fail(&c, INFER_STATUS_SHAPE, infer_dtype_name(mm[k].b));
        }
        {
            op_case c;
            op_init(&c, "Where");
            c.in[0] = op_in("c", BOOL, 1, d, buf);
            c.in[1] = op_in("x", F32, 1, d, buf);
            c.in[2] = op_in("y", F64, 1, d, buf);
            c.n_in = 3;
            expect_fail(&c, INFER_STATUS_SHAPE, "f64");
        }
        {   /* Clip: min of another dtype; min that is not a scalar */
            int64_t d2[1] = {2};
            op_case c;
            op_init(&c, "Clip");
            c.in[0] = op_in("x", F32, 1, d, buf);
            c.in[1] = op_const("lo", I32, 0, NULL, buf);
            c.n_in = 2;
            expect_fail(&c, INFER_STATUS_SHAPE, "i32");
            op_init(&c, "Clip");
            c.in[0] = op_in("x", F32, 1, d, buf);
            c.in[1] = op_const("lo", F32, 1, d2, buf);
            c.n_in = 2;
            expect_fail(&c, INFER_STATUS_SHAPE, "scalar");
            op_init(&c, "Clip");
            c.in[0] = op_in("x", F32, 1, d, buf);
            c.in[1] = op_absent();
            c.in[2] = op_in("hi", F32, 1, d, buf);
            c.n_in = 3;
            expect_fail(&c, INFER_STATUS_SHAPE, "scalar");
        }
    }
}

/* ------------------------------------------------------------------------------------ */
/* threads and in-place execution                                                        */

/* A larger broadcast Add (and Where) gives the same bits on 1 and 2 threads. */
static void test_threads_deterministic(void) {
    size_t n = 64 * 1000, i;
    float *a = (float *)xcalloc(n, sizeof *a), *b = (float *)xcalloc(1000, sizeof *b);
    int64_t da[2] = {64, 1000}, db[1] = {1000};
    op_case c1, c2;
    test_seed(1000);
    test_fill(a, n, -10, 10);
    test_fill(b, 1000, -10, 10);
    op_init(&c1, "Add");
    c1.in[0] = op_in("a", F32, 2, da, a);
    c1.in[1] = op_in("b", F32, 1, db, b);
    c1.n_in = 2;
    c1.n_threads = 1;
    c2 = c1;
    c2.n_threads = 2;
    CHECK_OK(op_run(&c1));
    CHECK_OK(op_run(&c2));
    if (c1.status == INFER_STATUS_OK && c2.status == INFER_STATUS_OK) {
        double *want = (double *)xcalloc(n, sizeof *want);
        CHECK(memcmp(c1.out[0].data, c2.out[0].data, n * sizeof(float)) == 0);
        for (i = 0; i < n; i++) want[i] = (double)a[i] + b[i % 1000];
        test_close("Add 2 threads", (const float *)c2.out[0].data, want, n, 1e-6);
        free(want);
    }
    op_free(&c1);
    op_free(&c2);
    free(a);
    free(b);
}

/* y = op(...) over inputs a, b and t = Neg(x), with t at position `pos`. t dies at `op`
   and has the output's shape, so the planner may give the output t's bytes (in-place);
   a variadic op must still read every input before overwriting it. With bcast_a, a is
   [5] and broadcasts along the rows. */
static void check_in_place(const char *op, int pos, int bcast_a, unsigned long long seed) {
    enum { N = 15 };
    float a[N], b[N], x[N], y[N];
    int64_t d[2] = {3, 5}, da[1] = {5};
    const char *neg_in[1] = {"x"}, *neg_out[1] = {"t"}, *out[1] = {"y"}, *ins[3];
    const char *others[2] = {"a", "b"};
    infer_builder *bld = NULL;
    infer_model *m = NULL;
    infer_session *s = NULL;
    infer_tensor feeds[3], res;
    void *file = NULL;
    size_t bytes = 0;
    int i, j;
    test_seed(seed);
    test_fill(a, N, -3, 3);
    test_fill(b, N, -3, 3);
    test_fill(x, N, -3, 3);
    for (i = 0, j = 0; i < 3; i++) ins[i] = i == pos ? "t" : others[j++];
    CHECK_OK(infer_builder_create(NULL, &bld));
    if (!bld) return;
    CHECK_OK(infer_builder_add_input(bld, "a", F32, bcast_a ? 1 : 2, bcast_a ? da : d, NULL));
    CHECK_OK(infer_builder_add_input(bld, "b", F32, 2, d, NULL));
    CHECK_OK(infer_builder_add_input(bld, "x", F32, 2, d, NULL));
    CHECK_OK(infer_builder_add_node(bld, "Neg", "neg", neg_in, 1, neg_out, 1, NULL, 0));
    CHECK_OK(infer_builder_add_node(bld, op, "node", ins, 3, out, 1, NULL, 0));
    CHECK_OK(infer_builder_add_output(bld, "y"));
    CHECK_OK(infer_builder_serialize(bld, NULL, 0, &bytes));
    file = xcalloc(bytes, 1);
    CHECK_OK(infer_builder_serialize(bld, file, bytes, &bytes));
    CHECK_OK(infer_model_load_memory(file, bytes, NULL, &m));
    if (m) CHECK_OK(infer_session_create(m, NULL, &s));
    if (s) {
        const float *src[3];
        memset(feeds, 0, sizeof feeds);
        feeds[0].name = "a", feeds[0].data = a;
        feeds[1].name = "b", feeds[1].data = b;
        feeds[2].name = "x", feeds[2].data = x;
        for (i = 0; i < 3; i++) {
            feeds[i].dtype = F32;
            feeds[i].n_dims = 2;
            memcpy(feeds[i].dims, d, sizeof d);
            feeds[i].data_bytes = sizeof a;
        }
        if (bcast_a) {
            feeds[0].n_dims = 1;
            feeds[0].dims[0] = 5;
            feeds[0].dims[1] = 0;
            feeds[0].data_bytes = 5 * sizeof(float);
        }
        memset(&res, 0, sizeof res);
        res.name = "y";
        res.data = y;
        res.data_bytes = sizeof y;
        CHECK_OK(infer_run(s, feeds, 3, &res, 1));
        for (i = 0, j = 0; i < 3; i++) src[i] = i == pos ? NULL : j++ ? b : a;
        for (i = 0; i < N; i++) {
            double v[3], w;
            int k;
            for (k = 0; k < 3; k++) v[k] = !src[k] ? -(double)x[i] : src[k] == a && bcast_a ? a[i % 5] : src[k][i];
            w = ref_float_op(op, ref_float_op(op, v[0], v[1]), v[2]);
            if (fabs(y[i] - w) > 1e-5 * fmax(1, fabs(w))) {
                printf("  %s with Neg at input %d%s: [%d] got %g want %g\n", op, pos, bcast_a ? " (a broadcast)" : "", i,
                   (double)y[i], w);
                test__failed_checks++;
                break;
            }
        }
    }
    infer_session_free(s);
    infer_model_free(m);
    infer_builder_free(bld);
    free(file);
}

static void test_in_place_variadic(void) {
    int pos;
    for (pos = 0; pos < 3; pos++) {
        check_in_place("Sum", pos, 0, 1100 + (unsigned)pos);
        check_in_place("Max", pos, 0, 1110 + (unsigned)pos);
        check_in_place("Min", pos, 0, 1120 + (unsigned)pos);
        check_in_place("Sum", pos, 1, 1130 + (unsigned)pos);
        check_in_place("Max", pos, 1, 1140 + (unsigned)pos);
    }
}

int main(void) {
    RUN(test_arith_float_broadcast);
    RUN(test_arith_empty);
    RUN(test_arith_int);
    RUN(test_arith_int_wrap);
    RUN(test_broadcast_random);
    RUN(test_div_int_truncates);
    RUN(test_div_by_zero);
    RUN(test_variadic);
    RUN(test_arith_constants);
    RUN(test_max_min_nan);
    RUN(test_pow);
    RUN(test_compare);
    RUN(test_logic);
    RUN(test_where);
    RUN(test_unary_float);
    RUN(test_unary_attrs);
    RUN(test_unary_special);
    RUN(test_sigmoid_extremes);
    RUN(test_unary_int);
    RUN(test_clip);
    RUN(test_cast_matrix);
    RUN(test_cast_float_to_int);
    RUN(test_cast_int_wrap);
    RUN(test_cast_int_to_float);
    RUN(test_cast_half_known);
    RUN(test_cast_half_random);
    RUN(test_cast_f64_narrowing);
    RUN(test_cast_half_widen);
    RUN(test_cast_shapes);
    RUN(test_identity);
    RUN(test_bad_dtype);
    RUN(test_bad_shapes);
    RUN(test_threads_deterministic);
    RUN(test_in_place_variadic);
    return test_finish();
}
