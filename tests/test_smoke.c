/* A first end-to-end check: a few ops through the builder, the file and a session. */
#include "test.h"

static void test_add_broadcast(void) {
    float a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {10, 20, 30};
    int64_t da[2] = {2, 3}, db[1] = {3};
    double want[6] = {11, 22, 33, 14, 25, 36};
    op_case c;
    memset(&c, 0, sizeof c);
    c.op = "Add";
    c.in[0] = op_in("a", INFER_DTYPE_F32, 2, da, a);
    c.in[1] = op_const("b", INFER_DTYPE_F32, 1, db, b);
    c.n_in = 2;
    CHECK_OK(op_run(&c));
    if (c.status == INFER_STATUS_OK) {
        CHECK_EQ_INT(c.out[0].n_dims, 2);
        test_close("add", (float *)c.out[0].data, want, 6, 1e-6);
    }
    op_free(&c);
}

static void test_matmul(void) {
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1};
    int64_t da[2] = {2, 3}, db[2] = {3, 2};
    double want[4] = {4, 5, 10, 11};
    op_case c;
    memset(&c, 0, sizeof c);
    c.op = "MatMul";
    c.in[0] = op_in("a", INFER_DTYPE_F32, 2, da, a);
    c.in[1] = op_const("b", INFER_DTYPE_F32, 2, db, b);
    c.n_in = 2;
    CHECK_OK(op_run(&c));
    if (c.status == INFER_STATUS_OK) test_close("matmul", (float *)c.out[0].data, want, 4, 1e-6);
    op_free(&c);
}

int main(void) {
    RUN(test_add_broadcast);
    RUN(test_matmul);
    return test_finish();
}
