/* tools/convert.h - ONNX model -> infer graph (the heart of infer-convert), usable as a
   library by the conformance driver and tests. */
#ifndef INFER_TOOLS_CONVERT_H
#define INFER_TOOLS_CONVERT_H

#include "../infer.h"
#include "onnx.h"

typedef struct convert_options {
    const infer_dim *dims;      /* symbolic dims fixed at convert time (--dim batch=1) */
    size_t n_dims;
    int no_fuse;                /* 1: no graph passes beyond what conversion needs (--no-fuse) */
    int verbose;                /* 1: print what the passes did to stderr */
    int weights;                /* CONVERT_WEIGHTS_*: how MatMul/Gemm/Conv weights are stored (0: f32) */
    const char *const *keep_f32; /* node-name globs (* and ?) whose weights stay f32 (--keep-f32) */
    size_t n_keep_f32;
} convert_options;

/* --weights: f16/bf16 store a weight in half precision followed by a Cast to f32; int8
   stores it per output channel, symmetric (scale = max|w| / 127, zero point 0), followed by
   a DequantizeLinear. Weights under CONVERT_WEIGHTS_MIN elements (and biases) stay f32. */
enum { CONVERT_WEIGHTS_F32 = 0, CONVERT_WEIGHTS_F16, CONVERT_WEIGHTS_BF16, CONVERT_WEIGHTS_INT8 };
#define CONVERT_WEIGHTS_MIN 1024

/* What conversion did, for the summary line and tests. */
typedef struct convert_stats {
    size_t onnx_nodes, infer_nodes;
    size_t folded, removed, fused;
    size_t weights_converted;                 /* weight tensors stored in reduced precision */
    size_t weights_bytes_before, weights_bytes_after; /* their bytes in f32, and as stored (scales too) */
} convert_stats;

/* Converts the ONNX file at path into a builder ready for infer_builder_save() or
   infer_builder_serialize(). Returns INFER_STATUS_OK, or a status with a message in err
   naming the file, node and problem; when ops are unsupported, err lists every
   unsupported op type with the nodes that use it (status UNSUPPORTED). stats may be NULL. */
infer_status convert_onnx(const char *path, const convert_options *opt, infer_builder **out,
                          convert_stats *stats, char *err, size_t err_bytes);

#endif
