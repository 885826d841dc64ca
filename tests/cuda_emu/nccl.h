/* tests/cuda_emu/nccl.h - the NCCL calls backends/cuda makes (infer_cuda_comm.cu), on the
   host (cuda_emu.cpp): the ranks of one ncclCommInitAll are threads of this process, and
   each collective is a rendezvous of them all when its stream runs it (at once, as the
   emulated streams do; inside ncclGroupStart/End too, which every rank calls in the same
   order). f32 sums only, added in rank order. */
#ifndef INFER_CUDA_EMU_NCCL_H
#define INFER_CUDA_EMU_NCCL_H

#include "cuda_runtime.h"

typedef enum { ncclSuccess = 0, ncclInvalidArgument = 4, ncclSystemError = 2 } ncclResult_t;
typedef enum { ncclFloat = 7 } ncclDataType_t;
typedef enum { ncclSum = 0 } ncclRedOp_t;
typedef struct cuda_emu_nccl *ncclComm_t;

ncclResult_t ncclCommInitAll(ncclComm_t *comms, int n, const int *devices);
ncclResult_t ncclCommDestroy(ncclComm_t comm);
ncclResult_t ncclCommCount(const ncclComm_t comm, int *count);
ncclResult_t ncclCommCuDevice(const ncclComm_t comm, int *device);
ncclResult_t ncclCommUserRank(const ncclComm_t comm, int *rank);
const char *ncclGetErrorString(ncclResult_t r);
ncclResult_t ncclAllReduce(const void *send, void *recv, size_t count, ncclDataType_t t, ncclRedOp_t op, ncclComm_t comm,
                           cudaStream_t stream);
ncclResult_t ncclAllGather(const void *send, void *recv, size_t count, ncclDataType_t t, ncclComm_t comm,
                           cudaStream_t stream);
ncclResult_t ncclBroadcast(const void *send, void *recv, size_t count, ncclDataType_t t, int root, ncclComm_t comm,
                           cudaStream_t stream);
ncclResult_t ncclGroupStart();
ncclResult_t ncclGroupEnd();

#endif
