"""mmengine wrapper of the accuracy metric, registered in ``mmdet.registry.METRICS``.

``val_evaluator = dict(type='AccuracyMetric', topk=(1, 5), pairs=[('swipe_left', 'swipe_right')])``;
``tools/test.py`` sets ``outfile_prefix`` so that ``{prefix}.REPORT.json`` / ``.md`` and
``{prefix}.confusion.png`` land in the work dir.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmdet.registry import METRICS

from .accuracy import evaluate_recognition, format_summary, write_report


def _get(sample: dict, key: str, default: Any = None) -> Any:
    """A field of a data sample dict (mmengine ``to_dict`` keeps property-backed fields as ``_name``)."""
    if key in sample:
        return sample[key]
    if "_" + key in sample:
        return sample["_" + key]
    return sample.get("metainfo", {}).get(key, default)


def _as_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


@METRICS.register_module()
class AccuracyMetric(BaseMetric):
    """Top-k, mean class accuracy, per-class accuracy, confusion matrix and direction-pair accuracy.

    Args:
        topk: the k of the top-k accuracies (``top1``, ``top5`` keys).
        pairs: class-name pairs whose within-pair accuracy is reported (direction pairs:
            swipe left / right, ...); the mean over pairs is returned as ``pair_accuracy``.
        outfile_prefix: write ``{prefix}.REPORT.json`` / ``.md`` and ``{prefix}.confusion.png``.
        classes: label names (default: the dataset's ``metainfo['classes']``, else ``class_<i>``).

    Videos marked ``skipped`` (unreadable) are left out of the numbers and listed in the report.
    Undefined values are NaN in the returned dict, so keys are stable for hooks and loggers.
    """

    default_prefix: str | None = "acc"

    def __init__(self, topk: Sequence[int] = (1, 5), pairs: Sequence[Sequence[str]] = (),
                 outfile_prefix: str | None = None, classes: Sequence[str] | None = None,
                 collect_device: str = "cpu", prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = tuple(int(k) for k in topk)
        self.pairs = [tuple(p) for p in pairs]
        self.outfile_prefix = outfile_prefix
        self.classes = tuple(classes) if classes is not None else None

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            self.results.append({
                "video_id": _get(sample, "video_id"),
                "filename": str(_get(sample, "filename", "")),
                "label": int(_as_numpy(_get(sample, "gt_label")).reshape(-1)[0]),
                "score": _as_numpy(_get(sample, "pred_score")).astype(np.float32).reshape(-1),
                "skipped": bool(_get(sample, "skipped", False)),
                "num_bad_frames": int(_get(sample, "num_bad_frames", 0) or 0),
            })

    def compute_metrics(self, results: list) -> dict[str, float]:
        logger = MMLogger.get_current_instance()
        if any(r["video_id"] is not None for r in results):  # a padding sampler repeats samples
            results = list({r["video_id"]: r for r in results}.values())
        kept = [r for r in results if not r["skipped"]]
        num_classes = len(results[0]["score"]) if results else 0
        names = self._class_names(num_classes)
        scores = np.stack([r["score"] for r in kept]) if kept else np.zeros((0, num_classes))
        labels = np.array([r["label"] for r in kept], dtype=np.int64)
        result = evaluate_recognition(scores, labels, names, self.pairs, self.topk,
                                      skipped=[r["filename"] for r in results if r["skipped"]],
                                      num_bad_frames=sum(r["num_bad_frames"] for r in results))
        logger.info(f"Accuracy: {format_summary(result)}")
        if self.outfile_prefix is not None:
            prefix = Path(self.outfile_prefix)
            write_report(result, prefix.with_name(prefix.name + ".REPORT.json"))
        out = {f"top{k}": result[f"top{k}"] for k in self.topk}
        out["mean_class_accuracy"] = result["mean_class_accuracy"]
        pair_values = [row["accuracy"] for row in result["pairs"].values() if row["accuracy"] is not None]
        if self.pairs:
            out["pair_accuracy"] = float(np.mean(pair_values)) if pair_values else None
        return {k: math.nan if v is None else float(v) for k, v in out.items()}

    def _class_names(self, num_classes: int) -> tuple[str, ...]:
        names = self.classes or tuple((self.dataset_meta or {}).get("classes") or ())
        if names and len(names) != num_classes:
            raise ValueError(f"{len(names)} class names but the model scores {num_classes} classes")
        return names or tuple(f"class_{i}" for i in range(num_classes))
