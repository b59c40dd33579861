"""Opening an engine the way the tools do: from a config + checkpoint, an ONNX file or a built engine.

This is the layer above ``tsmdet.runtime`` (which only runs built artifacts) and
``tsmdet.deploy`` (which makes them): it exports the shipped model on first use and
builds a TensorRT engine from an ``.onnx`` file when TensorRT is asked for (or chosen by
``auto``). Nothing from OpenMMLab is imported unless the torch engine or an export needs
it, so an onnxruntime/TensorRT-only machine can still open a given model.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tsmdet.runtime import Engine, create_engine, is_engine_file, require_engine
from tsmdet.runtime.engine import EngineUnavailableError

from .defaults import DEFAULT_CHECKPOINT, DEFAULT_CONFIG, default_onnx

logger = logging.getLogger(__name__)


def _trt_usable() -> bool:
    try:
        require_engine("trt")
    except EngineUnavailableError:
        return False
    return True


def engine_from_model_file(kind: str, model: str | Path, num_streams: int = 1, **kwargs: Any) -> Engine:
    """An engine for an ``.onnx`` file or a built TensorRT engine.

    ``trt`` with an ``.onnx`` file builds the engine for this GPU first (cached, see
    ``tsmdet.deploy``; ``kwargs`` such as ``precision``, ``cache_dir``, ``max_batch`` go to the
    builder); ``auto`` prefers TensorRT where it is usable, else onnxruntime. Other ``kwargs``
    go to the backend (``intra_op_threads``, ``providers`` for onnxruntime).
    """
    path = Path(model)
    threads = kwargs.pop("threads", None)  # CPU thread policy: torch/onnx only
    if kind == "auto" and not is_engine_file(path):
        kind = "trt" if _trt_usable() else "onnx"
        logger.info("engine auto -> %s for %s", kind, path)
    if kind == "trt" and not is_engine_file(path):
        require_engine("trt")  # say what to install before any build work
        from tsmdet.deploy.tensorrt import build_engine

        path = build_engine(path, **kwargs)
        kwargs = {}
    if threads is not None and kind == "onnx":
        kwargs["threads"] = threads
    return create_engine(kind, path, num_streams=num_streams, **kwargs)


def open_engine(kind: str = "auto", model: str | Path | None = None, config: str | Path | None = None,
                checkpoint: str | Path | None = None, num_streams: int = 1, url: str | None = None,
                model_name: str | None = None, threads: int | None = None) -> Engine:
    """Open an engine of ``kind`` ('auto', 'torch', 'onnx', 'trt').

    torch runs ``config`` + ``checkpoint`` (default: the shipped model) through the
    exporter's deploy module, i.e. exactly the graph the ONNX file holds; the other
    kinds run ``model`` (an ``.onnx`` file or a TensorRT engine; default: the shipped
    model's ONNX). A kind that is not installed raises ``EngineUnavailableError``.
    'triton' runs the model a Triton server serves at ``url`` (``tools/serve.py``) as ``model_name``.
    ``threads``: CPU compute threads of the torch/onnx engine (default: the thread policy's rule,
    :mod:`tsmdet.runtime.threads`); TensorRT and Triton do not use it.
    """
    if kind == "triton":
        return create_engine("triton", url or "localhost:8001", num_streams=num_streams,
                             **({"model_name": model_name} if model_name else {}))
    if kind != "auto":
        require_engine(kind)  # before any default model is prepared
    if kind == "torch":
        from mmengine.config import Config

        from tsmdet.deploy.export import load_deploy_model
        from tsmdet.deploy.recognizer_export import is_recognizer_config, load_recognizer_deploy

        if config is not None and is_recognizer_config(Config.fromfile(str(config))):
            module, meta = load_recognizer_deploy(config, checkpoint)  # scores + states, as its ONNX
        else:
            module, meta = load_deploy_model(config or DEFAULT_CONFIG, checkpoint or DEFAULT_CHECKPOINT)
        return create_engine("torch", module, num_streams=num_streams, meta=meta, threads=threads)
    return engine_from_model_file(kind, model or default_onnx(), num_streams=num_streams, threads=threads)
