/* tests/tp_models.h - models and the comparison that the tensor-parallel tests share:
   tests/test_tp.c (in-process devices) and tests/tp_mpi.c (MPI ranks, make test-mpi).
   A split run must match the single-device run within 1e-5 relative (tp_close). The helpers
   are inline: each program uses some of them (tests/test_backend.c, tests/test_cuda.c too). */
#ifndef INFER_TP_MODELS_H
#define INFER_TP_MODELS_H

#include "test.h"
#include "../tools/convert.h"

/* Loads a serialised builder from memory (copied, so the builder can go). */
static inline infer_model *tp_load_builder(infer_builder *b) {
    size_t n = 0;
    void *buf;
    infer_model *m = NULL;
    infer_model_options mo;
    memset(&mo, 0, sizeof mo);
    mo.copy = 1;
    if (infer_builder_serialize(b, NULL, 0, &n) || !(buf = malloc(n))) return NULL;
    if (!infer_builder_serialize(b, buf, n, &n)) infer_model_load_memory(buf, n, &mo, &m);
    free(buf);
    return m;
}

/* x [batch, in] -> MatMul(W1 [in, hidden]) + b1 -> Relu -> MatMul(W2 [hidden, in]) + b2
   -> + x -> MatMul(W3 [in, out]) (gelu) = y [batch, out]: an MLP pair and a lone layer. */
static inline infer_model *tp_mlp(int in, int hidden, int out) {
    infer_builder *b = NULL;
    int64_t dx[2] = {-1, in};
    const char *sym[2] = {"batch", NULL};
    float *w = (float *)malloc(sizeof(float) * (size_t)hidden * (size_t)(in > out ? in : out) * 2);
    infer_tensor t;
    infer_attr gelu = infer_attr_string("activation", "Gelu");
    infer_model *m = NULL;
    const char *n1[3] = {"x", "w1", "b1"}, *o1[1] = {"h"}, *n2[1] = {"h"}, *o2[1] = {"hr"};
    const char *n3[3] = {"hr", "w2", "b2"}, *o3[1] = {"p"}, *n4[2] = {"p", "x"}, *o4[1] = {"r"};
    const char *n5[2] = {"r", "w3"}, *o5[1] = {"y"};
    if (!w || infer_builder_create(NULL, &b)) goto done;
    test_seed(7);
    infer_builder_add_input(b, "x", INFER_DTYPE_F32, 2, dx, sym);
#define TP_CONST(nm, d0, d1, nd)                                                                     \
    memset(&t, 0, sizeof t);                                                                         \
    t.name = nm, t.dtype = INFER_DTYPE_F32, t.n_dims = nd, t.dims[0] = d0, t.dims[1] = d1;           \
    t.data = w, t.data_bytes = sizeof(float) * (size_t)(d0) * (size_t)((nd) > 1 ? (d1) : 1);         \
    test_fill(w, t.data_bytes / sizeof(float), -0.3, 0.3);                                           \
    infer_builder_add_constant(b, &t)
    TP_CONST("w1", in, hidden, 2);
    TP_CONST("b1", hidden, 0, 1);
    TP_CONST("w2", hidden, in, 2);
    TP_CONST("b2", in, 0, 1);
    TP_CONST("w3", in, out, 2);
#undef TP_CONST
    infer_builder_add_node(b, "MatMul", "fc1", n1, 3, o1, 1, NULL, 0);
    infer_builder_add_node(b, "Relu", "relu", n2, 1, o2, 1, NULL, 0);
    infer_builder_add_node(b, "MatMul", "fc2", n3, 3, o3, 1, NULL, 0);
    infer_builder_add_node(b, "Add", "res", n4, 2, o4, 1, NULL, 0);
    infer_builder_add_node(b, "MatMul", "head", n5, 2, o5, 1, &gelu, 1);
    infer_builder_add_output(b, "y");
    m = tp_load_builder(b);
done:
    infer_builder_free(b);
    free(w);
    return m;
}

/* A constant of the builder: f32 filled from [-0.3, 0.3] (data NULL), or the i64 values given. */
static inline void tp_constant(infer_builder *b, const char *name, int n_dims, int64_t d0, int64_t d1, const int64_t *ints) {
    infer_tensor t;
    size_t n = (size_t)d0 * (size_t)(n_dims > 1 ? d1 : 1), i;
    void *data = malloc(n * 8 + 8);
    memset(&t, 0, sizeof t);
    if (!data) return;
    t.name = name, t.n_dims = n_dims, t.dims[0] = d0, t.dims[1] = d1;
    t.dtype = ints ? INFER_DTYPE_I64 : INFER_DTYPE_F32;
    if (ints) for (i = 0; i < n; i++) ((int64_t *)data)[i] = ints[i];
    else test_fill((float *)data, n, -0.3, 0.3);
    t.data = data, t.data_bytes = n * (ints ? 8 : 4);
    infer_builder_add_constant(b, &t);
    free(data);
}

/* A transformer layer as the converter leaves one, for the head split:
   x [batch, seq, e] -> Q, K, V projections [.., heads * d] (with biases) -> Attention ->
   output projection [hq * d, e] + bias -> + x -> LayerNorm -> MatMul pair = y [batch, seq, e].
   fused: one QKV projection [e, (hq + 2 hkv) d] and a Split (GPT-2), else three (BERT);
   four_d: each of Q, K, V Reshaped to [0, 0, heads, d] and Transposed (0, 2, 1, 3) into a
   4-D Attention, whose output goes back the same way (the converter's form), else a 3-D
   Attention with q_num_heads / kv_num_heads; mask: 0 none, 1 an f32 input "mask"
   [batch, 1, 1, seq] added to the scores (BERT's padding), 2 is_causal (GPT-2), 3 an f32
   input "mask" [batch, hq, seq, seq] (one per head: not split by heads);
   add_bias: V's bias is an Add after its MatMul (not fused); q_out: Q's projection is a
   graph output too (not split by heads); unfused (with four_d, mask 0, 1 or 3, hkv = hq):
   no Attention op but MatMul(Q, K^T), Mul by the scale, [Add the mask], Softmax, MatMul
   with V, K^T being Transpose(0, 2, 3, 1) of K's reshape (1) or (0, 1, 3, 2) of K (2). */
typedef struct tp_att_opts {
    int e, hq, hkv, d;
    int fused, four_d, mask, add_bias, q_out, unfused;
} tp_att_opts;

static inline infer_model *tp_attention(const tp_att_opts *o) {
    infer_builder *b = NULL;
    int64_t dx[3] = {-1, -1, o->e}, dm[4] = {-1, 1, 1, -1}, wq = (int64_t)o->hq * o->d, wk = (int64_t)o->hkv * o->d;
    int64_t sizes[3] = {wq, wk, wk}, sq[4] = {0, 0, o->hq, o->d}, sk[4] = {0, 0, o->hkv, o->d}, so[3] = {0, 0, wq};
    const char *sym[3] = {"batch", "seq", NULL}, *symm[4] = {"batch", NULL, NULL, "seq"};
    const char *qkv[3] = {"q2", "k2", "v2"}, *heads_in[3] = {"q3", "k3", "v3"}, *att_in[4] = {"q", "k", "v", "mask"};
    infer_attr at[1], aat[3];
    int n_at = 0, i;
    infer_model *m = NULL;
    if (infer_builder_create(NULL, &b)) return NULL;
    test_seed(5);
    infer_builder_add_input(b, "x", INFER_DTYPE_F32, 3, dx, sym);
    if (o->mask == 1) infer_builder_add_input(b, "mask", INFER_DTYPE_F32, 4, dm, symm);
    if (o->mask == 3) {
        const char *symh[4] = {"batch", NULL, "seq", "seq"};
        dm[1] = o->hq, dm[2] = -1;
        infer_builder_add_input(b, "mask", INFER_DTYPE_F32, 4, dm, symh);
    }
    if (o->fused) {
        const char *in[3] = {"x", "wqkv", "bqkv"}, *out[1] = {"qkv"}, *sin[2] = {"qkv", "sizes"};
        tp_constant(b, "wqkv", 2, o->e, wq + 2 * wk, NULL);
        tp_constant(b, "bqkv", 1, wq + 2 * wk, 0, NULL);
        tp_constant(b, "sizes", 1, 3, 0, sizes);
        infer_builder_add_node(b, "MatMul", "attn.qkv", in, 3, out, 1, NULL, 0);
        at[0] = infer_attr_int("axis", 2);
        infer_builder_add_node(b, "Split", "attn.split", sin, 2, qkv, 3, at, 1);
    } else {
        const char *w[3] = {"wq", "wk", "wv"}, *bn[3] = {"bq", "bk", "bv"}, *nm[3] = {"attn.q", "attn.k", "attn.v"};
        for (i = 0; i < 3; i++) {
            const char *in[3] = {"x", w[i], bn[i]}, *out[1] = {qkv[i]};
            tp_constant(b, w[i], 2, o->e, i ? wk : wq, NULL);
            tp_constant(b, bn[i], 1, i ? wk : wq, 0, NULL);
            if (i == 2 && o->add_bias) {
                const char *mo[1] = {"v1"}, *ai[2] = {"bv", "v1"};
                infer_builder_add_node(b, "MatMul", nm[i], in, 2, mo, 1, NULL, 0);
                infer_builder_add_node(b, "Add", "attn.v.bias", ai, 2, out, 1, NULL, 0);
            } else
                infer_builder_add_node(b, "MatMul", nm[i], in, 3, out, 1, NULL, 0);
        }
    }
    if (o->four_d) {
        int64_t perm[4] = {0, 2, 1, 3};
        const char *shp[3] = {"shape_q", "shape_kv", "shape_kv"};
        const char *rn[3] = {"attn.q.reshape", "attn.k.reshape", "attn.v.reshape"};
        const char *tn[3] = {"attn.q.transpose", "attn.k.transpose", "attn.v.transpose"};
        tp_constant(b, "shape_q", 1, 4, 0, sq);
        tp_constant(b, "shape_kv", 1, 4, 0, sk);
        tp_constant(b, "shape_out", 1, 3, 0, so);
        at[0] = infer_attr_ints("perm", perm, 4);
        for (i = 0; i < 3; i++) {
            const char *ri[2] = {qkv[i], shp[i]}, *ro[1] = {heads_in[i]}, *ti[1] = {heads_in[i]}, *to[1] = {att_in[i]};
            int64_t kt[4] = {0, 2, 3, 1};
            infer_attr kat = infer_attr_ints("perm", kt, 4);
            infer_builder_add_node(b, "Reshape", rn[i], ri, 2, ro, 1, NULL, 0);
            if (i == 1 && o->unfused == 1) to[0] = "kt";
            infer_builder_add_node(b, "Transpose", tn[i], ti, 1, to, 1, i == 1 && o->unfused == 1 ? &kat : at, 1);
        }
        if (o->unfused == 2) {
            int64_t kt[4] = {0, 1, 3, 2};
            const char *ti[1] = {"k"}, *to[1] = {"kt"};
            infer_attr kat = infer_attr_ints("perm", kt, 4);
            infer_builder_add_node(b, "Transpose", "attn.k.t", ti, 1, to, 1, &kat, 1);
        }
    } else {
        for (i = 0; i < 3; i++) att_in[i] = qkv[i];
        aat[n_at++] = infer_attr_int("q_num_heads", o->hq);
        aat[n_at++] = infer_attr_int("kv_num_heads", o->hkv);
    }
    if (o->mask == 2) aat[n_at++] = infer_attr_int("is_causal", 1);
    if (o->unfused) {
        const char *m1[2] = {"q", "kt"}, *s0[1] = {"s0"}, *mi[2] = {"s0", "scale"}, *s1[1] = {"s1"};
        const char *ai[2] = {"s1", "mask"}, *s2[1] = {"s2"}, *pi[1] = {o->mask ? "s2" : "s1"}, *pr[1] = {"pr"};
        const char *m2[2] = {"pr", "v"}, *a4[1] = {"a4"};
        infer_tensor sc;
        float scale = 1.0f / sqrtf((float)o->d);
        infer_attr ax = infer_attr_int("axis", -1);
        memset(&sc, 0, sizeof sc);
        sc.name = "scale", sc.dtype = INFER_DTYPE_F32, sc.n_dims = 0, sc.data = &scale, sc.data_bytes = sizeof scale;
        infer_builder_add_constant(b, &sc);
        infer_builder_add_node(b, "MatMul", "attn.scores", m1, 2, s0, 1, NULL, 0);
        infer_builder_add_node(b, "Mul", "attn.scale", mi, 2, s1, 1, NULL, 0);
        if (o->mask) infer_builder_add_node(b, "Add", "attn.mask", ai, 2, s2, 1, NULL, 0);
        infer_builder_add_node(b, "Softmax", "attn.softmax", pi, 1, pr, 1, &ax, 1);
        infer_builder_add_node(b, "MatMul", "attn", m2, 2, a4, 1, NULL, 0);
    } else {
        const char *ao[1] = {o->four_d ? "a4" : "a"};
        infer_builder_add_node(b, "Attention", "attn", att_in, o->mask % 2 ? 4 : 3, ao, 1, aat, (size_t)n_at);
    }
    if (o->four_d) {
        int64_t perm[4] = {0, 2, 1, 3};
        const char *ti[1] = {"a4"}, *to[1] = {"a3"}, *ri[2] = {"a3", "shape_out"}, *ro[1] = {"a"};
        at[0] = infer_attr_ints("perm", perm, 4);
        infer_builder_add_node(b, "Transpose", "attn.out.transpose", ti, 1, to, 1, at, 1);
        infer_builder_add_node(b, "Reshape", "attn.out.reshape", ri, 2, ro, 1, NULL, 0);
    }
    {
        const char *oi[3] = {"a", "wo", "bo"}, *oo[1] = {"p"}, *ri[2] = {"p", "x"}, *ro[1] = {"r"};
        const char *li[3] = {"r", "g", "beta"}, *lo[1] = {"n"}, *f1[3] = {"n", "w1", "b1"}, *h[1] = {"h"};
        const char *f2[3] = {"h", "w2", "b2"}, *y[1] = {"y"};
        infer_attr gelu = infer_attr_string("activation", "Gelu");
        tp_constant(b, "wo", 2, wq, o->e, NULL);
        tp_constant(b, "bo", 1, o->e, 0, NULL);
        tp_constant(b, "g", 1, o->e, 0, NULL);
        tp_constant(b, "beta", 1, o->e, 0, NULL);
        tp_constant(b, "w1", 2, o->e, 4 * o->e, NULL);
        tp_constant(b, "b1", 1, 4 * o->e, 0, NULL);
        tp_constant(b, "w2", 2, 4 * o->e, o->e, NULL);
        tp_constant(b, "b2", 1, o->e, 0, NULL);
        infer_builder_add_node(b, "MatMul", "attn.out", oi, 3, oo, 1, NULL, 0);
        infer_builder_add_node(b, "Add", "res", ri, 2, ro, 1, NULL, 0);
        infer_builder_add_node(b, "LayerNormalization", "ln", li, 3, lo, 1, NULL, 0);
        infer_builder_add_node(b, "MatMul", "fc1", f1, 3, h, 1, &gelu, 1);
        infer_builder_add_node(b, "MatMul", "fc2", f2, 3, y, 1, NULL, 0);
    }
    infer_builder_add_output(b, "y");
    if (o->q_out) infer_builder_add_output(b, "q2");
    m = tp_load_builder(b);
    infer_builder_free(b);
    return m;
}

/* An exported model (make models), converted in memory (no_fuse: without the graph passes,
   so attention stays MatMul, Softmax, MatMul); NULL when it is not there. */
static inline infer_model *tp_onnx_passes(const char *path, int no_fuse) {
    infer_builder *b = NULL;
    convert_options o;
    char err[1024];
    infer_model *m = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fclose(f);
    memset(&o, 0, sizeof o);
    o.no_fuse = no_fuse;
    if (convert_onnx(path, &o, &b, NULL, err, sizeof err) == INFER_STATUS_OK) m = tp_load_builder(b);
    else printf("  %s\n", err);
    infer_builder_free(b);
    return m;
}

/* Relative error against the single-device output: |got - want| <= rtol * max|want| for
   every element. A split changes the order of float sums (a row-parallel layer adds
   partial sums of K/N terms; the GEMM blocks differently), so elements near zero differ
   by rounding of the size the large ones have; their error is measured on the tensor's
   scale. Prints the worst element. */
static inline int tp_close(const char *what, const float *got, const float *want, size_t n, double rtol) {
    size_t i, worst = 0;
    double scale = 0, err = 0;
    for (i = 0; i < n; i++)
        if (fabs(want[i]) > scale) scale = fabs(want[i]);
    for (i = 0; i < n; i++) {
        double e = fabs((double)got[i] - (double)want[i]);
        if (!(e <= err)) err = e, worst = i; /* NaN counts as worst */
    }
    if (!(err <= rtol * scale)) {
        printf("  %s: worst [%zu] got %.9g want %.9g: error %.3g of scale %.3g (rtol %g)\n", what, worst,
               (double)got[worst], (double)want[worst], err, scale, rtol);
        test__failed_checks++;
        return 0;
    }
    if (getenv("TP_VERBOSE")) printf("  %s: max error %.3g of scale %.3g = %.2g relative\n", what, err, scale, scale ? err / scale : 0);
    return 1;
}

#define TP_MAX_IO 4
static const char *tp_device; /* the split session's device (tests/test_cuda.c), NULL: the CPU */
static double tp_rtol = 1e-5; /* within this of the single-device run (on the CPU) */
/* Runs m on one device and split (tp devices in-process, or the communicator's), with the
   same inputs, and compares every output. Returns the number of failed checks; *stats
   gets the split session's figures. */
static inline int tp_compare(const infer_model *m, const infer_dim *dims, size_t n_dims, int tp, const infer_comm *comm,
                      infer_tp_stats *stats, int print_plan) {
    infer_session_options o;
    infer_session *one = NULL, *split = NULL;
    infer_tensor in[TP_MAX_IO], out1[TP_MAX_IO], out2[TP_MAX_IO];
    size_t i, j, n_in = infer_model_n_inputs(m), n_out = infer_model_n_outputs(m);
    int before = test__failed_checks;
    memset(in, 0, sizeof in), memset(out1, 0, sizeof out1), memset(out2, 0, sizeof out2);
    memset(&o, 0, sizeof o);
    o.dims = dims, o.n_dims = n_dims, o.n_threads = 1;
    CHECK_OK(infer_session_create(m, &o, &one));
    o.tp = tp;
    o.comm = comm;
    o.device = tp_device;
    CHECK_OK(infer_session_create(m, &o, &split));
    if (!one || !split || n_in > TP_MAX_IO || n_out > TP_MAX_IO) goto done;
    if (print_plan) printf("%s", infer_session_tp_plan(split));
    test_seed(11);
    for (i = 0; i < n_in; i++) {
        infer_tensor_info info;
        size_t n = 1;
        infer_session_input(one, i, &info);
        in[i].name = info.name, in[i].dtype = info.dtype, in[i].n_dims = info.n_dims;
        for (j = 0; j < (size_t)info.n_dims; j++) n *= (size_t)(in[i].dims[j] = info.dims[j]);
        in[i].data_bytes = n * infer_dtype_bytes(info.dtype);
        in[i].data = calloc(1, in[i].data_bytes + 1);
        for (j = 0; j < n; j++) {
            if (info.dtype == INFER_DTYPE_F32) ((float *)in[i].data)[j] = (float)test_uniform(-1, 1);
            else if (info.dtype == INFER_DTYPE_I64) ((int64_t *)in[i].data)[j] = strstr(info.name, "mask") ? (j % 7 != 6) : test_int(0, 99);
        }
    }
    for (i = 0; i < n_out; i++) {
        infer_tensor_info info;
        size_t n = 1;
        infer_session_output(one, i, &info);
        for (j = 0; j < (size_t)info.n_dims; j++) n *= (size_t)info.dims[j];
        out1[i].name = out2[i].name = info.name;
        out1[i].data_bytes = out2[i].data_bytes = n * sizeof(float);
        out1[i].data = calloc(1, n * sizeof(float) + 1);
        out2[i].data = calloc(1, n * sizeof(float) + 1);
    }
    CHECK_OK(infer_run(one, in, n_in, out1, n_out));
    for (j = 0; j < 2; j++) CHECK_OK(infer_run(split, in, n_in, out2, n_out)); /* twice: the devices are reusable */
    infer_session_get_tp_stats(split, stats);
    for (i = 0; i < n_out; i++) CHECK(tp_close(out1[i].name, (const float *)out2[i].data, (const float *)out1[i].data,
                                               out1[i].data_bytes / sizeof(float), tp_rtol));
done:
    for (i = 0; i < TP_MAX_IO; i++) free(in[i].data), free(out1[i].data), free(out2[i].data);
    infer_session_free(one);
    infer_session_free(split);
    return test__failed_checks - before;
}

#endif
