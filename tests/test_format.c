/* .infer format: round trips, every truncation, bit flips, and one broken file per
   validation rule. White-box: it compiles the implementation itself so it can patch
   files at known offsets and re-seal their checksum, to reach each check behind it. */
#define INFER_IMPLEMENTATION
/* A cap the test can lower: the reader compares against the macro's value at run time. */
static unsigned test_max_attrs = 1u << 24;
#define INFER_MAX_ATTRS test_max_attrs
#include "test.h"

/* -- a small model with a bit of everything: inputs with symbolic dims, constants of
      several dtypes, attributes of every kind the op table uses, metadata -- */

static const float W[3 * 4] = {0.5f, -1, 2, 0.25f, 3, -0.5f, 1, 1, -2, 0.75f, 0, 4};
static const int64_t PERM[2] = {1, 0};

/* x: [batch][3] f32  ->  y = Transpose(LeakyRelu(x @ W), perm 1,0)  [4][batch]
                           z = Identity(k)  (a folded copy of the i64 constant k)
                           f = ConstantOfShape([2]) with a u8 tensor value */
static infer_builder *build_model(void) {
    infer_builder *b = NULL;
    const int64_t xd[2] = {-1, 3};
    const char *const xs[2] = {"batch", NULL};
    int64_t kd[1] = {5}, two[1] = {2};
    static const int64_t kv[5] = {-3, 0, 7, INT64_MAX, INT64_MIN};
    static const int64_t shape2[1] = {2};
    static const uint8_t u8v[1] = {42};
    infer_tensor w = {"W", INFER_DTYPE_F32, 2, {3, 4}, (void *)W, sizeof W};
    infer_tensor k = {"k", INFER_DTYPE_I64, 1, {5}, (void *)kv, sizeof kv};
    infer_tensor sh = {"shape2", INFER_DTYPE_I64, 1, {1}, (void *)shape2, sizeof shape2};
    infer_tensor val = {"", INFER_DTYPE_U8, 1, {1}, (void *)u8v, 1};
    infer_attr alpha = infer_attr_float("alpha", 0.125f), perm = infer_attr_ints("perm", PERM, 2),
               value = infer_attr_tensor("value", &val);
    const char *mm[2] = {"x", "W"}, *xw[1] = {"xw"}, *lr[1] = {"lr"}, *y[1] = {"y"}, *kk[1] = {"k"}, *z[1] = {"z"};
    const char *shi[1] = {"shape2"}, *f[1] = {"f"};
    (void)kd;
    (void)two;
    if (infer_builder_create(NULL, &b)) return NULL;
    if (infer_builder_add_input(b, "x", INFER_DTYPE_F32, 2, xd, xs) || infer_builder_add_constant(b, &w) ||
        infer_builder_add_constant(b, &k) || infer_builder_add_constant(b, &sh) ||
        infer_builder_add_node(b, "MatMul", "mm", mm, 2, xw, 1, NULL, 0) ||
        infer_builder_add_node(b, "LeakyRelu", "act", xw, 1, lr, 1, &alpha, 1) ||
        infer_builder_add_node(b, "Transpose", "tr", lr, 1, y, 1, &perm, 1) ||
        infer_builder_add_node(b, "Identity", "id", kk, 1, z, 1, NULL, 0) ||
        infer_builder_add_node(b, "ConstantOfShape", "cos", shi, 1, f, 1, &value, 1) ||
        infer_builder_add_output(b, "y") || infer_builder_add_output(b, "z") || infer_builder_add_output(b, "f") ||
        infer_builder_set_metadata(b, "producer", "test_format") || infer_builder_set_metadata(b, "empty", "")) {
        printf("  build_model: %s\n", infer_last_error());
        infer_builder_free(b);
        return NULL;
    }
    return b;
}

/* A 64-byte aligned buffer of exactly n bytes (so ASan sees any over-read). */
static uint8_t *buf_new(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? n : 1) != 0) return NULL;
    return (uint8_t *)p;
}

static uint8_t *serialize(infer_builder *b, size_t *n) {
    uint8_t *p;
    if (infer_builder_serialize(b, NULL, 0, n)) return NULL;
    p = buf_new(*n);
    if (p && infer_builder_serialize(b, p, *n, n)) {
        free(p);
        return NULL;
    }
    return p;
}

static uint8_t *model_bytes(size_t *n) {
    infer_builder *b = build_model();
    uint8_t *p = b ? serialize(b, n) : NULL;
    infer_builder_free(b);
    return p;
}

/* Re-seals the metadata checksum after a patch. */
static void reseal(uint8_t *p) {
    infer__hash h;
    uint64_t w_off = infer__rd64(p + 48);
    memset(p + INFER__HASH_FIELD, 0, 8);
    infer__hash_init(&h);
    infer__hash_update(&h, p, (size_t)w_off);
    infer__wr64(p + INFER__HASH_FIELD, infer__hash_final(&h));
}

/* Offset/count of a section, read from the table. */
static uint64_t sec_off(const uint8_t *p, int kind) {
    uint32_t i, n = infer__rd32(p + 16);
    for (i = 0; i < n; i++)
        if (infer__rd32(p + 64 + 32 * i) == (uint32_t)kind) return infer__rd64(p + 64 + 32 * i + 8);
    return 0;
}
static uint8_t *sec_entry(uint8_t *p, int kind) {
    uint32_t i, n = infer__rd32(p + 16);
    for (i = 0; i < n; i++)
        if (infer__rd32(p + 64 + 32 * i) == (uint32_t)kind) return p + 64 + 32 * i;
    return NULL;
}

/* Runs the model in p (already loaded as m) once and checks every output. */
static void check_outputs(infer_model *m) {
    infer_session *s = NULL;
    infer_session_options opt;
    infer_dim d = {"batch", 2};
    float x[6] = {1, 2, 3, -1, 0.5f, -2}, y[8];
    int64_t z[5];
    uint8_t f[2];
    infer_tensor in = {"x", INFER_DTYPE_F32, 2, {2, 3}, x, sizeof x};
    infer_tensor out[3] = {{"y", INFER_DTYPE_UNDEFINED, 0, {0}, y, sizeof y},
                           {"z", INFER_DTYPE_UNDEFINED, 0, {0}, z, sizeof z},
                           {"f", INFER_DTYPE_UNDEFINED, 0, {0}, f, sizeof f}};
    int i, j, r;
    memset(&opt, 0, sizeof opt);
    opt.dims = &d;
    opt.n_dims = 1;
    CHECK_OK(infer_session_create(m, &opt, &s));
    if (!s) return;
    CHECK_OK(infer_run(s, &in, 1, out, 3));
    for (j = 0; j < 4; j++)
        for (r = 0; r < 2; r++) {
            double acc = 0;
            for (i = 0; i < 3; i++) acc += (double)x[r * 3 + i] * W[i * 4 + j];
            if (acc < 0) acc *= 0.125;
            CHECK_NEAR(y[j * 2 + r], acc, 1e-5);
        }
    CHECK(z[0] == -3 && z[1] == 0 && z[2] == 7 && z[3] == INT64_MAX && z[4] == INT64_MIN);
    CHECK(f[0] == 42 && f[1] == 42);
    CHECK_EQ_INT(out[0].n_dims, 2);
    CHECK_EQ_INT(out[0].dims[0], 4);
    CHECK_EQ_INT(out[0].dims[1], 2);
    infer_session_free(s);
}

static void test_round_trip(void) {
    size_t n1 = 0, n2 = 0;
    uint8_t *a = model_bytes(&n1), *b = model_bytes(&n2);
    infer_model *m = NULL;
    infer_tensor_info info;
    const char *k, *v;
    CHECK(a && b);
    if (!a || !b) goto done;
    CHECK(n1 == n2 && memcmp(a, b, n1) == 0); /* serialising is deterministic */
    CHECK_EQ_INT(n1 % 64 == 0, 1);
    CHECK_OK(infer_model_load_memory(a, n1, NULL, &m));
    if (!m) goto done;
    CHECK(m->bytes == a); /* aligned buffer: zero-copy */
    /* constants are bit-exact and 64-byte aligned inside the file */
    CHECK(m->tensors[1].data && memcmp(m->tensors[1].data, W, sizeof W) == 0);
    CHECK(((uintptr_t)m->tensors[1].data % 64) == 0);
    CHECK_EQ_INT(infer_model_n_inputs(m), 1);
    CHECK_EQ_INT(infer_model_n_outputs(m), 3);
    CHECK_OK(infer_model_input(m, 0, &info));
    CHECK(!strcmp(info.name, "x") && info.dtype == INFER_DTYPE_F32 && info.n_dims == 2);
    CHECK(info.dims[0] == -1 && info.dim_names[0] && !strcmp(info.dim_names[0], "batch"));
    CHECK(info.dims[1] == 3 && info.dim_names[1] == NULL);
    CHECK_OK(infer_model_output(m, 1, &info));
    CHECK(!strcmp(info.name, "z"));
    CHECK_EQ_INT(infer_model_n_metadata(m), 2);
    CHECK_OK(infer_model_metadata(m, 0, &k, &v));
    CHECK(!strcmp(k, "producer") && !strcmp(v, "test_format"));
    CHECK(!strcmp(infer_model_metadata_get(m, "empty"), ""));
    CHECK(infer_model_metadata_get(m, "missing") == NULL);
    CHECK_STATUS(infer_model_metadata(m, 2, &k, &v), INFER_STATUS_INVALID_ARGUMENT, "out of range");
    check_outputs(m);
    infer_model_free(m);
    /* an unaligned buffer is copied, and the copy works the same */
    {
        uint8_t *u = (uint8_t *)malloc(n1 + 1);
        m = NULL;
        memcpy(u + 1, a, n1);
        CHECK_OK(infer_model_load_memory(u + 1, n1, NULL, &m));
        if (m) {
            CHECK(m->bytes != u + 1);
            check_outputs(m);
        }
        infer_model_free(m);
        free(u);
    }
done:
    free(a);
    free(b);
}

static void test_save_and_load_file(void) {
    infer_builder *b = build_model();
    size_t n = 0;
    uint8_t *mem = b ? serialize(b, &n) : NULL, *disk;
    const char *path = "build/test_format_model.infer";
    infer_model *m = NULL;
    infer_model_options opt;
    FILE *f;
    long size;
    CHECK(b && mem);
    if (!b || !mem) goto done;
    CHECK_OK(infer_builder_save(b, path));
    f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f) goto done;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    disk = (uint8_t *)malloc((size_t)size);
    CHECK(fread(disk, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    CHECK((size_t)size == n && memcmp(disk, mem, n) == 0); /* save == serialize */
    free(disk);
    memset(&opt, 0, sizeof opt);
    opt.verify_weights = 1;
    CHECK_OK(infer_model_load(path, &opt, &m));
    if (m) check_outputs(m);
    infer_model_free(m);
    CHECK_STATUS(infer_model_load("build/no/such/file.infer", NULL, &m), INFER_STATUS_IO, "no/such/file.infer");
    CHECK(m == NULL);
    { /* paths are UTF-8 everywhere (on Windows they go through the "W" file functions), and
         saving over an existing file replaces it */
        const char *u8 = "build/test_format_\xc3\xa9t\xc3\xa9_\xe6\xa8\xa1\xe5\x9e\x8b.infer";
        CHECK_OK(infer_builder_save(b, u8));
        CHECK_OK(infer_builder_save(b, u8));
        CHECK_OK(infer_model_load(u8, NULL, &m));
        if (m) check_outputs(m);
        infer_model_free(m);
        m = NULL;
#ifdef _WIN32 /* the CRT's remove() does not read UTF-8 */
        CHECK(_wremove(L"build/test_format_\u00e9t\u00e9_\u6a21\u578b.infer") == 0);
#else
        CHECK(remove(u8) == 0);
#endif
    }
    CHECK_STATUS(infer_builder_save(b, "build/no/such/dir/x.infer"), INFER_STATUS_IO, "x.infer");
    remove(path);
done:
    infer_builder_free(b);
    free(mem);
}

/* Every prefix of a valid file is refused with a message, never read past. */
static void test_every_truncation(void) {
    size_t n = 0, len;
    uint8_t *a = model_bytes(&n);
    int refused = 0;
    CHECK(a != NULL);
    if (!a) return;
    for (len = 0; len < n; len++) {
        uint8_t *p = buf_new(len);
        infer_model *m = NULL;
        infer_status st;
        memcpy(p, a, len);
        st = infer_model_load_memory(p, len, NULL, &m);
        if (st != INFER_STATUS_OK && m == NULL && infer_last_error()[0]) refused++;
        else printf("  truncation to %zu bytes: %s\n", len, infer_status_name(st));
        infer_model_free(m);
        free(p);
    }
    CHECK_EQ_INT(refused, (long long)n);
    free(a);
}

/* Flips one bit at a time. Outside the weight data every flip is refused; inside, a
   flip is refused when weights are verified, and otherwise still runs safely. */
static void test_bit_flips(void) {
    size_t n = 0, bit, flips = 0, refused_meta = 0, meta_flips = 0, refused_w = 0, w_flips = 0;
    uint8_t *a = model_bytes(&n), *p;
    uint64_t w_off;
    CHECK(a != NULL);
    if (!a) return;
    p = buf_new(n);
    w_off = infer__rd64(a + 48);
    test_seed(7);
    for (bit = 0; bit < 8 * n; bit++) {
        size_t at = bit / 8;
        int verify;
        /* every bit of the metadata area; a sample of the weight data */
        if (at >= w_off && test_int(0, 3) != 0) continue;
        for (verify = 0; verify < 2; verify++) {
            infer_model *m = NULL;
            infer_model_options opt;
            infer_status st;
            memset(&opt, 0, sizeof opt);
            opt.verify_weights = verify;
            memcpy(p, a, n);
            p[at] ^= (uint8_t)(1u << (bit % 8));
            st = infer_model_load_memory(p, n, &opt, &m);
            flips++;
            if (at < w_off) {
                meta_flips++;
                if (st != INFER_STATUS_OK && infer_last_error()[0]) refused_meta++;
                else printf("  flip of bit %zu (byte %zu) accepted\n", bit % 8, at);
            } else if (verify) {
                w_flips++;
                if (st != INFER_STATUS_OK && strstr(infer_last_error(), "weight data checksum")) refused_w++;
                else printf("  weight flip at byte %zu accepted with verify_weights\n", at);
            } else if (m) {
                infer_session *s = NULL; /* different weights, same structure: runs */
                infer_dim d = {"batch", 1};
                infer_session_options so;
                float x[3] = {1, 2, 3}, y[4];
                infer_tensor in = {"x", INFER_DTYPE_F32, 2, {1, 3}, x, sizeof x};
                infer_tensor out = {"y", INFER_DTYPE_UNDEFINED, 0, {0}, y, sizeof y};
                memset(&so, 0, sizeof so);
                so.max_memory_bytes = 1 << 20; /* a flipped shape constant may ask for gigabytes */
                so.dims = &d;
                so.n_dims = 1;
                if (infer_session_create(m, &so, &s) == INFER_STATUS_OK) infer_run(s, &in, 1, &out, 1);
                infer_session_free(s);
            }
            infer_model_free(m);
        }
    }
    printf("  %zu flips: %zu/%zu metadata flips refused, %zu/%zu weight flips refused when verified\n", flips,
           refused_meta, meta_flips, refused_w, w_flips);
    CHECK(flips > 2000);
    CHECK_EQ_INT(refused_meta, (long long)meta_flips);
    CHECK_EQ_INT(refused_w, (long long)w_flips);
    free(p);
    free(a);
}

/* -- one broken file per rule: patch, re-seal, expect a status and a phrase -- */

typedef void (*patch_fn)(uint8_t *p, size_t n);

static void expect_broken(const char *what, patch_fn patch, infer_status want, const char *phrase, int seal) {
    size_t n = 0;
    uint8_t *a = model_bytes(&n);
    infer_model *m = NULL;
    infer_status st;
    if (!a) {
        CHECK(a != NULL);
        return;
    }
    patch(a, n);
    if (seal) reseal(a);
    st = infer_model_load_memory(a, n, NULL, &m);
    if (st != want || !strstr(infer_last_error(), phrase)) {
        printf("  %s: got %s \"%s\"; wanted %s with \"%s\"\n", what, infer_status_name(st), infer_last_error(),
               infer_status_name(want), phrase);
        test__failed_checks++;
    }
    CHECK(m == NULL);
    infer_model_free(m);
    free(a);
}

static void p_cap(uint8_t *p, size_t n) { (void)p, (void)n, test_max_attrs = 2; /* the model has 3 */ }
static void p_magic(uint8_t *p, size_t n) { (void)n, p[1] = 'X'; }
static void p_major(uint8_t *p, size_t n) { (void)n, infer__wr16(p + 8, 2); }
static void p_flags(uint8_t *p, size_t n) { (void)n, infer__wr32(p + 20, 1); }
static void p_file_bytes(uint8_t *p, size_t n) { infer__wr64(p + 24, n + 64); }
static void p_sec_past_end(uint8_t *p, size_t n) { infer__wr64(sec_entry(p, INFER__SEC_NODES) + 16, n); }
static void p_sec_overlap(uint8_t *p, size_t n) {
    (void)n;
    infer__wr64(sec_entry(p, INFER__SEC_REFS) + 8, sec_off(p, INFER__SEC_NODES));
}
static void p_sec_missing(uint8_t *p, size_t n) { (void)n, infer__wr32(sec_entry(p, INFER__SEC_METADATA), 99); }
static void p_sec_twice(uint8_t *p, size_t n) {
    (void)n, infer__wr32(sec_entry(p, INFER__SEC_METADATA), INFER__SEC_OUTPUTS);
}
static void p_dtype(uint8_t *p, size_t n) { (void)n, p[sec_off(p, INFER__SEC_TENSORS) + 128 * 1 + 4] = 200; }
static void p_rank(uint8_t *p, size_t n) { (void)n, p[sec_off(p, INFER__SEC_TENSORS) + 128 * 1 + 5] = 9; }
static void p_dims_overflow(uint8_t *p, size_t n) {
    uint8_t *r = p + sec_off(p, INFER__SEC_TENSORS) + 128 * 1; /* W: [3][4] */
    (void)n;
    infer__wr64(r + 24, (uint64_t)INFER_MAX_DIM_VALUE);
    infer__wr64(r + 32, (uint64_t)INFER_MAX_DIM_VALUE);
}
static void p_dim_negative(uint8_t *p, size_t n) {
    (void)n, infer__wr64(p + sec_off(p, INFER__SEC_TENSORS) + 128 * 1 + 24, (uint64_t)-5);
}
static void p_data_past_end(uint8_t *p, size_t n) {
    (void)n, infer__wr64(p + sec_off(p, INFER__SEC_TENSORS) + 128 * 1 + 8, 1u << 20);
}
static void p_data_size(uint8_t *p, size_t n) {
    (void)n, infer__wr64(p + sec_off(p, INFER__SEC_TENSORS) + 128 * 1 + 16, 44);
}
static void p_name_offset(uint8_t *p, size_t n) {
    (void)n, infer__wr32(p + sec_off(p, INFER__SEC_TENSORS) + 128 * 1, 0x7FFFFFFF);
}
/* node records: mm, act, tr, id, cos; refs: mm(x,W | xw) act(xw | lr) tr(lr | y) ... */
static void p_input_index(uint8_t *p, size_t n) {
    (void)n, infer__wr32(p + sec_off(p, INFER__SEC_REFS) + 4 * 0, 1000);
}
static void p_self_loop(uint8_t *p, size_t n) { /* act reads lr, its own output */
    (void)n, infer__wr32(p + sec_off(p, INFER__SEC_REFS) + 4 * 3, infer__rd32(p + sec_off(p, INFER__SEC_REFS) + 4 * 4));
}
static void p_cycle(uint8_t *p, size_t n) { /* mm reads lr, made later by act */
    (void)n, infer__wr32(p + sec_off(p, INFER__SEC_REFS) + 4 * 0, infer__rd32(p + sec_off(p, INFER__SEC_REFS) + 4 * 4));
}
static void p_two_producers(uint8_t *p, size_t n) { /* tr writes xw too */
    (void)n, infer__wr32(p + sec_off(p, INFER__SEC_REFS) + 4 * 6, infer__rd32(p + sec_off(p, INFER__SEC_REFS) + 4 * 2));
}
static void p_output_unproduced(uint8_t *p, size_t n) { /* drop the last node, which made 'f' */
    uint8_t *e = sec_entry(p, INFER__SEC_NODES);
    (void)n;
    infer__wr64(e + 24, infer__rd64(e + 24) - 1);
    infer__wr64(e + 16, infer__rd64(e + 16) - 32);
}
static void p_unknown_op(uint8_t *p, size_t n) {
    uint32_t off = infer__rd32(p + sec_off(p, INFER__SEC_NODES) + 4);
    (void)n;
    memcpy(p + sec_off(p, INFER__SEC_STRINGS) + off, "MatMux", 6);
}
static void p_arity(uint8_t *p, size_t n) { (void)n, infer__wr32(p + sec_off(p, INFER__SEC_NODES) + 12, 1); }
static void p_attr_blob(uint8_t *p, size_t n) { /* perm's 2 values moved past attr_data */
    uint8_t *a = p + sec_off(p, INFER__SEC_ATTRS) + 24 * 1;
    (void)n;
    infer__wr64(a + 8, 1000);
}
static void p_attr_type(uint8_t *p, size_t n) {
    (void)n, infer__wr32(p + sec_off(p, INFER__SEC_ATTRS) + 24 * 0 + 4, 1); /* alpha as INT */
}
static void p_attr_unknown(uint8_t *p, size_t n) {
    uint32_t off = infer__rd32(p + sec_off(p, INFER__SEC_ATTRS));
    (void)n;
    memcpy(p + sec_off(p, INFER__SEC_STRINGS) + off, "alphx", 5);
}
static void p_strings_unterminated(uint8_t *p, size_t n) {
    uint8_t *e = sec_entry(p, INFER__SEC_STRINGS);
    (void)n;
    p[infer__rd64(e + 8) + infer__rd64(e + 16) - 1] = 'x';
}
static void p_input_is_constant(uint8_t *p, size_t n) { (void)n, infer__wr32(p + sec_off(p, INFER__SEC_INPUTS), 1); }
static void p_meta_hash(uint8_t *p, size_t n) { (void)n, p[INFER__HASH_FIELD] ^= 1; }

static void test_broken_files(void) {
    expect_broken("bad magic", p_magic, INFER_STATUS_BAD_FILE, "bad magic", 0);
    expect_broken("newer major", p_major, INFER_STATUS_UNSUPPORTED, "version 2.0 is newer than this reader's 1.0", 1);
    expect_broken("flags", p_flags, INFER_STATUS_BAD_FILE, "flags 0x1", 1);
    expect_broken("file size", p_file_bytes, INFER_STATUS_BAD_FILE, "truncated or extended", 1);
    expect_broken("section past end", p_sec_past_end, INFER_STATUS_BAD_FILE, "section 2 (nodes): range", 1);
    expect_broken("sections overlap", p_sec_overlap, INFER_STATUS_BAD_FILE, "overlap", 1);
    expect_broken("section missing", p_sec_missing, INFER_STATUS_BAD_FILE, "unknown kind 99", 1);
    expect_broken("section twice", p_sec_twice, INFER_STATUS_BAD_FILE, "appears twice", 1);
    expect_broken("count over cap", p_cap, INFER_STATUS_BAD_FILE, "3 attributes, more than the limit 2 (INFER_MAX_ATTRS)", 1);
    test_max_attrs = 1u << 24;
    expect_broken("dtype", p_dtype, INFER_STATUS_BAD_FILE, "tensor 1 'W': dtype 200 is out of range", 1);
    expect_broken("rank", p_rank, INFER_STATUS_BAD_FILE, "tensor 1 'W': rank 9 is over the maximum 8", 1);
    expect_broken("dims overflow", p_dims_overflow, INFER_STATUS_BAD_FILE, "'W': dims and dtype f32 need an overflowing", 1);
    expect_broken("negative dim", p_dim_negative, INFER_STATUS_BAD_FILE, "'W': dim 0 is -5", 1);
    expect_broken("data past end", p_data_past_end, INFER_STATUS_BAD_FILE, "'W': data at 1048576 + 48", 1);
    expect_broken("data size", p_data_size, INFER_STATUS_BAD_FILE, "'W': dims and dtype f32 need a different number", 1);
    expect_broken("name offset", p_name_offset, INFER_STATUS_BAD_FILE, "tensor 1: name offset", 1);
    expect_broken("input index", p_input_index, INFER_STATUS_BAD_FILE, "node 0 'mm': input 0 refers to tensor 1000", 1);
    expect_broken("self-loop", p_self_loop, INFER_STATUS_BAD_FILE, "'act': reads its own output 'lr'", 1);
    expect_broken("cycle", p_cycle, INFER_STATUS_BAD_FILE, "'mm': reads 'lr' before node 1 'act' produces it", 1);
    expect_broken("two producers", p_two_producers, INFER_STATUS_BAD_FILE, "'xw' is also produced by node 0 'mm'", 1);
    expect_broken("output never produced", p_output_unproduced, INFER_STATUS_BAD_FILE, "graph output 'f' is never produced", 1);
    expect_broken("unknown op", p_unknown_op, INFER_STATUS_UNSUPPORTED, "op type 'MatMux' is not supported", 1);
    expect_broken("arity", p_arity, INFER_STATUS_BAD_FILE, "MatMul takes 2 to 3 inputs, not 1", 1);
    expect_broken("attr blob", p_attr_blob, INFER_STATUS_BAD_FILE, "attribute 1 'perm': 1000 values", 1);
    expect_broken("attr type", p_attr_type, INFER_STATUS_BAD_FILE, "attribute 'alpha' has the wrong type", 1);
    expect_broken("attr unknown", p_attr_unknown, INFER_STATUS_UNSUPPORTED, "LeakyRelu has no attribute 'alphx'", 1);
    expect_broken("strings", p_strings_unterminated, INFER_STATUS_BAD_FILE, "string table must start and end", 1);
    expect_broken("input is constant", p_input_is_constant, INFER_STATUS_BAD_FILE, "graph input 0 'W' is a constant", 1);
    expect_broken("meta checksum", p_meta_hash, INFER_STATUS_BAD_FILE, "metadata checksum mismatch", 0);
}

static void test_weights_checksum(void) {
    size_t n = 0;
    uint8_t *a = model_bytes(&n);
    infer_model *m = NULL;
    infer_model_options opt;
    if (!a) return;
    a[infer__rd64(a + 48) + 5] ^= 0x10; /* inside W */
    memset(&opt, 0, sizeof opt);
    CHECK_OK(infer_model_load_memory(a, n, &opt, &m)); /* not verified: loads */
    infer_model_free(m);
    m = NULL;
    opt.verify_weights = 1;
    CHECK_STATUS(infer_model_load_memory(a, n, &opt, &m), INFER_STATUS_BAD_FILE, "weight data checksum mismatch");
    CHECK(m == NULL);
    free(a);
}

static void test_hash_properties(void) {
    uint8_t buf[100];
    uint64_t h0, h1;
    size_t i;
    infer__hash h;
    for (i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 7);
    h0 = infer__hash_bytes(buf, sizeof buf);
    /* streaming in odd pieces gives the same value */
    infer__hash_init(&h);
    infer__hash_update(&h, buf, 3);
    infer__hash_update(&h, buf + 3, 40);
    infer__hash_update(&h, buf + 43, 57);
    CHECK(infer__hash_final(&h) == h0);
    /* length matters even when the tail is zero */
    buf[99] = 0;
    h1 = infer__hash_bytes(buf, 99);
    CHECK(h1 != infer__hash_bytes(buf, 100));
}

/* Issue 11: a big-endian build refuses to load, with a message that says why. The check
   takes the byte order as an argument, so both answers are tested here; the compile-time
   flag must agree with the bytes of an integer at run time. */
static void test_byte_order_check(void) {
    uint32_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    CHECK(INFER__BIG_ENDIAN == (first == 0));
    CHECK(infer__byte_order_check(0, "m.infer") == INFER_STATUS_OK);
    CHECK_STATUS(infer__byte_order_check(1, "m.infer"), INFER_STATUS_UNSUPPORTED, "m.infer: this build of infer.h is for a big-endian CPU");
    CHECK(strstr(infer_last_error(), "little-endian") != NULL);
}

int main(void) {
    RUN(test_byte_order_check);
    RUN(test_round_trip);
    RUN(test_save_and_load_file);
    RUN(test_every_truncation);
    RUN(test_bit_flips);
    RUN(test_broken_files);
    RUN(test_weights_checksum);
    RUN(test_hash_properties);
    return test_finish();
}
