"""Export-friendly test-time heads: mmdet's RetinaNet and Faster R-CNN post-processing as static graphs.

mmdet's ``predict`` paths filter with boolean masks, loop over images and classes,
and assign RoI features with in-place indexing: data-dependent shapes that the
tracer either bakes in as constants or exports as ``NonZero``/``ScatterND``. These
modules compute the same detections with fixed output shapes:

* per-level top-k of the candidates (``nms_pre``) with ``TopK``;
* delta decoding exactly as ``DeltaXYWHBBoxCoder`` (same means/stds, ratio clip,
  clipping to the input size); the anchors for the static input size are buffers;
* filtering (score threshold, ``min_bbox_size``, padded proposals) as masks, never
  as shape changes;
* NMS and the final fixed-size selection from :mod:`tsmdet.deploy.nms`;
* RoIAlign as the standard ONNX ``RoiAlign`` (``torchvision.ops.roi_align``; opset >= 16
  exports ``aligned=True`` as ``coordinate_transformation_mode='half_pixel'``, mmcv's
  semantics), each RoI pooled on the one level ``SingleRoIExtractor.map_roi_levels`` picks
  (:mod:`tsmdet.deploy.roi_extract`: per-level sizes are dynamic, the pooled ``(R, C, h, w)``
  is static).

They wrap the mmdet head modules themselves (same parameters) and take plain values
for everything else; ``tsmdet.deploy.export`` reads those from the mmdet model.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from .roi_extract import extract_by_level

from .nms import INVALID_SCORE, class_offset_boxes, gather_rows, nms_keep_mask, top_k_rows

Detections = tuple[Tensor, Tensor, Tensor, Tensor]  # boxes (B, K, 4), scores (B, K), labels, num_dets


@dataclass(frozen=True)
class DeltaCoder:
    """The test-time half of mmdet's ``DeltaXYWHBBoxCoder`` (``delta2bbox``), for any leading shape.

    Kept instead of calling mmdet's ``delta2bbox``: that one flattens to ``(N, 4)`` and clips
    with in-place ``clamp_`` on strided slices, which the tracer exports as wrong constants
    or ``ScatterND``; this one is out-of-place and broadcasts. ``tests/test_delta_coder.py``
    checks it against mmdet's function (means/stds, ratio clip, clipping, per class).
    """

    means: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    stds: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    clip_border: bool = True
    wh_ratio_clip: float = 16 / 1000

    def decode(self, priors: Tensor, deltas: Tensor, image_hw: tuple[int, int]) -> Tensor:
        """``priors`` and ``deltas`` ``(..., 4)`` -> boxes ``(..., 4)`` x1, y1, x2, y2 in input pixels."""
        d = deltas * deltas.new_tensor(self.stds) + deltas.new_tensor(self.means)  # (..., 4)
        pxy = (priors[..., :2] + priors[..., 2:]) * 0.5
        pwh = priors[..., 2:] - priors[..., :2]
        max_ratio = abs(math.log(self.wh_ratio_clip))
        gxy = pxy + pwh * d[..., :2]
        gwh = pwh * d[..., 2:].clamp(min=-max_ratio, max=max_ratio).exp()
        boxes = torch.cat([gxy - gwh * 0.5, gxy + gwh * 0.5], dim=-1)  # (..., 4)
        if self.clip_border:
            h, w = image_hw
            boxes = torch.min(boxes.clamp(min=0), boxes.new_tensor([w, h, w, h]))
        return boxes


def class_probs(logits: Tensor, use_sigmoid: bool) -> Tensor:
    """Foreground class probabilities ``(..., C)``; a softmax head's last column is background."""
    return logits.sigmoid() if use_sigmoid else logits.softmax(-1)[..., :-1]


def mask_small_boxes(boxes: Tensor, scores: Tensor, min_bbox_size: float) -> Tensor:
    """mmdet's ``min_bbox_size`` filter as a mask: scores of boxes not larger than it become invalid."""
    if min_bbox_size < 0:
        return scores
    wh = boxes[..., 2:] - boxes[..., :2]  # (B, N, 2)
    large = (wh[..., 0] > min_bbox_size) & (wh[..., 1] > min_bbox_size)
    return torch.where(large, scores, torch.full_like(scores, INVALID_SCORE))


def select_detections(
    boxes: Tensor, scores: Tensor, labels: Tensor, iou_thr: float, score_thr: float, max_det: int,
    class_agnostic: bool = False,
) -> Detections:
    """Class-aware NMS and the fixed-size output of the graph contract (filler rows all zero)."""
    nms_boxes = boxes if class_agnostic else class_offset_boxes(boxes, labels)
    keep = nms_keep_mask(nms_boxes, scores, iou_thr, score_thr, max_det)  # (B, N)
    index, top, valid = top_k_rows(scores, keep, max_det)  # (B, K) each
    out_boxes = gather_rows(boxes, index) * valid.unsqueeze(-1)  # (B, K, 4)
    out_labels = torch.where(valid > 0, torch.gather(labels, 1, index), torch.zeros_like(index))
    return out_boxes, top, out_labels.to(torch.int32), valid.sum(dim=1).to(torch.int32)


class DenseCandidates(nn.Module):
    """Per-level ``nms_pre`` best (anchor, class) pairs of an anchor head, decoded to boxes.

    Mirrors ``BaseDenseHead._predict_by_feat_single`` (RetinaNet) and ``RPNHead``'s:
    the top-k of the flattened (anchor, class) scores of each level, then decoding.
    mmdet keeps the top-k of the candidates above ``score_thr``; keeping the top-k of
    all and letting NMS drop those not above it selects the same boxes.
    """

    def __init__(
        self, head: nn.Module, anchors: Sequence[Tensor], image_hw: tuple[int, int], coder: DeltaCoder,
        num_classes: int, use_sigmoid: bool, nms_pre: int, min_bbox_size: float,
    ) -> None:
        super().__init__()
        if nms_pre <= 0:
            raise ValueError("nms_pre must be > 0: a bounded candidate count per level keeps it static")
        self.head = head
        for level, level_anchors in enumerate(anchors):
            self.register_buffer(f"anchors_{level}", level_anchors, persistent=False)  # (H_l*W_l*A, 4)
        self.image_hw = image_hw
        self.coder = coder
        self.num_classes = num_classes
        self.use_sigmoid = use_sigmoid
        self.cls_out_channels = num_classes if use_sigmoid else num_classes + 1  # softmax adds background
        self.nms_pre = nms_pre
        self.min_bbox_size = min_bbox_size

    def forward(self, feats: Sequence[Tensor]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Returns ``boxes (B, M, 4)``, ``scores (B, M)``, ``labels (B, M)``, ``levels (B, M)``."""
        cls_scores, bbox_preds = self.head(feats)  # lists of (B, A*C', H, W), (B, A*4, H, W)
        boxes, scores, labels, levels = [], [], [], []
        for level, (cls, reg) in enumerate(zip(cls_scores, bbox_preds)):
            batch = cls.shape[0]
            logits = cls.permute(0, 2, 3, 1).reshape(batch, -1, self.cls_out_channels)  # (B, H*W*A, C')
            probs = class_probs(logits, self.use_sigmoid).flatten(1)  # (B, H*W*A*C)
            top, index = probs.topk(min(self.nms_pre, probs.shape[1]), dim=1)  # (B, k)
            # trunc == floor for index >= 0, and exports as one Div (floor adds sign fix-ups)
            anchor_idx = torch.div(index, self.num_classes, rounding_mode="trunc")
            deltas = gather_rows(reg.permute(0, 2, 3, 1).reshape(batch, -1, 4), anchor_idx)  # (B, k, 4)
            priors = getattr(self, f"anchors_{level}")[anchor_idx]  # (B, k, 4)
            boxes.append(self.coder.decode(priors, deltas, self.image_hw))
            scores.append(top)
            labels.append(index - anchor_idx * self.num_classes)
            levels.append(torch.full_like(index, level))
        boxes_all = torch.cat(boxes, dim=1)  # (B, M, 4)
        scores_all = mask_small_boxes(boxes_all, torch.cat(scores, dim=1), self.min_bbox_size)
        return boxes_all, scores_all, torch.cat(labels, dim=1), torch.cat(levels, dim=1)


class OneStageDeployHead(nn.Module):
    """RetinaNet-style anchor head: candidates, class-aware NMS, top ``max_det``."""

    def __init__(self, candidates: DenseCandidates, score_thr: float, nms_iou: float, max_det: int,
                 class_agnostic: bool = False) -> None:
        super().__init__()
        self.candidates = candidates
        self.score_thr, self.nms_iou, self.max_det = score_thr, nms_iou, max_det
        self.class_agnostic = class_agnostic

    def forward(self, feats: Sequence[Tensor]) -> Detections:
        boxes, scores, labels, _ = self.candidates(feats)
        return select_detections(boxes, scores, labels, self.nms_iou, self.score_thr, self.max_det,
                                 self.class_agnostic)


class RPNDeployHead(nn.Module):
    """RPN proposals: per-level NMS (mmdet's ``batched_nms`` over level ids), exactly ``num_proposals`` rows.

    Returns ``proposals (B, P, 4)`` and ``valid (B, P)``; when fewer than P survive,
    the rest are zero boxes with ``valid`` 0 (mmdet would return fewer proposals).
    """

    def __init__(self, candidates: DenseCandidates, nms_iou: float, num_proposals: int) -> None:
        super().__init__()
        self.candidates = candidates
        self.nms_iou = nms_iou
        self.num_proposals = num_proposals

    def forward(self, feats: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        boxes, scores, _, levels = self.candidates(feats)
        # mmdet's RPN has no score threshold: every real score passes it, masked ones do not
        keep = nms_keep_mask(
            class_offset_boxes(boxes, levels), scores, self.nms_iou, INVALID_SCORE / 2, self.num_proposals
        )
        index, _, valid = top_k_rows(scores, keep, self.num_proposals)  # (B, P)
        return gather_rows(boxes, index) * valid.unsqueeze(-1), valid


class RoIDeployHead(nn.Module):
    """``StandardRoIHead`` + ``SingleRoIExtractor`` (RoIAlign) + a bbox head with per-class regression."""

    def __init__(
        self, bbox_head: nn.Module, featmap_strides: Sequence[int], output_size: tuple[int, int],
        sampling_ratio: int, finest_scale: float, image_hw: tuple[int, int], coder: DeltaCoder,
        num_classes: int, reg_class_agnostic: bool, score_thr: float, nms_iou: float, max_det: int,
        class_agnostic_nms: bool = False,
    ) -> None:
        super().__init__()
        self.bbox_head = bbox_head
        self.featmap_strides = tuple(featmap_strides)
        self.output_size = output_size
        self.sampling_ratio = sampling_ratio
        self.finest_scale = finest_scale
        self.image_hw = image_hw
        self.coder = coder
        self.num_classes = num_classes
        self.reg_class_agnostic = reg_class_agnostic
        self.score_thr, self.nms_iou, self.max_det = score_thr, nms_iou, max_det
        self.class_agnostic_nms = class_agnostic_nms
        self.register_buffer("class_ids", torch.arange(num_classes), persistent=False)  # (C,)

    def extract(self, feats: Sequence[Tensor], rois: Tensor) -> Tensor:
        """RoIAlign on the level ``map_roi_levels`` picks: ``rois (R, 5)`` -> ``(R, C, h, w)``.

        Each level pools only its own RoIs (:func:`~tsmdet.deploy.roi_extract.extract_by_level`):
        no RoiAlign over other levels' boxes, no level merge, an empty level costs nothing.
        """
        return extract_by_level(feats, rois, self.featmap_strides, self.output_size, self.sampling_ratio,
                                self.finest_scale)

    def forward(self, feats: Sequence[Tensor], proposals: Tensor, valid: Tensor) -> Detections:
        batch, num_rois = valid.shape
        image_ids = torch.ones_like(valid).cumsum(dim=0) - 1  # (B, P): b on row b, without a Range op
        rois = torch.cat([image_ids.unsqueeze(-1), proposals], dim=-1).flatten(0, 1)  # (B*P, 5)
        cls_score, bbox_pred = self.bbox_head(self.extract(feats, rois))  # (B*P, C+1), (B*P, C'*4)
        probs = cls_score.softmax(-1)[:, :-1].reshape(batch, num_rois, self.num_classes)  # (B, P, C)
        deltas = bbox_pred.reshape(batch, num_rois, -1, 4)  # (B, P, C', 4), C' = 1 or C
        boxes = self.coder.decode(proposals.unsqueeze(2), deltas, self.image_hw)  # (B, P, C', 4)
        if self.reg_class_agnostic:
            boxes = boxes.expand(-1, -1, self.num_classes, -1)
        scores = torch.where(valid.unsqueeze(-1) > 0, probs, torch.full_like(probs, INVALID_SCORE))
        labels = self.class_ids.view(1, 1, -1).expand_as(probs)  # (B, P, C)
        return select_detections(
            boxes.reshape(batch, -1, 4), scores.reshape(batch, -1), labels.reshape(batch, -1),
            self.nms_iou, self.score_thr, self.max_det, self.class_agnostic_nms,
        )


class TwoStageDeployHead(nn.Module):
    """Faster R-CNN: RPN proposals on all neck levels, RoI head on the extractor's levels."""

    def __init__(self, rpn: RPNDeployHead, roi: RoIDeployHead) -> None:
        super().__init__()
        self.rpn = rpn
        self.roi = roi

    def forward(self, feats: Sequence[Tensor]) -> Detections:
        proposals, valid = self.rpn(feats)
        return self.roi(feats[: len(self.roi.featmap_strides)], proposals, valid)
