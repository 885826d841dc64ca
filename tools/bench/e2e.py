#!/usr/bin/env python3
"""End-to-end latency and peak memory of infer against onnxruntime, one table (make bench).

    .venv/bin/python tools/bench/e2e.py [--models LIST] [--batches 1,8] [--threads 1,2]
                                        [--runs N] [--warmup N] [--rounds R] [--quick] [--markdown]

Each model is a folder written by models/export_models.py (model.onnx, test_data_set_0/,
info.txt), in build/models-full (make models-full) or, with --quick, build/models (make
models). For each model:

- model.onnx is converted once by build/infer-convert into build/bench/<folder>/NAME.infer
  (again only when the ONNX file or the converter is newer);
- that file is checked: build/infer-run on test_data_set_0's inputs, every output within
  1e-3 of the reference stored beside them (max |ours - ort| / max |ort|; the reference is
  onnxruntime's output, graph optimisations off, written by the export);
- then for each batch and thread count, in a fresh process each:
  ours  build/infer-bench NAME.infer --dim batch=B [--dim seq=S] --threads T --warmup W
        --runs N --json, its median_ms;
  ORT   this script with --ort-worker: an InferenceSession with ORT_ENABLE_ALL graph
        optimisations, intra_op_num_threads=T, inter_op_num_threads=1, sequential
        execution, W warm-up runs, then N timed runs of session.run, their median.
  With --rounds R the pair (ours, then ORT) runs R times, alternating, and each side's
  row is the median of its R medians (peak RSS: the largest): on a shared machine a
  core taken away for a while then slows a round, not one side's whole row.
  Both get the inputs infer-bench makes: f32 uniform in [-1, 1) from a fixed seed, integer
  inputs (token ids, masks) zero; the values do not change the work done. Dims other than
  batch (seq) are the export's, from info.txt (128 at full size).

Peak RSS is each process's own high-water mark, VmHWM in /proc/self/status, in MiB: ours
as infer-bench reports it, ORT's read by the worker at its end. (ru_maxrss would not do: a
child's counts its parent's memory at fork, here a Python process.) ORT's includes the
Python interpreter with numpy and onnxruntime imported; the header says how much that is
alone. Ours maps the weights from the file, so weights a run never reads (embedding rows
of tokens not in the input) are not resident; onnxruntime reads them all into memory.
A failed run or check marks its row FAIL and prints the reason. Exit status: 0 all rows
measured and checked; 1 a run or a check failed, or a tool is not built; 2 a usage error;
3 a model folder is missing (tests/test_bench.sh reports that as SKIP).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = ["resnet50", "mobilenet_v2", "efficientnet_b0", "bert", "minilm", "gpt2"]
CHECK_TOL = 1e-3
EXIT_MISSING = 3


# ---------------------------------------------------------------------------- ORT worker

def ort_worker(path, batch, threads, warmup, runs, dims):
    """Runs in its own process (--ort-worker): times one onnxruntime session, prints JSON.
    With path "-" it only imports, so that its peak RSS is the baseline of the others."""
    import numpy as np
    import onnxruntime as ort
    if path == "-":
        print(json.dumps(dict(version=ort.__version__, rss_mib=peak_rss_mib())))
        return 0
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    dims = dict(dims, batch=batch)
    rng = np.random.default_rng(0)
    feeds = {}
    for i in sess.get_inputs():
        shape = [d if isinstance(d, int) else dims[d] for d in i.shape]
        if i.type == "tensor(float)":
            feeds[i.name] = rng.uniform(-1, 1, shape).astype(np.float32)
        else:                                # as infer-bench: integer inputs are zero
            feeds[i.name] = np.zeros(shape, dtype=np.int64 if "int64" in i.type else np.int32)
    for _ in range(warmup):
        sess.run(None, feeds)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, feeds)
        times.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps(dict(version=ort.__version__, median_ms=statistics.median(times),
                          rss_mib=peak_rss_mib())))
    return 0


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


# ---------------------------------------------------------------------------- helpers

def run(cmd):
    """Runs cmd; returns (exit status, stdout, stderr)."""
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    return p.returncode, p.stdout, p.stderr


def last_line(text):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return lines[-1] if lines else "(no output)"


def read_dims(folder):
    """info.txt line 1, "batch=1 seq=128", as {name: value}."""
    with open(os.path.join(folder, "info.txt")) as f:
        return {k: int(v) for k, v in (kv.split("=") for kv in f.readline().split())}


def convert(tools, onnx_path, infer_path):
    conv = os.path.join(tools, "infer-convert")
    if (os.path.exists(infer_path) and os.path.getmtime(infer_path) >= os.path.getmtime(onnx_path)
            and os.path.getmtime(infer_path) >= os.path.getmtime(conv)):
        return None
    os.makedirs(os.path.dirname(infer_path), exist_ok=True)
    p = subprocess.run([conv, onnx_path, "-o", infer_path], capture_output=True, text=True)
    return None if p.returncode == 0 else "infer-convert: " + last_line(p.stderr)


def check(tools, folder, infer_path, threads):
    """Our outputs on test_data_set_0 against the stored onnxruntime outputs: (worst
    relative error, None) or (None, reason)."""
    import numpy as np
    import onnx
    import onnx.numpy_helper

    def load(name):
        t = onnx.TensorProto()
        with open(os.path.join(folder, "test_data_set_0", name), "rb") as f:
            t.ParseFromString(f.read())
        return t.name, onnx.numpy_helper.to_array(t)

    data = sorted(os.listdir(os.path.join(folder, "test_data_set_0")))
    inputs = [load(n) for n in data if n.startswith("input_")]
    outputs = [load(n) for n in data if n.startswith("output_")]
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [os.path.join(tools, "infer-run"), infer_path, "-o", os.path.join(tmp, "out"),
               "--batch-size", str(inputs[0][1].shape[0]), "--threads", str(threads)]
        for name, x in inputs:
            np.save(os.path.join(tmp, name + ".npy"), x)
            cmd += ["--input", "%s=%s" % (name, os.path.join(tmp, name + ".npy"))]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            return None, "infer-run: " + last_line(p.stderr)
        worst = 0.0
        for name, want in outputs:
            got = np.load(os.path.join(tmp, "out", name + ".npy"))
            if got.shape != want.shape:
                return None, "output %s: shape %s, onnxruntime %s" % (name, got.shape, want.shape)
            err = float(np.max(np.abs(got - want)) / (np.max(np.abs(want)) + 1e-12))
            if not err <= CHECK_TOL:
                return None, "output %s differs from onnxruntime by %.3g (limit %g)" % (
                    name, err, CHECK_TOL)
            worst = max(worst, err)
    return worst, None


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def int_list(s):
    return [int(x) for x in s.split(",")]


# ---------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated (default: %(default)s)")
    ap.add_argument("--batches", default=None, help="comma-separated (default 1,8; --quick 1)")
    ap.add_argument("--threads", default="1,2", help="comma-separated (default %(default)s)")
    ap.add_argument("--runs", type=int, default=None, help="timed runs per median (default 10; --quick 1)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed runs first (default 2; --quick 0)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="fresh (ours, ORT) process pairs per row, alternating; each side's median (default 1)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: the small models of build/models, 1 run, batch 1")
    ap.add_argument("--dir", default=None, help="the models' folder (default build/models-full, "
                    "or build/models with --quick)")
    ap.add_argument("--bin", default="build", help="where infer-convert/-run/-bench are (default build)")
    ap.add_argument("--markdown", action="store_true", help="print the table as markdown (for README)")
    ap.add_argument("--ort-worker", nargs=6, metavar=("ONNX", "B", "T", "W", "N", "DIMS"),
                    help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.ort_worker:
        p, b, t, w, n, dims = a.ort_worker
        return ort_worker(p, int(b), int(t), int(w), int(n), json.loads(dims))

    if a.rounds < 1:
        ap.error("--rounds must be at least 1")
    runs = a.runs if a.runs is not None else (1 if a.quick else 10)
    warmup = a.warmup if a.warmup is not None else (0 if a.quick else 2)
    batches = int_list(a.batches or ("1" if a.quick else "1,8"))
    threads = int_list(a.threads)
    folder = a.dir or os.path.join(ROOT, "build", "models" if a.quick else "models-full")
    target = "make models" if a.quick else "make models-full"
    tools = os.path.join(ROOT, a.bin) if not os.path.isabs(a.bin) else a.bin
    models = a.models.split(",")
    for exe in ("infer-convert", "infer-run", "infer-bench"):
        if not os.access(os.path.join(tools, exe), os.X_OK):
            path = os.path.join(tools, exe)
            sys.exit("e2e: %s is not built (make %s)" % (path, os.path.relpath(path, ROOT)))
    for m in models:
        if not os.path.exists(os.path.join(folder, m, "info.txt")):
            print("e2e: %s is missing (%s exports it)" % (os.path.join(folder, m), target),
                  file=sys.stderr)
            return EXIT_MISSING

    code, out, err = run([sys.executable, os.path.abspath(__file__),
                          "--ort-worker", "-", "0", "0", "0", "0", "{}"])
    if code != 0:
        sys.exit("e2e: onnxruntime does not import: " + last_line(err))
    version, base_rss = json.loads(out)["version"], json.loads(out)["rss_mib"]

    rows, failures, checks = [], [], []
    cache = os.path.join(ROOT, "build", "bench", os.path.basename(os.path.normpath(folder)))
    for m in models:
        mdir = os.path.join(folder, m)
        infer_path = os.path.join(cache, m + ".infer")
        dims = read_dims(mdir)
        extra = {k: v for k, v in dims.items() if k != "batch"}
        label = m + "".join(" %s %d" % kv for kv in extra.items())
        reason = convert(tools, os.path.join(mdir, "model.onnx"), infer_path)
        if reason is None:
            worst, reason = check(tools, mdir, infer_path, max(threads))
        if reason is not None:
            failures.append("%s: %s" % (m, reason))
            rows += [[label, b, t, None, None, None, None] for b in batches for t in threads]
            continue
        checks.append("%s %.1e" % (m, worst))
        for b in batches:
            for t in threads:
                dim_args = ["--dim", "batch=%d" % b]
                for k, v in extra.items():
                    dim_args += ["--dim", "%s=%d" % (k, v)]
                row = [label, b, t, None, None, None, None]
                ours_ms, ort_ms, ours_rss, ort_rss = [], [], [], []
                for _ in range(a.rounds):
                    code, out, err = run(
                        [os.path.join(tools, "infer-bench"), infer_path, "--threads", str(t),
                         "--warmup", str(warmup), "--runs", str(runs), "--json"] + dim_args)
                    if code != 0:
                        failures.append("%s batch %d threads %d: infer-bench: %s" % (m, b, t, last_line(err)))
                        break
                    r = json.loads(out)
                    ours_ms.append(r["median_ms"]), ours_rss.append(r["peak_rss_bytes"] / 2.0**20)
                    code, out, err = run(
                        [sys.executable, os.path.abspath(__file__), "--ort-worker",
                         os.path.join(mdir, "model.onnx"), str(b), str(t), str(warmup), str(runs),
                         json.dumps(extra)])
                    if code != 0:
                        failures.append("%s batch %d threads %d: onnxruntime: %s" % (m, b, t, last_line(err)))
                        break
                    r = json.loads(out)
                    ort_ms.append(r["median_ms"]), ort_rss.append(r["rss_mib"])
                if ours_ms:
                    row[3], row[5] = statistics.median(ours_ms), max(ours_rss)
                if ort_ms:
                    row[4], row[6] = statistics.median(ort_ms), max(ort_rss)
                rows.append(row)
                print("e2e: %s batch %d threads %d done" % (m, b, t), file=sys.stderr, flush=True)

    header = ("infer vs onnxruntime %s (CPUExecutionProvider, ORT_ENABLE_ALL, intra-op threads = "
              "ours, inter-op 1); median of %d runs after %d warm-up, each row %s; "
              "peak RSS per process (ORT's includes Python, numpy and onnxruntime: %.0f MiB alone); "
              "CPU: %s, %d CPUs, load average %.2f; %s"
              % (version, runs, warmup, "two fresh processes" if a.rounds == 1 else
                 "the median of %d rounds of two fresh processes, alternating" % a.rounds, base_rss, cpu_name(), os.cpu_count() or 0, os.getloadavg()[0],
                 time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())))
    checked = ("outputs vs onnxruntime on the export's test data (max |ours - ort| / max |ort|, "
               "limit %g): %s" % (CHECK_TOL, ", ".join(checks) or "none passed"))
    cols = ["model", "batch", "threads", "ours ms", "ORT ms", "ours/ORT", "ours RSS MiB", "ORT RSS MiB"]
    table = []
    for label, b, t, ours, ref, ours_rss, ref_rss in rows:
        fmt = lambda x, f: "FAIL" if x is None else f % x
        ratio = "-" if ours is None or ref is None else "%.2f" % (ours / ref)
        table.append([label, str(b), str(t), fmt(ours, "%.2f"), fmt(ref, "%.2f"), ratio,
                      fmt(ours_rss, "%.0f"), fmt(ref_rss, "%.0f")])
    if a.markdown:
        print("| " + " | ".join(cols) + " |")
        print("|" + "---|" * len(cols))
        for r in table:
            print("| " + " | ".join(r) + " |")
        print("\nRun header: %s.\nChecked: %s." % (header, checked))
    else:
        print(header)
        print(checked)
        w = [max(len(r[i]) for r in table + [cols]) for i in range(len(cols))]
        for r in [cols] + table:
            print("  ".join(r[0].ljust(w[0]) if i == 0 else r[i].rjust(w[i]) for i in range(len(cols))))
    for f in failures:
        print("FAIL " + f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
