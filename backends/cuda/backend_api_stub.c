/* backends/cuda/backend_api_stub.c - weak stand-ins for infer.h's backend interface, so
   that libinfer_cuda.a and the tools link against an infer.h that does not have the
   interface yet (backend_api_tmp.h). They register nothing and report every attribute as
   absent. Once infer.h defines INFER_HAVE_BACKEND_API this file compiles to nothing, and
   infer.o's definitions are the ones that link (they are strong in any case). */
#include <stddef.h>

#include "../../infer.h"
#ifndef INFER_HAVE_BACKEND_API
#include "backend_api_tmp.h"

#define INFER_CUDA_WEAK __attribute__((weak))

INFER_CUDA_WEAK int64_t infer_backend_attr_int(const infer_backend_op *op, const char *name, int64_t def) {
    (void)op, (void)name;
    return def;
}
INFER_CUDA_WEAK float infer_backend_attr_float(const infer_backend_op *op, const char *name, float def) {
    (void)op, (void)name;
    return def;
}
INFER_CUDA_WEAK const char *infer_backend_attr_string(const infer_backend_op *op, const char *name, const char *def) {
    (void)op, (void)name;
    return def;
}
INFER_CUDA_WEAK long infer_backend_attr_ints(const infer_backend_op *op, const char *name, int64_t *out, size_t cap) {
    (void)op, (void)name, (void)out, (void)cap;
    return -1;
}
INFER_CUDA_WEAK long infer_backend_attr_floats(const infer_backend_op *op, const char *name, float *out, size_t cap) {
    (void)op, (void)name, (void)out, (void)cap;
    return -1;
}
INFER_CUDA_WEAK infer_status infer_register_backend(const infer_backend *b) {
    (void)b;
    return INFER_STATUS_OK;
}
#else
typedef int infer_cuda_stub_unused; /* ISO C: a translation unit is not empty */
#endif
