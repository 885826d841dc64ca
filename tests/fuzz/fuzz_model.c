/* tests/fuzz/fuzz_model.c - libFuzzer target: .infer bytes -> infer_model_load_memory ->
   infer_session_create (every symbolic dim bound to 2, a 64 MiB cap) -> one infer_run on
   zero-filled inputs -> free. Nothing may crash, leak or trip a sanitizer.

   The file's metadata checksum and size fields would reject almost every mutation
   before the graph is looked at, so the target patches both into a copy of the input
   first (the checksum check itself is tested by tests/test_format.c). It includes the
   implementation for the hash; replay a crash file with this same program. */
#define INFER_IMPLEMENTATION
#include "../../infer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_MEMORY ((size_t)64 << 20)
#define FUZZ_MAX_IO_BYTES ((size_t)16 << 20) /* all inputs and outputs together */

/* Writes the input's own size, weight bytes and metadata hash into its header, when the header says
   where the metadata ends (weights_off at byte 48) and that lies inside the input. */
static void fuzz_patch_header(uint8_t *b, size_t n) {
    uint64_t w_off, h;
    uint8_t head[INFER__HEADER_BYTES];
    infer__hash hs;
    int i;
    if (n < INFER__HEADER_BYTES) return;
    for (i = 0; i < 8; i++) b[24 + i] = (uint8_t)((uint64_t)n >> (8 * i));
    w_off = infer__rd64(b + 48);
    if (w_off < INFER__HEADER_BYTES || w_off > n) return;
    for (i = 0; i < 8; i++) b[56 + i] = (uint8_t)((n - w_off) >> (8 * i)); /* weights_bytes */
    memcpy(head, b, sizeof head);
    memset(head + INFER__HASH_FIELD, 0, 8);
    infer__hash_init(&hs);
    infer__hash_update(&hs, head, INFER__HEADER_BYTES);
    infer__hash_update(&hs, b + INFER__HEADER_BYTES, (size_t)w_off - INFER__HEADER_BYTES);
    h = infer__hash_final(&hs);
    for (i = 0; i < 8; i++) b[INFER__HASH_FIELD + i] = (uint8_t)(h >> (8 * i));
}

/* Whether a window op (Conv, ConvTranspose, the pools) of session s would take more than
   2^28 multiply-adds or window taps: a well-formed file may ask for any amount of work
   (the caps bound memory, not time), and one such run outlasts libFuzzer's timeout (an
   LpPool of 4 M outputs over thousands of taps each: two minutes). Those are not run. */
static int fuzz_too_slow(const infer_session *s) {
    uint32_t i;
    for (i = 0; i < s->n_steps; i++) {
        uint32_t node = s->steps[i];
        int op = (int)s->m->nodes[node].op;
        const infer__conv_p *p = &s->params[node].conv;
        double sp, w;
        if (op != INFER__OP_CONV && op != INFER__OP_CONV_TRANSPOSE && op != INFER__OP_MAX_POOL &&
            op != INFER__OP_AVERAGE_POOL && op != INFER__OP_LP_POOL)
            continue;
        sp = INFER__MAX((double)p->out[0] * (double)p->out[1] * (double)p->out[2],
                        (double)p->in[0] * (double)p->in[1] * (double)p->in[2]);
        w = (double)p->n * (double)INFER__MAX(p->c, p->m) * sp * (double)p->k[0] * (double)p->k[1] * (double)p->k[2];
        if (op == INFER__OP_CONV || op == INFER__OP_CONV_TRANSPOSE) w *= (double)(p->group > 0 ? p->c / p->group : p->c);
        if (w > (double)(1 << 28)) return 1;
    }
    return 0;
}

static void fuzz_run(infer_model *m) {
    infer_dim dims[64];
    size_t n_dims = 0, n_in = infer_model_n_inputs(m), n_out = infer_model_n_outputs(m), i, io_bytes = 0;
    infer_session_options so;
    infer_session *s = NULL;
    infer_tensor *in = NULL, *out = NULL;
    int d;
    for (i = 0; i < n_in; i++) {
        infer_tensor_info info;
        if (infer_model_input(m, i, &info) != INFER_STATUS_OK) return;
        for (d = 0; d < info.n_dims && d < INFER_MAX_DIMS; d++) {
            size_t k;
            if (!info.dim_names[d]) continue;
            for (k = 0; k < n_dims && strcmp(dims[k].name, info.dim_names[d]) != 0; k++) {}
            if (k == n_dims && n_dims < sizeof dims / sizeof dims[0]) {
                dims[n_dims].name = info.dim_names[d];
                dims[n_dims++].value = 2;
            }
        }
    }
    memset(&so, 0, sizeof so);
    so.n_threads = 1;
    so.dims = dims;
    so.n_dims = n_dims;
    so.max_memory_bytes = FUZZ_MAX_MEMORY;
    if (infer_session_create(m, &so, &s) != INFER_STATUS_OK) return;
    if (fuzz_too_slow(s)) goto done;
    in = (infer_tensor *)calloc(n_in ? n_in : 1, sizeof *in);
    out = (infer_tensor *)calloc(n_out ? n_out : 1, sizeof *out);
    if (!in || !out) goto done;
    for (i = 0; i < n_in + n_out; i++) {
        infer_tensor_info info;
        infer_tensor *t = i < n_in ? &in[i] : &out[i - n_in];
        size_t bytes;
        if ((i < n_in ? infer_session_input(s, i, &info) : infer_session_output(s, i - n_in, &info)) !=
            INFER_STATUS_OK)
            goto done;
        bytes = infer_dtype_bytes(info.dtype);
        if (info.n_dims < 0 || info.n_dims > INFER_MAX_DIMS) goto done;
        for (d = 0; d < info.n_dims; d++) {
            if (info.dims[d] < 0 || (info.dims[d] > 0 && bytes > FUZZ_MAX_IO_BYTES / (size_t)info.dims[d]))
                goto done;
            bytes *= (size_t)info.dims[d];
        }
        if (bytes > FUZZ_MAX_IO_BYTES - io_bytes) goto done;
        io_bytes += bytes;
        t->name = info.name;
        t->dtype = info.dtype;
        t->n_dims = info.n_dims;
        memcpy(t->dims, info.dims, sizeof t->dims);
        t->data = calloc(1, bytes ? bytes : 1);
        t->data_bytes = bytes;
        if (!t->data) goto done;
    }
    (void)infer_run(s, in, n_in, out, n_out);
done:
    for (i = 0; in && i < n_in; i++) free(in[i].data);
    for (i = 0; out && i < n_out; i++) free(out[i].data);
    free(in);
    free(out);
    infer_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *b = (uint8_t *)malloc(size ? size : 1);
    infer_model *m = NULL;
    infer_model_options mo;
    if (!b) return 0;
    if (size) memcpy(b, data, size);
    fuzz_patch_header(b, size);
    memset(&mo, 0, sizeof mo);
    if (infer_model_load_memory(b, size, &mo, &m) == INFER_STATUS_OK) {
        fuzz_run(m);
        infer_model_free(m);
    }
    free(b);
    return 0;
}
