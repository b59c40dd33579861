"""ImageNet VID detection metrics: COCO AP, ILSVRC devkit mAP and the FGFA motion-speed split.

Standalone on purpose (numpy + pycocotools only, no OpenMMLab import) so that detections
written by any engine (torch, onnxruntime, TensorRT) can be scored on a machine without
mmdet. ``tsmdet.evaluation.vid_mmdet_metric`` wraps this module for the mmengine loop.

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
  Boxes use continuous coordinates (``w = xmax - xmin``, as the project's json stores
  them), not the devkit's ``+1`` pixel convention; this moves IoUs of tiny boxes slightly.
* ``ap50_slow|medium|fast``: the FGFA protocol (Zhu et al., ICCV 2017, released
  ``imagenet_vid_eval_motion.py``), i.e. the devkit matcher and thresholds with GT outside
  the split ignored. See :func:`split_weights` for how unmatched detections are weighted.
  A GT whose instance has no other box within +-10 frames gets motion IoU 0 (fast): FGFA
  stores no value for such objects and its evaluation code reads a missing value as 0.
* A class without GT (overall or inside a split) gets ``None`` and is left out of the mean.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

PIXEL_TOLERANCE = 10.0  # ILSVRC devkit: small boxes get IoU threshold wh / ((w+10)(h+10))
DEFAULT_IOU_THR = 0.5
MOTION_WINDOW = 10  # FGFA: neighbours within +-10 frames
SLOW_MIN_IOU = 0.9  # motion IoU > 0.9 -> slow
FAST_MAX_IOU = 0.7  # motion IoU < 0.7 -> fast; in between (inclusive) -> medium
SPLITS: tuple[str, ...] = ("slow", "medium", "fast")  # bucket index = position
_CHUNK_DETS = 1_000_000  # bounds the memory of the det x GT pair arrays


@dataclass(frozen=True)
class _Boxes:
    """Column arrays for a set of boxes; ``img`` is a dense image index, ``cls`` a dense class index."""

    img: np.ndarray  # (N,) int64
    cls: np.ndarray  # (N,) int64
    xyxy: np.ndarray  # (N, 4) float64


def paired_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of row i of ``a`` with row i of ``b`` (both (N, 4) xyxy); 0 where they do not overlap."""
    iw = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0.0, None)
    ih = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0.0, None)
    inter = iw * ih
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def devkit_iou_threshold(wh: np.ndarray) -> np.ndarray:
    """Per-GT IoU threshold of the ILSVRC devkit for (N, 2) box sizes: looser for small boxes."""
    w, h = wh[:, 0], wh[:, 1]
    return np.minimum(DEFAULT_IOU_THR, w * h / ((w + PIXEL_TOLERANCE) * (h + PIXEL_TOLERANCE)))


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
    """Split index per GT (0 slow, 1 medium, 2 fast), ordered as :data:`SPLITS`."""
    return np.where(miou > SLOW_MIN_IOU, 0, np.where(miou < FAST_MAX_IOU, 2, 1)).astype(np.int64)


@dataclass(frozen=True)
class MatchResult:
    """Output of :func:`match_detections`, shared by the devkit mAP and every motion split.

    ``matched_gt``: GT index per detection, -1 if unmatched. ``best_iou_by_bucket``: per
    detection, the best IoU with any GT (any class) of its image in each motion bucket,
    -1 where the image has no GT in that bucket (FGFA weights unmatched detections by it).
    """

    matched_gt: np.ndarray  # (D,) int64
    best_iou_by_bucket: np.ndarray  # (D, 3) float64


def match_detections(gt: _Boxes, gt_thr: np.ndarray, gt_bucket: np.ndarray, det: _Boxes,
                     det_score: np.ndarray) -> MatchResult:
    """Greedy devkit matching of all detections, processed in chunks of whole images.

    The matching never looks at the split, so it runs once; each split then only reweights
    (see :func:`split_weights`).
    """
    gt_order = np.lexsort((gt.cls, gt.img))  # stable: json order within (image, class)
    det_order = np.lexsort((-det_score, det.cls, det.img))
    matched = np.full(len(det_score), -1, dtype=np.int64)
    best = np.full((len(det_score), len(SPLITS)), -1.0)
    gt_img_sorted = gt.img[gt_order]
    det_img_sorted = det.img[det_order]
    start = 0
    while start < len(det_order):
        # Cut at an image boundary so that no (image, class) group straddles two chunks.
        stop = min(start + _CHUNK_DETS, len(det_order))
        if stop < len(det_order):
            stop = int(np.searchsorted(det_img_sorted, det_img_sorted[stop - 1], side="right"))
        rows = det_order[start:stop]
        m, bb = _match_chunk(gt, gt_order, gt_img_sorted, gt_thr, gt_bucket, det, rows)
        matched[rows] = m
        best[rows] = bb
        start = stop
    return MatchResult(matched, best)


def _match_chunk(gt: _Boxes, gt_order: np.ndarray, gt_img_sorted: np.ndarray, gt_thr: np.ndarray,
                 gt_bucket: np.ndarray, det: _Boxes, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    iou = paired_iou(det.xyxy[rows][pair_det], gt.xyxy[pair_gt])

    best = np.full((len(rows), len(SPLITS)), -1.0)
    np.maximum.at(best, (pair_det, gt_bucket[pair_gt]), iou)

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


def split_weights(match: MatchResult, gt_bucket: np.ndarray, in_split: np.ndarray, det_img: np.ndarray,
                  gt_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TP / FP weight per detection for a split given as a (3,) bool mask over the motion buckets.

    Follows FGFA's released evaluation so that slow/medium/fast numbers compare with the
    literature; with every bucket in the split it is exactly the devkit (tp, fp in {0, 1}).

    * matched to a GT in the split: TP; matched to an ignored GT: neither TP nor FP.
    * unmatched: FP 1 if its best IoU (any class) with in-split GT of its image beats that
      with ignored GT, 0 if the reverse. On a tie (usually: it overlaps no GT at all) FGFA
      uses the fraction of the image's GT that is *ignored*, or, in an image without GT, the
      fraction of all GT that is in the split. (The first fraction looks inverted, but the
      published numbers were computed with it, so it is kept.)

    ``gt_counts`` is (num_images, 3): GT boxes per image and motion bucket.
    """
    matched = match.matched_gt
    is_matched = matched >= 0
    tp = np.zeros(len(matched))
    tp[is_matched] = in_split[gt_bucket[matched[is_matched]]]

    best = match.best_iou_by_bucket
    best_in = np.where(in_split, best, -1.0).max(axis=1)
    best_out = np.where(in_split, -1.0, best).max(axis=1)
    n_img_gt = gt_counts.sum(axis=1)[det_img]
    n_img_in = gt_counts[:, in_split].sum(axis=1)[det_img]
    empty_weight = float(gt_counts[:, in_split].sum()) / max(int(gt_counts.sum()), 1)
    tie = np.where(n_img_gt > 0, (n_img_gt - n_img_in) / np.maximum(n_img_gt, 1), empty_weight)
    fp_unmatched = np.where(best_in > best_out, 1.0, np.where(best_out > best_in, 0.0, tie))
    return tp, np.where(is_matched, 0.0, fp_unmatched)


def voc_ap(tp: np.ndarray, fp: np.ndarray, num_gt: int) -> float:
    """All-point interpolated VOC / ILSVRC AP of detections sorted by descending score.

    ``tp`` / ``fp`` are per-detection weights (a detection on an ignored GT has both 0).
    """
    tp_cum = np.cumsum(tp)
    fp_cum = np.cumsum(fp)
    recall = tp_cum / num_gt
    precision = tp_cum / np.maximum(tp_cum + fp_cum, np.finfo(np.float64).eps)
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]  # precision envelope
    step = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[step + 1] - mrec[step]) * mpre[step + 1]))


def per_class_ap(det_cls: np.ndarray, det_score: np.ndarray, tp: np.ndarray, fp: np.ndarray,
                 gt_per_class: np.ndarray) -> list[float | None]:
    """:func:`voc_ap` for each class index; ``None`` for a class without GT (excluded from means)."""
    order = np.lexsort((-det_score, det_cls))  # stable: ties keep the input order
    bounds = np.searchsorted(det_cls[order], np.arange(len(gt_per_class) + 1))
    aps: list[float | None] = []
    for c, num_gt in enumerate(gt_per_class):
        rows = order[bounds[c]:bounds[c + 1]]
        aps.append(voc_ap(tp[rows], fp[rows], int(num_gt)) if num_gt > 0 else None)
    return aps


def mean_present(values: Sequence[float | None]) -> float | None:
    """Mean over the non-``None`` values (classes with GT); ``None`` if there are none."""
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


@dataclass(frozen=True)
class _Dataset:
    """Ground truth and detections as column arrays, restricted to the evaluated classes."""

    cat_ids: list[int]  # evaluated category ids, json order; dense class index = position
    cat_names: list[str]
    num_images: int
    gt: _Boxes
    gt_wh: np.ndarray  # (G, 2)
    gt_video: np.ndarray
    gt_instance: np.ndarray
    gt_frame: np.ndarray
    det: _Boxes
    det_score: np.ndarray
    det_records: list[dict]  # the kept detections, for pycocotools


def _select_categories(gt: dict, classes: Sequence[str] | None) -> tuple[list[int], list[str]]:
    """Category ids and names to evaluate, in json order; unknown names are an error."""
    cats = gt["categories"]
    if classes is None:
        return [c["id"] for c in cats], [c["name"] for c in cats]
    known = {c["name"] for c in cats}
    unknown = [name for name in classes if name not in known]
    if unknown:
        raise ValueError(f"classes not in the ground-truth categories: {unknown}")
    wanted = set(classes)
    kept = [c for c in cats if c["name"] in wanted]
    return [c["id"] for c in kept], [c["name"] for c in kept]


def _dense_index(sorted_ids: np.ndarray, ids: np.ndarray, what: str) -> np.ndarray:
    """Map ids to positions in ``sorted_ids``; an id that is not there is a ValueError naming it."""
    pos = np.clip(np.searchsorted(sorted_ids, ids), 0, max(len(sorted_ids) - 1, 0))
    bad = ~(sorted_ids[pos] == ids) if len(sorted_ids) else np.ones(len(ids), dtype=bool)
    if bad.any():
        examples = sorted({int(i) for i in ids[bad]})[:5]
        raise ValueError(f"{int(bad.sum())} {what} not in the ground truth, e.g. {examples}")
    return pos


def _class_index(kept_cats: np.ndarray, cat_ids: np.ndarray) -> np.ndarray:
    """Dense class index (position of the category in json order) of already validated ids."""
    by_id = np.argsort(kept_cats)
    return by_id[np.searchsorted(kept_cats[by_id], cat_ids)]


def xywh_to_xyxy(xywh: np.ndarray) -> np.ndarray:
    """(N, 4) COCO x, y, w, h boxes as x1, y1, x2, y2."""
    return np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)


def _load(gt: dict, dets: list[dict], classes: Sequence[str] | None) -> _Dataset:
    """Validate the inputs and turn them into column arrays (one pass over the dicts)."""
    cat_ids, cat_names = _select_categories(gt, classes)
    all_cat_ids = np.array(sorted(c["id"] for c in gt["categories"]), dtype=np.int64)
    kept_cats = np.array(cat_ids, dtype=np.int64)
    img_ids = np.array(sorted(im["id"] for im in gt["images"]), dtype=np.int64)
    img_meta = {im["id"]: im for im in gt["images"]}

    anns = gt["annotations"]
    ann_cat = np.array([a["category_id"] for a in anns], dtype=np.int64)
    _dense_index(all_cat_ids, ann_cat, "annotation category ids")
    keep = np.isin(ann_cat, kept_cats)
    anns = [a for a, k in zip(anns, keep) if k]
    ann_img_id = np.array([a["image_id"] for a in anns], dtype=np.int64)
    gt_xywh = np.array([a["bbox"] for a in anns], dtype=np.float64).reshape(-1, 4)
    gt_img = _dense_index(img_ids, ann_img_id, "annotation image ids")
    gt_cls = _class_index(kept_cats, ann_cat[keep])

    det_img, det_cls, det_xywh, det_score, records = _parse_dets(dets, img_ids, all_cat_ids, kept_cats)
    return _Dataset(
        cat_ids=cat_ids, cat_names=cat_names, num_images=len(img_ids),
        gt=_Boxes(gt_img, gt_cls, xywh_to_xyxy(gt_xywh)), gt_wh=gt_xywh[:, 2:],
        gt_video=np.array([img_meta[i]["video_id"] for i in ann_img_id], dtype=np.int64),
        gt_instance=np.array([a["instance_id"] for a in anns], dtype=np.int64),
        gt_frame=np.array([img_meta[i]["frame_id"] for i in ann_img_id], dtype=np.int64),
        det=_Boxes(det_img, det_cls, xywh_to_xyxy(det_xywh)), det_score=det_score, det_records=records,
    )


def _parse_dets(dets: list[dict], img_ids: np.ndarray, all_cat_ids: np.ndarray, kept_cats: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[dict]]:
    """Detections as arrays; ids unknown to the ground truth are errors, other classes are dropped."""
    try:
        det_img_id = np.array([d["image_id"] for d in dets], dtype=np.int64)
        det_cat = np.array([d["category_id"] for d in dets], dtype=np.int64)
        det_xywh = np.array([d["bbox"] for d in dets], dtype=np.float64).reshape(-1, 4)
        det_score = np.array([d["score"] for d in dets], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError("detections must be dicts with image_id, category_id, "
                         f"bbox [x, y, w, h] and score: {err!r}") from err
    det_img = _dense_index(img_ids, det_img_id, "detection image ids")
    _dense_index(all_cat_ids, det_cat, "detection category ids")
    keep = np.isin(det_cat, kept_cats)
    records = [dict(d) for d, k in zip(dets, keep) if k]
    return det_img[keep], _class_index(kept_cats, det_cat[keep]), det_xywh[keep], det_score[keep], records


def coco_ap(gt: dict, det_records: list[dict], cat_ids: list[int]
            ) -> tuple[list[float | None], list[float | None]]:
    """Per-class COCO AP@[.5:.95] and AP50 (pycocotools, 101-point); ``None`` for a class without GT.

    pycocotools is imported here so that importing this module stays cheap.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        if not det_records:  # loadRes cannot take an empty list
            has_gt = [bool(coco_gt.getAnnIds(catIds=[c])) for c in cat_ids]
            return [0.0 if g else None for g in has_gt], [0.0 if g else None for g in has_gt]
        evaluator = COCOeval(coco_gt, coco_gt.loadRes(det_records), "bbox")
        evaluator.params.catIds = list(cat_ids)
        # Only the "all" area range and maxDets=100 feed AP / AP50: 4x fewer evaluateImg calls.
        evaluator.params.areaRng = [[0.0, 1e10]]
        evaluator.params.areaRngLbl = ["all"]
        evaluator.params.maxDets = [100]
        evaluator.evaluate()
        evaluator.accumulate()
    precision = evaluator.eval["precision"][:, :, :, 0, 0]  # (iou thr, recall, class); -1 = no GT
    iou50 = int(np.argmin(np.abs(evaluator.params.iouThrs - 0.5)))
    ap: list[float | None] = []
    ap50: list[float | None] = []
    for k in range(len(cat_ids)):
        has_gt = bool((precision[:, :, k] > -1).any())
        ap.append(float(precision[:, :, k].mean()) if has_gt else None)
        ap50.append(float(precision[iou50, :, k].mean()) if has_gt else None)
    return ap, ap50


def evaluate_vid(gt: dict, dets: list[dict], classes: Sequence[str] | None = None) -> dict[str, Any]:
    """Score COCO-format detections on a CocoVID ground truth: COCO AP, devkit mAP, motion split.

    Args:
        gt: CocoVID-style dict (see module docstring).
        dets: COCO result dicts; ids must exist in ``gt`` (ValueError otherwise).
        classes: category names to evaluate (default: all); detections of other classes
            are dropped.

    Returns:
        A JSON-serialisable dict: ``ap``, ``ap50``, ``devkit_map``, ``ap50_slow``,
        ``ap50_medium``, ``ap50_fast`` (``None`` where no class has GT), ``per_class``
        (name -> ``ap``, ``ap50``, ``devkit_ap``, ``ap50_<split>``, ``num_gt``) and the counts
        ``num_images``, ``num_gt``, ``num_gt_<split>``, ``num_dets``.
    """
    data = _load(gt, dets, classes)
    num_classes = len(data.cat_ids)
    gt_thr = devkit_iou_threshold(data.gt_wh)
    bucket = motion_bucket(compute_motion_iou(data.gt_video, data.gt_instance, data.gt_frame, data.gt.xyxy))
    match = match_detections(data.gt, gt_thr, bucket, data.det, data.det_score)
    gt_counts = np.zeros((data.num_images, len(SPLITS)), dtype=np.int64)
    np.add.at(gt_counts, (data.gt.img, bucket), 1)

    def split_ap(in_split: np.ndarray) -> list[float | None]:
        tp, fp = split_weights(match, bucket, in_split, data.det.img, gt_counts)
        in_gt = in_split[bucket]
        return per_class_ap(data.det.cls, data.det_score, tp, fp,
                            np.bincount(data.gt.cls[in_gt], minlength=num_classes))

    devkit = split_ap(np.ones(len(SPLITS), dtype=bool))
    by_split = {name: split_ap(np.arange(len(SPLITS)) == i) for i, name in enumerate(SPLITS)}
    coco, coco50 = coco_ap(gt, data.det_records, data.cat_ids)
    num_gt = np.bincount(data.gt.cls, minlength=num_classes)

    per_class = {
        name: {"ap": coco[k], "ap50": coco50[k], "devkit_ap": devkit[k],
               **{f"ap50_{s}": by_split[s][k] for s in SPLITS}, "num_gt": int(num_gt[k])}
        for k, name in enumerate(data.cat_names)
    }
    result: dict[str, Any] = {
        "ap": mean_present(coco), "ap50": mean_present(coco50), "devkit_map": mean_present(devkit),
        **{f"ap50_{s}": mean_present(by_split[s]) for s in SPLITS},
        "per_class": per_class,
        "num_images": data.num_images, "num_gt": int(len(bucket)),
        **{f"num_gt_{s}": int((bucket == i).sum()) for i, s in enumerate(SPLITS)},
        "num_dets": int(len(data.det_score)),
    }
    logger.info("VID eval: %s", format_summary(result))
    return result


def load_json(path: str | Path, what: str) -> Any:
    """Read a json file; a missing or malformed file is a ValueError that names it."""
    path = Path(path)
    try:
        with path.open() as f:
            return json.load(f)
    except FileNotFoundError as err:
        raise ValueError(f"{what} file not found: {path}") from err
    except json.JSONDecodeError as err:
        raise ValueError(f"{what} file {path} is not valid json: {err}") from err


def load_vid_gt(path: str | Path) -> dict:
    """Load a CocoVID ground-truth json and check that it has the keys the metric reads."""
    gt = load_json(path, "ground-truth")
    missing = [k for k in ("images", "annotations", "categories") if not isinstance(gt, dict) or k not in gt]
    if missing:
        raise ValueError(f"ground-truth file {path} is not a CocoVID json: missing {missing}")
    return gt


def evaluate_files(dets_path: str | Path, ann_path: str | Path,
                   classes: Sequence[str] | None = None) -> dict[str, Any]:
    """:func:`evaluate_vid` on files; every input error names the files involved."""
    gt = load_vid_gt(ann_path)
    dets = load_json(dets_path, "detections")
    if not isinstance(dets, list):
        raise ValueError(f"detections file {dets_path} must hold a json list of COCO results")
    try:
        return evaluate_vid(gt, dets, classes)
    except (ValueError, KeyError) as err:
        raise ValueError(f"evaluating {dets_path} against {ann_path}: {err}") from err


def format_summary(result: dict[str, Any]) -> str:
    """One line with the headline numbers, for logs."""
    keys = ("ap50", "ap", "devkit_map", "ap50_slow", "ap50_medium", "ap50_fast")
    parts = [f"{k}={_fmt(result[k])}" for k in keys]
    counts = f"{result['num_images']} images, {result['num_gt']} GT, {result['num_dets']} dets"
    return ", ".join(parts) + f" ({counts})"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{100.0 * value:.2f}"


_REPORT_NOTES = (
    "AP / AP50: pycocotools COCOeval (101-point interpolation). Devkit mAP: ILSVRC VID devkit, "
    "VOC all-point AP with per-GT IoU threshold min(0.5, wh/((w+10)(h+10))). Slow / medium / fast: "
    "FGFA motion split (motion IoU over +-10 frames: > 0.9 slow, < 0.7 fast), devkit matching "
    "with GT outside the split ignored. Classes without GT are n/a and left out of the means. "
    "Numbers are in percent."
)


def write_report(result: dict[str, Any], out_json_path: str | Path) -> tuple[Path, Path]:
    """Write ``result`` as JSON and a Markdown report with the same stem next to it."""
    json_path = Path(out_json_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    md_path = json_path.with_suffix(".md")
    md_path.write_text(render_markdown(result))
    logger.info("wrote %s and %s", json_path, md_path)
    return json_path, md_path


def render_markdown(result: dict[str, Any]) -> str:
    """Markdown report: headline numbers, the motion split with its GT counts, per-class table."""
    lines = [
        "# ImageNet VID evaluation", "",
        f"{result['num_images']} images, {result['num_gt']} ground-truth boxes, "
        f"{result['num_dets']} detections.", "",
        "| AP50 | AP | devkit mAP |", "|---:|---:|---:|",
        f"| {_fmt(result['ap50'])} | {_fmt(result['ap'])} | {_fmt(result['devkit_map'])} |", "",
        "## Motion speed (FGFA)", "",
        "| split | AP50 (devkit) | GT boxes |", "|---|---:|---:|",
        *(f"| {s} | {_fmt(result[f'ap50_{s}'])} | {result[f'num_gt_{s}']} |" for s in SPLITS), "",
        "## Per class", "",
        "| class | GT | AP50 | AP | devkit AP | slow | medium | fast |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in result["per_class"].items():
        cells = [row["ap50"], row["ap"], row["devkit_ap"], *(row[f"ap50_{s}"] for s in SPLITS)]
        lines.append(f"| {name} | {row['num_gt']} | " + " | ".join(_fmt(c) for c in cells) + " |")
    lines += ["", _REPORT_NOTES, ""]
    return "\n".join(lines)
