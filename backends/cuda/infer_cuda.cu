/* backends/cuda/infer_cuda.cu - the CUDA backend's device half: the infer_backend table,
   device memory, the per-device upload cache of constants, host<->device copies through
   pinned staging, synchronisation and CUDA graph capture. The operators are in
   infer_cuda_ops.cu. See README.md in this folder for the design. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer_cuda.h"
#include "infer_cuda_impl.h"

#define INFER_CUDA_BLAS_WORK_BYTES ((size_t)32 << 20) /* cuBLAS's recommendation for Hopper */

infer_status infer_cuda_fail(char *err, size_t err_size, infer_status status, const char *fmt, ...) {
    va_list ap;
    if (err && err_size) {
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* The calling thread's current device is dev's (a session may move between threads). */
static cudaError_t infer_cuda_use(const infer_cuda_dev *dev) {
    int cur = -1;
    if (cudaGetDevice(&cur) == cudaSuccess && cur == dev->device) return cudaSuccess;
    return cudaSetDevice(dev->device);
}

/* -- the upload cache: constants uploaded once per (device, host pointer), counted -- */

typedef struct infer_cuda_upload {
    int device;
    const void *host;
    size_t bytes;
    void *dptr;
    void *half[2];  /* its f16 and bf16 copies (infer_cuda_upload_half), made when first asked */
    long refs;
} infer_cuda_upload;

static pthread_mutex_t infer_cuda_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static infer_cuda_upload *infer_cuda_cache;  /* [infer_cuda_cache_cap], the first _n live */
static size_t infer_cuda_cache_n, infer_cuda_cache_cap;

static const void *infer_cuda_upload_fn(void *d, const void *host, size_t bytes) {
    infer_cuda_dev *dev = (infer_cuda_dev *)d;
    void *p = NULL;
    size_t i;
    if (!host || infer_cuda_use(dev) != cudaSuccess) return NULL;
    pthread_mutex_lock(&infer_cuda_cache_lock);
    for (i = 0; i < infer_cuda_cache_n; i++) {
        infer_cuda_upload *u = &infer_cuda_cache[i];
        if (u->device == dev->device && u->host == host && u->bytes == bytes) {
            u->refs++;
            pthread_mutex_unlock(&infer_cuda_cache_lock);
            return u->dptr;
        }
    }
    if (infer_cuda_cache_n == infer_cuda_cache_cap) {
        size_t cap = infer_cuda_cache_cap ? 2 * infer_cuda_cache_cap : 64;
        infer_cuda_upload *t = (infer_cuda_upload *)realloc(infer_cuda_cache, cap * sizeof *t);
        if (!t) goto fail;
        infer_cuda_cache = t;
        infer_cuda_cache_cap = cap;
    }
    /* a synchronous copy from pageable memory: creation time only, once per weight */
    if (cudaMalloc(&p, bytes ? bytes : 1) != cudaSuccess) {
        p = NULL;
        goto fail;
    }
    if (bytes && cudaMemcpy(p, host, bytes, cudaMemcpyHostToDevice) != cudaSuccess) goto fail;
    infer_cuda_cache[infer_cuda_cache_n].device = dev->device;
    infer_cuda_cache[infer_cuda_cache_n].host = host;
    infer_cuda_cache[infer_cuda_cache_n].bytes = bytes;
    infer_cuda_cache[infer_cuda_cache_n].dptr = p;
    infer_cuda_cache[infer_cuda_cache_n].half[0] = infer_cuda_cache[infer_cuda_cache_n].half[1] = NULL;
    infer_cuda_cache[infer_cuda_cache_n].refs = 1;
    infer_cuda_cache_n++;
    pthread_mutex_unlock(&infer_cuda_cache_lock);
    return p;
fail:
    pthread_mutex_unlock(&infer_cuda_cache_lock);
    if (p) cudaFree(p);
    cudaGetLastError(); /* the error is reported as NULL; do not leave it sticky */
    return NULL;
}

static void infer_cuda_release_fn(void *d, const void *dptr) {
    infer_cuda_dev *dev = (infer_cuda_dev *)d;
    size_t i;
    if (!dptr) return;
    pthread_mutex_lock(&infer_cuda_cache_lock);
    for (i = 0; i < infer_cuda_cache_n; i++) {
        infer_cuda_upload *u = &infer_cuda_cache[i];
        if (u->device == dev->device && u->dptr == dptr) {
            if (--u->refs == 0) {
                infer_cuda_use(dev);
                cudaFree(u->dptr);
                if (u->half[0]) cudaFree(u->half[0]);
                if (u->half[1]) cudaFree(u->half[1]);
                infer_cuda_cache[i] = infer_cuda_cache[--infer_cuda_cache_n];
            }
            break;
        }
    }
    if (infer_cuda_cache_n == 0) { /* no upload left: no memory kept */
        free(infer_cuda_cache);
        infer_cuda_cache = NULL;
        infer_cuda_cache_cap = 0;
    }
    pthread_mutex_unlock(&infer_cuda_cache_lock);
}

/* The 16-bit copy, in dev->half's type, of n floats at the start of an uploaded constant
   at dptr (a weight): converted once, at the first ask (prepare, creation time), shared by
   every session on the device and freed with the upload. NULL when dptr is not an upload
   (an activation, converted on each run instead) or the copy cannot be made. */
const void *infer_cuda_upload_half(infer_cuda_dev *dev, const void *dptr, int64_t n) {
    size_t i, bytes = (size_t)n * 2;
    void *p = NULL;
    int h = dev->half == 2;
    if (!dev->half || n <= 0) return NULL;
    pthread_mutex_lock(&infer_cuda_cache_lock);
    for (i = 0; i < infer_cuda_cache_n; i++) {
        infer_cuda_upload *u = &infer_cuda_cache[i];
        if (u->device != dev->device || u->dptr != dptr || u->bytes < (size_t)n * sizeof(float)) continue;
        if (!u->half[h] && cudaMalloc(&p, bytes) == cudaSuccess) {
            infer_cuda_to_half(dev, p, (const float *)dptr, n);
            if (cudaStreamSynchronize(dev->stream) == cudaSuccess) u->half[h] = p;
            else cudaFree(p);
        }
        p = u->half[h];
        break;
    }
    pthread_mutex_unlock(&infer_cuda_cache_lock);
    cudaGetLastError();
    return p;
}

/* -- devices -- */

static int infer_cuda_device_count_fn(void *user) {
    int n = 0;
    (void)user;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); /* no driver or no device: clear the error */
        return 0;
    }
    return n;
}

int infer_cuda_device_count(void) { return infer_cuda_device_count_fn(NULL); }

static void infer_cuda_graph_drop(infer_cuda_dev *dev) {
    if (dev->graph_exec) cudaGraphExecDestroy(dev->graph_exec);
    dev->graph_exec = NULL;
}

static void infer_cuda_close_fn(void *d) {
    infer_cuda_dev *dev = (infer_cuda_dev *)d;
    if (!dev) return;
    infer_cuda_use(dev);
    if (dev->stream) cudaStreamSynchronize(dev->stream);
    infer_cuda_graph_drop(dev);
    if (dev->blas) cublasDestroy(dev->blas);
    if (dev->blas_work) cudaFree(dev->blas_work);
    if (dev->work) cudaFree(dev->work);
    if (dev->stage) cudaFreeHost(dev->stage);
    if (dev->bad_host) cudaFreeHost(dev->bad_host);
    if (dev->stream) cudaStreamDestroy(dev->stream);
    cudaGetLastError();
    free(dev);
}

static infer_status infer_cuda_open_fn(void *user, int device, void **out, char *err, size_t err_size) {
    infer_cuda_dev *dev;
    cudaError_t e;
    cublasStatus_t bs;
    int n = infer_cuda_device_count_fn(user);
    *out = NULL;
    if (device < 0 || device >= n)
        return infer_cuda_fail(err, err_size, INFER_STATUS_BACKEND, "no cuda device %d (device_count reports %d)", device, n);
    dev = (infer_cuda_dev *)calloc(1, sizeof *dev);
    if (!dev) return infer_cuda_fail(err, err_size, INFER_STATUS_OUT_OF_MEMORY, "cuda: out of host memory");
    dev->device = device;
    if ((e = cudaSetDevice(device)) != cudaSuccess || (e = cudaStreamCreateWithFlags(&dev->stream, cudaStreamNonBlocking)) ||
        (e = cudaMalloc(&dev->blas_work, INFER_CUDA_BLAS_WORK_BYTES))) {
        infer_cuda_fail(err, err_size, INFER_STATUS_BACKEND, "cuda device %d: %s", device, cudaGetErrorString(e));
        goto fail;
    }
    if ((bs = cublasCreate(&dev->blas)) != CUBLAS_STATUS_SUCCESS) dev->blas = NULL;
    if (bs != CUBLAS_STATUS_SUCCESS || (bs = cublasSetStream(dev->blas, dev->stream)) ||
        (bs = cublasSetWorkspace(dev->blas, dev->blas_work, INFER_CUDA_BLAS_WORK_BYTES))) {
        infer_cuda_fail(err, err_size, INFER_STATUS_BACKEND, "cuda device %d: cuBLAS: %s", device, cublasGetStatusString(bs));
        goto fail;
    }
    /* f32 stays f32 unless the session asks (set_precision): no TF32 tensor-core rounding, so
       results match the CPU within 1e-4 */
    cublasSetMathMode(dev->blas, CUBLAS_DEFAULT_MATH);
    dev->compute = CUBLAS_COMPUTE_32F;
    if (cudaHostAlloc((void **)&dev->bad_host, 2 * sizeof(long long), cudaHostAllocMapped) != cudaSuccess ||
        cudaHostGetDevicePointer((void **)&dev->bad_dev, dev->bad_host, 0) != cudaSuccess) {
        cudaGetLastError();
        if (dev->bad_host) cudaFreeHost(dev->bad_host);
        dev->bad_host = dev->bad_dev = NULL;
    } else {
        dev->bad_host[0] = dev->bad_host[1] = 0;
    }
    *out = dev;
    return INFER_STATUS_OK;
fail:
    infer_cuda_close_fn(dev);
    return INFER_STATUS_BACKEND;
}

static void *infer_cuda_alloc_fn(void *d, size_t bytes) {
    void *p = NULL;
    if (infer_cuda_use((infer_cuda_dev *)d) != cudaSuccess || cudaMalloc(&p, bytes ? bytes : 1) != cudaSuccess) {
        cudaGetLastError();
        return NULL;
    }
    return p; /* cudaMalloc aligns to 256 bytes */
}

static void infer_cuda_free_fn(void *d, void *p) {
    if (!p) return;
    infer_cuda_use((infer_cuda_dev *)d);
    cudaFree(p);
}

infer_status infer_cuda_work_reserve(infer_cuda_dev *dev, size_t bytes, char *err, size_t err_size) {
    void *p = NULL;
    cudaError_t e;
    if (bytes <= dev->work_bytes) return INFER_STATUS_OK;
    if ((e = cudaStreamSynchronize(dev->stream)) != cudaSuccess || (e = cudaMalloc(&p, bytes)) != cudaSuccess) {
        cudaGetLastError();
        return infer_cuda_fail(err, err_size, INFER_STATUS_OUT_OF_MEMORY, "cuda: %zu bytes of workspace: %s", bytes,
                               cudaGetErrorString(e));
    }
    if (dev->work) cudaFree(dev->work);
    infer_cuda_graph_drop(dev); /* a graph captured with the old workspace */
    dev->work = p;
    dev->work_bytes = bytes;
    return INFER_STATUS_OK;
}

/* -- copies through pinned staging -- */

static infer_status infer_cuda_sync_fn(void *d, char *err, size_t err_size) {
    infer_cuda_dev *dev = (infer_cuda_dev *)d;
    cudaError_t e;
    infer_cuda_use(dev);
    e = cudaStreamSynchronize(dev->stream);
    dev->stage_used = 0; /* every staged copy has landed */
    if (e != cudaSuccess) {
        cudaGetLastError();
        return infer_cuda_fail(err, err_size, INFER_STATUS_BACKEND, "cuda device %d: %s", dev->device, cudaGetErrorString(e));
    }
    if (dev->bad_host && ((volatile long long *)dev->bad_host)[0]) { /* bad data since the last sync */
        long long j = ((volatile long long *)dev->bad_host)[1];
        dev->bad_host[0] = dev->bad_host[1] = 0;
        return infer_cuda_fail(err, err_size, INFER_STATUS_INVALID_ARGUMENT,
                               "cuda Gather: index %lld is out of range for its axis", j);
    }
    return INFER_STATUS_OK;
}

/* A staging region of bytes for a copy enqueued now, or NULL (then the caller copies
   synchronously from pageable memory). Waits for the stream when the buffer is full. */
static unsigned char *infer_cuda_stage(infer_cuda_dev *dev, size_t bytes, char *err, size_t err_size, infer_status *st) {
    size_t want;
    void *p = NULL;
    *st = INFER_STATUS_OK;
    if (bytes <= dev->stage_bytes - dev->stage_used) {
        unsigned char *r = dev->stage + dev->stage_used;
        size_t room = dev->stage_bytes - dev->stage_used, step = (bytes + 255) / 256 * 256; /* keep regions aligned */
        dev->stage_used += step < room ? step : room;
        return r;
    }
    if ((*st = infer_cuda_sync_fn(dev, err, err_size))) return NULL;
    if (bytes <= dev->stage_bytes) {
        dev->stage_used = bytes;
        return dev->stage;
    }
    want = dev->stage_bytes ? 2 * dev->stage_bytes : (size_t)1 << 20;
    while (want < bytes) want *= 2;
    if (cudaHostAlloc(&p, want, cudaHostAllocDefault) != cudaSuccess) {
        cudaGetLastError();
        return NULL;
    }
    if (dev->stage) cudaFreeHost(dev->stage);
    dev->stage = (unsigned char *)p;
    dev->stage_bytes = want;
    dev->stage_used = bytes;
    return dev->stage;
}

/* One copy through staging: host -> device (to_device) returns once the bytes are staged
   and the copy enqueued; device -> host returns when they are on the host. */
static infer_status infer_cuda_copy(infer_cuda_dev *dev, void *dst, const void *src, size_t bytes, int to_device,
                                    char *err, size_t err_size) {
    unsigned char *s;
    infer_status st;
    cudaError_t e;
    if (!bytes) return INFER_STATUS_OK;
    infer_cuda_use(dev);
    s = infer_cuda_stage(dev, bytes, err, err_size, &st);
    if (st) return st;
    if (s && to_device) {
        memcpy(s, src, bytes);
        e = cudaMemcpyAsync(dst, s, bytes, cudaMemcpyHostToDevice, dev->stream);
    } else if (s) {
        e = cudaMemcpyAsync(s, src, bytes, cudaMemcpyDeviceToHost, dev->stream);
        if (e == cudaSuccess) e = cudaStreamSynchronize(dev->stream); /* the host reads it next */
        if (e == cudaSuccess) memcpy(dst, s, bytes);
        dev->stage_used = 0;
    } else { /* no pinned memory: after the stream's work, synchronously from pageable memory */
        e = cudaStreamSynchronize(dev->stream);
        if (e == cudaSuccess) e = cudaMemcpy(dst, src, bytes, to_device ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost);
    }
    if (e != cudaSuccess) {
        cudaGetLastError();
        return infer_cuda_fail(err, err_size, INFER_STATUS_BACKEND, "cuda copy %s (%zu bytes): %s", to_device ? "in" : "out",
                               bytes, cudaGetErrorString(e));
    }
    return INFER_STATUS_OK;
}

static infer_status infer_cuda_copy_in_fn(void *d, void *dst, const void *host, size_t bytes, char *err, size_t err_size) {
    return infer_cuda_copy((infer_cuda_dev *)d, dst, host, bytes, 1, err, err_size);
}

static infer_status infer_cuda_copy_out_fn(void *d, void *host, const void *src, size_t bytes, char *err, size_t err_size) {
    return infer_cuda_copy((infer_cuda_dev *)d, host, src, bytes, 0, err, err_size);
}

/* -- nodes -- */

static int infer_cuda_supports_fn(void *d, const infer_backend_op *op) {
    infer_cuda_dev *dev = (infer_cuda_dev *)d;
    if (infer_cuda_use(dev) != cudaSuccess) return 0; /* it may read constants (Slice, Reduce) */
    return infer_cuda_op_supports(dev, op);
}

static infer_status infer_cuda_prepare_fn(void *d, const infer_backend_op *op, void **state, char *err, size_t err_size) {
    infer_cuda_dev *dev = (infer_cuda_dev *)d;
    infer_cuda_use(dev);
    return infer_cuda_op_prepare(dev, op, state, err, err_size);
}

static void infer_cuda_unprepare_fn(void *d, void *state) {
    (void)d;
    infer_cuda_op_unprepare(state);
}

static infer_status infer_cuda_run_fn(void *d, const infer_backend_op *op, void *state, char *err, size_t err_size) {
    infer_cuda_dev *dev = (infer_cuda_dev *)d;
    infer_status st;
    cudaError_t e;
    if ((e = infer_cuda_use(dev)) != cudaSuccess)
        return infer_cuda_fail(err, err_size, INFER_STATUS_BACKEND, "cuda device %d: %s", dev->device, cudaGetErrorString(e));
    if (!(st = infer_cuda_op_run(dev, op, state, err, err_size)) && (e = cudaGetLastError()) != cudaSuccess)
        /* a launch that failed (a kernel's own errors show at sync) */
        st = infer_cuda_fail(err, err_size, INFER_STATUS_BACKEND, "cuda: %s", cudaGetErrorString(e));
    if (st && dev->capturing) dev->run_failed = 1;
    return st;
}

/* -- CUDA graphs: the first run of a plan is captured, later runs of it replay -- */

static int infer_cuda_graph_begin_fn(void *d, uint64_t plan_id) {
    infer_cuda_dev *dev = (infer_cuda_dev *)d;
    cudaStreamCaptureStatus cs = cudaStreamCaptureStatusNone;
    infer_cuda_use(dev);
    dev->capturing = dev->replayed = dev->run_failed = 0;
#if INFER_CUDA_NCCL
    if (dev->nccl) return 0; /* its collectives wait at a host barrier first: node by node */
#endif
    if (cudaStreamIsCapturing(dev->stream, &cs) == cudaSuccess && cs != cudaStreamCaptureStatusNone) {
        cudaGraph_t g = NULL; /* a capture a failed run left open */
        cudaStreamEndCapture(dev->stream, &g);
        if (g) cudaGraphDestroy(g);
        cudaGetLastError();
    }
    if (dev->graph_exec && dev->graph_plan == plan_id) {
        if (cudaGraphLaunch(dev->graph_exec, dev->stream) == cudaSuccess) {
            dev->replayed = 1;
            return 1;
        }
        cudaGetLastError();
        infer_cuda_graph_drop(dev);
        dev->graph_failed = plan_id + 1;
        return 0;
    }
    infer_cuda_graph_drop(dev); /* another plan: its graph's addresses and shapes are stale */
    dev->graph_plan = plan_id;
    if (dev->graph_failed == plan_id + 1) return 0;
    /* thread-local: other threads (sessions on other streams) may allocate meanwhile */
    if (cudaStreamBeginCapture(dev->stream, cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
        cudaGetLastError();
        dev->graph_failed = plan_id + 1;
        return 0;
    }
    dev->capturing = 1;
    return 0;
}

static infer_status infer_cuda_graph_end_fn(void *d, char *err, size_t err_size) {
    infer_cuda_dev *dev = (infer_cuda_dev *)d;
    cudaGraph_t g = NULL;
    cudaError_t e;
    infer_cuda_use(dev);
    if (dev->replayed || !dev->capturing) {
        dev->replayed = 0;
        return INFER_STATUS_OK;
    }
    dev->capturing = 0;
    e = cudaStreamEndCapture(dev->stream, &g);
    if (dev->run_failed) { /* an incomplete capture: dropped; the executor reports run()'s error */
        dev->run_failed = 0;
        if (g) cudaGraphDestroy(g);
        cudaGetLastError();
        return INFER_STATUS_OK;
    }
    /* the captured work has not run yet: instantiate the graph, then launch it for this run */
    if (e == cudaSuccess) e = cudaGraphInstantiate(&dev->graph_exec, g, 0);
    if (g) cudaGraphDestroy(g);
    if (e == cudaSuccess) e = cudaGraphLaunch(dev->graph_exec, dev->stream);
    if (e != cudaSuccess) {
        cudaGetLastError();
        infer_cuda_graph_drop(dev);
        dev->graph_failed = dev->graph_plan + 1; /* later runs of this plan go node by node */
        return infer_cuda_fail(err, err_size, INFER_STATUS_BACKEND, "cuda graph capture: %s", cudaGetErrorString(e));
    }
    return INFER_STATUS_OK;
}

/* The GEMMs' compute type: f32 tensors in and out, inputs rounded to the precision on the
   tensor cores, sums in f32 (cublasGemmEx's FAST compute types); at F16 and BF16 the larger
   GEMMs convert their inputs themselves (dev->half). */
static infer_status infer_cuda_set_precision_fn(void *d, infer_precision p, char *err, size_t err_size) {
    infer_cuda_dev *dev = (infer_cuda_dev *)d;
    dev->half = p == INFER_PRECISION_F16 ? 1 : p == INFER_PRECISION_BF16 ? 2 : 0;
    switch (p) {
    case INFER_PRECISION_F32: dev->compute = CUBLAS_COMPUTE_32F; break;
    case INFER_PRECISION_TF32: dev->compute = CUBLAS_COMPUTE_32F_FAST_TF32; break;
    case INFER_PRECISION_F16: dev->compute = CUBLAS_COMPUTE_32F_FAST_16F; break;
    case INFER_PRECISION_BF16: dev->compute = CUBLAS_COMPUTE_32F_FAST_16BF; break;
    default: return infer_cuda_fail(err, err_size, INFER_STATUS_UNSUPPORTED, "unknown precision %d", (int)p);
    }
    return INFER_STATUS_OK;
}

/* -- registration -- */

infer_status infer_cuda_register(void) {
    infer_backend b;
    memset(&b, 0, sizeof b);
    b.name = "cuda";
    b.device_count = infer_cuda_device_count_fn;
    b.open = infer_cuda_open_fn;
    b.close = infer_cuda_close_fn;
    b.alloc = infer_cuda_alloc_fn;
    b.free = infer_cuda_free_fn;
    b.upload = infer_cuda_upload_fn;
    b.release = infer_cuda_release_fn;
    b.copy_in = infer_cuda_copy_in_fn;
    b.copy_out = infer_cuda_copy_out_fn;
    b.supports = infer_cuda_supports_fn;
    b.prepare = infer_cuda_prepare_fn;
    b.unprepare = infer_cuda_unprepare_fn;
    b.run = infer_cuda_run_fn;
    b.sync = infer_cuda_sync_fn;
    b.graph_begin = infer_cuda_graph_begin_fn;
    b.graph_end = infer_cuda_graph_end_fn;
    b.set_precision = infer_cuda_set_precision_fn;
    infer_cuda_comm_register(&b);
    return infer_register_backend(&b);
}
