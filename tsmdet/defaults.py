"""The built-in defaults the tools run on when given no arguments, and engine opening.

A newcomer's ``python tools/infer_stream.py`` needs a model and a video with
nothing downloaded: the model is the small synthetic-set checkpoint shipped in
``checkpoints/`` (how it was made: docs/experiments.md), exported to ONNX on
first use; the video is rendered by the synthetic generator (deterministic).
Nothing from OpenMMLab is imported here unless the torch engine or a first-use
export needs it, so an onnxruntime/TensorRT-only machine can still run a given model.
"""
from __future__ import annotations

import logging
from pathlib import Path

from tsmdet.runtime import Engine, create_engine, require_engine

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "configs" / "synthetic" / "faster_rcnn_r18_tsm.py"
DEFAULT_CHECKPOINT = REPO_ROOT / "checkpoints" / "synthetic_faster_rcnn_r18_tsm.pth"
OUTPUTS = REPO_ROOT / "outputs"


def default_video(path: Path = OUTPUTS / "demo" / "synthetic_sample.mp4", frames: int = 96) -> Path:
    """The sample video (96 frames, 160x120, synthetic seed 0), rendered once."""
    if not path.is_file():
        from tsmdet.datasets.synthetic import write_sample_video

        logger.info("rendering the sample video %s (first run)", path)
        write_sample_video(path, seed=0, index=0, frames=frames)
    return path


def default_onnx(path: Path = OUTPUTS / "models" / "synthetic_faster_rcnn_r18_tsm.onnx") -> Path:
    """The shipped checkpoint as ONNX; exported on first use and whenever the checkpoint is newer."""
    if not DEFAULT_CHECKPOINT.is_file():
        raise FileNotFoundError(f"the shipped checkpoint is missing: {DEFAULT_CHECKPOINT}")
    if not path.is_file() or path.stat().st_mtime < DEFAULT_CHECKPOINT.stat().st_mtime:
        from tsmdet.deploy.export import export_onnx

        logger.info("exporting %s to %s (first run)", DEFAULT_CHECKPOINT.name, path)
        path.parent.mkdir(parents=True, exist_ok=True)
        export_onnx(DEFAULT_CONFIG, DEFAULT_CHECKPOINT, path)
    return path


def open_engine(kind: str = "auto", model: str | Path | None = None, config: str | Path | None = None,
                checkpoint: str | Path | None = None, num_streams: int = 1) -> Engine:
    """Open an engine of ``kind`` ('auto', 'torch', 'onnx', 'trt').

    torch runs ``config`` + ``checkpoint`` (default: the shipped model) through the
    exporter's deploy module, i.e. exactly the graph the ONNX file holds; the other
    kinds run ``model`` (an ``.onnx`` file or a TensorRT engine; default: the shipped
    model's ONNX). A kind that is not installed raises ``EngineUnavailableError``.
    """
    if kind != "auto":
        require_engine(kind)  # before any default model is prepared
    if kind == "torch":
        from tsmdet.deploy.export import load_deploy_model

        module, meta = load_deploy_model(config or DEFAULT_CONFIG, checkpoint or DEFAULT_CHECKPOINT)
        return create_engine("torch", module, num_streams=num_streams, meta=meta)
    return create_engine(kind, model or default_onnx(), num_streams=num_streams)
