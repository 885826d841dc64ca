/* Tensor parallelism with in-process devices (infer.h section 8): an MLP model, the
   exported BERT and GPT-2 (make models), tp = 2, 3 and 4, even and uneven shards, against
   the single-device run within 1e-5 relative; the plan's weight figures; refusals. */
#include "tp_models.h"

static const infer_dim batch4[] = {{"batch", 4}};
static const infer_dim bs[] = {{"batch", 2}, {"seq", 16}};

static void test_tp_mlp_even(void) {
    infer_model *m = tp_mlp(32, 96, 60); /* 96 and 60 divide by 2, 3 and 4 */
    int tp;
    CHECK(m != NULL);
    if (!m) return;
    for (tp = 2; tp <= 4; tp++) {
        infer_tp_stats st;
        memset(&st, 0, sizeof st);
        CHECK(tp_compare(m, batch4, 1, tp, NULL, &st, tp == 4) == 0);
        CHECK_EQ_INT(st.n_devices, tp);
        CHECK_EQ_INT(st.n_split, 3);      /* fc1 columns, fc2 rows, head columns */
        CHECK_EQ_INT(st.n_allreduce, 1);
        CHECK_EQ_INT(st.n_allgather, 1);
        CHECK_EQ_INT(st.comm_bytes, 4 * 32 * 4 + 4 * 60 * 4);
        /* each device: 1/tp of the split layers plus the replicated weights (fc2's bias) */
        CHECK(st.device_weight_bytes <= st.split_weight_bytes / (size_t)tp + st.replicated_weight_bytes);
        CHECK_EQ_INT(st.weight_bytes, 4 * (32 * 96 + 96 + 96 * 32 + 32 + 32 * 60));
        CHECK_EQ_INT(st.replicated_weight_bytes, 4 * 32);
        CHECK_EQ_INT(st.n_runs, 2);
    }
    infer_model_free(m);
}

static void test_tp_mlp_uneven(void) {
    infer_model *m = tp_mlp(32, 98, 61); /* 98 and 61 do not divide by 3 or 4: uneven shards */
    int tp;
    CHECK(m != NULL);
    if (!m) return;
    for (tp = 2; tp <= 4; tp++) {
        infer_tp_stats st;
        CHECK(tp_compare(m, batch4, 1, tp, NULL, &st, 0) == 0);
        CHECK_EQ_INT(st.n_split, 3);
        /* the first devices hold one more row or column per split layer */
        CHECK(st.device_weight_bytes <= st.split_weight_bytes / (size_t)tp + st.replicated_weight_bytes + 4 * (32 + 32 + 1 + 32));
    }
    infer_model_free(m);
}

static void test_tp_real(const char *path, const char *what) {
    infer_model *m = tp_onnx(path);
    int tp;
    if (!m) {
        test__skip_reason = "make models first";
        return;
    }
    for (tp = 2; tp <= 4; tp++) {
        infer_tp_stats st;
        memset(&st, 0, sizeof st);
        CHECK(tp_compare(m, bs, 2, tp, NULL, &st, tp == 2) == 0);
        CHECK(st.n_split >= 8);
        CHECK(st.n_allreduce >= 2); /* one per MLP block */
        CHECK(st.device_weight_bytes <= st.split_weight_bytes / (size_t)tp + st.replicated_weight_bytes +
                                            (size_t)st.n_split * 4 * 64);
        printf("  %s tp=%d: %d layers split, %d all-reduce, %d all-gather, %zu bytes per run; weights %zu of %zu "
               "per device\n", what, tp, st.n_split, st.n_allreduce, st.n_allgather, st.comm_bytes, st.device_weight_bytes,
               st.weight_bytes);
    }
    infer_model_free(m);
}
static void test_tp_bert(void) { test_tp_real("build/models/bert/model.onnx", "bert"); }
static void test_tp_gpt2(void) { test_tp_real("build/models/gpt2/model.onnx", "gpt2"); }

/* The bundled digits CNN: a Conv split by output channels (32: uneven over 3) with an
   all-gather, and its classifier, Gemm (transB) -> Relu -> Gemm, as an MLP pair. */
static void test_tp_cnn(void) {
    infer_model *m = tp_onnx("models/digits/digits.onnx");
    infer_tensor_info info;
    infer_dim dim = {NULL, 5};
    int tp;
    CHECK(m != NULL);
    if (!m) return;
    infer_model_input(m, 0, &info);
    dim.name = info.dim_names[0];
    for (tp = 2; tp <= 3; tp++) {
        infer_tp_stats st;
        memset(&st, 0, sizeof st);
        CHECK(tp_compare(m, &dim, dim.name ? 1 : 0, tp, NULL, &st, tp == 3) == 0);
        CHECK_EQ_INT(st.n_split, 3);
        CHECK_EQ_INT(st.n_allgather, 1);
        CHECK_EQ_INT(st.n_allreduce, 1);
    }
    infer_model_free(m);
}

static void test_tp_refusals(void) {
    infer_model *m = tp_mlp(32, 96, 60);
    infer_session_options o;
    infer_session *s = (infer_session *)1;
    infer_comm bad;
    static char arena[1 << 16];
    if (!m) return;
    memset(&o, 0, sizeof o);
    o.dims = batch4, o.n_dims = 1, o.n_threads = 1;
    o.tp = 1000;
    CHECK_STATUS(infer_session_create(m, &o, &s), INFER_STATUS_INVALID_ARGUMENT, "at most");
    CHECK(s == NULL);
    o.tp = 2;
    o.arena = arena, o.arena_bytes = sizeof arena;
    CHECK_STATUS(infer_session_create(m, &o, &s), INFER_STATUS_INVALID_ARGUMENT, "one arena per device");
    o.arena = NULL, o.arena_bytes = 0;
    memset(&bad, 0, sizeof bad);
    bad.size = 2, bad.rank = 2;
    o.comm = &bad;
    CHECK_STATUS(infer_session_create(m, &o, &s), INFER_STATUS_INVALID_ARGUMENT, "communicator");
    o.comm = NULL;
    /* more devices than a layer has columns: that layer is replicated, the run still matches */
    {
        infer_model *tiny = tp_mlp(4, 3, 2);
        infer_tp_stats st;
        if (tiny) CHECK(tp_compare(tiny, batch4, 1, 4, NULL, &st, 0) == 0);
        if (tiny) CHECK_EQ_INT(st.n_split, 0);
        infer_model_free(tiny);
    }
    /* the arena query answers per device */
    {
        size_t one = 0, two = 0;
        o.tp = 0;
        CHECK_OK(infer_session_arena_bytes(m, &o, &one));
        o.tp = 2;
        CHECK_OK(infer_session_arena_bytes(m, &o, &two));
        CHECK(two > 0 && two <= one);
    }
    /* a plain session reports one device, every weight on it, and an empty plan */
    o.tp = 0;
    CHECK_OK(infer_session_create(m, &o, &s));
    if (s) {
        infer_tp_stats st;
        infer_session_get_tp_stats(s, &st);
        CHECK_EQ_INT(st.n_devices, 1);
        CHECK_EQ_INT(st.device_weight_bytes, 4 * (32 * 96 + 96 + 96 * 32 + 32 + 32 * 60));
        CHECK(!strcmp(infer_session_tp_plan(s), ""));
    }
    infer_session_free(s);
    infer_model_free(m);
}

int main(void) {
    RUN(test_tp_mlp_even);
    RUN(test_tp_mlp_uneven);
    RUN(test_tp_bert);
    RUN(test_tp_gpt2);
    RUN(test_tp_cnn);
    RUN(test_tp_refusals);
    return test_finish();
}
