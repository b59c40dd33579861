"""Per-task graph outputs and postprocessing: the one place where detection and recognition differ at run time.

An engine looks up ``TASKS[meta.task]`` once and calls its ``finish`` for every frame; the
state handling, batching and preprocessing around it are the same for every task.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .meta import ModelMeta
from .preprocess import LetterboxInfo, unletterbox_boxes
from .results import Classification, Detections, Result


@dataclass(frozen=True)
class Task:
    """The graph outputs a task's model has and how one frame's outputs become a result."""

    name: str
    output_names: tuple[str, ...]
    finish: Callable[[dict[str, np.ndarray], LetterboxInfo, ModelMeta], Result]


def _finish_detection(raw: dict[str, np.ndarray], info: LetterboxInfo, meta: ModelMeta) -> Detections:
    boxes_name, scores_name, labels_name, num_name = meta.output_names[:4]
    n = int(raw[num_name])
    scores = raw[scores_name][:n].astype(np.float32, copy=False)
    keep = scores >= meta.score_thr
    return Detections(
        boxes=unletterbox_boxes(raw[boxes_name][:n][keep], info),
        scores=scores[keep],
        labels=raw[labels_name][:n][keep].astype(np.int64),
        classes=meta.classes,
    )


def _finish_recognition(raw: dict[str, np.ndarray], info: LetterboxInfo, meta: ModelMeta) -> Classification:
    logits = raw[meta.output_names[0]].astype(np.float64).reshape(-1)  # (num_classes,)
    exp = np.exp(logits - logits.max())
    return Classification(scores=(exp / exp.sum()).astype(np.float32), classes=meta.classes)


TASKS: dict[str, Task] = {
    "detection": Task("detection", ("boxes", "scores", "labels", "num_dets"), _finish_detection),
    "recognition": Task("recognition", ("scores",), _finish_recognition),
}


def task_of(meta: ModelMeta) -> Task:
    """The task of an exported model; a clear error for one this runtime does not know."""
    try:
        return TASKS[meta.task]
    except KeyError:
        raise ValueError(f"model task {meta.task!r} is not supported; known tasks: {sorted(TASKS)}") from None
