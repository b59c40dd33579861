"""``evaluate_vid``: COCO AP, devkit mAP and the FGFA motion buckets of one set of detections."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .ap import coco_ap, mean_present, per_class_ap
from .data import load_arrays, load_json, load_vid_gt
from .matching import devkit_iou_threshold, match_to_gt, split_weights
from .motion import MOTION_BUCKETS, compute_motion_iou, motion_bucket
from .report import format_summary

logger = logging.getLogger(__name__)


def evaluate_vid(gt: dict, dets: list[dict], classes: Sequence[str] | None = None) -> dict[str, Any]:
    """Score COCO-format detections on a CocoVID ground truth: COCO AP, devkit mAP, motion split.

    Args:
        gt: CocoVID-style dict (see module docstring).
        dets: COCO result dicts; ids must exist in ``gt`` (ValueError otherwise).
        classes: category names to evaluate (default: all); detections of other classes
            are dropped.

    Returns:
        A JSON-serialisable dict: ``ap``, ``ap50``, ``devkit_map``, ``ap50_slow``,
        ``ap50_medium``, ``ap50_fast`` (``None`` where no class has GT), ``per_class``
        (name -> ``ap``, ``ap50``, ``devkit_ap``, ``ap50_<split>``, ``num_gt``) and the counts
        ``num_images``, ``num_gt``, ``num_gt_<split>``, ``num_dets``.
    """
    data = load_arrays(gt, dets, classes)
    num_classes = len(data.cat_ids)
    gt_thr = devkit_iou_threshold(data.gt_wh)
    bucket = motion_bucket(compute_motion_iou(data.gt_video, data.gt_instance, data.gt_frame, data.gt.xyxy))
    match = match_to_gt(data.gt, gt_thr, bucket, data.det, data.det_score)
    gt_counts = np.zeros((data.num_images, len(MOTION_BUCKETS)), dtype=np.int64)
    np.add.at(gt_counts, (data.gt.img, bucket), 1)

    def split_ap(in_split: np.ndarray) -> list[float | None]:
        tp, fp = split_weights(match, bucket, in_split, data.det.img, gt_counts)
        in_gt = in_split[bucket]
        return per_class_ap(data.det.cls, data.det_score, tp, fp,
                            np.bincount(data.gt.cls[in_gt], minlength=num_classes))

    devkit = split_ap(np.ones(len(MOTION_BUCKETS), dtype=bool))
    by_split = {name: split_ap(np.arange(len(MOTION_BUCKETS)) == i) for i, name in enumerate(MOTION_BUCKETS)}
    coco, coco50 = coco_ap(gt, data.det_records, data.cat_ids)
    num_gt = np.bincount(data.gt.cls, minlength=num_classes)

    per_class = {
        name: {"ap": coco[k], "ap50": coco50[k], "devkit_ap": devkit[k],
               **{f"ap50_{s}": by_split[s][k] for s in MOTION_BUCKETS}, "num_gt": int(num_gt[k])}
        for k, name in enumerate(data.cat_names)
    }
    result: dict[str, Any] = {
        "ap": mean_present(coco), "ap50": mean_present(coco50), "devkit_map": mean_present(devkit),
        **{f"ap50_{s}": mean_present(by_split[s]) for s in MOTION_BUCKETS},
        "per_class": per_class,
        "num_images": data.num_images, "num_gt": int(len(bucket)),
        **{f"num_gt_{s}": int((bucket == i).sum()) for i, s in enumerate(MOTION_BUCKETS)},
        "num_dets": int(len(data.det_score)),
    }
    logger.info("VID eval: %s", format_summary(result))
    return result


def evaluate_files(dets_path: str | Path, ann_path: str | Path,
                   classes: Sequence[str] | None = None) -> dict[str, Any]:
    """:func:`evaluate_vid` on files; every input error names the files involved."""
    gt = load_vid_gt(ann_path)
    dets = load_json(dets_path, "detections")
    if not isinstance(dets, list):
        raise ValueError(f"detections file {dets_path} must hold a json list of COCO results")
    try:
        return evaluate_vid(gt, dets, classes)
    except (ValueError, KeyError) as err:
        raise ValueError(f"evaluating {dets_path} against {ann_path}: {err}") from err
