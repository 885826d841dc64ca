/* tests/test_npy.c - the .npy reader and writer (tools/npy.c) on good and hostile files. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "../tools/npy.h"

static char tmpdir[64];

static const char *tmp_path(const char *name) { /* four buffers: a call may take two paths */
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static void write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fwrite(p, 1, n, f) == n);
    fclose(f);
}

/* A v1 (or v2/v3) file: magic, version, the dict padded to 64 with '\n', then data_bytes of data. */
static size_t make_npy(uint8_t *buf, size_t cap, int major, const char *dict, size_t data_bytes) {
    size_t pre = major == 1 ? 10 : 12, len = strlen(dict), total = (pre + len + 1 + 63) / 64 * 64, i;
    if (total + data_bytes > cap) return 0;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (uint8_t)major;
    buf[7] = 0;
    for (i = 0; i < pre - 8; i++) buf[8 + i] = (uint8_t)((total - pre) >> (8 * i));
    memcpy(buf + pre, dict, len);
    memset(buf + pre + len, ' ', total - pre - len - 1);
    buf[total - 1] = '\n';
    for (i = 0; i < data_bytes; i++) buf[total + i] = (uint8_t)i;
    return total + data_bytes;
}

/* Parses a header from a dict; 1 if accepted. err gets the message. */
static int parse_dict(const char *dict, npy_header *h, char *err, size_t err_bytes) {
    uint8_t buf[1024];
    size_t n = make_npy(buf, sizeof buf, 1, dict, 0);
    return npy_parse_header("t.npy", buf, n, h, err, err_bytes);
}

#define CHECK_REFUSED(dict, phrase)                                                        \
    do {                                                                                   \
        npy_header h_;                                                                     \
        char e_[512] = "";                                                                 \
        int ok_ = parse_dict(dict, &h_, e_, sizeof e_);                                    \
        if (ok_ || !strstr(e_, phrase)) {                                                  \
            printf("  %s:%d: %s -> %s \"%s\"; wanted a refusal with \"%s\"\n", __FILE__,  \
                   __LINE__, dict, ok_ ? "accepted" : "refused", e_, phrase);              \
            test__failed_checks++;                                                         \
        }                                                                                  \
    } while (0)

static void test_npy_header_good(void) {
    npy_header h;
    char err[512];
    CHECK(parse_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", &h, err, sizeof err));
    CHECK_EQ_INT(h.dtype, INFER_DTYPE_F32);
    CHECK_EQ_INT(h.n_dims, 2);
    CHECK_EQ_INT(h.dims[0], 3);
    CHECK_EQ_INT(h.dims[1], 4);
    CHECK_EQ_INT(h.data_offset, 128);
    CHECK_EQ_INT(h.data_bytes, 48);
    CHECK_EQ_INT(h.item_bytes, 16);
    /* key order, double quotes, no trailing comma, Python 2 longs, scalar, 1-tuple, empty */
    CHECK(parse_dict("{\"shape\": (5,), \"fortran_order\": False, \"descr\": \"|u1\"}", &h, err, sizeof err));
    CHECK_EQ_INT(h.dtype, INFER_DTYPE_U8);
    CHECK_EQ_INT(h.n_dims, 1);
    CHECK_EQ_INT(h.item_bytes, 1);
    CHECK(parse_dict("{'descr': '<i8', 'fortran_order': False, 'shape': (2L, 3L), }", &h, err, sizeof err));
    CHECK_EQ_INT(h.data_bytes, 48);
    CHECK(parse_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", &h, err, sizeof err));
    CHECK_EQ_INT(h.n_dims, 0);
    CHECK_EQ_INT(h.data_bytes, 8);
    CHECK(parse_dict("{'descr': '<f2', 'fortran_order': False, 'shape': (0, 7), }", &h, err, sizeof err));
    CHECK_EQ_INT(h.data_bytes, 0);
    CHECK_EQ_INT(h.item_bytes, 14);
    /* Fortran order does not matter for one dim, but numpy writes False there anyway; we refuse True always */
    CHECK(parse_dict("{'descr': '|b1', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1), }", &h, err,
                     sizeof err));
    CHECK_EQ_INT(h.dtype, INFER_DTYPE_BOOL);
    CHECK_EQ_INT(h.n_dims, 8);
}

static void test_npy_dtypes(void) {
    static const struct {
        const char *descr;
        infer_dtype t;
    } ok[] = {{"<f2", INFER_DTYPE_F16}, {"<f4", INFER_DTYPE_F32}, {"<f8", INFER_DTYPE_F64}, {"|i1", INFER_DTYPE_I8},
              {"<i2", INFER_DTYPE_I16}, {"<i4", INFER_DTYPE_I32}, {"<i8", INFER_DTYPE_I64}, {"|u1", INFER_DTYPE_U8},
              {"<u2", INFER_DTYPE_U16}, {"<u4", INFER_DTYPE_U32}, {"<u8", INFER_DTYPE_U64}, {"|b1", INFER_DTYPE_BOOL},
              {"<i1", INFER_DTYPE_I8}, {">u1", INFER_DTYPE_U8}};
    char dict[128], err[512];
    npy_header h;
    size_t i;
    for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (2,), }", ok[i].descr);
        CHECK(parse_dict(dict, &h, err, sizeof err));
        CHECK_EQ_INT(h.dtype, ok[i].t);
    }
    CHECK_REFUSED("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", "big-endian");
    CHECK_REFUSED("{'descr': '>i8', 'fortran_order': False, 'shape': (2,), }", "big-endian");
    CHECK_REFUSED("{'descr': '=f4', 'fortran_order': False, 'shape': (2,), }", "byte order '='");
    CHECK_REFUSED("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", "dtype '<c8' is not supported");
    CHECK_REFUSED("{'descr': '<U5', 'fortran_order': False, 'shape': (2,), }", "not supported");
    CHECK_REFUSED("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", "not supported");
    CHECK_REFUSED("{'descr': '', 'fortran_order': False, 'shape': (2,), }", "not supported");
    CHECK_REFUSED("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", "structured");
}

static void test_npy_header_hostile(void) {
    CHECK_REFUSED("{'descr': '<f4', 'fortran_order': True, 'shape': (3, 4), }", "Fortran-order");
    CHECK_REFUSED("{'descr': '<f4', 'shape': (3, 4), }", "lacks 'fortran_order'");
    CHECK_REFUSED("{'fortran_order': False, 'shape': (3, 4), }", "lacks 'descr'");
    CHECK_REFUSED("{'descr': '<f4', 'fortran_order': False, }", "lacks 'shape'");
    CHECK_REFUSED("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", "repeated key 'descr'");
    CHECK_REFUSED("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1, }", "key 'extra'");
    CHECK_REFUSED("{'descr': '<f4', 'fortran_order': False, 'shape': (5), }", "malformed");
    CHECK_REFUSED("{'descr': '<f4', 'fortran_order': False, 'shape': (3 4), }", "malformed");
    CHECK_REFUSED("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", "not an integer");
    CHECK_REFUSED("{'descr': '<f4', 'fortran_order': False, 'shape': (03,), }", "not an integer");
    CHECK_REFUSED("{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,), }", "malformed");
    CHECK_REFUSED("{'descr': '<f4', 'fortran_order': False, 'shape': [3, 4], }", "not a tuple");
    CHECK_REFUSED("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", "not an integer");
    CHECK_REFUSED("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387905,), }", "not an integer");
    CHECK_REFUSED("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }",
                  "overflows");
    CHECK_REFUSED("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387903,), }", "overflows");
    CHECK_REFUSED("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }", "more than 8");
    CHECK_REFUSED("{'descr': '<f4', 'fortran_order': 0, 'shape': (3,), }", "not True or False");
    CHECK_REFUSED("{'descr': '<f4, 'fortran_order': False, 'shape': (3,), }", "expected ',' or '}'");
    CHECK_REFUSED("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } x", "after the dict");
    CHECK_REFUSED("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), ", "expected a quoted key");
    CHECK_REFUSED("['descr', '<f4']", "not a dict");
    CHECK_REFUSED("{'d\\escr': '<f4', 'fortran_order': False, 'shape': (3,), }", "expected a quoted key");
    CHECK_REFUSED("{'descr': '<f4\xff', 'fortran_order': False, 'shape': (3,), }", "structured");
    CHECK_REFUSED("", "not a dict");
}

static void test_npy_prefix_hostile(void) {
    uint8_t buf[512];
    npy_header h;
    char err[512];
    size_t n = make_npy(buf, sizeof buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 12), k;
    CHECK(npy_parse_header("t.npy", buf, n, &h, err, sizeof err));
    /* every truncation of the header is refused, without reading past it */
    for (k = 0; k < h.data_offset; k++) {
        uint8_t *cut = (uint8_t *)malloc(k ? k : 1);
        memcpy(cut, buf, k);
        CHECK(!npy_parse_header("t.npy", cut, k, &h, err, sizeof err));
        free(cut);
    }
    buf[0] = 'X';
    CHECK(!npy_parse_header("t.npy", buf, n, &h, err, sizeof err) && strstr(err, "bad magic"));
    buf[0] = 0x93;
    buf[6] = 4;
    CHECK(!npy_parse_header("t.npy", buf, n, &h, err, sizeof err) && strstr(err, "version 4.0"));
    buf[6] = 1;
    buf[7] = 1;
    CHECK(!npy_parse_header("t.npy", buf, n, &h, err, sizeof err) && strstr(err, "version 1.1"));
    buf[7] = 0;
    buf[8] = 0xFF, buf[9] = 0xFF; /* a header longer than the buffer */
    CHECK(!npy_parse_header("t.npy", buf, n, &h, err, sizeof err) && strstr(err, "truncated"));
    /* v2 and v3: a 4-byte length; over the cap is refused before anything is read */
    n = make_npy(buf, sizeof buf, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 12);
    CHECK(npy_parse_header("t.npy", buf, n, &h, err, sizeof err));
    n = make_npy(buf, sizeof buf, 3, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 12);
    CHECK(npy_parse_header("t.npy", buf, n, &h, err, sizeof err));
    CHECK_EQ_INT(h.data_offset, 128);
    buf[11] = 0x7F;
    CHECK(!npy_parse_header("t.npy", buf, n, &h, err, sizeof err) && strstr(err, "over the limit"));
}

/* Random byte changes to a good file's header: never a crash or an over-read (ASan), and
   an accepted header always has a consistent size. */
static void test_npy_header_mutations(void) {
    uint8_t good[256], buf[256];
    npy_header h;
    char err[512];
    size_t n = make_npy(good, sizeof good, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 0), it;
    test_seed(7);
    for (it = 0; it < 20000; it++) {
        size_t k, flips = (size_t)test_int(1, 4), len = (size_t)test_int(0, (long long)n);
        uint8_t *copy;
        memcpy(buf, good, n);
        for (k = 0; k < flips; k++) buf[test_int(0, (long long)n - 1)] = (uint8_t)test_int(0, 255);
        copy = (uint8_t *)malloc(len ? len : 1); /* exactly len bytes, so ASan sees any over-read */
        memcpy(copy, buf, len);
        if (npy_parse_header("t.npy", copy, len, &h, err, sizeof err)) {
            CHECK(h.data_offset <= len);
            CHECK(h.n_dims >= 0 && h.n_dims <= INFER_MAX_DIMS);
        }
        free(copy);
    }
}

static void test_npy_save_load(void) {
    float x[12];
    int64_t dims[2] = {3, 4}, one[1] = {5};
    uint8_t b[5] = {0, 1, 1, 0, 1};
    npy_header h;
    void *data = NULL;
    char err[512];
    int i;
    for (i = 0; i < 12; i++) x[i] = (float)i * 0.5f - 2.0f;
    CHECK(npy_save(tmp_path("x.npy"), INFER_DTYPE_F32, 2, dims, x, err, sizeof err));
    CHECK(npy_load(tmp_path("x.npy"), &h, &data, err, sizeof err));
    CHECK(data && !memcmp(data, x, sizeof x));
    CHECK_EQ_INT(h.dims[1], 4);
    free(data);
    CHECK(npy_save(tmp_path("b.npy"), INFER_DTYPE_BOOL, 1, one, b, err, sizeof err));
    CHECK(npy_load(tmp_path("b.npy"), &h, &data, err, sizeof err));
    CHECK(h.dtype == INFER_DTYPE_BOOL && data && !memcmp(data, b, 5));
    free(data);
    /* the header is byte for byte what numpy writes */
    {
        char head[256];
        size_t n = npy_format_header(INFER_DTYPE_F32, 2, dims, head, sizeof head);
        static const char want[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
        CHECK_EQ_INT(n, 128);
        CHECK(!memcmp(head, "\x93NUMPY\x01\x00\x76\x00", 10));
        CHECK(!memcmp(head + 10, want, sizeof want - 1));
        CHECK(head[127] == '\n' && head[126] == ' ');
        n = npy_format_header(INFER_DTYPE_U8, 1, one, head, sizeof head);
        CHECK(!memcmp(head + 10, "{'descr': '|u1', 'fortran_order': False, 'shape': (5,), }", 57));
        CHECK_EQ_INT(npy_format_header(INFER_DTYPE_BF16, 1, one, head, sizeof head), 0); /* no numpy dtype */
        CHECK_EQ_INT(npy_format_header(INFER_DTYPE_F32, 2, dims, head, 100), 0);         /* too small */
    }
    /* no temporary file is left */
    CHECK(access(tmp_path("x.npy.tmp"), F_OK) != 0);
}

static void test_npy_file_hostile(void) {
    uint8_t buf[512];
    npy_file f;
    npy_header h;
    void *data = NULL;
    char err[512];
    size_t n = make_npy(buf, sizeof buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", 24), k;
    write_file(tmp_path("good.npy"), buf, n);
    CHECK(npy_open(tmp_path("good.npy"), &f, err, sizeof err));
    {
        float items[4];
        CHECK(npy_read_items(&f, 1, 2, items, err, sizeof err));
        CHECK(!memcmp(items, buf + 128 + 8, 16));
        CHECK(!npy_read_items(&f, 2, 2, items, err, sizeof err) && strstr(err, "out of range"));
        CHECK(!npy_read_items(&f, (size_t)-1, 2, items, err, sizeof err));
    }
    npy_close(&f);
    npy_close(&f); /* closing twice is fine */
    /* every truncated length is refused with "truncated" (or, under 8 bytes, bad magic) */
    for (k = 0; k < n; k++) {
        write_file(tmp_path("cut.npy"), buf, k);
        CHECK(!npy_open(tmp_path("cut.npy"), &f, err, sizeof err));
        CHECK(strstr(err, k < 8 ? "bad magic" : "truncated") != NULL);
        CHECK_EQ_INT(f.fd, -1);
    }
    buf[n] = 0;
    write_file(tmp_path("long.npy"), buf, n + 1);
    CHECK(!npy_open(tmp_path("long.npy"), &f, err, sizeof err) && strstr(err, "1 stray bytes"));
    CHECK(!npy_load(tmp_path("missing.npy"), &h, &data, err, sizeof err) && strstr(err, "missing.npy: No such file"));
    CHECK(data == NULL);
    CHECK(!npy_open(tmpdir, &f, err, sizeof err) && strstr(err, "is a folder"));
    /* a header claiming 2^62 items of a file of a few bytes */
    n = make_npy(buf, sizeof buf, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (4611686018427387903,), }", 8);
    write_file(tmp_path("huge.npy"), buf, n);
    CHECK(!npy_load(tmp_path("huge.npy"), &h, &data, err, sizeof err) && strstr(err, "truncated"));
    CHECK(data == NULL);
}

static void test_npy_writer_resume(void) {
    npy_writer w;
    int64_t dims[2] = {4, 3};
    float rows[12];
    int kept = -1, i;
    char err[512];
    npy_header h;
    void *data = NULL;
    for (i = 0; i < 12; i++) rows[i] = (float)i;
    CHECK(npy_writer_open(&w, tmp_path("w.npy"), tmp_path(".w.npy.part"), INFER_DTYPE_F32, 2, dims, 1, &kept, err,
                          sizeof err));
    CHECK_EQ_INT(kept, 0);
    CHECK(npy_writer_put(&w, 2, 2, rows + 6, err, sizeof err));
    CHECK(!npy_writer_put(&w, 3, 2, rows, err, sizeof err)); /* past the end */
    CHECK(npy_writer_sync(&w, err, sizeof err));
    close(w.fd); /* as if killed */
    CHECK(access(tmp_path("w.npy"), F_OK) != 0);
    /* reopened with keep: the rows written stay */
    CHECK(npy_writer_open(&w, tmp_path("w.npy"), tmp_path(".w.npy.part"), INFER_DTYPE_F32, 2, dims, 1, &kept, err,
                          sizeof err));
    CHECK_EQ_INT(kept, 1);
    CHECK(npy_writer_put(&w, 0, 2, rows, err, sizeof err));
    CHECK(npy_writer_commit(&w, err, sizeof err));
    CHECK(access(tmp_path(".w.npy.part"), F_OK) != 0);
    CHECK(npy_load(tmp_path("w.npy"), &h, &data, err, sizeof err));
    CHECK(data && !memcmp(data, rows, sizeof rows));
    free(data);
    /* another shape does not reuse the old file */
    CHECK(npy_writer_open(&w, tmp_path("w.npy"), tmp_path(".w.npy.part"), INFER_DTYPE_F32, 2, dims, 0, NULL, err,
                          sizeof err));
    npy_writer_abandon(&w);
    dims[0] = 5;
    CHECK(npy_writer_open(&w, tmp_path("w.npy"), tmp_path(".w.npy.part"), INFER_DTYPE_F32, 2, dims, 1, &kept, err,
                          sizeof err));
    CHECK_EQ_INT(kept, 0);
    npy_writer_abandon(&w);
    CHECK(access(tmp_path(".w.npy.part"), F_OK) != 0);
    /* a folder that does not exist */
    CHECK(!npy_writer_open(&w, tmp_path("no/w.npy"), tmp_path("no/.w.npy.part"), INFER_DTYPE_F32, 2, dims, 0, NULL,
                           err, sizeof err) && strstr(err, "No such file"));
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/infer-npy.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        printf("FAIL test_npy (no temporary folder)\n");
        return 1;
    }
    RUN(test_npy_header_good);
    RUN(test_npy_dtypes);
    RUN(test_npy_header_hostile);
    RUN(test_npy_prefix_hostile);
    RUN(test_npy_header_mutations);
    RUN(test_npy_save_load);
    RUN(test_npy_file_hostile);
    RUN(test_npy_writer_resume);
    {
        static const char *const names[] = {"x.npy", "b.npy", "good.npy", "cut.npy", "long.npy", "huge.npy", "w.npy"};
        size_t i;
        for (i = 0; i < sizeof names / sizeof names[0]; i++) unlink(tmp_path(names[i]));
        rmdir(tmpdir);
    }
    return test_finish();
}
