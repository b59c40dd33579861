"""mmengine wrapper of the ImageNet VID metric, registered in ``mmdet.registry.METRICS``.

Kept apart from ``vid_metric`` so that the metric itself needs no OpenMMLab install. Configs
register it with
``custom_imports=dict(imports=['tsmdet.evaluation.vid_mmdet_metric'], allow_failed_imports=False)``
and use ``val_evaluator = dict(type='VIDMetric', ann_file=...)``.
"""
from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmdet.registry import METRICS
from tsmdet.evaluation.vid_metric import (
    DEFAULT_CONVENTION, MOTION_BUCKETS, evaluate_vid, format_summary, get_convention, load_vid_gt,
    write_report,
)

_HEADLINE_KEYS: tuple[str, ...] = ("ap50", "ap", "devkit_map", *(f"ap50_{s}" for s in MOTION_BUCKETS))


@METRICS.register_module()
class VIDMetric(BaseMetric):
    """AP50 / AP (COCO), devkit mAP and the FGFA slow / medium / fast split on ImageNet VID.

    Args:
        ann_file: CocoVID ground-truth json of the evaluated split.
        outfile_prefix: if given, detections go to ``{prefix}.bbox.json`` (COCO results)
            and the report to ``{prefix}.REPORT.json`` / ``.md``.
        classes: names of the model's label space, label ``i`` = ``classes[i]``; default the
            dataset's ``metainfo['classes']``, else every category of ``ann_file`` in order.
            Names are matched against the json categories' ``name`` or ``encode_name``
            (WordNet id); only these classes are evaluated.
        format_only: only dump the detections (needs ``outfile_prefix``), e.g. for test sets.
        convention: ``'fgfa'`` (default: the devkit / FGFA motion-split numbers papers report)
            or ``'coco'`` (continuous boxes, tsmdet's earlier numbers); see
            ``tsmdet.evaluation.vid_metric.conventions``. COCO AP / AP50 do not depend on it.
        collect_device / prefix: see ``mmengine.evaluator.BaseMetric``.

    ``compute_metrics`` returns floats; a value that is undefined (no class has GT in that
    split) is NaN rather than missing, so that keys are stable for hooks and loggers.
    """

    default_prefix: str | None = "vid"

    def __init__(self, ann_file: str, outfile_prefix: str | None = None, classes: Sequence[str] | None = None,
                 format_only: bool = False, collect_device: str = "cpu", prefix: str | None = None,
                 convention: str = DEFAULT_CONVENTION) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.convention = get_convention(convention).name  # a bad name fails at build time
        if format_only and outfile_prefix is None:
            raise ValueError("VIDMetric(format_only=True) needs outfile_prefix to write the detections to")
        self.ann_file = ann_file
        self.outfile_prefix = outfile_prefix
        self.classes = tuple(classes) if classes is not None else None
        self.format_only = format_only
        self._gt: dict | None = None  # loaded on first compute (rank 0 only), then cached

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Keep each image's predictions (original-image xyxy boxes, 0-based labels) as numpy.

        Padding frames (``is_padded``: repeats of a video's last frame that fill its last
        offline test clip) are skipped, so that frame is not counted twice.
        """
        for sample in data_samples:
            if sample.get("is_padded", False):
                continue
            pred = sample["pred_instances"]
            self.results.append({
                "img_id": int(sample["img_id"]),
                "bboxes": _as_numpy(pred["bboxes"]).reshape(-1, 4),
                "scores": _as_numpy(pred["scores"]).reshape(-1),
                "labels": _as_numpy(pred["labels"]).reshape(-1),
            })

    def evaluate(self, size: int) -> dict:
        """mmengine passes ``size`` = number of dataset samples and truncates the gathered
        results to it, but an offline test sample is a clip of T frames with one result per
        frame: truncating would silently drop all but the first 1/T of the frames. Keep every
        result; repeats of a frame (a padding sampler) are removed by image id in
        :meth:`compute_metrics`."""
        return super().evaluate(sys.maxsize)

    def compute_metrics(self, results: list) -> dict[str, float]:
        logger = MMLogger.get_current_instance()
        results = list({r["img_id"]: r for r in results}.values())  # one result per image
        if self._gt is None:
            self._gt = load_vid_gt(self.ann_file)
        class_names = self._class_names(self._gt)
        dets = predictions_to_coco(results, _label_to_category(self._gt, class_names))
        prefix = Path(self.outfile_prefix) if self.outfile_prefix is not None else None
        if prefix is not None:
            prefix.parent.mkdir(parents=True, exist_ok=True)
            det_path = prefix.with_name(prefix.name + ".bbox.json")
            det_path.write_text(json.dumps(dets))
            logger.info(f"VID detections written to {det_path}")
        if self.format_only:
            return {}
        eval_names = [c["name"] for c in self._gt["categories"]
                      if c["name"] in class_names or c.get("encode_name") in class_names]
        result = evaluate_vid(self._gt, dets, eval_names, self.convention)
        logger.info(f"VID eval: {format_summary(result)}")
        if prefix is not None:
            write_report(result, prefix.with_name(prefix.name + ".REPORT.json"))
        return {k: math.nan if result[k] is None else float(result[k]) for k in _HEADLINE_KEYS}

    def _class_names(self, gt: dict) -> tuple[str, ...]:
        """The label space: explicit ``classes``, else the dataset's, else the json's."""
        if self.classes is not None:
            return self.classes
        meta = self.dataset_meta or {}
        if meta.get("classes"):
            return tuple(meta["classes"])
        return tuple(c["name"] for c in gt["categories"])


def _as_numpy(value: Any) -> np.ndarray:
    """Tensors (any device) or arrays to numpy."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _label_to_category(gt: dict, class_names: Sequence[str]) -> np.ndarray:
    """Category id of each label index; a name missing from the json is a ValueError."""
    by_name = {c["name"]: c["id"] for c in gt["categories"]}
    by_name.update({c["encode_name"]: c["id"] for c in gt["categories"] if "encode_name" in c})
    missing = [n for n in class_names if n not in by_name]
    if missing:
        raise ValueError(f"classes {missing} are not categories (name or encode_name) of the ground truth")
    return np.array([by_name[n] for n in class_names], dtype=np.int64)


def predictions_to_coco(results: Sequence[dict], label_to_cat: np.ndarray) -> list[dict]:
    """Per-image predictions (xyxy, score, 0-based label) to COCO result dicts (xywh, category id)."""
    dets: list[dict] = []
    for res in results:
        xyxy = res["bboxes"].astype(np.float64)
        xywh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1).tolist()
        cats = label_to_cat[res["labels"].astype(np.int64)].tolist()
        dets.extend({"image_id": res["img_id"], "category_id": c, "bbox": b, "score": s}
                    for c, b, s in zip(cats, xywh, res["scores"].astype(np.float64).tolist()))
    return dets
