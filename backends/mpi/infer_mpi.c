/* backends/mpi/infer_mpi.c - infer_comm over MPI (see infer_mpi.h). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "infer_mpi.h"

typedef struct infer_mpi {
    MPI_Comm comm;
    int size;
    int *counts, *displs; /* [size] for MPI_Allgatherv, filled per call (no allocation in a run) */
} infer_mpi;

static infer_status infer_mpi_allreduce(void *user, float *data, size_t n) {
    infer_mpi *c = (infer_mpi *)user;
    while (n) { /* MPI counts are int */
        int part = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        if (MPI_Allreduce(MPI_IN_PLACE, data, part, MPI_FLOAT, MPI_SUM, c->comm) != MPI_SUCCESS)
            return INFER_STATUS_BACKEND;
        data += part;
        n -= (size_t)part;
    }
    return INFER_STATUS_OK;
}

static infer_status infer_mpi_allgather(void *user, const float *send, float *recv, const size_t *counts) {
    infer_mpi *c = (infer_mpi *)user;
    size_t off = 0;
    int r, rank;
    MPI_Comm_rank(c->comm, &rank);
    for (r = 0; r < c->size; r++) {
        if (counts[r] > (size_t)INT_MAX || off > (size_t)INT_MAX) return INFER_STATUS_UNSUPPORTED;
        c->counts[r] = (int)counts[r];
        c->displs[r] = (int)off;
        off += counts[r];
    }
    if (MPI_Allgatherv(send, c->counts[rank], MPI_FLOAT, recv, c->counts, c->displs, MPI_FLOAT, c->comm) != MPI_SUCCESS)
        return INFER_STATUS_BACKEND;
    return INFER_STATUS_OK;
}

static infer_status infer_mpi_barrier(void *user) {
    return MPI_Barrier(((infer_mpi *)user)->comm) == MPI_SUCCESS ? INFER_STATUS_OK : INFER_STATUS_BACKEND;
}

infer_status infer_mpi_comm_create(MPI_Comm mpi_comm, infer_comm *comm) {
    infer_mpi *c;
    int rank, size;
    memset(comm, 0, sizeof *comm);
    if (MPI_Comm_rank(mpi_comm, &rank) != MPI_SUCCESS || MPI_Comm_size(mpi_comm, &size) != MPI_SUCCESS)
        return INFER_STATUS_BACKEND;
    c = (infer_mpi *)calloc(1, sizeof *c);
    if (!c) return INFER_STATUS_OUT_OF_MEMORY;
    c->size = size;
    c->counts = (int *)calloc((size_t)size, sizeof(int));
    c->displs = (int *)calloc((size_t)size, sizeof(int));
    if (!c->counts || !c->displs) {
        free(c->counts), free(c->displs), free(c);
        return INFER_STATUS_OUT_OF_MEMORY;
    }
    if (MPI_Comm_dup(mpi_comm, &c->comm) != MPI_SUCCESS) {
        free(c->counts), free(c->displs), free(c);
        return INFER_STATUS_BACKEND;
    }
    comm->rank = rank;
    comm->size = size;
    comm->user = c;
    comm->allreduce_sum_f32 = infer_mpi_allreduce;
    comm->allgather_f32 = infer_mpi_allgather;
    comm->barrier = infer_mpi_barrier;
    return INFER_STATUS_OK;
}

void infer_mpi_comm_free(infer_comm *comm) {
    infer_mpi *c;
    if (!comm || !comm->user) return;
    c = (infer_mpi *)comm->user;
    MPI_Comm_free(&c->comm);
    free(c->counts);
    free(c->displs);
    free(c);
    memset(comm, 0, sizeof *comm);
}
