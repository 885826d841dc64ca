/* tools/convert.c - ONNX model -> infer graph (see convert.h).

   1. read the ONNX file (onnx.c);
   2. translate each node into the runtime's one form of its op (the newest opset's):
      attribute-style axes/splits/pads/clip bounds become constant inputs, pre-13 Softmax
      flattening is made explicit, Upsample becomes Resize, Constant becomes a constant;
   3. graph passes (unless no_fuse): fold nodes whose inputs are all constant (with the
      runtime itself), drop Identity/Dropout, fold BatchNormalization into Conv;
   4. write everything with infer.h's builder.
   Unsupported op types are collected over the whole graph and reported together. */
#define _XOPEN_SOURCE 700
#include "convert.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"

/* -- the converter's graph -- */

typedef struct cconst { /* a constant tensor */
    char *name;
    infer_dtype dtype;
    int n_dims;
    int64_t dims[INFER_MAX_DIMS];
    void *data;              /* owned */
    size_t bytes;
} cconst;

typedef struct cattr {
    char *name;
    infer_attr_type type;
    int64_t i;
    float f;
    int64_t *ints;
    float *floats;
    size_t n;
    char *s;
    cconst *t;               /* TENSOR: owned */
} cattr;

typedef struct cnode {
    char *op, *name;
    char **in, **out;        /* "" = absent */
    size_t n_in, n_out;
    cattr *attrs;
    size_t n_attrs;
    int removed;
} cnode;

typedef struct cgraph {
    cnode *nodes;
    size_t n_nodes, c_nodes;
    cconst *consts;
    size_t n_consts, c_consts;
    int64_t opset;
    const onnx_model *onnx;
    const convert_options *opt;
    char *err;
    size_t err_bytes;
    const char *path;
    size_t counter;          /* for fresh names */
    char **ren;              /* [n_ren][2]: inside an inlined subgraph, name -> new name */
    size_t n_ren, c_ren;
    char *unsupported;       /* "Op: node, node; Op2: ..." collected */
    size_t unsupported_len;
    convert_stats *stats;
} cgraph;

static int cfail(cgraph *g, const char *fmt, ...) {
    va_list ap;
    size_t n = (size_t)snprintf(g->err, g->err_bytes, "%s: ", g->path);
    if (n < g->err_bytes) {
        va_start(ap, fmt);
        vsnprintf(g->err + n, g->err_bytes - n, fmt, ap);
        va_end(ap);
    }
    return 0;
}

static char *sdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = (char *)malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static void *xgrow(void *p, size_t *cap, size_t need, size_t size) {
    size_t ncap;
    void *np;
    if (need <= *cap) return p;
    ncap = *cap ? *cap : 8;
    while (ncap < need) ncap *= 2;
    np = realloc(p, ncap * size);
    if (np) *cap = ncap;
    return np;
}

static void cconst_free(cconst *c) {
    if (!c) return;
    free(c->name);
    free(c->data);
}

static void cattr_free(cattr *a) {
    free(a->name);
    free(a->ints);
    free(a->floats);
    free(a->s);
    if (a->t) cconst_free(a->t);
    free(a->t);
}

static void cnode_free(cnode *n) {
    size_t i;
    free(n->op);
    free(n->name);
    for (i = 0; i < n->n_in; i++) free(n->in[i]);
    for (i = 0; i < n->n_out; i++) free(n->out[i]);
    free(n->in);
    free(n->out);
    for (i = 0; i < n->n_attrs; i++) cattr_free(&n->attrs[i]);
    free(n->attrs);
}

static void cgraph_free(cgraph *g) {
    size_t i;
    for (i = 0; i < 2 * g->n_ren; i++) free(g->ren[i]);
    free(g->ren);
    for (i = 0; i < g->n_nodes; i++) cnode_free(&g->nodes[i]);
    free(g->nodes);
    for (i = 0; i < g->n_consts; i++) cconst_free(&g->consts[i]);
    free(g->consts);
    free(g->unsupported);
}

static cconst *find_const(cgraph *g, const char *name) {
    size_t i;
    if (!name || !name[0]) return NULL;
    for (i = g->n_consts; i-- > 0;)
        if (!strcmp(g->consts[i].name, name)) return &g->consts[i];
    return NULL;
}

/* Adds a constant (takes ownership of data). Returns it or NULL. */
static cconst *add_const(cgraph *g, const char *name, infer_dtype t, int n_dims, const int64_t *dims, void *data,
                         size_t bytes) {
    cconst *c;
    void *p = xgrow(g->consts, &g->c_consts, g->n_consts + 1, sizeof(cconst));
    if (!p) {
        free(data);
        return NULL;
    }
    g->consts = (cconst *)p;
    c = &g->consts[g->n_consts];
    memset(c, 0, sizeof *c);
    c->name = sdup(name);
    c->dtype = t;
    c->n_dims = n_dims;
    if (n_dims) memcpy(c->dims, dims, sizeof(int64_t) * (size_t)n_dims);
    c->data = data;
    c->bytes = bytes;
    if (!c->name) {
        free(data);
        return NULL;
    }
    g->n_consts++;
    return c;
}

/* A constant 1-D i64 tensor with a fresh name; returns its name (owned by the graph). */
static const char *const_ints(cgraph *g, const char *hint, const int64_t *v, size_t n) {
    char name[256];
    int64_t dims[1];
    void *data = malloc(n ? n * 8 : 1);
    cconst *c;
    if (!data) return NULL;
    if (n) memcpy(data, v, n * 8);
    snprintf(name, sizeof name, "%s__c%zu", hint, g->counter++);
    dims[0] = (int64_t)n;
    c = add_const(g, name, INFER_DTYPE_I64, 1, dims, data, n * 8);
    return c ? c->name : NULL;
}

static const char *const_scalar(cgraph *g, const char *hint, infer_dtype t, const void *v) {
    char name[256];
    size_t esz = infer_dtype_bytes(t);
    void *data = malloc(esz);
    cconst *c;
    if (!data) return NULL;
    memcpy(data, v, esz);
    snprintf(name, sizeof name, "%s__c%zu", hint, g->counter++);
    c = add_const(g, name, t, 0, NULL, data, esz);
    return c ? c->name : NULL;
}

static cnode *new_node(cgraph *g, const char *op, const char *name) {
    cnode *n;
    void *p = xgrow(g->nodes, &g->c_nodes, g->n_nodes + 1, sizeof(cnode));
    if (!p) return NULL;
    g->nodes = (cnode *)p;
    n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = sdup(op);
    n->name = sdup(name);
    if (!n->op || !n->name) return NULL;
    g->n_nodes++;
    return n;
}

static int node_io(cnode *n, int is_in, const char *name) {
    char ***arr = is_in ? &n->in : &n->out;
    size_t *cnt = is_in ? &n->n_in : &n->n_out;
    char **p = (char **)realloc(*arr, sizeof(char *) * (*cnt + 1));
    if (!p) return 0;
    *arr = p;
    p[*cnt] = sdup(name ? name : "");
    if (!p[*cnt]) return 0;
    (*cnt)++;
    return 1;
}

static cattr *node_attr(cnode *n, const char *name, infer_attr_type type) {
    cattr *a;
    cattr *p = (cattr *)realloc(n->attrs, sizeof(cattr) * (n->n_attrs + 1));
    if (!p) return NULL;
    n->attrs = p;
    a = &p[n->n_attrs];
    memset(a, 0, sizeof *a);
    a->name = sdup(name);
    a->type = type;
    if (!a->name) return NULL;
    n->n_attrs++;
    return a;
}

static int attr_int(cnode *n, const char *name, int64_t v) {
    cattr *a = node_attr(n, name, INFER_ATTR_INT);
    if (!a) return 0;
    a->i = v;
    return 1;
}
static int attr_float(cnode *n, const char *name, float v) {
    cattr *a = node_attr(n, name, INFER_ATTR_FLOAT);
    if (!a) return 0;
    a->f = v;
    return 1;
}
static int attr_string(cnode *n, const char *name, const char *v) {
    cattr *a = node_attr(n, name, INFER_ATTR_STRING);
    if (!a || !(a->s = sdup(v))) return 0;
    return 1;
}
static int attr_ints(cnode *n, const char *name, const int64_t *v, size_t k) {
    cattr *a = node_attr(n, name, INFER_ATTR_INTS);
    if (!a || !(a->ints = (int64_t *)malloc(k ? k * 8 : 1))) return 0;
    if (k) memcpy(a->ints, v, k * 8);
    a->n = k;
    return 1;
}
static int attr_floats(cnode *n, const char *name, const float *v, size_t k) {
    cattr *a = node_attr(n, name, INFER_ATTR_FLOATS);
    if (!a || !(a->floats = (float *)malloc(k ? k * 4 : 1))) return 0;
    if (k) memcpy(a->floats, v, k * 4);
    a->n = k;
    return 1;
}

static cattr *find_cattr(cnode *n, const char *name) {
    size_t i;
    for (i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
    return NULL;
}

/* -- ONNX attribute access -- */

static const onnx_attr *oattr(const onnx_node *n, const char *name) {
    size_t i;
    for (i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
    return NULL;
}
static int64_t oattr_i(const onnx_node *n, const char *name, int64_t def) {
    const onnx_attr *a = oattr(n, name);
    return a ? a->i : def;
}
static float oattr_f(const onnx_node *n, const char *name, float def) {
    const onnx_attr *a = oattr(n, name);
    return a ? a->f : def;
}
static const char *oattr_s(const onnx_node *n, const char *name, const char *def) {
    const onnx_attr *a = oattr(n, name);
    return a && a->s ? a->s : def;
}

/* A converter constant from an ONNX tensor (copies the data). */
static cconst *const_from_onnx(cgraph *g, const char *name, const onnx_tensor *t) {
    infer_dtype dt = onnx_dtype(t->data_type);
    void *data;
    if (dt == INFER_DTYPE_UNDEFINED) {
        cfail(g, "tensor '%s': data type %s is not supported", name, onnx_dtype_name(t->data_type));
        return NULL;
    }
    data = malloc(t->data_bytes ? t->data_bytes : 1);
    if (!data) return NULL;
    if (t->data_bytes) memcpy(data, t->data, t->data_bytes);
    return add_const(g, name, dt, t->n_dims, t->dims, data, t->data_bytes);
}

/* Copies an ONNX attribute onto a node, translating types; graph-valued ones are refused. */
static int copy_attr(cgraph *g, cnode *n, const onnx_attr *a, const onnx_node *on) {
    switch (a->type) {
    case ONNX_ATTR_INT: return attr_int(n, a->name, a->i);
    case ONNX_ATTR_FLOAT: return attr_float(n, a->name, a->f);
    case ONNX_ATTR_STRING: return attr_string(n, a->name, a->s ? a->s : "");
    case ONNX_ATTR_INTS: return attr_ints(n, a->name, a->ints, a->n);
    case ONNX_ATTR_FLOATS: return attr_floats(n, a->name, a->floats, a->n);
    case ONNX_ATTR_STRINGS: { /* the runtime takes a string list as one comma-separated string */
        size_t i, len = 1;
        char *joined;
        int ok;
        for (i = 0; i < a->n; i++) len += strlen(a->strings[i]) + 1;
        if (!(joined = (char *)malloc(len))) return 0;
        joined[0] = '\0';
        for (i = 0; i < a->n; i++) {
            if (i) strcat(joined, ",");
            strcat(joined, a->strings[i]);
        }
        ok = attr_string(n, a->name, joined);
        free(joined);
        return ok;
    }
    case ONNX_ATTR_TENSOR: {
        cattr *c = node_attr(n, a->name, INFER_ATTR_TENSOR);
        infer_dtype dt = onnx_dtype(a->t->data_type);
        if (!c) return 0;
        if (dt == INFER_DTYPE_UNDEFINED)
            return cfail(g, "node '%s' (%s): attribute '%s': tensor type %s is not supported", on->name, on->op_type,
                         a->name, onnx_dtype_name(a->t->data_type));
        c->t = (cconst *)calloc(1, sizeof(cconst));
        if (!c->t) return 0;
        c->t->name = sdup("");
        c->t->dtype = dt;
        c->t->n_dims = a->t->n_dims;
        memcpy(c->t->dims, a->t->dims, sizeof c->t->dims);
        c->t->bytes = a->t->data_bytes;
        c->t->data = malloc(a->t->data_bytes ? a->t->data_bytes : 1);
        if (!c->t->data || !c->t->name) return 0;
        if (a->t->data_bytes) memcpy(c->t->data, a->t->data, a->t->data_bytes);
        return 1;
    }
    default:
        return cfail(g, "node '%s' (%s): attribute '%s' of type %d is not supported", on->name, on->op_type, a->name,
                     a->type);
    }
}

/* -- translation of one ONNX node -- */

typedef struct onnx_op_map {
    const char *onnx;        /* ONNX op type */
    const char *infer;       /* the runtime's op (NULL: handled by translate()) */
} onnx_op_map;

/* Ops whose newest ONNX form the runtime takes as is (older forms are fixed below). */
static const char *const passthrough[] = {
    "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Equal", "Less", "LessOrEqual", "Greater",
    "GreaterOrEqual", "And", "Or", "Not", "Where", "Sqrt", "Reciprocal", "Neg", "Abs", "Exp", "Log", "Erf", "Tanh",
    "Sigmoid", "Relu", "LeakyRelu", "HardSigmoid", "HardSwish", "Gelu", "MatMul", "Gemm", "Conv", "ConvTranspose",
    "MaxPool", "AveragePool", "GlobalAveragePool", "LayerNormalization", "ArgMax", "Reshape", "Flatten",
    "Transpose", "Concat", "Gather", "Expand", "Tile", "Shape", "Size", "Range", "Identity", NULL};

static int is_passthrough(const char *op) {
    int i;
    for (i = 0; passthrough[i]; i++)
        if (!strcmp(passthrough[i], op)) return 1;
    return 0;
}

/* Ops translate() rewrites; any other op the runtime has passes through as it is. */
static const char *const rewritten[] = {"If", "Loop", "Cast", "EyeLike", "ConstantOfShape", "BatchNormalization", "Softmax", "LogSoftmax",
                                        "ReduceMean", "ReduceSum", "ReduceMax", "Squeeze", "Unsqueeze", "Split",
                                        "Slice", "Clip", "Pad", "Resize", "Dropout", "Constant", NULL};
static int is_rewritten(const char *op) {
    int i;
    for (i = 0; rewritten[i]; i++)
        if (!strcmp(rewritten[i], op)) return 1;
    return 0;
}

/* Attributes a converter drops because the runtime's form has no use for them. */
static int dropped_attr(const char *op, const char *name) {
    if (!strcmp(name, "consumed_inputs")) return 1; /* opset <= 6 bookkeeping */
    if (!strcmp(op, "BatchNormalization") && (!strcmp(name, "spatial") || !strcmp(name, "is_test"))) return 1;
    return 0;
}

/* The runtime knows this op type (by asking the builder would need a graph; the table
   is mirrored by infer_builder_add_node's check, which reports UNSUPPORTED). */
static int note_unsupported(cgraph *g, const onnx_node *on) {
    char item[512];
    size_t len;
    char *p;
    snprintf(item, sizeof item, "%s%s (node '%s')", g->unsupported_len ? "; " : "", on->op_type, on->name);
    len = strlen(item);
    p = (char *)realloc(g->unsupported, g->unsupported_len + len + 1);
    if (!p) return 0;
    g->unsupported = p;
    memcpy(p + g->unsupported_len, item, len + 1);
    g->unsupported_len += len;
    return 1;
}

/* Copies the ONNX node's inputs, outputs and (translatable) attributes onto n. */
static int copy_node(cgraph *g, cnode *n, const onnx_node *on, int copy_attrs) {
    size_t i;
    for (i = 0; i < on->n_inputs; i++)
        if (!node_io(n, 1, on->inputs[i])) return 0;
    for (i = 0; i < on->n_outputs; i++)
        if (!node_io(n, 0, on->outputs[i])) return 0;
    for (i = 0; copy_attrs && i < on->n_attrs; i++) {
        if (dropped_attr(on->op_type, on->attrs[i].name)) continue;
        if (!copy_attr(g, n, &on->attrs[i], on)) return 0;
    }
    return 1;
}

/* Copies attributes except those in `skip` (space-separated names). */
static int copy_attrs_except(cgraph *g, cnode *n, const onnx_node *on, const char *skip) {
    size_t i;
    for (i = 0; i < on->n_attrs; i++) {
        const char *nm = on->attrs[i].name, *p = skip;
        size_t len = strlen(nm);
        int skipped = 0;
        while (p && *p) {
            const char *e = strchr(p, ' ');
            size_t l = e ? (size_t)(e - p) : strlen(p);
            if (l == len && !memcmp(p, nm, len)) skipped = 1;
            p = e ? e + 1 : NULL;
        }
        if (skipped || dropped_attr(on->op_type, nm)) continue;
        if (!copy_attr(g, n, &on->attrs[i], on)) return 0;
    }
    return 1;
}

static int set_input(cnode *n, size_t k, const char *name) {
    while (n->n_in <= k)
        if (!node_io(n, 1, "")) return 0;
    free(n->in[k]);
    n->in[k] = sdup(name ? name : "");
    return n->in[k] != NULL;
}

/* An attribute-style ints list becomes constant input k (when the attribute is set). */
static int attr_to_input(cgraph *g, cnode *n, const onnx_node *on, const char *attr, size_t k) {
    const onnx_attr *a = oattr(on, attr);
    const char *c;
    if (!a) return 1;
    c = const_ints(g, on->outputs[0], a->ints, a->n);
    return c && set_input(n, k, c);
}

static int const_scalar_value(cgraph *g, const char *name, double *v);

/* -- subgraphs (If, Loop) are inlined: their names are renamed to stay unique -- */

static int translate(cgraph *g, const onnx_node *on);

/* The current name of `name` (the innermost renaming wins). */
static const char *rn(const cgraph *g, const char *name) {
    size_t i;
    for (i = g->n_ren; i-- > 0;)
        if (!strcmp(g->ren[2 * i], name)) return g->ren[2 * i + 1];
    return name;
}

static int push_rename(cgraph *g, const char *from, const char *to) {
    void *p = xgrow(g->ren, &g->c_ren, 2 * (g->n_ren + 1), sizeof(char *));
    if (!p) return 0;
    g->ren = (char **)p;
    g->ren[2 * g->n_ren] = sdup(from);
    g->ren[2 * g->n_ren + 1] = sdup(to);
    if (!g->ren[2 * g->n_ren] || !g->ren[2 * g->n_ren + 1]) return 0;
    g->n_ren++;
    return 1;
}

static void pop_renames(cgraph *g, size_t mark) {
    while (g->n_ren > mark) {
        g->n_ren--;
        free(g->ren[2 * g->n_ren]);
        free(g->ren[2 * g->n_ren + 1]);
    }
}

/* Translates a node of an inlined subgraph with its names renamed. */
static int translate_renamed(cgraph *g, const onnx_node *on) {
    onnx_node copy = *on;
    const char **in = (const char **)malloc(sizeof(char *) * (on->n_inputs + 1));
    const char **out = (const char **)malloc(sizeof(char *) * (on->n_outputs + 1));
    size_t i;
    int ok;
    if (!in || !out) {
        free((void *)in);
        free((void *)out);
        return 0;
    }
    for (i = 0; i < on->n_inputs; i++) in[i] = on->inputs[i][0] ? rn(g, on->inputs[i]) : "";
    for (i = 0; i < on->n_outputs; i++) out[i] = on->outputs[i][0] ? rn(g, on->outputs[i]) : "";
    copy.inputs = (char **)in;
    copy.outputs = (char **)out;
    ok = translate(g, &copy);
    free((void *)in);
    free((void *)out);
    return ok;
}

/* Inlines graph `sub`: its formal inputs read `actual`, its outputs are copied (Identity)
   to `targets`, and its own names get `prefix`. */
static int inline_graph(cgraph *g, const onnx_graph *sub, const char *prefix, const char *const *actual,
                        const char *const *targets) {
    size_t mark = g->n_ren, i, k;
    char name[1024];
    for (i = 0; i < sub->n_initializers; i++) {
        snprintf(name, sizeof name, "%s/%s", prefix, sub->initializers[i].name);
        if (!push_rename(g, sub->initializers[i].name, name) || !const_from_onnx(g, name, &sub->initializers[i])) return 0;
    }
    for (i = 0; i < sub->n_inputs; i++)
        if (!push_rename(g, sub->inputs[i].name, actual[i])) return 0;
    for (i = 0; i < sub->n_nodes; i++)
        for (k = 0; k < sub->nodes[i].n_outputs; k++) {
            if (!sub->nodes[i].outputs[k][0]) continue;
            snprintf(name, sizeof name, "%s/%s", prefix, sub->nodes[i].outputs[k]);
            if (!push_rename(g, sub->nodes[i].outputs[k], name)) return 0;
        }
    for (i = 0; i < sub->n_nodes; i++)
        if (!translate_renamed(g, &sub->nodes[i])) return 0;
    for (i = 0; i < sub->n_outputs; i++) {
        cnode *n;
        if (!targets[i] || !targets[i][0]) continue;
        snprintf(name, sizeof name, "%s/out%zu", prefix, i);
        if (!(n = new_node(g, "Identity", name)) || !node_io(n, 1, rn(g, sub->outputs[i].name)) || !node_io(n, 0, targets[i]))
            return 0;
    }
    pop_renames(g, mark);
    return 1;
}

/* If: a constant condition inlines one branch; otherwise both run and Where picks
   (the branches must then give outputs of the same shape). */
static int translate_if(cgraph *g, const onnx_node *on) {
    const onnx_attr *tb = oattr(on, "then_branch"), *eb = oattr(on, "else_branch");
    cconst *cond = on->n_inputs ? find_const(g, on->inputs[0]) : NULL;
    char prefix[512], name[1024];
    const char **t = NULL, **e = NULL;
    size_t i;
    int ok = 0;
    if (on->n_inputs < 1) return cfail(g, "node '%s' (If): no condition input", on->name); /* fuzz: if-no-input */
    if (!tb || !eb || !tb->g || !eb->g || tb->g->n_outputs != on->n_outputs || eb->g->n_outputs != on->n_outputs)
        return cfail(g, "node '%s' (If): needs then_branch and else_branch with %zu outputs", on->name, on->n_outputs);
    if (cond && cond->bytes >= 1) {
        int take = ((const uint8_t *)cond->data)[0] != 0;
        snprintf(prefix, sizeof prefix, "%s/%s", on->outputs[0], take ? "then" : "else");
        return inline_graph(g, take ? tb->g : eb->g, prefix, NULL, (const char *const *)on->outputs);
    }
    t = (const char **)calloc(on->n_outputs + 1, sizeof(char *));
    e = (const char **)calloc(on->n_outputs + 1, sizeof(char *));
    if (!t || !e) goto done;
    for (i = 0; i < on->n_outputs; i++) {
        snprintf(name, sizeof name, "%s/then_out%zu", on->outputs[0], i);
        t[i] = sdup(name);
        snprintf(name, sizeof name, "%s/else_out%zu", on->outputs[0], i);
        e[i] = sdup(name);
        if (!t[i] || !e[i]) goto done;
    }
    snprintf(prefix, sizeof prefix, "%s/then", on->outputs[0]);
    if (!inline_graph(g, tb->g, prefix, NULL, t)) goto done;
    snprintf(prefix, sizeof prefix, "%s/else", on->outputs[0]);
    if (!inline_graph(g, eb->g, prefix, NULL, e)) goto done;
    for (i = 0; i < on->n_outputs; i++) {
        cnode *n = new_node(g, "Where", on->name);
        if (!n || !node_io(n, 1, on->inputs[0]) || !node_io(n, 1, t[i]) || !node_io(n, 1, e[i]) || !node_io(n, 0, on->outputs[i]))
            goto done;
    }
    ok = 1;
done:
    for (i = 0; t && i < on->n_outputs; i++) free((void *)t[i]);
    for (i = 0; e && i < on->n_outputs; i++) free((void *)e[i]);
    free((void *)t);
    free((void *)e);
    return ok;
}

/* Loop with a trip count known now and a condition that stays true: unrolled. */
static int translate_loop(cgraph *g, const onnx_node *on) {
    const onnx_attr *ba = oattr(on, "body");
    const onnx_graph *body = ba ? ba->g : NULL;
    cconst *mc = on->n_inputs > 0 && on->inputs[0][0] ? find_const(g, on->inputs[0]) : NULL;
    size_t n_carried, n_scan, i, k, it, iters;
    char prefix[512], name[1024];
    const char **actual = NULL, **targets = NULL;
    char **carried = NULL;
    int ok = 0;
    const uint8_t yes = 1;
    const char *true_name;
    if (!body || on->n_inputs < 2 || body->n_inputs != on->n_inputs || body->n_outputs < 1)
        return cfail(g, "node '%s' (Loop): malformed (inputs or body)", on->name);
    if (!mc || (mc->dtype != INFER_DTYPE_I64 && mc->dtype != INFER_DTYPE_I32) || mc->bytes < infer_dtype_bytes(mc->dtype))
        return cfail(g, "node '%s' (Loop): the trip count must be a constant (loops run a fixed number of times here)",
                     on->name);
    iters = mc->dtype == INFER_DTYPE_I64 ? (size_t)((const int64_t *)mc->data)[0] : (size_t)((const int32_t *)mc->data)[0];
    if (on->inputs[1][0]) {
        cconst *cc = find_const(g, on->inputs[1]);
        if (!cc || !cc->bytes || !((const uint8_t *)cc->data)[0])
            return cfail(g, "node '%s' (Loop): the initial condition must be a constant true", on->name);
    }
    { /* the body's condition must pass its input through or be a constant true */
        const char *co = body->outputs[0].name;
        size_t j;
        int fixed = !strcmp(co, body->inputs[1].name);
        for (j = 0; !fixed && j < body->n_initializers; j++) fixed = !strcmp(body->initializers[j].name, co);
        for (j = 0; !fixed && j < body->n_nodes; j++)
            if (body->nodes[j].n_outputs && !strcmp(body->nodes[j].outputs[0], co))
                fixed = (!strcmp(body->nodes[j].op_type, "Identity") && body->nodes[j].n_inputs && /* fuzz: loop-identity-no-input */
                         !strcmp(body->nodes[j].inputs[0], body->inputs[1].name)) ||
                        !strcmp(body->nodes[j].op_type, "Constant");
        if (!fixed) return cfail(g, "node '%s' (Loop): a condition computed in the body is not supported", on->name);
    }
    n_carried = on->n_inputs - 2;
    if (body->n_outputs < 1 + n_carried || on->n_outputs != body->n_outputs - 1)
        return cfail(g, "node '%s' (Loop): body outputs do not match the loop", on->name);
    n_scan = body->n_outputs - 1 - n_carried;
    /* the passes below are quadratic in the node count: 200000 unrolled nodes took minutes
       (a fuzzing timeout, tests/data/fuzz/onnx/loop-unroll-slow) */
    if (iters > 4096 || iters * (body->n_nodes + 1) > 4096)
        return cfail(g, "node '%s' (Loop): %zu iterations is too many to unroll", on->name, iters);
    if (iters == 0 && n_scan) return cfail(g, "node '%s' (Loop): zero iterations with scan outputs", on->name);
    actual = (const char **)calloc(body->n_inputs + 1, sizeof(char *));
    targets = (const char **)calloc(body->n_outputs + 1, sizeof(char *));
    carried = (char **)calloc(n_carried + 1, sizeof(char *));
    if (!actual || !targets || !carried) goto done;
    if (!(true_name = const_scalar(g, on->outputs[0], INFER_DTYPE_BOOL, &yes))) goto done;
    for (k = 0; k < n_carried; k++)
        if (!(carried[k] = sdup(on->inputs[2 + k]))) goto done;
    for (it = 0; it < iters; it++) {
        int64_t itv = (int64_t)it;
        const char *itn = const_scalar(g, on->outputs[0], INFER_DTYPE_I64, &itv);
        if (!itn) goto done;
        actual[0] = itn;
        actual[1] = true_name;
        for (k = 0; k < n_carried; k++) actual[2 + k] = carried[k];
        snprintf(prefix, sizeof prefix, "%s/iter%zu", on->outputs[0], it);
        targets[0] = NULL; /* the condition output is not needed */
        for (k = 1; k < body->n_outputs; k++) {
            snprintf(name, sizeof name, "%s/o%zu", prefix, k);
            if (!(targets[k] = sdup(name))) goto done;
        }
        if (!inline_graph(g, body, prefix, actual, targets)) goto done;
        for (k = 0; k < n_carried; k++) {
            free(carried[k]);
            carried[k] = (char *)targets[1 + k];
            targets[1 + k] = NULL;
        }
        for (k = 1 + n_carried; k < body->n_outputs; k++) { /* scan values gain a leading axis */
            static const int64_t zero = 0;
            cnode *n;
            const char *axes = const_ints(g, on->outputs[0], &zero, 1);
            snprintf(name, sizeof name, "%s/scan%zu", prefix, k);
            if (!axes || !(n = new_node(g, "Unsqueeze", name)) || !node_io(n, 1, targets[k]) || !node_io(n, 1, axes) ||
                !node_io(n, 0, name))
                goto done;
            free((void *)targets[k]);
            targets[k] = NULL;
        }
    }
    for (k = 0; k < n_carried; k++) { /* final values */
        cnode *n;
        if (!on->outputs[k][0]) continue;
        snprintf(name, sizeof name, "%s/final%zu", on->name, k);
        if (!(n = new_node(g, "Identity", name)) || !node_io(n, 1, carried[k]) || !node_io(n, 0, on->outputs[k])) goto done;
    }
    for (i = 0; i < n_scan; i++) {
        cnode *n;
        if (!on->outputs[n_carried + i][0]) continue;
        if (!(n = new_node(g, "Concat", on->name)) || !attr_int(n, "axis", 0)) goto done;
        for (it = 0; it < iters; it++) {
            snprintf(name, sizeof name, "%s/iter%zu/scan%zu", on->outputs[0], it, 1 + n_carried + i);
            if (!node_io(n, 1, name)) goto done;
        }
        if (!node_io(n, 0, on->outputs[n_carried + i])) goto done;
    }
    ok = 1;
done:
    for (k = 0; carried && k < n_carried; k++) free(carried[k]);
    for (k = 0; targets && k < body->n_outputs; k++) free((void *)targets[k]);
    free(carried);
    free((void *)targets);
    free((void *)actual);
    return ok;
}

static int translate(cgraph *g, const onnx_node *on) {
    const char *op = on->op_type;
    int64_t opset = g->opset;
    cnode *n;

    if (on->domain[0] && strcmp(on->domain, "ai.onnx")) return note_unsupported(g, on);
    /* every operator has an output; the passes read out[0] (a fuzzing find:
       tests/data/fuzz/onnx/node-no-outputs) */
    if (on->n_outputs == 0) return cfail(g, "node '%s' (%s): no outputs", on->name, op);

    if (!strcmp(op, "Constant")) {
        const onnx_attr *a = on->n_attrs ? &on->attrs[0] : NULL;
        if (g->stats) g->stats->folded++; /* a Constant node becomes a constant tensor */
        int64_t one = 1;
        void *data;
        if (!a || on->n_outputs != 1) return cfail(g, "node '%s' (Constant): needs one value attribute", on->name);
        /* the attribute's type must be the one its name says: the reader fills only that
           field (a fuzzing find: tests/data/fuzz/onnx/constant-value-not-tensor) */
        if (a->type != (!strcmp(a->name, "value")          ? ONNX_ATTR_TENSOR
                        : !strcmp(a->name, "value_float")  ? ONNX_ATTR_FLOAT
                        : !strcmp(a->name, "value_int")    ? ONNX_ATTR_INT
                        : !strcmp(a->name, "value_floats") ? ONNX_ATTR_FLOATS
                        : !strcmp(a->name, "value_ints")   ? ONNX_ATTR_INTS
                                                           : a->type) ||
            (a->type == ONNX_ATTR_TENSOR && !a->t))
            return cfail(g, "node '%s' (Constant): attribute '%s' has the wrong type", on->name, a->name);
        if (!strcmp(a->name, "value")) return const_from_onnx(g, on->outputs[0], a->t) != NULL;
        if (!strcmp(a->name, "value_float") || !strcmp(a->name, "value_int")) {
            int is_f = a->name[6] == 'f';
            data = malloc(is_f ? 4 : 8);
            if (!data) return 0;
            if (is_f) memcpy(data, &a->f, 4);
            else memcpy(data, &a->i, 8);
            return add_const(g, on->outputs[0], is_f ? INFER_DTYPE_F32 : INFER_DTYPE_I64, 0, &one, data, is_f ? 4 : 8) != NULL;
        }
        if (!strcmp(a->name, "value_floats") || !strcmp(a->name, "value_ints")) {
            int is_f = a->name[6] == 'f';
            int64_t d = (int64_t)a->n;
            data = malloc(a->n ? a->n * (is_f ? 4 : 8) : 1);
            if (!data) return 0;
            if (a->n) memcpy(data, is_f ? (const void *)a->floats : (const void *)a->ints, a->n * (is_f ? 4 : 8));
            return add_const(g, on->outputs[0], is_f ? INFER_DTYPE_F32 : INFER_DTYPE_I64, 1, &d, data,
                             a->n * (is_f ? 4 : 8)) != NULL;
        }
        return cfail(g, "node '%s' (Constant): attribute '%s' is not supported", on->name, a->name);
    }
    /* every runtime op takes an input, and the translations below read inputs[0]
       (fuzzing finds: tests/data/fuzz/onnx/softmax-no-inputs, dropout-no-inputs); an op
       we neither run nor translate goes on to be refused by name */
    if (on->n_inputs == 0 && (infer_op_exists(op) || !strcmp(op, "Dropout") || !strcmp(op, "Upsample") ||
                              !strcmp(op, "If") || !strcmp(op, "Loop")))
        return cfail(g, "node '%s' (%s): no inputs", on->name, op);

    if (!strcmp(op, "If")) return translate_if(g, on);
    if (!strcmp(op, "Loop")) return translate_loop(g, on);

    if (!strcmp(op, "Dropout")) { /* inference: the identity on output 0; the mask, if used, is all true */
        if (on->n_inputs > 2 && on->inputs[2][0]) {
            cconst *tm = find_const(g, on->inputs[2]), *ratio = on->inputs[1][0] ? find_const(g, on->inputs[1]) : NULL;
            double r = 1;
            int zero_ratio = ratio && const_scalar_value(g, ratio->name, &r) && r == 0; /* drops nothing */
            if (!zero_ratio && (!tm || !tm->bytes || ((const uint8_t *)tm->data)[0]))
                return cfail(g, "node '%s' (Dropout): training_mode must be a constant false (inference only)", on->name);
        }
        n = new_node(g, "Identity", on->name);
        if (!n || !node_io(n, 1, on->inputs[0]) || !node_io(n, 0, on->outputs[0])) return 0;
        if (on->n_outputs > 1 && on->outputs[1][0]) { /* mask = ConstantOfShape(Shape(x), true) */
            char s[512];
            cattr *v;
            snprintf(s, sizeof s, "%s__shape", on->outputs[1]);
            if (!(n = new_node(g, "Shape", s)) || !node_io(n, 1, on->inputs[0]) || !node_io(n, 0, s)) return 0;
            if (!(n = new_node(g, "ConstantOfShape", on->name)) || !node_io(n, 1, s) || !node_io(n, 0, on->outputs[1]) ||
                !(v = node_attr(n, "value", INFER_ATTR_TENSOR)) || !(v->t = (cconst *)calloc(1, sizeof(cconst))))
                return 0;
            v->t->name = sdup("");
            v->t->dtype = INFER_DTYPE_BOOL;
            v->t->n_dims = 1;
            v->t->dims[0] = 1;
            v->t->bytes = 1;
            if (!v->t->name || !(v->t->data = malloc(1))) return 0;
            ((uint8_t *)v->t->data)[0] = 1;
        }
        return 1;
    }

    if (!strcmp(op, "MaxPool") && on->n_outputs > 1 && on->outputs[1][0])
        return cfail(g, "node '%s' (MaxPool): the Indices output is not supported", on->name);

    if (!strcmp(op, "QuantizeLinear") || !strcmp(op, "DequantizeLinear")) { /* ONNX dtype codes -> infer's */
        const char *attrs[2] = {"output_dtype", "precision"};
        int k;
        n = new_node(g, op, on->name);
        if (!n || !copy_node(g, n, on, 0) || !copy_attrs_except(g, n, on, "output_dtype precision")) return 0;
        for (k = 0; k < 2; k++) {
            int64_t code = oattr_i(on, attrs[k], 0);
            infer_dtype t = onnx_dtype((int32_t)code);
            if (!code) continue;
            if (t == INFER_DTYPE_UNDEFINED)
                return cfail(g, "node '%s' (%s): %s %s is not supported", on->name, op, attrs[k],
                             onnx_dtype_name((int32_t)code));
            if (!attr_int(n, attrs[k], t)) return 0;
        }
        return 1;
    }

    if (is_passthrough(op) || (!is_rewritten(op) && infer_op_exists(op))) {
        n = new_node(g, op, on->name);
        if (!n || !copy_node(g, n, on, 1)) return 0;
        if (!strcmp(op, "Gemm")) { /* opset < 7 broadcast attr: always on now */
            size_t i;
            for (i = 0; i < n->n_attrs; i++)
                if (!strcmp(n->attrs[i].name, "broadcast")) {
                    cattr_free(&n->attrs[i]);
                    n->attrs[i] = n->attrs[--n->n_attrs];
                }
        }
        return 1;
    }

    if (!strcmp(op, "Cast")) {
        infer_dtype to = onnx_dtype((int32_t)oattr_i(on, "to", 0));
        n = new_node(g, "Cast", on->name);
        if (!n || !copy_node(g, n, on, 0)) return 0;
        if (to == INFER_DTYPE_UNDEFINED)
            return cfail(g, "node '%s' (Cast): target type %s is not supported", on->name,
                         onnx_dtype_name((int32_t)oattr_i(on, "to", 0)));
        if (oattr(on, "saturate") && !attr_int(n, "saturate", oattr_i(on, "saturate", 1))) return 0;
        if (oattr(on, "round_mode") && !attr_string(n, "round_mode", oattr_s(on, "round_mode", "up"))) return 0;
        return attr_int(n, "to", to);
    }

    if (!strcmp(op, "EyeLike")) { /* dtype: an ONNX TensorProto number, as Cast's 'to'; absent: the input's */
        infer_dtype to = onnx_dtype((int32_t)oattr_i(on, "dtype", 0));
        n = new_node(g, op, on->name);
        if (!n || !copy_node(g, n, on, 0) || !copy_attrs_except(g, n, on, "dtype")) return 0;
        if (!oattr(on, "dtype")) return 1;
        if (to == INFER_DTYPE_UNDEFINED)
            return cfail(g, "node '%s' (EyeLike): dtype %s is not supported", on->name,
                         onnx_dtype_name((int32_t)oattr_i(on, "dtype", 0)));
        return attr_int(n, "dtype", to);
    }

    if (!strcmp(op, "ConstantOfShape")) {
        n = new_node(g, op, on->name);
        return n && copy_node(g, n, on, 1);
    }

    if (!strcmp(op, "BatchNormalization")) {
        size_t i;
        n = new_node(g, op, on->name);
        if (!n || !copy_attrs_except(g, n, on, "spatial is_test momentum")) return 0;
        for (i = 0; i < on->n_inputs; i++)
            if (!node_io(n, 1, on->inputs[i])) return 0;
        if (!node_io(n, 0, on->outputs[0])) return 0;
        for (i = 1; i < on->n_outputs; i++)
            if (on->outputs[i][0]) return cfail(g, "node '%s' (BatchNormalization): training outputs are not supported", on->name);
        return 1;
    }

    if (!strcmp(op, "Softmax") || !strcmp(op, "LogSoftmax")) {
        int64_t axis = oattr_i(on, "axis", opset >= 13 ? -1 : 1);
        if (opset >= 13 || axis == -1) {
            n = new_node(g, op, on->name);
            return n && copy_node(g, n, on, 0) && attr_int(n, "axis", axis);
        }
        { /* before 13: over the input flattened to 2-D at axis; the result keeps the input's shape */
            char f[256], s[256], y[256];
            snprintf(f, sizeof f, "%s__flat", on->outputs[0]);
            snprintf(s, sizeof s, "%s__shape", on->outputs[0]);
            snprintf(y, sizeof y, "%s__2d", on->outputs[0]);
            n = new_node(g, "Shape", s);
            if (!n || !node_io(n, 1, on->inputs[0]) || !node_io(n, 0, s)) return 0;
            n = new_node(g, "Flatten", f);
            if (!n || !node_io(n, 1, on->inputs[0]) || !node_io(n, 0, f) || !attr_int(n, "axis", axis)) return 0;
            n = new_node(g, op, on->name);
            if (!n || !node_io(n, 1, f) || !node_io(n, 0, y) || !attr_int(n, "axis", -1)) return 0;
            n = new_node(g, "Reshape", y);
            return n && node_io(n, 1, y) && node_io(n, 1, s) && node_io(n, 0, on->outputs[0]);
        }
    }

    if (!strcmp(op, "ReduceMean") || !strcmp(op, "ReduceSum") || !strcmp(op, "ReduceMax")) {
        int attr_form = !strcmp(op, "ReduceSum") ? opset < 13 : opset < 18;
        n = new_node(g, op, on->name);
        if (!n || !copy_node(g, n, on, 0)) return 0;
        if (attr_form && !attr_to_input(g, n, on, "axes", 1)) return 0;
        if (!copy_attrs_except(g, n, on, "axes")) return 0;
        return 1;
    }

    if (!strcmp(op, "Squeeze") || !strcmp(op, "Unsqueeze")) {
        n = new_node(g, op, on->name);
        if (!n || !copy_node(g, n, on, 0)) return 0;
        if (opset < 13 && !attr_to_input(g, n, on, "axes", 1)) return 0;
        return 1;
    }

    if (!strcmp(op, "Split")) {
        n = new_node(g, op, on->name);
        if (!n || !copy_node(g, n, on, 0)) return 0;
        if (opset < 13 && !attr_to_input(g, n, on, "split", 1)) return 0;
        return copy_attrs_except(g, n, on, "split");
    }

    if (!strcmp(op, "Slice")) {
        n = new_node(g, op, on->name);
        if (!n || !copy_node(g, n, on, 0)) return 0;
        if (opset < 10) {
            const onnx_attr *axes = oattr(on, "axes");
            if (!attr_to_input(g, n, on, "starts", 1) || !attr_to_input(g, n, on, "ends", 2)) return 0;
            if (axes && !attr_to_input(g, n, on, "axes", 3)) return 0;
        }
        return 1;
    }

    if (!strcmp(op, "Clip")) {
        n = new_node(g, op, on->name);
        if (!n || !copy_node(g, n, on, 0)) return 0;
        if (opset < 11) {
            float lo = oattr_f(on, "min", -3.4028234663852886e38f), hi = oattr_f(on, "max", 3.4028234663852886e38f);
            const char *a = const_scalar(g, on->outputs[0], INFER_DTYPE_F32, &lo);
            const char *b = const_scalar(g, on->outputs[0], INFER_DTYPE_F32, &hi);
            return a && b && set_input(n, 1, a) && set_input(n, 2, b);
        }
        return 1;
    }

    if (!strcmp(op, "Pad")) {
        n = new_node(g, op, on->name);
        if (!n || !copy_node(g, n, on, 0)) return 0;
        if (opset < 11) {
            float v = oattr_f(on, "value", 0.0f);
            const char *c = const_scalar(g, on->outputs[0], INFER_DTYPE_F32, &v);
            if (!attr_to_input(g, n, on, "pads", 1) || !c || !set_input(n, 2, c)) return 0;
        }
        return copy_attrs_except(g, n, on, "pads value");
    }

    if (!strcmp(op, "Upsample") || (!strcmp(op, "Resize") && opset < 11)) {
        /* Upsample (7-9) and Resize-10: scales, asymmetric coordinates, nearest rounds down */
        const char *mode = oattr_s(on, "mode", "nearest");
        n = new_node(g, "Resize", on->name);
        if (!n || !node_io(n, 1, on->inputs[0]) || !node_io(n, 1, "") || !node_io(n, 0, on->outputs[0])) return 0;
        if (opset < 9 && oattr(on, "scales")) {
            const onnx_attr *sc = oattr(on, "scales");
            char name[256];
            int64_t d = (int64_t)sc->n;
            void *data = malloc(sc->n ? sc->n * 4 : 1);
            if (!data) return 0;
            if (sc->n) memcpy(data, sc->floats, sc->n * 4);
            snprintf(name, sizeof name, "%s__scales", on->outputs[0]);
            if (!add_const(g, name, INFER_DTYPE_F32, 1, &d, data, sc->n * 4) || !node_io(n, 1, name)) return 0;
        } else if (on->n_inputs > 1) {
            if (!node_io(n, 1, on->inputs[1])) return 0;
        }
        if (!attr_string(n, "mode", !strcmp(mode, "bilinear") ? "linear" : mode) ||
            !attr_string(n, "coordinate_transformation_mode", "asymmetric"))
            return 0;
        return strcmp(mode, "nearest") || attr_string(n, "nearest_mode", "floor");
    }

    if (!strcmp(op, "Resize")) {
        n = new_node(g, op, on->name);
        return n && copy_node(g, n, on, 1);
    }

    return note_unsupported(g, on);
}

/* -- passes -- */

static size_t count_uses(const cgraph *g, const char *name) {
    size_t i, k, uses = 0;
    for (i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].removed) continue;
        for (k = 0; k < g->nodes[i].n_in; k++) uses += !strcmp(g->nodes[i].in[k], name);
    }
    return uses;
}

static int is_graph_output(const cgraph *g, const char *name) {
    size_t i;
    const onnx_graph *og = g->onnx->graph;
    for (i = 0; i < og->n_outputs; i++)
        if (!strcmp(og->outputs[i].name, name)) return 1;
    return 0;
}

/* Replaces every use of `from` by `to`. */
static int rename_uses(cgraph *g, const char *from, const char *to) {
    size_t i, k;
    /* x -> Identity -> x: `to` may be the very input this would free (a fuzzing find:
       tests/data/fuzz/onnx/identity-self-loop) */
    if (!strcmp(from, to)) return 1;
    for (i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].removed) continue;
        for (k = 0; k < g->nodes[i].n_in; k++)
            if (!strcmp(g->nodes[i].in[k], from)) {
                char *d = sdup(to);
                if (!d) return 0;
                free(g->nodes[i].in[k]);
                g->nodes[i].in[k] = d;
            }
    }
    return 1;
}

/* Identity (and Dropout, translated to Identity): consumers read the input directly. */
static int pass_identity(cgraph *g) {
    size_t i;
    for (i = 0; i < g->n_nodes; i++) {
        cnode *n = &g->nodes[i];
        if (n->removed || strcmp(n->op, "Identity") || n->n_in < 1 || is_graph_output(g, n->out[0])) continue;
        if (!rename_uses(g, n->out[0], n->in[0])) return 0;
        n->removed = 1;
        if (g->stats) g->stats->removed++;
    }
    return 1;
}

/* Conv -> BatchNormalization with constant parameters: scale the weights and bias. */
static int pass_conv_bn(cgraph *g) {
    size_t i, j;
    for (j = 0; j < g->n_nodes; j++) {
        cnode *bn = &g->nodes[j], *conv = NULL;
        cconst *w, *sc[4], *b = NULL;
        size_t m, per, k;
        float eps;
        cattr *ea;
        float *nb;
        if (bn->removed || strcmp(bn->op, "BatchNormalization") || bn->n_in != 5 || bn->n_out < 1) continue;
        for (i = 0; i < j; i++)
            if (!g->nodes[i].removed && !strcmp(g->nodes[i].op, "Conv") && !strcmp(g->nodes[i].out[0], bn->in[0]))
                conv = &g->nodes[i];
        if (!conv || count_uses(g, conv->out[0]) != 1 || is_graph_output(g, conv->out[0])) continue;
        w = find_const(g, conv->in[1]);
        if (conv->n_in > 2 && conv->in[2][0] && !(b = find_const(g, conv->in[2]))) continue;
        for (k = 0; k < 4; k++)
            if (!(sc[k] = find_const(g, bn->in[1 + k])) || sc[k]->dtype != INFER_DTYPE_F32) break;
        if (k < 4 || !w || w->dtype != INFER_DTYPE_F32 || w->n_dims < 1 || (b && b->dtype != INFER_DTYPE_F32)) continue;
        m = (size_t)w->dims[0];
        if (sc[0]->bytes != m * 4 || sc[1]->bytes != m * 4 || sc[2]->bytes != m * 4 || sc[3]->bytes != m * 4 ||
            (b && b->bytes != m * 4) || !m)
            continue;
        if (count_uses(g, w->name) != 1) continue; /* the weights are ours to rewrite */
        ea = find_cattr(bn, "epsilon");
        eps = ea ? ea->f : 1e-5f;
        per = w->bytes / 4 / m;
        nb = (float *)malloc(m * 4);
        if (!nb) return 0;
        for (k = 0; k < m; k++) {
            const float *gamma = (const float *)sc[0]->data, *beta = (const float *)sc[1]->data;
            const float *mean = (const float *)sc[2]->data, *var = (const float *)sc[3]->data;
            double s = gamma[k] / sqrt((double)var[k] + eps);
            size_t e;
            for (e = 0; e < per; e++) ((float *)w->data)[k * per + e] = (float)(((float *)w->data)[k * per + e] * s);
            nb[k] = (float)(((b ? ((const float *)b->data)[k] : 0.0f) - mean[k]) * s + beta[k]);
        }
        {
            char name[256];
            int64_t d = (int64_t)m;
            cconst *c;
            snprintf(name, sizeof name, "%s__bias", conv->name);
            c = add_const(g, name, INFER_DTYPE_F32, 1, &d, nb, m * 4);
            if (!c) return 0;
            /* add_const may move the array: re-find the nodes by index */
            conv = &g->nodes[conv - g->nodes];
            bn = &g->nodes[j];
            if (!set_input(conv, 2, c->name)) return 0;
        }
        free(conv->out[0]);
        conv->out[0] = sdup(bn->out[0]);
        if (!conv->out[0]) return 0;
        bn->removed = 1;
        if (g->stats) g->stats->fused++;
    }
    return 1;
}


/* -- pattern helpers -- */

/* The live node that produces `name`, or NULL. */
static cnode *producer(cgraph *g, const char *name) {
    size_t i, k;
    for (i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].removed) continue;
        for (k = 0; k < g->nodes[i].n_out; k++)
            if (!strcmp(g->nodes[i].out[k], name)) return &g->nodes[i];
    }
    return NULL;
}

/* The only live node reading `name` (and `name` is not a graph output), else NULL. */
static cnode *sole_consumer(cgraph *g, const char *name) {
    size_t i, k;
    cnode *found = NULL;
    if (is_graph_output(g, name)) return NULL;
    for (i = 0; i < g->n_nodes; i++) {
        cnode *n = &g->nodes[i];
        if (n->removed) continue;
        for (k = 0; k < n->n_in; k++)
            if (!strcmp(n->in[k], name)) {
                if (found) return NULL;
                found = n;
            }
    }
    return found;
}

/* Value of a one-element f32 constant named `name`, in *v. */
static int const_scalar_value(cgraph *g, const char *name, double *v) {
    cconst *c = find_const(g, name);
    if (!c || c->bytes != infer_dtype_bytes(c->dtype)) return 0;
    if (c->dtype == INFER_DTYPE_F32) *v = ((const float *)c->data)[0];
    else if (c->dtype == INFER_DTYPE_F64) *v = ((const double *)c->data)[0];
    else return 0;
    return 1;
}

static int near(double a, double b) { return fabs(a - b) <= 1e-4 * fabs(b); }

/* For a binary node reading `x` and a scalar constant: the constant's value. */
static int other_scalar(cgraph *g, const cnode *n, const char *x, double *v) {
    if (n->n_in != 2) return 0;
    if (!strcmp(n->in[0], x)) return const_scalar_value(g, n->in[1], v);
    if (!strcmp(n->in[1], x)) return const_scalar_value(g, n->in[0], v);
    return 0;
}

/* The input of binary node n that is not `x` ("" when neither or both are). */
static const char *other_input(const cnode *n, const char *x) {
    if (n->n_in != 2) return "";
    if (!strcmp(n->in[0], x) && strcmp(n->in[1], x)) return n->in[1];
    if (!strcmp(n->in[1], x) && strcmp(n->in[0], x)) return n->in[0];
    return "";
}

/* Gives node `keep` the output of node `last` (which then goes away with `gone`). */
static int take_output(cnode *keep, const cnode *last) {
    char *o = sdup(last->out[0]);
    if (!o) return 0;
    free(keep->out[0]);
    keep->out[0] = o;
    return 1;
}

static void note(cgraph *g, const char *what, const char *node) {
    if (g->opt->verbose) fprintf(stderr, "infer-convert: %s at node '%s'\n", what, node);
    if (g->stats) g->stats->fused++;
}

/* MatMul/Gemm followed by Add of a constant vector of N values: the bias moves in. */
static int pass_bias(cgraph *g) {
    size_t i;
    for (i = 0; i < g->n_nodes; i++) {
        cnode *n = &g->nodes[i], *add;
        cconst *w, *b;
        const char *bname;
        int64_t nn;
        int d;
        if (n->removed || (strcmp(n->op, "MatMul") && strcmp(n->op, "Gemm")) || n->n_in != 2 || n->n_out < 1 ||
            find_cattr(n, "activation"))
            continue;
        if (!(add = sole_consumer(g, n->out[0])) || strcmp(add->op, "Add")) continue;
        bname = other_input(add, n->out[0]);
        if (!(b = find_const(g, bname)) || b->dtype != INFER_DTYPE_F32 || !(w = find_const(g, n->in[1])) || w->n_dims != 2)
            continue;
        if (!strcmp(n->op, "Gemm")) {
            cattr *tb = find_cattr(n, "transB"), *beta = find_cattr(n, "beta");
            nn = w->dims[tb && tb->i ? 0 : 1];
            if (beta && beta->f != 1.0f) continue;
        } else {
            nn = w->dims[1];
        }
        if ((int64_t)(b->bytes / 4) != nn) continue;
        for (d = 0; d + 1 < b->n_dims; d++)
            if (b->dims[d] != 1) break;
        if (d + 1 < b->n_dims && b->n_dims) continue; /* must be [N], [1,N], ...: not a [M,N] addend */
        if (!set_input(n, 2, bname) || !take_output(n, add)) return 0;
        add->removed = 1;
        note(g, "bias fused", n->name);
    }
    return 1;
}

/* Conv/ConvTranspose/Gemm/MatMul followed by an activation that only it feeds. */
static int pass_activation(cgraph *g) {
    size_t i;
    for (i = 0; i < g->n_nodes; i++) {
        cnode *n = &g->nodes[i], *a, *mul = NULL;
        const char *kind = NULL;
        float alpha = 0, beta = 0;
        int has_alpha = 0, has_beta = 0;
        if (n->removed || n->n_in < 1 || n->n_out < 1 || find_cattr(n, "activation") ||
            (strcmp(n->op, "Conv") && strcmp(n->op, "ConvTranspose") && strcmp(n->op, "Gemm") && strcmp(n->op, "MatMul")))
            continue;
        a = sole_consumer(g, n->out[0]);
        if (!a) { /* SiLU: y * Sigmoid(y), where y feeds exactly those two */
            size_t j, k, uses = 0;
            cnode *sig = NULL;
            if (is_graph_output(g, n->out[0])) continue;
            for (j = 0; j < g->n_nodes; j++) {
                cnode *m = &g->nodes[j];
                if (m->removed) continue;
                for (k = 0; k < m->n_in; k++)
                    if (!strcmp(m->in[k], n->out[0])) {
                        uses++;
                        if (!strcmp(m->op, "Sigmoid")) sig = m;
                        else if (!strcmp(m->op, "Mul")) mul = m;
                    }
            }
            if (uses != 2 || !sig || !mul || sole_consumer(g, sig->out[0]) != mul ||
                strcmp(other_input(mul, n->out[0]), sig->out[0]))
                continue;
            if (!take_output(n, mul) || !attr_string(n, "activation", "Silu")) return 0;
            sig->removed = mul->removed = 1;
            note(g, "Silu fused", n->name);
            continue;
        }
        if (!strcmp(a->op, "Relu") || !strcmp(a->op, "Sigmoid") || !strcmp(a->op, "Tanh") || !strcmp(a->op, "HardSwish")) {
            kind = a->op;
        } else if (!strcmp(a->op, "LeakyRelu")) {
            cattr *al = find_cattr(a, "alpha");
            kind = a->op, alpha = al ? al->f : 0.01f, has_alpha = 1;
        } else if (!strcmp(a->op, "HardSigmoid")) {
            cattr *al = find_cattr(a, "alpha"), *be = find_cattr(a, "beta");
            kind = a->op, alpha = al ? al->f : 0.2f, beta = be ? be->f : 0.5f, has_alpha = has_beta = 1;
        } else if (!strcmp(a->op, "Gelu")) {
            cattr *ap = find_cattr(a, "approximate");
            kind = ap && ap->s && !strcmp(ap->s, "tanh") ? "GeluTanh" : "Gelu";
        } else if (!strcmp(a->op, "Clip")) {
            double lo = -INFINITY, hi = INFINITY;
            if ((a->n_in > 1 && a->in[1][0] && !const_scalar_value(g, a->in[1], &lo)) ||
                (a->n_in > 2 && a->in[2][0] && !const_scalar_value(g, a->in[2], &hi)))
                continue;
            kind = "Clip", alpha = (float)lo, beta = (float)hi, has_alpha = has_beta = 1;
        }
        if (!kind) continue;
        if (!take_output(n, a) || !attr_string(n, "activation", kind) ||
            (has_alpha && !attr_float(n, "activation_alpha", alpha)) || (has_beta && !attr_float(n, "activation_beta", beta)))
            return 0;
        a->removed = 1;
        note(g, "activation fused", n->name);
    }
    return 1;
}

/* The tail shared by both GELU forms: t -> Add(1) -> Mul(x) -> Mul(0.5), or with the
   0.5 applied to x first (Mul(Mul(x, 0.5), .)). Returns the last node, or NULL. */
static cnode *gelu_tail(cgraph *g, const char *t, const char *x, cnode **gone, int *n_gone) {
    cnode *add = sole_consumer(g, t), *m1, *m2;
    double v;
    const char *o;
    if (!add || strcmp(add->op, "Add") || !other_scalar(g, add, t, &v) || !near(v, 1.0)) return NULL;
    if (!(m1 = sole_consumer(g, add->out[0])) || strcmp(m1->op, "Mul")) return NULL;
    gone[(*n_gone)++] = add;
    gone[(*n_gone)++] = m1;
    o = other_input(m1, add->out[0]);
    if (!strcmp(o, x)) { /* Mul(x, .) then Mul(0.5) */
        if (!(m2 = sole_consumer(g, m1->out[0])) || strcmp(m2->op, "Mul") || !other_scalar(g, m2, m1->out[0], &v) ||
            !near(v, 0.5))
            return NULL;
        gone[(*n_gone)++] = m2;
        return m2;
    }
    { /* Mul(Mul(x, 0.5), .) */
        cnode *h = producer(g, o);
        if (!h || strcmp(h->op, "Mul") || sole_consumer(g, o) != m1 || !other_scalar(g, h, x, &v) || !near(v, 0.5))
            return NULL;
        gone[(*n_gone)++] = h;
        return m1;
    }
}

/* p computes x^3: Pow(x, 3), or x * (x * x) in either order. Adds the inner Mul to gone. */
static int is_cube(cgraph *g, const cnode *p, const char *x, cnode **gone, int *n_gone) {
    double v;
    const char *q;
    cnode *sq;
    if (!strcmp(p->op, "Pow")) return !strcmp(p->in[0], x) && const_scalar_value(g, p->in[1], &v) && near(v, 3.0);
    if (strcmp(p->op, "Mul") || p->n_in != 2) return 0;
    q = !strcmp(p->in[0], x) ? p->in[1] : !strcmp(p->in[1], x) ? p->in[0] : "";
    sq = producer(g, q);
    if (!sq || strcmp(sq->op, "Mul") || sq->n_in != 2 || strcmp(sq->in[0], x) || strcmp(sq->in[1], x) ||
        sole_consumer(g, q) != p)
        return 0;
    gone[(*n_gone)++] = sq;
    return 1;
}

/* x * 0.5 * (1 + erf(x / sqrt 2)) and 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) -> Gelu. */
static int pass_gelu(cgraph *g) {
    size_t i;
    for (i = 0; i < g->n_nodes; i++) {
        cnode *e = &g->nodes[i], *gone[10], *last, *d;
        int n_gone = 0, k, tanh_form;
        const char *x;
        double v;
        if (e->removed || (strcmp(e->op, "Erf") && strcmp(e->op, "Tanh")) || e->n_in < 1 || e->n_out < 1) continue;
        tanh_form = !strcmp(e->op, "Tanh");
        if (!(d = producer(g, e->in[0])) || sole_consumer(g, e->in[0]) != e || d->n_in != 2) continue;
        if (!tanh_form) { /* x / 1.41421 or x * 0.70711 */
            if (!strcmp(d->op, "Div") && const_scalar_value(g, d->in[1], &v) && near(v, 1.4142135623730951)) x = d->in[0];
            else if (!strcmp(d->op, "Mul") && const_scalar_value(g, d->in[1], &v) && near(v, 0.7071067811865476)) x = d->in[0];
            else if (!strcmp(d->op, "Mul") && const_scalar_value(g, d->in[0], &v) && near(v, 0.7071067811865476)) x = d->in[1];
            else continue;
            gone[n_gone++] = d;
        } else { /* u = 0.79788 * (x + 0.044715 * x^3) */
            cnode *add, *w, *p = NULL;
            const char *inner;
            int n_cube = 0;
            if (strcmp(d->op, "Mul")) continue;
            if (const_scalar_value(g, d->in[1], &v) && near(v, 0.7978845608028654)) inner = d->in[0];
            else if (const_scalar_value(g, d->in[0], &v) && near(v, 0.7978845608028654)) inner = d->in[1];
            else continue;
            if (!(add = producer(g, inner)) || strcmp(add->op, "Add") || sole_consumer(g, inner) != d) continue;
            for (k = 0; k < 2; k++) { /* one side is x, the other 0.044715 * x^3 */
                w = producer(g, add->in[k]);
                if (!w || strcmp(w->op, "Mul") || sole_consumer(g, add->in[k]) != add) continue;
                if (!(const_scalar_value(g, w->in[1], &v) && (p = producer(g, w->in[0]))) &&
                    !(const_scalar_value(g, w->in[0], &v) && (p = producer(g, w->in[1]))))
                    continue;
                if (!near(v, 0.044715) || !p || sole_consumer(g, p->out[0]) != w ||
                    !is_cube(g, p, add->in[1 - k], gone + 4, &n_cube))
                    continue;
                gone[0] = d, gone[1] = add, gone[2] = w, gone[3] = p;
                n_gone = 4 + n_cube;
                break;
            }
            if (k == 2) continue;
            x = add->in[1 - k];
        }
        if (!(last = gelu_tail(g, e->out[0], x, gone, &n_gone))) continue;
        {
            char *xin = sdup(x), *op = sdup("Gelu");
            if (!xin || !op || !take_output(e, last)) return 0;
            free(e->in[0]);
            e->in[0] = xin;
            free(e->op);
            e->op = op;
            if (tanh_form && !attr_string(e, "approximate", "tanh")) return 0;
        }
        for (k = 0; k < n_gone; k++) gone[k]->removed = 1;
        note(g, tanh_form ? "Gelu (tanh) recognised" : "Gelu recognised", e->name);
    }
    return 1;
}

/* (x - mean) / sqrt(var + eps) * gamma + beta over the last axis -> LayerNormalization. */
static int pass_layer_norm(cgraph *g) {
    size_t i;
    for (i = 0; i < g->n_nodes; i++) {
        cnode *rm = &g->nodes[i], *sub = NULL, *pw = NULL, *rm2, *ad, *sq, *dv = NULL, *mu, *bias, *ln;
        cconst *ax;
        double v, eps;
        size_t j, k;
        if (rm->removed || strcmp(rm->op, "ReduceMean") || rm->n_in < 2 || rm->n_out < 1 || !(ax = find_const(g, rm->in[1])) ||
            ax->bytes != 8 || ((const int64_t *)ax->data)[0] != -1)
            continue;
        for (j = 0; j < g->n_nodes; j++) { /* Sub(x, mean) */
            cnode *m = &g->nodes[j];
            if (!m->removed && !strcmp(m->op, "Sub") && m->n_in == 2 && !strcmp(m->in[0], rm->in[0]) && !strcmp(m->in[1], rm->out[0]))
                sub = m;
        }
        if (!sub || sole_consumer(g, rm->out[0]) != sub) continue;
        for (j = 0; j < g->n_nodes; j++) { /* the difference feeds Pow(., 2) and Div */
            cnode *m = &g->nodes[j];
            if (m->removed) continue;
            for (k = 0; k < m->n_in; k++)
                if (!strcmp(m->in[k], sub->out[0])) {
                    if (!strcmp(m->op, "Pow") && k == 0 && const_scalar_value(g, m->in[1], &v) && near(v, 2.0)) pw = m;
                    else if (!strcmp(m->op, "Div") && k == 0) dv = m;
                    else pw = dv = NULL, j = g->n_nodes - 1;
                }
        }
        if (!pw || !dv || count_uses(g, sub->out[0]) != 2 || is_graph_output(g, sub->out[0])) continue;
        if (!(rm2 = sole_consumer(g, pw->out[0])) || strcmp(rm2->op, "ReduceMean") || rm2->n_in < 2) continue;
        { /* the same axes (each ReduceMean may have its own constant) */
            cconst *ax2 = find_const(g, rm2->in[1]);
            if (!ax2 || ax2->bytes != ax->bytes || memcmp(ax2->data, ax->data, ax->bytes)) continue;
        }
        if (!(ad = sole_consumer(g, rm2->out[0])) || strcmp(ad->op, "Add") || !other_scalar(g, ad, rm2->out[0], &eps)) continue;
        if (!(sq = sole_consumer(g, ad->out[0])) || strcmp(sq->op, "Sqrt") || sole_consumer(g, sq->out[0]) != dv ||
            strcmp(dv->in[1], sq->out[0]))
            continue;
        if (!(mu = sole_consumer(g, dv->out[0])) || strcmp(mu->op, "Mul") || !find_const(g, other_input(mu, dv->out[0])))
            continue;
        bias = sole_consumer(g, mu->out[0]);
        if (bias && (strcmp(bias->op, "Add") || !find_const(g, other_input(bias, mu->out[0])))) bias = NULL;
        ln = rm; /* the first node becomes the LayerNormalization */
        {
            char *op = sdup("LayerNormalization");
            const char *scale = other_input(mu, dv->out[0]), *b = bias ? other_input(bias, mu->out[0]) : "";
            if (!op || !set_input(ln, 1, scale) || (bias && !set_input(ln, 2, b)) || !take_output(ln, bias ? bias : mu)) return 0;
            free(ln->op);
            ln->op = op;
            for (k = 0; k < ln->n_attrs; k++) cattr_free(&ln->attrs[k]);
            ln->n_attrs = 0;
            if (!attr_int(ln, "axis", -1) || !attr_float(ln, "epsilon", (float)eps)) return 0;
        }
        sub->removed = pw->removed = rm2->removed = ad->removed = sq->removed = dv->removed = mu->removed = 1;
        if (bias) bias->removed = 1;
        note(g, "LayerNormalization recognised", ln->name);
    }
    return 1;
}

/* A 4-element perm attribute of a Transpose node, or NULL. */
static const int64_t *perm4(const cnode *n) {
    const cattr *a;
    size_t k;
    if (!n || strcmp(n->op, "Transpose")) return NULL;
    for (k = 0; k < n->n_attrs; k++) {
        a = &n->attrs[k];
        if (!strcmp(a->name, "perm")) return a->type == INFER_ATTR_INTS && a->n == 4 ? a->ints : NULL;
    }
    return NULL;
}

/* `name` is QK^T scores: made by a MatMul, or by Div/Mul of a MatMul's output by a scalar */
static int is_scores(cgraph *g, const char *name) {
    cnode *p = producer(g, name), *q;
    double v;
    if (!p) return 0;
    if (!strcmp(p->op, "MatMul")) return 1;
    if ((strcmp(p->op, "Div") && strcmp(p->op, "Mul")) || p->n_in != 2 || !const_scalar_value(g, p->in[1], &v)) return 0;
    q = producer(g, p->in[0]);
    return q && !strcmp(q->op, "MatMul");
}

/* Softmax(MatMul(Q, K^T) [* or / scalar] [+ mask]) then MatMul with V, all 4-D (Q and V
   come from 4-axis Transposes), each intermediate read only there -> one Attention node.
   K^T is Transpose(K, [0,1,3,2]), or Transpose(x, [0,2,3,1]) of x [batch][seq][heads][dim],
   whose perm becomes [0,2,1,3] (K itself). The mask is an Add's other input, or the
   condition of Where(cond, scores, c) with c <= -1e30 (GPT-2), which becomes a bool mask:
   the same result except for a row whose every key is masked (Where's softmax then
   averages V; Attention's gives NaN, as ONNX's reference does), which a causal mask never has. */
static int pass_attention(cgraph *g) {
    size_t i, k;
    for (i = 0; i < g->n_nodes; i++) {
        cnode *sm = &g->nodes[i], *add = NULL, *sc = NULL, *mm1, *mm2, *kt, *qt, *vt;
        const char *s_in, *mask = "";
        const int64_t *kp;
        double scale = 1.0, v;
        int64_t ax = -1;
        if (sm->removed || strcmp(sm->op, "Softmax") || sm->n_in < 1 || sm->n_out < 1) continue;
        for (k = 0; k < sm->n_attrs; k++)
            if (!strcmp(sm->attrs[k].name, "axis")) ax = sm->attrs[k].i;
        if ((ax != -1 && ax != 3) || !(mm2 = sole_consumer(g, sm->out[0])) || strcmp(mm2->op, "MatMul") ||
            mm2->n_in != 2 || strcmp(mm2->in[0], sm->out[0]) || !perm4(producer(g, mm2->in[1])))
            continue;
        s_in = sm->in[0];
        add = producer(g, s_in);
        if (add && !strcmp(add->op, "Add") && add->n_in == 2 && sole_consumer(g, add->out[0]) == sm) {
            int first = is_scores(g, add->in[0]), second = is_scores(g, add->in[1]);
            if (first == second) continue;
            mask = first ? add->in[1] : add->in[0];
            s_in = first ? add->in[0] : add->in[1];
        } else if (add && !strcmp(add->op, "Where") && add->n_in == 3 && sole_consumer(g, add->out[0]) == sm &&
                   is_scores(g, add->in[1]) && const_scalar_value(g, add->in[2], &v) && v <= -1e30) {
            mask = add->in[0]; /* Where(keep, scores, -huge): keep is a bool mask (GPT-2's causal one) */
            s_in = add->in[1];
        } else {
            add = NULL;
        }
        sc = producer(g, s_in);
        if (!sc || sole_consumer(g, sc->out[0]) != (add ? add : sm)) continue;
        if ((!strcmp(sc->op, "Div") || !strcmp(sc->op, "Mul")) && sc->n_in == 2 && const_scalar_value(g, sc->in[1], &v) &&
            v != 0) {
            scale = !strcmp(sc->op, "Div") ? 1.0 / v : v;
            mm1 = producer(g, sc->in[0]);
            if (!mm1 || sole_consumer(g, mm1->out[0]) != sc) continue;
        } else if (!strcmp(sc->op, "MatMul")) {
            mm1 = sc, sc = NULL;
        } else {
            continue;
        }
        if (strcmp(mm1->op, "MatMul") || mm1->n_in != 2) continue;
        qt = producer(g, mm1->in[0]), kt = producer(g, mm1->in[1]), vt = producer(g, mm2->in[1]);
        if (!perm4(qt) || !(kp = perm4(kt)) || !vt || sole_consumer(g, kt->out[0]) != mm1) continue;
        if (!(kp[0] == 0 && kp[1] == 1 && kp[2] == 3 && kp[3] == 2) && !(kp[0] == 0 && kp[1] == 2 && kp[2] == 3 && kp[3] == 1))
            continue;
        { /* mm2 (after every input is made) becomes Attention(Q, K, V [, mask]) */
            char *op = sdup("Attention");
            const char *kname = kt->in[0];
            if (!op) return 0;
            if (kp[1] == 2) { /* Transpose(x, [0,2,3,1]) -> Transpose(x, [0,2,1,3]) is K */
                int64_t *pp = (int64_t *)perm4(kt);
                pp[2] = 1, pp[3] = 3;
                kname = kt->out[0];
            }
            if (!set_input(mm2, 2, mm2->in[1]) || !set_input(mm2, 1, kname) || !set_input(mm2, 0, mm1->in[0]) ||
                (add && !set_input(mm2, 3, mask))) {
                free(op);
                return 0;
            }
            free(mm2->op);
            mm2->op = op;
            for (k = 0; k < mm2->n_attrs; k++) cattr_free(&mm2->attrs[k]);
            mm2->n_attrs = 0;
            if (!attr_float(mm2, "scale", (float)scale)) return 0;
            if (kp[1] == 1) kt->removed = 1; /* K^T of a 4-D K: read K directly */
        }
        if (sc) sc->removed = 1;
        if (add) add->removed = 1;
        sm->removed = mm1->removed = 1;
        note(g, "Attention recognised", mm2->name);
    }
    return 1;
}

/* The builder's view of a converter constant and of a node's attributes (arrays of
   n->n_attrs; `at` holds the tensors that TENSOR attributes point to). */
static infer_tensor const_tensor(const cconst *c) {
    infer_tensor t;
    memset(&t, 0, sizeof t);
    t.name = c->name, t.dtype = c->dtype, t.n_dims = c->n_dims, t.data = c->data, t.data_bytes = c->bytes;
    memcpy(t.dims, c->dims, sizeof t.dims);
    return t;
}

static void builder_attrs(const cnode *n, infer_attr *attrs, infer_tensor *at) {
    size_t k;
    for (k = 0; k < n->n_attrs; k++) {
        const cattr *a = &n->attrs[k];
        memset(&attrs[k], 0, sizeof attrs[k]);
        attrs[k].name = a->name, attrs[k].type = a->type, attrs[k].i = a->i, attrs[k].f = a->f;
        attrs[k].ints = a->ints, attrs[k].floats = a->floats, attrs[k].n = a->n, attrs[k].s = a->s;
        if (a->t) {
            at[k] = const_tensor(a->t);
            attrs[k].t = &at[k];
        }
    }
}

/* Evaluates a node whose inputs are all constants with the runtime, into constants. */
static int fold_node(cgraph *g, cnode *n, int *folded) {
    infer_builder *b = NULL;
    infer_model *m = NULL;
    infer_session *s = NULL;
    infer_attr attrs[64];
    infer_tensor at[64], outs[16];
    const char *outs_named[16];
    size_t i, bytes = 0;
    void *file = NULL;
    int ok = 0;
    *folded = 0;
    if (n->n_attrs > 64 || n->n_out > 16) return 1;
    /* quantized weights stay quantized in the file (a quarter of the f32 bytes); sessions
       dequantize them once at creation */
    if (!strcmp(n->op, "DequantizeLinear")) return 1;
    for (i = 0; i < n->n_in; i++)
        if (n->in[i][0] && !find_const(g, n->in[i])) return 1;
    if (infer_builder_create(NULL, &b)) return 0;
    for (i = 0; i < n->n_in; i++) {
        cconst *c = find_const(g, n->in[i]);
        infer_tensor t;
        if (!c) continue;
        t = const_tensor(c);
        if (infer_builder_add_constant(b, &t) && !strstr(infer_last_error(), "already used")) goto done;
    }
    builder_attrs(n, attrs, at);
    for (i = 0; i < n->n_out; i++) outs_named[i] = n->out[i];
    if (infer_builder_add_node(b, n->op, n->name, (const char *const *)n->in, n->n_in, outs_named, n->n_out, attrs,
                               n->n_attrs))
        goto done; /* not something the runtime can build: leave it to the session */
    for (i = 0; i < n->n_out; i++)
        if (n->out[i][0] && infer_builder_add_output(b, n->out[i])) goto done;
    if (infer_builder_serialize(b, NULL, 0, &bytes) || !(file = compat_aligned_alloc(64, bytes)) ||
        infer_builder_serialize(b, file, bytes, &bytes) || infer_model_load_memory(file, bytes, NULL, &m))
        goto done;
    {
        infer_session_options o;
        memset(&o, 0, sizeof o);
        o.n_threads = 1;
        o.max_memory_bytes = (size_t)1 << 30; /* folding must not blow up a file */
        if (infer_session_create(m, &o, &s)) goto done;
    }
    {
        size_t k = 0;
        for (i = 0; i < n->n_out; i++) {
            infer_tensor_info info;
            size_t ob;
            int d;
            if (!n->out[i][0]) continue;
            if (infer_session_output(s, k, &info)) goto done;
            ob = infer_dtype_bytes(info.dtype);
            for (d = 0; d < info.n_dims; d++) ob *= (size_t)info.dims[d];
            memset(&outs[k], 0, sizeof outs[k]);
            outs[k].name = n->out[i];
            outs[k].data = malloc(ob ? ob : 1);
            outs[k].data_bytes = ob;
            if (!outs[k].data) goto done;
            k++;
        }
        if (infer_run(s, NULL, 0, outs, k)) {
            for (i = 0; i < k; i++) free(outs[i].data);
            goto done;
        }
        for (i = 0; i < k; i++)
            if (!add_const(g, outs[i].name, outs[i].dtype, outs[i].n_dims, outs[i].dims, outs[i].data, outs[i].data_bytes))
                goto done;
    }
    g->nodes[n - g->nodes].removed = 1;
    *folded = 1;
    ok = 1;
done:
    if (!*folded) ok = 1; /* a node that does not fold stays as it is */
    infer_session_free(s);
    infer_model_free(m);
    infer_builder_free(b);
    compat_aligned_free(file);
    return ok;
}

static int pass_fold(cgraph *g) {
    size_t i;
    for (i = 0; i < g->n_nodes; i++) {
        int folded = 0;
        if (g->nodes[i].removed) continue;
        if (!fold_node(g, &g->nodes[i], &folded)) return 0;
        if (folded && g->stats) g->stats->folded++;
    }
    return 1;
}

/* -- reduced-precision weights (--weights) -- */

/* f32 -> IEEE half and bfloat16, rounded to nearest even (NaN stays NaN). */
static uint16_t f32_to_f16(float f) {
    uint32_t x, sign, e, m, h, rem;
    int ee;
    memcpy(&x, &f, 4);
    sign = (x >> 16) & 0x8000, e = (x >> 23) & 0xff, m = x & 0x7fffff;
    if (e == 255) return (uint16_t)(sign | 0x7c00 | (m ? 0x200 : 0));
    ee = (int)e - 127 + 15;
    if (ee >= 31) return (uint16_t)(sign | 0x7c00);
    if (ee <= 0) { /* a subnormal half: units of 2^-24 */
        uint32_t shift, mid;
        if (ee < -10) return (uint16_t)sign;
        m |= 0x800000;
        shift = (uint32_t)(14 - ee), mid = 1u << (shift - 1);
        h = m >> shift, rem = m & ((1u << shift) - 1);
        if (rem > mid || (rem == mid && (h & 1))) h++;
        return (uint16_t)(sign | h);
    }
    h = ((uint32_t)ee << 10) | (m >> 13), rem = m & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++; /* a carry rounds up the exponent (to inf at the top) */
    return (uint16_t)(sign | h);
}
static uint16_t f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40);
    return (uint16_t)((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

/* 1 when s matches the glob p: '*' any run of characters (slashes too), '?' one
   character, anything else itself (our own: MinGW has no fnmatch). */
static int glob_match(const char *p, const char *s) {
    const char *star = NULL, *retry = NULL;
    while (*s) {
        if (*p == '*') {
            star = ++p, retry = s;
        } else if (*p == '?' || *p == *s) {
            p++, s++;
        } else if (star) {
            p = star, s = ++retry;
        } else {
            return 0;
        }
    }
    while (*p == '*') p++;
    return !*p;
}

static int keep_f32(const cgraph *g, const char *node) {
    size_t i;
    for (i = 0; i < g->opt->n_keep_f32; i++)
        if (glob_match(g->opt->keep_f32[i], node)) return 1;
    return 0;
}

/* Weight w (f32 dims[n_dims]) of a MatMul, Gemm or Conv as a reduced-precision constant and
   the node that makes it f32 again, whose output is `out`: Cast(W f16/bf16, to f32), or
   DequantizeLinear(W i8, scale f32 [channels], axis) with the output channels along axis
   (MatMul [K][N]: the last axis; Gemm: 0 with transB, else 1; Conv [M][C/g][kh][kw]: 0). */
static int weight_node(cgraph *g, cnode *dq, const char *wname, int axis, const char *out) {
    cconst *w = find_const(g, wname);
    const float *src = (const float *)w->data;
    int64_t dims[INFER_MAX_DIMS], n = (int64_t)(w->bytes / 4), outer, len, inner, o, l, i;
    int n_dims = w->n_dims, kind = g->opt->weights;
    char name[512];
    void *data;
    size_t bytes;
    memcpy(dims, w->dims, sizeof dims);
    memset(dq, 0, sizeof *dq);
    if (kind != CONVERT_WEIGHTS_INT8) {
        uint16_t *h = (uint16_t *)malloc((size_t)n * 2 + 1);
        int64_t k;
        if (!h) return 0;
        for (k = 0; k < n; k++) h[k] = kind == CONVERT_WEIGHTS_F16 ? f32_to_f16(src[k]) : f32_to_bf16(src[k]);
        if (snprintf(name, sizeof name, "%s__%s", wname, kind == CONVERT_WEIGHTS_F16 ? "f16" : "bf16") >= (int)sizeof name) {
            free(h);
            return cfail(g, "weight '%s': name too long", wname);
        }
        if (!add_const(g, name, kind == CONVERT_WEIGHTS_F16 ? INFER_DTYPE_F16 : INFER_DTYPE_BF16, n_dims, dims, h,
                       (size_t)n * 2))
            return 0;
        if (g->stats) g->stats->weights_bytes_after += (size_t)n * 2;
        dq->op = sdup("Cast");
        dq->name = sdup(out);
        return dq->op && dq->name && node_io(dq, 1, name) && node_io(dq, 0, out) && attr_int(dq, "to", INFER_DTYPE_F32);
    }
    outer = 1, inner = 1, len = dims[axis];
    for (i = 0; i < axis; i++) outer *= dims[i];
    for (i = axis + 1; i < n_dims; i++) inner *= dims[i];
    {
        float *scale = (float *)malloc((size_t)len * 4);
        int8_t *q = (int8_t *)malloc((size_t)n);
        char sname[512];
        int64_t sd[1];
        if (!scale || !q) {
            free(scale);
            free(q);
            return 0;
        }
        for (l = 0; l < len; l++) scale[l] = 0;
        for (o = 0; o < outer; o++)
            for (l = 0; l < len; l++)
                for (i = 0; i < inner; i++) {
                    float a = fabsf(src[(o * len + l) * inner + i]);
                    if (a > scale[l]) scale[l] = a;
                }
        for (l = 0; l < len; l++) scale[l] = scale[l] > 0 && isfinite(scale[l]) ? scale[l] / 127.0f : 1.0f;
        for (o = 0; o < outer; o++)
            for (l = 0; l < len; l++)
                for (i = 0; i < inner; i++) {
                    float v = nearbyintf(src[(o * len + l) * inner + i] / scale[l]); /* half to even */
                    q[(o * len + l) * inner + i] = (int8_t)(v != v ? 0 : v < -127 ? -127 : v > 127 ? 127 : v);
                }
        if (snprintf(name, sizeof name, "%s__i8", wname) >= (int)sizeof name ||
            snprintf(sname, sizeof sname, "%s__scale", wname) >= (int)sizeof sname) {
            free(scale);
            free(q);
            return cfail(g, "weight '%s': name too long", wname);
        }
        sd[0] = len;
        data = q, bytes = (size_t)n;
        if (!add_const(g, name, INFER_DTYPE_I8, n_dims, dims, data, bytes)) {
            free(scale);
            return 0;
        }
        if (!add_const(g, sname, INFER_DTYPE_F32, 1, sd, scale, (size_t)len * 4)) return 0;
        if (g->stats) g->stats->weights_bytes_after += bytes + (size_t)len * 4;
        dq->op = sdup("DequantizeLinear");
        dq->name = sdup(out);
        return dq->op && dq->name && node_io(dq, 1, name) && node_io(dq, 1, sname) && node_io(dq, 0, out) &&
               attr_int(dq, "axis", axis);
    }
}

/* Stores the weights (input 1) of MatMul, Gemm and Conv nodes in reduced precision; the
   node that restores f32 goes right before the first node that uses it. */
static int pass_weights(cgraph *g) {
    size_t i, m = 0, n0 = g->n_nodes, cap = 2 * g->n_nodes + 1;
    cnode *arr;
    if (!g->opt->weights) return 1;
    if (!(arr = (cnode *)calloc(cap, sizeof(cnode)))) return 0;
    for (i = 0; i < n0; i++) {
        cnode *n = &g->nodes[i];
        cconst *w = !n->removed && n->n_in > 1 ? find_const(g, n->in[1]) : NULL;
        int is_mm = !strcmp(n->op, "MatMul"), is_gemm = !strcmp(n->op, "Gemm"), is_conv = !strcmp(n->op, "Conv");
        if (w && (is_mm || is_gemm || is_conv) && w->dtype == INFER_DTYPE_F32 && w->n_dims >= 2 &&
            w->bytes / 4 >= CONVERT_WEIGHTS_MIN && !keep_f32(g, n->name)) {
            char out[512], wname[512];
            int axis = is_conv ? 0 : is_mm ? w->n_dims - 1 : 1;
            size_t k;
            if (is_gemm)
                for (k = 0; k < n->n_attrs; k++)
                    if (!strcmp(n->attrs[k].name, "transB") && n->attrs[k].i) axis = 0;
            snprintf(wname, sizeof wname, "%s", n->in[1]);
            if (snprintf(out, sizeof out, "%s__w%s%d", wname, g->opt->weights == CONVERT_WEIGHTS_INT8 ? "q" : "h", axis) >=
                (int)sizeof out) {
                cfail(g, "weight '%s': name too long", wname);
                goto fail;
            }
            {
                size_t j, seen = 0;
                for (j = 0; j < m; j++) /* converted already for an earlier node? */
                    if (arr[j].n_out && !strcmp(arr[j].out[0], out)) seen = 1;
                if (!seen) {
                    size_t w_bytes = w->bytes; /* weight_node adds constants: w moves */
                    if (!weight_node(g, &arr[m], wname, axis, out)) {
                        cnode_free(&arr[m]);
                        goto fail;
                    }
                    m++;
                    if (g->stats) g->stats->weights_converted++, g->stats->weights_bytes_before += w_bytes;
                    n = &g->nodes[i];
                }
                if (!set_input(n, 1, out)) goto fail;
            }
        }
        arr[m] = g->nodes[i]; /* moved on success; still g->nodes' on failure */
        arr[m++].removed |= 2;
    }
    for (i = 0; i < m; i++) arr[i].removed &= 1;
    free(g->nodes);
    g->nodes = arr, g->n_nodes = m, g->c_nodes = cap;
    return 1;
fail:
    for (i = 0; i < m; i++) /* free only the inserted nodes */
        if (!(arr[i].removed & 2)) cnode_free(&arr[i]);
    free(arr);
    return 0;
}

/* -- writing -- */

static int used_anywhere(const cgraph *g, const char *name) {
    return count_uses(g, name) > 0 || is_graph_output(g, name);
}

static infer_status write_graph(cgraph *g, infer_builder **out) {
    const onnx_graph *og = g->onnx->graph;
    infer_builder *b = NULL;
    infer_status st;
    size_t i;
    char producer[256];
    if ((st = infer_builder_create(NULL, &b))) return st;
    /* graph inputs (initializers listed as inputs are constants, as IR < 4 files do) */
    for (i = 0; i < og->n_inputs; i++) {
        const onnx_value_info *vi = &og->inputs[i];
        infer_dtype dt = onnx_dtype(vi->elem_type);
        int64_t dims[INFER_MAX_DIMS];
        const char *syms[INFER_MAX_DIMS];
        char gen[INFER_MAX_DIMS][64];
        int d;
        if (find_const(g, vi->name)) continue;
        if (dt == INFER_DTYPE_UNDEFINED) {
            st = INFER_STATUS_UNSUPPORTED;
            cfail(g, "graph input '%s': element type %s is not supported", vi->name, onnx_dtype_name(vi->elem_type));
            goto fail;
        }
        if (vi->n_dims < 0) {
            st = INFER_STATUS_UNSUPPORTED;
            cfail(g, "graph input '%s' has no shape", vi->name);
            goto fail;
        }
        for (d = 0; d < vi->n_dims; d++) {
            const char *sym = vi->dim_params[d];
            size_t j;
            syms[d] = NULL;
            dims[d] = vi->dims[d];
            if (!sym && dims[d] < 0) { /* unknown and unnamed: give it a name to bind */
                snprintf(gen[d], sizeof gen[d], "%s_dim%d", vi->name, d);
                sym = gen[d];
            }
            if (!sym) continue;
            for (j = 0; j < g->opt->n_dims; j++) /* --dim NAME=VALUE fixes it now */
                if (!strcmp(g->opt->dims[j].name, sym)) {
                    dims[d] = g->opt->dims[j].value;
                    sym = NULL;
                }
            syms[d] = sym;
            if (sym) dims[d] = -1;
        }
        if ((st = infer_builder_add_input(b, vi->name, dt, vi->n_dims, dims, syms))) {
            cfail(g, "graph input '%s': %s", vi->name, infer_last_error());
            goto fail;
        }
    }
    /* constants that something uses */
    for (i = 0; i < g->n_consts; i++) {
        cconst *c = &g->consts[i];
        infer_tensor t;
        if (!used_anywhere(g, c->name) || find_const(g, c->name) != c) continue;
        t = const_tensor(c);
        if ((st = infer_builder_add_constant(b, &t))) {
            cfail(g, "constant '%s': %s", c->name, infer_last_error());
            goto fail;
        }
    }
    for (i = 0; i < g->n_nodes; i++) {
        cnode *n = &g->nodes[i];
        infer_attr attrs[64];
        infer_tensor at[64];
        if (n->removed) continue;
        if (n->n_attrs > 64) {
            st = INFER_STATUS_UNSUPPORTED;
            cfail(g, "node '%s': too many attributes", n->name);
            goto fail;
        }
        builder_attrs(n, attrs, at);
        if ((st = infer_builder_add_node(b, n->op, n->name, (const char *const *)n->in, n->n_in,
                                         (const char *const *)n->out, n->n_out, attrs, n->n_attrs))) {
            cfail(g, "%s", infer_last_error());
            goto fail;
        }
        if (g->stats) g->stats->infer_nodes++;
    }
    for (i = 0; i < og->n_outputs; i++)
        if ((st = infer_builder_add_output(b, og->outputs[i].name))) {
            cfail(g, "graph output '%s': %s", og->outputs[i].name, infer_last_error());
            goto fail;
        }
    snprintf(producer, sizeof producer, "infer-convert %s from %s %s (opset %lld)", infer_version(),
             g->onnx->producer_name ? g->onnx->producer_name : "?",
             g->onnx->producer_version ? g->onnx->producer_version : "", (long long)g->opset);
    if ((st = infer_builder_set_metadata(b, "producer", producer))) goto fail;
    *out = b;
    return INFER_STATUS_OK;
fail:
    infer_builder_free(b);
    return st;
}

infer_status convert_onnx(const char *path, const convert_options *opt, infer_builder **out, convert_stats *stats,
                          char *err, size_t err_bytes) {
    onnx_model *om = NULL;
    cgraph g;
    convert_options defaults;
    infer_status st = INFER_STATUS_OK;
    size_t i;
    *out = NULL;
    if (err_bytes) err[0] = '\0';
    memset(&defaults, 0, sizeof defaults);
    if (!opt) opt = &defaults;
    if (stats) memset(stats, 0, sizeof *stats);
    if (!onnx_load_model(path, &om, err, err_bytes)) return INFER_STATUS_BAD_FILE;
    memset(&g, 0, sizeof g);
    g.onnx = om, g.opt = opt, g.err = err, g.err_bytes = err_bytes, g.path = path, g.stats = stats;
    g.opset = onnx_opset_version(om);
    if (g.opset && g.opset < 7) {
        cfail(&g, "opset %lld is older than 7, the oldest supported", (long long)g.opset);
        st = INFER_STATUS_UNSUPPORTED;
        goto done;
    }
    for (i = 0; i < om->graph->n_initializers; i++)
        if (!const_from_onnx(&g, om->graph->initializers[i].name, &om->graph->initializers[i])) {
            if (!err[0]) cfail(&g, "out of memory");
            st = INFER_STATUS_UNSUPPORTED;
            goto done;
        }
    if (stats) stats->onnx_nodes = om->graph->n_nodes;
    for (i = 0; i < om->graph->n_nodes; i++)
        if (!translate(&g, &om->graph->nodes[i])) {
            if (!err[0]) cfail(&g, "out of memory");
            st = INFER_STATUS_UNSUPPORTED;
            goto done;
        }
    if (g.unsupported) {
        cfail(&g, "unsupported operators: %s", g.unsupported);
        st = INFER_STATUS_UNSUPPORTED;
        goto done;
    }
    for (i = 0; i < g.n_nodes; i++) { /* the passes read out[0], and in[1] of a Conv, Mul... */
        const cnode *n = &g.nodes[i];
        size_t lo = 0, hi = (size_t)-1, olo = 1, ohi = (size_t)-1;
        if (n->removed) continue;
        infer_op_arity(n->op, &lo, &hi, &olo, &ohi); /* the runtime's counts (else any inputs, an output) */
        if (olo < 1) olo = 1;
        if (n->n_out < olo || n->n_out > ohi || n->n_in < lo || n->n_in > hi) {
            cfail(&g, "node '%s' (%s) has %zu inputs and %zu outputs; it takes %zu to %zu and %zu to %zu", n->name, n->op,
                  n->n_in, n->n_out, lo, hi, olo, ohi);
            st = INFER_STATUS_BAD_FILE;
            goto done;
        }
    }
    if (!opt->no_fuse && (!pass_identity(&g) || !pass_fold(&g) || !pass_conv_bn(&g) || !pass_layer_norm(&g) ||
                          !pass_gelu(&g) || !pass_attention(&g) || !pass_bias(&g) || !pass_activation(&g))) {
        if (!err[0]) cfail(&g, "out of memory");
        st = INFER_STATUS_OUT_OF_MEMORY;
        goto done;
    }
    if (!pass_weights(&g)) {
        if (!err[0]) cfail(&g, "out of memory");
        st = INFER_STATUS_OUT_OF_MEMORY;
        goto done;
    }
    st = write_graph(&g, out);
done:
    cgraph_free(&g);
    onnx_model_free(om);
    return st;
}
