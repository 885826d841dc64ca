/* tests/fuzz/fuzz_onnx.c - libFuzzer target: bytes -> model.onnx in a temporary folder ->
   convert_onnx (protobuf wire format, TensorProto, attributes, subgraphs, external data
   paths) -> infer_builder_serialize; the same bytes also go through onnx_load_tensor (one
   TensorProto, the ONNX test-data format). The folder holds data.bin (4 KiB) and
   sub/w.bin (256 bytes) so that external-data locations can resolve. */
#include "../../infer.h"
#include "../../tools/convert.h"
#include "../../tools/onnx.h"
#include "fuzz_tmp.h"

#include <sys/stat.h>

static int fuzz_onnx_setup(void) {
    static int done;
    uint8_t buf[4096];
    size_t i;
    char sub[300];
    if (done) return 1;
    for (i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 7 + 1);
    if (!fuzz_tmp_write("data.bin", buf, sizeof buf)) return 0;
    snprintf(sub, sizeof sub, "%s/sub", fuzz_dir);
    mkdir(sub, 0700);
    if (!fuzz_tmp_write("sub/w.bin", buf, 256)) return 0;
    done = 1;
    return 1;
}

static void fuzz_onnx_cleanup_sub(void) {
    char sub[300];
    snprintf(sub, sizeof sub, "%s/sub", fuzz_dir);
    rmdir(sub);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int registered;
    const char *path;
    char err[1024];
    infer_builder *b = NULL;
    onnx_tensor t;
    if (!fuzz_onnx_setup()) return 0;
    if (!registered) {
        /* atexit runs in reverse order: sub/ must go before the folder (fuzz_tmp_cleanup) */
        atexit(fuzz_onnx_cleanup_sub);
        registered = 1;
    }
    path = fuzz_tmp_write("model.onnx", data, size);
    if (!path) return 0;
    if (convert_onnx(path, NULL, &b, NULL, err, sizeof err) == INFER_STATUS_OK) {
        size_t need = 0;
        if (infer_builder_serialize(b, NULL, 0, &need) == INFER_STATUS_OK && need <= ((size_t)256 << 20)) {
            void *buf = malloc(need ? need : 1);
            if (buf) (void)infer_builder_serialize(b, buf, need, &need);
            free(buf);
        }
        infer_builder_free(b);
    }
    memset(&t, 0, sizeof t);
    if (onnx_load_tensor(path, &t, err, sizeof err)) onnx_tensor_free(&t);
    return 0;
}
