/* tests/make_bad_files.c - writes tests/data/bad/: one broken .infer file per validation
   rule of the reader (infer.h section 3), each named for the rule it breaks.

   Usage: make_bad_files [DIR]   (default tests/data/bad; `make bad-files` runs it)

   Every file starts as the same small valid model (the one tests/test_format.c uses: a
   bit of everything), gets one patch at a known offset and, unless the rule is about the
   checksum itself, a re-sealed metadata checksum, so that the load reaches exactly the
   check behind the patch. tests/test_bad_files.c loads each one and expects its status
   and a phrase of its message. White-box: it compiles the implementation itself. */
#define INFER_IMPLEMENTATION
#include "../infer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const float W[3 * 4] = {0.5f, -1, 2, 0.25f, 3, -0.5f, 1, 1, -2, 0.75f, 0, 4};
static const int64_t PERM[2] = {1, 0};

/* x: [batch][3] f32  ->  y = Transpose(LeakyRelu(x @ W), perm 1,0)  [4][batch]
                           z = Identity(k)
                           f = ConstantOfShape(shape2) with a u8 tensor value
   refs:  mm(x, W | xw) act(xw | lr) tr(lr | y) id(k | z) cos(shape2 | f)  = 0..10
   attrs: 0 alpha (FLOAT), 1 perm (INTS), 2 value (TENSOR) */
static infer_builder *build_model(void) {
    infer_builder *b = NULL;
    const int64_t xd[2] = {-1, 3};
    const char *const xs[2] = {"batch", NULL};
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
    if (infer_builder_create(NULL, &b)) return NULL;
    if (infer_builder_add_input(b, "x", INFER_DTYPE_F32, 2, xd, xs) || infer_builder_add_constant(b, &w) ||
        infer_builder_add_constant(b, &k) || infer_builder_add_constant(b, &sh) ||
        infer_builder_add_node(b, "MatMul", "mm", mm, 2, xw, 1, NULL, 0) ||
        infer_builder_add_node(b, "LeakyRelu", "act", xw, 1, lr, 1, &alpha, 1) ||
        infer_builder_add_node(b, "Transpose", "tr", lr, 1, y, 1, &perm, 1) ||
        infer_builder_add_node(b, "Identity", "id", kk, 1, z, 1, NULL, 0) ||
        infer_builder_add_node(b, "ConstantOfShape", "cos", shi, 1, f, 1, &value, 1) ||
        infer_builder_add_output(b, "y") || infer_builder_add_output(b, "z") || infer_builder_add_output(b, "f") ||
        infer_builder_set_metadata(b, "producer", "make_bad_files") || infer_builder_set_metadata(b, "empty", "")) {
        fprintf(stderr, "make_bad_files: build_model: %s\n", infer_last_error());
        infer_builder_free(b);
        return NULL;
    }
    return b;
}

/* -- offsets inside the file -- */

static uint8_t *sec_entry(uint8_t *p, int kind) {
    uint32_t i, n = infer__rd32(p + 16);
    for (i = 0; i < n; i++)
        if (infer__rd32(p + 64 + 32 * i) == (uint32_t)kind) return p + 64 + 32 * i;
    return NULL;
}
static uint64_t sec_off(uint8_t *p, int kind) { return infer__rd64(sec_entry(p, kind) + 8); }
static uint8_t *node(uint8_t *p, int i) { return p + sec_off(p, INFER__SEC_NODES) + 32 * i; }
static uint8_t *attr(uint8_t *p, int i) { return p + sec_off(p, INFER__SEC_ATTRS) + 24 * i; }
static uint8_t *ref(uint8_t *p, int i) { return p + sec_off(p, INFER__SEC_REFS) + 4 * i; }
static const char *str(uint8_t *p, uint32_t off) { return (const char *)p + sec_off(p, INFER__SEC_STRINGS) + off; }
/* index of the tensor named `name` ("" finds the unnamed one) */
static uint32_t tensor_index(uint8_t *p, const char *name) {
    uint64_t i, n = infer__rd64(sec_entry(p, INFER__SEC_TENSORS) + 24);
    for (i = 0; i < n; i++)
        if (!strcmp(str(p, infer__rd32(p + sec_off(p, INFER__SEC_TENSORS) + 128 * i)), name)) return (uint32_t)i;
    fprintf(stderr, "make_bad_files: no tensor '%s'\n", name);
    exit(1);
}
static uint8_t *tensor(uint8_t *p, const char *name) {
    return p + sec_off(p, INFER__SEC_TENSORS) + 128 * (size_t)tensor_index(p, name);
}

static void reseal(uint8_t *p) {
    infer__hash h;
    uint8_t head[64];
    uint64_t w_off = infer__rd64(p + 48);
    memcpy(head, p, 64);
    memset(head + INFER__HASH_FIELD, 0, 8);
    infer__hash_init(&h);
    infer__hash_update(&h, head, 64);
    infer__hash_update(&h, p + 64, (size_t)w_off - 64);
    infer__wr64(p + INFER__HASH_FIELD, infer__hash_final(&h));
}

/* -- the patches; n is the file size and may be changed (truncation) -- */

static void p_too_small(uint8_t *p, size_t *n) { (void)p, *n = 32; }
static void p_magic(uint8_t *p, size_t *n) { (void)n, p[1] = 'X'; }
static void p_major(uint8_t *p, size_t *n) { (void)n, infer__wr16(p + 8, 2); }
static void p_major0(uint8_t *p, size_t *n) { (void)n, infer__wr16(p + 8, 0); }
static void p_header_bytes(uint8_t *p, size_t *n) { (void)n, infer__wr32(p + 12, 32); }
static void p_flags(uint8_t *p, size_t *n) { (void)n, infer__wr32(p + 20, 1); }
static void p_truncated(uint8_t *p, size_t *n) { (void)p, *n -= 64; }
static void p_weights_off(uint8_t *p, size_t *n) {
    (void)n, infer__wr64(p + 48, infer__rd64(p + 48) + 8), infer__wr64(p + 56, infer__rd64(p + 56) - 8);
}
static void p_n_sections(uint8_t *p, size_t *n) { (void)n, infer__wr32(p + 16, 33); }
static void p_table_past(uint8_t *p, size_t *n) { infer__wr64(p + 48, 64), infer__wr64(p + 56, *n - 64); }
static void p_sec_reserved(uint8_t *p, size_t *n) { (void)n, infer__wr32(sec_entry(p, INFER__SEC_NODES) + 4, 1); }
static void p_sec_past_end(uint8_t *p, size_t *n) { infer__wr64(sec_entry(p, INFER__SEC_NODES) + 16, *n); }
static void p_sec_misaligned(uint8_t *p, size_t *n) {
    (void)n, infer__wr64(sec_entry(p, INFER__SEC_NODES) + 8, sec_off(p, INFER__SEC_NODES) + 4);
}
static void p_sec_unknown(uint8_t *p, size_t *n) { (void)n, infer__wr32(sec_entry(p, INFER__SEC_METADATA), 99); }
static void p_sec_twice(uint8_t *p, size_t *n) { (void)n, infer__wr32(sec_entry(p, INFER__SEC_METADATA), INFER__SEC_OUTPUTS); }
static void p_sec_records(uint8_t *p, size_t *n) {
    uint8_t *e = sec_entry(p, INFER__SEC_NODES);
    (void)n, infer__wr64(e + 24, infer__rd64(e + 24) + 1);
}
static void p_sec_missing(uint8_t *p, size_t *n) { /* the builder writes kinds in order: drop the last */
    (void)n, infer__wr32(p + 16, infer__rd32(p + 16) - 1);
}
static void p_sec_overlap(uint8_t *p, size_t *n) {
    (void)n, infer__wr64(sec_entry(p, INFER__SEC_REFS) + 8, sec_off(p, INFER__SEC_NODES));
}
static void p_strings(uint8_t *p, size_t *n) {
    uint8_t *e = sec_entry(p, INFER__SEC_STRINGS);
    (void)n, p[infer__rd64(e + 8) + infer__rd64(e + 16) - 1] = 'x';
}
/* tensors: W is [3][4] f32, a constant */
static void p_t_name(uint8_t *p, size_t *n) { (void)n, infer__wr32(tensor(p, "W"), 0x7FFFFFFF); }
static void p_t_flags(uint8_t *p, size_t *n) { (void)n, infer__wr16(tensor(p, "W") + 6, 3); }
static void p_t_reserved(uint8_t *p, size_t *n) { (void)n, infer__wr64(tensor(p, "W") + 120, 1); }
static void p_dtype(uint8_t *p, size_t *n) { (void)n, tensor(p, "W")[4] = 200; }
static void p_rank(uint8_t *p, size_t *n) { (void)n, tensor(p, "W")[5] = 9; }
static void p_dim_beyond(uint8_t *p, size_t *n) { (void)n, infer__wr64(tensor(p, "W") + 24 + 8 * 3, 7); }
static void p_sym_dim(uint8_t *p, size_t *n) { (void)n, infer__wr64(tensor(p, "x") + 24, 5); /* named, not -1 */ }
static void p_dim_negative(uint8_t *p, size_t *n) { (void)n, infer__wr64(tensor(p, "W") + 24, (uint64_t)-5); }
static void p_dim_over_max(uint8_t *p, size_t *n) {
    (void)n, infer__wr64(tensor(p, "W") + 24, (uint64_t)INFER_MAX_DIM_VALUE + 1);
}
static void p_const_no_dtype(uint8_t *p, size_t *n) { (void)n, tensor(p, "W")[4] = 0; }
static void p_const_sym(uint8_t *p, size_t *n) {
    uint8_t *t = tensor(p, "W");
    (void)n, infer__wr64(t + 24, (uint64_t)-1), infer__wr32(t + 88, infer__rd32(tensor(p, "x") + 88));
}
static void p_data_past_end(uint8_t *p, size_t *n) { (void)n, infer__wr64(tensor(p, "W") + 8, 1u << 20); }
/* a 4 TB constant claimed by a 2 KB file: refused before anything is allocated (issue 6) */
static void p_huge_constant(uint8_t *p, size_t *n) {
    uint8_t *t = tensor(p, "W");
    (void)n, infer__wr64(t + 24, 1u << 20), infer__wr64(t + 32, 1u << 20), infer__wr64(t + 16, (uint64_t)4 << 40);
}
static void p_data_misaligned(uint8_t *p, size_t *n) { (void)n, infer__wr64(tensor(p, "W") + 8, 8); }
static void p_dims_overflow(uint8_t *p, size_t *n) {
    uint8_t *t = tensor(p, "W");
    (void)n, infer__wr64(t + 24, (uint64_t)INFER_MAX_DIM_VALUE), infer__wr64(t + 32, (uint64_t)INFER_MAX_DIM_VALUE);
}
static void p_data_size(uint8_t *p, size_t *n) { (void)n, infer__wr64(tensor(p, "W") + 16, 44); }
static void p_data_no_flag(uint8_t *p, size_t *n) { (void)n, infer__wr64(tensor(p, "xw") + 16, 64); }
/* attributes */
static void p_a_name(uint8_t *p, size_t *n) { (void)n, infer__wr32(attr(p, 0), 0x7FFFFFFF); }
static void p_a_count(uint8_t *p, size_t *n) { (void)n, infer__wr64(attr(p, 0) + 8, 2); }
static void p_a_float_bits(uint8_t *p, size_t *n) { (void)n, infer__wr64(attr(p, 0) + 16, infer__rd64(attr(p, 0) + 16) | (1ull << 40)); }
static void p_a_string(uint8_t *p, size_t *n) {
    (void)n, infer__wr32(attr(p, 0) + 4, INFER_ATTR_STRING), infer__wr64(attr(p, 0) + 16, 0x7FFFFFFF);
}
static void p_a_tensor(uint8_t *p, size_t *n) { (void)n, infer__wr64(attr(p, 2) + 16, tensor_index(p, "x")); }
static void p_a_blob(uint8_t *p, size_t *n) { (void)n, infer__wr64(attr(p, 1) + 8, 1000); }
static void p_a_blob_align(uint8_t *p, size_t *n) { (void)n, infer__wr64(attr(p, 1) + 16, 4); }
static void p_a_type(uint8_t *p, size_t *n) { (void)n, infer__wr32(attr(p, 0) + 4, 9); }
/* graph inputs and outputs */
static void p_io_index(uint8_t *p, size_t *n) { (void)n, infer__wr32(p + sec_off(p, INFER__SEC_OUTPUTS), 1000); }
static void p_io_no_name(uint8_t *p, size_t *n) { (void)n, infer__wr32(p + sec_off(p, INFER__SEC_OUTPUTS), tensor_index(p, "")); }
static void p_in_constant(uint8_t *p, size_t *n) { (void)n, infer__wr32(p + sec_off(p, INFER__SEC_INPUTS), tensor_index(p, "W")); }
static void p_in_no_dtype(uint8_t *p, size_t *n) { (void)n, infer__wr32(p + sec_off(p, INFER__SEC_INPUTS), tensor_index(p, "xw")); }
static void p_io_twice(uint8_t *p, size_t *n) {
    (void)n, infer__wr32(p + sec_off(p, INFER__SEC_OUTPUTS) + 4, infer__rd32(p + sec_off(p, INFER__SEC_OUTPUTS)));
}
/* nodes: mm act tr id cos */
static void p_n_name(uint8_t *p, size_t *n) { (void)n, infer__wr32(node(p, 0) + 4, 0x7FFFFFFF); }
static void p_n_io_cap(uint8_t *p, size_t *n) { (void)n, infer__wr32(node(p, 0) + 12, INFER_MAX_NODE_IO + 1); }
static void p_n_refs(uint8_t *p, size_t *n) { (void)n, infer__wr32(node(p, 0) + 8, 1000); }
static void p_n_attrs(uint8_t *p, size_t *n) { (void)n, infer__wr32(node(p, 1) + 24, 1000); }
static void p_unknown_op(uint8_t *p, size_t *n) {
    (void)n, memcpy((char *)str(p, infer__rd32(node(p, 0) + 4)), "MatMux", 6);
}
static void p_in_index(uint8_t *p, size_t *n) { (void)n, infer__wr32(ref(p, 0), 1000); }
static void p_arity(uint8_t *p, size_t *n) { (void)n, infer__wr32(node(p, 0) + 12, 1); }
static void p_out_arity(uint8_t *p, size_t *n) { (void)n, infer__wr32(node(p, 0) + 20, 2); }
static void p_required_absent(uint8_t *p, size_t *n) { (void)n, infer__wr32(ref(p, 1), 0xFFFFFFFFu); }
static void p_attr_type(uint8_t *p, size_t *n) { (void)n, infer__wr32(attr(p, 0) + 4, INFER_ATTR_INT); }
static void p_attr_unknown(uint8_t *p, size_t *n) {
    (void)n, memcpy((char *)str(p, infer__rd32(attr(p, 0))), "alphx", 5);
}
static void p_attr_twice(uint8_t *p, size_t *n) { /* act takes alpha and perm, renamed alpha */
    (void)n, infer__wr32(node(p, 1) + 28, 2), infer__wr32(attr(p, 1), infer__rd32(attr(p, 0))),
        infer__wr32(attr(p, 1) + 4, INFER_ATTR_FLOAT), infer__wr64(attr(p, 1) + 8, 1), infer__wr64(attr(p, 1) + 16, 0);
}
static void p_out_constant(uint8_t *p, size_t *n) { (void)n, infer__wr32(ref(p, 6), tensor_index(p, "W")); }
static void p_two_producers(uint8_t *p, size_t *n) { (void)n, infer__wr32(ref(p, 6), infer__rd32(ref(p, 2))); }
static void p_self_loop(uint8_t *p, size_t *n) { (void)n, infer__wr32(ref(p, 3), infer__rd32(ref(p, 4))); }
static void p_cycle(uint8_t *p, size_t *n) { (void)n, infer__wr32(ref(p, 0), infer__rd32(ref(p, 4))); }
static void p_drop_last_node(uint8_t *p) {
    uint8_t *e = sec_entry(p, INFER__SEC_NODES);
    infer__wr64(e + 24, infer__rd64(e + 24) - 1);
    infer__wr64(e + 16, infer__rd64(e + 16) - 32);
}
static void p_unproduced_input(uint8_t *p, size_t *n) { /* id reads f, made by the dropped node */
    (void)n, p_drop_last_node(p), infer__wr32(ref(p, 7), tensor_index(p, "f"));
}
static void p_output_unproduced(uint8_t *p, size_t *n) { (void)n, p_drop_last_node(p); }
static void p_meta_string(uint8_t *p, size_t *n) { (void)n, infer__wr32(p + sec_off(p, INFER__SEC_METADATA), 0x7FFFFFFF); }
static void p_meta_hash(uint8_t *p, size_t *n) { (void)n, p[INFER__HASH_FIELD] ^= 1; }
static void p_weights_hash(uint8_t *p, size_t *n) { (void)n, p[infer__rd64(p + 48) + 5] ^= 0x10; /* inside W */ }

static const struct {
    const char *name;
    void (*patch)(uint8_t *p, size_t *n);
    int seal; /* re-seal the metadata checksum after patching */
} files[] = {
    {"too-small", p_too_small, 0},
    {"bad-magic", p_magic, 1},
    {"newer-major-version", p_major, 1},
    {"major-version-zero", p_major0, 1},
    {"header-bytes-wrong", p_header_bytes, 1},
    {"header-flags-set", p_flags, 1},
    {"truncated", p_truncated, 0},
    {"weights-offset-misaligned", p_weights_off, 1},
    {"count-over-cap", p_n_sections, 1},
    {"section-table-past-metadata", p_table_past, 1},
    {"section-reserved-set", p_sec_reserved, 1},
    {"section-past-end", p_sec_past_end, 1},
    {"section-misaligned", p_sec_misaligned, 1},
    {"section-unknown-kind", p_sec_unknown, 1},
    {"section-twice", p_sec_twice, 1},
    {"section-records-mismatch", p_sec_records, 1},
    {"section-missing", p_sec_missing, 1},
    {"overlapping-sections", p_sec_overlap, 1},
    {"strings-unterminated", p_strings, 1},
    {"tensor-name-offset", p_t_name, 1},
    {"tensor-flags-unknown", p_t_flags, 1},
    {"tensor-reserved-set", p_t_reserved, 1},
    {"dtype-out-of-range", p_dtype, 1},
    {"rank-over-max", p_rank, 1},
    {"dim-beyond-rank", p_dim_beyond, 1},
    {"symbolic-dim-bad", p_sym_dim, 1},
    {"dim-negative", p_dim_negative, 1},
    {"dim-over-max", p_dim_over_max, 1},
    {"constant-without-dtype", p_const_no_dtype, 1},
    {"constant-symbolic-dim", p_const_sym, 1},
    {"tensor-data-past-end", p_data_past_end, 1},
    {"tensor-data-misaligned", p_data_misaligned, 1},
    {"huge-constant", p_huge_constant, 1},
    {"dims-product-overflow", p_dims_overflow, 1},
    {"tensor-data-size-mismatch", p_data_size, 1},
    {"data-range-without-data", p_data_no_flag, 1},
    {"attr-name-offset", p_a_name, 1},
    {"attr-count-not-one", p_a_count, 1},
    {"attr-float-high-bits", p_a_float_bits, 1},
    {"attr-string-offset", p_a_string, 1},
    {"attr-tensor-not-constant", p_a_tensor, 1},
    {"attr-blob-too-short", p_a_blob, 1},
    {"attr-blob-misaligned", p_a_blob_align, 1},
    {"attr-type-out-of-range", p_a_type, 1},
    {"graph-io-index-out-of-range", p_io_index, 1},
    {"graph-io-no-name", p_io_no_name, 1},
    {"graph-input-is-constant", p_in_constant, 1},
    {"graph-input-without-dtype", p_in_no_dtype, 1},
    {"graph-io-listed-twice", p_io_twice, 1},
    {"node-name-offset", p_n_name, 1},
    {"node-io-over-cap", p_n_io_cap, 1},
    {"node-refs-past-end", p_n_refs, 1},
    {"node-attrs-past-end", p_n_attrs, 1},
    {"unknown-op", p_unknown_op, 1},
    {"node-input-out-of-range", p_in_index, 1},
    {"node-input-arity", p_arity, 1},
    {"node-output-arity", p_out_arity, 1},
    {"required-input-absent", p_required_absent, 1},
    {"attr-wrong-type", p_attr_type, 1},
    {"attr-unknown", p_attr_unknown, 1},
    {"attr-twice", p_attr_twice, 1},
    {"output-is-constant", p_out_constant, 1},
    {"two-producers", p_two_producers, 1},
    {"self-loop", p_self_loop, 1},
    {"cycle", p_cycle, 1},
    {"input-never-produced", p_unproduced_input, 1},
    {"output-never-produced", p_output_unproduced, 1},
    {"metadata-string-offset", p_meta_string, 1},
    {"metadata-checksum-mismatch", p_meta_hash, 0},
    {"weights-checksum-mismatch", p_weights_hash, 1},
};

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "tests/data/bad";
    infer_builder *b = build_model();
    size_t n0 = 0, i;
    uint8_t *base, *p;
    if (!b || infer_builder_serialize(b, NULL, 0, &n0)) return 1;
    base = (uint8_t *)malloc(n0);
    p = (uint8_t *)malloc(n0);
    if (!base || !p || infer_builder_serialize(b, base, n0, &n0)) return 1;
    infer_builder_free(b);
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[512];
        size_t n = n0;
        FILE *f;
        memcpy(p, base, n0);
        files[i].patch(p, &n);
        if (files[i].seal) reseal(p);
        snprintf(path, sizeof path, "%s/%s.infer", dir, files[i].name);
        f = fopen(path, "wb");
        if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
            fprintf(stderr, "make_bad_files: cannot write %s\n", path);
            return 1;
        }
    }
    printf("make_bad_files: %zu files (%zu bytes each, or less) in %s\n", i, n0, dir);
    free(base);
    free(p);
    return 0;
}
