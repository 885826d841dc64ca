/* The broken-file corpus: tests/data/bad/ holds one .infer file per validation rule of the
   reader, each named for the rule it breaks (tests/make_bad_files.c writes them; `make
   bad-files` regenerates them). Each must be refused with its exact status and a message
   naming the item, and every file in the folder must be listed here. */
#include <dirent.h>

#include "test.h"

#define BAD_DIR "tests/data/bad"

static const struct {
    const char *file;   /* BAD_DIR/<file>.infer */
    infer_status status;
    const char *phrase; /* a part of the message after "<path>: " */
} bad[] = {
    {"attr-blob-misaligned", INFER_STATUS_BAD_FILE, "attribute 1 'perm': 2 values at 4 run past the 16-byte"},
    {"attr-blob-too-short", INFER_STATUS_BAD_FILE, "attribute 1 'perm': 1000 values at 0 run past the 16-byte"},
    {"attr-count-not-one", INFER_STATUS_BAD_FILE, "attribute 0 'alpha': count 2, expected 1"},
    {"attr-float-high-bits", INFER_STATUS_BAD_FILE, "attribute 0 'alpha': float value has high bits set"},
    {"attr-name-offset", INFER_STATUS_BAD_FILE, "attribute 0: bad name offset 2147483647"},
    {"attr-string-offset", INFER_STATUS_BAD_FILE, "attribute 0 'alpha': string offset 2147483647 is outside"},
    {"attr-tensor-not-constant", INFER_STATUS_BAD_FILE, "attribute 2 'value': tensor 0 is not a constant in the"},
    {"attr-twice", INFER_STATUS_BAD_FILE, "node 1 'act': attribute 'alpha' appears twice"},
    {"attr-type-out-of-range", INFER_STATUS_BAD_FILE, "attribute 0 'alpha': type 9 is out of range"},
    {"attr-unknown", INFER_STATUS_UNSUPPORTED, "node 1 'act': LeakyRelu has no attribute 'alphx'"},
    {"attr-wrong-type", INFER_STATUS_BAD_FILE, "node 1 'act': attribute 'alpha' has the wrong type"},
    {"bad-magic", INFER_STATUS_BAD_FILE, "not an .infer file (bad magic)"},
    {"constant-symbolic-dim", INFER_STATUS_BAD_FILE, "tensor 1 'W': constant with a symbolic dim"},
    {"constant-without-dtype", INFER_STATUS_BAD_FILE, "tensor 1 'W': constant without a dtype"},
    {"count-over-cap", INFER_STATUS_BAD_FILE, "header: 33 sections, more than 32"},
    {"cycle", INFER_STATUS_BAD_FILE, "node 0 'mm': reads 'lr' before node 1 'act' produces it"},
    {"data-range-without-data", INFER_STATUS_BAD_FILE, "tensor 4 'xw': data range set on a tensor without data"},
    {"dim-beyond-rank", INFER_STATUS_BAD_FILE, "tensor 1 'W': dim 3 is set beyond rank 2"},
    {"dim-negative", INFER_STATUS_BAD_FILE, "tensor 1 'W': dim 0 is -5, outside [0, 1099511627776]"},
    {"dim-over-max", INFER_STATUS_BAD_FILE, "tensor 1 'W': dim 0 is 1099511627777, outside [0,"},
    {"dims-product-overflow", INFER_STATUS_BAD_FILE, "tensor 1 'W': dims and dtype f32 need an overflowing"},
    {"dtype-out-of-range", INFER_STATUS_BAD_FILE, "tensor 1 'W': dtype 200 is out of range"},
    {"graph-input-is-constant", INFER_STATUS_BAD_FILE, "graph input 0 'W' is a constant"},
    {"graph-input-without-dtype", INFER_STATUS_BAD_FILE, "graph input 0 'xw' has no dtype"},
    {"graph-io-index-out-of-range", INFER_STATUS_BAD_FILE, "graph output 0 refers to tensor 1000 of 10"},
    {"graph-io-listed-twice", INFER_STATUS_BAD_FILE, "graph output 'y' is listed twice"},
    {"graph-io-no-name", INFER_STATUS_BAD_FILE, "graph output 0 (tensor 8) has no name"},
    {"header-bytes-wrong", INFER_STATUS_BAD_FILE, "header: header_bytes 32, expected 64"},
    {"header-flags-set", INFER_STATUS_BAD_FILE, "header: flags 0x1, expected 0"},
    {"huge-constant", INFER_STATUS_BAD_FILE, "tensor 1 'W': data at 0 + 4398046511104 is outside the 256"},
    {"input-never-produced", INFER_STATUS_BAD_FILE, "node 3 'id': input 0 reads tensor 'f' that nothing"},
    {"major-version-zero", INFER_STATUS_BAD_FILE, "format version 0.0 is invalid"},
    {"metadata-checksum-mismatch", INFER_STATUS_BAD_FILE, "metadata checksum mismatch (file says"},
    {"metadata-string-offset", INFER_STATUS_BAD_FILE, "metadata entry 0: string offset 2147483647 is outside the"},
    {"newer-major-version", INFER_STATUS_UNSUPPORTED, "format version 2.0 is newer than this reader's 1.0;"},
    {"node-attrs-past-end", INFER_STATUS_BAD_FILE, "node 1 'act': attributes [1000,+1) run past the 3"},
    {"node-input-arity", INFER_STATUS_BAD_FILE, "node 0 'mm': MatMul takes 2 to 3 inputs, not 1"},
    {"node-input-out-of-range", INFER_STATUS_BAD_FILE, "node 0 'mm': input 0 refers to tensor 1000 of 10"},
    {"node-io-over-cap", INFER_STATUS_BAD_FILE, "node 0 'mm': 4097 inputs and 1 outputs, over the limit"},
    {"node-name-offset", INFER_STATUS_BAD_FILE, "node 0: name or op type offset is outside the string table"},
    {"node-output-arity", INFER_STATUS_BAD_FILE, "node 0 'mm': MatMul has 1 to 1 outputs, not 2"},
    {"node-refs-past-end", INFER_STATUS_BAD_FILE, "node 0 'mm': input/output references [1000,+2) [2,+1) run"},
    {"output-is-constant", INFER_STATUS_BAD_FILE, "node 2 'tr': output 'W' is a constant or a graph input"},
    {"output-never-produced", INFER_STATUS_BAD_FILE, "graph output 'f' is never produced"},
    {"overlapping-sections", INFER_STATUS_BAD_FILE, "sections 'nodes' and 'refs' overlap"},
    {"rank-over-max", INFER_STATUS_BAD_FILE, "tensor 1 'W': rank 9 is over the maximum 8"},
    {"required-input-absent", INFER_STATUS_BAD_FILE, "node 0 'mm': required input 1 is absent"},
    {"section-misaligned", INFER_STATUS_BAD_FILE, "section 2 (nodes): range 1788 + 160 is outside the"},
    {"section-missing", INFER_STATUS_BAD_FILE, "section 'metadata' is missing"},
    {"section-past-end", INFER_STATUS_BAD_FILE, "section 2 (nodes): range 1784 + 2432 is outside the"},
    {"section-records-mismatch", INFER_STATUS_BAD_FILE, "section 2 (nodes): 6 records do not fill 160 bytes"},
    {"section-reserved-set", INFER_STATUS_BAD_FILE, "section 2 (nodes): reserved field is not 0"},
    {"section-table-past-metadata", INFER_STATUS_BAD_FILE, "section table (9 entries) runs past the metadata area (64"},
    {"section-twice", INFER_STATUS_BAD_FILE, "section 8 (outputs) appears twice"},
    {"section-unknown-kind", INFER_STATUS_BAD_FILE, "section 8: unknown kind 99"},
    {"self-loop", INFER_STATUS_BAD_FILE, "node 1 'act': reads its own output 'lr' (a self-loop)"},
    {"strings-unterminated", INFER_STATUS_BAD_FILE, "string table must start and end with a NUL byte"},
    {"symbolic-dim-bad", INFER_STATUS_BAD_FILE, "tensor 0 'x': dim 0: bad symbolic dim (name offset 1,"},
    {"tensor-data-misaligned", INFER_STATUS_BAD_FILE, "tensor 1 'W': data at 8 + 48 is outside the 256 bytes of"},
    {"tensor-data-past-end", INFER_STATUS_BAD_FILE, "tensor 1 'W': data at 1048576 + 48 is outside the 256"},
    {"tensor-data-size-mismatch", INFER_STATUS_BAD_FILE, "tensor 1 'W': dims and dtype f32 need a different number"},
    {"tensor-flags-unknown", INFER_STATUS_BAD_FILE, "tensor 1 'W': unknown flags 0x3"},
    {"tensor-name-offset", INFER_STATUS_BAD_FILE, "tensor 1: name offset 2147483647 is outside the string"},
    {"tensor-reserved-set", INFER_STATUS_BAD_FILE, "tensor 1 'W': reserved field is not 0"},
    {"too-small", INFER_STATUS_BAD_FILE, "file is 32 bytes, smaller than the 64-byte header"},
    {"truncated", INFER_STATUS_BAD_FILE, "file is 2368 bytes but its header says 2432 (truncated or"},
    {"two-producers", INFER_STATUS_BAD_FILE, "node 2 'tr': tensor 'xw' is also produced by node 0 'mm'"},
    {"unknown-op", INFER_STATUS_UNSUPPORTED, "node 0 'mm': op type 'MatMux' is not supported"},
    {"weights-checksum-mismatch", INFER_STATUS_BAD_FILE, "weight data checksum mismatch (file says"},
    {"weights-offset-misaligned", INFER_STATUS_BAD_FILE, "header: weight data at 2184 + 248 does not end the"},
};
#define N_BAD (sizeof bad / sizeof bad[0])

/* Each file: loaded from disk (and from memory, where it must fail the same way), with the
   weights verified so the weights checksum rule is reached too. */
static void test_each_file(void) {
    size_t i;
    int ok = 0;
    for (i = 0; i < N_BAD; i++) {
        char path[256];
        infer_model *m = (infer_model *)&ok; /* a sentinel: a failing load must set it NULL */
        infer_model_options opt;
        infer_status st;
        snprintf(path, sizeof path, BAD_DIR "/%s.infer", bad[i].file);
        memset(&opt, 0, sizeof opt);
        opt.verify_weights = 1;
        st = infer_model_load(path, &opt, &m);
        if (st != bad[i].status || strncmp(infer_last_error(), path, strlen(path)) != 0 ||
            !strstr(infer_last_error(), bad[i].phrase) || m != NULL) {
            printf("  %s: got %s \"%s\"; wanted %s with \"%s\"\n", path, infer_status_name(st), infer_last_error(),
                   infer_status_name(bad[i].status), bad[i].phrase);
            test__failed_checks++;
        } else {
            ok++;
        }
        if (m != (infer_model *)&ok) infer_model_free(m);
    }
    printf("  %d of %d rules covered by files in " BAD_DIR "/ refused as expected\n", ok, (int)N_BAD);
}

/* The same bytes from memory: same status and phrase, with "<memory>" as the name. */
static void test_each_file_from_memory(void) {
    size_t i;
    for (i = 0; i < N_BAD; i++) {
        char path[256];
        FILE *f;
        long size;
        void *p = NULL;
        infer_model *m = NULL;
        infer_model_options opt;
        snprintf(path, sizeof path, BAD_DIR "/%s.infer", bad[i].file);
        f = fopen(path, "rb");
        CHECK(f != NULL);
        if (!f) continue;
        fseek(f, 0, SEEK_END);
        size = ftell(f);
        fseek(f, 0, SEEK_SET);
        if (posix_memalign(&p, 64, size > 0 ? (size_t)size : 1) != 0) p = NULL;
        CHECK(p && fread(p, 1, (size_t)size, f) == (size_t)size);
        fclose(f);
        memset(&opt, 0, sizeof opt);
        opt.verify_weights = 1;
        if (p) {
            infer_status st = infer_model_load_memory(p, (size_t)size, &opt, &m);
            if (st != bad[i].status || !strstr(infer_last_error(), bad[i].phrase)) {
                printf("  %s from memory: got %s \"%s\"\n", path, infer_status_name(st), infer_last_error());
                test__failed_checks++;
            }
            CHECK(m == NULL);
            infer_model_free(m);
        }
        free(p);
    }
}

/* Without verify_weights the weight data is not hashed: that one file loads. */
static void test_weights_checksum_needs_verify(void) {
    infer_model *m = NULL;
    CHECK_OK(infer_model_load(BAD_DIR "/weights-checksum-mismatch.infer", NULL, &m));
    infer_model_free(m);
}

/* Every file in the folder has a row, so a file cannot be added and forgotten. */
static void test_folder_matches_table(void) {
    DIR *d = opendir(BAD_DIR);
    struct dirent *e;
    size_t n_files = 0, i;
    CHECK(d != NULL);
    if (!d) return;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        int found = 0;
        if (e->d_name[0] == '.') continue;
        n_files++;
        for (i = 0; i < N_BAD; i++)
            if (len == strlen(bad[i].file) + 6 && !strncmp(e->d_name, bad[i].file, len - 6) &&
                !strcmp(e->d_name + len - 6, ".infer"))
                found = 1;
        if (!found) {
            printf("  " BAD_DIR "/%s has no row in tests/test_bad_files.c\n", e->d_name);
            test__failed_checks++;
        }
    }
    closedir(d);
    CHECK_EQ_INT(n_files, N_BAD);
}

int main(void) {
    RUN(test_each_file);
    RUN(test_each_file_from_memory);
    RUN(test_weights_checksum_needs_verify);
    RUN(test_folder_matches_table);
    return test_finish();
}
