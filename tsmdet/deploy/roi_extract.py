"""Multi-level RoI extraction that pools each RoI once, on its own level only (issue 15, item 4).

Why: the deploy head's first extractor ran RoiAlign on every level for all R RoIs (the other
levels' RoIs collapsed to empty boxes) and merged the L results with ``Where``: L RoiAligns
over R boxes plus L-1 full-size ``Where`` copies of (R, C, h, w); at 160x128 that was about
3.5 of 11-13 ms of operator time, and the levels that hold no RoI still cost about 0.4 ms
each. ``RoIDeployHead.extract`` uses this one now.

Here each level gathers its own RoIs (``NonZero`` + ``Gather``), RoiAlign runs on exactly
those (an empty level runs on zero boxes: no work), and one inverse permutation
(``ScatterElements`` + ``Gather``) puts the pooled features back in RoI order. Every op is
standard ONNX (opset 16+) and supported by TensorRT 8.6+ (NonZero, ScatterElements). The level
sizes are data-dependent, the result is not: ``(R, C, h, w)`` with R static, so the graph's
outputs keep their static shapes.

The level rule is mmdet's ``SingleRoIExtractor.map_roi_levels``:
``level = clamp(floor(log2(sqrt(w * h) / finest_scale + 1e-6)), 0, L - 1)``.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torchvision.ops import roi_align


def roi_levels(rois: Tensor, num_levels: int, finest_scale: float) -> Tensor:
    """The pyramid level of each RoI ``(R, 5)`` [image, x1, y1, x2, y2] -> ``(R,)`` int64."""
    scale = torch.sqrt((rois[:, 3] - rois[:, 1]) * (rois[:, 4] - rois[:, 2]))  # (R,)
    return torch.floor(torch.log2(scale / finest_scale + 1e-6)).clamp(min=0, max=num_levels - 1).long()


def extract_by_level(feats: Sequence[Tensor], rois: Tensor, featmap_strides: Sequence[int],
                     output_size: tuple[int, int], sampling_ratio: int, finest_scale: float) -> Tensor:
    """RoIAlign (aligned, average) of each RoI on its level only: ``rois (R, 5)`` -> ``(R, C, h, w)``.

    Same values as ``SingleRoIExtractor`` with an ``RoIAlign(aligned=True)`` layer; in the
    exported graph each level's RoiAlign sees only its own RoIs.
    """
    level = roi_levels(rois, len(featmap_strides), finest_scale)  # (R,)
    pooled, order = [], []
    for i, stride in enumerate(featmap_strides):
        index = torch.nonzero(level == i).view(-1)  # (R_i,) RoIs on level i, in RoI order
        pooled.append(roi_align(feats[i], rois.index_select(0, index), output_size, 1.0 / stride,
                                sampling_ratio, aligned=True))  # (R_i, C, h, w)
        order.append(index)
    perm = torch.cat(order)  # (R,) the RoI of each row of the concatenation (data-dependent length)
    rows = torch.arange(perm.shape[0], device=rois.device)
    # scattered into a tensor shaped like ``level`` (R,), not like ``perm``: the inverse, and so the
    # output, keep the static RoI count in the exported graph although every level's size is dynamic
    inverse = torch.zeros_like(level).scatter(0, perm, rows)  # (R,) row of each RoI
    return torch.cat(pooled).index_select(0, inverse)  # (R, C, h, w)
