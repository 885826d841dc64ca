/* tools/infer-bench.c - latency and throughput of a model on this machine.

   infer-bench MODEL.infer [--dim NAME=VALUE]... [--threads N] [--warmup N] [--runs N]
               [--device DEV] [--precision P] [--tp N|mpi] [--verbose] [--profile] [--json]

   Loads the model, creates one session (symbolic dims bound by --dim; unbound ones are 1),
   fills the inputs with fixed pseudo-random data (f32/f64 uniform in [-1, 1), other types
   zero), runs --warmup untimed runs, then --runs timed ones, and reports latency
   (min, median, p90, p99, mean), throughput (items/s, where the items are the first dim
   of the first input), load and session creation times, the arena against its lower
   bound and the peak resident memory. --profile adds the time per op type and per node
   (averaged over the timed runs; sorted, with % of the sum of node times).
   --json prints one JSON object whose keys carry their unit (median_ms, arena_bytes,
   items_per_s, ...; with --profile a "profile" member with ms_per_run and percent). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../infer.h"
#include "cli.h"
#ifdef INFER_WITH_CUDA
#include "../backends/cuda/infer_cuda.h"
#endif
#ifdef INFER_TOOLS_MPI /* make mpi: --tp mpi */
#include "../backends/mpi/infer_mpi.h"
#endif

#define BENCH_MAX_IO 64
#define BENCH_MAX_DIMS 64

static const char bench_usage[] =
    "usage: infer-bench MODEL.infer [--dim NAME=VALUE]... [--threads N] [--warmup N] [--runs N]\n"
    "                   [--device DEV] [--precision P] [--tp N|mpi] [--verbose] [--profile] [--json]\n"
    "\n"
    "  --dim NAME=VALUE   bind a symbolic dim (e.g. batch=8); unbound ones are 1\n"
    "  --threads N        threads (default: one per core)\n"
    "  --warmup N         untimed runs first (default 5)\n"
    "  --runs N           timed runs (default 50)\n"
    "  --device DEV       cpu (default), or a registered device: cuda or cuda:N (when built with CUDA)\n"
    "  --precision P      f32 (default), tf32, f16 or bf16: what a device may round matrix products'\n"
    "                     inputs to (tensor cores); sums and tensors stay f32. The CPU ignores it\n"
    "  --tp N             tensor parallelism over N devices in this process (--threads is per device):\n"
    "                     CPU ones, or with --device cuda:K the GPUs K, K+1, ... (modulo their count)\n"
    "  --tp mpi           one device per MPI rank: mpirun -np N build/mpi/infer-bench ... (make mpi)\n"
    "  --verbose          print the tensor-parallel plan (what was split, bytes per collective), and on a\n"
    "                     device the nodes that fall back to the CPU\n"
    "  --profile          time per op type and per node, sorted, with % of the total (and each node's device)\n"
    "  --json             one JSON object; keys carry their unit (median_ms, arena_bytes, ...)\n"
    "  --help, --version\n";

typedef struct bench_options {
    const char *model_path, *device;
    infer_dim dims[BENCH_MAX_DIMS];
    size_t n_dims;
    long long n_threads, warmup, runs;
    int profile, json, verbose, precision;
    long long tp;  /* 0: one device; -1: MPI */
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
        if (!strcmp(a, "--verbose")) { o->verbose = 1; continue; }
        if (a[0] != '-') {
            if (o->model_path) return bench_usage_error("more than one model", a);
            o->model_path = a;
            continue;
        }
        if (strcmp(a, "--dim") && strcmp(a, "--threads") && strcmp(a, "--warmup") && strcmp(a, "--runs") &&
            strcmp(a, "--device") && strcmp(a, "--tp") && strcmp(a, "--precision"))
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
        } else if (!strcmp(a, "--tp")) {
            if (!strcmp(val, "mpi")) o->tp = -1;
            else if (!cli_parse_int(val, 1, 64, &o->tp)) return bench_usage_error("--tp wants 1..64 or mpi", val);
        } else if (!strcmp(a, "--precision")) {
            if (!cli_parse_precision(val, &o->precision))
                return bench_usage_error("--precision wants f32, tf32, f16 or bf16", val);
        } else { /* --device */
            o->device = val;
        }
    }
    if (!o->model_path) return bench_usage_error("no model given", NULL);
    return 0;
}

/* A string as a JSON string literal. */
static void bench_json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20) printf("\\u%04x", (unsigned char)*s);
        else putchar(*s);
    }
    putchar('"');
}

/* -- --profile: time per node and per op type, from infer_session_node -- */

typedef struct bench_row {
    const char *name, *op, *kernel, *device;
    double ms;      /* per run */
    size_t n_nodes; /* op rows: nodes of this type */
} bench_row;

static int bench_cmp_row(const void *a, const void *b) {
    double x = ((const bench_row *)a)->ms, y = ((const bench_row *)b)->ms;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* on_device: a session on a registered device; the node table then names each node's device */
static void bench_rows(const char *title, const bench_row *rows, size_t n, double total, int json, int is_op,
                       int on_device) {
    size_t i;
    if (json) {
        printf("%s\"%s\": [", is_op ? "" : ", ", title);
        for (i = 0; i < n; i++) {
            printf("%s{", i ? ", " : "");
            if (!is_op) {
                printf("\"name\": ");
                bench_json_str(rows[i].name);
                printf(", \"kernel\": ");
                bench_json_str(rows[i].kernel ? rows[i].kernel : "");
                printf(", \"device\": ");
                bench_json_str(rows[i].device ? rows[i].device : "");
                printf(", ");
            }
            printf("\"op\": ");
            bench_json_str(rows[i].op);
            printf(", \"ms_per_run\": %.5f, \"percent\": %.2f", rows[i].ms, total > 0 ? 100.0 * rows[i].ms / total : 0.0);
            if (is_op) printf(", \"nodes\": %zu", rows[i].n_nodes);
            printf("}");
        }
        printf("]");
        return;
    }
    if (is_op) printf("\n%-20s %6s %10s %7s\n", title, "nodes", "ms/run", "%");
    else printf("\n%-40s %-20s %-8s %10s %7s%s\n", title, "op", "kernel", "ms/run", "%", on_device ? "  device" : "");
    for (i = 0; i < n; i++) {
        double pct = total > 0 ? 100.0 * rows[i].ms / total : 0.0;
        if (is_op) printf("%-20s %6zu %10.4f %6.1f%%\n", rows[i].op, rows[i].n_nodes, rows[i].ms, pct);
        else printf("%-40s %-20s %-8s %10.4f %6.1f%%%s%s\n", rows[i].name, rows[i].op, rows[i].kernel ? rows[i].kernel : "",
                    rows[i].ms, pct, on_device ? "  " : "", on_device && rows[i].device ? rows[i].device : "");
    }
}

/* Each node's time so far (the warm-up runs), to leave out of the profile. */
static double *bench_profile_mark(const infer_session *s, uint64_t **n_runs) {
    infer_session_stats st;
    infer_node_info ni;
    double *ms;
    size_t i;
    infer_session_get_stats(s, &st);
    ms = (double *)calloc(st.n_nodes + 1, sizeof *ms);
    *n_runs = (uint64_t *)calloc(st.n_nodes + 1, sizeof **n_runs);
    for (i = 0; ms && *n_runs && i < st.n_nodes; i++)
        if (infer_session_node(s, i, &ni) == INFER_STATUS_OK) ms[i] = ni.total_ms, (*n_runs)[i] = ni.n_runs;
    return ms;
}

/* Prints the per-op-type and per-node tables (text, or the "profile" JSON member) of the
   runs since bench_profile_mark gave mark_ms and mark_runs. */
static int bench_profile(const infer_session *s, const double *mark_ms, const uint64_t *mark_runs, int json) {
    infer_session_stats st;
    infer_node_info ni;
    bench_row *nodes, *ops;
    size_t i, k, n_nodes = 0, n_ops = 0;
    double total = 0;
    infer_session_get_stats(s, &st);
    nodes = (bench_row *)calloc(st.n_nodes + 1, sizeof *nodes);
    ops = (bench_row *)calloc(st.n_nodes + 1, sizeof *ops);
    if (!nodes || !ops) {
        free(nodes);
        free(ops);
        return 0;
    }
    for (i = 0; i < st.n_nodes; i++) {
        if (infer_session_node(s, i, &ni) != INFER_STATUS_OK || !ni.runs || ni.n_runs <= mark_runs[i]) continue;
        nodes[n_nodes].name = ni.name;
        nodes[n_nodes].op = ni.op_type;
        nodes[n_nodes].kernel = ni.kernel;
        nodes[n_nodes].device = ni.device;
        nodes[n_nodes].ms = (ni.total_ms - mark_ms[i]) / (double)(ni.n_runs - mark_runs[i]);
        total += nodes[n_nodes].ms;
        for (k = 0; k < n_ops && strcmp(ops[k].op, ni.op_type) != 0; k++) {}
        if (k == n_ops) ops[n_ops++].op = ni.op_type;
        ops[k].ms += nodes[n_nodes].ms;
        ops[k].n_nodes++;
        n_nodes++;
    }
    qsort(nodes, n_nodes, sizeof *nodes, bench_cmp_row);
    qsort(ops, n_ops, sizeof *ops, bench_cmp_row);
    if (json) printf(", \"profile\": {\"total_ms_per_run\": %.5f, ", total);
    else printf("\nprofile            %.4f ms per run in %zu nodes (the sum of node times)", total, n_nodes);
    bench_rows(json ? "ops" : "op type", ops, n_ops, total, json, 1, 0);
    bench_rows(json ? "nodes" : "node", nodes, n_nodes, total, json, 0, st.n_device_nodes + st.n_fallback_nodes > 0);
    if (json) printf("}");
    free(nodes);
    free(ops);
    return 1;
}

/* The nodes of a device session that run on the CPU because the backend lacks them. */
static void bench_fallbacks(const infer_session *s, size_t n_nodes) {
    infer_node_info ni;
    size_t i;
    for (i = 0; i < n_nodes; i++)
        if (infer_session_node(s, i, &ni) == INFER_STATUS_OK && ni.device && !strcmp(ni.device, "cpu (fallback)"))
            printf("  on the CPU       %s (%s)\n", ni.name, ni.op_type);
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
    double t, load_ms, create_ms, *lat = NULL, total = 0, mean, items = 1, *mark_ms = NULL;
    uint64_t *mark_runs = NULL;
    char b1[64], b2[64];
    int rc = bench_parse(argc, argv, &o), d;
    infer_tp_stats tps, tp0; /* tp0: after the warm-up runs */
#ifdef INFER_TOOLS_MPI
    infer_comm comm;
    int mpi_on = 0;
#endif
    if (rc) return rc < 0 ? 0 : rc;
#ifdef INFER_WITH_CUDA
    if (infer_cuda_register() != INFER_STATUS_OK) {
        fprintf(stderr, "infer-bench: cannot register the CUDA backend: %s\n", infer_last_error());
        return 1;
    }
#endif
    memset(&tps, 0, sizeof tps);
    memset(&tp0, 0, sizeof tp0);
#ifdef INFER_TOOLS_MPI
    memset(&comm, 0, sizeof comm);
    if (o.tp < 0) {
        MPI_Init(&argc, &argv);
        mpi_on = 1;
        if (infer_mpi_comm_create(MPI_COMM_WORLD, &comm) != INFER_STATUS_OK) {
            fprintf(stderr, "infer-bench: cannot make the MPI communicator\n");
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        if (comm.rank != 0 && !freopen("/dev/null", "w", stdout)) MPI_Abort(MPI_COMM_WORLD, 1); /* rank 0 reports */
    }
#else
    if (o.tp < 0) {
        fprintf(stderr, "infer-bench: --tp mpi needs the MPI build: make mpi, then mpirun -np N build/mpi/infer-bench ...\n");
        return 2;
    }
#endif
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
    so.profile = o.profile;
    so.n_threads = (int)o.n_threads;
    so.device = o.device;
    so.precision = o.precision;
    cli_log_install(&so);
    so.tp = o.tp > 0 ? (int)o.tp : 0;
#ifdef INFER_TOOLS_MPI
    if (mpi_on) so.comm = &comm;
#endif
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
        if (o.profile && i + 1 == (size_t)o.warmup) mark_ms = bench_profile_mark(s, &mark_runs);
        if ((o.tp < 0 || o.tp > 1) && i + 1 == (size_t)o.warmup) infer_session_get_tp_stats(s, &tp0);
    }
    if (o.profile && !o.warmup) mark_ms = bench_profile_mark(s, &mark_runs);
    if (o.profile && (!mark_ms || !mark_runs)) {
        fprintf(stderr, "infer-bench: out of memory\n");
        goto done;
    }
    for (i = 0; i < (size_t)o.runs; i++) total += lat[i];
    mean = total / (double)o.runs;
    qsort(lat, (size_t)o.runs, sizeof *lat, bench_cmp_double);
    infer_session_get_stats(s, &st);
    infer_session_get_tp_stats(s, &tps);
    tps.comm_ms -= tp0.comm_ms; /* the timed runs only */
    tps.n_runs -= tp0.n_runs;
    if (o.verbose && !o.json) printf("%s", infer_session_tp_plan(s));
    if (o.json) {
        printf("{\"model\": ");
        bench_json_str(o.model_path);
        printf(", \"threads\": %d, \"warmup\": %lld, \"runs\": %lld, \"batch_items\": %.0f, ", st.n_threads, o.warmup,
               o.runs, items);
        printf("\"load_ms\": %.3f, \"session_create_ms\": %.3f, ", load_ms, create_ms);
        printf("\"min_ms\": %.4f, \"median_ms\": %.4f, \"p90_ms\": %.4f, \"p99_ms\": %.4f, \"mean_ms\": %.4f, "
               "\"max_ms\": %.4f, ", lat[0], bench_percentile(lat, (size_t)o.runs, 50), bench_percentile(lat, (size_t)o.runs, 90),
               bench_percentile(lat, (size_t)o.runs, 99), mean, lat[o.runs - 1]);
        printf("\"items_per_s\": %.1f, \"runs_per_s\": %.1f, ", items * 1e3 / mean, 1e3 / mean);
        printf("\"arena_bytes\": %zu, \"arena_lower_bound_bytes\": %zu, \"constant_bytes\": %zu, \"n_nodes\": %zu, "
               "\"n_steps\": %zu, \"peak_rss_bytes\": %zu", st.arena_bytes, st.arena_lower_bound_bytes,
               st.constant_bytes, st.n_nodes, st.n_steps, cli_peak_rss_bytes());
        if (o.tp)
            printf(", \"tp_devices\": %d, \"weight_bytes\": %zu, \"device_weight_bytes\": %zu, \"split_weight_bytes\": %zu, "
                   "\"replicated_weight_bytes\": %zu, \"device_arena_bytes\": %zu, \"comm_bytes_per_run\": %zu, "
                   "\"comm_ms_per_run\": %.4f, \"comm_share\": %.4f, \"n_split\": %d, \"n_attention_split\": %d, "
                   "\"n_allreduce\": %d, \"n_allgather\": %d, \"device_collectives\": %d",
                   tps.n_devices, tps.weight_bytes, tps.device_weight_bytes, tps.split_weight_bytes,
                   tps.replicated_weight_bytes, tps.device_arena_bytes, tps.comm_bytes,
                   tps.n_runs ? tps.comm_ms / (double)tps.n_runs : 0.0,
                   tps.n_runs && total > 0 ? tps.comm_ms / (double)tps.n_runs / mean : 0.0, tps.n_split,
                   tps.n_attention_split, tps.n_allreduce, tps.n_allgather, tps.device_collectives);
        if (st.n_device_nodes + st.n_fallback_nodes) {
            printf(", \"device\": ");
            bench_json_str(o.device);
            printf(", \"n_device_nodes\": %zu, \"n_fallback_nodes\": %zu, \"copy_bytes_per_run\": %zu",
                   st.n_device_nodes, st.n_fallback_nodes, st.copy_bytes_per_run);
        }
        if (o.profile) bench_profile(s, mark_ms, mark_runs, 1);
        printf("}\n");
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
        if (st.n_device_nodes + st.n_fallback_nodes) {
            printf("device             %s: %zu nodes on the device, %zu fall back to the CPU, %s copied per run\n",
                   o.device, st.n_device_nodes, st.n_fallback_nodes,
                   cli_format_bytes((double)st.copy_bytes_per_run, b1, sizeof b1));
            if (o.verbose || o.profile) bench_fallbacks(s, st.n_nodes);
        }
        if (tps.n_devices > 1) {
            double cms = tps.n_runs ? tps.comm_ms / (double)tps.n_runs : 0;
            printf("tensor parallel    %d devices (%s), %d layers split, %d attention blocks by heads\n", tps.n_devices,
                   o.tp < 0 ? "MPI ranks" : "in-process", tps.n_split, tps.n_attention_split);
            printf("weights per device %s", cli_format_bytes((double)tps.device_weight_bytes, b1, sizeof b1));
            printf(" of %s (split layers %s, replicated", cli_format_bytes((double)tps.weight_bytes, b2, sizeof b2),
                   cli_format_bytes((double)tps.split_weight_bytes, b1, sizeof b1));
            printf(" %s)\n", cli_format_bytes((double)tps.replicated_weight_bytes, b1, sizeof b1));
            printf("arena per device   %s\n", cli_format_bytes((double)tps.device_arena_bytes, b1, sizeof b1));
            if (tps.device_collectives) /* enqueued on the devices' streams: no host time to count */
                printf("communication      %s per run (%d all-reduce, %d all-gather) on the devices (not timed apart)\n",
                       cli_format_bytes((double)tps.comm_bytes, b1, sizeof b1), tps.n_allreduce, tps.n_allgather);
            else
                printf("communication      %s per run (%d all-reduce, %d all-gather), %.4f ms per run = %.1f%% of the mean latency\n",
                       cli_format_bytes((double)tps.comm_bytes, b1, sizeof b1), tps.n_allreduce, tps.n_allgather, cms,
                       mean > 0 ? 100 * cms / mean : 0.0);
        }
        if (o.profile) bench_profile(s, mark_ms, mark_runs, 0);
    }
    rc = 0;
done:
    for (k = 0; k < BENCH_MAX_IO; k++) {
        free(in[k].data);
        free(out[k].data);
    }
    free(lat);
    free(mark_ms);
    free(mark_runs);
    infer_session_free(s);
    infer_model_free(m);
#ifdef INFER_TOOLS_MPI
    if (mpi_on) {
        infer_mpi_comm_free(&comm);
        MPI_Finalize();
    }
#endif
    return rc;
}
