"""Video files: lossless, decoded to their end; the first frame is decoded at open time."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import cv2

from .base import Capture, CaptureFactory, Decoded, EndReason, SourceError, SourceStats
from .capture import timed_read, try_open


def open_video(spec: str, factory: CaptureFactory) -> tuple[Capture, Decoded]:
    """Open a video file and decode its first frame now, so a non-video fails at open, not later."""
    cap = try_open(spec, factory)
    if cap is None:
        raise SourceError(f"{spec}: cannot be opened as a video (not a video file, or no decoder for it)")
    image, ms = timed_read(cap)
    if image is None:
        cap.release()
        raise SourceError(f"{spec}: opened but no frame could be decoded (empty or corrupt video)")
    return cap, Decoded(image, float(cap.get(cv2.CAP_PROP_POS_MSEC)) / 1e3, False, ms)


def read_video(
    cap: Capture, first: Decoded, stats: SourceStats, stop: threading.Event
) -> Iterator[Decoded]:
    """Decode a video file to its end. OpenCV does not tell a truncated file from its end."""
    try:
        yield first
        while not stop.is_set():
            image, ms = timed_read(cap)
            if image is None:
                stats.end_reason = EndReason.END_OF_STREAM
                return
            yield Decoded(image, float(cap.get(cv2.CAP_PROP_POS_MSEC)) / 1e3, False, ms)
    finally:
        cap.release()
