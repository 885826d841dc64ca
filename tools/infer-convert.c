/* infer-convert: ONNX model -> .infer file.
   infer-convert MODEL.onnx -o MODEL.infer [--dim NAME=VALUE]... [--weights f32|f16|bf16|int8]
                 [--keep-f32 PATTERN]... [--no-fuse] [--verbose] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"

#define MAX_DIMS 64
#define MAX_KEEP 64

static void usage(FILE *f) {
    fprintf(f,
            "usage: infer-convert MODEL.onnx -o MODEL.infer [options]\n"
            "\n"
            "Converts an ONNX model into infer's .infer format.\n"
            "\n"
            "options:\n"
            "  -o, --output PATH     the .infer file to write (required)\n"
            "  --dim NAME=VALUE      fix the symbolic dim NAME (e.g. batch=1) now; others stay\n"
            "                        symbolic and are bound when a session is created\n"
            "  --weights TYPE        how MatMul/Gemm/Conv weights are stored: f32 (default), f16 or\n"
            "                        bf16 (half the bytes; a Cast to f32 follows), int8 (a quarter:\n"
            "                        symmetric, one scale per output channel; a DequantizeLinear\n"
            "                        follows). Weights under 1024 values and biases stay f32\n"
            "  --keep-f32 PATTERN    keep the weights of nodes whose name matches the glob PATTERN\n"
            "                        in f32 (repeatable)\n"
            "  --no-fuse             no graph passes (folding, fusion, removals): for debugging\n"
            "  --verbose             say what the passes did\n"
            "  -h, --help            this text\n"
            "  --version             the infer version\n"
            "\n"
            "exit status: 0 written; 1 conversion failed (message on stderr); 2 bad usage\n");
}

int main(int argc, char **argv) {
    const char *in = NULL, *out = NULL;
    infer_dim dims[MAX_DIMS];
    char names[MAX_DIMS][128];
    convert_options opt;
    convert_stats stats;
    const char *keep[MAX_KEEP];
    infer_builder *b = NULL;
    infer_status st;
    char err[4096];
    int i;
    memset(&opt, 0, sizeof opt);
    opt.dims = dims;
    opt.keep_f32 = keep;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("infer-convert %s\n", infer_version());
            return 0;
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(a, "--dim") && i + 1 < argc) {
            const char *eq = strchr(argv[++i], '=');
            char *end = NULL;
            long long v;
            if (!eq || eq == argv[i] || (size_t)(eq - argv[i]) >= sizeof names[0] || opt.n_dims >= MAX_DIMS) {
                fprintf(stderr, "infer-convert: --dim wants NAME=VALUE, got '%s'\n", argv[i]);
                return 2;
            }
            v = strtoll(eq + 1, &end, 10);
            if (!eq[1] || *end || v < 0) {
                fprintf(stderr, "infer-convert: --dim %s: the value must be a non-negative integer\n", argv[i]);
                return 2;
            }
            memcpy(names[opt.n_dims], argv[i], (size_t)(eq - argv[i]));
            names[opt.n_dims][eq - argv[i]] = '\0';
            dims[opt.n_dims].name = names[opt.n_dims];
            dims[opt.n_dims].value = v;
            opt.n_dims++;
        } else if (!strcmp(a, "--weights") && i + 1 < argc) {
            const char *w = argv[++i];
            if (!strcmp(w, "f32")) opt.weights = CONVERT_WEIGHTS_F32;
            else if (!strcmp(w, "f16")) opt.weights = CONVERT_WEIGHTS_F16;
            else if (!strcmp(w, "bf16")) opt.weights = CONVERT_WEIGHTS_BF16;
            else if (!strcmp(w, "int8")) opt.weights = CONVERT_WEIGHTS_INT8;
            else {
                fprintf(stderr, "infer-convert: --weights wants f32, f16, bf16 or int8, not '%s'\n", w);
                return 2;
            }
        } else if (!strcmp(a, "--keep-f32") && i + 1 < argc) {
            if (opt.n_keep_f32 >= MAX_KEEP) {
                fprintf(stderr, "infer-convert: more than %d --keep-f32 patterns\n", MAX_KEEP);
                return 2;
            }
            keep[opt.n_keep_f32++] = argv[++i];
        } else if (!strcmp(a, "--no-fuse")) {
            opt.no_fuse = 1;
        } else if (!strcmp(a, "--verbose")) {
            opt.verbose = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "infer-convert: unknown option '%s' (see --help)\n", a);
            return 2;
        } else if (!in) {
            in = a;
        } else {
            fprintf(stderr, "infer-convert: more than one input model ('%s' and '%s')\n", in, a);
            return 2;
        }
    }
    if (!in || !out) {
        usage(stderr);
        return 2;
    }
    st = convert_onnx(in, &opt, &b, &stats, err, sizeof err);
    if (st != INFER_STATUS_OK) {
        fprintf(stderr, "infer-convert: %s\n", err[0] ? err : infer_status_name(st));
        return 1;
    }
    st = infer_builder_save(b, out);
    if (st != INFER_STATUS_OK) {
        fprintf(stderr, "infer-convert: %s\n", infer_last_error());
        infer_builder_free(b);
        return 1;
    }
    infer_builder_free(b);
    printf("%s: %zu ONNX nodes -> %zu nodes (%zu folded, %zu removed, %zu fused); wrote %s\n", in, stats.onnx_nodes,
           stats.infer_nodes, stats.folded, stats.removed, stats.fused, out);
    if (opt.weights)
        printf("weights: %zu tensors to %s, %zu bytes -> %zu bytes\n", stats.weights_converted,
               opt.weights == CONVERT_WEIGHTS_F16 ? "f16" : opt.weights == CONVERT_WEIGHTS_BF16 ? "bf16" : "int8",
               stats.weights_bytes_before, stats.weights_bytes_after);
    return 0;
}
