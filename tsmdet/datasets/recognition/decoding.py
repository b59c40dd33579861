"""Reading frames: OpenCV for video files, ``cv2.imread`` for frame folders.

Why OpenCV and not PyAV: it is already pinned (opencv-python-headless, used by every other
part of tsmdet), it is the decoder the streaming side reads cameras and files with, so a
model sees the same pixels offline and online, and it returns BGR uint8 arrays directly.
PyAV would add a pin and an FFmpeg build of its own for no accuracy gain at TSM's T=8.

Bad data policy (never a crash deep in a worker, never a silent wrong count):

* a frame that cannot be read (missing file, corrupt JPEG, a decoder that stops early) is
  replaced by the nearest readable frame of the same video and **counted**
  (:attr:`DecodedFrames.num_bad_frames`, names in :attr:`DecodedFrames.bad_frames`);
* a video with no readable frame at all raises :class:`UnreadableVideoError`; the
  transforms turn that into a sample marked ``skipped`` (see ``transforms_loading``).
"""
from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

logger = logging.getLogger(__name__)

VIDEO_EXTENSIONS: tuple[str, ...] = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v")


class UnreadableVideoError(RuntimeError):
    """No frame of a video / frame folder could be read; the message names it."""


@dataclass
class DecodedFrames:
    """Frames at the requested indices (BGR uint8, (H, W, 3) each) and what had to be substituted."""

    frames: list[np.ndarray]
    bad_frames: list[str] = field(default_factory=list)  # names (file or 'video#index') that failed

    @property
    def num_bad_frames(self) -> int:
        return len(self.bad_frames)


def is_video_file(path: str | os.PathLike) -> bool:
    return os.path.isfile(path) and str(path).lower().endswith(VIDEO_EXTENSIONS)


def video_frame_count(path: str | os.PathLike, exact: bool = False) -> int:
    """Frames of a video file: the container's count, or (``exact``) the number that decode.

    The container count is what sampling uses (instant); :func:`read_video_frames` counts
    any frame beyond the real end as a bad frame, so a wrong header never goes unnoticed.
    """
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise UnreadableVideoError(f"cannot open video {path}")
        if not exact:
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            if count > 0:
                return count
        count = 0
        while cap.grab():
            count += 1
    finally:
        cap.release()
    if count <= 0:
        raise UnreadableVideoError(f"video {path} has no decodable frame")
    return count


def read_video_frames(path: str | os.PathLike, indices: Sequence[int]) -> DecodedFrames:
    """Decode the frames at 0-based ``indices`` (any order, repeats allowed) in one forward pass.

    Frames that are not wanted are only grabbed (demuxed and decoded, not converted), which
    is the cheapest exact way with OpenCV; seeking is unreliable across codecs.
    """
    wanted = sorted({int(i) for i in indices})
    got: dict[int, np.ndarray] = {}
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise UnreadableVideoError(f"cannot open video {path}")
        pos = 0
        for idx in wanted:
            while pos < idx and cap.grab():
                pos += 1
            if pos < idx:
                break  # the stream ended before idx
            ok, frame = cap.read()
            pos += 1
            if not ok:
                break
            got[idx] = frame
    finally:
        cap.release()
    return _fill(indices, got, lambda i: f"{path}#{i}", str(path))


def read_folder_frames(folder: str | os.PathLike, frame_numbers: Sequence[int], filename_tmpl: str,
                       first: int = 1, last: int | None = None) -> DecodedFrames:
    """Read frames ``filename_tmpl.format(n)`` for each frame number (1-based in TSM folders).

    A frame that fails is replaced by the nearest readable frame number in ``[first, last]``
    (searched outwards, so the clip's time order is kept as well as possible).
    """
    cache: dict[int, np.ndarray | None] = {}

    def load(n: int) -> np.ndarray | None:
        if n not in cache:
            cache[n] = cv2.imread(os.path.join(str(folder), filename_tmpl.format(n)), cv2.IMREAD_COLOR)
        return cache[n]

    numbers = [int(n) for n in frame_numbers]
    got = {n: img for n in numbers if (img := load(n)) is not None}
    for n in sorted(set(numbers) - set(got)):
        if last is None:
            break
        for step in range(1, last - first + 1):  # nearest readable frame on disk, outwards
            found = next((m for m in (n - step, n + step) if first <= m <= last and load(m) is not None), None)
            if found is not None:
                got[n] = load(found)
                break
    if not got:
        raise UnreadableVideoError(f"no readable frame in {folder} (template {filename_tmpl!r})")
    names = [os.path.join(str(folder), filename_tmpl.format(n)) for n in numbers if cache.get(n) is None]
    good = sorted(got)
    frames = [got[n] if n in got else got[min(good, key=lambda g: abs(g - n))] for n in numbers]
    if names:
        logger.warning("%d unreadable frame(s) in %s replaced by the nearest readable one: %s",
                       len(names), folder, ", ".join(os.path.basename(n) for n in names[:5]))
    return DecodedFrames(frames, names)


def _fill(indices: Sequence[int], got: dict[int, np.ndarray], name, source: str) -> DecodedFrames:
    """Frames in ``indices`` order; a missing one becomes the nearest decoded frame (counted)."""
    if not got:
        raise UnreadableVideoError(f"no decodable frame in {source}")
    good = sorted(got)
    frames, bad = [], []
    for i in indices:
        i = int(i)
        if i in got:
            frames.append(got[i])
        else:
            bad.append(name(i))
            frames.append(got[min(good, key=lambda g: abs(g - i))])
    if bad:
        logger.warning("%d frame(s) of %s could not be decoded and were replaced by the nearest decoded one",
                       len(bad), source)
    return DecodedFrames(frames, bad)
