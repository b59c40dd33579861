"""Matching detections to ground truth (the ILSVRC devkit's greedy rule) and FGFA's per-bucket weights.

:func:`match_to_gt` runs once over all detections; :func:`split_weights` then turns the
matches into TP / FP weights for any subset of the motion buckets, so the devkit mAP and
each motion bucket's AP share one matching. A different matching convention (e.g. COCO's
crowd handling) belongs next to :func:`match_to_gt` as a function of its own.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .conventions import box_iou_px
from .data import Boxes

PIXEL_TOLERANCE = 10.0  # ILSVRC devkit: small boxes get IoU threshold wh / ((w+10)(h+10))
DEFAULT_IOU_THR = 0.5
_CHUNK_DETS = 1_000_000  # bounds the memory of the det x GT pair arrays


def devkit_iou_threshold(wh: np.ndarray, pixel_offset: float = 0.0) -> np.ndarray:
    """Per-GT IoU threshold of the ILSVRC devkit for (N, 2) box sizes: looser for small boxes.

    ``pixel_offset`` is added to w and h first (1 under fgfa: the devkit's ``gt_w = xmax-xmin+1``).
    """
    w, h = wh[:, 0] + pixel_offset, wh[:, 1] + pixel_offset
    return np.minimum(DEFAULT_IOU_THR, w * h / ((w + PIXEL_TOLERANCE) * (h + PIXEL_TOLERANCE)))


@dataclass(frozen=True)
class MatchResult:
    """Output of :func:`match_to_gt`, shared by the devkit mAP and every motion split.

    ``matched_gt``: GT index per detection, -1 if unmatched. ``best_iou_by_group``: per
    detection, the best IoU with any GT (any class) of its image in each motion group (see
    :func:`~.motion.motion_groups`), -1 where the image has no GT in that group (FGFA weights
    unmatched detections by it).
    """

    matched_gt: np.ndarray  # (D,) int64
    best_iou_by_group: np.ndarray  # (D, num_groups) float64


def match_to_gt(gt: Boxes, gt_thr: np.ndarray, gt_group: np.ndarray, det: Boxes,
                det_score: np.ndarray, num_groups: int = 3, pixel_offset: float = 0.0) -> MatchResult:
    """Greedy devkit matching of all detections, processed in chunks of whole images.

    The matching never looks at the split, so it runs once; each split then only reweights
    (see :func:`split_weights`). ``gt_group`` is each GT's motion group (< ``num_groups``);
    IoUs use ``pixel_offset`` (1 under fgfa).
    """
    gt_order = np.lexsort((gt.cls, gt.img))  # stable: json order within (image, class)
    det_order = np.lexsort((-det_score, det.cls, det.img))
    matched = np.full(len(det_score), -1, dtype=np.int64)
    best = np.full((len(det_score), num_groups), -1.0)
    gt_img_sorted = gt.img[gt_order]
    det_img_sorted = det.img[det_order]
    start = 0
    while start < len(det_order):
        # Cut at an image boundary so that no (image, class) group straddles two chunks.
        stop = min(start + _CHUNK_DETS, len(det_order))
        if stop < len(det_order):
            stop = int(np.searchsorted(det_img_sorted, det_img_sorted[stop - 1], side="right"))
        rows = det_order[start:stop]
        m, bb = _match_chunk(gt, gt_order, gt_img_sorted, gt_thr, gt_group, det, rows, num_groups,
                             pixel_offset)
        matched[rows] = m
        best[rows] = bb
        start = stop
    return MatchResult(matched, best)


def _match_chunk(gt: Boxes, gt_order: np.ndarray, gt_img_sorted: np.ndarray, gt_thr: np.ndarray,
                 gt_group: np.ndarray, det: Boxes, rows: np.ndarray, num_groups: int,
                 pixel_offset: float) -> tuple[np.ndarray, np.ndarray]:
    """Match detections ``rows`` (sorted by image, class, descending score) to the GT.

    Every detection is paired with every GT of its image (D_chunk x GT-per-image pairs).
    Greedy score-order matching is sequential only within one (image, class) group, so it
    runs in rounds: round r lets the r-th best detection of every group pick its best still
    unmatched GT at once; the number of rounds is the largest group size, not the det count.
    """
    lo = np.searchsorted(gt_img_sorted, det.img[rows], side="left")
    n_pair = np.searchsorted(gt_img_sorted, det.img[rows], side="right") - lo
    pair_det = np.repeat(np.arange(len(rows)), n_pair)  # local det index
    offsets = np.arange(len(pair_det)) - np.repeat(np.cumsum(n_pair) - n_pair, n_pair)
    pair_gt = gt_order[np.repeat(lo, n_pair) + offsets]  # global GT index
    iou = box_iou_px(det.xyxy[rows][pair_det], gt.xyxy[pair_gt], pixel_offset)

    best = np.full((len(rows), num_groups), -1.0)
    np.maximum.at(best, (pair_det, gt_group[pair_gt]), iou)

    # Rank of each detection inside its (image, class) group; rows are sorted by group then score.
    key = det.img[rows] * (int(det.cls.max(initial=0)) + 1) + det.cls[rows]
    rank = np.arange(len(rows)) - np.searchsorted(key, key, side="left")
    ok = (gt.cls[pair_gt] == det.cls[rows][pair_det]) & (iou >= gt_thr[pair_gt])
    pair_det, pair_gt, iou = pair_det[ok], pair_gt[ok], iou[ok]
    pair_rank = rank[pair_det]
    # Sort candidates by round, then det, then IoU descending, then GT order (devkit tie rule).
    by = np.lexsort((pair_gt, -iou, pair_det, pair_rank))
    pair_det, pair_gt, pair_rank = pair_det[by], pair_gt[by], pair_rank[by]

    matched = np.full(len(rows), -1, dtype=np.int64)
    taken = np.zeros(len(gt.img), dtype=bool)
    bounds = np.searchsorted(pair_rank, np.arange(int(pair_rank.max(initial=-1)) + 2))
    for r0, r1 in zip(bounds[:-1], bounds[1:]):
        cand_det, cand_gt = pair_det[r0:r1], pair_gt[r0:r1]
        free = ~taken[cand_gt]
        cand_det, cand_gt = cand_det[free], cand_gt[free]
        dets_here, first = np.unique(cand_det, return_index=True)  # best free GT per det
        matched[dets_here] = cand_gt[first]
        taken[cand_gt[first]] = True
    return matched, best


def split_weights(match: MatchResult, gt_group: np.ndarray, in_split: np.ndarray, det_img: np.ndarray,
                  gt_counts: np.ndarray, empty_weight: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """TP / FP weight per detection for a split given as a (num_groups,) bool mask over the motion groups.

    Follows FGFA's released evaluation so that slow/medium/fast numbers compare with the
    literature; with every bucket in the split it is exactly the devkit (tp, fp in {0, 1}).

    * matched to a GT in the split: TP; matched to an ignored GT: neither TP nor FP.
    * unmatched: FP 1 if its best IoU (any class) with in-split GT of its image beats that
      with ignored GT, 0 if the reverse. On a tie (usually: it overlaps no GT at all) FGFA
      uses the fraction of the image's GT that is *ignored*, or, in an image without GT, the
      fraction of all GT that is in the split. (The first fraction looks inverted, but the
      published numbers were computed with it, so it is kept.)

    ``gt_counts`` is (num_images, num_groups): GT boxes per image and motion group.
    ``empty_weight`` overrides the fraction used in an image without GT (the fgfa convention
    counts frames without GT in it, see :mod:`.conventions`).
    """
    matched = match.matched_gt
    is_matched = matched >= 0
    tp = np.zeros(len(matched))
    tp[is_matched] = in_split[gt_group[matched[is_matched]]]

    best = match.best_iou_by_group
    best_in = np.where(in_split, best, -1.0).max(axis=1)
    best_out = np.where(in_split, -1.0, best).max(axis=1)
    n_img_gt = gt_counts.sum(axis=1)[det_img]
    n_img_in = gt_counts[:, in_split].sum(axis=1)[det_img]
    if empty_weight is None:
        empty_weight = float(gt_counts[:, in_split].sum()) / max(int(gt_counts.sum()), 1)
    tie = np.where(n_img_gt > 0, (n_img_gt - n_img_in) / np.maximum(n_img_gt, 1), empty_weight)
    fp_unmatched = np.where(best_in > best_out, 1.0, np.where(best_out > best_in, 0.0, tie))
    return tp, np.where(is_matched, 0.0, fp_unmatched)
