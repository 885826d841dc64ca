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
} convert_options;

/* What conversion did, for the summary line and tests. */
typedef struct convert_stats {
    size_t onnx_nodes, infer_nodes;
    size_t folded, removed, fused;
} convert_stats;

/* Converts the ONNX file at path into a builder ready for infer_builder_save() or
   infer_builder_serialize(). Returns INFER_STATUS_OK, or a status with a message in err
   naming the file, node and problem; when ops are unsupported, err lists every
   unsupported op type with the nodes that use it (status UNSUPPORTED). stats may be NULL. */
infer_status convert_onnx(const char *path, const convert_options *opt, infer_builder **out,
                          convert_stats *stats, char *err, size_t err_bytes);

#endif
