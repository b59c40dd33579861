"""What every frame source shares: the frame record, counters, end reasons, errors, reconnect policy.

Also the two internal contracts between the pieces: a :class:`Capture` (the part of
``cv2.VideoCapture`` the readers use, so tests inject fakes) and a :data:`Producer` (a
generator of :class:`Decoded` frames that the reader thread of
:class:`~tsmdet.streaming.sources.reader.FrameSource` drains).
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

import numpy as np

from tsmdet.utils.cli import InputError


class SourceError(InputError, RuntimeError):
    """A source that cannot be opened; the message names the path, index or URL (exit code 2)."""


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
    TRUNCATED = "truncated"  # a video file ended before the frame count its container reports
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

    index: int  # position in the source: skipped (corrupt) images and dropped live frames leave gaps
    image: np.ndarray  # (H, W, 3) BGR uint8
    timestamp: float  # seconds: media time for files and folders, wall clock (time.time()) for live
    source_restarted: bool = False  # first frame after a live reconnect (or a new loop): reset the state
    decode_ms: float = 0.0
    name: str | None = None  # the image's file name (folders), so a line can be checked against its file


@dataclass
class SourceStats:
    """Counters written by the reader thread; final once the iteration has ended."""

    frames_read: int = 0  # decoded successfully
    frames_dropped: int = 0  # decoded, then discarded by the drop-oldest policy
    corrupt_frames: int = 0  # undecodable images skipped (image folders)
    skipped: list[str] = field(default_factory=list)  # names of the skipped images (first 100)
    expected_frames: int | None = None  # what a video container reports, when it does
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


class Decoded(NamedTuple):
    image: np.ndarray
    timestamp: float
    restarted: bool
    decode_ms: float
    position: int | None = None  # position in the source (None: count decoded frames, as live sources do)
    name: str | None = None  # file name (image folders)


MAX_SKIPPED_NAMES = 100  # SourceStats.skipped stays small on a folder of broken files


Producer = Callable[[threading.Event], Iterator[Decoded]]
