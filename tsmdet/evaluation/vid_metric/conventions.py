"""The two box and motion-split conventions the VID metric can follow: ``fgfa`` and ``coco``.

``fgfa`` (the default) reproduces the numbers the video-detection papers compare with: the
ILSVRC VID devkit (``eval_vid_detection.m``) for the devkit mAP and FGFA's released
``lib/dataset/imagenet_vid_eval_motion.py`` (Zhu et al., ICCV 2017) for slow / medium / fast.
``coco`` is tsmdet's earlier behaviour, kept exactly: continuous coordinates as COCO and
mmdet use them. COCO AP / AP50 (pycocotools) are the same under both.

What differs (rule -> source):

* **+1 pixel** (``pixel_offset``). fgfa: a box ``x1..x2`` is ``x2 - x1 + 1`` wide in areas,
  intersections and the devkit's small-object threshold. Devkit: ``gt_w = bb(4,:)-bb(2,:)+1``,
  ``iw=bi(3)-bi(1)+1``, ``ua=(bb(3)-bb(1)+1)*(bb(4)-bb(2)+1)+...``; FGFA: ``gt_w = ... + 1``
  in ``parse_vid_rec``, ``iw = bi[2] - bi[0] + 1`` and ``ua`` with ``+ 1.`` in
  ``vid_eval_motion``. The motion IoU of the ground truth is computed the same way.
  coco: ``w = x2 - x1``.
* **isolated boxes** (``isolated_motion_iou``). A GT box whose instance has no other box
  within +-10 frames: fgfa gives it motion IoU 1.0 (slow), as FGFA's released
  ``imagenet_vid_groundtruth_motion_iou.mat`` holds for the ILSVRC2015 val set (issue 12
  checked this on the real val ground truth); coco gives it 0 (fast).
* **frames without ground truth** (``empty_frames_in_weight``). Both conventions score every
  frame of the ground truth, with or without boxes (FGFA iterates ``recs``, one record per
  line of the image-set file, empty frames included), and both count a detection on a frame
  without GT as a false positive: weight 1 in the devkit mAP (``eval_vid_detection.m``:
  ``num_gt_obj`` is 0, so ``kmax`` stays -1 and ``fp(j) = 1``), weight ``empty_weight`` in a
  motion split (FGFA: ``elif num_gt_obj == 0: fp[j] = empty_weight``). They differ in
  ``empty_weight``, FGFA's ``sum(lo <= m <= hi for m in all_motion_iou) / len(all_motion_iou)``:
  ``all_motion_iou`` concatenates the per-frame motion-IoU lists of the .mat file, and a frame
  without boxes holds one empty entry there that FGFA reads as 0
  (``motion_iou[...][j][0] if len(motion_iou[...][j]) != 0 else 0``; the reproduction script
  in FGFA issue #31 writes ``[0.0]`` for such frames). So under fgfa every frame without GT
  adds one motion IoU of 0 to the denominator and, in the ranges that contain 0 (fast, and
  the all-range), to the numerator. coco: ``empty_weight`` = share of the GT boxes in the split.
* **range edges** (``inclusive_ranges``). fgfa: FGFA's ranges are closed,
  ``motion_ranges = [[0.0, 1.0], [0.0, 0.7], [0.7, 0.9], [0.9, 1.0]]`` with
  ``ig_gt_motion = (m < lo) | (m > hi)``, so a motion IoU of exactly 0.7 is fast *and*
  medium, exactly 0.9 medium *and* slow. coco: disjoint buckets (> 0.9 slow, < 0.7 fast).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tsmdet.utils.boxes import paired_iou

CONVENTIONS: tuple[str, ...] = ("fgfa", "coco")
DEFAULT_CONVENTION = "fgfa"


@dataclass(frozen=True)
class Convention:
    """The knobs one convention sets (see the module docstring for each rule's source)."""

    name: str
    pixel_offset: float  # added to every width and height: 1.0 (devkit / FGFA) or 0.0
    isolated_motion_iou: float  # motion IoU of a GT box without neighbours in the window
    empty_frames_in_weight: bool  # frames without GT add a motion IoU of 0 to empty_weight
    inclusive_ranges: bool  # closed FGFA ranges (edges in two splits) vs disjoint buckets


_BY_NAME = {
    "fgfa": Convention("fgfa", pixel_offset=1.0, isolated_motion_iou=1.0,
                       empty_frames_in_weight=True, inclusive_ranges=True),
    "coco": Convention("coco", pixel_offset=0.0, isolated_motion_iou=0.0,
                       empty_frames_in_weight=False, inclusive_ranges=False),
}


def get_convention(name: str) -> Convention:
    """The :class:`Convention` called ``name``; anything else is a ValueError listing the choices."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {name!r}") from None


def box_iou_px(a: np.ndarray, b: np.ndarray, pixel_offset: float = 0.0) -> np.ndarray:
    """Row-wise IoU of (N, 4) xyxy boxes with ``pixel_offset`` added to every width and height.

    ``pixel_offset=0`` is :func:`tsmdet.utils.boxes.paired_iou` itself (bit-identical coco
    numbers). ``pixel_offset=1`` is the devkit's: the intersection counts only when both of
    its sides are positive *after* the +1 (``if iw>0 & ih>0``), else the IoU is 0.
    """
    if pixel_offset == 0.0:
        return paired_iou(a, b)
    iw = np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]) + pixel_offset
    ih = np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]) + pixel_offset
    overlap = (iw > 0) & (ih > 0)
    inter = np.where(overlap, iw * ih, 0.0)
    area_a = (a[:, 2] - a[:, 0] + pixel_offset) * (a[:, 3] - a[:, 1] + pixel_offset)
    area_b = (b[:, 2] - b[:, 0] + pixel_offset) * (b[:, 3] - b[:, 1] + pixel_offset)
    union = area_a + area_b - inter
    return np.where(overlap & (union > 0), inter / np.where(union > 0, union, 1.0), 0.0)
