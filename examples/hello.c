/* examples/hello.c - build a small model in C, save it, load it and run it.

   The model is a two-layer perceptron on a batch of 4-feature rows:
       hidden = Relu(x @ W1 + b1)        x: [batch][4], W1: [4][8]
       y      = Softmax(hidden @ W2 + b2) W2: [8][3]
   with a symbolic `batch` dim that the session binds.
   Usage: hello [PATH.infer]   (default hello.infer in the current folder) */
#include <stdio.h>
#include <string.h>

#include "../infer.h"

static int fail(const char *what) {
    fprintf(stderr, "hello: %s: %s\n", what, infer_last_error());
    return 1;
}

static int build(const char *path) {
    static const float w1[4 * 8] = {0.5f,  -0.2f, 0.1f,  0.7f, -0.3f, 0.2f,  0.4f,  -0.1f, 0.3f,  0.8f,  -0.5f,
                                    0.2f,  0.1f,  -0.6f, 0.3f, 0.5f,  -0.4f, 0.1f,  0.6f,  -0.2f, 0.7f,  0.3f,
                                    -0.1f, 0.2f,  0.2f,  0.4f, -0.3f, 0.1f,  -0.5f, 0.6f,  0.2f,  -0.7f};
    static const float b1[8] = {0.1f, -0.1f, 0.05f, 0.0f, 0.2f, -0.2f, 0.1f, 0.0f};
    static const float w2[8 * 3] = {0.3f, -0.2f, 0.5f, 0.1f, 0.4f, -0.3f, -0.5f, 0.2f, 0.1f, 0.6f, -0.1f, 0.2f,
                                    0.2f, 0.3f,  -0.4f, -0.1f, 0.5f, 0.3f, 0.4f, -0.6f, 0.2f, 0.1f, 0.2f, -0.2f};
    static const float b2[3] = {0.0f, 0.1f, -0.1f};
    const int64_t in_dims[2] = {-1, 4};
    const char *const in_names[2] = {"batch", NULL};
    infer_tensor t[4] = {{"W1", INFER_DTYPE_F32, 2, {4, 8}, (void *)w1, sizeof w1},
                         {"b1", INFER_DTYPE_F32, 1, {8}, (void *)b1, sizeof b1},
                         {"W2", INFER_DTYPE_F32, 2, {8, 3}, (void *)w2, sizeof w2},
                         {"b2", INFER_DTYPE_F32, 1, {3}, (void *)b2, sizeof b2}};
    const char *mm1[2] = {"x", "W1"}, *add1[2] = {"xw1", "b1"}, *relu[1] = {"h0"};
    const char *mm2[2] = {"h", "W2"}, *add2[2] = {"hw2", "b2"}, *sm[1] = {"logits"};
    const char *o_xw1[1] = {"xw1"}, *o_h0[1] = {"h0"}, *o_h[1] = {"h"}, *o_hw2[1] = {"hw2"};
    const char *o_logits[1] = {"logits"}, *o_y[1] = {"probs"};
    infer_attr axis = infer_attr_int("axis", -1);
    infer_builder *b = NULL;
    int i, ok;

    if (infer_builder_create(NULL, &b)) return fail("builder");
    ok = infer_builder_add_input(b, "x", INFER_DTYPE_F32, 2, in_dims, in_names) == INFER_STATUS_OK;
    for (i = 0; ok && i < 4; i++) ok = infer_builder_add_constant(b, &t[i]) == INFER_STATUS_OK;
    ok = ok && !infer_builder_add_node(b, "MatMul", "fc1", mm1, 2, o_xw1, 1, NULL, 0);
    ok = ok && !infer_builder_add_node(b, "Add", "fc1_bias", add1, 2, o_h0, 1, NULL, 0);
    ok = ok && !infer_builder_add_node(b, "Relu", "relu", relu, 1, o_h, 1, NULL, 0);
    ok = ok && !infer_builder_add_node(b, "MatMul", "fc2", mm2, 2, o_hw2, 1, NULL, 0);
    ok = ok && !infer_builder_add_node(b, "Add", "fc2_bias", add2, 2, o_logits, 1, NULL, 0);
    ok = ok && !infer_builder_add_node(b, "Softmax", "softmax", sm, 1, o_y, 1, &axis, 1);
    ok = ok && !infer_builder_add_output(b, "probs");
    ok = ok && !infer_builder_set_metadata(b, "producer", "examples/hello.c");
    ok = ok && !infer_builder_save(b, path);
    infer_builder_free(b);
    return ok ? 0 : fail("building the model");
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "hello.infer";
    infer_model *model = NULL;
    infer_session *sess = NULL;
    infer_dim dims[1] = {{"batch", 2}};
    infer_session_options opt;
    infer_session_stats stats;
    float x[2 * 4] = {1, 2, 3, 4, -1, 0.5f, 2, -3}, y[2 * 3];
    infer_tensor in = {"x", INFER_DTYPE_F32, 2, {2, 4}, x, sizeof x};
    infer_tensor out = {"probs", INFER_DTYPE_UNDEFINED, 0, {0}, y, sizeof y};
    int r, c;

    if (build(path)) return 1;
    printf("wrote %s\n", path);
    if (infer_model_load(path, NULL, &model) != INFER_STATUS_OK) return fail("load");
    memset(&opt, 0, sizeof opt);
    opt.dims = dims;
    opt.n_dims = 1;
    if (infer_session_create(model, &opt, &sess) != INFER_STATUS_OK) {
        infer_model_free(model);
        return fail("session");
    }
    if (infer_run(sess, &in, 1, &out, 1) != INFER_STATUS_OK) {
        fprintf(stderr, "hello: run: %s\n", infer_session_error(sess));
        infer_session_free(sess);
        infer_model_free(model);
        return 1;
    }
    infer_session_get_stats(sess, &stats);
    printf("producer: %s\n", infer_model_metadata_get(model, "producer"));
    printf("output '%s' [%lld, %lld]:\n", out.name, (long long)out.dims[0], (long long)out.dims[1]);
    for (r = 0; r < 2; r++) {
        printf("  row %d:", r);
        for (c = 0; c < 3; c++) printf(" %.6f", y[r * 3 + c]);
        printf("\n");
    }
    printf("arena %zu bytes (lower bound %zu), %zu steps\n", stats.arena_bytes, stats.arena_lower_bound_bytes,
           stats.n_steps);
    infer_session_free(sess);
    infer_model_free(model);
    return 0;
}
