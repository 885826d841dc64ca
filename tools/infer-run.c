/* tools/infer-run.c - run a model over a data set: .npy files (or images) in, .npy files out.

   infer-run MODEL.infer --input NAME=PATH.npy [--input NAME2=PATH2.npy ...] -o OUTDIR
   infer-run MODEL.infer PATH... -o OUTDIR     a one-input model: .npy files, folders of them, or images
   infer-run --inspect MODEL.infer [--dim NAME=VALUE]...
   (infer-run --help lists every option.)

   How a run goes, top to bottom in this file:
   - sets: the inputs that go together and share one output folder: one .npy per model
     input with the same number of items (axis 0), or a list of images (one item each);
   - the queue: batches of up to --batch-size consecutive items, taken in order by one
     worker thread per device; a batch may span sets whose items have the same shape;
   - a worker reads its batch, runs it in a session bound to that batch's shape (kept in
     a small cache), and hands the outputs to the writer;
   - the writer puts each item at its place in each output's temporary file
     (.NAME.npy.part beside the final NAME.npy); a set whose items are all written is
     synced and renamed into place. About once a second the writer syncs what it wrote
     and logs the finished items in OUTDIR/.infer-run.journal, which --resume reads after
     a crash (kill -9, power loss). SIGINT/SIGTERM stop after the current batches and
     remove every temporary file: an output file exists only when it is complete.
   With --tp mpi (make mpi; mpirun -np N build/mpi/infer-run ...) the job is as above with
   one worker, in lockstep on every rank: rank 0 keeps the queue and the writer and sends
   each batch's inputs to the other ranks (see "--tp mpi" below).
   Exit status: 0 all done; 1 an input or the run failed (each failure is reported with
   its path and reason); 2 a usage error; 130/143 interrupted by SIGINT/SIGTERM. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../infer.h"
#include "cli.h"
#include "compat.h"
#include "image.h"
#ifdef INFER_WITH_CUDA
#include "../backends/cuda/infer_cuda.h"
#endif
#include "npy.h"
#ifdef INFER_TOOLS_MPI /* make mpi: --tp mpi */
#include "../backends/mpi/infer_mpi.h"
#endif

#define RUN_MAX_IO 64          /* model inputs or outputs */
#define RUN_MAX_DEVICES 64
#define RUN_CACHE 4            /* sessions a worker keeps (full and last partial batch, ...) */
#define RUN_PATH NPY_MAX_PATH
#define RUN_DIR (RUN_PATH - 256) /* an output folder, leaving room for the file name */
#define RUN_JOURNAL ".infer-run.journal"
#define RUN_DEFAULT_BATCH 16

static const char run_usage[] =
    "usage: infer-run MODEL.infer --input NAME=PATH.npy [--input NAME=PATH.npy ...] -o OUTDIR [options]\n"
    "       infer-run MODEL.infer PATH... -o OUTDIR [options]    (a one-input model)\n"
    "       infer-run --inspect MODEL.infer [--dim NAME=VALUE]...\n"
    "\n"
    "Runs the model over every item (slice along axis 0) of the input .npy files and writes\n"
    "OUTDIR/<output>.npy for each model output, items in input order. With several input\n"
    "files (PATH may be a folder of .npy files) each gets its own OUTDIR/<file stem>/.\n"
    "\n"
    "  -o, --output DIR      output folder (created if missing)\n"
    "  --input NAME=PATH     the .npy for model input NAME (repeat for each input)\n"
    "  --batch-size N        items per run, binding the model's symbolic batch dim (default 16;\n"
    "                        a model with a fixed first dim runs with that batch)\n"
    "  --threads N           threads per device (default: the cores shared among devices)\n"
    "  --device DEV          cpu (default), or cuda or cuda:N (when built with CUDA; nodes the\n"
    "                        CUDA backend lacks run on the CPU)\n"
    "  --devices LIST        one session per device, e.g. cpu,cpu or cuda:0,cuda:1; they take\n"
    "                        batches from one queue, so a faster device takes more\n"
    "  --precision P         f32 (default), tf32, f16 or bf16: what a device may round matrix\n"
    "                        products' inputs to (tensor cores); sums and tensors stay f32.\n"
    "                        The CPU ignores it\n"
    "  --tp N                tensor parallelism: each session's large layers split over N\n"
    "                        devices in this process: CPU ones, or with --device cuda:K the\n"
    "                        GPUs K, K+1, ... (modulo their count; NCCL between distinct GPUs).\n"
    "                        --threads is then per device; with --inspect, prints the plan\n"
    "  --tp mpi              one device per MPI process, every rank running each batch:\n"
    "                        mpirun -np N build/mpi/infer-run MODEL.infer ... -o OUTDIR --tp mpi\n"
    "                        (build/mpi/ is built by make mpi). Rank 0 reads the inputs, writes\n"
    "                        the outputs and reports; --threads is per rank (default: the\n"
    "                        cores shared among the ranks on each machine)\n"
    "  --resume              skip items whose outputs are complete (after a crash or kill)\n"
    "  --json                print a JSON summary on stdout (items, failures, seconds,\n"
    "                        items_per_s, peak_rss_bytes)\n"
    "  --dim NAME=VALUE      bind a symbolic dim the inputs do not set (--inspect: default 1)\n"
    "  --inspect             print the model's inputs, outputs and memory plan, then exit\n"
    "Images (PNG/JPEG files or folders of them, one item each; outputs in OUTDIR/, rows in\n"
    "the order of OUTDIR/inputs.txt):\n"
    "  --image-size H,W      resize to H x W (default: the model's fixed dims)\n"
    "  --mean M[,M,M]        subtract per channel, on pixel values scaled to [0,1] (default 0)\n"
    "  --std S[,S,S]         then divide per channel (default 1)\n"
    "  --layout nchw|nhwc    the model input's layout (default nchw)\n"
    "  --help, --version\n"
    "\n"
    "Exit status: 0 done; 1 an input or the run failed (each failure is reported with its\n"
    "path); 2 usage error; 130/143 interrupted by SIGINT/SIGTERM (no partial files are left).\n";

/* ===== options ===== */

typedef struct run_named {
    const char *name, *path;
} run_named;

typedef struct run_options {
    const char *model_path, *out_dir;
    run_named named[RUN_MAX_IO * 16];
    size_t n_named;
    const char **paths; /* positional, [n_paths] */
    size_t n_paths;
    infer_dim dims[RUN_MAX_IO];
    size_t n_dims;
    long long batch_size, n_threads, tp; /* tp 0: one device; -1: --tp mpi */
    const char *devices[RUN_MAX_DEVICES];
    size_t n_devices;
    int resume, json, inspect, precision;
    int image_h, image_w, layout_nhwc;
    float mean[3], std[3];
    int n_mean, n_std;
} run_options;

/* ===== messages ===== */

static int run_tty;                         /* stderr is a terminal: draw the progress bar */
static pthread_mutex_t run_print_lock = PTHREAD_MUTEX_INITIALIZER;

static void run_msg(const char *fmt, ...) {
    va_list ap;
    pthread_mutex_lock(&run_print_lock);
    if (run_tty) fputs("\r\033[K", stderr); /* over the progress bar */
    fputs("infer-run: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&run_print_lock);
}

static int run_usage_error(const char *fmt, ...) {
    va_list ap;
    fputs("infer-run: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n(infer-run --help shows the usage)\n", stderr);
    return 2;
}

/* ===== signals: stop after the current batches ===== */

static volatile sig_atomic_t run_signal;

static void run_on_signal(int sig) {
    if (!run_signal) run_signal = sig;
}

static void run_install_signals(void) {
#ifdef _WIN32 /* no sigaction: the CRT's signal() (Ctrl+C arrives as SIGINT) */
    signal(SIGINT, run_on_signal);
    signal(SIGTERM, run_on_signal);
#else
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = run_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
#endif
}

/* ===== the job: model, sets, queue, writer ===== */

enum { RUN_PENDING, RUN_DONE, RUN_FAILED };

typedef struct run_set {
    char **paths;           /* [n_in] .npy files; NULL for an image set */
    npy_header *hdr;        /* [n_in] */
    char **images;          /* [n_items] image files, or NULL */
    size_t n_items;
    int cls;                /* shape class: sets of one class have the same item shapes */
    char dir[RUN_DIR];      /* output folder */
    const char *label;      /* for messages: the input path, or "images" */
    int state;              /* RUN_PENDING / DONE / FAILED */
    uint8_t *done;          /* [n_items] 1: written (NULL when not pending) */
    size_t n_written;       /* items written, including n_resumed */
    size_t n_resumed;       /* items found written by a killed run (--resume) */
    npy_writer out[RUN_MAX_IO];
    int out_open, dirty;    /* writers open; data written since the last checkpoint */
} run_set;

typedef struct run_record {
    size_t set, first, count;
} run_record;

typedef struct run_job {
    const run_options *opt;
    infer_model *model;
    size_t n_in, n_out;
    infer_tensor_info in[RUN_MAX_IO], out[RUN_MAX_IO];
    char out_file[RUN_MAX_IO][128]; /* output names made safe as file names */
    int64_t fixed_batch;            /* > 0: the model's first dim is fixed at this */
    size_t batch;                   /* items per run */
    int image_c;                    /* image mode: channels (0: .npy mode) */
    run_set *sets;
    size_t n_sets;
    size_t *cls_rep;                /* [n classes] a set of each shape class */
    int n_cls;
    pthread_mutex_t lock;           /* everything below, and the sets' writer fields */
    pthread_cond_t changed;
    size_t next_set, next_item;     /* the queue's position */
    size_t n_total, n_done, n_failed_items, n_skipped, n_failures;
    size_t n_bad_items;             /* images that failed to load (their rows are NaN) */
    int n_running;                  /* workers still going */
    int fatal;                      /* an output could not be written: stop */
    char journal[RUN_PATH];
    int journal_fd;
    uint64_t fingerprint;
    run_record *pending;            /* written since the last checkpoint */
    size_t n_pending, cap_pending;
    double last_checkpoint;
    double t0, last_draw;           /* the start; when the progress bar was last drawn */
    const infer_comm *comm;         /* --tp mpi: this process's communicator, else NULL */
    int rank;                       /* --tp mpi: this process's rank; only rank 0 has the sets */
} run_job;

static void run_set_path(const run_job *job, const run_set *set, size_t o, int tmp, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/%s%s.npy%s", set->dir, tmp ? "." : "", job->out_file[o], tmp ? ".part" : "");
}

/* Removes a set's temporary files (its writers, and any left by a killed run). */
static void run_set_clean(run_job *job, run_set *set) {
    char tmp[RUN_PATH];
    size_t o;
    for (o = 0; o < job->n_out; o++) {
        if (set->out_open) npy_writer_abandon(&set->out[o]);
        run_set_path(job, set, o, 1, tmp, sizeof tmp);
        unlink(tmp);
    }
    set->out_open = 0;
}

/* Marks a set failed (once), reports it and removes its temporary files. Lock held. */
static void run_set_fail(run_job *job, run_set *set, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    if (set->state != RUN_PENDING) return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    run_msg("%s", msg);
    set->state = RUN_FAILED;
    job->n_failures++;
    job->n_failed_items += set->n_items - set->n_written; /* for the progress bar */
    run_set_clean(job, set);
    free(set->done);
    set->done = NULL;
    pthread_cond_broadcast(&job->changed);
}

/* -- the writer (lock held) -- */

/* Renames a set's finished outputs into place (images: also writes inputs.txt). */
static void run_set_commit(run_job *job, run_set *set) {
    char err[1024];
    size_t o, i;
    if (set->images) {
        char path[RUN_PATH], tmp[RUN_PATH];
        FILE *f;
        int ok;
        snprintf(path, sizeof path, "%s/inputs.txt", set->dir);
        snprintf(tmp, sizeof tmp, "%s/.inputs.txt.part", set->dir);
        f = fopen(tmp, "w");
        ok = f != NULL;
        for (i = 0; ok && i < set->n_items; i++) ok = fprintf(f, "%s\n", set->images[i]) > 0;
        ok = f && fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
        if (f) ok = fclose(f) == 0 && ok;
        if (!ok || rename(tmp, path) != 0) {
            unlink(tmp);
            job->fatal = 1;
            run_set_fail(job, set, "%s: cannot write: %s", path, strerror(errno));
            return;
        }
    }
    for (o = 0; o < job->n_out; o++) {
        if (!npy_writer_commit(&set->out[o], err, sizeof err)) {
            job->fatal = 1;
            run_set_fail(job, set, "%s", err);
            return;
        }
    }
    set->out_open = 0;
    set->state = RUN_DONE;
    free(set->done);
    set->done = NULL;
    pthread_cond_broadcast(&job->changed);
}

static int run_mkdir(const char *dir) {
    return mkdir(dir, 0777) == 0 || errno == EEXIST;
}

/* Opens a set's outputs for the item shapes a session gives. outs: one batch's outputs. */
static int run_set_open(run_job *job, run_set *set, const infer_tensor *outs) {
    char path[RUN_PATH], tmp[RUN_PATH], err[1024], b1[160], b2[160];
    int64_t dims[INFER_MAX_DIMS];
    size_t o;
    if (set->out_open) { /* resumed: the files must hold these very shapes */
        for (o = 0; o < job->n_out; o++) {
            const npy_header *h = &set->out[o].h;
            if (h->dtype != outs[o].dtype || h->n_dims != outs[o].n_dims ||
                memcmp(h->dims + 1, outs[o].dims + 1, sizeof(int64_t) * (size_t)(h->n_dims - 1)) != 0) {
                run_set_fail(job, set, "%s: the resumed output %s is %s %s; the model now gives %s %s", set->label,
                             set->out[o].tmp, infer_dtype_name(h->dtype), cli_format_shape(h->n_dims, h->dims, b1, sizeof b1),
                             infer_dtype_name(outs[o].dtype), cli_format_shape(outs[o].n_dims, outs[o].dims, b2, sizeof b2));
                return 0;
            }
        }
        return 1;
    }
    if (!run_mkdir(set->dir)) {
        job->fatal = 1;
        run_set_fail(job, set, "%s: cannot create the output folder: %s", set->dir, strerror(errno));
        return 0;
    }
    for (o = 0; o < job->n_out; o++) {
        memcpy(dims, outs[o].dims, sizeof dims);
        dims[0] = (int64_t)set->n_items;
        run_set_path(job, set, o, 0, path, sizeof path);
        run_set_path(job, set, o, 1, tmp, sizeof tmp);
        if (!npy_writer_open(&set->out[o], path, tmp, outs[o].dtype, outs[o].n_dims, dims, 0, NULL, err, sizeof err)) {
            while (o--) npy_writer_abandon(&set->out[o]);
            job->fatal = 1;
            run_set_fail(job, set, "%s", err);
            return 0;
        }
    }
    set->out_open = 1;
    return 1;
}

/* Syncs what was written and logs it in the journal: at most once a second unless forced. */
static void run_checkpoint(run_job *job, int force) {
    char line[96];
    size_t i, o;
    double now = cli_now();
    if (job->journal_fd < 0 || !job->n_pending || (!force && now - job->last_checkpoint < 1.0)) return;
    for (i = 0; i < job->n_sets; i++) {
        run_set *set = &job->sets[i];
        if (set->state != RUN_PENDING || !set->dirty) continue;
        for (o = 0; o < job->n_out; o++) npy_writer_sync(&set->out[o], NULL, 0);
        set->dirty = 0;
    }
    for (i = 0; i < job->n_pending; i++) {
        const run_record *r = &job->pending[i];
        int n = snprintf(line, sizeof line, "%zu %zu %zu\n", r->set, r->first, r->count);
        if (job->sets[r->set].state != RUN_PENDING) continue; /* finished or failed: nothing to resume */
        if (write(job->journal_fd, line, (size_t)n) != n) break; /* best effort: a lost record costs a rerun */
    }
    fsync(job->journal_fd);
    job->n_pending = 0;
    job->last_checkpoint = now;
}

/* Records items [first, first + count) of a set as written. */
static void run_mark(run_job *job, run_set *set, size_t first, size_t count) {
    size_t i;
    for (i = first; i < first + count; i++) set->done[i] = 1;
    set->n_written += count;
    set->dirty = 1;
    if (job->journal_fd >= 0) {
        if (job->n_pending == job->cap_pending) {
            size_t cap = job->cap_pending ? 2 * job->cap_pending : 64;
            run_record *p = (run_record *)realloc(job->pending, cap * sizeof *p);
            if (!p) run_checkpoint(job, 1); /* no room: sync now instead */
            else job->pending = p, job->cap_pending = cap;
        }
        if (job->n_pending < job->cap_pending) {
            job->pending[job->n_pending].set = (size_t)(set - job->sets);
            job->pending[job->n_pending].first = first;
            job->pending[job->n_pending].count = count;
            job->n_pending++;
        }
    }
}

/* ===== the queue ===== */

typedef struct run_seg {
    size_t set, first, count;
} run_seg;

/* Takes the next batch: up to job->batch items not yet written, from sets of one shape
   class, in order. Lock held. Returns the number of items (0: the queue is empty). */
static size_t run_next_batch(run_job *job, run_seg *segs, size_t *n_segs) {
    size_t n = 0;
    int cls = -1;
    *n_segs = 0;
    while (job->next_set < job->n_sets && n < job->batch) {
        run_set *set = &job->sets[job->next_set];
        size_t first;
        if (set->state != RUN_PENDING || job->next_item >= set->n_items) {
            job->next_set++;
            job->next_item = 0;
            continue;
        }
        if (cls >= 0 && set->cls != cls) break;
        cls = set->cls;
        while (job->next_item < set->n_items && set->done[job->next_item]) job->next_item++;
        first = job->next_item;
        while (job->next_item < set->n_items && !set->done[job->next_item] && n < job->batch) job->next_item++, n++;
        if (job->next_item > first) {
            segs[*n_segs].set = job->next_set;
            segs[*n_segs].first = first;
            segs[*n_segs].count = job->next_item - first;
            (*n_segs)++;
        }
    }
    return n;
}

/* ===== workers ===== */

typedef struct run_entry {  /* a cached session and its buffers */
    infer_session *sess;
    int cls;
    size_t n;               /* the bound batch */
    infer_tensor in[RUN_MAX_IO], out[RUN_MAX_IO];
    unsigned long used;     /* for LRU */
} run_entry;

typedef struct run_worker {
    run_job *job;
    const char *device;
    int n_threads;
    pthread_t thread;
    run_entry cache[RUN_CACHE];
    unsigned long tick;
    run_seg *segs;          /* [job->batch] */
    uint8_t *bad;           /* [job->batch] images that failed to load */
    npy_file files[RUN_MAX_IO];
    size_t files_set;       /* the set whose files are open, or SIZE_MAX */
} run_worker;

static void run_entry_free(run_entry *e) {
    size_t i;
    infer_session_free(e->sess);
    for (i = 0; i < RUN_MAX_IO; i++) {
        free(e->in[i].data);
        free(e->out[i].data);
    }
    memset(e, 0, sizeof *e);
}

/* Fills dims with the values a shape class and batch bind: symbolic dims from the
   class's files (or the image size), the first dim from n, then the user's --dim. */
static size_t run_bind(const run_job *job, int cls, size_t n, infer_dim *dims) {
    const run_set *rep = &job->sets[job->cls_rep[cls]];
    size_t n_dims = 0, i, k;
    int d;
    for (i = 0; i < job->n_in; i++) {
        for (d = 0; d < job->in[i].n_dims; d++) {
            const char *name = job->in[i].dim_names[d];
            int64_t v;
            if (!name) continue;
            if (d == 0) v = (int64_t)n;
            else if (rep->hdr) v = rep->hdr[i].dims[d];
            else v = d == (job->opt->layout_nhwc ? 3 : 1) ? job->image_c
                   : d == (job->opt->layout_nhwc ? 1 : 2) ? job->opt->image_h : job->opt->image_w;
            for (k = 0; k < n_dims && strcmp(dims[k].name, name) != 0; k++) {}
            if (k == n_dims && n_dims < RUN_MAX_IO * INFER_MAX_DIMS) {
                dims[n_dims].name = name;
                dims[n_dims++].value = v;
            }
        }
    }
    for (i = 0; i < job->opt->n_dims; i++) {
        for (k = 0; k < n_dims && strcmp(dims[k].name, job->opt->dims[i].name) != 0; k++) {}
        if (k == n_dims && n_dims < RUN_MAX_IO * INFER_MAX_DIMS) dims[n_dims++] = job->opt->dims[i];
    }
    return n_dims;
}

/* The session for (class, batch n), from the cache or new. On failure NULL and err. */
static run_entry *run_session(run_worker *w, int cls, size_t n, char *err, size_t err_bytes) {
    run_job *job = w->job;
    infer_dim dims[RUN_MAX_IO * INFER_MAX_DIMS];
    infer_session_options opt;
    infer_tensor_info info;
    run_entry *e = &w->cache[0];
    char b1[160];
    size_t i, k, bytes;
    int d;
    for (i = 0; i < RUN_CACHE; i++) {
        if (w->cache[i].sess && w->cache[i].cls == cls && w->cache[i].n == n) {
            w->cache[i].used = ++w->tick;
            return &w->cache[i];
        }
        if (!w->cache[i].sess || w->cache[i].used < e->used) e = &w->cache[i];
    }
    run_entry_free(e); /* the least recently used */
    memset(&opt, 0, sizeof opt);
    opt.n_threads = w->n_threads;
    opt.device = w->device;
    opt.precision = job->opt->precision;
    cli_log_install(&opt);
    opt.tp = job->comm ? 0 : (int)job->opt->tp;
    opt.comm = job->comm;
    opt.dims = dims;
    opt.n_dims = run_bind(job, cls, n, dims);
    if (infer_session_create(job->model, &opt, &e->sess) != INFER_STATUS_OK) {
#ifndef INFER_WITH_CUDA
        if (!strncmp(w->device, "cuda", 4))
            snprintf(err, err_bytes, "device '%s': this infer-run was built without CUDA (build with make cuda): %s",
                     w->device, infer_last_error());
        else
#endif
            snprintf(err, err_bytes, "%s", infer_last_error());
        return NULL;
    }
    e->cls = cls;
    e->n = n;
    e->used = ++w->tick;
    for (k = 0; k < job->n_in + job->n_out; k++) {
        int is_in = k < job->n_in;
        size_t j = is_in ? k : k - job->n_in;
        infer_tensor *t = is_in ? &e->in[j] : &e->out[j];
        if (is_in) infer_session_input(e->sess, j, &info);
        else infer_session_output(e->sess, j, &info);
        if (!is_in && (info.n_dims < 1 || info.dims[0] != (int64_t)n)) {
            snprintf(err, err_bytes, "output '%s' is %s with batch %zu: its first dim is not the batch, so it cannot "
                     "be split into items", info.name, cli_format_shape(info.n_dims, info.dims, b1, sizeof b1), n);
            run_entry_free(e);
            return NULL;
        }
        bytes = infer_dtype_bytes(info.dtype);
        for (d = 0; d < info.n_dims; d++) bytes *= (size_t)info.dims[d];
        t->name = info.name;
        t->dtype = info.dtype;
        t->n_dims = info.n_dims;
        memcpy(t->dims, info.dims, sizeof t->dims);
        t->data_bytes = bytes;
        if (!(t->data = calloc(1, bytes ? bytes : 1))) {
            snprintf(err, err_bytes, "out of memory for a batch of %zu", n);
            run_entry_free(e);
            return NULL;
        }
    }
    return e;
}

static void run_fail_batch(run_job *job, const run_seg *segs, size_t n_segs, const char *err) {
    size_t i;
    pthread_mutex_lock(&job->lock);
    for (i = 0; i < n_segs; i++) run_set_fail(job, &job->sets[segs[i].set], "%s: %s", job->sets[segs[i].set].label, err);
    pthread_mutex_unlock(&job->lock);
}

/* Reads image item `item` of a set into x (one item of the model input), normalised. */
static int run_read_image(const run_job *job, const char *path, float *x, char *err, size_t err_bytes) {
    const run_options *o = job->opt;
    size_t hw = (size_t)o->image_h * (size_t)o->image_w, p;
    int c, C = job->image_c;
    float *px = (float *)malloc(hw * (size_t)C * sizeof(float));
    if (!px) {
        snprintf(err, err_bytes, "%s: out of memory", path);
        return 0;
    }
    if (!image_load(path, o->image_h, o->image_w, C, px, err, err_bytes)) {
        free(px);
        return 0;
    }
    for (p = 0; p < hw; p++) {
        for (c = 0; c < C; c++) {
            float m = o->n_mean ? o->mean[o->n_mean == 1 ? 0 : c] : 0.0f, s = o->n_std ? o->std[o->n_std == 1 ? 0 : c] : 1.0f;
            float v = (px[p * (size_t)C + (size_t)c] / 255.0f - m) / s;
            if (o->layout_nhwc) x[p * (size_t)C + (size_t)c] = v;
            else x[(size_t)c * hw + p] = v;
        }
    }
    free(px);
    return 1;
}

/* Reads a batch's inputs into e->in; a set that cannot be read fails (its items stay zero). */
static void run_read(run_worker *w, run_entry *e, const run_seg *segs, size_t n_segs) {
    run_job *job = w->job;
    char err[1024];
    size_t s, i, at = 0;
    for (i = 0; i < job->n_in; i++) memset(e->in[i].data, 0, e->in[i].data_bytes); /* padding, failed reads */
    memset(w->bad, 0, job->batch);
    for (s = 0; s < n_segs; s++) {
        run_set *set = &job->sets[segs[s].set];
        int ok = 1;
        if (set->images) {
            size_t item_bytes = e->in[0].data_bytes / e->n, k;
            for (k = 0; k < segs[s].count; k++) {
                const char *path = set->images[segs[s].first + k];
                if (run_read_image(job, path, (float *)((char *)e->in[0].data + (at + k) * item_bytes), err, sizeof err))
                    continue;
                w->bad[at + k] = 1; /* its rows become NaN (or 0); the run goes on */
                run_msg("%s", err);
                pthread_mutex_lock(&job->lock);
                job->n_failures++;
                job->n_bad_items++;
                pthread_mutex_unlock(&job->lock);
            }
            at += segs[s].count;
            continue;
        }
        if (w->files_set != segs[s].set) {
            for (i = 0; i < job->n_in; i++) npy_close(&w->files[i]);
            w->files_set = SIZE_MAX;
            for (i = 0; ok && i < job->n_in; i++) ok = npy_open(set->paths[i], &w->files[i], err, sizeof err);
            if (ok) w->files_set = segs[s].set;
        }
        for (i = 0; ok && i < job->n_in; i++)
            ok = npy_read_items(&w->files[i], segs[s].first, segs[s].count,
                                (char *)e->in[i].data + at * w->files[i].h.item_bytes, err, sizeof err);
        if (!ok) {
            for (i = 0; i < job->n_in; i++) npy_close(&w->files[i]);
            w->files_set = SIZE_MAX;
            pthread_mutex_lock(&job->lock);
            run_set_fail(job, set, "%s", err);
            pthread_mutex_unlock(&job->lock);
        }
        at += segs[s].count;
    }
}

/* Overwrites the output rows of items that failed to load: NaN for floats, 0 otherwise. */
static void run_blank_rows(run_worker *w, run_entry *e, size_t n) {
    size_t o, i, k;
    for (i = 0; i < n; i++) {
        if (!w->bad[i]) continue;
        for (o = 0; o < w->job->n_out; o++) {
            size_t row = e->out[o].data_bytes / e->n;
            char *p = (char *)e->out[o].data + i * row;
            memset(p, 0, row);
            if (e->out[o].dtype == INFER_DTYPE_F32)
                for (k = 0; k < row / 4; k++) ((float *)(void *)p)[k] = (float)NAN;
            else if (e->out[o].dtype == INFER_DTYPE_F64)
                for (k = 0; k < row / 8; k++) ((double *)(void *)p)[k] = (double)NAN;
        }
    }
}

/* Hands a batch's outputs to the writer. */
static void run_put(run_worker *w, run_entry *e, const run_seg *segs, size_t n_segs) {
    run_job *job = w->job;
    char err[1024];
    size_t s, o, at = 0;
    pthread_mutex_lock(&job->lock);
    for (s = 0; s < n_segs; s++) {
        run_set *set = &job->sets[segs[s].set];
        int ok = set->state == RUN_PENDING && run_set_open(job, set, e->out);
        for (o = 0; ok && o < job->n_out; o++) {
            size_t row = e->out[o].data_bytes / e->n;
            ok = npy_writer_put(&set->out[o], segs[s].first, segs[s].count, (char *)e->out[o].data + at * row, err,
                                sizeof err);
            if (!ok) {
                job->fatal = 1;
                run_set_fail(job, set, "%s", err);
            }
        }
        if (ok) {
            run_mark(job, set, segs[s].first, segs[s].count);
            job->n_done += segs[s].count;
            if (set->n_written == set->n_items) run_set_commit(job, set);
        }
        at += segs[s].count;
    }
    run_checkpoint(job, 0);
    pthread_cond_broadcast(&job->changed);
    pthread_mutex_unlock(&job->lock);
}

#ifdef INFER_TOOLS_MPI
static void run_progress(run_job *job, double t0);

/* ===== --tp mpi: the ranks in lockstep =====
   Each infer_run is collective: every rank runs every batch, in the same order, with the
   same inputs. So rank 0 alone decides: it builds the sets (a bad input is reported there,
   once), skips what --resume finds done, takes the batches from the queue, reads their
   inputs and sends them to the other ranks, writes the outputs and reports. The other
   ranks hold only the shape classes, to bind their sessions. Whatever can fail on one rank
   only (creating a session, a run) is agreed on before the job goes on, so a failure
   fails the batch on every rank instead of leaving the others waiting. MPI calls stay on
   the main thread: the one worker runs there. */

/* The largest of v over the ranks: an exit status every rank agrees on. */
static int run_mpi_max(int v) {
    int all = v;
    MPI_Allreduce(&v, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return all;
}

/* The lowest rank where ok is 0, or -1 when it is 1 on every rank. */
static int run_mpi_first_failure(const run_job *job, int ok) {
    int v = ok ? INT_MAX : job->rank, all = v;
    MPI_Allreduce(&v, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all == INT_MAX ? -1 : all;
}

/* Sends n bytes from rank 0 to every rank (MPI counts are int). */
static void run_mpi_bcast(void *p, size_t n) {
    while (n) {
        int part = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        MPI_Bcast(p, part, MPI_BYTE, 0, MPI_COMM_WORLD);
        p = (char *)p + part;
        n -= (size_t)part;
    }
}

/* Agrees on the status each rank has after preparing (rank 0: the sets, the journal);
   then rank 0 sends its shape classes and each other rank makes one set per class that
   holds only the item shapes (run_bind reads them). Returns the status. */
static int run_mpi_share(run_job *job, int rc) {
    int n_cls = job->n_cls, c, ok = 1;
    if ((rc = run_mpi_max(rc)) != 0) return rc;
    MPI_Bcast(&n_cls, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (job->rank != 0) {
        job->sets = (run_set *)calloc((size_t)n_cls + 1, sizeof *job->sets);
        job->cls_rep = (size_t *)calloc((size_t)n_cls + 1, sizeof *job->cls_rep);
        ok = job->sets && job->cls_rep;
        for (c = 0; ok && c < n_cls; c++) {
            run_set *set = &job->sets[c];
            set->state = RUN_DONE; /* nothing to write here */
            set->cls = c;
            job->cls_rep[c] = (size_t)c;
            job->n_sets = (size_t)c + 1;
            if (!job->image_c) ok = (set->hdr = (npy_header *)calloc(job->n_in, sizeof *set->hdr)) != NULL;
        }
        job->n_cls = n_cls;
        if (!ok) run_msg("rank %d: out of memory", job->rank);
    }
    if (run_mpi_max(!ok)) return 1;
    for (c = 0; !job->image_c && c < n_cls; c++)
        run_mpi_bcast(job->sets[job->cls_rep[c]].hdr, job->n_in * sizeof(npy_header));
    return 0;
}

/* Runs the next batch on every rank. Returns 0 when rank 0 says the queue is done. */
static int run_mpi_batch(run_worker *w) {
    run_job *job = w->job;
    char err[1024];
    int64_t head[3] = {0, 0, 0}; /* the batch's items (0: stop), its shape class, the session's batch */
    size_t n_segs = 0, i;
    run_entry *e;
    int ok, failed;
    if (job->rank == 0) {
        pthread_mutex_lock(&job->lock);
        head[0] = run_signal || job->fatal ? 0 : (int64_t)run_next_batch(job, w->segs, &n_segs);
        pthread_mutex_unlock(&job->lock);
        if (head[0]) {
            head[1] = job->sets[w->segs[0].set].cls;
            head[2] = job->fixed_batch > 0 ? job->fixed_batch : head[0];
        }
    }
    MPI_Bcast(head, 3, MPI_INT64_T, 0, MPI_COMM_WORLD);
    if (!head[0]) return 0;
    e = run_session(w, (int)head[1], (size_t)head[2], err, sizeof err);
    ok = e != NULL;
    failed = run_mpi_first_failure(job, ok); /* a session on every rank, or no run */
    if (failed < 0) {
        if (job->rank == 0) run_read(w, e, w->segs, n_segs); /* a set that cannot be read fails here */
        for (i = 0; i < job->n_in; i++) run_mpi_bcast(e->in[i].data, e->in[i].data_bytes);
        ok = infer_run(e->sess, e->in, job->n_in, e->out, job->n_out) == INFER_STATUS_OK;
        if (!ok) snprintf(err, sizeof err, "%s", infer_session_error(e->sess));
        failed = run_mpi_first_failure(job, ok);
    }
    if (job->rank != 0) { /* a failure rank 0 had too is reported once, by rank 0 */
        if (!ok && failed > 0) run_msg("rank %d: %s", job->rank, err);
        return 1;
    }
    if (failed > 0) snprintf(err, sizeof err, "failed on rank %d (its message says why)", failed);
    if (failed >= 0) {
        run_fail_batch(job, w->segs, n_segs, err);
    } else {
        run_blank_rows(w, e, (size_t)head[0]);
        run_put(w, e, w->segs, n_segs);
    }
    if (run_tty && cli_now() - job->last_draw >= 0.1) { /* the main thread is this one */
        job->last_draw = cli_now();
        run_progress(job, job->t0);
    }
    return 1;
}
#endif

static void *run_worker_main(void *arg) {
    run_worker *w = (run_worker *)arg;
    run_job *job = w->job;
    char err[1024];
    size_t n_segs, n, i;
    for (;;) {
        run_entry *e;
#ifdef INFER_TOOLS_MPI
        if (job->comm) {
            if (!run_mpi_batch(w)) break;
            continue;
        }
#endif
        pthread_mutex_lock(&job->lock);
        n = run_signal || job->fatal ? 0 : run_next_batch(job, w->segs, &n_segs);
        pthread_mutex_unlock(&job->lock);
        if (!n) break;
        e = run_session(w, job->sets[w->segs[0].set].cls, job->fixed_batch > 0 ? (size_t)job->fixed_batch : n, err,
                        sizeof err);
        if (!e) {
            run_fail_batch(job, w->segs, n_segs, err);
            continue;
        }
        run_read(w, e, w->segs, n_segs);
        if (infer_run(e->sess, e->in, job->n_in, e->out, job->n_out) != INFER_STATUS_OK) {
            snprintf(err, sizeof err, "%s", infer_session_error(e->sess));
            run_fail_batch(job, w->segs, n_segs, err);
            continue;
        }
        run_blank_rows(w, e, n);
        run_put(w, e, w->segs, n_segs);
    }
    for (i = 0; i < RUN_CACHE; i++) run_entry_free(&w->cache[i]);
    for (i = 0; i < job->n_in; i++) npy_close(&w->files[i]);
    pthread_mutex_lock(&job->lock);
    job->n_running--;
    pthread_cond_broadcast(&job->changed);
    pthread_mutex_unlock(&job->lock);
    return NULL;
}

/* ===== building the sets ===== */

typedef struct run_list {
    char **v;
    size_t n, cap;
} run_list;

static int run_list_add(run_list *l, const char *s) {
    char *copy;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **v = (char **)realloc(l->v, cap * sizeof *v);
        if (!v) return 0;
        l->v = v;
        l->cap = cap;
    }
    if (!(copy = (char *)malloc(strlen(s) + 1))) return 0;
    strcpy(copy, s);
    l->v[l->n++] = copy;
    return 1;
}

static void run_list_free(run_list *l) {
    size_t i;
    for (i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int run_cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int run_ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* Adds the files a path names: the path itself, or a folder's .npy (or image) files,
   sorted by name. A path that cannot be read is reported; returns 0 for that. */
static int run_expand(const char *path, int images, run_list *out) {
    struct stat st;
    DIR *dir;
    struct dirent *de;
    size_t start = out->n;
    if (stat(path, &st) != 0) {
        run_msg("%s: %s", path, strerror(errno));
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (!run_list_add(out, path)) return run_msg("out of memory"), 0;
        return 1;
    }
    if (!(dir = opendir(path))) {
        run_msg("%s: %s", path, strerror(errno));
        return 0;
    }
    while ((de = readdir(dir)) != NULL) {
        char full[RUN_PATH];
        if (de->d_name[0] == '.') continue;
        if (images ? !image_is_image_path(de->d_name) : !run_ends_with(de->d_name, ".npy")) continue;
        if (snprintf(full, sizeof full, "%s/%s", path, de->d_name) >= (int)sizeof full) {
            run_msg("%s/%s: path too long", path, de->d_name);
            continue;
        }
        if (!run_list_add(out, full)) {
            closedir(dir);
            return run_msg("out of memory"), 0;
        }
    }
    closedir(dir);
    if (out->n == start) {
        run_msg("%s: no %s files in this folder", path, images ? "PNG/JPEG" : ".npy");
        return 0;
    }
    qsort(out->v + start, out->n - start, sizeof *out->v, run_cmp_str);
    return 1;
}

/* Checks a set's .npy headers against the model inputs: dtype, rank, fixed dims, the
   same symbolic dim bound to one value, the same item count. Reports and returns 0. */
static int run_check_set(const run_job *job, const run_set *set) {
    char b1[160], b2[160];
    size_t i, j;
    int d, e;
    for (i = 0; i < job->n_in; i++) {
        const npy_header *h = &set->hdr[i];
        const infer_tensor_info *in = &job->in[i];
        const char *p = set->paths[i];
        cli_format_shape(h->n_dims, h->dims, b1, sizeof b1);
        cli_format_dims(in, b2, sizeof b2);
        if (h->dtype != in->dtype) {
            run_msg("%s: dtype %s; input '%s' takes %s (convert with arr.astype(...))", p, infer_dtype_name(h->dtype),
                    in->name, infer_dtype_name(in->dtype));
            return 0;
        }
        if (h->n_dims != in->n_dims) {
            run_msg("%s: shape %s has %d dims; input '%s' is %s (items along axis 0)", p, b1, h->n_dims, in->name, b2);
            return 0;
        }
        if (h->dims[0] == 0) {
            run_msg("%s: holds no items (shape %s)", p, b1);
            return 0;
        }
        if (h->dims[0] != set->hdr[0].dims[0]) {
            run_msg("%s: %lld items, but %s has %lld", p, (long long)h->dims[0], set->paths[0],
                    (long long)set->hdr[0].dims[0]);
            return 0;
        }
        for (d = 1; d < h->n_dims; d++) {
            if (!in->dim_names[d] && in->dims[d] >= 0 && in->dims[d] != h->dims[d]) {
                run_msg("%s: shape %s does not fit input '%s' %s: dim %d is %lld, the model wants %lld", p, b1, in->name,
                        b2, d, (long long)h->dims[d], (long long)in->dims[d]);
                return 0;
            }
            if (!in->dim_names[d]) continue;
            for (j = 0; j <= i; j++) /* an earlier use of the same symbol */
                for (e = 1; e < job->in[j].n_dims && (j < i || e < d); e++)
                    if (job->in[j].dim_names[e] && !strcmp(job->in[j].dim_names[e], in->dim_names[d]) &&
                        set->hdr[j].dims[e] != h->dims[d]) {
                        run_msg("%s: dim '%s' is %lld here but %lld in %s", p, in->dim_names[d], (long long)h->dims[d],
                                (long long)set->hdr[j].dims[e], set->paths[j]);
                        return 0;
                    }
        }
    }
    return 1;
}

/* The shape class of a set: the index of an earlier set with the same item shapes. */
static int run_classify(run_job *job, size_t s) {
    const run_set *set = &job->sets[s];
    int c;
    size_t i;
    for (c = 0; c < job->n_cls; c++) {
        const run_set *rep = &job->sets[job->cls_rep[c]];
        int same = (rep->hdr != NULL) == (set->hdr != NULL);
        for (i = 0; same && set->hdr && i < job->n_in; i++)
            same = rep->hdr[i].n_dims == set->hdr[i].n_dims &&
                   !memcmp(rep->hdr[i].dims + 1, set->hdr[i].dims + 1, sizeof(int64_t) * (size_t)(set->hdr[i].n_dims - 1));
        if (same) return c;
    }
    job->cls_rep[job->n_cls] = s;
    return job->n_cls++;
}

static const char *run_base(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Builds job->sets from the options; failed inputs are reported and counted. Returns
   0 (with a message) for a problem with the command line (exit status 2). */
static int run_build_sets(run_job *job, run_list *files, size_t *n_failed) {
    const run_options *o = job->opt;
    size_t i, k, n_files;
    int ok = 1;
    /* one-input models: the positional paths and --input NAME=PATH, files or folders */
    for (i = 0; i < o->n_paths; i++) ok = run_expand(o->paths[i], job->image_c > 0, files) && ok;
    for (i = 0; job->n_in == 1 && i < o->n_named; i++) ok = run_expand(o->named[i].path, job->image_c > 0, files) && ok;
    if (!ok) (*n_failed)++;
    n_files = files->n;
    job->sets = (run_set *)calloc(n_files + 1, sizeof *job->sets);
    job->cls_rep = (size_t *)calloc(n_files + 1, sizeof *job->cls_rep);
    if (!job->sets || !job->cls_rep) return run_msg("out of memory"), 0;
    if (job->image_c) {
        run_set *set = &job->sets[0];
        if (!n_files) return 1;
        set->images = files->v;
        set->n_items = n_files;
        set->label = "images";
        snprintf(set->dir, sizeof set->dir, "%s", o->out_dir); /* length checked in run_parse */
        job->n_sets = 1;
        job->cls_rep[0] = 0;
        job->n_cls = 1;
        return 1;
    }
    if (job->n_in > 1) { /* several inputs: one set, one file for each */
        run_set *set = &job->sets[0];
        set->paths = (char **)calloc(job->n_in, sizeof *set->paths);
        set->hdr = (npy_header *)calloc(job->n_in, sizeof *set->hdr);
        if (!set->paths || !set->hdr) return run_msg("out of memory"), 0;
        for (i = 0; i < job->n_in; i++) {
            for (k = 0; k < o->n_named && strcmp(o->named[k].name, job->in[i].name) != 0; k++) {}
            set->paths[i] = (char *)o->named[k].path;
        }
        set->label = set->paths[0];
        snprintf(set->dir, sizeof set->dir, "%s", o->out_dir); /* length checked in run_parse */
        n_files = 1;
        job->n_sets = 1;
    } else {
        for (i = 0; i < n_files; i++) {
            run_set *set = &job->sets[i];
            set->paths = &files->v[i];
            set->hdr = (npy_header *)calloc(1, sizeof *set->hdr);
            if (!set->hdr) return run_msg("out of memory"), 0;
            set->label = files->v[i];
            if (n_files == 1) {
                snprintf(set->dir, sizeof set->dir, "%s", o->out_dir);
            } else {
                const char *b = run_base(files->v[i]);
                int len = snprintf(NULL, 0, "%s/%.*s", o->out_dir, (int)(strlen(b) - 4), b);
                if (len < 0 || len >= (int)sizeof set->dir) return run_usage_error("%s: path too long", files->v[i]), 0;
                snprintf(set->dir, sizeof set->dir, "%s/%.*s", o->out_dir, (int)(strlen(b) - 4), b);
            }
        }
        job->n_sets = n_files;
    }
    if (n_files > 1) { /* two files of one stem from different folders would share an output folder */
        char **dirs = (char **)malloc(n_files * sizeof *dirs);
        if (!dirs) return run_msg("out of memory"), 0;
        for (i = 0; i < n_files; i++) dirs[i] = job->sets[i].dir;
        qsort(dirs, n_files, sizeof *dirs, run_cmp_str);
        for (i = 1; i < n_files && strcmp(dirs[i - 1], dirs[i]) != 0; i++) {}
        if (i < n_files) {
            run_usage_error("two input files would write to %s: give files with different names", dirs[i]);
            free(dirs);
            return 0;
        }
        free(dirs);
    }
    for (i = 0; i < job->n_sets; i++) {
        run_set *set = &job->sets[i];
        char err[1024];
        set->state = RUN_FAILED;
        for (k = 0; k < job->n_in; k++) {
            npy_file f;
            if (!npy_open(set->paths[k], &f, err, sizeof err)) break;
            set->hdr[k] = f.h;
            npy_close(&f);
        }
        if (k < job->n_in) run_msg("%s", err);
        if (k < job->n_in || !run_check_set(job, set)) {
            (*n_failed)++;
            continue;
        }
        set->state = RUN_PENDING;
        set->n_items = (size_t)set->hdr[0].dims[0];
        set->cls = run_classify(job, i);
    }
    return 1;
}

/* ===== the journal and --resume ===== */

static uint64_t run_hash(uint64_t h, const void *p, size_t n) {
    const uint8_t *b = (const uint8_t *)p;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t run_hash_file(uint64_t h, const char *path) {
    struct stat st;
    int64_t v[3] = {0, 0, 0};
    if (stat(path, &st) == 0) {
        v[0] = (int64_t)st.st_size;
#ifdef _WIN32 /* whole seconds only */
        v[1] = (int64_t)st.st_mtime;
#else
        v[1] = (int64_t)st.st_mtim.tv_sec;
        v[2] = (int64_t)st.st_mtim.tv_nsec;
#endif
    }
    h = run_hash(h, path, strlen(path) + 1);
    return run_hash(h, v, sizeof v);
}

/* What a journal must match: the model and every input file (path, size, time), the
   outputs and the sets. */
static uint64_t run_fingerprint(const run_job *job) {
    uint64_t h = run_hash_file(0xcbf29ce484222325ull, job->opt->model_path);
    size_t s, i;
    for (i = 0; i < job->n_out; i++) h = run_hash(h, job->out_file[i], strlen(job->out_file[i]) + 1);
    for (s = 0; s < job->n_sets; s++) {
        const run_set *set = &job->sets[s];
        h = run_hash(h, set->dir, strlen(set->dir) + 1);
        for (i = 0; set->paths && i < job->n_in; i++) h = run_hash_file(h, set->paths[i]);
        for (i = 0; set->images && i < set->n_items; i++) h = run_hash_file(h, set->images[i]);
    }
    return h;
}

/* --resume: a set whose final outputs are all complete is skipped. */
static int run_outputs_complete(const run_job *job, const run_set *set) {
    char path[RUN_PATH];
    size_t o;
    for (o = 0; o < job->n_out; o++) {
        npy_file f;
        int ok;
        run_set_path(job, set, o, 0, path, sizeof path);
        if (!npy_open(path, &f, NULL, 0)) return 0;
        ok = f.h.n_dims >= 1 && f.h.dims[0] == (int64_t)set->n_items;
        npy_close(&f);
        if (!ok) return 0;
        if (set->images) {
            struct stat st;
            snprintf(path, sizeof path, "%s/inputs.txt", set->dir);
            if (stat(path, &st) != 0) return 0;
        }
    }
    return 1;
}

/* --resume: reopens a set's temporary outputs left by a killed run. */
static int run_reopen(run_job *job, run_set *set) {
    char path[RUN_PATH], tmp[RUN_PATH];
    size_t o;
    for (o = 0; o < job->n_out; o++) {
        npy_file f;
        int kept = 0;
        run_set_path(job, set, o, 0, path, sizeof path);
        run_set_path(job, set, o, 1, tmp, sizeof tmp);
        if (!npy_open(tmp, &f, NULL, 0)) break;
        npy_close(&f);
        if (f.h.n_dims < 1 || f.h.dims[0] != (int64_t)set->n_items ||
            !npy_writer_open(&set->out[o], path, tmp, f.h.dtype, f.h.n_dims, f.h.dims, 1, &kept, NULL, 0) || !kept)
            break;
    }
    if (o == job->n_out) return set->out_open = 1;
    while (o--) {
        close(set->out[o].fd);
        set->out[o].fd = -1;
    }
    return 0;
}

/* Reads the journal a killed run left (lines "SET FIRST COUNT" after a header with the
   fingerprint; a torn last line is ignored) and marks those items written. */
static void run_resume_journal(run_job *job) {
    char line[128], want[64];
    FILE *f = fopen(job->journal, "r");
    size_t s, first, count;
    int header = 1;
    if (!f) return;
    snprintf(want, sizeof want, "infer-run journal 1 %016llx\n", (unsigned long long)job->fingerprint);
    while (fgets(line, sizeof line, f)) {
        run_set *set;
        char end;
        if (header) {
            if (strcmp(line, want) != 0) {
                run_msg("--resume: %s is from another run (the model or inputs changed); starting afresh", job->journal);
                break;
            }
            header = 0;
            continue;
        }
        if (!strchr(line, '\n') || sscanf(line, "%zu %zu %zu%c", &s, &first, &count, &end) != 4 || end != '\n') break;
        if (s >= job->n_sets) break;
        set = &job->sets[s];
        if (set->state != RUN_PENDING || first > set->n_items || count > set->n_items - first) continue;
        if (!set->out_open && (set->n_resumed == SIZE_MAX || !run_reopen(job, set))) {
            set->n_resumed = SIZE_MAX; /* no usable temporary files: redo the set */
            continue;
        }
        for (; count; first++, count--)
            if (!set->done[first]) set->done[first] = 1, set->n_resumed++;
    }
    fclose(f);
    for (s = 0; s < job->n_sets; s++) {
        run_set *set = &job->sets[s];
        if (set->n_resumed == SIZE_MAX) set->n_resumed = 0;
        set->n_written = set->n_resumed;
    }
}

/* Opens and locks the journal (one infer-run per output folder): --resume reads what it
   holds first; either way it is rewritten with the items known to be written. Returns 0
   if OUTDIR cannot be written or another infer-run holds it. */
static int run_journal_open(run_job *job) {
    char line[96];
    size_t s, i;
#ifdef _WIN32
    OVERLAPPED lock;
#else
    struct flock lock;
#endif
    snprintf(job->journal, sizeof job->journal, "%s/%s", job->opt->out_dir, RUN_JOURNAL);
    job->fingerprint = run_fingerprint(job);
    job->journal_fd = open(job->journal, O_RDWR | O_CREAT | O_BINARY, 0666);
    if (job->journal_fd < 0) {
        run_msg("%s: cannot write in the output folder: %s", job->opt->out_dir, strerror(errno));
        return 0;
    }
    memset(&lock, 0, sizeof lock);
#ifdef _WIN32 /* the first byte, exclusive, without waiting: as F_SETLK */
    if (!LockFileEx((HANDLE)_get_osfhandle(job->journal_fd), LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0,
                    1, 0, &lock)) {
#else
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    if (fcntl(job->journal_fd, F_SETLK, &lock) != 0) {
#endif
        run_msg("%s: another infer-run is writing to this folder (%s is locked)", job->opt->out_dir, job->journal);
        close(job->journal_fd);
        job->journal_fd = -1;
        job->journal[0] = '\0'; /* not ours to remove */
        return 0;
    }
    if (job->opt->resume) run_resume_journal(job);
    if (ftruncate(job->journal_fd, 0) != 0) {
        run_msg("%s: %s", job->journal, strerror(errno));
        return 0;
    }
    snprintf(line, sizeof line, "infer-run journal 1 %016llx\n", (unsigned long long)job->fingerprint);
    if (write(job->journal_fd, line, strlen(line)) < 0) {
        run_msg("%s: %s", job->journal, strerror(errno));
        return 0;
    }
    for (s = 0; s < job->n_sets; s++) { /* the resumed items, as ranges */
        run_set *set = &job->sets[s];
        for (i = 0; set->state == RUN_PENDING && set->n_resumed && i < set->n_items;) {
            size_t first = i;
            int n;
            if (!set->done[i]) {
                i++;
                continue;
            }
            while (i < set->n_items && set->done[i]) i++;
            n = snprintf(line, sizeof line, "%zu %zu %zu\n", s, first, i - first);
            if (write(job->journal_fd, line, (size_t)n) != n) break;
        }
    }
    fsync(job->journal_fd);
    return 1;
}

/* ===== --inspect ===== */

typedef struct run_op_count {
    const char *op;
    size_t n;
} run_op_count;

static int run_cmp_op_count(const void *a, const void *b) {
    const run_op_count *x = (const run_op_count *)a, *y = (const run_op_count *)b;
    return x->n != y->n ? (x->n < y->n ? 1 : -1) : strcmp(x->op, y->op);
}

/* The op histogram (most used first) and the parameter count. */
static void run_inspect_ops(const infer_model *m) {
    infer_model_stats ms;
    infer_node_info ni;
    run_op_count *ops;
    size_t i, k, n_ops = 0;
    char b1[64];
    infer_model_get_stats(m, &ms);
    printf("parameters %zu in %zu constants (%s)\n", ms.constant_elements, ms.n_constants,
           cli_format_bytes((double)ms.constant_bytes, b1, sizeof b1));
    if (!(ops = (run_op_count *)calloc(ms.n_nodes + 1, sizeof *ops))) return;
    for (i = 0; i < ms.n_nodes; i++) {
        if (infer_model_node(m, i, &ni) != INFER_STATUS_OK) continue;
        for (k = 0; k < n_ops && strcmp(ops[k].op, ni.op_type) != 0; k++) {}
        if (k == n_ops) ops[n_ops++].op = ni.op_type;
        ops[k].n++;
    }
    qsort(ops, n_ops, sizeof *ops, run_cmp_op_count);
    printf("ops        %zu nodes:", ms.n_nodes);
    for (k = 0; k < n_ops; k++) printf(" %s %zu%s", ops[k].op, ops[k].n, k + 1 < n_ops ? "," : "");
    printf("\n");
    free(ops);
}

static int run_inspect(const run_options *o) {
    infer_model *m = NULL;
    infer_session *s = NULL;
    infer_session_options so;
    infer_session_stats st;
    infer_tensor_info info;
    infer_dim dims[RUN_MAX_IO * INFER_MAX_DIMS];
    size_t n_dims = 0, i, k;
    char b1[160], b2[64], b3[64];
    struct stat fst;
    int d, pass;
    if (infer_model_load(o->model_path, NULL, &m) != INFER_STATUS_OK) {
        run_msg("%s", infer_last_error());
        return 1;
    }
    printf("model     %s (%s)\n", o->model_path,
           cli_format_bytes(stat(o->model_path, &fst) == 0 ? (double)fst.st_size : 0, b2, sizeof b2));
    for (i = 0; i < infer_model_n_metadata(m); i++) {
        const char *key, *value;
        infer_model_metadata(m, i, &key, &value);
        printf("metadata  %s = %s\n", key, value);
    }
    for (i = 0; i < o->n_dims && n_dims < RUN_MAX_IO; i++) dims[n_dims++] = o->dims[i];
    for (pass = 0; pass < 2; pass++) {
        size_t n = pass ? infer_model_n_outputs(m) : infer_model_n_inputs(m);
        printf("%s\n", pass ? "outputs" : "inputs");
        for (i = 0; i < n; i++) {
            if (pass) infer_model_output(m, i, &info);
            else infer_model_input(m, i, &info);
            printf("  %-24s %-5s %s\n", info.name, info.dtype ? infer_dtype_name(info.dtype) : "?",
                   cli_format_dims(&info, b1, sizeof b1));
            for (d = 0; d < info.n_dims; d++) { /* unbound symbolic dims default to 1 */
                if (!info.dim_names[d]) continue;
                for (k = 0; k < n_dims && strcmp(dims[k].name, info.dim_names[d]) != 0; k++) {}
                if (k == n_dims && n_dims < RUN_MAX_IO * INFER_MAX_DIMS) {
                    dims[n_dims].name = info.dim_names[d];
                    dims[n_dims++].value = 1;
                }
            }
        }
    }
    run_inspect_ops(m);
    memset(&so, 0, sizeof so);
    so.n_threads = 1;
    so.tp = (int)o->tp;
    so.dims = dims;
    so.n_dims = n_dims;
    printf("plan     ");
    for (k = 0; k < n_dims; k++) printf(" %s=%lld", dims[k].name, (long long)dims[k].value);
    printf("%s\n", n_dims ? "" : " (no symbolic dims)");
    if (infer_session_create(m, &so, &s) != INFER_STATUS_OK) {
        printf("  cannot plan: %s\n", infer_last_error());
    } else {
        infer_session_get_stats(s, &st);
        for (i = 0; i < infer_model_n_outputs(m); i++) {
            infer_session_output(s, i, &info);
            printf("  output %-17s %-5s %s\n", info.name, infer_dtype_name(info.dtype),
                   cli_format_shape(info.n_dims, info.dims, b1, sizeof b1));
        }
        printf("  nodes %zu, steps per run %zu (the rest folded at creation)\n", st.n_nodes, st.n_steps);
        printf("  arena %s, lower bound %s, ratio %.3f\n", cli_format_bytes((double)st.arena_bytes, b2, sizeof b2),
               cli_format_bytes((double)st.arena_lower_bound_bytes, b3, sizeof b3),
               st.arena_lower_bound_bytes ? (double)st.arena_bytes / (double)st.arena_lower_bound_bytes : 1.0);
        printf("  folded constants %s\n", cli_format_bytes((double)st.constant_bytes, b3, sizeof b3));
        printf("%s", infer_session_tp_plan(s));
    }
    infer_session_free(s);
    infer_model_free(m);
    return 0;
}

/* ===== progress and summary ===== */

static void run_progress(run_job *job, double t0) {
    char bar[41];
    size_t done, total, failed;
    double secs = cli_now() - t0, rate;
    int i, fill;
    pthread_mutex_lock(&job->lock);
    done = job->n_done;
    failed = job->n_failed_items;
    total = job->n_total;
    pthread_mutex_unlock(&job->lock);
    rate = secs > 0 ? (double)done / secs : 0;
    fill = total ? (int)(40.0 * (double)(done + failed) / (double)total) : 40;
    for (i = 0; i < 40; i++) bar[i] = i < fill ? '#' : '.';
    bar[40] = '\0';
    pthread_mutex_lock(&run_print_lock);
    fprintf(stderr, "\r\033[K[%s] %zu/%zu items  %.1f items/s", bar, done + failed, total, rate);
    if (rate > 0 && total > done + failed) {
        long eta = (long)((double)(total - done - failed) / rate + 0.5);
        fprintf(stderr, "  ETA %ld:%02ld:%02ld", eta / 3600, eta / 60 % 60, eta % 60);
    }
    fflush(stderr);
    pthread_mutex_unlock(&run_print_lock);
}

/* ===== main ===== */

/* Parses the command line into o. Returns 0 to go on, or an exit status. */
static int run_parse(int argc, char **argv, run_options *o) {
    int i;
    long long v;
    memset(o, 0, sizeof *o);
    o->paths = (const char **)calloc((size_t)argc, sizeof *o->paths);
    if (!o->paths) return 1;
    for (i = 1; i < argc; i++) {
        char *a = argv[i], *val = NULL, *eq;
        char opt[32];
        if (a[0] != '-' || !a[1]) {
            if (!o->model_path && !o->inspect) o->model_path = a;
            else if (o->inspect && !o->model_path) o->model_path = a;
            else o->paths[o->n_paths++] = a;
            continue;
        }
        snprintf(opt, sizeof opt, "%s", a);
        if (!strncmp(a, "--", 2) && (eq = strchr(a, '=')) != NULL && eq - a < (long)sizeof opt) {
            opt[eq - a] = '\0';
            val = eq + 1;
        }
        if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
            fputs(run_usage, stdout);
            return -1;
        }
        if (!strcmp(opt, "--version")) {
            printf("infer-run %s (images: %s)\n", infer_version(), image_formats()[0] ? image_formats() : "not built in");
            return -1;
        }
        if (!strcmp(opt, "--resume")) { o->resume = 1; continue; }
        if (!strcmp(opt, "--json")) { o->json = 1; continue; }
        if (!strcmp(opt, "--inspect")) { o->inspect = 1; continue; }
        if (strcmp(opt, "-o") && strcmp(opt, "--output") && strcmp(opt, "--input") && strcmp(opt, "--batch-size") &&
            strcmp(opt, "--threads") && strcmp(opt, "--device") && strcmp(opt, "--devices") && strcmp(opt, "--dim") &&
            strcmp(opt, "--image-size") && strcmp(opt, "--mean") && strcmp(opt, "--std") && strcmp(opt, "--layout") &&
            strcmp(opt, "--tp") && strcmp(opt, "--precision"))
            return run_usage_error("unknown option '%s'", a);
        if (!val) {
            if (i + 1 >= argc) return run_usage_error("%s needs a value", a);
            val = argv[++i];
        }
        if (!strcmp(opt, "-o") || !strcmp(opt, "--output")) {
            o->out_dir = val;
        } else if (!strcmp(opt, "--input")) {
            char *e = strchr(val, '=');
            if (!e || e == val || !e[1]) return run_usage_error("--input wants NAME=PATH, not '%s'", val);
            if (o->n_named == sizeof o->named / sizeof o->named[0]) return run_usage_error("too many --input");
            *e = '\0';
            o->named[o->n_named].name = val;
            o->named[o->n_named++].path = e + 1;
        } else if (!strcmp(opt, "--batch-size")) {
            if (!cli_parse_int(val, 1, 1 << 24, &o->batch_size)) return run_usage_error("--batch-size: '%s' is not in 1..16777216", val);
        } else if (!strcmp(opt, "--threads")) {
            if (!cli_parse_int(val, 1, 4096, &o->n_threads)) return run_usage_error("--threads: '%s' is not in 1..4096", val);
        } else if (!strcmp(opt, "--tp")) {
            if (!strcmp(val, "mpi")) {
#ifdef INFER_TOOLS_MPI
                o->tp = -1;
#else
                return run_usage_error("--tp mpi needs the MPI build: make mpi, then "
                                       "mpirun -np N build/mpi/infer-run MODEL.infer ... -o OUTDIR --tp mpi");
#endif
            } else if (!cli_parse_int(val, 1, 64, &o->tp)) {
                return run_usage_error("--tp: '%s' is not in 1..64 or mpi", val);
            }
        } else if (!strcmp(opt, "--device") || !strcmp(opt, "--devices")) {
            char *p = val, *c;
            o->n_devices = 0;
            do {
                if ((c = strchr(p, ',')) != NULL) *c = '\0';
                if (!*p || o->n_devices == RUN_MAX_DEVICES) return run_usage_error("%s: bad device list", opt);
                if (strcmp(p, "cpu") != 0 && strcmp(p, "cuda") != 0 &&
                    (strncmp(p, "cuda:", 5) != 0 || !cli_parse_int(p + 5, 0, 1023, &v)))
                    return run_usage_error("%s: unknown device '%s' (cpu, cuda, cuda:N)", opt, p);
                o->devices[o->n_devices++] = p;
                p = c ? c + 1 : NULL;
            } while (p);
            if (!strcmp(opt, "--device") && o->n_devices != 1) return run_usage_error("--device takes one device; use --devices");
        } else if (!strcmp(opt, "--precision")) {
            if (!cli_parse_precision(val, &o->precision))
                return run_usage_error("--precision wants f32, tf32, f16 or bf16, not '%s'", val);
        } else if (!strcmp(opt, "--dim")) {
            if (o->n_dims == RUN_MAX_IO || !cli_parse_dim(val, &o->dims[o->n_dims++]))
                return run_usage_error("--dim wants NAME=VALUE, not '%s'", val);
        } else if (!strcmp(opt, "--image-size")) {
            char *c = strchr(val, ',');
            long long h, w;
            if (!c) return run_usage_error("--image-size wants H,W");
            *c = '\0';
            if (!cli_parse_int(val, 1, 16384, &h) || !cli_parse_int(c + 1, 1, 16384, &w))
                return run_usage_error("--image-size wants H,W in 1..16384");
            o->image_h = (int)h;
            o->image_w = (int)w;
        } else if (!strcmp(opt, "--mean")) {
            if (!(o->n_mean = cli_parse_floats(val, o->mean, 3))) return run_usage_error("--mean wants 1 or 3 numbers");
        } else if (!strcmp(opt, "--std")) {
            if (!(o->n_std = cli_parse_floats(val, o->std, 3))) return run_usage_error("--std wants 1 or 3 numbers");
            for (v = 0; v < o->n_std; v++)
                if (o->std[v] == 0.0f) return run_usage_error("--std: 0 is not a standard deviation");
        } else { /* --layout */
            if (strcmp(val, "nchw") && strcmp(val, "nhwc")) return run_usage_error("--layout is nchw or nhwc");
            o->layout_nhwc = !strcmp(val, "nhwc");
        }
    }
    if (!o->model_path) return run_usage_error("no model given");
    if (o->tp < 0 && o->inspect) return run_usage_error("--inspect --tp mpi: give --tp N for the plan of N ranks (the same split)");
    if (o->tp < 0 && (o->n_devices > 1 || (o->n_devices == 1 && strcmp(o->devices[0], "cpu") != 0)))
        return run_usage_error("--tp mpi runs one CPU device per rank: --device and --devices do not apply");
    if (o->inspect) return o->n_paths || o->n_named ? run_usage_error("--inspect takes only a model (and --dim)") : 0;
    if (!o->out_dir) return run_usage_error("no output folder: give -o OUTDIR");
    if (strlen(o->out_dir) >= RUN_DIR - 64) return run_usage_error("-o %s: path too long", o->out_dir);
    if (!o->n_paths && !o->n_named) return run_usage_error("no inputs: give --input NAME=PATH or PATH...");
    if (o->n_paths && o->n_named) return run_usage_error("give inputs either as --input NAME=PATH or positionally, not both");
    return 0;
}

/* Makes a file name of an output name: characters other than [A-Za-z0-9._-] become '_'. */
static void run_file_name(const char *name, char *out, size_t cap) {
    size_t i;
    for (i = 0; name[i] && i + 1 < cap; i++) {
        char c = name[i];
        out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ? c : '_';
    }
    out[i] = '\0';
    if (out[0] == '.' || !out[0]) out[0] = '_';
}

static int run_mkdirs(const char *path) {
    char buf[RUN_PATH];
    size_t i;
    snprintf(buf, sizeof buf, "%s", path);
    for (i = 1; buf[i]; i++) {
        if (buf[i] != '/') continue;
        buf[i] = '\0';
        if (!run_mkdir(buf)) return 0;
        buf[i] = '/';
    }
    return run_mkdir(buf);
}

/* Model, inputs and outputs, the image mode. Returns 0 to go on, or an exit status. */
static int run_setup(run_job *job) {
    const run_options *o = job->opt;
    size_t i, k;
    if (infer_model_load(o->model_path, NULL, &job->model) != INFER_STATUS_OK) {
        run_msg("%s", infer_last_error());
        return 1;
    }
    job->n_in = infer_model_n_inputs(job->model);
    job->n_out = infer_model_n_outputs(job->model);
    if (job->n_in == 0 || job->n_in > RUN_MAX_IO || job->n_out == 0 || job->n_out > RUN_MAX_IO) {
        run_msg("%s: the model has %zu inputs and %zu outputs; infer-run takes 1..%d of each", o->model_path, job->n_in,
                job->n_out, RUN_MAX_IO);
        return 1;
    }
    for (i = 0; i < job->n_in; i++) {
        infer_model_input(job->model, i, &job->in[i]);
        if (job->in[i].n_dims < 1) {
            run_msg("%s: input '%s' is a scalar; infer-run needs items along a first (batch) dim", o->model_path,
                    job->in[i].name);
            return 1;
        }
        if ((job->in[i].dim_names[0] != NULL) != (job->in[0].dim_names[0] != NULL) ||
            (!job->in[i].dim_names[0] && job->in[i].dims[0] != job->in[0].dims[0])) {
            run_msg("%s: the inputs disagree on their first (batch) dim", o->model_path);
            return 1;
        }
    }
    for (i = 0; i < job->n_out; i++) {
        infer_model_output(job->model, i, &job->out[i]);
        run_file_name(job->out[i].name, job->out_file[i], sizeof job->out_file[i]);
        for (k = 0; k < i; k++)
            if (!strcmp(job->out_file[k], job->out_file[i])) {
                run_msg("%s: outputs '%s' and '%s' would both be written to %s.npy", o->model_path, job->out[k].name,
                        job->out[i].name, job->out_file[i]);
                return 1;
            }
    }
    for (i = 0; i < o->n_named; i++) { /* every --input names a model input; each input is given */
        for (k = 0; k < job->n_in && strcmp(o->named[i].name, job->in[k].name) != 0; k++) {}
        if (k == job->n_in) {
            char names[512];
            size_t n = 0;
            for (k = 0; k < job->n_in && n < sizeof names; k++)
                n += (size_t)snprintf(names + n, sizeof names - n, "%s'%s'", k ? ", " : "", job->in[k].name);
            return run_usage_error("--input %s: the model has no input '%s' (its inputs: %s)", o->named[i].name,
                                   o->named[i].name, names);
        }
    }
    if (job->n_in > 1) {
        if (o->n_paths) return run_usage_error("the model has %zu inputs: give each as --input NAME=PATH", job->n_in);
        for (k = 0; k < job->n_in; k++) {
            size_t n = 0;
            for (i = 0; i < o->n_named; i++) n += !strcmp(o->named[i].name, job->in[k].name);
            if (n != 1) return run_usage_error("input '%s' is given %zu times; give each input once", job->in[k].name, n);
        }
    }
    job->fixed_batch = job->in[0].dim_names[0] ? 0 : job->in[0].dims[0];
    job->batch = job->fixed_batch > 0 ? (size_t)job->fixed_batch : o->batch_size ? (size_t)o->batch_size : RUN_DEFAULT_BATCH;
    if (job->fixed_batch > 0 && o->batch_size && o->batch_size != job->fixed_batch && job->rank == 0)
        run_msg("note: the model's batch is fixed at %lld; --batch-size %lld does not apply", (long long)job->fixed_batch,
                o->batch_size);
    /* image mode: --image-size, or image files among the paths */
    for (i = 0; i < o->n_paths + o->n_named; i++)
        if (image_is_image_path(i < o->n_paths ? o->paths[i] : o->named[i - o->n_paths].path)) break;
    if (o->image_h || i < o->n_paths + o->n_named) {
        const infer_tensor_info *in = &job->in[0];
        int c = o->layout_nhwc ? 3 : 1, h = o->layout_nhwc ? 1 : 2, w = o->layout_nhwc ? 2 : 3;
        run_options *mo = (run_options *)o; /* the image size may come from the model */
        if (job->n_in != 1 || in->n_dims != 4 || in->dtype != INFER_DTYPE_F32)
            return run_usage_error("images need a model with one f32 input of 4 dims; '%s' is not", in->name);
        if (!image_formats()[0]) {
            run_msg("this infer-run was built without libpng and libjpeg: install libpng-dev and "
                    "libjpeg62-turbo-dev, then rebuild (make)");
            return 1;
        }
        if (in->dim_names[c] || (in->dims[c] != 1 && in->dims[c] != 3))
            return run_usage_error("input '%s': dim %d (channels, layout %s) must be 1 or 3", in->name, c,
                                   o->layout_nhwc ? "nhwc" : "nchw");
        job->image_c = (int)in->dims[c];
        if (!mo->image_h) {
            if (in->dim_names[h] || in->dim_names[w])
                return run_usage_error("the model's image size is symbolic: give --image-size H,W");
            mo->image_h = (int)in->dims[h];
            mo->image_w = (int)in->dims[w];
        } else if ((!in->dim_names[h] && in->dims[h] != o->image_h) || (!in->dim_names[w] && in->dims[w] != o->image_w)) {
            return run_usage_error("--image-size %d,%d: the model takes %lldx%lld", o->image_h, o->image_w,
                                   (long long)in->dims[h], (long long)in->dims[w]);
        }
        if ((o->n_mean != 0 && o->n_mean != 1 && o->n_mean != job->image_c) ||
            (o->n_std != 0 && o->n_std != 1 && o->n_std != job->image_c))
            return run_usage_error("--mean and --std want 1 or %d values", job->image_c);
    }
    return 0;
}

/* The sets, the output folder and the journal; --resume skips what is complete. Returns
   0 to go on, or an exit status. */
static int run_prepare(run_job *job, run_list *files) {
    size_t i, n_failed_inputs = 0;
    if (!run_build_sets(job, files, &n_failed_inputs)) return 2;
    if (!run_mkdirs(job->opt->out_dir)) {
        run_msg("%s: cannot create the output folder: %s", job->opt->out_dir, strerror(errno));
        return 1;
    }
    for (i = 0; i < job->n_sets; i++) { /* --resume: complete outputs need nothing */
        run_set *set = &job->sets[i];
        if (set->state != RUN_PENDING) continue;
        if (job->opt->resume && run_outputs_complete(job, set)) {
            set->state = RUN_DONE;
            set->n_resumed = set->n_items;
            job->n_skipped += set->n_items;
            continue;
        }
        if (!(set->done = (uint8_t *)calloc(set->n_items, 1))) {
            run_msg("out of memory");
            return 1;
        }
    }
    if (!run_journal_open(job)) return 1;
    for (i = 0; i < job->n_sets; i++) {
        run_set *set = &job->sets[i];
        if (set->state != RUN_PENDING) continue;
        job->n_skipped += set->n_resumed;
        job->n_total += set->n_items - set->n_resumed;
        if (set->n_written == set->n_items) run_set_commit(job, set); /* killed just before the rename */
    }
    job->n_failures += n_failed_inputs;
    return 0;
}

int main(int argc, char **argv) {
    run_options o;
    run_job job;
    run_worker *workers = NULL;
    run_list files;
    size_t i, k, n_items = 0, n_devices = 0, n_started;
    double secs;
    int rc, n_threads, n_local = 1; /* n_local: processes sharing this machine's cores */
#ifdef INFER_TOOLS_MPI
    infer_comm comm;
    memset(&comm, 0, sizeof comm);
#endif
    memset(&job, 0, sizeof job);
    memset(&files, 0, sizeof files);
    job.journal_fd = -1;
    run_tty = isatty(2);
    rc = run_parse(argc, argv, &o);
    if (rc) {
        free((void *)o.paths);
        return rc < 0 ? 0 : rc;
    }
#ifdef INFER_WITH_CUDA
    if (infer_cuda_register() != INFER_STATUS_OK) { /* before any session asks for "cuda" */
        run_msg("cannot register the CUDA backend: %s", infer_last_error());
        free((void *)o.paths);
        return 1;
    }
#endif
    if (o.inspect) {
        rc = run_inspect(&o);
        free((void *)o.paths);
        return rc;
    }
#ifdef INFER_TOOLS_MPI
    if (o.tp < 0) {
        MPI_Comm node;
        MPI_Init(&argc, &argv);
        if (infer_mpi_comm_create(MPI_COMM_WORLD, &comm) != INFER_STATUS_OK) {
            run_msg("cannot make the MPI communicator");
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        job.comm = &comm;
        job.rank = comm.rank;
        if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
            MPI_Comm_size(node, &n_local);
            MPI_Comm_free(&node);
        }
    }
#endif
    run_install_signals(); /* from here on a signal stops the run and removes what it wrote */
    job.opt = &o;
    pthread_mutex_init(&job.lock, NULL);
    pthread_cond_init(&job.changed, NULL);
    job.t0 = cli_now();
    rc = run_setup(&job);
    if (!rc && job.rank == 0) rc = run_prepare(&job, &files);
    /* workers: one per device, threads shared among them unless --threads says */
    n_devices = o.n_devices ? o.n_devices : 1;
    for (i = 0; !rc && i < o.n_devices; i++) { /* a device this build lacks fails here, once */
        infer_session_options so;
        size_t bytes;
        memset(&so, 0, sizeof so);
        so.device = o.devices[i];
        if (strcmp(o.devices[i], "cpu") != 0 &&
            infer_session_arena_bytes(job.model, &so, &bytes) == INFER_STATUS_UNSUPPORTED) {
#ifdef INFER_WITH_CUDA
            run_msg("--device %s: %s", o.devices[i], infer_last_error());
#else
            run_msg("--device %s: %s (this infer-run was built without CUDA: build it with make cuda)", o.devices[i],
                    infer_last_error());
#endif
            rc = 1;
        }
    }
    n_threads = o.n_threads ? (int)o.n_threads : cli_n_cores() / (int)n_devices / (o.tp > 1 ? (int)o.tp : 1) / n_local;
    if (n_threads < 1) n_threads = 1;
    if (!rc && !(workers = (run_worker *)calloc(n_devices, sizeof *workers))) {
        run_msg("out of memory");
        rc = 1;
    }
    for (i = 0; !rc && i < n_devices; i++) {
        run_worker *w = &workers[i];
        w->job = &job;
        w->device = o.n_devices ? o.devices[i] : "cpu";
        w->n_threads = n_threads;
        w->files_set = SIZE_MAX;
        for (k = 0; k < RUN_MAX_IO; k++) w->files[k].fd = -1;
        w->segs = (run_seg *)calloc(job.batch, sizeof *w->segs);
        w->bad = (uint8_t *)calloc(job.batch, 1);
        if (!w->segs || !w->bad) {
            run_msg("out of memory");
            rc = 1;
        }
    }
#ifdef INFER_TOOLS_MPI
    if (job.comm) rc = run_mpi_share(&job, rc); /* every rank goes on, or none */
#endif
    if (rc) goto done;
    for (i = 0; i < n_devices; i++) {
        run_worker *w = &workers[i];
        pthread_mutex_lock(&job.lock);
        job.n_running++;
        pthread_mutex_unlock(&job.lock);
        if (job.comm) { /* --tp mpi: the one worker runs on this thread, where MPI was initialised */
            run_worker_main(w);
        } else if (pthread_create(&w->thread, NULL, run_worker_main, w) != 0) {
            run_msg("cannot start a thread: %s", strerror(errno));
            pthread_mutex_lock(&job.lock);
            job.n_running--;
            job.fatal = 1;
            pthread_mutex_unlock(&job.lock);
            break;
        }
    }
    n_started = job.comm ? 0 : i; /* threads to join */
    pthread_mutex_lock(&job.lock);
    while (job.n_running > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&job.changed, &job.lock, &ts);
        if (run_tty && cli_now() - job.last_draw >= 0.1) { /* at most 10 times a second */
            job.last_draw = cli_now();
            pthread_mutex_unlock(&job.lock);
            run_progress(&job, job.t0);
            pthread_mutex_lock(&job.lock);
        }
    }
    pthread_mutex_unlock(&job.lock);
    for (i = 0; i < n_started; i++) pthread_join(workers[i].thread, NULL);
    if (run_tty && job.rank == 0) {
        run_progress(&job, job.t0);
        fputc('\n', stderr);
    }
    /* what is not complete now is removed: no partial files, whatever stopped the run */
    for (i = 0; i < job.n_sets; i++) {
        run_set *set = &job.sets[i];
        if (set->state == RUN_DONE) n_items += set->n_items - set->n_resumed;
        if (set->state == RUN_PENDING && !run_signal && !job.fatal) run_set_fail(&job, set, "%s: not processed", set->label);
        if (set->state != RUN_DONE) run_set_clean(&job, set);
    }
    n_items -= (job.n_bad_items < n_items ? job.n_bad_items : n_items);
    if (job.journal_fd >= 0) {
        unlink(job.journal); /* before closing, which releases the lock */
        close(job.journal_fd);
    }
    job.journal_fd = -1;
    secs = cli_now() - job.t0;
    if (job.rank == 0 && o.json) /* the other ranks of --tp mpi report nothing */
        printf("{\"items\": %zu, \"failures\": %zu, \"skipped\": %zu, \"seconds\": %.3f, \"items_per_s\": %.1f, "
               "\"peak_rss_bytes\": %zu}\n", n_items, job.n_failures, job.n_skipped, secs,
               secs > 0 ? (double)n_items / secs : 0.0, cli_peak_rss_bytes());
    else if (job.rank == 0)
        run_msg("%zu items in %.2f s (%.1f items/s), %zu failed, %zu skipped; peak memory %.1f MiB%s", n_items, secs,
                secs > 0 ? (double)n_items / secs : 0.0, job.n_failures, job.n_skipped,
                (double)cli_peak_rss_bytes() / (1024.0 * 1024.0), run_signal ? "; interrupted" : "");
    rc = run_signal ? 128 + run_signal : job.n_failures || job.fatal ? 1 : 0;
#ifdef INFER_TOOLS_MPI
    if (job.comm) MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD); /* rank 0's: it saw the whole job */
#endif
done:
    if (job.journal_fd >= 0) { /* a failure after the journal was opened: nothing was written */
        unlink(job.journal);
        close(job.journal_fd);
    }
    for (i = 0; i < n_devices && workers; i++) {
        free(workers[i].segs);
        free(workers[i].bad);
    }
    free(workers);
    for (i = 0; i < job.n_sets; i++) {
        run_set *set = &job.sets[i];
        free(set->done);
        free(set->hdr);
        if (job.n_in > 1) free(set->paths);
    }
    free(job.sets);
    free(job.cls_rep);
    free(job.pending);
    run_list_free(&files);
    infer_model_free(job.model);
    free((void *)o.paths);
#ifdef INFER_TOOLS_MPI
    if (job.comm) {
        infer_mpi_comm_free(&comm);
        MPI_Finalize();
    }
#endif
    return rc;
}
