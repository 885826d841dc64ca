/* tools/bench/embed_check.c - is infer a good guest in a host application? (issue 10)

   usage: embed_check MODEL.infer [SECONDS]     (make embed-check runs it on the digits model)

   (a) idle: runs the model at 6 Hz for SECONDS (default 10), with 2 threads and with 1,
       and reports the process CPU time over the whole period divided by the CPU time
       spent inside infer_run (1.0: no CPU is used between runs; a worker that keeps
       spinning after a run pushes it up).
   (b) memory: 100,000 runs cycling through 5 batch sizes on one session
       (infer_session_set_dims before each run); resident memory after a warm-up of 1,000
       runs and at the end.
   (c) cancel: another thread calls infer_session_cancel 40% into a long run (a large
       batch; 40% of a warm run's time, so the cancel lands inside the run however fast
       it is); the time from the cancel to infer_run's return, the worst of 5, next to
       the slowest single node of that run (profiled).
   The last line is the summary: idle_overhead=X rss_growth_kb=Y cancel_ms=Z, and the
   exit status is 1 when a bound is missed (idle_overhead <= 1.10 at 1 and 2 threads,
   rss_growth_kb <= 1024, cancel_ms < slowest node + 5 ms).

   Built with -DEMBED_IDLE_ONLY it measures (a) alone with the API of before issue 10, so
   it also builds against an older infer.h (e.g. the OpenMP thread team). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../infer.h"

#define RATE_HZ 6
#ifndef IDLE_BATCH
#define IDLE_BATCH 16 /* (a)'s batch; -DIDLE_BATCH=1 for shorter runs */
#endif
#define CANCEL_BATCH 2048

static infer_model *model;
static infer_tensor_info in_info, out_info;
static float *xbuf, *ybuf;
static size_t in_per_item = 1, out_per_item = 1; /* elements per batch item */

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
static double wall_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
static long rss_kb(void) { /* resident now (not the peak) */
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
    fclose(f);
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* input 0's dims with every symbolic dim (the batch) set to `batch` */
static infer_session *make_session(int threads, int batch, int profile) {
    infer_session_options o;
    infer_dim dims[INFER_MAX_DIMS];
    infer_session *s = NULL;
    int d, n = 0;
    memset(&o, 0, sizeof o);
    for (d = 0; d < in_info.n_dims; d++)
        if (in_info.dim_names[d]) dims[n].name = in_info.dim_names[d], dims[n++].value = batch;
    o.n_threads = threads;
    o.dims = dims;
    o.n_dims = (size_t)n;
    o.profile = profile;
    if (infer_session_create(model, &o, &s) != INFER_STATUS_OK) {
        fprintf(stderr, "embed_check: %s\n", infer_last_error());
        exit(1);
    }
    return s;
}

static infer_status run(infer_session *s, int batch) {
    infer_tensor in, out;
    int d;
    memset(&in, 0, sizeof in);
    memset(&out, 0, sizeof out);
    in.name = in_info.name;
    in.dtype = INFER_DTYPE_F32;
    in.n_dims = in_info.n_dims;
    for (d = 0; d < in_info.n_dims; d++) in.dims[d] = in_info.dim_names[d] ? batch : in_info.dims[d];
    in.data = xbuf;
    in.data_bytes = (size_t)batch * in_per_item * sizeof(float);
    out.name = out_info.name;
    out.data = ybuf;
    out.data_bytes = (size_t)batch * out_per_item * sizeof(float);
    return infer_run(s, &in, 1, &out, 1);
}

/* (a): process CPU over the period / CPU inside infer_run */
static double idle_overhead(int threads, double seconds) {
    infer_session *s = make_session(threads, IDLE_BATCH, 0);
    double inside = 0, c0, next, t_end, ms_per_run = 0;
    struct timespec ts;
    int n = 0;
    run(s, IDLE_BATCH); /* warm-up, not counted */
    c0 = cpu_s();
    next = wall_s();
    t_end = next + seconds;
    while (next < t_end) {
        double a = cpu_s(), w = wall_s();
        if (run(s, IDLE_BATCH) != INFER_STATUS_OK) {
            fprintf(stderr, "embed_check: %s\n", infer_session_error(s));
            exit(1);
        }
        inside += cpu_s() - a;
        ms_per_run += (wall_s() - w) * 1e3;
        n++;
        next += 1.0 / RATE_HZ;
        ts.tv_sec = (time_t)next;
        ts.tv_nsec = (long)((next - (double)ts.tv_sec) * 1e9);
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
    c0 = cpu_s() - c0;
    printf("(a) %d thread%s, batch %d at %d Hz for %.0f s: %d runs of %.2f ms; CPU %.1f ms in runs, %.1f ms in all: "
           "idle_overhead %.3f\n",
           threads, threads == 1 ? "" : "s", IDLE_BATCH, RATE_HZ, seconds, n, ms_per_run / n, inside * 1e3, c0 * 1e3,
           c0 / inside);
    infer_session_free(s);
    return c0 / inside;
}

#ifndef EMBED_IDLE_ONLY
/* (b): RSS growth over 100,000 runs cycling 5 shapes on one session */
static long rss_growth(void) {
    static const int batches[5] = {1, 4, 2, 5, 3};
    infer_session *s = make_session(2, 1, 0);
    infer_session_stats st;
    long warm = 0, end;
    int r;
    double t0 = wall_s();
    for (r = 0; r < 100000; r++) {
        int b = batches[r % 5], k, n = 0;
        infer_dim d[INFER_MAX_DIMS];
        for (k = 0; k < in_info.n_dims; k++)
            if (in_info.dim_names[k]) d[n].name = in_info.dim_names[k], d[n++].value = b;
        if (infer_session_set_dims(s, d, (size_t)n) != INFER_STATUS_OK || run(s, b) != INFER_STATUS_OK) {
            fprintf(stderr, "embed_check: %s\n", infer_session_error(s));
            exit(1);
        }
        if (r == 999) warm = rss_kb();
    }
    end = rss_kb();
    infer_session_get_stats(s, &st);
    printf("(b) 100000 runs cycling batch 1, 4, 2, 5, 3 (set_dims before each) in %.1f s: RSS %ld KiB after 1000 runs, "
           "%ld KiB at the end; arena %zu bytes, %zu plans kept\n",
           wall_s() - t0, warm, end, st.arena_capacity_bytes, st.n_plans);
    infer_session_free(s);
    return end - warm;
}

typedef struct {
    infer_session *s;
    double after_s; /* how long into the run */
    double at;
} canceller;
static void *cancel_later(void *arg) {
    canceller *c = (canceller *)arg;
    struct timespec ts;
    ts.tv_sec = (time_t)c->after_s;
    ts.tv_nsec = (long)((c->after_s - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
    c->at = wall_s();
    infer_session_cancel(c->s);
    return NULL;
}

/* (c): worst latency from infer_session_cancel to infer_run's return; *slowest: the
   slowest node of one full run, in ms */
static double cancel_latency(double *slowest) {
    infer_session *s = make_session(2, CANCEL_BATCH, 1);
    infer_node_info ni;
    double worst = 0, full;
    size_t i, n = 0;
    infer_model_stats ms;
    int k;
    run(s, CANCEL_BATCH); /* warm-up: the timed run below finds packed weights and awake threads */
    full = wall_s();
    run(s, CANCEL_BATCH);
    full = wall_s() - full;
    infer_model_get_stats(model, &ms);
    *slowest = 0;
    for (i = 0; i < ms.n_nodes; i++)
        if (infer_session_node(s, i, &ni) == INFER_STATUS_OK && ni.n_runs && ni.total_ms / (double)ni.n_runs > *slowest)
            *slowest = ni.total_ms / (double)ni.n_runs, n = i; /* a run's share (two runs so far) */
    infer_session_node(s, n, &ni);
    for (k = 0; k < 5; k++) {
        canceller c;
        pthread_t t;
        infer_status st;
        double back;
        c.s = s;
        c.after_s = 0.4 * full;
        pthread_create(&t, NULL, cancel_later, &c);
        st = run(s, CANCEL_BATCH);
        back = wall_s();
        pthread_join(t, NULL);
        if (st != INFER_STATUS_CANCELLED) {
            printf("(c) trial %d: the run was not cancelled (%s)\n", k, infer_status_name(st));
            worst = 1e9;
            continue;
        }
        if ((back - c.at) * 1e3 > worst) worst = (back - c.at) * 1e3;
    }
    if (run(s, CANCEL_BATCH) != INFER_STATUS_OK) {
        printf("(c) the session failed after a cancel: %s\n", infer_session_error(s));
        worst = 1e9;
    }
    printf("(c) batch %d, 2 threads: a full run takes %.1f ms, its slowest node '%s' (%s) %.1f ms; cancel %.1f ms in, "
           "worst of 5: %.3f ms from infer_session_cancel to the return\n",
           CANCEL_BATCH, full * 1e3, ni.name, ni.op_type, *slowest, 0.4 * full * 1e3, worst);
    infer_session_free(s);
    return worst;
}
#endif

int main(int argc, char **argv) {
    double seconds = 10, idle2, idle1;
    size_t d;
    int ok;
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress shows through a pipe too */
    if (argc < 2 || argc > 3 || (argc == 3 && (seconds = atof(argv[2])) <= 0)) {
        fprintf(stderr, "usage: embed_check MODEL.infer [SECONDS]\n");
        return 2;
    }
    if (infer_model_load(argv[1], NULL, &model) != INFER_STATUS_OK || infer_model_input(model, 0, &in_info) ||
        infer_model_output(model, 0, &out_info)) {
        fprintf(stderr, "embed_check: %s\n", infer_last_error());
        return 1;
    }
    for (d = 0; d < (size_t)in_info.n_dims; d++)
        if (!in_info.dim_names[d]) in_per_item *= (size_t)in_info.dims[d];
    { /* output elements per item: from a batch-1 session */
        infer_session *s = make_session(1, 1, 0);
        infer_tensor_info oi;
        infer_session_output(s, 0, &oi);
        for (d = 0; d < (size_t)oi.n_dims; d++) out_per_item *= (size_t)oi.dims[d];
        infer_session_free(s);
    }
    xbuf = (float *)calloc((size_t)CANCEL_BATCH * in_per_item, sizeof(float));
    ybuf = (float *)calloc((size_t)CANCEL_BATCH * out_per_item, sizeof(float));
    if (!xbuf || !ybuf) return 1;
    for (d = 0; d < (size_t)CANCEL_BATCH * in_per_item; d++) xbuf[d] = (float)((d * 7919) % 17) / 16.0f;
    idle2 = idle_overhead(2, seconds);
    idle1 = idle_overhead(1, seconds);
    ok = idle2 <= 1.10 && idle1 <= 1.10;
#ifndef EMBED_IDLE_ONLY
    {
        double slowest, cancel;
        long growth = rss_growth();
        cancel = cancel_latency(&slowest);
        ok = ok && growth <= 1024 && cancel < slowest + 5;
        printf("idle_overhead_1thread=%.3f bounds: idle_overhead <= 1.10, rss_growth_kb <= 1024, cancel_ms < %.1f: %s\n",
               idle1, slowest + 5, ok ? "met" : "MISSED");
        printf("idle_overhead=%.3f rss_growth_kb=%ld cancel_ms=%.3f\n", idle2, growth, cancel);
    }
#else
    printf("idle_overhead=%.3f idle_overhead_1thread=%.3f\n", idle2, idle1);
#endif
    infer_model_free(model);
    free(xbuf);
    free(ybuf);
    return ok ? 0 : 1;
}
