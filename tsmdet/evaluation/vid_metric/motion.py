"""FGFA motion speed of ground-truth boxes: motion IoU over +-10 frames and the slow/medium/fast buckets.

Zhu et al., ICCV 2017 (released ``imagenet_vid_eval_motion.py``): a GT box's motion IoU is
its mean IoU with the same instance's boxes within +-:data:`MOTION_WINDOW` frames; above
:data:`SLOW_MIN_IOU` it is slow, below :data:`FAST_MAX_IOU` fast, medium in between. The
bucket names are :data:`MOTION_BUCKETS` (bucket index = position); they are motion buckets,
not data splits.

Which edge belongs where, the box pixel convention and the value of a box without
neighbours depend on the convention (:mod:`.conventions`); the defaults of
:func:`compute_motion_iou` are the ``coco`` ones. :func:`motion_groups` turns motion IoUs
into the per-split membership that matching and weighting use under either convention.
"""
from __future__ import annotations

import numpy as np

from .conventions import box_iou_px

MOTION_WINDOW = 10  # FGFA: neighbours within +-10 frames
SLOW_MIN_IOU = 0.9  # motion IoU > 0.9 -> slow
FAST_MAX_IOU = 0.7  # motion IoU < 0.7 -> fast; in between (inclusive) -> medium
MOTION_BUCKETS: tuple[str, ...] = ("slow", "medium", "fast")  # bucket index = position


def compute_motion_iou(video: np.ndarray, instance: np.ndarray, frame: np.ndarray,
                       xyxy: np.ndarray, window: int = MOTION_WINDOW, pixel_offset: float = 0.0,
                       isolated: float = 0.0) -> np.ndarray:
    """FGFA motion IoU of every GT box: mean IoU with the same instance's boxes within +-window frames.

    Vectorised over all boxes: after sorting by (video, instance, frame), the neighbours of a
    box within the window are the next few rows, so one pass per row offset suffices
    (offsets stop as soon as no pair is in the same track and window any more).
    IoUs use ``pixel_offset`` (+1 under fgfa); a box with no neighbour gets ``isolated``
    (coco 0, i.e. fast; fgfa 1.0, i.e. slow).
    """
    n = len(frame)
    order = np.lexsort((frame, instance, video))
    v, ins, f, b = video[order], instance[order], frame[order], xyxy[order]
    total = np.zeros(n)
    count = np.zeros(n)
    for k in range(1, n):
        near = (v[k:] == v[:-k]) & (ins[k:] == ins[:-k]) & (f[k:] - f[:-k] <= window)
        if not near.any():
            break
        first = np.flatnonzero(near)
        second = first + k
        iou = box_iou_px(b[first], b[second], pixel_offset)
        total[first] += iou  # indices are unique within one offset, so no add.at needed
        total[second] += iou
        count[first] += 1
        count[second] += 1
    sorted_miou = np.divide(total, count, out=np.full(n, float(isolated)), where=count > 0)
    miou = np.empty(n)
    miou[order] = sorted_miou
    return miou


def motion_bucket(miou: np.ndarray) -> np.ndarray:
    """Motion bucket index per GT (0 slow, 1 medium, 2 fast), ordered as :data:`MOTION_BUCKETS`."""
    return np.where(miou > SLOW_MIN_IOU, 0, np.where(miou < FAST_MAX_IOU, 2, 1)).astype(np.int64)


# FGFA's closed motion ranges (imagenet_vid.py: motion_ranges), in MOTION_BUCKETS order.
FGFA_RANGES: tuple[tuple[float, float], ...] = (
    (SLOW_MIN_IOU, 1.0), (FAST_MAX_IOU, SLOW_MIN_IOU), (0.0, FAST_MAX_IOU))


def motion_groups(miou: np.ndarray, inclusive: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Each GT's membership in the motion splits, as a group index and a group -> split table.

    ``inclusive=False`` (coco): the disjoint buckets of :func:`motion_bucket`; group = bucket,
    table = identity (3, 3). ``inclusive=True`` (fgfa): FGFA's closed ranges, where a GT with
    motion IoU exactly 0.7 or 0.9 lies in two splits; group = bit pattern of its splits
    (bit s = split s), table (8, 3) with ``table[g, s] = bit s of g``.

    Returns (group per GT (G,) int64, table (num_groups, 3) bool).
    """
    if not inclusive:
        return motion_bucket(miou), np.eye(len(MOTION_BUCKETS), dtype=bool)
    groups = np.zeros(len(miou), dtype=np.int64)
    for s, (lo, hi) in enumerate(FGFA_RANGES):
        groups |= ((miou >= lo) & (miou <= hi)).astype(np.int64) << s
    codes = np.arange(1 << len(MOTION_BUCKETS))
    table = ((codes[:, None] >> np.arange(len(MOTION_BUCKETS))[None, :]) & 1).astype(bool)
    return groups, table
