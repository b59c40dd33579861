"""ImageNet VID detection metrics: COCO AP, ILSVRC devkit mAP and the FGFA motion-speed split.

Standalone on purpose (numpy + pycocotools only, no OpenMMLab import) so that detections
written by any engine (torch, onnxruntime, TensorRT) can be scored on a machine without
mmdet. ``tsmdet.evaluation.vid_mmdet_metric`` wraps this package for the mmengine loop.

Modules: :mod:`.data` (inputs -> validated column arrays), :mod:`.motion` (FGFA motion IoU
and buckets), :mod:`.matching` (devkit greedy matching, per-bucket TP / FP weights),
:mod:`.ap` (VOC and COCO AP), :mod:`.evaluate` (the whole protocol), :mod:`.report`
(summary line, JSON + Markdown). Box IoU is :mod:`tsmdet.utils.boxes`.

Inputs are a CocoVID-style ground-truth dict (``images`` with ``video_id``/``frame_id``,
``annotations`` with ``instance_id``, ``categories``) and COCO result dicts
``{image_id, category_id, bbox [x, y, w, h], score}``.

Protocol decisions (also written into every report):

* ``ap`` / ``ap50``: pycocotools ``COCOeval`` (bbox, 101-point interpolation), the number
  the OpenMMLab video-detection model zoo reports as AP50. Only the ``all`` area range and
  ``maxDets=100`` are evaluated, which gives the same AP / AP50 as the stock settings at a
  quarter of the cost (the stock small/medium/large ranges are not reported).
* ``devkit_map``: the ILSVRC VID devkit: VOC all-point AP per class with a per-GT IoU
  threshold ``min(0.5, w*h / ((w+10)*(h+10)))``; each detection, in score order, takes the
  best-overlapping *not yet matched* GT of its class that passes that GT's threshold.
* ``ap50_slow|medium|fast``: the FGFA protocol (Zhu et al., ICCV 2017, released
  ``imagenet_vid_eval_motion.py``), i.e. the devkit matcher and thresholds with GT outside
  the split ignored. See :func:`split_weights` for how unmatched detections are weighted.
* ``convention`` (:data:`CONVENTIONS`, :mod:`.conventions`): ``fgfa`` (default) reproduces
  the devkit / FGFA numbers exactly (+1 pixel widths, isolated boxes slow, frames without GT
  in FGFA's empty weight, closed motion ranges); ``coco`` is the earlier tsmdet behaviour
  (continuous boxes ``w = xmax - xmin``, isolated boxes fast, disjoint buckets). COCO AP /
  AP50 do not depend on it. The report names the convention used.
* A class without GT (overall or inside a split) gets ``None`` and is left out of the mean.
"""
from __future__ import annotations

from tsmdet.utils.boxes import paired_iou, xywh_to_xyxy

from .ap import coco_ap, mean_present, per_class_ap, voc_ap
from .conventions import CONVENTIONS, DEFAULT_CONVENTION, Convention, box_iou_px, get_convention
from .data import load_json, load_vid_gt
from .evaluate import evaluate_files, evaluate_vid
from .matching import DEFAULT_IOU_THR, PIXEL_TOLERANCE, MatchResult, devkit_iou_threshold, match_to_gt, split_weights
from .motion import (
    FAST_MAX_IOU,
    MOTION_BUCKETS,
    MOTION_WINDOW,
    SLOW_MIN_IOU,
    compute_motion_iou,
    motion_bucket,
    motion_groups,
)
from .report import format_summary, render_markdown, write_report

__all__ = [
    "CONVENTIONS", "DEFAULT_CONVENTION", "Convention", "box_iou_px", "get_convention", "motion_groups",
    "DEFAULT_IOU_THR", "FAST_MAX_IOU", "MOTION_BUCKETS", "MOTION_WINDOW", "PIXEL_TOLERANCE", "SLOW_MIN_IOU",
    "MatchResult", "coco_ap", "compute_motion_iou", "devkit_iou_threshold", "evaluate_files", "evaluate_vid",
    "format_summary", "load_json", "load_vid_gt", "match_to_gt", "mean_present", "motion_bucket",
    "paired_iou", "per_class_ap", "render_markdown", "split_weights", "voc_ap", "write_report",
    "xywh_to_xyxy",
]
