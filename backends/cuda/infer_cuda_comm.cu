/* backends/cuda/infer_cuda_comm.cu - device collectives for in-process tensor parallelism
   (infer.h section 8) over NCCL: one communicator per rank from ncclCommInitAll over the
   ranks' GPUs (comm_create), handed to each rank's device (comm_attach); the AllReduce and
   AllGather nodes of a rank's graph then run as NCCL calls on the session's stream, the
   data never leaving the GPUs. Built when make cuda finds nccl.h (INFER_CUDA_NCCL); without
   it the backend offers no device collectives and the runtime runs those nodes on the
   host (copies out, the in-process communicator, copies in).
   Before each call the rank waits at its host communicator's barrier: if another rank has
   stopped (failed or cancelled), the barrier fails and nothing is enqueued, so no NCCL
   kernel ever waits on the GPU for a partner that will not come. A device with NCCL nodes
   is not captured into a CUDA graph (the barrier runs on the host, at enqueue time). */
#include <stdlib.h>
#include <string.h>

#include "infer_cuda_impl.h"

#if INFER_CUDA_NCCL

typedef struct infer_cuda_group {
    int n;
    ncclComm_t comm[1]; /* [n]: rank r's */
} infer_cuda_group;

static void *infer_cuda_comm_create_fn(void *user, const int *devices, int n, char *err, size_t err_size) {
    infer_cuda_group *g;
    ncclResult_t r;
    int cur = -1;
    (void)user;
    if (n < 2 || !(g = (infer_cuda_group *)calloc(1, sizeof *g + (size_t)(n - 1) * sizeof(ncclComm_t)))) {
        infer_cuda_fail(err, err_size, INFER_STATUS_OUT_OF_MEMORY, n < 2 ? "fewer than two ranks" : "out of host memory");
        return NULL;
    }
    g->n = n;
    if (cudaGetDevice(&cur) != cudaSuccess) cur = -1;
    r = ncclCommInitAll(g->comm, n, devices); /* one call for every rank's GPU, from this thread */
    if (cur >= 0) cudaSetDevice(cur);
    cudaGetLastError();
    if (r != ncclSuccess) {
        infer_cuda_fail(err, err_size, INFER_STATUS_BACKEND, "ncclCommInitAll over %d GPUs: %s", n, ncclGetErrorString(r));
        free(g);
        return NULL;
    }
    return g;
}

static infer_status infer_cuda_comm_attach_fn(void *d, void *group, int rank, const infer_comm *host, char *err,
                                              size_t err_size) {
    infer_cuda_dev *dev = (infer_cuda_dev *)d;
    infer_cuda_group *g = (infer_cuda_group *)group;
    int cu = -1;
    if (!g || rank < 0 || rank >= g->n || !host || !host->barrier)
        return infer_cuda_fail(err, err_size, INFER_STATUS_INVALID_ARGUMENT, "rank %d of a group of %d, or no host barrier",
                               rank, g ? g->n : 0);
    if (ncclCommCuDevice(g->comm[rank], &cu) != ncclSuccess || cu != dev->device)
        return infer_cuda_fail(err, err_size, INFER_STATUS_INVALID_ARGUMENT, "rank %d's NCCL communicator is on GPU %d, "
                               "the session on GPU %d", rank, cu, dev->device);
    dev->nccl = g->comm[rank];
    dev->host_comm = host;
    return INFER_STATUS_OK;
}

static void infer_cuda_comm_destroy_fn(void *user, void *group) {
    infer_cuda_group *g = (infer_cuda_group *)group;
    int r;
    (void)user;
    if (!g) return;
    for (r = 0; r < g->n; r++)
        if (g->comm[r]) ncclCommDestroy(g->comm[r]);
    free(g);
}

void infer_cuda_comm_register(infer_backend *b) {
    b->comm_create = infer_cuda_comm_create_fn;
    b->comm_attach = infer_cuda_comm_attach_fn;
    b->comm_destroy = infer_cuda_comm_destroy_fn;
}

/* AllGather's layout: y as [outer][len][inner] along "axis", rank r's part sizes[r] of len. */
typedef struct cu_gather_geom {
    int n;
    int64_t sizes[64], outer, inner, len;
} cu_gather_geom;

static int cu_gather_geom_init(const infer_backend_op *op, int n_ranks, cu_gather_geom *g) {
    const infer_tensor *x = &op->inputs[0], *y = &op->outputs[0];
    int64_t axis = infer_backend_attr_int(op, "axis", 0), total = 0;
    long n = infer_backend_attr_ints(op, "sizes", g->sizes, 64);
    int i;
    if (axis < 0) axis += y->n_dims;
    if (axis < 0 || axis >= y->n_dims || n != n_ranks || x->n_dims != y->n_dims) return 0;
    g->n = (int)n;
    g->outer = g->inner = 1;
    for (i = 0; i < y->n_dims; i++) {
        if (i < axis) g->outer *= y->dims[i];
        if (i > axis) g->inner *= y->dims[i];
    }
    g->len = y->dims[axis];
    for (i = 0; i < g->n; i++) total += g->sizes[i];
    return total == g->len;
}

int infer_cuda_coll_supports(const infer_cuda_dev *dev, const infer_backend_op *op) {
    int n = 0;
    cu_gather_geom g;
    if (!dev->nccl || op->n_inputs != 1 || op->n_outputs != 1 || op->inputs[0].dtype != INFER_DTYPE_F32 ||
        op->outputs[0].dtype != INFER_DTYPE_F32 || ncclCommCount(dev->nccl, &n) != ncclSuccess)
        return 0;
    if (!strcmp(op->op_type, "AllReduce")) return 1;
    return !strcmp(op->op_type, "AllGather") && cu_gather_geom_init(op, n, &g);
}

size_t infer_cuda_coll_work(const infer_backend_op *op) {
    return strcmp(op->op_type, "AllGather") ? 0 : op->outputs[0].data_bytes; /* rank-major parts, when outer > 1 */
}

static infer_status cu_nccl_fail(char *err, size_t err_size, const char *what, ncclResult_t r) {
    return infer_cuda_fail(err, err_size, INFER_STATUS_BACKEND, "NCCL %s: %s", what, ncclGetErrorString(r));
}

infer_status infer_cuda_coll_run(infer_cuda_dev *dev, const infer_backend_op *op, char *err, size_t err_size) {
    const infer_tensor *x = &op->inputs[0], *y = &op->outputs[0];
    const infer_comm *h = dev->host_comm;
    size_t n = y->data_bytes / sizeof(float);
    ncclResult_t r;
    int n_ranks = 0, k;
    cu_gather_geom g;
    float *parts;
    size_t off = 0, start = 0, count0;
    int equal = 1;
    if (h->barrier(h->user))
        return infer_cuda_fail(err, err_size, INFER_STATUS_BACKEND, "%s: another device stopped", op->op_type);
    if (!strcmp(op->op_type, "AllReduce")) {
        if ((r = ncclAllReduce(x->data, y->data, n, ncclFloat, ncclSum, dev->nccl, dev->stream)) != ncclSuccess)
            return cu_nccl_fail(err, err_size, "all-reduce", r);
        return INFER_STATUS_OK;
    }
    if (ncclCommCount(dev->nccl, &n_ranks) != ncclSuccess || !cu_gather_geom_init(op, n_ranks, &g))
        return infer_cuda_fail(err, err_size, INFER_STATUS_BACKEND, "AllGather: its sizes do not fit the ranks");
    /* the parts, rank-major: straight into y when there is one outer row */
    parts = g.outer == 1 ? (float *)y->data : (float *)dev->work;
    count0 = (size_t)(g.outer * g.sizes[0] * g.inner);
    for (k = 1; k < g.n; k++) equal &= g.sizes[k] == g.sizes[0];
    if (equal) {
        if ((r = ncclAllGather(x->data, parts, count0, ncclFloat, dev->nccl, dev->stream)) != ncclSuccess)
            return cu_nccl_fail(err, err_size, "all-gather", r);
    } else { /* uneven parts: each rank broadcasts its own, in one group */
        if ((r = ncclGroupStart()) != ncclSuccess) return cu_nccl_fail(err, err_size, "group", r);
        for (k = 0; k < g.n; k++) {
            size_t c = (size_t)(g.outer * g.sizes[k] * g.inner);
            if ((r = ncclBroadcast(x->data, parts + off, c, ncclFloat, k, dev->nccl, dev->stream)) != ncclSuccess) break;
            off += c;
        }
        if (r != ncclSuccess) {
            ncclGroupEnd();
            return cu_nccl_fail(err, err_size, "broadcast", r);
        }
        if ((r = ncclGroupEnd()) != ncclSuccess) return cu_nccl_fail(err, err_size, "group", r);
    }
    if (g.outer > 1) /* [rank][outer][part][inner] -> [outer][len][inner] */
        for (k = 0, off = 0; k < g.n; k++) {
            size_t row = (size_t)(g.sizes[k] * g.inner) * sizeof(float);
            if (row)
                cudaMemcpy2DAsync((float *)y->data + start * (size_t)g.inner, (size_t)(g.len * g.inner) * sizeof(float),
                                  parts + off, row, row, (size_t)g.outer, cudaMemcpyDeviceToDevice, dev->stream);
            off += (size_t)(g.outer * g.sizes[k] * g.inner);
            start += (size_t)g.sizes[k];
        }
    return INFER_STATUS_OK;
}

#else /* no NCCL: the runtime runs the collectives on the host */

void infer_cuda_comm_register(infer_backend *b) { (void)b; }
int infer_cuda_coll_supports(const infer_cuda_dev *dev, const infer_backend_op *op) {
    (void)dev, (void)op;
    return 0;
}
size_t infer_cuda_coll_work(const infer_backend_op *op) {
    (void)op;
    return 0;
}
infer_status infer_cuda_coll_run(infer_cuda_dev *dev, const infer_backend_op *op, char *err, size_t err_size) {
    (void)dev;
    return infer_cuda_fail(err, err_size, INFER_STATUS_UNSUPPORTED, "cuda %s: built without NCCL", op->op_type);
}

#endif
