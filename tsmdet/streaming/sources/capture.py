"""OpenCV captures for the readers: opening with network timeouts, timed reads, the nominal fps."""

from __future__ import annotations

import logging
import re
import time

import cv2
import numpy as np

from .base import Capture, CaptureFactory

logger = logging.getLogger(__name__)

URL_RE = re.compile(r"^(rtsp|rtsps|rtmp|http|https)://", re.IGNORECASE)
_NETWORK_TIMEOUT_MS = 5000  # open/read timeout for URLs, so a dead server cannot hang the reader forever


def open_cv2_capture(target: str | int) -> Capture:
    """``cv2.VideoCapture`` with network timeouts for URLs (the FFmpeg default waits forever)."""
    if isinstance(target, str) and URL_RE.match(target):
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            _NETWORK_TIMEOUT_MS,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            _NETWORK_TIMEOUT_MS,
        ]
        return cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)
    return cv2.VideoCapture(target)


def capture_fps(cap: Capture) -> float | None:
    fps = float(cap.get(cv2.CAP_PROP_FPS))
    return fps if fps > 0 else None


def describe(target: str | int) -> str:
    return f"camera {target}" if isinstance(target, int) else target


def try_open(target: str | int, factory: CaptureFactory) -> Capture | None:
    """Open a capture; ``None`` when it does not open. OpenCV errors count as "did not open"."""
    try:
        cap = factory(target)
    except (cv2.error, OSError) as exc:
        logger.debug("opening %s raised %r", describe(target), exc)
        return None
    if cap.isOpened():
        return cap
    cap.release()
    return None


def timed_read(cap: Capture) -> tuple[np.ndarray | None, float]:
    t0 = time.perf_counter()
    ok, image = cap.read()
    return (image if ok else None), (time.perf_counter() - t0) * 1e3
