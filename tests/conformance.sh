#!/bin/sh
# The conformance driver (tests/conformance.c) over the ONNX backend node tests
# (make testdata) and the exported real models (make models), each when present;
# nothing at all when neither is. $CONFORMANCE is the driver (default build/conformance).
cd "$(dirname "$0")/.." || exit 1
bin=${CONFORMANCE:-build/conformance}
status=0
if [ -d build/onnx-node-tests ]; then
    "$bin" --expect tests/conformance_expected.txt build/onnx-node-tests || status=1
fi
if [ -d build/models ]; then
    "$bin" --models build/models || status=1
fi
exit $status
