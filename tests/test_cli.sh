#!/bin/sh
# End-to-end tests of infer-run and infer-bench (issue 4): outputs bit-identical to the C
# API, batch sizes 1/7/32 alike, several files and devices, --resume after kill -9,
# SIGINT/SIGTERM, and every bad input with its message and exit status. The models and
# data come from build/cli_models (the builder API), so no converter is needed.
# Prints PASS/FAIL/SKIP lines; BUILD names the build folder (default build).
cd "$(dirname "$0")/.." || exit 1
B=${BUILD:-build}
RUN=$PWD/$B/infer-run
BENCH=$PWD/$B/infer-bench
for p in "$RUN" "$BENCH" "$PWD/$B/cli_models"; do
    [ -x "$p" ] || { echo "FAIL cli_setup ($p is not built)"; exit 1; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/infer-cli.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
"$OLDPWD/$B/cli_models" . 8000 >/dev/null 2>cli_models.log || { echo "FAIL cli_setup"; cat cli_models.log; exit 1; }

status=0
pass() { echo "PASS $1"; }
fail() {
    echo "FAIL $1"
    [ -z "$2" ] || printf '  %s\n' "$2"
    [ ! -s err ] || sed -n '1,5s/^/  stderr: /p' err
    status=1
}
# check NAME COMMAND...: passes when the command succeeds
check() {
    name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name" "$*"; fi
}
# expect NAME STATUS PHRASE COMMAND...: the command exits with STATUS and says PHRASE on stderr
expect() {
    name=$1 want=$2 phrase=$3
    shift 3
    "$@" >out 2>err
    rc=$?
    if [ "$rc" -ne "$want" ]; then
        fail "$name" "exit status $rc, wanted $want: $*"
    elif [ -n "$phrase" ] && ! grep -q -- "$phrase" err; then
        fail "$name" "no '$phrase' in the message: $*"
    else
        pass "$name"
    fi
}
# data FILE: the array bytes of a .npy (all files here have 128-byte headers)
data() { tail -c +129 "$1"; }
same_data() { data "$1" >d1 && data "$2" >d2 && cmp -s d1 d2; }
no_temps() { [ -z "$(find "$1" -name '.*.part' -o -name '.infer-run.journal')" ]; }
# wait_journal DIR PID: until the run logs written items in its journal (a checkpoint),
# at most ~120 s; fails if the run has ended (it was too fast to interrupt)
wait_journal() {
    i=0
    while [ $i -lt 1200 ] && kill -0 "$2" 2>/dev/null; do
        [ -f "$1/.infer-run.journal" ] && [ "$(wc -l <"$1/.infer-run.journal")" -ge 2 ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# -- outputs equal the C API's, bit for bit, whatever the batch size --
ok=1
for bs in 1 7 32; do
    "$RUN" mlp.infer x.npy -o mlp$bs --batch-size $bs 2>err || ok=0
    cmp -s mlp$bs/logits.npy mlp_logits.npy && cmp -s mlp$bs/probs.npy mlp_probs.npy || ok=0
done
check cli_mlp_batch_1_7_32_equal_c_api [ $ok -eq 1 ]
ok=1
for bs in 1 7 32; do
    "$RUN" conv.infer img.npy -o conv$bs --batch-size $bs --threads 2 2>err || ok=0
    cmp -s conv$bs/y.npy conv_y.npy || ok=0
done
check cli_conv_batch_1_7_32_equal_c_api [ $ok -eq 1 ]
check cli_named_input sh -c "'$RUN' mlp.infer --input x=x.npy -o named 2>err && cmp -s named/logits.npy mlp_logits.npy"
check cli_two_inputs_symbolic_seq sh -c "'$RUN' two.infer --input a=a.npy --input b=b.npy -o two --batch-size 8 2>err &&
    cmp -s two/sum.npy two_sum.npy"
check cli_fixed_batch sh -c "'$RUN' fixed.infer x.npy -o fixed --batch-size 32 2>err && cmp -s fixed/y.npy fixed_y.npy"
# a fixed batch of 4 over 40 items, and over 100: the first 40 rows agree
"$RUN" fixed.infer x_part1.npy -o fp1 2>err && "$RUN" fixed.infer x.npy -o fp2 2>err
data fp1/y.npy >p1
data fp2/y.npy | head -c "$(wc -c <p1)" >p2
check cli_fixed_batch_partial_data cmp -s p1 p2

# -- several files: one output folder each; a folder of files; several devices --
"$RUN" mlp.infer x_part1.npy x_part2.npy -o parts --batch-size 16 2>err
{ data parts/x_part1/logits.npy; data parts/x_part2/logits.npy; } >cat.bin 2>/dev/null
data mlp_logits.npy >want.bin
check cli_several_files cmp -s cat.bin want.bin
mkdir folder && cp x_part1.npy x_part2.npy folder/
check cli_folder_input sh -c "'$RUN' mlp.infer folder -o fo --batch-size 16 2>err &&
    cmp -s fo/x_part1/logits.npy parts/x_part1/logits.npy && cmp -s fo/x_part2/logits.npy parts/x_part2/logits.npy"
check cli_devices_cpu_cpu sh -c "'$RUN' mlp.infer x.npy -o dev --devices cpu,cpu --threads 1 --batch-size 3 2>err &&
    cmp -s dev/logits.npy mlp_logits.npy && cmp -s dev/probs.npy mlp_probs.npy"
check cli_devices_several_files sh -c "'$RUN' mlp.infer folder -o devf --devices cpu,cpu,cpu --threads 1 --batch-size 7 2>err &&
    cmp -s devf/x_part1/logits.npy parts/x_part1/logits.npy && cmp -s devf/x_part2/probs.npy parts/x_part2/probs.npy"
# --tp N: the same outputs with the model's layers over 2 in-process devices (this model's
# layers are under the split threshold, so they are replicated; tests/test_tp.c checks splits)
check cli_tp_run sh -c "'$RUN' mlp.infer x.npy -o tp2 --tp 2 --threads 1 --batch-size 3 2>err &&
    cmp -s tp2/logits.npy mlp_logits.npy && cmp -s tp2/probs.npy mlp_probs.npy"
check cli_tp_inspect sh -c "'$RUN' --inspect mlp.infer --tp 3 >out 2>err && grep -q '^tensor parallelism: 3 devices' out"
check cli_tp_bench sh -c "'$BENCH' mlp.infer --tp 2 --threads 1 --runs 3 --warmup 1 --verbose >out 2>err &&
    grep -q '^tensor parallelism: 2 devices' out && grep -q '^communication ' out && grep -q '^weights per device ' out &&
    '$BENCH' mlp.infer --tp 2 --threads 1 --runs 3 --warmup 1 --json >out 2>err && grep -q '\"tp_devices\": 2' out &&
    grep -q '\"comm_bytes_per_run\": 0' out"
expect cli_tp_usage 2 "--tp" "$RUN" mlp.infer x.npy -o u --tp 0
expect cli_bench_tp_mpi_usage 2 "make mpi" "$BENCH" mlp.infer --tp mpi
expect cli_tp_mpi_usage 2 "make mpi, then mpirun -np N build/mpi/infer-run" "$RUN" mlp.infer x.npy -o u --tp mpi

# -- summaries --
"$RUN" mlp.infer x.npy -o js --json >js.out 2>err
check cli_json grep -q '"items": 100, "failures": 0, "skipped": 0, "seconds": [0-9.]*, "items_per_s": [0-9.]*, "peak_rss_bytes": [1-9]' js.out
"$RUN" mlp.infer x.npy -o sum 2>err
check cli_summary_line grep -q '^infer-run: 100 items in .* items/s), 0 failed, 0 skipped; peak memory' err
"$RUN" mlp.infer x.npy -o js --json --resume >js2.out 2>err
check cli_resume_complete_skips sh -c "grep -q '\"items\": 0, \"failures\": 0, \"skipped\": 100' js2.out && cmp -s js/logits.npy mlp_logits.npy"
check cli_atomic_no_temps no_temps .

# -- kill -9 in the middle, then --resume: complete, correct, no stray files --
# (a run that ends before it can be interrupted makes these SKIP, not fail)
"$RUN" slow.infer slow.npy -o killed --batch-size 1 --threads 1 2>/dev/null &
pid=$!
wait_journal killed $pid && kill -9 $pid
wait $pid 2>/dev/null
rc=$?
if [ $rc -eq 137 ]; then
    check cli_kill9_leaves_no_output [ ! -e killed/y.npy ]
    "$RUN" slow.infer slow.npy -o killed --batch-size 8 --resume --json >resume.out 2>err
    rc=$?
    skipped=$(sed -n 's/.*"skipped": \([0-9]*\).*/\1/p' resume.out)
    check cli_kill9_resume_skips_done_items [ $rc -eq 0 -a "${skipped:-0}" -gt 0 ]
    check cli_kill9_resume_output_equal cmp -s killed/y.npy slow_y.npy
    check cli_kill9_resume_no_temps no_temps killed
else
    echo "SKIP cli_kill9_resume (the run ended with status $rc before it could be killed)"
fi

# -- SIGINT / SIGTERM: stop, no partial files, 130 / 143 --
for sig in INT TERM; do
    want=130
    [ $sig = TERM ] && want=143
    "$RUN" slow.infer slow.npy -o sig$sig --batch-size 1 --threads 1 2>/dev/null &
    pid=$!
    wait_journal sig$sig $pid && kill -$sig $pid
    wait $pid
    rc=$?
    if [ $rc -eq 0 ]; then
        echo "SKIP cli_sig$sig (the run ended before it could be interrupted)"
        continue
    fi
    check cli_sig${sig}_status_$want [ $rc -eq $want ]
    check cli_sig${sig}_no_partial_files sh -c "[ ! -e sig$sig/y.npy ] && [ -z \"\$(ls -A sig$sig)\" ]"
done

# -- bad inputs: a clear message and the right exit status --
expect cli_bad_missing_file 1 "missing.npy: No such file" "$RUN" mlp.infer missing.npy -o bad1
expect cli_bad_dtype 1 "dtype f64; input 'x' takes f32" "$RUN" mlp.infer bad/f64.npy -o bad2
expect cli_bad_shape 1 "does not fit input 'x'" "$RUN" mlp.infer bad/shape.npy -o bad3
expect cli_bad_rank 1 "has 1 dims" "$RUN" mlp.infer bad/rank.npy -o bad4
expect cli_bad_truncated 1 "truncated" "$RUN" mlp.infer bad/truncated.npy -o bad5
expect cli_bad_fortran 1 "Fortran-order arrays are not supported" "$RUN" mlp.infer bad/fortran.npy -o bad6
expect cli_bad_bigendian 1 "big-endian" "$RUN" mlp.infer bad/bigendian.npy -o bad7
expect cli_bad_not_npy 1 "not a .npy file" "$RUN" mlp.infer bad/notnpy.npy -o bad8
expect cli_bad_no_items 1 "holds no items" "$RUN" mlp.infer bad/empty.npy -o bad9
expect cli_bad_unwritable_output 1 "cannot create the output folder" "$RUN" mlp.infer x.npy -o x.npy/sub
expect cli_bad_unknown_input 2 "the model has no input 'nope'" "$RUN" mlp.infer --input nope=x.npy -o bad10
expect cli_bad_missing_input 2 "input 'b' is given 0 times" "$RUN" two.infer --input a=a.npy -o bad11
expect cli_bad_not_a_model 1 "notmodel.infer" "$RUN" bad/notmodel.infer x.npy -o bad12
expect cli_bad_missing_model 1 "nomodel.infer" "$RUN" nomodel.infer x.npy -o bad13
expect cli_bad_item_count 1 "items, but" "$RUN" two.infer --input a=a.npy --input b=x.npy -o bad14
expect cli_bad_cuda 1 "without CUDA" "$RUN" mlp.infer x.npy -o bad15 --device cuda:0
expect cli_usage_no_output 2 "give -o OUTDIR" "$RUN" mlp.infer x.npy
expect cli_usage_unknown_option 2 "unknown option '--frobnicate'" "$RUN" mlp.infer x.npy -o u --frobnicate
expect cli_usage_bad_batch 2 "--batch-size" "$RUN" mlp.infer x.npy -o u --batch-size 0
expect cli_usage_bad_device 2 "unknown device 'tpu'" "$RUN" mlp.infer x.npy -o u --devices cpu,tpu
expect cli_usage_bad_precision 2 "--precision wants f32, tf32, f16 or bf16, not 'f8'" "$RUN" mlp.infer x.npy -o u --precision f8
# the CPU computes in f32 whatever --precision allows a device: the same bytes
check cli_precision_cpu_ignored sh -c "'$RUN' mlp.infer x.npy -o prec --precision f16 2>err &&
    cmp -s prec/logits.npy mlp_logits.npy"
# one bad file among good ones: the good ones are done, the bad one reported, status 1
expect cli_bad_among_good 1 "f64.npy: dtype f64" "$RUN" mlp.infer x_part1.npy bad/f64.npy x_part2.npy -o mixed
check cli_bad_among_good_outputs sh -c "cmp -s mixed/x_part1/logits.npy parts/x_part1/logits.npy &&
    cmp -s mixed/x_part2/logits.npy parts/x_part2/logits.npy && [ ! -e mixed/f64 ]"
for d in bad1 bad2 bad3 bad4 bad5 bad6 bad7 bad8 bad9 bad14 bad15; do [ -e "$d/logits.npy" ] && fail "cli_bad_no_output_$d"; done
check cli_bad_inputs_leave_no_temps no_temps .

# -- help, version, inspect --
expect cli_help 0 "" "$RUN" --help
check cli_help_text grep -q "usage: infer-run MODEL.infer" out
expect cli_version 0 "" "$RUN" --version
check cli_version_text grep -q "^infer-run [0-9]" out
"$RUN" --inspect mlp.infer >out 2>err
check cli_inspect sh -c "grep -q 'x .*f32 .*\[batch, 16\]' out && grep -q 'producer = tests/cli_models.c' out &&
    grep -q 'arena' out && grep -q 'output probs .*\[1, 5\]' out"
check cli_inspect_ops_params sh -c "grep -q '^ops .*6 nodes: Add 2, MatMul 2, Relu 1, Softmax 1' out &&
    grep -q '^parameters 709 in 4 constants' out"
"$RUN" --inspect mlp.infer --dim batch=8 >out 2>err
check cli_inspect_dim grep -q 'output probs .*\[8, 5\]' out
expect cli_inspect_bad_model 1 "notmodel.infer" "$RUN" --inspect bad/notmodel.infer

# -- images (when built with libpng and libjpeg) --
if "$RUN" --version | grep -q "png jpeg"; then
    "$RUN" conv.infer grey.npy -o grey 2>err
    check cli_image_png sh -c "'$RUN' conv.infer images/a_grey.png --image-size 8,8 -o png 2>err && cmp -s png/y.npy grey/y.npy"
    check cli_image_jpeg sh -c "'$RUN' conv.infer images/b_grey.jpg --image-size 8,8 -o jpg 2>err && cmp -s jpg/y.npy grey/y.npy"
    expect cli_image_broken 1 "broken.png" "$RUN" conv.infer images bad/broken.png --image-size 8,8 -o imgs
    check cli_image_list sh -c "[ \"\$(cat imgs/inputs.txt)\" = \"\$(printf 'images/a_grey.png\nimages/b_grey.jpg\nbad/broken.png')\" ]"
    expect cli_image_wrong_size 2 "the model takes 8x8" "$RUN" conv.infer images --image-size 9,9 -o imgs2
else
    echo "SKIP cli_images (infer-run built without libpng/libjpeg)"
fi

# -- infer-bench --
"$BENCH" mlp.infer --dim batch=4 --runs 5 --warmup 1 --json >out 2>err
check cli_bench_json sh -c "grep -q '\"median_ms\": [0-9.]*' out && grep -q '\"p99_ms\"' out && grep -q '\"arena_bytes\": [1-9]' out &&
    grep -q '\"arena_lower_bound_bytes\"' out && grep -q '\"peak_rss_bytes\": [1-9]' out && grep -q '\"batch_items\": 4' out &&
    grep -q '\"session_create_ms\"' out && grep -q '\"items_per_s\"' out"
"$BENCH" conv.infer --runs 3 >out 2>err
check cli_bench_text sh -c "grep -q '^latency .*median' out && grep -q '^throughput .*items/s' out && grep -q '^arena .*lower bound' out"
"$BENCH" mlp.infer --runs 3 --profile >out 2>err
check cli_bench_profile_text sh -c "grep -q '^profile .* ms per run in 6 nodes' out && grep -q '^op type .*nodes .*ms/run' out &&
    grep -q '^MatMul  *2 ' out && grep -Eq '^op_0 +MatMul +(ref|avx2|avx512) ' out"
"$BENCH" mlp.infer --runs 3 --profile --json >out 2>err
check cli_bench_profile_json sh -c "grep -q '\"profile\": {\"total_ms_per_run\": [0-9.]*, \"ops\": \[{\"op\": ' out &&
    grep -q '\"nodes\": \[{\"name\": ' out && grep -q '\"percent\": ' out"
expect cli_bench_bad_model 1 "notmodel.infer" "$BENCH" bad/notmodel.infer
expect cli_bench_usage 2 "unknown option" "$BENCH" mlp.infer --nope
expect cli_bench_bad_precision 2 "--precision wants f32, tf32, f16 or bf16: fp16" "$BENCH" mlp.infer --precision fp16
exit $status
