#!/usr/bin/env python3
"""Trains a torchvision ResNet-18 on scikit-learn's digits: the trained ResNet of `make accuracy`.

    .venv/bin/python models/resnet_digits.py [-o DIR] [--force]

The random-weight ResNet-18 of build/models-full has logits that nearly tie, so rounding
its weights flips many top-1 answers and says little about a trained network (issue 9).
This one is trained, and small enough to train on 2 cores in one to two minutes.

Data: the 1797 8x8 digit images that ship with scikit-learn (nothing is downloaded),
scaled to [0,1], bilinearly resized to 32x32, repeated to 3 channels, normalised as
(x - 0.5) / 0.5. Model: torchvision resnet18(num_classes=10, weights=None). Training:
Adam, batch 64, 6 epochs on all 1797 images (lr 1e-3, then 1e-4 for the last epoch so
that the weights and BatchNorm statistics settle; each epoch leaves out the 5 images its
shuffle puts last, as a 5-image batch would skew BatchNorm's statistics),
torch.manual_seed(0), 2 threads, a fixed shuffle: the same machine and torch build give
the same weights. It prints the accuracy on the training images (there is no held-out
split: `make accuracy` compares each reduced-precision conversion with f32, for which
any fixed images serve).

Writes DIR (default build/resnet18_digits), unless its four files are already there
(--force retrains; make accuracy passes it when this script is newer than model.onnx):
    model.onnx    ONNX opset 17: input 'input' [batch,3,32,32] f32 -> 'logits' [batch,10]
    images.npy    the 1797 images as the model takes them, [1797,3,32,32] f32
    labels.npy    their labels, [1797] i64
    info.txt      "train_accuracy 0.9xxx", epochs, seconds
Needs torch, torchvision and scikit-learn (Debian: python3-torch python3-torchvision
python3-sklearn; .venv sees them).
"""
import argparse
import os
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from sklearn.datasets import load_digits

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EPOCHS = 6          # the last one at lr / 10
LR = 1e-3
BATCH = 64
THREADS = 2
FILES = ("model.onnx", "images.npy", "labels.npy", "info.txt")


def load_images():
    """-> images [1797,3,32,32] f32 normalised, labels [1797] i64"""
    d = load_digits()
    x = torch.tensor(d.images / 16.0, dtype=torch.float32)[:, None]           # [n,1,8,8] in [0,1]
    x = F.interpolate(x, size=32, mode="bilinear", align_corners=False)        # [n,1,32,32]
    x = (x.repeat(1, 3, 1, 1) - 0.5) / 0.5                                     # [n,3,32,32]
    return x, torch.tensor(d.target, dtype=torch.int64)


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--out", default=os.path.join(ROOT, "build", "resnet18_digits"))
    ap.add_argument("--force", action="store_true", help="retrain even if DIR is complete")
    a = ap.parse_args()
    if not a.force and all(os.path.exists(os.path.join(a.out, f)) for f in FILES):
        print(f"{a.out}: already there (--force retrains)")
        return 0

    torch.manual_seed(0)
    torch.set_num_threads(THREADS)
    rng = np.random.default_rng(0)
    x, y = load_images()
    model = torchvision.models.resnet18(num_classes=10)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=EPOCHS - 1, gamma=0.1)
    t0 = time.time()
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.from_numpy(rng.permutation(len(y)))
        losses = []
        for i in range(0, len(perm) - BATCH + 1, BATCH):   # whole batches only (BatchNorm)
            idx = perm[i:i + BATCH]
            opt.zero_grad()
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            losses.append(loss.item())
        sched.step()
        print(f"epoch {epoch + 1}/{EPOCHS}: mean loss {np.mean(losses):.4f}, "
              f"train accuracy {accuracy(model, x, y):.4f} ({time.time() - t0:.0f} s)", flush=True)
    acc = accuracy(model, x, y)
    print(f"train accuracy {100 * acc:.2f}% ({len(y)} images)")
    if acc < 0.95:
        sys.exit("resnet_digits.py: train accuracy below 95%")

    # Write into DIR.tmp, then rename: an interrupted run leaves no half-written DIR.
    tmp = a.out.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    model.eval()
    torch.onnx.export(model, x[:1], os.path.join(tmp, "model.onnx"), opset_version=17,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    np.save(os.path.join(tmp, "images.npy"), x.numpy())
    np.save(os.path.join(tmp, "labels.npy"), y.numpy())
    with open(os.path.join(tmp, "info.txt"), "w") as f:
        f.write(f"train_accuracy {acc:.4f}\nepochs {EPOCHS}\nseconds {time.time() - t0:.0f}\n")
    shutil.rmtree(a.out, ignore_errors=True)
    os.replace(tmp, a.out)
    print("wrote", ", ".join(FILES), "in", a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
