#!/bin/sh
# tests/fuzz/make_corpus.sh DIR - writes the seed corpora of the fuzz targets into
# DIR/corpus-model, DIR/corpus-onnx and DIR/corpus-npy (added to what the fuzzer saved there):
#   model: hello.infer, the tests/cli_models.c models, digits.infer, every small ONNX model
#          of build/models and a sample of build/onnx-node-tests converted by infer-convert,
#          tests/data/bad/*, and broken copies of hello.infer (truncated, bytes flipped);
#   onnx:  models/digits/digits.onnx, small build/models/*/model.onnx, a sample of the node
#          tests' model.onnx and input_0.pb, truncated copies;
#   npy:   the cli_models inputs and bad inputs, models/digits/labels.npy, broken copies.
# B (default build) holds hello, cli_models and infer-convert. Missing optional sources
# (build/models, build/onnx-node-tests, tests/data/bad) are skipped.
set -eu
dir=$1
B=${B:-build}
tmp="$dir/seeds.tmp"
rm -rf "$tmp"
mkdir -p "$tmp/cli" "$tmp/conv" "$dir/corpus-model" "$dir/corpus-onnx" "$dir/corpus-npy"

# the first n bytes of a file, and a copy with one byte xor'd at offset off
trunc() { head -c "$2" "$1" >"$3"; }
flip() { # flip SRC OFF OUT
    cp "$1" "$3"
    b=$(od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' ')
    [ -n "$b" ] || return 0
    printf "$(printf '\\%03o' $(( (b ^ 0x5a) & 255 )))" | dd of="$3" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
small() { [ "$(wc -c <"$1")" -le "$2" ]; }

# -- model --
"$B/hello" "$tmp/hello.infer" >/dev/null
"$B/cli_models" "$tmp/cli" 8 >/dev/null
cp "$tmp/hello.infer" "$dir/corpus-model/hello.infer"
for f in "$tmp"/cli/*.infer "$tmp"/cli/bad/*.infer; do
    [ -f "$f" ] && small "$f" 262144 && cp "$f" "$dir/corpus-model/cli-$(basename "$f")"
done
"$B/infer-convert" models/digits/digits.onnx -o "$dir/corpus-model/digits.infer" >/dev/null 2>&1 || true
n=0
for m in build/models/*/model.onnx build/onnx-node-tests/*/model.onnx; do
    [ -f "$m" ] && small "$m" 65536 || continue
    n=$((n + 1))
    case $m in build/onnx-node-tests/*) [ $((n % 6)) -eq 0 ] || continue ;; esac
    name=$(basename "$(dirname "$m")")
    "$B/infer-convert" "$m" -o "$tmp/conv/$name.infer" >/dev/null 2>&1 || continue
    small "$tmp/conv/$name.infer" 65536 && cp "$tmp/conv/$name.infer" "$dir/corpus-model/$name.infer"
done
if [ -d tests/data/bad ]; then
    for f in tests/data/bad/*; do [ -f "$f" ] && cp "$f" "$dir/corpus-model/bad-$(basename "$f")"; done
fi
h="$tmp/hello.infer"
for len in 0 7 8 63 64 100 200 400 1000 2000; do trunc "$h" $len "$dir/corpus-model/hello-trunc-$len"; done
for off in 8 12 16 48 64 72 80 96 128 256 512 1024 2048; do flip "$h" $off "$dir/corpus-model/hello-flip-$off"; done

# -- onnx --
cp models/digits/digits.onnx "$dir/corpus-onnx/digits.onnx"
n=0
for m in build/models/*/model.onnx build/onnx-node-tests/*/model.onnx; do
    [ -f "$m" ] && small "$m" 131072 || continue
    n=$((n + 1))
    name=$(basename "$(dirname "$m")")
    case $m in build/onnx-node-tests/*) [ $((n % 4)) -eq 0 ] || continue ;; esac
    cp "$m" "$dir/corpus-onnx/$name.onnx"
    p="$(dirname "$m")/test_data_set_0/input_0.pb"
    [ $((n % 16)) -eq 0 ] && [ -f "$p" ] && small "$p" 16384 && cp "$p" "$dir/corpus-onnx/$name-input_0.pb"
done
d=models/digits/digits.onnx
for len in 0 1 2 10 100 1000 10000; do trunc "$d" $len "$dir/corpus-onnx/digits-trunc-$len"; done

# -- npy --
for f in "$tmp"/cli/*.npy "$tmp"/cli/bad/*.npy "$tmp"/cli/images/*.npy; do
    [ -f "$f" ] && small "$f" 16384 && cp "$f" "$dir/corpus-npy/$(basename "$f")"
done
cp models/digits/labels.npy "$dir/corpus-npy/labels.npy"
x="$tmp/cli/x.npy"
for len in 0 6 8 9 10 20 64 127 128 200; do trunc "$x" $len "$dir/corpus-npy/x-trunc-$len"; done
for off in 6 7 8 9 12 20 30 40 50 60 127; do flip "$x" $off "$dir/corpus-npy/x-flip-$off"; done

rm -rf "$tmp"
for t in model onnx npy; do echo "seed corpus $t: $(ls "$dir/corpus-$t" | wc -l) files"; done
