"""Per-stage latency statistics and frame rate, shared by the stream runner and the benchmark.

Stages are free-form names (``decode``, ``inference``, ...); the meter knows nothing about
where the numbers come from, so every tool reports latency the same way: one percentile
definition (:func:`percentiles`), one summary dict, one table format.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import islice

import numpy as np

PERCENTILES = (50.0, 90.0, 99.0)


def percentiles(values: Sequence[float] | np.ndarray, qs: Sequence[float] = PERCENTILES) -> list[float]:
    """The project's one percentile definition: numpy's default linear interpolation."""
    if len(values) == 0:
        raise ValueError("percentiles of an empty sample")
    return [float(v) for v in np.percentile(np.asarray(values, dtype=np.float64), qs)]


@dataclass(frozen=True)
class StageStats:
    """Latency of one stage in milliseconds."""

    count: int
    mean: float
    p50: float
    p90: float
    p99: float
    max: float


class LatencyMeter:
    """Collects per-stage milliseconds and frame completion times.

    ``max_samples`` bounds memory on endless streams: percentiles then cover the most recent
    samples, while ``count`` and ``mean`` still cover all of them. ``window`` is the number of
    recent frames behind the live FPS and live stage means.
    """

    def __init__(
        self, stages: Iterable[str] = (), *, window: int = 30, max_samples: int | None = None
    ) -> None:
        if window < 2:
            raise ValueError(f"window must be >= 2 frames, got {window}")
        self._max_samples = max_samples
        self._samples: dict[str, deque[float]] = {}
        self._count: dict[str, int] = {}
        self._total: dict[str, float] = {}
        self._window = window
        self._recent_ticks: deque[float] = deque(maxlen=window)
        self._first_tick: float | None = None
        self._last_tick: float | None = None
        self._ticks = 0
        for stage in stages:
            self._ensure(stage)

    def _ensure(self, stage: str) -> None:
        if stage not in self._samples:
            self._samples[stage] = deque(maxlen=self._max_samples)
            self._count[stage] = 0
            self._total[stage] = 0.0

    def add(self, stage: str, ms: float) -> None:
        """Record one measurement of ``stage`` in milliseconds."""
        self._ensure(stage)
        self._samples[stage].append(float(ms))
        self._count[stage] += 1
        self._total[stage] += float(ms)

    def add_many(self, stage_ms: Mapping[str, float]) -> None:
        for stage, ms in stage_ms.items():
            self.add(stage, ms)

    def tick(self, now: float | None = None) -> None:
        """Mark one frame finished (``now`` in seconds, ``time.perf_counter()`` by default)."""
        now = time.perf_counter() if now is None else now
        if self._first_tick is None:
            self._first_tick = now
        self._last_tick = now
        self._recent_ticks.append(now)
        self._ticks += 1

    @property
    def frames(self) -> int:
        return self._ticks

    @property
    def stages(self) -> list[str]:
        return list(self._samples)

    @property
    def fps(self) -> float:
        """Throughput over the run, timed from the first frame's end so warm-up is excluded."""
        first, last = self._first_tick, self._last_tick
        if self._ticks < 2 or first is None or last is None or last <= first:
            return 0.0
        return (self._ticks - 1) / (last - first)

    def live_fps(self) -> float:
        """Throughput over the last ``window`` frames."""
        ticks = self._recent_ticks
        if len(ticks) < 2 or ticks[-1] == ticks[0]:
            return 0.0
        return (len(ticks) - 1) / (ticks[-1] - ticks[0])

    def live_mean(self, stage: str) -> float:
        """Mean of the last ``window`` samples of ``stage`` (NaN before the first one)."""
        recent = list(islice(reversed(self._samples.get(stage, ())), self._window))
        return sum(recent) / len(recent) if recent else math.nan

    def samples(self, stage: str) -> list[float]:
        """The recorded milliseconds of ``stage``, oldest first (the most recent ``max_samples``)."""
        return list(self._samples.get(stage, ()))

    def stage(self, name: str) -> StageStats | None:
        """Statistics of one stage, ``None`` when it has no samples."""
        samples = self._samples.get(name)
        if not samples:
            return None
        p50, p90, p99 = percentiles(samples)
        return StageStats(
            count=self._count[name],
            mean=self._total[name] / self._count[name],
            p50=p50,
            p90=p90,
            p99=p99,
            max=float(max(samples)),
        )

    def summary(self) -> dict:
        """JSON-ready: ``{"frames", "fps", "stages": {name: StageStats as dict}}`` (stages with samples)."""
        stages = {name: asdict(s) for name in self._samples if (s := self.stage(name)) is not None}
        return {"frames": self._ticks, "fps": self.fps, "stages": stages}

    def table(self) -> str:
        return format_latency_table(self.summary())


def format_latency_table(summary: Mapping) -> str:
    """Render a :meth:`LatencyMeter.summary` (also one loaded back from JSON) as a fixed-width table."""
    header = f"{'stage (ms)':<14}{'count':>8}{'mean':>9}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}"
    lines = [header, "-" * len(header)]
    for name, s in summary["stages"].items():
        lines.append(
            f"{name:<14}{s['count']:>8d}{s['mean']:>9.2f}{s['p50']:>9.2f}{s['p90']:>9.2f}{s['p99']:>9.2f}{s['max']:>9.2f}"
        )
    lines.append(f"{summary['frames']} frames, {summary['fps']:.1f} FPS")
    return "\n".join(lines)
