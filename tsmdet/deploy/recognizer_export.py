"""Export an online TSM recognizer to ONNX: one frame in, its class logits and the next shift caches out.

The graph contract is the detector's (:mod:`tsmdet.runtime.meta`) with the recognition outputs::

    forward(image, *states) -> (scores, *new_states)

``image`` is the frame resized by the preprocessing contract, float32 0..255 in the model's
channel order; the data preprocessor's mean/std normalisation, the online backbone and the
head's per-frame logits (:meth:`Recognizer2D.step`, no segment consensus) are inside.
``scores`` are ``(B, num_classes)`` logits; the runtime's ``recognition`` task turns them into
probabilities and :mod:`tsmdet.runtime.smoothing` into a stable label, with the parameters the
config's ``smoothing = dict(...)`` wrote into ``ModelMeta.extra['smoothing']``.

The export machinery is the detector's: the TorchScript tracer with named state I/O
(:func:`tsmdet.deploy.export.trace_to_onnx`: the tracer, the metadata writer, the TensorRT operator
check; only the onnxruntime comparison is recognition-specific (logits, not detections).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..runtime.meta import ModelMeta, StateSpec
from ..runtime.preprocess import Preprocess
from ..runtime.smoothing import SmoothingConfig
from .deploy_model import check_contract
from .onnx_utils import OPSET, state_names
from .verify import ExportVerificationError, random_frames

logger = logging.getLogger(__name__)

RECOGNITION_OUTPUTS = ("scores",)
RECOGNIZER_TYPES = ("Recognizer2D",)


class DeployRecognizer(nn.Module):
    """Normalise, one online step of the recognizer: ``(image, *states) -> (logits, *new_states)``."""

    def __init__(self, recognizer: nn.Module, mean: Tensor, std: Tensor) -> None:
        super().__init__()
        self.recognizer = recognizer
        self.register_buffer("mean", mean.reshape(1, 3, 1, 1).float())
        self.register_buffer("std", std.reshape(1, 3, 1, 1).float())

    def forward(self, image: Tensor, *states: Tensor) -> tuple[Tensor, ...]:
        x = (image - self.mean) / self.std  # (B, 3, H, W), as the ActionDataPreprocessor
        logits, new_states = self.recognizer.step(x, states)  # (B, K)
        return (logits, *new_states)

    def fp16_scopes(self) -> tuple[str, ...]:
        """The learned layers (an fp16 export keeps the normalisation in fp32)."""
        return ("recognizer.backbone", "recognizer.cls_head")


def is_recognizer_config(cfg: Any) -> bool:
    """A config whose model is a recognizer (what ``tools/export_onnx.py`` dispatches on)."""
    model = cfg.get("model") or {}
    return model.get("type") in RECOGNIZER_TYPES


def build_recognizer_deploy(
    model: nn.Module, input_size: tuple[int, int], classes: tuple[str, ...] | None = None,
    model_name: str = "", dynamic_batch: bool = False, preprocess: Preprocess | None = None,
    smoothing: SmoothingConfig | None = None,
) -> tuple[DeployRecognizer, ModelMeta]:
    """The graph-contract module of a past-shift ``Recognizer2D`` and its metadata for
    ``input_size`` (w, h)."""
    model.eval()
    width, height = input_size
    prep = model.data_preprocessor
    mean = prep.mean.detach().flatten().cpu()
    std = prep.std.detach().flatten().cpu()
    order = "RGB" if prep.bgr_to_rgb else "BGR"
    contract = check_contract(preprocess, input_size, order, tuple(float(v) for v in mean),
                              tuple(float(v) for v in std))
    states = model.init_state(1, height, width)  # raises for a bidirectional shift
    num_classes = model.cls_head.num_classes
    if classes and len(classes) != num_classes:
        raise ValueError(f"{len(classes)} class names for a head with {num_classes} classes")
    smoothing = smoothing or SmoothingConfig()
    smoothing.check(num_classes)
    param = next(model.parameters())
    deploy = DeployRecognizer(model, mean, std).eval().to(param.device)
    in_names, out_names = state_names(len(states))
    backbone = model.backbone
    meta = ModelMeta(
        input_size=(width, height),
        classes=tuple(classes) if classes else tuple(f"class_{i}" for i in range(num_classes)),
        task="recognition",
        states=tuple(StateSpec(i, o, tuple(s.shape)) for i, o, s in zip(in_names, out_names, states)),
        batch_size=-1 if dynamic_batch else 1,
        channel_order=contract.channel_order,
        mean=contract.mean,
        std=contract.std,
        pad_value=float(contract.pad_pixel[0]),
        preprocess=contract,
        output_names=RECOGNITION_OUTPUTS,
        max_det=0,
        score_thr=0.0,
        model_name=model_name,
        extra={"recognizer": type(model).__name__, "backbone": type(backbone).__name__,
               "opset": OPSET, "exporter": "torchscript", "num_segments": int(model.num_segments),
               "shift_div": getattr(backbone, "shift_div", None), "smoothing": smoothing.to_dict()},
    )
    return deploy, meta


@dataclass(frozen=True)
class RecognizerVerifyReport:
    """Torch deploy module vs onnxruntime over one frame sequence with the states fed back."""

    frames: int
    max_state_diff: float  # relative to the state magnitude (at least 1)
    max_logit_diff: float  # absolute
    argmax_agree: float  # fraction of frames with the same top-1


def verify_recognizer_onnx(module: nn.Module, onnx_path: str | Path, meta: ModelMeta, num_frames: int = 8,
                           batch: int = 1, seed: int = 0, atol: float = 1e-3) -> RecognizerVerifyReport:
    """Run ``num_frames`` random frames through both, states fed back; raise if they disagree
    beyond ``atol``."""
    import onnxruntime as ort  # local: only the exporter needs it here

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    device = next(module.parameters()).device
    fetch = [*meta.output_names, *(s.output for s in meta.states)]
    states_t = [torch.zeros(batch, *s.shape[1:], device=device) for s in meta.states]
    states_o = [np.zeros((batch, *s.shape[1:]), dtype=np.float32) for s in meta.states]
    state_diff = logit_diff = 0.0
    agree = 0
    module.eval()
    for frame in random_frames(num_frames, batch, meta.input_size, seed):
        with torch.no_grad():
            ref = [t.cpu().numpy() for t in module(frame.to(device), *states_t)]
        got = session.run(fetch, {meta.input_name: frame.numpy(),
                                  **{s.name: x for s, x in zip(meta.states, states_o)}})
        logit_diff = max(logit_diff, float(np.abs(ref[0] - got[0]).max()))
        agree += int((ref[0].argmax(-1) == got[0].argmax(-1)).all())
        for r, g in zip(ref[1:], got[1:]):
            state_diff = max(state_diff, float(np.abs(r - g).max()) / max(1.0, float(np.abs(r).max())))
        states_t = [torch.from_numpy(s).to(device) for s in ref[1:]]
        states_o = got[1:]
    report = RecognizerVerifyReport(num_frames, state_diff, logit_diff, agree / max(1, num_frames))
    logger.info("onnxruntime vs torch over %d frames x %d streams: logits max diff %.3g, state max diff "
                "%.3g (relative)", num_frames, batch, logit_diff, state_diff)
    if state_diff > atol or logit_diff > atol:
        raise ExportVerificationError(f"{onnx_path}: onnxruntime disagrees with the torch deploy module: "
                                      f"{report}. Re-export with --no-verify to keep the file for "
                                      "inspection.")
    return report


def export_recognizer(deploy: DeployRecognizer, meta: ModelMeta, out: str | os.PathLike, verify: bool = True,
                      verify_frames: int = 8) -> RecognizerVerifyReport | None:
    """Trace ``deploy`` to ``out``, store ``meta``, check the operators for TensorRT, verify on
    onnxruntime."""
    from .export import trace_to_onnx  # export imports this module for its dispatch

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    dynamic = trace_to_onnx(deploy, meta, out)
    logger.info("exported recognizer %s (%d states, %.1f KiB per stream, batch %s)", out, len(meta.states),
                meta.state_bytes_per_stream / 1024, "dynamic" if dynamic else 1)
    if not verify:
        return None
    return verify_recognizer_onnx(deploy, out, meta, num_frames=verify_frames, batch=2 if dynamic else 1)


def _classes(cfg: Any, ckpt: dict) -> tuple[str, ...] | None:
    """Class names: the config's ``classes``, else the checkpoint's (converter ``meta.classes``,
    training ``meta.dataset_meta.classes``), else the test set's class-name file."""
    meta = (ckpt or {}).get("meta") or {}
    names = cfg.get("classes") or meta.get("classes") or (meta.get("dataset_meta") or {}).get("classes")
    if not names:
        dataset = (cfg.get("test_dataloader") or {}).get("dataset") or {}
        file = dataset.get("class_names_file")
        if file:
            path = Path(dataset.get("data_root", "")) / file
            if path.is_file():
                names = [n.strip() for n in path.read_text(encoding="utf-8").splitlines() if n.strip()]
    return tuple(names) if names else None


def load_recognizer_deploy(config_path: str | os.PathLike, checkpoint: str | os.PathLike | None,
                           input_size: tuple[int, int] | None = None,
                           dynamic_batch: bool = False) -> tuple[DeployRecognizer, ModelMeta]:
    """Build the recognizer of ``config_path``, load ``checkpoint`` strictly, wrap it for deployment.

    ``input_size`` (w, h) defaults to the config's ``preprocess['input_size']`` (224x224 without one);
    ``checkpoint=None`` keeps random weights (latency measurements only).
    """
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint

    for path, what in ((config_path, "config"), (checkpoint, "checkpoint")):
        if path is not None and not Path(path).is_file():
            raise FileNotFoundError(f"{what} not found: {path}")
    cfg = Config.fromfile(str(config_path))
    if not is_recognizer_config(cfg):
        raise ValueError(f"{config_path}: model type {cfg.model.get('type')!r} is not a recognizer")
    import tsmdet.models  # noqa: F401  (registers the recognizers)
    from mmdet.registry import MODELS

    from ..utils.checkpoint import register_safe_loader

    register_safe_loader()
    raw = cfg.get("preprocess")
    contract = Preprocess.from_dict(dict(raw)) if raw is not None else None
    if input_size is not None and contract is not None and tuple(input_size) != contract.input_size:
        logger.warning("export size %s differs from the config's preprocess input_size %s",
                       tuple(input_size), contract.input_size)
        contract = Preprocess(**{**contract.to_dict(), "input_size": tuple(input_size), "scale": None})
    size = tuple(input_size) if input_size else (contract.input_size if contract else (224, 224))
    model_cfg = cfg.model.to_dict()
    model_cfg.get("backbone", {})["init_cfg"] = None  # the checkpoint overwrites any pretrained weights
    model = MODELS.build(model_cfg)
    ckpt = load_checkpoint(model, str(checkpoint), map_location="cpu", strict=True,
                           logger="silent") if checkpoint else {}
    smoothing = SmoothingConfig.from_dict(cfg.get("smoothing"))
    return build_recognizer_deploy(model.eval(), size, classes=_classes(cfg, ckpt),
                                   model_name=Path(config_path).stem, dynamic_batch=dynamic_batch,
                                   preprocess=contract, smoothing=smoothing)


def export_recognizer_onnx(config_path: str | os.PathLike, checkpoint: str | os.PathLike | None,
                           out: str | os.PathLike, input_size: tuple[int, int] | None = None,
                           dynamic_batch: bool = False, verify: bool = True,
                           precision: str = "fp32") -> tuple[ModelMeta, RecognizerVerifyReport | None]:
    """``tools/export_onnx.py`` for a recognizer config (see :func:`load_recognizer_deploy`)."""
    if precision != "fp32":
        raise ValueError(f"recognizers export in fp32 only for now, not {precision!r}")
    deploy, meta = load_recognizer_deploy(config_path, checkpoint, input_size, dynamic_batch)
    return meta, export_recognizer(deploy, meta, out, verify=verify)
