"""Image folders: lossless, images in name order, undecodable ones counted and skipped."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from .base import MAX_SKIPPED_NAMES, Decoded, EndReason, SourceError, SourceStats

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp"})


def list_images(folder: Path) -> list[Path]:
    paths = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise SourceError(f"{folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in this folder")
    return paths


def read_folder(
    paths: list[Path], fps: float, stats: SourceStats, stop: threading.Event
) -> Iterator[Decoded]:
    """Decode images in name order; an undecodable one is logged, counted and skipped.

    Each frame keeps its position in the folder and its file name, so a skipped image leaves
    a gap in the indices instead of shifting every later one.
    """
    for position, path in enumerate(paths):
        if stop.is_set():
            return
        t0 = time.perf_counter()
        image = _imread(path)
        ms = (time.perf_counter() - t0) * 1e3
        if image is None:
            stats.corrupt_frames += 1
            if len(stats.skipped) < MAX_SKIPPED_NAMES:
                stats.skipped.append(path.name)
            logger.warning("skipping undecodable image %s (position %d in the folder)", path, position)
            continue
        yield Decoded(image, position / fps, False, ms, position, path.name)
    stats.end_reason = EndReason.END_OF_STREAM


def _imread(path: Path) -> np.ndarray | None:
    """Read through numpy so non-ASCII paths work on every OS; a vanished file reads as undecodable."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError:
        return None
    if data.size == 0:
        return None
    return cv2.imdecode(data, cv2.IMREAD_COLOR)
