"""Run one source through an engine into sinks, frame by frame, with per-stream state resets.

State rule (docs/streaming.md): the engine's shift caches for stream slot 0 are reset at the
start and whenever the source says it restarted (live reconnect), because the cached
features then belong to frames that no longer precede the current one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np

from tsmdet.streaming.latency import LatencyMeter, format_latency_table
from tsmdet.runtime.results import Result
from tsmdet.streaming.sinks import Sink
from tsmdet.streaming.sources import Frame, FrameSource

logger = logging.getLogger(__name__)

STAGES = ("decode", "preprocess", "inference", "postprocess", "sinks", "end_to_end")
_STREAM = 0  # one source per run: it owns stream slot 0 of the engine
_MAX_LATENCY_SAMPLES = 100_000  # bounded memory on endless live streams


class StageTimes(Protocol):
    """Milliseconds spent in each engine stage during its last ``infer`` call."""

    @property
    def preprocess(self) -> float: ...

    @property
    def inference(self) -> float: ...

    @property
    def postprocess(self) -> float: ...


class EngineLike(Protocol):
    """The part of the ``tsmdet.runtime`` engine interface the runner uses."""

    @property
    def last_times(self) -> StageTimes: ...

    def reset(self, stream: int | None = None) -> None: ...

    def infer(
        self, frames: list[np.ndarray], streams: list[int] | None = None
    ) -> Sequence[Result]: ...


@dataclass
class StreamSummary:
    frames: int  # frames that went through the engine and every sink
    dropped: int  # live frames dropped by the source queue
    corrupt: int  # undecodable images skipped
    reconnects: int
    resets: int  # engine state resets, the start included
    end_reason: str  # source end reason, or "max_frames", "stopped" (a sink asked), "interrupted"
    interrupted: bool  # Ctrl-C ended the run
    latency: dict  # LatencyMeter.summary()

    def to_dict(self) -> dict:
        return asdict(self)

    def report(self) -> str:
        """Counts and the latency table, for logs and the terminal."""
        head = (
            f"{self.frames} frames ({self.end_reason}); dropped {self.dropped}, corrupt {self.corrupt}, "
            f"reconnects {self.reconnects}, state resets {self.resets}"
        )
        return head + "\n" + format_latency_table(self.latency)


def run_stream(
    source: FrameSource,
    engine: EngineLike,
    sinks: Sequence[Sink],
    *,
    max_frames: int | None = None,
    on_frame: Callable[[Frame, Result], None] | None = None,
    log_every_s: float = 2.0,
    meter: LatencyMeter | None = None,
) -> StreamSummary:
    """Detect on every frame of ``source`` and write to ``sinks``; closes source and sinks.

    Sinks are closed first on every exit, error or not, so the JSONL and video written so
    far are complete; then the error propagates. Ctrl-C ends the run normally with
    ``interrupted=True``. ``on_frame(frame, dets)`` is called after the sinks.
    ``meter`` records the stage latencies (default: a new one); passing one lets the caller
    read the per-frame samples (the benchmark pools several interleaved runs).
    """
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1 or None, got {max_frames}")
    run = _StreamRun(source, engine, sinks, on_frame=on_frame, log_every_s=log_every_s, meter=meter)
    try:
        run.reset()
        run.loop(max_frames)
    except KeyboardInterrupt:
        run.interrupted = True
        run.end_reason = "interrupted"
        logger.warning("interrupted after %d frames", run.frames)
    except BaseException:
        _close_all([*sinks, source])  # failures while closing are logged; the original error wins
        raise
    close_error = _close_all([*sinks, source])
    if close_error is not None:
        raise close_error
    summary = run.summary()
    logger.info("stream finished: %s", summary.report())
    return summary


class _StreamRun:
    """The mutable side of one :func:`run_stream` call: counters, meter and the per-frame steps."""

    def __init__(
        self,
        source: FrameSource,
        engine: EngineLike,
        sinks: Sequence[Sink],
        *,
        on_frame: Callable[[Frame, Result], None] | None,
        log_every_s: float,
        meter: LatencyMeter | None = None,
    ) -> None:
        self.source = source
        self.engine = engine
        self.sinks = sinks
        self.on_frame = on_frame
        self.log_every_s = log_every_s
        self.meter = meter if meter is not None else LatencyMeter(STAGES, max_samples=_MAX_LATENCY_SAMPLES)
        self.frames = 0
        self.resets = 0
        self.end_reason = ""
        self.interrupted = False

    def reset(self) -> None:
        self.engine.reset(_STREAM)
        self.resets += 1

    def loop(self, max_frames: int | None) -> None:
        next_log = time.perf_counter() + self.log_every_s
        for frame in self.source:
            dets = self.process(frame)
            self.frames += 1
            if self.on_frame is not None:
                self.on_frame(frame, dets)
            if time.perf_counter() >= next_log:
                self.log_progress()
                next_log = time.perf_counter() + self.log_every_s
            if max_frames is not None and self.frames >= max_frames:
                self.end_reason = "max_frames"
                return
            if any(sink.stop_requested for sink in self.sinks):
                self.end_reason = "stopped"
                return

    def process(self, frame: Frame) -> Result:
        """One frame: reset if the source restarted, infer, write, record stage latencies."""
        t0 = time.perf_counter()
        if frame.source_restarted:
            logger.info("source restarted at frame %d: resetting stream state", frame.index)
            self.reset()
        dets = self.engine.infer([frame.image], [_STREAM])[0]
        times = self.engine.last_times
        t_sinks = time.perf_counter()
        for sink in self.sinks:
            sink.write(frame, dets)
        t_end = time.perf_counter()
        self.meter.add_many(
            {
                "decode": frame.decode_ms,
                "preprocess": times.preprocess,
                "inference": times.inference,
                "postprocess": times.postprocess,
                "sinks": (t_end - t_sinks) * 1e3,
                # decode ran in the reader thread; time spent waiting in the queue is not counted
                "end_to_end": frame.decode_ms + (t_end - t0) * 1e3,
            }
        )
        self.meter.tick(t_end)
        return dets

    def log_progress(self) -> None:
        stages = " ".join(f"{name} {self.meter.live_mean(name):.1f}" for name in STAGES)
        logger.info(
            "frame %d | %.1f FPS | ms: %s | dropped %d",
            self.frames,
            self.meter.live_fps(),
            stages,
            self.source.stats.frames_dropped,
        )

    def summary(self) -> StreamSummary:
        stats = self.source.stats
        return StreamSummary(
            frames=self.frames,
            dropped=stats.frames_dropped,
            corrupt=stats.corrupt_frames,
            reconnects=stats.reconnects,
            resets=self.resets,
            end_reason=self.end_reason or (stats.end_reason.value if stats.end_reason else ""),
            interrupted=self.interrupted,
            latency=self.meter.summary(),
        )


def _close_all(closeables: Sequence[Sink | FrameSource]) -> Exception | None:
    """Close everything even if some fail; return the first failure so a clean run can raise it."""
    first: Exception | None = None
    for item in closeables:
        try:
            item.close()
        except Exception as exc:  # keep closing the rest: each sink's output must be finalised
            logger.exception("closing %r failed", item)
            first = first or exc
    return first
