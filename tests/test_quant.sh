#!/bin/sh
# infer-convert --weights and --keep-f32 at the command line (issue 9), and a model that
# onnxruntime's quantize_dynamic made, against onnxruntime (tests/quant_ort.py; SKIP
# without .venv or build/models). Prints PASS/FAIL/SKIP lines; BUILD names the build folder.
cd "$(dirname "$0")/.." || exit 1
B=${BUILD:-build}
CONVERT=$B/infer-convert
[ -x "$CONVERT" ] || { echo "FAIL quant_setup ($CONVERT is not built)"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/infer-quant.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
status=0
result() { # NAME OK [detail]
    if [ "$2" = 0 ]; then echo "PASS $1"; else echo "FAIL $1"; [ -z "$3" ] || echo "  $3"; status=1; fi
}

"$CONVERT" nothing.onnx -o "$T/x.infer" --weights int4 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && grep -q "\-\-weights wants f32, f16, bf16 or int8, not 'int4'" "$T/err"
result quant_cli_bad_weights $? "exit $rc: $(cat "$T/err")"

M=build/models/bert/model.onnx
if [ -f "$M" ]; then
    "$CONVERT" "$M" -o "$T/b.infer" --weights int8 >"$T/out" 2>&1
    grep -q '^weights: 13 tensors to int8, 409600 bytes -> 107264 bytes$' "$T/out"
    result quant_cli_summary $? "$(cat "$T/out")"
    "$CONVERT" "$M" -o "$T/b.infer" --weights f16 --keep-f32 '/attn/*' --keep-f32 '/fc1*' >"$T/out" 2>&1
    grep -q '^weights: 3 tensors to f16, ' "$T/out"
    result quant_cli_keep_f32 $? "$(cat "$T/out")"
else
    echo "SKIP quant_cli_summary (build/models is absent: make models)"
fi

if [ -x .venv/bin/python ]; then
    .venv/bin/python tests/quant_ort.py "$B" "$T" >"$T/py" 2>&1
    grep -E '^(PASS|FAIL|SKIP)|^  ' "$T/py"
    grep -q '^FAIL' "$T/py" && status=1
    grep -q -E '^(PASS|FAIL|SKIP)' "$T/py" || { echo "FAIL quant_ort_bert (no result)"; tail -5 "$T/py"; status=1; }
else
    echo "SKIP quant_ort_bert (no .venv: make venv)"
fi
exit $status
