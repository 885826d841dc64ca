#!/bin/sh
# Tensor parallelism across MPI processes (tests/tp_mpi.c, built by make mpi): mpirun -np 2
# and -np 4 on this machine. SKIP when MPI is not installed (apt-get install openmpi-bin
# libopenmpi-dev; .ci/run does). $BUILD is the build folder (default build).
cd "$(dirname "$0")/.." || exit 1
bin=${BUILD:-build}/mpi/tp_mpi
if ! command -v mpirun >/dev/null 2>&1 || [ ! -x "$bin" ]; then
    echo "SKIP test_mpi (no mpirun, or $bin not built: make mpi needs mpicc)"
    exit 0
fi
# OpenMPI refuses root without --allow-run-as-root; --oversubscribe lets 4 ranks share fewer cores.
opts="--oversubscribe"
[ "$(id -u)" = 0 ] && opts="$opts --allow-run-as-root"
# Under make asan: OpenMPI keeps what MPI_Init allocates until exit, which LeakSanitizer
# reports; leaks are off for these processes only (tests/test_tp.c checks infer's own
# memory, with the same code, under ASan).
ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export ASAN_OPTIONS
status=0
for np in 2 4; do
    if out=$(OMP_NUM_THREADS=1 timeout 300 mpirun $opts -np $np "$bin" 2>&1); then
        printf '%s\n' "$out" | sed -n "s/^\(PASS\|SKIP\|FAIL\) \(.*\)/\1 \2 (np $np)/p"
    else
        printf '%s\n' "$out" | sed -n "s/^\(PASS\|SKIP\|FAIL\) \(.*\)/\1 \2 (np $np)/p"
        printf '%s\n' "$out" | grep -v '^\(PASS\|SKIP\)' | tail -n 20 | sed 's/^/  /'
        echo "FAIL test_mpi_np$np (mpirun exit status)"
        status=1
    fi
done
exit $status
