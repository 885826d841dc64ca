#!/bin/sh
# make demo as a test, for the builds that run under an emulator (make test-arm64, make
# test-windows): convert the bundled digits model, run it over its 1797 images, and check
# the accuracy is the one README reports for x86-64 (99.83%, 1794 of 1797).
# BUILD names the build folder, EXE the programs' suffix (.exe), RUN_PREFIX what runs them.
cd "$(dirname "$0")/.." || exit 1
B=${BUILD:-build}
X=${EXE:-}
R=${RUN_PREFIX:-}
want="accuracy 99.83% (1794 of 1797 images)"
rm -rf "$B/digits" "$B/digits.infer"
if ! $R "$B/infer-convert$X" models/digits/digits.onnx -o "$B/digits.infer" >"$B/demo.log" 2>&1; then
    echo "FAIL demo_convert"; sed 's/^/  /' "$B/demo.log"; exit 1
fi
echo "PASS demo_convert"
if ! $R "$B/infer-run$X" "$B/digits.infer" models/digits/images.npy -o "$B/digits" --batch-size 64 >"$B/demo.log" 2>&1; then
    echo "FAIL demo_run"; sed 's/^/  /' "$B/demo.log"; exit 1
fi
echo "PASS demo_run"
got=$($R "$B/digits-accuracy$X" "$B/digits/logits.npy" models/digits/labels.npy 2>&1 | tr -d '\r')
if [ "$got" = "$want" ]; then
    echo "PASS demo_accuracy ($got)"
else
    echo "FAIL demo_accuracy"; echo "  got:  $got"; echo "  want: $want"; exit 1
fi
