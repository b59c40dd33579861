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
import os
from collections.abc import Callable
from pathlib import Path

from tsmdet.utils.atomic import atomic_output

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO_ROOT / "configs" / "synthetic" / "faster_rcnn_r18_tsm.py"
DEFAULT_CHECKPOINT = REPO_ROOT / "checkpoints" / "synthetic_faster_rcnn_r18_tsm.pth"
OUTPUTS = REPO_ROOT / "outputs"  # what a user asks the tools to write, by default (git-ignored)


def cache_dir() -> Path:
    """Where derived built-in artifacts go (the exported ONNX, the rendered sample video): never the
    working tree, so tests and first runs leave ``git status`` clean. ``$TSMDET_CACHE``, else
    ``$XDG_CACHE_HOME/tsmdet``, else ``~/.cache/tsmdet``."""
    if os.environ.get("TSMDET_CACHE"):
        return Path(os.environ["TSMDET_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tsmdet"


def default_video(path: Path | None = None, frames: int = 96) -> Path:
    """The sample video (96 frames, 160x120, synthetic seed 0), rendered once into the cache."""
    path = path or cache_dir() / "samples" / "synthetic_sample.mp4"
    if not path.is_file():
        from tsmdet.datasets.synthetic import write_sample_video

        logger.info("rendering the sample video %s (first run)", path)
        with atomic_output(path) as tmp:  # concurrent first runs never see a torn file
            write_sample_video(tmp, seed=0, index=0, frames=frames)
    return path


# Revision of the exported graphs cached from the shipped checkpoints, in their file names: a cache
# written by an older tsmdet is exported again rather than served (2: the online shift as 1x1
# convs, RoIs pooled on their own level only; 3: the shift as one Split + one Concat).
EXPORT_REVISION = 3


def cached_export(path: Path, checkpoint: Path, export: Callable[[Path], object]) -> Path:
    """``path``, (re-)written by ``export(tmp)`` on first use and when ``checkpoint`` is newer.

    The shipped models' exports in the cache (``path`` names :data:`EXPORT_REVISION`, so an
    export changed by a newer tsmdet is written again too).
    """
    if not checkpoint.is_file():
        raise FileNotFoundError(f"the shipped checkpoint is missing: {checkpoint}")
    if not path.is_file() or path.stat().st_mtime < checkpoint.stat().st_mtime:
        logger.info("exporting %s to %s (first run)", checkpoint.name, path)
        with atomic_output(path) as tmp:  # concurrent first runs never see a torn file
            export(tmp)
    return path


def default_onnx(path: Path | None = None, dynamic_batch: bool = False) -> Path:
    """The shipped checkpoint as ONNX in the cache (:func:`cached_export`).

    ``dynamic_batch`` gives the graph a dynamic stream-batch axis (what a server batching several
    streams into one call needs, ``tools/serve.py``); one local stream uses the batch-1 graph.
    """
    name = f"synthetic_faster_rcnn_r18_tsm{'.dynamic' if dynamic_batch else ''}.r{EXPORT_REVISION}.onnx"

    def export(tmp: Path) -> None:
        from tsmdet.deploy.export import export_onnx

        export_onnx(DEFAULT_CONFIG, DEFAULT_CHECKPOINT, tmp, dynamic_batch=dynamic_batch)

    return cached_export(path or cache_dir() / "models" / name, DEFAULT_CHECKPOINT, export)
