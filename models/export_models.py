#!/usr/bin/env python3
"""Export real architectures from PyTorch to ONNX, with reference outputs from onnxruntime.

    .venv/bin/python models/export_models.py [--size small|full] [-o DIR] [MODEL ...]

Writes one folder per model in the ONNX backend-test layout (what build/conformance reads):

    DIR/NAME/model.onnx                        opset 17, symbolic dims (batch, seq)
    DIR/NAME/test_data_set_0/input_K.pb        serialized TensorProto, named like graph input K
    DIR/NAME/test_data_set_0/output_K.pb       onnxruntime's output K on those inputs
    DIR/NAME/info.txt                          line 1: the symbolic dims used, "batch=2 seq=16";
                                               then "key value..." lines (no '='): params,
                                               opset, inputs, outputs, ops (Type:count ...)

Models: resnet18, mobilenet_v2, efficientnet_b0, resnet50 (torchvision, weights=None), and
small hand-written bert (encoder), gpt2 (causal decoder), vit (patch-embedding encoder)
and minilm (the bert encoder at MiniLM-L6's shape: narrower and shallower, more heads).
Weights are random with fixed seeds (nothing is downloaded); BatchNorm affine parameters
are randomised and its statistics calibrated on random images, so that activations stay
near unit scale, outputs depend on the input, and folding BN is not a no-op. Outputs come
from onnxruntime with graph optimisations off (the literal ONNX graph) and are checked
against torch, for finiteness, and for differing between the inputs of a batch.

--size small (the default, what CI runs) keeps every model light for the reference
kernels: 64x64 images, batch 2; transformers with hidden 64, 2 layers, 4 heads, seq 16
(minilm: hidden 96, 3 layers, 12 heads). --size full uses the real sizes: 224x224 images,
BERT-base (768, 12 layers, 12 heads, seq 128), GPT-2 small (768/12/12, seq 128), ViT-B/16,
MiniLM-L6 (384, 6 layers, 12 heads, FFN 1536, seq 128, BERT's vocabulary), for benchmarks.
"""
import argparse
import collections
import inspect
import math
import os
import sys
import time
import warnings

import numpy as np
import onnx
import onnx.numpy_helper
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

OPSET = 17
# The TorchScript exporter that these models were written for: torch >= 2.9 defaults to the
# dynamo one (other graphs, opset 18) unless told otherwise
EXPORT_KW = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}


# ---------------------------------------------------------------------------- configs

SIZES = {
    "small": dict(batch=2, image=64, hidden=64, layers=2, heads=4, seq=16, vocab=1000,
                  max_pos=64, patch=8, classes=10, minilm_hidden=96, minilm_layers=3,
                  minilm_heads=12),
    "full": dict(batch=1, image=224, hidden=768, layers=12, heads=12, seq=128,
                 bert_vocab=30522, gpt_vocab=50257, bert_max_pos=512, gpt_max_pos=1024,
                 patch=16, classes=1000, minilm_hidden=384, minilm_layers=6, minilm_heads=12),
}


# ---------------------------------------------------------------------------- models

class Attention(nn.Module):
    """Multi-head self-attention written out the way HF BERT/GPT-2 do it: one projection
    per Q/K/V (BERT) or a fused QKV (GPT-2), split heads with view+permute, scaled dot
    product, additive or where-based mask, softmax, merge heads, output projection."""

    def __init__(self, hidden, heads, fused_qkv=False):
        super().__init__()
        self.h, self.d = heads, hidden // heads
        self.fused = fused_qkv
        if fused_qkv:
            self.qkv = nn.Linear(hidden, 3 * hidden)
        else:
            self.q = nn.Linear(hidden, hidden)
            self.k = nn.Linear(hidden, hidden)
            self.v = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, hidden)

    def split(self, x):                              # [b, s, hidden] -> [b, h, s, d]
        b, s, _ = x.shape
        return x.view(b, s, self.h, self.d).permute(0, 2, 1, 3)

    def forward(self, x, add_mask=None, causal=None):
        if self.fused:
            q, k, v = self.qkv(x).split(self.h * self.d, dim=2)
        else:
            q, k, v = self.q(x), self.k(x), self.v(x)
        q, k, v = self.split(q), self.split(k), self.split(v)
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.d)  # [b, h, s, s]
        if causal is not None:                       # GPT-2: where(mask, w, finfo.min)
            w = torch.where(causal, w, torch.tensor(torch.finfo(w.dtype).min, dtype=w.dtype, device=w.device))
        if add_mask is not None:                     # BERT: w + (1 - mask) * -10000
            w = w + add_mask
        p = F.softmax(w, dim=-1)
        o = torch.matmul(p, v).permute(0, 2, 1, 3).contiguous()       # [b, s, h, d]
        b, s = o.shape[0], o.shape[1]
        return self.out(o.view(b, s, self.h * self.d))


class Bert(nn.Module):
    """BERT-like encoder: token + position embeddings, LayerNorm, post-LN encoder layers
    (self-attention with a padding mask, exact-erf GELU MLP), last hidden state and a
    tanh pooler over the first token."""

    def __init__(self, vocab, hidden, layers, heads, max_pos):
        super().__init__()
        self.tok = nn.Embedding(vocab, hidden)
        self.pos = nn.Embedding(max_pos, hidden)
        self.register_buffer("position_ids", torch.arange(max_pos).unsqueeze(0))
        self.ln = nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList()
        for _ in range(layers):
            self.layers.append(nn.ModuleDict(dict(
                attn=Attention(hidden, heads), ln1=nn.LayerNorm(hidden, eps=1e-12),
                fc1=nn.Linear(hidden, 4 * hidden), fc2=nn.Linear(4 * hidden, hidden),
                ln2=nn.LayerNorm(hidden, eps=1e-12))))
        self.pool = nn.Linear(hidden, hidden)

    def forward(self, input_ids, attention_mask):
        seq = input_ids.shape[1]
        x = self.tok(input_ids) + self.pos(self.position_ids[:, :seq])
        x = self.ln(x)
        add_mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -10000.0
        for l in self.layers:
            x = l["ln1"](x + l["attn"](x, add_mask=add_mask))
            x = l["ln2"](x + l["fc2"](F.gelu(l["fc1"](x))))
        pooled = torch.tanh(self.pool(x[:, 0]))
        return x, pooled


class Gpt2(nn.Module):
    """GPT-2-like decoder: token + position (arange) embeddings, pre-LN blocks with a
    causal mask sliced from a lower-triangular buffer by the sequence length, tanh-GELU
    MLP, final LayerNorm, LM head tied to the token embedding."""

    def __init__(self, vocab, hidden, layers, heads, max_pos):
        super().__init__()
        self.wte = nn.Embedding(vocab, hidden)
        self.wpe = nn.Embedding(max_pos, hidden)
        self.register_buffer("bias", torch.tril(torch.ones(max_pos, max_pos, dtype=torch.bool))
                             .view(1, 1, max_pos, max_pos))
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            self.blocks.append(nn.ModuleDict(dict(
                ln1=nn.LayerNorm(hidden, eps=1e-5), attn=Attention(hidden, heads, fused_qkv=True),
                ln2=nn.LayerNorm(hidden, eps=1e-5),
                fc=nn.Linear(hidden, 4 * hidden), proj=nn.Linear(4 * hidden, hidden))))
        self.ln_f = nn.LayerNorm(hidden, eps=1e-5)

    def forward(self, input_ids):
        seq = input_ids.shape[1]
        pos = torch.arange(0, seq, dtype=torch.long, device=input_ids.device).unsqueeze(0)
        x = self.wte(input_ids) + self.wpe(pos)
        causal = self.bias[:, :, :seq, :seq]
        for b in self.blocks:
            x = x + b["attn"](b["ln1"](x), causal=causal)
            x = x + b["proj"](F.gelu(b["fc"](b["ln2"](x)), approximate="tanh"))
        return F.linear(self.ln_f(x), self.wte.weight)    # tied LM head


class Vit(nn.Module):
    """ViT-like: conv patch embedding, class token, learned position embedding, pre-LN
    encoder layers (exact GELU), final LayerNorm, linear head on the class token."""

    def __init__(self, image, patch, hidden, layers, heads, classes):
        super().__init__()
        n = (image // patch) ** 2
        self.embed = nn.Conv2d(3, hidden, patch, stride=patch)
        self.cls = nn.Parameter(torch.randn(1, 1, hidden) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, n + 1, hidden) * 0.02)
        self.layers = nn.ModuleList()
        for _ in range(layers):
            self.layers.append(nn.ModuleDict(dict(
                ln1=nn.LayerNorm(hidden, eps=1e-6), attn=Attention(hidden, heads, fused_qkv=True),
                ln2=nn.LayerNorm(hidden, eps=1e-6),
                fc1=nn.Linear(hidden, 4 * hidden), fc2=nn.Linear(4 * hidden, hidden))))
        self.ln = nn.LayerNorm(hidden, eps=1e-6)
        self.head = nn.Linear(hidden, classes)

    def forward(self, pixel_values):
        x = self.embed(pixel_values).flatten(2).transpose(1, 2)       # [b, n, hidden]
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        for l in self.layers:
            x = x + l["attn"](l["ln1"](x))
            x = x + l["fc2"](F.gelu(l["fc1"](l["ln2"](x))))
        return self.head(self.ln(x)[:, 0])


def calibrate_batchnorm(model, gen, image):
    """Random BatchNorm affine parameters, and running statistics measured on random
    images (one train-mode pass, as after training). Default BN (mean 0, var 1, weight 1,
    bias 0) on randomly initialised convolutions lets activations grow until ReLU6/SiLU
    saturate and the logits no longer depend on the input; calibrated BN keeps every
    layer's activations near unit scale, and its folding into Conv is not a no-op."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in bns:
        c = m.num_features
        m.weight.data.copy_(torch.rand(c, generator=gen) + 0.5)
        m.bias.data.copy_(torch.randn(c, generator=gen) * 0.1)
        m.reset_running_stats()
        m.momentum = None                    # cumulative average over the pass
    model.train()
    model(torch.randn(8, 3, image, image, generator=gen))
    model.eval()


def init_transformer(model, gen):
    """BERT/GPT-2 style initialisation: N(0, 0.02) weights, zero biases, LayerNorm
    weight near 1 and bias near 0 (randomised a little so they are not no-ops)."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Embedding, nn.Conv2d)):
            m.weight.data.copy_(torch.randn(m.weight.shape, generator=gen) * 0.02)
            if getattr(m, "bias", None) is not None:
                m.bias.data.copy_(torch.randn(m.bias.shape, generator=gen) * 0.02)
        elif isinstance(m, nn.LayerNorm):
            m.weight.data.copy_(1.0 + torch.randn(m.weight.shape, generator=gen) * 0.1)
            m.bias.data.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)


# ---------------------------------------------------------------------------- specs
# Each spec: build(cfg, gen) -> (module, {input name: numpy array}, [output names],
# {input name: {axis: symbolic name}}, {symbolic name: value}).

def image_model(ctor):
    def build(cfg, gen, rng):
        m = ctor(weights=None)
        b, s = cfg["batch"], cfg["image"]
        calibrate_batchnorm(m, gen, s)
        x = rng.standard_normal((b, 3, s, s)).astype(np.float32)
        return (m, {"input": x}, ["logits"], {"input": {0: "batch"}, "logits": {0: "batch"}},
                {"batch": b})
    return build


def build_bert(cfg, gen, rng, prefix=""):
    vocab = cfg.get("bert_vocab", cfg.get("vocab"))
    m = Bert(vocab, cfg[prefix + "hidden"], cfg[prefix + "layers"], cfg[prefix + "heads"],
             cfg.get("bert_max_pos", cfg.get("max_pos")))
    init_transformer(m, gen)
    b, s = cfg["batch"], cfg["seq"]
    ids = rng.integers(0, vocab, size=(b, s), dtype=np.int64)
    mask = np.ones((b, s), dtype=np.int64)
    for i in range(b):                       # row i padded at the end by i*s/4 tokens
        mask[i, s - (i * s) // 4:] = 0
    return (m, {"input_ids": ids, "attention_mask": mask}, ["last_hidden_state", "pooler_output"],
            {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
             "last_hidden_state": {0: "batch", 1: "seq"}, "pooler_output": {0: "batch"}},
            {"batch": b, "seq": s})


def build_minilm(cfg, gen, rng):
    """The BERT encoder at MiniLM-L6's shape (FFN 4 x hidden = 1536 at full size)."""
    return build_bert(cfg, gen, rng, prefix="minilm_")


def build_gpt2(cfg, gen, rng):
    vocab = cfg.get("gpt_vocab", cfg.get("vocab"))
    m = Gpt2(vocab, cfg["hidden"], cfg["layers"], cfg["heads"],
             cfg.get("gpt_max_pos", cfg.get("max_pos")))
    init_transformer(m, gen)
    b, s = cfg["batch"], cfg["seq"]
    ids = rng.integers(0, vocab, size=(b, s), dtype=np.int64)
    return (m, {"input_ids": ids}, ["logits"],
            {"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}},
            {"batch": b, "seq": s})


def build_vit(cfg, gen, rng):
    m = Vit(cfg["image"], cfg["patch"], cfg["hidden"], cfg["layers"], cfg["heads"],
            cfg["classes"])
    init_transformer(m, gen)
    b, s = cfg["batch"], cfg["image"]
    x = rng.standard_normal((b, 3, s, s)).astype(np.float32)
    return (m, {"pixel_values": x}, ["logits"],
            {"pixel_values": {0: "batch"}, "logits": {0: "batch"}}, {"batch": b})


MODELS = collections.OrderedDict([
    ("resnet18", image_model(torchvision.models.resnet18)),
    ("mobilenet_v2", image_model(torchvision.models.mobilenet_v2)),
    ("efficientnet_b0", image_model(torchvision.models.efficientnet_b0)),
    ("bert", build_bert),
    ("gpt2", build_gpt2),
    ("vit", build_vit),
    ("resnet50", image_model(torchvision.models.resnet50)),   # appended: the seeds of the
    ("minilm", build_minilm),                                 # models above stay the same
])


# ---------------------------------------------------------------------------- export

def shape_str(vi):
    t = vi.type.tensor_type
    dims = [d.dim_param if d.dim_param else str(d.dim_value) for d in t.shape.dim]
    dt = onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name
    return "%s:%s[%s]" % (vi.name, dt, ",".join(dims))


def export_one(name, cfg, outdir, seed):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        model, inputs, out_names, dyn, dims = MODELS[name](cfg, gen, rng)
    model.eval()
    in_names = list(inputs)
    d = os.path.join(outdir, name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    path = os.path.join(d, "model.onnx")

    targs = tuple(torch.from_numpy(inputs[k]) for k in in_names)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = model(*targs)
        torch.onnx.export(model, targs, path, opset_version=OPSET, input_names=in_names,
                          output_names=out_names, dynamic_axes=dyn, do_constant_folding=True, **EXPORT_KW)
    ref = [ref] if isinstance(ref, torch.Tensor) else list(ref)

    m = onnx.load(path)
    onnx.checker.check_model(m)
    graph_in = [i.name for i in m.graph.input]
    graph_out = [o.name for o in m.graph.output]
    if graph_in != in_names or graph_out != out_names:
        raise RuntimeError("%s: graph inputs %s outputs %s, expected %s %s"
                           % (name, graph_in, graph_out, in_names, out_names))

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    outs = sess.run(out_names, inputs)

    worst = 0.0
    for oname, o, r in zip(out_names, outs, ref):
        if not np.all(np.isfinite(o)):
            raise RuntimeError("%s: output %s has non-finite values" % (name, oname))
        if np.ptp(o) == 0:
            raise RuntimeError("%s: output %s is constant" % (name, oname))
        if o.shape[0] > 1 and np.max(np.abs(o[0] - o[1])) < 1e-2 * np.max(np.abs(o)):
            raise RuntimeError("%s: output %s hardly depends on the input" % (name, oname))
        r = r.numpy()
        err = float(np.max(np.abs(o - r)) / (np.max(np.abs(r)) + 1e-12))
        if err > 1e-3:
            raise RuntimeError("%s: output %s differs from torch by %.3g (relative)"
                               % (name, oname, err))
        worst = max(worst, err)

    for k, n in enumerate(in_names):
        with open(os.path.join(d, "test_data_set_0", "input_%d.pb" % k), "wb") as f:
            f.write(onnx.numpy_helper.from_array(inputs[n], n).SerializeToString())
    for k, (n, o) in enumerate(zip(out_names, outs)):
        with open(os.path.join(d, "test_data_set_0", "output_%d.pb" % k), "wb") as f:
            f.write(onnx.numpy_helper.from_array(o, n).SerializeToString())

    ops = collections.Counter(n.op_type for n in m.graph.node)
    domains = sorted({n.domain or "ai.onnx" for n in m.graph.node})
    params = sum(p.numel() for p in model.parameters())
    hist = " ".join("%s:%d" % kv for kv in sorted(ops.items()))
    with open(os.path.join(d, "info.txt"), "w") as f:
        f.write(" ".join("%s=%d" % kv for kv in dims.items()) + "\n")
        f.write("params %d\n" % params)
        f.write("opset %d %s\n" % (OPSET, " ".join(domains)))
        f.write("inputs %s\n" % " ".join(shape_str(v) for v in m.graph.input))
        f.write("outputs %s\n" % " ".join(shape_str(v) for v in m.graph.output))
        f.write("ops %s\n" % hist)
    shapes = " ".join("%s%s" % (n, list(inputs[n].shape)) for n in in_names)
    print("%-16s %10d params  %s  torch-vs-ort %.1e  ops %s"
          % (name, params, shapes, worst, hist), flush=True)
    return ops


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument("-o", "--out", default=None,
                    help="output folder (default build/models, or build/models-full)")
    ap.add_argument("models", nargs="*", help="subset of: " + " ".join(MODELS))
    a = ap.parse_args()
    out = a.out or ("build/models" if a.size == "small" else "build/models-full")
    names = a.models or list(MODELS)
    for n in names:
        if n not in MODELS:
            ap.error("unknown model %s" % n)
    torch.set_num_threads(min(8, os.cpu_count() or 1))
    total = collections.Counter()
    t0 = time.time()
    for n in names:
        total.update(export_one(n, SIZES[a.size], out, seed=1000 + list(MODELS).index(n)))
    print("%d models in %s (%.1fs); op types (opset %d): %s"
          % (len(names), out, time.time() - t0, OPSET, " ".join(sorted(total))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
