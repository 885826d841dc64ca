/* infer.h v0.1.0 - embeddable neural-network inference, one C file (MIT, see end of file)

   QUICK START
   -----------
   Do this in exactly one C or C++ file (the repository ships it as infer.c):

       #define INFER_IMPLEMENTATION
       #include "infer.h"

   and include "infer.h" without the define wherever you call it. Then (the README's example):

       #include <stdio.h>
       #include "infer.h"   // and compile infer.c (or #define INFER_IMPLEMENTATION in one file)

       int classify(const char *path, float *x, float *y) {  // x: [1][64], y: [1][10]
           infer_model *model = NULL;
           infer_session *sess = NULL;
           infer_dim dims[] = {{"batch", 1}};
           infer_session_options opt = {0};
           infer_tensor in  = {"input",  INFER_DTYPE_F32, 2, {1, 64}, x, 64 * sizeof(float)};
           infer_tensor out = {"logits", INFER_DTYPE_F32, 0, {0},     y, 10 * sizeof(float)};
           int ok = 0;
           opt.dims = dims;
           opt.n_dims = 1;
           if (infer_model_load(path, NULL, &model) != INFER_STATUS_OK)
               fprintf(stderr, "%s\n", infer_last_error());
           else if (infer_session_create(model, &opt, &sess) != INFER_STATUS_OK)
               fprintf(stderr, "%s\n", infer_last_error());
           else if (infer_run(sess, &in, 1, &out, 1) != INFER_STATUS_OK)
               fprintf(stderr, "%s\n", infer_session_error(sess));
           else
               ok = 1;
           infer_session_free(sess);
           infer_model_free(model);
           return ok;
       }

   Build with: cc -O2 app.c infer.c -lm -pthread

   CONFIGURATION
   -------------
   Define before including the implementation (all are "implementation only"
   unless marked "global", which must match in every file that includes infer.h):

   INFER_MALLOC(sz), INFER_FREE(p)  default malloc/free; define both or neither.
                                    A per-object infer_allocator overrides them.
   INFER_ASSERT(c)                  default assert(c); guards our own invariants only,
                                    never anything that comes from a file or a caller.
   INFER_NO_SIMD                    build only the portable reference kernels.
   INFER_NO_MMAP                    read model files with fread instead of mmap
                                    (or, on Windows, the Win32 file mapping).
   INFER_NO_THREADS                 no worker threads: loops run on the caller's thread
                                    (a host's parallel_for hook still applies). Threads
                                    are pthreads; OpenMP is not used (section 2, "threads").
   INFER_USE_SLEEF                  the AVX2/AVX-512 kernels take exp, tanh and erf from
                                    SLEEF (Debian libsleef-dev; link -lsleef) instead of
                                    infer.h's own vector versions (a few ulp; section 9).
   INFER_MAX_TENSORS, INFER_MAX_NODES, INFER_MAX_STRING_BYTES, INFER_MAX_ATTRS,
   INFER_MAX_NODE_IO, INFER_MAX_DIM_VALUE   caps on what a file may declare
                                    (defaults below, in section 3).
   INFER_TP_MAX_DEVICES             most devices one tensor-parallel session may span
                                    (default 64; section 8).

   GUARANTEES
   ----------
   Threads: an infer_model is immutable after load; any number of threads may
   create sessions from it and query it at once. An infer_session is used by one
   thread at a time. infer_last_error() is per thread. infer_register_backend takes a
   lock of its own (the backend registry is the one process-wide table; docs/BACKENDS.md).
   Hostile files: infer_model_load* validates every offset, size, count, index,
   enum, dim and the graph order before using them, with overflow-checked
   arithmetic; a malformed file yields INFER_STATUS_BAD_FILE (or UNSUPPORTED /
   OUT_OF_MEMORY) and a message naming the section, item and value. It never
   reads outside the file, never asserts, aborts or exits. A well-formed file
   can still ask for a lot of work or memory: the caps above bound it.
   infer_run allocates nothing and does no I/O; its only locks are the session's own
   worker-thread wake-ups (none with n_threads = 1 or a host parallel_for).
   A good guest: the library never prints (a log callback in the session options gets
   its messages); inside a run, an idle worker thread spins at most spin_us (default
   1000 us) before it sleeps, and between runs none spins; infer_session_set_dims
   re-plans into the same arena, which grows only for a larger plan, with at most
   max_plans plans kept; infer_session_cancel
   (from any thread), a deadline or an abort callback stop a run with
   INFER_STATUS_CANCELLED, and the session stays usable. A tensor-parallel session
   with tp = N > 1 (section 8) also owns N - 1 device threads that sleep on a condition
   variable between runs (no spinning); its infer_run synchronises the devices through a
   mutex at each all-reduce / all-gather.

   PLATFORMS
   ---------
   Little-endian only: .infer files are little-endian and read in place, so a
   big-endian build compiles but infer_model_load* returns INFER_STATUS_UNSUPPORTED
   with a message saying so.
   x86-64 (GCC, Clang)  AVX2/FMA and AVX-512 GEMM kernels, picked at run time.
   AArch64 (GCC, Clang) NEON kernels (Advanced SIMD is always there): GEMM, Conv
                        (on the GEMM; direct depthwise 3x3/5x5), unary activations,
                        Add/Sub/Mul/Div, Softmax/LogSoftmax, LayerNormalization,
                        Attention.
   Other CPUs           the portable reference kernels.
   POSIX                mmap for model files, clock_gettime, sysconf.
   Windows              CreateFileW + CreateFileMappingW + MapViewOfFile for model
                        files (paths are UTF-8, converted with MultiByteToWideChar),
                        QueryPerformanceCounter, MoveFileExW when saving; <windows.h>
                        is included by the implementation only, with
                        WIN32_LEAN_AND_MEAN and NOMINMAX unless you included it first.
                        MinGW-w64: C99 printf (__USE_MINGW_ANSI_STDIO) is turned on.
   MSVC (not tested here; the above is built with MinGW-w64): thread-local error
   text through __declspec(thread); worker threads are pthreads (MinGW-w64 has
   winpthreads; with MSVC use a pthreads port or define INFER_NO_THREADS); no x86 SIMD kernels (they use GCC target attributes), so x64 runs the
   reference kernels; ARM64 takes the NEON kernels from <arm_neon.h>. For a DLL,
   define INFER_API (global) as `extern __declspec(dllexport)` when building it and
   `extern __declspec(dllimport)` when using it (in C++, `extern "C" __declspec(...)`);
   the default is plain extern.

   CONTENTS
   --------
   1 api     public types and functions                       >>api
   2 util    allocation, errors, checked maths, hashing, f16  >>util
   3 file    .infer reader (validation) and writer (builder)  >>file
   4 graph   the operator table                                >>graph
   5 passes  shape inference and constant folding             >>passes
   6 plan    the static memory planner                         >>plan
   7 exec    session, executor and the backend interface       >>exec
   8 tp      tensor parallelism: partitioner, communicators     >>tp
   9 cpu     CPU backend: reference and SIMD kernels, GEMM     >>cpu
*/
#ifndef INFER_H
#define INFER_H

#include <stddef.h>
#include <stdint.h>

/* ===== 1. PUBLIC API ================================================= >>api */

#define INFER_VERSION_MAJOR 0
#define INFER_VERSION_MINOR 1
#define INFER_VERSION_PATCH 0
#define INFER_VERSION_STRING "0.1.0"

#define INFER_MAX_DIMS 8 /* the highest tensor rank the runtime and the file format allow */

#ifndef INFER_API
#ifdef __cplusplus
#define INFER_API extern "C"
#else
#define INFER_API extern
#endif
#endif

#if defined(__GNUC__) || defined(__clang__)
#define INFER_DEPRECATED __attribute__((deprecated))
#elif defined(_MSC_VER)
#define INFER_DEPRECATED __declspec(deprecated)
#else
#define INFER_DEPRECATED
#endif

/* X-macro: status, name. infer_status_name() returns the name. */
#define INFER_STATUS_LIST(X)                                                   \
    X(OK, "ok")                                                                \
    X(INVALID_ARGUMENT, "invalid argument")                                    \
    X(OUT_OF_MEMORY, "out of memory")                                          \
    X(IO, "i/o error")                                                         \
    X(BAD_FILE, "bad model file")                                              \
    X(UNSUPPORTED, "unsupported")                                              \
    X(SHAPE, "shape mismatch")                                                 \
    X(BACKEND, "backend failure")                                              \
    X(CANCELLED, "cancelled")

typedef enum infer_status {
#define INFER__X(name, text) INFER_STATUS_##name,
    INFER_STATUS_LIST(INFER__X)
#undef INFER__X
    INFER_STATUS_COUNT
} infer_status;

/* Element types. Values are stored in the file format: append only.
   The small types after BOOL (float8 e4m3fn/e4m3fnuz/e5m2/e5m2fnuz/e8m0, float4 e2m1,
   4- and 2-bit integers) take one byte per element, unpacked: the value sits in the low
   bits, sign-extended for I4 and I2. They move through every data-movement op; Cast and
   CastLike convert them (ONNX rules: round to nearest even, 'saturate', e8m0 'round_mode';
   floats to 4- and 2-bit integers round to nearest even, then keep the low bits). */
#define INFER_DTYPE_LIST(X)                                                    \
    X(UNDEFINED, "undefined", 0)                                               \
    X(F32, "f32", 4)                                                           \
    X(F16, "f16", 2)                                                           \
    X(BF16, "bf16", 2)                                                         \
    X(F64, "f64", 8)                                                           \
    X(I8, "i8", 1)                                                             \
    X(I16, "i16", 2)                                                           \
    X(I32, "i32", 4)                                                           \
    X(I64, "i64", 8)                                                           \
    X(U8, "u8", 1)                                                             \
    X(U16, "u16", 2)                                                           \
    X(U32, "u32", 4)                                                           \
    X(U64, "u64", 8)                                                           \
    X(BOOL, "bool", 1)                                                         \
    X(F8E4M3FN, "f8e4m3fn", 1)                                                 \
    X(F8E4M3FNUZ, "f8e4m3fnuz", 1)                                             \
    X(F8E5M2, "f8e5m2", 1)                                                     \
    X(F8E5M2FNUZ, "f8e5m2fnuz", 1)                                             \
    X(U4, "u4", 1)                                                             \
    X(I4, "i4", 1)                                                             \
    X(F4E2M1, "f4e2m1", 1)                                                     \
    X(F8E8M0, "f8e8m0", 1)                                                     \
    X(U2, "u2", 1)                                                             \
    X(I2, "i2", 1)

typedef enum infer_dtype {
#define INFER__X(name, text, bytes) INFER_DTYPE_##name,
    INFER_DTYPE_LIST(INFER__X)
#undef INFER__X
    INFER_DTYPE_COUNT
} infer_dtype;

typedef struct infer_model infer_model;     /* immutable after load; share freely */
typedef struct infer_session infer_session; /* one thread at a time */
typedef struct infer_builder infer_builder; /* builds a graph to save as .infer */

/* Allocation hooks for one object. All zero: INFER_MALLOC / INFER_FREE.
   alloc returns memory aligned for any C type (as malloc does) or NULL. */
typedef struct infer_allocator {
    void *(*alloc)(void *user, size_t bytes);
    void (*free)(void *user, void *ptr); /* ptr may be NULL */
    void *user;
} infer_allocator;

/* A caller-owned tensor view, for infer_run's inputs and outputs.
   name: matched against the model's input/output names; NULL matches by position.
   Inputs: dtype, n_dims and dims must equal the session's bound shape; data is only read.
   Outputs: data and data_bytes give the caller's buffer; infer_run fills in dtype,
   n_dims and dims. Data is dense, row-major (C order). */
typedef struct infer_tensor {
    const char *name;
    infer_dtype dtype;
    int n_dims;
    int64_t dims[INFER_MAX_DIMS];
    void *data;
    size_t data_bytes;
} infer_tensor;

/* What a model or session says about one of its inputs or outputs.
   dims[i] is -1 where the dim is symbolic (then dim_names[i] names it, e.g. "batch")
   or unknown; n_dims is -1 when the rank is unknown before a session binds dims. */
typedef struct infer_tensor_info {
    const char *name;
    infer_dtype dtype; /* UNDEFINED: not known before a session is created */
    int n_dims;
    int64_t dims[INFER_MAX_DIMS];
    const char *dim_names[INFER_MAX_DIMS]; /* NULL for a fixed dim */
} infer_tensor_info;

/* A value for a symbolic dim, e.g. {"batch", 8}. */
typedef struct infer_dim {
    const char *name;
    int64_t value;
} infer_dim;

typedef struct infer_model_options {
    int verify_weights;        /* 0: check the metadata checksum only; 1: also hash the
                                  weight data (costs one pass over it) */
    int copy;                  /* infer_model_load_memory: 0 uses the caller's buffer in
                                  place (it must outlive the model and stay unchanged),
                                  1 copies it. A buffer not 64-byte aligned is always copied. */
    infer_allocator allocator; /* all zero: INFER_MALLOC / INFER_FREE */
} infer_model_options;

/* A communicator for tensor parallelism (section 8): how the devices of one split model
   exchange partial results. infer.h brings the in-process one (infer_session_options.tp);
   backends/mpi/infer_mpi.h makes one over MPI, and any other transport can fill this in.
   Every rank calls each collective in the same order with the same counts; the functions
   return INFER_STATUS_OK or a failure that ends the run (INFER_STATUS_BACKEND). */
typedef struct infer_comm {
    int rank, size;            /* this device's rank in [0, size) */
    void *user;                /* passed to the functions */
    /* Sums n floats over all ranks, in place; every rank ends with the same values. */
    infer_status (*allreduce_sum_f32)(void *user, float *data, size_t n);
    /* Concatenates counts[r] floats from each rank r, rank 0's first, into recv;
       send holds counts[rank] floats. */
    infer_status (*allgather_f32)(void *user, const float *send, float *recv, const size_t *counts);
    infer_status (*barrier)(void *user);
} infer_comm;

/* -- being a good guest in a host application (threads, logging) -- */

/* task(task_arg, i) is one share of a parallel loop. */
typedef void (*infer_task_fn)(void *task_arg, int i);
/* A host's parallel-for: must call task(task_arg, i) exactly once for every i in
   [0, n_tasks), on any of its threads (the calling one included), in any order, at the
   same time or not, and return only when all have returned. The tasks are a fixed,
   static split of the loop, so results do not depend on which thread runs which task. */
typedef void (*infer_parallel_fn)(void *user, int n_tasks, infer_task_fn task, void *task_arg);

typedef enum infer_log_level {
    INFER_LOG_ERROR = 1, /* a call failed; the message is the one infer_session_error gives */
    INFER_LOG_WARN,      /* it works, less well than asked (e.g. a worker thread did not start) */
    INFER_LOG_INFO,      /* a session was planned or re-planned, its arena grew, a run was cancelled */
    INFER_LOG_DEBUG      /* more detail */
} infer_log_level;
/* Receives one message (no trailing newline; valid during the call only). Called on the
   thread that made the library call; never from a worker thread. */
typedef void (*infer_log_fn)(void *user, infer_log_level level, const char *message);

/* infer_session_options.precision: the inputs of a matrix product (MatMul, Gemm, Conv) may be
   rounded to this format on a device that has faster arithmetic for it; sums and the tensors
   stay f32. F16 overflows past 65504 (an activation that large becomes inf). */
typedef enum infer_precision {
    INFER_PRECISION_F32 = 0,
    INFER_PRECISION_TF32, /* 10-bit mantissa, f32's range */
    INFER_PRECISION_F16,  /* 10-bit mantissa, 5-bit exponent */
    INFER_PRECISION_BF16  /* 7-bit mantissa, f32's range */
} infer_precision;

typedef struct infer_session_options {
    int n_threads;             /* 0: one per core; 1: no thread at all, everything runs on the
                                  caller's thread. N > 1: the session starts N - 1 worker
                                  threads of its own (unless parallel_for is set), which sleep
                                  on a condition variable between parallel loops. With tp > 1:
                                  per device (0: the cores shared among the devices) */
    const char *device;        /* NULL or "cpu": the CPU backend. "NAME" or "NAME:N": device N
                                  (default 0) of the backend registered as NAME
                                  (infer_register_backend); nodes it lacks run on the CPU,
                                  and `arena` below is then their host mirror of the plan.
                                  Statuses: UNSUPPORTED (NAME not registered), BACKEND (no
                                  device N, or it fails to open) */
    const infer_dim *dims;     /* values for the model's symbolic dims */
    size_t n_dims;
    void *arena;               /* NULL: allocate; else a buffer of at least the size
                                  infer_session_arena_bytes() reports, 64-byte aligned,
                                  owned by the caller, outliving the session */
    size_t arena_bytes;
    infer_allocator allocator; /* all zero: INFER_MALLOC / INFER_FREE */
    int force_reference;       /* 1: use the portable reference kernels only (tests) */
    size_t max_memory_bytes;   /* 0: no cap; else creation fails (OUT_OF_MEMORY) before any
                                  tensor, folded constant or arena would take more than this */
    int profile;               /* 1: time every node of every run (see infer_session_node) */
    const infer_tensor *constants; /* values of graph inputs fixed when the session is created
                                  (by name): they fold like constants, so an input that sets a
                                  shape (a Reshape's target, say) can be a graph input. The
                                  data is copied; infer_run does not take these inputs. */
    size_t n_constants;
    int spin_us;               /* how long a worker thread busy-waits for the next parallel loop
                                  before it sleeps, in microseconds. 0: 1000; < 0: none, sleep at
                                  once. Spinning saves the wake-up (~5-200 us on a VM) between the
                                  loops of one run; when infer_run returns the workers sleep at once */
    infer_parallel_fn parallel_for; /* NULL: the session's own worker threads; else every parallel
                                  loop runs through this host hook (with parallel_user) in up to
                                  n_threads tasks, and the session starts no thread */
    void *parallel_user;
    int (*abort)(void *user);  /* NULL: none; else polled (with abort_user) on the thread that
                                  calls infer_run, before every node and between shares of long
                                  kernels: nonzero cancels the run (INFER_STATUS_CANCELLED). */
    void *abort_user;
    infer_log_fn log;          /* NULL: no messages (the library never prints); else receives
                                  this session's messages, with log_user */
    void *log_user;
    int max_plans;             /* plans infer_session_set_dims keeps, one per distinct binding of
                                  dims (the current one included). 0: 8; the least recently used goes */
    int tp;                    /* 0 or 1: one device. N > 1: tensor parallelism over N CPU devices
                                  in this process, each with its own weight shards, arena and
                                  thread team (section 8); infer_run runs them all */
    const infer_comm *comm;    /* NULL: none. Else this process is rank comm->rank of comm->size
                                  (e.g. one MPI rank) and holds that rank's shards only; tp must
                                  be 0 or comm->size. The communicator must outlive the session */
    int precision;             /* an infer_precision: the least precise arithmetic a device may use
                                  for matrix products (tensor cores). 0 (F32): f32. The CPU backend
                                  always computes in f32; a device backend without the choice too */
} infer_session_options;

/* Memory and work figures of a session's plan. */
typedef struct infer_session_stats {
    size_t arena_bytes;             /* the planned arena */
    size_t arena_lower_bound_bytes; /* largest sum of live tensor sizes at any step */
    size_t constant_bytes;          /* values computed once at session creation */
    size_t n_nodes;                 /* nodes in the model */
    size_t n_steps;                 /* nodes left to run per infer_run after folding */
    int n_threads;
    size_t arena_capacity_bytes;    /* the arena held: the largest plan's so far (never shrinks); on a
                                       device, the host mirror (0 when every node is on the device) */
    size_t n_plans;                 /* plans kept for infer_session_set_dims, the current one included */
    size_t packed_weight_bytes;     /* weights pre-packed at creation for the SIMD kernels (Conv's W,
                                       a constant B of MatMul/Gemm, an int8 B or W with its scales), owned
                                       by the session; a packed weight read by nothing else gives
                                       back its mapped file pages */
    /* a session on a registered device (infer_session_options.device; see infer_backend): */
    size_t n_device_nodes;          /* steps the device runs */
    size_t n_fallback_nodes;        /* steps that run on the CPU because the backend lacks them */
    size_t copy_bytes_per_run;      /* explicit host <-> device bytes per run around the fallback
                                       nodes (the graph's own inputs and outputs not counted) */
} infer_session_stats;

/* What tensor parallelism did to a session (infer_session_get_tp_stats). Weight bytes
   count the constants the graph's nodes read; a device holds its shards of the split
   layers plus every replicated weight. */
typedef struct infer_tp_stats {
    int n_devices;                  /* 1: not tensor-parallel */
    int rank;                       /* the rank this process runs (communicator), else 0 */
    int n_split;                    /* layers split across the devices */
    int n_allreduce, n_allgather;   /* collectives per run */
    size_t weight_bytes;            /* the whole model, one device */
    size_t split_weight_bytes;      /* of which in the split layers */
    size_t replicated_weight_bytes; /* of which every device holds a copy of (or shares) */
    size_t device_weight_bytes;     /* the most any one device holds: shards + replicated */
    size_t device_arena_bytes;      /* the largest arena of any device */
    size_t comm_bytes;              /* per run: the sum of the collectives' full tensor sizes */
    double comm_ms;                 /* time in collectives on device 0 (or this rank), all runs,
                                       waiting for the other devices included; host ones only
                                       (device_collectives: those are enqueued, not timed) */
    uint64_t n_runs;                /* infer_run calls so far */
    int n_attention_split;          /* attention blocks split by heads (their Q/K/V and output
                                       projections count in n_split) */
    int device_collectives;         /* 1: the devices' backend runs the collectives (NCCL),
                                       0: the host does (the CPU, or copies around them) */
} infer_tp_stats;

/* -- status and errors -- */
INFER_API const char *infer_status_name(infer_status s); /* static text, never NULL */
INFER_API const char *infer_dtype_name(infer_dtype t);   /* static text, never NULL */
INFER_API size_t infer_dtype_bytes(infer_dtype t);       /* 0 for an unknown dtype */
/* Detail of this thread's last failure ("" if none). Every failing call sets it. */
INFER_API const char *infer_last_error(void);
INFER_API const char *infer_version(void); /* INFER_VERSION_STRING */

/* -- model -- */
/* Maps the file (zero-copy weights) and validates it. opt may be NULL.
   On failure *out is NULL; infer_last_error() names the file, item and problem.
   Statuses: IO, BAD_FILE, UNSUPPORTED (newer format version, unknown op),
   OUT_OF_MEMORY, INVALID_ARGUMENT. */
INFER_API infer_status infer_model_load(const char *path, const infer_model_options *opt,
                                        infer_model **out);
/* As infer_model_load, from bytes in memory (see infer_model_options.copy). */
INFER_API infer_status infer_model_load_memory(const void *data, size_t bytes,
                                               const infer_model_options *opt,
                                               infer_model **out);
INFER_API void infer_model_free(infer_model *m); /* accepts NULL */
INFER_API size_t infer_model_n_inputs(const infer_model *m);
INFER_API size_t infer_model_n_outputs(const infer_model *m);
/* Fill *info for input/output i. Strings live as long as the model. INVALID_ARGUMENT
   for i out of range. Output dtype and dims are the ones the file declares, if any. */
INFER_API infer_status infer_model_input(const infer_model *m, size_t i, infer_tensor_info *info);
INFER_API infer_status infer_model_output(const infer_model *m, size_t i, infer_tensor_info *info);
/* Metadata key-value pairs written by the builder (e.g. "producer"). */
INFER_API size_t infer_model_n_metadata(const infer_model *m);
INFER_API infer_status infer_model_metadata(const infer_model *m, size_t i, const char **key,
                                            const char **value);
INFER_API const char *infer_model_metadata_get(const infer_model *m, const char *key); /* NULL if absent */

/* -- session -- */
/* Binds symbolic dims, infers every shape, folds what is constant, selects kernels,
   plans memory and allocates the arena (unless opt->arena is given). opt may be NULL.
   Statuses: SHAPE (unbound dim, shapes that do not fit), UNSUPPORTED (dtype or
   attribute a kernel lacks), OUT_OF_MEMORY, INVALID_ARGUMENT (arena too small). */
INFER_API infer_status infer_session_create(const infer_model *m, const infer_session_options *opt,
                                            infer_session **out);
/* The arena size a session created with these options would need (plans, then frees). */
INFER_API infer_status infer_session_arena_bytes(const infer_model *m,
                                                 const infer_session_options *opt,
                                                 size_t *arena_bytes);
INFER_API void infer_session_free(infer_session *s); /* accepts NULL */
/* Runs the plan. inputs: one per model input (by name, or by position when name is
   NULL). outputs: any subset of the model outputs. Allocates nothing.
   Statuses: INVALID_ARGUMENT (unknown name, missing input, buffer too small),
   SHAPE (input dims or dtype differ from the bound ones), BAD_FILE-free: a run can also
   fail on data, e.g. INVALID_ARGUMENT for a Gather index out of range; CANCELLED when
   infer_session_cancel, the deadline or the abort callback stopped it (outputs undefined).
   Parallel loops run on the session's worker threads, or the host's parallel_for. */
INFER_API infer_status infer_run(infer_session *s, const infer_tensor *inputs, size_t n_inputs,
                                 infer_tensor *outputs, size_t n_outputs);
/* The session's last failure ("" if none); also in infer_last_error() of that thread. */
INFER_API const char *infer_session_error(const infer_session *s);
/* Inputs/outputs with the dims this session bound (dims are all known). */
INFER_API infer_status infer_session_input(const infer_session *s, size_t i, infer_tensor_info *info);
INFER_API infer_status infer_session_output(const infer_session *s, size_t i, infer_tensor_info *info);
INFER_API void infer_session_get_stats(const infer_session *s, infer_session_stats *stats);
/* Re-binds the symbolic dims (a new batch or sequence length; the same form as
   infer_session_options.dims, every symbolic dim given). The session switches to a plan for
   these dims: a kept one, or a new one (at most max_plans are kept). The arena is reused
   when the plan fits and grows only when it does not, so cycling through a few shapes
   allocates nothing after each has been seen once. max_memory_bytes caps the new plan as
   it caps creation; with a caller's arena, a plan that does not fit in it is refused.
   On failure (SHAPE, OUT_OF_MEMORY, INVALID_ARGUMENT) the session keeps its previous dims
   and stays usable. Same thread rules as infer_run. */
INFER_API infer_status infer_session_set_dims(infer_session *s, const infer_dim *dims, size_t n_dims);
/* Asks the run in progress on s to stop: it returns INFER_STATUS_CANCELLED soon after (it
   checks before every node and between shares of long kernels), its outputs undefined; the
   session stays usable. When no run is in progress the next run is cancelled at its start.
   Thread-safe: any thread may call it at any time while s exists (not a signal handler). */
INFER_API void infer_session_cancel(infer_session *s);
/* Runs of s return INFER_STATUS_CANCELLED once infer_now_ms() passes deadline_ms (checked as
   infer_session_cancel's request is); 0 removes the deadline. Stays set until changed.
   Thread-safe as infer_session_cancel. */
INFER_API void infer_session_set_deadline(infer_session *s, double deadline_ms);
/* A monotonic clock in milliseconds (the one deadlines use). Thread-safe. */
INFER_API double infer_now_ms(void);
/* Tensor-parallel figures (n_devices = 1 for a plain session). */
INFER_API void infer_session_get_tp_stats(const infer_session *s, infer_tp_stats *stats);
/* The tensor-parallel plan as text: each layer split (how, shard sizes) and each collective
   with its bytes per run, then the totals. "" for a plain session; lives as the session.
   infer_session_get_stats and infer_session_node of a tensor-parallel session describe
   device 0's graph (this rank's, with a communicator): its AllReduce/AllGather nodes too. */
INFER_API const char *infer_session_tp_plan(const infer_session *s);

/* -- introspection and profiling -- */
typedef struct infer_model_stats {
    size_t n_nodes, n_tensors, n_inputs, n_outputs;
    size_t n_constants;       /* tensors with data in the file (weights and other constants) */
    size_t constant_elements; /* their element count: the parameter count */
    size_t constant_bytes;
    size_t file_bytes;
} infer_model_stats;

typedef struct infer_node_info {
    const char *name;
    const char *op_type;      /* ONNX name, e.g. "Conv" */
    size_t n_inputs, n_outputs;
    /* sessions only: */
    int runs;                 /* 1: runs on every infer_run; 0: folded at creation, a shared view, or
                                 done by the Conv before it (a residual Add and its Relu) */
    const char *kernel;       /* the kernel variant chosen ("avx512", "avx2", "ref"; "int8_vnni",
                                 "int8_avx2": a MatMul/Gemm/Conv on int8 weights), NULL when it does not run */
    double total_ms;          /* with infer_session_options.profile: time in this node, all runs */
    uint64_t n_runs;          /* infer_run calls timed so far */
    const char *device;       /* sessions: where it runs: "cpu", a backend's name ("cuda"), or
                                 "cpu (fallback)" (a device session's node that backend lacks);
                                 NULL when it does not run */
} infer_node_info;

INFER_API void infer_model_get_stats(const infer_model *m, infer_model_stats *stats);
/* Node i of the model, in execution order (INVALID_ARGUMENT when out of range). */
INFER_API infer_status infer_model_node(const infer_model *m, size_t i, infer_node_info *info);
/* As infer_model_node, plus what this session does with the node and, when the session
   was created with profile = 1, the time it took. */
INFER_API infer_status infer_session_node(const infer_session *s, size_t i, infer_node_info *info);

/* 1 when the runtime has an operator of this type (ONNX name, e.g. "Conv"), else 0. */
INFER_API int infer_op_exists(const char *op_type);
/* How many inputs and outputs a node of op_type takes (in_max INFER_MAX_NODE_IO for a
   variadic list); 0 when op_type is no runtime op. Any pointer may be NULL. */
INFER_API int infer_op_arity(const char *op_type, size_t *in_min, size_t *in_max, size_t *out_min, size_t *out_max);

/* ---- device backends: a device other than the CPU (backends/cuda registers "cuda") ----
   A session created with device "NAME" or "NAME:N" runs every node the backend supports
   on device N (default 0) and the others on the CPU kernels, with explicit copies
   between the two (infer_session_stats counts them; infer_session_node names each node's
   device). With tp = T > 1, rank r runs on device (N + r) modulo the backend's device
   count (several ranks may share one), its collectives on the CPU unless the backend
   offers device collectives (comm_create below) and the ranks' devices are distinct.
   Not yet with a communicator (infer_session_options.comm), or infer_session_set_dims
   to other dims. */

/* One node as a backend sees it. Tensor data are device pointers (the session's device
   arena, a device copy of a graph input, or a constant uploaded with upload()); an absent
   optional input has data NULL and n_dims 0; an empty tensor has data_bytes 0. Output
   dtype and dims are already inferred. An element-wise node (Add, Relu, Softmax, ...) may
   have its output at the same address as an input of the same shape (in place). The
   op and its arrays stay valid, at the same addresses, for the session's life. */
#define INFER_HAVE_BACKEND_API 1 /* out-of-header backends (backends/cuda) test for it */
typedef struct infer_backend_op {
    const char *op_type;         /* the runtime's op type, e.g. "MatMul", "Conv", "Attention" */
    const char *name;            /* the node's name */
    size_t n_inputs, n_outputs;
    const infer_tensor *inputs;
    const infer_tensor *outputs;
    const void *node;            /* opaque: for infer_backend_attr_* */
} infer_backend_op;

/* The node's attributes (the runtime's names, including fused ones such as "activation").
   A scalar getter returns def when the attribute is absent or of another type.
   _ints / _floats return the count (may exceed cap; copies min(count, cap)), or -1 when
   the attribute is absent or of another type. */
INFER_API int64_t infer_backend_attr_int(const infer_backend_op *op, const char *name, int64_t def);
INFER_API float infer_backend_attr_float(const infer_backend_op *op, const char *name, float def);
INFER_API const char *infer_backend_attr_string(const infer_backend_op *op, const char *name, const char *def);
INFER_API long infer_backend_attr_ints(const infer_backend_op *op, const char *name, int64_t *out, size_t cap);
INFER_API long infer_backend_attr_floats(const infer_backend_op *op, const char *name, float *out, size_t cap);

/* A backend: every call gets the `dev` handle open() made (one per session). Calls that
   fail write a message (no newline) into err (err_size bytes) and return non-OK; the
   session reports it with the node. Every function is required except prepare,
   unprepare, graph_begin and graph_end (NULL: none).
   Ordering: the session's calls on one dev form one stream. copy_in, run and copy_out
   are ordered after everything enqueued before them; copy_in may return before its copy
   is done, but the host bytes may be reused as soon as it returns; copy_out returns when
   the bytes are on the host. The executor calls sync() before it copies device results
   out for a CPU node and at the end of a run. */
typedef struct infer_backend {
    const char *name;                               /* "cuda": sessions ask for "cuda" or "cuda:N" */
    void *user;                                     /* handed to device_count and open */
    int (*device_count)(void *user);                /* 0 (or < 0): none present */
    infer_status (*open)(void *user, int device, void **dev, char *err, size_t err_size);
    void (*close)(void *dev);
    void *(*alloc)(void *dev, size_t bytes);        /* device memory, 256-byte aligned, or NULL */
    void (*free)(void *dev, void *p);
    /* a constant (weights): device memory holding `bytes` from `host`, or NULL. The
       backend may share one upload between the sessions on a device (keyed by host,
       counted); release() drops this session's hold. Called at session creation only. */
    const void *(*upload)(void *dev, const void *host, size_t bytes);
    void (*release)(void *dev, const void *d);
    infer_status (*copy_in)(void *dev, void *dst, const void *host, size_t bytes, char *err, size_t err_size);
    infer_status (*copy_out)(void *dev, void *host, const void *src, size_t bytes, char *err, size_t err_size);
    /* 1: run() takes this node (dtypes, attributes, ranks it handles); 0: it runs on the CPU.
       Called at session creation with the op run() will get. */
    int (*supports)(void *dev, const infer_backend_op *op);
    /* per node, at session creation (after upload): descriptors, workspaces; *state is
       handed to run() (it starts NULL; it may stay NULL). prepare may be NULL (no state). */
    infer_status (*prepare)(void *dev, const infer_backend_op *op, void **state, char *err, size_t err_size);
    void (*unprepare)(void *dev, void *state);      /* at session free, for each prepared node */
    /* enqueues the node on the session's stream (asynchronous is fine) */
    infer_status (*run)(void *dev, const infer_backend_op *op, void *state, char *err, size_t err_size);
    /* waits for everything enqueued */
    infer_status (*sync)(void *dev, char *err, size_t err_size);
    /* Whole-run capture (CUDA graphs). Optional (NULL). The executor calls graph_begin
       before the node calls of a run in which every node runs on this backend, with the
       plan's id (it changes when set_dims picks another plan): the backend returns 1 when
       it replayed a run it captured for that plan (the executor then skips the node calls
       and calls graph_end), 0 to receive the node calls (it may capture them). Inputs are
       copied in before graph_begin, outputs copied out after graph_end, always to the
       same arena addresses for a plan. graph_end follows every graph_begin, also after a
       run() failed (the backend must then drop that capture). Between graph_begin and
       graph_end the executor does not check for cancellation (the node calls only
       enqueue); it checks before graph_begin and after the final sync. */
    int (*graph_begin)(void *dev, uint64_t plan_id);
    infer_status (*graph_end)(void *dev, char *err, size_t err_size);
    /* Optional (NULL: f32 only). Called after open when the session asks for a precision
       other than F32 (infer_session_options.precision); UNSUPPORTED fails the creation. */
    infer_status (*set_precision)(void *dev, infer_precision p, char *err, size_t err_size);
    /* Optional, all three or none (NULL: a split session's AllReduce and AllGather nodes run
       on the CPU, with copies). Collectives on the devices for in-process tensor
       parallelism (infer_session_options.tp) whose ranks are on n distinct devices of this
       backend: comm_create gets rank r's device number in devices[r] and returns a group,
       or NULL with err set (the collectives then go through the host). comm_attach gives
       rank `rank`'s dev its place in the group, after open and before supports(), which
       may then take AllReduce (the sum over the ranks; the output may be the input) and
       AllGather (the ranks' parts concatenated along attribute "axis"; "sizes" holds
       each rank's length there). `host` is the rank's host communicator: run() of a
       collective must call host->barrier(host->user) first and enqueue nothing when it
       fails (a rank that stopped early then leaves no device collective waiting for it).
       comm_destroy follows the close of every rank's dev. */
    void *(*comm_create)(void *user, const int *devices, int n, char *err, size_t err_size);
    infer_status (*comm_attach)(void *dev, void *group, int rank, const infer_comm *host, char *err, size_t err_size);
    void (*comm_destroy)(void *user, void *group);
} infer_backend;

/* Registers a backend (the table is copied; at most 8; a second one of the same name
   replaces the first, for sessions created after). Thread-safe with respect to itself;
   register before creating sessions that ask for it. INVALID_ARGUMENT for a NULL table,
   a name that is empty, "cpu", longer than 31 bytes or holds ':', or a required function
   that is NULL; OUT_OF_MEMORY when 8 others are registered. */
INFER_API infer_status infer_register_backend(const infer_backend *b);

/* -- builder: make a graph in C and save it as .infer -- */
typedef enum infer_attr_type {
    INFER_ATTR_UNDEFINED = 0,
    INFER_ATTR_INT,    /* i */
    INFER_ATTR_FLOAT,  /* f */
    INFER_ATTR_INTS,   /* ints[n] */
    INFER_ATTR_FLOATS, /* floats[n] */
    INFER_ATTR_STRING, /* s */
    INFER_ATTR_TENSOR  /* t: a constant tensor (dtype, dims, data) */
} infer_attr_type;

/* A node attribute; fill it with the infer_attr_* helpers. Arrays are copied. */
typedef struct infer_attr {
    const char *name;
    infer_attr_type type;
    int64_t i;
    float f;
    const int64_t *ints;
    const float *floats;
    size_t n;
    const char *s;
    const infer_tensor *t;
} infer_attr;

INFER_API infer_attr infer_attr_int(const char *name, int64_t v);
INFER_API infer_attr infer_attr_float(const char *name, float v);
INFER_API infer_attr infer_attr_ints(const char *name, const int64_t *v, size_t n);
INFER_API infer_attr infer_attr_floats(const char *name, const float *v, size_t n);
INFER_API infer_attr infer_attr_string(const char *name, const char *v);
INFER_API infer_attr infer_attr_tensor(const char *name, const infer_tensor *t);

/* allocator may be NULL. Every add_* call validates what it is given (names unique,
   inputs already defined, so nodes arrive in topological order; op type known; arity,
   attribute names and types as the operator table says) and returns INVALID_ARGUMENT
   or UNSUPPORTED with infer_last_error() set; the builder stays usable after a failure. */
INFER_API infer_status infer_builder_create(const infer_allocator *allocator, infer_builder **out);
INFER_API void infer_builder_free(infer_builder *b); /* accepts NULL */
/* A graph input. dim_names may be NULL; dim_names[i] != NULL makes dim i symbolic
   (dims[i] is then ignored). */
INFER_API infer_status infer_builder_add_input(infer_builder *b, const char *name, infer_dtype dtype,
                                               int n_dims, const int64_t *dims,
                                               const char *const *dim_names);
/* A constant (weights). t->data (t->data_bytes = elements x dtype size) is copied. */
INFER_API infer_status infer_builder_add_constant(infer_builder *b, const infer_tensor *t);
/* A node. inputs/outputs are tensor names; "" or NULL marks an absent optional input.
   name may be NULL (a name "op_<index>" is made). */
INFER_API infer_status infer_builder_add_node(infer_builder *b, const char *op_type, const char *name,
                                              const char *const *inputs, size_t n_inputs,
                                              const char *const *outputs, size_t n_outputs,
                                              const infer_attr *attrs, size_t n_attrs);
/* Marks a tensor as a graph output. */
INFER_API infer_status infer_builder_add_output(infer_builder *b, const char *name);
INFER_API infer_status infer_builder_set_metadata(infer_builder *b, const char *key, const char *value);
/* Serialises into buf. With buf NULL (or cap too small) only *needed is set and the
   status is OK (buf NULL) or INVALID_ARGUMENT (cap too small). */
INFER_API infer_status infer_builder_serialize(const infer_builder *b, void *buf, size_t cap,
                                               size_t *needed);
/* Writes the file atomically (a temporary name in the same folder, then rename). */
INFER_API infer_status infer_builder_save(const infer_builder *b, const char *path);

#endif /* INFER_H */

/* ===================================================================== */
/*                          IMPLEMENTATION                                */
/* ===================================================================== */
#ifdef INFER_IMPLEMENTATION
#ifndef INFER__IMPLEMENTED
#define INFER__IMPLEMENTED

/* ===== 2. UTILITIES ================================================== >>util */

/* MinGW: C99 printf (%zu, %lld) instead of msvcrt's, for the error messages; it only
   takes effect when <stdio.h> comes after this line in the translation unit. */
#if defined(__MINGW32__) && !defined(__USE_MINGW_ANSI_STDIO)
#define __USE_MINGW_ANSI_STDIO 1
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <float.h>
#include <limits.h>
#include <errno.h>
#include <time.h>
#if !defined(_WIN32)
#include <unistd.h> /* sysconf, _POSIX_TIMERS */
#else
/* Windows: file mapping, UTF-8 paths, the clock and the core count (sections 2, 3, 7).
   WIN32_LEAN_AND_MEAN and NOMINMAX only matter if <windows.h> was not included before;
   the implementation needs neither min/max nor the parts they leave out. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#endif

#if defined(INFER_MALLOC) && defined(INFER_FREE)
#elif !defined(INFER_MALLOC) && !defined(INFER_FREE)
#define INFER_MALLOC(sz) malloc(sz)
#define INFER_FREE(p) free(p)
#else
#error "infer.h: define both INFER_MALLOC and INFER_FREE, or neither"
#endif

#ifndef INFER_ASSERT
#include <assert.h>
#define INFER_ASSERT(c) assert(c)
#endif

#if defined(__cplusplus) && __cplusplus >= 201103L
#define INFER__TLS thread_local
#elif defined(_MSC_VER)
#define INFER__TLS __declspec(thread)
#elif defined(__GNUC__) || defined(__clang__)
#define INFER__TLS __thread
#else
#define INFER__TLS _Thread_local
#endif

#if defined(__MINGW32__) && defined(__MINGW_PRINTF_FORMAT)
#define INFER__PRINTF(f, a) __attribute__((format(__MINGW_PRINTF_FORMAT, f, a))) /* gnu_printf with ANSI stdio */
#elif defined(__GNUC__) || defined(__clang__)
#define INFER__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define INFER__PRINTF(f, a)
#endif

#define INFER__ERR_BYTES 512
#define INFER__ALIGN 64 /* arena buffers and weight data */
#define INFER__ABSENT 0xFFFFFFFFu
#define INFER__MIN(a, b) ((a) < (b) ? (a) : (b))
#define INFER__MAX(a, b) ((a) > (b) ? (a) : (b))

/* -- errors -- */

static INFER__TLS char infer__tls_error[INFER__ERR_BYTES];

/* Formats the message into this thread's error text and, when obj_err is not NULL,
   into the object's own buffer; returns st so callers can `return infer__fail(...)`. */
static infer_status infer__fail(char *obj_err, infer_status st, const char *fmt, ...)
    INFER__PRINTF(3, 4);
static infer_status infer__fail(char *obj_err, infer_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(infer__tls_error, sizeof infer__tls_error, fmt, ap);
    va_end(ap);
    if (obj_err) memcpy(obj_err, infer__tls_error, sizeof infer__tls_error);
    return st;
}

const char *infer_last_error(void) { return infer__tls_error; }

/* A monotonic clock in milliseconds, for profiling. */
static double infer__now_ms(void) {
#if defined(_WIN32) /* clock() is wall time on Windows, but only to the scheduler tick */
    LARGE_INTEGER t, f;
    QueryPerformanceCounter(&t);
    QueryPerformanceFrequency(&f);
    return (double)t.QuadPart * 1e3 / (double)f.QuadPart;
#elif defined(_POSIX_TIMERS) && _POSIX_TIMERS > 0 && defined(CLOCK_MONOTONIC)
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
#else
    return (double)clock() * 1e3 / CLOCKS_PER_SEC;
#endif
}
const char *infer_version(void) { return INFER_VERSION_STRING; }

const char *infer_status_name(infer_status s) {
    static const char *const names[] = {
#define INFER__X(name, text) text,
        INFER_STATUS_LIST(INFER__X)
#undef INFER__X
    };
    if ((int)s < 0 || (int)s >= (int)INFER_STATUS_COUNT) return "unknown status";
    return names[s];
}

const char *infer_dtype_name(infer_dtype t) {
    static const char *const names[] = {
#define INFER__X(name, text, bytes) text,
        INFER_DTYPE_LIST(INFER__X)
#undef INFER__X
    };
    if ((int)t < 0 || (int)t >= (int)INFER_DTYPE_COUNT) return "unknown dtype";
    return names[t];
}

size_t infer_dtype_bytes(infer_dtype t) {
    static const unsigned char bytes[] = {
#define INFER__X(name, text, b) b,
        INFER_DTYPE_LIST(INFER__X)
#undef INFER__X
    };
    if ((int)t < 0 || (int)t >= (int)INFER_DTYPE_COUNT) return 0;
    return bytes[t];
}

/* -- checked size maths: each returns 0 on overflow -- */

static int infer__mul(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}
static int infer__add(size_t a, size_t b, size_t *out) {
    if (b > SIZE_MAX - a) return 0;
    *out = a + b;
    return 1;
}
/* a rounded up to a multiple of INFER__ALIGN */
static int infer__align_up(size_t a, size_t *out) {
    if (a > SIZE_MAX - (INFER__ALIGN - 1)) return 0;
    *out = (a + INFER__ALIGN - 1) & ~(size_t)(INFER__ALIGN - 1);
    return 1;
}
/* Element count of dims[0..n) and its size in bytes for dtype t, capped at `limit`
   bytes. Returns 0 on overflow or when over the limit. */
static int infer__dims_bytes(const int64_t *dims, int n, infer_dtype t, size_t limit,
                             size_t *count, size_t *bytes) {
    size_t c = 1, b;
    int i;
    for (i = 0; i < n; i++) {
        if (dims[i] < 0 || (uint64_t)dims[i] > (uint64_t)SIZE_MAX) return 0;
        if (!infer__mul(c, (size_t)dims[i], &c)) return 0;
    }
    if (!infer__mul(c, infer_dtype_bytes(t), &b) || b > limit) return 0;
    *count = c;
    *bytes = b;
    return 1;
}

/* -- allocation: all memory goes through these -- */

static void *infer__alloc_raw(const infer_allocator *a, size_t bytes) {
    if (bytes == 0) bytes = 1;
    if (a && a->alloc) return a->alloc(a->user, bytes);
    return INFER_MALLOC(bytes);
}
static void infer__free(const infer_allocator *a, void *p) {
    if (!p) return;
    if (a && a->alloc) {
        if (a->free) a->free(a->user, p);
        return;
    }
    INFER_FREE(p);
}
/* count x size bytes, zeroed; NULL on overflow or failure. */
static void *infer__calloc(const infer_allocator *a, size_t count, size_t size) {
    size_t bytes;
    void *p;
    if (!infer__mul(count, size, &bytes)) return NULL;
    p = infer__alloc_raw(a, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}
/* A 64-byte aligned block; *raw receives what to pass to infer__free. */
static void *infer__alloc_aligned(const infer_allocator *a, size_t bytes, void **raw) {
    size_t total;
    uintptr_t u;
    if (!infer__add(bytes, INFER__ALIGN, &total)) return NULL;
    *raw = infer__alloc_raw(a, total);
    if (!*raw) return NULL;
    u = ((uintptr_t)*raw + INFER__ALIGN - 1) & ~(uintptr_t)(INFER__ALIGN - 1);
    return (void *)u;
}
/* Grows *p (elements of `size` bytes, capacity *cap) to hold at least `need`. */
static int infer__grow(const infer_allocator *a, void **p, size_t *cap, size_t need, size_t size) {
    size_t ncap = *cap ? *cap : 16, bytes;
    void *np;
    if (need <= *cap) return 1;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) return 0;
        ncap *= 2;
    }
    if (!infer__mul(ncap, size, &bytes)) return 0;
    np = infer__alloc_raw(a, bytes);
    if (!np) return 0;
    if (*p) memcpy(np, *p, *cap * size);
    infer__free(a, *p);
    *p = np;
    *cap = ncap;
    return 1;
}

static char *infer__strdup(const infer_allocator *a, const char *s) {
    size_t n = strlen(s) + 1;
    char *d = (char *)infer__alloc_raw(a, n);
    if (d) memcpy(d, s, n);
    return d;
}

double infer_now_ms(void) { return infer__now_ms(); }

/* -- threads, cancellation and logging: what a session's runs consult (issue 10) --

   Why infer's own worker threads rather than OpenMP: libgomp reads its wait policy
   (OMP_WAIT_POLICY, GOMP_SPINCOUNT) once per process from the environment, so a library
   cannot give its own loops a short spin without changing the host's OpenMP behaviour
   behind its back, and its default keeps idle threads spinning after each parallel
   region. The pool below is per session: N - 1 pthreads that busy-wait at most spin_us
   after a loop, then sleep on a condition variable; the split of a loop into tasks is
   fixed by the thread count, so results are deterministic; a host's OpenMP is untouched.
   Measured figures (and libgomp's): README.md, "Embedding figures". */

#if defined(__GNUC__) || defined(__clang__)
#define INFER__ATOMICS 1
static int infer__aload(const int *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void infer__astore(int *p, int v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static int64_t infer__aload64(const int64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void infer__astore64(int64_t *p, int64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
#else /* no atomics known: no worker threads either; a cancel from another thread is best effort */
#define INFER__ATOMICS 0
static int infer__aload(const int *p) { return *(const volatile int *)p; }
static void infer__astore(int *p, int v) { *(volatile int *)p = v; }
static int64_t infer__aload64(const int64_t *p) { return *(const volatile int64_t *)p; }
static void infer__astore64(int64_t *p, int64_t v) { *(volatile int64_t *)p = v; }
#endif

#if !defined(INFER_NO_THREADS) && (!defined(_WIN32) || defined(__MINGW32__)) && INFER__ATOMICS
#include <pthread.h>
#include <sched.h>
#define INFER__POOL 1
#else
#define INFER__POOL 0
#endif

/* fn(arg, i) is one iteration of a kernel's parallel loop */
typedef void (*infer__task_fn)(void *arg, int64_t i);
typedef struct infer__pool infer__pool;

/* A session's run-time settings and signals; kernels reach it through infer__ctx.rt. */
typedef struct infer__rt {
    int n_threads;
    int spin_us;                  /* worker busy-wait budget; 0: none */
    infer_parallel_fn host;       /* the host's parallel-for, or NULL */
    void *host_user;
    int (*abort_fn)(void *user);
    void *abort_user;
    infer_log_fn log;
    void *log_user;
    int stop;                     /* atomic: a cancel, the deadline or abort_fn said stop */
    int64_t deadline_us;          /* atomic: infer_now_ms() * 1000 to stop at; 0: none */
    infer__pool *pool;            /* the worker threads, or NULL (n_threads 1, host hook) */
} infer__rt;

static void infer__log(const infer__rt *rt, infer_log_level level, const char *fmt, ...) INFER__PRINTF(3, 4);
static void infer__log(const infer__rt *rt, infer_log_level level, const char *fmt, ...) {
    char msg[INFER__ERR_BYTES];
    va_list ap;
    if (!rt || !rt->log) return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rt->log(rt->log_user, level, msg);
}

/* 1 when the run must stop. poll (only on the thread that called infer_run) also reads the
   clock for the deadline and asks the host's abort callback. */
static int infer__stopped(infer__rt *rt, int poll) {
    int64_t dl;
    if (!rt) return 0;
    if (infer__aload(&rt->stop)) return 1;
    if (!poll) return 0;
    dl = infer__aload64(&rt->deadline_us);
    if ((dl && infer__now_ms() * 1e3 >= (double)dl) || (rt->abort_fn && rt->abort_fn(rt->abort_user))) {
        infer__astore(&rt->stop, 1);
        return 1;
    }
    return 0;
}

/* Task k of nt: iterations [n k / nt, n (k + 1) / nt), stopping early when asked to. */
static void infer__run_task(infer__rt *rt, infer__task_fn fn, void *arg, int64_t n, int nt, int k, int poll) {
    int64_t i, lo = n * k / nt, hi = n * (k + 1) / nt;
    for (i = lo; i < hi; i++) {
        if (infer__stopped(rt, poll)) return;
        fn(arg, i);
    }
}

#if INFER__POOL
static int infer__aadd(int *p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_ACQ_REL); }
static void infer__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

struct infer__pool {
    pthread_mutex_t mu;
    pthread_cond_t wake;          /* workers sleep here between loops */
    pthread_cond_t done_cv;       /* the caller sleeps here for the last tasks */
    pthread_t *threads;
    int n_workers, sleeping, stop;
    int parked;                   /* atomic: the run ended; workers sleep without spinning */
    uint64_t state;               /* atomic: (generation << 16) | workers inside the loop;
                                     an odd generation is open to join, an even one closed */
    /* the loop: written by the caller only while closed (no worker inside) */
    infer__rt *rt;
    infer__task_fn fn;
    void *arg;
    int64_t n;
    int nt;
    int next, done;               /* atomic: next task to take, tasks finished */
};

/* Busy-waits up to spin_us for cond(p, seen) to hold; returns whether it does. */
static int infer__spin(const infer__pool *p, int (*cond)(const infer__pool *, uint64_t), uint64_t seen) {
    double until = 0;
    int i;
    if (p->rt->spin_us <= 0) return cond(p, seen);
    for (i = 0;; i++) {
        if (cond(p, seen)) return 1;
        if ((i & 63) == 0) {
            double now = infer__now_ms();
            if (i == 0) until = now + p->rt->spin_us * 1e-3;
            else if (now >= until) return cond(p, seen);
        }
        infer__cpu_relax();
    }
}
static int infer__pool_all_done(const infer__pool *p, uint64_t unused) {
    (void)unused;
    return infer__aload((int *)&p->done) >= p->nt;
}
/* a loop is open that the worker which last joined generation `seen` has not joined */
static int infer__pool_has_work(const infer__pool *p, uint64_t seen) {
    uint64_t g = __atomic_load_n(&p->state, __ATOMIC_ACQUIRE) >> 16;
    return (g & 1) && g != seen;
}
/* what ends a worker's spin: work, or the end of the run (infer__pool_park) */
static int infer__pool_spin_done(const infer__pool *p, uint64_t seen) {
    return infer__pool_has_work(p, seen) || infer__aload((int *)&p->parked);
}

static void infer__pool_tasks(infer__pool *p, int poll) {
    int k;
    while ((k = infer__aadd(&p->next, 1)) < p->nt) {
        infer__run_task(p->rt, p->fn, p->arg, p->n, p->nt, k, poll);
        if (infer__aadd(&p->done, 1) + 1 == p->nt) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

static void *infer__worker(void *vp) {
    infer__pool *p = (infer__pool *)vp;
    uint64_t seen = 0; /* the last generation this worker joined */
    for (;;) {
        uint64_t s = __atomic_load_n(&p->state, __ATOMIC_ACQUIRE);
        if (((s >> 16) & 1) && (s >> 16) != seen) { /* a loop this worker has not joined: join it */
            if (!__atomic_compare_exchange_n(&p->state, &s, s + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) continue;
            seen = s >> 16;
            infer__pool_tasks(p, 0);
            __atomic_fetch_sub(&p->state, 1, __ATOMIC_ACQ_REL);
            continue;
        }
        if (infer__aload(&p->stop)) return NULL;
        /* nothing to do: spin a little for the next loop of this run, then sleep (at once
           when the run has ended: between runs no worker spins) */
        if (!infer__aload(&p->parked) && infer__spin(p, infer__pool_spin_done, seen) && infer__pool_has_work(p, seen))
            continue;
        pthread_mutex_lock(&p->mu);
        p->sleeping++;
        for (;;) {
            if (p->stop || infer__pool_has_work(p, seen)) break;
            pthread_cond_wait(&p->wake, &p->mu);
        }
        p->sleeping--;
        pthread_mutex_unlock(&p->mu);
    }
}

/* Runs the loop's nt tasks on the caller and the workers; returns when all are done. */
static void infer__pool_run(infer__pool *p, infer__task_fn fn, void *arg, int64_t n, int nt) {
    /* closed: only this thread changes the generation, but workers still read the word
       atomically (a failed join), so it is read atomically too */
    uint64_t s = __atomic_load_n(&p->state, __ATOMIC_ACQUIRE), open;
    int i;
    p->fn = fn, p->arg = arg, p->n = n, p->nt = nt, p->next = 0, p->done = 0;
    infer__astore(&p->parked, 0);
    open = s + ((uint64_t)1 << 16);
    __atomic_store_n(&p->state, open, __ATOMIC_RELEASE);
    pthread_mutex_lock(&p->mu);
    if (p->sleeping) pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    infer__pool_tasks(p, 1);
    if (!infer__spin(p, infer__pool_all_done, 0)) {
        pthread_mutex_lock(&p->mu);
        while (!infer__pool_all_done(p, 0)) pthread_cond_wait(&p->done_cv, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
    /* close the loop once no worker is inside (those still in have no task left) */
    for (i = 0;; i++) {
        uint64_t e = open;
        if (__atomic_compare_exchange_n(&p->state, &e, open + ((uint64_t)1 << 16), 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            break;
        if (i > 64) sched_yield();
        else infer__cpu_relax();
    }
}

/* The run is over: workers still spinning for its next loop go to sleep now. */
static void infer__pool_park(infer__pool *p) {
    if (p) infer__astore(&p->parked, 1);
}

static void infer__pool_stop(const infer_allocator *a, infer__pool *p) {
    int i;
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    infer__astore(&p->stop, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (i = 0; i < p->n_workers; i++) pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->done_cv);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    infer__free(a, p->threads);
    infer__free(a, p);
}

/* Starts rt->n_threads - 1 workers; with fewer (or none) loops still split the same way. */
static void infer__pool_start(const infer_allocator *a, infer__rt *rt) {
    infer__pool *p;
    int i, want = rt->n_threads - 1;
    if (want < 1) return;
    p = (infer__pool *)infer__calloc(a, 1, sizeof *p);
    if (!p || !(p->threads = (pthread_t *)infer__calloc(a, (size_t)want, sizeof(pthread_t)))) {
        infer__free(a, p);
        infer__log(rt, INFER_LOG_WARN, "out of memory for %d worker threads: running on one", want);
        return;
    }
    p->rt = rt;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    for (i = 0; i < want; i++) {
        if (pthread_create(&p->threads[i], NULL, infer__worker, p) != 0) break;
        p->n_workers++;
    }
    if (p->n_workers < want)
        infer__log(rt, INFER_LOG_WARN, "started %d of %d worker threads (pthread_create failed); loops run on fewer",
                   p->n_workers, want);
    infer__log(rt, INFER_LOG_DEBUG, "%d worker threads, spin %d us", p->n_workers, rt->spin_us);
    rt->pool = p;
}
#else
static void infer__pool_park(infer__pool *p) { (void)p; }
static void infer__pool_stop(const infer_allocator *a, infer__pool *p) {
    (void)a;
    (void)p;
}
static void infer__pool_start(const infer_allocator *a, infer__rt *rt) {
    (void)a;
    (void)rt;
}
#endif

/* -- little-endian loads and stores (the file format is little-endian) -- */

static uint16_t infer__rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t infer__rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t infer__rd64(const uint8_t *p) {
    return (uint64_t)infer__rd32(p) | ((uint64_t)infer__rd32(p + 4) << 32);
}
static void infer__wr16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void infer__wr32(uint8_t *p, uint32_t v) {
    int i;
    for (i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void infer__wr64(uint8_t *p, uint64_t v) {
    infer__wr32(p, (uint32_t)v);
    infer__wr32(p + 4, (uint32_t)(v >> 32));
}

/* The runtime reads the file's arrays in place, so the host must be little-endian. */
static int infer__host_is_little_endian(void) {
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* -- hash: four lanes of FNV-1a over 64-bit little-endian words (docs/FORMAT.md).
   Every step is a bijection of the lane for a fixed word, so any change to a
   single word (any single bit flip) changes the result. -- */

#define INFER__HASH_PRIME 0x00000100000001B3ull
#define INFER__HASH_BASIS 0xCBF29CE484222325ull

typedef struct infer__hash {
    uint64_t lane[4];
    uint64_t n;      /* bytes hashed */
    uint8_t buf[32]; /* a partial block */
    size_t n_buf;
} infer__hash;

static void infer__hash_init(infer__hash *h) {
    int i;
    memset(h, 0, sizeof *h);
    for (i = 0; i < 4; i++) h->lane[i] = INFER__HASH_BASIS + (uint64_t)i;
}
/* p: n_blocks whole 32-byte blocks */
static void infer__hash_blocks(infer__hash *h, const uint8_t *p, size_t n_blocks) {
    uint64_t a = h->lane[0], b = h->lane[1], c = h->lane[2], d = h->lane[3];
    size_t i;
    for (i = 0; i < n_blocks; i++, p += 32) {
        a = (a ^ infer__rd64(p)) * INFER__HASH_PRIME;
        b = (b ^ infer__rd64(p + 8)) * INFER__HASH_PRIME;
        c = (c ^ infer__rd64(p + 16)) * INFER__HASH_PRIME;
        d = (d ^ infer__rd64(p + 24)) * INFER__HASH_PRIME;
    }
    h->lane[0] = a, h->lane[1] = b, h->lane[2] = c, h->lane[3] = d;
}
static void infer__hash_update(infer__hash *h, const uint8_t *p, size_t n) {
    size_t whole;
    h->n += n;
    if (h->n_buf) {
        size_t take = INFER__MIN(n, 32 - h->n_buf);
        memcpy(h->buf + h->n_buf, p, take);
        h->n_buf += take, p += take, n -= take;
        if (h->n_buf < 32) return;
        infer__hash_blocks(h, h->buf, 1);
        h->n_buf = 0;
    }
    whole = n / 32;
    infer__hash_blocks(h, p, whole);
    p += whole * 32, n -= whole * 32;
    memcpy(h->buf, p, n);
    h->n_buf = n;
}
/* Zero-pads the last block, then folds the lanes and the length. */
static uint64_t infer__hash_final(infer__hash *h) {
    uint64_t r;
    int i;
    if (h->n_buf) {
        memset(h->buf + h->n_buf, 0, 32 - h->n_buf);
        infer__hash_blocks(h, h->buf, 1);
    }
    r = h->lane[0];
    for (i = 1; i < 4; i++) r = (r ^ h->lane[i]) * INFER__HASH_PRIME;
    return (r ^ h->n) * INFER__HASH_PRIME;
}
static uint64_t infer__hash_bytes(const uint8_t *p, size_t n) {
    infer__hash h;
    infer__hash_init(&h);
    infer__hash_update(&h, p, n);
    return infer__hash_final(&h);
}

/* -- half precision conversions (round to nearest even) -- */

static float infer__f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
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
static uint16_t infer__f32_to_f16(float f) {
    uint32_t x, sign, mag;
    memcpy(&x, &f, 4);
    sign = (x >> 16) & 0x8000;
    mag = x & 0x7FFFFFFF;
    if (mag > 0x7F800000u) return (uint16_t)(sign | 0x7E00); /* NaN */
    if (mag >= 0x477FF000u) return (uint16_t)(sign | 0x7C00); /* overflow to inf */
    if (mag < 0x38800000u) { /* subnormal or zero in f16 */
        float a = fabsf(f) * 16777216.0f; /* 2^24: the f16 subnormal step becomes 1 */
        return (uint16_t)(sign | (uint32_t)lrintf(a));
    }
    {
        uint32_t r = mag - 0x38000000u + 0xFFF + ((mag >> 13) & 1);
        return (uint16_t)(sign | (r >> 13));
    }
}
static float infer__bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}
static uint16_t infer__f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7FFFFFFF) > 0x7F800000u) return (uint16_t)((x >> 16) | 0x40);
    return (uint16_t)((x + 0x7FFF + ((x >> 16) & 1)) >> 16);
}

/* -- a string -> index map (open addressing), for names in the builder -- */

typedef struct infer__map {
    const char **keys; /* not owned */
    uint32_t *vals;
    size_t cap, n;
} infer__map;

static size_t infer__str_hash(const char *s) {
    uint64_t h = INFER__HASH_BASIS;
    while (*s) h = (h ^ (uint8_t)*s++) * INFER__HASH_PRIME;
    return (size_t)(h ^ (h >> 29));
}
static void infer__map_free(const infer_allocator *a, infer__map *m) {
    infer__free(a, (void *)m->keys);
    infer__free(a, m->vals);
    memset(m, 0, sizeof *m);
}
/* Index stored for key, or -1. */
static long infer__map_get(const infer__map *m, const char *key) {
    size_t i;
    if (!m->cap) return -1;
    for (i = infer__str_hash(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (!strcmp(m->keys[i], key)) return (long)m->vals[i];
    return -1;
}
static int infer__map_put(const infer_allocator *a, infer__map *m, const char *key, uint32_t val) {
    size_t i;
    if ((m->n + 1) * 2 > m->cap) {
        infer__map bigger;
        size_t j;
        bigger.cap = m->cap ? m->cap * 2 : 64;
        bigger.n = 0;
        bigger.keys = (const char **)infer__calloc(a, bigger.cap, sizeof(char *));
        bigger.vals = (uint32_t *)infer__calloc(a, bigger.cap, sizeof(uint32_t));
        if (!bigger.keys || !bigger.vals) {
            infer__map_free(a, &bigger);
            return 0;
        }
        for (j = 0; j < m->cap; j++)
            if (m->keys[j]) infer__map_put(a, &bigger, m->keys[j], m->vals[j]);
        infer__map_free(a, m);
        *m = bigger;
    }
    for (i = infer__str_hash(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (!strcmp(m->keys[i], key)) break;
    if (!m->keys[i]) m->n++;
    m->keys[i] = key;
    m->vals[i] = val;
    return 1;
}

/* -- CPU features (STYLE.md section 7): checked once, read by session creation only -- */

#if (defined(__x86_64__) || defined(_M_X64)) && !defined(INFER_NO_SIMD) && (defined(__GNUC__) || defined(__clang__))
#define INFER__HAVE_AVX2 1   /* AVX2+FMA kernels are compiled (target attributes, no -m flags) */
#define INFER__HAVE_AVX512 1 /* AVX-512F kernels are compiled */
#endif

/* AArch64 always has Advanced SIMD (NEON) with FMA, so there is nothing to ask the CPU:
   the NEON kernels are compiled and chosen whenever the target is AArch64. 32-bit ARM
   (whose NEON is optional and lacks vfmaq_laneq_f32) runs the reference kernels. */
#if (defined(__aarch64__) || defined(_M_ARM64)) && !defined(INFER_NO_SIMD)
#define INFER__HAVE_NEON 1
#endif

/* The packed, cache-blocked GEMM (section 9) is built when some ISA has a micro-kernel. */
#if defined(INFER__HAVE_AVX2) || defined(INFER__HAVE_NEON)
#define INFER__HAVE_GEMM_SIMD 1
#endif

#define INFER__CPU_AVX2 1   /* AVX2 and FMA, with OS support for the ymm state */
#define INFER__CPU_AVX512 2 /* AVX-512F, with OS support for the zmm state */
#define INFER__CPU_NEON 4   /* AArch64 Advanced SIMD: always there on AArch64 */
#define INFER__CPU_AVX512VNNI 8 /* AVX-512F, BW and VNNI (vpdpbusd on zmm), with OS support */

/* The one mutable global besides the error text: 0 until checked, then the INFER__CPU_*
   bits | 0x100. Racing first calls compute the same value, and the atomics keep it a
   benign, idempotent store. */
static int infer__cpu_cache;

static int infer__cpu_features(void) {
#if defined(INFER__HAVE_AVX2)
    int f = __atomic_load_n(&infer__cpu_cache, __ATOMIC_RELAXED);
    if (!f) {
        f = 0x100; /* __builtin_cpu_supports checks XCR0 (xgetbv) for the OS-saved state */
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) f |= INFER__CPU_AVX2;
        if (__builtin_cpu_supports("avx512f")) f |= INFER__CPU_AVX512;
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vnni"))
            f |= INFER__CPU_AVX512VNNI;
        __atomic_store_n(&infer__cpu_cache, f, __ATOMIC_RELAXED);
    }
    return f & 0xff;
#elif defined(INFER__HAVE_NEON) && (defined(__GNUC__) || defined(__clang__))
    int f = __atomic_load_n(&infer__cpu_cache, __ATOMIC_RELAXED);
    if (!f) { /* nothing to ask; the cache still lets white-box tests pick the reference */
        f = 0x100 | INFER__CPU_NEON;
        __atomic_store_n(&infer__cpu_cache, f, __ATOMIC_RELAXED);
    }
    return f & 0xff;
#elif defined(INFER__HAVE_NEON) /* MSVC ARM64: no __atomic builtins; no test sets the cache */
    (void)infer__cpu_cache;
    return INFER__CPU_NEON;
#else
    (void)infer__cpu_cache;
    return 0;
#endif
}

/* ===== 3. MODEL FILE: READER AND WRITER ============================= >>file */

#ifndef INFER_MAX_TENSORS
#define INFER_MAX_TENSORS (1u << 24)
#endif
#ifndef INFER_MAX_NODES
#define INFER_MAX_NODES (1u << 24)
#endif
#ifndef INFER_MAX_ATTRS
#define INFER_MAX_ATTRS (1u << 24)
#endif
#ifndef INFER_MAX_NODE_IO
#define INFER_MAX_NODE_IO 4096u /* inputs or outputs of one node */
#endif
#ifndef INFER_MAX_STRING_BYTES
#define INFER_MAX_STRING_BYTES (1u << 28)
#endif
#ifndef INFER_MAX_DIM_VALUE
#define INFER_MAX_DIM_VALUE ((int64_t)1 << 40)
#endif

#if !defined(INFER_NO_MMAP) && !defined(_WIN32)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define INFER__MMAP 1
/* madvise releases the pages of pre-packed weights (infer__release_pages). Strict POSIX
   feature macros hide it, and posix_madvise's DONTNEED is a no-op on glibc: declare it. */
#if defined(__linux__) && defined(MADV_DONTNEED)
#define INFER__MADV_DONTNEED MADV_DONTNEED
#define INFER__MADVISE 1
#elif defined(__linux__) && (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) || defined(__arm__))
#define INFER__MADV_DONTNEED 4 /* Linux's value on these architectures */
extern int madvise(void *addr, size_t len, int advice);
#define INFER__MADVISE 1
#endif
#if defined(__linux__) && INFER__MADVISE
#define INFER__MADV_HUGEPAGE 14 /* Linux's MADV_HUGEPAGE; not every libc names it */
#endif
#else
#define INFER__MMAP 0
#endif
/* Windows maps model files through the Win32 file-mapping API (CreateFileMappingW +
   MapViewOfFile), so weights are zero-copy there too. */
#if !defined(INFER_NO_MMAP) && defined(_WIN32)
#define INFER__WINMAP 1
#else
#define INFER__WINMAP 0
#endif

#if defined(_WIN32)
/* A UTF-8 path as UTF-16 for the Win32 "W" functions (the "A" ones read the ANSI code
   page, which is not UTF-8); NULL when it is not valid UTF-8 or out of memory. */
static wchar_t *infer__wpath(const infer_allocator *a, const char *path) {
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, NULL, 0);
    wchar_t *w;
    if (n <= 0) return NULL;
    w = (wchar_t *)infer__calloc(a, (size_t)n, sizeof(wchar_t));
    if (w && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, w, n) != n) {
        infer__free(a, w);
        w = NULL;
    }
    return w;
}
/* What a failed Win32 call left in GetLastError, as text for a message. */
static const char *infer__win_error(DWORD e) {
    switch (e) {
    case ERROR_FILE_NOT_FOUND: return "no such file";
    case ERROR_PATH_NOT_FOUND: return "no such directory";
    case ERROR_ACCESS_DENIED: return "access denied";
    case ERROR_SHARING_VIOLATION: return "the file is in use";
    case ERROR_NOT_ENOUGH_MEMORY: return "not enough memory";
    default: return "Windows error";
    }
}
#endif
#ifndef INFER__MADVISE
#define INFER__MADVISE 0
#endif

/* -- the in-memory model that the reader builds (the graph IR) -- */

typedef struct infer__attr {
    const char *name;
    infer_attr_type type;
    size_t n;           /* elements of an INTS / FLOATS attribute */
    int64_t i;          /* INT */
    float f;            /* FLOAT */
    const uint8_t *arr; /* INTS: n little-endian i64; FLOATS: n little-endian f32 */
    const char *s;      /* STRING */
    uint32_t t;         /* TENSOR: tensor index (a constant) */
} infer__attr;

typedef struct infer__node {
    const char *name;
    int op;                 /* row of the operator table */
    uint32_t n_in, n_out, n_attrs;
    const uint32_t *in;     /* tensor indices; INFER__ABSENT for a missing optional one */
    const uint32_t *out;
    const infer__attr *attrs;
} infer__node;

typedef struct infer__tensor {
    const char *name;
    infer_dtype dtype;      /* UNDEFINED for intermediates (inferred per session) */
    int n_dims;
    int64_t dims[INFER_MAX_DIMS];      /* -1 where symbolic */
    const char *sym[INFER_MAX_DIMS];   /* symbol name or NULL */
    const void *data;       /* constant data (in the file), or NULL */
    size_t data_bytes;
    int32_t producer;       /* node index, or -1 */
    uint8_t is_input;
} infer__tensor;

struct infer_model {
    infer_allocator alloc;
    char path[256];           /* for messages: the file name or "<memory>" */
    const uint8_t *bytes;     /* the whole file */
    size_t n_bytes;
    void *raw;                /* our copy (to free) or the mapping (to unmap) */
    int mapped;
    infer__tensor *tensors;
    infer__node *nodes;
    uint32_t *refs;           /* node inputs and outputs, [n_refs] */
    infer__attr *attrs;
    uint32_t *inputs, *outputs;
    const char **meta;        /* [n_meta][2]: key, value */
    uint32_t n_tensors, n_nodes, n_refs, n_attrs, n_inputs, n_outputs, n_meta;
    struct infer__tp_dev *tp_dev; /* section 8: a tensor-parallel rank's graph (its
                                     communicator, comm time); NULL for a loaded model */
};

/* -- layout constants (docs/FORMAT.md) -- */

static const uint8_t infer__magic[8] = {0x89, 'I', 'N', 'F', '\r', '\n', 0x1A, '\n'};
#define INFER__FORMAT_MAJOR 1
#define INFER__FORMAT_MINOR 0
#define INFER__HEADER_BYTES 64
#define INFER__SECTION_BYTES 32
#define INFER__HASH_FIELD 32      /* offset of meta_hash in the header */
#define INFER__TENSOR_HAS_DATA 1u

enum {
    INFER__SEC_STRINGS = 1,
    INFER__SEC_TENSORS,
    INFER__SEC_NODES,
    INFER__SEC_REFS,
    INFER__SEC_ATTRS,
    INFER__SEC_ATTR_DATA,
    INFER__SEC_INPUTS,
    INFER__SEC_OUTPUTS,
    INFER__SEC_METADATA,
    INFER__SEC_COUNT /* one past the last kind */
};
static const char *const infer__sec_names[INFER__SEC_COUNT] = {
    "", "strings", "tensors", "nodes", "refs", "attrs", "attr_data", "inputs", "outputs", "metadata"};
/* record size of each section kind */
static const uint32_t infer__sec_rec[INFER__SEC_COUNT] = {0, 1, 128, 32, 4, 24, 1, 4, 4, 8};

/* Forward declarations from section 4 (the operator table). */
static int infer__op_find(const char *name);
static infer_status infer__op_check(int op, const char *ctx, const uint32_t *in, size_t n_in,
                                    const uint32_t *out, size_t n_out, const infer__attr *attrs,
                                    size_t n_attrs);

/* -- reader -- */

typedef struct infer__sec {
    uint64_t off, bytes, count;
} infer__sec;

/* A string reference: the blob ends with NUL, so every offset inside it is a string. */
static const char *infer__str(const infer_model *m, const infer__sec *s, uint32_t off) {
    if (off >= s->bytes) return NULL;
    return (const char *)m->bytes + s->off + off;
}

#define INFER__BAD(...) infer__fail(NULL, INFER_STATUS_BAD_FILE, __VA_ARGS__)

static infer_status infer__read_sections(infer_model *m, infer__sec *sec, uint64_t *weights_off,
                                         uint64_t *weights_bytes) {
    const uint8_t *b = m->bytes;
    const char *f = m->path;
    uint32_t n_sec, i, j, major, minor;
    uint64_t file_bytes, table_end;
    uint64_t order[32];
    int n_order = 0;

    if (m->n_bytes < INFER__HEADER_BYTES)
        return INFER__BAD("%s: file is %zu bytes, smaller than the %d-byte header", f, m->n_bytes,
                          INFER__HEADER_BYTES);
    if (memcmp(b, infer__magic, 8) != 0) return INFER__BAD("%s: not an .infer file (bad magic)", f);
    major = infer__rd16(b + 8);
    minor = infer__rd16(b + 10);
    if (major > INFER__FORMAT_MAJOR)
        return infer__fail(NULL, INFER_STATUS_UNSUPPORTED,
                           "%s: format version %u.%u is newer than this reader's %d.%d; "
                           "update infer.h",
                           f, major, minor, INFER__FORMAT_MAJOR, INFER__FORMAT_MINOR);
    if (major < INFER__FORMAT_MAJOR) return INFER__BAD("%s: format version %u.%u is invalid", f, major, minor);
    if (infer__rd32(b + 12) != INFER__HEADER_BYTES)
        return INFER__BAD("%s: header: header_bytes %u, expected %d", f, infer__rd32(b + 12),
                          INFER__HEADER_BYTES);
    if (infer__rd32(b + 20) != 0) return INFER__BAD("%s: header: flags 0x%x, expected 0", f, infer__rd32(b + 20));
    file_bytes = infer__rd64(b + 24);
    if (file_bytes != m->n_bytes)
        return INFER__BAD("%s: file is %zu bytes but its header says %llu (truncated or extended)", f,
                          m->n_bytes, (unsigned long long)file_bytes);
    *weights_off = infer__rd64(b + 48);
    *weights_bytes = infer__rd64(b + 56);
    if (*weights_off % INFER__ALIGN || *weights_off > file_bytes ||
        *weights_bytes != file_bytes - *weights_off)
        return INFER__BAD("%s: header: weight data at %llu + %llu does not end the %llu-byte file "
                          "on a 64-byte boundary",
                          f, (unsigned long long)*weights_off, (unsigned long long)*weights_bytes,
                          (unsigned long long)file_bytes);
    n_sec = infer__rd32(b + 16);
    if (n_sec > 32) return INFER__BAD("%s: header: %u sections, more than 32", f, n_sec);
    table_end = INFER__HEADER_BYTES + (uint64_t)n_sec * INFER__SECTION_BYTES;
    if (table_end > *weights_off)
        return INFER__BAD("%s: section table (%u entries) runs past the metadata area (%llu bytes)", f,
                          n_sec, (unsigned long long)*weights_off);
    memset(sec, 0, sizeof(infer__sec) * INFER__SEC_COUNT);
    for (i = 0; i < n_sec; i++) {
        const uint8_t *e = b + INFER__HEADER_BYTES + (size_t)i * INFER__SECTION_BYTES;
        uint32_t kind = infer__rd32(e);
        uint64_t off = infer__rd64(e + 8), bytes = infer__rd64(e + 16), count = infer__rd64(e + 24);
        const char *name = kind > 0 && kind < INFER__SEC_COUNT ? infer__sec_names[kind] : "unknown";
        if (infer__rd32(e + 4) != 0)
            return INFER__BAD("%s: section %u (%s): reserved field is not 0", f, i, name);
        if (off % 8 || off < table_end || off > *weights_off || bytes > *weights_off - off)
            return INFER__BAD("%s: section %u (%s): range %llu + %llu is outside the metadata area "
                              "[%llu, %llu) or not 8-byte aligned",
                              f, i, name, (unsigned long long)off, (unsigned long long)bytes,
                              (unsigned long long)table_end, (unsigned long long)*weights_off);
        if (kind == 0 || kind >= INFER__SEC_COUNT) {
            if (minor > INFER__FORMAT_MINOR) continue; /* a newer minor's section: skip it */
            return INFER__BAD("%s: section %u: unknown kind %u", f, i, kind);
        }
        if (sec[kind].off) return INFER__BAD("%s: section %u (%s) appears twice", f, i, name);
        if (count > bytes || count * infer__sec_rec[kind] != bytes)
            return INFER__BAD("%s: section %u (%s): %llu records do not fill %llu bytes", f, i, name,
                              (unsigned long long)count, (unsigned long long)bytes);
        sec[kind].off = off;
        sec[kind].bytes = bytes;
        sec[kind].count = count;
        /* insertion sort by offset, to check for overlap */
        for (j = (uint32_t)n_order; j > 0 && sec[order[j - 1]].off > off; j--) order[j] = order[j - 1];
        order[j] = kind;
        n_order++;
    }
    for (i = 1; i < INFER__SEC_COUNT; i++)
        if (!sec[i].off) return INFER__BAD("%s: section '%s' is missing", f, infer__sec_names[i]);
    for (i = 1; i < (uint32_t)n_order; i++) {
        const infer__sec *p = &sec[order[i - 1]], *q = &sec[order[i]];
        if (p->off + p->bytes > q->off)
            return INFER__BAD("%s: sections '%s' and '%s' overlap", f, infer__sec_names[order[i - 1]],
                              infer__sec_names[order[i]]);
    }
    if (sec[INFER__SEC_TENSORS].count > INFER_MAX_TENSORS)
        return INFER__BAD("%s: %llu tensors, more than the limit %u (INFER_MAX_TENSORS)", f,
                          (unsigned long long)sec[INFER__SEC_TENSORS].count, INFER_MAX_TENSORS);
    if (sec[INFER__SEC_NODES].count > INFER_MAX_NODES)
        return INFER__BAD("%s: %llu nodes, more than the limit %u (INFER_MAX_NODES)", f,
                          (unsigned long long)sec[INFER__SEC_NODES].count, INFER_MAX_NODES);
    if (sec[INFER__SEC_ATTRS].count > INFER_MAX_ATTRS)
        return INFER__BAD("%s: %llu attributes, more than the limit %u (INFER_MAX_ATTRS)", f,
                          (unsigned long long)sec[INFER__SEC_ATTRS].count, INFER_MAX_ATTRS);
    if (sec[INFER__SEC_STRINGS].bytes > INFER_MAX_STRING_BYTES)
        return INFER__BAD("%s: string table of %llu bytes, more than the limit %u (INFER_MAX_STRING_BYTES)",
                          f, (unsigned long long)sec[INFER__SEC_STRINGS].bytes, INFER_MAX_STRING_BYTES);
    if (sec[INFER__SEC_REFS].count > (uint64_t)INFER_MAX_NODES * 2 * INFER_MAX_NODE_IO ||
        sec[INFER__SEC_REFS].count >= INFER__ABSENT)
        return INFER__BAD("%s: %llu node references, too many", f,
                          (unsigned long long)sec[INFER__SEC_REFS].count);
    if (sec[INFER__SEC_INPUTS].count > INFER_MAX_TENSORS || sec[INFER__SEC_OUTPUTS].count > INFER_MAX_TENSORS ||
        sec[INFER__SEC_METADATA].count > INFER_MAX_TENSORS)
        return INFER__BAD("%s: more graph inputs, outputs or metadata entries than the limit %u", f,
                          INFER_MAX_TENSORS);
    if (sec[INFER__SEC_STRINGS].bytes == 0 || b[sec[INFER__SEC_STRINGS].off] != 0 ||
        b[sec[INFER__SEC_STRINGS].off + sec[INFER__SEC_STRINGS].bytes - 1] != 0)
        return INFER__BAD("%s: string table must start and end with a NUL byte", f);
    return INFER_STATUS_OK;
}

static infer_status infer__read_tensors(infer_model *m, const infer__sec *sec, uint64_t w_off,
                                        uint64_t w_bytes) {
    const infer__sec *ss = &sec[INFER__SEC_STRINGS];
    const char *f = m->path;
    uint32_t i;
    int d;
    for (i = 0; i < m->n_tensors; i++) {
        const uint8_t *r = m->bytes + sec[INFER__SEC_TENSORS].off + (size_t)i * 128;
        infer__tensor *t = &m->tensors[i];
        uint32_t flags = infer__rd16(r + 6);
        uint64_t doff = infer__rd64(r + 8), dbytes = infer__rd64(r + 16);
        t->name = infer__str(m, ss, infer__rd32(r));
        if (!t->name) return INFER__BAD("%s: tensor %u: name offset %u is outside the string table", f, i, infer__rd32(r));
        t->dtype = (infer_dtype)r[4];
        t->n_dims = r[5];
        t->producer = -1;
        if (flags & ~INFER__TENSOR_HAS_DATA)
            return INFER__BAD("%s: tensor %u '%s': unknown flags 0x%x", f, i, t->name, flags);
        if (infer__rd64(r + 120) != 0)
            return INFER__BAD("%s: tensor %u '%s': reserved field is not 0", f, i, t->name);
        if (r[4] >= INFER_DTYPE_COUNT)
            return INFER__BAD("%s: tensor %u '%s': dtype %u is out of range", f, i, t->name, r[4]);
        if (t->n_dims > INFER_MAX_DIMS)
            return INFER__BAD("%s: tensor %u '%s': rank %d is over the maximum %d", f, i, t->name,
                              t->n_dims, INFER_MAX_DIMS);
        for (d = 0; d < INFER_MAX_DIMS; d++) {
            int64_t v = (int64_t)infer__rd64(r + 24 + 8 * d);
            uint32_t so = infer__rd32(r + 88 + 4 * d);
            if (d >= t->n_dims) {
                if (v != 0 || so != 0)
                    return INFER__BAD("%s: tensor %u '%s': dim %d is set beyond rank %d", f, i, t->name, d, t->n_dims);
                continue;
            }
            if (so) {
                t->sym[d] = infer__str(m, ss, so);
                if (!t->sym[d] || !t->sym[d][0] || v != -1)
                    return INFER__BAD("%s: tensor %u '%s': dim %d: bad symbolic dim (name offset %u, value %lld)",
                                      f, i, t->name, d, so, (long long)v);
            } else if (v < 0 || v > INFER_MAX_DIM_VALUE) {
                return INFER__BAD("%s: tensor %u '%s': dim %d is %lld, outside [0, %lld]", f, i, t->name, d,
                                  (long long)v, (long long)INFER_MAX_DIM_VALUE);
            }
            t->dims[d] = v;
        }
        if (flags & INFER__TENSOR_HAS_DATA) {
            size_t count, bytes;
            if (t->dtype == INFER_DTYPE_UNDEFINED)
                return INFER__BAD("%s: tensor %u '%s': constant without a dtype", f, i, t->name);
            for (d = 0; d < t->n_dims; d++)
                if (t->sym[d]) return INFER__BAD("%s: tensor %u '%s': constant with a symbolic dim", f, i, t->name);
            if (doff % INFER__ALIGN || doff > w_bytes || dbytes > w_bytes - doff)
                return INFER__BAD("%s: tensor %u '%s': data at %llu + %llu is outside the %llu bytes of "
                                  "weight data or not 64-byte aligned",
                                  f, i, t->name, (unsigned long long)doff, (unsigned long long)dbytes,
                                  (unsigned long long)w_bytes);
            if (!infer__dims_bytes(t->dims, t->n_dims, t->dtype, SIZE_MAX, &count, &bytes) || bytes != dbytes)
                return INFER__BAD("%s: tensor %u '%s': dims and dtype %s need %s bytes but the data has %llu",
                                  f, i, t->name, infer_dtype_name(t->dtype),
                                  infer__dims_bytes(t->dims, t->n_dims, t->dtype, SIZE_MAX, &count, &bytes)
                                      ? "a different number of" : "an overflowing number of",
                                  (unsigned long long)dbytes);
            t->data = m->bytes + w_off + doff;
            t->data_bytes = (size_t)dbytes;
        } else if (doff != 0 || dbytes != 0) {
            return INFER__BAD("%s: tensor %u '%s': data range set on a tensor without data", f, i, t->name);
        }
    }
    return INFER_STATUS_OK;
}

static infer_status infer__read_attrs(infer_model *m, const infer__sec *sec) {
    const infer__sec *ss = &sec[INFER__SEC_STRINGS], *ad = &sec[INFER__SEC_ATTR_DATA];
    const char *f = m->path;
    uint32_t i;
    for (i = 0; i < m->n_attrs; i++) {
        const uint8_t *r = m->bytes + sec[INFER__SEC_ATTRS].off + (size_t)i * 24;
        infer__attr *a = &m->attrs[i];
        uint32_t type = infer__rd32(r + 4);
        uint64_t count = infer__rd64(r + 8), v = infer__rd64(r + 16);
        a->name = infer__str(m, ss, infer__rd32(r));
        if (!a->name || !a->name[0]) return INFER__BAD("%s: attribute %u: bad name offset %u", f, i, infer__rd32(r));
        a->type = (infer_attr_type)type;
        switch (type) {
        case INFER_ATTR_INT:
        case INFER_ATTR_FLOAT:
        case INFER_ATTR_STRING:
        case INFER_ATTR_TENSOR:
            if (count != 1) return INFER__BAD("%s: attribute %u '%s': count %llu, expected 1", f, i, a->name, (unsigned long long)count);
            if (type == INFER_ATTR_INT) a->i = (int64_t)v;
            if (type == INFER_ATTR_FLOAT) {
                uint32_t bits = (uint32_t)v;
                if (v >> 32) return INFER__BAD("%s: attribute %u '%s': float value has high bits set", f, i, a->name);
                memcpy(&a->f, &bits, 4);
            }
            if (type == INFER_ATTR_STRING && !(a->s = infer__str(m, ss, (uint32_t)v < v ? INFER__ABSENT : (uint32_t)v)))
                return INFER__BAD("%s: attribute %u '%s': string offset %llu is outside the string table", f, i,
                                  a->name, (unsigned long long)v);
            if (type == INFER_ATTR_TENSOR) {
                if (v >= m->n_tensors || !m->tensors[v].data)
                    return INFER__BAD("%s: attribute %u '%s': tensor %llu is not a constant in the file", f, i,
                                      a->name, (unsigned long long)v);
                a->t = (uint32_t)v;
            }
            break;
        case INFER_ATTR_INTS:
        case INFER_ATTR_FLOATS: {
            uint64_t esz = type == INFER_ATTR_INTS ? 8 : 4;
            if (v % 8 || v > ad->bytes || count > (ad->bytes - v) / esz)
                return INFER__BAD("%s: attribute %u '%s': %llu values at %llu run past the %llu-byte attr_data "
                                  "section or are misaligned",
                                  f, i, a->name, (unsigned long long)count, (unsigned long long)v,
                                  (unsigned long long)ad->bytes);
            a->n = (size_t)count;
            a->arr = m->bytes + ad->off + v;
            break;
        }
        default:
            return INFER__BAD("%s: attribute %u '%s': type %u is out of range", f, i, a->name, type);
        }
    }
    return INFER_STATUS_OK;
}

static infer_status infer__read_nodes(infer_model *m, const infer__sec *sec) {
    const infer__sec *ss = &sec[INFER__SEC_STRINGS];
    const char *f = m->path;
    char ctx[INFER__ERR_BYTES];
    uint32_t i, k;
    infer_status st;
    for (i = 0; i < m->n_nodes; i++) {
        const uint8_t *r = m->bytes + sec[INFER__SEC_NODES].off + (size_t)i * 32;
        infer__node *n = &m->nodes[i];
        const char *op = infer__str(m, ss, infer__rd32(r + 4));
        uint32_t fi = infer__rd32(r + 8), ni = infer__rd32(r + 12), fo = infer__rd32(r + 16),
                 no = infer__rd32(r + 20), fa = infer__rd32(r + 24), na = infer__rd32(r + 28);
        n->name = infer__str(m, ss, infer__rd32(r));
        if (!n->name || !op) return INFER__BAD("%s: node %u: name or op type offset is outside the string table", f, i);
        if (ni > INFER_MAX_NODE_IO || no > INFER_MAX_NODE_IO)
            return INFER__BAD("%s: node %u '%s': %u inputs and %u outputs, over the limit %u", f, i, n->name, ni,
                              no, INFER_MAX_NODE_IO);
        if (fi > m->n_refs || ni > m->n_refs - fi || fo > m->n_refs || no > m->n_refs - fo)
            return INFER__BAD("%s: node %u '%s': input/output references [%u,+%u) [%u,+%u) run past the %u refs",
                              f, i, n->name, fi, ni, fo, no, m->n_refs);
        if (fa > m->n_attrs || na > m->n_attrs - fa)
            return INFER__BAD("%s: node %u '%s': attributes [%u,+%u) run past the %u attributes", f, i, n->name,
                              fa, na, m->n_attrs);
        n->op = infer__op_find(op);
        if (n->op < 0)
            return infer__fail(NULL, INFER_STATUS_UNSUPPORTED, "%s: node %u '%s': op type '%s' is not supported", f,
                               i, n->name, op);
        n->n_in = ni, n->n_out = no, n->n_attrs = na;
        n->in = m->refs + fi;
        n->out = m->refs + fo;
        n->attrs = m->attrs + fa;
        for (k = 0; k < ni + no; k++) {
            uint32_t t = k < ni ? n->in[k] : n->out[k - ni];
            if (t != INFER__ABSENT && t >= m->n_tensors)
                return INFER__BAD("%s: node %u '%s': %s %u refers to tensor %u of %u", f, i, n->name,
                                  k < ni ? "input" : "output", k < ni ? k : k - ni, t, m->n_tensors);
        }
        snprintf(ctx, sizeof ctx, "%s: node %u '%s'", f, i, n->name);
        st = infer__op_check(n->op, ctx, n->in, ni, n->out, no, n->attrs, na);
        if (st) return st;
        for (k = 0; k < no; k++) {
            if (n->out[k] == INFER__ABSENT) continue;
            if (m->tensors[n->out[k]].data || m->tensors[n->out[k]].is_input)
                return INFER__BAD("%s: node %u '%s': output '%s' is a constant or a graph input", f, i, n->name,
                                  m->tensors[n->out[k]].name);
            if (m->tensors[n->out[k]].producer >= 0)
                return INFER__BAD("%s: node %u '%s': tensor '%s' is also produced by node %d '%s'", f, i, n->name,
                                  m->tensors[n->out[k]].name, m->tensors[n->out[k]].producer,
                                  m->nodes[m->tensors[n->out[k]].producer].name);
            m->tensors[n->out[k]].producer = (int32_t)i;
        }
    }
    /* every input must exist before its node: constants, graph inputs, earlier nodes */
    for (i = 0; i < m->n_nodes; i++) {
        const infer__node *n = &m->nodes[i];
        for (k = 0; k < n->n_in; k++) {
            const infer__tensor *t;
            if (n->in[k] == INFER__ABSENT) continue;
            t = &m->tensors[n->in[k]];
            if (t->data || t->is_input) continue;
            if (t->producer < 0)
                return INFER__BAD("%s: node %u '%s': input %u reads tensor '%s' that nothing produces", f, i,
                                  n->name, k, t->name);
            if ((uint32_t)t->producer == i)
                return INFER__BAD("%s: node %u '%s': reads its own output '%s' (a self-loop)", f, i, n->name,
                                  t->name);
            if ((uint32_t)t->producer > i)
                return INFER__BAD("%s: node %u '%s': reads '%s' before node %d '%s' produces it (cycle, or not "
                                  "in topological order)",
                                  f, i, n->name, t->name, t->producer, m->nodes[t->producer].name);
        }
    }
    return INFER_STATUS_OK;
}

static infer_status infer__read_io(infer_model *m, const infer__sec *sec) {
    const char *f = m->path;
    uint32_t i, j;
    for (i = 0; i < m->n_refs; i++) m->refs[i] = infer__rd32(m->bytes + sec[INFER__SEC_REFS].off + 4 * (size_t)i);
    for (i = 0; i < m->n_inputs + m->n_outputs; i++) {
        int is_in = i < m->n_inputs;
        uint32_t k = is_in ? i : i - m->n_inputs;
        uint32_t t = infer__rd32(m->bytes + sec[is_in ? INFER__SEC_INPUTS : INFER__SEC_OUTPUTS].off + 4 * (size_t)k);
        if (t >= m->n_tensors)
            return INFER__BAD("%s: graph %s %u refers to tensor %u of %u", f, is_in ? "input" : "output", k, t,
                              m->n_tensors);
        if (!m->tensors[t].name[0])
            return INFER__BAD("%s: graph %s %u (tensor %u) has no name", f, is_in ? "input" : "output", k, t);
        if (is_in) {
            if (m->tensors[t].data)
                return INFER__BAD("%s: graph input %u '%s' is a constant", f, k, m->tensors[t].name);
            if (m->tensors[t].dtype == INFER_DTYPE_UNDEFINED)
                return INFER__BAD("%s: graph input %u '%s' has no dtype", f, k, m->tensors[t].name);
            m->tensors[t].is_input = 1;
            m->inputs[k] = t;
        } else {
            m->outputs[k] = t;
        }
        for (j = 0; j < k; j++) {
            uint32_t u = is_in ? m->inputs[j] : m->outputs[j];
            if (u == t || !strcmp(m->tensors[u].name, m->tensors[t].name))
                return INFER__BAD("%s: graph %s '%s' is listed twice", f, is_in ? "input" : "output",
                                  m->tensors[t].name);
        }
    }
    return INFER_STATUS_OK;
}

static infer_status infer__model_parse(infer_model *m, int verify_weights) {
    infer__sec sec[INFER__SEC_COUNT];
    uint64_t w_off = 0, w_bytes = 0, want, got;
    uint32_t i;
    infer_status st;
    const infer_allocator *a = &m->alloc;

    if (!infer__host_is_little_endian())
        return infer__fail(NULL, INFER_STATUS_UNSUPPORTED,
                           "%s: this host is big-endian; the .infer format is little-endian only", m->path);
    if ((st = infer__read_sections(m, sec, &w_off, &w_bytes))) return st;
    m->n_tensors = (uint32_t)sec[INFER__SEC_TENSORS].count;
    m->n_nodes = (uint32_t)sec[INFER__SEC_NODES].count;
    m->n_refs = (uint32_t)sec[INFER__SEC_REFS].count;
    m->n_attrs = (uint32_t)sec[INFER__SEC_ATTRS].count;
    m->n_inputs = (uint32_t)sec[INFER__SEC_INPUTS].count;
    m->n_outputs = (uint32_t)sec[INFER__SEC_OUTPUTS].count;
    m->n_meta = (uint32_t)sec[INFER__SEC_METADATA].count;
    m->tensors = (infer__tensor *)infer__calloc(a, m->n_tensors, sizeof(infer__tensor));
    m->nodes = (infer__node *)infer__calloc(a, m->n_nodes, sizeof(infer__node));
    m->refs = (uint32_t *)infer__calloc(a, m->n_refs, sizeof(uint32_t));
    m->attrs = (infer__attr *)infer__calloc(a, m->n_attrs, sizeof(infer__attr));
    m->inputs = (uint32_t *)infer__calloc(a, m->n_inputs, sizeof(uint32_t));
    m->outputs = (uint32_t *)infer__calloc(a, m->n_outputs, sizeof(uint32_t));
    m->meta = (const char **)infer__calloc(a, (size_t)m->n_meta * 2, sizeof(char *));
    if (!m->tensors || !m->nodes || !m->refs || !m->attrs || !m->inputs || !m->outputs || !m->meta)
        return infer__fail(NULL, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory for the graph", m->path);
    if ((st = infer__read_tensors(m, sec, w_off, w_bytes))) return st;
    if ((st = infer__read_attrs(m, sec))) return st;
    if ((st = infer__read_io(m, sec))) return st;
    if ((st = infer__read_nodes(m, sec))) return st;
    for (i = 0; i < m->n_outputs; i++) {
        const infer__tensor *t = &m->tensors[m->outputs[i]];
        if (t->producer < 0 && !t->data && !t->is_input)
            return INFER__BAD("%s: graph output '%s' is never produced", m->path, t->name);
    }
    for (i = 0; i < 2 * m->n_meta; i++) {
        uint32_t off = infer__rd32(m->bytes + sec[INFER__SEC_METADATA].off + 4 * (size_t)i);
        m->meta[i] = infer__str(m, &sec[INFER__SEC_STRINGS], off);
        if (!m->meta[i])
            return INFER__BAD("%s: metadata entry %u: string offset %u is outside the string table", m->path,
                              i / 2, off);
    }
    /* checksums: the metadata area always, the weights on request */
    {
        uint8_t head[INFER__HEADER_BYTES];
        infer__hash h;
        memcpy(head, m->bytes, sizeof head);
        memset(head + INFER__HASH_FIELD, 0, 8);
        infer__hash_init(&h);
        infer__hash_update(&h, head, INFER__HEADER_BYTES);
        infer__hash_update(&h, m->bytes + INFER__HEADER_BYTES, (size_t)w_off - INFER__HEADER_BYTES);
        got = infer__hash_final(&h);
        want = infer__rd64(m->bytes + INFER__HASH_FIELD);
        if (got != want)
            return INFER__BAD("%s: metadata checksum mismatch (file says %016llx, content hashes to %016llx)",
                              m->path, (unsigned long long)want, (unsigned long long)got);
    }
    if (verify_weights) {
        got = infer__hash_bytes(m->bytes + w_off, (size_t)w_bytes);
        want = infer__rd64(m->bytes + 40);
        if (got != want)
            return INFER__BAD("%s: weight data checksum mismatch (file says %016llx, data hashes to %016llx)",
                              m->path, (unsigned long long)want, (unsigned long long)got);
    }
    return INFER_STATUS_OK;
}

/* Gives back the resident pages of bytes [p, p + n) of a mapped model file, the whole
   pages inside it (neighbours share the edges): a weight that was pre-packed and that
   nothing else reads. The mapping is private and never written, so a later read faults
   the same bytes back in from the file. Nothing happens without mmap or madvise. */
static void infer__release_pages(const void *p, size_t n) {
#if INFER__MADVISE
    long ps = sysconf(_SC_PAGESIZE);
    uintptr_t lo, hi;
    if (ps <= 0) return;
    lo = ((uintptr_t)p + (uintptr_t)ps - 1) & ~((uintptr_t)ps - 1);
    hi = ((uintptr_t)p + n) & ~((uintptr_t)ps - 1);
    if (hi > lo) (void)madvise((void *)lo, (size_t)(hi - lo), INFER__MADV_DONTNEED);
#else
    (void)p, (void)n;
#endif
}

void infer_model_free(infer_model *m) {
    infer_allocator a;
    if (!m) return;
    a = m->alloc;
#if INFER__MMAP
    if (m->mapped) munmap(m->raw, m->n_bytes);
    else
#elif INFER__WINMAP
    if (m->mapped) UnmapViewOfFile(m->raw);
    else
#endif
        infer__free(&a, m->raw);
    infer__free(&a, m->tensors);
    infer__free(&a, m->nodes);
    infer__free(&a, m->refs);
    infer__free(&a, m->attrs);
    infer__free(&a, m->inputs);
    infer__free(&a, m->outputs);
    infer__free(&a, (void *)m->meta);
    infer__free(&a, m);
}

static infer_model *infer__model_new(const infer_model_options *opt, const char *path) {
    infer_allocator a;
    infer_model *m;
    memset(&a, 0, sizeof a);
    if (opt) a = opt->allocator;
    m = (infer_model *)infer__calloc(&a, 1, sizeof *m);
    if (!m) return NULL;
    m->alloc = a;
    snprintf(m->path, sizeof m->path, "%s", path);
    return m;
}

/* Parses m (whose bytes are set) and hands it to *out, or frees it. */
/* -- byte order -- */

/* The format is little-endian (docs/FORMAT.md) and weights are used in place, straight
   from the mapped file, so a big-endian build would misread every multi-byte value. It
   refuses to load instead (issue 11). Detected at compile time; the check takes the flag
   as an argument so that tests/test_format.c can test both answers on any machine. */
#if (defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__) ||       \
    defined(__BIG_ENDIAN__) || defined(__ARMEB__) || defined(__AARCH64EB__) || defined(__MIPSEB__)
#define INFER__BIG_ENDIAN 1
#else
#define INFER__BIG_ENDIAN 0
#endif

static infer_status infer__byte_order_check(int big_endian, const char *path) {
    if (!big_endian) return INFER_STATUS_OK;
    return infer__fail(NULL, INFER_STATUS_UNSUPPORTED,
                       "%s: this build of infer.h is for a big-endian CPU; .infer files are little-endian and are "
                       "read in place, so only little-endian CPUs can load them",
                       path);
}

static infer_status infer__model_finish(infer_model *m, const infer_model_options *opt, infer_model **out) {
    infer_status st = infer__model_parse(m, opt && opt->verify_weights);
    if (st) {
        infer_model_free(m);
        return st;
    }
    *out = m;
    return INFER_STATUS_OK;
}

infer_status infer_model_load_memory(const void *data, size_t bytes, const infer_model_options *opt,
                                     infer_model **out) {
    infer_model *m;
    if (!out) return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "infer_model_load_memory: out is NULL");
    *out = NULL;
    if (!data && bytes) return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "infer_model_load_memory: data is NULL");
    if (infer__byte_order_check(INFER__BIG_ENDIAN, "<memory>")) return INFER_STATUS_UNSUPPORTED;
    m = infer__model_new(opt, "<memory>");
    if (!m) return infer__fail(NULL, INFER_STATUS_OUT_OF_MEMORY, "<memory>: out of memory");
    m->n_bytes = bytes;
    if ((opt && opt->copy) || ((uintptr_t)data % INFER__ALIGN) != 0) {
        void *p = infer__alloc_aligned(&m->alloc, bytes, &m->raw);
        if (!p) {
            infer_model_free(m);
            return infer__fail(NULL, INFER_STATUS_OUT_OF_MEMORY, "<memory>: out of memory copying %zu bytes", bytes);
        }
        if (bytes) memcpy(p, data, bytes);
        m->bytes = (const uint8_t *)p;
    } else {
        m->bytes = (const uint8_t *)data;
    }
    return infer__model_finish(m, opt, out);
}

infer_status infer_model_load(const char *path, const infer_model_options *opt, infer_model **out) {
    infer_model *m;
    if (!out) return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "infer_model_load: out is NULL");
    *out = NULL;
    if (!path) return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "infer_model_load: path is NULL");
    if (infer__byte_order_check(INFER__BIG_ENDIAN, path)) return INFER_STATUS_UNSUPPORTED;
    m = infer__model_new(opt, path);
    if (!m) return infer__fail(NULL, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
#if INFER__MMAP
    {
        struct stat sb;
        int fd = open(path, O_RDONLY);
        void *p;
        if (fd < 0) {
            infer_model_free(m);
            return infer__fail(NULL, INFER_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
        }
        if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            close(fd);
            infer_model_free(m);
            return infer__fail(NULL, INFER_STATUS_IO, "%s: not a regular file", path);
        }
        if (sb.st_size < INFER__HEADER_BYTES) {
            close(fd);
            infer_model_free(m);
            return INFER__BAD("%s: file is %lld bytes, smaller than the %d-byte header", path,
                              (long long)sb.st_size, INFER__HEADER_BYTES);
        }
        if ((uint64_t)sb.st_size > (uint64_t)SIZE_MAX) {
            close(fd);
            infer_model_free(m);
            return infer__fail(NULL, INFER_STATUS_OUT_OF_MEMORY, "%s: file too large for this address space", path);
        }
        p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (p == MAP_FAILED) {
            infer_model_free(m);
            return infer__fail(NULL, INFER_STATUS_IO, "%s: mmap failed: %s", path, strerror(errno));
        }
        m->raw = p;
        m->mapped = 1;
        m->bytes = (const uint8_t *)p;
        m->n_bytes = (size_t)sb.st_size;
    }
#elif INFER__WINMAP
    {
        wchar_t *wp = infer__wpath(&m->alloc, path);
        HANDLE fh, mh;
        LARGE_INTEGER sz;
        DWORD e;
        void *p;
        if (!wp) {
            infer_model_free(m);
            return infer__fail(NULL, INFER_STATUS_IO, "%s: cannot open: not a UTF-8 path (or out of memory)", path);
        }
        fh = CreateFileW(wp, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
        e = GetLastError();
        infer__free(&m->alloc, wp);
        if (fh == INVALID_HANDLE_VALUE) {
            infer_model_free(m);
            return infer__fail(NULL, INFER_STATUS_IO, "%s: cannot open: %s (%lu)", path, infer__win_error(e),
                               (unsigned long)e);
        }
        if (GetFileType(fh) != FILE_TYPE_DISK || !GetFileSizeEx(fh, &sz)) {
            CloseHandle(fh);
            infer_model_free(m);
            return infer__fail(NULL, INFER_STATUS_IO, "%s: not a regular file", path);
        }
        if (sz.QuadPart < INFER__HEADER_BYTES) {
            CloseHandle(fh);
            infer_model_free(m);
            return INFER__BAD("%s: file is %lld bytes, smaller than the %d-byte header", path, (long long)sz.QuadPart,
                              INFER__HEADER_BYTES);
        }
        if ((uint64_t)sz.QuadPart > (uint64_t)SIZE_MAX) {
            CloseHandle(fh);
            infer_model_free(m);
            return infer__fail(NULL, INFER_STATUS_OUT_OF_MEMORY, "%s: file too large for this address space", path);
        }
        /* The view keeps the mapping, and the mapping the file, open: both handles can go. */
        mh = CreateFileMappingW(fh, NULL, PAGE_READONLY, 0, 0, NULL);
        e = GetLastError();
        CloseHandle(fh);
        p = mh ? MapViewOfFile(mh, FILE_MAP_READ, 0, 0, 0) : NULL;
        if (mh) {
            if (!p) e = GetLastError();
            CloseHandle(mh);
        }
        if (!p) {
            infer_model_free(m);
            return infer__fail(NULL, INFER_STATUS_IO, "%s: file mapping failed: %s (%lu)", path, infer__win_error(e),
                               (unsigned long)e);
        }
        m->raw = p;
        m->mapped = 1;
        m->bytes = (const uint8_t *)p;
        m->n_bytes = (size_t)sz.QuadPart;
    }
#else
    {
        FILE *fp = fopen(path, "rb");
        long size;
        void *p;
        if (!fp) {
            infer_model_free(m);
            return infer__fail(NULL, INFER_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
        }
        if (fseek(fp, 0, SEEK_END) != 0 || (size = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
            fclose(fp);
            infer_model_free(m);
            return infer__fail(NULL, INFER_STATUS_IO, "%s: cannot determine the file size", path);
        }
        p = infer__alloc_aligned(&m->alloc, (size_t)size, &m->raw);
        if (!p) {
            fclose(fp);
            infer_model_free(m);
            return infer__fail(NULL, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory reading %ld bytes", path, size);
        }
        if (fread(p, 1, (size_t)size, fp) != (size_t)size) {
            fclose(fp);
            infer_model_free(m);
            return infer__fail(NULL, INFER_STATUS_IO, "%s: read failed", path);
        }
        fclose(fp);
        m->bytes = (const uint8_t *)p;
        m->n_bytes = (size_t)size;
    }
#endif
    return infer__model_finish(m, opt, out);
}

/* -- model queries -- */

size_t infer_model_n_inputs(const infer_model *m) { return m ? m->n_inputs : 0; }
size_t infer_model_n_outputs(const infer_model *m) { return m ? m->n_outputs : 0; }
size_t infer_model_n_metadata(const infer_model *m) { return m ? m->n_meta : 0; }

static infer_status infer__model_io(const infer_model *m, size_t i, int is_in, infer_tensor_info *info) {
    const infer__tensor *t;
    int d;
    size_t n = is_in ? infer_model_n_inputs(m) : infer_model_n_outputs(m);
    if (!m || !info || i >= n)
        return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "infer_model_%s: index %zu out of range (%zu)",
                           is_in ? "input" : "output", i, n);
    t = &m->tensors[is_in ? m->inputs[i] : m->outputs[i]];
    memset(info, 0, sizeof *info);
    info->name = t->name;
    info->dtype = t->dtype;
    info->n_dims = (is_in || t->data) ? t->n_dims : -1;
    for (d = 0; d < INFER_MAX_DIMS; d++) {
        info->dims[d] = d < info->n_dims ? t->dims[d] : -1;
        info->dim_names[d] = d < info->n_dims ? t->sym[d] : NULL;
    }
    return INFER_STATUS_OK;
}
infer_status infer_model_input(const infer_model *m, size_t i, infer_tensor_info *info) {
    return infer__model_io(m, i, 1, info);
}
infer_status infer_model_output(const infer_model *m, size_t i, infer_tensor_info *info) {
    return infer__model_io(m, i, 0, info);
}
infer_status infer_model_metadata(const infer_model *m, size_t i, const char **key, const char **value) {
    if (!m || !key || !value || i >= m->n_meta)
        return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "infer_model_metadata: index %zu out of range", i);
    *key = m->meta[2 * i];
    *value = m->meta[2 * i + 1];
    return INFER_STATUS_OK;
}
void infer_model_get_stats(const infer_model *m, infer_model_stats *st) {
    uint32_t i;
    if (!st) return;
    memset(st, 0, sizeof *st);
    if (!m) return;
    st->n_nodes = m->n_nodes, st->n_tensors = m->n_tensors, st->n_inputs = m->n_inputs, st->n_outputs = m->n_outputs;
    st->file_bytes = m->n_bytes;
    for (i = 0; i < m->n_tensors; i++) {
        const infer__tensor *t = &m->tensors[i];
        size_t esz = infer_dtype_bytes(t->dtype);
        if (!t->data) continue;
        st->n_constants++;
        st->constant_bytes += t->data_bytes;
        st->constant_elements += esz ? t->data_bytes / esz : 0;
    }
}

const char *infer_model_metadata_get(const infer_model *m, const char *key) {
    uint32_t i;
    if (!m || !key) return NULL;
    for (i = 0; i < m->n_meta; i++)
        if (!strcmp(m->meta[2 * i], key)) return m->meta[2 * i + 1];
    return NULL;
}

/* -- writer: the builder -- */

typedef struct infer__wtensor {
    char *name;             /* owned; "" for an attribute's tensor */
    uint32_t name_off;      /* in the string table */
    infer_dtype dtype;
    int n_dims;
    int64_t dims[INFER_MAX_DIMS];
    uint32_t sym[INFER_MAX_DIMS]; /* string offsets, 0 = fixed */
    void *data;             /* owned copy, NULL for inputs and intermediates */
    size_t data_bytes;
} infer__wtensor;

typedef struct infer__wattr {
    uint32_t name, type;
    uint64_t count, value;
} infer__wattr;

struct infer_builder {
    infer_allocator a;
    char *str;                 /* string table, starts with "" */
    infer__wtensor *t;
    uint32_t *nodes;           /* [n_nodes][8]: the node record's fields */
    uint32_t *refs;
    infer__wattr *attrs;
    uint8_t *adata;            /* attribute arrays, 8-byte aligned entries */
    uint32_t *inputs, *outputs;
    uint32_t *meta;            /* [n_meta][2] */
    size_t n_str, n_t, n_nodes, n_refs, n_attrs, n_adata, n_inputs, n_outputs, n_meta;
    size_t c_str, c_t, c_nodes, c_refs, c_attrs, c_adata, c_inputs, c_outputs, c_meta;
    infer__map names;          /* tensor name -> index */
};

#define INFER__BARG(...) infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, __VA_ARGS__)
#define INFER__BOOM() infer__fail(NULL, INFER_STATUS_OUT_OF_MEMORY, "builder: out of memory")
#define INFER__PUSH(b, arr, n, c, v)                                                           \
    (infer__grow(&(b)->a, (void **)&(b)->arr, &(b)->c, (b)->n + 1, sizeof(*(b)->arr)) &&   \
     (((b)->arr[(b)->n++] = (v)), 1))

infer_attr infer_attr_int(const char *name, int64_t v) {
    infer_attr a;
    memset(&a, 0, sizeof a);
    a.name = name, a.type = INFER_ATTR_INT, a.i = v;
    return a;
}
infer_attr infer_attr_float(const char *name, float v) {
    infer_attr a;
    memset(&a, 0, sizeof a);
    a.name = name, a.type = INFER_ATTR_FLOAT, a.f = v;
    return a;
}
infer_attr infer_attr_ints(const char *name, const int64_t *v, size_t n) {
    infer_attr a;
    memset(&a, 0, sizeof a);
    a.name = name, a.type = INFER_ATTR_INTS, a.ints = v, a.n = n;
    return a;
}
infer_attr infer_attr_floats(const char *name, const float *v, size_t n) {
    infer_attr a;
    memset(&a, 0, sizeof a);
    a.name = name, a.type = INFER_ATTR_FLOATS, a.floats = v, a.n = n;
    return a;
}
infer_attr infer_attr_string(const char *name, const char *v) {
    infer_attr a;
    memset(&a, 0, sizeof a);
    a.name = name, a.type = INFER_ATTR_STRING, a.s = v;
    return a;
}
infer_attr infer_attr_tensor(const char *name, const infer_tensor *t) {
    infer_attr a;
    memset(&a, 0, sizeof a);
    a.name = name, a.type = INFER_ATTR_TENSOR, a.t = t;
    return a;
}

infer_status infer_builder_create(const infer_allocator *allocator, infer_builder **out) {
    infer_allocator a;
    infer_builder *b;
    if (!out) return INFER__BARG("infer_builder_create: out is NULL");
    *out = NULL;
    memset(&a, 0, sizeof a);
    if (allocator) a = *allocator;
    b = (infer_builder *)infer__calloc(&a, 1, sizeof *b);
    if (!b) return INFER__BOOM();
    b->a = a;
    if (!INFER__PUSH(b, str, n_str, c_str, '\0')) {
        infer__free(&a, b);
        return INFER__BOOM();
    }
    *out = b;
    return INFER_STATUS_OK;
}

void infer_builder_free(infer_builder *b) {
    size_t i;
    infer_allocator a;
    if (!b) return;
    a = b->a;
    for (i = 0; i < b->n_t; i++) {
        infer__free(&a, b->t[i].name);
        infer__free(&a, b->t[i].data);
    }
    infer__free(&a, b->str);
    infer__free(&a, b->t);
    infer__free(&a, b->nodes);
    infer__free(&a, b->refs);
    infer__free(&a, b->attrs);
    infer__free(&a, b->adata);
    infer__free(&a, b->inputs);
    infer__free(&a, b->outputs);
    infer__free(&a, b->meta);
    infer__map_free(&a, &b->names);
    infer__free(&a, b);
}

/* Appends s to the string table; 0 on failure (offset 0 is the empty string). */
static uint32_t infer__bstr(infer_builder *b, const char *s) {
    size_t n = strlen(s) + 1, off = b->n_str;
    if (n == 1) return 0;
    if (off + n > INFER_MAX_STRING_BYTES) return 0;
    if (!infer__grow(&b->a, (void **)&b->str, &b->c_str, off + n, 1)) return 0;
    memcpy(b->str + off, s, n);
    b->n_str += n;
    return (uint32_t)off;
}

static int infer__name_ok(const char *s) { return s && s[0]; }

/* Adds a tensor record; named tensors go into the name map. Returns its index or -1. */
static long infer__btensor(infer_builder *b, const char *name, infer_dtype dtype, int n_dims,
                           const int64_t *dims, const char *const *dim_names, const void *data,
                           size_t data_bytes) {
    infer__wtensor t;
    int d;
    memset(&t, 0, sizeof t);
    t.dtype = dtype;
    t.n_dims = n_dims;
    for (d = 0; d < n_dims; d++) {
        if (dim_names && dim_names[d]) {
            if (!dim_names[d][0] || !(t.sym[d] = infer__bstr(b, dim_names[d]))) return -1;
            t.dims[d] = -1;
        } else {
            t.dims[d] = dims[d];
        }
    }
    t.name_off = infer__bstr(b, name);
    if (name[0] && !t.name_off) return -1;
    t.name = infer__strdup(&b->a, name);
    if (!t.name) return -1;
    if (data) {
        t.data = infer__alloc_raw(&b->a, data_bytes);
        if (!t.data) {
            infer__free(&b->a, t.name);
            return -1;
        }
        memcpy(t.data, data, data_bytes);
        t.data_bytes = data_bytes;
    }
    if (b->n_t >= INFER_MAX_TENSORS || !INFER__PUSH(b, t, n_t, c_t, t)) {
        infer__free(&b->a, t.name);
        infer__free(&b->a, t.data);
        return -1;
    }
    if (name[0] && !infer__map_put(&b->a, &b->names, b->t[b->n_t - 1].name, (uint32_t)(b->n_t - 1))) {
        b->n_t--;
        infer__free(&b->a, t.name);
        infer__free(&b->a, t.data);
        return -1;
    }
    return (long)(b->n_t - 1);
}

/* Checks dtype, rank and dims of a declared tensor. */
static infer_status infer__bcheck_shape(const char *what, const char *name, infer_dtype dtype, int n_dims,
                                        const int64_t *dims, const char *const *dim_names) {
    int d;
    if ((int)dtype <= 0 || (int)dtype >= (int)INFER_DTYPE_COUNT)
        return INFER__BARG("%s '%s': dtype %d is out of range", what, name, (int)dtype);
    if (n_dims < 0 || n_dims > INFER_MAX_DIMS)
        return INFER__BARG("%s '%s': rank %d is outside [0, %d]", what, name, n_dims, INFER_MAX_DIMS);
    if (n_dims && !dims && !dim_names) return INFER__BARG("%s '%s': dims is NULL", what, name);
    for (d = 0; d < n_dims; d++) {
        if (dim_names && dim_names[d]) {
            if (!dim_names[d][0]) return INFER__BARG("%s '%s': dim %d has an empty name", what, name, d);
            continue;
        }
        if (!dims || dims[d] < 0 || dims[d] > INFER_MAX_DIM_VALUE)
            return INFER__BARG("%s '%s': dim %d is %lld, outside [0, %lld]", what, name, d,
                               dims ? (long long)dims[d] : -1LL, (long long)INFER_MAX_DIM_VALUE);
    }
    return INFER_STATUS_OK;
}

infer_status infer_builder_add_input(infer_builder *b, const char *name, infer_dtype dtype, int n_dims,
                                     const int64_t *dims, const char *const *dim_names) {
    infer_status st;
    long t;
    if (!b || !infer__name_ok(name)) return INFER__BARG("infer_builder_add_input: NULL builder or empty name");
    if ((st = infer__bcheck_shape("input", name, dtype, n_dims, dims, dim_names))) return st;
    if (infer__map_get(&b->names, name) >= 0) return INFER__BARG("input '%s': the name is already used", name);
    t = infer__btensor(b, name, dtype, n_dims, dims, dim_names, NULL, 0);
    if (t < 0 || !INFER__PUSH(b, inputs, n_inputs, c_inputs, (uint32_t)t)) return INFER__BOOM();
    return INFER_STATUS_OK;
}

/* Checks a constant's shape against its data size. */
static infer_status infer__bcheck_const(const char *what, const infer_tensor *t) {
    size_t count, bytes;
    const char *name = t->name ? t->name : "";
    infer_status st = infer__bcheck_shape(what, name, t->dtype, t->n_dims, t->dims, NULL);
    if (st) return st;
    if (!infer__dims_bytes(t->dims, t->n_dims, t->dtype, SIZE_MAX, &count, &bytes) || bytes != t->data_bytes)
        return INFER__BARG("%s '%s': data_bytes is %zu but dims and dtype need %s", what, name, t->data_bytes,
                           infer__dims_bytes(t->dims, t->n_dims, t->dtype, SIZE_MAX, &count, &bytes) ? "another size" : "an overflowing size");
    if (bytes && !t->data) return INFER__BARG("%s '%s': data is NULL", what, name);
    return INFER_STATUS_OK;
}

infer_status infer_builder_add_constant(infer_builder *b, const infer_tensor *t) {
    infer_status st;
    if (!b || !t || !infer__name_ok(t->name))
        return INFER__BARG("infer_builder_add_constant: NULL builder or tensor, or empty name");
    if ((st = infer__bcheck_const("constant", t))) return st;
    if (infer__map_get(&b->names, t->name) >= 0)
        return INFER__BARG("constant '%s': the name is already used", t->name);
    if (infer__btensor(b, t->name, t->dtype, t->n_dims, t->dims, NULL, t->data, t->data_bytes) < 0)
        return INFER__BOOM();
    return INFER_STATUS_OK;
}

/* Appends n values of `size` bytes to attr_data (8-aligned); returns the offset. */
static int infer__badata(infer_builder *b, const void *v, size_t n, size_t size, uint64_t *off) {
    size_t bytes, start = (b->n_adata + 7) & ~(size_t)7, end;
    if (!infer__mul(n, size, &bytes) || !infer__add(start, bytes, &end)) return 0;
    if (!infer__grow(&b->a, (void **)&b->adata, &b->c_adata, end + 8, 1)) return 0;
    memset(b->adata + b->n_adata, 0, start - b->n_adata);
    if (bytes) {
        size_t i;
        for (i = 0; i < n; i++) { /* little-endian regardless of the host */
            if (size == 8) {
                int64_t x = ((const int64_t *)v)[i];
                infer__wr64(b->adata + start + 8 * i, (uint64_t)x);
            } else {
                uint32_t x;
                memcpy(&x, (const float *)v + i, 4);
                infer__wr32(b->adata + start + 4 * i, x);
            }
        }
    }
    b->n_adata = end;
    *off = start;
    return 1;
}

infer_status infer_builder_add_node(infer_builder *b, const char *op_type, const char *name,
                                    const char *const *inputs, size_t n_inputs, const char *const *outputs,
                                    size_t n_outputs, const infer_attr *attrs, size_t n_attrs) {
    char ctx[INFER__ERR_BYTES], auto_name[32];
    uint32_t *in = NULL, *outs = NULL;
    infer__attr *va = NULL;
    size_t i, j, mark_t, mark_refs, mark_attrs, mark_adata, mark_str;
    uint32_t rec[8];
    infer_status st = INFER_STATUS_OK;
    int op;

    if (!b || !op_type) return INFER__BARG("infer_builder_add_node: NULL builder or op type");
    if (!name || !name[0]) {
        snprintf(auto_name, sizeof auto_name, "op_%zu", b->n_nodes);
        name = auto_name;
    }
    snprintf(ctx, sizeof ctx, "node '%s' (%s)", name, op_type);
    op = infer__op_find(op_type);
    if (op < 0) return infer__fail(NULL, INFER_STATUS_UNSUPPORTED, "%s: op type '%s' is not supported", ctx, op_type);
    if (n_inputs > INFER_MAX_NODE_IO || n_outputs > INFER_MAX_NODE_IO || n_attrs > INFER_MAX_NODE_IO)
        return INFER__BARG("%s: too many inputs, outputs or attributes", ctx);
    if ((n_inputs && !inputs) || (n_outputs && !outputs) || (n_attrs && !attrs))
        return INFER__BARG("%s: NULL inputs, outputs or attributes array", ctx);
    if (b->n_nodes >= INFER_MAX_NODES) return INFER__BARG("%s: more than %u nodes", ctx, INFER_MAX_NODES);
    mark_t = b->n_t, mark_refs = b->n_refs, mark_attrs = b->n_attrs, mark_adata = b->n_adata, mark_str = b->n_str;
    in = (uint32_t *)infer__calloc(&b->a, n_inputs + n_outputs, sizeof(uint32_t));
    va = (infer__attr *)infer__calloc(&b->a, n_attrs, sizeof(infer__attr));
    if (!in || !va) {
        st = INFER__BOOM();
        goto fail;
    }
    outs = in + n_inputs;
    for (i = 0; i < n_inputs; i++) {
        long t;
        if (!inputs[i] || !inputs[i][0]) {
            in[i] = INFER__ABSENT;
            continue;
        }
        t = infer__map_get(&b->names, inputs[i]);
        if (t < 0) {
            st = INFER__BARG("%s: input %zu '%s' is not defined yet (add inputs, constants and producing nodes "
                             "first)", ctx, i, inputs[i]);
            goto fail;
        }
        in[i] = (uint32_t)t;
    }
    for (i = 0; i < n_outputs; i++) {
        outs[i] = INFER__ABSENT;
        if (!outputs[i] || !outputs[i][0]) continue;
        if (infer__map_get(&b->names, outputs[i]) >= 0) {
            st = INFER__BARG("%s: output '%s' is already defined", ctx, outputs[i]);
            goto fail;
        }
        for (j = 0; j < i; j++)
            if (outputs[j] && !strcmp(outputs[j], outputs[i])) {
                st = INFER__BARG("%s: output '%s' is listed twice", ctx, outputs[i]);
                goto fail;
            }
        outs[i] = 0; /* present; real index assigned below */
    }
    for (i = 0; i < n_attrs; i++) {
        if (!infer__name_ok(attrs[i].name)) {
            st = INFER__BARG("%s: attribute %zu has no name", ctx, i);
            goto fail;
        }
        va[i].name = attrs[i].name;
        va[i].type = attrs[i].type;
    }
    if ((st = infer__op_check(op, ctx, in, n_inputs, outs, n_outputs, va, n_attrs))) {
        if (st == INFER_STATUS_BAD_FILE) st = INFER_STATUS_INVALID_ARGUMENT; /* the caller's arguments, not a file */
        goto fail;
    }
    /* attributes */
    for (i = 0; i < n_attrs; i++) {
        const infer_attr *at = &attrs[i];
        infer__wattr w;
        int ok = 1;
        w.name = infer__bstr(b, at->name);
        w.type = (uint32_t)at->type;
        w.count = 1;
        w.value = 0;
        switch (at->type) {
        case INFER_ATTR_INT: w.value = (uint64_t)at->i; break;
        case INFER_ATTR_FLOAT: {
            uint32_t bits;
            memcpy(&bits, &at->f, 4);
            w.value = bits;
            break;
        }
        case INFER_ATTR_INTS:
        case INFER_ATTR_FLOATS:
            if (at->n && !(at->type == INFER_ATTR_INTS ? (const void *)at->ints : (const void *)at->floats)) {
                st = INFER__BARG("%s: attribute '%s': NULL array", ctx, at->name);
                goto fail;
            }
            w.count = at->n;
            ok = infer__badata(b, at->type == INFER_ATTR_INTS ? (const void *)at->ints : (const void *)at->floats,
                               at->n, at->type == INFER_ATTR_INTS ? 8 : 4, &w.value);
            break;
        case INFER_ATTR_STRING:
            if (!at->s) {
                st = INFER__BARG("%s: attribute '%s': NULL string", ctx, at->name);
                goto fail;
            }
            w.value = at->s[0] ? infer__bstr(b, at->s) : 0;
            ok = !at->s[0] || w.value;
            break;
        case INFER_ATTR_TENSOR: {
            long t;
            if (!at->t) {
                st = INFER__BARG("%s: attribute '%s': NULL tensor", ctx, at->name);
                goto fail;
            }
            if ((st = infer__bcheck_const("attribute tensor", at->t))) goto fail;
            t = infer__btensor(b, "", at->t->dtype, at->t->n_dims, at->t->dims, NULL, at->t->data ? at->t->data : "",
                               at->t->data_bytes);
            ok = t >= 0;
            w.value = (uint64_t)t;
            break;
        }
        default: break;
        }
        if (!ok || !w.name || !INFER__PUSH(b, attrs, n_attrs, c_attrs, w)) {
            st = INFER__BOOM();
            goto fail;
        }
    }
    /* outputs become tensors whose dtype and shape are inferred per session */
    for (i = 0; i < n_outputs; i++) {
        long t;
        if (outs[i] == INFER__ABSENT) continue;
        t = infer__btensor(b, outputs[i], INFER_DTYPE_UNDEFINED, 0, NULL, NULL, NULL, 0);
        if (t < 0) {
            st = INFER__BOOM();
            goto fail;
        }
        outs[i] = (uint32_t)t;
    }
    rec[0] = infer__bstr(b, name);
    rec[1] = infer__bstr(b, op_type);
    rec[2] = (uint32_t)b->n_refs;
    rec[3] = (uint32_t)n_inputs;
    rec[4] = (uint32_t)(b->n_refs + n_inputs);
    rec[5] = (uint32_t)n_outputs;
    rec[6] = (uint32_t)(b->n_attrs - n_attrs);
    rec[7] = (uint32_t)n_attrs;
    if (!rec[0] || !rec[1] ||
        !infer__grow(&b->a, (void **)&b->refs, &b->c_refs, b->n_refs + n_inputs + n_outputs, sizeof(uint32_t)) ||
        !infer__grow(&b->a, (void **)&b->nodes, &b->c_nodes, (b->n_nodes + 1) * 8, sizeof(uint32_t))) {
        st = INFER__BOOM();
        goto fail;
    }
    memcpy(b->refs + b->n_refs, in, (n_inputs + n_outputs) * sizeof(uint32_t));
    b->n_refs += n_inputs + n_outputs;
    memcpy(b->nodes + 8 * b->n_nodes, rec, sizeof rec);
    b->n_nodes++;
    infer__free(&b->a, in);
    infer__free(&b->a, va);
    return INFER_STATUS_OK;
fail: /* roll back everything this call added */
    while (b->n_t > mark_t) {
        infer__wtensor *t = &b->t[--b->n_t];
        if (t->name[0]) {
            /* re-point the map entry away: rebuild is simplest and failures are rare */
            infer__free(&b->a, t->name);
            infer__free(&b->a, t->data);
            infer__map_free(&b->a, &b->names);
            for (i = 0; i < b->n_t; i++)
                if (b->t[i].name[0]) infer__map_put(&b->a, &b->names, b->t[i].name, (uint32_t)i);
        } else {
            infer__free(&b->a, t->name);
            infer__free(&b->a, t->data);
        }
    }
    b->n_refs = mark_refs, b->n_attrs = mark_attrs, b->n_adata = mark_adata, b->n_str = mark_str;
    infer__free(&b->a, in);
    infer__free(&b->a, va);
    return st;
}

infer_status infer_builder_add_output(infer_builder *b, const char *name) {
    long t;
    size_t i;
    if (!b || !infer__name_ok(name)) return INFER__BARG("infer_builder_add_output: NULL builder or empty name");
    t = infer__map_get(&b->names, name);
    if (t < 0) return INFER__BARG("output '%s': no tensor has this name", name);
    for (i = 0; i < b->n_outputs; i++)
        if (b->outputs[i] == (uint32_t)t) return INFER__BARG("output '%s': already an output", name);
    if (!INFER__PUSH(b, outputs, n_outputs, c_outputs, (uint32_t)t)) return INFER__BOOM();
    return INFER_STATUS_OK;
}

infer_status infer_builder_set_metadata(infer_builder *b, const char *key, const char *value) {
    uint32_t k, v;
    size_t i;
    if (!b || !infer__name_ok(key) || !value)
        return INFER__BARG("infer_builder_set_metadata: NULL builder, key or value, or empty key");
    k = infer__bstr(b, key);
    v = value[0] ? infer__bstr(b, value) : 0;
    if (!k || (value[0] && !v)) return INFER__BOOM();
    for (i = 0; i < b->n_meta / 2; i++)
        if (!strcmp(b->str + b->meta[2 * i], key)) {
            b->meta[2 * i + 1] = v;
            return INFER_STATUS_OK;
        }
    if (!INFER__PUSH(b, meta, n_meta, c_meta, k) || !INFER__PUSH(b, meta, n_meta, c_meta, v)) return INFER__BOOM();
    return INFER_STATUS_OK;
}

/* File layout of a builder: section offsets, the metadata area and the weights. */
typedef struct infer__layout {
    uint64_t off[INFER__SEC_COUNT], bytes[INFER__SEC_COUNT], count[INFER__SEC_COUNT];
    uint64_t meta_end, weights_off, weights_bytes, file_bytes;
} infer__layout;

static uint64_t infer__pad64(uint64_t n) { return (n + INFER__ALIGN - 1) & ~(uint64_t)(INFER__ALIGN - 1); }

static int infer__builder_layout(const infer_builder *b, infer__layout *L) {
    uint64_t pos = INFER__HEADER_BYTES + (INFER__SEC_COUNT - 1) * INFER__SECTION_BYTES, w = 0;
    int k;
    size_t i;
    L->count[INFER__SEC_STRINGS] = b->n_str;
    L->count[INFER__SEC_TENSORS] = b->n_t;
    L->count[INFER__SEC_NODES] = b->n_nodes;
    L->count[INFER__SEC_REFS] = b->n_refs;
    L->count[INFER__SEC_ATTRS] = b->n_attrs;
    L->count[INFER__SEC_ATTR_DATA] = b->n_adata;
    L->count[INFER__SEC_INPUTS] = b->n_inputs;
    L->count[INFER__SEC_OUTPUTS] = b->n_outputs;
    L->count[INFER__SEC_METADATA] = b->n_meta / 2;
    for (k = 1; k < INFER__SEC_COUNT; k++) {
        pos = (pos + 7) & ~(uint64_t)7;
        L->off[k] = pos;
        L->bytes[k] = L->count[k] * infer__sec_rec[k];
        pos += L->bytes[k];
    }
    L->meta_end = pos;
    L->weights_off = infer__pad64(pos);
    for (i = 0; i < b->n_t; i++) { /* constants in tensor order, each 64-byte aligned */
        if (!b->t[i].data) continue;
        w += infer__pad64(b->t[i].data_bytes);
        if (w > ((uint64_t)1 << 62)) return 0;
    }
    L->weights_bytes = w;
    L->file_bytes = L->weights_off + w;
    return L->file_bytes <= SIZE_MAX;
}

/* Writes the metadata area [0, weights_off) into p (zero-filled by the caller). */
static void infer__builder_write_meta(const infer_builder *b, const infer__layout *L, uint8_t *p,
                                      uint64_t weights_hash) {
    size_t i;
    int k, d;
    uint64_t w = 0;
    infer__hash h;
    memcpy(p, infer__magic, 8);
    infer__wr16(p + 8, INFER__FORMAT_MAJOR);
    infer__wr16(p + 10, INFER__FORMAT_MINOR);
    infer__wr32(p + 12, INFER__HEADER_BYTES);
    infer__wr32(p + 16, INFER__SEC_COUNT - 1);
    infer__wr64(p + 24, L->file_bytes);
    infer__wr64(p + 40, weights_hash);
    infer__wr64(p + 48, L->weights_off);
    infer__wr64(p + 56, L->weights_bytes);
    for (k = 1; k < INFER__SEC_COUNT; k++) {
        uint8_t *e = p + INFER__HEADER_BYTES + (size_t)(k - 1) * INFER__SECTION_BYTES;
        infer__wr32(e, (uint32_t)k);
        infer__wr64(e + 8, L->off[k]);
        infer__wr64(e + 16, L->bytes[k]);
        infer__wr64(e + 24, L->count[k]);
    }
    memcpy(p + L->off[INFER__SEC_STRINGS], b->str, b->n_str);
    for (i = 0; i < b->n_t; i++) {
        const infer__wtensor *t = &b->t[i];
        uint8_t *r = p + L->off[INFER__SEC_TENSORS] + 128 * i;
        infer__wr32(r, t->name_off);
        r[4] = (uint8_t)t->dtype;
        r[5] = (uint8_t)t->n_dims;
        infer__wr16(r + 6, t->data ? INFER__TENSOR_HAS_DATA : 0);
        if (t->data) {
            infer__wr64(r + 8, w);
            infer__wr64(r + 16, t->data_bytes);
            w += infer__pad64(t->data_bytes);
        }
        for (d = 0; d < t->n_dims; d++) {
            infer__wr64(r + 24 + 8 * d, (uint64_t)t->dims[d]);
            infer__wr32(r + 88 + 4 * d, t->sym[d]);
        }
    }
    for (i = 0; i < b->n_nodes; i++)
        for (d = 0; d < 8; d++) infer__wr32(p + L->off[INFER__SEC_NODES] + 32 * i + 4 * d, b->nodes[8 * i + d]);
    for (i = 0; i < b->n_refs; i++) infer__wr32(p + L->off[INFER__SEC_REFS] + 4 * i, b->refs[i]);
    for (i = 0; i < b->n_attrs; i++) {
        uint8_t *r = p + L->off[INFER__SEC_ATTRS] + 24 * i;
        infer__wr32(r, b->attrs[i].name);
        infer__wr32(r + 4, b->attrs[i].type);
        infer__wr64(r + 8, b->attrs[i].count);
        infer__wr64(r + 16, b->attrs[i].value);
    }
    if (b->n_adata) memcpy(p + L->off[INFER__SEC_ATTR_DATA], b->adata, b->n_adata);
    for (i = 0; i < b->n_inputs; i++) infer__wr32(p + L->off[INFER__SEC_INPUTS] + 4 * i, b->inputs[i]);
    for (i = 0; i < b->n_outputs; i++) infer__wr32(p + L->off[INFER__SEC_OUTPUTS] + 4 * i, b->outputs[i]);
    for (i = 0; i < b->n_meta; i++) infer__wr32(p + L->off[INFER__SEC_METADATA] + 4 * i, b->meta[i]);
    infer__hash_init(&h);
    infer__hash_update(&h, p, (size_t)L->weights_off);
    infer__wr64(p + INFER__HASH_FIELD, infer__hash_final(&h));
}

/* Hashes the weight data as it will be laid out: each constant, zero-padded to 64. */
static uint64_t infer__builder_weights_hash(const infer_builder *b) {
    static const uint8_t zeros[INFER__ALIGN] = {0};
    infer__hash h;
    size_t i;
    infer__hash_init(&h);
    for (i = 0; i < b->n_t; i++) {
        if (!b->t[i].data) continue;
        infer__hash_update(&h, (const uint8_t *)b->t[i].data, b->t[i].data_bytes);
        infer__hash_update(&h, zeros, (size_t)(infer__pad64(b->t[i].data_bytes) - b->t[i].data_bytes));
    }
    return infer__hash_final(&h);
}

infer_status infer_builder_serialize(const infer_builder *b, void *buf, size_t cap, size_t *needed) {
    infer__layout L;
    uint8_t *p = (uint8_t *)buf;
    uint64_t w = 0;
    size_t i;
    if (!b || !needed) return INFER__BARG("infer_builder_serialize: NULL builder or needed");
    if (!infer__builder_layout(b, &L)) return INFER__BARG("builder: the model is too large to serialise");
    *needed = (size_t)L.file_bytes;
    if (!buf) return INFER_STATUS_OK;
    if (cap < L.file_bytes)
        return INFER__BARG("infer_builder_serialize: buffer of %zu bytes, %llu needed", cap,
                           (unsigned long long)L.file_bytes);
    memset(p, 0, (size_t)L.file_bytes);
    for (i = 0; i < b->n_t; i++) {
        if (!b->t[i].data) continue;
        memcpy(p + L.weights_off + w, b->t[i].data, b->t[i].data_bytes);
        w += infer__pad64(b->t[i].data_bytes);
    }
    infer__builder_write_meta(b, &L, p, infer__builder_weights_hash(b));
    return INFER_STATUS_OK;
}

infer_status infer_builder_save(const infer_builder *b, const char *path) {
    static const uint8_t zeros[INFER__ALIGN] = {0};
    char tmp[4096];
    infer__layout L;
    uint8_t *meta;
    FILE *fp = NULL;
    size_t i;
    int ok;
    if (!b || !path || !path[0]) return INFER__BARG("infer_builder_save: NULL builder or path");
    if (!infer__builder_layout(b, &L)) return INFER__BARG("%s: the model is too large to serialise", path);
    if (snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path) >= (int)sizeof tmp)
        return INFER__BARG("%s: path too long", path);
    meta = (uint8_t *)infer__calloc(&b->a, (size_t)L.weights_off, 1);
    if (!meta) return INFER__BOOM();
    infer__builder_write_meta(b, &L, meta, infer__builder_weights_hash(b));
#if INFER__MMAP
    {
        int fd = mkstemp(tmp);
        if (fd >= 0 && !(fp = fdopen(fd, "wb"))) close(fd);
    }
#elif defined(_WIN32)
    tmp[strlen(path) + 4] = '\0'; /* "<path>.tmp" */
    {
        wchar_t *w = infer__wpath(&b->a, tmp);
        fp = w ? _wfopen(w, L"wb") : NULL;
        infer__free(&b->a, w);
    }
#else
    tmp[strlen(path) + 4] = '\0'; /* "<path>.tmp" */
    fp = fopen(tmp, "wb");
#endif
    if (!fp) {
        infer__free(&b->a, meta);
        return infer__fail(NULL, INFER_STATUS_IO, "%s: cannot create a temporary file next to it: %s", path,
                           strerror(errno));
    }
    ok = fwrite(meta, 1, (size_t)L.weights_off, fp) == (size_t)L.weights_off;
    for (i = 0; ok && i < b->n_t; i++) {
        size_t pad;
        if (!b->t[i].data) continue;
        pad = (size_t)(infer__pad64(b->t[i].data_bytes) - b->t[i].data_bytes);
        ok = fwrite(b->t[i].data, 1, b->t[i].data_bytes, fp) == b->t[i].data_bytes &&
             fwrite(zeros, 1, pad, fp) == pad;
    }
    ok = fflush(fp) == 0 && ok;
#if INFER__MMAP
    ok = ok && fsync(fileno(fp)) == 0;
#endif
    ok = fclose(fp) == 0 && ok;
    infer__free(&b->a, meta);
#if defined(_WIN32) /* MoveFileExW replaces the old file in one step, as rename does on POSIX */
    if (ok) {
        wchar_t *wt = infer__wpath(&b->a, tmp), *wd = infer__wpath(&b->a, path);
        ok = wt && wd && MoveFileExW(wt, wd, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH);
        infer__free(&b->a, wt);
        infer__free(&b->a, wd);
        if (!ok) {
            DWORD e = GetLastError();
            remove(tmp);
            return infer__fail(NULL, INFER_STATUS_IO, "%s: write failed: %s (%lu)", path, infer__win_error(e),
                               (unsigned long)e);
        }
    }
    if (!ok) {
#else
#if !INFER__MMAP
    if (ok) remove(path); /* rename does not replace on Windows */
#endif
    if (!ok || rename(tmp, path) != 0) {
#endif
        int e = errno;
        remove(tmp);
        return infer__fail(NULL, INFER_STATUS_IO, "%s: write failed: %s", path, strerror(e));
    }
    return INFER_STATUS_OK;
}

/* ===== 4. GRAPH IR AND THE OPERATOR TABLE ========================== >>graph */

/* A tensor as a session sees it: bound dims and where its bytes live. */
typedef struct infer__val {
    infer_dtype dtype;
    int n_dims;
    int64_t dims[INFER_MAX_DIMS];
    size_t n;          /* elements */
    size_t bytes;
    void *data;        /* constants: set at creation; others: set by the plan / per run */
    int kind;          /* INFER__VAL_* */
    int32_t alias;     /* VIEW: the value whose bytes this one shares, else -1 */
    int32_t storage;   /* ARENA: plan buffer, else -1 */
    size_t offset;     /* ARENA: byte offset in the arena */
    int nhwc;          /* a 4-D activation stored channels-last (infer__layout_pass) */
} infer__val;

enum { INFER__VAL_NONE = 0, INFER__VAL_CONST, INFER__VAL_INPUT, INFER__VAL_ARENA, INFER__VAL_VIEW };

/* Per-node parameters, derived from attributes and bound shapes at session creation. */

/* An activation fused into Conv, ConvTranspose, Gemm or MatMul by infer-convert: the
   infer extension attributes activation (a name), activation_alpha, activation_beta. */
enum { INFER__ACT_NONE, INFER__ACT_RELU, INFER__ACT_LEAKY_RELU, INFER__ACT_SIGMOID, INFER__ACT_TANH, INFER__ACT_CLIP,
       INFER__ACT_HARD_SIGMOID, INFER__ACT_HARD_SWISH, INFER__ACT_GELU, INFER__ACT_GELU_TANH, INFER__ACT_SILU };
#define INFER__ACT_NAMES "None Relu LeakyRelu Sigmoid Tanh Clip HardSigmoid HardSwish Gelu GeluTanh Silu"
typedef struct infer__act {
    int kind;          /* INFER__ACT_* */
    float alpha, beta; /* LeakyRelu alpha; Clip min, max; HardSigmoid alpha, beta */
} infer__act;

typedef struct infer__conv_p { /* Conv, ConvTranspose, MaxPool, AveragePool */
    int n_sp;                  /* spatial dims, 1..3; unused ones have size 1 */
    int64_t n, c, m, group;    /* batch, input channels, output channels, groups */
    int64_t in[3], out[3];     /* spatial sizes */
    int64_t k[3], s[3], d[3];  /* kernel, stride, dilation */
    int64_t pb[3], pe[3];      /* padding at the start and the end */
    int count_include_pad;
    int in_nhwc, out_nhwc;     /* Conv: X, Y stored channels-last (infer__layout_pass) */
    infer__act act;
    const infer__val *res;     /* Conv: a residual added before act (infer__residual_pass), or NULL */
} infer__conv_p;

typedef struct infer__mm_p {   /* MatMul, Gemm */
    int64_t m, n, k;
    int trans_a, trans_b;
    float alpha, beta;
    int n_batch;                                       /* broadcast batch rank */
    int64_t batch[INFER_MAX_DIMS];                     /* output batch dims */
    int64_t sa[INFER_MAX_DIMS], sb[INFER_MAX_DIMS];    /* A/B batch strides, in matrices */
    infer__act act;
} infer__mm_p;

typedef struct infer__axis_p { /* ops along one axis, and small scalar attributes */
    int64_t axis;
    int64_t outer, len, inner; /* the input as [outer][len][inner] around axis */
    int flag;                  /* keepdims / select_last_index / log / approximate ... */
    float alpha, beta;         /* LeakyRelu, HardSigmoid, epsilon */
} infer__axis_p;

typedef struct infer__index_p { /* Transpose, Slice, Pad, Tile, Expand: index maps */
    int64_t a[INFER_MAX_DIMS];  /* perm / start / pad at the start */
    int64_t b[INFER_MAX_DIMS];  /* step */
    int mode;                   /* Pad: 0 constant, 1 reflect, 2 edge, 3 wrap */
} infer__index_p;

typedef struct infer__resize_p {
    int mode;                   /* 0 nearest, 1 linear, 2 cubic */
    int coord;                  /* INFER__COORD_* */
    int nearest;                /* 0 round_prefer_floor, 1 round_prefer_ceil, 2 floor, 3 ceil */
    int exclude_outside;
    float cubic_a, extrapolation;
    double scale[INFER_MAX_DIMS];
    double len[INFER_MAX_DIMS];     /* ONNX's length_resized: in * scale when scales are given */
    double roi_start[INFER_MAX_DIMS], roi_end[INFER_MAX_DIMS];
} infer__resize_p;

typedef struct infer__rnn_p {  /* LSTM, GRU, RNN */
    int64_t seq, batch, input, hidden;
    int n_dir, reverse;         /* 1 or 2 directions; reverse: direction 'reverse' */
    int layout;                 /* 0: X [seq,batch,input]; 1: X [batch,seq,input] */
    int flag;                   /* LSTM input_forget; GRU linear_before_reset */
    float clip;                 /* > 0: activation inputs clipped to [-clip, clip]; 0: none */
    int n_act;                  /* activations per direction: LSTM 3 (f g h), GRU 2 (f g), RNN 1 (f) */
    int act[6];                 /* INFER__RNN_ACT_*, [direction][n_act] */
    float alpha[6], beta[6];
} infer__rnn_p;

typedef struct infer__quant_p { /* QuantizeLinear, DequantizeLinear */
    int64_t outer, len, inner;  /* x as [outer][len][inner] around axis */
    int64_t block;              /* elements of x per scale along axis (1: per-axis or per-tensor) */
    int64_t so, sl, si;         /* scale index = o*so + (l/block)*sl + i*si; all 0: one scale */
    int saturate;               /* float8 outputs: out of range -> +-max (else inf or NaN) */
    infer_dtype precision;      /* the dtype x / scale is computed in (QuantizeLinear) */
} infer__quant_p;

typedef union infer__params {
    infer__conv_p conv;
    infer__mm_p mm;
    infer__axis_p ax;
    infer__index_p ix;
    infer__resize_p rs;
    infer__rnn_p rnn;
    unsigned reduce_mask;       /* Reduce*: bit i set = reduce axis i */
    unsigned cast_mode;         /* Cast: INFER__CAST_* bits */
    infer__quant_p q;
} infer__params;
#define INFER__CAST_SATURATE 1 /* float8 targets: out of range -> +-max (else inf or NaN) */
#define INFER__CAST_DOWN 2     /* f8e8m0 round_mode "down" (toward zero); default "up" */
#define INFER__CAST_NEAREST 4  /* f8e8m0 round_mode "nearest" (ties up) */

/* What shape functions and kernels see of one node. */
typedef struct infer__ctx {
    const infer_model *m;
    char *err;                  /* the session's error buffer */
    const infer__node *node;
    infer__params *p;
    infer__val **in, **out;     /* [n_in], [n_out]; NULL for an absent optional one */
    uint32_t n_in, n_out;
    size_t max_bytes;           /* the session's memory cap (SIZE_MAX: none) */
    void *scratch;              /* kernels: scratch_bytes of workspace in the arena */
    size_t scratch_bytes;       /* shape functions: set what the kernel needs */
    int n_threads;
    infer__rt *rt;              /* the session's threads and stop signals (NULL: none) */
    const float *packed;        /* kernels: this node's weights pre-packed at session creation
                                   for its kernel (infer__cpu_pack), or NULL */
    int wino_e;                 /* kernels: the Winograd tile (4 or 2) packed is for, or 0: not */
} infer__ctx;

typedef infer_status (*infer__shape_fn)(infer__ctx *c);
typedef infer_status (*infer__kernel_fn)(const infer__ctx *c);

/* Op flags: how the planner may treat a node's output 0. */
#define INFER__OPF_INPLACE 1 /* may share the bytes of an input of the same shape that dies here */
#define INFER__OPF_VIEW 2    /* the same bytes as input 0 (a reshape): no work when aliased */
#define INFER__OPF_SHAPE 4   /* depends on input shapes only: always folded at creation */
#define INFER__VARIADIC INFER_MAX_NODE_IO

/* The operator table: one row per op.
   X(id, ONNX name, inputs min/max, outputs min/max, flags, shape function, CPU kernel,
     attributes as "name:type" with type i int, f float, I ints, F floats, s string, t tensor).
   The semantics are the newest ONNX opset's; infer-convert normalises older forms. */
#define INFER__OPS(X)                                                                               \
    X(ADD, "Add", 2, 2, 1, 1, INFER__OPF_INPLACE, infer__shape_binary, infer__binary_ref, "")         \
    X(SUB, "Sub", 2, 2, 1, 1, INFER__OPF_INPLACE, infer__shape_binary, infer__binary_ref, "")         \
    X(MUL, "Mul", 2, 2, 1, 1, INFER__OPF_INPLACE, infer__shape_binary, infer__binary_ref, "")         \
    X(DIV, "Div", 2, 2, 1, 1, INFER__OPF_INPLACE, infer__shape_binary, infer__binary_ref, "")         \
    X(POW, "Pow", 2, 2, 1, 1, INFER__OPF_INPLACE, infer__shape_binary, infer__binary_ref, "")         \
    X(MAX, "Max", 1, INFER__VARIADIC, 1, 1, INFER__OPF_INPLACE, infer__shape_binary, infer__binary_ref, "") \
    X(MIN, "Min", 1, INFER__VARIADIC, 1, 1, INFER__OPF_INPLACE, infer__shape_binary, infer__binary_ref, "") \
    X(SUM, "Sum", 1, INFER__VARIADIC, 1, 1, INFER__OPF_INPLACE, infer__shape_binary, infer__binary_ref, "") \
    X(EQUAL, "Equal", 2, 2, 1, 1, 0, infer__shape_compare, infer__compare_ref, "")                    \
    X(LESS, "Less", 2, 2, 1, 1, 0, infer__shape_compare, infer__compare_ref, "")                      \
    X(LESS_EQUAL, "LessOrEqual", 2, 2, 1, 1, 0, infer__shape_compare, infer__compare_ref, "")         \
    X(GREATER, "Greater", 2, 2, 1, 1, 0, infer__shape_compare, infer__compare_ref, "")                \
    X(GREATER_EQUAL, "GreaterOrEqual", 2, 2, 1, 1, 0, infer__shape_compare, infer__compare_ref, "")   \
    X(AND, "And", 2, 2, 1, 1, INFER__OPF_INPLACE, infer__shape_compare, infer__compare_ref, "")       \
    X(OR, "Or", 2, 2, 1, 1, INFER__OPF_INPLACE, infer__shape_compare, infer__compare_ref, "")         \
    X(NOT, "Not", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")           \
    X(WHERE, "Where", 3, 3, 1, 1, 0, infer__shape_where, infer__where_ref, "")                        \
    X(SQRT, "Sqrt", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")         \
    X(RECIPROCAL, "Reciprocal", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "") \
    X(NEG, "Neg", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")           \
    X(ABS, "Abs", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")           \
    X(EXP, "Exp", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")           \
    X(LOG, "Log", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")           \
    X(ERF, "Erf", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")           \
    X(TANH, "Tanh", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")         \
    X(SIGMOID, "Sigmoid", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")   \
    X(RELU, "Relu", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")         \
    X(LEAKY_RELU, "LeakyRelu", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "alpha:f") \
    X(HARD_SIGMOID, "HardSigmoid", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, \
      "alpha:f beta:f")                                                                             \
    X(HARD_SWISH, "HardSwish", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "") \
    X(GELU, "Gelu", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "approximate:s") \
    X(CLIP, "Clip", 1, 3, 1, 1, INFER__OPF_INPLACE, infer__shape_clip, infer__clip_ref, "")           \
    X(SOFTMAX, "Softmax", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_softmax, infer__softmax_ref, "axis:i") \
    X(LOG_SOFTMAX, "LogSoftmax", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_softmax, infer__softmax_ref, \
      "axis:i")                                                                                     \
    /* MatMul's third input (a bias of N values) and the activation* attributes of these  \
       four are infer extensions that infer-convert's fusion passes produce */              \
    X(MATMUL, "MatMul", 2, 3, 1, 1, 0, infer__shape_matmul, infer__matmul_ref,                       \
      "activation:s activation_alpha:f activation_beta:f")                                          \
    X(GEMM, "Gemm", 2, 3, 1, 1, 0, infer__shape_gemm, infer__gemm_ref,                               \
      "alpha:f beta:f transA:i transB:i activation:s activation_alpha:f activation_beta:f")         \
    X(CONV, "Conv", 2, 3, 1, 1, 0, infer__shape_conv, infer__conv_ref,                               \
      "auto_pad:s dilations:I group:i kernel_shape:I pads:I strides:I activation:s activation_alpha:f " \
      "activation_beta:f")                                                                          \
    X(CONV_TRANSPOSE, "ConvTranspose", 2, 3, 1, 1, 0, infer__shape_conv_transpose,                   \
      infer__conv_transpose_ref,                                                                    \
      "auto_pad:s dilations:I group:i kernel_shape:I output_padding:I output_shape:I pads:I strides:I " \
      "activation:s activation_alpha:f activation_beta:f")                                          \
    X(MAX_POOL, "MaxPool", 1, 1, 1, 1, 0, infer__shape_pool, infer__pool_ref,                        \
      "auto_pad:s ceil_mode:i dilations:I kernel_shape:I pads:I storage_order:i strides:I")         \
    X(AVERAGE_POOL, "AveragePool", 1, 1, 1, 1, 0, infer__shape_pool, infer__pool_ref,                \
      "auto_pad:s ceil_mode:i count_include_pad:i dilations:I kernel_shape:I pads:I strides:I")     \
    X(GLOBAL_AVERAGE_POOL, "GlobalAveragePool", 1, 1, 1, 1, 0, infer__shape_global_pool,             \
      infer__global_pool_ref, "")                                                                   \
    X(BATCH_NORM, "BatchNormalization", 5, 5, 1, 1, INFER__OPF_INPLACE, infer__shape_batch_norm,     \
      infer__batch_norm_ref, "epsilon:f momentum:f training_mode:i")                                \
    X(LAYER_NORM, "LayerNormalization", 2, 3, 1, 3, INFER__OPF_INPLACE, infer__shape_layer_norm,     \
      infer__layer_norm_ref, "axis:i epsilon:f stash_type:i")                                       \
    X(ATTENTION, "Attention", 3, 7, 1, 4, 0, infer__shape_attention, infer__attention_ref,            \
      "is_causal:i kv_num_heads:i q_num_heads:i qk_matmul_output_mode:i scale:f softcap:f "         \
      "softmax_precision:i")                                                                        \
    X(REDUCE_MEAN, "ReduceMean", 1, 2, 1, 1, 0, infer__shape_reduce, infer__reduce_ref,              \
      "keepdims:i noop_with_empty_axes:i")                                                          \
    X(REDUCE_SUM, "ReduceSum", 1, 2, 1, 1, 0, infer__shape_reduce, infer__reduce_ref,                \
      "keepdims:i noop_with_empty_axes:i")                                                          \
    X(REDUCE_MAX, "ReduceMax", 1, 2, 1, 1, 0, infer__shape_reduce, infer__reduce_ref,                \
      "keepdims:i noop_with_empty_axes:i")                                                          \
    X(ARG_MAX, "ArgMax", 1, 1, 1, 1, 0, infer__shape_arg_max, infer__arg_max_ref,                    \
      "axis:i keepdims:i select_last_index:i")                                                      \
    X(RESHAPE, "Reshape", 2, 2, 1, 1, INFER__OPF_VIEW, infer__shape_reshape, infer__copy_ref, "allowzero:i") \
    X(FLATTEN, "Flatten", 1, 1, 1, 1, INFER__OPF_VIEW, infer__shape_flatten, infer__copy_ref, "axis:i") \
    X(SQUEEZE, "Squeeze", 1, 2, 1, 1, INFER__OPF_VIEW, infer__shape_squeeze, infer__copy_ref, "")    \
    X(UNSQUEEZE, "Unsqueeze", 2, 2, 1, 1, INFER__OPF_VIEW, infer__shape_unsqueeze, infer__copy_ref, "") \
    X(IDENTITY, "Identity", 1, 1, 1, 1, INFER__OPF_VIEW, infer__shape_identity, infer__copy_ref, "") \
    X(TRANSPOSE, "Transpose", 1, 1, 1, 1, 0, infer__shape_transpose, infer__transpose_ref, "perm:I") \
    X(CONCAT, "Concat", 1, INFER__VARIADIC, 1, 1, 0, infer__shape_concat, infer__concat_ref, "axis:i") \
    X(SPLIT, "Split", 1, 2, 1, INFER__VARIADIC, 0, infer__shape_split, infer__split_ref,             \
      "axis:i num_outputs:i")                                                                       \
    X(SLICE, "Slice", 3, 5, 1, 1, 0, infer__shape_slice, infer__slice_ref, "")                       \
    X(GATHER, "Gather", 2, 2, 1, 1, 0, infer__shape_gather, infer__gather_ref, "axis:i")             \
    X(FLOOR, "Floor", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")       \
    X(CEIL, "Ceil", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")         \
    X(ROUND, "Round", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")       \
    X(SIGN, "Sign", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")         \
    X(SIN, "Sin", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")           \
    X(COS, "Cos", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")           \
    X(TAN, "Tan", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")           \
    X(ASIN, "Asin", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")         \
    X(ACOS, "Acos", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")         \
    X(ATAN, "Atan", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")         \
    X(SINH, "Sinh", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")         \
    X(COSH, "Cosh", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")         \
    X(ASINH, "Asinh", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")       \
    X(ACOSH, "Acosh", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")       \
    X(ATANH, "Atanh", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")       \
    X(SOFTPLUS, "Softplus", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "") \
    X(SOFTSIGN, "Softsign", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "") \
    X(ELU, "Elu", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "alpha:f")    \
    X(SELU, "Selu", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref,             \
      "alpha:f gamma:f")                                                                              \
    X(CELU, "Celu", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "alpha:f")  \
    X(THRESHOLDED_RELU, "ThresholdedRelu", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary,        \
      infer__unary_ref, "alpha:f")                                                                    \
    X(MISH, "Mish", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "")         \
    X(SHRINK, "Shrink", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref,         \
      "bias:f lambd:f")                                                                               \
    X(IS_NAN, "IsNaN", 1, 1, 1, 1, 0, infer__shape_unary, infer__unary_ref, "")                       \
    X(IS_INF, "IsInf", 1, 1, 1, 1, 0, infer__shape_unary, infer__unary_ref,                           \
      "detect_negative:i detect_positive:i")                                                          \
    X(MOD, "Mod", 2, 2, 1, 1, INFER__OPF_INPLACE, infer__shape_binary, infer__binary_ref, "fmod:i")   \
    X(PRELU, "PRelu", 2, 2, 1, 1, INFER__OPF_INPLACE, infer__shape_binary, infer__binary_ref, "")     \
    X(MEAN, "Mean", 1, INFER__VARIADIC, 1, 1, INFER__OPF_INPLACE, infer__shape_binary,                \
      infer__binary_ref, "")                                                                          \
    X(BIT_SHIFT, "BitShift", 2, 2, 1, 1, INFER__OPF_INPLACE, infer__shape_binary, infer__binary_ref,  \
      "direction:s")                                                                                  \
    X(XOR, "Xor", 2, 2, 1, 1, INFER__OPF_INPLACE, infer__shape_compare, infer__compare_ref, "")       \
    X(REDUCE_MIN, "ReduceMin", 1, 2, 1, 1, 0, infer__shape_reduce, infer__reduce_ref,                 \
      "keepdims:i noop_with_empty_axes:i")                                                            \
    X(REDUCE_PROD, "ReduceProd", 1, 2, 1, 1, 0, infer__shape_reduce, infer__reduce_ref,               \
      "keepdims:i noop_with_empty_axes:i")                                                            \
    X(REDUCE_L1, "ReduceL1", 1, 2, 1, 1, 0, infer__shape_reduce, infer__reduce_ref,                   \
      "keepdims:i noop_with_empty_axes:i")                                                            \
    X(REDUCE_L2, "ReduceL2", 1, 2, 1, 1, 0, infer__shape_reduce, infer__reduce_ref,                   \
      "keepdims:i noop_with_empty_axes:i")                                                            \
    X(REDUCE_LOG_SUM, "ReduceLogSum", 1, 2, 1, 1, 0, infer__shape_reduce, infer__reduce_ref,          \
      "keepdims:i noop_with_empty_axes:i")                                                            \
    X(REDUCE_LOG_SUM_EXP, "ReduceLogSumExp", 1, 2, 1, 1, 0, infer__shape_reduce, infer__reduce_ref,   \
      "keepdims:i noop_with_empty_axes:i")                                                            \
    X(REDUCE_SUM_SQUARE, "ReduceSumSquare", 1, 2, 1, 1, 0, infer__shape_reduce, infer__reduce_ref,    \
      "keepdims:i noop_with_empty_axes:i")                                                            \
    X(ARG_MIN, "ArgMin", 1, 1, 1, 1, 0, infer__shape_arg_max, infer__arg_max_ref,                     \
      "axis:i keepdims:i select_last_index:i")                                                        \
    X(GLOBAL_MAX_POOL, "GlobalMaxPool", 1, 1, 1, 1, 0, infer__shape_global_pool,                      \
      infer__global_pool_ref, "")                                                                     \
    X(INSTANCE_NORM, "InstanceNormalization", 3, 3, 1, 1, INFER__OPF_INPLACE, infer__shape_instance_norm, \
      infer__instance_norm_ref, "epsilon:f")                                                          \
    X(LP_NORM, "LpNormalization", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_lp_norm,               \
      infer__lp_norm_ref, "axis:i p:i")                                                               \
    X(HARDMAX, "Hardmax", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_softmax, infer__hardmax_ref,   \
      "axis:i")                                                                                       \
    X(DEPTH_TO_SPACE, "DepthToSpace", 1, 1, 1, 1, 0, infer__shape_depth_to_space,                     \
      infer__depth_to_space_ref, "blocksize:i mode:s")                                                \
    X(SPACE_TO_DEPTH, "SpaceToDepth", 1, 1, 1, 1, 0, infer__shape_depth_to_space,                     \
      infer__depth_to_space_ref, "blocksize:i")                                                       \
    X(TRILU, "Trilu", 1, 2, 1, 1, 0, infer__shape_trilu, infer__trilu_ref, "upper:i")                 \
    X(CUM_SUM, "CumSum", 2, 2, 1, 1, 0, infer__shape_cum_sum, infer__cum_sum_ref,                     \
      "exclusive:i reverse:i")                                                                        \
    X(ONE_HOT, "OneHot", 3, 3, 1, 1, 0, infer__shape_one_hot, infer__one_hot_ref, "axis:i")           \
    X(GATHER_ELEMENTS, "GatherElements", 2, 2, 1, 1, 0, infer__shape_gather_elements,                 \
      infer__gather_elements_ref, "axis:i")                                                           \
    X(GATHER_ND, "GatherND", 2, 2, 1, 1, 0, infer__shape_gather_nd, infer__gather_nd_ref,             \
      "batch_dims:i")                                                                                 \
    X(SCATTER_ELEMENTS, "ScatterElements", 3, 3, 1, 1, 0, infer__shape_scatter_elements,              \
      infer__scatter_elements_ref, "axis:i reduction:s")                                              \
    X(SCATTER_ND, "ScatterND", 3, 3, 1, 1, 0, infer__shape_scatter_nd, infer__scatter_nd_ref,         \
      "reduction:s")                                                                                  \
    X(TOP_K, "TopK", 2, 2, 2, 2, 0, infer__shape_top_k, infer__top_k_ref, "axis:i largest:i sorted:i") \
    X(EINSUM, "Einsum", 1, INFER__VARIADIC, 1, 1, 0, infer__shape_einsum, infer__einsum_ref, "equation:s")  \
    X(RMS_NORM, "RMSNormalization", 2, 2, 1, 1, 0, infer__shape_rms_norm, infer__rms_norm_ref,          \
      "axis:i epsilon:f stash_type:i")                                                                \
    X(CUM_PROD, "CumProd", 2, 2, 1, 1, 0, infer__shape_cum_sum, infer__cum_sum_ref,                     \
      "exclusive:i reverse:i")                                                                        \
    X(BITWISE_AND, "BitwiseAnd", 2, 2, 1, 1, INFER__OPF_INPLACE, infer__shape_binary,                 \
      infer__binary_ref, "")                                                                          \
    X(BITWISE_OR, "BitwiseOr", 2, 2, 1, 1, INFER__OPF_INPLACE, infer__shape_binary,                   \
      infer__binary_ref, "")                                                                          \
    X(BITWISE_XOR, "BitwiseXor", 2, 2, 1, 1, INFER__OPF_INPLACE, infer__shape_binary,                 \
      infer__binary_ref, "")                                                                          \
    X(BITWISE_NOT, "BitwiseNot", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "") \
    X(GROUP_NORM, "GroupNormalization", 3, 3, 1, 1, INFER__OPF_INPLACE, infer__shape_group_norm,      \
      infer__group_norm_ref, "epsilon:f num_groups:i stash_type:i")                                   \
    X(LRN, "LRN", 1, 1, 1, 1, 0, infer__shape_lrn, infer__lrn_ref, "alpha:f beta:f bias:f size:i")     \
    X(MVN, "MeanVarianceNormalization", 1, 1, 1, 1, 0, infer__shape_mvn, infer__mvn_ref, "axes:I")    \
    X(SWISH, "Swish", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_unary, infer__unary_ref, "alpha:f") \
    X(EYE_LIKE, "EyeLike", 1, 1, 1, 1, 0, infer__shape_eye_like, infer__eye_like_ref, "dtype:i k:i")  \
    X(LP_POOL, "LpPool", 1, 1, 1, 1, 0, infer__shape_pool, infer__pool_ref,                            \
      "auto_pad:s ceil_mode:i dilations:I kernel_shape:I p:i pads:I strides:I")                       \
    X(REVERSE_SEQUENCE, "ReverseSequence", 2, 2, 1, 1, 0, infer__shape_reverse_sequence,               \
      infer__reverse_sequence_ref, "batch_axis:i time_axis:i")                                        \
    X(DET, "Det", 1, 1, 1, 1, 0, infer__shape_det, infer__det_ref, "")                                 \
    X(EXPAND, "Expand", 2, 2, 1, 1, 0, infer__shape_expand, infer__expand_ref, "")                   \
    X(TILE, "Tile", 2, 2, 1, 1, 0, infer__shape_tile, infer__tile_ref, "")                           \
    X(PAD, "Pad", 2, 4, 1, 1, 0, infer__shape_pad, infer__pad_ref, "mode:s")                         \
    X(RESIZE, "Resize", 1, 4, 1, 1, 0, infer__shape_resize, infer__resize_ref,                       \
      "antialias:i axes:I coordinate_transformation_mode:s cubic_coeff_a:f exclude_outside:i "      \
      "extrapolation_value:f keep_aspect_ratio_policy:s mode:s nearest_mode:s")                     \
    X(CAST, "Cast", 1, 1, 1, 1, 0, infer__shape_cast, infer__cast_ref, "round_mode:s saturate:i to:i")\
    X(CAST_LIKE, "CastLike", 2, 2, 1, 1, 0, infer__shape_cast_like, infer__cast_ref, "round_mode:s saturate:i") \
    X(SHAPE, "Shape", 1, 1, 1, 1, INFER__OPF_SHAPE, infer__shape_shape, infer__shape_ref, "end:i start:i") \
    X(SIZE, "Size", 1, 1, 1, 1, INFER__OPF_SHAPE, infer__shape_size, infer__shape_ref, "")           \
    X(CONSTANT_OF_SHAPE, "ConstantOfShape", 1, 1, 1, 1, 0, infer__shape_constant_of_shape,           \
      infer__constant_of_shape_ref, "value:t")                                                      \
    X(RANGE, "Range", 3, 3, 1, 1, 0, infer__shape_range, infer__range_ref, "")                      \
    X(LSTM, "LSTM", 3, 8, 0, 3, 0, infer__shape_rnn, infer__rnn_ref,                                \
      "activation_alpha:F activation_beta:F activations:s clip:f direction:s hidden_size:i "        \
      "input_forget:i layout:i")                                                                    \
    X(GRU, "GRU", 3, 6, 0, 2, 0, infer__shape_rnn, infer__rnn_ref,                                  \
      "activation_alpha:F activation_beta:F activations:s clip:f direction:s hidden_size:i "        \
      "layout:i linear_before_reset:i")                                                              \
    X(RNN, "RNN", 3, 6, 0, 2, 0, infer__shape_rnn, infer__rnn_ref,                                  \
      "activation_alpha:F activation_beta:F activations:s clip:f direction:s hidden_size:i layout:i") \
    /* infer extensions that the tensor-parallel partitioner inserts (section 8): sum over \
       the devices, and concatenation of the devices' parts along axis (sizes: per device) */ \
    X(ALL_REDUCE, "AllReduce", 1, 1, 1, 1, INFER__OPF_INPLACE, infer__shape_all_reduce,            \
      infer__all_reduce_ref, "")                                                                    \
    X(ALL_GATHER, "AllGather", 1, 1, 1, 1, 0, infer__shape_all_gather, infer__all_gather_ref,        \
      "axis:i sizes:I")                                                                              \
    X(QUANTIZE_LINEAR, "QuantizeLinear", 2, 3, 1, 1, 0, infer__shape_quantize_linear,               \
      infer__quantize_linear_ref, "axis:i block_size:i output_dtype:i precision:i saturate:i")       \
    X(DEQUANTIZE_LINEAR, "DequantizeLinear", 2, 3, 1, 1, 0, infer__shape_quantize_linear,           \
      infer__dequantize_linear_ref, "axis:i block_size:i output_dtype:i")                            \
    X(DYNAMIC_QUANTIZE_LINEAR, "DynamicQuantizeLinear", 1, 1, 3, 3, 0,                              \
      infer__shape_dynamic_quantize_linear, infer__dynamic_quantize_linear_ref, "")                  \
    X(MATMUL_INTEGER, "MatMulInteger", 2, 4, 1, 1, 0, infer__shape_matmul_integer,                  \
      infer__matmul_integer_ref, "")                                                                 \
    X(CONV_INTEGER, "ConvInteger", 2, 4, 1, 1, 0, infer__shape_conv_integer, infer__conv_integer_ref, \
      "auto_pad:s dilations:I group:i kernel_shape:I pads:I strides:I")                              \
    X(QLINEAR_MATMUL, "QLinearMatMul", 8, 8, 1, 1, 0, infer__shape_matmul_integer,                  \
      infer__qlinear_matmul_ref, "")                                                                 \
    X(QLINEAR_CONV, "QLinearConv", 8, 9, 1, 1, 0, infer__shape_conv_integer, infer__qlinear_conv_ref, \
      "auto_pad:s dilations:I group:i kernel_shape:I pads:I strides:I")

enum {
#define INFER__X(id, name, imin, imax, omin, omax, flags, shape, kernel, attrs) INFER__OP_##id,
    INFER__OPS(INFER__X)
#undef INFER__X
    INFER__OP_COUNT
};

/* shape functions (section 5) and reference kernels (section 9) */
#define INFER__X(id, name, imin, imax, omin, omax, flags, shape, kernel, attrs) \
    static infer_status shape(infer__ctx *c);                                  \
    static infer_status kernel(const infer__ctx *c);
INFER__OPS(INFER__X)
#undef INFER__X

typedef struct infer__op_info {
    const char *name;
    uint32_t in_min, in_max, out_min, out_max;
    unsigned flags;
    infer__shape_fn shape;
    infer__kernel_fn kernel;
    const char *attrs;
} infer__op_info;

static const infer__op_info infer__ops[INFER__OP_COUNT] = {
#define INFER__X(id, name, imin, imax, omin, omax, flags, shape, kernel, attrs) \
    {name, imin, imax, omin, omax, flags, shape, kernel, attrs},
    INFER__OPS(INFER__X)
#undef INFER__X
};

static int infer__op_find(const char *name) {
    int i;
    for (i = 0; i < INFER__OP_COUNT; i++)
        if (!strcmp(infer__ops[i].name, name)) return i;
    return -1;
}

int infer_op_exists(const char *op_type) { return op_type && infer__op_find(op_type) >= 0; }
int infer_op_arity(const char *op_type, size_t *in_min, size_t *in_max, size_t *out_min, size_t *out_max) {
    int op = op_type ? infer__op_find(op_type) : -1;
    const infer__op_info *o = op >= 0 ? &infer__ops[op] : NULL;
    if (in_min) *in_min = o ? o->in_min : 0;
    if (in_max) *in_max = o ? o->in_max : 0;
    if (out_min) *out_min = o ? o->out_min : 0;
    if (out_max) *out_max = o ? o->out_max : 0;
    return o != NULL;
}

infer_status infer_model_node(const infer_model *m, size_t i, infer_node_info *info) {
    const infer__node *n;
    if (!m || !info || i >= m->n_nodes)
        return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "infer_model_node: index %zu out of range (%u)", i,
                           m ? m->n_nodes : 0);
    n = &m->nodes[i];
    memset(info, 0, sizeof *info);
    info->name = n->name;
    info->op_type = infer__ops[n->op].name;
    info->n_inputs = n->n_in;
    info->n_outputs = n->n_out;
    return INFER_STATUS_OK;
}

static const char infer__attr_letters[] = "?ifIFst"; /* by infer_attr_type */

/* Checks a node's arity, absent slots and attribute names/types against its table row.
   in/out hold INFER__ABSENT for absent slots. ctx prefixes messages. */
static infer_status infer__op_check(int op, const char *ctx, const uint32_t *in, size_t n_in,
                                    const uint32_t *out, size_t n_out, const infer__attr *attrs,
                                    size_t n_attrs) {
    const infer__op_info *o = &infer__ops[op];
    size_t i, j;
    if (n_in < o->in_min || n_in > o->in_max)
        return infer__fail(NULL, INFER_STATUS_BAD_FILE, "%s: %s takes %u to %u inputs, not %zu", ctx, o->name,
                           o->in_min, o->in_max, n_in);
    if (n_out < o->out_min || n_out > o->out_max)
        return infer__fail(NULL, INFER_STATUS_BAD_FILE, "%s: %s has %u to %u outputs, not %zu", ctx, o->name,
                           o->out_min, o->out_max, n_out);
    for (i = 0; i < (o->in_max == INFER__VARIADIC ? n_in : o->in_min); i++) /* a variadic list has no holes */
        if (in[i] == INFER__ABSENT)
            return infer__fail(NULL, INFER_STATUS_BAD_FILE, "%s: required input %zu is absent", ctx, i);
    for (i = 0; i < o->out_min; i++)
        if (out[i] == INFER__ABSENT)
            return infer__fail(NULL, INFER_STATUS_BAD_FILE, "%s: required output %zu is absent", ctx, i);
    for (i = 0; i < n_attrs; i++) {
        const char *spec = o->attrs, *name = attrs[i].name;
        size_t len = strlen(name);
        int found = 0;
        while (*spec) {
            const char *colon = strchr(spec, ':');
            if ((size_t)(colon - spec) == len && !memcmp(spec, name, len)) {
                int type = (int)attrs[i].type;
                if (type <= 0 || type > INFER_ATTR_TENSOR || infer__attr_letters[type] != colon[1])
                    return infer__fail(NULL, INFER_STATUS_BAD_FILE, "%s: attribute '%s' has the wrong type", ctx,
                                       name);
                found = 1;
                break;
            }
            spec = colon + 2;
            while (*spec == ' ') spec++;
        }
        if (!found)
            return infer__fail(NULL, INFER_STATUS_UNSUPPORTED, "%s: %s has no attribute '%s'", ctx, o->name, name);
        for (j = 0; j < i; j++)
            if (!strcmp(attrs[j].name, name))
                return infer__fail(NULL, INFER_STATUS_BAD_FILE, "%s: attribute '%s' appears twice", ctx, name);
    }
    return INFER_STATUS_OK;
}

/* -- attribute access (types were checked on load) -- */

static const infer__attr *infer__attr_find(const infer__node *n, const char *name) {
    uint32_t i;
    for (i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
    return NULL;
}
static int64_t infer__attr_i(const infer__node *n, const char *name, int64_t def) {
    const infer__attr *a = infer__attr_find(n, name);
    return a ? a->i : def;
}
static float infer__attr_f(const infer__node *n, const char *name, float def) {
    const infer__attr *a = infer__attr_find(n, name);
    return a ? a->f : def;
}
static const char *infer__attr_s(const infer__node *n, const char *name, const char *def) {
    const infer__attr *a = infer__attr_find(n, name);
    return a ? a->s : def;
}
/* Copies an INTS attribute into v[max]. Returns its length, -1 if absent, -2 if longer than max. */
static int infer__attr_ints(const infer__node *n, const char *name, int64_t *v, int max) {
    const infer__attr *a = infer__attr_find(n, name);
    size_t i;
    if (!a) return -1;
    if (a->n > (size_t)max) return -2;
    for (i = 0; i < a->n; i++) v[i] = (int64_t)infer__rd64(a->arr + 8 * i);
    return (int)a->n;
}

/* ===== 5. SHAPE INFERENCE AND GRAPH PASSES ========================= >>passes */

static int infer__pick(const char *s, const char *list);

/* Fails with "<file>: node '<name>' (<Op>): <message>". */
static infer_status infer__cfail(const infer__ctx *c, infer_status st, const char *fmt, ...) INFER__PRINTF(3, 4);
static infer_status infer__cfail(const infer__ctx *c, infer_status st, const char *fmt, ...) {
    char msg[INFER__ERR_BYTES - 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return infer__fail(c->err, st, "%s: node '%s' (%s): %s", c->m->path, c->node->name, infer__ops[c->node->op].name,
                       msg);
}

/* "[2,3,4]" into buf[96] */
static const char *infer__dstr(char *buf, int n, const int64_t *d) {
    int i, k = 0;
    buf[k++] = '[';
    buf[k] = '\0';
    for (i = 0; i < n && k < 80; i++) k += snprintf(buf + k, (size_t)(96 - k), i ? ",%lld" : "%lld", (long long)d[i]);
    if (i < n) k += snprintf(buf + k, (size_t)(96 - k), ",...");
    snprintf(buf + k, (size_t)(96 - k), "]");
    return buf;
}

/* Sets output k's dtype and dims (k may be an absent output). */
static infer_status infer__set_out(infer__ctx *c, uint32_t k, infer_dtype t, int n_dims, const int64_t *dims) {
    infer__val *v = k < c->n_out ? c->out[k] : NULL;
    char b[96];
    int i;
    if (!v) return INFER_STATUS_OK;
    if (n_dims < 0 || n_dims > INFER_MAX_DIMS)
        return infer__cfail(c, INFER_STATUS_SHAPE, "output %u would have rank %d, over the maximum %d", k, n_dims,
                            INFER_MAX_DIMS);
    for (i = 0; i < n_dims; i++)
        if (dims[i] < 0 || dims[i] > INFER_MAX_DIM_VALUE)
            return infer__cfail(c, INFER_STATUS_SHAPE, "output %u would have dims %s", k, infer__dstr(b, n_dims, dims));
    if (!infer__dims_bytes(dims, n_dims, t, SIZE_MAX / 4, &v->n, &v->bytes))
        return infer__cfail(c, INFER_STATUS_SHAPE, "output %u of dims %s is too large", k, infer__dstr(b, n_dims, dims));
    if (v->bytes > c->max_bytes)
        return infer__cfail(c, INFER_STATUS_OUT_OF_MEMORY, "output %u of dims %s (%zu bytes) is over the session's memory "
                            "cap of %zu bytes", k, infer__dstr(b, n_dims, dims), v->bytes, c->max_bytes);
    v->dtype = t;
    v->n_dims = n_dims;
    memset(v->dims, 0, sizeof v->dims);
    if (n_dims) memcpy(v->dims, dims, sizeof(int64_t) * (size_t)n_dims);
    return INFER_STATUS_OK;
}
static infer_status infer__same_out(infer__ctx *c, uint32_t k, const infer__val *like) {
    return infer__set_out(c, k, like->dtype, like->n_dims, like->dims);
}

static int infer__norm_axis(int64_t axis, int rank, int64_t *out) {
    *out = 0;
    if (axis < -(int64_t)rank || axis >= rank) return 0;
    *out = axis < 0 ? axis + rank : axis;
    return 1;
}
static infer_status infer__axis(infer__ctx *c, int64_t axis, int rank, int64_t *out) {
    if (!infer__norm_axis(axis, rank, out))
        return infer__cfail(c, INFER_STATUS_SHAPE, "axis %lld is out of range for rank %d", (long long)axis, rank);
    return INFER_STATUS_OK;
}
static int64_t infer__prod(const int64_t *d, int from, int to) {
    int64_t p = 1;
    int i;
    for (i = from; i < to; i++) p *= d[i];
    return p;
}
static int64_t infer__floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

#define INFER__IS_FLOAT(t) ((t) == INFER_DTYPE_F32 || (t) == INFER_DTYPE_F64)
#define INFER__IS_SINT(t) ((t) == INFER_DTYPE_I8 || (t) == INFER_DTYPE_I16 || (t) == INFER_DTYPE_I32 || (t) == INFER_DTYPE_I64)
#define INFER__IS_UINT(t) ((t) == INFER_DTYPE_U8 || (t) == INFER_DTYPE_U16 || (t) == INFER_DTYPE_U32 || (t) == INFER_DTYPE_U64)
#define INFER__IS_NUMERIC(t) (INFER__IS_FLOAT(t) || INFER__IS_SINT(t) || INFER__IS_UINT(t))

static infer_status infer__bad_dtype(infer__ctx *c, uint32_t k, const char *allowed) {
    return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "input %u has dtype %s; supported: %s", k,
                        infer_dtype_name(c->in[k]->dtype), allowed);
}

/* Reads input k, which must be known at session creation: integers, rank 0 or 1. */
static infer_status infer__const_ints(infer__ctx *c, uint32_t k, int64_t *v, int max, int *n) {
    const infer__val *x = c->in[k];
    size_t i;
    if (!x->data || x->kind != INFER__VAL_CONST)
        return infer__cfail(c, INFER_STATUS_UNSUPPORTED,
                            "input %u sets the output shape, so it must be known when the session is created "
                            "(a constant, or computed from constants and shapes)", k);
    if (x->dtype != INFER_DTYPE_I64 && x->dtype != INFER_DTYPE_I32) return infer__bad_dtype(c, k, "i64, i32");
    if (x->n_dims > 1) return infer__cfail(c, INFER_STATUS_SHAPE, "input %u must have rank 0 or 1", k);
    if (x->n > (size_t)max)
        return infer__cfail(c, INFER_STATUS_SHAPE, "input %u has %zu values, more than %d", k, x->n, max);
    for (i = 0; i < x->n; i++)
        v[i] = x->dtype == INFER_DTYPE_I64 ? ((const int64_t *)x->data)[i] : ((const int32_t *)x->data)[i];
    *n = (int)x->n;
    return INFER_STATUS_OK;
}

/* numpy (multidirectional) broadcasting of n values into dims/rank. */
static infer_status infer__broadcast(infer__ctx *c, uint32_t n, infer__val *const *v, int *rank, int64_t *dims) {
    uint32_t k;
    int r = 0, i;
    char b1[96], b2[96];
    for (k = 0; k < n; k++) r = INFER__MAX(r, v[k]->n_dims);
    for (i = 0; i < r; i++) {
        int64_t d = 1;
        for (k = 0; k < n; k++) {
            int j = i - (r - v[k]->n_dims);
            int64_t e = j >= 0 ? v[k]->dims[j] : 1;
            if (e == 1) continue;
            if (d == 1) d = e;
            else if (d != e)
                return infer__cfail(c, INFER_STATUS_SHAPE, "shapes %s and %s do not broadcast",
                                    infer__dstr(b1, v[0]->n_dims, v[0]->dims), infer__dstr(b2, v[k]->n_dims, v[k]->dims));
        }
        dims[i] = d;
    }
    *rank = r;
    return INFER_STATUS_OK;
}

static infer_status infer__shape_unary(infer__ctx *c) {
    const infer__val *x = c->in[0];
    infer_dtype t = x->dtype;
    int op = c->node->op;
    infer__axis_p *p = &c->p->ax;
    if (op == INFER__OP_NOT) {
        if (t != INFER_DTYPE_BOOL) return infer__bad_dtype(c, 0, "bool");
    } else if (op == INFER__OP_IS_NAN || op == INFER__OP_IS_INF) {
        if (!INFER__IS_FLOAT(t) && t != INFER_DTYPE_F16 && t != INFER_DTYPE_BF16) return infer__bad_dtype(c, 0, "f32, f64, f16, bf16");
    } else if (op == INFER__OP_BITWISE_NOT) {
        if (!INFER__IS_SINT(t) && !INFER__IS_UINT(t)) return infer__bad_dtype(c, 0, "integers");
    } else if (op == INFER__OP_NEG || op == INFER__OP_ABS || op == INFER__OP_RELU || op == INFER__OP_SIGN) {
        if (!INFER__IS_FLOAT(t) && !INFER__IS_SINT(t) && !((op == INFER__OP_ABS || op == INFER__OP_SIGN) && INFER__IS_UINT(t)))
            return infer__bad_dtype(c, 0, "f32, f64, signed integers");
    } else if (!INFER__IS_FLOAT(t)) {
        return infer__bad_dtype(c, 0, "f32, f64");
    }
    /* alpha, beta: LeakyRelu, HardSigmoid, Elu, Celu, ThresholdedRelu; Selu alpha, gamma;
       Shrink lambd, bias. IsInf: flag bit 0 detect_negative, bit 1 detect_positive. */
    p->alpha = infer__attr_f(c->node, "alpha", op == INFER__OP_LEAKY_RELU ? 0.01f : op == INFER__OP_HARD_SIGMOID ? 0.2f
                                               : op == INFER__OP_SELU ? 1.67326319217681884765625f : 1.0f);
    p->beta = infer__attr_f(c->node, "beta", 0.5f);
    if (op == INFER__OP_SELU) p->beta = infer__attr_f(c->node, "gamma", 1.05070102214813232421875f);
    if (op == INFER__OP_SHRINK) {
        p->alpha = infer__attr_f(c->node, "lambd", 0.5f);
        p->beta = infer__attr_f(c->node, "bias", 0.0f);
    }
    if (op == INFER__OP_IS_NAN || op == INFER__OP_IS_INF) {
        p->flag = (infer__attr_i(c->node, "detect_negative", 1) != 0) | (infer__attr_i(c->node, "detect_positive", 1) != 0) << 1;
        return infer__set_out(c, 0, INFER_DTYPE_BOOL, x->n_dims, x->dims);
    }
    if (op == INFER__OP_GELU) {
        const char *a = infer__attr_s(c->node, "approximate", "none");
        if (strcmp(a, "none") && strcmp(a, "tanh"))
            return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "approximate='%s'; supported: none, tanh", a);
        p->flag = !strcmp(a, "tanh");
    }
    return infer__same_out(c, 0, x);
}

static infer_status infer__shape_binary(infer__ctx *c) {
    int64_t dims[INFER_MAX_DIMS];
    int r;
    uint32_t k;
    infer_status st;
    infer_dtype t = c->in[0]->dtype;
    if (!INFER__IS_NUMERIC(t)) return infer__bad_dtype(c, 0, "f32, f64, integers");
    for (k = 1; k < c->n_in; k++) {
        infer_dtype u = c->in[k]->dtype;
        if (c->node->op == INFER__OP_POW) {
            if (!(INFER__IS_FLOAT(t) && (INFER__IS_FLOAT(u) || u == INFER_DTYPE_I32 || u == INFER_DTYPE_I64)) &&
                !((t == INFER_DTYPE_I32 || t == INFER_DTYPE_I64) && u == t))
                return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "Pow of %s by %s is not supported", infer_dtype_name(t),
                                    infer_dtype_name(u));
        } else if (u != t) {
            return infer__cfail(c, INFER_STATUS_SHAPE, "input %u has dtype %s but input 0 has %s", k,
                                infer_dtype_name(u), infer_dtype_name(t));
        }
    }
    if ((st = infer__broadcast(c, c->n_in, c->in, &r, dims))) return st;
    if (c->node->op == INFER__OP_MEAN && !INFER__IS_FLOAT(t)) return infer__bad_dtype(c, 0, "f32, f64");
    if ((c->node->op == INFER__OP_BITWISE_AND || c->node->op == INFER__OP_BITWISE_OR ||
         c->node->op == INFER__OP_BITWISE_XOR) && !INFER__IS_SINT(t) && !INFER__IS_UINT(t))
        return infer__bad_dtype(c, 0, "integers");
    if (c->node->op == INFER__OP_PRELU && /* slope broadcasts to X, not X to the slope */
        (r != c->in[0]->n_dims || memcmp(dims, c->in[0]->dims, sizeof(int64_t) * (size_t)r)))
        return infer__cfail(c, INFER_STATUS_SHAPE, "slope does not broadcast to X's shape");
    c->p->ax.flag = 0; /* Mod: fmod; BitShift: 1 for RIGHT */
    if (c->node->op == INFER__OP_MOD) c->p->ax.flag = infer__attr_i(c->node, "fmod", 0) != 0;
    if (c->node->op == INFER__OP_BIT_SHIFT) {
        const char *d = infer__attr_s(c->node, "direction", "");
        if (!INFER__IS_UINT(t)) return infer__bad_dtype(c, 0, "u8, u16, u32, u64");
        if (strcmp(d, "LEFT") && strcmp(d, "RIGHT"))
            return infer__cfail(c, INFER_STATUS_SHAPE, "direction '%s'; must be LEFT or RIGHT", d);
        c->p->ax.flag = !strcmp(d, "RIGHT");
    }
    return infer__set_out(c, 0, t, r, dims);
}

static infer_status infer__shape_compare(infer__ctx *c) {
    int64_t dims[INFER_MAX_DIMS];
    int r, op = c->node->op;
    infer_status st;
    infer_dtype t = c->in[0]->dtype;
    if (op == INFER__OP_AND || op == INFER__OP_OR || op == INFER__OP_XOR) {
        if (t != INFER_DTYPE_BOOL) return infer__bad_dtype(c, 0, "bool");
    } else if (!INFER__IS_NUMERIC(t) && !(op == INFER__OP_EQUAL && t == INFER_DTYPE_BOOL)) {
        return infer__bad_dtype(c, 0, "f32, f64, integers");
    }
    if (c->in[1]->dtype != t)
        return infer__cfail(c, INFER_STATUS_SHAPE, "input 1 has dtype %s but input 0 has %s",
                            infer_dtype_name(c->in[1]->dtype), infer_dtype_name(t));
    if ((st = infer__broadcast(c, 2, c->in, &r, dims))) return st;
    return infer__set_out(c, 0, INFER_DTYPE_BOOL, r, dims);
}

static infer_status infer__shape_where(infer__ctx *c) {
    int64_t dims[INFER_MAX_DIMS];
    int r;
    infer_status st;
    if (c->in[0]->dtype != INFER_DTYPE_BOOL) return infer__bad_dtype(c, 0, "bool");
    if (c->in[1]->dtype != c->in[2]->dtype)
        return infer__cfail(c, INFER_STATUS_SHAPE, "inputs 1 and 2 differ in dtype (%s, %s)",
                            infer_dtype_name(c->in[1]->dtype), infer_dtype_name(c->in[2]->dtype));
    if ((st = infer__broadcast(c, 3, c->in, &r, dims))) return st;
    return infer__set_out(c, 0, c->in[1]->dtype, r, dims);
}

static infer_status infer__shape_clip(infer__ctx *c) {
    uint32_t k;
    infer_dtype t = c->in[0]->dtype;
    if (!INFER__IS_NUMERIC(t)) return infer__bad_dtype(c, 0, "f32, f64, integers");
    for (k = 1; k < c->n_in; k++) {
        if (!c->in[k]) continue;
        if (c->in[k]->dtype != t)
            return infer__cfail(c, INFER_STATUS_SHAPE, "input %u has dtype %s but input 0 has %s", k,
                                infer_dtype_name(c->in[k]->dtype), infer_dtype_name(t));
        if (c->in[k]->n != 1) return infer__cfail(c, INFER_STATUS_SHAPE, "input %u (min/max) must be a scalar", k);
    }
    return infer__same_out(c, 0, c->in[0]);
}

/* [outer][len][inner] around an axis */
static void infer__split_axis(const infer__val *x, int64_t axis, infer__axis_p *p) {
    p->axis = axis;
    p->outer = infer__prod(x->dims, 0, (int)axis);
    p->len = x->dims[axis];
    p->inner = infer__prod(x->dims, (int)axis + 1, x->n_dims);
}

static infer_status infer__shape_softmax(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t axis;
    infer_status st;
    if (x->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, 0, "f32");
    if (x->n_dims == 0) return infer__cfail(c, INFER_STATUS_SHAPE, "input must have rank >= 1");
    if ((st = infer__axis(c, infer__attr_i(c->node, "axis", -1), x->n_dims, &axis))) return st;
    infer__split_axis(x, axis, &c->p->ax);
    c->p->ax.flag = c->node->op == INFER__OP_LOG_SOFTMAX;
    return infer__same_out(c, 0, x);
}

/* Reads a fused activation (infer extension attributes) into *a. */
static infer_status infer__act_parse(infer__ctx *c, infer__act *a) {
    const char *name = infer__attr_s(c->node, "activation", "None");
    a->kind = infer__pick(name, INFER__ACT_NAMES);
    if (a->kind < 0)
        return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "activation '%s'; supported: %s", name, INFER__ACT_NAMES);
    a->alpha = infer__attr_f(c->node, "activation_alpha", a->kind == INFER__ACT_LEAKY_RELU ? 0.01f
                                                         : a->kind == INFER__ACT_HARD_SIGMOID ? 0.2f : -INFINITY);
    a->beta = infer__attr_f(c->node, "activation_beta", a->kind == INFER__ACT_HARD_SIGMOID ? 0.5f : INFINITY);
    return INFER_STATUS_OK;
}

static size_t infer__gemm_f32_scratch(int64_t m, int64_t n, int64_t k, int nt); /* section 9 */
static size_t infer__gemm_shared_a_bytes(int64_t m, int64_t n, int64_t k, int nt); /* section 9 */
static int infer__conv_f32_scratch(const infer__conv_p *p, int nt, int w_const, size_t *bytes); /* section 9 */
static int infer__conv_is_dw(const infer__conv_p *p);     /* section 9 */
static int infer__conv_pointwise(const infer__conv_p *p); /* section 9 */

static size_t infer__q8_scratch(const infer__ctx *c); /* section 9: the int8 MatMul/Gemm/Conv's scratch, or 0 */

/* MatMul's geometry (numpy matmul): m, k, n and the broadcast batch dims of a x b into p,
   the output dims into dims[*r] (MatMul, MatMulInteger, QLinearMatMul). */
static infer_status infer__mm_geometry(infer__ctx *c, const infer__val *a, const infer__val *b, infer__mm_p *p,
                                       int64_t *dims, int *r) {
    int64_t ka, kb, sa = 1, sb = 1;
    int ra = a->n_dims, rb = b->n_dims, nb, i;
    char b1[96], b2[96];
    if (ra < 1 || rb < 1) return infer__cfail(c, INFER_STATUS_SHAPE, "inputs must have rank >= 1");
    p->m = ra == 1 ? 1 : a->dims[ra - 2];
    ka = a->dims[ra - 1];
    kb = rb == 1 ? b->dims[0] : b->dims[rb - 2];
    p->n = rb == 1 ? 1 : b->dims[rb - 1];
    if (ka != kb)
        return infer__cfail(c, INFER_STATUS_SHAPE, "inner dims differ: %s x %s", infer__dstr(b1, ra, a->dims),
                            infer__dstr(b2, rb, b->dims));
    p->k = ka;
    /* batch dims: everything before the last two, broadcast */
    nb = INFER__MAX(ra - 2, rb - 2);
    if (nb < 0) nb = 0;
    p->n_batch = nb;
    for (i = nb - 1; i >= 0; i--) {
        int ja = i - (nb - (ra - 2)), jb = i - (nb - (rb - 2));
        int64_t da = ja >= 0 ? a->dims[ja] : 1, db = jb >= 0 ? b->dims[jb] : 1;
        if (da != db && da != 1 && db != 1)
            return infer__cfail(c, INFER_STATUS_SHAPE, "batch dims of %s and %s do not broadcast",
                                infer__dstr(b1, ra, a->dims), infer__dstr(b2, rb, b->dims));
        p->batch[i] = da == 1 ? db : da;
        p->sa[i] = da == 1 ? 0 : sa;
        p->sb[i] = db == 1 ? 0 : sb;
        sa *= da;
        sb *= db;
    }
    for (i = 0; i < nb; i++) dims[(*r)++] = p->batch[i];
    if (ra > 1) dims[(*r)++] = p->m;
    if (rb > 1) dims[(*r)++] = p->n;
    return INFER_STATUS_OK;
}

static infer_status infer__shape_matmul(infer__ctx *c) {
    const infer__val *a = c->in[0], *b = c->in[1];
    infer__mm_p *p = &c->p->mm;
    int64_t dims[INFER_MAX_DIMS];
    int r = 0, i;
    infer_status st;
    if (a->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, 0, "f32");
    if (b->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, 1, "f32");
    if ((st = infer__mm_geometry(c, a, b, p, dims, &r))) return st;
    for (i = 0; i < p->n_batch && !p->sb[i]; i++) {}
    if (i == p->n_batch) { /* one B for every batch item: A's rows, all contiguous, make one GEMM */
        p->m *= infer__prod(p->batch, 0, p->n_batch);
        p->n_batch = 0;
    }
    if (c->n_in > 2 && c->in[2] && (c->in[2]->dtype != INFER_DTYPE_F32 || (int64_t)c->in[2]->n != p->n))
        return infer__cfail(c, INFER_STATUS_SHAPE, "bias (input 2) must be f32 with %lld values", (long long)p->n);
    if ((st = infer__act_parse(c, &p->act))) return st;
    c->scratch_bytes = infer__gemm_f32_scratch(p->m, p->n, p->k, c->n_threads) + /* packed blocks, A packed once */
                       infer__gemm_shared_a_bytes(p->m, p->n, p->k, c->n_threads);
    c->scratch_bytes = INFER__MAX(c->scratch_bytes, infer__q8_scratch(c));     /* or the int8 path's */
    return infer__set_out(c, 0, INFER_DTYPE_F32, r, dims);
}

static infer_status infer__shape_gemm(infer__ctx *c) {
    const infer__val *a = c->in[0], *b = c->in[1], *cc = c->n_in > 2 ? c->in[2] : NULL;
    infer__mm_p *p = &c->p->mm;
    int64_t dims[2], kb;
    int i;
    infer_status st;
    char b1[96], b2[96];
    if (a->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, 0, "f32");
    if (b->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, 1, "f32");
    if (a->n_dims != 2 || b->n_dims != 2) return infer__cfail(c, INFER_STATUS_SHAPE, "A and B must be 2-D");
    p->trans_a = infer__attr_i(c->node, "transA", 0) != 0;
    p->trans_b = infer__attr_i(c->node, "transB", 0) != 0;
    p->alpha = infer__attr_f(c->node, "alpha", 1.0f);
    p->beta = infer__attr_f(c->node, "beta", 1.0f);
    p->m = a->dims[p->trans_a ? 1 : 0];
    p->k = a->dims[p->trans_a ? 0 : 1];
    kb = b->dims[p->trans_b ? 1 : 0];
    p->n = b->dims[p->trans_b ? 0 : 1];
    if (p->k != kb)
        return infer__cfail(c, INFER_STATUS_SHAPE, "inner dims differ: A %s, B %s (transA %d, transB %d)",
                            infer__dstr(b1, 2, a->dims), infer__dstr(b2, 2, b->dims), p->trans_a, p->trans_b);
    dims[0] = p->m;
    dims[1] = p->n;
    if (cc) {
        if (cc->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, 2, "f32");
        if (cc->n_dims > 2) return infer__cfail(c, INFER_STATUS_SHAPE, "C must have rank <= 2");
        for (i = 0; i < cc->n_dims; i++) {
            int64_t d = cc->dims[i], want = dims[2 - cc->n_dims + i];
            if (d != 1 && d != want)
                return infer__cfail(c, INFER_STATUS_SHAPE, "C %s does not broadcast to [%lld,%lld]",
                                    infer__dstr(b1, cc->n_dims, cc->dims), (long long)p->m, (long long)p->n);
        }
    }
    if ((st = infer__act_parse(c, &p->act))) return st;
    c->scratch_bytes = infer__gemm_f32_scratch(p->m, p->n, p->k, c->n_threads) + /* packed blocks, A packed once */
                       infer__gemm_shared_a_bytes(p->m, p->n, p->k, c->n_threads);
    c->scratch_bytes = INFER__MAX(c->scratch_bytes, infer__q8_scratch(c));     /* or the int8 path's */
    return infer__set_out(c, 0, INFER_DTYPE_F32, 2, dims);
}

/* Reads kernel/stride/dilation/pad attributes for n_sp spatial dims; kernel from
   kernel_shape or (conv) the weight's dims. Pads still follow auto_pad afterwards. */
static infer_status infer__conv_attrs(infer__ctx *c, int n_sp, const int64_t *wk, infer__conv_p *p) {
    int64_t v[6];
    int i, n;
    for (i = 0; i < 3; i++) p->k[i] = p->s[i] = p->d[i] = 1, p->pb[i] = p->pe[i] = 0, p->in[i] = p->out[i] = 1;
    n = infer__attr_ints(c->node, "kernel_shape", v, 3);
    if (n == -1 && !wk) return infer__cfail(c, INFER_STATUS_SHAPE, "kernel_shape is required");
    if (n != -1 && n != n_sp) return infer__cfail(c, INFER_STATUS_SHAPE, "kernel_shape must have %d values", n_sp);
    for (i = 0; i < n_sp; i++) {
        p->k[i] = n == -1 ? wk[i] : v[i];
        if (wk && p->k[i] != wk[i])
            return infer__cfail(c, INFER_STATUS_SHAPE, "kernel_shape %lld differs from the weight's %lld",
                                (long long)p->k[i], (long long)wk[i]);
        if (p->k[i] < 1 || p->k[i] > INFER_MAX_DIM_VALUE)
            return infer__cfail(c, INFER_STATUS_SHAPE, "kernel size %lld is not in [1, %lld]", (long long)p->k[i],
                                (long long)INFER_MAX_DIM_VALUE);
    }
    n = infer__attr_ints(c->node, "strides", v, 3);
    if (n != -1 && n != n_sp) return infer__cfail(c, INFER_STATUS_SHAPE, "strides must have %d values", n_sp);
    for (i = 0; n > 0 && i < n_sp; i++)
        if ((p->s[i] = v[i]) < 1 || v[i] > INFER_MAX_DIM_VALUE)
            return infer__cfail(c, INFER_STATUS_SHAPE, "stride %lld is not in [1, %lld]", (long long)v[i],
                                (long long)INFER_MAX_DIM_VALUE);
    n = infer__attr_ints(c->node, "dilations", v, 3);
    if (n != -1 && n != n_sp) return infer__cfail(c, INFER_STATUS_SHAPE, "dilations must have %d values", n_sp);
    for (i = 0; n > 0 && i < n_sp; i++)
        if ((p->d[i] = v[i]) < 1 || p->k[i] - 1 > INFER_MAX_DIM_VALUE / v[i])
            return infer__cfail(c, INFER_STATUS_SHAPE, "dilation %lld: < 1, or the window (kernel %lld) spans more "
                                "than %lld", (long long)v[i], (long long)p->k[i], (long long)INFER_MAX_DIM_VALUE);
    n = infer__attr_ints(c->node, "pads", v, 6);
    if (n != -1 && n != 2 * n_sp) return infer__cfail(c, INFER_STATUS_SHAPE, "pads must have %d values", 2 * n_sp);
    for (i = 0; n > 0 && i < n_sp; i++) {
        p->pb[i] = v[i];
        p->pe[i] = v[i + n_sp];
        if (p->pb[i] < 0 || p->pe[i] < 0 || p->pb[i] > INFER_MAX_DIM_VALUE || p->pe[i] > INFER_MAX_DIM_VALUE)
            return infer__cfail(c, INFER_STATUS_SHAPE, "pads must be >= 0");
    }
    p->n_sp = n_sp;
    return INFER_STATUS_OK;
}

/* auto_pad: 0 NOTSET, 1 SAME_UPPER, 2 SAME_LOWER, 3 VALID; -1 unknown */
static int infer__auto_pad(const infer__node *n) {
    const char *s = infer__attr_s(n, "auto_pad", "NOTSET");
    if (!strcmp(s, "NOTSET")) return 0;
    if (!strcmp(s, "SAME_UPPER")) return 1;
    if (!strcmp(s, "SAME_LOWER")) return 2;
    if (!strcmp(s, "VALID")) return 3;
    return -1;
}

/* Output spatial sizes of a convolution or pooling window (not ConvTranspose). */
static infer_status infer__window_out(infer__ctx *c, infer__conv_p *p, int ceil_mode) {
    int i, ap = infer__auto_pad(c->node);
    if (ap < 0) return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "auto_pad '%s' is unknown", infer__attr_s(c->node, "auto_pad", ""));
    for (i = 0; i < p->n_sp; i++) {
        int64_t span = (p->k[i] - 1) * p->d[i] + 1, o;
        if (ap == 1 || ap == 2) {
            int64_t total;
            o = (p->in[i] + p->s[i] - 1) / p->s[i];
            total = INFER__MAX(0, (o - 1) * p->s[i] + span - p->in[i]);
            p->pb[i] = ap == 1 ? total / 2 : total - total / 2;
            p->pe[i] = total - p->pb[i];
        } else {
            int64_t room;
            /* VALID: out = ceil((in - span + 1) / s), i.e. the floor formula, whatever ceil_mode says */
            if (ap == 3) p->pb[i] = p->pe[i] = 0, ceil_mode = 0;
            room = p->in[i] + p->pb[i] + p->pe[i] - span;
            if (room < 0)
                return infer__cfail(c, INFER_STATUS_SHAPE,
                                    "spatial dim %d: input %lld (padded by %lld+%lld) is smaller than the window %lld", i,
                                    (long long)p->in[i], (long long)p->pb[i], (long long)p->pe[i], (long long)span);
            o = (ceil_mode ? (room + p->s[i] - 1) / p->s[i] : room / p->s[i]) + 1;
            if (ceil_mode && (o - 1) * p->s[i] >= p->in[i] + p->pb[i]) o--; /* last window starts in the padding */
        }
        p->out[i] = o;
    }
    return INFER_STATUS_OK;
}

static infer_status infer__shape_conv(infer__ctx *c) {
    const infer__val *x = c->in[0], *w = c->in[1], *b = c->n_in > 2 ? c->in[2] : NULL;
    infer__conv_p *p = &c->p->conv;
    int64_t dims[5];
    int i, n_sp = x->n_dims - 2;
    infer_status st;
    char b1[96], b2[96];
    if (x->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, 0, "f32");
    if (w->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, 1, "f32");
    if (n_sp < 1 || n_sp > 3) return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "input rank %d; supported 3 to 5", x->n_dims);
    if (w->n_dims != x->n_dims)
        return infer__cfail(c, INFER_STATUS_SHAPE, "weight %s and input %s differ in rank", infer__dstr(b1, w->n_dims, w->dims),
                            infer__dstr(b2, x->n_dims, x->dims));
    if ((st = infer__conv_attrs(c, n_sp, w->dims + 2, p))) return st;
    p->group = infer__attr_i(c->node, "group", 1);
    p->n = x->dims[0];
    p->c = x->dims[1];
    p->m = w->dims[0];
    if (p->group < 1 || p->c % p->group || p->m % p->group || w->dims[1] * p->group != p->c)
        return infer__cfail(c, INFER_STATUS_SHAPE, "input channels %lld, weight %s and group %lld do not agree",
                            (long long)p->c, infer__dstr(b1, w->n_dims, w->dims), (long long)p->group);
    if (b && (b->dtype != INFER_DTYPE_F32 || b->n_dims != 1 || b->dims[0] != p->m))
        return infer__cfail(c, INFER_STATUS_SHAPE, "bias must be f32 [%lld]", (long long)p->m);
    for (i = 0; i < n_sp; i++) p->in[i] = x->dims[2 + i];
    if ((st = infer__window_out(c, p, 0))) return st;
    dims[0] = p->n;
    dims[1] = p->m;
    for (i = 0; i < n_sp; i++) dims[2 + i] = p->out[i];
    if ((st = infer__act_parse(c, &p->act))) return st;
    if ((st = infer__set_out(c, 0, INFER_DTYPE_F32, x->n_dims, dims))) return st; /* bounds the output's plane */
    p->in_nhwc = x->nhwc, p->out_nhwc = c->out[0]->nhwc;
    if (!infer__conv_f32_scratch(p, c->n_threads, w->kind == INFER__VAL_CONST, &c->scratch_bytes) || /* packing blocks */
        (c->scratch_bytes = INFER__MAX(c->scratch_bytes, infer__q8_scratch(c))) > c->max_bytes) /* or the int8 path's */
        return infer__cfail(c, INFER_STATUS_OUT_OF_MEMORY, "scratch for input %s is over the session's memory cap",
                            infer__dstr(b1, x->n_dims, x->dims));
    return INFER_STATUS_OK;
}

static infer_status infer__shape_conv_transpose(infer__ctx *c) {
    const infer__val *x = c->in[0], *w = c->in[1], *b = c->n_in > 2 ? c->in[2] : NULL;
    infer__conv_p *p = &c->p->conv;
    int64_t dims[5], opad[3] = {0, 0, 0}, oshape[5];
    int i, n_sp = x->n_dims - 2, n_op, n_os, ap = infer__auto_pad(c->node);
    infer_status st;
    char b1[96];
    if (x->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, 0, "f32");
    if (w->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, 1, "f32");
    if (n_sp < 1 || n_sp > 3) return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "input rank %d; supported 3 to 5", x->n_dims);
    if (w->n_dims != x->n_dims) return infer__cfail(c, INFER_STATUS_SHAPE, "weight and input differ in rank");
    if (ap < 0) return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "auto_pad '%s' is unknown", infer__attr_s(c->node, "auto_pad", ""));
    if ((st = infer__conv_attrs(c, n_sp, w->dims + 2, p))) return st;
    p->group = infer__attr_i(c->node, "group", 1);
    p->n = x->dims[0];
    p->c = x->dims[1];
    if (p->group < 1 || w->dims[0] != p->c || p->c % p->group)
        return infer__cfail(c, INFER_STATUS_SHAPE, "input channels %lld, weight %s and group %lld do not agree",
                            (long long)p->c, infer__dstr(b1, w->n_dims, w->dims), (long long)p->group);
    p->m = w->dims[1] * p->group;
    if (b && (b->dtype != INFER_DTYPE_F32 || b->n_dims != 1 || b->dims[0] != p->m))
        return infer__cfail(c, INFER_STATUS_SHAPE, "bias must be f32 [%lld]", (long long)p->m);
    n_op = infer__attr_ints(c->node, "output_padding", opad, 3);
    if (n_op != -1 && n_op != n_sp) return infer__cfail(c, INFER_STATUS_SHAPE, "output_padding must have %d values", n_sp);
    n_os = infer__attr_ints(c->node, "output_shape", oshape, 5);
    if (n_os != -1 && n_os != n_sp && n_os != n_sp + 2)
        return infer__cfail(c, INFER_STATUS_SHAPE, "output_shape must have %d values", n_sp);
    for (i = 0; i < n_sp; i++) {
        int64_t span = (p->k[i] - 1) * p->d[i] + 1, full;
        p->in[i] = x->dims[2 + i];
        if (opad[i] < 0 || opad[i] > INFER_MAX_DIM_VALUE) return infer__cfail(c, INFER_STATUS_SHAPE, "output_padding < 0");
        if (p->in[i] > 0 && p->s[i] > INFER_MAX_DIM_VALUE / p->in[i]) /* stride x input would overflow */
            return infer__cfail(c, INFER_STATUS_SHAPE, "spatial dim %d: stride %lld x input %lld is too large", i,
                                (long long)p->s[i], (long long)p->in[i]);
        full = p->s[i] * (p->in[i] - 1) + opad[i] + span;
        if (n_os != -1 || ap == 1 || ap == 2) {
            int64_t want = n_os != -1 ? oshape[n_os - n_sp + i] : p->in[i] * p->s[i], total = full - want;
            if (want < 0 || want > INFER_MAX_DIM_VALUE) return infer__cfail(c, INFER_STATUS_SHAPE, "output_shape < 0");
            if (ap == 1) p->pb[i] = infer__floor_div(total, 2), p->pe[i] = total - p->pb[i];
            else p->pe[i] = infer__floor_div(total, 2), p->pb[i] = total - p->pe[i];
        } else if (ap == 3) {
            p->pb[i] = p->pe[i] = 0;
        }
        p->out[i] = full - p->pb[i] - p->pe[i];
        if (p->out[i] < 0) return infer__cfail(c, INFER_STATUS_SHAPE, "output size %lld < 0", (long long)p->out[i]);
    }
    dims[0] = p->n;
    dims[1] = p->m;
    for (i = 0; i < n_sp; i++) dims[2 + i] = p->out[i];
    if ((st = infer__act_parse(c, &p->act))) return st;
    return infer__set_out(c, 0, INFER_DTYPE_F32, x->n_dims, dims);
}

static infer_status infer__shape_pool(infer__ctx *c) {
    const infer__val *x = c->in[0];
    infer__conv_p *p = &c->p->conv;
    int64_t dims[5];
    int i, n_sp = x->n_dims - 2, is_max = c->node->op == INFER__OP_MAX_POOL;
    infer_status st;
    if (is_max ? !(INFER__IS_FLOAT(x->dtype) || x->dtype == INFER_DTYPE_I8 || x->dtype == INFER_DTYPE_U8)
               : x->dtype != INFER_DTYPE_F32)
        return infer__bad_dtype(c, 0, is_max ? "f32, f64, i8, u8" : "f32");
    if (n_sp < 1 || n_sp > 3) return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "input rank %d; supported 3 to 5", x->n_dims);
    if ((st = infer__conv_attrs(c, n_sp, NULL, p))) return st;
    if (c->node->op == INFER__OP_LP_POOL) { /* the kernel reads p */
        int64_t pw = infer__attr_i(c->node, "p", 2);
        if (pw < 1 || pw > 1024)
            return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "p = %lld; supported: 1 to 1024", (long long)pw);
    }
    p->n = x->dims[0];
    p->c = p->m = x->dims[1];
    p->group = 1;
    p->count_include_pad = infer__attr_i(c->node, "count_include_pad", 0) != 0;
    for (i = 0; i < n_sp; i++) p->in[i] = x->dims[2 + i];
    if ((st = infer__window_out(c, p, infer__attr_i(c->node, "ceil_mode", 0) != 0))) return st;
    dims[0] = p->n;
    dims[1] = p->c;
    for (i = 0; i < n_sp; i++) dims[2 + i] = p->out[i];
    return infer__set_out(c, 0, x->dtype, x->n_dims, dims);
}

static infer_status infer__shape_global_pool(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t dims[INFER_MAX_DIMS];
    int i;
    if (x->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, 0, "f32");
    if (x->n_dims < 3) return infer__cfail(c, INFER_STATUS_SHAPE, "input must have rank >= 3");
    for (i = 0; i < x->n_dims; i++) dims[i] = i < 2 ? x->dims[i] : 1;
    c->p->ax.outer = x->dims[0] * x->dims[1];
    c->p->ax.len = infer__prod(x->dims, 2, x->n_dims);
    return infer__set_out(c, 0, INFER_DTYPE_F32, x->n_dims, dims);
}

static infer_status infer__shape_batch_norm(infer__ctx *c) {
    const infer__val *x = c->in[0];
    uint32_t k;
    if (x->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, 0, "f32");
    if (x->n_dims < 2) return infer__cfail(c, INFER_STATUS_SHAPE, "input must have rank >= 2");
    if (infer__attr_i(c->node, "training_mode", 0) != 0)
        return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "training_mode=1 is not supported (inference only)");
    for (k = 1; k < 5; k++)
        if (c->in[k]->dtype != INFER_DTYPE_F32 || c->in[k]->n_dims != 1 || c->in[k]->dims[0] != x->dims[1])
            return infer__cfail(c, INFER_STATUS_SHAPE, "input %u must be f32 [%lld]", k, (long long)x->dims[1]);
    infer__split_axis(x, 1, &c->p->ax);
    c->p->ax.alpha = infer__attr_f(c->node, "epsilon", 1e-5f);
    return infer__same_out(c, 0, x);
}

/* Attention (opset 23): Q, K, V as [batch][heads][seq][head_dim], or [batch][seq][heads *
   head_dim] with q_num_heads / kv_num_heads; an optional bool or f32 mask broadcast to
   [batch][q_heads][q_seq][kv_seq] (a shorter last axis is padded with "masked"). Not
   supported: past_key/past_value, nonpad_kv_seqlen, and the present_* / qk outputs. */
typedef struct infer__att {
    int64_t B, Hq, Hkv, S, T, D, Dv, Tm; /* Tm: the mask's last axis (0: no mask) */
    int64_t qs[3], ks[3], vs[3], ys[3];  /* element strides of (batch, head, seq); head_dim is contiguous */
    int64_t ms[4];                       /* mask strides over (batch, head, query, key); 0: broadcast */
    int causal, mask_bool;
    float scale, softcap;
} infer__att;

static infer_status infer__att_init(const infer__ctx *c, infer__att *a) {
    const infer__val *q = c->in[0], *k = c->in[1], *v = c->in[2], *m = c->n_in > 3 ? c->in[3] : NULL;
    int r = q->n_dims, i;
    uint32_t j;
    memset(a, 0, sizeof *a);
    for (j = 4; j < c->n_in; j++)
        if (c->in[j])
            return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "input %u (%s) is not supported", j,
                                j == 6 ? "nonpad_kv_seqlen" : "past_key/past_value");
    for (j = 1; j < c->n_out; j++)
        if (c->out[j])
            return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "output %u (%s) is not supported", j,
                                j == 3 ? "qk_matmul_output" : "present_key/present_value");
    for (j = 0; j < 3; j++)
        if (c->in[j]->dtype != INFER_DTYPE_F32) return infer__bad_dtype((infer__ctx *)c, j, "f32");
    if ((r != 3 && r != 4) || k->n_dims != r || v->n_dims != r)
        return infer__cfail(c, INFER_STATUS_SHAPE, "Q, K and V must all have rank 3 or all rank 4");
    a->B = q->dims[0];
    if (r == 4) {
        a->Hq = q->dims[1], a->S = q->dims[2], a->D = q->dims[3];
        a->Hkv = k->dims[1], a->T = k->dims[2], a->Dv = v->dims[3];
        if (k->dims[3] != a->D || v->dims[1] != a->Hkv || v->dims[2] != a->T)
            return infer__cfail(c, INFER_STATUS_SHAPE, "K [%lld,%lld,%lld,%lld] or V does not match Q's head size",
                                (long long)k->dims[0], (long long)k->dims[1], (long long)k->dims[2], (long long)k->dims[3]);
    } else {
        a->Hq = infer__attr_i(c->node, "q_num_heads", 0), a->Hkv = infer__attr_i(c->node, "kv_num_heads", 0);
        if (a->Hq <= 0 || a->Hkv <= 0)
            return infer__cfail(c, INFER_STATUS_INVALID_ARGUMENT, "3-D inputs need q_num_heads and kv_num_heads > 0");
        if (q->dims[2] % a->Hq || k->dims[2] % a->Hkv || v->dims[2] % a->Hkv)
            return infer__cfail(c, INFER_STATUS_SHAPE, "hidden sizes %lld, %lld, %lld do not divide by the heads (%lld, %lld)",
                                (long long)q->dims[2], (long long)k->dims[2], (long long)v->dims[2], (long long)a->Hq,
                                (long long)a->Hkv);
        a->S = q->dims[1], a->D = q->dims[2] / a->Hq, a->T = k->dims[1], a->Dv = v->dims[2] / a->Hkv;
        if (k->dims[2] / a->Hkv != a->D || v->dims[1] != a->T)
            return infer__cfail(c, INFER_STATUS_SHAPE, "K's head size %lld differs from Q's %lld",
                                (long long)(k->dims[2] / a->Hkv), (long long)a->D);
    }
    if (k->dims[0] != a->B || v->dims[0] != a->B)
        return infer__cfail(c, INFER_STATUS_SHAPE, "Q, K and V have different batch sizes");
    if (a->Hq < 1 || a->Hkv < 1) /* 4-D inputs give the heads as dims, which may be 0 */
        return infer__cfail(c, INFER_STATUS_SHAPE, "q heads %lld and kv heads %lld must be at least 1", (long long)a->Hq,
                            (long long)a->Hkv);
    if (a->Hq % a->Hkv)
        return infer__cfail(c, INFER_STATUS_SHAPE, "q heads %lld are not a multiple of kv heads %lld", (long long)a->Hq,
                            (long long)a->Hkv);
    { /* the output [B, Hq, S, Dv] takes Dv from V: bound it before the strides multiply it */
        const int64_t od[4] = {a->B, a->Hq, a->S, a->Dv};
        size_t n, bytes;
        if (!infer__dims_bytes(od, 4, INFER_DTYPE_F32, SIZE_MAX / 4, &n, &bytes))
            return infer__cfail(c, INFER_STATUS_SHAPE, "the output [%lld, %lld, %lld, %lld] is too large", (long long)a->B,
                                (long long)a->Hq, (long long)a->S, (long long)a->Dv);
    }
    if (r == 4) {
        a->qs[0] = a->Hq * a->S * a->D, a->qs[1] = a->S * a->D, a->qs[2] = a->D;
        a->ks[0] = a->Hkv * a->T * a->D, a->ks[1] = a->T * a->D, a->ks[2] = a->D;
        a->vs[0] = a->Hkv * a->T * a->Dv, a->vs[1] = a->T * a->Dv, a->vs[2] = a->Dv;
        a->ys[0] = a->Hq * a->S * a->Dv, a->ys[1] = a->S * a->Dv, a->ys[2] = a->Dv;
    } else {
        a->qs[0] = a->S * a->Hq * a->D, a->qs[1] = a->D, a->qs[2] = a->Hq * a->D;
        a->ks[0] = a->T * a->Hkv * a->D, a->ks[1] = a->D, a->ks[2] = a->Hkv * a->D;
        a->vs[0] = a->T * a->Hkv * a->Dv, a->vs[1] = a->Dv, a->vs[2] = a->Hkv * a->Dv;
        a->ys[0] = a->S * a->Hq * a->Dv, a->ys[1] = a->Dv, a->ys[2] = a->Hq * a->Dv;
    }
    a->causal = infer__attr_i(c->node, "is_causal", 0) != 0;
    a->scale = infer__attr_f(c->node, "scale", NAN);
    if (isnan(a->scale)) a->scale = a->D ? (float)(1.0 / sqrt((double)a->D)) : 1.0f;
    a->softcap = infer__attr_f(c->node, "softcap", 0.0f);
    if (m) {
        const int64_t want[4] = {a->B, a->Hq, a->S, a->T};
        int64_t st = 1;
        if (m->dtype != INFER_DTYPE_F32 && m->dtype != INFER_DTYPE_BOOL) return infer__bad_dtype((infer__ctx *)c, 3, "f32, bool");
        if (m->n_dims < 1 || m->n_dims > 4) return infer__cfail(c, INFER_STATUS_SHAPE, "attn_mask must have rank 1 to 4");
        a->mask_bool = m->dtype == INFER_DTYPE_BOOL;
        a->Tm = m->dims[m->n_dims - 1];
        if (a->Tm > a->T || a->Tm == 0)
            return infer__cfail(c, INFER_STATUS_SHAPE, "attn_mask's last axis %lld is not in [1, kv length %lld]",
                                (long long)a->Tm, (long long)a->T);
        for (i = 3; i >= 0; i--) {
            int mi = i - (4 - m->n_dims);
            int64_t d = mi >= 0 ? m->dims[mi] : 1;
            if (i < 3 && d != 1 && d != want[i])
                return infer__cfail(c, INFER_STATUS_SHAPE, "attn_mask axis %d is %lld; it must be 1 or %lld", mi,
                                    (long long)d, (long long)want[i]);
            a->ms[i] = d == 1 && i < 3 ? 0 : st;
            st *= d;
        }
    }
    return INFER_STATUS_OK;
}

static infer_status infer__shape_attention(infer__ctx *c) {
    infer__att a;
    int64_t dims[4];
    infer_status st = infer__att_init(c, &a);
    if (st) return st;
    /* the reference's score row and sums; the SIMD kernel's K transposed, [B][Hkv][D][T rounded up to 16] */
    {
        const int64_t kt[4] = {a.B, a.Hkv, a.D, (a.T + 15) / 16 * 16};
        size_t n;
        if (!infer__dims_bytes(kt, 4, INFER_DTYPE_F32, c->max_bytes, &n, &c->scratch_bytes))
            return infer__cfail(c, INFER_STATUS_OUT_OF_MEMORY, "scratch for K [%lld, %lld, %lld, %lld] is over the "
                                "session's memory cap", (long long)a.B, (long long)a.Hkv, (long long)a.T, (long long)a.D);
        c->scratch_bytes = INFER__MAX((size_t)(a.T + a.Dv) * sizeof(double), c->scratch_bytes);
    }
    if (c->in[0]->n_dims == 4) {
        dims[0] = a.B, dims[1] = a.Hq, dims[2] = a.S, dims[3] = a.Dv;
        return infer__set_out(c, 0, INFER_DTYPE_F32, 4, dims);
    }
    dims[0] = a.B, dims[1] = a.S, dims[2] = a.Hq * a.Dv;
    return infer__set_out(c, 0, INFER_DTYPE_F32, 3, dims);
}

static infer_status infer__shape_layer_norm(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t axis, dims[INFER_MAX_DIMS];
    uint32_t k;
    int i;
    infer_status st;
    infer__axis_p *p = &c->p->ax;
    if (x->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, 0, "f32");
    if (x->n_dims < 1) return infer__cfail(c, INFER_STATUS_SHAPE, "input must have rank >= 1");
    if ((st = infer__axis(c, infer__attr_i(c->node, "axis", -1), x->n_dims, &axis))) return st;
    p->axis = axis;
    p->outer = infer__prod(x->dims, 0, (int)axis);
    p->len = infer__prod(x->dims, (int)axis, x->n_dims);
    p->alpha = infer__attr_f(c->node, "epsilon", 1e-5f);
    for (k = 1; k < c->n_in; k++) {
        const infer__val *v = c->in[k];
        if (!v) continue;
        if (v->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, k, "f32");
        if ((int64_t)v->n != p->len && v->n != 1)
            return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "input %u has %zu values; supported: %lld (the normalised "
                                "shape) or 1", k, v->n, (long long)p->len);
    }
    if ((st = infer__same_out(c, 0, x))) return st;
    for (i = 0; i < x->n_dims; i++) dims[i] = i < axis ? x->dims[i] : 1;
    if ((st = infer__set_out(c, 1, INFER_DTYPE_F32, x->n_dims, dims))) return st;
    return infer__set_out(c, 2, INFER_DTYPE_F32, x->n_dims, dims);
}

/* RMSNormalization: ax.outer rows of ax.len elements (axis to the end) divided by their root
   mean square; the scale broadcasts to X (numpy rules, one way). Statistics are in double,
   whatever stash_type says (it only asks for at least f32). */
static infer_status infer__shape_rms_norm(infer__ctx *c) {
    const infer__val *x = c->in[0], *s = c->in[1];
    int64_t axis;
    int i;
    infer_status st;
    infer__axis_p *p = &c->p->ax;
    char b1[96], b2[96];
    if (!INFER__IS_FLOAT(x->dtype)) return infer__bad_dtype(c, 0, "f32, f64");
    if (s->dtype != x->dtype)
        return infer__cfail(c, INFER_STATUS_SHAPE, "scale has dtype %s but X has %s", infer_dtype_name(s->dtype),
                            infer_dtype_name(x->dtype));
    if (x->n_dims < 1) return infer__cfail(c, INFER_STATUS_SHAPE, "input must have rank >= 1");
    if ((st = infer__axis(c, infer__attr_i(c->node, "axis", -1), x->n_dims, &axis))) return st;
    for (i = 0; i < s->n_dims; i++)
        if (s->n_dims > x->n_dims || (s->dims[i] != 1 && s->dims[i] != x->dims[x->n_dims - s->n_dims + i]))
            return infer__cfail(c, INFER_STATUS_SHAPE, "scale %s does not broadcast to X %s",
                                infer__dstr(b1, s->n_dims, s->dims), infer__dstr(b2, x->n_dims, x->dims));
    p->axis = axis;
    p->outer = infer__prod(x->dims, 0, (int)axis);
    p->len = infer__prod(x->dims, (int)axis, x->n_dims);
    p->alpha = infer__attr_f(c->node, "epsilon", 1e-5f);
    return infer__same_out(c, 0, x);
}

static infer_status infer__shape_reduce(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t axes[INFER_MAX_DIMS], dims[INFER_MAX_DIMS], a;
    int n = 0, i, r = 0, keep = infer__attr_i(c->node, "keepdims", 1) != 0, op = c->node->op;
    unsigned mask = 0;
    infer_status st;
    int fonly = op == INFER__OP_REDUCE_MEAN || op == INFER__OP_REDUCE_L2 || op == INFER__OP_REDUCE_LOG_SUM ||
                op == INFER__OP_REDUCE_LOG_SUM_EXP;
    int minmax = op == INFER__OP_REDUCE_MIN || op == INFER__OP_REDUCE_MAX; /* also i8, u8, bool */
    if (fonly ? !INFER__IS_FLOAT(x->dtype)
              : !(INFER__IS_FLOAT(x->dtype) || x->dtype == INFER_DTYPE_I32 || x->dtype == INFER_DTYPE_I64 ||
                  (minmax && (x->dtype == INFER_DTYPE_I8 || x->dtype == INFER_DTYPE_U8 || x->dtype == INFER_DTYPE_BOOL))))
        return infer__bad_dtype(c, 0, fonly ? "f32, f64" : minmax ? "f32, f64, i32, i64, i8, u8, bool" : "f32, f64, i32, i64");
    if (c->n_in > 1 && c->in[1] && (st = infer__const_ints(c, 1, axes, INFER_MAX_DIMS, &n))) return st;
    for (i = 0; i < n; i++) {
        if ((st = infer__axis(c, axes[i], x->n_dims, &a))) return st;
        if (mask & (1u << a)) return infer__cfail(c, INFER_STATUS_SHAPE, "axis %lld is listed twice", (long long)axes[i]);
        mask |= 1u << a;
    }
    if (n == 0 && !infer__attr_i(c->node, "noop_with_empty_axes", 0)) mask = (1u << x->n_dims) - 1;
    for (i = 0; i < x->n_dims; i++) {
        if (!(mask & (1u << i))) dims[r++] = x->dims[i];
        else if (keep) dims[r++] = 1;
    }
    /* an empty set reduces to 0 (sum), NaN (mean), or -inf / the dtype's minimum (max,
       ONNX ReduceMax-18), +inf / the maximum (min), 1 (prod), 0 (L1, L2, sum square),
       -inf (log sum, log sum exp): the kernels' initial values */
    c->p->reduce_mask = mask;
    return infer__set_out(c, 0, x->dtype, r, dims);
}

static infer_status infer__shape_arg_max(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t axis, dims[INFER_MAX_DIMS];
    int i, r = 0;
    infer_status st;
    if (!INFER__IS_NUMERIC(x->dtype)) return infer__bad_dtype(c, 0, "f32, f64, integers");
    if (x->n_dims < 1) return infer__cfail(c, INFER_STATUS_SHAPE, "input must have rank >= 1");
    if ((st = infer__axis(c, infer__attr_i(c->node, "axis", 0), x->n_dims, &axis))) return st;
    if (x->dims[axis] == 0) return infer__cfail(c, INFER_STATUS_SHAPE, "%s over an empty axis", infer__ops[c->node->op].name);
    infer__split_axis(x, axis, &c->p->ax);
    c->p->ax.flag = infer__attr_i(c->node, "select_last_index", 0) != 0;
    for (i = 0; i < x->n_dims; i++) {
        if (i != axis) dims[r++] = x->dims[i];
        else if (infer__attr_i(c->node, "keepdims", 1)) dims[r++] = 1;
    }
    return infer__set_out(c, 0, INFER_DTYPE_I64, r, dims);
}

static infer_status infer__shape_reshape(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t dims[INFER_MAX_DIMS], known = 1;
    int n, i, infer_at = -1, allowzero = infer__attr_i(c->node, "allowzero", 0) != 0;
    infer_status st;
    char b1[96], b2[96];
    if ((st = infer__const_ints(c, 1, dims, INFER_MAX_DIMS, &n))) return st;
    for (i = 0; i < n; i++) {
        if (dims[i] == -1) {
            if (infer_at >= 0) return infer__cfail(c, INFER_STATUS_SHAPE, "shape has more than one -1");
            infer_at = i;
            continue;
        }
        if (dims[i] == 0 && !allowzero) {
            if (i >= x->n_dims)
                return infer__cfail(c, INFER_STATUS_SHAPE, "shape[%d] = 0 copies a dim the input (rank %d) lacks", i, x->n_dims);
            dims[i] = x->dims[i];
        }
        if (dims[i] < 0) return infer__cfail(c, INFER_STATUS_SHAPE, "shape[%d] = %lld", i, (long long)dims[i]);
        if (dims[i] > 0 && known > INFER_MAX_DIM_VALUE / dims[i]) return infer__cfail(c, INFER_STATUS_SHAPE, "shape too large");
        known *= dims[i];
    }
    if (infer_at >= 0) {
        if (known == 0 || (int64_t)x->n % known)
            return infer__cfail(c, INFER_STATUS_SHAPE, "cannot reshape %s (%zu elements) to %s",
                                infer__dstr(b1, x->n_dims, x->dims), x->n, infer__dstr(b2, n, dims));
        dims[infer_at] = (int64_t)x->n / known;
        known *= dims[infer_at];
    }
    if (known != (int64_t)x->n)
        return infer__cfail(c, INFER_STATUS_SHAPE, "cannot reshape %s (%zu elements) to %s",
                            infer__dstr(b1, x->n_dims, x->dims), x->n, infer__dstr(b2, n, dims));
    return infer__set_out(c, 0, x->dtype, n, dims);
}

static infer_status infer__shape_flatten(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t axis = infer__attr_i(c->node, "axis", 1), dims[2];
    if (axis < -(int64_t)x->n_dims || axis > x->n_dims)
        return infer__cfail(c, INFER_STATUS_SHAPE, "axis %lld is out of range for rank %d", (long long)axis, x->n_dims);
    if (axis < 0) axis += x->n_dims;
    dims[0] = infer__prod(x->dims, 0, (int)axis);
    dims[1] = infer__prod(x->dims, (int)axis, x->n_dims);
    return infer__set_out(c, 0, x->dtype, 2, dims);
}

static infer_status infer__shape_squeeze(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t axes[INFER_MAX_DIMS], dims[INFER_MAX_DIMS], a;
    int n = -1, i, r = 0;
    unsigned mask = 0;
    infer_status st;
    if (c->n_in > 1 && c->in[1] && (st = infer__const_ints(c, 1, axes, INFER_MAX_DIMS, &n))) return st;
    for (i = 0; i < n; i++) {
        if ((st = infer__axis(c, axes[i], x->n_dims, &a))) return st;
        if (x->dims[a] != 1)
            return infer__cfail(c, INFER_STATUS_SHAPE, "cannot squeeze axis %lld of size %lld", (long long)a, (long long)x->dims[a]);
        mask |= 1u << a;
    }
    for (i = 0; i < x->n_dims; i++)
        if (n < 0 ? x->dims[i] != 1 : !(mask & (1u << i))) dims[r++] = x->dims[i];
    return infer__set_out(c, 0, x->dtype, r, dims);
}

static infer_status infer__shape_unsqueeze(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t axes[INFER_MAX_DIMS], dims[INFER_MAX_DIMS], a;
    int n, i, j = 0, r;
    unsigned mask = 0;
    infer_status st;
    if ((st = infer__const_ints(c, 1, axes, INFER_MAX_DIMS, &n))) return st;
    r = x->n_dims + n;
    if (r > INFER_MAX_DIMS) return infer__cfail(c, INFER_STATUS_SHAPE, "output rank %d is over the maximum", r);
    for (i = 0; i < n; i++) {
        if ((st = infer__axis(c, axes[i], r, &a))) return st;
        if (mask & (1u << a)) return infer__cfail(c, INFER_STATUS_SHAPE, "axis %lld is listed twice", (long long)axes[i]);
        mask |= 1u << a;
    }
    for (i = 0; i < r; i++) dims[i] = (mask & (1u << i)) ? 1 : x->dims[j++];
    return infer__set_out(c, 0, x->dtype, r, dims);
}

static infer_status infer__shape_identity(infer__ctx *c) { return infer__same_out(c, 0, c->in[0]); }

/* -- more operators: normalisation, index and data-movement ops -- */

static int infer__pick(const char *s, const char *list);
static infer_status infer__const_floats(infer__ctx *c, uint32_t k, double *v, int max, int *n);

/* Checks that input k is one i32 or i64 value (read by the kernel: it may change per run). */
static infer_status infer__one_int(infer__ctx *c, uint32_t k) {
    const infer__val *v = c->in[k];
    if (v->dtype != INFER_DTYPE_I64 && v->dtype != INFER_DTYPE_I32) return infer__bad_dtype(c, k, "i64, i32");
    if (v->n != 1 || v->n_dims > 1) return infer__cfail(c, INFER_STATUS_SHAPE, "input %u must hold one value", k);
    return INFER_STATUS_OK;
}

/* Reduction attribute of ScatterElements / ScatterND: 0 none, 1 add, 2 mul, 3 max, 4 min. */
static infer_status infer__scatter_reduction(infer__ctx *c) {
    const char *r = infer__attr_s(c->node, "reduction", "none");
    int k = infer__pick(r, "none add mul max min");
    if (k < 0) return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "reduction '%s'; supported: none, add, mul, max, min", r);
    if (k > 0 && !INFER__IS_NUMERIC(c->in[0]->dtype)) return infer__bad_dtype(c, 0, "f32, f64, integers (with a reduction)");
    if (c->in[2]->dtype != c->in[0]->dtype)
        return infer__cfail(c, INFER_STATUS_SHAPE, "updates have dtype %s but data has %s", infer_dtype_name(c->in[2]->dtype),
                            infer_dtype_name(c->in[0]->dtype));
    c->p->ax.flag = k;
    return INFER_STATUS_OK;
}

/* GatherElements, ScatterElements: indices of data's rank, no larger than data off the axis. */
static infer_status infer__elements_axis(infer__ctx *c, const infer__val *ix) {
    const infer__val *x = c->in[0];
    int64_t axis;
    int i;
    infer_status st;
    char b1[96], b2[96];
    if (ix->dtype != INFER_DTYPE_I64 && ix->dtype != INFER_DTYPE_I32) return infer__bad_dtype(c, 1, "i64, i32");
    if (x->n_dims < 1) return infer__cfail(c, INFER_STATUS_SHAPE, "data must have rank >= 1");
    if ((st = infer__axis(c, infer__attr_i(c->node, "axis", 0), x->n_dims, &axis))) return st;
    if (ix->n_dims != x->n_dims)
        return infer__cfail(c, INFER_STATUS_SHAPE, "indices %s and data %s differ in rank", infer__dstr(b1, ix->n_dims, ix->dims),
                            infer__dstr(b2, x->n_dims, x->dims));
    for (i = 0; i < x->n_dims; i++)
        if (i != axis && ix->dims[i] > x->dims[i])
            return infer__cfail(c, INFER_STATUS_SHAPE, "indices %s are larger than data %s off the axis %lld",
                                infer__dstr(b1, ix->n_dims, ix->dims), infer__dstr(b2, x->n_dims, x->dims), (long long)axis);
    c->p->ax.axis = axis;
    return INFER_STATUS_OK;
}

static infer_status infer__shape_instance_norm(infer__ctx *c) {
    const infer__val *x = c->in[0];
    uint32_t k;
    if (x->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, 0, "f32");
    if (x->n_dims < 3) return infer__cfail(c, INFER_STATUS_SHAPE, "input must have rank >= 3");
    for (k = 1; k < 3; k++)
        if (c->in[k]->dtype != INFER_DTYPE_F32 || c->in[k]->n_dims != 1 || c->in[k]->dims[0] != x->dims[1])
            return infer__cfail(c, INFER_STATUS_SHAPE, "input %u must be f32 [%lld]", k, (long long)x->dims[1]);
    infer__split_axis(x, 1, &c->p->ax);
    c->p->ax.alpha = infer__attr_f(c->node, "epsilon", 1e-5f);
    return infer__same_out(c, 0, x);
}

/* GroupNormalization (opset 21: scale and bias per channel); ax.axis holds num_groups. */
static infer_status infer__shape_group_norm(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t g = infer__attr_i(c->node, "num_groups", 0);
    uint32_t k;
    if (x->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, 0, "f32");
    if (x->n_dims < 2) return infer__cfail(c, INFER_STATUS_SHAPE, "input must have rank >= 2");
    if (!infer__attr_find(c->node, "num_groups"))
        return infer__cfail(c, INFER_STATUS_SHAPE, "attribute 'num_groups' is required");
    if (g < 1 || x->dims[1] % g)
        return infer__cfail(c, INFER_STATUS_SHAPE, "num_groups %lld does not divide the %lld channels", (long long)g,
                            (long long)x->dims[1]);
    for (k = 1; k < 3; k++)
        if (c->in[k]->dtype != INFER_DTYPE_F32 || c->in[k]->n_dims != 1 || c->in[k]->dims[0] != x->dims[1])
            return infer__cfail(c, INFER_STATUS_SHAPE, "input %u must be f32 [%lld], one value per channel (the "
                                "opset-18 form, one per group, is not supported)", k, (long long)x->dims[1]);
    infer__split_axis(x, 1, &c->p->ax);
    c->p->ax.axis = g;
    c->p->ax.alpha = infer__attr_f(c->node, "epsilon", 1e-5f);
    return infer__same_out(c, 0, x);
}

/* LRN across channels: ax as [N][C][spatial], flag the window size; the kernel reads 'bias'. */
static infer_status infer__shape_lrn(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t size = infer__attr_i(c->node, "size", 0);
    if (x->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, 0, "f32");
    if (x->n_dims < 2) return infer__cfail(c, INFER_STATUS_SHAPE, "input must have rank >= 2");
    if (!infer__attr_find(c->node, "size")) return infer__cfail(c, INFER_STATUS_SHAPE, "attribute 'size' is required");
    if (size < 1 || size > (1 << 30))
        return infer__cfail(c, INFER_STATUS_SHAPE, "size %lld must be >= 1", (long long)size);
    infer__split_axis(x, 1, &c->p->ax);
    c->p->ax.flag = (int)size;
    c->p->ax.alpha = infer__attr_f(c->node, "alpha", 1e-4f);
    c->p->ax.beta = infer__attr_f(c->node, "beta", 0.75f);
    return infer__same_out(c, 0, x);
}

/* MeanVarianceNormalization over the axes in reduce_mask (default 0, 2, 3); scratch holds the
   mean and the deviation of each kept position, in double. */
static infer_status infer__shape_mvn(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t axes[INFER_MAX_DIMS] = {0, 2, 3}, a, kept = 1;
    int n = infer__attr_ints(c->node, "axes", axes, INFER_MAX_DIMS), i;
    unsigned mask = 0;
    infer_status st;
    if (x->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, 0, "f32");
    if (n == -2) return infer__cfail(c, INFER_STATUS_SHAPE, "axes lists more than %d axes", INFER_MAX_DIMS);
    if (n == -1) axes[0] = 0, axes[1] = 2, axes[2] = 3, n = 3;
    for (i = 0; i < n; i++) {
        if ((st = infer__axis(c, axes[i], x->n_dims, &a))) return st;
        mask |= 1u << a;
    }
    for (i = 0; i < x->n_dims; i++)
        if (!(mask >> i & 1)) kept *= x->dims[i];
    c->p->reduce_mask = mask;
    c->scratch_bytes = 2 * sizeof(double) * (size_t)kept; /* kept <= x->n: no overflow */
    if (c->scratch_bytes > c->max_bytes)
        return infer__cfail(c, INFER_STATUS_OUT_OF_MEMORY, "scratch of %zu bytes is over the session's memory cap",
                            c->scratch_bytes);
    return infer__same_out(c, 0, x);
}

static infer_status infer__shape_lp_norm(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t axis, p = infer__attr_i(c->node, "p", 2);
    infer_status st;
    if (x->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, 0, "f32");
    if (x->n_dims < 1) return infer__cfail(c, INFER_STATUS_SHAPE, "input must have rank >= 1");
    if (p != 1 && p != 2) return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "p = %lld; supported: 1, 2", (long long)p);
    if ((st = infer__axis(c, infer__attr_i(c->node, "axis", -1), x->n_dims, &axis))) return st;
    infer__split_axis(x, axis, &c->p->ax);
    c->p->ax.flag = (int)p;
    return infer__same_out(c, 0, x);
}

/* DepthToSpace (flag: 0 DCR, 1 CRD) and SpaceToDepth; ax.len is the block size. */
static infer_status infer__shape_depth_to_space(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t b = infer__attr_i(c->node, "blocksize", 0), dims[4];
    int d2s = c->node->op == INFER__OP_DEPTH_TO_SPACE;
    const char *mode = infer__attr_s(c->node, "mode", "DCR");
    char b1[96];
    if (x->n_dims != 4) return infer__cfail(c, INFER_STATUS_SHAPE, "input must have rank 4");
    if (!infer__attr_find(c->node, "blocksize")) return infer__cfail(c, INFER_STATUS_SHAPE, "attribute 'blocksize' is required");
    if (b < 1 || b > 65536) return infer__cfail(c, INFER_STATUS_SHAPE, "blocksize %lld", (long long)b);
    c->p->ax.flag = d2s ? infer__pick(mode, "DCR CRD") : 0;
    if (c->p->ax.flag < 0) return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "mode '%s'; supported: DCR, CRD", mode);
    c->p->ax.len = b;
    dims[0] = x->dims[0];
    if (d2s) {
        if (x->dims[1] % (b * b))
            return infer__cfail(c, INFER_STATUS_SHAPE, "channels of %s are not a multiple of blocksize^2 = %lld",
                                infer__dstr(b1, 4, x->dims), (long long)(b * b));
        dims[1] = x->dims[1] / (b * b);
        dims[2] = x->dims[2] * b; /* dims <= 2^40 and b <= 2^16: no overflow */
        dims[3] = x->dims[3] * b;
    } else {
        if (x->dims[2] % b || x->dims[3] % b)
            return infer__cfail(c, INFER_STATUS_SHAPE, "height and width of %s are not multiples of blocksize %lld",
                                infer__dstr(b1, 4, x->dims), (long long)b);
        dims[1] = x->dims[1] * b * b;
        dims[2] = x->dims[2] / b;
        dims[3] = x->dims[3] / b;
    }
    return infer__set_out(c, 0, x->dtype, 4, dims);
}

static infer_status infer__shape_trilu(infer__ctx *c) {
    const infer__val *x = c->in[0];
    infer_status st;
    if (x->n_dims < 2) return infer__cfail(c, INFER_STATUS_SHAPE, "input must have rank >= 2");
    if (c->n_in > 1 && c->in[1] && (st = infer__one_int(c, 1))) return st;
    c->p->ax.flag = infer__attr_i(c->node, "upper", 1) != 0;
    c->p->ax.len = x->dims[x->n_dims - 2];   /* rows */
    c->p->ax.inner = x->dims[x->n_dims - 1]; /* columns */
    return infer__same_out(c, 0, x);
}

/* EyeLike: dtype (an infer dtype; absent: the input's), ax.axis = k clamped to the matrix. */
static infer_status infer__shape_eye_like(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t t = infer__attr_i(c->node, "dtype", (int64_t)x->dtype), k = infer__attr_i(c->node, "k", 0);
    if (x->n_dims != 2) return infer__cfail(c, INFER_STATUS_SHAPE, "input must have rank 2");
    if (t <= 0 || t >= INFER_DTYPE_COUNT)
        return infer__cfail(c, INFER_STATUS_SHAPE, "'dtype' = %lld is not a dtype", (long long)t);
    if (!INFER__IS_NUMERIC(t) && t != INFER_DTYPE_F16 && t != INFER_DTYPE_BF16 && t != INFER_DTYPE_BOOL)
        return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "output dtype %s; supported: f32, f64, f16, bf16, integers, "
                            "bool", infer_dtype_name((infer_dtype)t));
    /* beyond these, every k acts the same */
    c->p->ax.axis = INFER__MAX(-x->dims[0] - 1, INFER__MIN(k, x->dims[1] + 1));
    return infer__set_out(c, 0, (infer_dtype)t, 2, x->dims);
}

static infer_status infer__shape_cum_sum(infer__ctx *c) {
    const infer__val *x = c->in[0];
    infer_status st;
    if (!INFER__IS_NUMERIC(x->dtype)) return infer__bad_dtype(c, 0, "f32, f64, integers");
    if (x->n_dims < 1) return infer__cfail(c, INFER_STATUS_SHAPE, "input must have rank >= 1");
    if ((st = infer__one_int(c, 1))) return st;
    c->p->ax.flag = (infer__attr_i(c->node, "exclusive", 0) != 0) | (infer__attr_i(c->node, "reverse", 0) != 0) << 1;
    return infer__same_out(c, 0, x);
}

/* ReverseSequence: batch and time are axes 0 and 1 (flag: batch_axis); ax.inner the rest. */
static infer_status infer__shape_reverse_sequence(infer__ctx *c) {
    const infer__val *x = c->in[0], *l = c->in[1];
    int64_t ba = infer__attr_i(c->node, "batch_axis", 1), ta = infer__attr_i(c->node, "time_axis", 0);
    char b1[96];
    if (x->n_dims < 2) return infer__cfail(c, INFER_STATUS_SHAPE, "input must have rank >= 2");
    if (!((ba == 0 && ta == 1) || (ba == 1 && ta == 0)))
        return infer__cfail(c, INFER_STATUS_SHAPE, "batch_axis %lld and time_axis %lld must be 0 and 1, or 1 and 0",
                            (long long)ba, (long long)ta);
    if (l->dtype != INFER_DTYPE_I64 && l->dtype != INFER_DTYPE_I32) return infer__bad_dtype(c, 1, "i64, i32");
    if (l->n_dims != 1 || l->dims[0] != x->dims[ba])
        return infer__cfail(c, INFER_STATUS_SHAPE, "sequence_lens %s must be [%lld], one length per batch entry",
                            infer__dstr(b1, l->n_dims, l->dims), (long long)x->dims[ba]);
    c->p->ax.flag = (int)ba;
    c->p->ax.inner = infer__prod(x->dims, 2, x->n_dims);
    return infer__same_out(c, 0, x);
}

static infer_status infer__shape_one_hot(infer__ctx *c) {
    const infer__val *ix = c->in[0], *dv = c->in[1], *vals = c->in[2];
    int64_t axis = infer__attr_i(c->node, "axis", -1), depth, dims[INFER_MAX_DIMS];
    int r = ix->n_dims, n, i;
    infer_status st;
    if (!INFER__IS_NUMERIC(ix->dtype)) return infer__bad_dtype(c, 0, "f32, f64, integers");
    if (INFER__IS_FLOAT(dv->dtype)) {
        double d;
        if ((st = infer__const_floats(c, 1, &d, 1, &n))) return st;
        if (!(d >= 0 && d <= (double)INFER_MAX_DIM_VALUE)) return infer__cfail(c, INFER_STATUS_SHAPE, "depth %g", d);
        depth = (int64_t)d; /* non-integer depth is cast to int64 */
    } else if ((st = infer__const_ints(c, 1, &depth, 1, &n))) {
        return st;
    }
    if (n != 1 || dv->n_dims > 1) return infer__cfail(c, INFER_STATUS_SHAPE, "depth must hold one value");
    if (depth < 0 || depth > INFER_MAX_DIM_VALUE) return infer__cfail(c, INFER_STATUS_SHAPE, "depth %lld", (long long)depth);
    if (vals->n != 2 || vals->n_dims != 1) return infer__cfail(c, INFER_STATUS_SHAPE, "values must be [off_value, on_value]");
    if (r + 1 > INFER_MAX_DIMS) return infer__cfail(c, INFER_STATUS_SHAPE, "output rank over the maximum");
    if ((st = infer__axis(c, axis, r + 1, &axis))) return st;
    for (i = 0; i < r + 1; i++) dims[i] = i < axis ? ix->dims[i] : i == axis ? depth : ix->dims[i - 1];
    c->p->ax.axis = axis;
    c->p->ax.outer = infer__prod(ix->dims, 0, (int)axis);
    c->p->ax.len = depth;
    c->p->ax.inner = infer__prod(ix->dims, (int)axis, r);
    return infer__set_out(c, 0, vals->dtype, r + 1, dims);
}

static infer_status infer__shape_gather_elements(infer__ctx *c) {
    infer_status st;
    if ((st = infer__elements_axis(c, c->in[1]))) return st;
    return infer__set_out(c, 0, c->in[0]->dtype, c->in[1]->n_dims, c->in[1]->dims);
}

static infer_status infer__shape_scatter_elements(infer__ctx *c) {
    const infer__val *ix = c->in[1], *u = c->in[2];
    infer_status st;
    char b1[96], b2[96];
    if ((st = infer__elements_axis(c, ix))) return st;
    if ((st = infer__scatter_reduction(c))) return st;
    if (u->n_dims != ix->n_dims || memcmp(u->dims, ix->dims, sizeof(int64_t) * (size_t)ix->n_dims))
        return infer__cfail(c, INFER_STATUS_SHAPE, "updates %s and indices %s differ in shape", infer__dstr(b1, u->n_dims, u->dims),
                            infer__dstr(b2, ix->n_dims, ix->dims));
    return infer__same_out(c, 0, c->in[0]);
}

/* GatherND and ScatterND: ax.axis = batch_dims, ax.len = the index tuple's length. */
static infer_status infer__nd_index(infer__ctx *c, int64_t b) {
    const infer__val *x = c->in[0], *ix = c->in[1];
    int64_t k;
    int i;
    char b1[96], b2[96];
    if (ix->dtype != INFER_DTYPE_I64 && ix->dtype != INFER_DTYPE_I32) return infer__bad_dtype(c, 1, "i64, i32");
    if (x->n_dims < 1 || ix->n_dims < 1) return infer__cfail(c, INFER_STATUS_SHAPE, "data and indices must have rank >= 1");
    if (b < 0 || b >= INFER__MIN(x->n_dims, ix->n_dims))
        return infer__cfail(c, INFER_STATUS_SHAPE, "batch_dims %lld is out of range", (long long)b);
    k = ix->dims[ix->n_dims - 1];
    if (k < 1 || k > x->n_dims - b)
        return infer__cfail(c, INFER_STATUS_SHAPE, "indices %s: the last dim must be 1 to %lld for data %s",
                            infer__dstr(b1, ix->n_dims, ix->dims), (long long)(x->n_dims - b), infer__dstr(b2, x->n_dims, x->dims));
    for (i = 0; i < b; i++)
        if (ix->dims[i] != x->dims[i])
            return infer__cfail(c, INFER_STATUS_SHAPE, "batch dims of indices %s and data %s differ",
                                infer__dstr(b1, ix->n_dims, ix->dims), infer__dstr(b2, x->n_dims, x->dims));
    c->p->ax.axis = b;
    c->p->ax.len = k;
    return INFER_STATUS_OK;
}

static infer_status infer__shape_gather_nd(infer__ctx *c) {
    const infer__val *x = c->in[0], *ix = c->in[1];
    int64_t dims[2 * INFER_MAX_DIMS], b = infer__attr_i(c->node, "batch_dims", 0);
    int i, r = 0;
    infer_status st;
    if ((st = infer__nd_index(c, b))) return st;
    for (i = 0; i < ix->n_dims - 1; i++) dims[r++] = ix->dims[i];
    for (i = (int)(b + c->p->ax.len); i < x->n_dims; i++) dims[r++] = x->dims[i];
    return infer__set_out(c, 0, x->dtype, r, dims);
}

static infer_status infer__shape_scatter_nd(infer__ctx *c) {
    const infer__val *x = c->in[0], *ix = c->in[1], *u = c->in[2];
    int64_t want[2 * INFER_MAX_DIMS];
    int i, r = 0;
    infer_status st;
    char b1[96], b2[96];
    if ((st = infer__nd_index(c, 0))) return st;
    if ((st = infer__scatter_reduction(c))) return st;
    for (i = 0; i < ix->n_dims - 1; i++) want[r++] = ix->dims[i];
    for (i = (int)c->p->ax.len; i < x->n_dims; i++) want[r++] = x->dims[i];
    if (u->n_dims != r || memcmp(u->dims, want, sizeof(int64_t) * (size_t)r))
        return infer__cfail(c, INFER_STATUS_SHAPE, "updates %s must have shape %s", infer__dstr(b1, u->n_dims, u->dims),
                            infer__dstr(b2, r, want));
    return infer__same_out(c, 0, x);
}

static infer_status infer__shape_top_k(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t axis, k, dims[INFER_MAX_DIMS];
    int n;
    infer_status st;
    if (!INFER__IS_NUMERIC(x->dtype)) return infer__bad_dtype(c, 0, "f32, f64, integers");
    if (x->n_dims < 1) return infer__cfail(c, INFER_STATUS_SHAPE, "input must have rank >= 1");
    if ((st = infer__axis(c, infer__attr_i(c->node, "axis", -1), x->n_dims, &axis))) return st;
    if ((st = infer__const_ints(c, 1, &k, 1, &n))) return st;
    if (n != 1) return infer__cfail(c, INFER_STATUS_SHAPE, "K must hold one value");
    if (k < 0 || k > x->dims[axis])
        return infer__cfail(c, INFER_STATUS_SHAPE, "K = %lld is out of range for an axis of %lld", (long long)k,
                            (long long)x->dims[axis]);
    infer__split_axis(x, axis, &c->p->ax);
    c->p->ax.flag = infer__attr_i(c->node, "largest", 1) != 0; /* sorted=0 may sort anyway: it does */
    memcpy(dims, x->dims, sizeof dims);
    dims[axis] = k;
    if ((uint64_t)x->dims[axis] > SIZE_MAX / (2 * sizeof(int64_t))) return infer__cfail(c, INFER_STATUS_SHAPE, "axis too long");
    c->scratch_bytes = (size_t)x->dims[axis] * 2 * sizeof(int64_t); /* a merge sort of indices */
    if ((st = infer__set_out(c, 0, x->dtype, x->n_dims, dims))) return st;
    return infer__set_out(c, 1, INFER_DTYPE_I64, x->n_dims, dims);
}

/* Einsum: labels are the letters a-z, A-Z (0..51) and the broadcast dims of "..." (52..59,
   right-aligned across inputs). Parsed from the equation by the shape function and again
   by the kernel (nothing is stored between them). */
#define INFER__EINSUM_MAX_IN 8
#define INFER__EINSUM_LABELS (52 + INFER_MAX_DIMS)
typedef struct infer__einsum {
    int n_in, n_ell;                                   /* inputs; dims under "..." (the most of any input) */
    int rank[INFER__EINSUM_MAX_IN];
    int lab[INFER__EINSUM_MAX_IN][INFER_MAX_DIMS];     /* label of each input dim */
    int n_out, out[INFER_MAX_DIMS];                    /* output labels */
    int count[INFER__EINSUM_LABELS];                   /* uses over all inputs */
    int64_t size[INFER__EINSUM_LABELS];
} infer__einsum;

static int infer__einsum_letter(char ch) {
    if (ch >= 'a' && ch <= 'z') return ch - 'a';
    if (ch >= 'A' && ch <= 'Z') return 26 + ch - 'A';
    return -1;
}

/* Reads one term ("ij", "...ij", "i...j"): letters into lab (ellipsis marked -1 once). */
static int infer__einsum_term(const char **s, const char *end, int *lab, int *n, int *has_ell) {
    *n = 0, *has_ell = 0;
    while (*s < end && **s != ',') {
        if (**s == ' ') {
            (*s)++;
        } else if (**s == '.') {
            if (end - *s < 3 || (*s)[1] != '.' || (*s)[2] != '.' || *has_ell || *n >= INFER_MAX_DIMS) return 0;
            lab[(*n)++] = -1, *has_ell = 1, *s += 3;
        } else {
            int l = infer__einsum_letter(**s);
            if (l < 0 || *n >= INFER_MAX_DIMS) return 0;
            lab[(*n)++] = l, (*s)++;
        }
    }
    return 1;
}

static infer_status infer__einsum_parse(const infer__ctx *c, infer__einsum *e) {
    const char *eq = infer__attr_s(c->node, "equation", NULL), *s, *arrow, *end;
    int k, i, j, l, n, ell, tl[INFER__EINSUM_MAX_IN][INFER_MAX_DIMS], tn[INFER__EINSUM_MAX_IN], te[INFER__EINSUM_MAX_IN];
    char b1[96];
    memset(e, 0, sizeof *e);
    if (!eq) return infer__cfail(c, INFER_STATUS_SHAPE, "attribute 'equation' is required");
    if (c->n_in > INFER__EINSUM_MAX_IN)
        return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "%u inputs; supported: up to %d", c->n_in, INFER__EINSUM_MAX_IN);
    e->n_in = (int)c->n_in;
    arrow = strstr(eq, "->");
    end = arrow ? arrow : eq + strlen(eq);
    for (s = eq, k = 0;; k++) { /* the input terms */
        if (k >= e->n_in) return infer__cfail(c, INFER_STATUS_SHAPE, "equation '%s' has more terms than the %d inputs", eq, e->n_in);
        if (!infer__einsum_term(&s, end, tl[k], &tn[k], &te[k]))
            return infer__cfail(c, INFER_STATUS_SHAPE, "equation '%s': term %d is not letters and one '...'", eq, k);
        if (s == end) break;
        s++; /* the comma */
    }
    if (k + 1 != e->n_in) return infer__cfail(c, INFER_STATUS_SHAPE, "equation '%s' has %d terms for %d inputs", eq, k + 1, e->n_in);
    for (k = 0; k < e->n_in; k++) { /* dims under "..." */
        int r = c->in[k]->n_dims, ne = r - (tn[k] - te[k]);
        if (ne < 0 || (!te[k] && ne != 0))
            return infer__cfail(c, INFER_STATUS_SHAPE, "term %d of '%s' does not fit input %d of dims %s", k, eq, k,
                                infer__dstr(b1, r, c->in[k]->dims));
        if (!INFER__IS_FLOAT(c->in[k]->dtype))
            return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "input %d has dtype %s; supported: f32, f64", k,
                                infer_dtype_name(c->in[k]->dtype));
        if (c->in[k]->dtype != c->in[0]->dtype) return infer__cfail(c, INFER_STATUS_SHAPE, "inputs differ in dtype");
        e->n_ell = INFER__MAX(e->n_ell, ne);
    }
    for (i = 0; i < INFER__EINSUM_LABELS; i++) e->size[i] = -1;
    for (k = 0; k < e->n_in; k++) { /* labels and sizes */
        const infer__val *x = c->in[k];
        int ne = x->n_dims - (tn[k] - te[k]), d = 0;
        e->rank[k] = x->n_dims;
        for (i = 0; i < tn[k]; i++) {
            if (tl[k][i] >= 0) {
                e->lab[k][d++] = tl[k][i];
                continue;
            }
            for (j = 0; j < ne; j++) e->lab[k][d++] = 52 + e->n_ell - ne + j;
        }
        for (d = 0; d < x->n_dims; d++) { /* letters must agree; "..." dims also broadcast from 1 */
            int L = e->lab[k][d];
            int64_t v = x->dims[d];
            e->count[L]++;
            if (e->size[L] < 0 || (L >= 52 && e->size[L] == 1)) e->size[L] = v;
            else if (v != e->size[L] && !(L >= 52 && v == 1))
                return infer__cfail(c, INFER_STATUS_SHAPE, "equation '%s': a label has sizes %lld and %lld", eq,
                                    (long long)e->size[L], (long long)v);
        }
    }
    if (arrow) { /* explicit output */
        int lab[INFER_MAX_DIMS + 1];
        s = arrow + 2;
        end = eq + strlen(eq);
        if (!infer__einsum_term(&s, end, lab, &n, &ell) || s != end)
            return infer__cfail(c, INFER_STATUS_SHAPE, "equation '%s': the output is not letters and one '...'", eq);
        for (i = 0; i < n; i++) {
            if (lab[i] < 0) {
                if (e->n_out + e->n_ell > INFER_MAX_DIMS) return infer__cfail(c, INFER_STATUS_SHAPE, "output rank too high");
                for (j = 0; j < e->n_ell; j++) e->out[e->n_out++] = 52 + j;
                continue;
            }
            if (!e->count[lab[i]]) return infer__cfail(c, INFER_STATUS_SHAPE, "equation '%s': an output label is in no input", eq);
            for (j = 0; j < e->n_out; j++)
                if (e->out[j] == lab[i]) return infer__cfail(c, INFER_STATUS_SHAPE, "equation '%s': an output label repeats", eq);
            if (e->n_out >= INFER_MAX_DIMS) return infer__cfail(c, INFER_STATUS_SHAPE, "output rank too high");
            e->out[e->n_out++] = lab[i];
        }
    } else { /* implicit: "..." dims, then the letters used once, in alphabetical (ASCII) order */
        static const char order[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        for (j = 0; j < e->n_ell; j++) e->out[e->n_out++] = 52 + j;
        for (i = 0; order[i]; i++) {
            l = infer__einsum_letter(order[i]);
            if (e->count[l] != 1) continue;
            if (e->n_out >= INFER_MAX_DIMS) return infer__cfail(c, INFER_STATUS_SHAPE, "output rank too high");
            e->out[e->n_out++] = l;
        }
    }
    return INFER_STATUS_OK;
}

static infer_status infer__shape_einsum(infer__ctx *c) {
    infer__einsum e;
    int64_t dims[INFER_MAX_DIMS], work = 1; /* output elements times summed terms */
    int i;
    infer_status st;
    if ((st = infer__einsum_parse(c, &e))) return st;
    for (i = 0; i < INFER__EINSUM_LABELS; i++) {
        if (!e.count[i] || !e.size[i]) continue;
        if (e.size[i] > ((int64_t)1 << 62) / work)
            return infer__cfail(c, INFER_STATUS_SHAPE, "equation '%s' asks for too much work", infer__attr_s(c->node, "equation", ""));
        work *= e.size[i];
    }
    for (i = 0; i < e.n_out; i++) dims[i] = e.size[e.out[i]];
    return infer__set_out(c, 0, c->in[0]->dtype, e.n_out, dims);
}

/* Det of the last two (square) dims; scratch: one matrix in double. */
static infer_status infer__shape_det(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int r = x->n_dims;
    size_t n;
    char b1[96];
    if (!INFER__IS_FLOAT(x->dtype)) return infer__bad_dtype(c, 0, "f32, f64");
    if (r < 2 || x->dims[r - 1] != x->dims[r - 2])
        return infer__cfail(c, INFER_STATUS_SHAPE, "input %s is not a (batch of) square matrices",
                            infer__dstr(b1, r, x->dims));
    if (!infer__dims_bytes(x->dims + r - 2, 2, INFER_DTYPE_F64, SIZE_MAX, &n, &c->scratch_bytes) ||
        c->scratch_bytes > c->max_bytes)
        return infer__cfail(c, INFER_STATUS_OUT_OF_MEMORY, "scratch for %lld x %lld matrices is over the session's "
                            "memory cap", (long long)x->dims[r - 1], (long long)x->dims[r - 1]);
    c->p->ax.len = x->dims[r - 1];
    return infer__set_out(c, 0, x->dtype, r - 2, x->dims);
}

static infer_status infer__shape_transpose(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t *perm = c->p->ix.a, dims[INFER_MAX_DIMS];
    int n = infer__attr_ints(c->node, "perm", perm, INFER_MAX_DIMS), i;
    unsigned seen = 0;
    if (n == -1) {
        n = x->n_dims;
        for (i = 0; i < n; i++) perm[i] = n - 1 - i;
    }
    if (n != x->n_dims) return infer__cfail(c, INFER_STATUS_SHAPE, "perm has %d values for rank %d", n, x->n_dims);
    for (i = 0; i < n; i++) {
        if (perm[i] < 0 || perm[i] >= n || (seen & (1u << perm[i])))
            return infer__cfail(c, INFER_STATUS_SHAPE, "perm is not a permutation of 0..%d", n - 1);
        seen |= 1u << perm[i];
        dims[i] = x->dims[perm[i]];
    }
    return infer__set_out(c, 0, x->dtype, n, dims);
}

static infer_status infer__shape_concat(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t axis, dims[INFER_MAX_DIMS];
    uint32_t k;
    int i;
    infer_status st;
    char b1[96], b2[96];
    if (!infer__attr_find(c->node, "axis")) return infer__cfail(c, INFER_STATUS_SHAPE, "attribute 'axis' is required");
    if (x->n_dims < 1) return infer__cfail(c, INFER_STATUS_SHAPE, "inputs must have rank >= 1");
    if ((st = infer__axis(c, infer__attr_i(c->node, "axis", 0), x->n_dims, &axis))) return st;
    memcpy(dims, x->dims, sizeof dims);
    dims[axis] = 0;
    for (k = 0; k < c->n_in; k++) {
        const infer__val *v = c->in[k];
        if (!v) return infer__cfail(c, INFER_STATUS_SHAPE, "input %u is absent", k);
        if (v->dtype != x->dtype || v->n_dims != x->n_dims)
            return infer__cfail(c, INFER_STATUS_SHAPE, "input %u (%s %s) differs in dtype or rank from input 0 (%s %s)", k,
                                infer_dtype_name(v->dtype), infer__dstr(b1, v->n_dims, v->dims),
                                infer_dtype_name(x->dtype), infer__dstr(b2, x->n_dims, x->dims));
        for (i = 0; i < x->n_dims; i++)
            if (i != axis && v->dims[i] != x->dims[i])
                return infer__cfail(c, INFER_STATUS_SHAPE, "input %u %s and input 0 %s differ off the axis %lld", k,
                                    infer__dstr(b1, v->n_dims, v->dims), infer__dstr(b2, x->n_dims, x->dims), (long long)axis);
        dims[axis] += v->dims[axis];
        if (dims[axis] > INFER_MAX_DIM_VALUE) return infer__cfail(c, INFER_STATUS_SHAPE, "output too large");
    }
    infer__split_axis(x, axis, &c->p->ax);
    return infer__set_out(c, 0, x->dtype, x->n_dims, dims);
}

static infer_status infer__shape_split(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t axis, dims[INFER_MAX_DIMS], sizes[INFER_MAX_NODE_IO], total = 0;
    int n = 0, i;
    int64_t num = infer__attr_i(c->node, "num_outputs", 0);
    infer_status st;
    if (x->n_dims < 1) return infer__cfail(c, INFER_STATUS_SHAPE, "input must have rank >= 1");
    if ((st = infer__axis(c, infer__attr_i(c->node, "axis", 0), x->n_dims, &axis))) return st;
    if (c->n_in > 1 && c->in[1]) {
        const infer__val *sv = c->in[1];
        if (sv->n > INFER_MAX_NODE_IO) return infer__cfail(c, INFER_STATUS_SHAPE, "too many split sizes");
        if ((st = infer__const_ints(c, 1, sizes, INFER_MAX_NODE_IO, &n))) return st;
        if ((uint32_t)n != c->n_out)
            return infer__cfail(c, INFER_STATUS_SHAPE, "%d split sizes for %u outputs", n, c->n_out);
        for (i = 0; i < n; i++) {
            if (sizes[i] < 0 || sizes[i] > INFER_MAX_DIM_VALUE) return infer__cfail(c, INFER_STATUS_SHAPE, "split size %lld < 0", (long long)sizes[i]);
            total += sizes[i];
        }
        if (total != x->dims[axis])
            return infer__cfail(c, INFER_STATUS_SHAPE, "split sizes sum to %lld, the axis has %lld", (long long)total,
                                (long long)x->dims[axis]);
    } else {
        int64_t chunk;
        if (num && num != (int64_t)c->n_out)
            return infer__cfail(c, INFER_STATUS_SHAPE, "num_outputs %lld but %u outputs", (long long)num, c->n_out);
        n = (int)c->n_out;
        if (!num && x->dims[axis] % n)
            return infer__cfail(c, INFER_STATUS_SHAPE, "axis of %lld does not split evenly into %d", (long long)x->dims[axis], n);
        chunk = (x->dims[axis] + n - 1) / n;
        for (i = 0; i < n; i++) sizes[i] = INFER__MAX(0, INFER__MIN(chunk, x->dims[axis] - chunk * i));
    }
    memcpy(dims, x->dims, sizeof dims);
    for (i = 0; i < n; i++) {
        dims[axis] = sizes[i];
        if ((st = infer__set_out(c, (uint32_t)i, x->dtype, x->n_dims, dims))) return st;
    }
    infer__split_axis(x, axis, &c->p->ax);
    return INFER_STATUS_OK;
}

static infer_status infer__shape_slice(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t starts[INFER_MAX_DIMS], ends[INFER_MAX_DIMS], axes[INFER_MAX_DIMS], steps[INFER_MAX_DIMS], dims[INFER_MAX_DIMS];
    int ns, ne, na = -1, nt = -1, i;
    unsigned seen = 0;
    infer_status st;
    infer__index_p *p = &c->p->ix;
    if ((st = infer__const_ints(c, 1, starts, INFER_MAX_DIMS, &ns))) return st;
    if ((st = infer__const_ints(c, 2, ends, INFER_MAX_DIMS, &ne))) return st;
    if (c->n_in > 3 && c->in[3] && (st = infer__const_ints(c, 3, axes, INFER_MAX_DIMS, &na))) return st;
    if (c->n_in > 4 && c->in[4] && (st = infer__const_ints(c, 4, steps, INFER_MAX_DIMS, &nt))) return st;
    if (ne != ns || (na >= 0 && na != ns) || (nt >= 0 && nt != ns))
        return infer__cfail(c, INFER_STATUS_SHAPE, "starts, ends, axes and steps differ in length");
    memcpy(dims, x->dims, sizeof dims);
    for (i = 0; i < x->n_dims; i++) p->a[i] = 0, p->b[i] = 1;
    for (i = 0; i < ns; i++) {
        int64_t a, d, s = nt >= 0 ? steps[i] : 1, b = starts[i], e = ends[i];
        if ((st = infer__axis(c, na >= 0 ? axes[i] : i, x->n_dims, &a))) return st;
        if (seen & (1u << a)) return infer__cfail(c, INFER_STATUS_SHAPE, "axis %lld is listed twice", (long long)a);
        seen |= 1u << a;
        if (s == 0) return infer__cfail(c, INFER_STATUS_SHAPE, "step 0 on axis %lld", (long long)a);
        d = x->dims[a];
        if (b < 0) b = b < -d ? -d - 1 : b + d; /* stays < 0 when far out; clamped below */
        if (e < 0) e = e < -d ? -d - 1 : e + d;
        /* ONNX Slice-13: clamp start into [0, d] for s > 0 and into [0, d-1] for s < 0,
           end into [0, d] or [-1, d-1]; counts in unsigned maths so no step overflows */
        if (s > 0) {
            b = INFER__MAX(0, INFER__MIN(b, d));
            e = INFER__MAX(0, INFER__MIN(e, d));
            dims[a] = e > b ? (int64_t)(1 + (uint64_t)(e - b - 1) / (uint64_t)s) : 0;
        } else {
            b = INFER__MAX(0, INFER__MIN(b, d - 1));
            e = INFER__MAX(-1, INFER__MIN(e, d - 1));
            dims[a] = d > 0 && b > e ? (int64_t)(1 + (uint64_t)(b - e - 1) / (0 - (uint64_t)s)) : 0;
        }
        p->a[a] = b;
        p->b[a] = dims[a] > 1 ? s : 1; /* with one element the step is unused (and may be huge) */
    }
    return infer__set_out(c, 0, x->dtype, x->n_dims, dims);
}

static infer_status infer__shape_gather(infer__ctx *c) {
    const infer__val *x = c->in[0], *ix = c->in[1];
    int64_t axis, dims[INFER_MAX_DIMS];
    int i, r = 0;
    infer_status st;
    if (ix->dtype != INFER_DTYPE_I64 && ix->dtype != INFER_DTYPE_I32) return infer__bad_dtype(c, 1, "i64, i32");
    if (x->n_dims < 1) return infer__cfail(c, INFER_STATUS_SHAPE, "data must have rank >= 1");
    if ((st = infer__axis(c, infer__attr_i(c->node, "axis", 0), x->n_dims, &axis))) return st;
    if (x->n_dims - 1 + ix->n_dims > INFER_MAX_DIMS) return infer__cfail(c, INFER_STATUS_SHAPE, "output rank over the maximum");
    for (i = 0; i < axis; i++) dims[r++] = x->dims[i];
    for (i = 0; i < ix->n_dims; i++) dims[r++] = ix->dims[i];
    for (i = (int)axis + 1; i < x->n_dims; i++) dims[r++] = x->dims[i];
    infer__split_axis(x, axis, &c->p->ax);
    return infer__set_out(c, 0, x->dtype, r, dims);
}

static infer_status infer__shape_expand(infer__ctx *c) {
    infer__val shape;
    infer__val *two[2];
    int64_t dims[INFER_MAX_DIMS];
    int n, r;
    infer_status st;
    memset(&shape, 0, sizeof shape);
    if ((st = infer__const_ints(c, 1, shape.dims, INFER_MAX_DIMS, &n))) return st;
    shape.n_dims = n;
    two[0] = c->in[0];
    two[1] = &shape;
    if ((st = infer__broadcast(c, 2, two, &r, dims))) return st;
    return infer__set_out(c, 0, c->in[0]->dtype, r, dims);
}

static infer_status infer__shape_tile(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t rep[INFER_MAX_DIMS], dims[INFER_MAX_DIMS];
    int n, i;
    infer_status st;
    if ((st = infer__const_ints(c, 1, rep, INFER_MAX_DIMS, &n))) return st;
    if (n != x->n_dims) return infer__cfail(c, INFER_STATUS_SHAPE, "%d repeats for rank %d", n, x->n_dims);
    for (i = 0; i < n; i++) {
        if (rep[i] < 0 || rep[i] > INFER_MAX_DIM_VALUE || (rep[i] && x->dims[i] > INFER_MAX_DIM_VALUE / rep[i]))
            return infer__cfail(c, INFER_STATUS_SHAPE, "repeat %lld on axis %d", (long long)rep[i], i);
        dims[i] = x->dims[i] * rep[i];
    }
    return infer__set_out(c, 0, x->dtype, n, dims);
}

static infer_status infer__shape_pad(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t pads[2 * INFER_MAX_DIMS], axes[INFER_MAX_DIMS], dims[INFER_MAX_DIMS], a;
    int np, na = -1, i, n_ax;
    const char *mode = infer__attr_s(c->node, "mode", "constant");
    infer__index_p *p = &c->p->ix;
    infer_status st;
    if (!strcmp(mode, "constant")) p->mode = 0;
    else if (!strcmp(mode, "reflect")) p->mode = 1;
    else if (!strcmp(mode, "edge")) p->mode = 2;
    else if (!strcmp(mode, "wrap")) p->mode = 3;
    else return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "mode '%s'; supported: constant, reflect, edge, wrap", mode);
    if ((st = infer__const_ints(c, 1, pads, 2 * INFER_MAX_DIMS, &np))) return st;
    if (c->n_in > 3 && c->in[3] && (st = infer__const_ints(c, 3, axes, INFER_MAX_DIMS, &na))) return st;
    if (c->n_in > 2 && c->in[2] && (c->in[2]->dtype != x->dtype || c->in[2]->n > 1))
        return infer__cfail(c, INFER_STATUS_SHAPE, "constant_value must be a scalar of the input's dtype");
    n_ax = na >= 0 ? na : x->n_dims;
    if (np != 2 * n_ax) return infer__cfail(c, INFER_STATUS_SHAPE, "%d pads for %d axes", np, n_ax);
    memcpy(dims, x->dims, sizeof dims);
    for (i = 0; i < x->n_dims; i++) p->a[i] = 0;
    for (i = 0; i < n_ax; i++) {
        if ((st = infer__axis(c, na >= 0 ? axes[i] : i, x->n_dims, &a))) return st;
        if (pads[i] < -INFER_MAX_DIM_VALUE || pads[i] > INFER_MAX_DIM_VALUE || pads[i + n_ax] < -INFER_MAX_DIM_VALUE ||
            pads[i + n_ax] > INFER_MAX_DIM_VALUE)
            return infer__cfail(c, INFER_STATUS_SHAPE, "pad on axis %lld is out of range", (long long)a);
        p->a[a] = pads[i];
        dims[a] = x->dims[a] + pads[i] + pads[i + n_ax];
        if (dims[a] < 0) return infer__cfail(c, INFER_STATUS_SHAPE, "negative pads remove more than axis %lld has", (long long)a);
        if (p->mode && x->dims[a] == 0 && dims[a] > 0)
            return infer__cfail(c, INFER_STATUS_SHAPE, "cannot %s-pad the empty axis %lld", mode, (long long)a);
    }
    return infer__set_out(c, 0, x->dtype, x->n_dims, dims);
}

enum { INFER__COORD_HALF_PIXEL, INFER__COORD_HALF_PIXEL_SYMMETRIC, INFER__COORD_PYTORCH_HALF_PIXEL,
       INFER__COORD_ALIGN_CORNERS, INFER__COORD_ASYMMETRIC, INFER__COORD_TF_CROP_AND_RESIZE };

/* index of s in the space-separated list, or -1 */
static int infer__pick(const char *s, const char *list) {
    int i = 0;
    size_t n = strlen(s);
    while (*list) {
        const char *end = strchr(list, ' ');
        size_t len = end ? (size_t)(end - list) : strlen(list);
        if (len == n && !memcmp(list, s, n)) return i;
        if (!end) break;
        list = end + 1;
        i++;
    }
    return -1;
}

static infer_status infer__const_floats(infer__ctx *c, uint32_t k, double *v, int max, int *n) {
    const infer__val *x = c->in[k];
    size_t i;
    if (!x->data || x->kind != INFER__VAL_CONST)
        return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "input %u must be known when the session is created", k);
    if (!INFER__IS_FLOAT(x->dtype)) return infer__bad_dtype(c, k, "f32, f64");
    if (x->n > (size_t)max) return infer__cfail(c, INFER_STATUS_SHAPE, "input %u has %zu values, more than %d", k, x->n, max);
    for (i = 0; i < x->n; i++)
        v[i] = x->dtype == INFER_DTYPE_F32 ? (double)((const float *)x->data)[i] : ((const double *)x->data)[i];
    *n = (int)x->n;
    return INFER_STATUS_OK;
}

static infer_status infer__shape_resize(infer__ctx *c) {
    const infer__val *x = c->in[0];
    const infer__node *nd = c->node;
    infer__resize_p *p = &c->p->rs;
    int64_t axes[INFER_MAX_DIMS], sizes[INFER_MAX_DIMS], dims[INFER_MAX_DIMS];
    double scales[INFER_MAX_DIMS], roi[2 * INFER_MAX_DIMS];
    int na, ns = 0, nz = 0, nr = 0, i, r = x->n_dims, policy;
    infer_status st;
    if (!INFER__IS_FLOAT(x->dtype)) return infer__bad_dtype(c, 0, "f32, f64");
    if (infer__attr_i(nd, "antialias", 0)) return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "antialias=1 is not supported");
    p->mode = infer__pick(infer__attr_s(nd, "mode", "nearest"), "nearest linear cubic");
    p->coord = infer__pick(infer__attr_s(nd, "coordinate_transformation_mode", "half_pixel"),
                           "half_pixel half_pixel_symmetric pytorch_half_pixel align_corners asymmetric tf_crop_and_resize");
    p->nearest = infer__pick(infer__attr_s(nd, "nearest_mode", "round_prefer_floor"), "round_prefer_floor round_prefer_ceil floor ceil");
    policy = infer__pick(infer__attr_s(nd, "keep_aspect_ratio_policy", "stretch"), "stretch not_larger not_smaller");
    if (p->mode < 0 || p->coord < 0 || p->nearest < 0 || policy < 0)
        return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "unknown mode, coordinate_transformation_mode, nearest_mode or "
                            "keep_aspect_ratio_policy");
    p->cubic_a = infer__attr_f(nd, "cubic_coeff_a", -0.75f);
    p->exclude_outside = infer__attr_i(nd, "exclude_outside", 0) != 0;
    p->extrapolation = infer__attr_f(nd, "extrapolation_value", 0.0f);
    na = infer__attr_ints(nd, "axes", axes, INFER_MAX_DIMS);
    if (na == -2) return infer__cfail(c, INFER_STATUS_SHAPE, "too many axes");
    if (na < 0) {
        na = r;
        for (i = 0; i < r; i++) axes[i] = i;
    }
    for (i = 0; i < na; i++) {
        int64_t a;
        if ((st = infer__axis(c, axes[i], r, &a))) return st;
        axes[i] = a;
    }
    if (c->n_in > 2 && c->in[2] && (st = infer__const_floats(c, 2, scales, INFER_MAX_DIMS, &ns))) return st;
    if (c->n_in > 3 && c->in[3] && (st = infer__const_ints(c, 3, sizes, INFER_MAX_DIMS, &nz))) return st;
    if ((ns > 0) == (nz > 0)) return infer__cfail(c, INFER_STATUS_SHAPE, "exactly one of scales and sizes must be given");
    if ((ns && ns != na) || (nz && nz != na))
        return infer__cfail(c, INFER_STATUS_SHAPE, "scales/sizes have %d values for %d axes", ns ? ns : nz, na);
    for (i = 0; i < r; i++) p->scale[i] = 1.0, p->roi_start[i] = 0.0, p->roi_end[i] = 1.0, dims[i] = x->dims[i];
    if (p->coord == INFER__COORD_TF_CROP_AND_RESIZE) {
        if (c->n_in < 2 || !c->in[1]) return infer__cfail(c, INFER_STATUS_SHAPE, "tf_crop_and_resize needs roi");
        if ((st = infer__const_floats(c, 1, roi, 2 * INFER_MAX_DIMS, &nr))) return st;
        if (nr != 2 * na) return infer__cfail(c, INFER_STATUS_SHAPE, "roi has %d values for %d axes", nr, na);
        for (i = 0; i < na; i++) p->roi_start[axes[i]] = roi[i], p->roi_end[axes[i]] = roi[i + na];
    }
    if (ns) {
        for (i = 0; i < na; i++) {
            int64_t a = axes[i];
            double o = floor((double)x->dims[a] * (p->roi_end[a] - p->roi_start[a]) * scales[i]);
            if (!(scales[i] > 0) || !(o >= 0 && o <= (double)INFER_MAX_DIM_VALUE))
                return infer__cfail(c, INFER_STATUS_SHAPE, "scale %g on axis %lld", scales[i], (long long)a);
            p->scale[a] = scales[i];
            p->len[a] = (double)x->dims[a] * scales[i];
            dims[a] = (int64_t)o;
        }
    } else {
        double s = policy == 1 ? 1e300 : 0.0;
        for (i = 0; i < na; i++) {
            if (sizes[i] < 0 || sizes[i] > INFER_MAX_DIM_VALUE) return infer__cfail(c, INFER_STATUS_SHAPE, "size %lld", (long long)sizes[i]);
            if (x->dims[axes[i]] == 0) return infer__cfail(c, INFER_STATUS_SHAPE, "cannot resize an empty axis");
            if (policy == 1) s = INFER__MIN(s, (double)sizes[i] / (double)x->dims[axes[i]]);
            if (policy == 2) s = INFER__MAX(s, (double)sizes[i] / (double)x->dims[axes[i]]);
        }
        for (i = 0; i < na; i++) {
            int64_t a = axes[i];
            if (policy) {
                dims[a] = (int64_t)floor(s * (double)x->dims[a] + 0.5);
                p->scale[a] = s;
            } else {
                dims[a] = sizes[i];
                p->scale[a] = (double)sizes[i] / (double)x->dims[a];
            }
        }
    }
    for (i = 0; i < r; i++)
        if (!ns || p->len[i] == 0) p->len[i] = (double)dims[i]; /* sizes given, or an axis not resized */
    for (i = 0; i < r; i++)
        if (dims[i] > 0 && x->dims[i] == 0) return infer__cfail(c, INFER_STATUS_SHAPE, "cannot resize an empty axis");
    /* scratch: per axis, per output index, two source indices and two weights (4 for cubic) */
    c->scratch_bytes = 0;
    for (i = 0; i < r; i++) c->scratch_bytes += (size_t)dims[i] * 4 * (sizeof(int64_t) + sizeof(double));
    return infer__set_out(c, 0, x->dtype, r, dims);
}

/* Cast and CastLike: 'saturate' and 'round_mode' into c->p->cast_mode. */
static infer_status infer__cast_attrs(infer__ctx *c) {
    const char *rm = infer__attr_s(c->node, "round_mode", "up");
    c->p->cast_mode = infer__attr_i(c->node, "saturate", 1) ? INFER__CAST_SATURATE : 0;
    if (!strcmp(rm, "down")) c->p->cast_mode |= INFER__CAST_DOWN;
    else if (!strcmp(rm, "nearest")) c->p->cast_mode |= INFER__CAST_NEAREST;
    else if (strcmp(rm, "up"))
        return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "round_mode '%s' is not up, down or nearest", rm);
    return INFER_STATUS_OK;
}

static infer_status infer__shape_cast(infer__ctx *c) {
    int64_t to = infer__attr_i(c->node, "to", 0);
    infer_dtype t = c->in[0]->dtype;
    infer_status st;
    if (!infer__attr_find(c->node, "to")) return infer__cfail(c, INFER_STATUS_SHAPE, "attribute 'to' is required");
    if (to <= 0 || to >= INFER_DTYPE_COUNT) return infer__cfail(c, INFER_STATUS_SHAPE, "'to' = %lld is not a dtype", (long long)to);
    (void)t;
    if ((st = infer__cast_attrs(c)) != INFER_STATUS_OK) return st;
    return infer__set_out(c, 0, (infer_dtype)to, c->in[0]->n_dims, c->in[0]->dims);
}

/* CastLike(x, like): Cast to like's dtype (only its dtype is used). */
static infer_status infer__shape_cast_like(infer__ctx *c) {
    infer_status st = infer__cast_attrs(c);
    if (st != INFER_STATUS_OK) return st;
    return infer__set_out(c, 0, c->in[1]->dtype, c->in[0]->n_dims, c->in[0]->dims);
}

static infer_status infer__shape_shape(infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t r = x->n_dims, dim;
    infer__axis_p *p = &c->p->ax;
    if (c->node->op == INFER__OP_SIZE) return infer__set_out(c, 0, INFER_DTYPE_I64, 0, NULL);
    p->outer = infer__attr_i(c->node, "start", 0);
    p->inner = infer__attr_i(c->node, "end", r);
    if (p->outer < 0) p->outer += r;
    if (p->inner < 0) p->inner += r;
    p->outer = INFER__MAX(0, INFER__MIN(p->outer, r));
    p->inner = INFER__MAX(0, INFER__MIN(p->inner, r));
    dim = INFER__MAX(0, p->inner - p->outer);
    return infer__set_out(c, 0, INFER_DTYPE_I64, 1, &dim);
}
static infer_status infer__shape_size(infer__ctx *c) { return infer__shape_shape(c); }

static infer_status infer__shape_constant_of_shape(infer__ctx *c) {
    const infer__attr *a = infer__attr_find(c->node, "value");
    int64_t dims[INFER_MAX_DIMS];
    int n, i;
    infer_dtype t = INFER_DTYPE_F32;
    infer_status st;
    if ((st = infer__const_ints(c, 0, dims, INFER_MAX_DIMS, &n))) return st;
    for (i = 0; i < n; i++)
        if (dims[i] < 0) return infer__cfail(c, INFER_STATUS_SHAPE, "dim %d is %lld", i, (long long)dims[i]);
    if (a) {
        const infer__tensor *vt = &c->m->tensors[a->t];
        size_t cnt = 1;
        for (i = 0; i < vt->n_dims; i++) cnt *= (size_t)vt->dims[i];
        if (cnt != 1) return infer__cfail(c, INFER_STATUS_SHAPE, "'value' must hold one element");
        t = vt->dtype;
    }
    return infer__set_out(c, 0, t, n, dims);
}

static double infer__scalar(const infer__val *v) {
    switch (v->dtype) {
    case INFER_DTYPE_F32: return ((const float *)v->data)[0];
    case INFER_DTYPE_F64: return ((const double *)v->data)[0];
    case INFER_DTYPE_I16: return ((const int16_t *)v->data)[0];
    case INFER_DTYPE_I32: return ((const int32_t *)v->data)[0];
    case INFER_DTYPE_I64: return (double)((const int64_t *)v->data)[0];
    default: return 0;
    }
}

static infer_status infer__shape_range(infer__ctx *c) {
    uint32_t k;
    double start, limit, delta, n;
    int64_t dim;
    infer_dtype t = c->in[0]->dtype;
    if (t != INFER_DTYPE_F32 && t != INFER_DTYPE_F64 && t != INFER_DTYPE_I16 && t != INFER_DTYPE_I32 && t != INFER_DTYPE_I64)
        return infer__bad_dtype(c, 0, "f32, f64, i16, i32, i64");
    for (k = 0; k < 3; k++) {
        if (c->in[k]->dtype != t || c->in[k]->n != 1)
            return infer__cfail(c, INFER_STATUS_SHAPE, "start, limit and delta must be scalars of one dtype");
        if (!c->in[k]->data || c->in[k]->kind != INFER__VAL_CONST)
            return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "input %u sets the output shape, so it must be known when the "
                                "session is created", k);
    }
    start = infer__scalar(c->in[0]);
    limit = infer__scalar(c->in[1]);
    delta = infer__scalar(c->in[2]);
    if (delta == 0) return infer__cfail(c, INFER_STATUS_SHAPE, "delta is 0");
    n = ceil((limit - start) / delta);
    if (!(n <= (double)INFER_MAX_DIM_VALUE)) return infer__cfail(c, INFER_STATUS_SHAPE, "range too long");
    dim = n > 0 ? (int64_t)n : 0;
    return infer__set_out(c, 0, t, 1, &dim);
}

/* -- recurrent: LSTM, GRU, RNN -- */

/* Gate activations of LSTM/GRU, as ONNX names them (matched without regard to case). */
enum {
    INFER__RNN_ACT_SIGMOID, INFER__RNN_ACT_TANH, INFER__RNN_ACT_RELU, INFER__RNN_ACT_AFFINE,
    INFER__RNN_ACT_LEAKY_RELU, INFER__RNN_ACT_THRESHOLDED_RELU, INFER__RNN_ACT_SCALED_TANH,
    INFER__RNN_ACT_HARD_SIGMOID, INFER__RNN_ACT_ELU, INFER__RNN_ACT_SOFTSIGN, INFER__RNN_ACT_SOFTPLUS,
    INFER__RNN_ACT_COUNT
};
static const struct {
    const char *name;
    int uses;            /* 1: takes an alpha, 2: takes a beta */
    float alpha, beta;   /* defaults */
} infer__rnn_acts[INFER__RNN_ACT_COUNT] = {
    {"Sigmoid", 0, 0, 0},        {"Tanh", 0, 0, 0},          {"Relu", 0, 0, 0},
    {"Affine", 3, 1.0f, 0.0f},   {"LeakyRelu", 1, 0.01f, 0}, {"ThresholdedRelu", 1, 1.0f, 0},
    {"ScaledTanh", 3, 1.0f, 1.0f}, {"HardSigmoid", 3, 0.2f, 0.5f}, {"Elu", 1, 1.0f, 0},
    {"Softsign", 0, 0, 0},       {"Softplus", 0, 0, 0},
};

/* The activation named by s[0..len), or -1. */
static int infer__rnn_act_find(const char *s, size_t len) {
    int a;
    size_t i;
    for (a = 0; a < INFER__RNN_ACT_COUNT; a++) {
        const char *nm = infer__rnn_acts[a].name;
        for (i = 0; i < len && nm[i]; i++) {
            char ch = s[i], cn = nm[i];
            if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
            if (cn >= 'A' && cn <= 'Z') cn = (char)(cn - 'A' + 'a');
            if (ch != cn) break;
        }
        if (i == len && !nm[i]) return a;
    }
    return -1;
}

/* sequence_lens[b] (input 4; absent: every sequence is full), checked against the sequence length. */
static infer_status infer__rnn_len(const infer__ctx *c, int64_t b, int64_t *len) {
    const infer__val *v = c->n_in > 4 ? c->in[4] : NULL;
    int64_t l;
    *len = c->p->rnn.seq;
    if (!v) return INFER_STATUS_OK;
    l = v->dtype == INFER_DTYPE_I64 ? ((const int64_t *)v->data)[b] : (int64_t)((const int32_t *)v->data)[b];
    if (l < 0 || l > c->p->rnn.seq)
        return infer__cfail(c, INFER_STATUS_INVALID_ARGUMENT, "sequence_lens[%lld] = %lld is outside [0, %lld]",
                            (long long)b, (long long)l, (long long)c->p->rnn.seq);
    *len = l;
    return INFER_STATUS_OK;
}

/* Checks that optional input k, when present, has dims want[n]. */
static infer_status infer__rnn_dims(infer__ctx *c, uint32_t k, const char *what, int n, const int64_t *want) {
    const infer__val *v = k < c->n_in ? c->in[k] : NULL;
    char b1[96], b2[96];
    if (!v) return INFER_STATUS_OK;
    if (v->n_dims != n || memcmp(v->dims, want, sizeof(int64_t) * (size_t)n) != 0)
        return infer__cfail(c, INFER_STATUS_SHAPE, "input %u (%s) is %s; expected %s", k, what,
                            infer__dstr(b1, v->n_dims, v->dims), infer__dstr(b2, n, want));
    return INFER_STATUS_OK;
}

/* LSTM (gates i o f c), GRU (gates z r h) and RNN (one gate); the attributes the converter writes:
   direction:s forward|reverse|bidirectional; hidden_size:i (absent: R's last dim); layout:i;
   clip:f; input_forget:i (LSTM: f = 1 - i); linear_before_reset:i (GRU);
   activations:s as one comma-separated list, e.g. "Sigmoid,Tanh,Tanh" (LSTM: f g h, GRU: f g,
   RNN: f, per direction, forward first); activation_alpha:F / activation_beta:F consumed in that order
   by the functions that take one (Affine LeakyRelu ThresholdedRelu ScaledTanh HardSigmoid Elu
   take alpha; Affine ScaledTanh HardSigmoid take beta); a missing one takes the ONNX default. */
static infer_status infer__shape_rnn(infer__ctx *c) {
    static const char *const what[8] = {"X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"};
    const infer__node *n = c->node;
    infer__rnn_p *p = &c->p->rnn;
    const infer__val *x = c->in[0], *r = c->in[2];
    const char *dir = infer__attr_s(n, "direction", "forward"), *acts = infer__attr_s(n, "activations", NULL);
    const infer__attr *aa = infer__attr_find(n, "activation_alpha"), *ab = infer__attr_find(n, "activation_beta");
    int lstm = n->op == INFER__OP_LSTM, rnn = n->op == INFER__OP_RNN, i, n_total;
    int64_t g = lstm ? 4 : rnn ? 1 : 3, h, d, dims[4], hs[3], len;
    size_t ia = 0, ib = 0, n1, n2, sz1, sz2;
    uint32_t k;
    infer_status s;
    for (k = 0; k < c->n_in; k++)
        if (c->in[k] && k != 4 && c->in[k]->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, k, "f32");
    if (c->n_in > 4 && c->in[4] && c->in[4]->dtype != INFER_DTYPE_I32 && c->in[4]->dtype != INFER_DTYPE_I64)
        return infer__bad_dtype(c, 4, "i32, i64");
    if (!strcmp(dir, "forward")) p->n_dir = 1, p->reverse = 0;
    else if (!strcmp(dir, "reverse")) p->n_dir = 1, p->reverse = 1;
    else if (!strcmp(dir, "bidirectional")) p->n_dir = 2, p->reverse = 0;
    else
        return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "direction='%s'; supported: forward, reverse, bidirectional",
                            dir);
    p->layout = (int)infer__attr_i(n, "layout", 0);
    if (p->layout != 0 && p->layout != 1)
        return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "layout=%lld; supported: 0, 1",
                            (long long)infer__attr_i(n, "layout", 0));
    if (x->n_dims != 3 || c->in[1]->n_dims != 3 || r->n_dims != 3)
        return infer__cfail(c, INFER_STATUS_SHAPE, "X, W and R must be 3-D");
    p->seq = x->dims[p->layout ? 1 : 0];
    p->batch = x->dims[p->layout ? 0 : 1];
    p->input = x->dims[2];
    h = p->hidden = infer__attr_i(n, "hidden_size", r->dims[2]);
    if (h < 1 || h > INFER_MAX_DIM_VALUE)
        return infer__cfail(c, INFER_STATUS_SHAPE, "hidden_size %lld must be >= 1", (long long)h);
    d = p->n_dir;
    dims[0] = d, dims[1] = g * h, dims[2] = p->input;
    if ((s = infer__rnn_dims(c, 1, what[1], 3, dims))) return s;
    dims[2] = h;
    if ((s = infer__rnn_dims(c, 2, what[2], 3, dims))) return s;
    dims[1] = 2 * g * h;
    if ((s = infer__rnn_dims(c, 3, what[3], 2, dims))) return s;
    if ((s = infer__rnn_dims(c, 4, what[4], 1, &p->batch))) return s;
    hs[0] = p->layout ? p->batch : d, hs[1] = p->layout ? d : p->batch, hs[2] = h;
    for (k = 5; k < 7; k++)
        if ((s = infer__rnn_dims(c, k, what[k], 3, hs))) return s;
    dims[1] = 3 * h;
    if ((s = infer__rnn_dims(c, 7, what[7], 2, dims))) return s;
    p->flag = infer__attr_i(n, lstm ? "input_forget" : "linear_before_reset", 0) != 0;
    p->clip = 0;
    if (infer__attr_find(n, "clip")) {
        p->clip = infer__attr_f(n, "clip", 0);
        if (!(p->clip > 0)) return infer__cfail(c, INFER_STATUS_SHAPE, "clip %g must be > 0", (double)p->clip);
    }
    /* activations: per direction f g (h) */
    p->n_act = lstm ? 3 : rnn ? 1 : 2;
    n_total = p->n_act * p->n_dir;
    for (i = 0; i < n_total; i++) p->act[i] = rnn || i % p->n_act ? INFER__RNN_ACT_TANH : INFER__RNN_ACT_SIGMOID;
    if (acts) {
        const char *q = acts;
        for (i = 0;; i++) {
            const char *e = strchr(q, ',');
            size_t l = e ? (size_t)(e - q) : strlen(q);
            int a;
            while (l && *q == ' ') q++, l--;
            while (l && q[l - 1] == ' ') l--;
            a = infer__rnn_act_find(q, l);
            if (a < 0)
                return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "activation '%.*s' is not supported; supported: "
                                    "Sigmoid Tanh Relu Affine LeakyRelu ThresholdedRelu ScaledTanh HardSigmoid Elu "
                                    "Softsign Softplus", (int)INFER__MIN(l, 64), q);
            if (i < n_total) p->act[i] = a;
            if (!e) break;
            q = e + 1;
        }
        if (i + 1 != n_total)
            return infer__cfail(c, INFER_STATUS_SHAPE, "activations lists %d functions; %s takes %d ('%s')", i + 1,
                                infer__ops[n->op].name, n_total, dir);
    }
    for (i = 0; i < n_total; i++) {
        int a = p->act[i];
        float v;
        p->alpha[i] = infer__rnn_acts[a].alpha;
        p->beta[i] = infer__rnn_acts[a].beta;
        if ((infer__rnn_acts[a].uses & 1) && aa && ia < aa->n) {
            uint32_t bits = infer__rd32(aa->arr + 4 * ia++);
            memcpy(&v, &bits, 4);
            p->alpha[i] = v;
        }
        if ((infer__rnn_acts[a].uses & 2) && ab && ib < ab->n) {
            uint32_t bits = infer__rd32(ab->arr + 4 * ib++);
            memcpy(&v, &bits, 4);
            p->beta[i] = v;
        }
    }
    /* a constant sequence_lens is checked now */
    if (c->n_in > 4 && c->in[4] && c->in[4]->kind == INFER__VAL_CONST && c->in[4]->data)
        for (dims[0] = 0; dims[0] < p->batch; dims[0]++)
            if ((s = infer__rnn_len(c, dims[0], &len))) return s;
    /* scratch, in doubles: X.W^T + biases [dir][seq*batch][g*h], then per (dir, batch) job
       the recurrent gates [g*h] and h, c, tmp [h] each */
    dims[0] = d, dims[1] = p->seq, dims[2] = p->batch, dims[3] = g * h;
    hs[0] = d, hs[1] = p->batch, hs[2] = (g + 3) * h;
    if (!infer__dims_bytes(dims, 4, INFER_DTYPE_F64, SIZE_MAX, &n1, &sz1) ||
        !infer__dims_bytes(hs, 3, INFER_DTYPE_F64, SIZE_MAX, &n2, &sz2) || !infer__add(sz1, sz2, &sz1) ||
        sz1 > c->max_bytes)
        return infer__cfail(c, INFER_STATUS_OUT_OF_MEMORY, "scratch for seq %lld, batch %lld, hidden %lld is over the "
                            "session's memory cap", (long long)p->seq, (long long)p->batch, (long long)h);
    c->scratch_bytes = sz1;
    /* outputs: Y, Y_h (, Y_c) */
    if (p->layout) dims[0] = p->batch, dims[1] = p->seq, dims[2] = d;
    else dims[0] = p->seq, dims[1] = d, dims[2] = p->batch;
    dims[3] = h;
    hs[0] = p->layout ? p->batch : d, hs[1] = p->layout ? d : p->batch, hs[2] = h;
    if ((s = infer__set_out(c, 0, INFER_DTYPE_F32, 4, dims))) return s;
    if ((s = infer__set_out(c, 1, INFER_DTYPE_F32, 3, hs))) return s;
    return infer__set_out(c, 2, INFER_DTYPE_F32, 3, hs);
}

/* -- quantization -- */

/* The dtypes QuantizeLinear writes and DequantizeLinear reads (besides i32). */
static int infer__quant_type(infer_dtype t) {
    return t == INFER_DTYPE_U8 || t == INFER_DTYPE_I8 || t == INFER_DTYPE_U16 || t == INFER_DTYPE_I16 ||
           (t >= INFER_DTYPE_F8E4M3FN && t <= INFER_DTYPE_I2 && t != INFER_DTYPE_F8E8M0); /* the small types */
}
static int infer__half_or_f32(infer_dtype t) {
    return t == INFER_DTYPE_F32 || t == INFER_DTYPE_F16 || t == INFER_DTYPE_BF16;
}

/* QuantizeLinear y = saturate(round_half_even(x / scale) + zero_point) and DequantizeLinear
   y = (x - zero_point) * scale (ONNX opset 25), with one scale and zero point per tensor
   (one value), per axis (1-D, one per index along axis) or per block (the rank of x; along
   axis ceil(len / block_size) values, each for block_size consecutive indices). */
static infer_status infer__shape_quantize_linear(infer__ctx *c) {
    const infer__val *x = c->in[0], *sc = c->in[1], *zp = c->n_in > 2 ? c->in[2] : NULL;
    infer__quant_p *p = &c->p->q;
    int quant = c->node->op == INFER__OP_QUANTIZE_LINEAR, i;
    int64_t axis = 0, block = infer__attr_i(c->node, "block_size", 0), odt = infer__attr_i(c->node, "output_dtype", 0);
    int64_t prec = infer__attr_i(c->node, "precision", 0);
    infer_dtype yt;
    char b1[96], b2[96];
    infer_status st;
    memset(p, 0, sizeof *p);
    if (!infer__half_or_f32(sc->dtype)) return infer__bad_dtype(c, 1, "f32, f16, bf16");
    if (zp && !(zp->n == 1 && sc->n == 1) && (zp->n_dims != sc->n_dims || (sc->n_dims && memcmp(zp->dims, sc->dims, sizeof(int64_t) * (size_t)sc->n_dims))))
        return infer__cfail(c, INFER_STATUS_SHAPE, "zero point %s and scale %s differ in shape",
                            infer__dstr(b1, zp->n_dims, zp->dims), infer__dstr(b2, sc->n_dims, sc->dims));
    if (odt < 0 || odt >= INFER_DTYPE_COUNT || prec < 0 || prec >= INFER_DTYPE_COUNT)
        return infer__cfail(c, INFER_STATUS_SHAPE, "output_dtype or precision is not a dtype");
    if (quant) {
        if (!infer__half_or_f32(x->dtype) && x->dtype != INFER_DTYPE_I32) return infer__bad_dtype(c, 0, "f32, f16, bf16, i32");
        if (zp && odt && (infer_dtype)odt != zp->dtype)
            return infer__cfail(c, INFER_STATUS_SHAPE, "output_dtype %s differs from the zero point's %s",
                                infer_dtype_name((infer_dtype)odt), infer_dtype_name(zp->dtype));
        yt = zp ? zp->dtype : odt ? (infer_dtype)odt : INFER_DTYPE_U8;
        if (!infer__quant_type(yt))
            return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "quantizing to %s; supported: u8 i8 u16 i16 u4 i4 u2 i2, "
                                "the float8 types and f4e2m1", infer_dtype_name(yt));
        if (prec && !infer__half_or_f32((infer_dtype)prec))
            return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "precision %s; supported: f32, f16, bf16",
                                infer_dtype_name((infer_dtype)prec));
        /* the dtype numpy divides in: the precision given, else the inputs' promoted type */
        p->precision = prec ? (infer_dtype)prec : x->dtype == INFER_DTYPE_I32 ? INFER_DTYPE_F64
                     : x->dtype == sc->dtype ? x->dtype : INFER_DTYPE_F32;
        p->saturate = infer__attr_i(c->node, "saturate", 1) != 0;
    } else {
        if (!infer__quant_type(x->dtype) && x->dtype != INFER_DTYPE_I32)
            return infer__bad_dtype(c, 0, "u8 i8 u16 i16 i32 u4 i4 u2 i2, the float8 types, f4e2m1");
        if (zp && zp->dtype != x->dtype)
            return infer__cfail(c, INFER_STATUS_SHAPE, "zero point %s differs from x %s", infer_dtype_name(zp->dtype),
                                infer_dtype_name(x->dtype));
        yt = odt ? (infer_dtype)odt : sc->dtype;
        if (!infer__half_or_f32(yt))
            return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "output_dtype %s; supported: f32, f16, bf16", infer_dtype_name(yt));
    }
    p->outer = 1, p->len = (int64_t)x->n, p->inner = 1, p->block = 1;
    if (sc->n != 1) { /* one scale per axis index or per block */
        if (x->n_dims < 1) return infer__cfail(c, INFER_STATUS_SHAPE, "x is a scalar but scale has %zu values", sc->n);
        if ((st = infer__axis(c, infer__attr_i(c->node, "axis", 1), x->n_dims, &axis))) return st;
        p->outer = infer__prod(x->dims, 0, (int)axis);
        p->len = x->dims[axis];
        p->inner = infer__prod(x->dims, (int)axis + 1, x->n_dims);
        if (block < 0) return infer__cfail(c, INFER_STATUS_SHAPE, "block_size %lld < 0", (long long)block);
        if (!block) {
            if (sc->n_dims != 1 || sc->dims[0] != p->len)
                return infer__cfail(c, INFER_STATUS_SHAPE, "per-axis scale %s: want [%lld] (x %s, axis %lld)",
                                    infer__dstr(b1, sc->n_dims, sc->dims), (long long)p->len,
                                    infer__dstr(b2, x->n_dims, x->dims), (long long)axis);
            p->sl = 1;
        } else {
            int ok = sc->n_dims == x->n_dims;
            for (i = 0; ok && i < x->n_dims; i++)
                ok = sc->dims[i] == (i == axis ? (x->dims[i] + block - 1) / block : x->dims[i]);
            if (!ok)
                return infer__cfail(c, INFER_STATUS_SHAPE, "blocked scale %s does not fit x %s, axis %lld, block_size %lld",
                                    infer__dstr(b1, sc->n_dims, sc->dims), infer__dstr(b2, x->n_dims, x->dims),
                                    (long long)axis, (long long)block);
            p->block = block;
            p->so = sc->dims[axis] * p->inner, p->sl = p->inner, p->si = 1;
        }
    }
    return infer__set_out(c, 0, yt, x->n_dims, x->dims);
}

/* DynamicQuantizeLinear: x f32 -> y u8, y_scale f32 [], y_zero_point u8 []. */
static infer_status infer__shape_dynamic_quantize_linear(infer__ctx *c) {
    const infer__val *x = c->in[0];
    infer_status st;
    if (x->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, 0, "f32");
    if ((st = infer__set_out(c, 0, INFER_DTYPE_U8, x->n_dims, x->dims))) return st;
    if ((st = infer__set_out(c, 1, INFER_DTYPE_F32, 0, NULL))) return st;
    return infer__set_out(c, 2, INFER_DTYPE_U8, 0, NULL);
}

/* A zero point or scale of input k: absent or one value, or n values (per row / column /
   channel, as `what` says); dtype `t` (UNDEFINED: f32, f16 or bf16). */
static infer_status infer__quant_param(infer__ctx *c, uint32_t k, int64_t n, const char *what, infer_dtype t) {
    const infer__val *v = k < c->n_in ? c->in[k] : NULL;
    char b[96];
    if (!v) return INFER_STATUS_OK;
    if (t == INFER_DTYPE_UNDEFINED ? !infer__half_or_f32(v->dtype) : v->dtype != t)
        return infer__bad_dtype(c, k, t == INFER_DTYPE_UNDEFINED ? "f32, f16, bf16" : infer_dtype_name(t));
    if (v->n_dims > 1 || (v->n != 1 && (int64_t)v->n != n))
        return infer__cfail(c, INFER_STATUS_SHAPE, "input %u %s: want one value or [%lld] (per %s)", k,
                            infer__dstr(b, v->n_dims, v->dims), (long long)n, what);
    return INFER_STATUS_OK;
}

/* MatMulInteger (A, B, a_zero_point, b_zero_point) -> i32 and QLinearMatMul (a, a_scale,
   a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point) -> y_zero_point's dtype:
   A and B u8 or i8, broadcast batch dims as MatMul; A's parameters per tensor or per row,
   B's per tensor or per column, y's per tensor or per row. */
static infer_status infer__shape_matmul_integer(infer__ctx *c) {
    int ql = c->node->op == INFER__OP_QLINEAR_MATMUL;
    uint32_t ib = ql ? 3 : 1;
    const infer__val *a = c->in[0], *b = c->in[ib];
    infer__mm_p *p = &c->p->mm;
    int64_t dims[INFER_MAX_DIMS];
    int r = 0;
    infer_status st;
    infer_dtype yt = INFER_DTYPE_I32;
    memset(p, 0, sizeof *p);
    if (a->dtype != INFER_DTYPE_U8 && a->dtype != INFER_DTYPE_I8) return infer__bad_dtype(c, 0, "u8, i8");
    if (b->dtype != INFER_DTYPE_U8 && b->dtype != INFER_DTYPE_I8) return infer__bad_dtype(c, ib, "u8, i8");
    if ((st = infer__mm_geometry(c, a, b, p, dims, &r))) return st;
    if (ql) {
        if ((st = infer__quant_param(c, 1, p->m, "row", INFER_DTYPE_UNDEFINED)) ||
            (st = infer__quant_param(c, 2, p->m, "row", a->dtype)) ||
            (st = infer__quant_param(c, 4, p->n, "column", INFER_DTYPE_UNDEFINED)) ||
            (st = infer__quant_param(c, 5, p->n, "column", b->dtype)) ||
            (st = infer__quant_param(c, 6, p->m, "row", INFER_DTYPE_UNDEFINED)))
            return st;
        yt = c->in[7]->dtype;
        if (yt != INFER_DTYPE_U8 && yt != INFER_DTYPE_I8) return infer__bad_dtype(c, 7, "u8, i8");
        if ((st = infer__quant_param(c, 7, p->m, "row", yt))) return st;
    } else if ((st = infer__quant_param(c, 2, p->m, "row", a->dtype)) ||
               (st = infer__quant_param(c, 3, p->n, "column", b->dtype))) {
        return st;
    }
    return infer__set_out(c, 0, yt, r, dims);
}

/* ConvInteger (x, w, x_zero_point, w_zero_point) -> i32 and QLinearConv (x, x_scale,
   x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B i32) -> y_zero_point's
   dtype: x and w u8 or i8; x's and y's parameters per tensor, w's per tensor or per output
   channel. QLinearConv's scratch: the i32 sums of the whole output. */
static infer_status infer__shape_conv_integer(infer__ctx *c) {
    int ql = c->node->op == INFER__OP_QLINEAR_CONV;
    uint32_t iw = ql ? 3 : 1;
    const infer__val *x = c->in[0], *w = c->in[iw], *b = ql && c->n_in > 8 ? c->in[8] : NULL;
    infer__conv_p *p = &c->p->conv;
    int64_t dims[5];
    int i, n_sp = x->n_dims - 2;
    infer_status st;
    infer_dtype yt = INFER_DTYPE_I32;
    char b1[96], b2[96];
    memset(p, 0, sizeof *p);
    if (x->dtype != INFER_DTYPE_U8 && x->dtype != INFER_DTYPE_I8) return infer__bad_dtype(c, 0, "u8, i8");
    if (w->dtype != INFER_DTYPE_U8 && w->dtype != INFER_DTYPE_I8) return infer__bad_dtype(c, iw, "u8, i8");
    if (n_sp < 1 || n_sp > 3) return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "input rank %d; supported 3 to 5", x->n_dims);
    if (w->n_dims != x->n_dims)
        return infer__cfail(c, INFER_STATUS_SHAPE, "weight %s and input %s differ in rank", infer__dstr(b1, w->n_dims, w->dims),
                            infer__dstr(b2, x->n_dims, x->dims));
    if ((st = infer__conv_attrs(c, n_sp, w->dims + 2, p))) return st;
    p->group = infer__attr_i(c->node, "group", 1);
    p->n = x->dims[0];
    p->c = x->dims[1];
    p->m = w->dims[0];
    if (p->group < 1 || p->c % p->group || p->m % p->group || w->dims[1] * p->group != p->c)
        return infer__cfail(c, INFER_STATUS_SHAPE, "input channels %lld, weight %s and group %lld do not agree",
                            (long long)p->c, infer__dstr(b1, w->n_dims, w->dims), (long long)p->group);
    for (i = 0; i < n_sp; i++) p->in[i] = x->dims[2 + i];
    if ((st = infer__window_out(c, p, 0))) return st;
    dims[0] = p->n;
    dims[1] = p->m;
    for (i = 0; i < n_sp; i++) dims[2 + i] = p->out[i];
    if (ql) {
        if ((st = infer__quant_param(c, 1, 1, "tensor", INFER_DTYPE_UNDEFINED)) ||
            (st = infer__quant_param(c, 2, 1, "tensor", x->dtype)) ||
            (st = infer__quant_param(c, 4, p->m, "output channel", INFER_DTYPE_UNDEFINED)) ||
            (st = infer__quant_param(c, 5, p->m, "output channel", w->dtype)) ||
            (st = infer__quant_param(c, 6, 1, "tensor", INFER_DTYPE_UNDEFINED)))
            return st;
        yt = c->in[7]->dtype;
        if (yt != INFER_DTYPE_U8 && yt != INFER_DTYPE_I8) return infer__bad_dtype(c, 7, "u8, i8");
        if ((st = infer__quant_param(c, 7, 1, "tensor", yt))) return st;
        if (b && (b->dtype != INFER_DTYPE_I32 || b->n_dims != 1 || b->dims[0] != p->m))
            return infer__cfail(c, INFER_STATUS_SHAPE, "bias must be i32 [%lld]", (long long)p->m);
    } else if ((st = infer__quant_param(c, 2, 1, "tensor", x->dtype)) ||
               (st = infer__quant_param(c, 3, p->m, "output channel", w->dtype))) {
        return st;
    }
    if ((st = infer__set_out(c, 0, yt, x->n_dims, dims))) return st;
    if (ql) {
        if (c->out[0]->n > c->max_bytes / 4)
            return infer__cfail(c, INFER_STATUS_OUT_OF_MEMORY, "i32 sums of %zu outputs are over the memory cap", c->out[0]->n);
        c->scratch_bytes = c->out[0]->n * 4;
    }
    return INFER_STATUS_OK;
}

/* ===== 6. MEMORY PLANNER ============================================== >>plan */

/* One arena buffer: a tensor (or several sharing bytes in place) or a kernel's scratch. */
typedef struct infer__buf {
    size_t size;         /* bytes, a multiple of INFER__ALIGN */
    size_t offset;       /* set by the planner */
    int32_t first, last; /* steps during which it is live, inclusive */
} infer__buf;

static int infer__buf_live_together(const infer__buf *a, const infer__buf *b) {
    return a->first <= b->last && b->first <= a->last;
}

/* A buffer's size scaled by a pseudo-random factor in [0.75, 1.25) fixed by its index and
   the pass (key >= 3), for infer__plan's perturbed orders */
static double infer__plan_jitter(const infer__buf *x, size_t ix, int key) {
    uint32_t h = (uint32_t)ix * 2654435761u ^ (uint32_t)key * 40503u;
    h ^= h >> 15, h *= 2246822519u, h ^= h >> 13;
    return (double)x->size * (0.75 + 0.5 * (double)(h % 4096) / 4096.0);
}

/* Orders for placing buffers: 0 largest first, 1 longest-lived first, 2 earliest first,
   3 and up largest first by jittered sizes; ties go to the larger, then the earlier, then
   the lower index. */
static int infer__plan_before(const infer__buf *x, const infer__buf *y, size_t ix, size_t iy, int key) {
    int32_t lx = x->last - x->first, ly = y->last - y->first;
    if (key == 1 && lx != ly) return lx > ly;
    if (key == 2 && x->first != y->first) return x->first < y->first;
    if (key >= 3 && infer__plan_jitter(x, ix, key) != infer__plan_jitter(y, iy, key))
        return infer__plan_jitter(x, ix, key) > infer__plan_jitter(y, iy, key);
    if (x->size != y->size) return x->size > y->size;
    if (x->first != y->first) return x->first < y->first;
    return ix < iy;
}

/* Stable merge sort of order[n] by infer__plan_before; tmp[n] is workspace. */
static void infer__plan_sort(const infer__buf *bufs, size_t *order, size_t *tmp, size_t n, int key) {
    size_t width, i;
    for (i = 0; i < n; i++) order[i] = i;
    for (width = 1; width < n; width *= 2) {
        for (i = 0; i < n; i += 2 * width) {
            size_t mid = INFER__MIN(i + width, n), hi = INFER__MIN(i + 2 * width, n), p = i, q = mid, k = i;
            while (p < mid || q < hi) {
                int take_p = q >= hi || (p < mid && !infer__plan_before(&bufs[order[q]], &bufs[order[p]], order[q],
                                                                         order[p], key));
                tmp[k++] = take_p ? order[p++] : order[q++];
            }
        }
        memcpy(order, tmp, n * sizeof(size_t));
    }
}

/* Places buffers in `order`, each into the smallest gap (best_fit) or the lowest gap
   between already placed buffers live at the same time, or above them all. Returns
   the arena size; placed[n] is workspace. */
static size_t infer__plan_pass(infer__buf *bufs, size_t n, const size_t *order, size_t *placed, int best_fit) {
    size_t i, j, n_placed = 0, top = 0;
    for (i = 0; i < n; i++) {
        infer__buf *b = &bufs[order[i]];
        size_t prev_end = 0, best = SIZE_MAX, best_gap = SIZE_MAX, pos;
        for (j = 0; j < n_placed; j++) { /* placed[] is sorted by offset */
            const infer__buf *o = &bufs[placed[j]];
            if (!infer__buf_live_together(b, o)) continue;
            if (o->offset > prev_end && o->offset - prev_end >= b->size && o->offset - prev_end < best_gap) {
                best_gap = best_fit ? o->offset - prev_end : 0;
                best = prev_end;
            }
            prev_end = INFER__MAX(prev_end, o->offset + o->size);
        }
        b->offset = best != SIZE_MAX ? best : prev_end;
        top = INFER__MAX(top, b->offset + b->size);
        for (pos = n_placed; pos > 0 && bufs[placed[pos - 1]].offset > b->offset; pos--) placed[pos] = placed[pos - 1];
        placed[pos] = order[i];
        n_placed++;
    }
    return top;
}

/* Assigns offsets. Greedy by size with the smallest fitting gap is the main strategy;
   a few other orders and first-fit are tried too (each pass is cheap) and the smallest
   arena wins; while that is still more than 1% above the lower bound, up to
   INFER__PLAN_TRIES more passes take sizes jittered by +-25% (deterministic), which finds the tight packings of
   steps that each need exactly the bound (a ResNet block whose Winograd scratch and
   residual fill three steps alike). Also reports the lower bound: the largest total of
   buffers live at one step. Returns 0 when out of memory. */
#define INFER__PLAN_TRIES 32
static int infer__plan(const infer_allocator *a, infer__buf *bufs, size_t n, int32_t n_steps, size_t *arena_bytes,
                       size_t *lower_bound) {
    size_t *order = (size_t *)infer__calloc(a, n, sizeof(size_t));
    size_t *placed = (size_t *)infer__calloc(a, n, sizeof(size_t));
    size_t *best = (size_t *)infer__calloc(a, n, sizeof(size_t));
    size_t *live = (size_t *)infer__calloc(a, (size_t)n_steps + 2, sizeof(size_t));
    size_t i, sum = 0, best_lb = 0, best_top = SIZE_MAX;
    int32_t st;
    int strategy;
    if (!order || !placed || !best || !live) {
        infer__free(a, order);
        infer__free(a, placed);
        infer__free(a, best);
        infer__free(a, live);
        return 0;
    }
    for (i = 0; i < n; i++) {
        live[bufs[i].first] += bufs[i].size;
        live[bufs[i].last + 1] -= bufs[i].size; /* wraps, and unwraps when summed */
    }
    for (st = 0; st <= n_steps; st++) {
        sum += live[st];
        best_lb = INFER__MAX(best_lb, sum);
    }
    for (strategy = 0; strategy < 6 + INFER__PLAN_TRIES && best_top > best_lb; strategy++) {
        if (strategy >= 6 && best_top - best_lb <= best_lb / 100) break; /* within 1%: not worth more passes */
        size_t top;
        infer__plan_sort(bufs, order, placed, n, strategy < 6 ? strategy / 2 : strategy - 3);
        top = infer__plan_pass(bufs, n, order, placed, strategy % 2 == 0);
        if (top < best_top) {
            best_top = top;
            for (i = 0; i < n; i++) best[i] = bufs[i].offset;
        }
    }
    for (i = 0; i < n; i++) bufs[i].offset = best[i];
    *arena_bytes = n ? best_top : 0;
    *lower_bound = best_lb;
    infer__free(a, order);
    infer__free(a, placed);
    infer__free(a, best);
    infer__free(a, live);
    return 1;
}

/* ===== 7. SESSION, EXECUTOR AND THE BACKEND INTERFACE ================= >>exec */

/* A backend runs nodes on one device. The executor only calls through this table:
   arena memory, kernel choice per node, running a node, copies across the device
   boundary and a final sync. The CPU backend is below; others register the same way. */
typedef struct infer__backend {
    const char *name;
    void *(*alloc)(const infer_allocator *a, size_t bytes, void **raw); /* 64-byte aligned */
    void (*free)(const infer_allocator *a, void *raw);
    int (*supports)(const infer__ctx *c);
    infer__kernel_fn (*prepare)(const infer__ctx *c, int force_reference);
    infer_status (*run)(const infer__ctx *c, infer__kernel_fn fn);
    void (*copy_in)(void *dst, const void *src, size_t bytes);  /* host -> device */
    void (*copy_out)(void *dst, const void *src, size_t bytes); /* device -> host */
    infer_status (*sync)(void);
} infer__backend;

struct infer_session {
    const infer_model *m;
    infer_allocator a;
    char err[INFER__ERR_BYTES];
    const infer__backend *be;
    int n_threads;
    size_t max_bytes;            /* memory cap, SIZE_MAX when none */
    /* -- the plan: everything from vals to plan_end depends on the bound dims; set_dims
       swaps this byte range with a kept plan (infer__swap_plan), so a per-shape field
       belongs here and a per-session one outside -- */
    infer__val *vals;            /* [m->n_tensors] */
    infer__params *params;       /* [m->n_nodes] */
    infer__val **slots;          /* per node: n_in input then n_out output pointers */
    infer__kernel_fn *kernels;   /* [m->n_nodes] */
    size_t *scratch_off;         /* [m->n_nodes] a step's scratch in the arena */
    size_t *scratch_bytes;       /* [m->n_nodes] */
    uint32_t *steps, n_steps;    /* nodes that run per infer_run, in order */
    uint32_t *input_views, n_input_views; /* views of graph inputs: data set per run */
    uint32_t n_fixed;            /* graph inputs fixed at creation (infer_session_options.constants) */
    void **consts;               /* folded values (raw pointers to free) */
    uint32_t n_consts;
    size_t const_bytes;
    size_t arena_bytes, arena_lower_bound; /* what this plan needs of the arena */
    uint64_t plan_used;          /* when this plan was last made current (for eviction) */
    char plan_end;
    /* -- per session -- */
    uint8_t *arena;
    void *arena_raw;             /* NULL when the caller owns the arena */
    size_t arena_cap;            /* bytes at arena: the largest plan's so far, or the caller's */
    int caller_arena;            /* 1: the arena is the caller's (it never grows) */
    uint64_t empty[8];           /* where zero-byte tensors point */
    const float **packed;        /* [m->n_nodes] weights pre-packed for the node's kernel, or NULL */
    void **packed_raw;           /* [m->n_nodes] their allocations (to free) */
    uint8_t *wino_e;             /* [m->n_nodes] a conv's Winograd tile its packing chose, or 0 */
    size_t packed_bytes;
    double *node_ms;             /* [m->n_nodes] with profiling, else NULL */
    uint64_t n_runs;             /* timed runs */
    infer__rt rt;                /* threads, cancel and deadline, abort and log callbacks */
    infer_session **plans;       /* [max_plans - 1] kept plans that are not current (set_dims) */
    int n_plans, max_plans;
    uint64_t plan_clock;
    int force_reference;
    struct infer__tp *tp;        /* section 8: tensor parallelism (this session is device 0 or
                                    this process's rank; the rest live there), else NULL */
    struct infer__dev *dev;      /* a registered device (infer_backend) that runs the nodes it
                                    supports, else NULL: the CPU runs everything */
};
typedef struct infer__dev infer__dev;

/* section 8: tensor-parallel sessions */
static infer_status infer__tp_create(const infer_model *m, const infer_session_options *opt, infer_session **out);
static void infer__tp_free(infer_session *s);
static infer_status infer__tp_attach(infer_session *s, struct infer__dev *d, char *err, size_t err_size);
static int infer__tp_dispatch(const infer_session *s);
static infer_status infer__tp_run(infer_session *s, const infer_tensor *inputs, size_t n_inputs,
                                  infer_tensor *outputs, size_t n_outputs);

/* -- the CPU backend -- */

/* An arena of our own allocation (not the caller's allocator's) of 4 MiB or more asks Linux
   for transparent huge pages, where it hands them out on request: the convs of a batch
   stream tens of MiB through it (MobileNetV2, batch 8: 2% faster, the same peak RSS). */
static void *infer__cpu_alloc(const infer_allocator *a, size_t bytes, void **raw) {
    void *p = infer__alloc_aligned(a, bytes, raw);
#if INFER__MADV_HUGEPAGE
    if (p && !(a && a->alloc) && bytes >= ((size_t)4 << 20)) {
        uintptr_t lo = ((uintptr_t)p + 4095) & ~(uintptr_t)4095, hi = ((uintptr_t)p + bytes) & ~(uintptr_t)4095;
        if (hi > lo) (void)madvise((void *)lo, (size_t)(hi - lo), INFER__MADV_HUGEPAGE);
    }
#endif
    return p;
}
static void infer__cpu_free(const infer_allocator *a, void *raw) { infer__free(a, raw); }
static int infer__cpu_supports(const infer__ctx *c) {
    (void)c;
    return 1;
}
/* section 9: the SIMD variant of a node's kernel for this CPU (a one-time check), or its
   reference kernel; and the variant's name ("avx512", "avx2", "ref") */
static infer__kernel_fn infer__cpu_variant(const infer__ctx *c, int force_reference);
static const char *infer__cpu_kernel_name(infer__kernel_fn fn);
/* section 9: floats of the node's weights pre-packed for kernel fn (0: none); packs into
   dst when it is not NULL; *wino: the Winograd tile size of that packing, or 0 */
static size_t infer__cpu_pack(const infer__ctx *c, infer__kernel_fn fn, float *dst, int *wino);
/* section 9: the int8 GEMM's kernels for fn, or NULL when fn is no int8 MatMul/Gemm/Conv */
typedef struct infer__qgemm_isa infer__qgemm_isa;
static const infer__qgemm_isa *infer__q8_isa(infer__kernel_fn fn);

static infer__kernel_fn infer__cpu_prepare(const infer__ctx *c, int force_reference) {
    return infer__cpu_variant(c, force_reference);
}
static infer_status infer__cpu_run(const infer__ctx *c, infer__kernel_fn fn) { return fn(c); }
static void infer__cpu_copy(void *dst, const void *src, size_t bytes) {
    if (bytes) memcpy(dst, src, bytes);
}
static infer_status infer__cpu_sync(void) { return INFER_STATUS_OK; }

static const infer__backend infer__cpu_backend = {
    "cpu", infer__cpu_alloc, infer__cpu_free, infer__cpu_supports, infer__cpu_prepare,
    infer__cpu_run, infer__cpu_copy, infer__cpu_copy, infer__cpu_sync};

/* -- session creation -- */

static int infer__default_threads(void) {
#if defined(_WIN32)
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwNumberOfProcessors > 0 ? (int)si.dwNumberOfProcessors : 1;
#elif defined(_SC_NPROCESSORS_ONLN)
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
#else
    return 1;
#endif
}

static void infer__ctx_init(infer_session *s, uint32_t node, infer__ctx *c) {
    const infer__node *n = &s->m->nodes[node];
    c->m = s->m;
    c->err = s->err;
    c->node = n;
    c->p = &s->params[node];
    c->in = s->slots + (n->in - s->m->refs); /* slots mirror the model's refs array */
    c->out = s->slots + (size_t)(n->out - s->m->refs);
    c->n_in = n->n_in;
    c->n_out = n->n_out;
    c->scratch = s->arena && s->scratch_bytes[node] ? s->arena + s->scratch_off[node] : NULL;
    c->scratch_bytes = s->scratch_bytes[node];
    c->n_threads = s->n_threads;
    c->rt = (infer__rt *)&s->rt;
    c->packed = s->packed ? s->packed[node] : NULL;
    c->wino_e = s->wino_e ? s->wino_e[node] : 0;
    c->max_bytes = s->max_bytes - INFER__MIN(s->max_bytes, s->const_bytes); /* what is left */
}

static int32_t infer__root(const infer_session *s, uint32_t t) {
    while (s->vals[t].kind == INFER__VAL_VIEW) t = (uint32_t)s->vals[t].alias;
    return (int32_t)t;
}

/* The root value of a fused residual that node reads (infer__residual_pass), or -1 */
static int32_t infer__residual(const infer_session *s, uint32_t node) {
    const infer__val *r = s->m->nodes[node].op == INFER__OP_CONV ? s->params[node].conv.res : NULL;
    return r ? infer__root(s, (uint32_t)(r - s->vals)) : -1;
}

/* Computes the node's value now and keeps it as a constant of the session. */
static infer_status infer__fold(infer_session *s, infer__ctx *c) {
    uint32_t k;
    void *scratch_raw = NULL;
    infer_status st;
    for (k = 0; k < c->n_out; k++) {
        infer__val *v = c->out[k];
        void *raw;
        if (!v) continue;
        v->data = infer__alloc_aligned(&s->a, v->bytes, &raw);
        if (!v->data) return infer__cfail(c, INFER_STATUS_OUT_OF_MEMORY, "out of memory folding %zu bytes", v->bytes);
        s->consts[s->n_consts++] = raw;
        s->const_bytes += v->bytes;
        v->kind = INFER__VAL_CONST;
    }
    if (c->scratch_bytes) {
        c->scratch = infer__alloc_aligned(&s->a, c->scratch_bytes, &scratch_raw);
        if (!c->scratch) return infer__cfail(c, INFER_STATUS_OUT_OF_MEMORY, "out of memory for scratch");
    }
    c->n_threads = 1;
    c->rt = NULL; /* folding at creation: no cancel, no abort callback */
    st = infer__ops[c->node->op].kernel(c);
    infer__free(&s->a, scratch_raw);
    c->scratch = NULL;
    return st;
}

/* Binds the graph inputs' dims from the options. */
static infer_status infer__bind_inputs(infer_session *s, const infer_session_options *opt) {
    const infer_model *m = s->m;
    uint32_t i;
    size_t j;
    int d;
    char b[96], b2[96];
    for (j = 0; opt && j < opt->n_dims; j++) {
        int used = 0;
        if (!opt->dims || !opt->dims[j].name)
            return infer__fail(s->err, INFER_STATUS_INVALID_ARGUMENT, "session options: dim %zu has no name", j);
        for (i = 0; i < m->n_inputs && !used; i++)
            for (d = 0; d < m->tensors[m->inputs[i]].n_dims; d++)
                if (m->tensors[m->inputs[i]].sym[d] && !strcmp(m->tensors[m->inputs[i]].sym[d], opt->dims[j].name)) used = 1;
        if (!used)
            return infer__fail(s->err, INFER_STATUS_INVALID_ARGUMENT, "%s: '%s' is not a symbolic dim of any input", m->path,
                               opt->dims[j].name);
        if (opt->dims[j].value < 0 || opt->dims[j].value > INFER_MAX_DIM_VALUE)
            return infer__fail(s->err, INFER_STATUS_INVALID_ARGUMENT, "%s: dim '%s' = %lld is out of range", m->path,
                               opt->dims[j].name, (long long)opt->dims[j].value);
    }
    for (i = 0; i < m->n_inputs; i++) {
        const infer__tensor *t = &m->tensors[m->inputs[i]];
        infer__val *v = &s->vals[m->inputs[i]];
        v->dtype = t->dtype;
        v->n_dims = t->n_dims;
        v->kind = INFER__VAL_INPUT;
        for (d = 0; d < t->n_dims; d++) {
            v->dims[d] = t->dims[d];
            if (t->sym[d]) {
                int found = 0;
                for (j = 0; opt && j < opt->n_dims; j++)
                    if (!strcmp(opt->dims[j].name, t->sym[d])) v->dims[d] = opt->dims[j].value, found = 1;
                if (!found)
                    return infer__fail(s->err, INFER_STATUS_SHAPE,
                                       "%s: input '%s' dim %d '%s' is not bound; give its value in "
                                       "infer_session_options.dims",
                                       m->path, t->name, d, t->sym[d]);
            }
        }
        if (!infer__dims_bytes(v->dims, v->n_dims, v->dtype, SIZE_MAX / 4, &v->n, &v->bytes))
            return infer__fail(s->err, INFER_STATUS_SHAPE, "%s: input '%s' of dims %s is too large", m->path, t->name,
                               infer__dstr(b, v->n_dims, v->dims));
    }
    for (j = 0; opt && j < opt->n_constants; j++) { /* inputs fixed now become constants */
        const infer_tensor *c = &opt->constants[j];
        infer__val *v = NULL;
        void *raw;
        for (i = 0; c->name && i < m->n_inputs; i++)
            if (!strcmp(m->tensors[m->inputs[i]].name, c->name)) v = &s->vals[m->inputs[i]];
        if (!v)
            return infer__fail(s->err, INFER_STATUS_INVALID_ARGUMENT, "%s: constant '%s' is not a graph input", m->path,
                               c->name ? c->name : "(null)");
        if (v->kind == INFER__VAL_CONST)
            return infer__fail(s->err, INFER_STATUS_INVALID_ARGUMENT, "%s: input '%s' is fixed twice", m->path, c->name);
        if (c->dtype != v->dtype || c->n_dims != v->n_dims ||
            (v->n_dims && memcmp(c->dims, v->dims, sizeof(int64_t) * (size_t)v->n_dims) != 0))
            return infer__fail(s->err, INFER_STATUS_SHAPE, "%s: constant '%s' is %s %s; the input is %s %s", m->path,
                               c->name, infer_dtype_name(c->dtype),
                               infer__dstr(b, c->n_dims < 0 || c->n_dims > INFER_MAX_DIMS ? 0 : c->n_dims, c->dims),
                               infer_dtype_name(v->dtype), infer__dstr(b2, v->n_dims, v->dims));
        if (c->data_bytes < v->bytes || (v->bytes && !c->data))
            return infer__fail(s->err, INFER_STATUS_INVALID_ARGUMENT, "%s: constant '%s' has %zu bytes; it needs %zu",
                               m->path, c->name, c->data_bytes, v->bytes);
        v->data = infer__alloc_aligned(&s->a, v->bytes, &raw);
        if (!v->data) return infer__fail(s->err, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory", m->path);
        s->consts[s->n_consts++] = raw;
        s->const_bytes += v->bytes;
        if (v->bytes) memcpy(v->data, c->data, v->bytes);
        v->kind = INFER__VAL_CONST;
    }
    return INFER_STATUS_OK;
}

/* Whether to leave DequantizeLinear node i unfolded for now (issue 9): an int8 weight made
   into f32 for one MatMul/Gemm (2 dims) or Conv (3 or 4) as its input 1, on a CPU with the
   int8 GEMM.
   Its output becomes a constant without data; session creation folds it after all
   (infer__fold_deferred) when the reader's kernel is not the int8 one, which reads the
   int8 tensor itself. So the f32 copies of all weights never exist at once. */
static int infer__q8_defer(const infer_session *s, uint32_t i, const infer__ctx *c) {
    const infer_model *m = s->m;
    const infer__node *n = &m->nodes[i];
    uint32_t t, k, uses = 0, j;
    if (s->force_reference || n->op != INFER__OP_DEQUANTIZE_LINEAR || n->n_out != 1 || n->out[0] == INFER__ABSENT ||
        !(infer__cpu_features() & (INFER__CPU_AVX2 | INFER__CPU_AVX512VNNI)) || !c->out[0] ||
        c->out[0]->dtype != INFER_DTYPE_F32 || c->in[0]->dtype != INFER_DTYPE_I8)
        return 0;
    t = n->out[0];
    for (k = 0; k < m->n_refs; k++) uses += m->refs[k] == t;
    for (k = 0; k < m->n_outputs; k++) uses += m->outputs[k] == t;
    if (uses != 2) return 0; /* this node's output and one reader */
    for (j = i + 1; j < m->n_nodes; j++)
        for (k = 0; k < m->nodes[j].n_in; k++)
            if (m->nodes[j].in[k] == t)
                return k == 1 && (m->nodes[j].op == INFER__OP_CONV ? c->in[0]->n_dims == 3 || c->in[0]->n_dims == 4
                                                                     : (m->nodes[j].op == INFER__OP_MATMUL ||
                                                                        m->nodes[j].op == INFER__OP_GEMM) &&
                                                                           c->in[0]->n_dims == 2);
    return 0;
}

/* Folds the deferred DequantizeLinear behind an input of node `node` (infer__q8_defer):
   before the node is folded itself, or once its kernel is known, unless that is the
   int8 one. */
static infer_status infer__fold_deferred(infer_session *s, uint32_t node) {
    const infer__node *n = &s->m->nodes[node];
    infer_status st;
    uint32_t k;
    if (s->kernels[node] && infer__q8_isa(s->kernels[node])) return INFER_STATUS_OK;
    for (k = 0; k < n->n_in; k++) {
        infer__val *v;
        infer__ctx c;
        int32_t prod;
        if (n->in[k] == INFER__ABSENT) continue;
        v = &s->vals[n->in[k]];
        if (v->kind != INFER__VAL_CONST || v->data || !v->bytes || (prod = s->m->tensors[n->in[k]].producer) < 0)
            continue;
        infer__ctx_init(s, (uint32_t)prod, &c);
        if ((st = infer__fold(s, &c))) return st;
    }
    return INFER_STATUS_OK;
}

/* Shape inference and folding over all nodes in order; records the steps. */
static infer_status infer__infer_graph(infer_session *s) {
    const infer_model *m = s->m;
    uint32_t i, k;
    infer_status st;
    for (i = 0; i < m->n_tensors; i++) {
        const infer__tensor *t = &m->tensors[i];
        infer__val *v = &s->vals[i];
        v->alias = v->storage = -1;
        if (!t->data) continue;
        v->kind = INFER__VAL_CONST;
        v->dtype = t->dtype;
        v->n_dims = t->n_dims;
        memcpy(v->dims, t->dims, sizeof v->dims);
        v->data = (void *)(uintptr_t)t->data; /* never written: constants are only read */
        v->bytes = t->data_bytes;
        infer__dims_bytes(v->dims, v->n_dims, v->dtype, SIZE_MAX, &v->n, &v->bytes);
    }
    for (i = 0; i < m->n_refs; i++) s->slots[i] = m->refs[i] == INFER__ABSENT ? NULL : &s->vals[m->refs[i]];
    for (i = 0; i < m->n_nodes; i++) {
        const infer__node *n = &m->nodes[i];
        unsigned flags = infer__ops[n->op].flags;
        int all_const = 1;
        infer__ctx c;
        infer__ctx_init(s, i, &c);
        c.scratch_bytes = 0;
        for (k = 0; k < n->n_in; k++)
            if (c.in[k] && c.in[k]->kind != INFER__VAL_CONST) all_const = 0;
        if ((st = infer__ops[n->op].shape(&c))) return st;
        s->scratch_bytes[i] = c.scratch_bytes;
        if (all_const && infer__q8_defer(s, i, &c)) { /* a constant whose bytes may never be needed */
            c.out[0]->kind = INFER__VAL_CONST;
            continue;
        }
        if (all_const || (flags & INFER__OPF_SHAPE)) {
            if ((st = infer__fold_deferred(s, i)) || (st = infer__fold(s, &c))) return st;
            continue;
        }
        for (k = 0; k < n->n_out; k++)
            if (c.out[k]) c.out[k]->kind = INFER__VAL_ARENA;
        if ((flags & INFER__OPF_VIEW) && c.out[0]->bytes == c.in[0]->bytes) {
            c.out[0]->kind = INFER__VAL_VIEW;
            c.out[0]->alias = infer__root(s, n->in[0]);
            continue;
        }
        s->steps[s->n_steps++] = i;
    }
    return INFER_STATUS_OK;
}

/* -- the activation layout --
   A depthwise conv runs faster on channels-last (NHWC) activations: it reads 8 or 16
   channels of one position as a vector, with no transposes; so does a pointwise conv
   written as Y^T = X^T W^T (a vector of output channels per position, inputs broadcast).
   This pass, after shape inference, marks intermediate 4-D f32 tensors NHWC
   (infer__val.nhwc) where the producer and every reader take them so: pointwise convs
   (input and output, in any mix), general convs of up to INFER__LY_GEN_K taps an output
   (their output: a stem), depthwise convs (both sides or neither), element-wise ops (Add,
   Sub, Mul, Div of two such tensors, of one shape or an SE block's [n][c][1][1] broadcast;
   Relu, Clip and the like: all of the node's tensors or none) and the global pools (their
   input). Only connected groups
   that hold a depthwise conv change: a ResNet stays NCHW. Graph inputs and outputs,
   constants and views stay NCHW, and so does everything on a device, under
   force_reference, in a tensor-parallel rank or without AVX2 (the NHWC kernels are x86
   ones). The choice depends on the graph alone (ops, attributes, constants, ranks), not
   on bound dims, so every plan of a session (infer_session_set_dims) makes the same one
   and the weights packed for it at creation stay right. */
static int infer__wants_device(const infer_session_options *opt);
enum { INFER__LY_NONE, INFER__LY_PW, INFER__LY_GEN, INFER__LY_DW, INFER__LY_ELEM, INFER__LY_BIN, INFER__LY_POOL };
#define INFER__LY_GEN_K 256 /* a general conv writes NHWC up to this many taps an output (a stem) */

/* What node i is to the layout pass (INFER__LY_*) */
static int infer__layout_kind(const infer_session *s, uint32_t i) {
    const infer__node *n = &s->m->nodes[i];
    const infer__conv_p *p = &s->params[i].conv;
    const infer__val *w;
    uint32_t k;
    if (n->n_out != 1 || n->out[0] == INFER__ABSENT || s->vals[n->out[0]].dtype != INFER_DTYPE_F32 || !n->n_in ||
        n->in[0] == INFER__ABSENT)
        return INFER__LY_NONE;
    switch (n->op) {
    case INFER__OP_CONV:
        if (n->n_in < 2 || n->in[1] == INFER__ABSENT) return INFER__LY_NONE;
        w = &s->vals[n->in[1]];
        if (w->kind != INFER__VAL_CONST || !w->data || w->dtype != INFER_DTYPE_F32 || w->n_dims != 4 || p->n_sp != 2 ||
            (n->n_in > 2 && n->in[2] != INFER__ABSENT && s->vals[n->in[2]].kind != INFER__VAL_CONST))
            return INFER__LY_NONE;
        if (infer__conv_is_dw(p)) return INFER__LY_DW;
        if (p->group != 1) return INFER__LY_NONE;
        if (infer__conv_pointwise(p)) return INFER__LY_PW;
        return p->c * p->k[0] * p->k[1] <= INFER__LY_GEN_K ? INFER__LY_GEN : INFER__LY_NONE;
    case INFER__OP_ADD: case INFER__OP_SUB: case INFER__OP_MUL: case INFER__OP_DIV:
        return n->n_in == 2 && n->in[1] != INFER__ABSENT ? INFER__LY_BIN : INFER__LY_NONE;
    case INFER__OP_RELU: case INFER__OP_LEAKY_RELU: case INFER__OP_SIGMOID: case INFER__OP_TANH: case INFER__OP_CLIP:
    case INFER__OP_HARD_SIGMOID: case INFER__OP_HARD_SWISH: case INFER__OP_SWISH: case INFER__OP_ELU:
        for (k = 1; k < n->n_in; k++) /* Clip's min and max */
            if (n->in[k] != INFER__ABSENT && s->vals[n->in[k]].kind != INFER__VAL_CONST) return INFER__LY_NONE;
        return INFER__LY_ELEM;
    case INFER__OP_GLOBAL_AVERAGE_POOL: case INFER__OP_GLOBAL_MAX_POOL:
        return INFER__LY_POOL;
    default:
        return INFER__LY_NONE;
    }
}

static uint32_t infer__uf_find(uint32_t *up, uint32_t t) {
    while (up[t] != t) t = up[t] = up[up[t]];
    return t;
}

static infer_status infer__layout_pass(infer_session *s, const infer_session_options *opt) {
    const infer_model *m = s->m;
    uint8_t *cand, *kind, *dw;
    uint32_t *up, i, k, t;
    int changed = 1;
    infer_status st = INFER_STATUS_OK;
#if !defined(INFER__HAVE_AVX2)
    if (opt || !opt) return INFER_STATUS_OK; /* no NHWC kernels */
#endif
    if (s->force_reference || infer__wants_device(opt) || m->tp_dev || !(infer__cpu_features() & INFER__CPU_AVX2))
        return INFER_STATUS_OK;
    cand = (uint8_t *)infer__calloc(&s->a, (size_t)m->n_tensors * 2 + m->n_nodes, 1);
    up = (uint32_t *)infer__calloc(&s->a, m->n_tensors, sizeof(uint32_t));
    if (!cand || !up) {
        st = infer__fail(s->err, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory creating a session", m->path);
        goto done;
    }
    dw = cand + m->n_tensors, kind = dw + m->n_tensors;
    for (i = 0; i < s->n_steps; i++) { /* candidates: what the nodes that can write NHWC write */
        uint32_t node = s->steps[i];
        const infer__val *o = &s->vals[m->nodes[node].out[0]];
        kind[node] = (uint8_t)infer__layout_kind(s, node);
        if (kind[node] != INFER__LY_NONE && kind[node] != INFER__LY_POOL)
            cand[m->nodes[node].out[0]] = o->kind == INFER__VAL_ARENA && o->n_dims == 4;
    }
    for (k = 0; k < m->n_outputs; k++) cand[m->outputs[k]] = 0;
    while (changed) { /* drop what a producer or a reader cannot take, until nothing changes */
        changed = 0;
        for (i = 0; i < s->n_steps; i++) {
            uint32_t node = s->steps[i], io[3], n_io = 0, all = 1;
            const infer__node *n = &m->nodes[node];
            if (kind[node] == INFER__LY_DW || kind[node] == INFER__LY_ELEM) io[n_io++] = n->in[0], io[n_io++] = n->out[0];
            if (kind[node] == INFER__LY_BIN) io[n_io++] = n->in[0], io[n_io++] = n->in[1], io[n_io++] = n->out[0];
            for (k = 0; k < n->n_in; k++) /* readers of other kinds, or of another input */
                if (n->in[k] != INFER__ABSENT && cand[n->in[k]] && (kind[node] == INFER__LY_NONE || kind[node] == INFER__LY_GEN ||
                                                             (k > 0 && kind[node] != INFER__LY_BIN)))
                    cand[n->in[k]] = 0, changed = 1;
            for (k = 0; k < n_io; k++) all &= cand[io[k]];
            for (k = 0; k < n_io && !all; k++)
                if (cand[io[k]]) cand[io[k]] = 0, changed = 1;
        }
    }
    for (t = 0; t < m->n_tensors; t++) up[t] = t;
    for (i = 0; i < s->n_steps; i++) { /* connected groups, and which hold a depthwise conv */
        uint32_t node = s->steps[i], o = m->nodes[node].out[0];
        for (k = 0; k < m->nodes[node].n_in && kind[node] != INFER__LY_NONE; k++) {
            uint32_t x = m->nodes[node].in[k];
            if (x == INFER__ABSENT || !cand[x]) continue;
            if (kind[node] == INFER__LY_POOL || !cand[o]) continue;
            up[infer__uf_find(up, x)] = infer__uf_find(up, o);
        }
        if (kind[node] == INFER__LY_DW && cand[o]) dw[o] = 1;
    }
    for (t = 0; t < m->n_tensors; t++)
        if (dw[t]) dw[infer__uf_find(up, t)] = 1;
    for (t = 0; t < m->n_tensors; t++) s->vals[t].nhwc = cand[t] && dw[infer__uf_find(up, t)];
    for (i = 0; i < s->n_steps && !st; i++) { /* the readers and writers of NHWC tensors again */
        uint32_t node = s->steps[i];
        const infer__node *n = &m->nodes[node];
        int touched = n->n_out && n->out[0] != INFER__ABSENT && s->vals[n->out[0]].nhwc;
        infer__ctx c;
        for (k = 0; k < n->n_in; k++) touched |= n->in[k] != INFER__ABSENT && s->vals[n->in[k]].nhwc;
        if (!touched) continue;
        infer__ctx_init(s, node, &c);
        c.scratch_bytes = 0;
        if (!(st = infer__ops[n->op].shape(&c))) s->scratch_bytes[node] = c.scratch_bytes;
    }
done:
    infer__free(&s->a, cand);
    infer__free(&s->a, up);
    return st;
}

/* -- residual Adds --
   A residual block ends Y = Relu(Add(Conv(X), R)): ResNet's blocks. Where the Conv runs
   on NCHW activations with packed weights (infer__conv_takes_res: as GEMMs, or Winograd),
   this pass, after shape inference and the layout pass, has the Conv add R itself and
   apply the Relu in its epilogue: the GEMM starts from R (its C holds R before the first
   block of K is added, infer__gemm_job.c_acc), Winograd's output transform adds R as it
   stores. The Add and the Relu leave the steps, their outputs become views of the Conv's,
   and the planner lets the Conv write over R where R dies there (each element of R is
   read just before the same element of Y is first written). Only where nothing else
   reads the Conv's output or the Add's (graph outputs included), R has the output's
   shape exactly and is made before the Conv runs, and the Conv has no fused activation
   of its own. Like the layout pass, not on a device, under force_reference or in a
   tensor-parallel rank. */
static int32_t infer__q8_weight(const infer__ctx *c, const int8_t **w, const float **scale); /* section 9 */

/* Whether node i is a Conv that infer__conv_f32_simd runs over NCHW activations with W
   (f32, constant) packed: as GEMMs or Winograd, not depthwise, channels-last or int8 */
static int infer__conv_takes_res(infer_session *s, uint32_t i) {
    const infer__node *n = &s->m->nodes[i];
    const infer__conv_p *p = &s->params[i].conv;
    const infer__val *w;
    unsigned cpu = infer__cpu_features();
    infer__ctx c;
    if (n->op != INFER__OP_CONV || n->n_in < 2 || n->in[1] == INFER__ABSENT || n->out[0] == INFER__ABSENT) return 0;
    w = &s->vals[n->in[1]];
    if (w->kind != INFER__VAL_CONST || !w->data || w->dtype != INFER_DTYPE_F32 || p->n_sp > 2 || infer__conv_is_dw(p) ||
        p->in_nhwc || p->out_nhwc || p->act.kind != INFER__ACT_NONE || p->res)
        return 0;
    if (n->n_in > 2 && n->in[2] != INFER__ABSENT && s->vals[n->in[2]].kind != INFER__VAL_CONST) return 0;
    infer__ctx_init(s, i, &c);
#if defined(INFER__HAVE_AVX2)
    return (cpu & INFER__CPU_AVX2) && infer__q8_weight(&c, NULL, NULL) < 0;
#elif defined(INFER__HAVE_NEON)
    return (cpu & INFER__CPU_NEON) != 0;
#else
    (void)cpu;
    return 0;
#endif
}

/* Whether values a and b have the same dims */
static int infer__same_dims(const infer__val *a, const infer__val *b) {
    return a->n_dims == b->n_dims && !memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->n_dims);
}

#define INFER__OUT_USE (1 << 24)
static infer_status infer__residual_pass(infer_session *s, const infer_session_options *opt) {
    const infer_model *m = s->m;
    int32_t *pos, *uses;
    uint32_t i, k, t, kept = 0, fused = 0;
    uint8_t *drop;
    if (s->force_reference || infer__wants_device(opt) || m->tp_dev) return INFER_STATUS_OK;
    pos = (int32_t *)infer__calloc(&s->a, (size_t)m->n_nodes + m->n_tensors, sizeof(int32_t));
    drop = (uint8_t *)infer__calloc(&s->a, m->n_nodes, 1);
    if (!pos || !drop) {
        infer__free(&s->a, pos);
        infer__free(&s->a, drop);
        return infer__fail(s->err, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory creating a session", m->path);
    }
    uses = pos + m->n_nodes; /* readers of each root value; a graph output adds INFER__OUT_USE */
    for (i = 0; i < m->n_nodes; i++) pos[i] = -1;
    for (i = 0; i < s->n_steps; i++) {
        const infer__node *n = &m->nodes[s->steps[i]];
        pos[s->steps[i]] = (int32_t)i;
        for (k = 0; k < n->n_in; k++)
            if (n->in[k] != INFER__ABSENT) uses[infer__root(s, n->in[k])]++;
    }
    for (k = 0; k < m->n_outputs; k++) uses[infer__root(s, m->outputs[k])] += INFER__OUT_USE;
    for (i = 0; i < s->n_steps; i++) {
        const infer__node *a = &m->nodes[s->steps[i]], *relu = NULL;
        uint32_t x = INFER__ABSENT, r = INFER__ABSENT, conv = 0, rs = 0, y, z, from;
        int32_t best = -1, rp;
        if (a->op != INFER__OP_ADD || a->n_in != 2 || a->in[0] == INFER__ABSENT || a->in[1] == INFER__ABSENT ||
            a->in[0] == a->in[1] || a->out[0] == INFER__ABSENT)
            continue;
        y = a->out[0];
        if (s->vals[y].kind != INFER__VAL_ARENA || s->vals[y].dtype != INFER_DTYPE_F32 || s->vals[y].nhwc) continue;
        for (k = 0; k < 2; k++) { /* the Conv: the later made of the two inputs that qualify */
            uint32_t in = a->in[k];
            int32_t prod = m->tensors[in].producer;
            const infer__val *v = &s->vals[in];
            if (prod < 0 || pos[prod] < 0 || pos[prod] <= best || v->kind != INFER__VAL_ARENA || uses[in] != 1 ||
                m->nodes[prod].out[0] != in || !infer__same_dims(v, &s->vals[y]) || !infer__conv_takes_res(s, (uint32_t)prod))
                continue;
            best = pos[prod], conv = (uint32_t)prod, x = in, r = a->in[1 - k];
        }
        if (best < 0) continue;
        from = (uint32_t)infer__root(s, r);
        rp = s->vals[from].kind == INFER__VAL_ARENA ? m->tensors[from].producer : -1;
        if (s->vals[r].dtype != INFER_DTYPE_F32 || s->vals[r].nhwc || !infer__same_dims(&s->vals[r], &s->vals[y]) ||
            (rp >= 0 && (pos[rp] < 0 || pos[rp] >= best)))
            continue;
        z = y;
        if (uses[y] == 1) /* a Relu that alone reads the Add's output */
            for (t = i + 1; t < s->n_steps && !relu; t++) {
                const infer__node *n = &m->nodes[s->steps[t]];
                if (n->op == INFER__OP_RELU && n->n_in == 1 && n->in[0] == y && n->out[0] != INFER__ABSENT &&
                    s->vals[n->out[0]].kind == INFER__VAL_ARENA && !s->vals[n->out[0]].nhwc)
                    relu = n, z = n->out[0], rs = s->steps[t];
            }
        if (uses[z] >= INFER__OUT_USE) continue;
        s->params[conv].conv.res = &s->vals[r];
        if (relu) s->params[conv].conv.act.kind = INFER__ACT_RELU, drop[rs] = 1;
        drop[s->steps[i]] = 1, fused++;
        s->vals[y].kind = s->vals[z].kind = INFER__VAL_VIEW;
        s->vals[y].alias = s->vals[z].alias = (int32_t)x;
        uses[x] = uses[z]; /* its readers now: the Add's, or the Relu's */
    }
    for (t = 0; fused && t < m->n_tensors; t++) /* views of y or z point at the root again */
        if (s->vals[t].kind == INFER__VAL_VIEW) s->vals[t].alias = infer__root(s, (uint32_t)s->vals[t].alias);
    for (i = 0; i < s->n_steps; i++)
        if (!drop[s->steps[i]]) s->steps[kept++] = s->steps[i];
    s->n_steps = kept;
    infer__free(&s->a, pos);
    infer__free(&s->a, drop);
    return INFER_STATUS_OK;
}

/* Whether output o (last read at step last_o) may take root value r's bytes at step:
   r dies there and has o's shape. If so, o takes them. */
static int infer__share(infer_session *s, infer__buf *bufs, int32_t r, uint32_t o, int32_t last_o, int32_t step) {
    const infer__val *x = &s->vals[r];
    infer__val *v = &s->vals[o];
    if (x->kind != INFER__VAL_ARENA || x->storage < 0 || bufs[x->storage].last != step || x->bytes != v->bytes ||
        !infer__same_dims(x, v) || infer_dtype_bytes(x->dtype) != infer_dtype_bytes(v->dtype))
        return 0;
    v->storage = x->storage;
    bufs[x->storage].last = INFER__MAX(bufs[x->storage].last, last_o);
    return 1;
}

/* Lifetimes, in-place sharing and the arena layout. */
static infer_status infer__plan_session(infer_session *s) {
    const infer_model *m = s->m;
    int32_t *last = (int32_t *)infer__calloc(&s->a, m->n_tensors, sizeof(int32_t));
    infer__buf *bufs = (infer__buf *)infer__calloc(&s->a, (size_t)m->n_tensors + s->n_steps, sizeof(infer__buf));
    uint32_t i, k, t, n_bufs = 0;
    int32_t step, res;
    infer_status st = INFER_STATUS_OK;
    if (!last || !bufs) {
        st = infer__fail(s->err, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory planning", m->path);
        goto done;
    }
    for (t = 0; t < m->n_tensors; t++) last[t] = -1;
    /* last use of every root value */
    for (step = 0; step < (int32_t)s->n_steps; step++) {
        const infer__node *n = &m->nodes[s->steps[step]];
        for (k = 0; k < n->n_in; k++)
            if (n->in[k] != INFER__ABSENT) last[infer__root(s, n->in[k])] = step;
        if ((res = infer__residual(s, s->steps[step])) >= 0) last[res] = step;
        for (k = 0; k < n->n_out; k++)
            if (n->out[k] != INFER__ABSENT && last[n->out[k]] < step) last[n->out[k]] = step;
    }
    for (k = 0; k < m->n_outputs; k++) last[infer__root(s, m->outputs[k])] = (int32_t)s->n_steps;
    for (step = 0; step < (int32_t)s->n_steps; step++) {
        uint32_t node = s->steps[step];
        const infer__node *n = &m->nodes[node];
        unsigned used_in = 0;
        for (k = 0; k < n->n_out; k++) {
            infer__val *o;
            uint32_t j;
            if (n->out[k] == INFER__ABSENT) continue;
            o = &s->vals[n->out[k]];
            if (o->bytes == 0) continue;
            if (k == 0 && (infer__ops[n->op].flags & INFER__OPF_INPLACE)) {
                for (j = 0; j < n->n_in && j < 32; j++) { /* an input of the same shape that dies here */
                    if (n->in[j] == INFER__ABSENT || (used_in & (1u << j)) ||
                        !infer__share(s, bufs, infer__root(s, n->in[j]), n->out[k], last[n->out[k]], step))
                        continue;
                    used_in |= 1u << j;
                    break;
                }
                if (o->storage >= 0) continue;
            }
            if (k == 0 && (res = infer__residual(s, node)) >= 0) { /* a fused residual that dies here, if X is not it */
                for (j = 0; j < n->n_in && (n->in[j] == INFER__ABSENT || infer__root(s, n->in[j]) != res); j++) continue;
                if (j == n->n_in && infer__share(s, bufs, res, n->out[k], last[n->out[k]], step)) continue;
            }
            if (!infer__align_up(o->bytes, &bufs[n_bufs].size)) {
                st = infer__fail(s->err, INFER_STATUS_OUT_OF_MEMORY, "%s: tensor too large", m->path);
                goto done;
            }
            bufs[n_bufs].first = step;
            bufs[n_bufs].last = INFER__MAX(step, last[n->out[k]]);
            o->storage = (int32_t)n_bufs++;
        }
        if (s->scratch_bytes[node]) {
            if (!infer__align_up(s->scratch_bytes[node], &bufs[n_bufs].size)) {
                st = infer__fail(s->err, INFER_STATUS_OUT_OF_MEMORY, "%s: scratch too large", m->path);
                goto done;
            }
            bufs[n_bufs].first = bufs[n_bufs].last = step;
            s->scratch_off[node] = n_bufs++; /* the buffer's index until planned */
        }
    }
    if (!infer__plan(&s->a, bufs, n_bufs, (int32_t)s->n_steps, &s->arena_bytes, &s->arena_lower_bound)) {
        st = infer__fail(s->err, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory planning", m->path);
        goto done;
    }
    /* offsets for now; infer__place_arena turns them into pointers */
    for (t = 0; t < m->n_tensors; t++)
        if (s->vals[t].kind == INFER__VAL_ARENA && s->vals[t].storage >= 0) s->vals[t].offset = bufs[s->vals[t].storage].offset;
    for (i = 0; i < s->n_steps; i++) {
        uint32_t node = s->steps[i];
        if (s->scratch_bytes[node]) s->scratch_off[node] = bufs[s->scratch_off[node]].offset;
    }
done:
    infer__free(&s->a, last);
    infer__free(&s->a, bufs);
    return st;
}

/* Points arena values, views and scratch into the arena (or at `empty` when empty). */
static void infer__place_arena(infer_session *s) {
    const infer_model *m = s->m;
    uint32_t t;
    for (t = 0; t < m->n_tensors; t++) {
        infer__val *v = &s->vals[t];
        if (v->kind == INFER__VAL_ARENA) v->data = v->storage >= 0 ? (void *)(s->arena + v->offset) : (void *)s->empty;
    }
    s->n_input_views = 0;
    for (t = 0; t < m->n_tensors; t++) {
        infer__val *v = &s->vals[t];
        if (v->kind != INFER__VAL_VIEW) continue;
        if (s->vals[v->alias].kind == INFER__VAL_INPUT) s->input_views[s->n_input_views++] = t;
        else v->data = s->vals[v->alias].data;
    }
}

/* -- device backends: the registry, attributes, and a session on a device --
   A backend registered with infer_register_backend runs the nodes it supports() on its
   device; the rest run on the CPU kernels. The device arena has the host plan's layout
   (the same offsets), and the session keeps its host arena as a mirror of it for the
   CPU nodes: before a CPU node, the device-made values it reads are copied out to their
   place in the mirror; after it, what it made that a device node reads is copied in.
   A value is copied at most once each way, inside its planned lifetime, so the planner's
   sharing of bytes (in place too) holds on both sides. Constants read by device nodes
   are uploaded once; graph inputs read by device nodes get a device buffer each, filled
   at the start of a run. */

#define INFER__MAX_BACKENDS 8

typedef struct infer__backend_entry {
    infer_backend be;
    char name[32];
} infer__backend_entry;

/* The one mutable global besides the CPU-feature cache and the error text: what
   infer_register_backend was given, under a lock of its own. */
static infer__backend_entry infer__backends[INFER__MAX_BACKENDS];
static int infer__n_backends;
static uint64_t infer__plan_ids; /* device plans so far: each gets the next id */
#if INFER__POOL
static pthread_mutex_t infer__backends_mu = PTHREAD_MUTEX_INITIALIZER;
static void infer__backends_lock(void) { pthread_mutex_lock(&infer__backends_mu); }
static void infer__backends_unlock(void) { pthread_mutex_unlock(&infer__backends_mu); }
#elif INFER__ATOMICS
static int infer__backends_flag;
static void infer__backends_lock(void) {
    while (__atomic_exchange_n(&infer__backends_flag, 1, __ATOMIC_ACQUIRE)) continue;
}
static void infer__backends_unlock(void) { __atomic_store_n(&infer__backends_flag, 0, __ATOMIC_RELEASE); }
#else
static void infer__backends_lock(void) {}
static void infer__backends_unlock(void) {}
#endif

infer_status infer_register_backend(const infer_backend *b) {
    int i;
    size_t len;
    if (!b || !b->name) return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "infer_register_backend: no backend or no name");
    len = strlen(b->name);
    if (!len || len >= sizeof infer__backends[0].name || strchr(b->name, ':') || !strcmp(b->name, "cpu"))
        return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "infer_register_backend: name '%s' must be 1 to 31 "
                           "bytes, without ':', and not 'cpu'", b->name);
    if (!b->device_count || !b->open || !b->close || !b->alloc || !b->free || !b->upload || !b->release ||
        !b->copy_in || !b->copy_out || !b->supports || !b->run || !b->sync || !b->graph_begin != !b->graph_end ||
        !b->comm_create != !b->comm_attach || !b->comm_create != !b->comm_destroy)
        return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "infer_register_backend: backend '%s' lacks a required "
                           "function (only prepare, unprepare, set_precision, graph_begin with graph_end, and "
                           "comm_create with comm_attach and comm_destroy may be NULL)", b->name);
    infer__backends_lock();
    for (i = 0; i < infer__n_backends && strcmp(infer__backends[i].name, b->name); i++) continue;
    if (i == INFER__MAX_BACKENDS) {
        infer__backends_unlock();
        return infer__fail(NULL, INFER_STATUS_OUT_OF_MEMORY, "infer_register_backend: '%s': %d backends are registered "
                           "already", b->name, INFER__MAX_BACKENDS);
    }
    infer__backends[i].be = *b;
    memcpy(infer__backends[i].name, b->name, len + 1);
    infer__backends[i].be.name = infer__backends[i].name;
    if (i == infer__n_backends) infer__n_backends++;
    infer__backends_unlock();
    return INFER_STATUS_OK;
}

/* Finds the backend a device string names ("NAME" or "NAME:N") into *be (a copy, with
   its name in name[32]) and *index. */
static infer_status infer__backend_find(const infer_model *m, const char *device, infer_backend *be, char *name,
                                        int *index) {
    const char *colon = strchr(device, ':');
    size_t len = colon ? (size_t)(colon - device) : strlen(device);
    char list[8 * 40] = "cpu";
    int i, found = -1;
    long n = 0;
    if (colon) {
        const char *p = colon + 1;
        if (!*p) n = -1;
        for (; *p && n >= 0; p++) n = *p >= '0' && *p <= '9' && n < 100000 ? n * 10 + (*p - '0') : -1;
        if (n < 0)
            return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "%s: device '%s': the part after ':' must be a "
                               "device number", m->path, device);
    }
    infer__backends_lock();
    for (i = 0; i < infer__n_backends; i++) {
        if (strlen(infer__backends[i].name) == len && !memcmp(infer__backends[i].name, device, len)) found = i;
        strcat(strcat(list, ", "), infer__backends[i].name);
    }
    if (found >= 0) {
        *be = infer__backends[found].be;
        memcpy(name, infer__backends[found].name, sizeof infer__backends[found].name);
        be->name = name;
    }
    infer__backends_unlock();
    if (found < 0)
        return infer__fail(NULL, INFER_STATUS_UNSUPPORTED, "%s: device '%s' is not available (registered: %s)", m->path,
                           device, list);
    *index = (int)n;
    return INFER_STATUS_OK;
}

/* 1 when the options ask for a registered device rather than the CPU */
static int infer__wants_device(const infer_session_options *opt) {
    return opt && opt->device && strcmp(opt->device, "cpu") != 0;
}

static const infer__attr *infer__op_attr(const infer_backend_op *op, const char *name, infer_attr_type type) {
    const infer__attr *a = op && op->node && name ? infer__attr_find((const infer__node *)op->node, name) : NULL;
    return a && a->type == type ? a : NULL;
}
int64_t infer_backend_attr_int(const infer_backend_op *op, const char *name, int64_t def) {
    const infer__attr *a = infer__op_attr(op, name, INFER_ATTR_INT);
    return a ? a->i : def;
}
float infer_backend_attr_float(const infer_backend_op *op, const char *name, float def) {
    const infer__attr *a = infer__op_attr(op, name, INFER_ATTR_FLOAT);
    return a ? a->f : def;
}
const char *infer_backend_attr_string(const infer_backend_op *op, const char *name, const char *def) {
    const infer__attr *a = infer__op_attr(op, name, INFER_ATTR_STRING);
    return a ? a->s : def;
}
long infer_backend_attr_ints(const infer_backend_op *op, const char *name, int64_t *out, size_t cap) {
    const infer__attr *a = infer__op_attr(op, name, INFER_ATTR_INTS);
    size_t i;
    if (!a) return -1;
    for (i = 0; out && i < a->n && i < cap; i++) out[i] = (int64_t)infer__rd64(a->arr + 8 * i);
    return (long)a->n;
}
long infer_backend_attr_floats(const infer_backend_op *op, const char *name, float *out, size_t cap) {
    const infer__attr *a = infer__op_attr(op, name, INFER_ATTR_FLOATS);
    size_t i;
    if (!a) return -1;
    for (i = 0; out && i < a->n && i < cap; i++) {
        uint32_t u = infer__rd32(a->arr + 4 * i);
        memcpy(&out[i], &u, sizeof u);
    }
    return (long)a->n;
}

/* One copy across the device boundary: value t (a root in the arena) at a step. */
typedef struct infer__copy {
    uint32_t step, t;
} infer__copy;

/* A session's device: its handle, arena and what runs where. */
struct infer__dev {
    infer_backend be;           /* the registered table, copied at creation */
    char name[32];
    void *h;                    /* open()'s handle, NULL until opened */
    int index;
    uint64_t plan_id;
    uint8_t *arena;             /* device memory, the host plan's layout */
    uint8_t *on_dev;            /* [n_nodes] 1: the device runs it */
    uint8_t *prepared;          /* [n_nodes] 1: prepare() succeeded (unprepare at free) */
    void **state;               /* [n_nodes] prepare()'s state */
    infer_backend_op *ops;      /* [n_nodes] what run() gets */
    infer_tensor *tens;         /* [n_refs] their tensors, laid out as the model's refs */
    const void **dptr;          /* [n_tensors] the device copy of a constant (uploaded) or a
                                   graph input (allocated); NULL else */
    uint32_t *duse;             /* [n_tensors] device nodes reading this root value */
    uint8_t *home;              /* [n_tensors] 1: an arena value a device node writes */
    infer__copy *outs, *ins;    /* device -> mirror before a CPU step; mirror -> device after one */
    uint32_t n_outs, n_ins;
    size_t n_device, n_fallback, copy_bytes;
    int all_device;
};

/* The device address of value t's bytes (NULL when empty or not on the device). */
static void *infer__dev_ptr(const infer_session *s, uint32_t t) {
    int32_t r = infer__root(s, t);
    const infer__val *v = &s->vals[r];
    if (!v->bytes) return NULL;
    if (v->kind == INFER__VAL_ARENA) return v->storage >= 0 ? s->dev->arena + v->offset : NULL;
    return (void *)(uintptr_t)s->dev->dptr[r];
}

/* Fills node's op (and its tensors) with the device addresses known now. */
static void infer__dev_op(infer_session *s, uint32_t node) {
    const infer_model *m = s->m;
    const infer__node *n = &m->nodes[node];
    infer__dev *d = s->dev;
    infer_tensor *ts = d->tens + (n->in - m->refs);
    uint32_t k;
    for (k = 0; k < n->n_in + n->n_out; k++) { /* in and out are adjacent in refs */
        uint32_t t = k < n->n_in ? n->in[k] : n->out[k - n->n_in];
        const infer__val *v;
        memset(&ts[k], 0, sizeof ts[k]);
        if (t == INFER__ABSENT) continue;
        v = &s->vals[t];
        ts[k].name = m->tensors[t].name;
        ts[k].dtype = v->dtype;
        ts[k].n_dims = v->n_dims;
        memcpy(ts[k].dims, v->dims, sizeof v->dims);
        ts[k].data = infer__dev_ptr(s, t);
        ts[k].data_bytes = v->bytes;
    }
    d->ops[node].op_type = infer__ops[n->op].name;
    d->ops[node].name = n->name;
    d->ops[node].n_inputs = n->n_in;
    d->ops[node].n_outputs = n->n_out;
    d->ops[node].inputs = ts;
    d->ops[node].outputs = ts + n->n_in;
    d->ops[node].node = n;
}

/* Drops the device copy of constant or graph input r. */
static void infer__dev_drop(infer_session *s, uint32_t r) {
    infer__dev *d = s->dev;
    if (!d->dptr[r]) return;
    if (s->vals[r].kind == INFER__VAL_CONST) d->be.release(d->h, d->dptr[r]);
    else d->be.free(d->h, (void *)(uintptr_t)d->dptr[r]);
    d->dptr[r] = NULL;
}

/* Opens the device the options name and allocates its arena and tables. */
static infer_status infer__dev_open(infer_session *s, const infer_session_options *opt) {
    const infer_model *m = s->m;
    infer__dev *d;
    char err[256] = "";
    int count;
    infer_status st;
    if (!(d = s->dev = (infer__dev *)infer__calloc(&s->a, 1, sizeof *d)))
        return infer__fail(s->err, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory", m->path);
    if ((st = infer__backend_find(m, opt->device, &d->be, d->name, &d->index))) {
        memcpy(s->err, infer_last_error(), sizeof s->err);
        return st;
    }
    if ((count = d->be.device_count(d->be.user)) <= d->index)
        return infer__fail(s->err, INFER_STATUS_BACKEND, "%s: no %s device %d (device_count reports %d)", m->path, d->name,
                           d->index, count < 0 ? 0 : count);
    if ((st = d->be.open(d->be.user, d->index, &d->h, err, sizeof err)) || !d->h) {
        d->h = NULL;
        return infer__fail(s->err, st ? st : INFER_STATUS_BACKEND, "%s: device '%s': open failed: %s", m->path,
                           opt->device, err[0] ? err : "no handle");
    }
    if (opt->precision && d->be.set_precision &&
        (st = d->be.set_precision(d->h, (infer_precision)opt->precision, err, sizeof err)))
        return infer__fail(s->err, st, "%s: device '%s': precision %d: %s", m->path, opt->device, opt->precision, err);
    if ((st = infer__tp_attach(s, d, err, sizeof err)))
        return infer__fail(s->err, st, "%s: device '%s': its device collectives: %s", m->path, opt->device, err);
    d->on_dev = (uint8_t *)infer__calloc(&s->a, m->n_nodes, 1);
    d->prepared = (uint8_t *)infer__calloc(&s->a, m->n_nodes, 1);
    d->state = (void **)infer__calloc(&s->a, m->n_nodes, sizeof(void *));
    d->ops = (infer_backend_op *)infer__calloc(&s->a, m->n_nodes, sizeof(infer_backend_op));
    d->tens = (infer_tensor *)infer__calloc(&s->a, m->n_refs, sizeof(infer_tensor));
    d->dptr = (const void **)infer__calloc(&s->a, m->n_tensors, sizeof(void *));
    d->duse = (uint32_t *)infer__calloc(&s->a, m->n_tensors, sizeof(uint32_t));
    d->home = (uint8_t *)infer__calloc(&s->a, m->n_tensors, 1);
    d->outs = (infer__copy *)infer__calloc(&s->a, m->n_refs, sizeof(infer__copy));
    d->ins = (infer__copy *)infer__calloc(&s->a, m->n_refs, sizeof(infer__copy));
    if (!d->on_dev || !d->prepared || !d->state || !d->ops || !d->tens || !d->dptr || !d->duse || !d->home || !d->outs ||
        !d->ins)
        return infer__fail(s->err, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory creating a session", m->path);
    if (s->arena_bytes && !(d->arena = (uint8_t *)d->be.alloc(d->h, s->arena_bytes)))
        return infer__fail(s->err, INFER_STATUS_OUT_OF_MEMORY, "%s: device '%s': no memory for a %zu-byte arena", m->path,
                           opt->device, s->arena_bytes);
    infer__backends_lock();
    d->plan_id = ++infer__plan_ids;
    infer__backends_unlock();
    return INFER_STATUS_OK;
}

/* Asks the backend for step `node`: gives the constants and graph inputs it reads device
   copies first (dropped again when it says no and no device node reads them). *on: 1 when
   the device runs it. */
static infer_status infer__dev_assign(infer_session *s, uint32_t node, int *on) {
    const infer_model *m = s->m;
    const infer__node *n = &m->nodes[node];
    infer__dev *d = s->dev;
    infer_status st;
    uint32_t k;
    *on = 0;
    if ((st = infer__fold_deferred(s, node))) return st; /* a deferred weight: its f32 value for upload */
    for (k = 0; k < n->n_in; k++) {
        int32_t r;
        const infer__val *v;
        if (n->in[k] == INFER__ABSENT) continue;
        r = infer__root(s, n->in[k]);
        v = &s->vals[r];
        if (d->dptr[r] || !v->bytes || (v->kind != INFER__VAL_CONST && v->kind != INFER__VAL_INPUT)) continue;
        d->dptr[r] = v->kind == INFER__VAL_CONST ? d->be.upload(d->h, v->data, v->bytes) : d->be.alloc(d->h, v->bytes);
        if (!d->dptr[r])
            return infer__fail(s->err, INFER_STATUS_BACKEND, "%s: device '%s': no device memory for %s '%s' (%zu bytes)",
                               m->path, d->name, v->kind == INFER__VAL_CONST ? "constant" : "input", m->tensors[r].name,
                               v->bytes);
    }
    infer__dev_op(s, node);
    *on = d->be.supports(d->h, &d->ops[node]) == 1;
    for (k = 0; k < n->n_in; k++) {
        int32_t r;
        if (n->in[k] == INFER__ABSENT) continue;
        r = infer__root(s, n->in[k]);
        if (*on) d->duse[r]++;
        else if (!d->duse[r]) infer__dev_drop(s, (uint32_t)r);
    }
    if (*on)
        for (k = 0; k < n->n_out; k++)
            if (n->out[k] != INFER__ABSENT) d->home[n->out[k]] = 1;
    d->on_dev[node] = (uint8_t)*on;
    return INFER_STATUS_OK;
}

/* After every step is assigned: the copy plan, the counts, then prepare() per device node. */
static infer_status infer__dev_finish(infer_session *s) {
    const infer_model *m = s->m;
    infer__dev *d = s->dev;
    uint32_t i, k;
    uint8_t *out_done = (uint8_t *)infer__calloc(&s->a, m->n_tensors, 1);
    char err[256];
    infer_status st;
    if (!out_done) return infer__fail(s->err, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory", m->path);
    for (i = 0; i < s->n_steps; i++) {
        const infer__node *n = &m->nodes[s->steps[i]];
        if (d->on_dev[s->steps[i]]) {
            d->n_device++;
            continue;
        }
        d->n_fallback++;
        for (k = 0; k < n->n_in; k++) { /* device-made values it reads: copied out once, before the first */
            int32_t r;
            if (n->in[k] == INFER__ABSENT) continue;
            r = infer__root(s, n->in[k]);
            if (!d->home[r] || out_done[r] || !s->vals[r].bytes) continue;
            out_done[r] = 1;
            d->outs[d->n_outs].step = i;
            d->outs[d->n_outs++].t = (uint32_t)r;
            d->copy_bytes += s->vals[r].bytes;
        }
        for (k = 0; k < n->n_out; k++) { /* what it makes that a device node reads: copied in after */
            uint32_t t = n->out[k];
            if (t == INFER__ABSENT || !d->duse[t] || !s->vals[t].bytes) continue;
            d->ins[d->n_ins].step = i;
            d->ins[d->n_ins++].t = t;
            d->copy_bytes += s->vals[t].bytes;
        }
    }
    infer__free(&s->a, out_done);
    d->all_device = d->n_fallback == 0;
    if (d->all_device && s->arena_raw) { /* no CPU node: the host mirror would never be touched */
        s->be->free(&s->a, s->arena_raw);
        s->arena = NULL, s->arena_raw = NULL, s->arena_cap = 0;
        for (i = 0; i < m->n_tensors; i++)
            if (s->vals[i].kind == INFER__VAL_ARENA || (s->vals[i].kind == INFER__VAL_VIEW &&
                                                         s->vals[infer__root(s, i)].kind == INFER__VAL_ARENA))
                s->vals[i].data = NULL;
    }
    for (i = 0; i < s->n_steps; i++) {
        uint32_t node = s->steps[i];
        if (!d->on_dev[node] || !d->be.prepare) continue;
        err[0] = '\0';
        if ((st = d->be.prepare(d->h, &d->ops[node], &d->state[node], err, sizeof err)))
            return infer__fail(s->err, st, "%s: node '%s' (%s): %s prepare failed: %s", m->path, m->nodes[node].name,
                               infer__ops[m->nodes[node].op].name, d->name, err);
        d->prepared[node] = 1;
    }
    return INFER_STATUS_OK;
}

static void infer__dev_free(infer_session *s) {
    infer__dev *d = s->dev;
    uint32_t i;
    char err[256];
    if (!d) return;
    if (d->h) {
        d->be.sync(d->h, err, sizeof err); /* nothing may still use what goes now */
        for (i = 0; d->prepared && i < s->m->n_nodes; i++)
            if (d->prepared[i] && d->be.unprepare) d->be.unprepare(d->h, d->state[i]);
        for (i = 0; d->dptr && i < s->m->n_tensors; i++) infer__dev_drop(s, i);
        if (d->arena) d->be.free(d->h, d->arena);
        d->be.close(d->h);
    }
    infer__free(&s->a, d->on_dev);
    infer__free(&s->a, d->prepared);
    infer__free(&s->a, (void *)d->state);
    infer__free(&s->a, d->ops);
    infer__free(&s->a, d->tens);
    infer__free(&s->a, (void *)d->dptr);
    infer__free(&s->a, d->duse);
    infer__free(&s->a, d->home);
    infer__free(&s->a, d->outs);
    infer__free(&s->a, d->ins);
    infer__free(&s->a, d);
    s->dev = NULL;
}

void infer_session_free(infer_session *s) {
    uint32_t i;
    infer_allocator a;
    if (!s) return;
    if (s->tp) { /* frees the other devices, then this session through here again */
        infer__tp_free(s);
        return;
    }
    a = s->a;
    infer__pool_stop(&a, s->rt.pool);
    infer__dev_free(s);
    for (i = 0; s->plans && i < (uint32_t)s->n_plans; i++) infer_session_free(s->plans[i]);
    infer__free(&a, (void *)s->plans);
    for (i = 0; i < s->n_consts; i++) infer__free(&a, s->consts[i]);
    for (i = 0; s->packed_raw && i < s->m->n_nodes; i++) infer__free(&a, s->packed_raw[i]);
    infer__free(&a, (void *)s->packed);
    infer__free(&a, (void *)s->packed_raw);
    infer__free(&a, s->wino_e);
    if (s->arena_raw) s->be->free(&a, s->arena_raw);
    infer__free(&a, s->vals);
    infer__free(&a, s->params);
    infer__free(&a, (void *)s->slots);
    infer__free(&a, (void *)s->kernels);
    infer__free(&a, s->scratch_off);
    infer__free(&a, s->scratch_bytes);
    infer__free(&a, s->steps);
    infer__free(&a, s->input_views);
    infer__free(&a, (void *)s->consts);
    infer__free(&a, s->node_ms);
    infer__free(&a, s);
}

/* A node whose weight was packed (infer__cpu_pack) reads only the packed copy: a value
   creation folded for it (an f16/bf16 weight widened by its Cast, an int8 one dequantized
   by its DequantizeLinear) is freed when that node is its only reader and it is no graph
   output, so the weights are not resident twice (issue 9). */
static void infer__release_folded(infer_session *s, uint32_t node) {
    const infer_model *m = s->m;
    uint32_t t = m->nodes[node].in[1], uses = 0, k;
    infer__val *v = &s->vals[t];
    for (k = 0; k < m->n_refs; k++) uses += m->refs[k] == t;
    for (k = 0; k < m->n_outputs; k++) uses += m->outputs[k] == t;
    /* refs hold every node's inputs and outputs: the DequantizeLinear's output and this node */
    if (uses != 2 || v->kind != INFER__VAL_CONST || m->tensors[t].data || !v->data) return;
    for (k = 0; k < s->n_consts; k++) { /* infer__fold's allocation: data is raw rounded up */
        uint8_t *raw = (uint8_t *)s->consts[k];
        if (raw && (uint8_t *)v->data >= raw && (uint8_t *)v->data < raw + INFER__ALIGN) {
            infer__free(&s->a, raw);
            s->consts[k] = NULL;
            s->const_bytes -= INFER__MIN(s->const_bytes, v->bytes);
            v->data = NULL;
            return;
        }
    }
}

/* Pre-packs constant weights for the kernels chosen (once per session, never per run):
   DESIGN.md "Memory planner". Packed bytes count against the memory cap. A packed
   tensor of a mapped model file that nothing else reads gives its pages back, so the
   weights are not resident twice. */
static infer_status infer__pack_weights(infer_session *s) {
    const infer_model *m = s->m;
    size_t cap = s->max_bytes - INFER__MIN(s->max_bytes, s->const_bytes);
    uint32_t i, k;
    cap -= INFER__MIN(cap, s->arena_bytes);
    for (i = 0; i < s->n_steps; i++) {
        uint32_t node = s->steps[i];
        infer__ctx c;
        size_t n, bytes;
        float *dst;
        int wino;
        infer__ctx_init(s, node, &c);
        if (s->be != &infer__cpu_backend || (s->dev && s->dev->on_dev[node]) ||
            !(n = infer__cpu_pack(&c, s->kernels[node], NULL, &wino)))
            continue;
        if (!s->packed) {
            s->packed = (const float **)infer__calloc(&s->a, m->n_nodes, sizeof(float *));
            s->packed_raw = (void **)infer__calloc(&s->a, m->n_nodes, sizeof(void *));
            s->wino_e = (uint8_t *)infer__calloc(&s->a, m->n_nodes, 1);
            if (!s->packed || !s->packed_raw || !s->wino_e)
                return infer__cfail(&c, INFER_STATUS_OUT_OF_MEMORY, "out of memory");
        }
        if (n > SIZE_MAX / sizeof(float) || (bytes = n * sizeof(float)) > cap - INFER__MIN(cap, s->packed_bytes))
            return infer__cfail(&c, INFER_STATUS_OUT_OF_MEMORY,
                                "pre-packed weights (%zu bytes so far) are over the session's memory cap of %zu bytes",
                                s->packed_bytes + n * sizeof(float), s->max_bytes);
        dst = (float *)infer__alloc_aligned(&s->a, bytes, &s->packed_raw[node]);
        if (!dst) return infer__cfail(&c, INFER_STATUS_OUT_OF_MEMORY, "out of memory pre-packing %zu bytes", bytes);
        infer__cpu_pack(&c, s->kernels[node], dst, &wino);
        s->packed[node] = dst;
        s->wino_e[node] = (uint8_t)wino; /* kept when infer_session_set_dims changes the shapes */
        s->packed_bytes += bytes;
        infer__release_folded(s, node); /* a folded weight (f16/bf16 widened, int8 dequantized) only this node read */
        if (m->mapped) { /* the source tensor: a weight of the file, read by this node only? */
            uint32_t t = m->nodes[node].in[1], uses = 0;
            for (k = 0; k < m->n_refs; k++) uses += m->refs[k] == t;
            for (k = 0; k < m->n_outputs; k++) uses += m->outputs[k] == t;
            if (uses == 1 && m->tensors[t].data && s->vals[t].data == (const void *)m->tensors[t].data)
                infer__release_pages(m->tensors[t].data, m->tensors[t].data_bytes);
        }
    }
    return INFER_STATUS_OK;
}

/* Everything but the arena; plan_only 1 stops after planning (for the size query),
   2 after choosing kernels too (a plan for infer_session_set_dims: no arena). */
static infer_status infer__session_build(const infer_model *m, const infer_session_options *opt, int plan_only,
                                         infer_session **out) {
    infer_allocator a;
    infer_session *s;
    infer_status st;
    uint32_t i;
    memset(&a, 0, sizeof a);
    if (opt) a = opt->allocator;
    *out = NULL;
    if (!m) return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "infer_session_create: model is NULL");
    if (infer__wants_device(opt) && plan_only == 1) { /* the size query: a known name, nothing opened */
        infer_backend be;
        char name[32];
        int index;
        if ((st = infer__backend_find(m, opt->device, &be, name, &index))) return st;
    }
    if (opt && opt->n_threads < 0)
        return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "%s: n_threads %d < 0", m->path, opt->n_threads);
    if (opt && opt->max_plans < 0)
        return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "%s: max_plans %d < 0", m->path, opt->max_plans);
    if (opt && (opt->precision < INFER_PRECISION_F32 || opt->precision > INFER_PRECISION_BF16))
        return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "%s: precision %d is not an infer_precision", m->path,
                           opt->precision);
    s = (infer_session *)infer__calloc(&a, 1, sizeof *s);
    if (!s) return infer__fail(NULL, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory", m->path);
    s->m = m;
    s->a = a;
    s->be = &infer__cpu_backend;
    s->n_threads = opt && opt->n_threads ? opt->n_threads : infer__default_threads();
    s->max_bytes = opt && opt->max_memory_bytes ? opt->max_memory_bytes : SIZE_MAX;
    s->force_reference = opt && opt->force_reference; /* infer__q8_defer reads it */
    s->vals = (infer__val *)infer__calloc(&a, m->n_tensors, sizeof(infer__val));
    s->params = (infer__params *)infer__calloc(&a, m->n_nodes, sizeof(infer__params));
    s->slots = (infer__val **)infer__calloc(&a, m->n_refs, sizeof(infer__val *));
    s->kernels = (infer__kernel_fn *)infer__calloc(&a, m->n_nodes, sizeof(infer__kernel_fn));
    s->scratch_off = (size_t *)infer__calloc(&a, m->n_nodes, sizeof(size_t));
    s->scratch_bytes = (size_t *)infer__calloc(&a, m->n_nodes, sizeof(size_t));
    s->steps = (uint32_t *)infer__calloc(&a, m->n_nodes, sizeof(uint32_t));
    s->input_views = (uint32_t *)infer__calloc(&a, m->n_tensors, sizeof(uint32_t));
    s->consts = (void **)infer__calloc(&a, (size_t)m->n_refs + (opt ? opt->n_constants : 0), sizeof(void *)); /* one per node output or fixed input */
    if (!s->vals || !s->params || !s->slots || !s->kernels || !s->scratch_off || !s->scratch_bytes || !s->steps ||
        !s->input_views || !s->consts) {
        st = infer__fail(s->err, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory creating a session", m->path);
        goto fail;
    }
    if (opt && opt->profile && !(s->node_ms = (double *)infer__calloc(&a, m->n_nodes, sizeof(double)))) {
        st = infer__fail(s->err, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory creating a session", m->path);
        goto fail;
    }
    if ((st = infer__bind_inputs(s, opt))) goto fail;
    s->n_fixed = (uint32_t)(opt ? opt->n_constants : 0);
    if ((st = infer__infer_graph(s)) || (st = infer__layout_pass(s, opt)) || (st = infer__residual_pass(s, opt))) goto fail;
    if ((st = infer__plan_session(s))) goto fail;
    if (s->arena_bytes > s->max_bytes - INFER__MIN(s->max_bytes, s->const_bytes)) {
        st = infer__fail(s->err, INFER_STATUS_OUT_OF_MEMORY,
                         "%s: the arena (%zu bytes) and folded constants (%zu bytes) are over the session's memory cap "
                         "of %zu bytes", m->path, s->arena_bytes, s->const_bytes, s->max_bytes);
        goto fail;
    }
    if (!plan_only) {
        if (opt && opt->arena) {
            if (((uintptr_t)opt->arena % INFER__ALIGN) != 0 || opt->arena_bytes < s->arena_bytes) {
                st = infer__fail(s->err, INFER_STATUS_INVALID_ARGUMENT,
                                 "%s: the caller's arena (%zu bytes at %p) must be 64-byte aligned and hold %zu bytes",
                                 m->path, opt->arena_bytes, opt->arena, s->arena_bytes);
                goto fail;
            }
            s->arena = (uint8_t *)opt->arena;
            s->arena_cap = opt->arena_bytes;
            s->caller_arena = 1;
        } else if (s->arena_bytes) {
            s->arena = (uint8_t *)s->be->alloc(&a, s->arena_bytes, &s->arena_raw);
            if (!s->arena) {
                st = infer__fail(s->err, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory for a %zu-byte arena", m->path,
                                 s->arena_bytes);
                goto fail;
            }
            s->arena_cap = s->arena_bytes;
        }
        infer__place_arena(s);
        if (infer__wants_device(opt) && (st = infer__dev_open(s, opt))) goto fail;
    }
    if (plan_only != 1) {
        for (i = 0; i < s->n_steps; i++) {
            infer__ctx c;
            int on = 0;
            infer__ctx_init(s, s->steps[i], &c);
            if (s->dev && (st = infer__dev_assign(s, s->steps[i], &on))) goto fail;
            if (on) { /* the device runs it: its CPU kernel only marks it as running */
                s->kernels[s->steps[i]] = infer__ops[m->nodes[s->steps[i]].op].kernel;
                continue;
            }
            if (!s->be->supports(&c)) {
                st = infer__cfail(&c, INFER_STATUS_UNSUPPORTED, "the %s backend cannot run this node", s->be->name);
                goto fail;
            }
            s->kernels[s->steps[i]] = s->be->prepare(&c, opt && opt->force_reference);
            if ((st = infer__fold_deferred(s, s->steps[i]))) goto fail;
        }
        if (s->dev && (st = infer__dev_finish(s))) goto fail;
        /* once per session: a plan for infer_session_set_dims (plan_only 2) runs on the
           session's packed weights, which do not depend on the dims */
        if (!plan_only && (st = infer__pack_weights(s))) goto fail;
    }
    *out = s;
    return INFER_STATUS_OK;
fail:
    infer_session_free(s);
    return st;
}

/* What a built session takes from the options besides its plan: threads, cancellation,
   logging and the plan cache (a plain session, and each device of a tensor-parallel one). */
static infer_status infer__session_setup(infer_session *s, const infer_session_options *opt) {
    const infer_model *m = s->m;
    s->force_reference = opt && opt->force_reference;
    s->max_plans = opt && opt->max_plans ? opt->max_plans : 8;
    s->rt.n_threads = s->n_threads;
    s->rt.spin_us = !opt || !opt->spin_us ? 1000 : opt->spin_us < 0 ? 0 : opt->spin_us;
    if (opt) {
        s->rt.host = opt->parallel_for, s->rt.host_user = opt->parallel_user;
        s->rt.abort_fn = opt->abort, s->rt.abort_user = opt->abort_user;
        s->rt.log = opt->log, s->rt.log_user = opt->log_user;
    }
    if (s->max_plans > 1) {
        s->plans = (infer_session **)infer__calloc(&s->a, (size_t)s->max_plans - 1, sizeof(infer_session *));
        if (!s->plans) {
            infer__fail(s->err, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory creating a session", m->path);
            if (s->rt.log) s->rt.log(s->rt.log_user, INFER_LOG_ERROR, s->err);
            return INFER_STATUS_OUT_OF_MEMORY;
        }
    }
    if (!s->rt.host && s->n_threads > 1) infer__pool_start(&s->a, &s->rt);
    if (s->dev)
        infer__log(&s->rt, INFER_LOG_INFO, "%s: device '%s': %zu nodes on the device, %zu fall back to the CPU, %zu bytes "
                   "copied per run", m->path, opt->device, s->dev->n_device, s->dev->n_fallback, s->dev->copy_bytes);
    infer__log(&s->rt, INFER_LOG_INFO, "%s: session: %zu of %u nodes run, arena %zu bytes (lower bound %zu), %zu bytes of "
               "folded constants, %d threads%s", m->path, (size_t)s->n_steps, m->n_nodes, s->arena_bytes,
               s->arena_lower_bound, s->const_bytes, s->n_threads, s->rt.host ? " (the host's parallel-for)" : "");
    return INFER_STATUS_OK;
}

infer_status infer_session_create(const infer_model *m, const infer_session_options *opt, infer_session **out) {
    infer_status st;
    if (!out) return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "infer_session_create: out is NULL");
    *out = NULL;
    if (opt && opt->comm && infer__wants_device(opt))
        return infer__fail(NULL, INFER_STATUS_UNSUPPORTED, "%s: device '%s': a communicator's ranks run on the CPU only "
                           "for now (in-process tensor parallelism, tp > 1, runs on devices)",
                           m ? m->path : "infer_session_create", opt->device);
    if (opt && (opt->tp > 1 || opt->comm)) return infer__tp_create(m, opt, out);
    if ((st = infer__session_build(m, opt, 0, out))) {
        if (opt && opt->log) opt->log(opt->log_user, INFER_LOG_ERROR, infer_last_error());
        return st;
    }
    if ((st = infer__session_setup(*out, opt))) {
        infer_session_free(*out);
        *out = NULL;
    }
    return st;
}

infer_status infer_session_arena_bytes(const infer_model *m, const infer_session_options *opt, size_t *arena_bytes) {
    infer_session *s;
    infer_status st;
    if (!arena_bytes) return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "infer_session_arena_bytes: arena_bytes is NULL");
    *arena_bytes = 0;
    if (opt && opt->comm && infer__wants_device(opt))
        return infer__fail(NULL, INFER_STATUS_UNSUPPORTED, "%s: device '%s': a communicator's ranks run on the CPU only "
                           "for now", m ? m->path : "infer_session_arena_bytes", opt->device);
    if (opt && (opt->tp > 1 || opt->comm)) { /* per device: the largest */
        infer_tp_stats tps;
        if ((st = infer__tp_create(m, opt, &s))) return st;
        infer_session_get_tp_stats(s, &tps);
        *arena_bytes = tps.device_arena_bytes;
        infer_session_free(s);
        return INFER_STATUS_OK;
    }
    if ((st = infer__session_build(m, opt, 1, &s))) return st;
    *arena_bytes = s->arena_bytes;
    infer_session_free(s);
    return INFER_STATUS_OK;
}

const char *infer_session_error(const infer_session *s) { return s ? s->err : ""; }

static infer_status infer__session_io(const infer_session *s, size_t i, int is_in, infer_tensor_info *info) {
    const infer__val *v;
    infer_status st;
    int d;
    if (!s) return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "infer_session_%s: session is NULL", is_in ? "input" : "output");
    if ((st = infer__model_io(s->m, i, is_in, info))) return st;
    v = &s->vals[is_in ? s->m->inputs[i] : s->m->outputs[i]];
    info->dtype = v->dtype;
    info->n_dims = v->n_dims;
    for (d = 0; d < INFER_MAX_DIMS; d++) info->dims[d] = d < v->n_dims ? v->dims[d] : 0;
    return INFER_STATUS_OK;
}
infer_status infer_session_input(const infer_session *s, size_t i, infer_tensor_info *info) {
    return infer__session_io(s, i, 1, info);
}
infer_status infer_session_output(const infer_session *s, size_t i, infer_tensor_info *info) {
    return infer__session_io(s, i, 0, info);
}

void infer_session_get_stats(const infer_session *s, infer_session_stats *st) {
    if (!st) return;
    memset(st, 0, sizeof *st);
    if (!s) return;
    st->arena_bytes = s->arena_bytes;
    st->arena_lower_bound_bytes = s->arena_lower_bound;
    st->constant_bytes = s->const_bytes;
    st->n_nodes = s->m->n_nodes;
    st->n_steps = s->n_steps;
    st->n_threads = s->n_threads;
    st->arena_capacity_bytes = s->arena_cap;
    st->n_plans = (size_t)s->n_plans + 1;
    st->packed_weight_bytes = s->packed_bytes;
    if (s->dev) {
        st->n_device_nodes = s->dev->n_device;
        st->n_fallback_nodes = s->dev->n_fallback;
        st->copy_bytes_per_run = s->dev->copy_bytes;
    }
}

infer_status infer_session_node(const infer_session *s, size_t i, infer_node_info *info) {
    infer_status st;
    if (!s) return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "infer_session_node: session is NULL");
    if ((st = infer_model_node(s->m, i, info))) return st;
    info->runs = s->kernels[i] != NULL;
    info->kernel = s->kernels[i] ? infer__cpu_kernel_name(s->kernels[i]) : NULL;
    info->device = !s->kernels[i] ? NULL : !s->dev ? "cpu" : s->dev->on_dev[i] ? s->dev->name : "cpu (fallback)";
    if (s->dev && s->kernels[i] && s->dev->on_dev[i]) info->kernel = s->dev->name;
    info->total_ms = s->node_ms ? s->node_ms[i] : 0;
    info->n_runs = s->n_runs;
    return INFER_STATUS_OK;
}

/* Finds the model input/output that a caller's tensor names (by name, or by position). */
static long infer__match(const infer_session *s, const uint32_t *list, uint32_t n, const infer_tensor *t, size_t pos) {
    uint32_t i;
    if (!t->name) return pos < n ? (long)pos : -1;
    for (i = 0; i < n; i++)
        if (!strcmp(s->m->tensors[list[i]].name, t->name)) return (long)i;
    return -1;
}

/* -- the executor -- */

/* A stopped run: why, and where (step i of the plan; n_steps when all had run). */
static infer_status infer__cancelled(infer_session *s, uint32_t i) {
    const infer_model *m = s->m;
    if (i < s->n_steps)
        return infer__fail(s->err, INFER_STATUS_CANCELLED, "%s: run cancelled at node '%s' (step %u of %u)", m->path,
                           m->nodes[s->steps[i]].name, i + 1, s->n_steps);
    return infer__fail(s->err, INFER_STATUS_CANCELLED, "%s: run cancelled after its last node", m->path);
}

/* A backend call failed: its message, with the node when there is one. */
static infer_status infer__dev_fail(infer_session *s, infer_status st, uint32_t node, const char *what, const char *err) {
    const infer_model *m = s->m;
    if (st == INFER_STATUS_OK) st = INFER_STATUS_BACKEND;
    if (!err[0]) err = "no message";
    if (node == INFER__ABSENT) return infer__fail(s->err, st, "%s: %s %s failed: %s", m->path, s->dev->name, what, err);
    return infer__fail(s->err, st, "%s: node '%s' (%s): %s %s failed: %s", m->path, m->nodes[node].name,
                       infer__ops[m->nodes[node].op].name, s->dev->name, what, err);
}

/* The run of a device session, once infer__run has checked the caller's tensors and set the
   graph inputs: inputs in, the steps (device nodes enqueued, CPU nodes between copies),
   sync, outputs out. */
static infer_status infer__run_device(infer_session *s, infer_tensor *outputs, size_t n_outputs) {
    const infer_model *m = s->m;
    infer__dev *d = s->dev;
    char err[256] = "";
    uint32_t i, oi = 0, ii = 0;
    size_t j;
    infer_status st = INFER_STATUS_OK;
    int replayed = 0, graph;
    for (i = 0; i < m->n_inputs; i++) { /* the graph inputs device nodes read */
        uint32_t t = m->inputs[i];
        if (!d->duse[t] || !d->dptr[t] || s->vals[t].kind != INFER__VAL_INPUT) continue;
        if ((st = d->be.copy_in(d->h, (void *)(uintptr_t)d->dptr[t], s->vals[t].data, s->vals[t].bytes, err, sizeof err)))
            return infer__dev_fail(s, st, INFER__ABSENT, "copy_in of an input", err);
    }
    if (infer__stopped(&s->rt, 1)) return infer__cancelled(s, 0);
    graph = d->all_device && d->be.graph_begin && !s->node_ms && s->n_steps;
    if (graph) replayed = d->be.graph_begin(d->h, d->plan_id) == 1;
    for (i = 0; i < s->n_steps && !replayed; i++) {
        uint32_t node = s->steps[i];
        double t0 = s->node_ms ? infer__now_ms() : 0;
        err[0] = '\0';
        if (!graph && infer__stopped(&s->rt, 1)) {
            d->be.sync(d->h, err, sizeof err); /* leave the device idle */
            return infer__cancelled(s, i);
        }
        if (d->on_dev[node]) {
            st = d->be.run(d->h, &d->ops[node], d->state[node], err, sizeof err);
            if (!st && s->node_ms) st = d->be.sync(d->h, err, sizeof err); /* a profile times the node itself */
            if (st) {
                st = infer__dev_fail(s, st, node, "run", err);
                break;
            }
        } else {
            infer__ctx c;
            if (oi < d->n_outs && d->outs[oi].step == i && (st = d->be.sync(d->h, err, sizeof err))) {
                st = infer__dev_fail(s, st, node, "sync", err);
                break;
            }
            for (; oi < d->n_outs && d->outs[oi].step == i; oi++) {
                const infer__val *v = &s->vals[d->outs[oi].t];
                if ((st = d->be.copy_out(d->h, v->data, d->arena + v->offset, v->bytes, err, sizeof err))) break;
            }
            if (st) {
                st = infer__dev_fail(s, st, node, "copy_out of an input", err);
                break;
            }
            infer__ctx_init(s, node, &c);
            if ((st = s->be->run(&c, s->kernels[node]))) {
                if (infer__aload(&s->rt.stop)) st = infer__cancelled(s, i);
                break;
            }
            for (; ii < d->n_ins && d->ins[ii].step == i; ii++) {
                const infer__val *v = &s->vals[d->ins[ii].t];
                if ((st = d->be.copy_in(d->h, d->arena + v->offset, v->data, v->bytes, err, sizeof err))) break;
            }
            if (st) {
                st = infer__dev_fail(s, st, node, "copy_in of an output", err);
                break;
            }
        }
        if (s->node_ms) s->node_ms[node] += infer__now_ms() - t0;
    }
    if (graph) {
        infer_status ge;
        err[0] = '\0';
        ge = d->be.graph_end(d->h, err, sizeof err);
        if (!st && ge) st = infer__dev_fail(s, ge, INFER__ABSENT, "graph_end", err);
    }
    if (st) {
        d->be.sync(d->h, err, sizeof err); /* leave the device idle for the next run */
        return st;
    }
    err[0] = '\0';
    if ((st = d->be.sync(d->h, err, sizeof err))) return infer__dev_fail(s, st, INFER__ABSENT, "sync", err);
    if (infer__stopped(&s->rt, 1)) return infer__cancelled(s, s->n_steps);
    if (s->node_ms) s->n_runs++;
    for (j = 0; j < n_outputs; j++) {
        infer_tensor *t = &outputs[j];
        uint32_t o = m->outputs[infer__match(s, m->outputs, m->n_outputs, t, j)];
        int32_t r = infer__root(s, o);
        const infer__val *v = &s->vals[o];
        if (v->bytes && s->vals[r].kind == INFER__VAL_ARENA && d->home[r]) {
            if ((st = d->be.copy_out(d->h, t->data, d->arena + s->vals[r].offset, v->bytes, err, sizeof err)))
                return infer__dev_fail(s, st, INFER__ABSENT, "copy_out of an output", err);
        } else if (v->bytes) {
            memcpy(t->data, v->data, v->bytes);
        }
        t->dtype = v->dtype;
        t->n_dims = v->n_dims;
        memset(t->dims, 0, sizeof t->dims);
        if (v->n_dims) memcpy(t->dims, v->dims, sizeof(int64_t) * (size_t)v->n_dims);
    }
    return INFER_STATUS_OK;
}

static infer_status infer__run(infer_session *s, const infer_tensor *inputs, size_t n_inputs, infer_tensor *outputs,
                               size_t n_outputs) {
    const infer_model *m;
    uint32_t i;
    size_t j;
    char b1[96], b2[96];
    infer_status st;
    if (!s) return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "infer_run: session is NULL");
    if (infer__tp_dispatch(s)) return infer__tp_run(s, inputs, n_inputs, outputs, n_outputs);
    m = s->m;
    if ((n_inputs && !inputs) || (n_outputs && !outputs))
        return infer__fail(s->err, INFER_STATUS_INVALID_ARGUMENT, "infer_run: NULL inputs or outputs array");
    if (n_inputs != m->n_inputs - s->n_fixed)
        return infer__fail(s->err, INFER_STATUS_INVALID_ARGUMENT, "%s: infer_run got %zu inputs; the session takes %u",
                           m->path, n_inputs, m->n_inputs - s->n_fixed);
    for (i = 0; i < m->n_inputs; i++)
        if (s->vals[m->inputs[i]].kind == INFER__VAL_INPUT) s->vals[m->inputs[i]].data = NULL;
    for (j = 0; j < n_inputs; j++) {
        const infer_tensor *t = &inputs[j];
        long k = infer__match(s, m->inputs, m->n_inputs, t, j);
        infer__val *v;
        const char *name;
        if (k < 0)
            return infer__fail(s->err, INFER_STATUS_INVALID_ARGUMENT, "%s: the model has no input '%s'", m->path,
                               t->name ? t->name : "?");
        v = &s->vals[m->inputs[k]];
        name = m->tensors[m->inputs[k]].name;
        if (v->kind != INFER__VAL_INPUT)
            return infer__fail(s->err, INFER_STATUS_INVALID_ARGUMENT, "%s: input '%s' was fixed when the session was created",
                               m->path, name);
        if (v->data)
            return infer__fail(s->err, INFER_STATUS_INVALID_ARGUMENT, "%s: input '%s' is given twice", m->path, name);
        if (t->dtype != v->dtype || t->n_dims != v->n_dims ||
            (v->n_dims && memcmp(t->dims, v->dims, sizeof(int64_t) * (size_t)v->n_dims) != 0))
            return infer__fail(s->err, INFER_STATUS_SHAPE, "%s: input '%s' is %s %s; the session expects %s %s", m->path, name,
                               infer_dtype_name(t->dtype), infer__dstr(b1, t->n_dims < 0 || t->n_dims > INFER_MAX_DIMS ? 0 : t->n_dims, t->dims),
                               infer_dtype_name(v->dtype), infer__dstr(b2, v->n_dims, v->dims));
        if (t->data_bytes < v->bytes || (v->bytes && !t->data))
            return infer__fail(s->err, INFER_STATUS_INVALID_ARGUMENT, "%s: input '%s' has %zu bytes of data; it needs %zu",
                               m->path, name, t->data ? t->data_bytes : 0, v->bytes);
        v->data = v->bytes ? t->data : (void *)s->empty;
    }
    for (j = 0; j < n_outputs; j++) {
        const infer_tensor *t = &outputs[j];
        long k = infer__match(s, m->outputs, m->n_outputs, t, j);
        const infer__val *v;
        if (k < 0)
            return infer__fail(s->err, INFER_STATUS_INVALID_ARGUMENT, "%s: the model has no output '%s'", m->path,
                               t->name ? t->name : "?");
        v = &s->vals[m->outputs[k]];
        if (t->data_bytes < v->bytes || (v->bytes && !t->data))
            return infer__fail(s->err, INFER_STATUS_INVALID_ARGUMENT, "%s: output '%s' needs %zu bytes; the buffer has %zu",
                               m->path, m->tensors[m->outputs[k]].name, v->bytes, t->data ? t->data_bytes : 0);
    }
    for (i = 0; i < s->n_input_views; i++) {
        infer__val *v = &s->vals[s->input_views[i]];
        v->data = s->vals[v->alias].data;
    }
    if (s->dev) return infer__run_device(s, outputs, n_outputs);
    for (i = 0; i < s->n_steps; i++) { /* a cancel is checked before each node and inside long ones */
        infer__ctx c;
        double t0 = s->node_ms ? infer__now_ms() : 0;
        if (infer__stopped(&s->rt, 1)) return infer__cancelled(s, i);
        infer__ctx_init(s, s->steps[i], &c);
        if ((st = s->be->run(&c, s->kernels[s->steps[i]]))) /* a kernel cut short may fail on its inputs */
            return infer__aload(&s->rt.stop) ? infer__cancelled(s, i) : st;
        if (s->node_ms) s->node_ms[s->steps[i]] += infer__now_ms() - t0;
    }
    if (infer__stopped(&s->rt, 1)) return infer__cancelled(s, i); /* the last node may have been cut short */
    if (s->node_ms) s->n_runs++;
    if ((st = s->be->sync())) return infer__fail(s->err, st, "%s: backend sync failed", m->path);
    for (j = 0; j < n_outputs; j++) {
        infer_tensor *t = &outputs[j];
        const infer__val *v = &s->vals[m->outputs[infer__match(s, m->outputs, m->n_outputs, t, j)]];
        s->be->copy_out(t->data, v->data, v->bytes);
        t->dtype = v->dtype;
        t->n_dims = v->n_dims;
        memset(t->dims, 0, sizeof t->dims);
        if (v->n_dims) memcpy(t->dims, v->dims, sizeof(int64_t) * (size_t)v->n_dims);
    }
    return INFER_STATUS_OK;
}

infer_status infer_run(infer_session *s, const infer_tensor *inputs, size_t n_inputs, infer_tensor *outputs,
                       size_t n_outputs) {
    infer_status st = infer__run(s, inputs, n_inputs, outputs, n_outputs);
    if (s) infer__pool_park(s->rt.pool);
    if (st == INFER_STATUS_CANCELLED) {
        infer__astore(&s->rt.stop, 0); /* this run took the request: the next one starts afresh */
        infer__log(&s->rt, INFER_LOG_INFO, "%s", s->err);
    } else if (st && s) {
        infer__log(&s->rt, INFER_LOG_ERROR, "%s", s->err);
    }
    return st;
}

void infer_session_cancel(infer_session *s) {
    if (s) infer__astore(&s->rt.stop, 1);
}

void infer_session_set_deadline(infer_session *s, double deadline_ms) {
    if (!s) return;
    infer__astore64(&s->rt.deadline_us, deadline_ms > 0 ? (int64_t)(deadline_ms * 1e3) + (deadline_ms * 1e3 < 1) : 0);
}

/* -- re-binding dims: a bounded cache of plans, one arena (issue 10) -- */

/* Swaps the per-plan part of two sessions (the byte range vals .. plan_end). */
static void infer__swap_plan(infer_session *a, infer_session *b) {
    unsigned char *x = (unsigned char *)&a->vals, *y = (unsigned char *)&b->vals;
    size_t k, n = offsetof(infer_session, plan_end) - offsetof(infer_session, vals);
    for (k = 0; k < n; k++) {
        unsigned char t = x[k];
        x[k] = y[k];
        y[k] = t;
    }
}

/* 1 when plan p has every symbolic input dim at the value `dims` gives it. */
static int infer__plan_has_dims(const infer_session *p, const infer_dim *dims, size_t n_dims) {
    const infer_model *m = p->m;
    uint32_t i;
    int d;
    size_t j;
    for (i = 0; i < m->n_inputs; i++) {
        const infer__tensor *t = &m->tensors[m->inputs[i]];
        for (d = 0; d < t->n_dims; d++) {
            int found = 0;
            if (!t->sym[d]) continue;
            for (j = 0; j < n_dims; j++)
                if (dims[j].name && !strcmp(dims[j].name, t->sym[d]) && dims[j].value == p->vals[m->inputs[i]].dims[d])
                    found = 1;
            if (!found) return 0;
        }
    }
    return 1;
}

infer_status infer_session_set_dims(infer_session *s, const infer_dim *dims, size_t n_dims) {
    const infer_model *m;
    infer_session_options o;
    infer_session *e = NULL;
    infer_tensor *fixed = NULL;
    infer_status st = INFER_STATUS_OK;
    int k, slot = -1;
    uint32_t i;
    if (!s) return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "infer_session_set_dims: session is NULL");
    m = s->m;
    if (n_dims && !dims) return infer__fail(s->err, INFER_STATUS_INVALID_ARGUMENT, "infer_session_set_dims: dims is NULL");
    if (s->tp) /* every device would need the new plan at once */
        return infer__fail(s->err, INFER_STATUS_UNSUPPORTED, "%s: infer_session_set_dims: a tensor-parallel session "
                           "cannot re-bind dims; create a new session with these dims", m->path);
    for (i = 0; i < n_dims; i++) { /* names and values as creation checks them */
        uint32_t j;
        int used = 0, d;
        for (j = 0; dims[i].name && j < m->n_inputs && !used; j++)
            for (d = 0; d < m->tensors[m->inputs[j]].n_dims; d++)
                if (m->tensors[m->inputs[j]].sym[d] && !strcmp(m->tensors[m->inputs[j]].sym[d], dims[i].name)) used = 1;
        if (!used)
            return infer__fail(s->err, INFER_STATUS_INVALID_ARGUMENT, "%s: infer_session_set_dims: '%s' is not a symbolic "
                               "dim of any input", m->path, dims[i].name ? dims[i].name : "(null)");
    }
    if (infer__plan_has_dims(s, dims, n_dims)) return INFER_STATUS_OK;
    if (s->dev) /* the device's arena, uploads and prepared nodes belong to one plan */
        return infer__fail(s->err, INFER_STATUS_UNSUPPORTED, "%s: infer_session_set_dims: a session on device '%s' "
                           "cannot re-bind dims yet; create a new session with these dims", m->path, s->dev->name);
    for (k = 0; k < s->n_plans; k++)
        if (infer__plan_has_dims(s->plans[k], dims, n_dims)) slot = k;
    if (slot >= 0) {
        e = s->plans[slot];
    } else { /* a new plan: the session's options, these dims, the fixed inputs' values */
        memset(&o, 0, sizeof o);
        o.n_threads = s->n_threads;
        o.dims = dims;
        o.n_dims = n_dims;
        o.allocator = s->a;
        o.force_reference = s->force_reference;
        o.max_memory_bytes = s->max_bytes == SIZE_MAX ? 0 : s->max_bytes;
        if (s->n_fixed) {
            uint32_t n = 0;
            if (!(fixed = (infer_tensor *)infer__calloc(&s->a, s->n_fixed, sizeof(infer_tensor))))
                return infer__fail(s->err, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory", m->path);
            for (i = 0; i < m->n_inputs; i++) {
                const infer__val *v = &s->vals[m->inputs[i]];
                if (v->kind != INFER__VAL_CONST || n >= s->n_fixed) continue;
                fixed[n].name = m->tensors[m->inputs[i]].name;
                fixed[n].dtype = v->dtype;
                fixed[n].n_dims = v->n_dims;
                memcpy(fixed[n].dims, v->dims, sizeof v->dims);
                fixed[n].data = v->data;
                fixed[n++].data_bytes = v->bytes;
            }
            o.constants = fixed;
            o.n_constants = n;
        }
        st = infer__session_build(m, &o, 2, &e);
        infer__free(&s->a, fixed);
        if (st) {
            memcpy(s->err, infer_last_error(), sizeof s->err);
            goto fail;
        }
    }
    if (e->arena_bytes > s->arena_cap) { /* grow the arena (never shrink it) */
        void *raw = NULL;
        uint8_t *arena;
        if (s->caller_arena) {
            st = infer__fail(s->err, INFER_STATUS_INVALID_ARGUMENT, "%s: infer_session_set_dims: the plan for these dims "
                             "needs a %zu-byte arena; the caller's holds %zu", m->path, e->arena_bytes, s->arena_cap);
            goto fail;
        }
        if (!(arena = (uint8_t *)s->be->alloc(&s->a, e->arena_bytes, &raw))) {
            st = infer__fail(s->err, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory for a %zu-byte arena", m->path,
                             e->arena_bytes);
            goto fail;
        }
        infer__log(&s->rt, INFER_LOG_INFO, "%s: arena grown from %zu to %zu bytes", m->path, s->arena_cap, e->arena_bytes);
        if (s->arena_raw) s->be->free(&s->a, s->arena_raw);
        s->arena = arena, s->arena_raw = raw, s->arena_cap = e->arena_bytes;
    }
    if (slot < 0) { /* a slot for the plan that stops being current: a free one or the least recently used */
        if (s->n_plans < s->max_plans - 1) {
            slot = s->n_plans++;
        } else if (s->max_plans > 1) {
            slot = 0;
            for (k = 1; k < s->n_plans; k++)
                if (s->plans[k]->plan_used < s->plans[slot]->plan_used) slot = k;
            infer_session_free(s->plans[slot]);
        }
    }
    infer__swap_plan(s, e); /* e now holds the previous plan */
    if (slot >= 0) s->plans[slot] = e;
    else infer_session_free(e);
    s->plan_used = ++s->plan_clock;
    infer__place_arena(s);
    infer__log(&s->rt, INFER_LOG_DEBUG, "%s: dims re-bound: %zu of %u nodes run, arena %zu of %zu bytes, %d plans kept",
               m->path, (size_t)s->n_steps, m->n_nodes, s->arena_bytes, s->arena_cap, s->n_plans + 1);
    return INFER_STATUS_OK;
fail:
    if (e && slot < 0) infer_session_free(e);
    infer__log(&s->rt, INFER_LOG_ERROR, "%s", s->err);
    return st;
}

/* ===== 8. TENSOR PARALLELISM ========================================= >>tp */

/* A session given several devices (infer_session_options.tp = N, or a communicator of
   size N) runs one graph per device. The partitioner below rewrites the model once per
   rank into the same IR the loader builds, in which
   - a MatMul/Gemm -> (elementwise ops) -> MatMul/Gemm chain with constant weights (a
     transformer MLP) is split Megatron-style: the first weight by columns, the second by rows (its
     bias stays on rank 0), and an AllReduce (sum) follows the second;
   - any other large MatMul / Gemm (constant 2-D weight) is split by output columns and a
     Conv (group 1) by output channels, each followed by an AllGather;
   - an attention block (the Attention op, 4-D after Reshape + Transpose, or 3-D with
     q_num_heads / kv_num_heads; or left unfused: MatMul(Q, K^T), scale and mask ops the
     same for every head, Softmax, MatMul with V) is split by heads: rank r gets heads
     [h0, h1) (uneven when the heads do not divide by N), the columns of the Q/K/V projections for those heads
     (separate projections, or one fused QKV before a Split; a fused bias or an Add of
     one), runs Attention on its heads (the reshape targets, Split sizes and head counts in
     its graph say so), and the rows of the output projection, after which one AllReduce
     (sum) follows; that bias stays on rank 0. Grouped-query attention splits by kv heads
     (each device takes whole groups), or, with fewer kv heads than devices, shares each
     kv head among N / kv_heads devices that split its group's query heads. A block whose
     heads cannot go round (a device would get none), or whose shape is not the one above,
     is not split by heads (the plan says why): its projections are split as other layers;
   - everything else (small layers, norms, embeddings) is replicated.
   Recognising attention needs the tensors' shapes: the partitioner builds a plan-only
   session of the whole model once (only when the model has an Attention or Softmax node).
   Shards are copied once at creation (a column slice is not contiguous); replicated
   weights stay where the model keeps them (the file mapping), shared by the devices of
   one process. Shards are uneven when a size does not divide by N (the first ranks get
   one more). Each rank's graph is then an ordinary session: its own arena and thread
   team; the planner and executor do not know about tensor parallelism. AllReduce and
   AllGather nodes call the rank's communicator: in-process (the devices are threads of
   this process exchanging through shared memory, with a fixed summation order so that
   results do not depend on timing) or the caller's (backends/mpi/: one rank per
   process). NCCL/GPU devices wait for a CUDA backend. */

#ifndef INFER_TP_MAX_DEVICES
#define INFER_TP_MAX_DEVICES 64
#endif
#define INFER__TP_MIN_SPLIT_BYTES 4096 /* smaller layers are replicated */

#if !defined(_WIN32) && !defined(INFER_NO_THREADS)
#include <pthread.h>
#define INFER__TP_THREADS 1
#else
#define INFER__TP_THREADS 0
#endif

/* What a rank's graph carries for its collectives (infer_model.tp_dev). */
struct infer__tp_dev {
    const infer_comm *comm;
    double comm_ms; /* time inside collectives, all runs */
    int live;       /* 0 while the sessions are being created: a collective then would wait
                       for devices that are not running (a split input fixed at creation) */
    void *group;    /* the backend's device collectives (infer_backend.comm_create), or NULL */
    int rank;       /* this device's rank in the group */
};

static int infer__tp_rank_of(const infer__ctx *c, int *size) {
    const struct infer__tp_dev *d = c->m->tp_dev;
    *size = d && d->comm ? d->comm->size : 1;
    return d && d->comm ? d->comm->rank : 0;
}

/* -- the collective ops -- */

static infer_status infer__shape_all_reduce(infer__ctx *c) {
    const infer__val *x = c->in[0];
    if (x->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, 0, "f32");
    return infer__set_out(c, 0, x->dtype, x->n_dims, x->dims);
}

static infer_status infer__all_reduce_ref(const infer__ctx *c) {
    const infer__val *x = c->in[0], *y = c->out[0];
    struct infer__tp_dev *d = c->m->tp_dev;
    double t0;
    infer_status st;
    if (y->data != x->data && x->bytes) memcpy(y->data, x->data, x->bytes);
    if (!d || !d->comm || d->comm->size <= 1) return INFER_STATUS_OK;
    if (!d->live) return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "a split layer's input is fixed at session creation");
    t0 = infer__now_ms();
    st = d->comm->allreduce_sum_f32(d->comm->user, (float *)y->data, y->n);
    d->comm_ms += infer__now_ms() - t0;
    if (st) return infer__cfail(c, INFER_STATUS_BACKEND, "the communicator's all-reduce failed (%s)", infer_status_name(st));
    return INFER_STATUS_OK;
}

static infer_status infer__shape_all_gather(infer__ctx *c) {
    const infer__val *x = c->in[0];
    infer__axis_p *p = &c->p->ax;
    int64_t sizes[INFER_TP_MAX_DEVICES], dims[INFER_MAX_DIMS], axis = infer__attr_i(c->node, "axis", 0), total = 0;
    int n = infer__attr_ints(c->node, "sizes", sizes, INFER_TP_MAX_DEVICES), size, rank = infer__tp_rank_of(c, &size), i;
    if (x->dtype != INFER_DTYPE_F32) return infer__bad_dtype(c, 0, "f32");
    if (axis < -(int64_t)x->n_dims || axis >= x->n_dims)
        return infer__cfail(c, INFER_STATUS_SHAPE, "axis %lld is out of range for rank %d", (long long)axis, x->n_dims);
    if (axis < 0) axis += x->n_dims;
    if (n == -1) sizes[0] = x->dims[axis], n = 1; /* no sizes: one device */
    if (n != size)
        return infer__cfail(c, INFER_STATUS_SHAPE, "sizes has %d entries for %d devices", n < 0 ? INFER_TP_MAX_DEVICES + 1 : n,
                            size);
    for (i = 0; i < n; i++) {
        if (sizes[i] < 0 || sizes[i] > INFER_MAX_DIM_VALUE - total)
            return infer__cfail(c, INFER_STATUS_SHAPE, "sizes[%d] = %lld is out of range", i, (long long)sizes[i]);
        total += sizes[i];
    }
    if (sizes[rank] != x->dims[axis])
        return infer__cfail(c, INFER_STATUS_SHAPE, "device %d's part has %lld along axis %lld; sizes says %lld", rank,
                            (long long)x->dims[axis], (long long)axis, (long long)sizes[rank]);
    p->axis = axis;
    p->outer = p->inner = 1;
    for (i = 0; i < x->n_dims; i++) {
        dims[i] = x->dims[i];
        if (i < axis) p->outer *= x->dims[i];
        if (i > axis) p->inner *= x->dims[i];
    }
    dims[axis] = p->len = total;
    c->scratch_bytes = (size_t)n * sizeof(size_t); /* counts, then (outer > 1) the rank-major parts */
    if (p->outer > 1) {
        size_t cnt, bytes;
        if (!infer__dims_bytes(dims, x->n_dims, INFER_DTYPE_F32, SIZE_MAX / 2, &cnt, &bytes))
            return infer__cfail(c, INFER_STATUS_SHAPE, "the gathered tensor is too large");
        c->scratch_bytes += bytes;
    }
    return infer__set_out(c, 0, INFER_DTYPE_F32, x->n_dims, dims);
}

static infer_status infer__all_gather_ref(const infer__ctx *c) {
    const infer__axis_p *p = &c->p->ax;
    const infer__val *x = c->in[0], *y = c->out[0];
    struct infer__tp_dev *d = c->m->tp_dev;
    int64_t sizes[INFER_TP_MAX_DEVICES], start = 0, o;
    int n = infer__attr_ints(c->node, "sizes", sizes, INFER_TP_MAX_DEVICES), r;
    size_t *counts = (size_t *)c->scratch, off = 0;
    float *parts, *out = (float *)y->data;
    double t0;
    infer_status st;
    if (!d || !d->comm || d->comm->size <= 1 || n <= 1) {
        if (x->bytes && x->data != y->data) memcpy(y->data, x->data, x->bytes);
        return INFER_STATUS_OK;
    }
    if (!d->live) return infer__cfail(c, INFER_STATUS_UNSUPPORTED, "a split layer's input is fixed at session creation");
    for (r = 0; r < n; r++) counts[r] = (size_t)(p->outer * sizes[r] * p->inner);
    parts = p->outer > 1 ? (float *)(counts + n) : out;
    t0 = infer__now_ms();
    st = d->comm->allgather_f32(d->comm->user, (const float *)x->data, parts, counts);
    d->comm_ms += infer__now_ms() - t0;
    if (st) return infer__cfail(c, INFER_STATUS_BACKEND, "the communicator's all-gather failed (%s)", infer_status_name(st));
    if (p->outer > 1) /* [rank][outer][part][inner] -> [outer][len][inner] */
        for (r = 0; r < n; r++) {
            size_t part = (size_t)(sizes[r] * p->inner);
            for (o = 0; o < p->outer; o++)
                if (part) memcpy(out + ((size_t)o * (size_t)p->len + (size_t)start) * (size_t)p->inner, parts + off + (size_t)o * part,
                                 part * sizeof(float));
            off += counts[r];
            start += sizes[r];
        }
    return INFER_STATUS_OK;
}

/* -- the in-process communicator: devices are threads of this process -- */

#if INFER__TP_THREADS
typedef struct infer__hub infer__hub;
typedef struct infer__hub_rank {
    infer__hub *hub;
    int rank;
} infer__hub_rank;
struct infer__hub {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n, arrived, abort;
    int first;                               /* abort: the device that failed first */
    unsigned gen;
    float *ptr[INFER_TP_MAX_DEVICES];        /* what each rank shares for the collective under way */
    infer__hub_rank who[INFER_TP_MAX_DEVICES];
    infer_comm comm[INFER_TP_MAX_DEVICES];
};

/* Waits for every rank (no spinning); BACKEND once a device has failed its run. */
static infer_status infer__hub_barrier(void *user) {
    infer__hub *h = ((infer__hub_rank *)user)->hub;
    int ab;
    pthread_mutex_lock(&h->mu);
    if (!h->abort) {
        unsigned g = h->gen;
        if (++h->arrived == h->n) {
            h->arrived = 0;
            h->gen++;
            pthread_cond_broadcast(&h->cv);
        } else
            while (g == h->gen && !h->abort) pthread_cond_wait(&h->cv, &h->mu);
    }
    ab = h->abort;
    pthread_mutex_unlock(&h->mu);
    return ab ? INFER_STATUS_BACKEND : INFER_STATUS_OK;
}
static void infer__hub_abort(infer__hub *h, int device) {
    pthread_mutex_lock(&h->mu);
    if (!h->abort) h->first = device;
    h->abort = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}
/* Rank r sums elements [lo, hi) of every rank's buffer, in rank order, and writes the sum
   back into all of them: each element is added once, the same way on every device. */
static infer_status infer__hub_allreduce(void *user, float *data, size_t n) {
    infer__hub_rank *w = (infer__hub_rank *)user;
    infer__hub *h = w->hub;
    size_t chunk = n / (size_t)h->n, rem = n % (size_t)h->n, r = (size_t)w->rank, i;
    size_t lo = chunk * r + INFER__MIN(r, rem), hi = lo + chunk + (r < rem);
    int k;
    infer_status st;
    h->ptr[w->rank] = data;
    if ((st = infer__hub_barrier(user))) return st;
    for (i = lo; i < hi; i++) {
        float v = h->ptr[0][i];
        for (k = 1; k < h->n; k++) v += h->ptr[k][i];
        for (k = 0; k < h->n; k++) h->ptr[k][i] = v;
    }
    return infer__hub_barrier(user);
}
static infer_status infer__hub_allgather(void *user, const float *send, float *recv, const size_t *counts) {
    infer__hub_rank *w = (infer__hub_rank *)user;
    infer__hub *h = w->hub;
    size_t off = 0;
    int k;
    infer_status st;
    h->ptr[w->rank] = (float *)(uintptr_t)send; /* only read */
    if ((st = infer__hub_barrier(user))) return st;
    for (k = 0; k < h->n; k++) {
        if (counts[k]) memcpy(recv + off, h->ptr[k], counts[k] * sizeof(float));
        off += counts[k];
    }
    return infer__hub_barrier(user);
}
#endif

/* -- the partitioner -- */

enum { INFER__TP_COL = 1, INFER__TP_PAIR_COL, INFER__TP_PAIR_ROW, INFER__TP_CHAN, INFER__TP_HEAD_COL, INFER__TP_HEAD_ROW };
static const char *const infer__tp_kind_names[] = {"", "column-parallel + all-gather", "column-parallel (MLP pair)",
                                                   "row-parallel (MLP pair) + all-reduce",
                                                   "output channels + all-gather", "heads: Q/K/V columns",
                                                   "heads: output rows + all-reduce"};

typedef struct infer__tp_split {
    uint32_t node;
    int kind;          /* INFER__TP_* */
    int w_axis;        /* the weight's axis that is split */
    int64_t len;       /* its length */
    int has_bias;      /* input 2 present (split with the weight, except PAIR_ROW: rank 0 keeps it) */
    int coll;          /* 0, or INFER__OP_ALL_REDUCE / INFER__OP_ALL_GATHER after the node */
    int64_t gather_axis;
    size_t split_bytes;/* the bytes divided among the devices (weight, and split bias) */
    int att;           /* HEAD_*: index into infer__tp.atts */
    int n_roles;       /* HEAD_COL: the column blocks of the weight, in order: */
    uint8_t roles[3];  /* 0 Q, 1 K, 2 V */
} infer__tp_split;

/* An attention block (its Attention node, or the unfused form's MatMul with V) and its
   head counts and sizes. */
typedef struct infer__tp_att {
    uint32_t node;
    int64_t hq, hkv, d, dv; /* query and kv heads; Q/K and V head sizes */
    int split;              /* 1: split by heads */
    int shared_kv;          /* fewer kv heads than devices: N / hkv devices share each one */
    uint32_t first;         /* split 1: its first projection (the plan describes it there) */
    const char *why;        /* split 0: the reason, for the plan */
} infer__tp_att;

/* A change that a head split makes to a node of each rank's graph besides its weights. */
enum { INFER__TP_EDIT_SHAPE = 1, INFER__TP_EDIT_SPLIT, INFER__TP_EDIT_HEADS, INFER__TP_EDIT_BIAS };
typedef struct infer__tp_edit {
    int kind;      /* SHAPE: Reshape's target; SPLIT: Split's sizes; HEADS: Attention's
                      q_num_heads / kv_num_heads; BIAS: an Add's bias, sliced as its projection */
    int att;       /* index into infer__tp.atts */
    int role;      /* SHAPE: 0..2 splits Q, K or V's last axis into heads, 3 merges the output's */
    int lead;      /* SHAPE: the leading axes kept (0s in the target) */
    uint32_t in;   /* BIAS: the input that is the bias */
    int32_t split; /* SPLIT, BIAS: the projection's index into splits */
} infer__tp_edit;

struct infer__tp_warg {
    struct infer__tp *tp;
    int l;
};

struct infer__tp {
    int n;                      /* devices */
    int n_local;                /* sessions in this process: n in-process, 1 with a communicator */
    int rank0;                  /* the rank of sess[0] */
    infer_allocator a;
    const infer_model *base;
    infer__tp_split *splits;
    uint32_t n_splits;
    int32_t *node_split;        /* [base->n_nodes] index into splits, or -1 */
    infer__tp_att *atts;        /* [n_atts] every attention block found, split or not */
    uint32_t n_atts;
    infer__tp_edit *edits;      /* [n_edits] */
    uint32_t n_edits;
    int32_t *node_edit;         /* [base->n_nodes] index into edits, or -1 */
    infer_model *models;        /* [n_local] each rank's graph */
    struct infer__tp_dev *devs; /* [n_local] */
    infer_session **sess;       /* [n_local]; sess[0] is the caller's */
    void **blocks;              /* everything the rank graphs own (raw pointers to free) */
    size_t n_blocks, c_blocks;
    char *plan;
    infer_tp_stats stats;
    int inside;                 /* infer_run is running the devices */
    /* ranks on a registered device (infer_session_options.device): */
    char (*dev_names)[48];      /* [n_local] each rank's device, "NAME:N" */
    infer_backend be;           /* the backend, when it made a group (comm_destroy) */
    char be_name[32];
    void *group;                /* its device collectives, or NULL: through the host */
    const char *coll_why;       /* on a device without a group: why (for the plan) */
    char coll_err[320];
#if INFER__TP_THREADS
    infer__hub *hub;            /* in-process communicator */
    pthread_t *threads;         /* [n_local], 1.. used */
    int n_threads_started, mu_ok, quit, n_done;
    pthread_mutex_t mu;
    pthread_cond_t job_cv, done_cv;
    unsigned job;
    const infer_tensor *in;
    size_t n_in;
    infer_status *st;           /* [n_local] */
    struct infer__tp_warg *wargs; /* [n_local] what each device's thread is given */
#endif
};

static void *infer__tp_alloc(struct infer__tp *tp, size_t count, size_t size) {
    void *raw, *p;
    size_t bytes;
    if (!infer__mul(count, size, &bytes)) return NULL;
    if (!infer__grow(&tp->a, (void **)&tp->blocks, &tp->c_blocks, tp->n_blocks + 1, sizeof(void *))) return NULL;
    p = infer__alloc_aligned(&tp->a, bytes, &raw);
    if (!p) return NULL;
    memset(p, 0, bytes);
    tp->blocks[tp->n_blocks++] = raw;
    return p;
}

/* A constant f32 weight of rank n_dims, or 0. */
static int infer__tp_weight(const infer_model *m, uint32_t t, int n_dims) {
    return t != INFER__ABSENT && m->tensors[t].data && m->tensors[t].dtype == INFER_DTYPE_F32 &&
           m->tensors[t].n_dims == n_dims;
}
/* An optional bias: absent, or a constant f32 vector of n values. */
static int infer__tp_bias(const infer_model *m, const infer__node *n, uint32_t k, int64_t len) {
    return n->n_in <= k || n->in[k] == INFER__ABSENT || (infer__tp_weight(m, n->in[k], 1) && m->tensors[n->in[k]].dims[0] == len);
}
/* Node n maps its input t element-wise to its output (so a shard of t gives a shard). */
static int infer__tp_elementwise(const infer_model *m, const infer__node *n, uint32_t t) {
    switch (n->op) {
    case INFER__OP_RELU: case INFER__OP_GELU: case INFER__OP_SIGMOID: case INFER__OP_TANH: case INFER__OP_ERF:
    case INFER__OP_LEAKY_RELU: case INFER__OP_HARD_SIGMOID: case INFER__OP_HARD_SWISH: case INFER__OP_SWISH:
    case INFER__OP_ABS: case INFER__OP_NEG: case INFER__OP_EXP: case INFER__OP_SQRT:
        return n->n_in == 1 && n->in[0] == t;
    case INFER__OP_ADD: case INFER__OP_SUB: case INFER__OP_MUL: case INFER__OP_DIV: {
        uint32_t o;
        const infer__tensor *c;
        if (n->n_in != 2 || (n->in[0] != t && n->in[1] != t)) return 0;
        o = n->in[0] == t ? n->in[1] : n->in[0];
        if (o == INFER__ABSENT) return 0;
        c = &m->tensors[o];
        if (!c->data) return 0;
        { int d; for (d = 0; d < c->n_dims; d++) if (c->dims[d] != 1) return 0; } /* a scalar constant */
        return 1;
    }
    default:
        return 0;
    }
}
static int infer__tp_has_act(const infer__node *n) {
    const char *a = infer__attr_s(n, "activation", NULL);
    return a && *a && strcmp(a, "None") != 0;
}

/* -- attention split by heads -- */

/* What recognising an attention block reads: the base graph, its shapes (a plan-only
   session), who reads each tensor, and the block's Reshapes whose targets each rank's
   graph replaces. */
typedef struct infer__tp_walk {
    const infer_model *m;
    const infer__val *v;     /* [m->n_tensors] the shapes */
    const uint32_t *c0, *cn; /* tensor t is read by nodes cn[c0[t] .. c0[t + 1]) (once per input) */
    const uint8_t *is_out;   /* bit 1: a graph output; bit 2: known at creation */
    uint32_t rs[4];          /* the Reshapes of Q, K, V and the output (4-D form) */
    int n_rs;
} infer__tp_walk;

/* 1 when what Shape node s computes reaches nothing but the shape inputs of the block's
   replaced Reshapes (through integer-valued nodes): in a rank's graph it measures a
   smaller tensor, so its value must not be used. */
static int infer__tp_shape_dead(const infer__tp_walk *w, uint32_t s) {
    uint32_t stack[32], n = 0, visits = 0, j, k;
    int r;
    stack[n++] = s;
    while (n) {
        const infer__node *nd = &w->m->nodes[stack[--n]];
        if (++visits > 64) return 0;
        for (k = 0; k < nd->n_out; k++) {
            uint32_t t = nd->out[k];
            if (t == INFER__ABSENT) continue;
            if ((w->is_out[t] & 1) || w->v[t].dtype != INFER_DTYPE_I64) return 0;
            for (j = w->c0[t]; j < w->c0[t + 1]; j++) {
                uint32_t c = w->cn[j];
                for (r = 0; r < w->n_rs; r++)
                    if (c == w->rs[r] && w->m->nodes[c].in[1] == t && w->m->nodes[c].in[0] != t) break;
                if (r < w->n_rs) continue;
                if (n == 32) return 0;
                stack[n++] = c;
            }
        }
    }
    return 1;
}

/* 1 when t, whose shape a head split changes, is no graph output and is read once by
   next, and otherwise only by Shape nodes whose values go unused (above). */
static int infer__tp_feeds(const infer__tp_walk *w, uint32_t t, uint32_t next) {
    uint32_t j, hits = 0;
    if (w->is_out[t] & 1) return 0;
    for (j = w->c0[t]; j < w->c0[t + 1]; j++) {
        uint32_t c = w->cn[j];
        if (c == next) hits++;
        else if (w->m->nodes[c].op != INFER__OP_SHAPE || !infer__tp_shape_dead(w, c)) return 0;
    }
    return hits == 1;
}

/* The one node besides Shape nodes that reads t, or INFER__ABSENT. */
static uint32_t infer__tp_reader(const infer__tp_walk *w, uint32_t t) {
    uint32_t j, r = INFER__ABSENT;
    if (t == INFER__ABSENT) return r;
    for (j = w->c0[t]; j < w->c0[t + 1]; j++) {
        uint32_t c = w->cn[j];
        if (w->m->nodes[c].op == INFER__OP_SHAPE || c == r) continue;
        if (r != INFER__ABSENT) return INFER__ABSENT;
        r = c;
    }
    return r;
}

/* 1 when node i is a Transpose with perm (0, 2, 1, 3). */
static int infer__tp_swap12(const infer_model *m, uint32_t i) {
    int64_t p[4];
    return i != INFER__ABSENT && m->nodes[i].op == INFER__OP_TRANSPOSE && m->nodes[i].in[0] != INFER__ABSENT &&
           m->nodes[i].out[0] != INFER__ABSENT && infer__attr_ints(&m->nodes[i], "perm", p, 4) == 4 && p[0] == 0 &&
           p[1] == 2 && p[2] == 1 && p[3] == 3;
}

/* 1 when node i is a Reshape that splits x's last axis into [a, b] (split 1) or merges
   x's last two axes [a, b] into one (split 0), keeping the axes before them. */
static int infer__tp_head_reshape(const infer__tp_walk *w, uint32_t i, int split, int64_t a, int64_t b) {
    const infer__node *n;
    const infer__val *x, *y;
    int d, lead;
    if (i == INFER__ABSENT) return 0;
    n = &w->m->nodes[i];
    if (n->op != INFER__OP_RESHAPE || n->n_in < 2 || n->in[0] == INFER__ABSENT || n->in[1] == INFER__ABSENT ||
        n->out[0] == INFER__ABSENT || infer__attr_i(n, "allowzero", 0))
        return 0;
    x = &w->v[n->in[0]], y = &w->v[n->out[0]];
    lead = split ? x->n_dims - 1 : y->n_dims - 1;
    if (lead < 1 || y->n_dims != x->n_dims + (split ? 1 : -1)) return 0;
    for (d = 0; d < lead; d++)
        if (x->dims[d] != y->dims[d]) return 0;
    return split ? y->dims[lead] == a && y->dims[lead + 1] == b : x->dims[lead] == a && x->dims[lead + 1] == b;
}

/* The weight axis a projection's output columns are on (MatMul or Gemm with a constant
   2-D f32 weight, no transA), or -1. */
static int infer__tp_proj_axis(const infer_model *m, const infer__node *n) {
    if (n->n_in < 2 || n->in[0] == INFER__ABSENT || !infer__tp_weight(m, n->in[1], 2)) return -1;
    if (n->op == INFER__OP_MATMUL) return 1;
    if (n->op == INFER__OP_GEMM && !infer__attr_i(n, "transA", 0)) return infer__attr_i(n, "transB", 0) ? 0 : 1;
    return -1;
}

/* 1 when heads (hq query, hkv kv) go round n devices, each getting at least one. */
static int infer__tp_heads_fit(int64_t hq, int64_t hkv, int n, int *shared_kv) {
    *shared_kv = hkv < n;
    return hkv >= n || (n % hkv == 0 && hq / hkv >= n / hkv);
}

/* The core of an attention block: the Attention op, or the unfused form (MatMul, Softmax,
   MatMul). The walk below goes from its inputs back to the projections and from its
   output forward to the output projection. */
typedef struct infer__tp_core {
    uint32_t in[3], reader[3]; /* Q, K (unfused: K^T), V as the core reads them; the node reading each */
    uint32_t y;                /* the output: [B, Hq, S, Dv] (rank4), else [B, S, Hq * Dv] */
    int rank4, kt;             /* kt: in[1] is K^T [B, H, D, T] */
    uint32_t inner[8], next[8]; /* unfused: the tensors between its MatMuls, each read once by next */
    int n_inner;
} infer__tp_core;

/* The core of Attention node a: 0 (at->why says why) when it cannot be split. */
static int infer__tp_core_op(const infer__tp_walk *w, uint32_t a, infer__tp_core *c, infer__tp_att *at) {
    const infer__node *A = &w->m->nodes[a];
    const infer__val *q, *kv, *v;
    uint32_t k;
    memset(c, 0, sizeof *c);
    at->why = "Q, K or V is missing";
    if (A->n_in < 3 || A->in[0] == INFER__ABSENT || A->in[1] == INFER__ABSENT || A->in[2] == INFER__ABSENT) return 0;
    at->why = "it has past key/value inputs";
    for (k = 4; k < A->n_in; k++)
        if (A->in[k] != INFER__ABSENT) return 0;
    at->why = "it has present key/value outputs";
    for (k = 1; k < A->n_out; k++)
        if (A->out[k] != INFER__ABSENT) return 0;
    at->why = "its output is absent";
    if (!A->n_out || A->out[0] == INFER__ABSENT) return 0;
    q = &w->v[A->in[0]], kv = &w->v[A->in[1]], v = &w->v[A->in[2]];
    c->rank4 = q->n_dims == 4;
    at->why = "its head counts are unknown";
    if (c->rank4) at->hq = q->dims[1], at->d = q->dims[3], at->hkv = kv->dims[1], at->dv = v->dims[3];
    else {
        at->hq = infer__attr_i(A, "q_num_heads", 0), at->hkv = infer__attr_i(A, "kv_num_heads", 0);
        if (q->n_dims != 3 || at->hq <= 0 || at->hkv <= 0) return 0;
        at->d = q->dims[2] / at->hq, at->dv = v->dims[2] / at->hkv;
    }
    at->why = "its mask differs per head";
    if (A->n_in > 3 && A->in[3] != INFER__ABSENT) {
        const infer__val *mk = &w->v[A->in[3]];
        if (mk->n_dims >= 3 && mk->dims[mk->n_dims - 3] != 1) return 0;
    }
    for (k = 0; k < 3; k++) c->in[k] = A->in[k], c->reader[k] = a;
    c->y = A->out[0];
    return 1;
}

/* 1 when input k of node n, of shape x, broadcasts along the head axis (axis 1 of the
   4-D tensor it meets): absent, of rank < 3, or 1 there. */
static int infer__tp_head_bcast(const infer__tp_walk *w, const infer__node *n, uint32_t k) {
    const infer__val *x;
    if (k >= n->n_in || n->in[k] == INFER__ABSENT) return 1;
    x = &w->v[n->in[k]];
    return x->n_dims < 3 || (x->n_dims <= 4 && x->dims[x->n_dims - 3] == 1);
}

/* The unfused core around Softmax node sm: MatMul(Q, K^T) -> [Mul/Div by a scale, Add a
   mask, Where(mask, ., -inf)...] -> Softmax(last axis) -> MatMul(., V), all 4-D
   [B, H, ., .], the other inputs of the ops between the same for every head (head axis 1).
   0 when sm is not in one (nothing to say), or, with at->why set, when it cannot be split. */
static int infer__tp_core_unfused(const infer__tp_walk *w, uint32_t sm, infer__tp_core *c, infer__tp_att *at) {
    const infer_model *m = w->m;
    const infer__node *s = &m->nodes[sm], *n;
    uint32_t t, nxt = sm, mm1 = INFER__ABSENT, mm2, j, k;
    int64_t ax = infer__attr_i(s, "axis", -1);
    const infer__val *q, *kt, *v;
    memset(c, 0, sizeof *c);
    at->why = NULL;
    if (!s->n_in || s->in[0] == INFER__ABSENT || !s->n_out || s->out[0] == INFER__ABSENT || w->v[s->out[0]].n_dims != 4 ||
        (ax != -1 && ax != 3))
        return 0;
    mm2 = infer__tp_reader(w, s->out[0]);
    if (mm2 == INFER__ABSENT || m->nodes[mm2].op != INFER__OP_MATMUL || m->nodes[mm2].n_in != 2 ||
        m->nodes[mm2].in[0] != s->out[0] || m->nodes[mm2].in[1] == INFER__ABSENT || m->nodes[mm2].out[0] == INFER__ABSENT)
        return 0;
    c->inner[c->n_inner] = s->out[0], c->next[c->n_inner++] = mm2;
    for (t = s->in[0], j = 0; j < 6; j++) { /* back to MatMul(Q, K^T) */
        uint32_t p = m->tensors[t].producer >= 0 ? (uint32_t)m->tensors[t].producer : INFER__ABSENT, chain = INFER__ABSENT;
        if (p == INFER__ABSENT) return 0;
        c->inner[c->n_inner] = t, c->next[c->n_inner++] = nxt;
        n = &m->nodes[p];
        if (n->op == INFER__OP_MATMUL) {
            mm1 = p;
            break;
        }
        if (n->op != INFER__OP_ADD && n->op != INFER__OP_SUB && n->op != INFER__OP_MUL && n->op != INFER__OP_DIV &&
            n->op != INFER__OP_WHERE && n->op != INFER__OP_TANH)
            return 0;
        for (k = 0; k < n->n_in; k++) /* the scores: the one input not broadcast over heads */
            if (!infer__tp_head_bcast(w, n, k)) {
                if (chain != INFER__ABSENT || w->v[n->in[k]].n_dims != 4) {
                    at->why = "its mask differs per head";
                    c->n_inner = -1; /* found, not to be split */
                    return 1;
                }
                chain = k;
            }
        if (chain == INFER__ABSENT) return 0;
        nxt = p, t = n->in[chain];
    }
    if (mm1 == INFER__ABSENT || m->nodes[mm1].n_in != 2 || m->nodes[mm1].in[0] == INFER__ABSENT ||
        m->nodes[mm1].in[1] == INFER__ABSENT)
        return 0;
    q = &w->v[m->nodes[mm1].in[0]], kt = &w->v[m->nodes[mm1].in[1]], v = &w->v[m->nodes[mm2].in[1]];
    if (q->n_dims != 4 || kt->n_dims != 4 || v->n_dims != 4) return 0;
    at->node = mm2;
    at->hq = q->dims[1], at->d = q->dims[3], at->hkv = kt->dims[1], at->dv = v->dims[3];
    if (kt->dims[2] != at->d || v->dims[1] != at->hkv || at->hkv != at->hq) {
        at->why = "its K or V heads differ from Q's";
        c->n_inner = -1;
        return 1;
    }
    c->in[0] = m->nodes[mm1].in[0], c->in[1] = m->nodes[mm1].in[1], c->in[2] = m->nodes[mm2].in[1];
    c->reader[0] = c->reader[1] = mm1, c->reader[2] = mm2;
    c->y = m->nodes[mm2].out[0];
    c->rank4 = c->kt = 1;
    return 1;
}

/* Recognises the block around core c (see the top of this section); on success, adds the
   splits of its projections and the edits of its graph, else sets at->why. The checks
   walk from the core back to each projection, then forward to the output projection, and
   last make sure that nothing else reads what changes shape. */
static void infer__tp_attention(struct infer__tp *tp, infer__tp_walk *w, const infer__tp_core *c, infer__tp_att *at) {
    const infer_model *m = w->m;
    const infer__node *o;
    uint32_t chk_t[32], chk_n[32], n_chk = 0, proj[3], spl[3], bias[3], bias_in[3], y, out, j, k;
    int32_t seg[3];
    int rank4 = c->rank4, role, lead[4], axis, n_sps = 0, i;
    infer__tp_split sps[3];
    int64_t width[3];
#define INFER__TP_CHK(t, n) do { chk_t[n_chk] = (t), chk_n[n_chk++] = (n); } while (0) /* at most 28 */
#define INFER__TP_NO(text) do { at->why = text; return; } while (0)
    w->n_rs = 0;
    if (at->hq <= 0 || at->hkv <= 0 || at->hq % at->hkv || at->d <= 0 || at->dv <= 0) INFER__TP_NO("its head counts are unknown");
    /* an empty Q (batch or seq 0) has dims whose product was never checked */
    if (at->hq > INFER_MAX_DIM_VALUE / at->d || at->hq > INFER_MAX_DIM_VALUE / at->dv)
        INFER__TP_NO("its heads times their size are out of range");
    for (i = 0; i < c->n_inner; i++) INFER__TP_CHK(c->inner[i], c->next[i]);
    width[0] = at->hq * at->d, width[1] = at->hkv * at->d, width[2] = at->hkv * at->dv;
    for (role = 0; role < 3; role++) { /* back from the core's input to the projection */
        uint32_t t = c->in[role], nxt = c->reader[role], p;
        int64_t heads = role ? at->hkv : at->hq, hd = role == 2 ? at->dv : at->d;
        spl[role] = bias[role] = INFER__ABSENT, seg[role] = -1;
        if (rank4) {
            uint32_t tr = m->tensors[t].producer >= 0 ? (uint32_t)m->tensors[t].producer : INFER__ABSENT, rs;
            int64_t pm[4];
            int k_direct = 0;
            INFER__TP_CHK(t, nxt);
            if (role == 1 && c->kt) { /* K^T: Transpose(0, 2, 3, 1) of the reshaped K, or (0, 1, 3, 2) of K */
                if (tr == INFER__ABSENT || m->nodes[tr].op != INFER__OP_TRANSPOSE || m->nodes[tr].in[0] == INFER__ABSENT ||
                    infer__attr_ints(&m->nodes[tr], "perm", pm, 4) != 4 || pm[0] != 0)
                    INFER__TP_NO("K^T is not a Transpose of K");
                if (pm[1] == 1 && pm[2] == 3 && pm[3] == 2) { /* of K: K is a (0, 2, 1, 3) Transpose, as Q */
                    INFER__TP_CHK(m->nodes[tr].in[0], tr);
                    t = m->nodes[tr].in[0];
                    tr = m->tensors[t].producer >= 0 ? (uint32_t)m->tensors[t].producer : INFER__ABSENT;
                } else if (pm[1] == 2 && pm[2] == 3 && pm[3] == 1)
                    k_direct = 1;
                else
                    INFER__TP_NO("K^T is not a Transpose of K");
            }
            if (!k_direct && !infer__tp_swap12(m, tr)) INFER__TP_NO("Q, K or V is not a (0, 2, 1, 3) Transpose");
            rs = m->tensors[m->nodes[tr].in[0]].producer >= 0 ? (uint32_t)m->tensors[m->nodes[tr].in[0]].producer : INFER__ABSENT;
            if (!infer__tp_head_reshape(w, rs, 1, heads, hd)) INFER__TP_NO("Q, K or V is not reshaped from [..., heads * size]");
            INFER__TP_CHK(m->nodes[tr].in[0], tr);
            lead[role] = w->v[m->nodes[rs].in[0]].n_dims - 1;
            w->rs[w->n_rs++] = rs;
            t = m->nodes[rs].in[0], nxt = rs;
        }
        if (w->v[t].n_dims < 2 || w->v[t].dims[w->v[t].n_dims - 1] != width[role])
            INFER__TP_NO("a projection's width is not its heads'");
        p = m->tensors[t].producer >= 0 ? (uint32_t)m->tensors[t].producer : INFER__ABSENT;
        if (p != INFER__ABSENT && m->nodes[p].op == INFER__OP_SPLIT) { /* a fused QKV projection */
            const infer__node *sn = &m->nodes[p];
            int64_t ax = infer__attr_i(sn, "axis", 0);
            if (sn->n_in < 2 || sn->in[0] == INFER__ABSENT || sn->in[1] == INFER__ABSENT)
                INFER__TP_NO("its Split has no sizes input");
            if (ax != -1 && ax != w->v[sn->in[0]].n_dims - 1) INFER__TP_NO("its Split is not along the last axis");
            for (k = 0; k < sn->n_out && sn->out[k] != t; k++) {}
            spl[role] = p, seg[role] = (int32_t)k;
            INFER__TP_CHK(t, nxt);
            t = sn->in[0], nxt = p;
            p = m->tensors[t].producer >= 0 ? (uint32_t)m->tensors[t].producer : INFER__ABSENT;
        }
        if (p != INFER__ABSENT && m->nodes[p].op == INFER__OP_ADD && m->nodes[p].n_in == 2) { /* an unfused bias */
            const infer__node *an = &m->nodes[p];
            int64_t wd = w->v[t].dims[w->v[t].n_dims - 1];
            for (k = 0; k < 2; k++)
                if (an->in[k] != INFER__ABSENT && infer__tp_weight(m, an->in[k], 1) && m->tensors[an->in[k]].dims[0] == wd &&
                    an->in[1 - k] != INFER__ABSENT && !m->tensors[an->in[1 - k]].data)
                    break;
            if (k < 2) {
                bias[role] = p, bias_in[role] = k;
                INFER__TP_CHK(t, nxt);
                t = an->in[1 - k], nxt = p;
                p = m->tensors[t].producer >= 0 ? (uint32_t)m->tensors[t].producer : INFER__ABSENT;
            }
        }
        if (p == INFER__ABSENT || infer__tp_proj_axis(m, &m->nodes[p]) < 0)
            INFER__TP_NO("Q, K or V is not a MatMul/Gemm projection");
        if (w->is_out[m->nodes[p].in[0]] & 2) INFER__TP_NO("its input is known at creation (folded once)");
        INFER__TP_CHK(t, nxt);
        proj[role] = p;
    }
    /* forward from the core's output to the output projection */
    y = c->y;
    if (rank4) {
        uint32_t tr = infer__tp_reader(w, y), rs;
        if (!infer__tp_swap12(m, tr)) INFER__TP_NO("its output is not a (0, 2, 1, 3) Transpose");
        rs = infer__tp_reader(w, m->nodes[tr].out[0]);
        if (!infer__tp_head_reshape(w, rs, 0, at->hq, at->dv)) INFER__TP_NO("its output is not reshaped to [..., heads * size]");
        INFER__TP_CHK(y, tr);
        INFER__TP_CHK(m->nodes[tr].out[0], rs);
        lead[3] = w->v[m->nodes[rs].out[0]].n_dims - 1;
        w->rs[w->n_rs++] = rs;
        y = m->nodes[rs].out[0];
    }
    out = infer__tp_reader(w, y);
    if (out == INFER__ABSENT || (axis = infer__tp_proj_axis(m, &m->nodes[out])) < 0 || m->nodes[out].in[0] != y)
        INFER__TP_NO("its output is not read by a MatMul/Gemm projection");
    o = &m->nodes[out];
    axis = !axis; /* the rows: the weight's input axis */
    if (m->tensors[o->in[1]].dims[axis] != at->hq * at->dv || !infer__tp_bias(m, o, 2, m->tensors[o->in[1]].dims[!axis]) ||
        infer__tp_has_act(o))
        INFER__TP_NO("its output projection has another shape, or an activation");
    if (m->tensors[o->in[1]].data_bytes < INFER__TP_MIN_SPLIT_BYTES) INFER__TP_NO("its layers are small (replicated)");
    INFER__TP_CHK(y, out);
    if (!infer__tp_heads_fit(at->hq, at->hkv, tp->n, &at->shared_kv))
        INFER__TP_NO("a device would get no head (fewer kv heads than devices, and they do not divide the devices "
                     "with a query head each)");
    for (j = 0; j < n_chk; j++)
        if (!infer__tp_feeds(w, chk_t[j], chk_n[j])) INFER__TP_NO("a tensor in it is read elsewhere or is an output");
    for (role = 0; role < 3; role++) { /* each projection once: its roles in column order */
        infer__tp_split *sp = &sps[n_sps];
        const infer__node *pn = &m->nodes[proj[role]];
        int64_t sum = 0;
        int r2;
        for (r2 = 0; r2 < n_sps && sps[r2].node != proj[role]; r2++) {}
        if (r2 < n_sps) continue; /* seen with another role */
        if (tp->node_split[proj[role]] >= 0) INFER__TP_NO("a projection is shared with another block");
        memset(sp, 0, sizeof *sp);
        sp->node = proj[role];
        sp->kind = INFER__TP_HEAD_COL;
        sp->w_axis = infer__tp_proj_axis(m, pn);
        sp->att = (int)(at - tp->atts);
        for (r2 = 0; r2 < 3; r2++)
            if (proj[r2] == proj[role] && r2 != role &&
                (spl[r2] != spl[role] || bias[r2] != bias[role] || spl[role] == INFER__ABSENT))
                INFER__TP_NO("two of Q, K and V come from one projection without a Split");
        if (spl[role] != INFER__ABSENT) { /* every output of the Split is one of Q, K, V */
            const infer__node *sn = &m->nodes[spl[role]];
            for (k = 0; k < sn->n_out; k++) {
                for (r2 = 0; r2 < 3 && !(proj[r2] == proj[role] && seg[r2] == (int32_t)k); r2++) {}
                if (r2 == 3 || k >= 3) INFER__TP_NO("its Split has outputs that are not Q, K or V");
                sp->roles[sp->n_roles++] = (uint8_t)r2;
                sum += width[r2];
            }
        } else
            sp->roles[sp->n_roles++] = (uint8_t)role, sum = width[role];
        sp->len = m->tensors[pn->in[1]].dims[sp->w_axis];
        if (sp->len != sum || !infer__tp_bias(m, pn, 2, sum)) INFER__TP_NO("a projection's width is not its heads'");
        sp->has_bias = pn->n_in > 2 && pn->in[2] != INFER__ABSENT;
        sp->split_bytes = m->tensors[pn->in[1]].data_bytes + (sp->has_bias ? m->tensors[pn->in[2]].data_bytes : 0);
        if (bias[role] != INFER__ABSENT) sp->split_bytes += m->tensors[m->nodes[bias[role]].in[bias_in[role]]].data_bytes;
        n_sps++;
    }
    if (tp->node_split[out] >= 0) INFER__TP_NO("its output projection is split with another block");
    for (j = 0; j < (uint32_t)w->n_rs; j++)
        if (tp->node_edit[w->rs[j]] >= 0) INFER__TP_NO("a Reshape in it is shared with another block");
    for (role = 0; role < 3; role++) /* (none of this block's edits is made yet) */
        if ((spl[role] != INFER__ABSENT && tp->node_edit[spl[role]] >= 0) ||
            (bias[role] != INFER__ABSENT && tp->node_edit[bias[role]] >= 0) || tp->node_edit[c->reader[0]] >= 0)
            INFER__TP_NO("its Split, bias or Attention is shared with another block");
    at->first = sps[0].node;
    for (k = 0; k < (uint32_t)n_sps; k++) { /* recognised: the projections, the output projection, the edits */
        at->first = INFER__MIN(at->first, sps[k].node);
        tp->node_split[sps[k].node] = (int32_t)tp->n_splits;
        tp->splits[tp->n_splits++] = sps[k];
    }
    {
        infer__tp_split sp;
        infer__tp_edit *e;
        memset(&sp, 0, sizeof sp);
        sp.node = out;
        sp.kind = INFER__TP_HEAD_ROW;
        sp.w_axis = axis;
        sp.len = at->hq * at->dv;
        sp.has_bias = o->n_in > 2 && o->in[2] != INFER__ABSENT;
        sp.coll = INFER__OP_ALL_REDUCE;
        sp.att = (int)(at - tp->atts);
        sp.split_bytes = m->tensors[o->in[1]].data_bytes; /* the bias stays whole on rank 0 */
        tp->node_split[out] = (int32_t)tp->n_splits;
        tp->splits[tp->n_splits++] = sp;
#define INFER__TP_EDIT(nd, kd)                                                                         \
    (e = &tp->edits[tp->n_edits], memset(e, 0, sizeof *e), e->kind = (kd), e->att = sp.att,            \
     tp->node_edit[nd] = (int32_t)tp->n_edits++)
        for (j = 0; j < (uint32_t)w->n_rs; j++) {
            INFER__TP_EDIT(w->rs[j], INFER__TP_EDIT_SHAPE);
            e->role = (int)j; /* Q, K, V, then the output */
            e->lead = lead[j];
        }
        if (!rank4) INFER__TP_EDIT(c->reader[0], INFER__TP_EDIT_HEADS);
        for (role = 0; role < 3; role++) {
            if (spl[role] != INFER__ABSENT && tp->node_edit[spl[role]] < 0) {
                INFER__TP_EDIT(spl[role], INFER__TP_EDIT_SPLIT);
                e->split = tp->node_split[proj[role]];
            }
            if (bias[role] != INFER__ABSENT && tp->node_edit[bias[role]] < 0) {
                INFER__TP_EDIT(bias[role], INFER__TP_EDIT_BIAS);
                e->in = bias_in[role];
                e->split = tp->node_split[proj[role]];
            }
        }
#undef INFER__TP_EDIT
    }
    at->split = 1;
#undef INFER__TP_CHK
#undef INFER__TP_NO
}

/* Splits by heads every attention block that it can, before the other layers are
   chosen. The shapes come from a plan-only session of the whole model; when that cannot
   be built, no block is split (the devices' sessions will say why). */
static infer_status infer__tp_heads_pass(struct infer__tp *tp, const infer_session_options *opt, const uint8_t *is_out) {
    const infer_model *m = tp->base;
    infer_session_options o = *opt;
    infer_session *probe = NULL;
    uint32_t *c0, *cn = NULL, i, k, n = 0;
    infer__tp_walk w;
    infer_status st = INFER_STATUS_OK;
    tp->atts = (infer__tp_att *)infer__calloc(&tp->a, tp->n_atts, sizeof(infer__tp_att));
    tp->edits = (infer__tp_edit *)infer__calloc(&tp->a, m->n_nodes, sizeof(infer__tp_edit));
    c0 = (uint32_t *)infer__calloc(&tp->a, (size_t)m->n_tensors + 1, sizeof(uint32_t));
    if (!tp->atts || !tp->edits || !c0 || !(cn = (uint32_t *)infer__calloc(&tp->a, (size_t)m->n_refs + 1, sizeof(uint32_t)))) {
        st = infer__fail(NULL, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory partitioning", m->path);
        goto done;
    }
    o.tp = 0, o.comm = NULL, o.arena = NULL, o.arena_bytes = 0, o.profile = 0, o.device = NULL; /* shapes only */
    if ((st = infer__session_build(m, &o, 1, &probe)) == INFER_STATUS_OUT_OF_MEMORY) goto done;
    if (st) {
        st = INFER_STATUS_OK;
        for (i = 0; i < m->n_nodes; i++)
            if (m->nodes[i].op == INFER__OP_ATTENTION) tp->atts[n].node = i, tp->atts[n++].why = "the model's shapes are unknown";
        goto done;
    }
    for (i = 0; i < m->n_nodes; i++) /* who reads each tensor: counts, then starts, then the list */
        for (k = 0; k < m->nodes[i].n_in; k++)
            if (m->nodes[i].in[k] != INFER__ABSENT) c0[m->nodes[i].in[k] + 1]++;
    for (i = 0; i < m->n_tensors; i++) c0[i + 1] += c0[i];
    for (i = 0; i < m->n_nodes; i++)
        for (k = 0; k < m->nodes[i].n_in; k++)
            if (m->nodes[i].in[k] != INFER__ABSENT) cn[c0[m->nodes[i].in[k]]++] = i;
    for (i = m->n_tensors; i > 0; i--) c0[i] = c0[i - 1]; /* each start moved to the next list's: back */
    c0[0] = 0;
    memset(&w, 0, sizeof w);
    w.m = m, w.v = probe->vals, w.c0 = c0, w.cn = cn, w.is_out = is_out;
    for (i = 0; i < m->n_nodes; i++) {
        infer__tp_core c;
        infer__tp_att *at = &tp->atts[n]; /* n < the candidates counted */
        if (m->nodes[i].op != INFER__OP_ATTENTION && m->nodes[i].op != INFER__OP_SOFTMAX) continue;
        memset(at, 0, sizeof *at);
        at->node = i;
        if (m->nodes[i].op == INFER__OP_ATTENTION) {
            n++;
            if (infer__tp_core_op(&w, i, &c, at)) infer__tp_attention(tp, &w, &c, at);
        } else if (m->nodes[i].op == INFER__OP_SOFTMAX && infer__tp_core_unfused(&w, i, &c, at)) {
            n++;
            if (c.n_inner >= 0) infer__tp_attention(tp, &w, &c, at);
        }
    }
done:
    tp->n_atts = n; /* the blocks found (fewer than the candidates counted) */
    infer_session_free(probe);
    infer__free(&tp->a, c0);
    infer__free(&tp->a, cn);
    return st;
}

/* Chooses what to split in m for n devices (the same choice for every rank). */
static infer_status infer__tp_partition(struct infer__tp *tp, const infer_session_options *opt) {
    const infer_model *m = tp->base;
    uint32_t i, k, *n_use = NULL, *user = NULL;
    uint8_t *is_out = NULL;
    infer_status st = INFER_STATUS_OK;
    int64_t N = tp->n;
    n_use = (uint32_t *)infer__calloc(&tp->a, m->n_tensors, sizeof(uint32_t));
    user = (uint32_t *)infer__calloc(&tp->a, m->n_tensors, sizeof(uint32_t));
    is_out = (uint8_t *)infer__calloc(&tp->a, m->n_tensors, 1);
    tp->node_split = (int32_t *)infer__calloc(&tp->a, m->n_nodes, sizeof(int32_t));
    tp->splits = (infer__tp_split *)infer__calloc(&tp->a, m->n_nodes, sizeof(infer__tp_split));
    tp->node_edit = (int32_t *)infer__calloc(&tp->a, m->n_nodes, sizeof(int32_t));
    if (!n_use || !user || !is_out || !tp->node_split || !tp->splits || !tp->node_edit) {
        st = infer__fail(NULL, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory partitioning", m->path);
        goto done;
    }
    for (i = 0; i < m->n_outputs; i++) is_out[m->outputs[i]] = 1;
    for (i = 0; i < m->n_tensors; i++) is_out[i] |= m->tensors[i].data ? 2 : 0; /* bit 2: known at creation */
    for (i = 0; i < m->n_nodes; i++) { /* a node of constants folds once per device: nothing to split */
        const infer__node *n = &m->nodes[i];
        int all = !(infer__ops[n->op].flags & INFER__OPF_SHAPE) ? 1 : 2;
        for (k = 0; k < n->n_in && all == 1; k++)
            if (n->in[k] != INFER__ABSENT && !(is_out[n->in[k]] & 2)) all = 0;
        for (k = 0; all && k < n->n_out; k++)
            if (n->out[k] != INFER__ABSENT) is_out[n->out[k]] |= 2;
    }
    for (i = 0; i < m->n_nodes; i++) {
        tp->node_split[i] = tp->node_edit[i] = -1;
        tp->n_atts += m->nodes[i].op == INFER__OP_ATTENTION || m->nodes[i].op == INFER__OP_SOFTMAX; /* candidates */
        for (k = 0; k < m->nodes[i].n_in; k++)
            if (m->nodes[i].in[k] != INFER__ABSENT) n_use[m->nodes[i].in[k]]++, user[m->nodes[i].in[k]] = i;
    }
    if (tp->n_atts && (st = infer__tp_heads_pass(tp, opt, is_out))) goto done;
    for (i = 0; i < m->n_nodes; i++) {
        const infer__node *n = &m->nodes[i];
        infer__tp_split sp;
        const infer__tensor *w;
        if (tp->node_split[i] >= 0 || n->n_in < 2 || n->n_out < 1 || n->out[0] == INFER__ABSENT ||
            n->in[0] == INFER__ABSENT || (is_out[n->in[0]] & 2))
            continue;
        memset(&sp, 0, sizeof sp);
        sp.node = i;
        sp.gather_axis = -1;
        if (n->op == INFER__OP_MATMUL && infer__tp_weight(m, n->in[1], 2)) {
            sp.kind = INFER__TP_COL, sp.w_axis = 1, sp.coll = INFER__OP_ALL_GATHER;
        } else if (n->op == INFER__OP_GEMM && infer__tp_weight(m, n->in[1], 2) && !infer__attr_i(n, "transA", 0)) {
            sp.kind = INFER__TP_COL, sp.coll = INFER__OP_ALL_GATHER;
            sp.w_axis = infer__attr_i(n, "transB", 0) ? 0 : 1;
        } else if (n->op == INFER__OP_CONV && n->in[1] != INFER__ABSENT && m->tensors[n->in[1]].n_dims >= 3 &&
                   infer__tp_weight(m, n->in[1], m->tensors[n->in[1]].n_dims) && infer__attr_i(n, "group", 1) == 1) {
            sp.kind = INFER__TP_CHAN, sp.w_axis = 0, sp.coll = INFER__OP_ALL_GATHER, sp.gather_axis = 1;
        } else
            continue;
        w = &m->tensors[n->in[1]];
        sp.len = w->dims[sp.w_axis];
        if (sp.len < N || w->data_bytes < INFER__TP_MIN_SPLIT_BYTES || !infer__tp_bias(m, n, 2, sp.len)) continue;
        sp.has_bias = n->n_in > 2 && n->in[2] != INFER__ABSENT;
        sp.split_bytes = w->data_bytes + (sp.has_bias ? m->tensors[n->in[2]].data_bytes : 0);
        if (sp.kind == INFER__TP_COL) { /* the first of an MLP pair (MatMul or Gemm)? */
            uint32_t t = n->out[0], hops;
            for (hops = 0; hops < 8 && n_use[t] == 1 && !(is_out[t] & 1); hops++) {
                const infer__node *c = &m->nodes[user[t]];
                int tb = c->op == INFER__OP_GEMM && infer__attr_i(c, "transB", 0) != 0; /* c's weight is [N][K] */
                if ((c->op == INFER__OP_MATMUL || (c->op == INFER__OP_GEMM && !infer__attr_i(c, "transA", 0))) &&
                    c->n_in >= 2 && c->in[0] == t && c->in[1] != t && tp->node_split[user[t]] < 0 &&
                    infer__tp_weight(m, c->in[1], 2) && m->tensors[c->in[1]].dims[tb] == sp.len &&
                    infer__tp_bias(m, c, 2, m->tensors[c->in[1]].dims[!tb]) && !infer__tp_has_act(c)) {
                    infer__tp_split *row = &tp->splits[tp->n_splits + 1];
                    memset(row, 0, sizeof *row);
                    row->node = user[t];
                    row->kind = INFER__TP_PAIR_ROW;
                    row->w_axis = tb;
                    row->len = sp.len;
                    row->has_bias = c->n_in > 2 && c->in[2] != INFER__ABSENT;
                    row->coll = INFER__OP_ALL_REDUCE;
                    row->split_bytes = m->tensors[c->in[1]].data_bytes; /* the bias stays whole on rank 0 */
                    sp.kind = INFER__TP_PAIR_COL, sp.coll = 0;
                    tp->node_split[user[t]] = (int32_t)tp->n_splits + 1;
                    break;
                }
                if (c->n_out != 1 || c->out[0] == INFER__ABSENT || !infer__tp_elementwise(m, c, t)) break;
                t = c->out[0];
            }
        }
        tp->node_split[i] = (int32_t)tp->n_splits;
        tp->splits[tp->n_splits++] = sp;
        if (sp.kind == INFER__TP_PAIR_COL) tp->n_splits++; /* its row half, written above */
    }
done:
    infer__free(&tp->a, n_use);
    infer__free(&tp->a, user);
    infer__free(&tp->a, is_out);
    return st;
}

static int64_t infer__tp_part(int64_t len, int n, int r) { return len / n + (r < len % n); }
static int64_t infer__tp_start(int64_t len, int n, int r) { return (len / n) * r + INFER__MIN(r, len % n); }

/* Rank r's query heads [q[0], q[1]) and kv heads [k[0], k[1]) of attention block a. */
static void infer__tp_heads(const infer__tp_att *a, int n, int r, int64_t *q, int64_t *k) {
    int64_t g = a->hq / a->hkv;
    if (!a->shared_kv) { /* whole groups */
        k[0] = infer__tp_start(a->hkv, n, r), k[1] = k[0] + infer__tp_part(a->hkv, n, r);
        q[0] = k[0] * g, q[1] = k[1] * g;
    } else { /* kv head j on devices [j * rep, (j + 1) * rep), which split its group */
        int rep = n / (int)a->hkv, s = r % rep;
        k[0] = r / rep, k[1] = k[0] + 1;
        q[0] = k[0] * g + infer__tp_start(g, rep, s), q[1] = q[0] + infer__tp_part(g, rep, s);
    }
}

/* The ranges of split sp's axis that rank r holds, in order: one, or one per role of a
   fused QKV projection. Returns how many. */
static int infer__tp_ranges(const struct infer__tp *tp, const infer__tp_split *sp, int r, int64_t *start, int64_t *part) {
    const infer__tp_att *a;
    int64_t q[2], k[2], off = 0;
    int i;
    if (sp->kind != INFER__TP_HEAD_COL && sp->kind != INFER__TP_HEAD_ROW) {
        start[0] = infer__tp_start(sp->len, tp->n, r), part[0] = infer__tp_part(sp->len, tp->n, r);
        return 1;
    }
    a = &tp->atts[sp->att];
    infer__tp_heads(a, tp->n, r, q, k);
    if (sp->kind == INFER__TP_HEAD_ROW) {
        start[0] = q[0] * a->dv, part[0] = (q[1] - q[0]) * a->dv;
        return 1;
    }
    for (i = 0; i < sp->n_roles; i++) {
        int role = sp->roles[i];
        int64_t hd = role == 2 ? a->dv : a->d, h0 = role ? k[0] : q[0], h1 = role ? k[1] : q[1];
        start[i] = off + h0 * hd, part[i] = (h1 - h0) * hd;
        off += (role ? a->hkv : a->hq) * hd;
    }
    return sp->n_roles;
}

/* The length of split sp's axis on rank r. */
static int64_t infer__tp_local(const struct infer__tp *tp, const infer__tp_split *sp, int r) {
    int64_t start[3], part[3], sum = 0;
    int i, n = infer__tp_ranges(tp, sp, r, start, part);
    for (i = 0; i < n; i++) sum += part[i];
    return sum;
}

/* Appends a tensor to g: a copy of tensor t sliced along axis to the n ranges
   [start[i], start[i] + part[i]), one after the other. */
static uint32_t infer__tp_shard(struct infer__tp *tp, infer_model *g, uint32_t t, int axis, int n, const int64_t *start,
                                const int64_t *part) {
    const infer__tensor *src = &tp->base->tensors[t];
    infer__tensor *dst = &g->tensors[g->n_tensors];
    size_t outer = 1, inner = 1, o, at = 0;
    int64_t total = 0;
    int d, i;
    float *data;
    *dst = *src;
    for (i = 0; i < n; i++) total += part[i];
    dst->dims[axis] = total;
    for (d = 0; d < src->n_dims; d++) {
        if (d < axis) outer *= (size_t)src->dims[d];
        if (d > axis) inner *= (size_t)src->dims[d];
    }
    dst->data_bytes = outer * (size_t)total * inner * sizeof(float);
    data = (float *)infer__tp_alloc(tp, dst->data_bytes ? dst->data_bytes : 1, 1);
    if (!data) return INFER__ABSENT;
    for (o = 0; o < outer; o++)
        for (i = 0; i < n; i++) {
            memcpy(data + at, (const float *)src->data + (o * (size_t)src->dims[axis] + (size_t)start[i]) * inner,
                   (size_t)part[i] * inner * sizeof(float));
            at += (size_t)part[i] * inner;
        }
    dst->data = data;
    return g->n_tensors++;
}

/* Appends to g an i64 vector of n values named after tensor t (a Reshape's target, a
   Split's sizes). */
static uint32_t infer__tp_ints(struct infer__tp *tp, infer_model *g, uint32_t t, const int64_t *v, int n) {
    infer__tensor *dst = &g->tensors[g->n_tensors];
    uint8_t *data = (uint8_t *)infer__tp_alloc(tp, (size_t)n, 8);
    int i;
    if (!data) return INFER__ABSENT;
    memset(dst, 0, sizeof *dst);
    dst->name = tp->base->tensors[t].name;
    dst->dtype = INFER_DTYPE_I64;
    dst->n_dims = 1;
    dst->dims[0] = n;
    dst->producer = -1;
    for (i = 0; i < n; i++) infer__wr64(data + 8 * i, (uint64_t)v[i]);
    dst->data = data;
    dst->data_bytes = (size_t)n * 8;
    return g->n_tensors++;
}

/* Applies edit e (of a head split) to node o of rank r's graph g (o->in is g's copy). */
static infer_status infer__tp_apply_edit(struct infer__tp *tp, const infer__tp_edit *e, int r, infer_model *g, infer__node *o,
                                         uint32_t *in) {
    const infer__tp_att *a = &tp->atts[e->att];
    int64_t q[2], k[2], v[INFER_MAX_DIMS], start[3], part[3];
    int i, n;
    infer__tp_heads(a, tp->n, r, q, k);
    switch (e->kind) {
    case INFER__TP_EDIT_SHAPE: /* [0] * lead + [heads, size], or [0] * lead + [heads * size] */
        for (i = 0; i < e->lead; i++) v[i] = 0;
        if (e->role == 3) v[i++] = (q[1] - q[0]) * a->dv;
        else v[i++] = e->role ? k[1] - k[0] : q[1] - q[0], v[i++] = e->role == 2 ? a->dv : a->d;
        return (in[1] = infer__tp_ints(tp, g, o->in[1], v, i)) == INFER__ABSENT ? INFER_STATUS_OUT_OF_MEMORY : INFER_STATUS_OK;
    case INFER__TP_EDIT_SPLIT: /* the projection's local widths, role by role */
        n = infer__tp_ranges(tp, &tp->splits[e->split], r, start, part);
        return (in[1] = infer__tp_ints(tp, g, o->in[1], part, n)) == INFER__ABSENT ? INFER_STATUS_OUT_OF_MEMORY : INFER_STATUS_OK;
    case INFER__TP_EDIT_BIAS:
        n = infer__tp_ranges(tp, &tp->splits[e->split], r, start, part);
        return (in[e->in] = infer__tp_shard(tp, g, o->in[e->in], 0, n, start, part)) == INFER__ABSENT ? INFER_STATUS_OUT_OF_MEMORY
                                                                                                       : INFER_STATUS_OK;
    default: { /* HEADS: Attention's 3-D inputs hold this rank's heads */
        infer__attr *at = (infer__attr *)infer__tp_alloc(tp, (size_t)o->n_attrs + 2, sizeof(infer__attr));
        uint32_t j, na = 0;
        if (!at) return INFER_STATUS_OUT_OF_MEMORY;
        for (j = 0; j < o->n_attrs; j++)
            if (strcmp(o->attrs[j].name, "q_num_heads") && strcmp(o->attrs[j].name, "kv_num_heads")) at[na++] = o->attrs[j];
        at[na].name = "q_num_heads", at[na].type = INFER_ATTR_INT, at[na++].i = q[1] - q[0];
        at[na].name = "kv_num_heads", at[na].type = INFER_ATTR_INT, at[na++].i = k[1] - k[0];
        o->attrs = at;
        o->n_attrs = na;
        return INFER_STATUS_OK;
    }
    }
}

/* Builds rank r's graph into g: the base model's nodes with shards for split weights and
   a collective after each split that needs one. Strings, attributes and replicated
   weights stay the base model's. */
static infer_status infer__tp_rank_graph(struct infer__tp *tp, int r, infer_model *g) {
    const infer_model *m = tp->base;
    uint32_t i, k, n_coll = 0, n_node = 0, n_ref = 0;
    infer__node *nodes;
    uint32_t *refs;
    for (i = 0; i < tp->n_splits; i++) n_coll += tp->splits[i].coll != 0;
    *g = *m;
    g->raw = NULL;
    g->mapped = 0;
    g->tensors = (infer__tensor *)infer__tp_alloc(tp, (size_t)m->n_tensors + 3 * (size_t)tp->n_splits + tp->n_edits,
                                                  sizeof(infer__tensor));
    g->nodes = nodes = (infer__node *)infer__tp_alloc(tp, (size_t)m->n_nodes + n_coll, sizeof(infer__node));
    g->refs = refs = (uint32_t *)infer__tp_alloc(tp, (size_t)m->n_refs + 2 * (size_t)n_coll, sizeof(uint32_t));
    if (!g->tensors || !nodes || !refs) goto oom;
    memcpy(g->tensors, m->tensors, sizeof(infer__tensor) * m->n_tensors);
    for (i = 0; i < m->n_nodes; i++) {
        const infer__node *n = &m->nodes[i];
        infer__node *o = &nodes[n_node];
        uint32_t *in = refs + n_ref;
        *o = *n;
        memcpy(in, n->in, sizeof(uint32_t) * n->n_in);
        memcpy(in + n->n_in, n->out, sizeof(uint32_t) * n->n_out);
        o->in = in;
        o->out = in + n->n_in;
        n_ref += n->n_in + n->n_out;
        for (k = 0; k < n->n_out; k++)
            if (n->out[k] != INFER__ABSENT) g->tensors[n->out[k]].producer = (int32_t)n_node;
        n_node++;
        if (tp->node_edit[i] >= 0) {
            infer_status st = infer__tp_apply_edit(tp, &tp->edits[tp->node_edit[i]], r, g, o, in);
            if (st) goto oom;
        }
        if (tp->node_split[i] >= 0) {
            const infer__tp_split *sp = &tp->splits[tp->node_split[i]];
            int64_t start[3], part[3];
            int n_rng = infer__tp_ranges(tp, sp, r, start, part);
            int row = sp->kind == INFER__TP_PAIR_ROW || sp->kind == INFER__TP_HEAD_ROW; /* the bias stays on rank 0 */
            if ((in[1] = infer__tp_shard(tp, g, n->in[1], sp->w_axis, n_rng, start, part)) == INFER__ABSENT) goto oom;
            if (sp->has_bias && !row && (in[2] = infer__tp_shard(tp, g, n->in[2], 0, n_rng, start, part)) == INFER__ABSENT)
                goto oom;
            if (sp->has_bias && row && r != 0) in[2] = INFER__ABSENT; /* added once */
            if (sp->coll) {
                infer__node *c = &nodes[n_node];
                uint32_t partial = g->n_tensors++, whole = n->out[0];
                infer__tensor *pt = &g->tensors[partial];
                *pt = m->tensors[whole];
                pt->dtype = INFER_DTYPE_UNDEFINED;
                pt->producer = (int32_t)(n_node - 1);
                pt->is_input = 0;
                in[n->n_in] = partial; /* o->out[0] */
                memset(c, 0, sizeof *c);
                c->op = sp->coll;
                c->name = n->name;
                c->n_in = c->n_out = 1;
                c->in = refs + n_ref;
                c->out = refs + n_ref + 1;
                refs[n_ref] = partial;
                refs[n_ref + 1] = whole;
                n_ref += 2;
                g->tensors[whole].producer = (int32_t)n_node;
                if (sp->coll == INFER__OP_ALL_GATHER) {
                    infer__attr *at = (infer__attr *)infer__tp_alloc(tp, 2, sizeof(infer__attr));
                    uint8_t *arr = (uint8_t *)infer__tp_alloc(tp, (size_t)tp->n, 8);
                    int j;
                    if (!at || !arr) goto oom;
                    for (j = 0; j < tp->n; j++) infer__wr64(arr + 8 * j, (uint64_t)infer__tp_part(sp->len, tp->n, j));
                    at[0].name = "axis", at[0].type = INFER_ATTR_INT, at[0].i = sp->gather_axis;
                    at[1].name = "sizes", at[1].type = INFER_ATTR_INTS, at[1].n = (size_t)tp->n, at[1].arr = arr;
                    c->attrs = at;
                    c->n_attrs = 2;
                }
                n_node++;
            }
        }
    }
    g->n_nodes = n_node;
    g->n_refs = n_ref;
    return INFER_STATUS_OK;
oom:
    return infer__fail(NULL, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory making device %d's graph", m->path, r);
}

/* Bytes of the constants that g's nodes read (each tensor once). */
static size_t infer__tp_weight_bytes(const struct infer__tp *tp, const infer_model *g, uint8_t *seen) {
    uint32_t i, k;
    size_t sum = 0;
    memset(seen, 0, g->n_tensors);
    for (i = 0; i < g->n_nodes; i++)
        for (k = 0; k < g->nodes[i].n_in; k++) {
            uint32_t t = g->nodes[i].in[k];
            if (t == INFER__ABSENT || seen[t] || !g->tensors[t].data) continue;
            seen[t] = 1;
            if (tp && t >= tp->base->n_tensors && g->tensors[t].dtype == INFER_DTYPE_I64) continue; /* a head split's
                                                                                             new reshape target */
            sum += g->tensors[t].data_bytes;
        }
    return sum;
}

/* -- tensor-parallel sessions -- */

#if INFER__TP_THREADS
/* Device l > 0 of an in-process session: runs its graph whenever infer_run posts a job. */
static void *infer__tp_worker(void *arg) {
    struct infer__tp *tp = ((struct infer__tp_warg *)arg)->tp;
    int l = ((struct infer__tp_warg *)arg)->l;
    unsigned seen = 0; /* no job was posted before the threads started */
    pthread_mutex_lock(&tp->mu);
    for (;;) {
        const infer_tensor *in;
        size_t n_in;
        infer_status st;
        while (tp->job == seen && !tp->quit) pthread_cond_wait(&tp->job_cv, &tp->mu);
        if (tp->quit) break;
        seen = tp->job;
        in = tp->in;
        n_in = tp->n_in;
        pthread_mutex_unlock(&tp->mu);
        st = infer_run(tp->sess[l], in, n_in, NULL, 0);
        if (st) infer__hub_abort(tp->hub, l);
        pthread_mutex_lock(&tp->mu);
        tp->st[l] = st;
        tp->n_done++;
        pthread_cond_signal(&tp->done_cv);
    }
    pthread_mutex_unlock(&tp->mu);
    return NULL;
}
#endif

static int infer__tp_dispatch(const infer_session *s) { return s->tp && !s->tp->inside; }

static infer_status infer__tp_run(infer_session *s, const infer_tensor *inputs, size_t n_inputs, infer_tensor *outputs,
                                  size_t n_outputs) {
    struct infer__tp *tp = s->tp;
    infer_status st;
    tp->inside = 1;
#if INFER__TP_THREADS
    if (tp->n_local > 1) {
        pthread_mutex_lock(&tp->mu);
        tp->in = inputs;
        tp->n_in = n_inputs;
        tp->n_done = 0;
        tp->job++;
        pthread_cond_broadcast(&tp->job_cv);
        pthread_mutex_unlock(&tp->mu);
    }
#endif
    st = infer_run(s, inputs, n_inputs, outputs, n_outputs);
#if INFER__TP_THREADS
    if (tp->n_local > 1) {
        int l;
        if (st) infer__hub_abort(tp->hub, 0);
        pthread_mutex_lock(&tp->mu);
        while (tp->n_done < tp->n_local - 1) pthread_cond_wait(&tp->done_cv, &tp->mu);
        pthread_mutex_unlock(&tp->mu);
        /* the device that failed first says why (the others stopped because it did) */
        if (tp->hub->abort && tp->hub->first > 0 && tp->st[tp->hub->first])
            st = infer__fail(s->err, tp->st[tp->hub->first], "device %d: %s", tp->hub->first, tp->sess[tp->hub->first]->err);
        for (l = 1; l < tp->n_local && !st; l++)
            if (tp->st[l]) st = infer__fail(s->err, tp->st[l], "device %d: %s", l, tp->sess[l]->err);
        tp->hub->abort = tp->hub->arrived = 0; /* every device has stopped */
    }
#endif
    if (!st) tp->stats.n_runs++;
    tp->inside = 0;
    return st;
}

/* Frees the tensor-parallel parts of device 0's session s, then s itself. */
static void infer__tp_free(infer_session *s) {
    struct infer__tp *tp = s->tp;
    infer_allocator a = tp->a;
    size_t i;
    int l;
#if INFER__TP_THREADS
    if (tp->n_threads_started) {
        pthread_mutex_lock(&tp->mu);
        tp->quit = 1;
        pthread_cond_broadcast(&tp->job_cv);
        pthread_mutex_unlock(&tp->mu);
        for (l = 1; l <= tp->n_threads_started; l++) pthread_join(tp->threads[l], NULL);
    }
    if (tp->mu_ok) {
        pthread_mutex_destroy(&tp->mu);
        pthread_cond_destroy(&tp->job_cv);
        pthread_cond_destroy(&tp->done_cv);
    }
    if (tp->hub && tp->hub->n) {
        pthread_mutex_destroy(&tp->hub->mu);
        pthread_cond_destroy(&tp->hub->cv);
    }
#endif
    for (l = 1; tp->sess && l < tp->n_local; l++) infer_session_free(tp->sess[l]);
    s->tp = NULL;
    infer_session_free(s);
    if (tp->group) tp->be.comm_destroy(tp->be.user, tp->group); /* every rank's device is closed */
    for (i = 0; i < tp->n_blocks; i++) infer__free(&a, tp->blocks[i]);
    infer__free(&a, (void *)tp->blocks);
    infer__free(&a, tp->splits);
    infer__free(&a, tp->node_split);
    infer__free(&a, tp->atts);
    infer__free(&a, tp->edits);
    infer__free(&a, tp->node_edit);
    infer__free(&a, tp->plan);
    infer__free(&a, tp);
}

/* The plan text and the figures, once the sessions exist. */
static infer_status infer__tp_describe(struct infer__tp *tp, int in_process) {
    const infer_model *m = tp->base;
    infer_tp_stats *st = &tp->stats;
    infer_session *s0 = tp->sess[0];
    size_t cap = 1024 + (size_t)tp->n_splits * 240 + (size_t)tp->n_atts * 320 + (size_t)tp->n_local * 48, len = 0,
           max_seen = (size_t)m->n_tensors + 3 * (size_t)tp->n_splits + tp->n_edits;
    uint8_t *seen = (uint8_t *)infer__calloc(&tp->a, max_seen, 1);
    uint32_t i;
    int l;
    char b1[96], b2[96];
    tp->plan = (char *)infer__calloc(&tp->a, cap, 1);
    if (!seen || !tp->plan) {
        infer__free(&tp->a, seen);
        return infer__fail(NULL, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory", m->path);
    }
    st->n_devices = tp->n;
    st->rank = tp->rank0;
    st->n_split = 0;
    st->device_collectives = tp->group != NULL;
    st->weight_bytes = infer__tp_weight_bytes(tp, m, seen);
    for (i = 0; i < tp->n_splits; i++) {
        st->split_weight_bytes += tp->splits[i].split_bytes;
        st->n_split++;
    }
    st->replicated_weight_bytes = st->weight_bytes - INFER__MIN(st->weight_bytes, st->split_weight_bytes);
    for (l = 0; l < tp->n_local; l++) {
        size_t w = infer__tp_weight_bytes(tp, &tp->models[l], seen);
        infer_session_stats ss;
        infer_session_get_stats(tp->sess[l], &ss);
        st->device_weight_bytes = INFER__MAX(st->device_weight_bytes, w);
        st->device_arena_bytes = INFER__MAX(st->device_arena_bytes, ss.arena_bytes);
    }
    infer__free(&tp->a, seen);
#define INFER__PLAN(...) (len += (size_t)snprintf(tp->plan + len, len < cap ? cap - len : 0, __VA_ARGS__), len = INFER__MIN(len, cap - 1))
    INFER__PLAN("tensor parallelism: %d devices (%s), %d layers split\n", tp->n,
                in_process ? "in-process" : "communicator", st->n_split);
    if (tp->dev_names) {
        INFER__PLAN("devices:");
        for (l = 0; l < tp->n_local; l++) INFER__PLAN(" %s", tp->dev_names[l]);
        if (tp->group) INFER__PLAN("; collectives on the devices (%s)\n", tp->be_name);
        else INFER__PLAN("; collectives through the host (%s)\n", tp->coll_why);
    }
    for (i = 0; i < m->n_nodes; i++) { /* each split node, then its collective (output: the same tensor) */
        const infer__tp_split *sp = tp->node_split[i] >= 0 ? &tp->splits[tp->node_split[i]] : NULL;
        const infer__tensor *w;
        int64_t shard[INFER_MAX_DIMS];
        uint32_t j;
        for (j = 0; j < tp->n_atts; j++) /* an attention block: before its first projection, or at its node */
            if ((tp->atts[j].split ? tp->atts[j].first : tp->atts[j].node) == i) {
                const infer__tp_att *a = &tp->atts[j];
                int64_t q[2], k[2];
                if (!a->split) {
                    if (a->hq > 0 && a->hkv > 0)
                        INFER__PLAN("  attention %s: %lld heads (%lld kv heads) over %d devices: ", m->nodes[a->node].name,
                                    (long long)a->hq, (long long)a->hkv, tp->n);
                    else
                        INFER__PLAN("  attention %s: ", m->nodes[a->node].name);
                    INFER__PLAN("not split by heads: %s; its projections are split as other layers\n", a->why);
                    continue;
                }
                infer__tp_heads(a, tp->n, tp->rank0, q, k);
                st->n_attention_split++;
                INFER__PLAN("  attention %s: %lld heads of %lld (%lld kv heads%s) split by heads%s: device %d runs heads "
                            "[%lld, %lld), kv heads [%lld, %lld)\n",
                            m->nodes[a->node].name, (long long)a->hq, (long long)a->d, (long long)a->hkv,
                            a->hkv == a->hq ? "" : ", grouped", a->shared_kv ? " (each kv head shared by its group's devices)" :
                            a->hkv == a->hq ? "" : " (whole kv groups)", tp->rank0, (long long)q[0], (long long)q[1],
                            (long long)k[0], (long long)k[1]);
            }
        if (!sp) continue;
        w = &m->tensors[m->nodes[i].in[1]];
        memcpy(shard, w->dims, sizeof shard);
        shard[sp->w_axis] = infer__tp_local(tp, sp, tp->rank0);
        INFER__PLAN("  %-32s %-10s %s: weight %s -> %s on device %d (%lld along axis %d split %d ways)\n",
                    m->nodes[i].name, infer__ops[m->nodes[i].op].name, infer__tp_kind_names[sp->kind],
                    infer__dstr(b1, w->n_dims, w->dims), infer__dstr(b2, w->n_dims, shard), tp->rank0, (long long)sp->len,
                    sp->w_axis, tp->n);
        if (sp->coll) {
            size_t bytes = s0->vals[m->nodes[i].out[0]].bytes;
            st->comm_bytes += bytes;
            if (sp->coll == INFER__OP_ALL_REDUCE) st->n_allreduce++;
            else st->n_allgather++;
            INFER__PLAN("    %s %zu bytes per run\n", sp->coll == INFER__OP_ALL_REDUCE ? "all-reduce" : "all-gather", bytes);
        }
    }
    INFER__PLAN("weights: %zu bytes in all, %zu in split layers, %zu replicated; the largest device holds %zu "
                "(split / %d + replicated = %zu)\n",
                st->weight_bytes, st->split_weight_bytes, st->replicated_weight_bytes, st->device_weight_bytes, tp->n,
                st->split_weight_bytes / (size_t)tp->n + st->replicated_weight_bytes);
    INFER__PLAN("arena: %zu bytes per device (the largest)\n", st->device_arena_bytes);
    INFER__PLAN("communication: %zu bytes per run in %d all-reduce and %d all-gather\n", st->comm_bytes, st->n_allreduce,
                st->n_allgather);
#undef INFER__PLAN
    return INFER_STATUS_OK;
}

/* Ranks on a registered device: rank r on NAME:((N + r) mod count), N the index that
   opt->device names; collectives on the devices when the backend has them and no two
   ranks share one (else, and when comm_create fails, through the host: the plan says). */
static infer_status infer__tp_devices(struct infer__tp *tp, const infer_session_options *opt) {
    const infer_model *m = tp->base;
    infer_backend be;
    char name[32], err[256] = "";
    int index, count, l, devs[INFER_TP_MAX_DEVICES];
    infer_status st;
    if ((st = infer__backend_find(m, opt->device, &be, name, &index))) return st;
    if ((count = be.device_count(be.user)) <= index)
        return infer__fail(NULL, INFER_STATUS_BACKEND, "%s: no %s device %d (device_count reports %d)", m->path, name,
                           index, count < 0 ? 0 : count);
    if (!(tp->dev_names = (char (*)[48])infer__tp_alloc(tp, (size_t)tp->n_local, sizeof *tp->dev_names)))
        return infer__fail(NULL, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory", m->path);
    for (l = 0; l < tp->n_local; l++) {
        devs[l] = (int)(((long)index + l) % count);
        snprintf(tp->dev_names[l], sizeof *tp->dev_names, "%s:%d", name, devs[l]);
    }
    if (!be.comm_create) tp->coll_why = "the backend has no device collectives";
    else if (count < tp->n_local) tp->coll_why = "ranks share a device";
    else if (!(tp->group = be.comm_create(be.user, devs, tp->n_local, err, sizeof err))) {
        snprintf(tp->coll_err, sizeof tp->coll_err, "the backend's device collectives failed: %s", err[0] ? err : "no reason given");
        tp->coll_why = tp->coll_err;
        if (opt->log) opt->log(opt->log_user, INFER_LOG_WARN, tp->coll_err);
    } else {
        tp->be = be;
        memcpy(tp->be_name, name, sizeof tp->be_name);
        tp->be.name = tp->be_name;
    }
    return INFER_STATUS_OK;
}

/* Gives a rank's device its place in the backend's group (infer__dev_open, after open). */
static infer_status infer__tp_attach(infer_session *s, struct infer__dev *d, char *err, size_t err_size) {
    const struct infer__tp_dev *t = s->m->tp_dev;
    if (!t || !t->group || !d->be.comm_attach) return INFER_STATUS_OK;
    return d->be.comm_attach(d->h, t->group, t->rank, t->comm, err, err_size);
}

static infer_status infer__tp_create(const infer_model *m, const infer_session_options *opt, infer_session **out) {
    const infer_comm *comm = opt->comm;
    struct infer__tp *tp;
    infer_session_options o;
    infer_allocator a = opt->allocator;
    infer_status st;
    int n = comm ? comm->size : opt->tp, l;
    *out = NULL;
    if (!m) return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "infer_session_create: model is NULL");
    if (comm && (comm->size < 1 || comm->rank < 0 || comm->rank >= comm->size || !comm->allreduce_sum_f32 ||
                 !comm->allgather_f32))
        return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT,
                           "%s: the communicator has rank %d of size %d, or lacks its collectives", m->path,
                           comm->rank, comm->size);
    if (comm && opt->tp > 1 && opt->tp != comm->size)
        return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "%s: tp = %d but the communicator has %d ranks", m->path,
                           opt->tp, comm->size);
    if (n > INFER_TP_MAX_DEVICES)
        return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT, "%s: %d devices; at most %d (INFER_TP_MAX_DEVICES)", m->path,
                           n, INFER_TP_MAX_DEVICES);
    if (!comm && opt->arena)
        return infer__fail(NULL, INFER_STATUS_INVALID_ARGUMENT,
                           "%s: an in-process tensor-parallel session has one arena per device; it cannot use the "
                           "caller's arena", m->path);
#if !INFER__TP_THREADS
    if (!comm)
        return infer__fail(NULL, INFER_STATUS_UNSUPPORTED,
                           "%s: in-process tensor parallelism needs POSIX threads in this build; pass a communicator",
                           m->path);
#endif
    tp = (struct infer__tp *)infer__calloc(&a, 1, sizeof *tp);
    if (!tp) return infer__fail(NULL, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory", m->path);
    tp->a = a;
    tp->n = n;
    tp->n_local = comm ? 1 : n;
    tp->rank0 = comm ? comm->rank : 0;
    tp->base = m;
    if ((st = infer__tp_partition(tp, opt))) goto fail;
    if (!comm && infer__wants_device(opt) && (st = infer__tp_devices(tp, opt))) goto fail;
    tp->models = (infer_model *)infer__tp_alloc(tp, (size_t)tp->n_local, sizeof(infer_model));
    tp->devs = (struct infer__tp_dev *)infer__tp_alloc(tp, (size_t)tp->n_local, sizeof(struct infer__tp_dev));
    tp->sess = (infer_session **)infer__tp_alloc(tp, (size_t)tp->n_local, sizeof(infer_session *));
    if (!tp->models || !tp->devs || !tp->sess) goto oom;
#if INFER__TP_THREADS
    if (!comm) {
        tp->hub = (infer__hub *)infer__tp_alloc(tp, 1, sizeof(infer__hub));
        tp->threads = (pthread_t *)infer__tp_alloc(tp, (size_t)n, sizeof(pthread_t));
        tp->st = (infer_status *)infer__tp_alloc(tp, (size_t)n, sizeof(infer_status));
        tp->wargs = (struct infer__tp_warg *)infer__tp_alloc(tp, (size_t)n, sizeof(struct infer__tp_warg));
        if (!tp->hub || !tp->threads || !tp->st || !tp->wargs) goto oom;
        if (pthread_mutex_init(&tp->hub->mu, NULL)) goto oom;
        if (pthread_cond_init(&tp->hub->cv, NULL)) {
            pthread_mutex_destroy(&tp->hub->mu);
            goto oom;
        }
        tp->hub->n = n;
        for (l = 0; l < n; l++) {
            infer_comm *c = &tp->hub->comm[l];
            tp->hub->who[l].hub = tp->hub;
            tp->hub->who[l].rank = l;
            c->rank = l;
            c->size = n;
            c->user = &tp->hub->who[l];
            c->allreduce_sum_f32 = infer__hub_allreduce;
            c->allgather_f32 = infer__hub_allgather;
            c->barrier = infer__hub_barrier;
        }
    }
#endif
    o = *opt;
    o.tp = 0;
    o.comm = NULL;
    if (tp->n_local > 1 && !o.n_threads) o.n_threads = INFER__MAX(1, infer__default_threads() / tp->n_local);
    for (l = 0; l < tp->n_local; l++) {
        int rank = comm ? comm->rank : l;
        if ((st = infer__tp_rank_graph(tp, rank, &tp->models[l]))) goto fail;
#if INFER__TP_THREADS
        tp->devs[l].comm = comm ? comm : &tp->hub->comm[l];
#else
        tp->devs[l].comm = comm;
#endif
        tp->devs[l].group = tp->group;
        tp->devs[l].rank = rank;
        tp->models[l].tp_dev = &tp->devs[l];
        if (tp->dev_names) o.device = tp->dev_names[l];
        if ((st = infer__session_build(&tp->models[l], &o, 0, &tp->sess[l])) ||
            (st = infer__session_setup(tp->sess[l], &o))) {
            if (tp->n_local > 1) { /* the message is rewritten into the buffer it is read from: copy it first */
                char why[INFER__ERR_BYTES];
                snprintf(why, sizeof why, "%s", infer_last_error());
                infer__fail(NULL, st, "device %d: %s", l, why);
            }
            goto fail;
        }
    }
    for (l = 0; l < tp->n_local; l++) tp->devs[l].live = 1;
    if ((st = infer__tp_describe(tp, !comm))) goto fail;
#if INFER__TP_THREADS
    if (tp->n_local > 1) {
        if (pthread_mutex_init(&tp->mu, NULL)) goto oom;
        if (pthread_cond_init(&tp->job_cv, NULL)) {
            pthread_mutex_destroy(&tp->mu);
            goto oom;
        }
        if (pthread_cond_init(&tp->done_cv, NULL)) {
            pthread_cond_destroy(&tp->job_cv);
            pthread_mutex_destroy(&tp->mu);
            goto oom;
        }
        tp->mu_ok = 1;
        for (l = 1; l < n; l++) {
            tp->wargs[l].tp = tp;
            tp->wargs[l].l = l;
            if (pthread_create(&tp->threads[l], NULL, infer__tp_worker, &tp->wargs[l])) {
                st = infer__fail(NULL, INFER_STATUS_BACKEND, "%s: cannot start device %d's thread", m->path, l);
                goto fail;
            }
            tp->n_threads_started = l;
        }
    }
#endif
    tp->sess[0]->tp = tp;
    *out = tp->sess[0];
    return INFER_STATUS_OK;
oom:
    st = infer__fail(NULL, INFER_STATUS_OUT_OF_MEMORY, "%s: out of memory creating a tensor-parallel session", m->path);
fail:
    if (tp->sess && tp->sess[0]) {
        tp->sess[0]->tp = tp;
        infer__tp_free(tp->sess[0]);
    } else { /* no session 0: free the rest here */
        size_t i;
#if INFER__TP_THREADS
        if (tp->hub && tp->hub->n) {
            pthread_mutex_destroy(&tp->hub->mu);
            pthread_cond_destroy(&tp->hub->cv);
        }
#endif
        if (tp->group) tp->be.comm_destroy(tp->be.user, tp->group);
        for (i = 0; i < tp->n_blocks; i++) infer__free(&a, tp->blocks[i]);
        infer__free(&a, (void *)tp->blocks);
        infer__free(&a, tp->splits);
        infer__free(&a, tp->node_split);
        infer__free(&a, tp->atts);
        infer__free(&a, tp->edits);
        infer__free(&a, tp->node_edit);
        infer__free(&a, tp->plan);
        infer__free(&a, tp);
    }
    return st;
}

void infer_session_get_tp_stats(const infer_session *s, infer_tp_stats *st) {
    if (!st) return;
    memset(st, 0, sizeof *st);
    st->n_devices = 1;
    if (s && !s->tp) { /* one device: it holds every weight */
        uint8_t *seen = (uint8_t *)infer__calloc(&s->a, s->m->n_tensors, 1);
        if (seen) st->weight_bytes = st->replicated_weight_bytes = st->device_weight_bytes = infer__tp_weight_bytes(NULL, s->m, seen);
        infer__free(&s->a, seen);
        st->device_arena_bytes = s->arena_bytes;
        return;
    }
    if (!s) return;
    *st = s->tp->stats;
    st->comm_ms = s->tp->devs[0].comm_ms;
}

const char *infer_session_tp_plan(const infer_session *s) { return s && s->tp && s->tp->plan ? s->tp->plan : ""; }


/* ===== 9. CPU BACKEND: KERNELS ======================================== >>cpu */

/* -- helpers shared by the kernels -- */

/* Every parallel loop of the kernels goes through here: fn(arg, i) for each i in [0, n),
   split into nt tasks of contiguous iterations (a static split: the same nt always gives
   the same tasks, whichever thread runs each, so results are deterministic). The tasks
   run on the host's parallel-for when the session has one, else on the session's worker
   threads and the caller (section 2, "threads"), else on the caller alone. Each task
   stops early when the run is cancelled (the executor then reports it), so a cancel
   waits for at most one iteration. `c` (may be NULL: tests, and helpers called outside
   a run) is the running node. */
typedef struct infer__host_loop {
    infer__rt *rt;
    infer__task_fn fn;
    void *arg;
    int64_t n;
    int nt;
} infer__host_loop;
static void infer__host_task(void *task_arg, int k) {
    const infer__host_loop *h = (const infer__host_loop *)task_arg;
    if (k >= 0 && k < h->nt) infer__run_task(h->rt, h->fn, h->arg, h->n, h->nt, k, 0);
}
static void infer__parallel(const infer__ctx *c, int nt, int64_t n, infer__task_fn fn, void *arg) {
    infer__rt *rt = c ? c->rt : NULL;
    if (nt > n) nt = (int)n;
    if (nt > 1 && rt && rt->host) {
        infer__host_loop h;
        h.rt = rt, h.fn = fn, h.arg = arg, h.n = n, h.nt = nt;
        rt->host(rt->host_user, nt, infer__host_task, &h);
        return;
    }
#if INFER__POOL
    if (nt > 1 && rt && rt->pool) {
        infer__pool_run(rt->pool, fn, arg, n, nt);
        return;
    }
#endif
    infer__run_task(rt, fn, arg, n, 1, 0, 1);
}

/* Threads worth using for `work` multiply-adds: tiny ops run on one thread. */
static int infer__threads_for(const infer__ctx *c, double work) {
    int n = c->n_threads;
    if (work < 32768.0) return 1;
    if (work / n < 16384.0) n = (int)(work / 16384.0) + 1;
    return n < 1 ? 1 : n;
}

/* Element strides of v broadcast into an output of rank r with dims; 0 where broadcast. */
static void infer__bstrides(const infer__val *v, int r, const int64_t *dims, int64_t *st) {
    int64_t s = 1;
    int i;
    for (i = r - 1; i >= 0; i--) {
        int j = i - (r - v->n_dims);
        int64_t d = j >= 0 ? v->dims[j] : 1;
        st[i] = d == 1 ? 0 : s;
        s *= d;
        (void)dims;
    }
}

/* Row-major walk over an output with up to 3 broadcast inputs. Adjacent dims merge
   when every input is contiguous across them, so plain element-wise work is one row. */
typedef struct infer__iter {
    int r, n;
    int64_t dims[INFER_MAX_DIMS];
    int64_t st[3][INFER_MAX_DIMS];
    int64_t idx[INFER_MAX_DIMS];
    int64_t off[3];   /* element offsets of the current row's start */
    int64_t len;      /* row length (innermost dim) */
    int64_t inc[3];   /* innermost strides: 0 or 1 */
    int64_t rows;     /* rows left */
} infer__iter;

static void infer__iter_init(infer__iter *it, const infer__val *out, infer__val *const *in, int n) {
    int64_t st[3][INFER_MAX_DIMS];
    int i, k, r = out->n_dims;
    it->n = n;
    for (k = 0; k < n; k++) infer__bstrides(in[k], r, out->dims, st[k]);
    it->r = 0;
    for (i = 0; i < r; i++) {
        int merge = it->r > 0;
        if (out->dims[i] == 1) continue; /* size-1 dims do not change any offset */
        for (k = 0; k < n && merge; k++)
            if (it->st[k][it->r - 1] != st[k][i] * out->dims[i]) merge = 0;
        if (merge) {
            it->dims[it->r - 1] *= out->dims[i];
            for (k = 0; k < n; k++) it->st[k][it->r - 1] = st[k][i];
        } else {
            it->dims[it->r] = out->dims[i];
            for (k = 0; k < n; k++) it->st[k][it->r] = st[k][i];
            it->r++;
        }
    }
    if (it->r == 0) { /* a scalar */
        it->dims[0] = 1;
        for (k = 0; k < n; k++) it->st[k][0] = 0;
        it->r = 1;
    }
    it->len = it->dims[it->r - 1];
    for (k = 0; k < n; k++) it->inc[k] = it->st[k][it->r - 1], it->off[k] = 0;
    it->rows = it->len ? (int64_t)out->n / it->len : 0;
    for (i = 0; i < it->r; i++) it->idx[i] = 0;
}
/* Advances to the next row; returns 0 after the last. */
static int infer__iter_next(infer__iter *it) {
    int i, k;
    if (--it->rows <= 0) return 0;
    for (i = it->r - 2; i >= 0; i--) {
        for (k = 0; k < it->n; k++) it->off[k] += it->st[k][i];
        if (++it->idx[i] < it->dims[i]) return 1;
        for (k = 0; k < it->n; k++) it->off[k] -= it->st[k][i] * it->dims[i];
        it->idx[i] = 0;
    }
    return 1;
}

/* Copies an n-d block: dims[r] elements of esz bytes with byte strides on both sides. */
static void infer__copy_nd(uint8_t *dst, const int64_t *dst_st, const uint8_t *src, const int64_t *src_st, int r,
                           const int64_t *dims, size_t esz) {
    int64_t idx[2 * INFER_MAX_DIMS], j, len;
    int i;
    for (i = 0; i < r; i++)
        if (dims[i] == 0) return;
    if (r == 0) {
        memcpy(dst, src, esz);
        return;
    }
    len = dims[r - 1];
    for (i = 0; i < r; i++) idx[i] = 0;
    for (;;) {
        int64_t ds = dst_st[r - 1], ss = src_st[r - 1];
        if (ds == (int64_t)esz && ss == (int64_t)esz) {
            memcpy(dst, src, (size_t)len * esz);
        } else {
            switch (esz) {
            case 1: for (j = 0; j < len; j++) dst[j * ds] = src[j * ss]; break;
            case 2: for (j = 0; j < len; j++) memcpy(dst + j * ds, src + j * ss, 2); break;
            case 4: for (j = 0; j < len; j++) memcpy(dst + j * ds, src + j * ss, 4); break;
            case 8: for (j = 0; j < len; j++) memcpy(dst + j * ds, src + j * ss, 8); break;
            default: for (j = 0; j < len; j++) memcpy(dst + j * ds, src + j * ss, esz); break;
            }
        }
        for (i = r - 2; i >= 0; i--) {
            dst += dst_st[i];
            src += src_st[i];
            if (++idx[i] < dims[i]) break;
            dst -= dst_st[i] * dims[i];
            src -= src_st[i] * dims[i];
            idx[i] = 0;
        }
        if (i < 0) return;
    }
}

/* Row-major byte strides of dims. */
static void infer__strides(const int64_t *dims, int r, size_t esz, int64_t *st) {
    int64_t s = (int64_t)esz;
    int i;
    for (i = r - 1; i >= 0; i--) {
        st[i] = s;
        s *= dims[i];
    }
}

/* -- element-wise: binary arithmetic (Add Sub Mul Div Pow Max Min Sum) -- */

/* One row: o[i] = a[i*sa] op b[i*sb]. Integers wrap instead of overflowing. */
#define INFER__ROW(T, EXPR)                                                                      \
    do {                                                                                         \
        const T *a = (const T *)pa, *b = (const T *)pb;                                          \
        T *o = (T *)po;                                                                          \
        for (i = 0; i < len; i++) {                                                              \
            T x = a[i * sa], y = b[i * sb];                                                      \
            o[i] = (EXPR);                                                                       \
        }                                                                                        \
    } while (0)

#define INFER__FLOAT_ROWS(T, POWF)                                                               \
    switch (op) {                                                                                \
    case INFER__OP_ADD: case INFER__OP_SUM: INFER__ROW(T, x + y); break;                         \
    case INFER__OP_SUB: INFER__ROW(T, x - y); break;                                             \
    case INFER__OP_MUL: INFER__ROW(T, x * y); break;                                             \
    case INFER__OP_DIV: INFER__ROW(T, x / y); break;                                             \
    case INFER__OP_POW: INFER__ROW(T, POWF(x, y)); break;                                        \
    case INFER__OP_MAX: INFER__ROW(T, (x > y || x != x) ? x : y); break;                         \
    case INFER__OP_MIN: INFER__ROW(T, (x < y || x != x) ? x : y); break;                         \
    case INFER__OP_MEAN: INFER__ROW(T, x + y); break; /* divided at the end */                   \
    case INFER__OP_PRELU: INFER__ROW(T, x < 0 ? x * y : x); break;                               \
    case INFER__OP_MOD: INFER__ROW(T, (T)infer__fmod_or_mod((double)x, (double)y, flag)); break; \
    default: break;                                                                              \
    }

#define INFER__INT_ROWS(T, IS_SIGNED, TMIN)                                                      \
    switch (op) {                                                                                \
    case INFER__OP_ADD: case INFER__OP_SUM: INFER__ROW(T, (T)((uint64_t)x + (uint64_t)y)); break; \
    case INFER__OP_SUB: INFER__ROW(T, (T)((uint64_t)x - (uint64_t)y)); break;                    \
    case INFER__OP_MUL: INFER__ROW(T, (T)((uint64_t)x * (uint64_t)y)); break;                    \
    case INFER__OP_MAX: INFER__ROW(T, x > y ? x : y); break;                                     \
    case INFER__OP_MIN: INFER__ROW(T, x < y ? x : y); break;                                     \
    case INFER__OP_DIV:                                                                          \
        INFER__ROW(T, y == 0 ? (bad = 1, (T)0)                                                   \
                             : (IS_SIGNED && x == TMIN && y == (T)-1) ? x : (T)(x / y));         \
        break;                                                                                   \
    case INFER__OP_POW: INFER__ROW(T, infer__ipow(x, y, &bad)); break;                           \
    case INFER__OP_PRELU: /* unsigned: never negative */                                         \
        INFER__ROW(T, (IS_SIGNED && infer__is_neg((int64_t)x)) ? (T)((uint64_t)x * (uint64_t)y) : x); \
        break;                                                                                   \
    case INFER__OP_MOD: /* IS_SIGNED: fmod=1 keeps the dividend's sign, 0 the divisor's */       \
        INFER__ROW(T, y == 0 ? (bad = 1, (T)0)                                                   \
                             : IS_SIGNED ? (T)infer__imod((int64_t)x, (int64_t)y, flag)          \
                                         : (T)((uint64_t)x % (uint64_t)y));                      \
        break;                                                                                   \
    case INFER__OP_BITWISE_AND: INFER__ROW(T, (T)(x & y)); break;                               \
    case INFER__OP_BITWISE_OR: INFER__ROW(T, (T)(x | y)); break;                                 \
    case INFER__OP_BITWISE_XOR: INFER__ROW(T, (T)(x ^ y)); break;                               \
    case INFER__OP_BIT_SHIFT: /* unsigned only; shifting out every bit gives 0 */                \
        INFER__ROW(T, (uint64_t)y >= sizeof(T) * 8 ? (T)0                                        \
                      : flag ? (T)((uint64_t)x >> (uint64_t)y) : (T)((uint64_t)x << (uint64_t)y)); \
        break;                                                                                   \
    default: break;                                                                              \
    }

static int64_t infer__ipow(int64_t x, int64_t y, int *bad) {
    uint64_t r = 1, b = (uint64_t)x;
    if (y < 0) {
        *bad = 1;
        return 0;
    }
    while (y) {
        if (y & 1) r *= b;
        b *= b;
        y >>= 1;
    }
    return (int64_t)r;
}

static int infer__is_neg(int64_t v) { return v < 0; }

/* Mod: fmod (the dividend's sign) or, flag 0, Python's % (the divisor's sign). */
static double infer__fmod_or_mod(double x, double y, int fmod_) {
    double r = fmod(x, y);
    if (!fmod_ && r != 0 && ((r < 0) != (y < 0))) r += y;
    if (!fmod_ && r == 0) r = copysign(0.0, y);
    return r;
}
static int64_t infer__imod(int64_t x, int64_t y, int fmod_) { /* y != 0 */
    int64_t r = y == -1 ? 0 : x % y;
    if (!fmod_ && r != 0 && ((r < 0) != (y < 0))) r += y;
    return r;
}

/* Pow with an exponent of another dtype: the exponent is read as double. */
static double infer__get_f64(const void *p, infer_dtype t, int64_t i) {
    switch (t) {
    case INFER_DTYPE_F32: return ((const float *)p)[i];
    case INFER_DTYPE_F64: return ((const double *)p)[i];
    case INFER_DTYPE_I32: return ((const int32_t *)p)[i];
    case INFER_DTYPE_I64: return (double)((const int64_t *)p)[i];
    default: return 0;
    }
}

static int infer__binary_row(int op, int flag, infer_dtype t, infer_dtype tb, void *po, const void *pa, int64_t sa,
                             const void *pb, int64_t sb, int64_t len) {
    int64_t i;
    int bad = 0;
    if (op == INFER__OP_POW && tb != t) {
        for (i = 0; i < len; i++) {
            double y = infer__get_f64(pb, tb, i * sb);
            if (t == INFER_DTYPE_F32) ((float *)po)[i] = (float)pow(((const float *)pa)[i * sa], y);
            else ((double *)po)[i] = pow(((const double *)pa)[i * sa], y);
        }
        return 0;
    }
    switch (t) {
    case INFER_DTYPE_F32: INFER__FLOAT_ROWS(float, powf); break;
    case INFER_DTYPE_F64: INFER__FLOAT_ROWS(double, pow); break;
    case INFER_DTYPE_I8: INFER__INT_ROWS(int8_t, 1, INT8_MIN); break;
    case INFER_DTYPE_I16: INFER__INT_ROWS(int16_t, 1, INT16_MIN); break;
    case INFER_DTYPE_I32: INFER__INT_ROWS(int32_t, 1, INT32_MIN); break;
    case INFER_DTYPE_I64: INFER__INT_ROWS(int64_t, 1, INT64_MIN); break;
    case INFER_DTYPE_U8: INFER__INT_ROWS(uint8_t, 0, 0); break;
    case INFER_DTYPE_U16: INFER__INT_ROWS(uint16_t, 0, 0); break;
    case INFER_DTYPE_U32: INFER__INT_ROWS(uint32_t, 0, 0); break;
    case INFER_DTYPE_U64: INFER__INT_ROWS(uint64_t, 0, 0); break;
    default: break;
    }
    return bad;
}

/* A binary op on channels-last tensors (infer__layout_pass: all of its tensors are) is the
   same op on their dims in storage order, [n][h][w][c]: kernel fn on copies of the values so
   permuted (which broadcasting then reads right, a [n][c][1][1] operand included). */
static infer_status infer__binary_nhwc(const infer__ctx *c, infer__kernel_fn fn) {
    infer__val v[3], *io[3];
    infer__ctx d = *c;
    uint32_t k;
    if (c->n_in != 2 || !c->in[1] || !c->in[0]->nhwc || !c->in[1]->nhwc || c->out[0]->n_dims != 4)
        return infer__cfail(c, INFER_STATUS_BACKEND, "channels-last inputs the layout pass did not pair");
    for (k = 0; k < 3; k++) {
        v[k] = k < 2 ? *c->in[k] : *c->out[0];
        v[k].nhwc = 0;
        v[k].dims[1] = (k < 2 ? c->in[k] : c->out[0])->dims[2];
        v[k].dims[2] = (k < 2 ? c->in[k] : c->out[0])->dims[3];
        v[k].dims[3] = (k < 2 ? c->in[k] : c->out[0])->dims[1];
        io[k] = &v[k];
    }
    d.in = io, d.out = io + 2;
    return fn(&d);
}

static infer_status infer__binary_ref(const infer__ctx *c) {
    infer__val *o = c->out[0];
    size_t esz = infer_dtype_bytes(o->dtype), eszb;
    uint32_t k, first = 0;
    int op = c->node->op;
    if (o->nhwc) return infer__binary_nhwc(c, infer__binary_ref);
    if (c->n_in == 1) { /* Sum/Max/Min of one input */
        memmove(o->data, c->in[0]->data, o->bytes);
        return INFER_STATUS_OK;
    }
    /* Inputs after the first two fold into the output. When the output shares its bytes
       with one of them (in place), that input goes first (swapped with input 0), so it
       is read before it is overwritten; Sum, Max and Min are commutative. */
    for (k = 2; k < c->n_in; k++)
        if (c->in[k]->data == o->data) first = k;
    for (k = 1; k < c->n_in; k++) {
        infer__val *pair[2];
        infer__iter it;
        int64_t row = 0;
        pair[0] = k == 1 ? c->in[first] : o; /* later inputs accumulate into the output */
        pair[1] = c->in[k == first ? 0 : k];
        eszb = infer_dtype_bytes(pair[1]->dtype);
        infer__iter_init(&it, o, pair, 2);
        if (it.rows > 0) do {
            if (infer__binary_row(op, c->p->ax.flag, o->dtype, pair[1]->dtype, (uint8_t *)o->data + (size_t)(row++ * it.len) * esz,
                                  (const uint8_t *)pair[0]->data + it.off[0] * (int64_t)esz, it.inc[0],
                                  (const uint8_t *)pair[1]->data + it.off[1] * (int64_t)eszb, it.inc[1], it.len))
                return infer__cfail(c, INFER_STATUS_INVALID_ARGUMENT,
                                    op == INFER__OP_POW ? "integer power with a negative exponent" : "integer division by zero");
        } while (infer__iter_next(&it));
    }
    if (op == INFER__OP_MEAN) {
        size_t i;
        if (o->dtype == INFER_DTYPE_F32)
            for (i = 0; i < o->n; i++) ((float *)o->data)[i] /= (float)c->n_in;
        else
            for (i = 0; i < o->n; i++) ((double *)o->data)[i] /= (double)c->n_in;
    }
    return INFER_STATUS_OK;
}

/* -- element-wise: comparisons and logic (output bool) -- */

#define INFER__CMP_ROWS(T)                                                                       \
    switch (op) {                                                                                \
    case INFER__OP_EQUAL: INFER__ROW2(T, x == y); break;                                         \
    case INFER__OP_LESS: INFER__ROW2(T, x < y); break;                                           \
    case INFER__OP_LESS_EQUAL: INFER__ROW2(T, x <= y); break;                                    \
    case INFER__OP_GREATER: INFER__ROW2(T, x > y); break;                                        \
    case INFER__OP_GREATER_EQUAL: INFER__ROW2(T, x >= y); break;                                 \
    case INFER__OP_AND: INFER__ROW2(T, x && y); break;                                           \
    case INFER__OP_OR: INFER__ROW2(T, x || y); break;                                            \
    case INFER__OP_XOR: INFER__ROW2(T, !x != !y); break;                                         \
    default: break;                                                                              \
    }
#define INFER__ROW2(T, EXPR)                                                                     \
    do {                                                                                         \
        const T *a = (const T *)pa, *b = (const T *)pb;                                          \
        for (i = 0; i < len; i++) {                                                              \
            T x = a[i * sa], y = b[i * sb];                                                      \
            po[i] = (uint8_t)((EXPR) ? 1 : 0);                                                   \
        }                                                                                        \
    } while (0)

static void infer__compare_row(int op, infer_dtype t, uint8_t *po, const void *pa, int64_t sa, const void *pb,
                               int64_t sb, int64_t len) {
    int64_t i;
    switch (t) {
    case INFER_DTYPE_F32: INFER__CMP_ROWS(float); break;
    case INFER_DTYPE_F64: INFER__CMP_ROWS(double); break;
    case INFER_DTYPE_I8: INFER__CMP_ROWS(int8_t); break;
    case INFER_DTYPE_I16: INFER__CMP_ROWS(int16_t); break;
    case INFER_DTYPE_I32: INFER__CMP_ROWS(int32_t); break;
    case INFER_DTYPE_I64: INFER__CMP_ROWS(int64_t); break;
    case INFER_DTYPE_U8: case INFER_DTYPE_BOOL: INFER__CMP_ROWS(uint8_t); break;
    case INFER_DTYPE_U16: INFER__CMP_ROWS(uint16_t); break;
    case INFER_DTYPE_U32: INFER__CMP_ROWS(uint32_t); break;
    case INFER_DTYPE_U64: INFER__CMP_ROWS(uint64_t); break;
    default: break;
    }
}

static infer_status infer__compare_ref(const infer__ctx *c) {
    infer__val *o = c->out[0];
    size_t esz = infer_dtype_bytes(c->in[0]->dtype);
    int64_t row = 0;
    infer__iter it;
    infer__iter_init(&it, o, c->in, 2);
    if (it.rows > 0) do {
        infer__compare_row(c->node->op, c->in[0]->dtype, (uint8_t *)o->data + row * it.len,
                           (const uint8_t *)c->in[0]->data + it.off[0] * (int64_t)esz, it.inc[0],
                           (const uint8_t *)c->in[1]->data + it.off[1] * (int64_t)esz, it.inc[1], it.len);
        row++;
    } while (infer__iter_next(&it));
    return INFER_STATUS_OK;
}

/* -- Where -- */

static infer_status infer__where_ref(const infer__ctx *c) {
    infer__val *o = c->out[0];
    size_t esz = infer_dtype_bytes(o->dtype);
    int64_t row = 0, i;
    infer__iter it;
    infer__iter_init(&it, o, c->in, 3);
    if (it.rows > 0) do {
        const uint8_t *cond = (const uint8_t *)c->in[0]->data + it.off[0];
        const uint8_t *x = (const uint8_t *)c->in[1]->data + it.off[1] * (int64_t)esz;
        const uint8_t *y = (const uint8_t *)c->in[2]->data + it.off[2] * (int64_t)esz;
        uint8_t *po = (uint8_t *)o->data + (size_t)(row * it.len) * esz;
        for (i = 0; i < it.len; i++)
            memcpy(po + i * (int64_t)esz, cond[i * it.inc[0]] ? x + i * it.inc[1] * (int64_t)esz : y + i * it.inc[2] * (int64_t)esz, esz);
        row++;
    } while (infer__iter_next(&it));
    return INFER_STATUS_OK;
}

/* -- element-wise: unary -- */

#define INFER__UNARY_FLOAT(T, F)                                                                  \
    do {                                                                                          \
        const T *x = (const T *)c->in[0]->data;                                                   \
        T *y = (T *)c->out[0]->data;                                                              \
        uint8_t *yb = (uint8_t *)c->out[0]->data; /* IsNaN, IsInf */                              \
        const T al = (T)p->alpha, be = (T)p->beta;                                                \
        switch (op) {                                                                             \
        case INFER__OP_SQRT: for (i = 0; i < n; i++) y[i] = F(sqrt)(x[i]); break;                 \
        case INFER__OP_RECIPROCAL: for (i = 0; i < n; i++) y[i] = (T)1 / x[i]; break;             \
        case INFER__OP_NEG: for (i = 0; i < n; i++) y[i] = -x[i]; break;                          \
        case INFER__OP_ABS: for (i = 0; i < n; i++) y[i] = F(fabs)(x[i]); break;                  \
        case INFER__OP_EXP: for (i = 0; i < n; i++) y[i] = F(exp)(x[i]); break;                   \
        case INFER__OP_LOG: for (i = 0; i < n; i++) y[i] = F(log)(x[i]); break;                   \
        case INFER__OP_ERF: for (i = 0; i < n; i++) y[i] = F(erf)(x[i]); break;                   \
        case INFER__OP_TANH: for (i = 0; i < n; i++) y[i] = F(tanh)(x[i]); break;                 \
        case INFER__OP_RELU: for (i = 0; i < n; i++) y[i] = x[i] < 0 ? (T)0 : x[i]; break;        \
        case INFER__OP_LEAKY_RELU: for (i = 0; i < n; i++) y[i] = x[i] < 0 ? al * x[i] : x[i]; break; \
        case INFER__OP_SIGMOID:                                                                   \
            for (i = 0; i < n; i++) {                                                             \
                T v = x[i];                                                                       \
                y[i] = v >= 0 ? (T)1 / ((T)1 + F(exp)(-v)) : F(exp)(v) / ((T)1 + F(exp)(v));      \
            }                                                                                     \
            break;                                                                                \
        case INFER__OP_HARD_SIGMOID:                                                              \
            for (i = 0; i < n; i++) {                                                             \
                T v = al * x[i] + be;                                                             \
                y[i] = v < 0 ? (T)0 : v > 1 ? (T)1 : v;                                           \
            }                                                                                     \
            break;                                                                                \
        case INFER__OP_SWISH: /* x * sigmoid(alpha * x) */                                        \
            for (i = 0; i < n; i++) {                                                             \
                T v = al * x[i];                                                                  \
                y[i] = x[i] * (v >= 0 ? (T)1 / ((T)1 + F(exp)(-v)) : F(exp)(v) / ((T)1 + F(exp)(v))); \
            }                                                                                     \
            break;                                                                                \
        case INFER__OP_HARD_SWISH:                                                                \
            for (i = 0; i < n; i++) {                                                             \
                T v = x[i] / (T)6 + (T)0.5;                                                       \
                y[i] = x[i] * (v < 0 ? (T)0 : v > 1 ? (T)1 : v);                                  \
            }                                                                                     \
            break;                                                                                \
        case INFER__OP_GELU: /* 1 + tanh(u) = 2 / (1 + exp(-2u)) and 1 + erf(-z) = erfc(z): \
                                no cancellation for negative x */                                 \
            if (p->flag)                                                                          \
                for (i = 0; i < n; i++) {                                                         \
                    T v = x[i];                                                                   \
                    y[i] = v / ((T)1 + F(exp)((T)-1.5957691216057308 * (v + (T)0.044715 * v * v * v))); \
                }                                                                                 \
            else                                                                                  \
                for (i = 0; i < n; i++) y[i] = (T)0.5 * x[i] * F(erfc)(x[i] * (T)-0.7071067811865476); \
            break;                                                                                \
        case INFER__OP_FLOOR: for (i = 0; i < n; i++) y[i] = F(floor)(x[i]); break;              \
        case INFER__OP_CEIL: for (i = 0; i < n; i++) y[i] = F(ceil)(x[i]); break;                \
        case INFER__OP_ROUND: /* half to even, whatever the rounding mode; keeps the sign of 0 */ \
            for (i = 0; i < n; i++) {                                                             \
                T v = x[i], r = F(floor)(v), d = v - r;                                           \
                if (d > (T)0.5 || (d == (T)0.5 && F(fmod)(r, (T)2) != 0)) r += 1;                 \
                y[i] = F(copysign)(r, v);                                                         \
            }                                                                                     \
            break;                                                                                \
        case INFER__OP_SIGN: for (i = 0; i < n; i++) y[i] = x[i] > 0 ? (T)1 : x[i] < 0 ? (T)-1 : x[i]; break; \
        case INFER__OP_SIN: for (i = 0; i < n; i++) y[i] = F(sin)(x[i]); break;                  \
        case INFER__OP_COS: for (i = 0; i < n; i++) y[i] = F(cos)(x[i]); break;                  \
        case INFER__OP_TAN: for (i = 0; i < n; i++) y[i] = F(tan)(x[i]); break;                  \
        case INFER__OP_ASIN: for (i = 0; i < n; i++) y[i] = F(asin)(x[i]); break;                \
        case INFER__OP_ACOS: for (i = 0; i < n; i++) y[i] = F(acos)(x[i]); break;                \
        case INFER__OP_ATAN: for (i = 0; i < n; i++) y[i] = F(atan)(x[i]); break;                \
        case INFER__OP_SINH: for (i = 0; i < n; i++) y[i] = F(sinh)(x[i]); break;                \
        case INFER__OP_COSH: for (i = 0; i < n; i++) y[i] = F(cosh)(x[i]); break;                \
        case INFER__OP_ASINH: for (i = 0; i < n; i++) y[i] = F(asinh)(x[i]); break;              \
        case INFER__OP_ACOSH: for (i = 0; i < n; i++) y[i] = F(acosh)(x[i]); break;              \
        case INFER__OP_ATANH: for (i = 0; i < n; i++) y[i] = F(atanh)(x[i]); break;              \
        case INFER__OP_SOFTPLUS: /* log(1 + exp(x)) without overflow */                           \
            for (i = 0; i < n; i++) {                                                             \
                T v = x[i];                                                                       \
                y[i] = v > 0 ? v + F(log1p)(F(exp)(-v)) : F(log1p)(F(exp)(v));                   \
            }                                                                                     \
            break;                                                                                \
        case INFER__OP_SOFTSIGN: for (i = 0; i < n; i++) y[i] = x[i] / ((T)1 + F(fabs)(x[i])); break; \
        case INFER__OP_ELU: for (i = 0; i < n; i++) y[i] = x[i] < 0 ? al * F(expm1)(x[i]) : x[i]; break; \
        case INFER__OP_SELU: /* gamma * (alpha * exp(x) - alpha) for x <= 0, gamma * x above */   \
            for (i = 0; i < n; i++) y[i] = x[i] > 0 ? be * x[i] : be * al * F(expm1)(x[i]);      \
            break;                                                                                \
        case INFER__OP_CELU: /* max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) */               \
            for (i = 0; i < n; i++) {                                                             \
                T v = x[i], e = al * F(expm1)(v / al);                                            \
                y[i] = v != v ? v : (v > 0 ? v : (T)0) + (e < 0 ? e : (T)0);                      \
            }                                                                                     \
            break;                                                                                \
        case INFER__OP_THRESHOLDED_RELU: for (i = 0; i < n; i++) y[i] = x[i] > al ? x[i] : (T)0; break; \
        case INFER__OP_MISH: /* x * tanh(softplus(x)) */                                          \
            for (i = 0; i < n; i++) {                                                             \
                T v = x[i], sp = v > 0 ? v + F(log1p)(F(exp)(-v)) : F(log1p)(F(exp)(v));          \
                y[i] = v * F(tanh)(sp);                                                           \
            }                                                                                     \
            break;                                                                                \
        case INFER__OP_SHRINK: /* alpha = lambd, beta = bias */                                   \
            for (i = 0; i < n; i++) y[i] = x[i] < -al ? x[i] + be : x[i] > al ? x[i] - be : (T)0; \
            break;                                                                                \
        case INFER__OP_IS_NAN: for (i = 0; i < n; i++) yb[i] = (uint8_t)(x[i] != x[i]); break;   \
        case INFER__OP_IS_INF:                                                                    \
            for (i = 0; i < n; i++)                                                               \
                yb[i] = (uint8_t)((x[i] == (T)INFINITY && (p->flag & 2)) || (x[i] == -(T)INFINITY && (p->flag & 1))); \
            break;                                                                                \
        default: break;                                                                           \
        }                                                                                         \
    } while (0)

#define INFER__F32FN(name) name##f
#define INFER__F64FN(name) name

#define INFER__UNARY_INT(T)                                                                       \
    do {                                                                                          \
        const T *x = (const T *)c->in[0]->data;                                                   \
        T *y = (T *)c->out[0]->data;                                                              \
        switch (op) {                                                                             \
        case INFER__OP_NEG: for (i = 0; i < n; i++) y[i] = (T)(0 - (uint64_t)x[i]); break;        \
        case INFER__OP_ABS: for (i = 0; i < n; i++) y[i] = x[i] < 0 ? (T)(0 - (uint64_t)x[i]) : x[i]; break; \
        case INFER__OP_RELU: for (i = 0; i < n; i++) y[i] = x[i] < 0 ? (T)0 : x[i]; break;        \
        case INFER__OP_SIGN: for (i = 0; i < n; i++) y[i] = (T)(x[i] > 0 ? 1 : x[i] < 0 ? -1 : 0); break; \
        default: break;                                                                           \
        }                                                                                         \
    } while (0)

#define INFER__SIGN_UINT(T)                                                                       \
    do {                                                                                          \
        const T *x = (const T *)c->in[0]->data;                                                   \
        T *y = (T *)c->out[0]->data;                                                              \
        for (i = 0; i < n; i++) y[i] = (T)(x[i] != 0);                                            \
    } while (0)

static infer_status infer__unary_ref(const infer__ctx *c) {
    const infer__axis_p *p = &c->p->ax;
    int64_t i, n = (int64_t)c->out[0]->n;
    int op = c->node->op;
    if (op == INFER__OP_BITWISE_NOT) { /* any integer width: every byte complemented */
        const uint8_t *x = (const uint8_t *)c->in[0]->data;
        uint8_t *y = (uint8_t *)c->out[0]->data;
        size_t k;
        for (k = 0; k < c->out[0]->bytes; k++) y[k] = (uint8_t)~x[k];
        return INFER_STATUS_OK;
    }
    switch (c->in[0]->dtype) {
    case INFER_DTYPE_F32: INFER__UNARY_FLOAT(float, INFER__F32FN); break;
    case INFER_DTYPE_F64: INFER__UNARY_FLOAT(double, INFER__F64FN); break;
    case INFER_DTYPE_I8: INFER__UNARY_INT(int8_t); break;
    case INFER_DTYPE_I16: INFER__UNARY_INT(int16_t); break;
    case INFER_DTYPE_I32: INFER__UNARY_INT(int32_t); break;
    case INFER_DTYPE_I64: INFER__UNARY_INT(int64_t); break;
    case INFER_DTYPE_U8: case INFER_DTYPE_U16: case INFER_DTYPE_U32: case INFER_DTYPE_U64: /* Abs, Sign */
        if (op != INFER__OP_SIGN) memmove(c->out[0]->data, c->in[0]->data, c->out[0]->bytes);
        else if (c->in[0]->dtype == INFER_DTYPE_U8) INFER__SIGN_UINT(uint8_t);
        else if (c->in[0]->dtype == INFER_DTYPE_U16) INFER__SIGN_UINT(uint16_t);
        else if (c->in[0]->dtype == INFER_DTYPE_U32) INFER__SIGN_UINT(uint32_t);
        else INFER__SIGN_UINT(uint64_t);
        break;
    case INFER_DTYPE_F16: case INFER_DTYPE_BF16: { /* IsNaN, IsInf: exponent all ones */
        const uint16_t *x = (const uint16_t *)c->in[0]->data;
        uint8_t *y = (uint8_t *)c->out[0]->data;
        unsigned e = c->in[0]->dtype == INFER_DTYPE_F16 ? 0x7C00u : 0x7F80u; /* the exponent bits */
        for (i = 0; i < n; i++) {
            unsigned h = x[i], inf = (h & 0x7FFFu) == e;
            y[i] = (uint8_t)(op == INFER__OP_IS_NAN ? (h & e) == e && !inf
                                                    : inf && (p->flag & ((h & 0x8000u) ? 1 : 2)));
        }
        break;
    }
    case INFER_DTYPE_BOOL: { /* Not */
        const uint8_t *x = (const uint8_t *)c->in[0]->data;
        uint8_t *y = (uint8_t *)c->out[0]->data;
        for (i = 0; i < n; i++) y[i] = (uint8_t)!x[i];
        break;
    }
    default: break;
    }
    return INFER_STATUS_OK;
}

/* -- Clip -- */

#define INFER__CLIP(T, LO, HI)                                                                    \
    do {                                                                                          \
        const T *x = (const T *)c->in[0]->data;                                                   \
        T *y = (T *)c->out[0]->data, lo = (LO), hi = (HI);                                        \
        if (c->n_in > 1 && c->in[1]) lo = *(const T *)c->in[1]->data;                             \
        if (c->n_in > 2 && c->in[2]) hi = *(const T *)c->in[2]->data;                             \
        for (i = 0; i < n; i++) { /* Min(max, Max(x, min)): min > max gives max (ONNX) */         \
            T v = x[i] < lo ? lo : x[i];                                                          \
            y[i] = v > hi ? hi : v;                                                               \
        }                                                                                         \
    } while (0)

static infer_status infer__clip_ref(const infer__ctx *c) {
    int64_t i, n = (int64_t)c->out[0]->n;
    switch (c->in[0]->dtype) {
    case INFER_DTYPE_F32: INFER__CLIP(float, -INFINITY, INFINITY); break;
    case INFER_DTYPE_F64: INFER__CLIP(double, -INFINITY, INFINITY); break;
    case INFER_DTYPE_I8: INFER__CLIP(int8_t, INT8_MIN, INT8_MAX); break;
    case INFER_DTYPE_I16: INFER__CLIP(int16_t, INT16_MIN, INT16_MAX); break;
    case INFER_DTYPE_I32: INFER__CLIP(int32_t, INT32_MIN, INT32_MAX); break;
    case INFER_DTYPE_I64: INFER__CLIP(int64_t, INT64_MIN, INT64_MAX); break;
    case INFER_DTYPE_U8: INFER__CLIP(uint8_t, 0, UINT8_MAX); break;
    case INFER_DTYPE_U16: INFER__CLIP(uint16_t, 0, UINT16_MAX); break;
    case INFER_DTYPE_U32: INFER__CLIP(uint32_t, 0, UINT32_MAX); break;
    case INFER_DTYPE_U64: INFER__CLIP(uint64_t, 0, UINT64_MAX); break;
    default: break;
    }
    return INFER_STATUS_OK;
}

/* -- InstanceNormalization, LpNormalization, Hardmax -- */

static infer_status infer__instance_norm_ref(const infer__ctx *c) {
    const infer__axis_p *p = &c->p->ax; /* [outer = N][len = C][inner = spatial] */
    const float *x = (const float *)c->in[0]->data, *scale = (const float *)c->in[1]->data;
    const float *bias = (const float *)c->in[2]->data;
    float *y = (float *)c->out[0]->data;
    int64_t o, ch, i;
    for (o = 0; o < p->outer; o++)
        for (ch = 0; ch < p->len; ch++) {
            const float *xr = x + (o * p->len + ch) * p->inner;
            float *yr = y + (o * p->len + ch) * p->inner;
            double mean = 0, var = 0, a, b;
            for (i = 0; i < p->inner; i++) mean += xr[i];
            mean = p->inner ? mean / (double)p->inner : 0;
            for (i = 0; i < p->inner; i++) var += (xr[i] - mean) * (xr[i] - mean);
            var = p->inner ? var / (double)p->inner : 0;
            a = scale[ch] / sqrt(var + p->alpha);
            b = bias[ch] - mean * a;
            for (i = 0; i < p->inner; i++) yr[i] = (float)(xr[i] * a + b);
        }
    return INFER_STATUS_OK;
}

/* GroupNormalization: statistics over each (instance, group of channels), then per-channel
   scale and bias. */
static infer_status infer__group_norm_ref(const infer__ctx *c) {
    const infer__axis_p *p = &c->p->ax; /* [outer = N][len = C][inner = spatial]; axis: groups */
    const float *x = (const float *)c->in[0]->data, *scale = (const float *)c->in[1]->data;
    const float *bias = (const float *)c->in[2]->data;
    float *y = (float *)c->out[0]->data;
    int64_t cpg = p->len / p->axis, n = cpg * p->inner, o, g, ch, i;
    for (o = 0; o < p->outer; o++)
        for (g = 0; g < p->axis; g++) {
            const float *xr = x + (o * p->len + g * cpg) * p->inner;
            float *yr = y + (o * p->len + g * cpg) * p->inner;
            double mean = 0, var = 0, inv;
            for (i = 0; i < n; i++) mean += xr[i];
            mean = n ? mean / (double)n : 0;
            for (i = 0; i < n; i++) var += (xr[i] - mean) * (xr[i] - mean);
            var = n ? var / (double)n : 0;
            inv = 1.0 / sqrt(var + p->alpha);
            for (ch = 0; ch < cpg; ch++) {
                double a = scale[g * cpg + ch] * inv, b = bias[g * cpg + ch];
                for (i = 0; i < p->inner; i++) yr[ch * p->inner + i] = (float)((xr[ch * p->inner + i] - mean) * a + b);
            }
        }
    return INFER_STATUS_OK;
}

/* LRN: y = x / (bias + alpha / size * sum of x^2 over channels [c - (size-1)/2, c + size/2])^beta */
static infer_status infer__lrn_ref(const infer__ctx *c) {
    const infer__axis_p *p = &c->p->ax; /* [outer = N][len = C][inner = spatial]; flag: size */
    const float *x = (const float *)c->in[0]->data;
    float *y = (float *)c->out[0]->data;
    double bias = infer__attr_f(c->node, "bias", 1.0f), scale = (double)p->alpha / p->flag;
    int64_t o, ch, i, j;
    for (o = 0; o < p->outer; o++)
        for (ch = 0; ch < p->len; ch++) {
            int64_t lo = INFER__MAX(0, ch - (p->flag - 1) / 2), hi = INFER__MIN(p->len - 1, ch + p->flag / 2);
            const float *xo = x + o * p->len * p->inner;
            for (i = 0; i < p->inner; i++) {
                double sq = 0, v;
                for (j = lo; j <= hi; j++) {
                    v = xo[j * p->inner + i];
                    sq += v * v;
                }
                y[(o * p->len + ch) * p->inner + i] =
                    (float)(xo[ch * p->inner + i] / pow(bias + scale * sq, (double)p->beta));
            }
        }
    return INFER_STATUS_OK;
}

/* MeanVarianceNormalization: y = (x - mean) / (sqrt(variance) + 1e-9) over the masked axes. */
static infer_status infer__mvn_ref(const infer__ctx *c) {
    const infer__val *xv = c->in[0];
    const float *x = (const float *)xv->data;
    float *y = (float *)c->out[0]->data;
    unsigned mask = c->p->reduce_mask;
    double *mean = (double *)c->scratch, *dev;
    int64_t kst[INFER_MAX_DIMS], idx[INFER_MAX_DIMS], kept = 1, cnt, e, k;
    int r = xv->n_dims, i, pass;
    if (xv->n == 0) return INFER_STATUS_OK;
    for (i = r - 1; i >= 0; i--) { /* strides of the kept positions; 0 along the reduced axes */
        kst[i] = (mask >> i & 1) ? 0 : kept;
        if (!(mask >> i & 1)) kept *= xv->dims[i];
    }
    cnt = (int64_t)xv->n / kept;
    dev = mean + kept;
    memset(mean, 0, 2 * sizeof(double) * (size_t)kept);
    for (pass = 0; pass < 3; pass++) { /* sums, squared deviations, the output */
        for (i = 0; i < r; i++) idx[i] = 0;
        for (e = 0, k = 0; e < (int64_t)xv->n; e++) {
            if (pass == 0) mean[k] += x[e];
            else if (pass == 1) dev[k] += (x[e] - mean[k]) * (x[e] - mean[k]);
            else y[e] = (float)((x[e] - mean[k]) / dev[k]);
            for (i = r - 1; i >= 0; i--) {
                k += kst[i];
                if (++idx[i] < xv->dims[i]) break;
                k -= kst[i] * xv->dims[i];
                idx[i] = 0;
            }
        }
        for (k = 0; k < kept; k++) {
            if (pass == 0) mean[k] /= (double)cnt;
            else if (pass == 1) dev[k] = sqrt(dev[k] / (double)cnt) + 1e-9;
        }
    }
    return INFER_STATUS_OK;
}

/* x / ||x||_p along the axis; a zero norm gives 0 (as the ONNX test data). */
static infer_status infer__lp_norm_ref(const infer__ctx *c) {
    const infer__axis_p *p = &c->p->ax;
    const float *x = (const float *)c->in[0]->data;
    float *y = (float *)c->out[0]->data;
    int64_t o, in, i;
    for (o = 0; o < p->outer; o++)
        for (in = 0; in < p->inner; in++) {
            const float *xr = x + o * p->len * p->inner + in;
            float *yr = y + o * p->len * p->inner + in;
            double norm = 0;
            for (i = 0; i < p->len; i++) norm += p->flag == 1 ? fabs((double)xr[i * p->inner]) : (double)xr[i * p->inner] * xr[i * p->inner];
            if (p->flag == 2) norm = sqrt(norm);
            for (i = 0; i < p->len; i++) yr[i * p->inner] = norm == 0 ? 0.0f : (float)(xr[i * p->inner] / norm);
        }
    return INFER_STATUS_OK;
}

/* 1 at the first largest element along the axis (NaN wins, as ArgMax), 0 elsewhere. */
static infer_status infer__hardmax_ref(const infer__ctx *c) {
    const infer__axis_p *p = &c->p->ax;
    const float *x = (const float *)c->in[0]->data;
    float *y = (float *)c->out[0]->data;
    int64_t o, in, i;
    for (o = 0; o < p->outer; o++)
        for (in = 0; in < p->inner; in++) {
            const float *xr = x + o * p->len * p->inner + in;
            float *yr = y + o * p->len * p->inner + in, best = p->len ? xr[0] : 0;
            int64_t bi = 0;
            for (i = 1; i < p->len && best == best; i++)
                if (xr[i * p->inner] > best || xr[i * p->inner] != xr[i * p->inner]) best = xr[i * p->inner], bi = i;
            for (i = 0; i < p->len; i++) yr[i * p->inner] = i == bi ? 1.0f : 0.0f;
        }
    return INFER_STATUS_OK;
}

/* -- DepthToSpace, SpaceToDepth: one strided 6-d copy -- */

static infer_status infer__depth_to_space_ref(const infer__ctx *c) {
    const infer__val *x = c->in[0], *y = c->out[0];
    size_t esz = infer_dtype_bytes(x->dtype);
    int64_t b = c->p->ax.len, dims[6], ds[6], ss[6], e = (int64_t)esz;
    int64_t n = x->dims[0], ch = x->dims[1], h = x->dims[2], w = x->dims[3], hw = h * w;
    if (c->node->op == INFER__OP_DEPTH_TO_SPACE) { /* y viewed as [n][c'][h][b_i][w][b_j] */
        int64_t cc = ch / (b * b);
        dims[0] = n, dims[1] = cc, dims[2] = h, dims[3] = b, dims[4] = w, dims[5] = b;
        ss[0] = ch * hw, ss[2] = w, ss[4] = 1;
        if (c->p->ax.flag == 0) ss[1] = hw, ss[3] = b * cc * hw, ss[5] = cc * hw; /* DCR: channel (i*b + j)*c' + c */
        else ss[1] = b * b * hw, ss[3] = b * hw, ss[5] = hw;                       /* CRD: channel c*b*b + i*b + j */
    } else { /* y viewed as [n][b_i][b_j][c][h'][w'], from x[n][c][h'*b + i][w'*b + j] */
        dims[0] = n, dims[1] = b, dims[2] = b, dims[3] = ch, dims[4] = h / b, dims[5] = w / b;
        ss[0] = ch * hw, ss[1] = w, ss[2] = 1, ss[3] = hw, ss[4] = b * w, ss[5] = b;
    }
    {
        int i;
        for (i = 0; i < 6; i++) ss[i] *= e;
    }
    infer__strides(dims, 6, esz, ds);
    infer__copy_nd((uint8_t *)y->data, ds, (const uint8_t *)x->data, ss, 6, dims, esz);
    return INFER_STATUS_OK;
}

/* -- Trilu, CumSum -- */

/* Element i of an i32 or i64 tensor. */
static int64_t infer__ix_at(const infer__val *v, size_t i) {
    return v->dtype == INFER_DTYPE_I64 ? ((const int64_t *)v->data)[i] : ((const int32_t *)v->data)[i];
}

static infer_status infer__trilu_ref(const infer__ctx *c) {
    const infer__val *x = c->in[0], *y = c->out[0];
    size_t esz = infer_dtype_bytes(x->dtype);
    int64_t rows = c->p->ax.len, cols = c->p->ax.inner, k = 0, m, r, n_mat;
    if (c->n_in > 1 && c->in[1]) k = infer__ix_at(c->in[1], 0);
    k = INFER__MAX(-rows - 1, INFER__MIN(k, cols + 1)); /* beyond these, every k acts the same */
    n_mat = rows && cols ? (int64_t)x->n / (rows * cols) : 0;
    for (m = 0; m < n_mat; m++)
        for (r = 0; r < rows; r++) {
            /* upper keeps columns >= r + k; lower keeps columns <= r + k */
            int64_t lo = c->p->ax.flag ? INFER__MAX(0, INFER__MIN(cols, r + k)) : 0;
            int64_t hi = c->p->ax.flag ? cols : INFER__MAX(0, INFER__MIN(cols, r + k + 1));
            size_t row = (size_t)((m * rows + r) * cols) * esz;
            uint8_t *yr = (uint8_t *)y->data + row;
            const uint8_t *xr = (const uint8_t *)x->data + row;
            memset(yr, 0, (size_t)cols * esz);
            if (hi > lo) memcpy(yr + (size_t)lo * esz, xr + (size_t)lo * esz, (size_t)(hi - lo) * esz);
        }
    return INFER_STATUS_OK;
}

#define INFER__CUMSUM(T, ACC)                                                                      \
    do {                                                                                           \
        const T *x = (const T *)c->in[0]->data;                                                    \
        T *y = (T *)c->out[0]->data;                                                               \
        for (o = 0; o < outer; o++)                                                                \
            for (in = 0; in < inner; in++) {                                                       \
                ACC acc = (ACC)prod;                                                               \
                for (j = 0; j < len; j++) {                                                        \
                    int64_t at = o * len * inner + (rev ? len - 1 - j : j) * inner + in;           \
                    T v = x[at];                                                                   \
                    if (excl) y[at] = (T)acc;                                                      \
                    acc = prod ? (ACC)(acc * (ACC)v) : (ACC)(acc + (ACC)v);                        \
                    if (!excl) y[at] = (T)acc;                                                     \
                }                                                                                  \
            }                                                                                      \
    } while (0)

/* CumSum, CumProd. Integers wrap (accumulated as uint64); floats accumulate in double. */
static infer_status infer__cum_sum_ref(const infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t axis = infer__ix_at(c->in[1], 0), outer, len, inner, o, in, j;
    int excl = c->p->ax.flag & 1, rev = (c->p->ax.flag >> 1) & 1, prod = c->node->op == INFER__OP_CUM_PROD;
    if (axis < -(int64_t)x->n_dims || axis >= x->n_dims)
        return infer__cfail(c, INFER_STATUS_INVALID_ARGUMENT, "axis %lld is out of range for rank %d", (long long)axis, x->n_dims);
    if (axis < 0) axis += x->n_dims;
    outer = infer__prod(x->dims, 0, (int)axis);
    len = x->dims[axis];
    inner = infer__prod(x->dims, (int)axis + 1, x->n_dims);
    switch (x->dtype) {
    case INFER_DTYPE_F32: INFER__CUMSUM(float, double); break;
    case INFER_DTYPE_F64: INFER__CUMSUM(double, double); break;
    case INFER_DTYPE_I8: INFER__CUMSUM(int8_t, uint64_t); break;
    case INFER_DTYPE_I16: INFER__CUMSUM(int16_t, uint64_t); break;
    case INFER_DTYPE_I32: INFER__CUMSUM(int32_t, uint64_t); break;
    case INFER_DTYPE_I64: INFER__CUMSUM(int64_t, uint64_t); break;
    case INFER_DTYPE_U8: INFER__CUMSUM(uint8_t, uint64_t); break;
    case INFER_DTYPE_U16: INFER__CUMSUM(uint16_t, uint64_t); break;
    case INFER_DTYPE_U32: INFER__CUMSUM(uint32_t, uint64_t); break;
    case INFER_DTYPE_U64: INFER__CUMSUM(uint64_t, uint64_t); break;
    default: break;
    }
    return INFER_STATUS_OK;
}

/* -- ReverseSequence -- */

static infer_status infer__reverse_sequence_ref(const infer__ctx *c) {
    const infer__val *x = c->in[0], *lv = c->in[1];
    int bt = c->p->ax.flag; /* 1: x is [time][batch]..., 0: [batch][time]... */
    int64_t d1 = x->dims[1], nb = bt ? x->dims[1] : x->dims[0], nt = bt ? x->dims[0] : x->dims[1], b, t;
    size_t row = (size_t)c->p->ax.inner * infer_dtype_bytes(x->dtype);
    for (b = 0; b < nb; b++) {
        int64_t len = infer__ix_at(lv, (size_t)b);
        if (len < 0 || len > nt)
            return infer__cfail(c, INFER_STATUS_INVALID_ARGUMENT, "sequence_lens[%lld] = %lld is outside [0, %lld]",
                                (long long)b, (long long)len, (long long)nt);
    }
    for (b = 0; b < nb; b++) {
        int64_t len = infer__ix_at(lv, (size_t)b);
        for (t = 0; t < nt; t++) {
            int64_t from = t < len ? len - 1 - t : t;
            size_t dst = (size_t)(bt ? t * d1 + b : b * d1 + t), src = (size_t)(bt ? from * d1 + b : b * d1 + from);
            memcpy((uint8_t *)c->out[0]->data + dst * row, (const uint8_t *)x->data + src * row, row);
        }
    }
    return INFER_STATUS_OK;
}

/* -- OneHot -- */

/* Element i of a numeric tensor as an index; 0 in *ok when it is no integer in int64's range. */
static int64_t infer__index_any(const infer__val *v, size_t i, int *ok) {
    double f;
    *ok = 1;
    switch (v->dtype) {
    case INFER_DTYPE_I8: return ((const int8_t *)v->data)[i];
    case INFER_DTYPE_I16: return ((const int16_t *)v->data)[i];
    case INFER_DTYPE_I32: return ((const int32_t *)v->data)[i];
    case INFER_DTYPE_I64: return ((const int64_t *)v->data)[i];
    case INFER_DTYPE_U8: return ((const uint8_t *)v->data)[i];
    case INFER_DTYPE_U16: return ((const uint16_t *)v->data)[i];
    case INFER_DTYPE_U32: return ((const uint32_t *)v->data)[i];
    case INFER_DTYPE_U64:
        if (((const uint64_t *)v->data)[i] > (uint64_t)INT64_MAX) break;
        return (int64_t)((const uint64_t *)v->data)[i];
    case INFER_DTYPE_F32: f = ((const float *)v->data)[i]; goto from_float;
    case INFER_DTYPE_F64: f = ((const double *)v->data)[i]; goto from_float;
    default: break;
    }
    *ok = 0;
    return 0;
from_float: /* cast to int64 (toward zero), as ONNX casts non-integer indices */
    if (f > -9.2e18 && f < 9.2e18) return (int64_t)f;
    *ok = 0;
    return 0;
}

/* Indices outside [-depth, depth-1] give a row of off values (ONNX OneHot). */
static infer_status infer__one_hot_ref(const infer__ctx *c) {
    const infer__axis_p *p = &c->p->ax; /* output [outer][len = depth][inner] */
    const infer__val *ix = c->in[0], *vals = c->in[2];
    size_t esz = infer_dtype_bytes(vals->dtype);
    const uint8_t *off = (const uint8_t *)vals->data, *on = off + esz;
    uint8_t *y = (uint8_t *)c->out[0]->data;
    int64_t o, in, d;
    for (o = 0; o < p->outer; o++)
        for (in = 0; in < p->inner; in++) {
            int ok;
            int64_t k = infer__index_any(ix, (size_t)(o * p->inner + in), &ok);
            if (ok && k < 0) k += p->len;
            for (d = 0; d < p->len; d++)
                memcpy(y + (size_t)((o * p->len + d) * p->inner + in) * esz, ok && d == k ? on : off, esz);
        }
    return INFER_STATUS_OK;
}

/* -- GatherElements, GatherND, ScatterElements, ScatterND: indices are checked one by one -- */

static infer_status infer__bad_index(const infer__ctx *c, int64_t k, int64_t dim) {
    return infer__cfail(c, INFER_STATUS_INVALID_ARGUMENT, "index %lld is out of range for an axis of %lld", (long long)k,
                        (long long)dim);
}

/* dst = reduce(dst, src) for one element: 0 none, 1 add, 2 mul, 3 max, 4 min. */
#define INFER__SCATTER_OP(T)                                                                       \
    do {                                                                                           \
        T a, b;                                                                                    \
        memcpy(&a, dst, sizeof a);                                                                 \
        memcpy(&b, src, sizeof b);                                                                 \
        a = red == 1 ? (T)(a + b) : red == 2 ? (T)(a * b) : red == 3 ? (b > a ? b : a) : (b < a ? b : a); \
        memcpy(dst, &a, sizeof a);                                                                 \
    } while (0)
#define INFER__SCATTER_UOP(T, UT) /* integers wrap */                                              \
    do {                                                                                           \
        T a, b;                                                                                    \
        memcpy(&a, dst, sizeof a);                                                                 \
        memcpy(&b, src, sizeof b);                                                                 \
        a = red == 1 ? (T)((UT)a + (UT)b) : red == 2 ? (T)((UT)a * (UT)b) : red == 3 ? (b > a ? b : a) : (b < a ? b : a); \
        memcpy(dst, &a, sizeof a);                                                                 \
    } while (0)

static void infer__scatter_one(uint8_t *dst, const uint8_t *src, infer_dtype t, size_t esz, int red) {
    if (red == 0) {
        memcpy(dst, src, esz);
        return;
    }
    switch (t) {
    case INFER_DTYPE_F32: INFER__SCATTER_OP(float); break;
    case INFER_DTYPE_F64: INFER__SCATTER_OP(double); break;
    case INFER_DTYPE_I8: INFER__SCATTER_UOP(int8_t, uint64_t); break;
    case INFER_DTYPE_I16: INFER__SCATTER_UOP(int16_t, uint64_t); break;
    case INFER_DTYPE_I32: INFER__SCATTER_UOP(int32_t, uint64_t); break;
    case INFER_DTYPE_I64: INFER__SCATTER_UOP(int64_t, uint64_t); break;
    case INFER_DTYPE_U8: INFER__SCATTER_UOP(uint8_t, uint64_t); break;
    case INFER_DTYPE_U16: INFER__SCATTER_UOP(uint16_t, uint64_t); break;
    case INFER_DTYPE_U32: INFER__SCATTER_UOP(uint32_t, uint64_t); break;
    case INFER_DTYPE_U64: INFER__SCATTER_UOP(uint64_t, uint64_t); break;
    default: break;
    }
}

/* GatherElements (scatter 0) and ScatterElements (scatter 1): walk the indices' positions;
   the data position is the same with the axis coordinate replaced by the index. */
static infer_status infer__elements_walk(const infer__ctx *c, int scatter) {
    const infer__val *x = c->in[0], *ix = c->in[1];
    size_t esz = infer_dtype_bytes(x->dtype), f;
    int64_t st[INFER_MAX_DIMS], idx[INFER_MAX_DIMS], axis = c->p->ax.axis, dim = x->dims[axis], base = 0;
    int r = x->n_dims, i;
    uint8_t *y = (uint8_t *)c->out[0]->data;
    if (scatter && y != x->data && x->bytes) memcpy(y, x->data, x->bytes);
    infer__strides(x->dims, r, 1, st);
    for (i = 0; i < r; i++) idx[i] = 0;
    for (f = 0; f < ix->n; f++) {
        int64_t k = infer__ix_at(ix, f), at;
        if (k < -dim || k >= dim) return infer__bad_index(c, k, dim);
        if (k < 0) k += dim;
        at = base + k * st[axis]; /* base leaves the axis out */
        if (scatter)
            infer__scatter_one(y + (size_t)at * esz, (const uint8_t *)c->in[2]->data + f * esz, x->dtype, esz, c->p->ax.flag);
        else
            memcpy(y + f * esz, (const uint8_t *)x->data + (size_t)at * esz, esz);
        for (i = r - 1; i >= 0; i--) { /* next position in the indices */
            if (++idx[i] < ix->dims[i]) {
                if (i != axis) base += st[i];
                break;
            }
            if (i != axis) base -= st[i] * (idx[i] - 1);
            idx[i] = 0;
        }
    }
    return INFER_STATUS_OK;
}

static infer_status infer__gather_elements_ref(const infer__ctx *c) { return infer__elements_walk(c, 0); }
static infer_status infer__scatter_elements_ref(const infer__ctx *c) { return infer__elements_walk(c, 1); }

/* GatherND (scatter 0) and ScatterND (scatter 1): per batch, each index tuple of length k
   picks a slice of data. batch_dims is 0 for ScatterND. */
static infer_status infer__nd_walk(const infer__ctx *c, int scatter) {
    const infer__val *x = c->in[0], *ix = c->in[1];
    size_t esz = infer_dtype_bytes(x->dtype);
    int64_t b = c->p->ax.axis, k = c->p->ax.len, st[INFER_MAX_DIMS], n_batch, n_tup, slice, bs, bi, t, j;
    uint8_t *y = (uint8_t *)c->out[0]->data;
    const uint8_t *src = scatter ? (const uint8_t *)c->in[2]->data : (const uint8_t *)x->data;
    if (scatter && y != x->data && x->bytes) memcpy(y, x->data, x->bytes);
    infer__strides(x->dims, x->n_dims, 1, st);
    n_batch = infer__prod(x->dims, 0, (int)b);
    n_tup = infer__prod(ix->dims, (int)b, ix->n_dims - 1);
    slice = infer__prod(x->dims, (int)(b + k), x->n_dims);
    bs = infer__prod(x->dims, (int)b, x->n_dims); /* elements of data per batch */
    for (bi = 0; bi < n_batch; bi++)
        for (t = 0; t < n_tup; t++) {
            int64_t at = bi * bs, u = (bi * n_tup + t) * slice;
            for (j = 0; j < k; j++) {
                int64_t v = infer__ix_at(ix, (size_t)((bi * n_tup + t) * k + j)), dim = x->dims[b + j];
                if (v < -dim || v >= dim) return infer__bad_index(c, v, dim);
                at += (v < 0 ? v + dim : v) * st[b + j];
            }
            if (!scatter) {
                if (slice) memcpy(y + (size_t)u * esz, src + (size_t)at * esz, (size_t)slice * esz);
            } else {
                for (j = 0; j < slice; j++)
                    infer__scatter_one(y + (size_t)(at + j) * esz, src + (size_t)(u + j) * esz, x->dtype, esz, c->p->ax.flag);
            }
        }
    return INFER_STATUS_OK;
}

static infer_status infer__gather_nd_ref(const infer__ctx *c) { return infer__nd_walk(c, 0); }
static infer_status infer__scatter_nd_ref(const infer__ctx *c) { return infer__nd_walk(c, 1); }

static int infer__nan_d(double v) { return v != v; }
#define INFER__TOPK_NAN(v) infer__nan_d((double)(v))

/* -- TopK: a stable merge sort of each row's indices (ties keep the lower index first);
      NaN counts as the largest value -- */

#define INFER__TOPK(T, ISNAN)                                                                      \
    do {                                                                                           \
        const T *x = (const T *)c->in[0]->data;                                                    \
        T *yv = (T *)c->out[0]->data;                                                              \
        for (o = 0; o < p->outer; o++)                                                             \
            for (in = 0; in < p->inner; in++) {                                                    \
                const T *xr = x + o * len * p->inner + in;                                         \
                int64_t *a = sc, *b = sc + len, *tmp, w, lo;                                       \
                for (i = 0; i < len; i++) a[i] = i;                                                \
                for (w = 1; w < len; w *= 2) {                                                     \
                    for (lo = 0; lo < len; lo += 2 * w) {                                          \
                        int64_t mid = INFER__MIN(lo + w, len), hi = INFER__MIN(lo + 2 * w, len);   \
                        int64_t l = lo, r = mid, d = lo;                                           \
                        while (l < mid && r < hi) {                                                \
                            T vr = xr[a[r] * p->inner], vl = xr[a[l] * p->inner];                  \
                            int right = largest ? (ISNAN(vr) ? !ISNAN(vl) : !ISNAN(vl) && vr > vl) \
                                                : (!ISNAN(vr) && (ISNAN(vl) || vr < vl));          \
                            b[d++] = right ? a[r++] : a[l++];                                      \
                        }                                                                          \
                        while (l < mid) b[d++] = a[l++];                                           \
                        while (r < hi) b[d++] = a[r++];                                            \
                    }                                                                              \
                    tmp = a, a = b, b = tmp;                                                       \
                }                                                                                  \
                for (i = 0; i < kk; i++) {                                                         \
                    yv[(o * kk + i) * p->inner + in] = xr[a[i] * p->inner];                        \
                    yi[(o * kk + i) * p->inner + in] = a[i];                                       \
                }                                                                                  \
            }                                                                                      \
    } while (0)

static infer_status infer__top_k_ref(const infer__ctx *c) {
    const infer__axis_p *p = &c->p->ax;
    int64_t len = p->len, kk = c->out[0]->dims[p->axis], o, in, i, *sc = (int64_t *)c->scratch;
    int64_t *yi = (int64_t *)c->out[1]->data;
    int largest = p->flag;
    if (!len || !kk) return INFER_STATUS_OK;
    switch (c->in[0]->dtype) {
    case INFER_DTYPE_F32: INFER__TOPK(float, INFER__TOPK_NAN); break;
    case INFER_DTYPE_F64: INFER__TOPK(double, INFER__TOPK_NAN); break;
    case INFER_DTYPE_I8: INFER__TOPK(int8_t, INFER__TOPK_NAN); break;
    case INFER_DTYPE_I16: INFER__TOPK(int16_t, INFER__TOPK_NAN); break;
    case INFER_DTYPE_I32: INFER__TOPK(int32_t, INFER__TOPK_NAN); break;
    case INFER_DTYPE_I64: INFER__TOPK(int64_t, INFER__TOPK_NAN); break;
    case INFER_DTYPE_U8: INFER__TOPK(uint8_t, INFER__TOPK_NAN); break;
    case INFER_DTYPE_U16: INFER__TOPK(uint16_t, INFER__TOPK_NAN); break;
    case INFER_DTYPE_U32: INFER__TOPK(uint32_t, INFER__TOPK_NAN); break;
    case INFER_DTYPE_U64: INFER__TOPK(uint64_t, INFER__TOPK_NAN); break;
    default: break;
    }
    return INFER_STATUS_OK;
}

/* -- Einsum: for each output element, the sum over the other labels of the inputs' product -- */

static infer_status infer__einsum_ref(const infer__ctx *c) {
    infer__einsum e;
    int64_t st[INFER__EINSUM_MAX_IN][INFER__EINSUM_LABELS], off[INFER__EINSUM_MAX_IN], base[INFER__EINSUM_MAX_IN];
    int64_t sidx[INFER__EINSUM_LABELS], n_sum_el = 1, o, n_out_el = (int64_t)c->out[0]->n;
    int sum[INFER__EINSUM_LABELS], n_sum = 0, is_out[INFER__EINSUM_LABELS], k, i, d, f64 = c->out[0]->dtype == INFER_DTYPE_F64;
    infer_status status = infer__einsum_parse(c, &e); /* the shape function parsed it already: cannot fail */
    if (status) return status;
    memset(st, 0, sizeof st);
    memset(is_out, 0, sizeof is_out);
    for (i = 0; i < e.n_out; i++) is_out[e.out[i]] = 1;
    for (i = 0; i < INFER__EINSUM_LABELS; i++)
        if (e.count[i] && !is_out[i]) sum[n_sum++] = i, n_sum_el *= e.size[i];
    for (k = 0; k < e.n_in; k++) { /* element strides per label; repeated labels add (diagonals) */
        const infer__val *x = c->in[k];
        int64_t s = 1;
        for (d = x->n_dims - 1; d >= 0; d--) {
            if (!(x->dims[d] == 1 && e.size[e.lab[k][d]] != 1)) st[k][e.lab[k][d]] += s; /* else broadcast */
            s *= x->dims[d];
        }
    }
    for (o = 0; o < n_out_el; o++) {
        double acc = 0;
        int64_t rem = o, t;
        for (k = 0; k < e.n_in; k++) base[k] = 0, off[k] = 0;
        for (i = e.n_out - 1; i >= 0; i--) {
            int64_t v = rem % e.size[e.out[i]];
            rem /= e.size[e.out[i]];
            for (k = 0; k < e.n_in; k++) base[k] += v * st[k][e.out[i]];
        }
        for (i = 0; i < n_sum; i++) sidx[i] = 0;
        for (t = 0; t < n_sum_el; t++) {
            double p = 1;
            for (k = 0; k < e.n_in; k++) {
                int64_t at = base[k] + off[k];
                p *= c->in[k]->dtype == INFER_DTYPE_F64 ? ((const double *)c->in[k]->data)[at]
                                                        : (double)((const float *)c->in[k]->data)[at];
            }
            acc += p;
            for (i = n_sum - 1; i >= 0; i--) { /* next summed index */
                for (k = 0; k < e.n_in; k++) off[k] += st[k][sum[i]];
                if (++sidx[i] < e.size[sum[i]]) break;
                for (k = 0; k < e.n_in; k++) off[k] -= st[k][sum[i]] * e.size[sum[i]];
                sidx[i] = 0;
            }
        }
        if (f64) ((double *)c->out[0]->data)[o] = acc;
        else ((float *)c->out[0]->data)[o] = (float)acc;
    }
    return INFER_STATUS_OK;
}

/* -- Det: LU decomposition with partial pivoting, in double -- */

static infer_status infer__det_ref(const infer__ctx *c) {
    const infer__val *x = c->in[0], *y = c->out[0];
    int64_t m = c->p->ax.len, mat, i, j, k;
    double *a = (double *)c->scratch;
    for (mat = 0; mat < (int64_t)y->n; mat++) {
        double det = 1;
        for (i = 0; i < m * m; i++) a[i] = infer__get_f64(x->data, x->dtype, mat * m * m + i);
        for (k = 0; k < m; k++) {
            int64_t piv = k;
            for (i = k + 1; i < m; i++)
                if (fabs(a[i * m + k]) > fabs(a[piv * m + k])) piv = i;
            if (a[piv * m + k] == 0) {
                det = 0;
                break;
            }
            if (piv != k) {
                for (j = 0; j < m; j++) {
                    double t = a[k * m + j];
                    a[k * m + j] = a[piv * m + j];
                    a[piv * m + j] = t;
                }
                det = -det;
            }
            det *= a[k * m + k];
            for (i = k + 1; i < m; i++) {
                double f = a[i * m + k] / a[k * m + k];
                for (j = k + 1; j < m; j++) a[i * m + j] -= f * a[k * m + j];
            }
        }
        if (y->dtype == INFER_DTYPE_F64) ((double *)y->data)[mat] = det;
        else ((float *)y->data)[mat] = (float)det;
    }
    return INFER_STATUS_OK;
}

/* -- Softmax, LogSoftmax: over one axis of [outer][len][inner] -- */

static infer_status infer__softmax_ref(const infer__ctx *c) {
    const infer__axis_p *p = &c->p->ax;
    const float *x = (const float *)c->in[0]->data;
    float *y = (float *)c->out[0]->data;
    int64_t o, in, i, len = p->len, inner = p->inner;
    for (o = 0; o < p->outer; o++)
        for (in = 0; in < inner; in++) {
            const float *xr = x + o * len * inner + in;
            float *yr = y + o * len * inner + in;
            float mx = -INFINITY;
            double sum = 0;
            for (i = 0; i < len; i++) mx = xr[i * inner] > mx ? xr[i * inner] : mx;
            if (p->flag) {
                float lse;
                for (i = 0; i < len; i++) sum += exp((double)xr[i * inner] - mx);
                lse = (float)log(sum);
                for (i = 0; i < len; i++) yr[i * inner] = xr[i * inner] - mx - lse;
            } else {
                for (i = 0; i < len; i++) {
                    float e = expf(xr[i * inner] - mx);
                    yr[i * inner] = e;
                    sum += e;
                }
                for (i = 0; i < len; i++) yr[i * inner] = (float)(yr[i * inner] / sum);
            }
        }
    return INFER_STATUS_OK;
}

/* -- fused activations (the epilogue of Conv, ConvTranspose, Gemm, MatMul) -- */

static void infer__act_apply(const infer__act *a, float *y, int64_t n) {
    int64_t i;
    switch (a->kind) {
    case INFER__ACT_RELU: for (i = 0; i < n; i++) y[i] = y[i] < 0 ? 0.0f : y[i]; break;
    case INFER__ACT_LEAKY_RELU: for (i = 0; i < n; i++) y[i] = y[i] < 0 ? a->alpha * y[i] : y[i]; break;
    case INFER__ACT_SIGMOID:
        for (i = 0; i < n; i++) y[i] = y[i] >= 0 ? 1.0f / (1.0f + expf(-y[i])) : expf(y[i]) / (1.0f + expf(y[i]));
        break;
    case INFER__ACT_TANH: for (i = 0; i < n; i++) y[i] = tanhf(y[i]); break;
    case INFER__ACT_CLIP: for (i = 0; i < n; i++) y[i] = fminf(a->beta, fmaxf(y[i], a->alpha)); break;
    case INFER__ACT_HARD_SIGMOID:
        for (i = 0; i < n; i++) y[i] = fminf(1.0f, fmaxf(0.0f, a->alpha * y[i] + a->beta));
        break;
    case INFER__ACT_HARD_SWISH:
        for (i = 0; i < n; i++) y[i] = y[i] * fminf(1.0f, fmaxf(0.0f, y[i] / 6.0f + 0.5f));
        break;
    case INFER__ACT_GELU: for (i = 0; i < n; i++) y[i] = 0.5f * y[i] * erfcf(-y[i] * 0.7071067811865476f); break;
    case INFER__ACT_GELU_TANH:
        for (i = 0; i < n; i++) {
            float u = 0.7978845608028654f * (y[i] + 0.044715f * y[i] * y[i] * y[i]);
            y[i] = y[i] / (1.0f + expf(-2.0f * u));
        }
        break;
    case INFER__ACT_SILU:
        for (i = 0; i < n; i++) y[i] = y[i] >= 0 ? y[i] / (1.0f + expf(-y[i])) : y[i] * expf(y[i]) / (1.0f + expf(y[i]));
        break;
    default: break;
    }
}

/* -- Attention -- */

/* The additive mask of (batch b, q head h, query i, key j): the mask's value, 0 or -inf */
static float infer__att_bias(const infer__att *a, const void *mask, int64_t b, int64_t h, int64_t i, int64_t j) {
    int64_t at;
    if (!mask) return 0.0f;
    if (j >= a->Tm) return -INFINITY; /* ONNX pads a short mask with "masked" */
    at = b * a->ms[0] + h * a->ms[1] + i * a->ms[2] + j * a->ms[3];
    return a->mask_bool ? (((const uint8_t *)mask)[at] ? 0.0f : -INFINITY) : ((const float *)mask)[at];
}

/* The reference: scores in double, one (batch, head, query) row at a time. */
static infer_status infer__attention_ref(const infer__ctx *c) {
    infer__att a;
    const float *q = (const float *)c->in[0]->data, *k = (const float *)c->in[1]->data;
    const float *v = (const float *)c->in[2]->data;
    const void *mask = c->n_in > 3 && c->in[3] ? c->in[3]->data : NULL;
    float *y = (float *)c->out[0]->data;
    double *sc = (double *)c->scratch, *acc; /* [T] scores, then [Dv] sums */
    int64_t b, h, i, j, d;
    infer_status st = infer__att_init(c, &a);
    if (st) return st;
    acc = sc + a.T;
    for (b = 0; b < a.B; b++)
        for (h = 0; h < a.Hq; h++)
            for (i = 0; i < a.S; i++) {
                int64_t kh = h / (a.Hq / a.Hkv);
                const float *qr = q + b * a.qs[0] + h * a.qs[1] + i * a.qs[2];
                double mx = -INFINITY, sum = 0;
                float *yr = y + b * a.ys[0] + h * a.ys[1] + i * a.ys[2];
                for (j = 0; j < a.T; j++) {
                    const float *kr = k + b * a.ks[0] + kh * a.ks[1] + j * a.ks[2];
                    double s = 0;
                    for (d = 0; d < a.D; d++) s += (double)qr[d] * kr[d];
                    s *= a.scale;
                    if (a.softcap > 0) s = a.softcap * tanh(s / a.softcap);
                    s += infer__att_bias(&a, mask, b, h, i, j);
                    if (a.causal && j > i) s = -INFINITY;
                    sc[j] = s;
                    mx = s > mx ? s : mx;
                }
                for (d = 0; d < a.Dv; d++) acc[d] = 0;
                for (j = 0; j < a.T; j++) {
                    const float *vr = v + b * a.vs[0] + kh * a.vs[1] + j * a.vs[2];
                    double p = exp(sc[j] - mx); /* all masked: mx = -inf, NaN, as ONNX's softmax */
                    sum += p;
                    if (p != 0)
                        for (d = 0; d < a.Dv; d++) acc[d] += p * vr[d];
                }
                for (d = 0; d < a.Dv; d++) yr[d] = (float)(acc[d] / sum);
            }
    return INFER_STATUS_OK;
}

/* -- vector math and element-wise SIMD kernels (AVX2, AVX-512, NEON) -- */

/* exp, tanh, erf, 1 + erf, sigmoid on 8 (AVX2+FMA), 16 (AVX-512F) or 4 (NEON) floats.
   With INFER_USE_SLEEF, the x86 exp/tanh/erf are SLEEF's (1.0 ulp); without it, and
   always on NEON, our own:
   exp: Cody-Waite reduction by ln 2, degree-6 polynomial, 2^n applied in two halves so
   subnormal results round once (max error 2 ulp, tests/test_vecmath.c);
   tanh: odd polynomial below 0.625, 1 - 2 / (exp(2|x|) + 1) above (3 ulp);
   erf: Taylor series in x^2 below 1, 1 - erfc above, erfc(a) = t exp(P(t) - a^2),
   t = 1 / (1 + a/2) (Numerical Recipes' Chebyshev fit, relative error 1.2e-7), with a^2
   split exactly by FMA and the exponent's last sum kept exact, so large arguments lose
   nothing with one exp (3 ulp). GELU is x/2 times the same erfc (SLEEF or not) on x^2 / 2
   everywhere, so its negative tail keeps its relative accuracy (6 ulp, 1 exp a value).
   The kernels are written once over an infer__vec_isa table of row primitives; the
   variants (infer__unary_f32_avx2 ...) pass the table, as the GEMM passes infer__gemm_isa. */

enum { INFER__VK_EXP = 100, INFER__VK_ERF, INFER__VK_SWISH }; /* map kinds beyond INFER__ACT_* */

typedef struct infer__vec_isa {
    int width; /* floats a vector */
    /* y[i] = f(x[i]), f an INFER__ACT_* or INFER__VK_* kind (alpha, beta: its parameters) */
    void (*map)(int kind, float *y, const float *x, int64_t n, float alpha, float beta);
    /* y[i] = a[i * sa] op b[i * sb], op INFER__OP_ADD/SUB/MUL/DIV, sa and sb 0 or 1 */
    void (*binary)(int op, float *y, const float *a, int64_t sa, const float *b, int64_t sb, int64_t n);
    /* softmax (log = 0) or log-softmax of one contiguous row */
    void (*softmax)(float *y, const float *x, int64_t n, int log);
    /* LayerNormalization of one row; sums in double */
    void (*layer_norm)(float *y, const float *x, int64_t n, const float *scale, int64_t ss, const float *bias,
                       int64_t bs, float eps, float *mean_out, float *inv_out);
    void (*scale)(float *y, float a, int64_t n);                /* y *= a */
    float (*max)(const float *x, int64_t n);                    /* -inf for n = 0 */
    float (*exp_shift)(float *y, const float *x, float shift, int64_t n); /* y = exp(x - shift); returns the sum */
    /* attention blocks: s[j] = q . kt[.][j] (kt [d][ldk], zero up to nb rounded up to a vector);
       acc += p [nb] x v [nb][vs] */
    void (*qk)(float *s, const float *q, const float *kt, int64_t d, int64_t nb, int64_t lds, int64_t ldk);
    void (*pv)(float *acc, const float *p, const float *v, int64_t vs, int64_t nb, int64_t dv);
    /* the same for four rows: q rows qs apart, s rows ldk apart; acc rows lda, p rows ldp apart */
    void (*qk4)(float *s, const float *q, int64_t qs, const float *kt, int64_t d, int64_t nb, int64_t lds, int64_t ldk);
    void (*pv4)(float *acc, int64_t lda, const float *p, int64_t ldp, const float *v, int64_t vs, int64_t nb, int64_t dv);
} infer__vec_isa;

#if defined(INFER__HAVE_AVX2)
#include <immintrin.h>
#if defined(INFER_USE_SLEEF) /* sleef.h declares these only under -mavx2/-mavx512f: declared here */
__m256 Sleef_expf8_u10avx2(__m256);
__m256 Sleef_tanhf8_u10avx2(__m256);
__m256 Sleef_erff8_u10avx2(__m256);
__m512 Sleef_expf16_u10avx512f(__m512);
__m512 Sleef_tanhf16_u10avx512f(__m512);
__m512 Sleef_erff16_u10avx512f(__m512);
#endif

/* ISA-specific pieces the shared template below uses: compare, select (m ? a : b), abs,
   round to nearest, 2^k from integer lanes, sums and maxima across lanes, and adding a
   float vector into double accumulators. */
#define INFER__TGT_avx2 __attribute__((target("avx2,fma")))
#define INFER__TGT_avx512 __attribute__((target("avx512f")))
#define INFER__VF_avx2 __m256
#define INFER__VF_avx512 __m512
#define INFER__VI_avx2 __m256i
#define INFER__VI_avx512 __m512i
#define INFER__VM_avx2 __m256
#define INFER__VM_avx512 __mmask16
#define INFER__W_avx2 8
#define INFER__W_avx512 16
#define INFER__LT_avx2(a, b) _mm256_cmp_ps(a, b, _CMP_LT_OQ)
#define INFER__LT_avx512(a, b) _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ)
#define INFER__SEL_avx2(m, a, b) _mm256_blendv_ps(b, a, m)
#define INFER__SEL_avx512(m, a, b) _mm512_mask_blend_ps(m, b, a)
#define INFER__ABS_avx2(a) _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF)))
#define INFER__ABS_avx512(a) _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32(0x7FFFFFFF)))
#define INFER__SIGN_avx2(a) _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u)))
#define INFER__SIGN_avx512(a) _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32((int)0x80000000u)))
#define INFER__OR_avx2(a, b) _mm256_or_ps(a, b)
#define INFER__OR_avx512(a, b) _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)))
#define INFER__RND_avx2(a) _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define INFER__RND_avx512(a) _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define INFER__POW2_avx2(k) _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k, _mm256_set1_epi32(127)), 23))
#define INFER__POW2_avx512(k) _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(k, _mm512_set1_epi32(127)), 23))

INFER__TGT_avx2 static inline float infer__hsum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
INFER__TGT_avx512 static inline float infer__hsum_avx512(__m512 v) { return _mm512_reduce_add_ps(v); }
INFER__TGT_avx2 static inline float infer__hmax_avx2(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
}
INFER__TGT_avx512 static inline float infer__hmax_avx512(__m512 v) { return _mm512_reduce_max_ps(v); }
INFER__TGT_avx2 static inline void infer__dacc_avx2(__m256d *acc, __m256 v) {
    acc[0] = _mm256_add_pd(acc[0], _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    acc[1] = _mm256_add_pd(acc[1], _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}
INFER__TGT_avx512 static inline void infer__dacc_avx512(__m512d *acc, __m512 v) {
    acc[0] = _mm512_add_pd(acc[0], _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    acc[1] = _mm512_add_pd(acc[1], _mm512_cvtps_pd(_mm256_castsi256_ps(_mm512_extracti64x4_epi64(_mm512_castps_si512(v), 1))));
}
INFER__TGT_avx2 static inline double infer__dsum_avx2(const __m256d *acc) {
    double t[4];
    _mm256_storeu_pd(t, _mm256_add_pd(acc[0], acc[1]));
    return (t[0] + t[1]) + (t[2] + t[3]);
}
INFER__TGT_avx512 static inline double infer__dsum_avx512(const __m512d *acc) {
    return _mm512_reduce_add_pd(_mm512_add_pd(acc[0], acc[1]));
}
#define INFER__VD_avx2 __m256d
#define INFER__VD_avx512 __m512d
#define INFER__DZERO_avx2 _mm256_setzero_pd()
#define INFER__DZERO_avx512 _mm512_setzero_pd()

#if defined(INFER_USE_SLEEF)
#define INFER__VEXP_avx2(x) Sleef_expf8_u10avx2(x)
#define INFER__VEXP_avx512(x) Sleef_expf16_u10avx512f(x)
#define INFER__VTANH_avx2(x) Sleef_tanhf8_u10avx2(x)
#define INFER__VTANH_avx512(x) Sleef_tanhf16_u10avx512f(x)
#define INFER__VERF_avx2(x) Sleef_erff8_u10avx2(x)
#define INFER__VERF_avx512(x) Sleef_erff16_u10avx512f(x)
#else
#define INFER__VEXP_avx2(x) infer__vexp_own_avx2(x)
#define INFER__VEXP_avx512(x) infer__vexp_own_avx512(x)
#define INFER__VTANH_avx2(x) infer__vtanh_own_avx2(x)
#define INFER__VTANH_avx512(x) infer__vtanh_own_avx512(x)
#define INFER__VERF_avx2(x) infer__verf_own_avx2(x)
#define INFER__VERF_avx512(x) infer__verf_own_avx512(x)
#endif
#define INFER__LOADD_avx2(p) _mm256_cvtps_pd(_mm_loadu_ps(p))
#define INFER__LOADD_avx512(p) _mm512_cvtps_pd(_mm256_loadu_ps(p))
#define INFER__STORED_avx2(p, v) _mm_storeu_ps(p, _mm256_cvtpd_ps(v))
#define INFER__STORED_avx512(p, v) _mm256_storeu_ps(p, _mm512_cvtpd_ps(v))
#endif /* INFER__HAVE_AVX2 */

#if defined(INFER__HAVE_NEON)
#include <arm_neon.h>
/* The same pieces for AArch64 NEON (4 floats, 2 doubles a vector), and the x86 intrinsic
   names the template uses spelled as infer__nv_*, with the x86 semantics where they
   differ: min/max return the second operand when either is NaN (vminq/vmaxq would
   propagate it, vminnmq/vmaxnmq drop it), so NaN handling matches the other variants. */
#define INFER__TGT_neon
#define INFER__VF_neon float32x4_t
#define INFER__VI_neon int32x4_t
#define INFER__VD_neon float64x2_t
#define INFER__W_neon 4
#define INFER__LT_neon(a, b) vcltq_f32(a, b)
#define INFER__SEL_neon(m, a, b) vbslq_f32(m, a, b)
#define INFER__ABS_neon(a) vabsq_f32(a)
#define INFER__SIGN_neon(a) vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(a), vdupq_n_u32(0x80000000u)))
#define INFER__OR_neon(a, b) vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(a), vreinterpretq_u32_f32(b)))
#define INFER__RND_neon(a) vrndnq_f32(a)
#define INFER__POW2_neon(k) vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(k, vdupq_n_s32(127)), 23))
#define INFER__DZERO_neon vdupq_n_f64(0.0)
#define INFER__VEXP_neon(x) infer__vexp_own_neon(x)
#define INFER__VTANH_neon(x) infer__vtanh_own_neon(x)
#define INFER__VERF_neon(x) infer__verf_own_neon(x)
#define INFER__LOADD_neon(p) vcvt_f64_f32(vld1_f32(p))
#define INFER__STORED_neon(p, v) vst1_f32(p, vcvt_f32_f64(v))
#define infer__nv_add_ps(a, b) vaddq_f32(a, b)
#define infer__nv_sub_ps(a, b) vsubq_f32(a, b)
#define infer__nv_mul_ps(a, b) vmulq_f32(a, b)
#define infer__nv_div_ps(a, b) vdivq_f32(a, b)
#define infer__nv_fmadd_ps(a, b, c) vfmaq_f32(c, a, b)              /* a b + c */
#define infer__nv_fnmadd_ps(a, b, c) vfmsq_f32(c, a, b)             /* c - a b */
#define infer__nv_fmsub_ps(a, b, c) vnegq_f32(vfmsq_f32(c, a, b))   /* a b - c, one rounding */
#define infer__nv_set1_ps(a) vdupq_n_f32(a)
#define infer__nv_setzero_ps() vdupq_n_f32(0.0f)
#define infer__nv_loadu_ps(p) vld1q_f32(p)
#define infer__nv_storeu_ps(p, v) vst1q_f32(p, v)
#define infer__nv_cvtps_epi32(a) vcvtnq_s32_f32(a)
#define infer__nv_srai_epi32(a, n) vshrq_n_s32(a, n)
#define infer__nv_sub_epi32(a, b) vsubq_s32(a, b)
#define infer__nv_set1_pd(a) vdupq_n_f64(a)
#define infer__nv_setzero_pd() vdupq_n_f64(0.0)
#define infer__nv_sub_pd(a, b) vsubq_f64(a, b)
#define infer__nv_mul_pd(a, b) vmulq_f64(a, b)
#define infer__nv_fmadd_pd(a, b, c) vfmaq_f64(c, a, b)
static inline float32x4_t infer__nv_max_ps(float32x4_t a, float32x4_t b) { return vbslq_f32(vcgtq_f32(a, b), a, b); }
static inline float32x4_t infer__nv_min_ps(float32x4_t a, float32x4_t b) { return vbslq_f32(vcltq_f32(a, b), a, b); }
static inline float infer__hsum_neon(float32x4_t v) { return vaddvq_f32(v); }
static inline float infer__hmax_neon(float32x4_t v) { return vmaxvq_f32(v); } /* lanes are never NaN (infer__vmax) */
static inline void infer__dacc_neon(float64x2_t *acc, float32x4_t v) {
    acc[0] = vaddq_f64(acc[0], vcvt_f64_f32(vget_low_f32(v)));
    acc[1] = vaddq_f64(acc[1], vcvt_high_f64_f32(v));
}
static inline double infer__dsum_neon(const float64x2_t *acc) { return vaddvq_f64(vaddq_f64(acc[0], acc[1])); }
#endif /* INFER__HAVE_NEON */

#if defined(INFER__HAVE_AVX2) || defined(INFER__HAVE_NEON)

/* The template: the vector math and the row primitives, once for each ISA. */
#define INFER__VEC_TEMPLATE(S, P)                                                                                                                            \
INFER__TGT_##S static inline INFER__VF_##S infer__vexp_own_##S(INFER__VF_##S x) {                                                                            \
    INFER__VF_##S n, r, p;                                                                                                                                   \
    INFER__VI_##S k, h;                                                                                                                                      \
    x = P##_min_ps(P##_set1_ps(89.0f), P##_max_ps(P##_set1_ps(-104.0f), x)); /* NaN stays NaN */                                                             \
    n = INFER__RND_##S(P##_mul_ps(x, P##_set1_ps(1.44269504088896341f)));                                                                                    \
    r = P##_fnmadd_ps(n, P##_set1_ps(0.693359375f), x); /* ln 2 in two parts: n * hi is exact */                                                             \
    r = P##_fnmadd_ps(n, P##_set1_ps(-2.12194440e-4f), r);                                                                                                   \
    p = P##_fmadd_ps(P##_set1_ps(1.9875691500e-4f), r, P##_set1_ps(1.3981999507e-3f));                                                                       \
    p = P##_fmadd_ps(p, r, P##_set1_ps(8.3334519073e-3f));                                                                                                   \
    p = P##_fmadd_ps(p, r, P##_set1_ps(4.1665795894e-2f));                                                                                                   \
    p = P##_fmadd_ps(p, r, P##_set1_ps(1.6666665459e-1f));                                                                                                   \
    p = P##_fmadd_ps(p, r, P##_set1_ps(5.0000001201e-1f));                                                                                                   \
    p = P##_fmadd_ps(p, P##_mul_ps(r, r), P##_add_ps(r, P##_set1_ps(1.0f)));                                                                                 \
    k = P##_cvtps_epi32(n);                                                                                                                                  \
    h = P##_srai_epi32(k, 1); /* 2^k as 2^h 2^(k-h): both normal for k in [-150, 128] */                                                                     \
    return P##_mul_ps(P##_mul_ps(p, INFER__POW2_##S(h)), INFER__POW2_##S(P##_sub_epi32(k, h)));                                                              \
}                                                                                                                                                            \
INFER__TGT_##S static inline INFER__VF_##S infer__vtanh_own_##S(INFER__VF_##S x) {                                                                           \
    INFER__VF_##S a = INFER__ABS_##S(x), z = P##_mul_ps(a, a), p, e, big;                                                                                    \
    p = P##_fmadd_ps(P##_set1_ps(-5.70498872745e-3f), z, P##_set1_ps(2.06390887954e-2f));                                                                    \
    p = P##_fmadd_ps(p, z, P##_set1_ps(-5.37397155531e-2f));                                                                                                 \
    p = P##_fmadd_ps(p, z, P##_set1_ps(1.33314422036e-1f));                                                                                                  \
    p = P##_fmadd_ps(p, z, P##_set1_ps(-3.33332819422e-1f));                                                                                                 \
    p = P##_fmadd_ps(P##_mul_ps(p, z), a, a);                                                                                                                \
    e = INFER__VEXP_##S(P##_add_ps(a, a));                                                                                                                   \
    big = P##_sub_ps(P##_set1_ps(1.0f), P##_div_ps(P##_set1_ps(2.0f), P##_add_ps(e, P##_set1_ps(1.0f))));                                                    \
    return INFER__OR_##S(INFER__SEL_##S(INFER__LT_##S(a, P##_set1_ps(0.625f)), p, big), INFER__SIGN_##S(x));                                                 \
}                                                                                                                                                            \
/* erf(x) / x for |x| < 1: the Taylor series in x^2 (truncation below 2e-9) */                                                                               \
INFER__TGT_##S static inline INFER__VF_##S infer__verf_small_##S(INFER__VF_##S x) {                                                                          \
    INFER__VF_##S z = P##_mul_ps(x, x), p;                                                                                                                   \
    p = P##_fmadd_ps(P##_set1_ps(1.4807192815879218e-08f), z, P##_set1_ps(-1.6365844691234924e-07f));                                                        \
    p = P##_fmadd_ps(p, z, P##_set1_ps(1.6462114365889246e-06f));                                                                                            \
    p = P##_fmadd_ps(p, z, P##_set1_ps(-1.492565035840625e-05f));                                                                                            \
    p = P##_fmadd_ps(p, z, P##_set1_ps(0.00012055332981789664f));                                                                                            \
    p = P##_fmadd_ps(p, z, P##_set1_ps(-0.00085483270234508522f));                                                                                           \
    p = P##_fmadd_ps(p, z, P##_set1_ps(0.0052239776254421879f));                                                                                             \
    p = P##_fmadd_ps(p, z, P##_set1_ps(-0.026866170645131252f));                                                                                             \
    p = P##_fmadd_ps(p, z, P##_set1_ps(0.11283791670955126f));                                                                                               \
    p = P##_fmadd_ps(p, z, P##_set1_ps(-0.37612638903183754f));                                                                                              \
    return P##_fmadd_ps(p, z, P##_set1_ps(1.1283791670955126f));                                                                                             \
}                                                                                                                                                            \
/* erfc(a) for a >= 0 given a^2 = hi + lo exactly: t exp(p - lo - hi) with the last sum                                                                      \
   kept exact (r + e by TwoSum), so one exp times 1 + e keeps every bit */                                                                                   \
INFER__TGT_##S static inline INFER__VF_##S infer__verfc_sq_##S(INFER__VF_##S a, INFER__VF_##S hi, INFER__VF_##S lo) {                                        \
    INFER__VF_##S t, p, r, bb, e;                                                                                                                            \
    t = P##_div_ps(P##_set1_ps(1.0f), P##_fmadd_ps(a, P##_set1_ps(0.5f), P##_set1_ps(1.0f)));                                                                \
    p = P##_fmadd_ps(P##_set1_ps(0.17087277f), t, P##_set1_ps(-0.82215223f));                                                                                \
    p = P##_fmadd_ps(p, t, P##_set1_ps(1.48851587f));                                                                                                        \
    p = P##_fmadd_ps(p, t, P##_set1_ps(-1.13520398f));                                                                                                       \
    p = P##_fmadd_ps(p, t, P##_set1_ps(0.27886807f));                                                                                                        \
    p = P##_fmadd_ps(p, t, P##_set1_ps(-0.18628806f));                                                                                                       \
    p = P##_fmadd_ps(p, t, P##_set1_ps(0.09678418f));                                                                                                        \
    p = P##_fmadd_ps(p, t, P##_set1_ps(0.37409196f));                                                                                                        \
    p = P##_fmadd_ps(p, t, P##_set1_ps(1.00002368f));                                                                                                        \
    p = P##_fmadd_ps(p, t, P##_set1_ps(-1.26551223f));                                                                                                       \
    p = P##_sub_ps(p, lo);                                                                                                                                   \
    r = P##_sub_ps(p, hi);                                                                                                                                   \
    bb = P##_sub_ps(r, p);                                                                                                                                   \
    e = P##_sub_ps(P##_sub_ps(p, P##_sub_ps(r, bb)), P##_add_ps(hi, bb)); /* p - hi = r + e exactly */                                                       \
    r = INFER__VEXP_##S(r);                                                                                                                                  \
    return P##_mul_ps(t, P##_fmadd_ps(r, e, r));                                                                                                             \
}                                                                                                                                                            \
/* erfc(a) for a >= 0 */                                                                                                                                     \
INFER__TGT_##S static inline INFER__VF_##S infer__verfc_own_##S(INFER__VF_##S a) {                                                                           \
    INFER__VF_##S hi;                                                                                                                                        \
    a = P##_min_ps(P##_set1_ps(11.0f), a); /* erfc(11) is 0 in float; NaN stays NaN */                                                                       \
    hi = P##_mul_ps(a, a);                                                                                                                                   \
    return infer__verfc_sq_##S(a, hi, P##_fmsub_ps(a, a, hi));                                                                                               \
}                                                                                                                                                            \
INFER__TGT_##S static inline INFER__VF_##S infer__verf_own_##S(INFER__VF_##S x) {                                                                            \
    INFER__VF_##S a = INFER__ABS_##S(x), big = P##_sub_ps(P##_set1_ps(1.0f), infer__verfc_own_##S(a));                                                       \
    return INFER__SEL_##S(INFER__LT_##S(a, P##_set1_ps(1.0f)), P##_mul_ps(x, infer__verf_small_##S(x)), INFER__OR_##S(big, INFER__SIGN_##S(x)));             \
}                                                                                                                                                            \
/* GELU, x/2 (1 + erf(x / sqrt 2)) = x/2 erfc(-x / sqrt 2), erfc from x^2 / 2 split exactly                                                                  \
   (rounding x / sqrt 2 first would cost 2 a^2 2^-24 of relative error); no series near 0:                                                                   \
   within 6 ulp everywhere (tests/test_vecmath.c) for 1 exp a value */                                                                                       \
INFER__TGT_##S static inline INFER__VF_##S infer__vgelu_##S(INFER__VF_##S x) {                                                                               \
    INFER__VF_##S h = P##_set1_ps(0.5f), s2 = P##_set1_ps(0.70710678118654752f);                                                                             \
    INFER__VF_##S xa = P##_min_ps(P##_set1_ps(16.0f), INFER__ABS_##S(x)), a = P##_mul_ps(xa, s2);                                                            \
    INFER__VF_##S hx = P##_mul_ps(xa, xa), e, big;                                                                                                           \
    e = infer__verfc_sq_##S(a, P##_mul_ps(hx, h), P##_mul_ps(P##_fmsub_ps(xa, xa, hx), h));                                                                  \
    big = INFER__SEL_##S(INFER__LT_##S(x, P##_setzero_ps()), e, P##_sub_ps(P##_set1_ps(2.0f), e));                                                           \
    return P##_mul_ps(P##_mul_ps(h, x), big);                                                                                                                \
}                                                                                                                                                            \
/* exp inline (ours, not SLEEF's call): with a call a vector, SiLU's pass after a conv was   \
   latency-bound (EfficientNet-B0, AMD EPYC, one thread: 3-4% faster end to end) */          \
INFER__TGT_##S static inline INFER__VF_##S infer__vsigmoid_##S(INFER__VF_##S x) {                                                                            \
    INFER__VF_##S e = infer__vexp_own_##S(P##_sub_ps(P##_setzero_ps(), INFER__ABS_##S(x))), r = P##_div_ps(P##_set1_ps(1.0f), P##_add_ps(P##_set1_ps(1.0f), e)); \
    return INFER__SEL_##S(INFER__LT_##S(x, P##_setzero_ps()), P##_mul_ps(e, r), r);                                                                          \
}                                                                                                                                                            \
INFER__TGT_##S static inline INFER__VF_##S infer__vact_##S(int kind, INFER__VF_##S v, INFER__VF_##S al, INFER__VF_##S be) {                                  \
    INFER__VF_##S z = P##_setzero_ps(), one = P##_set1_ps(1.0f);                                                                                             \
    switch (kind) {                                                                                                                                          \
    case INFER__ACT_RELU: return P##_max_ps(z, v); /* max(0, NaN) is NaN, as in the reference */                                                             \
    case INFER__ACT_LEAKY_RELU: return INFER__SEL_##S(INFER__LT_##S(v, z), P##_mul_ps(al, v), v);                                                            \
    case INFER__ACT_SIGMOID: return infer__vsigmoid_##S(v);                                                                                                  \
    case INFER__ACT_TANH: return INFER__VTANH_##S(v);                                                                                                        \
    case INFER__ACT_CLIP: return P##_min_ps(P##_max_ps(v, al), be);                                                                                          \
    case INFER__ACT_HARD_SIGMOID: return P##_min_ps(P##_max_ps(P##_fmadd_ps(al, v, be), z), one);                                                            \
    case INFER__ACT_HARD_SWISH:                                                                                                                              \
        return P##_mul_ps(v, P##_min_ps(P##_max_ps(P##_fmadd_ps(v, P##_set1_ps(1.0f / 6.0f), P##_set1_ps(0.5f)), z), one));                                  \
    case INFER__ACT_GELU: return infer__vgelu_##S(v);                                                                                                        \
    case INFER__ACT_GELU_TANH: {                                                                                                                             \
        INFER__VF_##S u = P##_mul_ps(P##_set1_ps(-1.5957691216057308f), P##_fmadd_ps(P##_mul_ps(P##_set1_ps(0.044715f), v), P##_mul_ps(v, v), v));           \
        return P##_mul_ps(v, infer__vsigmoid_##S(P##_sub_ps(z, u))); /* x / (1 + exp(-2u)) */                                                                \
    }                                                                                                                                                        \
    case INFER__ACT_SILU: return P##_mul_ps(v, infer__vsigmoid_##S(v));                                                                                      \
    case INFER__VK_SWISH: return P##_mul_ps(v, infer__vsigmoid_##S(P##_mul_ps(al, v)));                                                                      \
    case INFER__VK_EXP: return INFER__VEXP_##S(v);                                                                                                           \
    case INFER__VK_ERF: return INFER__VERF_##S(v);                                                                                                           \
    default: return v;                                                                                                                                       \
    }                                                                                                                                                        \
}                                                                                                                                                            \
INFER__TGT_##S static void infer__vmap_##S(int kind, float *y, const float *x, int64_t n, float alpha, float beta) {                                         \
    INFER__VF_##S al = P##_set1_ps(alpha), be = P##_set1_ps(beta);                                                                                           \
    int64_t i = 0;                                                                                                                                           \
    for (; i + INFER__W_##S <= n; i += INFER__W_##S) P##_storeu_ps(y + i, infer__vact_##S(kind, P##_loadu_ps(x + i), al, be));                               \
    if (i < n) { /* the tail through a padded vector */                                                                                                      \
        float t[16] = {0};                                                                                                                                   \
        memcpy(t, x + i, (size_t)(n - i) * sizeof(float));                                                                                                   \
        P##_storeu_ps(t, infer__vact_##S(kind, P##_loadu_ps(t), al, be));                                                                                    \
        memcpy(y + i, t, (size_t)(n - i) * sizeof(float));                                                                                                   \
    }                                                                                                                                                        \
}                                                                                                                                                            \
INFER__TGT_##S static inline INFER__VF_##S infer__vop_##S(int op, INFER__VF_##S a, INFER__VF_##S b) {                                                        \
    switch (op) {                                                                                                                                            \
    case INFER__OP_ADD: return P##_add_ps(a, b);                                                                                                             \
    case INFER__OP_SUB: return P##_sub_ps(a, b);                                                                                                             \
    case INFER__OP_MUL: return P##_mul_ps(a, b);                                                                                                             \
    default: return P##_div_ps(a, b);                                                                                                                        \
    }                                                                                                                                                        \
}                                                                                                                                                            \
INFER__TGT_##S static void infer__vbinary_##S(int op, float *y, const float *a, int64_t sa, const float *b, int64_t sb, int64_t n) {                         \
    INFER__VF_##S a0 = P##_set1_ps(a[0]), b0 = P##_set1_ps(b[0]);                                                                                            \
    int64_t i = 0, k;                                                                                                                                        \
    for (; i + INFER__W_##S <= n; i += INFER__W_##S)                                                                                                         \
        P##_storeu_ps(y + i, infer__vop_##S(op, sa ? P##_loadu_ps(a + i) : a0, sb ? P##_loadu_ps(b + i) : b0));                                              \
    if (i < n) {                                                                                                                                             \
        float ta[16], tb[16];                                                                                                                                \
        for (k = 0; k < INFER__W_##S; k++) ta[k] = a[sa * (i + (k < n - i ? k : 0))], tb[k] = b[sb * (i + (k < n - i ? k : 0))];                             \
        P##_storeu_ps(ta, infer__vop_##S(op, P##_loadu_ps(ta), P##_loadu_ps(tb)));                                                                           \
        memcpy(y + i, ta, (size_t)(n - i) * sizeof(float));                                                                                                  \
    }                                                                                                                                                        \
}                                                                                                                                                            \
INFER__TGT_##S static float infer__vmax_##S(const float *x, int64_t n) {                                                                                     \
    INFER__VF_##S m = P##_set1_ps(-INFINITY);                                                                                                                \
    int64_t i = 0;                                                                                                                                           \
    float r;                                                                                                                                                 \
    for (; i + INFER__W_##S <= n; i += INFER__W_##S) m = P##_max_ps(P##_loadu_ps(x + i), m); /* NaN ignored, as in the reference */                          \
    r = infer__hmax_##S(m);                                                                                                                                  \
    for (; i < n; i++) r = x[i] > r ? x[i] : r;                                                                                                              \
    return r;                                                                                                                                                \
}                                                                                                                                                            \
INFER__TGT_##S static float infer__vexp_shift_##S(float *y, const float *x, float shift, int64_t n) {                                                        \
    INFER__VF_##S sh = P##_set1_ps(shift), s = P##_setzero_ps(), e;                                                                                          \
    int64_t i = 0;                                                                                                                                           \
    for (; i + INFER__W_##S <= n; i += INFER__W_##S) {                                                                                                       \
        e = INFER__VEXP_##S(P##_sub_ps(P##_loadu_ps(x + i), sh));                                                                                            \
        s = P##_add_ps(s, e);                                                                                                                                \
        P##_storeu_ps(y + i, e);                                                                                                                             \
    }                                                                                                                                                        \
    if (i < n) {                                                                                                                                             \
        float t[16];                                                                                                                                         \
        int64_t k;                                                                                                                                           \
        for (k = 0; k < INFER__W_##S; k++) t[k] = k < n - i ? x[i + k] : -INFINITY;                                                                          \
        e = INFER__VEXP_##S(P##_sub_ps(P##_loadu_ps(t), sh));                                                                                                \
        s = P##_add_ps(s, e);                                                                                                                                \
        P##_storeu_ps(t, e);                                                                                                                                 \
        memcpy(y + i, t, (size_t)(n - i) * sizeof(float));                                                                                                   \
    }                                                                                                                                                        \
    return infer__hsum_##S(s);                                                                                                                               \
}                                                                                                                                                            \
INFER__TGT_##S static void infer__vsoftmax_##S(float *y, const float *x, int64_t n, int lg) {                                                                \
    float mx = infer__vmax_##S(x, n), t[16];                                                                                                                 \
    INFER__VF_##S sh = P##_set1_ps(mx), e;                                                                                                                   \
    INFER__VD_##S acc[2];                                                                                                                                    \
    int64_t i = 0, k;                                                                                                                                        \
    double sum;                                                                                                                                              \
    acc[0] = acc[1] = INFER__DZERO_##S;                                                                                                                      \
    for (; i + INFER__W_##S <= n; i += INFER__W_##S) {                                                                                                       \
        e = INFER__VEXP_##S(P##_sub_ps(P##_loadu_ps(x + i), sh));                                                                                            \
        infer__dacc_##S(acc, e);                                                                                                                             \
        if (!lg) P##_storeu_ps(y + i, e);                                                                                                                    \
    }                                                                                                                                                        \
    if (i < n) {                                                                                                                                             \
        for (k = 0; k < INFER__W_##S; k++) t[k] = k < n - i ? x[i + k] : -INFINITY;                                                                          \
        e = INFER__VEXP_##S(P##_sub_ps(P##_loadu_ps(t), sh));                                                                                                \
        infer__dacc_##S(acc, e);                                                                                                                             \
        P##_storeu_ps(t, e);                                                                                                                                 \
        if (!lg) memcpy(y + i, t, (size_t)(n - i) * sizeof(float));                                                                                          \
    }                                                                                                                                                        \
    sum = infer__dsum_##S(acc);                                                                                                                              \
    if (lg) {                                                                                                                                                \
        float lse = (float)log(sum);                                                                                                                         \
        for (i = 0; i + INFER__W_##S <= n; i += INFER__W_##S) P##_storeu_ps(y + i, P##_sub_ps(P##_sub_ps(P##_loadu_ps(x + i), sh), P##_set1_ps(lse)));       \
        for (; i < n; i++) y[i] = x[i] - mx - lse;                                                                                                           \
    } else {                                                                                                                                                 \
        float inv = (float)(1.0 / sum);                                                                                                                      \
        for (i = 0; i + INFER__W_##S <= n; i += INFER__W_##S) P##_storeu_ps(y + i, P##_mul_ps(P##_loadu_ps(y + i), P##_set1_ps(inv)));                       \
        for (; i < n; i++) y[i] *= inv;                                                                                                                      \
    }                                                                                                                                                        \
}                                                                                                                                                            \
INFER__TGT_##S static void infer__vlayer_norm_##S(float *y, const float *x, int64_t n, const float *scale, int64_t ss,                                       \
                                     const float *bias, int64_t bs, float eps, float *mean_out, float *inv_out) {                                            \
    INFER__VD_##S acc[2];                                                                                                                                    \
    int64_t i = 0;                                                                                                                                           \
    double mean, var, inv, tail = 0;                                                                                                                         \
    float mf, af;                                                                                                                                            \
    acc[0] = acc[1] = INFER__DZERO_##S;                                                                                                                      \
    for (; i + INFER__W_##S <= n; i += INFER__W_##S) infer__dacc_##S(acc, P##_loadu_ps(x + i));                                                              \
    for (; i < n; i++) tail += x[i];                                                                                                                         \
    mean = n ? (infer__dsum_##S(acc) + tail) / (double)n : 0;                                                                                                \
    acc[0] = acc[1] = INFER__DZERO_##S;                                                                                                                      \
    tail = 0;                                                                                                                                                \
    for (i = 0; i + INFER__W_##S / 2 <= n; i += INFER__W_##S / 2) {                                                                                          \
        INFER__VD_##S d = P##_sub_pd(INFER__LOADD_##S(x + i), P##_set1_pd(mean));                                                                            \
        acc[0] = P##_fmadd_pd(d, d, acc[0]);                                                                                                                 \
    }                                                                                                                                                        \
    for (; i < n; i++) tail += (x[i] - mean) * (x[i] - mean);                                                                                                \
    var = n ? (infer__dsum_##S(acc) + tail) / (double)n : 0;                                                                                                 \
    inv = 1.0 / sqrt(var + eps);                                                                                                                             \
    mf = (float)mean, af = (float)inv;                                                                                                                       \
    for (i = 0; i + INFER__W_##S / 2 <= n; i += INFER__W_##S / 2) { /* (x - mean) inv scale + bias in double */                                              \
        INFER__VD_##S s = ss ? INFER__LOADD_##S(scale + i) : P##_set1_pd(scale[0]);                                                                          \
        INFER__VD_##S b = !bias ? P##_setzero_pd() : bs ? INFER__LOADD_##S(bias + i) : P##_set1_pd(bias[0]);                                                 \
        INFER__VD_##S d = P##_sub_pd(INFER__LOADD_##S(x + i), P##_set1_pd(mean));                                                                            \
        INFER__STORED_##S(y + i, P##_fmadd_pd(P##_mul_pd(d, P##_set1_pd(inv)), s, b));                                                                       \
    }                                                                                                                                                        \
    for (; i < n; i++) y[i] = (float)((x[i] - mean) * inv * scale[i * ss] + (bias ? bias[i * bs] : 0.0f));                                                   \
    if (mean_out) *mean_out = mf;                                                                                                                            \
    if (inv_out) *inv_out = af;                                                                                                                              \
}                                                                                                                                                            \
INFER__TGT_##S static void infer__vscale_##S(float *y, float a, int64_t n) {                                                                                 \
    INFER__VF_##S va = P##_set1_ps(a);                                                                                                                       \
    int64_t i = 0;                                                                                                                                           \
    for (; i + INFER__W_##S <= n; i += INFER__W_##S) P##_storeu_ps(y + i, P##_mul_ps(va, P##_loadu_ps(y + i)));                                              \
    for (; i < n; i++) y[i] *= a;                                                                                                                            \
}                                                                                                                                                            \
/* s[j] = sum_p q[p] kt[p * ldk + j] for j < nb rounded up to a vector (kt zero-padded) */                                                                   \
INFER__TGT_##S static void infer__vqk_##S(float *s, const float *q, const float *kt, int64_t d, int64_t nb, int64_t lds,                                     \
                                         int64_t ldk) {                                                                                                      \
    int64_t n = (nb + INFER__W_##S - 1) / INFER__W_##S * INFER__W_##S, j = 0, p;                                                                             \
    (void)lds; /* one row */                                                                                                                                 \
    for (; j + 4 * INFER__W_##S <= n; j += 4 * INFER__W_##S) {                                                                                               \
        INFER__VF_##S a0 = P##_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, qv;                                                                                  \
        for (p = 0; p < d; p++) {                                                                                                                            \
            const float *kr = kt + p * ldk + j;                                                                                                              \
            qv = P##_set1_ps(q[p]);                                                                                                                          \
            a0 = P##_fmadd_ps(qv, P##_loadu_ps(kr), a0);                                                                                                     \
            a1 = P##_fmadd_ps(qv, P##_loadu_ps(kr + INFER__W_##S), a1);                                                                                      \
            a2 = P##_fmadd_ps(qv, P##_loadu_ps(kr + 2 * INFER__W_##S), a2);                                                                                  \
            a3 = P##_fmadd_ps(qv, P##_loadu_ps(kr + 3 * INFER__W_##S), a3);                                                                                  \
        }                                                                                                                                                    \
        P##_storeu_ps(s + j, a0);                                                                                                                            \
        P##_storeu_ps(s + j + INFER__W_##S, a1);                                                                                                             \
        P##_storeu_ps(s + j + 2 * INFER__W_##S, a2);                                                                                                         \
        P##_storeu_ps(s + j + 3 * INFER__W_##S, a3);                                                                                                         \
    }                                                                                                                                                        \
    for (; j < n; j += INFER__W_##S) {                                                                                                                       \
        INFER__VF_##S a0 = P##_setzero_ps();                                                                                                                 \
        for (p = 0; p < d; p++) a0 = P##_fmadd_ps(P##_set1_ps(q[p]), P##_loadu_ps(kt + p * ldk + j), a0);                                                    \
        P##_storeu_ps(s + j, a0);                                                                                                                            \
    }                                                                                                                                                        \
}                                                                                                                                                            \
/* four rows at once: s[r * lds + j] = q[r * qs + .] . kt[.][j] (the kt loads shared) */                                                                     \
INFER__TGT_##S static void infer__vqk4_##S(float *s, const float *q, int64_t qs, const float *kt, int64_t d, int64_t nb,                                     \
                                          int64_t lds, int64_t ldk) {                                                                                        \
    int64_t n = (nb + INFER__W_##S - 1) / INFER__W_##S * INFER__W_##S, j = 0, p;                                                                             \
    for (; j + 2 * INFER__W_##S <= n; j += 2 * INFER__W_##S) {                                                                                               \
        INFER__VF_##S a0 = P##_setzero_ps(), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0, k0, k1, x;                                       \
        for (p = 0; p < d; p++) {                                                                                                                            \
            k0 = P##_loadu_ps(kt + p * ldk + j), k1 = P##_loadu_ps(kt + p * ldk + j + INFER__W_##S);                                                         \
            x = P##_set1_ps(q[p]), a0 = P##_fmadd_ps(x, k0, a0), a1 = P##_fmadd_ps(x, k1, a1);                                                               \
            x = P##_set1_ps(q[qs + p]), b0 = P##_fmadd_ps(x, k0, b0), b1 = P##_fmadd_ps(x, k1, b1);                                                          \
            x = P##_set1_ps(q[2 * qs + p]), c0 = P##_fmadd_ps(x, k0, c0), c1 = P##_fmadd_ps(x, k1, c1);                                                      \
            x = P##_set1_ps(q[3 * qs + p]), d0 = P##_fmadd_ps(x, k0, d0), d1 = P##_fmadd_ps(x, k1, d1);                                                      \
        }                                                                                                                                                    \
        P##_storeu_ps(s + j, a0), P##_storeu_ps(s + j + INFER__W_##S, a1);                                                                                   \
        P##_storeu_ps(s + lds + j, b0), P##_storeu_ps(s + lds + j + INFER__W_##S, b1);                                                                       \
        P##_storeu_ps(s + 2 * lds + j, c0), P##_storeu_ps(s + 2 * lds + j + INFER__W_##S, c1);                                                               \
        P##_storeu_ps(s + 3 * lds + j, d0), P##_storeu_ps(s + 3 * lds + j + INFER__W_##S, d1);                                                               \
    }                                                                                                                                                        \
    for (; j < n; j += INFER__W_##S) {                                                                                                                       \
        INFER__VF_##S a0 = P##_setzero_ps(), b0 = a0, c0 = a0, d0 = a0, k0;                                                                                  \
        for (p = 0; p < d; p++) {                                                                                                                            \
            k0 = P##_loadu_ps(kt + p * ldk + j);                                                                                                             \
            a0 = P##_fmadd_ps(P##_set1_ps(q[p]), k0, a0), b0 = P##_fmadd_ps(P##_set1_ps(q[qs + p]), k0, b0);                                                 \
            c0 = P##_fmadd_ps(P##_set1_ps(q[2 * qs + p]), k0, c0), d0 = P##_fmadd_ps(P##_set1_ps(q[3 * qs + p]), k0, d0);                                    \
        }                                                                                                                                                    \
        P##_storeu_ps(s + j, a0), P##_storeu_ps(s + lds + j, b0), P##_storeu_ps(s + 2 * lds + j, c0), P##_storeu_ps(s + 3 * lds + j, d0);                    \
    }                                                                                                                                                        \
}                                                                                                                                                            \
INFER__TGT_##S static void infer__vpv_##S(float *acc, const float *p, const float *v, int64_t vs, int64_t nb, int64_t dv);                                   \
/* four rows at once: acc[r * lda + c] += sum_j p[r * ldp + j] v[j * vs + c] (the v loads shared) */                                                         \
INFER__TGT_##S static void infer__vpv4_##S(float *acc, int64_t lda, const float *p, int64_t ldp, const float *v, int64_t vs,                                 \
                                          int64_t nb, int64_t dv) {                                                                                          \
    int64_t c = 0, j, r;                                                                                                                                     \
    for (; c + 2 * INFER__W_##S <= dv; c += 2 * INFER__W_##S) {                                                                                              \
        float *o0 = acc + c, *o1 = o0 + lda, *o2 = o1 + lda, *o3 = o2 + lda;                                                                                 \
        INFER__VF_##S a0 = P##_loadu_ps(o0), a1 = P##_loadu_ps(o0 + INFER__W_##S), b0 = P##_loadu_ps(o1);                                                    \
        INFER__VF_##S b1 = P##_loadu_ps(o1 + INFER__W_##S), c0 = P##_loadu_ps(o2), c1 = P##_loadu_ps(o2 + INFER__W_##S);                                     \
        INFER__VF_##S d0 = P##_loadu_ps(o3), d1 = P##_loadu_ps(o3 + INFER__W_##S), v0, v1, x;                                                                \
        for (j = 0; j < nb; j++) {                                                                                                                           \
            v0 = P##_loadu_ps(v + j * vs + c), v1 = P##_loadu_ps(v + j * vs + c + INFER__W_##S);                                                             \
            x = P##_set1_ps(p[j]), a0 = P##_fmadd_ps(x, v0, a0), a1 = P##_fmadd_ps(x, v1, a1);                                                               \
            x = P##_set1_ps(p[ldp + j]), b0 = P##_fmadd_ps(x, v0, b0), b1 = P##_fmadd_ps(x, v1, b1);                                                         \
            x = P##_set1_ps(p[2 * ldp + j]), c0 = P##_fmadd_ps(x, v0, c0), c1 = P##_fmadd_ps(x, v1, c1);                                                     \
            x = P##_set1_ps(p[3 * ldp + j]), d0 = P##_fmadd_ps(x, v0, d0), d1 = P##_fmadd_ps(x, v1, d1);                                                     \
        }                                                                                                                                                    \
        P##_storeu_ps(o0, a0), P##_storeu_ps(o0 + INFER__W_##S, a1), P##_storeu_ps(o1, b0), P##_storeu_ps(o1 + INFER__W_##S, b1);                            \
        P##_storeu_ps(o2, c0), P##_storeu_ps(o2 + INFER__W_##S, c1), P##_storeu_ps(o3, d0), P##_storeu_ps(o3 + INFER__W_##S, d1);                            \
    }                                                                                                                                                        \
    if (c < dv)                                                                                                                                              \
        for (r = 0; r < 4; r++) infer__vpv_##S(acc + r * lda + c, p + r * ldp, v + c, vs, nb, dv - c);                                                       \
}                                                                                                                                                            \
/* acc[c] += sum_j p[j] v[j * vs + c] for c < dv, j < nb */                                                                                                  \
INFER__TGT_##S static void infer__vpv_##S(float *acc, const float *p, const float *v, int64_t vs, int64_t nb, int64_t dv) {                                  \
    int64_t c = 0, j;                                                                                                                                        \
    for (; c + 4 * INFER__W_##S <= dv; c += 4 * INFER__W_##S) {                                                                                              \
        INFER__VF_##S a0 = P##_loadu_ps(acc + c), a1 = P##_loadu_ps(acc + c + INFER__W_##S);                                                                 \
        INFER__VF_##S a2 = P##_loadu_ps(acc + c + 2 * INFER__W_##S), a3 = P##_loadu_ps(acc + c + 3 * INFER__W_##S), pj;                                      \
        for (j = 0; j < nb; j++) {                                                                                                                           \
            const float *vr = v + j * vs + c;                                                                                                                \
            pj = P##_set1_ps(p[j]);                                                                                                                          \
            a0 = P##_fmadd_ps(pj, P##_loadu_ps(vr), a0);                                                                                                     \
            a1 = P##_fmadd_ps(pj, P##_loadu_ps(vr + INFER__W_##S), a1);                                                                                      \
            a2 = P##_fmadd_ps(pj, P##_loadu_ps(vr + 2 * INFER__W_##S), a2);                                                                                  \
            a3 = P##_fmadd_ps(pj, P##_loadu_ps(vr + 3 * INFER__W_##S), a3);                                                                                  \
        }                                                                                                                                                    \
        P##_storeu_ps(acc + c, a0);                                                                                                                          \
        P##_storeu_ps(acc + c + INFER__W_##S, a1);                                                                                                           \
        P##_storeu_ps(acc + c + 2 * INFER__W_##S, a2);                                                                                                       \
        P##_storeu_ps(acc + c + 3 * INFER__W_##S, a3);                                                                                                       \
    }                                                                                                                                                        \
    for (; c + INFER__W_##S <= dv; c += INFER__W_##S) {                                                                                                      \
        INFER__VF_##S a0 = P##_loadu_ps(acc + c);                                                                                                            \
        for (j = 0; j < nb; j++) a0 = P##_fmadd_ps(P##_set1_ps(p[j]), P##_loadu_ps(v + j * vs + c), a0);                                                     \
        P##_storeu_ps(acc + c, a0);                                                                                                                          \
    }                                                                                                                                                        \
    for (; c < dv; c++) {                                                                                                                                    \
        float t = acc[c];                                                                                                                                    \
        for (j = 0; j < nb; j++) t += p[j] * v[j * vs + c];                                                                                                  \
        acc[c] = t;                                                                                                                                          \
    }                                                                                                                                                        \
}                                                                                                                                                            \
static const infer__vec_isa infer__vec_##S = {INFER__W_##S, infer__vmap_##S, infer__vbinary_##S, infer__vsoftmax_##S,                                        \
    infer__vlayer_norm_##S, infer__vscale_##S, infer__vmax_##S, infer__vexp_shift_##S,                                                                       \
    infer__vqk_##S, infer__vpv_##S, infer__vqk4_##S, infer__vpv4_##S};

#if defined(INFER__HAVE_AVX2)
INFER__VEC_TEMPLATE(avx2, _mm256)
INFER__VEC_TEMPLATE(avx512, _mm512)
#endif
#if defined(INFER__HAVE_NEON)
INFER__VEC_TEMPLATE(neon, infer__nv)
#endif

/* -- element-wise, Softmax and LayerNormalization kernels over an infer__vec_isa -- */

/* The map kind of a unary op with a vector form, or -1 */
static int infer__vec_kind(int op, int flag) {
    switch (op) {
    case INFER__OP_RELU: return INFER__ACT_RELU;
    case INFER__OP_LEAKY_RELU: return INFER__ACT_LEAKY_RELU;
    case INFER__OP_SIGMOID: return INFER__ACT_SIGMOID;
    case INFER__OP_TANH: return INFER__ACT_TANH;
    case INFER__OP_GELU: return flag ? INFER__ACT_GELU_TANH : INFER__ACT_GELU;
    case INFER__OP_SWISH: return INFER__VK_SWISH;
    case INFER__OP_EXP: return INFER__VK_EXP;
    case INFER__OP_ERF: return INFER__VK_ERF;
    default: return -1;
    }
}

/* One element-wise job in rows: row r of y [rows][len] (the last row may be shorter) from
   a and b at row strides a_rs, b_rs and element strides sa, sb (0: broadcast). */
typedef struct infer__vec_job {
    const infer__vec_isa *v;
    int kind;      /* map kind, or the binary op */
    float al, be;  /* map parameters */
    const float *a, *b;
    float *y;
    int64_t n, len, a_rs, b_rs, sa, sb;
    int64_t a_mod, b_mod; /* non-zero: row r reads that operand's scalar r % mod (per-channel) */
    int64_t a_div, b_div; /* non-zero: row r reads that operand's row r / div (channels-last SE) */
} infer__vec_job;

static void infer__vec_map_task(void *arg, int64_t r) {
    const infer__vec_job *j = (const infer__vec_job *)arg;
    int64_t len = INFER__MIN(j->len, j->n - r * j->len);
    j->v->map(j->kind, j->y + r * j->len, j->a + r * j->len, len, j->al, j->be);
}

static void infer__vec_binary_task(void *arg, int64_t r) {
    const infer__vec_job *j = (const infer__vec_job *)arg;
    int64_t len = INFER__MIN(j->len, j->n - r * j->len);
    const float *a = j->a + (j->a_mod ? r % j->a_mod : j->a_div ? r / j->a_div * j->len : r * j->a_rs);
    const float *b = j->b + (j->b_mod ? r % j->b_mod : j->b_div ? r / j->b_div * j->len : r * j->b_rs);
    j->v->binary(j->kind, j->y + r * j->len, a, j->sa, b, j->sb, len);
}

/* Rows of at least 4096 elements (a multiple of 16), about one per thread: element-wise
   results do not depend on the split. */
static int64_t infer__vec_chunk(int64_t n, int nt) {
    int64_t len = (n + nt - 1) / (nt < 1 ? 1 : nt);
    len = (len + 15) / 16 * 16;
    return INFER__MAX(len, 4096);
}

static infer_status infer__unary_f32(const infer__ctx *c, const infer__vec_isa *v) {
    infer__vec_job j;
    int nt;
    memset(&j, 0, sizeof j);
    j.kind = infer__vec_kind(c->node->op, c->p->ax.flag);
    if (c->in[0]->dtype != INFER_DTYPE_F32 || j.kind < 0) return infer__unary_ref(c);
    j.v = v, j.al = c->p->ax.alpha, j.be = c->p->ax.beta;
    j.a = (const float *)c->in[0]->data, j.y = (float *)c->out[0]->data, j.n = (int64_t)c->out[0]->n;
    nt = infer__threads_for(c, (double)j.n * (j.kind == INFER__ACT_RELU || j.kind == INFER__ACT_LEAKY_RELU ? 1 : 16));
    j.len = infer__vec_chunk(j.n, nt);
    if (j.n > 0) infer__parallel(c, nt, (j.n + j.len - 1) / j.len, infer__vec_map_task, &j);
    return INFER_STATUS_OK;
}

/* The rows of a "per-channel scalar" broadcast of s against the output o: s's dims,
   right-aligned to o's, are 1 on o's trailing axes t.. (the row, inner floats) and on a
   leading run, and equal to o's in between (the channels), e.g. an SE block's [N,C,1,1]
   or a [C,1,1] scale against [N,C,H,W]. Returns inner (row r reads s[r % s->n]), 0 when
   s is not of that form. */
static int64_t infer__chan_inner(const infer__val *s, const infer__val *o) {
    int r = o->n_dims, off = r - s->n_dims, t = r, i;
    int64_t inner = 1;
    if (off < 0 || s->n == 0) return 0;
    while (t > 0 && (t - 1 < off || s->dims[t - 1 - off] == 1)) inner *= o->dims[--t];
    for (i = t; i > 0 && i - 1 >= off && s->dims[i - 1 - off] == o->dims[i - 1] && o->dims[i - 1] != 1; i--)
        ;
    for (; i > 0; i--)
        if (i - 1 >= off && s->dims[i - 1 - off] != 1) return 0;
    return inner > 1 && t < r ? inner : 0;
}

/* Add/Sub/Mul/Div of f32 for same shapes, a scalar, a vector along the last axis (a
   bias), or a per-channel scalar over a contiguous inner block (infer__chan_inner);
   other broadcasts run the reference. */
static infer_status infer__binary_f32(const infer__ctx *c, const infer__vec_isa *v) {
    const infer__val *a = c->in[0], *b = c->n_in > 1 ? c->in[1] : NULL, *o = c->out[0];
    infer__vec_job j;
    int64_t n = (int64_t)o->n, last, inner;
    int nt, rows = 0;
    if (c->n_in != 2 || !b || o->dtype != INFER_DTYPE_F32 || a->dtype != INFER_DTYPE_F32 ||
        b->dtype != INFER_DTYPE_F32 || o->n_dims == 0)
        return infer__binary_ref(c);
    last = o->dims[o->n_dims - 1];
    memset(&j, 0, sizeof j);
    j.v = v, j.kind = c->node->op, j.n = n;
    j.a = (const float *)a->data, j.b = (const float *)b->data, j.y = (float *)o->data;
    nt = infer__threads_for(c, (double)n);
    if (o->nhwc && !(a->n == o->n && b->n == o->n)) { /* a broadcast on a channels-last output */
        /* An SE block's scale: o [N][H][W][C] (dims N, C, H, W) and s [N, C, 1, 1], whose bytes
           are the same in either layout: rows of C floats, row r with s's row r / (H W).
           Other broadcasts: the reference. */
        const infer__val *s = a->n == o->n ? b : a;
        int64_t hw = o->dims[2] * o->dims[3];
        if (o->n_dims != 4 || (s == b ? a : b)->n != o->n || s->n_dims != 4 || s->dims[0] != o->dims[0] ||
            s->dims[1] != o->dims[1] || s->dims[2] != 1 || s->dims[3] != 1)
            return infer__binary_nhwc(c, infer__binary_ref);
        if (n == 0) return INFER_STATUS_OK;
        j.len = o->dims[1], j.sa = j.sb = 1;
        if (s == b) j.a_rs = j.len, j.b_div = hw;
        else j.b_rs = j.len, j.a_div = hw;
        infer__parallel(c, nt, n / j.len, infer__vec_binary_task, &j);
        return INFER_STATUS_OK;
    }
    if ((int64_t)a->n == n && (int64_t)b->n == n) j.sa = j.sb = 1;
    else if ((int64_t)a->n == n && b->n == 1) j.sa = 1;
    else if ((int64_t)b->n == n && a->n == 1) j.sb = 1;
    else if ((int64_t)a->n == n && (int64_t)b->n == last && b->n_dims && b->dims[b->n_dims - 1] == last) j.sa = j.sb = 1, rows = 1;
    else if ((int64_t)b->n == n && (int64_t)a->n == last && a->n_dims && a->dims[a->n_dims - 1] == last) j.sa = j.sb = 1, rows = 2;
    else if ((int64_t)a->n == n && (inner = infer__chan_inner(b, o)) > 0) j.sa = 1, j.b_mod = (int64_t)b->n, rows = 3;
    else if ((int64_t)b->n == n && (inner = infer__chan_inner(a, o)) > 0) j.sb = 1, j.a_mod = (int64_t)a->n, rows = 4;
    else return infer__binary_ref(c);
    if (n == 0) return INFER_STATUS_OK;
    if (rows >= 3) { /* rows of inner floats, the other operand one scalar a row */
        j.len = inner, j.a_rs = j.sa * inner, j.b_rs = j.sb * inner;
        infer__parallel(c, nt, n / inner, infer__vec_binary_task, &j);
        return INFER_STATUS_OK;
    }
    j.len = rows ? last : infer__vec_chunk(n, nt);
    j.a_rs = rows == 2 ? 0 : j.sa * j.len;
    j.b_rs = rows == 1 ? 0 : j.sb * j.len;
    infer__parallel(c, nt, (n + j.len - 1) / j.len, infer__vec_binary_task, &j);
    return INFER_STATUS_OK;
}

typedef struct infer__vec_rows {
    const infer__ctx *c;
    const infer__vec_isa *v;
} infer__vec_rows;

static void infer__softmax_task(void *arg, int64_t r) {
    const infer__vec_rows *j = (const infer__vec_rows *)arg;
    const infer__axis_p *p = &j->c->p->ax;
    j->v->softmax((float *)j->c->out[0]->data + r * p->len, (const float *)j->c->in[0]->data + r * p->len, p->len, p->flag);
}

/* Softmax, LogSoftmax over the last axis (inner 1); another axis runs the reference */
static infer_status infer__softmax_f32(const infer__ctx *c, const infer__vec_isa *v) {
    const infer__axis_p *p = &c->p->ax;
    infer__vec_rows j;
    if (p->inner != 1 || p->len == 0) return infer__softmax_ref(c);
    j.c = c, j.v = v;
    infer__parallel(c, infer__threads_for(c, (double)p->outer * (double)p->len * 16), p->outer, infer__softmax_task, &j);
    return INFER_STATUS_OK;
}

static void infer__layer_norm_task(void *arg, int64_t r) {
    const infer__vec_rows *j = (const infer__vec_rows *)arg;
    const infer__ctx *c = j->c;
    const infer__axis_p *p = &c->p->ax;
    const infer__val *bv = c->n_in > 2 ? c->in[2] : NULL;
    float *mean_out = c->n_out > 1 && c->out[1] ? (float *)c->out[1]->data + r : NULL;
    float *inv_out = c->n_out > 2 && c->out[2] ? (float *)c->out[2]->data + r : NULL;
    j->v->layer_norm((float *)c->out[0]->data + r * p->len, (const float *)c->in[0]->data + r * p->len, p->len,
                     (const float *)c->in[1]->data, c->in[1]->n == 1 ? 0 : 1, bv ? (const float *)bv->data : NULL,
                     bv && bv->n == 1 ? 0 : 1, p->alpha, mean_out, inv_out);
}

static infer_status infer__layer_norm_f32(const infer__ctx *c, const infer__vec_isa *v) {
    const infer__axis_p *p = &c->p->ax;
    infer__vec_rows j;
    if (p->len == 0) return infer__layer_norm_ref(c);
    j.c = c, j.v = v;
    infer__parallel(c, infer__threads_for(c, (double)p->outer * (double)p->len * 4), p->outer, infer__layer_norm_task, &j);
    return INFER_STATUS_OK;
}

/* Attention, streaming: K is transposed once into scratch ([B][Hkv][D][ldk]), then a block
   of INFER__ATT_QB query rows walks the keys in blocks of INFER__ATT_KB, each row with an online softmax
   (running maximum m and sum l; its output accumulator is rescaled when m grows), so no
   [q_seq][kv_seq] matrix exists. Parallel over (batch, head, query block); the work of a
   row does not depend on the thread count. A block of 128 keys (was 64) halves the
   per-block steps of each row (scale, mask, maximum, rescale: at head size 32 they cost
   about what its products do); a sequence of 128 is one block, so no rescale at all
   (MiniLM attention nodes 6-23% faster at batch 8 two threads, 9-18% at batch 1 one
   thread; BERT's (head size 64) 0-7% at batch 8 one thread, -12% to +3% at batch 1;
   three pairs of profiles each). */
#define INFER__ATT_KB 128
#define INFER__ATT_QB 16
#define INFER__ATT_MAX_D 256 /* larger head sizes run the reference */

typedef struct infer__att_job {
    const infer__vec_isa *v;
    infer__att a;
    const float *q, *k, *vv;
    const void *mask;
    float *y, *kt; /* kt: [B][Hkv][D][ldk], zero past T */
    int64_t n_qb, ldk;
} infer__att_job;

static void infer__att_kt_task(void *arg, int64_t t) {
    const infer__att_job *j = (const infer__att_job *)arg;
    const infer__att *a = &j->a;
    const float *kb = j->k + (t / a->Hkv) * a->ks[0] + (t % a->Hkv) * a->ks[1];
    float *kt = j->kt + t * a->D * j->ldk;
    int64_t d, jj;
    for (d = 0; d < a->D; d++) {
        for (jj = 0; jj < a->T; jj++) kt[d * j->ldk + jj] = kb[jj * a->ks[2] + d];
        for (; jj < j->ldk; jj++) kt[d * j->ldk + jj] = 0;
    }
}

static void infer__att_task(void *arg, int64_t t) {
    const infer__att_job *j = (const infer__att_job *)arg;
    const infer__att *a = &j->a;
    const infer__vec_isa *v = j->v;
    int64_t bh = t / j->n_qb, b = bh / a->Hq, h = bh % a->Hq, kh = h / (a->Hq / a->Hkv), i0 = (t % j->n_qb) * INFER__ATT_QB;
    int64_t rows = INFER__MIN(INFER__ATT_QB, a->S - i0), end = a->causal ? INFER__MIN(a->T, i0 + rows) : a->T;
    int64_t r, j0, jj, d, n4;
    const float *kt = j->kt + (b * a->Hkv + kh) * a->D * j->ldk, *vb = j->vv + b * a->vs[0] + kh * a->vs[1];
    float acc[INFER__ATT_QB][INFER__ATT_MAX_D], s[4][INFER__ATT_KB], m[INFER__ATT_QB], l[INFER__ATT_QB];
    for (r = 0; r < rows; r++) {
        m[r] = -INFINITY, l[r] = 0;
        memset(acc[r], 0, (size_t)a->Dv * sizeof(float));
    }
    for (j0 = 0; j0 < end; j0 += INFER__ATT_KB) {
        int64_t nb = INFER__MIN(INFER__ATT_KB, end - j0);
        for (r = 0; r < rows; r += n4) { /* four rows at a time, then one by one */
            int64_t k;
            n4 = rows - r >= 4 ? 4 : 1;
            const float *qr = j->q + b * a->qs[0] + h * a->qs[1] + (i0 + r) * a->qs[2];
            if (n4 == 4) v->qk4(s[0], qr, a->qs[2], kt + j0, a->D, nb, INFER__ATT_KB, j->ldk);
            else v->qk(s[0], qr, kt + j0, a->D, nb, INFER__ATT_KB, j->ldk);
            for (k = 0; k < n4; k++) {
                int64_t i = i0 + r + k, lim = a->causal ? INFER__MIN(nb, i + 1 - j0) : nb;
                float *sr = s[k], bm;
                if (a->softcap <= 0 && (!j->mask || (a->ms[3] == 1 && j0 + nb <= a->Tm))) {
                    int64_t at = b * a->ms[0] + h * a->ms[1] + i * a->ms[2] + j0; /* a contiguous mask row */
                    v->scale(sr, a->scale, nb);
                    if (j->mask && !a->mask_bool) v->binary(INFER__OP_ADD, sr, sr, 1, (const float *)j->mask + at, 1, nb);
                    else if (j->mask)
                        for (jj = 0; jj < nb; jj++) sr[jj] = ((const uint8_t *)j->mask)[at + jj] ? sr[jj] : -INFINITY;
                } else
                    for (jj = 0; jj < lim; jj++) {
                        float sv = sr[jj] * a->scale;
                        if (a->softcap > 0) sv = a->softcap * tanhf(sv / a->softcap);
                        sr[jj] = sv + infer__att_bias(a, j->mask, b, h, i, j0 + jj);
                    }
                for (jj = lim < 0 ? 0 : lim; jj < nb; jj++) sr[jj] = -INFINITY; /* causal: keys after i */
                bm = v->max(sr, nb);
                if (bm == -INFINITY) { /* all masked so far: nothing to add */
                    memset(sr, 0, (size_t)nb * sizeof(float));
                    continue;
                }
                if (bm > m[r + k]) {
                    float corr = expf(m[r + k] - bm); /* 0 the first time */
                    l[r + k] *= corr;
                    v->scale(acc[r + k], corr, a->Dv);
                    m[r + k] = bm;
                }
                l[r + k] += v->exp_shift(sr, sr, m[r + k], nb);
            }
            if (n4 == 4) v->pv4(acc[r], INFER__ATT_MAX_D, s[0], INFER__ATT_KB, vb + j0 * a->vs[2], a->vs[2], nb, a->Dv);
            else v->pv(acc[r], s[0], vb + j0 * a->vs[2], a->vs[2], nb, a->Dv);
        }
    }
    for (r = 0; r < rows; r++) {
        float *yr = j->y + b * a->ys[0] + h * a->ys[1] + (i0 + r) * a->ys[2];
        if (l[r] > 0) v->scale(acc[r], 1.0f / l[r], a->Dv);
        else
            for (d = 0; d < a->Dv; d++) acc[r][d] = NAN; /* every key masked: ONNX's softmax gives NaN */
        memcpy(yr, acc[r], (size_t)a->Dv * sizeof(float));
    }
}

static infer_status infer__attention_f32(const infer__ctx *c, const infer__vec_isa *v) {
    infer__att_job j;
    infer_status st = infer__att_init(c, &j.a);
    if (st) return st;
    if (j.a.D > INFER__ATT_MAX_D || j.a.Dv > INFER__ATT_MAX_D) return infer__attention_ref(c);
    j.v = v;
    j.q = (const float *)c->in[0]->data, j.k = (const float *)c->in[1]->data, j.vv = (const float *)c->in[2]->data;
    j.mask = c->n_in > 3 && c->in[3] ? c->in[3]->data : NULL;
    j.y = (float *)c->out[0]->data;
    j.n_qb = (j.a.S + INFER__ATT_QB - 1) / INFER__ATT_QB;
    j.ldk = (j.a.T + 15) / 16 * 16, j.kt = (float *)c->scratch;
    if (j.a.B * j.a.Hkv * j.a.D > 0)
        infer__parallel(c, infer__threads_for(c, (double)j.a.B * j.a.Hkv * j.a.D * j.a.T), j.a.B * j.a.Hkv,
                        infer__att_kt_task, &j);
    if (j.a.B * j.a.Hq * j.n_qb > 0)
        infer__parallel(c, infer__threads_for(c, (double)j.a.B * j.a.Hq * j.a.S * j.a.T * (j.a.D + j.a.Dv)),
                        j.a.B * j.a.Hq * j.n_qb, infer__att_task, &j);
    return INFER_STATUS_OK;
}

#define INFER__VEC_VARIANTS(S)                                                                                        \
    static infer_status infer__unary_f32_##S(const infer__ctx *c) { return infer__unary_f32(c, &infer__vec_##S); }    \
    static infer_status infer__binary_f32_##S(const infer__ctx *c) { return infer__binary_f32(c, &infer__vec_##S); }  \
    static infer_status infer__softmax_f32_##S(const infer__ctx *c) { return infer__softmax_f32(c, &infer__vec_##S); } \
    static infer_status infer__layer_norm_f32_##S(const infer__ctx *c) { return infer__layer_norm_f32(c, &infer__vec_##S); } \
    static infer_status infer__attention_f32_##S(const infer__ctx *c) { return infer__attention_f32(c, &infer__vec_##S); }
#if defined(INFER__HAVE_AVX2)
INFER__VEC_VARIANTS(avx2)
INFER__VEC_VARIANTS(avx512)
#endif
#if defined(INFER__HAVE_NEON)
INFER__VEC_VARIANTS(neon)
#endif
#endif /* INFER__HAVE_AVX2 || INFER__HAVE_NEON */

/* y = act(y) over n floats, vectorised; v NULL: the reference */
static void infer__act_apply_vec(const infer__vec_isa *v, const infer__act *a, float *y, int64_t n) {
    if (!v || a->kind == INFER__ACT_NONE) infer__act_apply(a, y, n);
    else v->map(a->kind, y, y, n, a->alpha, a->beta);
}

/* -- MatMul and Gemm -- */

/* One f32 GEMM's operands, for the parallel loops: c[m][n] = a[m][k] * b[k][n] with
   element strides for a and b (transposes), plus what the packed GEMM's threads share. */
/* Packs the B block B[p0 + 0..kc)[j0 + 0..cols) as panels bp[cols / nr][kc][nr] (zero
   columns past cols) from a source that is not a strided matrix: Conv's implicit im2col. */
typedef void (*infer__pack_b_fn)(float *bp, const void *arg, int64_t j0, int64_t cols, int64_t p0, int64_t kc, int nr);
/* The epilogue of a finished tile C[i0 + 0..rows)[j0 + 0..cols) at c (row stride ldc),
   while it is still in cache: bias, activation. */
typedef void (*infer__epi_fn)(const void *arg, float *c, int64_t ldc, int64_t i0, int64_t j0, int64_t rows, int64_t cols);

/* The epilogue a full tile's kernel applies in registers before its stores (the last K
   block): row_bias[i] to row i, col_bias[j] to column j (either NULL), then an activation
   of kind NONE, RELU or CLIP (alpha, beta): the separate tile epilogue's arithmetic in the
   same order, without its second pass over the tile. Other kinds (Swish's exp) stay in
   that pass: inside the kernel's stores they cost more than the pass saves. */
typedef struct infer__kepi {
    const float *row_bias, *col_bias;
    float alpha, beta;
} infer__kepi;

#define INFER__GEMM_BANDS 4   /* bands of C a thread, where bands repack little (infer__gemm_bands) */
#define INFER__GEMM_SLOTS 64  /* most threads that take bands dynamically */
typedef struct infer__gemm_job {
    const struct infer__gemm_isa *isa;
    int64_t m, n, k, a_rs, a_cs, b_rs, b_cs;
    const float *a, *b;
    float *c;
    void *scratch;               /* packed GEMM: nt per-thread packing buffers of `per` bytes */
    size_t per;
    int64_t unit, n_units, n_ch; /* packed GEMM: a band is whole units (tiles) of rows or columns;
                                    few rows: n_ch tasks of unit columns */
    int nt, split_m;
    int n_bands;                 /* packed GEMM: bands of C, taken dynamically; more than nt only
                                    where bands repack little (infer__gemm_bands) */
    int busy[INFER__GEMM_SLOTS]; /* atomic: scratch buffer i is in use by a band (n_bands > nt) */
    const float *a_packed;       /* packed GEMM, optional: A pre-packed by infer__pack_a_all (a unused) */
    const float *b_packed;       /* packed GEMM, optional: B pre-packed by infer__pack_b_all (b unused) */
    infer__pack_b_fn pack_b;     /* packed GEMM, optional: packs B's blocks instead of b's strides */
    const void *pack_arg;
    int share_b;                 /* packed GEMM: with bands of rows, pack B once for all threads
                                    (infer__gemm_shared_b_bytes more scratch; Conv sets it) */
    float *shared_b;
    int share_a;                 /* packed GEMM: with bands of columns, pack A once for all bands
                                    (infer__gemm_shared_a_bytes more scratch; MatMul sets it) */
    float *shared_a;
    int c_acc;                   /* C holds an addend (a fused residual): the first block of K adds to it too */
    infer__epi_fn epi;           /* optional: run on each tile of C once its sum is complete */
    const void *epi_arg;
    int kepi_on, kepi_kind;      /* with epi: full tiles' kernels apply kepi and activation
                                    kepi_kind instead (infer__gemm_kepi) */
    infer__kepi kepi;
} infer__gemm_job;

/* Lets g's full tiles apply row_bias, col_bias and act (NULL: none) in the kernel's
   registers (isa->ukr_epi) when act is none, Relu or Clip; g->epi stays set for the edge
   tiles (and any other act) and does the same arithmetic. */
#if defined(INFER__HAVE_GEMM_SIMD)
static void infer__gemm_kepi(infer__gemm_job *g, const float *row_bias, const float *col_bias, const infer__act *act) {
    int kind = act ? act->kind : INFER__ACT_NONE;
    g->kepi_on = kind == INFER__ACT_NONE || kind == INFER__ACT_RELU || kind == INFER__ACT_CLIP;
    g->kepi_kind = kind, g->kepi.row_bias = row_bias, g->kepi.col_bias = col_bias;
    g->kepi.alpha = act ? act->alpha : 0, g->kepi.beta = act ? act->beta : 0;
}
#endif

/* row i of c = row i of a * b */
static void infer__gemm_f32_ref_row(void *arg, int64_t i) {
    const infer__gemm_job *g = (const infer__gemm_job *)arg;
    float *cr = g->c + i * g->n;
    int64_t j, p;
    for (j = 0; j < g->n; j++) cr[j] = 0;
    for (p = 0; p < g->k; p++) {
        float av = g->a[i * g->a_rs + p * g->a_cs];
        const float *br = g->b + p * g->b_rs;
        if (g->b_cs == 1)
            for (j = 0; j < g->n; j++) cr[j] += av * br[j];
        else
            for (j = 0; j < g->n; j++) cr[j] += av * br[j * g->b_cs];
    }
}

/* c[m][n] = a[m][k] * b[k][n], with element strides for a and b (transposes). */
static void infer__gemm_f32_ref(const infer__ctx *cx, int64_t m, int64_t n, int64_t k, const float *a, int64_t a_rs,
                                int64_t a_cs, const float *b, int64_t b_rs, int64_t b_cs, float *c, int nt) {
    infer__gemm_job g;
    memset(&g, 0, sizeof g);
    g.m = m, g.n = n, g.k = k, g.a = a, g.a_rs = a_rs, g.a_cs = a_cs, g.b = b, g.b_rs = b_rs, g.b_cs = b_cs, g.c = c;
    infer__parallel(cx, nt, m, infer__gemm_f32_ref_row, &g);
}

/* -- the packed, cache-blocked f32 GEMM (AVX2+FMA, AVX-512, NEON) --

   C[m][n] = A[m][k] * B[k][n] in the BLIS loop order: for each NC-wide column block of B
   and KC-deep slice of k, B's block is packed into NR-wide panels ([kc][NR] each), then
   for each MC-tall row block of A, A is packed into MR-tall panels ([kc][MR] each) and a
   register-tiled micro-kernel computes every MR x NR tile. Packing zero-pads the edges;
   an edge tile runs smaller instances of the kernel (infer__gemm_edge), so a conv's 49
   or 196 output positions or 64 output channels cost little more than their own work.
   Where few panels of B would share each packed row of A (n <= NC) and A's rows are
   contiguous, the kernel reads A's rows in place instead (infer__gemm_ua), as packing
   them would cost up to a fifth of the time (M=3136, N=64, K=576).
   Threads own bands of C (infer__gemm_f32_packed); each C element is summed by one
   thread in a fixed k order, so results do not depend on the thread count. Fewer than
   INFER__GEMM_ROWS rows (batch-1 inference) skip packing: a row kernel streams B once.
   Scratch (planned by the shape functions, so runs allocate nothing): one packed A block
   and one packed B block per thread. */

#define INFER__GEMM_KC 256
#define INFER__GEMM_MC 240  /* a multiple of every MR */
#define INFER__GEMM_NC 1024 /* a multiple of every NR */
#define INFER__GEMM_MR_MAX 12
#define INFER__GEMM_NR_MAX 32
#define INFER__GEMM_ROWS 4 /* fewer rows of C than this: the row kernel, no packing */
#define INFER__GEMM_ROW_CW 512 /* the row kernel: most columns of C a task */
#define INFER__GEMM_UA_JB 256 /* A's rows read in place: columns of B a pass (infer__gemm_ua) */

#if defined(INFER__HAVE_AVX2)
#include <immintrin.h>
#endif
#if defined(INFER__HAVE_NEON)
#include <arm_neon.h> /* MSVC's ARM64 toolset has it too (it forwards to arm64_neon.h) */
#endif

/* c[MR][NR] (row stride ldc) = (acc ? c : 0) + a-panel [kc][MR] x b-panel [kc][NR] */
typedef void (*infer__ukr_fn)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int acc);

/* t[i * ldt + 0..n) += sum_p a[i * a_rs + p * a_cs] * b[p * b_rs + 0..n) for i < m (1 to
   3), the products added one p after another with fused multiply-adds (from t = 0 this
   is the sum the packed kernels make of a block of K): a few rows of C straight from B,
   k <= KC. B's rows are read four at a time, each vector once for the m rows, so B
   streams through in the order of memory, as a batch-1 product of activations needs. */
typedef void (*infer__row_fn)(int m, int64_t n, int64_t k, const float *a, int64_t a_rs, int64_t a_cs, const float *b,
                              int64_t b_rs, float *t, int64_t ldt);
/* An infer__row_fn's step: P (4 or 1) rows of B into M (1 to 3) rows of t, W columns a
   vector (VT, and SET1, LD, ST and FMA(x, v, r) = x v + r), the last ones one at a time
   with fmaf: every element of t loaded once, its P products added in order, stored. The
   values of A are named variables x<row><step>, so that with M and P constant they stay in
   registers. */
#define INFER__ROW_FMAS(FMA, q, v)                                                                                     \
    r0 = FMA(x0##q, v, r0);                                                                                            \
    if (M > 1) r1 = FMA(x1##q, v, r1);                                                                                 \
    if (M > 2) r2 = FMA(x2##q, v, r2);
#define INFER__ROW_STEP(VT, W, SET1, LD, ST, FMA)                                                                      \
    do {                                                                                                               \
        const VT x00 = SET1(a[0]), x01 = P > 1 ? SET1(a[a_cs]) : x00, x02 = P > 1 ? SET1(a[2 * a_cs]) : x00,           \
                 x03 = P > 1 ? SET1(a[3 * a_cs]) : x00;                                                                \
        const VT x10 = M > 1 ? SET1(a[a_rs]) : x00, x11 = M > 1 && P > 1 ? SET1(a[a_rs + a_cs]) : x00,                 \
                 x12 = M > 1 && P > 1 ? SET1(a[a_rs + 2 * a_cs]) : x00,                                                \
                 x13 = M > 1 && P > 1 ? SET1(a[a_rs + 3 * a_cs]) : x00;                                                \
        const VT x20 = M > 2 ? SET1(a[2 * a_rs]) : x00, x21 = M > 2 && P > 1 ? SET1(a[2 * a_rs + a_cs]) : x00,         \
                 x22 = M > 2 && P > 1 ? SET1(a[2 * a_rs + 2 * a_cs]) : x00,                                            \
                 x23 = M > 2 && P > 1 ? SET1(a[2 * a_rs + 3 * a_cs]) : x00;                                            \
        int i_, q_;                                                                                                    \
        for (j = 0; j + (W) <= n; j += (W)) {                                                                          \
            VT r0 = LD(t + j), r1 = M > 1 ? LD(t + ldt + j) : r0, r2 = M > 2 ? LD(t + 2 * ldt + j) : r0;              \
            INFER__ROW_FMAS(FMA, 0, LD(b + j))                                                                         \
            if (P > 1) {                                                                                               \
                INFER__ROW_FMAS(FMA, 1, LD(b + b_rs + j))                                                              \
                INFER__ROW_FMAS(FMA, 2, LD(b + 2 * b_rs + j))                                                          \
                INFER__ROW_FMAS(FMA, 3, LD(b + 3 * b_rs + j))                                                          \
            }                                                                                                          \
            ST(t + j, r0);                                                                                             \
            if (M > 1) ST(t + ldt + j, r1);                                                                            \
            if (M > 2) ST(t + 2 * ldt + j, r2);                                                                        \
        }                                                                                                              \
        for (; j < n; j++)                                                                                             \
            for (i_ = 0; i_ < M; i_++)                                                                                 \
                for (q_ = 0; q_ < P; q_++)                                                                             \
                    t[i_ * ldt + j] = fmaf(a[i_ * a_rs + q_ * a_cs], b[q_ * b_rs + j], t[i_ * ldt + j]);               \
    } while (0)
/* An infer__row_fn NAME (attributes FN) on the ISA's vectors: NAME##_step (attributes
   STEP, inlined) for M = m constant, over B's rows 4 at a time, then 1 */
#define INFER__ROW_BODY(STEP, M)                                                                                       \
    do {                                                                                                               \
        for (p = 0; p + 4 <= k; p += 4) STEP(M, 4, n, a + p * a_cs, a_rs, a_cs, b + p * b_rs, b_rs, t, ldt);          \
        for (; p < k; p++) STEP(M, 1, n, a + p * a_cs, a_rs, a_cs, b + p * b_rs, b_rs, t, ldt);                        \
    } while (0)
#define INFER__ROW_KERNEL(NAME, FN, STEP, VT, W, SET1, LD, ST, FMA)                                                    \
    STEP void NAME##_step(const int M, const int P, int64_t n, const float *a, int64_t a_rs, int64_t a_cs,             \
                          const float *b, int64_t b_rs, float *t, int64_t ldt) {                                       \
        int64_t j;                                                                                                     \
        INFER__ROW_STEP(VT, W, SET1, LD, ST, FMA);                                                                     \
    }                                                                                                                  \
    FN void NAME(int m, int64_t n, int64_t k, const float *a, int64_t a_rs, int64_t a_cs, const float *b,              \
                 int64_t b_rs, float *t, int64_t ldt) {                                                                \
        int64_t p;                                                                                                     \
        if (m == 1) INFER__ROW_BODY(NAME##_step, 1);                                                                   \
        else if (m == 2) INFER__ROW_BODY(NAME##_step, 2);                                                              \
        else INFER__ROW_BODY(NAME##_step, 3);                                                                          \
    }

/* the edge instances of an isa's kernel (infer__gemm_edge): rows (r + 1) * rstep, 8 << w
   columns, panels as for the full tile */
typedef void (*infer__part_fn)(int r, int w, int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int acc);

/* Bias and activation on a finished tile of C (rows x cols, row stride ldc) while it is in
   cache: row_bias[i] added to row i (a conv's output channels) or col_bias[j] to column j
   (a MatMul's), either NULL, then act (NULL: none). The arithmetic of the separate passes
   (infer__act_apply_vec), in registers. */
typedef void (*infer__tile_epi_fn)(float *c, int64_t ldc, int64_t rows, int64_t cols, const float *row_bias,
                                   const float *col_bias, const infer__act *act);

/* c[MR][8 << w] (row stride ldc) = (acc ? c : 0) + A's MR rows (row stride lda, kc values
   each) x b-panel [kc][NR] (w 0, 1 or 2; NR = 32) */
typedef void (*infer__ukr_ua_fn)(int w, int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc, int acc);

/* c[(r + 1) * rstep][NR] = (acc ? c : 0) + a-panel [kc][MR] x B's kc rows (row stride ldb,
   NR values each), then e's epilogue of kind (as infer__ukr_epi_fn; e NULL: none) */
typedef void (*infer__ukr_ub_fn)(int r, int64_t kc, const float *a, const float *b, int64_t ldb, float *c, int64_t ldc,
                                 int acc, const infer__kepi *e, int kind);
/* C's first rows (at most mr) x w (1 to nr / 4) columns of a tile from a packed A panel
   and w columns of a packed B panel (infer__gemm_edge) */
typedef void (*infer__ukr_col_fn)(int w, int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int acc,
                                  int64_t rows);

/* c[MR][16 + w] (row stride ldc) = (acc ? c : 0) + a-panel [kc][MR] x the first 16 + w
   columns of b-panel [kc][NR] (w 1 to NR / 4) */
typedef void (*infer__ukr_16col_fn)(int w, int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int acc);
typedef void (*infer__ukr_epi_fn)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int acc,
                                  const infer__kepi *e, int kind);

typedef struct infer__gemm_isa {
    int mr, nr;
    infer__ukr_fn ukr;
    infer__row_fn row;   /* for m < INFER__GEMM_ROWS with b's columns contiguous: no packing */
    infer__part_fn part; /* NULL: edge tiles run the full kernel into a buffer */
    int rstep;           /* part's row step (a divisor of mr) */
    infer__tile_epi_fn epi;
    infer__ukr_epi_fn ukr_epi; /* the full tile with its epilogue (infer__kepi), or NULL */
    infer__ukr_ua_fn ukr_ua;   /* the full tile reading A's rows in place, or NULL (infer__gemm_f32_part) */
    infer__ukr_ub_fn ukr_ub;   /* full-width tiles of part's rows reading B's rows in place, or NULL */
    infer__ukr_col_fn col;     /* an edge of up to nr / 4 columns, a column of mr rows a vector, or NULL */
    infer__ukr_16col_fn col16; /* a full-row edge of 16 + (1 to nr / 4) columns in one pass, or NULL */
} infer__gemm_isa;

/* Bytes of scratch the SIMD GEMM needs for these sizes on nt threads (0 without SIMD
   kernels): per thread one packed A block (unless A comes pre-packed) and one packed B
   block. */
static size_t infer__gemm_f32_scratch_ab(int64_t m, int64_t n, int64_t k, int nt, int a_packed) {
#if defined(INFER__HAVE_GEMM_SIMD)
    int64_t mc = INFER__MIN(m, INFER__GEMM_MC), nc = INFER__MIN(n, INFER__GEMM_NC), kc = INFER__MIN(k, INFER__GEMM_KC);
    mc = a_packed ? 0 : (mc + INFER__GEMM_MR_MAX - 1) / INFER__GEMM_MR_MAX * INFER__GEMM_MR_MAX;
    nc = (nc + INFER__GEMM_NR_MAX - 1) / INFER__GEMM_NR_MAX * INFER__GEMM_NR_MAX;
    if (m <= 0 || n <= 0 || k <= 0) return 0;
    return (size_t)((mc + nc) * kc) * sizeof(float) * (size_t)(nt < 1 ? 1 : nt) + INFER__ALIGN; /* 1.3 MB a thread */
#else
    (void)m, (void)n, (void)k, (void)nt, (void)a_packed;
    return 0;
#endif
}
static size_t infer__gemm_f32_scratch(int64_t m, int64_t n, int64_t k, int nt) {
    return infer__gemm_f32_scratch_ab(m, n, k, nt, 0);
}

/* Scratch bytes of B packed once for nt threads that own bands of rows (m > n), else 0:
   the packed GEMM then does not pack the same B on every thread (a conv's im2col). Up to
   8 MiB; beyond, each thread packs its own as without. */
static size_t infer__gemm_shared_b_bytes(int64_t m, int64_t n, int64_t k, int nt) {
#if defined(INFER__HAVE_GEMM_SIMD)
    double floats = (double)k * (double)((n + INFER__GEMM_NR_MAX - 1) / INFER__GEMM_NR_MAX * INFER__GEMM_NR_MAX);
    if (nt < 2 || m <= n || k <= 0 || floats > (double)(1 << 21)) return 0;
    return (size_t)floats * sizeof(float) + INFER__ALIGN;
#else
    (void)m, (void)n, (void)k, (void)nt;
    return 0;
#endif
}

/* Scratch bytes of A packed once for bands of columns (m <= n), else 0: where each of nt
   > 1 bands would pack all of A, or one band would pack it again for every NC columns (a
   language model's head, 128 x 50257: 49 times a run). Up to 8 MiB; beyond, as without. */
static size_t infer__gemm_shared_a_bytes(int64_t m, int64_t n, int64_t k, int nt) {
#if defined(INFER__HAVE_GEMM_SIMD)
    double floats = (double)k * (double)((m + INFER__GEMM_MR_MAX - 1) / INFER__GEMM_MR_MAX * INFER__GEMM_MR_MAX);
    if (m > n || m < INFER__GEMM_ROWS || k <= 0 || (nt < 2 && n <= INFER__GEMM_NC) || floats > (double)(1 << 21)) return 0;
    return (size_t)floats * sizeof(float) + INFER__ALIGN;
#else
    (void)m, (void)n, (void)k, (void)nt;
    return 0;
#endif
}

#if defined(INFER__HAVE_AVX2)

/* The kernels are written once with their shape as constant arguments R (rows) and W
   (columns) of the full MR x NR tile, and instantiated: the full tile, and smaller ones
   for the edges of C (infer__edge_*), so an edge costs the work of its real rows and
   columns (rounded up to a step) instead of a full tile. A's panel keeps MR floats a k
   step and B's NR whatever the instance; lines past R rows or W columns are guarded by
   constant conditions that the compiler drops. */

/* AVX2: R (2, 4 or 6) rows x W (8 or 16) columns of the 6 x 16 tile: up to 12 ymm
   accumulators, 2 for the B row, 1 broadcast */
#define INFER__FMA8(r, i)                                                                                          \
    if (R > (i)) {                                                                                                 \
        __m256 x = _mm256_broadcast_ss(a + (i));                                                                   \
        r##a = _mm256_fmadd_ps(x, b0, r##a);                                                                       \
        if (W > 8) r##b = _mm256_fmadd_ps(x, b1, r##b);                                                            \
    }
#define INFER__ST8(r, i)                                                                                           \
    if (R > (i)) {                                                                                                 \
        float *cr = c + (i) * ldc;                                                                                 \
        if (acc) r##a = _mm256_add_ps(r##a, _mm256_loadu_ps(cr));                                                  \
        if (K > -2) r##a = infer__kepi8(K, e, r##a, i, 0);                                                         \
        _mm256_storeu_ps(cr, r##a);                                                                                \
        if (W > 8) {                                                                                               \
            if (acc) r##b = _mm256_add_ps(r##b, _mm256_loadu_ps(cr + 8));                                          \
            if (K > -2) r##b = infer__kepi8(K, e, r##b, i, 8);                                                     \
            _mm256_storeu_ps(cr + 8, r##b);                                                                        \
        }                                                                                                          \
    }
/* infer__kepi on 8 columns (from column off) of row i */
__attribute__((target("avx2,fma"), always_inline)) static inline __m256 infer__kepi8(const int K, const infer__kepi *e,
                                                                                    __m256 v, int i, int off) {
    if (e->row_bias) v = _mm256_add_ps(v, _mm256_set1_ps(e->row_bias[i]));
    if (e->col_bias) v = _mm256_add_ps(v, _mm256_loadu_ps(e->col_bias + off));
    if (K == INFER__ACT_RELU) v = _mm256_max_ps(_mm256_setzero_ps(), v); /* as infer__tile_epi_avx2 */
    else if (K == INFER__ACT_CLIP) v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(e->alpha)), _mm256_set1_ps(e->beta));
    return v;
}
/* K: -2 no epilogue, else e's activation: NONE, RELU or CLIP */
__attribute__((target("avx2,fma"), always_inline)) static inline void
infer__ukr_rw_avx2(const int R, const int W, int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int acc,
                   const int K, const infer__kepi *e) {
    __m256 r0a = _mm256_setzero_ps(), r0b = r0a, r1a = r0a, r1b = r0a, r2a = r0a, r2b = r0a;
    __m256 r3a = r0a, r3b = r0a, r4a = r0a, r4b = r0a, r5a = r0a, r5b = r0a;
    int64_t p;
    int i;
    for (i = 0; i < R; i++) _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0); /* as the AVX-512 kernel */
    for (p = 0; p < kc; p++, a += 6, b += 16) {
        _mm_prefetch((const char *)(a + 6 * 128), _MM_HINT_T0); /* A 128 steps ahead, as the AVX-512 kernel (-9%) */
        _mm_prefetch((const char *)(b + 16 * 32), _MM_HINT_T0); /* B 32 steps ahead (BERT-base: -3%) */
        __m256 b0 = _mm256_loadu_ps(b), b1 = W > 8 ? _mm256_loadu_ps(b + 8) : b0;
        INFER__FMA8(r0, 0)
        INFER__FMA8(r1, 1)
        INFER__FMA8(r2, 2)
        INFER__FMA8(r3, 3)
        INFER__FMA8(r4, 4)
        INFER__FMA8(r5, 5)
    }
    INFER__ST8(r0, 0)
    INFER__ST8(r1, 1)
    INFER__ST8(r2, 2)
    INFER__ST8(r3, 3)
    INFER__ST8(r4, 4)
    INFER__ST8(r5, 5)
}
__attribute__((target("avx2,fma"))) static void infer__ukr_f32_avx2(int64_t kc, const float *a, const float *b,
                                                                     float *c, int64_t ldc, int acc) {
    infer__ukr_rw_avx2(6, 16, kc, a, b, c, ldc, acc, -2, NULL);
}
__attribute__((target("avx2,fma"))) static void infer__ukr_epi_avx2(int64_t kc, const float *a, const float *b, float *c,
                                                                     int64_t ldc, int acc, const infer__kepi *e, int kind) {
    if (kind == INFER__ACT_RELU) infer__ukr_rw_avx2(6, 16, kc, a, b, c, ldc, acc, INFER__ACT_RELU, e);
    else if (kind == INFER__ACT_CLIP) infer__ukr_rw_avx2(6, 16, kc, a, b, c, ldc, acc, INFER__ACT_CLIP, e);
    else infer__ukr_rw_avx2(6, 16, kc, a, b, c, ldc, acc, INFER__ACT_NONE, e);
}
/* instance (r, w) of the edge set: r rows 2/4/6 as 0/1/2, w 8/16 columns as 0/1 */
__attribute__((target("avx2,fma"))) static void infer__ukr_part_avx2(int r, int w, int64_t kc, const float *a,
                                                                      const float *b, float *c, int64_t ldc, int acc) {
    switch (r * 2 + w) {
    case 0: infer__ukr_rw_avx2(2, 8, kc, a, b, c, ldc, acc, -2, NULL); break;
    case 1: infer__ukr_rw_avx2(2, 16, kc, a, b, c, ldc, acc, -2, NULL); break;
    case 2: infer__ukr_rw_avx2(4, 8, kc, a, b, c, ldc, acc, -2, NULL); break;
    case 3: infer__ukr_rw_avx2(4, 16, kc, a, b, c, ldc, acc, -2, NULL); break;
    case 4: infer__ukr_rw_avx2(6, 8, kc, a, b, c, ldc, acc, -2, NULL); break;
    default: infer__ukr_rw_avx2(6, 16, kc, a, b, c, ldc, acc, -2, NULL); break;
    }
}
/* W columns (1..4) of a 6-row tile, one column of C a vector: as infer__ukr_col_avx512 */
__attribute__((target("avx2,fma"), always_inline)) static inline void
infer__ukr_col_w_avx2(const int W, int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int acc,
                      int64_t rows) {
    const __m256i six = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    float t[4][8];
    int64_t p, i;
    int j;
    for (p = 0; p < kc; p++, a += 6, b += 16) {
        __m256 av = _mm256_maskload_ps(a, six);
        s0 = _mm256_fmadd_ps(av, _mm256_set1_ps(b[0]), s0);
        if (W > 1) s1 = _mm256_fmadd_ps(av, _mm256_set1_ps(b[1]), s1);
        if (W > 2) s2 = _mm256_fmadd_ps(av, _mm256_set1_ps(b[2]), s2);
        if (W > 3) s3 = _mm256_fmadd_ps(av, _mm256_set1_ps(b[3]), s3);
    }
    _mm256_storeu_ps(t[0], s0), _mm256_storeu_ps(t[1], s1), _mm256_storeu_ps(t[2], s2), _mm256_storeu_ps(t[3], s3);
    for (i = 0; i < rows; i++)
        for (j = 0; j < W; j++) c[i * ldc + j] = acc ? t[j][i] + c[i * ldc + j] : t[j][i];
}
__attribute__((target("avx2,fma"))) static void infer__ukr_col_avx2(int w, int64_t kc, const float *a, const float *b,
                                                                    float *c, int64_t ldc, int acc, int64_t rows) {
    switch (w) {
    case 1: infer__ukr_col_w_avx2(1, kc, a, b, c, ldc, acc, rows); break;
    case 2: infer__ukr_col_w_avx2(2, kc, a, b, c, ldc, acc, rows); break;
    case 3: infer__ukr_col_w_avx2(3, kc, a, b, c, ldc, acc, rows); break;
    default: infer__ukr_col_w_avx2(4, kc, a, b, c, ldc, acc, rows); break;
    }
}

/* AVX-512: R (4, 8 or 12) rows x W (16 or 32) columns of the 12 x 32 tile: up to 24 zmm
   accumulators, 2 for the B row, 1 broadcast */
#define INFER__FMA16(r, i)                                                                                         \
    if (R > (i)) {                                                                                                 \
        __m512 x = _mm512_set1_ps(a[(i) * as]);                                                                    \
        r##a = _mm512_fmadd_ps(x, b0, r##a);                                                                       \
        if (W > 16) r##b = _mm512_fmadd_ps(x, b1, r##b);                                                           \
    }
#define INFER__ST16(r, i)                                                                                          \
    if (R > (i)) {                                                                                                 \
        float *cr = c + (i) * ldc;                                                                                 \
        if (acc) r##a = _mm512_add_ps(r##a, _mm512_loadu_ps(cr));                                                  \
        if (K > -2) r##a = infer__kepi16(K, e, r##a, i, 0);                                                        \
        _mm512_storeu_ps(cr, r##a);                                                                                \
        if (W > 16) {                                                                                              \
            if (acc) r##b = _mm512_add_ps(r##b, _mm512_loadu_ps(cr + 16));                                         \
            if (K > -2) r##b = infer__kepi16(K, e, r##b, i, 16);                                                   \
            _mm512_storeu_ps(cr + 16, r##b);                                                                       \
        }                                                                                                          \
    }
/* infer__kepi on 16 columns (from column off) of row i */
__attribute__((target("avx512f"), always_inline)) static inline __m512 infer__kepi16(const int K, const infer__kepi *e,
                                                                                    __m512 v, int i, int off) {
    if (e->row_bias) v = _mm512_add_ps(v, _mm512_set1_ps(e->row_bias[i]));
    if (e->col_bias) v = _mm512_add_ps(v, _mm512_loadu_ps(e->col_bias + off));
    if (K == INFER__ACT_RELU) v = _mm512_max_ps(_mm512_setzero_ps(), v); /* as infer__tile_epi_avx512 */
    else if (K == INFER__ACT_CLIP) v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(e->alpha)), _mm512_set1_ps(e->beta));
    return v;
}
/* K: -2 no epilogue, else e's activation: NONE, RELU or CLIP. A's value (i, p) is at
   a[i * as + p * ps]: a packed panel (as 1, ps 12) or rows of A read in place (as its row
   stride, ps 1: infer__ukr_ua_avx512); B's row p at b + p * bs: a packed panel (bs 32) or
   B's rows in place (bs its row stride: infer__ukr_ub_avx512). C's rows are fetched into L1 during the first steps, a
   line a step: with a row stride of a multiple of 4 KiB they share a cache set and would miss one after another at
   the end, and 24 prefetches at once fill the line fill buffers and stall the core (Intel: 6% of a 2048^3 GEMM).
   A packed A is fetched 64 steps ahead: a conv's weights stream from memory once a run, each panel in one pass
   over a few columns (ResNet-50's 7x7 and 14x14 layers), and the hardware prefetchers stop at each 4 KiB page
   (ResNet-50, batch 1, Intel: 12% faster). B's rows read in place fetch the next panel's part of each row into
   L2 as they go: the first tile of a panel otherwise meets up to 256 rows, more streams than the prefetchers
   follow (64 x 3136 x 256: 0.77 -> 0.67 ms; ResNet-50 batch 1's layer1 1x1 convs 8% faster). */
__attribute__((target("avx512f"), always_inline)) static inline void
infer__ukr_rw_avx512(const int R, const int W, int64_t kc, const float *a, const int64_t as, const int64_t ps,
                     const float *b, const int64_t bs, float *c, int64_t ldc, int acc, const int K, const infer__kepi *e) {
    __m512 r0a = _mm512_setzero_ps(), r0b = r0a, r1a = r0a, r1b = r0a, r2a = r0a, r2b = r0a, r3a = r0a, r3b = r0a;
    __m512 r4a = r0a, r4b = r0a, r5a = r0a, r5b = r0a, r6a = r0a, r6b = r0a, r7a = r0a, r7b = r0a;
    __m512 r8a = r0a, r8b = r0a, r9a = r0a, r9b = r0a, rAa = r0a, rAb = r0a, rBa = r0a, rBb = r0a;
    int i;
    const int lines = W > 16 ? 2 : 1; /* of a row of C */
    int64_t p = 0, pre = INFER__MIN(kc, R * lines);
    /* B's rows in place (infer__ukr_ub_avx512): the next panel's columns of the row into L2 */
#define INFER__PFB512                                                                                              \
    if (ps > 1 && bs != 32) {                                                                                      \
        _mm_prefetch((const char *)(b + 32), _MM_HINT_T1);                                                         \
        _mm_prefetch((const char *)(b + 48), _MM_HINT_T1);                                                         \
    }
#define INFER__STEP512                                                                                             \
    {                                                                                                              \
        __m512 b0 = _mm512_loadu_ps(b), b1 = W > 16 ? _mm512_loadu_ps(b + 16) : b0;                               \
        INFER__FMA16(r0, 0)                                                                                        \
        INFER__FMA16(r1, 1)                                                                                        \
        INFER__FMA16(r2, 2)                                                                                        \
        INFER__FMA16(r3, 3)                                                                                        \
        INFER__FMA16(r4, 4)                                                                                        \
        INFER__FMA16(r5, 5)                                                                                        \
        INFER__FMA16(r6, 6)                                                                                        \
        INFER__FMA16(r7, 7)                                                                                        \
        INFER__FMA16(r8, 8)                                                                                        \
        INFER__FMA16(r9, 9)                                                                                        \
        INFER__FMA16(rA, 10)                                                                                       \
        INFER__FMA16(rB, 11)                                                                                       \
    }
    for (; p < pre; p++, a += ps, b += bs) {
        _mm_prefetch((const char *)(c + p / lines * ldc + p % lines * 16), _MM_HINT_T0);
        INFER__PFB512
        INFER__STEP512
    }
    for (i = (int)pre; i < R * lines; i++) _mm_prefetch((const char *)(c + i / lines * ldc + i % lines * 16), _MM_HINT_T0);
    for (; p < kc; p++, a += ps, b += bs) {
        if (ps > 1) _mm_prefetch((const char *)(a + 64 * ps), _MM_HINT_T0); /* a packed A: 64 steps ahead */
        if (bs == 32) { /* a packed B (a MatMul's weights stream in the first pass): 16 steps ahead */
            _mm_prefetch((const char *)(b + 16 * 32), _MM_HINT_T0);
            _mm_prefetch((const char *)(b + 16 * 32 + 16), _MM_HINT_T0);
        }
        INFER__PFB512
        INFER__STEP512
    }
#undef INFER__PFB512
#undef INFER__STEP512
    INFER__ST16(r0, 0)
    INFER__ST16(r1, 1)
    INFER__ST16(r2, 2)
    INFER__ST16(r3, 3)
    INFER__ST16(r4, 4)
    INFER__ST16(r5, 5)
    INFER__ST16(r6, 6)
    INFER__ST16(r7, 7)
    INFER__ST16(r8, 8)
    INFER__ST16(r9, 9)
    INFER__ST16(rA, 10)
    INFER__ST16(rB, 11)
}
/* R rows x 8 columns of the 12 x 32 tile in ymm registers (an 8-column edge costs half a
   16-column one on CPUs that split 512-bit operations in two) */
#define INFER__FMA8W(r, i)                                                                                         \
    if (R > (i)) r = _mm256_fmadd_ps(_mm256_broadcast_ss(a + (i) * as), b0, r);
#define INFER__ST8W(r, i)                                                                                          \
    if (R > (i)) _mm256_storeu_ps(c + (i) * ldc, acc ? _mm256_add_ps(r, _mm256_loadu_ps(c + (i) * ldc)) : r);
__attribute__((target("avx512f,avx2,fma"), always_inline)) static inline void
infer__ukr_r8_avx512(const int R, int64_t kc, const float *a, const int64_t as, const int64_t ps, const float *b,
                     float *c, int64_t ldc, int acc) { /* A as infer__ukr_rw_avx512's */
    __m256 r0 = _mm256_setzero_ps(), r1 = r0, r2 = r0, r3 = r0, r4 = r0, r5 = r0, r6 = r0, r7 = r0, r8 = r0, r9 = r0;
    __m256 rA = r0, rB = r0;
    int64_t p;
    for (p = 0; p < kc; p++, a += ps, b += 32) {
        __m256 b0 = _mm256_loadu_ps(b);
        INFER__FMA8W(r0, 0)
        INFER__FMA8W(r1, 1)
        INFER__FMA8W(r2, 2)
        INFER__FMA8W(r3, 3)
        INFER__FMA8W(r4, 4)
        INFER__FMA8W(r5, 5)
        INFER__FMA8W(r6, 6)
        INFER__FMA8W(r7, 7)
        INFER__FMA8W(r8, 8)
        INFER__FMA8W(r9, 9)
        INFER__FMA8W(rA, 10)
        INFER__FMA8W(rB, 11)
    }
    INFER__ST8W(r0, 0)
    INFER__ST8W(r1, 1)
    INFER__ST8W(r2, 2)
    INFER__ST8W(r3, 3)
    INFER__ST8W(r4, 4)
    INFER__ST8W(r5, 5)
    INFER__ST8W(r6, 6)
    INFER__ST8W(r7, 7)
    INFER__ST8W(r8, 8)
    INFER__ST8W(r9, 9)
    INFER__ST8W(rA, 10)
    INFER__ST8W(rB, 11)
}
__attribute__((target("avx512f"))) static void infer__ukr_f32_avx512(int64_t kc, const float *a, const float *b,
                                                                      float *c, int64_t ldc, int acc) {
    infer__ukr_rw_avx512(12, 32, kc, a, 1, 12, b, 32, c, ldc, acc, -2, NULL);
}
__attribute__((target("avx512f"))) static void infer__ukr_epi_avx512(int64_t kc, const float *a, const float *b, float *c,
                                                                       int64_t ldc, int acc, const infer__kepi *e, int kind) {
    if (kind == INFER__ACT_RELU) infer__ukr_rw_avx512(12, 32, kc, a, 1, 12, b, 32, c, ldc, acc, INFER__ACT_RELU, e);
    else if (kind == INFER__ACT_CLIP) infer__ukr_rw_avx512(12, 32, kc, a, 1, 12, b, 32, c, ldc, acc, INFER__ACT_CLIP, e);
    else infer__ukr_rw_avx512(12, 32, kc, a, 1, 12, b, 32, c, ldc, acc, INFER__ACT_NONE, e);
}
/* 12 rows x 8, 16 or 32 (w 0, 1, 2) columns with A's rows read in place (row stride lda)
   instead of from a packed panel */
__attribute__((target("avx512f,avx2,fma"))) static void infer__ukr_ua_avx512(int w, int64_t kc, const float *a,
                                                                              int64_t lda, const float *b, float *c,
                                                                              int64_t ldc, int acc) {
    if (w == 0) infer__ukr_r8_avx512(12, kc, a, lda, 1, b, c, ldc, acc);
    else if (w == 1) infer__ukr_rw_avx512(12, 16, kc, a, lda, 1, b, 32, c, ldc, acc, -2, NULL);
    else infer__ukr_rw_avx512(12, 32, kc, a, lda, 1, b, 32, c, ldc, acc, -2, NULL);
}
/* rows 4/8/12 (r 0/1/2) x 32 columns with B's rows read in place (row stride ldb) from a
   packed A panel; e and kind as infer__ukr_epi_avx512 (e NULL: no epilogue) */
#define INFER__UB512(R, K) infer__ukr_rw_avx512(R, 32, kc, a, 1, 12, b, ldb, c, ldc, acc, K, e)
#define INFER__UB512_ROWS(K)                                                                                       \
    do {                                                                                                           \
        if (r == 0) INFER__UB512(4, K);                                                                            \
        else if (r == 1) INFER__UB512(8, K);                                                                       \
        else INFER__UB512(12, K);                                                                                  \
    } while (0)
__attribute__((target("avx512f"))) static void infer__ukr_ub_avx512(int r, int64_t kc, const float *a, const float *b,
                                                                     int64_t ldb, float *c, int64_t ldc, int acc,
                                                                     const infer__kepi *e, int kind) {
    if (!e) INFER__UB512_ROWS(-2);
    else if (kind == INFER__ACT_RELU) INFER__UB512_ROWS(INFER__ACT_RELU);
    else if (kind == INFER__ACT_CLIP) INFER__UB512_ROWS(INFER__ACT_CLIP);
    else INFER__UB512_ROWS(INFER__ACT_NONE);
}
#undef INFER__UB512_ROWS
#undef INFER__UB512
/* instance (r, w) of the edge set: r rows 4/8/12 as 0/1/2, w 8/16/32 columns as 0/1/2 */
__attribute__((target("avx512f,avx2,fma"))) static void infer__ukr_part_avx512(int r, int w, int64_t kc, const float *a,
                                                                                const float *b, float *c, int64_t ldc,
                                                                                int acc) {
    switch (r * 3 + w) {
    case 0: infer__ukr_r8_avx512(4, kc, a, 1, 12, b, c, ldc, acc); break;
    case 1: infer__ukr_rw_avx512(4, 16, kc, a, 1, 12, b, 32, c, ldc, acc, -2, NULL); break;
    case 2: infer__ukr_rw_avx512(4, 32, kc, a, 1, 12, b, 32, c, ldc, acc, -2, NULL); break;
    case 3: infer__ukr_r8_avx512(8, kc, a, 1, 12, b, c, ldc, acc); break;
    case 4: infer__ukr_rw_avx512(8, 16, kc, a, 1, 12, b, 32, c, ldc, acc, -2, NULL); break;
    case 5: infer__ukr_rw_avx512(8, 32, kc, a, 1, 12, b, 32, c, ldc, acc, -2, NULL); break;
    case 6: infer__ukr_r8_avx512(12, kc, a, 1, 12, b, c, ldc, acc); break;
    case 7: infer__ukr_rw_avx512(12, 16, kc, a, 1, 12, b, 32, c, ldc, acc, -2, NULL); break;
    default: infer__ukr_rw_avx512(12, 32, kc, a, 1, 12, b, 32, c, ldc, acc, -2, NULL); break;
    }
}
/* W columns (1..8) of a 12-row tile, one column of C a vector: each step loads A's 12
   values once (masked) and broadcasts B's W values, where infer__ukr_r8_avx512 would
   broadcast A's 12 for 8 columns. The same products in the same order as the full
   kernel's (an FMA a step from zero, then C added), so the edge's results do not change.
   Rows (at most 12) of C are written, through a transpose in memory. */
/* one step of column j (W > j) of infer__ukr_col_w_avx512: A's 12 values (av) x B's value */
#define INFER__FMA1C(j, b)                                                                                         \
    if (W > (j)) s##j = _mm512_fmadd_ps(av, _mm512_set1_ps((b)[j]), s##j);
/* c[rows][W] (row stride ldc) = (acc ? c : 0) + the W column accumulators s0.. (one column
   of the tile's rows each), through a transpose in memory */
__attribute__((target("avx512f"), always_inline)) static inline void
infer__col_store_avx512(const int W, __m512 s0, __m512 s1, __m512 s2, __m512 s3, __m512 s4, __m512 s5, __m512 s6,
                        __m512 s7, float *c, int64_t ldc, int acc, int64_t rows) {
    float t[8][16];
    int64_t i;
    int j;
    _mm512_storeu_ps(t[0], s0), _mm512_storeu_ps(t[1], s1), _mm512_storeu_ps(t[2], s2), _mm512_storeu_ps(t[3], s3);
    _mm512_storeu_ps(t[4], s4), _mm512_storeu_ps(t[5], s5), _mm512_storeu_ps(t[6], s6), _mm512_storeu_ps(t[7], s7);
    for (i = 0; i < rows; i++)
        for (j = 0; j < W; j++) c[i * ldc + j] = acc ? t[j][i] + c[i * ldc + j] : t[j][i];
}
__attribute__((target("avx512f"), always_inline)) static inline void
infer__ukr_col_w_avx512(const int W, int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int acc,
                        int64_t rows) {
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    int64_t p;
    for (p = 0; p < kc; p++, a += 12, b += 32) {
        __m512 av = _mm512_maskz_loadu_ps(0x0FFF, a);
        INFER__FMA1C(0, b) INFER__FMA1C(1, b) INFER__FMA1C(2, b) INFER__FMA1C(3, b)
        INFER__FMA1C(4, b) INFER__FMA1C(5, b) INFER__FMA1C(6, b) INFER__FMA1C(7, b)
    }
    infer__col_store_avx512(W, s0, s1, s2, s3, s4, s5, s6, s7, c, ldc, acc, rows);
}
__attribute__((target("avx512f"))) static void infer__ukr_col_avx512(int w, int64_t kc, const float *a, const float *b,
                                                                      float *c, int64_t ldc, int acc, int64_t rows) {
    switch (w) {
    case 1: infer__ukr_col_w_avx512(1, kc, a, b, c, ldc, acc, rows); break;
    case 2: infer__ukr_col_w_avx512(2, kc, a, b, c, ldc, acc, rows); break;
    case 3: infer__ukr_col_w_avx512(3, kc, a, b, c, ldc, acc, rows); break;
    case 4: infer__ukr_col_w_avx512(4, kc, a, b, c, ldc, acc, rows); break;
    case 5: infer__ukr_col_w_avx512(5, kc, a, b, c, ldc, acc, rows); break;
    case 6: infer__ukr_col_w_avx512(6, kc, a, b, c, ldc, acc, rows); break;
    case 7: infer__ukr_col_w_avx512(7, kc, a, b, c, ldc, acc, rows); break;
    default: infer__ukr_col_w_avx512(8, kc, a, b, c, ldc, acc, rows); break;
    }
}

/* 16 + W columns (W 1..8) of a full 12-row tile in one pass: the 12 x 16 of
   infer__ukr_rw_avx512 and the W columns of infer__ukr_col_w_avx512 in one loop. Alone, a
   few columns' FMA chains wait on each other (one column: 4 cycles a step for one FMA);
   here they run under the 16 columns' 12 (a 7 x 7 image's 49 columns: 32 + 17). The same
   products in the same order as those two kernels, so the results do not change. */
#define INFER__FMA16C(i) r##i = _mm512_fmadd_ps(_mm512_set1_ps(a[i]), b0, r##i);
#define INFER__ST16C(i)                                                                                            \
    _mm512_storeu_ps(c + (i) * ldc, acc ? _mm512_add_ps(r##i, _mm512_loadu_ps(c + (i) * ldc)) : r##i);
__attribute__((target("avx512f"), always_inline)) static inline void
infer__ukr_16col_w_avx512(const int W, int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int acc) {
    __m512 r0 = _mm512_setzero_ps(), r1 = r0, r2 = r0, r3 = r0, r4 = r0, r5 = r0, r6 = r0, r7 = r0, r8 = r0, r9 = r0;
    __m512 r10 = r0, r11 = r0, s0 = r0, s1 = r0, s2 = r0, s3 = r0, s4 = r0, s5 = r0, s6 = r0, s7 = r0;
    int64_t p;
    for (p = 0; p < kc; p++, a += 12, b += 32) {
        __m512 b0 = _mm512_loadu_ps(b), av = _mm512_maskz_loadu_ps(0x0FFF, a);
        INFER__FMA16C(0) INFER__FMA16C(1) INFER__FMA16C(2) INFER__FMA16C(3) INFER__FMA16C(4) INFER__FMA16C(5)
        INFER__FMA16C(6) INFER__FMA16C(7) INFER__FMA16C(8) INFER__FMA16C(9) INFER__FMA16C(10) INFER__FMA16C(11)
        INFER__FMA1C(0, b + 16) INFER__FMA1C(1, b + 16) INFER__FMA1C(2, b + 16) INFER__FMA1C(3, b + 16)
        INFER__FMA1C(4, b + 16) INFER__FMA1C(5, b + 16) INFER__FMA1C(6, b + 16) INFER__FMA1C(7, b + 16)
    }
    INFER__ST16C(0) INFER__ST16C(1) INFER__ST16C(2) INFER__ST16C(3) INFER__ST16C(4) INFER__ST16C(5)
    INFER__ST16C(6) INFER__ST16C(7) INFER__ST16C(8) INFER__ST16C(9) INFER__ST16C(10) INFER__ST16C(11)
    infer__col_store_avx512(W, s0, s1, s2, s3, s4, s5, s6, s7, c + 16, ldc, acc, 12);
}
#undef INFER__FMA16C
#undef INFER__FMA1C
#undef INFER__ST16C
__attribute__((target("avx512f"))) static void infer__ukr_16col_avx512(int w, int64_t kc, const float *a,
                                                                        const float *b, float *c, int64_t ldc, int acc) {
    switch (w) {
    case 1: infer__ukr_16col_w_avx512(1, kc, a, b, c, ldc, acc); break;
    case 2: infer__ukr_16col_w_avx512(2, kc, a, b, c, ldc, acc); break;
    case 3: infer__ukr_16col_w_avx512(3, kc, a, b, c, ldc, acc); break;
    case 4: infer__ukr_16col_w_avx512(4, kc, a, b, c, ldc, acc); break;
    case 5: infer__ukr_16col_w_avx512(5, kc, a, b, c, ldc, acc); break;
    case 6: infer__ukr_16col_w_avx512(6, kc, a, b, c, ldc, acc); break;
    case 7: infer__ukr_16col_w_avx512(7, kc, a, b, c, ldc, acc); break;
    default: infer__ukr_16col_w_avx512(8, kc, a, b, c, ldc, acc); break;
    }
}

INFER__ROW_KERNEL(infer__row_f32_avx512, __attribute__((target("avx512f"))) static,
                  __attribute__((target("avx512f"), always_inline)) static inline, __m512, 16, _mm512_set1_ps,
                  _mm512_loadu_ps, _mm512_storeu_ps, _mm512_fmadd_ps)

INFER__ROW_KERNEL(infer__row_f32_avx2, __attribute__((target("avx2,fma"))) static,
                  __attribute__((target("avx2,fma"), always_inline)) static inline, __m256, 8, _mm256_set1_ps,
                  _mm256_loadu_ps, _mm256_storeu_ps, _mm256_fmadd_ps)

/* infer__tile_epi_avx2 for one activation KIND: NONE, RELU and CLIP inline, -1 any other
   through infer__vact_avx2 */
__attribute__((target("avx2,fma"), always_inline)) static inline void
infer__tile_epi_k_avx2(const int KIND, float *c, int64_t ldc, int64_t rows, int64_t cols, const float *row_bias,
                       const float *col_bias, const infer__act *act) {
    static const int32_t ones[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    const int kind = act ? act->kind : INFER__ACT_NONE;
    const __m256 al = _mm256_set1_ps(act ? act->alpha : 0), be = _mm256_set1_ps(act ? act->beta : 0);
    const __m256 zero = _mm256_setzero_ps();
    const __m256i tail = _mm256_loadu_si256((const __m256i *)(ones + 8 - cols % 8));
    int64_t i, j;
    for (i = 0; i < rows; i++, c += ldc) {
        __m256 b = _mm256_set1_ps(row_bias ? row_bias[i] : 0.0f), v;
        for (j = 0; j < cols; j += 8) {
            int part = cols - j < 8;
            v = part ? _mm256_maskload_ps(c + j, tail) : _mm256_loadu_ps(c + j);
            if (row_bias) v = _mm256_add_ps(v, b);
            if (col_bias) v = _mm256_add_ps(v, part ? _mm256_maskload_ps(col_bias + j, tail) : _mm256_loadu_ps(col_bias + j));
            if (KIND == INFER__ACT_RELU) v = _mm256_max_ps(zero, v); /* as infer__vact_avx2 */
            else if (KIND == INFER__ACT_CLIP) v = _mm256_min_ps(_mm256_max_ps(v, al), be);
            else if (KIND < 0) v = infer__vact_avx2(kind, v, al, be);
            if (part) _mm256_maskstore_ps(c + j, tail, v);
            else _mm256_storeu_ps(c + j, v);
        }
    }
}
__attribute__((target("avx2,fma"))) static void infer__tile_epi_avx2(float *c, int64_t ldc, int64_t rows, int64_t cols,
                                                                      const float *row_bias, const float *col_bias,
                                                                      const infer__act *act) {
    switch (act ? act->kind : INFER__ACT_NONE) {
    case INFER__ACT_NONE: infer__tile_epi_k_avx2(INFER__ACT_NONE, c, ldc, rows, cols, row_bias, col_bias, act); break;
    case INFER__ACT_RELU: infer__tile_epi_k_avx2(INFER__ACT_RELU, c, ldc, rows, cols, row_bias, col_bias, act); break;
    case INFER__ACT_CLIP: infer__tile_epi_k_avx2(INFER__ACT_CLIP, c, ldc, rows, cols, row_bias, col_bias, act); break;
    default: infer__tile_epi_k_avx2(-1, c, ldc, rows, cols, row_bias, col_bias, act); break;
    }
}
/* infer__tile_epi_avx512 for one activation KIND: NONE, RELU and CLIP inline, -1 any
   other through infer__vact_avx512 */
__attribute__((target("avx512f"), always_inline)) static inline void
infer__tile_epi_k_avx512(const int KIND, float *c, int64_t ldc, int64_t rows, int64_t cols, const float *row_bias,
                         const float *col_bias, const infer__act *act) {
    const int kind = act ? act->kind : INFER__ACT_NONE;
    const __m512 al = _mm512_set1_ps(act ? act->alpha : 0), be = _mm512_set1_ps(act ? act->beta : 0);
    const __m512 zero = _mm512_setzero_ps();
    int64_t i, j;
    for (i = 0; i < rows; i++, c += ldc) {
        __m512 b = _mm512_set1_ps(row_bias ? row_bias[i] : 0.0f), v;
        for (j = 0; j < cols; j += 16) {
            __mmask16 m = (__mmask16)(cols - j >= 16 ? 0xFFFF : (1u << (cols - j)) - 1);
            v = _mm512_maskz_loadu_ps(m, c + j);
            if (row_bias) v = _mm512_add_ps(v, b);
            if (col_bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, col_bias + j));
            if (KIND == INFER__ACT_RELU) v = _mm512_max_ps(zero, v); /* as infer__vact_avx512 */
            else if (KIND == INFER__ACT_CLIP) v = _mm512_min_ps(_mm512_max_ps(v, al), be);
            else if (KIND < 0) v = infer__vact_avx512(kind, v, al, be);
            _mm512_mask_storeu_ps(c + j, m, v);
        }
    }
}
__attribute__((target("avx512f"))) static void infer__tile_epi_avx512(float *c, int64_t ldc, int64_t rows, int64_t cols,
                                                                      const float *row_bias, const float *col_bias,
                                                                      const infer__act *act) {
    switch (act ? act->kind : INFER__ACT_NONE) {
    case INFER__ACT_NONE: infer__tile_epi_k_avx512(INFER__ACT_NONE, c, ldc, rows, cols, row_bias, col_bias, act); break;
    case INFER__ACT_RELU: infer__tile_epi_k_avx512(INFER__ACT_RELU, c, ldc, rows, cols, row_bias, col_bias, act); break;
    case INFER__ACT_CLIP: infer__tile_epi_k_avx512(INFER__ACT_CLIP, c, ldc, rows, cols, row_bias, col_bias, act); break;
    default: infer__tile_epi_k_avx512(-1, c, ldc, rows, cols, row_bias, col_bias, act); break;
    }
}

static const infer__gemm_isa infer__isa_avx2 = {6,  16, infer__ukr_f32_avx2, infer__row_f32_avx2, infer__ukr_part_avx2, 2,
                                                 infer__tile_epi_avx2, infer__ukr_epi_avx2, NULL, NULL, infer__ukr_col_avx2,
                                                 NULL};
static const infer__gemm_isa infer__isa_avx512 = {12, 32, infer__ukr_f32_avx512, infer__row_f32_avx512,
                                                   infer__ukr_part_avx512, 4, infer__tile_epi_avx512, infer__ukr_epi_avx512,
                                                   infer__ukr_ua_avx512, infer__ukr_ub_avx512, infer__ukr_col_avx512,
                                                   infer__ukr_16col_avx512};

#endif /* INFER__HAVE_AVX2 */

#if defined(INFER__HAVE_NEON)

/* -- NEON (AArch64) GEMM kernels -- */

/* 12 x 8: 24 q accumulators (two per row of C), 2 for the B row, 3 for the A column; the
   lane form of FMA (vfmaq_laneq_f32) multiplies by one A value without a broadcast, so
   the 12 A values of a step take 3 loads. 29 of the 32 q registers. MR = 12 and NR = 8
   divide GEMM_MC and GEMM_NC, so the blocking and scratch sizes stay as for x86. */
#define INFER__NFMA(r, av, l) r##a = vfmaq_laneq_f32(r##a, b0, av, l), r##b = vfmaq_laneq_f32(r##b, b1, av, l)
#define INFER__NST(r, i)                                                                                           \
    do {                                                                                                           \
        float *cr = c + (i) * ldc;                                                                                 \
        if (acc) r##a = vaddq_f32(r##a, vld1q_f32(cr)), r##b = vaddq_f32(r##b, vld1q_f32(cr + 4));                 \
        vst1q_f32(cr, r##a);                                                                                       \
        vst1q_f32(cr + 4, r##b);                                                                                   \
    } while (0)

static void infer__ukr_f32_neon(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int acc) {
    float32x4_t r0a = vdupq_n_f32(0), r0b = r0a, r1a = r0a, r1b = r0a, r2a = r0a, r2b = r0a, r3a = r0a, r3b = r0a;
    float32x4_t r4a = r0a, r4b = r0a, r5a = r0a, r5b = r0a, r6a = r0a, r6b = r0a, r7a = r0a, r7b = r0a;
    float32x4_t r8a = r0a, r8b = r0a, r9a = r0a, r9b = r0a, rAa = r0a, rAb = r0a, rBa = r0a, rBb = r0a;
    int64_t p;
    for (p = 0; p < kc; p++, a += 12, b += 8) {
        float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
        float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4), a2 = vld1q_f32(a + 8);
        INFER__NFMA(r0, a0, 0);
        INFER__NFMA(r1, a0, 1);
        INFER__NFMA(r2, a0, 2);
        INFER__NFMA(r3, a0, 3);
        INFER__NFMA(r4, a1, 0);
        INFER__NFMA(r5, a1, 1);
        INFER__NFMA(r6, a1, 2);
        INFER__NFMA(r7, a1, 3);
        INFER__NFMA(r8, a2, 0);
        INFER__NFMA(r9, a2, 1);
        INFER__NFMA(rA, a2, 2);
        INFER__NFMA(rB, a2, 3);
    }
    INFER__NST(r0, 0);
    INFER__NST(r1, 1);
    INFER__NST(r2, 2);
    INFER__NST(r3, 3);
    INFER__NST(r4, 4);
    INFER__NST(r5, 5);
    INFER__NST(r6, 6);
    INFER__NST(r7, 7);
    INFER__NST(r8, 8);
    INFER__NST(r9, 9);
    INFER__NST(rA, 10);
    INFER__NST(rB, 11);
}

static inline float32x4_t infer__vfma_neon(float32x4_t x, float32x4_t v, float32x4_t r) { return vfmaq_f32(r, x, v); }
INFER__ROW_KERNEL(infer__row_f32_neon, static, static inline, float32x4_t, 4, vdupq_n_f32, vld1q_f32, vst1q_f32,
                  infer__vfma_neon)

static void infer__tile_epi_neon(float *c, int64_t ldc, int64_t rows, int64_t cols, const float *row_bias,
                                 const float *col_bias, const infer__act *act) {
    int64_t i, j;
    for (i = 0; i < rows; i++, c += ldc) {
        if (row_bias)
            for (j = 0; j < cols; j++) c[j] += row_bias[i];
        if (col_bias)
            for (j = 0; j < cols; j++) c[j] += col_bias[j];
        if (act) infer__act_apply_vec(&infer__vec_neon, act, c, cols);
    }
}

static const infer__gemm_isa infer__isa_neon = {12, 8, infer__ukr_f32_neon, infer__row_f32_neon, NULL, 12,
                                                infer__tile_epi_neon, NULL, NULL, NULL, NULL, NULL};

#endif /* INFER__HAVE_NEON */

#if defined(INFER__HAVE_GEMM_SIMD)

#if defined(INFER__HAVE_AVX2)
/* d[j][0..8) = column j of the 8 x 8 block r[0..8)[0..8) */
__attribute__((target("avx2,fma"), always_inline)) static inline void infer__tr8_avx2(const __m256 *r, __m256 *d) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    d[0] = _mm256_permute2f128_ps(u0, u4, 0x20), d[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    d[2] = _mm256_permute2f128_ps(u2, u6, 0x20), d[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    d[4] = _mm256_permute2f128_ps(u0, u4, 0x31), d[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    d[6] = _mm256_permute2f128_ps(u2, u6, 0x31), d[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}
/* infer__pack_a of mr (6 or 12) rows of a row-major A (a_cs 1), or infer__pack_b of a panel
   of nr (16 or 32) columns of a B stored transposed (b_rs 1): rows i0 + 0..rows (zeros up to
   mr), 8 of their columns at a time by 8 x 8 transposes of 8 rows (or of the last 4 or 6) */
__attribute__((target("avx2,fma"))) static void infer__pack_a_rows_avx2(float *ap, const float *a, int64_t a_rs,
                                                                        int64_t i0, int64_t rows, int64_t p0,
                                                                        int64_t kc, int mr) {
    int64_t i, p, l;
    __m256 r[8], d[8];
    for (p = 0; p + 8 <= kc; p += 8)
        for (i = 0; i < mr; i += 8) {
            int64_t h = INFER__MIN(8, mr - i);
            for (l = 0; l < 8; l++)
                r[l] = i + l < rows ? _mm256_loadu_ps(a + (i0 + i + l) * a_rs + p0 + p) : _mm256_setzero_ps();
            infer__tr8_avx2(r, d);
            for (l = 0; l < 8; l++) {
                float *o = ap + (p + l) * mr + i;
                if (h == 8) {
                    _mm256_storeu_ps(o, d[l]);
                    continue;
                }
                _mm_storeu_ps(o, _mm256_castps256_ps128(d[l])); /* h is 4 or 6 */
                if (h == 6) _mm_storel_pi((__m64 *)(o + 4), _mm256_extractf128_ps(d[l], 1));
            }
        }
    for (; p < kc; p++)
        for (i = 0; i < mr; i++) ap[p * mr + i] = i < rows ? a[(i0 + i) * a_rs + p0 + p] : 0;
}
#endif

/* ap[kc][mr] = A[i0 + 0..mr)[p0 + 0..kc), zero rows past m */
static void infer__pack_a(float *ap, const float *a, int64_t a_rs, int64_t a_cs, int64_t i0, int64_t rows,
                          int64_t p0, int64_t kc, int mr) {
    int64_t i, p;
#if defined(INFER__HAVE_AVX2) /* the x86 GEMM runs on AVX2 CPUs only */
    if (a_cs == 1 && rows == mr && kc >= 8) {
        infer__pack_a_rows_avx2(ap, a, a_rs, i0, mr, p0, kc, mr);
        return;
    }
#endif
    if (a_rs == 1) { /* A^T row-major: mr floats at a time */
        for (p = 0; p < kc; p++, ap += mr) {
            memcpy(ap, a + i0 + (p0 + p) * a_cs, (size_t)rows * sizeof(float));
            for (i = rows; i < mr; i++) ap[i] = 0;
        }
        return;
    }
    if (a_cs == 1 && rows == mr) { /* sequential writes, mr sequential read streams */
        const float *ar[INFER__GEMM_MR_MAX];
        for (i = 0; i < mr; i++) ar[i] = a + (i0 + i) * a_rs + p0;
        for (p = 0; p < kc; p++, ap += mr)
            for (i = 0; i < mr; i++) ap[i] = ar[i][p];
        return;
    }
    for (p = 0; p < kc; p++, ap += mr) {
        const float *ac = a + i0 * a_rs + (p0 + p) * a_cs;
        for (i = 0; i < rows; i++) ap[i] = ac[i * a_rs];
        for (; i < mr; i++) ap[i] = 0;
    }
}

/* The B block B[p0 + 0..kc)[j0 + 0..cols) as panels bp[cols / nr][kc][nr], zero columns
   past cols; row by row, so B is read in order. */
static void infer__pack_b(float *bp, const float *b, int64_t b_rs, int64_t b_cs, int64_t j0, int64_t cols,
                          int64_t p0, int64_t kc, int nr) {
    int64_t j, p, jr;
#if defined(INFER__HAVE_AVX2) /* B^T row-major (an NHWC conv input): the panels' columns are its rows */
    if (b_rs == 1 && kc >= 8 && nr % 8 == 0) {
        for (jr = 0; jr < cols; jr += nr)
            infer__pack_a_rows_avx2(bp + jr * kc, b, b_cs, j0 + jr, INFER__MIN(nr, cols - jr), p0, kc, nr);
        return;
    }
#endif
    for (p = 0; p < kc; p++) {
        const float *br = b + (p0 + p) * b_rs + j0 * b_cs;
        for (jr = 0; jr < cols; jr += nr) {
            float *d = bp + jr * kc + p * nr;
            int64_t w = INFER__MIN(nr, cols - jr);
            if (b_cs == 1)
                memcpy(d, br + jr, (size_t)w * sizeof(float));
            else
                for (j = 0; j < w; j++) d[j] = br[(jr + j) * b_cs];
            for (j = w; j < nr; j++) d[j] = 0;
        }
    }
}

/* Pre-packed operands (weights packed once at session creation, infer__cpu_pack): the
   packed GEMM's blocks laid end to end, so a block is found by offset.
   A [m][k] -> [k / KC blocks][roundup(m, mr) / mr panels][kc][mr]: panel of row i (a
   multiple of mr) in the block at p0 is at p0 * roundup(m, mr) + i * kc.
   B [k][n] -> [k / KC blocks][roundup(n, nr) / nr panels][kc][nr], likewise by column. */
static size_t infer__packed_a_floats(const infer__gemm_isa *isa, int64_t m, int64_t k) {
    return (size_t)((m + isa->mr - 1) / isa->mr * isa->mr * k);
}
static size_t infer__packed_b_floats(const infer__gemm_isa *isa, int64_t n, int64_t k) {
    return (size_t)((n + isa->nr - 1) / isa->nr * isa->nr * k);
}
static void infer__pack_a_all(const infer__gemm_isa *isa, float *dst, const float *a, int64_t a_rs, int64_t a_cs,
                              int64_t m, int64_t k) {
    int64_t mp = (m + isa->mr - 1) / isa->mr * isa->mr, pc, i;
    for (pc = 0; pc < k; pc += INFER__GEMM_KC) {
        int64_t kc = INFER__MIN(k - pc, INFER__GEMM_KC);
        for (i = 0; i < m; i += isa->mr)
            infer__pack_a(dst + pc * mp + i * kc, a, a_rs, a_cs, i, INFER__MIN(isa->mr, m - i), pc, kc, isa->mr);
    }
}
static void infer__pack_b_all(const infer__gemm_isa *isa, float *dst, const float *b, int64_t b_rs, int64_t b_cs,
                              int64_t n, int64_t k) {
    int64_t np = (n + isa->nr - 1) / isa->nr * isa->nr, pc;
    for (pc = 0; pc < k; pc += INFER__GEMM_KC)
        infer__pack_b(dst + pc * np, b, b_rs, b_cs, 0, n, pc, INFER__MIN(k - pc, INFER__GEMM_KC), isa->nr);
}

/* c[rows][cols] (row stride ldc) = (acc ? c : 0) + tile (row stride ldt): an edge tile
   computed into a buffer, stored */
static void infer__tile_add(float *c, int64_t ldc, const float *tile, int64_t ldt, int64_t rows, int64_t cols, int acc) {
    int64_t i, j;
    for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++) c[i * ldc + j] = (acc ? c[i * ldc + j] : 0) + tile[i * ldt + j];
}

/* The width of the next part of a column edge with left columns to go: 8, 16 or 32 as
   0, 1, 2, the narrowest that covers them, but 17..24 as 16 now and 8 next */
static int infer__edge_w(int64_t left) { return left <= 8 ? 0 : left <= 24 ? 1 : 2; }

/* An edge tile of C, rows x cols (less than MR x NR), from full panels: the isa's part
   instances on the rows rounded up to its step, over column widths of 8, 16 or 32 (17 to
   24 columns as 16 + 8), the last nr / 4 columns or fewer by its column kernel (isa->col)
   where it has one, or with the 16 before them by isa->col16 on full rows; a part that
   reaches past C computes into a buffer first. The same
   products in the same order as the full kernel, so results do not change. */
static void infer__gemm_edge(const infer__gemm_isa *isa, int64_t kc, const float *a, const float *b, float *c,
                             int64_t ldc, int acc, int64_t rows, int64_t cols) {
    float tile[INFER__GEMM_MR_MAX * INFER__GEMM_NR_MAX];
    int r = isa->part ? (int)((rows + isa->rstep - 1) / isa->rstep) - 1 : 0;
    int64_t rr = isa->part ? (r + 1) * isa->rstep : isa->mr, j0;
    for (j0 = 0; j0 < cols;) {
        int64_t left = cols - j0, wc = isa->nr;
        int w = isa->part ? infer__edge_w(left) : 0, direct;
        if (isa->col && left <= isa->nr / 4) { /* the last few columns: a column a vector */
            isa->col((int)left, kc, a, b + j0, c + j0, ldc, acc, rows);
            break;
        }
        if (isa->col16 && rows == isa->mr && left > 16 && left <= 16 + isa->nr / 4) { /* 16 and those in one */
            isa->col16((int)(left - 16), kc, a, b + j0, c + j0, ldc, acc);
            break;
        }
        if (isa->part) wc = 8 << w;
        direct = rr == rows && j0 + wc <= cols;
        if (!isa->part) isa->ukr(kc, a, b, tile, isa->nr, 0);
        else isa->part(r, w, kc, a, b + j0, direct ? c + j0 : tile, direct ? ldc : isa->nr, direct && acc);
        if (!direct) infer__tile_add(c + j0, ldc, tile, isa->nr, rows, INFER__MIN(wc, cols - j0), acc);
        j0 += wc;
    }
}

/* Whether the kernel may read A's rows in place (isa->ukr_ua) rather than pack them: A
   not pre-packed, its columns contiguous, one block of columns of C (n <= NC: packing
   would not pay for itself over few column panels), and mr rows of row stride rs spread
   over the L1 sets (at most 3 rows on one of the 64 sets of 64 bytes), so that their
   streams and the B panel do not evict one another: a stride of a multiple of 1024 floats
   puts every row on one set. */
static int infer__gemm_ua(const infer__gemm_job *g) {
    int on_set[64] = {0}, i, most = 0;
    if (!g->isa->ukr_ua || g->a_packed || g->a_cs != 1 || g->n > INFER__GEMM_NC) return 0;
    for (i = 0; i < g->isa->mr; i++) {
        int set = (int)(((uint64_t)(i * g->a_rs) * sizeof(float) / 64) & 63);
        on_set[set]++;
        most = INFER__MAX(most, on_set[set]);
    }
    return most <= 3;
}

/* Whether full-width tiles may read B's rows in place (isa->ukr_ub) rather than pack them:
   B neither pre-packed nor packed by a callback, its columns contiguous, and few rows of
   A to share each packed value: up to 64 (a pointwise conv to 64 channels: packing X took
   a fifth of the time), or up to 256 where a panel of k <= 128 rows stays in L1 while
   they pass or where B's rows start on cache lines (with the next panel prefetched, the
   kernel's loads then cost what a packed panel's do, and the pass that packs all of B
   is saved: M=128, N=784, K=512 0.75 -> 0.63 ms, M=256, N=3136, K=256 2.76 -> 2.62; rows
   off the lines split every other load: N=196 or 200 5-10% slower in place). Beyond 256
   rows, packing is paid back. The same where B has left the caches (a batch's later
   images pushed it out): ResNet-50 batch 8's 1x1 convs 5-11% faster in place than packed. */
static int infer__gemm_ub(const infer__gemm_job *g) {
    int lines = (g->b_rs * sizeof(float)) % 64 == 0 && (uintptr_t)g->b % 64 == 0;
    return g->isa->ukr_ub && !g->b_packed && !g->pack_b && g->b_cs == 1 &&
           (g->m <= 64 || (g->m <= 256 && (g->k <= 128 || lines))) && !infer__gemm_ua(g);
}

/* C[i0..i1)[j0..j1) of g's c[m][n] = a * b, on one thread, with its own packing buffers
   ap (the A block, [roundup(MC, mr)][KC]) and bp (the B block, [KC][roundup(NC, nr)]);
   pre-packed operands are read in place. i0 is a multiple of mr, j0 of nr. */
static void infer__gemm_f32_part(const infer__gemm_job *g, int64_t i0, int64_t i1, int64_t j0, int64_t j1, float *ap,
                                 float *bp) {
    const infer__gemm_isa *isa = g->isa;
    const int mr = isa->mr, nr = isa->nr;
    const int64_t n = g->n, k = g->k, mp = (g->m + mr - 1) / mr * mr, np = (n + nr - 1) / nr * nr;
    float *c = g->c;
    int64_t jc, pc, ic, jr, ir, jb;
    const int ua = infer__gemm_ua(g), ub = infer__gemm_ub(g);
    for (jc = j0; jc < j1; jc += INFER__GEMM_NC) {
        int64_t nc = INFER__MIN(j1 - jc, INFER__GEMM_NC);
        for (pc = 0; pc < k; pc += INFER__GEMM_KC) {
            int64_t kc = INFER__MIN(k - pc, INFER__GEMM_KC);
            int last = pc + kc == k, acc = pc > 0 || g->c_acc;
            const float *bb = bp, *ab = ap;
            if (g->b_packed) bb = g->b_packed + pc * np + jc * kc;
            else if (g->pack_b) g->pack_b(bp, g->pack_arg, jc, nc, pc, kc, nr);
            else if (!ub) infer__pack_b(bp, g->b, g->b_rs, g->b_cs, jc, nc, pc, kc, nr);
            for (ic = i0; ic < i1; ic += INFER__GEMM_MC) {
                int64_t mc = INFER__MIN(i1 - ic, INFER__GEMM_MC);
                /* A read in place: each MR rows (kept in L1) meet INFER__GEMM_UA_JB columns of
                   B (in L2); an edge tile packs its rows into ap as below */
                for (jb = 0; ua && jb < nc; jb += INFER__GEMM_UA_JB)
                    for (ir = 0; ir < mc; ir += mr) {
                        int64_t rows = INFER__MIN(mr, mc - ir);
                        int packed = 0;
                        for (jr = jb; jr < INFER__MIN(nc, jb + INFER__GEMM_UA_JB); jr += nr) {
                            int64_t cols = INFER__MIN(nr, nc - jr);
                            float *ct = c + (ic + ir) * n + jc + jr;
                            const float *ar = g->a + (ic + ir) * g->a_rs + pc;
                            if (rows == mr && cols == nr) isa->ukr_ua(2, kc, ar, g->a_rs, bb + jr * kc, ct, n, acc);
                            else if (rows == mr) { /* column edge: widths as infer__gemm_edge's */
                                float tile[INFER__GEMM_MR_MAX * INFER__GEMM_NR_MAX];
                                int64_t j0 = 0, left;
                                while ((left = cols - j0) > 0) {
                                    int w = infer__edge_w(left);
                                    if (left >= 8 << w)
                                        isa->ukr_ua(w, kc, ar, g->a_rs, bb + jr * kc + j0, ct + j0, n, acc);
                                    else {
                                        isa->ukr_ua(w, kc, ar, g->a_rs, bb + jr * kc + j0, tile, nr, 0);
                                        infer__tile_add(ct + j0, n, tile, nr, rows, left, acc);
                                    }
                                    j0 += 8 << w;
                                }
                            } else {
                                if (!packed) infer__pack_a(ap, g->a, g->a_rs, 1, ic + ir, rows, pc, kc, mr), packed = 1;
                                infer__gemm_edge(isa, kc, ap, bb + jr * kc, ct, n, acc, rows, cols);
                            }
                            if (last && g->epi) g->epi(g->epi_arg, ct, n, ic + ir, jc + jr, rows, cols);
                        }
                    }
                if (ua) continue;
                if (g->a_packed) ab = g->a_packed + pc * mp + ic * kc;
                else
                    for (ir = 0; ir < mc; ir += mr)
                        infer__pack_a(ap + ir * kc, g->a, g->a_rs, g->a_cs, ic + ir, INFER__MIN(mr, mc - ir), pc, kc, mr);
                for (jr = 0; jr < nc; jr += nr) {
                    const float *bj = ub ? NULL : bb + jr * kc; /* the packed panel, once there is one */
                    for (ir = 0; ir < mc; ir += mr) {
                        int64_t rows = INFER__MIN(mr, mc - ir), cols = INFER__MIN(nr, nc - jr);
                        float *ct = c + (ic + ir) * n + jc + jr;
                        infer__kepi e = g->kepi; /* the epilogue in the kernel's registers */
                        int kepi = last && g->epi && g->kepi_on;
                        if (e.row_bias) e.row_bias += ic + ir;
                        if (e.col_bias) e.col_bias += jc + jr;
                        if (ub && cols == nr && rows % isa->rstep == 0) { /* B's rows in place */
                            isa->ukr_ub((int)(rows / isa->rstep) - 1, kc, ab + ir * kc, g->b + pc * g->b_rs + jc + jr,
                                        g->b_rs, ct, n, acc, kepi ? &e : NULL, g->kepi_kind);
                            if (last && g->epi && !kepi) g->epi(g->epi_arg, ct, n, ic + ir, jc + jr, rows, cols);
                            continue;
                        }
                        if (!bj) infer__pack_b(bp, g->b, g->b_rs, 1, jc + jr, cols, pc, kc, nr), bj = bp;
                        if (rows == mr && cols == nr && kepi && isa->ukr_epi) {
                            isa->ukr_epi(kc, ab + ir * kc, bj, ct, n, acc, &e, g->kepi_kind);
                            continue;
                        }
                        if (rows == mr && cols == nr) isa->ukr(kc, ab + ir * kc, bj, ct, n, acc);
                        else infer__gemm_edge(isa, kc, ab + ir * kc, bj, ct, n, acc, rows, cols);
                        if (last && g->epi) g->epi(g->epi_arg, ct, n, ic + ir, jc + jr, rows, cols);
                    }
                }
            }
        }
    }
}

/* c[m][n] = a[m][k] * b[k][n] with element strides for a and b, as infer__gemm_f32_ref.
   Each band of C (rows when m > n, else columns, in whole tiles; one a thread, or more
   taken as threads come free: infer__gemm_bands) packs what it reads itself: no barriers,
   and every element's sum is the same on any thread. */
/* task t of the few-rows path: columns [t * unit, + unit) of C's m rows. K in the packed
   kernels' KC blocks, each summed from 0 and then added to C (the first into C itself, the
   others on the stack), so that a row's bits do not depend on how many rows the GEMM has */
static void infer__gemm_f32_row_task(void *arg, int64_t t) {
    const infer__gemm_job *g = (const infer__gemm_job *)arg;
    const int m = (int)g->m;
    const int64_t j = t * g->unit, w = INFER__MIN(g->unit, g->n - j);
    float sum[(INFER__GEMM_ROWS - 1) * INFER__GEMM_ROW_CW];
    int64_t p, i, e;
    for (p = 0; p < g->k; p += INFER__GEMM_KC) {
        float *t = p ? sum : g->c + j;
        const int64_t ldt = p ? w : g->n;
        for (i = 0; i < m; i++) memset(t + i * ldt, 0, (size_t)w * sizeof(float));
        g->isa->row(m, w, INFER__MIN(INFER__GEMM_KC, g->k - p), g->a + p * g->a_cs, g->a_rs, g->a_cs,
                    g->b + j + p * g->b_rs, g->b_rs, t, ldt);
        for (i = 0; p && i < m; i++)
            for (e = 0; e < w; e++) g->c[i * g->n + j + e] = sum[i * w + e] + g->c[i * g->n + j + e];
    }
    if (g->epi) g->epi(g->epi_arg, g->c + j, g->n, 0, j, m, w);
}

/* task t of the packed path: band t of C, with packing buffers of its own: buffer t when
   there is a band a thread, else the first free one of the nt (at most nt bands run at
   once: the session's threads) */
static void infer__gemm_f32_band_task(void *arg, int64_t t) {
    infer__gemm_job *g = (infer__gemm_job *)arg;
    int64_t len = g->split_m ? g->m : g->n, slot = t;
    float *ap, *bp;
    int64_t lo = INFER__MIN(g->n_units * t / g->n_bands * g->unit, len);
    int64_t hi = INFER__MIN(g->n_units * (t + 1) / g->n_bands * g->unit, len);
#if INFER__POOL
    if (g->n_bands > g->nt)
        for (slot = 0;; slot = (slot + 1) % g->nt) {
            int idle = 0;
            if (__atomic_compare_exchange_n(&g->busy[slot], &idle, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) break;
        }
#endif
    ap = (float *)(((uintptr_t)g->scratch + INFER__ALIGN - 1) & ~(uintptr_t)(INFER__ALIGN - 1)) +
         (size_t)slot * (g->per / sizeof(float));
    bp = g->a_packed ? ap : ap + (INFER__MIN(g->m, INFER__GEMM_MC) + INFER__GEMM_MR_MAX - 1) / INFER__GEMM_MR_MAX *
                                     INFER__GEMM_MR_MAX * INFER__MIN(g->k, INFER__GEMM_KC);
    if (g->split_m) infer__gemm_f32_part(g, lo, hi, 0, g->n, ap, bp);
    else infer__gemm_f32_part(g, 0, g->m, lo, hi, ap, bp);
#if INFER__POOL
    if (g->n_bands > g->nt) __atomic_store_n(&g->busy[slot], 0, __ATOMIC_RELEASE);
#endif
}

/* How many bands g's C is cut into on nt threads (after share_b): INFER__GEMM_BANDS a
   thread, taken as threads come free, so a core that another tenant slows holds up a GEMM
   by one small band, not by half of it; but one a thread where a band would pack much
   that another band packs as well (A for bands of columns, B for bands of rows). A band
   packs those once per block of NC columns (MC rows) anyway, so bands at least that wide
   add at most one block each (a language model's head: 128 x 50257). Only on the
   session's own pool, whose threads bound how many bands run at once. The bands are
   whole tiles and every element's sum is the same in any band. */
static int infer__gemm_bands(const infer__ctx *cx, const infer__gemm_job *g, int nt) {
    int64_t bands = (int64_t)nt * INFER__GEMM_BANDS;
    int shared = g->split_m ? g->b_packed || infer__gemm_ub(g) || g->m >= bands * INFER__GEMM_MC
                            : g->a_packed || infer__gemm_ua(g) || g->n >= bands * INFER__GEMM_NC;
    if (nt < 2 || nt > INFER__GEMM_SLOTS || !shared || !cx || !cx->rt || cx->rt->host || nt != cx->rt->n_threads ||
        !INFER__POOL)
        return nt;
    return (int)INFER__MIN(g->n_units, bands);
}

/* task t of packing B once (share_b): K block t / panels, column panel t % panels */
static void infer__gemm_f32_share_b_task(void *arg, int64_t t) {
    const infer__gemm_job *g = (const infer__gemm_job *)arg;
    int64_t nr = g->isa->nr, np = (g->n + nr - 1) / nr * nr, panels = np / nr;
    int64_t pc = t / panels * INFER__GEMM_KC, j0 = t % panels * nr, kc = INFER__MIN(g->k - pc, INFER__GEMM_KC);
    float *dst = g->shared_b + pc * np + j0 * kc;
    if (g->pack_b) g->pack_b(dst, g->pack_arg, j0, INFER__MIN(nr, g->n - j0), pc, kc, (int)nr);
    else infer__pack_b(dst, g->b, g->b_rs, g->b_cs, j0, INFER__MIN(nr, g->n - j0), pc, kc, (int)nr);
}

/* task t of packing A once (share_a): K block t / panels, row panel t % panels, in
   infer__pack_a_all's layout */
static void infer__gemm_f32_share_a_task(void *arg, int64_t t) {
    const infer__gemm_job *g = (const infer__gemm_job *)arg;
    int64_t mr = g->isa->mr, mp = (g->m + mr - 1) / mr * mr, panels = mp / mr;
    int64_t pc = t / panels * INFER__GEMM_KC, i0 = t % panels * mr, kc = INFER__MIN(g->k - pc, INFER__GEMM_KC);
    infer__pack_a(g->shared_a + pc * mp + i0 * kc, g->a, g->a_rs, g->a_cs, i0, INFER__MIN(mr, g->m - i0), pc, kc, (int)mr);
}

/* Runs the job g (isa, sizes, operands, optional pre-packed operands and epilogue set)
   on up to nt threads with scratch of infer__gemm_f32_scratch(m, n, k, nt) bytes (plus
   infer__gemm_shared_b_bytes for share_b, infer__gemm_shared_a_bytes for share_a). */
static void infer__gemm_f32_job_run(const infer__ctx *cx, infer__gemm_job *g, int nt, void *scratch,
                                    size_t scratch_bytes) {
    int64_t m = g->m, n = g->n, i;
    if (m <= 0 || n <= 0) return;
    if (g->k <= 0) {
        if (!g->c_acc) memset(g->c, 0, (size_t)(m * n) * sizeof(float));
        if (g->epi)
            for (i = 0; i < m; i++) g->epi(g->epi_arg, g->c + i * n, n, i, 0, 1, n);
        return;
    }
    g->scratch = scratch;
    if (m < INFER__GEMM_ROWS && g->b_cs == 1 && !g->a_packed && !g->b_packed && !g->pack_b && !g->c_acc) {
        /* few rows: B is read once, packing it would double that. Each thread's share in
           tasks of up to INFER__GEMM_ROW_CW columns (at least 64) */
        g->unit = INFER__MAX(64, INFER__MIN(INFER__GEMM_ROW_CW, ((n + nt - 1) / nt + 15) / 16 * 16));
        g->n_ch = (n + g->unit - 1) / g->unit;
        infer__parallel(cx, nt, g->n_ch, infer__gemm_f32_row_task, g);
        return;
    }
    g->per = infer__gemm_f32_scratch_ab(m, n, g->k, 1, g->a_packed != NULL) - INFER__ALIGN;
    if (scratch_bytes < g->per + INFER__ALIGN) return; /* not planned for: cannot happen (see the callers) */
    if ((size_t)nt > (scratch_bytes - INFER__ALIGN) / g->per) nt = (int)((scratch_bytes - INFER__ALIGN) / g->per);
    g->split_m = m > n;
    g->unit = g->split_m ? g->isa->mr : g->isa->nr;
    g->n_units = ((g->split_m ? m : n) + g->unit - 1) / g->unit;
    if (nt > g->n_units) nt = (int)g->n_units;
    if (nt < 1) nt = 1;
    g->nt = nt;
    if (g->share_b && !g->b_packed && g->split_m && nt > 1) { /* B packed once, then bands of rows read it */
        size_t sb = infer__gemm_shared_b_bytes(m, n, g->k, nt), used = g->per * (size_t)nt + INFER__ALIGN;
        if (sb && scratch_bytes >= used + sb) {
            uintptr_t at = (uintptr_t)scratch + used;
            int64_t np = (n + g->isa->nr - 1) / g->isa->nr;
            g->shared_b = (float *)((at + INFER__ALIGN - 1) & ~(uintptr_t)(INFER__ALIGN - 1));
            infer__parallel(cx, nt, (g->k + INFER__GEMM_KC - 1) / INFER__GEMM_KC * np, infer__gemm_f32_share_b_task, g);
            g->b_packed = g->shared_b;
        }
    }
    if (g->share_a && !g->a_packed && !g->split_m && !infer__gemm_ua(g)) { /* A packed once, bands of columns read it */
        size_t sa = infer__gemm_shared_a_bytes(m, n, g->k, nt), used = g->per * (size_t)nt + INFER__ALIGN;
        if (sa && scratch_bytes >= used + sa) {
            uintptr_t at = (uintptr_t)scratch + used;
            int64_t panels = (m + g->isa->mr - 1) / g->isa->mr;
            g->shared_a = (float *)((at + INFER__ALIGN - 1) & ~(uintptr_t)(INFER__ALIGN - 1));
            infer__parallel(cx, nt, (g->k + INFER__GEMM_KC - 1) / INFER__GEMM_KC * panels, infer__gemm_f32_share_a_task, g);
            g->a_packed = g->shared_a;
        }
    }
    g->n_bands = infer__gemm_bands(cx, g, nt);
    memset(g->busy, 0, sizeof g->busy);
    infer__parallel(cx, g->n_bands, g->n_bands, infer__gemm_f32_band_task, g);
}

static void infer__gemm_f32_packed(const infer__ctx *cx, const infer__gemm_isa *isa, int64_t m, int64_t n, int64_t k,
                                   const float *a, int64_t a_rs, int64_t a_cs, const float *b, int64_t b_rs,
                                   int64_t b_cs, float *c, int nt, void *scratch, size_t scratch_bytes) {
    infer__gemm_job g;
    memset(&g, 0, sizeof g);
    g.isa = isa, g.m = m, g.n = n, g.k = k, g.a = a, g.a_rs = a_rs, g.a_cs = a_cs;
    g.b = b, g.b_rs = b_rs, g.b_cs = b_cs, g.c = c;
    infer__gemm_f32_job_run(cx, &g, nt, scratch, scratch_bytes);
}

#endif /* INFER__HAVE_GEMM_SIMD */

/* The GEMM of one ISA (NULL: the reference); scratch holds infer__gemm_f32_scratch bytes
   (for fewer threads than nt, the GEMM runs on fewer). */
static void infer__gemm_f32(const infer__ctx *cx, const infer__gemm_isa *isa, int64_t m, int64_t n, int64_t k, const float *a, int64_t a_rs,
                            int64_t a_cs, const float *b, int64_t b_rs, int64_t b_cs, float *c, int nt, void *scratch,
                            size_t scratch_bytes) {
#if defined(INFER__HAVE_GEMM_SIMD)
    if (isa) {
        infer__gemm_f32_packed(cx, isa, m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c, nt, scratch, scratch_bytes);
        return;
    }
#endif
    (void)isa, (void)scratch, (void)scratch_bytes;
    infer__gemm_f32_ref(cx, m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c, nt);
}

/* -- int8 GEMM --

   y[m][n] = act(scale_a[i] * scale_b[j] * C[i][j] + bias[j]), where
       C[i][j] = sum_p (A_q[i][p] - za[i]) * B_q[p][j]          exact, in int32
   A_q: u8 activations, quantized per row at run time (asymmetric: scale_a[i] and zero
   point za[i], as ONNX DynamicQuantizeLinear, round half to even); B_q: s8 weights,
   symmetric per output column (scale_b[j], zero point 0), packed once
   (infer__qgemm_pack_b) into NR-wide panels with k grouped by 4 -- the vpdpbusd layout --
   plus the column sums that turn sum A_q * B_q into the centred sum:
       C[i][j] = sum_p A_q[i][p] B_q[p][j] - za[i] * colsum[j].
   Bound: |A_q - za| <= 255 and |B_q| <= 128, so |C| <= 32640 K, and every partial sum,
   the za * colsum product and the difference stay inside int32 for K <= INFER__QGEMM_K_MAX.
   The products are exact in every kernel, so C is bit-exact against infer__qgemm_i32_ref.

   Kernels (MR x NR tiles over the whole of K, so the epilogue runs while the tile is hot):
   AVX-512 VNNI 12 x 32 (vpdpbusd, u8 x s8 -> i32), 8 x 32 and 4 x 32 for a band's last
   rows (no sums on more than 3 padding rows), and 1 x 32 for fewer than
   INFER__QGEMM_ROWS rows (batch-1 inference: no sums on padding rows, B streams from L1);
   AVX2 4 x 16 (vpmaddubsw + vpmaddwd);
   portable C 4 x 16. vpmaddubsw adds two u8 x s8 products into an int16 with saturation:
   with u8 up to 255 a pair reaches 2 * 255 * -128 = -65280. The AVX2 variant therefore
   quantizes activations to 7 bits (qmax 127): |pair| <= 2 * 127 * 128 = 32512 <= 32767,
   so it never saturates (weights keep all 8 bits), and vpmaddwd by 1 widens exactly.
   The cost is one bit of activation resolution on AVX2-only CPUs, so results there differ
   from the VNNI and portable ones (which agree with each other bit for bit).

   Threads (infer__parallel): with at least as many row panels as threads, each thread
   quantizes and packs its band of rows (bands balanced to 4 rows) and computes their tiles
   (one parallel region, no barrier); with fewer (batch-1 inference), A is packed first,
   then threads own bands of column panels. Every output is computed by one thread in one fixed order, so results do
   not depend on the thread count.
   Scratch: infer__qgemm_scratch bytes (packed A, its scales and zero points, and per thread
   one row of f32 and of u8).
   A's rows may come from a row function instead of strides, written into that f32 row
   (Conv's im2col: infer__conv_q8), and y may be stored transposed, y[j][i] (Conv's NCHW
   plane), through the edge tiles' temporary tile; neither changes C or the epilogue. */

#define INFER__QGEMM_MR_MAX 12
#define INFER__QGEMM_NR_MAX 32
#define INFER__QGEMM_K_MAX 65536 /* 32640 * 65536 < 2^31 */
#define INFER__QGEMM_ROWS 4       /* fewer rows than this: 1-row tiles where the isa has them */

#if defined(__GNUC__) || defined(__clang__)
#define INFER__QGEMM_UNUSED __attribute__((unused)) /* entry points the session will call */
#else
#define INFER__QGEMM_UNUSED
#endif

/* c[mr][nr] = A panel [k4][mr][4] (u8) x B panel [k4][nr][4] (s8), summed in int32 */
typedef void (*infer__qukr_fn)(int64_t k4, const uint8_t *a, const int8_t *b, int32_t *c);
/* q[0..k) = x[0..k) quantized to [0, qmax], with its scale and zero point */
typedef void (*infer__qrow_fn)(int64_t k, const float *x, int qmax, uint8_t *q, float *scale, int32_t *zp);
/* y[rows][nr] (row stride ldy) = act((c - za * colsum) * (sa * sb) + bias) for c [rows][nr],
   rows <= mr; sa, za [rows], sb, bias (NULL: none), colsum [nr], act NULL or an activation,
   applied in registers as the isa's vec map applies it (issue 9: a GELU through the scalar
   erfcf after each tile took 60% of BERT's fc1 MatMuls) */
typedef void (*infer__qepi_fn)(int rows, const int32_t *c, const float *sa, const int32_t *za, const float *sb,
                               const float *bias, const int32_t *colsum, const infer__act *act, float *y, int64_t ldy);

struct infer__qgemm_isa {
    int mr, nr, qmax; /* tile; largest activation value the kernel takes (255, AVX2: 127) */
    infer__qukr_fn ukr[INFER__QGEMM_MR_MAX / 4]; /* ukr[i]: (4 i + 4) x nr, for i < mr / 4 */
    infer__qukr_fn ukr1; /* NULL, or a 1 x nr kernel (A panel [k4][1][4]) for m < INFER__QGEMM_ROWS */
    infer__qrow_fn quant;
    infer__qepi_fn epi;
    const infer__vec_isa *vec; /* whose map the epilogue's activation matches bit for bit (NULL: infer__act_apply) */
};

/* The scale and zero point of a row whose min is lo <= 0 and max hi >= 0 (as
   DynamicQuantizeLinear, with qmax for 255); an all-zero (or non-finite) range gets 1, 0. */
static void infer__qparams(float lo, float hi, int qmax, float *scale, int32_t *zp) {
    float s = (hi - lo) / (float)qmax, z;
    if (!(s > 0) || s > 3.0e38f) s = 1;
    z = rintf(-lo / s);
    z = z >= 0 ? z : 0;
    z = z <= (float)qmax ? z : (float)qmax;
    *scale = s, *zp = (int32_t)z;
}

/* one element: rint(x / s) + z clamped to [0, qmax]; NaN gives 0 (as max_ps(v, 0) does) */
static uint8_t infer__qvalue(float x, float s, float z, float qmax) {
    float v = rintf(x / s) + z;
    v = v > 0 ? v : 0;
    v = v < qmax ? v : qmax;
    return (uint8_t)v;
}

/* The reference row quantizer (rintf rounds half to even in the default rounding mode). */
static void infer__qrow_ref(int64_t k, const float *x, int qmax, uint8_t *q, float *scale, int32_t *zp) {
    float lo = 0, hi = 0;
    int64_t p;
    for (p = 0; p < k; p++) {
        lo = x[p] < lo ? x[p] : lo;
        hi = x[p] > hi ? x[p] : hi;
    }
    infer__qparams(lo, hi, qmax, scale, zp);
    for (p = 0; p < k; p++) q[p] = infer__qvalue(x[p], *scale, (float)*zp, (float)qmax);
}

/* The reference integer GEMM, straight from the definition (no packing):
   c[m][n] = sum_p (a[i][p] - za[i]) * b[p][j], a u8 [m][k] with row stride a_rs, b s8 with
   element strides (b_rs, b_cs) (transB), summed in int64 and stored as int32. */
static INFER__QGEMM_UNUSED void infer__qgemm_i32_ref(int64_t m, int64_t n, int64_t k, const uint8_t *a, int64_t a_rs,
                                                     const int32_t *za, const int8_t *b, int64_t b_rs, int64_t b_cs,
                                                     int32_t *c) {
    int64_t i, j, p;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            int64_t s = 0;
            for (p = 0; p < k; p++) s += ((int64_t)a[i * a_rs + p] - za[i]) * b[p * b_rs + j * b_cs];
            c[i * n + j] = (int32_t)s;
        }
}

/* The whole path in reference form: quantize each row of a (f32 [m][k], row stride a_rs)
   with infer__qrow_ref and qmax, C by infer__qgemm_i32_ref, then
   y = act((float)C * (scale_a * scale_b) + bias), act through vec's map (NULL: infer__act_apply;
   an isa's vec gives its results bit for bit). tmp: roundup(m * k, 4) + 8 m + 4 m n bytes. */
static INFER__QGEMM_UNUSED void infer__qgemm_f32_ref(int64_t m, int64_t n, int64_t k, const float *a, int64_t a_rs,
                                                     int qmax, const infer__vec_isa *vec, const int8_t *b, int64_t b_rs, int64_t b_cs,
                                                     const float *scale_b, const float *bias, const infer__act *act,
                                                     float *y, void *tmp) {
    uint8_t *aq = (uint8_t *)tmp;
    float *sa = (float *)(void *)(aq + ((m * k + 3) & ~(int64_t)3));
    int32_t *za = (int32_t *)(void *)(sa + m), *c = za + m;
    int64_t i, j;
    for (i = 0; i < m; i++) infer__qrow_ref(k, a + i * a_rs, qmax, aq + i * k, sa + i, za + i);
    infer__qgemm_i32_ref(m, n, k, aq, k, za, b, b_rs, b_cs, c);
    for (i = 0; i < m; i++) {
        for (j = 0; j < n; j++) {
            float v = (float)c[i * n + j] * (sa[i] * scale_b[j]);
            y[i * n + j] = bias ? v + bias[j] : v;
        }
        if (act) infer__act_apply_vec(vec, act, y + i * n, n);
    }
}

/* -- int8 GEMM: portable kernels (4 x 16) -- */

static void infer__qukr_ref(int64_t k4, const uint8_t *a, const int8_t *b, int32_t *c) {
    int32_t acc[4 * 16];
    int64_t g;
    int r, j, t;
    for (j = 0; j < 4 * 16; j++) acc[j] = 0;
    for (g = 0; g < k4; g++, a += 16, b += 64)
        for (r = 0; r < 4; r++)
            for (j = 0; j < 16; j++) {
                int32_t s = 0;
                for (t = 0; t < 4; t++) s += (int32_t)a[r * 4 + t] * b[j * 4 + t];
                acc[r * 16 + j] += s;
            }
    memcpy(c, acc, sizeof acc);
}

static void infer__qepi_ref(int rows, const int32_t *c, const float *sa, const int32_t *za, const float *sb,
                            const float *bias, const int32_t *colsum, const infer__act *act, float *y, int64_t ldy) {
    int r, j;
    for (r = 0; r < rows; r++) {
        for (j = 0; j < 16; j++) {
            float v = (float)(c[r * 16 + j] - za[r] * colsum[j]) * (sa[r] * sb[j]);
            y[r * ldy + j] = bias ? v + bias[j] : v;
        }
        if (act) infer__act_apply(act, y + r * ldy, 16);
    }
}

static INFER__QGEMM_UNUSED const infer__qgemm_isa infer__qisa_ref = {4, 16, 255, {infer__qukr_ref}, NULL,
                                                                      infer__qrow_ref, infer__qepi_ref, NULL};

#if defined(INFER__HAVE_AVX2)

/* -- int8 GEMM: AVX2 (4 x 16, activations 7-bit) and AVX-512 VNNI (12, 8 and 4 x 32) kernels -- */

static int32_t infer__ld32(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

#define INFER__QMAD8(r, i)                                                                                         \
    do {                                                                                                           \
        __m256i x = _mm256_set1_epi32(infer__ld32(a + 4 * (i)));                                                   \
        r##a = _mm256_add_epi32(r##a, _mm256_madd_epi16(_mm256_maddubs_epi16(x, b0), one));                         \
        r##b = _mm256_add_epi32(r##b, _mm256_madd_epi16(_mm256_maddubs_epi16(x, b1), one));                         \
    } while (0)

/* 4 x 16: 8 ymm accumulators; a's values must be <= 127 (see above) */
__attribute__((target("avx2,fma"))) static void infer__qukr_avx2(int64_t k4, const uint8_t *a, const int8_t *b,
                                                                  int32_t *c) {
    __m256i r0a = _mm256_setzero_si256(), r0b = r0a, r1a = r0a, r1b = r0a, r2a = r0a, r2b = r0a, r3a = r0a, r3b = r0a;
    const __m256i one = _mm256_set1_epi16(1);
    int64_t g;
    for (g = 0; g < k4; g++, a += 16, b += 64) {
        __m256i b0 = _mm256_loadu_si256((const __m256i *)(const void *)b);
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(const void *)(b + 32));
        INFER__QMAD8(r0, 0);
        INFER__QMAD8(r1, 1);
        INFER__QMAD8(r2, 2);
        INFER__QMAD8(r3, 3);
    }
    /* lane j of r?a is column j of the tile, lane j of r?b column 8 + j */
    _mm256_storeu_si256((__m256i *)(void *)(c + 0), r0a), _mm256_storeu_si256((__m256i *)(void *)(c + 8), r0b);
    _mm256_storeu_si256((__m256i *)(void *)(c + 16), r1a), _mm256_storeu_si256((__m256i *)(void *)(c + 24), r1b);
    _mm256_storeu_si256((__m256i *)(void *)(c + 32), r2a), _mm256_storeu_si256((__m256i *)(void *)(c + 40), r2b);
    _mm256_storeu_si256((__m256i *)(void *)(c + 48), r3a), _mm256_storeu_si256((__m256i *)(void *)(c + 56), r3b);
}

__attribute__((target("avx2,fma"))) static void infer__qepi_avx2(int rows, const int32_t *c, const float *sa,
                                                                  const int32_t *za, const float *sb, const float *bias,
                                                                  const int32_t *colsum, const infer__act *act, float *y,
                                                                  int64_t ldy) {
    const int kind = act ? act->kind : INFER__ACT_NONE;
    const __m256 al = _mm256_set1_ps(act ? act->alpha : 0), be = _mm256_set1_ps(act ? act->beta : 0);
    int r, h;
    for (r = 0; r < rows; r++) {
        __m256i vz = _mm256_set1_epi32(za[r]);
        __m256 vs = _mm256_set1_ps(sa[r]);
        for (h = 0; h < 16; h += 8) {
            __m256i acc = _mm256_loadu_si256((const __m256i *)(const void *)(c + r * 16 + h));
            __m256i cs = _mm256_loadu_si256((const __m256i *)(const void *)(colsum + h));
            __m256 v = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc, _mm256_mullo_epi32(vz, cs)));
            v = _mm256_mul_ps(v, _mm256_mul_ps(vs, _mm256_loadu_ps(sb + h)));
            if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + h));
            if (kind != INFER__ACT_NONE) v = infer__vact_avx2(kind, v, al, be);
            _mm256_storeu_ps(y + r * ldy + h, v);
        }
    }
}

__attribute__((target("avx2,fma"))) static void infer__qrow_avx2(int64_t k, const float *x, int qmax, uint8_t *q,
                                                                  float *scale, int32_t *zp) {
    __m256 lo8 = _mm256_setzero_ps(), hi8 = lo8, vs, vz, vq, zero = lo8;
    float lo = 0, hi = 0, l[8], h[8];
    int64_t p;
    int j;
    for (p = 0; p + 8 <= k; p += 8) {
        __m256 v = _mm256_loadu_ps(x + p);
        lo8 = _mm256_min_ps(v, lo8); /* (v < lo) ? v : lo, as the reference: NaN keeps lo */
        hi8 = _mm256_max_ps(v, hi8);
    }
    _mm256_storeu_ps(l, lo8), _mm256_storeu_ps(h, hi8);
    for (j = 0; j < 8; j++) lo = l[j] < lo ? l[j] : lo, hi = h[j] > hi ? h[j] : hi;
    for (; p < k; p++) lo = x[p] < lo ? x[p] : lo, hi = x[p] > hi ? x[p] : hi;
    infer__qparams(lo, hi, qmax, scale, zp);
    vs = _mm256_set1_ps(*scale), vz = _mm256_set1_ps((float)*zp), vq = _mm256_set1_ps((float)qmax);
    for (p = 0; p + 8 <= k; p += 8) {
        __m256 v = _mm256_round_ps(_mm256_div_ps(_mm256_loadu_ps(x + p), vs), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m256i i = _mm256_cvttps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_add_ps(v, vz), zero), vq));
        i = _mm256_packus_epi16(_mm256_packus_epi32(i, i), i); /* bytes 0..3 of each 128-bit lane */
        {
            int32_t w0 = _mm256_extract_epi32(i, 0), w1 = _mm256_extract_epi32(i, 4);
            memcpy(q + p, &w0, 4), memcpy(q + p + 4, &w1, 4);
        }
    }
    for (; p < k; p++) q[p] = infer__qvalue(x[p], *scale, (float)*zp, (float)qmax);
}

#define INFER__QDP16(r, i)                                                                                         \
    do {                                                                                                           \
        if ((i) < R) {                                                                                             \
            __m512i x = _mm512_set1_epi32(infer__ld32(a + 4 * (i)));                                               \
            r##a = _mm512_dpbusd_epi32(r##a, x, b0), r##b = _mm512_dpbusd_epi32(r##b, x, b1);                       \
        }                                                                                                          \
    } while (0)
#define INFER__QST16(r, i)                                                                                         \
    do {                                                                                                           \
        if ((i) < R)                                                                                               \
            _mm512_storeu_si512((void *)(c + 32 * (i)), r##a), _mm512_storeu_si512((void *)(c + 32 * (i) + 16), r##b); \
    } while (0)

/* R x 32, R = 4, 8 or 12 (a constant once inlined: the (i) < R tests fold away): 2 R zmm
   accumulators, 2 for the B row, 1 broadcast (usually folded into vpdpbusd). A panel of a
   band's last rows takes the smallest R that covers them (issue 9: M = 128 left 8 rows in
   the last 12-row panel) */
__attribute__((always_inline, target("avx512f,avx512bw,avx512vnni"))) static inline void
infer__qukr_vnni_rows(int64_t k4, const uint8_t *a, const int8_t *b, int32_t *c, const int R) {
    __m512i r0a = _mm512_setzero_si512(), r0b = r0a, r1a = r0a, r1b = r0a, r2a = r0a, r2b = r0a, r3a = r0a, r3b = r0a;
    __m512i r4a = r0a, r4b = r0a, r5a = r0a, r5b = r0a, r6a = r0a, r6b = r0a, r7a = r0a, r7b = r0a;
    __m512i r8a = r0a, r8b = r0a, r9a = r0a, r9b = r0a, rAa = r0a, rAb = r0a, rBa = r0a, rBb = r0a;
    int64_t g;
    for (g = 0; g < k4; g++, a += 4 * R, b += 128) {
        __m512i b0 = _mm512_loadu_si512((const void *)b), b1 = _mm512_loadu_si512((const void *)(b + 64));
        INFER__QDP16(r0, 0);
        INFER__QDP16(r1, 1);
        INFER__QDP16(r2, 2);
        INFER__QDP16(r3, 3);
        INFER__QDP16(r4, 4);
        INFER__QDP16(r5, 5);
        INFER__QDP16(r6, 6);
        INFER__QDP16(r7, 7);
        INFER__QDP16(r8, 8);
        INFER__QDP16(r9, 9);
        INFER__QDP16(rA, 10);
        INFER__QDP16(rB, 11);
    }
    INFER__QST16(r0, 0);
    INFER__QST16(r1, 1);
    INFER__QST16(r2, 2);
    INFER__QST16(r3, 3);
    INFER__QST16(r4, 4);
    INFER__QST16(r5, 5);
    INFER__QST16(r6, 6);
    INFER__QST16(r7, 7);
    INFER__QST16(r8, 8);
    INFER__QST16(r9, 9);
    INFER__QST16(rA, 10);
    INFER__QST16(rB, 11);
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void infer__qukr4_vnni(int64_t k4, const uint8_t *a,
                                                                                     const int8_t *b, int32_t *c) {
    infer__qukr_vnni_rows(k4, a, b, c, 4);
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void infer__qukr8_vnni(int64_t k4, const uint8_t *a,
                                                                                     const int8_t *b, int32_t *c) {
    infer__qukr_vnni_rows(k4, a, b, c, 8);
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void infer__qukr12_vnni(int64_t k4, const uint8_t *a,
                                                                                      const int8_t *b, int32_t *c) {
    infer__qukr_vnni_rows(k4, a, b, c, 12);
}

/* 1 x 32 for few rows: four accumulators (even and odd k groups), as int32 sums are exact
   in any order */
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void infer__qukr1_vnni(int64_t k4, const uint8_t *a,
                                                                                      const int8_t *b, int32_t *c) {
    __m512i r0 = _mm512_setzero_si512(), r1 = r0, r2 = r0, r3 = r0, x;
    int64_t g;
    for (g = 0; g + 2 <= k4; g += 2, a += 8, b += 256) {
        __m512i y = _mm512_set1_epi32(infer__ld32(a + 4));
        x = _mm512_set1_epi32(infer__ld32(a));
        r0 = _mm512_dpbusd_epi32(r0, x, _mm512_loadu_si512((const void *)b));
        r1 = _mm512_dpbusd_epi32(r1, x, _mm512_loadu_si512((const void *)(b + 64)));
        r2 = _mm512_dpbusd_epi32(r2, y, _mm512_loadu_si512((const void *)(b + 128)));
        r3 = _mm512_dpbusd_epi32(r3, y, _mm512_loadu_si512((const void *)(b + 192)));
    }
    if (g < k4) {
        x = _mm512_set1_epi32(infer__ld32(a));
        r0 = _mm512_dpbusd_epi32(r0, x, _mm512_loadu_si512((const void *)b));
        r1 = _mm512_dpbusd_epi32(r1, x, _mm512_loadu_si512((const void *)(b + 64)));
    }
    _mm512_storeu_si512((void *)c, _mm512_add_epi32(r0, r2));
    _mm512_storeu_si512((void *)(c + 16), _mm512_add_epi32(r1, r3));
}

__attribute__((target("avx512f"))) static void infer__qepi_avx512(int rows, const int32_t *c, const float *sa,
                                                                   const int32_t *za, const float *sb, const float *bias,
                                                                   const int32_t *colsum, const infer__act *act, float *y,
                                                                   int64_t ldy) {
    const int kind = act ? act->kind : INFER__ACT_NONE;
    const __m512 al = _mm512_set1_ps(act ? act->alpha : 0), be = _mm512_set1_ps(act ? act->beta : 0);
    __m512i cs0 = _mm512_loadu_si512((const void *)colsum), cs1 = _mm512_loadu_si512((const void *)(colsum + 16));
    __m512 sb0 = _mm512_loadu_ps(sb), sb1 = _mm512_loadu_ps(sb + 16);
    const __mmask16 all = 0xFFFF; /* maskz forms: GCC 12's unmasked ones warn in C++ at -O2 */
    int r;
    for (r = 0; r < rows; r++, c += 32, y += ldy) {
        __m512i vz = _mm512_set1_epi32(za[r]);
        __m512 vs = _mm512_set1_ps(sa[r]);
        __m512 v0 = _mm512_maskz_cvtepi32_ps(all, _mm512_sub_epi32(_mm512_loadu_si512((const void *)c), _mm512_mullo_epi32(vz, cs0)));
        __m512 v1 = _mm512_maskz_cvtepi32_ps(all, _mm512_sub_epi32(_mm512_loadu_si512((const void *)(c + 16)), _mm512_mullo_epi32(vz, cs1)));
        v0 = _mm512_mul_ps(v0, _mm512_mul_ps(vs, sb0));
        v1 = _mm512_mul_ps(v1, _mm512_mul_ps(vs, sb1));
        if (bias) v0 = _mm512_add_ps(v0, _mm512_loadu_ps(bias)), v1 = _mm512_add_ps(v1, _mm512_loadu_ps(bias + 16));
        if (kind != INFER__ACT_NONE) v0 = infer__vact_avx512(kind, v0, al, be), v1 = infer__vact_avx512(kind, v1, al, be);
        _mm512_storeu_ps(y, v0);
        _mm512_storeu_ps(y + 16, v1);
    }
}

__attribute__((target("avx512f"))) static void infer__qrow_avx512(int64_t k, const float *x, int qmax, uint8_t *q,
                                                                   float *scale, int32_t *zp) {
    __m512 lo16 = _mm512_setzero_ps(), hi16 = lo16, vs, vz, vq, zero = lo16;
    const __mmask16 all = 0xFFFF; /* maskz forms: GCC 12's unmasked ones warn in C++ at -O2 */
    float lo = 0, hi = 0, l[16], h[16];
    int64_t p;
    int j;
    for (p = 0; p < k; p += 16) { /* masked-off lanes load 0, which the range already holds */
        __mmask16 mk = (__mmask16)(k - p >= 16 ? 0xFFFF : (1u << (k - p)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(mk, x + p);
        lo16 = _mm512_maskz_min_ps(all, v, lo16); /* (v < lo) ? v : lo, as the reference: NaN keeps lo */
        hi16 = _mm512_maskz_max_ps(all, v, hi16);
    }
    _mm512_storeu_ps(l, lo16), _mm512_storeu_ps(h, hi16);
    for (j = 0; j < 16; j++) lo = l[j] < lo ? l[j] : lo, hi = h[j] > hi ? h[j] : hi;
    infer__qparams(lo, hi, qmax, scale, zp);
    vs = _mm512_set1_ps(*scale), vz = _mm512_set1_ps((float)*zp), vq = _mm512_set1_ps((float)qmax);
    for (p = 0; p < k; p += 16) {
        __mmask16 mk = (__mmask16)(k - p >= 16 ? 0xFFFF : (1u << (k - p)) - 1);
        __m512 v = _mm512_maskz_roundscale_ps(all, _mm512_div_ps(_mm512_maskz_loadu_ps(mk, x + p), vs),
                                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m512i i = _mm512_maskz_cvttps_epi32(
            all, _mm512_maskz_min_ps(all, _mm512_maskz_max_ps(all, _mm512_add_ps(v, vz), zero), vq));
        _mm512_mask_cvtepi32_storeu_epi8(q + p, mk, i);
    }
}

static INFER__QGEMM_UNUSED const infer__qgemm_isa infer__qisa_avx2 = {4, 16, 127, {infer__qukr_avx2}, NULL,
                                                                       infer__qrow_avx2, infer__qepi_avx2, &infer__vec_avx2};
static INFER__QGEMM_UNUSED const infer__qgemm_isa infer__qisa_vnni = {12, 32, 255,
                                                                       {infer__qukr4_vnni, infer__qukr8_vnni, infer__qukr12_vnni},
                                                                       infer__qukr1_vnni,
                                                                       infer__qrow_avx512, infer__qepi_avx512,
                                                                       &infer__vec_avx512};

#endif /* INFER__HAVE_AVX2 */

/* The best int8 kernels for the INFER__CPU_* bits cpu (0: the portable ones). */
static INFER__QGEMM_UNUSED const infer__qgemm_isa *infer__qgemm_pick(int cpu) {
#if defined(INFER__HAVE_AVX2)
    if (cpu & INFER__CPU_AVX512VNNI) return &infer__qisa_vnni;
    if (cpu & INFER__CPU_AVX2) return &infer__qisa_avx2;
#endif
    (void)cpu;
    return &infer__qisa_ref;
}

/* Symmetric per-column int8 quantization of f32 weights w[k][n] (element strides w_rs,
   w_cs): scale[j] = max_p |w[p][j]| / 127 (1 for an all-zero column), q[p][j] (row-major
   [k][n]) = rint(w / scale[j]) in [-127, 127]; so |w - scale * q| <= scale / 2. */
static INFER__QGEMM_UNUSED void infer__qgemm_quantize_b(int64_t k, int64_t n, const float *w, int64_t w_rs,
                                                        int64_t w_cs, int8_t *q, float *scale) {
    int64_t p, j;
    for (j = 0; j < n; j++) {
        float mx = 0, s;
        for (p = 0; p < k; p++) {
            float v = fabsf(w[p * w_rs + j * w_cs]);
            mx = v > mx ? v : mx; /* NaN is skipped */
        }
        s = mx / 127;
        if (!(s > 0) || s > 3.0e38f) s = 1;
        scale[j] = s;
        for (p = 0; p < k; p++) {
            float v = rintf(w[p * w_rs + j * w_cs] / s);
            v = v > -127 ? v : -127; /* NaN gives -127 */
            v = v < 127 ? v : 127;
            q[p * n + j] = (int8_t)v;
        }
    }
}

/* -- int8 GEMM: packing and the driver -- */

/* Bytes of B (k x n) packed for isa: int32 colsum[np] then np / nr panels of
   [roundup(k, 4) / 4][nr][4] s8, np = n rounded up to nr. */
static INFER__QGEMM_UNUSED size_t infer__qgemm_packed_bytes(const infer__qgemm_isa *isa, int64_t k, int64_t n) {
    int64_t np = (n + isa->nr - 1) / isa->nr * isa->nr, k4 = (k + 3) / 4;
    return (size_t)np * 4 + (size_t)np * (size_t)k4 * 4;
}

/* Packs s8 B[k][n] (element strides b_rs, b_cs: transB is b_rs = 1, b_cs = k) into
   packed (infer__qgemm_packed_bytes bytes, 64-byte aligned), zero-padded past k and n. */
static INFER__QGEMM_UNUSED void infer__qgemm_pack_b(const infer__qgemm_isa *isa, int64_t k, int64_t n, const int8_t *b,
                                                    int64_t b_rs, int64_t b_cs, void *packed) {
    const int nr = isa->nr;
    int64_t np = (n + nr - 1) / nr * nr, k4 = (k + 3) / 4, j0, j, p;
    int32_t *colsum = (int32_t *)packed;
    int8_t *bp = (int8_t *)packed + np * 4;
    memset(packed, 0, infer__qgemm_packed_bytes(isa, k, n));
    for (j0 = 0; j0 < n; j0 += nr) { /* panel by panel, no division per element (a BERT-base took 0.15 s) */
        int64_t cols = INFER__MIN((int64_t)nr, n - j0);
        int8_t *panel = bp + j0 * k4 * 4;
        for (p = 0; p < k; p++) {
            const int8_t *src = b + p * b_rs + j0 * b_cs;
            int8_t *d = panel + (p >> 2) * nr * 4 + (p & 3);
            for (j = 0; j < cols; j++) {
                d[j * 4] = src[j * b_cs];
                colsum[j0 + j] += src[j * b_cs];
            }
        }
    }
}

/* What the threads of one int8 GEMM share. A is packed panel by panel: a band of rows
   [lo, hi) (lo a multiple of 4) is cut into panels of mr rows from lo, the last one shorter;
   a panel at row i0 is computed with infer__qgemm_panel_rows(g, i0, hi) = pr rows (its real
   rows rounded up to 4; padding rows, past m, are zero with sa = za = 0) and stored as
   [k4][pr][4] at ap + i0 * k4 * 4, so that a panel is found by its first row. */
typedef struct infer__qgemm_job {
    const infer__qgemm_isa *isa;
    int mr;                           /* rows of a full panel: isa->mr, or 1 (isa->ukr1) */
    int64_t m, n, k, k4, n_pa, n_pb;  /* n_pa = ceil(m / mr) panels of A, n_pb column panels of B */
    const float *a;                   /* f32 A [m][k] (row stride a_rs, column stride a_cs), or */
    void (*row)(const void *arg, int64_t i, float *x); /* writes A's row i (k floats) to x (Conv's im2col), or */
    const void *row_arg;
    const uint8_t *aq;                /* already-quantized u8 A with zero points za_in (the i32 path) */
    const int32_t *za_in;
    int64_t a_rs, a_cs;
    const int32_t *colsum;            /* [n_pb * nr] */
    const int8_t *bp;                 /* panels [n_pb][k4][nr][4] */
    const float *sb, *bias;           /* [n], bias may be NULL */
    const infer__act *act;            /* NULL: none */
    float *y;                         /* [m][n], or with ldy_t > 0 transposed: y[j * ldy_t + i] (Conv's NCHW plane) */
    int64_t ldy_t;
    int32_t *c;                       /* the i32 path: C [m][n] */
    uint8_t *ap;                      /* scratch: packed A [roundup(m, 4)][k4][4] as panels (above) */
    float *sa;                        /* scratch: [roundup(m, 4)] */
    int32_t *za;                      /* scratch: [roundup(m, 4)] */
    uint8_t *rows;                    /* scratch: per thread, f32 [k] then u8 [k4 * 4] */
    size_t row_bytes;
    int nt;
} infer__qgemm_job;

static size_t infer__qgemm_row_bytes(int64_t k) {
    return ((size_t)k * 4 + (size_t)(k + 3) / 4 * 4 + INFER__ALIGN - 1) & ~(size_t)(INFER__ALIGN - 1);
}

/* Bytes of scratch for an int8 GEMM of m rows and depth k on up to nt threads (any isa). */
static INFER__QGEMM_UNUSED size_t infer__qgemm_scratch(int64_t m, int64_t k, int nt) {
    size_t rows = (size_t)(m + 3) / 4 * 4, k4b = (size_t)(k + 3) / 4 * 4;
    if (m <= 0 || k <= 0) return 0;
    return rows * k4b + rows * 8 + 2 * INFER__ALIGN + (size_t)(nt < 1 ? 1 : nt) * infer__qgemm_row_bytes(k) + INFER__ALIGN;
}

/* rows computed for the panel at row i0 of a band ending at row hi (see infer__qgemm_job) */
static int infer__qgemm_panel_rows(const infer__qgemm_job *g, int64_t i0, int64_t hi) {
    int64_t r = INFER__MIN((int64_t)g->mr, hi - i0);
    return (int)INFER__MIN((int64_t)g->mr, (r + 3) & ~(int64_t)3);
}

/* quantize (or copy) and pack the rows of the band [lo, hi), with thread t's row buffers */
static void infer__qgemm_pack_a(const infer__qgemm_job *g, int64_t t, int64_t lo, int64_t hi) {
    float *xr = (float *)(void *)(g->rows + (size_t)t * g->row_bytes);
    uint8_t *qr = (uint8_t *)(xr + g->k);
    int64_t i0, i, p;
    int r, pr;
    for (i0 = lo; i0 < hi; i0 += g->mr)
        for (pr = infer__qgemm_panel_rows(g, i0, hi), r = 0; r < pr; r++) {
            uint8_t *d = g->ap + (size_t)(i0 * g->k4 * 4 + r * 4);
            i = i0 + r;
            memset(qr, 0, (size_t)g->k4 * 4);
            if (i >= g->m) {
                g->sa[i] = 0, g->za[i] = 0;
            } else if (g->aq) {
                memcpy(qr, g->aq + i * g->a_rs, (size_t)g->k);
                g->sa[i] = 1, g->za[i] = g->za_in[i];
            } else if (g->row) {
                g->row(g->row_arg, i, xr);
                g->isa->quant(g->k, xr, g->isa->qmax, qr, g->sa + i, g->za + i);
            } else {
                const float *x = g->a + i * g->a_rs;
                if (g->a_cs != 1) {
                    for (p = 0; p < g->k; p++) xr[p] = x[p * g->a_cs];
                    x = xr;
                }
                g->isa->quant(g->k, x, g->isa->qmax, qr, g->sa + i, g->za + i);
            }
            for (p = 0; p < g->k4; p++) memcpy(d + p * pr * 4, qr + p * 4, 4);
        }
}

/* one tile: the panel of pr rows at row i0, column panel jp */
static void infer__qgemm_tile(const infer__qgemm_job *g, int64_t i0, int pr, int64_t jp) {
    const int nr = g->isa->nr;
    const infer__qukr_fn ukr = g->mr == 1 ? g->isa->ukr1 : g->isa->ukr[pr / 4 - 1];
    int32_t acc[INFER__QGEMM_MR_MAX * INFER__QGEMM_NR_MAX];
    int64_t j0 = jp * nr, rows = INFER__MIN((int64_t)pr, g->m - i0), cols = INFER__MIN(nr, g->n - j0), i, j;
    const int32_t *cs = g->colsum + j0;
    ukr(g->k4, g->ap + (size_t)(i0 * g->k4 * 4), g->bp + (size_t)(jp * g->k4 * nr * 4), acc);
    if (g->c) { /* the i32 path (tests): C itself */
        for (i = 0; i < rows; i++)
            for (j = 0; j < cols; j++) g->c[(i0 + i) * g->n + j0 + j] = acc[i * nr + j] - g->za[i0 + i] * cs[j];
        return;
    }
    if (cols == nr && !g->ldy_t) {
        g->isa->epi((int)rows, acc, g->sa + i0, g->za + i0, g->sb + j0, g->bias ? g->bias + j0 : NULL, cs, g->act,
                    g->y + i0 * g->n + j0, g->n);
    } else { /* an edge or transposed tile: padded scales and bias, then the columns that exist */
        float sb[INFER__QGEMM_NR_MAX], bias[INFER__QGEMM_NR_MAX], yt[INFER__QGEMM_MR_MAX * INFER__QGEMM_NR_MAX];
        for (j = 0; j < nr; j++) sb[j] = j < cols ? g->sb[j0 + j] : 0, bias[j] = j < cols && g->bias ? g->bias[j0 + j] : 0;
        g->isa->epi((int)rows, acc, g->sa + i0, g->za + i0, sb, g->bias ? bias : NULL, cs, g->act, yt, nr);
        if (g->ldy_t) {
            for (j = 0; j < cols; j++)
                for (i = 0; i < rows; i++) g->y[(j0 + j) * g->ldy_t + i0 + i] = yt[i * nr + j];
        } else {
            for (i = 0; i < rows; i++) memcpy(g->y + (i0 + i) * g->n + j0, yt + i * nr, (size_t)cols * sizeof(float));
        }
    }
}

/* task t of the row split: thread t packs its band of rows, then computes their tiles column
   panel by column panel (the band's packed A stays in cache; B streams). Bands are cut at
   multiples of 4 rows (of 1 with mr 1) into equal shares, up to 4 rows (issue 9: bands of
   whole 12-row panels gave BERT's 128 rows on 2 threads 5 and 6 panels, 60 and 72 rows
   computed; now 64 and 64). */
static void infer__qgemm_rows_task(void *arg, int64_t t) {
    const infer__qgemm_job *g = (const infer__qgemm_job *)arg;
    const int64_t q = g->mr < 4 ? 1 : 4, units = (g->m + q - 1) / q;
    int64_t lo = q * (units * t / g->nt), hi = INFER__MIN(g->m, q * (units * (t + 1) / g->nt)), i0, jp;
    infer__qgemm_pack_a(g, t, lo, hi);
    for (jp = 0; jp < g->n_pb; jp++)
        for (i0 = lo; i0 < hi; i0 += g->mr) infer__qgemm_tile(g, i0, infer__qgemm_panel_rows(g, i0, hi), jp);
}

/* the column split (fewer row panels than threads), phase 1: task t packs a band of whole
   panels, so that the panels are those of the one band [0, m) */
static void infer__qgemm_pack_a_task(void *arg, int64_t t) {
    const infer__qgemm_job *g = (const infer__qgemm_job *)arg;
    infer__qgemm_pack_a(g, t, g->mr * (g->n_pa * t / g->nt), INFER__MIN(g->m, g->mr * (g->n_pa * (t + 1) / g->nt)));
}

/* phase 2: task t computes the tiles of its band of column panels */
static void infer__qgemm_cols_task(void *arg, int64_t t) {
    const infer__qgemm_job *g = (const infer__qgemm_job *)arg;
    int64_t lo = g->n_pb * t / g->nt, hi = g->n_pb * (t + 1) / g->nt, i0, jp;
    for (jp = lo; jp < hi; jp++)
        for (i0 = 0; i0 < g->m; i0 += g->mr) infer__qgemm_tile(g, i0, infer__qgemm_panel_rows(g, i0, g->m), jp);
}

static void infer__qgemm_run(const infer__ctx *cx, infer__qgemm_job *g, int nt, void *scratch, size_t scratch_bytes) {
    const int nr = g->isa->nr;
    size_t one = infer__qgemm_scratch(g->m, g->k, 1), row = infer__qgemm_row_bytes(g->k), rows_pad = (size_t)(g->m + 3) / 4 * 4;
    if (scratch_bytes < one) return; /* not planned for: cannot happen (see the callers) */
    if (nt < 1) nt = 1;
    if ((size_t)nt > (scratch_bytes - one) / row + 1) nt = (int)((scratch_bytes - one) / row + 1); /* fewer threads */
    uint8_t *s = (uint8_t *)(((uintptr_t)scratch + INFER__ALIGN - 1) & ~(uintptr_t)(INFER__ALIGN - 1));
    g->mr = g->m < INFER__QGEMM_ROWS && g->isa->ukr1 ? 1 : g->isa->mr; /* 1: no work on padding rows */
    g->k4 = (g->k + 3) / 4;
    g->n_pa = (g->m + g->mr - 1) / g->mr, g->n_pb = (g->n + nr - 1) / nr;
    g->ap = s;
    s += (rows_pad * (size_t)g->k4 * 4 + INFER__ALIGN - 1) & ~(size_t)(INFER__ALIGN - 1);
    g->sa = (float *)(void *)s;
    g->za = (int32_t *)(void *)(s + rows_pad * 4);
    s += (rows_pad * 8 + INFER__ALIGN - 1) & ~(size_t)(INFER__ALIGN - 1);
    g->rows = s;
    g->row_bytes = infer__qgemm_row_bytes(g->k);
    if (g->n_pa >= nt) { /* bands of rows: one parallel region, no barrier */
        g->nt = nt;
        infer__parallel(cx, nt, nt, infer__qgemm_rows_task, g);
        return;
    }
    g->nt = (int)g->n_pa; /* few rows: pack A on as many threads as it has panels, then */
    infer__parallel(cx, g->nt, g->nt, infer__qgemm_pack_a_task, g);
    g->nt = (int)INFER__MIN((int64_t)nt, g->n_pb); /* bands of columns */
    infer__parallel(cx, g->nt, g->nt, infer__qgemm_cols_task, g);
}

/* The f32 GEMM as a job without its A (infer__qgemm_f32's arguments, 0 < k <= INFER__QGEMM_K_MAX):
   the caller sets a, or a row function (Conv: im2col row by row), and may set ldy_t,
   then runs it with infer__qgemm_run. */
static INFER__QGEMM_UNUSED void infer__qgemm_f32_job(infer__qgemm_job *g, const infer__qgemm_isa *isa, int64_t m,
                                                     int64_t n, int64_t k, const void *packed_b, const float *scale_b,
                                                     const float *bias, const infer__act *act, float *y) {
    memset(g, 0, sizeof *g);
    g->isa = isa, g->m = m, g->n = n, g->k = k;
    g->colsum = (const int32_t *)packed_b;
    g->bp = (const int8_t *)packed_b + (n + isa->nr - 1) / isa->nr * isa->nr * 4;
    g->sb = scale_b, g->bias = bias, g->act = act, g->y = y;
}

/* y[m][n] = act(scale_a[i] * scale_b[j] * C[i][j] + bias[j]) for f32 a[m][k] (element
   strides a_rs, a_cs: transA) quantized per row here, and B packed for the same isa by
   infer__qgemm_pack_b; scale_b [n], bias [n] or NULL, act NULL or an activation. scratch
   holds scratch_bytes >= infer__qgemm_scratch(m, k, nt) (for fewer threads than nt, the
   GEMM runs on fewer). Needs k <= INFER__QGEMM_K_MAX (else y is
   left as it is: callers check, and keep the f32 GEMM for deeper products). */
static INFER__QGEMM_UNUSED void infer__qgemm_f32(const infer__ctx *cx, const infer__qgemm_isa *isa, int64_t m, int64_t n,
                                                 int64_t k, const float *a, int64_t a_rs, int64_t a_cs,
                                                 const void *packed_b, const float *scale_b, const float *bias,
                                                 const infer__act *act, float *y, int nt, void *scratch,
                                                 size_t scratch_bytes) {
    infer__qgemm_job g;
    if (m <= 0 || n <= 0 || k > INFER__QGEMM_K_MAX) return;
    if (k <= 0) { /* C = 0 */
        int64_t i, j;
        for (i = 0; i < m; i++) {
            for (j = 0; j < n; j++) y[i * n + j] = bias ? bias[j] : 0;
            if (act) infer__act_apply_vec(isa->vec, act, y + i * n, n);
        }
        return;
    }
    infer__qgemm_f32_job(&g, isa, m, n, k, packed_b, scale_b, bias, act, y);
    g.a = a, g.a_rs = a_rs, g.a_cs = a_cs;
    infer__qgemm_run(cx, &g, nt, scratch, scratch_bytes);
}

/* The integer GEMM alone through the kernels (the tests' view): c[m][n] = sum_p
   (a[i][p] - za[i]) * B[p][j] for u8 a [m][k] (row stride a_rs) and packed B. */
static INFER__QGEMM_UNUSED void infer__qgemm_i32(const infer__ctx *cx, const infer__qgemm_isa *isa, int64_t m, int64_t n,
                                                 int64_t k, const uint8_t *a, int64_t a_rs, const int32_t *za,
                                                 const void *packed_b, int32_t *c, int nt, void *scratch,
                                                 size_t scratch_bytes) {
    infer__qgemm_job g;
    if (m <= 0 || n <= 0 || k <= 0 || k > INFER__QGEMM_K_MAX) return;
    memset(&g, 0, sizeof g);
    g.isa = isa, g.m = m, g.n = n, g.k = k, g.aq = a, g.a_rs = a_rs, g.a_cs = 1, g.za_in = za;
    g.colsum = (const int32_t *)packed_b;
    g.bp = (const int8_t *)packed_b + (n + isa->nr - 1) / isa->nr * isa->nr * 4;
    g.c = c;
    infer__qgemm_run(cx, &g, nt, scratch, scratch_bytes);
}

/* the vector primitives of the GEMM's ISA, for the activation epilogue (NULL: reference) */
static const infer__vec_isa *infer__vec_of(const infer__gemm_isa *isa) {
#if defined(INFER__HAVE_AVX2)
    return !isa ? NULL : isa == &infer__isa_avx512 ? &infer__vec_avx512 : &infer__vec_avx2;
#elif defined(INFER__HAVE_NEON)
    return !isa ? NULL : &infer__vec_neon;
#else
    (void)isa;
    return NULL;
#endif
}

#if defined(INFER__HAVE_GEMM_SIMD)
/* the epilogue of a MatMul's tiles: its bias per column and its activation */
typedef struct infer__mm_epi {
    const infer__gemm_isa *isa;
    const float *bias; /* [n] or NULL */
    const infer__act *act; /* or NULL */
} infer__mm_epi;
static void infer__mm_epi_tile(const void *arg, float *c, int64_t ldc, int64_t i0, int64_t j0, int64_t rows,
                               int64_t cols) {
    const infer__mm_epi *e = (const infer__mm_epi *)arg;
    (void)i0;
    e->isa->epi(c, ldc, rows, cols, NULL, e->bias ? e->bias + j0 : NULL, e->act);
}
#endif

/* infer__gemm_f32 for a MatMul/Gemm node, with B read from the node's pre-packed weights
   when session creation packed them (infer__cpu_pack); with an isa, bias (per column,
   or NULL) and act (or NULL) are applied to each tile as it is finished (without one,
   the caller applies them). */
static void infer__gemm_f32_node(const infer__ctx *cx, const infer__gemm_isa *isa, int64_t m, int64_t n, int64_t k,
                                 const float *a, int64_t a_rs, int64_t a_cs, const float *b, int64_t b_rs,
                                 int64_t b_cs, float *c, int nt, const float *bias, const infer__act *act) {
#if defined(INFER__HAVE_GEMM_SIMD)
    if (isa) {
        infer__gemm_job g;
        infer__mm_epi e;
        memset(&g, 0, sizeof g);
        g.isa = isa, g.m = m, g.n = n, g.k = k, g.a = a, g.a_rs = a_rs, g.a_cs = a_cs, g.c = c, g.share_a = 1;
        if (cx->packed) g.b_packed = cx->packed, g.b_cs = 1;
        else g.b = b, g.b_rs = b_rs, g.b_cs = b_cs;
        e.isa = isa, e.bias = bias, e.act = act && act->kind != INFER__ACT_NONE ? act : NULL;
        if (e.bias || e.act) g.epi = infer__mm_epi_tile, g.epi_arg = &e, infer__gemm_kepi(&g, NULL, e.bias, e.act);
        infer__gemm_f32_job_run(cx, &g, nt, cx->scratch, cx->scratch_bytes);
        return;
    }
#endif
    (void)bias, (void)act;
    infer__gemm_f32(cx, isa, m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c, nt, cx->scratch, cx->scratch_bytes);
}

static infer_status infer__matmul_f32(const infer__ctx *c, const infer__gemm_isa *isa) {
    const infer__mm_p *p = &c->p->mm;
    const float *a = (const float *)c->in[0]->data, *b = (const float *)c->in[1]->data;
    float *y = (float *)c->out[0]->data;
    int64_t idx[INFER_MAX_DIMS] = {0}, nb = infer__prod(p->batch, 0, p->n_batch), t, oa = 0, ob = 0;
    const float *bias = c->n_in > 2 && c->in[2] ? (const float *)c->in[2]->data : NULL; /* fused: one per column */
    int i, nt = infer__threads_for(c, (double)p->m * (double)p->n * (double)p->k);
    for (t = 0; t < nb; t++) {
        infer__gemm_f32_node(c, isa, p->m, p->n, p->k, a + oa * p->m * p->k, p->k, 1,
                             c->packed ? NULL : b + ob * p->k * p->n, /* a packed B's folded value may be freed */
                             p->n, 1, y + t * p->m * p->n, nt, bias, &p->act);
        for (i = p->n_batch - 1; i >= 0; i--) {
            oa += p->sa[i];
            ob += p->sb[i];
            if (++idx[i] < p->batch[i]) break;
            oa -= p->sa[i] * p->batch[i];
            ob -= p->sb[i] * p->batch[i];
            idx[i] = 0;
        }
    }
#if defined(INFER__HAVE_GEMM_SIMD)
    if (isa) return INFER_STATUS_OK; /* the tiles' epilogue applied both */
#endif
    if (bias) {
        int64_t r, j, rows = (int64_t)c->out[0]->n / (p->n ? p->n : 1);
        for (r = 0; r < rows; r++)
            for (j = 0; j < p->n; j++) y[r * p->n + j] += bias[j];
    }
    infer__act_apply_vec(infer__vec_of(isa), &p->act, y, (int64_t)c->out[0]->n);
    return INFER_STATUS_OK;
}

static infer_status infer__gemm_op_f32(const infer__ctx *c, const infer__gemm_isa *isa) {
    const infer__mm_p *p = &c->p->mm;
    const float *a = (const float *)c->in[0]->data, *b = (const float *)c->in[1]->data;
    const infer__val *cv = c->n_in > 2 ? c->in[2] : NULL;
    float *y = (float *)c->out[0]->data;
    int64_t i, j;
    int nt = infer__threads_for(c, (double)p->m * (double)p->n * (double)p->k);
    infer__gemm_f32_node(c, isa, p->m, p->n, p->k, a, p->trans_a ? 1 : p->k, p->trans_a ? p->m : 1, b,
                         p->trans_b ? 1 : p->n, p->trans_b ? p->k : 1, y, nt, NULL, NULL);
    for (i = 0; i < p->m; i++)
        for (j = 0; j < p->n; j++) {
            float v = p->alpha * y[i * p->n + j];
            if (cv && p->beta != 0) {
                const float *cd = (const float *)cv->data;
                int64_t ci = 0;
                if (cv->n_dims == 2) ci = (cv->dims[0] == 1 ? 0 : i) * cv->dims[1] + (cv->dims[1] == 1 ? 0 : j);
                else if (cv->n_dims == 1) ci = cv->dims[0] == 1 ? 0 : j;
                v += p->beta * cd[ci];
            }
            y[i * p->n + j] = v;
        }
    infer__act_apply_vec(infer__vec_of(isa), &p->act, y, p->m * p->n);
    return INFER_STATUS_OK;
}

static infer_status infer__matmul_ref(const infer__ctx *c) { return infer__matmul_f32(c, NULL); }
static infer_status infer__gemm_ref(const infer__ctx *c) { return infer__gemm_op_f32(c, NULL); }
#if defined(INFER__HAVE_AVX2)
static infer_status infer__matmul_f32_avx2(const infer__ctx *c) { return infer__matmul_f32(c, &infer__isa_avx2); }
static infer_status infer__matmul_f32_avx512(const infer__ctx *c) { return infer__matmul_f32(c, &infer__isa_avx512); }
static infer_status infer__gemm_f32_avx2(const infer__ctx *c) { return infer__gemm_op_f32(c, &infer__isa_avx2); }
static infer_status infer__gemm_f32_avx512(const infer__ctx *c) { return infer__gemm_op_f32(c, &infer__isa_avx512); }
#endif
#if defined(INFER__HAVE_NEON)
static infer_status infer__matmul_f32_neon(const infer__ctx *c) { return infer__matmul_f32(c, &infer__isa_neon); }
static infer_status infer__gemm_f32_neon(const infer__ctx *c) { return infer__gemm_op_f32(c, &infer__isa_neon); }
#endif

static int infer__conv_is_dw(const infer__conv_p *p); /* below, with Conv */
static int infer__conv_wino(const infer__conv_p *p);
#if defined(INFER__HAVE_AVX2)
static void infer__wino_pack(const struct infer__gemm_isa *isa, float *dst, const float *w, int64_t m, int64_t c, int e);
#endif
#if defined(INFER__HAVE_AVX2)
static infer_status infer__conv_f32_avx2(const infer__ctx *c); /* below, with Conv */
static infer_status infer__conv_f32_avx512(const infer__ctx *c);
#endif
#if defined(INFER__HAVE_NEON)
static infer_status infer__conv_f32_neon(const infer__ctx *c); /* below, with Conv */
#endif

/* -- MatMul/Gemm/Conv on int8 weights (issue 9) --

   infer-convert --weights int8 writes a weight W as DequantizeLinear(s8 W, f32 scale [n],
   axis = W's N axis; a Conv's: its output channels, axis 0), no zero point. Creation folds it to f32 (the reference path keeps
   that: dequantize + f32 GEMM, exact); on AVX2 or AVX-512 VNNI the consumer runs the int8
   GEMM instead: the s8 W and its scales are packed once (infer__cpu_pack: packed B, then
   scale [n]), the f32 copy is never made (infer__q8_defer; or freed, infer__release_folded,
   when it was), and bias and activation run in the qgemm epilogue. Without AVX2 the f32
   path stays (the portable int8 kernels are not measured against the f32 GEMM there).
   Gemm goes int8 only for alpha 1 and a C that is a bias of n values with beta 1 (or no C);
   Conv only for one group, 1-D or 2-D, not depthwise (its im2col rows are gathered and
   quantized one at a time, the output written transposed into NCHW: infer__conv_q8). */

/* The int8 GEMM of node c's weight: depth k, columns n, and where W keeps B[p][j] (element
   strides *b_rs, *b_cs); 0 when c is no MatMul/Gemm, or no 1-D/2-D Conv of one group with
   a GEMM (a depthwise one keeps its direct f32 kernel). A Conv runs, per batch item,
   y^T[oh * ow][m] = im2col(X)^T[oh * ow][k] x W^T[k][m], k = c * kh * kw: B is W^T. */
static int infer__q8_geom(const infer__ctx *c, int64_t *k, int64_t *n, int64_t *b_rs, int64_t *b_cs) {
    if (c->node->op == INFER__OP_CONV) {
        const infer__conv_p *p = &c->p->conv;
        if (p->n_sp > 2 || p->group != 1 || infer__conv_is_dw(p)) return 0;
        *k = p->c * p->k[0] * p->k[1] * p->k[2], *n = p->m, *b_rs = 1, *b_cs = *k;
        return 1;
    }
    if (c->node->op == INFER__OP_MATMUL || c->node->op == INFER__OP_GEMM) {
        const infer__mm_p *p = &c->p->mm;
        int tb = c->node->op == INFER__OP_GEMM && p->trans_b;
        *k = p->k, *n = p->n, *b_rs = tb ? 1 : p->n, *b_cs = tb ? p->k : 1;
        return 1;
    }
    return 0;
}

/* The DequantizeLinear node that makes input 1 of MatMul/Gemm/Conv node c from a constant
   s8 weight with per-output-channel f32 scales (axis N of a MatMul's [k][n], Gemm's [k][n]
   or transB [n][k]; axis 0 of a Conv's [m][c][kh][kw]) and no (or an all-zero) zero point;
   its s8 data and scales [n] through w and scale. -1 when input 1 is anything else, or
   the node cannot take the int8 path (infer__q8_geom). */
static int32_t infer__q8_weight(const infer__ctx *c, const int8_t **w, const float **scale) {
    const infer_model *m = c->m;
    const infer__node *n = c->node, *dq;
    const infer__val *b = c->n_in > 1 ? c->in[1] : NULL;
    const infer__tensor *x, *sc, *zp = NULL;
    int conv = n->op == INFER__OP_CONV;
    int32_t prod;
    int64_t axis, k, cols, b_rs, b_cs;
    size_t i;
    if (!infer__q8_geom(c, &k, &cols, &b_rs, &b_cs) || !b || b->kind != INFER__VAL_CONST || b->dtype != INFER_DTYPE_F32 ||
        (conv ? b->n_dims < 3 : b->n_dims != 2) || n->in[1] == INFER__ABSENT || k <= 0 || cols <= 0 ||
        k > INFER__QGEMM_K_MAX)
        return -1;
    if (n->op == INFER__OP_GEMM) {
        const infer__mm_p *p = &c->p->mm;
        const infer__val *cv = c->n_in > 2 ? c->in[2] : NULL;
        if (p->alpha != 1.0f) return -1;
        if (cv && p->beta != 0 && (p->beta != 1.0f || cv->n != (size_t)p->n || cv->n_dims < 1 || cv->dims[cv->n_dims - 1] != p->n))
            return -1;
    }
    prod = m->tensors[n->in[1]].producer;
    if (prod < 0 || (dq = &m->nodes[prod])->op != INFER__OP_DEQUANTIZE_LINEAR || dq->n_in < 2 ||
        dq->in[0] == INFER__ABSENT || dq->in[1] == INFER__ABSENT || infer__attr_i(dq, "block_size", 0) != 0)
        return -1;
    x = &m->tensors[dq->in[0]], sc = &m->tensors[dq->in[1]];
    if (dq->n_in > 2 && dq->in[2] != INFER__ABSENT) zp = &m->tensors[dq->in[2]];
    axis = infer__attr_i(dq, "axis", 1);
    if (axis < 0) axis += b->n_dims;
    if (axis != (conv || (n->op == INFER__OP_GEMM && c->p->mm.trans_b) ? 0 : 1)) return -1; /* the output channels */
    if (!x->data || x->dtype != INFER_DTYPE_I8 || x->n_dims != b->n_dims || x->data_bytes < (size_t)(k * cols))
        return -1;
    for (i = 0; i < (size_t)b->n_dims; i++)
        if (x->dims[i] != b->dims[i]) return -1;
    if (!sc->data || sc->dtype != INFER_DTYPE_F32 || sc->n_dims != 1 || sc->dims[0] != cols ||
        sc->data_bytes < (size_t)cols * 4)
        return -1;
    if (zp) {
        if (!zp->data || zp->dtype != INFER_DTYPE_I8 || zp->data_bytes < (size_t)cols || zp->n_dims != 1 || zp->dims[0] != cols)
            return -1;
        for (i = 0; i < (size_t)cols; i++)
            if (((const int8_t *)zp->data)[i]) return -1;
    }
    if (w) *w = (const int8_t *)x->data;
    if (scale) *scale = (const float *)sc->data;
    return prod;
}

/* rows of the int8 GEMM: a Gemm's or MatMul's m (a MatMul with a 2-D B has all rows of A
   in m: infer__shape_matmul); a Conv one GEMM per batch item over its output positions */
static int64_t infer__q8_rows(const infer__ctx *c) {
    if (c->node->op == INFER__OP_CONV) return c->p->conv.out[0] * c->p->conv.out[1] * c->p->conv.out[2];
    return c->p->mm.m;
}

/* The scratch the int8 path needs on top of the f32 one (shape functions). */
static size_t infer__q8_scratch(const infer__ctx *c) {
    int64_t k, n, b_rs, b_cs;
    if (infer__q8_weight(c, NULL, NULL) < 0) return 0;
    infer__q8_geom(c, &k, &n, &b_rs, &b_cs);
    return infer__qgemm_scratch(infer__q8_rows(c), k, c->n_threads);
}

#if defined(INFER__HAVE_AVX2)
/* MatMul/Gemm on the int8 GEMM: B, then its scales [n], pre-packed in c->packed */
static infer_status infer__mm_q8(const infer__ctx *c, const infer__qgemm_isa *isa) {
    const infer__mm_p *p = &c->p->mm;
    int ta = c->node->op == INFER__OP_GEMM && p->trans_a;
    const infer__val *bv = c->n_in > 2 && c->in[2] && !(c->node->op == INFER__OP_GEMM && p->beta == 0) ? c->in[2] : NULL;
    int64_t rows = infer__q8_rows(c);
    const float *scale = (const float *)(const void *)((const char *)c->packed + infer__qgemm_packed_bytes(isa, p->k, p->n));
    int nt = infer__threads_for(c, (double)rows * (double)p->n * (double)p->k);
    infer__qgemm_f32(c, isa, rows, p->n, p->k, (const float *)c->in[0]->data, ta ? 1 : p->k, ta ? p->m : 1, c->packed, scale,
                     bv ? (const float *)bv->data : NULL, p->act.kind != INFER__ACT_NONE ? &p->act : NULL,
                     (float *)c->out[0]->data, nt, c->scratch, c->scratch_bytes);
    return INFER_STATUS_OK;
}
static infer_status infer__matmul_q8_avx2(const infer__ctx *c) { return infer__mm_q8(c, &infer__qisa_avx2); }
static infer_status infer__matmul_q8_vnni(const infer__ctx *c) { return infer__mm_q8(c, &infer__qisa_vnni); }
static infer_status infer__gemm_q8_avx2(const infer__ctx *c) { return infer__mm_q8(c, &infer__qisa_avx2); }
static infer_status infer__gemm_q8_vnni(const infer__ctx *c) { return infer__mm_q8(c, &infer__qisa_vnni); }
static infer_status infer__conv_q8_avx2(const infer__ctx *c); /* below, with Conv */
static infer_status infer__conv_q8_vnni(const infer__ctx *c);
#endif

/* The int8 isa of kernel fn, or NULL when fn is no int8 kernel. */
static const infer__qgemm_isa *infer__q8_isa(infer__kernel_fn fn) {
#if defined(INFER__HAVE_AVX2)
    if (fn == infer__matmul_q8_avx2 || fn == infer__gemm_q8_avx2 || fn == infer__conv_q8_avx2) return &infer__qisa_avx2;
    if (fn == infer__matmul_q8_vnni || fn == infer__gemm_q8_vnni || fn == infer__conv_q8_vnni) return &infer__qisa_vnni;
#endif
    (void)fn;
    return NULL;
}

/* SIMD variants of the CPU kernels, best first. Session creation records the first one
   the CPU runs (infer__cpu_prepare); an op without one runs its table kernel, "ref". */
typedef struct infer__variant {
    int op, cpu; /* INFER__OP_*, INFER__CPU_* bits it needs */
    const char *name;
    infer__kernel_fn fn;
} infer__variant;

#if defined(INFER__HAVE_AVX2)
static infer_status infer__global_pool_f32_avx2(const infer__ctx *c); /* with the pools below */
static infer_status infer__max_pool_f32_avx2(const infer__ctx *c);
static infer_status infer__transpose_avx2(const infer__ctx *c); /* with the reference's */
#endif
#define INFER__VEC_ROWS(op, fn) {op, INFER__CPU_AVX512, "avx512", fn##_avx512}, {op, INFER__CPU_AVX2, "avx2", fn##_avx2},
#define INFER__VEC_ROWS_NEON(op, fn) {op, INFER__CPU_NEON, "neon", fn##_neon},
static const infer__variant infer__variants[] = {
#if defined(INFER__HAVE_AVX2)
    {INFER__OP_MATMUL, INFER__CPU_AVX512, "avx512", infer__matmul_f32_avx512},
    {INFER__OP_MATMUL, INFER__CPU_AVX2, "avx2", infer__matmul_f32_avx2},
    {INFER__OP_GEMM, INFER__CPU_AVX512, "avx512", infer__gemm_f32_avx512},
    {INFER__OP_GEMM, INFER__CPU_AVX2, "avx2", infer__gemm_f32_avx2},
    {INFER__OP_CONV, INFER__CPU_AVX512, "avx512", infer__conv_f32_avx512},
    {INFER__OP_CONV, INFER__CPU_AVX2, "avx2", infer__conv_f32_avx2},
    INFER__VEC_ROWS(INFER__OP_RELU, infer__unary_f32)
    INFER__VEC_ROWS(INFER__OP_LEAKY_RELU, infer__unary_f32)
    INFER__VEC_ROWS(INFER__OP_SIGMOID, infer__unary_f32)
    INFER__VEC_ROWS(INFER__OP_TANH, infer__unary_f32)
    INFER__VEC_ROWS(INFER__OP_GELU, infer__unary_f32)
    INFER__VEC_ROWS(INFER__OP_SWISH, infer__unary_f32)
    INFER__VEC_ROWS(INFER__OP_EXP, infer__unary_f32)
    INFER__VEC_ROWS(INFER__OP_ERF, infer__unary_f32)
    INFER__VEC_ROWS(INFER__OP_ADD, infer__binary_f32)
    INFER__VEC_ROWS(INFER__OP_SUB, infer__binary_f32)
    INFER__VEC_ROWS(INFER__OP_MUL, infer__binary_f32)
    INFER__VEC_ROWS(INFER__OP_DIV, infer__binary_f32)
    INFER__VEC_ROWS(INFER__OP_SOFTMAX, infer__softmax_f32)
    INFER__VEC_ROWS(INFER__OP_LOG_SOFTMAX, infer__softmax_f32)
    INFER__VEC_ROWS(INFER__OP_LAYER_NORM, infer__layer_norm_f32)
    INFER__VEC_ROWS(INFER__OP_ATTENTION, infer__attention_f32)
    {INFER__OP_GLOBAL_AVERAGE_POOL, INFER__CPU_AVX2, "avx2", infer__global_pool_f32_avx2},
    {INFER__OP_MAX_POOL, INFER__CPU_AVX2, "avx2", infer__max_pool_f32_avx2},
    {INFER__OP_TRANSPOSE, INFER__CPU_AVX2, "avx2", infer__transpose_avx2},
#endif
#if defined(INFER__HAVE_NEON)
    {INFER__OP_MATMUL, INFER__CPU_NEON, "neon", infer__matmul_f32_neon},
    {INFER__OP_GEMM, INFER__CPU_NEON, "neon", infer__gemm_f32_neon},
    {INFER__OP_CONV, INFER__CPU_NEON, "neon", infer__conv_f32_neon},
    INFER__VEC_ROWS_NEON(INFER__OP_RELU, infer__unary_f32)
    INFER__VEC_ROWS_NEON(INFER__OP_LEAKY_RELU, infer__unary_f32)
    INFER__VEC_ROWS_NEON(INFER__OP_SIGMOID, infer__unary_f32)
    INFER__VEC_ROWS_NEON(INFER__OP_TANH, infer__unary_f32)
    INFER__VEC_ROWS_NEON(INFER__OP_GELU, infer__unary_f32)
    INFER__VEC_ROWS_NEON(INFER__OP_SWISH, infer__unary_f32)
    INFER__VEC_ROWS_NEON(INFER__OP_EXP, infer__unary_f32)
    INFER__VEC_ROWS_NEON(INFER__OP_ERF, infer__unary_f32)
    INFER__VEC_ROWS_NEON(INFER__OP_ADD, infer__binary_f32)
    INFER__VEC_ROWS_NEON(INFER__OP_SUB, infer__binary_f32)
    INFER__VEC_ROWS_NEON(INFER__OP_MUL, infer__binary_f32)
    INFER__VEC_ROWS_NEON(INFER__OP_DIV, infer__binary_f32)
    INFER__VEC_ROWS_NEON(INFER__OP_SOFTMAX, infer__softmax_f32)
    INFER__VEC_ROWS_NEON(INFER__OP_LOG_SOFTMAX, infer__softmax_f32)
    INFER__VEC_ROWS_NEON(INFER__OP_LAYER_NORM, infer__layer_norm_f32)
    INFER__VEC_ROWS_NEON(INFER__OP_ATTENTION, infer__attention_f32)
#endif
#if defined(INFER__HAVE_AVX2) /* int8 kernels: chosen by infer__cpu_variant, listed for their names */
    {INFER__OP_COUNT, INFER__CPU_AVX512VNNI, "int8_vnni", infer__matmul_q8_vnni},
    {INFER__OP_COUNT, INFER__CPU_AVX512VNNI, "int8_vnni", infer__gemm_q8_vnni},
    {INFER__OP_COUNT, INFER__CPU_AVX512VNNI, "int8_vnni", infer__conv_q8_vnni},
    {INFER__OP_COUNT, INFER__CPU_AVX2, "int8_avx2", infer__matmul_q8_avx2},
    {INFER__OP_COUNT, INFER__CPU_AVX2, "int8_avx2", infer__gemm_q8_avx2},
    {INFER__OP_COUNT, INFER__CPU_AVX2, "int8_avx2", infer__conv_q8_avx2},
#endif
    {INFER__OP_COUNT, 0, "ref", NULL}};

static infer__kernel_fn infer__cpu_variant(const infer__ctx *c, int force_reference) {
    int cpu = force_reference ? 0 : infer__cpu_features();
    size_t i;
#if defined(INFER__HAVE_AVX2)
    if ((cpu & (INFER__CPU_AVX2 | INFER__CPU_AVX512VNNI)) && infer__q8_weight(c, NULL, NULL) >= 0) {
        int op = (int)c->node->op, vnni = (cpu & INFER__CPU_AVX512VNNI) != 0;
        if (op == INFER__OP_CONV) return vnni ? infer__conv_q8_vnni : infer__conv_q8_avx2;
        if (op == INFER__OP_MATMUL) return vnni ? infer__matmul_q8_vnni : infer__matmul_q8_avx2;
        return vnni ? infer__gemm_q8_vnni : infer__gemm_q8_avx2;
    }
#endif
    for (i = 0; infer__variants[i].fn; i++)
        if (infer__variants[i].op == (int)c->node->op && (infer__variants[i].cpu & cpu) == infer__variants[i].cpu)
            return infer__variants[i].fn;
    return infer__ops[c->node->op].kernel;
}

static const char *infer__cpu_kernel_name(infer__kernel_fn fn) {
    size_t i;
    for (i = 0; infer__variants[i].fn; i++)
        if (infer__variants[i].fn == fn) return infer__variants[i].name;
    return "ref";
}

#if defined(INFER__HAVE_AVX2)
/* Lanes of a vector and most vectors a band of a conv writing channels-last, on AVX-512
   (wide) or AVX2: infer__pw_rows512 and infer__pw_rows256 */
#define INFER__PW_VW(wide) ((wide) ? 16 : 8)
#define INFER__PW_VMAX(wide) ((wide) ? 4 : 3)
/* The output channels of the band from channel j of m: as few bands as INFER__PW_VMAX
   allows, as even as whole vectors make them (32 channels on AVX2: 16 + 16, not 24 + 8,
   whose 8-wide band loads a broadcast for every FMA), the last cut at m's last vector */
static int64_t infer__pw_band(int wide, int64_t m, int64_t j) {
    const int64_t vw = INFER__PW_VW(wide), vmax = INFER__PW_VMAX(wide), vecs = (m + vw - 1) / vw;
    const int64_t bands = (vecs + vmax - 1) / vmax;
    return INFER__MIN(vw * ((vecs + bands - 1) / bands), (m - j + vw - 1) / vw * vw);
}

/* W^T and the bias of a conv writing channels-last (infer__conv_nhwc_task), band by band
   (infer__pw_band): the band from channel j at j * (kk + 1), as [kk][width] then the bias
   [width] (zeros past m), so a band's weights are contiguous */
static size_t infer__pw_nhwc_pack(const infer__conv_p *p, int wide, const float *w, const float *bias, float *dst) {
    const int64_t kk = p->c * p->k[0] * p->k[1];
    int64_t q, j, e, wd;
    for (j = 0; dst && j < p->m; j += wd) {
        float *d = dst + j * (kk + 1);
        wd = infer__pw_band(wide, p->m, j);
        for (q = 0; q <= kk; q++)
            for (e = 0; e < wd; e++)
                d[q * wd + e] = j + e >= p->m ? 0.0f : q < kk ? w[(j + e) * kk + q] : bias ? bias[j + e] : 0.0f;
    }
    return (size_t)((kk + 1) * ((p->m + 15) / 16 * 16));
}
#endif

/* Pre-packing (DESIGN.md "Memory planner"): the floats of node c's weights packed for
   its kernel fn, written to dst when dst is not NULL; 0 when the kernel packs nothing.
   Session creation calls it once per node. A Conv's W (GEMM operand A, per group) and a
   MatMul/Gemm's B are packed when they are constants (initializers or folded) and the
   kernel will read the panels on every run (not the few-rows or depthwise paths): a
   transposed B (a classifier's Gemm) is packed even for one row, as the packed GEMM
   would otherwise pack it on every run. A Winograd conv's tile size is chosen here, for
   the shapes at creation, and kept (*wino) for the kernel. */
static size_t infer__cpu_pack(const infer__ctx *c, infer__kernel_fn fn, float *dst, int *wino) {
    const infer__qgemm_isa *qisa = infer__q8_isa(fn);
    *wino = 0;
    if (qisa) { /* s8 B packed (infer__qgemm_packed_bytes, a multiple of 4), then scale [n] */
        const int8_t *w;
        const float *scale;
        int64_t k, n, b_rs, b_cs;
        size_t pb;
        if (infer__q8_weight(c, &w, &scale) < 0) return 0; /* cannot happen: the kernel was chosen by it */
        infer__q8_geom(c, &k, &n, &b_rs, &b_cs);
        pb = infer__qgemm_packed_bytes(qisa, k, n);
        if (dst) {
            infer__qgemm_pack_b(qisa, k, n, w, b_rs, b_cs, dst);
            memcpy((char *)dst + pb, scale, (size_t)n * sizeof(float));
        }
        return pb / sizeof(float) + (size_t)n;
    }
#if defined(INFER__HAVE_GEMM_SIMD)
    const infer__gemm_isa *isa = NULL;
    const infer__val *w = c->n_in > 1 ? c->in[1] : NULL;
#if defined(INFER__HAVE_AVX2)
    if (fn == infer__conv_f32_avx2 || fn == infer__matmul_f32_avx2 || fn == infer__gemm_f32_avx2) isa = &infer__isa_avx2;
    if (fn == infer__conv_f32_avx512 || fn == infer__matmul_f32_avx512 || fn == infer__gemm_f32_avx512)
        isa = &infer__isa_avx512;
#endif
#if defined(INFER__HAVE_NEON)
    if (fn == infer__conv_f32_neon || fn == infer__matmul_f32_neon || fn == infer__gemm_f32_neon) isa = &infer__isa_neon;
#endif
    if (!isa || !w || w->kind != INFER__VAL_CONST || w->dtype != INFER_DTYPE_F32) return 0;
    if (c->node->op == INFER__OP_CONV) {
        const infer__conv_p *p = &c->p->conv;
        int64_t mg = p->m / p->group, kk = p->c / p->group * p->k[0] * p->k[1] * p->k[2], g;
        size_t per = infer__packed_a_floats(isa, mg, kk);
#if defined(INFER__HAVE_AVX2)
        if (p->in_nhwc && infer__conv_is_dw(p)) { /* channels-last depthwise: W^T, [k * k][c] */
            int64_t ch, k, kk2 = p->k[0] * p->k[1];
            for (ch = 0; dst && ch < p->c; ch++)
                for (k = 0; k < kk2; k++) dst[k * p->c + ch] = ((const float *)w->data)[ch * kk2 + k];
            return (size_t)(kk2 * p->c);
        }
        if (p->out_nhwc) /* a conv writing channels-last: W^T and the bias */
            return infer__pw_nhwc_pack(p, isa == &infer__isa_avx512, (const float *)w->data,
                                       c->n_in > 2 && c->in[2] ? (const float *)c->in[2]->data : NULL, dst);
#endif
        if (p->n_sp > 2 || infer__conv_is_dw(p) || mg <= 0 || kk <= 0) return 0;
#if defined(INFER__HAVE_AVX2)
        if ((*wino = infer__conv_wino(p)) != 0) { /* (e + 2)^2 transformed weights (infer__wino_pack) */
            int e = *wino;
            if (dst) infer__wino_pack(isa, dst, (const float *)w->data, p->m, p->c, e);
            return (size_t)((e + 2) * (e + 2)) * infer__packed_a_floats(isa, p->m, p->c);
        }
#endif
        for (g = 0; dst && g < p->group; g++)
            infer__pack_a_all(isa, dst + (size_t)g * per, (const float *)w->data + g * mg * kk, kk, 1, mg, kk);
        return per * (size_t)p->group;
    } else {
        const infer__mm_p *p = &c->p->mm;
        int trans_b = c->node->op == INFER__OP_GEMM && p->trans_b;
        /* few rows read a row-major B in place (infer__gemm_f32_job_run); a transposed B is packed */
        if ((p->m < INFER__GEMM_ROWS && !trans_b) || p->n <= 0 || p->k <= 0 || w->n_dims != 2) return 0;
        if (dst) infer__pack_b_all(isa, dst, (const float *)w->data, trans_b ? 1 : p->n, trans_b ? p->k : 1, p->n, p->k);
        return infer__packed_b_floats(isa, p->n, p->k);
    }
#else
    (void)c, (void)fn, (void)dst;
    return 0;
#endif
}

/* -- Conv: direct, over up to 3 spatial dims (unused ones have size 1) -- */

/* Range of output positions o with 0 <= o*s - pb + kk*d < in. */
static void infer__valid_range(int64_t out, int64_t in, int64_t s, int64_t pb, int64_t off, int64_t *lo, int64_t *hi) {
    /* need o*s >= pb - off and o*s < in + pb - off */
    int64_t a = pb - off, b = in + pb - off;
    *lo = a <= 0 ? 0 : (a + s - 1) / s;
    *hi = b <= 0 ? 0 : (b + s - 1) / s;
    if (*hi > out) *hi = out;
    if (*lo > *hi) *lo = *hi;
}

/* job = (batch n, output channel m): one output plane */
static void infer__conv_ref_job(void *arg, int64_t job) {
    const infer__ctx *c = (const infer__ctx *)arg;
    const infer__conv_p *p = &c->p->conv;
    const float *x = (const float *)c->in[0]->data, *w = (const float *)c->in[1]->data;
    const float *bias = c->n_in > 2 && c->in[2] ? (const float *)c->in[2]->data : NULL;
    int64_t cg = p->c / p->group, mg = p->m / p->group;
    int64_t in_sz = p->in[0] * p->in[1] * p->in[2], out_sz = p->out[0] * p->out[1] * p->out[2];
    int64_t ksz = p->k[0] * p->k[1] * p->k[2];
    int64_t n = job / p->m, m = job % p->m, g = m / mg, ci, k0, k1, k2, o0, o1, o2, i;
    float *yp = (float *)c->out[0]->data + job * out_sz;
    const float *rp = p->res ? (const float *)p->res->data + job * out_sz : NULL; /* may be yp itself */
    for (i = 0; i < out_sz; i++) yp[i] = (bias ? bias[m] : 0.0f) + (rp ? rp[i] : 0.0f);
    for (ci = 0; ci < cg; ci++) {
        const float *xp = x + (n * p->c + g * cg + ci) * in_sz;
        const float *wp = w + (m * cg + ci) * ksz;
        for (k0 = 0; k0 < p->k[0]; k0++)
            for (k1 = 0; k1 < p->k[1]; k1++)
                for (k2 = 0; k2 < p->k[2]; k2++) {
                    float wv = wp[(k0 * p->k[1] + k1) * p->k[2] + k2];
                    int64_t lo0, hi0, lo1, hi1, lo2, hi2;
                    infer__valid_range(p->out[0], p->in[0], p->s[0], p->pb[0], k0 * p->d[0], &lo0, &hi0);
                    infer__valid_range(p->out[1], p->in[1], p->s[1], p->pb[1], k1 * p->d[1], &lo1, &hi1);
                    infer__valid_range(p->out[2], p->in[2], p->s[2], p->pb[2], k2 * p->d[2], &lo2, &hi2);
                    for (o0 = lo0; o0 < hi0; o0++)
                        for (o1 = lo1; o1 < hi1; o1++) {
                            int64_t i0 = o0 * p->s[0] - p->pb[0] + k0 * p->d[0];
                            int64_t i1 = o1 * p->s[1] - p->pb[1] + k1 * p->d[1];
                            const float *xr = xp + (i0 * p->in[1] + i1) * p->in[2] - p->pb[2] + k2 * p->d[2];
                            float *yr = yp + (o0 * p->out[1] + o1) * p->out[2];
                            for (o2 = lo2; o2 < hi2; o2++) yr[o2] += wv * xr[o2 * p->s[2]];
                        }
                }
    }
}

static infer_status infer__conv_ref(const infer__ctx *c) {
    const infer__conv_p *p = &c->p->conv;
    int64_t out_sz = p->out[0] * p->out[1] * p->out[2], nm = p->n * p->m;
    double work = (double)nm * (double)out_sz * (double)(p->c / p->group * p->k[0] * p->k[1] * p->k[2]);
    infer__parallel(c, infer__threads_for(c, work), nm, infer__conv_ref_job, (void *)c);
    infer__act_apply(&p->act, (float *)c->out[0]->data, nm * out_sz);
    return INFER_STATUS_OK;
}

/* -- Conv on the packed GEMM, and depthwise Conv (AVX2+FMA, AVX-512) --

   Activations are NCHW, except where the layout pass (infer__layout_pass, section 7) keeps
   a depthwise chain channels-last: those convs run the NHWC kernels below (depthwise, and
   infer__conv_nhwc_task for what writes NHWC). Otherwise, for each (batch n, group g):
       Y[mg][oh * ow] = W[mg][cg * kh * kw] x im2col(X)[cg * kh * kw][oh * ow]
   on the packed GEMM. A 1x1, stride-1, unpadded conv reads X itself as B. Others pack
   B's blocks straight from the image (implicit im2col, infer__conv_pack_b): no im2col
   buffer exists. W may come pre-packed (infer__cpu_pack). Bias and activation run as the
   GEMM's epilogue on each finished tile. A depthwise conv (group == C == M: one 3x3 or
   5x5 filter per channel) is no GEMM: a direct kernel over output rows, 8 or 16 outputs
   of a row at a time. 3-D convs run the reference. */

/* One (batch, group) of a 1-D or 2-D conv seen as 2-D (a 1-D conv has height 1). */
typedef struct infer__conv2 {
    const float *x;            /* the group's input channels [cg][ih][iw] */
    const float *bias;         /* the group's [mg], or NULL */
    const infer__act *act;
    const struct infer__gemm_isa *isa; /* its tile epilogue applies bias and act */
    void (*even)(float *d, const float *x, int64_t n); /* d[i] = x[2 i], or NULL */
    int64_t ih, iw, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw;
} infer__conv2;

/* Depthwise: one filter per channel, 3x3 or 5x5, stride 1 or 2 both ways, dilation 1. */
static int infer__conv_is_dw(const infer__conv_p *p) {
    return p->n_sp == 2 && p->group == p->c && p->group == p->m && p->k[0] == p->k[1] && (p->k[0] == 3 || p->k[0] == 5) &&
           p->s[0] == p->s[1] && p->s[0] <= 2 && p->d[0] == 1 && p->d[1] == 1;
}

/* Floats of a depthwise conv's zero-padded input plane [h2][w2]: the padding on every
   side, room on the right for 16 outputs of SIMD reads past a narrow row, and below for
   the rows of one output row past the last (computed in pairs, stored once). */
static int64_t infer__conv_dw_plane(const infer__conv_p *p, int64_t *h2, int64_t *w2) {
    int64_t h = p->in[0] + p->pb[0] + p->pe[0] + p->s[0], w = p->in[1] + p->pb[1] + p->pe[1] + 16 * p->s[1] + p->k[1];
    if (h2) *h2 = h;
    if (w2) *w2 = w;
    return h * w;
}

#define INFER__DW_CB_W 16 /* depthwise outputs up to this wide go 8 channels at a time (x86) */

/* Floats a thread of the channel-blocked depthwise conv needs (infer__conv_dw_cb_task_avx2:
   the 8 channels' padded windows and outputs), or 0 when the plane runs the row kernels */
static int64_t infer__conv_dw_cb(const infer__conv_p *p) {
#if defined(INFER__HAVE_AVX2)
    if (p->out[1] > INFER__DW_CB_W) return 0;
    return (((p->out[0] - 1) * p->s[0] + p->k[0]) * ((p->out[1] - 1) * p->s[1] + p->k[1]) + p->out[0] * p->out[1]) * 8;
#else
    (void)p;
    return 0;
#endif
}

/* A 1x1 conv without stride or padding: X itself is the GEMM's B */
static int infer__conv_pointwise(const infer__conv_p *p) {
    return p->k[0] * p->k[1] * p->k[2] == 1 && p->s[0] * p->s[1] * p->s[2] == 1 && !p->pb[0] && !p->pb[1] && !p->pb[2] &&
           !p->pe[0] && !p->pe[1] && !p->pe[2];
}

/* -- Conv 3x3, stride 1, by Winograd F(4x4, 3x3) and F(2x2, 3x3) (x86: transforms 16 tiles
   wide on AVX-512, 8 on AVX2; the GEMM of the isa) --

   An e x e block of one output channel k (a tile; e = 4 or 2, a = e + 2) is
       Y = A^T [ sum_c U[k][c] (.) V[c] ] A,   U[k][c] = G g[k][c] G^T,   V[c] = B^T d[c] B
   where d[c] is the tile's a x a input window in channel c, g[k][c] the 3 x 3 filter, (.) the
   element-wise product and B^T (a x a), G (a x 3), A^T (e x a) the transforms of the points 0,
   +-1, (+-2,) infinity. The sum over c at each of the a^2 positions xi is a GEMM,
   M[xi] (m x tiles) = U[xi] (m x c) x V[xi] (c x tiles): a^2 multiplies a (k, c, tile) where the
   direct sum takes 9 e^2 (F(4x4): 36 against 144, F(2x2): 16 against 36), and no im2col. U is
   computed in double and packed once at session creation as a^2 GEMM A operands (4x, or
   1.8x, the weight's floats; infer__cpu_pack). F(2x2) is taken when W has 512 x 512 filters
   or more, whose F(4x4) weights (36 MB) would be read from memory every run in a ResNet's
   last layers (7 x 7 images: few tiles to share the reads), and from 256 x 256 when the
   run has few tiles (infer__conv_wino). A run takes the tiles in blocks
   of whole rows of tiles (across the batch), sized so a block's V and M stay near L2: the
   input transform writes V straight into the GEMM's packed B panels, the a^2 GEMMs run one
   a task, and the output transform adds the bias, applies the activation and writes NCHW.
   With enough blocks, each thread runs whole blocks with its own V and M, so nothing
   crosses between cores; otherwise threads split each block's channels and GEMMs. Each
   value is computed the same way on any thread, so results do not depend on the thread
   count. The transforms' constants (5, 8, 1/24) cost some bits against the direct sum:
   up to 1.3e-5 of the output's scale on tests/test_conv.c's shapes (the direct path: 9e-7).
   Taken with a constant W and 16+ input and output channels (infer__conv_wino): W's shape
   alone decides that, as the weights are packed once and infer_session_set_dims may change
   the batch and image sizes later; the tile size, chosen for the shapes at creation, stays
   with the packed weights (the scratch is planned for either). */

#define INFER__WINO_TILES 64         /* at least this many tiles a block (whole rows of tiles) */
#define INFER__WINO_FLOATS (1 << 18) /* or as many as keep V + M of a block in 1 MiB */
#define INFER__WINO_F2 (1 << 18)     /* F(2x2, 3x3) from this many filters (m x c) */

/* The tile size e (4 or 2) Conv p runs as Winograd F(e x e, 3x3) with when its W is a
   constant, for p's shapes; 0: not (W's shape alone decides that). F(2x2) from
   INFER__WINO_F2 filters, and from a quarter of them where F(4x4)'s GEMMs would have fewer
   columns (tiles, every image's) than one full panel: its 2.2x as many weights are then
   read for too few columns to pay for themselves (ResNet-50's 14 x 14 layer at batch 1,
   16 tiles: 28% faster in F(2x2); at batch 8, 128 tiles, F(4x4) is 7-9% faster). */
static int infer__conv_wino(const infer__conv_p *p) {
#if defined(INFER__HAVE_AVX2)
    double filters = (double)p->c * (double)p->m, tiles4;
    if (p->n_sp != 2 || p->group != 1 || p->k[0] != 3 || p->k[1] != 3 || p->s[0] != 1 || p->s[1] != 1 ||
        p->d[0] != 1 || p->d[1] != 1 || p->c < 16 || p->m < 16)
        return 0;
    tiles4 = (double)p->n * (double)((p->out[0] + 3) / 4) * (double)((p->out[1] + 3) / 4);
    return filters >= INFER__WINO_F2 || (filters >= INFER__WINO_F2 / 4 && tiles4 < INFER__GEMM_NR_MAX) ? 2 : 4;
#else
    (void)p;
    return 0;
#endif
}

/* The blocks of conv p with tile size e: tile rows a block (the return value), how many
   blocks, the most tiles in one */
static int64_t infer__wino_rows(const infer__conv_p *p, int64_t e, int64_t *blocks, int64_t *max_tiles) {
    int64_t tw = INFER__MAX(1, (p->out[1] + e - 1) / e), th = (p->out[0] + e - 1) / e, pos = (e + 2) * (e + 2);
    int64_t tiles = INFER__MAX(INFER__WINO_TILES, INFER__WINO_FLOATS / (pos * (p->c + p->m)));
    int64_t rows = INFER__MAX(1, INFER__MIN((tiles + tw - 1) / tw, p->n * th));
    if (blocks) *blocks = (p->n * th + rows - 1) / rows;
    if (max_tiles) *max_tiles = rows * tw;
    return rows;
}

/* Columns of an input task's row phases (infer__wino_in): tw rounded up to 16, plus 16 */
static int64_t infer__wino_sw(int64_t tw) { return (tw + 15) / 16 * 16 + 16; }

/* Floats of one slice of a Winograd conv's scratch, for nt tasks sharing it: V [a^2][c][max
   tiles], M [a^2][m][max tiles] (+ 16 floats read past the last), and per task its rows (a
   rows and one padded input row, e phases each) and the GEMM's packed B block (KC x up to
   NC tiles rounded up to 32); 0 on overflow. Through layout: floats of V, of M, of one
   task's rows and of one packed block. */
static size_t infer__wino_slice(const infer__conv_p *p, int64_t e, int nt, size_t layout[4]) {
    int64_t tiles, tw = (p->out[1] + e - 1) / e, pos = (e + 2) * (e + 2), bp;
    size_t v, mm, line, all;
    infer__wino_rows(p, e, NULL, &tiles);
    bp = (tiles + INFER__GEMM_NR_MAX - 1) / INFER__GEMM_NR_MAX * INFER__GEMM_NR_MAX;
    bp = INFER__GEMM_KC * INFER__MIN(bp, INFER__GEMM_NC);
    line = (size_t)((e + 3) * e * infer__wino_sw(tw));
    if (!infer__mul((size_t)tiles, (size_t)p->c, &v) || !infer__mul(v, (size_t)pos, &v) ||
        !infer__mul((size_t)tiles, (size_t)p->m, &mm) || !infer__mul(mm, (size_t)pos, &mm) || !infer__add(mm, 16, &mm) ||
        !infer__mul(line + (size_t)bp, (size_t)(nt < 1 ? 1 : nt), &all) || !infer__add(all, v, &all) ||
        !infer__add(all, mm, &all) || all > SIZE_MAX / 64)
        return 0;
    if (layout) layout[0] = v, layout[1] = mm, layout[2] = line, layout[3] = (size_t)bp;
    return all;
}

/* Scratch bytes of the Winograd conv p on nt threads: one slice per thread when there are
   blocks enough for threads to take whole ones (2 a thread), else one; for either tile
   size W's filters may take (infer__conv_wino), as the weights keep the one chosen at
   creation (infer__cpu_pack) when infer_session_set_dims changes the shapes */
static int infer__wino_scratch(const infer__conv_p *p, int nt, size_t *bytes) {
    const double filters = (double)p->c * (double)p->m;
    int64_t e, blocks;
    *bytes = 0;
    for (e = filters >= INFER__WINO_F2 / 4 ? 2 : 4; e <= (filters >= INFER__WINO_F2 ? 2 : 4); e += 2) {
        size_t slice, b;
        int whole;
        infer__wino_rows(p, e, &blocks, NULL);
        whole = nt > 1 && blocks >= 2 * nt;
        slice = infer__wino_slice(p, e, whole ? 1 : nt, NULL);
        if (!slice || !infer__mul(slice, sizeof(float) * (size_t)(whole ? nt : 1), &b) || !infer__add(b, INFER__ALIGN, &b))
            return 0;
        *bytes = INFER__MAX(*bytes, b);
    }
    return 1;
}

/* Scratch bytes of the SIMD Conv on nt threads: the GEMM's packing buffers for one
   (batch, group), without the A block when W is a constant (it is pre-packed at session
   creation); a padded input plane per thread for a depthwise conv; none for 3-D convs
   (section 5 plans it). */
#define INFER__PW_CHUNK 48 /* positions a general conv gathers at a time (a multiple of every R) */
#define INFER__PW_PF_W 32  /* W^T rows a band's first tile prefetches ahead (the weights come from memory) */

/* Scratch floats a task of the channels-last general conv needs (0 for a 1x1 one) */
static int64_t infer__conv_nhwc_rows(const infer__conv_p *p) {
    return infer__conv_pointwise(p) ? 0 : INFER__PW_CHUNK * p->c * p->k[0] * p->k[1];
}

static int infer__conv_f32_scratch(const infer__conv_p *p, int nt, int w_const, size_t *bytes) {
#if defined(INFER__HAVE_AVX2) || defined(INFER__HAVE_NEON)
    const int simd = 1;
#else
    const int simd = 0; /* the reference kernel needs none */
#endif
    *bytes = 0;
    if (!simd || p->n_sp > 2) return 1;
    if (p->in_nhwc && infer__conv_is_dw(p)) return 1; /* channels-last depthwise: none */
    if (p->out_nhwc) /* channels-last out (infer__conv_nhwc_task): a general conv's window rows */
        return !infer__conv_nhwc_rows(p) ||
               (infer__mul((size_t)infer__conv_nhwc_rows(p), sizeof(float) * (size_t)(nt < 1 ? 1 : nt), bytes) &&
                infer__add(*bytes, INFER__ALIGN, bytes));
    if (infer__conv_is_dw(p)) { /* the sides are < 2^43 each, their product may not fit */
        int64_t h2, w2, cb = infer__conv_dw_cb(p);
        infer__conv_dw_plane(p, &h2, &w2);
        if (cb) h2 = cb, w2 = 1; /* 8 channels' windows and outputs instead of a padded plane */
        return infer__mul((size_t)h2, (size_t)w2, bytes) && infer__mul(*bytes, sizeof(float) * (size_t)(nt < 1 ? 1 : nt), bytes) &&
               infer__add(*bytes, INFER__ALIGN, bytes);
    }
    if (w_const && infer__conv_wino(p)) return infer__wino_scratch(p, nt, bytes);
    /* the output's plane and the weight's rows are counts of tensors that exist: no overflow */
    *bytes = infer__gemm_f32_scratch_ab(p->m / p->group, p->out[0] * p->out[1] * p->out[2],
                                        p->c / p->group * p->k[0] * p->k[1] * p->k[2], nt, w_const) +
             (infer__conv_pointwise(p) ? 0 /* B is X: copying it twice costs less than sharing */
                                       : infer__gemm_shared_b_bytes(p->m / p->group, p->out[0] * p->out[1] * p->out[2],
                                                                    p->c / p->group * p->k[0] * p->k[1] * p->k[2], nt));
    return 1;
}

#if defined(INFER__HAVE_AVX2) || defined(INFER__HAVE_NEON)

static void infer__conv2_init(const infer__conv_p *p, infer__conv2 *q) {
    int two = p->n_sp == 2;
    memset(q, 0, sizeof *q);
    q->act = &p->act;
    q->ih = two ? p->in[0] : 1, q->oh = two ? p->out[0] : 1, q->kh = two ? p->k[0] : 1;
    q->sh = two ? p->s[0] : 1, q->dh = two ? p->d[0] : 1, q->ph = two ? p->pb[0] : 0;
    q->iw = p->in[two], q->ow = p->out[two], q->kw = p->k[two], q->sw = p->s[two], q->dw = p->d[two], q->pw = p->pb[two];
}

/* B's block rows p0..p0+kc (row r = (ci, ky, kx)), columns j0..j0+cols (column j = output
   position (oy, ox)) from the image, zero where the window is in the padding. The columns
   are cut once per call into segments, each inside one output row and one panel of nr
   (INFER__PACK_SEGS at a time); every row r then copies each segment's span of its input
   row (at stride 1 or 2, or value by value) and zeroes the ends in the padding. */
#define INFER__PACK_SEGS 512
typedef struct infer__pack_seg {
    int64_t oy, ox, len, dst; /* dst: the first value's offset in the block, row 0 */
} infer__pack_seg;
static void infer__conv_pack_b(float *bp, const void *arg, int64_t j0, int64_t cols, int64_t p0, int64_t kc, int nr) {
    const infer__conv2 *q = (const infer__conv2 *)arg;
    infer__pack_seg seg[INFER__PACK_SEGS];
    int64_t ksz = q->kh * q->kw, p, j = 0, t, n = 0, g, lane = 0, panel = 0, oy = j0 / q->ow, ox = j0 % q->ow;
    while (j < cols) {
        if (n == INFER__PACK_SEGS) { /* the rest as another call, from this panel's start */
            infer__conv_pack_b(bp + panel * kc * nr, arg, j0 + j - lane, cols - j + lane, p0, kc, nr);
            break;
        }
        seg[n].oy = oy, seg[n].ox = ox, seg[n].dst = panel * kc * nr + lane;
        seg[n].len = INFER__MIN(INFER__MIN(cols - j, q->ow - ox), nr - lane);
        j += seg[n].len, lane += seg[n].len, ox += seg[n].len;
        if (lane == nr) lane = 0, panel++;
        if (ox == q->ow) ox = 0, oy++;
        n++;
    }
    if (n && lane && j == cols) /* zero columns past cols in the last panel */
        for (p = 0; p < kc; p++) memset(bp + panel * kc * nr + p * nr + lane, 0, (size_t)(nr - lane) * sizeof(float));
    for (p = 0; p < kc; p++) {
        int64_t r = p0 + p, ky = r % ksz / q->kw, kx = r % q->kw, off = kx * q->dw - q->pw, dy = ky * q->dh - q->ph, lo, hi;
        const float *xc = q->x + r / ksz * q->ih * q->iw;
        float *bq = bp + p * nr;
        infer__valid_range(q->ow, q->iw, q->sw, q->pw, kx * q->dw, &lo, &hi); /* ox whose column is inside */
        for (g = 0; g < n; g++) {
            const infer__pack_seg *e = &seg[g];
            int64_t iy = e->oy * q->sh + dy, len = e->len, a = INFER__MIN(INFER__MAX(lo - e->ox, 0), len);
            int64_t b = INFER__MAX(INFER__MIN(hi - e->ox, len), a);
            float *d = bq + e->dst;
            if ((uint64_t)iy >= (uint64_t)q->ih) a = b = len;
            for (t = 0; t < a; t++) d[t] = 0;
            if (b > a) {
                const float *xr = xc + iy * q->iw + off + e->ox * q->sw;
                if (q->sw == 1) memcpy(d + a, xr + a, (size_t)(b - a) * sizeof(float));
                else if (q->sw == 2 && q->even) q->even(d + a, xr + 2 * a, b - a);
                else
                    for (t = a; t < b; t++) d[t] = xr[t * q->sw];
            }
            for (t = b; t < len; t++) d[t] = 0;
        }
    }
}

/* Bias of each output channel (a row of the GEMM's C) and the activation, on a finished tile */
static void infer__conv_epi(const void *arg, float *c, int64_t ldc, int64_t i0, int64_t j0, int64_t rows, int64_t cols) {
    const infer__conv2 *q = (const infer__conv2 *)arg;
    (void)j0;
    q->isa->epi(c, ldc, rows, cols, q->bias ? q->bias + i0 : NULL, NULL, q->act->kind != INFER__ACT_NONE ? q->act : NULL);
}

/* Whether infer__act_avx2 applies a in registers; the others run infer__act_apply after. */
static int infer__act_vec(const infer__act *a) {
    return a->kind == INFER__ACT_NONE || a->kind == INFER__ACT_RELU || a->kind == INFER__ACT_LEAKY_RELU ||
           a->kind == INFER__ACT_CLIP;
}

#if defined(INFER__HAVE_AVX2)
/* infer__act_apply on 8 values, for the kinds infer__act_vec accepts (NaN and -0 as there) */
__attribute__((target("avx2,fma"))) static __m256 infer__act_avx2(const infer__act *a, __m256 v) {
    __m256 z = _mm256_setzero_ps();
    switch (a->kind) {
    case INFER__ACT_RELU: return _mm256_max_ps(z, v); /* the second operand when either is NaN */
    case INFER__ACT_LEAKY_RELU:
        return _mm256_blendv_ps(v, _mm256_mul_ps(v, _mm256_set1_ps(a->alpha)), _mm256_cmp_ps(v, z, _CMP_LT_OQ));
    case INFER__ACT_CLIP: return _mm256_min_ps(_mm256_set1_ps(a->beta), _mm256_max_ps(v, _mm256_set1_ps(a->alpha)));
    default: return v;
    }
}

/* 8 inputs at stride s (1 or 2) from x; stride 2 reads x[0..16) */
__attribute__((target("avx2,fma"))) static __m256 infer__dw_load(const float *x, int64_t s) {
    __m256 a, b;
    if (s == 1) return _mm256_loadu_ps(x);
    a = _mm256_loadu_ps(x), b = _mm256_loadu_ps(x + 8);
    a = _mm256_shuffle_ps(a, b, 0x88); /* a0 a2 b0 b2 | a4 a6 b4 b6 */
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(a), 0xD8));
}
#else /* INFER__HAVE_NEON: the same on 4 values */
static float32x4_t infer__act_neon(const infer__act *a, float32x4_t v) {
    float32x4_t z = vdupq_n_f32(0.0f);
    switch (a->kind) { /* infer__nv_max_ps/min_ps: the x86 NaN rule, as infer__act_avx2 */
    case INFER__ACT_RELU: return infer__nv_max_ps(z, v);
    case INFER__ACT_LEAKY_RELU: return vbslq_f32(vcltq_f32(v, z), vmulq_f32(v, vdupq_n_f32(a->alpha)), v);
    case INFER__ACT_CLIP: return infer__nv_min_ps(vdupq_n_f32(a->beta), infer__nv_max_ps(v, vdupq_n_f32(a->alpha)));
    default: return v;
    }
}

/* d[i] = x[2 i] for i < n; reads nothing past x[2 n - 2] */
static void infer__even_neon(float *d, const float *x, int64_t n) {
    int64_t i;
    for (i = 0; i + 4 < n; i += 4) vst1q_f32(d + i, vld2q_f32(x + 2 * i).val[0]);
    for (; i < n; i++) d[i] = x[2 * i];
}

/* 4 inputs at stride s (1 or 2) from x; stride 2 reads x[0..8) */
static float32x4_t infer__dw_load_neon(const float *x, int64_t s) { return s == 1 ? vld1q_f32(x) : vld2q_f32(x).val[0]; }
#endif

/* Task t of nt: the output planes (batch n, channel ch) of its share, each from a copy
   of its input plane padded with zeros in the thread's scratch (infer__conv_dw_plane
   floats), so every output takes the SIMD path: 16 or 8 outputs of a row at a time, the
   last block of a row overlapping the one before (the same sums again), a row narrower
   than 8 computed 8 wide into the padding and stored in part. */
#if defined(INFER__HAVE_AVX2)
/* one output plane of a depthwise conv (infer__dw_plane_avx2 below) */
typedef void (*infer__dw_plane_fn)(int64_t k, int64_t s, const float *buf, int64_t w2, const float *w, float bias,
                                   float *y, int64_t oh, int64_t ow, const infer__act *act, int vec, __m256i part);
#endif
typedef struct infer__dw_job {
    const infer__ctx *c;
    const infer__vec_isa *vec; /* the activation's vector map when infer__act_vec declines it */
    int64_t n_tasks;
#if defined(INFER__HAVE_AVX2)
    infer__dw_plane_fn plane;
#endif
} infer__dw_job;

#if defined(INFER__HAVE_AVX2)
/* One output plane of a K x K (3 or 5) depthwise conv at stride S (1 or 2) from its padded
   input plane: output rows in pairs (the K + S input rows of a pair are loaded once for
   both), NV (1, 2 or 4) vectors of 8 outputs across, so 2 NV independent sums (each in
   two halves, even and odd input rows, when NV < 4), with the K * K weights in registers. A row's last block overlaps the one before (the same sums
   again); a row narrower than 8 is computed 8 wide into the padding and stored in part;
   with an odd row count the last pair's second row reads the zero rows below the plane
   and is not stored. At stride 2 each padded row holds its even columns, then from w2 / 2
   its odd ones (infer__dw_copy_avx2), so every load is a plain one. */
__attribute__((target("avx2,fma"), always_inline)) static inline void
infer__dw_plane_rw_avx2(const int K, const int S, const int NV, const float *buf, int64_t w2, const float *w, float bias,
                        float *y, int64_t oh, int64_t ow, const infer__act *act, int vec, __m256i part) {
    const int H = NV < 4 ? 2 : 1; /* partial sums per output vector */
    __m256 wv[25], a0[4][2], a1[4][2];
    int64_t oy, ox, col[4];
    int r, kx, v;
    for (r = 0; r < K * K; r++) wv[r] = _mm256_broadcast_ss(w + r);
    for (oy = 0; oy < oh; oy += 2) {
        const float *in = buf + oy * S * w2;
        for (ox = 0; ox < ow; ox += 8 * NV) {
            int64_t o = ow < 8 * NV ? 0 : INFER__MIN(ox, ow - 8 * NV);
            for (v = 0; v < NV; v++) {
                col[v] = ow < 8 ? 0 : INFER__MIN(o + 8 * v, ow - 8);
                a0[v][0] = a1[v][0] = _mm256_set1_ps(bias);
                a0[v][1] = a1[v][1] = _mm256_setzero_ps();
            }
#pragma GCC unroll 8
            for (r = 0; r < K + S; r++)
#pragma GCC unroll 8
                for (kx = 0; kx < K; kx++)
#pragma GCC unroll 4
                    for (v = 0; v < NV; v++) {
                        __m256 x = _mm256_loadu_ps(S == 1 ? in + r * w2 + col[v] + kx
                                                          : in + r * w2 + (kx & 1) * (w2 / 2) + col[v] + (kx >> 1));
                        if (r < K) a0[v][r % H] = _mm256_fmadd_ps(wv[r * K + kx], x, a0[v][r % H]);
                        if (r >= S && r - S < K) a1[v][r % H] = _mm256_fmadd_ps(wv[(r - S) * K + kx], x, a1[v][r % H]);
                    }
            for (v = 0; v < NV; v++) {
                float *y0 = y + oy * ow + col[v], *y1 = y0 + ow;
                __m256 s0 = H > 1 ? _mm256_add_ps(a0[v][0], a0[v][1]) : a0[v][0];
                __m256 s1 = H > 1 ? _mm256_add_ps(a1[v][0], a1[v][1]) : a1[v][0];
                if (vec) s0 = infer__act_avx2(act, s0), s1 = infer__act_avx2(act, s1);
                if (ow < 8) _mm256_maskstore_ps(y0, part, s0);
                else _mm256_storeu_ps(y0, s0);
                if (oy + 1 < oh) {
                    if (ow < 8) _mm256_maskstore_ps(y1, part, s1);
                    else _mm256_storeu_ps(y1, s1);
                }
            }
        }
    }
}

/* infer__dw_plane_rw_avx2 for these K, S and the row width's NV; compiled twice, the
   second time for AVX-512 CPUs, whose 32 vector registers hold a 5 x 5 filter's weights */
#define INFER__DW_PLANE(NAME, TARGET)                                                                                  \
    __attribute__((target(TARGET))) static void NAME(int64_t k, int64_t s, const float *buf, int64_t w2,                \
                                                     const float *w, float bias, float *y, int64_t oh, int64_t ow,      \
                                                     const infer__act *act, int vec, __m256i part) {                   \
        switch ((k == 5) * 6 + (s == 2) * 3 + (ow <= 8 ? 0 : ow <= 16 ? 1 : 2)) {                                     \
        case 0: infer__dw_plane_rw_avx2(3, 1, 1, buf, w2, w, bias, y, oh, ow, act, vec, part); break;                 \
        case 1: infer__dw_plane_rw_avx2(3, 1, 2, buf, w2, w, bias, y, oh, ow, act, vec, part); break;                 \
        case 2: infer__dw_plane_rw_avx2(3, 1, 4, buf, w2, w, bias, y, oh, ow, act, vec, part); break;                 \
        case 3: infer__dw_plane_rw_avx2(3, 2, 1, buf, w2, w, bias, y, oh, ow, act, vec, part); break;                 \
        case 4: infer__dw_plane_rw_avx2(3, 2, 2, buf, w2, w, bias, y, oh, ow, act, vec, part); break;                 \
        case 5: infer__dw_plane_rw_avx2(3, 2, 4, buf, w2, w, bias, y, oh, ow, act, vec, part); break;                 \
        case 6: infer__dw_plane_rw_avx2(5, 1, 1, buf, w2, w, bias, y, oh, ow, act, vec, part); break;                 \
        case 7: infer__dw_plane_rw_avx2(5, 1, 2, buf, w2, w, bias, y, oh, ow, act, vec, part); break;                 \
        case 8: infer__dw_plane_rw_avx2(5, 1, 4, buf, w2, w, bias, y, oh, ow, act, vec, part); break;                 \
        case 9: infer__dw_plane_rw_avx2(5, 2, 1, buf, w2, w, bias, y, oh, ow, act, vec, part); break;                 \
        case 10: infer__dw_plane_rw_avx2(5, 2, 2, buf, w2, w, bias, y, oh, ow, act, vec, part); break;                \
        default: infer__dw_plane_rw_avx2(5, 2, 4, buf, w2, w, bias, y, oh, ow, act, vec, part); break;                \
        }                                                                                                              \
    }
INFER__DW_PLANE(infer__dw_plane_avx2, "avx2,fma")
INFER__DW_PLANE(infer__dw_plane_avx512, "avx2,fma,avx512f,avx512vl")

/* d[i] = x[2 i] for i < n (a stride-2 conv's im2col); reads nothing past x[2 n - 2] */
__attribute__((target("avx2,fma"))) static void infer__even_avx2(float *d, const float *x, int64_t n) {
    int64_t i;
    for (i = 0; i + 8 < n; i += 8) {
        __m256 a = _mm256_loadu_ps(x + 2 * i), b = _mm256_loadu_ps(x + 2 * i + 8);
        _mm256_storeu_ps(d + i, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8)));
    }
    if (n > 8) { /* the last 8 (again): the odd values from x[2 n - 17], so nothing past x[2 n - 2] is read */
        const float *t = x + 2 * (n - 8) - 1;
        __m256 a = _mm256_loadu_ps(t), b = _mm256_loadu_ps(t + 8);
        _mm256_storeu_ps(d + n - 8,
                         _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8)));
        return;
    }
    for (; i < n; i++) d[i] = x[2 * i];
}

/* infer__even_avx2 16 at a time; the last ones through masked loads (which suppress faults), so
   nothing past x[2 n - 2] is read */
__attribute__((target("avx512f,avx2,fma"))) static void infer__even_avx512(float *d, const float *x, int64_t n) {
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    int64_t i;
    for (i = 0; i + 16 < n; i += 16) /* x[2 i + 31] exists */
        _mm512_storeu_ps(d + i, _mm512_permutex2var_ps(_mm512_loadu_ps(x + 2 * i), ev, _mm512_loadu_ps(x + 2 * i + 16)));
    if (i < n) {
        const int64_t m = n - i, v = 2 * m - 1; /* values x[2 i .. 2 i + v) */
        const __mmask16 lo = (__mmask16)(v >= 16 ? 0xFFFF : (1u << v) - 1), hi = (__mmask16)(v > 16 ? (1u << (v - 16)) - 1 : 0);
        __m512 a = _mm512_maskz_loadu_ps(lo, x + 2 * i), b = _mm512_maskz_loadu_ps(hi, x + 2 * i + 16);
        _mm512_mask_storeu_ps(d + i, (__mmask16)((1u << m) - 1), _mm512_permutex2var_ps(a, ev, b));
    }
}

/* Row x [n] into padded row d at column pb: at stride 1 as it is; at stride 2 split, the
   even padded columns to d[0..) and the odd ones to d[w2 / 2..) */
__attribute__((target("avx2,fma"))) static void infer__dw_copy_avx2(float *d, const float *x, int64_t n, int64_t pb,
                                                                     int64_t s, int64_t w2) {
    float *de = d + (pb & 1 ? w2 / 2 + pb / 2 : pb / 2), *dd = d + (pb & 1 ? (pb + 1) / 2 : w2 / 2 + pb / 2);
    int64_t j;
    if (s == 1) {
        memcpy(d + pb, x, (size_t)n * sizeof(float));
        return;
    }
    for (j = 0; 2 * j + 16 <= n; j += 8) { /* x's even elements to de, odd ones to dd */
        __m256 a = _mm256_loadu_ps(x + 2 * j), b = _mm256_loadu_ps(x + 2 * j + 8);
        _mm256_storeu_ps(de + j, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8)));
        _mm256_storeu_ps(dd + j, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8)));
    }
    for (; 2 * j + 8 <= n; j += 4) {
        __m128 a = _mm_loadu_ps(x + 2 * j), b = _mm_loadu_ps(x + 2 * j + 4);
        _mm_storeu_ps(de + j, _mm_shuffle_ps(a, b, 0x88));
        _mm_storeu_ps(dd + j, _mm_shuffle_ps(a, b, 0xDD));
    }
    for (; 2 * j + 1 < n; j++) de[j] = x[2 * j], dd[j] = x[2 * j + 1];
    if (2 * j < n) de[j] = x[2 * j];
}

#define INFER__CONV_DW_TASK infer__conv_dw_task_avx2
__attribute__((target("avx2,fma"))) static void infer__conv_dw_task_avx2(void *arg, int64_t t) {
    static const int32_t ones[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    const infer__dw_job *dj = (const infer__dw_job *)arg;
    const infer__ctx *c = dj->c;
    const infer__conv_p *p = &c->p->conv;
    const float *bias = c->n_in > 2 && c->in[2] ? (const float *)c->in[2]->data : NULL;
    int64_t h2, w2, planes = p->n * p->m, job, lo = planes * t / dj->n_tasks, hi = planes * (t + 1) / dj->n_tasks;
    int64_t oy, iy, plane = infer__conv_dw_plane(p, &h2, &w2);
    int vec = infer__act_vec(&p->act);
    float *buf = (float *)(((uintptr_t)c->scratch + INFER__ALIGN - 1) & ~(uintptr_t)(INFER__ALIGN - 1)) + t * plane;
    __m256i part = _mm256_loadu_si256((const __m256i *)(ones + 8 - INFER__MIN(p->out[1], 8)));
    memset(buf, 0, (size_t)plane * sizeof(float)); /* the padding stays zero; planes overwrite the inside */
    for (job = lo; job < hi; job++) {
        const float *x = (const float *)c->in[0]->data + job * p->in[0] * p->in[1];
        const float *w = (const float *)c->in[1]->data + job % p->c * p->k[0] * p->k[1];
        float *y = (float *)c->out[0]->data + job * p->out[0] * p->out[1];
        for (iy = 0; iy < p->in[0]; iy++)
            infer__dw_copy_avx2(buf + (iy + p->pb[0]) * w2, x + iy * p->in[1], p->in[1], p->pb[1], p->s[1], w2);
        dj->plane(p->k[0], p->s[1], buf, w2, w, bias ? bias[job % p->c] : 0.0f, y, p->out[0], p->out[1], &p->act, vec,
                  part);
        if (!vec)
            for (oy = 0; oy < p->out[0]; oy++) infer__act_apply_vec(dj->vec, &p->act, y + oy * p->out[1], p->out[1]);
    }
}

/* 4 outputs (or 1, one4 0) of 8 channels from (oy, o) of the interleaved window buf
   [][wp][8]: 4 independent sums, in registers */
__attribute__((target("avx2,fma"), always_inline)) static inline void
infer__dw_cb_out(int four, const float *buf, int64_t wp, const float *wv, __m256 b, int64_t K, int64_t S, int64_t oy,
                 int64_t o, float *out) {
    __m256 a0 = b, a1 = b, a2 = b, a3 = b;
    int64_t ky, kx;
    for (ky = 0; ky < K; ky++)
        for (kx = 0; kx < K; kx++) {
            const float *xr = buf + ((oy * S + ky) * wp + o * S + kx) * 8;
            __m256 wk = _mm256_loadu_ps(wv + (ky * K + kx) * 8);
            a0 = _mm256_fmadd_ps(wk, _mm256_loadu_ps(xr), a0);
            if (four) {
                a1 = _mm256_fmadd_ps(wk, _mm256_loadu_ps(xr + S * 8), a1);
                a2 = _mm256_fmadd_ps(wk, _mm256_loadu_ps(xr + 2 * S * 8), a2);
                a3 = _mm256_fmadd_ps(wk, _mm256_loadu_ps(xr + 3 * S * 8), a3);
            }
        }
    _mm256_storeu_ps(out + o * 8, a0);
    if (four) {
        _mm256_storeu_ps(out + (o + 1) * 8, a1);
        _mm256_storeu_ps(out + (o + 2) * 8, a2);
        _mm256_storeu_ps(out + (o + 3) * 8, a3);
    }
}

/* Depthwise conv on small planes (infer__conv_dw_cb), 8 channels at a time: their input
   windows interleaved into buf [hp][wp][8] (zero padding), each output a vector of 8
   channels [oh][ow][8] from K x K full-width loads and FMAs (4 outputs at a time), then back
   to 8 NCHW planes; 8 x 8 transposes both ways, over 8 positions of the whole plane at a
   time (not of a row: a plane 7 wide still moves in full vectors). Task t: its share of
   the groups of 8 channels (of every image). */
__attribute__((target("avx2,fma"))) static void infer__conv_dw_cb_task_avx2(void *arg, int64_t t) {
    static const int32_t ones[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    const infer__dw_job *dj = (const infer__dw_job *)arg;
    const infer__ctx *c = dj->c;
    const infer__conv_p *p = &c->p->conv;
    const float *bias = c->n_in > 2 && c->in[2] ? (const float *)c->in[2]->data : NULL;
    const float *wt = (const float *)c->in[1]->data;
    const int64_t K = p->k[0], S = p->s[0], ih = p->in[0], iw = p->in[1], oh = p->out[0], ow = p->out[1];
    const int64_t hp = (oh - 1) * S + K, wp = (ow - 1) * S + K, per = p->c / 8 + (p->c % 8 != 0);
    const int64_t y0 = INFER__MAX(0, -p->pb[0]), y1 = INFER__MIN(ih, hp - p->pb[0]);
    const int64_t x0 = INFER__MAX(0, -p->pb[1]), x1 = INFER__MIN(iw, wp - p->pb[1]);
    int64_t groups = p->n * per, g, lo = groups * t / dj->n_tasks, hi = groups * (t + 1) / dj->n_tasks;
    float *buf = (float *)(((uintptr_t)c->scratch + INFER__ALIGN - 1) & ~(uintptr_t)(INFER__ALIGN - 1)) +
                 t * infer__conv_dw_cb(p), *out = buf + hp * wp * 8;
    memset(buf, 0, (size_t)(hp * wp * 8) * sizeof(float)); /* the padding stays zero */
    for (g = lo; g < hi; g++) {
        int64_t n = g / per, c0 = g % per * 8, lanes = INFER__MIN(8, p->c - c0), l, iy, ix, oy, ox, k, cnt;
        const float *x = (const float *)c->in[0]->data + (n * p->c + c0) * ih * iw;
        float *y = (float *)c->out[0]->data + (n * p->c + c0) * oh * ow;
        float wv[25 * 8], bv[8] = {0};
        __m256 r[8], d[8], b;
        __m256i mk;
        for (l = 0; l < 8; l++)
            for (k = 0; k < K * K; k++) wv[k * 8 + l] = l < lanes ? wt[(c0 + l) * K * K + k] : 0;
        for (l = 0; l < lanes && bias; l++) bv[l] = bias[c0 + l];
        b = _mm256_loadu_ps(bv);
        for (k = 0, iy = 0, ix = 0; k < ih * iw; k += 8) { /* 8 positions of the plane at a time */
            cnt = INFER__MIN(8, ih * iw - k), mk = _mm256_loadu_si256((const __m256i *)(ones + 8 - cnt));
            for (l = 0; l < 8; l++)
                r[l] = l >= lanes ? _mm256_setzero_ps()
                       : cnt == 8 ? _mm256_loadu_ps(x + l * ih * iw + k)
                                  : _mm256_maskload_ps(x + l * ih * iw + k, mk);
            infer__tr8_avx2(r, d);
            for (l = 0; l < cnt; l++) { /* position k + l is (iy, ix) */
                if (iy >= y0 && iy < y1 && ix >= x0 && ix < x1)
                    _mm256_storeu_ps(buf + ((iy + p->pb[0]) * wp + p->pb[1] + ix) * 8, d[l]);
                if (++ix == iw) ix = 0, iy++;
            }
        }
        for (oy = 0; oy < oh; oy++)
            if (ow >= 4)
                for (ox = 0; ox < ow; ox += 4)
                    infer__dw_cb_out(1, buf, wp, wv, b, K, S, oy, INFER__MIN(ox, ow - 4), out + oy * ow * 8);
            else
                for (ox = 0; ox < ow; ox++) infer__dw_cb_out(0, buf, wp, wv, b, K, S, oy, ox, out + oy * ow * 8);
        infer__act_apply_vec(dj->vec, &p->act, out, oh * ow * 8);
        for (k = 0; k < oh * ow; k += 8) { /* back to the planes, 8 positions at a time */
            cnt = INFER__MIN(8, oh * ow - k);
            for (l = 0; l < 8; l++) r[l] = l < cnt ? _mm256_loadu_ps(out + (k + l) * 8) : _mm256_setzero_ps();
            infer__tr8_avx2(r, d);
            for (l = 0; l < lanes; l++) /* no masked stores: AMD's are slow */
                if (cnt == 8) _mm256_storeu_ps(y + l * oh * ow + k, d[l]);
                else {
                    float tail[8];
                    _mm256_storeu_ps(tail, d[l]);
                    for (ox = 0; ox < cnt; ox++) y[l * oh * ow + k + ox] = tail[ox];
                }
        }
    }
}

/* infer__act_avx2 on 16 values */
__attribute__((target("avx512f,avx2,fma"))) static __m512 infer__act_avx512(const infer__act *a, __m512 v) {
    __m512 z = _mm512_setzero_ps();
    switch (a->kind) {
    case INFER__ACT_RELU: return _mm512_max_ps(z, v);
    case INFER__ACT_LEAKY_RELU:
        return _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, z, _CMP_LT_OQ), v, _mm512_set1_ps(a->alpha));
    case INFER__ACT_CLIP: return _mm512_min_ps(_mm512_set1_ps(a->beta), _mm512_max_ps(v, _mm512_set1_ps(a->alpha)));
    default: return v;
    }
}

/* One window row of 3 taps for the 4 outputs a0..a3 (stride S, 1 or 2) from xr (C floats
   apart) and wr: each input vector loaded once for the outputs that share it (6 or 9
   loads, not 12), the sums in the same order as the general loop's */
#define INFER__DW3_SUM(FMA, a, X0, X1, X2) a = FMA(w0_, X0, a), a = FMA(w1_, X1, a), a = FMA(w2_, X2, a)
#define INFER__DW3_TAPS(VT, LD, FMA, S)                                                                                \
    do {                                                                                                               \
        const VT w0_ = LD(wr), w1_ = LD(wr + C), w2_ = LD(wr + 2 * C);                                                 \
        const VT x0_ = LD(xr), x1_ = LD(xr + C), x2_ = LD(xr + 2 * C), x3_ = LD(xr + 3 * C), x4_ = LD(xr + 4 * C);     \
        if (S == 1) {                                                                                                  \
            const VT x5_ = LD(xr + 5 * C);                                                                             \
            INFER__DW3_SUM(FMA, a0, x0_, x1_, x2_), INFER__DW3_SUM(FMA, a1, x1_, x2_, x3_);                            \
            INFER__DW3_SUM(FMA, a2, x2_, x3_, x4_), INFER__DW3_SUM(FMA, a3, x3_, x4_, x5_);                            \
        } else {                                                                                                       \
            const VT x5_ = LD(xr + 5 * C), x6_ = LD(xr + 6 * C), x7_ = LD(xr + 7 * C), x8_ = LD(xr + 8 * C);           \
            INFER__DW3_SUM(FMA, a0, x0_, x1_, x2_), INFER__DW3_SUM(FMA, a1, x2_, x3_, x4_);                            \
            INFER__DW3_SUM(FMA, a2, x4_, x5_, x6_), INFER__DW3_SUM(FMA, a3, x6_, x7_, x8_);                            \
        }                                                                                                              \
    } while (0)
/* Depthwise conv on channels-last activations (infer__layout_pass), weights packed
   [K * K][C] at creation (infer__cpu_pack). Task t: its share of the output rows (image,
   row). Along a row: outputs whose windows lie inside the input's width 4 at a time (each
   tap's weights loaded once for the 4), the others singly without their taps in the
   padding, each over all channels, W at a time (16 with AVX-512, then 8), so the input is
   read in order; window rows in the padding are skipped. Channels past the last multiple
   of 8 go one at a time. NAME does the channels from j0 in blocks of W and returns where
   it stopped. */
#define INFER__DW_NHWC_BLOCKS(NAME, TARGET, VT, W, LD, ST, FMA, ZERO, ACT)                                             \
    __attribute__((target(TARGET))) static int64_t NAME(const infer__conv_p *p, const float *xb, const float *w,      \
                                                        const float *bias, float *y, int64_t iy0, int64_t x0,          \
                                                        int64_t x1, int64_t j0, int vec) {                             \
        const int64_t C = p->c, K = p->k[0], S = p->s[1], iw = p->in[1], ow = p->out[1], j1 = C - (C - j0) % (W);      \
        const int64_t ky0 = INFER__MAX(0, -iy0), ky1 = INFER__MIN(K, p->in[0] - iy0);                                  \
        int64_t ox, ky, kx, j;                                                                                         \
        for (ox = 0; ox < ow;) {                                                                                       \
            if (ox >= x0 && ox + 4 <= x1) {                                                                            \
                /* the first channel block prefetches the input rows that the next output row adds, 4 outputs  \
                   ahead, into L1 (a third faster at 56x56x144, batch 8: the input streams from L3 or memory) */      \
                const int64_t pf0 = (ox + 4) * S - p->pb[1], pfn = j0 ? 0 : INFER__MIN(4 * S, iw - pf0) * C * 4;       \
                int64_t q, r;                                                                                          \
                for (r = iy0 + K; pfn > 0 && r < INFER__MIN(iy0 + K + S, p->in[0]); r++)                               \
                    for (q = 0; q < pfn; q += 64) _mm_prefetch((const char *)(xb + (r * iw + pf0) * C) + q, _MM_HINT_T0); \
                for (j = j0; j < j1; j += (W)) {                                                                       \
                    const VT b = bias ? LD(bias + j) : ZERO();                                                         \
                    VT a0 = b, a1 = b, a2 = b, a3 = b;                                                                 \
                    for (ky = ky0; ky < ky1; ky++) {                                                                   \
                        const float *xr = xb + ((iy0 + ky) * iw + ox * S - p->pb[1]) * C + j;                          \
                        const float *wr = w + ky * K * C + j;                                                          \
                        if (K == 3 && S == 1) INFER__DW3_TAPS(VT, LD, FMA, 1);                                         \
                        else if (K == 3 && S == 2) INFER__DW3_TAPS(VT, LD, FMA, 2);                                    \
                        else                                                                                           \
                            for (kx = 0; kx < K; kx++) {                                                               \
                                VT wk = LD(wr + kx * C);                                                               \
                                a0 = FMA(wk, LD(xr + kx * C), a0);                                                     \
                                a1 = FMA(wk, LD(xr + (S + kx) * C), a1);                                               \
                                a2 = FMA(wk, LD(xr + (2 * S + kx) * C), a2);                                           \
                                a3 = FMA(wk, LD(xr + (3 * S + kx) * C), a3);                                           \
                            }                                                                                          \
                    }                                                                                                  \
                    if (vec) a0 = ACT(&p->act, a0), a1 = ACT(&p->act, a1), a2 = ACT(&p->act, a2), a3 = ACT(&p->act, a3); \
                    ST(y + ox * C + j, a0);                                                                            \
                    ST(y + (ox + 1) * C + j, a1);                                                                      \
                    ST(y + (ox + 2) * C + j, a2);                                                                      \
                    ST(y + (ox + 3) * C + j, a3);                                                                      \
                }                                                                                                      \
                ox += 4;                                                                                               \
            } else { /* one output, its taps inside the input */                                                      \
                const int64_t ix0 = ox * S - p->pb[1], kx0 = INFER__MAX(0, -ix0), kx1 = INFER__MIN(K, iw - ix0);       \
                for (j = j0; j < j1; j += (W)) {                                                                       \
                    VT a = bias ? LD(bias + j) : ZERO();                                                               \
                    for (ky = ky0; ky < ky1; ky++)                                                                     \
                        for (kx = kx0; kx < kx1; kx++)                                                                 \
                            a = FMA(LD(w + (ky * K + kx) * C + j), LD(xb + ((iy0 + ky) * iw + ix0 + kx) * C + j), a);  \
                    ST(y + ox * C + j, vec ? ACT(&p->act, a) : a);                                                     \
                }                                                                                                      \
                ox++;                                                                                                  \
            }                                                                                                          \
        }                                                                                                              \
        return j1;                                                                                                     \
    }
INFER__DW_NHWC_BLOCKS(infer__dw_nhwc_blocks512, "avx512f,avx2,fma", __m512, 16, _mm512_loadu_ps, _mm512_storeu_ps,
                      _mm512_fmadd_ps, _mm512_setzero_ps, infer__act_avx512)
INFER__DW_NHWC_BLOCKS(infer__dw_nhwc_blocks256, "avx2,fma", __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps,
                      _mm256_fmadd_ps, _mm256_setzero_ps, infer__act_avx2)
#undef INFER__DW3_TAPS
#undef INFER__DW3_SUM

typedef struct infer__dw_nhwc_job {
    const infer__ctx *c;
    const infer__vec_isa *vec;
    int64_t n_tasks;
    int wide; /* AVX-512: 16 channels at a time first */
} infer__dw_nhwc_job;

static void infer__conv_dw_nhwc_task(void *arg, int64_t t) {
    const infer__dw_nhwc_job *dj = (const infer__dw_nhwc_job *)arg;
    const infer__ctx *c = dj->c;
    const infer__conv_p *p = &c->p->conv;
    const float *bias = c->n_in > 2 && c->in[2] ? (const float *)c->in[2]->data : NULL, *w = c->packed;
    const int64_t C = p->c, K = p->k[0], S = p->s[1], ih = p->in[0], iw = p->in[1], oh = p->out[0], ow = p->out[1];
    const int64_t rows = p->n * oh, lo = rows * t / dj->n_tasks, hi = rows * (t + 1) / dj->n_tasks;
    const int64_t x0 = INFER__MIN(ow, (p->pb[1] + S - 1) / S); /* [x0, x1): windows inside the width */
    const int64_t x1 = INFER__MAX(x0, INFER__MIN(ow, iw + p->pb[1] < K ? 0 : (iw + p->pb[1] - K) / S + 1));
    const int vec = infer__act_vec(&p->act);
    int64_t r;
    for (r = lo; r < hi; r++) {
        const int64_t n = r / oh, iy0 = r % oh * p->s[0] - p->pb[0];
        const int64_t ky0 = INFER__MAX(0, -iy0), ky1 = INFER__MIN(K, ih - iy0);
        const float *xb = (const float *)c->in[0]->data + n * ih * iw * C;
        float *y = (float *)c->out[0]->data + r * ow * C;
        int64_t j = 0, ox, ky, kx;
        if (dj->wide) j = infer__dw_nhwc_blocks512(p, xb, w, bias, y, iy0, x0, x1, j, vec);
        j = infer__dw_nhwc_blocks256(p, xb, w, bias, y, iy0, x0, x1, j, vec);
        for (; j < C; j++) /* the last channels, one at a time */
            for (ox = 0; ox < ow; ox++) {
                const int64_t ix0 = ox * S - p->pb[1];
                float a = bias ? bias[j] : 0.0f;
                for (ky = ky0; ky < ky1; ky++)
                    for (kx = INFER__MAX(0, -ix0); kx < INFER__MIN(K, iw - ix0); kx++)
                        a += w[(ky * K + kx) * C + j] * xb[((iy0 + ky) * iw + ix0 + kx) * C + j];
                y[ox * C + j] = a;
                if (vec) infer__act_apply(&p->act, y + ox * C + j, 1);
            }
        if (!vec) infer__act_apply_vec(dj->vec, &p->act, y, ow * C);
    }
}

#else /* INFER__HAVE_NEON: the same, 8 or 4 outputs of a row at a time */
#define INFER__CONV_DW_TASK infer__conv_dw_task_neon
static void infer__conv_dw_task_neon(void *arg, int64_t t) {
    const infer__dw_job *dj = (const infer__dw_job *)arg;
    const infer__ctx *c = dj->c;
    const infer__conv_p *p = &c->p->conv;
    const float *bias = c->n_in > 2 && c->in[2] ? (const float *)c->in[2]->data : NULL;
    int64_t h2, w2, planes = p->n * p->m, job, lo = planes * t / dj->n_tasks, hi = planes * (t + 1) / dj->n_tasks;
    int64_t oy, ox, ky, kx, iy, plane = infer__conv_dw_plane(p, &h2, &w2);
    int vec = infer__act_vec(&p->act);
    float *buf = (float *)(((uintptr_t)c->scratch + INFER__ALIGN - 1) & ~(uintptr_t)(INFER__ALIGN - 1)) + t * plane;
    memset(buf, 0, (size_t)plane * sizeof(float)); /* the padding stays zero; planes overwrite the inside */
    for (job = lo; job < hi; job++) {
        const float *x = (const float *)c->in[0]->data + job * p->in[0] * p->in[1];
        const float *w = (const float *)c->in[1]->data + job % p->c * p->k[0] * p->k[1];
        float *y = (float *)c->out[0]->data + job * p->out[0] * p->out[1];
        float32x4_t b0 = vdupq_n_f32(bias ? bias[job % p->c] : 0.0f);
        for (iy = 0; iy < p->in[0]; iy++)
            memcpy(buf + (iy + p->pb[0]) * w2 + p->pb[1], x + iy * p->in[1], (size_t)p->in[1] * sizeof(float));
        for (oy = 0; oy < p->out[0]; oy++) {
            float *yr = y + oy * p->out[1];
            for (ox = 0; ox < p->out[1];) {
                int64_t o = p->out[1] < 4 ? 0 : INFER__MIN(ox, p->out[1] - 4);
                int two = o + 8 <= p->out[1];
                float32x4_t a0 = b0, a1 = b0;
                for (ky = 0; ky < p->k[0]; ky++) {
                    const float *xr = buf + (oy * p->s[0] + ky) * w2 + o * p->s[1], *wr = w + ky * p->k[1];
                    for (kx = 0; kx < p->k[1]; kx++) {
                        float32x4_t wv = vdupq_n_f32(wr[kx]);
                        a0 = vfmaq_f32(a0, wv, infer__dw_load_neon(xr + kx, p->s[1]));
                        if (two) a1 = vfmaq_f32(a1, wv, infer__dw_load_neon(xr + kx + 4 * p->s[1], p->s[1]));
                    }
                }
                if (vec) a0 = infer__act_neon(&p->act, a0), a1 = infer__act_neon(&p->act, a1);
                if (p->out[1] < 4) {
                    float t4[4];
                    vst1q_f32(t4, a0);
                    memcpy(yr, t4, (size_t)p->out[1] * sizeof(float));
                } else {
                    vst1q_f32(yr + o, a0);
                }
                if (two) vst1q_f32(yr + o + 4, a1);
                ox = o + (two ? 8 : 4);
            }
            if (!vec) infer__act_apply_vec(dj->vec, &p->act, yr, p->out[1]);
        }
    }
}
#endif

#if defined(INFER__HAVE_AVX2)
/* U = G g G^T of every filter g of W [m][c][3][3], in double, as (e + 2)^2 packed A operands
   [(e + 2)^2][infer__packed_a_floats(isa, m, c)] (infer__pack_a_all's layout) at dst */
static void infer__wino_pack(const infer__gemm_isa *isa, float *dst, const float *w, int64_t m, int64_t c, int e) {
    static const double G4[6][3] = {{1 / 4.0, 0, 0},           {-1 / 6.0, -1 / 6.0, -1 / 6.0},
                                    {-1 / 6.0, 1 / 6.0, -1 / 6.0}, {1 / 24.0, 1 / 12.0, 1 / 6.0},
                                    {1 / 24.0, -1 / 12.0, 1 / 6.0}, {0, 0, 1}};
    static const double G2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    const double(*G)[3] = e == 4 ? G4 : G2;
    const int a = e + 2;
    size_t per = infer__packed_a_floats(isa, m, c);
    int64_t mp = (m + isa->mr - 1) / isa->mr * isa->mr, k, ci;
    memset(dst, 0, (size_t)(a * a) * per * sizeof(float));
    for (k = 0; k < m; k++)
        for (ci = 0; ci < c; ci++) {
            const float *g = w + (k * c + ci) * 9;
            int64_t pc = ci / INFER__GEMM_KC * INFER__GEMM_KC, kc = INFER__MIN(c - pc, INFER__GEMM_KC);
            float *at = dst + pc * mp + k / isa->mr * isa->mr * kc + (ci - pc) * isa->mr + k % isa->mr;
            double t[6][3];
            int i, j, q;
            for (i = 0; i < a; i++)
                for (j = 0; j < 3; j++) t[i][j] = G[i][0] * g[j] + G[i][1] * g[3 + j] + G[i][2] * g[6 + j];
            for (i = 0; i < a; i++)
                for (j = 0; j < a; j++) {
                    double u = 0;
                    for (q = 0; q < 3; q++) u += t[i][q] * G[j][q];
                    at[(size_t)(i * a + j) * per] = (float)u;
                }
        }
}

typedef struct infer__wino {
    const infer__conv_p *p;
    const infer__gemm_isa *isa;
    const float *x, *u, *bias, *res; /* res: a fused residual of Y's shape (may be Y itself), or NULL */
    float *y, *v, *mm, *lines, *bp; /* V, M, the tasks' rows and packed B blocks of one slice */
    int64_t e, th, tw, rows, blocks;
    int64_t r0, r1, tiles;          /* this block: tile rows r0..r1 of n * th, tiles of them */
    size_t u_per, line, bp_per, slice; /* floats: one xi's U, a task's rows, its B block; a slice */
    int nt;                         /* tasks of a block's transforms, or of whole blocks */
    void (*in)(void *, int64_t), (*out)(void *, int64_t); /* the transforms' tasks: 8 or 16 lanes */
} infer__wino;

/* w[0..a) = B^T z[0..a) */
__attribute__((target("avx2,fma"), always_inline)) static inline void infer__wino_bt(int a, const __m256 *z, __m256 *w) {
    if (a == 6) {
        const __m256 two = _mm256_set1_ps(2), four = _mm256_set1_ps(4), five = _mm256_set1_ps(5);
        __m256 p = _mm256_fnmadd_ps(four, z[2], z[4]), q = _mm256_fmsub_ps(four, z[1], z[3]);
        __m256 r = _mm256_sub_ps(z[4], z[2]), s = _mm256_mul_ps(two, _mm256_sub_ps(z[1], z[3]));
        w[0] = _mm256_fnmadd_ps(five, z[2], _mm256_fmadd_ps(four, z[0], z[4]));
        w[1] = _mm256_sub_ps(p, q), w[2] = _mm256_add_ps(p, q);
        w[3] = _mm256_sub_ps(r, s), w[4] = _mm256_add_ps(r, s);
        w[5] = _mm256_fnmadd_ps(five, z[3], _mm256_fmadd_ps(four, z[1], z[5]));
    } else {
        w[0] = _mm256_sub_ps(z[0], z[2]), w[1] = _mm256_add_ps(z[1], z[2]);
        w[2] = _mm256_sub_ps(z[2], z[1]), w[3] = _mm256_sub_ps(z[1], z[3]);
    }
}

/* w[0..a - 2) = A^T z[0..a) */
__attribute__((target("avx2,fma"), always_inline)) static inline void infer__wino_at(int a, const __m256 *z, __m256 *w) {
    if (a == 6) {
        const __m256 two = _mm256_set1_ps(2), four = _mm256_set1_ps(4), eight = _mm256_set1_ps(8);
        __m256 s12 = _mm256_add_ps(z[1], z[2]), d12 = _mm256_sub_ps(z[1], z[2]);
        __m256 s34 = _mm256_add_ps(z[3], z[4]), d34 = _mm256_sub_ps(z[3], z[4]);
        w[0] = _mm256_add_ps(_mm256_add_ps(z[0], s12), s34);
        w[1] = _mm256_fmadd_ps(two, d34, d12);
        w[2] = _mm256_fmadd_ps(four, s34, s12);
        w[3] = _mm256_add_ps(_mm256_fmadd_ps(eight, d34, d12), z[5]);
    } else {
        w[0] = _mm256_add_ps(_mm256_add_ps(z[0], z[1]), z[2]);
        w[1] = _mm256_sub_ps(_mm256_sub_ps(z[1], z[2]), z[3]);
    }
}

/* V [a^2][c][tiles] of input channels [c t / nt, c (t + 1) / nt) for the block's tiles, tile
   size a - 2 = e.
   Each input row is split by column phase (s[ph][X] = row[e X + ph - left pad]), so window
   column k of 8 neighbouring tiles (16 in infer__wino_in16) is one load: s[k % e] + tx + k / e. */
__attribute__((target("avx2,fma"), always_inline)) static inline void infer__wino_in(const infer__wino *w, int64_t t,
                                                                                    const int a) {
    const infer__conv_p *p = w->p;
    const int e = a - 2;
    const int64_t tw = w->tw, sw = infer__wino_sw(tw), n_c = p->c * w->tiles;
    const int64_t ih = p->in[0], iw = p->in[1], pt = p->pb[0], pl = p->pb[1];
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    float *s = w->lines + (size_t)t * w->line, *raw = s + a * e * sw;
    int64_t c0 = p->c * t / w->nt, c1 = p->c * (t + 1) / w->nt, ci, r;
    for (ci = c0; ci < c1; ci++) {
        float *vc = w->v + ci * w->tiles;
        for (r = w->r0; r < w->r1; r++) {
            int64_t ty = r % w->th, j, tx, x0, len;
            const float *xp = w->x + (r / w->th * p->c + ci) * ih * iw;
            for (j = 0; j < a; j++) {
                int64_t iy = e * ty - pt + j;
                float *sj = s + j * e * sw;
                if (iy < 0 || iy >= ih) {
                    memset(sj, 0, (size_t)(e * sw) * sizeof(float));
                    continue;
                }
                /* raw[X] = row[X - pl] for X < e sw, zero outside the row */
                x0 = INFER__MIN(pl, e * sw), len = INFER__MAX(0, INFER__MIN(iw, e * sw - x0));
                memset(raw, 0, (size_t)x0 * sizeof(float));
                memcpy(raw + x0, xp + iy * iw, (size_t)len * sizeof(float));
                memset(raw + x0 + len, 0, (size_t)(e * sw - x0 - len) * sizeof(float));
                for (tx = 0; tx < sw; tx += 8)
                    if (e == 4) { /* 32 floats -> 8 of each phase */
                        __m256 a0 = _mm256_loadu_ps(raw + 4 * tx), a1 = _mm256_loadu_ps(raw + 4 * tx + 8);
                        __m256 a2 = _mm256_loadu_ps(raw + 4 * tx + 16), a3 = _mm256_loadu_ps(raw + 4 * tx + 24);
                        __m256d d0 = _mm256_castps_pd(_mm256_unpacklo_ps(a0, a1));
                        __m256d d1 = _mm256_castps_pd(_mm256_unpackhi_ps(a0, a1));
                        __m256d d2 = _mm256_castps_pd(_mm256_unpacklo_ps(a2, a3));
                        __m256d d3 = _mm256_castps_pd(_mm256_unpackhi_ps(a2, a3));
                        _mm256_storeu_ps(sj + tx,
                                         _mm256_permutevar8x32_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(d0, d2)), perm));
                        _mm256_storeu_ps(sj + sw + tx,
                                         _mm256_permutevar8x32_ps(_mm256_castpd_ps(_mm256_unpackhi_pd(d0, d2)), perm));
                        _mm256_storeu_ps(sj + 2 * sw + tx,
                                         _mm256_permutevar8x32_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(d1, d3)), perm));
                        _mm256_storeu_ps(sj + 3 * sw + tx,
                                         _mm256_permutevar8x32_ps(_mm256_castpd_ps(_mm256_unpackhi_pd(d1, d3)), perm));
                    } else { /* 16 floats -> 8 even, 8 odd */
                        __m256 a0 = _mm256_loadu_ps(raw + 2 * tx), a1 = _mm256_loadu_ps(raw + 2 * tx + 8);
                        _mm256_storeu_ps(sj + tx, _mm256_castpd_ps(_mm256_permute4x64_pd(
                                                      _mm256_castps_pd(_mm256_shuffle_ps(a0, a1, 0x88)), 0xD8)));
                        _mm256_storeu_ps(sj + sw + tx, _mm256_castpd_ps(_mm256_permute4x64_pd(
                                                           _mm256_castps_pd(_mm256_shuffle_ps(a0, a1, 0xDD)), 0xD8)));
                    }
            }
            for (tx = 0; tx < tw; tx += 8) {
                __m256 col[6][6], z[6], o[6];
                int64_t tt = (r - w->r0) * tw + tx, k, i, l, left = INFER__MIN(8, tw - tx);
                for (k = 0; k < a; k++) { /* down the window's column k: col[i][k] */
                    for (j = 0; j < a; j++) z[j] = _mm256_loadu_ps(s + (j * e + k % e) * sw + tx + k / e);
                    infer__wino_bt(a, z, o);
                    for (i = 0; i < a; i++) col[i][k] = o[i];
                }
                for (i = 0; i < a; i++) { /* along row i: V[a i + k] */
                    infer__wino_bt(a, col[i], o);
                    for (k = 0; k < a; k++) {
                        float *d = vc + (size_t)(i * a + k) * (size_t)n_c + tt;
                        if (left == 8) _mm256_storeu_ps(d, o[k]);
                        else { /* the row's last tiles: its lanes only */
                            float lane[8];
                            _mm256_storeu_ps(lane, o[k]);
                            for (l = 0; l < left; l++) d[l] = lane[l];
                        }
                    }
                }
            }
        }
    }
}

/* Y of output channels [m t / nt, m (t + 1) / nt) for the block's tiles, tile size a - 2 */
__attribute__((target("avx2,fma"), always_inline)) static inline void infer__wino_out(const infer__wino *w, int64_t t,
                                                                                     const int a) {
    const infer__conv_p *p = w->p;
    const int e = a - 2;
    const int64_t oh = p->out[0], ow = p->out[1], tw = w->tw, n_m = p->m * w->tiles;
    const infer__act *act = p->act.kind != INFER__ACT_NONE ? &p->act : NULL;
    int64_t k0 = p->m * t / w->nt, k1 = p->m * (t + 1) / w->nt, k, r;
    for (k = k0; k < k1; k++) {
        const __m256 b = _mm256_set1_ps(w->bias ? w->bias[k] : 0);
        for (r = w->r0; r < w->r1; r++) {
            int64_t ty = r % w->th, rows = INFER__MIN(e, oh - e * ty), tx, i, j;
            float *yp = w->y + ((r / w->th * p->m + k) * oh + e * ty) * ow;
            const float *rp = w->res ? w->res + (yp - w->y) : NULL; /* read just before yp is written */
            for (tx = 0; tx < tw; tx += 8) {
                const float *mk = w->mm + k * w->tiles + (r - w->r0) * tw + tx;
                __m256 z[6], q[4][6], o[6], ch[4];
                for (j = 0; j < a; j++) { /* down column j: q[i][j] */
                    for (i = 0; i < a; i++) z[i] = _mm256_loadu_ps(mk + (i * a + j) * n_m);
                    infer__wino_at(a, z, o);
                    for (i = 0; i < e; i++) q[i][j] = o[i];
                }
                for (i = 0; i < rows; i++) { /* row i of 8 tiles: o[column][tile] -> 8 e floats */
                    infer__wino_at(a, q[i], o);
                    for (j = 0; j < e; j++) o[j] = _mm256_add_ps(o[j], b);
                    if (e == 4) {
                        __m256 lo = _mm256_unpacklo_ps(o[0], o[1]), hi = _mm256_unpackhi_ps(o[0], o[1]);
                        __m256 lo2 = _mm256_unpacklo_ps(o[2], o[3]), hi2 = _mm256_unpackhi_ps(o[2], o[3]);
                        __m256 t0 = _mm256_shuffle_ps(lo, lo2, 0x44), t1 = _mm256_shuffle_ps(lo, lo2, 0xEE);
                        __m256 t2 = _mm256_shuffle_ps(hi, hi2, 0x44), t3 = _mm256_shuffle_ps(hi, hi2, 0xEE);
                        ch[0] = _mm256_permute2f128_ps(t0, t1, 0x20), ch[1] = _mm256_permute2f128_ps(t2, t3, 0x20);
                        ch[2] = _mm256_permute2f128_ps(t0, t1, 0x31), ch[3] = _mm256_permute2f128_ps(t2, t3, 0x31);
                    } else {
                        __m256 lo = _mm256_unpacklo_ps(o[0], o[1]), hi = _mm256_unpackhi_ps(o[0], o[1]);
                        ch[0] = _mm256_permute2f128_ps(lo, hi, 0x20), ch[1] = _mm256_permute2f128_ps(lo, hi, 0x31);
                    }
                    if (e * tx + 8 * e <= ow)
                        for (j = 0; j < e; j++) {
                            if (rp) ch[j] = _mm256_add_ps(ch[j], _mm256_loadu_ps(rp + i * ow + e * tx + 8 * j));
                            _mm256_storeu_ps(yp + i * ow + e * tx + 8 * j, ch[j]);
                        }
                    else {
                        float out[32];
                        for (j = 0; j < e; j++) _mm256_storeu_ps(out + 8 * j, ch[j]);
                        for (j = 0; rp && j < ow - e * tx; j++) out[j] += rp[i * ow + e * tx + j];
                        memcpy(yp + i * ow + e * tx, out, (size_t)(ow - e * tx) * sizeof(float));
                    }
                }
            }
            if (act) w->isa->epi(yp, ow, rows, ow, NULL, NULL, act);
        }
    }
}

__attribute__((target("avx2,fma"))) static void infer__wino_in_task(void *arg, int64_t t) {
    const infer__wino *w = (const infer__wino *)arg;
    if (w->e == 4) infer__wino_in(w, t, 6);
    else infer__wino_in(w, t, 4);
}
__attribute__((target("avx2,fma"))) static void infer__wino_out_task(void *arg, int64_t t) {
    const infer__wino *w = (const infer__wino *)arg;
    if (w->e == 4) infer__wino_out(w, t, 6);
    else infer__wino_out(w, t, 4);
}

/* The transforms on 16 tiles at a time (AVX-512): infer__wino_in and infer__wino_out with
   zmm vectors; rows split by phase with two-source permutes, outputs interleaved with
   in-lane shuffles and 128-bit block shuffles, the ends of rows with masks. */
__attribute__((target("avx512f"), always_inline)) static inline void infer__wino_bt16(int a, const __m512 *z, __m512 *w) {
    if (a == 6) {
        const __m512 two = _mm512_set1_ps(2), four = _mm512_set1_ps(4), five = _mm512_set1_ps(5);
        __m512 p = _mm512_fnmadd_ps(four, z[2], z[4]), q = _mm512_fmsub_ps(four, z[1], z[3]);
        __m512 r = _mm512_sub_ps(z[4], z[2]), s = _mm512_mul_ps(two, _mm512_sub_ps(z[1], z[3]));
        w[0] = _mm512_fnmadd_ps(five, z[2], _mm512_fmadd_ps(four, z[0], z[4]));
        w[1] = _mm512_sub_ps(p, q), w[2] = _mm512_add_ps(p, q);
        w[3] = _mm512_sub_ps(r, s), w[4] = _mm512_add_ps(r, s);
        w[5] = _mm512_fnmadd_ps(five, z[3], _mm512_fmadd_ps(four, z[1], z[5]));
    } else {
        w[0] = _mm512_sub_ps(z[0], z[2]), w[1] = _mm512_add_ps(z[1], z[2]);
        w[2] = _mm512_sub_ps(z[2], z[1]), w[3] = _mm512_sub_ps(z[1], z[3]);
    }
}
__attribute__((target("avx512f"), always_inline)) static inline void infer__wino_at16(int a, const __m512 *z, __m512 *w) {
    if (a == 6) {
        const __m512 two = _mm512_set1_ps(2), four = _mm512_set1_ps(4), eight = _mm512_set1_ps(8);
        __m512 s12 = _mm512_add_ps(z[1], z[2]), d12 = _mm512_sub_ps(z[1], z[2]);
        __m512 s34 = _mm512_add_ps(z[3], z[4]), d34 = _mm512_sub_ps(z[3], z[4]);
        w[0] = _mm512_add_ps(_mm512_add_ps(z[0], s12), s34);
        w[1] = _mm512_fmadd_ps(two, d34, d12);
        w[2] = _mm512_fmadd_ps(four, s34, s12);
        w[3] = _mm512_add_ps(_mm512_fmadd_ps(eight, d34, d12), z[5]);
    } else {
        w[0] = _mm512_add_ps(_mm512_add_ps(z[0], z[1]), z[2]);
        w[1] = _mm512_sub_ps(_mm512_sub_ps(z[1], z[2]), z[3]);
    }
}

__attribute__((target("avx512f"), always_inline)) static inline void infer__wino_in16(const infer__wino *w, int64_t t,
                                                                                     const int a) {
    const infer__conv_p *p = w->p;
    const int e = a - 2;
    const int64_t tw = w->tw, sw = infer__wino_sw(tw), n_c = p->c * w->tiles;
    const int64_t ih = p->in[0], iw = p->in[1], pt = p->pb[0], pl = p->pb[1];
    /* phase k of 16 tiles from 32 floats (e = 2) or of 8 from each 32 (e = 4) */
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i q0 = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);
    float *s = w->lines + (size_t)t * w->line, *raw = s + a * e * sw;
    int64_t c0 = p->c * t / w->nt, c1 = p->c * (t + 1) / w->nt, ci, r;
    for (ci = c0; ci < c1; ci++) {
        float *vc = w->v + ci * w->tiles;
        for (r = w->r0; r < w->r1; r++) {
            int64_t ty = r % w->th, j, tx, x0, len;
            const float *xp = w->x + (r / w->th * p->c + ci) * ih * iw;
            for (j = 0; j < a; j++) {
                int64_t iy = e * ty - pt + j;
                float *sj = s + j * e * sw;
                if (iy < 0 || iy >= ih) {
                    memset(sj, 0, (size_t)(e * sw) * sizeof(float));
                    continue;
                }
                x0 = INFER__MIN(pl, e * sw), len = INFER__MAX(0, INFER__MIN(iw, e * sw - x0));
                memset(raw, 0, (size_t)x0 * sizeof(float));
                memcpy(raw + x0, xp + iy * iw, (size_t)len * sizeof(float));
                memset(raw + x0 + len, 0, (size_t)(e * sw - x0 - len) * sizeof(float));
                for (tx = 0; tx < sw; tx += 16)
                    if (e == 4) { /* 64 floats -> 16 of each phase */
                        __m512 a0 = _mm512_loadu_ps(raw + 4 * tx), a1 = _mm512_loadu_ps(raw + 4 * tx + 16);
                        __m512 a2 = _mm512_loadu_ps(raw + 4 * tx + 32), a3 = _mm512_loadu_ps(raw + 4 * tx + 48);
                        int k;
                        for (k = 0; k < 4; k++) {
                            __m512i qk = _mm512_add_epi32(q0, _mm512_set1_epi32(k));
                            __m512 lo = _mm512_permutex2var_ps(a0, qk, a1), hi = _mm512_permutex2var_ps(a2, qk, a3);
                            _mm512_storeu_ps(sj + k * sw + tx, _mm512_mask_blend_ps((__mmask16)0xFF00, lo, hi));
                        }
                    } else { /* 32 floats -> 16 even, 16 odd */
                        __m512 a0 = _mm512_loadu_ps(raw + 2 * tx), a1 = _mm512_loadu_ps(raw + 2 * tx + 16);
                        _mm512_storeu_ps(sj + tx, _mm512_permutex2var_ps(a0, ev, a1));
                        _mm512_storeu_ps(sj + sw + tx,
                                         _mm512_permutex2var_ps(a0, _mm512_add_epi32(ev, _mm512_set1_epi32(1)), a1));
                    }
            }
            for (tx = 0; tx < tw; tx += 16) {
                __m512 col[6][6], z[6], o[6];
                int64_t tt = (r - w->r0) * tw + tx, k, i, left = INFER__MIN(16, tw - tx);
                __mmask16 m = (__mmask16)(left == 16 ? 0xFFFF : (1u << left) - 1);
                for (k = 0; k < a; k++) {
                    for (j = 0; j < a; j++) z[j] = _mm512_loadu_ps(s + (j * e + k % e) * sw + tx + k / e);
                    infer__wino_bt16(a, z, o);
                    for (i = 0; i < a; i++) col[i][k] = o[i];
                }
                for (i = 0; i < a; i++) {
                    infer__wino_bt16(a, col[i], o);
                    for (k = 0; k < a; k++) _mm512_mask_storeu_ps(vc + (size_t)(i * a + k) * (size_t)n_c + tt, m, o[k]);
                }
            }
        }
    }
}

__attribute__((target("avx512f"), always_inline)) static inline void infer__wino_out16(const infer__wino *w, int64_t t,
                                                                                      const int a) {
    const infer__conv_p *p = w->p;
    const int e = a - 2;
    const int64_t oh = p->out[0], ow = p->out[1], tw = w->tw, n_m = p->m * w->tiles;
    const infer__act *act = p->act.kind != INFER__ACT_NONE ? &p->act : NULL;
    int64_t k0 = p->m * t / w->nt, k1 = p->m * (t + 1) / w->nt, k, r;
    for (k = k0; k < k1; k++) {
        const __m512 b = _mm512_set1_ps(w->bias ? w->bias[k] : 0);
        for (r = w->r0; r < w->r1; r++) {
            int64_t ty = r % w->th, rows = INFER__MIN(e, oh - e * ty), tx, i, j;
            float *yp = w->y + ((r / w->th * p->m + k) * oh + e * ty) * ow;
            const float *rp = w->res ? w->res + (yp - w->y) : NULL; /* read just before yp is written */
            for (tx = 0; tx < tw; tx += 16) {
                const float *mk = w->mm + k * w->tiles + (r - w->r0) * tw + tx;
                __m512 z[6], q[4][6], o[6], ch[4];
                for (j = 0; j < a; j++) {
                    for (i = 0; i < a; i++) z[i] = _mm512_loadu_ps(mk + (i * a + j) * n_m);
                    infer__wino_at16(a, z, o);
                    for (i = 0; i < e; i++) q[i][j] = o[i];
                }
                for (i = 0; i < rows; i++) { /* row i of 16 tiles -> 16 e floats */
                    infer__wino_at16(a, q[i], o);
                    for (j = 0; j < e; j++) o[j] = _mm512_add_ps(o[j], b);
                    if (e == 4) {
                        __m512 lo = _mm512_unpacklo_ps(o[0], o[1]), hi = _mm512_unpackhi_ps(o[0], o[1]);
                        __m512 lo2 = _mm512_unpacklo_ps(o[2], o[3]), hi2 = _mm512_unpackhi_ps(o[2], o[3]);
                        __m512 t0 = _mm512_shuffle_ps(lo, lo2, 0x44), t1 = _mm512_shuffle_ps(lo, lo2, 0xEE);
                        __m512 t2 = _mm512_shuffle_ps(hi, hi2, 0x44), t3 = _mm512_shuffle_ps(hi, hi2, 0xEE);
                        __m512 u0 = _mm512_shuffle_f32x4(t0, t1, 0x44), u1 = _mm512_shuffle_f32x4(t2, t3, 0x44);
                        __m512 u2 = _mm512_shuffle_f32x4(t0, t1, 0xEE), u3 = _mm512_shuffle_f32x4(t2, t3, 0xEE);
                        ch[0] = _mm512_shuffle_f32x4(u0, u1, 0x88), ch[1] = _mm512_shuffle_f32x4(u0, u1, 0xDD);
                        ch[2] = _mm512_shuffle_f32x4(u2, u3, 0x88), ch[3] = _mm512_shuffle_f32x4(u2, u3, 0xDD);
                    } else {
                        __m512 lo = _mm512_unpacklo_ps(o[0], o[1]), hi = _mm512_unpackhi_ps(o[0], o[1]);
                        ch[0] = _mm512_shuffle_f32x4(_mm512_shuffle_f32x4(lo, hi, 0x44), _mm512_shuffle_f32x4(lo, hi, 0x44), 0xD8);
                        ch[1] = _mm512_shuffle_f32x4(_mm512_shuffle_f32x4(lo, hi, 0xEE), _mm512_shuffle_f32x4(lo, hi, 0xEE), 0xD8);
                    }
                    for (j = 0; j < e; j++) { /* 16 floats a vector; the row's end masked */
                        int64_t at = e * tx + 16 * j, n = INFER__MIN(16, ow - at);
                        __mmask16 mask = (__mmask16)(n >= 16 ? 0xFFFFu : n > 0 ? (1u << n) - 1 : 0);
                        if (rp && mask) ch[j] = _mm512_add_ps(ch[j], _mm512_maskz_loadu_ps(mask, rp + i * ow + at));
                        if (n >= 16) _mm512_storeu_ps(yp + i * ow + at, ch[j]);
                        else if (n > 0) _mm512_mask_storeu_ps(yp + i * ow + at, mask, ch[j]);
                    }
                }
            }
            if (act) w->isa->epi(yp, ow, rows, ow, NULL, NULL, act);
        }
    }
}

__attribute__((target("avx512f"))) static void infer__wino_in_task512(void *arg, int64_t t) {
    const infer__wino *w = (const infer__wino *)arg;
    if (w->e == 4) infer__wino_in16(w, t, 6);
    else infer__wino_in16(w, t, 4);
}
__attribute__((target("avx512f"))) static void infer__wino_out_task512(void *arg, int64_t t) {
    const infer__wino *w = (const infer__wino *)arg;
    if (w->e == 4) infer__wino_out16(w, t, 6);
    else infer__wino_out16(w, t, 4);
}

/* GEMM task t: M[xi] = U[xi] (packed) x V[xi] for xi in [a^2 t / nt, a^2 (t + 1) / nt), packing
   V's blocks in the task's own buffer */
static void infer__wino_gemm_task(void *arg, int64_t t) {
    const infer__wino *w = (const infer__wino *)arg;
    int64_t pos = (w->e + 2) * (w->e + 2), xi;
    infer__gemm_job g;
    memset(&g, 0, sizeof g);
    g.isa = w->isa, g.m = w->p->m, g.n = w->tiles, g.k = w->p->c, g.b_rs = g.n, g.b_cs = 1;
    for (xi = pos * t / w->nt; xi < pos * (t + 1) / w->nt; xi++) {
        g.a_packed = w->u + (size_t)xi * w->u_per, g.b = w->v + xi * g.k * g.n, g.c = w->mm + xi * g.m * g.n;
        infer__gemm_f32_part(&g, 0, g.m, 0, g.n, NULL, w->bp + (size_t)t * w->bp_per);
    }
}

/* the tile rows of block b */
static void infer__wino_block(infer__wino *w, int64_t b) {
    w->r0 = b * w->rows, w->r1 = INFER__MIN(w->r0 + w->rows, w->p->n * w->th), w->tiles = (w->r1 - w->r0) * w->tw;
}

/* Task t of whole blocks: blocks t, t + nt, ... start to end in slice t of the scratch */
static void infer__wino_blocks_task(void *arg, int64_t t) {
    infer__wino w = *(const infer__wino *)arg;
    int64_t b;
    w.v += (size_t)t * w.slice, w.mm += (size_t)t * w.slice, w.lines += (size_t)t * w.slice, w.bp += (size_t)t * w.slice;
    w.nt = 1;
    for (b = t; b < w.blocks; b += ((const infer__wino *)arg)->nt) {
        infer__wino_block(&w, b);
        w.in(&w, 0);
        infer__wino_gemm_task(&w, 0);
        w.out(&w, 0);
    }
}

/* The Winograd Conv (infer__conv_wino) with U pre-packed for isa's GEMM */
static infer_status infer__conv_wino_run(const infer__ctx *c, const infer__gemm_isa *isa) {
    const infer__conv_p *p = &c->p->conv;
    infer__wino w;
    int64_t pos, b;
    size_t layout[4];
    int whole;
    uintptr_t at = ((uintptr_t)c->scratch + INFER__ALIGN - 1) & ~(uintptr_t)(INFER__ALIGN - 1);
    memset(&w, 0, sizeof w);
    w.p = p, w.isa = isa, w.u = c->packed, w.x = (const float *)c->in[0]->data, w.y = (float *)c->out[0]->data;
    w.res = p->res ? (const float *)p->res->data : NULL;
    w.bias = c->n_in > 2 && c->in[2] ? (const float *)c->in[2]->data : NULL;
    w.e = c->wino_e, pos = (w.e + 2) * (w.e + 2); /* as packed */
    w.in = isa == &infer__isa_avx512 ? infer__wino_in_task512 : infer__wino_in_task;
    w.out = isa == &infer__isa_avx512 ? infer__wino_out_task512 : infer__wino_out_task;
    w.th = (p->out[0] + w.e - 1) / w.e, w.tw = (p->out[1] + w.e - 1) / w.e;
    if (p->n * w.th * w.tw == 0) return INFER_STATUS_OK;
    w.rows = infer__wino_rows(p, w.e, &w.blocks, NULL);
    w.nt = infer__threads_for(c, (double)p->n * (double)p->m * (double)p->c * (double)(w.th * w.tw) * (double)pos);
    whole = w.nt > 1 && w.blocks >= 2 * w.nt;
    w.slice = infer__wino_slice(p, w.e, whole ? 1 : w.nt, layout);
    if (!w.slice || c->scratch_bytes < w.slice * sizeof(float) * (size_t)(whole ? w.nt : 1) + INFER__ALIGN)
        return infer__conv_ref(c); /* not planned for: cannot happen */
    w.u_per = infer__packed_a_floats(isa, p->m, p->c), w.line = layout[2], w.bp_per = layout[3];
    w.v = (float *)at;
    w.mm = w.v + layout[0];
    w.lines = w.mm + layout[1];
    w.bp = w.lines + (size_t)(whole ? 1 : w.nt) * w.line;
    if (whole) {
        infer__parallel(c, w.nt, w.nt, infer__wino_blocks_task, &w);
        return INFER_STATUS_OK;
    }
    for (b = 0; b < w.blocks; b++) {
        infer__wino_block(&w, b);
        infer__parallel(c, w.nt, w.nt, w.in, &w);
        infer__parallel(c, w.nt, w.nt, infer__wino_gemm_task, &w);
        infer__parallel(c, w.nt, w.nt, w.out, &w);
    }
    return INFER_STATUS_OK;
}
#endif /* INFER__HAVE_AVX2 */

#if defined(INFER__HAVE_AVX2)
/* -- Conv writing channels-last (infer__layout_pass): 1x1, and small general ones --
   Per image Y[p][m] = bias[m] + sum_k X[p][k] W[m][k]: for a 1x1 conv k is the input
   channel and X is read in place, in either layout (strides xps between positions, xcs
   between channels); for a general conv (a stem before a depthwise chain) X[p] is position
   p's window (c x kh x kw, zeros in the padding), gathered 48 positions at a time into the
   task's scratch. W^T is packed at creation band by band of V vectors of output channels,
   each band's [k][V vectors] and its bias contiguous (infer__pw_nhwc_pack). A tile is R
   positions x V vectors in registers: each k adds its R inputs, broadcast, times V
   vectors of W^T. A task owns a range of positions (of every image) and goes over them
   once per band, so a band's weights stay in cache (blocks of positions, each block once
   per band, made the convs of small K faster but the depthwise conv after them as much
   slower). None, Relu and Clip are applied in registers, other activations on the task's
   rows after. */
typedef struct infer__pw_job {
    const infer__ctx *c;
    const infer__vec_isa *vec;
    int64_t n_tasks;
} infer__pw_job;

/* Gathers the windows of positions q0 .. q0 + cnt of image n (one row of c kh kw each; at
   most INFER__LY_GEN_K): a window inside the image through offs, its taps' offsets from
   the window's corner (infer__conv_nhwc_task's table) */
static void infer__conv_nhwc_gather(const infer__conv_p *p, const float *x, const int64_t *offs, int64_t n, int64_t q0,
                                    int64_t cnt, float *rows) {
    const int64_t kk = p->c * p->k[0] * p->k[1], ih = p->in[0], iw = p->in[1];
    const float *xn = x + n * p->c * ih * iw;
    int64_t q, ci, ky, kx, t, oy = q0 / p->out[1], ox = q0 % p->out[1];
    for (q = 0; q < cnt; q++) {
        const int64_t iy = oy * p->s[0] - p->pb[0], ix = ox * p->s[1] - p->pb[1];
        float *r = rows + q * kk;
        if (kk <= INFER__LY_GEN_K && iy >= 0 && iy + (p->k[0] - 1) * p->d[0] < ih && ix >= 0 && ix + (p->k[1] - 1) * p->d[1] < iw) {
            const float *xq = xn + iy * iw + ix;
            for (t = 0; t < kk; t++) r[t] = xq[offs[t]];
        } else {
            for (ci = 0; ci < p->c; ci++)
                for (ky = 0; ky < p->k[0]; ky++)
                    for (kx = 0; kx < p->k[1]; kx++) {
                        const int64_t y = iy + ky * p->d[0], z = ix + kx * p->d[1];
                        *r++ = y >= 0 && y < ih && z >= 0 && z < iw ? xn[(ci * ih + y) * iw + z] : 0.0f;
                    }
        }
        if (++ox == p->out[1]) ox = 0, oy++;
    }
}

/* act (none, Relu or Clip) on a, stored at y[m0..) of a row of M: W lanes or the rest */
__attribute__((target("avx512f,avx2,fma"), always_inline)) static inline void
infer__pw_store512(int kind, __m512 lo, __m512 hi, __m512 a, float *y, int64_t m0, int64_t M) {
    if (kind == INFER__ACT_RELU) a = _mm512_max_ps(_mm512_setzero_ps(), a);
    if (kind == INFER__ACT_CLIP) a = _mm512_min_ps(hi, _mm512_max_ps(a, lo));
    if (m0 + 16 <= M) _mm512_storeu_ps(y + m0, a);
    else _mm512_mask_storeu_ps(y + m0, (__mmask16)((1u << (M - m0)) - 1), a);
}
__attribute__((target("avx2,fma"), always_inline)) static inline void
infer__pw_store256(int kind, __m256 lo, __m256 hi, __m256 a, float *y, int64_t m0, int64_t M) {
    int64_t e;
    if (kind == INFER__ACT_RELU) a = _mm256_max_ps(_mm256_setzero_ps(), a); /* as infer__act_avx2 */
    if (kind == INFER__ACT_CLIP) a = _mm256_min_ps(hi, _mm256_max_ps(a, lo));
    if (m0 + 8 <= M) _mm256_storeu_ps(y + m0, a);
    else if (m0 < M) { /* no masked stores: AMD's are slow */
        float t[8];
        _mm256_storeu_ps(t, a);
        for (e = 0; e < M - m0; e++) y[m0 + e] = t[e];
    }
}

/* A tile: R (up to 12) positions from x (xps apart; inputs xcs apart, or at offs) times V (up to 4)
   vectors of a band's W^T (wt: rows mp apart, then the bias) from output channel j, into y
   (rows of M). Its accumulators are named variables, a<row>_<vector>, so that with R and
   V constant they stay in registers. The vector type and intrinsics are INFER__PW_VT, _W
   (lanes), _LD, _ZERO, _SET1, _FMA and _ST (infer__pw_store512), defined around each
   instance. */
#define INFER__PW_ROWS12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define INFER__PW_DECL(r) INFER__PW_VT a##r##_0 = z, a##r##_1 = z, a##r##_2 = z, a##r##_3 = z;
#define INFER__PW_INIT(r) if (r < R) a##r##_0 = b0, a##r##_1 = b1, a##r##_2 = b2, a##r##_3 = b3;
#define INFER__PW_STEP(r)                                                                                              \
    if (r < R) {                                                                                                       \
        const INFER__PW_VT xb = INFER__PW_SET1(xc[r * xps]);                                                           \
        a##r##_0 = INFER__PW_FMA(xb, w0, a##r##_0);                                                                    \
        if (V > 1) a##r##_1 = INFER__PW_FMA(xb, w1, a##r##_1);                                                         \
        if (V > 2) a##r##_2 = INFER__PW_FMA(xb, w2, a##r##_2);                                                         \
        if (V > 3) a##r##_3 = INFER__PW_FMA(xb, w3, a##r##_3);                                                         \
    }
#define INFER__PW_PREFETCH(r) /* the next tile's rows, a line at a time (no pointer past x is formed) */            \
    if (r < R) _mm_prefetch((const char *)((uintptr_t)xc + (uintptr_t)((R + r) * xps) * sizeof(float)), _MM_HINT_T0);
#define INFER__PW_STORE(r)                                                                                             \
    if (r < R) {                                                                                                       \
        INFER__PW_ST(kind, lo, hi, a##r##_0, y + r * M, j, M);                                                         \
        if (V > 1) INFER__PW_ST(kind, lo, hi, a##r##_1, y + r * M, j + INFER__PW_W, M);                                \
        if (V > 2) INFER__PW_ST(kind, lo, hi, a##r##_2, y + r * M, j + 2 * INFER__PW_W, M);                            \
        if (V > 3) INFER__PW_ST(kind, lo, hi, a##r##_3, y + r * M, j + 3 * INFER__PW_W, M);                            \
    }
#define INFER__PW_TILE_FN(NAME, TARGET)                                                                                \
    __attribute__((target(TARGET), always_inline)) static inline void NAME(                                            \
        const int R, const int V, const float *x, int64_t xps, int64_t xcs, const int64_t *offs, int64_t K,           \
        const float *wt, int64_t mp, float *y, int64_t M, int64_t j, const infer__act *act, int pfw) {                \
        const INFER__PW_VT z = INFER__PW_ZERO();                                                                       \
        const float *bias = wt + K * mp;                                                                               \
        const INFER__PW_VT b0 = INFER__PW_LD(bias), b1 = V > 1 ? INFER__PW_LD(bias + INFER__PW_W) : z,                 \
                           b2 = V > 2 ? INFER__PW_LD(bias + 2 * INFER__PW_W) : z,                                      \
                           b3 = V > 3 ? INFER__PW_LD(bias + 3 * INFER__PW_W) : z;                                      \
        int64_t ch;                                                                                                    \
        INFER__PW_ROWS12(INFER__PW_DECL)                                                                               \
        INFER__PW_ROWS12(INFER__PW_INIT)                                                                               \
        for (ch = 0; ch < K; ch++) {                                                                                   \
            const float *xc = x + (offs ? offs[ch] : ch * xcs), *wc = wt + ch * mp;                                    \
            const INFER__PW_VT w0 = INFER__PW_LD(wc), w1 = V > 1 ? INFER__PW_LD(wc + INFER__PW_W) : z,                 \
                               w2 = V > 2 ? INFER__PW_LD(wc + 2 * INFER__PW_W) : z,                                    \
                               w3 = V > 3 ? INFER__PW_LD(wc + 3 * INFER__PW_W) : z;                                    \
        if (pfw && ch + INFER__PW_PF_W < K) {                                                                        \
            const float *wf = wc + INFER__PW_PF_W * mp;                                                                \
            int64_t e;                                                                                                 \
            for (e = 0; e < V * INFER__PW_W; e += 16) _mm_prefetch((const char *)(wf + e), _MM_HINT_T0);               \
        }                                                                                                              \
            if ((ch & 15) == 0) { INFER__PW_ROWS12(INFER__PW_PREFETCH) }                                               \
            INFER__PW_ROWS12(INFER__PW_STEP)                                                                           \
        }                                                                                                              \
        {                                                                                                              \
            const int kind = act->kind;                                                                                \
            const INFER__PW_VT lo = INFER__PW_SET1(act->alpha), hi = INFER__PW_SET1(act->beta);                        \
            INFER__PW_ROWS12(INFER__PW_STORE)                                                                          \
        }                                                                                                              \
    }
#define INFER__PW_VT __m512
#define INFER__PW_W 16
#define INFER__PW_LD _mm512_loadu_ps
#define INFER__PW_ZERO _mm512_setzero_ps
#define INFER__PW_SET1 _mm512_set1_ps
#define INFER__PW_FMA _mm512_fmadd_ps
#define INFER__PW_ST infer__pw_store512
INFER__PW_TILE_FN(infer__pw_tile512, "avx512f,avx2,fma")
#undef INFER__PW_VT
#undef INFER__PW_W
#undef INFER__PW_LD
#undef INFER__PW_ZERO
#undef INFER__PW_SET1
#undef INFER__PW_FMA
#undef INFER__PW_ST
#define INFER__PW_VT __m256
#define INFER__PW_W 8
#define INFER__PW_LD _mm256_loadu_ps
#define INFER__PW_ZERO _mm256_setzero_ps
#define INFER__PW_SET1 _mm256_set1_ps
#define INFER__PW_FMA _mm256_fmadd_ps
#define INFER__PW_ST infer__pw_store256
INFER__PW_TILE_FN(infer__pw_tile256, "avx2,fma")
#undef INFER__PW_VT
#undef INFER__PW_W
#undef INFER__PW_LD
#undef INFER__PW_ZERO
#undef INFER__PW_SET1
#undef INFER__PW_FMA
#undef INFER__PW_ST

/* cnt positions (rows of y, M floats apart) from x times V vectors of W^T from output
   channel j: R positions a tile, then one at a time. One function for each V (and ISA),
   so that no function holds every (R, V) instance (a compiler's time grows faster than
   a function's size: the sanitizer builds of one such took minutes). */
#define INFER__PW_BAND(NAME, TARGET, TILE, V, R)                                                                       \
    __attribute__((target(TARGET), noinline)) static void NAME(const float *x, int64_t xps, int64_t xcs,               \
                                                                const int64_t *offs, int64_t cnt, int64_t K,           \
                                                                const float *wt, int64_t mp, float *y, int64_t M,      \
                                                                int64_t j, const infer__act *act) {                    \
        int64_t q = 0;                                                                                                 \
        for (; q + (R) <= cnt; q += (R))                                                                               \
            TILE((R), (V), x + q * xps, xps, xcs, offs, K, wt, mp, y + q * M, M, j, act, q == 0);                      \
        for (; q < cnt; q++) TILE(1, (V), x + q * xps, xps, xcs, offs, K, wt, mp, y + q * M, M, j, act, q == 0);      \
    }
INFER__PW_BAND(infer__pw_band512_1, "avx512f,avx2,fma", infer__pw_tile512, 1, 12)
INFER__PW_BAND(infer__pw_band512_2, "avx512f,avx2,fma", infer__pw_tile512, 2, 12)
INFER__PW_BAND(infer__pw_band512_3, "avx512f,avx2,fma", infer__pw_tile512, 3, 8)
INFER__PW_BAND(infer__pw_band512_4, "avx512f,avx2,fma", infer__pw_tile512, 4, 6)
INFER__PW_BAND(infer__pw_band256_1, "avx2,fma", infer__pw_tile256, 1, 12)
INFER__PW_BAND(infer__pw_band256_2, "avx2,fma", infer__pw_tile256, 2, 6)
INFER__PW_BAND(infer__pw_band256_3, "avx2,fma", infer__pw_tile256, 3, 4)
#undef INFER__PW_BAND

typedef void (*infer__pw_band_fn)(const float *x, int64_t xps, int64_t xcs, const int64_t *offs, int64_t cnt, int64_t K,
                                  const float *wt, int64_t mp, float *y, int64_t M, int64_t j, const infer__act *act);
static const infer__pw_band_fn infer__pw_bands512[4] = {infer__pw_band512_1, infer__pw_band512_2, infer__pw_band512_3,
                                                        infer__pw_band512_4};
static const infer__pw_band_fn infer__pw_bands256[3] = {infer__pw_band256_1, infer__pw_band256_2, infer__pw_band256_3};

/* cnt positions (rows of y, M floats apart) from x: band by band of output channels
   (infer__pw_band), a band of V vectors by bands[V - 1] */
static void infer__pw_rows(const infer__pw_band_fn *bands, int wide, const float *x, int64_t xps, int64_t xcs,
                           const int64_t *offs, int64_t cnt, int64_t K, const float *wt, int64_t M, float *y,
                           const infer__act *act) {
    int64_t j, wd;
    for (j = 0; j < M; j += wd) {
        wd = infer__pw_band(wide, M, j);
        bands[wd / INFER__PW_VW(wide) - 1](x, xps, xcs, offs, cnt, K, wt + j * (K + 1), wd, y, M, j, act);
    }
}
static void infer__pw_rows512(const float *x, int64_t xps, int64_t xcs, const int64_t *offs, int64_t cnt, int64_t K,
                              const float *wt, int64_t M, float *y, const infer__act *act) {
    infer__pw_rows(infer__pw_bands512, 1, x, xps, xcs, offs, cnt, K, wt, M, y, act);
}
static void infer__pw_rows256(const float *x, int64_t xps, int64_t xcs, const int64_t *offs, int64_t cnt, int64_t K,
                              const float *wt, int64_t M, float *y, const infer__act *act) {
    infer__pw_rows(infer__pw_bands256, 0, x, xps, xcs, offs, cnt, K, wt, M, y, act);
}

typedef void (*infer__pw_rows_fn)(const float *x, int64_t xps, int64_t xcs, const int64_t *offs, int64_t cnt, int64_t K,
                                  const float *wt, int64_t M, float *y, const infer__act *act);

/* task t of a channels-last conv: its positions [lo, hi) of every image */
static void infer__conv_nhwc_task(void *arg, int64_t t, infer__pw_rows_fn rows) {
    const infer__pw_job *pj = (const infer__pw_job *)arg;
    const infer__ctx *c = pj->c;
    const infer__conv_p *p = &c->p->conv;
    const int64_t M = p->m, P = p->out[0] * p->out[1], all = p->n * P, kk = p->c * p->k[0] * p->k[1];
    const int64_t per = infer__conv_nhwc_rows(p), tiles = (all + 23) / 24; /* shares of whole tiles of 24 */
    const int64_t lo = INFER__MIN(all, tiles * t / pj->n_tasks * 24), hi = INFER__MIN(all, tiles * (t + 1) / pj->n_tasks * 24);
    const float *x = (const float *)c->in[0]->data;
    float *y = (float *)c->out[0]->data;
    float *buf = (float *)(((uintptr_t)c->scratch + INFER__ALIGN - 1) & ~(uintptr_t)(INFER__ALIGN - 1)) + t * per;
    infer__act none = {INFER__ACT_NONE, 0, 0};
    const infer__act *act = p->act.kind == INFER__ACT_RELU || p->act.kind == INFER__ACT_CLIP ? &p->act : &none;
    int64_t offs[INFER__LY_GEN_K], g, cnt, q, ci, ky, kx, e = 0;
    for (ci = 0; per && ci < p->c; ci++) /* a general conv's taps, as offsets from its window's corner */
        for (ky = 0; ky < p->k[0]; ky++)
            for (kx = 0; kx < p->k[1] && e < INFER__LY_GEN_K; kx++) offs[e++] = (ci * p->in[0] + ky * p->d[0]) * p->in[1] + kx * p->d[1];
    for (g = lo; g < hi; g += cnt) {
        const int64_t n = g / P, q0 = g % P;
        cnt = INFER__MIN(hi - g, P - q0);
        if (per) { /* a general conv, along one output row: windows inside the image in place, the others gathered */
            const int64_t oy = q0 / p->out[1], ox = q0 % p->out[1], iy = oy * p->s[0] - p->pb[0];
            const int64_t x0 = (p->pb[1] + p->s[1] - 1) / p->s[1], x1 = (p->in[1] - 1 - (p->k[1] - 1) * p->d[1] + p->pb[1]);
            int64_t a, b;
            cnt = INFER__MIN(cnt, p->out[1] - ox);
            a = b = ox + cnt; /* [a, b): the windows inside */
            if (kk <= INFER__LY_GEN_K && iy >= 0 && iy + (p->k[0] - 1) * p->d[0] < p->in[0] && x1 >= 0) {
                a = INFER__MIN(ox + cnt, INFER__MAX(ox, x0)), b = INFER__MAX(a, INFER__MIN(ox + cnt, x1 / p->s[1] + 1));
                if (b > a)
                    rows(x + (n * p->c * p->in[0] + iy) * p->in[1] + a * p->s[1] - p->pb[1], p->s[1], 0, offs, b - a, kk,
                         c->packed, M, y + (n * P + oy * p->out[1] + a) * M, act);
            }
            for (q = ox; q < ox + cnt; q = q == a - 1 ? b : q + 1) { /* the others, INFER__PW_CHUNK at a time */
                int64_t m = 1;
                if (q >= a && q < b) continue;
                while (m < INFER__PW_CHUNK && q + m < ox + cnt && !(q + m >= a && q + m < b)) m++;
                infer__conv_nhwc_gather(p, x, offs, n, oy * p->out[1] + q, m, buf);
                rows(buf, kk, 1, NULL, m, kk, c->packed, M, y + (n * P + oy * p->out[1] + q) * M, act);
                q += m - 1;
            }
        } else if (p->in_nhwc) {
            rows(x + (n * P + q0) * p->c, p->c, 1, NULL, cnt, p->c, c->packed, M, y + (n * P + q0) * M, act);
        } else {
            rows(x + n * p->c * P + q0, 1, P, NULL, cnt, p->c, c->packed, M, y + (n * P + q0) * M, act);
        }
    }
    if (act == &none && p->act.kind != INFER__ACT_NONE) infer__act_apply_vec(pj->vec, &p->act, y + lo * M, (hi - lo) * M);
}
static void infer__conv_nhwc_task512(void *arg, int64_t t) { infer__conv_nhwc_task(arg, t, infer__pw_rows512); }
static void infer__conv_nhwc_task256(void *arg, int64_t t) { infer__conv_nhwc_task(arg, t, infer__pw_rows256); }

#endif /* INFER__HAVE_AVX2 */

/* Image n of a conv on the GEMM (every group), on nt threads with scratch of bytes; q
   (isa, geometry) gets the image's input and bias as it goes. */
static void infer__conv_gemm_image(const infer__ctx *c, infer__conv2 *q, int64_t n, int nt, void *scratch, size_t bytes) {
    const infer__conv_p *p = &c->p->conv;
    const infer__gemm_isa *isa = q->isa;
    const float *x = (const float *)c->in[0]->data, *w = (const float *)c->in[1]->data;
    const float *res = p->res ? (const float *)p->res->data : NULL;
    const float *bias = c->n_in > 2 && c->in[2] ? (const float *)c->in[2]->data : NULL;
    float *y = (float *)c->out[0]->data;
    int64_t cg = p->c / p->group, mg = p->m / p->group, kk = cg * p->k[0] * p->k[1] * p->k[2], g;
    int64_t in_sz = p->in[0] * p->in[1] * p->in[2], hw = p->out[0] * p->out[1] * p->out[2];
    int pointwise = infer__conv_pointwise(p);
    for (g = 0; g < p->group; g++) {
        infer__gemm_job j;
        memset(&j, 0, sizeof j);
        q->x = x + (n * p->c + g * cg) * in_sz;
        q->bias = bias ? bias + g * mg : NULL;
        j.isa = isa, j.m = mg, j.n = hw, j.k = kk;
        j.a_rs = kk, j.a_cs = 1;
        if (c->packed) j.a_packed = c->packed + (size_t)g * infer__packed_a_floats(isa, mg, kk);
        else j.a = w + g * mg * kk; /* a folded W is freed once packed (infer__pack_weights) */
        j.b = q->x, j.b_rs = p->in_nhwc ? 1 : in_sz, j.b_cs = p->in_nhwc ? p->c : 1; /* X itself is B for a pointwise conv */
        if (!pointwise) j.pack_b = infer__conv_pack_b, j.pack_arg = q;
        j.c = y + (n * p->m + g * mg) * hw;
        if (res) { /* a fused residual (infer__residual_pass): C starts as it, unless Y is it already */
            if (res != y) memcpy(j.c, res + (n * p->m + g * mg) * hw, (size_t)(mg * hw) * sizeof(float));
            j.c_acc = 1;
        }
        j.epi = infer__conv_epi, j.epi_arg = q;
        infer__gemm_kepi(&j, q->bias, NULL, &p->act);
        j.share_b = !pointwise;
        infer__gemm_f32_job_run(c, &j, nt, scratch, bytes);
    }
}

/* A batch's images shared out whole (infer__conv_images_task): each thread runs an image's
   GEMMs alone, in its own part of the scratch. The sums are those of any split of one
   GEMM, so results do not depend on who took which image. */
typedef struct infer__conv_images {
    const infer__ctx *c;
    const infer__conv2 *q;
    size_t per;   /* scratch bytes a thread, a multiple of INFER__ALIGN */
    int nt;
    int64_t next; /* the next image to take (atomic) */
} infer__conv_images;

static void infer__conv_images_task(void *arg, int64_t t) {
    infer__conv_images *ci = (infer__conv_images *)arg;
    infer__ctx one = *ci->c; /* the image's GEMMs run here alone: no pool, and no polling of the */
    infer__conv2 q = *ci->q; /* host's abort callback off the thread that called infer_run */
    char *mine = (char *)(((uintptr_t)one.scratch + INFER__ALIGN - 1) & ~(uintptr_t)(INFER__ALIGN - 1)) + (size_t)t * ci->per;
    int64_t n;
    one.rt = NULL;
#if INFER__POOL
    while ((n = __atomic_fetch_add(&ci->next, 1, __ATOMIC_RELAXED)) < one.p->conv.n && !infer__stopped(ci->c->rt, 0))
#else
    for (n = t; n < one.p->conv.n && !infer__stopped(ci->c->rt, 0); n += ci->nt)
#endif
        infer__conv_gemm_image(&one, &q, n, 1, mine, ci->per + INFER__ALIGN); /* mine is aligned: per is used */
}

/* The Conv of one ISA's GEMM; depthwise convs take the direct kernel, 3-D ones the reference. */
static infer_status infer__conv_f32_simd(const infer__ctx *c, const infer__gemm_isa *isa) {
    const infer__conv_p *p = &c->p->conv;
    int64_t cg = p->c / p->group, mg = p->m / p->group, ksz = p->k[0] * p->k[1] * p->k[2], kk = cg * ksz;
    int64_t hw = p->out[0] * p->out[1] * p->out[2], n;
    int nt;
    infer__conv2 q;
    if (p->n_sp > 2) return infer__conv_ref(c);
    if (infer__conv_is_dw(p)) {
        infer__dw_job dj;
#if defined(INFER__HAVE_AVX2)
        if (p->in_nhwc) { /* channels-last (infer__layout_pass): the weights must be packed for it */
            infer__dw_nhwc_job nj;
            if (!c->packed) return infer__cfail(c, INFER_STATUS_BACKEND, "channels-last weights not packed");
            nj.c = c, nj.vec = infer__vec_of(isa), nj.wide = isa == &infer__isa_avx512;
            nj.n_tasks = INFER__MIN(p->n * p->out[0], infer__threads_for(c, (double)p->n * (double)p->m * (double)hw * (double)ksz));
            infer__parallel(c, (int)nj.n_tasks, nj.n_tasks, infer__conv_dw_nhwc_task, &nj);
            return INFER_STATUS_OK;
        }
#endif
        int64_t cb = infer__conv_dw_cb(p), jobs = cb ? p->n * (p->c / 8 + (p->c % 8 != 0)) : p->n * p->m;
        size_t per = (size_t)(cb ? cb : infer__conv_dw_plane(p, NULL, NULL)) * sizeof(float);
        int64_t nt_dw = infer__threads_for(c, (double)p->n * (double)p->m * (double)hw * (double)ksz);
        if (c->scratch_bytes < per + INFER__ALIGN) return infer__conv_ref(c); /* not planned for: cannot happen */
        nt_dw = INFER__MIN(INFER__MIN(nt_dw, jobs), (int64_t)((c->scratch_bytes - INFER__ALIGN) / per));
        dj.c = c, dj.vec = infer__vec_of(isa), dj.n_tasks = nt_dw;
#if defined(INFER__HAVE_AVX2)
        dj.plane = isa == &infer__isa_avx512 ? infer__dw_plane_avx512 : infer__dw_plane_avx2;
        if (cb) {
            infer__parallel(c, (int)nt_dw, nt_dw, infer__conv_dw_cb_task_avx2, &dj);
            return INFER_STATUS_OK;
        }
#endif
        infer__parallel(c, (int)nt_dw, nt_dw, INFER__CONV_DW_TASK, &dj);
        return INFER_STATUS_OK;
    }
#if defined(INFER__HAVE_AVX2)
    if (p->out_nhwc) { /* channels-last out (infer__conv_nhwc_task) */
        infer__pw_job pj;
        size_t per = (size_t)infer__conv_nhwc_rows(p) * sizeof(float);
        if (!c->packed) return infer__cfail(c, INFER_STATUS_BACKEND, "channels-last weights not packed");
        pj.c = c, pj.vec = infer__vec_of(isa);
        pj.n_tasks = INFER__MIN(infer__threads_for(c, (double)p->m * (double)hw * (double)kk), p->n * hw);
        if (per && c->scratch_bytes < per * (size_t)pj.n_tasks + INFER__ALIGN)
            pj.n_tasks = (int64_t)((c->scratch_bytes - INFER__MIN(c->scratch_bytes, INFER__ALIGN)) / per);
        if (pj.n_tasks < 1) return infer__cfail(c, INFER_STATUS_BACKEND, "channels-last conv scratch not planned");
        infer__parallel(c, (int)pj.n_tasks, pj.n_tasks,
                        isa == &infer__isa_avx512 ? infer__conv_nhwc_task512 : infer__conv_nhwc_task256, &pj);
        return INFER_STATUS_OK;
    }
    if (c->packed && c->wino_e) return infer__conv_wino_run(c, isa);
#endif
    if (!c->packed && c->scratch_bytes < infer__gemm_f32_scratch_ab(mg, hw, kk, 1, 0))
        return infer__conv_ref(c); /* W planned as pre-packed but not packed: cannot happen */
    infer__conv2_init(p, &q);
    q.isa = isa;
#if defined(INFER__HAVE_AVX2)
    q.even = isa == &infer__isa_avx512 ? infer__even_avx512 : infer__even_avx2;
#else
    q.even = infer__even_neon;
#endif
    nt = infer__threads_for(c, (double)mg * (double)hw * (double)kk);
    if (nt > 1 && p->n % nt == 0) { /* whole images a thread, one at a time as threads come free */
        infer__conv_images ci;
        ci.c = c, ci.q = &q, ci.nt = nt, ci.next = 0;
        ci.per = (size_t)infer__pad64(infer__gemm_f32_scratch_ab(mg, hw, kk, 1, c->packed != NULL) - INFER__ALIGN);
        if (ci.per * (size_t)nt + INFER__ALIGN <= c->scratch_bytes) {
            infer__parallel(c, nt, nt, infer__conv_images_task, &ci);
            return INFER_STATUS_OK;
        }
    }
    for (n = 0; n < p->n; n++) infer__conv_gemm_image(c, &q, n, nt, c->scratch, c->scratch_bytes);
    return INFER_STATUS_OK;
}

#if defined(INFER__HAVE_AVX2)
static infer_status infer__conv_f32_avx2(const infer__ctx *c) { return infer__conv_f32_simd(c, &infer__isa_avx2); }
static infer_status infer__conv_f32_avx512(const infer__ctx *c) { return infer__conv_f32_simd(c, &infer__isa_avx512); }
#else
static infer_status infer__conv_f32_neon(const infer__ctx *c) { return infer__conv_f32_simd(c, &infer__isa_neon); }
#endif
#endif /* INFER__HAVE_AVX2 || INFER__HAVE_NEON */

#if defined(INFER__HAVE_AVX2)
/* -- Conv on the int8 GEMM (issue 9) --

   Per batch item, y^T[oh * ow][m] = im2col(X)^T[oh * ow][k] x W^T[k][m], k = c * kh * kw:
   row i of A is output position i's window, gathered by infer__conv_q8_row into the
   GEMM's f32 row buffer and quantized per row as MatMul's rows are (a pointwise conv reads
   X by strides instead); B is W^T, packed at creation (infer__cpu_pack); bias and
   activation run in the epilogue, whose tiles are stored transposed into the NCHW plane
   y[m][oh * ow]. One group, 1-D or 2-D, not depthwise (infer__q8_geom). */

typedef struct infer__conv_q8_arg {
    infer__conv2 q; /* geometry; x: the batch item's input [c][ih][iw] */
    int64_t c;      /* input channels */
} infer__conv_q8_arg;

/* r[k] = A's row i (output position (oy, ox)): r[(ci kh + ky) kw + kx] =
   x[ci][oy sh - ph + ky dh][ox sw - pw + kx dw], 0 in the padding */
static void infer__conv_q8_row(const void *arg, int64_t i, float *r) {
    const infer__conv_q8_arg *a = (const infer__conv_q8_arg *)arg;
    const infer__conv2 *q = &a->q;
    int64_t y0 = i / q->ow * q->sh - q->ph, x0 = i % q->ow * q->sw - q->pw, ci, ky, kx;
    for (ci = 0; ci < a->c; ci++)
        for (ky = 0; ky < q->kh; ky++, r += q->kw) {
            int64_t iy = y0 + ky * q->dh;
            const float *xr = q->x + (ci * q->ih + iy) * q->iw;
            if (iy < 0 || iy >= q->ih) {
                memset(r, 0, (size_t)q->kw * sizeof(float));
                continue;
            }
            for (kx = 0; kx < q->kw; kx++) {
                int64_t ix = x0 + kx * q->dw;
                r[kx] = ix >= 0 && ix < q->iw ? xr[ix] : 0.0f;
            }
        }
}

/* Conv on the int8 GEMM: W^T packed, then its scales [m], in c->packed */
static infer_status infer__conv_q8(const infer__ctx *c, const infer__qgemm_isa *isa) {
    const infer__conv_p *p = &c->p->conv;
    const float *x = (const float *)c->in[0]->data;
    const float *bias = c->n_in > 2 && c->in[2] ? (const float *)c->in[2]->data : NULL;
    float *y = (float *)c->out[0]->data;
    int64_t k = p->c * p->k[0] * p->k[1] * p->k[2], hw = p->out[0] * p->out[1] * p->out[2];
    int64_t in_sz = p->in[0] * p->in[1] * p->in[2], n;
    const float *scale = (const float *)(const void *)((const char *)c->packed + infer__qgemm_packed_bytes(isa, k, p->m));
    int nt = infer__threads_for(c, (double)hw * (double)p->m * (double)k);
    infer__conv_q8_arg a;
    if (hw <= 0) return INFER_STATUS_OK;
    infer__conv2_init(p, &a.q);
    a.c = p->c;
    for (n = 0; n < p->n; n++) {
        infer__qgemm_job g;
        infer__qgemm_f32_job(&g, isa, hw, p->m, k, c->packed, scale, bias, p->act.kind != INFER__ACT_NONE ? &p->act : NULL,
                             y + n * p->m * hw);
        g.ldy_t = hw;
        a.q.x = x + n * p->c * in_sz;
        if (infer__conv_pointwise(p)) g.a = a.q.x, g.a_rs = 1, g.a_cs = in_sz; /* row i: x[ci][i] */
        else g.row = infer__conv_q8_row, g.row_arg = &a;
        infer__qgemm_run(c, &g, nt, c->scratch, c->scratch_bytes);
    }
    return INFER_STATUS_OK;
}
static infer_status infer__conv_q8_avx2(const infer__ctx *c) { return infer__conv_q8(c, &infer__qisa_avx2); }
static infer_status infer__conv_q8_vnni(const infer__ctx *c) { return infer__conv_q8(c, &infer__qisa_vnni); }
#endif

/* -- ConvTranspose: each input position scatters into the output -- */

/* job = (batch n, output channel m): every input position of that plane's group scatters in */
static void infer__conv_transpose_ref_job(void *arg, int64_t job) {
    const infer__ctx *c = (const infer__ctx *)arg;
    const infer__conv_p *p = &c->p->conv;
    const float *x = (const float *)c->in[0]->data, *w = (const float *)c->in[1]->data;
    const float *bias = c->n_in > 2 && c->in[2] ? (const float *)c->in[2]->data : NULL;
    int64_t cg = p->c / p->group, mg = p->m / p->group;
    int64_t in_sz = p->in[0] * p->in[1] * p->in[2], out_sz = p->out[0] * p->out[1] * p->out[2];
    int64_t ksz = p->k[0] * p->k[1] * p->k[2];
    int64_t n = job / p->m, m = job % p->m, g = m / mg, mm = m % mg, ci, k0, k1, k2, i0, i1, i2, i;
    float *yp = (float *)c->out[0]->data + job * out_sz;
    for (i = 0; i < out_sz; i++) yp[i] = bias ? bias[m] : 0.0f;
    for (ci = 0; ci < cg; ci++) {
        const float *xp = x + (n * p->c + g * cg + ci) * in_sz;
        const float *wp = w + ((g * cg + ci) * mg + mm) * ksz;
        for (k0 = 0; k0 < p->k[0]; k0++)
            for (k1 = 0; k1 < p->k[1]; k1++)
                for (k2 = 0; k2 < p->k[2]; k2++) {
                    float wv = wp[(k0 * p->k[1] + k1) * p->k[2] + k2];
                    for (i0 = 0; i0 < p->in[0]; i0++) {
                        int64_t o0 = i0 * p->s[0] - p->pb[0] + k0 * p->d[0];
                        if (o0 < 0 || o0 >= p->out[0]) continue;
                        for (i1 = 0; i1 < p->in[1]; i1++) {
                            int64_t o1 = i1 * p->s[1] - p->pb[1] + k1 * p->d[1];
                            if (o1 < 0 || o1 >= p->out[1]) continue;
                            for (i2 = 0; i2 < p->in[2]; i2++) {
                                int64_t o2 = i2 * p->s[2] - p->pb[2] + k2 * p->d[2];
                                if (o2 < 0 || o2 >= p->out[2]) continue;
                                yp[(o0 * p->out[1] + o1) * p->out[2] + o2] += wv * xp[(i0 * p->in[1] + i1) * p->in[2] + i2];
                            }
                        }
                    }
                }
    }
}

static infer_status infer__conv_transpose_ref(const infer__ctx *c) {
    const infer__conv_p *p = &c->p->conv;
    int64_t in_sz = p->in[0] * p->in[1] * p->in[2], nm = p->n * p->m;
    double work = (double)nm * (double)in_sz * (double)(p->c / p->group * p->k[0] * p->k[1] * p->k[2]);
    infer__parallel(c, infer__threads_for(c, work), nm, infer__conv_transpose_ref_job, (void *)c);
    infer__act_apply(&p->act, (float *)c->out[0]->data, nm * p->out[0] * p->out[1] * p->out[2]);
    return INFER_STATUS_OK;
}

/* -- MaxPool, AveragePool -- */

#define INFER__NAN_F(v) ((v) != (v))
#define INFER__NAN_I(v) 0

/* The window taps k in [0, k_n) whose position o * s - pb + k * d lies in [lo, hi), as
   [*a, *b): the pool loops visit only those, so their work is bounded by the input, not
   by kernel or pad sizes from the file (a 2^40 window over 3 values; found by fuzzing). */
static void infer__win_taps(int64_t o, int64_t s, int64_t pb, int64_t d, int64_t k_n, int64_t lo, int64_t hi,
                            int64_t *a, int64_t *b) {
    int64_t base = o * s - pb, x = lo - base, y = hi - base - 1; /* want x <= k * d <= y */
    int64_t first = x <= 0 ? 0 : (x + d - 1) / d, last = y < 0 ? -1 : y / d;
    *a = first;
    *b = INFER__MIN(k_n, last + 1);
    if (*b < *a) *b = *a;
}

#define INFER__MAXPOOL(T, ISNAN)                                                                        \
    do {                                                                                           \
        const T *xp = (const T *)c->in[0]->data + job * in_sz;                                     \
        T *yp = (T *)c->out[0]->data + job * out_sz;                                               \
        for (o0 = 0; o0 < p->out[0]; o0++)                                                         \
            for (o1 = 0; o1 < p->out[1]; o1++)                                                     \
                for (o2 = 0; o2 < p->out[2]; o2++) {                                               \
                    T best = 0;                                                                    \
                    int any = 0;                                                                   \
                    int64_t a0, b0, a1, b1, a2, b2;                                                \
                    infer__win_taps(o0, p->s[0], p->pb[0], p->d[0], p->k[0], 0, p->in[0], &a0, &b0); \
                    infer__win_taps(o1, p->s[1], p->pb[1], p->d[1], p->k[1], 0, p->in[1], &a1, &b1); \
                    infer__win_taps(o2, p->s[2], p->pb[2], p->d[2], p->k[2], 0, p->in[2], &a2, &b2); \
                    for (k0 = a0; k0 < b0; k0++) {                                                 \
                        int64_t i0 = o0 * p->s[0] - p->pb[0] + k0 * p->d[0];                       \
                        if (i0 < 0 || i0 >= p->in[0]) continue;                                    \
                        for (k1 = a1; k1 < b1; k1++) {                                             \
                            int64_t i1 = o1 * p->s[1] - p->pb[1] + k1 * p->d[1];                   \
                            if (i1 < 0 || i1 >= p->in[1]) continue;                                \
                            for (k2 = a2; k2 < b2; k2++) {                                         \
                                int64_t i2 = o2 * p->s[2] - p->pb[2] + k2 * p->d[2];               \
                                T v;                                                               \
                                if (i2 < 0 || i2 >= p->in[2]) continue;                            \
                                v = xp[(i0 * p->in[1] + i1) * p->in[2] + i2];                      \
                                if (!any || v > best || ISNAN(v)) best = v, any = 1;               \
                                if (ISNAN(best)) break;                                            \
                            }                                                                      \
                        }                                                                          \
                    }                                                                              \
                    yp[(o0 * p->out[1] + o1) * p->out[2] + o2] = best;                             \
                }                                                                                  \
    } while (0)

static infer_status infer__pool_ref(const infer__ctx *c) {
    const infer__conv_p *p = &c->p->conv;
    int64_t in_sz = p->in[0] * p->in[1] * p->in[2], out_sz = p->out[0] * p->out[1] * p->out[2], job;
    int is_max = c->node->op == INFER__OP_MAX_POOL;
    int lp = c->node->op == INFER__OP_LP_POOL ? (int)infer__attr_i(c->node, "p", 2) : 0; /* LpPool: (sum |x|^p)^(1/p) */
    for (job = 0; job < p->n * p->c; job++) {
        int64_t o0, o1, o2, k0, k1, k2;
        if (is_max) {
            switch (c->in[0]->dtype) {
            case INFER_DTYPE_F32: INFER__MAXPOOL(float, INFER__NAN_F); break;
            case INFER_DTYPE_F64: INFER__MAXPOOL(double, INFER__NAN_F); break;
            case INFER_DTYPE_I8: INFER__MAXPOOL(int8_t, INFER__NAN_I); break;
            case INFER_DTYPE_U8: INFER__MAXPOOL(uint8_t, INFER__NAN_I); break;
            default: break;
            }
            continue;
        }
        {
            const float *xp = (const float *)c->in[0]->data + job * in_sz;
            float *yp = (float *)c->out[0]->data + job * out_sz;
            for (o0 = 0; o0 < p->out[0]; o0++)
                for (o1 = 0; o1 < p->out[1]; o1++)
                    for (o2 = 0; o2 < p->out[2]; o2++) {
                        double sum = 0, v;
                        int64_t cnt = 0, a[3], b[3], d;
                        double padded = 1; /* up to (2^41)^3 taps */
                        /* taps inside the padded input count for count_include_pad; the
                           loops visit only the taps inside the input */
                        for (d = 0; d < 3; d++) {
                            infer__win_taps(d == 0 ? o0 : d == 1 ? o1 : o2, p->s[d], p->pb[d], p->d[d], p->k[d],
                                            -p->pb[d], p->in[d] + p->pe[d], &a[d], &b[d]);
                            padded *= b[d] - a[d];
                            infer__win_taps(d == 0 ? o0 : d == 1 ? o1 : o2, p->s[d], p->pb[d], p->d[d], p->k[d], 0,
                                            p->in[d], &a[d], &b[d]);
                        }
                        for (k0 = a[0]; k0 < b[0]; k0++) {
                            int64_t i0 = o0 * p->s[0] - p->pb[0] + k0 * p->d[0];
                            for (k1 = a[1]; k1 < b[1]; k1++) {
                                int64_t i1 = o1 * p->s[1] - p->pb[1] + k1 * p->d[1];
                                for (k2 = a[2]; k2 < b[2]; k2++) {
                                    int64_t i2 = o2 * p->s[2] - p->pb[2] + k2 * p->d[2];
                                    if (i0 < 0 || i0 >= p->in[0] || i1 < 0 || i1 >= p->in[1] || i2 < 0 || i2 >= p->in[2])
                                        continue;
                                    v = xp[(i0 * p->in[1] + i1) * p->in[2] + i2];
                                    sum += !lp ? v : lp == 1 ? fabs(v) : lp == 2 ? v * v : pow(fabs(v), (double)lp);
                                    cnt++;
                                }
                            }
                        }
                        if (!p->count_include_pad) padded = (double)cnt;
                        yp[(o0 * p->out[1] + o1) * p->out[2] + o2] = lp ? (float)pow(sum, 1.0 / lp)
                                                                    : padded > 0 ? (float)(sum / padded) : 0.0f;
                    }
        }
    }
    return INFER_STATUS_OK;
}

static infer_status infer__global_pool_ref(const infer__ctx *c) {
    const infer__axis_p *p = &c->p->ax;
    const int64_t ch = c->in[0]->nhwc ? c->in[0]->dims[1] : 1; /* channels-last: a row's floats are ch apart */
    float *y = (float *)c->out[0]->data;
    int64_t o, i;
    for (o = 0; o < p->outer; o++) {
        const float *x = (const float *)c->in[0]->data + o / ch * p->len * ch + o % ch;
        double sum = 0;
        if (c->node->op == INFER__OP_GLOBAL_MAX_POOL) {
            float mx = -INFINITY; /* NaN wins */
            for (i = 0; i < p->len && mx == mx; i++) {
                float v = x[i * ch];
                if (v > mx || v != v) mx = v;
            }
            y[o] = mx;
            continue;
        }
        for (i = 0; i < p->len; i++) sum += x[i * ch];
        y[o] = p->len ? (float)(sum / (double)p->len) : 0.0f;
    }
    return INFER_STATUS_OK;
}

#if defined(INFER__HAVE_AVX2)
/* GlobalAveragePool, row o: the mean of its len floats, summed in double as the
   reference does, in eight lanes (a latency-bound scalar chain otherwise) */
__attribute__((target("avx2,fma"))) static void infer__global_avg_task_avx2(void *arg, int64_t o) {
    const infer__ctx *c = (const infer__ctx *)arg;
    const infer__axis_p *p = &c->p->ax;
    const float *x = (const float *)c->in[0]->data + o * p->len;
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    double t[4], sum;
    int64_t i = 0;
    for (; i + 8 <= p->len; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    }
    _mm256_storeu_pd(t, _mm256_add_pd(s0, s1));
    sum = (t[0] + t[1]) + (t[2] + t[3]);
    for (; i < p->len; i++) sum += x[i];
    ((float *)c->out[0]->data)[o] = p->len ? (float)(sum / (double)p->len) : 0.0f;
}

/* GlobalAveragePool of a channels-last input, image n: 8 channels at a time, each summed
   in double over the positions in the order of the reference */
__attribute__((target("avx2,fma"))) static void infer__global_avg_nhwc_task_avx2(void *arg, int64_t n) {
    const infer__ctx *c = (const infer__ctx *)arg;
    const infer__axis_p *p = &c->p->ax;
    const int64_t ch = c->in[0]->dims[1];
    const float *x = (const float *)c->in[0]->data + n * p->len * ch;
    float *y = (float *)c->out[0]->data + n * ch;
    int64_t j, i;
    for (j = 0; j + 8 <= ch; j += 8) {
        __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd(), d = _mm256_set1_pd((double)p->len);
        for (i = 0; i < p->len; i++) {
            __m256 v = _mm256_loadu_ps(x + i * ch + j);
            s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
            s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
        }
        if (p->len) s0 = _mm256_div_pd(s0, d), s1 = _mm256_div_pd(s1, d);
        _mm_storeu_ps(y + j, _mm256_cvtpd_ps(s0));
        _mm_storeu_ps(y + j + 4, _mm256_cvtpd_ps(s1));
    }
    for (; j < ch; j++) {
        double sum = 0;
        for (i = 0; i < p->len; i++) sum += x[i * ch + j];
        y[j] = p->len ? (float)(sum / (double)p->len) : 0.0f;
    }
}

/* GlobalAveragePool over rows (or images, channels-last) in parallel; GlobalMaxPool runs the reference */
static infer_status infer__global_pool_f32_avx2(const infer__ctx *c) {
    const infer__axis_p *p = &c->p->ax;
    if (c->node->op != INFER__OP_GLOBAL_AVERAGE_POOL) return infer__global_pool_ref(c);
    if (c->in[0]->nhwc) {
        infer__parallel(c, infer__threads_for(c, (double)p->outer * (double)p->len), c->in[0]->dims[0],
                        infer__global_avg_nhwc_task_avx2, (void *)c);
        return INFER_STATUS_OK;
    }
    infer__parallel(c, infer__threads_for(c, (double)p->outer * (double)p->len), p->outer, infer__global_avg_task_avx2,
                    (void *)c);
    return INFER_STATUS_OK;
}

/* 2-D f32 MaxPool, output (oy, ox) of plane xp as the reference computes it: the first
   tap, then any larger one or a NaN (which stays); 0 for an empty window */
static float infer__maxpool2_one(const infer__conv_p *p, const float *xp, int64_t oy, int64_t ox) {
    int64_t a0, b0, a1, b1, ky, kx;
    float best = 0;
    int any = 0;
    infer__win_taps(oy, p->s[0], p->pb[0], 1, p->k[0], 0, p->in[0], &a0, &b0);
    infer__win_taps(ox, p->s[1], p->pb[1], 1, p->k[1], 0, p->in[1], &a1, &b1);
    for (ky = a0; ky < b0; ky++)
        for (kx = a1; kx < b1; kx++) {
            float v = xp[(oy * p->s[0] - p->pb[0] + ky) * p->in[1] + ox * p->s[1] - p->pb[1] + kx];
            if (!any || v > best || v != v) best = v, any = 1;
            if (best != best) return best;
        }
    return best;
}

/* 8 outputs of a MaxPool row from rows a0..b0 of x (ld apart; x at the first window's
   first column): the taps in the reference's order (ties keep the first, a NaN stays) */
__attribute__((target("avx2,fma"))) static __m256 infer__maxpool2_exact(const infer__conv_p *p, const float *x,
                                                                       int64_t ld, int64_t a0, int64_t b0) {
    __m256 acc = infer__dw_load(x + a0 * ld, p->s[1]);
    int64_t ky, kx;
    for (ky = a0; ky < b0; ky++)
        for (kx = ky == a0; kx < p->k[1]; kx++) {
            __m256 v = infer__dw_load(x + ky * ld + kx, p->s[1]);
            acc = _mm256_blendv_ps(_mm256_max_ps(v, acc), v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        }
    return acc;
}

#define INFER__MAXPOOL_ROWS 4096 /* floats of a padded input row and k[0] rows of maxima (stack) */

/* 8 outputs' maxima of K taps from x0 on a stride S (1 or 2; constants where inlined) */
__attribute__((target("avx2,fma"), always_inline)) static inline __m256 infer__maxpool2_h8(const float *x0, const int64_t K,
                                                                                          const int64_t S) {
    __m256 acc = _mm256_setzero_ps(), v;
    int64_t kx;
    for (kx = 0; kx < K; kx++) {
        const float *xr = x0 + (S == 2 ? kx & ~1 : kx);
        if (S == 1) v = _mm256_loadu_ps(xr);
        else if (kx & 1) v = _mm256_shuffle_ps(_mm256_loadu_ps(xr), _mm256_loadu_ps(xr + 8), 0xDD);
        else v = _mm256_shuffle_ps(_mm256_loadu_ps(xr), _mm256_loadu_ps(xr + 8), 0x88);
        acc = kx ? _mm256_max_ps(v, acc) : v; /* v only where larger: _mm256_max_ps keeps acc on a tie */
    }
    return S == 2 ? _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(acc), 0xD8)) : acc;
}
/* The maxima along input row x of every output column's window, into h (out[1] >= 8 of
   them, 8 at a time): x copied into row (ld floats) padded with -inf on both sides (never
   the maximum of a window that has a real tap), then plain maxima, on a stride 2 in the
   lanes' shuffled order (one permute at the end); each tap replaces the maximum so far
   only when larger, so ties keep the first (a -0 before a +0), as the reference does.
   Returns 1, h untouched, where x holds a NaN. Row has 7 floats of room past ld. */
__attribute__((target("avx2,fma"))) static int infer__maxpool2_hrow(const infer__conv_p *p, const float *x, float *row,
                                                                     int64_t ld, float *h) {
    const int64_t s = p->s[1], left = INFER__MIN(p->pb[1], ld), len = INFER__MAX(0, INFER__MIN(p->in[1], ld - left));
    const __m256 inf = _mm256_set1_ps(-INFINITY);
    __m256 nan = _mm256_setzero_ps(), v;
    int64_t j, ox;
    int bad = 0;
    for (j = 0; j < left; j++) row[j] = -INFINITY;
    for (j = 0; j + 8 <= len; j += 8) { /* copied and checked for NaN in one pass */
        v = _mm256_loadu_ps(x + j);
        _mm256_storeu_ps(row + left + j, v);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    }
    for (; j < len; j++) row[left + j] = x[j], bad |= x[j] != x[j];
    if (bad || _mm256_movemask_ps(nan)) return 1;
    for (j = left + len; j < ld; j += 8) _mm256_storeu_ps(row + j, inf); /* up to 7 past ld: row has room */
    for (ox = 0; ox < p->out[1]; ox += 8) { /* 3 taps on a stride 2 (the ResNets' pool) unrolled */
        const int64_t o = INFER__MIN(ox, p->out[1] - 8);
        if (p->k[1] == 3 && s == 2) _mm256_storeu_ps(h + o, infer__maxpool2_h8(row + o * 2, 3, 2));
        else _mm256_storeu_ps(h + o, infer__maxpool2_h8(row + o * s, p->k[1], s));
    }
    return 0;
}

/* plane job (batch n, channel c): rows of outputs, 8 at a time. Where every window has a
   real column and a padded input row and k[0] rows of maxima fit INFER__MAXPOOL_ROWS,
   separably: each input row's maxima along it (infer__maxpool2_hrow) once, kept in a ring
   of k[0] rows (a 3x3 stride-2 pool's output rows share one input row each), and each
   output row the maximum of its windows' rows of them, the first row's kept on a tie; an
   output row over a row with a NaN goes one output at a time in the reference's order.
   Otherwise straight from the row where the 8 windows lie inside it, else (its ends) from
   a copy of their columns padded with -inf, in the exact order. */
__attribute__((target("avx2,fma"))) static void infer__maxpool2_task_avx2(void *arg, int64_t job) {
    const infer__ctx *c = (const infer__ctx *)arg;
    const infer__conv_p *p = &c->p->conv;
    const float *xp = (const float *)c->in[0]->data + job * p->in[0] * p->in[1];
    float *yp = (float *)c->out[0]->data + job * p->out[0] * p->out[1];
    int64_t s = p->s[1], lo = (p->pb[1] + s - 1) / s, oy, ox, ky, a0, b0, j;
    /* every window has a column inside the row: the first ends past column 0, the last
       starts before the end (ceil_mode's last window may reach past the end pad) */
    int padded = p->k[0] <= 16 && p->k[1] <= 16 && p->pb[1] < p->k[1] && (p->out[1] - 1) * s - p->pb[1] < p->in[1] &&
                 p->out[1] >= 8;
    float pad[16 * 40]; /* up to 16 rows of the 8 s + k - 1 columns of 8 windows */
    /* the padded rows: column -pb to past the last 8 windows' last load */
    const int64_t ld = ((p->out[1] - 1) * s + p->k[1] + 16 + 7) / 8 * 8, ldo = (p->out[1] + 7) / 8 * 8;
    float rows[INFER__MAXPOOL_ROWS], *ring = rows + ld + 8; /* a padded input row (+ 8), then k[0] rows of maxima */
    int64_t in_ring[16];                                /* the input row each holds, or -1 */
    int nan_ring[16];
    const int sep = padded && ld + 8 + p->k[0] * ldo <= INFER__MAXPOOL_ROWS;
    for (j = 0; j < 16; j++) in_ring[j] = -1, nan_ring[j] = 0;
    for (oy = 0; oy < p->out[0]; oy++) {
        float *yr = yp + oy * p->out[1];
        int64_t iy = oy * p->s[0] - p->pb[0]; /* + ky: inside for ky in [a0, b0) */
        infer__win_taps(oy, p->s[0], p->pb[0], 1, p->k[0], 0, p->in[0], &a0, &b0);
        if (sep && a0 < b0) {
            const float *h[16]; /* the window rows' maxima, top to bottom */
            int nan = 0;
            for (ky = a0; ky < b0; ky++) { /* rows iy + a0 .. iy + b0 - 1: k[0] at most, one a slot */
                const int64_t r = iy + ky, sl = r % p->k[0];
                if (in_ring[sl] != r)
                    nan_ring[sl] = infer__maxpool2_hrow(p, xp + r * p->in[1], rows, ld, ring + sl * ldo), in_ring[sl] = r;
                nan |= nan_ring[sl];
                h[ky - a0] = ring + sl * ldo;
            }
            for (ox = 0; nan && ox < p->out[1]; ox++) yr[ox] = infer__maxpool2_one(p, xp, oy, ox);
            for (ox = 0; !nan && ox < p->out[1]; ox += 8) {
                const int64_t o = INFER__MIN(ox, p->out[1] - 8);
                __m256 acc = _mm256_loadu_ps(h[0] + o);
                for (ky = 1; ky < b0 - a0; ky++) acc = _mm256_max_ps(_mm256_loadu_ps(h[ky] + o), acc);
                _mm256_storeu_ps(yr + o, acc);
            }
            continue;
        }
        for (ox = 0; ox < p->out[1];) {
            /* inputs read by 8 outputs from ox: [ox * s - pb, ox * s - pb + k - 1 + 8 * s) */
            int inside = ox >= lo && ox * s - p->pb[1] + p->k[1] - 1 + 8 * s <= p->in[1];
            if (a0 < b0 && (inside || padded)) {
                int64_t o = inside ? ox : INFER__MIN(ox, p->out[1] - 8), w = 8 * s + p->k[1] - 1, c0 = o * s - p->pb[1];
                const float *x0 = xp + c0 + iy * p->in[1];
                int64_t ld = p->in[1];
                if (!inside) { /* the 8 windows' columns of rows a0..b0, -inf outside the row */
                    for (ky = a0; ky < b0; ky++)
                        for (j = 0; j < w; j++)
                            pad[(ky - a0) * 40 + j] =
                                c0 + j >= 0 && c0 + j < p->in[1] ? x0[ky * p->in[1] + j] : -INFINITY;
                    x0 = pad - a0 * 40, ld = 40;
                }
                _mm256_storeu_ps(yr + o, infer__maxpool2_exact(p, x0, ld, a0, b0));
                ox = o + 8;
            } else {
                yr[ox] = infer__maxpool2_one(p, xp, oy, ox);
                ox++;
            }
        }
    }
}

/* MaxPool of f32 over 2 dims, dilation 1, stride 1 or 2 along the row, no Indices
   output; others run the reference */
static infer_status infer__max_pool_f32_avx2(const infer__ctx *c) {
    const infer__conv_p *p = &c->p->conv;
    if (c->in[0]->dtype != INFER_DTYPE_F32 || (c->n_out > 1 && c->out[1]) || p->n_sp != 2 || p->in[2] != 1 ||
        p->out[2] != 1 || p->k[2] != 1 || p->d[0] != 1 || p->d[1] != 1 || p->s[1] < 1 || p->s[1] > 2)
        return infer__pool_ref(c);
    infer__parallel(c, infer__threads_for(c, (double)p->n * (double)p->c * (double)p->out[0] * (double)p->out[1] *
                                                 (double)(p->k[0] * p->k[1])),
                    p->n * p->c, infer__maxpool2_task_avx2, (void *)c);
    return INFER_STATUS_OK;
}
#endif

/* -- normalisation -- */

static infer_status infer__batch_norm_ref(const infer__ctx *c) {
    const infer__axis_p *p = &c->p->ax;
    const float *x = (const float *)c->in[0]->data, *scale = (const float *)c->in[1]->data;
    const float *bias = (const float *)c->in[2]->data, *mean = (const float *)c->in[3]->data;
    const float *var = (const float *)c->in[4]->data;
    float *y = (float *)c->out[0]->data;
    int64_t o, ch, i;
    for (o = 0; o < p->outer; o++)
        for (ch = 0; ch < p->len; ch++) {
            double a = scale[ch] / sqrt((double)var[ch] + p->alpha), b = bias[ch] - mean[ch] * a;
            const float *xr = x + (o * p->len + ch) * p->inner;
            float *yr = y + (o * p->len + ch) * p->inner;
            for (i = 0; i < p->inner; i++) yr[i] = (float)(xr[i] * a + b);
        }
    return INFER_STATUS_OK;
}

static infer_status infer__layer_norm_ref(const infer__ctx *c) {
    const infer__axis_p *p = &c->p->ax;
    const float *x = (const float *)c->in[0]->data, *scale = (const float *)c->in[1]->data;
    const infer__val *bv = c->n_in > 2 ? c->in[2] : NULL;
    const float *bias = bv ? (const float *)bv->data : NULL;
    int64_t ss = c->in[1]->n == 1 ? 0 : 1, bs = bv && bv->n == 1 ? 0 : 1, o, i;
    float *y = (float *)c->out[0]->data;
    float *mean_out = c->n_out > 1 && c->out[1] ? (float *)c->out[1]->data : NULL;
    float *inv_out = c->n_out > 2 && c->out[2] ? (float *)c->out[2]->data : NULL;
    for (o = 0; o < p->outer; o++) {
        const float *xr = x + o * p->len;
        float *yr = y + o * p->len;
        double mean = 0, var = 0, inv;
        for (i = 0; i < p->len; i++) mean += xr[i];
        mean = p->len ? mean / (double)p->len : 0;
        for (i = 0; i < p->len; i++) var += (xr[i] - mean) * (xr[i] - mean);
        var = p->len ? var / (double)p->len : 0;
        inv = 1.0 / sqrt(var + p->alpha);
        for (i = 0; i < p->len; i++)
            yr[i] = (float)((xr[i] - mean) * inv * scale[i * ss] + (bias ? bias[i * bs] : 0.0f));
        if (mean_out) mean_out[o] = (float)mean;
        if (inv_out) inv_out[o] = (float)inv;
    }
    return INFER_STATUS_OK;
}

/* y = x / sqrt(mean(x^2) + epsilon) per row, then times the scale (broadcast; y is not X's or
   the scale's bytes: the op is not in place). */
static infer_status infer__rms_norm_ref(const infer__ctx *c) {
    const infer__axis_p *p = &c->p->ax;
    const infer__val *xv = c->in[0];
    infer__val *yv = c->out[0], *pair[2];
    int f64 = xv->dtype == INFER_DTYPE_F64;
    int64_t o, i, row = 0;
    infer__iter it;
    for (o = 0; o < p->outer; o++) {
        double ss = 0, inv;
        for (i = 0; i < p->len; i++) {
            double v = infer__get_f64(xv->data, xv->dtype, o * p->len + i);
            ss += v * v;
        }
        inv = 1.0 / sqrt((p->len ? ss / (double)p->len : 0.0) + p->alpha);
        for (i = 0; i < p->len; i++) {
            double v = infer__get_f64(xv->data, xv->dtype, o * p->len + i) * inv;
            if (f64) ((double *)yv->data)[o * p->len + i] = v;
            else ((float *)yv->data)[o * p->len + i] = (float)v;
        }
    }
    pair[0] = yv;
    pair[1] = c->in[1];
    infer__iter_init(&it, yv, pair, 2);
    if (it.rows > 0) do {
        for (i = 0; i < it.len; i++) {
            int64_t k = it.off[1] + i * it.inc[1];
            if (f64) ((double *)yv->data)[row * it.len + i] *= ((const double *)c->in[1]->data)[k];
            else ((float *)yv->data)[row * it.len + i] *= ((const float *)c->in[1]->data)[k];
        }
        row++;
    } while (infer__iter_next(&it));
    return INFER_STATUS_OK;
}

/* -- Reduce*; ArgMax, ArgMin -- */

/* y[o] = FINISH after acc = INIT; STEP for each reduced element v */
#define INFER__REDUCE(T, ACC, INIT, STEP, FINISH)                                                  \
    do {                                                                                           \
        const T *x = (const T *)c->in[0]->data;                                                    \
        T *y = (T *)c->out[0]->data;                                                               \
        for (o = 0; o < n_out; o++) {                                                              \
            ACC acc = INIT;                                                                        \
            int64_t base = 0, rem = o, j;                                                          \
            for (k = n_keep - 1; k >= 0; k--) {                                                    \
                base += (rem % keep_dims[k]) * keep_st[k];                                         \
                rem /= keep_dims[k];                                                               \
            }                                                                                      \
            for (j = 0; j < n_red_el; j++) {                                                       \
                int64_t off = base, r2 = j;                                                        \
                T v;                                                                               \
                for (k = n_red - 1; k >= 0; k--) {                                                 \
                    off += (r2 % red_dims[k]) * red_st[k];                                         \
                    r2 /= red_dims[k];                                                             \
                }                                                                                  \
                v = x[off];                                                                        \
                STEP;                                                                              \
            }                                                                                      \
            y[o] = (T)(FINISH);                                                                    \
        }                                                                                          \
    } while (0)

/* Float reductions accumulate in double. LogSumExp first writes the max into y, then sums
   exp(v - max) (max 0 when infinite, as the ONNX reference); empty sets follow the initial
   values (ONNX Reduce*-18). */
#define INFER__REDUCE_FLOAT(T)                                                                     \
    switch (op) {                                                                                  \
    case INFER__OP_REDUCE_MAX: INFER__REDUCE(T, T, -INFINITY, if (v > acc || v != v) acc = v, acc); break; \
    case INFER__OP_REDUCE_MIN: INFER__REDUCE(T, T, INFINITY, if (v < acc || v != v) acc = v, acc); break; \
    case INFER__OP_REDUCE_MEAN: INFER__REDUCE(T, double, 0.0, acc += v, n_red_el ? acc / (double)n_red_el : NAN); break; \
    case INFER__OP_REDUCE_PROD: INFER__REDUCE(T, double, 1.0, acc *= v, acc); break;              \
    case INFER__OP_REDUCE_L1: INFER__REDUCE(T, double, 0.0, acc += fabs((double)v), acc); break;   \
    case INFER__OP_REDUCE_L2: INFER__REDUCE(T, double, 0.0, acc += (double)v * v, sqrt(acc)); break; \
    case INFER__OP_REDUCE_SUM_SQUARE: INFER__REDUCE(T, double, 0.0, acc += (double)v * v, acc); break; \
    case INFER__OP_REDUCE_LOG_SUM: INFER__REDUCE(T, double, 0.0, acc += v, log(acc)); break;      \
    case INFER__OP_REDUCE_LOG_SUM_EXP:                                                             \
        INFER__REDUCE(T, T, -INFINITY, if (v > acc || v != v) acc = v, acc);                       \
        INFER__REDUCE(T, double, 0.0, acc += exp((double)v - infer__lse_shift(y[o])),              \
                      log(acc) + infer__lse_shift(y[o]));                                          \
        break;                                                                                     \
    default: INFER__REDUCE(T, double, 0.0, acc += v, acc); break; /* Sum */                        \
    }

/* Integer reductions wrap (two's complement) as numpy's do. */
#define INFER__REDUCE_INT(T, TMIN, TMAX)                                                           \
    switch (op) {                                                                                  \
    case INFER__OP_REDUCE_MAX: INFER__REDUCE(T, T, TMIN, if (v > acc) acc = v, acc); break;        \
    case INFER__OP_REDUCE_MIN: INFER__REDUCE(T, T, TMAX, if (v < acc) acc = v, acc); break;        \
    case INFER__OP_REDUCE_PROD: INFER__REDUCE(T, T, 1, acc = (T)((uint64_t)acc * (uint64_t)v), acc); break; \
    case INFER__OP_REDUCE_L1:                                                                      \
        INFER__REDUCE(T, T, 0, acc = (T)((uint64_t)acc + (v < 0 ? 0 - (uint64_t)v : (uint64_t)v)), acc); \
        break;                                                                                     \
    case INFER__OP_REDUCE_SUM_SQUARE:                                                              \
        INFER__REDUCE(T, T, 0, acc = (T)((uint64_t)acc + (uint64_t)v * (uint64_t)v), acc);         \
        break;                                                                                     \
    default: INFER__REDUCE(T, T, 0, acc = (T)((uint64_t)acc + (uint64_t)v), acc); break; /* Sum */ \
    }

static double infer__lse_shift(double m) { return m - m == 0 ? m : 0; /* finite */ }

static infer_status infer__reduce_ref(const infer__ctx *c) {
    const infer__val *xv = c->in[0];
    unsigned mask = c->p->reduce_mask;
    int64_t keep_dims[INFER_MAX_DIMS], keep_st[INFER_MAX_DIMS], red_dims[INFER_MAX_DIMS], red_st[INFER_MAX_DIMS];
    int64_t st[INFER_MAX_DIMS], n_out = (int64_t)c->out[0]->n, n_red_el = 1, o;
    int n_keep = 0, n_red = 0, k, i, op = c->node->op;
    infer__strides(xv->dims, xv->n_dims, 1, st);
    for (i = 0; i < xv->n_dims; i++) {
        if (mask & (1u << i)) red_dims[n_red] = xv->dims[i], red_st[n_red++] = st[i], n_red_el *= xv->dims[i];
        else keep_dims[n_keep] = xv->dims[i], keep_st[n_keep++] = st[i];
    }
    switch (xv->dtype) {
    case INFER_DTYPE_F32: INFER__REDUCE_FLOAT(float); break;
    case INFER_DTYPE_F64: INFER__REDUCE_FLOAT(double); break;
    case INFER_DTYPE_I32: INFER__REDUCE_INT(int32_t, INT32_MIN, INT32_MAX); break;
    case INFER_DTYPE_I64: INFER__REDUCE_INT(int64_t, INT64_MIN, INT64_MAX); break;
    case INFER_DTYPE_I8: /* ReduceMin, ReduceMax only */
        if (op == INFER__OP_REDUCE_MAX) INFER__REDUCE(int8_t, int8_t, INT8_MIN, if (v > acc) acc = v, acc);
        else INFER__REDUCE(int8_t, int8_t, INT8_MAX, if (v < acc) acc = v, acc);
        break;
    case INFER_DTYPE_U8: case INFER_DTYPE_BOOL: /* bool: max is any, min is all (true when empty) */
        if (op == INFER__OP_REDUCE_MAX) INFER__REDUCE(uint8_t, uint8_t, 0, if (v > acc) acc = v, acc);
        else INFER__REDUCE(uint8_t, uint8_t, xv->dtype == INFER_DTYPE_BOOL ? 1 : UINT8_MAX, if (v < acc) acc = v, acc);
        break;
    default: break;
    }
    return INFER_STATUS_OK;
}

/* NaN wins (as numpy's argmax and argmin); ties go to the first index, or the last with
   select_last_index. ArgMin (is_min) looks for the smallest. */
#define INFER__ARGMAX(T, ISNAN)                                                                    \
    do {                                                                                           \
        const T *x = (const T *)c->in[0]->data;                                                    \
        for (o = 0; o < p->outer; o++)                                                             \
            for (in = 0; in < p->inner; in++) {                                                    \
                const T *xr = x + o * p->len * p->inner + in;                                      \
                T best = xr[0];                                                                    \
                int64_t bi = 0;                                                                    \
                for (i = 1; i < p->len; i++) {                                                     \
                    T v = xr[i * p->inner];                                                        \
                    int better = ISNAN(v) ? (!ISNAN(best) || p->flag)                              \
                                          : (!ISNAN(best) && ((is_min ? v < best : v > best) || (p->flag && v == best))); \
                    if (better) best = v, bi = i;                                                  \
                }                                                                                  \
                y[o * p->inner + in] = bi;                                                         \
            }                                                                                      \
    } while (0)

static infer_status infer__arg_max_ref(const infer__ctx *c) {
    const infer__axis_p *p = &c->p->ax;
    int64_t *y = (int64_t *)c->out[0]->data, o, in, i;
    int is_min = c->node->op == INFER__OP_ARG_MIN;
    switch (c->in[0]->dtype) {
    case INFER_DTYPE_F32: INFER__ARGMAX(float, INFER__NAN_F); break;
    case INFER_DTYPE_F64: INFER__ARGMAX(double, INFER__NAN_F); break;
    case INFER_DTYPE_I8: INFER__ARGMAX(int8_t, INFER__NAN_I); break;
    case INFER_DTYPE_I16: INFER__ARGMAX(int16_t, INFER__NAN_I); break;
    case INFER_DTYPE_I32: INFER__ARGMAX(int32_t, INFER__NAN_I); break;
    case INFER_DTYPE_I64: INFER__ARGMAX(int64_t, INFER__NAN_I); break;
    case INFER_DTYPE_U8: INFER__ARGMAX(uint8_t, INFER__NAN_I); break;
    case INFER_DTYPE_U16: INFER__ARGMAX(uint16_t, INFER__NAN_I); break;
    case INFER_DTYPE_U32: INFER__ARGMAX(uint32_t, INFER__NAN_I); break;
    case INFER_DTYPE_U64: INFER__ARGMAX(uint64_t, INFER__NAN_I); break;
    default: break;
    }
    return INFER_STATUS_OK;
}

/* -- data movement -- */

/* Reshape, Flatten, Squeeze, Unsqueeze, Identity when they cannot share bytes. */
static infer_status infer__copy_ref(const infer__ctx *c) {
    if (c->out[0]->data != c->in[0]->data) memmove(c->out[0]->data, c->in[0]->data, c->out[0]->bytes);
    return INFER_STATUS_OK;
}

static infer_status infer__transpose_ref(const infer__ctx *c) {
    const infer__val *x = c->in[0], *y = c->out[0];
    size_t esz = infer_dtype_bytes(x->dtype);
    int64_t xs[INFER_MAX_DIMS], ys[INFER_MAX_DIMS], ss[INFER_MAX_DIMS];
    int i;
    infer__strides(x->dims, x->n_dims, esz, xs);
    infer__strides(y->dims, y->n_dims, esz, ys);
    for (i = 0; i < y->n_dims; i++) ss[i] = xs[c->p->ix.a[i]];
    infer__copy_nd((uint8_t *)y->data, ys, (const uint8_t *)x->data, ss, y->n_dims, y->dims, esz);
    return INFER_STATUS_OK;
}

#if defined(INFER__HAVE_AVX2)
/* Transpose of 4-byte values (f32 and the 32-bit integers): the permutation reduced to
   the fewest axes (size-1 axes dropped; output axes that are consecutive in the input
   merged), then either rows copied whole (the last axis stays last: BERT's (0,2,1,3)) or
   8x8 blocks transposed in registers between the output's last axis and the input's
   (K's (0,2,3,1)); tasks over the outer index and the blocks, on the session's threads. */
typedef struct infer__tr_job {
    const uint32_t *x;
    uint32_t *y;
    int r, q;                                       /* axes; q: the input's last axis, as an output axis */
    int64_t dims[INFER_MAX_DIMS], ss[INFER_MAX_DIMS]; /* output dims and their source strides (values) */
    int64_t ds[INFER_MAX_DIMS];                      /* output strides */
    int64_t outer, blocks;                           /* tasks: outer index (all axes but q and the last) x blocks of q */
} infer__tr_job;

/* source and destination offsets of outer index o (axes other than q and the last) */
static void infer__tr_outer(const infer__tr_job *j, int64_t o, int64_t *xo, int64_t *yo) {
    int i;
    *xo = *yo = 0;
    for (i = j->r - 2; i >= 0; i--) {
        int64_t v;
        if (i == j->q) continue;
        v = o % j->dims[i], o /= j->dims[i];
        *xo += v * j->ss[i], *yo += v * j->ds[i];
    }
}

__attribute__((target("avx2,fma"))) static void infer__tr_task(void *arg, int64_t t) {
    const infer__tr_job *j = (const infer__tr_job *)arg;
    const int r = j->r, q = j->q;
    const int64_t len = j->dims[r - 1], sl = j->ss[r - 1];
    int64_t xo, yo, lo, hi, a, l, i;
    if (q < 0) { /* the last axis stays last: rows of len values, tasks over rows */
        int64_t idx[INFER_MAX_DIMS], o;
        lo = j->outer * t / j->blocks, hi = j->outer * (t + 1) / j->blocks;
        for (i = r - 2, o = lo, xo = 0, yo = lo * len; i >= 0; i--)
            idx[i] = o % j->dims[i], o /= j->dims[i], xo += idx[i] * j->ss[i];
        for (a = lo; a < hi; a++) { /* the outer index counted up axis by axis, no divisions */
            memcpy(j->y + yo, j->x + xo, (size_t)len * sizeof(uint32_t));
            yo += len;
            for (i = r - 2; i >= 0; i--) {
                xo += j->ss[i];
                if (++idx[i] < j->dims[i]) break;
                xo -= j->ss[i] * j->dims[i], idx[i] = 0;
            }
        }
        return;
    }
    {
        const int64_t qn = j->dims[q], dq = j->ds[q], per = (qn + 7) / 8;
        int64_t o = t / per, q0 = t % per * 8, qw = INFER__MIN(8, qn - q0);
        const uint32_t *xb;
        uint32_t *yb;
        infer__tr_outer(j, o, &xo, &yo);
        xb = j->x + xo + q0, yb = j->y + yo + q0 * dq; /* x[l * sl + q], y[q * dq + l] */
        for (l = 0; l + 8 <= len && qw == 8; l += 8) {
            __m256 rw[8], d[8];
            for (i = 0; i < 8; i++) rw[i] = _mm256_loadu_ps((const float *)(xb + (l + i) * sl));
            infer__tr8_avx2(rw, d);
            for (i = 0; i < 8; i++) _mm256_storeu_ps((float *)(yb + i * dq + l), d[i]);
        }
        for (; l < len; l++)
            for (i = 0; i < qw; i++) yb[i * dq + l] = xb[l * sl + i];
    }
}

static infer_status infer__transpose_ref(const infer__ctx *c);
static infer_status infer__transpose_avx2(const infer__ctx *c) {
    const infer__val *x = c->in[0], *y = c->out[0];
    int64_t xs[INFER_MAX_DIMS], n = 1;
    infer__tr_job j;
    int i;
    if (infer_dtype_bytes(x->dtype) != 4 || y->n_dims > INFER_MAX_DIMS) return infer__transpose_ref(c);
    infer__strides(x->dims, x->n_dims, 1, xs);
    memset(&j, 0, sizeof j);
    j.x = (const uint32_t *)x->data, j.y = (uint32_t *)y->data, j.q = -1;
    for (i = 0; i < y->n_dims; i++) { /* size-1 axes dropped, runs contiguous in x merged */
        int64_t d = y->dims[i], st = xs[c->p->ix.a[i]];
        n *= d;
        if (d == 1) continue;
        if (j.r > 0 && j.ss[j.r - 1] == st * d) j.dims[j.r - 1] *= d, j.ss[j.r - 1] = st;
        else j.dims[j.r] = d, j.ss[j.r] = st, j.r++;
    }
    if (n == 0) return INFER_STATUS_OK;
    if (j.r == 0) j.dims[0] = 1, j.ss[0] = 1, j.r = 1;
    for (i = j.r - 1, n = 1; i >= 0; i--) j.ds[i] = n, n *= j.dims[i];
    for (i = 0; i < j.r - 1; i++)
        if (j.ss[i] == 1) j.q = i;
    j.outer = 1;
    for (i = 0; i < j.r - 1; i++)
        if (i != j.q) j.outer *= j.dims[i];
    if (j.ss[j.r - 1] == 1) j.q = -1; /* already rows */
    else if (j.q < 0) return infer__transpose_ref(c); /* cannot happen: some axis is x's last */
    j.blocks = j.q < 0 ? INFER__MIN(j.outer, (int64_t)infer__threads_for(c, (double)n)) : j.outer * ((j.dims[j.q] + 7) / 8);
    infer__parallel(c, infer__threads_for(c, (double)n), j.blocks, infer__tr_task, &j);
    return INFER_STATUS_OK;
}
#endif

/* Concat and Split move [outer][len_k * inner] blocks. */
static infer_status infer__concat_ref(const infer__ctx *c) {
    const infer__axis_p *p = &c->p->ax;
    const infer__val *y = c->out[0];
    size_t esz = infer_dtype_bytes(y->dtype);
    int64_t total = y->dims[p->axis] * p->inner * (int64_t)esz, at = 0, o;
    uint32_t k;
    for (k = 0; k < c->n_in; k++) {
        int64_t blk = c->in[k]->dims[p->axis] * p->inner * (int64_t)esz;
        for (o = 0; blk && o < p->outer; o++)
            memcpy((uint8_t *)y->data + o * total + at, (const uint8_t *)c->in[k]->data + o * blk, (size_t)blk);
        at += blk;
    }
    return INFER_STATUS_OK;
}

static infer_status infer__split_ref(const infer__ctx *c) {
    const infer__axis_p *p = &c->p->ax;
    const infer__val *x = c->in[0];
    size_t esz = infer_dtype_bytes(x->dtype);
    int64_t total = x->dims[p->axis] * p->inner * (int64_t)esz, at = 0, o;
    uint32_t k;
    for (k = 0; k < c->n_out; k++) {
        int64_t blk;
        if (!c->out[k]) continue;
        blk = c->out[k]->dims[p->axis] * p->inner * (int64_t)esz;
        for (o = 0; blk && o < p->outer; o++)
            memcpy((uint8_t *)c->out[k]->data + o * blk, (const uint8_t *)x->data + o * total + at, (size_t)blk);
        at += blk;
    }
    return INFER_STATUS_OK;
}

static infer_status infer__slice_ref(const infer__ctx *c) {
    const infer__val *x = c->in[0], *y = c->out[0];
    size_t esz = infer_dtype_bytes(x->dtype);
    int64_t xs[INFER_MAX_DIMS], ys[INFER_MAX_DIMS], ss[INFER_MAX_DIMS], base = 0;
    int i;
    if (y->n == 0) return INFER_STATUS_OK;
    infer__strides(x->dims, x->n_dims, esz, xs);
    infer__strides(y->dims, y->n_dims, esz, ys);
    for (i = 0; i < x->n_dims; i++) {
        base += c->p->ix.a[i] * xs[i];
        ss[i] = c->p->ix.b[i] * xs[i];
    }
    infer__copy_nd((uint8_t *)y->data, ys, (const uint8_t *)x->data + base, ss, y->n_dims, y->dims, esz);
    return INFER_STATUS_OK;
}

static infer_status infer__gather_ref(const infer__ctx *c) {
    const infer__axis_p *p = &c->p->ax;
    const infer__val *x = c->in[0], *ix = c->in[1];
    size_t esz = infer_dtype_bytes(x->dtype), blk = (size_t)p->inner * esz;
    int64_t n_ix = (int64_t)ix->n, o, j;
    for (j = 0; j < n_ix; j++) { /* indices come from the caller's data: check them all first */
        int64_t k = ix->dtype == INFER_DTYPE_I64 ? ((const int64_t *)ix->data)[j] : ((const int32_t *)ix->data)[j];
        if (k < -p->len || k >= p->len)
            return infer__cfail(c, INFER_STATUS_INVALID_ARGUMENT, "index %lld is out of range for an axis of %lld",
                                (long long)k, (long long)p->len);
    }
    for (o = 0; o < p->outer; o++)
        for (j = 0; j < n_ix; j++) {
            int64_t k = ix->dtype == INFER_DTYPE_I64 ? ((const int64_t *)ix->data)[j] : ((const int32_t *)ix->data)[j];
            if (k < 0) k += p->len;
            if (blk)
                memcpy((uint8_t *)c->out[0]->data + (size_t)(o * n_ix + j) * blk,
                       (const uint8_t *)x->data + (size_t)(o * p->len + k) * blk, blk);
        }
    return INFER_STATUS_OK;
}

static infer_status infer__expand_ref(const infer__ctx *c) {
    const infer__val *x = c->in[0], *y = c->out[0];
    size_t esz = infer_dtype_bytes(x->dtype);
    int64_t ys[INFER_MAX_DIMS], ss[INFER_MAX_DIMS];
    int i;
    infer__strides(y->dims, y->n_dims, esz, ys);
    infer__bstrides(x, y->n_dims, y->dims, ss);
    for (i = 0; i < y->n_dims; i++) ss[i] *= (int64_t)esz;
    infer__copy_nd((uint8_t *)y->data, ys, (const uint8_t *)x->data, ss, y->n_dims, y->dims, esz);
    return INFER_STATUS_OK;
}

/* The output as [rep0][d0][rep1][d1]...: the source repeats with stride 0. */
static infer_status infer__tile_ref(const infer__ctx *c) {
    const infer__val *x = c->in[0], *y = c->out[0];
    size_t esz = infer_dtype_bytes(x->dtype);
    int64_t xs[INFER_MAX_DIMS], ys[INFER_MAX_DIMS], dims[2 * INFER_MAX_DIMS], ds[2 * INFER_MAX_DIMS], ss[2 * INFER_MAX_DIMS];
    int i;
    infer__strides(x->dims, x->n_dims, esz, xs);
    infer__strides(y->dims, y->n_dims, esz, ys);
    for (i = 0; i < x->n_dims; i++) {
        dims[2 * i] = x->dims[i] ? y->dims[i] / x->dims[i] : 0;
        dims[2 * i + 1] = x->dims[i];
        ds[2 * i] = ys[i] * x->dims[i];
        ds[2 * i + 1] = ys[i];
        ss[2 * i] = 0;
        ss[2 * i + 1] = xs[i];
    }
    infer__copy_nd((uint8_t *)y->data, ds, (const uint8_t *)x->data, ss, 2 * x->n_dims, dims, esz);
    return INFER_STATUS_OK;
}

/* Source index for output index i on an axis of d elements padded by pb at the start;
   -1 for the constant. mode: 0 constant, 1 reflect, 2 edge, 3 wrap. */
static int64_t infer__pad_src(int64_t i, int64_t pb, int64_t d, int mode) {
    int64_t j = i - pb, period;
    if (j >= 0 && j < d) return j;
    switch (mode) {
    case 1:
        if (d == 1) return 0;
        period = 2 * (d - 1);
        j %= period;
        if (j < 0) j += period;
        return j < d ? j : period - j;
    case 2: return j < 0 ? 0 : d - 1;
    case 3: j %= d; return j < 0 ? j + d : j;
    default: return -1;
    }
}

static infer_status infer__pad_ref(const infer__ctx *c) {
    const infer__index_p *p = &c->p->ix;
    const infer__val *x = c->in[0], *y = c->out[0];
    size_t esz = infer_dtype_bytes(x->dtype);
    uint8_t value[8] = {0};
    int64_t xs[INFER_MAX_DIMS], idx[INFER_MAX_DIMS] = {0}, e;
    int r = y->n_dims, i;
    if (c->n_in > 2 && c->in[2] && c->in[2]->n == 1) memcpy(value, c->in[2]->data, esz);
    infer__strides(x->dims, x->n_dims, 1, xs);
    for (e = 0; e < (int64_t)y->n; e++) {
        int64_t off = 0;
        for (i = 0; i < r; i++) {
            int64_t j = infer__pad_src(idx[i], p->a[i], x->dims[i], p->mode);
            if (j < 0) {
                off = -1;
                break;
            }
            off += j * xs[i];
        }
        memcpy((uint8_t *)y->data + (size_t)e * esz, off < 0 ? value : (const uint8_t *)x->data + (size_t)off * esz, esz);
        for (i = r - 1; i >= 0; i--) {
            if (++idx[i] < y->dims[i]) break;
            idx[i] = 0;
        }
    }
    return INFER_STATUS_OK;
}

/* -- Resize -- */

/* Source coordinate of output index o on an axis (ONNX's coordinate_transformation_mode). */
static double infer__resize_coord(const infer__resize_p *p, int a, int64_t o, int64_t in, int64_t out) {
    double s = p->scale[a], x = (double)o;
    switch (p->coord) {
    case INFER__COORD_HALF_PIXEL: return (x + 0.5) / s - 0.5;
    case INFER__COORD_HALF_PIXEL_SYMMETRIC: {
        double adj = (double)out / (s * (double)in), center = (double)in / 2;
        return center * (1 - adj) + (x + 0.5) / s - 0.5;
    }
    case INFER__COORD_PYTORCH_HALF_PIXEL: return p->len[a] > 1 ? (x + 0.5) / s - 0.5 : 0.0;
    case INFER__COORD_ALIGN_CORNERS: return p->len[a] > 1 ? x * (double)(in - 1) / (p->len[a] - 1) : 0.0;
    case INFER__COORD_ASYMMETRIC: return x / s;
    default: { /* tf_crop_and_resize */
        double b = p->roi_start[a], e = p->roi_end[a];
        return out > 1 ? b * (double)(in - 1) + x * (e - b) * (double)(in - 1) / (double)(out - 1)
                       : 0.5 * (b + e) * (double)(in - 1);
    }
    }
}

static double infer__cubic_w(double t, double a) { /* Keys' cubic kernel at distance t */
    t = fabs(t);
    if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
    if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
    return 0;
}

/* Per axis and output index: up to 4 taps (source index, weight); index -1 = outside. */
static infer_status infer__resize_ref(const infer__ctx *c) {
    const infer__resize_p *p = &c->p->rs;
    const infer__val *x = c->in[0], *y = c->out[0];
    int r = y->n_dims, i, nt = p->mode == 0 ? 1 : p->mode == 1 ? 2 : 4;
    int64_t *tap_i[INFER_MAX_DIMS], xs[INFER_MAX_DIMS], idx[INFER_MAX_DIMS] = {0}, e, pos = 0;
    double *tap_w[INFER_MAX_DIMS];
    uint8_t *sp = (uint8_t *)c->scratch;
    for (i = 0; i < r; i++) {
        int64_t in = x->dims[i], out = y->dims[i], o;
        tap_i[i] = (int64_t *)(sp + pos);
        pos += out * 4 * (int64_t)sizeof(int64_t);
        tap_w[i] = (double *)(sp + pos);
        pos += out * 4 * (int64_t)sizeof(double);
        for (o = 0; o < out; o++) {
            int64_t *ti = tap_i[i] + 4 * o;
            double *tw = tap_w[i] + 4 * o, xc, sum = 0;
            int k;
            if (in == out && p->scale[i] == 1.0 && p->coord != INFER__COORD_TF_CROP_AND_RESIZE) {
                ti[0] = o, tw[0] = 1, ti[1] = ti[2] = ti[3] = o, tw[1] = tw[2] = tw[3] = 0;
                continue;
            }
            xc = infer__resize_coord(p, i, o, in, out);
            if (p->coord == INFER__COORD_TF_CROP_AND_RESIZE && (xc < 0 || xc > (double)(in - 1))) {
                for (k = 0; k < 4; k++) ti[k] = -1, tw[k] = 0;
                continue;
            }
            if (p->mode == 0) {
                double f = floor(xc), frac = xc - f;
                int64_t j;
                switch (p->nearest) {
                case 0: j = (int64_t)(frac == 0.5 ? f : floor(xc + 0.5)); break;
                case 1: j = (int64_t)(frac == 0.5 ? f + 1 : floor(xc + 0.5)); break;
                case 2: j = (int64_t)f; break;
                default: j = (int64_t)ceil(xc); break;
                }
                ti[0] = j < 0 ? 0 : j >= in ? in - 1 : j;
                tw[0] = 1;
                continue;
            }
            if (p->mode == 1) {
                double f = floor(xc);
                int64_t j = (int64_t)f;
                ti[0] = j, ti[1] = j + 1;
                tw[0] = 1 - (xc - f), tw[1] = xc - f;
                for (k = 0; k < 2; k++) ti[k] = ti[k] < 0 ? 0 : ti[k] >= in ? in - 1 : ti[k];
                continue;
            }
            {
                double f = floor(xc);
                int64_t j = (int64_t)f;
                for (k = 0; k < 4; k++) {
                    int64_t t = j - 1 + k;
                    tw[k] = infer__cubic_w(xc - (double)t, p->cubic_a);
                    if (p->exclude_outside && (t < 0 || t >= in)) tw[k] = 0;
                    ti[k] = t < 0 ? 0 : t >= in ? in - 1 : t;
                    sum += tw[k];
                }
                if (p->exclude_outside && sum != 0)
                    for (k = 0; k < 4; k++) tw[k] /= sum;
            }
        }
    }
    infer__strides(x->dims, r, 1, xs);
    for (e = 0; e < (int64_t)y->n; e++) {
        /* sum over the taps of every axis: nt^r combinations, odometer-style */
        int tap[INFER_MAX_DIMS] = {0}, outside = 0;
        double acc = 0;
        for (i = 0; i < r; i++)
            if (tap_i[i][4 * idx[i]] < 0) outside = 1;
        if (!outside)
            for (;;) {
                double w = 1;
                int64_t off = 0;
                for (i = 0; i < r; i++) {
                    w *= tap_w[i][4 * idx[i] + tap[i]];
                    off += tap_i[i][4 * idx[i] + tap[i]] * xs[i];
                }
                if (w != 0) acc += w * (x->dtype == INFER_DTYPE_F32 ? (double)((const float *)x->data)[off] : ((const double *)x->data)[off]);
                for (i = r - 1; i >= 0; i--) {
                    if (++tap[i] < nt) break;
                    tap[i] = 0;
                }
                if (i < 0) break;
            }
        else
            acc = p->extrapolation;
        if (y->dtype == INFER_DTYPE_F32) ((float *)y->data)[e] = (float)acc;
        else ((double *)y->data)[e] = acc;
        for (i = r - 1; i >= 0; i--) {
            if (++idx[i] < y->dims[i]) break;
            idx[i] = 0;
        }
    }
    return INFER_STATUS_OK;
}

/* -- Cast -- */

/* A scalar in transit: float kinds travel as double, integers as int64/uint64. */
typedef struct infer__num {
    int kind; /* 0 float, 1 signed, 2 unsigned */
    double f;
    int64_t i;
    uint64_t u;
} infer__num;

/* The small types (after BOOL in INFER_DTYPE_LIST), one element per byte. */
#define INFER__IS_SMALL(t) ((t) >= INFER_DTYPE_F8E4M3FN && (t) <= INFER_DTYPE_I2)

/* Small floats: float8 e4m3fn, e4m3fnuz, e5m2, e5m2fnuz and float4 e2m1 (e8m0 is apart).
   What the top of each range holds:
     IEEE    inf = S.1..1.00, NaN = S.1..1.xx                  (e5m2)
     FN      no inf; NaN = S.1..1.1..1                         (e4m3fn)
     FNUZ    no inf, no -0; NaN = 1.0..0.0..0 (the -0 pattern) (e4m3fnuz, e5m2fnuz)
     FINITE  no inf, no NaN                                    (e2m1) */
enum { INFER__MF_IEEE, INFER__MF_FN, INFER__MF_FNUZ, INFER__MF_FINITE };
typedef struct infer__minifloat {
    int ebits, mbits, bias, kind;
    unsigned max_mag; /* the code of the largest finite value, sign clear */
} infer__minifloat;

static const infer__minifloat *infer__minifloat_of(infer_dtype t) {
    static const infer__minifloat f[5] = {
        {4, 3, 7, INFER__MF_FN, 0x7E},    /* e4m3fn: max 448 */
        {4, 3, 8, INFER__MF_FNUZ, 0x7F},  /* e4m3fnuz: max 240 */
        {5, 2, 15, INFER__MF_IEEE, 0x7B}, /* e5m2: max 57344 */
        {5, 2, 16, INFER__MF_FNUZ, 0x7F}, /* e5m2fnuz: max 57344 */
        {2, 1, 1, INFER__MF_FINITE, 0x7}, /* e2m1: max 6 */
    };
    switch (t) {
    case INFER_DTYPE_F8E4M3FN: return &f[0];
    case INFER_DTYPE_F8E4M3FNUZ: return &f[1];
    case INFER_DTYPE_F8E5M2: return &f[2];
    case INFER_DTYPE_F8E5M2FNUZ: return &f[3];
    case INFER_DTYPE_F4E2M1: return &f[4];
    default: return NULL;
    }
}

/* The value of code b (exact in a double). */
static double infer__minifloat_get(const infer__minifloat *f, unsigned b) {
    unsigned sign = 1u << (f->ebits + f->mbits), mag, e, m;
    double v;
    b &= 2 * sign - 1;
    mag = b & (sign - 1);
    e = mag >> f->mbits;
    m = mag & ((1u << f->mbits) - 1);
    if (f->kind == INFER__MF_FNUZ && b == sign) return -(double)NAN;
    if (f->kind == INFER__MF_FN && mag == sign - 1) v = (double)NAN;
    else if (f->kind == INFER__MF_IEEE && e == (1u << f->ebits) - 1) v = m ? (double)NAN : (double)INFINITY;
    else if (e) v = ldexp((double)(m | (1u << f->mbits)), (int)e - f->bias - f->mbits);
    else v = ldexp((double)m, 1 - f->bias - f->mbits);
    return (b & sign) ? -v : v;
}

/* d rounded to format f, to nearest, ties to even (ONNX Cast). saturate: a magnitude over
   the largest finite value (inf too) becomes +-max; otherwise one that rounds over it
   becomes inf (e5m2) or NaN. -0 stays -0 except in FNUZ formats. e2m1 always saturates
   and has no NaN: NaN becomes the -0 pattern (+0 for -NaN), as the ONNX reference does. */
static unsigned infer__minifloat_put(const infer__minifloat *f, double d, int saturate) {
    unsigned sign = 1u << (f->ebits + f->mbits), s = signbit(d) ? sign : 0, mag;
    unsigned all_e = ((1u << f->ebits) - 1) << f->mbits; /* the exponent field all ones */
    unsigned over = f->kind == INFER__MF_IEEE ? s | all_e : f->kind == INFER__MF_FN ? s | (sign - 1) : sign;
    double a = fabs(d), n, r;
    int e;
    if (d != d) {
        switch (f->kind) {
        case INFER__MF_IEEE: return s | all_e | (1u << (f->mbits - 1));
        case INFER__MF_FN: return s | (sign - 1);
        case INFER__MF_FNUZ: return sign;
        default: return s ^ sign;
        }
    }
    if (f->kind == INFER__MF_FINITE) saturate = 1;
    if (saturate && a > infer__minifloat_get(f, f->max_mag)) return s | f->max_mag;
    if (a == (double)INFINITY) return over;
    if (a == 0) return f->kind == INFER__MF_FNUZ ? 0 : s;
    (void)frexp(a, &e);
    e -= 1; /* a = 1.x * 2^e */
    if (e < 1 - f->bias) e = 1 - f->bias; /* subnormal: the smallest exponent's spacing */
    n = ldexp(a, f->mbits - e);           /* a in units of the last place: < 2^(mbits+1) */
    r = floor(n);
    if (n - r > 0.5 || (n - r == 0.5 && fmod(r, 2) != 0)) r += 1;
    if (r >= ldexp(1, f->mbits + 1)) r = ldexp(1, f->mbits), e++; /* rounded up to the next binade */
    if (r < ldexp(1, f->mbits)) mag = (unsigned)r; /* subnormal or zero */
    else if (e + f->bias > (1 << f->ebits) - 1) return saturate ? s | f->max_mag : over;
    else mag = ((unsigned)(e + f->bias) << f->mbits) | ((unsigned)r - (1u << f->mbits));
    if (mag > f->max_mag) return saturate ? s | f->max_mag : over;
    if (mag == 0 && f->kind == INFER__MF_FNUZ) return 0;
    return s | mag;
}

/* float8e8m0: code b is 2^(b - 127); 0xFF is NaN. */
static double infer__e8m0_get(unsigned b) { return (b & 255) == 255 ? (double)NAN : ldexp(1, (int)(b & 255) - 127); }

/* d to float8e8m0 (ONNX Cast): the sign is ignored (a negative input is undefined);
   round_mode up (default: to the power of two at or above), down (at or below) or nearest
   (ties up). Results below 2^-127 (0 too) or above 2^127 (inf too): with saturate the
   smallest / largest code, else NaN. */
static unsigned infer__e8m0_put(double d, unsigned mode) {
    double a = fabs(d), m;
    int e, sat = (mode & INFER__CAST_SATURATE) != 0;
    if (d != d) return 255;
    if (a == (double)INFINITY) return sat ? 254 : 255;
    if (a == 0) return sat ? 0 : 255;
    m = frexp(a, &e); /* a = m 2^e, 0.5 <= m < 1: code e - 1 + 127, or one more rounded up */
    e += 126;
    if (mode & INFER__CAST_DOWN) (void)0;
    else if (mode & INFER__CAST_NEAREST) e += m >= 0.75;
    else e += m > 0.5;
    if (e > 254) return sat ? 254 : 255;
    if (e < 0) return sat ? 0 : 255;
    return (unsigned)e;
}

/* A value in transit as a double, for rounding to a small float: integers wider than 53
   bits are rounded "to odd" (toward zero, then the last bit set if inexact), so that the
   one rounding that follows is correct. */
static double infer__num_f64_odd(infer__num v) {
    uint64_t m;
    double d;
    int s = 0;
    if (v.kind == 0) return v.f;
    m = v.kind == 1 ? (v.i < 0 ? 0 - (uint64_t)v.i : (uint64_t)v.i) : v.u;
    while (s < 11 && m >> (53 + s)) s++; /* m < 2^64: s <= 11 */
    d = ldexp((double)((m >> s) | ((m & ((1ull << s) - 1)) != 0)), s);
    return v.kind == 1 && v.i < 0 ? -d : d;
}

/* v as a small type's byte. Floats to 4- and 2-bit integers round to nearest even, then
   keep the low bits (ONNX int4.md / int2.md), as integers do; I4 and I2 are stored
   sign-extended. mode: INFER__CAST_* (saturate applies to float8 targets only). */
static uint8_t infer__small_put(infer_dtype t, infer__num v, unsigned mode) {
    const infer__minifloat *f = infer__minifloat_of(t);
    int bits = t == INFER_DTYPE_U4 || t == INFER_DTYPE_I4 ? 4 : 2;
    uint64_t x;
    if (f) return (uint8_t)infer__minifloat_put(f, infer__num_f64_odd(v), (mode & INFER__CAST_SATURATE) != 0);
    if (t == INFER_DTYPE_F8E8M0) return (uint8_t)infer__e8m0_put(infer__num_f64_odd(v), mode);
    if (v.kind == 0) {
        double r = floor(v.f);
        if (v.f - r > 0.5 || (v.f - r == 0.5 && fmod(r, 2) != 0)) r += 1;
        x = r != r ? 0 : r <= -9223372036854775808.0 ? (uint64_t)INT64_MIN
          : r >= 9223372036854775807.0 ? (uint64_t)INT64_MAX : (uint64_t)(int64_t)r;
    } else {
        x = v.kind == 1 ? (uint64_t)v.i : v.u;
    }
    x &= (1u << bits) - 1;
    if ((t == INFER_DTYPE_I4 || t == INFER_DTYPE_I2) && (x >> (bits - 1))) x |= ~(uint64_t)0 << bits;
    return (uint8_t)x;
}

static infer__num infer__num_get(const void *p, infer_dtype t, size_t k) {
    infer__num v;
    memset(&v, 0, sizeof v);
    switch (t) {
    case INFER_DTYPE_F32: v.f = ((const float *)p)[k]; break;
    case INFER_DTYPE_F64: v.f = ((const double *)p)[k]; break;
    case INFER_DTYPE_F16: v.f = infer__f16_to_f32(((const uint16_t *)p)[k]); break;
    case INFER_DTYPE_BF16: v.f = infer__bf16_to_f32(((const uint16_t *)p)[k]); break;
    case INFER_DTYPE_I8: v.kind = 1, v.i = ((const int8_t *)p)[k]; break;
    case INFER_DTYPE_I16: v.kind = 1, v.i = ((const int16_t *)p)[k]; break;
    case INFER_DTYPE_I32: v.kind = 1, v.i = ((const int32_t *)p)[k]; break;
    case INFER_DTYPE_I64: v.kind = 1, v.i = ((const int64_t *)p)[k]; break;
    case INFER_DTYPE_U8: case INFER_DTYPE_BOOL: v.kind = 2, v.u = ((const uint8_t *)p)[k]; break;
    case INFER_DTYPE_U16: v.kind = 2, v.u = ((const uint16_t *)p)[k]; break;
    case INFER_DTYPE_U32: v.kind = 2, v.u = ((const uint32_t *)p)[k]; break;
    case INFER_DTYPE_U64: v.kind = 2, v.u = ((const uint64_t *)p)[k]; break;
    case INFER_DTYPE_U4: v.kind = 2, v.u = ((const uint8_t *)p)[k] & 15u; break;
    case INFER_DTYPE_I4: v.kind = 1, v.i = (int)((((const uint8_t *)p)[k] & 15u) ^ 8u) - 8; break;
    case INFER_DTYPE_U2: v.kind = 2, v.u = ((const uint8_t *)p)[k] & 3u; break;
    case INFER_DTYPE_I2: v.kind = 1, v.i = (int)((((const uint8_t *)p)[k] & 3u) ^ 2u) - 2; break;
    case INFER_DTYPE_F8E8M0: v.f = infer__e8m0_get(((const uint8_t *)p)[k]); break;
    default:
        if (infer__minifloat_of(t)) v.f = infer__minifloat_get(infer__minifloat_of(t), ((const uint8_t *)p)[k]);
        break;
    }
    return v;
}

/* float -> integer in [lo, hi]: truncation toward zero; NaN becomes 0 (C leaves these undefined). */
static int64_t infer__f2i(double f, double lo, double hi) {
    if (f != f) return 0;
    if (f <= lo) return (int64_t)lo;
    if (f >= hi) return (int64_t)hi;
    return (int64_t)f;
}
static uint64_t infer__f2u(double f, double hi) {
    if (!(f > 0)) return 0;
    if (f >= hi) return (uint64_t)hi;
    return (uint64_t)f;
}

static void infer__num_put(void *p, infer_dtype t, size_t k, infer__num v) {
    double f = v.kind == 0 ? v.f : v.kind == 1 ? (double)v.i : (double)v.u;
    int64_t i = v.kind == 0 ? infer__f2i(v.f, -9223372036854775808.0, 9223372036854774784.0) : v.kind == 1 ? v.i : (int64_t)v.u;
    uint64_t u = v.kind == 0 ? infer__f2u(v.f, 18446744073709549568.0) : v.kind == 1 ? (uint64_t)v.i : v.u;
    float h = 0;
    if (v.kind == 0 && t != INFER_DTYPE_I64 && t != INFER_DTYPE_U64 && INFER__IS_SINT(t)) i = infer__f2i(v.f, -2147483648.0, 2147483647.0);
    if (t == INFER_DTYPE_F16 || t == INFER_DTYPE_BF16) {
        /* Round to f32 "to odd" (toward zero, then the last bit set if inexact): the
           rounding to f16/bf16 that follows is then the one correct rounding of the value,
           not a double rounding (e.g. 1 + 2^-11 + 2^-40 would tie to 1.0 in f16). */
        double d = f;
        uint64_t m = v.kind == 1 ? (v.i < 0 ? 0 - (uint64_t)v.i : (uint64_t)v.i) : v.u;
        uint32_t bits;
        if (v.kind != 0 && (m >> 53)) { /* an integer too wide for a double: to odd as well */
            int s = 0;
            while (s < 11 && m >> (53 + s)) s++; /* m < 2^64 */
            d = ldexp((double)((m >> s) | ((m & ((1ull << s) - 1)) != 0)), s);
            if (v.kind == 1 && v.i < 0) d = -d;
        }
        h = d > FLT_MAX ? FLT_MAX : d < -FLT_MAX ? -FLT_MAX : (float)d;
        if (h == h && (double)h != d) {
            if (fabs((double)h) > fabs(d)) h = nextafterf(h, 0.0f);
            memcpy(&bits, &h, 4);
            bits |= 1;
            memcpy(&h, &bits, 4);
        }
    }
    switch (t) {
    case INFER_DTYPE_F32: ((float *)p)[k] = v.kind == 1 ? (float)v.i : v.kind == 2 ? (float)v.u : (float)f; break; /* one rounding */
    case INFER_DTYPE_F64: ((double *)p)[k] = f; break;
    case INFER_DTYPE_F16: ((uint16_t *)p)[k] = infer__f32_to_f16(h); break;
    case INFER_DTYPE_BF16: ((uint16_t *)p)[k] = infer__f32_to_bf16(h); break;
    case INFER_DTYPE_I8: ((int8_t *)p)[k] = (int8_t)(uint8_t)(uint64_t)i; break;
    case INFER_DTYPE_I16: ((int16_t *)p)[k] = (int16_t)(uint16_t)(uint64_t)i; break;
    case INFER_DTYPE_I32: ((int32_t *)p)[k] = (int32_t)(uint32_t)(uint64_t)i; break;
    case INFER_DTYPE_I64: ((int64_t *)p)[k] = i; break;
    case INFER_DTYPE_U8: ((uint8_t *)p)[k] = (uint8_t)u; break;
    case INFER_DTYPE_U16: ((uint16_t *)p)[k] = (uint16_t)u; break;
    case INFER_DTYPE_U32: ((uint32_t *)p)[k] = (uint32_t)u; break;
    case INFER_DTYPE_U64: ((uint64_t *)p)[k] = u; break;
    case INFER_DTYPE_BOOL: ((uint8_t *)p)[k] = (uint8_t)(v.kind == 0 ? f != 0 : v.kind == 1 ? v.i != 0 : v.u != 0); break;
    default:
        if (INFER__IS_SMALL(t)) ((uint8_t *)p)[k] = infer__small_put(t, v, INFER__CAST_SATURATE);
        break;
    }
}

static infer_status infer__cast_ref(const infer__ctx *c) {
    const infer__val *x = c->in[0], *y = c->out[0];
    size_t k;
    if (x->dtype == y->dtype) {
        memmove(y->data, x->data, y->bytes);
        return INFER_STATUS_OK;
    }
    if (INFER__IS_SMALL(y->dtype)) { /* saturate and round_mode apply */
        for (k = 0; k < y->n; k++)
            ((uint8_t *)y->data)[k] = infer__small_put(y->dtype, infer__num_get(x->data, x->dtype, k), c->p->cast_mode);
        return INFER_STATUS_OK;
    }
    for (k = 0; k < y->n; k++) infer__num_put(y->data, y->dtype, k, infer__num_get(x->data, x->dtype, k));
    return INFER_STATUS_OK;
}

/* -- shape-derived values (folded at session creation) -- */

static infer_status infer__shape_ref(const infer__ctx *c) {
    const infer__val *x = c->in[0];
    int64_t *y = (int64_t *)c->out[0]->data, i;
    if (c->node->op == INFER__OP_SIZE) {
        y[0] = (int64_t)x->n;
        return INFER_STATUS_OK;
    }
    for (i = c->p->ax.outer; i < c->p->ax.inner; i++) y[i - c->p->ax.outer] = x->dims[i];
    return INFER_STATUS_OK;
}

static infer_status infer__constant_of_shape_ref(const infer__ctx *c) {
    const infer__attr *a = infer__attr_find(c->node, "value");
    const infer__val *y = c->out[0];
    size_t esz = infer_dtype_bytes(y->dtype), k;
    uint8_t value[8] = {0};
    if (a) memcpy(value, c->m->tensors[a->t].data, esz);
    for (k = 0; k < y->n; k++) memcpy((uint8_t *)y->data + k * esz, value, esz);
    return INFER_STATUS_OK;
}

/* EyeLike: zeros, and ones on the diagonal k places right of the main one. */
static infer_status infer__eye_like_ref(const infer__ctx *c) {
    const infer__val *y = c->out[0];
    int64_t rows = y->dims[0], cols = y->dims[1], k = c->p->ax.axis, r;
    infer__num one;
    memset(&one, 0, sizeof one);
    one.kind = 1;
    one.i = 1;
    memset(y->data, 0, y->bytes);
    for (r = 0; r < rows; r++)
        if (r + k >= 0 && r + k < cols) infer__num_put(y->data, y->dtype, (size_t)(r * cols + r + k), one);
    return INFER_STATUS_OK;
}

static infer_status infer__range_ref(const infer__ctx *c) {
    const infer__val *y = c->out[0];
    size_t k;
    infer__num start = infer__num_get(c->in[0]->data, y->dtype, 0), delta = infer__num_get(c->in[2]->data, y->dtype, 0);
    for (k = 0; k < y->n; k++) {
        infer__num v = start;
        if (v.kind == 0) v.f = start.f + (double)k * delta.f;
        else v.i = (int64_t)((uint64_t)start.i + (uint64_t)k * (uint64_t)delta.i);
        infer__num_put(y->data, y->dtype, k, v);
    }
    return INFER_STATUS_OK;
}

/* -- recurrent: LSTM, GRU, RNN. Gates, states and activations in double; one job per
      (direction, batch entry) runs its whole sequence. -- */

static double infer__rnn_act(int a, double x, double alpha, double beta) {
    switch (a) {
    case INFER__RNN_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case INFER__RNN_ACT_TANH: return tanh(x);
    case INFER__RNN_ACT_RELU: return x > 0 ? x : 0.0;
    case INFER__RNN_ACT_AFFINE: return alpha * x + beta;
    case INFER__RNN_ACT_LEAKY_RELU: return x >= 0 ? x : alpha * x;
    case INFER__RNN_ACT_THRESHOLDED_RELU: return x >= alpha ? x : 0.0;
    case INFER__RNN_ACT_SCALED_TANH: return alpha * tanh(beta * x);
    case INFER__RNN_ACT_HARD_SIGMOID: x = alpha * x + beta; return x < 0 ? 0.0 : x > 1 ? 1.0 : x;
    case INFER__RNN_ACT_ELU: return x >= 0 ? x : alpha * expm1(x);
    case INFER__RNN_ACT_SOFTSIGN: return x / (1.0 + fabs(x));
    default: return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); /* Softplus */
    }
}
/* activation k of direction d applied to x clipped to [-clip, clip] (clip 0: none) */
static double infer__rnn_gate(const infer__rnn_p *p, int64_t d, int k, double x) {
    int i = (int)d * p->n_act + k;
    if (p->clip > 0) x = x < -p->clip ? -p->clip : x > p->clip ? p->clip : x;
    return infer__rnn_act(p->act[i], x, p->alpha[i], p->beta[i]);
}
static double infer__dot_ff(const float *a, const float *b, int64_t n) {
    double s = 0;
    int64_t i;
    for (i = 0; i < n; i++) s += (double)a[i] * (double)b[i];
    return s;
}
static double infer__dot_df(const double *a, const float *b, int64_t n) {
    double s = 0;
    int64_t i;
    for (i = 0; i < n; i++) s += a[i] * (double)b[i];
    return s;
}

/* One LSTM/GRU/RNN node's operands, shared by its two parallel loops. */
typedef struct infer__rnn_job {
    const infer__ctx *c;
    int lstm, rnn;
    const infer__val *bv, *h0v, *c0v, *pv;
    const float *x, *w, *r;
    float *y, *yh, *yc;
    int64_t S, B, I, H, D, GH, rows;
    double *xw, *work; /* xw [D][rows][GH], work [D*B][GH + 3H] */
} infer__rnn_job;

/* job = (direction d, row of X): X.W^T + the biases, outside the recurrence */
static void infer__rnn_xw_task(void *arg, int64_t job) {
    const infer__rnn_job *q = (const infer__rnn_job *)arg;
    const infer__rnn_p *p = &q->c->p->rnn;
    const infer__val *bv = q->bv;
    const float *x = q->x, *w = q->w;
    int64_t I = q->I, H = q->H, GH = q->GH, rows = q->rows;
    int lstm = q->lstm;
    double *xw = q->xw;
    int64_t d = job / rows, row = job % rows, j;
    const float *xr = x + row * I, *wd = w + d * GH * I;
    const float *bd = bv ? (const float *)bv->data + d * 2 * GH : NULL;
    double *o = xw + job * GH;
    for (j = 0; j < GH; j++) {
        double v = infer__dot_ff(xr, wd + j * I, I);
        if (bd) v += (double)bd[j] + (lstm || !p->flag || j < 2 * H ? (double)bd[GH + j] : 0.0);
        o[j] = v;
    }
}

/* job = (direction d, batch entry b): the recurrence over its sequence */
static void infer__rnn_seq_task(void *arg, int64_t job) {
    const infer__rnn_job *q = (const infer__rnn_job *)arg;
    const infer__ctx *c = q->c;
    const infer__rnn_p *p = &c->p->rnn;
    const infer__val *bv = q->bv, *h0v = q->h0v, *c0v = q->c0v, *pv = q->pv;
    const float *r = q->r;
    float *y = q->y, *yh = q->yh, *yc = q->yc;
    int64_t S = q->S, B = q->B, H = q->H, D = q->D, GH = q->GH, rows = q->rows;
    int lstm = q->lstm, rnn = q->rnn;
    const double *xw = q->xw;
    double *work = q->work;
    int64_t d = job / B, b = job % B, s, j, k, sl = S;
    const float *rd = r + d * GH * H;
    const float *pd = pv ? (const float *)pv->data + d * 3 * H : NULL;
    const float *rb = bv ? (const float *)bv->data + d * 2 * GH + GH : NULL;
    double *g = work + job * (GH + 3 * H), *hp = g + GH, *cp = hp + H, *tmp = cp + H;
    int64_t so = (p->layout ? b * D + d : d * B + b) * H; /* offset in initial_h, Y_h, ... */
    int rev = p->reverse || d == 1;
    (void)infer__rnn_len(c, b, &sl); /* checked above */
    for (k = 0; k < H; k++) {
        hp[k] = h0v ? (double)((const float *)h0v->data)[so + k] : 0.0;
        cp[k] = c0v ? (double)((const float *)c0v->data)[so + k] : 0.0;
    }
    for (s = 0; s < sl; s++) {
        int64_t t = rev ? sl - 1 - s : s;
        const double *xg = xw + (d * rows + (p->layout ? b * S + t : t * B + b)) * GH;
        if (lstm) { /* gates i o f c */
            for (j = 0; j < GH; j++) g[j] = xg[j] + infer__dot_df(hp, rd + j * H, H);
            for (k = 0; k < H; k++) {
                double gi = g[k], go = g[H + k], gf = g[2 * H + k], ig, fg, cn;
                if (pd) gi += (double)pd[k] * cp[k], gf += (double)pd[2 * H + k] * cp[k];
                ig = infer__rnn_gate(p, d, 0, gi);
                fg = p->flag ? 1.0 - ig : infer__rnn_gate(p, d, 0, gf);
                cn = fg * cp[k] + ig * infer__rnn_gate(p, d, 1, g[3 * H + k]);
                if (pd) go += (double)pd[H + k] * cn;
                cp[k] = cn;
                hp[k] = infer__rnn_gate(p, d, 0, go) * infer__rnn_act(p->act[d * 3 + 2], cn, p->alpha[d * 3 + 2],
                                                                      p->beta[d * 3 + 2]);
            }
        } else if (rnn) { /* h = f(x.W^T + h.R^T + Wb + Rb) */
            for (j = 0; j < H; j++) g[j] = infer__rnn_gate(p, d, 0, xg[j] + infer__dot_df(hp, rd + j * H, H));
            for (k = 0; k < H; k++) hp[k] = g[k];
        } else { /* gates z r h; g holds z, r, then the recurrent part of h */
            for (j = 0; j < 2 * H; j++) g[j] = infer__rnn_gate(p, d, 0, xg[j] + infer__dot_df(hp, rd + j * H, H));
            if (p->flag) {
                for (j = 2 * H; j < GH; j++) g[j] = infer__dot_df(hp, rd + j * H, H) + (rb ? (double)rb[j] : 0.0);
                for (k = 0; k < H; k++) tmp[k] = xg[2 * H + k] + g[H + k] * g[2 * H + k];
            } else {
                for (k = 0; k < H; k++) tmp[k] = g[H + k] * hp[k];
                for (j = 2 * H; j < GH; j++) g[j] = infer__dot_df(tmp, rd + j * H, H);
                for (k = 0; k < H; k++) tmp[k] = xg[2 * H + k] + g[2 * H + k];
            }
            for (k = 0; k < H; k++) {
                double z = g[k];
                hp[k] = (1.0 - z) * infer__rnn_gate(p, d, 1, tmp[k]) + z * hp[k];
            }
        }
        if (y) {
            float *yo = y + (p->layout ? (b * S + t) * D + d : (t * D + d) * B + b) * H;
            for (k = 0; k < H; k++) yo[k] = (float)hp[k];
        }
    }
    for (k = 0; k < H; k++) {
        if (yh) yh[so + k] = (float)hp[k];
        if (yc) yc[so + k] = (float)cp[k];
    }
}

/* Inputs X W R B? sequence_lens? initial_h? (initial_c? P? for LSTM); outputs Y? Y_h? (Y_c?).
   Past a batch entry's sequence length Y is 0; Y_h / Y_c hold the state after its last step
   (the initial state for length 0). */
static infer_status infer__rnn_ref(const infer__ctx *c) {
    const infer__rnn_p *p = &c->p->rnn;
    infer__rnn_job q;
    int64_t job, len;
    infer_status st;
    q.c = c;
    q.lstm = c->node->op == INFER__OP_LSTM, q.rnn = c->node->op == INFER__OP_RNN;
    q.bv = c->n_in > 3 ? c->in[3] : NULL, q.h0v = c->n_in > 5 ? c->in[5] : NULL;
    q.c0v = q.lstm && c->n_in > 6 ? c->in[6] : NULL, q.pv = q.lstm && c->n_in > 7 ? c->in[7] : NULL;
    q.x = (const float *)c->in[0]->data, q.w = (const float *)c->in[1]->data, q.r = (const float *)c->in[2]->data;
    q.y = c->n_out > 0 && c->out[0] ? (float *)c->out[0]->data : NULL;
    q.yh = c->n_out > 1 && c->out[1] ? (float *)c->out[1]->data : NULL;
    q.yc = q.lstm && c->n_out > 2 && c->out[2] ? (float *)c->out[2]->data : NULL;
    q.S = p->seq, q.B = p->batch, q.I = p->input, q.H = p->hidden, q.D = p->n_dir;
    q.GH = (q.lstm ? 4 : q.rnn ? 1 : 3) * p->hidden;
    q.rows = q.S * q.B;
    q.xw = (double *)c->scratch; /* NULL for an empty batch (no scratch): no offset from it */
    q.work = q.xw ? q.xw + q.D * q.rows * q.GH : NULL;
    for (job = 0; job < q.B; job++)
        if ((st = infer__rnn_len(c, job, &len))) return st;
    if (q.y) memset(q.y, 0, c->out[0]->bytes);
    if (q.B == 0) return INFER_STATUS_OK;
    infer__parallel(c, infer__threads_for(c, (double)q.D * (double)q.rows * (double)q.GH * (double)q.I), q.D * q.rows,
                    infer__rnn_xw_task, &q);
    infer__parallel(c, infer__threads_for(c, (double)q.D * (double)q.rows * (double)q.GH * (double)q.H), q.D * q.B,
                    infer__rnn_seq_task, &q);
    return INFER_STATUS_OK;
}

/* -- quantization -- */

/* d rounded to dtype t (f32, f16, bf16; f64 stays), as numpy computes in t. */
static double infer__round_to(infer_dtype t, double d) {
    switch (t) {
    case INFER_DTYPE_F32: return (double)(float)d;
    case INFER_DTYPE_F16: return (double)infer__f16_to_f32(infer__f32_to_f16((float)d));
    case INFER_DTYPE_BF16: return (double)infer__bf16_to_f32(infer__f32_to_bf16((float)d));
    default: return d;
    }
}

/* The range of an integer quantized type. */
static void infer__qrange(infer_dtype t, int64_t *lo, int64_t *hi) {
    switch (t) {
    case INFER_DTYPE_I8: *lo = -128, *hi = 127; break;
    case INFER_DTYPE_U16: *lo = 0, *hi = 65535; break;
    case INFER_DTYPE_I16: *lo = -32768, *hi = 32767; break;
    case INFER_DTYPE_U4: *lo = 0, *hi = 15; break;
    case INFER_DTYPE_I4: *lo = -8, *hi = 7; break;
    case INFER_DTYPE_U2: *lo = 0, *hi = 3; break;
    case INFER_DTYPE_I2: *lo = -2, *hi = 1; break;
    default: *lo = 0, *hi = 255; break;
    }
}

/* round_half_even(d) + zp, saturated to [lo, hi]; NaN gives the zero point. */
static int64_t infer__qsat(double d, int64_t zp, int64_t lo, int64_t hi) {
    double r = d != d ? (double)zp : nearbyint(d) + (double)zp; /* the default rounding mode: half to even */
    return r <= (double)lo ? lo : r >= (double)hi ? hi : (int64_t)r;
}

/* Stores integer v (in range) as element k of an integer quantized type. */
static void infer__qput(void *p, infer_dtype t, size_t k, int64_t v) {
    switch (t) {
    case INFER_DTYPE_U16: ((uint16_t *)p)[k] = (uint16_t)v; break;
    case INFER_DTYPE_I16: ((int16_t *)p)[k] = (int16_t)v; break;
    default: ((uint8_t *)p)[k] = (uint8_t)(int8_t)v; break; /* u8; i8; 4- and 2-bit: sign-extended */
    }
}

/* element k of u8/i8 data as an int */
static int32_t infer__q8(const void *p, infer_dtype t, size_t k) {
    return t == INFER_DTYPE_I8 ? (int32_t)((const int8_t *)p)[k] : (int32_t)((const uint8_t *)p)[k];
}

/* element k of an f32/f16/bf16 scale */
static float infer__qscale(const infer__val *v, size_t k) {
    return (float)infer__num_get(v->data, v->dtype, v->n == 1 ? 0 : k).f;
}

static infer_status infer__quantize_linear_ref(const infer__ctx *c) {
    const infer__quant_p *p = &c->p->q;
    const infer__val *x = c->in[0], *sc = c->in[1], *zp = c->n_in > 2 ? c->in[2] : NULL, *y = c->out[0];
    const infer__minifloat *mf = infer__minifloat_of(y->dtype);
    int64_t o, l, i, lo, hi;
    size_t k = 0;
    infer__qrange(y->dtype, &lo, &hi);
    for (o = 0; o < p->outer; o++)
        for (l = 0; l < p->len; l++)
            for (i = 0; i < p->inner; i++, k++) {
                size_t s = (size_t)(o * p->so + (l / p->block) * p->sl + i * p->si);
                infer__num xv = infer__num_get(x->data, x->dtype, k), zv;
                double xd = infer__round_to(p->precision, xv.kind ? (double)xv.i : xv.f);
                double sd = infer__round_to(p->precision, infer__num_get(sc->data, sc->dtype, s).f);
                double q = infer__round_to(p->precision, xd / sd);
                if (mf) { /* float8: the zero point is 0; float4 adds it */
                    if (y->dtype == INFER_DTYPE_F4E2M1 && zp)
                        q = (double)(float)(q + infer__num_get(zp->data, zp->dtype, s).f);
                    ((uint8_t *)y->data)[k] = (uint8_t)infer__minifloat_put(mf, q, p->saturate);
                    continue;
                }
                zv = zp ? infer__num_get(zp->data, zp->dtype, s) : xv;
                infer__qput(y->data, y->dtype, k,
                            infer__qsat(q, !zp ? 0 : zv.kind == 1 ? zv.i : (int64_t)zv.u, lo, hi));
            }
    return INFER_STATUS_OK;
}

static infer_status infer__dequantize_linear_ref(const infer__ctx *c) {
    const infer__quant_p *p = &c->p->q;
    const infer__val *x = c->in[0], *sc = c->in[1], *zp = c->n_in > 2 ? c->in[2] : NULL, *y = c->out[0];
    int64_t o, l, i;
    size_t k = 0;
    if ((x->dtype == INFER_DTYPE_I8 || x->dtype == INFER_DTYPE_U8) && sc->dtype == INFER_DTYPE_F32 &&
        y->dtype == INFER_DTYPE_F32) { /* 8-bit to f32 (int8 weights at creation): the same sums, no generic reads */
        const float *scv = (const float *)sc->data;
        float *yv = (float *)y->data;
        int sgn = x->dtype == INFER_DTYPE_I8;
        for (o = 0; o < p->outer; o++)
            for (l = 0; l < p->len; l++)
                for (i = 0; i < p->inner; i++, k++) {
                    size_t s = (size_t)(o * p->so + (l / p->block) * p->sl + i * p->si);
                    int32_t xi = sgn ? ((const int8_t *)x->data)[k] : ((const uint8_t *)x->data)[k];
                    int32_t zi = !zp ? 0 : sgn ? ((const int8_t *)zp->data)[s] : ((const uint8_t *)zp->data)[s];
                    yv[k] = ((float)xi - (float)zi) * scv[s];
                }
        return INFER_STATUS_OK;
    }
    for (o = 0; o < p->outer; o++)
        for (l = 0; l < p->len; l++)
            for (i = 0; i < p->inner; i++, k++) {
                size_t s = (size_t)(o * p->so + (l / p->block) * p->sl + i * p->si);
                infer__num xv = infer__num_get(x->data, x->dtype, k);
                float scale = (float)infer__num_get(sc->data, sc->dtype, s).f, v;
                if (xv.kind == 0) { /* float8, float4: (x - 0) * scale */
                    v = (float)xv.f * scale;
                } else {
                    infer__num zv = zp ? infer__num_get(zp->data, zp->dtype, s) : xv;
                    int64_t xi = xv.kind == 1 ? xv.i : (int64_t)xv.u, zi = !zp ? 0 : zv.kind == 1 ? zv.i : (int64_t)zv.u;
                    if (x->dtype == INFER_DTYPE_I32 && zp) /* numpy: f32 - i32 is f64 */
                        v = (float)(((double)(float)xi - (double)zi) * (double)scale);
                    else
                        v = ((float)xi - (float)zi) * scale; /* exact difference for 16 bits and under */
                }
                if (y->dtype == INFER_DTYPE_F32) ((float *)y->data)[k] = v;
                else if (y->dtype == INFER_DTYPE_F16) ((uint16_t *)y->data)[k] = infer__f32_to_f16(v);
                else ((uint16_t *)y->data)[k] = infer__f32_to_bf16(v);
            }
    return INFER_STATUS_OK;
}

/* DynamicQuantizeLinear: u8 over [min(0, min x), max(0, max x)], every step in f32 as the
   ONNX reference computes it. */
static infer_status infer__dynamic_quantize_linear_ref(const infer__ctx *c) {
    const float *x = (const float *)c->in[0]->data;
    uint8_t *y = (uint8_t *)c->out[0]->data;
    size_t n = c->in[0]->n, k;
    float lo = 0, hi = 0, scale, zp0;
    double zp;
    for (k = 0; k < n; k++) {
        if (x[k] < lo) lo = x[k];
        if (x[k] > hi) hi = x[k];
    }
    scale = (hi == lo ? 1.0f : hi - lo) / 255.0f;
    zp0 = 0.0f - lo / scale;
    zp = nearbyint(zp0 < 0 ? 0.0 : zp0 > 255 ? 255.0 : (double)zp0);
    for (k = 0; k < n; k++) {
        float q = (float)nearbyint((double)(x[k] / scale)) + (float)zp;
        y[k] = (uint8_t)(q != q || q <= 0 ? 0 : q >= 255 ? 255 : (int)q);
    }
    if (c->out[1]) *(float *)c->out[1]->data = scale;
    if (c->out[2]) *(uint8_t *)c->out[2]->data = (uint8_t)zp;
    return INFER_STATUS_OK;
}

/* The real multiplier of an i32 sum, a_scale * b_scale / y_scale, computed in the scales'
   dtype as numpy does (f16 scales: f16 steps). */
static double infer__qmul(const infer__val *as, size_t ia, const infer__val *bs, size_t ib, const infer__val *ys,
                          size_t iy) {
    infer_dtype t = as->dtype == bs->dtype && bs->dtype == ys->dtype ? as->dtype : INFER_DTYPE_F32;
    double ab = infer__round_to(t, (double)infer__qscale(as, ia) * (double)infer__qscale(bs, ib));
    return infer__round_to(t, ab / (double)infer__qscale(ys, iy));
}

/* i32 sum s requantized: round_half_even(s * multiplier + y_zero_point), saturated (in
   double, as the ONNX reference computes i32 x f32). */
static void infer__requant(void *y, infer_dtype t, size_t k, int32_t s, double mul, int32_t yzp) {
    double d = (double)s * mul;
    d += (double)yzp;
    infer__qput(y, t, k, infer__qsat(d, 0, t == INFER_DTYPE_I8 ? -128 : 0, t == INFER_DTYPE_I8 ? 127 : 255));
}

/* MatMulInteger and QLinearMatMul: job = (batch matrix, row); i32 sums over k in unsigned
   arithmetic (wrapping as i32 does, without overflow), 256 columns at a time. */
#define INFER__QMM_COLS 256
static void infer__matmul_integer_job(void *arg, int64_t job) {
    const infer__ctx *c = (const infer__ctx *)arg;
    const infer__mm_p *p = &c->p->mm;
    int ql = c->node->op == INFER__OP_QLINEAR_MATMUL;
    const infer__val *a = c->in[0], *b = c->in[ql ? 3 : 1], *y = c->out[0];
    const infer__val *za = c->n_in > 2 ? c->in[2] : NULL, *zb = ql ? c->in[5] : c->n_in > 3 ? c->in[3] : NULL;
    int64_t t = job / (p->m ? p->m : 1), i = job % (p->m ? p->m : 1), oa = 0, ob = 0, rem = t, j0, j, kk;
    uint32_t acc[INFER__QMM_COLS];
    int d;
    for (d = p->n_batch - 1; d >= 0; d--) { /* batch matrix t's offsets in A and B (in matrices) */
        int64_t id = rem % p->batch[d];
        rem /= p->batch[d];
        oa += id * p->sa[d];
        ob += id * p->sb[d];
    }
    for (j0 = 0; j0 < p->n; j0 += INFER__QMM_COLS) {
        int64_t jn = INFER__MIN(INFER__QMM_COLS, p->n - j0);
        size_t arow = (size_t)((oa * p->m + i) * p->k), brow = (size_t)(ob * p->k * p->n);
        int32_t zav = za ? infer__q8(za->data, za->dtype, za->n == 1 ? 0 : (size_t)i) : 0;
        memset(acc, 0, sizeof acc);
        for (kk = 0; kk < p->k; kk++) {
            int32_t av = infer__q8(a->data, a->dtype, arow + (size_t)kk) - zav;
            size_t bo = brow + (size_t)(kk * p->n + j0);
            if (!av) continue;
            if (zb) {
                for (j = 0; j < jn; j++)
                    acc[j] += (uint32_t)(av * (infer__q8(b->data, b->dtype, bo + (size_t)j) -
                                               infer__q8(zb->data, zb->dtype, zb->n == 1 ? 0 : (size_t)(j0 + j))));
            } else if (b->dtype == INFER_DTYPE_I8) {
                const int8_t *bp = (const int8_t *)b->data + bo;
                for (j = 0; j < jn; j++) acc[j] += (uint32_t)(av * bp[j]);
            } else {
                const uint8_t *bp = (const uint8_t *)b->data + bo;
                for (j = 0; j < jn; j++) acc[j] += (uint32_t)(av * bp[j]);
            }
        }
        for (j = 0; j < jn; j++) {
            size_t k = (size_t)((t * p->m + i) * p->n + j0 + j);
            if (!ql) {
                ((int32_t *)y->data)[k] = (int32_t)acc[j];
            } else {
                double mul = infer__qmul(c->in[1], (size_t)i, c->in[4], (size_t)(j0 + j), c->in[6], (size_t)i);
                int32_t yzp = infer__q8(c->in[7]->data, c->in[7]->dtype, c->in[7]->n == 1 ? 0 : (size_t)i);
                infer__requant(y->data, y->dtype, k, (int32_t)acc[j], mul, yzp);
            }
        }
    }
}

static infer_status infer__matmul_integer_ref(const infer__ctx *c) {
    const infer__mm_p *p = &c->p->mm;
    int64_t rows = infer__prod(p->batch, 0, p->n_batch) * p->m;
    infer__parallel(c, infer__threads_for(c, (double)rows * (double)p->n * (double)p->k), rows,
                    infer__matmul_integer_job, (void *)c);
    return INFER_STATUS_OK;
}
static infer_status infer__qlinear_matmul_ref(const infer__ctx *c) { return infer__matmul_integer_ref(c); }

/* ConvInteger and QLinearConv: job = (batch n, output channel m), the direct convolution
   of infer__conv_ref_job with zero points subtracted (padding adds real zeros: nothing). */
static void infer__conv_integer_job(void *arg, int64_t job) {
    const infer__ctx *c = (const infer__ctx *)arg;
    const infer__conv_p *p = &c->p->conv;
    int ql = c->node->op == INFER__OP_QLINEAR_CONV;
    const infer__val *x = c->in[0], *w = c->in[ql ? 3 : 1];
    const infer__val *zx = c->n_in > 2 ? c->in[2] : NULL, *zw = ql ? c->in[5] : c->n_in > 3 ? c->in[3] : NULL;
    const infer__val *bias = ql && c->n_in > 8 ? c->in[8] : NULL;
    int64_t cg = p->c / p->group, mg = p->m / p->group;
    int64_t in_sz = p->in[0] * p->in[1] * p->in[2], out_sz = p->out[0] * p->out[1] * p->out[2];
    int64_t ksz = p->k[0] * p->k[1] * p->k[2];
    int64_t n = job / p->m, m = job % p->m, g = m / mg, ci, k0, k1, k2, o0, o1, o2, i;
    int32_t zxv = zx ? infer__q8(zx->data, zx->dtype, 0) : 0;
    int32_t zwv = zw ? infer__q8(zw->data, zw->dtype, zw->n == 1 ? 0 : (size_t)m) : 0;
    uint32_t *yp = (uint32_t *)(ql ? c->scratch : c->out[0]->data) + job * out_sz;
    for (i = 0; i < out_sz; i++) yp[i] = bias ? (uint32_t)((const int32_t *)bias->data)[m] : 0;
    for (ci = 0; ci < cg; ci++) {
        size_t xp = (size_t)((n * p->c + g * cg + ci) * in_sz), wp = (size_t)((m * cg + ci) * ksz);
        for (k0 = 0; k0 < p->k[0]; k0++)
            for (k1 = 0; k1 < p->k[1]; k1++)
                for (k2 = 0; k2 < p->k[2]; k2++) {
                    int32_t wv = infer__q8(w->data, w->dtype, wp + (size_t)((k0 * p->k[1] + k1) * p->k[2] + k2)) - zwv;
                    int64_t lo0, hi0, lo1, hi1, lo2, hi2;
                    if (!wv) continue;
                    infer__valid_range(p->out[0], p->in[0], p->s[0], p->pb[0], k0 * p->d[0], &lo0, &hi0);
                    infer__valid_range(p->out[1], p->in[1], p->s[1], p->pb[1], k1 * p->d[1], &lo1, &hi1);
                    infer__valid_range(p->out[2], p->in[2], p->s[2], p->pb[2], k2 * p->d[2], &lo2, &hi2);
                    for (o0 = lo0; o0 < hi0; o0++)
                        for (o1 = lo1; o1 < hi1; o1++) {
                            int64_t i0 = o0 * p->s[0] - p->pb[0] + k0 * p->d[0];
                            int64_t i1 = o1 * p->s[1] - p->pb[1] + k1 * p->d[1];
                            size_t xr = xp + (size_t)((i0 * p->in[1] + i1) * p->in[2] - p->pb[2] + k2 * p->d[2]);
                            uint32_t *yr = yp + (o0 * p->out[1] + o1) * p->out[2];
                            for (o2 = lo2; o2 < hi2; o2++)
                                yr[o2] += (uint32_t)(wv * (infer__q8(x->data, x->dtype, xr + (size_t)(o2 * p->s[2])) - zxv));
                        }
                }
    }
    if (ql) {
        double mul = infer__qmul(c->in[1], 0, c->in[4], (size_t)m, c->in[6], 0);
        int32_t yzp = infer__q8(c->in[7]->data, c->in[7]->dtype, 0);
        for (i = 0; i < out_sz; i++)
            infer__requant(c->out[0]->data, c->out[0]->dtype, (size_t)(job * out_sz + i), (int32_t)yp[i], mul, yzp);
    }
}

static infer_status infer__conv_integer_ref(const infer__ctx *c) {
    const infer__conv_p *p = &c->p->conv;
    int64_t out_sz = p->out[0] * p->out[1] * p->out[2], nm = p->n * p->m;
    double work = (double)nm * (double)out_sz * (double)(p->c / p->group * p->k[0] * p->k[1] * p->k[2]);
    infer__parallel(c, infer__threads_for(c, work), nm, infer__conv_integer_job, (void *)c);
    return INFER_STATUS_OK;
}
static infer_status infer__qlinear_conv_ref(const infer__ctx *c) { return infer__conv_integer_ref(c); }

#endif /* INFER__IMPLEMENTED */
#endif /* INFER_IMPLEMENTATION */

/*
MIT License

Copyright (c) 2026 the infer authors

Permission is hereby granted, free of charge, to any person obtaining a copy of this
software and associated documentation files (the "Software"), to deal in the Software
without restriction, including without limitation the rights to use, copy, modify,
merge, publish, distribute, sublicense, and/or sell copies of the Software, and to
permit persons to whom the Software is furnished to do so, subject to the following
conditions:

The above copyright notice and this permission notice shall be included in all copies
or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A
PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT
HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF
CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE
OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
*/
