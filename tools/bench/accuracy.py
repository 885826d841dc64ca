#!/usr/bin/env python3
"""Accuracy and size of reduced-precision weights: f32 vs f16 vs bf16 vs int8 (issue 9).

    .venv/bin/python tools/bench/accuracy.py [--encoder DIR] [--resnet DIR] [--resnet-digits DIR]
                                             [--resnet-items N] [--encoder-items N] [--markdown]

Every model is converted four times by build/infer-convert --weights f32|f16|bf16|int8
into build/quant/<model>_<weights>.infer, run by build/infer-run, and compared with its
own f32 conversion:

- digits (models/digits, the demo model): accuracy over its 1797 images and labels;
- the BERT-like encoder (default build/models-full/bert, else build/models-full/minilm,
  else build/models/bert): cosine similarity of last_hidden_state per sequence (the
  minimum over sequences) and max |y - y_f32|, on --encoder-items random token sequences
  (ids uniform over the vocabulary, mask all ones, fixed seed);
- the ResNet (default build/models-full/resnet18, else build/models/resnet18): top-1
  agreement with f32 over --resnet-items random images (standard normal, fixed seed);
- the ResNet-18 trained on digits (--resnet-digits, default build/resnet18_digits, made by
  models/resnet_digits.py; `make accuracy` makes it when missing): top-1 agreement with
  f32 over --resnet-items random 3x32x32 inputs (standard normal, fixed seed), and accuracy
  on the 1797 digit images it was trained on. Skipped, with a note, when missing.

For both ResNets the f32 row gives the median gap between the two largest logits on the
random inputs: rounding flips a top-1 answer only where that gap is small.

The size column is the .infer file on disk. The encoder and the first ResNet have random
weights (the export downloads nothing), so their "agreement" measures how far rounding
moves the outputs, not accuracy on a real task; digits and the digits ResNet are trained.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
B = os.path.join(ROOT, "build")
OUT = os.path.join(B, "quant")
WEIGHTS = ["f32", "f16", "bf16", "int8"]


def sh(*args):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"accuracy.py: {' '.join(map(str, args))}: {r.stderr.strip() or r.stdout.strip()}")
    return r.stdout


def convert(onnx_path, name, w):
    out = os.path.join(OUT, f"{name}_{w}.infer")
    sh(os.path.join(B, "infer-convert"), onnx_path, "-o", out, "--weights", w)
    return out, os.path.getsize(out)


def run(model, inputs, tag, batch, dims=()):
    """inputs: {name: array}; returns {output name: array}"""
    d = os.path.join(OUT, "run", tag)
    args = []
    for k, v in inputs.items():
        p = os.path.join(OUT, "run", f"{tag}_{k}.npy")
        np.save(p, v)
        args += ["--input", f"{k}={p}"]
    for kv in dims:
        args += ["--dim", kv]
    sh(os.path.join(B, "infer-run"), model, *args, "-o", d, "--batch-size", batch)
    return {f[:-4]: np.load(os.path.join(d, f)) for f in os.listdir(d) if f.endswith(".npy")}


def first_existing(*dirs):
    for d in dirs:
        if d and os.path.exists(os.path.join(d, "model.onnx")):
            return d
    return None


def resnet_rows(folder, tag, name, items, images=None, labels=None):
    """Rows for one image classifier: top-1 agreement with its f32 conversion on `items`
    standard-normal images (fixed seed), and with images/labels also accuracy on those."""
    import onnx
    m = onnx.load(os.path.join(folder, "model.onnx"), load_external_data=False)
    inp = m.graph.input[0].name
    shape = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    x = np.random.default_rng(0).standard_normal([items] + shape[1:]).astype(np.float32)
    rows, ref, base = [], None, None
    for w in WEIGHTS:
        t = time.time()
        path, size = convert(os.path.join(folder, "model.onnx"), tag, w)
        logits = run(path, {inp: x}, f"{tag}_{w}", 16)["logits"]
        top = logits.argmax(-1)
        acc = None
        if images is not None:
            acc = 100.0 * float(np.mean(run(path, {inp: images}, f"{tag}_{w}_task", 64)["logits"].argmax(-1)
                                        == labels.reshape(-1)))
        if ref is None:
            ref, base, acc0 = top, size, acc
            s = np.sort(logits, -1)
            text = f"median top-2 logit gap {np.median(s[:, -1] - s[:, -2]):.3g}"
            if acc is not None:
                text += f"; accuracy {acc:.2f}%"
        else:
            text = f"top-1 agreement {100.0 * float(np.mean(top == ref)):.1f}%"
            if acc is not None:
                text += f"; accuracy {acc:.2f}% ({acc - acc0:+.2f} points)"
        rows.append((name, w, size, size / base, text, time.time() - t))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--encoder", help="model folder (default: see above)")
    ap.add_argument("--resnet", help="model folder (default: see above)")
    ap.add_argument("--resnet-digits", default=os.path.join(B, "resnet18_digits"),
                    help="the trained ResNet's folder (default build/resnet18_digits)")
    ap.add_argument("--resnet-items", type=int, default=500, help="random images per ResNet")
    ap.add_argument("--encoder-items", type=int, default=8)
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    a = ap.parse_args()
    shutil.rmtree(os.path.join(OUT, "run"), ignore_errors=True)  # no stale outputs
    os.makedirs(os.path.join(OUT, "run"), exist_ok=True)
    rows = []  # (model, weights, bytes, ratio, metric text, seconds)

    # digits
    name = "digits"
    labels = np.load(os.path.join(ROOT, "models/digits/labels.npy"))
    base = None
    for w in WEIGHTS:
        t = time.time()
        path, size = convert(os.path.join(ROOT, "models/digits/digits.onnx"), name, w)
        d = os.path.join(OUT, "run", f"{name}_{w}")
        sh(os.path.join(B, "infer-run"), path, os.path.join(ROOT, "models/digits/images.npy"), "-o", d,
           "--batch-size", 64)
        logits = np.load(os.path.join(d, "logits.npy"))
        acc = 100.0 * float(np.mean(logits.argmax(-1) == labels.reshape(-1)))
        base = base or (size, acc)
        rows.append((name, w, size, size / base[0], f"accuracy {acc:.2f}% ({acc - base[1]:+.2f} points)",
                     time.time() - t))

    # encoder
    enc = first_existing(a.encoder, os.path.join(B, "models-full/bert"), os.path.join(B, "models-full/minilm"),
                         os.path.join(B, "models/bert"))
    if enc:
        import onnx
        m = onnx.load(os.path.join(enc, "model.onnx"), load_external_data=False)
        inits = {i.name: list(i.dims) for i in m.graph.initializer}
        vocab = max(inits[n.input[0]][0] for n in m.graph.node
                    if n.op_type == "Gather" and n.input[0] in inits and len(inits[n.input[0]]) == 2)
        seq = int(dict(kv.split("=") for kv in open(os.path.join(enc, "info.txt")).readline().split())["seq"])
        rng = np.random.default_rng(0)
        feeds = {"input_ids": rng.integers(0, vocab, (a.encoder_items, seq), dtype=np.int64),
                 "attention_mask": np.ones((a.encoder_items, seq), dtype=np.int64)}
        feeds = {i.name: feeds[i.name] for i in m.graph.input if i.name in feeds}
        name = "encoder (" + os.path.relpath(enc, B) + ")"
        ref = base = None
        for w in WEIGHTS:
            t = time.time()
            path, size = convert(os.path.join(enc, "model.onnx"), "encoder", w)
            y = run(path, feeds, f"encoder_{w}", 4, [f"seq={seq}"])["last_hidden_state"].astype(np.float64)
            if ref is None:
                ref, base = y, size
            yf, rf = y.reshape(len(y), -1), ref.reshape(len(ref), -1)
            cos = np.sum(yf * rf, 1) / (np.linalg.norm(yf, axis=1) * np.linalg.norm(rf, axis=1))
            rows.append((name, w, size, size / base,
                         f"cosine min {cos.min():.5f}, max abs diff {np.abs(y - ref).max():.3g} "
                         f"(outputs up to {np.abs(ref).max():.3g})", time.time() - t))

    # ResNets: the random-weight one, then the one trained on digits
    rn = first_existing(a.resnet, os.path.join(B, "models-full/resnet18"), os.path.join(B, "models/resnet18"))
    if rn:
        rows += resnet_rows(rn, "resnet", "ResNet (" + os.path.relpath(rn, B) + f", {a.resnet_items} images)",
                            a.resnet_items)
    rd = first_existing(a.resnet_digits)
    if rd:
        rows += resnet_rows(rd, "resnet_digits", "ResNet-18 trained on digits (32x32; "
                            f"{a.resnet_items} random inputs, 1797 digits)", a.resnet_items,
                            np.load(os.path.join(rd, "images.npy")), np.load(os.path.join(rd, "labels.npy")))
    else:
        print(f"accuracy.py: no {a.resnet_digits}/model.onnx (models/resnet_digits.py makes it); "
              "skipping the trained ResNet", file=sys.stderr)

    if a.markdown:
        print("| model | weights | size (MB) | vs f32 | accuracy |")
        print("|---|---|---:|---:|---|")
        for r in rows:
            print(f"| {r[0]} | {r[1]} | {r[2] / 1e6:.2f} | {r[3]:.2f} | {r[4]} |")
    else:
        print(f"{'model':44} {'weights':7} {'size MB':>9} {'vs f32':>7}  accuracy")
        for r in rows:
            print(f"{r[0]:44} {r[1]:7} {r[2] / 1e6:9.2f} {r[3]:7.2f}  {r[4]}  [{r[5]:.0f} s]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
