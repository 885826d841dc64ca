/* tests/cuda_emu/cuda_runtime.h - a host emulation of the part of the CUDA runtime that
   backends/cuda uses, so that make test-cuda-emu can run the backend's host code, its
   kernels and its cuBLAS calls on a machine without a GPU, through the real executor,
   against the CPU (tests/test_cuda.c). Compiled as C++17 with this folder first on the
   include path, the backend's .cu files build unchanged: kernels are plain functions, a
   launch (INFER_CUDA_LAUNCH) runs every block one after the other, the threads of a block
   as ucontexts on one OS thread, switched at __syncthreads and warp shuffles (a barrier
   each). Device memory is host memory (filled with 0xff bytes, NaN as f32, so a read of
   bytes nobody wrote shows); a stream runs its work at once, or records it while
   capturing, and cudaGraphLaunch replays the record. Launch arguments are copied at the
   launch, as CUDA does, so a replay sees the values of the capture.
   What it cannot show: races between threads (they run in turn), timing, memory limits,
   or a difference between this and the real cuBLAS (cuda_emu.cpp's column-major GEMM). */
#ifndef INFER_CUDA_EMU_RUNTIME_H
#define INFER_CUDA_EMU_RUNTIME_H

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <tuple>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static /* one block runs at a time: a static is the block's */

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
extern dim3 threadIdx, blockIdx, blockDim, gridDim;
struct alignas(16) float4 {
    float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

typedef enum cudaError { cudaSuccess = 0, cudaErrorInvalidValue = 1, cudaErrorStreamCaptureUnsupported = 900 } cudaError_t;
enum cudaMemcpyKind { cudaMemcpyHostToHost, cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice };
enum cudaStreamCaptureStatus { cudaStreamCaptureStatusNone, cudaStreamCaptureStatusActive };
enum cudaStreamCaptureMode { cudaStreamCaptureModeGlobal, cudaStreamCaptureModeThreadLocal };
#define cudaStreamNonBlocking 1u
#define cudaHostAllocDefault 0u
#define cudaHostAllocMapped 2u

typedef std::vector<std::function<void()>> cuda_emu_work;
struct cuda_emu_stream {
    int capturing;
    cuda_emu_work captured;
};
typedef cuda_emu_stream *cudaStream_t;
typedef cuda_emu_work *cudaGraph_t;
typedef cuda_emu_work *cudaGraphExec_t;

/* what a stream does with work: runs it now, or records it while capturing */
void cuda_emu_enqueue(cudaStream_t s, std::function<void()> f);
/* runs f as every thread of every block of the grid */
void cuda_emu_grid(dim3 grid, dim3 block, const std::function<void()> &f);

template <class... P>
struct cuda_emu_launch {
    dim3 grid, block;
    cudaStream_t stream;
    void (*kernel)(P...);
    template <class... A>
    void operator()(A... a) const {
        std::tuple<P...> args(static_cast<P>(a)...); /* copied now, as a launch does */
        void (*k)(P...) = kernel;
        dim3 g = grid, b = block;
        cuda_emu_enqueue(stream, [=]() { cuda_emu_grid(g, b, [&]() { std::apply(k, args); }); });
    }
};
template <class... P>
cuda_emu_launch<P...> cuda_emu_launcher(dim3 grid, dim3 block, cudaStream_t stream, void (*kernel)(P...)) {
    return cuda_emu_launch<P...>{grid, block, stream, kernel};
}
#define INFER_CUDA_LAUNCH(kernel, grid, block, stream) cuda_emu_launcher((grid), (block), (stream), kernel)

float __shfl_xor_sync(unsigned mask, float v, int lane_mask);
void __syncthreads();
int __syncthreads_or(int predicate);
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }

cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaGetDevice(int *d);
cudaError_t cudaSetDevice(int d);
cudaError_t cudaGetLastError();
const char *cudaGetErrorString(cudaError_t e);
cudaError_t cudaMalloc(void **p, size_t n);
cudaError_t cudaFree(void *p);
cudaError_t cudaHostAlloc(void **p, size_t n, unsigned flags);
cudaError_t cudaFreeHost(void *p);
cudaError_t cudaHostGetDevicePointer(void **d, void *h, unsigned flags);
cudaError_t cudaMemcpy(void *d, const void *s, size_t n, cudaMemcpyKind k);
cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, cudaMemcpyKind k, cudaStream_t st);
cudaError_t cudaMemcpy2DAsync(void *d, size_t dpitch, const void *s, size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind k, cudaStream_t st);
cudaError_t cudaMemsetAsync(void *d, int v, size_t n, cudaStream_t st);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaStreamIsCapturing(cudaStream_t s, cudaStreamCaptureStatus *c);
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode m);
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *e, cudaGraph_t g, unsigned long long flags);
cudaError_t cudaGraphLaunch(cudaGraphExec_t e, cudaStream_t s);
cudaError_t cudaGraphDestroy(cudaGraph_t g);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t e);

#endif
