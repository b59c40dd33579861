"""The reader thread: a :class:`FrameSource` drains a producer into a bounded queue in the background.

Decoding overlaps inference. Files and folders are lossless (the reader blocks while the
queue is full); live sources drop the oldest queued frame (:class:`FrameQueue`).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from types import TracebackType

from .base import EndReason, Frame, Producer, SourceKind, SourceStats

logger = logging.getLogger(__name__)

_JOIN_TIMEOUT_S = 5.0


class FrameQueue:
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
                restart_lost = False
                while len(self._items) >= self._maxsize:
                    restart_lost |= self._items.popleft().source_restarted
                    dropped += 1
                if restart_lost:  # the reset must happen before the next frame that is delivered
                    if self._items:
                        self._items[0] = replace(self._items[0], source_restarted=True)
                    else:
                        frame = replace(frame, source_restarted=True)
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
        produce: Producer,
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
        self._queue = FrameQueue(queue_size, drop_oldest=kind.live)
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
                    index = self.stats.frames_read if decoded.position is None else decoded.position
                    frame = Frame(index, decoded.image, decoded.timestamp, decoded.restarted,
                                  decoded.decode_ms, decoded.name)
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
