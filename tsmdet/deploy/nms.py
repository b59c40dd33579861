"""Non-maximum suppression inside the exported graph, with static output shapes.

TensorRT and onnxruntime both run ONNX ``NonMaxSuppression`` natively, but its
output (the selected ``[batch, class, box]`` triples) has a data-dependent length.
:func:`nms_keep_mask` turns it into a fixed ``(B, N)`` keep mask with one
``ScatterElements``; :func:`top_k_rows` then ranks kept candidates first with a
``TopK`` of constant K, so every tensor after NMS has a static shape and no
``NonZero``/``Loop``/``If``/``ScatterND`` appears in the graph.

Eager PyTorch computes the same mask with ``torchvision.ops.nms`` per image, so
the torch deploy module (the reference the ONNX export is verified against) and
the graph agree up to float error and ties between equal scores.

Class-aware NMS uses mmcv's ``batched_nms`` trick: boxes are shifted by
``label * (max_coordinate + 1)`` so boxes of different classes never overlap.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import nms

# onnxruntime drops candidates whose score is not above ``score_threshold``; scores
# marked invalid get this value so they can never pass any threshold >= 0.
INVALID_SCORE = -1.0


class _NMSKeepMask(torch.autograd.Function):
    """Per-image NMS as a ``(B, N)`` float keep mask; exported as NonMaxSuppression + ScatterElements."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx, boxes: Tensor, scores: Tensor, iou_threshold: float, score_threshold: float, max_output: int,
        num_boxes: int,
    ) -> Tensor:
        masks = []
        for img_boxes, img_scores in zip(boxes, scores):  # (N, 4), (N,)
            cand = torch.nonzero(img_scores > score_threshold).squeeze(1)
            keep = nms(img_boxes[cand], img_scores[cand], iou_threshold)[:max_output]
            masks.append(img_scores.new_zeros(img_scores.shape).index_fill(0, cand[keep], 1.0))
        return torch.stack(masks)  # (B, N)

    @staticmethod
    def symbolic(g, boxes, scores, iou_threshold: float, score_threshold: float, max_output: int,
                 num_boxes: int):
        def const(value, dtype: torch.dtype):
            return g.op("Constant", value_t=torch.tensor(value, dtype=dtype))

        selected = g.op(  # (M, 3) int64 rows [batch, class, box], M data dependent
            "NonMaxSuppression",
            boxes,
            g.op("Unsqueeze", scores, const([1], torch.int64)),  # (B, 1, N): one class
            const([max_output], torch.int64),
            const([iou_threshold], torch.float32),
            const([score_threshold], torch.float32),
        )
        batch_idx = g.op("Gather", selected, const(0, torch.int64), axis_i=1)  # (M,)
        box_idx = g.op("Gather", selected, const(2, torch.int64), axis_i=1)  # (M,)
        flat_idx = g.op("Add", g.op("Mul", batch_idx, const(num_boxes, torch.int64)), box_idx)  # (M,)
        total = g.op("Shape", g.op("Reshape", scores, const([-1], torch.int64)))  # (1,) = [B*N]
        # one spare slot at index B*N takes a dummy write, so the scatter never sees empty indices
        indices = g.op("Concat", flat_idx, total, axis_i=0)  # (M+1,)
        zeros = g.op("ConstantOfShape", g.op("Add", total, const([1], torch.int64)),
                     value_t=torch.tensor([0.0]))  # (B*N+1,)
        ones = g.op("ConstantOfShape", g.op("Shape", indices), value_t=torch.tensor([1.0]))  # (M+1,)
        mask = g.op("ScatterElements", zeros, indices, ones, axis_i=0)  # (B*N+1,)
        mask = g.op("Slice", mask, const([0], torch.int64), total, const([0], torch.int64))  # (B*N,)
        return g.op("Reshape", mask, g.op("Shape", scores))  # (B, N)


def nms_keep_mask(
    boxes: Tensor, scores: Tensor, iou_threshold: float, score_threshold: float, max_output: int
) -> Tensor:
    """Keep mask of greedy NMS per image: 1.0 for the (at most ``max_output``) survivors, else 0.0.

    Args:
        boxes: ``(B, N, 4)`` x1, y1, x2, y2 (already offset per class for class-aware NMS).
        scores: ``(B, N)``; candidates not above ``score_threshold`` are never kept.
    """
    # N is static (the candidate count never depends on the input) and passed as a constant,
    # because the exporter leaves the symbolic no static size once the batch axis is dynamic
    return _NMSKeepMask.apply(
        boxes, scores, float(iou_threshold), float(score_threshold), int(max_output), int(scores.shape[1])
    )


def class_offset_boxes(boxes: Tensor, labels: Tensor) -> Tensor:
    """mmcv ``batched_nms``'s trick: shift each class by ``label * (max_coord + 1)`` so classes never overlap.

    ``boxes`` ``(B, N, 4)``, ``labels`` ``(B, N)`` (any dtype); the maximum is per image, as in mmcv.
    """
    max_coord = boxes.flatten(1).amax(dim=1).view(-1, 1, 1)  # (B, 1, 1)
    return boxes + labels.to(boxes.dtype).unsqueeze(-1) * (max_coord + 1.0)  # (B, N, 4)


def gather_rows(x: Tensor, index: Tensor) -> Tensor:
    """``x[b, index[b, k]]`` for ``x`` ``(B, N, D)`` and ``index`` ``(B, K)`` -> ``(B, K, D)``."""
    return torch.gather(x, 1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def top_k_rows(scores: Tensor, keep: Tensor, k: int) -> tuple[Tensor, Tensor, Tensor]:
    """Indices of the best kept candidates, with a static K (padded when fewer than K candidates exist).

    Args:
        scores: ``(B, N)`` scores in ``[0, 1]``.
        keep: ``(B, N)`` 1.0 for candidates to keep (e.g. from :func:`nms_keep_mask`).
        k: rows wanted.

    Returns:
        ``(index, top_scores, valid)`` each ``(B, k)``: kept candidates come first in
        descending score; ``valid`` is 1.0 on kept rows and 0.0 on filler rows, whose
        ``top_scores`` are 0. Padded rows (when ``N < k``) point at candidate 0.
    """
    kept = keep > 0
    ranked = torch.where(kept, scores, torch.full_like(scores, INVALID_SCORE))  # (B, N)
    top, index = ranked.topk(min(k, scores.shape[1]), dim=1)  # (B, k')
    valid = torch.gather(keep, 1, index)  # (B, k')
    top = torch.where(valid > 0, top, torch.zeros_like(top))
    if k > scores.shape[1]:
        pad = k - scores.shape[1]
        top, valid, index = F.pad(top, (0, pad)), F.pad(valid, (0, pad)), F.pad(index, (0, pad))
    return index, top, valid
