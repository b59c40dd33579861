"""How one frame's result is drawn and written, per task: what the sinks dispatch on.

Sinks never look at what a result holds; they ask :func:`renderer_for` (keyed by the
result's ``task``, the exported model's ``meta.task``) to draw it and to turn it into the
JSON fields of its line. A new task adds a :class:`Renderer` here.
"""
from __future__ import annotations

import colorsys
import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from tsmdet.runtime.results import Classification, Detections, Result


def class_name(label: int, classes: Sequence[str]) -> str:
    """Class name for a label, or the number itself when the model has no name for it."""
    return classes[label] if 0 <= label < len(classes) else str(label)


def class_color(label: int) -> tuple[int, int, int]:
    """A BGR colour per class: golden-ratio hue steps keep neighbouring labels far apart."""
    hue = (label * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 0.95)
    return int(b * 255), int(g * 255), int(r * 255)


def _text_style(image: np.ndarray) -> tuple[int, float]:
    thickness = max(1, round(min(image.shape[:2]) / 320))
    return thickness, 0.4 * thickness


def _label_box(canvas: np.ndarray, text: str, x: int, top: int, color: tuple[int, int, int],
               thickness: int, font_scale: float) -> int:
    """Filled label with black text at (x, top); returns its height."""
    (tw, th), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
    cv2.rectangle(canvas, (x, top), (x + tw, top + th + baseline), color, cv2.FILLED)
    cv2.putText(canvas, text, (x, top + th), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), thickness,
                cv2.LINE_AA)
    return th + baseline


def draw_detections(image: np.ndarray, dets: Detections, classes: Sequence[str], *,
                    score_thr: float = 0.0) -> np.ndarray:
    """Return a copy of ``image`` with boxes, class names and scores at or above ``score_thr``."""
    canvas = image.copy()
    thickness, font_scale = _text_style(canvas)
    for box, score, label in zip(dets.boxes, dets.scores, dets.labels, strict=True):
        if score < score_thr:
            continue
        color = class_color(int(label))
        x1, y1, x2, y2 = (int(round(float(v))) for v in box)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), color, thickness)
        text = f"{class_name(int(label), classes)} {float(score):.2f}"
        (_, th), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
        _label_box(canvas, text, x1, max(y1 - th - baseline, 0), color, thickness, font_scale)
    return canvas


def detection_records(dets: Detections, classes: Sequence[str]) -> list[dict]:
    """JSON-ready detections; boxes rounded to 0.01 px and scores to 1e-5 to keep lines short."""
    return [
        {
            "box": [round(float(v), 2) for v in box],
            "score": round(float(score), 5),
            "label": int(label),
            "class": class_name(int(label), classes),
        }
        for box, score, label in zip(dets.boxes, dets.scores, dets.labels, strict=True)
    ]


def draw_classification(image: np.ndarray, result: Classification, classes: Sequence[str], *,
                        score_thr: float = 0.0, k: int = 5) -> np.ndarray:
    """The top label and score, and a small top-``k`` bar chart, in the top-left corner."""
    canvas = image.copy()
    thickness, font_scale = _text_style(canvas)
    top = result.top(k)
    y = 0
    label, score = top[0]
    smoothed = getattr(result, "smoothed_label", -1)  # tsmdet.runtime.smoothing.SmoothedClassification
    if smoothed >= 0:  # the shown label is the smoothed one; the bars stay this frame's raw top-k
        label, score, score_thr = smoothed, float(result.smoothed_score), 0.0
    if score >= score_thr:
        y += _label_box(canvas, f"{class_name(label, classes)} {score:.2f}", 0, 0, class_color(label),
                        thickness, font_scale) + 2
    bar_w = max(10, canvas.shape[1] // 4)
    bar_h = max(3, 4 * thickness)
    for label, score in top:
        cv2.rectangle(canvas, (0, y), (int(bar_w * score), y + bar_h), class_color(label), cv2.FILLED)
        y += bar_h + 1
    return canvas


def classification_records(result: Classification, classes: Sequence[str], k: int = 5) -> list[dict]:
    """The top-``k`` (label, class, score), best first."""
    return [{"label": label, "class": class_name(label, classes), "score": round(score, 5)}
            for label, score in result.top(k)]


def smoothed_fields(result: Classification, classes: Sequence[str], k: int = 5) -> dict:
    """``{"smoothed": {label, class, score, top5}}`` for a smoothed recognition result, else nothing."""
    label = getattr(result, "smoothed_label", -1)
    if label < 0:
        return {}
    window = getattr(result, "smoothed_scores", None)
    top = Classification(scores=window, classes=result.classes).top(k) if window is not None else []
    return {"smoothed": {"label": int(label), "class": class_name(int(label), classes),
                         "score": round(float(result.smoothed_score), 5),
                         "top5": [{"label": i, "class": class_name(i, classes), "score": round(s, 5)}
                                  for i, s in top]}}


def _no_fields(result: Any, classes: Sequence[str]) -> dict:
    return {}


@dataclass(frozen=True)
class Renderer:
    """How a task's result is drawn on a frame and which JSON field its line holds."""

    field: str  # JSONL key of the per-frame payload
    draw: Callable[..., np.ndarray]  # (image, result, classes, *, score_thr) -> annotated copy
    records: Callable[[Any, Sequence[str]], list[dict]]
    extra: Callable[[Any, Sequence[str]], dict] = _no_fields  # more top-level JSONL fields


RENDERERS: dict[str, Renderer] = {
    "detection": Renderer("detections", draw_detections, detection_records),
    "recognition": Renderer("top5", draw_classification, classification_records, smoothed_fields),
}


MIN_DISPLAY_SIDE = 256  # px: below it a label box would not fit its text (the synthetic sample is 64x64)


def for_display(image: np.ndarray, result: Any, min_side: int = MIN_DISPLAY_SIDE) -> tuple[np.ndarray, Any]:
    """``image`` and ``result`` ready to annotate: a frame whose short side is under ``min_side``
    enlarged by the smallest integer factor that reaches it (nearest neighbour: pixels stay pixels),
    with a result's boxes scaled by the same factor. Larger frames come back as they are."""
    short = min(image.shape[:2])
    if short >= min_side:
        return image, result
    factor = math.ceil(min_side / short)
    image = cv2.resize(image, (image.shape[1] * factor, image.shape[0] * factor), interpolation=cv2.INTER_NEAREST)
    if getattr(result, "boxes", None) is not None:
        result = dataclasses.replace(result, boxes=result.boxes * np.float32(factor))
    return image, result


def renderer_for(result: Result) -> Renderer:
    """The renderer of a result's task (results without a ``task`` are detections)."""
    task = getattr(result, "task", "detection")
    try:
        return RENDERERS[task]
    except KeyError:
        raise ValueError(f"no renderer for task {task!r}; known: {sorted(RENDERERS)}") from None
