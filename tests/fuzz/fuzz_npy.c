/* tests/fuzz/fuzz_npy.c - libFuzzer target: bytes -> npy_parse_header (from memory), then
   the same bytes as a file through npy_load and npy_open + npy_read_items (first and
   last item), as infer-run reads its inputs. */
#include "../../infer.h"
#include "../../tools/npy.h"
#include "fuzz_tmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path;
    char err[512];
    npy_header h;
    npy_file f;
    void *arr = NULL;
    (void)npy_parse_header("fuzz.npy", data, size, &h, err, sizeof err);
    path = fuzz_tmp_write("in.npy", data, size);
    if (!path) return 0;
    if (npy_load(path, &h, &arr, err, sizeof err)) free(arr);
    /* infer-run reads items only once their shape matches the model's input, so an item
       is never larger than an input; here at most 16 MiB (an empty array's header may
       describe items of any size: shape (0, 2^54, 64) is valid and holds no data) */
    if (npy_open(path, &f, err, sizeof err)) {
        size_t n = f.h.n_dims > 0 ? (size_t)f.h.dims[0] : 1;
        void *item = f.h.item_bytes <= ((size_t)16 << 20) ? malloc(f.h.item_bytes ? f.h.item_bytes : 1) : NULL;
        if (item && n > 0) {
            (void)npy_read_items(&f, 0, 1, item, err, sizeof err);
            (void)npy_read_items(&f, n - 1, 1, item, err, sizeof err);
        }
        free(item);
        npy_close(&f);
    }
    return 0;
}
