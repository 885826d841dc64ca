#!/bin/sh
# Tensor-parallel benchmark (make bench-tp): for tp = 1, 2 and 4 devices in-process, and
# 2 and 4 MPI ranks when build/mpi/infer-bench exists (make mpi), prints a Markdown table
# of what was split (layers, of which attention blocks split by heads, and the collectives
# per run), per-device weight bytes, per-device arena bytes, bytes communicated per run,
# median latency and the share of the mean latency spent in collectives (waiting for the
# other devices included), from infer-bench --json.
#   sh tools/bench/tp.sh [MODEL.onnx|MODEL.infer ...]    (default: build/models bert, gpt2)
# Environment: BUILD (build), RUNS (200), WARMUP (5), THREADS per device (1), DIMS (batch=2 seq=16),
# DEVICE (cpu; cuda: the ranks on GPUs 0, 1, ... through build/cuda/infer-bench, make cuda,
# without the MPI rows; NCCL's collectives are not timed apart: "on the devices").
cd "$(dirname "$0")/../.." || exit 1
B=${BUILD:-build}
RUNS=${RUNS:-200}
WARMUP=${WARMUP:-5}
THREADS=${THREADS:-1}
DIMS=${DIMS:-batch=2 seq=16}
DEVICE=${DEVICE:-cpu}
BENCH=$B/infer-bench
[ "$DEVICE" = cpu ] || BENCH=$B/cuda/infer-bench
[ $# -gt 0 ] || set -- build/models/bert/model.onnx build/models/gpt2/model.onnx
dimargs=""
for d in $DIMS; do dimargs="$dimargs --dim $d"; done
mkdir -p "$B/bench_tp"
mpiopts="--oversubscribe"
[ "$(id -u)" = 0 ] && mpiopts="$mpiopts --allow-run-as-root"
row() { # model, mode label, json
    printf '%s\n' "$3" | python3 -c '
import json, sys
j = json.loads(sys.stdin.read()); model, mode = sys.argv[1], sys.argv[2]
kib = lambda b: "%.1f MiB" % (b / 1048576.0) if b >= 1048576 else "%.1f KiB" % (b / 1024.0)
split = "%d layers (%d attention by heads), %d all-reduce, %d all-gather" % (j["n_split"], j["n_attention_split"],
        j["n_allreduce"], j["n_allgather"]) if j["tp_devices"] > 1 else "-"
share = "on the devices" if j.get("device_collectives") else "%.1f%%" % (100 * j["comm_share"])
print("| %s | %s | %s | %s | %s | %s | %.3f | %s |" % (model, mode, split, kib(j["device_weight_bytes"]),
      kib(j["device_arena_bytes"]), kib(j["comm_bytes_per_run"]), j["median_ms"], share))' "$1" "$2"
}
echo "| model | devices | split | weights per device | arena per device | communicated per run | median ms | time in collectives |"
echo "|---|---|---|---|---|---|---|---|"
for src in "$@"; do
    name=$(basename "$(dirname "$src")")
    case "$src" in
    *.onnx)
        [ -f "$src" ] || { echo "tp.sh: $src is missing (make models)" >&2; continue; }
        model=$B/bench_tp/$name.infer
        "$B/infer-convert" "$src" -o "$model" >/dev/null || exit 1 ;;
    *) model=$src; name=$(basename "$src" .infer) ;;
    esac
    for tp in 1 2 4; do
        j=$("$BENCH" "$model" $dimargs --threads "$THREADS" --tp "$tp" --device "$DEVICE" --runs "$RUNS" --warmup "$WARMUP" \
            --json) || exit 1
        label="$tp in-process"
        [ "$DEVICE" = cpu ] || label="$tp on $DEVICE (ranks r on GPU r mod count)"
        if [ "$tp" = 1 ]; then row "$name" "1 (not split)" "$j"; else row "$name" "$label" "$j"; fi
    done
    if [ "$DEVICE" = cpu ] && [ -x "$B/mpi/infer-bench" ] && command -v mpirun >/dev/null 2>&1; then
        for np in 2 4; do
            j=$(OMP_NUM_THREADS=$THREADS mpirun $mpiopts -np "$np" "$B/mpi/infer-bench" "$model" $dimargs --threads "$THREADS" \
                --tp mpi --runs "$RUNS" --warmup "$WARMUP" --json 2>/dev/null | grep '^{') || exit 1
            row "$name" "$np MPI ranks" "$j"
        done
    fi
done
