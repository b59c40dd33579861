"""From a source string to a running :class:`FrameSource`: what it names, and which reader serves it."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

from .base import CaptureFactory, Producer, ReconnectPolicy, SourceError, SourceKind, SourceStats
from .capture import URL_RE, capture_fps, open_cv2_capture
from .folder import list_images, read_folder
from .live import open_live, read_live
from .reader import FrameSource
from .video import open_video, read_video

_CAMERA_RE = re.compile(r"^\d+$")


def classify_source(spec: str) -> SourceKind:
    """Decide what ``spec`` names. Digits are always a camera index (write ``./0`` for a file named 0)."""
    if _CAMERA_RE.match(spec):
        return SourceKind.CAMERA
    if URL_RE.match(spec):
        return SourceKind.URL
    path = Path(spec)
    if path.is_dir():
        return SourceKind.FOLDER
    if path.is_file():
        return SourceKind.VIDEO
    raise SourceError(f"{spec}: no such file or folder (and not a camera index or rtsp/http URL)")


def open_source(
    spec: str,
    *,
    queue_size: int | None = None,
    reconnect: ReconnectPolicy = ReconnectPolicy(),
    folder_fps: float = 30.0,
    capture_factory: CaptureFactory | None = None,
    loop: bool = False,
) -> FrameSource:
    """Open a video file, image folder, camera index or rtsp/http(s) URL and start its reader.

    ``queue_size`` defaults to 16 for files and folders (decode ahead) and 2 for live sources
    (a deep queue only adds latency there). ``folder_fps`` gives image folders a timestamp.
    ``capture_factory`` replaces ``cv2.VideoCapture`` (tests). Raises :class:`SourceError`
    when the source cannot be opened. ``loop`` replays a video file endlessly (soak tests, demos;
    each new pass is marked restarted, so the state is reset); other kinds refuse it.
    """
    kind = classify_source(spec)
    if loop and kind is not SourceKind.VIDEO:
        raise SourceError(f"{spec}: only a video file can be looped, this is a {kind.value} source")
    size = queue_size if queue_size is not None else (2 if kind.live else 16)
    if size < 1:
        raise ValueError(f"queue_size must be >= 1, got {size}")
    factory = capture_factory or open_cv2_capture
    stats = SourceStats()
    produce: Producer
    fps: float | None
    if kind is SourceKind.FOLDER:
        produce, fps = partial(read_folder, list_images(Path(spec)), folder_fps, stats), folder_fps
    elif kind is SourceKind.VIDEO:
        cap, first = open_video(spec, factory)
        produce = partial(read_video, spec, cap, first, stats, factory=factory, loop=loop)
        fps = capture_fps(cap)
    else:
        target: str | int = int(spec) if kind is SourceKind.CAMERA else spec
        cap = open_live(target, factory)
        produce, fps = partial(read_live, target, cap, factory, reconnect, stats), capture_fps(cap)
    return FrameSource(spec, kind, produce, queue_size=size, fps=fps, stats=stats)
