"""Which TensorRT calls a build makes, decided without TensorRT: the version path and the build plan.

TensorRT changed how precision is chosen (facts and sources: docs/jetson.md, "TensorRT
versions"):

* **8.6** (JetPack 5 / 6.0): explicit-batch networks need
  ``NetworkDefinitionCreationFlag.EXPLICIT_BATCH``; reduced precision is enabled with the
  weak builder flags ``BuilderFlag.FP16`` / ``BuilderFlag.INT8``; INT8 from an fp32 graph
  needs an ``IInt8Calibrator`` (ours carries the shift states, see :mod:`.calibration`); a
  QDQ graph needs ``BuilderFlag.INT8`` but no calibrator.
* **10.x** (JetPack 6.1+ and servers): ``EXPLICIT_BATCH`` is deprecated and ignored;
  ``STRONGLY_TYPED`` networks take every tensor's type from the graph, so the precision is
  the ONNX file's (fp32, fp16 export, or QDQ from ``tools/quantize.py``) and no precision
  flag or calibrator is used (implicit-quantization calibrators are deprecated since 10.1).
  Weak typing is still documented and supported in 10.x (deprecated from 10.12), so a
  ``--precision fp16`` build of an fp32 ONNX falls back to a weakly typed network with
  ``BuilderFlag.FP16`` and a warning.
* **11.x**: every network is strongly typed (``STRONGLY_TYPED`` is deprecated and ignored,
  so it is not passed); ``BuilderFlag.FP16/INT8``, ``int8_calibrator``,
  ``set_calibration_profile`` and ``platform_has_fast_fp16`` are removed. The ONNX file must
  carry the precision.

:func:`plan_build` turns (path, requested precision, the ONNX file's precision) into a
:class:`BuildPlan`; ``trt_api`` executes it and ``trtexec`` prints the same plan as a
command line, so the two cannot drift apart.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

TRT_PATHS: tuple[str, ...] = ("8.6", "10", "11")
ONNX_PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8")
_QDQ_OPS = frozenset({"QuantizeLinear", "DequantizeLinear"})


@dataclass(frozen=True)
class BuildPlan:
    """Everything version-dependent about one build, as TensorRT member names."""

    path: str  # one of TRT_PATHS
    precision: str  # requested: fp32 | fp16 | int8
    onnx_precision: str  # what the graph holds: fp32 | fp16 | int8 (QDQ)
    network_flags: tuple[str, ...]  # NetworkDefinitionCreationFlag members
    builder_flags: tuple[str, ...]  # BuilderFlag members
    calibrator: bool  # an IInt8Calibrator feeds state-carrying batches (8.6 only)
    query_fast_fp16: bool  # warn via Builder.platform_has_fast_fp16 (8.6 only)

    @property
    def strongly_typed(self) -> bool:
        return self.path == "11" or "STRONGLY_TYPED" in self.network_flags


def trt_path(version: str) -> str:
    """The code path for a ``tensorrt.__version__``: '8.6' (8.5/8.6), '10' or '11' (11 and later)."""
    try:
        major, minor = (int(p) for p in version.split(".")[:2])
    except ValueError:
        raise ValueError(f"cannot read the TensorRT version {version!r}") from None
    if major == 8 and minor >= 5:
        return "8.6"
    if major == 10:
        return "10"
    if major >= 11:
        return "11"
    raise ValueError(f"TensorRT {version} is not supported: use 8.6 (JetPack 5 / 6.0), 10.x or 11.x")


def onnx_precision(onnx_path: str | Path) -> str:
    """What precision an exported graph carries: 'int8' (Q/DQ nodes), 'fp16' (float16 tensors) or 'fp32'.

    Subgraphs (If / Loop bodies) are searched too; external weight data is not loaded.
    """
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    fp16 = onnx.TensorProto.FLOAT16
    has_fp16 = False
    stack = [model.graph]
    while stack:
        graph = stack.pop()
        if any(init.data_type == fp16 for init in graph.initializer):
            has_fp16 = True
        for vi in (*graph.input, *graph.output, *graph.value_info):
            has_fp16 |= vi.type.tensor_type.elem_type == fp16
        for node in graph.node:
            if node.op_type in _QDQ_OPS:
                return "int8"
            for attr in node.attribute:
                if node.op_type == "Cast" and attr.name == "to" and attr.i == fp16:
                    has_fp16 = True
                if attr.type == onnx.AttributeProto.GRAPH:
                    stack.append(attr.g)
                stack.extend(attr.graphs)
    return "fp16" if has_fp16 else "fp32"


def plan_build(path: str, precision: str, onnx_kind: str = "fp32", warn: bool = True) -> BuildPlan:
    """The calls a build makes on ``path`` for the requested ``precision`` of an ``onnx_kind`` graph.

    A strongly typed build (10.x, 11.x) takes the precision from the graph, so asking for
    another one is a ValueError that says which file to build instead; the one exception is
    10.x's still-supported weakly typed fp16 build of an fp32 graph (logged unless ``warn`` is off).
    """
    if path not in TRT_PATHS:
        raise ValueError(f"unknown TensorRT path {path!r}; one of {TRT_PATHS}")
    if precision not in ONNX_PRECISIONS or onnx_kind not in ONNX_PRECISIONS:
        raise ValueError(f"precisions must be one of {ONNX_PRECISIONS}, got {precision!r} / {onnx_kind!r}")
    if path == "8.6":
        flags = {"fp32": (), "fp16": ("FP16",), "int8": ("FP16", "INT8")}[precision]
        if onnx_kind == "int8" and precision != "int8":
            raise ValueError(_mismatch(path, precision, onnx_kind))
        return BuildPlan(path, precision, onnx_kind, ("EXPLICIT_BATCH",), flags,
                         calibrator=precision == "int8" and onnx_kind != "int8",
                         query_fast_fp16=precision != "fp32")
    if precision == onnx_kind:
        network = ("STRONGLY_TYPED",) if path == "10" else ()  # 11: always strongly typed, flag ignored
        return BuildPlan(path, precision, onnx_kind, network, (), calibrator=False, query_fast_fp16=False)
    if path == "10" and precision == "fp16" and onnx_kind == "fp32":
        if warn:
                logger.warning("TensorRT 10: building the fp32 ONNX as a weakly typed fp16 network "
                           "(BuilderFlag.FP16, deprecated since 10.12, removed in 11); export with "
                           "--precision fp16 for a strongly typed build whose box decoding and NMS stay fp32")
        return BuildPlan(path, precision, onnx_kind, (), ("FP16",), calibrator=False, query_fast_fp16=False)
    raise ValueError(_mismatch(path, precision, onnx_kind))


def _mismatch(path: str, precision: str, onnx_kind: str) -> str:
    how = {"fp32": "export without --precision fp16",
           "fp16": "export it with tools/export_onnx.py --precision fp16",
           "int8": "quantize it with tools/quantize.py (a QDQ ONNX)"}[precision]
    version = {"8.6": "TensorRT 8.6", "10": "TensorRT 10.x", "11": "TensorRT 11.x"}[path]
    return (f"{version} builds a {precision} engine from a {precision} ONNX, but this ONNX is {onnx_kind} "
            f"(strongly typed networks take their precision from the graph): {how}")
