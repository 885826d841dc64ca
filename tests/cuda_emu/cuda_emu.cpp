/* tests/cuda_emu/cuda_emu.cpp - the host emulation of the CUDA runtime, cuBLAS and NCCL
   calls backends/cuda makes (see cuda_runtime.h). Two emulated devices (tensor parallelism
   over distinct devices takes NCCL's path, over three or more ranks the host's);
   CUDA_EMU_DEVICES=N in the environment emulates N, 0 none. Sessions may run on several
   threads at once (tensor-parallel ranks): one grid runs at a time. At exit it prints how
   many kernels and GEMMs ran (replays included), how many graphs were launched and how
   many NCCL collectives ran: a log shows that the device path ran. */
#include <ucontext.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "cublas_v2.h"
#include "cuda_bf16.h"
#include "cuda_fp16.h"
#include "nccl.h"

dim3 threadIdx, blockIdx, blockDim, gridDim;
static std::atomic<int> cuda_emu_launches, cuda_emu_graphs, cuda_emu_collectives;
static std::mutex cuda_emu_grid_mu; /* the block scheduler below is one, shared */
static thread_local int cuda_emu_device;

/* -- grids: the threads of a block are ucontexts, run in turn; a barrier yields -- */

#define CUDA_EMU_STACK (64 * 1024)
#define CUDA_EMU_MAX_THREADS 1024
static ucontext_t cuda_emu_sched;
static std::vector<ucontext_t> cuda_emu_ctx;
static std::vector<char> cuda_emu_stacks;
static std::vector<int> cuda_emu_done;
static unsigned cuda_emu_cur;
static const std::function<void()> *cuda_emu_fn;
static float cuda_emu_slot[CUDA_EMU_MAX_THREADS]; /* warp shuffles */
static int cuda_emu_or;

void cuda_emu_enqueue(cudaStream_t s, std::function<void()> f) {
    if (s && s->capturing) s->captured.push_back(std::move(f));
    else f();
}

static void cuda_emu_thread() {
    (*cuda_emu_fn)();
    cuda_emu_done[cuda_emu_cur] = 1; /* uc_link returns to the scheduler */
}

/* A barrier: back to the scheduler, which runs every other live thread of the block up to
   its next barrier (or its end) before this one goes on. A thread that has returned no
   longer takes part, which holds for the kernels here: they return early only before any
   barrier, or a whole warp at a time where only warp shuffles follow. */
static void cuda_emu_yield() {
    unsigned me = cuda_emu_cur;
    swapcontext(&cuda_emu_ctx[me], &cuda_emu_sched);
    threadIdx = dim3(me, 0, 0);
}

void cuda_emu_grid(dim3 g, dim3 b, const std::function<void()> &f) {
    std::lock_guard<std::mutex> hold(cuda_emu_grid_mu);
    unsigned nt = b.x * b.y * b.z, x, y, z, t;
    if (b.x % 32 || b.y != 1 || b.z != 1 || nt > CUDA_EMU_MAX_THREADS) {
        fprintf(stderr, "cuda_emu: block %u x %u x %u is not emulated (1-D, whole warps)\n", b.x, b.y, b.z);
        abort();
    }
    cuda_emu_launches++;
    blockDim = b, gridDim = g;
    cuda_emu_ctx.resize(nt);
    cuda_emu_done.assign(nt, 0);
    cuda_emu_stacks.resize((size_t)nt * CUDA_EMU_STACK);
    cuda_emu_fn = &f;
    for (z = 0; z < g.z; z++)
        for (y = 0; y < g.y; y++)
            for (x = 0; x < g.x; x++) {
                int alive = 1;
                blockIdx = dim3(x, y, z);
                for (t = 0; t < nt; t++) {
                    getcontext(&cuda_emu_ctx[t]);
                    cuda_emu_ctx[t].uc_stack.ss_sp = &cuda_emu_stacks[(size_t)t * CUDA_EMU_STACK];
                    cuda_emu_ctx[t].uc_stack.ss_size = CUDA_EMU_STACK;
                    cuda_emu_ctx[t].uc_link = &cuda_emu_sched;
                    makecontext(&cuda_emu_ctx[t], cuda_emu_thread, 0);
                    cuda_emu_done[t] = 0;
                }
                while (alive) {
                    alive = 0;
                    for (t = 0; t < nt; t++)
                        if (!cuda_emu_done[t]) {
                            cuda_emu_cur = t;
                            threadIdx = dim3(t, 0, 0);
                            swapcontext(&cuda_emu_sched, &cuda_emu_ctx[t]);
                            if (!cuda_emu_done[t]) alive = 1;
                        }
                }
            }
}

float __shfl_xor_sync(unsigned mask, float v, int lane_mask) {
    unsigned t = threadIdx.x;
    float r;
    (void)mask;
    cuda_emu_slot[t] = v;
    cuda_emu_yield(); /* every lane has written */
    r = cuda_emu_slot[(t & ~31u) | ((t & 31u) ^ (unsigned)lane_mask)];
    cuda_emu_yield(); /* every lane has read */
    return r;
}

void __syncthreads() { cuda_emu_yield(); }

int __syncthreads_or(int predicate) {
    int r;
    cuda_emu_yield();
    if (threadIdx.x == 0) cuda_emu_or = 0;
    cuda_emu_yield();
    if (predicate) cuda_emu_or = 1;
    cuda_emu_yield();
    r = cuda_emu_or;
    cuda_emu_yield();
    return r;
}

/* -- runtime -- */

cudaError_t cudaGetDeviceCount(int *n) {
    const char *e = getenv("CUDA_EMU_DEVICES");
    *n = e ? atoi(e) : 2;
    return cudaSuccess;
}
cudaError_t cudaGetDevice(int *d) {
    *d = cuda_emu_device;
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int d) {
    int n;
    cudaGetDeviceCount(&n);
    if (d < 0 || d >= n) return cudaErrorInvalidValue;
    cuda_emu_device = d;
    return cudaSuccess;
}
cudaError_t cudaGetLastError() { return cudaSuccess; }
const char *cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : "cuda_emu: invalid call"; }
cudaError_t cudaMalloc(void **p, size_t n) {
    *p = aligned_alloc(256, (n + 255) / 256 * 256);
    if (*p) memset(*p, 0xff, n);
    return *p ? cudaSuccess : cudaErrorInvalidValue;
}
cudaError_t cudaFree(void *p) {
    free(p);
    return cudaSuccess;
}
cudaError_t cudaHostAlloc(void **p, size_t n, unsigned flags) {
    (void)flags;
    *p = malloc(n);
    return *p ? cudaSuccess : cudaErrorInvalidValue;
}
cudaError_t cudaFreeHost(void *p) {
    free(p);
    return cudaSuccess;
}
cudaError_t cudaHostGetDevicePointer(void **d, void *h, unsigned flags) { /* one memory: the same address */
    (void)flags;
    *d = h;
    return h ? cudaSuccess : cudaErrorInvalidValue;
}
cudaError_t cudaMemcpy(void *d, const void *s, size_t n, cudaMemcpyKind k) {
    (void)k;
    memcpy(d, s, n);
    return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, cudaMemcpyKind k, cudaStream_t st) {
    (void)k;
    cuda_emu_enqueue(st, [=]() { memcpy(d, s, n); });
    return cudaSuccess;
}
cudaError_t cudaMemcpy2DAsync(void *d, size_t dpitch, const void *s, size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind k, cudaStream_t st) {
    (void)k;
    if (width > dpitch || width > spitch) return cudaErrorInvalidValue;
    cuda_emu_enqueue(st, [=]() {
        size_t r;
        for (r = 0; r < height; r++) memcpy((char *)d + r * dpitch, (const char *)s + r * spitch, width);
    });
    return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void *d, int v, size_t n, cudaStream_t st) {
    cuda_emu_enqueue(st, [=]() { memset(d, v, n); });
    return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags) {
    (void)flags;
    *s = new cuda_emu_stream();
    return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
    delete s;
    return cudaSuccess;
}
/* synchronising a capturing stream is an error on a GPU too */
cudaError_t cudaStreamSynchronize(cudaStream_t s) { return s->capturing ? cudaErrorStreamCaptureUnsupported : cudaSuccess; }
cudaError_t cudaStreamIsCapturing(cudaStream_t s, cudaStreamCaptureStatus *c) {
    *c = s->capturing ? cudaStreamCaptureStatusActive : cudaStreamCaptureStatusNone;
    return cudaSuccess;
}
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode m) {
    (void)m;
    if (s->capturing) return cudaErrorInvalidValue;
    s->capturing = 1;
    s->captured.clear();
    return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g) {
    if (!s->capturing) return cudaErrorInvalidValue;
    s->capturing = 0;
    *g = new cuda_emu_work(std::move(s->captured));
    s->captured.clear();
    return cudaSuccess;
}
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *e, cudaGraph_t g, unsigned long long flags) {
    (void)flags;
    *e = new cuda_emu_work(*g);
    return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t e, cudaStream_t s) {
    cuda_emu_graphs++;
    cuda_emu_enqueue(s, [=]() {
        for (auto &f : *e) f();
    });
    return cudaSuccess;
}
cudaError_t cudaGraphDestroy(cudaGraph_t g) {
    delete g;
    return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t e) {
    delete e;
    return cudaSuccess;
}

/* -- cuBLAS: column-major C = alpha op(A) op(B) + beta C (C not read when beta is 0) -- */

cublasStatus_t cublasCreate(cublasHandle_t *h) {
    *h = new cuda_emu_blas();
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t h) {
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) {
    h->stream = s;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetWorkspace(cublasHandle_t h, void *w, size_t n) {
    (void)h, (void)w, (void)n;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m) {
    (void)h, (void)m;
    return CUBLAS_STATUS_SUCCESS;
}
const char *cublasGetStatusString(cublasStatus_t s) { return s ? "cuda_emu: invalid GEMM arguments" : "success"; }

/* x rounded to nearest (ties to even) with mant explicit mantissa bits; f16 (max_exp 15)
   also has subnormals below 2^-14 and overflows to inf */
static float cuda_emu_round(float x, cublasComputeType_t c) {
    int mant = c == CUBLAS_COMPUTE_32F_FAST_16BF ? 7 : 10, e;
    double f;
    if (c == CUBLAS_COMPUTE_32F || !std::isfinite(x) || x == 0.0f) return x;
    f = std::frexp((double)x, &e); /* x = f 2^e, 0.5 <= |f| < 1 */
    if (c == CUBLAS_COMPUTE_32F_FAST_16F && e - 1 < -14) mant -= -14 - (e - 1); /* subnormal: fewer bits */
    f = std::ldexp(std::nearbyint(std::ldexp(f, mant + 1)), e - mant - 1);
    if (c == CUBLAS_COMPUTE_32F_FAST_16F && std::fabs(f) > 65504.0) return x < 0 ? -INFINITY : INFINITY;
    return (float)f;
}

/* element i of a GEMM operand of type t, as the compute type c takes it */
static float cuda_emu_elem(const void *p, size_t i, cudaDataType t, cublasComputeType_t c) {
    if (t == CUDA_R_16F) return __half2float(((const __half *)p)[i]);
    if (t == CUDA_R_16BF) return __bfloat162float(((const __nv_bfloat16 *)p)[i]);
    return cuda_emu_round(((const float *)p)[i], c);
}

static void cuda_emu_gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha, const void *A,
                          int lda, const void *B, int ldb, float beta, float *C, int ldc, cudaDataType t,
                          cublasComputeType_t c) {
    int i, j, l;
    for (j = 0; j < n; j++)
        for (i = 0; i < m; i++) {
            double s = 0;
            for (l = 0; l < k; l++)
                s += (double)cuda_emu_elem(A, ta ? l + (size_t)i * lda : i + (size_t)l * lda, t, c) *
                     cuda_emu_elem(B, tb ? j + (size_t)l * ldb : l + (size_t)j * ldb, t, c);
            C[i + (size_t)j * ldc] = (float)(alpha * s + (beta != 0 ? beta * C[i + (size_t)j * ldc] : 0.0));
        }
}

/* BLAS's checks: sizes >= 0, each leading dimension >= max(1, rows as stored) */
static int cuda_emu_gemm_bad(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, int lda, int ldb, int ldc) {
    int ra = ta ? k : m, rb = tb ? n : k;
    if (m < 0 || n < 0 || k < 0 || lda < (ra > 1 ? ra : 1) || ldb < (rb > 1 ? rb : 1) || ldc < (m > 1 ? m : 1)) {
        fprintf(stderr, "cuda_emu: GEMM m %d n %d k %d lda %d ldb %d ldc %d transa %d transb %d\n", m, n, k, lda, ldb, ldc,
                (int)ta, (int)tb);
        return 1;
    }
    return 0;
}

static int cuda_emu_compute_bad(cudaDataType at, cudaDataType bt, cudaDataType ct, cublasComputeType_t c) {
    if (at != bt || ct != CUDA_R_32F) return 1;
    if (at == CUDA_R_16F || at == CUDA_R_16BF) return c != CUBLAS_COMPUTE_32F;
    return at != CUDA_R_32F || (c != CUBLAS_COMPUTE_32F && c != CUBLAS_COMPUTE_32F_FAST_16F &&
                                c != CUBLAS_COMPUTE_32F_FAST_16BF && c != CUBLAS_COMPUTE_32F_FAST_TF32);
}

/* an operand's element size */
static size_t cuda_emu_size(cudaDataType t) { return t == CUDA_R_32F ? 4 : 2; }

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const void *alpha, const void *A, cudaDataType at, int lda, const void *B, cudaDataType bt,
                            int ldb, const void *beta, void *C, cudaDataType ct, int ldc, cublasComputeType_t compute,
                            cublasGemmAlgo_t) {
    float al = *(const float *)alpha, be = *(const float *)beta; /* host pointer mode: read at the call */
    float *c = (float *)C;
    if (cuda_emu_compute_bad(at, bt, ct, compute)) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (cuda_emu_gemm_bad(ta, tb, m, n, k, lda, ldb, ldc)) return CUBLAS_STATUS_INVALID_VALUE;
    cuda_emu_enqueue(h->stream, [=]() {
        cuda_emu_launches++;
        cuda_emu_gemm(ta, tb, m, n, k, al, A, lda, B, ldb, be, c, ldc, at, compute);
    });
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                          int k, const void *alpha, const void *A, cudaDataType at, int lda,
                                          long long stride_a, const void *B, cudaDataType bt, int ldb, long long stride_b,
                                          const void *beta, void *C, cudaDataType ct, int ldc, long long stride_c,
                                          int batch, cublasComputeType_t compute, cublasGemmAlgo_t) {
    float al = *(const float *)alpha, be = *(const float *)beta;
    const char *a = (const char *)A, *b = (const char *)B;
    float *c = (float *)C;
    size_t es = cuda_emu_size(at);
    if (cuda_emu_compute_bad(at, bt, ct, compute)) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (cuda_emu_gemm_bad(ta, tb, m, n, k, lda, ldb, ldc) || batch < 0) return CUBLAS_STATUS_INVALID_VALUE;
    cuda_emu_enqueue(h->stream, [=]() {
        int t;
        cuda_emu_launches++;
        for (t = 0; t < batch; t++)
            cuda_emu_gemm(ta, tb, m, n, k, al, a + t * stride_a * es, lda, b + t * stride_b * es, ldb, be,
                          c + t * stride_c, ldc, at, compute);
    });
    return CUBLAS_STATUS_SUCCESS;
}

/* -- NCCL: the ranks of a group meet at a barrier (a generation count) per step -- */

struct cuda_emu_nccl_group {
    std::mutex mu;
    std::condition_variable cv;
    int n, arrived, live;
    unsigned gen;
    std::vector<const float *> send;
    std::vector<float *> recv;
};
struct cuda_emu_nccl {
    cuda_emu_nccl_group *g;
    int rank, device;
};

static void cuda_emu_nccl_barrier(cuda_emu_nccl_group *g) {
    std::unique_lock<std::mutex> lk(g->mu);
    unsigned gen = g->gen;
    if (++g->arrived == g->n) {
        g->arrived = 0;
        g->gen++;
        g->cv.notify_all();
    } else {
        g->cv.wait(lk, [&] { return g->gen != gen; });
    }
}

ncclResult_t ncclCommInitAll(ncclComm_t *comms, int n, const int *devices) {
    int count, r, k;
    cudaGetDeviceCount(&count);
    if (n < 1) return ncclInvalidArgument;
    for (r = 0; r < n; r++) {
        if (devices[r] < 0 || devices[r] >= count) return ncclInvalidArgument;
        for (k = 0; k < r; k++)
            if (devices[k] == devices[r]) return ncclInvalidArgument; /* NCCL: duplicate GPU */
    }
    cuda_emu_nccl_group *g = new cuda_emu_nccl_group();
    g->n = g->live = n;
    g->arrived = 0;
    g->gen = 0;
    g->send.assign((size_t)n, nullptr);
    g->recv.assign((size_t)n, nullptr);
    for (r = 0; r < n; r++) comms[r] = new cuda_emu_nccl{g, r, devices[r]};
    return ncclSuccess;
}
ncclResult_t ncclCommDestroy(ncclComm_t c) {
    cuda_emu_nccl_group *g = c->g;
    int last;
    {
        std::lock_guard<std::mutex> lk(g->mu);
        last = --g->live == 0;
    }
    delete c;
    if (last) delete g;
    return ncclSuccess;
}
ncclResult_t ncclCommCount(const ncclComm_t c, int *n) {
    *n = c->g->n;
    return ncclSuccess;
}
ncclResult_t ncclCommCuDevice(const ncclComm_t c, int *d) {
    *d = c->device;
    return ncclSuccess;
}
ncclResult_t ncclCommUserRank(const ncclComm_t c, int *r) {
    *r = c->rank;
    return ncclSuccess;
}
const char *ncclGetErrorString(ncclResult_t r) { return r == ncclSuccess ? "no error" : "cuda_emu: invalid NCCL call"; }
ncclResult_t ncclGroupStart() { return ncclSuccess; }
ncclResult_t ncclGroupEnd() { return ncclSuccess; }

/* Every rank posts its buffers, waits for the others, does its share (step(rank)), and
   waits again before any buffer is reused. */
static ncclResult_t cuda_emu_collective(const void *send, void *recv, ncclDataType_t t, ncclComm_t c, cudaStream_t s,
                                        std::function<void(cuda_emu_nccl_group *, int)> step) {
    int cur;
    if (t != ncclFloat) return ncclInvalidArgument;
    cudaGetDevice(&cur);
    if (cur != c->device) return ncclInvalidArgument; /* the stream is on another device */
    cuda_emu_enqueue(s, [=]() {
        cuda_emu_nccl_group *g = c->g;
        g->send[(size_t)c->rank] = (const float *)send;
        g->recv[(size_t)c->rank] = (float *)recv;
        cuda_emu_nccl_barrier(g);
        step(g, c->rank);
        cuda_emu_nccl_barrier(g);
        if (c->rank == 0) cuda_emu_collectives++;
    });
    return ncclSuccess;
}

ncclResult_t ncclAllReduce(const void *send, void *recv, size_t count, ncclDataType_t t, ncclRedOp_t op, ncclComm_t c,
                           cudaStream_t s) {
    if (op != ncclSum) return ncclInvalidArgument;
    return cuda_emu_collective(send, recv, t, c, s, [=](cuda_emu_nccl_group *g, int rank) {
        /* rank r sums its slice of the elements over every rank and writes it to them all */
        size_t n = (size_t)g->n, lo = count * (size_t)rank / n, hi = count * (size_t)(rank + 1) / n, i, k;
        for (i = lo; i < hi; i++) {
            float v = g->send[0][i];
            for (k = 1; k < n; k++) v += g->send[k][i];
            for (k = 0; k < n; k++) g->recv[k][i] = v;
        }
    });
}
ncclResult_t ncclAllGather(const void *send, void *recv, size_t count, ncclDataType_t t, ncclComm_t c, cudaStream_t s) {
    return cuda_emu_collective(send, recv, t, c, s, [=](cuda_emu_nccl_group *g, int rank) {
        int k;
        for (k = 0; k < g->n; k++)
            if (g->recv[(size_t)rank] + (size_t)k * count != g->send[(size_t)k])
                memcpy(g->recv[(size_t)rank] + (size_t)k * count, g->send[(size_t)k], count * sizeof(float));
    });
}
ncclResult_t ncclBroadcast(const void *send, void *recv, size_t count, ncclDataType_t t, int root, ncclComm_t c,
                           cudaStream_t s) {
    if (root < 0 || root >= c->g->n) return ncclInvalidArgument;
    return cuda_emu_collective(send, recv, t, c, s, [=](cuda_emu_nccl_group *g, int rank) {
        if (g->recv[(size_t)rank] != g->send[(size_t)root])
            memcpy(g->recv[(size_t)rank], g->send[(size_t)root], count * sizeof(float));
    });
}

/* -- the report at exit -- */

static struct cuda_emu_report {
    ~cuda_emu_report() {
        fprintf(stderr, "cuda_emu: %d kernels and GEMMs run, %d graph launches, %d NCCL collectives\n",
                cuda_emu_launches.load(), cuda_emu_graphs.load(), cuda_emu_collectives.load());
    }
} cuda_emu_report_at_exit;
