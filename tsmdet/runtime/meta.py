"""The exported model's self-description: what a runtime needs to run it.

The exporter writes this as JSON into the ONNX file's metadata (key ``tsmdet``)
and every engine reads it back, so no runtime hard-codes input size, state
shapes, normalisation or class names (the state contract of docs/architecture.md).

``task`` says what the graph computes (``'detection'`` or ``'recognition'``); the
engines pick the postprocess from it (:mod:`tsmdet.runtime.tasks`). Files written
before the field existed are detectors.

Graph contract (batch ``B`` = number of stream slots in one call):

* input ``image``: float32 ``(B, 3, H, W)``, pixel values 0..255 in ``channel_order``, placed in
  ``input_size`` by the preprocessing contract ``preprocess`` (:class:`tsmdet.runtime.preprocess.Preprocess`;
  files without it were letterboxed with ``pad_value``); mean/std normalisation is inside the graph.
* inputs ``state_0 .. state_{k-1}``: float32 ``(B, C_i, H_i, W_i)``, zeros at a stream start.
* outputs ``boxes`` float32 ``(B, K, 4)`` x1, y1, x2, y2 in letterboxed input pixels;
  ``scores`` float32 ``(B, K)``; ``labels`` int32 ``(B, K)`` (0-based class index);
  ``num_dets`` int32 ``(B,)`` valid rows (rows past it have score 0);
  ``state_out_0 .. state_out_{k-1}``: the next frame's states, same shapes as the inputs.
* recognition instead outputs ``scores`` float32 ``(B, num_classes)``: this frame's class logits.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

from .preprocess import Preprocess

META_KEY = "tsmdet"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class StateSpec:
    """One shift cache: graph input name, graph output name, shape for ONE stream slot."""

    name: str
    output: str
    shape: tuple[int, ...]  # (1, C, H, W)

    @property
    def nbytes(self) -> int:
        n = 4  # float32
        for d in self.shape:
            n *= d
        return n


@dataclass(frozen=True)
class ModelMeta:
    """Everything an engine needs besides the graph itself."""

    input_size: tuple[int, int]  # (width, height) of the letterboxed network input
    classes: tuple[str, ...]
    task: str = "detection"  # 'detection' | 'recognition' (tsmdet.runtime.tasks.TASKS)
    states: tuple[StateSpec, ...] = ()
    batch_size: int = 1  # static batch of the graph; -1 when the batch axis is dynamic
    channel_order: str = "RGB"
    mean: tuple[float, float, float] = (123.675, 116.28, 103.53)  # applied inside the graph
    std: tuple[float, float, float] = (58.395, 57.12, 57.375)
    pad_value: float = 114.0
    input_name: str = "image"
    output_names: tuple[str, ...] = ("boxes", "scores", "labels", "num_dets")
    max_det: int = 100
    score_thr: float = 0.05
    model_name: str = ""
    schema_version: int = SCHEMA_VERSION
    extra: dict = field(default_factory=dict)
    # the preprocessing contract; None in files written before it (run as the centred letterbox)
    preprocess: Preprocess | None = None
    precision: str = "fp32"  # 'fp32' | 'fp16' (fp32 island for decoding + NMS) | 'int8' (QDQ)

    @property
    def preprocessing(self) -> Preprocess:
        """The contract every engine applies: the stored one, else the pre-contract letterbox."""
        if self.preprocess is not None:
            return self.preprocess
        return Preprocess(input_size=self.input_size, pad_position="center",
                          pad_value=(self.pad_value,) * 3, channel_order=self.channel_order,
                          mean=self.mean, std=self.std)

    @property
    def state_bytes_per_stream(self) -> int:
        return sum(s.nbytes for s in self.states)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ModelMeta":
        raw = json.loads(text)
        version = raw.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"model metadata schema {version} is not supported (expected {SCHEMA_VERSION})")
        raw["states"] = tuple(
            StateSpec(name=s["name"], output=s["output"], shape=tuple(s["shape"])) for s in raw.get("states", ())
        )
        for key in ("input_size", "classes", "mean", "std", "output_names"):
            raw[key] = tuple(raw[key])
        if raw.get("preprocess") is not None:
            raw["preprocess"] = Preprocess.from_dict(raw["preprocess"])
        return cls(**raw)


def read_onnx_meta(path: str, task: str | None = None) -> ModelMeta:
    """Read the metadata of an exported ONNX file without loading weights into a session.

    Every way the file can be unusable raises :class:`~tsmdet.runtime.errors.ModelFileError`
    naming the file: missing, not ONNX (or truncated), no tsmdet metadata, unreadable metadata,
    an unknown task, or a task other than ``task`` when one is asked for.
    """
    import onnx  # local: onnx is only needed by the onnx backend and tools
    from google.protobuf.message import DecodeError

    from .errors import ModelFileError

    # runtime/tasks.py TASKS (not imported: it imports this module)
    known_tasks = ("detection", "recognition")

    if not os.path.isfile(path):
        raise ModelFileError(f"{path}: no such model file")
    try:
        model = onnx.load(path, load_external_data=False)
    except (DecodeError, ValueError, RuntimeError, OSError, UnicodeDecodeError) as exc:
        raise ModelFileError(
            f"{path}: not an ONNX model, or a truncated one ({_first_line(exc)})"
        ) from None
    if not model.graph.node and not model.graph.input:
        raise ModelFileError(f"{path}: not an ONNX model (no graph in it), or a truncated one")
    text = next((prop.value for prop in model.metadata_props if prop.key == META_KEY), None)
    if text is None:
        raise ModelFileError(f"{path}: no '{META_KEY}' metadata; was it exported by tools/export_onnx.py?")
    try:
        meta = ModelMeta.from_json(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{path}: unreadable '{META_KEY}' metadata ({exc})") from None
    if meta.task not in known_tasks:
        raise ModelFileError(
            f"{path}: unknown task {meta.task!r} in its metadata (known: {', '.join(known_tasks)})")
    if task is not None and meta.task != task:
        raise ModelFileError(f"{path}: a {meta.task} model, but a {task} model was asked for")
    return meta


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
