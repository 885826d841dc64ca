/* Concurrency: one model shared by 8 threads, each with its own session, many runs each
   on different inputs; every output must be bitwise identical to the serial result for
   the same input. `make tsan` runs this program under ThreadSanitizer.

   THREAD_RUNS (environment) sets the runs per thread; the default is 1000. */
#include <pthread.h>

#include "test.h"

#define N_THREADS 8
#define N_INPUTS 97 /* distinct inputs; a prime, so threads walk them in different orders */

/* x: [1][1][8][8] f32
   c = Relu(Conv(x, K[4][1][3][3], bk[4], pads 1))           [1][4][8][8]
   p = MaxPool(c, kernel 2, strides 2)                       [1][4][4][4]
   h = Relu(MatMul(Reshape(p, [1, 64]), W1[64][16]) + b1)    [1][16]
   y = Softmax(MatMul(h, W2[16][10]) + b2)                   [1][10] */
#define X_N 64
#define Y_N 10

static float K[4 * 9], BK[4], W1[64 * 16], B1[16], W2[16 * 10], B2[10];
static float inputs[N_INPUTS][X_N];
static float serial[N_INPUTS][Y_N];

static infer_model *build(void) {
    infer_builder *b = NULL;
    infer_model *m = NULL;
    static const int64_t xd[4] = {1, 1, 8, 8}, pads[4] = {1, 1, 1, 1}, k2[2] = {2, 2}, shape[2] = {1, 64};
    infer_tensor k = {"K", INFER_DTYPE_F32, 4, {4, 1, 3, 3}, K, sizeof K};
    infer_tensor bk = {"bk", INFER_DTYPE_F32, 1, {4}, BK, sizeof BK};
    infer_tensor w1 = {"W1", INFER_DTYPE_F32, 2, {64, 16}, W1, sizeof W1};
    infer_tensor b1 = {"b1", INFER_DTYPE_F32, 1, {16}, B1, sizeof B1};
    infer_tensor w2 = {"W2", INFER_DTYPE_F32, 2, {16, 10}, W2, sizeof W2};
    infer_tensor b2 = {"b2", INFER_DTYPE_F32, 1, {10}, B2, sizeof B2};
    infer_tensor sh = {"shape", INFER_DTYPE_I64, 1, {2}, (void *)shape, sizeof shape};
    infer_attr conv_a[1], pool_a[2];
    const char *conv_in[3] = {"x", "K", "bk"}, *c[1] = {"c"}, *cr[1] = {"cr"}, *p[1] = {"p"};
    const char *rs_in[2] = {"p", "shape"}, *f[1] = {"f"}, *mm1[2] = {"f", "W1"}, *h0[1] = {"h0"};
    const char *add1[2] = {"h0", "b1"}, *h1[1] = {"h1"}, *h[1] = {"h"}, *mm2[2] = {"h", "W2"}, *l0[1] = {"l0"};
    const char *add2[2] = {"l0", "b2"}, *l[1] = {"l"}, *y[1] = {"y"};
    size_t n = 0;
    void *buf = NULL;
    conv_a[0] = infer_attr_ints("pads", pads, 4);
    pool_a[0] = infer_attr_ints("kernel_shape", k2, 2);
    pool_a[1] = infer_attr_ints("strides", k2, 2);
    if (infer_builder_create(NULL, &b)) return NULL;
    if (infer_builder_add_input(b, "x", INFER_DTYPE_F32, 4, xd, NULL) || infer_builder_add_constant(b, &k) ||
        infer_builder_add_constant(b, &bk) || infer_builder_add_constant(b, &w1) ||
        infer_builder_add_constant(b, &b1) || infer_builder_add_constant(b, &w2) ||
        infer_builder_add_constant(b, &b2) || infer_builder_add_constant(b, &sh) ||
        infer_builder_add_node(b, "Conv", "conv", conv_in, 3, c, 1, conv_a, 1) ||
        infer_builder_add_node(b, "Relu", "relu0", c, 1, cr, 1, NULL, 0) ||
        infer_builder_add_node(b, "MaxPool", "pool", cr, 1, p, 1, pool_a, 2) ||
        infer_builder_add_node(b, "Reshape", "flat", rs_in, 2, f, 1, NULL, 0) ||
        infer_builder_add_node(b, "MatMul", "fc1", mm1, 2, h0, 1, NULL, 0) ||
        infer_builder_add_node(b, "Add", "bias1", add1, 2, h1, 1, NULL, 0) ||
        infer_builder_add_node(b, "Relu", "relu1", h1, 1, h, 1, NULL, 0) ||
        infer_builder_add_node(b, "MatMul", "fc2", mm2, 2, l0, 1, NULL, 0) ||
        infer_builder_add_node(b, "Add", "bias2", add2, 2, l, 1, NULL, 0) ||
        infer_builder_add_node(b, "Softmax", "softmax", l, 1, y, 1, NULL, 0) || infer_builder_add_output(b, "y") ||
        infer_builder_serialize(b, NULL, 0, &n) || posix_memalign(&buf, 64, n) != 0 ||
        infer_builder_serialize(b, buf, n, &n) || infer_model_load_memory(buf, n, NULL, &m) != INFER_STATUS_OK) {
        printf("  build: %s\n", infer_last_error());
        m = NULL;
    }
    infer_builder_free(b);
    if (m) { /* the model must not depend on buf: load again with a copy */
        infer_model *m2 = NULL;
        infer_model_options opt;
        memset(&opt, 0, sizeof opt);
        opt.copy = 1;
        infer_model_free(m);
        m = NULL;
        if (infer_model_load_memory(buf, n, &opt, &m2) == INFER_STATUS_OK) m = m2;
    }
    free(buf);
    return m;
}

static infer_status run_one(infer_session *s, const float *x, float *y) {
    infer_tensor in = {"x", INFER_DTYPE_F32, 4, {1, 1, 8, 8}, (void *)x, X_N * sizeof(float)};
    infer_tensor out = {"y", INFER_DTYPE_UNDEFINED, 0, {0}, y, Y_N * sizeof(float)};
    return infer_run(s, &in, 1, &out, 1);
}

static infer_session *new_session(const infer_model *m) {
    infer_session *s = NULL;
    infer_session_options opt;
    memset(&opt, 0, sizeof opt);
    opt.n_threads = 1; /* the threads here are the callers' */
    return infer_session_create(m, &opt, &s) == INFER_STATUS_OK ? s : NULL;
}

/* Each thread keeps the first output it got for each input and compares every later run
   with it; after the join those are compared with the serial result. So the first session
   creations and runs in the process happen in 8 threads at once. */
typedef struct {
    const infer_model *m;
    int id, runs;
    int mismatches, failures, error_text_ok;
    unsigned char seen[N_INPUTS];
    float first[N_INPUTS][Y_N];
} worker;

static void *work(void *arg) {
    worker *w = (worker *)arg;
    infer_session *s = new_session(w->m);
    float y[Y_N];
    char want[64];
    int r;
    if (!s) {
        w->failures++;
        return NULL;
    }
    for (r = 0; r < w->runs; r++) {
        int i = (w->id * 31 + r * (w->id + 1)) % N_INPUTS;
        if (run_one(s, inputs[i], y) != INFER_STATUS_OK) {
            w->failures++;
        } else if (!w->seen[i]) {
            memcpy(w->first[i], y, sizeof y);
            w->seen[i] = 1;
        } else if (memcmp(y, w->first[i], sizeof y) != 0) {
            w->mismatches++;
        }
        /* now and then a failing run: the error text is this thread's own */
        if (r % 100 == 0) {
            infer_tensor bad = {"x", INFER_DTYPE_F32, 2, {w->id + 1, 64}, inputs[0], (size_t)(w->id + 1) * 64 * 4};
            infer_tensor out = {"y", INFER_DTYPE_UNDEFINED, 0, {0}, y, sizeof y};
            snprintf(want, sizeof want, "[%d,64]", w->id + 1);
            if (infer_run(s, &bad, 1, &out, 1) != INFER_STATUS_OK && strstr(infer_last_error(), want)) w->error_text_ok++;
            else if (r == 0) printf("  thread %d: error text '%s' lacks '%s'\n", w->id, infer_last_error(), want);
        }
    }
    infer_session_free(s);
    return NULL;
}

static void test_shared_model(void) {
    infer_model *m;
    infer_session *s;
    static worker w[N_THREADS];
    pthread_t th[N_THREADS];
    const char *env = getenv("THREAD_RUNS");
    int runs = env && atoi(env) > 0 ? atoi(env) : 1000, i, j, mismatches = 0, failures = 0, errs = 0;
    test_seed(11);
    test_fill(K, sizeof K / 4, -0.5, 0.5);
    test_fill(BK, 4, -0.1, 0.1);
    test_fill(W1, sizeof W1 / 4, -0.3, 0.3);
    test_fill(B1, 16, -0.1, 0.1);
    test_fill(W2, sizeof W2 / 4, -0.5, 0.5);
    test_fill(B2, 10, -0.1, 0.1);
    for (i = 0; i < N_INPUTS; i++) test_fill(inputs[i], X_N, -1, 1);
    m = build();
    CHECK(m != NULL);
    if (!m) return;
    for (i = 0; i < N_THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].m = m, w[i].id = i, w[i].runs = runs;
        CHECK(pthread_create(&th[i], NULL, work, &w[i]) == 0);
    }
    for (i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        mismatches += w[i].mismatches;
        failures += w[i].failures;
        errs += w[i].error_text_ok;
    }
    /* the serial reference: one session, one thread */
    s = new_session(m);
    CHECK(s != NULL);
    for (i = 0; s && i < N_INPUTS; i++) CHECK_OK(run_one(s, inputs[i], serial[i]));
    infer_session_free(s);
    for (i = 0; i < N_THREADS; i++)
        for (j = 0; j < N_INPUTS; j++)
            if (w[i].seen[j] && memcmp(w[i].first[j], serial[j], sizeof serial[j]) != 0) mismatches++;
    printf("  %d threads x %d runs on %d inputs: %d failed, %d differ from the serial result\n", N_THREADS, runs,
           N_INPUTS, failures, mismatches);
    CHECK_EQ_INT(failures, 0);
    CHECK_EQ_INT(mismatches, 0);
    CHECK_EQ_INT(errs, N_THREADS * ((runs + 99) / 100));
    infer_model_free(m);
}

int main(void) {
    RUN(test_shared_model);
    return test_finish();
}
