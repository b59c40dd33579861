"""Where results go: JSON lines, an annotated video, a live window.

What a frame's result looks like (boxes, or class scores) is the task's renderer's business
(:mod:`tsmdet.streaming.render`); the sinks only write.

Every sink is a context manager with an idempotent ``close()``; the stream runner closes
them on any error so that what was written so far stays usable: the JSONL file is flushed
after every line and the video container is finalised by ``release()``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

import cv2

from tsmdet.runtime.results import Result
from tsmdet.streaming.render import for_display, renderer_for
from tsmdet.streaming.sources import Frame
from tsmdet.utils.cli import InputError

logger = logging.getLogger(__name__)

_ESC = 27


class SinkError(InputError, RuntimeError):
    """A sink that cannot be opened or written; the message says which and why (exit code 2)."""


class Sink(ABC):
    """Base of all sinks: context manager, idempotent close, a stop request for interactive sinks."""

    def __init__(self) -> None:
        self._closed = False
        self.stop_requested = False  # set by a sink whose user asked to stop (window: q / Esc)

    def write(self, frame: Frame, dets: Result) -> None:
        if self._closed:
            raise SinkError(f"{self!r} is closed")
        self._write(frame, dets)

    @abstractmethod
    def _write(self, frame: Frame, dets: Result) -> None: ...

    @abstractmethod
    def _release(self) -> None: ...

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._release()

    def __enter__(self) -> Sink:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _open_output(path: str | os.PathLike) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


class JsonlSink(Sink):
    """One JSON object per frame, flushed per line so the file is valid at any moment.

    ``{"frame": i, "time": t, "detections": [{"box", "score", "label", "class"}], "restart": bool}`` for
    detectors; recognizers write ``"top5": [{"label", "class", "score"}]`` instead of ``"detections"``.
    ``frame`` is the position in the source (skipped images leave a gap); frames of an image
    folder add ``"file"``: the image's file name. Each line is written whole, then flushed.
    """

    def __init__(self, path: str | os.PathLike, classes: Sequence[str] = ()) -> None:
        super().__init__()
        self.path = _open_output(path)
        self.classes = tuple(classes)
        self._file: IO[str] = self.path.open("w", encoding="utf-8")

    def _write(self, frame: Frame, dets: Result) -> None:
        renderer = renderer_for(dets)
        record = {
            "frame": frame.index,
            "time": round(frame.timestamp, 6),
            renderer.field: renderer.records(dets, self.classes),
            "restart": frame.source_restarted,
            **renderer.extra(dets, self.classes),  # recognition: "smoothed" label and top5
        }
        if frame.name is not None:
            record["file"] = frame.name
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()

    def _release(self) -> None:
        self._file.close()

    def __repr__(self) -> str:
        return f"JsonlSink({str(self.path)!r})"


class VideoSink(Sink):
    """Annotated video (mp4v). ``size`` (width, height) defaults to the first frame's size, after
    :func:`~tsmdet.streaming.render.for_display` (frames under 256 px enlarged, so labels are legible).

    Frames of another size are resized, because ``cv2.VideoWriter`` silently drops them.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        fps: float,
        size: tuple[int, int] | None = None,
        classes: Sequence[str] = (),
        *,
        score_thr: float = 0.0,
    ) -> None:
        super().__init__()
        if fps <= 0:
            raise ValueError(f"VideoSink needs fps > 0, got {fps}")
        self.path = _open_output(path)
        self.fps = float(fps)
        self.classes = tuple(classes)
        self.score_thr = score_thr
        self.frames_written = 0
        self._size = size
        self._writer: cv2.VideoWriter | None = None
        if size is not None:
            self._writer = self._open_writer(size)

    def _open_writer(self, size: tuple[int, int]) -> cv2.VideoWriter:
        writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, size)
        if not writer.isOpened():
            raise SinkError(f"{self.path}: cv2.VideoWriter could not open it (mp4v, {size[0]}x{size[1]})")
        return writer

    def _write(self, frame: Frame, dets: Result) -> None:
        shown, result = for_display(frame.image, dets)
        image = renderer_for(result).draw(shown, result, self.classes, score_thr=self.score_thr)
        if self._writer is None:
            self._size = (image.shape[1], image.shape[0])
            self._writer = self._open_writer(self._size)
        if (image.shape[1], image.shape[0]) != self._size:
            image = cv2.resize(image, self._size, interpolation=cv2.INTER_AREA)
        self._writer.write(image)
        self.frames_written += 1

    def _release(self) -> None:
        if self._writer is not None:
            self._writer.release()

    def __repr__(self) -> str:
        return f"VideoSink({str(self.path)!r})"


def display_problem() -> str | None:
    """Why no window can be shown here, or ``None`` if one probably can."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return "no display (DISPLAY and WAYLAND_DISPLAY are not set)"
    return None


class WindowSink(Sink):
    """Live preview with ``cv2.imshow``; ``q``, Esc or closing the window requests a stop."""

    def __init__(self, title: str = "tsmdet", classes: Sequence[str] = (), *, score_thr: float = 0.0) -> None:
        super().__init__()
        problem = display_problem()
        if problem is not None:
            raise SinkError(f"cannot show a window: {problem}; write a video or JSONL instead")
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL)
        except cv2.error as exc:
            raise SinkError(
                f"cannot show a window: {exc}; OpenCV may be built without GUI (opencv-python-headless)"
            ) from exc
        self.title = title
        self.classes = tuple(classes)
        self.score_thr = score_thr

    def _write(self, frame: Frame, dets: Result) -> None:
        cv2.imshow(self.title, renderer_for(dets).draw(frame.image, dets, self.classes, score_thr=self.score_thr))
        key = cv2.waitKey(1) & 0xFF
        closed = cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1
        if key in (ord("q"), _ESC) or closed:
            self.stop_requested = True

    def _release(self) -> None:
        try:
            cv2.destroyWindow(self.title)
        except cv2.error as exc:  # the user may already have closed it; nothing left to release
            logger.debug("destroyWindow(%r): %s", self.title, exc)

    def __repr__(self) -> str:
        return f"WindowSink({self.title!r})"
