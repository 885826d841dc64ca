/* tools/onnx.c - the ONNX protobuf reader (see onnx.h).

   A protobuf message is a run of (key, value) pairs: key = field << 3 | wire type, with
   wire types 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. Every read goes through
   a cursor that refuses to pass its end; each length is compared with what remains.
   Field numbers are those of onnx.proto (ModelProto, GraphProto, NodeProto, ...). */
#define _XOPEN_SOURCE 700
#include "onnx.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"

#define ONNX_MAX_DEPTH 16 /* subgraphs inside subgraphs */

typedef struct rd {
    const uint8_t *p, *end;
} rd;

typedef struct ctx {
    const char *path;     /* the file, for messages */
    char *dir;            /* the model's folder, for external data */
    char *err;
    size_t err_bytes;
    int depth;
} ctx;

static int fail(ctx *c, const char *fmt, ...) {
    va_list ap;
    size_t n;
    if (!c->err || !c->err_bytes) return 0;
    n = (size_t)snprintf(c->err, c->err_bytes, "%s: ", c->path);
    if (n >= c->err_bytes) return 0;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->err_bytes - n, fmt, ap);
    va_end(ap);
    return 0;
}

/* -- wire format -- */

static int rd_varint(rd *r, uint64_t *v) {
    uint64_t x = 0;
    int shift;
    for (shift = 0; shift < 64; shift += 7) {
        uint8_t b;
        if (r->p >= r->end) return 0;
        b = *r->p++;
        x |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 1;
        }
    }
    return 0; /* more than 10 bytes */
}

static int rd_fixed(rd *r, int bytes, uint64_t *v) {
    int i;
    uint64_t x = 0;
    if ((size_t)(r->end - r->p) < (size_t)bytes) return 0;
    for (i = 0; i < bytes; i++) x |= (uint64_t)r->p[i] << (8 * i);
    r->p += bytes;
    *v = x;
    return 1;
}

/* The next field: its number and wire type. */
static int rd_key(rd *r, uint32_t *field, int *wire) {
    uint64_t k;
    if (!rd_varint(r, &k) || (k >> 3) == 0 || (k >> 3) > 0x1FFFFFFF) return 0;
    *field = (uint32_t)(k >> 3);
    *wire = (int)(k & 7);
    return 1;
}

/* A length-delimited value as a sub-reader. */
static int rd_len(rd *r, rd *sub) {
    uint64_t n;
    if (!rd_varint(r, &n) || n > (uint64_t)(r->end - r->p)) return 0;
    sub->p = r->p;
    sub->end = r->p + n;
    r->p += n;
    return 1;
}

static int rd_skip(rd *r, int wire) {
    uint64_t v;
    rd sub;
    switch (wire) {
    case 0: return rd_varint(r, &v);
    case 1: return rd_fixed(r, 8, &v);
    case 2: return rd_len(r, &sub);
    case 5: return rd_fixed(r, 4, &v);
    default: return 0; /* groups (3, 4) and unknown wire types */
    }
}

static char *dup_bytes(const uint8_t *p, size_t n) {
    char *s = (char *)malloc(n + 1);
    if (!s) return NULL;
    if (n) memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static int rd_string(ctx *c, rd *r, int wire, char **out, const char *what) {
    rd sub;
    if (wire != 2 || !rd_len(r, &sub)) return fail(c, "%s: bad string", what);
    free(*out);
    *out = dup_bytes(sub.p, (size_t)(sub.end - sub.p));
    if (!*out) return fail(c, "%s: out of memory", what);
    return 1;
}

/* Grows *arr (element size `size`) to hold n+1 elements. */
static int grow(void **arr, size_t *cap, size_t n, size_t size) {
    size_t ncap;
    void *p;
    if (n < *cap) return 1;
    ncap = *cap ? *cap * 2 : 8;
    if (ncap > SIZE_MAX / size) return 0;
    p = realloc(*arr, ncap * size);
    if (!p) return 0;
    *arr = p;
    *cap = ncap;
    return 1;
}

/* Appends the values of a repeated scalar field, packed (wire 2) or not. kind: 0 varint,
   4 fixed32, 8 fixed64. Values are stored as uint64 in *vals. */
static int rd_repeated(ctx *c, rd *r, int wire, int kind, uint64_t **vals, size_t *n, size_t *cap, const char *what) {
    rd sub;
    uint64_t v;
    if (wire == 2) {
        if (!rd_len(r, &sub)) return fail(c, "%s: bad packed field", what);
        while (sub.p < sub.end) {
            if (!(kind == 0 ? rd_varint(&sub, &v) : rd_fixed(&sub, kind, &v))) return fail(c, "%s: bad packed value", what);
            if (!grow((void **)vals, cap, *n, sizeof(uint64_t))) return fail(c, "%s: out of memory", what);
            (*vals)[(*n)++] = v;
        }
        return 1;
    }
    if ((kind == 0 && wire != 0) || (kind == 4 && wire != 5) || (kind == 8 && wire != 1))
        return fail(c, "%s: wire type %d does not match the field", what, wire);
    if (!(kind == 0 ? rd_varint(r, &v) : rd_fixed(r, kind, &v))) return fail(c, "%s: value runs past the end", what);
    if (!grow((void **)vals, cap, *n, sizeof(uint64_t))) return fail(c, "%s: out of memory", what);
    (*vals)[(*n)++] = v;
    return 1;
}

/* -- data types -- */

static size_t dtype_size(int32_t t) {
    switch (t) {
    case ONNX_FLOAT: case ONNX_INT32: case ONNX_UINT32: return 4;
    case ONNX_UINT8: case ONNX_INT8: case ONNX_BOOL: return 1;
    case ONNX_UINT16: case ONNX_INT16: case ONNX_FLOAT16: case ONNX_BFLOAT16: return 2;
    case ONNX_INT64: case ONNX_DOUBLE: case ONNX_UINT64: return 8;
    case ONNX_FLOAT8E4M3FN: case ONNX_FLOAT8E4M3FNUZ: case ONNX_FLOAT8E5M2: case ONNX_FLOAT8E5M2FNUZ:
    case ONNX_FLOAT8E8M0: return 1;
    case ONNX_UINT4: case ONNX_INT4: case ONNX_FLOAT4E2M1: case ONNX_UINT2: case ONNX_INT2: return 1; /* unpacked */
    default: return 0;
    }
}

/* Bits per element of the packed types (several to a byte in the file), else 0. */
static int dtype_packed_bits(int32_t t) {
    switch (t) {
    case ONNX_UINT4: case ONNX_INT4: case ONNX_FLOAT4E2M1: return 4;
    case ONNX_UINT2: case ONNX_INT2: return 2;
    default: return 0;
    }
}

infer_dtype onnx_dtype(int32_t t) {
    switch (t) {
    case ONNX_FLOAT: return INFER_DTYPE_F32;
    case ONNX_UINT8: return INFER_DTYPE_U8;
    case ONNX_INT8: return INFER_DTYPE_I8;
    case ONNX_UINT16: return INFER_DTYPE_U16;
    case ONNX_INT16: return INFER_DTYPE_I16;
    case ONNX_INT32: return INFER_DTYPE_I32;
    case ONNX_INT64: return INFER_DTYPE_I64;
    case ONNX_BOOL: return INFER_DTYPE_BOOL;
    case ONNX_FLOAT16: return INFER_DTYPE_F16;
    case ONNX_DOUBLE: return INFER_DTYPE_F64;
    case ONNX_UINT32: return INFER_DTYPE_U32;
    case ONNX_UINT64: return INFER_DTYPE_U64;
    case ONNX_BFLOAT16: return INFER_DTYPE_BF16;
    case ONNX_FLOAT8E4M3FN: return INFER_DTYPE_F8E4M3FN;
    case ONNX_FLOAT8E4M3FNUZ: return INFER_DTYPE_F8E4M3FNUZ;
    case ONNX_FLOAT8E5M2: return INFER_DTYPE_F8E5M2;
    case ONNX_FLOAT8E5M2FNUZ: return INFER_DTYPE_F8E5M2FNUZ;
    case ONNX_UINT4: return INFER_DTYPE_U4;
    case ONNX_INT4: return INFER_DTYPE_I4;
    case ONNX_FLOAT4E2M1: return INFER_DTYPE_F4E2M1;
    case ONNX_FLOAT8E8M0: return INFER_DTYPE_F8E8M0;
    case ONNX_UINT2: return INFER_DTYPE_U2;
    case ONNX_INT2: return INFER_DTYPE_I2;
    default: return INFER_DTYPE_UNDEFINED;
    }
}

const char *onnx_dtype_name(int32_t t) {
    static const char *const names[] = {"undefined", "float", "uint8", "int8", "uint16", "int16", "int32",
                                        "int64", "string", "bool", "float16", "double", "uint32", "uint64",
                                        "complex64", "complex128", "bfloat16", "float8e4m3fn", "float8e4m3fnuz",
                                        "float8e5m2", "float8e5m2fnuz", "uint4", "int4", "float4e2m1",
                                        "float8e8m0", "uint2", "int2"};
    if (t < 0 || (size_t)t >= sizeof names / sizeof names[0]) return "unknown";
    return names[t];
}

/* -- TensorProto -- */

void onnx_tensor_free(onnx_tensor *t) {
    if (!t) return;
    free(t->name);
    free(t->owned);
    memset(t, 0, sizeof *t);
}

/* Reads `length` bytes at `offset` of an external file that must lie inside c->dir. */
static int read_external(ctx *c, onnx_tensor *t, const char *location, uint64_t offset, uint64_t length, int has_length,
                         size_t want) {
    char path[PATH_MAX], real_dir[PATH_MAX], real_file[PATH_MAX];
    FILE *f;
    long size;
    size_t dl;
    if (!location || !location[0]) return fail(c, "tensor '%s': external data without a location", t->name);
    if (location[0] == '/' || strstr(location, "..") || strchr(location, '\\'))
        return fail(c, "tensor '%s': external data location '%s' leaves the model's folder", t->name, location);
    if ((size_t)snprintf(path, sizeof path, "%s/%s", c->dir, location) >= sizeof path)
        return fail(c, "tensor '%s': external data path too long", t->name);
    if (!realpath(c->dir, real_dir) || !realpath(path, real_file))
        return fail(c, "tensor '%s': external data file '%s': %s", t->name, location, strerror(errno));
    dl = strlen(real_dir);
#ifdef _WIN32
#define ONNX_SEP(ch) ((ch) == '/' || (ch) == '\\') /* _fullpath writes '\\'; both separate */
#else
#define ONNX_SEP(ch) ((ch) == '/')
#endif
    if (strncmp(real_file, real_dir, dl) != 0 || (!ONNX_SEP(real_file[dl]) && !ONNX_SEP(real_dir[dl - 1])))
        return fail(c, "tensor '%s': external data location '%s' leaves the model's folder", t->name, location);
    f = fopen(real_file, "rb");
    if (!f) return fail(c, "tensor '%s': cannot open external data '%s': %s", t->name, location, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0) {
        fclose(f);
        return fail(c, "tensor '%s': cannot size external data '%s'", t->name, location);
    }
    if (!has_length) length = want;
    if (length != want || offset > (uint64_t)size || length > (uint64_t)size - offset) {
        fclose(f);
        return fail(c, "tensor '%s': external data '%s': %llu bytes at offset %llu, but the file has %ld and the tensor "
                    "needs %zu", t->name, location, (unsigned long long)length, (unsigned long long)offset, size, want);
    }
    t->owned = malloc(want ? want : 1);
    if (!t->owned || fseek(f, (long)offset, SEEK_SET) != 0 || fread(t->owned, 1, want, f) != want) {
        fclose(f);
        return fail(c, "tensor '%s': cannot read external data '%s'", t->name, location);
    }
    fclose(f);
    t->data = (const uint8_t *)t->owned;
    t->data_bytes = want;
    return 1;
}

/* Unpacks `count` elements of `bits` bits (4 or 2; the first element in the lowest bits of
   a byte) from the bytes `packed`, or from the low byte of each of `vals`, to one byte each,
   sign-extended for INT4 and INT2. The caller has checked that the source holds them all.
   t->data becomes the new buffer, which replaces t->owned. */
static int unpack_tensor(ctx *c, onnx_tensor *t, const uint8_t *packed, const uint64_t *vals, size_t count, int bits) {
    uint8_t *out = (uint8_t *)malloc(count ? count : 1);
    size_t per = (size_t)(8 / bits), i;
    unsigned mask = (1u << bits) - 1;
    int sign = t->data_type == ONNX_INT4 || t->data_type == ONNX_INT2;
    if (!out) return fail(c, "tensor '%s': out of memory", t->name);
    for (i = 0; i < count; i++) {
        unsigned byte = packed ? packed[i / per] : (unsigned)(vals[i / per] & 0xFF);
        unsigned x = (byte >> (bits * (int)(i % per))) & mask;
        if (sign && (x >> (bits - 1))) x |= 0xFF & ~mask;
        out[i] = (uint8_t)x;
    }
    free(t->owned);
    t->owned = out;
    t->data = out;
    t->data_bytes = count;
    return 1;
}

static int parse_tensor(ctx *c, rd *r, onnx_tensor *t) {
    uint64_t *vals = NULL, *dims = NULL, v;
    size_t n_vals = 0, c_vals = 0, n_dims = 0, c_dims = 0, count = 1, esz, want, i, per;
    int val_field = 0, location = 0, ok = 0, has_len = 0, bits;
    const uint8_t *raw = NULL;
    size_t raw_bytes = 0;
    char *ext_loc = NULL;
    uint64_t ext_off = 0, ext_len = 0;
    memset(t, 0, sizeof *t);
    while (r->p < r->end) {
        uint32_t field;
        int wire;
        rd sub;
        if (!rd_key(r, &field, &wire)) {
            fail(c, "TensorProto: bad field key");
            goto done;
        }
        switch (field) {
        case 1: if (!rd_repeated(c, r, wire, 0, &dims, &n_dims, &c_dims, "TensorProto.dims")) goto done; break;
        case 2:
            if (wire != 0 || !rd_varint(r, &v)) {
                fail(c, "TensorProto.data_type: bad value");
                goto done;
            }
            t->data_type = (int32_t)v;
            break;
        case 8: if (!rd_string(c, r, wire, &t->name, "TensorProto.name")) goto done; break;
        case 9:
            if (wire != 2 || !rd_len(r, &sub)) {
                fail(c, "TensorProto.raw_data: bad length");
                goto done;
            }
            raw = sub.p;
            raw_bytes = (size_t)(sub.end - sub.p);
            break;
        case 4: case 5: case 7: case 10: case 11: { /* float, int32, int64, double, uint64 data */
            int kind = field == 4 ? 4 : field == 10 ? 8 : 0;
            if (val_field && val_field != (int)field) {
                fail(c, "TensorProto: values in two different fields");
                goto done;
            }
            val_field = (int)field;
            if (!rd_repeated(c, r, wire, kind, &vals, &n_vals, &c_vals, "TensorProto data")) goto done;
            break;
        }
        case 13: { /* external_data: StringStringEntryProto {key = 1, value = 2} */
            char *key = NULL, *value = NULL;
            if (wire != 2 || !rd_len(r, &sub)) {
                fail(c, "TensorProto.external_data: bad length");
                goto done;
            }
            while (sub.p < sub.end) {
                uint32_t f2;
                int w2;
                if (!rd_key(&sub, &f2, &w2)) break;
                if (f2 == 1) { if (!rd_string(c, &sub, w2, &key, "external_data.key")) break; }
                else if (f2 == 2) { if (!rd_string(c, &sub, w2, &value, "external_data.value")) break; }
                else if (!rd_skip(&sub, w2)) break;
            }
            if (sub.p != sub.end || !key || !value) {
                free(key);
                free(value);
                fail(c, "TensorProto.external_data: malformed entry");
                goto done;
            }
            if (!strcmp(key, "location")) {
                free(ext_loc);
                ext_loc = value;
                value = NULL;
            } else if (!strcmp(key, "offset") || !strcmp(key, "length")) {
                char *end = NULL;
                unsigned long long x;
                errno = 0;
                x = strtoull(value, &end, 10);
                if (errno || !end || *end || value[0] == '-' || !value[0]) {
                    fail(c, "TensorProto.external_data: %s '%s' is not a number", key, value);
                    free(key);
                    free(value);
                    goto done;
                }
                if (key[0] == 'o') ext_off = x;
                else ext_len = x, has_len = 1;
            }
            free(key);
            free(value);
            break;
        }
        case 14:
            if (wire != 0 || !rd_varint(r, &v)) {
                fail(c, "TensorProto.data_location: bad value");
                goto done;
            }
            location = (int)v;
            break;
        case 3:
            fail(c, "TensorProto.segment: segmented tensors are not supported");
            goto done;
        default:
            if (!rd_skip(r, wire)) {
                fail(c, "TensorProto: field %u runs past the end", field);
                goto done;
            }
        }
    }
    if (!t->name && !(t->name = dup_bytes((const uint8_t *)"", 0))) goto done;
    if (n_dims > ONNX_MAX_DIMS) {
        fail(c, "tensor '%s': rank %zu is over the maximum %d", t->name, n_dims, ONNX_MAX_DIMS);
        goto done;
    }
    t->n_dims = (int)n_dims;
    for (i = 0; i < n_dims; i++) {
        t->dims[i] = (int64_t)dims[i];
        if (t->dims[i] < 0 || t->dims[i] > ((int64_t)1 << 40) || (t->dims[i] && count > SIZE_MAX / (size_t)t->dims[i])) {
            fail(c, "tensor '%s': dim %zu is %lld", t->name, i, (long long)t->dims[i]);
            goto done;
        }
        count *= (size_t)t->dims[i];
    }
    esz = dtype_size(t->data_type);
    if (!esz) {
        fail(c, "tensor '%s': data type %s (%d) is not supported", t->name, onnx_dtype_name(t->data_type), t->data_type);
        goto done;
    }
    if (count > SIZE_MAX / esz) {
        fail(c, "tensor '%s': too large", t->name);
        goto done;
    }
    bits = dtype_packed_bits(t->data_type);
    per = bits ? (size_t)(8 / bits) : 1;
    want = bits ? count / per + (count % per != 0) : count * esz; /* bytes in the file */
    if (location == 1) {
        ok = read_external(c, t, ext_loc, ext_off, ext_len, has_len, want) &&
             (!bits || unpack_tensor(c, t, t->data, NULL, count, bits));
        goto done;
    }
    if (raw) {
        if (raw_bytes != want) {
            fail(c, "tensor '%s': raw_data has %zu bytes; %s [%zu elements] needs %zu", t->name, raw_bytes,
                 onnx_dtype_name(t->data_type), count, want);
            goto done;
        }
        if (bits) {
            ok = unpack_tensor(c, t, raw, NULL, count, bits);
            goto done;
        }
        t->data = raw;
        t->data_bytes = want;
        ok = 1;
        goto done;
    }
    if (bits) { /* int32_data, each value one packed byte */
        if ((n_vals && val_field != 5) || n_vals != want) {
            fail(c, "tensor '%s': %s [%zu elements] needs %zu int32_data values (%zu to a value)", t->name,
                 onnx_dtype_name(t->data_type), count, want, per);
            goto done;
        }
        ok = unpack_tensor(c, t, NULL, vals, count, bits);
        goto done;
    }
    if (n_vals != count) {
        fail(c, "tensor '%s': %zu values for %zu elements", t->name, n_vals, count);
        goto done;
    }
    t->owned = malloc(want ? want : 1);
    if (!t->owned) {
        fail(c, "tensor '%s': out of memory", t->name);
        goto done;
    }
    for (i = 0; i < count; i++) { /* typed fields hold each value widened; narrow it to the element */
        uint8_t *dst = (uint8_t *)t->owned + i * esz;
        uint64_t x = vals[i];
        int b;
        if (val_field == 4 && esz != 4) break;
        if (val_field == 10 && t->data_type != ONNX_DOUBLE) break;
        for (b = 0; b < (int)esz; b++) dst[b] = (uint8_t)(x >> (8 * b));
    }
    if (i != count) {
        fail(c, "tensor '%s': values stored in a field that does not match %s", t->name, onnx_dtype_name(t->data_type));
        goto done;
    }
    t->data = (const uint8_t *)t->owned;
    t->data_bytes = want;
    ok = 1;
done:
    free(vals);
    free(dims);
    free(ext_loc);
    if (!ok) onnx_tensor_free(t);
    return ok;
}

/* -- ValueInfoProto / TypeProto -- */

static int parse_value_info(ctx *c, rd *r, onnx_value_info *vi) {
    int i;
    memset(vi, 0, sizeof *vi);
    vi->n_dims = -1;
    for (i = 0; i < ONNX_MAX_DIMS; i++) vi->dims[i] = -1;
    while (r->p < r->end) {
        uint32_t field;
        int wire;
        rd type, tensor, shape, dim;
        if (!rd_key(r, &field, &wire)) return fail(c, "ValueInfoProto: bad field key");
        if (field == 1) {
            if (!rd_string(c, r, wire, &vi->name, "ValueInfoProto.name")) return 0;
            continue;
        }
        if (field != 2) {
            if (!rd_skip(r, wire)) return fail(c, "ValueInfoProto: field %u runs past the end", field);
            continue;
        }
        if (wire != 2 || !rd_len(r, &type)) return fail(c, "ValueInfoProto.type: bad length");
        while (type.p < type.end) { /* TypeProto: tensor_type = 1 */
            uint32_t f2;
            int w2;
            if (!rd_key(&type, &f2, &w2)) return fail(c, "TypeProto: bad field key");
            if (f2 != 1) {
                if (!rd_skip(&type, w2)) return fail(c, "TypeProto: field %u runs past the end", f2);
                continue;
            }
            if (w2 != 2 || !rd_len(&type, &tensor)) return fail(c, "TypeProto.tensor_type: bad length");
            while (tensor.p < tensor.end) { /* Tensor: elem_type = 1, shape = 2 */
                uint32_t f3;
                int w3;
                uint64_t v;
                if (!rd_key(&tensor, &f3, &w3)) return fail(c, "TypeProto.Tensor: bad field key");
                if (f3 == 1) {
                    if (w3 != 0 || !rd_varint(&tensor, &v)) return fail(c, "TypeProto.Tensor.elem_type: bad value");
                    vi->elem_type = (int32_t)v;
                } else if (f3 == 2) {
                    if (w3 != 2 || !rd_len(&tensor, &shape)) return fail(c, "TensorShapeProto: bad length");
                    vi->n_dims = 0;
                    while (shape.p < shape.end) { /* dim = 1: Dimension {dim_value = 1, dim_param = 2} */
                        uint32_t f4;
                        int w4;
                        if (!rd_key(&shape, &f4, &w4)) return fail(c, "TensorShapeProto: bad field key");
                        if (f4 != 1) {
                            if (!rd_skip(&shape, w4)) return fail(c, "TensorShapeProto: field runs past the end");
                            continue;
                        }
                        if (w4 != 2 || !rd_len(&shape, &dim)) return fail(c, "Dimension: bad length");
                        if (vi->n_dims >= ONNX_MAX_DIMS)
                            return fail(c, "value '%s': rank over the maximum %d", vi->name ? vi->name : "?", ONNX_MAX_DIMS);
                        while (dim.p < dim.end) {
                            uint32_t f5;
                            int w5;
                            if (!rd_key(&dim, &f5, &w5)) return fail(c, "Dimension: bad field key");
                            if (f5 == 1) {
                                if (w5 != 0 || !rd_varint(&dim, &v)) return fail(c, "Dimension.dim_value: bad value");
                                vi->dims[vi->n_dims] = (int64_t)v;
                            } else if (f5 == 2) {
                                if (!rd_string(c, &dim, w5, &vi->dim_params[vi->n_dims], "Dimension.dim_param")) return 0;
                            } else if (!rd_skip(&dim, w5)) {
                                return fail(c, "Dimension: field runs past the end");
                            }
                        }
                        vi->n_dims++;
                    }
                } else if (!rd_skip(&tensor, w3)) {
                    return fail(c, "TypeProto.Tensor: field runs past the end");
                }
            }
        }
    }
    if (!vi->name) return fail(c, "ValueInfoProto without a name");
    return 1;
}

static void value_info_free(onnx_value_info *vi) {
    int i;
    free(vi->name);
    for (i = 0; i < ONNX_MAX_DIMS; i++) free(vi->dim_params[i]);
}

/* -- GraphProto, NodeProto, AttributeProto -- */

static int parse_graph(ctx *c, rd *r, onnx_graph *g);
static void graph_free(onnx_graph *g);

static void attr_free(onnx_attr *a) {
    size_t i;
    free(a->name);
    free(a->s);
    free(a->floats);
    free(a->ints);
    for (i = 0; a->strings && i < a->n; i++) free(a->strings[i]);
    free(a->strings);
    if (a->t) onnx_tensor_free(a->t);
    free(a->t);
    if (a->g) graph_free(a->g);
    free(a->g);
    for (i = 0; a->graphs && i < a->n; i++) {
        graph_free(a->graphs[i]);
        free(a->graphs[i]);
    }
    free(a->graphs);
}

static int parse_attr(ctx *c, rd *r, onnx_attr *a) {
    uint64_t *vals = NULL, v;
    size_t n_vals = 0, c_vals = 0, c_str = 0, i;
    int vals_kind = 0, ok = 0;
    memset(a, 0, sizeof *a);
    while (r->p < r->end) {
        uint32_t field;
        int wire;
        rd sub;
        if (!rd_key(r, &field, &wire)) {
            fail(c, "AttributeProto: bad field key");
            goto done;
        }
        switch (field) {
        case 1: if (!rd_string(c, r, wire, &a->name, "AttributeProto.name")) goto done; break;
        case 20:
            if (wire != 0 || !rd_varint(r, &v)) {
                fail(c, "AttributeProto.type: bad value");
                goto done;
            }
            a->type = (int)v;
            break;
        case 2: {
            uint32_t bits;
            if (wire != 5 || !rd_fixed(r, 4, &v)) {
                fail(c, "AttributeProto.f: bad value");
                goto done;
            }
            bits = (uint32_t)v;
            memcpy(&a->f, &bits, 4);
            break;
        }
        case 3:
            if (wire != 0 || !rd_varint(r, &v)) {
                fail(c, "AttributeProto.i: bad value");
                goto done;
            }
            a->i = (int64_t)v;
            break;
        case 4:
            if (wire != 2 || !rd_len(r, &sub)) {
                fail(c, "AttributeProto.s: bad length");
                goto done;
            }
            free(a->s);
            a->s_len = (size_t)(sub.end - sub.p);
            if (!(a->s = dup_bytes(sub.p, a->s_len))) goto done;
            break;
        case 5:
            if (wire != 2 || !rd_len(r, &sub) || a->t) {
                fail(c, "AttributeProto.t: bad or repeated tensor");
                goto done;
            }
            if (!(a->t = (onnx_tensor *)calloc(1, sizeof *a->t)) || !parse_tensor(c, &sub, a->t)) goto done;
            break;
        case 6:
            if (wire != 2 || !rd_len(r, &sub) || a->g) {
                fail(c, "AttributeProto.g: bad or repeated graph");
                goto done;
            }
            if (!(a->g = (onnx_graph *)calloc(1, sizeof *a->g)) || !parse_graph(c, &sub, a->g)) goto done;
            break;
        case 7: case 8:
            if ((vals_kind && vals_kind != (int)field) || a->strings || a->graphs) {
                fail(c, "AttributeProto: more than one of floats, ints, strings, graphs");
                goto done;
            }
            vals_kind = (int)field;
            if (!rd_repeated(c, r, wire, field == 7 ? 4 : 0, &vals, &n_vals, &c_vals, "AttributeProto.floats/ints")) goto done;
            break;
        case 9:
            /* strings and graphs share n and c_str: one kind per attribute (a fuzzing find:
               tests/data/fuzz/onnx/attr-strings-and-graphs) */
            if (vals_kind || a->graphs) {
                fail(c, "AttributeProto: more than one of floats, ints, strings, graphs");
                goto done;
            }
            if (!grow((void **)&a->strings, &c_str, a->n, sizeof(char *))) goto done;
            a->strings[a->n] = NULL;
            if (!rd_string(c, r, wire, &a->strings[a->n], "AttributeProto.strings")) goto done;
            a->n++;
            break;
        case 11:
            if (wire != 2 || !rd_len(r, &sub)) {
                fail(c, "AttributeProto.graphs: bad length");
                goto done;
            }
            if (vals_kind || a->strings) {
                fail(c, "AttributeProto: more than one of floats, ints, strings, graphs");
                goto done;
            }
            if (!grow((void **)&a->graphs, &c_str, a->n, sizeof(onnx_graph *))) goto done;
            if (!(a->graphs[a->n] = (onnx_graph *)calloc(1, sizeof(onnx_graph)))) goto done;
            a->n++;
            if (!parse_graph(c, &sub, a->graphs[a->n - 1])) goto done;
            break;
        case 21:
            fail(c, "AttributeProto.ref_attr_name: attribute references (functions) are not supported");
            goto done;
        default:
            if (!rd_skip(r, wire)) {
                fail(c, "AttributeProto: field %u runs past the end", field);
                goto done;
            }
        }
    }
    if (!a->name) {
        fail(c, "AttributeProto without a name");
        goto done;
    }
    if (vals_kind == 7) {
        if (!(a->floats = (float *)malloc(sizeof(float) * (n_vals ? n_vals : 1)))) goto done;
        for (i = 0; i < n_vals; i++) {
            uint32_t bits = (uint32_t)vals[i];
            memcpy(&a->floats[i], &bits, 4);
        }
        a->n = n_vals;
    } else if (vals_kind == 8) {
        if (!(a->ints = (int64_t *)malloc(sizeof(int64_t) * (n_vals ? n_vals : 1)))) goto done;
        for (i = 0; i < n_vals; i++) a->ints[i] = (int64_t)vals[i];
        a->n = n_vals;
    }
    if (!a->type) { /* very old files leave type out: infer it from what is set */
        a->type = a->t ? ONNX_ATTR_TENSOR : a->g ? ONNX_ATTR_GRAPH : a->s ? ONNX_ATTR_STRING : vals_kind == 7 ? ONNX_ATTR_FLOATS
                : vals_kind == 8 ? ONNX_ATTR_INTS : a->strings ? ONNX_ATTR_STRINGS : a->graphs ? ONNX_ATTR_GRAPHS : ONNX_ATTR_INT;
    }
    /* n counts the values of the one list present; a type naming another list would make
       readers index a NULL array (a fuzzing find: tests/data/fuzz/onnx/attr-type-mismatch) */
    if (a->n && ((a->type == ONNX_ATTR_FLOATS && !a->floats) || (a->type == ONNX_ATTR_INTS && !a->ints) ||
                 (a->type == ONNX_ATTR_STRINGS && !a->strings) || (a->type == ONNX_ATTR_GRAPHS && !a->graphs))) {
        fail(c, "attribute '%s': type %d does not match its values", a->name, a->type);
        goto done;
    }
    if (a->type == ONNX_ATTR_STRING && !a->s && !(a->s = dup_bytes((const uint8_t *)"", 0))) goto done;
    if ((a->type == ONNX_ATTR_TENSOR && !a->t) || (a->type == ONNX_ATTR_GRAPH && !a->g)) {
        fail(c, "attribute '%s': its value is missing", a->name);
        goto done;
    }
    ok = 1;
done:
    free(vals);
    if (!ok && c->err && !c->err[0]) fail(c, "AttributeProto: out of memory");
    return ok;
}

static int parse_node(ctx *c, rd *r, onnx_node *n) {
    size_t c_in = 0, c_out = 0, c_attr = 0;
    memset(n, 0, sizeof *n);
    while (r->p < r->end) {
        uint32_t field;
        int wire;
        rd sub;
        if (!rd_key(r, &field, &wire)) return fail(c, "NodeProto: bad field key");
        switch (field) {
        case 1:
            if (!grow((void **)&n->inputs, &c_in, n->n_inputs, sizeof(char *))) return fail(c, "out of memory");
            n->inputs[n->n_inputs] = NULL;
            if (!rd_string(c, r, wire, &n->inputs[n->n_inputs], "NodeProto.input")) return 0;
            n->n_inputs++;
            break;
        case 2:
            if (!grow((void **)&n->outputs, &c_out, n->n_outputs, sizeof(char *))) return fail(c, "out of memory");
            n->outputs[n->n_outputs] = NULL;
            if (!rd_string(c, r, wire, &n->outputs[n->n_outputs], "NodeProto.output")) return 0;
            n->n_outputs++;
            break;
        case 3: if (!rd_string(c, r, wire, &n->name, "NodeProto.name")) return 0; break;
        case 4: if (!rd_string(c, r, wire, &n->op_type, "NodeProto.op_type")) return 0; break;
        case 7: if (!rd_string(c, r, wire, &n->domain, "NodeProto.domain")) return 0; break;
        case 5:
            if (wire != 2 || !rd_len(r, &sub)) return fail(c, "NodeProto.attribute: bad length");
            if (!grow((void **)&n->attrs, &c_attr, n->n_attrs, sizeof(onnx_attr))) return fail(c, "out of memory");
            n->n_attrs++;
            if (!parse_attr(c, &sub, &n->attrs[n->n_attrs - 1])) return 0;
            break;
        default:
            if (!rd_skip(r, wire)) return fail(c, "NodeProto: field %u runs past the end", field);
        }
    }
    if (!n->op_type) return fail(c, "node '%s' has no op_type", n->name ? n->name : "");
    if (!n->name && !(n->name = dup_bytes((const uint8_t *)"", 0))) return fail(c, "out of memory");
    if (!n->domain && !(n->domain = dup_bytes((const uint8_t *)"", 0))) return fail(c, "out of memory");
    return 1;
}

static void node_free(onnx_node *n) {
    size_t i;
    free(n->name);
    free(n->op_type);
    free(n->domain);
    for (i = 0; i < n->n_inputs; i++) free(n->inputs[i]);
    for (i = 0; i < n->n_outputs; i++) free(n->outputs[i]);
    free(n->inputs);
    free(n->outputs);
    for (i = 0; i < n->n_attrs; i++) attr_free(&n->attrs[i]);
    free(n->attrs);
}

static void graph_free(onnx_graph *g) {
    size_t i;
    if (!g) return;
    free(g->name);
    for (i = 0; i < g->n_nodes; i++) node_free(&g->nodes[i]);
    free(g->nodes);
    for (i = 0; i < g->n_initializers; i++) onnx_tensor_free(&g->initializers[i]);
    free(g->initializers);
    for (i = 0; i < g->n_inputs; i++) value_info_free(&g->inputs[i]);
    for (i = 0; i < g->n_outputs; i++) value_info_free(&g->outputs[i]);
    for (i = 0; i < g->n_value_infos; i++) value_info_free(&g->value_infos[i]);
    free(g->inputs);
    free(g->outputs);
    free(g->value_infos);
    memset(g, 0, sizeof *g);
}

static int parse_graph(ctx *c, rd *r, onnx_graph *g) {
    size_t c_nodes = 0, c_init = 0, c_in = 0, c_out = 0, c_vi = 0;
    int ok = 0;
    memset(g, 0, sizeof *g);
    if (++c->depth > ONNX_MAX_DEPTH) return fail(c, "subgraphs nested more than %d deep", ONNX_MAX_DEPTH);
    while (r->p < r->end) {
        uint32_t field;
        int wire;
        rd sub;
        if (!rd_key(r, &field, &wire)) {
            fail(c, "GraphProto: bad field key");
            goto done;
        }
        if (field == 2) {
            if (!rd_string(c, r, wire, &g->name, "GraphProto.name")) goto done;
            continue;
        }
        if (field != 1 && field != 5 && field != 11 && field != 12 && field != 13 && field != 15) {
            if (!rd_skip(r, wire)) {
                fail(c, "GraphProto: field %u runs past the end", field);
                goto done;
            }
            continue;
        }
        if (wire != 2 || !rd_len(r, &sub)) {
            fail(c, "GraphProto: field %u has a bad length", field);
            goto done;
        }
        switch (field) {
        case 1:
            if (!grow((void **)&g->nodes, &c_nodes, g->n_nodes, sizeof(onnx_node))) goto oom;
            g->n_nodes++;
            if (!parse_node(c, &sub, &g->nodes[g->n_nodes - 1])) goto done;
            break;
        case 5:
            if (!grow((void **)&g->initializers, &c_init, g->n_initializers, sizeof(onnx_tensor))) goto oom;
            if (!parse_tensor(c, &sub, &g->initializers[g->n_initializers])) goto done;
            g->n_initializers++;
            break;
        case 11: case 12: case 13: {
            onnx_value_info **arr = field == 11 ? &g->inputs : field == 12 ? &g->outputs : &g->value_infos;
            size_t *n = field == 11 ? &g->n_inputs : field == 12 ? &g->n_outputs : &g->n_value_infos;
            size_t *cap = field == 11 ? &c_in : field == 12 ? &c_out : &c_vi;
            if (!grow((void **)arr, cap, *n, sizeof(onnx_value_info))) goto oom;
            (*n)++;
            if (!parse_value_info(c, &sub, &(*arr)[*n - 1])) goto done;
            break;
        }
        default:
            fail(c, "GraphProto.sparse_initializer: sparse tensors are not supported");
            goto done;
        }
    }
    if (!g->name && !(g->name = dup_bytes((const uint8_t *)"", 0))) goto oom;
    ok = 1;
    goto done;
oom:
    fail(c, "out of memory");
done:
    c->depth--;
    return ok;
}

/* -- files -- */

static void *read_file(ctx *c, const char *path, size_t *bytes) {
    FILE *f = fopen(path, "rb");
    long size;
    void *p;
    if (!f) {
        fail(c, "cannot open: %s", strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        fail(c, "cannot determine the file size");
        return NULL;
    }
    p = malloc((size_t)size + 1);
    if (!p || fread(p, 1, (size_t)size, f) != (size_t)size) {
        free(p);
        fclose(f);
        fail(c, p ? "read failed" : "out of memory");
        return NULL;
    }
    fclose(f);
    *bytes = (size_t)size;
    return p;
}

void onnx_model_free(onnx_model *m) {
    size_t i;
    if (!m) return;
    free(m->producer_name);
    free(m->producer_version);
    for (i = 0; i < m->n_opsets; i++) free(m->opsets[i].domain);
    free(m->opsets);
    if (m->graph) graph_free(m->graph);
    free(m->graph);
    free(m->file);
    free(m);
}

int onnx_load_model(const char *path, onnx_model **out, char *err, size_t err_bytes) {
    ctx c;
    onnx_model *m;
    rd r;
    size_t c_ops = 0;
    char *slash;
    if (err && err_bytes) err[0] = '\0';
    memset(&c, 0, sizeof c);
    c.path = path, c.err = err, c.err_bytes = err_bytes;
    *out = NULL;
    m = (onnx_model *)calloc(1, sizeof *m);
    c.dir = (char *)malloc(strlen(path) + 2);
    if (!m || !c.dir) {
        free(m);
        free(c.dir);
        return fail(&c, "out of memory");
    }
    strcpy(c.dir, path);
    slash = strrchr(c.dir, '/');
    if (slash) *slash = '\0';
    else strcpy(c.dir, ".");
    if (!(m->file = read_file(&c, path, &m->file_bytes))) goto fail;
    r.p = (const uint8_t *)m->file;
    r.end = r.p + m->file_bytes;
    while (r.p < r.end) {
        uint32_t field;
        int wire;
        uint64_t v;
        rd sub;
        if (!rd_key(&r, &field, &wire)) {
            fail(&c, "ModelProto: bad field key at byte %ld (not an ONNX model?)", (long)(r.p - (const uint8_t *)m->file));
            goto fail;
        }
        switch (field) {
        case 1:
            if (wire != 0 || !rd_varint(&r, &v)) {
                fail(&c, "ModelProto.ir_version: bad value");
                goto fail;
            }
            m->ir_version = (int64_t)v;
            break;
        case 2: if (!rd_string(&c, &r, wire, &m->producer_name, "ModelProto.producer_name")) goto fail; break;
        case 3: if (!rd_string(&c, &r, wire, &m->producer_version, "ModelProto.producer_version")) goto fail; break;
        case 7:
            if (wire != 2 || !rd_len(&r, &sub) || m->graph) {
                fail(&c, "ModelProto.graph: bad or repeated graph");
                goto fail;
            }
            if (!(m->graph = (onnx_graph *)calloc(1, sizeof *m->graph))) {
                fail(&c, "out of memory");
                goto fail;
            }
            if (!parse_graph(&c, &sub, m->graph)) goto fail;
            break;
        case 8: { /* OperatorSetIdProto {domain = 1, version = 2} */
            onnx_opset *o;
            if (wire != 2 || !rd_len(&r, &sub)) {
                fail(&c, "ModelProto.opset_import: bad length");
                goto fail;
            }
            if (!grow((void **)&m->opsets, &c_ops, m->n_opsets, sizeof(onnx_opset))) {
                fail(&c, "out of memory");
                goto fail;
            }
            o = &m->opsets[m->n_opsets++];
            memset(o, 0, sizeof *o);
            while (sub.p < sub.end) {
                uint32_t f2;
                int w2;
                if (!rd_key(&sub, &f2, &w2)) {
                    fail(&c, "OperatorSetIdProto: bad field key");
                    goto fail;
                }
                if (f2 == 1) {
                    if (!rd_string(&c, &sub, w2, &o->domain, "OperatorSetIdProto.domain")) goto fail;
                } else if (f2 == 2) {
                    if (w2 != 0 || !rd_varint(&sub, &v)) {
                        fail(&c, "OperatorSetIdProto.version: bad value");
                        goto fail;
                    }
                    o->version = (int64_t)v;
                } else if (!rd_skip(&sub, w2)) {
                    fail(&c, "OperatorSetIdProto: field runs past the end");
                    goto fail;
                }
            }
            if (!o->domain && !(o->domain = dup_bytes((const uint8_t *)"", 0))) goto fail;
            break;
        }
        default:
            if (!rd_skip(&r, wire)) {
                fail(&c, "ModelProto: field %u runs past the end", field);
                goto fail;
            }
        }
    }
    if (!m->graph) {
        fail(&c, "ModelProto has no graph (not an ONNX model?)");
        goto fail;
    }
    free(c.dir);
    *out = m;
    return 1;
fail:
    free(c.dir);
    onnx_model_free(m);
    return 0;
}

int64_t onnx_opset_version(const onnx_model *m) {
    size_t i;
    for (i = 0; i < m->n_opsets; i++)
        if (!m->opsets[i].domain[0] || !strcmp(m->opsets[i].domain, "ai.onnx")) return m->opsets[i].version;
    return 0;
}

int onnx_load_tensor(const char *path, onnx_tensor *t, char *err, size_t err_bytes) {
    ctx c;
    size_t bytes = 0;
    void *file;
    rd r;
    char *slash;
    int ok;
    if (err && err_bytes) err[0] = '\0';
    memset(&c, 0, sizeof c);
    memset(t, 0, sizeof *t);
    c.path = path, c.err = err, c.err_bytes = err_bytes;
    c.dir = (char *)malloc(strlen(path) + 2);
    if (!c.dir) return fail(&c, "out of memory");
    strcpy(c.dir, path);
    slash = strrchr(c.dir, '/');
    if (slash) *slash = '\0';
    else strcpy(c.dir, ".");
    file = read_file(&c, path, &bytes);
    if (!file) {
        free(c.dir);
        return 0;
    }
    r.p = (const uint8_t *)file;
    r.end = r.p + bytes;
    ok = parse_tensor(&c, &r, t);
    if (ok && t->data && !t->owned) { /* raw data points into the file: keep a copy of just that */
        void *copy = malloc(t->data_bytes ? t->data_bytes : 1);
        if (!copy) ok = fail(&c, "out of memory");
        else {
            memcpy(copy, t->data, t->data_bytes);
            t->owned = copy;
            t->data = (const uint8_t *)copy;
        }
    }
    if (!ok) onnx_tensor_free(t);
    free(file);
    free(c.dir);
    return ok;
}
