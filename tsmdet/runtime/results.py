"""What an engine returns per frame, one type per task.

Each result names its ``task`` (the exported model's ``meta.task``), which is what sinks,
reports and the benchmark dispatch on: adding a task adds a result type here, its
postprocess in :mod:`tsmdet.runtime.tasks` and a renderer in ``tsmdet.streaming.render``,
never ``if detector`` branches through the runtime.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Union

import numpy as np


@dataclass(frozen=True)
class Detections:
    """Detections of one frame, in original-frame pixels."""

    task: ClassVar[str] = "detection"

    boxes: np.ndarray  # (n, 4) float32 x1, y1, x2, y2
    scores: np.ndarray  # (n,) float32
    labels: np.ndarray  # (n,) int64, 0-based index into classes
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    @property
    def class_names(self) -> list[str]:
        return [self.classes[i] for i in self.labels.tolist()]


@dataclass(frozen=True)
class Classification:
    """Class scores of one frame (online recognition) or one clip."""

    task: ClassVar[str] = "recognition"

    scores: np.ndarray  # (num_classes,) float32 probabilities (softmax of the graph's logits)
    classes: tuple[str, ...]

    def top(self, k: int = 5) -> list[tuple[int, float]]:
        """The ``k`` best (label, score) pairs, best first."""
        order = np.argsort(-self.scores, kind="stable")[:k]
        return [(int(i), float(self.scores[i])) for i in order]

    @property
    def label(self) -> int:
        return int(np.argmax(self.scores))

    @property
    def score(self) -> float:
        return float(self.scores[self.label])


Result = Union[Detections, Classification]
