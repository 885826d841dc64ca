/* tests/test.h - the small harness every test program uses.

   A test file defines test functions and a main that calls RUN(fn) for each, then
   returns test_finish(). Each RUN prints "PASS name" or "FAIL name" (with the failed
   checks above it); tests/run.sh adds them up.

   op_run() builds a one-node model with the builder, serialises it, loads it back
   from memory, creates a session and runs it, so every op test also exercises the
   file format and the planner. */
#ifndef INFER_TEST_H
#define INFER_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../infer.h"

#ifdef _WIN32
/* Windows (make test-windows) has no posix_memalign, and its aligned blocks must go back
   through _aligned_free: the tests' posix_memalign/free pairs come here, and a small table
   of live aligned blocks tells free which kind it holds. */
#include <malloc.h>
static void *test__aligned[1024];
static inline int test__posix_memalign(void **p, size_t align, size_t n) {
    size_t i;
    for (i = 0; i < sizeof test__aligned / sizeof test__aligned[0]; i++)
        if (!test__aligned[i]) {
            if (!(*p = _aligned_malloc(n ? n : 1, align))) return 12; /* ENOMEM */
            test__aligned[i] = *p;
            return 0;
        }
    return 12;
}
static inline void test__free(void *p) {
    size_t i;
    if (!p) return;
    for (i = 0; i < sizeof test__aligned / sizeof test__aligned[0]; i++)
        if (test__aligned[i] == p) {
            test__aligned[i] = NULL;
            _aligned_free(p);
            return;
        }
    (free)(p);
}
#define posix_memalign(p, align, n) test__posix_memalign(p, align, n)
#define free(p) test__free(p)
#include <direct.h>
#include <io.h>
#include <process.h>
#define mkdir(dir, mode) _mkdir(dir) /* no mode bits on Windows */
static inline char *test__mkdtemp(char *t) { /* t ends in XXXXXX, as for mkdtemp */
    size_t n = strlen(t);
    unsigned k;
    if (n < 6) return NULL;
    for (k = 0; k < 1000; k++) {
        snprintf(t + n - 6, 7, "%06u", (unsigned)_getpid() % 1000u * 1000u + k);
        if (_mkdir(t) == 0) return t;
    }
    return NULL;
}
#define mkdtemp(t) test__mkdtemp(t)
#endif

#if defined(__GLIBC__) && (defined(__GNUC__) || defined(__clang__))
#include <malloc.h>
/* Memory malloc hands out is neither zero nor what a freed block held: an output element
   a kernel leaves unwritten is then wrong, not the right value an earlier session left in
   a reused arena (without it, tests/test_conv.c passed a conv kernel whose store mask was
   made one column short on purpose) */
__attribute__((constructor)) static void test__perturb(void) { mallopt(M_PERTURB, 0x5a); }
#endif

static int test__failed_checks;   /* in the current test */
static int test__passed, test__failed, test__skipped;
static const char *test__skip_reason;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);            \
            test__failed_checks++;                                                       \
        }                                                                                \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                               \
    do {                                                                                 \
        long long test__a = (long long)(a), test__b = (long long)(b);                    \
        if (test__a != test__b) {                                                        \
            printf("  %s:%d: %s == %s failed: %lld vs %lld\n", __FILE__, __LINE__, #a,   \
                   #b, test__a, test__b);                                                \
            test__failed_checks++;                                                       \
        }                                                                                \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                            \
    do {                                                                                 \
        double test__a = (double)(a), test__b = (double)(b);                             \
        if (!(fabs(test__a - test__b) <= (tol))) {                                       \
            printf("  %s:%d: %s ~ %s failed: %.9g vs %.9g (tol %g)\n", __FILE__,         \
                   __LINE__, #a, #b, test__a, test__b, (double)(tol));                   \
            test__failed_checks++;                                                       \
        }                                                                                \
    } while (0)

/* Status check that prints the library's message on failure. */
#define CHECK_OK(expr)                                                                   \
    do {                                                                                 \
        infer_status test__s = (expr);                                                   \
        if (test__s != INFER_STATUS_OK) {                                                \
            printf("  %s:%d: %s -> %s: %s\n", __FILE__, __LINE__, #expr,                 \
                   infer_status_name(test__s), infer_last_error());                      \
            test__failed_checks++;                                                       \
        }                                                                                \
    } while (0)

/* Expects a status and a phrase in the thread's last error message. */
#define CHECK_STATUS(expr, want, phrase)                                                 \
    do {                                                                                 \
        infer_status test__s = (expr);                                                   \
        if (test__s != (want) || !strstr(infer_last_error(), (phrase))) {               \
            printf("  %s:%d: %s -> %s \"%s\"; wanted %s with \"%s\"\n", __FILE__,        \
                   __LINE__, #expr, infer_status_name(test__s), infer_last_error(),      \
                   infer_status_name(want), (phrase));                                   \
            test__failed_checks++;                                                       \
        }                                                                                \
    } while (0)

/* Marks the running test as skipped (not passed) with a reason. */
#define SKIP(reason)                                                                     \
    do {                                                                                 \
        test__skip_reason = (reason);                                                    \
        return;                                                                          \
    } while (0)

#define RUN(fn)                                                                          \
    do {                                                                                 \
        test__failed_checks = 0;                                                         \
        test__skip_reason = NULL;                                                        \
        fn();                                                                            \
        if (test__skip_reason) {                                                         \
            printf("SKIP %s (%s)\n", #fn, test__skip_reason);                            \
            test__skipped++;                                                             \
        } else if (test__failed_checks) {                                                \
            printf("FAIL %s\n", #fn);                                                    \
            test__failed++;                                                              \
        } else {                                                                         \
            printf("PASS %s\n", #fn);                                                    \
            test__passed++;                                                              \
        }                                                                                \
        fflush(stdout);                                                                  \
    } while (0)

static inline int test_finish(void) {
    printf("# %d passed, %d failed, %d skipped\n", test__passed, test__failed, test__skipped);
    return test__failed ? 1 : 0;
}

/* -- random numbers: xorshift64*, fixed seeds so failures reproduce -- */

static unsigned long long test__rng = 0x9E3779B97F4A7C15ull;
static inline void test_seed(unsigned long long s) { test__rng = s * 0x9E3779B97F4A7C15ull + 1; }
static inline unsigned long long test_rand_u64(void) {
    test__rng ^= test__rng >> 12;
    test__rng ^= test__rng << 25;
    test__rng ^= test__rng >> 27;
    return test__rng * 2685821657736338717ull;
}
/* uniform in [lo, hi) */
static inline double test_uniform(double lo, double hi) {
    return lo + (hi - lo) * (double)(test_rand_u64() >> 11) * (1.0 / 9007199254740992.0);
}
/* integer in [lo, hi] */
static inline long long test_int(long long lo, long long hi) {
    return lo + (long long)(test_rand_u64() % (unsigned long long)(hi - lo + 1));
}
static inline void test_fill(float *x, size_t n, double lo, double hi) {
    size_t i;
    for (i = 0; i < n; i++) x[i] = (float)test_uniform(lo, hi);
}

/* Compares float results with a double-precision reference. An element passes when
   |got - want| <= rtol * max(|want|, 1e-3 * max|want|), or when both are the same
   NaN/inf; this is relative error, with a floor at a thousandth of the tensor's scale
   so that cancellation near zero does not count. Prints the worst element. */
static inline int test_close(const char *what, const float *got, const double *want, size_t n, double rtol) {
    size_t i, worst = 0, bad = 0;
    double scale = 0, worst_ratio = 0;
    for (i = 0; i < n; i++)
        if (isfinite(want[i]) && fabs(want[i]) > scale) scale = fabs(want[i]);
    for (i = 0; i < n; i++) {
        double g = got[i], w = want[i], tol, ratio;
        if (isnan(w) || isnan(g)) {
            if (!(isnan(w) && isnan(g))) bad++, worst = i, worst_ratio = INFINITY;
            continue;
        }
        if (isinf(w) || isinf(g)) {
            if (g != w) bad++, worst = i, worst_ratio = INFINITY;
            continue;
        }
        tol = rtol * fmax(fabs(w), 1e-3 * scale);
        ratio = tol > 0 ? fabs(g - w) / tol : (g == w ? 0 : INFINITY);
        if (ratio > 1) bad++;
        if (ratio > worst_ratio) worst_ratio = ratio, worst = i;
    }
    if (bad) {
        printf("  %s: %zu of %zu elements off; worst [%zu] got %.9g want %.9g (rtol %g)\n", what, bad, n, worst,
               (double)got[worst], want[worst], rtol);
        test__failed_checks++;
        return 0;
    }
    return 1;
}

/* -- one run of a built model: a session with threads (and force_reference), in -> out,
   its stats into *st; returns the kernel of the node named node (static text), or NULL
   when creating or running fails (the error is printed) -- */
static inline const char *test_run_node(const infer_model *m, int force_ref, int threads, const infer_tensor *in,
                                        infer_tensor *out, const char *node, infer_session_stats *st) {
    infer_session *s = NULL;
    infer_session_options o;
    infer_node_info info;
    const char *kernel = NULL;
    size_t i;
    memset(&o, 0, sizeof o);
    o.n_threads = threads, o.force_reference = force_ref;
    if (infer_session_create(m, &o, &s) || infer_run(s, in, 1, out, 1)) {
        printf("  run: %s\n", infer_last_error());
        infer_session_free(s);
        return NULL;
    }
    infer_session_get_stats(s, st);
    for (i = 0; !infer_session_node(s, i, &info); i++)
        if (!strcmp(info.name, node)) kernel = info.kernel;
    infer_session_free(s);
    return kernel;
}

/* -- a counting allocator (infer_allocator with user = &counter) that can fail once -- */
typedef struct test_counter {
    long allocs, frees, fail_at; /* fail_at: fail the allocation with this number (1-based), 0 never */
} test_counter;
static inline void *test_count_alloc(void *user, size_t bytes) {
    test_counter *c = (test_counter *)user;
    if (c->fail_at && c->allocs + 1 == c->fail_at) {
        c->fail_at = -1; /* fail once */
        return NULL;
    }
    c->allocs++;
    return malloc(bytes);
}
static inline void test_count_free(void *user, void *p) {
    test_counter *c = (test_counter *)user;
    if (p) c->frees++;
    free(p);
}

/* -- one-op models -- */

#define OP_MAX_IO 16
#define OP_MAX_ATTRS 16

typedef struct op_input {
    const char *name;   /* NULL or "": an absent optional input */
    infer_dtype dtype;
    int n_dims;
    int64_t dims[INFER_MAX_DIMS];
    const void *data;   /* dense, row-major */
    int constant;       /* 1: a constant in the model (as weights are); 0: a run-time input */
} op_input;

typedef struct op_case {
    const char *op;
    op_input in[OP_MAX_IO];
    int n_in;
    infer_attr attrs[OP_MAX_ATTRS];
    int n_attrs;
    int n_out;                  /* 0 means 1 */
    int n_threads;              /* 0 means 1 */
    infer_tensor out[OP_MAX_IO]; /* filled by op_run: dtype, dims and malloc'd data */
    infer_status status;        /* of the first failing step */
    char error[512];
    const char *device;         /* the session's device; NULL: the CPU (tests/test_cuda.c sets "cuda") */
    int precision;              /* infer_session_options.precision */
} op_case;

/* Byte size of an op_input's data. */
static inline size_t op_input_bytes(const op_input *x) {
    size_t n = infer_dtype_bytes(x->dtype);
    int i;
    for (i = 0; i < x->n_dims; i++) n *= (size_t)x->dims[i];
    return n;
}

static inline infer_status op__fail(op_case *c, infer_status st) {
    c->status = st;
    snprintf(c->error, sizeof c->error, "%s", infer_last_error());
    return st;
}

/* Runs c->op once; returns the first failing status (and c->error), or OK with outputs. */
static inline infer_status op_run(op_case *c) {
    infer_builder *b = NULL;
    infer_model *m = NULL;
    infer_session *s = NULL;
    infer_session_options opt;
    infer_tensor feeds[OP_MAX_IO];
    const char *in_names[OP_MAX_IO], *out_names[OP_MAX_IO];
    static char names[2 * OP_MAX_IO][16];
    void *file = NULL;
    size_t bytes = 0, n_feeds = 0;
    int i, n_out = c->n_out ? c->n_out : 1;
    infer_status st;

    memset(c->out, 0, sizeof c->out);
    c->status = INFER_STATUS_OK;
    c->error[0] = '\0';
    if ((st = infer_builder_create(NULL, &b))) return op__fail(c, st);
    for (i = 0; i < c->n_in; i++) {
        const op_input *x = &c->in[i];
        in_names[i] = x->name && x->name[0] ? x->name : "";
        if (!in_names[i][0]) continue;
        if (x->constant) {
            infer_tensor t;
            memset(&t, 0, sizeof t);
            t.name = x->name;
            t.dtype = x->dtype;
            t.n_dims = x->n_dims;
            memcpy(t.dims, x->dims, sizeof t.dims);
            t.data = (void *)x->data;
            t.data_bytes = op_input_bytes(x);
            st = infer_builder_add_constant(b, &t);
        } else {
            st = infer_builder_add_input(b, x->name, x->dtype, x->n_dims, x->dims, NULL);
            memset(&feeds[n_feeds], 0, sizeof feeds[n_feeds]);
            feeds[n_feeds].name = x->name;
            feeds[n_feeds].dtype = x->dtype;
            feeds[n_feeds].n_dims = x->n_dims;
            memcpy(feeds[n_feeds].dims, x->dims, sizeof x->dims);
            feeds[n_feeds].data = (void *)x->data;
            feeds[n_feeds].data_bytes = op_input_bytes(x);
            n_feeds++;
        }
        if (st) goto fail;
    }
    for (i = 0; i < n_out; i++) {
        snprintf(names[i], sizeof names[i], "out%d", i);
        out_names[i] = names[i];
    }
    if ((st = infer_builder_add_node(b, c->op, "node", in_names, (size_t)c->n_in, out_names, (size_t)n_out, c->attrs,
                                     (size_t)c->n_attrs)))
        goto fail;
    for (i = 0; i < n_out; i++)
        if ((st = infer_builder_add_output(b, out_names[i]))) goto fail;
    if ((st = infer_builder_serialize(b, NULL, 0, &bytes))) goto fail;
    if (posix_memalign(&file, 64, bytes ? bytes : 64) != 0) file = NULL;
    if (!file) st = INFER_STATUS_OUT_OF_MEMORY;
    if (!file || (st = infer_builder_serialize(b, file, bytes, &bytes))) goto fail;
    if ((st = infer_model_load_memory(file, bytes, NULL, &m))) goto fail;
    memset(&opt, 0, sizeof opt);
    opt.n_threads = c->n_threads ? c->n_threads : 1;
    opt.device = c->device;
    opt.precision = c->precision;
    if ((st = infer_session_create(m, &opt, &s))) goto fail;
    for (i = 0; i < n_out; i++) {
        infer_tensor_info info;
        size_t ob = 0;
        int d;
        if ((st = infer_session_output(s, (size_t)i, &info))) goto fail;
        ob = infer_dtype_bytes(info.dtype);
        for (d = 0; d < info.n_dims; d++) ob *= (size_t)info.dims[d];
        c->out[i].name = out_names[i];
        c->out[i].data = malloc(ob ? ob : 1);
        c->out[i].data_bytes = ob;
    }
    if ((st = infer_run(s, feeds, n_feeds, c->out, (size_t)n_out))) goto fail;
    infer_session_free(s);
    infer_model_free(m);
    infer_builder_free(b);
    free(file);
    return INFER_STATUS_OK;
fail:
    op__fail(c, st);
    infer_session_free(s);
    infer_model_free(m);
    infer_builder_free(b);
    free(file);
    return st;
}

static inline void op_free(op_case *c) {
    int i;
    for (i = 0; i < OP_MAX_IO; i++) {
        free(c->out[i].data);
        c->out[i].data = NULL;
    }
}

/* Helpers to fill an op_input in one line. */
static inline op_input op_in(const char *name, infer_dtype t, int n_dims, const int64_t *dims, const void *data) {
    op_input x;
    memset(&x, 0, sizeof x);
    x.name = name;
    x.dtype = t;
    x.n_dims = n_dims;
    if (n_dims) memcpy(x.dims, dims, sizeof(int64_t) * (size_t)n_dims);
    x.data = data;
    return x;
}
static inline op_input op_const(const char *name, infer_dtype t, int n_dims, const int64_t *dims, const void *data) {
    op_input x = op_in(name, t, n_dims, dims, data);
    x.constant = 1;
    return x;
}
static inline op_input op_absent(void) {
    op_input x;
    memset(&x, 0, sizeof x);
    return x;
}

#endif
