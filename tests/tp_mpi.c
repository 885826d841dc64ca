/* Tensor parallelism over MPI (make test-mpi): run under mpirun -np N. Every rank holds
   its own shards (backends/mpi communicator) and must match its own single-device run
   within 1e-5 relative: the MLP model (even and uneven shards), attention layers split by
   heads (BERT-like with 5 heads: uneven; GPT-2-like grouped-query, causal), BERT and GPT-2
   (when make models has exported them). Rank 0 prints the PASS/FAIL lines; the exit status is
   non-zero on any rank's failure. */
#include "tp_models.h"
#include "../backends/mpi/infer_mpi.h"

static infer_comm comm;
static int rank_, size_;

static const infer_dim batch4[] = {{"batch", 4}};
static const infer_dim bs[] = {{"batch", 2}, {"seq", 16}};

static void mpi_mlp(int hidden, int out) {
    infer_model *m = tp_mlp(32, hidden, out);
    infer_tp_stats st;
    CHECK(m != NULL);
    if (!m) return;
    memset(&st, 0, sizeof st);
    CHECK(tp_compare(m, batch4, 1, 0, &comm, &st, 0) == 0);
    CHECK_EQ_INT(st.n_devices, size_);
    CHECK_EQ_INT(st.rank, rank_);
    CHECK_EQ_INT(st.n_split, 3);
    CHECK_EQ_INT(st.n_allreduce, 1);
    CHECK_EQ_INT(st.n_allgather, 1);
    if (hidden % size_ == 0 && out % size_ == 0)
        CHECK(st.device_weight_bytes <= st.split_weight_bytes / (size_t)size_ + st.replicated_weight_bytes);
    infer_model_free(m);
}
static void test_mpi_mlp_even(void) { mpi_mlp(96, 60); }
static void test_mpi_mlp_uneven(void) { mpi_mlp(98, 61); }

/* An attention layer (tests/tp_models.h): split by heads on every rank count it is run with (2, 4) */
static void mpi_attention(const tp_att_opts *o) {
    infer_model *m = tp_attention(o);
    infer_tp_stats st;
    CHECK(m != NULL);
    if (!m) return;
    memset(&st, 0, sizeof st);
    CHECK(tp_compare(m, bs, 2, 0, &comm, &st, 0) == 0);
    CHECK_EQ_INT(st.n_devices, size_);
    CHECK_EQ_INT(st.n_attention_split, 1);
    CHECK_EQ_INT(st.n_allreduce, 2);
    CHECK_EQ_INT(st.n_allgather, 0);
    infer_model_free(m);
}
static void test_mpi_att_bert(void) {
    static const tp_att_opts o = {40, 5, 5, 8, 0, 1, 1, 1, 0, 0}; /* 5 heads: 3+2, 2+1+1+1 */
    mpi_attention(&o);
}
static void test_mpi_att_gqa(void) {
    static const tp_att_opts o = {64, 8, 2, 8, 1, 0, 2, 0, 0, 0}; /* kv groups at np 2, shared kv heads at np 4 */
    mpi_attention(&o);
}

static void mpi_real(const char *path) {
    infer_model *m = tp_onnx_passes(path, 0);
    infer_tp_stats st;
    if (!m) {
        test__skip_reason = "make models first";
        return;
    }
    CHECK(tp_compare(m, bs, 2, 0, &comm, &st, 0) == 0);
    CHECK(st.n_split >= 8);
    CHECK_EQ_INT(st.n_attention_split, 2);
    CHECK(st.n_allreduce >= 4);
    infer_model_free(m);
}
static void test_mpi_bert(void) { mpi_real("build/models/bert/model.onnx"); }
static void test_mpi_gpt2(void) { mpi_real("build/models/gpt2/model.onnx"); }

int main(int argc, char **argv) {
    int failed, any;
    MPI_Init(&argc, &argv);
    if (infer_mpi_comm_create(MPI_COMM_WORLD, &comm) != INFER_STATUS_OK) {
        fprintf(stderr, "infer_mpi_comm_create failed\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    rank_ = comm.rank, size_ = comm.size;
    if (rank_ != 0 && !freopen("/dev/null", "w", stdout)) return 1; /* rank 0 reports */
    printf("# %d MPI ranks\n", size_);
    RUN(test_mpi_mlp_even);
    RUN(test_mpi_mlp_uneven);
    RUN(test_mpi_att_bert);
    RUN(test_mpi_att_gqa);
    RUN(test_mpi_bert);
    RUN(test_mpi_gpt2);
    failed = test__failed;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any && !failed) printf("FAIL another rank (see its messages)\n"), test__failed++;
    infer_mpi_comm_free(&comm);
    MPI_Finalize();
    return test_finish();
}
