/* tests/test_cast_small.c - the small dtypes: float8 (e4m3fn, e4m3fnuz, e5m2, e5m2fnuz,
   e8m0), float4e2m1 and the 4- and 2-bit integers, one element per byte.

   Cast to and from each is checked against references written here from the ONNX text
   (the Cast operator's tables, docs/technical float8/float4/int4/int2): decoders from
   each format's definition, and encoders that search every code of the format for the
   nearest value (ties to the even code), so they share nothing with the runtime's
   bit-level rounding. Every code is decoded; f32 and f64 values are encoded with and
   without 'saturate': ties, subnormals, the largest value and just past it, inf, NaN,
   -0. e8m0's three round_modes. 64-bit integers wider than a double. Data-movement ops
   on the new dtypes, and the ONNX reader's unpacking of 4- and 2-bit tensors (raw_data,
   int32_data, external data, odd counts, wrong sizes, every truncation). */
#include <sys/stat.h>
#include <unistd.h>

#include "../tools/onnx.h"
#include "test.h"

#define F32 INFER_DTYPE_F32
#define F64 INFER_DTYPE_F64
#define F16 INFER_DTYPE_F16
#define I8 INFER_DTYPE_I8
#define I64 INFER_DTYPE_I64
#define U8 INFER_DTYPE_U8
#define U64 INFER_DTYPE_U64
#define E4M3FN INFER_DTYPE_F8E4M3FN
#define E4M3FNUZ INFER_DTYPE_F8E4M3FNUZ
#define E5M2 INFER_DTYPE_F8E5M2
#define E5M2FNUZ INFER_DTYPE_F8E5M2FNUZ
#define E8M0 INFER_DTYPE_F8E8M0
#define E2M1 INFER_DTYPE_F4E2M1
#define U4 INFER_DTYPE_U4
#define I4 INFER_DTYPE_I4
#define U2 INFER_DTYPE_U2
#define I2 INFER_DTYPE_I2

static const infer_dtype small_floats[5] = {E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ, E2M1};

/* ===== references ===== */

enum { FINITE, INF, NAN_ };

/* The value of code b of a small float, from each format's definition. */
static int ref_decode(infer_dtype t, unsigned b, double *v) {
    static const double e2m1[8] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
    int s = (b >> 7) & 1;
    unsigned e, m;
    *v = 0;
    switch (t) {
    case E4M3FN: /* S.EEEE.MMM, bias 7, NaN S.1111.111, no inf */
        e = (b >> 3) & 15, m = b & 7;
        if (e == 15 && m == 7) return NAN_;
        *v = e ? pow(2, (int)e - 7) * (1 + m / 8.0) : pow(2, -6) * (m / 8.0);
        break;
    case E4M3FNUZ: /* bias 8, NaN 0x80, no inf, no -0 */
        if (b == 0x80) return NAN_;
        e = (b >> 3) & 15, m = b & 7;
        *v = e ? pow(2, (int)e - 8) * (1 + m / 8.0) : pow(2, -7) * (m / 8.0);
        break;
    case E5M2: /* S.EEEEE.MM, bias 15, IEEE inf and NaN */
        e = (b >> 2) & 31, m = b & 3;
        if (e == 31) return m ? NAN_ : (*v = s ? -INFINITY : INFINITY, INF);
        *v = e ? pow(2, (int)e - 15) * (1 + m / 4.0) : pow(2, -14) * (m / 4.0);
        break;
    case E5M2FNUZ: /* bias 16, NaN 0x80 */
        if (b == 0x80) return NAN_;
        e = (b >> 2) & 31, m = b & 3;
        *v = e ? pow(2, (int)e - 16) * (1 + m / 4.0) : pow(2, -15) * (m / 4.0);
        break;
    case E2M1: /* S.EE.M in the low 4 bits */
        s = (b >> 3) & 1;
        *v = e2m1[b & 7];
        break;
    case E8M0:
        if (b == 255) return NAN_;
        *v = pow(2, (int)b - 127);
        return FINITE;
    default: return NAN_;
    }
    if (s) *v = -*v;
    return FINITE;
}

static unsigned sign_bit(infer_dtype t) { return t == E2M1 ? 8 : 0x80; }

/* The NaN code ONNX's reference writes for a NaN of sign s (e2m1 has none: -0 for +NaN,
   +0 for -NaN, as ml_dtypes does). */
static unsigned ref_nan(infer_dtype t, int s) {
    switch (t) {
    case E4M3FN: return s ? 0xFF : 0x7F;
    case E5M2: return s ? 0xFE : 0x7E;
    case E2M1: return s ? 0x0 : 0x8;
    default: return 0x80; /* the fnuz formats */
    }
}

/* x to small float t: the nearest finite code by search (ties to the even code), with a
   virtual code one step past the largest value standing for overflow. saturate: |x| past
   the largest value -> +-max; else overflow -> inf (e5m2) or NaN. e2m1 always saturates. */
static unsigned ref_encode(infer_dtype t, double x, int saturate) {
    unsigned sb = sign_bit(t), c, best = 0, max_c = 0, second_c = 0;
    int s = signbit(x) != 0, best_virtual = 0;
    double a = fabs(x), v, vmax = -1, vsecond = -1, best_d = INFINITY, over_v;
    unsigned over = t == E5M2 ? 0x7C | (s ? 0x80 : 0) : t == E4M3FN ? (s ? 0xFF : 0x7F) : 0x80;
    if (x != x) return ref_nan(t, s);
    if (t == E2M1) saturate = 1;
    for (c = 0; c < sb; c++) /* the largest two finite values */
        if (ref_decode(t, c, &v) == FINITE && v > vmax) vsecond = vmax, second_c = max_c, vmax = v, max_c = c;
    (void)second_c;
    over_v = vmax + (vmax - vsecond);
    if (a > vmax && saturate) return max_c | (s ? sb : 0);
    if (a == INFINITY) return over;
    for (c = 0; c <= max_c; c++) {
        double d;
        if (ref_decode(t, c, &v) != FINITE) continue;
        d = fabs(a - v);
        if (d < best_d || (d == best_d && !(c & 1))) best_d = d, best = c;
    }
    {
        double d = fabs(a - over_v);
        if (a >= over_v || d < best_d || (d == best_d && (max_c & 1))) best_virtual = 1; /* code max_c + 1 */
    }
    if (best_virtual) return saturate ? max_c | (s ? sb : 0) : over;
    if (best == 0 && (t == E4M3FNUZ || t == E5M2FNUZ)) return 0;
    return best | (s ? sb : 0);
}

/* x to e8m0 by search over 2^(c - 127), c = -1 .. 255 (-1 and 255 stand for out of range).
   mode 0 up (smallest >= |x|), 1 down (largest <= |x|), 2 nearest (ties up). */
static unsigned ref_e8m0(double x, int saturate, int mode) {
    double a = fabs(x);
    int c, pick = -1;
    if (x != x) return 255;
    if (a == INFINITY) return saturate ? 254 : 255;
    if (mode == 0) {
        for (c = -1; c <= 255; c++)
            if (ldexp(1, c - 127) >= a) break;
        pick = c; /* 256: none, out of range */
    } else if (mode == 1) {
        for (c = 255; c >= -1; c--)
            if (ldexp(1, c - 127) <= a) break;
        pick = c; /* -2: none */
    } else {
        double best = INFINITY;
        for (c = -1; c <= 255; c++) {
            double d = fabs(a - ldexp(1, c - 127));
            if (d <= best) best = d, pick = c;
        }
    }
    if (pick >= 255) return saturate ? 254 : 255;
    if (pick <= -1) return saturate ? 0 : 255;
    return (unsigned)pick;
}

/* x to a 4- or 2-bit integer: nearest, ties to even, then the low bits (int4.md);
   signed ones sign-extended in their byte. */
static uint8_t ref_intn(infer_dtype t, double x) {
    int bits = t == U4 || t == I4 ? 4 : 2;
    int64_t r = x != x ? 0 : (int64_t)rint(x); /* the default rounding: to nearest even */
    unsigned low = (unsigned)((uint64_t)r & ((1u << bits) - 1));
    if ((t == I4 || t == I2) && (low >> (bits - 1))) low |= 0xFFu << bits;
    return (uint8_t)low;
}

/* ===== running Cast ===== */

/* Cast n elements of x (dtype from) to `to` into y; saturate < 0 and round_mode NULL leave
   those attributes out. Returns 1 on success. */
static int cast(infer_dtype from, const void *x, int64_t n, infer_dtype to, int saturate, const char *round_mode,
                void *y) {
    op_case c;
    int ok;
    memset(&c, 0, sizeof c);
    c.op = "Cast";
    c.in[0] = op_in("x", from, 1, &n, x);
    c.n_in = 1;
    c.attrs[c.n_attrs++] = infer_attr_int("to", to);
    if (saturate >= 0) c.attrs[c.n_attrs++] = infer_attr_int("saturate", saturate);
    if (round_mode) c.attrs[c.n_attrs++] = infer_attr_string("round_mode", round_mode);
    ok = op_run(&c) == INFER_STATUS_OK && c.out[0].dtype == to &&
         c.out[0].data_bytes == (size_t)n * infer_dtype_bytes(to);
    if (!ok) printf("  Cast %s -> %s: %s\n", infer_dtype_name(from), infer_dtype_name(to), c.error);
    else memcpy(y, c.out[0].data, c.out[0].data_bytes);
    op_free(&c);
    return ok;
}

/* Compares bytes; prints the first few differences with their inputs. */
static int same_codes(const char *what, const uint8_t *got, const uint8_t *want, const double *in, size_t n) {
    size_t i, bad = 0;
    for (i = 0; i < n; i++)
        if (got[i] != want[i] && bad++ < 5)
            printf("  %s: [%zu] input %.17g: got 0x%02x, want 0x%02x\n", what, i, in ? in[i] : (double)i, got[i],
                   want[i]);
    if (bad) test__failed_checks++;
    return !bad;
}

/* ===== tests ===== */

static void test_names_and_sizes(void) {
    static const char *const names[] = {"f8e4m3fn", "f8e4m3fnuz", "f8e5m2", "f8e5m2fnuz", "u4",
                                        "i4",       "f4e2m1",     "f8e8m0", "u2",         "i2"};
    int k;
    for (k = 0; k < 10; k++) {
        CHECK(!strcmp(infer_dtype_name((infer_dtype)(INFER_DTYPE_F8E4M3FN + k)), names[k]));
        CHECK_EQ_INT(infer_dtype_bytes((infer_dtype)(INFER_DTYPE_F8E4M3FN + k)), 1);
    }
    /* values are the file format's: fixed */
    CHECK_EQ_INT(INFER_DTYPE_F8E4M3FN, 14);
    CHECK_EQ_INT(INFER_DTYPE_I2, 23);
    CHECK_EQ_INT(INFER_DTYPE_COUNT, 24);
    /* the ONNX reader's mapping */
    CHECK_EQ_INT(onnx_dtype(17), E4M3FN);
    CHECK_EQ_INT(onnx_dtype(18), E4M3FNUZ);
    CHECK_EQ_INT(onnx_dtype(19), E5M2);
    CHECK_EQ_INT(onnx_dtype(20), E5M2FNUZ);
    CHECK_EQ_INT(onnx_dtype(21), U4);
    CHECK_EQ_INT(onnx_dtype(22), I4);
    CHECK_EQ_INT(onnx_dtype(23), E2M1);
    CHECK_EQ_INT(onnx_dtype(24), E8M0);
    CHECK_EQ_INT(onnx_dtype(25), U2);
    CHECK_EQ_INT(onnx_dtype(26), I2);
    CHECK(!strcmp(onnx_dtype_name(24), "float8e8m0") && !strcmp(onnx_dtype_name(26), "int2"));
}

/* The reference decoder against values from the format tables. */
static void test_reference_values(void) {
    double v;
    CHECK(ref_decode(E4M3FN, 0x7E, &v) == FINITE && v == 448);
    CHECK(ref_decode(E4M3FN, 0x01, &v) == FINITE && v == ldexp(1, -9));
    CHECK(ref_decode(E4M3FN, 0xFF, &v) == NAN_);
    CHECK(ref_decode(E4M3FNUZ, 0x7F, &v) == FINITE && v == 240);
    CHECK(ref_decode(E4M3FNUZ, 0x01, &v) == FINITE && v == ldexp(1, -10));
    CHECK(ref_decode(E5M2, 0x7B, &v) == FINITE && v == 57344);
    CHECK(ref_decode(E5M2, 0x01, &v) == FINITE && v == ldexp(1, -16));
    CHECK(ref_decode(E5M2, 0xFC, &v) == INF && v == -INFINITY);
    CHECK(ref_decode(E5M2FNUZ, 0x7F, &v) == FINITE && v == 57344);
    CHECK(ref_decode(E5M2FNUZ, 0x01, &v) == FINITE && v == ldexp(1, -17));
    CHECK(ref_decode(E2M1, 0x7, &v) == FINITE && v == 6);
    CHECK(ref_decode(E2M1, 0xD, &v) == FINITE && v == -3);
    CHECK(ref_decode(E8M0, 0x7F, &v) == FINITE && v == 1);
    CHECK(ref_decode(E8M0, 0xFE, &v) == FINITE && v == ldexp(1, 127));
    /* the encoder on the Cast table's rows */
    CHECK_EQ_INT(ref_encode(E4M3FN, 464, 0), 0x7E); /* tie between 448 and (480): even */
    CHECK_EQ_INT(ref_encode(E4M3FN, 465, 0), 0x7F); /* NaN */
    CHECK_EQ_INT(ref_encode(E5M2, 61440, 0), 0x7C); /* tie between 57344 and (65536): even -> inf */
    CHECK_EQ_INT(ref_encode(E4M3FNUZ, -0.0, 1), 0);
    CHECK_EQ_INT(ref_encode(E2M1, 0.25, 1), 0);
    CHECK_EQ_INT(ref_encode(E2M1, -3.5, 1), 0xE);
}

/* Every code of every small float to f32 and f64: the value, inf and NaN, the sign of 0. */
static void test_decode_all_codes(void) {
    uint8_t codes[256];
    float yf[256];
    double yd[256];
    int k, i;
    for (i = 0; i < 256; i++) codes[i] = (uint8_t)i;
    for (k = 0; k < 6; k++) {
        infer_dtype t = k < 5 ? small_floats[k] : E8M0;
        int n = t == E2M1 ? 16 : 256, bad = 0;
        if (!cast(t, codes, n, F32, -1, NULL, yf) || !cast(t, codes, n, F64, -1, NULL, yd)) {
            test__failed_checks++;
            continue;
        }
        for (i = 0; i < n; i++) {
            double v;
            int cls = ref_decode(t, (unsigned)i, &v);
            int ok = cls == NAN_ ? isnan(yf[i]) && isnan(yd[i])
                                 : (double)yf[i] == v && yd[i] == v && !signbit(yd[i]) == !signbit(v);
            if (!ok && bad++ < 3)
                printf("  %s code 0x%02x: got %.9g / %.17g, want %.17g\n", infer_dtype_name(t), i, yf[i], yd[i], v);
        }
        if (bad) test__failed_checks++;
    }
}

/* Every non-NaN code decoded to f32 encodes back to itself, with and without saturate;
   NaN codes give the format's NaN. */
static void test_round_trip(void) {
    uint8_t codes[256], back[256], want[256];
    float yf[256];
    int k, i, sat;
    for (i = 0; i < 256; i++) codes[i] = (uint8_t)i;
    for (k = 0; k < 6; k++) {
        infer_dtype t = k < 5 ? small_floats[k] : E8M0;
        int n = t == E2M1 ? 16 : 256;
        if (!cast(t, codes, n, F32, -1, NULL, yf)) continue;
        for (sat = 0; sat <= 1; sat++) {
            if (!cast(F32, yf, n, t, sat, NULL, back)) continue;
            for (i = 0; i < n; i++) {
                double v;
                int cls = ref_decode(t, (unsigned)i, &v);
                want[i] = cls == NAN_ ? (uint8_t)(t == E8M0 ? 255 : ref_nan(t, (i & sign_bit(t)) != 0))
                          : cls == INF && sat ? (uint8_t)(i ^ 0x7C ^ 0x7B) /* inf saturates to max */
                                              : (uint8_t)i;
            }
            same_codes(infer_dtype_name(t), back, want, NULL, (size_t)n);
        }
    }
}

/* Values around every code: each code's value, the midpoints between neighbours (exact
   ties), a hair either side of them, and beyond the ends; then specials. */
static size_t edge_values(infer_dtype t, double *x, size_t cap) {
    double vals[300], v;
    size_t n = 0, m = 0, i;
    unsigned c, sb = sign_bit(t);
    static const double specials[] = {0.0, INFINITY, 1e30, 1e-30, 1e300, 1e-300, 4.9e-324};
    for (c = 0; c < sb; c++)
        if (ref_decode(t, c, &v) == FINITE) vals[m++] = v;
    for (i = 0; i + 1 < m && n + 16 < cap; i++) {
        double lo = vals[i] < vals[i + 1] ? vals[i] : vals[i + 1], hi = vals[i] < vals[i + 1] ? vals[i + 1] : vals[i];
        double mid = (lo + hi) / 2;
        x[n++] = vals[i];
        x[n++] = mid;
        x[n++] = nextafter(mid, 0);
        x[n++] = nextafter(mid, INFINITY);
        x[n++] = (double)nextafterf((float)mid, 0);
        x[n++] = (double)nextafterf((float)mid, INFINITY);
        x[n++] = (lo + 3 * hi) / 4;
    }
    x[n++] = vals[m - 1];
    for (i = 0; i < m && n + 8 < cap; i++) { /* past the top */
        if (vals[i] != vals[m - 1]) continue;
        x[n++] = vals[i] * 1.03125;
        x[n++] = vals[i] * 1.0625;
        x[n++] = vals[i] * 1.125;
        x[n++] = vals[i] * 1.5;
        x[n++] = vals[i] * 2;
    }
    for (i = 0; i < sizeof specials / sizeof specials[0]; i++) x[n++] = specials[i];
    for (i = 0, m = n; i < m; i++) x[n++] = -x[i]; /* and every one negated (-0 too) */
    x[n++] = NAN;
    x[n++] = -NAN;
    return n;
}

/* f32 and f64 inputs to every small float, saturate 1 (the default, and explicit) and 0. */
static void test_encode_edges(void) {
    static double xd[4096];
    static float xf[4096];
    static double xfd[4096];
    static uint8_t got[4096], want[4096];
    int k, sat;
    for (k = 0; k < 5; k++) {
        infer_dtype t = small_floats[k];
        size_t n = edge_values(t, xd, 4000), i;
        char what[64];
        for (i = 0; i < n; i++) xf[i] = (float)xd[i], xfd[i] = xf[i];
        for (sat = -1; sat <= 1; sat++) {
            int s = sat != 0; /* absent: 1 */
            for (i = 0; i < n; i++) want[i] = (uint8_t)ref_encode(t, xd[i], s);
            snprintf(what, sizeof what, "f64 -> %s saturate %d", infer_dtype_name(t), sat);
            if (cast(F64, xd, (int64_t)n, t, sat, NULL, got)) same_codes(what, got, want, xd, n);
            for (i = 0; i < n; i++) want[i] = (uint8_t)ref_encode(t, xfd[i], s);
            snprintf(what, sizeof what, "f32 -> %s saturate %d", infer_dtype_name(t), sat);
            if (cast(F32, xf, (int64_t)n, t, sat, NULL, got)) same_codes(what, got, want, xfd, n);
        }
    }
}

/* Random f32 values over the whole range, log-uniform magnitudes. */
static void test_encode_random(void) {
    enum { N = 20000 };
    static float x[N];
    static double xd[N];
    static uint8_t got[N], want[N];
    int k, sat;
    size_t i;
    test_seed(11);
    for (i = 0; i < N; i++) {
        double m = ldexp(1, (int)test_int(-30, 20)) * test_uniform(1, 2);
        x[i] = (float)(test_int(0, 1) ? -m : m);
        xd[i] = x[i];
    }
    for (k = 0; k < 5; k++) {
        infer_dtype t = small_floats[k];
        for (sat = 0; sat <= 1; sat++) {
            char what[64];
            for (i = 0; i < N; i++) want[i] = (uint8_t)ref_encode(t, xd[i], sat);
            snprintf(what, sizeof what, "random f32 -> %s saturate %d", infer_dtype_name(t), sat);
            if (cast(F32, x, N, t, sat, NULL, got)) same_codes(what, got, want, xd, N);
        }
    }
}

/* The Cast table's rows, spelled out. */
static void test_cast_table(void) {
    const float x[6] = {0.0f, -0.0f, NAN, INFINITY, -INFINITY, 1e6f};
    /* saturate (default):    0     -0    NaN   Inf   -Inf  big */
    const uint8_t sat[4][6] = {{0x00, 0x80, 0x7F, 0x7E, 0xFE, 0x7E},  /* e4m3fn */
                               {0x00, 0x00, 0x80, 0x7F, 0xFF, 0x7F},  /* e4m3fnuz */
                               {0x00, 0x80, 0x7E, 0x7B, 0xFB, 0x7B},  /* e5m2 */
                               {0x00, 0x00, 0x80, 0x7F, 0xFF, 0x7F}}; /* e5m2fnuz */
    const uint8_t nosat[4][6] = {{0x00, 0x80, 0x7F, 0x7F, 0xFF, 0x7F},
                                 {0x00, 0x00, 0x80, 0x80, 0x80, 0x80},
                                 {0x00, 0x80, 0x7E, 0x7C, 0xFC, 0x7C},
                                 {0x00, 0x00, 0x80, 0x80, 0x80, 0x80}};
    uint8_t y[6];
    int k;
    for (k = 0; k < 4; k++) {
        if (cast(F32, x, 6, small_floats[k], -1, NULL, y)) same_codes(infer_dtype_name(small_floats[k]), y, sat[k], NULL, 6);
        if (cast(F32, x, 6, small_floats[k], 0, NULL, y)) same_codes(infer_dtype_name(small_floats[k]), y, nosat[k], NULL, 6);
    }
    { /* float4: 6 for everything too big, inf included; NaN as ONNX's reference */
        const float x4[8] = {0.0f, -0.0f, NAN, INFINITY, -INFINITY, 7.0f, -100.0f, 5.0f};
        const uint8_t w4[8] = {0x0, 0x8, 0x8, 0x7, 0xF, 0x7, 0xF, 0x6};
        uint8_t y4[8];
        if (cast(F32, x4, 8, E2M1, 0, NULL, y4)) same_codes("f4e2m1", y4, w4, NULL, 8);
    }
}

/* f16 -> e5m2 is rounding away the low byte of the f16 pattern: all 65536 of them. */
static void test_f16_e5m2_all(void) {
    static uint16_t h[65536];
    static uint8_t got[65536], want[65536], back[65536 * 2];
    int sat;
    unsigned i;
    for (i = 0; i < 65536; i++) h[i] = (uint16_t)i;
    for (sat = 0; sat <= 1; sat++) {
        for (i = 0; i < 65536; i++) {
            unsigned s = i & 0x8000, mag = i & 0x7FFF;
            if (mag > 0x7C00) want[i] = (uint8_t)((s >> 8) | 0x7E);                       /* NaN */
            else if (sat && mag > 0x7B00) want[i] = (uint8_t)((s >> 8) | 0x7B);           /* to max */
            else want[i] = (uint8_t)((s >> 8) | ((mag + 0x7F + ((mag >> 8) & 1)) >> 8)); /* RNE; may reach inf */
        }
        if (cast(F16, h, 65536, E5M2, sat, NULL, got)) same_codes("f16 -> e5m2", got, want, NULL, 65536);
    }
    /* and back: e5m2 is f16's top byte */
    for (i = 0; i < 256; i++) want[i] = (uint8_t)i;
    if (cast(E5M2, want, 256, F16, -1, NULL, back)) {
        int bad = 0;
        for (i = 0; i < 256; i++) {
            uint16_t b;
            memcpy(&b, back + 2 * i, 2);
            if ((i & 0x7F) > 0x7C ? (b & 0x7FFF) <= 0x7C00 : b != (uint16_t)(i << 8)) bad++;
        }
        CHECK_EQ_INT(bad, 0);
    }
}

/* Between small formats: decode, then the one rounding. */
static void test_small_to_small(void) {
    uint8_t codes[256], got[256], want[256];
    int a, b, i;
    for (i = 0; i < 256; i++) codes[i] = (uint8_t)i;
    for (a = 0; a < 5; a++)
        for (b = 0; b < 5; b++) {
            infer_dtype from = small_floats[a], to = small_floats[b];
            int n = from == E2M1 ? 16 : 256;
            char what[64];
            if (a == b) continue;
            for (i = 0; i < n; i++) {
                double v;
                int cls = ref_decode(from, (unsigned)i, &v);
                if (cls == NAN_) v = (i & sign_bit(from)) ? -NAN : NAN; /* a NaN keeps its sign bit (fnuz: set) */
                want[i] = (uint8_t)ref_encode(to, v, 1);
            }
            snprintf(what, sizeof what, "%s -> %s", infer_dtype_name(from), infer_dtype_name(to));
            if (cast(from, codes, n, to, -1, NULL, got)) same_codes(what, got, want, NULL, (size_t)n);
        }
}

/* e8m0: every round_mode with and without saturate. */
static void test_e8m0(void) {
    static const char *const modes[3] = {"up", "down", "nearest"};
    static double x[2048];
    static float xf[2048];
    static double xfd[2048];
    static uint8_t got[2048], want[2048];
    size_t n = 0, i;
    int e, mode, sat;
    for (e = -135; e <= 130; e++) {
        double p = ldexp(1, e);
        x[n++] = p;
        x[n++] = p * 1.25;
        x[n++] = p * 1.5; /* the tie of "nearest" */
        x[n++] = nextafter(p * 1.5, 0);
        x[n++] = nextafter(p, INFINITY);
        x[n++] = nextafter(p, 0);
        x[n++] = -p * 1.75; /* the sign is ignored */
    }
    x[n++] = 0;
    x[n++] = -0.0;
    x[n++] = INFINITY;
    x[n++] = -INFINITY;
    x[n++] = NAN;
    x[n++] = 1e300;
    x[n++] = 4.9e-324;
    for (i = 0; i < n; i++) xf[i] = (float)x[i], xfd[i] = xf[i];
    for (mode = -1; mode < 3; mode++)
        for (sat = -1; sat <= 1; sat++) {
            char what[64];
            int m = mode < 0 ? 0 : mode, s = sat != 0;
            snprintf(what, sizeof what, "f64 -> e8m0 %s saturate %d", mode < 0 ? "(default)" : modes[mode], sat);
            for (i = 0; i < n; i++) want[i] = (uint8_t)ref_e8m0(x[i], s, m);
            if (cast(F64, x, (int64_t)n, E8M0, sat, mode < 0 ? NULL : modes[mode], got)) same_codes(what, got, want, x, n);
            snprintf(what, sizeof what, "f32 -> e8m0 %s saturate %d", mode < 0 ? "(default)" : modes[mode], sat);
            for (i = 0; i < n; i++) want[i] = (uint8_t)ref_e8m0(xfd[i], s, m);
            if (cast(F32, xf, (int64_t)n, E8M0, sat, mode < 0 ? NULL : modes[mode], got)) same_codes(what, got, want, xfd, n);
        }
    { /* the ONNX test's values: 0 .. 8 */
        const float v[8] = {0.0f, 0.124f, 0.25f, 0.5f, 1.1f, 2.0f, 4.0f, 8.0f};
        const uint8_t w[8] = {0x00, 0x7C, 0x7D, 0x7E, 0x80, 0x80, 0x81, 0x82};
        if (cast(F32, v, 8, E8M0, -1, NULL, got)) same_codes("onnx e8m0 case", got, w, NULL, 8);
    }
    { /* a bad round_mode */
        op_case c;
        const float v = 1;
        int64_t one = 1;
        memset(&c, 0, sizeof c);
        c.op = "Cast";
        c.in[0] = op_in("x", F32, 1, &one, &v);
        c.n_in = 1;
        c.attrs[c.n_attrs++] = infer_attr_int("to", E8M0);
        c.attrs[c.n_attrs++] = infer_attr_string("round_mode", "sideways");
        CHECK(op_run(&c) == INFER_STATUS_UNSUPPORTED && strstr(c.error, "round_mode"));
        op_free(&c);
    }
}

/* Integers wider than a double: one correct rounding (no double rounding through f64). */
static void test_wide_integers(void) {
    const int64_t x[4] = {((int64_t)1 << 62) + 1, ((int64_t)3 << 61) - 1, ((int64_t)3 << 61), INT64_MAX};
    const uint64_t ux[2] = {UINT64_MAX, ((uint64_t)1 << 63) + 1};
    uint8_t y[4];
    /* all four lie in [2^62, 2^63); 1.5 * 2^62 is nearest's tie. In a double, 2^62 + 1 is
       2^62 (up would give 2^62) and 1.5 * 2^62 - 1 is the tie (nearest would go up). */
    const uint8_t up[4] = {127 + 63, 127 + 63, 127 + 63, 127 + 63};
    const uint8_t down[4] = {127 + 62, 127 + 62, 127 + 62, 127 + 62};
    const uint8_t nearest[4] = {127 + 62, 127 + 62, 127 + 63, 127 + 63};
    const uint8_t u_up[2] = {127 + 64, 127 + 64};
    if (cast(I64, x, 4, E8M0, -1, NULL, y)) same_codes("i64 -> e8m0 up", y, up, NULL, 4);
    if (cast(I64, x, 4, E8M0, -1, "down", y)) same_codes("i64 -> e8m0 down", y, down, NULL, 4);
    if (cast(I64, x, 4, E8M0, -1, "nearest", y)) same_codes("i64 -> e8m0 nearest", y, nearest, NULL, 4);
    if (cast(U64, ux, 2, E8M0, -1, NULL, y)) same_codes("u64 -> e8m0 up", y, u_up, NULL, 2);
    {
        const uint8_t w[4] = {0x7E, 0x7E, 0x7E, 0x7E}; /* saturated */
        const uint8_t wn[4] = {0x7F, 0x7F, 0x7F, 0x7F};
        if (cast(I64, x, 4, E4M3FN, -1, NULL, y)) same_codes("i64 -> e4m3fn", y, w, NULL, 4);
        if (cast(I64, x, 4, E4M3FN, 0, NULL, y)) same_codes("i64 -> e4m3fn no saturate", y, wn, NULL, 4);
    }
    { /* small integers exactly: 17 -> e4m3fn is a tie between 16 and 18 -> 16 (even) */
        const int64_t v[4] = {17, 19, -17, 300};
        const uint8_t w[4] = {0x58, 0x5A, 0xD8, 0x79}; /* 16, 20, -16, 288 */
        if (cast(I64, v, 4, E4M3FN, -1, NULL, y)) same_codes("i64 -> e4m3fn small", y, w, NULL, 4);
    }
}

/* 4- and 2-bit integers: from floats (nearest even, then the low bits), from integers
   (the low bits), to floats and wider integers (sign-extended from the low bits). */
static void test_small_integers(void) {
    static const infer_dtype ts[4] = {U4, I4, U2, I2};
    enum { N = 321 };
    static float x[N];
    static double xd[N];
    static int64_t xi[N];
    static uint8_t got[N], want[N];
    float back[16];
    int8_t wide[16];
    uint8_t bytes[16];
    int k;
    size_t i;
    for (i = 0; i < N; i++) {
        x[i] = (float)(-40.0 + 0.25 * (double)i), xd[i] = x[i];
        xi[i] = (int64_t)i * 7919 - 1000000;
    }
    x[0] = NAN, xd[0] = NAN;
    for (k = 0; k < 4; k++) {
        infer_dtype t = ts[k];
        int bits = t == U4 || t == I4 ? 4 : 2, sgn = t == I4 || t == I2;
        char what[64];
        for (i = 0; i < N; i++) want[i] = ref_intn(t, xd[i]);
        snprintf(what, sizeof what, "f32 -> %s", infer_dtype_name(t));
        if (cast(F32, x, N, t, -1, NULL, got)) same_codes(what, got, want, xd, N);
        for (i = 0; i < N; i++) want[i] = ref_intn(t, (double)xi[i]);
        snprintf(what, sizeof what, "i64 -> %s", infer_dtype_name(t));
        if (cast(I64, xi, N, t, -1, NULL, got)) same_codes(what, got, want, NULL, N);
        /* every stored byte, junk in the high bits included: only the low bits count */
        for (i = 0; i < 16; i++) bytes[i] = (uint8_t)(i * 17 + 3);
        if (cast(t, bytes, 16, F32, -1, NULL, back) && cast(t, bytes, 16, I8, -1, NULL, wide)) {
            int bad = 0;
            for (i = 0; i < 16; i++) {
                int low = bytes[i] & ((1 << bits) - 1);
                int v = sgn && (low >> (bits - 1)) ? low - (1 << bits) : low;
                if (back[i] != (float)v || wide[i] != v) bad++;
            }
            CHECK_EQ_INT(bad, 0);
        }
    }
    { /* the ONNX test's values: -9 .. 15 to int4 wrap (-9 -> 7, 8 -> -8) */
        float v[25];
        int8_t w[25];
        for (i = 0; i < 25; i++) v[i] = (float)((int)i - 9), w[i] = (int8_t)((((int)i - 9) & 15) ^ 8) - 8;
        if (cast(F32, v, 25, I4, -1, NULL, got)) same_codes("onnx int4 case", got, (const uint8_t *)w, NULL, 25);
    }
}

/* CastLike takes the second input's dtype, and Cast's attributes. */
static void test_cast_like(void) {
    const float x[4] = {1000.0f, -0.3f, 7.5f, NAN};
    const uint8_t like[1] = {0};
    const int64_t four = 4, one = 1;
    const uint8_t want_sat[4] = {0x7E, 0xAA, 0x4F, 0x7F}, want_nosat[4] = {0x7F, 0xAA, 0x4F, 0x7F};
    const uint8_t want_i4[4] = {8, 0, 8, 0}; /* 1000 -> ...1000b: -8; -0.3 -> 0; 7.5 -> 8 (even): -8; NaN -> 0 */
    int sat;
    for (sat = -1; sat <= 1; sat++) {
        op_case c;
        memset(&c, 0, sizeof c);
        c.op = "CastLike";
        c.in[0] = op_in("x", F32, 1, &four, x);
        c.in[1] = op_in("like", E4M3FN, 1, &one, like);
        c.n_in = 2;
        if (sat >= 0) c.attrs[c.n_attrs++] = infer_attr_int("saturate", sat);
        if (op_run(&c) == INFER_STATUS_OK)
            CHECK(c.out[0].dtype == E4M3FN && c.out[0].dims[0] == 4 &&
                  !memcmp(c.out[0].data, sat ? want_sat : want_nosat, 4));
        else
            test__failed_checks++, printf("  CastLike: %s\n", c.error);
        op_free(&c);
    }
    {
        op_case c;
        int8_t w[4];
        int i;
        for (i = 0; i < 4; i++) w[i] = (int8_t)(want_i4[i] == 8 ? -8 : 0);
        memset(&c, 0, sizeof c);
        c.op = "CastLike";
        c.in[0] = op_in("x", F32, 1, &four, x);
        c.in[1] = op_const("like", I4, 1, &one, like);
        c.n_in = 2;
        if (op_run(&c) == INFER_STATUS_OK) CHECK(c.out[0].dtype == I4 && !memcmp(c.out[0].data, w, 4));
        else test__failed_checks++, printf("  CastLike: %s\n", c.error);
        op_free(&c);
    }
}

/* Data-movement ops carry the one-byte dtypes unchanged. */
static void test_data_movement(void) {
    const uint8_t x[6] = {0x7F, 0x80, 0x01, 0xFE, 0x38, 0x00};
    const int64_t d23[2] = {2, 3}, d1[1] = {1}, shape6[1] = {6}, perm[2] = {1, 0}, two = 2;
    int k;
    for (k = 0; k < 10; k++) {
        infer_dtype t = (infer_dtype)(INFER_DTYPE_F8E4M3FN + k);
        op_case c;
        memset(&c, 0, sizeof c);
        c.op = "Transpose";
        c.in[0] = op_in("x", t, 2, d23, x);
        c.n_in = 1;
        c.attrs[c.n_attrs++] = infer_attr_ints("perm", perm, 2);
        if (op_run(&c) == INFER_STATUS_OK) {
            const uint8_t *y = (const uint8_t *)c.out[0].data, want[6] = {0x7F, 0xFE, 0x80, 0x38, 0x01, 0x00};
            CHECK(c.out[0].dtype == t && c.out[0].dims[0] == 3 && !memcmp(y, want, 6));
        } else {
            printf("  Transpose %s: %s\n", infer_dtype_name(t), c.error);
            test__failed_checks++;
        }
        op_free(&c);
        memset(&c, 0, sizeof c);
        c.op = "Reshape";
        c.in[0] = op_in("x", t, 2, d23, x);
        c.in[1] = op_const("s", I64, 1, d1, shape6);
        c.n_in = 2;
        if (op_run(&c) == INFER_STATUS_OK) CHECK(c.out[0].dtype == t && c.out[0].n_dims == 1 && !memcmp(c.out[0].data, x, 6));
        else test__failed_checks++, printf("  Reshape %s: %s\n", infer_dtype_name(t), c.error);
        op_free(&c);
        memset(&c, 0, sizeof c);
        c.op = "Concat";
        c.in[0] = op_in("a", t, 2, d23, x);
        c.in[1] = op_const("b", t, 2, d23, x);
        c.n_in = 2;
        c.attrs[c.n_attrs++] = infer_attr_int("axis", 0);
        if (op_run(&c) == INFER_STATUS_OK)
            CHECK(c.out[0].dtype == t && c.out[0].dims[0] == 4 && !memcmp(c.out[0].data, x, 6) &&
                  !memcmp((const uint8_t *)c.out[0].data + 6, x, 6));
        else test__failed_checks++, printf("  Concat %s: %s\n", infer_dtype_name(t), c.error);
        op_free(&c);
        memset(&c, 0, sizeof c);
        c.op = "Gather";
        c.in[0] = op_in("x", t, 2, d23, x);
        c.in[1] = op_const("i", I64, 0, NULL, &two);
        c.n_in = 2;
        c.attrs[c.n_attrs++] = infer_attr_int("axis", 1);
        if (op_run(&c) == INFER_STATUS_OK)
            CHECK(c.out[0].dtype == t && c.out[0].n_dims == 1 && ((const uint8_t *)c.out[0].data)[0] == 0x01 &&
                  ((const uint8_t *)c.out[0].data)[1] == 0x00);
        else test__failed_checks++, printf("  Gather %s: %s\n", infer_dtype_name(t), c.error);
        op_free(&c);
        /* Cast to its own dtype copies */
        {
            uint8_t y[6];
            if (cast(t, x, 6, t, -1, NULL, y)) CHECK(!memcmp(x, y, 6));
        }
    }
    { /* arithmetic on them is refused, not run on bytes */
        op_case c;
        memset(&c, 0, sizeof c);
        c.op = "Add";
        c.in[0] = op_in("a", E4M3FN, 2, d23, x);
        c.in[1] = op_in("b", E4M3FN, 2, d23, x);
        c.n_in = 2;
        CHECK(op_run(&c) == INFER_STATUS_UNSUPPORTED);
        op_free(&c);
    }
}

/* ===== the ONNX reader ===== */

typedef struct pbuf {
    uint8_t b[4096];
    size_t n;
} pbuf;

static void pb_varint(pbuf *p, uint64_t v) {
    do {
        uint8_t c = (uint8_t)(v & 0x7F);
        v >>= 7;
        p->b[p->n++] = (uint8_t)(c | (v ? 0x80 : 0));
    } while (v);
}
static void pb_int(pbuf *p, int field, uint64_t v) {
    pb_varint(p, (uint64_t)field << 3);
    pb_varint(p, v);
}
static void pb_bytes(pbuf *p, int field, const void *d, size_t n) {
    pb_varint(p, (uint64_t)field << 3 | 2);
    pb_varint(p, n);
    memcpy(p->b + p->n, d, n);
    p->n += n;
}

static char tmp_dir[64];

static int write_file(const char *name, const void *d, size_t n, char *path, size_t path_bytes) {
    FILE *f;
    snprintf(path, path_bytes, "%s/%s", tmp_dir, name);
    f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(d, 1, n, f);
    fclose(f);
    return 1;
}

/* Writes a TensorProto and loads it: 1 if it loads. */
static int load(const pbuf *p, onnx_tensor *t, char *err, size_t err_bytes) {
    char path[128];
    if (!write_file("t.pb", p->b, p->n, path, sizeof path)) return 0;
    return onnx_load_tensor(path, t, err, err_bytes);
}

/* A tensor of one dim n and ONNX type dt. */
static void tensor_head(pbuf *p, int64_t n, int dt) {
    memset(p, 0, sizeof *p);
    pb_int(p, 1, (uint64_t)n);
    pb_int(p, 2, (uint64_t)dt);
}

static void test_reader_unpacks(void) {
    onnx_tensor t;
    char err[512];
    pbuf p;
    memset(&t, 0, sizeof t);
    { /* int4 raw_data, odd count: [1, -2, 7, -8, 3] */
        const uint8_t raw[3] = {0xE1, 0x87, 0x03};
        const uint8_t want[5] = {1, 0xFE, 7, 0xF8, 3};
        tensor_head(&p, 5, 22);
        pb_bytes(&p, 9, raw, 3);
        if (load(&p, &t, err, sizeof err)) CHECK(t.data_bytes == 5 && !memcmp(t.data, want, 5));
        else test__failed_checks++, printf("  %s\n", err);
        onnx_tensor_free(&t);
        tensor_head(&p, 5, 21); /* uint4: the same bytes, not sign-extended */
        pb_bytes(&p, 9, raw, 3);
        if (load(&p, &t, err, sizeof err)) {
            const uint8_t wu[5] = {1, 0xE, 7, 8, 3};
            CHECK(t.data_bytes == 5 && !memcmp(t.data, wu, 5));
        } else {
            test__failed_checks++;
        }
        onnx_tensor_free(&t);
        tensor_head(&p, 5, 22); /* two bytes are too few, four too many */
        pb_bytes(&p, 9, raw, 2);
        CHECK(!load(&p, &t, err, sizeof err) && strstr(err, "raw_data has 2 bytes"));
        tensor_head(&p, 5, 22);
        pb_bytes(&p, 9, "\1\2\3\4", 4);
        CHECK(!load(&p, &t, err, sizeof err) && strstr(err, "needs 3"));
    }
    { /* uint2 / int2 in int32_data: four to a value */
        const uint8_t wu[5] = {0, 1, 2, 3, 2}, wi[5] = {0, 1, 0xFE, 0xFF, 0xFE};
        tensor_head(&p, 5, 25);
        pb_varint(&p, 5 << 3 | 2); /* packed int32_data */
        pb_varint(&p, 3);
        pb_varint(&p, 0xE4);
        pb_varint(&p, 0x02);
        if (load(&p, &t, err, sizeof err)) CHECK(t.data_bytes == 5 && !memcmp(t.data, wu, 5));
        else test__failed_checks++, printf("  %s\n", err);
        onnx_tensor_free(&t);
        tensor_head(&p, 5, 26);
        pb_int(&p, 5, 0xE4); /* unpacked int32_data */
        pb_int(&p, 5, 0x02);
        if (load(&p, &t, err, sizeof err)) CHECK(t.data_bytes == 5 && !memcmp(t.data, wi, 5));
        else test__failed_checks++, printf("  %s\n", err);
        onnx_tensor_free(&t);
        tensor_head(&p, 5, 26); /* one value per element is the wrong count */
        {
            int i;
            for (i = 0; i < 5; i++) pb_int(&p, 5, 1);
        }
        CHECK(!load(&p, &t, err, sizeof err) && strstr(err, "needs 2 int32_data values"));
        tensor_head(&p, 5, 26); /* int64_data does not hold them */
        pb_int(&p, 7, 1);
        pb_int(&p, 7, 1);
        CHECK(!load(&p, &t, err, sizeof err) && strstr(err, "int32_data"));
    }
    { /* float8 in int32_data and raw_data; float4 raw, odd */
        const uint8_t w[2] = {0x7E, 0x80}, w4[3] = {0x1, 0xE, 0x7};
        tensor_head(&p, 2, 17);
        pb_int(&p, 5, 0x7E);
        pb_int(&p, 5, 0x80);
        if (load(&p, &t, err, sizeof err)) CHECK(t.data_bytes == 2 && !memcmp(t.data, w, 2));
        else test__failed_checks++, printf("  %s\n", err);
        onnx_tensor_free(&t);
        tensor_head(&p, 2, 24);
        pb_bytes(&p, 9, w, 2);
        if (load(&p, &t, err, sizeof err)) CHECK(t.data_bytes == 2 && !memcmp(t.data, w, 2) && t.data_type == 24);
        else test__failed_checks++, printf("  %s\n", err);
        onnx_tensor_free(&t);
        tensor_head(&p, 3, 23);
        pb_bytes(&p, 9, "\xE1\x07", 2);
        if (load(&p, &t, err, sizeof err)) CHECK(t.data_bytes == 3 && !memcmp(t.data, w4, 3));
        else test__failed_checks++, printf("  %s\n", err);
        onnx_tensor_free(&t);
        tensor_head(&p, 0, 22); /* empty */
        if (load(&p, &t, err, sizeof err)) CHECK(t.data_bytes == 0);
        else test__failed_checks++, printf("  %s\n", err);
        onnx_tensor_free(&t);
    }
    { /* external data, packed: 7 int4 in 4 bytes */
        const uint8_t packed[4] = {0x21, 0x43, 0x65, 0xF7};
        const uint8_t want[7] = {1, 2, 3, 4, 5, 6, 7};
        char path[128];
        pbuf e;
        CHECK(write_file("w.bin", packed, 4, path, sizeof path));
        tensor_head(&p, 7, 22);
        memset(&e, 0, sizeof e);
        pb_bytes(&e, 1, "location", 8);
        pb_bytes(&e, 2, "w.bin", 5);
        pb_bytes(&p, 13, e.b, e.n);
        pb_int(&p, 14, 1);
        if (load(&p, &t, err, sizeof err)) CHECK(t.data_bytes == 7 && !memcmp(t.data, want, 7));
        else test__failed_checks++, printf("  %s\n", err);
        onnx_tensor_free(&t);
        CHECK(write_file("w.bin", packed, 3, path, sizeof path)); /* too short now */
        CHECK(!load(&p, &t, err, sizeof err));
    }
}

/* Every prefix of good tensors, and random bytes in them: refused or read, never a
   read past the end (ASan watches). */
static void test_reader_truncated(void) {
    pbuf good[3], p;
    onnx_tensor t;
    char err[512];
    size_t k, cut;
    int j;
    tensor_head(&good[0], 9, 22);
    pb_bytes(&good[0], 9, "\x12\x34\x56\x78\x9A", 5);
    tensor_head(&good[1], 9, 25);
    pb_int(&good[1], 5, 0xFF);
    pb_int(&good[1], 5, 0x1B);
    pb_int(&good[1], 5, 0x03);
    tensor_head(&good[2], 3, 19);
    pb_bytes(&good[2], 9, "\x7C\x7E\x01", 3);
    test_seed(5);
    for (k = 0; k < 3; k++) {
        for (cut = 0; cut <= good[k].n; cut++) {
            p = good[k];
            p.n = cut;
            if (load(&p, &t, err, sizeof err)) onnx_tensor_free(&t);
        }
        for (j = 0; j < 300; j++) {
            p = good[k];
            p.b[test_int(0, (long long)p.n - 1)] = (uint8_t)test_int(0, 255);
            if (load(&p, &t, err, sizeof err)) {
                CHECK(t.data_bytes <= 64);
                onnx_tensor_free(&t);
            }
        }
    }
}

int main(void) {
    snprintf(tmp_dir, sizeof tmp_dir, "build/test_cast_small.%d", (int)getpid());
    mkdir("build", 0755);
    mkdir(tmp_dir, 0755);
    RUN(test_names_and_sizes);
    RUN(test_reference_values);
    RUN(test_decode_all_codes);
    RUN(test_round_trip);
    RUN(test_encode_edges);
    RUN(test_encode_random);
    RUN(test_cast_table);
    RUN(test_f16_e5m2_all);
    RUN(test_small_to_small);
    RUN(test_e8m0);
    RUN(test_wide_integers);
    RUN(test_small_integers);
    RUN(test_cast_like);
    RUN(test_data_movement);
    RUN(test_reader_unpacks);
    RUN(test_reader_truncated);
    {
        char path[128];
        snprintf(path, sizeof path, "%s/t.pb", tmp_dir);
        remove(path);
        snprintf(path, sizeof path, "%s/w.bin", tmp_dir);
        remove(path);
        rmdir(tmp_dir);
    }
    return test_finish();
}
