"""``evaluate_vid``: COCO AP, devkit mAP and the FGFA motion buckets of one set of detections.

``convention`` (:mod:`.conventions`) picks the box and motion-split rules of the devkit mAP and
of slow / medium / fast: ``fgfa`` (default, the published protocol) or ``coco``.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .ap import coco_ap, mean_present, per_class_ap
from .conventions import DEFAULT_CONVENTION, Convention, get_convention
from .data import VIDData, load_arrays, load_json, load_vid_gt
from .matching import devkit_iou_threshold, match_to_gt, split_weights
from .motion import MOTION_BUCKETS, compute_motion_iou, motion_groups
from .report import format_summary

logger = logging.getLogger(__name__)


def evaluate_vid(gt: dict, dets: list[dict], classes: Sequence[str] | None = None,
                 convention: str = DEFAULT_CONVENTION) -> dict[str, Any]:
    """Score COCO-format detections on a CocoVID ground truth: COCO AP, devkit mAP, motion split.

    Args:
        gt: CocoVID-style dict (see module docstring).
        dets: COCO result dicts; ids must exist in ``gt`` (ValueError otherwise).
        classes: category names to evaluate (default: all); detections of other classes
            are dropped.
        convention: ``'fgfa'`` (devkit +1 pixel boxes, isolated boxes slow, frames without
            GT in FGFA's empty weight, closed motion ranges) or ``'coco'`` (continuous
            boxes, isolated boxes fast, disjoint buckets); see :mod:`.conventions`.

    Returns:
        A JSON-serialisable dict: ``ap``, ``ap50``, ``devkit_map``, ``ap50_slow``,
        ``ap50_medium``, ``ap50_fast`` (``None`` where no class has GT), ``per_class``
        (name -> ``ap``, ``ap50``, ``devkit_ap``, ``ap50_<split>``, ``num_gt``) and the counts
        ``num_images``, ``num_gt``, ``num_gt_<split>`` (under fgfa a GT on a range edge
        counts in both splits), ``num_dets`` and ``convention``.
    """
    conv = get_convention(convention)
    data = load_arrays(gt, dets, classes)
    num_classes = len(data.cat_ids)
    gt_thr = devkit_iou_threshold(data.gt_wh, conv.pixel_offset)
    miou = compute_motion_iou(data.gt_video, data.gt_instance, data.gt_frame, data.gt.xyxy,
                              pixel_offset=conv.pixel_offset, isolated=conv.isolated_motion_iou)
    group, table = motion_groups(miou, conv.inclusive_ranges)  # (G,), (num_groups, 3)
    match = match_to_gt(data.gt, gt_thr, group, data.det, data.det_score, len(table), conv.pixel_offset)
    gt_counts = np.zeros((data.num_images, len(table)), dtype=np.int64)
    np.add.at(gt_counts, (data.gt.img, group), 1)

    def split_ap(in_split: np.ndarray) -> list[float | None]:
        weight = _empty_weight(conv, data, gt_counts, in_split, table)
        tp, fp = split_weights(match, group, in_split, data.det.img, gt_counts, weight)
        in_gt = in_split[group]
        return per_class_ap(data.det.cls, data.det_score, tp, fp,
                            np.bincount(data.gt.cls[in_gt], minlength=num_classes))

    devkit = split_ap(np.ones(len(table), dtype=bool))
    by_split = {name: split_ap(table[:, i]) for i, name in enumerate(MOTION_BUCKETS)}
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
        "num_images": data.num_images, "num_gt": int(len(group)),
        **{f"num_gt_{s}": int(table[group, i].sum()) for i, s in enumerate(MOTION_BUCKETS)},
        "num_dets": int(len(data.det_score)),
        "convention": conv.name,
    }
    logger.info("VID eval: %s", format_summary(result))
    return result


def _empty_weight(conv: Convention, data: VIDData, gt_counts: np.ndarray, in_split: np.ndarray,
                  table: np.ndarray) -> float | None:
    """FGFA's ``empty_weight`` under fgfa (None: :func:`split_weights` uses the coco share).

    Every frame without GT adds one motion IoU of 0 to FGFA's ``all_motion_iou`` (see
    :mod:`.conventions`): it counts in the denominator, and in the numerator when the split
    contains motion IoU 0 (fast, and the all-split of the devkit mAP).
    """
    if not conv.empty_frames_in_weight:
        return None
    num_empty = int((gt_counts.sum(axis=1) == 0).sum())  # frames without GT of the evaluated classes
    zero_group, _ = motion_groups(np.zeros(1), conv.inclusive_ranges)
    zero_in = bool(in_split[zero_group[0]])
    total = int(gt_counts.sum()) + num_empty
    return (float(gt_counts[:, in_split].sum()) + (num_empty if zero_in else 0)) / max(total, 1)


def evaluate_files(dets_path: str | Path, ann_path: str | Path,
                   classes: Sequence[str] | None = None,
                   convention: str = DEFAULT_CONVENTION) -> dict[str, Any]:
    """:func:`evaluate_vid` on files; every input error names the files involved."""
    get_convention(convention)  # a bad name is an error of its own, not of the files
    gt = load_vid_gt(ann_path)
    dets = load_json(dets_path, "detections")
    if not isinstance(dets, list):
        raise ValueError(f"detections file {dets_path} must hold a json list of COCO results")
    try:
        return evaluate_vid(gt, dets, classes, convention)
    except (ValueError, KeyError) as err:
        raise ValueError(f"evaluating {dets_path} against {ann_path}: {err}") from err
