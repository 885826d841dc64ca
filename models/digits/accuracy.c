/* models/digits/accuracy.c - `make demo`'s last step: the accuracy of the digits model.

   digits-accuracy LOGITS.npy LABELS.npy
   LOGITS: [n][classes] f32 (infer-run's output), LABELS: [n] i64. Prints the share of rows
   whose largest logit is at the label, as a percentage. */
#include <stdio.h>
#include <stdlib.h>

#include "../../tools/npy.h"

int main(int argc, char **argv) {
    npy_header lh, yh;
    void *logits = NULL, *labels = NULL;
    char err[1024];
    size_t n, k, i, c, right = 0;
    int rc = 1;
    if (argc != 3) {
        fprintf(stderr, "usage: digits-accuracy LOGITS.npy LABELS.npy\n");
        return 2;
    }
    if (!npy_load(argv[1], &lh, &logits, err, sizeof err) || !npy_load(argv[2], &yh, &labels, err, sizeof err)) {
        fprintf(stderr, "digits-accuracy: %s\n", err);
        goto done;
    }
    if (lh.dtype != INFER_DTYPE_F32 || lh.n_dims != 2 || yh.dtype != INFER_DTYPE_I64 || yh.n_dims != 1 ||
        lh.dims[0] != yh.dims[0] || lh.dims[0] == 0 || lh.dims[1] == 0) {
        fprintf(stderr, "digits-accuracy: want f32 logits [n][classes] and i64 labels [n]\n");
        goto done;
    }
    n = (size_t)lh.dims[0];
    k = (size_t)lh.dims[1];
    for (i = 0; i < n; i++) {
        const float *row = (const float *)logits + i * k;
        size_t best = 0;
        for (c = 1; c < k; c++)
            if (row[c] > row[best]) best = c;
        right += (int64_t)best == ((const int64_t *)labels)[i];
    }
    printf("accuracy %.2f%% (%zu of %zu images)\n", 100.0 * (double)right / (double)n, right, n);
    rc = 0;
done:
    free(logits);
    free(labels);
    return rc;
}
