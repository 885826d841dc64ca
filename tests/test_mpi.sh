#!/bin/sh
# Tensor parallelism across MPI processes (tests/tp_mpi.c, built by make mpi): mpirun -np 2
# and -np 4 on this machine; then infer-run --tp mpi (build/mpi/infer-run) on BERT and
# GPT-2 from make models against a single-process infer-run: the outputs, --resume, a bad
# input among good ones and a failing run. SKIP when MPI is not installed (apt-get install
# openmpi-bin libopenmpi-dev; .ci/run does). $BUILD is the build folder (default build).
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

# -- infer-run --tp mpi: every rank runs each batch; rank 0 reads, writes and reports --
B=$PWD/${BUILD:-build}
for p in "$B/mpi/infer-run" "$B/infer-run" "$B/infer-convert" build/models/bert/model.onnx build/models/gpt2/model.onnx; do
    if [ ! -e "$p" ]; then
        echo "SKIP run_mpi ($p is missing: make mpi, make models)"
        exit $status
    fi
done
command -v python3 >/dev/null 2>&1 || { echo "SKIP run_mpi (no python3 to write the inputs)"; exit $status; }
T=$(mktemp -d "${TMPDIR:-/tmp}/infer-mpi.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
"$B/infer-convert" build/models/bert/model.onnx -o "$T/bert.infer" >/dev/null &&
    "$B/infer-convert" build/models/gpt2/model.onnx -o "$T/gpt2.infer" >/dev/null || { echo "FAIL run_mpi_convert"; exit 1; }
cd "$T" || exit 1
# the inputs: token ids (BERT: 6 items, its mask pads a growing tail; GPT-2: 3 and 5 items,
# a file of the wrong dtype, and sequences longer than GPT-2's 64 positions, whose run fails)
python3 - <<'PY' || { echo "FAIL run_mpi_inputs"; exit 1; }
import random, struct
def npy(path, descr, shape, values):
    h = ("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, "".join("%d, " % d for d in shape))).ljust(117) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode())
        f.write(struct.pack("<%d%s" % (len(values), descr[-2] == "i" and "q" or "d"), *values))
r = random.Random(8)
npy("ids.npy", "<i8", (6, 16), [r.randrange(1, 100) for _ in range(96)])
npy("mask.npy", "<i8", (6, 16), [int(i % 16 < 16 - i // 16) for i in range(96)])
npy("g1.npy", "<i8", (3, 8), [r.randrange(1000) for _ in range(24)])
npy("g2.npy", "<i8", (5, 8), [r.randrange(1000) for _ in range(40)])
npy("bad.npy", "<f8", (2, 8), [0.0] * 16)
npy("long.npy", "<i8", (2, 100), [5] * 200)
PY
# close A B...: each of A's .npy files within 1e-5 of B's largest magnitude, same header
close() {
    python3 - "$@" <<'PY'
import array, sys
def load(p):
    b = open(p, "rb").read()
    n = 10 + int.from_bytes(b[8:10], "little")
    a = array.array("f")
    a.frombytes(b[n:])
    return b[:n], a
for f in sys.argv[3:]:
    (ha, a), (hb, b) = load(sys.argv[1] + "/" + f), load(sys.argv[2] + "/" + f)
    scale = max(max(abs(x) for x in b), 1e-30)
    if ha != hb or max(abs(x - y) for x, y in zip(a, b)) > 1e-5 * scale:
        sys.exit("%s differs" % f)
PY
}
# mpirun_run NP ARGS...: build/mpi/infer-run on NP ranks; its stdout in out, stderr in err
mpirun_run() {
    np=$1
    shift
    OMP_NUM_THREADS=1 timeout 300 mpirun $opts -np "$np" "$B/mpi/infer-run" "$@" --tp mpi --threads 1 >out 2>err
}
check() { # NAME COMMAND...
    name=$1
    shift
    if "$@"; then
        echo "PASS $name"
    else
        echo "FAIL $name"
        sed -n '1,5s/^/  stderr: /p' err
        status=1
    fi
}
once() { [ "$(grep -c -- "$1" err)" -eq 1 ]; } # PHRASE: in err exactly once
bert="bert.infer --input input_ids=ids.npy --input attention_mask=mask.npy --batch-size 4"
"$B/infer-run" $bert -o ref --threads 1 2>err || { echo "FAIL run_mpi_reference"; sed 's/^/  /' err; exit 1; }
for np in 2 4; do
    mpirun_run $np $bert -o bert$np
    check run_mpi_bert_status_np$np [ $? -eq 0 ]
    check run_mpi_bert_outputs_np$np close bert$np ref last_hidden_state.npy pooler_output.npy
    check run_mpi_bert_reports_once_np$np once "6 items in"
done
# options that do not go with --tp mpi: usage errors (status 2) before MPI starts
"$B/mpi/infer-run" gpt2.infer g1.npy -o u --tp mpi --devices cpu,cpu >out 2>err
check run_mpi_usage_devices sh -c "[ $? -eq 2 ] && grep -q -- '--device and --devices do not apply' err"
"$B/mpi/infer-run" --inspect gpt2.infer --tp mpi >out 2>err
check run_mpi_usage_inspect sh -c "[ $? -eq 2 ] && grep -q -- 'give --tp N for the plan' err"
# one bad input among good ones: the good ones are written, the bad one reported once, and
# the exit status is the single-process one (1)
"$B/infer-run" gpt2.infer g1.npy bad.npy g2.npy -o gref --batch-size 4 --threads 1 2>err
single=$?
mpirun_run 2 gpt2.infer g1.npy bad.npy g2.npy -o gbad --batch-size 4
rc=$?
check run_mpi_bad_among_good_status [ "$rc" -eq "$single" ] && check run_bad_among_good_single_status [ "$single" -eq 1 ]
check run_mpi_bad_among_good_reported_once once "bad.npy: dtype f64"
check run_mpi_bad_among_good_outputs close gbad/g1 gref/g1 logits.npy
check run_mpi_bad_among_good_outputs2 close gbad/g2 gref/g2 logits.npy
check run_mpi_bad_among_good_no_output [ ! -e gbad/bad ]
# --resume: rank 0 skips the complete g1 on every rank, and g2 is done again
rm -r gbad/g2
cp gbad/g1/logits.npy g1_before.npy
mpirun_run 4 gpt2.infer g1.npy g2.npy -o gbad --batch-size 4 --resume --json
check run_mpi_resume_status [ $? -eq 0 ]
check run_mpi_resume_json_once sh -c "grep -q '\"items\": 5, \"failures\": 0, \"skipped\": 3' out && [ \$(wc -l <out) -eq 1 ]"
check run_mpi_resume_kept cmp -s gbad/g1/logits.npy g1_before.npy
check run_mpi_resume_outputs close gbad/g2 gref/g2 logits.npy
# a run that fails (positions out of range) fails on every rank: the job ends, status 1
mpirun_run 2 gpt2.infer g1.npy long.npy -o glong
check run_mpi_failed_run_status [ $? -eq 1 ]
check run_mpi_failed_run_reported_once once "long.npy: .*out of range"
check run_mpi_failed_run_outputs close glong/g1 gref/g1 logits.npy
check run_mpi_failed_run_no_output [ ! -e glong/long ]
exit $status
