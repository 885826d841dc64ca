#!/bin/sh
# Replays every saved fuzz crash (tests/data/fuzz/<target>/*) through the target's replay
# build ($BUILD/fuzz_replay_<target>; under make asan, with ASan + UBSan): one PASS line
# per file that runs without a crash or sanitizer report.
BUILD=${BUILD:-build}
rc=0
for t in model onnx npy; do
    set -- tests/data/fuzz/$t/*
    if [ ! -e "$1" ]; then
        echo "SKIP fuzz_replay $t: no files in tests/data/fuzz/$t"
        continue
    fi
    out=$("$BUILD/fuzz_replay_$t" "$@" 2>&1)
    s=$?
    printf '%s\n' "$out" | sed -n 's/^PASS /PASS fuzz_replay '"$t"' /p'
    if [ $s -ne 0 ]; then
        echo "FAIL fuzz_replay $t (exit status $s)"
        printf '%s\n' "$out" | grep -v '^PASS ' | tail -n 20
        rc=1
    fi
done
exit $rc
