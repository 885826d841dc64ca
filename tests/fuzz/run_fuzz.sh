#!/bin/sh
# tests/fuzz/run_fuzz.sh TARGET SECONDS DIR - runs DIR/fuzz_TARGET (libFuzzer) for SECONDS
# on DIR/corpus-TARGET with tests/fuzz/TARGET.dict when there is one, logs to
# DIR/TARGET.log, and prints one line: executions, seconds, corpus size, crashes.
# Exits non-zero when the target crashed (the crash file is DIR/crash-TARGET-*).
# FUZZ_SEED (default 1) fixes libFuzzer's mutations, so a run over the same corpus
# repeats. FUZZ_RUNS=N stops after N executions instead (SECONDS stays a cap): a run
# that no longer depends on the machine's speed, so CI's run is the one made here.
t=$1 secs=$2 dir=$3 seed=${FUZZ_SEED:-1}
runs=
[ -n "${FUZZ_RUNS:-}" ] && runs="-runs=$FUZZ_RUNS"
case $t in model) maxlen=65536 ;; onnx) maxlen=131072 ;; *) maxlen=4096 ;; esac
dict=
[ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
mkdir -p "$dir/corpus-$t"
"$dir/fuzz_$t" "$dir/corpus-$t" $dict -max_len=$maxlen -max_total_time="$secs" -timeout=60 \
    -seed="$seed" $runs -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/crash-$t-" >"$dir/$t.log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/$t.log" | tail -n 1)
ran=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$dir/$t.log" | tail -n 1 | awk '{print $5}')
crashes=$(ls "$dir"/crash-$t-* 2>/dev/null | wc -l)
size=$(ls "$dir/corpus-$t" | wc -l)
printf 'fuzz %-6s %10s executions %5s seconds %6s corpus files %3s crashes\n' "$t" "${execs:-?}" "${ran:-$secs}" "$size" "$crashes"
if [ "$rc" -ne 0 ]; then
    echo "fuzz $t: libFuzzer exited with status $rc; the end of $dir/$t.log:"
    tail -n 40 "$dir/$t.log"
    exit 1
fi
