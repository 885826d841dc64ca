/* tests/op_helpers.h - helpers shared by the op tests that check many ops and dtypes
   (test_ops_more.c, test_ops_more2.c): dtype short names, index maths, typed element
   access, output checks and random tensors. Include after test.h. */
#ifndef INFER_TEST_OP_HELPERS_H
#define INFER_TEST_OP_HELPERS_H

#include <stdint.h>

#define MAXD INFER_MAX_DIMS
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

/* ===== helpers ===== */

static inline void op_init(op_case *c, const char *op) {
    memset(c, 0, sizeof *c);
    c->op = op;
}

static inline int64_t numel(int r, const int64_t *d) {
    int64_t n = 1;
    int i;
    for (i = 0; i < r; i++) n *= d[i];
    return n;
}

/* Row-major flat index <-> multi-index. */
static inline void unravel(int64_t f, int r, const int64_t *d, int64_t *idx) {
    int i;
    for (i = r - 1; i >= 0; i--) {
        idx[i] = d[i] > 0 ? f % d[i] : 0;
        f = d[i] > 0 ? f / d[i] : 0;
    }
}
static inline int64_t ravel(int r, const int64_t *d, const int64_t *idx) {
    int64_t f = 0;
    int i;
    for (i = 0; i < r; i++) f = f * d[i] + idx[i];
    return f;
}

static inline void *xcalloc(int64_t n, size_t esz) {
    void *p = calloc((size_t)(n > 0 ? n : 1), esz ? esz : 1);
    if (!p) {
        printf("out of memory in the test\n");
        exit(2);
    }
    return p;
}

static const char *dstr(char *buf, int r, const int64_t *d) {
    int i, k = 0;
    k += snprintf(buf + k, (size_t)(160 - k), "[");
    for (i = 0; i < r && k < 140; i++) k += snprintf(buf + k, (size_t)(160 - k), i ? ",%lld" : "%lld", (long long)d[i]);
    snprintf(buf + k, (size_t)(160 - k), "]");
    return buf;
}

static inline op_input ints_const(const char *name, int n, const int64_t *v) {
    int64_t d[1];
    d[0] = n;
    return op_const(name, I64, 1, d, v);
}
static inline op_input ints_input(const char *name, int n, const int64_t *v) {
    int64_t d[1];
    d[0] = n;
    return op_in(name, I64, 1, d, v);
}
static inline op_input scalar_const(const char *name, const int64_t *v) { return op_const(name, I64, 0, NULL, v); }

/* Runs c; on failure prints what was run and the library's message. */
static inline int run_ok(op_case *c, const char *what) {
    infer_status st = op_run(c);
    if (st != INFER_STATUS_OK) printf("  %s: %s failed: %s: %s\n", what, c->op, infer_status_name(st), c->error);
    CHECK(st == INFER_STATUS_OK);
    return st == INFER_STATUS_OK;
}

/* Runs c and expects status `want` with `phrase` in the message; frees c. */
static inline void expect_fail(op_case *c, infer_status want, const char *phrase, const char *what) {
    infer_status st = op_run(c);
    int ok = st == want && strstr(c->error, phrase) != NULL;
    if (!ok)
        printf("  %s: %s gave %s \"%s\"; wanted %s with \"%s\"\n", what, c->op, infer_status_name(st), c->error,
               infer_status_name(want), phrase);
    CHECK(ok);
    op_free(c);
}

/* Output k has dtype t and dims d[r]. */
static inline int out_is(const op_case *c, int k, infer_dtype t, int r, const int64_t *d, const char *what) {
    const infer_tensor *o = &c->out[k];
    int i, ok = o->dtype == t && o->n_dims == r;
    char b1[160], b2[160];
    for (i = 0; ok && i < r; i++) ok = o->dims[i] == d[i];
    if (!ok)
        printf("  %s: output %d is %s %s; wanted %s %s\n", what, k, infer_dtype_name(o->dtype),
               dstr(b1, o->n_dims < 0 || o->n_dims > MAXD ? 0 : o->n_dims, o->dims), infer_dtype_name(t), dstr(b2, r, d));
    CHECK(ok);
    return ok;
}

/* Element i of a tensor of dtype t as double (integers used here stay below 2^53). */
static inline double get_d(const void *p, infer_dtype t, int64_t i) {
    switch (t) {
    case F32: return ((const float *)p)[i];
    case F64: return ((const double *)p)[i];
    case I8: return ((const int8_t *)p)[i];
    case I16: return ((const int16_t *)p)[i];
    case I32: return ((const int32_t *)p)[i];
    case I64: return (double)((const int64_t *)p)[i];
    case U8: case BOOL: return ((const uint8_t *)p)[i];
    case U16: return ((const uint16_t *)p)[i];
    case U32: return ((const uint32_t *)p)[i];
    case U64: return (double)((const uint64_t *)p)[i];
    default: return 0;
    }
}
static inline void put_d(void *p, infer_dtype t, int64_t i, double v) {
    switch (t) {
    case F32: ((float *)p)[i] = (float)v; break;
    case F64: ((double *)p)[i] = v; break;
    case I8: ((int8_t *)p)[i] = (int8_t)v; break;
    case I16: ((int16_t *)p)[i] = (int16_t)v; break;
    case I32: ((int32_t *)p)[i] = (int32_t)v; break;
    case I64: ((int64_t *)p)[i] = (int64_t)v; break;
    case U8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case BOOL: ((uint8_t *)p)[i] = v != 0; break;
    case U16: ((uint16_t *)p)[i] = (uint16_t)v; break;
    case U32: ((uint32_t *)p)[i] = (uint32_t)v; break;
    case U64: ((uint64_t *)p)[i] = (uint64_t)v; break;
    default: break;
    }
}

/* Compares output k (f32 or f64) with want: relative rtol, NaN and inf must match. */
static inline void check_float(const char *what, const op_case *c, int k, const double *want, int64_t n, double rtol) {
    int64_t i, bad = 0, first = 0;
    double scale = 0;
    if (c->out[k].dtype == F32) {
        test_close(what, (const float *)c->out[k].data, want, (size_t)n, rtol);
        return;
    }
    for (i = 0; i < n; i++)
        if (isfinite(want[i]) && fabs(want[i]) > scale) scale = fabs(want[i]);
    for (i = 0; i < n; i++) {
        double g = ((const double *)c->out[k].data)[i], w = want[i];
        int ok = (isnan(g) && isnan(w)) || g == w || fabs(g - w) <= rtol * fmax(fabs(w), 1e-3 * scale);
        if (!ok && !bad++) first = i;
    }
    if (bad) {
        printf("  %s: %lld of %lld elements off; first [%lld] got %.17g want %.17g\n", what, (long long)bad, (long long)n,
               (long long)first, ((const double *)c->out[k].data)[first], want[first]);
        test__failed_checks++;
    }
}

/* Compares output k element by element with want (as double; exact). */
static inline void check_exact(const char *what, const op_case *c, int k, const double *want, int64_t n) {
    int64_t i, bad = 0, first = 0;
    for (i = 0; i < n; i++) {
        double g = get_d(c->out[k].data, c->out[k].dtype, i);
        if (!(g == want[i] || (isnan(g) && isnan(want[i]))) && !bad++) first = i;
    }
    if (bad) {
        printf("  %s (%s): %lld of %lld elements wrong; first [%lld] got %.17g want %.17g\n", what,
               infer_dtype_name(c->out[k].dtype), (long long)bad, (long long)n, (long long)first,
               get_d(c->out[k].data, c->out[k].dtype, first), want[first]);
        test__failed_checks++;
    }
}

/* n random values of dtype t in [lo, hi] (integers: whole numbers). */
static inline void *rand_tensor(infer_dtype t, int64_t n, double lo, double hi) {
    void *p = xcalloc(n, infer_dtype_bytes(t));
    int64_t i;
    for (i = 0; i < n; i++) {
        double v = t == F32 || t == F64 ? test_uniform(lo, hi) : (double)test_int((long long)lo, (long long)hi);
        put_d(p, t, i, t == BOOL ? (double)test_int(0, 1) : v);
    }
    return p;
}

#endif
