"""Run one source through an engine into sinks, frame by frame, with per-stream state resets.

State rule (docs/streaming.md): the engine's shift caches for stream slot 0 are reset at the
start and whenever the source says it restarted (live reconnect), because the cached
features then belong to frames that no longer precede the current one.

Stop signals (docs/reliability.md): in the main thread, SIGINT, SIGTERM and SIGHUP end the run
like Ctrl-C, but never between two sinks' writes of one frame: every sink holds the same
frames (the annotated video has as many frames as the JSONL has lines), then all are closed.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol

import numpy as np

from tsmdet.streaming.latency import LatencyMeter, format_latency_table
from tsmdet.runtime.results import Result
from tsmdet.streaming.sinks import Sink
from tsmdet.streaming.sources import Frame, FrameSource
from tsmdet.utils.cli import Interrupted, signal_number

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
    end_reason: str  # source end reason ("truncated" included), or "max_frames", "stopped" (a sink
    # asked), "interrupted" (a stop signal), "error" (the engine or a sink raised)
    interrupted: bool  # a stop signal (SIGINT / SIGTERM / SIGHUP) ended the run
    latency: dict  # LatencyMeter.summary()
    stop_signal: int | None = None  # the signal number when interrupted (exit code 128 + it)
    end_detail: str = ""  # why the source ended, or the error
    skipped: list[str] = field(default_factory=list)  # names of skipped (corrupt) images, first 100
    expected_frames: int | None = None  # what the video container reports, when it does

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
    on_end: Callable[[StreamSummary], None] | None = None,
) -> StreamSummary:
    """Detect on every frame of ``source`` and write to ``sinks``; closes source and sinks.

    Sinks are closed first on every exit, error or not, so the JSONL and video written so
    far are complete; then the error propagates. A stop signal (SIGINT, SIGTERM, SIGHUP; main
    thread only) ends the run normally with ``interrupted=True`` and ``stop_signal`` set.
    ``on_frame(frame, dets)`` is called after the sinks. ``on_end(summary)`` is called once the
    outputs are closed, on every exit (``end_reason="error"`` before an error propagates), so a
    caller can write the summary whatever happened.
    ``meter`` records the stage latencies (default: a new one); passing one lets the caller
    read the per-frame samples (the benchmark pools several interleaved runs).
    """
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1 or None, got {max_frames}")
    run = _StreamRun(source, engine, sinks, on_frame=on_frame, log_every_s=log_every_s, meter=meter)
    with _SignalGuard() as guard:
        run.guard = guard
        try:
            run.reset()
            run.loop(max_frames)
        except KeyboardInterrupt as exc:
            run.interrupted, run.end_reason, run.stop_signal = True, "interrupted", signal_number(exc)
            logger.warning("interrupted (%s) after %d frames", signal.Signals(run.stop_signal).name,
                           run.frames)
        except BaseException as exc:
            guard.hold_all()  # a signal now must not cut the finalisation short
            _close_all([*sinks, source])  # failures while closing are logged; the original error wins
            run.end_reason, run.error = "error", f"{type(exc).__name__}: {exc}"
            if on_end is not None:
                on_end(run.summary())
            raise
        guard.hold_all()
        close_error = _close_all([*sinks, source])
    summary = run.summary()
    if on_end is not None:
        on_end(summary)
    if close_error is not None:
        raise close_error
    logger.info("stream finished: %s", summary.report())
    return summary


class _SignalGuard:
    """Stop signals as :class:`~tsmdet.utils.cli.Interrupted`, except while ``holding``: during one
    frame's sink writes (raised by :meth:`release` once the frame is in every sink) and after
    :meth:`hold_all` (finalising the outputs).

    Installed only in the main thread (the only one Python delivers signals to); the previous
    handlers come back on exit.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.holding = False
        self.pending: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> "_SignalGuard":
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)

    def _handle(self, signum: int, _frame: object) -> None:
        if self.holding:
            if self.pending is None:
                self.pending = signum
            logger.warning("%s received: stopping after the current frame", signal.Signals(signum).name)
            return
        raise Interrupted(signum)

    def hold_all(self) -> None:
        self.holding = True

    def release(self) -> None:
        """End a held section; a signal that arrived during it is raised now."""
        self.holding = False
        if self.pending is not None:
            signum, self.pending = self.pending, None
            raise Interrupted(signum)


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
        self.stop_signal: int | None = None
        self.error = ""
        self.guard: _SignalGuard | None = None

    def reset(self) -> None:
        self.engine.reset(_STREAM)
        self.resets += 1

    def loop(self, max_frames: int | None) -> None:
        next_log = time.perf_counter() + self.log_every_s
        for frame in self.source:
            dets = self.process(frame)
            self.frames += 1
            if self.guard is not None:
                self.guard.release()  # a stop signal held during the sink writes is raised here
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
        if self.guard is not None:
            self.guard.holding = True  # every sink gets this frame, or none does (released in loop)
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
            stop_signal=self.stop_signal,
            end_detail=self.error or stats.end_detail,
            skipped=list(stats.skipped),
            expected_frames=stats.expected_frames,
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
