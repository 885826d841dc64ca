/* tools/infer-bench.c - latency and throughput of a model on this machine.

   infer-bench MODEL.infer [--dim NAME=VALUE]... [--threads N] [--warmup N] [--runs N]
               [--device DEV] [--profile] [--json]

   Loads the model, creates one session (symbolic dims bound by --dim; unbound ones are 1),
   fills the inputs with fixed pseudo-random data (f32/f64 uniform in [-1, 1), other types
   zero), runs --warmup untimed runs, then --runs timed ones, and reports latency
   (min, median, p90, p99, mean), throughput (items/s, where the items are the first dim
   of the first input), load and session creation times, the arena against its lower
   bound and the peak resident memory. --json prints one JSON object whose keys carry
   their unit (median_ms, arena_bytes, items_per_s, ...). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../infer.h"
#include "cli.h"

#define BENCH_MAX_IO 64
#define BENCH_MAX_DIMS 64

static const char bench_usage[] =
    "usage: infer-bench MODEL.infer [--dim NAME=VALUE]... [--threads N] [--warmup N] [--runs N]\n"
    "                   [--device DEV] [--profile] [--json]\n"
    "\n"
    "  --dim NAME=VALUE   bind a symbolic dim (e.g. batch=8); unbound ones are 1\n"
    "  --threads N        threads (default: one per core)\n"
    "  --warmup N         untimed runs first (default 5)\n"
    "  --runs N           timed runs (default 50)\n"
    "  --device DEV       cpu (default) or cuda:N (when built with CUDA)\n"
    "  --profile          per-op-type and per-node times (needs per-node timing in infer.h)\n"
    "  --json             one JSON object; keys carry their unit (median_ms, arena_bytes, ...)\n"
    "  --help, --version\n";

typedef struct bench_options {
    const char *model_path, *device;
    infer_dim dims[BENCH_MAX_DIMS];
    size_t n_dims;
    long long n_threads, warmup, runs;
    int profile, json;
} bench_options;

static int bench_usage_error(const char *what, const char *arg) {
    fprintf(stderr, "infer-bench: %s%s%s\n(infer-bench --help shows the usage)\n", what, arg ? ": " : "", arg ? arg : "");
    return 2;
}

static int bench_parse(int argc, char **argv, bench_options *o) {
    int i;
    memset(o, 0, sizeof *o);
    o->warmup = 5;
    o->runs = 50;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        char *val;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(bench_usage, stdout);
            return -1;
        }
        if (!strcmp(a, "--version")) {
            printf("infer-bench %s\n", infer_version());
            return -1;
        }
        if (!strcmp(a, "--profile")) { o->profile = 1; continue; }
        if (!strcmp(a, "--json")) { o->json = 1; continue; }
        if (a[0] != '-') {
            if (o->model_path) return bench_usage_error("more than one model", a);
            o->model_path = a;
            continue;
        }
        if (strcmp(a, "--dim") && strcmp(a, "--threads") && strcmp(a, "--warmup") && strcmp(a, "--runs") &&
            strcmp(a, "--device"))
            return bench_usage_error("unknown option", a);
        if (i + 1 >= argc) return bench_usage_error("a value is missing after", a);
        val = argv[++i];
        if (!strcmp(a, "--dim")) {
            if (o->n_dims == BENCH_MAX_DIMS || !cli_parse_dim(val, &o->dims[o->n_dims++]))
                return bench_usage_error("--dim wants NAME=VALUE", val);
        } else if (!strcmp(a, "--threads")) {
            if (!cli_parse_int(val, 1, 4096, &o->n_threads)) return bench_usage_error("--threads wants 1..4096", val);
        } else if (!strcmp(a, "--warmup")) {
            if (!cli_parse_int(val, 0, 1000000, &o->warmup)) return bench_usage_error("--warmup wants 0..1000000", val);
        } else if (!strcmp(a, "--runs")) {
            if (!cli_parse_int(val, 1, 10000000, &o->runs)) return bench_usage_error("--runs wants 1..10000000", val);
        } else { /* --device */
            o->device = val;
        }
    }
    if (!o->model_path) return bench_usage_error("no model given", NULL);
    return 0;
}

static int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The p-th percentile (0..100) of sorted[n], nearest rank. */
static double bench_percentile(const double *sorted, size_t n, double p) {
    size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);
    return sorted[k == 0 ? 0 : k > n ? n - 1 : k - 1];
}

/* Fills a buffer of dtype with fixed pseudo-random data: floats in [-1, 1), others 0. */
static void bench_fill(void *data, infer_dtype dtype, size_t n) {
    uint64_t x = 0x9E3779B97F4A7C15ull;
    size_t i;
    memset(data, 0, n * infer_dtype_bytes(dtype));
    for (i = 0; i < n && (dtype == INFER_DTYPE_F32 || dtype == INFER_DTYPE_F64); i++) {
        double v;
        x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
        v = (double)((x * 2685821657736338717ull) >> 11) / 9007199254740992.0 * 2.0 - 1.0;
        if (dtype == INFER_DTYPE_F32) ((float *)data)[i] = (float)v;
        else ((double *)data)[i] = v;
    }
}

int main(int argc, char **argv) {
    bench_options o;
    infer_model *m = NULL;
    infer_session *s = NULL;
    infer_session_options so;
    infer_session_stats st;
    infer_tensor in[BENCH_MAX_IO], out[BENCH_MAX_IO];
    infer_tensor_info info;
    size_t n_in = 0, n_out = 0, i, k;
    double t, load_ms, create_ms, *lat = NULL, total = 0, mean, items = 1;
    char b1[64], b2[64];
    int rc = bench_parse(argc, argv, &o), d;
    if (rc) return rc < 0 ? 0 : rc;
    memset(in, 0, sizeof in);
    memset(out, 0, sizeof out);
    rc = 1;
    t = cli_now();
    if (infer_model_load(o.model_path, NULL, &m) != INFER_STATUS_OK) {
        fprintf(stderr, "infer-bench: %s\n", infer_last_error());
        goto done;
    }
    load_ms = (cli_now() - t) * 1e3;
    n_in = infer_model_n_inputs(m);
    n_out = infer_model_n_outputs(m);
    if (n_in > BENCH_MAX_IO || n_out > BENCH_MAX_IO) {
        fprintf(stderr, "infer-bench: %s: more than %d inputs or outputs\n", o.model_path, BENCH_MAX_IO);
        goto done;
    }
    for (i = 0; i < n_in; i++) { /* symbolic dims not given default to 1 */
        infer_model_input(m, i, &info);
        for (d = 0; d < info.n_dims; d++) {
            if (!info.dim_names[d]) continue;
            for (k = 0; k < o.n_dims && strcmp(o.dims[k].name, info.dim_names[d]) != 0; k++) {}
            if (k == o.n_dims && o.n_dims < BENCH_MAX_DIMS) {
                o.dims[o.n_dims].name = info.dim_names[d];
                o.dims[o.n_dims++].value = 1;
            }
        }
    }
    memset(&so, 0, sizeof so);
    so.n_threads = (int)o.n_threads;
    so.device = o.device;
    so.dims = o.dims;
    so.n_dims = o.n_dims;
    t = cli_now();
    if (infer_session_create(m, &so, &s) != INFER_STATUS_OK) {
        fprintf(stderr, "infer-bench: %s\n", infer_last_error());
        goto done;
    }
    create_ms = (cli_now() - t) * 1e3;
    for (k = 0; k < n_in + n_out; k++) {
        infer_tensor *x = k < n_in ? &in[k] : &out[k - n_in];
        size_t n = 1;
        if (k < n_in) infer_session_input(s, k, &info);
        else infer_session_output(s, k - n_in, &info);
        for (d = 0; d < info.n_dims; d++) n *= (size_t)info.dims[d];
        x->name = info.name;
        x->dtype = info.dtype;
        x->n_dims = info.n_dims;
        memcpy(x->dims, info.dims, sizeof x->dims);
        x->data_bytes = n * infer_dtype_bytes(info.dtype);
        if (!(x->data = malloc(x->data_bytes ? x->data_bytes : 1))) {
            fprintf(stderr, "infer-bench: out of memory\n");
            goto done;
        }
        if (k < n_in) bench_fill(x->data, info.dtype, n);
        if (k == 0 && info.n_dims > 0) items = (double)info.dims[0];
    }
    if (!(lat = (double *)malloc((size_t)o.runs * sizeof *lat))) goto done;
    for (i = 0; i < (size_t)(o.warmup + o.runs); i++) {
        t = cli_now();
        if (infer_run(s, in, n_in, out, n_out) != INFER_STATUS_OK) {
            fprintf(stderr, "infer-bench: run: %s\n", infer_session_error(s));
            goto done;
        }
        if (i >= (size_t)o.warmup) lat[i - (size_t)o.warmup] = (cli_now() - t) * 1e3;
    }
    for (i = 0; i < (size_t)o.runs; i++) total += lat[i];
    mean = total / (double)o.runs;
    qsort(lat, (size_t)o.runs, sizeof *lat, bench_cmp_double);
    infer_session_get_stats(s, &st);
    if (o.profile)
        fprintf(stderr, "infer-bench: --profile: per-node times are not available from this version of infer.h; "
                        "the rest follows\n");
    if (o.json) {
        printf("{\"model\": \"");
        for (i = 0; o.model_path[i]; i++) /* a path as a JSON string */
            printf(o.model_path[i] == '"' || o.model_path[i] == '\\' ? "\\%c" : (unsigned char)o.model_path[i] < 0x20 ? "?" : "%c",
                   o.model_path[i]);
        printf("\", \"threads\": %d, \"warmup\": %lld, \"runs\": %lld, \"batch_items\": %.0f, ", st.n_threads, o.warmup,
               o.runs, items);
        printf("\"load_ms\": %.3f, \"session_create_ms\": %.3f, ", load_ms, create_ms);
        printf("\"min_ms\": %.4f, \"median_ms\": %.4f, \"p90_ms\": %.4f, \"p99_ms\": %.4f, \"mean_ms\": %.4f, "
               "\"max_ms\": %.4f, ", lat[0], bench_percentile(lat, (size_t)o.runs, 50), bench_percentile(lat, (size_t)o.runs, 90),
               bench_percentile(lat, (size_t)o.runs, 99), mean, lat[o.runs - 1]);
        printf("\"items_per_s\": %.1f, \"runs_per_s\": %.1f, ", items * 1e3 / mean, 1e3 / mean);
        printf("\"arena_bytes\": %zu, \"arena_lower_bound_bytes\": %zu, \"constant_bytes\": %zu, \"n_nodes\": %zu, "
               "\"n_steps\": %zu, \"peak_rss_bytes\": %zu}\n", st.arena_bytes, st.arena_lower_bound_bytes,
               st.constant_bytes, st.n_nodes, st.n_steps, cli_peak_rss_bytes());
    } else {
        printf("model              %s\n", o.model_path);
        printf("dims              ");
        for (k = 0; k < o.n_dims; k++) printf(" %s=%lld", o.dims[k].name, (long long)o.dims[k].value);
        printf("%s\n", o.n_dims ? "" : " (none symbolic)");
        printf("threads            %d\n", st.n_threads);
        printf("load               %.3f ms\n", load_ms);
        printf("session create     %.3f ms\n", create_ms);
        printf("latency            min %.4f  median %.4f  p90 %.4f  p99 %.4f  mean %.4f ms (%lld runs, %lld warm-up)\n",
               lat[0], bench_percentile(lat, (size_t)o.runs, 50), bench_percentile(lat, (size_t)o.runs, 90),
               bench_percentile(lat, (size_t)o.runs, 99), mean, o.runs, o.warmup);
        printf("throughput         %.1f items/s (%.0f items per run), %.1f runs/s\n", items * 1e3 / mean, items, 1e3 / mean);
        printf("arena              %s, lower bound %s (ratio %.3f)\n", cli_format_bytes((double)st.arena_bytes, b1, sizeof b1),
               cli_format_bytes((double)st.arena_lower_bound_bytes, b2, sizeof b2),
               st.arena_lower_bound_bytes ? (double)st.arena_bytes / (double)st.arena_lower_bound_bytes : 1.0);
        printf("folded constants   %s\n", cli_format_bytes((double)st.constant_bytes, b1, sizeof b1));
        printf("nodes              %zu (%zu run per call)\n", st.n_nodes, st.n_steps);
        printf("peak RSS           %s\n", cli_format_bytes((double)cli_peak_rss_bytes(), b1, sizeof b1));
    }
    rc = 0;
done:
    for (k = 0; k < BENCH_MAX_IO; k++) {
        free(in[k].data);
        free(out[k].data);
    }
    free(lat);
    infer_session_free(s);
    infer_model_free(m);
    return rc;
}
