"""Export a tsmdet/mmdet detector to ONNX with the online state contract.

The module that is exported comes from :func:`tsmdet.deploy.deploy_model.build_deploy_model`
(re-exported here). ``export_onnx`` does the whole job from a config and a checkpoint: build, load,
export with the TorchScript tracer (:func:`tsmdet.deploy.onnx_utils.export_online`),
write the ``ModelMeta`` JSON into the ONNX metadata, reject operators TensorRT
cannot import, and compare onnxruntime with torch on a random frame sequence.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import onnx
import torch
from torch import nn

from ..runtime.meta import META_KEY, ModelMeta
from ..runtime.preprocess import Preprocess
from .deploy_model import DETECTION_OUTPUTS, DeployDetector, build_deploy_model
from .fp16 import convert_to_fp16
from .onnx_utils import export_online
from .trt_ops import check_trt_compatible
from .verify import VerifyReport, verify_onnx

logger = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16")
# an fp16 graph against the fp32 torch module: float16 rounding, not float error, sets the bar
FP16_TOLERANCES = dict(state_atol=5e-2, score_atol=5e-2, unmatched_frac=0.25, iou_thr=0.9, box_atol=0.5)

__all__ = ["DETECTION_OUTPUTS", "PRECISIONS", "DeployDetector", "build_deploy_model", "export_deploy_model", "export_onnx",
           "write_metadata"]


def write_metadata(path: str | os.PathLike, meta: ModelMeta) -> None:
    """Store ``meta`` as JSON under ``metadata_props['tsmdet']`` (replacing an older entry)."""
    model = onnx.load(str(path))
    for prop in [p for p in model.metadata_props if p.key == META_KEY]:
        model.metadata_props.remove(prop)
    entry = model.metadata_props.add()
    entry.key, entry.value = META_KEY, meta.to_json()
    onnx.save(model, str(path))


def trace_to_onnx(deploy: nn.Module, meta: ModelMeta, out: Path) -> bool:
    """Trace an online deploy module (detector or recognizer) to ``out`` with its states as graph
    I/O, store ``meta`` in the file and check its operators for TensorRT; True for a dynamic batch."""
    dynamic = meta.batch_size == -1
    batch = 2 if dynamic else 1  # trace with 2 so nothing specialises on a batch of one
    param = next(deploy.parameters())
    width, height = meta.input_size
    pad = float(meta.preprocessing.pad_pixel[0])  # any value traces the same graph
    image = torch.full((batch, 3, height, width), pad, dtype=param.dtype, device=param.device)
    states = [torch.zeros(batch, *s.shape[1:], dtype=param.dtype, device=param.device) for s in meta.states]
    with warnings.catch_warnings():
        # every size the tracer warns about (candidates, top-k K, NMS N) is fixed by the static input size
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter is chosen on purpose
        export_online(deploy, image, states, meta.output_names, out, dynamic_batch=dynamic)
    write_metadata(out, meta)
    check_trt_compatible(out)
    return dynamic


def export_deploy_model(
    deploy: DeployDetector, meta: ModelMeta, out: str | os.PathLike, verify: bool = True,
    verify_frames: int = 8, precision: str = "fp32",
) -> VerifyReport | None:
    """Export ``deploy`` to ``out`` with ``meta``, check the ops for TensorRT, verify on onnxruntime.

    ``precision='fp16'`` exports and verifies the fp32 graph first, then converts its learned
    layers to fp16 with decoding and NMS kept in an fp32 island (:mod:`tsmdet.deploy.fp16`) and
    checks the fp16 file against torch with fp16 tolerances; the metadata records the precision.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if precision == "fp16":
        with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
            fp32_path = Path(tmp) / "fp32.onnx"
            export_deploy_model(deploy, meta, fp32_path, verify=verify, verify_frames=verify_frames)
            meta = dataclasses.replace(meta, precision="fp16")
            model = convert_to_fp16(onnx.load(str(fp32_path)), deploy.fp16_scopes())
            onnx.save(model, str(out))
        write_metadata(out, meta)
        check_trt_compatible(out)
        if not verify:
            return None
        batch = 2 if meta.batch_size == -1 else 1
        return verify_onnx(deploy, out, meta, num_frames=verify_frames, batch=batch, **FP16_TOLERANCES)
    dynamic = trace_to_onnx(deploy, meta, out)
    ops = sorted({node.op_type for node in onnx.load(str(out), load_external_data=False).graph.node})
    logger.info("exported %s (%d states, batch %s); ops: %s", out, len(meta.states),
                "dynamic" if dynamic else 1, ", ".join(ops))
    if not verify:
        return None
    return verify_onnx(deploy, out, meta, num_frames=verify_frames, batch=2 if dynamic else 1)


def _find_resize_scale(node: Any) -> tuple[int, int] | None:
    """The ``scale`` (w, h) of the first ``Resize`` transform in a (nested) pipeline or dataset config."""
    if isinstance(node, dict):
        if node.get("type") in ("Resize", "mmdet.Resize") and node.get("scale") is not None:
            scale = node["scale"]
            if isinstance(scale, (int, float)):
                return int(scale), int(scale)
            return int(scale[0]), int(scale[1])
        children = node.values()
    elif isinstance(node, (list, tuple)):
        children = node
    else:
        return None
    for child in children:
        found = _find_resize_scale(child)
        if found is not None:
            return found
    return None


def input_size_from_config(cfg: Any) -> tuple[int, int] | None:
    """(w, h) network input from the test pipeline's ``Resize`` scale, rounded up to ``pad_size_divisor``.

    mmdet's keep-ratio resize fits a frame inside the scale and pads to the divisor;
    the letterboxed graph input is that scale padded the same way. The test dataloader's
    pipeline comes first: it is what testing runs, while a top-level ``test_pipeline``
    may be a ``_base_`` leftover that the config replaced in its dataloader.
    """
    scale = _find_resize_scale(cfg.get("test_dataloader")) or _find_resize_scale(cfg.get("test_pipeline"))
    if scale is None:
        return None
    model_cfg = cfg.model.get("detector", cfg.model)
    divisor = int((model_cfg.get("data_preprocessor") or cfg.model.get("data_preprocessor") or {})
                  .get("pad_size_divisor", 1))
    return tuple(-(-v // divisor) * divisor for v in scale)  # type: ignore[return-value]


def preprocess_from_config(cfg: Any, input_size: tuple[int, int] | None = None) -> Preprocess | None:
    """The config's preprocessing contract (top-level ``preprocess = dict(...)``).

    A config without one gets the mmdet geometry of its test ``Resize`` (fit inside the
    scale, top left, input size rounded up to the pad divisor). An ``input_size`` that
    differs from the config's makes a contract that fits frames into that size, with a
    warning: the exported model then no longer sees what ``tools/test.py`` evaluated.
    Returns None when neither the config nor ``input_size`` gives a size.
    """
    raw = cfg.get("preprocess")
    if raw is not None:
        contract = Preprocess.from_dict(dict(raw))
    else:
        size = input_size_from_config(cfg)
        if size is None:
            return None if input_size is None else Preprocess(input_size=tuple(input_size))
        contract = Preprocess(input_size=size, scale=_find_resize_scale(cfg.get("test_dataloader"))
                              or _find_resize_scale(cfg.get("test_pipeline")))
    if input_size is not None and tuple(input_size) != contract.input_size:
        logger.warning("export size %s differs from the config's preprocess input_size %s: the exported "
                       "model will not see the frames tools/test.py evaluated", tuple(input_size),
                       contract.input_size)
        contract = Preprocess(**{**contract.to_dict(), "input_size": tuple(input_size), "scale": None})
    return contract


def _classes_from(checkpoint: dict, cfg: Any) -> tuple[str, ...] | None:
    """Class names: the checkpoint's ``meta.dataset_meta``, else the test dataset config's ``metainfo``,
    else the test dataset class's ``METAINFO`` (unwrapping dataset wrappers)."""
    from mmdet.registry import DATASETS

    classes = ((checkpoint.get("meta") or {}).get("dataset_meta") or {}).get("classes")
    dataset = (cfg.get("test_dataloader") or {}).get("dataset") or {}
    while classes is None and dataset:
        classes = (dataset.get("metainfo") or {}).get("classes")
        dataset_cls = DATASETS.get(dataset["type"]) if isinstance(dataset.get("type"), str) else None
        if classes is None and dataset_cls is not None:
            classes = getattr(dataset_cls, "METAINFO", {}).get("classes")
        dataset = dataset.get("dataset") or {}
    return tuple(classes) if classes else None


def load_model(config_path: str | os.PathLike, checkpoint: str | os.PathLike | None,
               input_size: tuple[int, int] | None = None) -> tuple[nn.Module, Any, dict, Preprocess]:
    """The model of ``config_path`` in eval mode with ``checkpoint`` loaded strictly (random weights when
    None), its config, the loaded checkpoint dict and its preprocessing contract (for ``input_size``).

    Registration follows the config's ``custom_imports`` (``tsmdet.models`` when it has none);
    checkpoints go through the safe loader. The one place the deploy side builds a model from a
    config: the exporter, the torch engine and the benchmark's twins all start here.
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    from mmengine.utils import import_modules_from_strings

    for path, what in ((config_path, "config"), (checkpoint, "checkpoint")):
        if path is not None and not Path(path).is_file():
            raise FileNotFoundError(f"{what} not found: {path}")
    cfg = Config.fromfile(str(config_path))
    imports = cfg.get("custom_imports") or {"imports": ["tsmdet.models"], "allow_failed_imports": False}
    import_modules_from_strings(**imports)
    import tsmdet.models  # noqa: F401  (registers the models, whatever the config imports)
    from tsmdet.utils.checkpoint import register_safe_loader

    register_safe_loader()

    init_default_scope(cfg.get("default_scope", "mmdet"))
    contract = preprocess_from_config(cfg, input_size)
    if contract is None:
        raise ValueError(f"{config_path}: no preprocess dict and no Resize scale in the test pipeline; "
                         "pass an input size (w, h)")
    from mmdet.registry import MODELS

    model = MODELS.build(cfg.model)
    ckpt = load_checkpoint(model, str(checkpoint), map_location="cpu", strict=True) if checkpoint else {}
    return model.eval(), cfg, ckpt, contract


def load_deploy_model(
    config_path: str | os.PathLike, checkpoint: str | os.PathLike | None,
    input_size: tuple[int, int] | None = None, dynamic_batch: bool = False, score_thr: float | None = None,
    max_det: int | None = None, nms_iou: float | None = None, pre_nms_top_k: int | None = None,
) -> tuple[nn.Module, ModelMeta]:
    """Build the model of ``config_path``, load ``checkpoint`` (strictly), wrap it for deployment.

    The returned module has the exported graph's signature, so the torch engine runs
    exactly what the ONNX file contains. Registration follows the config's
    ``custom_imports`` (``tsmdet.models`` when it has none, which also installs the
    safe checkpoint loader). ``input_size`` (w, h) defaults to the test pipeline's
    Resize scale. ``checkpoint=None`` keeps random weights (latency measurements only).
    """
    model, cfg, ckpt, contract = load_model(config_path, checkpoint, input_size)
    size = contract.input_size
    deploy, meta = build_deploy_model(
        model, size, score_thr=score_thr, max_det=max_det, nms_iou=nms_iou, pre_nms_top_k=pre_nms_top_k,
        classes=_classes_from(ckpt, cfg), model_name=Path(config_path).stem, dynamic_batch=dynamic_batch,
        preprocess=contract,
    )
    logger.info("model %s: input %dx%d, %d states (%.1f KiB per stream), %d classes",
                meta.model_name, *meta.input_size, len(meta.states), meta.state_bytes_per_stream / 1024,
                len(meta.classes))
    return deploy, meta


def export_onnx(
    config_path: str | os.PathLike, checkpoint: str | os.PathLike, out: str | os.PathLike,
    input_size: tuple[int, int] | None = None, dynamic_batch: bool = False, score_thr: float | None = None,
    max_det: int | None = None, nms_iou: float | None = None, pre_nms_top_k: int | None = None,
    verify: bool = True, precision: str = "fp32",
) -> tuple[ModelMeta, VerifyReport | None]:
    """Export the model of ``config_path`` with ``checkpoint`` to ``out`` (see :func:`load_deploy_model`).

    Raises ``UnsupportedOperatorError`` when TensorRT could not import the graph and
    ``ExportVerificationError`` when onnxruntime disagrees with torch.
    """
    deploy, meta = load_deploy_model(config_path, checkpoint, input_size, dynamic_batch, score_thr, max_det,
                                     nms_iou, pre_nms_top_k)
    report = export_deploy_model(deploy, meta, out, verify=verify, precision=precision)
    return dataclasses.replace(meta, precision=precision), report
