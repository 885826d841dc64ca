/* backends/cuda/infer_cuda_impl.h - what infer_cuda.cu (the device: memory, uploads,
   copies, graphs) and infer_cuda_ops.cu (the operators) share. Private to backends/cuda. */
#ifndef INFER_CUDA_IMPL_H
#define INFER_CUDA_IMPL_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

#if INFER_CUDA_NCCL /* make cuda defines it where the toolkit has NCCL */
#include <nccl.h>
#endif

#include "../../infer.h"
#ifndef INFER_HAVE_BACKEND_API
#error "infer.h lacks the device-backend interface (INFER_HAVE_BACKEND_API)"
#endif

/* Kernel launches: kernel<<<grid, block, 0, stream>>>(args) written as
   INFER_CUDA_LAUNCH(kernel, grid, block, stream)(args), so that tests/cuda_emu can run the
   backend on the host (it defines the macro first). */
#ifndef INFER_CUDA_LAUNCH
#define INFER_CUDA_LAUNCH(kernel, grid, block, stream) kernel<<<(grid), (block), 0, (stream)>>>
#endif

/* One open device: one per session (infer_backend.open). Runs are serialised on its one
   stream; the cuBLAS handle, the staging buffer and the workspace belong to it alone. */
typedef struct infer_cuda_dev {
    int device;
    cudaStream_t stream;
    cublasHandle_t blas;
    void *blas_work;          /* cuBLAS workspace (set once, so graph capture never allocates) */
    /* pinned host staging for copy_in/copy_out: [stage_bytes]; stage_used bytes of it hold
       copies enqueued since the last synchronisation (a region is reused only after one) */
    unsigned char *stage;
    size_t stage_bytes, stage_used;
    /* op scratch (im2col columns): [work_bytes], grown by prepare, shared by the nodes
       (they run one after another on the stream) */
    void *work;
    size_t work_bytes;
    /* CUDA graph of a whole run: graph_plan is the plan it was captured for */
    cudaGraphExec_t graph_exec;
    uint64_t graph_plan;
    int capturing;            /* 1 between graph_begin and graph_end of a capturing run */
    int replayed;             /* 1 between graph_begin and graph_end of a replayed run */
    int run_failed;           /* a run() failed while capturing: graph_end drops the capture */
    uint64_t graph_failed;    /* plan id + 1 whose capture failed (it then runs node by node) */
    cublasComputeType_t compute; /* the GEMMs' (infer_session_options.precision): CUBLAS_COMPUTE_32F,
                                    or _FAST_TF32 / _FAST_16F / _FAST_16BF (tensor cores) */
    /* a kernel's report of bad data, in mapped pinned memory (the kernel writes it, the host
       reads it after each sync): [0] 1 when a Gather index was out of range, [1] the index.
       NULL where mapped memory cannot be had (the kernels then write 0 silently) */
    long long *bad_host, *bad_dev;
    int half;                 /* precision F16 (1) or BF16 (2): the larger GEMMs take their inputs
                                 converted to that type in the workspace (cuBLAS's FAST_16F on f32
                                 inputs runs TF32 kernels at half the f16 rate); else 0 */
#if INFER_CUDA_NCCL
    ncclComm_t nccl;          /* tensor parallelism: this rank's NCCL communicator (comm_attach), or NULL */
#endif
    const infer_comm *host_comm; /* with nccl: the rank's host communicator (its barrier) */
} infer_cuda_dev;

/* Formats into err (err_size bytes) and returns status. */
infer_status infer_cuda_fail(char *err, size_t err_size, infer_status status, const char *fmt, ...);
/* An uploaded weight's 16-bit copy (precision F16/BF16), made once; NULL: none. */
const void *infer_cuda_upload_half(infer_cuda_dev *dev, const void *dptr, int64_t n);
/* x [n] f32 -> y [n] in dev->half's 16-bit type, on the stream (infer_cuda_ops.cu) */
void infer_cuda_to_half(infer_cuda_dev *dev, void *y, const float *x, int64_t n);
/* Grows dev->work to at least bytes (prepare only: never during a run). */
infer_status infer_cuda_work_reserve(infer_cuda_dev *dev, size_t bytes, char *err, size_t err_size);

/* infer_cuda_comm.cu: device collectives (NCCL) for tensor parallelism in one process */
void infer_cuda_comm_register(infer_backend *b);  /* fills comm_create/attach/destroy (NULL without NCCL) */
int infer_cuda_coll_supports(const infer_cuda_dev *dev, const infer_backend_op *op);
size_t infer_cuda_coll_work(const infer_backend_op *op); /* workspace bytes it needs */
infer_status infer_cuda_coll_run(infer_cuda_dev *dev, const infer_backend_op *op, char *err, size_t err_size);

/* infer_cuda_ops.cu: the operator half of the backend table */
int infer_cuda_op_supports(infer_cuda_dev *dev, const infer_backend_op *op);
infer_status infer_cuda_op_prepare(infer_cuda_dev *dev, const infer_backend_op *op, void **state, char *err,
                                   size_t err_size);
void infer_cuda_op_unprepare(void *state);
infer_status infer_cuda_op_run(infer_cuda_dev *dev, const infer_backend_op *op, void *state, char *err,
                               size_t err_size);

#endif
