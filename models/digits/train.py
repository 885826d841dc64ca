#!/usr/bin/python3
"""Trains the bundled demo model: a small CNN on scikit-learn's handwritten digits.

The data ship with scikit-learn (8x8 grey images, 1797 of them; nothing is downloaded).
Writes, next to this script:
    digits.onnx   the model, ONNX opset 17: input 'input' [batch,1,8,8] f32 -> 'logits' [batch,10]
    images.npy    all 1797 images, [1797,1,8,8] f32, pixel values scaled to [0,1] (the raw 0..16 / 16)
    labels.npy    their labels, [1797] i64
Run with Debian's python: /usr/bin/python3 models/digits/train.py
(apt-get install python3-torch python3-sklearn python3-numpy).
"""
import os

import numpy as np
import torch
from sklearn.datasets import load_digits

HERE = os.path.dirname(os.path.abspath(__file__))


class DigitsNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(),   # [b,16,8,8]
            torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(),  # [b,32,8,8]
            torch.nn.MaxPool2d(2),                                   # [b,32,4,4]
        )
        self.classifier = torch.nn.Sequential(
            torch.nn.Flatten(),                                      # [b,512]
            torch.nn.Linear(32 * 4 * 4, 64), torch.nn.ReLU(),
            torch.nn.Linear(64, 10),                                 # [b,10]
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def main():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    digits = load_digits()
    images = (digits.images.astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    labels = digits.target.astype(np.int64)
    order = rng.permutation(len(labels))
    n_train = int(0.8 * len(labels))
    train, held_out = order[:n_train], order[n_train:]

    model = DigitsNet()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    x_all, y_all = torch.from_numpy(images), torch.from_numpy(labels)
    for epoch in range(40):
        model.train()
        perm = torch.from_numpy(rng.permutation(train))
        for i in range(0, len(perm), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x_all[idx]), y_all[idx])
            loss.backward()
            opt.step()

    model.eval()
    with torch.no_grad():
        pred = model(x_all).argmax(1).numpy()
    held = (pred[held_out] == labels[held_out]).mean() * 100
    full = (pred == labels).mean() * 100
    print(f"accuracy: held-out {held:.2f}% ({len(held_out)} images), full set {full:.2f}% ({len(labels)} images)")
    if full < 95:
        raise SystemExit("accuracy below 95%")

    torch.onnx.export(model, x_all[:1], os.path.join(HERE, "digits.onnx"), opset_version=17,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    np.save(os.path.join(HERE, "images.npy"), images)
    np.save(os.path.join(HERE, "labels.npy"), labels)
    print("wrote digits.onnx, images.npy, labels.npy in", HERE)


if __name__ == "__main__":
    main()
