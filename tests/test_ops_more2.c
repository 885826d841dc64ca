/* tests/test_ops_more2.c - CastLike, RMSNormalization, CumProd, BitwiseAnd/Or/Xor/Not,
   GroupNormalization, LRN, MeanVarianceNormalization, Swish, EyeLike, LpPool,
   ReverseSequence and Det. (RNN, the simple recurrent net, is swept with LSTM and GRU in
   tests/test_ops_rnn.c.)

   As in tests/test_ops_more.c: each result is compared with a reference written here from
   the ONNX operator text (the newest opset), floats against double precision, everything
   else exactly; data from fixed seeds, odd sizes, negative axes; bad input must fail with
   UNSUPPORTED (dtypes), SHAPE (shapes, attributes) or, for values only seen when running,
   INVALID_ARGUMENT. The small helpers are those of tests/test_ops_more.c. */
#include "test.h"

#include <stdint.h>

#include "op_helpers.h"

static const infer_dtype int_types[8] = {I8, I16, I32, I64, U8, U16, U32, U64};

/* ===== helpers (the shared ones are in op_helpers.h) ===== */

/* Output k's bytes equal want[bytes]. */
static void check_bytes(const char *what, const op_case *c, int k, const void *want, size_t bytes) {
    if (c->out[k].data_bytes != bytes || (bytes && memcmp(c->out[k].data, want, bytes) != 0)) {
        printf("  %s: output %d differs from the expected bytes (%zu vs %zu bytes)\n", what, k, c->out[k].data_bytes, bytes);
        test__failed_checks++;
    }
}

/* n random bytes */
static uint8_t *rand_bytes(int64_t n) {
    uint8_t *p = (uint8_t *)xcalloc(n, 1);
    int64_t i;
    for (i = 0; i < n; i++) p[i] = (uint8_t)test_rand_u64();
    return p;
}

/* Index into x (rank rx, dims dx) of output element f, numpy broadcasting into [r]d. */
static int64_t bsrc(int r, const int64_t *d, int64_t f, int rx, const int64_t *dx) {
    int64_t idx[MAXD], off = 0;
    int i;
    unravel(f, r, d, idx);
    for (i = 0; i < rx; i++) off = off * dx[i] + (dx[i] == 1 ? 0 : idx[r - rx + i]);
    return off;
}

/* ===== CastLike ===== */

/* CastLike to input 1's dtype gives the bytes Cast(to = that dtype) gives; input 1's shape
   and values play no part. */
static void test_cast_like(void) {
    static const infer_dtype types[] = {F32, F64, F16, BF16, I8, I16, I32, I64, U8, U16, U32, U64, BOOL};
    static const int64_t d[2] = {3, 7}, dt1[1] = {2};
    const size_t nt = sizeof types / sizeof types[0];
    size_t a, b;
    test_seed(1101);
    for (a = 0; a < nt; a++)
        for (b = 0; b < nt; b++) {
            infer_dtype from = types[a], to = types[b];
            int uns = from == U8 || from == U16 || from == U32 || from == U64 || from == F16 || from == BF16;
            void *x = rand_tensor(from == F16 || from == BF16 ? U16 : from, 21, uns ? 0 : -300, uns ? 65535 : 300);
            uint8_t like[16] = {0};
            char what[96];
            op_case cl, cc;
            if (from == F16 || from == BF16) { /* finite halves: exponent below all ones */
                int i;
                for (i = 0; i < 21; i++) ((uint16_t *)x)[i] &= (uint16_t)(from == F16 ? 0xBBFF : 0xBEFF);
            }
            snprintf(what, sizeof what, "CastLike %s -> %s", infer_dtype_name(from), infer_dtype_name(to));
            op_init(&cl, "CastLike");
            cl.in[0] = op_in("x", from, 2, d, x);
            cl.in[1] = (a + b) % 2 ? op_in("like", to, 1, dt1, like) : op_const("like", to, 0, NULL, like);
            cl.n_in = 2;
            if ((a * nt + b) % 3 == 0) cl.attrs[cl.n_attrs++] = infer_attr_int("saturate", (int64_t)(b % 2));
            op_init(&cc, "Cast");
            cc.in[0] = op_in("x", from, 2, d, x);
            cc.n_in = 1;
            cc.attrs[cc.n_attrs++] = infer_attr_int("to", to);
            if (run_ok(&cl, what) && out_is(&cl, 0, to, 2, d, what) && run_ok(&cc, what))
                check_bytes(what, &cl, 0, cc.out[0].data, cc.out[0].data_bytes);
            op_free(&cl);
            op_free(&cc);
            free(x);
        }
    { /* a few values worked out by hand: truncation toward zero, bool, wrap-free widening */
        static const float x[6] = {-2.75f, -0.5f, 0.0f, 0.5f, 3.99f, 1e3f};
        static const int64_t d6[1] = {6};
        static const double want_i32[6] = {-2, 0, 0, 0, 3, 1000}, want_b[6] = {1, 1, 0, 1, 1, 1};
        int32_t li = 0;
        uint8_t lb = 0;
        op_case c;
        op_init(&c, "CastLike");
        c.in[0] = op_in("x", F32, 1, d6, x);
        c.in[1] = op_in("like", I32, 0, NULL, &li);
        c.n_in = 2;
        if (run_ok(&c, "CastLike f32 -> i32") && out_is(&c, 0, I32, 1, d6, "CastLike f32 -> i32"))
            check_exact("CastLike f32 -> i32", &c, 0, want_i32, 6);
        op_free(&c);
        op_init(&c, "CastLike");
        c.in[0] = op_in("x", F32, 1, d6, x);
        c.in[1] = op_in("like", BOOL, 0, NULL, &lb);
        c.n_in = 2;
        if (run_ok(&c, "CastLike f32 -> bool") && out_is(&c, 0, BOOL, 1, d6, "CastLike f32 -> bool"))
            check_exact("CastLike f32 -> bool", &c, 0, want_b, 6);
        op_free(&c);
        { /* integers of 2^63 and more to f16: out of range, so +-inf (this once looped forever) */
            static const uint64_t big[2] = {UINT64_MAX, 1ull << 63};
            static const int64_t small_[1] = {INT64_MIN}, d2[1] = {2};
            static const uint16_t want_u[2] = {0x7C00, 0x7C00}, want_i[1] = {0xFC00};
            uint16_t lh = 0;
            op_init(&c, "CastLike");
            c.in[0] = op_in("x", U64, 1, d2, big);
            c.in[1] = op_in("like", F16, 0, NULL, &lh);
            c.n_in = 2;
            if (run_ok(&c, "CastLike u64 2^63.. -> f16")) check_bytes("CastLike u64 2^63.. -> f16", &c, 0, want_u, 4);
            op_free(&c);
            op_init(&c, "CastLike");
            c.in[0] = op_in("x", I64, 1, d2, small_);
            c.in[0].dims[0] = 1;
            c.in[1] = op_in("like", F16, 0, NULL, &lh);
            c.n_in = 2;
            if (run_ok(&c, "CastLike i64 min -> f16")) check_bytes("CastLike i64 min -> f16", &c, 0, want_i, 2);
            op_free(&c);
        }
        /* 'to' belongs to Cast, not CastLike; one input is too few */
        op_init(&c, "CastLike");
        c.in[0] = op_in("x", F32, 1, d6, x);
        c.in[1] = op_in("like", I32, 0, NULL, &li);
        c.n_in = 2;
        c.attrs[c.n_attrs++] = infer_attr_int("to", I64);
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "no attribute 'to'", "CastLike with to");
        op_init(&c, "CastLike");
        c.in[0] = op_in("x", F32, 1, d6, x);
        c.n_in = 1;
        CHECK(op_run(&c) != INFER_STATUS_OK);
        op_free(&c);
    }
}

/* ===== RMSNormalization ===== */

static void run_rms(infer_dtype t, int r, const int64_t *d, int64_t axis, int rs, const int64_t *ds, float eps) {
    int64_t n = numel(r, d), a = axis < 0 ? axis + r : axis, outer = numel((int)a, d), len = n / (outer ? outer : 1), o, i;
    void *x = rand_tensor(t, n, -3, 3), *s = rand_tensor(t, numel(rs, ds), -2, 2);
    double *want = (double *)xcalloc(n, sizeof(double));
    char what[200], b1[160], b2[160];
    op_case c;
    for (o = 0; o < outer; o++) {
        double ss = 0, rms;
        for (i = 0; i < len; i++) ss += get_d(x, t, o * len + i) * get_d(x, t, o * len + i);
        rms = sqrt(ss / (double)len + (eps ? eps : 1e-5f));
        for (i = 0; i < len; i++) {
            int64_t e = o * len + i;
            want[e] = get_d(x, t, e) / rms * get_d(s, t, bsrc(r, d, e, rs, ds));
        }
    }
    snprintf(what, sizeof what, "RMSNormalization %s x%s axis %lld scale%s eps %g", infer_dtype_name(t), dstr(b1, r, d),
             (long long)axis, dstr(b2, rs, ds), (double)eps);
    op_init(&c, "RMSNormalization");
    c.in[0] = op_in("x", t, r, d, x);
    c.in[1] = axis % 2 ? op_in("scale", t, rs, ds, s) : op_const("scale", t, rs, ds, s);
    c.n_in = 2;
    if (axis != -1) c.attrs[c.n_attrs++] = infer_attr_int("axis", axis);
    if (eps) c.attrs[c.n_attrs++] = infer_attr_float("epsilon", eps);
    if (axis == 0) c.attrs[c.n_attrs++] = infer_attr_int("stash_type", 1);
    if (run_ok(&c, what) && out_is(&c, 0, t, r, d, what)) check_float(what, &c, 0, want, n, t == F32 ? 2e-6 : 1e-13);
    op_free(&c);
    free(x);
    free(s);
    free(want);
}

static void test_rms_norm(void) {
    static const int64_t d2[2] = {3, 7}, d3[3] = {2, 3, 5}, d4[4] = {2, 3, 4, 5}, d1[1] = {17};
    static const int64_t s7[1] = {7}, s37[2] = {3, 7}, s1[1] = {1}, s35[2] = {3, 5}, s15[2] = {1, 5}, s5[1] = {5};
    static const int64_t s45[2] = {4, 5}, s345[3] = {3, 4, 5}, s2345[4] = {2, 3, 4, 5}, s17[1] = {17}, s3_1[2] = {3, 1};
    int t;
    test_seed(1201);
    for (t = 0; t < 2; t++) {
        infer_dtype dt = t ? F64 : F32;
        run_rms(dt, 2, d2, -1, 1, s7, 0);
        run_rms(dt, 2, d2, 1, 1, s1, 1e-3f);
        run_rms(dt, 2, d2, 0, 2, s37, 0);      /* the scale has X's shape */
        run_rms(dt, 2, d2, -2, 2, s3_1, 0.5f); /* scale broadcast along the last axis */
        run_rms(dt, 3, d3, -2, 2, s35, 0);
        run_rms(dt, 3, d3, 1, 2, s15, 0);
        run_rms(dt, 3, d3, 2, 1, s5, 0);
        run_rms(dt, 4, d4, -2, 2, s45, 0);
        run_rms(dt, 4, d4, 1, 3, s345, 0);
        run_rms(dt, 4, d4, 0, 4, s2345, 0);
        run_rms(dt, 4, d4, -4, 1, s5, 0);
        run_rms(dt, 1, d1, 0, 1, s17, 0);
    }
    { /* errors */
        static const int64_t d[2] = {3, 4}, sd[1] = {3}, s4[1] = {4}, s34x[3] = {2, 3, 4};
        int32_t xi[12] = {0};
        float x[24] = {0};
        double s64[4] = {0};
        op_case c;
        op_init(&c, "RMSNormalization");
        c.in[0] = op_in("x", I32, 2, d, xi);
        c.in[1] = op_in("s", I32, 1, s4, xi);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype i32", "RMSNormalization on i32");
        op_init(&c, "RMSNormalization");
        c.in[0] = op_in("x", F32, 2, d, x);
        c.in[1] = op_in("s", F32, 1, sd, x);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_SHAPE, "does not broadcast", "RMSNormalization scale [3]");
        op_init(&c, "RMSNormalization");
        c.in[0] = op_in("x", F32, 2, d, x);
        c.in[1] = op_in("s", F32, 3, s34x, x);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_SHAPE, "does not broadcast", "RMSNormalization scale of higher rank");
        op_init(&c, "RMSNormalization");
        c.in[0] = op_in("x", F32, 2, d, x);
        c.in[1] = op_in("s", F64, 1, s4, s64);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_SHAPE, "scale has dtype f64", "RMSNormalization mixed dtypes");
        op_init(&c, "RMSNormalization");
        c.in[0] = op_in("x", F32, 2, d, x);
        c.in[1] = op_in("s", F32, 1, s4, x);
        c.n_in = 2;
        c.attrs[c.n_attrs++] = infer_attr_int("axis", 2);
        expect_fail(&c, INFER_STATUS_SHAPE, "axis 2 is out of range", "RMSNormalization axis 2");
    }
    { /* an empty batch */
        static const int64_t d[2] = {0, 5}, s5[1] = {5};
        float s[5] = {1, 2, 3, 4, 5};
        op_case c;
        op_init(&c, "RMSNormalization");
        c.in[0] = op_in("x", F32, 2, d, NULL);
        c.in[1] = op_in("s", F32, 1, s5, s);
        c.n_in = 2;
        if (run_ok(&c, "RMSNormalization empty")) out_is(&c, 0, F32, 2, d, "RMSNormalization empty");
        op_free(&c);
    }
}

/* ===== CumProd ===== */

/* The product in uint64 (two's complement wrap), read back as dtype t. */
static double wrap_to(infer_dtype t, uint64_t v) {
    switch (t) {
    case I8: return (int8_t)(uint8_t)v;
    case I16: return (int16_t)(uint16_t)v;
    case I32: return (int32_t)(uint32_t)v;
    case I64: return (double)(int64_t)v;
    case U8: return (uint8_t)v;
    case U16: return (uint16_t)v;
    case U32: return (uint32_t)v;
    default: return (double)v;
    }
}

static void test_cum_prod(void) {
    static const int64_t d[3] = {3, 7, 5};
    static const infer_dtype types[7] = {F32, F64, I32, I64, U8, I8, U64};
    int t, axis, ex, rev;
    test_seed(1301);
    for (t = 0; t < 7; t++)
        for (axis = -3; axis < 3; axis++)
            for (ex = 0; ex < 2; ex++)
                for (rev = 0; rev < 2; rev++) {
                    infer_dtype ty = types[t];
                    int flt = ty == F32 || ty == F64, sgn = ty == I32 || ty == I64 || ty == I8;
                    void *x = rand_tensor(ty, 105, flt ? 0.5 : sgn ? -9 : 0, flt ? 1.6 : 9);
                    double want[105];
                    int64_t i, j, idx[3], a = axis < 0 ? axis + 3 : axis, ax64 = axis, me;
                    int32_t ax32 = axis;
                    char what[96];
                    op_case c;
                    if (flt) put_d(x, ty, 4, -1.25); /* a negative factor too */
                    for (i = 0; i < 105; i++) {
                        double p = 1;
                        uint64_t pu = 1;
                        unravel(i, 3, d, idx);
                        me = idx[a];
                        for (j = 0; j < d[a]; j++) {
                            int in = rev ? (ex ? j > me : j >= me) : (ex ? j < me : j <= me);
                            int64_t src;
                            idx[a] = j;
                            src = ravel(3, d, idx);
                            if (!in) continue;
                            p *= get_d(x, ty, src);
                            pu *= (uint64_t)(int64_t)get_d(x, ty, src);
                        }
                        idx[a] = me;
                        want[i] = flt ? p : wrap_to(ty, pu);
                    }
                    snprintf(what, sizeof what, "CumProd %s axis %d exclusive %d reverse %d", infer_dtype_name(ty), axis, ex, rev);
                    op_init(&c, "CumProd");
                    c.in[0] = op_in("x", ty, 3, d, x);
                    c.in[1] = (axis + rev) & 1 ? op_in("axis", I32, 0, NULL, &ax32) : op_const("axis", I64, 0, NULL, &ax64);
                    c.n_in = 2;
                    if (ex) c.attrs[c.n_attrs++] = infer_attr_int("exclusive", 1);
                    if (rev) c.attrs[c.n_attrs++] = infer_attr_int("reverse", 1);
                    if (run_ok(&c, what) && out_is(&c, 0, ty, 3, d, what)) {
                        if (flt) check_float(what, &c, 0, want, 105, ty == F32 ? 1e-6 : 1e-14);
                        else if (ty == U64) { /* past 2^53: compare the wrapped bits */
                            int64_t k, bad = 0;
                            for (k = 0; k < 105; k++) {
                                uint64_t pu = 1;
                                int64_t jj, ii[3], m;
                                unravel(k, 3, d, ii);
                                m = ii[a];
                                for (jj = 0; jj < d[a]; jj++) {
                                    int in = rev ? (ex ? jj > m : jj >= m) : (ex ? jj < m : jj <= m);
                                    ii[a] = jj;
                                    if (in) pu *= ((const uint64_t *)x)[ravel(3, d, ii)];
                                }
                                bad += ((const uint64_t *)c.out[0].data)[k] != pu;
                            }
                            CHECK_EQ_INT(bad, 0);
                        } else {
                            check_exact(what, &c, 0, want, 105);
                        }
                    }
                    op_free(&c);
                    free(x);
                }
    { /* errors: an axis out of range (read when running), a float axis, bool data */
        static const int64_t d1[1] = {3};
        float x[3] = {1, 2, 3};
        int64_t bad = 1, ok = 0;
        float fa = 0;
        uint8_t xb[3] = {1, 0, 1};
        op_case c;
        op_init(&c, "CumProd");
        c.in[0] = op_in("x", F32, 1, d1, x);
        c.in[1] = op_in("axis", I64, 0, NULL, &bad);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_INVALID_ARGUMENT, "out of range", "CumProd axis 1 of rank 1");
        op_init(&c, "CumProd");
        c.in[0] = op_in("x", F32, 1, d1, x);
        c.in[1] = op_in("axis", F32, 0, NULL, &fa);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype f32", "CumProd float axis");
        op_init(&c, "CumProd");
        c.in[0] = op_in("x", BOOL, 1, d1, xb);
        c.in[1] = op_in("axis", I64, 0, NULL, &ok);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype bool", "CumProd bool");
        op_init(&c, "CumProd");
        c.in[0] = op_in("x", F32, 0, NULL, x);
        c.in[1] = op_in("axis", I64, 0, NULL, &ok);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_SHAPE, "rank >= 1", "CumProd scalar");
    }
}

/* ===== BitwiseAnd, BitwiseOr, BitwiseXor, BitwiseNot ===== */

/* Bitwise ops act on each byte alone, so the reference works byte by byte. */
static void test_bitwise_binary(void) {
    static const char *const ops[3] = {"BitwiseAnd", "BitwiseOr", "BitwiseXor"};
    static const int64_t da[3] = {3, 1, 7}, db[1] = {7}, dy[3] = {3, 1, 7}, dc[2] = {5, 1}, dz[2] = {5, 7};
    int o, k, shape;
    test_seed(1401);
    for (o = 0; o < 3; o++)
        for (k = 0; k < 8; k++)
            for (shape = 0; shape < 2; shape++) {
                infer_dtype t = int_types[k];
                size_t esz = infer_dtype_bytes(t), e;
                const int64_t *d1 = shape ? db : da, *d2 = shape ? dc : db, *dout = shape ? dz : dy;
                int r1 = shape ? 1 : 3, r2 = shape ? 2 : 1, ry = shape ? 2 : 3;
                int64_t n1 = numel(r1, d1), n2 = numel(r2, d2), n = numel(ry, dout), i;
                uint8_t *a = rand_bytes(n1 * (int64_t)esz), *b = rand_bytes(n2 * (int64_t)esz);
                uint8_t *want = (uint8_t *)xcalloc(n, esz);
                char what[96];
                op_case c;
                for (i = 0; i < n; i++) {
                    const uint8_t *pa = a + bsrc(ry, dout, i, r1, d1) * (int64_t)esz, *pb = b + bsrc(ry, dout, i, r2, d2) * (int64_t)esz;
                    for (e = 0; e < esz; e++)
                        want[(size_t)i * esz + e] = (uint8_t)(o == 0 ? pa[e] & pb[e] : o == 1 ? pa[e] | pb[e] : pa[e] ^ pb[e]);
                }
                snprintf(what, sizeof what, "%s %s shape %d", ops[o], infer_dtype_name(t), shape);
                op_init(&c, ops[o]);
                c.in[0] = op_in("a", t, r1, d1, a);
                c.in[1] = shape ? op_const("b", t, r2, d2, b) : op_in("b", t, r2, d2, b);
                c.n_in = 2;
                if (run_ok(&c, what) && out_is(&c, 0, t, ry, dout, what)) check_bytes(what, &c, 0, want, (size_t)n * esz);
                op_free(&c);
                free(a);
                free(b);
                free(want);
            }
    { /* equal operands: x & x = x | x = x, x ^ x = 0 */
        static const int64_t d[1] = {17};
        uint8_t *x = rand_bytes(17 * 4), zero[17 * 4];
        op_case c;
        memset(zero, 0, sizeof zero);
        for (o = 0; o < 3; o++) {
            op_init(&c, ops[o]);
            c.in[0] = op_in("a", U32, 1, d, x);
            c.in[1] = op_in("b", U32, 1, d, x);
            c.n_in = 2;
            if (run_ok(&c, "bitwise x op x")) check_bytes("bitwise x op x", &c, 0, o == 2 ? zero : x, 17 * 4);
            op_free(&c);
        }
        free(x);
    }
    { /* errors */
        static const int64_t d[1] = {3}, d2[1] = {2};
        float f[3] = {1, 2, 3};
        uint8_t bl[3] = {1, 0, 1};
        int32_t i3[3] = {1, 2, 3};
        int64_t i64[3] = {1, 2, 3};
        op_case c;
        for (o = 0; o < 3; o++) {
            op_init(&c, ops[o]);
            c.in[0] = op_in("a", F32, 1, d, f);
            c.in[1] = op_in("b", F32, 1, d, f);
            c.n_in = 2;
            expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype f32", "bitwise on f32");
            op_init(&c, ops[o]);
            c.in[0] = op_in("a", BOOL, 1, d, bl);
            c.in[1] = op_in("b", BOOL, 1, d, bl);
            c.n_in = 2;
            expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype bool", "bitwise on bool");
            op_init(&c, ops[o]);
            c.in[0] = op_in("a", I32, 1, d, i3);
            c.in[1] = op_in("b", I64, 1, d, i64);
            c.n_in = 2;
            expect_fail(&c, INFER_STATUS_SHAPE, "input 1 has dtype i64", "bitwise of mixed dtypes");
            op_init(&c, ops[o]);
            c.in[0] = op_in("a", I32, 1, d, i3);
            c.in[1] = op_in("b", I32, 1, d2, i3);
            c.n_in = 2;
            expect_fail(&c, INFER_STATUS_SHAPE, "do not broadcast", "bitwise [3] and [2]");
        }
    }
}

static void test_bitwise_not(void) {
    static const int64_t d1[1] = {17}, d2[2] = {3, 7}, d0[2] = {0, 7};
    int k, s;
    test_seed(1402);
    for (k = 0; k < 8; k++)
        for (s = 0; s < 3; s++) {
            infer_dtype t = int_types[k];
            size_t esz = infer_dtype_bytes(t), e;
            int r = s == 0 ? 1 : s == 1 ? 2 : 0;
            const int64_t *d = s == 0 ? d1 : d2;
            int64_t n = numel(r, d);
            uint8_t *x = rand_bytes(n * (int64_t)esz), *want = (uint8_t *)xcalloc(n, esz);
            double wv[21];
            char what[64];
            op_case c;
            int64_t i;
            for (e = 0; e < (size_t)n * esz; e++) want[e] = (uint8_t)~x[e];
            for (i = 0; i < n; i++) { /* the same, as numbers: ~v = -v - 1 (signed), max - v (unsigned) */
                double v = get_d(x, t, i);
                wv[i] = k < 4 ? -v - 1 : (t == U8 ? 255 : t == U16 ? 65535 : t == U32 ? 4294967295.0 : 0) - v;
            }
            snprintf(what, sizeof what, "BitwiseNot %s rank %d", infer_dtype_name(t), r);
            op_init(&c, "BitwiseNot");
            c.in[0] = op_in("x", t, r, d, x);
            c.n_in = 1;
            if (run_ok(&c, what) && out_is(&c, 0, t, r, d, what)) {
                check_bytes(what, &c, 0, want, (size_t)n * esz);
                if (t != U64 && t != I64) check_exact(what, &c, 0, wv, n);
            }
            op_free(&c);
            free(x);
            free(want);
        }
    {
        static const int64_t d[1] = {3};
        float f[3] = {1, 2, 3};
        uint8_t bl[3] = {1, 0, 1};
        op_case c;
        op_init(&c, "BitwiseNot");
        c.in[0] = op_in("x", F32, 1, d, f);
        c.n_in = 1;
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype f32", "BitwiseNot on f32");
        op_init(&c, "BitwiseNot");
        c.in[0] = op_in("x", BOOL, 1, d, bl);
        c.n_in = 1;
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype bool", "BitwiseNot on bool");
        op_init(&c, "BitwiseNot");
        c.in[0] = op_in("x", I16, 2, d0, NULL);
        c.n_in = 1;
        if (run_ok(&c, "BitwiseNot empty")) out_is(&c, 0, I16, 2, d0, "BitwiseNot empty");
        op_free(&c);
    }
}

/* ===== GroupNormalization ===== */

static void run_group_norm(int r, const int64_t *d, int64_t g, float eps) {
    int64_t n = numel(r, d), N = d[0], C = d[1], sp = numel(r - 2, d + 2), cpg = C / g, b, gg, i, ch;
    float *x = (float *)rand_tensor(F32, n, -4, 6), *s = (float *)rand_tensor(F32, C, -2, 2), *bias = (float *)rand_tensor(F32, C, -1, 1);
    double *want = (double *)xcalloc(n, sizeof(double));
    char what[160], b1[160];
    op_case c;
    for (b = 0; b < N; b++)
        for (gg = 0; gg < g; gg++) {
            int64_t base = (b * C + gg * cpg) * sp, m = cpg * sp;
            double mean = 0, var = 0;
            for (i = 0; i < m; i++) mean += x[base + i];
            mean /= (double)m;
            for (i = 0; i < m; i++) var += (x[base + i] - mean) * (x[base + i] - mean);
            var /= (double)m;
            for (ch = 0; ch < cpg; ch++)
                for (i = 0; i < sp; i++) {
                    int64_t e = base + ch * sp + i, cc = gg * cpg + ch;
                    want[e] = s[cc] * (x[e] - mean) / sqrt(var + (eps ? eps : 1e-5f)) + bias[cc];
                }
        }
    snprintf(what, sizeof what, "GroupNormalization %s groups %lld eps %g", dstr(b1, r, d), (long long)g, (double)eps);
    op_init(&c, "GroupNormalization");
    c.in[0] = op_in("x", F32, r, d, x);
    c.in[1] = op_const("scale", F32, 1, d + 1, s);
    c.in[2] = g % 2 ? op_in("bias", F32, 1, d + 1, bias) : op_const("bias", F32, 1, d + 1, bias);
    c.n_in = 3;
    c.attrs[c.n_attrs++] = infer_attr_int("num_groups", g);
    if (eps) c.attrs[c.n_attrs++] = infer_attr_float("epsilon", eps);
    if (g == 1) c.attrs[c.n_attrs++] = infer_attr_int("stash_type", 1);
    if (run_ok(&c, what) && out_is(&c, 0, F32, r, d, what)) check_float(what, &c, 0, want, n, 2e-6);
    op_free(&c);
    free(x);
    free(s);
    free(bias);
    free(want);
}

static void test_group_norm(void) {
    static const int64_t d3[3] = {2, 6, 5}, d4[4] = {3, 4, 2, 2}, d2[2] = {3, 4}, d5[5] = {1, 6, 3, 1, 3};
    static const int64_t g6[4] = {1, 2, 3, 6};
    int k;
    test_seed(1501);
    for (k = 0; k < 4; k++) run_group_norm(3, d3, g6[k], k == 2 ? 0.01f : 0);
    run_group_norm(4, d4, 2, 0);
    run_group_norm(4, d4, 2, 1e-2f);
    run_group_norm(4, d4, 4, 0);
    run_group_norm(2, d2, 2, 0);
    run_group_norm(5, d5, 3, 0);
    { /* errors */
        static const int64_t d[3] = {2, 6, 5}, c6[1] = {6}, c3[1] = {3};
        static float x[60], s[6];
        int32_t xi[60] = {0};
        op_case c;
        memset(x, 0, sizeof x);
        memset(s, 0, sizeof s);
        op_init(&c, "GroupNormalization");
        c.in[0] = op_in("x", F32, 3, d, x);
        c.in[1] = op_in("s", F32, 1, c6, s);
        c.in[2] = op_in("b", F32, 1, c6, s);
        c.n_in = 3;
        c.attrs[c.n_attrs++] = infer_attr_int("num_groups", 4);
        expect_fail(&c, INFER_STATUS_SHAPE, "does not divide", "GroupNormalization 4 groups of 6");
        op_init(&c, "GroupNormalization");
        c.in[0] = op_in("x", F32, 3, d, x);
        c.in[1] = op_in("s", F32, 1, c3, s);
        c.in[2] = op_in("b", F32, 1, c3, s);
        c.n_in = 3;
        c.attrs[c.n_attrs++] = infer_attr_int("num_groups", 3);
        expect_fail(&c, INFER_STATUS_SHAPE, "one value per channel", "GroupNormalization opset-18 scale");
        op_init(&c, "GroupNormalization");
        c.in[0] = op_in("x", F32, 3, d, x);
        c.in[1] = op_in("s", F32, 1, c6, s);
        c.in[2] = op_in("b", F32, 1, c6, s);
        c.n_in = 3;
        expect_fail(&c, INFER_STATUS_SHAPE, "'num_groups' is required", "GroupNormalization without num_groups");
        op_init(&c, "GroupNormalization");
        c.in[0] = op_in("x", I32, 3, d, xi);
        c.in[1] = op_in("s", F32, 1, c6, s);
        c.in[2] = op_in("b", F32, 1, c6, s);
        c.n_in = 3;
        c.attrs[c.n_attrs++] = infer_attr_int("num_groups", 2);
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype i32", "GroupNormalization on i32");
        op_init(&c, "GroupNormalization");
        c.in[0] = op_in("x", F32, 1, c6, x);
        c.in[1] = op_in("s", F32, 1, c6, s);
        c.in[2] = op_in("b", F32, 1, c6, s);
        c.n_in = 3;
        c.attrs[c.n_attrs++] = infer_attr_int("num_groups", 2);
        expect_fail(&c, INFER_STATUS_SHAPE, "rank >= 2", "GroupNormalization rank 1");
    }
}

/* ===== LRN ===== */

static void run_lrn(int r, const int64_t *d, int64_t size, int set, float alpha, float beta, float bias) {
    int64_t n = numel(r, d), C = d[1], sp = numel(r - 2, d + 2), e, idx[MAXD], j;
    float *x = (float *)rand_tensor(F32, n, -3, 3);
    double *want = (double *)xcalloc(n, sizeof(double));
    double al = set ? alpha : 1e-4, be = set ? beta : 0.75, bi = set ? bias : 1.0;
    char what[160], b1[160];
    op_case c;
    (void)sp;
    for (e = 0; e < n; e++) {
        double sq = 0;
        int64_t ch, lo, hi;
        unravel(e, r, d, idx);
        ch = idx[1];
        lo = ch - (int64_t)floor((size - 1) / 2.0);
        hi = ch + (int64_t)ceil((size - 1) / 2.0);
        for (j = lo < 0 ? 0 : lo; j <= hi && j < C; j++) {
            double v;
            idx[1] = j;
            v = x[ravel(r, d, idx)];
            sq += v * v;
        }
        want[e] = x[e] / pow(bi + al / (double)size * sq, be);
    }
    snprintf(what, sizeof what, "LRN %s size %lld", dstr(b1, r, d), (long long)size);
    op_init(&c, "LRN");
    c.in[0] = op_in("x", F32, r, d, x);
    c.n_in = 1;
    c.attrs[c.n_attrs++] = infer_attr_int("size", size);
    if (set) {
        c.attrs[c.n_attrs++] = infer_attr_float("alpha", alpha);
        c.attrs[c.n_attrs++] = infer_attr_float("beta", beta);
        c.attrs[c.n_attrs++] = infer_attr_float("bias", bias);
    }
    if (run_ok(&c, what) && out_is(&c, 0, F32, r, d, what)) check_float(what, &c, 0, want, n, 2e-6);
    op_free(&c);
    free(x);
    free(want);
}

static void test_lrn(void) {
    static const int64_t d4[4] = {2, 7, 3, 3}, d3[3] = {1, 5, 4}, d2[2] = {3, 6};
    static const int64_t sizes[6] = {1, 2, 3, 4, 5, 9};
    int k;
    test_seed(1601);
    for (k = 0; k < 6; k++) {
        run_lrn(4, d4, sizes[k], 0, 0, 0, 0);
        run_lrn(4, d4, sizes[k], 1, 0.2f, 0.5f, 2.0f);
        run_lrn(3, d3, sizes[k], 1, 1.5f, 1.25f, 0.5f);
    }
    run_lrn(2, d2, 3, 0, 0, 0, 0);
    {
        static const int64_t d[3] = {1, 3, 2};
        float x[6] = {0};
        double x64[6] = {0};
        op_case c;
        op_init(&c, "LRN");
        c.in[0] = op_in("x", F32, 3, d, x);
        c.n_in = 1;
        expect_fail(&c, INFER_STATUS_SHAPE, "'size' is required", "LRN without size");
        op_init(&c, "LRN");
        c.in[0] = op_in("x", F32, 3, d, x);
        c.n_in = 1;
        c.attrs[c.n_attrs++] = infer_attr_int("size", 0);
        expect_fail(&c, INFER_STATUS_SHAPE, "size 0", "LRN size 0");
        op_init(&c, "LRN");
        c.in[0] = op_in("x", F64, 3, d, x64);
        c.n_in = 1;
        c.attrs[c.n_attrs++] = infer_attr_int("size", 3);
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype f64", "LRN on f64");
        op_init(&c, "LRN");
        c.in[0] = op_in("x", F32, 1, d + 1, x);
        c.n_in = 1;
        c.attrs[c.n_attrs++] = infer_attr_int("size", 3);
        expect_fail(&c, INFER_STATUS_SHAPE, "rank >= 2", "LRN rank 1");
    }
}

/* ===== MeanVarianceNormalization ===== */

static void run_mvn(int r, const int64_t *d, int n_axes, const int64_t *axes) {
    int64_t n = numel(r, d), e, f, idx[MAXD], jdx[MAXD];
    unsigned mask = 0;
    float *x = (float *)rand_tensor(F32, n, -5, 9);
    double *want = (double *)xcalloc(n, sizeof(double));
    char what[200], b1[160], b2[160];
    op_case c;
    int i;
    if (n_axes < 0) mask = 1u | 4u | 8u;
    for (i = 0; i < n_axes; i++) mask |= 1u << (axes[i] < 0 ? axes[i] + r : axes[i]);
    for (e = 0; e < n; e++) { /* mean and variance over the elements that agree with e off the mask */
        double s = 0, s2 = 0, cnt = 0, mean, var;
        unravel(e, r, d, idx);
        for (f = 0; f < n; f++) {
            int same = 1;
            unravel(f, r, d, jdx);
            for (i = 0; i < r; i++)
                if (!(mask >> i & 1) && jdx[i] != idx[i]) same = 0;
            if (!same) continue;
            s += x[f], s2 += (double)x[f] * x[f], cnt++;
        }
        mean = s / cnt;
        var = s2 / cnt - mean * mean;
        want[e] = (x[e] - mean) / (sqrt(var > 0 ? var : 0) + 1e-9);
    }
    snprintf(what, sizeof what, "MeanVarianceNormalization %s axes %s", dstr(b1, r, d),
             n_axes < 0 ? "default" : dstr(b2, n_axes, axes));
    op_init(&c, "MeanVarianceNormalization");
    c.in[0] = op_in("x", F32, r, d, x);
    c.n_in = 1;
    if (n_axes >= 0) c.attrs[c.n_attrs++] = infer_attr_ints("axes", axes, (size_t)n_axes);
    if (run_ok(&c, what) && out_is(&c, 0, F32, r, d, what)) check_float(what, &c, 0, want, n, 1e-5);
    op_free(&c);
    free(x);
    free(want);
}

static void test_mvn(void) {
    static const int64_t d4[4] = {3, 3, 3, 1}, d4b[4] = {2, 5, 3, 4}, d3[3] = {3, 7, 2}, d2[2] = {5, 3};
    static const int64_t a1[1] = {1}, am1[1] = {-1}, a0123[4] = {0, 1, 2, 3}, a23[2] = {2, 3}, a02[2] = {0, -1}, a0[1] = {0};
    test_seed(1701);
    run_mvn(4, d4, -1, NULL);
    run_mvn(4, d4b, -1, NULL);
    run_mvn(4, d4b, 1, a1);
    run_mvn(4, d4b, 1, am1);
    run_mvn(4, d4b, 4, a0123);
    run_mvn(4, d4b, 2, a23);
    run_mvn(3, d3, 2, a02);
    run_mvn(3, d3, 1, a1);
    run_mvn(2, d2, 1, a0);
    {
        static const int64_t d[3] = {2, 3, 4}, bad[1] = {3};
        float x[24] = {0};
        int32_t xi[24] = {0};
        op_case c;
        op_init(&c, "MeanVarianceNormalization");
        c.in[0] = op_in("x", F32, 3, d, x);
        c.n_in = 1;
        expect_fail(&c, INFER_STATUS_SHAPE, "axis 3 is out of range", "MVN default axes on rank 3");
        op_init(&c, "MeanVarianceNormalization");
        c.in[0] = op_in("x", F32, 3, d, x);
        c.n_in = 1;
        c.attrs[c.n_attrs++] = infer_attr_ints("axes", bad, 1);
        expect_fail(&c, INFER_STATUS_SHAPE, "out of range", "MVN axis 3 of rank 3");
        op_init(&c, "MeanVarianceNormalization");
        c.in[0] = op_in("x", I32, 3, d, xi);
        c.n_in = 1;
        c.attrs[c.n_attrs++] = infer_attr_ints("axes", bad, 0);
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype i32", "MVN on i32");
    }
}

/* ===== Swish ===== */

static void test_swish(void) {
    static const int64_t d1[1] = {17}, d2[2] = {3, 7};
    static const float alphas[4] = {0, 1.0f, 0.5f, -1.3f};
    static const double special[7] = {0.0, -0.0, 100.0, -100.0, INFINITY, -INFINITY, NAN};
    int t, a, s;
    test_seed(1801);
    for (t = 0; t < 2; t++)
        for (a = 0; a < 4; a++)
            for (s = 0; s < 2; s++) {
                infer_dtype dt = t ? F64 : F32;
                const int64_t *d = s ? d2 : d1;
                int r = s ? 2 : 1;
                int64_t n = numel(r, d), i;
                void *x = rand_tensor(dt, n, -8, 8);
                double want[21], al = a ? alphas[a] : 1.0;
                char what[64];
                op_case c;
                for (i = 0; i < 7 && s; i++) put_d(x, dt, i, special[i]);
                if (s) put_d(x, dt, 4, al > 0 ? 1e6 : -1e6); /* the sigmoid saturates to 1 */
                for (i = 0; i < n; i++) {
                    double v = get_d(x, dt, i);
                    want[i] = v / (1 + exp(-al * v));
                }
                snprintf(what, sizeof what, "Swish %s alpha %g", infer_dtype_name(dt), al);
                op_init(&c, "Swish");
                c.in[0] = op_in("x", dt, r, d, x);
                c.n_in = 1;
                if (a) c.attrs[c.n_attrs++] = infer_attr_float("alpha", alphas[a]);
                if (run_ok(&c, what) && out_is(&c, 0, dt, r, d, what)) {
                    for (i = 0; i < n; i++) /* x * sigmoid(alpha x) at -inf: 0 * inf, a NaN either way */
                        if (isinf(get_d(x, dt, i)) && get_d(x, dt, i) * al < 0) want[i] = get_d(c.out[0].data, dt, i);
                    check_float(what, &c, 0, want, n, dt == F32 ? 1e-6 : 1e-14);
                }
                op_free(&c);
                free(x);
            }
    {
        static const int64_t d[1] = {3};
        int32_t xi[3] = {1, 2, 3};
        op_case c;
        op_init(&c, "Swish");
        c.in[0] = op_in("x", I32, 1, d, xi);
        c.n_in = 1;
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype i32", "Swish on i32");
    }
}

/* ===== EyeLike ===== */

static void test_eye_like(void) {
    static const int64_t shapes[5][2] = {{4, 5}, {5, 3}, {1, 1}, {0, 3}, {7, 7}};
    static const int64_t ks[7] = {0, 1, -2, 4, -6, INT64_MAX, INT64_MIN};
    static const infer_dtype outs[8] = {0, F32, F64, I32, I64, U8, BOOL, F16};
    int s, k, t;
    for (s = 0; s < 5; s++)
        for (k = 0; k < 7; k++)
            for (t = 0; t < 8; t++) {
                const int64_t *d = shapes[s];
                infer_dtype in_t = (s + k) % 2 ? I32 : F32, ot = outs[t] ? outs[t] : in_t;
                int64_t n = d[0] * d[1], i, kk = ks[k];
                void *x = xcalloc(n, 4);
                double want[49];
                char what[96];
                op_case c;
                for (i = 0; i < n; i++) {
                    int64_t r = i / d[1], col = i % d[1];
                    want[i] = (kk >= -100 && kk <= 100 && col - r == kk) ? 1 : 0;
                }
                snprintf(what, sizeof what, "EyeLike [%lld,%lld] k %lld -> %s", (long long)d[0], (long long)d[1], (long long)kk,
                         infer_dtype_name(ot));
                op_init(&c, "EyeLike");
                c.in[0] = op_in("x", in_t, 2, d, x);
                c.n_in = 1;
                if (outs[t]) c.attrs[c.n_attrs++] = infer_attr_int("dtype", outs[t]);
                if (k) c.attrs[c.n_attrs++] = infer_attr_int("k", kk);
                if (run_ok(&c, what) && out_is(&c, 0, ot, 2, d, what)) {
                    if (ot == F16) { /* 1.0 is 0x3C00 */
                        for (i = 0; i < n; i++) CHECK(((const uint16_t *)c.out[0].data)[i] == (want[i] ? 0x3C00 : 0));
                    } else {
                        check_exact(what, &c, 0, want, n);
                    }
                }
                op_free(&c);
                free(x);
            }
    {
        static const int64_t d3[3] = {2, 2, 2}, d2[2] = {2, 2};
        float x[8] = {0};
        op_case c;
        op_init(&c, "EyeLike");
        c.in[0] = op_in("x", F32, 3, d3, x);
        c.n_in = 1;
        expect_fail(&c, INFER_STATUS_SHAPE, "rank 2", "EyeLike rank 3");
        op_init(&c, "EyeLike");
        c.in[0] = op_in("x", F32, 2, d2, x);
        c.n_in = 1;
        c.attrs[c.n_attrs++] = infer_attr_int("dtype", 999);
        expect_fail(&c, INFER_STATUS_SHAPE, "not a dtype", "EyeLike dtype 999");
        if (INFER_DTYPE_COUNT - 1 > INFER_DTYPE_BOOL) { /* a small type (float8, int4, ...): no ones to write */
            op_init(&c, "EyeLike");
            c.in[0] = op_in("x", F32, 2, d2, x);
            c.n_in = 1;
            c.attrs[c.n_attrs++] = infer_attr_int("dtype", INFER_DTYPE_COUNT - 1);
            expect_fail(&c, INFER_STATUS_UNSUPPORTED, "output dtype", "EyeLike to a small type");
        }
    }
}

/* ===== LpPool ===== */

typedef struct pool_cfg {
    int n_sp;
    int64_t in[3], k[3], s[3], d[3], pb[3], pe[3];
    int ceil_mode, p, set_s, set_d, set_pads;
    const char *auto_pad;
} pool_cfg;

/* Output sizes as ONNX defines them (ceil mode: a window must start inside the input or the
   start padding). */
static void pool_out(pool_cfg *g, int64_t *out) {
    int i;
    for (i = 0; i < g->n_sp; i++) {
        int64_t span = (g->k[i] - 1) * g->d[i] + 1;
        if (g->auto_pad && (!strcmp(g->auto_pad, "SAME_UPPER") || !strcmp(g->auto_pad, "SAME_LOWER"))) {
            int64_t o = (g->in[i] + g->s[i] - 1) / g->s[i], tot = (o - 1) * g->s[i] + span - g->in[i];
            if (tot < 0) tot = 0;
            g->pb[i] = !strcmp(g->auto_pad, "SAME_UPPER") ? tot / 2 : tot - tot / 2;
            g->pe[i] = tot - g->pb[i];
            out[i] = o;
        } else {
            double q;
            if (g->auto_pad) g->pb[i] = g->pe[i] = 0;
            q = (double)(g->in[i] + g->pb[i] + g->pe[i] - span) / (double)g->s[i];
            out[i] = (int64_t)(g->ceil_mode && !g->auto_pad ? ceil(q) : floor(q)) + 1;
            if (g->ceil_mode && !g->auto_pad && (out[i] - 1) * g->s[i] >= g->in[i] + g->pb[i]) out[i]--;
        }
    }
}

static void run_lp_pool(pool_cfg g) {
    int64_t N = 2, C = 3, out[3] = {1, 1, 1}, xd[5], yd[5], nx, ny, e, o[3], kk[3];
    float *x;
    double *want;
    int i;
    char what[200];
    op_case c;
    for (i = g.n_sp; i < 3; i++) g.in[i] = g.k[i] = g.s[i] = g.d[i] = 1, g.pb[i] = g.pe[i] = 0;
    pool_out(&g, out);
    xd[0] = yd[0] = N, xd[1] = yd[1] = C;
    for (i = 0; i < g.n_sp; i++) xd[2 + i] = g.in[i], yd[2 + i] = out[i];
    nx = numel(2 + g.n_sp, xd), ny = numel(2 + g.n_sp, yd);
    x = (float *)rand_tensor(F32, nx, -2, 2);
    want = (double *)xcalloc(ny, sizeof(double));
    for (e = 0; e < ny; e++) {
        int64_t nc = e / (out[0] * out[1] * out[2]), r = e % (out[0] * out[1] * out[2]);
        double sum = 0;
        o[0] = r / (out[1] * out[2]), o[1] = r / out[2] % out[1], o[2] = r % out[2];
        for (kk[0] = 0; kk[0] < g.k[0]; kk[0]++)
            for (kk[1] = 0; kk[1] < g.k[1]; kk[1]++)
                for (kk[2] = 0; kk[2] < g.k[2]; kk[2]++) {
                    int64_t at[3], inside = 1;
                    for (i = 0; i < 3; i++) {
                        at[i] = o[i] * g.s[i] - g.pb[i] + kk[i] * g.d[i];
                        if (at[i] < 0 || at[i] >= g.in[i]) inside = 0; /* padding counts as 0 */
                    }
                    if (inside) sum += pow(fabs((double)x[nc * g.in[0] * g.in[1] * g.in[2] + (at[0] * g.in[1] + at[1]) * g.in[2] + at[2]]), (double)g.p);
                }
        want[e] = pow(sum, 1.0 / g.p);
    }
    snprintf(what, sizeof what, "LpPool p%d %dd in %lld,%lld,%lld k %lld,%lld,%lld s %lld d %lld pads %lld/%lld ceil %d %s", g.p,
             g.n_sp, (long long)g.in[0], (long long)g.in[1], (long long)g.in[2], (long long)g.k[0], (long long)g.k[1],
             (long long)g.k[2], (long long)g.s[0], (long long)g.d[0], (long long)g.pb[0], (long long)g.pe[0], g.ceil_mode,
             g.auto_pad ? g.auto_pad : "");
    op_init(&c, "LpPool");
    c.in[0] = op_in("x", F32, 2 + g.n_sp, xd, x);
    c.n_in = 1;
    {
        int64_t pads[6];
        for (i = 0; i < g.n_sp; i++) pads[i] = g.pb[i], pads[g.n_sp + i] = g.pe[i];
        c.attrs[c.n_attrs++] = infer_attr_ints("kernel_shape", g.k, (size_t)g.n_sp);
        if (g.p != 2) c.attrs[c.n_attrs++] = infer_attr_int("p", g.p);
        if (g.set_s) c.attrs[c.n_attrs++] = infer_attr_ints("strides", g.s, (size_t)g.n_sp);
        if (g.set_d) c.attrs[c.n_attrs++] = infer_attr_ints("dilations", g.d, (size_t)g.n_sp);
        if (g.set_pads && !g.auto_pad) c.attrs[c.n_attrs++] = infer_attr_ints("pads", pads, 2 * (size_t)g.n_sp);
        if (g.ceil_mode) c.attrs[c.n_attrs++] = infer_attr_int("ceil_mode", 1);
        if (g.auto_pad) c.attrs[c.n_attrs++] = infer_attr_string("auto_pad", g.auto_pad);
        if (run_ok(&c, what) && out_is(&c, 0, F32, 2 + g.n_sp, yd, what)) check_float(what, &c, 0, want, ny, 2e-6);
    }
    op_free(&c);
    free(x);
    free(want);
}

static void test_lp_pool(void) {
    static const char *const pads[4] = {NULL, "SAME_UPPER", "SAME_LOWER", "VALID"};
    int p, n_sp, v, a;
    test_seed(1901);
    for (p = 1; p <= 3; p++)
        for (n_sp = 1; n_sp <= 3; n_sp++)
            for (v = 0; v < 6; v++) {
                pool_cfg g;
                int i;
                memset(&g, 0, sizeof g);
                g.n_sp = n_sp, g.p = p;
                for (i = 0; i < n_sp; i++) {
                    g.in[i] = n_sp == 3 ? 5 + i % 2 : 5 + 2 * i;
                    g.k[i] = 2 + (i + v) % 2;
                    g.s[i] = 1 + (v >= 2) * (1 + i % 2);
                    g.d[i] = 1 + (v == 3 || v == 5);
                    g.pb[i] = v >= 4 ? 1 : 0, g.pe[i] = v >= 4 ? (i % 2) : 0;
                }
                g.set_s = v >= 2, g.set_d = v == 3 || v == 5, g.set_pads = v >= 4;
                g.ceil_mode = v == 5 || v == 2;
                run_lp_pool(g);
            }
    for (a = 1; a < 4; a++)
        for (p = 1; p <= 2; p++) {
            pool_cfg g;
            memset(&g, 0, sizeof g);
            g.n_sp = 2, g.p = p + (a == 3);
            g.in[0] = 5, g.in[1] = 7, g.k[0] = 3, g.k[1] = 2, g.s[0] = 2, g.s[1] = 3, g.d[0] = g.d[1] = 1;
            g.set_s = 1;
            g.auto_pad = pads[a];
            run_lp_pool(g);
        }
    {
        static const int64_t d[3] = {1, 2, 5}, k2[1] = {2};
        float x[10] = {0};
        int32_t xi[10] = {0};
        op_case c;
        op_init(&c, "LpPool");
        c.in[0] = op_in("x", F32, 3, d, x);
        c.n_in = 1;
        c.attrs[c.n_attrs++] = infer_attr_ints("kernel_shape", k2, 1);
        c.attrs[c.n_attrs++] = infer_attr_int("p", 0);
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "p = 0", "LpPool p 0");
        op_init(&c, "LpPool");
        c.in[0] = op_in("x", I32, 3, d, xi);
        c.n_in = 1;
        c.attrs[c.n_attrs++] = infer_attr_ints("kernel_shape", k2, 1);
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype i32", "LpPool on i32");
        op_init(&c, "LpPool");
        c.in[0] = op_in("x", F32, 3, d, x);
        c.n_in = 1;
        expect_fail(&c, INFER_STATUS_SHAPE, "kernel_shape is required", "LpPool without kernel_shape");
        op_init(&c, "LpPool");
        c.in[0] = op_in("x", F32, 3, d, x);
        c.n_in = 1;
        c.attrs[c.n_attrs++] = infer_attr_ints("kernel_shape", d, 1); /* 1 */
        c.attrs[c.n_attrs++] = infer_attr_ints("pads", d + 1, 1);
        expect_fail(&c, INFER_STATUS_SHAPE, "pads must have 2 values", "LpPool pads of one value");
    }
}

/* ===== ReverseSequence ===== */

static void run_reverse_sequence(int r, const int64_t *d, int batch_axis, infer_dtype t, int lens64, int lens_const) {
    int64_t n = numel(r, d), B = d[batch_axis], T = d[1 - batch_axis], e, idx[MAXD];
    void *x = rand_tensor(t, n, -100, 100);
    int64_t *l64 = (int64_t *)xcalloc(B, 8);
    int32_t *l32 = (int32_t *)xcalloc(B, 4);
    double *want = (double *)xcalloc(n, sizeof(double));
    char what[160], b1[160];
    op_case c;
    int64_t b;
    for (b = 0; b < B; b++) l64[b] = l32[b] = (int32_t)(b == 0 ? T : b == 1 ? 0 : test_int(1, T));
    for (e = 0; e < n; e++) {
        int64_t len, tt;
        unravel(e, r, d, idx);
        len = l64[idx[batch_axis]];
        tt = idx[1 - batch_axis];
        if (tt < len) idx[1 - batch_axis] = len - 1 - tt;
        want[e] = get_d(x, t, ravel(r, d, idx));
    }
    snprintf(what, sizeof what, "ReverseSequence %s %s batch_axis %d lens %s%s", infer_dtype_name(t), dstr(b1, r, d), batch_axis,
             lens64 ? "i64" : "i32", lens_const ? " const" : "");
    op_init(&c, "ReverseSequence");
    c.in[0] = op_in("x", t, r, d, x);
    c.in[1] = lens_const ? op_const("lens", lens64 ? I64 : I32, 1, &B, lens64 ? (void *)l64 : (void *)l32)
                         : op_in("lens", lens64 ? I64 : I32, 1, &B, lens64 ? (void *)l64 : (void *)l32);
    c.n_in = 2;
    if (batch_axis != 1) c.attrs[c.n_attrs++] = infer_attr_int("batch_axis", batch_axis);
    if (batch_axis != 1 || (lens64 && t == F32)) c.attrs[c.n_attrs++] = infer_attr_int("time_axis", 1 - batch_axis);
    if (run_ok(&c, what) && out_is(&c, 0, t, r, d, what)) check_exact(what, &c, 0, want, n);
    op_free(&c);
    free(x);
    free(l64);
    free(l32);
    free(want);
}

static void test_reverse_sequence(void) {
    static const int64_t d2[2] = {4, 4}, d4[4] = {5, 3, 2, 3}, d3[3] = {7, 3, 1}, d2b[2] = {1, 5};
    static const infer_dtype types[4] = {F32, I64, U8, BOOL};
    int ba, t;
    test_seed(2001);
    for (ba = 0; ba < 2; ba++)
        for (t = 0; t < 4; t++) {
            run_reverse_sequence(2, d2, ba, types[t], t % 2, t == 2);
            run_reverse_sequence(4, d4, ba, types[t], (t + ba) % 2, ba);
            run_reverse_sequence(3, d3, ba, types[t], 1, 0);
            run_reverse_sequence(2, d2b, ba, types[t], 0, 1);
        }
    {
        static const int64_t d[2] = {3, 2}, l2[1] = {2}, l3[1] = {3};
        float x[6] = {0}, lf[2] = {1, 1};
        int64_t lens_bad[2] = {1, 4}, lens_neg[2] = {-1, 1}, lens_ok[3] = {1, 2, 3};
        op_case c;
        op_init(&c, "ReverseSequence");
        c.in[0] = op_in("x", F32, 2, d, x);
        c.in[1] = op_in("lens", I64, 1, l2, lens_bad);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_INVALID_ARGUMENT, "sequence_lens[1] = 4 is outside [0, 3]", "ReverseSequence lens > T");
        op_init(&c, "ReverseSequence");
        c.in[0] = op_in("x", F32, 2, d, x);
        c.in[1] = op_in("lens", I64, 1, l2, lens_neg);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_INVALID_ARGUMENT, "sequence_lens[0] = -1", "ReverseSequence lens < 0");
        op_init(&c, "ReverseSequence");
        c.in[0] = op_in("x", F32, 2, d, x);
        c.in[1] = op_in("lens", I64, 1, l3, lens_ok);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_SHAPE, "must be [2]", "ReverseSequence lens of the wrong length");
        op_init(&c, "ReverseSequence");
        c.in[0] = op_in("x", F32, 2, d, x);
        c.in[1] = op_in("lens", F32, 1, l2, lf);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype f32", "ReverseSequence float lens");
        op_init(&c, "ReverseSequence");
        c.in[0] = op_in("x", F32, 2, d, x);
        c.in[1] = op_in("lens", I64, 1, l2, lens_ok);
        c.n_in = 2;
        c.attrs[c.n_attrs++] = infer_attr_int("batch_axis", 0);
        expect_fail(&c, INFER_STATUS_SHAPE, "batch_axis 0 and time_axis 0", "ReverseSequence both axes 0");
        op_init(&c, "ReverseSequence");
        c.in[0] = op_in("x", F32, 1, l3, x);
        c.in[1] = op_in("lens", I64, 1, l3, lens_ok);
        c.n_in = 2;
        expect_fail(&c, INFER_STATUS_SHAPE, "rank >= 2", "ReverseSequence rank 1");
    }
}

/* ===== Det ===== */

/* The determinant by expansion along the first row (n <= 6), in long double. */
static long double ref_det(const double *a, int n) {
    long double s = 0;
    double sub[36];
    int j, r, cc, k;
    if (n == 0) return 1;
    if (n == 1) return a[0];
    for (j = 0; j < n; j++) {
        k = 0;
        for (r = 1; r < n; r++)
            for (cc = 0; cc < n; cc++)
                if (cc != j) sub[k++] = a[r * n + cc];
        s += (j % 2 ? -1.0L : 1.0L) * a[j] * ref_det(sub, n - 1);
    }
    return s;
}

static void test_det(void) {
    static const int64_t shapes[7][4] = {{2, 2}, {3, 3}, {3, 2, 2}, {2, 1, 1}, {4, 5, 5}, {2, 3, 6, 6}, {3, 0, 0}};
    static const int ranks[7] = {2, 2, 3, 3, 3, 4, 3};
    int s, t;
    test_seed(2101);
    for (t = 0; t < 2; t++)
        for (s = 0; s < 7; s++) {
            infer_dtype dt = t ? F64 : F32;
            int r = ranks[s], m = (int)shapes[s][r - 1];
            int64_t n = numel(r, shapes[s]), nm = numel(r - 2, shapes[s]), i, j;
            void *x = rand_tensor(dt, n, -2, 2);
            double *want = (double *)xcalloc(nm, sizeof(double)), a[36];
            char what[96], b1[160];
            op_case c;
            if (nm > 1 && m >= 2) { /* a singular matrix: two equal rows */
                for (j = 0; j < m; j++) put_d(x, dt, m + j, get_d(x, dt, j));
            }
            if (nm > 2 && m >= 2) { /* a zero in the first pivot place: a row swap */
                put_d(x, dt, 2 * m * m, 0);
            }
            for (i = 0; i < nm; i++) {
                for (j = 0; j < m * m; j++) a[j] = get_d(x, dt, i * m * m + j);
                want[i] = (double)ref_det(a, m);
                if (nm > 1 && m >= 2 && i == 0) want[i] = 0;
            }
            snprintf(what, sizeof what, "Det %s %s", infer_dtype_name(dt), dstr(b1, r, shapes[s]));
            op_init(&c, "Det");
            c.in[0] = op_in("x", dt, r, shapes[s], x);
            c.n_in = 1;
            if (run_ok(&c, what) && out_is(&c, 0, dt, r - 2, shapes[s], what)) {
                /* absolute tolerance on the matrix's scale: a singular matrix gives ~1e-7, not 0 */
                for (i = 0; i < nm; i++) {
                    double g = get_d(c.out[0].data, dt, i);
                    CHECK_NEAR(g, want[i], (dt == F32 ? 2e-6 : 1e-12) * (1 + fabs(want[i])) * m * m);
                }
            }
            op_free(&c);
            free(x);
            free(want);
        }
    {
        static const int64_t d23[2] = {2, 3}, d1[1] = {4};
        float x[6] = {0};
        int32_t xi[4] = {0};
        static const int64_t d22[2] = {2, 2};
        op_case c;
        op_init(&c, "Det");
        c.in[0] = op_in("x", F32, 2, d23, x);
        c.n_in = 1;
        expect_fail(&c, INFER_STATUS_SHAPE, "square", "Det of 2x3");
        op_init(&c, "Det");
        c.in[0] = op_in("x", F32, 1, d1, x);
        c.n_in = 1;
        expect_fail(&c, INFER_STATUS_SHAPE, "square", "Det of rank 1");
        op_init(&c, "Det");
        c.in[0] = op_in("x", I32, 2, d22, xi);
        c.n_in = 1;
        expect_fail(&c, INFER_STATUS_UNSUPPORTED, "dtype i32", "Det on i32");
    }
}

int main(void) {
    RUN(test_cast_like);
    RUN(test_rms_norm);
    RUN(test_cum_prod);
    RUN(test_bitwise_binary);
    RUN(test_bitwise_not);
    RUN(test_group_norm);
    RUN(test_lrn);
    RUN(test_mvn);
    RUN(test_swish);
    RUN(test_eye_like);
    RUN(test_lp_pool);
    RUN(test_reverse_sequence);
    RUN(test_det);
    return test_finish();
}
