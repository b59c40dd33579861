"""INT8 by explicit quantization: an fp32 ONNX export -> a QDQ ONNX (onnxruntime ``quantize_static``).

* **QDQ format, per-channel weights, symmetric int8** activations and weights: the form
  TensorRT consumes as an explicitly quantized network (zero points 0), and onnxruntime runs
  with its int8 kernels on a CPU.
* **Calibration through the online state**: :class:`StreamingCalibrationReader` runs the
  calibration frames through the fp32 model in order, feeding each frame's ``state_out_i``
  back as the next ``state_i``, so the shift caches (graph inputs) and every activation
  downstream of them are calibrated on the values a stream really produces; zero states
  would calibrate the cached channels on zeros. Frames are prepared with the model's own
  preprocessing contract (``ModelMeta.preprocessing``), exactly as the engines do.
* **Decoding and NMS stay fp32**: every node outside the learned layers (the same fp32
  island as the fp16 export, :func:`tsmdet.deploy.fp16.fp32_island`) is in ``nodes_to_exclude``:
  box coordinates with class offsets, anchors and scores must not be int8.
* **The shift stays a copy**: the exported online shift is a Split + Concat (or, with
  ``shift_export_form('convs')``, two 0/1 1x1 convolutions); quantized, either would round the
  cached channels once more than the rest of the block input, so their nodes are excluded too.
"""
from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader

from ..runtime.meta import META_KEY, ModelMeta, read_onnx_meta
from .fp16 import fp32_island
from .tensorrt.calibration import iter_frames

logger = logging.getLogger(__name__)

METHODS = ("minmax", "entropy", "percentile")
# the exported shift's nodes: the exporter names them after the module path (``.../shifts.3/Conv``)
SHIFT_NODE = re.compile(r"/shifts\.\d+/")
# learned-layer scopes of files exported before the metadata carried them (tsmdet.deploy.deploy_model)
DEFAULT_LEARNED_SCOPES = ("backbone", "neck", "head.rpn.candidates.head", "head.roi.bbox_head",
                          "head.candidates.head")


def learned_scopes(meta: ModelMeta) -> tuple[str, ...]:
    """Module paths of the learned layers (quantized); everything else is the fp32 island."""
    return tuple(meta.extra.get("learned_scopes") or DEFAULT_LEARNED_SCOPES)


class StreamingCalibrationReader(CalibrationDataReader):
    """onnxruntime ``CalibrationDataReader`` that streams frames through the model's online state.

    Each ``get_next()`` returns the feeds of one frame: the preprocessed image and the states
    entering that frame, computed by running the fp32 model on the previous frames.
    """

    def __init__(self, fp32_path: str | Path, source: str | Path, num_frames: int = 64,
                 intra_op_threads: int | None = None) -> None:
        import onnxruntime as ort

        self.meta = read_onnx_meta(str(fp32_path))
        if self.meta.batch_size not in (1, -1):
            raise ValueError(f"{fp32_path}: calibration streams one frame per call; batch {self.meta.batch_size}")
        options = ort.SessionOptions()
        if intra_op_threads:
            options.intra_op_num_threads = intra_op_threads
        self.session = ort.InferenceSession(str(fp32_path), options, providers=["CPUExecutionProvider"])
        self._fetch = [s.output for s in self.meta.states]
        self._frames: Iterator[np.ndarray] = iter_frames(source, num_frames)
        self._states = [np.zeros(s.shape, np.float32) for s in self.meta.states]
        self.frames_read = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        frame = next(self._frames, None)
        if frame is None:
            return None
        image = self.meta.preprocessing.apply(frame)[0][None]  # (1, 3, H, W)
        feeds = {self.meta.input_name: image, **{s.name: x for s, x in zip(self.meta.states, self._states)}}
        if self._fetch:
            self._states = self.session.run(self._fetch, feeds)  # the states entering the next frame
        self.frames_read += 1
        return feeds


@dataclass(frozen=True)
class QuantizeReport:
    out: Path
    method: str
    frames: int
    quantized_nodes: int
    excluded_nodes: int


def quantize_int8(model: str | Path, calib: str | Path, out: str | Path, method: str = "minmax",
                  frames: int = 64, per_channel: bool = True, symmetric: bool = True) -> QuantizeReport:
    """Write the QDQ int8 model of the fp32 export ``model`` to ``out``; calibrate on ``calib``.

    Args:
        model: fp32 ONNX written by ``tools/export_onnx.py`` (its metadata is carried over,
            ``precision='int8'``).
        calib: a video file or an image folder, read in order as one stream.
        method: 'minmax', 'entropy' or 'percentile' (onnxruntime's calibrators).
        frames: calibration frames (the first N of ``calib``).
        symmetric: int8 activations with zero point 0 (TensorRT's explicit quantization);
            False gives uint8 asymmetric activations, onnxruntime's fastest x86 CPU path (U8S8).
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    model, out = Path(model), Path(out)
    meta = read_onnx_meta(str(model))
    if meta.precision != "fp32":
        raise ValueError(f"{model}: quantize an fp32 export, not a {meta.precision} one")
    graph = onnx.load(str(model))
    exclude = fp32_island(graph, learned_scopes(meta))
    island = set(exclude)
    exclude += [n.name for n in graph.graph.node if SHIFT_NODE.search(n.name) and n.name not in island]
    reader = StreamingCalibrationReader(model, calib, frames)
    calibrate = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
                 "percentile": CalibrationMethod.Percentile}[method]
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    quantize_static(
        str(model), str(out), reader, quant_format=QuantFormat.QDQ, per_channel=per_channel,
        activation_type=QuantType.QInt8 if symmetric else QuantType.QUInt8, weight_type=QuantType.QInt8,
        nodes_to_exclude=exclude, calibrate_method=calibrate,
        extra_options={"ActivationSymmetric": symmetric, "WeightSymmetric": True},  # TensorRT: zero points 0
    )
    if reader.frames_read == 0:
        raise ValueError(f"calibration source {calib} yielded no frames")
    quantized = onnx.load(str(out))
    num_q = sum(1 for n in quantized.graph.node if n.op_type == "QuantizeLinear")
    _write_meta(quantized, meta, method, reader.frames_read, per_channel, symmetric)
    onnx.save(quantized, str(out))
    logger.info("int8 (%s, %d frames, %.1f s): %d QuantizeLinear nodes, %d nodes kept fp32 -> %s", method,
                reader.frames_read, time.perf_counter() - t0, num_q, len(exclude), out)
    return QuantizeReport(out, method, reader.frames_read, num_q, len(exclude))


def _write_meta(model: onnx.ModelProto, meta: ModelMeta, method: str, frames: int, per_channel: bool,
                symmetric: bool) -> None:
    import dataclasses

    extra = {**meta.extra, "quantization": {"format": "QDQ", "method": method, "calibration_frames": frames,
                                            "per_channel": per_channel, "symmetric_activations": symmetric}}
    new = dataclasses.replace(meta, precision="int8", extra=extra)
    for prop in [p for p in model.metadata_props if p.key == META_KEY]:
        model.metadata_props.remove(prop)
    entry = model.metadata_props.add()
    entry.key, entry.value = META_KEY, new.to_json()


@dataclass(frozen=True)
class SpeedComparison:
    """Interleaved model-only latency of several ONNX files on the same frames (one run)."""

    p50_ms: dict[str, float]
    # per model after the first: median over blocks of (first / this) block p50, its speed-up
    paired_ratios: dict[str, float]

    @property
    def paired_ratio(self) -> float:
        """The second model's speed-up over the first."""
        return next(iter(self.paired_ratios.values()), 1.0)

    def to_json(self) -> str:
        return json.dumps({"p50_ms": self.p50_ms, "paired_ratios": self.paired_ratios})


def compare_speed(models: Sequence[str | Path], source: str | Path, frames: int = 60, block: int = 10,
                  threads: int | None = None) -> SpeedComparison:
    """Model-only latency of ``models`` (graph call with state feedback) in interleaved blocks.

    Every block runs ``block`` frames on each model, the order reversed every other block, so a
    slow phase of a shared machine hits all of them; the ratio is paired per block
    (``p50(first) / p50(other)``: above 1 means the other model is faster than the first).
    """
    from tsmdet.runtime.onnx_engine import OnnxEngine

    engines = [OnnxEngine(m, intra_op_threads=threads) for m in models]
    images = [engines[0].meta.preprocessing.apply(f)[0][None] for f in iter_frames(source, frames)]
    states = [[np.zeros(s.shape, np.float32) for s in e.meta.states] for e in engines]
    samples: list[list[float]] = [[] for _ in engines]
    ratios: list[list[float]] = [[] for _ in engines[1:]]
    for b, start in enumerate(range(0, len(images), block)):
        order = list(range(len(engines)))[:: 1 if b % 2 == 0 else -1]
        block_p50 = {}
        for i in order:
            engine = engines[i]
            engine.step(images[start], states[i])  # warm-up: the previous model evicted the caches
            times = []
            for image in images[start : start + block]:
                t0 = time.perf_counter()
                _, states[i] = engine.step(image, states[i])
                times.append(1e3 * (time.perf_counter() - t0))
            samples[i].extend(times)
            block_p50[i] = float(np.median(times))
        for i in range(1, len(engines)):
            ratios[i - 1].append(block_p50[0] / block_p50[i])
    p50 = {str(m): float(np.median(s)) for m, s in zip(models, samples)}
    return SpeedComparison(p50, {str(m): float(np.median(r)) for m, r in zip(models[1:], ratios)})
