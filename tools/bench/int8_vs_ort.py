#!/usr/bin/env python3
"""BERT-base latency: infer's int8 weights (infer-convert --weights int8, the int8 GEMM)
next to onnxruntime's quantize_dynamic (QInt8 weights), and both in f32 (issue 9).

    .venv/bin/python tools/bench/int8_vs_ort.py [--model build/models-full/bert]
        [--build build] [--threads 1,2] [--runs 20] [--warmup 3] [--rounds 2] [--out DIR]

Conversions (once, into --out, default BUILD/bench-int8/):
  infer  BUILD/infer-convert model.onnx -o bert_f32.infer, and --weights int8 -o bert_int8.infer
  ORT    onnxruntime.quantization.quantize_dynamic(model.onnx, bert_ort_qint8.onnx,
         weight_type=QInt8) (per-tensor weights, dynamic u8 activations: its defaults)
Timing, for each thread count, the four in turn, --rounds times (so they share the load):
  infer  BUILD/infer-bench FILE --dim batch=1 --dim seq=128 --threads T --warmup W --runs N
         --json: median_ms
  ORT    tools/bench/e2e.py --ort-worker: ORT_ENABLE_ALL, intra_op_num_threads T,
         inter_op_num_threads 1, sequential; W warm-up runs, the median of N
Each figure is the median over the rounds of the per-process medians, in ms.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if p.returncode != 0:
        sys.exit("int8_vs_ort: %s failed: %s" % (" ".join(cmd), (p.stderr or p.stdout).strip()[-400:]))
    return p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(ROOT, "build/models-full/bert"))
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    out = a.out or os.path.join(a.build, "bench-int8")
    os.makedirs(out, exist_ok=True)
    onnx = os.path.join(a.model, "model.onnx")
    files = {"f32": os.path.join(out, "bert_f32.infer"), "int8": os.path.join(out, "bert_int8.infer"),
             "ort_q": os.path.join(out, "bert_ort_qint8.onnx")}
    conv = os.path.join(a.build, "infer-convert")
    if not os.path.exists(files["f32"]):
        run([conv, onnx, "-o", files["f32"]])
    if not os.path.exists(files["int8"]):
        run([conv, onnx, "-o", files["int8"], "--weights", "int8"])
    if not os.path.exists(files["ort_q"]):
        from onnxruntime.quantization import QuantType, quantize_dynamic
        quantize_dynamic(onnx, files["ort_q"], weight_type=QuantType.QInt8)
    bench = os.path.join(a.build, "infer-bench")
    e2e = os.path.join(ROOT, "tools/bench/e2e.py")
    dims = json.dumps({"seq": a.seq})
    cols = [("infer f32", "infer", files["f32"]), ("infer int8", "infer", files["int8"]),
            ("ORT f32", "ort", onnx), ("ORT quantize_dynamic", "ort", files["ort_q"])]
    rows = []
    for t in [int(x) for x in a.threads.split(",")]:
        got = {c[0]: [] for c in cols}
        for _ in range(a.rounds):
            for name, kind, path in cols:
                if kind == "infer":
                    o = run([bench, path, "--dim", "batch=1", "--dim", "seq=%d" % a.seq, "--threads", str(t),
                             "--warmup", str(a.warmup), "--runs", str(a.runs), "--json"])
                else:
                    o = run([sys.executable, e2e, "--ort-worker", path, "1", str(t), str(a.warmup), str(a.runs), dims])
                got[name].append(json.loads(o.strip().splitlines()[-1])["median_ms"])
        rows.append((t, {k: statistics.median(v) for k, v in got.items()}))
    print("BERT-base, batch 1, seq %d, median ms (%d rounds of %d runs)" % (a.seq, a.rounds, a.runs))
    print("| threads | " + " | ".join(c[0] for c in cols) + " |")
    print("|---:|" + "---:|" * len(cols))
    for t, r in rows:
        print("| %d | " % t + " | ".join("%.1f" % r[c[0]] for c in cols) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
