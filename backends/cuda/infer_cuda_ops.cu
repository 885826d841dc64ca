/* backends/cuda/infer_cuda_ops.cu - the CUDA backend's operators (f32): supports(),
   prepare() and run() per op type. Each op follows the runtime's reference kernel in
   infer.h (section 9) and its attribute names, including the fused ones infer-convert
   writes (MatMul's bias input, the activation* attributes). Geometry is recomputed from
   the node's tensors at every run (host arithmetic only), so a node prepared for one plan
   runs correctly with another's dims; prepare() only reads the constant inputs that the
   kernels need on the host (Slice's starts, ReduceMean's axes) and sizes the workspace.
   Kernels are plain: one thread per output element, or one block per reduced row. */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "infer_cuda_impl.h"

#define INFER_CUDA_MAXR 8                      /* INFER_MAX_DIMS */
#define INFER_CUDA_EW_RANK 6                   /* broadcasting binaries: up to rank 6 */
#define INFER_CUDA_ATT_MAX_D 256               /* Attention: head sizes up to this */
#define INFER_CUDA_CONV_WORK ((size_t)256 << 20) /* im2col columns of several images at once, at most */

enum {
    CU_NONE, CU_UNARY, CU_BINARY, CU_SOFTMAX, CU_LAYER_NORM, CU_MATMUL, CU_GEMM, CU_TRANSPOSE, CU_CONCAT, CU_SLICE,
    CU_GATHER, CU_COPY, CU_CONV, CU_POOL, CU_GLOBAL_POOL, CU_REDUCE, CU_ATTENTION, CU_CAST, CU_SPLIT, CU_CLIP,
    CU_EXPAND, CU_BATCH_NORM, CU_RMS_NORM, CU_COLLECTIVE
};

/* unary codes; the fused activations (infer.h's INFER__ACT_*) use the first ones too */
enum {
    U_NONE, U_RELU, U_LEAKY_RELU, U_SIGMOID, U_TANH, U_CLIP, U_HARD_SIGMOID, U_HARD_SWISH, U_GELU, U_GELU_TANH, U_SILU,
    U_ERF, U_EXP, U_LOG, U_SQRT, U_NEG, U_ABS, U_RECIPROCAL, U_FLOOR, U_CEIL, U_SIN, U_COS, U_SOFTPLUS, U_SWISH
};
enum { B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MAX, B_MIN, B_PRELU };

typedef struct cu_state {
    int kind;
    int code;                  /* unary/binary code; pool: 1 max, 0 average; reduce: 1 mean, 0 sum, 2 max */
    float alpha, beta;         /* unary / fused activation parameters */
    /* Slice: from the constant starts/ends/axes/steps; Reduce: axes bit mask */
    int n_slice;
    int64_t starts[INFER_CUDA_MAXR], ends[INFER_CUDA_MAXR], axes[INFER_CUDA_MAXR], steps[INFER_CUDA_MAXR];
    unsigned reduce_mask;
    const void *w16;           /* MatMul/Gemm/Conv at F16/BF16: the weight's 16-bit copy, made once
                                  (infer_cuda_upload_half), or NULL: converted on each run */
} cu_state;

/* ===== helpers ===== */

static int64_t cu_numel(const infer_tensor *t) {
    int64_t n = 1;
    int i;
    for (i = 0; i < t->n_dims; i++) n *= t->dims[i];
    return n;
}
static int64_t cu_prod(const int64_t *d, int lo, int hi) {
    int64_t n = 1;
    int i;
    for (i = lo; i < hi; i++) n *= d[i];
    return n;
}
static int cu_present(const infer_backend_op *op, size_t i) { return i < op->n_inputs && op->inputs[i].data; }
static int cu_out_present(const infer_backend_op *op, size_t i) { return i < op->n_outputs && op->outputs[i].data; }
/* bytes of one element of the whole-byte dtypes the copies take; 0 for the others */
static size_t cu_elem_bytes(infer_dtype t) {
    switch (t) {
    case INFER_DTYPE_F64: case INFER_DTYPE_I64: case INFER_DTYPE_U64: return 8;
    case INFER_DTYPE_F32: case INFER_DTYPE_I32: case INFER_DTYPE_U32: return 4;
    case INFER_DTYPE_F16: case INFER_DTYPE_BF16: case INFER_DTYPE_I16: case INFER_DTYPE_U16: return 2;
    case INFER_DTYPE_I8: case INFER_DTYPE_U8: case INFER_DTYPE_BOOL: return 1;
    default: return 0;
    }
}
static unsigned cu_blocks(int64_t n, int threads) { return (unsigned)((n + threads - 1) / threads); }

/* i / d, with i % d in *rem: in 32 bits when both fit, as they nearly always do (a 64-bit
   division is a long instruction sequence on the GPU, and the element-wise kernels' index
   maths were bound by it) */
__device__ __forceinline__ int64_t cu_divmod(int64_t i, int64_t d, int64_t *rem) {
    int64_t q;
    if (((uint64_t)i | (uint64_t)d) <= 0xffffffffu) q = (int64_t)((uint32_t)i / (uint32_t)d);
    else q = i / d;
    *rem = i - q * d;
    return q;
}

/* v stored as f32, or rounded to f16 / bf16 (precision F16 / BF16: dev->half) */
__device__ __forceinline__ void cu_store(float *p, float v) { *p = v; }
__device__ __forceinline__ void cu_store(__half *p, float v) { *p = __float2half_rn(v); }
__device__ __forceinline__ void cu_store(__nv_bfloat16 *p, float v) { *p = __float2bfloat16_rn(v); }

/* The fused activation's code, or -1 for one this backend lacks. */
static int cu_act_code(const infer_backend_op *op, float *alpha, float *beta) {
    static const char *names[] = {"None", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip",
                                  "HardSigmoid", "HardSwish", "Gelu", "GeluTanh", "Silu"};
    const char *a = infer_backend_attr_string(op, "activation", "None");
    int k;
    for (k = 0; k < (int)(sizeof names / sizeof names[0]); k++)
        if (!strcmp(a, names[k])) break;
    if (k == (int)(sizeof names / sizeof names[0])) return -1;
    /* the defaults of infer.h's infer__act_parse */
    *alpha = infer_backend_attr_float(op, "activation_alpha", k == U_LEAKY_RELU ? 0.01f : k == U_HARD_SIGMOID ? 0.2f : -INFINITY);
    *beta = infer_backend_attr_float(op, "activation_beta", k == U_HARD_SIGMOID ? 0.5f : INFINITY);
    return k;
}

/* An axis attribute normalised to [0, r), or -1. */
static int cu_axis(int64_t a, int r) {
    if (a < -r || a >= r) return -1;
    return (int)(a < 0 ? a + r : a);
}

/* ===== element-wise ===== */

__device__ __forceinline__ float cu_sigmoid(float v) {
    return v >= 0 ? 1.0f / (1.0f + expf(-v)) : expf(v) / (1.0f + expf(v));
}

/* infer.h's unary reference and infer__act_apply, formula for formula */
__device__ __forceinline__ float cu_unary(int code, float x, float al, float be) {
    switch (code) {
    case U_RELU: return x < 0 ? 0.0f : x;
    case U_LEAKY_RELU: return x < 0 ? al * x : x;
    case U_SIGMOID: return cu_sigmoid(x);
    case U_TANH: return tanhf(x);
    case U_CLIP: return fminf(be, fmaxf(x, al));
    case U_HARD_SIGMOID: return fminf(1.0f, fmaxf(0.0f, al * x + be));
    case U_HARD_SWISH: return x * fminf(1.0f, fmaxf(0.0f, x / 6.0f + 0.5f));
    case U_GELU: return 0.5f * x * erfcf(x * -0.7071067811865476f);
    case U_GELU_TANH: return x / (1.0f + expf(-1.5957691216057308f * (x + 0.044715f * x * x * x)));
    case U_SILU: return x * cu_sigmoid(x);
    case U_ERF: return erff(x);
    case U_EXP: return expf(x);
    case U_LOG: return logf(x);
    case U_SQRT: return sqrtf(x);
    case U_NEG: return -x;
    case U_ABS: return fabsf(x);
    case U_RECIPROCAL: return 1.0f / x;
    case U_FLOOR: return floorf(x);
    case U_CEIL: return ceilf(x);
    case U_SIN: return sinf(x);
    case U_COS: return cosf(x);
    case U_SOFTPLUS: return x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x));
    case U_SWISH: return x * cu_sigmoid(al * x);
    default: return x;
    }
}

__global__ void cu_unary_kernel(float *y, const float *x, int64_t n, int code, float al, float be) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = cu_unary(code, x[i], al, be);
}

/* y[i] = act(y[i] + bias[(i / inner) % n_bias]) (bias may be NULL) */
__global__ void cu_bias_act_kernel(float *y, int64_t n, const float *bias, int64_t n_bias, int64_t inner, int code,
                                   float al, float be) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x, r, ch;
    if (i < n) {
        float v = y[i];
        if (bias) {
            cu_divmod(cu_divmod(i, inner, &r), n_bias, &ch);
            v += bias[ch];
        }
        y[i] = cu_unary(code, v, al, be);
    }
}

static void cu_bias_act(infer_cuda_dev *dev, float *y, int64_t n, const float *bias, int64_t n_bias, int64_t inner,
                        int code, float al, float be) {
    if (n <= 0 || (!bias && code == U_NONE)) return;
    INFER_CUDA_LAUNCH(cu_bias_act_kernel, cu_blocks(n, 256), 256, dev->stream)(y, n, bias, n_bias, inner, code, al, be);
}

/* Clip: min(hi, max(x, lo)) as infer.h's (NaN stays NaN); lo/hi device scalars or NULL */
__global__ void cu_clip_kernel(float *y, const float *x, int64_t n, const float *lo, const float *hi) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    float l = lo ? *lo : -INFINITY, h = hi ? *hi : INFINITY, v;
    if (i >= n) return;
    v = x[i] < l ? l : x[i];
    y[i] = v > h ? h : v;
}

/* BatchNormalization (inference) of x [n][c][inner]: y = (x - mean) scale / sqrt(var + eps) + bias */
__global__ void cu_batch_norm_kernel(float *y, const float *x, int64_t n, int64_t c, int64_t inner, const float *scale,
                                     const float *bias, const float *mean, const float *var, float eps) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x, ch;
    float a;
    if (i >= n) return;
    ch = (i / inner) % c;
    a = scale[ch] / sqrtf(var[ch] + eps);
    y[i] = x[i] * a + (bias[ch] - mean[ch] * a);
}

typedef struct cu_bcast { /* out dims and each input's element strides (0: broadcast), rank <= 6 */
    int r;
    int plain_a, plain_b; /* the input has y's dims: element i is its i-th */
    int64_t dims[INFER_CUDA_EW_RANK];
    int64_t sa[INFER_CUDA_EW_RANK], sb[INFER_CUDA_EW_RANK];
} cu_bcast;

__device__ __forceinline__ float cu_binary(int code, float a, float b) {
    switch (code) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    case B_POW: return powf(a, b);
    case B_MAX: return (a > b || a != a) ? a : b; /* NaN propagates, as infer.h's */
    case B_MIN: return (a < b || a != a) ? a : b;
    default: return a < 0 ? a * b : a; /* PRelu */
    }
}

__global__ void cu_binary_kernel(float *y, const float *a, const float *b, int64_t n, cu_bcast g, int code) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x, rem, oa = 0, ob = 0;
    int d;
    if (i >= n) return;
    rem = i;
    if (!g.plain_a || !g.plain_b)
        for (d = g.r - 1; d >= 0; d--) {
            int64_t k;
            rem = cu_divmod(rem, g.dims[d], &k);
            oa += k * g.sa[d];
            ob += k * g.sb[d];
        }
    y[i] = cu_binary(code, a[g.plain_a ? i : oa], b[g.plain_b ? i : ob]);
}

/* numpy broadcasting of a and b to y's dims (y's rank <= 6) */
static int cu_bcast_init(const infer_tensor *y, const infer_tensor *a, const infer_tensor *b, cu_bcast *g) {
    int d, r = y->n_dims;
    int64_t sa = 1, sb = 1;
    if (r > INFER_CUDA_EW_RANK || a->n_dims > r || b->n_dims > r) return 0;
    g->r = r;
    g->plain_a = a->n_dims == r && !memcmp(a->dims, y->dims, (size_t)r * sizeof(int64_t));
    g->plain_b = b->n_dims == r && !memcmp(b->dims, y->dims, (size_t)r * sizeof(int64_t));
    for (d = r - 1; d >= 0; d--) {
        int ja = d - (r - a->n_dims), jb = d - (r - b->n_dims);
        int64_t da = ja >= 0 ? a->dims[ja] : 1, db = jb >= 0 ? b->dims[jb] : 1;
        g->dims[d] = y->dims[d];
        g->sa[d] = da == 1 ? 0 : sa;
        g->sb[d] = db == 1 ? 0 : sb;
        sa *= da;
        sb *= db;
    }
    return 1;
}

/* ===== reductions along rows: Softmax, LayerNormalization, pools, Reduce* ===== */

#define CU_RED_THREADS 256

/* The sum (max when is_max) of v over the block; every thread gets it. sh: [32] */
__device__ float cu_block_reduce(float v, int is_max, float *sh) {
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5, o;
    for (o = 16; o > 0; o >>= 1) {
        float t = __shfl_xor_sync(0xffffffffu, v, o);
        v = is_max ? fmaxf(v, t) : v + t;
    }
    __syncthreads(); /* sh may still be read by a previous call */
    if (lane == 0) sh[w] = v;
    __syncthreads();
    v = lane < nw ? sh[lane] : (is_max ? -INFINITY : 0.0f);
    for (o = 16; o > 0; o >>= 1) {
        float t = __shfl_xor_sync(0xffffffffu, v, o);
        v = is_max ? fmaxf(v, t) : v + t;
    }
    return v;
}

/* one block per (outer, inner) row of len values, inner apart; log: LogSoftmax */
__global__ void cu_softmax_kernel(float *y, const float *x, int64_t len, int64_t inner, int log_) {
    __shared__ float sh[32];
    int64_t row = blockIdx.x, o = row / inner, in = row % inner, i;
    const float *xr = x + o * len * inner + in;
    float *yr = y + o * len * inner + in;
    float mx = -INFINITY, sum = 0;
    for (i = threadIdx.x; i < len; i += blockDim.x) mx = fmaxf(mx, xr[i * inner]);
    mx = cu_block_reduce(mx, 1, sh);
    for (i = threadIdx.x; i < len; i += blockDim.x) sum += expf(xr[i * inner] - mx);
    sum = cu_block_reduce(sum, 0, sh);
    if (log_) {
        float lse = logf(sum);
        for (i = threadIdx.x; i < len; i += blockDim.x) yr[i * inner] = xr[i * inner] - mx - lse;
    } else {
        for (i = threadIdx.x; i < len; i += blockDim.x) yr[i * inner] = expf(xr[i * inner] - mx) / sum;
    }
}

/* one block per row of len values; scale/bias strides 0 (one value) or 1; mean/inv may be NULL.
   Two passes (mean, then squared deviations) as the reference. y may be x. */
__global__ void cu_layer_norm_kernel(float *y, const float *x, int64_t len, const float *scale, int64_t ss,
                                     const float *bias, int64_t bs, float eps, float *mean_out, float *inv_out) {
    __shared__ float sh[32];
    int64_t row = blockIdx.x, i;
    const float *xr = x + row * len;
    float *yr = y + row * len;
    float mean = 0, var = 0, inv;
    for (i = threadIdx.x; i < len; i += blockDim.x) mean += xr[i];
    mean = len ? cu_block_reduce(mean, 0, sh) / (float)len : 0.0f;
    for (i = threadIdx.x; i < len; i += blockDim.x) var += (xr[i] - mean) * (xr[i] - mean);
    var = len ? cu_block_reduce(var, 0, sh) / (float)len : 0.0f;
    inv = rsqrtf(var + eps);
    for (i = threadIdx.x; i < len; i += blockDim.x) yr[i] = (xr[i] - mean) * inv * scale[i * ss] + (bias ? bias[i * bs] : 0.0f);
    if (threadIdx.x == 0) {
        if (mean_out) mean_out[row] = mean;
        if (inv_out) inv_out[row] = inv;
    }
}

/* RMSNormalization, one block per row: y = x / sqrt(mean(x^2) + eps) * scale (stride 0 or 1) */
__global__ void cu_rms_norm_kernel(float *y, const float *x, int64_t len, const float *scale, int64_t ss, float eps) {
    __shared__ float sh[32];
    int64_t row = blockIdx.x, i;
    const float *xr = x + row * len;
    float *yr = y + row * len;
    float sum = 0, inv;
    for (i = threadIdx.x; i < len; i += blockDim.x) sum += xr[i] * xr[i];
    sum = cu_block_reduce(sum, 0, sh);
    inv = rsqrtf((len ? sum / (float)len : 0.0f) + eps);
    for (i = threadIdx.x; i < len; i += blockDim.x) yr[i] = xr[i] * inv * scale[i * ss];
}

/* one block per (outer, inner) row: code 0 sum, 1 mean, 2 max of len values inner apart */
__global__ void cu_reduce_kernel(float *y, const float *x, int64_t len, int64_t inner, int code) {
    __shared__ float sh[32];
    int64_t row = blockIdx.x, o = row / inner, in = row % inner, i;
    const float *xr = x + o * len * inner + in;
    float v = code == 2 ? -INFINITY : 0.0f;
    int nan = 0;
    for (i = threadIdx.x; i < len; i += blockDim.x) {
        float t = xr[i * inner];
        if (code == 2) nan |= t != t, v = fmaxf(v, t);
        else v += t;
    }
    v = cu_block_reduce(v, code == 2, sh);
    if (code == 2) nan = __syncthreads_or(nan);
    if (threadIdx.x == 0) y[row] = code == 1 ? (len ? v / (float)len : NAN) : (nan ? NAN : v);
}

/* ===== layout: Transpose, Slice, Gather ===== */

typedef struct cu_index { /* out dims; for each out axis the input element stride, and a start offset */
    int r;
    int64_t dims[INFER_CUDA_MAXR];
    int64_t stride[INFER_CUDA_MAXR];
    int64_t base;
} cu_index;

/* y[i] = x[base + sum_d idx_d * stride_d] on 4-byte elements (f32 and everything else
   copied as bytes by elem) */
__global__ void cu_index_kernel(unsigned char *y, const unsigned char *x, int64_t n, cu_index g, int elem) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x, rem, off;
    int d, b;
    if (i >= n) return;
    rem = i;
    off = g.base;
    for (d = g.r - 1; d >= 0; d--) {
        int64_t k;
        rem = cu_divmod(rem, g.dims[d], &k);
        off += k * g.stride[d];
    }
    if (elem == 4) ((float *)y)[i] = ((const float *)x)[off];
    else
        for (b = 0; b < elem; b++) y[i * elem + b] = x[off * elem + b];
}

/* y [outer][n_idx][inner] = x [outer][len][inner] at idx (negative: from the end). Out of
   range: 0, and the index reported in bad (the device's mapped word, dev->bad_dev; NULL:
   none), which the next sync turns into the run's error, as the CPU kernel's */
__global__ void cu_gather_kernel(float *y, const float *x, const void *idx, int idx64, int64_t n_idx, int64_t len,
                                 int64_t inner, int64_t n, long long *bad) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x, in, k, o, j, j0;
    if (i >= n) return;
    in = i % inner;
    k = (i / inner) % n_idx;
    o = i / (inner * n_idx);
    j = j0 = idx64 ? ((const int64_t *)idx)[k] : (int64_t)((const int *)idx)[k];
    if (j < 0) j += len;
    if (j >= 0 && j < len) y[i] = x[(o * len + j) * inner + in];
    else {
        y[i] = 0.0f;
        if (bad) ((volatile long long *)bad)[1] = j0, ((volatile long long *)bad)[0] = 1;
    }
}

/* Cast to f32 from f32, i64, i32, i8, u8 or bool (as a value, the CPU's conversion) */
__global__ void cu_cast_kernel(float *y, const void *x, int src, int64_t n) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    switch (src) {
    case INFER_DTYPE_I64: y[i] = (float)(double)((const int64_t *)x)[i]; break;
    case INFER_DTYPE_I32: y[i] = (float)((const int *)x)[i]; break;
    case INFER_DTYPE_I8: y[i] = (float)((const signed char *)x)[i]; break;
    case INFER_DTYPE_U8: y[i] = (float)((const unsigned char *)x)[i]; break;
    case INFER_DTYPE_BOOL: y[i] = ((const unsigned char *)x)[i] ? 1.0f : 0.0f; break;
    default: y[i] = ((const float *)x)[i]; break;
    }
}

/* ===== convolution (im2col + cuBLAS) and pooling, 1-D and 2-D ===== */

typedef struct cu_win { /* 2-D window geometry (1-D: H = 1) */
    int64_t n, c, m, group, ih, iw, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw, peh, pew;
} cu_win;

/* col [n_img][c][kh][kw][oh*ow] from x [n_img][c][ih][iw] (zero padding). Block b fills
   row b of col (one image's channel and kernel tap), its threads striding over the oh*ow
   positions: the row's geometry is worked out once per thread, and a thread's output
   position (oy, ox) and input position (iy, ix) advance by the block's stride with adds,
   no division per element (ResNet-50's im2col was a third of its f16 kernel time on the
   H200 with one 32-bit divmod per element). */
template <typename T>
__global__ void cu_im2col_kernel(T *col, const float *x, cu_win g) {
    int64_t r = blockIdx.x, P = g.oh * g.ow, p = threadIdx.x, plane, kx, ky, oy, ox, iy, ix, sy, sx;
    const float *xp;
    T *cp = col + r * P;
    plane = cu_divmod(cu_divmod(r, g.kw, &kx), g.kh, &ky); /* img * c + channel */
    xp = x + plane * g.ih * g.iw;
    oy = cu_divmod(p, g.ow, &ox);           /* this thread's first position */
    sy = cu_divmod(blockDim.x, g.ow, &sx);  /* the block's stride in rows and columns */
    iy = oy * g.sh - g.ph + ky * g.dh;
    ix = ox * g.sw - g.pw + kx * g.dw;
    for (; p < P; p += blockDim.x) {
        cu_store(cp + p, iy >= 0 && iy < g.ih && ix >= 0 && ix < g.iw ? xp[iy * g.iw + ix] : 0.0f);
        ox += sx, ix += sx * g.sw, iy += sy * g.sh;
        if (ox >= g.ow) ox -= g.ow, ix -= g.ow * g.sw, iy += g.sh;
    }
}

/* depthwise Conv (group = input channels): one thread per output of [n][m][oh][ow], output
   channel m reading input channel m / (m / c) through its own kh x kw filter w [m][1][kh][kw] */
__global__ void cu_dwconv_kernel(float *y, const float *x, const float *w, cu_win g) {
    int64_t total = g.n * g.m * g.oh * g.ow, i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x, ox, oy, m, img, ch, ky, kx;
    const float *xp, *wp;
    float acc = 0.0f;
    if (i >= total) return;
    ox = i % g.ow;
    oy = (i / g.ow) % g.oh;
    m = (i / (g.ow * g.oh)) % g.m;
    img = i / (g.ow * g.oh * g.m);
    ch = m / (g.m / g.c);
    xp = x + (img * g.c + ch) * g.ih * g.iw;
    wp = w + m * g.kh * g.kw;
    for (ky = 0; ky < g.kh; ky++) {
        int64_t iy = oy * g.sh - g.ph + ky * g.dh;
        if (iy < 0 || iy >= g.ih) continue;
        for (kx = 0; kx < g.kw; kx++) {
            int64_t ix = ox * g.sw - g.pw + kx * g.dw;
            if (ix >= 0 && ix < g.iw) acc += xp[iy * g.iw + ix] * wp[ky * g.kw + kx];
        }
    }
    y[i] = acc;
}

/* one thread per output of [n*c][oh][ow]; is_max: MaxPool (NaN wins), else AveragePool with
   the reference's divisor (taps inside the padded input, or inside the input) */
__global__ void cu_pool_kernel(float *y, const float *x, cu_win g, int is_max, int count_include_pad) {
    int64_t total = g.n * g.c * g.oh * g.ow, i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x, ox, oy, nc, ky, kx;
    float acc;
    int64_t cnt = 0, padded = 0;
    int nan = 0;
    if (i >= total) return;
    ox = i % g.ow;
    oy = (i / g.ow) % g.oh;
    nc = i / (g.ow * g.oh);
    acc = is_max ? -INFINITY : 0.0f;
    for (ky = 0; ky < g.kh; ky++) {
        int64_t iy = oy * g.sh - g.ph + ky * g.dh;
        for (kx = 0; kx < g.kw; kx++) {
            int64_t ix = ox * g.sw - g.pw + kx * g.dw;
            float v;
            if (iy >= -g.ph && iy < g.ih + g.peh && ix >= -g.pw && ix < g.iw + g.pew) padded++;
            if (iy < 0 || iy >= g.ih || ix < 0 || ix >= g.iw) continue;
            v = x[(nc * g.ih + iy) * g.iw + ix];
            if (is_max) nan |= v != v, acc = fmaxf(acc, v);
            else acc += v;
            cnt++;
        }
    }
    if (is_max) y[i] = nan ? NAN : acc;
    else {
        int64_t div = count_include_pad ? padded : cnt;
        y[i] = div > 0 ? acc / (float)div : 0.0f;
    }
}

/* Reads Conv/pool attributes into g for x [n][c][(h)][w] and y (its dims already inferred).
   Returns 0 for what this backend lacks (3-D, unknown auto_pad). */
static int cu_win_init(const infer_backend_op *op, const infer_tensor *x, const infer_tensor *y, cu_win *g) {
    int64_t v[6], k[2] = {1, 1}, s[2] = {1, 1}, d[2] = {1, 1}, pb[2] = {0, 0}, pe[2] = {0, 0}, in[2], out[2];
    int n_sp = x->n_dims - 2, i, n, off = 2 - n_sp;
    const char *ap = infer_backend_attr_string(op, "auto_pad", "NOTSET");
    if (n_sp < 1 || n_sp > 2 || y->n_dims != x->n_dims) return 0;
    if (strcmp(ap, "NOTSET") && strcmp(ap, "VALID") && strcmp(ap, "SAME_UPPER") && strcmp(ap, "SAME_LOWER")) return 0;
    n = (int)infer_backend_attr_ints(op, "kernel_shape", v, 6);
    if (n == n_sp) for (i = 0; i < n_sp; i++) k[off + i] = v[i];
    else if (n != -1) return 0;
    else if (!strcmp(op->op_type, "Conv") && op->n_inputs > 1 && op->inputs[1].n_dims == x->n_dims)
        for (i = 0; i < n_sp; i++) k[off + i] = op->inputs[1].dims[2 + i];
    else return 0;
    if ((n = (int)infer_backend_attr_ints(op, "strides", v, 6)) == n_sp) for (i = 0; i < n_sp; i++) s[off + i] = v[i];
    else if (n != -1) return 0;
    if ((n = (int)infer_backend_attr_ints(op, "dilations", v, 6)) == n_sp) for (i = 0; i < n_sp; i++) d[off + i] = v[i];
    else if (n != -1) return 0;
    if ((n = (int)infer_backend_attr_ints(op, "pads", v, 6)) == 2 * n_sp)
        for (i = 0; i < n_sp; i++) pb[off + i] = v[i], pe[off + i] = v[n_sp + i];
    else if (n != -1) return 0;
    for (i = 0; i < 2; i++) {
        in[i] = i < off ? 1 : x->dims[2 + i - off];
        out[i] = i < off ? 1 : y->dims[2 + i - off];
        if (!strcmp(ap, "VALID")) pb[i] = pe[i] = 0;
        else if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) { /* infer.h's infer__window_out */
            int64_t total = (out[i] - 1) * s[i] + (k[i] - 1) * d[i] + 1 - in[i];
            if (total < 0) total = 0;
            pb[i] = !strcmp(ap, "SAME_UPPER") ? total / 2 : total - total / 2;
            pe[i] = total - pb[i];
        }
    }
    g->n = x->dims[0], g->c = x->dims[1], g->m = y->dims[1];
    g->ih = in[0], g->iw = in[1], g->oh = out[0], g->ow = out[1];
    g->kh = k[0], g->kw = k[1], g->sh = s[0], g->sw = s[1], g->dh = d[0], g->dw = d[1];
    g->ph = pb[0], g->pw = pb[1], g->peh = pe[0], g->pew = pe[1];
    g->group = infer_backend_attr_int(op, "group", 1);
    return g->group >= 1 && g->c % g->group == 0 && g->m % g->group == 0;
}

/* ===== Attention: one warp per query row, online softmax over the keys ===== */

typedef struct cu_att {
    int64_t B, Hq, Hkv, S, T, D, Dv, Tm;
    int64_t qs[3], ks[3], vs[3], ys[3]; /* element strides of (batch, head, seq) */
    int64_t ms[4];                      /* mask strides (batch, head, query, key); 0: broadcast */
    int causal, mask_bool;
    float scale, softcap;
} cu_att;

#define CU_ATT_WARPS 4
#define CU_ATT_PER_LANE (INFER_CUDA_ATT_MAX_D / 32)

/* Warp w of block (b*Hq + h, query tile) takes query row i. The running max m, sum l and
   accumulator acc (lane holds dims lane, lane+32, ...) follow the online softmax: a new
   maximum rescales l and acc by exp(m_old - m_new). A fully masked row gives NaN, as the
   reference's softmax over -inf. Never holds a row of S x T scores. */
__global__ void cu_attention_kernel(float *y, const float *q, const float *k, const float *v, const void *mask, cu_att a) {
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, t;
    int64_t bh = blockIdx.x, b = bh / a.Hq, h = bh % a.Hq, i = (int64_t)blockIdx.y * CU_ATT_WARPS + w, kh, j, d;
    float qv[CU_ATT_PER_LANE], acc[CU_ATT_PER_LANE], m = -INFINITY, l = 0.0f;
    const float *qr;
    if (i >= a.S) return;
    kh = h / (a.Hq / a.Hkv);
    qr = q + b * a.qs[0] + h * a.qs[1] + i * a.qs[2];
    for (t = 0; t < CU_ATT_PER_LANE; t++) {
        d = lane + 32 * t;
        qv[t] = d < a.D ? qr[d] : 0.0f;
        acc[t] = 0.0f;
    }
    for (j = 0; j < a.T; j++) {
        const float *kr = k + b * a.ks[0] + kh * a.ks[1] + j * a.ks[2];
        const float *vr = v + b * a.vs[0] + kh * a.vs[1] + j * a.vs[2];
        float s = 0.0f, p, o;
        int sh;
        for (t = 0; t < CU_ATT_PER_LANE; t++) {
            d = lane + 32 * t;
            if (d < a.D) s += qv[t] * kr[d];
        }
        for (sh = 16; sh > 0; sh >>= 1) s += __shfl_xor_sync(0xffffffffu, s, sh);
        s *= a.scale;
        if (a.softcap > 0) s = a.softcap * tanhf(s / a.softcap);
        if (mask) {
            if (j >= a.Tm) s = -INFINITY; /* ONNX pads a short mask with "masked" */
            else {
                int64_t at = b * a.ms[0] + h * a.ms[1] + i * a.ms[2] + j * a.ms[3];
                s += a.mask_bool ? (((const unsigned char *)mask)[at] ? 0.0f : -INFINITY) : ((const float *)mask)[at];
            }
        }
        if (a.causal && j > i) s = -INFINITY;
        if (s == -INFINITY) continue; /* weight 0 */
        if (s > m) {
            float corr = expf(m - s); /* m = -inf: 0 */
            l *= corr;
            for (t = 0; t < CU_ATT_PER_LANE; t++) acc[t] *= corr;
            m = s;
        }
        p = expf(s - m);
        l += p;
        for (t = 0; t < CU_ATT_PER_LANE; t++) {
            d = lane + 32 * t;
            o = d < a.Dv ? vr[d] : 0.0f;
            acc[t] += p * o;
        }
    }
    {
        float *yr = y + b * a.ys[0] + h * a.ys[1] + i * a.ys[2];
        for (t = 0; t < CU_ATT_PER_LANE; t++) {
            d = lane + 32 * t;
            if (d < a.Dv) yr[d] = l > 0 ? acc[t] / l : NAN;
        }
    }
}

/* The tiled kernel, for head sizes up to CU_ATT_TD: block (b*Hq + h, query tile) has one
   thread per query row (CU_ATT_BQ of them), holding its q and accumulator in registers. K and
   V pass through shared memory CU_ATT_BK keys at a time, each element read by every thread
   of the block (a broadcast), so a block reads K and V once for 64 rows instead of once per
   row (the per-row kernel above is bound by those reads). Per tile: the scores, their
   maximum, one rescale of the running sum and accumulator, then the weighted V rows. A
   causal block stops after the key of its last row. Same results as the per-row kernel up
   to the order of f32 sums. */
#define CU_ATT_BQ 64
#define CU_ATT_BK 32
#define CU_ATT_TD 64

__global__ void cu_attention_tiled_kernel(float *y, const float *q, const float *k, const float *v, const void *mask,
                                          cu_att a) {
    /* float4 rows: one 16-byte shared load feeds four FMAs */
    __shared__ float4 sk[CU_ATT_BK][CU_ATT_TD / 4], sv[CU_ATT_BK][CU_ATT_TD / 4];
    int r = threadIdx.x, jj, d, u;
    int64_t bh = blockIdx.x, b = bh / a.Hq, h = bh % a.Hq, kh = h / (a.Hq / a.Hkv);
    int64_t i0 = (int64_t)blockIdx.y * CU_ATT_BQ, i = i0 + r, j0, jend = a.T;
    int live = i < a.S;
    float qv[CU_ATT_TD], acc[CU_ATT_TD], sc[CU_ATT_BK], m = -INFINITY, l = 0.0f;
    const float *kb = k + b * a.ks[0] + kh * a.ks[1], *vb = v + b * a.vs[0] + kh * a.vs[1];
    const float *qr = q + b * a.qs[0] + h * a.qs[1] + i * a.qs[2];
    /* rows of 64 on 16-byte boundaries (BERT's, GPT-2's) load as float4 */
    int vec = a.D == CU_ATT_TD && a.Dv == CU_ATT_TD && a.ks[2] % 4 == 0 && a.vs[2] % 4 == 0 && a.qs[2] % 4 == 0 &&
              (uintptr_t)kb % 16 == 0 && (uintptr_t)vb % 16 == 0 && (uintptr_t)(q + b * a.qs[0] + h * a.qs[1]) % 16 == 0;
#pragma unroll
    for (d = 0; d < CU_ATT_TD; d += 4) {
        if (vec && live) {
            float4 t4 = *(const float4 *)(qr + d);
            qv[d] = t4.x, qv[d + 1] = t4.y, qv[d + 2] = t4.z, qv[d + 3] = t4.w;
        } else
            for (u = 0; u < 4; u++) qv[d + u] = live && d + u < a.D ? qr[d + u] : 0.0f;
        acc[d] = acc[d + 1] = acc[d + 2] = acc[d + 3] = 0.0f;
    }
    if (a.causal && i0 + CU_ATT_BQ < jend) jend = i0 + CU_ATT_BQ; /* later keys are masked for every row */
    for (j0 = 0; j0 < jend; j0 += CU_ATT_BK) {
        int nk = jend - j0 < CU_ATT_BK ? (int)(jend - j0) : CU_ATT_BK;
        __syncthreads(); /* the previous tile is consumed */
        /* every load of the tile issued before any store (unrolled): the loop is otherwise
           bound by one global load's latency after another */
        if (vec) {
            float4 kt[CU_ATT_BK * CU_ATT_TD / 4 / CU_ATT_BQ], vt[CU_ATT_BK * CU_ATT_TD / 4 / CU_ATT_BQ];
            const float4 z4 = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
            for (u = 0; u < CU_ATT_BK * CU_ATT_TD / 4 / CU_ATT_BQ; u++) {
                int t = r + u * CU_ATT_BQ, jr = t / (CU_ATT_TD / 4), c4 = t % (CU_ATT_TD / 4);
                kt[u] = jr < nk ? *(const float4 *)(kb + (j0 + jr) * a.ks[2] + 4 * c4) : z4;
                vt[u] = jr < nk ? *(const float4 *)(vb + (j0 + jr) * a.vs[2] + 4 * c4) : z4;
            }
#pragma unroll
            for (u = 0; u < CU_ATT_BK * CU_ATT_TD / 4 / CU_ATT_BQ; u++) {
                int t = r + u * CU_ATT_BQ;
                sk[t / (CU_ATT_TD / 4)][t % (CU_ATT_TD / 4)] = kt[u];
                sv[t / (CU_ATT_TD / 4)][t % (CU_ATT_TD / 4)] = vt[u];
            }
        } else {
#pragma unroll 8
            for (u = 0; u < CU_ATT_BK * CU_ATT_TD / CU_ATT_BQ; u++) {
                int t = r + u * CU_ATT_BQ, jr = t / CU_ATT_TD, dd = t % CU_ATT_TD;
                ((float *)sk[jr])[dd] = jr < nk && dd < a.D ? kb[(j0 + jr) * a.ks[2] + dd] : 0.0f;
                ((float *)sv[jr])[dd] = jr < nk && dd < a.Dv ? vb[(j0 + jr) * a.vs[2] + dd] : 0.0f;
            }
        }
        __syncthreads();
        if (live) {
            float mt = m;
#pragma unroll
            for (jj = 0; jj < CU_ATT_BK; jj++) sc[jj] = 0.0f;
#pragma unroll
            for (d = 0; d < CU_ATT_TD / 4; d++)
#pragma unroll
                for (jj = 0; jj < CU_ATT_BK; jj++) {
                    float4 kv = sk[jj][d];
                    sc[jj] += qv[4 * d] * kv.x + qv[4 * d + 1] * kv.y + qv[4 * d + 2] * kv.z + qv[4 * d + 3] * kv.w;
                }
#pragma unroll
            for (jj = 0; jj < CU_ATT_BK; jj++) {
                int64_t j = j0 + jj;
                float x = sc[jj] * a.scale;
                if (jj >= nk || (a.causal && j > i)) x = -INFINITY;
                else {
                    if (a.softcap > 0) x = a.softcap * tanhf(x / a.softcap);
                    if (mask) {
                        if (j >= a.Tm) x = -INFINITY; /* ONNX pads a short mask with "masked" */
                        else {
                            int64_t at = b * a.ms[0] + h * a.ms[1] + i * a.ms[2] + j * a.ms[3];
                            x += a.mask_bool ? (((const unsigned char *)mask)[at] ? 0.0f : -INFINITY)
                                             : ((const float *)mask)[at];
                        }
                    }
                }
                sc[jj] = x;
                mt = fmaxf(mt, x);
            }
            if (mt != -INFINITY) { /* else every key so far is masked: nothing to add */
                float corr = expf(m - mt); /* m = -inf: 0 */
                l *= corr;
#pragma unroll
                for (d = 0; d < CU_ATT_TD; d++) acc[d] *= corr;
                m = mt;
#pragma unroll
                for (jj = 0; jj < CU_ATT_BK; jj++) {
                    float p = sc[jj] == -INFINITY ? 0.0f : expf(sc[jj] - m);
                    l += p;
#pragma unroll
                    for (d = 0; d < CU_ATT_TD / 4; d++) {
                        float4 vv = sv[jj][d];
                        acc[4 * d] += p * vv.x, acc[4 * d + 1] += p * vv.y;
                        acc[4 * d + 2] += p * vv.z, acc[4 * d + 3] += p * vv.w;
                    }
                }
            }
        }
    }
    if (live) {
        float *yr = y + b * a.ys[0] + h * a.ys[1] + i * a.ys[2];
#pragma unroll
        for (d = 0; d < CU_ATT_TD; d++)
            if (d < a.Dv) yr[d] = l > 0 ? acc[d] / l : NAN;
    }
}

/* infer.h's infer__att_init: Q, K, V [B][H][S][D], or [B][S][H*D] with q_num_heads/kv_num_heads */
static int cu_att_init(const infer_backend_op *op, cu_att *a) {
    const infer_tensor *q = &op->inputs[0], *k = &op->inputs[1], *v = &op->inputs[2];
    int r = q->n_dims, i;
    memset(a, 0, sizeof *a);
    if ((r != 3 && r != 4) || k->n_dims != r || v->n_dims != r) return 0;
    a->B = q->dims[0];
    if (r == 4) {
        a->Hq = q->dims[1], a->S = q->dims[2], a->D = q->dims[3];
        a->Hkv = k->dims[1], a->T = k->dims[2], a->Dv = v->dims[3];
        a->qs[0] = a->Hq * a->S * a->D, a->qs[1] = a->S * a->D, a->qs[2] = a->D;
        a->ks[0] = a->Hkv * a->T * a->D, a->ks[1] = a->T * a->D, a->ks[2] = a->D;
        a->vs[0] = a->Hkv * a->T * a->Dv, a->vs[1] = a->T * a->Dv, a->vs[2] = a->Dv;
        a->ys[0] = a->Hq * a->S * a->Dv, a->ys[1] = a->S * a->Dv, a->ys[2] = a->Dv;
    } else {
        a->Hq = infer_backend_attr_int(op, "q_num_heads", 0), a->Hkv = infer_backend_attr_int(op, "kv_num_heads", 0);
        if (a->Hq <= 0 || a->Hkv <= 0 || q->dims[2] % a->Hq || k->dims[2] % a->Hkv || v->dims[2] % a->Hkv) return 0;
        a->S = q->dims[1], a->D = q->dims[2] / a->Hq, a->T = k->dims[1], a->Dv = v->dims[2] / a->Hkv;
        a->qs[0] = a->S * a->Hq * a->D, a->qs[1] = a->D, a->qs[2] = a->Hq * a->D;
        a->ks[0] = a->T * a->Hkv * a->D, a->ks[1] = a->D, a->ks[2] = a->Hkv * a->D;
        a->vs[0] = a->T * a->Hkv * a->Dv, a->vs[1] = a->Dv, a->vs[2] = a->Hkv * a->Dv;
        a->ys[0] = a->S * a->Hq * a->Dv, a->ys[1] = a->Dv, a->ys[2] = a->Hq * a->Dv;
    }
    if (a->Hkv <= 0 || a->Hq % a->Hkv || a->D > INFER_CUDA_ATT_MAX_D || a->Dv > INFER_CUDA_ATT_MAX_D) return 0;
    a->causal = infer_backend_attr_int(op, "is_causal", 0) != 0;
    a->scale = infer_backend_attr_float(op, "scale", NAN);
    if (isnan(a->scale)) a->scale = a->D ? (float)(1.0 / sqrt((double)a->D)) : 1.0f;
    a->softcap = infer_backend_attr_float(op, "softcap", 0.0f);
    if (cu_present(op, 3)) {
        const infer_tensor *m = &op->inputs[3];
        const int64_t want[4] = {a->B, a->Hq, a->S, a->T};
        int64_t st = 1;
        if (m->dtype != INFER_DTYPE_F32 && m->dtype != INFER_DTYPE_BOOL) return 0;
        if (m->n_dims < 1 || m->n_dims > 4) return 0;
        a->mask_bool = m->dtype == INFER_DTYPE_BOOL;
        a->Tm = m->dims[m->n_dims - 1];
        for (i = 3; i >= 0; i--) {
            int mi = i - (4 - m->n_dims);
            int64_t d = mi >= 0 ? m->dims[mi] : 1;
            if (i < 3 && d != 1 && d != want[i]) return 0;
            a->ms[i] = d == 1 && i < 3 ? 0 : st;
            st *= d;
        }
    }
    return 1;
}

/* ===== MatMul / Gemm through cuBLAS (row-major C = A B is column-major C^T = B^T A^T) ===== */

/* the offsets (in matrices) of batch t's A and B */
static void cu_mm_offsets(int64_t t, int nb, const int64_t *bd, const int64_t *sa, const int64_t *sb, int64_t *oa,
                          int64_t *ob) {
    int i;
    *oa = *ob = 0;
    for (i = nb - 1; i >= 0; i--) {
        int64_t idx = t % bd[i];
        t /= bd[i];
        *oa += idx * sa[i];
        *ob += idx * sb[i];
    }
}

/* Column-major C = alpha A B + beta C in f32, at the session's precision (dev->compute):
   every GEMM of the backend goes through these two. */
static cublasStatus_t cu_sgemm(infer_cuda_dev *dev, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n,
                               int64_t k, const float *alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                               const float *beta, float *C, int64_t ldc) {
    return cublasGemmEx(dev->blas, ta, tb, (int)m, (int)n, (int)k, alpha, A, CUDA_R_32F, (int)lda, B, CUDA_R_32F, (int)ldb,
                        beta, C, CUDA_R_32F, (int)ldc, dev->compute, CUBLAS_GEMM_DEFAULT);
}
/* The strided-batched form, no transposes, alpha 1 and beta 0; half: A and B in the session's
   16-bit type (dev->half), summed in f32 */
static cublasStatus_t cu_gemm_batched(infer_cuda_dev *dev, int half, int64_t m, int64_t n, int64_t k, const void *A,
                                      int64_t lda, int64_t stride_a, const void *B, int64_t ldb, int64_t stride_b, float *C,
                                      int64_t ldc, int64_t stride_c, int64_t batch) {
    const float one = 1.0f, zero = 0.0f;
    cudaDataType t = !half ? CUDA_R_32F : dev->half == 2 ? CUDA_R_16BF : CUDA_R_16F;
    return cublasGemmStridedBatchedEx(dev->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)m, (int)n, (int)k, &one, A, t, (int)lda,
                                      (long long)stride_a, B, t, (int)ldb, (long long)stride_b, &zero, C, CUDA_R_32F,
                                      (int)ldc, (long long)stride_c, (int)batch, half ? CUBLAS_COMPUTE_32F : dev->compute,
                                      CUBLAS_GEMM_DEFAULT);
}

/* ----- f16 / bf16 GEMM inputs (precision F16 / BF16: dev->half) ----- */

template <typename T>
__global__ void cu_half_kernel(T *y, const float *x, int64_t n) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) cu_store(y + i, x[i]);
}

/* bytes of n elements in the 16-bit type, rounded up to the allocator's 256 */
static size_t cu_half_bytes(int64_t n) { return ((size_t)n * 2 + 255) / 256 * 256; }

/* x [n] f32 -> y [n] in the session's 16-bit type */
void infer_cuda_to_half(infer_cuda_dev *dev, void *y, const float *x, int64_t n) {
    if (n <= 0) return;
    if (dev->half == 2) INFER_CUDA_LAUNCH(cu_half_kernel<__nv_bfloat16>, cu_blocks(n, 256), 256, dev->stream)((__nv_bfloat16 *)y, x, n);
    else INFER_CUDA_LAUNCH(cu_half_kernel<__half>, cu_blocks(n, 256), 256, dev->stream)((__half *)y, x, n);
}

/* cu_sgemm on contiguous A [m*k] and B [k*n]; at F16/BF16, when the workspace holds them, on
   their 16-bit copies there (cuBLAS runs FAST_16F on f32 inputs at the TF32 rate); a16: A's
   16-bit copy made at prepare (a weight), or NULL */
static cublasStatus_t cu_gemm_once(infer_cuda_dev *dev, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n,
                                   int64_t k, const float *alpha, const float *A, const void *a16, int64_t lda,
                                   const float *B, int64_t ldb, const float *beta, float *C, int64_t ldc) {
    cudaDataType t = dev->half == 2 ? CUDA_R_16BF : CUDA_R_16F;
    const char *ah;
    char *bh;
    size_t abytes = a16 ? 0 : cu_half_bytes(m * k);
    if (!dev->half || abytes + cu_half_bytes(k * n) > dev->work_bytes)
        return cu_sgemm(dev, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    bh = (char *)dev->work + abytes;
    ah = a16 ? (const char *)a16 : (const char *)dev->work;
    if (!a16) infer_cuda_to_half(dev, (char *)dev->work, A, m * k);
    infer_cuda_to_half(dev, bh, B, k * n);
    return cublasGemmStridedBatchedEx(dev->blas, ta, tb, (int)m, (int)n, (int)k, alpha, ah, t, (int)lda, 0LL, bh, t,
                                      (int)ldb, 0LL, beta, C, CUDA_R_32F, (int)ldc, 0LL, 1, CUBLAS_COMPUTE_32F,
                                      CUBLAS_GEMM_DEFAULT);
}

/* numpy matmul geometry as infer.h's infer__mm_geometry: per-batch offsets of A and B come
   from the broadcast batch dims. Runs one strided-batched call when the offsets are
   arithmetic, else one call per batch (few: broadcast patterns models rarely use). */
static infer_status cu_matmul(infer_cuda_dev *dev, const infer_backend_op *op, const cu_state *s, char *err,
                              size_t err_size) {
    const infer_tensor *a = &op->inputs[0], *b = &op->inputs[1], *y = &op->outputs[0];
    int ra = a->n_dims, rb = b->n_dims, nb = (ra > rb ? ra : rb) - 2, i;
    int64_t m = ra == 1 ? 1 : a->dims[ra - 2], k = a->dims[ra - 1], n = rb == 1 ? 1 : b->dims[rb - 1];
    int64_t bd[INFER_CUDA_MAXR], sa[INFER_CUDA_MAXR], sb[INFER_CUDA_MAXR], stride_a = 1, stride_b = 1, n_batch = 1;
    int64_t t, off_a = 0, off_b = 0;
    int arith = 1, a_full = 1;
    const float one = 1.0f, zero = 0.0f;
    cublasStatus_t bs = CUBLAS_STATUS_SUCCESS;
    if (nb < 0) nb = 0;
    for (i = nb - 1; i >= 0; i--) {
        int ja = i - (nb - (ra - 2)), jb = i - (nb - (rb - 2));
        int64_t da = ja >= 0 ? a->dims[ja] : 1, db = jb >= 0 ? b->dims[jb] : 1;
        bd[i] = da == 1 ? db : da;
        sa[i] = da == 1 ? 0 : stride_a;
        sb[i] = db == 1 ? 0 : stride_b;
        stride_a *= da;
        stride_b *= db;
        n_batch *= bd[i];
    }
    if (m == 0 || n == 0 || n_batch == 0) return INFER_STATUS_OK;
    for (i = 0; i < nb; i++) a_full &= sa[i] != 0 || bd[i] == 1;
    if (k == 0) { /* an empty sum */
        cudaMemsetAsync(y->data, 0, (size_t)(n_batch * m * n) * sizeof(float), dev->stream);
    } else if (stride_b == 1 && a_full) {
        /* B is one matrix (weights) and A is not broadcast: every batch as one M = n_batch * m GEMM */
        bs = cu_gemm_once(dev, CUBLAS_OP_N, CUBLAS_OP_N, n, n_batch * m, k, &one, (const float *)b->data, s->w16, n,
                          (const float *)a->data, k, &zero, (float *)y->data, n);
    } else {
        int64_t oa[2] = {0, 0}, ob[2] = {0, 0};
        for (t = 0; t < n_batch; t++) { /* arithmetic offsets: one strided-batched call */
            cu_mm_offsets(t, nb, bd, sa, sb, &off_a, &off_b);
            if (t < 2) oa[t] = off_a, ob[t] = off_b;
            else if (off_a != oa[0] + t * (oa[1] - oa[0]) || off_b != ob[0] + t * (ob[1] - ob[0])) arith = 0;
        }
        if (arith)
            bs = cu_gemm_batched(dev, 0, n, m, k, (const float *)b->data + ob[0] * k * n, n, (ob[1] - ob[0]) * k * n,
                                 (const float *)a->data + oa[0] * m * k, k, (oa[1] - oa[0]) * m * k, (float *)y->data, n,
                                 m * n, n_batch);
        else
            for (t = 0; t < n_batch && bs == CUBLAS_STATUS_SUCCESS; t++) {
                cu_mm_offsets(t, nb, bd, sa, sb, &off_a, &off_b);
                bs = cu_sgemm(dev, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, (const float *)b->data + off_b * k * n, n,
                              (const float *)a->data + off_a * m * k, k, &zero, (float *)y->data + t * m * n, n);
            }
    }
    if (bs != CUBLAS_STATUS_SUCCESS)
        return infer_cuda_fail(err, err_size, INFER_STATUS_BACKEND, "cuBLAS: %s", cublasGetStatusString(bs));
    cu_bias_act(dev, (float *)y->data, n_batch * m * n, cu_present(op, 2) ? (const float *)op->inputs[2].data : NULL, n,
                1, s->code, s->alpha, s->beta);
    return INFER_STATUS_OK;
}

/* y[i][j] = beta * c[broadcast to m x n] (the Gemm's C term, before the product is added) */
__global__ void cu_gemm_c_kernel(float *y, const float *c, int64_t m, int64_t n, int64_t sm, int64_t sn, float beta) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < m * n) y[i] = beta * c[(i / n) * sm + (i % n) * sn];
}

static infer_status cu_gemm(infer_cuda_dev *dev, const infer_backend_op *op, const cu_state *s, char *err,
                            size_t err_size) {
    const infer_tensor *a = &op->inputs[0], *b = &op->inputs[1], *y = &op->outputs[0];
    int ta = infer_backend_attr_int(op, "transA", 0) != 0, tb = infer_backend_attr_int(op, "transB", 0) != 0;
    float alpha = infer_backend_attr_float(op, "alpha", 1.0f), beta = infer_backend_attr_float(op, "beta", 1.0f), bb = 0;
    int64_t m = y->dims[0], n = y->dims[1], k = a->dims[ta ? 0 : 1];
    cublasStatus_t bs;
    if (m == 0 || n == 0) return INFER_STATUS_OK;
    if (cu_present(op, 2) && beta != 0.0f) {
        const infer_tensor *c = &op->inputs[2];
        int64_t sm = 0, sn = 0;
        if (c->n_dims == 2) sm = c->dims[0] == 1 ? 0 : c->dims[1], sn = c->dims[1] == 1 ? 0 : 1;
        else if (c->n_dims == 1) sn = c->dims[0] == 1 ? 0 : 1;
        INFER_CUDA_LAUNCH(cu_gemm_c_kernel, cu_blocks(m * n, 256), 256, dev->stream)(
            (float *)y->data, (const float *)c->data, m, n, sm, sn, beta);
        bb = 1.0f;
    }
    if (k == 0) {
        if (bb == 0.0f) cudaMemsetAsync(y->data, 0, (size_t)(m * n) * sizeof(float), dev->stream);
    } else {
        /* row-major A [m][k] (transA: [k][m]) is column-major A^T with ld k (m) */
        bs = cu_gemm_once(dev, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha,
                          (const float *)b->data, s->w16, tb ? k : n, (const float *)a->data, ta ? m : k, &bb,
                          (float *)y->data, n);
        if (bs != CUBLAS_STATUS_SUCCESS)
            return infer_cuda_fail(err, err_size, INFER_STATUS_BACKEND, "cuBLAS: %s", cublasGetStatusString(bs));
    }
    cu_bias_act(dev, (float *)y->data, m * n, NULL, 1, 1, s->code, s->alpha, s->beta);
    return INFER_STATUS_OK;
}

/* ===== Conv ===== */

/* im2col columns per image: c * kh * kw * oh * ow floats; the 1x1, stride 1, unpadded case
   reads x directly */
static int cu_conv_direct(const cu_win *g) {
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0 && g->peh == 0 &&
           g->pew == 0;
}
static size_t cu_conv_col_bytes(const cu_win *g) { return (size_t)(g->c * g->kh * g->kw * g->oh * g->ow) * sizeof(float); }

static infer_status cu_conv(infer_cuda_dev *dev, const infer_backend_op *op, const cu_state *s, char *err,
                            size_t err_size) {
    const infer_tensor *x = &op->inputs[0], *w = &op->inputs[1], *y = &op->outputs[0];
    cu_win g;
    int64_t P, Kg, Mg, img, chunk, grp;
    size_t per_img, wbytes;
    int half;
    cublasStatus_t bs = CUBLAS_STATUS_SUCCESS;
    if (!cu_win_init(op, x, y, &g))
        return infer_cuda_fail(err, err_size, INFER_STATUS_UNSUPPORTED, "cuda Conv: attributes not supported");
    P = g.oh * g.ow;
    Kg = (g.c / g.group) * g.kh * g.kw;
    Mg = g.m / g.group;
    if (g.n == 0 || P == 0 || g.m == 0) return INFER_STATUS_OK;
    if (g.group > 1 && g.group == g.c) { /* depthwise (MobileNet, EfficientNet): direct, no GEMM per group */
        int64_t n = g.n * g.m * P;
        INFER_CUDA_LAUNCH(cu_dwconv_kernel, cu_blocks(n, 256), 256, dev->stream)(
            (float *)y->data, (const float *)x->data, (const float *)w->data, g);
        cu_bias_act(dev, (float *)y->data, n, cu_present(op, 2) ? (const float *)op->inputs[2].data : NULL, g.m, P,
                    s->code, s->alpha, s->beta);
        return INFER_STATUS_OK;
    }
    /* at F16/BF16 the im2col columns are written in the 16-bit type, after W converted to it,
       when the workspace holds W and one image's columns; 1x1 convs read x as it is (f32) */
    half = dev->half && !cu_conv_direct(&g);
    per_img = half ? cu_conv_col_bytes(&g) / 2 : cu_conv_col_bytes(&g);
    wbytes = half && !s->w16 ? cu_half_bytes(g.m * Kg) : 0; /* W converted beside the columns */
    if (half && wbytes + per_img > dev->work_bytes) half = 0, per_img *= 2, wbytes = 0;
    chunk = cu_conv_direct(&g) ? g.n : (int64_t)((dev->work_bytes - wbytes) / (per_img ? per_img : 1));
    if (chunk > g.n) chunk = g.n;
    if (chunk < 1)
        return infer_cuda_fail(err, err_size, INFER_STATUS_BACKEND, "cuda Conv: workspace %zu < %zu bytes", dev->work_bytes,
                               per_img);
    if (half && wbytes) infer_cuda_to_half(dev, dev->work, (const float *)w->data, g.m * Kg);
    for (img = 0; img < g.n && bs == CUBLAS_STATUS_SUCCESS; img += chunk) {
        int64_t nimg = g.n - img < chunk ? g.n - img : chunk, ck = g.c * g.kh * g.kw * P, es = half ? 2 : 4;
        const float *xi = (const float *)x->data + img * g.c * g.ih * g.iw;
        const char *col = (const char *)xi;
        const char *wk = !half ? (const char *)w->data : s->w16 ? (const char *)s->w16 : (const char *)dev->work;
        int threads = P >= 256 ? 256 : (int)((P + 31) / 32 * 32);
        unsigned rows = (unsigned)(nimg * g.c * g.kh * g.kw);
        if (!cu_conv_direct(&g)) {
            col = (const char *)dev->work + wbytes;
            if (!half) INFER_CUDA_LAUNCH(cu_im2col_kernel<float>, rows, threads, dev->stream)((float *)col, xi, g);
            else if (dev->half == 2)
                INFER_CUDA_LAUNCH(cu_im2col_kernel<__nv_bfloat16>, rows, threads, dev->stream)((__nv_bfloat16 *)col, xi, g);
            else INFER_CUDA_LAUNCH(cu_im2col_kernel<__half>, rows, threads, dev->stream)((__half *)col, xi, g);
        }
        /* per group: out [Mg][P] = W_g [Mg][Kg] x col_g [Kg][P], batched over the images */
        for (grp = 0; grp < g.group && bs == CUBLAS_STATUS_SUCCESS; grp++)
            bs = cu_gemm_batched(dev, half, P, Mg, Kg, col + grp * Kg * P * es, P, ck, wk + grp * Mg * Kg * es, Kg, 0,
                                 (float *)y->data + (img * g.m + grp * Mg) * P, P, g.m * P, nimg);
    }
    if (bs != CUBLAS_STATUS_SUCCESS)
        return infer_cuda_fail(err, err_size, INFER_STATUS_BACKEND, "cuBLAS: %s", cublasGetStatusString(bs));
    cu_bias_act(dev, (float *)y->data, g.n * g.m * P, cu_present(op, 2) ? (const float *)op->inputs[2].data : NULL, g.m, P,
                s->code, s->alpha, s->beta);
    return INFER_STATUS_OK;
}

/* ===== the table: supports / prepare / run ===== */

static const struct {
    const char *name;
    int code;
} cu_unaries[] = {{"Relu", U_RELU}, {"LeakyRelu", U_LEAKY_RELU}, {"Sigmoid", U_SIGMOID}, {"Tanh", U_TANH},
                  {"HardSigmoid", U_HARD_SIGMOID}, {"HardSwish", U_HARD_SWISH}, {"Gelu", U_GELU}, {"Erf", U_ERF},
                  {"Exp", U_EXP}, {"Log", U_LOG}, {"Sqrt", U_SQRT}, {"Neg", U_NEG}, {"Abs", U_ABS},
                  {"Reciprocal", U_RECIPROCAL}, {"Floor", U_FLOOR}, {"Ceil", U_CEIL}, {"Sin", U_SIN}, {"Cos", U_COS},
                  {"Softplus", U_SOFTPLUS}, {"Swish", U_SWISH}};
static const struct {
    const char *name;
    int code;
} cu_binaries[] = {{"Add", B_ADD}, {"Sub", B_SUB}, {"Mul", B_MUL}, {"Div", B_DIV}, {"Pow", B_POW}, {"Max", B_MAX},
                   {"Min", B_MIN}, {"Sum", B_ADD}, {"PRelu", B_PRELU}};

static int cu_read_ints(const infer_tensor *t, int64_t *out, int cap);

/* The op's kind and codes in *s, or CU_NONE when this backend does not take it. Checks
   dtypes, ranks and attributes, and reads the constant inputs the host needs (Slice's
   starts, ends, axes, steps; Reduce's axes) from the device: shape inference read them,
   so they are constants, uploaded before supports() and prepare() (creation time only). */
static int cu_classify(const infer_backend_op *op, cu_state *s) {
    const char *t = op->op_type;
    size_t i;
    memset(s, 0, sizeof *s);
    if (op->n_inputs < 1 || op->n_outputs < 1 || !op->outputs[0].data) return CU_NONE;
    for (i = 1; i < op->n_outputs; i++) /* optional outputs only where handled below */
        if (op->outputs[i].data && strcmp(t, "LayerNormalization") && strcmp(t, "Split")) return CU_NONE;
    if (!strcmp(t, "Reshape") || !strcmp(t, "Flatten") || !strcmp(t, "Squeeze") || !strcmp(t, "Unsqueeze") ||
        !strcmp(t, "Identity"))
        return op->inputs[0].dtype == op->outputs[0].dtype && cu_elem_bytes(op->inputs[0].dtype) ? CU_COPY : CU_NONE;
    if (!strcmp(t, "Cast")) {
        infer_dtype x = op->inputs[0].dtype;
        return op->outputs[0].dtype == INFER_DTYPE_F32 && (x == INFER_DTYPE_F32 || x == INFER_DTYPE_I64 ||
               x == INFER_DTYPE_I32 || x == INFER_DTYPE_I8 || x == INFER_DTYPE_U8 || x == INFER_DTYPE_BOOL)
                   ? CU_CAST : CU_NONE;
    }
    for (i = 0; i < op->n_inputs; i++) /* everything below is f32 in, f32 out, but for index inputs */
        if (op->inputs[i].data && op->inputs[i].dtype != INFER_DTYPE_F32 && !(i > 0 && (!strcmp(t, "Gather") ||
            !strcmp(t, "Slice") || !strcmp(t, "ReduceMean") || !strcmp(t, "ReduceSum") || !strcmp(t, "ReduceMax") ||
            !strcmp(t, "Split") || !strcmp(t, "Expand") ||
            (!strcmp(t, "Attention") && i == 3))))
            return CU_NONE;
    for (i = 0; i < op->n_outputs; i++)
        if (op->outputs[i].data && op->outputs[i].dtype != INFER_DTYPE_F32) return CU_NONE;
    for (i = 0; i < sizeof cu_unaries / sizeof cu_unaries[0]; i++)
        if (!strcmp(t, cu_unaries[i].name)) {
            s->code = cu_unaries[i].code;
            s->alpha = infer_backend_attr_float(op, "alpha", s->code == U_LEAKY_RELU ? 0.01f : s->code == U_SWISH ? 1.0f : 0.2f);
            s->beta = infer_backend_attr_float(op, "beta", 0.5f);
            if (s->code == U_GELU) {
                const char *a = infer_backend_attr_string(op, "approximate", "none");
                if (!strcmp(a, "tanh")) s->code = U_GELU_TANH;
                else if (strcmp(a, "none")) return CU_NONE;
            }
            return CU_UNARY;
        }
    for (i = 0; i < sizeof cu_binaries / sizeof cu_binaries[0]; i++)
        if (!strcmp(t, cu_binaries[i].name)) {
            s->code = cu_binaries[i].code;
            if (op->n_inputs != 2 || !cu_present(op, 1) || op->outputs[0].n_dims > INFER_CUDA_EW_RANK) return CU_NONE;
            return CU_BINARY;
        }
    if (!strcmp(t, "Softmax") || !strcmp(t, "LogSoftmax")) {
        s->code = !strcmp(t, "LogSoftmax");
        return op->inputs[0].n_dims >= 1 && cu_axis(infer_backend_attr_int(op, "axis", -1), op->inputs[0].n_dims) >= 0
                   ? CU_SOFTMAX : CU_NONE;
    }
    if (!strcmp(t, "Clip")) { /* min and max: f32 scalars or absent */
        for (i = 1; i < op->n_inputs && i < 3; i++)
            if (cu_present(op, i) && cu_numel(&op->inputs[i]) != 1) return CU_NONE;
        return CU_CLIP;
    }
    if (!strcmp(t, "Expand")) { /* the shape input (i64) was read by shape inference: y's dims */
        const infer_tensor *x = &op->inputs[0], *y = &op->outputs[0];
        if (y->n_dims > INFER_CUDA_MAXR || x->n_dims > y->n_dims) return CU_NONE;
        return CU_EXPAND;
    }
    if (!strcmp(t, "BatchNormalization")) {
        if (op->n_inputs != 5 || op->inputs[0].n_dims < 2 || infer_backend_attr_int(op, "training_mode", 0)) return CU_NONE;
        for (i = 1; i < 5; i++)
            if (!cu_present(op, i) || cu_numel(&op->inputs[i]) != op->inputs[0].dims[1]) return CU_NONE;
        s->alpha = infer_backend_attr_float(op, "epsilon", 1e-5f);
        return CU_BATCH_NORM;
    }
    if (!strcmp(t, "RMSNormalization")) { /* a scale of the normalised shape (or one value) */
        const infer_tensor *x = &op->inputs[0], *sc = &op->inputs[1];
        int ax = cu_axis(infer_backend_attr_int(op, "axis", -1), x->n_dims), k;
        if (ax < 0 || !cu_present(op, 1)) return CU_NONE;
        if (cu_numel(sc) != 1) {
            if (cu_numel(sc) != cu_prod(x->dims, ax, x->n_dims) || sc->n_dims > x->n_dims) return CU_NONE;
            for (k = 0; k < sc->n_dims; k++) /* its trailing dims are X's from the axis on */
                if (sc->dims[k] != x->dims[x->n_dims - sc->n_dims + k] && sc->dims[k] != 1) return CU_NONE;
            if (sc->n_dims - (x->n_dims - ax) > 0)
                for (k = 0; k < sc->n_dims - (x->n_dims - ax); k++)
                    if (sc->dims[k] != 1) return CU_NONE;
        }
        s->alpha = infer_backend_attr_float(op, "epsilon", 1e-5f);
        return CU_RMS_NORM;
    }
    if (!strcmp(t, "LayerNormalization")) {
        int64_t len;
        int ax = cu_axis(infer_backend_attr_int(op, "axis", -1), op->inputs[0].n_dims);
        if (ax < 0 || !cu_present(op, 1)) return CU_NONE;
        len = cu_prod(op->inputs[0].dims, ax, op->inputs[0].n_dims);
        for (i = 1; i < 3; i++)
            if (cu_present(op, i) && cu_numel(&op->inputs[i]) != len && cu_numel(&op->inputs[i]) != 1) return CU_NONE;
        s->alpha = infer_backend_attr_float(op, "epsilon", 1e-5f);
        return CU_LAYER_NORM;
    }
    if (!strcmp(t, "MatMul") || !strcmp(t, "Gemm") || !strcmp(t, "Conv")) {
        s->code = cu_act_code(op, &s->alpha, &s->beta);
        if (s->code < 0) return CU_NONE;
        if (cu_numel(&op->outputs[0]) > 0x7fffffff || cu_numel(&op->inputs[0]) > 0x7fffffff ||
            cu_numel(&op->inputs[1]) > 0x7fffffff) /* cuBLAS takes int sizes and leading dimensions */
            return CU_NONE;
        if (!strcmp(t, "MatMul"))
            return op->inputs[0].n_dims >= 1 && op->inputs[1].n_dims >= 1 ? CU_MATMUL : CU_NONE;
        if (!strcmp(t, "Gemm")) return op->inputs[0].n_dims == 2 && op->inputs[1].n_dims == 2 ? CU_GEMM : CU_NONE;
        {
            cu_win g;
            return op->n_inputs >= 2 && cu_win_init(op, &op->inputs[0], &op->outputs[0], &g) &&
                   op->inputs[1].n_dims == op->inputs[0].n_dims && op->inputs[1].dims[1] * g.group == g.c
                   ? CU_CONV : CU_NONE;
        }
    }
    if (!strcmp(t, "MaxPool") || !strcmp(t, "AveragePool")) {
        cu_win g;
        s->code = !strcmp(t, "MaxPool");
        return cu_win_init(op, &op->inputs[0], &op->outputs[0], &g) && g.c == g.m ? CU_POOL : CU_NONE;
    }
    if (!strcmp(t, "GlobalAveragePool") || !strcmp(t, "GlobalMaxPool")) {
        s->code = !strcmp(t, "GlobalMaxPool") ? 2 : 1;
        return op->inputs[0].n_dims >= 3 ? CU_GLOBAL_POOL : CU_NONE;
    }
    if (!strcmp(t, "ReduceMean") || !strcmp(t, "ReduceSum") || !strcmp(t, "ReduceMax")) {
        int64_t axes[INFER_CUDA_MAXR];
        int r = op->inputs[0].n_dims, n = 0, lo = -1, hi = -1, k;
        s->code = !strcmp(t, "ReduceMean") ? 1 : !strcmp(t, "ReduceMax") ? 2 : 0;
        if (cu_present(op, 1) && op->inputs[1].dtype != INFER_DTYPE_I64) return CU_NONE;
        if (cu_present(op, 1) && (n = cu_read_ints(&op->inputs[1], axes, INFER_CUDA_MAXR)) < 0) return CU_NONE;
        for (k = 0; k < n; k++) {
            int ax = cu_axis(axes[k], r);
            if (ax < 0) return CU_NONE;
            s->reduce_mask |= 1u << ax;
        }
        if (n == 0) s->reduce_mask = infer_backend_attr_int(op, "noop_with_empty_axes", 0) ? 0 : (1u << r) - 1;
        for (k = 0; k < r; k++) /* the reduced axes must be one run: x as [outer][len][inner] */
            if (s->reduce_mask >> k & 1u) {
                if (lo < 0) lo = k;
                else if (hi != k - 1) return CU_NONE;
                hi = k;
            }
        return CU_REDUCE;
    }
    if (!strcmp(t, "Transpose")) return CU_TRANSPOSE;
    if (!strcmp(t, "Concat")) {
        for (i = 0; i < op->n_inputs; i++)
            if (!op->inputs[i].data && cu_numel(&op->inputs[i]) != 0) return CU_NONE;
        return cu_axis(infer_backend_attr_int(op, "axis", 0), op->outputs[0].n_dims) >= 0 ? CU_CONCAT : CU_NONE;
    }
    if (!strcmp(t, "Slice")) {
        int r = op->inputs[0].n_dims, k;
        for (i = 1; i < op->n_inputs; i++)
            if (cu_present(op, i) && op->inputs[i].dtype != INFER_DTYPE_I64 && op->inputs[i].dtype != INFER_DTYPE_I32)
                return CU_NONE;
        if (op->n_inputs < 3 || !cu_present(op, 1) || !cu_present(op, 2)) return CU_NONE;
        s->n_slice = cu_read_ints(&op->inputs[1], s->starts, INFER_CUDA_MAXR);
        if (s->n_slice < 0 || cu_read_ints(&op->inputs[2], s->ends, INFER_CUDA_MAXR) != s->n_slice) return CU_NONE;
        for (k = 0; k < s->n_slice; k++) s->axes[k] = k, s->steps[k] = 1;
        if (cu_present(op, 3) && cu_read_ints(&op->inputs[3], s->axes, INFER_CUDA_MAXR) != s->n_slice) return CU_NONE;
        if (cu_present(op, 4) && cu_read_ints(&op->inputs[4], s->steps, INFER_CUDA_MAXR) != s->n_slice) return CU_NONE;
        for (k = 0; k < s->n_slice; k++)
            if ((s->axes[k] = cu_axis(s->axes[k], r)) < 0 || s->steps[k] == 0) return CU_NONE;
        return CU_SLICE;
    }
    if (!strcmp(t, "Split")) /* the output dims give the sizes */
        return cu_axis(infer_backend_attr_int(op, "axis", 0), op->inputs[0].n_dims) >= 0 ? CU_SPLIT : CU_NONE;
    if (!strcmp(t, "Gather")) {
        if (op->inputs[1].dtype != INFER_DTYPE_I64 && op->inputs[1].dtype != INFER_DTYPE_I32) return CU_NONE;
        return cu_axis(infer_backend_attr_int(op, "axis", 0), op->inputs[0].n_dims) >= 0 ? CU_GATHER : CU_NONE;
    }
    if (!strcmp(t, "Attention")) {
        cu_att a;
        for (i = 4; i < op->n_inputs; i++)
            if (op->inputs[i].data) return CU_NONE;
        if (op->n_inputs < 3 || !cu_att_init(op, &a) || a.S > (int64_t)65535 * CU_ATT_WARPS) return CU_NONE;
        return CU_ATTENTION;
    }
    return CU_NONE;
}

int infer_cuda_op_supports(infer_cuda_dev *dev, const infer_backend_op *op) {
    cu_state s;
    return cu_classify(op, &s) != CU_NONE || infer_cuda_coll_supports(dev, op);
}

/* Reads a small constant int tensor (i32 or i64) from the device (creation time only), or -1. */
static int cu_read_ints(const infer_tensor *t, int64_t *out, int cap) {
    int64_t n = cu_numel(t), i;
    int32_t tmp32[INFER_CUDA_MAXR];
    if (n > cap) return -1;
    if (t->dtype == INFER_DTYPE_I64) {
        if (n && cudaMemcpy(out, t->data, (size_t)n * 8, cudaMemcpyDeviceToHost) != cudaSuccess) goto fail;
    } else {
        if (n && cudaMemcpy(tmp32, t->data, (size_t)n * 4, cudaMemcpyDeviceToHost) != cudaSuccess) goto fail;
        for (i = 0; i < n; i++) out[i] = tmp32[i];
    }
    return (int)n;
fail:
    cudaGetLastError();
    return -1;
}

infer_status infer_cuda_op_prepare(infer_cuda_dev *dev, const infer_backend_op *op, void **state, char *err,
                                   size_t err_size) {
    cu_state *s = (cu_state *)calloc(1, sizeof *s);
    *state = NULL;
    if (!s) return infer_cuda_fail(err, err_size, INFER_STATUS_OUT_OF_MEMORY, "cuda: out of host memory");
    s->kind = cu_classify(op, s);
    if (s->kind == CU_NONE && infer_cuda_coll_supports(dev, op)) {
        infer_status st;
        s->kind = CU_COLLECTIVE;
        if ((st = infer_cuda_work_reserve(dev, infer_cuda_coll_work(op), err, err_size))) {
            free(s);
            return st;
        }
    }
    if (s->kind == CU_NONE) {
        free(s);
        return infer_cuda_fail(err, err_size, INFER_STATUS_UNSUPPORTED, "cuda: %s is not supported", op->op_type);
    }
    if (s->kind == CU_CONV) {
        cu_win g;
        infer_status st;
        cu_win_init(op, &op->inputs[0], &op->outputs[0], &g);
        if (!cu_conv_direct(&g) && !(g.group > 1 && g.group == g.c)) {
            size_t per = cu_conv_col_bytes(&g), want = per * (size_t)(g.n > 0 ? g.n : 1);
            if (want > INFER_CUDA_CONV_WORK) want = per > INFER_CUDA_CONV_WORK ? per : INFER_CUDA_CONV_WORK / per * per;
            /* at F16/BF16: W in 16 bits beside the columns (which then take half of this) */
            if (dev->half) want += cu_half_bytes(cu_numel(&op->inputs[1]));
            if ((st = infer_cuda_work_reserve(dev, want, err, err_size))) {
                free(s);
                return st;
            }
            /* the weight (an uploaded constant) in 16 bits once, not on each run */
            if (dev->half) s->w16 = infer_cuda_upload_half(dev, op->inputs[1].data, cu_numel(&op->inputs[1]));
        }
    }
    if (dev->half && (s->kind == CU_MATMUL || s->kind == CU_GEMM)) { /* A and B in 16 bits, when not too large */
        size_t want = cu_half_bytes(cu_numel(&op->inputs[0])) + cu_half_bytes(cu_numel(&op->inputs[1]));
        infer_status st;
        if (want <= INFER_CUDA_CONV_WORK && (st = infer_cuda_work_reserve(dev, want, err, err_size))) {
            free(s);
            return st;
        }
        if (s->kind == CU_GEMM || op->inputs[1].n_dims == 2) /* B a weight matrix: once in 16 bits, as Conv's W */
            s->w16 = infer_cuda_upload_half(dev, op->inputs[1].data, cu_numel(&op->inputs[1]));
    }
    *state = s;
    return INFER_STATUS_OK;
}

void infer_cuda_op_unprepare(void *state) { free(state); }

static infer_status cu_copy(infer_cuda_dev *dev, void *dst, const void *src, size_t bytes) {
    if (dst != src && bytes) cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, dev->stream);
    return INFER_STATUS_OK;
}

/* Transpose and Slice: one gather through cu_index_kernel */
static void cu_index_run(infer_cuda_dev *dev, const infer_backend_op *op, const cu_index *g) {
    int64_t n = cu_numel(&op->outputs[0]);
    if (n > 0)
        INFER_CUDA_LAUNCH(cu_index_kernel, cu_blocks(n, 256), 256, dev->stream)(
            (unsigned char *)op->outputs[0].data, (const unsigned char *)op->inputs[0].data, n, *g, 4);
}

infer_status infer_cuda_op_run(infer_cuda_dev *dev, const infer_backend_op *op, void *state, char *err,
                               size_t err_size) {
    const cu_state *s = (const cu_state *)state;
    const infer_tensor *x = &op->inputs[0], *y = &op->outputs[0];
    int64_t n = cu_numel(y), instr[INFER_CUDA_MAXR];
    int r = x->n_dims, i;
    if (!s) return infer_cuda_fail(err, err_size, INFER_STATUS_BACKEND, "cuda: %s was not prepared", op->op_type);
    switch (s->kind) {
    case CU_COPY: return cu_copy(dev, y->data, x->data, (size_t)n * cu_elem_bytes(y->dtype));
    case CU_UNARY:
        if (n > 0)
            INFER_CUDA_LAUNCH(cu_unary_kernel, cu_blocks(n, 256), 256, dev->stream)(
                (float *)y->data, (const float *)x->data, n, s->code, s->alpha, s->beta);
        return INFER_STATUS_OK;
    case CU_BINARY: {
        cu_bcast g;
        if (!cu_bcast_init(y, &op->inputs[0], &op->inputs[1], &g))
            return infer_cuda_fail(err, err_size, INFER_STATUS_UNSUPPORTED, "cuda %s: rank over 6", op->op_type);
        if (n > 0)
            INFER_CUDA_LAUNCH(cu_binary_kernel, cu_blocks(n, 256), 256, dev->stream)(
                (float *)y->data, (const float *)x->data, (const float *)op->inputs[1].data, n, g, s->code);
        return INFER_STATUS_OK;
    }
    case CU_SOFTMAX: {
        int ax = cu_axis(infer_backend_attr_int(op, "axis", -1), r);
        int64_t len = x->dims[ax], inner = cu_prod(x->dims, ax + 1, r), rows = cu_prod(x->dims, 0, ax) * inner;
        if (rows > 0 && len > 0)
            INFER_CUDA_LAUNCH(cu_softmax_kernel, (unsigned)rows, CU_RED_THREADS, dev->stream)(
                (float *)y->data, (const float *)x->data, len, inner, s->code);
        return INFER_STATUS_OK;
    }
    case CU_LAYER_NORM: {
        int ax = cu_axis(infer_backend_attr_int(op, "axis", -1), r);
        int64_t len = cu_prod(x->dims, ax, r), rows = cu_prod(x->dims, 0, ax);
        const infer_tensor *sc = &op->inputs[1];
        const float *bias = cu_present(op, 2) ? (const float *)op->inputs[2].data : NULL;
        if (rows > 0)
            INFER_CUDA_LAUNCH(cu_layer_norm_kernel, (unsigned)rows, CU_RED_THREADS, dev->stream)(
                (float *)y->data, (const float *)x->data, len, (const float *)sc->data, cu_numel(sc) == 1 ? 0 : 1, bias,
                bias && cu_numel(&op->inputs[2]) == 1 ? 0 : 1, s->alpha,
                cu_out_present(op, 1) ? (float *)op->outputs[1].data : NULL,
                cu_out_present(op, 2) ? (float *)op->outputs[2].data : NULL);
        return INFER_STATUS_OK;
    }
    case CU_MATMUL: return cu_matmul(dev, op, s, err, err_size);
    case CU_GEMM: return cu_gemm(dev, op, s, err, err_size);
    case CU_CONV: return cu_conv(dev, op, s, err, err_size);
    case CU_POOL: {
        cu_win g;
        if (!cu_win_init(op, x, y, &g))
            return infer_cuda_fail(err, err_size, INFER_STATUS_UNSUPPORTED, "cuda %s: attributes", op->op_type);
        if (n > 0)
            INFER_CUDA_LAUNCH(cu_pool_kernel, cu_blocks(n, 256), 256, dev->stream)(
                (float *)y->data, (const float *)x->data, g, s->code,
                infer_backend_attr_int(op, "count_include_pad", 0) != 0);
        return INFER_STATUS_OK;
    }
    case CU_GLOBAL_POOL: {
        int64_t rows = x->dims[0] * x->dims[1], len = cu_prod(x->dims, 2, r);
        if (rows > 0)
            INFER_CUDA_LAUNCH(cu_reduce_kernel, (unsigned)rows, CU_RED_THREADS, dev->stream)(
                (float *)y->data, (const float *)x->data, len, 1, s->code);
        return INFER_STATUS_OK;
    }
    case CU_REDUCE: {
        /* one run of reduced axes (cu_classify checked): x as [outer][len][inner] */
        int lo = -1, hi = -1;
        int64_t len, inner, outer;
        for (i = 0; i < r; i++)
            if (s->reduce_mask >> i & 1u) {
                if (lo < 0) lo = i;
                hi = i;
            }
        if (lo < 0) return cu_copy(dev, y->data, x->data, (size_t)n * sizeof(float)); /* noop_with_empty_axes */
        outer = cu_prod(x->dims, 0, lo), len = cu_prod(x->dims, lo, hi + 1), inner = cu_prod(x->dims, hi + 1, r);
        if (outer * inner > 0)
            INFER_CUDA_LAUNCH(cu_reduce_kernel, (unsigned)(outer * inner), CU_RED_THREADS, dev->stream)(
                (float *)y->data, (const float *)x->data, len, inner, s->code);
        return INFER_STATUS_OK;
    }
    case CU_TRANSPOSE: {
        int64_t perm[INFER_CUDA_MAXR];
        cu_index g;
        int np = (int)infer_backend_attr_ints(op, "perm", perm, INFER_CUDA_MAXR);
        if (np == -1)
            for (i = 0; i < r; i++) perm[i] = r - 1 - i;
        else if (np != r)
            return infer_cuda_fail(err, err_size, INFER_STATUS_UNSUPPORTED, "cuda Transpose: perm");
        for (i = r - 1; i >= 0; i--) instr[i] = i == r - 1 ? 1 : instr[i + 1] * x->dims[i + 1];
        for (i = 0; i < r; i++)
            if (perm[i] < 0 || perm[i] >= r)
                return infer_cuda_fail(err, err_size, INFER_STATUS_UNSUPPORTED, "cuda Transpose: perm");
        g.r = r;
        g.base = 0;
        for (i = 0; i < r; i++) g.dims[i] = y->dims[i], g.stride[i] = instr[perm[i]];
        if (r == 0) g.r = 1, g.dims[0] = 1, g.stride[0] = 0;
        cu_index_run(dev, op, &g);
        return INFER_STATUS_OK;
    }
    case CU_SLICE: {
        /* ONNX Slice: per listed axis, start/end clamped by the step's direction; the
           output dims (already inferred) give the counts */
        cu_index g;
        for (i = r - 1; i >= 0; i--) instr[i] = i == r - 1 ? 1 : instr[i + 1] * x->dims[i + 1];
        g.r = r;
        g.base = 0;
        for (i = 0; i < r; i++) g.dims[i] = y->dims[i], g.stride[i] = instr[i];
        for (i = 0; i < s->n_slice; i++) {
            int a = (int)s->axes[i];
            int64_t d = x->dims[a], st = s->starts[i], step = s->steps[i];
            if (st < 0) st += d;
            if (step > 0) st = st < 0 ? 0 : st > d ? d : st;
            else st = st < 0 ? 0 : st > d - 1 ? d - 1 : st;
            g.base += st * instr[a];
            g.stride[a] = step * instr[a];
        }
        if (r == 0) g.r = 1, g.dims[0] = 1, g.stride[0] = 0;
        cu_index_run(dev, op, &g);
        return INFER_STATUS_OK;
    }
    case CU_CONCAT:
    case CU_SPLIT: {
        /* Concat: input k's [outer][len_k * inner] block to columns [at, at + len_k) of y;
           Split: the other way round, from x to output k */
        const infer_tensor *whole = s->kind == CU_CONCAT ? y : x, *parts = s->kind == CU_CONCAT ? op->inputs : op->outputs;
        size_t n_parts = s->kind == CU_CONCAT ? op->n_inputs : op->n_outputs, k;
        int ax = cu_axis(infer_backend_attr_int(op, "axis", 0), whole->n_dims);
        int64_t outer = cu_prod(whole->dims, 0, ax), inner = cu_prod(whole->dims, ax + 1, whole->n_dims), at = 0;
        size_t wrow = (size_t)(whole->dims[ax] * inner) * sizeof(float);
        for (k = 0; k < n_parts; k++) {
            const infer_tensor *t = &parts[k];
            int64_t len = t->n_dims > ax ? t->dims[ax] : 0;
            size_t prow = (size_t)(len * inner) * sizeof(float);
            float *wp = (float *)whole->data + at * inner;
            at += len;
            if (len * inner * outer == 0 || !t->data) continue; /* empty, or an unused output */
            if (outer == 1) cudaMemcpyAsync(s->kind == CU_CONCAT ? wp : t->data, s->kind == CU_CONCAT ? t->data : wp, prow,
                                            cudaMemcpyDeviceToDevice, dev->stream);
            else if (s->kind == CU_CONCAT)
                cudaMemcpy2DAsync(wp, wrow, t->data, prow, prow, (size_t)outer, cudaMemcpyDeviceToDevice, dev->stream);
            else
                cudaMemcpy2DAsync(t->data, prow, wp, wrow, prow, (size_t)outer, cudaMemcpyDeviceToDevice, dev->stream);
        }
        return INFER_STATUS_OK;
    }
    case CU_CLIP:
        if (n > 0)
            INFER_CUDA_LAUNCH(cu_clip_kernel, cu_blocks(n, 256), 256, dev->stream)(
                (float *)y->data, (const float *)x->data, n,
                cu_present(op, 1) ? (const float *)op->inputs[1].data : (const float *)NULL,
                cu_present(op, 2) ? (const float *)op->inputs[2].data : (const float *)NULL);
        return INFER_STATUS_OK;
    case CU_BATCH_NORM:
        if (n > 0)
            INFER_CUDA_LAUNCH(cu_batch_norm_kernel, cu_blocks(n, 256), 256, dev->stream)(
                (float *)y->data, (const float *)x->data, n, x->dims[1], cu_prod(x->dims, 2, r),
                (const float *)op->inputs[1].data, (const float *)op->inputs[2].data, (const float *)op->inputs[3].data,
                (const float *)op->inputs[4].data, s->alpha);
        return INFER_STATUS_OK;
    case CU_RMS_NORM: {
        int ax = cu_axis(infer_backend_attr_int(op, "axis", -1), r);
        int64_t len = cu_prod(x->dims, ax, r), rows = cu_prod(x->dims, 0, ax);
        if (rows > 0)
            INFER_CUDA_LAUNCH(cu_rms_norm_kernel, (unsigned)rows, CU_RED_THREADS, dev->stream)(
                (float *)y->data, (const float *)x->data, len, (const float *)op->inputs[1].data,
                cu_numel(&op->inputs[1]) == 1 ? 0 : 1, s->alpha);
        return INFER_STATUS_OK;
    }
    case CU_EXPAND: { /* numpy broadcasting of x to y's dims: stride 0 along the broadcast axes */
        cu_index g;
        int ry = y->n_dims, k;
        int64_t st = 1;
        g.r = ry;
        g.base = 0;
        for (k = ry - 1; k >= 0; k--) {
            int kx = k - (ry - r);
            int64_t d = kx >= 0 ? x->dims[kx] : 1;
            g.dims[k] = y->dims[k];
            g.stride[k] = d == 1 ? 0 : st;
            st *= d;
        }
        if (ry == 0) g.r = 1, g.dims[0] = 1, g.stride[0] = 0;
        cu_index_run(dev, op, &g);
        return INFER_STATUS_OK;
    }
    case CU_CAST:
        if (n > 0)
            INFER_CUDA_LAUNCH(cu_cast_kernel, cu_blocks(n, 256), 256, dev->stream)(
                (float *)y->data, x->data, (int)x->dtype, n);
        return INFER_STATUS_OK;
    case CU_GATHER: {
        int ax = cu_axis(infer_backend_attr_int(op, "axis", 0), r);
        const infer_tensor *ix = &op->inputs[1];
        if (n > 0)
            INFER_CUDA_LAUNCH(cu_gather_kernel, cu_blocks(n, 256), 256, dev->stream)(
                (float *)y->data, (const float *)x->data, ix->data, ix->dtype == INFER_DTYPE_I64, cu_numel(ix),
                x->dims[ax], cu_prod(x->dims, ax + 1, r), n, dev->bad_dev);
        return INFER_STATUS_OK;
    }
    case CU_ATTENTION: {
        cu_att a;
        dim3 grid;
        if (!cu_att_init(op, &a)) return infer_cuda_fail(err, err_size, INFER_STATUS_UNSUPPORTED, "cuda Attention: shapes");
        if (a.B * a.Hq == 0 || a.S == 0 || a.Dv == 0) return INFER_STATUS_OK;
        grid.x = (unsigned)(a.B * a.Hq);
        grid.z = 1;
        if (a.D <= CU_ATT_TD && a.Dv <= CU_ATT_TD) {
            grid.y = (unsigned)((a.S + CU_ATT_BQ - 1) / CU_ATT_BQ);
            INFER_CUDA_LAUNCH(cu_attention_tiled_kernel, grid, CU_ATT_BQ, dev->stream)(
                (float *)y->data, (const float *)x->data, (const float *)op->inputs[1].data,
                (const float *)op->inputs[2].data, cu_present(op, 3) ? op->inputs[3].data : NULL, a);
        } else {
            grid.y = (unsigned)((a.S + CU_ATT_WARPS - 1) / CU_ATT_WARPS);
            INFER_CUDA_LAUNCH(cu_attention_kernel, grid, 32 * CU_ATT_WARPS, dev->stream)(
                (float *)y->data, (const float *)x->data, (const float *)op->inputs[1].data,
                (const float *)op->inputs[2].data, cu_present(op, 3) ? op->inputs[3].data : NULL, a);
        }
        return INFER_STATUS_OK;
    }
    case CU_COLLECTIVE: return infer_cuda_coll_run(dev, op, err, err_size);
    default: return infer_cuda_fail(err, err_size, INFER_STATUS_UNSUPPORTED, "cuda: %s is not supported", op->op_type);
    }
}
