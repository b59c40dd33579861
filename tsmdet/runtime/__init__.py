"""Engines that run an exported online model (detector or recognizer): torch, onnxruntime, TensorRT.

One interface (:class:`Engine`). Nothing here imports mmcv/mmdet/mmengine or any other
tsmdet layer but ``tsmdet.utils``, and no backend library is imported until it is used,
so a Jetson with only TensorRT (or a server with only onnxruntime) can run an exported
model with numpy + opencv + that one library. Building a TensorRT engine from ONNX is
the deploy layer's job (``tsmdet.deploy``; ``tsmdet.apis.open_engine`` does it on first
use); this layer only runs built artifacts.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .engine import INSTALL_HINTS, Engine, EngineUnavailableError, StageTimes, import_backend
from .meta import ModelMeta, StateSpec, read_onnx_meta
from .preprocess import LetterboxInfo, letterbox, unletterbox_boxes
from .results import Classification, Detections, Result
from .tasks import TASKS, Task, task_of

__all__ = [
    "ENGINE_CHOICES", "ENGINE_KINDS", "TASKS", "Classification", "Detections", "Engine", "EngineUnavailableError",
    "LetterboxInfo", "ModelMeta", "Result", "StageTimes", "StateSpec", "Task", "available_engines", "create_engine",
    "is_engine_file", "letterbox", "read_onnx_meta", "require_engine", "task_of", "unletterbox_boxes",
]

logger = logging.getLogger(__name__)

ENGINE_KINDS = ("trt", "onnx", "torch")  # every local backend, in the order "auto" prefers
ENGINE_CHOICES = ("auto", *ENGINE_KINDS)  # what the tools' --engine accepts
ENGINE_SUFFIXES = (".engine", ".plan", ".trt")


def is_engine_file(path: str | Path) -> bool:
    """A serialised TensorRT engine (by its suffix), as opposed to an ``.onnx`` graph."""
    return Path(path).suffix in ENGINE_SUFFIXES


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
    raise ValueError(f"unknown engine kind {kind!r}; choose from {ENGINE_CHOICES}")


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
    """Pick the backend for ``auto`` from the artifact: a torch module runs on torch, a
    serialised engine on TensorRT, an ``.onnx`` file on onnxruntime (``tsmdet.apis.open_engine``
    prefers TensorRT for it where usable, building the engine first)."""
    if kind != "auto":
        return kind
    if _is_torch_module(model):
        return "torch"
    if is_engine_file(model):
        return "trt"
    if _probe("onnx")[0]:
        return "onnx"
    raise EngineUnavailableError(f"no engine can run {model}: {INSTALL_HINTS['onnx']}")


def create_engine(kind: str, model: Any, num_streams: int = 1, threads: int | None = None,
                  **kwargs: Any) -> Engine:
    """Create an engine; never falls back silently to another backend.

    Args:
        kind: 'auto', 'trt', 'onnx' or 'torch'.
        model: a ``.onnx`` path (onnx), a serialised engine path (trt; build one with
            ``tools/build_engine.py``), or the exporter's ``torch.nn.Module`` (torch, with ``meta=``).
        num_streams: stream slots, each with its own shift state.
        threads: CPU compute threads (torch: intra-op threads of this engine's calls; onnx: intra-op
            threads, inter-op 1, no spinning unless ``allow_spinning=True``); default: the thread
            policy's rule from the usable cores (:mod:`tsmdet.runtime.threads`). Ignored by trt/triton.
        kwargs: backend options: ``providers``, ``intra_op_threads``, ``inter_op_threads``,
            ``allow_spinning`` (onnx); ``meta``, ``device`` (torch).
            kind 'triton': ``model`` is the server's gRPC URL; ``model_name``, ``timeout_s``.
    """
    if kind == "triton":  # served by Triton (tools/serve.py): the shift caches live on the server
        from .triton_engine import TritonEngine

        return TritonEngine(str(model), num_streams=num_streams, **kwargs)
    resolved = _resolve_kind(kind, model)
    require_engine(resolved)
    logger.info("engine %s (asked for %s)", resolved, kind)

    if resolved == "torch":
        if not _is_torch_module(model):
            raise ValueError(
                "the torch engine runs the exporter's nn.Module; pass the module and meta=ModelMeta"
            )
        from .torch_engine import TorchEngine

        return TorchEngine(model, kwargs.pop("meta"), num_streams=num_streams, threads=threads, **kwargs)
    if _is_torch_module(model):
        raise ValueError(f"a torch module runs only on the torch engine, not {resolved!r}")
    path = Path(model)
    if resolved == "onnx":
        from .onnx_engine import OnnxEngine

        if threads is not None:
            kwargs.setdefault("intra_op_threads", threads)
        return OnnxEngine(path, num_streams=num_streams, **kwargs)
    if not is_engine_file(path):
        raise ValueError(
            f"{path}: the TensorRT engine runs a built engine ({'/'.join(ENGINE_SUFFIXES)}); build one with "
            "tools/build_engine.py, or open it with tsmdet.apis.open_engine, which builds and caches it"
        )
    from .trt_engine import TrtEngine

    return TrtEngine(path, num_streams=num_streams)
from .preprocess import Preprocess  # noqa: E402  (the preprocessing contract)

__all__ += ["Preprocess"]
