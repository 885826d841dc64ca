/* tests/conformance.c - the ONNX conformance driver.

   conformance [--expect FILE] [--models] [--verbose] [-j N] [--threads N] [--timeout S]
               [--no-fork] DIR...

   Each DIR is a case folder (model.onnx, test_data_set_N/input_K.pb and output_K.pb,
   as the ONNX backend tests lay them out) or a folder of case folders. Each case is
   converted with convert_onnx, serialised, loaded back from memory and run on every
   data set, in a session whose symbolic dims are bound from the inputs' shapes. When
   the session wants a graph input fixed at creation ("known when the session is
   created"), every integer-typed graph input is passed as a session constant instead,
   and if that is not enough (a Resize's scales, say), every graph input.

   Node tests (default): every output must match the reference like
   numpy.testing.assert_allclose with the ONNX backend defaults,
   |got - want| <= 1e-7 + 1e-3 |want| (NaN matches NaN), integers and bools exactly,
   float8/float4 codes exactly (a float8 NaN matches any NaN code), dtypes and shapes
   exactly.
   --models (real architectures, with an optional info.txt of dims like "batch=2 seq=16"):
   max|got - want| / (max|want| + 1e-6) <= 1e-4 for every output, and the session's
   arena may be at most 1.02 x its lower bound.

   Each case is one line, in the form tests/run.sh counts:
     PASS conformance_<case>
     FAIL conformance_<case> (what went wrong)          followed by indented detail
     SKIP conformance_<case> (unsupported-op: Loop If)  an op type the converter lacks
     SKIP conformance_<case> (expected failure: reason) listed in --expect FILE
   then the totals and two pass rates: over the cases whose op types are all supported,
   and over all cases (the ONNX backend scoreboard's way).

   --expect FILE lists expected failures, "case_name reason..." per line (# comments).
   A listed case that passes is a FAIL ("now passes: remove it from the list") so the
   list only shrinks. Exit status 1 on any FAIL, 2 on a usage error.

   Every case runs in its own child process (-j at once, default one per core; sessions
   use --threads threads, default 1, and at most 4 GiB), so a crash, a sanitizer report,
   a leak or a hang (--timeout S, default 120, 600 with --models) is that case's failure,
   never the driver's. --no-fork runs the cases in this process, one after another (for a
   debugger). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../infer.h"
#include "../tools/convert.h"
#include "../tools/onnx.h"

#define RTOL 1e-3           /* ONNX backend test defaults */
#define ATOL 1e-7
#define MODELS_REL_TOL 1e-4 /* --models: max abs error relative to max |reference| */
#define MODELS_ARENA_RATIO 1.02
#define MAX_FILES 1024      /* input_K.pb / output_K.pb / data sets read per case */
#define MSG_BYTES 2048
#define LOG_CAP (4u << 20)  /* bytes of a child's output kept (the tail) */
#define MEMORY_CAP ((size_t)4 << 30) /* infer_session_options.max_memory_bytes per session */

enum { R_PASS, R_FAIL, R_UNSUPPORTED };
static const char *const class_names[] = {"pass", "fail", "unsupported"};

typedef struct result {
    int cls;
    char msg[MSG_BYTES]; /* fail: what went wrong; unsupported: the op types; pass: notes */
} result;

typedef struct expect_entry {
    char *name, *reason;
    int seen; /* a case of that name ran */
} expect_entry;

typedef struct driver {
    int models, verbose, jobs, no_fork, threads;
    double timeout_s;
    char **cases; /* case folder paths, in order */
    size_t n_cases, cap_cases;
    expect_entry *expect;
    size_t n_expect;
} driver;

/* ---------------------------------------------------------------- utilities -- */

static int set_result(result *r, int cls, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    r->cls = cls;
    return cls;
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "conformance: out of memory (%zu bytes)\n", n);
        exit(2);
    }
    return p;
}

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    return (char *)memcpy(xmalloc(n), s, n);
}

static char *path_join(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    char *p = (char *)xmalloc(na + nb + 2);
    memcpy(p, a, na);
    p[na] = '/';
    memcpy(p + na + 1, b, nb + 1);
    return p;
}

static int is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The last path component, without trailing slashes, into buf. */
static const char *base_name(const char *path, char *buf, size_t n) {
    size_t len = strlen(path), start;
    while (len > 1 && path[len - 1] == '/') len--;
    start = len;
    while (start > 0 && path[start - 1] != '/') start--;
    if (len - start >= n) len = start + n - 1;
    memcpy(buf, path + start, len - start);
    buf[len - start] = 0;
    return buf;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted names of the entries of dir (no "." entries); NULL if it cannot be read. */
static char **list_dir(const char *dir, size_t *n_out) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    *n_out = 0;
    if (!d) return NULL;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            char **nn;
            cap = cap ? cap * 2 : 64;
            nn = (char **)realloc(names, cap * sizeof *names);
            if (!nn) {
                fprintf(stderr, "conformance: out of memory\n");
                exit(2);
            }
            names = nn;
        }
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    *n_out = n;
    return names ? names : (char **)xmalloc(1);
}

static void free_list(char **names, size_t n) {
    size_t i;
    for (i = 0; names && i < n; i++) free(names[i]);
    free(names);
}

/* ------------------------------------------------------------- case discovery -- */

static void add_case(driver *d, const char *path) {
    if (d->n_cases == d->cap_cases) {
        char **nc;
        d->cap_cases = d->cap_cases ? d->cap_cases * 2 : 256;
        nc = (char **)realloc(d->cases, d->cap_cases * sizeof *nc);
        if (!nc) {
            fprintf(stderr, "conformance: out of memory\n");
            exit(2);
        }
        d->cases = nc;
    }
    d->cases[d->n_cases++] = xstrdup(path);
}

/* A case folder, or a folder of case folders. Returns the number of cases added. */
static size_t add_dir(driver *d, const char *dir) {
    char *model = path_join(dir, "model.onnx");
    size_t n = 0, i, added = 0;
    char **names;
    int single = is_file(model);
    free(model);
    if (single) {
        add_case(d, dir);
        return 1;
    }
    names = list_dir(dir, &n);
    for (i = 0; names && i < n; i++) {
        char *sub = path_join(dir, names[i]);
        char *m = path_join(sub, "model.onnx");
        if (is_file(m)) add_case(d, sub), added++;
        free(m);
        free(sub);
    }
    free_list(names, n);
    return added;
}

/* "case_name reason..." per line; # starts a comment. */
static int load_expect(driver *d, const char *path) {
    FILE *f = fopen(path, "r");
    char line[4096];
    size_t cap = 0;
    if (!f) {
        fprintf(stderr, "conformance: cannot read %s: %s\n", path, strerror(errno));
        return 0;
    }
    while (fgets(line, sizeof line, f)) {
        char *p = line, *name, *reason, *end;
        while (isspace((unsigned char)*p)) p++;
        if (!*p || *p == '#') continue;
        name = p;
        while (*p && !isspace((unsigned char)*p)) p++;
        if (*p) *p++ = 0;
        while (isspace((unsigned char)*p)) p++;
        reason = p;
        end = reason + strlen(reason);
        while (end > reason && isspace((unsigned char)end[-1])) *--end = 0;
        if (d->n_expect == cap) {
            expect_entry *ne;
            cap = cap ? cap * 2 : 64;
            ne = (expect_entry *)realloc(d->expect, cap * sizeof *ne);
            if (!ne) {
                fclose(f);
                return 0;
            }
            d->expect = ne;
        }
        d->expect[d->n_expect].name = xstrdup(name);
        d->expect[d->n_expect].reason = xstrdup(*reason ? reason : "(no reason given)");
        d->n_expect++;
    }
    fclose(f);
    return 1;
}

static const char *expected_reason(driver *d, const char *name) {
    size_t i;
    for (i = 0; i < d->n_expect; i++)
        if (!strcmp(d->expect[i].name, name)) {
            d->expect[i].seen = 1;
            return d->expect[i].reason;
        }
    return NULL;
}

/* ---------------------------------------------------------------- one case -- */

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 31, man = h & 1023, bits;
    float f;
    if (exp == 0) {
        f = ldexpf((float)man, -24);
        return sign ? -f : f;
    }
    if (exp == 31) bits = sign | 0x7F800000u | (man << 13);
    else bits = sign | ((exp + 112) << 23) | (man << 13);
    memcpy(&f, &bits, 4);
    return f;
}

/* Element i of dense little-endian data of a float dtype, as a double. */
static double float_at(const uint8_t *p, infer_dtype t, size_t i) {
    float f;
    double d;
    uint16_t h;
    uint32_t bits;
    switch (t) {
    case INFER_DTYPE_F32: memcpy(&f, p + 4 * i, 4); return f;
    case INFER_DTYPE_F64: memcpy(&d, p + 8 * i, 8); return d;
    case INFER_DTYPE_F16: memcpy(&h, p + 2 * i, 2); return half_to_float(h);
    case INFER_DTYPE_BF16:
        memcpy(&h, p + 2 * i, 2);
        bits = (uint32_t)h << 16;
        memcpy(&f, &bits, 4);
        return f;
    default: return 0;
    }
}

static int is_float(infer_dtype t) {
    return t == INFER_DTYPE_F32 || t == INFER_DTYPE_F64 || t == INFER_DTYPE_F16 || t == INFER_DTYPE_BF16;
}

static int is_integer(infer_dtype t) {
    return t == INFER_DTYPE_I8 || t == INFER_DTYPE_I16 || t == INFER_DTYPE_I32 || t == INFER_DTYPE_I64 ||
           t == INFER_DTYPE_U8 || t == INFER_DTYPE_U16 || t == INFER_DTYPE_U32 || t == INFER_DTYPE_U64;
}

/* Whether byte b of a float8 dtype is a NaN: such outputs match any NaN of the dtype
   (the ONNX reference writes e5m2 NaN as 0x7E, but every S.11111.xx pattern is one). */
static int small_nan(infer_dtype t, uint8_t b) {
    switch (t) {
    case INFER_DTYPE_F8E4M3FN: return (b & 0x7F) == 0x7F;
    case INFER_DTYPE_F8E5M2: return (b & 0x7F) > 0x7C;
    case INFER_DTYPE_F8E4M3FNUZ: case INFER_DTYPE_F8E5M2FNUZ: return b == 0x80;
    case INFER_DTYPE_F8E8M0: return b == 0xFF;
    default: return 0;
    }
}

/* Element i of an integer, bool or other one-byte dtype (printed in hex), printed. */
static void int_str(char *buf, size_t n, const uint8_t *p, infer_dtype t, size_t i) {
    size_t sz = infer_dtype_bytes(t);
    uint64_t u = 0;
    int64_t v;
    memcpy(&u, p + sz * i, sz); /* little-endian host */
    switch (t) {
    case INFER_DTYPE_F8E4M3FN: case INFER_DTYPE_F8E4M3FNUZ: case INFER_DTYPE_F8E5M2: case INFER_DTYPE_F8E5M2FNUZ:
    case INFER_DTYPE_F8E8M0: case INFER_DTYPE_F4E2M1: snprintf(buf, n, "0x%02x", (unsigned)u); return;
    case INFER_DTYPE_I4: case INFER_DTYPE_I2: /* fall through: stored sign-extended */
    case INFER_DTYPE_I8: v = (int8_t)u; break;
    case INFER_DTYPE_I16: v = (int16_t)u; break;
    case INFER_DTYPE_I32: v = (int32_t)u; break;
    case INFER_DTYPE_I64: v = (int64_t)u; break;
    default: snprintf(buf, n, "%llu", (unsigned long long)u); return;
    }
    snprintf(buf, n, "%lld", (long long)v);
}

static void dims_str(char *buf, size_t n, int n_dims, const int64_t *dims) {
    size_t len = 0;
    int i;
    buf[0] = 0;
    len += (size_t)snprintf(buf, n, "[");
    for (i = 0; i < n_dims && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (len < n) snprintf(buf + len, n - len, "]");
}

/* The multi-index of flat element i, printed. */
static void index_str(char *buf, size_t n, int n_dims, const int64_t *dims, size_t i) {
    int64_t idx[INFER_MAX_DIMS];
    int k;
    for (k = n_dims - 1; k >= 0; k--) {
        idx[k] = dims[k] ? (int64_t)(i % (size_t)dims[k]) : 0;
        if (dims[k]) i /= (size_t)dims[k];
    }
    dims_str(buf, n, n_dims, idx);
}

/* Compares one output with its reference. Returns 1 if it matches; else 0 with r set.
   *rel gets max|got - want| / (max|want| + 1e-6) for float outputs (0 otherwise). */
static int compare_output(const driver *d, const char *name, const onnx_tensor *want, const infer_tensor *got,
                          result *r, double *rel) {
    infer_dtype wt = onnx_dtype(want->data_type);
    char gs[160], ws[160], is[160];
    size_t count = 1, esz, i, bad = 0, first = 0;
    int k;
    *rel = 0;
    if (wt == INFER_DTYPE_UNDEFINED) {
        set_result(r, R_FAIL, "output '%s': the reference is ONNX type %s, which infer has no dtype for", name,
                   onnx_dtype_name(want->data_type));
        return 0;
    }
    if (got->dtype != wt) {
        set_result(r, R_FAIL, "output '%s': dtype %s, expected %s", name, infer_dtype_name(got->dtype),
                   infer_dtype_name(wt));
        return 0;
    }
    dims_str(gs, sizeof gs, got->n_dims, got->dims);
    dims_str(ws, sizeof ws, want->n_dims, want->dims);
    if (got->n_dims != want->n_dims ||
        (want->n_dims > 0 && memcmp(got->dims, want->dims, sizeof(int64_t) * (size_t)want->n_dims))) {
        set_result(r, R_FAIL, "output '%s': shape %s, expected %s", name, gs, ws);
        return 0;
    }
    for (k = 0; k < want->n_dims; k++) count *= (size_t)want->dims[k];
    esz = infer_dtype_bytes(wt);
    if (want->data_bytes != count * esz) {
        set_result(r, R_FAIL, "reference output '%s' %s has %zu bytes of data; it should have %zu", name, ws,
                   want->data_bytes, count * esz);
        return 0;
    }
    if (is_float(wt)) {
        double max_err = 0, max_ref = 0, first_g = 0, first_w = 0;
        int nan_in_ours = 0;
        for (i = 0; i < count; i++) {
            double g = float_at((const uint8_t *)got->data, wt, i), w = float_at(want->data, wt, i);
            int ok;
            if (isnan(w) || isnan(g)) ok = isnan(w) && isnan(g);
            else if (isinf(w) || isinf(g)) ok = g == w;
            else ok = fabs(g - w) <= ATOL + RTOL * fabs(w);
            if (isnan(g) && !isnan(w)) nan_in_ours = 1;
            if (!isnan(g) && !isnan(w) && !isinf(g) && !isinf(w)) {
                if (fabs(g - w) > max_err) max_err = fabs(g - w);
            } else if (!(g == w || (isnan(g) && isnan(w)))) {
                max_err = INFINITY;
            }
            if (!isnan(w) && fabs(w) > max_ref) max_ref = fabs(w);
            if (!ok && !bad++) first = i, first_g = g, first_w = w;
        }
        *rel = max_err / (max_ref + 1e-6);
        if (nan_in_ours) *rel = INFINITY;
        if (d->verbose)
            printf("  output '%s' %s %s: max abs err %.3g, max |ref| %.3g, relative %.3g, %zu of %zu outside "
                   "atol+rtol\n",
                   name, infer_dtype_name(wt), ws, max_err, max_ref, *rel, bad, count);
        if (d->models) {
            if (!(*rel <= MODELS_REL_TOL)) {
                set_result(r, R_FAIL,
                           "output '%s' %s: max|ours - ref| / (max|ref| + 1e-6) = %.3g > %g (max abs err %.3g, "
                           "max |ref| %.3g)",
                           name, ws, *rel, MODELS_REL_TOL, max_err, max_ref);
                return 0;
            }
            return 1;
        }
        if (bad) {
            index_str(is, sizeof is, want->n_dims, want->dims, first);
            set_result(r, R_FAIL,
                       "output '%s' %s %s: %zu of %zu values outside atol %g + rtol %g; first at %s: got %.9g, "
                       "want %.9g; max abs err %.3g",
                       name, infer_dtype_name(wt), ws, bad, count, ATOL, RTOL, is, first_g, first_w, max_err);
            return 0;
        }
        return 1;
    }
    for (i = 0; i < count; i++)
        if (memcmp((const uint8_t *)got->data + i * esz, want->data + i * esz, esz) &&
            !(small_nan(wt, ((const uint8_t *)got->data)[i]) && small_nan(wt, want->data[i])) && !bad++)
            first = i;
    if (bad) {
        char g[32], w[32];
        int_str(g, sizeof g, (const uint8_t *)got->data, wt, first);
        int_str(w, sizeof w, want->data, wt, first);
        index_str(is, sizeof is, want->n_dims, want->dims, first);
        set_result(r, R_FAIL, "output '%s' %s %s: %zu of %zu values differ; first at %s: got %s, want %s", name,
                   infer_dtype_name(wt), ws, bad, count, is, g, w);
        return 0;
    }
    return 1;
}

/* Reads prefix_K.pb for K = 0, 1, ... while they exist. Returns the count, or -1 with r set. */
static int load_tensors(const char *dir, const char *prefix, onnx_tensor *ts, result *r) {
    int k;
    char err[1024], file[64];
    for (k = 0; k < MAX_FILES; k++) {
        char *path;
        snprintf(file, sizeof file, "%s_%d.pb", prefix, k);
        path = path_join(dir, file);
        if (!is_file(path)) {
            free(path);
            return k;
        }
        memset(&ts[k], 0, sizeof ts[k]);
        if (!onnx_load_tensor(path, &ts[k], err, sizeof err)) {
            set_result(r, R_FAIL, "cannot read %s: %s", path, err);
            free(path);
            while (k-- > 0) onnx_tensor_free(&ts[k]);
            return -1;
        }
        free(path);
    }
    set_result(r, R_FAIL, "%s: more than %d %s files", dir, MAX_FILES, prefix);
    while (k-- > 0) onnx_tensor_free(&ts[k]);
    return -1;
}

/* convert_onnx lists unsupported op types as "...: unsupported operators: Op (node 'a');
   Op2 (node 'b')". Collects the distinct op types, space-separated, into ops. Returns 1
   when the failure is about op types (and nothing else). */
static int unsupported_op_types(const char *err, char *ops, size_t n) {
    static const char key[] = "unsupported operators: ";
    const char *p = strstr(err, key);
    size_t len = 0;
    ops[0] = 0;
    if (!p) return 0;
    p += sizeof key - 1;
    while (*p) {
        const char *e = p;
        char op[128];
        size_t k;
        while (*e && *e != ' ' && *e != ';') e++;
        k = (size_t)(e - p);
        if (k && k < sizeof op) {
            const char *q;
            int dup = 0;
            memcpy(op, p, k);
            op[k] = 0;
            for (q = ops; (q = strstr(q, op)) != NULL; q += k)
                if ((q == ops || q[-1] == ' ') && (q[k] == ' ' || !q[k])) dup = 1;
            if (!dup && len + k + 2 < n) len += (size_t)snprintf(ops + len, n - len, "%s%s", len ? " " : "", op);
        }
        p = strstr(e, "; ");
        if (!p) break;
        p += 2;
    }
    return ops[0] != 0;
}

/* "batch=2 seq=16" from info.txt (--models); returns the count (at most max). */
static size_t read_info_dims(const char *dir, infer_dim *dims, char names[][64], size_t max) {
    char *path = path_join(dir, "info.txt");
    FILE *f = fopen(path, "r");
    char tok[256];
    size_t n = 0;
    free(path);
    if (!f) return 0;
    while (n < max && fscanf(f, "%255s", tok) == 1) {
        char *eq = strchr(tok, '='), *end;
        long long v;
        if (!eq || eq == tok || (size_t)(eq - tok) >= 64) continue;
        v = strtoll(eq + 1, &end, 10);
        if (*end || end == eq + 1) continue;
        memcpy(names[n], tok, (size_t)(eq - tok));
        names[n][eq - tok] = 0;
        dims[n].name = names[n];
        dims[n].value = v;
        n++;
    }
    fclose(f);
    return n;
}

#define MAX_BOUND_DIMS 256

/* One data set: bind dims from the inputs, create the session, run, compare. */
static int run_data_set(const driver *d, const char *case_dir, const char *set_dir, const onnx_model *om,
                        const infer_model *m, result *r) {
    static onnx_tensor ins[MAX_FILES], outs[MAX_FILES];
    infer_dim dims[MAX_BOUND_DIMS];
    char info_names[32][64];
    const char **in_names = NULL; /* ONNX name of input_K */
    infer_tensor *run_in = NULL, *consts = NULL, *run_out = NULL;
    void **bufs = NULL;
    infer_session *s = NULL;
    infer_session_options so;
    infer_status st;
    size_t n_dims = 0, n_model_in = infer_model_n_inputs(m), n_model_out = infer_model_n_outputs(m), i, j, k;
    size_t n_run_in = 0, n_consts = 0;
    int n_in, n_out = 0, ok = 1, pass;
    double worst_rel = 0;
    const onnx_graph *g = om->graph;

    n_in = load_tensors(set_dir, "input", ins, r);
    if (n_in < 0) return R_FAIL;
    n_out = load_tensors(set_dir, "output", outs, r);
    if (n_out < 0) {
        n_out = 0;
        ok = 0;
        goto done;
    }
    /* input_K feeds the K-th graph input that is not an initializer */
    in_names = (const char **)xmalloc(sizeof *in_names * (size_t)(n_in + 1));
    for (i = 0, k = 0; i < g->n_inputs && k < (size_t)n_in; i++) {
        int init = 0;
        for (j = 0; j < g->n_initializers && !init; j++)
            init = g->initializers[j].name && !strcmp(g->initializers[j].name, g->inputs[i].name);
        if (!init) in_names[k++] = g->inputs[i].name;
    }
    if (k < (size_t)n_in) {
        set_result(r, R_FAIL, "%s has %d input files; the graph has %zu non-initializer inputs", set_dir, n_in, k);
        ok = 0;
        goto done;
    }
    if ((size_t)n_out > g->n_outputs) {
        set_result(r, R_FAIL, "%s has %d output files; the graph has %zu outputs", set_dir, n_out, g->n_outputs);
        ok = 0;
        goto done;
    }
    /* symbolic dims from the actual input shapes */
    for (i = 0; i < n_model_in; i++) {
        infer_tensor_info info;
        const onnx_tensor *t = NULL;
        int dd;
        if (infer_model_input(m, i, &info) != INFER_STATUS_OK) continue;
        for (k = 0; k < (size_t)n_in && !t; k++)
            if (!strcmp(in_names[k], info.name)) t = &ins[k];
        if (!t) continue; /* not given: infer_run will say so */
        if (info.n_dims >= 0 && info.n_dims != t->n_dims) {
            set_result(r, R_FAIL, "input '%s': the converted model has rank %d; the test data has rank %d", info.name,
                       info.n_dims, t->n_dims);
            ok = 0;
            goto done;
        }
        for (dd = 0; dd < info.n_dims; dd++) {
            if (!info.dim_names[dd]) continue;
            for (j = 0; j < n_dims && strcmp(dims[j].name, info.dim_names[dd]); j++) {
            }
            if (j < n_dims) {
                if (dims[j].value != t->dims[dd]) {
                    set_result(r, R_FAIL, "symbolic dim '%s' is %lld in one input and %lld in input '%s'",
                               dims[j].name, (long long)dims[j].value, (long long)t->dims[dd], info.name);
                    ok = 0;
                    goto done;
                }
            } else if (n_dims < MAX_BOUND_DIMS) {
                dims[n_dims].name = info.dim_names[dd];
                dims[n_dims].value = t->dims[dd];
                n_dims++;
            }
        }
    }
    if (d->models) { /* info.txt dims the inputs did not already bind */
        infer_dim extra[32];
        size_t n_extra = read_info_dims(case_dir, extra, info_names, 32), e;
        for (e = 0; e < n_extra && n_dims < MAX_BOUND_DIMS; e++) {
            int used = 0, bound = 0, dd;
            for (j = 0; j < n_dims; j++) bound |= !strcmp(dims[j].name, extra[e].name);
            for (i = 0; i < n_model_in && !used; i++) {
                infer_tensor_info info;
                if (infer_model_input(m, i, &info) != INFER_STATUS_OK) continue;
                for (dd = 0; dd < info.n_dims; dd++)
                    used |= info.dim_names[dd] && !strcmp(info.dim_names[dd], extra[e].name);
            }
            if (used && !bound) dims[n_dims++] = extra[e];
        }
    }
    if (d->verbose) {
        printf("  %s: %d inputs, %d outputs", set_dir, n_in, n_out);
        for (j = 0; j < n_dims; j++) printf("%s%s=%lld", j ? " " : "; dims ", dims[j].name, (long long)dims[j].value);
        printf("\n");
    }

    memset(&so, 0, sizeof so);
    so.n_threads = d->threads;
    so.max_memory_bytes = MEMORY_CAP;
    so.dims = n_dims ? dims : NULL;
    so.n_dims = n_dims;
    st = infer_session_create(m, &so, &s);
    /* An input that sets a shape must be fixed when the session is created: first every
       integer-typed graph input, then (Resize scales, say) every graph input. */
    for (pass = 0; pass < 2 && st == INFER_STATUS_UNSUPPORTED &&
                   strstr(infer_last_error(), "known when the session is created");
         pass++) {
        if (d->verbose)
            printf("  session: %s; retrying with %s graph inputs fixed\n", infer_last_error(),
                   pass ? "all" : "the integer");
        free(consts);
        n_consts = 0;
        consts = (infer_tensor *)xmalloc(sizeof *consts * (size_t)(n_in + 1));
        for (k = 0; k < (size_t)n_in; k++) {
            infer_dtype t = onnx_dtype(ins[k].data_type);
            if (!is_integer(t) && !(pass && t != INFER_DTYPE_UNDEFINED)) continue;
            memset(&consts[n_consts], 0, sizeof consts[n_consts]);
            consts[n_consts].name = in_names[k];
            consts[n_consts].dtype = t;
            consts[n_consts].n_dims = ins[k].n_dims;
            memcpy(consts[n_consts].dims, ins[k].dims, sizeof(int64_t) * (size_t)ins[k].n_dims);
            consts[n_consts].data = (void *)(uintptr_t)ins[k].data;
            consts[n_consts].data_bytes = ins[k].data_bytes;
            n_consts++;
        }
        so.constants = consts;
        so.n_constants = n_consts;
        st = infer_session_create(m, &so, &s);
    }
    if (st != INFER_STATUS_OK) {
        set_result(r, R_FAIL, "session: %s: %s", infer_status_name(st), infer_last_error());
        ok = 0;
        goto done;
    }
    if (d->models || d->verbose) {
        infer_session_stats ss;
        double ratio;
        infer_session_get_stats(s, &ss);
        ratio = ss.arena_lower_bound_bytes ? (double)ss.arena_bytes / (double)ss.arena_lower_bound_bytes : 1.0;
        printf("  arena %zu bytes, lower bound %zu, ratio %.3f; %zu nodes, %zu steps, %zu constant bytes\n",
               ss.arena_bytes, ss.arena_lower_bound_bytes, ratio, ss.n_nodes, ss.n_steps, ss.constant_bytes);
        if (d->models && ratio > MODELS_ARENA_RATIO) {
            set_result(r, R_FAIL, "arena %zu bytes is %.3f x its lower bound %zu (limit %.2f)", ss.arena_bytes, ratio,
                       ss.arena_lower_bound_bytes, MODELS_ARENA_RATIO);
            ok = 0;
            goto done;
        }
        if (d->models)
            snprintf(r->msg, sizeof r->msg, "arena/lower bound %.3f", ratio);
    }

    /* inputs: all but the fixed ones */
    run_in = (infer_tensor *)xmalloc(sizeof *run_in * (size_t)(n_in + 1));
    for (k = 0; k < (size_t)n_in; k++) {
        infer_tensor *t = &run_in[n_run_in];
        for (j = 0; j < n_consts && strcmp(consts[j].name, in_names[k]); j++) {
        }
        if (j < n_consts) continue;
        memset(t, 0, sizeof *t);
        t->name = in_names[k];
        t->dtype = onnx_dtype(ins[k].data_type);
        if (t->dtype == INFER_DTYPE_UNDEFINED) {
            set_result(r, R_FAIL, "input '%s' is ONNX type %s, which infer has no dtype for", in_names[k],
                       onnx_dtype_name(ins[k].data_type));
            ok = 0;
            goto done;
        }
        t->n_dims = ins[k].n_dims;
        memcpy(t->dims, ins[k].dims, sizeof(int64_t) * (size_t)ins[k].n_dims);
        t->data = (void *)(uintptr_t)ins[k].data;
        t->data_bytes = ins[k].data_bytes;
        n_run_in++;
    }
    /* outputs: output_K is the K-th graph output; buffers sized from the session */
    run_out = (infer_tensor *)xmalloc(sizeof *run_out * (size_t)(n_out + 1));
    bufs = (void **)calloc((size_t)n_out + 1, sizeof *bufs);
    if (!bufs) exit(2);
    for (k = 0; k < (size_t)n_out; k++) {
        const char *name = g->outputs[k].name;
        infer_tensor_info info;
        size_t bytes = 0;
        int dd, found = 0;
        for (j = 0; j < n_model_out && !found; j++)
            if (infer_session_output(s, j, &info) == INFER_STATUS_OK && info.name && !strcmp(info.name, name))
                found = 1;
        if (!found) {
            set_result(r, R_FAIL, "graph output '%s' is not an output of the converted model", name);
            ok = 0;
            goto done;
        }
        bytes = infer_dtype_bytes(info.dtype);
        for (dd = 0; dd < info.n_dims; dd++) {
            if (info.dims[dd] < 0 || (info.dims[dd] && bytes > ((size_t)1 << 40) / (size_t)info.dims[dd])) {
                set_result(r, R_FAIL, "output '%s' has dim %d = %lld", name, dd, (long long)info.dims[dd]);
                ok = 0;
                goto done;
            }
            bytes *= (size_t)info.dims[dd];
        }
        bufs[k] = xmalloc(bytes);
        memset(&run_out[k], 0, sizeof run_out[k]);
        run_out[k].name = name;
        run_out[k].data = bufs[k];
        run_out[k].data_bytes = bytes;
    }
    st = infer_run(s, run_in, n_run_in, run_out, (size_t)n_out);
    if (st != INFER_STATUS_OK) {
        set_result(r, R_FAIL, "run: %s: %s", infer_status_name(st), infer_session_error(s));
        ok = 0;
        goto done;
    }
    for (k = 0; k < (size_t)n_out && ok; k++) {
        double rel;
        ok = compare_output(d, run_out[k].name, &outs[k], &run_out[k], r, &rel);
        if (rel > worst_rel) worst_rel = rel;
    }
    if (ok && d->models) {
        size_t len = strlen(r->msg);
        snprintf(r->msg + len, sizeof r->msg - len, "%smax relative error %.3g", len ? ", " : "", worst_rel);
    }

done:
    for (k = 0; bufs && k < (size_t)n_out; k++) free(bufs[k]);
    free(bufs);
    free(run_out);
    free(run_in);
    free(consts);
    free(in_names);
    infer_session_free(s);
    for (k = 0; k < (size_t)n_in; k++) onnx_tensor_free(&ins[k]);
    for (k = 0; k < (size_t)n_out; k++) onnx_tensor_free(&outs[k]);
    return ok ? R_PASS : R_FAIL;
}

static void run_case(const driver *d, const char *dir, result *r) {
    char *model_path = path_join(dir, "model.onnx");
    char err[8192], ops[MSG_BYTES];
    onnx_model *om = NULL;
    infer_builder *b = NULL;
    infer_model *m = NULL;
    convert_options co;
    convert_stats cs;
    infer_status st;
    void *file = NULL;
    size_t bytes = 0, n_names = 0, i, n_sets = 0;
    char **names = NULL;
    r->cls = R_PASS;
    r->msg[0] = 0;

    memset(&co, 0, sizeof co);
    memset(&cs, 0, sizeof cs);
    co.verbose = d->verbose;
    err[0] = 0;
    st = convert_onnx(model_path, &co, &b, &cs, err, sizeof err);
    if (st == INFER_STATUS_UNSUPPORTED && unsupported_op_types(err, ops, sizeof ops)) {
        set_result(r, R_UNSUPPORTED, "%s", ops);
        goto done;
    }
    if (st != INFER_STATUS_OK) {
        set_result(r, R_FAIL, "convert: %s: %s", infer_status_name(st), err);
        goto done;
    }
    if (d->verbose)
        printf("  converted: %zu ONNX nodes -> %zu infer nodes (%zu folded, %zu removed, %zu fused)\n", cs.onnx_nodes,
               cs.infer_nodes, cs.folded, cs.removed, cs.fused);
    if ((st = infer_builder_serialize(b, NULL, 0, &bytes)) != INFER_STATUS_OK) {
        set_result(r, R_FAIL, "serialize: %s: %s", infer_status_name(st), infer_last_error());
        goto done;
    }
    if (posix_memalign(&file, 64, bytes ? bytes : 1)) exit(2);
    if ((st = infer_builder_serialize(b, file, bytes, &bytes)) != INFER_STATUS_OK) {
        set_result(r, R_FAIL, "serialize: %s: %s", infer_status_name(st), infer_last_error());
        goto done;
    }
    infer_builder_free(b);
    b = NULL;
    if ((st = infer_model_load_memory(file, bytes, NULL, &m)) != INFER_STATUS_OK) {
        set_result(r, R_FAIL, "load: %s: %s", infer_status_name(st), infer_last_error());
        goto done;
    }
    if (!onnx_load_model(model_path, &om, err, sizeof err)) {
        set_result(r, R_FAIL, "onnx_load_model (after a successful conversion): %s", err);
        goto done;
    }
    names = list_dir(dir, &n_names);
    for (i = 0; names && i < n_names; i++) {
        char *set_dir;
        if (strncmp(names[i], "test_data_set_", 14)) continue;
        set_dir = path_join(dir, names[i]);
        if (is_dir(set_dir)) {
            n_sets++;
            if (run_data_set(d, dir, set_dir, om, m, r) != R_PASS) {
                free(set_dir);
                goto done;
            }
        }
        free(set_dir);
    }
    if (!n_sets) set_result(r, R_FAIL, "%s has no test_data_set_* folder", dir);

done:
    free_list(names, n_names);
    onnx_model_free(om);
    infer_model_free(m);
    infer_builder_free(b);
    free(file);
    free(model_path);
}

/* ------------------------------------------------------------- the driver -- */

typedef struct outcome {
    int done, cls;       /* cls: R_* from the case, or R_FAIL for a crash */
    char *msg, *log;     /* log: what the case printed (its tail), or NULL */
    double seconds;
} outcome;

typedef struct slot {
    pid_t pid;
    int fd, killed;
    size_t idx;
    char *buf;
    size_t len, cap;
    double start;
} slot;

static void slot_append(slot *s, const char *p, size_t n) {
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        char *nb;
        while (cap < s->len + n + 1) cap *= 2;
        nb = (char *)realloc(s->buf, cap);
        if (!nb) exit(2);
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->buf[s->len] = 0;
    if (s->len > LOG_CAP) { /* keep the tail: the result record is last */
        size_t keep = LOG_CAP / 2;
        memmove(s->buf, s->buf + s->len - keep, keep);
        s->len = keep;
        s->buf[keep] = 0;
    }
}

static void start_case(const driver *d, slot *s, size_t idx) {
    int fds[2];
    pid_t pid;
    fflush(stdout);
    fflush(stderr);
    if (pipe(fds)) {
        perror("conformance: pipe");
        exit(2);
    }
    pid = fork();
    if (pid < 0) {
        perror("conformance: fork");
        exit(2);
    }
    if (pid == 0) {
        result r;
        int devnull = open("/dev/null", O_RDONLY);
        close(fds[0]);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[1]);
        memset(&r, 0, sizeof r);
        run_case(d, d->cases[idx], &r);
        printf("\n@@ %s %s\n", class_names[r.cls], r.msg);
        fflush(stdout);
        exit(0); /* exit, not _exit: leak checkers run at exit */
    }
    close(fds[1]);
    memset(s, 0, sizeof *s);
    s->pid = pid;
    s->fd = fds[0];
    s->idx = idx;
    s->start = now_s();
}

/* After EOF: reaps the child and turns what it printed into an outcome. */
static void finish_case(const driver *d, slot *s, outcome *o) {
    int status = 0, cls = -1;
    char *rec = NULL, *msg = "", *msg_copy = NULL, *p;
    close(s->fd);
    while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR) {
    }
    o->seconds = now_s() - s->start;
    if (s->buf) { /* the record: the last line starting "@@ " */
        for (p = s->buf; (p = strstr(p, "@@ ")) != NULL; p += 3)
            if (p == s->buf || p[-1] == '\n') rec = p;
    }
    if (rec) {
        char *eol = strchr(rec, '\n'), *after = eol ? eol + 1 : rec + strlen(rec);
        size_t c;
        if (eol) *eol = 0;
        for (c = 0; c < 3; c++) {
            size_t n = strlen(class_names[c]);
            if (!strncmp(rec + 3, class_names[c], n) && (rec[3 + n] == ' ' || !rec[3 + n])) {
                cls = (int)c;
                msg = rec + 3 + n + (rec[3 + n] == ' ');
            }
        }
        msg = msg_copy = xstrdup(msg);
        memmove(rec, after, strlen(after) + 1); /* the log: what came before and after it */
    }
    if (s->killed) {
        o->cls = R_FAIL;
        o->msg = (char *)xmalloc(64);
        snprintf(o->msg, 64, "timed out after %.0f s", d->timeout_s);
    } else if (WIFSIGNALED(status)) {
        o->cls = R_FAIL;
        o->msg = (char *)xmalloc(96);
        snprintf(o->msg, 96, "crashed: signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else if (cls < 0) {
        o->cls = R_FAIL;
        o->msg = (char *)xmalloc(96);
        snprintf(o->msg, 96, "exited with status %d without a result", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    } else if (WEXITSTATUS(status) != 0) {
        size_t n = strlen(msg) + 128;
        o->cls = R_FAIL;
        o->msg = (char *)xmalloc(n);
        snprintf(o->msg, n, "exit status %d after the result \"%s%s%s\" (a sanitizer or leak report?)",
                 WEXITSTATUS(status), class_names[cls], *msg ? ": " : "", msg);
    } else {
        o->cls = cls;
        o->msg = xstrdup(msg);
    }
    free(msg_copy);
    o->log = s->buf ? s->buf : xstrdup("");
    s->buf = NULL;
    o->done = 1;
}

/* Prints the last max_lines non-empty lines of log, indented. */
static void print_log(const char *log, int max_lines) {
    const char *p = log + strlen(log);
    int lines = 0;
    while (p > log && lines <= max_lines) {
        p--;
        if (*p == '\n' && p[1] && p[1] != '\n') lines++;
    }
    if (lines > max_lines) p++;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        if (n) printf("%s%.*s\n", strncmp(p, "  ", 2) ? "  " : "", (int)n, p);
        p += n + (eol != NULL);
    }
}

typedef struct tally {
    size_t passed, failed, expected, now_passes, unsupported;
} tally;

typedef struct op_count {
    char name[64];
    size_t n;
} op_count;

static void count_ops(op_count *ops, size_t *n_ops, size_t cap, const char *list) {
    const char *p = list;
    while (*p) {
        size_t n, i;
        while (*p && !(isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == ':')) p++;
        n = 0;
        while (p[n] && (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == '.' || p[n] == ':')) n++;
        if (!n) break;
        if (n < 64) {
            for (i = 0; i < *n_ops && (strlen(ops[i].name) != n || strncmp(ops[i].name, p, n)); i++) {
            }
            if (i == *n_ops && *n_ops < cap) {
                memcpy(ops[i].name, p, n);
                ops[i].name[n] = 0;
                ops[i].n = 0;
                (*n_ops)++;
            }
            if (i < *n_ops) ops[i].n++;
        }
        p += n;
    }
}

static int cmp_op_count(const void *a, const void *b) {
    const op_count *x = (const op_count *)a, *y = (const op_count *)b;
    if (x->n != y->n) return x->n < y->n ? 1 : -1;
    return strcmp(x->name, y->name);
}

static void report(driver *d, size_t idx, const outcome *o, tally *t, op_count *ops, size_t *n_ops) {
    char name[256];
    const char *reason;
    base_name(d->cases[idx], name, sizeof name);
    reason = expected_reason(d, name);
    if (o->cls == R_PASS && reason) {
        printf("FAIL conformance_%s (now passes: remove it from the list; it said \"%s\")\n", name, reason);
        t->passed++;
        t->now_passes++;
    } else if (o->cls == R_PASS) {
        if (*o->msg) printf("PASS conformance_%s (%s)\n", name, o->msg);
        else printf("PASS conformance_%s\n", name);
        t->passed++;
    } else if (o->cls == R_UNSUPPORTED) {
        printf("SKIP conformance_%s (unsupported-op: %s)\n", name, o->msg);
        t->unsupported++;
        count_ops(ops, n_ops, 512, o->msg);
    } else if (reason) {
        printf("SKIP conformance_%s (expected failure: %s)\n", name, reason);
        if (d->verbose) printf("  got: %s\n", o->msg);
        t->expected++;
    } else {
        printf("FAIL conformance_%s (%s)\n", name, o->msg);
        print_log(o->log ? o->log : "", 20);
        t->failed++;
    }
    if (d->verbose && o->cls != R_FAIL && o->log) print_log(o->log, 200);
    fflush(stdout);
}

static void usage(void) {
    fprintf(stderr, "usage: conformance [--expect FILE] [--models] [--verbose] [-j N] [--threads N]\n"
                    "                   [--timeout S] [--no-fork] DIR...\n");
    exit(2);
}

int main(int argc, char **argv) {
    driver d;
    tally t;
    outcome *res;
    slot *slots;
    op_count *ops;
    size_t n_ops = 0, next = 0, printed = 0, active = 0, i, supported;
    int a, n_dirs = 0;
    double t0 = now_s();
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    memset(&d, 0, sizeof d);
    memset(&t, 0, sizeof t);
    d.jobs = cpus > 0 ? (int)cpus : 1;
    d.timeout_s = -1;
    d.threads = 1;
    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--expect") && a + 1 < argc) {
            if (!load_expect(&d, argv[++a])) return 2;
        } else if (!strcmp(argv[a], "--models")) {
            d.models = 1;
        } else if (!strcmp(argv[a], "--verbose") || !strcmp(argv[a], "-v")) {
            d.verbose = 1;
        } else if (!strcmp(argv[a], "-j") && a + 1 < argc) {
            d.jobs = atoi(argv[++a]);
            if (d.jobs < 1) d.jobs = 1;
        } else if (!strcmp(argv[a], "--threads") && a + 1 < argc) {
            d.threads = atoi(argv[++a]);
            if (d.threads < 1) d.threads = 1;
        } else if (!strcmp(argv[a], "--timeout") && a + 1 < argc) {
            d.timeout_s = atof(argv[++a]);
        } else if (!strcmp(argv[a], "--no-fork")) {
            d.no_fork = 1;
        } else if (argv[a][0] == '-') {
            usage();
        } else {
            n_dirs++;
            if (!add_dir(&d, argv[a])) {
                fprintf(stderr, "conformance: %s: no model.onnx in it or in its subfolders\n", argv[a]);
                return 2;
            }
        }
    }
    if (!n_dirs) usage();
    if (d.timeout_s < 0) d.timeout_s = d.models ? 600 : 120;

    res = (outcome *)calloc(d.n_cases, sizeof *res);
    slots = (slot *)calloc((size_t)d.jobs, sizeof *slots);
    ops = (op_count *)calloc(512, sizeof *ops);
    if (!res || !slots || !ops) return 2;

    if (d.no_fork) {
        for (i = 0; i < d.n_cases; i++) {
            result r;
            double t1 = now_s();
            memset(&r, 0, sizeof r);
            run_case(&d, d.cases[i], &r);
            res[i].cls = r.cls;
            res[i].msg = xstrdup(r.msg);
            res[i].seconds = now_s() - t1;
            report(&d, i, &res[i], &t, ops, &n_ops);
        }
    } else {
        while (printed < d.n_cases) {
            struct pollfd pfd[256];
            size_t map[256], np = 0, s;
            while (active < (size_t)d.jobs && next < d.n_cases) {
                for (s = 0; s < (size_t)d.jobs && slots[s].pid; s++) {
                }
                start_case(&d, &slots[s], next++);
                active++;
            }
            for (s = 0; s < (size_t)d.jobs && np < 256; s++)
                if (slots[s].pid) {
                    pfd[np].fd = slots[s].fd;
                    pfd[np].events = POLLIN;
                    pfd[np].revents = 0;
                    map[np++] = s;
                }
            if (np && poll(pfd, (nfds_t)np, 250) < 0 && errno != EINTR) {
                perror("conformance: poll");
                return 2;
            }
            for (i = 0; i < np; i++) {
                slot *sl = &slots[map[i]];
                if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                    char chunk[65536];
                    ssize_t n = read(sl->fd, chunk, sizeof chunk);
                    if (n > 0) {
                        slot_append(sl, chunk, (size_t)n);
                    } else if (n == 0 || errno != EINTR) {
                        finish_case(&d, sl, &res[sl->idx]);
                        sl->pid = 0;
                        active--;
                    }
                }
            }
            for (s = 0; s < (size_t)d.jobs; s++)
                if (slots[s].pid && !slots[s].killed && d.timeout_s > 0 && now_s() - slots[s].start > d.timeout_s) {
                    kill(slots[s].pid, SIGKILL); /* our own child */
                    slots[s].killed = 1;
                }
            while (printed < d.n_cases && res[printed].done) {
                report(&d, printed, &res[printed], &t, ops, &n_ops);
                printed++;
            }
        }
    }

    supported = d.n_cases - t.unsupported;
    printf("  conformance: %zu cases in %.1f s: %zu passed, %zu failed, %zu expected failures, %zu unsupported-op",
           d.n_cases, now_s() - t0, t.passed - t.now_passes, t.failed + t.now_passes, t.expected, t.unsupported);
    if (t.now_passes) printf(" (%zu listed as expected failures now pass)", t.now_passes);
    printf("\n  pass rate: %zu / %zu supported = %.1f%%; %zu / %zu all = %.1f%%\n", t.passed, supported,
           supported ? 100.0 * (double)t.passed / (double)supported : 0.0, t.passed, d.n_cases,
           d.n_cases ? 100.0 * (double)t.passed / (double)d.n_cases : 0.0);
    if (n_ops) {
        qsort(ops, n_ops, sizeof *ops, cmp_op_count);
        printf("  unsupported op types (cases):");
        for (i = 0; i < n_ops; i++) printf(" %s %zu%s", ops[i].name, ops[i].n, i + 1 < n_ops ? "," : "\n");
    }
    for (i = 0, a = 0; i < d.n_expect; i++) a += !d.expect[i].seen;
    if (a) { /* a typo, or a case not in the folders given */
        printf("  note: %d expected-failure entr%s name%s no case of this run:", a, a == 1 ? "y" : "ies",
               a == 1 ? "s" : "");
        for (i = 0; i < d.n_expect && a <= 10; i++)
            if (!d.expect[i].seen) printf(" %s", d.expect[i].name);
        printf("%s\n", a > 10 ? " (a subset of the suite?)" : "");
    }
    if (d.verbose) {
        double total = 0;
        size_t slowest = 0;
        for (i = 0; i < d.n_cases; i++) {
            total += res[i].seconds;
            if (res[i].seconds > res[slowest].seconds) slowest = i;
        }
        if (d.n_cases)
            printf("  case time %.1f s in all; slowest %s %.2f s\n", total, d.cases[slowest], res[slowest].seconds);
    }
    for (i = 0; i < d.n_cases; i++) {
        free(res[i].msg);
        free(res[i].log);
    }
    for (i = 0; i < d.n_cases; i++) free(d.cases[i]);
    for (i = 0; i < d.n_expect; i++) free(d.expect[i].name), free(d.expect[i].reason);
    free(d.expect);
    free(d.cases);
    free(res);
    free(slots);
    free(ops);
    return t.failed || t.now_passes ? 1 : 0;
}
