"""Frame sources: video files, image folders, cameras and network streams behind one reader thread.

Decoding runs in a background thread that fills a bounded queue, so decode overlaps
inference. The queue policy follows from what the source is:

* files and folders are **lossless**: the reader blocks while the queue is full, so every
  frame reaches the detector in order (offline results must not depend on machine speed);
* live sources (camera index, rtsp/http URL) **drop the oldest** queued frame when the
  consumer falls behind, because a live detector must work on the newest picture; drops are
  counted in :class:`SourceStats`.

A live source that stops delivering frames is reopened with exponential backoff. The first
frame after a reconnect carries ``source_restarted=True``: the temporal-shift caches describe
a past that no longer precedes that frame, so the caller must reset the model state.

Modules: :mod:`.base` (Frame, SourceStats, EndReason, SourceError, ReconnectPolicy and the
Capture / Producer contracts), :mod:`.reader` (FrameSource: the reader thread and its
queue), :mod:`.capture` (OpenCV opening and reads), :mod:`.video`, :mod:`.folder`,
:mod:`.live` (one reader per kind of source), :mod:`.dispatch` (classify_source,
open_source). A new kind of source is a producer module plus a branch in
:func:`open_source`.

Only numpy, OpenCV and the standard library are used (see docs/streaming.md).
"""

from __future__ import annotations

from .base import (
    Capture,
    CaptureFactory,
    EndReason,
    Frame,
    ReconnectPolicy,
    SourceError,
    SourceKind,
    SourceStats,
)
from .dispatch import classify_source, open_source
from .folder import IMAGE_SUFFIXES
from .reader import FrameSource

__all__ = [
    "IMAGE_SUFFIXES",
    "Capture",
    "CaptureFactory",
    "EndReason",
    "Frame",
    "FrameSource",
    "ReconnectPolicy",
    "SourceError",
    "SourceKind",
    "SourceStats",
    "classify_source",
    "open_source",
]
