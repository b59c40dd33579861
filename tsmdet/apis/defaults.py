"""The built-in defaults the tools run on when given no arguments: the shipped model and sample video.

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

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
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
