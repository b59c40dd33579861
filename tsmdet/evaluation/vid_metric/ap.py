"""Average precision: VOC all-point AP from TP / FP weights (devkit, FGFA) and COCO AP (pycocotools)."""
from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import numpy as np


def voc_ap(tp: np.ndarray, fp: np.ndarray, num_gt: int) -> float:
    """All-point interpolated VOC / ILSVRC AP of detections sorted by descending score.

    ``tp`` / ``fp`` are per-detection weights (a detection on an ignored GT has both 0).
    """
    tp_cum = np.cumsum(tp)
    fp_cum = np.cumsum(fp)
    recall = tp_cum / num_gt
    precision = tp_cum / np.maximum(tp_cum + fp_cum, np.finfo(np.float64).eps)
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]  # precision envelope
    step = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[step + 1] - mrec[step]) * mpre[step + 1]))


def per_class_ap(det_cls: np.ndarray, det_score: np.ndarray, tp: np.ndarray, fp: np.ndarray,
                 gt_per_class: np.ndarray) -> list[float | None]:
    """:func:`voc_ap` for each class index; ``None`` for a class without GT (excluded from means)."""
    order = np.lexsort((-det_score, det_cls))  # stable: ties keep the input order
    bounds = np.searchsorted(det_cls[order], np.arange(len(gt_per_class) + 1))
    aps: list[float | None] = []
    for c, num_gt in enumerate(gt_per_class):
        rows = order[bounds[c]:bounds[c + 1]]
        aps.append(voc_ap(tp[rows], fp[rows], int(num_gt)) if num_gt > 0 else None)
    return aps


def mean_present(values: Sequence[float | None]) -> float | None:
    """Mean over the non-``None`` values (classes with GT); ``None`` if there are none."""
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def coco_ap(gt: dict, det_records: list[dict], cat_ids: list[int]
            ) -> tuple[list[float | None], list[float | None]]:
    """Per-class COCO AP@[.5:.95] and AP50 (pycocotools, 101-point); ``None`` for a class without GT.

    pycocotools is imported here so that importing this module stays cheap.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        if not det_records:  # loadRes cannot take an empty list
            has_gt = [bool(coco_gt.getAnnIds(catIds=[c])) for c in cat_ids]
            return [0.0 if g else None for g in has_gt], [0.0 if g else None for g in has_gt]
        evaluator = COCOeval(coco_gt, coco_gt.loadRes(det_records), "bbox")
        evaluator.params.catIds = list(cat_ids)
        # Only the "all" area range and maxDets=100 feed AP / AP50: 4x fewer evaluateImg calls.
        evaluator.params.areaRng = [[0.0, 1e10]]
        evaluator.params.areaRngLbl = ["all"]
        evaluator.params.maxDets = [100]
        evaluator.evaluate()
        evaluator.accumulate()
    precision = evaluator.eval["precision"][:, :, :, 0, 0]  # (iou thr, recall, class); -1 = no GT
    iou50 = int(np.argmin(np.abs(evaluator.params.iouThrs - 0.5)))
    ap: list[float | None] = []
    ap50: list[float | None] = []
    for k in range(len(cat_ids)):
        has_gt = bool((precision[:, :, k] > -1).any())
        ap.append(float(precision[:, :, k].mean()) if has_gt else None)
        ap50.append(float(precision[iou50, :, k].mean()) if has_gt else None)
    return ap, ap50
