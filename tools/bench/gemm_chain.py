#!/usr/bin/env python3
"""A chain of MatMul or Gemm nodes with random constant weights (fixed seed), timed with
infer-bench (one or more builds) and onnxruntime in alternating processes.

    .venv/bin/python tools/bench/gemm_chain.py [--op gemm|matmul] [--trans-b 0|1]
        [--m 1] [--k 2048] [--n 1000] [--layers 12] [--threads 1,2] [--runs 100]
        [--warmup 5] [--rounds 6] [--bin build/infer-bench,OTHER/infer-bench] [--build build]

Layer i maps k to n features when i is even and n to k when odd (so "1 x 2048 x 1000 and
back": a classifier's shape, 12 of them, 98 MB of weights a run); Gemm nodes have a bias
and transB as given (PyTorch's Linear exports transB 1). The model is written, once, to
BUILD/bench-chain/ as ONNX and converted with BUILD/infer-convert.
Timing, for each thread count, --rounds times each in turn (so they share the load):
  infer  BIN FILE.infer --threads T --warmup W --runs N --json: median_ms
  ORT    tools/bench/e2e.py --ort-worker (ORT_ENABLE_ALL, intra-op T, inter-op 1)
Each figure is the median over the rounds of the per-process medians, in ms, with its
ratio to the first build's.
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
        sys.exit("gemm_chain: %s failed: %s" % (" ".join(cmd), (p.stderr or p.stdout).strip()[-400:]))
    return p.stdout


def write_model(path, op, trans_b, m, k, n, layers):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    nodes, inits, x = [], [], "x"
    for i in range(layers):
        kin, kout = (k, n) if i % 2 == 0 else (n, k)
        w = (rng.standard_normal((kout, kin) if trans_b else (kin, kout)) / np.sqrt(kin)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, "w%d" % i))
        if op == "gemm":
            inits.append(numpy_helper.from_array(rng.standard_normal(kout).astype(np.float32), "b%d" % i))
            nodes.append(helper.make_node("Gemm", [x, "w%d" % i, "b%d" % i], ["y%d" % i], transB=trans_b))
        else:
            nodes.append(helper.make_node("MatMul", [x, "w%d" % i], ["y%d" % i]))
        x = "y%d" % i
    out = n if (layers - 1) % 2 == 0 else k
    g = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, [m, out])], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--op", choices=("gemm", "matmul"), default="gemm")
    ap.add_argument("--trans-b", type=int, choices=(0, 1), default=1)
    ap.add_argument("--m", type=int, default=1)
    ap.add_argument("--k", type=int, default=2048)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--bin", default=None, help="comma-separated infer-bench binaries (default BUILD/infer-bench)")
    a = ap.parse_args()
    if min(a.m, a.k, a.n, a.layers, a.runs, a.rounds) < 1:
        sys.exit("gemm_chain: --m, --k, --n, --layers, --runs and --rounds must be at least 1")
    if a.op == "matmul" and a.trans_b:
        sys.exit("gemm_chain: --trans-b 1 is for --op gemm (MatMul has no transB)")
    out = os.path.join(a.build, "bench-chain")
    os.makedirs(out, exist_ok=True)
    name = "%s_tb%d_%dx%dx%d_l%d" % (a.op, a.trans_b, a.m, a.k, a.n, a.layers)
    onnx_path, infer_path = os.path.join(out, name + ".onnx"), os.path.join(out, name + ".infer")
    if not os.path.exists(onnx_path):
        write_model(onnx_path + ".tmp", a.op, a.trans_b, a.m, a.k, a.n, a.layers)
        os.replace(onnx_path + ".tmp", onnx_path)
    if not os.path.exists(infer_path):
        run([os.path.join(a.build, "infer-convert"), onnx_path, "-o", infer_path])
    bins = a.bin.split(",") if a.bin else [os.path.join(a.build, "infer-bench")]
    for b in bins:
        if not os.access(b, os.X_OK):
            sys.exit("gemm_chain: --bin %s: not an executable" % b)
    cols = [(b, "infer") for b in bins] + [("onnxruntime", "ort")]
    e2e = os.path.join(ROOT, "tools/bench/e2e.py")
    print("%s chain, %d layers of %d x %d x %d and back, transB %d; median of per-process medians, ms "
          "(%d rounds of %d runs)" % (a.op, a.layers, a.m, a.k, a.n, a.trans_b, a.rounds, a.runs))
    print("| threads | " + " | ".join(c[0] for c in cols) + " |")
    print("|---:|" + "---:|" * len(cols))
    for t in [int(x) for x in a.threads.split(",")]:
        got = {c[0]: [] for c in cols}
        for r in range(a.rounds):
            for col, kind in cols if r % 2 == 0 else cols[::-1]:
                if kind == "infer":
                    o = run([col, infer_path, "--threads", str(t), "--warmup", str(a.warmup), "--runs", str(a.runs),
                             "--json"])
                else:
                    o = run([sys.executable, e2e, "--ort-worker", onnx_path, "1", str(t), str(a.warmup), str(a.runs),
                             "{}"])
                got[col].append(json.loads(o.strip().splitlines()[-1])["median_ms"])
        med = {c: statistics.median(v) for c, v in got.items()}
        first = med[bins[0]]
        print("| %d | " % t + " | ".join("%.3f (%.2f)" % (med[c[0]], med[c[0]] / first) for c in cols) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
