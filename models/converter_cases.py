#!/usr/bin/env python3
"""Converter cases: control flow, recurrence and the patterns its passes rewrite, as
exporters emit them, with reference outputs from onnxruntime.

    .venv/bin/python models/converter_cases.py [-o DIR]

Writes folders in the ONNX backend-test layout (see export_models.py), checked by
`build/conformance --models` like the real architectures:

    loop_const        Loop with a constant trip count, a carried value and a scan output
    if_dynamic_{pos,neg}  If whose condition depends on the data (both branches give [4])
    lstm_bidir        torch nn.LSTM, 2 layers, bidirectional, batch_first, initial states
    gru_reverse       a reverse GRU written with onnx.helper (initial state,
                      linear_before_reset); layout 0, since onnxruntime refuses layout 1
    lstm_seq_lens     forward LSTM with per-batch sequence_lens and peepholes (onnx.helper)
    conv_bn           Conv -> BatchNormalization -> Clip (ReLU6) (onnx.helper: torch folds BN
                      itself), for the Conv+BN folding and activation fusion passes
    encoder_opset13   a transformer layer exported at opset 13: LayerNorm and GELU arrive
                      decomposed (ReduceMean/Sub/Pow/Sqrt/Div..., Div/Erf/Add/Mul), for the
                      pattern passes; Softmax and Reduce* in their opset-13 forms
"""
import argparse
import os

import numpy as np
import onnx
import onnx.numpy_helper as nh
import onnxruntime as ort
import torch
from onnx import TensorProto as T
from onnx import helper as h


def save_case(root, name, model_path_or_proto, feeds, dims=""):
    d = os.path.join(root, name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    path = os.path.join(d, "model.onnx")
    if isinstance(model_path_or_proto, onnx.ModelProto):
        onnx.save(model_path_or_proto, path)
    else:
        os.replace(model_path_or_proto, path)
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    outs = sess.run(None, feeds)
    for i, (k, v) in enumerate(feeds.items()):
        with open(os.path.join(d, "test_data_set_0", f"input_{i}.pb"), "wb") as f:
            f.write(nh.from_array(v, k).SerializeToString())
    for i, (o, v) in enumerate(zip(sess.get_outputs(), outs)):
        with open(os.path.join(d, "test_data_set_0", f"output_{i}.pb"), "wb") as f:
            f.write(nh.from_array(v, o.name).SerializeToString())
    with open(os.path.join(d, "info.txt"), "w") as f:
        f.write(dims + "\n")
    print(f"{name}: outputs {[tuple(v.shape) for v in outs]}")


def make(graph):
    return h.make_model(graph, opset_imports=[h.make_opsetid("", 17)], ir_version=8)


def loop_const(root):
    body = h.make_graph(
        [h.make_node("Cast", ["i"], ["fi"], to=T.FLOAT), h.make_node("Mul", ["y_in", "two"], ["y2"]),
         h.make_node("Add", ["y2", "x"], ["y3"]), h.make_node("Add", ["y3", "fi"], ["y_out"]),
         h.make_node("Identity", ["cond_in"], ["cond_out"]), h.make_node("Identity", ["y_out"], ["scan"])],
        "body", [h.make_tensor_value_info("i", T.INT64, []), h.make_tensor_value_info("cond_in", T.BOOL, []),
                 h.make_tensor_value_info("y_in", T.FLOAT, [3])],
        [h.make_tensor_value_info("cond_out", T.BOOL, []), h.make_tensor_value_info("y_out", T.FLOAT, [3]),
         h.make_tensor_value_info("scan", T.FLOAT, [3])], [nh.from_array(np.array(2, np.float32), "two")])
    g = h.make_graph([h.make_node("Loop", ["M", "", "y0"], ["y_final", "ys"], body=body)], "loop",
                     [h.make_tensor_value_info("x", T.FLOAT, [3]), h.make_tensor_value_info("y0", T.FLOAT, [3])],
                     [h.make_tensor_value_info("y_final", T.FLOAT, [3]), h.make_tensor_value_info("ys", T.FLOAT, [4, 3])],
                     [nh.from_array(np.array(4, np.int64), "M")])
    save_case(root, "loop_const", make(g), {"x": np.array([1, 2, 3], np.float32), "y0": np.array([0.5, -1, 2], np.float32)})


def if_dynamic(root):
    then_g = h.make_graph([h.make_node("Mul", ["x", "x"], ["t"])], "then", [], [h.make_tensor_value_info("t", T.FLOAT, [4])])
    else_g = h.make_graph([h.make_node("Neg", ["x"], ["e"])], "else", [], [h.make_tensor_value_info("e", T.FLOAT, [4])])
    g = h.make_graph([h.make_node("ReduceSum", ["x"], ["s"], keepdims=0), h.make_node("Greater", ["s", "zero"], ["c"]),
                      h.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)], "ifg",
                     [h.make_tensor_value_info("x", T.FLOAT, [4])], [h.make_tensor_value_info("y", T.FLOAT, [4])],
                     [nh.from_array(np.array(0, np.float32), "zero")])
    save_case(root, "if_dynamic_pos", make(g), {"x": np.array([1, -2, 3, 0.5], np.float32)})
    save_case(root, "if_dynamic_neg", make(g), {"x": np.array([-1, -2, 3, -0.5], np.float32)})


class Recurrent(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(5, 7, num_layers=2, bidirectional=True, batch_first=True)

    def forward(self, x, h0, c0):
        y, (h, c) = self.lstm(x, (h0, c0))
        return y, h, c


def lstm_bidir(root):
    torch.manual_seed(0)
    m = Recurrent().eval()
    x, h0, c0 = torch.randn(3, 6, 5), torch.randn(4, 3, 7), torch.randn(4, 3, 7)
    path = os.path.join(root, "lstm_bidir.onnx")
    torch.onnx.export(m, (x, h0, c0), path, opset_version=17, input_names=["x", "h0", "c0"],
                      output_names=["y", "h", "c"], dynamic_axes={"x": {0: "batch"}, "h0": {1: "batch"}, "c0": {1: "batch"}})
    save_case(root, "lstm_bidir", path, {"x": x.numpy(), "h0": h0.numpy(), "c0": c0.numpy()}, "batch=3")


def gru_reverse(root):
    rng = np.random.default_rng(1)
    hid, inp = 4, 3
    w = rng.standard_normal((1, 3 * hid, inp)).astype(np.float32) * 0.5
    r = rng.standard_normal((1, 3 * hid, hid)).astype(np.float32) * 0.5
    b = rng.standard_normal((1, 6 * hid)).astype(np.float32) * 0.5
    g = h.make_graph([h.make_node("GRU", ["x", "W", "R", "B", "", "h0"], ["y", "yh"], hidden_size=hid,
                                  direction="reverse", linear_before_reset=1)], "gru",
                     [h.make_tensor_value_info("x", T.FLOAT, [5, 2, inp]), h.make_tensor_value_info("h0", T.FLOAT, [1, 2, hid])],
                     [h.make_tensor_value_info("y", T.FLOAT, None), h.make_tensor_value_info("yh", T.FLOAT, None)],
                     [nh.from_array(w, "W"), nh.from_array(r, "R"), nh.from_array(b, "B")])
    save_case(root, "gru_reverse", make(g), {"x": rng.standard_normal((5, 2, inp)).astype(np.float32),
                                             "h0": rng.standard_normal((1, 2, hid)).astype(np.float32)})


def lstm_seq_lens(root):
    rng = np.random.default_rng(2)
    hid, inp = 5, 4
    w = rng.standard_normal((1, 4 * hid, inp)).astype(np.float32) * 0.5
    r = rng.standard_normal((1, 4 * hid, hid)).astype(np.float32) * 0.5
    b = rng.standard_normal((1, 8 * hid)).astype(np.float32) * 0.5
    p = rng.standard_normal((1, 3 * hid)).astype(np.float32) * 0.5
    g = h.make_graph([h.make_node("LSTM", ["x", "W", "R", "B", "lens", "", "", "P"], ["y", "yh", "yc"], hidden_size=hid)],
                     "lstm", [h.make_tensor_value_info("x", T.FLOAT, [6, 3, inp]), h.make_tensor_value_info("lens", T.INT32, [3])],
                     [h.make_tensor_value_info("y", T.FLOAT, None), h.make_tensor_value_info("yh", T.FLOAT, None),
                      h.make_tensor_value_info("yc", T.FLOAT, None)],
                     [nh.from_array(w, "W"), nh.from_array(r, "R"), nh.from_array(b, "B"), nh.from_array(p, "P")])
    save_case(root, "lstm_seq_lens", make(g), {"x": rng.standard_normal((6, 3, inp)).astype(np.float32),
                                               "lens": np.array([6, 2, 4], np.int32)})


def conv_bn(root):
    rng = np.random.default_rng(3)
    w = rng.standard_normal((6, 3, 3, 3)).astype(np.float32) * 0.3
    b = rng.standard_normal(6).astype(np.float32)
    sc, bb = rng.uniform(0.5, 1.5, 6).astype(np.float32), rng.standard_normal(6).astype(np.float32)
    mu, var = rng.standard_normal(6).astype(np.float32), rng.uniform(0.5, 2, 6).astype(np.float32)
    g = h.make_graph([h.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
                      h.make_node("BatchNormalization", ["c", "sc", "bb", "mu", "var"], ["bn"], epsilon=1e-3),
                      h.make_node("Clip", ["bn", "lo", "hi"], ["y"])], "conv_bn",
                     [h.make_tensor_value_info("x", T.FLOAT, ["batch", 3, 8, 8])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)],
                     [nh.from_array(v, k) for k, v in dict(W=w, B=b, sc=sc, bb=bb, mu=mu, var=var,
                                                            lo=np.array(0, np.float32), hi=np.array(6, np.float32)).items()])
    save_case(root, "conv_bn", make(g), {"x": rng.standard_normal((2, 3, 8, 8)).astype(np.float32)}, "batch=2")


class Layer(torch.nn.Module):
    def __init__(self, d=32, heads=4):
        super().__init__()
        self.ln1, self.ln2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.attn = torch.nn.MultiheadAttention(d, heads, batch_first=True)
        self.fc1, self.fc2 = torch.nn.Linear(d, 4 * d), torch.nn.Linear(4 * d, d)

    def forward(self, x):
        a = self.ln1(x)
        x = x + self.attn(a, a, a, need_weights=False)[0]
        return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.ln2(x))))


def encoder_opset13(root):
    torch.manual_seed(4)
    m = Layer().eval()
    x = torch.randn(2, 10, 32)
    path = os.path.join(root, "encoder_opset13.onnx")
    torch.onnx.export(m, (x,), path, opset_version=13, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch", 1: "seq"}})
    save_case(root, "encoder_opset13", path, {"x": x.numpy()}, "batch=2 seq=10")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--out", default="build/models")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for f in (loop_const, if_dynamic, lstm_bidir, gru_reverse, lstm_seq_lens, conv_bn, encoder_opset13):
        f(args.out)


if __name__ == "__main__":
    main()
