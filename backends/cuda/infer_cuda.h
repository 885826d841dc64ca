/* backends/cuda/infer_cuda.h - the optional CUDA backend (make cuda builds
   build/cuda/libinfer_cuda.a; link it with -lcublas -lcudart). Include after infer.h.
   Thread-safe: both functions may be called from any thread. */
#ifndef INFER_CUDA_H
#define INFER_CUDA_H

#include "../../infer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Registers the CUDA backend as "cuda" (sessions: device "cuda" or "cuda:N").
   INFER_STATUS_OK even when no GPU is present (sessions then fail to open one). */
infer_status infer_cuda_register(void);
int infer_cuda_device_count(void); /* 0 when no GPU or no driver */

#ifdef __cplusplus
}
#endif
#endif
