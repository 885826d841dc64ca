/* A good guest in a host application (issue 10): cancellation and deadlines, re-binding
   dims into one arena, the host's parallel-for hook, the log callback (and nothing
   printed), and worker threads that park after a run. `make tsan` runs this program too.

   The model, with a symbolic batch so dims can be re-bound:
   x: [batch][1][16][16] f32
   c = Relu(Conv(x, K[8][1][3][3], bk[8], pads 1))          [batch][8][16][16]
   h = Relu(MatMul(Reshape(c, [-1, 2048]), W1[2048][64]))   [batch][64]
   y = Softmax(MatMul(h, W2[64][10]))                       [batch][10] */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

#define X_N 256
#define Y_N 10
#define MAX_BATCH 64

static float K[8 * 9], BK[8], W1[2048 * 64], W2[64 * 10];
static float X[MAX_BATCH * X_N];

static infer_model *build(void) {
    infer_builder *b = NULL;
    infer_model *m = NULL;
    static const int64_t xd[4] = {0, 1, 16, 16}, pads[4] = {1, 1, 1, 1}, shape[2] = {-1, 2048};
    static const char *const xn[4] = {"batch", NULL, NULL, NULL};
    infer_tensor k = {"K", INFER_DTYPE_F32, 4, {8, 1, 3, 3}, K, sizeof K};
    infer_tensor bk = {"bk", INFER_DTYPE_F32, 1, {8}, BK, sizeof BK};
    infer_tensor w1 = {"W1", INFER_DTYPE_F32, 2, {2048, 64}, W1, sizeof W1};
    infer_tensor w2 = {"W2", INFER_DTYPE_F32, 2, {64, 10}, W2, sizeof W2};
    infer_tensor sh = {"shape", INFER_DTYPE_I64, 1, {2}, (void *)shape, sizeof shape};
    infer_attr conv_a[1];
    const char *conv_in[3] = {"x", "K", "bk"}, *c[1] = {"c"}, *cr[1] = {"cr"};
    const char *rs_in[2] = {"cr", "shape"}, *f[1] = {"f"}, *mm1[2] = {"f", "W1"}, *h0[1] = {"h0"}, *h[1] = {"h"};
    const char *mm2[2] = {"h", "W2"}, *l[1] = {"l"}, *y[1] = {"y"};
    size_t n = 0;
    void *buf = NULL;
    conv_a[0] = infer_attr_ints("pads", pads, 4);
    test_seed(10);
    test_fill(K, sizeof K / 4, -0.5, 0.5);
    test_fill(BK, sizeof BK / 4, -0.1, 0.1);
    test_fill(W1, sizeof W1 / 4, -0.05, 0.05);
    test_fill(W2, sizeof W2 / 4, -0.3, 0.3);
    test_fill(X, sizeof X / 4, -1, 1);
    if (infer_builder_create(NULL, &b)) return NULL;
    if (infer_builder_add_input(b, "x", INFER_DTYPE_F32, 4, xd, xn) || infer_builder_add_constant(b, &k) ||
        infer_builder_add_constant(b, &bk) || infer_builder_add_constant(b, &w1) ||
        infer_builder_add_constant(b, &w2) || infer_builder_add_constant(b, &sh) ||
        infer_builder_add_node(b, "Conv", "conv", conv_in, 3, c, 1, conv_a, 1) ||
        infer_builder_add_node(b, "Relu", "relu0", c, 1, cr, 1, NULL, 0) ||
        infer_builder_add_node(b, "Reshape", "flat", rs_in, 2, f, 1, NULL, 0) ||
        infer_builder_add_node(b, "MatMul", "fc1", mm1, 2, h0, 1, NULL, 0) ||
        infer_builder_add_node(b, "Relu", "relu1", h0, 1, h, 1, NULL, 0) ||
        infer_builder_add_node(b, "MatMul", "fc2", mm2, 2, l, 1, NULL, 0) ||
        infer_builder_add_node(b, "Softmax", "softmax", l, 1, y, 1, NULL, 0) || infer_builder_add_output(b, "y") ||
        infer_builder_serialize(b, NULL, 0, &n) || posix_memalign(&buf, 64, n) != 0 ||
        infer_builder_serialize(b, buf, n, &n)) {
        printf("  build: %s\n", infer_last_error());
    } else {
        infer_model_options mo;
        memset(&mo, 0, sizeof mo);
        mo.copy = 1;
        if (infer_model_load_memory(buf, n, &mo, &m) != INFER_STATUS_OK) printf("  load: %s\n", infer_last_error());
    }
    infer_builder_free(b);
    free(buf);
    return m;
}

static infer_model *model;

static infer_session *session(int n_threads, int batch, infer_session_options *o) {
    infer_session *s = NULL;
    infer_session_options opt;
    infer_dim d = {"batch", 0};
    if (o) opt = *o;
    else memset(&opt, 0, sizeof opt);
    d.value = batch;
    opt.n_threads = n_threads;
    opt.dims = &d;
    opt.n_dims = 1;
    if (infer_session_create(model, &opt, &s) != INFER_STATUS_OK) printf("  create: %s\n", infer_last_error());
    return s;
}

static infer_status run(infer_session *s, int batch, float *y) {
    infer_tensor in = {"x", INFER_DTYPE_F32, 4, {0, 1, 16, 16}, X, 0};
    infer_tensor out = {"y", INFER_DTYPE_UNDEFINED, 0, {0}, y, 0};
    in.dims[0] = batch;
    in.data_bytes = (size_t)batch * X_N * sizeof(float);
    out.data_bytes = (size_t)batch * Y_N * sizeof(float);
    return infer_run(s, &in, 1, &out, 1);
}

/* the output of a fresh session with this many threads */
static void reference(int n_threads, int batch, float *y) {
    infer_session *s = session(n_threads, batch, NULL);
    CHECK(s != NULL);
    if (s) CHECK_OK(run(s, batch, y));
    infer_session_free(s);
}

static double cpu_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}
static void sleep_ms(int ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* -- cancellation and deadlines -- */

static void test_cancel_status_name(void) {
    CHECK(!strcmp(infer_status_name(INFER_STATUS_CANCELLED), "cancelled"));
    CHECK(INFER_STATUS_CANCELLED == INFER_STATUS_COUNT - 1);
}

static void test_cancel_before_run(void) {
    float y[4 * Y_N], want[4 * Y_N];
    infer_session *s = session(2, 4, NULL);
    if (!s) return;
    reference(2, 4, want);
    infer_session_cancel(s);
    CHECK_STATUS(run(s, 4, y), INFER_STATUS_CANCELLED, "cancelled at node 'conv'");
    CHECK(strstr(infer_session_error(s), "cancelled") != NULL);
    CHECK_OK(run(s, 4, y)); /* the request was taken by the cancelled run */
    CHECK(!memcmp(y, want, sizeof y));
    infer_session_cancel(NULL); /* accepted */
    infer_session_free(s);
}

static void test_deadline(void) {
    float y[2 * Y_N], want[2 * Y_N];
    infer_session *s = session(2, 2, NULL);
    if (!s) return;
    reference(2, 2, want);
    infer_session_set_deadline(s, infer_now_ms() - 1); /* already past */
    CHECK_STATUS(run(s, 2, y), INFER_STATUS_CANCELLED, "cancelled");
    CHECK_STATUS(run(s, 2, y), INFER_STATUS_CANCELLED, "cancelled"); /* it stays set */
    infer_session_set_deadline(s, infer_now_ms() + 60000);
    CHECK_OK(run(s, 2, y));
    CHECK(!memcmp(y, want, sizeof y));
    infer_session_set_deadline(s, 0);
    CHECK_OK(run(s, 2, y));
    CHECK(!memcmp(y, want, sizeof y));
    infer_session_free(s);
}

static int abort_calls, abort_after;
static int abort_cb(void *user) {
    CHECK(user == (void *)&abort_calls);
    return ++abort_calls > abort_after;
}

static void test_abort_callback(void) {
    float y[8 * Y_N], want[8 * Y_N];
    infer_session_options o;
    infer_session *s;
    memset(&o, 0, sizeof o);
    o.abort = abort_cb;
    o.abort_user = &abort_calls;
    s = session(1, 8, &o);
    if (!s) return;
    reference(1, 8, want);
    abort_calls = 0, abort_after = 1000000;
    CHECK_OK(run(s, 8, y));
    CHECK(abort_calls > 7); /* before every node at least, and inside the long ones */
    CHECK(!memcmp(y, want, sizeof y));
    abort_calls = 0, abort_after = 3;
    CHECK_STATUS(run(s, 8, y), INFER_STATUS_CANCELLED, "cancelled");
    abort_after = 1000000;
    CHECK_OK(run(s, 8, y));
    CHECK(!memcmp(y, want, sizeof y));
    infer_session_free(s);
}

typedef struct {
    infer_session *s;
    int delay_ms;
    double at;
} canceller;
static void *cancel_later(void *arg) {
    canceller *c = (canceller *)arg;
    sleep_ms(c->delay_ms);
    c->at = infer_now_ms();
    infer_session_cancel(c->s);
    return NULL;
}

/* Another thread cancels while runs go on: one run returns CANCELLED soon after, and the
   session then runs normally. */
static void test_cancel_while_running(void) {
    static float y[MAX_BATCH * Y_N], want[MAX_BATCH * Y_N];
    int threads, i;
    for (threads = 1; threads <= 2; threads++) {
        infer_session *s = session(threads, MAX_BATCH, NULL);
        canceller c;
        pthread_t t;
        infer_status st = INFER_STATUS_OK;
        double back = 0;
        if (!s) return;
        reference(threads, MAX_BATCH, want);
        c.s = s, c.delay_ms = 30, c.at = 0;
        pthread_create(&t, NULL, cancel_later, &c);
        for (i = 0; i < 100000 && st == INFER_STATUS_OK; i++) st = run(s, MAX_BATCH, y);
        back = infer_now_ms();
        pthread_join(t, NULL);
        CHECK_EQ_INT(st, INFER_STATUS_CANCELLED);
        CHECK(back - c.at < 1000); /* generous: the machine may be busy */
        CHECK_OK(run(s, MAX_BATCH, y));
        CHECK(!memcmp(y, want, sizeof y));
        infer_session_free(s);
    }
}

/* -- re-binding dims -- */

static void test_set_dims_cycle(void) {
    static const int batches[] = {1, 3, 8, 2, 5};
    static float y[8 * Y_N], want[5][8 * Y_N];
    int max_plans, i, r;
    for (i = 0; i < 5; i++) reference(2, batches[i], want[i]);
    for (max_plans = 0; max_plans <= 2; max_plans++) { /* 0: the default (8), 1: no cache, 2: eviction */
        infer_session_options o;
        infer_session_stats st;
        infer_session *s;
        size_t cap = 0;
        memset(&o, 0, sizeof o);
        o.max_plans = max_plans;
        s = session(2, 1, &o);
        if (!s) return;
        for (r = 0; r < 4; r++) {
            for (i = 0; i < 5; i++) {
                infer_dim d = {"batch", 0};
                d.value = batches[i];
                CHECK_OK(infer_session_set_dims(s, &d, 1));
                CHECK_OK(run(s, batches[i], y));
                CHECK(!memcmp(y, want[i], (size_t)batches[i] * Y_N * sizeof(float)));
                CHECK_STATUS(run(s, batches[(i + 1) % 5], y), INFER_STATUS_SHAPE, "expects");
            }
            infer_session_get_stats(s, &st);
            if (r == 0) cap = st.arena_capacity_bytes;
            CHECK_EQ_INT(st.arena_capacity_bytes, cap); /* no growth after the first cycle */
            CHECK((int)st.n_plans <= (max_plans ? max_plans : 8));
        }
        infer_session_free(s);
    }
}

static void test_set_dims_errors(void) {
    float y[Y_N];
    infer_dim big = {"batch", 64}, one = {"batch", 1}, bad = {"seq", 3};
    infer_session_options o;
    infer_session *s;
    size_t need1 = 0, need2 = 0;
    void *arena = NULL;
    infer_dim d2 = {"batch", 2};
    /* a memory cap that fits batch 1 only */
    memset(&o, 0, sizeof o);
    o.dims = &one;
    o.n_dims = 1;
    o.n_threads = 1;
    CHECK_OK(infer_session_arena_bytes(model, &o, &need1));
    o.max_memory_bytes = need1 + 4096;
    s = session(1, 1, &o);
    if (!s) return;
    CHECK_STATUS(infer_session_set_dims(s, &big, 1), INFER_STATUS_OUT_OF_MEMORY, "memory cap");
    CHECK(strstr(infer_session_error(s), "memory cap") != NULL);
    CHECK_STATUS(infer_session_set_dims(s, &bad, 1), INFER_STATUS_INVALID_ARGUMENT, "'seq' is not a symbolic dim");
    CHECK_STATUS(infer_session_set_dims(s, NULL, 0), INFER_STATUS_SHAPE, "not bound");
    CHECK_OK(run(s, 1, y)); /* still batch 1 */
    infer_session_free(s);
    /* the caller's arena does not grow */
    o.max_memory_bytes = 0;
    o.dims = &d2;
    CHECK_OK(infer_session_arena_bytes(model, &o, &need2));
    if (posix_memalign(&arena, 64, need2) != 0) return;
    o.arena = arena;
    o.arena_bytes = need2;
    s = session(1, 2, &o);
    if (s) {
        CHECK_OK(infer_session_set_dims(s, &one, 1));
        CHECK_OK(run(s, 1, y));
        CHECK_STATUS(infer_session_set_dims(s, &big, 1), INFER_STATUS_INVALID_ARGUMENT, "the caller's holds");
        CHECK_OK(run(s, 1, y));
    }
    infer_session_free(s);
    free(arena);
}

/* Inputs fixed at creation (infer_session_options.constants) keep their values in the
   plans set_dims makes. y = Mul(x, scale), x: [batch][4], scale: [4] fixed. */
static void test_set_dims_fixed_input(void) {
    static const int64_t xd[2] = {0, 4}, sd[1] = {4};
    static const char *const xn[2] = {"batch", NULL};
    static const float scale[4] = {1, -2, 0.5f, 3};
    const char *mul_in[2] = {"x", "scale"}, *y[1] = {"y"};
    infer_builder *b = NULL;
    infer_model *m = NULL;
    infer_session *s = NULL;
    infer_session_options o;
    infer_tensor c = {"scale", INFER_DTYPE_F32, 1, {4}, (void *)scale, sizeof scale};
    infer_dim d = {"batch", 1};
    float x[5 * 4], out[5 * 4];
    size_t n = 0;
    void *buf = NULL;
    int bt, i;
    for (i = 0; i < 20; i++) x[i] = (float)i;
    if (infer_builder_create(NULL, &b)) return;
    CHECK_OK(infer_builder_add_input(b, "x", INFER_DTYPE_F32, 2, xd, xn));
    CHECK_OK(infer_builder_add_input(b, "scale", INFER_DTYPE_F32, 1, sd, NULL));
    CHECK_OK(infer_builder_add_node(b, "Mul", "mul", mul_in, 2, y, 1, NULL, 0));
    CHECK_OK(infer_builder_add_output(b, "y"));
    CHECK_OK(infer_builder_serialize(b, NULL, 0, &n));
    if (posix_memalign(&buf, 64, n) == 0 && infer_builder_serialize(b, buf, n, &n) == INFER_STATUS_OK)
        CHECK_OK(infer_model_load_memory(buf, n, NULL, &m));
    infer_builder_free(b);
    memset(&o, 0, sizeof o);
    o.dims = &d;
    o.n_dims = 1;
    o.constants = &c;
    o.n_constants = 1;
    o.n_threads = 1;
    if (m) CHECK_OK(infer_session_create(m, &o, &s));
    for (bt = 1; s && bt <= 5; bt++) {
        infer_tensor in = {"x", INFER_DTYPE_F32, 2, {0, 4}, x, sizeof x};
        infer_tensor ot = {"y", INFER_DTYPE_UNDEFINED, 0, {0}, out, sizeof out};
        d.value = bt;
        in.dims[0] = bt;
        CHECK_OK(infer_session_set_dims(s, &d, 1));
        CHECK_OK(infer_run(s, &in, 1, &ot, 1));
        for (i = 0; i < bt * 4; i++) CHECK(out[i] == x[i] * scale[i % 4]);
    }
    infer_session_free(s);
    infer_model_free(m);
    free(buf);
}

/* -- the host's parallel-for -- */

typedef struct {
    infer_task_fn task;
    void *arg;
    int i;
} host_task;
static int hook_calls, hook_tasks;
static void *host_thread(void *p) {
    host_task *t = (host_task *)p;
    t->task(t->arg, t->i);
    return NULL;
}
/* a test host: task 0 on the caller, the others each on a thread of its own */
static void host_parallel_for(void *user, int n_tasks, infer_task_fn task, void *task_arg) {
    pthread_t th[64];
    host_task t[64];
    int i;
    CHECK(user == (void *)&hook_calls);
    CHECK(n_tasks > 1 && n_tasks <= 3);
    hook_calls++;
    hook_tasks += n_tasks;
    for (i = 1; i < n_tasks && i < 64; i++) {
        t[i].task = task, t[i].arg = task_arg, t[i].i = i;
        pthread_create(&th[i], NULL, host_thread, &t[i]);
    }
    task(task_arg, 0);
    for (i = 1; i < n_tasks && i < 64; i++) pthread_join(th[i], NULL);
}

static void test_host_parallel_for(void) {
    static float y[MAX_BATCH * Y_N], want[MAX_BATCH * Y_N];
    infer_session_options o;
    infer_session *s;
    memset(&o, 0, sizeof o);
    o.parallel_for = host_parallel_for;
    o.parallel_user = &hook_calls;
    s = session(3, MAX_BATCH, &o);
    if (!s) return;
    reference(3, MAX_BATCH, want);
    hook_calls = hook_tasks = 0;
    CHECK_OK(run(s, MAX_BATCH, y));
    CHECK(hook_calls > 0);
    CHECK(!memcmp(y, want, sizeof y)); /* the same split as the session's own threads */
    infer_session_free(s);
}

/* -- logging, and nothing printed -- */

static int n_logs[5];
static char last_info[512], last_error[512];
static void log_cb(void *user, infer_log_level level, const char *msg) {
    CHECK(user == (void *)n_logs);
    CHECK(level >= INFER_LOG_ERROR && level <= INFER_LOG_DEBUG);
    if (level >= 1 && level <= 4) n_logs[level]++;
    if (level == INFER_LOG_INFO) snprintf(last_info, sizeof last_info, "%s", msg);
    if (level == INFER_LOG_ERROR) snprintf(last_error, sizeof last_error, "%s", msg);
}

static void test_log_and_silence(void) {
    float y[MAX_BATCH * Y_N];
    infer_session_options o;
    infer_session *s;
    infer_dim d = {"batch", 7}, bad = {"batch", -1};
    FILE *cap = tmpfile();
    int out_fd = dup(1), err_fd = dup(2);
    long printed;
    if (!cap || out_fd < 0 || err_fd < 0) SKIP("no tmpfile or dup");
    memset(&o, 0, sizeof o);
    o.log = log_cb;
    o.log_user = n_logs;
    memset(n_logs, 0, sizeof n_logs);
    fflush(stdout);
    fflush(stderr);
    dup2(fileno(cap), 1); /* everything the library might print lands in cap */
    dup2(fileno(cap), 2);
    s = session(2, 4, &o);
    if (s) {
        run(s, 4, y);
        run(s, 5, y); /* wrong dims: an error */
        infer_session_set_dims(s, &d, 1);
        infer_session_set_dims(s, &bad, 1);
        infer_session_cancel(s);
        run(s, 7, y);
        run(s, 7, y);
    }
    infer_session_free(s);
    fflush(stdout);
    fflush(stderr);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    close(out_fd);
    close(err_fd);
    printed = ftell(cap);
    fclose(cap);
    CHECK(s != NULL);
    CHECK_EQ_INT(printed, 0);
    CHECK(n_logs[INFER_LOG_INFO] >= 3); /* created, arena grown, cancelled */
    CHECK(n_logs[INFER_LOG_ERROR] >= 2); /* the wrong input, the bad dim */
    CHECK(strstr(last_info, "cancelled") != NULL);
    CHECK(strstr(last_error, "out of range") != NULL || strstr(last_error, "batch") != NULL);
}

/* -- idle threads park -- */

static void test_idle_threads_park(void) {
    static float y[MAX_BATCH * Y_N];
    int spin;
    for (spin = 0; spin <= 1; spin++) {
        infer_session_options o;
        infer_session *s;
        double c0, c1;
        memset(&o, 0, sizeof o);
        o.spin_us = spin ? -1 : 0; /* the default budget, then none */
        s = session(4, MAX_BATCH, &o);
        if (!s) return;
        CHECK_OK(run(s, MAX_BATCH, y));
        CHECK_OK(run(s, MAX_BATCH, y));
        sleep_ms(20);
        c0 = cpu_ms();
        sleep_ms(200);
        c1 = cpu_ms();
        /* parked threads use nothing; a spinning one would use ~200 ms per thread.
           The bound is generous: this checks parking, it is not a benchmark. */
        if (c1 - c0 > 40) printf("  spin_us %d: %.1f ms of CPU in 200 ms idle\n", o.spin_us, c1 - c0);
        CHECK(c1 - c0 < 40);
        infer_session_free(s);
    }
}

/* Runs whose thread count differs give the same results as a fresh session each. */
static void test_threads_deterministic(void) {
    static float a[MAX_BATCH * Y_N], b[MAX_BATCH * Y_N];
    int nt, r;
    for (nt = 1; nt <= 4; nt++) {
        infer_session *s = session(nt, MAX_BATCH, NULL);
        if (!s) return;
        reference(nt, MAX_BATCH, a);
        for (r = 0; r < 20; r++) {
            CHECK_OK(run(s, MAX_BATCH, b));
            CHECK(!memcmp(a, b, sizeof a));
        }
        infer_session_free(s);
    }
}

int main(void) {
    model = build();
    if (!model) return 1;
    RUN(test_cancel_status_name);
    RUN(test_cancel_before_run);
    RUN(test_deadline);
    RUN(test_abort_callback);
    RUN(test_cancel_while_running);
    RUN(test_set_dims_cycle);
    RUN(test_set_dims_errors);
    RUN(test_set_dims_fixed_input);
    RUN(test_host_parallel_for);
    RUN(test_log_and_silence);
    RUN(test_idle_threads_park);
    RUN(test_threads_deterministic);
    infer_model_free(model);
    return test_finish();
}
