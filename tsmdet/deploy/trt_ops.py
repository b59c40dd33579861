"""Which ONNX operators TensorRT's ONNX parser imports, and a check that fails early.

Building an engine takes minutes and, on a Jetson, happens far from the machine
that exported the model; an unsupported operator should be caught right after
export, with every offending op named, not deep inside the TensorRT parser.

Only the operator type is checked. Per-operator restrictions (e.g. TopK's K must be
an initializer, Resize modes) are left to the parser itself.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import onnx

logger = logging.getLogger(__name__)

# Source: onnx/onnx-tensorrt docs/operators.md, operator support matrix of the
# release/8.5 table (commit 6d0ab7be) as the base, read 2026-11-25; kept only
# operators marked "Y" there that are also supported by the TensorRT 8.6 and 10.x
# parsers. Deliberately conservative:
#   * dropped the legacy non-standard ops (ImageScaler, ParametricSoftplus,
#     ScaledTanh, Scatter, Upsample) that newer parsers deprecate or remove;
#   * added LayerNormalization (TensorRT 8.6+ native normalisation layer);
#   * left out everything newer than 8.6 (e.g. GroupNormalization, Attention).
# An op missing here but supported by your TensorRT only costs a false alarm
# (pass allow=... to check_trt_compatible); an op listed here but unsupported would
# cost a failed build on the device, which is what this list avoids.
TRT_SUPPORTED_OPS: frozenset[str] = frozenset({
    "Abs", "Acos", "Acosh", "Add", "And", "ArgMax", "ArgMin", "Asin", "Asinh", "Atan", "Atanh",
    "AveragePool", "BatchNormalization", "Cast", "Ceil", "Celu", "Clip", "Concat", "Constant",
    "ConstantOfShape", "Conv", "ConvTranspose", "Cos", "Cosh", "CumSum", "DepthToSpace",
    "DequantizeLinear", "Div", "Dropout", "Einsum", "Elu", "Equal", "Erf", "Exp", "Expand", "EyeLike",
    "Flatten", "Floor", "Gather", "GatherElements", "GatherND", "Gemm", "GlobalAveragePool",
    "GlobalLpPool", "GlobalMaxPool", "Greater", "GreaterOrEqual", "GridSample", "GRU", "HardSigmoid",
    "HardSwish", "Identity", "If", "InstanceNormalization", "IsNaN", "LayerNormalization", "LeakyRelu",
    "Less", "LessOrEqual", "Log", "LogSoftmax", "Loop", "LpNormalization", "LpPool", "LRN", "LSTM",
    "MatMul", "Max", "MaxPool", "Mean", "MeanVarianceNormalization", "Min", "Mod", "Mul", "Neg",
    "NonMaxSuppression", "NonZero", "Not", "OneHot", "Or", "Pad", "Pow", "PRelu", "QuantizeLinear",
    "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Range", "Reciprocal",
    "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin",
    "ReduceProd", "ReduceSum", "ReduceSumSquare", "Relu", "Reshape", "Resize", "ReverseSequence", "RNN",
    "RoiAlign", "Round", "Scan", "ScatterElements", "ScatterND", "Selu", "Shape", "Shrink", "Sigmoid",
    "Sign", "Sin", "Sinh", "Size", "Slice", "Softmax", "Softplus", "Softsign", "SpaceToDepth", "Split",
    "Sqrt", "Squeeze", "Sub", "Sum", "Tan", "Tanh", "ThresholdedRelu", "Tile", "TopK", "Transpose",
    "Trilu", "Unsqueeze", "Where", "Xor",
})

ONNX_DOMAINS = frozenset({"", "ai.onnx"})
_NAMES_SHOWN = 3  # node names listed per offending op type


class UnsupportedOperatorError(ValueError):
    """The ONNX graph uses operators TensorRT's ONNX parser cannot import."""


def _op_key(node: onnx.NodeProto) -> str:
    """``OpType`` for standard ops, ``domain::OpType`` for custom-domain ones (never supported here)."""
    return node.op_type if node.domain in ONNX_DOMAINS else f"{node.domain}::{node.op_type}"


def _iter_nodes(graph: onnx.GraphProto) -> Iterator[onnx.NodeProto]:
    """Every node of ``graph``, including those inside If/Loop/Scan bodies, depth first."""
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _iter_nodes(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for sub in attr.graphs:
                    yield from _iter_nodes(sub)


def _load(model_or_path: onnx.ModelProto | str | Path) -> onnx.ModelProto:
    if isinstance(model_or_path, onnx.ModelProto):
        return model_or_path
    return onnx.load(str(model_or_path), load_external_data=False)


def _offending_nodes(model: onnx.ModelProto, allow: frozenset[str]) -> dict[str, list[str]]:
    supported = TRT_SUPPORTED_OPS | allow
    found: dict[str, list[str]] = defaultdict(list)
    for node in _iter_nodes(model.graph):
        key = _op_key(node)
        if key not in supported:
            found[key].append(node.name or "<unnamed>")
    return dict(found)


def unsupported_ops(
    model_or_path: onnx.ModelProto | str | Path, allow: frozenset[str] = frozenset()
) -> dict[str, int]:
    """Op type -> number of nodes that TensorRT cannot import (subgraphs included); empty when fine."""
    offending = _offending_nodes(_load(model_or_path), allow)
    return dict(Counter({op: len(names) for op, names in offending.items()}).most_common())


def check_trt_compatible(
    model_or_path: onnx.ModelProto | str | Path, allow: frozenset[str] = frozenset()
) -> None:
    """Raise ``UnsupportedOperatorError`` naming every unsupported op type, its count and first nodes.

    ``allow`` adds op keys your TensorRT is known to import (e.g. a registered plugin's
    ``domain::OpType``), so a newer TensorRT or a plugin needs no change here.
    """
    offending = _offending_nodes(_load(model_or_path), allow)
    if not offending:
        return
    lines = []
    for op, names in sorted(offending.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        shown = ", ".join(names[:_NAMES_SHOWN]) + (", ..." if len(names) > _NAMES_SHOWN else "")
        lines.append(f"  {op} x{len(names)} (nodes: {shown})")
    source = "" if isinstance(model_or_path, onnx.ModelProto) else f"{model_or_path}: "
    raise UnsupportedOperatorError(
        f"{source}{len(offending)} operator type(s) not supported by TensorRT's ONNX parser (8.6/10.x):\n"
        + "\n".join(lines)
        + "\nRewrite them with supported ops at export, or add a TensorRT plugin and pass it in `allow`."
    )
