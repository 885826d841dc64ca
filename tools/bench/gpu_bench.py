#!/usr/bin/env python3
"""The Python half of tools/bench/gpu_check.sh (run that, not this): on a GPU machine,
the real models on "cuda" against "cpu", and end-to-end GPU timings against PyTorch.

    python3 tools/bench/gpu_bench.py check --models DIR [--bin build] [--cuda-bin build/cuda]
    python3 tools/bench/gpu_bench.py bench [--bin build] [--cuda-bin build/cuda] [--out DIR]
                                           [--models bert,resnet50,gpt2] [--runs N] [--budget S]
    python3 tools/bench/gpu_bench.py kernels [--models ...] [--budget S] | --csv NCU.csv

check: for each real model in DIR (models/export_models.py's folders: model.onnx,
test_data_set_0/, info.txt; not the converter cases beside them) converts model.onnx with BIN/infer-convert, runs
CUDA_BIN/infer-run on test_data_set_0's inputs with --device cpu, --device cuda:0, and
--device cuda:0 --precision f16, and compares, as max |a - b| / max |b|: cuda against cpu
within 1e-4 (f16: 1e-2, or twice PyTorch autocast's own f16 error on that model where
that is larger), and cuda against the stored onnxruntime outputs within 1e-3.
Needs numpy and onnx (to read the .pb files).

bench: exports BERT-base, ResNet-50 and GPT-2 small at full size with the same PyTorch
modules and seeds as models/export_models.py (torch.onnx.export only: onnxruntime is not
needed here), converts them, then times each on the GPU at its benchmark shape:
  bert      batch 32, seq 128        resnet50  batch 64 (224 x 224)
  gpt2      batch 8, seq 512 (prefill: the whole prompt in one pass)
ours: CUDA_BIN/infer-bench --device cuda:0 --json (median_ms), f32 and --precision f16
(the GEMMs' inputs rounded to f16 on the tensor cores; --profile-dir DIR also writes each
model's --profile table at f16 to DIR/NAME.txt); PyTorch eager: the
same module on cuda in f32 (TF32 off, as ours) and f16 (autocast), medians of --runs
timed runs after warm-up, synchronised, from host inputs to host outputs as infer-bench
times ours (and, in a second line, on the GPU alone); torch.compile (default mode) in a subprocess with
a time limit, after every model's other columns, skipped when it fails or runs out of time.
Inputs: f32 uniform in [-1, 1),
integer inputs zero, as infer-bench makes them (the values do not change the work).
Prints one table; a cell it could not measure says why in a note below it.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOL = 1e-3      # against onnxruntime's stored outputs
TOL_F32 = 1e-4  # cuda against cpu (the figures)
TOL_F16 = 1e-2
# models/export_models.py's real models (build/models also holds converter test cases)
REAL = ["resnet18", "mobilenet_v2", "efficientnet_b0", "bert", "gpt2", "vit", "resnet50", "minilm"]
SHAPES = {"bert": {"batch": 32, "seq": 128}, "resnet50": {"batch": 64},
          "gpt2": {"batch": 8, "seq": 512}}


def last_line(text):
    lines = [l for l in (text or "").strip().splitlines() if l.strip()]
    return lines[-1] if lines else "(no output)"


def first_error(text):
    """The first line of a tool's stderr that is not its progress summary."""
    lines = [l for l in (text or "").strip().splitlines()
             if l.strip() and " items in " not in l and " items/s" not in l]
    return lines[0] if lines else last_line(text)


def convert(bin_dir, onnx_path, infer_path, timeout):
    if os.path.exists(infer_path) and os.path.getmtime(infer_path) >= os.path.getmtime(onnx_path):
        return None
    os.makedirs(os.path.dirname(infer_path), exist_ok=True)
    try:
        p = subprocess.run([os.path.join(bin_dir, "infer-convert"), onnx_path, "-o", infer_path],
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "infer-convert: over %ds" % timeout
    return None if p.returncode == 0 else "infer-convert: " + last_line(p.stderr)


# ---------------------------------------------------------------------------- check

def check(a):
    import numpy as np
    import onnx
    import onnx.numpy_helper

    def load(folder, name):
        t = onnx.TensorProto()
        with open(os.path.join(folder, "test_data_set_0", name), "rb") as f:
            t.ParseFromString(f.read())
        return t.name, onnx.numpy_helper.to_array(t)

    def rel(x, y):
        return float(np.max(np.abs(x - y)) / (np.max(np.abs(y)) + 1e-12)) if y.size else 0.0

    failed = 0
    names = sorted(d for d in os.listdir(a.models)
                   if d in REAL and os.path.exists(os.path.join(a.models, d, "model.onnx"))
                   and os.path.isdir(os.path.join(a.models, d, "test_data_set_0")))
    for m in names:
        folder = os.path.join(a.models, m)
        infer_path = os.path.join(ROOT, "build", "gpu-check", m + ".infer")
        err = convert(a.bin, os.path.join(folder, "model.onnx"), infer_path, 120)
        if err:
            print("FAIL model_%s (%s)" % (m, err))
            failed += 1
            continue
        data = sorted(os.listdir(os.path.join(folder, "test_data_set_0")))
        inputs = [load(folder, n) for n in data if n.startswith("input_")]
        refs = [load(folder, n) for n in data if n.startswith("output_")]
        got = {}
        with tempfile.TemporaryDirectory() as tmp:
            for dev in ("cpu", "cuda:0", "cuda:0 f16"):
                out = os.path.join(tmp, dev.replace(":", "").replace(" ", "_"))
                cmd = [os.path.join(a.cuda_bin, "infer-run"), infer_path, "-o", out, "--device", dev.split()[0],
                       "--batch-size", str(inputs[0][1].shape[0])]
                if dev.endswith("f16"):
                    cmd += ["--precision", "f16"]
                for name, x in inputs:
                    np.save(os.path.join(tmp, name + ".npy"), x)
                    cmd += ["--input", "%s=%s" % (name, os.path.join(tmp, name + ".npy"))]
                try:
                    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
                    rc, msg = p.returncode, first_error(p.stderr)
                except subprocess.TimeoutExpired:
                    rc, msg = 1, "over 120 s"
                if rc != 0:
                    got = "%s: infer-run: %s" % (dev, msg)
                    break
                got[dev] = {n: np.load(os.path.join(out, n + ".npy")) for n, _ in refs}
        if isinstance(got, str):
            print("FAIL model_%s (%s)" % (m, got))
            failed += 1
            continue
        worst_cpu = max(rel(got["cuda:0"][n], got["cpu"][n]) for n, _ in refs)
        worst_ref = max(rel(got["cuda:0"][n], w) for n, w in refs)
        worst_f16 = max(rel(got["cuda:0 f16"][n], got["cpu"][n]) for n, _ in refs)
        torch_f16 = torch_f16_error(m, inputs, refs, rel)
        tol_f16 = TOL_F16 if torch_f16 is None else max(TOL_F16, 2 * torch_f16)
        ok = worst_cpu <= TOL_F32 and worst_ref <= TOL and worst_f16 <= tol_f16
        print("%s model_%s (cuda vs cpu %.2g [limit %g], cuda vs onnxruntime %.2g [%g], cuda f16 vs cpu %.2g [%.2g]%s)"
              % ("PASS" if ok else "FAIL", m, worst_cpu, TOL_F32, worst_ref, TOL, worst_f16, tol_f16,
                 "" if torch_f16 is None else "; PyTorch autocast f16 vs onnxruntime %.2g" % torch_f16))
        failed += not ok
    return 1 if failed else 0


def torch_f16_error(name, inputs, refs, rel):
    """The same model (export_models.py's small size and seed) run by PyTorch under f16
    autocast on the GPU, against the stored f32 outputs; None without torch and a GPU. Random
    weights make some deep nets (ResNet-50, MobileNetV2) amplify f16 rounding past 1e-2 of
    the output's scale whoever computes them: the f16 limit is then twice PyTorch's own error."""
    try:
        import torch
        if not torch.cuda.is_available():
            return None
        model = build_model(name, "small")[0].cuda()
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16):
            out = model(*[torch.from_numpy(x).cuda() for _, x in inputs])
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        return max(rel(o.float().cpu().numpy(), w) for o, (_, w) in zip(outs, refs))
    except Exception as e:  # noqa: BLE001 - a reference we could not make is reported, not fatal
        print("note: model_%s: PyTorch f16 reference: %s: %s" % (name, type(e).__name__, e))
        return None


# ---------------------------------------------------------------------------- bench

def import_export_models():
    """models/export_models.py's builders; onnx and onnxruntime are imported there but
    only its export_one uses them, so absent ones are stood in for."""
    for mod in ("onnx", "onnx.numpy_helper", "onnxruntime"):
        try:
            __import__(mod)
        except ImportError:
            sys.modules[mod] = types.ModuleType(mod)
    sys.path.insert(0, os.path.join(ROOT, "models"))
    import export_models
    return export_models


def build_model(name, size="full"):
    """(module, {input: numpy example}, output names, dynamic axes) at models/export_models.py's
    size and seed, batch 1."""
    import numpy as np
    import torch
    em = import_export_models()
    seed = 1000 + list(em.MODELS).index(name)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        model, inputs, out_names, dyn, _ = em.MODELS[name](em.SIZES[size], gen, rng)
    model.eval()
    return model, inputs, out_names, dyn


def bench_inputs(inputs, shape):
    """infer-bench's inputs at the benchmark shape: f32 uniform in [-1, 1), integers zero."""
    import numpy as np
    rng = np.random.default_rng(1)
    out = {}
    for k, x in inputs.items():
        dims = list(x.shape)
        dims[0] = shape["batch"]
        if len(dims) > 1 and "seq" in shape and x.dtype != np.float32:
            dims[1] = shape["seq"]
        if x.dtype == np.float32:
            out[k] = rng.uniform(-1, 1, size=dims).astype(np.float32)
        else:
            out[k] = np.zeros(dims, dtype=x.dtype)
    return out


def torch_time(model, inputs, runs, warmup, half):
    """Medians in ms: (host to host, device only). Host to host is what infer-bench times for
    ours (infer_run: inputs copied from host memory, outputs copied back to it); device only
    starts from inputs already on the GPU and leaves the outputs there."""
    import torch
    dev = torch.device("cuda")
    host = [torch.from_numpy(v) for v in inputs.values()]
    args = [t.to(dev) for t in host]
    times = {"host": [], "device": []}

    def to_host(out):
        return [o.cpu() for o in (out if isinstance(out, (tuple, list)) else [out])]
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16, enabled=half):
        for kind in ("host", "device"):
            for i in range(warmup + runs):
                torch.cuda.synchronize()
                t = time.perf_counter()
                if kind == "host":
                    to_host(model(*[h.to(dev) for h in host]))
                else:
                    model(*args)
                torch.cuda.synchronize()
                if i >= warmup:
                    times[kind].append((time.perf_counter() - t) * 1e3)
    return statistics.median(times["host"]), statistics.median(times["device"])


def compile_worker(a):
    """--compile-worker NAME: torch.compile's median in ms, printed as JSON."""
    import numpy as np
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    model, inputs, _, _ = build_model(a.compile_worker)
    model = model.cuda()
    x = bench_inputs(inputs, SHAPES[a.compile_worker])
    cm = torch.compile(model)
    ms, dev_ms = torch_time(cm, x, a.runs, 3, False)
    print(json.dumps({"median_ms": ms, "device_ms": dev_ms}))
    return 0


def bench_one(a, name, shape, row, notes, t_end):
    """One model's row: export, convert, ours at f32 and f16 (and its profile), PyTorch eager."""
    import torch
    model, inputs, out_names, dyn = build_model(name)
    onnx_path = os.path.join(a.out, name, "model.onnx")
    infer_path = os.path.join(a.out, name, "model.infer")
    if not os.path.exists(onnx_path):
        os.makedirs(os.path.dirname(onnx_path), exist_ok=True)
        import warnings
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            em = import_export_models()
            torch.onnx.export(model, tuple(torch.from_numpy(v) for v in inputs.values()), onnx_path,
                              opset_version=em.OPSET, input_names=list(inputs), output_names=out_names,
                              dynamic_axes=dyn, do_constant_folding=True, **em.EXPORT_KW)
    err = convert(a.bin, onnx_path, infer_path, 180)
    if err:
        notes.append("%s: %s" % (name, err))
    else:
        for prec in ("f32", "f16"):
            cmd = [os.path.join(a.cuda_bin, "infer-bench"), infer_path, "--device", "cuda:0", "--json",
                   "--warmup", "3", "--runs", str(a.runs), "--precision", prec]
            for k, v in shape.items():
                cmd += ["--dim", "%s=%d" % (k, v)]
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=max(10, t_end - time.time()))
                if p.returncode == 0:
                    row["ours_" + prec] = json.loads(p.stdout.strip().splitlines()[-1])["median_ms"]
                else:
                    notes.append("%s %s: infer-bench: %s" % (name, prec, first_error(p.stderr)))
            except (subprocess.TimeoutExpired, ValueError, KeyError, IndexError) as e:
                notes.append("%s %s: infer-bench: %s" % (name, prec, e))
        if a.profile_dir and "ours_f16" in row and t_end - time.time() > 60:
            os.makedirs(a.profile_dir, exist_ok=True)
            try:
                p = subprocess.run(cmd[:cmd.index("--json")] + cmd[cmd.index("--json") + 1:] + ["--profile"],
                                   capture_output=True, text=True, timeout=60)
                with open(os.path.join(a.profile_dir, name + ".txt"), "w") as f:
                    f.write(p.stdout + p.stderr)
            except subprocess.TimeoutExpired:
                notes.append("%s: infer-bench --profile: over 60 s" % name)
    x = bench_inputs(inputs, shape)
    model = model.cuda()
    row["torch_f32"], row["torch_dev_f32"] = torch_time(model, x, a.runs, 3, False)
    row["torch_f16"], row["torch_dev_f16"] = torch_time(model, x, a.runs, 3, True)
    del model
    torch.cuda.empty_cache()


def bench(a):
    import torch
    if not torch.cuda.is_available():
        print("bench: torch sees no CUDA device")
        return 1
    torch.backends.cuda.matmul.allow_tf32 = False   # f32 as ours: no TF32 rounding
    torch.backends.cudnn.allow_tf32 = False
    t_end = time.time() + a.budget
    rows, notes = [], []
    compile_ok = True
    for name in a.models.split(","):
        shape = SHAPES[name]
        row = {"model": name, "shape": " ".join("%s=%d" % kv for kv in shape.items())}
        rows.append(row)
        if time.time() > t_end - 20:
            notes.append("%s: skipped, out of time" % name)
            continue
        try:
            bench_one(a, name, shape, row, notes, t_end)
        except Exception as e:  # one model's failure (an export, PyTorch) leaves the others' rows
            notes.append("%s: %s: %s" % (name, type(e).__name__, str(e).splitlines()[0] if str(e) else ""))
        torch.cuda.empty_cache()
    for row in rows:  # torch.compile last: the rows above come first when time is short
        name = row["model"]
        left = t_end - time.time() - 10
        if compile_ok and left > 30 and "torch_f32" in row:
            try:
                p = subprocess.run([sys.executable, os.path.abspath(__file__), "--compile-worker", name,
                                    "--runs", str(a.runs)], capture_output=True, text=True,
                                   timeout=min(a.compile_timeout, left))
                if p.returncode == 0:
                    j = json.loads(p.stdout.strip().splitlines()[-1])
                    row["compile_f32"], row["compile_dev_f32"] = j["median_ms"], j["device_ms"]
                else:
                    notes.append("%s: torch.compile: %s" % (name, last_line(p.stderr)))
                    compile_ok = False
            except subprocess.TimeoutExpired:
                notes.append("%s: torch.compile: over %ds, not tried on the rest" % (name, min(a.compile_timeout, left)))
                compile_ok = False
        else:
            notes.append("%s: torch.compile: skipped (%s)" % (name, "failed before" if not compile_ok else "no time"))

    def cell(r, k):
        return "%.2f" % r[k] if k in r else "-"
    print()
    print("GPU: %s; torch %s; medians of %d runs, ms (lower is better); host to host: inputs from and "
          "outputs to host memory, as infer_run" % (torch.cuda.get_device_name(0), torch.__version__, a.runs))
    hdr = ("model", "shape", "infer f32", "infer f16", "torch f32", "torch f16", "compile f32")
    print("%-9s %-18s %10s %10s %10s %10s %12s" % hdr)
    for r in rows:
        print("%-9s %-18s %10s %10s %10s %10s %12s" % (
            r["model"], r["shape"], cell(r, "ours_f32"), cell(r, "ours_f16"), cell(r, "torch_f32"),
            cell(r, "torch_f16"), cell(r, "compile_f32")))
    print("PyTorch on the GPU alone (inputs already there, outputs left there), ms: "
          + "; ".join("%s f32 %s, f16 %s, compile f32 %s" % (r["model"], cell(r, "torch_dev_f32"),
                                                             cell(r, "torch_dev_f16"), cell(r, "compile_dev_f32"))
                      for r in rows))
    print("infer f16: --precision f16 (GEMM inputs rounded to f16 on the tensor cores; tensors stay f32); "
          "torch f16: autocast")
    for r in rows:
        if "ours_f16" in r and "torch_f16" in r:
            print("%s: throughput, infer f16 / torch f16 %.2fx; infer f32 / torch f32 %s"
                  % (r["model"], r["torch_f16"] / r["ours_f16"],
                     "%.2fx" % (r["torch_f32"] / r["ours_f32"]) if "ours_f32" in r else "-"))
    for n in notes:
        print("note: " + n)
    return 0


# ---------------------------------------------------------------------------- kernels

def ncu_summary(lines, top=12):
    """(total ms, [(ms, launches, kernel name)] largest first) from `ncu --csv --metrics
    gpu__time_duration.sum` output; template arguments and parameter lists are cut from the
    names, so one kernel's instances add up."""
    import collections
    import csv
    rows = csv.DictReader([l for l in lines if l.startswith('"')])
    scale = {"nsecond": 1e-6, "ns": 1e-6, "usecond": 1e-3, "us": 1e-3, "msecond": 1.0, "ms": 1.0}
    agg = collections.defaultdict(lambda: [0.0, 0])
    for r in rows:
        if r.get("Metric Name") != "gpu__time_duration.sum":
            continue
        name = r.get("Kernel Name", "?").split("(")[0]
        name = name.replace("void ", "")
        agg[name][0] += float(r["Metric Value"].replace(",", "")) * scale.get(r.get("Metric Unit", "ns"), 1e-6)
        agg[name][1] += 1
    out = sorted(((ms, n, k) for k, (ms, n) in agg.items()), reverse=True)
    return sum(ms for ms, _, _ in out), out[:top]


def kernels(a):
    """Each benchmark model (bench's exports in --out) run once at f16 under ncu: where the
    GPU time goes, kernel by kernel. --csv FILE summarises a saved ncu CSV instead."""
    import shutil
    if a.csv:
        with open(a.csv) as f:
            return print_kernels(a.csv, f.read().splitlines())
    ncu = shutil.which("ncu") or next((p for p in ("/usr/local/cuda/bin/ncu",) if os.path.exists(p)), None)
    if not ncu:
        print("kernels: no ncu")
        return 1
    t_end = time.time() + a.budget
    for name in a.models.split(","):
        infer_path = os.path.join(a.out, name, "model.infer")
        left = t_end - time.time()
        if not os.path.exists(infer_path) or left < 10:
            print("note: %s: %s" % (name, "no %s (bench exports it)" % infer_path if left >= 10 else "out of time"))
            continue
        cmd = [ncu, "--clock-control", "none", "--metrics", "gpu__time_duration.sum", "--csv",
               os.path.join(a.cuda_bin, "infer-bench"), infer_path, "--device", "cuda:0", "--precision", "f16",
               "--warmup", "0", "--runs", "1"]
        for k, v in SHAPES[name].items():
            cmd += ["--dim", "%s=%d" % (k, v)]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=left)
            print_kernels("%s at f16 (one run: the first, captured as a CUDA graph)" % name, p.stdout.splitlines())
        except subprocess.TimeoutExpired:
            print("note: %s: ncu over %d s" % (name, left))
    return 0


def print_kernels(title, lines):
    total, top = ncu_summary(lines)
    print("%s: %.2f ms of kernels" % (title, total))
    for ms, n, k in top:
        print("  %8.3f ms %5.1f%% %4d x  %s" % (ms, 100 * ms / total if total else 0, n, k[:90]))
    return 0 if top else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", nargs="?", choices=("check", "bench", "kernels"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "build"))
    ap.add_argument("--cuda-bin", default=os.path.join(ROOT, "build", "cuda"))
    ap.add_argument("--models", default=None)
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "gpu-bench"))
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--budget", type=float, default=200, help="bench: seconds for everything")
    ap.add_argument("--compile-timeout", type=int, default=90)
    ap.add_argument("--profile-dir", default=None, help="bench: each model's infer-bench --profile at f16 here")
    ap.add_argument("--csv", default=None, help="kernels: summarise this saved ncu --csv output")
    ap.add_argument("--compile-worker", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.compile_worker:
        return compile_worker(a)
    if a.cmd == "check":
        a.models = a.models or os.path.join(ROOT, "build", "models")
        return check(a)
    if a.cmd in ("bench", "kernels"):
        a.models = a.models or "bert,resnet50,gpt2"
        return bench(a) if a.cmd == "bench" else kernels(a)
    ap.error("check, bench or kernels")


if __name__ == "__main__":
    sys.exit(main())
