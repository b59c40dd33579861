"""FGFA motion speed of ground-truth boxes: motion IoU over +-10 frames and the slow/medium/fast buckets.

Zhu et al., ICCV 2017 (released ``imagenet_vid_eval_motion.py``): a GT box's motion IoU is
its mean IoU with the same instance's boxes within +-:data:`MOTION_WINDOW` frames; above
:data:`SLOW_MIN_IOU` it is slow, below :data:`FAST_MAX_IOU` fast, medium in between. The
bucket names are :data:`MOTION_BUCKETS` (bucket index = position); they are motion buckets,
not data splits.
"""
from __future__ import annotations

import numpy as np

from tsmdet.utils.boxes import paired_iou

MOTION_WINDOW = 10  # FGFA: neighbours within +-10 frames
SLOW_MIN_IOU = 0.9  # motion IoU > 0.9 -> slow
FAST_MAX_IOU = 0.7  # motion IoU < 0.7 -> fast; in between (inclusive) -> medium
MOTION_BUCKETS: tuple[str, ...] = ("slow", "medium", "fast")  # bucket index = position


def compute_motion_iou(video: np.ndarray, instance: np.ndarray, frame: np.ndarray,
                       xyxy: np.ndarray, window: int = MOTION_WINDOW) -> np.ndarray:
    """FGFA motion IoU of every GT box: mean IoU with the same instance's boxes within +-window frames.

    Vectorised over all boxes: after sorting by (video, instance, frame), the neighbours of a
    box within the window are the next few rows, so one pass per row offset suffices
    (offsets stop as soon as no pair is in the same track and window any more).
    A box with no neighbour gets 0 (FGFA reads its missing entry as 0, i.e. fast).
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
        iou = paired_iou(b[first], b[second])
        total[first] += iou  # indices are unique within one offset, so no add.at needed
        total[second] += iou
        count[first] += 1
        count[second] += 1
    sorted_miou = np.divide(total, count, out=np.zeros(n), where=count > 0)
    miou = np.empty(n)
    miou[order] = sorted_miou
    return miou


def motion_bucket(miou: np.ndarray) -> np.ndarray:
    """Motion bucket index per GT (0 slow, 1 medium, 2 fast), ordered as :data:`MOTION_BUCKETS`."""
    return np.where(miou > SLOW_MIN_IOU, 0, np.where(miou < FAST_MAX_IOU, 2, 1)).astype(np.int64)
