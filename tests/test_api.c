/* The public API: names, model queries, symbolic dims, sessions, runs and their errors,
   caller-owned arenas, allocation hooks (none during a run; every allocation failure
   handled without leaks), the builder's checks, threads. */
#include <pthread.h>

#include "test.h"

/* -- a model used by most tests: y = Softmax(Relu(x @ W1 + b1) @ W2 + b2), x [batch][4];
      plus a shape subgraph (Shape -> Gather) that folds at creation: n = x.shape[0] -- */

static float W1[4 * 8], B1[8], W2[8 * 3], B2[3];

static void *model_file(size_t *bytes, const infer_allocator *alloc) {
    infer_builder *b = NULL;
    const int64_t xd[2] = {-1, 4};
    const char *const xs[2] = {"batch", NULL};
    infer_tensor t[5] = {{"W1", INFER_DTYPE_F32, 2, {4, 8}, W1, sizeof W1},
                         {"b1", INFER_DTYPE_F32, 1, {8}, B1, sizeof B1},
                         {"W2", INFER_DTYPE_F32, 2, {8, 3}, W2, sizeof W2},
                         {"b2", INFER_DTYPE_F32, 1, {3}, B2, sizeof B2},
                         {"zero", INFER_DTYPE_I64, 0, {0}, NULL, 8}};
    static int64_t zero = 0;
    const char *mm1[2] = {"x", "W1"}, *a1[2] = {"xw1", "b1"}, *r[1] = {"h0"}, *mm2[2] = {"h", "W2"}, *a2[2] = {"hw2", "b2"};
    const char *sm[1] = {"logits"}, *o1[1] = {"xw1"}, *o2[1] = {"h0"}, *o3[1] = {"h"}, *o4[1] = {"hw2"}, *o5[1] = {"logits"};
    const char *o6[1] = {"y"}, *shp[1] = {"x"}, *o7[1] = {"xshape"}, *g[2] = {"xshape", "zero"}, *o8[1] = {"n"};
    infer_attr axis = infer_attr_int("axis", -1);
    void *file = NULL;
    int i, ok;
    t[4].data = &zero;
    test_seed(3);
    test_fill(W1, 32, -1, 1), test_fill(B1, 8, -1, 1), test_fill(W2, 24, -1, 1), test_fill(B2, 3, -1, 1);
    ok = !infer_builder_create(alloc, &b);
    ok = ok && !infer_builder_add_input(b, "x", INFER_DTYPE_F32, 2, xd, xs);
    for (i = 0; ok && i < 5; i++) ok = !infer_builder_add_constant(b, &t[i]);
    ok = ok && !infer_builder_add_node(b, "MatMul", "fc1", mm1, 2, o1, 1, NULL, 0);
    ok = ok && !infer_builder_add_node(b, "Add", "fc1_bias", a1, 2, o2, 1, NULL, 0);
    ok = ok && !infer_builder_add_node(b, "Relu", "relu", r, 1, o3, 1, NULL, 0);
    ok = ok && !infer_builder_add_node(b, "MatMul", "fc2", mm2, 2, o4, 1, NULL, 0);
    ok = ok && !infer_builder_add_node(b, "Add", "fc2_bias", a2, 2, o5, 1, NULL, 0);
    ok = ok && !infer_builder_add_node(b, "Softmax", "softmax", sm, 1, o6, 1, &axis, 1);
    ok = ok && !infer_builder_add_node(b, "Shape", "shape", shp, 1, o7, 1, NULL, 0);
    ok = ok && !infer_builder_add_node(b, "Gather", "batch_of", g, 2, o8, 1, NULL, 0);
    ok = ok && !infer_builder_add_output(b, "y") && !infer_builder_add_output(b, "n");
    ok = ok && !infer_builder_serialize(b, NULL, 0, bytes) && !posix_memalign(&file, 64, *bytes) &&
         !infer_builder_serialize(b, file, *bytes, bytes);
    if (!ok) printf("  model_file: %s\n", infer_last_error());
    infer_builder_free(b);
    return ok ? file : (free(file), NULL);
}

static void reference(const float *x, int batch, double *y) {
    int r, j, k;
    for (r = 0; r < batch; r++) {
        double h[8], l[3], mx = -1e300, s = 0;
        for (j = 0; j < 8; j++) {
            double a = B1[j];
            for (k = 0; k < 4; k++) a += (double)x[r * 4 + k] * W1[k * 8 + j];
            h[j] = a < 0 ? 0 : a;
        }
        for (j = 0; j < 3; j++) {
            l[j] = B2[j];
            for (k = 0; k < 8; k++) l[j] += h[k] * W2[k * 3 + j];
            mx = fmax(mx, l[j]);
        }
        for (j = 0; j < 3; j++) s += exp(l[j] - mx);
        for (j = 0; j < 3; j++) y[r * 3 + j] = exp(l[j] - mx) / s;
    }
}

static infer_session_options batch_opt(infer_dim *d, int64_t batch) {
    infer_session_options o;
    memset(&o, 0, sizeof o);
    d->name = "batch";
    d->value = batch;
    o.dims = d;
    o.n_dims = 1;
    o.n_threads = 1;
    return o;
}

static void test_names(void) {
    CHECK(!strcmp(infer_status_name(INFER_STATUS_OK), "ok"));
    CHECK(!strcmp(infer_status_name(INFER_STATUS_BAD_FILE), "bad model file"));
    CHECK(!strcmp(infer_status_name((infer_status)999), "unknown status"));
    CHECK(!strcmp(infer_dtype_name(INFER_DTYPE_BF16), "bf16"));
    CHECK(!strcmp(infer_dtype_name((infer_dtype)-1), "unknown dtype"));
    CHECK_EQ_INT(infer_dtype_bytes(INFER_DTYPE_F32), 4);
    CHECK_EQ_INT(infer_dtype_bytes(INFER_DTYPE_I64), 8);
    CHECK_EQ_INT(infer_dtype_bytes(INFER_DTYPE_BOOL), 1);
    CHECK_EQ_INT(infer_dtype_bytes((infer_dtype)99), 0);
    CHECK(!strcmp(infer_version(), INFER_VERSION_STRING));
}

static void test_run_and_queries(void) {
    size_t n = 0;
    void *file = model_file(&n, NULL);
    infer_model *m = NULL;
    infer_session *s = NULL;
    infer_dim d;
    infer_session_options o = batch_opt(&d, 5);
    infer_tensor_info info;
    infer_session_stats st;
    float x[5 * 4], y[5 * 3];
    int64_t nb = 0;
    double want[15];
    infer_tensor in = {"x", INFER_DTYPE_F32, 2, {5, 4}, x, sizeof x};
    infer_tensor out[2] = {{"y", INFER_DTYPE_UNDEFINED, 0, {0}, y, sizeof y}, {"n", INFER_DTYPE_UNDEFINED, 0, {0}, &nb, 8}};
    if (!file) return;
    test_fill(x, 20, -2, 2);
    CHECK_OK(infer_model_load_memory(file, n, NULL, &m));
    CHECK_OK(infer_model_output(m, 0, &info));
    CHECK(info.n_dims == -1 && info.dtype == INFER_DTYPE_UNDEFINED); /* known per session */
    CHECK_STATUS(infer_model_input(m, 1, &info), INFER_STATUS_INVALID_ARGUMENT, "out of range");
    CHECK_OK(infer_session_create(m, &o, &s));
    if (!s) goto done;
    CHECK_OK(infer_session_input(s, 0, &info));
    CHECK(info.n_dims == 2 && info.dims[0] == 5 && info.dims[1] == 4 && !strcmp(info.dim_names[0], "batch"));
    CHECK_OK(infer_session_output(s, 0, &info));
    CHECK(info.dtype == INFER_DTYPE_F32 && info.n_dims == 2 && info.dims[0] == 5 && info.dims[1] == 3);
    CHECK_OK(infer_session_output(s, 1, &info));
    CHECK(info.dtype == INFER_DTYPE_I64 && info.n_dims == 0);
    infer_session_get_stats(s, &st);
    CHECK_EQ_INT(st.n_nodes, 8);
    CHECK_EQ_INT(st.n_steps, 6); /* Shape and Gather folded at creation */
    CHECK(st.constant_bytes >= 16 + 8);
    CHECK(st.arena_bytes >= st.arena_lower_bound_bytes && st.arena_lower_bound_bytes > 0);
    CHECK_EQ_INT(st.n_threads, 1);
    CHECK_OK(infer_run(s, &in, 1, out, 2));
    reference(x, 5, want);
    test_close("y", y, want, 15, 1e-5);
    CHECK_EQ_INT(nb, 5);
    CHECK(out[0].dtype == INFER_DTYPE_F32 && out[0].n_dims == 2 && out[0].dims[0] == 5 && out[0].dims[1] == 3);
    /* by position, a second time: same answer */
    memset(y, 0, sizeof y);
    in.name = NULL;
    out[0].name = NULL;
    CHECK_OK(infer_run(s, &in, 1, out, 1));
    test_close("y by position", y, want, 15, 1e-5);
    CHECK(!strcmp(infer_session_error(s), ""));
done:
    infer_session_free(s);
    infer_model_free(m);
    free(file);
}

static void test_symbolic_dims(void) {
    size_t n = 0;
    void *file = model_file(&n, NULL);
    infer_model *m = NULL;
    infer_session *s = NULL;
    infer_dim d, typo = {"bach", 2};
    infer_session_options o;
    int64_t batches[3] = {1, 0, 33};
    int i;
    if (!file) return;
    CHECK_OK(infer_model_load_memory(file, n, NULL, &m));
    memset(&o, 0, sizeof o);
    CHECK_STATUS(infer_session_create(m, &o, &s), INFER_STATUS_SHAPE, "input 'x' dim 0 'batch' is not bound");
    CHECK(s == NULL);
    o.dims = &typo, o.n_dims = 1;
    CHECK_STATUS(infer_session_create(m, &o, &s), INFER_STATUS_INVALID_ARGUMENT, "'bach' is not a symbolic dim");
    o = batch_opt(&d, -3);
    CHECK_STATUS(infer_session_create(m, &o, &s), INFER_STATUS_INVALID_ARGUMENT, "dim 'batch' = -3 is out of range");
    for (i = 0; i < 3; i++) { /* several sessions of one model, different batch sizes, including 0 */
        float x[33 * 4], y[33 * 3];
        double want[33 * 3];
        infer_tensor in = {"x", INFER_DTYPE_F32, 2, {0, 4}, x, 0};
        infer_tensor out = {"y", INFER_DTYPE_UNDEFINED, 0, {0}, y, 0};
        o = batch_opt(&d, batches[i]);
        in.dims[0] = batches[i];
        in.data_bytes = sizeof(float) * 4 * (size_t)batches[i];
        out.data_bytes = sizeof(float) * 3 * (size_t)batches[i];
        test_fill(x, 33 * 4, -1, 1);
        s = NULL;
        CHECK_OK(infer_session_create(m, &o, &s));
        if (!s) continue;
        CHECK_OK(infer_run(s, &in, 1, &out, 1));
        CHECK_EQ_INT(out.dims[0], batches[i]);
        reference(x, (int)batches[i], want);
        if (batches[i]) test_close("y", y, want, 3 * (size_t)batches[i], 1e-5);
        infer_session_free(s);
    }
    infer_model_free(m);
    free(file);
}

static void test_run_errors(void) {
    size_t n = 0;
    void *file = model_file(&n, NULL);
    infer_model *m = NULL;
    infer_session *s = NULL;
    infer_dim d;
    infer_session_options o = batch_opt(&d, 2);
    float x[8] = {0}, y[6], sentinel[6];
    infer_tensor in = {"x", INFER_DTYPE_F32, 2, {2, 4}, x, sizeof x}, two[2];
    infer_tensor out = {"y", INFER_DTYPE_UNDEFINED, 0, {0}, y, sizeof y};
    if (!file) return;
    CHECK_OK(infer_model_load_memory(file, n, NULL, &m));
    CHECK_OK(infer_session_create(m, &o, &s));
    if (!s) goto done;
    CHECK_STATUS(infer_run(s, &in, 0, &out, 1), INFER_STATUS_INVALID_ARGUMENT, "got 0 inputs; the session takes 1");
    CHECK(strstr(infer_session_error(s), "got 0 inputs") != NULL);
    in.name = "X";
    CHECK_STATUS(infer_run(s, &in, 1, &out, 1), INFER_STATUS_INVALID_ARGUMENT, "the model has no input 'X'");
    in.name = "x";
    in.dims[0] = 3;
    CHECK_STATUS(infer_run(s, &in, 1, &out, 1), INFER_STATUS_SHAPE, "input 'x' is f32 [3,4]; the session expects f32 [2,4]");
    in.dims[0] = 2;
    in.dtype = INFER_DTYPE_F64;
    CHECK_STATUS(infer_run(s, &in, 1, &out, 1), INFER_STATUS_SHAPE, "is f64 [2,4]");
    in.dtype = INFER_DTYPE_F32;
    in.data_bytes = 31;
    CHECK_STATUS(infer_run(s, &in, 1, &out, 1), INFER_STATUS_INVALID_ARGUMENT, "has 31 bytes of data; it needs 32");
    in.data_bytes = sizeof x;
    two[0] = in, two[1] = in;
    /* (two inputs for a one-input model is refused by the count) */
    CHECK_STATUS(infer_run(s, two, 2, &out, 1), INFER_STATUS_INVALID_ARGUMENT, "got 2 inputs");
    out.data_bytes = 20;
    memset(y, 0x7F, sizeof y);
    memcpy(sentinel, y, sizeof y);
    CHECK_STATUS(infer_run(s, &in, 1, &out, 1), INFER_STATUS_INVALID_ARGUMENT, "output 'y' needs 24 bytes; the buffer has 20");
    CHECK(memcmp(y, sentinel, sizeof y) == 0); /* nothing written on failure */
    out.data_bytes = sizeof y;
    out.name = "z";
    CHECK_STATUS(infer_run(s, &in, 1, &out, 1), INFER_STATUS_INVALID_ARGUMENT, "the model has no output 'z'");
    out.name = "y";
    CHECK_OK(infer_run(s, &in, 1, &out, 1)); /* still usable after errors */
    CHECK_STATUS(infer_run(NULL, &in, 1, &out, 1), INFER_STATUS_INVALID_ARGUMENT, "session is NULL");
    o.device = "cuda:0";
    {
        infer_session *s2 = NULL;
        CHECK_STATUS(infer_session_create(m, &o, &s2), INFER_STATUS_UNSUPPORTED, "device 'cuda:0' is not available");
        CHECK(s2 == NULL);
    }
done:
    infer_session_free(s);
    infer_model_free(m);
    free(file);
    infer_session_free(NULL);
    infer_model_free(NULL);
    infer_builder_free(NULL);
}

static void test_caller_arena(void) {
    size_t n = 0, need = 0;
    void *file = model_file(&n, NULL), *arena = NULL;
    infer_model *m = NULL;
    infer_session *s = NULL;
    infer_dim d;
    infer_session_options o = batch_opt(&d, 3);
    infer_session_stats st;
    float x[12], y[9];
    double want[9];
    infer_tensor in = {"x", INFER_DTYPE_F32, 2, {3, 4}, x, sizeof x};
    infer_tensor out = {"y", INFER_DTYPE_UNDEFINED, 0, {0}, y, sizeof y};
    if (!file) return;
    test_fill(x, 12, -1, 1);
    reference(x, 3, want);
    CHECK_OK(infer_model_load_memory(file, n, NULL, &m));
    CHECK_OK(infer_session_arena_bytes(m, &o, &need));
    CHECK(need > 0 && need % 64 == 0);
    CHECK(posix_memalign(&arena, 64, need + 64) == 0);
    o.arena = arena, o.arena_bytes = need - 64;
    CHECK_STATUS(infer_session_create(m, &o, &s), INFER_STATUS_INVALID_ARGUMENT, "must be 64-byte aligned and hold");
    o.arena = (char *)arena + 8, o.arena_bytes = need;
    CHECK_STATUS(infer_session_create(m, &o, &s), INFER_STATUS_INVALID_ARGUMENT, "must be 64-byte aligned");
    o.arena = arena, o.arena_bytes = need;
    CHECK_OK(infer_session_create(m, &o, &s));
    if (s) {
        infer_session_get_stats(s, &st);
        CHECK_EQ_INT(st.arena_bytes, need);
        CHECK_OK(infer_run(s, &in, 1, &out, 1));
        test_close("y (caller arena)", y, want, 9, 1e-5);
    }
    infer_session_free(s); /* must not free the caller's arena */
    free(arena);
    infer_model_free(m);
    free(file);
}

/* -- allocation hooks -- */

static void test_run_allocates_nothing(void) {
    test_counter c = {0, 0, 0};
    infer_allocator a = {test_count_alloc, test_count_free, NULL};
    size_t n = 0;
    void *file;
    infer_model *m = NULL;
    infer_session *s = NULL;
    infer_model_options mo;
    infer_dim d;
    infer_session_options o = batch_opt(&d, 4);
    float x[16] = {0}, y[12];
    infer_tensor in = {"x", INFER_DTYPE_F32, 2, {4, 4}, x, sizeof x};
    infer_tensor out = {"y", INFER_DTYPE_UNDEFINED, 0, {0}, y, sizeof y};
    long before;
    int i;
    a.user = &c;
    file = model_file(&n, &a);
    CHECK(c.allocs > 0 && c.allocs == c.frees); /* the builder used the hooks and freed everything */
    memset(&mo, 0, sizeof mo);
    mo.allocator = a;
    o.allocator = a;
    CHECK_OK(infer_model_load_memory(file, n, &mo, &m));
    if (m) CHECK_OK(infer_session_create(m, &o, &s));
    before = c.allocs;
    for (i = 0; s && i < 10; i++) CHECK_OK(infer_run(s, &in, 1, &out, 1));
    CHECK_EQ_INT(c.allocs, before);
    infer_session_free(s);
    infer_model_free(m);
    CHECK_EQ_INT(c.allocs, c.frees);
    free(file);
}

/* Fails allocation N for N = 1, 2, ... through load, create and run: each failure is
   reported as OUT_OF_MEMORY with a message and every allocation is freed. */
static void test_allocation_failures(void) {
    size_t n = 0;
    void *file = model_file(&n, NULL);
    long k, total = -1;
    int oom = 0;
    if (!file) return;
    for (k = 1; k < 200 && total < 0; k++) {
        test_counter c = {0, 0, 0};
        infer_allocator a = {test_count_alloc, test_count_free, NULL};
        infer_model_options mo;
        infer_dim d;
        infer_session_options o = batch_opt(&d, 2);
        infer_model *m = NULL;
        infer_session *s = NULL;
        infer_status st;
        float x[8] = {0}, y[6];
        infer_tensor in = {"x", INFER_DTYPE_F32, 2, {2, 4}, x, sizeof x};
        infer_tensor out = {"y", INFER_DTYPE_UNDEFINED, 0, {0}, y, sizeof y};
        a.user = &c;
        c.fail_at = k;
        memset(&mo, 0, sizeof mo);
        mo.allocator = a, mo.copy = 1;
        o.allocator = a;
        st = infer_model_load_memory(file, n, &mo, &m);
        if (st == INFER_STATUS_OK) st = infer_session_create(m, &o, &s);
        if (st == INFER_STATUS_OK) st = infer_run(s, &in, 1, &out, 1);
        if (st == INFER_STATUS_OK) {
            CHECK(c.fail_at == k); /* all allocations done before reaching k */
            total = k - 1;
        } else {
            oom++;
            if (st != INFER_STATUS_OUT_OF_MEMORY || !strstr(infer_last_error(), "out of memory")) {
                printf("  failing allocation %ld: %s \"%s\"\n", k, infer_status_name(st), infer_last_error());
                test__failed_checks++;
            }
        }
        infer_session_free(s);
        infer_model_free(m);
        if (c.allocs != c.frees) {
            printf("  failing allocation %ld: %ld allocations, %ld frees\n", k, c.allocs, c.frees);
            test__failed_checks++;
        }
    }
    printf("  %ld allocations in load + create + run; each failure handled\n", total);
    CHECK(total > 10 && oom == total);
    free(file);
}

/* -- the builder's checks -- */

static void test_builder_errors(void) {
    infer_builder *b = NULL;
    const int64_t d2[2] = {2, 2};
    float w[4] = {1, 2, 3, 4};
    infer_tensor t = {"w", INFER_DTYPE_F32, 2, {2, 2}, w, sizeof w};
    const char *ok_in[2] = {"x", "w"}, *o1[1] = {"y"}, *bad_in[2] = {"x", "nope"}, *one[1] = {"x"};
    infer_attr bad_attr = infer_attr_int("alpha", 1), wrong_type = infer_attr_string("axis", "1");
    size_t need = 0;
    CHECK_OK(infer_builder_create(NULL, &b));
    if (!b) return;
    CHECK_OK(infer_builder_add_input(b, "x", INFER_DTYPE_F32, 2, d2, NULL));
    CHECK_STATUS(infer_builder_add_input(b, "x", INFER_DTYPE_F32, 2, d2, NULL), INFER_STATUS_INVALID_ARGUMENT,
                 "'x': the name is already used");
    CHECK_STATUS(infer_builder_add_input(b, "z", (infer_dtype)77, 2, d2, NULL), INFER_STATUS_INVALID_ARGUMENT, "dtype 77");
    CHECK_STATUS(infer_builder_add_input(b, "z", INFER_DTYPE_F32, 9, d2, NULL), INFER_STATUS_INVALID_ARGUMENT, "rank 9");
    CHECK_OK(infer_builder_add_constant(b, &t));
    t.name = "w2", t.data_bytes = 12;
    CHECK_STATUS(infer_builder_add_constant(b, &t), INFER_STATUS_INVALID_ARGUMENT, "data_bytes is 12");
    CHECK_STATUS(infer_builder_add_node(b, "Frobnicate", "f", ok_in, 2, o1, 1, NULL, 0), INFER_STATUS_UNSUPPORTED,
                 "op type 'Frobnicate' is not supported");
    CHECK_STATUS(infer_builder_add_node(b, "Add", "a", bad_in, 2, o1, 1, NULL, 0), INFER_STATUS_INVALID_ARGUMENT,
                 "input 1 'nope' is not defined yet");
    CHECK_STATUS(infer_builder_add_node(b, "Add", "a", one, 1, o1, 1, NULL, 0), INFER_STATUS_INVALID_ARGUMENT,
                 "Add takes 2 to 2 inputs, not 1");
    CHECK_STATUS(infer_builder_add_node(b, "Relu", "r", one, 1, o1, 1, &bad_attr, 1), INFER_STATUS_UNSUPPORTED,
                 "Relu has no attribute 'alpha'");
    CHECK_STATUS(infer_builder_add_node(b, "Softmax", "s", one, 1, o1, 1, &wrong_type, 1), INFER_STATUS_INVALID_ARGUMENT,
                 "attribute 'axis' has the wrong type");
    CHECK_STATUS(infer_builder_add_node(b, "Relu", "r", one, 1, one, 1, NULL, 0), INFER_STATUS_INVALID_ARGUMENT,
                 "output 'x' is already defined");
    /* after all those failures, the builder still works */
    CHECK_OK(infer_builder_add_node(b, "Add", "a", ok_in, 2, o1, 1, NULL, 0));
    CHECK_STATUS(infer_builder_add_output(b, "missing"), INFER_STATUS_INVALID_ARGUMENT, "no tensor has this name");
    CHECK_OK(infer_builder_add_output(b, "y"));
    CHECK_STATUS(infer_builder_add_output(b, "y"), INFER_STATUS_INVALID_ARGUMENT, "already an output");
    CHECK_OK(infer_builder_set_metadata(b, "k", "v1"));
    CHECK_OK(infer_builder_set_metadata(b, "k", "v2")); /* replaces */
    CHECK_OK(infer_builder_serialize(b, NULL, 0, &need));
    {
        char small[16];
        CHECK_STATUS(infer_builder_serialize(b, small, sizeof small, &need), INFER_STATUS_INVALID_ARGUMENT, "buffer of 16 bytes, 896 needed");
        CHECK(need > 64);
    }
    {
        void *file = NULL;
        infer_model *m = NULL;
        CHECK(posix_memalign(&file, 64, need) == 0);
        CHECK_OK(infer_builder_serialize(b, file, need, &need));
        CHECK_OK(infer_model_load_memory(file, need, NULL, &m));
        if (m) {
            CHECK(!strcmp(infer_model_metadata_get(m, "k"), "v2"));
            CHECK_EQ_INT(infer_model_n_metadata(m), 1);
        }
        infer_model_free(m);
        free(file);
    }
    infer_builder_free(b);
}

/* Errors are per thread, and the messages of a session stay with it. */
static void *other_thread(void *arg) {
    infer_model *m = NULL;
    (void)arg;
    infer_model_load("does/not/exist.infer", NULL, &m);
    return strstr(infer_last_error(), "does/not/exist.infer") ? (void *)1 : NULL;
}

static void test_errors_per_thread(void) {
    pthread_t t;
    void *ok = NULL;
    infer_model *m = NULL;
    infer_model_load("mine.infer", NULL, &m);
    CHECK(strstr(infer_last_error(), "mine.infer") != NULL);
    CHECK(pthread_create(&t, NULL, other_thread, NULL) == 0);
    pthread_join(t, &ok);
    CHECK(ok != NULL);
    CHECK(strstr(infer_last_error(), "mine.infer") != NULL); /* untouched by the other thread */
}

/* One model shared by several threads, each with its own session: identical results. */
typedef struct job {
    const infer_model *m;
    float x[16 * 4], y[16 * 3];
    int ok;
} job;

static void *run_job(void *arg) {
    job *j = (job *)arg;
    infer_session *s = NULL;
    infer_dim d;
    infer_session_options o = batch_opt(&d, 16);
    infer_tensor in = {"x", INFER_DTYPE_F32, 2, {16, 4}, j->x, sizeof j->x};
    infer_tensor out = {"y", INFER_DTYPE_UNDEFINED, 0, {0}, j->y, sizeof j->y};
    int i;
    j->ok = infer_session_create(j->m, &o, &s) == INFER_STATUS_OK;
    for (i = 0; j->ok && i < 200; i++) j->ok = infer_run(s, &in, 1, &out, 1) == INFER_STATUS_OK;
    infer_session_free(s);
    return NULL;
}

static void test_threads_share_a_model(void) {
    size_t n = 0;
    void *file = model_file(&n, NULL);
    infer_model *m = NULL;
    job jobs[4];
    pthread_t t[4];
    int i;
    if (!file) return;
    CHECK_OK(infer_model_load_memory(file, n, NULL, &m));
    for (i = 0; i < 4; i++) {
        jobs[i].m = m;
        test_seed(100);
        test_fill(jobs[i].x, 64, -1, 1);
        CHECK(pthread_create(&t[i], NULL, run_job, &jobs[i]) == 0);
    }
    for (i = 0; i < 4; i++) pthread_join(t[i], NULL);
    for (i = 0; i < 4; i++) {
        CHECK(jobs[i].ok);
        CHECK(memcmp(jobs[i].y, jobs[0].y, sizeof jobs[0].y) == 0);
    }
    infer_model_free(m);
    free(file);
}


/* A graph input that sets a shape can be fixed when the session is created. */
static void test_fixed_inputs(void) {
    infer_builder *b = NULL;
    const int64_t xd[2] = {2, 6}, sd[1] = {2};
    const char *ins[2] = {"x", "shape"}, *outs[1] = {"y"};
    int64_t shape[2] = {3, 4}, bad_shape[3] = {3, 4, 1};
    float x[12], y[12];
    void *file = NULL;
    size_t n = 0;
    infer_model *m = NULL;
    infer_session *s = NULL;
    infer_session_options o;
    infer_tensor c = {"shape", INFER_DTYPE_I64, 1, {2}, shape, sizeof shape};
    infer_tensor in = {"x", INFER_DTYPE_F32, 2, {2, 6}, x, sizeof x}, two[2];
    infer_tensor out = {"y", INFER_DTYPE_UNDEFINED, 0, {0}, y, sizeof y};
    int i;
    for (i = 0; i < 12; i++) x[i] = (float)i;
    CHECK_OK(infer_builder_create(NULL, &b));
    CHECK_OK(infer_builder_add_input(b, "x", INFER_DTYPE_F32, 2, xd, NULL));
    CHECK_OK(infer_builder_add_input(b, "shape", INFER_DTYPE_I64, 1, sd, NULL));
    CHECK_OK(infer_builder_add_node(b, "Reshape", "r", ins, 2, outs, 1, NULL, 0));
    CHECK_OK(infer_builder_add_output(b, "y"));
    CHECK_OK(infer_builder_serialize(b, NULL, 0, &n));
    CHECK(posix_memalign(&file, 64, n) == 0);
    CHECK_OK(infer_builder_serialize(b, file, n, &n));
    CHECK_OK(infer_model_load_memory(file, n, NULL, &m));
    memset(&o, 0, sizeof o);
    o.n_threads = 1;
    CHECK_STATUS(infer_session_create(m, &o, &s), INFER_STATUS_UNSUPPORTED, "known when the session is created");
    o.constants = &c, o.n_constants = 1;
    c.name = "nope";
    CHECK_STATUS(infer_session_create(m, &o, &s), INFER_STATUS_INVALID_ARGUMENT, "constant 'nope' is not a graph input");
    c.name = "shape", c.dims[0] = 3, c.data = bad_shape, c.data_bytes = sizeof bad_shape;
    CHECK_STATUS(infer_session_create(m, &o, &s), INFER_STATUS_SHAPE, "constant 'shape' is i64 [3]; the input is i64 [2]");
    c.dims[0] = 2, c.data = shape, c.data_bytes = sizeof shape;
    CHECK_OK(infer_session_create(m, &o, &s));
    if (s) {
        two[0] = in, two[1] = c;
        CHECK_STATUS(infer_run(s, two, 2, &out, 1), INFER_STATUS_INVALID_ARGUMENT, "got 2 inputs; the session takes 1");
        CHECK_OK(infer_run(s, &in, 1, &out, 1));
        CHECK(out.n_dims == 2 && out.dims[0] == 3 && out.dims[1] == 4 && y[11] == 11.0f);
    }
    infer_session_free(s);
    infer_model_free(m);
    infer_builder_free(b);
    free(file);
}

int main(void) {
    RUN(test_names);
    RUN(test_run_and_queries);
    RUN(test_symbolic_dims);
    RUN(test_run_errors);
    RUN(test_caller_arena);
    RUN(test_run_allocates_nothing);
    RUN(test_allocation_failures);
    RUN(test_builder_errors);
    RUN(test_errors_per_thread);
    RUN(test_threads_share_a_model);
    RUN(test_fixed_inputs);
    return test_finish();
}
