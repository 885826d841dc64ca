/* Tensor parallelism with in-process devices (infer.h section 8): an MLP model, attention
   blocks split by heads (BERT-like and GPT-2-like layers: even and uneven heads, masks,
   causal, grouped-query), the exported BERT and GPT-2 (make models), tp = 2, 3 and 4,
   against the single-device run within 1e-5 relative; the plan's weight figures; refusals. */
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

/* Splits the attention layer o over tp = 2, 3, 4 and compares; want[tp - 2]: 1 when the
   block must be split by heads at that tp, 0 when the plan must say why not. */
static void tp_att_case(const char *what, const tp_att_opts *o, const int want[3]) {
    infer_model *m = tp_attention(o);
    size_t e = (size_t)o->e, wq = (size_t)(o->hq * o->d), wk = (size_t)(o->hkv * o->d);
    size_t qw = 4 * (e * wq + wq + wq * e), kvw = 4 * (e * wk + wk) * 2, mlp = 4 * (e * 4 * e * 2 + 4 * e);
    int tp;
    CHECK(m != NULL);
    if (!m) return;
    for (tp = 2; tp <= 4; tp++) {
        infer_tp_stats st;
        const char *plan;
        infer_session_options so;
        infer_session *s = NULL;
        memset(&st, 0, sizeof st);
        CHECK(tp_compare(m, bs, 2, tp, NULL, &st, 0) == 0);
        CHECK_EQ_INT(st.n_attention_split, want[tp - 2]);
        memset(&so, 0, sizeof so);
        so.dims = bs, so.n_dims = 2, so.n_threads = 1, so.tp = tp;
        CHECK_OK(infer_session_create(m, &so, &s));
        plan = infer_session_tp_plan(s);
        if (want[tp - 2]) {
            size_t heads_w, g = (size_t)(o->hq / o->hkv), kv = (size_t)o->hkv, n = (size_t)tp;
            CHECK(strstr(plan, "split by heads") != NULL);
            CHECK_EQ_INT(st.n_split, o->fused ? 4 : 6); /* Q/K/V (or QKV) columns, output rows, the MLP pair */
            CHECK_EQ_INT(st.n_allreduce, 2);            /* after the output projection, after the MLP */
            CHECK_EQ_INT(st.n_allgather, 0);
            CHECK_EQ_INT(st.comm_bytes, 2 * 2 * 16 * e * 4);
            /* each device: its heads' share of the attention weights (whole kv groups, or one
               shared kv head and its share of the group), its share of the MLP (one more column
               at most), the replicated rest */
            if (kv >= n) heads_w = (qw + kvw) * ((kv + n - 1) / n) / kv;
            else heads_w = qw * ((g + n / kv - 1) / (n / kv)) / (size_t)o->hq + kvw / kv;
            CHECK(st.device_weight_bytes <= heads_w + mlp / n + 4 * (2 * e + 1) + st.replicated_weight_bytes);
            if (o->hq % tp == 0 && o->hkv % tp == 0 && (4 * o->e) % tp == 0)
                CHECK(st.device_weight_bytes <= st.split_weight_bytes / n + st.replicated_weight_bytes);
        } else {
            CHECK(strstr(plan, "not split by heads: a device would get no head") != NULL);
        }
        if (tp == 3 && getenv("TP_VERBOSE")) printf("%s", plan);
        printf("  %s tp=%d: %s, %d layers split, %zu bytes per run; weights %zu of %zu per device\n", what, tp,
               st.n_attention_split ? "heads split" : "attention not split", st.n_split, st.comm_bytes,
               st.device_weight_bytes, st.weight_bytes);
        infer_session_free(s);
    }
    infer_model_free(m);
}

/* BERT-like: separate Q/K/V (V's bias an unfused Add), 4-D Attention with a padding mask */
static void test_tp_att_bert(void) {
    static const tp_att_opts even = {32, 4, 4, 8, 0, 1, 1, 1, 0, 0}, uneven = {40, 5, 5, 8, 0, 1, 1, 0, 0, 0};
    static const int all[3] = {1, 1, 1}, not4[3] = {1, 1, 1};
    tp_att_case("bert-like 4 heads", &even, all);
    tp_att_case("bert-like 5 heads", &uneven, not4); /* 3+2, 2+2+1, 2+1+1+1 */
}

/* GPT-2-like: one QKV projection and a Split; 3-D Attention, causal; then the 4-D form */
static void test_tp_att_gpt2(void) {
    static const tp_att_opts g3 = {48, 6, 6, 8, 1, 0, 2, 0, 0, 0}, g4 = {48, 6, 6, 8, 1, 1, 2, 0, 0, 0};
    static const int all[3] = {1, 1, 1};
    tp_att_case("gpt2-like 3-D causal", &g3, all);
    tp_att_case("gpt2-like 4-D causal", &g4, all);
}

/* Grouped-query attention: 8 query heads over 2 kv heads (whole groups at tp = 2, each kv
   head shared by 2 devices at tp = 4, not split at tp = 3), and 8 over 4 (uneven groups at
   tp = 3); fewer heads than devices: not split, the plan says why, the run still matches. */
/* Attention left unfused (MatMul, Mul by the scale, Add the mask, Softmax, MatMul): both
   forms of K^T, 5 heads (uneven); a per-head mask is refused */
static void test_tp_att_unfused(void) {
    static const tp_att_opts u1 = {40, 5, 5, 8, 0, 1, 1, 0, 0, 1}, u2 = {40, 5, 5, 8, 1, 1, 0, 1, 0, 2};
    static const tp_att_opts per_head = {32, 4, 4, 8, 0, 1, 3, 0, 0, 1};
    static const int all[3] = {1, 1, 1};
    infer_model *m;
    tp_att_case("unfused, K^T of the reshape", &u1, all);
    tp_att_case("unfused, K^T of K", &u2, all);
    if ((m = tp_attention(&per_head))) {
        infer_tp_stats st;
        CHECK(tp_compare(m, bs, 2, 2, NULL, &st, 0) == 0);
        CHECK_EQ_INT(st.n_attention_split, 0);
        infer_model_free(m);
    }
}

static void test_tp_att_gqa(void) {
    static const tp_att_opts q2 = {64, 8, 2, 8, 1, 0, 0, 0, 0, 0}, q4 = {64, 8, 4, 8, 0, 1, 1, 0, 0, 0}, few = {32, 2, 2, 16, 0, 1, 0, 0, 0, 0};
    static const int want2[3] = {1, 0, 1}, want4[3] = {1, 1, 1}, want_few[3] = {1, 0, 0};
    tp_att_case("gqa 8/2 heads", &q2, want2);
    tp_att_case("gqa 8/4 heads", &q4, want4);
    tp_att_case("mha 2 heads", &few, want_few);
}

/* Blocks the partitioner must not split by heads: the plan says why, the run still matches */
static void test_tp_att_refusals(void) {
    static const tp_att_opts per_head = {32, 4, 4, 8, 0, 1, 3, 0, 0, 0}, q_out = {32, 4, 4, 8, 0, 1, 1, 0, 1, 0};
    static const tp_att_opts q3 = {32, 4, 4, 8, 0, 0, 0, 0, 1, 0};
    const tp_att_opts *cases[3] = {&per_head, &q_out, &q3};
    const char *why[3] = {"not split by heads: its mask differs per head",
                          "not split by heads: a tensor in it is read elsewhere or is an output",
                          "not split by heads: a tensor in it is read elsewhere or is an output"};
    int i;
    for (i = 0; i < 3; i++) {
        infer_model *m = tp_attention(cases[i]);
        infer_session_options so;
        infer_session *s = NULL;
        infer_tp_stats st;
        CHECK(m != NULL);
        if (!m) continue;
        CHECK(tp_compare(m, bs, 2, 2, NULL, &st, 0) == 0);
        CHECK_EQ_INT(st.n_attention_split, 0);
        memset(&so, 0, sizeof so);
        so.dims = bs, so.n_dims = 2, so.n_threads = 1, so.tp = 2;
        CHECK_OK(infer_session_create(m, &so, &s));
        if (s && !strstr(infer_session_tp_plan(s), why[i])) printf("%s", infer_session_tp_plan(s));
        CHECK(s && strstr(infer_session_tp_plan(s), why[i]) != NULL);
        infer_session_free(s);
        infer_model_free(m);
    }
}

/* -- allocation failures -- */

/* Fails allocation N for N = 1, 2, ... while a session splits an attention layer over 2
   devices: OUT_OF_MEMORY with a message each time, every allocation freed, and once all
   of them succeed, the heads are split. */
static void test_tp_allocation_failures(void) {
    static const tp_att_opts o = {32, 4, 4, 8, 1, 1, 1, 1, 0, 0};
    infer_model *m = tp_attention(&o);
    long k, total = -1;
    CHECK(m != NULL);
    for (k = 1; m && k < 5000 && total < 0; k++) {
        test_counter c = {0, 0, 0};
        infer_session_options so;
        infer_session *s = NULL;
        infer_status st;
        memset(&so, 0, sizeof so);
        so.dims = bs, so.n_dims = 2, so.n_threads = 1, so.tp = 2;
        so.allocator.alloc = test_count_alloc, so.allocator.free = test_count_free, so.allocator.user = &c;
        c.fail_at = k;
        st = infer_session_create(m, &so, &s);
        if (st == INFER_STATUS_OK) {
            infer_tp_stats ts;
            infer_session_get_tp_stats(s, &ts);
            CHECK(c.fail_at == k); /* all allocations done before reaching k */
            CHECK_EQ_INT(ts.n_attention_split, 1);
            total = k - 1;
        } else if (st != INFER_STATUS_OUT_OF_MEMORY || !strstr(infer_last_error(), "out of memory")) {
            printf("  failing allocation %ld: %s \"%s\"\n", k, infer_status_name(st), infer_last_error());
            test__failed_checks++;
        }
        infer_session_free(s);
        if (c.allocs != c.frees) {
            printf("  failing allocation %ld: %ld allocations, %ld frees\n", k, c.allocs, c.frees);
            test__failed_checks++;
        }
    }
    CHECK(total > 0);
    infer_model_free(m);
}

/* The exported BERT or GPT-2 (two layers of 4 heads, 2 + 1 + 1 at tp = 3); no_fuse:
   converted without the graph passes, so attention is MatMul(Q, K^T), Div, Add mask (BERT)
   or Where (GPT-2), Softmax, MatMul with V, and the biases Adds: still split by heads, one
   all-reduce per block (their MLPs, GELU and bias unfused, are not recognised as pairs but
   split as two layers with an all-gather each). */
static void test_tp_real(const char *path, const char *what, int no_fuse) {
    infer_model *m = tp_onnx_passes(path, no_fuse);
    int tp;
    if (!m) {
        test__skip_reason = "make models first";
        return;
    }
    for (tp = 2; tp <= 4; tp++) {
        infer_tp_stats st;
        memset(&st, 0, sizeof st);
        CHECK(tp_compare(m, bs, 2, tp, NULL, &st, tp == 2 && (!no_fuse || getenv("TP_VERBOSE"))) == 0);
        CHECK(st.n_split >= 8);
        CHECK_EQ_INT(st.n_attention_split, 2);
        if (no_fuse) CHECK_EQ_INT(st.n_allreduce, 2);
        else CHECK(st.n_allreduce >= 4); /* one per attention and MLP block */
        /* uneven shards: at most one more head (64 x 16 per projection) or column per layer */
        CHECK(st.device_weight_bytes <= st.split_weight_bytes / (size_t)tp + st.replicated_weight_bytes +
                                            (size_t)st.n_split * 4 * (64 * 16 + 64));
        if (tp != 3 && !no_fuse)
            CHECK(st.device_weight_bytes <= st.split_weight_bytes / (size_t)tp + st.replicated_weight_bytes);
        printf("  %s%s tp=%d: %d layers split, %d all-reduce, %d all-gather, %zu bytes per run; weights %zu of %zu "
               "per device\n", what, no_fuse ? " unfused" : "", tp, st.n_split, st.n_allreduce, st.n_allgather,
               st.comm_bytes, st.device_weight_bytes, st.weight_bytes);
    }
    infer_model_free(m);
}
static void test_tp_bert(void) { test_tp_real("build/models/bert/model.onnx", "bert", 0); }
static void test_tp_gpt2(void) { test_tp_real("build/models/gpt2/model.onnx", "gpt2", 0); }
static void test_tp_unfused(void) {
    test_tp_real("build/models/bert/model.onnx", "bert", 1);
    test_tp_real("build/models/gpt2/model.onnx", "gpt2", 1);
}

/* The bundled digits CNN: a Conv split by output channels (32: uneven over 3) with an
   all-gather, and its classifier, Gemm (transB) -> Relu -> Gemm, as an MLP pair. */
static void test_tp_cnn(void) {
    infer_model *m = tp_onnx_passes("models/digits/digits.onnx", 0);
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
    RUN(test_tp_att_bert);
    RUN(test_tp_att_gpt2);
    RUN(test_tp_att_gqa);
    RUN(test_tp_att_unfused);
    RUN(test_tp_att_refusals);
    RUN(test_tp_allocation_failures);
    RUN(test_tp_bert);
    RUN(test_tp_gpt2);
    RUN(test_tp_unfused);
    RUN(test_tp_cnn);
    RUN(test_tp_refusals);
    return test_finish();
}
