/* tests/test_cuda.c - the CUDA backend (backends/cuda) against the CPU: one-op models
   built with infer_builder on random inputs of odd sizes (1, 3, 7, 17), each run in a
   "cuda" session and a "cpu" session, outputs compared within 1e-4 relative
   (test_close). A two-node model run several times checks CUDA graph capture and replay;
   test_precision the TF32/F16/BF16 products; test_tp and test_tp_models tensor
   parallelism over the GPUs (NCCL between distinct ones, the host path on a shared one).
   Without a GPU (infer_cuda_device_count() == 0) every GPU test reports SKIP.
   TEST_CUDA_AS_CPU=1 in the environment runs them with "cpu" as the device under test
   too: a check of the test cases themselves on a machine without a GPU.
   Built by make cuda into build/cuda/test_cuda (make test-cuda runs it), and by make
   test-cuda-emu against the backend compiled for the host emulation of CUDA in
   tests/cuda_emu/ (no GPU needed; there two emulated devices are present). */
#include "tp_models.h"

#include "../backends/cuda/infer_cuda.h"

#define RTOL 1e-4
/* Attention's outputs are weighted means of V: values near 0 are sums that cancel, and two
   f32 sums in different orders (the CPU's kernel, the GPU's online softmax) differ there by
   the rounding of the terms, ~1e-7 of the output's scale, more than 1e-4 of a small value
   (test_close's floor is 1e-3 of the scale) */
#define RTOL_ATTENTION 1e-3
static double rtol = RTOL; /* cuda_vs_cpu's */

static int have_gpu;
static const char *dut = "cuda"; /* the device under test */

/* Runs c on the CPU and on CUDA; every output must match. */
static void cuda_vs_cpu(const char *what, op_case *c) {
    op_case g = *c;
    int i, n_out = c->n_out ? c->n_out : 1;
    c->device = NULL;
    g.device = dut;
    if (op_run(c) != INFER_STATUS_OK) {
        printf("  %s: cpu: %s: %s\n", what, infer_status_name(c->status), c->error);
        test__failed_checks++;
        op_free(c);
        return;
    }
    if (op_run(&g) != INFER_STATUS_OK) {
        printf("  %s: cuda: %s: %s\n", what, infer_status_name(g.status), g.error);
        test__failed_checks++;
    } else {
        for (i = 0; i < n_out; i++) {
            size_t n = c->out[i].data_bytes / sizeof(float), k;
            double *want = (double *)malloc((n ? n : 1) * sizeof(double));
            char label[160];
            CHECK(want != NULL);
            if (!want) break;
            for (k = 0; k < n; k++) want[k] = ((const float *)c->out[i].data)[k];
            snprintf(label, sizeof label, "%s output %d", what, i);
            CHECK_EQ_INT(g.out[i].data_bytes, c->out[i].data_bytes);
            if (g.out[i].data_bytes == c->out[i].data_bytes) test_close(label, (const float *)g.out[i].data, want, n, rtol);
            free(want);
        }
    }
    op_free(&g);
    op_free(c);
}

/* a random f32 tensor in [lo, hi); the caller frees it */
static float *rnd(int64_t n, double lo, double hi) {
    float *x = (float *)malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!x) {
        printf("out of memory in the test\n");
        exit(2);
    }
    test_fill(x, (size_t)n, lo, hi);
    return x;
}
static int64_t prod(int r, const int64_t *d) {
    int64_t n = 1;
    int i;
    for (i = 0; i < r; i++) n *= d[i];
    return n;
}

/* a constant i64 vector */
static op_input consts(const char *name, int n, const int64_t *v) {
    int64_t d[1];
    d[0] = n;
    return op_const(name, INFER_DTYPE_I64, 1, d, v);
}

#define NEED_GPU()                                                                                                      \
    do {                                                                                                                \
        if (!have_gpu) SKIP("no CUDA GPU present");                                                                     \
    } while (0)

static void test_register(void) { CHECK_OK(infer_cuda_register()); }

static void test_unary(void) {
    static const char *ops[] = {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Gelu", "Erf", "Exp",
                                "Log", "Sqrt", "Neg", "Abs", "Reciprocal", "Floor", "Ceil", "Sin", "Cos", "Softplus",
                                "Swish"};
    const int64_t d[3] = {3, 7, 17};
    size_t i;
    int approx;
    NEED_GPU();
    for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
        for (approx = 0; approx < (strcmp(ops[i], "Gelu") ? 1 : 2); approx++) {
            op_case c;
            int pos = !strcmp(ops[i], "Log") || !strcmp(ops[i], "Sqrt") || !strcmp(ops[i], "Reciprocal");
            float *x = rnd(prod(3, d), pos ? 0.1 : -3, 3);
            memset(&c, 0, sizeof c);
            c.op = ops[i];
            c.in[0] = op_in("x", INFER_DTYPE_F32, 3, d, x);
            c.n_in = 1;
            if (approx) c.attrs[c.n_attrs++] = infer_attr_string("approximate", "tanh");
            cuda_vs_cpu(ops[i], &c);
            free(x);
        }
}

static void test_binary(void) {
    static const char *ops[] = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"};
    /* broadcast pairs: same shape; [3,1,17] x [7,1]; a scalar; rank 6 */
    static const int64_t da[][6] = {{3, 7, 17}, {3, 1, 17}, {1, 7, 17}, {1, 3, 1, 7, 1, 17}};
    static const int64_t db[][6] = {{3, 7, 17}, {7, 1}, {1}, {3, 1, 7, 1, 1}};
    static const int ra[] = {3, 3, 3, 6}, rb[] = {3, 2, 1, 5};
    size_t i, k;
    NEED_GPU();
    for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
        for (k = 0; k < 4; k++) {
            op_case c;
            int pw = !strcmp(ops[i], "Pow"), dv = !strcmp(ops[i], "Div");
            float *a = rnd(prod(ra[k], da[k]), pw ? 0.5 : -2, 2), *b = rnd(prod(rb[k], db[k]), dv ? 0.5 : -2, 2);
            char what[64];
            memset(&c, 0, sizeof c);
            c.op = ops[i];
            c.in[0] = op_in("a", INFER_DTYPE_F32, ra[k], da[k], a);
            c.in[1] = k == 2 ? op_const("b", INFER_DTYPE_F32, rb[k], db[k], b) : op_in("b", INFER_DTYPE_F32, rb[k], db[k], b);
            c.n_in = 2;
            snprintf(what, sizeof what, "%s case %zu", ops[i], k);
            cuda_vs_cpu(what, &c);
            free(a);
            free(b);
        }
}

static void test_softmax(void) {
    const int64_t d[3] = {3, 7, 17};
    int axis, lg;
    NEED_GPU();
    for (lg = 0; lg < 2; lg++)
        for (axis = -1; axis < 3; axis++) {
            op_case c;
            float *x = rnd(prod(3, d), -5, 5);
            memset(&c, 0, sizeof c);
            c.op = lg ? "LogSoftmax" : "Softmax";
            c.in[0] = op_in("x", INFER_DTYPE_F32, 3, d, x);
            c.n_in = 1;
            c.attrs[c.n_attrs++] = infer_attr_int("axis", axis);
            cuda_vs_cpu(c.op, &c);
            free(x);
        }
}

/* rows longer than a block of threads (256): Softmax, LayerNormalization, ReduceMean,
   GlobalAveragePool and GlobalMaxPool over 1000 or 33 x 33 values */
static void test_long_rows(void) {
    /* rows of 3000: past what LayerNormalization keeps in registers (8 x 256) */
    const int64_t d[2] = {2, 3000}, d3000[1] = {3000}, dp[4] = {1, 2, 33, 33}, axes[1] = {-1};
    static const char *ops[] = {"Softmax", "LayerNormalization", "ReduceMean", "GlobalAveragePool", "GlobalMaxPool"};
    float *x, *sc;
    size_t i;
    NEED_GPU();
    x = rnd(2 * 3000, -3, 3), sc = rnd(3000, 0.5, 1.5);
    for (i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        op_case c;
        memset(&c, 0, sizeof c);
        c.op = ops[i];
        c.in[0] = i < 3 ? op_in("x", INFER_DTYPE_F32, 2, d, x) : op_in("x", INFER_DTYPE_F32, 4, dp, x);
        c.n_in = 1;
        if (i == 1) c.in[c.n_in++] = op_const("scale", INFER_DTYPE_F32, 1, d3000, sc);
        if (i == 2) c.in[c.n_in++] = consts("axes", 1, axes);
        cuda_vs_cpu(ops[i], &c);
    }
    free(x);
    free(sc);
}

/* Clip (min only, both), Expand, BatchNormalization, RMSNormalization (two axes) */
static void test_more_ops(void) {
    const int64_t d[3] = {3, 7, 17}, d1[3] = {3, 1, 17}, shape[4] = {2, 3, 7, 17}, d4[1] = {4};
    const int64_t dbn[4] = {3, 7, 5, 5}, d7[1] = {7}, d17[1] = {17}, d7x17[2] = {7, 17};
    const float lo = -0.5f, hi = 0.75f;
    float *x, *st;
    op_case c;
    int k;
    NEED_GPU();
    x = rnd(prod(4, dbn), -2, 2), st = rnd(4 * 7 * 17, 0.5, 1.5);
    for (k = 0; k < 2; k++) {
        memset(&c, 0, sizeof c);
        c.op = "Clip";
        c.in[0] = op_in("x", INFER_DTYPE_F32, 3, d, x);
        c.in[1] = op_const("lo", INFER_DTYPE_F32, 0, d, &lo);
        c.in[2] = k ? op_const("hi", INFER_DTYPE_F32, 0, d, &hi) : op_absent();
        c.n_in = k ? 3 : 2;
        cuda_vs_cpu("Clip", &c);
    }
    memset(&c, 0, sizeof c);
    c.op = "Expand";
    c.in[0] = op_in("x", INFER_DTYPE_F32, 3, d1, x);
    c.in[1] = op_const("shape", INFER_DTYPE_I64, 1, d4, shape);
    c.n_in = 2;
    cuda_vs_cpu("Expand", &c);

    memset(&c, 0, sizeof c); /* scale, bias, mean, var: 7 values each, var > 0 */
    c.op = "BatchNormalization";
    c.in[0] = op_in("x", INFER_DTYPE_F32, 4, dbn, x);
    for (k = 1; k < 5; k++) c.in[k] = op_const(k == 1 ? "s" : k == 2 ? "b" : k == 3 ? "m" : "v", INFER_DTYPE_F32, 1, d7,
                                               st + 7 * (k - 1));
    c.n_in = 5;
    c.attrs[c.n_attrs++] = infer_attr_float("epsilon", 1e-3f);
    cuda_vs_cpu("BatchNormalization", &c);

    for (k = 0; k < 2; k++) {
        memset(&c, 0, sizeof c);
        c.op = "RMSNormalization";
        c.in[0] = op_in("x", INFER_DTYPE_F32, 3, d, x);
        c.in[1] = op_const("scale", INFER_DTYPE_F32, k ? 2 : 1, k ? d7x17 : d17, st);
        c.n_in = 2;
        c.attrs[c.n_attrs++] = infer_attr_int("axis", k ? 1 : -1);
        cuda_vs_cpu("RMSNormalization", &c);
    }
    free(x);
    free(st);
}

static void test_layer_norm(void) {
    const int64_t d[3] = {3, 7, 17}, d17[1] = {17}, d7x17[2] = {7, 17};
    int axis;
    NEED_GPU();
    for (axis = 1; axis < 3; axis++) {
        op_case c;
        int64_t len = axis == 2 ? 17 : 7 * 17;
        float *x = rnd(prod(3, d), -2, 3), *s = rnd(len, 0.5, 1.5), *b = rnd(len, -1, 1);
        memset(&c, 0, sizeof c);
        c.op = "LayerNormalization";
        c.in[0] = op_in("x", INFER_DTYPE_F32, 3, d, x);
        c.in[1] = op_const("scale", INFER_DTYPE_F32, axis == 2 ? 1 : 2, axis == 2 ? d17 : d7x17, s);
        c.in[2] = op_const("bias", INFER_DTYPE_F32, axis == 2 ? 1 : 2, axis == 2 ? d17 : d7x17, b);
        c.n_in = 3;
        c.n_out = 3; /* with the mean and the inverse standard deviation */
        c.attrs[c.n_attrs++] = infer_attr_int("axis", axis);
        cuda_vs_cpu("LayerNormalization", &c);
        free(x);
        free(s);
        free(b);
    }
}

static void test_matmul(void) {
    /* A x B shapes: weights (const, with bias and activation), batched, A broadcast, rank 1
       each side, and batch dims broadcast both ways ([3,1] x [1,5]: one GEMM per batch) */
    static const int64_t da[][4] = {{3, 7, 17}, {3, 7, 17}, {1, 7, 17}, {17}, {7, 17}, {3, 1, 7, 3}};
    static const int64_t db[][4] = {{17, 5}, {3, 17, 1}, {3, 17, 3}, {3, 17, 7}, {17}, {1, 5, 3, 7}};
    static const int ra[] = {3, 3, 3, 1, 2, 4}, rb[] = {2, 3, 3, 3, 1, 4};
    static const char *acts[] = {"Relu", "None", "Gelu", "None", "None", "Sigmoid"};
    size_t k;
    NEED_GPU();
    for (k = 0; k < sizeof ra / sizeof ra[0]; k++) {
        op_case c;
        int64_t n = rb[k] == 1 ? 1 : db[k][rb[k] - 1], dn[1];
        float *a = rnd(prod(ra[k], da[k]), -1, 1), *b = rnd(prod(rb[k], db[k]), -1, 1), *bias = rnd(n, -1, 1);
        char what[64];
        memset(&c, 0, sizeof c);
        c.op = "MatMul";
        c.in[0] = op_in("a", INFER_DTYPE_F32, ra[k], da[k], a);
        c.in[1] = k == 0 ? op_const("b", INFER_DTYPE_F32, rb[k], db[k], b) : op_in("b", INFER_DTYPE_F32, rb[k], db[k], b);
        c.n_in = 2;
        if (k == 0) {
            dn[0] = n;
            c.in[2] = op_const("bias", INFER_DTYPE_F32, 1, dn, bias);
            c.n_in = 3;
        }
        if (strcmp(acts[k], "None")) c.attrs[c.n_attrs++] = infer_attr_string("activation", acts[k]);
        snprintf(what, sizeof what, "MatMul case %zu", k);
        cuda_vs_cpu(what, &c);
        free(a);
        free(b);
        free(bias);
    }
}

static void test_gemm(void) {
    int ta, tb, cs;
    NEED_GPU();
    for (ta = 0; ta < 2; ta++)
        for (tb = 0; tb < 2; tb++)
            for (cs = 0; cs < 4; cs++) { /* C: absent, [n], [m,1], scalar */
                const int64_t m = 7, k = 17, n = 3;
                int64_t dA[2], dB[2], dC[2];
                op_case c;
                float *a = rnd(m * k, -1, 1), *b = rnd(k * n, -1, 1), *cc = rnd(m * n, -1, 1);
                char what[64];
                dA[0] = ta ? k : m, dA[1] = ta ? m : k;
                dB[0] = tb ? n : k, dB[1] = tb ? k : n;
                memset(&c, 0, sizeof c);
                c.op = "Gemm";
                c.in[0] = op_in("a", INFER_DTYPE_F32, 2, dA, a);
                c.in[1] = op_const("b", INFER_DTYPE_F32, 2, dB, b);
                c.n_in = 2;
                if (cs == 1) dC[0] = n, c.in[2] = op_const("c", INFER_DTYPE_F32, 1, dC, cc), c.n_in = 3;
                if (cs == 2) dC[0] = m, dC[1] = 1, c.in[2] = op_const("c", INFER_DTYPE_F32, 2, dC, cc), c.n_in = 3;
                if (cs == 3) c.in[2] = op_const("c", INFER_DTYPE_F32, 0, dC, cc), c.n_in = 3;
                c.attrs[c.n_attrs++] = infer_attr_int("transA", ta);
                c.attrs[c.n_attrs++] = infer_attr_int("transB", tb);
                c.attrs[c.n_attrs++] = infer_attr_float("alpha", 0.75f);
                c.attrs[c.n_attrs++] = infer_attr_float("beta", 1.5f);
                if (cs == 1) c.attrs[c.n_attrs++] = infer_attr_string("activation", "Relu");
                snprintf(what, sizeof what, "Gemm transA %d transB %d C %d", ta, tb, cs);
                cuda_vs_cpu(what, &c);
                free(a);
                free(b);
                free(cc);
            }
}

static void test_layout(void) {
    const int64_t d[3] = {3, 7, 17}, d1[3] = {3, 1, 17}, perm[3] = {2, 0, 1}, shape[2] = {21, 17}, dsh[1] = {2};
    const int64_t starts[2] = {1, -2}, ends[2] = {3, -100}, axes[2] = {0, 2}, steps[2] = {1, -3};
    const int64_t idx[5] = {2, 0, -1, 1, 2}, didx[2] = {1, 5};
    float *x, *y;
    op_case c;
    int axis;
    NEED_GPU();
    x = rnd(prod(3, d), -1, 1);
    y = rnd(prod(3, d1), -1, 1);
    memset(&c, 0, sizeof c);
    c.op = "Transpose";
    c.in[0] = op_in("x", INFER_DTYPE_F32, 3, d, x);
    c.n_in = 1;
    c.attrs[c.n_attrs++] = infer_attr_ints("perm", perm, 3);
    cuda_vs_cpu("Transpose", &c);

    memset(&c, 0, sizeof c);
    c.op = "Concat";
    c.in[0] = op_in("x", INFER_DTYPE_F32, 3, d, x);
    c.in[1] = op_in("y", INFER_DTYPE_F32, 3, d1, y);
    c.in[2] = op_const("z", INFER_DTYPE_F32, 3, d, x);
    c.n_in = 3;
    c.attrs[c.n_attrs++] = infer_attr_int("axis", 1);
    cuda_vs_cpu("Concat", &c);

    memset(&c, 0, sizeof c);
    c.op = "Slice";
    c.in[0] = op_in("x", INFER_DTYPE_F32, 3, d, x);
    c.in[1] = consts("starts", 2, starts);
    c.in[2] = consts("ends", 2, ends);
    c.in[3] = consts("axes", 2, axes);
    c.in[4] = consts("steps", 2, steps);
    c.n_in = 5;
    cuda_vs_cpu("Slice", &c);

    for (axis = 0; axis < 3; axis++) {
        memset(&c, 0, sizeof c);
        c.op = "Gather";
        c.in[0] = op_in("x", INFER_DTYPE_F32, 3, d, x);
        c.in[1] = op_in("i", INFER_DTYPE_I64, 2, didx, idx);
        c.n_in = 2;
        c.attrs[c.n_attrs++] = infer_attr_int("axis", axis);
        cuda_vs_cpu("Gather", &c);
    }
    { /* an index out of range: the run fails on the device as on the CPU (INVALID_ARGUMENT) */
        const int64_t bad[5] = {2, 0, -9, 1, 2};
        memset(&c, 0, sizeof c);
        c.op = "Gather";
        c.in[0] = op_in("x", INFER_DTYPE_F32, 3, d, x);
        c.in[1] = op_in("i", INFER_DTYPE_I64, 2, didx, bad);
        c.n_in = 2;
        c.device = dut;
        CHECK_EQ_INT(op_run(&c), INFER_STATUS_INVALID_ARGUMENT);
        CHECK(strstr(c.error, "-9 is out of range") != NULL);
        if (!strstr(c.error, "-9 is out of range")) printf("  Gather out of range on %s: %s\n", dut, c.error);
        op_free(&c);
    }

    for (axis = 0; axis < 3; axis++) { /* Split: sizes [1, 2] on axis 0, [3, 4] on 1, [10, 7] on 2 */
        const int64_t sizes[3][2] = {{1, 2}, {3, 4}, {10, 7}};
        memset(&c, 0, sizeof c);
        c.op = "Split";
        c.in[0] = op_in("x", INFER_DTYPE_F32, 3, d, x);
        c.in[1] = consts("split", 2, sizes[axis]);
        c.n_in = 2;
        c.n_out = 2;
        c.attrs[c.n_attrs++] = infer_attr_int("axis", axis);
        cuda_vs_cpu("Split", &c);
    }

    { /* Cast to f32 from i64 and bool */
        const int64_t iv[6] = {-3, 0, 7, 1 << 20, -(1 << 24), 5}, d6[1] = {6};
        const uint8_t bv[6] = {1, 0, 0, 1, 1, 0};
        int k;
        for (k = 0; k < 2; k++) {
            memset(&c, 0, sizeof c);
            c.op = "Cast";
            c.in[0] = op_in("x", k ? INFER_DTYPE_BOOL : INFER_DTYPE_I64, 1, d6, k ? (const void *)bv : (const void *)iv);
            c.n_in = 1;
            c.attrs[c.n_attrs++] = infer_attr_int("to", 1); /* ONNX FLOAT */
            cuda_vs_cpu("Cast", &c);
        }
    }

    memset(&c, 0, sizeof c);
    c.op = "Reshape";
    c.in[0] = op_in("x", INFER_DTYPE_F32, 3, d, x);
    c.in[1] = op_const("shape", INFER_DTYPE_I64, 1, dsh, shape);
    c.n_in = 2;
    cuda_vs_cpu("Reshape", &c);
    free(x);
    free(y);
}

static void test_reduce(void) {
    const int64_t d[3] = {3, 7, 17}, a1[1] = {-1}, a12[2] = {1, 2};
    float *x;
    op_case c;
    int keep;
    NEED_GPU();
    x = rnd(prod(3, d), -1, 2);
    for (keep = 0; keep < 2; keep++) {
        memset(&c, 0, sizeof c);
        c.op = "ReduceMean";
        c.in[0] = op_in("x", INFER_DTYPE_F32, 3, d, x);
        c.in[1] = consts("axes", keep ? 1 : 2, keep ? a1 : a12);
        c.n_in = 2;
        c.attrs[c.n_attrs++] = infer_attr_int("keepdims", keep);
        cuda_vs_cpu("ReduceMean", &c);
    }
    free(x);
}

static void test_conv(void) {
    /* x [n][c][h][w], w [m][c/g][kh][kw], pads, strides, dilations, group, activation */
    static const struct {
        int64_t x[4], w[4];
        int64_t pad, stride, dil, group;
        const char *act;
        int rank;
    } cs[] = {
        {{1, 3, 17, 17}, {7, 3, 3, 3}, 1, 2, 1, 1, "Relu", 4},
        {{3, 3, 7, 7}, {3, 1, 3, 3}, 1, 1, 1, 3, "None", 4},
        {{3, 17, 7, 7}, {7, 17, 1, 1}, 0, 1, 1, 1, "None", 4},
        {{1, 3, 17, 17}, {3, 3, 3, 3}, 2, 1, 2, 1, "Sigmoid", 4},
        {{3, 6, 17, 1}, {4, 3, 3, 1}, 1, 1, 1, 2, "None", 3}, /* 1-D: x [3][6][17] */
        {{2, 3, 9, 9}, {6, 1, 3, 3}, 1, 2, 1, 3, "Relu", 4}, /* depthwise, 2 outputs per channel */
        {{1, 4, 5, 8}, {4, 1, 5, 5}, 2, 1, 1, 4, "None", 4}, /* depthwise 5 x 5 */
        /* more output positions than im2col's 256 threads: each thread steps through several */
        {{1, 2, 40, 37}, {3, 2, 3, 3}, 1, 2, 1, 1, "None", 4},  /* 20 x 19 */
        {{2, 2, 80, 70}, {3, 2, 3, 3}, 1, 3, 2, 1, "Relu", 4},  /* 26 x 23, dilated */
    };
    size_t k;
    NEED_GPU();
    for (k = 0; k < sizeof cs / sizeof cs[0]; k++) {
        op_case c;
        int r = cs[k].rank, n_sp = r - 2, i;
        int64_t pads[4], strides[2], dils[2], db[1];
        float *x = rnd(prod(r, cs[k].x), -1, 1), *w = rnd(prod(r, cs[k].w), -1, 1), *b = rnd(cs[k].w[0], -1, 1);
        char what[64];
        for (i = 0; i < 2 * n_sp; i++) pads[i] = cs[k].pad;
        for (i = 0; i < n_sp; i++) strides[i] = cs[k].stride, dils[i] = cs[k].dil;
        db[0] = cs[k].w[0];
        memset(&c, 0, sizeof c);
        c.op = "Conv";
        c.in[0] = op_in("x", INFER_DTYPE_F32, r, cs[k].x, x);
        c.in[1] = op_const("w", INFER_DTYPE_F32, r, cs[k].w, w);
        c.in[2] = op_const("b", INFER_DTYPE_F32, 1, db, b);
        c.n_in = 3;
        c.attrs[c.n_attrs++] = infer_attr_ints("pads", pads, (size_t)(2 * n_sp));
        c.attrs[c.n_attrs++] = infer_attr_ints("strides", strides, (size_t)n_sp);
        c.attrs[c.n_attrs++] = infer_attr_ints("dilations", dils, (size_t)n_sp);
        c.attrs[c.n_attrs++] = infer_attr_int("group", cs[k].group);
        if (strcmp(cs[k].act, "None")) c.attrs[c.n_attrs++] = infer_attr_string("activation", cs[k].act);
        snprintf(what, sizeof what, "Conv case %zu", k);
        cuda_vs_cpu(what, &c);
        free(x);
        free(w);
        free(b);
    }
}

static void test_pool(void) {
    const int64_t d[4] = {3, 7, 17, 17}, k3[2] = {3, 3}, s2[2] = {2, 2}, p1[4] = {1, 1, 1, 1};
    float *x;
    op_case c;
    int kind, ceil_, incl;
    NEED_GPU();
    x = rnd(prod(4, d), -2, 2);
    for (kind = 0; kind < 2; kind++)
        for (ceil_ = 0; ceil_ < 2; ceil_++)
            for (incl = 0; incl < 2; incl++) {
                if (kind && incl) continue;
                memset(&c, 0, sizeof c);
                c.op = kind ? "MaxPool" : "AveragePool";
                c.in[0] = op_in("x", INFER_DTYPE_F32, 4, d, x);
                c.n_in = 1;
                c.attrs[c.n_attrs++] = infer_attr_ints("kernel_shape", k3, 2);
                c.attrs[c.n_attrs++] = infer_attr_ints("strides", s2, 2);
                c.attrs[c.n_attrs++] = infer_attr_ints("pads", p1, 4);
                c.attrs[c.n_attrs++] = infer_attr_int("ceil_mode", ceil_);
                if (!kind) c.attrs[c.n_attrs++] = infer_attr_int("count_include_pad", incl);
                cuda_vs_cpu(c.op, &c);
            }
    memset(&c, 0, sizeof c);
    c.op = "GlobalAveragePool";
    c.in[0] = op_in("x", INFER_DTYPE_F32, 4, d, x);
    c.n_in = 1;
    cuda_vs_cpu(c.op, &c);
    free(x);
}

static void test_attention(void) {
    /* rank 4 [B][H][S][D] (causal, with an f32 mask), rank 3 with grouped kv heads and a bool mask */
    const int64_t q4[4] = {1, 3, 7, 17}, k4[4] = {1, 3, 17, 17}, m4[2] = {7, 17};
    const int64_t q3[3] = {3, 7, 4 * 8}, k3[3] = {3, 17, 2 * 8}, m3[4] = {3, 1, 7, 17};
    uint8_t mb[3 * 7 * 17];
    float *q, *k, *v, *mf;
    op_case c;
    int causal;
    size_t i;
    NEED_GPU();
    /* the largest of the two layouts' sizes: Q 3 x 7 x 32 (rank 3), K and V 1 x 3 x 17 x 17 (rank 4) */
    q = rnd(prod(3, q3), -1, 1), k = rnd(prod(4, k4), -1, 1), v = rnd(prod(4, k4), -1, 1), mf = rnd(7 * 17, -1, 0);
    rtol = RTOL_ATTENTION;
    for (i = 0; i < sizeof mb; i++) mb[i] = (uint8_t)(i % 5 != 0 || i % 17 == 0); /* row 0..: key 0 always kept */
    for (causal = 0; causal < 2; causal++) {
        memset(&c, 0, sizeof c);
        c.op = "Attention";
        c.in[0] = op_in("q", INFER_DTYPE_F32, 4, q4, q);
        c.in[1] = op_in("k", INFER_DTYPE_F32, 4, k4, k);
        c.in[2] = op_in("v", INFER_DTYPE_F32, 4, k4, v);
        c.in[3] = op_in("m", INFER_DTYPE_F32, 2, m4, mf);
        c.n_in = 4;
        c.attrs[c.n_attrs++] = infer_attr_int("is_causal", causal);
        cuda_vs_cpu("Attention rank 4", &c);
    }
    { /* head size 80 (three values a lane), 70 keys, no mask; Q reuses K's buffer */
        const int64_t qd[4] = {2, 2, 5, 80}, kd[4] = {2, 2, 70, 80};
        float *kb = rnd(prod(4, kd), -1, 1), *vb = rnd(prod(4, kd), -1, 1);
        memset(&c, 0, sizeof c);
        c.op = "Attention";
        c.in[0] = op_in("q", INFER_DTYPE_F32, 4, qd, vb);
        c.in[1] = op_in("k", INFER_DTYPE_F32, 4, kd, kb);
        c.in[2] = op_in("v", INFER_DTYPE_F32, 4, kd, vb);
        c.n_in = 3;
        cuda_vs_cpu("Attention head size 80", &c);
        free(kb);
        free(vb);
    }
    { /* the tiled kernel (head sizes <= 64) across tiles: 2 query tiles (the second partial) and 4
         key tiles (the last partial), a bool mask with one row fully masked (NaN, as the CPU);
         causal over 130 x 130 (a block stops after its last row's key), V's head size 48;
         softcap with a head size of 32 */
        static const struct {
            int64_t S, T, D, Dv;
            int causal, masked;
            float softcap;
        } tc[] = {{70, 100, 64, 64, 0, 1, 0.0f}, {130, 130, 64, 48, 1, 0, 0.0f}, {33, 65, 32, 32, 0, 0, 5.0f}};
        size_t t;
        for (t = 0; t < sizeof tc / sizeof tc[0]; t++) {
            const int64_t qd[4] = {2, 3, tc[t].S, tc[t].D}, kd[4] = {2, 3, tc[t].T, tc[t].D},
                          vd[4] = {2, 3, tc[t].T, tc[t].Dv}, md[2] = {tc[t].S, tc[t].T};
            float *qb = rnd(prod(4, qd), -1, 1), *kb = rnd(prod(4, kd), -1, 1), *vb = rnd(prod(4, vd), -1, 1);
            uint8_t *mk = (uint8_t *)malloc((size_t)(tc[t].S * tc[t].T));
            char what[96];
            int64_t e;
            for (e = 0; mk && e < tc[t].S * tc[t].T; e++) mk[e] = e / tc[t].T != 5 && e % 7 != 3; /* row 5: none */
            memset(&c, 0, sizeof c);
            c.op = "Attention";
            c.in[0] = op_in("q", INFER_DTYPE_F32, 4, qd, qb);
            c.in[1] = op_in("k", INFER_DTYPE_F32, 4, kd, kb);
            c.in[2] = op_in("v", INFER_DTYPE_F32, 4, vd, vb);
            c.n_in = 3;
            if (tc[t].masked && mk) c.in[3] = op_in("m", INFER_DTYPE_BOOL, 2, md, mk), c.n_in = 4;
            c.attrs[c.n_attrs++] = infer_attr_int("is_causal", tc[t].causal);
            if (tc[t].softcap > 0) c.attrs[c.n_attrs++] = infer_attr_float("softcap", tc[t].softcap);
            snprintf(what, sizeof what, "Attention S %d T %d D %d Dv %d", (int)tc[t].S, (int)tc[t].T, (int)tc[t].D,
                     (int)tc[t].Dv);
            cuda_vs_cpu(what, &c);
            free(qb), free(kb), free(vb), free(mk);
        }
    }
    memset(&c, 0, sizeof c);
    c.op = "Attention";
    c.in[0] = op_in("q", INFER_DTYPE_F32, 3, q3, q);
    c.in[1] = op_in("k", INFER_DTYPE_F32, 3, k3, k);
    c.in[2] = op_in("v", INFER_DTYPE_F32, 3, k3, v);
    c.in[3] = op_in("m", INFER_DTYPE_BOOL, 4, m3, mb);
    c.n_in = 4;
    c.attrs[c.n_attrs++] = infer_attr_int("q_num_heads", 4);
    c.attrs[c.n_attrs++] = infer_attr_int("kv_num_heads", 2);
    c.attrs[c.n_attrs++] = infer_attr_float("scale", 0.3f);
    cuda_vs_cpu("Attention rank 3, grouped heads, bool mask", &c);
    rtol = RTOL;
    free(q);
    free(k);
    free(v);
    free(mf);
}

/* x [batch][17] -> MatMul (const weight [17][3]) -> Gelu -> Softmax, in two "cuda"
   sessions and one "cpu" session, batch changing between runs (7, 7, 7, 3, 3, 7, 1):
   the first run of each binding is captured as a CUDA graph and its next runs replay it,
   a new binding drops it (a device session that cannot re-bind dims is created anew with
   them); the two device sessions share one upload of the weight, and the second keeps
   working after the first is freed (the upload's reference count). */
static void test_graph_replay(void) {
    static const int64_t batches[] = {7, 7, 7, 3, 3, 7, 1};
    const int64_t dx[2] = {0, 17};
    const char *x_names[2] = {"batch", NULL};
    const char *mm_in[2] = {"x", "w"}, *mm_out[1] = {"h"}, *ge_in[1] = {"h"}, *ge_out[1] = {"g"}, *sm_out[1] = {"y"};
    float *w, x[7 * 17], y_cpu[7 * 3], y_gpu[7 * 3];
    double want[7 * 3];
    infer_builder *b = NULL;
    infer_model *m = NULL;
    infer_session *sc = NULL, *sg[2] = {NULL, NULL};
    infer_session_options opt;
    infer_dim dim;
    infer_tensor wt, in, out;
    void *file = NULL;
    size_t bytes = 0, i, run;
    int k;
    NEED_GPU();
    w = rnd(17 * 3, -1, 1);
    memset(&wt, 0, sizeof wt);
    wt.name = "w", wt.dtype = INFER_DTYPE_F32, wt.n_dims = 2, wt.dims[0] = 17, wt.dims[1] = 3, wt.data = w;
    wt.data_bytes = 17 * 3 * sizeof(float);
    CHECK_OK(infer_builder_create(NULL, &b));
    CHECK_OK(infer_builder_add_input(b, "x", INFER_DTYPE_F32, 2, dx, x_names));
    CHECK_OK(infer_builder_add_constant(b, &wt));
    CHECK_OK(infer_builder_add_node(b, "MatMul", "mm", mm_in, 2, mm_out, 1, NULL, 0));
    CHECK_OK(infer_builder_add_node(b, "Gelu", "gelu", ge_in, 1, ge_out, 1, NULL, 0));
    CHECK_OK(infer_builder_add_node(b, "Softmax", "sm", ge_out, 1, sm_out, 1, NULL, 0));
    CHECK_OK(infer_builder_add_output(b, "y"));
    CHECK_OK(infer_builder_serialize(b, NULL, 0, &bytes));
    if (posix_memalign(&file, 64, bytes) != 0) file = NULL;
    CHECK(file != NULL);
    if (!file) goto done;
    CHECK_OK(infer_builder_serialize(b, file, bytes, &bytes));
    CHECK_OK(infer_model_load_memory(file, bytes, NULL, &m));
    if (!m) goto done;
    memset(&opt, 0, sizeof opt);
    dim.name = "batch", dim.value = batches[0];
    opt.n_threads = 1;
    opt.dims = &dim;
    opt.n_dims = 1;
    CHECK_OK(infer_session_create(m, &opt, &sc));
    opt.device = dut;
    for (k = 0; k < 2; k++) CHECK_OK(infer_session_create(m, &opt, &sg[k]));
    if (!sc || !sg[0] || !sg[1]) goto done;
    for (run = 0; run < sizeof batches / sizeof batches[0] + 2; run++) {
        /* the last two runs: the first device session is freed before them */
        int64_t bt = batches[run < sizeof batches / sizeof batches[0] ? run : 0];
        size_t n_out = (size_t)bt * 3;
        if (run == sizeof batches / sizeof batches[0]) {
            infer_session_free(sg[0]);
            sg[0] = NULL;
        }
        if (bt != dim.value || run == sizeof batches / sizeof batches[0]) {
            dim.value = bt;
            CHECK_OK(infer_session_set_dims(sc, &dim, 1));
            for (k = 0; k < 2; k++) {
                infer_status st;
                if (!sg[k]) continue;
                st = infer_session_set_dims(sg[k], &dim, 1);
                if (st == INFER_STATUS_UNSUPPORTED) { /* a device session that cannot re-plan: a new one */
                    infer_session_free(sg[k]);
                    sg[k] = NULL;
                    st = infer_session_create(m, &opt, &sg[k]);
                }
                CHECK_OK(st);
            }
        }
        test_fill(x, (size_t)bt * 17, -2, 2);
        memset(&in, 0, sizeof in);
        in.name = "x", in.dtype = INFER_DTYPE_F32, in.n_dims = 2, in.dims[0] = bt, in.dims[1] = 17, in.data = x;
        in.data_bytes = (size_t)bt * 17 * sizeof(float);
        memset(&out, 0, sizeof out);
        out.name = "y", out.data = y_cpu, out.data_bytes = n_out * sizeof(float);
        CHECK_OK(infer_run(sc, &in, 1, &out, 1));
        for (i = 0; i < n_out; i++) want[i] = y_cpu[i];
        for (k = 0; k < 2; k++) {
            char what[64];
            if (!sg[k]) continue;
            memset(y_gpu, 0, sizeof y_gpu);
            out.data = y_gpu;
            CHECK_OK(infer_run(sg[k], &in, 1, &out, 1));
            snprintf(what, sizeof what, "run %zu (batch %lld), device session %d", run, (long long)bt, k);
            test_close(what, y_gpu, want, n_out, RTOL);
        }
    }
done:
    for (k = 0; k < 2; k++) infer_session_free(sg[k]);
    infer_session_free(sc);
    infer_model_free(m);
    infer_builder_free(b);
    free(file);
    free(w);
}

/* Tensor parallelism on the device (infer.h section 8): the MLP pair with a lone layer (even
   and uneven shards: AllReduce, AllGather of equal and unequal parts, over batch rows),
   and BERT- and GPT-2-like layers split by heads, each with tp = 2 and 3 on device "cuda"
   (rank r on cuda:(r mod count)), against the CPU's single-device run within 1e-4. Ranks
   on distinct GPUs exchange through NCCL where the backend was built with it (the
   emulation's two devices: tp = 2), ranks that share a GPU through the host (tp = 3 there);
   the plan says which, and the emulation checks that it is the one expected. */
static void test_tp(void) {
    static const tp_att_opts bert = {32, 4, 4, 8, 0, 1, 1, 1, 0, 0}, gpt2 = {40, 5, 5, 8, 1, 0, 2, 0, 0, 0};
    static const infer_dim batch4[] = {{"batch", 4}}, bs[] = {{"batch", 2}, {"seq", 16}};
    infer_model *m[4];
    int i, tp, count = infer_cuda_device_count();
    NEED_GPU();
    m[0] = tp_mlp(32, 96, 60), m[1] = tp_mlp(32, 98, 61), m[2] = tp_attention(&bert), m[3] = tp_attention(&gpt2);
    tp_device = dut;
    tp_rtol = RTOL;
    for (i = 0; i < 4; i++) {
        CHECK(m[i] != NULL);
        if (!m[i]) continue;
        for (tp = 2; tp <= 3; tp++) {
            infer_tp_stats st;
            infer_session_options o;
            infer_session *s = NULL;
            const char *plan;
            memset(&st, 0, sizeof st);
            CHECK(tp_compare(m[i], i < 2 ? batch4 : bs, i < 2 ? 1 : 2, tp, NULL, &st, 0) == 0);
            CHECK_EQ_INT(st.n_devices, tp);
            CHECK_EQ_INT(st.n_split, i < 2 ? 3 : i == 2 ? 6 : 4);
            memset(&o, 0, sizeof o);
            o.dims = i < 2 ? batch4 : bs, o.n_dims = i < 2 ? 1 : 2, o.n_threads = 1, o.tp = tp, o.device = dut;
            CHECK_OK(infer_session_create(m[i], &o, &s));
            plan = infer_session_tp_plan(s);
            if (i == 0 && !strcmp(dut, "cuda")) {
                const char *line = strstr(plan, "devices:");
                printf("  tp %d over %d GPU%s: %.*s\n", tp, count, count == 1 ? "" : "s",
                       line ? (int)strcspn(line, "\n") : 0, line ? line : "");
#ifdef TEST_CUDA_EMU /* NCCL's path when the ranks' GPUs are distinct */
                CHECK(strstr(plan, tp <= count ? "collectives on the devices (cuda)" : "through the host (ranks share a device)") != NULL);
#endif
            }
            infer_session_free(s);
        }
    }
    tp_device = NULL;
    tp_rtol = 1e-5;
    for (i = 0; i < 4; i++) infer_model_free(m[i]);
}

/* The exported BERT and GPT-2 (make models: two layers of 4 heads), tp = 2, on the device. */
static void test_tp_models(void) {
    static const infer_dim bs[] = {{"batch", 2}, {"seq", 16}};
    static const char *const paths[2] = {"build/models/bert/model.onnx", "build/models/gpt2/model.onnx"};
    int i;
    NEED_GPU();
    tp_device = dut;
    tp_rtol = RTOL;
    for (i = 0; i < 2; i++) {
        infer_model *m = tp_onnx_passes(paths[i], 0);
        infer_tp_stats st;
        if (!m) {
            test__skip_reason = "make models first";
            break;
        }
        memset(&st, 0, sizeof st);
        CHECK(tp_compare(m, bs, 2, 2, NULL, &st, 0) == 0);
        CHECK_EQ_INT(st.n_attention_split, 2);
        infer_model_free(m);
    }
    tp_device = NULL;
    tp_rtol = 1e-5;
}

/* max |got - want| over max |want| */
static double err_to_scale(const infer_tensor *got, const infer_tensor *want) {
    size_t n = want->data_bytes / sizeof(float), i;
    const float *g = (const float *)got->data, *w = (const float *)want->data;
    double scale = 0, err = 0;
    for (i = 0; i < n; i++) {
        scale = fmax(scale, fabs(w[i]));
        err = fmax(err, fabs((double)g[i] - w[i]));
    }
    return scale > 0 ? err / scale : err;
}

/* infer_session_options.precision: products of MatMul (weights, batched), Gemm (both
   transposed) and Conv (im2col, grouped, 1x1) at TF32, F16 and BF16 against the CPU's f32
   within 1e-2 of the output's scale (the figure for f16/bf16); on the emulation,
   which rounds as the tensor cores do, each also differs from the device's own f32 result
   (the option reached the GEMM). The CPU ignores the option (bits equal) and a value
   outside infer_precision is refused, GPU or not. */
static void test_precision(void) {
    static const int64_t da[3] = {3, 7, 64}, dw[2] = {64, 33}, db[3] = {3, 64, 5}, dx[4] = {2, 16, 9, 9},
                         dk3[4] = {8, 16, 3, 3}, dk1[4] = {8, 16, 1, 1}, dkg[4] = {8, 8, 3, 3}, pads[4] = {1, 1, 1, 1},
                         dat[2] = {64, 7}, dwt[2] = {33, 64};
    static const char *names[] = {"f32", "tf32", "f16", "bf16"};
    float *a = rnd(prod(3, da), -1, 1), *w = rnd(prod(2, dw), -1, 1), *b = rnd(prod(3, db), -1, 1);
    float *x = rnd(prod(4, dx), -1, 1), *k3 = rnd(prod(4, dk3), -1, 1), *k1 = rnd(prod(4, dk1), -1, 1);
    op_case c[6], g, f, d;
    int i, p;
    infer_status st, st2;
    memset(c, 0, sizeof c);
    for (i = 0; i < 6; i++) c[i].op = i < 2 ? "MatMul" : i == 2 ? "Gemm" : "Conv";
    c[0].in[0] = op_in("a", INFER_DTYPE_F32, 3, da, a), c[0].in[1] = op_const("w", INFER_DTYPE_F32, 2, dw, w);
    c[1].in[0] = op_in("a", INFER_DTYPE_F32, 3, da, a), c[1].in[1] = op_in("b", INFER_DTYPE_F32, 3, db, b);
    /* Gemm with transA and transB: A [64][7], B [33][64] (the same buffers, read transposed) */
    c[2].in[0] = op_in("a", INFER_DTYPE_F32, 2, dat, a), c[2].in[1] = op_const("w", INFER_DTYPE_F32, 2, dwt, w);
    c[2].attrs[c[2].n_attrs++] = infer_attr_int("transA", 1);
    c[2].attrs[c[2].n_attrs++] = infer_attr_int("transB", 1);
    c[3].in[0] = op_in("x", INFER_DTYPE_F32, 4, dx, x), c[3].in[1] = op_const("k", INFER_DTYPE_F32, 4, dk3, k3);
    c[3].attrs[c[3].n_attrs++] = infer_attr_ints("pads", pads, 4);
    c[4].in[0] = op_in("x", INFER_DTYPE_F32, 4, dx, x), c[4].in[1] = op_const("k", INFER_DTYPE_F32, 4, dk1, k1);
    c[5].in[0] = op_in("x", INFER_DTYPE_F32, 4, dx, x), c[5].in[1] = op_const("k", INFER_DTYPE_F32, 4, dkg, k3);
    c[5].attrs[c[5].n_attrs++] = infer_attr_int("group", 2);
    for (i = 0; i < 6; i++) c[i].n_in = 2;
    /* without a GPU: the CPU ignores the option; an unknown one is refused */
    f = c[0];
    f.precision = INFER_PRECISION_F16;
    st = op_run(&c[0]);
    st2 = op_run(&f);
    CHECK_OK(st);
    CHECK_OK(st2);
    if (!st && !st2) CHECK(!memcmp(f.out[0].data, c[0].out[0].data, c[0].out[0].data_bytes));
    op_free(&f);
    op_free(&c[0]);
    f = c[0];
    f.precision = 9;
    CHECK_STATUS(op_run(&f), INFER_STATUS_INVALID_ARGUMENT, "precision 9 is not an infer_precision");
    op_free(&f);
    if (!have_gpu) {
        printf("  (the GPU cases skipped: no CUDA GPU present)\n");
    } else {
        for (i = 0; i < 6; i++) {
            if ((st = op_run(&c[i]))) {
                printf("  %s: cpu: %s\n", c[i].op, c[i].error);
                CHECK_OK(st);
                continue;
            }
            d = c[i];
            d.device = dut;
            st = op_run(&d);
            CHECK_OK(st);
            for (p = INFER_PRECISION_TF32; p <= INFER_PRECISION_BF16 && !st; p++) {
                double e;
                g = c[i];
                g.device = dut;
                g.precision = p;
                if ((st = op_run(&g))) {
                    printf("  %s %s: %s\n", c[i].op, names[p], g.error);
                    CHECK_OK(st);
                    op_free(&g);
                    continue;
                }
                e = err_to_scale(&g.out[0], &c[i].out[0]);
                if (e > 1e-2) printf("  case %d (%s) at %s: %.3g of the output's scale off (limit 1e-2)\n", i, c[i].op, names[p], e);
                CHECK(e <= 1e-2);
#ifdef TEST_CUDA_EMU
                e = err_to_scale(&g.out[0], &d.out[0]);
                if (e == 0) printf("  case %d (%s) at %s: the same bits as f32: the precision was not applied\n", i, c[i].op, names[p]);
                CHECK(e > 0);
#endif
                op_free(&g);
            }
            op_free(&d);
            op_free(&c[i]);
        }
    }
    free(a), free(w), free(b), free(x), free(k3), free(k1);
}

int main(void) {
    test_seed(7);
    have_gpu = infer_cuda_device_count() > 0;
    if (!have_gpu && getenv("TEST_CUDA_AS_CPU")) {
        printf("TEST_CUDA_AS_CPU: the device under test is the CPU\n");
        have_gpu = 1;
        dut = "cpu";
    }
    if (!have_gpu) printf("no CUDA GPU present (infer_cuda_device_count() == 0): the GPU tests are skipped\n");
    RUN(test_register);
    RUN(test_unary);
    RUN(test_binary);
    RUN(test_softmax);
    RUN(test_layer_norm);
    RUN(test_long_rows);
    RUN(test_more_ops);
    RUN(test_matmul);
    RUN(test_gemm);
    RUN(test_layout);
    RUN(test_reduce);
    RUN(test_conv);
    RUN(test_pool);
    RUN(test_attention);
    RUN(test_graph_replay);
    RUN(test_precision);
    RUN(test_tp);
    RUN(test_tp_models);
    return test_finish();
}
