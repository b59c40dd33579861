"""Gesture events of an online recognizer: one JSON line per recognised gesture (label, start, end).

The per-frame JSONL says what the model shows at every frame; a user of a gesture interface
wants the gestures themselves. This sink turns the smoothed labels of
:class:`tsmdet.runtime.smoothing.SmoothedClassification` results into events with
:class:`tsmdet.runtime.smoothing.GestureEvents`: a run of one non-idle label is one event,
written when it ends, at a source restart (the state is reset there) or when the stream ends.
Results without a smoothed label (detections, unsmoothed recognition) write nothing.
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from tsmdet.runtime.results import Result
from tsmdet.runtime.smoothing import GestureEvent, GestureEvents
from tsmdet.streaming.sinks import Sink
from tsmdet.streaming.sources import Frame


class GestureEventSink(Sink):
    """``{"event", "label", "start", "end", "start_time", "end_time", "frames"}`` per gesture,
    flushed per line."""

    def __init__(self, path: str | os.PathLike, classes: Sequence[str] = ()) -> None:
        super().__init__()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.classes = tuple(classes)
        self.events_written = 0
        self._events: GestureEvents | None = None
        self._file: IO[str] = self.path.open("w", encoding="utf-8")

    def _emit(self, event: GestureEvent | None) -> None:
        if event is None:
            return
        self._file.write(json.dumps(event.to_dict(self.classes)) + "\n")
        self._file.flush()
        self.events_written += 1

    def _write(self, frame: Frame, dets: Result) -> None:
        label = getattr(dets, "smoothed_label", -1)
        if label < 0:
            return
        if self._events is None:
            self._events = GestureEvents(idle=int(getattr(dets, "idle_label", 0)))
        if frame.source_restarted:  # the stream state was reset: an open gesture ends before this frame
            self._emit(self._events.finish())
        self._emit(self._events.update(int(label), frame.index, frame.timestamp))

    def _release(self) -> None:
        try:
            if self._events is not None:
                self._emit(self._events.finish())
        finally:
            self._file.close()

    def __repr__(self) -> str:
        return f"GestureEventSink({str(self.path)!r})"
