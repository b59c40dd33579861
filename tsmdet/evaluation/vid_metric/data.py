"""The metric's inputs: CocoVID ground truth and COCO result dicts -> validated column arrays.

Every id a detection or annotation names must exist in the ground truth (ValueError naming
them otherwise); detections of classes that are not evaluated are dropped.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tsmdet.utils.boxes import xywh_to_xyxy


@dataclass(frozen=True)
class Boxes:
    """Column arrays for a set of boxes; ``img`` is a dense image index, ``cls`` a dense class index."""

    img: np.ndarray  # (N,) int64
    cls: np.ndarray  # (N,) int64
    xyxy: np.ndarray  # (N, 4) float64


@dataclass(frozen=True)
class VIDData:
    """Ground truth and detections as column arrays, restricted to the evaluated classes."""

    cat_ids: list[int]  # evaluated category ids, json order; dense class index = position
    cat_names: list[str]
    num_images: int
    gt: Boxes
    gt_wh: np.ndarray  # (G, 2)
    gt_video: np.ndarray
    gt_instance: np.ndarray
    gt_frame: np.ndarray
    det: Boxes
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


def load_arrays(gt: dict, dets: list[dict], classes: Sequence[str] | None) -> VIDData:
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
    return VIDData(
        cat_ids=cat_ids, cat_names=cat_names, num_images=len(img_ids),
        gt=Boxes(gt_img, gt_cls, xywh_to_xyxy(gt_xywh)), gt_wh=gt_xywh[:, 2:],
        gt_video=np.array([img_meta[i]["video_id"] for i in ann_img_id], dtype=np.int64),
        gt_instance=np.array([a["instance_id"] for a in anns], dtype=np.int64),
        gt_frame=np.array([img_meta[i]["frame_id"] for i in ann_img_id], dtype=np.int64),
        det=Boxes(det_img, det_cls, xywh_to_xyxy(det_xywh)), det_score=det_score, det_records=records,
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
