"""Video classification accuracy: top-k, mean class accuracy, per class, confusion, direction pairs.

Pure numpy (no OpenMMLab import), so scores written by any engine can be scored anywhere;
``tsmdet.evaluation.recognition.metric.AccuracyMetric`` wraps it for the mmengine loop.
The report has the look of the VID report (``tsmdet.evaluation.vid_metric``): a headline
table, sections, per-class rows, numbers in percent, the protocol notes at the end.

Definitions (also written into every report):

* top-k: the true class is among the k highest scores (ties broken by class index, as
  ``np.argsort`` with a stable sort of the negated scores).
* mean class accuracy: the mean over classes *with videos* of the per-class top-1 recall
  (classes without videos are n/a and left out, as the VID report does).
* pair accuracy of a class pair (a, b): over videos of a or b, the fraction whose true class
  scores higher than the other class of the pair -- 50 % is chance; a model that sees only
  single frames (or an unordered set of frames) cannot beat it on the synthetic gestures.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, ks: Sequence[int] = (1, 5)) -> dict[int, float]:
    """Fraction of rows whose label is in the top-k scores, per k (k capped at the class count)."""
    scores = np.asarray(scores, dtype=np.float64)  # (N, C)
    labels = np.asarray(labels, dtype=np.int64)  # (N,)
    order = np.argsort(-scores, axis=1, kind="stable")
    rank = np.argmax(order == labels[:, None], axis=1)  # position of the true class
    return {k: float(np.mean(rank < min(k, scores.shape[1]))) if len(labels) else float("nan") for k in ks}


def confusion_matrix(pred: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts, row = true class, column = predicted class.  # (C, C) int64"""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(labels, dtype=np.int64), np.asarray(pred, dtype=np.int64)), 1)
    return cm


def per_class_accuracy(cm: np.ndarray) -> list[float | None]:
    """Top-1 recall of each class from a confusion matrix; ``None`` for a class without videos."""
    totals = cm.sum(axis=1)
    return [float(cm[c, c] / totals[c]) if totals[c] else None for c in range(len(cm))]


def pair_accuracy(scores: np.ndarray, labels: np.ndarray, a: int, b: int) -> tuple[float | None, int]:
    """(fraction of a/b videos whose true class beats the pair partner, number of such videos)."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    mask = (labels == a) | (labels == b)
    if not mask.any():
        return None, 0
    own = scores[mask, labels[mask]]
    other = scores[mask, np.where(labels[mask] == a, b, a)]
    return float(np.mean(own > other)), int(mask.sum())


def evaluate_recognition(scores: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                         pairs: Sequence[tuple[str, str]] = (), topk: Sequence[int] = (1, 5),
                         skipped: Sequence[str] = (), num_bad_frames: int = 0) -> dict[str, Any]:
    """Score (N, C) class scores against (N,) labels; a JSON-serialisable result dict.

    Keys: ``top1``, ``top5`` (one per k in ``topk``), ``mean_class_accuracy``, ``per_class``
    (name -> ``accuracy``, ``num_videos``, ``most_confused``), ``pairs`` ("a / b" ->
    ``accuracy``, ``num_videos``), ``confusion`` (C x C list of counts), the counts
    ``num_videos``, ``num_skipped`` (+ ``skipped`` names) and ``num_bad_frames``.
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(len(labels), -1)
    labels = np.asarray(labels, dtype=np.int64)
    num_classes = len(class_names)
    if scores.shape[1] != num_classes:
        raise ValueError(f"scores have {scores.shape[1]} classes, class_names {num_classes}")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels outside [0, {num_classes})")
    pred = scores.argmax(axis=1) if len(labels) else np.zeros(0, dtype=np.int64)
    cm = confusion_matrix(pred, labels, num_classes)
    acc = per_class_accuracy(cm)
    index = {n: i for i, n in enumerate(class_names)}
    unknown = [n for pair in pairs for n in pair if n not in index]
    if unknown:
        raise ValueError(f"pair classes not in class_names: {unknown}")
    per_class = {}
    for c, name in enumerate(class_names):
        off = cm[c].copy()
        off[c] = 0
        worst = int(off.argmax())
        per_class[name] = {"accuracy": acc[c], "num_videos": int(cm[c].sum()),
                           "most_confused": class_names[worst] if off[worst] > 0 else None}
    pair_rows = {}
    for a, b in pairs:
        value, n = pair_accuracy(scores, labels, index[a], index[b])
        pair_rows[f"{a} / {b}"] = {"accuracy": value, "num_videos": n}
    present = [v for v in acc if v is not None]
    result: dict[str, Any] = {
        **{f"top{k}": v for k, v in topk_accuracy(scores, labels, topk).items()},
        "mean_class_accuracy": float(np.mean(present)) if present else None,
        "per_class": per_class, "pairs": pair_rows, "confusion": cm.tolist(),
        "num_videos": int(len(labels)), "num_classes": num_classes,
        "num_skipped": len(skipped), "skipped": list(skipped), "num_bad_frames": int(num_bad_frames),
    }
    return result


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{100.0 * value:.2f}"


def format_summary(result: dict[str, Any]) -> str:
    """One line with the headline numbers, for logs."""
    parts = [f"{k}={_fmt(result[k])}" for k in ("top1", "top5", "mean_class_accuracy") if k in result]
    parts += [f"pair[{name}]={_fmt(row['accuracy'])}" for name, row in result["pairs"].items()]
    return ", ".join(parts) + (f" ({result['num_videos']} videos, {result['num_skipped']} skipped, "
                               f"{result['num_bad_frames']} substituted frames)")


_REPORT_NOTES = (
    "top-k: the true class is among the k highest view-averaged scores. Mean class accuracy: mean "
    "over classes with videos of the per-class top-1 recall. Pair accuracy: over the videos of a "
    "class pair, the fraction whose true class outscores the pair partner (50 = chance). Skipped "
    "videos (unreadable) are left out of every number; substituted frames are unreadable frames "
    "replaced by the nearest readable one. Numbers are in percent."
)


def render_markdown(result: dict[str, Any], confusion_png: str | None = None) -> str:
    """Markdown report: headline numbers, direction pairs, per-class table, confusion matrix."""
    lines = [
        "# Video classification evaluation", "",
        f"{result['num_videos']} videos, {result['num_classes']} classes, {result['num_skipped']} skipped "
        f"(unreadable), {result['num_bad_frames']} substituted frames.", "",
        "| top-1 | top-5 | mean class accuracy |", "|---:|---:|---:|",
        f"| {_fmt(result.get('top1'))} | {_fmt(result.get('top5'))} | {_fmt(result['mean_class_accuracy'])} |", "",
    ]
    if result["pairs"]:
        lines += ["## Direction pairs", "", "| pair | videos | pair accuracy |", "|---|---:|---:|",
                  *(f"| {name} | {row['num_videos']} | {_fmt(row['accuracy'])} |"
                    for name, row in result["pairs"].items()), ""]
    lines += ["## Per class", "", "| class | videos | top-1 | most confused with |", "|---|---:|---:|---|"]
    for name, row in result["per_class"].items():
        lines.append(f"| {name} | {row['num_videos']} | {_fmt(row['accuracy'])} | {row['most_confused'] or '-'} |")
    lines += ["", "## Confusion matrix", "", "Rows: true class, columns: predicted class (counts).", ""]
    if confusion_png:
        lines += [f"![confusion matrix]({confusion_png})", ""]
    names = list(result["per_class"])
    lines += ["| true \\ pred | " + " | ".join(str(i) for i in range(len(names))) + " |",
              "|---|" + "---:|" * len(names)]
    lines += [f"| {i} {n} | " + " | ".join(str(v) for v in row) + " |"
              for i, (n, row) in enumerate(zip(names, result["confusion"]))]
    if result["skipped"]:
        lines += ["", "## Skipped videos", "", *(f"* {name}" for name in result["skipped"])]
    lines += ["", _REPORT_NOTES, ""]
    return "\n".join(lines)


def write_report(result: dict[str, Any], out_json_path: str | Path, confusion_png: bool = True) -> tuple[Path, Path]:
    """Write ``result`` as JSON, a Markdown report with the same stem, and (optionally) the confusion PNG."""
    json_path = Path(out_json_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    png_name = None
    if confusion_png:
        from .confusion_plot import plot_confusion

        stem = json_path.name[: -len(".REPORT.json")] if json_path.name.endswith(".REPORT.json") else json_path.stem
        png = json_path.with_name(stem + ".confusion.png")
        plot_confusion(np.asarray(result["confusion"]), list(result["per_class"]), png)
        png_name = png.name
    md_path = json_path.with_suffix(".md")
    md_path.write_text(render_markdown(result, png_name))
    logger.info("wrote %s and %s", json_path, md_path)
    return json_path, md_path
