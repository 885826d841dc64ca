#!/bin/sh
# The end-to-end benchmark's smoke test: tools/bench/e2e.py --quick converts each bench
# model at small size (build/models, make models), checks its outputs against
# onnxruntime's and times it once with infer-bench and once with onnxruntime (batch 1,
# 1 and 2 threads). Prints PASS/FAIL/SKIP; SKIP without .venv or the models, as the other
# model tests. BUILD names the build folder (default build).
cd "$(dirname "$0")/.." || exit 1
B=${BUILD:-build}
if [ ! -x .venv/bin/python ]; then
    echo "SKIP bench_quick (no .venv: make venv)"
    exit 0
fi
out=$(.venv/bin/python tools/bench/e2e.py --quick --bin "$B" 2>&1)
case $? in
0) echo "PASS bench_quick" ;;
3) echo "SKIP bench_quick ($(printf '%s\n' "$out" | tail -n 1))" ;;
*)
    echo "FAIL bench_quick"
    printf '%s\n' "$out" | grep -v '^e2e: .* done$' | tail -n 20 | sed 's/^/  /'
    exit 1
    ;;
esac
