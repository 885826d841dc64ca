/* backends/mpi/infer_mpi.h - an MPI communicator for infer's tensor parallelism.

   Each MPI process creates its session with this communicator; it then holds the weight
   shards of its rank only, and the split layers' all-reduce / all-gather nodes run
   MPI_Allreduce / MPI_Allgatherv over the communicator's processes:

       MPI_Init(&argc, &argv);
       infer_comm comm;
       if (infer_mpi_comm_create(MPI_COMM_WORLD, &comm) != INFER_STATUS_OK) ...
       opt.comm = &comm;                 // infer_session_options
       infer_session_create(model, &opt, &session);
       ... infer_run on every rank with the same inputs; every rank gets the outputs ...
       infer_session_free(session);
       infer_mpi_comm_free(&comm);
       MPI_Finalize();

   Build: compile infer_mpi.c with mpicc (make mpi does, for the tools and tests).
   infer.h itself never includes mpi.h. */
#ifndef INFER_MPI_H
#define INFER_MPI_H

#include <mpi.h>
#include "../../infer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fills *comm with this process's rank and size in mpi_comm (duplicated, so infer's
   collectives never mix with the application's messages). MPI must be initialised.
   Statuses: BACKEND (an MPI call failed), OUT_OF_MEMORY. */
infer_status infer_mpi_comm_create(MPI_Comm mpi_comm, infer_comm *comm);
/* Frees what infer_mpi_comm_create made (before MPI_Finalize); accepts a zeroed comm. */
void infer_mpi_comm_free(infer_comm *comm);

#ifdef __cplusplus
}
#endif

#endif
