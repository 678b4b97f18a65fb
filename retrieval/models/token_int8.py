"""An fp32 ONNX graph made int8 so that every token's result depends on that token alone.

ONNX Runtime's dynamic quantisation scales a matrix product's input by the largest value
in the whole tensor: every question batched with another's passages (or with longer
padding) got other scores, by up to 1.5 in a span's margin. Here each token's row is
scaled by its own largest value (weights: int8 with a scale per output column), so a
passage scores the same whatever it is run with, and a batch may hold several users'
questions. Measured on two cores: a run takes about a seventh longer than the dynamic
file's, and the scores are three times nearer full precision's (bench/README.md, "The
reader's ONNX file").
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np

_CONSTANTS = {"tok8_127": np.array(127.0, np.float32), "tok8_eps": np.array(1e-8, np.float32),
              "tok8_128": np.array(128.0, np.float32), "tok8_zp": np.array(128, np.uint8)}


def _token_int8_nodes(x: str, y: str, name: str) -> list:
    """`y = x @ W` in int8: x's rows scaled each by its own largest value (unsigned, zero
    point 128, as the fast u8 x s8 kernels want), W stored as `name`_q and `name`_s."""
    from onnx import TensorProto, helper

    def node(op: str, inputs: list[str], out: str, **attrs):
        return helper.make_node(op, inputs, [out], name=out, **attrs)

    p = name
    return [
        node("Abs", [x], p + "_abs"),
        node("ReduceMax", [p + "_abs"], p + "_max", axes=[-1], keepdims=1),
        node("Max", [p + "_max", "tok8_eps"], p + "_maxe"),
        node("Div", [p + "_maxe", "tok8_127"], p + "_xs"),       # the row's scale
        node("Div", [x, p + "_xs"], p + "_xd"),
        node("Round", [p + "_xd"], p + "_xr"),
        node("Add", [p + "_xr", "tok8_128"], p + "_xa"),
        node("Cast", [p + "_xa"], p + "_xu", to=TensorProto.UINT8),
        node("MatMulInteger", [p + "_xu", p + "_q", "tok8_zp"], p + "_yi"),
        node("Cast", [p + "_yi"], p + "_yf", to=TensorProto.FLOAT),
        node("Mul", [p + "_yf", p + "_s"], p + "_yc"),
        helper.make_node("Mul", [p + "_yc", p + "_xs"], [y], name=p + "_out"),
    ]


def token_int8_model(model):
    """The model (an `onnx.ModelProto`, changed in place) with every product by a 2-D
    weight (a MatMul whose second input is an initializer) in per-token int8."""
    from onnx import numpy_helper

    graph = model.graph
    weights = {i.name: i for i in graph.initializer}
    nodes, replaced = [], set()
    for n in graph.node:
        w = weights.get(n.input[1]) if n.op_type == "MatMul" else None
        if w is None or len(w.dims) != 2:
            nodes.append(n)
            continue
        values = numpy_helper.to_array(w).astype(np.float32)
        scale = np.maximum(np.abs(values).max(axis=0), 1e-12) / 127.0
        q = np.clip(np.round(values / scale), -127, 127).astype(np.int8)
        graph.initializer.extend([numpy_helper.from_array(q, w.name + "_q"),
                                  numpy_helper.from_array(scale.astype(np.float32),
                                                          w.name + "_s")])
        replaced.add(w.name)
        nodes += _token_int8_nodes(n.input[0], n.output[0], w.name)
    kept = [i for i in graph.initializer if i.name not in replaced]
    kept += [numpy_helper.from_array(v, k) for k, v in _CONSTANTS.items()]
    del graph.node[:], graph.initializer[:]
    graph.node.extend(nodes)
    graph.initializer.extend(kept)
    return model


def quantize_per_token(onnx_path: Path, int8_path: Path) -> None:
    """The fp32 file at `onnx_path` as per-token int8 at `int8_path` (written atomically);
    the word embeddings int8 too (a fixed scale: a lookup, the same in any batch)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = int8_path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    products = tmp.with_suffix(".products.tmp")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # it warns about optional pre-processing, on the root logger
    try:
        onnx.save(token_int8_model(onnx.load(str(onnx_path))), str(products))
        quantize_dynamic(str(products), str(tmp), weight_type=QuantType.QInt8,
                         op_types_to_quantize=["Gather"])
        tmp.replace(int8_path)  # atomic: a killed run never leaves a half file
    finally:
        root.setLevel(level)
        products.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
