"""Video files: lossless, decoded to their end; the first frame is decoded at open time.

A file that ends before the frame count its container reports is **truncated** (a copy cut
short, a recording killed before it was finalised): the end reason says so and a warning
names the file and both counts, instead of an early end that looks like success.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import cv2

from .base import Capture, CaptureFactory, Decoded, EndReason, SourceError, SourceStats
from .capture import timed_read, try_open

logger = logging.getLogger(__name__)


def open_video(spec: str, factory: CaptureFactory) -> tuple[Capture, Decoded]:
    """Open a video file and decode its first frame now, so a non-video fails at open, not later."""
    cap = try_open(spec, factory)
    if cap is None:
        raise SourceError(f"{spec}: cannot be opened as a video (not a video file, or no decoder for it)")
    image, ms = timed_read(cap)
    if image is None:
        cap.release()
        raise SourceError(f"{spec}: opened but no frame could be decoded (empty or corrupt video)")
    return cap, Decoded(image, float(cap.get(cv2.CAP_PROP_POS_MSEC)) / 1e3, False, ms, 0)


def container_frames(cap: Capture) -> int | None:
    """The frame count the container reports, or None when it reports none."""
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    return count if count > 0 else None


def read_video(
    spec: str,
    cap: Capture,
    first: Decoded,
    stats: SourceStats,
    stop: threading.Event,
    factory: CaptureFactory | None = None,
    loop: bool = False,
) -> Iterator[Decoded]:
    """Decode a video file to its end (with ``loop``: from the start again, endlessly).

    Each new pass of a looped file is marked ``restarted`` (its first frame does not follow the
    last one in time, so the model state is reset). Positions keep counting across passes.
    """
    expected = stats.expected_frames = container_frames(cap)
    position, in_pass, current = 0, 0, first
    try:
        while not stop.is_set():
            yield current._replace(position=position)
            position += 1
            in_pass += 1
            image, ms = timed_read(cap)
            if image is not None:
                current = Decoded(image, float(cap.get(cv2.CAP_PROP_POS_MSEC)) / 1e3, False, ms)
                continue
            if expected is not None and in_pass < expected:
                stats.end_reason = EndReason.TRUNCATED
                stats.end_detail = f"{spec}: {in_pass} frames decoded, the container reports {expected}"
                logger.warning("%s: truncated: %d frames decoded, the container reports %d", spec, in_pass,
                               expected)
            if not loop or factory is None:
                stats.end_reason = stats.end_reason or EndReason.END_OF_STREAM
                return
            cap.release()
            cap, current = open_video(spec, factory)
            current = current._replace(restarted=True)
            in_pass = 0
            stats.end_reason = None
    finally:
        cap.release()
