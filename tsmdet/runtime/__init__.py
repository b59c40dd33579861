"""Engines that run an exported online detector: torch, onnxruntime, TensorRT — one interface.

Nothing here imports mmcv/mmdet/mmengine, and no backend library is imported until
it is used, so a Jetson with only TensorRT (or a server with only onnxruntime)
can run an exported model with numpy + opencv + that one library.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .engine import INSTALL_HINTS, Detections, Engine, EngineUnavailableError, StageTimes, import_backend
from .meta import ModelMeta, StateSpec, read_onnx_meta
from .preprocess import LetterboxInfo, letterbox, unletterbox_boxes

__all__ = [
    "Detections", "Engine", "EngineUnavailableError", "require_engine", "LetterboxInfo", "ModelMeta", "StageTimes",
    "StateSpec", "available_engines", "create_engine", "letterbox", "read_onnx_meta", "unletterbox_boxes",
]

logger = logging.getLogger(__name__)

ENGINE_KINDS = ("trt", "onnx", "torch")  # also the order "auto" prefers
ENGINE_SUFFIXES = (".engine", ".plan", ".trt")


def _probe(kind: str) -> tuple[bool, str]:
    """(usable, version or the reason it is not) for one backend; imports the backend library."""
    if kind in ("torch", "onnx"):
        try:
            library = import_backend("torch" if kind == "torch" else "onnxruntime", kind)
        except EngineUnavailableError as exc:
            return False, str(exc)
        return True, library.__version__
    if kind == "trt":
        from .cuda_memory import cuda_device_count
        from .trt_engine import import_tensorrt

        try:
            trt = import_tensorrt()
            if cuda_device_count() == 0:
                return False, ("TensorRT is installed but no CUDA GPU is visible "
                               "(check the driver and CUDA_VISIBLE_DEVICES)")
        except EngineUnavailableError as exc:
            return False, str(exc)
        return True, trt.__version__
    raise ValueError(f"unknown engine kind {kind!r}; choose from {('auto', *ENGINE_KINDS)}")


def available_engines() -> dict[str, bool | str]:
    """Backend -> its version string when usable here, else False (``create_engine`` says why)."""
    result: dict[str, bool | str] = {}
    for kind in ENGINE_KINDS:
        ok, info = _probe(kind)
        result[kind] = info if ok else False
    return result


def require_engine(kind: str) -> str:
    """The backend's version; raises ``EngineUnavailableError`` saying what to install when it is unusable."""
    ok, info = _probe(kind)
    if not ok:
        raise EngineUnavailableError(info)
    return info


def _is_torch_module(model: Any) -> bool:
    return hasattr(model, "forward") and hasattr(model, "eval") and not isinstance(model, (str, Path))


def _resolve_kind(kind: str, model: Any) -> str:
    """Pick the backend for ``auto``: TensorRT when usable, else onnxruntime, else torch.

    The artifact narrows the choice: a torch module runs only on torch and a
    serialised engine only on TensorRT; an ``.onnx`` file runs on onnxruntime, or
    on TensorRT through an engine built (once, then cached) by the deploy builder.
    """
    if kind != "auto":
        return kind
    if _is_torch_module(model):
        return "torch"
    if Path(model).suffix in ENGINE_SUFFIXES:
        return "trt"
    for candidate in ("trt", "onnx"):
        if _probe(candidate)[0]:
            return candidate
    raise EngineUnavailableError(
        f"no engine can run {model}: {INSTALL_HINTS['onnx']}; or for a GPU: {INSTALL_HINTS['trt']}"
    )


def create_engine(kind: str, model: Any, num_streams: int = 1, **kwargs: Any) -> Engine:
    """Create an engine; never falls back silently to another backend.

    Args:
        kind: 'auto', 'trt', 'onnx' or 'torch'.
        model: a ``.onnx`` path (onnx; trt builds or reuses a cached engine), a serialised
            engine path (trt), or the exporter's ``torch.nn.Module`` (torch, with ``meta=``).
        num_streams: stream slots, each with its own shift state.
        kwargs: backend options: ``providers``, ``intra_op_threads`` (onnx); ``meta``, ``device`` (torch);
            ``precision``, ``cache_dir``, ``max_batch`` (trt from an ``.onnx`` file).
    """
    resolved = _resolve_kind(kind, model)
    require_engine(resolved)
    logger.info("engine %s (asked for %s)", resolved, kind)

    if resolved == "torch":
        if not _is_torch_module(model):
            raise ValueError(
                "the torch engine runs the exporter's nn.Module; pass the module and meta=ModelMeta"
            )
        from .torch_engine import TorchEngine

        return TorchEngine(model, kwargs.pop("meta"), num_streams=num_streams, **kwargs)
    if _is_torch_module(model):
        raise ValueError(f"a torch module runs only on the torch engine, not {resolved!r}")
    path = Path(model)
    if resolved == "onnx":
        from .onnx_engine import OnnxEngine

        return OnnxEngine(path, num_streams=num_streams, **kwargs)
    if path.suffix == ".onnx":
        # deploy.trt_builder imports onnx but nothing from OpenMMLab; imported only on this path
        from ..deploy.trt_builder import build_engine

        path = build_engine(path, **kwargs)
    from .trt_engine import TrtEngine

    return TrtEngine(path, num_streams=num_streams)
