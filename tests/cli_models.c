/* tests/cli_models.c - writes the models, inputs and expected outputs that
   tests/test_cli.sh runs infer-run on, so the CLI tests need no converter.

   cli_models DIR [SLOW_ITEMS]
   Models (built with the builder API):
     mlp.infer    x [batch,16] -> logits [batch,5], probs [batch,5]   (MatMul, Add, Relu, Softmax)
     conv.infer   img [batch,1,8,8] -> y [batch,3]   (Conv, Relu, GlobalAveragePool, Flatten, Gemm)
     fixed.infer  x [4,16] -> y [4,5]                 (a fixed batch)
     two.infer    a [batch,seq], b [batch,seq] -> sum [batch,seq]   (two inputs, a second symbolic dim)
     slow.infer   x [batch,256] -> y [batch,256]     (16 x MatMul + Tanh: slow enough to kill mid-run)
   Inputs: x.npy [100,16], img.npy [50,1,8,8], a.npy and b.npy [30,7], slow.npy [SLOW_ITEMS,256]
   (default 4000), x_part1.npy [40,16] and x_part2.npy [60,16] (x split in two).
   Expected outputs, computed with the C API in one run over all items (fixed: runs of 4):
     mlp_logits.npy, mlp_probs.npy, conv_y.npy, fixed_y.npy, two_sum.npy, slow_y.npy
   Bad inputs in DIR/bad/: f64.npy (wrong dtype), shape.npy (wrong item shape), fortran.npy,
   bigendian.npy, truncated.npy, notnpy.npy, empty.npy (no items), rank.npy (wrong rank),
   broken.png, and notmodel.infer (a model file that is not one).
   Images in DIR/images/: a_grey.png and b_grey.jpg (flat grey 128, 4x4); grey.npy is
   the same picture as infer-run feeds it to conv.infer with --image-size 8,8. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../infer.h"
#include "../tools/npy.h"

static char dir[512];
static unsigned long long rng = 88172645463325252ull;

static float frand(void) { /* uniform in [-1, 1) */
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static float *rand_floats(size_t n, float scale) {
    float *p = (float *)malloc(n * sizeof *p);
    size_t i;
    if (!p) exit(1);
    for (i = 0; i < n; i++) p[i] = scale * frand();
    return p;
}

static const char *at(const char *name) {
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void die(const char *what, const char *detail) {
    fprintf(stderr, "cli_models: %s: %s\n", what, detail);
    exit(1);
}

static void save(const char *name, infer_dtype t, int n_dims, const int64_t *dims, const void *data) {
    char err[1024];
    if (!npy_save(at(name), t, n_dims, dims, data, err, sizeof err)) die(name, err);
}

static void check(infer_status st, const char *what) {
    if (st != INFER_STATUS_OK) die(what, infer_last_error());
}

static void constant(infer_builder *b, const char *name, int n_dims, const int64_t *dims, float scale) {
    infer_tensor t;
    size_t n = 1;
    int i;
    memset(&t, 0, sizeof t);
    for (i = 0; i < n_dims; i++) n *= (size_t)dims[i];
    t.name = name;
    t.dtype = INFER_DTYPE_F32;
    t.n_dims = n_dims;
    memcpy(t.dims, dims, sizeof(int64_t) * (size_t)n_dims);
    t.data = rand_floats(n, scale);
    t.data_bytes = n * sizeof(float);
    check(infer_builder_add_constant(b, &t), name);
    free(t.data);
}

static void node(infer_builder *b, const char *op, const char *in0, const char *in1, const char *in2, const char *out,
                 const infer_attr *attrs, size_t n_attrs) {
    const char *ins[3] = {in0, in1, in2};
    check(infer_builder_add_node(b, op, NULL, ins, in2 ? 3 : in1 ? 2 : 1, &out, 1, attrs, n_attrs), op);
}

/* Runs a model over all n items of its inputs in runs of `batch` items (symbolic batch
   bound to it unless fixed) and saves each output as DIR/<prefix>_<output>.npy. */
static void expect(const char *model_name, const char *prefix, size_t n_in, const char *const *in_names,
                   float *const *in_data, const int64_t *item_dims, int item_rank, size_t n, size_t batch,
                   const infer_dim *extra, size_t n_extra) {
    infer_model *m = NULL;
    infer_session *s = NULL;
    infer_session_options opt;
    infer_dim dims[4];
    infer_tensor in[4], out[4];
    infer_tensor_info info;
    size_t n_out, i, k, item_in = 1, item_out[4], first;
    float *all[4];
    char name[256];
    int d;
    check(infer_model_load(at(model_name), NULL, &m), model_name);
    n_out = infer_model_n_outputs(m);
    memset(&opt, 0, sizeof opt);
    dims[0].name = "batch";
    dims[0].value = (int64_t)batch;
    for (i = 0; i < n_extra; i++) dims[1 + i] = extra[i];
    infer_model_input(m, 0, &info);
    opt.dims = dims;
    opt.n_dims = info.dim_names[0] ? 1 + n_extra : 0; /* a fixed batch binds nothing */
    opt.n_threads = 1;
    check(infer_session_create(m, &opt, &s), model_name);
    for (d = 0; d < item_rank; d++) item_in *= (size_t)item_dims[d];
    for (k = 0; k < n_out; k++) {
        infer_session_output(s, k, &info);
        item_out[k] = 1;
        for (d = 1; d < info.n_dims; d++) item_out[k] *= (size_t)info.dims[d];
        all[k] = (float *)malloc(n * item_out[k] * sizeof(float));
        if (!all[k]) exit(1);
    }
    for (first = 0; first < n; first += batch) {
        for (i = 0; i < n_in; i++) {
            memset(&in[i], 0, sizeof in[i]);
            in[i].name = in_names[i];
            in[i].dtype = INFER_DTYPE_F32;
            in[i].n_dims = 1 + item_rank;
            in[i].dims[0] = (int64_t)batch;
            memcpy(in[i].dims + 1, item_dims, sizeof(int64_t) * (size_t)item_rank);
            in[i].data = in_data[i] + first * item_in;
            in[i].data_bytes = batch * item_in * sizeof(float);
        }
        for (k = 0; k < n_out; k++) {
            memset(&out[k], 0, sizeof out[k]);
            infer_model_output(m, k, &info);
            out[k].name = info.name;
            out[k].data = all[k] + first * item_out[k];
            out[k].data_bytes = batch * item_out[k] * sizeof(float);
        }
        check(infer_run(s, in, n_in, out, n_out), model_name);
    }
    for (k = 0; k < n_out; k++) {
        out[k].dims[0] = (int64_t)n;
        infer_model_output(m, k, &info);
        snprintf(name, sizeof name, "%s_%s.npy", prefix, info.name);
        save(name, INFER_DTYPE_F32, out[k].n_dims, out[k].dims, all[k]);
        free(all[k]);
    }
    infer_session_free(s);
    infer_model_free(m);
}

static infer_builder *begin(void) {
    infer_builder *b = NULL;
    check(infer_builder_create(NULL, &b), "builder");
    check(infer_builder_set_metadata(b, "producer", "tests/cli_models.c"), "metadata");
    return b;
}

static void finish(infer_builder *b, const char *name) {
    check(infer_builder_save(b, at(name)), name);
    infer_builder_free(b);
}

static void write_bytes(const char *name, const void *p, size_t n) {
    FILE *f = fopen(at(name), "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) die(name, "cannot write");
}

/* A .npy whose header says what `dict` says (padded), with `data_bytes` zero bytes after. */
static void write_npy_raw(const char *name, const char *dict, size_t data_bytes) {
    char *buf;
    size_t len = strlen(dict), total = (10 + len + 1 + 63) / 64 * 64;
    if (!(buf = (char *)calloc(1, total + data_bytes))) exit(1);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)((total - 10) & 0xFF);
    buf[9] = (char)((total - 10) >> 8);
    memcpy(buf + 10, dict, len);
    memset(buf + 10 + len, ' ', total - 10 - len - 1);
    buf[total - 1] = '\n';
    write_bytes(name, buf, total + data_bytes);
    free(buf);
}

int main(int argc, char **argv) {
    const int64_t dyn2[2] = {-1, 16}, dyn4[4] = {-1, 1, 8, 8}, fix2[2] = {4, 16}, two2[2] = {-1, -1}, slow2[2] = {-1, 256};
    const char *const sym1[2] = {"batch", NULL}, *const sym4[4] = {"batch", NULL, NULL, NULL};
    const char *const sym_two[2] = {"batch", "seq"};
    size_t slow_items = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 4000, i;
    infer_builder *b;
    float *x, *img, *a, *bb, *slow;
    int64_t d[4];
    if (argc < 2 || strlen(argv[1]) > 400) {
        fprintf(stderr, "usage: cli_models DIR [SLOW_ITEMS]\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "%s", argv[1]);
    mkdir(dir, 0777);
    mkdir(at("bad"), 0777);

    /* mlp: logits = Relu(x W1 + b1) W2 + b2; probs = Softmax(logits) */
    b = begin();
    check(infer_builder_add_input(b, "x", INFER_DTYPE_F32, 2, dyn2, sym1), "x");
    d[0] = 16, d[1] = 32;
    constant(b, "W1", 2, d, 0.5f);
    d[0] = 32;
    constant(b, "b1", 1, d, 0.1f);
    d[0] = 32, d[1] = 5;
    constant(b, "W2", 2, d, 0.5f);
    d[0] = 5;
    constant(b, "b2", 1, d, 0.1f);
    node(b, "MatMul", "x", "W1", NULL, "h0", NULL, 0);
    node(b, "Add", "h0", "b1", NULL, "h1", NULL, 0);
    node(b, "Relu", "h1", NULL, NULL, "h", NULL, 0);
    node(b, "MatMul", "h", "W2", NULL, "l0", NULL, 0);
    node(b, "Add", "l0", "b2", NULL, "logits", NULL, 0);
    {
        infer_attr axis = infer_attr_int("axis", -1);
        node(b, "Softmax", "logits", NULL, NULL, "probs", &axis, 1);
    }
    check(infer_builder_add_output(b, "logits"), "out");
    check(infer_builder_add_output(b, "probs"), "out");
    finish(b, "mlp.infer");

    /* conv: y = Gemm(Flatten(GlobalAveragePool(Relu(Conv(img, K, kb)))), W, c) */
    b = begin();
    check(infer_builder_add_input(b, "img", INFER_DTYPE_F32, 4, dyn4, sym4), "img");
    d[0] = 6, d[1] = 1, d[2] = 3, d[3] = 3;
    constant(b, "K", 4, d, 0.5f);
    d[0] = 6;
    constant(b, "kb", 1, d, 0.1f);
    d[0] = 6, d[1] = 3;
    constant(b, "W", 2, d, 0.5f);
    d[0] = 3;
    constant(b, "c", 1, d, 0.1f);
    {
        const int64_t pads[4] = {1, 1, 1, 1};
        infer_attr p = infer_attr_ints("pads", pads, 4);
        node(b, "Conv", "img", "K", "kb", "c0", &p, 1);
    }
    node(b, "Relu", "c0", NULL, NULL, "c1", NULL, 0);
    node(b, "GlobalAveragePool", "c1", NULL, NULL, "g", NULL, 0);
    node(b, "Flatten", "g", NULL, NULL, "f", NULL, 0);
    node(b, "Gemm", "f", "W", "c", "y", NULL, 0);
    check(infer_builder_add_output(b, "y"), "out");
    finish(b, "conv.infer");

    /* fixed: y = x W, x [4,16] */
    b = begin();
    check(infer_builder_add_input(b, "x", INFER_DTYPE_F32, 2, fix2, NULL), "x");
    d[0] = 16, d[1] = 5;
    constant(b, "W", 2, d, 0.5f);
    node(b, "MatMul", "x", "W", NULL, "y", NULL, 0);
    check(infer_builder_add_output(b, "y"), "out");
    finish(b, "fixed.infer");

    /* two: sum = (a + b) * a */
    b = begin();
    check(infer_builder_add_input(b, "a", INFER_DTYPE_F32, 2, two2, sym_two), "a");
    check(infer_builder_add_input(b, "b", INFER_DTYPE_F32, 2, two2, sym_two), "b");
    node(b, "Add", "a", "b", NULL, "s0", NULL, 0);
    node(b, "Mul", "s0", "a", NULL, "sum", NULL, 0);
    check(infer_builder_add_output(b, "sum"), "out");
    finish(b, "two.infer");

    /* slow: 16 x (Tanh(h W_i)) */
    b = begin();
    check(infer_builder_add_input(b, "x", INFER_DTYPE_F32, 2, slow2, sym1), "x");
    for (i = 0; i < 16; i++) {
        char w[16], h0[16], h1[16], prev[16];
        snprintf(w, sizeof w, "W%zu", i);
        snprintf(prev, sizeof prev, i ? "h%zu" : "x", i);
        snprintf(h0, sizeof h0, "m%zu", i + 1);
        snprintf(h1, sizeof h1, i == 15 ? "y" : "h%zu", i + 1);
        d[0] = 256, d[1] = 256;
        constant(b, w, 2, d, 0.1f);
        node(b, "MatMul", prev, w, NULL, h0, NULL, 0);
        node(b, "Tanh", h0, NULL, NULL, h1, NULL, 0);
    }
    check(infer_builder_add_output(b, "y"), "out");
    finish(b, "slow.infer");

    /* inputs */
    x = rand_floats(100 * 16, 1.0f);
    d[0] = 100, d[1] = 16;
    save("x.npy", INFER_DTYPE_F32, 2, d, x);
    d[0] = 40;
    save("x_part1.npy", INFER_DTYPE_F32, 2, d, x);
    d[0] = 60;
    save("x_part2.npy", INFER_DTYPE_F32, 2, d, x + 40 * 16);
    img = rand_floats(50 * 64, 1.0f);
    d[0] = 50, d[1] = 1, d[2] = 8, d[3] = 8;
    save("img.npy", INFER_DTYPE_F32, 4, d, img);
    a = rand_floats(30 * 7, 1.0f);
    bb = rand_floats(30 * 7, 1.0f);
    d[0] = 30, d[1] = 7;
    save("a.npy", INFER_DTYPE_F32, 2, d, a);
    save("b.npy", INFER_DTYPE_F32, 2, d, bb);
    slow = rand_floats(slow_items * 256, 1.0f);
    d[0] = (int64_t)slow_items, d[1] = 256;
    save("slow.npy", INFER_DTYPE_F32, 2, d, slow);

    /* expected outputs, through the C API */
    {
        const char *xn[1] = {"x"}, *imgn[1] = {"img"}, *abn[2] = {"a", "b"};
        float *xd[1] = {x}, *imgd[1] = {img}, *abd[2] = {a, bb}, *sd[1] = {slow};
        const int64_t i16[1] = {16}, i188[3] = {1, 8, 8}, i7[1] = {7}, i256[1] = {256};
        const infer_dim seq = {"seq", 7};
        expect("mlp.infer", "mlp", 1, xn, xd, i16, 1, 100, 100, NULL, 0);
        expect("conv.infer", "conv", 1, imgn, imgd, i188, 3, 50, 50, NULL, 0);
        expect("fixed.infer", "fixed", 1, xn, xd, i16, 1, 100, 4, NULL, 0);
        expect("two.infer", "two", 2, abn, abd, i7, 1, 30, 30, &seq, 1);
        expect("slow.infer", "slow", 1, xn, sd, i256, 1, slow_items, slow_items, NULL, 0);
    }

    /* bad inputs */
    {
        double f64[10 * 16];
        static const char junk[] = "this is not a numpy file at all, just text\n";
        static const char garbage_model[] = "\x89INF\r\n\x1a\n but then nonsense that is not a model at all";
        FILE *f;
        char buf[4096];
        size_t n;
        memset(f64, 0, sizeof f64);
        d[0] = 10, d[1] = 16;
        save("bad/f64.npy", INFER_DTYPE_F64, 2, d, f64);
        d[1] = 15;
        save("bad/shape.npy", INFER_DTYPE_F32, 2, d, x);
        d[0] = 160;
        save("bad/rank.npy", INFER_DTYPE_F32, 1, d, x);
        d[0] = 0, d[1] = 16;
        save("bad/empty.npy", INFER_DTYPE_F32, 2, d, x);
        write_npy_raw("bad/fortran.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (10, 16), }", 640);
        write_npy_raw("bad/bigendian.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (10, 16), }", 640);
        write_bytes("bad/notnpy.npy", junk, sizeof junk - 1);
        write_bytes("bad/notmodel.infer", garbage_model, sizeof garbage_model - 1);
        f = fopen(at("x.npy"), "rb");
        if (!f) die("x.npy", "cannot read");
        n = fread(buf, 1, 128 + 100, f); /* the header and 100 of 6400 data bytes */
        fclose(f);
        write_bytes("bad/truncated.npy", buf, n);
    }
    /* images: a flat grey (128) 4x4 picture as PNG and JPEG, the same as .npy the way
       infer-run scales it (value / 255, resized to 8x8), and a broken PNG */
    {
        static const char png[] =
            "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x04\x00\x00\x00\x04"
            "\x08\x00\x00\x00\x00\x8c\x9a\xc1\xa2\x00\x00\x00\x0e\x49\x44\x41\x54\x78\xda\x63\x68\x00\x02"
            "\x06\x54\x02\x00\x50\x14\x08\x01\x6d\x4d\xe0\x49\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";
        static const char jpg[] =
    "\xff\xd8\xff\xe0\x00\x10\x4a\x46\x49\x46\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb\x00\x43"
    "\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\xff\xc0\x00\x0b\x08\x00\x04"
    "\x00\x04\x01\x01\x11\x00\xff\xc4\x00\x1f\x00\x00\x01\x05\x01\x01\x01\x01\x01\x01\x00\x00\x00\x00"
    "\x00\x00\x00\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\xff\xc4\x00\xb5\x10\x00\x02\x01\x03"
    "\x03\x02\x04\x03\x05\x05\x04\x04\x00\x00\x01\x7d\x01\x02\x03\x00\x04\x11\x05\x12\x21\x31\x41\x06"
    "\x13\x51\x61\x07\x22\x71\x14\x32\x81\x91\xa1\x08\x23\x42\xb1\xc1\x15\x52\xd1\xf0\x24\x33\x62\x72"
    "\x82\x09\x0a\x16\x17\x18\x19\x1a\x25\x26\x27\x28\x29\x2a\x34\x35\x36\x37\x38\x39\x3a\x43\x44\x45"
    "\x46\x47\x48\x49\x4a\x53\x54\x55\x56\x57\x58\x59\x5a\x63\x64\x65\x66\x67\x68\x69\x6a\x73\x74\x75"
    "\x76\x77\x78\x79\x7a\x83\x84\x85\x86\x87\x88\x89\x8a\x92\x93\x94\x95\x96\x97\x98\x99\x9a\xa2\xa3"
    "\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xb2\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xc2\xc3\xc4\xc5\xc6\xc7\xc8\xc9"
    "\xca\xd2\xd3\xd4\xd5\xd6\xd7\xd8\xd9\xda\xe1\xe2\xe3\xe4\xe5\xe6\xe7\xe8\xe9\xea\xf1\xf2\xf3\xf4"
    "\xf5\xf6\xf7\xf8\xf9\xfa\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00\x2b\xff\xd9";
        float grey[64];
        mkdir(at("images"), 0777);
        write_bytes("images/a_grey.png", png, sizeof png - 1);
        write_bytes("images/b_grey.jpg", jpg, sizeof jpg - 1);
        write_bytes("bad/broken.png", png, 40);
        for (i = 0; i < 64; i++) grey[i] = 128.0f / 255.0f;
        d[0] = 1, d[1] = 1, d[2] = 8, d[3] = 8;
        save("grey.npy", INFER_DTYPE_F32, 4, d, grey);
    }
    free(x);
    free(img);
    free(a);
    free(bb);
    free(slow);
    printf("cli_models: wrote the models, inputs and expected outputs in %s\n", dir);
    return 0;
}
