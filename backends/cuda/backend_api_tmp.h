/* backends/cuda/backend_api_tmp.h - a temporary copy of the device backend interface
   (/work/wt/backend_api.md), for building this backend against an infer.h that does not
   have it yet. The CUDA sources include it only when infer.h lacks the interface, which
   infer.h says by defining INFER_HAVE_BACKEND_API next to its declarations. Delete this
   file once infer.h has them. */
#ifndef INFER_CUDA_BACKEND_API_TMP_H
#define INFER_CUDA_BACKEND_API_TMP_H
#ifndef INFER_HAVE_BACKEND_API
#define INFER_HAVE_BACKEND_API 1
#define INFER_CUDA_BACKEND_API_TMP 1 /* backend_api_stub.c defines weak stand-ins */

/* ---- device backends: a device other than the CPU (backends/cuda registers "cuda") ---- */

/* One node as a backend sees it. Tensor data are device pointers (the session's device
   arena, or a constant uploaded with upload()); an absent optional input has data NULL
   and n_dims 0. Output dtype and dims are already inferred. */
typedef struct infer_backend_op {
    const char *op_type;         /* the runtime's op type, e.g. "MatMul", "Conv", "Attention" */
    const char *name;            /* the node's name */
    size_t n_inputs, n_outputs;
    const infer_tensor *inputs;
    const infer_tensor *outputs;
    const void *node;            /* opaque: for infer_backend_attr_* */
} infer_backend_op;

/* The node's attributes (the runtime's names, including fused ones such as "activation").
   _ints / _floats return the count (may exceed cap; copies min(count, cap)), or -1 when
   the attribute is absent or of another type. */
INFER_API int64_t infer_backend_attr_int(const infer_backend_op *op, const char *name, int64_t def);
INFER_API float infer_backend_attr_float(const infer_backend_op *op, const char *name, float def);
INFER_API const char *infer_backend_attr_string(const infer_backend_op *op, const char *name, const char *def);
INFER_API long infer_backend_attr_ints(const infer_backend_op *op, const char *name, int64_t *out, size_t cap);
INFER_API long infer_backend_attr_floats(const infer_backend_op *op, const char *name, float *out, size_t cap);

/* A backend: every call gets the `dev` handle open() made (one per session). Calls that
   fail write a message (no newline) into err (err_size bytes) and return non-OK; the
   session reports it with the node. */
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
    /* 1: run() takes this node (dtypes, attributes, ranks it handles); 0: it runs on the CPU */
    int (*supports)(void *dev, const infer_backend_op *op);
    /* per node, at session creation (after upload): descriptors, workspaces; *state is
       handed to run(). May be NULL (no state). */
    infer_status (*prepare)(void *dev, const infer_backend_op *op, void **state, char *err, size_t err_size);
    void (*unprepare)(void *dev, void *state);
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
       same arena addresses for a plan. */
    int (*graph_begin)(void *dev, uint64_t plan_id);
    infer_status (*graph_end)(void *dev, char *err, size_t err_size);
} infer_backend;

/* Registers a backend (the table is copied; at most 8; a second one of the same name
   replaces the first). Thread-safe with respect to itself; register before creating
   sessions that ask for it. */
INFER_API infer_status infer_register_backend(const infer_backend *b);

#endif
#endif
