/* The ONNX reader and the converter on good and hostile input: a model written here
   with a small protobuf writer, then truncated at every length, given wrong wire types,
   lengths past the end, huge counts, and external data that tries to leave its folder. */
#include <sys/stat.h>
#include <unistd.h>

#include "../tools/convert.h"
#include "test.h"

/* -- a protobuf writer, just enough for these tests -- */

typedef struct pbuf {
    uint8_t b[1 << 16];
    size_t n;
} pbuf;

static void pb_varint(pbuf *p, uint64_t v) {
    do {
        uint8_t c = (uint8_t)(v & 0x7F);
        v >>= 7;
        p->b[p->n++] = (uint8_t)(c | (v ? 0x80 : 0));
    } while (v);
}
static void pb_key(pbuf *p, int field, int wire) { pb_varint(p, (uint64_t)field << 3 | (uint64_t)wire); }
static void pb_bytes(pbuf *p, int field, const void *d, size_t n) {
    pb_key(p, field, 2);
    pb_varint(p, n);
    memcpy(p->b + p->n, d, n);
    p->n += n;
}
static void pb_str(pbuf *p, int field, const char *s) { pb_bytes(p, field, s, strlen(s)); }
static void pb_msg(pbuf *p, int field, const pbuf *m) { pb_bytes(p, field, m->b, m->n); }
static void pb_int(pbuf *p, int field, uint64_t v) {
    pb_key(p, field, 0);
    pb_varint(p, v);
}

/* ValueInfoProto: name, float tensor of the given dims ("N" = a symbolic dim) */
static void value_info(pbuf *out, int field, const char *name, int n, const char *const *dims) {
    pbuf vi, type, tensor, shape, dim;
    int i;
    memset(&shape, 0, sizeof shape);
    for (i = 0; i < n; i++) {
        memset(&dim, 0, sizeof dim);
        if (dims[i][0] >= '0' && dims[i][0] <= '9') pb_int(&dim, 1, (uint64_t)atoi(dims[i]));
        else pb_str(&dim, 2, dims[i]);
        pb_msg(&shape, 1, &dim);
    }
    memset(&tensor, 0, sizeof tensor);
    pb_int(&tensor, 1, 1); /* FLOAT */
    pb_msg(&tensor, 2, &shape);
    memset(&type, 0, sizeof type);
    pb_msg(&type, 1, &tensor);
    memset(&vi, 0, sizeof vi);
    pb_str(&vi, 1, name);
    pb_msg(&vi, 2, &type);
    pb_msg(out, field, &vi);
}

/* y = Relu(x + b) with b an initializer of 3 floats: raw_data, float_data or external */
static size_t write_model(uint8_t *dst, int init_kind, const char *ext_location, const char *ext_offset) {
    static pbuf model, graph, node, init, ext;
    const char *xd[2] = {"N", "3"};
    const float b[3] = {1.0f, -2.0f, 0.5f};
    int i;
    memset(&model, 0, sizeof model);
    memset(&graph, 0, sizeof graph);
    memset(&init, 0, sizeof init);
    pb_int(&init, 1, 3);  /* dims */
    pb_int(&init, 2, 1);  /* FLOAT */
    pb_str(&init, 8, "b");
    if (init_kind == 0) pb_bytes(&init, 9, b, sizeof b);
    if (init_kind == 1)
        for (i = 0; i < 3; i++) { /* float_data, not packed */
            pb_key(&init, 4, 5);
            memcpy(init.b + init.n, &b[i], 4);
            init.n += 4;
        }
    if (init_kind == 2) {
        memset(&ext, 0, sizeof ext);
        pb_str(&ext, 1, "location");
        pb_str(&ext, 2, ext_location);
        pb_msg(&init, 13, &ext);
        if (ext_offset) {
            memset(&ext, 0, sizeof ext);
            pb_str(&ext, 1, "offset");
            pb_str(&ext, 2, ext_offset);
            pb_msg(&init, 13, &ext);
        }
        pb_int(&init, 14, 1); /* EXTERNAL */
    }
    memset(&node, 0, sizeof node);
    pb_str(&node, 1, "x");
    pb_str(&node, 1, "b");
    pb_str(&node, 2, "s");
    pb_str(&node, 3, "add");
    pb_str(&node, 4, "Add");
    pb_msg(&graph, 1, &node);
    memset(&node, 0, sizeof node);
    pb_str(&node, 1, "s");
    pb_str(&node, 2, "y");
    pb_str(&node, 3, "relu");
    pb_str(&node, 4, "Relu");
    pb_msg(&graph, 1, &node);
    pb_str(&graph, 2, "g");
    pb_msg(&graph, 5, &init);
    value_info(&graph, 11, "x", 2, xd);
    value_info(&graph, 12, "y", 2, xd);
    pb_int(&model, 1, 8); /* ir_version */
    pb_str(&model, 2, "test_onnx");
    {
        pbuf op;
        memset(&op, 0, sizeof op);
        pb_str(&op, 1, "");
        pb_int(&op, 2, 17);
        pb_msg(&model, 8, &op);
    }
    pb_msg(&model, 7, &graph);
    memcpy(dst, model.b, model.n);
    return model.n;
}

static void write_file(const char *path, const void *d, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(d, 1, n, f);
    fclose(f);
}

/* Converts `path`, runs it on x = [2][3] and checks y = relu(x + b). */
static void convert_and_run(const char *path) {
    infer_builder *b = NULL;
    char err[2048];
    infer_dim dim = {"N", 2};
    convert_options o;
    void *file = NULL;
    size_t n = 0;
    infer_model *m = NULL;
    infer_session *s = NULL;
    infer_session_options so;
    float x[6] = {0, 1, 2, -3, 4, -5}, y[6];
    const float bb[3] = {1, -2, 0.5f};
    infer_tensor in = {"x", INFER_DTYPE_F32, 2, {2, 3}, x, sizeof x}, out = {"y", INFER_DTYPE_UNDEFINED, 0, {0}, y, sizeof y};
    int i;
    memset(&o, 0, sizeof o);
    CHECK_OK(convert_onnx(path, &o, &b, NULL, err, sizeof err));
    if (!b) {
        printf("  %s\n", err);
        return;
    }
    CHECK_OK(infer_builder_serialize(b, NULL, 0, &n));
    CHECK(posix_memalign(&file, 64, n) == 0);
    CHECK_OK(infer_builder_serialize(b, file, n, &n));
    CHECK_OK(infer_model_load_memory(file, n, NULL, &m));
    memset(&so, 0, sizeof so);
    so.dims = &dim, so.n_dims = 1, so.n_threads = 1;
    if (m) CHECK_OK(infer_session_create(m, &so, &s));
    if (s) {
        CHECK_OK(infer_run(s, &in, 1, &out, 1));
        for (i = 0; i < 6; i++) CHECK_NEAR(y[i], fmax(0, x[i] + bb[i % 3]), 0);
    }
    infer_session_free(s);
    infer_model_free(m);
    infer_builder_free(b);
    free(file);
}

static void test_good_models(void) {
    static uint8_t buf[1 << 16];
    float b[3] = {1, -2, 0.5f};
    mkdir("build/onnx_test", 0755);
    write_file("build/onnx_test/raw.onnx", buf, write_model(buf, 0, NULL, NULL));
    convert_and_run("build/onnx_test/raw.onnx");
    write_file("build/onnx_test/typed.onnx", buf, write_model(buf, 1, NULL, NULL));
    convert_and_run("build/onnx_test/typed.onnx");
    write_file("build/onnx_test/weights.bin", b, sizeof b);
    write_file("build/onnx_test/external.onnx", buf, write_model(buf, 2, "weights.bin", NULL));
    convert_and_run("build/onnx_test/external.onnx");
}

static void expect_bad(const char *what, const char *path, infer_status want, const char *phrase) {
    infer_builder *b = NULL;
    char err[2048];
    infer_status st = convert_onnx(path, NULL, &b, NULL, err, sizeof err);
    if (st != want || !strstr(err, phrase)) {
        printf("  %s: got %s \"%s\"; wanted %s with \"%s\"\n", what, infer_status_name(st), err, infer_status_name(want), phrase);
        test__failed_checks++;
    }
    CHECK(b == NULL);
    infer_builder_free(b);
}

static void test_external_data_stays_inside(void) {
    static uint8_t buf[1 << 16];
    float b[3] = {1, -2, 0.5f};
    mkdir("build/onnx_test", 0755);
    mkdir("build/onnx_test/sub", 0755);
    write_file("build/onnx_test/secret.bin", b, sizeof b);
    write_file("build/onnx_test/sub/up.onnx", buf, write_model(buf, 2, "../secret.bin", NULL));
    expect_bad("dot-dot", "build/onnx_test/sub/up.onnx", INFER_STATUS_BAD_FILE, "leaves the model's folder");
    write_file("build/onnx_test/sub/abs.onnx", buf, write_model(buf, 2, "/etc/passwd", NULL));
    expect_bad("absolute", "build/onnx_test/sub/abs.onnx", INFER_STATUS_BAD_FILE, "leaves the model's folder");
    remove("build/onnx_test/sub/link.bin");
    CHECK(symlink("../secret.bin", "build/onnx_test/sub/link.bin") == 0);
    write_file("build/onnx_test/sub/link.onnx", buf, write_model(buf, 2, "link.bin", NULL));
    expect_bad("symlink out", "build/onnx_test/sub/link.onnx", INFER_STATUS_BAD_FILE, "leaves the model's folder");
    write_file("build/onnx_test/weights.bin", b, sizeof b);
    write_file("build/onnx_test/past.onnx", buf, write_model(buf, 2, "weights.bin", "8"));
    expect_bad("past the end", "build/onnx_test/past.onnx", INFER_STATUS_BAD_FILE, "12 bytes at offset 8, but the file has 12");
    write_file("build/onnx_test/missing.onnx", buf, write_model(buf, 2, "nothing.bin", NULL));
    expect_bad("missing", "build/onnx_test/missing.onnx", INFER_STATUS_BAD_FILE, "nothing.bin");
    write_file("build/onnx_test/neg.onnx", buf, write_model(buf, 2, "weights.bin", "-4"));
    expect_bad("negative offset", "build/onnx_test/neg.onnx", INFER_STATUS_BAD_FILE, "is not a number");
}

/* Every prefix of a valid model: an error or (for prefixes that happen to parse) a result,
   never a crash or an over-read (run under ASan). */
static void test_truncations(void) {
    static uint8_t buf[1 << 16];
    size_t n = write_model(buf, 0, NULL, NULL), len;
    int errors = 0;
    mkdir("build/onnx_test", 0755);
    for (len = 0; len < n; len++) {
        infer_builder *b = NULL;
        char err[2048];
        write_file("build/onnx_test/trunc.onnx", buf, len);
        if (convert_onnx("build/onnx_test/trunc.onnx", NULL, &b, NULL, err, sizeof err) != INFER_STATUS_OK) {
            errors++;
            CHECK(err[0] != '\0');
        }
        infer_builder_free(b);
    }
    printf("  %zu truncations: %d refused with a message, the rest parsed as shorter models\n", n, errors);
    CHECK(errors > (int)n / 2);
}

/* Random byte and bit damage: never a crash. */
static void test_mutations(void) {
    static uint8_t buf[1 << 16], bad[1 << 16];
    size_t n = write_model(buf, 0, NULL, NULL);
    int i, refused = 0;
    test_seed(99);
    mkdir("build/onnx_test", 0755);
    for (i = 0; i < 3000; i++) {
        infer_builder *b = NULL;
        char err[2048];
        int k, flips = (int)test_int(1, 4);
        memcpy(bad, buf, n);
        for (k = 0; k < flips; k++) {
            size_t at = (size_t)test_int(0, (long long)n - 1);
            if (test_int(0, 1)) bad[at] ^= (uint8_t)(1u << test_int(0, 7));
            else bad[at] = (uint8_t)test_int(0, 255);
        }
        write_file("build/onnx_test/mut.onnx", bad, n);
        if (convert_onnx("build/onnx_test/mut.onnx", NULL, &b, NULL, err, sizeof err) != INFER_STATUS_OK) refused++;
        infer_builder_free(b);
    }
    printf("  3000 damaged models: %d refused, %d converted\n", refused, 3000 - refused);
}

static void test_hostile_fields(void) {
    pbuf p;
    mkdir("build/onnx_test", 0755);
    /* a length past the end */
    memset(&p, 0, sizeof p);
    pb_key(&p, 7, 2);
    pb_varint(&p, 1000000);
    write_file("build/onnx_test/len.onnx", p.b, p.n);
    expect_bad("length past end", "build/onnx_test/len.onnx", INFER_STATUS_BAD_FILE, "ModelProto.graph");
    /* the wrong wire type for the graph */
    memset(&p, 0, sizeof p);
    pb_int(&p, 7, 5);
    write_file("build/onnx_test/wire.onnx", p.b, p.n);
    expect_bad("wire type", "build/onnx_test/wire.onnx", INFER_STATUS_BAD_FILE, "ModelProto.graph");
    /* a group wire type */
    memset(&p, 0, sizeof p);
    pb_key(&p, 30, 3);
    write_file("build/onnx_test/group.onnx", p.b, p.n);
    expect_bad("group", "build/onnx_test/group.onnx", INFER_STATUS_BAD_FILE, "field 30 runs past the end");
    /* an 11-byte varint */
    memset(&p, 0, sizeof p);
    memset(p.b, 0xFF, 11);
    p.n = 11;
    write_file("build/onnx_test/varint.onnx", p.b, p.n);
    expect_bad("varint", "build/onnx_test/varint.onnx", INFER_STATUS_BAD_FILE, "bad field key");
    /* not a model at all / no graph */
    write_file("build/onnx_test/empty.onnx", "", 0);
    expect_bad("empty", "build/onnx_test/empty.onnx", INFER_STATUS_BAD_FILE, "has no graph");
    expect_bad("missing file", "build/onnx_test/does-not-exist.onnx", INFER_STATUS_BAD_FILE, "cannot open");
    /* a tensor with huge dims and a tiny raw_data */
    {
        pbuf model, graph, init;
        memset(&init, 0, sizeof init);
        pb_int(&init, 1, (uint64_t)1 << 40);
        pb_int(&init, 1, (uint64_t)1 << 40);
        pb_int(&init, 2, 1);
        pb_str(&init, 8, "huge");
        pb_bytes(&init, 9, "abcd", 4);
        memset(&graph, 0, sizeof graph);
        pb_msg(&graph, 5, &init);
        memset(&model, 0, sizeof model);
        pb_msg(&model, 7, &graph);
        write_file("build/onnx_test/huge.onnx", model.b, model.n);
        expect_bad("huge dims", "build/onnx_test/huge.onnx", INFER_STATUS_BAD_FILE, "tensor 'huge'");
    }
    /* a tensor file for the test-data reader */
    {
        onnx_tensor t;
        char err[512];
        memset(&p, 0, sizeof p);
        pb_int(&p, 1, 2);
        pb_int(&p, 2, 7); /* INT64 */
        pb_key(&p, 7, 2); /* packed int64_data: -1, 5 */
        pb_varint(&p, 11);
        pb_varint(&p, (uint64_t)-1);
        pb_varint(&p, 5);
        write_file("build/onnx_test/t.pb", p.b, p.n);
        CHECK(onnx_load_tensor("build/onnx_test/t.pb", &t, err, sizeof err));
        CHECK(t.data_type == 7 && t.n_dims == 1 && t.dims[0] == 2 && t.data_bytes == 16);
        if (t.data) CHECK(((const int64_t *)t.data)[0] == -1 && ((const int64_t *)t.data)[1] == 5);
        onnx_tensor_free(&t);
        p.n -= 1; /* cut the packed field short */
        write_file("build/onnx_test/t2.pb", p.b, p.n);
        CHECK(!onnx_load_tensor("build/onnx_test/t2.pb", &t, err, sizeof err) && strstr(err, "TensorProto"));
    }
}

static void test_unsupported_listed(void) {
    pbuf model, graph, node;
    const char *d[1] = {"1"};
    infer_builder *b = NULL;
    char err[2048];
    int i;
    memset(&graph, 0, sizeof graph);
    for (i = 0; i < 3; i++) {
        char name[8];
        memset(&node, 0, sizeof node);
        pb_str(&node, 1, i ? "t" : "x");
        pb_str(&node, 2, i == 0 ? "t" : i == 1 ? "u" : "y");
        snprintf(name, sizeof name, "n%d", i);
        pb_str(&node, 3, name);
        pb_str(&node, 4, i == 1 ? "Relu" : "FancyOp");
        pb_msg(&graph, 1, &node);
    }
    value_info(&graph, 11, "x", 1, d);
    value_info(&graph, 12, "y", 1, d);
    memset(&model, 0, sizeof model);
    pb_msg(&model, 7, &graph);
    mkdir("build/onnx_test", 0755);
    write_file("build/onnx_test/fancy.onnx", model.b, model.n);
    CHECK(convert_onnx("build/onnx_test/fancy.onnx", NULL, &b, NULL, err, sizeof err) == INFER_STATUS_UNSUPPORTED);
    CHECK(strstr(err, "FancyOp (node 'n0')") && strstr(err, "FancyOp (node 'n2')") && !strstr(err, "Relu"));
    infer_builder_free(b);
}


/* The passes on exported models (make models writes them; skipped without them):
   Conv+BN+Clip becomes one Conv; decomposed LayerNorm and GELU are recognised. */
static void test_passes_on_exports(void) {
    static const struct {
        const char *path;
        size_t max_nodes, min_fused;
    } cases[] = {{"build/models/conv_bn/model.onnx", 1, 2},
                 {"build/models/encoder_opset13/model.onnx", 69, 7},
                 {"build/models/gpt2/model.onnx", 114, 12},
                 {"build/models/efficientnet_b0/model.onnx", 125, 65}};
    size_t i;
    FILE *f = fopen(cases[0].path, "rb");
    if (!f) SKIP("no build/models (make models)");
    fclose(f);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        infer_builder *b = NULL;
        convert_stats st;
        char err[2048];
        convert_options o;
        memset(&o, 0, sizeof o);
        CHECK_OK(convert_onnx(cases[i].path, &o, &b, &st, err, sizeof err));
        if (st.infer_nodes > cases[i].max_nodes || st.fused < cases[i].min_fused) {
            printf("  %s: %zu nodes (at most %zu wanted), %zu fused (at least %zu wanted)\n", cases[i].path, st.infer_nodes,
                   cases[i].max_nodes, st.fused, cases[i].min_fused);
            test__failed_checks++;
        }
        infer_builder_free(b);
        o.no_fuse = 1; /* --no-fuse keeps every node */
        CHECK_OK(convert_onnx(cases[i].path, &o, &b, &st, err, sizeof err));
        CHECK(st.fused == 0 && st.infer_nodes > cases[i].max_nodes);
        infer_builder_free(b);
    }
}

int main(void) {
    RUN(test_good_models);
    RUN(test_external_data_stays_inside);
    RUN(test_truncations);
    RUN(test_mutations);
    RUN(test_hostile_fields);
    RUN(test_unsupported_listed);
    RUN(test_passes_on_exports);
    return test_finish();
}
