"""The built-in online gesture recognizer and sample gesture video (``infer_stream.py --task recognition``).

As for detection (:mod:`tsmdet.apis.defaults`), a newcomer needs nothing downloaded: the model is
the small past-shift TSM ResNet-18 trained on the synthetic gesture set and shipped in
``checkpoints/`` (how: docs/recognition.md, "Online recognition"), exported to ONNX in the user
cache on first use; the video is a deterministic sequence of synthetic gestures separated by
"no gesture", rendered once into the cache.
"""
from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from tsmdet.utils.atomic import atomic_output

from .defaults import EXPORT_REVISION, REPO_ROOT, cache_dir, cached_export

logger = logging.getLogger(__name__)

RECOGNITION_CONFIG = REPO_ROOT / "configs" / "recognition" / "synthetic" / "tsm_r18_gestures_online_64.py"
RECOGNITION_CHECKPOINT = REPO_ROOT / "checkpoints" / "synthetic_tsm_r18_gestures_online.pth"
SAMPLE_GESTURES = ("no_gesture", "swipe_left", "no_gesture", "swipe_right", "no_gesture", "rotate_clockwise",
                   "no_gesture", "zoom_in", "no_gesture", "swipe_up", "no_gesture")
SAMPLE_FPS = 8.0
# 10 frames a gesture: the shipped model saw training clips at stride 2 of 16-24-frame gestures, so
# online (stride 1) it expects a gesture to take about 8-12 frames
SAMPLE_FRAMES_PER_GESTURE = 10


def write_gesture_video(path: str | os.PathLike, gestures: Sequence[str] = SAMPLE_GESTURES, seed: int = 0,
                        frames_per_gesture: int = SAMPLE_FRAMES_PER_GESTURE, size: int = 64,
                        fps: float = SAMPLE_FPS) -> list[tuple[str, int, int]]:
    """Render ``gestures`` one after another into an mp4; returns (class, first frame, last frame)
    per gesture."""
    import cv2
    import numpy as np

    from tsmdet.datasets.recognition.synthetic_gestures import render_gesture

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (size, size))
    if not writer.isOpened():
        raise RuntimeError(f"{path}: cv2.VideoWriter could not open it (mp4v)")
    spans, start = [], 0
    try:
        for i, name in enumerate(gestures):
            frames = render_gesture(name, np.random.default_rng([seed, i]), size, frames_per_gesture)
            for frame in frames:
                writer.write(frame)
            spans.append((name, start, start + len(frames) - 1))
            start += len(frames)
    finally:
        writer.release()
    return spans


def default_gesture_video(path: Path | None = None) -> Path:
    """The sample gesture video (:data:`SAMPLE_GESTURES`, 64x64), rendered once into the cache."""
    path = path or cache_dir() / "samples" / "synthetic_gestures.mp4"
    if not path.is_file():
        logger.info("rendering the sample gesture video %s (first run)", path)
        with atomic_output(path) as tmp:  # concurrent first runs never see a torn file
            write_gesture_video(tmp)
    return path


def default_recognition_onnx(path: Path | None = None) -> Path:
    """The shipped gesture checkpoint as ONNX in the cache (:func:`~tsmdet.apis.defaults.cached_export`)."""

    def export(tmp: Path) -> None:
        from tsmdet.deploy.recognizer_export import export_recognizer_onnx

        export_recognizer_onnx(RECOGNITION_CONFIG, RECOGNITION_CHECKPOINT, tmp)

    name = f"synthetic_tsm_r18_gestures_online.r{EXPORT_REVISION}.onnx"
    return cached_export(path or cache_dir() / "models" / name, RECOGNITION_CHECKPOINT, export)


def apply_recognition_defaults(args: argparse.Namespace, kind: str) -> None:
    """``--task recognition`` without a model: the shipped gesture model (and, without a source,
    the sample video)."""
    if args.model or args.config or args.checkpoint or kind == "triton":
        return
    if kind == "torch":
        args.config, args.checkpoint = str(RECOGNITION_CONFIG), str(RECOGNITION_CHECKPOINT)
    else:
        args.model = str(default_recognition_onnx())
    if args.source is None:
        args.source = str(default_gesture_video())
