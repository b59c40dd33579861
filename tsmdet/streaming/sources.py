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

Only numpy, OpenCV and the standard library are used (see docs/streaming.md).
"""

from __future__ import annotations

import enum
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import NamedTuple, Protocol

import cv2
import numpy as np

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp"})
_URL_RE = re.compile(r"^(rtsp|rtsps|rtmp|http|https)://", re.IGNORECASE)
_CAMERA_RE = re.compile(r"^\d+$")
_NETWORK_TIMEOUT_MS = 5000  # open/read timeout for URLs, so a dead server cannot hang the reader forever
_JOIN_TIMEOUT_S = 5.0


class SourceError(RuntimeError):
    """A source that cannot be opened; the message names the path, index or URL."""


class SourceKind(enum.StrEnum):
    VIDEO = "video"
    FOLDER = "folder"
    CAMERA = "camera"
    URL = "url"

    @property
    def live(self) -> bool:
        """Live sources produce frames whether or not we keep up; files wait for us."""
        return self in (SourceKind.CAMERA, SourceKind.URL)


class EndReason(enum.StrEnum):
    END_OF_STREAM = "end_of_stream"  # file or folder exhausted
    RECONNECT_FAILED = "reconnect_failed"  # live source lost and every reopen attempt failed
    CLOSED = "closed"  # the consumer closed the source before its end
    ERROR = "error"  # the reader raised; the exception is re-raised to the consumer


class Capture(Protocol):
    """The part of ``cv2.VideoCapture`` the readers use (tests inject fakes through it)."""

    def isOpened(self) -> bool: ...  # noqa: N802 (OpenCV's name)

    def read(self) -> tuple[bool, np.ndarray | None]: ...

    def get(self, prop_id: int) -> float: ...

    def release(self) -> None: ...


CaptureFactory = Callable[[str | int], Capture]


@dataclass(frozen=True)
class Frame:
    """One decoded frame as handed to the consumer."""

    index: int  # position in the decoded sequence; gaps mean frames were dropped (live only)
    image: np.ndarray  # (H, W, 3) BGR uint8
    timestamp: float  # seconds: media time for files and folders, wall clock (time.time()) for live
    source_restarted: bool = False  # first frame after a live reconnect: reset the model state
    decode_ms: float = 0.0


@dataclass
class SourceStats:
    """Counters written by the reader thread; final once the iteration has ended."""

    frames_read: int = 0  # decoded successfully
    frames_dropped: int = 0  # decoded, then discarded by the drop-oldest policy
    corrupt_frames: int = 0  # undecodable images skipped (image folders)
    reconnects: int = 0  # successful reopenings of a live source
    end_reason: EndReason | None = None  # None while the source is running
    end_detail: str = ""  # human-readable why, e.g. the URL and the number of tries


@dataclass(frozen=True)
class ReconnectPolicy:
    """How hard a live source tries to come back: ``max_tries`` reopen attempts per outage."""

    max_tries: int = 5
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0

    def delay(self, attempt: int) -> float:
        """Exponential backoff, so a restarting server is not hammered but a blip costs little."""
        return min(self.backoff_s * (2.0**attempt), self.max_backoff_s)


class _Decoded(NamedTuple):
    image: np.ndarray
    timestamp: float
    restarted: bool
    decode_ms: float


_Producer = Callable[[threading.Event], Iterator[_Decoded]]


class _FrameQueue:
    """Bounded FIFO between reader and consumer implementing both policies atomically.

    ``queue.Queue`` cannot drop its oldest item without a race against the consumer, and
    cannot wake a blocked producer on close; a deque under one condition does both.
    """

    def __init__(self, maxsize: int, drop_oldest: bool) -> None:
        self._items: deque[Frame] = deque()
        self._maxsize = maxsize
        self._drop_oldest = drop_oldest
        self._cond = threading.Condition()
        self._finished = False  # producer has no more frames
        self._cancelled = False  # consumer has gone away

    def put(self, frame: Frame) -> int:
        """Enqueue a frame; returns how many queued frames were dropped to make room."""
        with self._cond:
            dropped = 0
            if self._drop_oldest:
                while len(self._items) >= self._maxsize:
                    self._items.popleft()
                    dropped += 1
            else:
                while len(self._items) >= self._maxsize and not self._cancelled:
                    self._cond.wait()
            if not self._cancelled:
                self._items.append(frame)
                self._cond.notify_all()
            return dropped

    def get(self) -> Frame | None:
        """Next frame, blocking; ``None`` once the producer finished and the queue is drained."""
        with self._cond:
            while not self._items and not self._finished and not self._cancelled:
                self._cond.wait()
            if not self._items:
                return None
            frame = self._items.popleft()
            self._cond.notify_all()
            return frame

    def finish(self) -> None:
        with self._cond:
            self._finished = True
            self._cond.notify_all()

    def cancel(self) -> None:
        with self._cond:
            self._cancelled = True
            self._items.clear()
            self._cond.notify_all()


class FrameSource:
    """Iterable of :class:`Frame` decoded by a background thread. Use as a context manager.

    Iterate once. The iteration ends at the end of the source or when a live source cannot be
    reopened (see ``stats.end_reason``); an exception raised in the reader is re-raised here.
    """

    def __init__(
        self,
        name: str,
        kind: SourceKind,
        produce: _Producer,
        *,
        queue_size: int,
        fps: float | None,
        stats: SourceStats,
    ) -> None:
        self.name = name
        self.kind = kind
        self.fps = fps  # nominal frame rate when known (container / camera / folder setting)
        self.stats = stats
        self._produce = produce
        self._queue = _FrameQueue(queue_size, drop_oldest=kind.live)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"tsmdet-source:{name}", daemon=True)
        self._thread.start()

    @property
    def live(self) -> bool:
        return self.kind.live

    def _run(self) -> None:
        try:
            with closing(self._produce(self._stop)) as decoded_frames:
                for decoded in decoded_frames:
                    frame = Frame(self.stats.frames_read, *decoded)
                    self.stats.frames_read += 1
                    self.stats.frames_dropped += self._queue.put(frame)
                    if self._stop.is_set():
                        break
        except Exception as exc:  # handed to the consumer: a reader bug must surface, not end quietly
            self._error = exc
            self.stats.end_reason = EndReason.ERROR
            self.stats.end_detail = f"reader failed: {exc!r}"
        finally:
            if self.stats.end_reason is None:
                self.stats.end_reason = EndReason.CLOSED if self._stop.is_set() else EndReason.END_OF_STREAM
            self._queue.finish()

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self._queue.get()) is not None:
            yield frame
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        """Stop the reader thread and release the device or file. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._queue.cancel()
        self._thread.join(timeout=_JOIN_TIMEOUT_S)
        if self._thread.is_alive():
            logger.warning(
                "reader of %s did not stop within %.0f s (blocked in decode)", self.name, _JOIN_TIMEOUT_S
            )
        if self.stats.end_reason is None:
            self.stats.end_reason = EndReason.CLOSED

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FrameSource({self.name!r}, kind={self.kind.value})"


def classify_source(spec: str) -> SourceKind:
    """Decide what ``spec`` names. Digits are always a camera index (write ``./0`` for a file named 0)."""
    if _CAMERA_RE.match(spec):
        return SourceKind.CAMERA
    if _URL_RE.match(spec):
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
) -> FrameSource:
    """Open a video file, image folder, camera index or rtsp/http(s) URL and start its reader.

    ``queue_size`` defaults to 16 for files and folders (decode ahead) and 2 for live sources
    (a deep queue only adds latency there). ``folder_fps`` gives image folders a timestamp.
    ``capture_factory`` replaces ``cv2.VideoCapture`` (tests). Raises :class:`SourceError`
    when the source cannot be opened.
    """
    kind = classify_source(spec)
    size = queue_size if queue_size is not None else (2 if kind.live else 16)
    if size < 1:
        raise ValueError(f"queue_size must be >= 1, got {size}")
    factory = capture_factory or _open_cv2_capture
    stats = SourceStats()
    produce: _Producer
    fps: float | None
    if kind is SourceKind.FOLDER:
        produce, fps = partial(_read_folder, _list_images(Path(spec)), folder_fps, stats), folder_fps
    elif kind is SourceKind.VIDEO:
        cap, first = _open_video(spec, factory)
        produce, fps = partial(_read_video, cap, first, stats), _capture_fps(cap)
    else:
        target: str | int = int(spec) if kind is SourceKind.CAMERA else spec
        cap = _open_live(target, factory)
        produce, fps = partial(_read_live, target, cap, factory, reconnect, stats), _capture_fps(cap)
    return FrameSource(spec, kind, produce, queue_size=size, fps=fps, stats=stats)


def _open_cv2_capture(target: str | int) -> Capture:
    """``cv2.VideoCapture`` with network timeouts for URLs (the FFmpeg default waits forever)."""
    if isinstance(target, str) and _URL_RE.match(target):
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            _NETWORK_TIMEOUT_MS,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            _NETWORK_TIMEOUT_MS,
        ]
        return cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)
    return cv2.VideoCapture(target)


def _capture_fps(cap: Capture) -> float | None:
    fps = float(cap.get(cv2.CAP_PROP_FPS))
    return fps if fps > 0 else None


def _describe(target: str | int) -> str:
    return f"camera {target}" if isinstance(target, int) else target


def _try_open(target: str | int, factory: CaptureFactory) -> Capture | None:
    """Open a capture; ``None`` when it does not open. OpenCV errors count as "did not open"."""
    try:
        cap = factory(target)
    except (cv2.error, OSError) as exc:
        logger.debug("opening %s raised %r", _describe(target), exc)
        return None
    if cap.isOpened():
        return cap
    cap.release()
    return None


def _timed_read(cap: Capture) -> tuple[np.ndarray | None, float]:
    t0 = time.perf_counter()
    ok, image = cap.read()
    return (image if ok else None), (time.perf_counter() - t0) * 1e3


def _open_video(spec: str, factory: CaptureFactory) -> tuple[Capture, _Decoded]:
    """Open a video file and decode its first frame now, so a non-video fails at open, not later."""
    cap = _try_open(spec, factory)
    if cap is None:
        raise SourceError(f"{spec}: cannot be opened as a video (not a video file, or no decoder for it)")
    image, ms = _timed_read(cap)
    if image is None:
        cap.release()
        raise SourceError(f"{spec}: opened but no frame could be decoded (empty or corrupt video)")
    return cap, _Decoded(image, float(cap.get(cv2.CAP_PROP_POS_MSEC)) / 1e3, False, ms)


def _open_live(target: str | int, factory: CaptureFactory) -> Capture:
    """Open a camera or URL once; failing at start is a configuration error, so no retries here."""
    cap = _try_open(target, factory)
    if cap is None:
        raise SourceError(f"{_describe(target)} could not be opened")
    return cap


def _list_images(folder: Path) -> list[Path]:
    paths = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise SourceError(f"{folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in this folder")
    return paths


def _read_folder(
    paths: list[Path], fps: float, stats: SourceStats, stop: threading.Event
) -> Iterator[_Decoded]:
    """Decode images in name order; an undecodable one is logged, counted and skipped."""
    for position, path in enumerate(paths):
        if stop.is_set():
            return
        t0 = time.perf_counter()
        image = _imread(path)
        ms = (time.perf_counter() - t0) * 1e3
        if image is None:
            stats.corrupt_frames += 1
            logger.warning("skipping undecodable image %s", path)
            continue
        yield _Decoded(image, position / fps, False, ms)
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


def _read_video(
    cap: Capture, first: _Decoded, stats: SourceStats, stop: threading.Event
) -> Iterator[_Decoded]:
    """Decode a video file to its end. OpenCV does not tell a truncated file from its end."""
    try:
        yield first
        while not stop.is_set():
            image, ms = _timed_read(cap)
            if image is None:
                stats.end_reason = EndReason.END_OF_STREAM
                return
            yield _Decoded(image, float(cap.get(cv2.CAP_PROP_POS_MSEC)) / 1e3, False, ms)
    finally:
        cap.release()


def _read_live(
    target: str | int,
    cap: Capture,
    factory: CaptureFactory,
    policy: ReconnectPolicy,
    stats: SourceStats,
    stop: threading.Event,
) -> Iterator[_Decoded]:
    """Read a camera or URL; on a failed read reopen it, up to ``policy.max_tries`` per outage.

    The try counter resets only after a frame is decoded, so a server that accepts the
    connection but never sends a frame still exhausts the tries.
    """
    current: Capture | None = cap
    restarted = False
    failures = 0
    try:
        while not stop.is_set():
            if current is None:
                if failures >= policy.max_tries:
                    stats.end_reason = EndReason.RECONNECT_FAILED
                    stats.end_detail = f"{_describe(target)}: no frame after {failures} reconnect tries"
                    logger.error("%s", stats.end_detail)
                    return
                if stop.wait(policy.delay(failures)):
                    return
                failures += 1
                current = _try_open(target, factory)
                if current is not None:
                    stats.reconnects += 1
                    restarted = True
                    logger.info("%s reopened (try %d)", _describe(target), failures)
                continue
            image, ms = _timed_read(current)
            if image is None:
                logger.warning("%s stopped delivering frames; reconnecting", _describe(target))
                current.release()
                current = None
                continue
            failures = 0
            yield _Decoded(image, time.time(), restarted, ms)
            restarted = False
    finally:
        if current is not None:
            current.release()
