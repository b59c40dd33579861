"""Box geometry on numpy arrays (numpy only: the metric, export verification and runtime share it).

Boxes are ``x1, y1, x2, y2`` in continuous pixel coordinates (``w = x2 - x1``, no ``+1``),
the convention of the project's json and of every engine's output.
"""
from __future__ import annotations

import numpy as np


def xywh_to_xyxy(xywh: np.ndarray) -> np.ndarray:
    """(N, 4) COCO x, y, w, h boxes as x1, y1, x2, y2."""
    return np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of broadcast-compatible ``(..., 4)`` xyxy arrays; 0 where the union is empty."""
    lt = np.maximum(a[..., :2], b[..., :2])
    rb = np.minimum(a[..., 2:], b[..., 2:])
    wh = np.clip(rb - lt, 0.0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def paired_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of row i of ``a`` with row i of ``b``: ``(N, 4), (N, 4) -> (N,)``; 0 where they do not overlap."""
    return _iou(a, b)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of every box of ``a`` with every box of ``b``: ``(N, 4), (M, 4) -> (N, M)``."""
    return _iou(a[:, None, :], b[None, :, :])
