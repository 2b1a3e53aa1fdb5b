/* The plain-C baseline of bench/dist_bench.ts: in-place MPI_Allreduce (float, sum) of N floats, R times,
 * timed with MPI_Wtime after one warm-up call. Rank 0 prints "seconds_per_call". Built with mpicc by the
 * bench when mpicc is there. Usage: mpirun -np 2 ./dist_allreduce N R */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  long n = argc > 1 ? atol(argv[1]) : 110000000L;
  int reps = argc > 2 ? atoi(argv[2]) : 3, rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  float *buf = malloc(sizeof(float) * n);
  for (long i = 0; i < n; i++) buf[i] = 1.0f;
  MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = MPI_Wtime();
  for (int r = 0; r < reps; r++) MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  double t = (MPI_Wtime() - t0) / reps;
  if (rank == 0) printf("%.6f\n", t);
  free(buf);
  MPI_Finalize();
  return 0;
}
