/* tests/tp_models.h - models and the comparison that the tensor-parallel tests share:
   tests/test_tp.c (in-process devices) and tests/tp_mpi.c (MPI ranks, make test-mpi).
   A split run must match the single-device run within 1e-5 relative (test_close). */
#ifndef INFER_TP_MODELS_H
#define INFER_TP_MODELS_H

#include "test.h"
#include "../tools/convert.h"

/* Loads a serialised builder from memory (copied, so the builder can go). */
static infer_model *tp_load_builder(infer_builder *b) {
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
static infer_model *tp_mlp(int in, int hidden, int out) {
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

/* An exported model (make models), converted in memory; NULL when it is not there. */
static infer_model *tp_onnx(const char *path) {
    infer_builder *b = NULL;
    convert_options o;
    char err[1024];
    infer_model *m = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fclose(f);
    memset(&o, 0, sizeof o);
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
static int tp_close(const char *what, const float *got, const float *want, size_t n, double rtol) {
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
/* Runs m on one device and split (tp devices in-process, or the communicator's), with the
   same inputs, and compares every output. Returns the number of failed checks; *stats
   gets the split session's figures. */
static int tp_compare(const infer_model *m, const infer_dim *dims, size_t n_dims, int tp, const infer_comm *comm,
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
                                               out1[i].data_bytes / sizeof(float), 1e-5));
done:
    for (i = 0; i < TP_MAX_IO; i++) free(in[i].data), free(out1[i].data), free(out2[i].data);
    infer_session_free(one);
    infer_session_free(split);
    return test__failed_checks - before;
}

#endif
