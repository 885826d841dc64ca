/* Resource limits: a model whose tensors would need terabytes gets a clear error with the
   numbers (OUT_OF_MEMORY under the session's max_memory_bytes, or BAD_FILE / SHAPE when
   the sizes overflow or are out of range), never an attempt to allocate them. The file-side
   caps (dims, rank, counts, a 4 TB constant in a 2 KB file) are in tests/data/bad/. */
#include "test.h"

#define TB ((int64_t)1 << 40)

/* Serialises b into a 64-byte aligned buffer and loads it (buffer returned in *buf). */
static infer_model *load(infer_builder *b, void **buf) {
    size_t n = 0;
    infer_model *m = NULL;
    *buf = NULL;
    if (infer_builder_serialize(b, NULL, 0, &n) || posix_memalign(buf, 64, n) != 0 ||
        infer_builder_serialize(b, *buf, n, &n) || infer_model_load_memory(*buf, n, NULL, &m)) {
        printf("  load: %s\n", infer_last_error());
        return NULL;
    }
    return m;
}

/* An allocator that refuses anything over 1 GB, as a small machine would: the library
   must take the NULL and return OUT_OF_MEMORY (no cap set, so it does try). */
static size_t refused_bytes;
static void *small_alloc(void *user, size_t bytes) {
    (void)user;
    if (bytes > ((size_t)1 << 30)) {
        refused_bytes = bytes;
        return NULL;
    }
    return malloc(bytes);
}
static void small_free(void *user, void *p) { (void)user, free(p); }

/* y = Relu(x), x: [2^20][2^20] f32 (4 TB) fixed in the file */
static void test_terabyte_activation(void) {
    infer_builder *b = NULL;
    const int64_t xd[2] = {1 << 20, 1 << 20};
    const char *x[1] = {"x"}, *y[1] = {"y"};
    void *buf;
    infer_model *m;
    infer_session *s = (infer_session *)&buf; /* a sentinel: a failing create must set it NULL */
    infer_session_options opt;
    size_t arena = 0;
    CHECK_OK(infer_builder_create(NULL, &b));
    CHECK_OK(infer_builder_add_input(b, "x", INFER_DTYPE_F32, 2, xd, NULL));
    CHECK_OK(infer_builder_add_node(b, "Relu", "relu", x, 1, y, 1, NULL, 0));
    CHECK_OK(infer_builder_add_output(b, "y"));
    m = load(b, &buf);
    infer_builder_free(b);
    CHECK(m != NULL);
    if (!m) goto done;
    memset(&opt, 0, sizeof opt);
    /* planning alone allocates no arena: it reports the 4 TB */
    CHECK_OK(infer_session_arena_bytes(m, &opt, &arena));
    CHECK(arena >= (size_t)4 * TB);
    /* with a cap, creation fails before allocating, naming both numbers */
    opt.max_memory_bytes = (size_t)1 << 30;
    CHECK_STATUS(infer_session_create(m, &opt, &s), INFER_STATUS_OUT_OF_MEMORY, "over the session's memory cap of 1073741824 bytes");
    CHECK(s == NULL);
    CHECK(strstr(infer_last_error(), "4398046511104") != NULL);
    printf("  4 TB activation: %s\n", infer_last_error());
    /* no cap, and the allocation fails: a clear error, nothing leaked */
    opt.max_memory_bytes = 0;
    opt.allocator.alloc = small_alloc;
    opt.allocator.free = small_free;
    CHECK_STATUS(infer_session_create(m, &opt, &s), INFER_STATUS_OUT_OF_MEMORY, "4398046511104");
    CHECK(s == NULL && refused_bytes >= (size_t)4 * TB);
    printf("  4 TB activation, allocator refuses: %s\n", infer_last_error());
    infer_model_free(m);
done:
    free(buf);
}

/* f = ConstantOfShape([2^20, 2^20]): constant folding would make a 4 TB f32 tensor */
static void test_terabyte_folded_constant(void) {
    infer_builder *b = NULL;
    static const int64_t shape[2] = {1 << 20, 1 << 20};
    infer_tensor sh = {"shape", INFER_DTYPE_I64, 1, {2}, (void *)shape, sizeof shape};
    const char *in[1] = {"shape"}, *f[1] = {"f"};
    void *buf;
    infer_model *m;
    infer_session *s = (infer_session *)&buf; /* a sentinel: a failing create must set it NULL */
    infer_session_options opt;
    CHECK_OK(infer_builder_create(NULL, &b));
    CHECK_OK(infer_builder_add_constant(b, &sh));
    CHECK_OK(infer_builder_add_node(b, "ConstantOfShape", "cos", in, 1, f, 1, NULL, 0));
    CHECK_OK(infer_builder_add_output(b, "f"));
    m = load(b, &buf);
    infer_builder_free(b);
    CHECK(m != NULL);
    if (!m) goto done;
    memset(&opt, 0, sizeof opt);
    opt.max_memory_bytes = (size_t)256 << 20;
    CHECK_STATUS(infer_session_create(m, &opt, &s), INFER_STATUS_OUT_OF_MEMORY, "268435456");
    printf("  4 TB folded constant: %s\n", infer_last_error());
    opt.max_memory_bytes = 0;
    opt.allocator.alloc = small_alloc;
    opt.allocator.free = small_free;
    CHECK_STATUS(infer_session_create(m, &opt, &s), INFER_STATUS_OUT_OF_MEMORY, "");
    CHECK(s == NULL);
    printf("  4 TB folded constant, allocator refuses: %s\n", infer_last_error());
    CHECK(s == NULL);
    infer_model_free(m);
done:
    free(buf);
}

/* Symbolic dims bound to huge values: [batch][2^40] with batch = 2^40 overflows size_t
   byte counts; batch = 2^41 is over INFER_MAX_DIM_VALUE. Both refused with the value. */
static void test_huge_symbolic_dims(void) {
    infer_builder *b = NULL;
    const int64_t xd[2] = {-1, TB};
    const char *const xs[2] = {"batch", NULL};
    const char *x[1] = {"x"}, *y[1] = {"y"};
    void *buf;
    infer_model *m;
    infer_session *s = NULL;
    infer_session_options opt;
    infer_dim d = {"batch", TB};
    infer_status st;
    CHECK_OK(infer_builder_create(NULL, &b));
    CHECK_OK(infer_builder_add_input(b, "x", INFER_DTYPE_F32, 2, xd, xs));
    CHECK_OK(infer_builder_add_node(b, "Relu", "relu", x, 1, y, 1, NULL, 0));
    CHECK_OK(infer_builder_add_output(b, "y"));
    m = load(b, &buf);
    infer_builder_free(b);
    CHECK(m != NULL);
    if (!m) goto done;
    memset(&opt, 0, sizeof opt);
    opt.dims = &d;
    opt.n_dims = 1;
    st = infer_session_create(m, &opt, &s);
    CHECK(st != INFER_STATUS_OK && s == NULL);
    if (st == INFER_STATUS_OK || !strstr(infer_last_error(), "1099511627776"))
        printf("  batch 2^40: %s \"%s\"\n", infer_status_name(st), infer_last_error());
    CHECK(strstr(infer_last_error(), "1099511627776") != NULL);
    printf("  batch 2^40: %s: %s\n", infer_status_name(st), infer_last_error());
    infer_session_free(s);
    s = NULL;
    d.value = 2 * TB;
    st = infer_session_create(m, &opt, &s);
    CHECK(st != INFER_STATUS_OK && s == NULL);
    if (st == INFER_STATUS_OK || !strstr(infer_last_error(), "2199023255552"))
        printf("  batch 2^41: %s \"%s\"\n", infer_status_name(st), infer_last_error());
    CHECK(strstr(infer_last_error(), "2199023255552") != NULL);
    printf("  batch 2^41: %s: %s\n", infer_status_name(st), infer_last_error());
    infer_session_free(s);
    infer_model_free(m);
done:
    free(buf);
}

int main(void) {
    RUN(test_terabyte_activation);
    RUN(test_terabyte_folded_constant);
    RUN(test_huge_symbolic_dims);
    return test_finish();
}
