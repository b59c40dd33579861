"""Prediction smoothing of an online recognizer, as the TSM online gesture demo does it.

Per-frame logits of an online TSM flicker: one frame sees only the shifted past. The
original demo (``online_demo/main.py`` of mit-han-lab/temporal-shift-module) turns them
into a stable label with a few rules, reproduced here as one small policy object:

1. ``window``: the argmax of the sum of the last ``window`` frames' logits (12 in the demo);
2. ``threshold`` (optional): when the softmax of those (mean) logits does not reach it, the
   previous label is kept (the demo gates the single frame's softmax and then lets the window
   override it; gating the window's decision is what makes the option do something here);
3. ``masked``: classes the demo never shows (rolling, turning, pulling hand in) keep the previous label;
4. ``fold``: classes shown as another (``{0: 2}``: "Doing other things" -> "No gesture");
5. ``agree``: a new label is accepted only when the ``agree`` previous labels agree (2 in the
   demo: a label, once shown, stays for at least two frames);
6. ``history``: how many labels are kept (20 in the demo).

The history starts as ``agree`` copies of ``idle`` (the "no gesture" class). Pure numpy:
the runtime's dependency rule (no torch, no OpenMMLab). Parameters come from the config's
``smoothing = dict(...)`` and travel in the exported model's ``ModelMeta.extra['smoothing']``.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .results import Classification


@dataclass(frozen=True)
class SmoothingConfig:
    """The demo's post-processing parameters (module docstring); ``window=1, agree=1`` is no smoothing."""

    window: int = 12
    masked: tuple[int, ...] = ()
    fold: Mapping[int, int] = field(default_factory=dict)
    agree: int = 2
    history: int = 20
    threshold: float | None = None
    idle: int = 0  # the label the history starts with ("No gesture")

    def __post_init__(self) -> None:
        if self.window < 1 or self.agree < 1:
            raise ValueError(f"window and agree must be >= 1, got {self.window} and {self.agree}")
        if self.history < self.agree:
            raise ValueError(f"history ({self.history}) must hold at least agree ({self.agree}) labels")
        if self.threshold is not None and not 0.0 <= self.threshold < 1.0:
            raise ValueError(f"threshold must be in [0, 1) or None, got {self.threshold}")
        if self.idle in self.masked:
            raise ValueError(f"the idle label {self.idle} cannot be masked")

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> "SmoothingConfig":
        """From a config's ``smoothing = dict(...)`` or the metadata JSON (whose dict keys are strings)."""
        raw = dict(raw or {})
        known = {"window", "masked", "fold", "agree", "history", "threshold", "idle"}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown smoothing keys {sorted(unknown)}; known: {sorted(known)}")
        if "masked" in raw:
            raw["masked"] = tuple(int(v) for v in raw["masked"])
        if "fold" in raw:
            raw["fold"] = {int(k): int(v) for k, v in dict(raw["fold"]).items()}
        return cls(**raw)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (fold keys become strings in JSON; :meth:`from_dict` turns them back)."""
        out = asdict(self)
        out["masked"] = list(self.masked)
        out["fold"] = {int(k): int(v) for k, v in self.fold.items()}
        return out

    def check(self, num_classes: int) -> None:
        """Every label it names exists in a model of ``num_classes`` classes."""
        labels = [self.idle, *self.masked, *self.fold, *self.fold.values()]
        bad = sorted({v for v in labels if not 0 <= v < num_classes})
        if bad:
            raise ValueError(f"smoothing names labels {bad} outside 0..{num_classes - 1}")


@dataclass(frozen=True)
class SmoothedPrediction:
    """One frame after smoothing: the shown label, its window score, the window's class scores."""

    label: int
    score: float  # softmax probability of ``label`` under the window's mean logits
    scores: np.ndarray  # (num_classes,) softmax of the window's mean logits
    changed: bool  # the shown label differs from the previous frame's


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max())
    return z / z.sum()


class PredictionSmoother:
    """The policy of one stream: feed it each frame's logits in order, ``reset()`` at a stream start."""

    def __init__(self, config: SmoothingConfig, num_classes: int) -> None:
        config.check(num_classes)
        self.config = config
        self.num_classes = num_classes
        self.reset()

    def reset(self) -> None:
        self._logits: deque[np.ndarray] = deque(maxlen=self.config.window)
        self.labels: deque[int] = deque([self.config.idle] * self.config.agree, maxlen=self.config.history)

    def update(self, logits: np.ndarray) -> SmoothedPrediction:
        """This frame's raw logits ``(num_classes,)`` -> the label to show now."""
        logits = np.asarray(logits, dtype=np.float64).reshape(-1)
        if logits.shape[0] != self.num_classes:
            raise ValueError(f"expected {self.num_classes} logits, got {logits.shape[0]}")
        cfg = self.config
        self._logits.append(logits)
        window = np.sum(self._logits, axis=0)  # (K,) the demo's sum; its argmax is the mean's
        probs = _softmax(window / len(self._logits))
        previous = self.labels[-1]
        label = int(np.argmax(window))
        if cfg.threshold is not None and probs[label] < cfg.threshold:
            label = previous
        if label in cfg.masked:
            label = previous
        label = int(cfg.fold.get(label, label))
        recent = list(self.labels)[-cfg.agree :]
        if label != previous and any(v != recent[0] for v in recent):
            label = previous  # the previous labels disagree: too early for another change
        self.labels.append(label)
        return SmoothedPrediction(label, float(probs[label]), probs.astype(np.float32), label != previous)


@dataclass(frozen=True)
class SmoothedClassification(Classification):
    """A recognizer's frame result with the smoothed label next to the raw scores (same task)."""

    smoothed_label: int = -1
    smoothed_score: float = 0.0
    smoothed_scores: np.ndarray | None = None  # (num_classes,) the window's class probabilities
    idle_label: int = 0  # the policy's "no gesture" label (events are runs of any other label)


@dataclass(frozen=True)
class GestureEvent:
    """A run of one smoothed non-idle label: frames ``start..end`` inclusive, their time stamps."""

    label: int
    start: int
    end: int
    start_time: float
    end_time: float

    def to_dict(self, classes: Sequence[str]) -> dict[str, Any]:
        name = classes[self.label] if 0 <= self.label < len(classes) else str(self.label)
        return {"event": name, "label": self.label, "start": self.start, "end": self.end,
                "start_time": round(self.start_time, 6), "end_time": round(self.end_time, 6),
                "frames": self.end - self.start + 1}


class GestureEvents:
    """Turns the per-frame smoothed labels into gesture events (label, start, end).

    An event opens when the smoothed label becomes a gesture (anything but ``idle``) and
    closes on the last frame before the label changes, or at the end of the stream
    (:meth:`finish`), or at a state reset (the caller calls :meth:`finish` then).
    """

    def __init__(self, idle: int) -> None:
        self.idle = idle
        self._open: tuple[int, int, float] | None = None  # (label, start frame, start time)
        self._last: tuple[int, float] | None = None  # (frame, time) of the last frame seen

    def update(self, label: int, frame: int, time: float) -> GestureEvent | None:
        """Feed one frame; returns the event that ended just before it, if one did."""
        closed = None
        if self._open is not None and label != self._open[0]:
            closed = self.finish()
        if self._open is None and label != self.idle:
            self._open = (label, frame, time)
        self._last = (frame, time)
        return closed

    def finish(self) -> GestureEvent | None:
        """Close the open event at the last frame seen (end of stream or reset)."""
        if self._open is None or self._last is None:
            self._open = None
            return None
        label, start, start_time = self._open
        self._open = None
        return GestureEvent(label, start, self._last[0], start_time, self._last[1])


class SmoothingEngine:
    """An engine whose recognition results carry the smoothed label: one policy per stream slot.

    Wraps any ``tsmdet.runtime`` engine of a recognizer (``infer``/``reset`` slots); a reset of
    a slot (stream start, reconnect, explicit) also resets its smoothing history, because
    the logits it holds belong to frames that no longer precede the next one. Everything
    else (``meta``, ``last_times``, ``close``) is the wrapped engine's.
    """

    def __init__(self, engine: Any, config: SmoothingConfig) -> None:
        if engine.meta.task != "recognition":
            raise ValueError(f"smoothing applies to recognition models, not {engine.meta.task!r}")
        self.engine = engine
        self.config = config
        num_classes = len(engine.meta.classes)
        self.smoothers = [PredictionSmoother(config, num_classes) for _ in range(engine.num_streams)]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def reset(self, stream: int | None = None) -> None:
        self.engine.reset(stream)
        for i, smoother in enumerate(self.smoothers):
            if stream is None or i == stream:
                smoother.reset()

    def infer(self, frames: Sequence[np.ndarray], streams: Sequence[int] | None = None) -> list:
        streams = list(range(len(frames))) if streams is None else list(streams)
        results = self.engine.infer(frames, streams)
        out = []
        for result, stream in zip(results, streams):
            # the engine's scores are a softmax of the logits: log recovers them up to a constant
            logits = np.log(np.maximum(result.scores.astype(np.float64), 1e-30))
            smoothed = self.smoothers[stream].update(logits)
            out.append(SmoothedClassification(
                scores=result.scores, classes=result.classes, smoothed_label=smoothed.label,
                smoothed_score=smoothed.score, smoothed_scores=smoothed.scores, idle_label=self.config.idle))
        return out


def with_smoothing(engine: Any) -> Any:
    """A recognition engine wrapped in its model's smoothing (``meta.extra['smoothing']``);
    any other engine unchanged."""
    if engine.meta.task != "recognition":
        return engine
    return SmoothingEngine(engine, smoothing_from_meta(engine.meta.extra, len(engine.meta.classes)))


def smoothing_from_meta(extra: Mapping[str, Any], num_classes: int) -> SmoothingConfig:
    """The model's smoothing (``ModelMeta.extra['smoothing']``), else the demo's defaults with no masks."""
    config = SmoothingConfig.from_dict(extra.get("smoothing"))
    config.check(num_classes)
    return config
