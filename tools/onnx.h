/* tools/onnx.h - a bounds-checked reader of ONNX protobuf files (models and tensors).
   Used by infer-convert and the conformance driver; not part of the library.

   Everything read is hostile input: every length is compared with what remains,
   every count is capped before allocating, and a failure returns 0 with a message
   that names the file, the message type and field, and the problem. */
#ifndef INFER_TOOLS_ONNX_H
#define INFER_TOOLS_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "../infer.h"

#define ONNX_MAX_DIMS 8

/* TensorProto.DataType values */
enum {
    ONNX_FLOAT = 1, ONNX_UINT8 = 2, ONNX_INT8 = 3, ONNX_UINT16 = 4, ONNX_INT16 = 5, ONNX_INT32 = 6,
    ONNX_INT64 = 7, ONNX_STRING = 8, ONNX_BOOL = 9, ONNX_FLOAT16 = 10, ONNX_DOUBLE = 11, ONNX_UINT32 = 12,
    ONNX_UINT64 = 13, ONNX_BFLOAT16 = 16, ONNX_FLOAT8E4M3FN = 17, ONNX_FLOAT8E4M3FNUZ = 18, ONNX_FLOAT8E5M2 = 19,
    ONNX_FLOAT8E5M2FNUZ = 20, ONNX_UINT4 = 21, ONNX_INT4 = 22, ONNX_FLOAT4E2M1 = 23, ONNX_FLOAT8E8M0 = 24,
    ONNX_UINT2 = 25, ONNX_INT2 = 26
};

/* A tensor: dense little-endian elements whatever field of TensorProto held them.
   4- and 2-bit types (packed in the file) are unpacked to one byte per element, as infer
   stores them: the value in the low bits, sign-extended for INT4 and INT2. */
typedef struct onnx_tensor {
    char *name;
    int32_t data_type;          /* TensorProto.DataType */
    int n_dims;
    int64_t dims[ONNX_MAX_DIMS];
    const uint8_t *data;        /* n elements x element size; inside the file or `owned` */
    size_t data_bytes;
    void *owned;                /* malloc'd storage to free, or NULL */
} onnx_tensor;

/* AttributeProto.AttributeType values */
enum {
    ONNX_ATTR_FLOAT = 1, ONNX_ATTR_INT = 2, ONNX_ATTR_STRING = 3, ONNX_ATTR_TENSOR = 4, ONNX_ATTR_GRAPH = 5,
    ONNX_ATTR_FLOATS = 6, ONNX_ATTR_INTS = 7, ONNX_ATTR_STRINGS = 8, ONNX_ATTR_TENSORS = 9, ONNX_ATTR_GRAPHS = 10
};

typedef struct onnx_graph onnx_graph;

typedef struct onnx_attr {
    char *name;
    int type;                   /* ONNX_ATTR_* */
    float f;
    int64_t i;
    char *s;                    /* NUL-terminated copy of the bytes */
    size_t s_len;
    float *floats;
    int64_t *ints;
    char **strings;
    size_t n;                   /* element count of floats / ints / strings / graphs */
    onnx_tensor *t;
    onnx_graph *g;
    onnx_graph **graphs;
} onnx_attr;

typedef struct onnx_node {
    char *name, *op_type, *domain;
    char **inputs, **outputs;   /* "" for an absent optional input/output */
    size_t n_inputs, n_outputs;
    onnx_attr *attrs;
    size_t n_attrs;
} onnx_node;

typedef struct onnx_value_info {
    char *name;
    int32_t elem_type;          /* 0 when unknown */
    int n_dims;                 /* -1 when the shape is unknown */
    int64_t dims[ONNX_MAX_DIMS];      /* -1 where symbolic or unknown */
    char *dim_params[ONNX_MAX_DIMS];  /* the symbolic name, or NULL */
} onnx_value_info;

struct onnx_graph {
    char *name;
    onnx_node *nodes;
    size_t n_nodes;
    onnx_tensor *initializers;
    size_t n_initializers;
    onnx_value_info *inputs, *outputs, *value_infos;
    size_t n_inputs, n_outputs, n_value_infos;
};

typedef struct onnx_opset {
    char *domain;               /* "" or "ai.onnx" for the default domain */
    int64_t version;
} onnx_opset;

typedef struct onnx_model {
    int64_t ir_version;
    char *producer_name, *producer_version;
    onnx_opset *opsets;
    size_t n_opsets;
    onnx_graph *graph;
    void *file;                 /* the whole file; tensors may point into it */
    size_t file_bytes;
} onnx_model;

/* Reads a model; external data files are resolved relative to the model's folder and
   may not leave it. Returns 1, or 0 with a message in err. */
int onnx_load_model(const char *path, onnx_model **out, char *err, size_t err_bytes);
void onnx_model_free(onnx_model *m);

/* The default-domain opset version of a model (0 if none is imported). */
int64_t onnx_opset_version(const onnx_model *m);

/* Reads a file holding one serialized TensorProto (the ONNX test data format). */
int onnx_load_tensor(const char *path, onnx_tensor *t, char *err, size_t err_bytes);
void onnx_tensor_free(onnx_tensor *t);

/* The infer dtype of a TensorProto data type; INFER_DTYPE_UNDEFINED if there is none. */
infer_dtype onnx_dtype(int32_t data_type);
const char *onnx_dtype_name(int32_t data_type);

#endif
